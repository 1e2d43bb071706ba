//! The `logos` flood: which payloads we have already seen, and which important payloads we
//! keep for peers that connect later.
//!
//! No Core original: Core's nearest relatives are the rolling bloom filters of transaction relay
//! (`m_recent_rejects`, `m_tx_inventory_known_filter`), and the 2019 Logos port kept a fixed
//! hash table plus a FIFO store (`propagate.h`). This module is written for the overlay's needs
//! (DESIGN.md, "The `logos` command"):
//!
//! - [`SeenSet`]: every `logos` payload id (its network hash, `[u8; 32]`) we delivered or
//!   relayed, so the same payload is never delivered twice nor relayed twice. Exact (no false
//!   positives, unlike a bloom filter: a false positive would silently drop a new message),
//!   bounded by count ([`DEFAULT_SEEN_MAX_ENTRIES`]) and by age ([`DEFAULT_SEEN_MAX_AGE`]);
//!   insertion and expiry are O(1) amortised; memory stays bounded under a flood of distinct
//!   ids (the oldest ids are forgotten first).
//! - [`ImportantStore`]: payloads the upper layer marked important, kept (bounded by count and
//!   by bytes, oldest dropped first) and handed once to each peer that connects later.
//!
//! Time is passed in, in seconds. Both structures are plain data: the caller holds them under
//! its own lock.

use std::collections::hash_map::RandomState;
use std::collections::{HashMap, HashSet, VecDeque};
use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::Arc;

/// The id of a `logos` payload: its network hash (SHA256d on Bitcoin networks, Blake2b-256 on
/// Logos networks), the same 32 bytes whose first 4 are the header checksum.
pub type PayloadId = [u8; 32];

/// Default bound on the number of ids a [`SeenSet`] remembers: 100,000 ids cost about 9.4 MB
/// (hash table: 131,072 buckets of id and time, 5.4 MB; queue of id and time, 4 MB) and cover a sustained 166 messages/s for the
/// whole [`DEFAULT_SEEN_MAX_AGE`].
pub const DEFAULT_SEEN_MAX_ENTRIES: usize = 100_000;
/// Default time an id is remembered, in seconds (10 minutes): far longer than a payload takes
/// to cross the overlay (a few hops of network latency plus the message handler's pass), so a
/// late duplicate is still recognised.
pub const DEFAULT_SEEN_MAX_AGE: i64 = 10 * 60;

/// Largest number of entries a [`SeenSet`] allocates room for when created (the default bound;
/// the pages are only touched as ids fill them); a larger bound grows on demand past it.
const SEEN_PRESIZE_MAX: usize = DEFAULT_SEEN_MAX_ENTRIES;

/// The 24-byte message header a payload arrived with (or was first sent with), kept so that
/// relaying reuses it instead of hashing the payload again.
pub type RawHeader = [u8; 24];

/// Default bound on the number of payloads an [`ImportantStore`] keeps (the 2019 port's
/// important store size, 4096).
pub const DEFAULT_IMPORTANT_MAX_COUNT: usize = 4096;
/// Default bound on the total payload bytes an [`ImportantStore`] keeps: 64 MiB (sixteen
/// maximum-size (4,000,000-byte) messages, or thousands of typical ones).
pub const DEFAULT_IMPORTANT_MAX_BYTES: usize = 64 << 20;

/// Hasher for [`SeenKey`]: the ids are already cryptographic hashes, so SipHash over all 32
/// bytes (std's default) is wasted work. The first 8 bytes of the id go through one keyed
/// folded multiply (128-bit product of `(x ^ k0)` and `k1`, high half xor low half), so every
/// output bit depends on every input bit and on the per-set random key.
///
/// Not the identity: the ids are hashes of payloads a peer chooses, and grinding a payload
/// whose hash has, say, 17 chosen low bits costs only 2^17 hash calls, so an unkeyed table
/// could be filled with ids that all probe the same group. With the key unknown to peers, they
/// cannot aim at one bucket.
#[derive(Clone, Copy, Debug, Default)]
struct SeenHasher {
    k0: u64,
    k1: u64,
    h: u64,
}

impl Hasher for SeenHasher {
    fn finish(&self) -> u64 {
        self.h
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only reached if a key other than SeenKey is hashed: fold the bytes in 8 at a time.
        for chunk in bytes.chunks(8) {
            let mut b = [0u8; 8];
            b[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(b));
        }
    }

    fn write_u64(&mut self, x: u64) {
        // Keyed multiply, then MurmurHash3's 64-bit finaliser so that every input bit (the
        // multiply only carries upwards) reaches the low bits a table index uses.
        let mut z = (x ^ self.k0 ^ self.h.rotate_left(23)).wrapping_mul(self.k1 | 1);
        z ^= z >> 33;
        z = z.wrapping_mul(0xff51_afd7_ed55_8ccd);
        z ^= z >> 33;
        z = z.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        z ^= z >> 33;
        self.h = z;
    }
}

/// Builds [`SeenHasher`]s with one random key per [`SeenSet`].
#[derive(Clone, Copy, Debug)]
struct SeenHasherBuilder {
    k0: u64,
    k1: u64,
}

impl SeenHasherBuilder {
    /// A fresh random key, taken from std's per-process random hash keys (the same source the
    /// default `HashMap` hasher uses).
    fn new() -> Self {
        let r = RandomState::new();
        let mut a = r.build_hasher();
        a.write_u8(0);
        let mut b = r.build_hasher();
        b.write_u8(1);
        SeenHasherBuilder {
            k0: a.finish(),
            // Odd, so the multiply is a bijection before the fold.
            k1: b.finish() | 1,
        }
    }
}

impl BuildHasher for SeenHasherBuilder {
    type Hasher = SeenHasher;

    fn build_hasher(&self) -> SeenHasher {
        SeenHasher {
            k0: self.k0,
            k1: self.k1,
            h: 0,
        }
    }
}

/// A payload id as a [`SeenSet`] map key: equality on all 32 bytes (exact dedup), hashing on
/// the first 8 only.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct SeenKey(PayloadId);

impl Hash for SeenKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        let mut b = [0u8; 8];
        b.copy_from_slice(&self.0[..8]);
        state.write_u64(u64::from_le_bytes(b));
    }
}

/// Bounded set of seen payload ids, forgetting the oldest first.
///
/// An id stays known from its insertion at time `t` while `now < t + max_age`, unless more than
/// `max_entries` newer ids push it out first. Expiry assumes the times passed in do not go
/// backwards by much; if they do, entries are still dropped in insertion order, and the count
/// bound holds regardless.
///
/// Cost per [`Self::insert`]: one cheap hash of 8 bytes and one map probe; expiry reads the
/// insertion time from the queue, so it costs a map access only for ids actually dropped.
#[derive(Debug, Clone)]
pub struct SeenSet {
    /// Id -> insertion time (seconds).
    times: HashMap<SeenKey, i64, SeenHasherBuilder>,
    /// Ids with their insertion times, in insertion order, oldest first; exactly the entries
    /// of `times`.
    order: VecDeque<(PayloadId, i64)>,
    max_entries: usize,
    max_age: i64,
}

impl Default for SeenSet {
    fn default() -> Self {
        Self::new(DEFAULT_SEEN_MAX_ENTRIES, DEFAULT_SEEN_MAX_AGE)
    }
}

impl SeenSet {
    /// Not in Core: A set remembering at most `max_entries` ids, each for `max_age` seconds.
    /// `max_entries == 0` remembers nothing (every id is new).
    pub fn new(max_entries: usize, max_age: i64) -> Self {
        // Sized up front (up to a cap) so a filling set never rehashes nor moves its queue
        // while messages arrive.
        let cap = max_entries.min(SEEN_PRESIZE_MAX);
        SeenSet {
            times: HashMap::with_capacity_and_hasher(cap, SeenHasherBuilder::new()),
            order: VecDeque::with_capacity(cap),
            max_entries,
            max_age,
        }
    }

    /// Not in Core: the count bound.
    pub fn max_entries(&self) -> usize {
        self.max_entries
    }

    /// Not in Core: the age bound, in seconds.
    pub fn max_age(&self) -> i64 {
        self.max_age
    }

    /// Not in Core: ids currently remembered (expired ones may linger until the next [`Self::insert`] or
    /// [`Self::expire`]).
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// Not in Core: no id remembered.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    fn is_expired(&self, inserted: i64, now: i64) -> bool {
        now >= inserted.saturating_add(self.max_age)
    }

    /// Drop the oldest id (front of the queue) from both structures.
    fn pop_oldest(&mut self) {
        if let Some((old, _)) = self.order.pop_front() {
            self.times.remove(&SeenKey(old));
        }
    }

    /// Not in Core: forget every id older than the age bound at `now`.
    pub fn expire(&mut self, now: i64) {
        while let Some(&(_, t)) = self.order.front() {
            if !self.is_expired(t, now) {
                break;
            }
            self.pop_oldest();
        }
    }

    /// Not in Core: whether `id` was seen and is still remembered at `now`.
    pub fn contains(&self, id: &PayloadId, now: i64) -> bool {
        self.times
            .get(&SeenKey(*id))
            .is_some_and(|t| !self.is_expired(*t, now))
    }

    /// Not in Core: record `id` as seen at `now`. Returns true if it is new (not remembered), false if it
    /// is a duplicate. A duplicate does not refresh the id's time: an id is forgotten
    /// `max_age` after it was first seen, however often it comes back.
    pub fn insert(&mut self, id: PayloadId, now: i64) -> bool {
        self.expire(now);
        if self.max_entries == 0 {
            return true;
        }
        if self.times.contains_key(&SeenKey(id)) {
            return false;
        }
        while self.order.len() >= self.max_entries {
            self.pop_oldest();
        }
        self.order.push_back((id, now));
        self.times.insert(SeenKey(id), now);
        true
    }

    /// Not in Core: forget everything.
    pub fn clear(&mut self) {
        self.order.clear();
        self.times.clear();
    }
}

/// One retained important payload.
#[derive(Debug, Clone)]
struct ImportantEntry {
    /// Insertion sequence number (strictly increasing).
    label: u64,
    id: PayloadId,
    payload: Arc<Vec<u8>>,
    header: RawHeader,
}

/// A retained important payload, as handed out for sending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportantPayload {
    /// The payload id (network hash).
    pub id: PayloadId,
    /// The payload bytes.
    pub payload: Arc<Vec<u8>>,
    /// The header to send it with.
    pub header: RawHeader,
}

/// Important payloads, kept for peers that connect later; bounded by count and by bytes,
/// oldest dropped first.
///
/// Use: [`Self::insert`] when the upper layer marks a payload important (it is also flooded to
/// the peers connected at the time, as any payload). Every payload gets a label, strictly
/// increasing in insertion order; a peer catching up keeps the label of the next payload it
/// still needs (its cursor, held by the caller) and reads [`Self::next_from`], so it gets each
/// payload at most once even while old ones are dropped.
#[derive(Debug, Clone)]
pub struct ImportantStore {
    entries: VecDeque<ImportantEntry>,
    ids: HashSet<PayloadId>,
    bytes: usize,
    max_count: usize,
    max_bytes: usize,
    next_label: u64,
}

impl Default for ImportantStore {
    fn default() -> Self {
        Self::new(DEFAULT_IMPORTANT_MAX_COUNT, DEFAULT_IMPORTANT_MAX_BYTES)
    }
}

impl ImportantStore {
    /// Not in Core: A store keeping at most `max_count` payloads totalling at most `max_bytes` bytes.
    pub fn new(max_count: usize, max_bytes: usize) -> Self {
        ImportantStore {
            entries: VecDeque::new(),
            ids: HashSet::new(),
            bytes: 0,
            max_count,
            max_bytes,
            next_label: 0,
        }
    }

    /// Not in Core: payloads kept.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Not in Core: nothing kept.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Not in Core: total payload bytes kept.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Not in Core: whether the payload with this id is kept.
    pub fn contains(&self, id: &PayloadId) -> bool {
        self.ids.contains(id)
    }

    fn pop_oldest(&mut self) {
        if let Some(old) = self.entries.pop_front() {
            self.bytes -= old.payload.len();
            self.ids.remove(&old.id);
        }
    }

    /// Not in Core: keep `payload` (id `id`, sent with `header`), dropping the oldest payloads as needed to stay within both
    /// bounds. Returns false, keeping nothing, if the id is already kept or the payload alone
    /// exceeds the byte bound (or the count bound is 0). Only payload bytes count toward the
    /// byte bound.
    pub fn insert(&mut self, id: PayloadId, payload: Arc<Vec<u8>>, header: RawHeader) -> bool {
        if self.ids.contains(&id) || payload.len() > self.max_bytes || self.max_count == 0 {
            return false;
        }
        while self.entries.len() >= self.max_count || self.bytes + payload.len() > self.max_bytes {
            self.pop_oldest();
        }
        self.bytes += payload.len();
        self.ids.insert(id);
        self.entries.push_back(ImportantEntry {
            label: self.next_label,
            id,
            payload,
            header,
        });
        self.next_label += 1;
        true
    }

    /// Not in Core: stop keeping the payload with this id (the upper layer found it invalid
    /// later). Labels are kept, so readers' cursors stay valid. Returns whether it was kept.
    pub fn remove(&mut self, id: &PayloadId) -> bool {
        if !self.ids.remove(id) {
            return false;
        }
        if let Some(i) = self.entries.iter().position(|e| e.id == *id) {
            if let Some(e) = self.entries.remove(i) {
                self.bytes -= e.payload.len();
            }
        }
        true
    }

    /// Not in Core: the label the next inserted payload will get (a cursor at this value has
    /// nothing left to read).
    pub fn next_label(&self) -> u64 {
        self.next_label
    }

    /// Not in Core: the oldest kept payload with a label at or after `cursor`, and the cursor
    /// that follows it; `None` when the reader is up to date.
    pub fn next_from(&self, cursor: u64) -> Option<(ImportantPayload, u64)> {
        let i = self.entries.partition_point(|e| e.label < cursor);
        self.entries.get(i).map(|e| {
            (
                ImportantPayload {
                    id: e.id,
                    payload: Arc::clone(&e.payload),
                    header: e.header,
                },
                e.label + 1,
            )
        })
    }

    /// Not in Core: the kept payloads, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = (&PayloadId, &Arc<Vec<u8>>)> {
        self.entries.iter().map(|e| (&e.id, &e.payload))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u64) -> PayloadId {
        let mut b = [0u8; 32];
        b[..8].copy_from_slice(&n.to_le_bytes());
        b[31] = 0xaa;
        b
    }

    fn payload(len: usize, fill: u8) -> Arc<Vec<u8>> {
        Arc::new(vec![fill; len])
    }

    const T0: i64 = 1_795_503_770;
    const HDR: RawHeader = [7u8; 24];

    #[test]
    fn insert_reports_new_then_duplicate() {
        let mut s = SeenSet::default();
        assert_eq!(s.max_entries(), 100_000);
        assert_eq!(s.max_age(), 600);
        assert!(s.is_empty());
        assert!(s.insert(id(1), T0));
        assert!(!s.insert(id(1), T0));
        assert!(!s.insert(id(1), T0 + 599));
        assert!(s.insert(id(2), T0));
        assert_eq!(s.len(), 2);
        assert!(s.contains(&id(1), T0));
        assert!(!s.contains(&id(3), T0));
    }

    #[test]
    fn ids_expire_after_max_age_and_duplicates_do_not_refresh() {
        let mut s = SeenSet::new(1000, 600);
        assert!(s.insert(id(1), T0));
        assert!(s.insert(id(2), T0 + 100));
        // A duplicate at T0+300 does not extend id(1)'s life.
        assert!(!s.insert(id(1), T0 + 300));
        assert!(s.contains(&id(1), T0 + 599));
        assert!(!s.contains(&id(1), T0 + 600));
        // At T0+600 id(1) is forgotten: it is new again.
        assert!(s.insert(id(1), T0 + 600));
        assert!(s.contains(&id(2), T0 + 699));
        s.expire(T0 + 700);
        assert!(!s.contains(&id(2), T0 + 700));
        assert_eq!(s.len(), 1);
        s.expire(T0 + 1200);
        assert!(s.is_empty());
    }

    #[test]
    fn count_bound_forgets_oldest_first() {
        let mut s = SeenSet::new(3, 600);
        for n in 0..3 {
            assert!(s.insert(id(n), T0));
        }
        assert!(s.insert(id(3), T0));
        assert_eq!(s.len(), 3);
        assert!(!s.contains(&id(0), T0));
        for n in 1..4 {
            assert!(s.contains(&id(n), T0));
        }
        // The forgotten one is new again and pushes out id(1).
        assert!(s.insert(id(0), T0));
        assert!(!s.contains(&id(1), T0));
    }

    /// A flood of distinct ids never grows the set past its bound, and each insert stays cheap.
    #[test]
    fn flood_of_distinct_ids_stays_bounded() {
        let max = 10_000;
        let mut s = SeenSet::new(max, 600);
        for n in 0..(20 * max as u64) {
            assert!(s.insert(id(n), T0 + (n / 1000) as i64));
            assert!(s.len() <= max);
            assert_eq!(s.times.len(), s.order.len());
        }
        // The hash table never held more than the bound either.
        assert!(s.times.capacity() < 4 * max);
        assert!(s.order.capacity() < 4 * max);
        // The most recent `max` ids are all still known.
        let last = 20 * max as u64;
        for n in (last - max as u64)..last {
            assert!(s.contains(&id(n), T0 + 200));
        }
    }

    #[test]
    fn zero_bound_remembers_nothing() {
        let mut s = SeenSet::new(0, 600);
        assert!(s.insert(id(1), T0));
        assert!(s.insert(id(1), T0));
        assert!(s.is_empty());
    }

    #[test]
    fn clock_going_backwards_keeps_bounds() {
        let mut s = SeenSet::new(5, 10);
        assert!(s.insert(id(1), T0 + 100));
        assert!(s.insert(id(2), T0)); // earlier than the front
        assert!(!s.insert(id(2), T0 + 5));
        // id(1) expires at T0+110; id(2) only leaves once it reaches the front.
        s.expire(T0 + 110);
        assert!(!s.contains(&id(1), T0 + 110));
        assert!(!s.contains(&id(2), T0 + 110));
        s.expire(T0 + 110);
        assert!(s.is_empty());
        s.clear();
        assert!(s.is_empty());
    }

    /// Ids that share their first 8 bytes (the hashed part) but differ later are distinct:
    /// the dedup stays exact, collisions only share a bucket.
    #[test]
    fn ids_sharing_the_hashed_prefix_stay_distinct() {
        let mut s = SeenSet::new(1000, 600);
        let mut ids = Vec::new();
        for n in 0..200u8 {
            let mut x = [0x5cu8; 32];
            x[31] = n;
            x[20] = n.wrapping_mul(7);
            ids.push(x);
        }
        for x in &ids {
            assert!(s.insert(*x, T0));
        }
        for x in &ids {
            assert!(!s.insert(*x, T0 + 1));
            assert!(s.contains(x, T0 + 1));
        }
        let mut other = ids[0];
        other[31] = 0xff;
        assert!(!s.contains(&other, T0 + 1));
        assert_eq!(s.len(), 200);
        // Expiry and the count bound still drop exactly the oldest of them.
        assert!(s.insert(other, T0 + 10));
        s.expire(T0 + 600);
        assert_eq!(s.len(), 1);
        assert!(s.contains(&other, T0 + 600));
        assert!(!s.contains(&ids[0], T0 + 600));
    }

    /// The keyed hash spreads ids whose first 8 bytes differ only in high bits (the bits a
    /// table index does not use directly), and two sets use different keys.
    #[test]
    fn seen_hasher_is_keyed_and_mixes_high_bits_down() {
        let b = SeenHasherBuilder::new();
        let h = |x: u64| b.hash_one(SeenKey(id(x)));
        // Same key, same input: same hash.
        assert_eq!(h(42), h(42));
        // 256 ids differing only in their top byte land in many distinct low-10-bit buckets.
        let buckets: HashSet<u64> = (0..256u64).map(|t| h(t << 56) & 1023).collect();
        assert!(buckets.len() > 150, "only {} buckets", buckets.len());
        // Two builders (two sets) almost surely disagree.
        let b2 = SeenHasherBuilder::new();
        let differs = (0..8u64).any(|n| b2.hash_one(SeenKey(id(n))) != h(n));
        assert!(differs);
    }

    /// Reference model: a plain list in insertion order, scanned linearly, with the documented
    /// rules (count bound, age bound, duplicates do not refresh, in-order expiry).
    #[derive(Default)]
    struct Model {
        v: VecDeque<(PayloadId, i64)>,
    }

    impl Model {
        fn expire(&mut self, now: i64, max_age: i64) {
            while self.v.front().is_some_and(|&(_, t)| now >= t + max_age) {
                self.v.pop_front();
            }
        }
        fn insert(&mut self, x: PayloadId, now: i64, max: usize, max_age: i64) -> bool {
            self.expire(now, max_age);
            if max == 0 {
                return true;
            }
            if self.v.iter().any(|(y, _)| *y == x) {
                return false;
            }
            while self.v.len() >= max {
                self.v.pop_front();
            }
            self.v.push_back((x, now));
            true
        }
        fn contains(&self, x: &PayloadId, now: i64, max_age: i64) -> bool {
            self.v.iter().any(|(y, t)| y == x && now < t + max_age)
        }
    }

    proptest::proptest! {
        /// Random inserts, expiries and lookups (few distinct ids so duplicates are common,
        /// ids colliding in the hashed prefix, time mostly forward with small steps back) give
        /// the same answers as the reference model.
        #[test]
        fn seen_set_matches_reference_model(
            max in 0usize..12,
            max_age in 1i64..20,
            ops in proptest::collection::vec((0u8..3, 0u64..24, -2i64..6), 1..300),
        ) {
            let mut s = SeenSet::new(max, max_age);
            let mut m = Model::default();
            let mut now = T0;
            for (op, n, dt) in ops {
                now += dt;
                // Ids 0..24, where n and n+12 share the first 8 bytes.
                let mut x = id(n % 12);
                x[30] = (n / 12) as u8;
                match op {
                    0 => proptest::prop_assert_eq!(s.insert(x, now), m.insert(x, now, max, max_age)),
                    1 => {
                        s.expire(now);
                        m.expire(now, max_age);
                    }
                    _ => proptest::prop_assert_eq!(s.contains(&x, now), m.contains(&x, now, max_age)),
                }
                proptest::prop_assert_eq!(s.len(), m.v.len());
                proptest::prop_assert_eq!(s.times.len(), s.order.len());
                proptest::prop_assert!(s.len() <= max);
            }
        }
    }

    #[test]
    fn important_store_bounded_by_count() {
        let mut st = ImportantStore::new(3, 1_000_000);
        for n in 0..5 {
            assert!(st.insert(id(n), payload(10, n as u8), HDR));
        }
        assert_eq!(st.len(), 3);
        assert_eq!(st.bytes(), 30);
        assert!(!st.contains(&id(0)) && !st.contains(&id(1)));
        let kept: Vec<_> = st.iter().map(|(i, _)| *i).collect();
        assert_eq!(kept, vec![id(2), id(3), id(4)]);
    }

    #[test]
    fn important_store_bounded_by_bytes() {
        let mut st = ImportantStore::new(100, 100);
        assert!(st.insert(id(1), payload(40, 1), HDR));
        assert!(st.insert(id(2), payload(40, 2), HDR));
        // 80 + 30 > 100: the oldest goes.
        assert!(st.insert(id(3), payload(30, 3), HDR));
        assert_eq!(st.bytes(), 70);
        assert!(!st.contains(&id(1)));
        // A payload filling the store alone drops everything else.
        assert!(st.insert(id(4), payload(100, 4), HDR));
        assert_eq!(st.len(), 1);
        assert_eq!(st.bytes(), 100);
        // Too big to ever fit: refused, nothing dropped.
        assert!(!st.insert(id(5), payload(101, 5), HDR));
        assert!(st.contains(&id(4)));
        // Duplicate refused.
        assert!(!st.insert(id(4), payload(1, 4), HDR));
        assert_eq!(st.len(), 1);
        // Empty payloads count toward the count bound only.
        assert!(st.insert(id(6), payload(0, 0), HDR));
        assert_eq!(st.len(), 1 + 1);
    }

    /// Reads every payload once, from `cursor`, as a peer catching up does.
    fn read_all(st: &ImportantStore, mut cursor: u64) -> (Vec<ImportantPayload>, u64) {
        let mut out = Vec::new();
        while let Some((p, next)) = st.next_from(cursor) {
            out.push(p);
            cursor = next;
        }
        (out, cursor)
    }

    #[test]
    fn reader_gets_each_payload_exactly_once() {
        let mut st = ImportantStore::new(10, 1000);
        st.insert(id(1), payload(5, 1), HDR);
        st.insert(id(2), payload(5, 2), HDR);
        let (first, cursor) = read_all(&st, 0);
        assert_eq!(
            first.iter().map(|p| p.id).collect::<Vec<_>>(),
            vec![id(1), id(2)]
        );
        assert_eq!(&*first[1].payload, &[2u8; 5][..]);
        assert_eq!(first[1].header, HDR);
        assert_eq!(cursor, st.next_label());
        assert!(st.next_from(cursor).is_none());
        st.insert(id(3), payload(5, 3), HDR);
        let (second, _) = read_all(&st, cursor);
        assert_eq!(second.len(), 1);
        assert_eq!(second[0].id, id(3));
        // A new reader gets all three.
        assert_eq!(read_all(&st, 0).0.len(), 3);
    }

    #[test]
    fn reader_cursor_survives_eviction_of_old_payloads() {
        let mut st = ImportantStore::new(2, 1000);
        st.insert(id(1), payload(1, 1), HDR);
        let (got, cursor) = read_all(&st, 0);
        assert_eq!(got.len(), 1);
        for n in 2..6 {
            st.insert(id(n), payload(1, n as u8), HDR);
        }
        // Payloads 2 and 3 were dropped before the reader came back; it gets what is kept: 4, 5.
        let got: Vec<_> = read_all(&st, cursor).0.into_iter().map(|p| p.id).collect();
        assert_eq!(got, vec![id(4), id(5)]);
    }

    #[test]
    fn removed_payload_is_skipped_and_cursors_hold() {
        let mut st = ImportantStore::new(10, 1000);
        for n in 1..=3 {
            st.insert(id(n), payload(5, n as u8), HDR);
        }
        let (_, cursor) = read_all(&st, 1);
        assert!(st.remove(&id(2)));
        assert!(!st.remove(&id(2)));
        assert!(!st.contains(&id(2)));
        assert_eq!((st.len(), st.bytes()), (2, 10));
        let got: Vec<_> = read_all(&st, 0).0.into_iter().map(|p| p.id).collect();
        assert_eq!(got, vec![id(1), id(3)]);
        assert!(read_all(&st, cursor).0.is_empty());
        // Removed, it may be kept again later (a new label).
        assert!(st.insert(id(2), payload(5, 2), HDR));
    }

    #[test]
    fn zero_count_store_keeps_nothing() {
        let mut st = ImportantStore::new(0, 1000);
        assert!(!st.insert(id(1), payload(1, 1), HDR));
        assert!(st.is_empty());
        let d = ImportantStore::default();
        assert_eq!(d.max_count, DEFAULT_IMPORTANT_MAX_COUNT);
        assert_eq!(d.max_bytes, DEFAULT_IMPORTANT_MAX_BYTES);
    }
}
