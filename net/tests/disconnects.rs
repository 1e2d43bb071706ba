//! Every overlay disconnect case of Core, driven by a scripted raw-TCP peer under the mock
//! clock: the node disconnects for the stated reason at the stated (mock) time, and keeps
//! serving an honest peer.
mod common;

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use common::*;
use net::disconnect::DisconnectReason;
use net::{MappedConnector, Options};
use netbase::CService;
use protocol::{CAddress, Chain, ServiceFlags};

const SHORT: Duration = Duration::from_millis(400);
const LONG: Duration = Duration::from_secs(5);

fn reason_of(
    node: &TestNode,
    id_hint: Option<i64>,
    pred: impl Fn(&DisconnectReason) -> bool,
) -> Option<(i64, i64)> {
    node.connman
        .disconnect_log()
        .iter()
        .find(|r| pred(&r.reason) && id_hint.is_none_or(|i| r.id == i))
        .map(|r| (r.id, r.time))
}

/// Answer pings, then send one: keeps both directions of a raw peer's link alive.
fn keepalive(p: &mut RawPeer) {
    while let Some((c, payload)) = p.recv(Duration::from_millis(100)) {
        if c == "ping" {
            p.send("pong", &payload).ok();
        }
    }
    p.send("ping", &42u64.to_le_bytes()).ok();
}

fn honest(node: &TestNode) -> RawPeer {
    let mut h = RawPeer::connect(node);
    h.handshake();
    assert!(wait_until(LONG, || node.connman.fully_connected_count() >= 1));
    h
}

fn still_served(node: &TestNode, h: &mut RawPeer) {
    // The honest peer gets a pong for its ping.
    h.send("ping", &77u64.to_le_bytes()).expect("honest send");
    let mut got_pong = false;
    while let Some((c, p)) = h.recv(Duration::from_secs(3)) {
        if c == "pong" && p == 77u64.to_le_bytes() {
            got_pong = true;
            break;
        }
        if c == "ping" {
            h.send("pong", &p).ok();
        }
    }
    assert!(got_pong, "honest peer no longer served");
    assert!(node.connman.fully_connected_count() >= 1);
}

/// Mirrors p2p_timeouts.py: a peer that connects and sends nothing is dropped after
/// -peertimeout with "never received from peer, never sent to peer".
#[test]
fn no_first_message_after_peer_timeout() {
    let node = start_node(Chain::LogosRegtest, Recorder::accepting());
    let mut h = honest(&node);
    let mut p = RawPeer::connect(&node);
    assert!(wait_until(LONG, || node.connman.get_node_stats().len() == 2));
    node.advance(60);
    assert!(!p.closed_within(SHORT), "dropped before -peertimeout");
    node.advance(1);
    assert!(p.closed_within(LONG));
    let (_, t) = reason_of(&node, None, |r| {
        matches!(
            r,
            DisconnectReason::NoMessageInFirst {
                peer_connect_timeout: 60,
                never_received: true,
                never_sent: true
            }
        )
    })
    .expect("reason");
    assert_eq!(t, T0 + 61);
    still_served(&node, &mut h);
}

/// Mirrors p2p_timeouts.py: version sent, verack never: "version handshake timeout".
#[test]
fn handshake_timeout() {
    let node = start_node(Chain::LogosRegtest, Recorder::accepting());
    let mut h = honest(&node);
    let mut p = RawPeer::connect(&node);
    p.send_version();
    assert!(p.recv(LONG).is_some(), "node answers version");
    node.advance(60);
    assert!(!p.closed_within(SHORT));
    node.advance(1);
    assert!(p.closed_within(LONG));
    let (_, t) = reason_of(&node, None, |r| {
        matches!(r, DisconnectReason::VersionHandshakeTimeout)
    })
    .expect("reason");
    assert_eq!(t, T0 + 61);
    still_served(&node, &mut h);
}

/// Mirrors p2p_ping.py: a ping every 2 minutes; no pong for 20 minutes: "ping timeout".
#[test]
fn ping_interval_and_ping_timeout() {
    let node = start_node(Chain::LogosRegtest, Recorder::accepting());
    let mut h = honest(&node);
    let mut p = RawPeer::connect(&node);
    p.handshake();
    // First ping right after the handshake; answer it.
    let mut first = None;
    while let Some((c, pl)) = p.recv(Duration::from_secs(2)) {
        if c == "ping" {
            first = Some(pl);
            break;
        }
    }
    let first = first.expect("first ping");
    p.send("pong", &first).ok();
    settle();
    node.advance(119);
    assert!(p.recv(SHORT).is_none(), "pinged before PING_INTERVAL");
    node.advance(2); // T0+121 > ping_start + 120
    let (c, _second) = p.recv(LONG).expect("second ping");
    assert_eq!(c, "ping");
    // Never answer; keep the link busy in both directions with our own pings.
    for _ in 0..2 {
        node.advance(600);
        keepalive(&mut p);
        keepalive(&mut h);
        settle();
    }
    assert!(!p.closed_within(SHORT), "dropped before the ping timeout");
    node.advance(1); // T0 + 1322 > T0 + 121 + 1200
    assert!(p.closed_within(LONG));
    let (_, t) = reason_of(&node, None, |r| {
        matches!(r, DisconnectReason::PingTimeout { .. })
    })
    .expect("reason");
    assert_eq!(t, T0 + 1322);
    still_served(&node, &mut h);
}

/// Mirrors p2p_timeouts.py: nothing received for TIMEOUT_INTERVAL: "socket receive timeout".
#[test]
fn receive_timeout() {
    let node = start_node(Chain::LogosRegtest, Recorder::accepting());
    let mut h = honest(&node);
    let mut p = RawPeer::connect(&node);
    p.handshake();
    while let Some((c, pl)) = p.recv(Duration::from_secs(1)) {
        if c == "ping" {
            p.send("pong", &pl).ok();
        }
    }
    settle();
    node.advance(600);
    keepalive(&mut h);
    node.advance(600);
    keepalive(&mut h);
    settle();
    assert!(!p.closed_within(SHORT));
    node.advance(1); // T0+1201 > last_recv + 1200; the second ping (T0+600) times out later
    assert!(p.closed_within(LONG));
    let (_, t) = reason_of(&node, None, |r| {
        matches!(r, DisconnectReason::ReceiveTimeout { secs: 1201 })
    })
    .expect("reason");
    assert_eq!(t, T0 + 1201);
    still_served(&node, &mut h);
}

/// Mirrors p2p_timeouts.py: a peer that stops reading: nothing can be sent for
/// TIMEOUT_INTERVAL: "socket sending timeout".
#[test]
fn sending_timeout() {
    let node = start_node(Chain::LogosRegtest, Recorder::accepting());
    let mut p = RawPeer::connect(&node);
    p.handshake();
    while let Some((c, pl)) = p.recv(Duration::from_millis(300)) {
        if c == "ping" {
            p.send("pong", &pl).ok();
        }
    }
    // Fill the socket: the peer never reads again.
    for i in 0..8u8 {
        let mut big = vec![i; 3_000_000];
        big[0] = 0xab;
        node.connman.propagate_message(&big);
    }
    settle();
    for _ in 0..2 {
        node.advance(600);
        p.send("foo", b"x").ok();
        settle();
    }
    node.advance(1);
    assert!(wait_until(LONG, || reason_of(&node, None, |r| matches!(
        r,
        DisconnectReason::SendingTimeout { .. }
    ))
    .is_some()));
    let (_, t) = reason_of(&node, None, |r| {
        matches!(r, DisconnectReason::SendingTimeout { secs: 1201 })
    })
    .expect("reason");
    assert_eq!(t, T0 + 1201);
}

/// Mirrors p2p_addr_relay / p2p_disconnect_ban: a misbehaving non-local peer is discouraged and
/// every connection from its address dropped; the discouraged address is refused when the
/// inbound slots are (almost) full. Loopback counts as non-local through the tested test switch.
#[test]
fn misbehaviour_discourages_non_local_peer() {
    let opts = Options {
        test_loopback_not_local: true,
        max_connections: 12, // 1 inbound slot
        ..test_options()
    };
    let node = start_node_with(Chain::Regtest, opts, Recorder::accepting());
    let mut p = RawPeer::connect(&node);
    p.handshake();
    let mut payload = vec![0xfd, 0xe9, 0x03];
    payload.extend(std::iter::repeat_n(0u8, 1001 * 30));
    p.send("addr", &payload).ok();
    assert!(p.closed_within(LONG));
    assert!(reason_of(&node, None, |r| matches!(r, DisconnectReason::Discouraged)).is_some());
    let lo = netbase::CNetAddr::from_ipv4(std::net::Ipv4Addr::LOCALHOST);
    assert!(node.banman.is_discouraged(&lo));
    // Inbound slots (1) almost full: a discouraged address is refused at once.
    assert!(wait_until(LONG, || node
        .connman
        .get_node_stats()
        .is_empty()));
    let mut q = RawPeer::connect(&node);
    assert!(q.closed_within(LONG));
    assert!(reason_of(&node, Some(-1), |r| matches!(
        r,
        DisconnectReason::InboundDiscouraged { .. }
    ))
    .is_some());
}

/// The same misbehaviour from a loopback peer without the switch: disconnected, not
/// discouraged (Core's local-peer warning).
#[test]
fn misbehaving_local_peer_is_not_discouraged() {
    let node = start_node(Chain::Regtest, Recorder::accepting());
    let mut p = RawPeer::connect(&node);
    p.handshake();
    let mut payload = vec![0xfd, 0xe9, 0x03];
    payload.extend(std::iter::repeat_n(0u8, 1001 * 30));
    p.send("addr", &payload).ok();
    assert!(p.closed_within(LONG));
    assert!(reason_of(&node, None, |r| matches!(
        r,
        DisconnectReason::MisbehavingLocal {
            inbound_onion: false
        }
    ))
    .is_some());
    let lo = netbase::CNetAddr::from_ipv4(std::net::Ipv4Addr::LOCALHOST);
    assert!(!node.banman.is_discouraged(&lo));
}

/// A manual peer that misbehaves is not punished.
#[test]
fn misbehaving_manual_peer_is_not_punished() {
    let _g = log_lock();
    let node = start_node(Chain::Regtest, Recorder::accepting());
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port();
    let mark = log_mark();
    assert!(node.connman.add_node(&format!("127.0.0.1:{port}")));
    // The "addcon" thread dials it.
    let (s, _) = l.accept().expect("accept");
    let mut p = RawPeer::from_stream(s, node.params.message_start, node.params.hash_kind);
    let (c, _) = p.recv(LONG).expect("version from node");
    assert_eq!(c, "version");
    p.send_version();
    p.send("verack", &[]).ok();
    assert!(wait_until(LONG, || node.connman.fully_connected_count() == 1));
    let mut payload = vec![0xfd, 0xe9, 0x03];
    payload.extend(std::iter::repeat_n(0u8, 1001 * 30));
    p.send("addr", &payload).ok();
    assert!(wait_until(LONG, || log_since(mark).iter().any(
        |l| l.starts_with("Warning: not punishing manually connected peer")
    )));
    assert!(!p.closed_within(SHORT));
    assert_eq!(node.connman.fully_connected_count(), 1);
    let info = node.connman.get_added_node_info(true);
    assert_eq!(info.len(), 1);
    assert!(info[0].f_connected && !info[0].f_inbound);
}

/// Mirrors p2p_disconnect_ban.py: banned inbound refused.
#[test]
fn banned_inbound_is_refused() {
    let node = start_node(Chain::LogosRegtest, Recorder::accepting());
    let mut h = honest(&node);
    let lo = netbase::CNetAddr::from_ipv4(std::net::Ipv4Addr::LOCALHOST);
    node.banman.ban(&lo, 3600, false);
    let mut p = RawPeer::connect(&node);
    assert!(p.closed_within(LONG));
    assert!(reason_of(&node, Some(-1), |r| matches!(
        r,
        DisconnectReason::InboundBanned { .. }
    ))
    .is_some());
    // The already connected peer stays (Core drops it only through setban's DisconnectNode).
    still_served(&node, &mut h);
}

/// Mirrors p2p_disconnect_ban.py: disconnectnode by id and by address.
#[test]
fn disconnect_node_api() {
    let node = start_node(Chain::LogosRegtest, Recorder::accepting());
    let mut h = honest(&node);
    let mut p = RawPeer::connect(&node);
    p.handshake();
    let mut q = RawPeer::connect(&node);
    q.handshake();
    assert!(wait_until(LONG, || node.connman.fully_connected_count() == 3));
    let stats = node.connman.get_node_stats();
    let p_addr = p.s.local_addr().expect("addr");
    let q_addr = q.s.local_addr().expect("addr");
    let p_id = stats
        .iter()
        .find(|s| s.addr.get_port() == p_addr.port())
        .expect("p")
        .nodeid;
    assert!(node.connman.disconnect_node_by_id(p_id));
    assert!(p.closed_within(LONG));
    assert!(reason_of(&node, Some(p_id), |r| matches!(
        r,
        DisconnectReason::DisconnectById
    ))
    .is_some());
    assert!(node.connman.disconnect_node_by_name(&q_addr.to_string()));
    assert!(q.closed_within(LONG));
    assert!(reason_of(&node, None, |r| matches!(
        r,
        DisconnectReason::DisconnectByAddress { .. }
    ))
    .is_some());
    assert!(!node.connman.disconnect_node_by_id(9999));
    still_served(&node, &mut h);
}

/// Mirrors p2p_eviction.py: inbound slots full → an inbound peer is evicted for the newcomer;
/// with too few candidates to pick from, the newcomer is refused.
#[test]
fn max_connections_eviction_and_refusal() {
    // 1 inbound slot: the only candidate is protected, the newcomer is refused.
    let opts = Options {
        max_connections: 12,
        ..test_options()
    };
    let node = start_node_with(Chain::LogosRegtest, opts, Recorder::accepting());
    let mut a = RawPeer::connect(&node);
    a.handshake();
    let mut b = RawPeer::connect(&node);
    assert!(b.closed_within(LONG));
    assert!(reason_of(&node, Some(-1), |r| matches!(
        r,
        DisconnectReason::InboundFull
    ))
    .is_some());
    assert!(!a.closed_within(SHORT));

    // 40 inbound slots, all taken: the 41st connection evicts one of them.
    let opts = Options {
        max_connections: 11 + 40,
        ..test_options()
    };
    let node = start_node_with(Chain::LogosRegtest, opts, Recorder::accepting());
    let mut peers: Vec<RawPeer> = Vec::new();
    for _ in 0..40 {
        let mut p = RawPeer::connect(&node);
        p.send_version();
        peers.push(p);
    }
    assert!(wait_until(LONG, || node.connman.get_node_stats().len() == 40));
    let mut newcomer = RawPeer::connect(&node);
    newcomer.send_version();
    assert!(wait_until(LONG, || reason_of(&node, None, |r| matches!(
        r,
        DisconnectReason::Evicted { .. }
    ))
    .is_some()));
    assert!(newcomer.recv(LONG).is_some(), "newcomer served");
    assert!(wait_until(LONG, || node.connman.get_node_stats().len() == 40));
}

/// Outbound connect that does not complete within -timeout: no node, attempt logged.
#[test]
fn connect_timeout() {
    let _g = log_lock();
    let opts = Options {
        connect_timeout_ms: 300,
        ..test_options()
    };
    let node = start_node_with(Chain::LogosRegtest, opts, Recorder::accepting());
    // A listener whose accept queue is full drops further SYNs: connecting hangs.
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let target = l.local_addr().expect("addr");
    let mut fillers = Vec::new();
    for _ in 0..300 {
        match std::net::TcpStream::connect_timeout(&target, Duration::from_millis(50)) {
            Ok(s) => fillers.push(s),
            Err(_) => break,
        }
    }
    let mark = log_mark();
    let ok = node.connman.open_network_connection(
        &CAddress::new(CService::default(), ServiceFlags(0), 0),
        false,
        None,
        Some(&target.to_string()),
        net::connection_type::ConnectionType::Manual,
    );
    assert!(!ok);
    assert!(node.connman.get_node_stats().is_empty());
    assert!(
        log_since(mark)
            .iter()
            .any(|l| l == &format!("[net] connection attempt to {target} timed out")),
        "{:?}",
        log_since(mark)
    );
    drop(l);
}

/// The loopback-only guard refuses non-loopback targets, checked on the address actually
/// dialled, and lets mapped routable addresses through to loopback listeners.
#[test]
fn loopback_guard_refuses_non_loopback() {
    let _g = log_lock();
    let a = start_node(Chain::LogosRegtest, Recorder::accepting());
    let b = start_node(Chain::LogosRegtest, Recorder::accepting());
    let mark = log_mark();
    let routable: CService = netbase::lookup_numeric("1.2.3.4:18444", 0);
    let no = a.connman.open_network_connection(
        &CAddress::new(routable, ServiceFlags::NODE_LOGOS, T0),
        false,
        None,
        None,
        net::connection_type::ConnectionType::Manual,
    );
    assert!(!no, "dialled a non-loopback address in test mode");
    assert!(log_since(mark)
        .iter()
        .any(|l| l.contains("refusing to dial non-loopback address 1.2.3.4:18444")));
    // Map 1.2.3.4:18444 to b's loopback listener: allowed, and the peer shows the routable
    // address.
    a.connman.set_connector(MappedConnector {
        map: vec![(routable, b.addr())],
    });
    assert!(a.connman.open_network_connection(
        &CAddress::new(routable, ServiceFlags::NODE_LOGOS, T0),
        false,
        None,
        None,
        net::connection_type::ConnectionType::Manual,
    ));
    assert!(wait_until(LONG, || a.connman.fully_connected_count() == 1));
    assert_eq!(a.connman.get_node_stats()[0].addr, routable);
    // A mapping to a non-loopback target is refused too (the mapped address is checked).
    let other: CService = netbase::lookup_numeric("5.6.7.8:18444", 0);
    a.connman.set_connector(MappedConnector {
        map: vec![(other, "8.8.8.8:53".parse().expect("sa"))],
    });
    assert!(!a.connman.open_network_connection(
        &CAddress::new(other, ServiceFlags::NODE_LOGOS, T0),
        false,
        None,
        None,
        net::connection_type::ConnectionType::Manual,
    ));
    let _ = Arc::new(());
}

/// Mirrors p2p_handshake.py: an outbound full-relay peer without the network's desirable
/// services (NODE_LOGOS on Logos networks) is dropped after its version.
#[test]
fn outbound_full_relay_without_desirable_services() {
    let node = start_node(Chain::LogosRegtest, Recorder::accepting());
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port();
    assert!(node.connman.add_connection(
        &format!("127.0.0.1:{port}"),
        net::connection_type::ConnectionType::OutboundFullRelay
    ));
    let (s, _) = l.accept().expect("accept");
    let mut p = RawPeer::from_stream(s, node.params.message_start, node.params.hash_kind);
    let (c, _) = p.recv(LONG).expect("version from node");
    assert_eq!(c, "version");
    p.send("version", &version_payload(70016, 0, 5, true)).ok(); // NODE_NONE
    assert!(p.closed_within(LONG));
    let expected = ServiceFlags::NODE_LOGOS.0;
    assert!(reason_of(&node, None, |r| matches!(r, DisconnectReason::MissingExpectedServices { offered: 0, expected: e } if *e == expected)).is_some());

    // The same peer offering NODE_LOGOS is kept.
    assert!(node.connman.add_connection(
        &format!("127.0.0.1:{port}"),
        net::connection_type::ConnectionType::OutboundFullRelay
    ));
    let (s, _) = l.accept().expect("accept");
    let mut p = RawPeer::from_stream(s, node.params.message_start, node.params.hash_kind);
    let (c, _) = p.recv(LONG).expect("version from node");
    assert_eq!(c, "version");
    p.send("version", &version_payload(70016, expected, 6, true))
        .ok();
    p.send("verack", &[]).ok();
    assert!(wait_until(LONG, || node.connman.fully_connected_count() == 1));
    assert!(!p.closed_within(SHORT));
}

/// A node that dials its own listener recognises its nonce and drops the inbound side.
#[test]
fn connection_to_self_is_dropped() {
    let node = start_node(Chain::LogosRegtest, Recorder::accepting());
    assert!(node.connman.open_network_connection(
        &CAddress::new(CService::default(), ServiceFlags(0), 0),
        false,
        None,
        Some(&format!("127.0.0.1:{}", node.port)),
        net::connection_type::ConnectionType::Manual,
    ));
    assert!(wait_until(LONG, || reason_of(&node, None, |r| matches!(
        r,
        DisconnectReason::ConnectedToSelf { .. }
    ))
    .is_some()));
    assert!(wait_until(LONG, || node
        .connman
        .get_node_stats()
        .is_empty()));
}
