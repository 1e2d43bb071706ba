//! "What to connect to next": Core's `CConnman::ThreadOpenConnections` (net.cpp) as a planner
//! with no sockets and no clock. Each call to [`OpenConnectionsPlanner::plan`] is one pass of
//! Core's outer loop after the outbound semaphore grant was taken: it may add the fixed seeds to
//! addrman, decides which kind of connection is due, and picks its address from addrman with
//! Core's rules (one outbound per network group, reachable networks only, no very recent retry
//! before 30 tries, no bad port before 50 tries, desirable services, not an `-addnode` peer, up
//! to 100 tries). The helpers Core's loop relies on (`GetFullOutboundConnCount`,
//! `GetExtraFullOutboundCount`, `GetReachableEmptyNetworks`, `MaybePickPreferredNetwork`,
//! `AddAddrFetch`/`ProcessAddrFetch`, `ConvertSeeds`) are here too.
//!
//! # Integration (the connman's `opencon` thread)
//! With `-connect=<list>`: no planner; loop forever over the list opening MANUAL connections,
//! pausing [`specified_outgoing_pause_slices`]`(n_loop)` × 500 ms after each, then 500 ms and
//! `PerformReconnections` (Core's first branch of ThreadOpenConnections). With `-connect=0`:
//! no thread. Otherwise:
//! ```text
//! planner = OpenConnectionsPlanner::new(config, now_micros, rng)
//! loop {
//!     if let Some(seed) = planner.take_seed_node(addrman.size(None, None)) { addr_fetches.add_addr_fetch(seed) }
//!     if let Some(dest) = addr_fetches.pop() {          // ProcessAddrFetch
//!         if let Some(grant) = sem_outbound.try_acquire() { open_network_connection(None, false, grant, Some(dest), AddrFetch) }
//!     }
//!     sleep 500 ms (interruptible); perform_reconnections();
//!     let grant = sem_outbound.acquire();                // blocking
//!     let out = planner.plan(now_micros, &outbound_snapshot(), &ctx, &mut rng);
//!     if let Some(a) = out.connect {
//!         sleep(a.sleep_before_micros)                   // feelers only: 0–1 s of noise
//!         open_network_connection(a.addr, a.count_failures, grant, None, a.conn_type)
//!     }
//! }
//! ```
//! `open_network_connection` must call `addrman.attempt(addr, count_failures, now)` once a
//! connection was tried (Core's ConnectNode), the peerman calls `addrman.good(addr, now)` when
//! an outbound `version` arrives (not inbound), and `FinalizeNode` calls
//! `addrman.connected(addr, now)` for outbound non-feeler, non-block-relay peers that finished
//! the handshake. The snapshot ([`OutboundPeerInfo`]) lists every node in `m_nodes` with its
//! connection type, address and `fSuccessfullyConnected` / `fDisconnect`.
//! The `dnsseed` thread reads [`get_full_outbound_conn_count`]; the peerman's extra-outbound
//! eviction reads [`get_extra_full_outbound_count`].

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};

use addrman::AddrMan;
use netbase::{is_bad_port, CNetAddr, CService, NetGroupManager, Network, ReachableNets};
use parking_lot::Mutex;
use protocol::{CAddress, NetworkParams, ServiceFlags};
use rand_core::RngCore;

use crate::addr_relay::{rand_exp_duration, rand_uniform_duration, randrange};
use crate::connection_type::ConnectionType;

/// Core's `MAX_OUTBOUND_FULL_RELAY_CONNECTIONS`: automatic full-relay outbound connections.
pub const MAX_OUTBOUND_FULL_RELAY_CONNECTIONS: usize = 8;
/// Core's `FEELER_INTERVAL` (2 min, mean of the exponential feeler timer), microseconds.
pub const FEELER_INTERVAL: i64 = 2 * 60 * 1_000_000;
/// Core's `FEELER_SLEEP_WINDOW` (1 s of random delay before a feeler), microseconds.
pub const FEELER_SLEEP_WINDOW: i64 = 1_000_000;
/// Core's `EXTRA_NETWORK_PEER_INTERVAL` (5 min), microseconds.
pub const EXTRA_NETWORK_PEER_INTERVAL: i64 = 5 * 60 * 1_000_000;
/// Core's `SEED_OUTBOUND_CONNECTION_THRESHOLD`: below this many full outbound peers seed
/// nodes and DNS seeds are still used.
pub const SEED_OUTBOUND_CONNECTION_THRESHOLD: usize = 2;
/// Core's `ADD_NEXT_SEEDNODE` (10 s), microseconds.
pub const ADD_NEXT_SEEDNODE: i64 = 10 * 1_000_000;
/// Fixed seeds are added once this long (60 s, Core: `start + 1min`) has passed with an empty
/// reachable network in addrman; microseconds.
pub const FIXED_SEEDS_DELAY: i64 = 60 * 1_000_000;
/// Most addrman selections per pass (Core: `nTries > 100` ends the pass).
pub const MAX_SELECT_TRIES: u32 = 100;
/// An address tried less than this long ago (10 min) is skipped, seconds …
pub const RECENT_TRY_WINDOW: i64 = 10 * 60;
/// … unless this many selections were already made in this pass.
pub const RECENT_TRY_MIN_TRIES: u32 = 30;
/// Bad ports are skipped until this many selections were made in this pass.
pub const BAD_PORT_MIN_TRIES: u32 = 50;
/// A random age of 1–2 weeks for fixed seeds (Core's ConvertSeeds), seconds.
pub const FIXED_SEED_AGE: i64 = 7 * 24 * 3600;

/// One node of `m_nodes` as the planner needs it.
#[derive(Clone, Debug)]
pub struct OutboundPeerInfo {
    /// `CNode::m_conn_type`.
    pub conn_type: ConnectionType,
    /// `CNode::addr`.
    pub addr: CService,
    /// `CNode::fSuccessfullyConnected`.
    pub successfully_connected: bool,
    /// `CNode::fDisconnect`.
    pub disconnect: bool,
}

/// Port of CConnman::GetFullOutboundConnCount (net.cpp): full-relay outbound peers that
/// finished the handshake.
pub fn get_full_outbound_conn_count(nodes: &[OutboundPeerInfo]) -> usize {
    nodes
        .iter()
        .filter(|n| n.successfully_connected && n.conn_type.is_full_outbound_conn())
        .count()
}

/// Port of CConnman::GetExtraFullOutboundCount (net.cpp): full-relay outbound peers beyond
/// the limit (not counting those being disconnected or still in the handshake).
pub fn get_extra_full_outbound_count(
    nodes: &[OutboundPeerInfo],
    max_outbound_full_relay: usize,
) -> usize {
    let n = nodes
        .iter()
        .filter(|n| {
            n.successfully_connected && !n.disconnect && n.conn_type.is_full_outbound_conn()
        })
        .count();
    n.saturating_sub(max_outbound_full_relay)
}

/// Port of CConnman's `m_network_conn_counts` (net.h), counted over the nodes: manual and full-relay outbound connections per network.
pub fn network_conn_counts(nodes: &[OutboundPeerInfo]) -> HashMap<Network, usize> {
    let mut m = HashMap::new();
    for n in nodes {
        if n.conn_type.is_manual_or_full_outbound_conn() {
            *m.entry(n.addr.addr.get_network()).or_insert(0) += 1;
        }
    }
    m
}

/// Port of CConnman::MultipleManualOrFullOutboundConns (net.cpp).
pub fn multiple_manual_or_full_outbound_conns(nodes: &[OutboundPeerInfo], net: Network) -> bool {
    network_conn_counts(nodes).get(&net).copied().unwrap_or(0) > 1
}

/// Port of CConnman::GetReachableEmptyNetworks (net.cpp): reachable public networks (not
/// unroutable, not internal) of which addrman holds no address.
pub fn get_reachable_empty_networks(
    addrman: &AddrMan,
    reachable: &ReachableNets,
) -> HashSet<Network> {
    netbase::ALL_NETWORKS
        .iter()
        .copied()
        .filter(|n| !matches!(n, Network::Unroutable | Network::Internal))
        .filter(|n| reachable.contains(*n) && addrman.size(Some(*n), None) == 0)
        .collect()
}

/// Port of ConvertSeeds (net.cpp): fixed seeds as addresses with the seeds' services and a
/// random time one to two weeks before `now_secs`.
pub fn convert_seeds<R: RngCore + ?Sized>(
    seeds: &[CService],
    services: ServiceFlags,
    now_secs: i64,
    rng: &mut R,
) -> Vec<CAddress> {
    seeds
        .iter()
        .map(|s| {
            let t = now_secs - FIXED_SEED_AGE + rand_uniform_duration(rng, -FIXED_SEED_AGE);
            log::debug!(target: "net", "Added hardcoded seed: {}", s.to_string_addr_port());
            CAddress::new(*s, services, t)
        })
        .collect()
}

/// Port of the `-connect` pause of CConnman::ThreadOpenConnections (net.cpp): 500 ms pauses
/// after each address in pass `n_loop` (Core: `i < 10 && i < nLoop`).
pub fn specified_outgoing_pause_slices(n_loop: i64) -> i64 {
    n_loop.clamp(0, 10)
}

/// Core's `m_addr_fetches` under `m_addr_fetches_mutex`: seed-node and DNS-seed names waiting
/// for an address-fetch connection. Shared by the `opencon` and `dnsseed` threads.
#[derive(Debug, Default)]
pub struct AddrFetchQueue {
    m_addr_fetches_mutex: Mutex<VecDeque<String>>,
}

impl AddrFetchQueue {
    /// Port of CConnman::AddAddrFetch (net.cpp).
    pub fn add_addr_fetch(&self, dest: &str) {
        self.m_addr_fetches_mutex.lock().push_back(dest.to_owned());
    }

    /// Port of the queue part of CConnman::ProcessAddrFetch (net.cpp): the next destination.
    /// Core drops it if no outbound slot is free; so should the caller.
    pub fn pop(&self) -> Option<String> {
        self.m_addr_fetches_mutex.lock().pop_front()
    }

    /// Not in Core: number of waiting destinations.
    pub fn len(&self) -> usize {
        self.m_addr_fetches_mutex.lock().len()
    }

    /// Not in Core: no waiting destination.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Start-up options of the planner (Core reads them from `gArgs` / `CConnman::Options`).
#[derive(Clone, Debug)]
pub struct OpenConnectionsConfig {
    /// `-dnsseed`.
    pub dnsseed: bool,
    /// `-fixedseeds`.
    pub fixedseeds: bool,
    /// `-seednode` values.
    pub seed_nodes: Vec<String>,
    /// Core's `m_max_outbound_full_relay` (8, less when `-maxconnections` is small).
    pub max_outbound_full_relay: usize,
    /// Core's `m_max_automatic_connections` (`-maxconnections`).
    pub max_automatic_connections: usize,
    /// Open Core's extra "one peer per reachable network" outbound connection.
    pub extra_network_peers: bool,
}

impl Default for OpenConnectionsConfig {
    fn default() -> Self {
        OpenConnectionsConfig {
            dnsseed: true,
            fixedseeds: true,
            seed_nodes: Vec::new(),
            max_outbound_full_relay: MAX_OUTBOUND_FULL_RELAY_CONNECTIONS,
            max_automatic_connections: 125,
            extra_network_peers: false,
        }
    }
}

/// What [`OpenConnectionsPlanner::plan`] reads besides addrman.
pub struct PlanContext<'a> {
    /// The address manager.
    pub addrman: &'a AddrMan,
    /// Core's `m_netgroupman`.
    pub netgroupman: &'a NetGroupManager,
    /// Core's `g_reachable_nets`.
    pub reachable: &'a ReachableNets,
    /// The network (fixed seeds, desirable services).
    pub params: &'a NetworkParams,
    /// Core's `IsLocal(addr)` (mapLocalHost).
    pub is_local: &'a dyn Fn(&CService) -> bool,
    /// Core's `AddedNodesContain(addr)`.
    pub added_nodes_contain: &'a dyn Fn(&CAddress) -> bool,
    /// Core's `m_added_node_params.empty()`.
    pub added_node_params_empty: bool,
    /// Core's `AlreadyConnectedToAddress(addr)`.
    pub already_connected_to_address: &'a dyn Fn(&CAddress) -> bool,
}

/// A connection to open now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboundAttempt {
    /// Where.
    pub addr: CAddress,
    /// Full-relay or feeler.
    pub conn_type: ConnectionType,
    /// Whether a failure counts against the address in addrman (`Attempt(addr, count)`).
    pub count_failures: bool,
    /// Random delay before dialling (feelers: 0–1 s), microseconds.
    pub sleep_before_micros: i64,
    /// The network of an extra "one per network" peer.
    pub preferred_net: Option<Network>,
}

/// Result of one pass.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PlanOutcome {
    /// Fixed seeds were added to addrman in this pass (how many).
    pub fixed_seeds_added: Option<usize>,
    /// The kind of connection that was due (None: nothing due, Core's `continue`).
    pub due: Option<ConnectionType>,
    /// The connection to open, if an address was found.
    pub connect: Option<OutboundAttempt>,
}

/// Port of the state of CConnman::ThreadOpenConnections (net.cpp) between passes.
#[derive(Debug)]
pub struct OpenConnectionsPlanner {
    cfg: OpenConnectionsConfig,
    /// Core's `start` (µs).
    start: i64,
    /// Core's `next_feeler` (µs).
    pub next_feeler: i64,
    /// Core's `next_extra_network_peer` (µs).
    pub next_extra_network_peer: i64,
    /// Core's `add_fixed_seeds`: still to be added.
    pub add_fixed_seeds: bool,
    /// Seed nodes not handed to addr-fetch yet (Core pops from the back).
    seed_nodes: Vec<String>,
    /// Core's `use_seednodes`: `-seednode` was given at all.
    use_seednodes: bool,
    /// Core's `seed_node_timer` (µs).
    seed_node_timer: i64,
    /// Core's `add_addr_fetch`.
    add_addr_fetch: bool,
}

impl OpenConnectionsPlanner {
    /// Port of the start of CConnman::ThreadOpenConnections (net.cpp), after the `-connect`
    /// branch: timers drawn from `rng`, and an addr-fetch of a seed node scheduled at once when
    /// addrman is empty.
    pub fn new<R: RngCore + ?Sized>(
        cfg: OpenConnectionsConfig,
        now_micros: i64,
        addrman_size: usize,
        rng: &mut R,
    ) -> Self {
        let next_feeler = now_micros + rand_exp_duration(rng, FEELER_INTERVAL);
        //DMITRY: extra block-relay-only peer timer (EXTRA_BLOCK_RELAY_ONLY_PEER_INTERVAL); Core: net.cpp::CConnman::ThreadOpenConnections; removed: block-relay-only connections
        // exist to relay blocks, which the overlay does not carry.
        let next_extra_network_peer =
            now_micros + rand_exp_duration(rng, EXTRA_NETWORK_PEER_INTERVAL);
        if !cfg.fixedseeds {
            log::info!("Fixed seeds are disabled");
        }
        let use_seednodes = !cfg.seed_nodes.is_empty();
        OpenConnectionsPlanner {
            start: now_micros,
            next_feeler,
            next_extra_network_peer,
            add_fixed_seeds: cfg.fixedseeds,
            seed_nodes: cfg.seed_nodes.clone(),
            use_seednodes,
            seed_node_timer: now_micros,
            add_addr_fetch: addrman_size == 0 && use_seednodes,
            cfg,
        }
    }

    /// Port of the top of Core's loop: the seed node to add to the addr-fetch queue now, if
    /// one is due (addrman empty at start, or no 2 outbound peers after 10 s more).
    pub fn take_seed_node(&mut self, addrman_size: usize) -> Option<String> {
        if !self.add_addr_fetch {
            return None;
        }
        self.add_addr_fetch = false;
        let seed = self.seed_nodes.pop()?;
        if addrman_size == 0 {
            log::info!("Empty addrman, adding seednode ({seed}) to addrfetch");
        } else {
            log::info!(
                "Couldn't connect to peers from addrman after {} seconds. Adding seednode ({seed}) to addrfetch",
                ADD_NEXT_SEEDNODE / 1_000_000
            );
        }
        Some(seed)
    }

    /// Port of the fixed-seed fallback of ThreadOpenConnections (net.cpp): once 60 s have
    /// passed (or at once without `-dnsseed`, `-seednode` and `-addnode`) while a reachable
    /// network has no address, add the fixed seeds of the empty networks, with the internal
    /// source "fixedseeds". Returns how many were added.
    fn maybe_add_fixed_seeds<R: RngCore + ?Sized>(
        &mut self,
        now_micros: i64,
        ctx: &PlanContext<'_>,
        rng: &mut R,
    ) -> Option<usize> {
        let fixed_seed_networks = get_reachable_empty_networks(ctx.addrman, ctx.reachable);
        if !self.add_fixed_seeds || fixed_seed_networks.is_empty() {
            return None;
        }
        let mut now = false;
        // Core compares whole seconds.
        if now_micros.div_euclid(1_000_000) * 1_000_000 > self.start + FIXED_SEEDS_DELAY {
            now = true;
            log::info!("Adding fixed seeds as 60 seconds have passed and addrman is empty for at least one reachable network");
        } else if !self.cfg.dnsseed && !self.use_seednodes && ctx.added_node_params_empty {
            now = true;
            log::info!("Adding fixed seeds as -dnsseed=0 (or IPv4/IPv6 connections are disabled via -onlynet) and neither -addnode nor -seednode are provided");
        }
        if !now {
            return None;
        }
        let mut seed_addrs = convert_seeds(
            &ctx.params.fixed_seeds(),
            ctx.params.seeds_services,
            now_micros.div_euclid(1_000_000),
            rng,
        );
        //DMITRY: fixed seed of a network that is unreachable or already has addresses; Core: net.cpp::CConnman::ThreadOpenConnections; kept: not added
        // to addrman.
        seed_addrs.retain(|a| fixed_seed_networks.contains(&a.service.addr.get_network()));
        let local = CNetAddr::from_internal("fixedseeds").unwrap_or_default();
        ctx.addrman.add(&seed_addrs, &local, 0);
        self.add_fixed_seeds = false;
        log::info!(
            "Added {} fixed seeds from reachable networks.",
            seed_addrs.len()
        );
        Some(seed_addrs.len())
    }

    /// Port of CConnman::MaybePickPreferredNetwork (net.cpp): a reachable network with
    /// addresses in addrman but no manual or full-relay outbound connection, in random order.
    fn maybe_pick_preferred_network<R: RngCore + ?Sized>(
        nodes: &[OutboundPeerInfo],
        ctx: &PlanContext<'_>,
        rng: &mut R,
    ) -> Option<Network> {
        let mut nets = [
            Network::IPv4,
            Network::IPv6,
            Network::Onion,
            Network::I2P,
            Network::CJDNS,
        ];
        for i in (1..nets.len()).rev() {
            let j = randrange(rng, (i + 1) as u64) as usize;
            nets.swap(i, j);
        }
        let counts = network_conn_counts(nodes);
        nets.into_iter().find(|net| {
            ctx.reachable.contains(*net)
                && counts.get(net).copied().unwrap_or(0) == 0
                && ctx.addrman.size(Some(*net), None) != 0
        })
    }

    /// Port of one pass of CConnman::ThreadOpenConnections (net.cpp), from the fixed seeds to
    /// the chosen address (the caller holds the outbound grant and dials).
    pub fn plan<R: RngCore + ?Sized>(
        &mut self,
        now_micros: i64,
        nodes: &[OutboundPeerInfo],
        ctx: &PlanContext<'_>,
        rng: &mut R,
    ) -> PlanOutcome {
        let mut out = PlanOutcome {
            fixed_seeds_added: self.maybe_add_fixed_seeds(now_micros, ctx, rng),
            ..PlanOutcome::default()
        };

        // Our outbound network groups: one outbound per group.
        let mut n_outbound_full_relay = 0usize;
        let mut outbound_privacy_network_peers = 0usize;
        let mut outbound_ipv46_peer_netgroups: BTreeSet<Vec<u8>> = BTreeSet::new();
        for n in nodes {
            if n.conn_type.is_full_outbound_conn() {
                n_outbound_full_relay += 1;
            }
            match n.conn_type {
                ConnectionType::Inbound | ConnectionType::AddrFetch | ConnectionType::Feeler => {}
                ConnectionType::Manual
                | ConnectionType::OutboundFullRelay
                | ConnectionType::BlockRelay => {
                    let a = &n.addr.addr;
                    if a.is_tor() || a.is_i2p() || a.is_cjdns() {
                        outbound_privacy_network_peers += 1;
                    } else {
                        outbound_ipv46_peer_netgroups.insert(ctx.netgroupman.get_group(a));
                    }
                }
            }
        }

        if !self.seed_nodes.is_empty()
            && n_outbound_full_relay < SEED_OUTBOUND_CONNECTION_THRESHOLD
            && now_micros > self.seed_node_timer + ADD_NEXT_SEEDNODE
        {
            self.seed_node_timer = now_micros;
            self.add_addr_fetch = true;
        }

        //DMITRY: anchors (anchors.dat, block-relay-only connections first); Core: net.cpp::CConnman::ThreadOpenConnections; removed: anchors exist
        // to keep block-relay-only peers across restarts, and the overlay relays no blocks.
        //DMITRY: outbound block-relay-only connections (MAX_BLOCK_RELAY_ONLY_CONNECTIONS 2); Core: net.cpp::CConnman::ThreadOpenConnections; removed: they relay
        // only blocks, which the overlay does not carry.
        //DMITRY: extra full-relay outbound when the tip looks stale (GetTryNewOutboundPeer); Core: net.cpp::CConnman::ThreadOpenConnections; removed: it depends
        // on blocks.
        let mut conn_type = ConnectionType::OutboundFullRelay;
        let mut feeler = false;
        let mut preferred_net = None;
        if n_outbound_full_relay < self.cfg.max_outbound_full_relay {
            // a full-relay slot is free
        } else if now_micros > self.next_feeler {
            self.next_feeler = now_micros + rand_exp_duration(rng, FEELER_INTERVAL);
            conn_type = ConnectionType::Feeler;
            feeler = true;
        } else if self.cfg.extra_network_peers
            && n_outbound_full_relay == self.cfg.max_outbound_full_relay
            && self.cfg.max_outbound_full_relay == MAX_OUTBOUND_FULL_RELAY_CONNECTIONS
            && now_micros > self.next_extra_network_peer
        {
            //DMITRY: extra outbound peer to a reachable network we have no peer on; Core: net.cpp::CConnman::ThreadOpenConnections; changed: off unless
            // OpenConnectionsConfig::extra_network_peers, because Core trims the extra peer in
            // EvictExtraOutboundPeers by block announcements, which the overlay has not.
            match Self::maybe_pick_preferred_network(nodes, ctx, rng) {
                Some(net) => {
                    preferred_net = Some(net);
                    self.next_extra_network_peer =
                        now_micros + rand_exp_duration(rng, EXTRA_NETWORK_PEER_INTERVAL);
                }
                None => return out,
            }
        } else {
            return out;
        }
        out.due = Some(conn_type);

        ctx.addrman.resolve_collisions();

        let current_time = now_micros.div_euclid(1_000_000);
        let reachable_nets = ctx.reachable.all();
        let mut n_tries = 0u32;
        let mut addr_connect: Option<CAddress> = None;
        loop {
            n_tries += 1;
            if n_tries > MAX_SELECT_TRIES {
                break;
            }
            let (addr, addr_last_try) = if feeler {
                let (mut addr, mut last_try) = ctx.addrman.select_tried_collision();
                if !addr.service.addr.is_valid() {
                    (addr, last_try) = ctx.addrman.select(true, &reachable_nets);
                } else if (ctx.already_connected_to_address)(&addr) {
                    // Test-before-evict would dial a peer we are connected to: it is alive.
                    ctx.addrman.good(&addr.service, current_time);
                    (addr, last_try) = ctx.addrman.select(true, &reachable_nets);
                }
                (addr, last_try)
            } else if let Some(net) = preferred_net {
                ctx.addrman.select(false, &HashSet::from([net]))
            } else {
                ctx.addrman.select(false, &reachable_nets)
            };

            if !feeler
                && outbound_ipv46_peer_netgroups
                    .contains(&ctx.netgroupman.get_group(&addr.service.addr))
            {
                //DMITRY: selected address in the network group of an existing outbound peer; Core: net.cpp::CConnman::ThreadOpenConnections; kept: skipped (one
                // outbound per group).
                continue;
            }
            if !addr.service.addr.is_valid() || (ctx.is_local)(&addr.service) {
                //DMITRY: selected address invalid (addrman empty) or one of our own; Core: net.cpp::CConnman::ThreadOpenConnections; kept: pass ends.
                break;
            }
            if !ctx.reachable.contains_addr(&addr.service.addr) {
                //DMITRY: selected address of an unreachable network; Core: net.cpp::CConnman::ThreadOpenConnections; kept: skipped.
                continue;
            }
            if current_time - addr_last_try < RECENT_TRY_WINDOW && n_tries < RECENT_TRY_MIN_TRIES {
                //DMITRY: selected address tried less than 10 min ago (before 30 tries); Core: net.cpp::CConnman::ThreadOpenConnections; kept: skipped.
                continue;
            }
            if !feeler
                && !ctx
                    .params
                    .has_all_desirable_service_flags(addr.n_services, crate::peerman::CLOSE_TO_TIP)
            {
                //DMITRY: selected address lacks the desirable services; Core: net.cpp::CConnman::ThreadOpenConnections; changed: the network's
                // service bits (NODE_LOGOS on Logos networks), and never the NODE_NETWORK_LIMITED
                // near-tip relaxation (no chain).
                continue;
            } else if feeler && !ctx.params.may_have_useful_address_db(addr.n_services) {
                //DMITRY: feeler candidate without a useful address DB; Core: net.cpp::CConnman::ThreadOpenConnections; changed: the network's
                // address-DB service bits.
                continue;
            }
            if n_tries < BAD_PORT_MIN_TRIES
                && (addr.service.addr.is_ipv4() || addr.service.addr.is_ipv6())
                && is_bad_port(addr.service.port)
            {
                //DMITRY: selected address on a bad port (before 50 tries); Core: net.cpp::CConnman::ThreadOpenConnections; kept: skipped.
                continue;
            }
            if (ctx.added_nodes_contain)(&addr) {
                //DMITRY: selected address is an -addnode peer; Core: net.cpp::CConnman::ThreadOpenConnections; kept: skipped (addnode
                // peers keep their own slots).
                log::debug!(target: "net",
                    "Not making automatic {}{} connection to {} peer selected for manual (addnode) connection",
                    if preferred_net.is_some() { "network-specific " } else { "" },
                    conn_type.as_str(),
                    netbase::get_network_name(addr.service.addr.get_network()));
                continue;
            }
            addr_connect = Some(addr);
            break;
        }

        if let Some(addr) = addr_connect {
            let mut sleep_before_micros = 0;
            if feeler {
                sleep_before_micros = rand_uniform_duration(rng, FEELER_SLEEP_WINDOW);
                log::debug!(target: "net", "Making feeler connection to {}", addr.service.to_string_addr_port());
            }
            if let Some(net) = preferred_net {
                log::debug!(target: "net", "Making network specific connection to {} on {}.",
                    addr.service.to_string_addr_port(), netbase::get_network_name(net));
            }
            let threshold = (self.cfg.max_automatic_connections as i64 - 1).min(2);
            let count_failures = (outbound_ipv46_peer_netgroups.len()
                + outbound_privacy_network_peers) as i64
                >= threshold;
            out.connect = Some(OutboundAttempt {
                addr,
                conn_type,
                count_failures,
                sleep_before_micros,
                preferred_net,
            });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn svc(s: &str) -> CService {
        netbase::lookup_numeric(s, 0)
    }

    fn node(t: ConnectionType, a: &str, ok: bool) -> OutboundPeerInfo {
        OutboundPeerInfo {
            conn_type: t,
            addr: svc(a),
            successfully_connected: ok,
            disconnect: false,
        }
    }

    #[test]
    fn outbound_counts_as_core() {
        let nodes = vec![
            node(ConnectionType::OutboundFullRelay, "1.1.1.1:1", true),
            node(ConnectionType::OutboundFullRelay, "1.2.1.1:1", false),
            node(ConnectionType::Manual, "1.3.1.1:1", true),
            node(ConnectionType::Feeler, "1.4.1.1:1", true),
            node(ConnectionType::Inbound, "1.5.1.1:1", true),
        ];
        assert_eq!(get_full_outbound_conn_count(&nodes), 1);
        assert_eq!(get_extra_full_outbound_count(&nodes, 0), 1);
        assert_eq!(get_extra_full_outbound_count(&nodes, 8), 0);
        assert_eq!(network_conn_counts(&nodes).get(&Network::IPv4), Some(&3));
        assert!(multiple_manual_or_full_outbound_conns(
            &nodes,
            Network::IPv4
        ));
        assert!(!multiple_manual_or_full_outbound_conns(
            &nodes,
            Network::IPv6
        ));
        assert_eq!(specified_outgoing_pause_slices(0), 0);
        assert_eq!(specified_outgoing_pause_slices(3), 3);
        assert_eq!(specified_outgoing_pause_slices(99), 10);
    }

    #[test]
    fn addr_fetch_queue_is_fifo() {
        let q = AddrFetchQueue::default();
        assert!(q.is_empty());
        q.add_addr_fetch("a");
        q.add_addr_fetch("b");
        assert_eq!(q.pop().as_deref(), Some("a"));
        assert_eq!(q.pop().as_deref(), Some("b"));
        assert_eq!(q.pop(), None);
    }

    #[test]
    fn convert_seeds_ages_one_to_two_weeks() {
        use rand_chacha::rand_core::SeedableRng;
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
        let now = 1_795_503_770;
        let seeds: Vec<CService> = (1..50).map(|i| svc(&format!("1.2.3.{i}:8333"))).collect();
        let out = convert_seeds(&seeds, ServiceFlags::NODE_NETWORK, now, &mut rng);
        assert_eq!(out.len(), seeds.len());
        for a in out {
            assert!(a.n_time <= now - FIXED_SEED_AGE && a.n_time > now - 2 * FIXED_SEED_AGE);
            assert_eq!(a.n_services, ServiceFlags::NODE_NETWORK);
        }
    }
}
