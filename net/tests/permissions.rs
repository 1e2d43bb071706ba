//! `-whitebind` / `-whitelist` permissions on live loopback nodes (Core's net_permissions.cpp as
//! used by net.cpp and net_processing.cpp): `noban` peers are accepted when banned, never
//! punished for misbehaviour and never evicted; `addr` peers get `getaddr` answers without the
//! response cache and are not rate limited; the flags show in the node statistics.
mod common;

use std::collections::HashSet;
use std::net::SocketAddr;
use std::time::Duration;

use common::*;
use net::disconnect::DisconnectReason;
use net::net_permissions::{
    to_strings, NetPermissionFlags, NetWhitebindPermissions, NetWhitelistPermissions,
};
use net::Options;
use netbase::CService;
use protocol::{AddrEncoding, AddrFormat, AddrSerParams, CAddress, Chain};

const SHORT: Duration = Duration::from_millis(400);
const LONG: Duration = Duration::from_secs(5);

const VECTORS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/vectors/bitcoind-regtest"
);

/// A whitebind on 127.0.0.1 port 0 (Core's parser insists on a port; tests need port 0, so the
/// entry is built directly).
fn whitebind(flags: NetPermissionFlags) -> NetWhitebindPermissions {
    NetWhitebindPermissions {
        m_flags: flags,
        m_service: CService::from_socket_addr(&SocketAddr::from(([127, 0, 0, 1], 0))),
    }
}

/// The bound port of listener `i` (the `-bind`s first, then the `-whitebind`s).
fn bound_port(node: &TestNode, i: usize) -> u16 {
    node.connman.get_bound_addrs()[i].port()
}

/// A raw peer connected to `port` of `node`.
fn raw_to(node: &TestNode, port: u16) -> RawPeer {
    let s =
        std::net::TcpStream::connect(SocketAddr::from(([127, 0, 0, 1], port))).expect("connect");
    RawPeer::from_stream(s, node.params.message_start, node.params.hash_kind)
}

fn oversized_addr() -> Vec<u8> {
    let mut payload = vec![0xfd, 0xe9, 0x03];
    payload.extend(std::iter::repeat_n(0u8, 1001 * 30));
    payload
}

fn refused_for(node: &TestNode, pred: impl Fn(&DisconnectReason) -> bool) -> bool {
    node.connman
        .disconnect_log()
        .iter()
        .any(|r| r.id == -1 && pred(&r.reason))
}

/// Mirrors p2p_permissions.py / p2p_disconnect_ban.py: a banned address is refused on the
/// plain port and accepted through a `noban` whitebind; the peer's flags are `noban`
/// (+ implied `download`).
#[test]
fn noban_whitebind_peer_accepted_while_banned() {
    let opts = Options {
        white_binds: vec![whitebind(NetPermissionFlags::NO_BAN)],
        ..test_options()
    };
    let node = start_node_with(Chain::LogosRegtest, opts, Recorder::accepting());
    assert_eq!(node.connman.get_bound_addrs().len(), 2);
    let lo = netbase::CNetAddr::from_ipv4(std::net::Ipv4Addr::LOCALHOST);
    node.banman.ban(&lo, 3600, false);

    let mut plain = raw_to(&node, bound_port(&node, 0));
    assert!(plain.closed_within(LONG));
    assert!(refused_for(&node, |r| matches!(
        r,
        DisconnectReason::InboundBanned { .. }
    )));

    let mut p = raw_to(&node, bound_port(&node, 1));
    let got = p.handshake();
    assert!(got.contains(&"verack".to_string()), "{got:?}");
    assert!(wait_until(LONG, || node.connman.fully_connected_count() == 1));
    let stats = node.connman.get_node_stats();
    assert_eq!(stats.len(), 1);
    assert_eq!(
        to_strings(stats[0].m_permission_flags),
        vec!["noban", "download"]
    );
}

/// Port of the implicit-whitelist rule (net.cpp AddWhitelistPermissionFlags): `-whitelist=
/// 127.0.0.1` without permissions gives Core's legacy set; outbound (non-manual) and
/// unlisted peers get none.
#[test]
fn implicit_whitelist_gives_legacy_permissions() {
    let (w, _) = NetWhitelistPermissions::try_parse("127.0.0.1").unwrap();
    let opts = Options {
        whitelisted_range_incoming: vec![w],
        ..test_options()
    };
    let node = start_node_with(Chain::LogosRegtest, opts, Recorder::accepting());
    let mut p = RawPeer::connect(&node);
    p.handshake();
    assert!(wait_until(LONG, || node.connman.get_node_stats().len() == 1));
    let stats = node.connman.get_node_stats();
    assert_eq!(
        to_strings(stats[0].m_permission_flags),
        vec!["noban", "relay", "mempool", "download"]
    );

    // A node without whitelist: no permission.
    let other = start_node(Chain::LogosRegtest, Recorder::accepting());
    let mut q = RawPeer::connect(&other);
    q.handshake();
    assert!(wait_until(LONG, || other.connman.get_node_stats().len() == 1));
    assert_eq!(
        other.connman.get_node_stats()[0].m_permission_flags,
        NetPermissionFlags::NONE
    );
}

/// Mirrors p2p_permissions.py (noban peers are not punished): an oversized `addr` from a
/// `noban` peer (loopback treated as non-local) only logs Core's warning; the same from a plain
/// peer discourages it.
#[test]
fn noban_peer_not_punished_for_misbehaviour() {
    let _g = log_lock();
    let opts = Options {
        test_loopback_not_local: true,
        white_binds: vec![whitebind(NetPermissionFlags::NO_BAN)],
        ..test_options()
    };
    let node = start_node_with(Chain::Regtest, opts, Recorder::accepting());
    let mark = log_mark();
    let mut p = raw_to(&node, bound_port(&node, 1));
    p.handshake();
    assert!(wait_until(LONG, || node.connman.fully_connected_count() == 1));
    p.send("addr", &oversized_addr()).ok();
    assert!(wait_until(LONG, || log_since(mark)
        .iter()
        .any(|l| l.starts_with("Warning: not punishing noban peer"))));
    assert!(!p.closed_within(SHORT));
    let lo = netbase::CNetAddr::from_ipv4(std::net::Ipv4Addr::LOCALHOST);
    assert!(!node.banman.is_discouraged(&lo));

    // The plain port: the same message discourages.
    let mut q = raw_to(&node, bound_port(&node, 0));
    q.handshake();
    q.send("addr", &oversized_addr()).ok();
    assert!(q.closed_within(LONG));
    assert!(node.banman.is_discouraged(&lo));
}

/// Mirrors p2p_eviction.py with noban peers: Core drops `noban` peers from the eviction
/// candidates, so with every inbound slot held by one the newcomer is refused instead of
/// someone being evicted (the plain case, where one is evicted, is disconnects.rs's).
#[test]
fn noban_peers_are_not_evicted() {
    let opts = Options {
        max_connections: 11 + 40,
        white_binds: vec![whitebind(NetPermissionFlags::NO_BAN)],
        ..test_options()
    };
    let node = start_node_with(Chain::LogosRegtest, opts, Recorder::accepting());
    let port = bound_port(&node, 1);
    let mut peers = Vec::new();
    for _ in 0..40 {
        let mut p = raw_to(&node, port);
        p.send_version();
        peers.push(p);
    }
    assert!(wait_until(LONG, || node.connman.get_node_stats().len() == 40));
    let mut newcomer = RawPeer::connect(&node);
    newcomer.send_version();
    assert!(newcomer.closed_within(LONG));
    assert!(refused_for(&node, |r| matches!(
        r,
        DisconnectReason::InboundFull
    )));
    assert!(!node
        .connman
        .disconnect_log()
        .iter()
        .any(|r| matches!(r.reason, DisconnectReason::Evicted { .. })));
    assert_eq!(node.connman.get_node_stats().len(), 40);
}

/// One `getaddr` through `port`: the addresses of the answer.
fn getaddr_via(node: &TestNode, port: u16) -> HashSet<CService> {
    let mut p = raw_to(node, port);
    p.send_version();
    p.send("sendaddrv2", &[]).ok();
    for _ in 0..20 {
        while let Some((c, payload)) = p.recv(Duration::from_millis(300)) {
            if c == "verack" {
                p.send("verack", &[]).ok();
                p.send("getaddr", &[]).ok();
            }
            if c == "addrv2" && payload.len() > 1000 {
                let params = AddrSerParams {
                    fmt: AddrFormat::Network,
                    enc: AddrEncoding::V2,
                };
                let mut r = payload.as_slice();
                let v: Vec<CAddress> =
                    protocol::encode::read_vec(&mut r, |x| CAddress::decode_with(x, params))
                        .expect("decode");
                return v.into_iter().map(|a| a.service).collect();
            }
        }
        // The answer leaves with the next address trickle.
        node.advance(30);
    }
    panic!("no getaddr answer");
}

/// Mirrors p2p_getaddr_caching.py: two requests through a plain listening socket get the same
/// cached answer; two through an `addr` whitebind get fresh random answers (Core answers
/// `addr`-permission peers without the cache).
#[test]
fn addr_permission_bypasses_getaddr_cache() {
    let opts = Options {
        white_binds: vec![whitebind(NetPermissionFlags::ADDR)],
        ..test_options()
    };
    let node = start_node_with(Chain::Regtest, opts, Recorder::accepting());
    let dat = std::fs::read(format!("{VECTORS}/peers.dat")).expect("peers.dat");
    addrman::addrdb::read_peers_dat(&node.addrman, &dat, node.params.message_start).expect("load");
    assert_eq!(node.addrman.size(None, None), 1488);

    let plain = bound_port(&node, 0);
    let a1 = getaddr_via(&node, plain);
    let a2 = getaddr_via(&node, plain);
    assert_eq!(a1.len(), 1488 * 23 / 100);
    assert_eq!(a1, a2, "plain peers get the cached answer");

    let addr_port = bound_port(&node, 1);
    let b1 = getaddr_via(&node, addr_port);
    let b2 = getaddr_via(&node, addr_port);
    assert_eq!(b1.len(), 1488 * 23 / 100);
    assert_ne!(b1, b2, "addr-permission peers bypass the cache");
}

/// `count` routable addresses as a v1 `addr` payload, stamped `time`.
fn addr_payload(count: usize, time: u32) -> Vec<u8> {
    let mut p = vec![count as u8];
    assert!(count < 0xfd);
    for i in 0..count {
        p.extend_from_slice(&time.to_le_bytes());
        p.extend_from_slice(&1u64.to_le_bytes());
        let mut a = [0u8; 16];
        a[10] = 0xff;
        a[11] = 0xff;
        a[12] = 11 + (i / 200) as u8;
        a[13] = (i % 200) as u8 + 1;
        a[14] = 7;
        a[15] = 9;
        p.extend_from_slice(&a);
        p.extend_from_slice(&8333u16.to_be_bytes());
    }
    p
}

/// Mirrors p2p_addr_relay.py (rate limiting): an unsolicited `addr` of 100 entries from an
/// inbound peer is rate limited to its token bucket (1 address, the mock clock standing still);
/// from a peer with the `addr` permission every entry is processed.
#[test]
fn addr_permission_bypasses_rate_limit() {
    let (w, _) = NetWhitelistPermissions::try_parse("addr@127.0.0.1").unwrap();
    let with = start_node_with(
        Chain::Regtest,
        Options {
            whitelisted_range_incoming: vec![w],
            ..test_options()
        },
        Recorder::accepting(),
    );
    let without = start_node(Chain::Regtest, Recorder::accepting());
    let mut peers = Vec::new();
    for node in [&with, &without] {
        let mut p = RawPeer::connect(node);
        p.handshake();
        assert!(wait_until(LONG, || node.connman.fully_connected_count() == 1));
        p.send("addr", &addr_payload(100, (T0 - 60) as u32)).ok();
        peers.push(p);
    }
    assert!(wait_until(LONG, || with.addrman.size(None, None) >= 90));
    settle();
    assert!(
        without.addrman.size(None, None) <= 2,
        "{}",
        without.addrman.size(None, None)
    );
    assert_eq!(
        to_strings(with.connman.get_node_stats()[0].m_permission_flags),
        vec!["addr"]
    );
}
