//! Stage 2 relay: announce, then request, then send (messages in protocol's `relay.rs`).
//!
//! A link announces when both ends sent `sendannounce` before `verack`; every other link keeps
//! the `logos` flood, so old and new nodes share one network. On an announcing link a new
//! payload is not pushed: its short id and size are announced, and the peer asks for it with
//! `getlogos` if it still needs it. Payloads under [`AnnounceOptions::push_threshold`] are
//! still pushed to outbound peers: below that size a round trip costs more than the bytes.
//!
//! What each end keeps (Core's `m_tx_inventory_known_filter`, `m_tx_relay` and txrequest.cpp,
//! shaped for consensus messages):
//! - per link, the ids the peer is known to have (it announced or sent them, or we did), so
//!   nobody is told twice, and the short ids we announced on it, to serve `getlogos`;
//! - per node, the announcements not yet fetched ([`Fetcher`](super::fetcher::Fetcher), in
//!   `fetcher.rs`): one request in flight per payload, outbound announcers first, inbound ones
//!   after a short delay, a timeout after which the next announcer is asked, and a cap of
//!   requests in flight per peer;
//! - per node, the payloads it accepted, for a while, to answer requests ([`RelayPool`]).
//!
//! Short ids are per link (keyed by both salts), so two announcers name one payload with two
//! ids: the fetcher cannot tell them apart until the payload arrives. It then resolves every
//! other announcement of it, and every announcing link learns the payload's short id at once,
//! before the upper layer's verdict, so announcements that queued behind it on our downlink are
//! not fetched again (they were a third of all copies before). Until it arrives, an
//! announcement of the same size made within [`SAME_PAYLOAD_WINDOW`] of one in flight is held
//! back as probably the same payload for two of the asked peer's round trips plus the bytes'
//! time ([`hold_for`]), so one request is in flight per payload in the common case; a payload
//! of another size, or a later one, is fetched at once. An announcer that was asked and beaten
//! by another, or timed out, waits [`FAILURE_DELAY`] per failure before it is asked again, so
//! a peer that announces and never delivers soon stops costing a timeout per payload.
//!
//! `sendpush` (BIP152's high-bandwidth mode, off by default, [`AnnounceOptions::push_peers`]):
//! a node asks the peers that delivered its latest new payloads first to push payloads under
//! [`AnnounceOptions::push_max`]; another announcement of a small payload then waits
//! [`AnnounceOptions::push_wait`] for the push.
//!
//! Constants, chosen with the simulator (`logos-sim --relay announce`; figures in
//! DMITRY_NOTES.md, "Stage 2 relay"): an inbound announcer waits [`INBOUND_DELAY`] (Core's 2 s
//! `NONPREF_PEER_TX_DELAY` is for transactions; a consensus message cannot wait that long, and
//! 20 ms lets an outbound announcer heard at the same moment win); same-size announcements
//! within [`SAME_PAYLOAD_WINDOW`] (300 ms, about the spread of one payload's announcements at
//! a node) wait for the request in flight; a request times out after
//! [`REQUEST_TIMEOUT_BASE`] plus the time its bytes take at 250 KB/s (a 20 Mbit/s uplink with
//! a few payloads queued; the same margin widens the same-size window); at most
//! [`MAX_IN_FLIGHT_PER_PEER`] requests per peer (Core's `MAX_PEER_TX_REQUEST_IN_FLIGHT`).
//! [`DEFAULT_PUSH_FANOUT`] is 0: pushing every payload to even one outbound peer doubles the
//! copies each node receives (each node is some peer's push target), for a third less latency.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use protocol::header::HEADER_SIZE;
use protocol::relay::AnnounceEntry;

use crate::flood::PayloadId;
use crate::siphash::CSipHasher;

/// An inbound announcer is asked this long after an outbound one would be (µs).
pub const INBOUND_DELAY: i64 = 20_000;
/// A request is given up after this (µs) plus [`REQUEST_TIMEOUT_PER_MB`] per MB of payload.
pub const REQUEST_TIMEOUT_BASE: i64 = 1_000_000;
/// Extra request timeout per MB of announced size (µs): 250 KB/s at the least.
pub const REQUEST_TIMEOUT_PER_MB: i64 = 4_000_000;
/// Requests in flight to one peer at most (Core's `MAX_PEER_TX_REQUEST_IN_FLIGHT`).
pub const MAX_IN_FLIGHT_PER_PEER: usize = 100;
/// Announcements waiting to be fetched from one peer at most (Core's
/// `MAX_PEER_TX_ANNOUNCEMENTS` is 5,000 for transactions).
pub const MAX_CANDIDATES_PER_PEER: usize = 5_000;
/// Announcements of one size within this much of each other are taken for one payload until
/// it arrives (µs).
pub const SAME_PAYLOAD_WINDOW: i64 = 300_000;
/// Ids a link remembers as known to the peer (oldest forgotten first).
pub const KNOWN_PER_LINK: usize = 8_192;
/// Payloads under this size are still pushed to outbound peers.
pub const DEFAULT_PUSH_THRESHOLD: usize = 512;
/// Our own payloads are announced to inbound peers this long after outbound ones (µs), plus
/// [`OWN_INBOUND_DELAY_PER_MB`] per MB, so they hear of it from others first and a node with
/// many inbound peers (a delegate) does not serve every one of them.
pub const OWN_INBOUND_ANNOUNCE_DELAY: i64 = 1_000_000;
/// Extra delay per MB of our own payload before inbound peers hear of it from us (µs).
pub const OWN_INBOUND_DELAY_PER_MB: i64 = 8_000_000;

/// Not in Core: how long a request to a peer whose best round trip is `min_rtt` holds back
/// other announcements of a payload of `size` bytes (µs): two round trips, [`HOLD_MARGIN`] and
/// the bytes at 250 KB/s, never more than the request's timeout; the whole timeout while the
/// round trip is unknown.
pub fn hold_for(min_rtt: Option<i64>, size: u32) -> i64 {
    let bytes = i64::from(size) * REQUEST_TIMEOUT_PER_MB / 1_000_000;
    match min_rtt {
        Some(rtt) => (2 * rtt + HOLD_MARGIN + bytes).min(REQUEST_TIMEOUT_BASE + bytes),
        None => REQUEST_TIMEOUT_BASE + bytes,
    }
}

/// Not in Core: when inbound peers hear of our own payload of `size` bytes, after the outbound
/// ones (µs).
pub fn own_inbound_delay(size: usize) -> i64 {
    OWN_INBOUND_ANNOUNCE_DELAY + size as i64 * OWN_INBOUND_DELAY_PER_MB / 1_000_000
}
/// Outbound peers every payload is pushed to (see [`AnnounceOptions::push_fanout`]).
pub const DEFAULT_PUSH_FANOUT: usize = 0;
/// Peers asked to push small payloads to us (`sendpush`; BIP152 asks three for blocks). Off by
/// default: with payloads from one steady origin one push peer gives flood's latency at one
/// copy per node (1,000 nodes, 1 KiB: 1.005 copies, time to all p50 1.16× flood's), but with
/// origins that change from payload to payload the push peer is often not the first to have
/// it and copies rise to 1.45 (DMITRY_NOTES.md, "The Stage 2 relay").
pub const DEFAULT_PUSH_PEERS: usize = 0;
/// Payloads under this size go to peers that asked for pushes (`sendpush`); larger ones are
/// announced to them as to everyone.
pub const DEFAULT_PUSH_MAX: usize = 64 * 1024;
/// While a peer pushes to us, an announcement of a small payload from another peer waits this
/// long (µs) for the push before it is requested.
pub const DEFAULT_PUSH_WAIT: i64 = 50_000;
/// An announcer whose last requests timed out waits this long (µs) per timeout (up to
/// [`MAX_FAILURE_PENALTIES`]) before it is asked, so an announcer that delivers is asked first.
pub const FAILURE_DELAY: i64 = 250_000;
/// Timeouts counted against an announcer at most.
pub const MAX_FAILURE_PENALTIES: u32 = 4;
/// A request holds back other announcements of the same size for two of its peer's round
/// trips (its best ping) plus this (µs) and the time its bytes take; after that another
/// announcer is asked too, while the request stays in flight until its timeout.
pub const HOLD_MARGIN: i64 = 100_000;
/// Bytes of accepted payloads kept to answer requests.
pub const DEFAULT_POOL_MAX_BYTES: usize = 64 << 20;
/// How long an accepted payload is kept to answer requests (s): Core's mapRelay kept
/// transactions 15 minutes; consensus messages are asked for within seconds.
pub const DEFAULT_POOL_MAX_AGE: i64 = 10 * 60;

/// The relay's settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AnnounceOptions {
    /// Offer `sendannounce` (Logos networks only; never on Bitcoin networks).
    pub enabled: bool,
    /// Payloads smaller than this are pushed to outbound peers, not announced.
    pub push_threshold: usize,
    /// Outbound peers a payload of any size is pushed to rather than announced: the first copy
    /// moves at flood speed, the rest are announced.
    pub push_fanout: usize,
    /// Peers asked with `sendpush` to push payloads under `push_max` to us (BIP152's
    /// high-bandwidth peers): the ones that delivered our latest new payloads first.
    pub push_peers: usize,
    /// Payloads under this size are pushed to the peers that asked (`sendpush`).
    pub push_max: usize,
    /// While a peer pushes to us, an announcement of a payload under `push_max` from another
    /// peer waits this long (µs) for the push before it is requested.
    pub push_wait: i64,
    /// Bytes the relay pool keeps.
    pub pool_max_bytes: usize,
    /// Seconds the relay pool keeps a payload.
    pub pool_max_age: i64,
}

impl Default for AnnounceOptions {
    fn default() -> Self {
        AnnounceOptions {
            enabled: false,
            push_threshold: DEFAULT_PUSH_THRESHOLD,
            push_fanout: DEFAULT_PUSH_FANOUT,
            push_peers: DEFAULT_PUSH_PEERS,
            push_max: DEFAULT_PUSH_MAX,
            push_wait: DEFAULT_PUSH_WAIT,
            pool_max_bytes: DEFAULT_POOL_MAX_BYTES,
            pool_max_age: DEFAULT_POOL_MAX_AGE,
        }
    }
}

/// Not in Core: the short id of `id` on a link whose ends drew `salt_a` and `salt_b`
/// (SipHash-2-4 keyed by the two salts, smaller first, so both ends agree).
pub fn short_id(salt_a: u64, salt_b: u64, id: &PayloadId) -> u64 {
    let (k0, k1) = if salt_a <= salt_b {
        (salt_a, salt_b)
    } else {
        (salt_b, salt_a)
    };
    let mut h = CSipHasher::new(k0, k1);
    h.write(id);
    h.finalize()
}

/// A bounded set of ids, oldest forgotten first.
#[derive(Debug, Default)]
pub(crate) struct KnownSet {
    set: std::collections::HashSet<PayloadId>,
    order: VecDeque<PayloadId>,
}

impl KnownSet {
    pub(crate) fn contains(&self, id: &PayloadId) -> bool {
        self.set.contains(id)
    }

    pub(crate) fn len(&self) -> usize {
        self.set.len()
    }

    pub(crate) fn insert(&mut self, id: PayloadId) {
        if self.set.insert(id) {
            self.order.push_back(id);
            while self.order.len() > KNOWN_PER_LINK {
                if let Some(old) = self.order.pop_front() {
                    self.set.remove(&old);
                }
            }
        }
    }
}

/// One link's announcement state (in the peer's state).
#[derive(Debug, Default)]
pub(crate) struct AnnounceLink {
    /// Our salt on this link (sent in our `sendannounce`).
    pub(crate) our_salt: u64,
    /// We sent `sendannounce`.
    pub(crate) sent: bool,
    /// The peer's salt, once its `sendannounce` arrived.
    pub(crate) their_salt: Option<u64>,
    /// Ids the peer has (announced, sent, or announced or sent by us).
    pub(crate) known: KnownSet,
    /// Our short ids on this link of the payloads we announced, to serve `getlogos`.
    pub(crate) announced: HashMap<u64, PayloadId>,
    announced_order: VecDeque<u64>,
    /// Announcements to send on the next `send_messages`.
    pub(crate) to_announce: Vec<AnnounceEntry>,
    /// Announcements of our own payloads held back until a time (inbound peers):
    /// (due µs, id, size).
    pub(crate) delayed: Vec<(i64, PayloadId, usize)>,
    /// The peer sent `sendpush(true)`: push it payloads under `push_max`.
    pub(crate) push_to_peer: bool,
    /// We asked the peer to push to us.
    pub(crate) push_from_peer: bool,
    /// Our requests to the peer that timed out, or that another peer answered first, since it
    /// last sent a payload.
    pub(crate) failures: u32,
    /// The peer's best ping round trip (µs), once one was measured.
    pub(crate) min_rtt: Option<i64>,
}

impl AnnounceLink {
    /// Both ends sent `sendannounce`: this link announces.
    pub(crate) fn active(&self) -> bool {
        self.sent && self.their_salt.is_some()
    }

    /// The short id of `id` on this link (only meaningful when active).
    pub(crate) fn short_id(&self, id: &PayloadId) -> u64 {
        short_id(self.our_salt, self.their_salt.unwrap_or(0), id)
    }

    /// When the next held-back announcement is due.
    pub(crate) fn next_delayed(&self) -> Option<i64> {
        self.delayed.iter().map(|d| d.0).min()
    }

    /// Remember `id`'s short id on this link, so an announcement of it is known for what it
    /// is (and a request for it answered); returns the short id.
    pub(crate) fn learn(&mut self, id: PayloadId) -> u64 {
        let sid = self.short_id(&id);
        if self.announced.insert(sid, id).is_none() {
            self.announced_order.push_back(sid);
            while self.announced_order.len() > KNOWN_PER_LINK {
                if let Some(old) = self.announced_order.pop_front() {
                    self.announced.remove(&old);
                }
            }
        }
        sid
    }

    /// Queue an announcement of `id` (`size` bytes) and remember its short id.
    pub(crate) fn announce(&mut self, id: PayloadId, size: usize) {
        self.known.insert(id);
        let sid = self.learn(id);
        self.to_announce.push(AnnounceEntry {
            short_id: sid,
            size: size as u32,
        });
    }
}

/// Payloads accepted recently, kept to answer requests (Core's `mapRelay`).
#[derive(Debug, Default)]
pub(crate) struct RelayPool {
    map: HashMap<PayloadId, (Arc<Vec<u8>>, [u8; HEADER_SIZE])>,
    order: VecDeque<(PayloadId, i64)>,
    bytes: usize,
}

impl RelayPool {
    /// Keep `payload` from `now_secs`, dropping the oldest past the bounds.
    pub(crate) fn insert(
        &mut self,
        id: PayloadId,
        payload: Arc<Vec<u8>>,
        header: [u8; HEADER_SIZE],
        now_secs: i64,
        opts: &AnnounceOptions,
    ) {
        self.expire(now_secs, opts);
        if payload.len() > opts.pool_max_bytes || self.map.contains_key(&id) {
            return;
        }
        self.bytes += payload.len();
        self.map.insert(id, (payload, header));
        self.order.push_back((id, now_secs));
        while self.bytes > opts.pool_max_bytes {
            self.pop_oldest();
        }
    }

    fn pop_oldest(&mut self) {
        if let Some((old, _)) = self.order.pop_front() {
            if let Some((p, _)) = self.map.remove(&old) {
                self.bytes -= p.len();
            }
        }
    }

    fn expire(&mut self, now_secs: i64, opts: &AnnounceOptions) {
        while self
            .order
            .front()
            .is_some_and(|(_, t)| now_secs - t > opts.pool_max_age)
        {
            self.pop_oldest();
        }
    }

    /// The payload of `id`, if kept.
    pub(crate) fn get(&self, id: &PayloadId) -> Option<(Arc<Vec<u8>>, [u8; HEADER_SIZE])> {
        self.map.get(id).cloned()
    }

    /// Stop serving `id`.
    pub(crate) fn remove(&mut self, id: &PayloadId) {
        if let Some((p, _)) = self.map.remove(id) {
            self.bytes -= p.len();
            self.order.retain(|(x, _)| x != id);
        }
    }

    /// Payloads kept.
    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }

    /// Bytes of the payloads kept.
    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_ids_agree_on_both_ends_and_differ_per_link() {
        let id = [7u8; 32];
        assert_eq!(short_id(1, 2, &id), short_id(2, 1, &id));
        assert_ne!(short_id(1, 2, &id), short_id(1, 3, &id));
        // SipHash-2-4 keyed (1, 2) over the 32 bytes, as Core's CSipHasher computes it.
        let mut h = CSipHasher::new(1, 2);
        h.write(&id);
        assert_eq!(short_id(2, 1, &id), h.finalize());
    }

    #[test]
    fn pool_is_bounded_by_bytes_and_age() {
        let opts = AnnounceOptions {
            pool_max_bytes: 250,
            pool_max_age: 10,
            ..AnnounceOptions::default()
        };
        let mut p = RelayPool::default();
        for i in 0..3u8 {
            p.insert([i; 32], Arc::new(vec![0; 100]), [0; 24], 0, &opts);
        }
        assert!(p.get(&[0; 32]).is_none(), "oldest dropped over 250 bytes");
        assert_eq!(p.len(), 2);
        p.insert([9; 32], Arc::new(vec![0; 10]), [0; 24], 11, &opts);
        assert_eq!(p.len(), 1, "older than 10 s dropped");
    }
}

/// The relay's message handling and fan-out, on the peer manager.
mod handling {
    use std::collections::HashSet;
    use std::sync::Arc;

    use protocol::header::HEADER_SIZE;
    use protocol::relay::{AnnounceEntry, SendAnnounce, MAX_ANNOUNCE_SZ, RELAY_PROTOCOL_VERSION};
    use protocol::NetworkMessage;

    use super::{
        hold_for, own_inbound_delay, AnnounceLink, RelayPool, FAILURE_DELAY,
        MAX_CANDIDATES_PER_PEER, MAX_FAILURE_PENALTIES,
    };
    use crate::connection_type::ConnectionType;
    use crate::disconnect::DisconnectReason;
    use crate::eviction::NodeId;
    use crate::flood::PayloadId;
    use crate::peerman::fetcher::{Candidate, Fetcher};
    use crate::peerman::{LogosSend, Output, PeerManager};

    /// What [`PeerManager::relay_state`] returns.
    pub(crate) type RelayState<'a> = (
        &'a Fetcher,
        Option<i64>,
        &'a RelayPool,
        Vec<(NodeId, &'a AnnounceLink)>,
    );

    impl PeerManager {
        /// After the peer's `version` (Logos networks, relay enabled): offer announcements, as
        /// Core sends `sendaddrv2` and `wtxidrelay` between `version` and `verack`.
        pub(crate) fn maybe_send_sendannounce(&mut self, id: NodeId) {
            if self.opts.params.is_bitcoin() || !self.opts.announce.enabled {
                return;
            }
            let Some(p) = self.m_peer_map.get_mut(&id) else {
                return;
            };
            p.link.sent = true;
            let salt = p.link.our_salt;
            self.send(
                id,
                NetworkMessage::SendAnnounce(SendAnnounce {
                    version: RELAY_PROTOCOL_VERSION,
                    salt,
                }),
            );
        }

        /// `sendannounce`: the peer wants announcements (before `verack` only, as BIP155's
        /// `sendaddrv2`).
        pub(crate) fn process_sendannounce(
            &mut self,
            id: NodeId,
            payload: &[u8],
        ) -> Result<(), protocol::Error> {
            let Some(p) = self.m_peer_map.get_mut(&id) else {
                return Ok(());
            };
            if p.successfully_connected() {
                //DMITRY: peer sends sendannounce after verack; Core: net_processing.cpp::PeerManagerImpl::ProcessMessage (as for sendaddrv2 and wtxidrelay); changed: the Stage 2
                // relay is negotiated before verack like BIP155, so a late offer is a protocol
                // violation: disconnect.
                self.disconnect(id, DisconnectReason::SendAnnounceAfterVerack);
                return Ok(());
            }
            let m = SendAnnounce::decode(&mut &payload[..])?;
            if m.version >= RELAY_PROTOCOL_VERSION {
                p.link.their_salt = Some(m.salt);
            }
            Ok(())
        }

        /// `sendpush`: the peer wants payloads under our push size pushed (`true`) or announced
        /// (`false`), as BIP152's `sendcmpct` switches high-bandwidth mode. Only on a link that
        /// announces, after `verack`; ignored elsewhere.
        pub(crate) fn process_sendpush(&mut self, id: NodeId, on: bool) {
            let Some(p) = self.m_peer_map.get_mut(&id) else {
                return;
            };
            if !p.link.active() || !p.successfully_connected() {
                log::debug!(target: "net", "sendpush from peer={id} on a link that does not announce, ignored");
                return;
            }
            p.link.push_to_peer = on;
        }

        /// `from` delivered a new payload of `size` bytes first: in the shape of Core's
        /// PeerManagerImpl::MaybeSetPeerAsAnnouncingHeaderAndIDs (net_processing.cpp), it
        /// becomes the newest of our push peers, and the oldest one past
        /// [`super::AnnounceOptions::push_peers`] is told to stop.
        pub(crate) fn note_first_delivery(&mut self, from: NodeId, size: usize) {
            let want = self.opts.announce.push_peers;
            if want == 0 || size >= self.opts.announce.push_max {
                return;
            }
            match self.m_peer_map.get(&from) {
                Some(p) if p.link.active() && p.successfully_connected() => {}
                _ => return,
            }
            if let Some(i) = self.push_from.iter().position(|&x| x == from) {
                self.push_from.remove(i);
                self.push_from.push_back(from);
                return;
            }
            self.push_from.push_back(from);
            self.set_push_from(from, true);
            while self.push_from.len() > want {
                if let Some(old) = self.push_from.pop_front() {
                    self.set_push_from(old, false);
                }
            }
        }

        fn set_push_from(&mut self, id: NodeId, on: bool) {
            if let Some(p) = self.m_peer_map.get_mut(&id) {
                p.link.push_from_peer = on;
                self.send(id, NetworkMessage::SendPush(on));
            }
        }

        /// An `announce` from a peer whose announcements already fill its share of the fetcher
        /// is ignored before it is decoded (unless its count is over the limit, which is
        /// misbehaviour): a flood of full messages then costs a look at the count each.
        pub(crate) fn announce_needs_no_decoding(&self, id: NodeId, payload: &[u8]) -> bool {
            if self.fetcher.announced_by(id) < MAX_CANDIDATES_PER_PEER {
                return false;
            }
            let count = protocol::encode::read_compact_size(&mut &payload[..], false);
            count.is_ok_and(|n| n <= MAX_ANNOUNCE_SZ as u64)
        }

        /// `announce`: fetch what we miss.
        pub(crate) fn process_announce(&mut self, id: NodeId, v: Vec<AnnounceEntry>, now: i64) {
            if v.len() > MAX_ANNOUNCE_SZ {
                //DMITRY: announce with more than MAX_ANNOUNCE_SZ (50,000) entries; Core: net_processing.cpp::PeerManagerImpl::ProcessMessage (inv size over MAX_INV_SZ); kept: Misbehaving
                // ("announce message size = N"), as Core for an oversized inv.
                self.misbehaving(id, &format!("announce message size = {}", v.len()));
                return;
            }
            let max_len = self.opts.params.max_message_length;
            let Some(p) = self.m_peer_map.get_mut(&id) else {
                return;
            };
            if !p.link.active() {
                log::debug!(target: "net", "announce from peer={id} on a link that did not negotiate it, ignored");
                return;
            }
            let preferred = !p.conn.is_inbound_conn() || p.conn.conn_type == ConnectionType::Manual;
            let failure_delay =
                i64::from(p.link.failures.min(MAX_FAILURE_PENALTIES)) * FAILURE_DELAY;
            // Another peer pushes small payloads to us: give its push a moment.
            let push_wait = if !p.link.push_from_peer && !self.push_from.is_empty() {
                self.opts.announce.push_wait
            } else {
                0
            };
            let push_max = self.opts.announce.push_max;
            let min_rtt = p.link.min_rtt;
            let mut added = false;
            for e in v {
                if let Some(pid) = p.link.announced.get(&e.short_id).copied() {
                    // A payload we have: the peer has it too.
                    p.link.known.insert(pid);
                    continue;
                }
                if e.size > max_len {
                    continue;
                }
                let taken = self.fetcher.add(Candidate {
                    peer: id,
                    short_id: e.short_id,
                    size: e.size,
                    announced: now,
                    preferred,
                    requested: None,
                    extra_delay: failure_delay
                        + if (e.size as usize) < push_max {
                            push_wait
                        } else {
                            0
                        },
                    // An announcer that failed us holds nobody back.
                    hold: if failure_delay > 0 {
                        0
                    } else {
                        hold_for(min_rtt, e.size)
                    },
                });
                if !taken {
                    // Over the peer's cap: Core ignores each announcement past
                    // MAX_PEER_TX_ANNOUNCEMENTS; the rest of the message is not even read, so a
                    // flood of full `announce` messages costs a decode each, not a walk.
                    break;
                }
                added = true;
            }
            if added {
                self.refresh_fetch_deadline(now - 1);
                self.schedule(id, Some(now));
            }
        }

        /// `getlogos`: send the requested payloads we announced on this link.
        pub(crate) fn process_getlogos(&mut self, id: NodeId, v: Vec<u64>) {
            if v.len() > MAX_ANNOUNCE_SZ {
                //DMITRY: getlogos with more than MAX_ANNOUNCE_SZ (50,000) entries; Core: net_processing.cpp::PeerManagerImpl::ProcessMessage (getdata size over MAX_INV_SZ); kept: Misbehaving
                // ("getlogos message size = N"), as Core for an oversized getdata.
                self.misbehaving(id, &format!("getlogos message size = {}", v.len()));
                return;
            }
            let ids: Vec<(u64, Option<PayloadId>)> = match self.m_peer_map.get(&id) {
                Some(p) if p.link.active() => v
                    .into_iter()
                    .map(|sid| (sid, p.link.announced.get(&sid).copied()))
                    .collect(),
                _ => return,
            };
            let mut missing = Vec::new();
            for (sid, pid) in ids {
                match pid.and_then(|pid| self.relay_pool.get(&pid).map(|x| (pid, x))) {
                    Some((pid, (payload, header))) => self.send_requested(id, pid, payload, header),
                    None => missing.push(sid),
                }
            }
            if !missing.is_empty() {
                self.send(id, NetworkMessage::LogNotFound(missing));
            }
        }

        /// `getlogosid`: the same by full id (a payload's missing dependencies).
        pub(crate) fn process_getlogosid(&mut self, id: NodeId, v: Vec<[u8; 32]>) {
            if v.len() > MAX_ANNOUNCE_SZ {
                //DMITRY: getlogosid with more than MAX_ANNOUNCE_SZ (50,000) entries; Core: net_processing.cpp::PeerManagerImpl::ProcessMessage (getdata size over MAX_INV_SZ); kept: Misbehaving
                // ("getlogosid message size = N"), as Core for an oversized getdata.
                self.misbehaving(id, &format!("getlogosid message size = {}", v.len()));
                return;
            }
            let mut missing = Vec::new();
            for pid in v {
                match self.relay_pool.get(&pid) {
                    Some((payload, header)) => self.send_requested(id, pid, payload, header),
                    None => {
                        if let Some(p) = self.m_peer_map.get(&id).filter(|p| p.link.active()) {
                            missing.push(p.link.short_id(&pid));
                        }
                    }
                }
            }
            if !missing.is_empty() {
                self.send(id, NetworkMessage::LogNotFound(missing));
            }
        }

        fn send_requested(
            &mut self,
            id: NodeId,
            pid: PayloadId,
            payload: Arc<Vec<u8>>,
            header: [u8; HEADER_SIZE],
        ) {
            if let Some(p) = self.m_peer_map.get_mut(&id) {
                p.link.known.insert(pid);
            }
            self.outbox.push_back(Output::SendLogos {
                peer: id,
                payload,
                header,
                kind: LogosSend::Requested,
            });
        }

        /// `lognotfound`: the peer has not got what we asked for; ask the next announcer.
        pub(crate) fn process_lognotfound(&mut self, id: NodeId, v: Vec<u64>, now: i64) {
            if v.len() > MAX_ANNOUNCE_SZ {
                //DMITRY: lognotfound with more than MAX_ANNOUNCE_SZ (50,000) entries; Core: net_processing.cpp::PeerManagerImpl::ProcessMessage (notfound size over MAX_INV_SZ); changed: Core
                // ignores an oversized notfound; here it is Misbehaving like announce, as nothing
                // honest sends one.
                self.misbehaving(id, &format!("lognotfound message size = {}", v.len()));
                return;
            }
            self.pending_not_found(id, &v, now);
            let gone: HashSet<(NodeId, u64)> = v.into_iter().map(|sid| (id, sid)).collect();
            self.fetcher.resolve_all(&gone);
            self.refresh_fetch_deadline(now);
            self.schedule(id, Some(now));
        }

        /// A payload arrived from `from`: every announcement of it is settled, and every peer
        /// that announced it is known to have it.
        pub(crate) fn settle_arrival(&mut self, from: NodeId, pid: &PayloadId, now: i64) {
            if let Some(p) = self.m_peer_map.get_mut(&from) {
                // Only an announcing link consults what its peer is known to have; a flood
                // link would only fill the set (8,192 ids per connection).
                if p.link.active() {
                    p.link.known.insert(*pid);
                }
                p.link.failures = 0;
            }
            if self.fetcher.is_empty() {
                return;
            }
            // One short id per announcing peer, looked up in the index; a pass over the
            // announcements only when one of them names it.
            let keys: HashSet<(NodeId, u64)> = self
                .m_peer_map
                .iter()
                .filter(|(id, p)| p.link.active() && self.fetcher.announced_by(**id) > 0)
                .map(|(id, p)| (*id, p.link.short_id(pid)))
                .filter(|k| self.fetcher.has(k))
                .collect();
            if keys.is_empty() {
                return;
            }
            let hits: Vec<(NodeId, bool)> = keys
                .iter()
                .filter_map(|k| self.fetcher.get(k))
                .map(|c| (c.peer, c.requested.is_some()))
                .collect();
            self.fetcher.resolve_all(&keys);
            let mut beaten = HashSet::new();
            for (peer, asked) in hits {
                if let Some(p) = self.m_peer_map.get_mut(&peer) {
                    p.link.known.insert(*pid);
                    // Asked, and someone else delivered first: it counts as a failure
                    // (reset by the next payload it sends).
                    if asked && peer != from {
                        p.link.failures = p.link.failures.saturating_add(1);
                        beaten.insert(peer);
                    }
                }
            }
            self.fetcher.distrust(&beaten);
            self.refresh_fetch_deadline(now);
        }

        /// A new payload arrived and waits for the upper layer's verdict: every announcing link
        /// learns its short id now, so the announcements that queued behind it on our downlink
        /// are known for what they are instead of being fetched again.
        pub(crate) fn learn_arrival(&mut self, pid: &PayloadId) {
            for p in self.m_peer_map.values_mut() {
                if p.link.active() {
                    p.link.learn(*pid);
                }
            }
        }

        /// Send the announcements queued for `id`.
        pub(crate) fn flush_announcements(&mut self, id: NodeId, now: i64) {
            let Some(p) = self.m_peer_map.get_mut(&id) else {
                return;
            };
            if !p.link.delayed.is_empty() {
                let due: Vec<(i64, PayloadId, usize)> = p
                    .link
                    .delayed
                    .iter()
                    .copied()
                    .filter(|d| d.0 <= now)
                    .collect();
                p.link.delayed.retain(|d| d.0 > now);
                for (_, pid, size) in due {
                    if !p.link.known.contains(&pid) {
                        p.link.announce(pid, size);
                    }
                }
            }
            if p.link.to_announce.is_empty() {
                return;
            }
            let all = std::mem::take(&mut p.link.to_announce);
            for chunk in all.chunks(MAX_ANNOUNCE_SZ) {
                self.send(id, NetworkMessage::Announce(chunk.to_vec()));
            }
        }

        /// Make the requests that are due, one `getlogos` per peer.
        pub(crate) fn fetch_due(&mut self, now: i64) {
            // A pass costs one look at every announcement: only when something changed or
            // the deadline came, not on every peer's send_messages.
            let deadline = self.fetch_deadline.is_some_and(|d| d <= now);
            if self.fetcher.is_empty() || !(self.fetcher.changed || deadline) {
                return;
            }
            let mut failed = Vec::new();
            self.fetcher.expire(now, &mut failed);
            for peer in &failed {
                if let Some(p) = self.m_peer_map.get_mut(peer) {
                    p.link.failures = p.link.failures.saturating_add(1);
                }
            }
            self.fetcher.distrust(&failed.into_iter().collect());
            let mut due = Vec::new();
            self.fetcher.due(now, &mut due);
            due.sort_by_key(|(peer, _)| *peer);
            let mut i = 0;
            while i < due.len() {
                let peer = due[i].0;
                let mut sids = Vec::new();
                while i < due.len() && due[i].0 == peer {
                    sids.push(due[i].1);
                    i += 1;
                }
                self.send(peer, NetworkMessage::GetLogos(sids));
            }
            self.refresh_fetch_deadline(now);
        }

        /// Not in Core: the fetcher, its deadline, the relay pool and each peer's link, for the
        /// bounds `net::fuzz::peerman` checks.
        pub(crate) fn relay_state(&self) -> RelayState<'_> {
            let links = self.m_peer_map.iter().map(|(id, p)| (*id, &p.link));
            (
                &self.fetcher,
                self.fetch_deadline,
                &self.relay_pool,
                links.collect(),
            )
        }

        /// A peer left (from `finalize_node`): its announcements go. The announcements its
        /// requests held back may be due now, so the fetcher runs at once; with nothing left
        /// to fetch, it has no deadline.
        pub(crate) fn relay_peer_finalized(&mut self, id: NodeId, now: i64) {
            let f = &mut self.fetcher;
            let asked = f.in_flight(id) > 0;
            f.forget_peer(id);
            if f.is_empty() {
                self.fetch_deadline = None;
            } else if asked {
                self.fetch_deadline = Some(self.fetch_deadline.map_or(now, |d| d.min(now)));
            }
        }

        pub(crate) fn refresh_fetch_deadline(&mut self, now: i64) {
            self.fetch_deadline = self.fetcher.next_deadline(now);
        }

        /// Keep an accepted (or our own) payload to answer requests.
        pub(crate) fn pool_insert(
            &mut self,
            pid: PayloadId,
            payload: &Arc<Vec<u8>>,
            header: [u8; HEADER_SIZE],
            now: i64,
        ) {
            if self.opts.announce.enabled {
                let opts = self.opts.announce.clone();
                self.relay_pool.insert(
                    pid,
                    Arc::clone(payload),
                    header,
                    now.div_euclid(1_000_000),
                    &opts,
                );
            }
        }

        /// Not in Core: stop serving `pid` (a late verdict found it invalid).
        pub(crate) fn relay_forget(&mut self, pid: &PayloadId) {
            self.relay_pool.remove(pid);
        }

        /// Send a payload on to every fully connected peer but `except`: announced on links
        /// that negotiated it (pushed to outbound peers when small), pushed on the others.
        /// Returns how many peers were sent or told.
        pub(crate) fn relay_to_all(
            &mut self,
            pid: PayloadId,
            payload: &Arc<Vec<u8>>,
            header: [u8; HEADER_SIZE],
            except: Option<NodeId>,
            kind: LogosSend,
            now: i64,
        ) -> usize {
            let threshold = self.opts.announce.push_threshold;
            let push_max = self.opts.announce.push_max;
            let mut fanout = self.opts.announce.push_fanout;
            let mut n = 0;
            let mut told = Vec::new();
            for (id, p) in self.m_peer_map.iter_mut() {
                if Some(*id) == except || !p.fully_connected() {
                    continue;
                }
                if p.link.active() {
                    if p.link.known.contains(&pid) {
                        // Still learn its short id here, to recognise an announcement of it.
                        let sid = p.link.short_id(&pid);
                        p.link.announced.entry(sid).or_insert(pid);
                        continue;
                    }
                    let outbound = !p.conn.is_inbound_conn();
                    if p.link.push_to_peer && payload.len() < push_max {
                        // It asked for pushes (`sendpush`).
                        p.link.known.insert(pid);
                    } else if outbound && (payload.len() < threshold || fanout > 0) {
                        p.link.known.insert(pid);
                        if payload.len() >= threshold {
                            fanout -= 1;
                        }
                    } else if kind == LogosSend::Own && p.conn.is_inbound_conn() {
                        let sid = p.link.short_id(&pid);
                        p.link.announced.entry(sid).or_insert(pid);
                        p.link.delayed.push((
                            now + own_inbound_delay(payload.len()),
                            pid,
                            payload.len(),
                        ));
                        told.push(*id);
                        n += 1;
                        continue;
                    } else {
                        p.link.announce(pid, payload.len());
                        told.push(*id);
                        n += 1;
                        continue;
                    }
                }
                self.outbox.push_back(Output::SendLogos {
                    peer: *id,
                    payload: Arc::clone(payload),
                    header,
                    kind,
                });
                n += 1;
            }
            for id in told {
                self.schedule(id, Some(0));
            }
            n
        }
    }
}
