//! Fuzz entry points of this crate (see `protocol::fuzz` for how targets are run and replayed):
//! [`addrman_ops`] (Core's `addrman`), [`peers_dat`] (Core's `data_stream_addr_man`),
//! [`banlist_json`] (Core's `banman`, its file half) and [`store_values`] (what the node reads
//! from its store at start). Not part of the API.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use netbase::{CNetAddr, CService, NetGroupManager, Network};
use protocol::fuzz::FuzzInput;
use protocol::{CAddress, Chain, HashKind, NetworkParams, ServiceFlags};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

use crate::banlist_json::{list_banned, read_banlist_json, write_banlist_json};
use crate::banman::{BanMan, CBanEntry, MemoryBanDb};
use crate::clock::{Clock, MockClock};
use crate::store::{AddrManOptions, KvBanDb, KvStore, BANLIST_KEY, PEERS_BACKUP_KEY, PEERS_KEY};
use crate::{read_from_stream, read_peers_dat, write_peers_dat, AddrMan};

/// The time the targets start at, seconds.
const START: i64 = 1_795_503_770;

/// An address from a small space (so operations meet existing entries), of any network.
fn fuzz_service(input: &mut FuzzInput<'_>) -> Option<CService> {
    let kind = input.u8()?;
    let port = if input.bool()? { 8333 } else { input.u16()? };
    let addr = match kind % 8 {
        0..=3 => {
            let x = input.u16()?;
            CNetAddr::from_ipv4([kind, (x >> 8) as u8 & 7, x as u8, 1].into())
        }
        4 | 5 => {
            let mut b = [0u8; 16];
            b[0] = 0x20;
            b[1] = 0x01;
            b[2] = input.u8()?;
            b[15] = input.u8()?;
            CNetAddr::from_ipv6(b.into(), 0)
        }
        6 => {
            let mut b = [0u8; 16];
            b[0] = 0xfc;
            b[15] = input.u8()?;
            let s = CService::new(CNetAddr::from_ipv6(b.into(), 0), port);
            netbase::maybe_flip_ipv6_to_cjdns(&s, true).addr
        }
        _ => {
            let mut a = CNetAddr::default();
            a.set_special(if input.bool()? {
                "udhdrtrcetjm5sxzskjyr5ztpeszydbh4dpl3pl4utgqqw2v4jna.b32.i2p"
            } else {
                "pg6mmjiyjmcrsslvykfwnntlaru7p5svn6y2ymmju6nubxndf4pscryd.onion"
            });
            a
        }
    };
    Some(CService::new(addr, port))
}

/// A set of networks chosen by the bits of `mask`.
fn networks(mask: u8) -> HashSet<Network> {
    [
        Network::IPv4,
        Network::IPv6,
        Network::Onion,
        Network::I2P,
        Network::CJDNS,
    ]
    .into_iter()
    .enumerate()
    .filter(|(i, _)| mask & (1 << i) != 0)
    .map(|(_, n)| n)
    .collect()
}

/// The same operations on two address managers that must give the same results: Core's dense
/// bucket tables and the simulator's compact ones, from the same seed.
struct TwoAddrMans {
    dense: AddrMan,
    compact: AddrMan,
    clock: Arc<MockClock>,
    hash: HashKind,
    /// A save and reload happened (once per input: it scans the dense tables twice).
    reloaded: bool,
}

impl TwoAddrMans {
    fn new(seed: [u8; 32], hash: HashKind, clock: Arc<MockClock>) -> Self {
        TwoAddrMans {
            dense: AddrMan::new_with_seed(NetGroupManager::new(), seed, 0, hash)
                .with_clock(clock.clone()),
            compact: AddrMan::new_compact(NetGroupManager::new(), seed, 0, hash)
                .with_clock(clock.clone()),
            clock,
            hash,
            reloaded: false,
        }
    }

    /// `f` on both; the results must be equal.
    fn both<T: PartialEq + std::fmt::Debug>(&self, f: impl Fn(&AddrMan) -> T) -> T {
        let a = f(&self.dense);
        let b = f(&self.compact);
        assert_eq!(a, b, "dense and compact tables disagree");
        a
    }

    /// Core's `CheckAddrman` (what `-checkaddrman=1` runs around every operation) on the
    /// compact tables, and on the dense ones when `dense` (scanning their 81,920 cells under the
    /// fuzzer's instrumentation costs a millisecond; the two agree on every result anyway).
    fn check(&self, dense: bool) {
        assert_eq!(
            self.compact.check_addrman(),
            0,
            "compact addrman inconsistent"
        );
        if dense {
            assert_eq!(self.dense.check_addrman(), 0, "dense addrman inconsistent");
        }
    }
}

/// Not in Core: target `addrman_ops` (as Core's `addrman`), random address manager operations
/// (add, good, attempt, select, get_addr, connected, set_services, resolve_collisions,
/// select_tried_collision, find_address_entry, time passing, a save and reload), each followed by
/// Core's full consistency check (`-checkaddrman=1`; see `TwoAddrMans::check`). Every operation
/// runs on a dense and a compact address manager from the same seed, which must agree on every
/// result and serialize to the same peers.dat; a saved address manager loads back to the same
/// bytes.
pub fn addrman_ops(data: &[u8]) {
    let mut input = FuzzInput::new(data);
    let Some(cfg) = input.u8() else { return };
    let hash = if cfg & 1 == 0 {
        HashKind::Sha256d
    } else {
        HashKind::Blake2b256
    };
    let mut seed = [0u8; 32];
    seed[0] = cfg;
    let clock = MockClock::shared(START);
    let mut am = TwoAddrMans::new(seed, hash, clock.clone());
    let magic = [0xfa, 0xbf, 0xb5, 0xda];
    for n in 1..=1_000 {
        if addrman_op(&mut am, &mut input, magic).is_none() {
            break;
        }
        am.check(n % 64 == 0);
    }
    am.check(true);
    let bytes = am.both(|a| write_peers_dat(a, magic));
    let loaded = AddrMan::new_with_seed(NetGroupManager::new(), seed, 0, hash);
    read_peers_dat(&loaded, &bytes, magic).expect("our own peers.dat loads");
    assert_eq!(loaded.check_addrman(), 0);
    assert_eq!(loaded.size(None, None), am.dense.size(None, None));
    assert_eq!(write_peers_dat(&loaded, magic), bytes);
}

fn addrman_op(am: &mut TwoAddrMans, input: &mut FuzzInput<'_>, magic: [u8; 4]) -> Option<()> {
    let now = am.clock.now();
    match input.u8()? % 24 {
        0..=8 => {
            let n = 1 + usize::from(input.u8()? % 4);
            let mut v = Vec::new();
            for _ in 0..n {
                let s = fuzz_service(input)?;
                let age = i64::from(input.u32()?) - 3600;
                let services = ServiceFlags(u64::from(input.u16()?));
                v.push(CAddress::new(s, services, now - age));
            }
            let source = fuzz_service(input)?.addr;
            let penalty = i64::from(input.u16()?);
            am.both(|a| a.add(&v, &source, penalty));
        }
        9 | 10 => {
            let s = fuzz_service(input)?;
            let t = now - i64::from(input.u16()?);
            am.both(|a| a.good(&s, t));
        }
        11 | 12 => {
            let s = fuzz_service(input)?;
            let f = input.bool()?;
            let t = now - i64::from(input.u16()?);
            am.both(|a| a.attempt(&s, f, t));
        }
        13 | 14 => {
            let mask = input.u8()?;
            let nets = networks(mask);
            let (a, _) = am.both(|a| a.select(mask & 0x80 != 0, &nets));
            assert!(!a.is_valid() || nets.is_empty() || nets.contains(&a.get_network()));
        }
        15 | 16 => {
            let max = usize::from(input.u16()?);
            let pct = usize::from(input.u8()? % 101);
            let filtered = input.bool()?;
            let v = am.both(|a| a.get_addr(max, pct, None, filtered));
            assert!(max == 0 || v.len() <= max);
        }
        17 | 18 => {
            let s = fuzz_service(input)?;
            let services = ServiceFlags(u64::from(input.u16()?));
            am.both(|a| {
                a.connected(&s, now);
                a.set_services(&s, services);
            });
        }
        19 => {
            am.both(|a| {
                a.resolve_collisions();
                a.select_tried_collision()
            });
        }
        20 | 21 => am.clock.advance(i64::from(input.u16()?) * 16),
        23 if !am.reloaded => {
            // Save and load again (a restart): both from the same bytes and a new seed.
            let bytes = am.both(|a| write_peers_dat(a, magic));
            let mut seed = [0u8; 32];
            seed[1] = input.u8()?;
            let next = TwoAddrMans::new(seed, am.hash, am.clock.clone());
            next.both(|a| read_peers_dat(a, &bytes, magic).map_err(|e| e.to_string()))
                .expect("our own peers.dat loads");
            assert_eq!(next.both(|a| write_peers_dat(a, magic)), bytes);
            *am = next;
            am.reloaded = true;
        }
        _ => {
            let s = fuzz_service(input)?;
            am.both(|a| a.find_address_entry(&CAddress::with_services(s, ServiceFlags::NODE_NONE)));
        }
    }
    Some(())
}

/// Not in Core: target `peers_dat` (as Core's `data_stream_addr_man`), peers.dat bytes. Any input
/// either fails with a typed error, leaving an empty, consistent address manager, or loads into a
/// consistent one whose own serialization loads again to the same bytes; dense and compact tables
/// agree. The input is read as a whole file (checksum checked), and as the data after the message
/// start without the checksum check, with the regtest and the Logos regtest network hash.
pub fn peers_dat(data: &[u8]) {
    for chain in [Chain::Regtest, Chain::LogosRegtest] {
        let params = NetworkParams::get(chain);
        let magic = params.message_start;
        let mut framed = magic.to_vec();
        framed.extend_from_slice(data);
        for (bytes, check) in [(data, true), (&framed[..], false)] {
            let dense = AddrMan::new(NetGroupManager::new(), true, 0, params.hash_kind);
            let compact =
                AddrMan::new_compact(NetGroupManager::new(), [0; 32], 0, params.hash_kind);
            let mut results = Vec::new();
            for addrman in [&dense, &compact] {
                let result = if check {
                    read_peers_dat(addrman, bytes, magic)
                } else {
                    read_from_stream(addrman, bytes, magic)
                };
                assert_eq!(addrman.check_addrman(), 0);
                match &result {
                    Ok(()) => {
                        let out = write_peers_dat(addrman, magic);
                        let again = AddrMan::new(NetGroupManager::new(), true, 0, params.hash_kind);
                        read_peers_dat(&again, &out, magic).expect("re-serialized peers.dat loads");
                        assert_eq!(again.size(None, None), addrman.size(None, None));
                        assert_eq!(write_peers_dat(&again, magic), out);
                        results.push(Ok(out));
                    }
                    Err(e) => {
                        let _ = e.to_string();
                        assert_eq!(addrman.size(None, None), 0, "a failed load left addresses");
                        results.push(Err(e.kind.clone()));
                    }
                }
            }
            assert_eq!(results[0], results[1], "dense and compact tables disagree");
        }
    }
}

/// Not in Core: target `banlist_json`, the text of a `banlist.json` (Core's `CBanDB::Read`). Any
/// text either fails with a "corrupt" error or gives bans of valid subnets and the current entry
/// version, which write to a `banlist.json` that reads back to the same bans and the same text; the
/// `listbanned` view of them can be built; and a ban manager over them answers for each.
pub fn banlist_json(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let parsed = match read_banlist_json(text, "banlist.json") {
        Ok(p) => p,
        Err(e) => {
            assert!(e.is_corrupt(), "{e}");
            return;
        }
    };
    for (subnet, entry) in &parsed.bans {
        assert!(subnet.is_valid());
        assert_eq!(entry.n_version, CBanEntry::CURRENT_VERSION);
    }
    let out = write_banlist_json(&parsed.bans);
    let again = read_banlist_json(&out, "banlist.json").expect("our own banlist.json reads");
    assert_eq!(
        again.bans, parsed.bans,
        "bans changed through a write and a read"
    );
    assert!(again.dropped.is_empty());
    assert_eq!(write_banlist_json(&again.bans), out);
    let _ = list_banned(&parsed.bans, START).write(0, 0);

    let clock = MockClock::shared(START);
    let db = Arc::new(MemoryBanDb::with(parsed.bans.clone()));
    let banman = BanMan::new(
        Box::new(db.clone()),
        None,
        24 * 3600,
        clock,
        &mut ChaCha20Rng::seed_from_u64(0),
    );
    let kept = banman.get_banned();
    for (subnet, entry) in &parsed.bans {
        // BanMan::SweepBanned keeps a ban while now <= its end.
        assert_eq!(kept.contains_key(subnet), START <= entry.n_ban_until);
        assert_eq!(banman.is_banned_subnet(subnet), kept.contains_key(subnet));
    }
    banman.dump_banlist();
    assert_eq!(db.stored(), Some(kept));
}

/// Not in Core: target `store_values`, the values a node finds in its store at start, loaded as the
/// node loads them (`load_addrman_or_move_aside`, then `BanMan` over the stored ban list).
///
/// Input: a configuration byte (network; which values exist; whether the peers.dat value gets
/// its right checksum appended, so the fuzzer reaches the address data), the peers.dat value,
/// then the banlist.json value. Whatever is stored, the node starts: with a consistent address
/// manager; an unreadable value moved aside under a new key (or to `peers.dat.bak` for a newer
/// format) holding the original bytes, and a readable one left in its place; the stored values
/// afterwards load without error to what the node holds.
pub fn store_values(data: &[u8]) {
    let mut input = FuzzInput::new(data);
    let Some(cfg) = input.u8() else { return };
    let Some(peers) = input.long_bytes() else {
        return;
    };
    let banlist = input.rest();
    let chain = if cfg & 1 == 0 {
        Chain::Regtest
    } else {
        Chain::LogosRegtest
    };
    let params = NetworkParams::get(chain);
    let mut peers = peers.to_vec();
    if cfg & 8 != 0 {
        let hash = params.hash_kind.hash(&peers);
        peers.extend_from_slice(&hash);
    }
    let store = Arc::new(crate::store::MemoryStore::default());
    if cfg & 2 != 0 {
        store.put(PEERS_KEY, &peers).expect("memory");
    }
    if cfg & 4 != 0 {
        store.put(BANLIST_KEY, banlist).expect("memory");
    }
    let key_before = store.list_keys().expect("memory").unwrap_or_default();

    let opts = AddrManOptions {
        params,
        deterministic: true,
        consistency_check_ratio: 0,
    };
    let (addrman, recovered) = store
        .load_addrman_or_move_aside(NetGroupManager::new(), &opts)
        .expect("a memory store does not fail");
    assert_eq!(addrman.check_addrman(), 0);
    let values: BTreeMap<String, Vec<u8>> = store
        .list_keys()
        .expect("memory")
        .unwrap_or_default()
        .into_iter()
        .filter_map(|k| store.get(&k).expect("memory").map(|v| (k, v)))
        .collect();
    if recovered.is_some() {
        assert_eq!(addrman.size(None, None), 0);
        let aside = values
            .iter()
            .find(|(k, _)| k.starts_with("peers.dat.corrupt-"))
            .expect("the unreadable value is kept aside");
        assert_eq!(aside.1, &peers);
    } else if cfg & 2 != 0 && values.contains_key(PEERS_BACKUP_KEY) {
        assert_eq!(
            values[PEERS_BACKUP_KEY], peers,
            "the backup is the original value"
        );
    }
    let reread = store
        .read_addrman(NetGroupManager::new(), &opts)
        .expect("the stored peers.dat reads after start")
        .expect("a peers.dat is stored after start");
    assert_eq!(
        write_peers_dat(&reread, params.message_start),
        write_peers_dat(&addrman, params.message_start)
    );

    let clock = MockClock::shared(START);
    let banman = BanMan::new(
        Box::new(KvBanDb(store.clone())),
        None,
        24 * 3600,
        clock,
        &mut ChaCha20Rng::seed_from_u64(0),
    );
    let bans = banman.get_banned();
    let _ = list_banned(&bans, START).write(0, 0);
    banman.dump_banlist();
    let stored = store
        .load_banlist()
        .expect("the stored ban list reads after start");
    assert_eq!(stored.bans, bans);
    // Nothing stored before is lost: every old key still holds its value or was moved aside.
    let after = store.list_keys().expect("memory").unwrap_or_default();
    for k in key_before {
        if !after.contains(&k) {
            assert!(
                after.iter().any(|n| n.starts_with(&format!("{k}."))),
                "{k} vanished"
            );
        }
    }
}
