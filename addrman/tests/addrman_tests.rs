//! Ports of Core's src/test/addrman_tests.cpp: each test names the Core test case it mirrors.
//!
//! Core's tests build a deterministic addrman (`nKey = 1`, zero-keyed `FastRandomContext`) with
//! consistency-check ratio 100 (`-checkaddrman` default in the unit tests), and read the wall
//! clock; here the clock is a `MockClock` standing at a fixed time, so every expectation that
//! depends on bucket hashing or on the deterministic RNG is checked with Core's exact values.
#![allow(non_snake_case)]

use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;

use ::addrman::*;
use netbase::{CNetAddr, CService, NetGroupManager, Network};
use protocol::{CAddress, HashKind, ServiceFlags};

/// `DETERMINISTIC` in Core's test file.
const DETERMINISTIC: bool = true;
/// Core's `GetCheckRatio` default in unit tests.
const CHECK_RATIO: i32 = 100;
/// Mock "now" (November 2026, near the vectors' timestamps).
const NOW: i64 = 1_795_503_770;
/// Regtest message start.
const REGTEST_MAGIC: [u8; 4] = [0xfa, 0xbf, 0xb5, 0xda];

fn clock() -> Arc<MockClock> {
    MockClock::shared(NOW)
}

fn new_addrman(deterministic: bool, clock: &Arc<MockClock>) -> AddrMan {
    AddrMan::new(
        NetGroupManager::new(),
        deterministic,
        CHECK_RATIO,
        HashKind::Sha256d,
    )
    .with_clock(clock.clone())
}

fn resolve_ip(ip: &str) -> CNetAddr {
    netbase::lookup_host(ip, false, &netbase::no_dns)
        .unwrap_or_else(|| panic!("failed to resolve: {ip}"))
}

fn resolve_service(ip: &str, port: u16) -> CService {
    netbase::lookup(ip, port, false, &netbase::no_dns)
        .unwrap_or_else(|| panic!("failed to resolve: {ip}:{port}"))
}

fn caddr(s: CService) -> CAddress {
    CAddress::with_services(s, ServiceFlags::NODE_NONE)
}

fn special(name: &str) -> CAddress {
    let mut a = CNetAddr::default();
    assert!(a.set_special(name), "{name}");
    caddr(CService::new(a, 0))
}

fn nets(n: &[Network]) -> HashSet<Network> {
    n.iter().copied().collect()
}

fn none() -> HashSet<Network> {
    HashSet::new()
}

/// `(HashWriter{} << n).GetHash()` for an `int` n: SHA256d of its 4 little-endian bytes.
fn hash_of_int(n: i32) -> [u8; 32] {
    HashKind::Sha256d.hash(&n.to_le_bytes())
}

/// Mirrors addrman_tests.cpp: addrman_simple
#[test]
fn addrman_tests__addrman_simple() {
    let c = clock();
    let mut addrman = new_addrman(DETERMINISTIC, &c);
    let source = resolve_ip("252.2.2.2");

    // empty addrman
    assert_eq!(addrman.size(None, None), 0);
    let addr_null = addrman.select(false, &none()).0;
    assert_eq!(addr_null.to_string_addr_port(), "[::]:0");

    // Add works
    let addr1 = resolve_service("250.1.1.1", 8333);
    assert!(addrman.add(&[caddr(addr1)], &source, 0));
    assert_eq!(addrman.size(None, None), 1);
    let addr_ret1 = addrman.select(false, &none()).0;
    assert_eq!(addr_ret1.to_string_addr_port(), "250.1.1.1:8333");

    // the same address again is not added
    let addr1_dup = resolve_service("250.1.1.1", 8333);
    assert!(!addrman.add(&[caddr(addr1_dup)], &source, 0));
    assert_eq!(addrman.size(None, None), 1);

    // a different address
    let addr2 = resolve_service("250.1.1.2", 8333);
    assert!(addrman.add(&[caddr(addr2)], &source, 0));
    assert!(addrman.size(None, None) >= 1);

    // several addresses at once
    addrman = new_addrman(DETERMINISTIC, &c);
    let v_addr = vec![
        caddr(resolve_service("250.1.1.3", 8333)),
        caddr(resolve_service("250.1.1.4", 8333)),
    ];
    assert!(addrman.add(&v_addr, &source, 0));
    assert!(addrman.size(None, None) >= 1);
    assert_eq!(addrman.check_addrman(), 0);
}

/// Mirrors addrman_tests.cpp: addrman_ports
#[test]
fn addrman_tests__addrman_ports() {
    let c = clock();
    let addrman = new_addrman(DETERMINISTIC, &c);
    let source = resolve_ip("252.2.2.2");
    assert_eq!(addrman.size(None, None), 0);

    // same IP, another port: a second entry
    let addr1 = resolve_service("250.1.1.1", 8333);
    assert!(addrman.add(&[caddr(addr1)], &source, 0));
    assert_eq!(addrman.size(None, None), 1);
    let addr1_port = resolve_service("250.1.1.1", 8334);
    assert!(addrman.add(&[caddr(addr1_port)], &source, 0));
    assert_eq!(addrman.size(None, None), 2);
    let addr_ret2 = addrman.select(false, &none()).0.to_string_addr_port();
    assert!(addr_ret2 == "250.1.1.1:8333" || addr_ret2 == "250.1.1.1:8334");

    // Good on one port moves only that entry
    addrman.good(&addr1_port, c.now());
    assert_eq!(addrman.size(None, None), 2);
    let addr_ret3 = addrman.select(true, &none()).0;
    assert_eq!(addr_ret3.to_string_addr_port(), "250.1.1.1:8333");
}

/// Mirrors addrman_tests.cpp: addrman_select
#[test]
fn addrman_tests__addrman_select() {
    let c = clock();
    let addrman = new_addrman(DETERMINISTIC, &c);
    assert!(!addrman.select(false, &none()).0.is_valid());
    assert!(!addrman.select(true, &none()).0.is_valid());

    let source = resolve_ip("252.2.2.2");
    let addr1 = resolve_service("250.1.1.1", 8333);
    assert!(addrman.add(&[caddr(addr1)], &source, 0));
    assert_eq!(addrman.size(None, None), 1);
    assert_eq!(addrman.select(true, &none()).0.service, addr1);
    assert_eq!(addrman.select(false, &none()).0.service, addr1);

    // to tried
    assert!(addrman.good(&addr1, c.now()));
    assert_eq!(addrman.size(None, None), 1);
    assert!(!addrman.select(true, &none()).0.is_valid());
    assert_eq!(addrman.select(false, &none()).0.service, addr1);
    assert_eq!(addrman.size(None, None), 1);

    let addr2 = resolve_service("250.3.1.1", 8333);
    assert!(addrman.add(&[caddr(addr2)], &addr2.addr, 0));
    assert_eq!(addrman.select(true, &none()).0.service, addr2);

    let addr3 = resolve_service("250.3.2.2", 9999);
    let addr4 = resolve_service("250.3.3.3", 9999);
    assert!(addrman.add(&[caddr(addr3)], &addr2.addr, 0));
    assert!(addrman.add(&[caddr(addr4)], &resolve_service("250.4.1.1", 8333).addr, 0));

    let addr5 = resolve_service("250.4.4.4", 8333);
    let addr6 = resolve_service("250.4.5.5", 7777);
    let addr7 = resolve_service("250.4.6.6", 8333);
    assert!(addrman.add(&[caddr(addr5)], &addr3.addr, 0));
    assert!(addrman.good(&addr5, c.now()));
    assert!(addrman.add(&[caddr(addr6)], &addr3.addr, 0));
    assert!(addrman.good(&addr6, c.now()));
    assert!(addrman.add(&[caddr(addr7)], &resolve_service("250.1.1.3", 8333).addr, 0));
    assert!(addrman.good(&addr7, c.now()));

    assert_eq!(addrman.size(None, None), 7);

    // select draws from both tables whatever the port
    let mut ports = BTreeSet::new();
    for _ in 0..20 {
        ports.insert(addrman.select(false, &none()).0.get_port());
    }
    assert_eq!(ports.len(), 3);
}

/// Mirrors addrman_tests.cpp: addrman_select_by_network
#[test]
fn addrman_tests__addrman_select_by_network() {
    let c = clock();
    let addrman = new_addrman(DETERMINISTIC, &c);
    assert!(!addrman.select(true, &nets(&[Network::IPv4])).0.is_valid());
    assert!(!addrman.select(false, &nets(&[Network::IPv4])).0.is_valid());

    let source = resolve_ip("252.2.2.2");
    let addr1 = resolve_service("250.1.1.1", 8333);
    assert!(addrman.add(&[caddr(addr1)], &source, 0));

    assert_eq!(
        addrman.select(true, &nets(&[Network::IPv4])).0.service,
        addr1
    );
    assert_eq!(
        addrman.select(false, &nets(&[Network::IPv4])).0.service,
        addr1
    );
    for n in [Network::IPv6, Network::Onion, Network::I2P, Network::CJDNS] {
        assert!(!addrman.select(false, &nets(&[n])).0.is_valid());
    }
    assert!(!addrman.select(true, &nets(&[Network::CJDNS])).0.is_valid());
    assert_eq!(addrman.select(false, &none()).0.service, addr1);

    let i2p_addr = special("udhdrtrcetjm5sxzskjyr5ztpeszydbh4dpl3pl4utgqqw2v4jna.b32.i2p");
    assert!(addrman.add(std::slice::from_ref(&i2p_addr), &source, 0));

    assert_eq!(addrman.select(true, &nets(&[Network::I2P])).0, i2p_addr);
    assert_eq!(addrman.select(false, &nets(&[Network::I2P])).0, i2p_addr);
    assert_eq!(
        addrman.select(false, &nets(&[Network::IPv4])).0.service,
        addr1
    );
    assert!(addrman
        .select(false, &nets(&[Network::IPv4, Network::I2P]))
        .0
        .is_valid());
    for n in [Network::IPv6, Network::Onion, Network::CJDNS] {
        assert!(!addrman.select(false, &nets(&[n])).0.is_valid());
    }
    assert!(!addrman
        .select(
            false,
            &nets(&[Network::IPv6, Network::Onion, Network::CJDNS])
        )
        .0
        .is_valid());

    // I2P address to tried
    assert!(addrman.good(&i2p_addr.service, c.now()));
    assert!(!addrman.select(true, &nets(&[Network::I2P])).0.is_valid());
    assert_eq!(addrman.select(false, &nets(&[Network::I2P])).0, i2p_addr);

    let i2p_addr2 = special("c4gfnttsuwqomiygupdqqqyy5y5emnk5c73hrfvatri67prd7vyq.b32.i2p");
    assert!(addrman.add(std::slice::from_ref(&i2p_addr2), &source, 0));
    assert_eq!(addrman.select(true, &nets(&[Network::I2P])).0, i2p_addr2);

    // both tables are drawn from
    let mut new_selected = false;
    let mut tried_selected = false;
    let mut counter = 256;
    loop {
        counter -= 1;
        if !(counter > 0 && (!new_selected || !tried_selected)) {
            break;
        }
        let selected = addrman.select(false, &nets(&[Network::I2P])).0;
        assert!(selected == i2p_addr || selected == i2p_addr2);
        if selected == i2p_addr {
            tried_selected = true;
        } else {
            new_selected = true;
        }
    }
    assert!(new_selected);
    assert!(tried_selected);
}

/// Mirrors addrman_tests.cpp: addrman_select_special
#[test]
fn addrman_tests__addrman_select_special() {
    let c = clock();
    let addrman = new_addrman(false, &c);
    let source = resolve_ip("252.2.2.2");

    let i2p_addr = special("udhdrtrcetjm5sxzskjyr5ztpeszydbh4dpl3pl4utgqqw2v4jna.b32.i2p");
    assert!(addrman.add(std::slice::from_ref(&i2p_addr), &source, 0));
    assert!(addrman.good(&i2p_addr.service, c.now()));

    let addr1 = resolve_service("250.1.1.3", 8333);
    assert!(addrman.add(&[caddr(addr1)], &source, 0));

    // the only IPv4 entry is in new, so new is searched even with new_only = false
    for _ in 0..50 {
        assert_eq!(
            addrman.select(false, &nets(&[Network::IPv4])).0.service,
            addr1
        );
    }
}

/// Mirrors addrman_tests.cpp: addrman_new_collisions
#[test]
fn addrman_tests__addrman_new_collisions() {
    let c = clock();
    let addrman = new_addrman(DETERMINISTIC, &c);
    let source = resolve_ip("252.2.2.2");
    let mut num_addrs: usize = 0;
    assert_eq!(addrman.size(None, None), num_addrs);

    // 250.1.1.1 - 250.1.1.22 do not collide with nKey = 1
    while num_addrs < 22 {
        num_addrs += 1;
        let addr = resolve_service(&format!("250.1.1.{num_addrs}"), 0);
        assert!(addrman.add(&[caddr(addr)], &source, 0));
        assert_eq!(addrman.size(None, None), num_addrs);
    }

    // new table collision
    num_addrs += 1;
    let addr1 = resolve_service(&format!("250.1.1.{num_addrs}"), 0);
    let collisions = 1;
    assert!(addrman.add(&[caddr(addr1)], &source, 0));
    assert_eq!(addrman.size(None, None), num_addrs - collisions);

    num_addrs += 1;
    let addr2 = resolve_service(&format!("250.1.1.{num_addrs}"), 0);
    assert!(addrman.add(&[caddr(addr2)], &source, 0));
    assert_eq!(addrman.size(None, None), num_addrs - collisions);
}

/// Mirrors addrman_tests.cpp: addrman_new_multiplicity (depends on the exact deterministic RNG
/// stream, including the draws of the consistency check).
#[test]
fn addrman_tests__addrman_new_multiplicity() {
    let c = clock();
    let addrman = new_addrman(DETERMINISTIC, &c);
    let mut addr = caddr(resolve_service("253.3.3.3", 8333));
    let start_time = c.now();
    addr.n_time = start_time;

    // multiplicity stays 1 while nTime does not increase
    for i in 1u32..20 {
        let addr_ip = format!("{}.{}.1.1", i % 256, i >> 8);
        let source = resolve_ip(&addr_ip);
        addrman.add(&[addr], &source, 0);
    }
    let addr_pos = addrman.find_address_entry(&addr).unwrap();
    assert_eq!(addr_pos.multiplicity, 1);
    assert_eq!(addrman.size(None, None), 1);

    // with increasing nTime it reaches 8 buckets
    for i in 1u32..400 {
        let addr_ip = format!("{}.{}.1.1", i % 256, i >> 8);
        let source = resolve_ip(&addr_ip);
        addr.n_time = start_time + i as i64;
        addrman.add(&[addr], &source, 0);
    }
    let addr_pos_multi = addrman.find_address_entry(&addr).unwrap();
    assert_eq!(addr_pos_multi.multiplicity, 8);
    assert_eq!(addrman.size(None, None), 1);
}

/// Mirrors addrman_tests.cpp: addrman_tried_collisions
#[test]
fn addrman_tests__addrman_tried_collisions() {
    let c = clock();
    let addrman = new_addrman(DETERMINISTIC, &c);
    let source = resolve_ip("252.2.2.2");
    let mut num_addrs = 0;
    assert_eq!(addrman.size(None, None), num_addrs);

    // 250.1.1.1 - 250.1.1.35 do not collide in tried with nKey = 1
    while num_addrs < 35 {
        num_addrs += 1;
        let addr = resolve_service(&format!("250.1.1.{num_addrs}"), 0);
        assert!(addrman.add(&[caddr(addr)], &source, 0));
        assert!(addrman.good(&addr, c.now()));
    }

    // collision in tried
    num_addrs += 1;
    let addr1 = resolve_service(&format!("250.1.1.{num_addrs}"), 0);
    assert!(addrman.add(&[caddr(addr1)], &source, 0));
    assert!(!addrman.good(&addr1, c.now()));

    // the next one goes in
    num_addrs += 1;
    let addr2 = resolve_service(&format!("250.1.1.{num_addrs}"), 0);
    assert!(addrman.add(&[caddr(addr2)], &source, 0));
    assert!(addrman.good(&addr2, c.now()));
}

/// Mirrors addrman_tests.cpp: addrman_getaddr
#[test]
fn addrman_tests__addrman_getaddr() {
    let c = clock();
    let addrman = new_addrman(DETERMINISTIC, &c);

    assert_eq!(addrman.size(None, None), 0);
    assert_eq!(addrman.get_addr(0, 0, None, true).len(), 0);

    let now = c.now();
    let mk = |ip: &str, port: u16| {
        let mut a = caddr(resolve_service(ip, port));
        a.n_time = now;
        a
    };
    let addr1 = mk("250.250.2.1", 8333);
    let addr2 = mk("250.251.2.2", 9999);
    let addr3 = mk("251.252.2.3", 8333);
    let addr4 = mk("252.253.3.4", 8333);
    let addr5 = mk("252.254.4.5", 8333);
    let source1 = resolve_ip("250.1.2.1");
    let source2 = resolve_ip("250.2.3.3");

    assert!(addrman.add(&[addr1, addr3, addr5], &source1, 0));
    assert!(addrman.add(&[addr2, addr4], &source2, 0));

    assert_eq!(addrman.get_addr(0, 0, None, true).len(), 5);
    // 23% of 5 rounds down to 1
    assert_eq!(addrman.get_addr(2500, 23, None, true).len(), 1);

    // new and tried
    assert!(addrman.good(&addr1.service, now));
    assert!(addrman.good(&addr2.service, now));
    assert_eq!(addrman.get_addr(0, 0, None, true).len(), 5);
    assert_eq!(addrman.get_addr(2500, 23, None, true).len(), 1);

    // still 23% with many addresses
    for i in 1u32..(8 * 256) {
        let octet1 = i % 256;
        let octet2 = i >> 8;
        let str_addr = format!("{octet1}.{octet2}.1.23");
        let mut addr = caddr(resolve_service(&str_addr, 0));
        addr.n_time = now;
        addrman.add(&[addr], &resolve_ip(&str_addr), 0);
        if i % 8 == 0 {
            addrman.good(&addr.service, now);
        }
    }
    let v_addr = addrman.get_addr(2500, 23, None, true);
    let percent23 = addrman.size(None, None) * 23 / 100;
    assert_eq!(v_addr.len(), percent23);
    assert_eq!(v_addr.len(), 461);
    // fewer than added because of collisions
    assert_eq!(addrman.size(None, None), 2006);
}

/// Mirrors addrman_tests.cpp: getaddr_unfiltered
#[test]
fn addrman_tests__getaddr_unfiltered() {
    let c = clock();
    let addrman = new_addrman(DETERMINISTIC, &c);
    let now = c.now();

    let mut addr1 = caddr(resolve_service("250.250.2.1", 8333));
    addr1.n_time = now;
    // no time set: terrible
    let addr2 = caddr(resolve_service("250.251.2.2", 9999));
    let source = resolve_ip("250.1.2.1");
    assert!(addrman.add(&[addr1, addr2], &source, 0));

    let mut addr3 = caddr(resolve_service("250.251.2.3", 9998));
    addr3.n_time = now;
    addrman.good(&addr3.service, now);
    assert!(addrman.add(&[addr3], &source, 0));
    // ADDRMAN_RETRIES failures, none in the last minute: terrible
    for _ in 0..3 {
        addrman.attempt(&addr3.service, true, now - 61);
    }

    assert_eq!(addrman.get_addr(0, 0, None, true).len(), 1);
    assert_eq!(addrman.get_addr(0, 0, None, false).len(), 3);
}

/// Mirrors addrman_tests.cpp: caddrinfo_get_tried_bucket_legacy
#[test]
fn addrman_tests__caddrinfo_get_tried_bucket_legacy() {
    let ngm = NetGroupManager::new();
    let h = HashKind::Sha256d;
    let addr1 = caddr(resolve_service("250.1.1.1", 8333));
    let addr2 = caddr(resolve_service("250.1.1.1", 9999));
    let source1 = resolve_ip("250.1.1.1");
    let info1 = AddrInfo::new(addr1, source1);
    let n_key1 = hash_of_int(1);
    let n_key2 = hash_of_int(2);

    assert_eq!(info1.get_tried_bucket(&n_key1, &ngm, h), 40);

    // the key changes the bucket
    assert_ne!(
        info1.get_tried_bucket(&n_key1, &ngm, h),
        info1.get_tried_bucket(&n_key2, &ngm, h)
    );

    // same IP, another port: another key, another bucket
    let info2 = AddrInfo::new(addr2, source1);
    assert_ne!(info1.service.get_key(), info2.service.get_key());
    assert_ne!(
        info1.get_tried_bucket(&n_key1, &ngm, h),
        info2.get_tried_bucket(&n_key1, &ngm, h)
    );

    // one /16: at most 8 buckets
    let mut buckets = BTreeSet::new();
    for i in 0..255 {
        let ip = format!("250.1.1.{i}");
        let infoi = AddrInfo::new(caddr(resolve_service(&ip, 0)), resolve_ip(&ip));
        buckets.insert(infoi.get_tried_bucket(&n_key1, &ngm, h));
    }
    assert_eq!(buckets.len(), 8);

    // different /16s: more than 8
    buckets.clear();
    for j in 0..255 {
        let ip = format!("250.{j}.1.1");
        let infoj = AddrInfo::new(caddr(resolve_service(&ip, 0)), resolve_ip(&ip));
        buckets.insert(infoj.get_tried_bucket(&n_key1, &ngm, h));
    }
    assert_eq!(buckets.len(), 160);
}

/// Mirrors addrman_tests.cpp: caddrinfo_get_new_bucket_legacy
#[test]
fn addrman_tests__caddrinfo_get_new_bucket_legacy() {
    let ngm = NetGroupManager::new();
    let h = HashKind::Sha256d;
    let addr1 = caddr(resolve_service("250.1.2.1", 8333));
    let addr2 = caddr(resolve_service("250.1.2.1", 9999));
    let source1 = resolve_ip("250.1.2.1");
    let info1 = AddrInfo::new(addr1, source1);
    let n_key1 = hash_of_int(1);
    let n_key2 = hash_of_int(2);

    assert_eq!(info1.get_new_bucket(&n_key1, &ngm, h), 786);
    assert_eq!(info1.get_new_bucket_from(&n_key1, &source1, &ngm, h), 786);

    assert_ne!(
        info1.get_new_bucket(&n_key1, &ngm, h),
        info1.get_new_bucket(&n_key2, &ngm, h)
    );

    // the port does not change the new bucket
    let info2 = AddrInfo::new(addr2, source1);
    assert_ne!(info1.service.get_key(), info2.service.get_key());
    assert_eq!(
        info1.get_new_bucket(&n_key1, &ngm, h),
        info2.get_new_bucket(&n_key1, &ngm, h)
    );

    // one group: one bucket
    let mut buckets = BTreeSet::new();
    for i in 0..255 {
        let ip = format!("250.1.1.{i}");
        let infoi = AddrInfo::new(caddr(resolve_service(&ip, 0)), resolve_ip(&ip));
        buckets.insert(infoi.get_new_bucket(&n_key1, &ngm, h));
    }
    assert_eq!(buckets.len(), 1);

    // one source group: at most 64 buckets
    buckets.clear();
    for j in 0..(4 * 255) {
        let ip = format!("{}.{}.1.1", 250 + j / 255, j % 256);
        let infoj = AddrInfo::new(caddr(resolve_service(&ip, 0)), resolve_ip("251.4.1.1"));
        buckets.insert(infoj.get_new_bucket(&n_key1, &ngm, h));
    }
    assert!(buckets.len() <= 64);

    // different source groups: more than 64
    buckets.clear();
    for p in 0..255 {
        let infoj = AddrInfo::new(
            caddr(resolve_service("250.1.1.1", 0)),
            resolve_ip(&format!("250.{p}.1.1")),
        );
        buckets.insert(infoj.get_new_bucket(&n_key1, &ngm, h));
    }
    assert!(buckets.len() > 64);
}

/// Mirrors addrman_tests.cpp: addrman_serialization, for the parts that do not need an asmap
/// (netbase has none yet): a round trip keeps positions; a changed asmap checksum (the signal
/// Core uses) re-buckets by the primary source, as deserializing into a differently-mapped
/// addrman does.
#[test]
fn addrman_tests__addrman_serialization() {
    let c = clock();
    let addrman1 = new_addrman(DETERMINISTIC, &c);
    let addrman1_dup = new_addrman(DETERMINISTIC, &c);

    let addr = caddr(resolve_service("250.1.1.1", 0));
    let addr2 = caddr(resolve_service("250.2.1.1", 0));
    let default_source = CNetAddr::default();
    addrman1.add(&[addr, addr2], &default_source, 0);

    let mut stream = Vec::new();
    addrman1.serialize_body(&mut stream).unwrap();
    addrman1_dup.unserialize(&mut &stream[..]).unwrap();

    let addr_pos1 = addrman1.find_address_entry(&addr).unwrap();
    let addr_pos2 = addrman1_dup.find_address_entry(&addr).unwrap();
    assert_ne!(addr_pos1.multiplicity, 0);
    assert_ne!(addr_pos2.multiplicity, 0);
    assert_eq!(addr_pos1, addr_pos2);

    // same bytes again
    let mut stream2 = Vec::new();
    addrman1_dup.serialize_body(&mut stream2).unwrap();
    assert_eq!(stream, stream2);

    // other asmap checksum: re-bucketing path, entries keep a valid place
    let n = stream.len();
    stream[n - 1] ^= 1;
    let addrman_rebucket = new_addrman(DETERMINISTIC, &c);
    addrman_rebucket.unserialize(&mut &stream[..]).unwrap();
    assert_eq!(addrman_rebucket.size(None, None), 2);
    let addr_pos3 = addrman_rebucket.find_address_entry(&addr).unwrap();
    assert_ne!(addr_pos3.multiplicity, 0);
    assert_eq!(addr_pos3, addr_pos1);
    assert_eq!(addrman_rebucket.check_addrman(), 0);
}

/// Mirrors addrman_tests.cpp: remove_invalid
#[test]
fn addrman_tests__remove_invalid() {
    let c = clock();
    let mut addrman = new_addrman(DETERMINISTIC, &c);
    let new1 = caddr(resolve_service("5.5.5.5", 0));
    let new2 = caddr(resolve_service("6.6.6.6", 0));
    let tried1 = caddr(resolve_service("7.7.7.7", 0));
    let tried2 = caddr(resolve_service("8.8.8.8", 0));
    addrman.add(&[new1, tried1, new2, tried2], &CNetAddr::default(), 0);
    addrman.good(&tried1.service, c.now());
    addrman.good(&tried2.service, c.now());
    assert_eq!(addrman.size(None, None), 4);

    let mut stream = Vec::new();
    addrman.serialize_body(&mut stream).unwrap();

    let find = |s: &[u8], pat: &[u8]| s.windows(pat.len()).position(|w| w == pat).unwrap();
    // 0.0.0.0 is not valid
    let pos = find(&stream, &[6, 6, 6, 6]);
    stream[pos..pos + 4].copy_from_slice(&[0, 0, 0, 0]);
    // 255.255.255.255 is not valid
    let pos = find(&stream, &[8, 8, 8, 8]);
    stream[pos..pos + 4].copy_from_slice(&[255, 255, 255, 255]);

    addrman = new_addrman(DETERMINISTIC, &c);
    addrman.unserialize(&mut &stream[..]).unwrap();
    assert_eq!(addrman.size(None, None), 2);
}

/// Mirrors addrman_tests.cpp: addrman_selecttriedcollision
#[test]
fn addrman_tests__addrman_selecttriedcollision() {
    let c = clock();
    let addrman = new_addrman(DETERMINISTIC, &c);
    assert_eq!(addrman.size(None, None), 0);
    assert_eq!(
        addrman.select_tried_collision().0.to_string_addr_port(),
        "[::]:0"
    );

    let source = resolve_ip("252.2.2.2");
    for i in 1..23 {
        let addr = resolve_service(&format!("250.1.1.{i}"), 0);
        assert!(addrman.add(&[caddr(addr)], &source, 0));
        // no collisions in tried
        assert!(addrman.good(&addr, c.now()));
        assert_eq!(
            addrman.select_tried_collision().0.to_string_addr_port(),
            "[::]:0"
        );
    }

    // Good on a duplicate returns false and is no collision
    for i in 1..23 {
        let addr = resolve_service(&format!("250.1.1.{i}"), 0);
        assert!(!addrman.good(&addr, c.now()));
        assert_eq!(
            addrman.select_tried_collision().0.to_string_addr_port(),
            "[::]:0"
        );
    }
}

/// Mirrors addrman_tests.cpp: addrman_noevict
#[test]
fn addrman_tests__addrman_noevict() {
    let c = clock();
    let addrman = new_addrman(DETERMINISTIC, &c);
    let source = resolve_ip("252.2.2.2");
    for i in 1..36 {
        let addr = resolve_service(&format!("250.1.1.{i}"), 0);
        assert!(addrman.add(&[caddr(addr)], &source, 0));
        assert!(addrman.good(&addr, c.now()));
    }

    // 36 collides with 19
    let addr36 = resolve_service("250.1.1.36", 0);
    assert!(addrman.add(&[caddr(addr36)], &source, 0));
    assert!(!addrman.good(&addr36, c.now()));
    assert_eq!(
        addrman.select_tried_collision().0.to_string_addr_port(),
        "250.1.1.19:0"
    );

    // 19 connected recently: 36 is dropped from the collision set, 19 stays
    addrman.resolve_collisions();
    assert_eq!(
        addrman.select_tried_collision().0.to_string_addr_port(),
        "[::]:0"
    );

    for i in 37..59 {
        let addr = resolve_service(&format!("250.1.1.{i}"), 0);
        assert!(addrman.add(&[caddr(addr)], &source, 0));
        assert!(addrman.good(&addr, c.now()));
    }

    // 59 collides with 10
    let addr59 = resolve_service("250.1.1.59", 0);
    assert!(addrman.add(&[caddr(addr59)], &source, 0));
    assert!(!addrman.good(&addr59, c.now()));
    assert_eq!(
        addrman.select_tried_collision().0.to_string_addr_port(),
        "250.1.1.10:0"
    );

    // a second collision
    assert!(!addrman.add(&[caddr(addr36)], &source, 0));
    assert!(!addrman.good(&addr36, c.now()));
    assert_ne!(
        addrman.select_tried_collision().0.to_string_addr_port(),
        "[::]:0"
    );

    addrman.resolve_collisions();
    assert_eq!(
        addrman.select_tried_collision().0.to_string_addr_port(),
        "[::]:0"
    );
}

/// Mirrors addrman_tests.cpp: addrman_evictionworks
#[test]
fn addrman_tests__addrman_evictionworks() {
    let c = clock();
    let addrman = new_addrman(DETERMINISTIC, &c);
    assert_eq!(addrman.size(None, None), 0);
    assert_eq!(
        addrman.select_tried_collision().0.to_string_addr_port(),
        "[::]:0"
    );

    let source = resolve_ip("252.2.2.2");
    for i in 1..36 {
        let addr = resolve_service(&format!("250.1.1.{i}"), 0);
        assert!(addrman.add(&[caddr(addr)], &source, 0));
        assert!(addrman.good(&addr, c.now()));
    }

    // 36 collides with 19
    let addr = resolve_service("250.1.1.36", 0);
    assert!(addrman.add(&[caddr(addr)], &source, 0));
    assert!(!addrman.good(&addr, c.now()));
    let info = addrman.select_tried_collision().0;
    assert_eq!(info.to_string_addr_port(), "250.1.1.19:0");

    // make the test of 19 fail: last success long ago, tried 61 s ago
    assert!(!addrman.good(&info.service, 1));
    addrman.attempt(&info.service, false, c.now() - 61);

    // 36 replaces 19
    addrman.resolve_collisions();
    assert_eq!(
        addrman.select_tried_collision().0.to_string_addr_port(),
        "[::]:0"
    );
    let addr_pos = addrman.find_address_entry(&caddr(addr)).unwrap();
    assert!(addr_pos.tried);

    // 36 is now a duplicate in tried
    assert!(!addrman.good(&addr, c.now()));
    assert_eq!(
        addrman.select_tried_collision().0.to_string_addr_port(),
        "[::]:0"
    );

    // 19 now collides with 36
    let addr19 = resolve_service("250.1.1.19", 0);
    assert!(!addrman.good(&addr19, c.now()));
    assert_eq!(
        addrman.select_tried_collision().0.to_string_addr_port(),
        "250.1.1.36:0"
    );

    // eviction also after enough time without a try
    c.advance(4 * 60 * 60);
    addrman.resolve_collisions();
    assert_eq!(
        addrman.select_tried_collision().0.to_string_addr_port(),
        "[::]:0"
    );
    let addr_pos19 = addrman.find_address_entry(&caddr(addr19)).unwrap();
    assert!(addr_pos19.tried);
    let addr_pos36 = addrman.find_address_entry(&caddr(addr)).unwrap();
    assert!(!addr_pos36.tried);
}

fn addrman_to_stream(addrman: &AddrMan) -> Vec<u8> {
    let mut s = REGTEST_MAGIC.to_vec();
    addrman.serialize_body(&mut s).unwrap();
    s
}

/// Mirrors addrman_tests.cpp: load_addrman
#[test]
fn addrman_tests__load_addrman() {
    let c = clock();
    let addrman = new_addrman(DETERMINISTIC, &c);

    let addr1 = netbase::lookup("250.7.1.1", 8333, false, &netbase::no_dns);
    assert!(addr1.is_some());
    let addr2 = netbase::lookup("250.7.2.2", 9999, false, &netbase::no_dns);
    assert!(addr2.is_some());
    let addr3 = netbase::lookup("250.7.3.3", 9999, false, &netbase::no_dns);
    assert!(addr3.is_some());
    let addr4 = netbase::lookup("250.7.3.3\0example.com", 9999, false, &netbase::no_dns);
    assert!(addr4.is_none());

    let source = netbase::lookup("252.5.1.1", 8333, false, &netbase::no_dns).unwrap();
    let addresses = vec![
        caddr(addr1.unwrap()),
        caddr(addr2.unwrap()),
        caddr(addr3.unwrap()),
    ];
    assert!(addrman.add(&addresses, &source.addr, 0));
    assert_eq!(addrman.size(None, None), 3);

    // unserialize after the message start
    let ss_peers1 = addrman_to_stream(&addrman);
    let addrman1 = new_addrman(!DETERMINISTIC, &c);
    assert_eq!(addrman1.size(None, None), 0);
    let r = addrman1.unserialize(&mut &ss_peers1[4..]);
    assert!(r.is_ok());
    assert_eq!(addrman1.size(None, None), 3);

    // ReadFromStream
    let ss_peers2 = addrman_to_stream(&addrman);
    let addrman2 = new_addrman(!DETERMINISTIC, &c);
    assert_eq!(addrman2.size(None, None), 0);
    read_from_stream(&addrman2, &ss_peers2, REGTEST_MAGIC).unwrap();
    assert_eq!(addrman2.size(None, None), 3);
}

/// Core's MakeCorruptPeersDat: a V1 file claiming 10 new and 10 tried entries holding one.
fn make_corrupt_peers_dat() -> Vec<u8> {
    let mut s = REGTEST_MAGIC.to_vec();
    s.push(1); // nVersion
    s.push(32);
    let mut one = [0u8; 32];
    one[0] = 1;
    s.extend_from_slice(&one);
    s.extend_from_slice(&10i32.to_le_bytes()); // nNew
    s.extend_from_slice(&10i32.to_le_bytes()); // nTried
    let n_u_buckets = (ADDRMAN_NEW_BUCKET_COUNT as i32) ^ (1 << 30);
    s.extend_from_slice(&n_u_buckets.to_le_bytes());
    let serv = netbase::lookup("252.1.1.1", 7777, false, &netbase::no_dns).unwrap();
    let addr = caddr(serv);
    let resolved = resolve_ip("252.2.2.2");
    let info = AddrInfo::new(addr, resolved);
    info.serialize(&mut s, protocol::AddrEncoding::V1).unwrap();
    s
}

/// Mirrors addrman_tests.cpp: load_addrman_corrupted
#[test]
fn addrman_tests__load_addrman_corrupted() {
    let c = clock();
    let ss_peers1 = make_corrupt_peers_dat();
    let addrman1 = new_addrman(!DETERMINISTIC, &c);
    assert_eq!(addrman1.size(None, None), 0);
    let r = addrman1.unserialize(&mut &ss_peers1[4..]);
    assert!(r.is_err());
    assert_eq!(r.unwrap_err().kind, AddrDbErrorKind::Truncated);
    assert_eq!(addrman1.size(None, None), 0);
    assert_eq!(addrman1.check_addrman(), 0);

    let ss_peers2 = make_corrupt_peers_dat();
    let addrman2 = new_addrman(!DETERMINISTIC, &c);
    assert_eq!(addrman2.size(None, None), 0);
    assert!(read_from_stream(&addrman2, &ss_peers2, REGTEST_MAGIC).is_err());
}

/// Mirrors addrman_tests.cpp: addrman_update_address
#[test]
fn addrman_tests__addrman_update_address() {
    let c = clock();
    let addrman = new_addrman(DETERMINISTIC, &c);
    let source = resolve_ip("252.2.2.2");
    let mut addr = caddr(resolve_service("250.1.1.1", 8333));
    let start_time = c.now() - 10000;
    addr.n_time = start_time;
    assert!(addrman.add(&[addr], &source, 0));
    assert_eq!(addrman.size(None, None), 1);

    // another port: no change
    let mut addr_diff_port = caddr(resolve_service("250.1.1.1", 8334));
    addr_diff_port.n_time = start_time;
    addrman.connected(&addr_diff_port.service, c.now());
    addrman.set_services(&addr_diff_port.service, ServiceFlags::NODE_NETWORK_LIMITED);
    let v_addr1 = addrman.get_addr(0, 0, None, true);
    assert_eq!(v_addr1.len(), 1);
    assert_eq!(v_addr1[0].n_time, start_time);
    assert_eq!(v_addr1[0].n_services, ServiceFlags::NODE_NONE);

    // the right port
    addrman.connected(&addr.service, c.now());
    addrman.set_services(&addr.service, ServiceFlags::NODE_NETWORK_LIMITED);
    let v_addr2 = addrman.get_addr(0, 0, None, true);
    assert_eq!(v_addr2.len(), 1);
    assert!(v_addr2[0].n_time >= start_time + 10000);
    assert_eq!(v_addr2[0].n_services, ServiceFlags::NODE_NETWORK_LIMITED);

    // Add can add services, not remove them
    let mut addr_v2 = CAddress::with_services(
        resolve_service("250.1.1.1", 8333),
        ServiceFlags::NODE_P2P_V2,
    );
    addr_v2.n_time = start_time;
    assert!(!addrman.add(&[addr_v2], &source, 0));
    let v_addr3 = addrman.get_addr(0, 0, None, true);
    assert_eq!(v_addr3.len(), 1);
    assert_eq!(
        v_addr3[0].n_services,
        ServiceFlags::NODE_P2P_V2 | ServiceFlags::NODE_NETWORK_LIMITED
    );

    // SetServices overwrites
    addrman.set_services(&addr.service, ServiceFlags::NODE_NETWORK);
    let v_addr4 = addrman.get_addr(0, 0, None, true);
    assert_eq!(v_addr4.len(), 1);
    assert_eq!(v_addr4[0].n_services, ServiceFlags::NODE_NETWORK);

    // to tried: services unchanged
    assert!(addrman.good(&addr.service, c.now()));
    let v_addr5 = addrman.get_addr(0, 0, None, true);
    assert_eq!(v_addr5.len(), 1);
    assert_eq!(v_addr5[0].n_services, ServiceFlags::NODE_NETWORK);

    // services added in tried too
    assert!(!addrman.add(&[addr_v2], &source, 0));
    let v_addr6 = addrman.get_addr(0, 0, None, true);
    assert_eq!(v_addr6.len(), 1);
    assert_eq!(
        v_addr6[0].n_services,
        ServiceFlags::NODE_NETWORK | ServiceFlags::NODE_P2P_V2
    );
}

/// Mirrors addrman_tests.cpp: addrman_size
#[test]
fn addrman_tests__addrman_size() {
    let c = clock();
    let addrman = new_addrman(DETERMINISTIC, &c);
    let source = resolve_ip("252.2.2.2");

    assert_eq!(addrman.size(None, None), 0);
    assert_eq!(addrman.size(Some(Network::IPv4), None), 0);
    assert_eq!(addrman.size(None, Some(true)), 0);
    assert_eq!(addrman.size(Some(Network::IPv4), Some(false)), 0);

    let addr1 = caddr(resolve_service("250.1.1.1", 8333));
    assert!(addrman.add(std::slice::from_ref(&addr1), &source, 0));
    assert!(addrman.good(&addr1.service, c.now()));
    let addr2 = caddr(resolve_service("250.1.1.2", 8333));
    assert!(addrman.add(&[addr2], &source, 0));

    assert_eq!(addrman.size(None, None), 2);
    assert_eq!(addrman.size(Some(Network::IPv4), None), 2);
    assert_eq!(addrman.size(None, Some(true)), 1);
    assert_eq!(addrman.size(None, Some(false)), 1);
    assert_eq!(addrman.size(Some(Network::IPv4), Some(true)), 1);
    assert_eq!(addrman.size(Some(Network::IPv4), Some(false)), 1);

    let addr3 = special("UDHDrtrcetjm5sxzskjyr5ztpeszydbh4dpl3pl4utgqqw2v4jna.b32.I2P");
    assert!(addrman.add(&[addr3], &source, 0));
    assert_eq!(addrman.size(None, None), 3);
    assert_eq!(addrman.size(Some(Network::IPv4), None), 2);
    assert_eq!(addrman.size(Some(Network::I2P), None), 1);
    assert_eq!(addrman.size(Some(Network::I2P), Some(true)), 1);
    assert_eq!(addrman.size(None, Some(true)), 2);
    assert_eq!(addrman.size(None, Some(false)), 1);
}

/// The incompatible-version refusal, with Core's message text (AddrManImpl::Unserialize).
#[test]
fn unserialize_refuses_newer_incompatible_format() {
    let c = clock();
    let addrman = new_addrman(DETERMINISTIC, &c);
    let mut body = Vec::new();
    addrman.serialize_body(&mut body).unwrap();
    assert_eq!(&body[..2], &[4, 36]);
    // format 5, lowest compatible 5
    body[0] = 5;
    body[1] = INCOMPATIBILITY_BASE + 5;
    let fresh = new_addrman(DETERMINISTIC, &c);
    let err = fresh.unserialize(&mut &body[..]).unwrap_err();
    assert!(err.is_incompatible_version());
    assert_eq!(
        err.to_string(),
        "Unsupported format of addrman database: 5. It is compatible with formats >=5, but the maximum supported by this version of logos-p2p is 4."
    );
    // format 5 compatible with 4: readable
    body[1] = INCOMPATIBILITY_BASE + 4;
    let fresh = new_addrman(DETERMINISTIC, &c);
    fresh.unserialize(&mut &body[..]).unwrap();
    // compat below the base
    body[1] = 31;
    let fresh = new_addrman(DETERMINISTIC, &c);
    let err = fresh.unserialize(&mut &body[..]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Corrupted addrman database: The compat value (31) is lower than the expected minimum value 32."
    );
}

/// Core's "Corrupt AddrMan serialization" range checks on nNew / nTried.
#[test]
fn unserialize_rejects_out_of_range_counts() {
    let c = clock();
    let addrman = new_addrman(DETERMINISTIC, &c);
    let mut body = Vec::new();
    addrman.serialize_body(&mut body).unwrap();
    let mut b = body.clone();
    b[34..38].copy_from_slice(&(-1i32).to_le_bytes());
    let err = new_addrman(DETERMINISTIC, &c)
        .unserialize(&mut &b[..])
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "Corrupt AddrMan serialization: nNew=-1, should be in [0, 65536]"
    );
    let mut b = body.clone();
    b[38..42].copy_from_slice(&16385i32.to_le_bytes());
    let err = new_addrman(DETERMINISTIC, &c)
        .unserialize(&mut &b[..])
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "Corrupt AddrMan serialization: nTried=16385, should be in [0, 16384]"
    );
}

/// Whole-file framing: wrong magic, checksum mismatch, truncation, and a file name in the error.
#[test]
fn peers_dat_framing_errors() {
    let c = clock();
    let addrman = new_addrman(DETERMINISTIC, &c);
    addrman.add(
        &[caddr(resolve_service("250.1.1.1", 8333))],
        &resolve_ip("252.2.2.2"),
        0,
    );
    let file = write_peers_dat(&addrman, REGTEST_MAGIC);

    let ok = new_addrman(DETERMINISTIC, &c);
    read_peers_dat(&ok, &file, REGTEST_MAGIC).unwrap();
    assert_eq!(ok.size(None, None), 1);

    let e = read_peers_dat(
        &new_addrman(DETERMINISTIC, &c),
        &file,
        [0xf9, 0xbe, 0xb4, 0xd9],
    )
    .unwrap_err();
    assert!(matches!(e.kind, AddrDbErrorKind::WrongMagic { .. }));

    let mut bad = file.clone();
    let n = bad.len();
    bad[n - 1] ^= 0xff;
    let e = read_peers_dat(&new_addrman(DETERMINISTIC, &c), &bad, REGTEST_MAGIC).unwrap_err();
    assert_eq!(e.kind, AddrDbErrorKind::ChecksumMismatch);
    assert_eq!(e.to_string(), "Checksum mismatch, data corrupted");

    let e = read_peers_dat(
        &new_addrman(DETERMINISTIC, &c),
        &file[..n - 10],
        REGTEST_MAGIC,
    )
    .unwrap_err();
    assert_eq!(e.kind, AddrDbErrorKind::Truncated);
    let e =
        read_peers_dat(&new_addrman(DETERMINISTIC, &c), &file[..60], REGTEST_MAGIC).unwrap_err();
    assert_eq!(e.kind, AddrDbErrorKind::Truncated);

    // a Blake2b-hashed file does not verify as SHA256d
    let blake =
        AddrMan::new(NetGroupManager::new(), true, 0, HashKind::Blake2b256).with_clock(c.clone());
    blake.add(
        &[caddr(resolve_service("250.1.1.1", 8333))],
        &resolve_ip("252.2.2.2"),
        0,
    );
    let bfile = write_peers_dat(&blake, REGTEST_MAGIC);
    let e = read_peers_dat(&new_addrman(DETERMINISTIC, &c), &bfile, REGTEST_MAGIC).unwrap_err();
    assert_eq!(e.kind, AddrDbErrorKind::ChecksumMismatch);
    let again = AddrMan::new(NetGroupManager::new(), true, 0, HashKind::Blake2b256);
    read_peers_dat(&again, &bfile, REGTEST_MAGIC).unwrap();
    assert_eq!(again.size(None, None), 1);

    // files
    let dir = std::env::temp_dir().join(format!("addrman-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("peers.dat");
    write_peers_dat_file(&addrman, &path, REGTEST_MAGIC).unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), file);
    let loaded = new_addrman(DETERMINISTIC, &c);
    read_peers_dat_file(&loaded, &path, REGTEST_MAGIC).unwrap();
    assert_eq!(loaded.size(None, None), 1);
    std::fs::write(&path, &bad).unwrap();
    let e = read_peers_dat_file(&new_addrman(DETERMINISTIC, &c), &path, REGTEST_MAGIC).unwrap_err();
    assert!(e.to_string().contains("peers.dat"));
    assert!(e.to_string().ends_with("Checksum mismatch, data corrupted"));
    let e = read_peers_dat_file(
        &new_addrman(DETERMINISTIC, &c),
        &dir.join("absent.dat"),
        REGTEST_MAGIC,
    )
    .unwrap_err();
    assert_eq!(e.kind, AddrDbErrorKind::NotFound);
    std::fs::remove_dir_all(&dir).unwrap();
}
