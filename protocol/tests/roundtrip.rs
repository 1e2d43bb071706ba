//! Property tests: every message and address type survives encode → decode unchanged, and no
//! input, however malformed, makes a decoder panic.

use netbase::{CNetAddr, CService};
use proptest::prelude::*;
use protocol::address::{
    decode_netaddr, decode_service, encode_netaddr, encode_service, AddrEncoding, AddrSerParams,
};
use protocol::message::{ALL_NET_MESSAGE_TYPES, IGNORED_MESSAGE_TYPES};
use protocol::{
    deserialize, serialize, CAddress, Chain, MessageHeader, NetworkMessage, NetworkParams,
    RawNetworkMessage, ServiceFlags, VersionMessage,
};

/// A CNetAddr of any network, built the way a decoder builds one (so it is in normal form).
fn any_netaddr() -> impl Strategy<Value = CNetAddr> {
    prop_oneof![
        any::<[u8; 4]>().prop_map(|b| CNetAddr::from_bip155(1, &b).unwrap().unwrap()),
        any::<[u8; 16]>().prop_map(|b| CNetAddr::from_bip155(2, &b).unwrap().unwrap()),
        any::<[u8; 10]>().prop_map(|b| {
            let mut v = vec![0xfd, 0x6b, 0x88, 0xc0, 0x87, 0x24];
            v.extend_from_slice(&b);
            CNetAddr::from_bip155(2, &v).unwrap().unwrap()
        }),
        any::<[u8; 32]>().prop_map(|b| CNetAddr::from_bip155(4, &b).unwrap().unwrap()),
        any::<[u8; 32]>().prop_map(|b| CNetAddr::from_bip155(5, &b).unwrap().unwrap()),
        any::<[u8; 15]>().prop_map(|b| {
            let mut v = vec![0xfc];
            v.extend_from_slice(&b);
            CNetAddr::from_bip155(6, &v).unwrap().unwrap()
        }),
    ]
}

fn any_service() -> impl Strategy<Value = CService> {
    (any_netaddr(), any::<u16>()).prop_map(|(a, p)| CService::new(a, p))
}

fn v1_service() -> impl Strategy<Value = CService> {
    any_service().prop_filter("v1 compatible", |s| s.is_addr_v1_compatible())
}

fn any_caddress() -> impl Strategy<Value = CAddress> {
    (any_service(), any::<u64>(), any::<u32>())
        .prop_map(|(s, f, t)| CAddress::new(s, ServiceFlags(f), i64::from(t)))
}

fn v1_caddress() -> impl Strategy<Value = CAddress> {
    (v1_service(), any::<u64>(), any::<u32>())
        .prop_map(|(s, f, t)| CAddress::new(s, ServiceFlags(f), i64::from(t)))
}

fn version_msg() -> impl Strategy<Value = VersionMessage> {
    (
        (any::<i32>(), any::<u64>(), any::<i64>()),
        (v1_service(), any::<u64>(), v1_service(), any::<u64>()),
        (any::<u64>(), "\\PC{0,64}", any::<i32>(), any::<bool>()),
    )
        .prop_map(
            |((version, services, timestamp), (recv, rs, from, fs), (nonce, ua, h, relay))| {
                VersionMessage {
                    version,
                    services: ServiceFlags(services),
                    timestamp,
                    addr_recv: CAddress::with_services(recv, ServiceFlags(rs)),
                    addr_from: CAddress::with_services(from, ServiceFlags(fs)),
                    nonce,
                    user_agent: ua,
                    start_height: h,
                    relay,
                }
            },
        )
}

fn unknown_command() -> impl Strategy<Value = String> {
    "[a-z]{1,12}".prop_filter("not a known type", |c| {
        !ALL_NET_MESSAGE_TYPES.contains(&c.as_str()) && c != "logos"
    })
}

fn any_message() -> impl Strategy<Value = NetworkMessage> {
    let bytes = || proptest::collection::vec(any::<u8>(), 0..300);
    prop_oneof![
        version_msg().prop_map(NetworkMessage::Version),
        Just(NetworkMessage::Verack),
        any::<u64>().prop_map(NetworkMessage::Ping),
        any::<u64>().prop_map(NetworkMessage::Pong),
        Just(NetworkMessage::GetAddr),
        proptest::collection::vec(v1_caddress(), 0..20).prop_map(NetworkMessage::Addr),
        proptest::collection::vec(any_caddress(), 0..20).prop_map(NetworkMessage::AddrV2),
        Just(NetworkMessage::SendAddrV2),
        bytes().prop_map(NetworkMessage::Logos),
        (
            proptest::sample::select(IGNORED_MESSAGE_TYPES.to_vec()),
            bytes()
        )
            .prop_map(|(c, p)| {
                NetworkMessage::Ignored {
                    command: c.to_owned(),
                    payload: p,
                }
            }),
        (unknown_command(), bytes())
            .prop_map(|(command, payload)| NetworkMessage::Unknown { command, payload }),
    ]
}

const ALL_PARAMS: [AddrSerParams; 4] = [
    AddrSerParams::V1_NETWORK,
    AddrSerParams::V2_NETWORK,
    AddrSerParams::V1_DISK,
    AddrSerParams::V2_DISK,
];

proptest! {
    #[test]
    fn netaddr_v2_roundtrip(a in any_netaddr()) {
        let mut v = Vec::new();
        encode_netaddr(&a, &mut v, AddrEncoding::V2).unwrap();
        let mut r = v.as_slice();
        prop_assert_eq!(decode_netaddr(&mut r, AddrEncoding::V2).unwrap(), a);
        prop_assert!(r.is_empty());
    }

    #[test]
    fn netaddr_v1_roundtrip(a in any_netaddr()) {
        let mut v = Vec::new();
        encode_netaddr(&a, &mut v, AddrEncoding::V1).unwrap();
        prop_assert_eq!(v.len(), 16);
        let back = decode_netaddr(&mut v.as_slice(), AddrEncoding::V1).unwrap();
        if a.is_addr_v1_compatible() {
            prop_assert_eq!(back, a);
        } else {
            // Tor, I2P and CJDNS have no V1 form: written as zeros, read as `::`.
            prop_assert_eq!(back, CNetAddr::default());
        }
    }

    #[test]
    fn service_roundtrip(s in any_service()) {
        for enc in [AddrEncoding::V1, AddrEncoding::V2] {
            if enc == AddrEncoding::V1 && !s.is_addr_v1_compatible() {
                continue;
            }
            let mut v = Vec::new();
            encode_service(&s, &mut v, enc).unwrap();
            prop_assert_eq!(decode_service(&mut v.as_slice(), enc).unwrap(), s);
        }
    }

    #[test]
    fn caddress_roundtrip_all_params(a in any_caddress()) {
        for p in ALL_PARAMS {
            if p.enc == AddrEncoding::V1 && !a.is_addr_v1_compatible() {
                continue;
            }
            let mut v = Vec::new();
            let n = a.encode_with(&mut v, p).unwrap();
            prop_assert_eq!(n, v.len());
            let mut r = v.as_slice();
            prop_assert_eq!(CAddress::decode_with(&mut r, p).unwrap(), a);
            prop_assert!(r.is_empty());
        }
    }

    #[test]
    fn version_roundtrip(m in version_msg()) {
        let bytes = serialize(&m);
        prop_assert_eq!(VersionMessage::decode_payload(&bytes).unwrap(), m.clone());
        prop_assert_eq!(deserialize::<VersionMessage>(&bytes).unwrap(), m);
    }

    #[test]
    fn message_roundtrip_every_network(m in any_message()) {
        for chain in [Chain::Regtest, Chain::Main, Chain::LogosMain, Chain::LogosRegtest] {
            let p = NetworkParams::get(chain);
            let raw = RawNetworkMessage { magic: p.message_start, payload: m.clone() };
            let bytes = raw.encode(p.hash_kind);
            let header: MessageHeader = deserialize(&bytes[..24]).unwrap();
            prop_assert_eq!(header.command_str(), Some(m.command()));
            prop_assert_eq!(header.length as usize, bytes.len() - 24);
            let back = RawNetworkMessage::decode(&bytes, p).unwrap();
            prop_assert_eq!(&back, &raw);
            // Re-encoding gives the same bytes.
            prop_assert_eq!(back.encode(p.hash_kind), bytes);
        }
    }

    #[test]
    fn payload_roundtrip(m in any_message()) {
        let payload = m.encode_payload();
        prop_assert_eq!(NetworkMessage::decode_payload(m.command(), &payload).unwrap(), m);
    }

    /// Arbitrary bytes never make the framing decoder panic.
    #[test]
    fn frame_decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = RawNetworkMessage::decode(&bytes, NetworkParams::get(Chain::Regtest));
        let _ = deserialize::<MessageHeader>(&bytes);
    }

    /// Arbitrary payloads never make a payload decoder panic, for every message type.
    #[test]
    fn payload_decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        for c in ALL_NET_MESSAGE_TYPES.iter().chain(["logos", "foo"].iter()) {
            let _ = NetworkMessage::decode_payload(c, &bytes);
        }
        for p in ALL_PARAMS {
            let _ = CAddress::decode_with(&mut bytes.as_slice(), p);
        }
    }

    /// Flipping one byte of a valid frame gives an error or another valid message, never a panic.
    #[test]
    fn mutated_frame_never_panics(m in any_message(), pos in any::<usize>(), x in 1u8..) {
        let p = NetworkParams::get(Chain::Regtest);
        let mut bytes = RawNetworkMessage { magic: p.message_start, payload: m }.encode(p.hash_kind);
        let i = pos % bytes.len();
        bytes[i] ^= x;
        let _ = RawNetworkMessage::decode(&bytes, p);
        // Also with a recomputed checksum, so the payload decoder sees the damage.
        if bytes.len() > 24 {
            let c = p.hash_kind.checksum(&bytes[24..]);
            bytes[20..24].copy_from_slice(&c);
            let _ = RawNetworkMessage::decode(&bytes, p);
        }
    }
}
