//! The discrete-event loop and the shell around each peer manager.
//!
//! One thread, one queue of events ordered by (virtual time, sequence number), one virtual
//! clock. The shell does for every node what `CConnman` does for the daemon's peer manager:
//! it feeds received messages to [`PeerManager::process_message`] then runs `send_messages`
//! for that peer, wakes due peers at [`PeerManager::next_deadline`], carries out the outputs
//! (sending, delivering to the upper layer, disconnecting), runs the outbound planner every
//! 500 ms of Core's `ThreadOpenConnections` grid, answers DNS-seed queries, admits inbound
//! connections with [`net::admission::inbound_admission`] and evicts with
//! [`net::eviction::select_node_to_evict`].
//!
//! Messages other than `logos` are encoded with protocol's codec and decoded by the receiver;
//! `logos` payloads travel as one shared buffer with the id and header they were framed with
//! (what the daemon's transport would compute, without the cost per hop).
//!
//! Simplifications, each kept small on purpose: a connection refused by admission fails the
//! dial (Core's dialler would first see the TCP connection, then its close); a dial to an
//! address nobody listens on fails after Core's 5 s connect timeout; CPU time is not modelled
//! except the upper layer's verify time.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::Arc;

use addrman::banman::{BanMan, MemoryBanDb};
use addrman::AddrMan;
use net::admission::{inbound_admission, Admission, InboundFacts};
use net::connection_type::ConnectionType;
use net::dnsseed::{
    DnsSeedAction, DnsSeedConfig, DnsSeedInputs, DnsSeedPlanner, SeedLookupOutcome,
};
use net::local_addr::{LocalHostMap, LOCAL_MANUAL};
use net::net_message::{CNetMessage, SerializedNetMsg};
use net::open_connections::{OpenConnectionsConfig, OpenConnectionsPlanner, PlanContext};
use net::peerman::{
    ConnectionInfo, LogosSend, NodeUpdate, Output, PeerManager, PeerManagerContext,
    PeerManagerOptions,
};
use net::siphash::RandomizerSeeds;
use net::upper::Verdict;
use net::NodeId;
use netbase::{CNetAddr, CService, NetGroupManager, ReachableNets};
use protocol::{CAddress, Chain, NetworkParams};
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};

use crate::clock::SimClock;
use crate::config::{Bootstrap, SimConfig};
use crate::link::{Frame, Link, LinkEnd, Pipe, Wire};
use crate::metrics::{Arrival, EclipseSample, MessageRecord, NodeRecord, RunResult};
use crate::node::{SimNode, SimPeer};
use crate::topology::{self, AddressPlan};

mod scenario;

/// Virtual time the run starts at, µs since the epoch (2026-11-01).
pub const T0: i64 = 1_793_491_200 * 1_000_000;
/// Core's `ThreadOpenConnections` pass interval (500 ms).
const PLAN_INTERVAL: i64 = 500_000;
/// Core's `DEFAULT_CONNECT_TIMEOUT` (5 s): a dial to a dead address fails after it.
const CONNECT_TIMEOUT: i64 = 5_000_000;
/// Core's `DEFAULT_MAXSENDBUFFER` (1000 KB): over it a peer's sends pause.
const MAX_SEND_BUFFER: u64 = net::connman::DEFAULT_MAXSENDBUFFER as u64 * 1000;
/// Our own payloads may queue beyond `-maxsendbuffer` up to this (connman's bound).
const MAX_OWN_BACKLOG: u64 = net::connman::MAX_OWN_BACKLOG_BYTES as u64;
/// Core's `m_max_automatic_outbound`: 8 full-relay, 2 block-relay-only, 1 feeler.
const MAX_AUTOMATIC_OUTBOUND: i32 = net::open_connections::MAX_OUTBOUND_FULL_RELAY_CONNECTIONS
    as i32
    + net::connman::MAX_BLOCK_RELAY_ONLY_CONNECTIONS
    + net::connman::MAX_FEELER_CONNECTIONS;
/// Addresses a simulated DNS seed returns per query.
pub const DNS_ANSWER_SIZE: usize = 32;
/// The simulated DNS seed's answer delay.
const DNS_DELAY: i64 = 80_000;
/// The simulated network's DNS seed (answered by the simulator, never resolved).
pub const SIM_DNS_SEEDS: &[&str] = &["seed.sim.logos.invalid."];
/// How often the eclipse share is sampled.
const ECLIPSE_SAMPLE_INTERVAL: i64 = 5_000_000;

/// What happens at a point of virtual time.
#[derive(Debug)]
enum Ev {
    /// A message reaches the receiver's downlink.
    Arrive { link: u32, to: u8, wire: Wire },
    /// The receiver's downlink has it: process it.
    Process { link: u32, to: u8, wire: Wire },
    /// A node's timers (peer manager deadline, planner pass, DNS seed poll).
    Wake { node: u32 },
    /// A dial completes (or fails).
    Connect(Box<Dial>),
    /// The upper layer's verify time is over: it answers on the payload of `frame`.
    Verdict { node: u32, frame: u32 },
    /// The workload's message `msg` is sent.
    Originate { msg: u32 },
    /// A connection is lost.
    LinkLoss { link: u32 },
    /// A node leaves (churn).
    Leave,
    /// A node joins (churn).
    Join,
    /// The partition starts (`true`) or heals.
    Partition { cut: bool },
    /// The eclipse attacker acts (fills inbound slots, floods `addr`).
    EclipseAttack,
    /// The victims restart (keeping their address managers).
    EclipseRestart,
    /// Sample the eclipse share.
    EclipseSample,
}

/// A dial on its way (boxed: rare, and the queue's items stay small).
#[derive(Debug)]
struct Dial {
    from: u32,
    addr: CAddress,
    conn_type: ConnectionType,
}

/// An event and its place in the queue.
#[derive(Debug)]
struct Item {
    t: i64,
    seq: u64,
    ev: Ev,
}

impl PartialEq for Item {
    fn eq(&self, o: &Self) -> bool {
        (self.t, self.seq) == (o.t, o.seq)
    }
}
impl Eq for Item {}
impl PartialOrd for Item {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Item {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        (self.t, self.seq).cmp(&(o.t, o.seq))
    }
}

/// A workload message the network knows about.
struct Payload {
    msg: u32,
    valid: bool,
    /// The message it depends on (`--pending-share`).
    depends_on: Option<u32>,
}

/// Progress of a run, for the progress bar.
#[derive(Clone, Copy, Debug)]
pub struct Progress {
    /// Virtual seconds simulated so far.
    pub t_secs: f64,
    /// Virtual seconds the run lasts.
    pub end_secs: f64,
    /// Events handled so far.
    pub events: u64,
}

/// The simulated network.
pub struct Sim {
    cfg: SimConfig,
    params: &'static NetworkParams,
    clock: Arc<SimClock>,
    netgroupman: NetGroupManager,
    reachable: Arc<ReachableNets>,
    rng: ChaCha20Rng,
    plan: AddressPlan,
    nodes: Vec<SimNode>,
    links: Vec<Link>,
    /// Who answers a dial to an address (attackers own many).
    by_addr: HashMap<CService, u32>,
    queue: BinaryHeap<Reverse<Item>>,
    seq: u64,
    now: i64,
    events: u64,
    /// Workload payloads by id.
    payloads: HashMap<[u8; 32], Payload>,
    /// Every `logos` payload in the network, by frame index (the workload's first, by message
    /// index).
    frames: Vec<Frame>,
    /// Hops of each (message, node) first arrival, `u16::MAX` until then.
    hops: Vec<Vec<u16>>,
    /// Times each (message, node) upper layer accepted the message (the originator's own
    /// counts as one).
    accepts: Vec<Vec<u8>>,
    messages: Vec<MessageRecord>,
    workload_start: i64,
    end: i64,
    measuring: bool,
    /// The partition: nodes on the smaller side, while the cut holds.
    cut: Option<Vec<bool>>,
    victims: Vec<u32>,
    attackers: Vec<u32>,
    attacker_addrs: Vec<CService>,
    eclipse: Vec<EclipseSample>,
    next_port: u16,
    /// Churn so far: nodes that left, nodes that joined.
    churn_counts: (u32, u32),
}

/// Runs the scenario of `cfg` on the simulator. `progress` is called now and then.
pub fn run(cfg: &SimConfig, progress: &mut dyn FnMut(Progress)) -> Result<RunResult, String> {
    cfg.validate()?;
    let wall = std::time::Instant::now();
    let (mut sim, layout) = Sim::new(cfg.clone());
    sim.bootstrap(layout);
    sim.schedule_workload();
    sim.schedule_scenario();
    sim.run_until_end(progress);
    let mut r = sim.result();
    r.wall_seconds = wall.elapsed().as_secs_f64();
    Ok(r)
}

impl Sim {
    fn new(cfg: SimConfig) -> (Self, topology::Layout) {
        let base = NetworkParams::get(Chain::LogosMain);
        let mut layout = topology::layout(&cfg, base.default_port);
        let rng = std::mem::replace(&mut layout.rng, ChaCha20Rng::seed_from_u64(0));
        let plan = std::mem::replace(&mut layout.plan, AddressPlan::new(0, 0));
        let clock = Arc::new(SimClock::new(T0));
        let reachable = Arc::new(net::connman::reachable_nets(&[]));
        let workload_start = T0 + (cfg.warmup_secs * 1e6) as i64;
        let end = workload_start
            + (cfg.messages as f64 / cfg.rate * 1e6) as i64
            + (cfg.drain_secs * 1e6) as i64;
        let sim = Sim {
            params: base,
            clock,
            netgroupman: NetGroupManager::new(),
            reachable,
            rng,
            plan,
            nodes: Vec::new(),
            links: Vec::new(),
            by_addr: HashMap::new(),
            queue: BinaryHeap::new(),
            seq: 0,
            now: T0,
            events: 0,
            payloads: HashMap::new(),
            frames: Vec::new(),
            hops: Vec::new(),
            accepts: Vec::new(),
            messages: Vec::new(),
            workload_start,
            end,
            measuring: false,
            cut: None,
            victims: Vec::new(),
            attackers: Vec::new(),
            attacker_addrs: Vec::new(),
            eclipse: Vec::new(),
            next_port: 1024,
            churn_counts: (0, 0),
            cfg,
        };
        (sim, layout)
    }

    // ----- building the network ----------------------------------------------------------

    /// Places the honest nodes, builds the network's seeds, and starts every node.
    fn bootstrap(&mut self, layout: topology::Layout) {
        let listening = topology::listening_count(self.cfg.nodes, self.cfg.inbound_share);
        // The network's DNS seed and fixed seeds: listening nodes, as on a real network.
        let fixed: &'static str = Box::leak(layout.fixed_seeds.into_boxed_str());
        let seeds: &'static [&'static str] = SIM_DNS_SEEDS;
        self.params = Box::leak(Box::new(self.params.with_seeds(seeds, fixed)));
        let specs: Vec<_> = layout
            .specs
            .into_iter()
            .map(|s| (s.addr, s.region, s.listening))
            .collect();
        let delegates = self.cfg.delegates;
        for (i, (addr, region, listen)) in specs.into_iter().enumerate() {
            let idx = self.add_node(addr, region, listen, false);
            self.nodes[idx as usize].delegate = i < delegates;
            self.nodes[idx as usize].record.delegate = i < delegates;
        }
        if self.cfg.bootstrap == Bootstrap::Snapshot {
            self.fill_snapshot(listening);
        }
        for i in 0..self.nodes.len() as u32 {
            self.start_node(i);
        }
    }

    /// A node at `addr`, not yet started.
    fn add_node(&mut self, addr: CService, region: u8, listening: bool, attacker: bool) -> u32 {
        let index = self.nodes.len() as u32;
        let mut seed = [0u8; 32];
        self.rng.fill_bytes(&mut seed);
        let clock_a: Arc<dyn addrman::Clock> = self.clock.clone();
        let addrman = Arc::new(
            AddrMan::new_compact(NetGroupManager::new(), seed, 0, self.params.hash_kind)
                .with_clock(clock_a),
        );
        let banman = Arc::new(BanMan::new(
            Box::new(MemoryBanDb::new()),
            None,
            24 * 3600,
            self.clock.clone(),
            &mut self.rng,
        ));
        let local_host = Arc::new(LocalHostMap::new(addr.port, false, listening));
        if listening {
            // Core's -externalip: a listening node advertises its address.
            local_host.add_local(&addr, LOCAL_MANUAL, &self.reachable);
        }
        let seeds = RandomizerSeeds {
            seed0: self.rng.next_u64(),
            seed1: self.rng.next_u64(),
        };
        let mut opts = PeerManagerOptions::new(self.params);
        // The seen-set and the recent rejects bound memory, not the run: sized for the workload
        // (every id stays for the whole run) rather than the daemon's 100,000 / 20,000, which
        // would cost 10,000 nodes about 14 GB of presized tables.
        opts.flood.seen_max = (self.cfg.messages * 2 + 64).min(100_000);
        opts.flood.rejects_max = opts.flood.seen_max / 5;
        opts.addr_known_elements = self.cfg.addr_known_elements;
        let announce = self.cfg.relay == crate::config::Relay::Announce
            && !topology::chance(&mut self.rng, self.cfg.flood_only_share);
        let silent = announce && topology::chance(&mut self.rng, self.cfg.silent_share);
        opts.announce.enabled = announce;
        opts.announce.push_threshold = self.cfg.push_threshold;
        opts.announce.push_fanout = self.cfg.push_fanout;
        opts.announce.push_peers = self.cfg.push_peers;
        opts.announce.push_max = self.cfg.push_max;
        opts.announce.push_wait = (self.cfg.push_wait_ms * 1000.0) as i64;
        let ctx = PeerManagerContext {
            addrman: Some(Arc::clone(&addrman)),
            banman: Some(Arc::clone(&banman)),
            local_host: Arc::clone(&local_host),
            reachable: Arc::clone(&self.reachable),
            seeds,
        };
        let pm = PeerManager::new(opts, ctx, self.rng.next_u64());
        let node_rng = ChaCha20Rng::seed_from_u64(self.rng.next_u64());
        let (up, down) = if listening {
            (self.cfg.listening_up_mbit, self.cfg.listening_down_mbit)
        } else {
            (self.cfg.outbound_up_mbit, self.cfg.outbound_down_mbit)
        };
        let mut dummy = ChaCha20Rng::seed_from_u64(0);
        let planner = OpenConnectionsPlanner::new(self.planner_config(), self.now, 0, &mut dummy);
        let dns = DnsSeedPlanner::new(
            DnsSeedConfig::default(),
            self.params.dns_seeds,
            self.params.seeds_services,
            self.now,
            &mut dummy,
        );
        self.nodes.push(SimNode {
            index,
            addr,
            listening,
            region,
            alive: false,
            attacker,
            delegate: false,
            silent,
            pm,
            addrman,
            banman,
            local_host,
            seeds,
            planner,
            plan_origin: self.now,
            plan_next: None,
            dns,
            dns_next: None,
            rng: node_rng,
            peers: Default::default(),
            next_id: 0,
            n_inbound: 0,
            up: Pipe::new(topology::bytes_per_sec(up)),
            down: Pipe::new(topology::bytes_per_sec(down)),
            scheduled_wake: None,
            record: NodeRecord {
                node: index,
                listening,
                region,
                attacker,
                ..NodeRecord::default()
            },
        });
        self.hops.iter_mut().for_each(|h| h.push(u16::MAX));
        self.accepts.iter_mut().for_each(|a| a.push(0));
        if listening {
            self.by_addr.insert(addr, index);
        }
        index
    }

    fn planner_config(&self) -> OpenConnectionsConfig {
        OpenConnectionsConfig {
            max_automatic_connections: self.cfg.max_connections,
            ..OpenConnectionsConfig::default()
        }
    }

    /// A converged snapshot: each address manager holds `snapshot_addresses` listening
    /// addresses, in tried (as after the node had connected to each once).
    fn fill_snapshot(&mut self, listening: usize) {
        let now_secs = self.now / 1_000_000;
        let services = self.params.seeds_services;
        for i in 0..self.nodes.len() {
            let others = listening - usize::from(i < listening);
            let want = self.cfg.snapshot_addresses.min(others);
            // `want` distinct listening nodes other than `i` (a partial Fisher-Yates shuffle).
            let mut pool: Vec<usize> = (0..listening).filter(|&j| j != i).collect();
            for k in 0..want {
                let r = k + topology::below(&mut self.rng, (pool.len() - k) as u64) as usize;
                pool.swap(k, r);
            }
            for &j in &pool[..want] {
                let addr = self.nodes[j].addr;
                let age = topology::below(&mut self.rng, 3 * 3600) as i64;
                let src = self.nodes[topology::below(&mut self.rng, listening as u64) as usize]
                    .addr
                    .addr;
                let a = CAddress::new(addr, services, now_secs - age);
                let am = &self.nodes[i].addrman;
                am.add(&[a], &src, 0);
                am.good(&addr, now_secs - age);
            }
        }
    }

    /// Turns node `i` on: fresh timers for the planner and the DNS seed planner.
    fn start_node(&mut self, i: u32) {
        let cfg = self.planner_config();
        let now = self.now;
        let n = &mut self.nodes[i as usize];
        n.alive = true;
        let size = n.addrman.size(None, None);
        n.planner = OpenConnectionsPlanner::new(cfg, now, size, &mut n.rng);
        n.dns = DnsSeedPlanner::new(
            DnsSeedConfig::default(),
            self.params.dns_seeds,
            self.params.seeds_services,
            now,
            &mut n.rng,
        );
        // Threads start a little apart.
        let jitter = topology::below(&mut n.rng, PLAN_INTERVAL as u64) as i64;
        n.plan_origin = now + jitter;
        n.plan_next = if n.attacker { None } else { Some(now + jitter) };
        n.dns_next = if n.attacker { None } else { Some(now) };
        self.reschedule(i);
    }

    // ----- the event queue -----------------------------------------------------------------

    fn push(&mut self, t: i64, ev: Ev) {
        self.seq += 1;
        self.queue.push(Reverse(Item {
            t: t.max(self.now),
            seq: self.seq,
            ev,
        }));
    }

    /// Queue node `i`'s next wake-up if it is earlier than the one queued.
    fn reschedule(&mut self, i: u32) {
        let n = &self.nodes[i as usize];
        if !n.alive {
            return;
        }
        let want = [n.pm.next_deadline(), n.plan_next, n.dns_next]
            .into_iter()
            .flatten()
            .min();
        if let Some(w) = want {
            let w = w.max(self.now);
            if n.scheduled_wake.is_none_or(|s| w < s) {
                self.nodes[i as usize].scheduled_wake = Some(w);
                self.push(w, Ev::Wake { node: i });
            }
        }
    }

    fn run_until_end(&mut self, progress: &mut dyn FnMut(Progress)) {
        let mut last_report = std::time::Instant::now();
        while let Some(Reverse(item)) = self.queue.pop() {
            if item.t > self.end {
                self.now = self.end;
                break;
            }
            self.now = item.t;
            self.clock.set(self.now);
            if !self.measuring && self.now >= self.workload_start {
                self.start_measuring();
            }
            self.events += 1;
            self.handle(item.ev);
            if self.events.is_multiple_of(65_536) && last_report.elapsed().as_millis() >= 200 {
                last_report = std::time::Instant::now();
                progress(Progress {
                    t_secs: (self.now - T0) as f64 / 1e6,
                    end_secs: (self.end - T0) as f64 / 1e6,
                    events: self.events,
                });
            }
        }
        if !self.measuring {
            self.start_measuring();
        }
        progress(Progress {
            t_secs: (self.end - T0) as f64 / 1e6,
            end_secs: (self.end - T0) as f64 / 1e6,
            events: self.events,
        });
    }

    /// The warm-up is over: record the degrees and count from now on.
    fn start_measuring(&mut self) {
        self.measuring = true;
        for n in &mut self.nodes {
            n.record.outbound = n
                .peers
                .values()
                .filter(|p| p.conn_type.is_full_outbound_conn() && p.successfully_connected)
                .count() as u32;
            n.record.inbound = n
                .peers
                .values()
                .filter(|p| p.conn_type == ConnectionType::Inbound && p.successfully_connected)
                .count() as u32;
        }
    }

    fn handle(&mut self, ev: Ev) {
        match ev {
            Ev::Arrive { link, to, wire } => self.on_arrive(link, to, wire),
            Ev::Process { link, to, wire } => self.on_process(link, to, wire),
            Ev::Wake { node } => self.on_wake(node),
            Ev::Connect(d) => self.on_connect(d.from, d.addr, d.conn_type),
            Ev::Verdict { node, frame } => {
                let id = self.frames[frame as usize].hash;
                if self.nodes[node as usize].alive {
                    self.answer(node, id);
                    self.pump(node);
                }
            }
            Ev::Originate { msg } => self.originate(msg),
            Ev::LinkLoss { link } => self.close(link as usize),
            Ev::Leave => self.churn_leave(),
            Ev::Join => self.churn_join(),
            Ev::Partition { cut } => self.partition(cut),
            Ev::EclipseAttack => self.eclipse_attack(),
            Ev::EclipseRestart => self.eclipse_restart(),
            Ev::EclipseSample => self.eclipse_sample(),
        }
    }

    // ----- messages ------------------------------------------------------------------------

    /// Put `wire` on node `i`'s uplink towards its peer `id`.
    fn transmit(&mut self, i: u32, id: NodeId, wire: Wire) {
        let Some(p) = self.nodes[i as usize].peers.get(&id) else {
            return;
        };
        let (link, end) = (p.link as usize, p.end as usize);
        if !self.links[link].open {
            return;
        }
        let bytes = wire.wire_bytes();
        let now = self.now;
        let n = &mut self.nodes[i as usize];
        let done = n.up.push(now, bytes);
        if self.measuring {
            if wire.is_logos() {
                n.record.payload_up += bytes;
            } else {
                n.record.control_up += bytes;
            }
        }
        self.links[link].ends[end].push(done, bytes);
        let at = done + self.links[link].latency;
        self.push(
            at,
            Ev::Arrive {
                link: link as u32,
                to: (1 - end) as u8,
                wire,
            },
        );
    }

    fn on_arrive(&mut self, link: u32, to: u8, wire: Wire) {
        let l = &self.links[link as usize];
        if !l.open {
            return;
        }
        let node = l.ends[to as usize].node;
        let done = self.nodes[node as usize]
            .down
            .push(self.now, wire.wire_bytes());
        self.push(done, Ev::Process { link, to, wire });
    }

    fn on_process(&mut self, link: u32, to: u8, wire: Wire) {
        let l = &self.links[link as usize];
        if !l.open {
            return;
        }
        let (i, id) = (l.ends[to as usize].node, l.ends[to as usize].id);
        let now = self.now;
        let measuring = self.measuring;
        let params = self.params;
        let n = &mut self.nodes[i as usize];
        if measuring {
            let bytes = wire.wire_bytes();
            if wire.is_logos() {
                n.record.payload_down += bytes;
                n.record.copies += 1;
            } else {
                n.record.control_down += bytes;
            }
        }
        let msg = match wire {
            Wire::Control { m_type, payload } => {
                let payload = Arc::try_unwrap(payload).unwrap_or_else(|a| (*a).clone());
                CNetMessage::from_payload(
                    params.message_start,
                    params.hash_kind,
                    m_type,
                    payload,
                    now,
                )
            }
            Wire::Logos { frame, .. } => {
                let f = &self.frames[frame as usize];
                CNetMessage::shared_logos(Arc::clone(&f.payload), f.hash, f.header, now)
            }
        };
        if let Some(p) = n.peers.get_mut(&id) {
            p.held.push_back(msg);
        }
        self.process_held(i, id);
        self.reschedule(i);
    }

    /// Feed node `i` its peer's held messages while it will take them, each followed by
    /// `send_messages` (one ProcessMessages pass each).
    fn process_held(&mut self, i: u32, id: NodeId) {
        loop {
            let n = &mut self.nodes[i as usize];
            if !n.pm.ready_to_process(id) {
                return;
            }
            let Some(msg) = n.peers.get_mut(&id).and_then(|p| p.held.pop_front()) else {
                return;
            };
            let now = self.now;
            n.pm.process_message(id, msg, now);
            self.pump(i);
            self.send_messages(i, id);
        }
    }

    fn send_messages(&mut self, i: u32, id: NodeId) {
        let Some(p) = self.nodes[i as usize].peers.get(&id) else {
            return;
        };
        let (link, end) = (p.link as usize, p.end as usize);
        let paused = self.links[link].ends[end].queued_bytes(self.now) > MAX_SEND_BUFFER;
        let now = self.now;
        self.nodes[i as usize].pm.send_messages(id, now, paused);
        self.pump(i);
    }

    /// Carry out node `i`'s outputs, in order.
    fn pump(&mut self, i: u32) {
        while let Some(out) = self.nodes[i as usize].pm.poll_output() {
            match out {
                Output::Send { peer, msg } => {
                    let Some(m) = SerializedNetMsg::from_message(&msg) else {
                        continue;
                    };
                    self.transmit(
                        i,
                        peer,
                        Wire::Control {
                            m_type: m.m_type,
                            payload: m.data,
                        },
                    );
                }
                Output::SendLogos {
                    peer,
                    payload,
                    header,
                    kind,
                } => self.send_logos(i, peer, payload, header, kind),
                Output::Deliver {
                    peer, id, payload, ..
                } => self.deliver(i, peer, id, &payload),
                Output::Disconnect { peer, reason } => {
                    log::debug!(target: "sim", "node {i} drops peer {peer}: {reason:?}");
                    if let Some(p) = self.nodes[i as usize].peers.get(&peer) {
                        let link = p.link as usize;
                        self.close(link);
                    }
                }
                Output::DisconnectSubnet { subnet } => {
                    let hit: Vec<usize> = self.nodes[i as usize]
                        .peers
                        .values()
                        .filter(|p| subnet.matches(&p.addr.addr))
                        .map(|p| p.link as usize)
                        .collect();
                    for link in hit {
                        self.close(link);
                    }
                }
                Output::Update { peer, update } => {
                    let n = &mut self.nodes[i as usize];
                    let Some(p) = n.peers.get_mut(&peer) else {
                        continue;
                    };
                    match update {
                        NodeUpdate::Version {
                            has_all_wanted_services,
                            relays_txs,
                            ..
                        } => {
                            p.relevant_services = has_all_wanted_services;
                            p.relays_txs = relays_txs;
                        }
                        NodeUpdate::SuccessfullyConnected => p.successfully_connected = true,
                        NodeUpdate::PongReceived(rtt) => p.min_ping = p.min_ping.min(rtt),
                        NodeUpdate::LogosAccepted(secs) => p.last_logos = secs,
                    }
                }
            }
        }
    }

    fn send_logos(
        &mut self,
        i: u32,
        peer: NodeId,
        payload: Arc<Vec<u8>>,
        header: [u8; 24],
        kind: LogosSend,
    ) {
        let Some(p) = self.nodes[i as usize].peers.get(&peer) else {
            return;
        };
        let (link, end) = (p.link as usize, p.end as usize);
        // A silent node announces and never delivers: not what is asked, nor pushes.
        if kind != LogosSend::Own && self.nodes[i as usize].silent {
            return;
        }
        let limit = match kind {
            LogosSend::Relay { .. } | LogosSend::Requested => Some(MAX_SEND_BUFFER),
            LogosSend::Own => Some(MAX_SEND_BUFFER.max(MAX_OWN_BACKLOG)),
            LogosSend::CatchUp => None,
        };
        if limit.is_some_and(|l| self.links[link].ends[end].queued_bytes(self.now) > l) {
            log::debug!(target: "sim", "node {i}: logos to peer {peer} dropped (send queue full)");
            return;
        }
        let bytes = (payload.len() + header.len()) as u32;
        let frame = self.frame_of(payload, header);
        self.transmit(i, peer, Wire::Logos { frame, bytes });
    }

    /// The frame of a payload the peer manager sends: the workload's are known (same shared
    /// buffer); anything else gets a new frame.
    fn frame_of(&mut self, payload: Arc<Vec<u8>>, header: [u8; 24]) -> u32 {
        if payload.len() >= 8 {
            let idx = u64::from_le_bytes(payload[..8].try_into().unwrap_or([0; 8])) as usize;
            if let Some(f) = self.frames.get(idx) {
                if Arc::ptr_eq(&f.payload, &payload) {
                    return idx as u32;
                }
            }
        }
        let hash = self.params.hash_kind.hash(&payload);
        self.frames.push(Frame {
            payload,
            hash,
            header,
        });
        (self.frames.len() - 1) as u32
    }

    /// The upper layer gets a new payload: record its first arrival, then answer after the
    /// verify time.
    fn deliver(&mut self, i: u32, peer: NodeId, id: [u8; 32], _payload: &[u8]) {
        let msg = self.payloads.get(&id).map(|p| p.msg);
        if let Some(m) = msg {
            let from = self.nodes[i as usize].peers.get(&peer).map(|p| {
                let l = &self.links[p.link as usize];
                l.ends[1 - p.end as usize].node
            });
            let hops = from
                .map(|f| self.hops[m as usize][f as usize])
                .filter(|&h| h != u16::MAX)
                .map_or(1, |h| h + 1);
            if self.hops[m as usize][i as usize] == u16::MAX {
                self.hops[m as usize][i as usize] = hops;
                let rec = &mut self.messages[m as usize];
                if !self.nodes[i as usize].attacker {
                    rec.arrivals.push(Arrival {
                        node: i,
                        delay_us: self.now - (self.workload_start + rec.sent_us),
                        hops: u32::from(hops),
                    });
                    self.nodes[i as usize].record.delivered += 1;
                }
            }
        }
        let verify = (self.cfg.verify_ms * 1000.0) as i64;
        if let (Some(frame), true) = (msg, verify > 0) {
            self.push(self.now + verify, Ev::Verdict { node: i, frame });
        } else {
            self.answer(i, id);
        }
    }

    /// Node `i`'s upper layer answers on payload `id` once its verify time is over: a payload
    /// outside the workload or drawn invalid is ignored; one whose dependency the node has
    /// not accepted yet is `Pending` on it; any other is accepted (and counted).
    fn answer(&mut self, i: u32, id: [u8; 32]) {
        let verdict = match self.payloads.get(&id) {
            Some(p) if p.valid => match p.depends_on {
                Some(d) if self.accepts[d as usize][i as usize] == 0 => {
                    Verdict::Pending(vec![self.frames[d as usize].hash])
                }
                _ => {
                    let m = p.msg as usize;
                    let a = &mut self.accepts[m][i as usize];
                    *a = a.saturating_add(1);
                    if !self.nodes[i as usize].attacker {
                        let rec = &mut self.messages[m];
                        if *a == 1 {
                            rec.accepted += 1;
                        } else {
                            rec.accepted_again += 1;
                        }
                    }
                    Verdict::Accept
                }
            },
            _ => Verdict::Ignore,
        };
        let now = self.now;
        self.nodes[i as usize]
            .pm
            .deliver_verdict(id, verdict, false, now);
    }

    // ----- timers --------------------------------------------------------------------------

    fn on_wake(&mut self, i: u32) {
        let n = &mut self.nodes[i as usize];
        if !n.alive || n.scheduled_wake != Some(self.now) {
            return;
        }
        n.scheduled_wake = None;
        let now = self.now;
        if n.pm.next_deadline().is_some_and(|d| d <= now) {
            let mut due = Vec::new();
            n.pm.due_peers(now, &mut due);
            for id in due {
                self.send_messages(i, id);
                self.process_held(i, id);
            }
        }
        if self.nodes[i as usize].dns_next.is_some_and(|d| d <= now) {
            self.poll_dns(i);
        }
        if self.nodes[i as usize].plan_next.is_some_and(|d| d <= now) {
            self.plan(i);
        }
        self.reschedule(i);
    }

    /// One step of Core's `ThreadDNSAddressSeed`: queries are answered by the simulated seed
    /// with listening nodes that are up.
    fn poll_dns(&mut self, i: u32) {
        let now = self.now;
        for _ in 0..16 {
            let n = &mut self.nodes[i as usize];
            let inputs = DnsSeedInputs {
                addrman_size: n.addrman.size(None, None),
                full_outbound: n.full_outbound(),
                network_active: true,
            };
            match n.dns.poll(now, inputs) {
                DnsSeedAction::Wait { until_micros } => {
                    n.dns_next = Some(until_micros);
                    return;
                }
                DnsSeedAction::Finished => {
                    n.dns_next = None;
                    return;
                }
                DnsSeedAction::AddrFetch { .. } => {}
                DnsSeedAction::Query { .. } => {
                    let answer = self.dns_answer(i);
                    let n = &mut self.nodes[i as usize];
                    match n.dns.on_lookup(
                        &answer,
                        self.params.default_port,
                        now / 1_000_000,
                        &mut n.rng,
                    ) {
                        SeedLookupOutcome::Add { addrs, source } => {
                            n.addrman.add(&addrs, &source, 0);
                        }
                        SeedLookupOutcome::AddrFetch { .. } => {}
                    }
                    // The answer takes a moment; the planner polls again then.
                    n.dns_next = Some(now + DNS_DELAY);
                    return;
                }
            }
        }
    }

    /// What the simulated DNS seed answers node `i`: random listening honest nodes that are up.
    fn dns_answer(&mut self, i: u32) -> Vec<CNetAddr> {
        let candidates: Vec<u32> = self
            .nodes
            .iter()
            .filter(|n| n.listening && n.alive && !n.attacker && n.index != i)
            .map(|n| n.index)
            .collect();
        let mut out = Vec::new();
        if candidates.is_empty() {
            return out;
        }
        for _ in 0..DNS_ANSWER_SIZE.min(candidates.len()) {
            let j = topology::below(&mut self.rng, candidates.len() as u64) as usize;
            let a = self.nodes[candidates[j] as usize].addr.addr;
            if !out.contains(&a) {
                out.push(a);
            }
        }
        out
    }

    /// One pass of Core's `ThreadOpenConnections` for node `i`.
    fn plan(&mut self, i: u32) {
        let now = self.now;
        let params = self.params;
        let netgroupman = &self.netgroupman;
        let reachable = &self.reachable;
        let n = &mut self.nodes[i as usize];
        // Core's loop holds a semOutbound grant per outbound connection.
        if n.outbound_total() as i32 >= MAX_AUTOMATIC_OUTBOUND {
            n.plan_next = Some(grid(n.plan_origin, now + 1));
            return;
        }
        let snapshot = n.outbound_snapshot();
        let out = {
            let local_host = Arc::clone(&n.local_host);
            let is_local = |a: &CService| local_host.is_local(a);
            let added = |_: &CAddress| false;
            let connected = |a: &CAddress| snapshot.iter().any(|p| p.addr.addr == a.service.addr);
            let ctx = PlanContext {
                addrman: &n.addrman,
                netgroupman,
                reachable,
                params,
                is_local: &is_local,
                added_nodes_contain: &added,
                added_node_params_empty: true,
                already_connected_to_address: &connected,
            };
            n.planner.plan(now, &snapshot, &ctx, &mut n.rng)
        };
        match out.connect {
            Some(a)
                if {
                    // Core's OpenNetworkConnection refuses our own address, a banned or
                    // discouraged one, and an IP we are connected to in either direction.
                    let ip = &a.addr.service.addr;
                    n.local_host.is_local(&a.addr.service)
                        || n.banman.is_banned(ip)
                        || n.banman.is_discouraged(ip)
                        || n.connected_to_ip(ip)
                } =>
            {
                n.plan_next = Some(grid(n.plan_origin, now + 1));
            }
            Some(a) => {
                // Core's ConnectNode: Attempt first, then the dial.
                n.addrman
                    .attempt(&a.addr.service, a.count_failures, now / 1_000_000);
                n.plan_next = None;
                let at = now + a.sleep_before_micros;
                self.dial(i, a.addr, a.conn_type, at);
            }
            None => {
                // Nothing due: with the full-relay slots filled, the next pass that can do
                // something is the first after the feeler timer (or after a connection drops).
                let full = n.full_outbound();
                let next = if full >= net::open_connections::MAX_OUTBOUND_FULL_RELAY_CONNECTIONS {
                    n.planner.next_feeler.max(now + 1)
                } else {
                    now + 1
                };
                n.plan_next = Some(grid(n.plan_origin, next));
            }
        }
    }

    /// The first pass of node `i`'s 500 ms grid at or after `t`.
    fn next_grid(&self, i: u32, t: i64) -> i64 {
        grid(self.nodes[i as usize].plan_origin, t)
    }

    /// Node `i` dials `addr` at `at`: the result comes one round trip later (or after the
    /// connect timeout when nobody answers).
    fn dial(&mut self, i: u32, addr: CAddress, conn_type: ConnectionType, at: i64) {
        let target = self.reachable_target(i, &addr.service);
        let when = match target {
            Some(j) => {
                let a = &self.nodes[i as usize];
                let b = &self.nodes[j as usize];
                let rtt = i64::from(topology::RTT_MS[a.region as usize][b.region as usize]) * 1000;
                at + rtt
            }
            None => at + CONNECT_TIMEOUT,
        };
        self.push(
            when,
            Ev::Connect(Box::new(Dial {
                from: i,
                addr,
                conn_type,
            })),
        );
    }

    /// The node answering a dial from `i` to `addr`, if any (up, listening, same side of a
    /// partition).
    fn reachable_target(&self, i: u32, addr: &CService) -> Option<u32> {
        let &j = self.by_addr.get(addr)?;
        let n = &self.nodes[j as usize];
        if !n.alive || j == i {
            return None;
        }
        if let Some(side) = &self.cut {
            if side[i as usize] != side[j as usize] {
                return None;
            }
        }
        Some(j)
    }

    fn on_connect(&mut self, i: u32, addr: CAddress, conn_type: ConnectionType) {
        if !self.nodes[i as usize].alive {
            return;
        }
        let target = self.reachable_target(i, &addr.service);
        let own = self.nodes[i as usize].addr.addr;
        let ok = target.is_some_and(|j| self.admit(j, &own));
        if let (true, Some(j)) = (ok, target) {
            let from = self.ephemeral(self.nodes[i as usize].addr.addr);
            self.open_link(i, from, j, addr, conn_type);
        } else {
            log::debug!(target: "sim", "node {i}: connection to {} failed", addr.service.to_string_addr_port());
        }
        let now = self.now;
        if !self.nodes[i as usize].attacker {
            self.nodes[i as usize].plan_next = Some(self.next_grid(i, now + 1));
        }
        self.reschedule(i);
    }

    /// Core's `m_max_inbound`.
    fn max_inbound(&self) -> i32 {
        (self.cfg.max_connections as i32 - MAX_AUTOMATIC_OUTBOUND).max(0)
    }

    /// Inbound admission at node `j` of a connection from `from` (Core's
    /// CreateNodeFromAcceptedSocket): evicts first when the slots are full.
    fn admit(&mut self, j: u32, from: &CNetAddr) -> bool {
        let n = &self.nodes[j as usize];
        if !n.listening {
            return false;
        }
        let facts = InboundFacts {
            network_active: true,
            noban: false,
            banned: n.banman.is_banned(from),
            discouraged: n.banman.is_discouraged(from),
            n_inbound: n.n_inbound,
            max_inbound: self.max_inbound(),
        };
        match inbound_admission(&facts, "") {
            Admission::Admit => true,
            Admission::Refuse(_) => false,
            Admission::EvictFirst => {
                match net::eviction::select_node_to_evict(n.eviction_candidates()) {
                    Some(victim) => {
                        let link = n.peers[&victim].link as usize;
                        self.close(link);
                        true
                    }
                    None => false,
                }
            }
        }
    }

    fn ephemeral(&mut self, ip: CNetAddr) -> CService {
        self.next_port = if self.next_port >= 65_000 {
            1024
        } else {
            self.next_port + 1
        };
        CService::new(ip, self.next_port)
    }

    /// Opens a connection from node `i` (seen as `from`) to node `j` (dialled as `to`).
    fn open_link(
        &mut self,
        i: u32,
        from: CService,
        j: u32,
        to: CAddress,
        conn_type: ConnectionType,
    ) {
        let link = self.links.len() as u32;
        let now = self.now;
        let services = protocol::ServiceFlags::NODE_NONE;
        let id_i = self.attach(i, link, 0, to, self.nodes[i as usize].addr, conn_type);
        let id_j = self.attach(
            j,
            link,
            1,
            CAddress::new(from, services, 0),
            to.service,
            ConnectionType::Inbound,
        );
        let (ri, rj) = (
            self.nodes[i as usize].region as usize,
            self.nodes[j as usize].region as usize,
        );
        let latency = topology::link_latency_us(ri as u8, rj as u8, &mut self.rng);
        self.links.push(Link {
            ends: [LinkEnd::new(i, id_i), LinkEnd::new(j, id_j)],
            latency,
            open: true,
        });
        if self.cfg.conn_loss_per_hour > 0.0 {
            let mean = 3600e6 / self.cfg.conn_loss_per_hour;
            let at = now + topology::exp_us(&mut self.rng, mean);
            if at < self.end {
                self.push(at, Ev::LinkLoss { link });
            }
        }
        for (n, id) in [(i, id_i), (j, id_j)] {
            let local_nonce = self.rng.next_u64();
            let node = &mut self.nodes[n as usize];
            let conn = ConnectionInfo {
                id,
                addr: node.peers[&id].addr_info(),
                addr_bind: node.addr,
                conn_type: node.peers[&id].conn_type,
                permissions: net::net_permissions::NetPermissionFlags::NONE,
                local_nonce,
                connected: now / 1_000_000,
            };
            node.pm.initialize_node(conn, now);
            self.reschedule(n);
        }
    }

    /// Gives node `n` a connection on `link` (end `end`) to `other`; returns its id.
    fn attach(
        &mut self,
        n: u32,
        link: u32,
        end: u8,
        other: CAddress,
        _own: CService,
        conn_type: ConnectionType,
    ) -> NodeId {
        let keyed = self.nodes[n as usize].keyed_net_group(&self.netgroupman, &other.service);
        let now_secs = self.now / 1_000_000;
        let node = &mut self.nodes[n as usize];
        let id = node.next_id;
        node.next_id += 1;
        if conn_type == ConnectionType::Inbound {
            node.n_inbound += 1;
        }
        let prefer_evict =
            conn_type == ConnectionType::Inbound && node.banman.is_discouraged(&other.service.addr);
        node.peers.insert(
            id,
            SimPeer {
                link,
                end,
                conn_type,
                addr: other.service,
                services: other.n_services,
                connected_secs: now_secs,
                successfully_connected: false,
                min_ping: i64::MAX,
                last_logos: 0,
                relevant_services: false,
                relays_txs: false,
                keyed_group: keyed,
                prefer_evict,
                held: Default::default(),
            },
        );
        id
    }

    /// Closes `link`: both ends are finalized (Core's socket close, then FinalizeNode).
    fn close(&mut self, link: usize) {
        if !self.links[link].open {
            return;
        }
        self.links[link].open = false;
        let now = self.now;
        for e in 0..2 {
            let (n, id) = (self.links[link].ends[e].node, self.links[link].ends[e].id);
            let node = &mut self.nodes[n as usize];
            if let Some(p) = node.peers.remove(&id) {
                if p.conn_type == ConnectionType::Inbound {
                    node.n_inbound -= 1;
                } else if node.plan_next.is_none() && !node.attacker && node.alive {
                    // A dial may be out; the planner resumes after it.
                } else if !node.attacker && node.alive {
                    let next = self.next_grid(n, now + 1);
                    let node = &mut self.nodes[n as usize];
                    node.plan_next = Some(node.plan_next.map_or(next, |p| p.min(next)));
                }
            }
            let node = &mut self.nodes[n as usize];
            node.pm.finalize_node(id, now);
            self.pump(n);
            self.reschedule(n);
        }
        // Free the queue memory of a closed link.
        self.links[link].ends[0] = LinkEnd::new(self.links[link].ends[0].node, -1);
        self.links[link].ends[1] = LinkEnd::new(self.links[link].ends[1].node, -1);
    }

    // ----- workload ------------------------------------------------------------------------

    fn schedule_workload(&mut self) {
        let interval = 1e6 / self.cfg.rate;
        let mut filler = ChaCha20Rng::seed_from_u64(self.cfg.seed ^ 0x6c6f_676f_735f_7061);
        // Its own stream, so runs without dependents draw what they drew before.
        let mut deps = ChaCha20Rng::seed_from_u64(self.cfg.seed ^ 0x6465_7065_6e64_7321);
        for m in 0..self.cfg.messages {
            let sent_us = (m as f64 * interval) as i64;
            let mut payload = vec![0u8; self.cfg.size.max(8)];
            filler.fill_bytes(&mut payload);
            payload[..8].copy_from_slice(&(m as u64).to_le_bytes());
            payload.truncate(self.cfg.size.max(8));
            let hash = self.params.hash_kind.hash(&payload);
            let valid = topology::chance(&mut self.rng, self.cfg.accept_ratio);
            let depends_on = (m + 1 < self.cfg.messages
                && self.cfg.pending_share > 0.0
                && topology::chance(&mut deps, self.cfg.pending_share))
            .then_some(m as u32 + 1);
            self.payloads.insert(
                hash,
                Payload {
                    msg: m as u32,
                    valid,
                    depends_on,
                },
            );
            self.messages.push(MessageRecord {
                index: m,
                origin: 0,
                size: payload.len(),
                sent_us,
                arrivals: Vec::new(),
                targets: 0,
                depends_on: depends_on.map(|d| d as usize),
                ..MessageRecord::default()
            });
            self.hops.push(vec![u16::MAX; self.nodes.len()]);
            self.accepts.push(vec![0; self.nodes.len()]);
            let header = protocol::MessageHeader::frame(
                self.params.message_start,
                protocol::message::net_msg_type::LOGOS,
                payload.len(),
                &hash,
            )
            .to_bytes();
            self.frames.push(Frame {
                payload: Arc::new(payload),
                hash,
                header,
            });
            self.push(
                self.workload_start + sent_us,
                Ev::Originate { msg: m as u32 },
            );
        }
    }
}

/// The first pass of a 500 ms grid starting at `origin` at or after `t`.
fn grid(origin: i64, t: i64) -> i64 {
    let k = (t - origin + PLAN_INTERVAL - 1).div_euclid(PLAN_INTERVAL);
    origin + k * PLAN_INTERVAL
}

/// How many of `nodes` listen (see [`topology::listening_count`]).
pub fn listening_count(nodes: usize, inbound_share: f64) -> usize {
    topology::listening_count(nodes, inbound_share)
}
