//! The loopback backend: the scenario of a [`SimConfig`] run by real nodes in this process,
//! each a real [`CConnman`] (Core's threads, mio sockets on 127.0.0.1, the real planner, peer
//! manager, address manager and ban manager) in real time, to check the simulator against
//! reality. About a hundred nodes at most; it fills the same [`RunResult`] as the simulator.
//!
//! Network safety: every node runs with the loopback-only guard
//! ([`net::connector::LoopbackOnly`]), listens on `127.0.0.1:0` and dials only through the
//! `SimConnector` below, which knows nothing but the run's own listeners; every loop is
//! bounded in count and in real time; every node is stopped (threads joined) on every path out.
//!
//! The network is built as the simulator builds it:
//! - the same nodes, regions and routable addresses (the simulator's first draws from
//!   `ChaCha20Rng::seed_from_u64(seed)`, [`crate::topology::AddressPlan`]), the same listening
//!   set ([`crate::engine::listening_count`]: the first nodes listen), the same network
//!   parameters (Logos main with the simulated DNS seed and fixed seeds);
//! - a listening node advertises its simulated address (`-externalip`), an outbound-only node
//!   does not listen;
//! - the connector maps each simulated listening address to that node's real loopback
//!   listener. Each node dials from its own loopback address (`127.1.x.y`), which listeners map
//!   back to the dialler's simulated IP ([`net::Connector::inbound_addr`]): a node sees each
//!   peer under its simulated IP in both directions, so the planner's "already connected to
//!   this IP" and "one outbound per /16 group" rules, inbound eviction and the peers' net
//!   groups bite as in the simulator;
//! - [`Bootstrap::Snapshot`]: each address manager starts with `min(snapshot_addresses,
//!   listening - 1)` other listening addresses in tried, then the real planner connects;
//!   [`Bootstrap::Seeds`]: the nodes' DNS-seed thread asks `SeedResolver`, which answers
//!   with listening addresses as the simulator's seed does (the fixed seeds, the simulator's
//!   list, only matter to an address manager still empty after 60 s).
//!
//! Measuring: each node's upper layer records the first arrival of every workload payload and
//! the peer it came from ([`net::MessageSource`], mapped to a node by its simulated IP); hops
//! are the sender's hops plus one (the originator: 0). Copies and bytes come from the
//! per-peer counters Core keeps for `getpeerinfo` (`mapRecvBytesPerMsgType` /
//! `mapSendBytesPerMsgType`, `nRecvBytes` / `nSendBytes`), read every [`POLL_INTERVAL`] during
//! the workload and drain: a node's figure is the sum over its connections of the last value
//! read minus the value at the start of the workload (so a connection closed between two
//! reads loses at most one interval). Copies are `logos` bytes received over the size of one
//! framed payload.
//!
//! Differences from the simulator, on purpose: no bandwidth or latency model (loopback is
//! fast, so latencies and hop counts are those of the machine, not of the regions); the
//! warm-up ends as soon as every node has filled the outbound slots it can fill (bounded by
//! `min(warmup_secs, 30 s)`), and the drain as soon as every node has every accepted payload
//! and the `logos` traffic has stopped (bounded by `min(drain_secs, 30 s)` plus
//! [`QUIESCE_BOUND`]); the upper layer's verify time is a sleep in the receive callback (on the
//! node's message-handler thread, as a synchronous upper layer would take it), capped at
//! [`MAX_VERIFY`]. Only the propagation scenario, without connection loss, is supported.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Condvar, Mutex, RwLock};
use std::time::{Duration, Instant};

use addrman::banman::{BanMan, MemoryBanDb};
use addrman::AddrMan;
use net::connman::SharedResolver;
use net::dnsseed::DnsResolver;
use net::peerman::FloodOptions;
use net::{CConnman, Connector, MessageSource, NodeId, Options, UpperLayer};
use netbase::{CNetAddr, CService, NetGroupManager};
use protocol::header::HEADER_SIZE;
use protocol::message::net_msg_type;
use protocol::{CAddress, Chain, NetworkParams};
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};

use crate::config::{Bootstrap, Scenario, SimConfig};
use crate::metrics::{Arrival, MessageRecord, NodeRecord, RunResult};
use crate::topology;

/// Most nodes the loopback backend runs (as [`SimConfig::validate`] allows).
pub const MAX_LOOPBACK_NODES: usize = 150;
/// Longest real warm-up, whatever `warmup_secs` says.
pub const MAX_WARMUP: Duration = Duration::from_secs(30);
/// Longest real drain after the last payload, whatever `drain_secs` says.
pub const MAX_DRAIN: Duration = Duration::from_secs(30);
/// Longest workload (messages / rate), real seconds.
pub const MAX_WORKLOAD_SECS: f64 = 600.0;
/// After the drain, how long the run waits at most for the last duplicate copies.
pub const QUIESCE_BOUND: Duration = Duration::from_secs(5);
/// How often the per-peer byte counters are read.
pub const POLL_INTERVAL: Duration = Duration::from_millis(100);
/// Longest verify sleep in the receive callback.
pub const MAX_VERIFY: Duration = Duration::from_millis(100);
/// How long the nodes' dialler and DNS seed wait for every listener to be up.
const READY_BOUND: Duration = Duration::from_secs(30);
/// Outbound full-relay connections a node opens at most (Core's
/// `MAX_OUTBOUND_FULL_RELAY_CONNECTIONS`).
const MAX_FULL_OUTBOUND: usize = net::connman::MAX_OUTBOUND_FULL_RELAY_CONNECTIONS as usize;
use crate::engine::DNS_ANSWER_SIZE;
/// Salt of this backend's own random stream (snapshot picks, originators, verdicts), kept
/// apart from the draws it shares with the simulator.
const LOOPBACK_SALT: u64 = 0x6c6f_6f70_6261_636b;
/// Salt of the payload filler (the simulator's, so both backends send the same bytes).
const PAYLOAD_SALT: u64 = 0x6c6f_676f_735f_7061;

/// One node's place in the network: what the simulator gives the node of the same index.
type Spec = crate::topology::NodeSpec;

/// The loopback address node `i` dials from.
fn source_ip(i: usize) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 1, (i / 250) as u8, (i % 250 + 1) as u8))
}

/// What every node's connector and DNS seed know: the run's listeners and who dials from
/// where. The listeners' ports are known only once they are bound, so the diallers wait for
/// [`Self::open`] (bounded).
struct Directory {
    ready: Mutex<bool>,
    cv: Condvar,
    /// Simulated listening address → the node's real listener.
    listeners: RwLock<HashMap<CService, SocketAddr>>,
    /// A node's loopback source address → its simulated IP.
    sources: HashMap<IpAddr, CNetAddr>,
    /// Listening nodes and their simulated IPs (the DNS seed's answers).
    seeds: Vec<(u32, IpAddr)>,
}

impl Directory {
    fn wait_ready(&self) {
        let deadline = Instant::now() + READY_BOUND;
        let mut g = self.ready.lock().unwrap_or_else(|e| e.into_inner());
        while !*g {
            let now = Instant::now();
            if now >= deadline {
                return;
            }
            g = match self.cv.wait_timeout(g, deadline - now) {
                Ok((g, _)) => g,
                Err(e) => e.into_inner().0,
            };
        }
    }

    /// Let the diallers go (also on the error path, with whatever map there is).
    fn open(&self) {
        *self.ready.lock().unwrap_or_else(|e| e.into_inner()) = true;
        self.cv.notify_all();
    }
}

/// Not in Core: the dialler of one loopback node. It dials only the run's own listeners (an
/// address it does not know is not dialable), from the node's own loopback address, and names
/// inbound peers by their simulated IP. The node wraps it in the loopback-only guard.
struct SimConnector {
    source: IpAddr,
    dir: Arc<Directory>,
}

impl Connector for SimConnector {
    fn target(&self, addr: &CService) -> Option<SocketAddr> {
        self.dir.wait_ready();
        self.dir
            .listeners
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(addr)
            .copied()
    }

    fn source(&self) -> Option<IpAddr> {
        Some(self.source)
    }

    fn inbound_addr(&self, peer: SocketAddr) -> CService {
        match self.dir.sources.get(&peer.ip()) {
            Some(ip) => CService::new(*ip, peer.port()),
            None => CService::from_socket_addr(&peer),
        }
    }
}

/// Not in Core: the simulated DNS seed for one node: random listening nodes but itself, as the
/// simulator's seed answers.
struct SeedResolver {
    node: u32,
    dir: Arc<Directory>,
    rng: Mutex<ChaCha20Rng>,
}

impl DnsResolver for SeedResolver {
    fn lookup(&self, _host: &str) -> std::io::Result<Vec<IpAddr>> {
        self.dir.wait_ready();
        let candidates: Vec<IpAddr> = self
            .dir
            .seeds
            .iter()
            .filter(|(i, _)| *i != self.node)
            .map(|(_, ip)| *ip)
            .collect();
        let mut out = Vec::new();
        if candidates.is_empty() {
            return Ok(out);
        }
        let mut rng = self.rng.lock().unwrap_or_else(|e| e.into_inner());
        for _ in 0..DNS_ANSWER_SIZE.min(candidates.len()) {
            let j = topology::below(&mut rng, candidates.len() as u64) as usize;
            if !out.contains(&candidates[j]) {
                out.push(candidates[j]);
            }
        }
        Ok(out)
    }
}

/// A first arrival as the receive callback saw it.
#[derive(Clone, Copy, Debug)]
struct RawArrival {
    msg: u32,
    /// µs since [`Workload::t0`].
    at_us: i64,
    /// The peer it came from, as the node names it (its simulated IP).
    from: CNetAddr,
}

/// The workload as the upper layers see it.
struct Workload {
    t0: Instant,
    payload_len: usize,
    valid: Vec<bool>,
    verify: Duration,
    /// Per node, its first arrivals.
    arrivals: Vec<Mutex<Vec<RawArrival>>>,
    /// Per message, nodes it reached.
    reached: Vec<AtomicU32>,
}

impl Workload {
    fn index_of(&self, msg: &[u8]) -> Option<usize> {
        if msg.len() != self.payload_len || msg.len() < 8 {
            return None;
        }
        let mut b = [0u8; 8];
        b.copy_from_slice(&msg[..8]);
        let m = u64::from_le_bytes(b) as usize;
        (m < self.valid.len()).then_some(m)
    }

    fn now_us(&self) -> i64 {
        self.t0.elapsed().as_micros() as i64
    }
}

/// Not in Core: one node's upper layer: records first arrivals, waits the verify time, and
/// accepts the payloads the workload drew as valid (anything else is accepted).
struct Recorder {
    node: u32,
    work: Arc<Workload>,
}

impl UpperLayer for Recorder {
    fn receive_message(&self, msg: &[u8], from: &MessageSource) -> bool {
        let at_us = self.work.now_us();
        let Some(m) = self.work.index_of(msg) else {
            return true;
        };
        if let Ok(mut a) = self.work.arrivals[self.node as usize].lock() {
            a.push(RawArrival {
                msg: m as u32,
                at_us,
                from: from.addr.addr,
            });
        }
        self.work.reached[m].fetch_add(1, Ordering::SeqCst);
        if !self.work.verify.is_zero() {
            std::thread::sleep(self.work.verify);
        }
        self.work.valid[m]
    }
}

/// One running node.
struct LoopNode {
    spec: Spec,
    connman: CConnman,
}

/// Every node of the run; dropping it stops them all (interrupt all, then join each), so the
/// threads are gone on every path out of [`run_loopback`].
struct Fleet {
    nodes: Vec<LoopNode>,
    dir: Arc<Directory>,
}

impl Drop for Fleet {
    fn drop(&mut self) {
        self.dir.open();
        for n in &self.nodes {
            n.connman.interrupt();
        }
        for n in &self.nodes {
            n.connman.stop();
        }
    }
}

/// Byte counters of one connection (Core's `nSendBytes`, `nRecvBytes` and the `logos` entries
/// of `mapSendBytesPerMsgType` / `mapRecvBytesPerMsgType`).
#[derive(Clone, Copy, Debug, Default)]
struct Counters {
    sent: u64,
    recv: u64,
    sent_logos: u64,
    recv_logos: u64,
}

impl Counters {
    fn minus(self, o: Counters) -> Counters {
        Counters {
            sent: self.sent.saturating_sub(o.sent),
            recv: self.recv.saturating_sub(o.recv),
            sent_logos: self.sent_logos.saturating_sub(o.sent_logos),
            recv_logos: self.recv_logos.saturating_sub(o.recv_logos),
        }
    }

    fn plus(self, o: Counters) -> Counters {
        Counters {
            sent: self.sent + o.sent,
            recv: self.recv + o.recv,
            sent_logos: self.sent_logos + o.sent_logos,
            recv_logos: self.recv_logos + o.recv_logos,
        }
    }
}

/// The last counters read of every connection each node had, and their values at the start of
/// the workload.
struct Poller {
    last: Vec<HashMap<NodeId, Counters>>,
    base: Vec<HashMap<NodeId, Counters>>,
    at: Instant,
}

impl Poller {
    fn new(n: usize) -> Self {
        Poller {
            last: vec![HashMap::new(); n],
            base: vec![HashMap::new(); n],
            at: Instant::now(),
        }
    }

    /// Read every connection's counters (the node list is copied and let go at once: a held
    /// `CNode` would delay its finalization).
    fn poll(&mut self, nodes: &[LoopNode]) {
        for (i, n) in nodes.iter().enumerate() {
            for c in n.connman.nodes_snapshot() {
                let (sent, sent_logos) = {
                    let s = c.cs_v_send.lock();
                    let l = s
                        .map_send_bytes_per_msg_type
                        .get(net_msg_type::LOGOS)
                        .copied()
                        .unwrap_or(0);
                    (s.n_send_bytes, l)
                };
                let (recv, recv_logos) = {
                    let r = c.cs_v_recv.lock();
                    let l = r
                        .map_recv_bytes_per_msg_type
                        .get(net_msg_type::LOGOS)
                        .copied()
                        .unwrap_or(0);
                    (r.n_recv_bytes, l)
                };
                self.last[i].insert(
                    c.get_id(),
                    Counters {
                        sent,
                        recv,
                        sent_logos,
                        recv_logos,
                    },
                );
            }
        }
        self.at = Instant::now();
    }

    /// Poll if [`POLL_INTERVAL`] passed since the last read.
    fn maybe_poll(&mut self, nodes: &[LoopNode]) {
        if self.at.elapsed() >= POLL_INTERVAL {
            self.poll(nodes);
        }
    }

    /// The workload starts: what was read so far is the baseline.
    fn mark_baseline(&mut self, nodes: &[LoopNode]) {
        self.poll(nodes);
        self.base = self.last.clone();
    }

    /// Node `i`'s counters since the baseline.
    fn delta(&self, i: usize) -> Counters {
        self.last[i]
            .iter()
            .map(|(id, c)| c.minus(self.base[i].get(id).copied().unwrap_or_default()))
            .fold(Counters::default(), Counters::plus)
    }

    /// Every node's counters since the baseline, summed.
    fn total(&self) -> Counters {
        (0..self.last.len())
            .map(|i| self.delta(i))
            .fold(Counters::default(), Counters::plus)
    }
}

/// Whether node `i` has opened every outbound full-relay connection the planner can open:
/// 8, or one to (or a connection with) every other listening node but those in a /16 group it
/// already has an outbound peer in. Handshakes must be done.
fn saturated(
    i: usize,
    n: &LoopNode,
    listeners: &[(usize, CNetAddr, Vec<u8>)],
    netgroupman: &NetGroupManager,
) -> bool {
    let live: Vec<Arc<net::CNode>> = n
        .connman
        .nodes_snapshot()
        .into_iter()
        .filter(|p| !p.is_disconnecting())
        .collect();
    let full: Vec<&Arc<net::CNode>> = live.iter().filter(|p| p.is_full_outbound_conn()).collect();
    let done = |p: &&Arc<net::CNode>| p.f_successfully_connected.load(Ordering::SeqCst);
    if full.iter().filter(|p| done(p)).count() >= MAX_FULL_OUTBOUND {
        return true;
    }
    if !full.iter().all(done) {
        return false;
    }
    let ips: HashSet<CNetAddr> = live.iter().map(|p| p.addr.service.addr).collect();
    let groups: HashSet<Vec<u8>> = full
        .iter()
        .map(|p| netgroupman.get_group(&p.addr.service.addr))
        .collect();
    listeners
        .iter()
        .filter(|(j, _, _)| *j != i)
        .all(|(_, ip, g)| ips.contains(ip) || groups.contains(g))
}

/// Every live connection of every node finished its handshake.
fn all_handshakes_done(nodes: &[LoopNode]) -> bool {
    nodes.iter().all(|n| {
        n.connman
            .nodes_snapshot()
            .iter()
            .filter(|p| !p.is_disconnecting())
            .all(|p| p.f_successfully_connected.load(Ordering::SeqCst))
    })
}

/// Sleep until `deadline`, polling the counters on the way.
fn sleep_until(deadline: Instant, poller: &mut Poller, nodes: &[LoopNode]) {
    loop {
        let now = Instant::now();
        if now >= deadline {
            return;
        }
        std::thread::sleep((deadline - now).min(Duration::from_millis(20)));
        poller.maybe_poll(nodes);
    }
}

/// Checks what the loopback backend can run.
fn check(cfg: &SimConfig) -> Result<(), String> {
    cfg.validate()?;
    if cfg.nodes > MAX_LOOPBACK_NODES {
        return Err(format!(
            "the loopback backend runs real nodes with real sockets: at most {MAX_LOOPBACK_NODES} (got {})",
            cfg.nodes
        ));
    }
    if cfg.scenario != Scenario::Propagation {
        return Err("the loopback backend runs the propagation scenario only".into());
    }
    if cfg.conn_loss_per_hour > 0.0 {
        return Err(
            "the loopback backend does not simulate connection loss (--conn-loss-per-hour 0)"
                .into(),
        );
    }
    let workload = cfg.messages as f64 / cfg.rate;
    if workload > MAX_WORKLOAD_SECS {
        return Err(format!(
            "the loopback backend runs in real time: the workload would take {workload:.0} s (messages / rate), at most {MAX_WORKLOAD_SECS:.0}"
        ));
    }
    // Each node dials from its own 127.1.x.y (Linux answers for all of 127.0.0.0/8).
    for i in [0, cfg.nodes - 1] {
        if let Err(e) = std::net::UdpSocket::bind((source_ip(i), 0)) {
            return Err(format!(
                "the loopback backend gives each node its own loopback address, and {} cannot be bound here ({e}); on macOS add it with `ifconfig lo0 alias`",
                source_ip(i)
            ));
        }
    }
    // Sockets: a listener, a poll and a waker per node, two ends per connection (about 11 per
    // node: 8 full-relay, 2 block-relay-only, a feeler), the DNS seed's runtime.
    let want = (cfg.nodes as u64) * 40 + 256;
    match rlimit::increase_nofile_limit(want) {
        Ok(got) if got >= want => Ok(()),
        Ok(got) => Err(format!(
            "the loopback backend needs about {want} open files for {} nodes; the limit is {got}",
            cfg.nodes
        )),
        Err(e) => Err(format!("cannot raise the open-file limit: {e}")),
    }
}

/// What a run is, drawn before anything starts: the layout, the network's parameters, the
/// directory the nodes share, and the workload.
struct Plan {
    specs: Vec<Spec>,
    /// Indices of the listening nodes.
    listening: Vec<usize>,
    params: &'static NetworkParams,
    dir: Arc<Directory>,
    work: Arc<Workload>,
    /// The originator of each message.
    origins: Vec<u32>,
    /// This backend's own draws (address-manager keys, snapshots), after the workload's.
    rng: ChaCha20Rng,
}

impl Plan {
    fn new(cfg: &SimConfig) -> Plan {
        let n = cfg.nodes;
        let base = NetworkParams::get(Chain::LogosMain);
        let layout = crate::topology::layout(cfg, base.default_port);
        let (specs, fixed) = (layout.specs, layout.fixed_seeds);
        // The network's parameters live as long as the process (CConnman wants them 'static),
        // as the simulator's do: a few hundred bytes per run.
        let fixed: &'static str = Box::leak(fixed.into_boxed_str());
        let seeds: &'static [&'static str] = crate::engine::SIM_DNS_SEEDS;
        let params: &'static NetworkParams = Box::leak(Box::new(base.with_seeds(seeds, fixed)));
        let listening: Vec<usize> = (0..n).filter(|&i| specs[i].listening).collect();
        let dir = Arc::new(Directory {
            ready: Mutex::new(false),
            cv: Condvar::new(),
            listeners: RwLock::new(HashMap::new()),
            sources: (0..n).map(|i| (source_ip(i), specs[i].addr.addr)).collect(),
            seeds: listening
                .iter()
                .filter_map(|&i| specs[i].addr.to_socket_addr().map(|sa| (i as u32, sa.ip())))
                .collect(),
        });
        let mut rng = ChaCha20Rng::seed_from_u64(cfg.seed ^ LOOPBACK_SALT);
        let valid: Vec<bool> = (0..cfg.messages)
            .map(|_| topology::chance(&mut rng, cfg.accept_ratio))
            .collect();
        let origins: Vec<u32> = (0..cfg.messages)
            .map(|m| {
                if cfg.delegates > 0 {
                    (m % cfg.delegates) as u32
                } else {
                    topology::below(&mut rng, n as u64) as u32
                }
            })
            .collect();
        let work = Arc::new(Workload {
            t0: Instant::now(),
            payload_len: cfg.size.max(8),
            valid,
            verify: Duration::from_secs_f64(cfg.verify_ms / 1000.0).min(MAX_VERIFY),
            arrivals: (0..n).map(|_| Mutex::new(Vec::new())).collect(),
            reached: (0..cfg.messages).map(|_| AtomicU32::new(0)).collect(),
        });
        Plan {
            specs,
            listening,
            params,
            dir,
            work,
            origins,
            rng,
        }
    }

    /// Node `i`'s connection manager, connector, upper layer and (snapshot) addresses; not
    /// started.
    fn build_node(&mut self, cfg: &SimConfig, i: usize, now_secs: i64) -> Result<LoopNode, String> {
        let spec = self.specs[i].clone();
        let clock_am: Arc<dyn addrman::Clock> = Arc::new(addrman::SystemClock);
        let mut key = [0u8; 32];
        self.rng.fill_bytes(&mut key);
        let addrman = Arc::new(
            AddrMan::new_with_seed(NetGroupManager::new(), key, 0, self.params.hash_kind)
                .with_clock(Arc::clone(&clock_am)),
        );
        let banman = Arc::new(BanMan::new(
            Box::new(MemoryBanDb::new()),
            None,
            24 * 3600,
            clock_am,
            &mut self.rng,
        ));
        let resolver = SeedResolver {
            node: i as u32,
            dir: Arc::clone(&self.dir),
            rng: Mutex::new(ChaCha20Rng::seed_from_u64(self.rng.next_u64())),
        };
        let opts = Options {
            max_connections: i32::try_from(cfg.max_connections).unwrap_or(i32::MAX),
            listen: spec.listening,
            binds: if spec.listening {
                vec![SocketAddr::from(([127, 0, 0, 1], 0))]
            } else {
                Vec::new()
            },
            // Core's -externalip: a listening node advertises its (simulated) address.
            external_ips: if spec.listening {
                vec![spec.addr]
            } else {
                Vec::new()
            },
            test_loopback_only: true,
            use_addrman_outgoing: true,
            dnsseed: true,
            fixedseeds: true,
            dns_resolver: Some(SharedResolver(Arc::new(resolver))),
            flood: FloodOptions {
                seen_max: (cfg.messages * 4).clamp(1000, 100_000),
                ..FloodOptions::default()
            },
            ..Options::default()
        };
        let upper = Arc::new(Recorder {
            node: i as u32,
            work: Arc::clone(&self.work),
        });
        let connman = CConnman::new(
            opts,
            self.params,
            Arc::new(net::SystemClock),
            Some(banman),
            Some(Arc::clone(&addrman)),
            upper,
        )
        .map_err(|e| format!("loopback node {i}: cannot create its connection manager: {e}"))?;
        connman.set_connector(SimConnector {
            source: source_ip(i),
            dir: Arc::clone(&self.dir),
        });
        if cfg.bootstrap == Bootstrap::Snapshot {
            self.fill_snapshot(cfg, i, &addrman, now_secs);
        }
        Ok(LoopNode { spec, connman })
    }

    /// Node `i`'s snapshot: `min(snapshot_addresses, listening - 1)` other listening
    /// addresses, in tried, seen up to 3 hours ago, learnt from a random listening node (the
    /// simulator's rule).
    fn fill_snapshot(&mut self, cfg: &SimConfig, i: usize, addrman: &AddrMan, now_secs: i64) {
        let listening = &self.listening;
        let rng = &mut self.rng;
        let want = cfg
            .snapshot_addresses
            .min(listening.len().saturating_sub(1));
        let mut picked = BTreeSet::new();
        let mut tries = 0;
        while picked.len() < want && tries < want * 20 {
            tries += 1;
            let j = listening[topology::below(rng, listening.len() as u64) as usize];
            if j != i {
                picked.insert(j);
            }
        }
        for j in picked {
            let addr = self.specs[j].addr;
            let age = topology::below(rng, 3 * 3600) as i64;
            let src = listening[topology::below(rng, listening.len() as u64) as usize];
            addrman.add(
                &[CAddress::new(
                    addr,
                    self.params.seeds_services,
                    now_secs - age,
                )],
                &self.specs[src].addr.addr,
                0,
            );
            addrman.good(&addr, now_secs - age);
        }
    }
}

/// Builds and starts every node; the diallers wait until every listener is bound.
fn start_fleet(cfg: &SimConfig, plan: &mut Plan) -> Result<Fleet, String> {
    let mut fleet = Fleet {
        nodes: Vec::with_capacity(cfg.nodes),
        dir: Arc::clone(&plan.dir),
    };
    let now_secs = addrman::Clock::now(&addrman::SystemClock);
    for i in 0..cfg.nodes {
        let node = plan.build_node(cfg, i, now_secs)?;
        fleet.nodes.push(node);
    }
    for (i, node) in fleet.nodes.iter().enumerate() {
        node.connman
            .start()
            .map_err(|e| format!("loopback node {i}: cannot start: {e}"))?;
    }
    {
        let mut map = plan
            .dir
            .listeners
            .write()
            .unwrap_or_else(|e| e.into_inner());
        for &i in &plan.listening {
            let node = &fleet.nodes[i];
            let port = node
                .connman
                .get_listen_port()
                .ok_or_else(|| format!("loopback node {i} listens on no port"))?;
            map.insert(node.spec.addr, SocketAddr::from(([127, 0, 0, 1], port)));
        }
    }
    plan.dir.open();
    Ok(fleet)
}

/// The warm-up: until every node has the outbound connections it can have, handshakes done,
/// or `min(warmup_secs, MAX_WARMUP)` since `start`. Returns each node's record with its
/// connection counts.
fn warm_up(cfg: &SimConfig, plan: &Plan, fleet: &Fleet, start: Instant) -> Vec<NodeRecord> {
    let netgroupman = NetGroupManager::new();
    let listeners: Vec<(usize, CNetAddr, Vec<u8>)> = plan
        .listening
        .iter()
        .map(|&i| {
            let ip = plan.specs[i].addr.addr;
            (i, ip, netgroupman.get_group(&ip))
        })
        .collect();
    let all_saturated = || {
        fleet
            .nodes
            .iter()
            .enumerate()
            .all(|(i, node)| saturated(i, node, &listeners, &netgroupman))
    };
    let end = start + Duration::from_secs_f64(cfg.warmup_secs).min(MAX_WARMUP);
    let mut warmed = false;
    while Instant::now() < end {
        if all_saturated() && all_handshakes_done(&fleet.nodes) {
            warmed = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    if !warmed {
        let short: Vec<String> = fleet
            .nodes
            .iter()
            .enumerate()
            .filter(|(i, node)| !saturated(*i, node, &listeners, &netgroupman))
            .map(|(i, node)| {
                format!(
                    "{i} ({} outbound)",
                    node.connman.get_full_outbound_conn_count()
                )
            })
            .collect();
        log::warn!(target: "sim",
            "loopback: warm-up bound reached before every node filled its outbound slots: nodes {}{}",
            short.join(", "),
            if all_handshakes_done(&fleet.nodes) { "" } else { "; handshakes still open" }
        );
    }
    let records: Vec<NodeRecord> = fleet
        .nodes
        .iter()
        .enumerate()
        .map(|(i, node)| {
            let peers: Vec<Arc<net::CNode>> = node
                .connman
                .nodes_snapshot()
                .into_iter()
                .filter(|p| {
                    !p.is_disconnecting() && p.f_successfully_connected.load(Ordering::SeqCst)
                })
                .collect();
            NodeRecord {
                node: i as u32,
                listening: node.spec.listening,
                region: node.spec.region,
                delegate: i < cfg.delegates,
                outbound: peers.iter().filter(|p| p.is_full_outbound_conn()).count() as u32,
                inbound: peers.iter().filter(|p| p.is_inbound_conn()).count() as u32,
                ..NodeRecord::default()
            }
        })
        .collect();
    log::info!(target: "sim",
        "loopback: warm-up done in {:.1} s, mean outbound {:.2}",
        start.elapsed().as_secs_f64(),
        records.iter().map(|r| f64::from(r.outbound)).sum::<f64>() / cfg.nodes as f64
    );
    records
}

/// The workload: payload `m` (the simulator's bytes) from its originator at `m / rate`
/// seconds. Returns when it started and when each payload left, µs on the workload's clock.
fn send_workload(
    cfg: &SimConfig,
    plan: &Plan,
    fleet: &Fleet,
    poller: &mut Poller,
) -> (i64, Vec<i64>) {
    let work = &plan.work;
    let start = Instant::now();
    let start_us = work.now_us();
    let mut filler = ChaCha20Rng::seed_from_u64(cfg.seed ^ PAYLOAD_SALT);
    let mut sent_at_us = Vec::with_capacity(cfg.messages);
    for (m, &origin) in plan.origins.iter().enumerate() {
        let mut payload = vec![0u8; work.payload_len];
        filler.fill_bytes(&mut payload);
        payload[..8].copy_from_slice(&(m as u64).to_le_bytes());
        sleep_until(
            start + Duration::from_secs_f64(m as f64 / cfg.rate),
            poller,
            &fleet.nodes,
        );
        sent_at_us.push(work.now_us());
        if !fleet.nodes[origin as usize]
            .connman
            .propagate_message(&payload)
        {
            log::warn!(target: "sim", "loopback: message {m}: node {origin} has no peer to send it to");
        }
    }
    (start_us, sent_at_us)
}

/// The drain: until every node has every accepted payload (or `min(drain_secs, MAX_DRAIN)`),
/// then until the `logos` bytes sent and received are equal and still (at most
/// [`QUIESCE_BOUND`]), so the last duplicate copies are counted.
fn drain(cfg: &SimConfig, plan: &Plan, fleet: &Fleet, poller: &mut Poller) {
    let work = &plan.work;
    let targets = (cfg.nodes - 1) as u32;
    let end = Instant::now() + Duration::from_secs_f64(cfg.drain_secs).min(MAX_DRAIN);
    while Instant::now() < end {
        let complete = (0..cfg.messages)
            .all(|m| !work.valid[m] || work.reached[m].load(Ordering::SeqCst) >= targets);
        if complete {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
        poller.maybe_poll(&fleet.nodes);
    }
    let end = Instant::now() + QUIESCE_BOUND;
    poller.poll(&fleet.nodes);
    let mut prev = poller.total();
    while Instant::now() < end {
        std::thread::sleep(POLL_INTERVAL);
        poller.poll(&fleet.nodes);
        let t = poller.total();
        let still = t.sent_logos == prev.sent_logos && t.recv_logos == prev.recv_logos;
        if still && t.sent_logos == t.recv_logos {
            break;
        }
        prev = t;
    }
    poller.poll(&fleet.nodes);
}

/// Fills the records with what the nodes measured and builds the message records.
fn results(
    cfg: &SimConfig,
    plan: &Plan,
    poller: &Poller,
    records: &mut [NodeRecord],
    start_us: i64,
    sent_at_us: &[i64],
) -> Vec<MessageRecord> {
    let work = &plan.work;
    let ip_index: HashMap<CNetAddr, u32> = plan
        .specs
        .iter()
        .enumerate()
        .map(|(i, s)| (s.addr.addr, i as u32))
        .collect();
    let framed = (HEADER_SIZE + work.payload_len) as u64;
    let mut per_msg: Vec<Vec<(u32, RawArrival)>> = vec![Vec::new(); cfg.messages];
    for (i, rec) in records.iter_mut().enumerate() {
        let arrivals =
            std::mem::take(&mut *work.arrivals[i].lock().unwrap_or_else(|e| e.into_inner()));
        rec.delivered = arrivals.len() as u64;
        for a in arrivals {
            per_msg[a.msg as usize].push((i as u32, a));
        }
        let d = poller.delta(i);
        rec.copies = d.recv_logos / framed;
        rec.payload_up = d.sent_logos;
        rec.payload_down = d.recv_logos;
        rec.control_up = d.sent.saturating_sub(d.sent_logos);
        rec.control_down = d.recv.saturating_sub(d.recv_logos);
    }
    let mut unresolved = 0usize;
    let messages = per_msg
        .into_iter()
        .enumerate()
        .map(|(m, arr)| {
            let origin = plan.origins[m];
            let sent = sent_at_us.get(m).copied().unwrap_or(start_us);
            let (arrivals, lost) = resolve_hops(origin, sent, arr, &ip_index);
            unresolved += lost;
            MessageRecord {
                index: m,
                origin,
                size: work.payload_len,
                sent_us: sent - start_us,
                // The loopback nodes' upper layer accepts what it is handed.
                accepted: arrivals.len() as u32,
                arrivals,
                targets: (cfg.nodes - 1) as u32,
                ..MessageRecord::default()
            }
        })
        .collect();
    if unresolved > 0 {
        log::warn!(target: "sim", "loopback: {unresolved} arrivals from a peer no node owns (counted as 1 hop)");
    }
    messages
}

/// Not in Core: runs the scenario of `cfg` with real nodes on 127.0.0.1 (see the module doc)
/// and reports what the simulator reports. Real time: the warm-up, the workload
/// (`messages / rate`) and the drain; at most [`MAX_LOOPBACK_NODES`] nodes. Every node is
/// stopped before it returns, on every path.
pub fn run_loopback(cfg: &SimConfig) -> Result<RunResult, String> {
    check(cfg)?;
    let wall = Instant::now();
    let mut plan = Plan::new(cfg);
    let fleet = start_fleet(cfg, &mut plan)?;
    log::info!(target: "sim",
        "loopback: {} nodes up ({} listening), warming up",
        cfg.nodes,
        plan.listening.len()
    );
    let mut records = warm_up(cfg, &plan, &fleet, wall);
    let mut poller = Poller::new(cfg.nodes);
    poller.mark_baseline(&fleet.nodes);
    let (start_us, sent_at_us) = send_workload(cfg, &plan, &fleet, &mut poller);
    drain(cfg, &plan, &fleet, &mut poller);
    drop(fleet);
    let run_seconds = wall.elapsed().as_secs_f64();
    let messages = results(cfg, &plan, &poller, &mut records, start_us, &sent_at_us);
    Ok(RunResult {
        nodes: cfg.nodes,
        seed: cfg.seed,
        messages,
        node_records: records,
        eclipse: Vec::new(),
        wall_seconds: run_seconds,
        run_seconds,
    })
}

/// The arrivals of one message in arrival order, with their hops: the sender's plus one (the
/// originator: 0; a sender that is no node, or has no arrival of its own: counted as 1).
/// Returns them and how many senders could not be resolved.
fn resolve_hops(
    origin: u32,
    sent_us: i64,
    mut arr: Vec<(u32, RawArrival)>,
    ip_index: &HashMap<CNetAddr, u32>,
) -> (Vec<Arrival>, usize) {
    arr.sort_by_key(|(node, a)| (a.at_us, *node));
    let sender: HashMap<u32, Option<u32>> = arr
        .iter()
        .map(|(node, a)| (*node, ip_index.get(&a.from).copied()))
        .collect();
    let mut hops: HashMap<u32, u32> = HashMap::from([(origin, 0)]);
    let mut lost = 0;
    for (node, _) in &arr {
        // Walk up the senders to one whose hops are known (a sender received the payload
        // before it relayed it, so the walk ends; it is bounded anyway).
        let mut chain = Vec::new();
        let mut cur = *node;
        let known = loop {
            if let Some(&h) = hops.get(&cur) {
                break Some(h);
            }
            chain.push(cur);
            if chain.len() > arr.len() {
                break None;
            }
            match sender.get(&cur).copied().flatten() {
                Some(s) if s == origin || sender.contains_key(&s) => cur = s,
                _ => break None,
            }
        };
        let mut h = match known {
            Some(h) => h,
            None => {
                lost += 1;
                0
            }
        };
        for c in chain.into_iter().rev() {
            h += 1;
            hops.entry(c).or_insert(h);
        }
    }
    let out = arr
        .into_iter()
        .map(|(node, a)| Arrival {
            node,
            delay_us: (a.at_us - sent_us).max(0),
            hops: hops.get(&node).copied().unwrap_or(1),
        })
        .collect();
    (out, lost)
}
