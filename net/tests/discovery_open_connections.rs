//! Outbound selection (Core's ThreadOpenConnections) through `net::open_connections`, driven
//! by a mock clock in 500 ms passes as Core's loop runs, with a real (deterministic) AddrMan.
//! Connections "succeed" in the simulation: the planner's choice becomes a node, and addrman
//! hears `Attempt` and `Good` as Core's connman and peerman would tell it.
#![allow(non_snake_case)]

use std::collections::{BTreeSet, HashSet};
use std::net::Ipv4Addr;
use std::sync::Arc;

use addrman::AddrMan;
use net::connection_type::ConnectionType;
use net::open_connections::{
    get_full_outbound_conn_count, OpenConnectionsConfig, OpenConnectionsPlanner, OutboundPeerInfo,
    PlanContext, PlanOutcome,
};
use net::{Clock, MockClock};
use netbase::{CNetAddr, CService, NetGroupManager, Network, ReachableNets};
use protocol::{CAddress, Chain, HashKind, NetworkParams, ServiceFlags};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

const T0: i64 = 1_795_503_770;
const PASS: i64 = 500_000; // Core's 500 ms sleep per pass, µs

fn services() -> ServiceFlags {
    NetworkParams::get(Chain::Regtest).desirable_services
}

fn v4(a: u8, b: u8, c: u8, d: u8, port: u16) -> CService {
    CService::new(CNetAddr::from_ipv4(Ipv4Addr::new(a, b, c, d)), port)
}

fn new_addrman(clock: &Arc<MockClock>) -> AddrMan {
    AddrMan::new(NetGroupManager::new(), true, 0, HashKind::Sha256d).with_clock(clock.clone())
}

struct World {
    clock: Arc<MockClock>,
    addrman: AddrMan,
    netgroupman: NetGroupManager,
    reachable: ReachableNets,
    nodes: Vec<OutboundPeerInfo>,
    rng: ChaCha20Rng,
}

impl World {
    fn new() -> Self {
        let clock = Arc::new(MockClock::new(T0));
        World {
            addrman: new_addrman(&clock),
            clock,
            netgroupman: NetGroupManager::new(),
            reachable: ReachableNets::default(),
            nodes: Vec::new(),
            rng: ChaCha20Rng::seed_from_u64(42),
        }
    }

    fn now_micros(&self) -> i64 {
        net::Clock::now_micros(&*self.clock)
    }

    fn plan(
        &mut self,
        planner: &mut OpenConnectionsPlanner,
        params: &NetworkParams,
    ) -> PlanOutcome {
        let now = self.now_micros();
        let connected: HashSet<CService> = self.nodes.iter().map(|n| n.addr).collect();
        let already = move |a: &CAddress| connected.contains(&a.service);
        let ctx = PlanContext {
            addrman: &self.addrman,
            netgroupman: &self.netgroupman,
            reachable: &self.reachable,
            params,
            is_local: &|_| false,
            added_nodes_contain: &|_| false,
            added_node_params_empty: true,
            already_connected_to_address: &already,
        };
        planner.plan(now, &self.nodes, &ctx, &mut self.rng)
    }

    /// Dial what the planner chose; it answers: Attempt, then Good at `version`. Feelers
    /// disconnect right after the handshake.
    fn connect(&mut self, out: &PlanOutcome) {
        if let Some(a) = &out.connect {
            let now = self.now_micros() / 1_000_000;
            self.addrman.attempt(&a.addr.service, a.count_failures, now);
            self.addrman.good(&a.addr.service, now);
            if a.conn_type != ConnectionType::Feeler {
                self.nodes.push(OutboundPeerInfo {
                    conn_type: a.conn_type,
                    addr: a.addr.service,
                    successfully_connected: true,
                    disconnect: false,
                });
            }
        }
    }

    fn groups(&self) -> Vec<Vec<u8>> {
        self.nodes
            .iter()
            .filter(|n| n.conn_type == ConnectionType::OutboundFullRelay)
            .map(|n| self.netgroupman.get_group(&n.addr.addr))
            .collect()
    }
}

/// 30 routable addresses (mapped to loopback listeners in the connman tests) in 12 /16 groups.
fn fill_30_in_12_groups(w: &World) {
    let source = CNetAddr::from_ipv4(Ipv4Addr::new(9, 9, 9, 9));
    let mut v = Vec::new();
    for i in 0..30u8 {
        let g = i % 12;
        v.push(CAddress::new(v4(11, g, i, 1, 18444), services(), T0 - 3600));
    }
    assert!(w.addrman.add(&v, &source, 0));
    assert_eq!(w.addrman.size(None, None), 30);
}

/// 8 full-relay outbound connections, never two in one network group; a dropped peer is
/// replaced (Core's ThreadOpenConnections with MAX_OUTBOUND_FULL_RELAY_CONNECTIONS = 8).
#[test]
fn eight_outbound_distinct_groups_and_refill() {
    let params = NetworkParams::get(Chain::Regtest);
    let mut w = World::new();
    fill_30_in_12_groups(&w);
    let cfg = OpenConnectionsConfig {
        dnsseed: false,
        fixedseeds: false,
        ..Default::default()
    };
    let mut planner = OpenConnectionsPlanner::new(cfg, w.now_micros(), 30, &mut w.rng);
    for _ in 0..40 {
        let out = w.plan(&mut planner, params);
        w.connect(&out);
        let g = w.groups();
        let distinct: BTreeSet<_> = g.iter().collect();
        assert_eq!(distinct.len(), g.len(), "two outbound peers in one group");
        w.clock.advance_micros(PASS);
    }
    assert_eq!(get_full_outbound_conn_count(&w.nodes), 8);
    // Outbound peers that answered moved to tried.
    assert!(w.addrman.size(None, Some(false)) >= 8);

    // A peer drops; the next passes replace it, still one per group.
    let dropped = w.nodes.remove(3);
    let mut refilled = false;
    for _ in 0..40 {
        // Advance past the 10-minute "recently tried" window so addresses are usable again.
        w.clock.advance(60);
        let out = w.plan(&mut planner, params);
        if let Some(a) = &out.connect {
            if a.conn_type == ConnectionType::OutboundFullRelay {
                refilled = true;
            }
        }
        w.connect(&out);
        let g = w.groups();
        let distinct: BTreeSet<_> = g.iter().collect();
        assert_eq!(distinct.len(), g.len());
        if refilled {
            break;
        }
    }
    assert!(refilled, "slot of {dropped:?} was not refilled");
    assert_eq!(get_full_outbound_conn_count(&w.nodes), 8);
}

/// Feelers: due on an exponential timer with a 2-minute mean once the 8 slots are full; each
/// feeler goes to a new-table address, which moves to tried when it answers.
#[test]
fn feelers_every_two_minutes_move_addresses_to_tried() {
    let params = NetworkParams::get(Chain::Regtest);
    let mut w = World::new();
    // Plenty of new-table addresses for feelers.
    let source = CNetAddr::from_ipv4(Ipv4Addr::new(9, 9, 9, 9));
    let v: Vec<CAddress> = (0..400u32)
        .map(|i| {
            let ip = Ipv4Addr::from(0x0c00_0000 + i * 1021);
            CAddress::new(
                CService::new(CNetAddr::from_ipv4(ip), 18444),
                services(),
                T0 - 3600,
            )
        })
        .collect();
    w.addrman.add(&v, &source, 0);
    // 8 outbound peers already up, in their own groups.
    for g in 0..8u8 {
        w.nodes.push(OutboundPeerInfo {
            conn_type: ConnectionType::OutboundFullRelay,
            addr: v4(13, g, 0, 1, 18444),
            successfully_connected: true,
            disconnect: false,
        });
    }
    let mut planner = OpenConnectionsPlanner::new(
        OpenConnectionsConfig::default(),
        w.now_micros(),
        400,
        &mut w.rng,
    );
    let tried_before = w.addrman.size(None, Some(false));
    let start = w.now_micros();
    let mut feeler_times = Vec::new();
    let hours = 3;
    for _ in 0..(hours * 3600 * 2) {
        w.clock.advance_micros(PASS);
        let out = w.plan(&mut planner, params);
        match out.due {
            Some(ConnectionType::Feeler) => {
                feeler_times.push(w.now_micros());
                let a = out.connect.as_ref().expect("a feeler address");
                assert_eq!(a.conn_type, ConnectionType::Feeler);
                assert!((0..1_000_000).contains(&a.sleep_before_micros));
                assert!(!w.nodes.iter().any(|n| n.addr == a.addr.service));
            }
            None => assert!(out.connect.is_none()),
            Some(other) => panic!("only feelers are due with 8 outbound peers, got {other:?}"),
        }
        w.connect(&out);
    }
    let n = feeler_times.len() as i64;
    let expected = hours * 3600 / 120;
    assert!(
        n > expected * 2 / 3 && n < expected * 3 / 2,
        "{n} feelers in {hours} h"
    );
    let mean_gap = (feeler_times[feeler_times.len() - 1] - start) / n;
    assert!(
        (90_000_000..150_000_000).contains(&mean_gap),
        "mean gap {mean_gap} µs"
    );
    assert!(w.addrman.size(None, Some(false)) >= tried_before + n as usize * 9 / 10);
}

fn collision_world() -> (World, CService, CService) {
    let mut w = World::new();
    let source = CNetAddr::from_ipv4(Ipv4Addr::new(252, 2, 2, 2));
    for i in 1..36u8 {
        let a = v4(250, 1, 1, i, 0);
        assert!(w
            .addrman
            .add(&[CAddress::new(a, services(), T0)], &source, 0));
        assert!(w.addrman.good(&a, T0));
    }
    // Five hours later 250.1.1.36 answers too and would evict 250.1.1.19 from tried.
    w.clock.advance(5 * 3600);
    let now = T0 + 5 * 3600;
    let a36 = v4(250, 1, 1, 36, 0);
    assert!(w
        .addrman
        .add(&[CAddress::new(a36, services(), now)], &source, 0));
    assert!(!w.addrman.good(&a36, now));
    let a19 = v4(250, 1, 1, 19, 0);
    assert_eq!(w.addrman.select_tried_collision().0.service, a19);
    for g in 0..8u8 {
        w.nodes.push(OutboundPeerInfo {
            conn_type: ConnectionType::OutboundFullRelay,
            addr: v4(13, g, 0, 1, 18444),
            successfully_connected: true,
            disconnect: false,
        });
    }
    (w, a19, a36)
}

fn next_feeler(
    w: &mut World,
    planner: &mut OpenConnectionsPlanner,
    params: &NetworkParams,
) -> PlanOutcome {
    for _ in 0..100_000 {
        w.clock.advance_micros(PASS);
        let out = w.plan(planner, params);
        if out.due == Some(ConnectionType::Feeler) {
            return out;
        }
    }
    panic!("no feeler became due");
}

/// Test-before-evict (Core: addrman_evictionworks + ThreadOpenConnections' feeler branch): the
/// feeler goes to the tried entry a collision would evict; if it answers, it stays and the
/// newcomer is dropped from the collision set.
#[test]
fn feeler_tests_before_evict_and_keeps_live_entry() {
    let params = NetworkParams::get(Chain::Regtest);
    let (mut w, a19, a36) = collision_world();
    let mut planner = OpenConnectionsPlanner::new(
        OpenConnectionsConfig::default(),
        w.now_micros(),
        36,
        &mut w.rng,
    );
    let out = next_feeler(&mut w, &mut planner, params);
    let a = out.connect.clone().expect("feeler");
    assert_eq!(
        a.addr.service, a19,
        "the feeler tests the tried entry first"
    );
    w.connect(&out); // 19 answers: Good
    w.addrman.resolve_collisions();
    assert!(!w.addrman.select_tried_collision().0.service.addr.is_valid());
    let pos36 = w
        .addrman
        .find_address_entry(&CAddress::new(a36, services(), 0))
        .unwrap();
    assert!(!pos36.tried, "the newcomer stays in new");
    let pos19 = w
        .addrman
        .find_address_entry(&CAddress::new(a19, services(), 0))
        .unwrap();
    assert!(pos19.tried);
}

/// … and if the tested entry does not answer, the newcomer replaces it after 60 s.
#[test]
fn feeler_failure_lets_newcomer_evict() {
    let params = NetworkParams::get(Chain::Regtest);
    let (mut w, a19, a36) = collision_world();
    let mut planner = OpenConnectionsPlanner::new(
        OpenConnectionsConfig::default(),
        w.now_micros(),
        36,
        &mut w.rng,
    );
    let out = next_feeler(&mut w, &mut planner, params);
    let a = out.connect.expect("feeler");
    assert_eq!(a.addr.service, a19);
    // The dial fails: only Attempt.
    w.addrman.attempt(
        &a.addr.service,
        a.count_failures,
        w.now_micros() / 1_000_000,
    );
    w.clock.advance(61);
    w.addrman.resolve_collisions();
    let pos36 = w
        .addrman
        .find_address_entry(&CAddress::new(a36, services(), 0))
        .unwrap();
    assert!(pos36.tried, "250.1.1.36 replaced the silent 250.1.1.19");
}

/// Fixed seeds (Core: "Adding fixed seeds as 60 seconds have passed…"): only after 60 s, only
/// while a reachable network has no address, only once; at once with -dnsseed=0 and no
/// -seednode/-addnode; never with -fixedseeds=0.
#[test]
fn fixed_seeds_only_when_empty_after_60s() {
    let params = NetworkParams::get(Chain::Main);
    let n_fixed = params.fixed_seeds().len();
    assert!(n_fixed > 0);

    let mut w = World::new();
    let mut planner = OpenConnectionsPlanner::new(
        OpenConnectionsConfig::default(),
        w.now_micros(),
        0,
        &mut w.rng,
    );
    for _ in 0..120 {
        w.clock.advance_micros(PASS); // up to exactly 60 s: not yet
        assert_eq!(w.plan(&mut planner, params).fixed_seeds_added, None);
    }
    assert_eq!(w.addrman.size(None, None), 0);
    w.clock.advance(1);
    let added = w
        .plan(&mut planner, params)
        .fixed_seeds_added
        .expect("added after 60 s");
    assert!(added > 0 && added <= n_fixed);
    assert!(w.addrman.size(None, None) > 0);
    let entry = w.addrman.get_entries(false).into_iter().next().unwrap().0;
    assert_eq!(entry.source, CNetAddr::from_internal("fixedseeds").unwrap());
    assert_eq!(entry.addr.n_services, params.seeds_services);
    // Only once.
    w.clock.advance(120);
    assert_eq!(w.plan(&mut planner, params).fixed_seeds_added, None);

    // -dnsseed=0 without -seednode / -addnode: at once.
    let mut w = World::new();
    let cfg = OpenConnectionsConfig {
        dnsseed: false,
        ..Default::default()
    };
    let mut planner = OpenConnectionsPlanner::new(cfg, w.now_micros(), 0, &mut w.rng);
    assert!(w.plan(&mut planner, params).fixed_seeds_added.is_some());

    // -fixedseeds=0: never.
    let mut w = World::new();
    let cfg = OpenConnectionsConfig {
        fixedseeds: false,
        dnsseed: false,
        ..Default::default()
    };
    let mut planner = OpenConnectionsPlanner::new(cfg, w.now_micros(), 0, &mut w.rng);
    w.clock.advance(3600);
    assert_eq!(w.plan(&mut planner, params).fixed_seeds_added, None);

    // Addresses in every reachable network (only IPv4 reachable here): never.
    let mut w = World::new();
    w.reachable.remove_all();
    w.reachable.add(Network::IPv4);
    fill_30_in_12_groups(&w);
    let mut planner = OpenConnectionsPlanner::new(
        OpenConnectionsConfig::default(),
        w.now_micros(),
        30,
        &mut w.rng,
    );
    w.clock.advance(3600);
    assert_eq!(w.plan(&mut planner, params).fixed_seeds_added, None);
}

/// -seednode: with an empty addrman the first seed node is handed to addr-fetch at once; the
/// next one after 10 s more without 2 outbound peers.
#[test]
fn seednodes_go_to_addr_fetch() {
    let params = NetworkParams::get(Chain::Regtest);
    let mut w = World::new();
    let cfg = OpenConnectionsConfig {
        seed_nodes: vec!["a.example:1".into(), "b.example:2".into()],
        fixedseeds: false,
        ..Default::default()
    };
    let mut planner = OpenConnectionsPlanner::new(cfg, w.now_micros(), 0, &mut w.rng);
    assert_eq!(planner.take_seed_node(0).as_deref(), Some("b.example:2"));
    assert_eq!(planner.take_seed_node(0), None);
    for _ in 0..20 {
        w.clock.advance_micros(PASS);
        w.plan(&mut planner, params);
        assert_eq!(planner.take_seed_node(0), None, "not before 10 s");
    }
    w.clock.advance_micros(PASS);
    w.plan(&mut planner, params);
    assert_eq!(planner.take_seed_node(0).as_deref(), Some("a.example:1"));
}

/// Invariants over many random worlds: a full-relay choice is never in the group of an
/// existing manual/full-relay/block-relay peer, never unreachable, never our own address, never
/// an `-addnode` peer; failures count only once 2 outbound groups are up (Core's
/// `count_failures`).
#[test]
fn selection_invariants_random_worlds() {
    use rand_chacha::rand_core::RngCore;
    let params = NetworkParams::get(Chain::Regtest);
    for seed in 0..40u64 {
        let mut w = World::new();
        w.rng = ChaCha20Rng::seed_from_u64(seed);
        let mut r = ChaCha20Rng::seed_from_u64(1000 + seed);
        let source = CNetAddr::from_ipv4(Ipv4Addr::new(9, 9, 9, 9));
        let n_groups = 1 + (r.next_u32() % 20) as u8;
        let v: Vec<CAddress> = (0..60u32)
            .map(|i| {
                let g = (r.next_u32() % u32::from(n_groups)) as u8;
                CAddress::new(
                    v4(11, g, (i % 250) as u8, 1 + (i / 250) as u8, 18444),
                    services(),
                    T0 - 3600,
                )
            })
            .collect();
        w.addrman.add(&v, &source, 0);
        // Existing peers: some manual, some full-relay, one inbound and one feeler (ignored).
        let n_existing = (r.next_u32() % 6) as u8;
        for k in 0..n_existing {
            let t = if k % 2 == 0 {
                ConnectionType::Manual
            } else {
                ConnectionType::OutboundFullRelay
            };
            w.nodes.push(OutboundPeerInfo {
                conn_type: t,
                addr: v4(11, k, 200, 1, 18444),
                successfully_connected: true,
                disconnect: false,
            });
        }
        w.nodes.push(OutboundPeerInfo {
            conn_type: ConnectionType::Inbound,
            addr: v4(11, 19, 201, 1, 5555),
            successfully_connected: true,
            disconnect: false,
        });
        let own = v4(11, 5, 5, 1, 18444);
        let addnode = v4(11, 6, 6, 1, 18444);
        let existing_groups: HashSet<Vec<u8>> = w
            .nodes
            .iter()
            .filter(|n| n.conn_type != ConnectionType::Inbound)
            .map(|n| w.netgroupman.get_group(&n.addr.addr))
            .collect();
        let mut planner = OpenConnectionsPlanner::new(
            OpenConnectionsConfig::default(),
            w.now_micros(),
            60,
            &mut w.rng,
        );
        let ctx = PlanContext {
            addrman: &w.addrman,
            netgroupman: &w.netgroupman,
            reachable: &w.reachable,
            params,
            is_local: &|s| *s == own,
            added_nodes_contain: &|a| a.service == addnode,
            added_node_params_empty: false,
            already_connected_to_address: &|_| false,
        };
        let out = planner.plan(w.clock.now_micros(), &w.nodes, &ctx, &mut w.rng);
        let full = w
            .nodes
            .iter()
            .filter(|n| n.conn_type == ConnectionType::OutboundFullRelay)
            .count();
        assert_eq!(
            out.due,
            Some(ConnectionType::OutboundFullRelay),
            "seed {seed}: {full} full-relay peers"
        );
        if let Some(a) = out.connect {
            let g = w.netgroupman.get_group(&a.addr.service.addr);
            assert!(
                !existing_groups.contains(&g),
                "seed {seed}: second outbound in a group"
            );
            assert_ne!(a.addr.service, own);
            assert_ne!(a.addr.service, addnode);
            assert_eq!(a.count_failures, existing_groups.len() >= 2, "seed {seed}");
        } else {
            // Nothing usable: every group of addrman is taken (or only own/addnode remain).
            let free_groups: HashSet<Vec<u8>> = v
                .iter()
                .filter(|a| a.service != own && a.service != addnode)
                .map(|a| w.netgroupman.get_group(&a.service.addr))
                .filter(|g| !existing_groups.contains(g))
                .collect();
            assert!(
                free_groups.len() <= 2,
                "seed {seed}: {} free groups but no choice",
                free_groups.len()
            );
        }
    }
}

/// Runs `f` on another thread and fails (instead of hanging) if it does not return in 10 s.
fn bounded<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(std::time::Duration::from_secs(10))
        .expect("did not return within 10 s: unbounded loop")
}

/// An addrman whose every address is unusable (here: each one an -addnode peer, or each one
/// lacking the desirable services): one pass makes exactly MAX_SELECT_TRIES (100) selections
/// and ends with no connection, as Core's `if (nTries > 100) break;`; the feeler pass too.
/// Guards the open-connections loop against spinning on an addrman of unusable entries.
/// Mirrors net.cpp: CConnman::ThreadOpenConnections (nTries cap).
#[test]
fn pass_with_only_unusable_addresses_stops_after_100_tries() {
    use net::open_connections::MAX_SELECT_TRIES;
    use std::sync::atomic::{AtomicUsize, Ordering};
    for case in [
        "all addnode peers",
        "no desirable services",
        "feeler, all addnode",
    ] {
        let (tries, out) = bounded(move || {
            let mut w = World::new();
            let services = if case == "no desirable services" {
                ServiceFlags(0)
            } else {
                services()
            };
            let source = CNetAddr::from_ipv4(Ipv4Addr::new(9, 9, 9, 9));
            let v: Vec<CAddress> = (0..40u8)
                .map(|i| CAddress::new(v4(11, i, 1, 1, 18444), services, T0 - 3600))
                .collect();
            w.addrman.add(&v, &source, 0);
            if case.starts_with("feeler") {
                // Full-relay slots filled (by peers in other groups), feeler timer due.
                for i in 0..8u8 {
                    w.nodes.push(OutboundPeerInfo {
                        conn_type: ConnectionType::OutboundFullRelay,
                        addr: v4(12, i, 1, 1, 18444),
                        successfully_connected: true,
                        disconnect: false,
                    });
                }
            }
            let params = NetworkParams::get(Chain::Regtest);
            let mut planner = OpenConnectionsPlanner::new(
                OpenConnectionsConfig {
                    dnsseed: false,
                    fixedseeds: false,
                    ..OpenConnectionsConfig::default()
                },
                w.now_micros(),
                w.addrman.size(None, None),
                &mut w.rng,
            );
            if case.starts_with("feeler") {
                planner.next_feeler = 0;
            }
            let tries = AtomicUsize::new(0);
            let count_tries = |_: &CService| {
                tries.fetch_add(1, Ordering::SeqCst);
                false
            };
            let now = w.now_micros();
            let ctx = PlanContext {
                addrman: &w.addrman,
                netgroupman: &w.netgroupman,
                reachable: &w.reachable,
                params,
                is_local: &count_tries,
                added_nodes_contain: &|_| case != "no desirable services",
                added_node_params_empty: false,
                already_connected_to_address: &|_| false,
            };
            let out = planner.plan(now, &w.nodes, &ctx, &mut w.rng);
            (tries.load(Ordering::SeqCst), out)
        });
        assert_eq!(
            tries, MAX_SELECT_TRIES as usize,
            "{case}: tries in one pass"
        );
        assert_eq!(out.connect, None, "{case}");
        let due = if case.starts_with("feeler") {
            ConnectionType::Feeler
        } else {
            ConnectionType::OutboundFullRelay
        };
        assert_eq!(out.due, Some(due), "{case}");
    }
}

/// `Select` returns at once, with no address, when no entry of the asked networks (or of the
/// new table, for `new_only`) exists: it never loops over a table without candidates.
/// Mirrors addrman_tests.cpp: addrman_select_by_network and addrman_select (Core's Select_
/// early returns).
#[test]
fn addrman_tests__select_returns_when_no_candidate_exists() {
    let (a, b) = bounded(|| {
        let w = World::new();
        let empty = w.addrman.select(false, &HashSet::new()).0;
        let source = CNetAddr::from_ipv4(Ipv4Addr::new(9, 9, 9, 9));
        let only = v4(11, 1, 1, 1, 18444);
        w.addrman
            .add(&[CAddress::new(only, services(), T0 - 3600)], &source, 0);
        let v6 = w.addrman.select(false, &HashSet::from([Network::IPv6])).0;
        w.addrman.good(&only, T0);
        let new_only = w.addrman.select(true, &HashSet::new()).0;
        let any = w.addrman.select(false, &HashSet::new()).0;
        ((empty, v6, new_only), any)
    });
    assert!(!a.0.service.addr.is_valid(), "empty addrman");
    assert!(!a.1.service.addr.is_valid(), "no IPv6 entry");
    assert!(
        !a.2.service.addr.is_valid(),
        "new_only with only a tried entry"
    );
    assert_eq!(b.service, v4(11, 1, 1, 1, 18444));
}
