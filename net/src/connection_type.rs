//! Connection types: port of Bitcoin Core's `node/connection_types.{h,cpp}` plus the
//! `CNode::Is*Conn` predicates of `net.h`.
//!
//! A connection's type is fixed when the connection is made and decides how the rest of the
//! P2P layer treats the peer (eviction protects everything but inbound peers, misbehaving manual
//! peers are never punished, feelers and addr-fetch peers are short-lived, and so on).

use std::fmt;

/// Port of ConnectionType (node/connection_types.h).
///
/// The kind of a connection, chosen by whoever opened it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum ConnectionType {
    /// The peer opened the connection to us.
    Inbound,
    /// One of our automatic outbound connections chosen from the address manager; relays
    /// everything we relay (addresses and `logos` messages).
    OutboundFullRelay,
    /// An outbound connection the user asked for (`-addnode`, `-connect`, `addnode` RPC).
    Manual,
    /// A short-lived outbound connection that only checks that an address is alive.
    Feeler,
    /// An outbound connection that relays no addresses (Core: blocks only). Kept so that
    /// Core's counts and strings line up; the overlay opens none of its own.
    BlockRelay,
    /// A short-lived outbound connection that asks a seed node for addresses.
    AddrFetch,
}

/// Every connection type, in Core's declaration order.
pub const ALL_CONNECTION_TYPES: [ConnectionType; 6] = [
    ConnectionType::Inbound,
    ConnectionType::OutboundFullRelay,
    ConnectionType::Manual,
    ConnectionType::Feeler,
    ConnectionType::BlockRelay,
    ConnectionType::AddrFetch,
];

/// Port of ConnectionTypeAsString (node/connection_types.cpp).
///
/// The name Core prints in logs and in `getpeerinfo`'s `connection_type` field.
pub fn conn_type_as_string(conn_type: ConnectionType) -> &'static str {
    match conn_type {
        ConnectionType::Inbound => "inbound",
        ConnectionType::Manual => "manual",
        ConnectionType::Feeler => "feeler",
        ConnectionType::OutboundFullRelay => "outbound-full-relay",
        ConnectionType::BlockRelay => "block-relay-only",
        ConnectionType::AddrFetch => "addr-fetch",
    }
}

impl ConnectionType {
    /// Port of ConnectionTypeAsString (node/connection_types.cpp), as a method.
    pub fn as_str(self) -> &'static str {
        conn_type_as_string(self)
    }

    /// Port of CNode::IsOutboundOrBlockRelayConn (net.h).
    pub fn is_outbound_or_block_relay_conn(self) -> bool {
        match self {
            ConnectionType::OutboundFullRelay | ConnectionType::BlockRelay => true,
            ConnectionType::Inbound
            | ConnectionType::Manual
            | ConnectionType::AddrFetch
            | ConnectionType::Feeler => false,
        }
    }

    /// Port of CNode::IsFullOutboundConn (net.h).
    pub fn is_full_outbound_conn(self) -> bool {
        self == ConnectionType::OutboundFullRelay
    }

    /// Port of CNode::IsManualConn (net.h).
    pub fn is_manual_conn(self) -> bool {
        self == ConnectionType::Manual
    }

    /// Port of CNode::IsManualOrFullOutboundConn (net.h).
    pub fn is_manual_or_full_outbound_conn(self) -> bool {
        match self {
            ConnectionType::OutboundFullRelay | ConnectionType::Manual => true,
            ConnectionType::Inbound
            | ConnectionType::Feeler
            | ConnectionType::BlockRelay
            | ConnectionType::AddrFetch => false,
        }
    }

    /// Port of CNode::IsBlockOnlyConn (net.h).
    pub fn is_block_only_conn(self) -> bool {
        self == ConnectionType::BlockRelay
    }

    /// Port of CNode::IsFeelerConn (net.h).
    pub fn is_feeler_conn(self) -> bool {
        self == ConnectionType::Feeler
    }

    /// Port of CNode::IsAddrFetchConn (net.h).
    pub fn is_addr_fetch_conn(self) -> bool {
        self == ConnectionType::AddrFetch
    }

    /// Port of CNode::IsInboundConn (net.h).
    pub fn is_inbound_conn(self) -> bool {
        self == ConnectionType::Inbound
    }

    /// Port of CNode::ExpectServicesFromConn (net.h).
    ///
    /// Whether the peer must advertise the desirable service flags after `version`
    /// (on Logos networks: the Logos service bit, see `protocol::NetworkParams`).
    pub fn expect_services_from_conn(self) -> bool {
        match self {
            ConnectionType::Inbound | ConnectionType::Manual | ConnectionType::Feeler => false,
            ConnectionType::OutboundFullRelay
            | ConnectionType::BlockRelay
            | ConnectionType::AddrFetch => true,
        }
    }
}

impl fmt::Display for ConnectionType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Port of TransportProtocolType (node/connection_types.h).
///
/// Which transport a connection speaks. logos-p2p speaks v1 only; `Detecting` and `V2` exist
/// so that `getpeerinfo` output and log lines keep Core's vocabulary.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum TransportProtocolType {
    /// Inbound connection whose first bytes have not yet told v1 from v2.
    Detecting,
    /// Unencrypted, plaintext transport (BIP 324 calls it v1).
    V1,
    /// BIP 324 encrypted transport.
    V2,
}

/// Port of TransportTypeAsString (node/connection_types.cpp).
pub fn transport_type_as_string(transport_type: TransportProtocolType) -> &'static str {
    match transport_type {
        TransportProtocolType::Detecting => "detecting",
        TransportProtocolType::V1 => "v1",
        TransportProtocolType::V2 => "v2",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Core's strings, as `getpeerinfo` and the eviction log line print them.
    #[test]
    fn conn_type_strings_match_core() {
        let expected = [
            (ConnectionType::Inbound, "inbound"),
            (ConnectionType::OutboundFullRelay, "outbound-full-relay"),
            (ConnectionType::Manual, "manual"),
            (ConnectionType::Feeler, "feeler"),
            (ConnectionType::BlockRelay, "block-relay-only"),
            (ConnectionType::AddrFetch, "addr-fetch"),
        ];
        for (t, s) in expected {
            assert_eq!(conn_type_as_string(t), s);
            assert_eq!(t.to_string(), s);
        }
        assert_eq!(ALL_CONNECTION_TYPES.len(), expected.len());
    }

    #[test]
    fn transport_type_strings_match_core() {
        assert_eq!(
            transport_type_as_string(TransportProtocolType::Detecting),
            "detecting"
        );
        assert_eq!(transport_type_as_string(TransportProtocolType::V1), "v1");
        assert_eq!(transport_type_as_string(TransportProtocolType::V2), "v2");
    }

    /// The predicates of net.h, one row per type:
    /// (outbound_or_block_relay, full_outbound, manual, manual_or_full_outbound, block_only,
    ///  feeler, addr_fetch, inbound, expect_services).
    #[test]
    fn predicates_match_core_table() {
        type Row = (ConnectionType, [bool; 9]);
        let table: [Row; 6] = [
            (
                ConnectionType::Inbound,
                [false, false, false, false, false, false, false, true, false],
            ),
            (
                ConnectionType::OutboundFullRelay,
                [true, true, false, true, false, false, false, false, true],
            ),
            (
                ConnectionType::Manual,
                [false, false, true, true, false, false, false, false, false],
            ),
            (
                ConnectionType::Feeler,
                [false, false, false, false, false, true, false, false, false],
            ),
            (
                ConnectionType::BlockRelay,
                [true, false, false, false, true, false, false, false, true],
            ),
            (
                ConnectionType::AddrFetch,
                [false, false, false, false, false, false, true, false, true],
            ),
        ];
        for (t, want) in table {
            let got = [
                t.is_outbound_or_block_relay_conn(),
                t.is_full_outbound_conn(),
                t.is_manual_conn(),
                t.is_manual_or_full_outbound_conn(),
                t.is_block_only_conn(),
                t.is_feeler_conn(),
                t.is_addr_fetch_conn(),
                t.is_inbound_conn(),
                t.expect_services_from_conn(),
            ];
            assert_eq!(got, want, "{t:?}");
        }
    }
}
