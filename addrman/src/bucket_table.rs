//! The storage of one bucket table (Core's `nid_type vvNew[1024][64]` or `vvTried[256][64]`, -1
//! for an empty position), in one of two representations chosen when the addrman is built:
//!
//! - [`BucketTable::Dense`]: Core's full array, boxed: 512 KiB for the new table and 128 KiB for
//!   the tried table whatever they hold. The default: an index per access.
//! - [`BucketTable::Sparse`]: only the occupied positions, in a hash map keyed by
//!   `bucket * ADDRMAN_BUCKET_SIZE + position`. Not in Core: it lets the network simulator run
//!   thousands of address managers of a few thousand addresses each in one process.
//!
//! Both give the same answers to every call, so an addrman behaves identically with either
//! (tests/random_ops.rs `compact_storage_*` run the same operations on both and compare every
//! result and the peers.dat bytes; tests/vectors.rs loads bitcoind's peers.dat into both).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use crate::addrman_impl::{NidType, ADDRMAN_BUCKET_SIZE};

/// Hasher for the sparse table's slot numbers. A slot is derived from the keyed bucket hash
/// (secret `nKey`), so a peer cannot aim its addresses at slots that collide in this map; a
/// folded multiply is enough and much cheaper than SipHash.
#[derive(Default, Clone, Copy)]
pub(crate) struct SlotHasher(u64);

impl Hasher for SlotHasher {
    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.write_u32(u32::from(*b));
        }
    }

    #[inline]
    fn write_u32(&mut self, i: u32) {
        let m = u128::from(self.0 ^ u64::from(i)) * 0x9e37_79b9_7f4a_7c15;
        self.0 = (m as u64) ^ ((m >> 64) as u64);
    }
}

/// The occupied positions of a sparse table: slot number to id, no entry for -1.
type SlotMap = HashMap<u32, NidType, BuildHasherDefault<SlotHasher>>;

/// One bucket table (`vvNew` or `vvTried`).
#[derive(Debug)]
pub(crate) enum BucketTable {
    /// Every position stored, as in Core.
    Dense(Box<[[NidType; ADDRMAN_BUCKET_SIZE]]>),
    /// Only the occupied positions (the simulator's compact addrman); boxed, so that the enum
    /// is no larger than the dense variant.
    Sparse(Box<SparseTable>),
}

/// The occupied positions of a table.
#[derive(Debug)]
pub(crate) struct SparseTable {
    /// Number of buckets (positions beyond it do not exist).
    buckets: usize,
    /// Slot `bucket * ADDRMAN_BUCKET_SIZE + position` to id.
    slots: SlotMap,
}

#[inline]
fn slot(bucket: usize, pos: usize) -> u32 {
    (bucket * ADDRMAN_BUCKET_SIZE + pos) as u32
}

// The sparse accesses stay out of line, so that the dense ones inline as a bare index into the
// callers' code.
impl SparseTable {
    #[inline(never)]
    fn get(&self, bucket: usize, pos: usize) -> NidType {
        assert!(bucket < self.buckets && pos < ADDRMAN_BUCKET_SIZE);
        self.slots.get(&slot(bucket, pos)).copied().unwrap_or(-1)
    }

    #[inline(never)]
    fn replace(&mut self, bucket: usize, pos: usize, id: NidType) -> NidType {
        assert!(bucket < self.buckets && pos < ADDRMAN_BUCKET_SIZE);
        let old = if id == -1 {
            self.slots.remove(&slot(bucket, pos))
        } else {
            self.slots.insert(slot(bucket, pos), id)
        };
        old.unwrap_or(-1)
    }
}

/// The first id of the positions `start, start + 1, …` (wrapping around) that is not -1 and that
/// `accept` takes.
#[inline(always)]
fn scan_from(
    start: usize,
    get: impl Fn(usize) -> NidType,
    mut accept: impl FnMut(NidType) -> bool,
) -> Option<NidType> {
    (0..ADDRMAN_BUCKET_SIZE)
        .map(|i| get((start + i) % ADDRMAN_BUCKET_SIZE))
        .find(|&id| id != -1 && accept(id))
}

impl BucketTable {
    /// A table of `buckets` empty buckets, every position stored (Core's layout).
    pub(crate) fn dense(buckets: usize) -> Self {
        BucketTable::Dense(vec![[-1; ADDRMAN_BUCKET_SIZE]; buckets].into_boxed_slice())
    }

    /// A table of `buckets` empty buckets, only occupied positions stored.
    pub(crate) fn sparse(buckets: usize) -> Self {
        assert!(buckets * ADDRMAN_BUCKET_SIZE <= u32::MAX as usize);
        BucketTable::Sparse(Box::new(SparseTable {
            buckets,
            slots: SlotMap::default(),
        }))
    }

    /// Whether only occupied positions are stored.
    pub(crate) fn is_sparse(&self) -> bool {
        matches!(self, BucketTable::Sparse(_))
    }

    /// Number of buckets.
    pub(crate) fn bucket_count(&self) -> usize {
        match self {
            BucketTable::Dense(t) => t.len(),
            BucketTable::Sparse(t) => t.buckets,
        }
    }

    /// The id at a position, -1 if empty (Core: `vvNew[bucket][pos]`). Panics out of
    /// range, as an index into Core's array would be undefined.
    #[inline]
    pub(crate) fn get(&self, bucket: usize, pos: usize) -> NidType {
        match self {
            BucketTable::Dense(t) => t[bucket][pos],
            BucketTable::Sparse(t) => t.get(bucket, pos),
        }
    }

    /// Store `id` at a position, -1 to empty it (Core: `vvNew[bucket][pos] = id`), and return
    /// the id that was there (-1 if none).
    #[inline]
    pub(crate) fn replace(&mut self, bucket: usize, pos: usize, id: NidType) -> NidType {
        match self {
            BucketTable::Dense(t) => std::mem::replace(&mut t[bucket][pos], id),
            BucketTable::Sparse(t) => t.replace(bucket, pos, id),
        }
    }

    /// The first id from position `start` of a bucket on, wrapping around, that is not -1 and
    /// that `accept` takes (Core's scan of a bucket with `GetEntry` in `Select_`).
    #[inline]
    pub(crate) fn find_from(
        &self,
        bucket: usize,
        start: usize,
        accept: impl FnMut(NidType) -> bool,
    ) -> Option<NidType> {
        match self {
            BucketTable::Dense(t) => {
                let row = &t[bucket];
                scan_from(start, |pos| row[pos], accept)
            }
            BucketTable::Sparse(t) => scan_from(start, |pos| t.get(bucket, pos), accept),
        }
    }

    /// Empty every position (the sparse table keeps its allocation).
    pub(crate) fn clear(&mut self) {
        match self {
            BucketTable::Dense(t) => t.iter_mut().for_each(|b| *b = [-1; ADDRMAN_BUCKET_SIZE]),
            BucketTable::Sparse(t) => t.slots.clear(),
        }
    }

    /// The occupied positions of one bucket as `(bucket, position, id)`, in position order.
    pub(crate) fn bucket(&self, bucket: usize) -> Occupied<'_> {
        assert!(bucket < self.bucket_count());
        match self {
            BucketTable::Dense(t) => Occupied::Dense {
                table: t,
                next: bucket * ADDRMAN_BUCKET_SIZE,
                end: (bucket + 1) * ADDRMAN_BUCKET_SIZE,
            },
            BucketTable::Sparse(t) => Occupied::Probe {
                slots: &t.slots,
                next: slot(bucket, 0),
                end: slot(bucket + 1, 0),
            },
        }
    }

    /// Every occupied position as `(bucket, position, id)`, in bucket then position
    /// order (the order of Core's loops over `vvNew` and `vvTried`).
    pub(crate) fn occupied(&self) -> Occupied<'_> {
        match self {
            BucketTable::Dense(t) => Occupied::Dense {
                table: t,
                next: 0,
                end: t.len() * ADDRMAN_BUCKET_SIZE,
            },
            BucketTable::Sparse(t) => {
                let mut v: Vec<(u32, NidType)> = t.slots.iter().map(|(&s, &id)| (s, id)).collect();
                v.sort_unstable_by_key(|&(s, _)| s);
                Occupied::Sorted(v.into_iter())
            }
        }
    }

    /// Apply `f` to the id of every occupied position (renumbering ids); `f` must not
    /// map an id to -1.
    pub(crate) fn for_each_id_mut(&mut self, mut f: impl FnMut(&mut NidType)) {
        match self {
            BucketTable::Dense(t) => t
                .iter_mut()
                .flat_map(|b| b.iter_mut())
                .filter(|id| **id != -1)
                .for_each(|id| {
                    f(id);
                    debug_assert!(*id != -1);
                }),
            BucketTable::Sparse(t) => t.slots.values_mut().for_each(|id| {
                f(id);
                debug_assert!(*id != -1);
            }),
        }
    }
}

/// Occupied positions of a [`BucketTable`] as `(bucket, position, id)`, from
/// [`BucketTable::bucket`] or [`BucketTable::occupied`].
pub(crate) enum Occupied<'a> {
    /// Scanning the array from slot `next` to `end`.
    Dense {
        table: &'a [[NidType; ADDRMAN_BUCKET_SIZE]],
        next: usize,
        end: usize,
    },
    /// Looking up the slots `next..end` of a sparse table (one bucket).
    Probe {
        slots: &'a SlotMap,
        next: u32,
        end: u32,
    },
    /// The occupied slots of a sparse table, sorted.
    Sorted(std::vec::IntoIter<(u32, NidType)>),
}

#[inline]
fn unslot(s: u32, id: NidType) -> (usize, usize, NidType) {
    let s = s as usize;
    (s / ADDRMAN_BUCKET_SIZE, s % ADDRMAN_BUCKET_SIZE, id)
}

impl Iterator for Occupied<'_> {
    type Item = (usize, usize, NidType);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Occupied::Dense { table, next, end } => {
                while *next < *end {
                    let (bucket, pos) = (*next / ADDRMAN_BUCKET_SIZE, *next % ADDRMAN_BUCKET_SIZE);
                    *next += 1;
                    let id = table[bucket][pos];
                    if id != -1 {
                        return Some((bucket, pos, id));
                    }
                }
                None
            }
            Occupied::Probe { slots, next, end } => {
                while *next < *end {
                    let s = *next;
                    *next += 1;
                    if let Some(&id) = slots.get(&s) {
                        return Some(unslot(s, id));
                    }
                }
                None
            }
            Occupied::Sorted(it) => it.next().map(|(s, id)| unslot(s, id)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::addrman_impl::ADDRMAN_NEW_BUCKET_COUNT;
    use crate::random::FastRandomContext;

    /// Random sets and clears on a dense and a sparse table: every read and both iterations agree.
    #[test]
    fn dense_and_sparse_agree() {
        let mut rng = FastRandomContext::from_seed([7; 32]);
        let mut d = BucketTable::dense(ADDRMAN_NEW_BUCKET_COUNT);
        let mut s = BucketTable::sparse(ADDRMAN_NEW_BUCKET_COUNT);
        assert!(!d.is_sparse() && s.is_sparse());
        for round in 0..20_000 {
            // few buckets, so that positions are overwritten and emptied often
            let b = rng.randrange(8) as usize * 131;
            let p = rng.randrange(ADDRMAN_BUCKET_SIZE as u64) as usize;
            let id = if rng.randbits(2) == 0 {
                -1
            } else {
                rng.randrange(1000) as NidType
            };
            assert_eq!(d.replace(b, p, id), s.replace(b, p, id));
            assert_eq!(d.get(b, p), id);
            assert_eq!(s.get(b, p), id);
            if round % 1000 == 0 {
                assert!(d.occupied().eq(s.occupied()));
                for b in [0, 131, 262, 917, ADDRMAN_NEW_BUCKET_COUNT - 1] {
                    assert!(d.bucket(b).eq(s.bucket(b)));
                    assert!(d.bucket(b).all(|(bb, _, _)| bb == b));
                }
                d.for_each_id_mut(|id| *id += 1);
                s.for_each_id_mut(|id| *id += 1);
            }
        }
        assert!(d.occupied().eq(s.occupied()));
        let v: Vec<_> = s.occupied().collect();
        assert!(v.windows(2).all(|w| (w[0].0, w[0].1) < (w[1].0, w[1].1)));
        assert!(!v.is_empty() && v.iter().all(|&(_, _, id)| id >= 0));
        d.clear();
        s.clear();
        assert_eq!(d.occupied().count(), 0);
        assert_eq!(s.occupied().count(), 0);
        assert_eq!(s.bucket_count(), ADDRMAN_NEW_BUCKET_COUNT);
    }
}
