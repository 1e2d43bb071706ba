//! Peer discovery end to end, on loopback only: the "opencon", "dnsseed" and scheduler work of a
//! running [`net::CConnman`]. Routable addresses (11.0.0.0/8, one /16 per group) are mapped to
//! loopback listeners of test nodes through the connector seam; the loopback-only guard stays on
//! in every node, so anything not in the map is refused before a socket is opened.
//!
//! Mirrors Core's functional tests p2p_seednode.py, feature_config_args.py (fixed seeds and DNS
//! seed timing), p2p_add_connections.py / p2p_addrfetch.py (addr-fetch disconnects after `addr`)
//! and the outbound rules of net.cpp's ThreadOpenConnections.

mod common;
#[path = "support/dns_responder.rs"]
mod dns_responder;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use addrman::AddrMan;
use common::*;
use dns_responder::DnsResponder;
use net::connection_type::ConnectionType;
use net::connector::Connector;
use net::connman::{DumpAddressesHook, SharedResolver};
use net::dnsseed::{DnsResolver, HickoryResolver};
use net::{AcceptAll, CConnman, Clock, MockClock, Options};
use netbase::{CNetAddr, CService, NetGroupManager};
use protocol::{CAddress, Chain, NetworkParams, ServiceFlags};

// ---------------------------------------------------------------- helpers

/// A connector that maps listed addresses to loopback listeners and records every address
/// the node asked to dial (the node wraps it in the loopback-only guard).
#[derive(Clone, Default)]
struct RecordingConnector {
    map: Vec<(CService, SocketAddr)>,
    asked: Arc<Mutex<Vec<CService>>>,
}

impl Connector for RecordingConnector {
    fn target(&self, addr: &CService) -> Option<SocketAddr> {
        self.asked.lock().unwrap().push(*addr);
        self.map
            .iter()
            .find(|(a, _)| a == addr)
            .map(|(_, t)| *t)
            .or_else(|| addr.to_socket_addr())
    }
}

impl RecordingConnector {
    fn asked(&self) -> Vec<CService> {
        self.asked.lock().unwrap().clone()
    }
    fn is_mapped(&self, a: &CService) -> bool {
        self.map.iter().any(|(m, _)| m == a)
    }
}

/// Start a node whose addrman is filled by `fill` and whose connector is `conn`, both before
/// the threads start.
fn start_dialer(
    chain: Chain,
    opts: Options,
    conn: &RecordingConnector,
    fill: impl FnOnce(&AddrMan),
) -> TestNode {
    start_node_prepared(chain, opts, Arc::new(AcceptAll), |addrman, connman| {
        fill(addrman);
        connman.set_connector(conn.clone());
    })
}

fn logos_services() -> ServiceFlags {
    NetworkParams::get(Chain::LogosRegtest).desirable_services
}

fn v4(a: u8, b: u8, c: u8, d: u8, port: u16) -> CService {
    CService::new(CNetAddr::from_ipv4(Ipv4Addr::new(a, b, c, d)), port)
}

/// `n` routable addresses in `groups` distinct /16 groups (11.<g+1>.0.<k+1>:8000+k).
fn grouped_addresses(n: usize, groups: usize) -> Vec<CService> {
    (0..n)
        .map(|i| {
            let g = (i % groups) as u8;
            let k = (i / groups) as u8;
            v4(11, g + 1, 0, k + 1, 8000 + u16::from(k))
        })
        .collect()
}

fn add_all(am: &AddrMan, addrs: &[CService], services: ServiceFlags) {
    let v: Vec<CAddress> = addrs
        .iter()
        .map(|a| CAddress::new(*a, services, T0 - 3600))
        .collect();
    am.add(&v, &CNetAddr::from_ipv4(Ipv4Addr::new(11, 200, 0, 1)), 0);
}

fn outbound_of(node: &TestNode, t: ConnectionType) -> Vec<CService> {
    node.connman
        .get_node_stats()
        .into_iter()
        .filter(|s| s.m_conn_type == t && s.f_successfully_connected)
        .map(|s| s.addr)
        .collect()
}

fn group(a: &CService) -> Vec<u8> {
    NetGroupManager::new().get_group(&a.addr)
}

/// Every address the node asked to dial outside the map was refused by the loopback guard and
/// never became a peer. Call it after the node stopped, with the log taken after the stop:
/// the connector records an address before the guard logs its refusal.
fn assert_unmapped_never_dialled(node: &TestNode, conn: &RecordingConnector, lines: &[String]) {
    let ever: HashSet<CService> = node
        .connman
        .disconnect_log()
        .into_iter()
        .map(|r| r.addr)
        .chain(node.connman.get_node_stats().into_iter().map(|s| s.addr))
        .collect();
    for a in conn.asked() {
        if conn.is_mapped(&a) || a.addr.is_local() {
            continue;
        }
        assert!(!ever.contains(&a), "unmapped {a} became a peer");
        let needle = format!("(for {})", a.to_string_addr_port());
        assert!(
            lines
                .iter()
                .any(|l| l.contains("refusing to dial non-loopback") && l.contains(&needle)),
            "no guard refusal logged for {a}"
        );
    }
}

/// Twelve listening nodes, 30 addresses in 12 groups mapped to them (group g → node g).
fn mapped_world() -> (Vec<TestNode>, Vec<CService>, RecordingConnector) {
    let peers: Vec<TestNode> = (0..12)
        .map(|_| start_node(Chain::LogosRegtest, Arc::new(AcceptAll)))
        .collect();
    let addrs = grouped_addresses(30, 12);
    let map = addrs
        .iter()
        .enumerate()
        .map(|(i, a)| (*a, peers[i % 12].addr()))
        .collect();
    let conn = RecordingConnector {
        map,
        ..Default::default()
    };
    (peers, addrs, conn)
}

fn auto_options() -> Options {
    Options {
        use_addrman_outgoing: true,
        dnsseed: false,
        fixedseeds: false,
        ..test_options()
    }
}

// ---------------------------------------------------------------- outbound

/// 30 addresses in 12 groups behind the connector map: the node reaches 8 full-relay
/// outbound connections, never two in one group, refills after a peer drops, and feelers
/// (every 2 min on the mock clock) move answered addresses to the tried table.
/// Mirrors net.cpp: CConnman::ThreadOpenConnections (outbound rules, feelers).
#[test]
fn eight_outbound_one_per_group_refill_and_feelers() {
    let _g = log_lock();
    let (_peers, addrs, conn) = mapped_world();
    let node = start_dialer(Chain::LogosRegtest, auto_options(), &conn, |am| {
        add_all(am, &addrs, logos_services())
    });
    let mut max_seen = 0;
    let reached = wait_until(Duration::from_secs(30), || {
        let out = outbound_of(&node, ConnectionType::OutboundFullRelay);
        let groups: BTreeSet<Vec<u8>> = out.iter().map(group).collect();
        assert_eq!(
            groups.len(),
            out.len(),
            "two outbound peers in one group: {out:?}"
        );
        max_seen = max_seen.max(out.len());
        out.len() == 8
    });
    assert!(reached, "reached {max_seen} outbound, not 8");
    assert!(conn.asked().iter().all(|a| conn.is_mapped(a)));

    // A peer drops: the slot is refilled, still one per group.
    let stats = node.connman.get_node_stats();
    let victim = stats
        .iter()
        .find(|s| s.m_conn_type == ConnectionType::OutboundFullRelay)
        .expect("an outbound peer");
    assert!(node.connman.disconnect_node_by_id(victim.nodeid));
    let vid = victim.nodeid;
    assert!(wait_until(Duration::from_secs(30), || {
        let s = node.connman.get_node_stats();
        !s.iter().any(|x| x.nodeid == vid)
            && outbound_of(&node, ConnectionType::OutboundFullRelay).len() == 8
    }));
    let out = outbound_of(&node, ConnectionType::OutboundFullRelay);
    assert_eq!(out.iter().map(group).collect::<BTreeSet<_>>().len(), 8);

    // Feelers: every outbound peer is in tried (Good after its version); the feelers test
    // addresses of the new table and move those that answer to tried.
    let tried_before = node.addrman.size(None, Some(false));
    assert!(tried_before >= 8, "outbound peers moved to tried");
    let m = log_mark();
    let mut moved = false;
    for _ in 0..12 {
        node.advance(150);
        if wait_until(Duration::from_secs(3), || {
            node.addrman.size(None, Some(false)) > tried_before
        }) {
            moved = true;
            break;
        }
    }
    let lines = log_since(m);
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("[net] Making feeler connection to 11.")),
        "no feeler made"
    );
    assert!(moved, "no feeler moved an address to tried");
    assert!(lines
        .iter()
        .any(|l| l.contains("feeler connection completed")));
    assert!(conn.asked().iter().all(|a| conn.is_mapped(a)));
    node.connman.stop();
}

/// `-connect=<addr>`: only that address is dialled (a manual connection), never addrman's;
/// `-connect=0`: no outbound connection at all. Mirrors Core's ThreadOpenConnections
/// (`-connect` branch) and CConnman::Start.
#[test]
fn connect_only_and_connect_zero() {
    let (peers, addrs, conn) = mapped_world();
    let target = &peers[0];
    let opts = Options {
        connect: vec![format!("127.0.0.1:{}", target.port)],
        ..test_options()
    };
    let node = start_dialer(Chain::LogosRegtest, opts, &conn, |am| {
        add_all(am, &addrs, logos_services())
    });
    assert!(wait_until(Duration::from_secs(10), || {
        outbound_of(&node, ConnectionType::Manual).len() == 1
    }));
    std::thread::sleep(Duration::from_millis(1500));
    let stats = node.connman.get_node_stats();
    assert_eq!(stats.len(), 1, "only the -connect peer");
    assert_eq!(stats[0].m_conn_type, ConnectionType::Manual);
    assert_eq!(stats[0].addr, v4(127, 0, 0, 1, target.port));
    assert!(conn.asked().iter().all(|a| a.addr.is_local()));
    node.connman.stop();

    // -connect=0: no automatic outbound, nothing dialled.
    let conn0 = RecordingConnector {
        map: conn.map.clone(),
        ..Default::default()
    };
    let node0 = start_dialer(Chain::LogosRegtest, test_options(), &conn0, |am| {
        add_all(am, &addrs, logos_services())
    });
    std::thread::sleep(Duration::from_millis(2000));
    node0.advance(600);
    std::thread::sleep(Duration::from_millis(1000));
    assert!(node0.connman.get_node_stats().is_empty());
    assert!(conn0.asked().is_empty());
    node0.connman.stop();

    // Both at once is refused, as Core's Start refuses it.
    let both = Options {
        connect: vec![format!("127.0.0.1:{}", target.port)],
        use_addrman_outgoing: true,
        ..test_options()
    };
    let cm = CConnman::new(
        both,
        NetworkParams::get(Chain::LogosRegtest),
        Arc::new(MockClock::new(T0)),
        None,
        None,
        Arc::new(AcceptAll),
    )
    .expect("connman");
    assert!(cm.start().is_err());
}

/// `-addnode=<mapped address>`: kept as a manual connection by "addcon"; the automatic
/// selection never opens a full-relay connection to it. Mirrors Core's AddedNodesContain use
/// in ThreadOpenConnections.
#[test]
fn addnode_is_manual_and_not_automatic() {
    let (_peers, addrs, conn) = mapped_world();
    let added = addrs[0];
    let opts = Options {
        add_nodes: vec![added.to_string_addr_port()],
        ..auto_options()
    };
    let node = start_dialer(Chain::LogosRegtest, opts, &conn, |am| {
        add_all(am, &addrs, logos_services())
    });
    assert!(wait_until(Duration::from_secs(30), || {
        outbound_of(&node, ConnectionType::Manual) == vec![added]
            && outbound_of(&node, ConnectionType::OutboundFullRelay).len() == 8
    }));
    assert!(!outbound_of(&node, ConnectionType::OutboundFullRelay).contains(&added));
    node.connman.stop();
}

/// `-seednode`: with an empty addrman the seed node gets an address-fetch connection, is sent
/// `getaddr`, and is disconnected after its `addr`; the addresses it gave are stored but,
/// being outside the connector map, never dialled (the guard refuses them).
/// Mirrors p2p_seednode.py and p2p_addrfetch.py.
#[test]
fn seednode_addr_fetch_disconnects_after_addr() {
    let _g = log_lock();
    let seed = start_node(Chain::LogosRegtest, Arc::new(AcceptAll));
    let learned: Vec<CService> = (0..40).map(|i| v4(11, 60 + i, 1, 1, 14497)).collect();
    add_all(&seed.addrman, &learned, logos_services());
    let conn = RecordingConnector::default();
    let opts = Options {
        seed_nodes: vec![format!("127.0.0.1:{}", seed.port)],
        ..auto_options()
    };
    let m = log_mark();
    let node = start_dialer(Chain::LogosRegtest, opts, &conn, |_| {});
    let seed_addr = v4(127, 0, 0, 1, seed.port);
    let completed = |n: &TestNode| {
        n.connman.disconnect_log().iter().any(|r| {
            r.addr == seed_addr && r.reason == net::disconnect::DisconnectReason::AddrFetchCompleted
        })
    };
    // The seed answers getaddr on its address-broadcast timer: move its clock if needed.
    let mut done = wait_until(Duration::from_secs(5), || completed(&node));
    for _ in 0..10 {
        if done {
            break;
        }
        seed.advance(60);
        done = wait_until(Duration::from_secs(2), || completed(&node));
    }
    assert!(done, "addr-fetch peer not disconnected after addr");
    let stored: Vec<CService> = node
        .addrman
        .get_entries(false)
        .into_iter()
        .map(|(i, _)| i.addr.service)
        .collect();
    assert!(stored.len() >= 2, "addresses from the seed node stored");
    assert!(stored.iter().all(|a| learned.contains(a)));
    // Let "opencon" try them: every one is refused by the loopback guard.
    assert!(wait_until(Duration::from_secs(10), || conn
        .asked()
        .iter()
        .any(|a| learned.contains(a))));
    std::thread::sleep(Duration::from_millis(1000));
    let lines = log_since(m);
    assert!(lines
        .iter()
        .any(|l| l.contains("Empty addrman, adding seednode")));
    // Stop first: "opencon" keeps selecting, and an address asked for after the log snapshot
    // would have its refusal line after it.
    node.connman.stop();
    assert_unmapped_never_dialled(&node, &conn, &log_since(m));
}

// ---------------------------------------------------------------- DNS seeds

/// A resolver recording (mock time, name) of each lookup.
struct TimedResolver {
    inner: HickoryResolver,
    clock: Arc<MockClock>,
    log: Mutex<Vec<(i64, String)>>,
}

impl DnsResolver for TimedResolver {
    fn lookup(&self, host: &str) -> std::io::Result<Vec<IpAddr>> {
        self.log
            .lock()
            .unwrap()
            .push((self.clock.now_secs(), host.to_owned()));
        self.inner.lookup(host)
    }
}

fn main_seed_responder() -> (DnsResponder, Vec<String>) {
    let params = NetworkParams::get(Chain::Main);
    let mut records = HashMap::new();
    for (i, s) in params.dns_seeds.iter().enumerate() {
        records.insert(
            format!("x9.{s}"),
            vec![
                IpAddr::V4(Ipv4Addr::new(11, 100 + i as u8, 0, 1)),
                IpAddr::V4(Ipv4Addr::new(11, 150 + i as u8, 0, 2)),
            ],
        );
    }
    let names = params.dns_seeds.iter().map(|s| (*s).to_owned()).collect();
    (DnsResponder::start(records), names)
}

/// Start a Main-network node with a few addresses, the DNS resolver pointed at the loopback
/// responder through a recording wrapper.
fn dns_node(
    dnsseed: bool,
    dns: &DnsResponder,
    clock_for_resolver: &Arc<MockClock>,
) -> (TestNode, Arc<TimedResolver>) {
    let resolver = Arc::new(TimedResolver {
        inner: HickoryResolver::with_nameserver(dns.addr()).expect("resolver"),
        clock: clock_for_resolver.clone(),
        log: Mutex::new(Vec::new()),
    });
    let opts = Options {
        dnsseed,
        dns_resolver: Some(SharedResolver(resolver.clone())),
        ..test_options()
    };
    let conn = RecordingConnector::default();
    let few: Vec<CService> = (0..10).map(|i| v4(11, 30 + i, 0, 1, 8333)).collect();
    let node = start_dialer(Chain::Main, opts, &conn, |am| {
        add_all(am, &few, NetworkParams::get(Chain::Main).seeds_services)
    });
    (node, resolver)
}

/// DNS seeding against a DNS responder on 127.0.0.1 under the mock clock: with a few
/// addresses known, the first three seeds are queried at 11 s (not before), at the `x9.`
/// service subdomain, and their answers are stored with the queried name as source.
/// Mirrors Core's ThreadDNSAddressSeed timing (DNSSEEDS_DELAY_FEW_PEERS).
#[test]
fn dns_seeds_queried_at_11s_with_seed_as_source() {
    let (dns, _names) = main_seed_responder();
    // The node's clock is created inside start_dialer; share it through the resolver after.
    let placeholder = Arc::new(MockClock::new(T0));
    let (node, resolver) = dns_node(true, &dns, &placeholder);
    // Keep the resolver's clock in step with the node's.
    let sync = |n: &TestNode, secs: i64| {
        n.advance(secs);
        placeholder.set(n.clock.now_secs());
    };
    std::thread::sleep(Duration::from_millis(800));
    assert!(
        resolver.log.lock().unwrap().is_empty(),
        "queried before 11 s"
    );
    sync(&node, 10);
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        resolver.log.lock().unwrap().is_empty(),
        "queried before 11 s"
    );
    sync(&node, 1);
    assert!(wait_until(Duration::from_secs(10), || resolver
        .log
        .lock()
        .unwrap()
        .len()
        >= 3));
    std::thread::sleep(Duration::from_millis(300));
    let log = resolver.log.lock().unwrap().clone();
    assert_eq!(log.len(), 3, "three seeds at once: {log:?}");
    for (t, host) in &log {
        assert_eq!(*t, T0 + 11, "queried at 11 s");
        assert!(host.starts_with("x9."), "{host}");
    }
    for (_, host) in &log {
        let source = CNetAddr::from_internal(host).expect("internal source");
        let stored = || {
            node.addrman
                .get_entries(false)
                .into_iter()
                .filter(|(i, _)| i.source == source)
                .count()
        };
        // Two answers per seed; addrman may drop one on a (deterministic) new-table
        // bucket collision, so at least one is stored.
        assert!(
            wait_until(Duration::from_secs(10), || stored() >= 1),
            "answers of {host} stored with the seed as source"
        );
    }
    // Every stored seed answer carries the name it was queried under as its source.
    let hosts: Vec<String> = log.iter().map(|(_, h)| h.clone()).collect();
    let params = NetworkParams::get(Chain::Main);
    for (info, _) in node.addrman.get_entries(false) {
        let a = info.addr.service.addr.to_string_addr();
        let octet: u8 = a
            .split('.')
            .nth(1)
            .and_then(|x| x.parse().ok())
            .unwrap_or(0);
        if octet >= 100 {
            let idx = usize::from(if octet >= 150 {
                octet - 150
            } else {
                octet - 100
            });
            let host = format!("x9.{}", params.dns_seeds[idx]);
            assert!(hosts.contains(&host), "{a} from a seed not queried yet");
            assert_eq!(
                info.source,
                CNetAddr::from_internal(&host).expect("internal")
            );
            assert_eq!(info.addr.service.port, params.default_port);
            assert_eq!(info.addr.n_services, params.seeds_services);
        }
    }
    assert!(dns.queries().iter().all(|(n, _)| n.starts_with("x9.")));
    node.connman.stop();
}

/// `-dnsseed=0`: no DNS query at all, and Core's "DNS seeding disabled" line.
#[test]
fn no_dns_query_with_dnsseed_0() {
    let _g = log_lock();
    let m = log_mark();
    let (dns, _) = main_seed_responder();
    let clock = Arc::new(MockClock::new(T0));
    let (node, resolver) = dns_node(false, &dns, &clock);
    for _ in 0..4 {
        node.advance(30);
        std::thread::sleep(Duration::from_millis(300));
    }
    assert!(resolver.log.lock().unwrap().is_empty());
    assert!(dns.queries().is_empty());
    assert!(log_since(m).iter().any(|l| l == "DNS seeding disabled"));
    node.connman.stop();
}

// ---------------------------------------------------------------- fixed seeds

/// Fixed seeds are added only when a reachable network is still empty after 60 s (with DNS
/// seeding on, so not at once), with the source "fixedseeds"; they are stored but, outside
/// the connector map, never dialled. A node whose DB holds IPv4 and IPv6 addresses adds none.
/// Mirrors feature_config_args.py (fixed seeds after 60 s) and ThreadOpenConnections.
#[test]
fn fixed_seeds_only_when_empty_after_60s() {
    let _g = log_lock();
    let m = log_mark();
    let conn = RecordingConnector::default();
    let opts = Options {
        use_addrman_outgoing: true,
        dnsseed: true,
        fixedseeds: true,
        ..test_options()
    };
    let node = start_dialer(Chain::Main, opts, &conn, |_| {});
    node.advance(30);
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        node.addrman.size(None, None),
        0,
        "no fixed seeds before 60 s"
    );
    node.advance(31);
    assert!(wait_until(Duration::from_secs(10), || node
        .addrman
        .size(None, None)
        > 0));
    let source = CNetAddr::from_internal("fixedseeds").expect("internal");
    let entries = node.addrman.get_entries(false);
    assert!(entries.iter().all(|(i, _)| i.source == source));
    // opencon now selects them; the loopback guard refuses every one.
    assert!(wait_until(Duration::from_secs(10), || !conn
        .asked()
        .is_empty()));
    std::thread::sleep(Duration::from_millis(1000));
    node.connman.stop();
    let lines = log_since(m);
    assert!(lines.iter().any(|l| l
        == "Adding fixed seeds as 60 seconds have passed and addrman is empty for at least one reachable network"));
    assert_unmapped_never_dialled(&node, &conn, &lines);

    // Addresses of both reachable networks known: no fixed seeds, even after 60 s.
    let conn2 = RecordingConnector::default();
    let opts2 = Options {
        use_addrman_outgoing: true,
        dnsseed: true,
        fixedseeds: true,
        ..test_options()
    };
    let v6 = CService::new(
        CNetAddr::from_ipv6(Ipv6Addr::new(0x2a00, 0x1450, 0, 0, 0, 0, 0, 7), 0),
        8333,
    );
    let node2 = start_dialer(Chain::Main, opts2, &conn2, |am| {
        add_all(am, &[v4(11, 9, 9, 9, 8333), v6], ServiceFlags(9))
    });
    node2.advance(61);
    std::thread::sleep(Duration::from_millis(1500));
    node2.advance(60);
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(node2.addrman.size(None, None), 2, "no fixed seeds added");
    node2.connman.stop();
}

// ---------------------------------------------------------------- address dump

/// The address DB is handed to the dump hook every 15 minutes on the scheduler thread
/// (DUMP_PEERS_INTERVAL) and once at stop, with Core's log line.
/// Mirrors net.cpp: CConnman::Start (scheduleEvery DumpAddresses) and CConnman::StopNodes.
#[test]
fn dump_hook_every_15_min_and_at_stop() {
    let _g = log_lock();
    let m = log_mark();
    let calls = Arc::new(AtomicUsize::new(0));
    let threads = Arc::new(Mutex::new(Vec::new()));
    let (c2, t2) = (calls.clone(), threads.clone());
    let opts = Options {
        on_dump_addresses: Some(DumpAddressesHook(Arc::new(move |am: &AddrMan| {
            assert_eq!(am.size(None, None), 3);
            t2.lock()
                .unwrap()
                .push(std::thread::current().name().map(str::to_owned));
            c2.fetch_add(1, Ordering::SeqCst);
        }))),
        ..test_options()
    };
    let conn = RecordingConnector::default();
    let node = start_dialer(Chain::LogosRegtest, opts, &conn, |am| {
        add_all(am, &grouped_addresses(3, 3), logos_services())
    });
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(calls.load(Ordering::SeqCst), 0);
    node.advance(15 * 60);
    assert!(wait_until(Duration::from_secs(5), || calls
        .load(Ordering::SeqCst)
        == 1));
    node.advance(14 * 60);
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "not before 15 more minutes"
    );
    node.advance(60);
    assert!(wait_until(Duration::from_secs(5), || calls
        .load(Ordering::SeqCst)
        == 2));
    node.connman.stop();
    assert_eq!(calls.load(Ordering::SeqCst), 3, "dumped at stop");
    let names = threads.lock().unwrap().clone();
    assert_eq!(names[0].as_deref(), Some("scheduler"));
    assert_eq!(names[1].as_deref(), Some("scheduler"));
    let flushed = log_since(m)
        .into_iter()
        .filter(|l| l.starts_with("[net] Flushed 3 addresses to peers.dat  ") && l.ends_with("ms"))
        .count();
    assert_eq!(flushed, 3);
}
