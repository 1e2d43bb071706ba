//! A virtual network of sans-IO [`PeerManager`]s in one virtual clock, with no sockets, threads
//! or sleeping (quinn-proto's `Pair::step` / `drive`, nakamoto's simulator).
//!
//! Each [`Link`] is one connection: end 0 dialled, end 1 listened. An end belongs to a manager
//! of the network or to the test itself (a scripted peer, whose messages the test writes with
//! [`VNet::inject`]). Every message crosses the link as bytes: framed by the sender's
//! `V1Send` from protocol's codec (a `logos` payload with the header it was relayed with), and
//! parsed back by the receiver's `V1Recv` into the `CNetMessage` the manager is fed, after the
//! link's latency.
//!
//! The network does what `CConnman`'s message handler does with a manager's outputs: a
//! received message is processed, then `send_messages` runs for its peer; when a manager's
//! [`PeerManager::next_deadline`] comes, its due peers get `send_messages`; a `Deliver` is
//! answered by the node's [`UpperModel`]; a `Disconnect` closes the link and finalizes both
//! ends. Every output, every received message and every wake-up is appended to
//! [`VNet::log`], so a test can assert on exactly what happened and when.
//!
//! [`VNet::step`] handles the single earliest event (a message arriving, before a deadline of
//! the same instant); [`VNet::run_until`] and [`VNet::settle`] call it a bounded number of
//! times. The same seed gives the same log.
#![allow(dead_code)]

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, VecDeque};
use std::sync::Arc;

use addrman::banman::{BanMan, MemoryBanDb};
use addrman::AddrMan;
use net::connection_type::ConnectionType;
use net::disconnect::DisconnectReason;
use net::local_addr::LocalHostMap;
use net::net_message::{CNetMessage, SerializedNetMsg};
use net::net_permissions::NetPermissionFlags;
use net::peerman::{
    ConnectionInfo, NodeUpdate, Output, PeerManager, PeerManagerContext, PeerManagerOptions,
};
use net::siphash::RandomizerSeeds;
use net::transport::{V1Recv, V1Send};
use net::{FinalVerdict, MockClock, NodeId, Verdict};
use netbase::{CNetAddr, CService, NetGroupManager};
use protocol::header::HEADER_SIZE;
use protocol::message::net_msg_type as t;
use protocol::{CAddress, Chain, MessageHeader, NetworkMessage, NetworkParams, ServiceFlags};
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};

/// Virtual time the network starts at (µs since the epoch).
pub const T0: i64 = 1_795_503_770 * 1_000_000;
/// One-way latency of a new link (µs): odd, so round trips are easy to tell apart.
pub const DEFAULT_LATENCY: i64 = 37_000;
/// Bound of every driving loop.
const MAX_STEPS: usize = 2_000_000;
/// First port given to the dialling side of a link.
const FIRST_EPHEMERAL_PORT: u16 = 40_000;

/// The upper layer's answer on a payload: its verdict, and for an accepted one whether it is
/// important.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    /// The quick verdict.
    pub verdict: Verdict,
    /// Keep it for peers that connect later (asked only of accepted payloads).
    pub important: bool,
}

impl Answer {
    /// Accept, not important.
    pub fn accept() -> Self {
        Answer::of(Verdict::Accept)
    }

    /// Accept and keep for later peers.
    pub fn important() -> Self {
        Answer {
            verdict: Verdict::Accept,
            important: true,
        }
    }

    /// `verdict`, not important.
    pub fn of(verdict: Verdict) -> Self {
        Answer {
            verdict,
            important: false,
        }
    }

    /// The 2019 bool (true: accept, false: ignore).
    pub fn bool(accept: bool) -> Self {
        Answer::of(Verdict::from(accept))
    }
}

/// A node's upper layer: judges each payload it is handed.
pub type UpperModel = Box<dyn FnMut(&[u8]) -> Answer>;

/// An upper layer accepting everything, nothing important.
pub fn accept_all() -> UpperModel {
    Box::new(|_| Answer::accept())
}

/// An upper layer accepting payloads that start with `prefix` and ignoring the others (the
/// 2019 bool callback's false).
pub fn accept_prefix(prefix: &'static [u8]) -> UpperModel {
    Box::new(move |p| Answer::bool(p.starts_with(prefix)))
}

/// What a new node is made of.
pub struct NodeSpec {
    /// Its listening address (what dialling peers connect to).
    pub addr: CService,
    /// The manager's options.
    pub opts: PeerManagerOptions,
    /// Give it an address manager.
    pub addrman: bool,
    /// Give it a ban manager (in-memory ban list).
    pub banman: bool,
    /// Core's `fListen` (self-advertisement in `addr`).
    pub listen: bool,
    /// Core's `fDiscover` (a peer's view of our address may be advertised).
    pub discover: bool,
}

/// Something that happened, at virtual time `t` (µs).
#[derive(Clone, Debug)]
pub enum Event {
    /// Node `node` produced `out`.
    Out { t: i64, node: usize, out: Output },
    /// A message arrived at end `end` of `link` (whose node, if any, is `node`).
    Recv {
        t: i64,
        link: usize,
        end: usize,
        node: Option<usize>,
        m_type: String,
        header: [u8; HEADER_SIZE],
        payload: Vec<u8>,
    },
    /// Node `node` ran `send_messages` for `peer` because its deadline came.
    Wake { t: i64, node: usize, peer: NodeId },
    /// End `end` of `link` could not parse what arrived (the link is then closed).
    TransportError {
        t: i64,
        link: usize,
        end: usize,
        reason: DisconnectReason,
    },
    /// `link` was closed (both managed ends finalized).
    Closed { t: i64, link: usize },
}

/// One end of a link.
struct End {
    /// The node this end belongs to; `None` for a scripted peer.
    node: Option<usize>,
    /// The id the node gave the connection.
    id: NodeId,
    /// This end's own address (what the other end sees).
    addr: CService,
    tx: V1Send,
    rx: V1Recv,
    /// The connection's `fPauseSend`.
    paused: bool,
    /// Messages that arrived before the manager would process them (an outbound connection
    /// before its `version` went out: Core's first check in ProcessMessages).
    held: VecDeque<CNetMessage>,
}

/// One connection.
pub struct Link {
    ends: [End; 2],
    /// One-way latency, µs.
    pub latency: i64,
    /// Still open.
    pub open: bool,
}

/// A node: a manager, its address and its upper layer.
pub struct VNode {
    /// The manager.
    pub pm: PeerManager,
    /// Its listening address.
    pub addr: CService,
    /// Its address manager, if any.
    pub addrman: Option<Arc<AddrMan>>,
    /// Its ban manager, if any.
    pub banman: Option<Arc<BanMan>>,
    /// Its upper layer.
    pub upper: UpperModel,
    /// Every payload handed to the upper layer, in order.
    pub delivered: Vec<Vec<u8>>,
    /// The upper layer's verdict on each of `delivered`, in order.
    pub verdicts: Vec<Verdict>,
    /// Message types this node's outputs never put on the wire (a peer that stays silent).
    pub mute: Vec<&'static str>,
    /// The upper layer takes its time: verdicts wait in `held_verdicts` until
    /// [`VNet::release_verdicts`].
    pub hold_verdicts: bool,
    /// Verdicts not yet given: (id, verdict, important).
    pub held_verdicts: Vec<([u8; 32], Verdict, bool)>,
    /// Its connections: id -> (link, end).
    peers: BTreeMap<NodeId, (usize, usize)>,
    next_id: NodeId,
}

/// A message on its way: (arrival, sequence number, link, receiving end, bytes).
type Flight = Reverse<(i64, u64, usize, usize, Vec<u8>)>;

/// The network.
pub struct VNet {
    params: &'static NetworkParams,
    now: i64,
    clock: Arc<MockClock>,
    rng: ChaCha20Rng,
    /// The nodes, by index.
    pub nodes: Vec<VNode>,
    /// The links, by index (closed ones stay, so indices hold).
    pub links: Vec<Link>,
    flights: BinaryHeap<Flight>,
    seq: u64,
    next_port: u16,
    /// Everything that happened, in order.
    pub log: Vec<Event>,
}

impl VNet {
    /// An empty network on `chain` whose every random choice comes from `seed`.
    pub fn new(chain: Chain, seed: u64) -> Self {
        VNet {
            params: NetworkParams::get(chain),
            now: T0,
            clock: Arc::new(MockClock::new(T0 / 1_000_000)),
            rng: ChaCha20Rng::seed_from_u64(seed),
            nodes: Vec::new(),
            links: Vec::new(),
            flights: BinaryHeap::new(),
            seq: 0,
            next_port: FIRST_EPHEMERAL_PORT,
            log: Vec::new(),
        }
    }

    /// The network's parameters.
    pub fn params(&self) -> &'static NetworkParams {
        self.params
    }

    /// The default spec of a node listening at `addr`.
    pub fn spec(&self, addr: CService) -> NodeSpec {
        NodeSpec {
            addr,
            opts: PeerManagerOptions::new(self.params),
            addrman: false,
            banman: false,
            listen: false,
            discover: false,
        }
    }

    /// Add a node with the default spec at `addr`; returns its index.
    pub fn add_node(&mut self, addr: CService) -> usize {
        let spec = self.spec(addr);
        self.add(spec)
    }

    /// Add a node; returns its index.
    pub fn add(&mut self, spec: NodeSpec) -> usize {
        let mut seed = [0u8; 32];
        self.rng.fill_bytes(&mut seed);
        let addrman = spec.addrman.then(|| {
            let clock: Arc<dyn addrman::Clock> = self.clock.clone();
            Arc::new(
                AddrMan::new_with_seed(NetGroupManager::new(), seed, 0, self.params.hash_kind)
                    .with_clock(clock),
            )
        });
        let banman = spec.banman.then(|| {
            Arc::new(BanMan::new(
                Box::new(MemoryBanDb::new()),
                None,
                24 * 3600,
                self.clock.clone(),
                &mut self.rng,
            ))
        });
        let ctx = PeerManagerContext {
            addrman: addrman.clone(),
            banman: banman.clone(),
            local_host: Arc::new(LocalHostMap::new(
                spec.addr.port,
                spec.discover,
                spec.listen,
            )),
            reachable: Arc::new(net::connman::reachable_nets(&[])),
            seeds: RandomizerSeeds {
                seed0: self.rng.next_u64(),
                seed1: self.rng.next_u64(),
            },
        };
        let pm = PeerManager::new(spec.opts, ctx, self.rng.next_u64());
        self.nodes.push(VNode {
            pm,
            addr: spec.addr,
            addrman,
            banman,
            upper: accept_all(),
            delivered: Vec::new(),
            verdicts: Vec::new(),
            mute: Vec::new(),
            hold_verdicts: false,
            held_verdicts: Vec::new(),
            peers: BTreeMap::new(),
            next_id: 0,
        });
        self.nodes.len() - 1
    }

    // ----- connections ---------------------------------------------------------------------

    /// Node `a` dials node `b` with a connection of type `conn_type`; returns the link.
    pub fn connect(&mut self, a: usize, b: usize, conn_type: ConnectionType) -> usize {
        let from = self.ephemeral(self.nodes[a].addr.addr);
        let to = self.nodes[b].addr;
        self.open(
            Some(a),
            from,
            Some(b),
            to,
            conn_type,
            NetPermissionFlags::NONE,
        )
    }

    /// [`Self::connect`], node `b` granting the inbound connection `permissions` (as
    /// `-whitelist` / `-whitebind` do).
    pub fn connect_with_permissions(
        &mut self,
        a: usize,
        b: usize,
        conn_type: ConnectionType,
        permissions: NetPermissionFlags,
    ) -> usize {
        let from = self.ephemeral(self.nodes[a].addr.addr);
        let to = self.nodes[b].addr;
        self.open(Some(a), from, Some(b), to, conn_type, permissions)
    }

    /// A scripted peer at `from` dials node `b`; returns the link (the script is end 0).
    pub fn connect_from_script(&mut self, from: CService, b: usize) -> usize {
        let to = self.nodes[b].addr;
        self.open(
            None,
            from,
            Some(b),
            to,
            ConnectionType::Inbound,
            NetPermissionFlags::NONE,
        )
    }

    /// Node `a` dials a scripted peer at `to`; returns the link (the script is end 1).
    pub fn connect_to_script(
        &mut self,
        a: usize,
        to: CService,
        conn_type: ConnectionType,
    ) -> usize {
        let from = self.ephemeral(self.nodes[a].addr.addr);
        self.open(Some(a), from, None, to, conn_type, NetPermissionFlags::NONE)
    }

    fn ephemeral(&mut self, addr: CNetAddr) -> CService {
        self.next_port += 1;
        CService::new(addr, self.next_port)
    }

    fn open(
        &mut self,
        dialer: Option<usize>,
        from: CService,
        listener: Option<usize>,
        to: CService,
        conn_type: ConnectionType,
        listener_permissions: NetPermissionFlags,
    ) -> usize {
        let link = self.links.len();
        let ends = [
            (dialer, from, to, conn_type, NetPermissionFlags::NONE),
            (
                listener,
                to,
                from,
                ConnectionType::Inbound,
                listener_permissions,
            ),
        ];
        let ends = ends.map(|(node, own, other, ct, perms)| {
            let id = node.map_or(-1, |n| self.attach(n, link, own, other, ct, perms));
            End {
                node,
                id,
                addr: own,
                tx: V1Send::new(self.params.message_start, self.params.hash_kind),
                rx: V1Recv::new(
                    self.params.message_start,
                    self.params.hash_kind,
                    self.params.max_message_length,
                    id,
                ),
                paused: false,
                held: VecDeque::new(),
            }
        });
        self.links.push(Link {
            ends,
            latency: DEFAULT_LATENCY,
            open: true,
        });
        link
    }

    /// Give node `n` a connection to `other` (seen from `own`); returns its id.
    fn attach(
        &mut self,
        n: usize,
        link: usize,
        own: CService,
        other: CService,
        conn_type: ConnectionType,
        permissions: NetPermissionFlags,
    ) -> NodeId {
        let nonce = self.rng.next_u64();
        let services = if conn_type == ConnectionType::Inbound {
            ServiceFlags::NODE_NONE
        } else {
            self.params.seeds_services
        };
        let node = &mut self.nodes[n];
        let id = node.next_id;
        node.next_id += 1;
        // A node's inbound connections are the listening end (1) of their link.
        let end = usize::from(conn_type == ConnectionType::Inbound);
        node.peers.insert(id, (link, end));
        let conn = ConnectionInfo {
            id,
            addr: CAddress::new(other, services, 0),
            addr_bind: own,
            conn_type,
            permissions,
            local_nonce: nonce,
            connected: self.now.div_euclid(1_000_000),
        };
        node.pm.initialize_node(conn, self.now);
        id
    }

    /// The id node-side end `end` of `link` has at its node.
    pub fn peer_id(&self, link: usize, end: usize) -> NodeId {
        self.links[link].ends[end].id
    }

    /// The address of end `end` of `link` (what the other end sees).
    pub fn end_addr(&self, link: usize, end: usize) -> CService {
        self.links[link].ends[end].addr
    }

    /// Set the connection's `fPauseSend` at end `end`; lifting it runs `send_messages` for the
    /// peer at once (the message handler is woken when a pause lifts).
    pub fn set_send_paused(&mut self, link: usize, end: usize, paused: bool) {
        self.links[link].ends[end].paused = paused;
        if let (false, Some(n)) = (paused, self.links[link].ends[end].node) {
            let id = self.links[link].ends[end].id;
            self.wake(n, id);
        }
    }

    /// Close `link` (as if a socket closed): both managed ends are finalized.
    pub fn close(&mut self, link: usize) {
        if !self.links[link].open {
            return;
        }
        self.links[link].open = false;
        for e in 0..2 {
            let (node, id) = (self.links[link].ends[e].node, self.links[link].ends[e].id);
            if let Some(n) = node {
                self.nodes[n].peers.remove(&id);
                self.nodes[n].pm.finalize_node(id, self.now);
            }
        }
        self.log.push(Event::Closed { t: self.now, link });
    }

    // ----- inputs from the test ------------------------------------------------------------

    /// Put `msg` on the wire from end `from` of `link`, as if that end's node (or script) sent
    /// it.
    pub fn inject(&mut self, link: usize, from: usize, msg: &NetworkMessage) {
        let m = SerializedNetMsg::from_message(msg).expect("a message type we know");
        self.transmit(link, from, m);
    }

    /// Flood a payload of node `n`'s own (hashed and framed here, as `prepare_logos` does).
    /// Returns `propagate`'s answer and the header it was framed with.
    pub fn propagate(&mut self, n: usize, payload: &[u8], important: bool) -> (bool, [u8; 24]) {
        let hash = self.params.hash_kind.hash(payload);
        let header =
            MessageHeader::frame(self.params.message_start, t::LOGOS, payload.len(), &hash)
                .to_bytes();
        let now = self.now;
        let any =
            self.nodes[n]
                .pm
                .propagate(Arc::new(payload.to_vec()), hash, header, important, now);
        self.pump(n);
        (any, header)
    }

    /// The id of `payload` on this network (its network hash), as the upper layer names it.
    pub fn id_of(&self, payload: &[u8]) -> [u8; 32] {
        self.params.hash_kind.hash(payload)
    }

    /// Node `n`'s upper layer reports a final verdict on `id`.
    pub fn final_verdict(&mut self, n: usize, id: [u8; 32], verdict: FinalVerdict) {
        let now = self.now;
        self.nodes[n].pm.final_verdict(id, verdict, now);
        self.pump(n);
    }

    /// Node `n`'s upper layer gives the verdicts it held back.
    pub fn release_verdicts(&mut self, n: usize) {
        let now = self.now;
        for (id, verdict, important) in std::mem::take(&mut self.nodes[n].held_verdicts) {
            self.nodes[n]
                .pm
                .deliver_verdict(id, verdict, important, now);
        }
        self.pump(n);
    }

    /// Node `n` pings every peer on its next pass (the `ping` RPC).
    pub fn send_pings(&mut self, n: usize) {
        let now = self.now;
        self.nodes[n].pm.send_pings(now);
        self.pump(n);
    }

    // ----- driving -------------------------------------------------------------------------

    /// The current virtual time (µs).
    pub fn now(&self) -> i64 {
        self.now
    }

    fn set_now(&mut self, t: i64) {
        self.now = self.now.max(t);
        self.clock.set_micros(self.now);
    }

    /// When the next event is due, if any.
    pub fn next_event(&self) -> Option<i64> {
        let flight = self.flights.peek().map(|Reverse(f)| f.0);
        let deadline = self.nodes.iter().filter_map(|n| n.pm.next_deadline()).min();
        [flight, deadline]
            .into_iter()
            .flatten()
            .min()
            .map(|t| t.max(self.now))
    }

    /// Handle the earliest event: a message arriving (first, at equal times), else the due
    /// peers of every node whose deadline came. False when nothing is scheduled.
    pub fn step(&mut self) -> bool {
        let Some(t) = self.next_event() else {
            return false;
        };
        self.set_now(t);
        if self
            .flights
            .peek()
            .is_some_and(|Reverse(f)| f.0 <= self.now)
        {
            if let Some(Reverse((_, _, link, end, bytes))) = self.flights.pop() {
                self.arrive(link, end, &bytes);
            }
            return true;
        }
        let mut due = Vec::new();
        for n in 0..self.nodes.len() {
            if self.nodes[n]
                .pm
                .next_deadline()
                .is_none_or(|d| d > self.now)
            {
                continue;
            }
            due.clear();
            let now = self.now;
            self.nodes[n].pm.due_peers(now, &mut due);
            for &id in &due {
                self.log.push(Event::Wake {
                    t: now,
                    node: n,
                    peer: id,
                });
                self.wake(n, id);
            }
        }
        true
    }

    /// Handle every event due at or before `t`, then stand at `t`.
    pub fn run_until(&mut self, t: i64) {
        for _ in 0..MAX_STEPS {
            if self.next_event().is_none_or(|e| e > t) {
                self.set_now(t);
                return;
            }
            self.step();
        }
        panic!("run_until: more than {MAX_STEPS} steps");
    }

    /// [`Self::run_until`] `d` µs from now.
    pub fn run_for(&mut self, d: i64) {
        self.run_until(self.now + d);
    }

    /// Step until no message is in flight and no deadline has passed (later deadlines wait).
    pub fn settle(&mut self) {
        for _ in 0..MAX_STEPS {
            let busy = !self.flights.is_empty()
                || self
                    .nodes
                    .iter()
                    .any(|n| n.pm.next_deadline().is_some_and(|d| d <= self.now));
            if !busy {
                return;
            }
            self.step();
        }
        panic!("settle: more than {MAX_STEPS} steps");
    }

    // ----- the shell -----------------------------------------------------------------------

    /// Frame `msg` with the sending end's transport and put its bytes on the wire.
    fn transmit(&mut self, link: usize, from: usize, msg: SerializedNetMsg) {
        let l = &mut self.links[link];
        if !l.open {
            return;
        }
        let tx = &mut l.ends[from].tx;
        assert!(tx.set_message_to_send(msg).is_ok(), "transport busy");
        let (parts, _) = tx.get_bytes_to_send_vectored();
        let bytes = [parts[0], parts[1]].concat();
        tx.mark_bytes_sent(bytes.len());
        self.seq += 1;
        self.flights.push(Reverse((
            self.now + l.latency,
            self.seq,
            link,
            1 - from,
            bytes,
        )));
    }

    /// Bytes arrive at end `end` of `link`: parse them, log each message and feed it to the
    /// end's node.
    fn arrive(&mut self, link: usize, end: usize, mut bytes: &[u8]) {
        while !bytes.is_empty() && self.links[link].open {
            let e = &mut self.links[link].ends[end];
            if let Err(reason) = e.rx.received_bytes(&mut bytes) {
                self.log.push(Event::TransportError {
                    t: self.now,
                    link,
                    end,
                    reason,
                });
                self.close(link);
                return;
            }
            if !e.rx.received_message_complete() {
                continue;
            }
            let (mut msg, mut reject) = e.rx.get_received_message(self.now);
            reject |= !msg.complete_deferred_hash(self.params.hash_kind);
            if reject {
                continue;
            }
            self.log.push(Event::Recv {
                t: self.now,
                link,
                end,
                node: e.node,
                m_type: msg.m_type.to_string(),
                header: msg.m_header,
                payload: msg.m_recv.clone(),
            });
            if let Some(n) = e.node {
                let id = e.id;
                e.held.push_back(msg);
                self.process_held(n, link, end, id);
            }
        }
    }

    /// Feed node `n` the messages of its peer `id` while it is ready to process them, each
    /// followed by `send_messages` (one ProcessMessages pass each).
    fn process_held(&mut self, n: usize, link: usize, end: usize, id: NodeId) {
        while self.links[link].open && self.nodes[n].pm.ready_to_process(id) {
            let Some(msg) = self.links[link].ends[end].held.pop_front() else {
                return;
            };
            let now = self.now;
            self.nodes[n].pm.process_message(id, msg, now);
            self.pump(n);
            self.send_messages(n, id);
        }
    }

    /// `send_messages` for node `n`'s peer `id`, then carry out the outputs.
    fn send_messages(&mut self, n: usize, id: NodeId) {
        let Some(&(link, end)) = self.nodes[n].peers.get(&id) else {
            return;
        };
        let paused = self.links[link].ends[end].paused;
        let now = self.now;
        self.nodes[n].pm.send_messages(id, now, paused);
        self.pump(n);
    }

    /// A timer or a lifted pause: `send_messages` for node `n`'s peer `id`, then the messages
    /// it held back (an outbound connection's first pass sends `version`, after which the
    /// peer's messages may be processed).
    fn wake(&mut self, n: usize, id: NodeId) {
        self.send_messages(n, id);
        if let Some(&(link, end)) = self.nodes[n].peers.get(&id) {
            self.process_held(n, link, end, id);
        }
    }

    /// Carry out node `n`'s outputs in order (answering deliveries, which may queue more).
    fn pump(&mut self, n: usize) {
        while let Some(out) = self.nodes[n].pm.poll_output() {
            self.log.push(Event::Out {
                t: self.now,
                node: n,
                out: out.clone(),
            });
            match out {
                Output::Send { peer, msg } => {
                    if self.nodes[n].mute.contains(&msg.command()) {
                        continue;
                    }
                    if let Some(&(link, end)) = self.nodes[n].peers.get(&peer) {
                        let m = SerializedNetMsg::from_message(&msg).expect("known type");
                        self.transmit(link, end, m);
                    }
                }
                Output::SendLogos {
                    peer,
                    payload,
                    header,
                    ..
                } => {
                    if self.nodes[n].mute.contains(&t::LOGOS) {
                        continue;
                    }
                    if let Some(&(link, end)) = self.nodes[n].peers.get(&peer) {
                        self.transmit(
                            link,
                            end,
                            SerializedNetMsg::framed(t::LOGOS, payload, header),
                        );
                    }
                }
                Output::Deliver { id, payload, .. } => {
                    let node = &mut self.nodes[n];
                    let v = (node.upper)(&payload);
                    node.delivered.push(payload.to_vec());
                    node.verdicts.push(v.verdict.clone());
                    let now = self.now;
                    let important = v.important && v.verdict == Verdict::Accept;
                    if node.hold_verdicts {
                        node.held_verdicts.push((id, v.verdict, important));
                    } else {
                        node.pm.deliver_verdict(id, v.verdict, important, now);
                    }
                }
                Output::Disconnect { peer, .. } => {
                    if let Some(&(link, _)) = self.nodes[n].peers.get(&peer) {
                        self.close(link);
                    }
                }
                Output::DisconnectSubnet { subnet } => {
                    let hit: Vec<usize> = self.nodes[n]
                        .peers
                        .values()
                        .filter(|(link, end)| {
                            subnet.matches(&self.links[*link].ends[1 - end].addr.addr)
                        })
                        .map(|(link, _)| *link)
                        .collect();
                    for link in hit {
                        self.close(link);
                    }
                }
                Output::Update { .. } => {}
            }
        }
    }

    // ----- reading the log -----------------------------------------------------------------

    /// Node `n`'s outputs about peer `peer`, with their times.
    pub fn outputs_for(&self, n: usize, peer: NodeId) -> Vec<(i64, Output)> {
        self.log
            .iter()
            .filter_map(|e| match e {
                Event::Out { t, node, out } if *node == n && output_peer(out) == Some(peer) => {
                    Some((*t, out.clone()))
                }
                _ => None,
            })
            .collect()
    }

    /// The message types node `n` sent to peer `peer`, in order.
    pub fn sent_types(&self, n: usize, peer: NodeId) -> Vec<String> {
        self.outputs_for(n, peer)
            .into_iter()
            .filter_map(|(_, o)| match o {
                Output::Send { msg, .. } => Some(msg.command().to_string()),
                Output::SendLogos { .. } => Some(t::LOGOS.to_string()),
                _ => None,
            })
            .collect()
    }

    /// The updates node `n` made about peer `peer`, in order.
    pub fn updates(&self, n: usize, peer: NodeId) -> Vec<NodeUpdate> {
        self.outputs_for(n, peer)
            .into_iter()
            .filter_map(|(_, o)| match o {
                Output::Update { update, .. } => Some(update),
                _ => None,
            })
            .collect()
    }

    /// Node `n`'s disconnections: (time, peer, reason).
    pub fn disconnects(&self, n: usize) -> Vec<(i64, NodeId, DisconnectReason)> {
        self.log
            .iter()
            .filter_map(|e| match e {
                Event::Out {
                    t,
                    node,
                    out: Output::Disconnect { peer, reason },
                } if *node == n => Some((*t, *peer, reason.clone())),
                _ => None,
            })
            .collect()
    }

    /// The messages that arrived at end `end` of `link`: (time, type, header, payload).
    pub fn received(&self, link: usize, end: usize) -> Vec<(i64, String, [u8; 24], Vec<u8>)> {
        self.log
            .iter()
            .filter_map(|e| match e {
                Event::Recv {
                    t,
                    link: l,
                    end: x,
                    m_type,
                    header,
                    payload,
                    ..
                } if *l == link && *x == end => {
                    Some((*t, m_type.clone(), *header, payload.clone()))
                }
                _ => None,
            })
            .collect()
    }

    /// Every message that arrived at node `n` (any link): (time, type, header, payload).
    pub fn received_by(&self, n: usize) -> Vec<(i64, String, [u8; 24], Vec<u8>)> {
        self.log
            .iter()
            .filter_map(|e| match e {
                Event::Recv {
                    t,
                    node: Some(x),
                    m_type,
                    header,
                    payload,
                    ..
                } if *x == n => Some((*t, m_type.clone(), *header, payload.clone())),
                _ => None,
            })
            .collect()
    }
}

/// The peer an output concerns, if one.
pub fn output_peer(o: &Output) -> Option<NodeId> {
    match o {
        Output::Send { peer, .. }
        | Output::SendLogos { peer, .. }
        | Output::Deliver { peer, .. }
        | Output::Disconnect { peer, .. }
        | Output::Update { peer, .. } => Some(*peer),
        Output::DisconnectSubnet { .. } => None,
    }
}

/// `a.b.c.d:port`.
pub fn v4(a: u8, b: u8, c: u8, d: u8, port: u16) -> CService {
    CService::new(
        CNetAddr::from_ipv4(std::net::Ipv4Addr::new(a, b, c, d)),
        port,
    )
}
