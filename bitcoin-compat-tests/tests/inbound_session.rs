//! Our codec against the messages a real bitcoind (Core e3f416dbf7, regtest) sent to an inbound v1
//! peer: `shared/vectors/bitcoind-regtest/inbound-session.json` and the two sessions of
//! `bitcoind-regtest-allnets/`.

use bitcoin_compat_tests::{
    answer_addresses, check_addresses, decode_session, load_rawaddrman, load_session,
    DecodedMessage,
};
use netbase::Network;
use protocol::version::PROTOCOL_VERSION;
use protocol::{Chain, HashKind, NetworkMessage, NetworkParams, ServiceFlags, VersionMessage};

const REGTEST_SESSION: &str = "bitcoind-regtest/inbound-session.json";
const REGTEST_ADDRMAN: &str = "bitcoind-regtest/getrawaddrman.json";
const ALLNETS_V2_SESSION: &str = "bitcoind-regtest-allnets/inbound-session-addrv2.json";
const ALLNETS_V1_SESSION: &str = "bitcoind-regtest-allnets/inbound-session-addr-v1.json";
const ALLNETS_ADDRMAN: &str = "bitcoind-regtest-allnets/getrawaddrman.json";

/// The message types bitcoind sent, in order, in every session.
const SESSION_COMMANDS: [&str; 8] = [
    "version",
    "wtxidrelay",
    "sendaddrv2",
    "verack",
    "sendcmpct",
    "ping",
    "feefilter",
    "",
];

fn decoded(rel: &str) -> Vec<DecodedMessage> {
    let msgs = load_session(rel).unwrap();
    decode_session(&msgs, Chain::Regtest).unwrap()
}

fn version_of(d: &[DecodedMessage]) -> &VersionMessage {
    match &d[0].message.payload {
        NetworkMessage::Version(v) => v,
        other => panic!("first message is {other:?}"),
    }
}

/// Every message decodes with regtest params, its header checksum is SHA256d of its payload,
/// and re-encoding gives the very bytes bitcoind sent.
#[test]
fn every_message_decodes_and_reencodes() {
    for rel in [REGTEST_SESSION, ALLNETS_V2_SESSION, ALLNETS_V1_SESSION] {
        let msgs = load_session(rel).unwrap();
        assert_eq!(msgs.len(), 8, "{rel}");
        let d = decode_session(&msgs, Chain::Regtest).unwrap();
        let params = NetworkParams::get(Chain::Regtest);
        for (i, (m, raw)) in d.iter().zip(&msgs).enumerate() {
            assert_eq!(m.header.magic, [0xfa, 0xbf, 0xb5, 0xda]);
            assert_eq!(m.header.length as usize, raw.bytes.len() - 24);
            assert_eq!(
                m.header.checksum,
                HashKind::Sha256d.checksum(&raw.bytes[24..]),
                "{rel} message {i}"
            );
            assert!(
                m.reencodes_identically,
                "{rel} message {i} ({})",
                raw.command
            );
            assert_eq!(m.message.encode(params.hash_kind), raw.bytes);
            if !SESSION_COMMANDS[i].is_empty() {
                assert_eq!(raw.command, SESSION_COMMANDS[i], "{rel} message {i}");
            }
        }
        // The same bytes checked with a Logos network fail (other magic).
        assert!(protocol::RawNetworkMessage::decode(
            &msgs[0].bytes,
            NetworkParams::get(Chain::LogosRegtest)
        )
        .is_err());
    }
}

/// Transaction / block messages are recognised by name and kept unparsed; the handshake
/// messages decode to their variants.
#[test]
fn message_kinds() {
    let d = decoded(REGTEST_SESSION);
    let kinds: Vec<&NetworkMessage> = d.iter().map(|m| &m.message.payload).collect();
    assert!(matches!(kinds[0], NetworkMessage::Version(_)));
    assert!(
        matches!(kinds[1], NetworkMessage::Ignored { command, payload } if command == "wtxidrelay" && payload.is_empty())
    );
    assert_eq!(kinds[2], &NetworkMessage::SendAddrV2);
    assert_eq!(kinds[3], &NetworkMessage::Verack);
    assert!(
        matches!(kinds[4], NetworkMessage::Ignored { command, payload } if command == "sendcmpct" && payload.len() == 9)
    );
    // ping nonce from the hex: 5c9a47a6fd092c06 little-endian.
    assert_eq!(kinds[5], &NetworkMessage::Ping(0x062c09fda6479a5c));
    assert!(
        matches!(kinds[6], NetworkMessage::Ignored { command, payload } if command == "feefilter" && payload.len() == 8)
    );
    assert!(matches!(kinds[7], NetworkMessage::AddrV2(_)));
}

/// The version payload fields bitcoind sent.
#[test]
fn version_fields() {
    let d = decoded(REGTEST_SESSION);
    let v = version_of(&d);
    assert_eq!(v.version, PROTOCOL_VERSION);
    assert_eq!(v.version, 70016);
    assert_eq!(v.user_agent, "/Satoshi:29.99.0/");
    assert_eq!(
        v.services,
        ServiceFlags::NODE_NETWORK
            | ServiceFlags::NODE_WITNESS
            | ServiceFlags::NODE_NETWORK_LIMITED
            | ServiceFlags::NODE_P2P_V2
    );
    assert_eq!(v.nonce, 0xd6dd0dfacf5c8fbd);
    assert!(v.relay);
    assert_eq!(v.start_height, 0);
    assert_eq!(v.timestamp, 1795503854);
    // addrYou: bitcoind does not reveal a loopback peer's address (non-routable -> CService{}).
    assert!(!v.addr_recv.is_valid());
    assert_eq!(v.addr_recv.get_port(), 0);
    assert_eq!(v.addr_recv.n_services, ServiceFlags::NODE_NONE);
    // addrMe: CService{} with our services.
    assert_eq!(v.addr_from.n_services, v.services);
    assert!(!v.addr_from.is_valid());

    for rel in [ALLNETS_V2_SESSION, ALLNETS_V1_SESSION] {
        let d = decoded(rel);
        let v = version_of(&d);
        assert_eq!(v.version, 70016, "{rel}");
        assert_eq!(v.user_agent, "/Satoshi:29.99.0/", "{rel}");
        assert_eq!(
            v.services,
            ServiceFlags::NODE_NETWORK
                | ServiceFlags::NODE_WITNESS
                | ServiceFlags::NODE_NETWORK_LIMITED,
            "{rel}"
        );
        assert!(v.relay, "{rel}");
    }
}

/// The addrv2 answer to getaddr: 342 addresses (23% of 1,488), each in getrawaddrman with the
/// same network, port, services and time.
#[test]
fn regtest_addrv2_answer_matches_getrawaddrman() {
    let d = decoded(REGTEST_SESSION);
    let (cmd, addrs) = answer_addresses(&d).unwrap();
    assert_eq!(cmd, "addrv2");
    assert_eq!(addrs.len(), 342);
    let ram = load_rawaddrman(REGTEST_ADDRMAN).unwrap();
    assert_eq!(ram.len(), 1488);
    let check = check_addresses(addrs, &ram);
    assert!(check.mismatches.is_empty(), "{:#?}", check.mismatches);
    assert_eq!(check.per_network.get("ipv4"), Some(&254));
    assert_eq!(check.per_network.get("ipv6"), Some(&88));
    // No duplicates.
    let mut set: Vec<_> = addrs.iter().map(|a| a.service).collect();
    set.sort();
    set.dedup();
    assert_eq!(set.len(), 342);
}

/// The allnets addrv2 answer: 145 addresses of all five networks, all in getrawaddrman.
#[test]
fn allnets_addrv2_answer_matches_getrawaddrman() {
    let d = decoded(ALLNETS_V2_SESSION);
    let (cmd, addrs) = answer_addresses(&d).unwrap();
    assert_eq!(cmd, "addrv2");
    assert_eq!(addrs.len(), 145);
    let ram = load_rawaddrman(ALLNETS_ADDRMAN).unwrap();
    let check = check_addresses(addrs, &ram);
    assert!(check.mismatches.is_empty(), "{:#?}", check.mismatches);
    for (net, n) in [
        ("ipv4", 66),
        ("ipv6", 39),
        ("onion", 11),
        ("i2p", 15),
        ("cjdns", 14),
    ] {
        assert_eq!(check.per_network.get(net), Some(&n), "{net}");
    }
    // I2P addresses carry port 0 (I2P_SAM31_PORT).
    for a in addrs.iter().filter(|a| a.get_network() == Network::I2P) {
        assert_eq!(a.get_port(), 0);
    }
}

/// The v1 addr answer: only the IPv4/IPv6 part of the same cached answer, in the same order.
#[test]
fn allnets_addr_v1_answer_is_v1_part_of_addrv2() {
    let d1 = decoded(ALLNETS_V1_SESSION);
    let (cmd, v1) = answer_addresses(&d1).unwrap();
    assert_eq!(cmd, "addr");
    let ram = load_rawaddrman(ALLNETS_ADDRMAN).unwrap();
    let check = check_addresses(v1, &ram);
    assert!(check.mismatches.is_empty(), "{:#?}", check.mismatches);
    assert!(v1.iter().all(|a| a.is_ipv4() || a.is_ipv6()));

    let d2 = decoded(ALLNETS_V2_SESSION);
    let (_, v2) = answer_addresses(&d2).unwrap();
    let v2_part: Vec<_> = v2
        .iter()
        .filter(|a| a.is_addr_v1_compatible())
        .copied()
        .collect();
    assert_eq!(v1.len(), v2_part.len());
    assert_eq!(v1, v2_part.as_slice());
}
