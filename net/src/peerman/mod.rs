//! The overlay's protocol core: the P2P part of Core's `PeerManagerImpl` (net_processing.cpp)
//! as a state machine with no sockets, threads, clock or upper-layer calls of its own (in the
//! style of quinn-proto's `Connection` and nakamoto's managers).
//!
//! It owns every per-peer protocol state (handshake, ping, address relay, misbehaviour), the
//! `logos` flood (seen-set, recent rejects, the important store and its catch-up), the address
//! response cache and the outbound clock offsets, and it calls the address manager and the ban
//! manager, which are plain data structures too. Two shells drive it: `CConnman` (real sockets
//! and Core's threads) and the simulator (one virtual clock for thousands of nodes).
//!
//! Call order, as Core's message handler does it (`g_msgproc_mutex` is the caller's exclusive
//! borrow):
//! - a connection opens: [`PeerManager::initialize_node`] (Core's `InitializeNode`);
//! - for each received message: [`PeerManager::process_message`] (`ProcessMessages` +
//!   `ProcessMessage`), then [`PeerManager::send_messages`] (`SendMessages`) for that peer;
//! - when [`PeerManager::next_deadline`] passes: [`PeerManager::due_peers`], then
//!   `send_messages` for each;
//! - after every call: drain [`PeerManager::poll_output`] and carry each [`Output`] out, with
//!   no lock held that an upper-layer callback could need; an [`Output::Deliver`] is answered
//!   with [`PeerManager::deliver_verdict`];
//! - the upper layer's late verdicts: [`PeerManager::final_verdict`];
//! - our own payloads: [`PeerManager::propagate`];
//! - a connection closed: [`PeerManager::finalize_node`] (`FinalizeNode`).
//!
//! Time is passed in (µs since the epoch); randomness comes from a seeded generator, so two runs
//! fed the same inputs give the same outputs.

mod addr;
mod announce;
mod fetcher;
mod handshake;
mod logos;
mod output;
mod peer;
mod pending;
mod timers;

use std::collections::BTreeMap;
use std::sync::Arc;

use addrman::banman::BanMan;
use addrman::AddrMan;
use netbase::{CSubNet, ReachableNets};
use protocol::{NetworkMessage, NetworkParams, ServiceFlags};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

use crate::addr_cache::AddrResponseCache;
use crate::addr_relay::addr_fetch_timeout;
use crate::disconnect::DisconnectReason;
use crate::eviction::NodeId;
use crate::local_addr::LocalHostMap;
use crate::misbehavior::{maybe_discourage_and_disconnect, PunishAction, PunishFlags};
use crate::net_message::CNetMessage;
use crate::net_permissions::NetPermissionFlags;
use crate::siphash::RandomizerSeeds;
use crate::timeoffsets::TimeOffsets;
use crate::timeouts::PingAction;
use crate::util::sanitize_string;

pub use announce::{short_id, AnnounceOptions};
pub(crate) use fetcher::{Candidate, Fetcher};
/// The Stage 2 relay's constants.
pub mod announce_consts {
    pub use super::announce::{
        hold_for, own_inbound_delay, DEFAULT_POOL_MAX_AGE, DEFAULT_POOL_MAX_BYTES,
        DEFAULT_PUSH_FANOUT, DEFAULT_PUSH_MAX, DEFAULT_PUSH_PEERS, DEFAULT_PUSH_THRESHOLD,
        DEFAULT_PUSH_WAIT, FAILURE_DELAY, HOLD_MARGIN, INBOUND_DELAY, KNOWN_PER_LINK,
        MAX_CANDIDATES_PER_PEER, MAX_FAILURE_PENALTIES, MAX_IN_FLIGHT_PER_PEER,
        REQUEST_TIMEOUT_BASE, REQUEST_TIMEOUT_PER_MB, SAME_PAYLOAD_WINDOW,
    };
}
pub use logos::{FloodOptions, FloodStats};
pub use output::{LogosSend, NodeUpdate, Output};
pub use peer::ConnectionInfo;
pub use pending::{PendingOptions, PendingStats, MAX_PENDING_DEPENDENCIES};

use peer::Peer;
use timers::Timers;

/// Core's `typeid(std::ios_base::failure).name()` as libstdc++ prints it, for log parity.
const IOS_FAILURE_TYPE_NAME: &str = "NSt8ios_base7failureB5cxx11E";

/// Not in Core: whether the node counts as "close to the tip" for
/// `GetDesirableServiceFlags`. Core answers from its best block's age; a node without a chain
/// (a fresh bitcoind too: its best block time starts at 0) is never close, so peers offering
/// only `NODE_NETWORK_LIMITED` are not desirable. One answer for the handshake, the `addr`
/// filter and the outbound planner.
pub const CLOSE_TO_TIP: bool = false;

/// The node-wide settings of the peer manager.
#[derive(Clone, Debug)]
pub struct PeerManagerOptions {
    /// The network.
    pub params: &'static NetworkParams,
    /// The services we announce (Core's `m_local_services`).
    pub our_services: ServiceFlags,
    /// Our user agent (Core's `strSubVersion`).
    pub user_agent: String,
    /// `-peertimeout`, seconds (the ping timeout applies only after it).
    pub peer_timeout: i64,
    /// `-logips`.
    pub log_ips: bool,
    /// Test switch: treat loopback peers as non-local for misbehaviour, so discouragement can
    /// be exercised on loopback. Never set outside tests.
    pub test_loopback_not_local: bool,
    /// The `logos` flood's bounds.
    pub flood: FloodOptions,
    /// Not in Core: the capacity of each peer's `m_addr_known` filter (Core's 5,000 addresses,
    /// 27 KB a connection). Only the simulator lowers it, to hold 10,000 nodes in memory.
    pub addr_known_elements: u32,
    /// The Stage 2 relay (announce, request, send).
    pub announce: AnnounceOptions,
    /// The bounds of the pending pool (payloads waiting for others).
    pub pending: PendingOptions,
}

impl PeerManagerOptions {
    /// Not in Core: the defaults for `params`: our services from the network, Core's timeouts,
    /// the flood's default bounds.
    pub fn new(params: &'static NetworkParams) -> Self {
        PeerManagerOptions {
            params,
            our_services: our_services(params),
            user_agent: DEFAULT_USER_AGENT.to_string(),
            peer_timeout: crate::timeouts::DEFAULT_PEER_CONNECT_TIMEOUT,
            log_ips: false,
            test_loopback_not_local: false,
            flood: FloodOptions::default(),
            addr_known_elements: crate::addr_relay::ADDR_KNOWN_ELEMENTS,
            announce: AnnounceOptions::default(),
            pending: PendingOptions::default(),
        }
    }
}

/// User agent we announce (Core's `strSubVersion`).
pub const DEFAULT_USER_AGENT: &str = "/logos-p2p:0.1.0/";

/// Not in Core: the services we announce: none on Bitcoin networks (we serve no blocks), the Logos
/// service bit on Logos networks.
pub fn our_services(params: &NetworkParams) -> ServiceFlags {
    //DMITRY: our service bits; Core: init.cpp (nLocalServices = NODE_NETWORK | NODE_WITNESS ...); changed: honest services,
    // NODE_NONE on Bitcoin networks (bitcoind then keeps us only as inbound/manual), NODE_LOGOS on
    // Logos networks.
    if params.is_bitcoin() {
        ServiceFlags::NODE_NONE
    } else {
        ServiceFlags::NODE_LOGOS
    }
}

/// What the peer manager reaches outside itself: the address manager, the ban manager and the
/// node-wide address facts it shares with the connection manager (Core's globals
/// `mapLocalHost` and `g_reachable_nets`, and `CConnman`'s randomizer seeds).
#[derive(Clone)]
pub struct PeerManagerContext {
    /// Core's `m_addrman` (none: addresses are neither stored nor served).
    pub addrman: Option<Arc<AddrMan>>,
    /// Core's `m_banman`.
    pub banman: Option<Arc<BanMan>>,
    /// Core's `mapLocalHost`.
    pub local_host: Arc<LocalHostMap>,
    /// Core's `g_reachable_nets`.
    pub reachable: Arc<ReachableNets>,
    /// Core's `CConnman::nSeed0` / `nSeed1`.
    pub seeds: RandomizerSeeds,
}

/// Statistics of a peer kept by the peer manager (Core's `CNodeStateStats`, P2P part).
#[derive(Clone, Debug, Default)]
pub struct CNodeStateStats {
    /// Core's `m_starting_height`.
    pub m_starting_height: i32,
    /// Core's `m_ping_wait` (microseconds, 0 if no ping outstanding).
    pub m_ping_wait: i64,
    /// Core's `m_addr_processed`.
    pub m_addr_processed: u64,
    /// Core's `m_addr_rate_limited`.
    pub m_addr_rate_limited: u64,
    /// Core's `m_addr_relay_enabled`.
    pub m_addr_relay_enabled: bool,
    /// Core's `their_services`.
    pub their_services: ServiceFlags,
    /// Core's `time_offset`: the peer's clock minus ours at its `version`, seconds.
    pub time_offset: i64,
}

/// The peer manager. Port of the P2P part of `PeerManagerImpl` (net_processing.cpp).
pub struct PeerManager {
    opts: PeerManagerOptions,
    ctx: PeerManagerContext,
    /// Core's `m_peer_map` (ordered by id, as Core's `std::map`).
    m_peer_map: BTreeMap<NodeId, Peer>,
    /// Core's `m_rng`.
    m_rng: ChaCha20Rng,
    /// Outputs not yet polled, oldest first.
    outbox: std::collections::VecDeque<Output>,
    timers: Timers,
    flood: logos::LogosRelay,
    /// Announcements to fetch (Stage 2 relay).
    fetcher: Fetcher,
    /// When the fetcher next has something due (µs).
    fetch_deadline: Option<i64>,
    /// Peers we asked to push small payloads to us (`sendpush`), oldest first.
    push_from: std::collections::VecDeque<NodeId>,
    /// Payloads kept to answer requests (Stage 2 relay).
    relay_pool: announce::RelayPool,
    /// Payloads waiting for others (Stage 2 dependencies).
    pending: pending::PendingPool,
    /// Core's `m_outbound_time_offsets`.
    m_outbound_time_offsets: TimeOffsets,
    /// Core's `CConnman::m_addr_response_caches` (kept here: only `getaddr` reads it).
    m_addr_response_caches: AddrResponseCache,
    /// The randomness of the cache lifetimes (Core draws them from a fresh `FastRandomContext`).
    m_cache_rng: ChaCha20Rng,
    /// Not in Core: the Stage 2 relay's per-link salts.
    m_salt_rng: ChaCha20Rng,
}

impl PeerManager {
    /// Port of PeerManager::make (net_processing.cpp): an empty peer manager whose random
    /// choices come from `rng_seed`.
    pub fn new(opts: PeerManagerOptions, ctx: PeerManagerContext, rng_seed: u64) -> Self {
        let flood = logos::LogosRelay::new(&opts.flood);
        let pending_pool = pending::PendingPool::new(&opts.pending);
        PeerManager {
            m_addr_response_caches: AddrResponseCache::new(ctx.seeds),
            opts,
            ctx,
            m_peer_map: BTreeMap::new(),
            m_rng: ChaCha20Rng::seed_from_u64(rng_seed),
            m_cache_rng: ChaCha20Rng::seed_from_u64(rng_seed ^ 0x6361_6368_6572_6e67),
            m_salt_rng: ChaCha20Rng::seed_from_u64(rng_seed ^ 0x7361_6c74_7361_6c74),
            outbox: std::collections::VecDeque::new(),
            timers: Timers::default(),
            flood,
            fetcher: Fetcher::default(),
            fetch_deadline: None,
            push_from: std::collections::VecDeque::new(),
            relay_pool: announce::RelayPool::default(),
            pending: pending_pool,
            m_outbound_time_offsets: TimeOffsets::new(),
        }
    }

    /// Not in Core: the options in force.
    pub fn options(&self) -> &PeerManagerOptions {
        &self.opts
    }

    // ----- inputs ---------------------------------------------------------------------------

    /// Port of PeerManagerImpl::InitializeNode (net_processing.cpp): a connection opened. An
    /// outbound connection sends its `version` on the first `send_messages`, which is due at
    /// once.
    pub fn initialize_node(&mut self, conn: ConnectionInfo, now: i64) {
        let id = conn.id;
        let peer = Peer::new(
            conn,
            self.opts.our_services,
            self.opts.addr_known_elements,
            now,
        );
        let mut peer = peer;
        // Its own stream, so the salts change no other random choice.
        peer.link.our_salt = rand_core::RngCore::next_u64(&mut self.m_salt_rng);
        self.m_peer_map.insert(id, peer);
        self.schedule(id, Some(now));
    }

    /// Port of PeerManagerImpl::FinalizeNode (net_processing.cpp): the connection is gone.
    pub fn finalize_node(&mut self, id: NodeId, now: i64) {
        let Some(peer) = self.m_peer_map.remove(&id) else {
            return;
        };
        self.timers.set(id, peer.next_wakeup, None);
        self.flood.peer_finalized(&peer, now);
        self.relay_peer_finalized(id, now);
        self.push_from.retain(|&x| x != id);
        self.pending_peer_finalized(id, now);
        if peer.successfully_connected()
            && peer.conn.conn_type != crate::connection_type::ConnectionType::BlockRelay
            && !peer.conn.is_inbound_conn()
        {
            if let Some(a) = &self.ctx.addrman {
                a.connected(&peer.conn.addr.service, now.div_euclid(1_000_000));
            }
        }
        log::debug!(target: "net", "Cleared nodestate for peer={id}");
    }

    /// Port of PeerManagerImpl::ProcessMessages (net_processing.cpp), after the message was
    /// taken from the connection: run ProcessMessage on it and log Core's line for a payload
    /// that fails to decode.
    pub fn process_message(&mut self, id: NodeId, mut msg: CNetMessage, now: i64) {
        // Core's ProcessMessages: nothing more from a peer marked for disconnection.
        if self.m_peer_map.get(&id).is_none_or(|p| p.f_disconnect) {
            return;
        }
        // The shell left the hash of a message it took for one dropped unread (`drops_unread`);
        // should the answer have changed since, it is checked here before anything reads it.
        if msg.m_hash_pending
            && !self.drops_unread(id, &msg)
            && !msg.complete_deferred_hash(self.opts.params.hash_kind)
        {
            log::debug!(target: "net",
                "Header error: Wrong checksum ({}, {} bytes), expected {} was {}, peer={}",
                sanitize_string(&msg.m_type),
                msg.m_message_size,
                crate::util::hex_str(&msg.m_hash[..4]),
                crate::util::hex_str(&msg.m_header[20..24]),
                id
            );
            return;
        }
        let m_type = msg.m_type.clone();
        let size = msg.m_message_size;
        if let Err(e) = self.process_message_inner(id, msg, now) {
            log::debug!(target: "net",
                "ProcessMessages({}, {} bytes): Exception '{}' ({}) caught",
                sanitize_string(&m_type),
                size,
                e.core_what(),
                IOS_FAILURE_TYPE_NAME
            );
        }
    }

    /// Not in Core: whether `msg` from `id` would be dropped without its payload being read (an
    /// `announce` from a peer whose announcements fill its share of the fetcher), so the shell
    /// need not hash it to check its checksum: a flood of full `announce` messages then costs a
    /// look at a count each, not a hash of 600 KB.
    pub fn drops_unread(&self, id: NodeId, msg: &CNetMessage) -> bool {
        msg.m_type == protocol::message::net_msg_type::ANNOUNCE
            && self.announce_needs_no_decoding(id, &msg.m_recv)
    }

    /// Port of PeerManagerImpl::ProcessMessage (net_processing.cpp), P2P part: the checks on
    /// the handshake state come first (by message type, as Core's), then the payload is decoded
    /// by protocol's codec and handled.
    fn process_message_inner(
        &mut self,
        id: NodeId,
        msg: CNetMessage,
        now: i64,
    ) -> Result<(), protocol::Error> {
        let msg_type: &str = &msg.m_type;
        log::debug!(target: "net", "received: {} ({} bytes) peer={}", sanitize_string(msg_type), msg.m_recv.len(), id);
        use protocol::message::net_msg_type as t;
        if msg_type == t::VERSION {
            return self.process_version(id, &msg.m_recv, now);
        }
        let Some(peer) = self.m_peer_map.get_mut(&id) else {
            return Ok(());
        };
        if peer.n_version() == 0 {
            //DMITRY: peer sends another message before version; Core: net_processing.cpp::PeerManagerImpl::ProcessMessage; kept: logged and
            // ignored, the handshake timeout drops the peer later.
            log::debug!(target: "net",
                "non-version message before version handshake. Message \"{}\" from peer={}",
                sanitize_string(msg_type),
                id
            );
            return Ok(());
        }
        match msg_type {
            t::VERACK => {
                self.process_verack(id, now);
                return Ok(());
            }
            t::SENDHEADERS | t::SENDCMPCT => {
                //DMITRY: sendheaders/sendcmpct (accepted before verack too); Core: net_processing.cpp::PeerManagerImpl::ProcessMessage; removed: no block
                // relay, the preference is not recorded.
                return Ok(());
            }
            t::WTXIDRELAY => {
                self.process_wtxidrelay(id);
                return Ok(());
            }
            t::SENDADDRV2 => {
                if let Err(reason) = peer.addr.process_sendaddrv2(peer.successfully_connected()) {
                    //DMITRY: peer sends sendaddrv2 after verack; Core: net_processing.cpp::PeerManagerImpl::ProcessMessage; kept: disconnect (BIP155
                    // negotiation must happen before verack).
                    self.disconnect(id, reason);
                }
                return Ok(());
            }
            t::SENDANNOUNCE if !self.opts.params.is_bitcoin() => {
                self.process_sendannounce(id, &msg.m_recv)?;
                return Ok(());
            }
            t::SENDTXRCNCL => {
                //DMITRY: sendtxrcncl (and its protocol-violation disconnects); Core: net_processing.cpp::PeerManagerImpl::ProcessMessage; kept: as a
                // bitcoind without -txreconciliation (its default), logged and ignored before any
                // check.
                log::debug!(target: "net", "sendtxrcncl from peer={id} ignored, as our node does not have txreconciliation enabled");
                return Ok(());
            }
            _ => {}
        }
        if !peer.successfully_connected() {
            log::debug!(target: "net",
                "Unsupported message \"{}\" prior to verack from peer={}",
                sanitize_string(msg_type),
                id
            );
            return Ok(());
        }
        match msg_type {
            t::PING => {
                if peer.common_version() > protocol::version::BIP0031_VERSION {
                    if let NetworkMessage::Ping(nonce) =
                        NetworkMessage::decode_payload(t::PING, &msg.m_recv)?
                    {
                        self.send(id, NetworkMessage::Pong(nonce));
                    }
                }
                return Ok(());
            }
            t::PONG => {
                // Core reads the nonce only when 8 bytes are there ("Short payload" otherwise).
                let nonce = match NetworkMessage::decode_payload(t::PONG, &msg.m_recv) {
                    Ok(NetworkMessage::Pong(n)) => Some(n),
                    _ => None,
                };
                self.process_pong(id, nonce, msg.m_recv.len(), msg.m_time);
                return Ok(());
            }
            _ => {}
        }
        let CNetMessage {
            m_type,
            m_recv,
            m_hash,
            m_header,
            m_shared,
            ..
        } = msg;
        if m_type == t::ANNOUNCE && self.announce_needs_no_decoding(id, &m_recv) {
            log::debug!(target: "net", "announce from peer={id} ignored: {} announcements of it wait already", announce::MAX_CANDIDATES_PER_PEER);
            return Ok(());
        }
        if let (t::LOGOS, Some(payload)) = (&*m_type, m_shared) {
            // A payload the shell already holds shared: the `logos` codec is the bytes as they are.
            self.process_logos(id, payload, m_hash, m_header, now);
            return Ok(());
        }
        match NetworkMessage::decode_payload_owned(&m_type, m_recv)? {
            NetworkMessage::Addr(v) => self.process_addr(id, t::ADDR, v, now),
            NetworkMessage::AddrV2(v) => self.process_addr(id, t::ADDRV2, v, now),
            NetworkMessage::GetAddr => self.process_getaddr(id, now),
            NetworkMessage::Announce(v) if !self.opts.params.is_bitcoin() => {
                self.process_announce(id, v, now)
            }
            NetworkMessage::GetLogos(v) if !self.opts.params.is_bitcoin() => {
                self.process_getlogos(id, v)
            }
            NetworkMessage::GetLogosById(v) if !self.opts.params.is_bitcoin() => {
                self.process_getlogosid(id, v)
            }
            NetworkMessage::LogNotFound(v) if !self.opts.params.is_bitcoin() => {
                self.process_lognotfound(id, v, now)
            }
            NetworkMessage::SendPush(on) if !self.opts.params.is_bitcoin() => {
                self.process_sendpush(id, on)
            }
            NetworkMessage::SendAnnounce(_)
            | NetworkMessage::Announce(_)
            | NetworkMessage::GetLogos(_)
            | NetworkMessage::GetLogosById(_)
            | NetworkMessage::LogNotFound(_)
            | NetworkMessage::SendPush(_) => {
                // Bitcoin networks: not a message bitcoind knows (a sendannounce after verack
                // on a Logos network was handled by type above).
                log::debug!(target: "net", "Unknown command \"{}\" from peer={}", sanitize_string(&m_type), id);
            }
            NetworkMessage::Logos(payload) => {
                self.process_logos(id, Arc::new(payload), m_hash, m_header, now);
            }
            NetworkMessage::Ignored { .. } => {
                //DMITRY: block/transaction messages (inv, tx, headers, ... and their misbehaviour cases such as oversized inv); Core: net_processing.cpp::PeerManagerImpl::ProcessMessage; removed: no chain
                // or mempool, the message is ignored.
            }
            NetworkMessage::Unknown { command, .. } => {
                log::debug!(target: "net", "Unknown command \"{}\" from peer={}", sanitize_string(&command), id);
            }
            // Handled above by type.
            NetworkMessage::Version(_)
            | NetworkMessage::Verack
            | NetworkMessage::SendAddrV2
            | NetworkMessage::Ping(_)
            | NetworkMessage::Pong(_) => {}
        }
        Ok(())
    }

    /// Port of PeerManagerImpl::SendMessages (net_processing.cpp), P2P part, for one peer.
    /// `send_paused` is the connection's `fPauseSend` (its send queue is over
    /// `-maxsendbuffer`): the important-message catch-up waits while it holds.
    pub fn send_messages(&mut self, id: NodeId, now: i64, send_paused: bool) {
        if !self.m_peer_map.contains_key(&id) {
            return;
        }
        self.send_messages_inner(id, now, send_paused);
        // The fetcher is the node's, not the peer's: its pass runs whatever state the visited
        // peer is in (a peer being disconnected or still in its handshake may be the one
        // `due_peers` visits for the fetcher's deadline).
        self.fetch_due(now);
        self.reschedule(id, now, send_paused);
    }

    fn send_messages_inner(&mut self, id: NodeId, now: i64, send_paused: bool) {
        self.pending_timers(now);
        if self.maybe_discourage_and_disconnect(id) {
            return;
        }
        let Some(peer) = self.m_peer_map.get_mut(&id) else {
            return;
        };
        if !peer.conn.is_inbound_conn() && !peer.m_outbound_version_message_sent {
            peer.m_outbound_version_message_sent = true;
            self.push_node_version(id, now);
        }
        let Some(peer) = self.m_peer_map.get_mut(&id) else {
            return;
        };
        if !peer.successfully_connected() || peer.f_disconnect {
            return;
        }
        if let Some(reason) = addr_fetch_timeout(
            peer.conn.conn_type,
            peer.conn.connected.saturating_mul(1_000_000),
            now,
        ) {
            //DMITRY: addr-fetch connection open longer than 10 x AVG_ADDRESS_BROADCAST_INTERVAL; Core: net_processing.cpp::PeerManagerImpl::SendMessages; kept: disconnect.
            self.disconnect(id, reason);
            return;
        }
        self.maybe_send_ping(id, now);
        if self.m_peer_map.get(&id).is_none_or(|p| p.f_disconnect) {
            return;
        }
        self.maybe_send_addr(id, now);
        if !send_paused {
            self.maybe_send_catchup(id, now);
        }
        self.flush_announcements(id, now);
    }

    /// Port of PeerManagerImpl::SendPings (net_processing.cpp): every peer pings on its next
    /// `send_messages`, which is due at once.
    pub fn send_pings(&mut self, now: i64) {
        let ids: Vec<NodeId> = self.m_peer_map.keys().copied().collect();
        for id in ids {
            if let Some(p) = self.m_peer_map.get_mut(&id) {
                p.ping.queue_ping();
            }
            self.schedule(id, Some(now));
        }
    }

    /// Not in Core: the peers whose deadline is at or before `now` (appended to `out`); call
    /// `send_messages` for each.
    pub fn due_peers(&mut self, now: i64, out: &mut Vec<NodeId>) {
        let start = out.len();
        self.timers.take_due(now, out);
        if self.fetch_deadline.is_some_and(|t| t <= now) {
            // A request is due or timed out: visit an announcer (send_messages runs the
            // fetcher for every peer).
            self.fetch_deadline = None;
            // The visited peer's send_messages owes the fetcher a pass.
            self.fetcher.changed = true;
            if let Some(c) = self.fetcher.first() {
                if !out[start..].contains(&c.peer) {
                    out.push(c.peer);
                }
            }
        }
        for id in &out[start..] {
            if let Some(p) = self.m_peer_map.get_mut(id) {
                // A peer visited for the fetcher may have a later deadline of its own: it goes
                // too (send_messages files the peer's next one), so the table and
                // `next_wakeup` agree and nothing is left behind when the peer goes.
                self.timers.set(*id, p.next_wakeup, None);
                p.next_wakeup = None;
            }
        }
    }

    /// Not in Core: the earliest time (µs) at which some peer needs `send_messages`, if any
    /// (the message handler sleeps until then).
    pub fn next_deadline(&self) -> Option<i64> {
        match (self.timers.next(), self.fetch_deadline) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Not in Core: the next output, oldest first (quinn-proto's `poll_transmit`).
    pub fn poll_output(&mut self) -> Option<Output> {
        self.outbox.pop_front()
    }

    /// Not in Core: every queued output, appended to `out` in order.
    pub fn drain_outputs(&mut self, out: &mut std::collections::VecDeque<Output>) {
        if out.is_empty() {
            // The usual case: hand the whole queue over (and take the caller's empty one, with
            // its capacity, as the next outbox).
            std::mem::swap(out, &mut self.outbox);
        } else {
            out.append(&mut self.outbox);
        }
    }

    // ----- queries --------------------------------------------------------------------------

    /// Port of PeerManagerImpl::GetNodeStateStats (net_processing.cpp), P2P part.
    pub fn get_node_state_stats(&self, id: NodeId, now: i64) -> Option<CNodeStateStats> {
        let p = self.m_peer_map.get(&id)?;
        Some(CNodeStateStats {
            m_starting_height: p.m_starting_height,
            m_ping_wait: p.ping.ping_wait(now).unwrap_or(0),
            m_addr_processed: p.addr.m_addr_processed,
            m_addr_rate_limited: p.addr.m_addr_rate_limited,
            m_addr_relay_enabled: p.addr.m_addr_relay_enabled,
            their_services: p.m_their_services,
            time_offset: p.m_time_offset,
        })
    }

    /// Port of PeerManagerImpl::GetInfo (net_processing.cpp): the median clock offset of our
    /// outbound peers, seconds (getnetworkinfo's `timeoffset`).
    pub fn median_outbound_time_offset(&self) -> i64 {
        self.m_outbound_time_offsets.median()
    }

    /// Port of the first check of PeerManagerImpl::ProcessMessages (net_processing.cpp): an
    /// outbound connection's messages wait until our `version` went out.
    pub fn ready_to_process(&self, id: NodeId) -> bool {
        self.m_peer_map
            .get(&id)
            .is_some_and(|p| p.conn.is_inbound_conn() || p.m_outbound_version_message_sent)
    }

    /// Not in Core: whether `id` finished its handshake and was not told to disconnect.
    pub fn is_fully_connected(&self, id: NodeId) -> bool {
        self.m_peer_map.get(&id).is_some_and(Peer::fully_connected)
    }

    /// Not in Core: number of peers known.
    pub fn peer_count(&self) -> usize {
        self.m_peer_map.len()
    }

    // ----- helpers --------------------------------------------------------------------------

    /// Queue `msg` to `peer` (Core's `MakeAndPushMessage`).
    fn send(&mut self, peer: NodeId, msg: NetworkMessage) {
        self.outbox.push_back(Output::Send { peer, msg });
    }

    /// Mark `peer` for disconnection (Core's `fDisconnect = true` with its log line, which the
    /// shell prints from `reason`).
    fn disconnect(&mut self, peer: NodeId, reason: DisconnectReason) {
        if let Some(p) = self.m_peer_map.get_mut(&peer) {
            p.f_disconnect = true;
        }
        self.outbox.push_back(Output::Disconnect { peer, reason });
    }

    fn update(&mut self, peer: NodeId, update: NodeUpdate) {
        self.outbox.push_back(Output::Update { peer, update });
    }

    /// File `id` for `send_messages` at `at` (`None`: no deadline).
    fn schedule(&mut self, id: NodeId, at: Option<i64>) {
        if let Some(p) = self.m_peer_map.get_mut(&id) {
            let old = p.next_wakeup;
            let at = match (old, at) {
                // An earlier deadline stays.
                (Some(o), Some(a)) if o < a => Some(o),
                _ => at,
            };
            self.timers.set(id, old, at);
            p.next_wakeup = at;
        }
    }

    /// After `send_messages`: the next time this peer needs it (the earliest of its ping,
    /// address, address-fetch and catch-up deadlines).
    fn reschedule(&mut self, id: NodeId, now: i64, send_paused: bool) {
        let Some(p) = self.m_peer_map.get(&id) else {
            return;
        };
        let next = if p.f_disconnect || !p.successfully_connected() {
            // Nothing is due before a message arrives (verack) or the shell finalizes it.
            None
        } else {
            let mut t = p.ping.next_ping_deadline();
            if p.ping.ping_nonce_sent() != 0 && !p.ping.ping_queued() {
                // The ping timeout also waits for the inactivity checks
                // (ShouldRunInactivityChecks: the connection older than -peertimeout); without
                // this, a ping expired before then would be due again at every pass.
                let checks = p
                    .conn
                    .connected
                    .saturating_add(self.opts.peer_timeout)
                    .saturating_add(1)
                    .saturating_mul(1_000_000);
                t = t.max(checks);
            }
            if p.conn.conn_type == crate::connection_type::ConnectionType::AddrFetch {
                let timeout = p.conn.connected.saturating_mul(1_000_000)
                    + 10 * crate::addr_relay::AVG_ADDRESS_BROADCAST_INTERVAL
                    + 1;
                t = t.min(timeout);
            }
            if p.addr.m_addr_relay_enabled {
                t = t.min(p.addr.m_next_addr_send + 1);
                if self.ctx.local_host.listen() {
                    t = t.min(p.addr.m_next_local_addr_send + 1);
                }
            }
            if let Some(d) = p.link.next_delayed() {
                t = t.min(d);
            }
            if p.catchup_next.is_some() && !send_paused {
                t = now;
            }
            if let Some(pending) = self.pending_wakeup(id) {
                t = t.min(pending);
            }
            Some(t.max(now))
        };
        // Replace (not min): this is the peer's whole state after SendMessages.
        let old = p.next_wakeup;
        self.timers.set(id, old, next);
        if let Some(p) = self.m_peer_map.get_mut(&id) {
            p.next_wakeup = next;
        }
    }

    /// Port of PeerManagerImpl::Misbehaving (net_processing.cpp).
    fn misbehaving(&mut self, id: NodeId, message: &str) {
        if let Some(p) = self.m_peer_map.get_mut(&id) {
            let line = p.m_misbehavior.misbehaving(id, message);
            log::debug!(target: "net", "{line}");
        }
        self.schedule(id, Some(0));
    }

    /// Port of PeerManagerImpl::MaybeDiscourageAndDisconnect (net_processing.cpp); the decision
    /// is misbehavior.rs's, the actions are outputs (and the ban manager's discouragement).
    fn maybe_discourage_and_disconnect(&mut self, id: NodeId) -> bool {
        let Some(p) = self.m_peer_map.get_mut(&id) else {
            return false;
        };
        let is_local = !self.opts.test_loopback_not_local && p.conn.addr.service.addr.is_local();
        let action = maybe_discourage_and_disconnect(
            &mut p.m_misbehavior,
            PunishFlags {
                m_noban: p.conn.has_permission(NetPermissionFlags::NO_BAN),
                conn_type: p.conn.conn_type,
                is_local,
                m_inbound_onion: false,
            },
        );
        let addr = p.conn.addr.service.addr;
        match action {
            PunishAction::NotMarked => false,
            PunishAction::NoPunishNoban | PunishAction::NoPunishManual => {
                //DMITRY: misbehaving noban (-whitebind/-whitelist) or manual (-addnode/-connect) peer; Core: net_processing.cpp::PeerManagerImpl::MaybeDiscourageAndDisconnect; kept: never punished,
                // only the warning.
                if let Some(line) = action.log_text(id) {
                    // LogPrintf in Core: no category.
                    log::info!("{line}");
                }
                false
            }
            PunishAction::DisconnectOnly { .. } => {
                //DMITRY: misbehaving peer on a local address (loopback; or none when the test switch test_loopback_not_local is on); Core: net_processing.cpp::PeerManagerImpl::MaybeDiscourageAndDisconnect; kept: disconnected, not
                // discouraged.
                if let Some(r) = action.disconnect_reason() {
                    self.disconnect(id, r);
                }
                true
            }
            PunishAction::DisconnectAndDiscourage => {
                //DMITRY: misbehaving non-local, non-manual peer; Core: net_processing.cpp::PeerManagerImpl::MaybeDiscourageAndDisconnect; kept: address discouraged
                // in BanMan, every connection from it disconnected.
                self.disconnect(id, DisconnectReason::Discouraged);
                if let Some(b) = &self.ctx.banman {
                    b.discourage(&addr);
                }
                self.outbox.push_back(Output::DisconnectSubnet {
                    subnet: CSubNet::from_addr(addr),
                });
                true
            }
        }
    }

    /// The `pong` branch of PeerManagerImpl::ProcessMessage (net_processing.cpp): `nonce` is
    /// `None` when the payload is shorter than 8 bytes (`n_avail` bytes).
    fn process_pong(&mut self, id: NodeId, nonce: Option<u64>, n_avail: usize, time: i64) {
        let Some(p) = self.m_peer_map.get_mut(&id) else {
            return;
        };
        let outcome = p.ping.received_pong(nonce, n_avail, time);
        if let Some(line) = outcome.log_text(id) {
            log::debug!(target: "net", "{line}");
        }
        if let Some(t) = outcome.ping_time {
            p.link.min_rtt = Some(p.link.min_rtt.map_or(t, |m| m.min(t)));
            self.update(id, NodeUpdate::PongReceived(t));
        }
        if outcome.ping_finished {
            let at = self
                .m_peer_map
                .get(&id)
                .map(|p| p.ping.next_ping_deadline());
            self.schedule(id, at);
        }
    }

    /// Port of PeerManagerImpl::MaybeSendPing (net_processing.cpp).
    fn maybe_send_ping(&mut self, id: NodeId, now: i64) {
        let Some(p) = self.m_peer_map.get_mut(&id) else {
            return;
        };
        let action = p.ping.maybe_send_ping(
            now,
            p.conn.connected,
            self.opts.peer_timeout,
            p.common_version(),
            &mut self.m_rng,
        );
        match action {
            PingAction::None => {}
            PingAction::SendPing(Some(nonce)) => self.send(id, NetworkMessage::Ping(nonce)),
            PingAction::SendPing(None) => {
                // Before BIP 31 a ping has no payload (an `Unknown`-shaped empty ping).
                self.send(
                    id,
                    NetworkMessage::Unknown {
                        command: protocol::message::net_msg_type::PING.to_string(),
                        payload: Vec::new(),
                    },
                )
            }
            PingAction::Disconnect(reason) => {
                //DMITRY: no pong within TIMEOUT_INTERVAL (20 min) of our ping; Core: net_processing.cpp::PeerManagerImpl::MaybeSendPing; kept: disconnect.
                self.disconnect(id, reason);
            }
        }
    }
}
