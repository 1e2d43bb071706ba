//! Port of Core's `AddrMan` (addrman.h, addrman.cpp): the stochastic address manager.
//!
//! Addresses we have not connected to live in 1024 "new" buckets of 64 slots; the bucket is
//! chosen from the source's group and the address's group, the slot from the full address, and
//! an address may sit in up to 8 new buckets. Addresses we have connected to live in 256 "tried"
//! buckets. Bucket choice is a keyed hash (secret `nKey`) with the network hash ([`HashKind`]),
//! so an attacker in one network range cannot fill the tables. A new tried entry that would evict
//! another is queued (test-before-evict) until the old one has been tested.
//!
//! Every public method takes the lock `cs`, runs the consistency check with probability
//! 1/`consistency_check_ratio` before and after (Core's `Check()`), and calls the `_`-suffixed
//! lock-held helper of [`AddrManImpl`].

use std::collections::HashSet;
use std::io::{Read, Write};
use std::sync::Arc;

use netbase::{CNetAddr, CService, NetGroupManager, Network};
use parking_lot::Mutex;
use protocol::{CAddress, HashKind, ServiceFlags};

use crate::addrdb::{AddrDbError, AddrDbErrorKind};
use crate::addrinfo::{AddrInfo, AddrManKey};
use crate::addrman_impl::{AddrManImpl, AddressPosition};
use crate::clock::{Clock, SystemClock};
use crate::random::FastRandomContext;

/// The address manager (Core's `AddrMan`, holding its `AddrManImpl` under the lock `cs`).
#[derive(Debug)]
pub struct AddrMan {
    cs: Mutex<AddrManImpl>,
}

impl AddrMan {
    /// Port of AddrMan::AddrMan (addrman.cpp).
    ///
    /// `deterministic` gives Core's test mode: `nKey = uint256{1}` and `insecure_rand` keyed
    /// with zeros (`FastRandomContext(true)`), so the same calls give the same results as Core's
    /// deterministic addrman. Otherwise the RNG is seeded from OS entropy and `nKey` drawn from
    /// it. `consistency_check_ratio` is `-checkaddrman` (0 = never, 1 = always). `hash` is the
    /// network hash used for bucketing. Time comes from the system clock; see
    /// [`AddrMan::with_clock`].
    pub fn new(
        netgroupman: NetGroupManager,
        deterministic: bool,
        consistency_check_ratio: i32,
        hash: HashKind,
    ) -> Self {
        Self::with_rng(
            Arc::new(netgroupman),
            FastRandomContext::new(deterministic),
            deterministic,
            consistency_check_ratio,
            hash,
            Arc::new(SystemClock),
            false,
        )
    }

    /// Not in Core: A non-deterministic addrman whose RNG is keyed with `seed` (reproducible runs: fuzzing,
    /// simulations); `nKey` is drawn from that RNG as in Core's non-deterministic mode.
    pub fn new_with_seed(
        netgroupman: NetGroupManager,
        seed: [u8; 32],
        consistency_check_ratio: i32,
        hash: HashKind,
    ) -> Self {
        Self::seeded(netgroupman, seed, consistency_check_ratio, hash, false)
    }

    /// Not in Core: [`AddrMan::new_with_seed`] with compact bucket tables, for the network
    /// simulator, which runs thousands of address managers in one process. Only the occupied
    /// positions of the new and tried tables are stored (about 30 bytes each, instead of Core's
    /// fixed 640 KiB of arrays); every result, random draw and serialized byte is the same as
    /// with [`AddrMan::new_with_seed`] and the same seed. Lookups cost a hash probe instead of an
    /// index (`Select` is about 2.5 times slower), so nodes keep the dense constructors.
    pub fn new_compact(
        netgroupman: NetGroupManager,
        seed: [u8; 32],
        consistency_check_ratio: i32,
        hash: HashKind,
    ) -> Self {
        Self::seeded(netgroupman, seed, consistency_check_ratio, hash, true)
    }

    fn seeded(
        netgroupman: NetGroupManager,
        seed: [u8; 32],
        consistency_check_ratio: i32,
        hash: HashKind,
        compact: bool,
    ) -> Self {
        Self::with_rng(
            Arc::new(netgroupman),
            FastRandomContext::from_seed(seed),
            false,
            consistency_check_ratio,
            hash,
            Arc::new(SystemClock),
            compact,
        )
    }

    fn with_rng(
        netgroupman: Arc<NetGroupManager>,
        rng: FastRandomContext,
        deterministic: bool,
        consistency_check_ratio: i32,
        hash: HashKind,
        clock: Arc<dyn Clock>,
        compact: bool,
    ) -> Self {
        AddrMan {
            cs: Mutex::new(AddrManImpl::new(
                netgroupman,
                rng,
                deterministic,
                consistency_check_ratio,
                hash,
                clock,
                compact,
            )),
        }
    }

    /// Not in Core: whether the bucket tables are compact ([`AddrMan::new_compact`]).
    pub fn is_compact(&self) -> bool {
        self.cs.lock().vv_new.is_sparse()
    }

    /// Not in Core: use `clock` for every "now" addrman needs (Core's `Now<NodeSeconds>()`).
    pub fn with_clock(self, clock: Arc<dyn Clock>) -> Self {
        self.set_clock(clock);
        self
    }

    /// Not in Core: replace the time source.
    pub fn set_clock(&self, clock: Arc<dyn Clock>) {
        self.cs.lock().clock = clock;
    }

    /// Not in Core: the current time as addrman sees it.
    pub fn now(&self) -> i64 {
        self.cs.lock().clock.now()
    }

    /// Not in Core: allow or forbid the internal renumbering of entry ids (on by default; it has no
    /// observable effect, which tests check by switching it off).
    #[doc(hidden)]
    pub fn set_id_compaction(&self, on: bool, slack: usize) {
        let mut cs = self.cs.lock();
        cs.compact_ids = on;
        cs.compact_slack = slack;
    }

    /// Not in Core: the network hash used for bucketing and the peers.dat checksum.
    pub fn hash_kind(&self) -> HashKind {
        self.cs.lock().hash
    }

    /// Not in Core: the secret bucketing key (`nKey`, uint256 byte order).
    pub fn key(&self) -> AddrManKey {
        self.cs.lock().key()
    }

    /// Not in Core: the netgroup manager used for grouping.
    pub fn netgroupman(&self) -> Arc<NetGroupManager> {
        self.cs.lock().m_netgroupman.clone()
    }

    /// Port of AddrMan::Size (addrman.cpp): number of unique addresses, optionally of one
    /// network (`net`) and/or one table (`in_new`: true = new, false = tried).
    pub fn size(&self, net: Option<Network>, in_new: Option<bool>) -> usize {
        let mut cs = self.cs.lock();
        cs.check();
        let ret = cs.size_(net, in_new);
        cs.check();
        ret
    }

    /// Port of AddrMan::Add (addrman.cpp): add addresses heard from `source` to the new table,
    /// their timestamps reduced by `time_penalty` seconds. True if at least one address was
    /// added or gained a bucket.
    pub fn add(&self, v_addr: &[CAddress], source: &CNetAddr, time_penalty: i64) -> bool {
        let mut cs = self.cs.lock();
        cs.check();
        let ret = cs.add_(v_addr, source, time_penalty);
        cs.check();
        ret
    }

    /// Port of AddrMan::Good (addrman.cpp): we connected to `addr` at `time`; move it to tried
    /// (or queue a collision). True if it moved.
    pub fn good(&self, addr: &CService, time: i64) -> bool {
        let mut cs = self.cs.lock();
        cs.check();
        let ret = cs.good_(addr, true, time);
        cs.check();
        ret
    }

    /// Port of AddrMan::Attempt (addrman.cpp): we tried to connect to `addr` at `time`.
    pub fn attempt(&self, addr: &CService, f_count_failure: bool, time: i64) {
        let mut cs = self.cs.lock();
        cs.check();
        cs.attempt_(addr, f_count_failure, time);
        cs.check();
    }

    /// Port of AddrMan::ResolveCollisions (addrman.cpp).
    pub fn resolve_collisions(&self) {
        let mut cs = self.cs.lock();
        cs.check();
        cs.resolve_collisions_();
        cs.check();
    }

    /// Port of AddrMan::SelectTriedCollision (addrman.cpp): a tried entry that a queued
    /// collision wants to evict (to be tested with a feeler), and its last try time; the default
    /// address if none.
    pub fn select_tried_collision(&self) -> (CAddress, i64) {
        let mut cs = self.cs.lock();
        cs.check();
        let ret = cs.select_tried_collision_();
        cs.check();
        ret
    }

    /// Port of AddrMan::Select (addrman.cpp): an address to connect to and its last try time;
    /// the default address if none. `networks` empty = any network.
    pub fn select(&self, new_only: bool, networks: &HashSet<Network>) -> (CAddress, i64) {
        let mut cs = self.cs.lock();
        cs.check();
        let ret = cs.select_(new_only, networks);
        cs.check();
        ret
    }

    /// Port of AddrMan::GetAddr (addrman.cpp): random addresses, at most `max_addresses`
    /// (0 = no limit) and `max_pct` percent (0 = no limit), of `network` if given, and only good
    /// ones if `filtered`.
    pub fn get_addr(
        &self,
        max_addresses: usize,
        max_pct: usize,
        network: Option<Network>,
        filtered: bool,
    ) -> Vec<CAddress> {
        let mut cs = self.cs.lock();
        cs.check();
        let ret = cs.get_addr_(max_addresses, max_pct, network, filtered);
        cs.check();
        ret
    }

    /// Port of AddrMan::GetEntries (addrman.cpp): every entry of one table with its position (an
    /// address in several new buckets appears once per bucket).
    pub fn get_entries(&self, from_tried: bool) -> Vec<(AddrInfo, AddressPosition)> {
        let mut cs = self.cs.lock();
        cs.check();
        let ret = cs.get_entries_(from_tried);
        cs.check();
        ret
    }

    /// Port of AddrMan::Connected (addrman.cpp): we were connected to `addr` until `time`.
    pub fn connected(&self, addr: &CService, time: i64) {
        let mut cs = self.cs.lock();
        cs.check();
        cs.connected_(addr, time);
        cs.check();
    }

    /// Port of AddrMan::SetServices (addrman.cpp).
    pub fn set_services(&self, addr: &CService, n_services: ServiceFlags) {
        let mut cs = self.cs.lock();
        cs.check();
        cs.set_services_(addr, n_services);
        cs.check();
    }

    /// Port of AddrMan::FindAddressEntry (addrman.cpp): where `addr` is stored, if it is.
    pub fn find_address_entry(&self, addr: &CAddress) -> Option<AddressPosition> {
        let mut cs = self.cs.lock();
        cs.check();
        let ret = cs.find_address_entry_(addr);
        cs.check();
        ret
    }

    /// Port of AddrManImpl::CheckAddrman (addrman.cpp): full consistency check regardless of the
    /// ratio; 0 if consistent, else Core's negative error code.
    pub fn check_addrman(&self) -> i32 {
        self.cs.lock().check_addrman()
    }

    /// Port of AddrMan::Serialize (addrman.cpp): the addrman serialization (no message start,
    /// no checksum), format V4.
    pub fn serialize_body<W: Write + ?Sized>(&self, w: &mut W) -> std::io::Result<()> {
        self.cs.lock().serialize(w)
    }

    /// Port of AddrMan::Serialize with SerializeFileDB (addrman.cpp, addrdb.cpp): the complete peers.dat bytes (message start, addrman, checksum), written to `w`.
    pub fn serialize<W: Write + ?Sized>(
        &self,
        w: &mut W,
        message_start: [u8; 4],
    ) -> std::io::Result<()> {
        w.write_all(&crate::addrdb::write_peers_dat(self, message_start))
    }

    /// Port of AddrMan::Unserialize (addrman.cpp): load an addrman serialization (no message
    /// start, no checksum) into this empty addrman. On error the addrman is left empty (Core
    /// leaves it inconsistent and its callers rebuild it).
    pub fn unserialize<R: Read + ?Sized>(&self, r: &mut R) -> Result<(), AddrDbError> {
        let mut cs = self.cs.lock();
        let old_key = cs.n_key;
        let result = cs.unserialize(r);
        if let Err(kind) = result {
            if kind != AddrDbErrorKind::NotEmpty {
                cs.reset(old_key);
            }
            return Err(kind.into());
        }
        Ok(())
    }

    /// Not in Core: empty every table and restore `key`, after a load that failed once the data
    /// was read (a wrong or missing peers.dat checksum, [`crate::addrdb::deserialize_db`]).
    pub(crate) fn reset_after_failed_load(&self, key: AddrManKey) {
        self.cs.lock().reset(key);
    }

    /// Port of AddrMan::Unserialize with DeserializeDB (addrman.cpp, addrdb.cpp): A new addrman loaded from complete peers.dat bytes (message start, data, checksum).
    pub fn deserialize(
        bytes: &[u8],
        message_start: [u8; 4],
        netgroupman: NetGroupManager,
        deterministic: bool,
        consistency_check_ratio: i32,
        hash: HashKind,
    ) -> Result<AddrMan, AddrDbError> {
        let addrman = AddrMan::new(netgroupman, deterministic, consistency_check_ratio, hash);
        crate::addrdb::read_peers_dat(&addrman, bytes, message_start)?;
        Ok(addrman)
    }
}

impl AddrManImpl {
    /// Empty every table and restore `key` (after a failed load).
    pub(crate) fn reset(&mut self, key: AddrManKey) {
        self.n_key = key;
        self.n_id_count = 0;
        self.map_info.clear();
        self.map_addr.clear();
        self.v_random.clear();
        self.n_tried = 0;
        self.n_new = 0;
        self.vv_tried.clear();
        self.vv_new.clear();
        for c in self.new_bucket_nets.iter_mut() {
            *c = Default::default();
        }
        for c in self.tried_bucket_nets.iter_mut() {
            *c = Default::default();
        }
        self.m_tried_collisions.clear();
        self.m_network_counts = Default::default();
    }
}
