//! Address relay and self-advertisement across running nodes, on loopback only: real
//! [`net::CConnman`]s with mock clocks, a scripted raw-TCP peer, and every wait bounded.
//!
//! - A fresh routable address sent in `addr` to one node reaches exactly the 2 of its 5 peers
//!   that Core's RelayAddress picks (SipHash of the peer id keyed by the node's seeds, the
//!   address and the day), checked through the peers' address managers.
//! - `-externalip` (Options::external_ips) is advertised to a peer right after the handshake
//!   and again about once a day (AVG_LOCAL_ADDRESS_BROADCAST_INTERVAL) on the mock clock;
//!   with `-discover=0` and no `-externalip` nothing is advertised.
//!
//! Mirrors p2p_addr_relay.py (relay_tests: a fresh address goes to 2 peers, not all) and
//! feature_discover.py / p2p_addr_selfannouncement.py (our address in addr after the
//! handshake).

mod common;

use std::collections::BTreeSet;
use std::net::{Ipv4Addr, TcpListener};
use std::sync::Arc;
use std::time::Duration;

use common::*;
use net::addr_relay::{select_relay_targets, RelayCandidate, AVG_LOCAL_ADDRESS_BROADCAST_INTERVAL};
use net::connection_type::ConnectionType;
use net::{AcceptAll, Clock, Options};
use netbase::{CNetAddr, CService};
use protocol::address::AddrSerParams;
use protocol::address::{decode_addr_vec, encode_addr_vec, AddrEncoding, AddrFormat};
use protocol::{CAddress, Chain, NetworkParams, ServiceFlags};

fn v4(a: u8, b: u8, c: u8, d: u8, port: u16) -> CService {
    CService::new(CNetAddr::from_ipv4(Ipv4Addr::new(a, b, c, d)), port)
}

fn logos_services() -> ServiceFlags {
    NetworkParams::get(Chain::LogosRegtest).desirable_services
}

const V1: AddrSerParams = AddrSerParams {
    fmt: AddrFormat::Network,
    enc: AddrEncoding::V1,
};

fn addr_payload(addrs: &[CAddress]) -> Vec<u8> {
    let mut p = Vec::new();
    encode_addr_vec(addrs, &mut p, V1).expect("encode");
    p
}

/// The addresses of an `addr` (v1) or `addrv2` payload.
fn decode_addrs(cmd: &str, payload: &[u8]) -> Vec<CAddress> {
    let enc = if cmd == "addrv2" {
        AddrEncoding::V2
    } else {
        AddrEncoding::V1
    };
    decode_addr_vec(
        &mut &payload[..],
        AddrSerParams {
            fmt: AddrFormat::Network,
            enc,
        },
    )
    .expect("decodable addr payload")
}

fn has_address(node: &TestNode, a: &CService) -> bool {
    node.addrman
        .find_address_entry(&CAddress::new(*a, ServiceFlags(0), 0))
        .is_some()
}

/// A fresh routable address sent in `addr` by a raw peer to node A reaches exactly the 2 peers
/// (of A's 5 other peers) that Core's RelayAddress picks for it, and no other; each of three
/// addresses is checked. A's relay choice is recomputed from its seeds, its clock and its
/// peers' ids with `select_relay_targets` (the function A itself calls).
/// Mirrors p2p_addr_relay.py: relay_tests (2 of the peers get a relayed address, not all).
#[test]
fn fresh_address_reaches_exactly_the_two_chosen_peers() {
    let a = start_node(Chain::LogosRegtest, Arc::new(AcceptAll));
    let bs: Vec<TestNode> = (0..5)
        .map(|_| start_node(Chain::LogosRegtest, Arc::new(AcceptAll)))
        .collect();
    for b in &bs {
        assert!(connect(b, &a), "peer connects to A");
    }
    // A has set up address relay for each peer once its getaddr arrived (Core: SetupAddressRelay).
    assert!(
        wait_until(Duration::from_secs(10), || {
            let st = a.connman.get_node_stats();
            st.len() == 5
                && st
                    .iter()
                    .all(|s| s.state.as_ref().is_some_and(|x| x.m_addr_relay_enabled))
        }),
        "A did not enable address relay for its 5 peers"
    );
    // A's peer id of each B, by the port B's connection comes from.
    let id_of_b: Vec<i64> = bs
        .iter()
        .map(|b| {
            let bound = b
                .connman
                .get_node_stats()
                .into_iter()
                .find(|s| s.addr.port == a.port)
                .expect("B's connection to A")
                .addr_bind;
            a.connman
                .get_node_stats()
                .into_iter()
                .find(|s| s.addr == bound)
                .expect("A sees B")
                .nodeid
        })
        .collect();

    let mut r = RawPeer::connect(&a);
    r.handshake();
    assert!(wait_until(Duration::from_secs(5), || {
        a.connman.get_node_stats().len() == 6
    }));
    let r_id = a
        .connman
        .get_node_stats()
        .into_iter()
        .find(|s| !id_of_b.contains(&s.nodeid))
        .expect("the raw peer")
        .nodeid;

    let fresh = [
        v4(11, 40, 1, 1, 14497),
        v4(11, 41, 2, 2, 14497),
        v4(11, 42, 3, 3, 14497),
    ];
    let mut expected: Vec<BTreeSet<usize>> = Vec::new();
    for (k, addr) in fresh.iter().enumerate() {
        if k > 0 {
            // An inbound peer's token bucket refills at 0.1 address per second.
            a.advance(11);
        }
        let now = a.clock.now_secs();
        let ca = CAddress::new(*addr, logos_services(), now);
        let candidates: Vec<RelayCandidate> = a
            .connman
            .get_node_stats()
            .into_iter()
            .map(|s| RelayCandidate {
                id: s.nodeid,
                addr_relay_enabled: s.nodeid == r_id
                    || s.state.as_ref().is_some_and(|x| x.m_addr_relay_enabled),
                wants_addrv2: true,
            })
            .collect();
        let targets = select_relay_targets(
            a.connman.randomizer_seeds(),
            r_id,
            &ca,
            true,
            now,
            candidates,
        );
        assert_eq!(targets.len(), 2, "a reachable address goes to 2 peers");
        expected.push(
            targets
                .iter()
                .map(|t| id_of_b.iter().position(|i| i == t).expect("a B"))
                .collect(),
        );
        r.send("addr", &addr_payload(&[ca])).expect("send addr");
        assert!(
            wait_until(Duration::from_secs(5), || has_address(&a, addr)),
            "A stores {addr}"
        );
    }

    // A sends queued addresses on its ~30 s timer per peer: move A's clock until every chosen
    // peer has its addresses (bounded).
    let delivered = |exp: &[BTreeSet<usize>]| {
        fresh
            .iter()
            .zip(exp)
            .all(|(addr, want)| want.iter().all(|&i| has_address(&bs[i], addr)))
    };
    let mut ok = false;
    for _ in 0..20 {
        a.advance(60);
        if wait_until(Duration::from_millis(500), || delivered(&expected)) {
            ok = true;
            break;
        }
    }
    assert!(ok, "the chosen peers got their addresses: {expected:?}");
    // Give any wrong relay time to land, then check: exactly the chosen 2 of 5, never all.
    a.advance(120);
    std::thread::sleep(Duration::from_millis(500));
    for (addr, want) in fresh.iter().zip(&expected) {
        let got: BTreeSet<usize> = (0..bs.len())
            .filter(|&i| has_address(&bs[i], addr))
            .collect();
        assert_eq!(
            &got, want,
            "{addr} reached exactly the peers RelayAddress chose"
        );
        assert!(got.len() < bs.len());
    }
    a.connman.stop();
}

/// Start `node`'s manual outbound connection to a raw listener and complete the handshake.
fn raw_outbound_peer(node: &TestNode) -> RawPeer {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let dest = l.local_addr().expect("addr").to_string();
    assert!(node.connman.open_network_connection(
        &CAddress::new(CService::default(), ServiceFlags(0), 0),
        false,
        None,
        Some(&dest),
        ConnectionType::Manual,
    ));
    let (s, _) = l.accept().expect("accept");
    let mut r = RawPeer::from_stream(s, node.params.message_start, node.params.hash_kind);
    let got = r.handshake();
    assert!(got.contains(&"verack".to_string()), "{got:?}");
    r
}

/// Read the peer's messages for `window` (real time), answering pings; the addresses of every
/// `addr` / `addrv2` received.
fn collect_addrs(r: &mut RawPeer, window: Duration) -> Vec<CAddress> {
    let deadline = std::time::Instant::now() + window;
    let mut out = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            return out;
        }
        let Some((cmd, payload)) = r.recv(left) else {
            return out;
        };
        match cmd.as_str() {
            "ping" => r.send("pong", &payload).expect("pong"),
            "addr" | "addrv2" => out.extend(decode_addrs(&cmd, &payload)),
            _ => {}
        }
    }
}

/// `-externalip=11.22.33.44:14497`: the address is ours (LOCAL_MANUAL) and goes to an outbound
/// peer in `addr` right after the handshake, with our services and the current time; the
/// next advertisement comes on Core's AVG_LOCAL_ADDRESS_BROADCAST_INTERVAL timer (mean one
/// day): the mock clock is moved in 19-minute steps, the peer answering pings so the
/// connection stays up, until our address comes again (bounded at 10 days).
/// Mirrors p2p_addr_selfannouncement.py and net_processing.cpp: MaybeSendAddr.
#[test]
fn externalip_is_advertised_after_handshake_and_about_daily() {
    let ext = v4(11, 22, 33, 44, 14497);
    let x = start_node_with(
        Chain::LogosRegtest,
        Options {
            external_ips: vec![ext],
            ..test_options()
        },
        Arc::new(AcceptAll),
    );
    let locals = x.connman.local_host().entries();
    assert_eq!(locals.len(), 1);
    assert_eq!(locals[0].0, ext);
    assert_eq!(locals[0].1.n_score, net::local_addr::LOCAL_MANUAL);

    let mut r = raw_outbound_peer(&x);
    let t_handshake = x.clock.now_secs();
    let first = collect_addrs(&mut r, Duration::from_secs(3));
    let ours: Vec<&CAddress> = first.iter().filter(|a| a.service == ext).collect();
    assert_eq!(
        ours.len(),
        1,
        "advertised once after the handshake: {first:?}"
    );
    assert_eq!(ours[0].n_services, x.connman.get_local_services());
    assert_eq!(ours[0].n_time, t_handshake);

    // The next self-advertisement: exponential with a mean of one day.
    let step = 19 * 60;
    let max_steps = 10 * 24 * 3600 / step;
    let mut again_after = None;
    for k in 1..=max_steps {
        x.advance(step);
        let now = x.clock.now_secs();
        // Our ping and the node's pong (and its ping every 2 min, answered) keep the 20-min
        // inactivity timeout away; wait until the node has heard from us at this time.
        let got = collect_until_heard(&x, &mut r, now);
        if got.iter().any(|a| a.service == ext) {
            again_after = Some(k * step);
            break;
        }
    }
    let secs = again_after.expect("advertised again within 10 days");
    assert!(secs > 0);
    eprintln!(
        "advertised again after {:.1} h (mean {} h)",
        secs as f64 / 3600.0,
        AVG_LOCAL_ADDRESS_BROADCAST_INTERVAL / 3_600_000_000
    );
    assert_eq!(
        x.connman.get_node_stats().len(),
        1,
        "the connection stayed up"
    );
    x.connman.stop();
}

/// After a clock step: ping the node (so it hears from us at mock time `now`), answer its
/// pings, and wait (bounded) until it has received our bytes; returns the addresses received
/// meanwhile.
fn collect_until_heard(x: &TestNode, r: &mut RawPeer, now: i64) -> Vec<CAddress> {
    r.send("ping", &now.to_le_bytes()).expect("ping");
    let mut got = Vec::new();
    for _ in 0..200 {
        got.extend(collect_addrs(r, Duration::from_millis(25)));
        let heard = x
            .connman
            .get_node_stats()
            .first()
            .is_some_and(|s| s.m_last_recv >= now);
        if heard {
            // One more short read: an addr queued in the same pass as the ping.
            got.extend(collect_addrs(r, Duration::from_millis(25)));
            return got;
        }
    }
    panic!("the node did not hear from the peer after the clock step");
}

/// `-discover=0` and no `-externalip`: no address of ours, and no `addr` to a peer, after the
/// handshake nor over the next minutes of the 30-s address timer.
/// Mirrors feature_discover.py (nothing advertised when discovery is off).
#[test]
fn nothing_advertised_without_discover_or_externalip() {
    let x = start_node_with(
        Chain::LogosRegtest,
        Options {
            discover: false,
            ..test_options()
        },
        Arc::new(AcceptAll),
    );
    assert!(x.connman.local_host().entries().is_empty());
    let mut r = raw_outbound_peer(&x);
    let mut got = collect_addrs(&mut r, Duration::from_secs(1));
    for _ in 0..5 {
        x.advance(60);
        let now = x.clock.now_secs();
        got.extend(collect_until_heard(&x, &mut r, now));
    }
    assert!(got.is_empty(), "advertised {got:?}");
    x.connman.stop();
}
