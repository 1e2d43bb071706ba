//! A million random addrman operations (add, good, attempt, select, get_addr, connected,
//! set_services, resolve_collisions, select_tried_collision, save/load) driven by a seeded RNG
//! and a mock clock; the full consistency check (Core's CheckAddrman) must return 0 every
//! `CHECK_EVERY` operations and at the end. Mirrors the intent of Core's
//! src/test/fuzz/addrman.cpp (`addrman` fuzz target), as a deterministic property test.

use std::collections::HashSet;
use std::sync::Arc;

use ::addrman::*;
use netbase::{CNetAddr, CService, NetGroupManager, Network};
use protocol::{CAddress, HashKind, ServiceFlags};

/// A million operations; the workspace builds addrman and its dependencies optimised in the test
/// profile (root Cargo.toml), so this takes seconds, not minutes.
const OPS: usize = 1_000_000;
const CHECK_EVERY: usize = 1_000;
const START: i64 = 1_795_503_770;

/// A pool of addresses concentrated in few groups, so that buckets fill and collide.
fn address_pool(rng: &mut FastRandomContext) -> Vec<CService> {
    let mut pool = Vec::new();
    for _ in 0..6000 {
        // 40 /16 groups of IPv4
        let a = 1 + rng.randrange(40) as u8;
        let ip = std::net::Ipv4Addr::new(a, 77, rng.randbits(8) as u8, rng.randbits(8) as u8);
        let port = if rng.randbool() {
            8333
        } else {
            1 + rng.randrange(4) as u16
        };
        pool.push(CService::new(CNetAddr::from_ipv4(ip), port));
    }
    for _ in 0..500 {
        let mut b = [0u8; 16];
        rng.fillrand(&mut b);
        b[0] = 0x20;
        b[1] = 0x01;
        b[2] = 0x0d;
        b[3] = 0xb9 ^ (rng.randbits(3) as u8); // a few /32s outside 2001:db8::/32
        let ip = std::net::Ipv6Addr::from(b);
        pool.push(CService::new(CNetAddr::from_ipv6(ip, 0), 8333));
    }
    for i in 0..300 {
        let mut b = [0u8; 16];
        rng.fillrand(&mut b);
        b[0] = 0xfc;
        let mut a = CNetAddr::from_ipv6(std::net::Ipv6Addr::from(b), 0);
        if i % 2 == 0 {
            let s = netbase::maybe_flip_ipv6_to_cjdns(&CService::new(a, 8333), true);
            a = s.addr;
        }
        pool.push(CService::new(a, 8333));
    }
    for name in [
        "udhdrtrcetjm5sxzskjyr5ztpeszydbh4dpl3pl4utgqqw2v4jna.b32.i2p",
        "c4gfnttsuwqomiygupdqqqyy5y5emnk5c73hrfvatri67prd7vyq.b32.i2p",
        "pg6mmjiyjmcrsslvykfwnntlaru7p5svn6y2ymmju6nubxndf4pscryd.onion",
        "rhmcrowfavtz63m2uahjxzlp6yih2lnavilmhrzuc7v64nojkj2ifiad.onion",
    ] {
        let mut a = CNetAddr::default();
        assert!(a.set_special(name));
        pool.push(CService::new(
            a,
            if name.ends_with(".i2p") { 0 } else { 8333 },
        ));
    }
    // some unroutable ones, which Add must refuse
    pool.push(CService::new(
        CNetAddr::from_ipv4([10, 0, 0, 1].into()),
        8333,
    ));
    pool.push(CService::new(
        CNetAddr::from_ipv4([127, 0, 0, 1].into()),
        8333,
    ));
    pool
}

fn pick<'a>(rng: &mut FastRandomContext, pool: &'a [CService]) -> &'a CService {
    &pool[rng.randrange(pool.len() as u64) as usize]
}

fn random_networks(rng: &mut FastRandomContext) -> HashSet<Network> {
    let mut s = HashSet::new();
    if rng.randbool() {
        return s;
    }
    for n in [
        Network::IPv4,
        Network::IPv6,
        Network::Onion,
        Network::I2P,
        Network::CJDNS,
    ] {
        if rng.randbits(2) == 0 {
            s.insert(n);
        }
    }
    s
}

fn run(seed: u8, hash: HashKind, ops: usize) {
    let mut rng = FastRandomContext::from_seed([seed; 32]);
    let clock = MockClock::shared(START);
    let mut am = AddrMan::new_with_seed(NetGroupManager::new(), [seed ^ 0x5a; 32], 0, hash)
        .with_clock(clock.clone());
    let pool = address_pool(&mut rng);
    let magic = [0xfa, 0xbf, 0xb5, 0xda];

    for op in 0..ops {
        let now = clock.now();
        match rng.randrange(100) {
            0..=39 => {
                let n = 1 + rng.randrange(8) as usize;
                let v: Vec<CAddress> = (0..n)
                    .map(|_| {
                        let s = *pick(&mut rng, &pool);
                        let age = rng.randrange(40 * 24 * 3600) as i64 - 3600;
                        CAddress::new(s, ServiceFlags(rng.randbits(12)), now - age)
                    })
                    .collect();
                let source = pick(&mut rng, &pool).addr;
                let penalty = if rng.randbool() { 0 } else { 2 * 60 * 60 };
                am.add(&v, &source, penalty);
            }
            40..=54 => {
                let s = *pick(&mut rng, &pool);
                let t = now - rng.randrange(3600) as i64;
                am.good(&s, t);
            }
            55..=66 => {
                let s = *pick(&mut rng, &pool);
                let t = now - rng.randrange(7200) as i64;
                am.attempt(&s, rng.randbool(), t);
            }
            67..=76 => {
                let nets = random_networks(&mut rng);
                let (a, _) = am.select(rng.randbool(), &nets);
                if a.is_valid() && !nets.is_empty() {
                    assert!(nets.contains(&a.get_network()));
                }
            }
            77..=79 => {
                let net = match rng.randrange(4) {
                    0 => Some(Network::IPv4),
                    1 => Some(Network::IPv6),
                    _ => None,
                };
                let max = rng.randrange(2500) as usize;
                let pct = if rng.randbool() {
                    23
                } else {
                    rng.randrange(101) as usize
                };
                let v = am.get_addr(max, pct, net, rng.randbool());
                if max != 0 {
                    assert!(v.len() <= max);
                }
            }
            80..=84 => {
                let s = *pick(&mut rng, &pool);
                am.connected(&s, now);
            }
            85..=87 => {
                let s = *pick(&mut rng, &pool);
                am.set_services(&s, ServiceFlags(rng.randbits(12)));
            }
            88..=91 => am.resolve_collisions(),
            92..=94 => {
                let _ = am.select_tried_collision();
            }
            95..=98 => clock.advance(rng.randrange(2 * 3600) as i64),
            _ => {
                if rng.randrange(200) == 0 {
                    // save and load: same tables
                    let bytes = write_peers_dat(&am, magic);
                    let loaded =
                        AddrMan::new_with_seed(NetGroupManager::new(), [op as u8; 32], 0, hash)
                            .with_clock(clock.clone());
                    read_peers_dat(&loaded, &bytes, magic).unwrap();
                    assert_eq!(loaded.size(None, None), am.size(None, None));
                    let key = |e: Vec<(AddrInfo, AddressPosition)>| {
                        let mut v: Vec<_> = e.into_iter().map(|(i, p)| (i.service, p)).collect();
                        v.sort_by(|a, b| {
                            (a.1.bucket, a.1.position).cmp(&(b.1.bucket, b.1.position))
                        });
                        v
                    };
                    assert_eq!(key(loaded.get_entries(true)), key(am.get_entries(true)));
                    assert_eq!(key(loaded.get_entries(false)), key(am.get_entries(false)));
                    assert_eq!(write_peers_dat(&loaded, magic), bytes);
                    am = loaded;
                } else {
                    let _ = am.size(Some(Network::IPv4), Some(rng.randbool()));
                }
            }
        }
        if op % CHECK_EVERY == 0 {
            assert_eq!(am.check_addrman(), 0, "seed {seed}, op {op}");
        }
    }
    assert_eq!(am.check_addrman(), 0);
    assert!(
        am.size(None, Some(true)) > 1000,
        "new {}",
        am.size(None, Some(true))
    );
    assert!(
        am.size(None, Some(false)) > 500,
        "tried {}",
        am.size(None, Some(false))
    );
    for n in [Network::IPv4, Network::IPv6, Network::CJDNS] {
        assert!(am.size(Some(n), None) > 0, "{n:?}");
    }
}

#[test]
fn random_operations_keep_addrman_consistent_sha256d() {
    run(1, HashKind::Sha256d, OPS);
}

#[test]
fn random_operations_keep_addrman_consistent_blake2b() {
    run(2, HashKind::Blake2b256, OPS / 4);
}

/// With Core's own consistency checking on (ratio 1: before and after every call), a shorter
/// run must not trip the fatal check.
#[test]
fn random_operations_with_check_ratio_one() {
    let mut rng = FastRandomContext::from_seed([9; 32]);
    let clock = MockClock::shared(START);
    let am = AddrMan::new_with_seed(NetGroupManager::new(), [3; 32], 1, HashKind::Sha256d)
        .with_clock(clock.clone() as Arc<dyn Clock>);
    let pool = address_pool(&mut rng);
    for _ in 0..500 {
        let s = *pick(&mut rng, &pool);
        let a = CAddress::new(s, ServiceFlags::NODE_NETWORK, clock.now());
        am.add(&[a], &pick(&mut rng, &pool).addr, 0);
        if rng.randbits(2) == 0 {
            am.good(&s, clock.now());
        }
        if rng.randbits(4) == 0 {
            am.resolve_collisions();
            clock.advance(600);
        }
    }
    assert_eq!(am.check_addrman(), 0);
}

/// The internal renumbering of ids (`mapInfo` compaction) changes nothing observable: two
/// addrmen with the same seed, one never compacting, give the same answers and the same bytes.
#[test]
fn id_compaction_is_unobservable() {
    let mut rng = FastRandomContext::from_seed([4; 32]);
    let clock = MockClock::shared(START);
    let mk = || {
        AddrMan::new_with_seed(NetGroupManager::new(), [5; 32], 0, HashKind::Sha256d)
            .with_clock(clock.clone() as Arc<dyn Clock>)
    };
    let a = mk();
    a.set_id_compaction(true, 0);
    let b = mk();
    b.set_id_compaction(false, 0);
    let pool = address_pool(&mut rng);
    let magic = [0xfa, 0xbf, 0xb5, 0xda];
    for i in 0..20_000 {
        let now = clock.now();
        match rng.randrange(7) {
            0..=2 => {
                let v: Vec<CAddress> = (0..1 + rng.randrange(8))
                    .map(|_| {
                        CAddress::new(
                            *pick(&mut rng, &pool),
                            ServiceFlags::NODE_NETWORK,
                            now - rng.randrange(3_000_000) as i64,
                        )
                    })
                    .collect();
                let src = pick(&mut rng, &pool).addr;
                assert_eq!(a.add(&v, &src, 0), b.add(&v, &src, 0));
            }
            3 => {
                let s = *pick(&mut rng, &pool);
                assert_eq!(a.good(&s, now), b.good(&s, now));
            }
            5 => {
                // an address of a crowded group: mostly refused (created, then deleted again)
                let mut x = *pick(&mut rng, &pool);
                x.port = 20000 + rng.randrange(20000) as u16;
                let v = [CAddress::new(x, ServiceFlags::NODE_NETWORK, now)];
                let src = pick(&mut rng, &pool).addr;
                assert_eq!(a.add(&v, &src, 0), b.add(&v, &src, 0));
            }
            4 => {
                a.resolve_collisions();
                b.resolve_collisions();
                assert_eq!(a.select_tried_collision(), b.select_tried_collision());
                clock.advance(rng.randrange(3600) as i64);
            }
            _ => {
                assert_eq!(
                    a.select(false, &HashSet::new()),
                    b.select(false, &HashSet::new())
                );
                assert_eq!(
                    a.get_addr(50, 23, None, true),
                    b.get_addr(50, 23, None, true)
                );
            }
        }
        if i % 2000 == 0 {
            assert_eq!(write_peers_dat(&a, magic), write_peers_dat(&b, magic));
        }
    }
    assert_eq!(write_peers_dat(&a, magic), write_peers_dat(&b, magic));
    assert_eq!(a.check_addrman(), 0);
}

/// Runs the same random operations on a dense addrman (Core's arrays) and a compact one
/// ([`AddrMan::new_compact`], only occupied bucket positions) built from the same seed and clock,
/// and fails at the first difference: every call's result, the sizes, where each touched address
/// sits, and every `full_every` operations both tables from `get_entries` (entry, bucket and
/// position), the consistency check and the peers.dat bytes. Save/load goes through peers.dat,
/// reloading each side into the same storage kind. `id_slack` 0 renumbers ids at every hole.
fn dense_and_compact_agree(
    seed: u8,
    hash: HashKind,
    ops: usize,
    full_every: usize,
    id_slack: usize,
) {
    let mut rng = FastRandomContext::from_seed([seed; 32]);
    let clock = MockClock::shared(START);
    let magic = [0xfa, 0xbf, 0xb5, 0xda];
    let make = |compact: bool, key_seed: [u8; 32]| {
        let am = if compact {
            AddrMan::new_compact(NetGroupManager::new(), key_seed, 0, hash)
        } else {
            AddrMan::new_with_seed(NetGroupManager::new(), key_seed, 0, hash)
        }
        .with_clock(clock.clone() as Arc<dyn Clock>);
        am.set_id_compaction(true, id_slack);
        assert_eq!(am.is_compact(), compact);
        am
    };
    let mut dense = make(false, [seed ^ 0x33; 32]);
    let mut compact = make(true, [seed ^ 0x33; 32]);
    assert_eq!(dense.key(), compact.key());
    let pool = address_pool(&mut rng);
    let entries = |am: &AddrMan| (am.get_entries(false), am.get_entries(true));
    let sizes = |am: &AddrMan| {
        let mut v = vec![am.size(None, None)];
        for net in [Network::IPv4, Network::IPv6, Network::CJDNS] {
            for in_new in [None, Some(true), Some(false)] {
                v.push(am.size(Some(net), in_new));
            }
        }
        v
    };

    for op in 0..ops {
        let now = clock.now();
        let mut touched: Vec<CService> = Vec::new();
        match rng.randrange(100) {
            0..=39 => {
                let n = 1 + rng.randrange(8) as usize;
                let v: Vec<CAddress> = (0..n)
                    .map(|_| {
                        let mut s = *pick(&mut rng, &pool);
                        if rng.randbits(3) == 0 {
                            // a fresh port: created, then often refused and deleted again
                            s.port = 20000 + rng.randrange(20000) as u16;
                        }
                        let age = rng.randrange(40 * 24 * 3600) as i64 - 3600;
                        CAddress::new(s, ServiceFlags(rng.randbits(12)), now - age)
                    })
                    .collect();
                let source = pick(&mut rng, &pool).addr;
                let penalty = if rng.randbool() { 0 } else { 2 * 60 * 60 };
                touched.extend(v.iter().map(|a| a.service));
                assert_eq!(
                    dense.add(&v, &source, penalty),
                    compact.add(&v, &source, penalty),
                    "add, op {op}"
                );
            }
            40..=54 => {
                let s = *pick(&mut rng, &pool);
                let t = now - rng.randrange(3600) as i64;
                touched.push(s);
                assert_eq!(dense.good(&s, t), compact.good(&s, t), "good, op {op}");
            }
            55..=64 => {
                let s = *pick(&mut rng, &pool);
                let t = now - rng.randrange(7200) as i64;
                let count = rng.randbool();
                touched.push(s);
                dense.attempt(&s, count, t);
                compact.attempt(&s, count, t);
            }
            65..=76 => {
                let nets = random_networks(&mut rng);
                let new_only = rng.randbool();
                assert_eq!(
                    dense.select(new_only, &nets),
                    compact.select(new_only, &nets),
                    "select, op {op}"
                );
            }
            77..=79 => {
                let net = match rng.randrange(4) {
                    0 => Some(Network::IPv4),
                    1 => Some(Network::IPv6),
                    _ => None,
                };
                let max = rng.randrange(2500) as usize;
                let pct = rng.randrange(101) as usize;
                let filtered = rng.randbool();
                assert_eq!(
                    dense.get_addr(max, pct, net, filtered),
                    compact.get_addr(max, pct, net, filtered),
                    "get_addr, op {op}"
                );
            }
            80..=83 => {
                let s = *pick(&mut rng, &pool);
                touched.push(s);
                dense.connected(&s, now);
                compact.connected(&s, now);
            }
            84..=85 => {
                let s = *pick(&mut rng, &pool);
                let flags = ServiceFlags(rng.randbits(12));
                touched.push(s);
                dense.set_services(&s, flags);
                compact.set_services(&s, flags);
            }
            86..=90 => {
                dense.resolve_collisions();
                compact.resolve_collisions();
            }
            91..=94 => assert_eq!(
                dense.select_tried_collision(),
                compact.select_tried_collision(),
                "select_tried_collision, op {op}"
            ),
            95..=98 => clock.advance(rng.randrange(2 * 3600) as i64),
            _ => {
                if rng.randrange(50) == 0 {
                    // save and load, each into a fresh addrman of its own kind
                    let bytes = write_peers_dat(&dense, magic);
                    assert!(
                        write_peers_dat(&compact, magic) == bytes,
                        "peers.dat, op {op}"
                    );
                    let key_seed = [op as u8; 32];
                    dense = make(false, key_seed);
                    compact = make(true, key_seed);
                    read_peers_dat(&dense, &bytes, magic).unwrap();
                    read_peers_dat(&compact, &bytes, magic).unwrap();
                    assert!(
                        write_peers_dat(&compact, magic) == bytes,
                        "reloaded, op {op}"
                    );
                }
            }
        }
        assert_eq!(sizes(&dense), sizes(&compact), "sizes, op {op}");
        for s in touched {
            let a = CAddress::with_services(s, ServiceFlags::NODE_NONE);
            assert_eq!(
                dense.find_address_entry(&a),
                compact.find_address_entry(&a),
                "position of {s:?}, op {op}"
            );
        }
        if op % full_every == 0 {
            assert!(entries(&dense) == entries(&compact), "get_entries, op {op}");
        }
        if op % 2000 == 0 {
            assert_eq!(dense.check_addrman(), 0, "dense, op {op}");
            assert_eq!(compact.check_addrman(), 0, "compact, op {op}");
            assert!(
                write_peers_dat(&dense, magic) == write_peers_dat(&compact, magic),
                "peers.dat, op {op}"
            );
        }
    }
    assert_eq!(dense.check_addrman(), 0);
    assert_eq!(compact.check_addrman(), 0);
    assert!(entries(&dense) == entries(&compact));
    let bytes = write_peers_dat(&dense, magic);
    assert!(write_peers_dat(&compact, magic) == bytes, "final peers.dat");
    // the run filled both tables, so the comparison covered collisions and evictions
    assert!(
        dense.size(None, Some(true)) > 1000,
        "new {}",
        dense.size(None, Some(true))
    );
    assert!(
        dense.size(None, Some(false)) > 300,
        "tried {}",
        dense.size(None, Some(false))
    );
}

/// Dense and compact storage: 100,000 operations, tables compared every 100.
#[test]
fn compact_storage_is_unobservable_sha256d() {
    dense_and_compact_agree(11, HashKind::Sha256d, 100_000, 100, 1024);
}

/// Dense and compact storage with the Blake2b hash and ids renumbered at every hole (the
/// tables' ids rewritten in place): 10,000 operations, tables compared after every one.
#[test]
fn compact_storage_is_unobservable_blake2b_every_step() {
    dense_and_compact_agree(12, HashKind::Blake2b256, 10_000, 1, 0);
}

/// A compact addrman loads a dense one's peers.dat and writes the same bytes back, and a failed
/// load leaves it empty, still compact, and behaving as a dense one after the same failure.
#[test]
fn compact_storage_load_and_failed_load() {
    let mut rng = FastRandomContext::from_seed([13; 32]);
    let clock = MockClock::shared(START);
    let pool = address_pool(&mut rng);
    let magic = [0xfa, 0xbf, 0xb5, 0xda];
    let src = AddrMan::new_with_seed(NetGroupManager::new(), [14; 32], 0, HashKind::Sha256d)
        .with_clock(clock.clone() as Arc<dyn Clock>);
    for s in pool.iter().step_by(3) {
        let a = CAddress::new(*s, ServiceFlags::NODE_NETWORK, clock.now() - 600);
        src.add(&[a], &pick(&mut rng, &pool).addr, 0);
        if rng.randbits(2) == 0 {
            src.good(s, clock.now());
        }
    }
    let bytes = write_peers_dat(&src, magic);

    let dense = AddrMan::new_with_seed(NetGroupManager::new(), [15; 32], 1, HashKind::Sha256d)
        .with_clock(clock.clone() as Arc<dyn Clock>);
    let compact = AddrMan::new_compact(NetGroupManager::new(), [15; 32], 1, HashKind::Sha256d)
        .with_clock(clock.clone() as Arc<dyn Clock>);
    let truncated = &bytes[..bytes.len() - 40];
    assert!(read_peers_dat(&dense, truncated, magic).is_err());
    assert!(read_peers_dat(&compact, truncated, magic).is_err());
    assert!(compact.is_compact());
    assert_eq!(compact.size(None, None), 0);
    assert!(compact.get_entries(false).is_empty() && compact.get_entries(true).is_empty());
    assert!(write_peers_dat(&compact, magic) == write_peers_dat(&dense, magic));

    read_peers_dat(&dense, &bytes, magic).unwrap();
    read_peers_dat(&compact, &bytes, magic).unwrap();
    assert!(write_peers_dat(&compact, magic) == bytes);
    // where every entry sits is kept by the load (vRandom order is not: it is the file's)
    let places = |am: &AddrMan, tried: bool| -> Vec<_> {
        am.get_entries(tried)
            .into_iter()
            .map(|(i, p)| (i.service, p))
            .collect()
    };
    for tried in [false, true] {
        assert_eq!(places(&compact, tried), places(&src, tried));
        assert!(compact.get_entries(tried) == dense.get_entries(tried));
    }
    assert_eq!(compact.check_addrman(), 0);
    for _ in 0..200 {
        let nets = random_networks(&mut rng);
        assert_eq!(dense.select(false, &nets), compact.select(false, &nets));
    }
    assert_eq!(
        dense.get_addr(0, 0, None, false),
        compact.get_addr(0, 0, None, false)
    );
}
