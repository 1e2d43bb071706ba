//! DNS seeding (Core's ThreadDNSAddressSeed) end to end: `net::dnsseed::thread_dns_address_seed`
//! under a mock clock, resolving through `HickoryResolver` pointed at a DNS responder this
//! test runs on 127.0.0.1.
#![allow(non_snake_case)]

#[path = "support/dns_responder.rs"]
mod dns_responder;

use std::cell::RefCell;
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use addrman::AddrMan;
use dns_responder::DnsResponder;
use net::dnsseed::{
    thread_dns_address_seed, DnsResolver, DnsSeedConfig, DnsSeedEnv, DnsSeedPlanner,
    HickoryResolver,
};
use net::{Clock, MockClock};
use netbase::{CNetAddr, CService, NetGroupManager};
use protocol::{CAddress, Chain, HashKind, NetworkParams, ServiceFlags};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

const T0: i64 = 1_795_503_770;

struct Env {
    clock: Arc<MockClock>,
    full_outbound: usize,
    sleeps: RefCell<Vec<i64>>,
    addr_fetches: RefCell<Vec<String>>,
}

impl DnsSeedEnv for Env {
    fn now_micros(&self) -> i64 {
        self.clock.now_micros()
    }
    fn sleep_until(&self, until_micros: i64) -> bool {
        self.sleeps.borrow_mut().push(until_micros);
        self.clock.set_micros(until_micros);
        true
    }
    fn full_outbound_conn_count(&self) -> usize {
        self.full_outbound
    }
    fn network_active(&self) -> bool {
        true
    }
    fn add_addr_fetch(&self, seed: &str) {
        self.addr_fetches.borrow_mut().push(seed.to_owned());
    }
}

/// Records when each lookup happened (mock time, seconds) and what was asked.
struct TimedResolver<'a> {
    inner: HickoryResolver,
    clock: &'a MockClock,
    log: std::sync::Mutex<Vec<(i64, String)>>,
}

impl DnsResolver for TimedResolver<'_> {
    fn lookup(&self, host: &str) -> std::io::Result<Vec<IpAddr>> {
        self.log
            .lock()
            .unwrap()
            .push((self.clock.now_secs(), host.to_owned()));
        self.inner.lookup(host)
    }
}

fn env(clock: &Arc<MockClock>, full_outbound: usize) -> Env {
    Env {
        clock: clock.clone(),
        full_outbound,
        sleeps: RefCell::new(Vec::new()),
        addr_fetches: RefCell::new(Vec::new()),
    }
}

fn addrman_with(clock: &Arc<MockClock>, n: usize) -> AddrMan {
    let am =
        AddrMan::new(NetGroupManager::new(), true, 0, HashKind::Sha256d).with_clock(clock.clone());
    let src = CNetAddr::from_ipv4(Ipv4Addr::new(9, 9, 9, 9));
    let v: Vec<CAddress> = (0..n as u32)
        .map(|i| {
            CAddress::new(
                CService::new(
                    CNetAddr::from_ipv4(Ipv4Addr::from(0x0d00_0000 + i * 977)),
                    18444,
                ),
                ServiceFlags::NODE_NETWORK,
                T0 - 3600,
            )
        })
        .collect();
    am.add(&v, &src, 0);
    assert_eq!(am.size(None, None), n);
    am
}

fn responder() -> DnsResponder {
    let mut records = HashMap::new();
    records.insert(
        "x9.seed.one.test".to_owned(),
        vec![
            IpAddr::V4(Ipv4Addr::new(11, 1, 1, 1)),
            IpAddr::V4(Ipv4Addr::new(11, 2, 1, 1)),
            IpAddr::V6(Ipv6Addr::new(0x2a00, 0x1450, 0, 0, 0, 0, 0, 1)),
        ],
    );
    records.insert(
        "x10000000.seed.logos.test".to_owned(),
        vec![IpAddr::V4(Ipv4Addr::new(11, 3, 1, 1))],
    );
    DnsResponder::start(records)
}

/// A few addresses in addrman: the seeds are queried after 11 s (Core's
/// DNSSEEDS_DELAY_FEW_PEERS), at the `x9.` service subdomain; the answers land in addrman with
/// the queried name as source, the default port, the seeds' services and an age of 3–7 days; a
/// seed with no answer is handed to addr-fetch.
#[test]
fn dns_seeds_queried_at_11s_with_seed_as_source() {
    let dns = responder();
    let clock = Arc::new(MockClock::new(T0));
    let am = addrman_with(&clock, 10);
    let params = NetworkParams::get(Chain::Main);
    let e = env(&clock, 0);
    let resolver = TimedResolver {
        inner: HickoryResolver::with_nameserver(dns.addr()).unwrap(),
        clock: &clock,
        log: Default::default(),
    };
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let mut planner = DnsSeedPlanner::new(
        DnsSeedConfig::default(),
        &["seed.one.test.", "seed.none.test."],
        params.seeds_services,
        clock.now_micros(),
        &mut rng,
    );
    let found = thread_dns_address_seed(
        &mut planner,
        &e,
        &am,
        &resolver,
        params.default_port,
        &mut rng,
    );
    assert_eq!(found, 3);
    let log = resolver.log.lock().unwrap().clone();
    assert_eq!(log.len(), 2);
    for (t, host) in &log {
        assert_eq!(*t, T0 + 11, "queried at 11 s");
        assert!(host.starts_with("x9.seed."), "{host}");
    }
    assert_eq!(*e.addr_fetches.borrow(), vec!["seed.none.test.".to_owned()]);
    // The responder really was asked (A and AAAA).
    let asked: Vec<_> = dns
        .queries()
        .into_iter()
        .filter(|(n, _)| n == "x9.seed.one.test")
        .collect();
    assert!(
        asked.iter().any(|(_, t)| *t == 1) && asked.iter().any(|(_, t)| *t == 28),
        "{asked:?}"
    );

    assert_eq!(am.size(None, None), 13);
    let source = CNetAddr::from_internal("x9.seed.one.test.").unwrap();
    let from_seed: Vec<_> = am
        .get_entries(false)
        .into_iter()
        .map(|(info, _)| info)
        .filter(|i| i.source == source)
        .collect();
    assert_eq!(from_seed.len(), 3);
    let now = clock.now_secs();
    for i in from_seed {
        assert_eq!(i.addr.service.port, params.default_port);
        assert_eq!(i.addr.n_services, params.seeds_services);
        assert!(i.addr.n_time <= now - 3 * 86400 && i.addr.n_time > now - 7 * 86400);
    }
}

/// -dnsseed=0: no query at all.
#[test]
fn no_query_with_dnsseed_0() {
    let dns = responder();
    let clock = Arc::new(MockClock::new(T0));
    let am = addrman_with(&clock, 0);
    let e = env(&clock, 0);
    let resolver = HickoryResolver::with_nameserver(dns.addr()).unwrap();
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    let mut planner = DnsSeedPlanner::new(
        DnsSeedConfig {
            dnsseed: false,
            ..Default::default()
        },
        &["seed.one.test."],
        NetworkParams::get(Chain::Main).seeds_services,
        clock.now_micros(),
        &mut rng,
    );
    assert_eq!(
        thread_dns_address_seed(&mut planner, &e, &am, &resolver, 8333, &mut rng),
        0
    );
    assert!(dns.queries().is_empty());
    assert_eq!(am.size(None, None), 0);
    assert!(e.sleeps.borrow().is_empty());
}

/// Empty addrman: every seed at once, no wait; on a Logos network the subdomain carries the
/// Logos service bit (`x10000000.`).
#[test]
fn logos_seed_subdomain_and_empty_addrman_queries_at_once() {
    let dns = responder();
    let clock = Arc::new(MockClock::new(T0));
    let am = addrman_with(&clock, 0);
    let params = NetworkParams::get(Chain::LogosMain);
    assert_eq!(params.seeds_services, ServiceFlags::NODE_LOGOS);
    let e = env(&clock, 0);
    let resolver = HickoryResolver::with_nameserver(dns.addr()).unwrap();
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    let mut planner = DnsSeedPlanner::new(
        DnsSeedConfig::default(),
        &["seed.logos.test."],
        params.seeds_services,
        clock.now_micros(),
        &mut rng,
    );
    assert_eq!(
        thread_dns_address_seed(
            &mut planner,
            &e,
            &am,
            &resolver,
            params.default_port,
            &mut rng
        ),
        1
    );
    assert!(e.sleeps.borrow().is_empty());
    assert_eq!(clock.now_secs(), T0);
    assert!(dns
        .queries()
        .iter()
        .any(|(n, _)| n == "x10000000.seed.logos.test"));
    let entry = am.get_entries(false).into_iter().next().unwrap().0;
    assert_eq!(
        entry.addr.service,
        CService::new(
            CNetAddr::from_ipv4(Ipv4Addr::new(11, 3, 1, 1)),
            params.default_port
        )
    );
    assert_eq!(entry.addr.n_services, ServiceFlags::NODE_LOGOS);
}

/// Two full outbound peers while waiting: seeding stops without a query.
#[test]
fn enough_outbound_peers_skip_seeding() {
    let dns = responder();
    let clock = Arc::new(MockClock::new(T0));
    let am = addrman_with(&clock, 10);
    let e = env(&clock, 2);
    let resolver = HickoryResolver::with_nameserver(dns.addr()).unwrap();
    let mut rng = ChaCha20Rng::seed_from_u64(4);
    let mut planner = DnsSeedPlanner::new(
        DnsSeedConfig::default(),
        &["seed.one.test."],
        ServiceFlags(9),
        clock.now_micros(),
        &mut rng,
    );
    assert_eq!(
        thread_dns_address_seed(&mut planner, &e, &am, &resolver, 8333, &mut rng),
        0
    );
    assert_eq!(*e.sleeps.borrow(), vec![(T0 + 11) * 1_000_000]);
    assert!(dns.queries().is_empty());
}

/// Lookup failures are not fatal: an unknown name gives an error or nothing, and the seed goes
/// to addr-fetch.
#[test]
fn lookup_failure_is_not_fatal() {
    let dns = responder();
    let resolver = HickoryResolver::with_nameserver(dns.addr()).unwrap();
    if let Ok(v) = resolver.lookup("x9.unknown.test.") {
        assert!(v.is_empty());
    }
    let ok = resolver.lookup("x9.seed.one.test.").unwrap();
    assert_eq!(ok.len(), 3);
}
