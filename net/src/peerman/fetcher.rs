//! The node's announcements to fetch (Core's `TxRequestTracker`, txrequest.cpp, simplified for
//! payloads whose short ids differ per link).
//!
//! Indexed as Core's tracker is, so that a pass costs what it decides, not a walk of everyone's
//! announcements: by arrival, by (peer, short id), per peer (its announcements, those ready to be
//! requested, its requests in flight), by the time each waiting one becomes ready and by each
//! request's timeout and end of hold. A peer that fills its share with 5,000 announcements and
//! never answers then costs a pass a look at its first ready ones while it has room in flight,
//! and nothing while it has none (Core's `MAX_PEER_TX_REQUEST_IN_FLIGHT`).

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap, HashSet};
use std::ops::Bound::{Excluded, Included, Unbounded};

use super::announce::{
    INBOUND_DELAY, MAX_CANDIDATES_PER_PEER, MAX_IN_FLIGHT_PER_PEER, REQUEST_TIMEOUT_BASE,
    REQUEST_TIMEOUT_PER_MB, SAME_PAYLOAD_WINDOW,
};
use crate::eviction::NodeId;

/// An announcement not yet fetched, or being fetched.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Candidate {
    pub(crate) peer: NodeId,
    pub(crate) short_id: u64,
    pub(crate) size: u32,
    /// When it arrived (µs).
    pub(crate) announced: i64,
    /// From an outbound (or manual) peer.
    pub(crate) preferred: bool,
    /// When it was requested (µs), if it was.
    pub(crate) requested: Option<i64>,
    /// Wait before it may be requested (µs) beyond the inbound delay: the announcer's
    /// timeouts, or a push expected from another peer.
    pub(crate) extra_delay: i64,
    /// Once requested, how long it holds back other announcements of its size (µs).
    pub(crate) hold: i64,
}

impl Candidate {
    /// When it may be requested.
    fn ready(&self) -> i64 {
        self.announced + self.extra_delay + if self.preferred { 0 } else { INBOUND_DELAY }
    }

    fn timeout(&self) -> i64 {
        REQUEST_TIMEOUT_BASE + i64::from(self.size) * REQUEST_TIMEOUT_PER_MB / 1_000_000
    }

    /// When a request made at `r` stops holding others back, or times out if that is first.
    fn hold_end(&self, r: i64) -> i64 {
        r + self.hold.min(self.timeout())
    }
}

/// A request holding back others: (announced, peer, short id).
type Holder = (i64, NodeId, u64);

/// One peer's share of the fetcher, by arrival number.
#[derive(Debug, Default)]
struct PeerAnnouncements {
    all: BTreeSet<u64>,
    /// Not yet requested, and ready at [`Fetcher::promoted`].
    ready: BTreeSet<u64>,
    in_flight: usize,
}

/// The node's announcements to fetch: one request in flight per payload where the fetcher can
/// tell, outbound announcers first, a cap per peer on announcements and on requests in flight.
#[derive(Debug, Default)]
pub(crate) struct Fetcher {
    /// By arrival number: announcement order.
    anns: BTreeMap<u64, Candidate>,
    next_seq: u64,
    keys: HashMap<(NodeId, u64), u64>,
    per_peer: HashMap<NodeId, PeerAnnouncements>,
    /// The announcements not requested, by (ready time, arrival).
    by_ready: BTreeSet<(i64, u64)>,
    /// The requests in flight, by (timeout, arrival).
    by_timeout: BTreeSet<(i64, u64)>,
    /// The requests in flight, by (end of hold or timeout, whichever is first; arrival).
    by_hold_end: BTreeSet<(i64, u64)>,
    /// Every waiting announcement ready at this time is in its peer's `ready` set.
    promoted: Option<i64>,
    /// Something was added or removed since the last [`Fetcher::due`] pass: the next
    /// `send_messages` runs one (otherwise only the fetch deadline does).
    pub(crate) changed: bool,
}

impl Fetcher {
    /// A fetcher holding `candidates`, in that order (a copy to probe, in the fuzz targets).
    pub(crate) fn with_candidates(candidates: Vec<Candidate>) -> Self {
        let mut f = Fetcher::default();
        for c in candidates {
            f.insert(c);
        }
        f.changed = false;
        f
    }

    /// The announcements in announcement order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Candidate> {
        self.anns.values()
    }

    /// The oldest announcement.
    pub(crate) fn first(&self) -> Option<&Candidate> {
        self.anns.values().next()
    }

    pub(crate) fn len(&self) -> usize {
        self.anns.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.anns.is_empty()
    }

    /// The announcement `(peer, short id)`, waiting or in flight.
    pub(crate) fn get(&self, key: &(NodeId, u64)) -> Option<&Candidate> {
        self.keys.get(key).and_then(|s| self.anns.get(s))
    }

    /// Whether `(peer, short id)` waits or is in flight.
    pub(crate) fn has(&self, key: &(NodeId, u64)) -> bool {
        self.keys.contains_key(key)
    }

    /// Announcements of `peer` waiting or in flight.
    pub(crate) fn announced_by(&self, peer: NodeId) -> usize {
        self.per_peer.get(&peer).map_or(0, |p| p.all.len())
    }

    /// Requests in flight to `peer`.
    pub(crate) fn in_flight(&self, peer: NodeId) -> usize {
        self.per_peer.get(&peer).map_or(0, |p| p.in_flight)
    }

    /// Record an announcement; false when the peer has too many waiting (ignored, as Core
    /// ignores announcements past `MAX_PEER_TX_ANNOUNCEMENTS`).
    pub(crate) fn add(&mut self, c: Candidate) -> bool {
        if self.keys.contains_key(&(c.peer, c.short_id)) {
            return true;
        }
        if self.announced_by(c.peer) >= MAX_CANDIDATES_PER_PEER {
            return false;
        }
        self.insert(c);
        true
    }

    fn insert(&mut self, c: Candidate) {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.anns.insert(seq, c);
        self.keys.insert((c.peer, c.short_id), seq);
        let p = self.per_peer.entry(c.peer).or_default();
        p.all.insert(seq);
        match c.requested {
            Some(r) => {
                p.in_flight += 1;
                self.by_timeout.insert((r + c.timeout(), seq));
                self.by_hold_end.insert((c.hold_end(r), seq));
            }
            None => {
                self.by_ready.insert((c.ready(), seq));
                if self.promoted.is_some_and(|t| c.ready() <= t) {
                    p.ready.insert(seq);
                }
            }
        }
        self.changed = true;
    }

    fn remove(&mut self, seq: u64) -> Option<Candidate> {
        let c = self.anns.remove(&seq)?;
        self.keys.remove(&(c.peer, c.short_id));
        if let Some(p) = self.per_peer.get_mut(&c.peer) {
            p.all.remove(&seq);
            p.ready.remove(&seq);
            if c.requested.is_some() {
                p.in_flight -= 1;
            }
            if p.all.is_empty() {
                self.per_peer.remove(&c.peer);
            }
        }
        match c.requested {
            Some(r) => {
                self.by_timeout.remove(&(r + c.timeout(), seq));
                self.by_hold_end.remove(&(c.hold_end(r), seq));
            }
            None => {
                self.by_ready.remove(&(c.ready(), seq));
            }
        }
        self.changed = true;
        Some(c)
    }

    /// Mark the waiting announcement `seq` requested at `now`.
    fn request(&mut self, seq: u64, now: i64) {
        let Some(c) = self.anns.get_mut(&seq) else {
            return;
        };
        c.requested = Some(now);
        let c = *c;
        self.by_ready.remove(&(c.ready(), seq));
        self.by_timeout.insert((now + c.timeout(), seq));
        self.by_hold_end.insert((c.hold_end(now), seq));
        if let Some(p) = self.per_peer.get_mut(&c.peer) {
            p.ready.remove(&seq);
            p.in_flight += 1;
        }
    }

    /// Drop the announcement of `peer` whose short id is `sid` (the payload arrived, or the
    /// peer said it has not got it).
    pub(crate) fn resolve(&mut self, peer: NodeId, sid: u64) {
        if let Some(seq) = self.keys.get(&(peer, sid)).copied() {
            self.remove(seq);
        }
    }

    /// Drop every announcement in `gone` (peer, short id).
    pub(crate) fn resolve_all(&mut self, gone: &HashSet<(NodeId, u64)>) {
        for (peer, sid) in gone {
            self.resolve(*peer, *sid);
        }
    }

    /// Forget a peer that left.
    pub(crate) fn forget_peer(&mut self, peer: NodeId) {
        let seqs: Vec<u64> = self
            .per_peer
            .get(&peer)
            .map(|p| p.all.iter().copied().collect())
            .unwrap_or_default();
        for seq in seqs {
            self.remove(seq);
        }
    }

    /// The announcers in `peers` just failed us: their announcements not yet requested hold
    /// nobody back once they are (as one announced after the failure would not).
    pub(crate) fn distrust(&mut self, peers: &HashSet<NodeId>) {
        for peer in peers {
            let Some(p) = self.per_peer.get(peer) else {
                continue;
            };
            for seq in &p.all {
                if let Some(c) = self.anns.get_mut(seq) {
                    if c.requested.is_none() {
                        c.hold = 0;
                    }
                }
            }
        }
    }

    /// Drop the requests that timed out at `now`; their announcers are appended to `failed`,
    /// oldest announcement first.
    pub(crate) fn expire(&mut self, now: i64, failed: &mut Vec<NodeId>) {
        let mut gone: Vec<u64> = self
            .by_timeout
            .range(..=(now, u64::MAX))
            .map(|&(_, seq)| seq)
            .collect();
        gone.sort_unstable();
        for seq in gone {
            if let Some(c) = self.remove(seq) {
                failed.push(c.peer);
            }
        }
    }

    /// Every waiting announcement ready at `now` joins its peer's ready set.
    fn promote(&mut self, now: i64) {
        if self.promoted.is_some_and(|t| t >= now) {
            return;
        }
        let from = match self.promoted {
            Some(t) => Excluded((t, u64::MAX)),
            None => Unbounded,
        };
        for &(_, seq) in self.by_ready.range((from, Included((now, u64::MAX)))) {
            if let Some(c) = self.anns.get(&seq) {
                if let Some(p) = self.per_peer.get_mut(&c.peer) {
                    p.ready.insert(seq);
                }
            }
        }
        self.promoted = Some(now);
    }

    /// The requests to make at `now`: (peer, short id) in announcement order. Timed-out
    /// requests are dropped first (their announcer failed us; another announcer of the same
    /// payload, held back until now, becomes due).
    ///
    /// The pass visits, in announcement order, only the ready announcements of peers with room
    /// in flight (a merge of their ready sets), and stops with a peer once it has none.
    pub(crate) fn due(&mut self, now: i64, out: &mut Vec<(NodeId, u64)>) {
        let mut expired = Vec::new();
        self.expire(now, &mut expired);
        self.changed = false;
        self.promote(now);
        // The requests that hold back others now: by size, then announcement time.
        let mut holding: HashMap<u32, BTreeSet<Holder>> = HashMap::new();
        for &(_, seq) in self
            .by_hold_end
            .range((Excluded((now, u64::MAX)), Unbounded))
        {
            let c = &self.anns[&seq];
            if c.requested.is_some_and(|r| now < r + c.hold) {
                holding
                    .entry(c.size)
                    .or_default()
                    .insert((c.announced, c.peer, c.short_id));
            }
        }
        // Per (held peer, size): the holders that have not yet held back one of that peer's
        // announcements in this pass, its own requests left out; made on first need, and kept
        // in step with `holding`, so a look is one range query however many were used.
        let mut free: HashMap<(NodeId, u32), BTreeSet<Holder>> = HashMap::new();
        let mut next: BinaryHeap<Reverse<u64>> = self
            .per_peer
            .values()
            .filter(|p| p.in_flight < MAX_IN_FLIGHT_PER_PEER)
            .filter_map(|p| p.ready.first().copied())
            .map(Reverse)
            .collect();
        while let Some(Reverse(seq)) = next.pop() {
            let c = self.anns[&seq];
            let mut take = now >= c.ready();
            if take {
                // Probably a payload already being fetched from someone else (a peer never
                // announces one payload twice, so never one of the same peer's).
                // Only another peer's request within the window counts, and each request
                // stands for one payload, which a peer announces once: it holds back at most
                // one announcement per peer (a peer's 5,000 announcements are not held back
                // by another's 100 requests).
                let window = SAME_PAYLOAD_WINDOW + c.timeout() - REQUEST_TIMEOUT_BASE;
                if let Some(h) = holding.get(&c.size) {
                    let f = free
                        .entry((c.peer, c.size))
                        .or_insert_with(|| h.iter().filter(|x| x.1 != c.peer).copied().collect());
                    let holder = f
                        .range(
                            (c.announced - window, NodeId::MIN, 0)
                                ..=(c.announced + window, NodeId::MAX, u64::MAX),
                        )
                        .next()
                        .copied();
                    if let Some(x) = holder {
                        f.remove(&x);
                        take = false;
                    }
                }
            }
            if take {
                self.request(seq, now);
                if c.hold > 0 {
                    let x = (c.announced, c.peer, c.short_id);
                    holding.entry(c.size).or_default().insert(x);
                    for ((p, size), f) in free.iter_mut() {
                        if *size == c.size && *p != c.peer {
                            f.insert(x);
                        }
                    }
                }
                out.push((c.peer, c.short_id));
            }
            let p = &self.per_peer[&c.peer];
            if p.in_flight < MAX_IN_FLIGHT_PER_PEER {
                if let Some(&s) = p.ready.range((Excluded(seq), Unbounded)).next() {
                    next.push(Reverse(s));
                }
            }
        }
    }

    /// When something next becomes due after `now`, if anything waits: a request's timeout,
    /// or an announcement's ready time. An announcement ready now but held back waits for the
    /// request that holds it (its timeout or its payload), not for a time of its own.
    pub(crate) fn next_deadline(&self, now: i64) -> Option<i64> {
        let after_now = (Excluded((now, u64::MAX)), Unbounded);
        // A request still holding counts by the end of its hold, one that stopped by its
        // timeout; a timeout is never before the end of the hold, so the first of both
        // indexes is the answer.
        [
            self.by_hold_end.range(after_now).next(),
            self.by_timeout.first(),
            self.by_ready.range(after_now).next(),
        ]
        .into_iter()
        .flatten()
        .map(|&(t, _)| t)
        .min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cand(peer: NodeId, sid: u64, size: u32, at: i64, preferred: bool) -> Candidate {
        Candidate {
            peer,
            short_id: sid,
            size,
            announced: at,
            preferred,
            requested: None,
            extra_delay: 0,
            hold: REQUEST_TIMEOUT_BASE,
        }
    }

    #[test]
    fn one_request_per_payload_outbound_first_then_timeout_moves_on() {
        let mut f = Fetcher::default();
        let mut out = Vec::new();
        // Inbound peer 1 announces first, outbound peer 2 just after: 2 is asked at once, 1
        // is held back (same size, same moment: probably the same payload).
        f.add(cand(1, 11, 1000, 0, false));
        f.add(cand(2, 22, 1000, 10_000, true));
        f.due(10_000, &mut out);
        assert_eq!(out, vec![(2, 22)]);
        out.clear();
        f.due(100_000, &mut out);
        assert!(out.is_empty(), "peer 1 waits while peer 2's request is out");
        // Peer 2 never answers: after the timeout peer 1 is asked.
        f.due(10_000 + REQUEST_TIMEOUT_BASE + 10_000, &mut out);
        assert_eq!(out, vec![(1, 11)]);
        // A payload of another size is fetched at once.
        out.clear();
        f.add(cand(3, 33, 5000, 1_100_000, true));
        f.due(1_100_000, &mut out);
        assert_eq!(out, vec![(3, 33)]);
        // Resolving drops it.
        f.resolve(3, 33);
        assert!(f.iter().all(|c| c.peer != 3));
    }

    /// The per-peer cap and the (peer, short id) index follow every way out: resolve, a
    /// batch resolve, a timeout, the peer leaving.
    #[test]
    fn per_peer_cap_follows_removals() {
        let mut f = Fetcher::default();
        let n = MAX_CANDIDATES_PER_PEER as u64;
        for sid in 0..n {
            assert!(f.add(cand(1, sid, 100, 0, true)));
        }
        assert!(!f.add(cand(1, n, 100, 0, true)), "over the cap");
        assert!(f.add(cand(1, 5, 100, 0, true)), "a repeat is not a new one");
        assert!(
            f.add(cand(2, n, 100, 0, true)),
            "another peer has its own cap"
        );
        f.resolve(1, 0);
        assert!(f.add(cand(1, n, 100, 0, true)));
        assert!(!f.add(cand(1, n + 1, 100, 0, true)));
        let gone: HashSet<(NodeId, u64)> = [(1, 1), (1, 2), (2, n), (3, 9)].into();
        f.resolve_all(&gone);
        assert!(f.iter().all(|c| c.peer == 1));
        assert!(f.add(cand(1, n + 1, 100, 0, true)) && f.add(cand(1, n + 2, 100, 0, true)));
        assert!(!f.add(cand(1, n + 3, 100, 0, true)));
        // A request times out: its slot frees.
        let mut out = Vec::new();
        f.due(0, &mut out);
        assert_eq!(out.len(), MAX_IN_FLIGHT_PER_PEER);
        assert_eq!(f.in_flight(1), MAX_IN_FLIGHT_PER_PEER);
        let mut failed = Vec::new();
        f.expire(REQUEST_TIMEOUT_BASE + 1_000, &mut failed);
        assert_eq!(failed.len(), MAX_IN_FLIGHT_PER_PEER);
        assert_eq!(f.in_flight(1), 0);
        assert_eq!(f.len(), MAX_CANDIDATES_PER_PEER - MAX_IN_FLIGHT_PER_PEER);
        assert!(f.add(cand(1, n + 3, 100, 0, true)));
        f.forget_peer(1);
        assert!(f.is_empty() && f.next_deadline(0).is_none());
        for sid in 0..n {
            assert!(
                f.add(cand(1, sid, 100, 0, true)),
                "room again after leaving"
            );
        }
    }

    /// A request stands for one payload, which a peer announces once: it holds back one
    /// announcement per other peer, not all of them; a distrusted announcer's request holds
    /// back none.
    #[test]
    fn a_request_holds_back_one_announcement_per_peer() {
        let mut f = Fetcher::default();
        let mut out = Vec::new();
        f.add(cand(1, 11, 1000, 0, true));
        f.due(0, &mut out);
        assert_eq!(out, vec![(1, 11)]);
        for sid in [21, 22, 23] {
            f.add(cand(2, sid, 1000, 10_000, true));
        }
        f.add(cand(3, 31, 1000, 10_000, true));
        out.clear();
        f.due(10_000, &mut out);
        // Peer 2's first and peer 3's one wait for peer 1's request; the rest are not it.
        assert_eq!(out, vec![(2, 22), (2, 23)]);
        // Peer 4 failed us: its request, once made, holds nobody back.
        f.add(cand(4, 41, 2000, 20_000, true));
        f.distrust(&[4].into());
        out.clear();
        f.due(20_000, &mut out);
        assert_eq!(out, vec![(4, 41)]);
        f.add(cand(5, 51, 2000, 30_000, true));
        out.clear();
        f.due(30_000, &mut out);
        assert_eq!(out, vec![(5, 51)], "not held back by peer 4's request");
    }

    /// Announcements that become ready later (inbound, or delayed) join the merge when their
    /// time comes, in announcement order among the others; the deadline names that time.
    #[test]
    fn later_ready_announcements_join_in_order() {
        let mut f = Fetcher::default();
        let mut out = Vec::new();
        f.add(cand(1, 11, 100, 0, false));
        f.add(Candidate {
            extra_delay: 50_000,
            ..cand(2, 21, 200, 0, true)
        });
        f.add(cand(3, 31, 300, 5_000, true));
        f.due(5_000, &mut out);
        assert_eq!(out, vec![(3, 31)]);
        assert_eq!(f.next_deadline(5_000), Some(INBOUND_DELAY));
        out.clear();
        f.add(cand(3, 32, 400, 30_000, true));
        f.due(60_000, &mut out);
        assert_eq!(out, vec![(1, 11), (2, 21), (3, 32)], "announcement order");
    }
}
