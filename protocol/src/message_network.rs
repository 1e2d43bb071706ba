//! The `version` message (its payload, as PeerManagerImpl::PushNodeVersion writes it and
//! PeerManagerImpl::ProcessMessage reads it, net_processing.cpp). The other handshake messages
//! (`verack`, `ping`, `pong`, `sendaddrv2`, `getaddr`) carry at most a nonce and live directly in
//! [`crate::NetworkMessage`].

use std::io::{self, Read, Write};

use netbase::CService;

use crate::address::{decode_service, encode_service, AddrEncoding, CAddress, ServiceFlags};
use crate::encode::{read_limited_string, Decodable, Encodable, Error};
use crate::version::MAX_SUBVERSION_LENGTH;

/// Payload of `version`.
///
/// The two addresses are the pre-31402 form of `CAddress`: services (u64) and a V1 `CService`,
/// no time. Their `n_time` is not on the wire and is [`CAddress::TIME_INIT`] after decoding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VersionMessage {
    /// Protocol version of the sender (nVersion).
    pub version: i32,
    /// Services the sender offers (nServices).
    pub services: ServiceFlags,
    /// Sender's clock, seconds since the epoch (nTime).
    pub timestamp: i64,
    /// How the sender sees us ("addrYou" / addrMe): our address and the services the sender
    /// believes we have.
    pub addr_recv: CAddress,
    /// The sender's own address (ignored by Core; bitcoind sends `::`:0 with its services).
    pub addr_from: CAddress,
    /// Random nonce to detect connecting to ourselves (nNonce; 1 if absent).
    pub nonce: u64,
    /// User agent, BIP 14 (strSubVer, at most [`MAX_SUBVERSION_LENGTH`] bytes; "" if absent).
    pub user_agent: String,
    /// Best block height of the sender (-1 if absent).
    pub start_height: i32,
    /// BIP 37 fRelay: whether the sender wants transaction relay (true if absent).
    pub relay: bool,
}

impl Default for VersionMessage {
    /// Core's defaults for the fields a `version` may leave out.
    fn default() -> Self {
        VersionMessage {
            version: 0,
            services: ServiceFlags::NODE_NONE,
            timestamp: 0,
            addr_recv: CAddress::default(),
            addr_from: CAddress::default(),
            nonce: 1,
            user_agent: String::new(),
            start_height: -1,
            relay: true,
        }
    }
}

/// Reads `N` bytes that Core skips with `DataStream::ignore`; running out of data gives Core's
/// "ignore(): end of data" error rather than the "read()" one.
fn read_ignored<const N: usize>(r: &mut &[u8]) -> Result<[u8; N], Error> {
    if r.len() < N {
        return Err(Error::IgnoreEndOfData);
    }
    let mut out = [0u8; N];
    out.copy_from_slice(&r[..N]);
    *r = &r[N..];
    Ok(out)
}

impl VersionMessage {
    /// Port of the `version` parsing in PeerManagerImpl::ProcessMessage (net_processing.cpp):
    /// version, services and time are required; the receiver's address follows (its service bits
    /// are skipped by Core, kept here); then nonce (after the 26 bytes of the sender's address),
    /// user agent, start height and relay flag are each read only if bytes remain. Bytes after
    /// the relay flag are ignored, as in Core.
    pub fn decode_payload(payload: &[u8]) -> Result<Self, Error> {
        let mut r = payload;
        let mut m = VersionMessage {
            version: i32::consensus_decode(&mut r)?,
            services: ServiceFlags(u64::consensus_decode(&mut r)?),
            timestamp: i64::consensus_decode(&mut r)?,
            ..VersionMessage::default()
        };
        m.addr_recv.n_services = ServiceFlags(u64::from_le_bytes(read_ignored::<8>(&mut r)?));
        m.addr_recv.service = decode_service(&mut r, AddrEncoding::V1)?;
        if !r.is_empty() {
            let from: [u8; 26] = read_ignored(&mut r)?;
            let mut f = &from[..];
            m.addr_from.n_services = ServiceFlags(u64::consensus_decode(&mut f)?);
            m.addr_from.service = decode_service(&mut f, AddrEncoding::V1)?;
            m.nonce = u64::consensus_decode(&mut r)?;
        }
        if !r.is_empty() {
            m.user_agent = read_limited_string(&mut r, MAX_SUBVERSION_LENGTH)?;
        }
        if !r.is_empty() {
            m.start_height = i32::consensus_decode(&mut r)?;
        }
        if !r.is_empty() {
            m.relay = bool::consensus_decode(&mut r)?;
        }
        Ok(m)
    }

    /// Port of the first reads of the `version` branch of PeerManagerImpl::ProcessMessage
    /// (net_processing.cpp): version, services, time and the receiver's address, the fields
    /// Core reads (and acts on: `SetServices`, the service and version checks) before the
    /// optional ones. The other fields keep their defaults. The node uses it when
    /// [`Self::decode_payload`] fails in the optional fields, to take Core's steps that come
    /// before the failing read.
    pub fn decode_head(payload: &[u8]) -> Result<Self, Error> {
        let mut r = payload;
        let mut m = VersionMessage {
            version: i32::consensus_decode(&mut r)?,
            services: ServiceFlags(u64::consensus_decode(&mut r)?),
            timestamp: i64::consensus_decode(&mut r)?,
            ..VersionMessage::default()
        };
        m.addr_recv.n_services = ServiceFlags(u64::from_le_bytes(read_ignored::<8>(&mut r)?));
        m.addr_recv.service = decode_service(&mut r, AddrEncoding::V1)?;
        Ok(m)
    }

    /// The receiver's address as a `CService` (addrMe in Core's handler).
    pub fn addr_me(&self) -> &CService {
        &self.addr_recv.service
    }
}

impl Encodable for VersionMessage {
    /// Port of the `version` payload PeerManagerImpl::PushNodeVersion (net_processing.cpp)
    /// writes: every field, relay flag included.
    fn consensus_encode<W: Write + ?Sized>(&self, w: &mut W) -> io::Result<usize> {
        let mut n = self.version.consensus_encode(w)?;
        n += self.services.0.consensus_encode(w)?;
        n += self.timestamp.consensus_encode(w)?;
        n += self.addr_recv.n_services.0.consensus_encode(w)?;
        n += encode_service(&self.addr_recv.service, w, AddrEncoding::V1)?;
        n += self.addr_from.n_services.0.consensus_encode(w)?;
        n += encode_service(&self.addr_from.service, w, AddrEncoding::V1)?;
        n += self.nonce.consensus_encode(w)?;
        n += self.user_agent.consensus_encode(w)?;
        n += self.start_height.consensus_encode(w)?;
        n += self.relay.consensus_encode(w)?;
        Ok(n)
    }
}

impl Decodable for VersionMessage {
    /// Reads the rest of `r` as a `version` payload (see [`VersionMessage::decode_payload`]).
    fn consensus_decode<R: Read + ?Sized>(r: &mut R) -> Result<Self, Error> {
        let mut buf = Vec::new();
        r.take(u64::from(crate::header::MAX_PROTOCOL_MESSAGE_LENGTH))
            .read_to_end(&mut buf)?;
        Self::decode_payload(&buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode::serialize;

    // Payload of the version message bitcoind sent (vectors/bitcoind-regtest/inbound-session.json).
    const BITCOIND_VERSION: &str = "80110100090c000000000000ee36056b000000000000000000000000000000000000000000000000000000000000090c000000000000000000000000000000000000000000000000bd8f5ccffa0dddd6112f5361746f7368693a32392e39392e302f0000000001";

    #[test]
    fn bitcoind_version_fields() {
        let bytes = hex::decode(BITCOIND_VERSION).unwrap();
        let m = VersionMessage::decode_payload(&bytes).unwrap();
        assert_eq!(m.version, 70016);
        assert_eq!(m.services, ServiceFlags(0x0c09));
        assert_eq!(m.timestamp, 0x6b0536ee);
        assert_eq!(m.addr_recv.n_services, ServiceFlags::NODE_NONE);
        assert!(!m.addr_recv.is_valid());
        assert_eq!(m.addr_from.n_services, ServiceFlags(0x0c09));
        assert_eq!(m.nonce, 0xd6dd0dfacf5c8fbd);
        assert_eq!(m.user_agent, "/Satoshi:29.99.0/");
        assert_eq!(m.start_height, 0);
        assert!(m.relay);
        assert_eq!(hex::encode(serialize(&m)), BITCOIND_VERSION);
    }

    #[test]
    fn optional_fields_take_core_defaults() {
        let full = hex::decode(BITCOIND_VERSION).unwrap();
        // Up to addrMe (4 + 8 + 8 + 26 = 46 bytes): nonce 1, "" , -1, relay true.
        let m = VersionMessage::decode_payload(&full[..46]).unwrap();
        assert_eq!(m.nonce, 1);
        assert_eq!(m.user_agent, "");
        assert_eq!(m.start_height, -1);
        assert!(m.relay);
        // Without the relay flag.
        let m = VersionMessage::decode_payload(&full[..full.len() - 1]).unwrap();
        assert!(m.relay);
        assert_eq!(m.start_height, 0);
        // relay = false.
        let mut no_relay = full.clone();
        *no_relay.last_mut().unwrap() = 0;
        assert!(!VersionMessage::decode_payload(&no_relay).unwrap().relay);
    }

    /// bitcoind-regtest-disconnects: a 20-byte version fails in `ignore` (Core's log text
    /// "Exception 'DataStream::ignore(): end of data: iostream error'").
    #[test]
    fn truncated_version_errors_like_core() {
        let full = hex::decode(BITCOIND_VERSION).unwrap();
        let e = VersionMessage::decode_payload(&full[..20]).unwrap_err();
        assert_eq!(e, Error::IgnoreEndOfData);
        assert_eq!(
            e.core_what(),
            "DataStream::ignore(): end of data: iostream error"
        );
        // Inside the fixed fields: a read error.
        let e = VersionMessage::decode_payload(&full[..10]).unwrap_err();
        assert_eq!(
            e.core_what(),
            "DataStream::read(): end of data: iostream error"
        );
        // Part of the sender's address present: ignore(26) fails.
        assert_eq!(
            VersionMessage::decode_payload(&full[..50]).unwrap_err(),
            Error::IgnoreEndOfData
        );
    }

    #[test]
    fn head_decodes_where_the_tail_fails() {
        let full = hex::decode(BITCOIND_VERSION).unwrap();
        // 50 bytes: the head (46) is whole, the sender's address is cut.
        assert!(VersionMessage::decode_payload(&full[..50]).is_err());
        let head = VersionMessage::decode_head(&full[..50]).unwrap();
        assert_eq!(head.version, 70016);
        assert_eq!(head.services, ServiceFlags(0x0c09));
        assert_eq!(head.nonce, 1);
        assert_eq!(
            VersionMessage::decode_head(&full[..20]).unwrap_err(),
            Error::IgnoreEndOfData
        );
    }

    #[test]
    fn user_agent_limit() {
        let m = VersionMessage {
            user_agent: "a".repeat(MAX_SUBVERSION_LENGTH + 1),
            ..VersionMessage::default()
        };
        let bytes = serialize(&m);
        assert!(matches!(
            VersionMessage::decode_payload(&bytes),
            Err(Error::StringTooLong { len: 257, .. })
        ));
        let m = VersionMessage {
            user_agent: "a".repeat(MAX_SUBVERSION_LENGTH),
            ..VersionMessage::default()
        };
        assert_eq!(VersionMessage::decode_payload(&serialize(&m)).unwrap(), m);
    }
}
