//! Payloads that wait for others (Stage 2 dependencies): the shape of Core's `TxOrphanage`
//! (txorphanage.cpp) for `logos` payloads the upper layer answered with
//! [`Verdict::Pending`](crate::upper::Verdict::Pending).
//!
//! A pending payload waits in a pool with the ids it still needs. The pool is bounded by count
//! and by bytes, overall and per peer; an entry expires after [`DEFAULT_PENDING_EXPIRY`]
//! (Core's `ORPHAN_TX_EXPIRE_TIME`). Every peer that sent a copy is an announcer of the entry and
//! is charged its bytes (Core's `AddAnnouncer` and `UsageByPeer`). Over a bound, the pool first
//! drops the oldest entries of the peer that added the last one, down to its share, then the
//! oldest entry of the heaviest peer (most bytes), until it fits; an entry leaves when its last
//! announcer does, and when its peer disconnects (Core's `EraseForPeer`).
//!
//! What it waits for is fetched by full id (`getlogosid`) from the peer that sent the payload
//! first, then, one at a time after [`DEFAULT_DEPENDENCY_REQUEST_TIMEOUT`] (or a
//! `lognotfound`), from its other announcers, then from any other peer of an announcing link,
//! outbound ones first; one request is in flight per id. When an id it waits for is accepted
//! by the upper layer, the entry no longer waits for it; when it waits for nothing, it leaves
//! the pool and is offered to the upper layer again (a new [`Output::Deliver`]), which may
//! accept it, refuse it, or list more ids. When an id it waits for is refused (or found
//! invalid later), the entry is dropped and remembered as refused, and so are the entries that
//! wait for it in turn.
//!
//! Each payload reaches the upper layer's acceptance once: a payload in the pool is neither
//! delivered nor pooled again (a second copy only adds an announcer), and it is offered again
//! only when it leaves the pool.
//!
//! Time: the pool's deadlines (expiry, request timeouts) wake the peer they concern (the
//! entry's first announcer, the peer asked); its `send_messages` runs
//! [`PeerManager::pending_timers`] for the whole pool.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use protocol::header::HEADER_SIZE;
use protocol::NetworkMessage;

use crate::eviction::NodeId;
use crate::flood::PayloadId;
use crate::upper::FinalVerdict;

use super::{Output, PeerManager};

/// Default bound of the pool's entries (Core's `DEFAULT_MAX_ORPHAN_TRANSACTIONS` is 100; a
/// consensus round can send a post-commit ahead of many of its messages).
pub const DEFAULT_PENDING_MAX_COUNT: usize = 1_000;
/// Default bound of the pool's payload bytes.
pub const DEFAULT_PENDING_MAX_BYTES: usize = 32 << 20;
/// Default share of one peer: entries it announced.
pub const DEFAULT_PENDING_PEER_MAX_COUNT: usize = 250;
/// Default share of one peer: bytes of the entries it announced (two payloads of the largest
/// size, `MAX_PROTOCOL_MESSAGE_LENGTH`).
pub const DEFAULT_PENDING_PEER_MAX_BYTES: usize = 8 << 20;
/// Default lifetime of an entry, µs (Core's `ORPHAN_TX_EXPIRE_TIME`, 20 minutes).
pub const DEFAULT_PENDING_EXPIRY: i64 = 20 * 60 * 1_000_000;
/// Default time a peer has to answer a `getlogosid` before the next one is asked, µs.
pub const DEFAULT_DEPENDENCY_REQUEST_TIMEOUT: i64 = 5_000_000;
/// Most ids one payload may wait for; a longer list drops the payload (as
/// [`Verdict::Ignore`](crate::upper::Verdict::Ignore)).
pub const MAX_PENDING_DEPENDENCIES: usize = 64;

/// The pool's bounds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingOptions {
    /// Entries at most.
    pub max_count: usize,
    /// Payload bytes at most.
    pub max_bytes: usize,
    /// Entries one peer announced at most.
    pub peer_max_count: usize,
    /// Bytes of the entries one peer announced at most (a larger payload is not kept).
    pub peer_max_bytes: usize,
    /// Lifetime of an entry, µs.
    pub expiry: i64,
    /// Time a peer has to answer a `getlogosid`, µs.
    pub request_timeout: i64,
}

impl Default for PendingOptions {
    fn default() -> Self {
        PendingOptions {
            max_count: DEFAULT_PENDING_MAX_COUNT,
            max_bytes: DEFAULT_PENDING_MAX_BYTES,
            peer_max_count: DEFAULT_PENDING_PEER_MAX_COUNT,
            peer_max_bytes: DEFAULT_PENDING_PEER_MAX_BYTES,
            expiry: DEFAULT_PENDING_EXPIRY,
            request_timeout: DEFAULT_DEPENDENCY_REQUEST_TIMEOUT,
        }
    }
}

/// What the pool holds and has done since start.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PendingStats {
    /// Entries now.
    pub count: usize,
    /// Payload bytes now.
    pub bytes: usize,
    /// Ids being fetched by full id now.
    pub requests_in_flight: usize,
    /// Payloads that entered the pool.
    pub added: u64,
    /// Payloads offered to the upper layer again (what they waited for arrived).
    pub reoffered: u64,
    /// Entries dropped over a bound (a peer's share, or the pool's).
    pub evicted: u64,
    /// Entries dropped at expiry.
    pub expired: u64,
    /// Entries (or pending verdicts) dropped because an id they wait for was refused.
    pub dropped_for_dependency: u64,
    /// `getlogosid` requests sent (one per id and peer asked).
    pub requests_sent: u64,
}

/// One pending payload.
#[derive(Debug)]
pub(crate) struct PendingEntry {
    pub(crate) payload: Arc<Vec<u8>>,
    pub(crate) header: [u8; HEADER_SIZE],
    /// Insertion order (the oldest first, which is also expiry order).
    seq: u64,
    /// When it expires, µs.
    expiry: i64,
    /// Peers that sent it, the one whose copy was judged first (Core's `announcers`).
    pub(crate) announcers: Vec<NodeId>,
    /// Ids it still waits for.
    pub(crate) missing: Vec<PayloadId>,
}

/// A peer's share of the pool (Core's `PeerOrphanInfo::m_total_usage`, plus a count).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct PeerUsage {
    count: usize,
    bytes: usize,
}

/// An id being fetched by full id.
#[derive(Debug)]
struct DepRequest {
    /// The peer asked.
    peer: NodeId,
    /// When the peer has not answered in time, µs.
    timeout: i64,
    /// Peers asked before, in order.
    tried: Vec<NodeId>,
}

/// Why [`PendingPool::add`] kept nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum NotAdded {
    /// The id is pooled already (the peer was added as an announcer).
    Known,
    /// The payload alone exceeds a peer's byte share (Core ignores orphans over
    /// `MAX_STANDARD_TX_WEIGHT`).
    TooLarge,
}

/// The pool (Core's `TxOrphanage`).
#[derive(Debug)]
pub(crate) struct PendingPool {
    opts: PendingOptions,
    entries: HashMap<PayloadId, PendingEntry>,
    /// Entries by `seq`, oldest first (Core's `m_orphan_list`, ordered).
    by_age: BTreeMap<u64, PayloadId>,
    /// For each missing id, the entries waiting for it (Core's `m_outpoint_to_orphan_it`).
    waiting: HashMap<PayloadId, Vec<PayloadId>>,
    peers: HashMap<NodeId, PeerUsage>,
    bytes: usize,
    next_seq: u64,
    requests: HashMap<PayloadId, DepRequest>,
    /// Request timeouts, earliest first.
    timeouts: BTreeSet<(i64, PayloadId)>,
    stats: PendingStats,
}

impl PendingPool {
    pub(crate) fn new(opts: &PendingOptions) -> Self {
        PendingPool {
            opts: opts.clone(),
            entries: HashMap::new(),
            by_age: BTreeMap::new(),
            waiting: HashMap::new(),
            peers: HashMap::new(),
            bytes: 0,
            next_seq: 0,
            requests: HashMap::new(),
            timeouts: BTreeSet::new(),
            stats: PendingStats::default(),
        }
    }

    pub(crate) fn contains(&self, id: &PayloadId) -> bool {
        // Asked for every payload that arrives: no hashing while the pool is empty.
        !self.entries.is_empty() && self.entries.contains_key(id)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty() && self.requests.is_empty()
    }

    pub(crate) fn entry(&self, id: &PayloadId) -> Option<&PendingEntry> {
        self.entries.get(id)
    }

    pub(crate) fn stats(&self) -> PendingStats {
        PendingStats {
            count: self.entries.len(),
            bytes: self.bytes,
            requests_in_flight: self.requests.len(),
            ..self.stats
        }
    }

    fn charge(&mut self, peer: NodeId, bytes: usize) {
        let u = self.peers.entry(peer).or_default();
        u.count += 1;
        u.bytes += bytes;
    }

    fn discharge(&mut self, peer: NodeId, bytes: usize) {
        if let Some(u) = self.peers.get_mut(&peer) {
            u.count -= 1;
            u.bytes -= bytes;
            if u.count == 0 {
                self.peers.remove(&peer);
            }
        }
    }

    /// Port of TxOrphanage::AddAnnouncer (txorphanage.cpp): `peer` also sent `id`.
    pub(crate) fn add_announcer(&mut self, id: &PayloadId, peer: NodeId) -> bool {
        let Some(e) = self.entries.get_mut(id) else {
            return false;
        };
        if e.announcers.contains(&peer) {
            return false;
        }
        e.announcers.push(peer);
        let len = e.payload.len();
        self.charge(peer, len);
        true
    }

    /// Port of TxOrphanage::AddTx (txorphanage.cpp): keep `payload` from `from`, waiting for
    /// `missing` (not empty, without duplicates).
    pub(crate) fn add(
        &mut self,
        id: PayloadId,
        payload: Arc<Vec<u8>>,
        header: [u8; HEADER_SIZE],
        from: NodeId,
        missing: Vec<PayloadId>,
        now: i64,
    ) -> Result<(), NotAdded> {
        if self.entries.contains_key(&id) {
            self.add_announcer(&id, from);
            return Err(NotAdded::Known);
        }
        if payload.len() > self.opts.peer_max_bytes
            || payload.len() > self.opts.max_bytes
            || self.opts.peer_max_count == 0
            || self.opts.max_count == 0
        {
            return Err(NotAdded::TooLarge);
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        for m in &missing {
            self.waiting.entry(*m).or_default().push(id);
        }
        let len = payload.len();
        self.bytes += len;
        self.charge(from, len);
        self.by_age.insert(seq, id);
        self.entries.insert(
            id,
            PendingEntry {
                payload,
                header,
                seq,
                expiry: now.saturating_add(self.opts.expiry),
                announcers: vec![from],
                missing,
            },
        );
        self.stats.added += 1;
        Ok(())
    }

    /// Port of TxOrphanage::EraseTx (txorphanage.cpp): drop the entry; it no longer waits for
    /// anything (an id nobody waits for any more is no longer fetched).
    pub(crate) fn erase(&mut self, id: &PayloadId) -> Option<PendingEntry> {
        let e = self.entries.remove(id)?;
        self.by_age.remove(&e.seq);
        self.bytes -= e.payload.len();
        for p in &e.announcers {
            self.discharge(*p, e.payload.len());
        }
        for m in &e.missing {
            if let Some(w) = self.waiting.get_mut(m) {
                w.retain(|x| x != id);
                if w.is_empty() {
                    self.waiting.remove(m);
                    self.cancel_request(m);
                }
            }
        }
        Some(e)
    }

    /// Remove `peer`'s announcement of `id`; the entry goes when it was the last. Returns
    /// whether the entry went.
    fn remove_announcement(&mut self, id: &PayloadId, peer: NodeId) -> bool {
        let Some(e) = self.entries.get_mut(id) else {
            return false;
        };
        let before = e.announcers.len();
        e.announcers.retain(|p| *p != peer);
        if e.announcers.len() == before {
            return false;
        }
        let (len, last) = (e.payload.len(), e.announcers.is_empty());
        self.discharge(peer, len);
        if last {
            self.erase(id);
        }
        last
    }

    /// The oldest entry `peer` announced.
    fn oldest_of(&self, peer: NodeId) -> Option<PayloadId> {
        self.by_age
            .values()
            .find(|id| {
                self.entries
                    .get(*id)
                    .is_some_and(|e| e.announcers.contains(&peer))
            })
            .copied()
    }

    /// Port of TxOrphanage::LimitOrphans (txorphanage.cpp), bounds part: `peer` (who added
    /// the last entry) down to its share, then the heaviest peer's oldest entries until the
    /// pool fits. Returns the entries that left.
    pub(crate) fn limit(&mut self, peer: NodeId) -> Vec<PayloadId> {
        let mut gone = Vec::new();
        while self.peers.get(&peer).is_some_and(|u| {
            u.count > self.opts.peer_max_count || u.bytes > self.opts.peer_max_bytes
        }) {
            let Some(id) = self.oldest_of(peer) else {
                break;
            };
            if self.remove_announcement(&id, peer) {
                gone.push(id);
            }
        }
        while self.entries.len() > self.opts.max_count || self.bytes > self.opts.max_bytes {
            // Most bytes, then most entries; the lowest id on a tie (a fixed choice).
            let Some(heaviest) = self
                .peers
                .iter()
                .max_by_key(|(p, u)| (u.bytes, u.count, std::cmp::Reverse(**p)))
                .map(|(p, _)| *p)
            else {
                break;
            };
            let Some(id) = self.oldest_of(heaviest) else {
                break;
            };
            if self.remove_announcement(&id, heaviest) {
                gone.push(id);
            }
        }
        self.stats.evicted += gone.len() as u64;
        gone
    }

    /// Port of TxOrphanage::LimitOrphans (txorphanage.cpp), expiry part: drop the entries
    /// whose time is up. Returns them.
    pub(crate) fn expire(&mut self, now: i64) -> Vec<PayloadId> {
        let mut gone = Vec::new();
        while let Some((_, id)) = self.by_age.first_key_value() {
            let id = *id;
            if self.entries.get(&id).is_some_and(|e| e.expiry > now) {
                break;
            }
            self.erase(&id);
            gone.push(id);
        }
        self.stats.expired += gone.len() as u64;
        gone
    }

    /// Port of TxOrphanage::EraseForPeer (txorphanage.cpp): `peer` is gone; it announces
    /// nothing any more (entries it alone announced leave). Returns the entries that left and
    /// the ids that were being fetched from it.
    pub(crate) fn erase_for_peer(&mut self, peer: NodeId) -> (Vec<PayloadId>, Vec<PayloadId>) {
        let mut gone = Vec::new();
        if self.peers.contains_key(&peer) {
            let mine: Vec<PayloadId> = self
                .by_age
                .values()
                .filter(|id| {
                    self.entries
                        .get(*id)
                        .is_some_and(|e| e.announcers.contains(&peer))
                })
                .copied()
                .collect();
            for id in mine {
                if self.remove_announcement(&id, peer) {
                    gone.push(id);
                }
            }
        }
        let asked: Vec<PayloadId> = self
            .requests
            .iter()
            .filter(|(_, r)| r.peer == peer)
            .map(|(d, _)| *d)
            .collect();
        (gone, asked)
    }

    /// Port of TxOrphanage::AddChildrenToWorkSet (txorphanage.cpp): `dep` was accepted; the
    /// entries that waited for it no longer do. Those that now wait for nothing leave the pool
    /// and are returned (oldest first) to be offered again.
    pub(crate) fn dependency_arrived(&mut self, dep: &PayloadId) -> Vec<(PayloadId, PendingEntry)> {
        self.cancel_request(dep);
        let Some(waiting) = self.waiting.remove(dep) else {
            return Vec::new();
        };
        let mut ready = Vec::new();
        for id in waiting {
            let Some(e) = self.entries.get_mut(&id) else {
                continue;
            };
            e.missing.retain(|m| m != dep);
            if e.missing.is_empty() {
                ready.push((e.seq, id));
            }
        }
        ready.sort_unstable();
        ready
            .into_iter()
            .filter_map(|(_, id)| self.erase(&id).map(|e| (id, e)))
            .collect()
    }

    /// The entries waiting for `dep`; they are taken out of the waiting index (the caller
    /// drops them).
    pub(crate) fn take_dependents(&mut self, dep: &PayloadId) -> Vec<PayloadId> {
        self.cancel_request(dep);
        self.waiting.remove(dep).unwrap_or_default()
    }

    /// Whether some entry waits for `dep`.
    pub(crate) fn is_wanted(&self, dep: &PayloadId) -> bool {
        self.waiting.contains_key(dep)
    }

    /// The announcers of the entries waiting for `dep`, each once, the oldest entry's first.
    pub(crate) fn announcers_of_dependents(&self, dep: &PayloadId) -> Vec<NodeId> {
        let mut out: Vec<(u64, NodeId)> = Vec::new();
        for id in self.waiting.get(dep).into_iter().flatten() {
            if let Some(e) = self.entries.get(id) {
                for p in &e.announcers {
                    out.push((e.seq, *p));
                }
            }
        }
        out.sort_by_key(|(seq, _)| *seq);
        let mut seen = Vec::new();
        for (_, p) in out {
            if !seen.contains(&p) {
                seen.push(p);
            }
        }
        seen
    }

    pub(crate) fn is_requested(&self, dep: &PayloadId) -> bool {
        self.requests.contains_key(dep)
    }

    /// The peers asked for `dep` so far (the one in flight last).
    pub(crate) fn asked(&self, dep: &PayloadId) -> Vec<NodeId> {
        self.requests
            .get(dep)
            .map(|r| {
                let mut v = r.tried.clone();
                v.push(r.peer);
                v
            })
            .unwrap_or_default()
    }

    /// `dep` is asked of `peer` now (after `tried`).
    pub(crate) fn start_request(
        &mut self,
        dep: PayloadId,
        peer: NodeId,
        tried: Vec<NodeId>,
        now: i64,
    ) {
        self.cancel_request(&dep);
        let timeout = now.saturating_add(self.opts.request_timeout);
        self.timeouts.insert((timeout, dep));
        self.requests.insert(
            dep,
            DepRequest {
                peer,
                timeout,
                tried,
            },
        );
        self.stats.requests_sent += 1;
    }

    /// The ids being fetched from `peer`.
    pub(crate) fn requests_to(&self, peer: NodeId) -> Vec<PayloadId> {
        self.requests
            .iter()
            .filter(|(_, r)| r.peer == peer)
            .map(|(d, _)| *d)
            .collect()
    }

    /// Stop fetching `dep`; returns the peer it was asked of.
    pub(crate) fn cancel_request(&mut self, dep: &PayloadId) -> Option<NodeId> {
        let r = self.requests.remove(dep)?;
        self.timeouts.remove(&(r.timeout, *dep));
        Some(r.peer)
    }

    /// The peer `dep` is being fetched from.
    pub(crate) fn requested_from(&self, dep: &PayloadId) -> Option<NodeId> {
        self.requests.get(dep).map(|r| r.peer)
    }

    /// The ids whose request timed out at `now` (they stay recorded, for the next peer).
    pub(crate) fn timed_out(&self, now: i64) -> Vec<PayloadId> {
        self.timeouts
            .iter()
            .take_while(|(t, _)| *t <= now)
            .map(|(_, d)| *d)
            .collect()
    }

    /// The pool's next deadline and the peer to wake for it: the earliest of the oldest
    /// entry's expiry (its first announcer) and the earliest request timeout (the peer asked).
    pub(crate) fn next_deadline(&self) -> Option<(i64, NodeId)> {
        let expiry = self.by_age.values().next().and_then(|id| {
            self.entries
                .get(id)
                .and_then(|e| e.announcers.first().map(|p| (e.expiry, *p)))
        });
        let request = self
            .timeouts
            .first()
            .and_then(|(t, d)| self.requests.get(d).map(|r| (*t, r.peer)));
        match (expiry, request) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    pub(crate) fn count_reoffered(&mut self) {
        self.stats.reoffered += 1;
    }

    pub(crate) fn count_dropped_for_dependency(&mut self) {
        self.stats.dropped_for_dependency += 1;
    }
}

impl PeerManager {
    /// Not in Core: the upper layer answered [`Verdict::Pending`](crate::upper::Verdict::Pending)
    /// on `id` from `from`: keep it until `missing` is accepted, and fetch what is not on its
    /// way (Core's orphan handling in ProcessMessage, `tx` with `TX_MISSING_INPUTS`).
    pub(super) fn pending_add(
        &mut self,
        from: NodeId,
        id: PayloadId,
        payload: Arc<Vec<u8>>,
        header: [u8; HEADER_SIZE],
        mut missing: Vec<PayloadId>,
        now: i64,
    ) {
        if !self.m_peer_map.contains_key(&from) {
            // The sender left while the upper layer was judging (Core erases a departed
            // peer's orphans): a copy from another peer is judged anew.
            return;
        }
        missing.sort_unstable();
        missing.dedup();
        missing.retain(|m| *m != id);
        if missing.len() > MAX_PENDING_DEPENDENCIES || missing.is_empty() {
            log::debug!(target: "net", "logos message ({} bytes) from peer={} waits for {} payloads, dropped", payload.len(), from, missing.len());
            self.logos_refused(id, now);
            return;
        }
        if missing.iter().any(|m| self.logos_is_refused(m, now)) {
            log::debug!(target: "net", "logos message ({} bytes) from peer={} waits for a refused payload, dropped", payload.len(), from);
            self.pending.count_dropped_for_dependency();
            self.logos_refused(id, now);
            return;
        }
        missing.retain(|m| !self.is_seen(m, now));
        if missing.is_empty() {
            // Everything it names was accepted already: the upper layer cannot use it.
            log::debug!(target: "net", "logos message ({} bytes) from peer={} waits only for accepted payloads, dropped", payload.len(), from);
            self.logos_refused(id, now);
            return;
        }
        let len = payload.len();
        match self.pending.add(id, payload, header, from, missing, now) {
            Ok(()) | Err(NotAdded::Known) => {}
            Err(NotAdded::TooLarge) => {
                //DMITRY: a pending logos payload larger than a peer's share of the pending pool; Core: txorphanage.cpp::TxOrphanage::AddTx (orphan over MAX_STANDARD_TX_WEIGHT); kept: not stored,
                // nor remembered as refused (a copy that comes after its dependencies is judged
                // anew); the peer is not punished.
                log::debug!(target: "net", "pending logos message ({len} bytes) from peer={from} too large for the pending pool, dropped");
                return;
            }
        }
        let gone = self.pending.limit(from);
        if !gone.is_empty() {
            //DMITRY: the pending pool is over a peer's share or its own bounds; Core: txorphanage.cpp::TxOrphanage::LimitOrphans; changed: heaviest peer first,
            // the oldest entries of the peer that added one go down to its share, then those
            // of the peer using most bytes until the pool fits (Core at the pinned commit
            // evicts at random; its later orphanage evicts from the peer using most), so one
            // peer cannot push the others' entries out; no peer is punished.
            log::debug!(target: "net", "pending pool overflow, removed {} logos messages", gone.len());
        }
        if self.pending.contains(&id) {
            self.request_dependencies(&id, now);
        }
        self.arm_pending_timer();
    }

    /// Fetch the ids entry `id` waits for that nobody fetches yet and that are not on their
    /// way to the upper layer already, from the entry's first announcer that can serve them.
    fn request_dependencies(&mut self, id: &PayloadId, now: i64) {
        let Some(e) = self.pending.entry(id) else {
            return;
        };
        let todo: Vec<PayloadId> = e
            .missing
            .iter()
            .filter(|m| {
                !self.pending.is_requested(m)
                    && !self.pending.contains(m)
                    && !self.logos_is_awaiting(m)
            })
            .copied()
            .collect();
        let mut batches: BTreeMap<NodeId, Vec<PayloadId>> = BTreeMap::new();
        for dep in todo {
            if let Some(peer) = self.next_dependency_source(&dep, &[]) {
                self.pending.start_request(dep, peer, Vec::new(), now);
                batches.entry(peer).or_default().push(dep);
            }
        }
        self.send_dependency_requests(batches);
    }

    /// Whether `getlogosid` may be sent to this peer: a fully connected peer on a link that
    /// negotiated the Stage 2 relay (never on a Bitcoin network).
    fn serves_by_id(&self, id: NodeId) -> bool {
        !self.opts.params.is_bitcoin()
            && self
                .m_peer_map
                .get(&id)
                .is_some_and(|p| p.fully_connected() && p.link.active())
    }

    /// Whom to ask for `dep` next, none of `tried`: the announcers of the entries waiting for
    /// it (the first sender first), then any other peer that serves by id, outbound and manual
    /// peers before inbound ones (Core's txrequest prefers them too).
    fn next_dependency_source(&self, dep: &PayloadId, tried: &[NodeId]) -> Option<NodeId> {
        let announcers = self.pending.announcers_of_dependents(dep);
        if let Some(p) = announcers
            .iter()
            .find(|p| !tried.contains(p) && self.serves_by_id(**p))
        {
            return Some(*p);
        }
        let announcers = &announcers;
        let others = |inbound: bool| {
            self.m_peer_map
                .iter()
                .filter(move |(id, p)| {
                    p.conn.is_inbound_conn() == inbound
                        && !tried.contains(id)
                        && !announcers.contains(id)
                })
                .map(|(id, _)| *id)
                .find(|id| self.serves_by_id(*id))
        };
        others(false).or_else(|| others(true))
    }

    fn send_dependency_requests(&mut self, batches: BTreeMap<NodeId, Vec<PayloadId>>) {
        for (peer, ids) in batches {
            log::debug!(target: "net", "requesting {} missing logos messages by id from peer={}", ids.len(), peer);
            self.outbox.push_back(Output::Send {
                peer,
                msg: NetworkMessage::GetLogosById(ids),
            });
        }
    }

    /// Ask the next peer for each of `deps` (their request timed out, was not found, or the
    /// peer left); an id nobody else can serve is given up (it may still arrive by
    /// announcement or flood while its dependents wait).
    fn retry_dependencies(&mut self, deps: Vec<PayloadId>, now: i64) {
        let mut batches: BTreeMap<NodeId, Vec<PayloadId>> = BTreeMap::new();
        for dep in deps {
            let tried = self.pending.asked(&dep);
            self.pending.cancel_request(&dep);
            if !self.pending.is_wanted(&dep) || self.logos_is_awaiting(&dep) {
                continue;
            }
            match self.next_dependency_source(&dep, &tried) {
                Some(peer) => {
                    self.pending.start_request(dep, peer, tried, now);
                    batches.entry(peer).or_default().push(dep);
                }
                None => {
                    log::debug!(target: "net", "no peer left to ask for a missing logos message ({} asked)", tried.len());
                }
            }
        }
        self.send_dependency_requests(batches);
    }

    /// File the pool's next deadline with the peer it concerns (an earlier deadline of that
    /// peer stays).
    fn arm_pending_timer(&mut self) {
        if let Some((t, peer)) = self.pending.next_deadline() {
            self.schedule(peer, Some(t));
        }
    }

    /// Not in Core: the pool's deadline if peer `id` is the one to wake for it (for
    /// `reschedule`).
    pub(super) fn pending_wakeup(&self, id: NodeId) -> Option<i64> {
        self.pending
            .next_deadline()
            .filter(|(_, p)| *p == id)
            .map(|(t, _)| t)
    }

    /// Not in Core: the pool's timers (from `send_messages`): expired entries leave (Core's
    /// sweep in LimitOrphans), timed-out requests go to the next peer.
    pub(super) fn pending_timers(&mut self, now: i64) {
        if self.pending.next_deadline().is_none_or(|(t, _)| t > now) {
            return;
        }
        let gone = self.pending.expire(now);
        if !gone.is_empty() {
            log::debug!(target: "net", "Erased {} pending logos messages due to expiration", gone.len());
        }
        let due = self.pending.timed_out(now);
        if !due.is_empty() {
            self.retry_dependencies(due, now);
        }
        self.arm_pending_timer();
    }

    /// Not in Core: the upper layer accepted `id`: a pooled copy of it leaves, and the entries
    /// that waited only for it are offered again (in the order they came).
    pub(super) fn pending_accepted(&mut self, id: &PayloadId) {
        if self.pending.is_empty() {
            return;
        }
        self.pending.erase(id);
        for (pid, e) in self.pending.dependency_arrived(id) {
            self.pending.count_reoffered();
            let from = e.announcers[0];
            log::debug!(target: "net", "logos message ({} bytes) from peer={} has what it waited for, offered again", e.payload.len(), from);
            self.logos_offer_again(from, pid, e.payload, e.header);
        }
        self.arm_pending_timer();
    }

    /// Not in Core: `id` was refused (or found invalid later): a pooled copy leaves, and every
    /// entry waiting for it, and for those in turn, is dropped and remembered as refused.
    pub(super) fn pending_refused(&mut self, id: &PayloadId, now: i64) {
        if self.pending.is_empty() {
            return;
        }
        self.pending.erase(id);
        let mut work = vec![*id];
        while let Some(dep) = work.pop() {
            for child in self.pending.take_dependents(&dep) {
                if let Some(e) = self.pending.erase(&child) {
                    log::debug!(target: "net", "pending logos message ({} bytes) from peer={} dropped: what it waits for was refused", e.payload.len(), e.announcers[0]);
                    self.pending.count_dropped_for_dependency();
                    self.logos_refused(child, now);
                    work.push(child);
                }
            }
        }
        self.arm_pending_timer();
    }

    /// Not in Core: peer `id` is gone (from `finalize_node`): it announces nothing any more
    /// (Core's EraseForPeer), and what was asked of it is asked of the next peer.
    pub(super) fn pending_peer_finalized(&mut self, id: NodeId, now: i64) {
        if self.pending.is_empty() {
            return;
        }
        let (gone, asked) = self.pending.erase_for_peer(id);
        if !gone.is_empty() {
            log::debug!(target: "net", "Erased {} pending logos message(s) from peer={}", gone.len(), id);
        }
        if !asked.is_empty() {
            let before = self.outbox.len();
            self.retry_dependencies(asked, now);
            // The shell drains outputs after `send_messages`, not after `finalize_node`: the
            // peers asked now get a pass at once.
            let asked_now: Vec<NodeId> = self
                .outbox
                .iter()
                .skip(before)
                .filter_map(|o| match o {
                    Output::Send { peer, .. } => Some(*peer),
                    _ => None,
                })
                .collect();
            for peer in asked_now {
                self.schedule(peer, Some(now));
            }
        }
        self.arm_pending_timer();
    }

    /// Not in Core: a copy of `id` arrived from `from`: if it waits in the pool, `from` becomes
    /// one of its announcers (Core's AddAnnouncer) and the copy is dropped unjudged (from
    /// `process_logos`'s check for known payloads). Returns whether it waits in the pool.
    /// What it waits for and nobody is asked for any more is asked of `from`.
    pub(crate) fn pending_seen_copy(&mut self, from: NodeId, id: &PayloadId, now: i64) -> bool {
        if !self.pending.contains(id) {
            return false;
        }
        if self.pending.add_announcer(id, from) {
            let gone = self.pending.limit(from);
            if !gone.is_empty() {
                log::debug!(target: "net", "pending pool overflow, removed {} logos messages", gone.len());
            }
        }
        let idle: Vec<PayloadId> = self
            .pending
            .entry(id)
            .map(|e| {
                e.missing
                    .iter()
                    .filter(|m| {
                        !self.pending.is_requested(m)
                            && !self.pending.contains(m)
                            && !self.logos_is_awaiting(m)
                    })
                    .copied()
                    .collect()
            })
            .unwrap_or_default();
        if !idle.is_empty() && self.serves_by_id(from) {
            for dep in &idle {
                self.pending.start_request(*dep, from, Vec::new(), now);
            }
            self.send_dependency_requests(BTreeMap::from([(from, idle)]));
        }
        self.arm_pending_timer();
        true
    }

    /// Not in Core: `lognotfound` from `peer` for these short ids: an id we fetch by full id
    /// from it is asked of the next peer at once (the lead's `process_lognotfound` calls this).
    pub(crate) fn pending_not_found(&mut self, peer: NodeId, short_ids: &[u64], now: i64) {
        if self.pending.is_empty() {
            return;
        }
        let Some(link) = self.m_peer_map.get(&peer).map(|p| &p.link) else {
            return;
        };
        if !link.active() {
            return;
        }
        let deps: Vec<PayloadId> = self
            .pending
            .requests_to(peer)
            .into_iter()
            .filter(|d| short_ids.contains(&link.short_id(d)))
            .collect();
        if !deps.is_empty() {
            self.retry_dependencies(deps, now);
            self.arm_pending_timer();
        }
    }

    /// Not in Core: the upper layer's final verdict on `id`, for the checks it skipped when it
    /// answered [`Verdict::Accept`](crate::upper::Verdict::Accept) (or for a payload it learnt
    /// about otherwise). `Invalid`: it is no longer served (relay pool, important store), a
    /// later copy is dropped, and what waits for it is dropped; the peers that relayed it are
    /// not punished. `Valid` changes nothing.
    pub fn final_verdict(&mut self, id: PayloadId, verdict: FinalVerdict, now: i64) {
        match verdict {
            FinalVerdict::Valid => {}
            FinalVerdict::Invalid => {
                //DMITRY: the upper layer finds an accepted logos payload invalid later (a late final verdict); Core: net_processing.cpp::PeerManagerImpl::MaybePunishNodeForTx; changed: nobody punished,
                // the relayers could not have known (the checks were skipped on purpose); the
                // payload is no longer served, and what waits for it is dropped.
                log::debug!(target: "net", "logos message found invalid by the upper layer's final verdict: no longer served");
                self.relay_forget(&id);
                self.logos_forget_important(&id);
                self.logos_refused(id, now);
                self.pending_refused(&id, now);
            }
        }
    }

    /// Not in Core: the pending pool's size and counters.
    pub fn pending_stats(&self) -> PendingStats {
        self.pending.stats()
    }

    /// Not in Core: whether payload `id` waits in the pending pool.
    pub fn is_pending(&self, id: &PayloadId) -> bool {
        self.pending.contains(id)
    }

    /// Not in Core: the peer `dep` is being fetched from by full id, if any.
    pub fn dependency_requested_from(&self, dep: &PayloadId) -> Option<NodeId> {
        self.pending.requested_from(dep)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u8) -> PayloadId {
        [n; 32]
    }

    fn pl(len: usize) -> Arc<Vec<u8>> {
        Arc::new(vec![0; len])
    }

    const H: [u8; HEADER_SIZE] = [0; HEADER_SIZE];

    fn pool(f: impl FnOnce(&mut PendingOptions)) -> PendingPool {
        let mut o = PendingOptions::default();
        f(&mut o);
        PendingPool::new(&o)
    }

    /// The pool's counters agree with its entries (Core's SanityCheck).
    fn sanity(p: &PendingPool) {
        let mut bytes = 0;
        let mut usage: HashMap<NodeId, PeerUsage> = HashMap::new();
        for (id, e) in &p.entries {
            bytes += e.payload.len();
            assert!(!e.announcers.is_empty());
            assert_eq!(p.by_age.get(&e.seq), Some(id));
            for a in &e.announcers {
                let u = usage.entry(*a).or_default();
                u.count += 1;
                u.bytes += e.payload.len();
            }
            for m in &e.missing {
                assert!(p.waiting[m].contains(id));
            }
        }
        assert_eq!(bytes, p.bytes);
        assert_eq!(usage, p.peers);
        assert_eq!(p.by_age.len(), p.entries.len());
        assert_eq!(p.timeouts.len(), p.requests.len());
        for w in p.waiting.values() {
            assert!(!w.is_empty());
        }
    }

    #[test]
    fn add_announcer_erase_keep_the_counters() {
        let mut p = pool(|_| {});
        p.add(id(1), pl(100), H, 7, vec![id(9)], 0).unwrap();
        assert_eq!(
            p.add(id(1), pl(100), H, 8, vec![id(9)], 0),
            Err(NotAdded::Known)
        );
        assert_eq!(p.entry(&id(1)).unwrap().announcers, vec![7, 8]);
        sanity(&p);
        assert_eq!(p.peers[&8].bytes, 100);
        p.erase(&id(1));
        sanity(&p);
        assert!(p.peers.is_empty() && p.waiting.is_empty() && p.bytes == 0);
    }

    #[test]
    fn a_dependency_releases_the_entries_that_waited_only_for_it() {
        let mut p = pool(|_| {});
        p.add(id(1), pl(10), H, 7, vec![id(9)], 0).unwrap();
        p.add(id(2), pl(10), H, 7, vec![id(9), id(8)], 0).unwrap();
        p.start_request(id(9), 7, vec![], 0);
        let ready = p.dependency_arrived(&id(9));
        assert_eq!(ready.iter().map(|r| r.0).collect::<Vec<_>>(), vec![id(1)]);
        assert!(!p.is_requested(&id(9)));
        assert_eq!(p.entry(&id(2)).unwrap().missing, vec![id(8)]);
        sanity(&p);
        assert_eq!(p.take_dependents(&id(8)), vec![id(2)]);
    }

    #[test]
    fn a_peer_over_its_share_loses_its_oldest_first() {
        let mut p = pool(|o| {
            o.peer_max_count = 2;
            o.peer_max_bytes = 1000;
        });
        for n in 1..=3 {
            p.add(id(n), pl(10), H, 7, vec![id(99)], 0).unwrap();
            p.limit(7);
        }
        p.add(id(4), pl(10), H, 8, vec![id(99)], 0).unwrap();
        p.limit(8);
        assert!(!p.contains(&id(1)));
        assert!(p.contains(&id(2)) && p.contains(&id(3)) && p.contains(&id(4)));
        // By bytes: 600 + 600 > 1000.
        p.add(id(5), pl(600), H, 9, vec![id(99)], 0).unwrap();
        p.add(id(6), pl(600), H, 9, vec![id(99)], 0).unwrap();
        assert_eq!(p.limit(9), vec![id(5)]);
        // Alone over the share: not kept.
        assert_eq!(
            p.add(id(7), pl(1001), H, 9, vec![id(99)], 0),
            Err(NotAdded::TooLarge)
        );
        sanity(&p);
    }

    #[test]
    fn over_the_pool_bound_the_heaviest_peer_loses_its_oldest() {
        let mut p = pool(|o| o.max_count = 3);
        p.add(id(1), pl(10), H, 7, vec![id(99)], 0).unwrap();
        p.add(id(2), pl(50), H, 8, vec![id(99)], 0).unwrap();
        p.add(id(3), pl(10), H, 7, vec![id(99)], 0).unwrap();
        p.add(id(4), pl(10), H, 7, vec![id(99)], 0).unwrap();
        // Peer 8: 50 bytes; peer 7: 30. Peer 8 is the heaviest.
        assert_eq!(p.limit(7), vec![id(2)]);
        let mut p = pool(|o| o.max_bytes = 100);
        p.add(id(1), pl(40), H, 7, vec![id(99)], 0).unwrap();
        p.add(id(2), pl(30), H, 8, vec![id(99)], 0).unwrap();
        p.add(id(3), pl(40), H, 7, vec![id(99)], 0).unwrap();
        assert_eq!(p.limit(7), vec![id(1)]);
        sanity(&p);
    }

    #[test]
    fn a_shared_entry_stays_while_another_peer_announces_it() {
        let mut p = pool(|_| {});
        p.add(id(1), pl(10), H, 7, vec![id(99)], 0).unwrap();
        p.add_announcer(&id(1), 8);
        p.add(id(2), pl(10), H, 7, vec![id(99)], 0).unwrap();
        p.start_request(id(99), 7, vec![], 0);
        let (gone, asked) = p.erase_for_peer(7);
        assert_eq!(gone, vec![id(2)]);
        assert_eq!(asked, vec![id(99)]);
        assert_eq!(p.entry(&id(1)).unwrap().announcers, vec![8]);
        sanity(&p);
    }

    #[test]
    fn entries_expire_oldest_first_and_wake_their_announcer() {
        let mut p = pool(|o| {
            o.expiry = 100;
            o.request_timeout = 30;
        });
        p.add(id(1), pl(10), H, 7, vec![id(99)], 0).unwrap();
        p.add(id(2), pl(10), H, 8, vec![id(98)], 50).unwrap();
        assert_eq!(p.next_deadline(), Some((100, 7)));
        p.start_request(id(98), 9, vec![], 60);
        assert_eq!(p.next_deadline(), Some((90, 9)));
        assert_eq!(p.timed_out(90), vec![id(98)]);
        assert_eq!(p.expire(99), Vec::<PayloadId>::new());
        assert_eq!(p.expire(100), vec![id(1)]);
        assert_eq!(p.expire(150), vec![id(2)]);
        // Nobody waits for 98 any more: its request is gone too.
        assert!(p.is_empty());
        sanity(&p);
    }
}
