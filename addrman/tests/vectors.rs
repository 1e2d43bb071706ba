//! Tests against files written by a real bitcoind (shared/vectors, see its README.md): loading
//! its peers.dat puts every entry in the bucket and slot bitcoind reports in `getrawaddrman`,
//! writing it back gives the same bytes, and replaying bitcoind's `-debug=addrman` log with the
//! file's `nKey` reproduces every placement it logged.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use ::addrman::*;
use netbase::{CService, NetGroupManager};
use protocol::{CAddress, HashKind, ServiceFlags};
use serde_json::Value;

const REGTEST_MAGIC: [u8; 4] = [0xfa, 0xbf, 0xb5, 0xda];

fn vectors_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/vectors")
}

fn read(rel: &str) -> Vec<u8> {
    let p = vectors_dir().join(rel);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn load(rel: &str) -> AddrMan {
    load_into(
        AddrMan::new(NetGroupManager::new(), false, 0, HashKind::Sha256d),
        rel,
    )
}

fn load_into(am: AddrMan, rel: &str) -> AddrMan {
    let bytes = read(rel);
    let am = am.with_clock(MockClock::shared(1_795_503_770));
    read_peers_dat(&am, &bytes, REGTEST_MAGIC).unwrap_or_else(|e| panic!("{rel}: {e}"));
    am
}

/// One `getrawaddrman` entry, as our addrman describes it.
fn describe(info: &AddrInfo) -> BTreeMap<&'static str, Value> {
    let mut m = BTreeMap::new();
    m.insert("address", Value::from(info.service.addr.to_string_addr()));
    m.insert(
        "network",
        Value::from(netbase::get_network_name(info.service.addr.get_net_class())),
    );
    m.insert("port", Value::from(info.service.get_port()));
    m.insert("services", Value::from(info.n_services.0));
    m.insert("time", Value::from(info.n_time));
    m.insert("source", Value::from(info.source.to_string_addr()));
    m.insert(
        "source_network",
        Value::from(netbase::get_network_name(info.source.get_net_class())),
    );
    m
}

fn check_against_getrawaddrman(am: &AddrMan, json_rel: &str) {
    let json: Value = serde_json::from_slice(&read(json_rel)).unwrap();
    for (table, from_tried) in [("new", false), ("tried", true)] {
        let expected = json[table].as_object().unwrap();
        let entries = am.get_entries(from_tried);
        assert_eq!(
            entries.len(),
            expected.len(),
            "{json_rel} {table}: entry count"
        );
        for (info, pos) in &entries {
            assert_eq!(pos.tried, from_tried);
            let key = format!("{}/{}", pos.bucket, pos.position);
            let want = expected.get(&key).unwrap_or_else(|| {
                panic!(
                    "{json_rel}: no {table} entry at {key} ({})",
                    info.to_string_addr_port()
                )
            });
            let got = describe(info);
            for (field, value) in &got {
                assert_eq!(
                    &want[*field], value,
                    "{json_rel} {table}[{key}] field {field}"
                );
            }
        }
    }
}

/// bitcoind-regtest/peers.dat: 1,105 new and 383 tried, bitcoind's placement, byte-equal save.
#[test]
fn bitcoind_regtest_peers_dat_loads_in_place_and_round_trips() {
    let am = load("bitcoind-regtest/peers.dat");
    assert_eq!(am.size(None, Some(true)), 1105);
    assert_eq!(am.size(None, Some(false)), 383);
    assert_eq!(am.size(None, None), 1488);
    assert_eq!(am.size(Some(netbase::Network::IPv4), None), 1191);
    assert_eq!(am.size(Some(netbase::Network::IPv6), None), 297);
    assert_eq!(am.check_addrman(), 0);
    check_against_getrawaddrman(&am, "bitcoind-regtest/getrawaddrman.json");

    let original = read("bitcoind-regtest/peers.dat");
    let written = write_peers_dat(&am, REGTEST_MAGIC);
    assert_eq!(written.len(), original.len());
    assert!(written == original, "re-serialized peers.dat differs");
}

/// The same files loaded into a compact addrman (`AddrMan::new_compact`, the simulator's): every
/// entry where bitcoind's `getrawaddrman` puts it, the same entries as the dense addrman, and
/// byte-equal re-serialization.
#[test]
fn bitcoind_peers_dat_in_compact_addrman() {
    for dir in ["bitcoind-regtest", "bitcoind-regtest-allnets"] {
        let rel = format!("{dir}/peers.dat");
        let compact = load_into(
            AddrMan::new_compact(NetGroupManager::new(), [21; 32], 1, HashKind::Sha256d),
            &rel,
        );
        assert!(compact.is_compact());
        assert_eq!(compact.check_addrman(), 0);
        check_against_getrawaddrman(&compact, &format!("{dir}/getrawaddrman.json"));
        let dense = load(&rel);
        for tried in [false, true] {
            assert!(
                compact.get_entries(tried) == dense.get_entries(tried),
                "{dir}"
            );
        }
        let written = write_peers_dat(&compact, REGTEST_MAGIC);
        assert!(
            written == read(&rel),
            "{dir}: re-serialized peers.dat differs"
        );
    }
}

/// bitcoind-regtest-allnets/peers.dat: IPv4, IPv6, Tor v3, I2P and CJDNS entries.
#[test]
fn bitcoind_allnets_peers_dat_loads_in_place_and_round_trips() {
    let am = load("bitcoind-regtest-allnets/peers.dat");
    assert_eq!(am.check_addrman(), 0);
    check_against_getrawaddrman(&am, "bitcoind-regtest-allnets/getrawaddrman.json");
    for net in [
        netbase::Network::IPv4,
        netbase::Network::IPv6,
        netbase::Network::Onion,
        netbase::Network::I2P,
        netbase::Network::CJDNS,
    ] {
        assert!(am.size(Some(net), None) > 0, "{net:?}");
    }
    let original = read("bitcoind-regtest-allnets/peers.dat");
    let written = write_peers_dat(&am, REGTEST_MAGIC);
    assert!(written == original, "re-serialized peers.dat differs");
}

/// An addrman with a given `nKey` and nothing in it, made by loading an empty serialization.
fn empty_with_key(key: &[u8], clock: Arc<MockClock>) -> AddrMan {
    let mut body = vec![4u8, 36];
    body.extend_from_slice(key);
    body.extend_from_slice(&0i32.to_le_bytes());
    body.extend_from_slice(&0i32.to_le_bytes());
    body.extend_from_slice(&((ADDRMAN_NEW_BUCKET_COUNT as i32) ^ (1 << 30)).to_le_bytes());
    for _ in 0..ADDRMAN_NEW_BUCKET_COUNT {
        body.extend_from_slice(&0i32.to_le_bytes());
    }
    body.extend_from_slice(&[0u8; 32]);
    let am = AddrMan::new(NetGroupManager::new(), false, 0, HashKind::Sha256d).with_clock(clock);
    am.unserialize(&mut &body[..]).unwrap();
    am
}

/// As bitcoind's `addpeeraddress` with `-cjdnsreachable=1`: fc00::/8 becomes CJDNS.
fn parse_service(s: &str) -> CService {
    let service =
        netbase::lookup(s, 0, false, &netbase::no_dns).unwrap_or_else(|| panic!("parse {s}"));
    netbase::maybe_flip_ipv6_to_cjdns(&service, true)
}

/// Seconds since the epoch of a log timestamp like `2026-11-24T19:12:06Z`.
fn log_time(ts: &str) -> i64 {
    let (date, time) = ts.trim_end_matches('Z').split_once('T').unwrap();
    let d: Vec<i64> = date.split('-').map(|x| x.parse().unwrap()).collect();
    let t: Vec<i64> = time.split(':').map(|x| x.parse().unwrap()).collect();
    // days from civil (proleptic Gregorian)
    let (y, m, day) = (d[0], d[1], d[2]);
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146097 + doe - 719468;
    days * 86400 + t[0] * 3600 + t[1] * 60 + t[2]
}

fn bracket_pos(s: &str) -> (i32, i32) {
    // "...[b][p]"
    let parts: Vec<&str> = s.split(['[', ']']).filter(|x| !x.is_empty()).collect();
    let n = parts.len();
    (parts[n - 2].parse().unwrap(), parts[n - 1].parse().unwrap())
}

/// Replays bitcoind's `-debug=addrman` log of the allnets run (one `addpeeraddress` per
/// address: `Add({a}, a)` then `Good(a)` for tried ones) on an addrman holding the same `nKey`:
/// every `Added … to new[b][p]` / `Moved … to tried[b][p]` lands where bitcoind logged it, the
/// logged collision happens, and the final tables equal bitcoind's `getrawaddrman`.
#[test]
fn bitcoind_allnets_debug_log_replay() {
    let peers = read("bitcoind-regtest-allnets/peers.dat");
    let key = &peers[6..38];
    let clock = MockClock::shared(0);
    let am = empty_with_key(key, clock.clone());
    assert_eq!(&am.key()[..], key);

    let log = String::from_utf8(read("bitcoind-regtest-allnets/debug-net.log")).unwrap();
    let services = ServiceFlags::NODE_NETWORK | ServiceFlags::NODE_WITNESS;
    let (mut added, mut moved, mut collisions) = (0, 0, 0);
    let mut times: HashMap<CService, i64> = HashMap::new();
    for line in log.lines() {
        let Some((ts, rest)) = line.split_once(' ') else {
            continue;
        };
        let Some(msg) = rest.strip_prefix("[addrman] ") else {
            continue;
        };
        let now = log_time(ts);
        clock.set(now);
        if let Some(body) = msg.strip_prefix("Added ") {
            if let Some((addr, slot)) = body.split_once(" to new") {
                let service = parse_service(addr);
                let a = CAddress::new(service, services, now);
                assert!(am.add(std::slice::from_ref(&a), &service.addr, 0), "{line}");
                times.insert(service, now);
                let pos = am.find_address_entry(&a).unwrap();
                assert!(!pos.tried);
                assert_eq!((pos.bucket, pos.position), bracket_pos(slot), "{line}");
                added += 1;
            }
        } else if let Some(body) = msg.strip_prefix("Moved ") {
            let (addr, slot) = body.split_once(" to tried").expect(line);
            let service = parse_service(addr);
            assert!(am.good(&service, now), "{line}");
            let pos = am
                .find_address_entry(&CAddress::with_services(service, services))
                .unwrap();
            assert!(pos.tried);
            assert_eq!((pos.bucket, pos.position), bracket_pos(slot), "{line}");
            moved += 1;
        } else if let Some(body) = msg.strip_prefix("Collision with ") {
            let (_, tail) = body.split_once(" while attempting to move ").unwrap();
            let addr = tail.split_once(" to tried table").unwrap().0;
            assert!(!am.good(&parse_service(addr), now), "{line}");
            collisions += 1;
        }
    }
    assert_eq!(collisions, 1);
    assert!(added > 600 && moved > 100, "added {added} moved {moved}");
    assert_eq!(am.check_addrman(), 0);

    // same tables as bitcoind's getrawaddrman (times within the second the log line was written)
    let json: Value =
        serde_json::from_slice(&read("bitcoind-regtest-allnets/getrawaddrman.json")).unwrap();
    for (table, from_tried) in [("new", false), ("tried", true)] {
        let expected = json[table].as_object().unwrap();
        let entries = am.get_entries(from_tried);
        assert_eq!(entries.len(), expected.len(), "{table}");
        for (info, pos) in entries {
            let key = format!("{}/{}", pos.bucket, pos.position);
            let want = &expected[&key];
            assert_eq!(
                want["address"],
                Value::from(info.service.addr.to_string_addr()),
                "{key}"
            );
            assert_eq!(want["port"], Value::from(info.service.get_port()), "{key}");
            let t = want["time"].as_i64().unwrap();
            assert!(
                (info.n_time - t).abs() <= 1,
                "{key}: time {} vs {t}",
                info.n_time
            );
        }
    }
}

/// The Blake2b (Logos) hash gives a different placement than SHA256d for the same key, and a
/// Blake2b addrman round-trips its own peers.dat.
#[test]
fn blake2b_placement_differs_and_round_trips() {
    let sha = load("bitcoind-regtest/peers.dat");
    let mut body = Vec::new();
    sha.serialize_body(&mut body).unwrap();
    let blake = AddrMan::new(NetGroupManager::new(), false, 0, HashKind::Blake2b256)
        .with_clock(MockClock::shared(1_795_503_770));
    blake.unserialize(&mut &body[..]).unwrap();
    assert_eq!(blake.check_addrman(), 0);
    // tried entries are re-placed by the Blake2b hash: some collide, and the slots differ
    let sha_tried: Vec<_> = sha
        .get_entries(true)
        .into_iter()
        .map(|(i, p)| (i.service, p))
        .collect();
    let blake_tried: HashMap<_, _> = blake
        .get_entries(true)
        .into_iter()
        .map(|(i, p)| (i.service, p))
        .collect();
    let same = sha_tried
        .iter()
        .filter(|(s, p)| blake_tried.get(s) == Some(p))
        .count();
    assert!(same < sha_tried.len() / 10, "{same} of {}", sha_tried.len());
    let file = write_peers_dat(&blake, REGTEST_MAGIC);
    let again = AddrMan::new(NetGroupManager::new(), false, 1, HashKind::Blake2b256);
    read_peers_dat(&again, &file, REGTEST_MAGIC).unwrap();
    assert_eq!(write_peers_dat(&again, REGTEST_MAGIC), file);
}
