//! Port of Core's `AddrManImpl` (addrman_impl.h, addrman.cpp): the new/tried tables, their
//! bookkeeping, and the on-disk (de)serialization of the address manager.
//!
//! Every method here runs with the lock `cs` held by [`crate::AddrMan`]; the `_`-suffixed names
//! are Core's "lock already held" helpers. The containers are Core's (`mapInfo`, `mapAddr`,
//! `vRandom`, `vvNew`, `vvTried`, `m_tried_collisions`) with internal changes that leave every
//! result and every random draw as in Core:
//! - `mapInfo` is a slab indexed by id (ids are handed out in increasing order), renumbered in
//!   order when deleted ids leave too many holes (`AddrManImpl::maybe_compact_ids`);
//! - each entry's placement hashes are memoized, and `Add_` memoizes the source-group half of
//!   the new-bucket hash for the addresses of one call;
//! - per-bucket network counts let `Select_` skip buckets that hold nothing it may return;
//! - `vvNew` and `vvTried` are a `BucketTable`: Core's arrays, or only their occupied
//!   positions for the simulator's compact addrman ([`crate::AddrMan::new_compact`]).
//!
//! One difference is visible, in the serialized byte order only: Core writes `mapInfo` in
//! libstdc++'s hash-table order, we write it in ascending id order. Loading assigns ids in file
//! order, so a loaded peers.dat (bitcoind's included) is written back byte for byte.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};
use std::io::{Read, Write};
use std::sync::Arc;

use netbase::{CNetAddr, CService, NetGroupManager, Network};
use protocol::{AddrEncoding, CAddress, HashKind, ServiceFlags};

use crate::addrdb::AddrDbErrorKind;
use crate::addrinfo::{AddrInfo, AddrManKey};
use crate::bucket_table::BucketTable;
use crate::clock::Clock;
use crate::random::FastRandomContext;

/// log2 of [`ADDRMAN_TRIED_BUCKET_COUNT`].
pub const ADDRMAN_TRIED_BUCKET_COUNT_LOG2: u32 = 8;
/// Total number of buckets for tried addresses.
pub const ADDRMAN_TRIED_BUCKET_COUNT: usize = 1 << ADDRMAN_TRIED_BUCKET_COUNT_LOG2;
/// log2 of [`ADDRMAN_NEW_BUCKET_COUNT`].
pub const ADDRMAN_NEW_BUCKET_COUNT_LOG2: u32 = 10;
/// Total number of buckets for new addresses.
pub const ADDRMAN_NEW_BUCKET_COUNT: usize = 1 << ADDRMAN_NEW_BUCKET_COUNT_LOG2;
/// log2 of [`ADDRMAN_BUCKET_SIZE`].
pub const ADDRMAN_BUCKET_SIZE_LOG2: u32 = 6;
/// Maximum number of entries in a bucket, new or tried.
pub const ADDRMAN_BUCKET_SIZE: usize = 1 << ADDRMAN_BUCKET_SIZE_LOG2;

/// Over how many tried buckets the addresses of one group (/16 for IPv4) are spread.
pub const ADDRMAN_TRIED_BUCKETS_PER_GROUP: u32 = 8;
/// Over how many new buckets the addresses heard from one source group are spread.
pub const ADDRMAN_NEW_BUCKETS_PER_SOURCE_GROUP: u32 = 64;
/// Maximum number of new buckets one address can occupy.
pub const ADDRMAN_NEW_BUCKETS_PER_ADDRESS: i32 = 8;
/// Oldest acceptable address timestamp age: 30 days, in seconds.
pub const ADDRMAN_HORIZON: i64 = 30 * 24 * 60 * 60;
/// Failed attempts after which a never-successful address is terrible.
pub const ADDRMAN_RETRIES: i32 = 3;
/// Successive failures allowed within [`ADDRMAN_MIN_FAIL`].
pub const ADDRMAN_MAX_FAILURES: i32 = 10;
/// Window for [`ADDRMAN_MAX_FAILURES`]: 7 days, in seconds.
pub const ADDRMAN_MIN_FAIL: i64 = 7 * 24 * 60 * 60;
/// A tried entry that succeeded within this time (4 hours, seconds) is not evicted.
pub const ADDRMAN_REPLACEMENT: i64 = 4 * 60 * 60;
/// Maximum number of tried-table collisions remembered for test-before-evict.
pub const ADDRMAN_SET_TRIED_COLLISION_SIZE: usize = 10;
/// Longest time (40 minutes, seconds) spent trying to resolve a tried-table collision.
pub const ADDRMAN_TEST_WINDOW: i64 = 40 * 60;
/// Default for `-checkaddrman` (consistency checks off).
pub const DEFAULT_ADDRMAN_CONSISTENCY_CHECKS: i32 = 0;

/// Core's `nid_type`: the id of an entry in `mapInfo` (64-bit so it cannot overflow).
pub type NidType = i64;

/// peers.dat format versions (Core's `AddrManImpl::Format`).
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Format {
    /// Historic format, before commit e6b343d88.
    V0Historical = 0,
    /// For pre-asmap files.
    V1Deterministic = 1,
    /// Files including the asmap checksum.
    V2Asmap = 2,
    /// Same as V2 plus addresses in BIP155 form.
    V3Bip155 = 3,
    /// Adds support for several ports per IP.
    V4Multiport = 4,
}

/// The format this code writes and the newest it reads (Core's `FILE_FORMAT`).
pub const FILE_FORMAT: Format = Format::V4Multiport;
/// Added to the lowest-compatible format in the second byte of peers.dat (it overtook the
/// historical key-size field, which was 32).
pub const INCOMPATIBILITY_BASE: u8 = 32;
/// Lowest format able to read what we write.
pub const LOWEST_COMPATIBLE: u8 = Format::V4Multiport as u8;

/// Location of an address in addrman (Core's `AddressPosition`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AddressPosition {
    /// In the tried table (else new).
    pub tried: bool,
    /// 1 in tried; 1..=ADDRMAN_NEW_BUCKETS_PER_ADDRESS in new.
    pub multiplicity: i32,
    /// Bucket; for new entries, the bucket of the entry's first source.
    pub bucket: i32,
    /// Slot in that bucket.
    pub position: i32,
}

impl AddressPosition {
    /// Port of AddressPosition::AddressPosition (addrman.h).
    pub fn new(tried: bool, multiplicity: i32, bucket: i32, position: i32) -> Self {
        AddressPosition {
            tried,
            multiplicity,
            bucket,
            position,
        }
    }
}

/// Core's `NewTriedCount`: entries of one network in each table.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct NewTriedCount {
    pub n_new: usize,
    pub n_tried: usize,
}

/// The group of an `Add_` call's source and the new buckets already derived from it.
pub(crate) struct SourceMemo {
    group: Vec<u8>,
    buckets: [i32; ADDRMAN_NEW_BUCKETS_PER_SOURCE_GROUP as usize],
}

/// Number of [`Network`] values (Core's `NET_MAX`).
const NUM_NETWORKS: usize = 7;

/// Core's `std::unordered_map<Network, NewTriedCount>` as a small array: `None` = no entry yet.
type NetworkCounts = [Option<NewTriedCount>; NUM_NETWORKS];

/// Hasher for `mapInfo`'s keys: ids are our own sequential numbers (not attacker-chosen), so a
/// multiplicative mix is enough.
#[derive(Default, Clone, Copy)]
pub(crate) struct NidHasher(u64);

impl Hasher for NidHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 =
                (self.0.rotate_left(5) ^ u64::from(*b)).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
    }
    fn write_i64(&mut self, i: i64) {
        self.0 = (i as u64)
            .wrapping_mul(0x9e37_79b9_7f4a_7c15)
            .rotate_left(26);
    }
}

/// Core's `mapInfo` (`unordered_map<nid_type, AddrInfo>`) as a slab indexed by id: ids are
/// handed out in increasing order, so a vector makes every lookup an index. Deleted ids leave
/// empty slots, which [`AddrManImpl::maybe_compact_ids`] reclaims by renumbering in order.
#[derive(Debug, Default)]
pub(crate) struct MapInfo {
    slots: Vec<Option<AddrInfo>>,
    /// Per slot, memoized placement (not in Core): primary new bucket and position, tried
    /// bucket and position; -1 = not computed. An entry's address, source and the key never
    /// change while it is stored, so these never go stale.
    memo: Vec<[i32; 4]>,
    len: usize,
}

impl MapInfo {
    #[inline]
    pub(crate) fn get(&self, id: &NidType) -> Option<&AddrInfo> {
        usize::try_from(*id)
            .ok()
            .and_then(|i| self.slots.get(i)?.as_ref())
    }

    #[inline]
    pub(crate) fn get_mut(&mut self, id: &NidType) -> Option<&mut AddrInfo> {
        usize::try_from(*id)
            .ok()
            .and_then(|i| self.slots.get_mut(i)?.as_mut())
    }

    #[inline]
    pub(crate) fn contains_key(&self, id: &NidType) -> bool {
        self.get(id).is_some()
    }

    /// Store `info` under `id` (ids are non-negative).
    pub(crate) fn insert(&mut self, id: NidType, info: AddrInfo) {
        let i = usize::try_from(id).expect("ids are non-negative");
        if i >= self.slots.len() {
            self.slots.resize_with(i + 1, || None);
            self.memo.resize(i + 1, [-1; 4]);
        }
        self.memo[i] = [-1; 4];
        if self.slots[i].replace(info).is_none() {
            self.len += 1;
        }
    }

    pub(crate) fn remove(&mut self, id: &NidType) -> Option<AddrInfo> {
        let i = usize::try_from(*id).ok()?;
        let old = self.slots.get_mut(i)?.take();
        if old.is_some() {
            self.len -= 1;
        }
        old
    }

    /// Entries in increasing id order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (NidType, &AddrInfo)> {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.as_ref().map(|info| (i as NidType, info)))
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn clear(&mut self) {
        self.slots.clear();
        self.memo.clear();
        self.len = 0;
    }
}

/// The address manager's state (Core's `AddrManImpl`); always used under the lock `cs`.
#[derive(Debug)]
pub struct AddrManImpl {
    /// Source of random numbers for randomization in inner loops.
    pub(crate) insecure_rand: FastRandomContext,
    /// Secret key to randomize bucket select with.
    pub(crate) n_key: AddrManKey,
    /// Last used nId.
    pub(crate) n_id_count: NidType,
    /// Information about all nIds.
    pub(crate) map_info: MapInfo,
    /// nId of each network address and port.
    pub(crate) map_addr: HashMap<CService, NidType>,
    /// Randomly-ordered vector of all nIds.
    pub(crate) v_random: Vec<NidType>,
    /// Number of "tried" entries.
    pub(crate) n_tried: i32,
    /// The "tried" buckets.
    pub(crate) vv_tried: BucketTable,
    /// Number of (unique) "new" entries.
    pub(crate) n_new: i32,
    /// The "new" buckets.
    pub(crate) vv_new: BucketTable,
    /// Last time Good was called (memory only). Starts at 1 so that "never" is strictly worse.
    pub(crate) m_last_good: i64,
    /// Ids that collided with an existing tried entry (test-before-evict).
    pub(crate) m_tried_collisions: BTreeSet<NidType>,
    /// Perform consistency checks every m_consistency_check_ratio operations (if non-zero).
    pub(crate) m_consistency_check_ratio: i32,
    /// The netgroup manager (Core holds a reference; we own it).
    pub(crate) m_netgroupman: Arc<NetGroupManager>,
    /// Number of entries per network and table.
    pub(crate) m_network_counts: NetworkCounts,
    /// Per new bucket, how many of its entries belong to each network (not in Core: lets
    /// `Select_` with a network filter skip buckets holding none of those networks without
    /// looking at their slots; the outcome and the random draws are unchanged).
    pub(crate) new_bucket_nets: Box<[[u16; NUM_NETWORKS]]>,
    /// The same for the tried buckets.
    pub(crate) tried_bucket_nets: Box<[[u16; NUM_NETWORKS]]>,
    /// Whether [`AddrManImpl::maybe_compact_ids`] may run (tests switch it off to compare).
    pub(crate) compact_ids: bool,
    /// Empty slots tolerated beyond half the live entries before compacting.
    pub(crate) compact_slack: usize,
    /// The network hash used for bucketing (SHA256d on Bitcoin networks, Blake2b on Logos).
    pub(crate) hash: HashKind,
    /// Time source (Core's `Now<NodeSeconds>()`).
    pub(crate) clock: Arc<dyn Clock>,
}

#[inline]
fn net_index(net: Network) -> usize {
    (net as usize).min(NUM_NETWORKS - 1)
}

/// Map a stream error while reading peers.dat to the typed error.
fn read_err(e: protocol::Error) -> AddrDbErrorKind {
    match e {
        protocol::Error::Io(std::io::ErrorKind::UnexpectedEof) => AddrDbErrorKind::Truncated,
        other => AddrDbErrorKind::Corrupt(other.to_string()),
    }
}

fn read_exact<R: Read + ?Sized>(r: &mut R, buf: &mut [u8]) -> Result<(), AddrDbErrorKind> {
    r.read_exact(buf).map_err(|e| {
        if e.kind() == std::io::ErrorKind::UnexpectedEof {
            AddrDbErrorKind::Truncated
        } else {
            AddrDbErrorKind::Io(e.to_string())
        }
    })
}

fn read_u8<R: Read + ?Sized>(r: &mut R) -> Result<u8, AddrDbErrorKind> {
    let mut b = [0u8; 1];
    read_exact(r, &mut b)?;
    Ok(b[0])
}

fn read_i32<R: Read + ?Sized>(r: &mut R) -> Result<i32, AddrDbErrorKind> {
    let mut b = [0u8; 4];
    read_exact(r, &mut b)?;
    Ok(i32::from_le_bytes(b))
}

impl AddrManImpl {
    /// Port of AddrManImpl::AddrManImpl (addrman.cpp). `rng` is the already-seeded
    /// `insecure_rand`; in deterministic mode `nKey` is `uint256{1}`, otherwise it is drawn from
    /// `rng` (Core: `insecure_rand.rand256()`). `compact` stores only the occupied positions of
    /// the bucket tables ([`BucketTable::sparse`]; not in Core, same behaviour).
    pub(crate) fn new(
        netgroupman: Arc<NetGroupManager>,
        mut rng: FastRandomContext,
        deterministic: bool,
        consistency_check_ratio: i32,
        hash: HashKind,
        clock: Arc<dyn Clock>,
        compact: bool,
    ) -> Self {
        let table = if compact {
            BucketTable::sparse
        } else {
            BucketTable::dense
        };
        let n_key = if deterministic {
            let mut k = [0u8; 32];
            k[0] = 1;
            k
        } else {
            rng.rand256()
        };
        AddrManImpl {
            insecure_rand: rng,
            n_key,
            n_id_count: 0,
            map_info: MapInfo::default(),
            map_addr: HashMap::new(),
            v_random: Vec::new(),
            n_tried: 0,
            vv_tried: table(ADDRMAN_TRIED_BUCKET_COUNT),
            n_new: 0,
            vv_new: table(ADDRMAN_NEW_BUCKET_COUNT),
            m_last_good: 1,
            m_tried_collisions: BTreeSet::new(),
            m_consistency_check_ratio: consistency_check_ratio,
            m_netgroupman: netgroupman,
            m_network_counts: [None; NUM_NETWORKS],
            new_bucket_nets: vec![[0; NUM_NETWORKS]; ADDRMAN_NEW_BUCKET_COUNT].into_boxed_slice(),
            tried_bucket_nets: vec![[0; NUM_NETWORKS]; ADDRMAN_TRIED_BUCKET_COUNT]
                .into_boxed_slice(),
            compact_ids: true,
            compact_slack: 1024,
            hash,
            clock,
        }
    }

    #[inline]
    fn now(&self) -> i64 {
        self.clock.now()
    }

    #[inline]
    fn counts_mut(&mut self, net: Network) -> &mut NewTriedCount {
        self.m_network_counts[net_index(net)].get_or_insert_with(NewTriedCount::default)
    }

    #[inline]
    fn info(&self, n_id: NidType) -> &AddrInfo {
        self.map_info
            .get(&n_id)
            .expect("addrman: id referenced by a table is in mapInfo")
    }

    #[inline]
    fn info_mut(&mut self, n_id: NidType) -> &mut AddrInfo {
        self.map_info
            .get_mut(&n_id)
            .expect("addrman: id referenced by a table is in mapInfo")
    }

    #[inline]
    fn tried_bucket(&self, info: &AddrInfo) -> i32 {
        info.get_tried_bucket(&self.n_key, &self.m_netgroupman, self.hash)
    }

    #[inline]
    fn new_bucket(&self, info: &AddrInfo) -> i32 {
        info.get_new_bucket(&self.n_key, &self.m_netgroupman, self.hash)
    }

    #[inline]
    fn bucket_position(&self, info: &AddrInfo, f_new: bool, bucket: i32) -> i32 {
        info.get_bucket_position(&self.n_key, f_new, bucket, self.hash)
    }

    /// (bucket, position) of an entry in the tried table, memoized.
    #[inline]
    fn tried_slot(&mut self, id: NidType) -> (usize, usize) {
        let m = self.map_info.memo[id as usize];
        if m[2] >= 0 {
            return (m[2] as usize, m[3] as usize);
        }
        let info = self.info(id);
        let b = self.tried_bucket(info);
        let p = self.bucket_position(info, false, b);
        let m = &mut self.map_info.memo[id as usize];
        m[2] = b;
        m[3] = p;
        (b as usize, p as usize)
    }

    /// (bucket, position) of an entry in the new table for its own (first) source, memoized.
    #[inline]
    fn primary_new_slot(&mut self, id: NidType) -> (usize, usize) {
        let m = self.map_info.memo[id as usize];
        if m[0] >= 0 {
            return (m[0] as usize, m[1] as usize);
        }
        let info = self.info(id);
        let b = self.new_bucket(info);
        let p = self.bucket_position(info, true, b);
        let m = &mut self.map_info.memo[id as usize];
        m[0] = b;
        m[1] = p;
        (b as usize, p as usize)
    }

    /// Put `id` (or -1) in a slot of the new table, keeping `new_bucket_nets` in step.
    #[inline]
    fn set_new_slot(&mut self, bucket: usize, pos: usize, id: NidType) {
        let old = self.vv_new.replace(bucket, pos, id);
        if old != -1 {
            let net = net_index(self.info(old).get_network());
            self.new_bucket_nets[bucket][net] -= 1;
        }
        if id != -1 {
            let net = net_index(self.info(id).get_network());
            self.new_bucket_nets[bucket][net] += 1;
        }
    }

    /// Put `id` (or -1) in a slot of the tried table, keeping `tried_bucket_nets` in step.
    #[inline]
    fn set_tried_slot(&mut self, bucket: usize, pos: usize, id: NidType) {
        let old = self.vv_tried.replace(bucket, pos, id);
        if old != -1 {
            let net = net_index(self.info(old).get_network());
            self.tried_bucket_nets[bucket][net] -= 1;
        }
        if id != -1 {
            let net = net_index(self.info(id).get_network());
            self.tried_bucket_nets[bucket][net] += 1;
        }
    }

    /// Whether `new_bucket_nets` / `tried_bucket_nets` match the tables.
    fn bucket_nets_consistent(&self) -> bool {
        let recount = |table: &BucketTable, counts: &[[u16; NUM_NETWORKS]]| {
            let mut mine = vec![[0u16; NUM_NETWORKS]; table.bucket_count()];
            for (bucket, _, id) in table.occupied() {
                if let Some(info) = self.map_info.get(&id) {
                    mine[bucket][net_index(info.get_network())] += 1;
                }
            }
            mine[..] == *counts
        };
        recount(&self.vv_new, &self.new_bucket_nets)
            && recount(&self.vv_tried, &self.tried_bucket_nets)
    }

    /// Whether a bucket holds an entry of one of `networks` (empty set: of any network).
    #[inline]
    fn bucket_has_networks(
        &self,
        use_tried: bool,
        bucket: usize,
        networks: &HashSet<Network>,
    ) -> bool {
        let counts = if use_tried {
            &self.tried_bucket_nets[bucket]
        } else {
            &self.new_bucket_nets[bucket]
        };
        if networks.is_empty() {
            counts.iter().any(|&c| c != 0)
        } else {
            networks.iter().any(|n| counts[net_index(*n)] != 0)
        }
    }

    /// The bucketing key (`nKey`).
    pub(crate) fn key(&self) -> AddrManKey {
        self.n_key
    }

    /// Port of AddrManImpl::Serialize (addrman.cpp): the addrman part of peers.dat, always in
    /// [`FILE_FORMAT`].
    pub(crate) fn serialize<W: Write + ?Sized>(&self, s: &mut W) -> std::io::Result<()> {
        s.write_all(&[FILE_FORMAT as u8])?;
        s.write_all(&[INCOMPATIBILITY_BASE + LOWEST_COMPATIBLE])?;
        s.write_all(&self.n_key)?;
        s.write_all(&self.n_new.to_le_bytes())?;
        s.write_all(&self.n_tried.to_le_bytes())?;
        let n_u_buckets: i32 = (ADDRMAN_NEW_BUCKET_COUNT as i32) ^ (1 << 30);
        s.write_all(&n_u_buckets.to_le_bytes())?;

        // position of each id among the new entries, in id order (Core: mapUnkIds)
        let mut map_unk_ids: HashMap<NidType, i32, BuildHasherDefault<NidHasher>> =
            HashMap::with_capacity_and_hasher(self.map_info.len(), Default::default());
        let mut n_ids: i32 = 0;
        for (id, info) in self.map_info.iter() {
            map_unk_ids.insert(id, n_ids);
            if info.n_ref_count != 0 {
                debug_assert!(n_ids != self.n_new, "nNew was wrong");
                info.serialize(s, AddrEncoding::V2)?;
                n_ids += 1;
            }
        }
        n_ids = 0;
        for (_, info) in self.map_info.iter() {
            if info.f_in_tried {
                debug_assert!(n_ids != self.n_tried, "nTried was wrong");
                info.serialize(s, AddrEncoding::V2)?;
                n_ids += 1;
            }
        }
        let mut ids = Vec::with_capacity(ADDRMAN_BUCKET_SIZE);
        for bucket in 0..self.vv_new.bucket_count() {
            ids.clear();
            ids.extend(self.vv_new.bucket(bucket).map(|(_, _, id)| id));
            let n_size = ids.len() as i32;
            s.write_all(&n_size.to_le_bytes())?;
            for id in &ids {
                let n_index = map_unk_ids.get(id).copied().unwrap_or(0);
                s.write_all(&n_index.to_le_bytes())?;
            }
        }
        // asmap checksum after the bucket lists, so older readers can ignore it
        s.write_all(&self.m_netgroupman.get_asmap_checksum())?;
        Ok(())
    }

    /// Port of AddrManImpl::Unserialize (addrman.cpp): read the addrman part of peers.dat (any
    /// format from V0 to [`FILE_FORMAT`], or a newer one whose lowest-compatible byte allows it)
    /// into this empty addrman.
    pub(crate) fn unserialize<R: Read + ?Sized>(
        &mut self,
        s: &mut R,
    ) -> Result<(), AddrDbErrorKind> {
        if !self.v_random.is_empty() {
            return Err(AddrDbErrorKind::NotEmpty);
        }
        let format = read_u8(s)?;
        let enc = if format >= Format::V3Bip155 as u8 {
            AddrEncoding::V2
        } else {
            AddrEncoding::V1
        };
        let compat = read_u8(s)?;
        if compat < INCOMPATIBILITY_BASE {
            return Err(AddrDbErrorKind::Corrupt(format!(
                "Corrupted addrman database: The compat value ({compat}) is lower than the expected minimum value {INCOMPATIBILITY_BASE}."
            )));
        }
        let lowest_compatible = compat - INCOMPATIBILITY_BASE;
        if lowest_compatible > FILE_FORMAT as u8 {
            return Err(AddrDbErrorKind::IncompatibleVersion {
                format,
                lowest_compatible,
                max_supported: FILE_FORMAT as u8,
            });
        }

        read_exact(s, &mut self.n_key)?;
        self.n_new = read_i32(s)?;
        self.n_tried = read_i32(s)?;
        let mut n_u_buckets = read_i32(s)?;
        if format >= Format::V1Deterministic as u8 {
            n_u_buckets ^= 1 << 30;
        }

        let max_new = (ADDRMAN_NEW_BUCKET_COUNT * ADDRMAN_BUCKET_SIZE) as i32;
        if self.n_new > max_new || self.n_new < 0 {
            return Err(AddrDbErrorKind::Corrupt(format!(
                "Corrupt AddrMan serialization: nNew={}, should be in [0, {}]",
                self.n_new, max_new
            )));
        }
        let max_tried = (ADDRMAN_TRIED_BUCKET_COUNT * ADDRMAN_BUCKET_SIZE) as i32;
        if self.n_tried > max_tried || self.n_tried < 0 {
            return Err(AddrDbErrorKind::Corrupt(format!(
                "Corrupt AddrMan serialization: nTried={}, should be in [0, {}]",
                self.n_tried, max_tried
            )));
        }

        // entries of the new table
        for n in 0..self.n_new as NidType {
            let mut info = AddrInfo::unserialize(s, enc).map_err(read_err)?;
            info.n_random_pos = self.v_random.len() as i32;
            self.map_addr.insert(info.addr.service, n);
            let net = info.get_network();
            self.map_info.insert(n, info);
            self.v_random.push(n);
            self.counts_mut(net).n_new += 1;
        }
        self.n_id_count = self.n_new as NidType;

        // entries of the tried table: placed by hash
        let mut n_lost = 0;
        for _ in 0..self.n_tried {
            let mut info = AddrInfo::unserialize(s, enc).map_err(read_err)?;
            let n_k_bucket = self.tried_bucket(&info);
            let n_k_bucket_pos = self.bucket_position(&info, false, n_k_bucket);
            if info.is_valid()
                && self
                    .vv_tried
                    .get(n_k_bucket as usize, n_k_bucket_pos as usize)
                    == -1
            {
                let id = self.n_id_count;
                info.n_random_pos = self.v_random.len() as i32;
                info.f_in_tried = true;
                self.v_random.push(id);
                self.map_addr.insert(info.addr.service, id);
                let net = info.get_network();
                self.map_info.insert(id, info);
                self.set_tried_slot(n_k_bucket as usize, n_k_bucket_pos as usize, id);
                self.n_id_count += 1;
                self.counts_mut(net).n_tried += 1;
            } else {
                n_lost += 1;
            }
        }
        self.n_tried -= n_lost;

        // (bucket, entry index) pairs of the new table, applied below when possible
        let mut bucket_entries: Vec<(i32, i32)> = Vec::new();
        for bucket in 0..n_u_buckets {
            let num_entries = read_i32(s)?;
            for _ in 0..num_entries {
                let entry_index = read_i32(s)?;
                if entry_index >= 0 && entry_index < self.n_new {
                    bucket_entries.push((bucket, entry_index));
                }
            }
        }

        // restore the serialized new-table positions when bucketing has not changed
        let supplied_asmap_checksum = self.m_netgroupman.get_asmap_checksum();
        let mut serialized_asmap_checksum = [0u8; 32];
        if format >= Format::V2Asmap as u8 {
            read_exact(s, &mut serialized_asmap_checksum)?;
        }
        let restore_bucketing = n_u_buckets == ADDRMAN_NEW_BUCKET_COUNT as i32
            && serialized_asmap_checksum == supplied_asmap_checksum;
        if !restore_bucketing {
            log::debug!(target: "addrman", "Bucketing method was updated, re-bucketing addrman entries from disk");
        }

        for (file_bucket, entry_index) in bucket_entries {
            let id = entry_index as NidType;
            let (valid, ref_count) = {
                let info = self.info(id);
                (info.is_valid(), info.n_ref_count)
            };
            // not a valid address for our addrman
            if !valid {
                continue;
            }
            // already in the maximum number of new buckets
            if ref_count >= ADDRMAN_NEW_BUCKETS_PER_ADDRESS {
                continue;
            }
            let bucket_position = self.bucket_position(self.info(id), true, file_bucket);
            if restore_bucketing
                && self
                    .vv_new
                    .get(file_bucket as usize, bucket_position as usize)
                    == -1
            {
                self.set_new_slot(file_bucket as usize, bucket_position as usize, id);
                self.info_mut(id).n_ref_count += 1;
            } else {
                // re-bucket by the entry's primary source
                let bucket = self.new_bucket(self.info(id));
                let bucket_position = self.bucket_position(self.info(id), true, bucket);
                if self.vv_new.get(bucket as usize, bucket_position as usize) == -1 {
                    self.set_new_slot(bucket as usize, bucket_position as usize, id);
                    self.info_mut(id).n_ref_count += 1;
                }
            }
        }

        // prune new entries left with no reference (collisions or invalid addresses)
        let mut n_lost_unk = 0;
        let ids: Vec<NidType> = self
            .map_info
            .iter()
            .filter(|(_, info)| !info.f_in_tried && info.n_ref_count == 0)
            .map(|(id, _)| id)
            .collect();
        for id in ids {
            self.delete(id);
            n_lost_unk += 1;
        }
        if n_lost + n_lost_unk > 0 {
            log::debug!(target: "addrman",
                "addrman lost {} new and {} tried addresses due to collisions or invalid addresses",
                n_lost_unk, n_lost
            );
        }

        let check_code = self.check_addrman();
        if check_code != 0 {
            return Err(AddrDbErrorKind::Corrupt(format!(
                "Corrupt data. Consistency check failed with code {check_code}"
            )));
        }
        Ok(())
    }

    /// Port of AddrManImpl::Find (addrman.cpp): the id of the entry for `addr` (address and
    /// port), if any.
    pub(crate) fn find(&self, addr: &CService) -> Option<NidType> {
        let id = *self.map_addr.get(addr)?;
        if self.map_info.contains_key(&id) {
            Some(id)
        } else {
            None
        }
    }

    /// Port of AddrManImpl::Create (addrman.cpp): a new entry in mapInfo, mapAddr and vRandom.
    pub(crate) fn create(&mut self, addr: &CAddress, addr_source: &CNetAddr) -> NidType {
        let n_id = self.n_id_count;
        self.n_id_count += 1;
        let mut info = AddrInfo::new(*addr, *addr_source);
        info.n_random_pos = self.v_random.len() as i32;
        self.map_info.insert(n_id, info);
        self.map_addr.insert(addr.service, n_id);
        self.v_random.push(n_id);
        self.n_new += 1;
        self.counts_mut(addr.get_network()).n_new += 1;
        n_id
    }

    /// Port of AddrManImpl::SwapRandom (addrman.cpp): swap two positions of vRandom.
    pub(crate) fn swap_random(&mut self, n_rnd_pos1: usize, n_rnd_pos2: usize) {
        if n_rnd_pos1 == n_rnd_pos2 {
            return;
        }
        assert!(n_rnd_pos1 < self.v_random.len() && n_rnd_pos2 < self.v_random.len());
        let n_id1 = self.v_random[n_rnd_pos1];
        let n_id2 = self.v_random[n_rnd_pos2];
        self.info_mut(n_id1).n_random_pos = n_rnd_pos2 as i32;
        self.info_mut(n_id2).n_random_pos = n_rnd_pos1 as i32;
        self.v_random[n_rnd_pos1] = n_id2;
        self.v_random[n_rnd_pos2] = n_id1;
    }

    /// Port of AddrManImpl::Delete (addrman.cpp): remove an entry that is in no table.
    pub(crate) fn delete(&mut self, n_id: NidType) {
        let (pos, net) = {
            let info = self.info(n_id);
            assert!(!info.f_in_tried);
            assert!(info.n_ref_count == 0);
            (info.n_random_pos as usize, info.get_network())
        };
        let last = self.v_random.len() - 1;
        self.swap_random(pos, last);
        self.counts_mut(net).n_new -= 1;
        self.v_random.pop();
        if let Some(info) = self.map_info.remove(&n_id) {
            self.map_addr.remove(&info.addr.service);
        }
        self.n_new -= 1;
    }

    /// Port of AddrManImpl::ClearNew (addrman.cpp): empty one slot of the new table, deleting
    /// the entry when that was its last reference.
    pub(crate) fn clear_new(&mut self, n_u_bucket: usize, n_u_bucket_pos: usize) {
        let n_id_delete = self.vv_new.get(n_u_bucket, n_u_bucket_pos);
        if n_id_delete != -1 {
            let ref_count = {
                let info_delete = self.info_mut(n_id_delete);
                assert!(info_delete.n_ref_count > 0);
                info_delete.n_ref_count -= 1;
                info_delete.n_ref_count
            };
            self.set_new_slot(n_u_bucket, n_u_bucket_pos, -1);
            log::debug!(target: "addrman", "Removed {} from new[{}][{}]",
                self.info(n_id_delete).to_string_addr_port(), n_u_bucket, n_u_bucket_pos);
            if ref_count == 0 {
                self.delete(n_id_delete);
            }
        }
    }

    /// Port of AddrManImpl::MakeTried (addrman.cpp): move an entry from the new buckets to its
    /// tried slot, sending the slot's previous occupant back to the new table.
    pub(crate) fn make_tried(&mut self, n_id: NidType) {
        // remove the entry from all new buckets
        let (start_bucket, start_pos) = self.primary_new_slot(n_id);
        for n in 0..ADDRMAN_NEW_BUCKET_COUNT {
            let bucket = (start_bucket + n) % ADDRMAN_NEW_BUCKET_COUNT;
            let pos = if n == 0 {
                start_pos
            } else {
                self.bucket_position(self.info(n_id), true, bucket as i32) as usize
            };
            if self.vv_new.get(bucket, pos) == n_id {
                self.set_new_slot(bucket, pos, -1);
                let info = self.info_mut(n_id);
                info.n_ref_count -= 1;
                if info.n_ref_count == 0 {
                    break;
                }
            }
        }
        self.n_new -= 1;
        let net = self.info(n_id).get_network();
        self.counts_mut(net).n_new -= 1;
        assert!(self.info(n_id).n_ref_count == 0);

        // the tried slot
        let (n_k_bucket, n_k_bucket_pos) = self.tried_slot(n_id);

        // make space: the current occupant goes back to new, evicting whatever is there
        let n_id_evict = self.vv_tried.get(n_k_bucket, n_k_bucket_pos);
        if n_id_evict != -1 {
            assert!(self.map_info.contains_key(&n_id_evict));
            let old_net = {
                let info_old = self.info_mut(n_id_evict);
                info_old.f_in_tried = false;
                info_old.get_network()
            };
            self.set_tried_slot(n_k_bucket, n_k_bucket_pos, -1);
            self.n_tried -= 1;
            self.counts_mut(old_net).n_tried -= 1;

            let (n_u_bucket, n_u_bucket_pos) = self.primary_new_slot(n_id_evict);
            self.clear_new(n_u_bucket, n_u_bucket_pos);
            assert!(self.vv_new.get(n_u_bucket, n_u_bucket_pos) == -1);

            self.info_mut(n_id_evict).n_ref_count = 1;
            self.set_new_slot(n_u_bucket, n_u_bucket_pos, n_id_evict);
            self.n_new += 1;
            self.counts_mut(old_net).n_new += 1;
            log::debug!(target: "addrman",
                "Moved {} from tried[{}][{}] to new[{}][{}] to make space",
                self.info(n_id_evict).to_string_addr_port(),
                n_k_bucket, n_k_bucket_pos, n_u_bucket, n_u_bucket_pos
            );
        }
        assert!(self.vv_tried.get(n_k_bucket, n_k_bucket_pos) == -1);

        self.set_tried_slot(n_k_bucket, n_k_bucket_pos, n_id);
        self.n_tried += 1;
        self.info_mut(n_id).f_in_tried = true;
        self.counts_mut(net).n_tried += 1;
    }

    /// Port of AddrManImpl::AddSingle (addrman.cpp): try to add one address to the new table.
    ///
    /// `source_memo` carries the source's group and the memo of its bucket hashes across the
    /// addresses of one `Add_` call (not in Core; same results, fewer hashes).
    pub(crate) fn add_single(
        &mut self,
        addr: &CAddress,
        source: &CNetAddr,
        mut time_penalty: i64,
        source_memo: &mut SourceMemo,
    ) -> bool {
        if !addr.is_routable() {
            return false;
        }

        let found = self.find(&addr.service);

        // a source announcing itself gets no penalty
        if addr.service.addr == *source {
            time_penalty = 0;
        }

        let n_id = match found {
            Some(n_id) => {
                let now = self.now();
                let currently_online = now.saturating_sub(addr.n_time) < 24 * 60 * 60;
                let update_interval: i64 = if currently_online {
                    60 * 60
                } else {
                    24 * 60 * 60
                };
                let pinfo = self.info_mut(n_id);
                // periodically update nTime
                if pinfo.n_time
                    < addr
                        .n_time
                        .saturating_sub(update_interval)
                        .saturating_sub(time_penalty)
                {
                    pinfo.n_time = addr.n_time.saturating_sub(time_penalty).max(0);
                }
                // add services
                pinfo.n_services = ServiceFlags(pinfo.n_services.0 | addr.n_services.0);

                // nothing new
                if addr.n_time <= pinfo.n_time {
                    return false;
                }
                // already in tried
                if pinfo.f_in_tried {
                    return false;
                }
                // maximum multiplicity reached
                if pinfo.n_ref_count == ADDRMAN_NEW_BUCKETS_PER_ADDRESS {
                    return false;
                }
                // each further reference is twice as hard to get
                let ref_count = pinfo.n_ref_count;
                if ref_count > 0 {
                    let n_factor: u64 = 1 << ref_count;
                    if self.insecure_rand.randrange(n_factor) != 0 {
                        return false;
                    }
                }
                n_id
            }
            None => {
                let n_id = self.create(addr, source);
                let pinfo = self.info_mut(n_id);
                pinfo.n_time = pinfo.n_time.saturating_sub(time_penalty).max(0);
                n_id
            }
        };

        let n_u_bucket = self.info(n_id).get_new_bucket_for_group(
            &self.n_key,
            &source_memo.group,
            &self.m_netgroupman,
            self.hash,
            Some(&mut source_memo.buckets),
        ) as usize;
        let n_u_bucket_pos =
            self.bucket_position(self.info(n_id), true, n_u_bucket as i32) as usize;
        if found.is_none() {
            // a new entry's source is this source: this is its primary slot
            let m = &mut self.map_info.memo[n_id as usize];
            m[0] = n_u_bucket as i32;
            m[1] = n_u_bucket_pos as i32;
        }
        let existing = self.vv_new.get(n_u_bucket, n_u_bucket_pos);
        let mut f_insert = existing == -1;
        if existing != n_id {
            if !f_insert {
                let now = self.now();
                let info_existing = self.info(existing);
                if info_existing.is_terrible(now)
                    || (info_existing.n_ref_count > 1 && self.info(n_id).n_ref_count == 0)
                {
                    // overwrite the existing entry
                    f_insert = true;
                }
            }
            if f_insert {
                self.clear_new(n_u_bucket, n_u_bucket_pos);
                self.info_mut(n_id).n_ref_count += 1;
                self.set_new_slot(n_u_bucket, n_u_bucket_pos, n_id);
                let mapped_as = self.m_netgroupman.get_mapped_as(&addr.service.addr);
                log::debug!(target: "addrman", "Added {}{} to new[{}][{}]",
                    addr.to_string_addr_port(),
                    if mapped_as != 0 { format!(" mapped to AS{mapped_as}") } else { String::new() },
                    n_u_bucket, n_u_bucket_pos);
            } else if self.info(n_id).n_ref_count == 0 {
                self.delete(n_id);
            }
        }
        f_insert
    }

    /// Port of AddrManImpl::Good_ (addrman.cpp): mark `addr` as reachable and try to move it to
    /// the tried table (with `test_before_evict`, a collision is queued instead of evicting).
    pub(crate) fn good_(&mut self, addr: &CService, test_before_evict: bool, time: i64) -> bool {
        self.m_last_good = time;

        let Some(n_id) = self.find(addr) else {
            return false;
        };

        {
            let info = self.info_mut(n_id);
            info.m_last_success = time;
            info.m_last_try = time;
            info.n_attempts = 0;
            // nTime is left alone so as not to leak currently-connected peers

            if info.f_in_tried {
                return false;
            }
            // should be in new
            if info.n_ref_count <= 0 {
                debug_assert!(false, "Good_: entry neither in tried nor in new");
                return false;
            }
        }

        let (tried_bucket, tried_bucket_pos) = self.tried_slot(n_id);

        let occupant = self.vv_tried.get(tried_bucket, tried_bucket_pos);
        if test_before_evict && occupant != -1 {
            if self.m_tried_collisions.len() < ADDRMAN_SET_TRIED_COLLISION_SIZE {
                self.m_tried_collisions.insert(n_id);
            }
            log::debug!(target: "addrman",
                "Collision with {} while attempting to move {} to tried table. Collisions={}",
                self.map_info.get(&occupant).map(|i| i.to_string_addr_port()).unwrap_or_default(),
                addr.to_string_addr_port(),
                self.m_tried_collisions.len()
            );
            false
        } else {
            self.make_tried(n_id);
            let mapped_as = self.m_netgroupman.get_mapped_as(&addr.addr);
            log::debug!(target: "addrman", "Moved {}{} to tried[{}][{}]",
                addr.to_string_addr_port(),
                if mapped_as != 0 { format!(" mapped to AS{mapped_as}") } else { String::new() },
                tried_bucket, tried_bucket_pos);
            true
        }
    }

    /// Renumber ids densely, in the same order, once deleted ids leave many empty slots in
    /// `mapInfo` (not in Core, whose hash map needs no such step). Only the relative order of
    /// ids is observable (`m_tried_collisions` is ordered by id; peers.dat lists entries in id
    /// order), and it is preserved, including for stale collision ids, which keep an empty slot.
    /// Called only between operations, when no id is held elsewhere.
    pub(crate) fn maybe_compact_ids(&mut self) {
        let slots = self.map_info.slots.len();
        let live = self.map_info.len();
        // slack 0 (tests): compact whenever there is a hole
        let threshold = if self.compact_slack == 0 {
            0
        } else {
            live / 2 + self.compact_slack
        };
        if !self.compact_ids || slots - live <= threshold {
            return;
        }
        let mut new_id = vec![-1 as NidType; slots];
        let mut new_slots: Vec<Option<AddrInfo>> =
            Vec::with_capacity(live + self.m_tried_collisions.len());
        let mut new_memo: Vec<[i32; 4]> = Vec::with_capacity(new_slots.capacity());
        let old_memo = std::mem::take(&mut self.map_info.memo);
        for (i, slot) in std::mem::take(&mut self.map_info.slots)
            .into_iter()
            .enumerate()
        {
            let keep_stale = slot.is_none() && self.m_tried_collisions.contains(&(i as NidType));
            if slot.is_some() || keep_stale {
                new_id[i] = new_slots.len() as NidType;
                new_slots.push(slot);
                new_memo.push(old_memo[i]);
            }
        }
        self.map_info.memo = new_memo;
        let remap = |id: &mut NidType| {
            if *id >= 0 {
                *id = new_id[*id as usize];
            }
        };
        self.vv_new.for_each_id_mut(remap);
        self.vv_tried.for_each_id_mut(remap);
        self.v_random.iter_mut().for_each(remap);
        self.map_addr.values_mut().for_each(remap);
        self.m_tried_collisions = self
            .m_tried_collisions
            .iter()
            .map(|&id| {
                if id >= 0 && (id as usize) < slots {
                    new_id[id as usize]
                } else {
                    id
                }
            })
            .collect();
        self.n_id_count = new_slots.len() as NidType;
        self.map_info.slots = new_slots;
    }

    /// Port of AddrManImpl::Add_ (addrman.cpp).
    pub(crate) fn add_(
        &mut self,
        v_addr: &[CAddress],
        source: &CNetAddr,
        time_penalty: i64,
    ) -> bool {
        self.maybe_compact_ids();
        let mut source_memo = SourceMemo {
            group: self.m_netgroupman.get_group(source),
            buckets: [-1; ADDRMAN_NEW_BUCKETS_PER_SOURCE_GROUP as usize],
        };
        let mut added = 0;
        for addr in v_addr {
            if self.add_single(addr, source, time_penalty, &mut source_memo) {
                added += 1;
            }
        }
        if added > 0 {
            log::debug!(target: "addrman", "Added {} addresses (of {}) from {}: {} tried, {} new",
                added, v_addr.len(), source.to_string_addr(), self.n_tried, self.n_new);
        }
        added > 0
    }

    /// Port of AddrManImpl::Attempt_ (addrman.cpp).
    pub(crate) fn attempt_(&mut self, addr: &CService, f_count_failure: bool, time: i64) {
        let Some(n_id) = self.find(addr) else {
            return;
        };
        let m_last_good = self.m_last_good;
        let info = self.info_mut(n_id);
        info.m_last_try = time;
        if f_count_failure && info.m_last_count_attempt < m_last_good {
            info.m_last_count_attempt = time;
            info.n_attempts = info.n_attempts.wrapping_add(1);
        }
    }

    /// Port of AddrManImpl::Select_ (addrman.cpp): pick an address to connect to, from either
    /// table (or only new), optionally limited to `networks`.
    pub(crate) fn select_(
        &mut self,
        new_only: bool,
        networks: &HashSet<Network>,
    ) -> (CAddress, i64) {
        if self.v_random.is_empty() {
            return (CAddress::default(), 0);
        }

        let mut new_count = self.n_new as usize;
        let mut tried_count = self.n_tried as usize;
        if !networks.is_empty() {
            new_count = 0;
            tried_count = 0;
            for network in networks {
                if let Some(counts) = self.m_network_counts[net_index(*network)] {
                    new_count += counts.n_new;
                    tried_count += counts.n_tried;
                }
            }
        }

        if new_only && new_count == 0 {
            return (CAddress::default(), 0);
        }
        if new_count + tried_count == 0 {
            return (CAddress::default(), 0);
        }

        // new or tried table, 50/50 when both are possible
        let search_tried = if new_only || tried_count == 0 {
            false
        } else if new_count == 0 {
            true
        } else {
            self.insecure_rand.randbool()
        };

        let bucket_count = if search_tried {
            ADDRMAN_TRIED_BUCKET_COUNT
        } else {
            ADDRMAN_NEW_BUCKET_COUNT
        };

        let now = self.now();
        let mut chance_factor = 1.0f64;
        loop {
            // a bucket, and a starting slot in it
            let bucket = self.insecure_rand.randrange(bucket_count as u64) as usize;
            let initial_position =
                self.insecure_rand.randrange(ADDRMAN_BUCKET_SIZE as u64) as usize;

            // scan the bucket from there, wrapping around, for an entry of the wanted networks
            // (Core's loop over GetEntry; a bucket without any entry of those networks would be
            // scanned to the end in vain: skip it)
            let found = if self.bucket_has_networks(search_tried, bucket, networks) {
                let table = if search_tried {
                    &self.vv_tried
                } else {
                    &self.vv_new
                };
                let map_info = &self.map_info;
                table.find_from(bucket, initial_position, |node_id| {
                    if networks.is_empty() {
                        return true;
                    }
                    match map_info.get(&node_id) {
                        Some(info) => networks.contains(&info.get_network()),
                        None => {
                            debug_assert!(false, "Select_: id in table not in mapInfo");
                            false
                        }
                    }
                })
            } else {
                None
            };

            // nothing suitable in this bucket: try another one
            let Some(node_id) = found else {
                continue;
            };

            let chance = self.info(node_id).get_chance(now);
            // accept with probability GetChance() * chance_factor
            let r = self.insecure_rand.randbits(30) as f64;
            if r < chance_factor * chance * f64::from(1u32 << 30) {
                let info = self.info(node_id);
                log::debug!(target: "addrman", "Selected {} from {}",
                    info.to_string_addr_port(), if search_tried { "tried" } else { "new" });
                return (info.addr, info.m_last_try);
            }
            // otherwise another bucket, with a higher chance
            chance_factor *= 1.2;
        }
    }

    /// Port of AddrManImpl::GetAddr_ (addrman.cpp): up to `max_addresses` (0 = no limit) and
    /// `max_pct` percent (0 = all) of the entries, in random order, optionally of one network and
    /// without terrible ones.
    pub(crate) fn get_addr_(
        &mut self,
        max_addresses: usize,
        max_pct: usize,
        network: Option<Network>,
        filtered: bool,
    ) -> Vec<CAddress> {
        debug_assert!(max_pct <= 100);
        let mut n_nodes = self.v_random.len();
        if max_pct != 0 {
            let max_pct = max_pct.min(100);
            n_nodes = max_pct * n_nodes / 100;
        }
        if max_addresses != 0 {
            n_nodes = n_nodes.min(max_addresses);
        }

        // a random sample, skipping low-quality entries
        let now = self.now();
        let mut addresses = Vec::with_capacity(n_nodes);
        let len = self.v_random.len();
        for n in 0..len {
            if addresses.len() >= n_nodes {
                break;
            }
            let n_rnd_pos = self.insecure_rand.randrange((len - n) as u64) as usize + n;
            self.swap_random(n, n_rnd_pos);
            let ai = self.info(self.v_random[n]);

            if let Some(net) = network {
                if ai.get_net_class() != net {
                    continue;
                }
            }
            if filtered && ai.is_terrible(now) {
                continue;
            }
            addresses.push(ai.addr);
        }
        log::debug!(target: "addrman", "GetAddr returned {} random addresses", addresses.len());
        addresses
    }

    /// Port of AddrManImpl::GetEntries_ (addrman.cpp): every occupied slot of one table.
    pub(crate) fn get_entries_(&self, from_tried: bool) -> Vec<(AddrInfo, AddressPosition)> {
        let table = if from_tried {
            &self.vv_tried
        } else {
            &self.vv_new
        };
        let mut infos = Vec::new();
        for (bucket, position, id) in table.occupied() {
            let info = self.info(id).clone();
            let multiplicity = if from_tried { 1 } else { info.n_ref_count };
            let location =
                AddressPosition::new(from_tried, multiplicity, bucket as i32, position as i32);
            infos.push((info, location));
        }
        infos
    }

    /// Port of AddrManImpl::Connected_ (addrman.cpp): refresh nTime after a connection (at
    /// most every 20 minutes).
    pub(crate) fn connected_(&mut self, addr: &CService, time: i64) {
        let Some(n_id) = self.find(addr) else {
            return;
        };
        let info = self.info_mut(n_id);
        let update_interval = 20 * 60;
        if time.saturating_sub(info.n_time) > update_interval {
            info.n_time = time;
        }
    }

    /// Port of AddrManImpl::SetServices_ (addrman.cpp).
    pub(crate) fn set_services_(&mut self, addr: &CService, n_services: ServiceFlags) {
        let Some(n_id) = self.find(addr) else {
            return;
        };
        self.info_mut(n_id).n_services = n_services;
    }

    /// Port of AddrManImpl::ResolveCollisions_ (addrman.cpp): settle queued tried-table
    /// collisions whose test connection has succeeded, failed or timed out.
    pub(crate) fn resolve_collisions_(&mut self) {
        let collisions: Vec<NidType> = self.m_tried_collisions.iter().copied().collect();
        for id_new in collisions {
            let mut erase_collision = false;

            if !self.map_info.contains_key(&id_new) {
                // no longer in addrman
                erase_collision = true;
            } else {
                let (tried_bucket, tried_bucket_pos) = self.tried_slot(id_new);
                let id_old = self.vv_tried.get(tried_bucket, tried_bucket_pos);
                if !self.info(id_new).is_valid() {
                    // no longer a valid address
                    erase_collision = true;
                } else if id_old != -1 {
                    // the slot is still taken: test result of the occupant decides
                    let current_time = self.now();
                    let (old_last_success, old_last_try) = {
                        let info_old = self.info(id_old);
                        (info_old.m_last_success, info_old.m_last_try)
                    };
                    let new_last_success = self.info(id_new).m_last_success;
                    if current_time - old_last_success < ADDRMAN_REPLACEMENT {
                        // occupant connected recently: keep it
                        erase_collision = true;
                    } else if current_time - old_last_try < ADDRMAN_REPLACEMENT {
                        // occupant tried and not connected recently; give it 60 s
                        if current_time - old_last_try > 60 {
                            log::debug!(target: "addrman", "Replacing {} with {} in tried table",
                                self.info(id_old).to_string_addr_port(),
                                self.info(id_new).to_string_addr_port());
                            let service = self.info(id_new).addr.service;
                            self.good_(&service, false, current_time);
                            erase_collision = true;
                        }
                    } else if current_time - new_last_success > ADDRMAN_TEST_WINDOW {
                        // unresolved for too long: evict the occupant anyway
                        log::debug!(target: "addrman",
                            "Unable to test; replacing {} with {} in tried table anyway",
                            self.info(id_old).to_string_addr_port(),
                            self.info(id_new).to_string_addr_port());
                        let service = self.info(id_new).addr.service;
                        self.good_(&service, false, current_time);
                        erase_collision = true;
                    }
                } else {
                    // no longer a collision
                    let service = self.info(id_new).addr.service;
                    let now = self.now();
                    self.good_(&service, false, now);
                    erase_collision = true;
                }
            }

            if erase_collision {
                self.m_tried_collisions.remove(&id_new);
            }
        }
    }

    /// Port of AddrManImpl::SelectTriedCollision_ (addrman.cpp): the tried entry that a random
    /// queued collision would evict, with its last try time.
    pub(crate) fn select_tried_collision_(&mut self) -> (CAddress, i64) {
        if self.m_tried_collisions.is_empty() {
            return (CAddress::default(), 0);
        }
        let k = self
            .insecure_rand
            .randrange(self.m_tried_collisions.len() as u64) as usize;
        let id_new = *self
            .m_tried_collisions
            .iter()
            .nth(k)
            .expect("index below the set size");

        if !self.map_info.contains_key(&id_new) {
            self.m_tried_collisions.remove(&id_new);
            return (CAddress::default(), 0);
        }

        let (tried_bucket, tried_bucket_pos) = self.tried_slot(id_new);
        match self
            .map_info
            .get(&self.vv_tried.get(tried_bucket, tried_bucket_pos))
        {
            Some(info_old) => (info_old.addr, info_old.m_last_try),
            None => (CAddress::default(), 0),
        }
    }

    /// Port of AddrManImpl::FindAddressEntry_ (addrman.cpp).
    pub(crate) fn find_address_entry_(&self, addr: &CAddress) -> Option<AddressPosition> {
        let n_id = self.find(&addr.service)?;
        let info = self.info(n_id);
        if info.f_in_tried {
            let bucket = self.tried_bucket(info);
            Some(AddressPosition::new(
                true,
                1,
                bucket,
                self.bucket_position(info, false, bucket),
            ))
        } else {
            let bucket = self.new_bucket(info);
            Some(AddressPosition::new(
                false,
                info.n_ref_count,
                bucket,
                self.bucket_position(info, true, bucket),
            ))
        }
    }

    /// Port of AddrManImpl::Size_ (addrman.cpp).
    pub(crate) fn size_(&self, net: Option<Network>, in_new: Option<bool>) -> usize {
        match net {
            None => match in_new {
                Some(true) => self.n_new as usize,
                Some(false) => self.n_tried as usize,
                None => self.v_random.len(),
            },
            Some(net) => match self.m_network_counts[net_index(net)] {
                Some(c) => match in_new {
                    Some(true) => c.n_new,
                    Some(false) => c.n_tried,
                    None => c.n_new + c.n_tried,
                },
                None => 0,
            },
        }
    }

    /// Port of AddrManImpl::Check (addrman.cpp): run [`Self::check_addrman`] once every
    /// `m_consistency_check_ratio` calls (drawing from `insecure_rand` as Core does); an
    /// inconsistency is fatal.
    pub(crate) fn check(&mut self) {
        if self.m_consistency_check_ratio == 0 {
            return;
        }
        if self
            .insecure_rand
            .randrange(self.m_consistency_check_ratio as u64)
            >= 1
        {
            return;
        }
        let err = self.check_addrman();
        if err != 0 {
            log::error!("ADDRMAN CONSISTENCY CHECK FAILED!!! err={err}");
            panic!("ADDRMAN CONSISTENCY CHECK FAILED!!! err={err}");
        }
    }

    /// Port of AddrManImpl::CheckAddrman (addrman.cpp): full consistency check; 0 or Core's
    /// negative error code.
    pub(crate) fn check_addrman(&self) -> i32 {
        let mut set_tried: HashSet<NidType, BuildHasherDefault<NidHasher>> = HashSet::default();
        let mut map_new: HashMap<NidType, i32, BuildHasherDefault<NidHasher>> = HashMap::default();
        let mut local_counts: NetworkCounts = [None; NUM_NETWORKS];

        if self.v_random.len() != (self.n_tried as i64 + self.n_new as i64) as usize {
            return -7;
        }

        for (n, info) in self.map_info.iter() {
            let idx = net_index(info.get_network());
            if info.f_in_tried {
                if info.m_last_success == 0 {
                    return -1;
                }
                if info.n_ref_count != 0 {
                    return -2;
                }
                set_tried.insert(n);
                local_counts[idx]
                    .get_or_insert_with(Default::default)
                    .n_tried += 1;
            } else {
                if info.n_ref_count < 0 || info.n_ref_count > ADDRMAN_NEW_BUCKETS_PER_ADDRESS {
                    return -3;
                }
                if info.n_ref_count == 0 {
                    return -4;
                }
                map_new.insert(n, info.n_ref_count);
                local_counts[idx].get_or_insert_with(Default::default).n_new += 1;
            }
            match self.map_addr.get(&info.addr.service) {
                Some(&id) if id == n => {}
                _ => return -5,
            }
            if info.n_random_pos < 0
                || info.n_random_pos as usize >= self.v_random.len()
                || self.v_random[info.n_random_pos as usize] != n
            {
                return -14;
            }
            if info.m_last_try < 0 {
                return -6;
            }
            if info.m_last_success < 0 {
                return -8;
            }
        }

        if set_tried.len() != self.n_tried as usize {
            return -9;
        }
        if map_new.len() != self.n_new as usize {
            return -10;
        }

        for (n, i, id) in self.vv_tried.occupied() {
            if !set_tried.contains(&id) {
                return -11;
            }
            let Some(info) = self.map_info.get(&id) else {
                return -17;
            };
            if self.tried_bucket(info) != n as i32 {
                return -17;
            }
            if self.bucket_position(info, false, n as i32) != i as i32 {
                return -18;
            }
            set_tried.remove(&id);
        }

        for (n, i, id) in self.vv_new.occupied() {
            if !map_new.contains_key(&id) {
                return -12;
            }
            match self.map_info.get(&id) {
                Some(info) if self.bucket_position(info, true, n as i32) == i as i32 => {}
                _ => return -19,
            }
            let left = map_new.get_mut(&id).expect("checked above");
            *left -= 1;
            if *left == 0 {
                map_new.remove(&id);
            }
        }

        if !set_tried.is_empty() {
            return -13;
        }
        if !map_new.is_empty() {
            return -15;
        }
        if self.n_key == [0u8; 32] {
            return -16;
        }

        // m_network_counts may keep all-zero entries of networks whose addresses left again
        let present = |c: &NetworkCounts| c.iter().filter(|e| e.is_some()).count();
        if present(&self.m_network_counts) < present(&local_counts) {
            return -20;
        }
        for (idx, count) in self.m_network_counts.iter().enumerate() {
            if let Some(count) = count {
                let local = local_counts[idx].unwrap_or_default();
                if local.n_new != count.n_new || local.n_tried != count.n_tried {
                    return -21;
                }
            }
        }
        debug_assert!(
            self.bucket_nets_consistent(),
            "per-bucket network counts out of step"
        );
        0
    }
}
