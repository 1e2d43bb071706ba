//! Address relay (net_processing.cpp's addr / getaddr handling) through `net::addr_relay` and
//! `net::addr_cache`: Core's rate limits, relay fan-out and the `getaddr` answer, checked
//! against Core's functional tests and against bitcoind's own answer in shared/vectors.
#![allow(non_snake_case)]

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::sync::Arc;

use addrman::AddrMan;
use net::addr_cache::{get_addresses, AddrRequestor, AddrResponseCache};
use net::addr_relay::{
    select_relay_targets, AddrOutcome, AddrPeerInfo, AddrRelayParams, AddrRelayPeer,
    GetAddrOutcome, RelayCandidate, MAX_ADDR_TO_SEND, MAX_PCT_ADDR_TO_SEND,
};
use net::connection_type::ConnectionType;
use net::siphash::RandomizerSeeds;
use net::NodeId;
use netbase::{CNetAddr, CService, NetGroupManager, Network, ReachableNets};
use protocol::address::{decode_addr_vec, AddrSerParams};
use protocol::{CAddress, Chain, HashKind, NetworkParams, ServiceFlags};
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;

/// Entry times in the vectors' peers.dat are near this (shared/vectors/README.md).
const VECTOR_NOW: i64 = 1_795_503_770;

fn vectors() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/vectors")
}

fn services() -> ServiceFlags {
    ServiceFlags(ServiceFlags::NODE_NETWORK.0 | ServiceFlags::NODE_WITNESS.0)
}

/// A random routable IPv4 address with the given time (Core's `setup_addr_msg(n,
/// sequential_ips=False)`).
fn random_addr(rng: &mut ChaCha20Rng, time: i64) -> CAddress {
    loop {
        let ip = Ipv4Addr::from(rng.next_u32());
        let a = CNetAddr::from_ipv4(ip);
        if a.is_routable() {
            return CAddress::new(CService::new(a, 8333), services(), time);
        }
    }
}

fn addr_msg(rng: &mut ChaCha20Rng, n: usize, time: i64) -> Vec<CAddress> {
    (0..n).map(|_| random_addr(rng, time)).collect()
}

struct Ctx {
    reachable: ReachableNets,
}

impl Ctx {
    fn new() -> Self {
        Ctx {
            reachable: ReachableNets::default(),
        }
    }
    fn params(&self) -> AddrRelayParams<'_> {
        AddrRelayParams {
            params: NetworkParams::get(Chain::Regtest),
            reachable: &self.reachable,
            is_banned_or_discouraged: &|_| false,
        }
    }
}

fn processed(out: AddrOutcome) -> net::addr_relay::AddrProcessed {
    match out {
        AddrOutcome::Processed(p) => p,
        other => panic!("expected Processed, got {other:?}"),
    }
}

/// Mirrors p2p_addr_relay.py: rate_limit_tests — for outbound-full-relay (1 + 1000 tokens after
/// our getaddr), block-relay-only (no addr relay) and inbound peers (1 token): 600, 600 and 10
/// addresses, then +100 s (10 tokens) and 200, then +1000 s (100 tokens) and 200.
#[test]
fn p2p_addr_relay__rate_limit_tests() {
    let ctx = Ctx::new();
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    for (conn_type, no_relay) in [
        (ConnectionType::OutboundFullRelay, false),
        (ConnectionType::BlockRelay, true),
        (ConnectionType::Inbound, false),
    ] {
        let mut now = VECTOR_NOW * 1_000_000;
        let mut peer = AddrRelayPeer::new(now);
        let info = AddrPeerInfo {
            id: 0,
            conn_type,
            has_addr_permission: false,
        };
        // The version handshake: outbound peers get our getaddr (and 1000 more tokens).
        let mut tokens: u64 = 1;
        if peer.on_version_outbound(conn_type, &mut rng) {
            tokens += 1000;
        }
        let mut total = 0u64;
        for (advance_secs, extra_tokens, n) in [
            (0, 0, 600),
            (0, 0, 600),
            (0, 0, 10),
            (100, 10, 200),
            (1000, 100, 200),
        ] {
            now += advance_secs * 1_000_000;
            tokens += extra_tokens;
            total += n as u64;
            let msg = addr_msg(&mut rng, n, now / 1_000_000);
            let out = peer.process_addr(&info, "addr", msg, &ctx.params(), now, &mut rng);
            if no_relay {
                assert!(matches!(out, AddrOutcome::Ignored));
                assert_eq!(peer.m_addr_processed, 0);
                assert_eq!(peer.m_addr_rate_limited, 0);
            } else {
                processed(out);
                assert_eq!(
                    peer.m_addr_processed,
                    total.min(tokens),
                    "{conn_type:?} after {total}"
                );
                assert_eq!(
                    peer.m_addr_rate_limited,
                    total.saturating_sub(tokens),
                    "{conn_type:?}"
                );
            }
        }
    }
}

/// A peer sending 10,000 addresses at once: as one message it misbehaves (Core: "addr message
/// size = 10000"); as ten full messages in the same instant, an inbound peer gets 1 processed
/// and 9,999 rate-limited, an outbound peer we sent getaddr to 1,001 and 8,999, and a peer with
/// the addr permission all 10,000.
#[test]
fn ten_thousand_addresses_at_once() {
    let ctx = Ctx::new();
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    let now = VECTOR_NOW * 1_000_000;

    let mut peer = AddrRelayPeer::new(now);
    let info = AddrPeerInfo {
        id: 3,
        conn_type: ConnectionType::Inbound,
        has_addr_permission: false,
    };
    match peer.process_addr(
        &info,
        "addr",
        addr_msg(&mut rng, 10_000, VECTOR_NOW),
        &ctx.params(),
        now,
        &mut rng,
    ) {
        AddrOutcome::Oversized(m) => assert_eq!(m.message(), "addr message size = 10000"),
        other => panic!("{other:?}"),
    }
    match peer.process_addr(
        &info,
        "addrv2",
        addr_msg(&mut rng, 1001, VECTOR_NOW),
        &ctx.params(),
        now,
        &mut rng,
    ) {
        AddrOutcome::Oversized(m) => assert_eq!(m.message(), "addrv2 message size = 1001"),
        other => panic!("{other:?}"),
    }

    for (conn_type, permission, expect_proc) in [
        (ConnectionType::Inbound, false, 1u64),
        (ConnectionType::OutboundFullRelay, false, 1001),
        (ConnectionType::Inbound, true, 10_000),
    ] {
        let mut peer = AddrRelayPeer::new(now);
        peer.on_version_outbound(conn_type, &mut rng);
        let info = AddrPeerInfo {
            id: 4,
            conn_type,
            has_addr_permission: permission,
        };
        let mut added = 0usize;
        for _ in 0..10 {
            let msg = addr_msg(&mut rng, MAX_ADDR_TO_SEND, VECTOR_NOW);
            let p = processed(peer.process_addr(&info, "addr", msg, &ctx.params(), now, &mut rng));
            added += p.to_add.len();
            assert!(
                p.relay.is_empty(),
                "messages of more than 10 are never relayed"
            );
        }
        assert_eq!(
            peer.m_addr_processed, expect_proc,
            "{conn_type:?} permission={permission}"
        );
        assert_eq!(peer.m_addr_rate_limited, 10_000 - expect_proc);
        assert_eq!(added as u64, expect_proc);
    }
}

/// Addresses whose time is before 1973 or more than 10 minutes ahead are stored with
/// now − 5 days; services that are useless to us are dropped; banned ones are remembered but
/// not stored.
#[test]
fn addr_time_fixup_service_and_ban_filters() {
    let reachable = ReachableNets::default();
    let banned = CNetAddr::from_ipv4(Ipv4Addr::new(11, 9, 9, 9));
    let is_banned = |a: &CNetAddr| *a == banned;
    let ctx = AddrRelayParams {
        params: NetworkParams::get(Chain::Regtest),
        reachable: &reachable,
        is_banned_or_discouraged: &is_banned,
    };
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    let now = VECTOR_NOW;
    let mut peer = AddrRelayPeer::new(now * 1_000_000);
    peer.on_version_outbound(ConnectionType::OutboundFullRelay, &mut rng);
    let mk = |last: u8, svc: ServiceFlags, t: i64| {
        CAddress::new(
            CService::new(CNetAddr::from_ipv4(Ipv4Addr::new(11, 1, 1, last)), 8333),
            svc,
            t,
        )
    };
    let msg = vec![
        mk(1, services(), 99_999_999),
        mk(2, services(), now + 601),
        mk(3, services(), now - 100),
        mk(4, ServiceFlags::NODE_NONE, now),
        CAddress::new(CService::new(banned, 8333), services(), now),
    ];
    let info = AddrPeerInfo {
        id: 1,
        conn_type: ConnectionType::OutboundFullRelay,
        has_addr_permission: false,
    };
    let p = processed(peer.process_addr(&info, "addr", msg, &ctx, now * 1_000_000, &mut rng));
    let times: HashMap<u8, i64> = p
        .to_add
        .iter()
        .map(|a| (a.service.addr.addr_bytes()[3], a.n_time))
        .collect();
    assert_eq!(
        times.len(),
        3,
        "no-service and banned addresses are not stored"
    );
    assert_eq!(times[&1], now - 5 * 86400);
    assert_eq!(times[&2], now - 5 * 86400);
    assert_eq!(times[&3], now - 100);
    assert!(peer.addr_known(&CService::new(banned, 8333)));
    // Our getaddr is outstanding: nothing is relayed; a short answer clears it.
    assert!(p.relay.is_empty());
    assert!(!peer.m_getaddr_sent);
}

/// Mirrors p2p_addr_relay.py: relay_tests — one source and 7 receivers; each of 10 fresh,
/// reachable IPv4 addresses reaches exactly 2 receivers (never all, never the source), and
/// the same address goes to the same peers within the 24-hour window.
#[test]
fn p2p_addr_relay__relay_tests() {
    let ctx = Ctx::new();
    let mut rng = ChaCha20Rng::seed_from_u64(4);
    let seeds = RandomizerSeeds {
        seed0: 0x1234,
        seed1: 0x5678,
    };
    let now = VECTOR_NOW * 1_000_000;
    let mut peers: Vec<(NodeId, AddrRelayPeer)> = Vec::new();
    for id in 0..8 {
        let mut p = AddrRelayPeer::new(now);
        // inbound peers turn relay on with their first addr-related message (AddrReceiver's getaddr)
        p.setup_address_relay(ConnectionType::Inbound, &mut rng);
        peers.push((id, p));
    }
    let source: NodeId = 0;
    let msg = addr_msg(&mut rng, 10, VECTOR_NOW);
    let info = AddrPeerInfo {
        id: source,
        conn_type: ConnectionType::Inbound,
        has_addr_permission: false,
    };
    // The inbound source has 1 token: give it 10 seconds per address first (the functional
    // test's addresses come one message after another with mock time moving).
    let t = now + 100 * 1_000_000;
    let p =
        processed(
            peers[0]
                .1
                .process_addr(&info, "addr", msg.clone(), &ctx.params(), t, &mut rng),
        );
    assert_eq!(p.num_proc, 10);
    assert_eq!(p.relay.len(), 10);
    let mut received: HashMap<NodeId, usize> = HashMap::new();
    for (a, reachable) in &p.relay {
        let cands: Vec<RelayCandidate> = peers
            .iter()
            .map(|(id, p)| RelayCandidate::of(*id, p))
            .collect();
        let targets =
            select_relay_targets(&seeds, source, a, *reachable, t / 1_000_000, cands.clone());
        assert_eq!(targets.len(), 2, "reachable addresses go to 2 peers");
        assert!(!targets.contains(&source));
        // Same choice later in the same window (seconds later).
        let again = select_relay_targets(&seeds, source, a, *reachable, t / 1_000_000 + 5, cands);
        assert_eq!(targets, again);
        for id in targets {
            let peer = &mut peers.iter_mut().find(|(i, _)| *i == id).unwrap().1;
            peer.push_address(a, &mut rng);
        }
    }
    // Each receiver's next addr message carries what was pushed to it.
    for (id, peer) in peers.iter_mut().skip(1) {
        let mut none = |_: &mut ChaCha20Rng| None;
        if let Some(m) =
            peer.maybe_send_addr(t + 3600 * 1_000_000, false, services(), &mut none, &mut rng)
        {
            *received.entry(*id).or_default() += m.addrs.len();
        }
    }
    assert_eq!(received.values().sum::<usize>(), 10 * 2);
}

/// Unreachable (but relayable) addresses go to 1 or 2 peers by the keyed hash: both happen.
#[test]
fn unreachable_addresses_go_to_one_or_two_peers() {
    let seeds = RandomizerSeeds {
        seed0: 9,
        seed1: 10,
    };
    let mut rng = ChaCha20Rng::seed_from_u64(5);
    let cands: Vec<RelayCandidate> = (0..10)
        .map(|id| RelayCandidate {
            id,
            addr_relay_enabled: true,
            wants_addrv2: true,
        })
        .collect();
    let mut seen = [0usize; 3];
    for _ in 0..200 {
        let a = random_addr(&mut rng, VECTOR_NOW);
        let n = select_relay_targets(&seeds, 0, &a, false, VECTOR_NOW, cands.clone()).len();
        seen[n] += 1;
    }
    assert_eq!(seen[0], 0);
    assert!(seen[1] > 50 && seen[2] > 50, "{seen:?}");
    // Peers without addr relay, or that cannot decode the address, are never chosen.
    let mut onion = CNetAddr::default();
    assert!(onion.set_special("pg6mmjiyjmcrsslvykfwnntlaru7p5svn6y2ymmju6nubxndf4pscryd.onion"));
    let o = CAddress::new(CService::new(onion, 8333), services(), VECTOR_NOW);
    let v1_only: Vec<RelayCandidate> = (0..5)
        .map(|id| RelayCandidate {
            id,
            addr_relay_enabled: id != 1,
            wants_addrv2: id == 3 || id == 1,
        })
        .collect();
    let t = select_relay_targets(&seeds, 0, &o, true, VECTOR_NOW, v1_only);
    assert_eq!(t, vec![3]);
}

fn load_peers_dat(dir: &str, clock: Arc<net::MockClock>) -> AddrMan {
    let bytes = std::fs::read(vectors().join(dir).join("peers.dat")).expect("peers.dat");
    let params = NetworkParams::get(Chain::Regtest);
    let am = AddrMan::new(NetGroupManager::new(), true, 0, HashKind::Sha256d).with_clock(clock);
    addrman::read_peers_dat(&am, &bytes, params.message_start).expect("load peers.dat");
    am
}

/// bitcoind's `addrv2` answer in an inbound-session vector, decoded.
fn bitcoind_addrv2_answer(dir: &str, file: &str, command: &str) -> Vec<CAddress> {
    let text = std::fs::read_to_string(vectors().join(dir).join(file)).expect("session json");
    let key = format!("\"command\": \"{command}\"");
    let at = text.find(&key).expect("addr message in session");
    let hex_at = text[at..].find("\"hex\": \"").expect("hex") + at + 8;
    let end = text[hex_at..].find('"').expect("end") + hex_at;
    let bytes = hex::decode(&text[hex_at..end]).expect("hex");
    let mut payload = &bytes[24..];
    let p = if command == "addrv2" {
        AddrSerParams::V2_NETWORK
    } else {
        AddrSerParams::V1_NETWORK
    };
    decode_addr_vec(&mut payload, p).expect("addr payload")
}

/// Mirrors p2p_addr_relay.py: getaddr_tests (answered only for inbound peers, once per
/// connection) against bitcoind's own answer: with the vectors' peers.dat (1,488 addresses),
/// bitcoind answered an inbound getaddr with 342 addresses (23%); so do we.
#[test]
fn p2p_addr_relay__getaddr_tests_with_bitcoind_peers_dat() {
    let clock = Arc::new(net::MockClock::new(VECTOR_NOW));
    let am = load_peers_dat("bitcoind-regtest", clock.clone());
    assert_eq!(am.size(None, None), 1488);
    let expected =
        bitcoind_addrv2_answer("bitcoind-regtest", "inbound-session.json", "addrv2").len();
    assert_eq!(expected, 1488 * MAX_PCT_ADDR_TO_SEND / 100);

    let mut rng = ChaCha20Rng::seed_from_u64(6);
    let mut cache = AddrResponseCache::new(RandomizerSeeds { seed0: 1, seed1: 2 });
    let now = VECTOR_NOW * 1_000_000;
    let requestor = AddrRequestor {
        connected_through: Network::IPv4,
        addr_bind: CService::new(CNetAddr::from_ipv4(Ipv4Addr::LOCALHOST), 18444),
        is_inbound: true,
    };

    // Outbound peers' getaddr is ignored.
    let mut outbound = AddrRelayPeer::new(now);
    outbound.on_version_outbound(ConnectionType::OutboundFullRelay, &mut rng);
    let out_info = AddrPeerInfo {
        id: 1,
        conn_type: ConnectionType::OutboundFullRelay,
        has_addr_permission: false,
    };
    assert_eq!(
        outbound.process_getaddr(&out_info, || panic!("not fetched"), &mut rng),
        GetAddrOutcome::IgnoredNotInbound
    );

    let mut peer = AddrRelayPeer::new(now);
    peer.process_sendaddrv2(false).unwrap();
    let info = AddrPeerInfo {
        id: 2,
        conn_type: ConnectionType::Inbound,
        has_addr_permission: false,
    };
    let mut cache_rng = ChaCha20Rng::seed_from_u64(60);
    let outcome = peer.process_getaddr(
        &info,
        || {
            cache.get_addresses_for(
                &requestor,
                MAX_ADDR_TO_SEND,
                MAX_PCT_ADDR_TO_SEND,
                now,
                &mut cache_rng,
                &am,
                None,
            )
        },
        &mut rng,
    );
    assert_eq!(outcome, GetAddrOutcome::Answered(expected));
    let mut none = |_: &mut ChaCha20Rng| None;
    let msg = peer
        .maybe_send_addr(now + 1, false, services(), &mut none, &mut rng)
        .expect("answer sent on the next SendMessages");
    assert_eq!(msg.command(), "addrv2");
    assert_eq!(msg.addrs.len(), expected);
    // Once per connection.
    assert_eq!(
        peer.process_getaddr(&info, || panic!("not fetched"), &mut rng),
        GetAddrOutcome::IgnoredRepeated
    );
    // A new connection through the same local socket gets the very same cached answer.
    let again = cache.get_addresses_for(
        &requestor,
        MAX_ADDR_TO_SEND,
        MAX_PCT_ADDR_TO_SEND,
        now + 3600 * 1_000_000,
        &mut rng,
        &am,
        None,
    );
    assert_eq!(again, msg.addrs);
}

/// bitcoind-regtest-allnets: the addrv2 answer holds 23% of the DB in all networks; the v1
/// answer to a peer without sendaddrv2 holds only the IPv4/IPv6 part of the same cached answer.
#[test]
fn getaddr_allnets_v1_peer_gets_only_v1_compatible_part() {
    // This DB's entry times are near 1795547527 (its getrawaddrman.json).
    let now_secs = 1_795_547_600;
    let clock = Arc::new(net::MockClock::new(now_secs));
    let am = load_peers_dat("bitcoind-regtest-allnets", clock);
    let size = am.size(None, None);
    let v2_answer = bitcoind_addrv2_answer(
        "bitcoind-regtest-allnets",
        "inbound-session-addrv2.json",
        "addrv2",
    );
    assert_eq!(v2_answer.len(), size * MAX_PCT_ADDR_TO_SEND / 100);

    let mut rng = ChaCha20Rng::seed_from_u64(7);
    let all = get_addresses(
        &am,
        None,
        MAX_ADDR_TO_SEND,
        MAX_PCT_ADDR_TO_SEND,
        None,
        true,
    );
    assert_eq!(all.len(), v2_answer.len());
    let now = now_secs * 1_000_000;
    let info = AddrPeerInfo {
        id: 1,
        conn_type: ConnectionType::Inbound,
        has_addr_permission: false,
    };
    let mut v1_peer = AddrRelayPeer::new(now);
    let outcome = v1_peer.process_getaddr(&info, || all.clone(), &mut rng);
    let v1_count = all
        .iter()
        .filter(|a| a.service.addr.is_addr_v1_compatible())
        .count();
    assert_eq!(outcome, GetAddrOutcome::Answered(v1_count));
    assert!(v1_count < all.len(), "the allnets DB has Tor/I2P entries");
    let mut none = |_: &mut ChaCha20Rng| None;
    let m = v1_peer
        .maybe_send_addr(now + 1, false, services(), &mut none, &mut rng)
        .unwrap();
    assert_eq!(m.command(), "addr");
    assert!(m
        .addrs
        .iter()
        .all(|a| a.service.addr.is_addr_v1_compatible()));
}
