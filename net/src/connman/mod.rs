//! The connection manager: Core's `CConnman` (net.cpp) with its threads, the IO shell around
//! the peer manager.
//!
//! Threads, named as Core's: "net" (sockets.rs, [`ConnmanInner::thread_socket_handler`]: one
//! `mio::Poll` over the listeners and every peer socket, a `mio::Waker` in place of Core's
//! wake-up pipe), "msghand" (msghand.rs, [`ConnmanInner::thread_message_handler`]: feeds the
//! peer manager and carries out its outputs), "addcon", "opencon" and "dnsseed" (outbound.rs)
//! and "scheduler" ([`crate::scheduler::CScheduler`]). All of them read time through the shared
//! [`Clock`]; all are joined by [`CConnman::stop`].
//!
//! The connection manager keeps sockets, the node list, the threads and flow control; what a
//! message means is the peer manager's ([`crate::peerman`]), behind its own lock
//! (`m_peerman`, Core's `g_msgproc_mutex`). Outputs of the peer manager, upper-layer callbacks
//! included, run after that lock is released.
//!
//! Locks, named and ordered as Core's: `m_nodes_mutex` → node `cs_vSend` → node `m_sock_mutex`;
//! `m_peerman`, `m_added_nodes_mutex`, `mutexMsgProc` and the socket work list are leaves (no
//! other lock of ours is taken while one of them is held, except the address and ban managers'
//! own).

mod msghand;
mod nodes;
mod outbound;
mod send;
mod sockets;

use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use mio::net::TcpListener;
use mio::{Interest, Poll, Registry, Token, Waker};
use parking_lot::{Condvar, Mutex};
use protocol::{NetworkParams, ServiceFlags};
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};

use addrman::banman::BanMan;
use addrman::AddrMan;
use netbase::{CService, NetGroupManager, Network, ReachableNets};

use crate::clock::Clock;
use crate::connector::{Connector, DirectConnector, LoopbackOnly, DEFAULT_CONNECT_TIMEOUT_MS};
use crate::disconnect::DisconnectReason;
use crate::dnsseed::{self, DnsResolver};
use crate::local_addr::LocalHostMap;
use crate::net_permissions::{
    NetPermissionFlags, NetWhitebindPermissions, NetWhitelistPermissions,
    DEFAULT_WHITELISTFORCERELAY, DEFAULT_WHITELISTRELAY,
};
use crate::node::{CNode, NodeId};
use crate::open_connections::AddrFetchQueue;
use crate::peerman::{FloodOptions, PeerManager, PeerManagerContext, PeerManagerOptions};
use crate::scheduler::CScheduler;
use crate::semaphore::CountingSemaphore;
use crate::siphash::RandomizerSeeds;
use crate::upper::UpperLayer;
use crate::util::random_u64;

pub use msghand::PreparedLogos;
pub use nodes::{AddedNodeInfo, AddedNodeParams, CNodeStats};
pub use send::MAX_OWN_BACKLOG_BYTES;

pub use crate::peerman::{our_services, DEFAULT_USER_AGENT};

/// Port of DEFAULT_MAX_PEER_CONNECTIONS (net.h).
pub const DEFAULT_MAX_PEER_CONNECTIONS: i32 = 125;
/// Port of DEFAULT_PEER_CONNECT_TIMEOUT (net.h), seconds.
pub const DEFAULT_PEER_CONNECT_TIMEOUT: i64 = crate::timeouts::DEFAULT_PEER_CONNECT_TIMEOUT;
/// Port of DEFAULT_MAXRECEIVEBUFFER (net.h), in units of 1000 bytes.
pub const DEFAULT_MAXRECEIVEBUFFER: usize = 5 * 1000;
/// Port of DEFAULT_MAXSENDBUFFER (net.h), in units of 1000 bytes.
pub const DEFAULT_MAXSENDBUFFER: usize = 1000;
/// Port of MAX_OUTBOUND_FULL_RELAY_CONNECTIONS (net.h).
pub const MAX_OUTBOUND_FULL_RELAY_CONNECTIONS: i32 = 8;
/// Port of MAX_ADDNODE_CONNECTIONS (net.h).
pub const MAX_ADDNODE_CONNECTIONS: i32 = 8;
/// Port of MAX_BLOCK_RELAY_ONLY_CONNECTIONS (net.h).
pub const MAX_BLOCK_RELAY_ONLY_CONNECTIONS: i32 = 2;
/// Port of MAX_FEELER_CONNECTIONS (net.h).
pub const MAX_FEELER_CONNECTIONS: i32 = 1;
/// Port of DUMP_PEERS_INTERVAL (net.cpp): 15 minutes.
pub const DUMP_PEERS_INTERVAL: Duration = Duration::from_secs(15 * 60);
/// Disconnect records kept for [`ConnmanInner::disconnect_log`].
const DISCONNECT_LOG_SIZE: usize = 4096;

const WAKER_TOKEN: Token = Token(usize::MAX);
const NODE_TOKEN_BASE: usize = 1 << 20;

/// Core's `RANDOMIZER_ID_LOCALHOSTNONCE` (SHA256("localhostnonce")[0:8]).
const RANDOMIZER_ID_LOCALHOSTNONCE: u64 = 0xd93e_69e2_bbfa_5735;
/// Core's `RANDOMIZER_ID_NETGROUP` (SHA256("netgroup")[0:8]).
const RANDOMIZER_ID_NETGROUP: u64 = 0x6c0e_dd80_36ef_4036;

/// Log Core's line for `reason`: `LogDebug(BCLog::NET, ...)` lines under the `net` target,
/// `LogPrintf` lines (no category in Core) under the default target.
fn log_reason(reason: &DisconnectReason, id: NodeId, peeraddr: Option<&str>) {
    if reason.log_level() == log::Level::Info {
        if let Some(text) = reason.log_text(id, peeraddr) {
            log::info!("{text}");
        }
    } else {
        reason.log(id, peeraddr);
    }
}

/// Not in Core: Core's `g_reachable_nets` with `-onlynet` applied: without it, every network
/// but Tor, I2P and CJDNS (no proxy, no I2P SAM and no `-cjdnsreachable` here); with it, only
/// the networks named (Core's AppInitMain: `g_reachable_nets.RemoveAll()` then `Add` each).
pub fn reachable_nets(onlynet: &[Network]) -> ReachableNets {
    //DMITRY: networks we treat as reachable; Core: init.cpp (g_reachable_nets set from -onlynet/-proxy/-i2psam/-cjdnsreachable); changed: Tor, I2P
    // and CJDNS are never reachable (no proxies), -onlynet restricts the rest as in Core.
    let r = ReachableNets::default();
    r.remove(Network::Onion);
    r.remove(Network::I2P);
    r.remove(Network::CJDNS);
    if !onlynet.is_empty() {
        for n in [Network::IPv4, Network::IPv6] {
            if !onlynet.contains(&n) {
                r.remove(n);
            }
        }
    }
    r
}

/// Not in Core: a DNS resolver handed in through [`Options::dns_resolver`] (tests point it
/// at a responder on 127.0.0.1).
#[derive(Clone)]
pub struct SharedResolver(pub Arc<dyn DnsResolver>);

impl std::fmt::Debug for SharedResolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SharedResolver")
    }
}

/// Not in Core: the callback that persists the address database (Core's `DumpPeerAddresses`
/// writing peers.dat); the node crate writes its LMDB store here.
#[derive(Clone)]
pub struct DumpAddressesHook(pub Arc<dyn Fn(&AddrMan) + Send + Sync>);

impl std::fmt::Debug for DumpAddressesHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DumpAddressesHook")
    }
}

/// Options of the connection manager (Core's `CConnman::Options` plus the P2P arguments).
///
/// The defaults describe a connection manager that opens no automatic connection on its own,
/// as bitcoind with `-connect=0` (which also turns `-dnsseed` off): the node sets
/// [`Self::use_addrman_outgoing`] and [`Self::dnsseed`] from its arguments (Core's defaults
/// are both true when `-connect` is absent).
#[derive(Clone, Debug)]
pub struct Options {
    /// `-maxconnections`.
    pub max_connections: i32,
    /// `-peertimeout`, seconds.
    pub peer_timeout: i64,
    /// `-timeout`, milliseconds (outbound connect timeout).
    pub connect_timeout_ms: u64,
    /// `-listen`.
    pub listen: bool,
    /// `-bind` addresses (port 0 = any free port; see
    /// [`CConnman::get_bound_addrs`](ConnmanInner::get_bound_addrs)).
    /// With neither `binds` nor [`Self::white_binds`], Core's `bind_on_any`: `[::]` and
    /// `0.0.0.0` on [`Self::port`] (see [`crate::listen::listen_plan`]).
    pub binds: Vec<SocketAddr>,
    /// `-port`: the port of the wildcard binds (`None`: the network's default port).
    pub port: Option<u16>,
    /// `-whitebind` entries (Core's `vWhiteBinds`).
    pub white_binds: Vec<NetWhitebindPermissions>,
    /// `-whitelist` entries for inbound connections (Core's `vWhitelistedRangeIncoming`).
    pub whitelisted_range_incoming: Vec<NetWhitelistPermissions>,
    /// `-whitelist` entries with `out`, for manual connections (Core's
    /// `vWhitelistedRangeOutgoing`).
    pub whitelisted_range_outgoing: Vec<NetWhitelistPermissions>,
    /// `-whitelistrelay` (Core's `whitelist_relay`).
    pub whitelist_relay: bool,
    /// `-whitelistforcerelay` (Core's `whitelist_forcerelay`).
    pub whitelist_forcerelay: bool,
    /// `-connect` list: only these are dialled (as manual connections).
    pub connect: Vec<String>,
    /// `-addnode` list.
    pub add_nodes: Vec<String>,
    /// `-maxreceivebuffer`, in units of 1000 bytes.
    pub max_receive_buffer: usize,
    /// `-maxsendbuffer`, in units of 1000 bytes.
    pub max_send_buffer: usize,
    /// Test mode: refuse to dial anything that is not loopback.
    pub test_loopback_only: bool,
    /// Test switch: treat loopback peers as non-local for misbehaviour (so the discouragement
    /// path can be exercised on loopback). Never set outside tests.
    pub test_loopback_not_local: bool,
    /// `-logips`.
    pub log_ips: bool,
    /// User agent (`strSubVersion`).
    pub user_agent: String,
    /// Whether the network starts active (`-networkactive`).
    pub network_active: bool,
    /// The `logos` flood's bounds (seen-set, recent rejects, important store, catch-up).
    pub flood: FloodOptions,
    /// Not in Core: the Stage 2 relay (`-logosrelay=announce`).
    pub announce: crate::peerman::AnnounceOptions,
    /// Not in Core: the bounds of the pending pool (payloads waiting for others).
    pub pending: crate::peerman::PendingOptions,
    /// Core's `m_use_addrman_outgoing`: open automatic outbound connections from addrman
    /// (bitcoind: true unless `-connect` is given; `-connect=0` makes it false with an empty
    /// [`Self::connect`] list).
    pub use_addrman_outgoing: bool,
    /// `-seednode` values (Core's `vSeedNodes`): address-fetch connections.
    pub seed_nodes: Vec<String>,
    /// `-dnsseed`: start the "dnsseed" thread.
    pub dnsseed: bool,
    /// `-forcednsseed`.
    pub forcednsseed: bool,
    /// `-fixedseeds`.
    pub fixedseeds: bool,
    /// Resolver for the DNS seeds (tests); `None`: [`Self::dns_nameserver`], else the system
    /// configuration. With `test_loopback_only` and neither set, seeds are not resolved.
    pub dns_resolver: Option<SharedResolver>,
    /// Ask only this DNS server for the DNS seeds (an explicit nameserver override).
    pub dns_nameserver: Option<SocketAddr>,
    /// Persist the address database (every [`Self::dump_addresses_interval`] on the scheduler
    /// thread, and once at [`CConnman::stop`]).
    pub on_dump_addresses: Option<DumpAddressesHook>,
    /// Not in Core: called when one of the connection manager's threads panicked (after the
    /// panic is logged and the connection manager interrupted); the node asks for a shutdown.
    pub on_thread_panic: Option<crate::thread::ThreadPanicHook>,
    /// How often the address database is dumped: Core's [`DUMP_PEERS_INTERVAL`] (15 min); the
    /// node's debug option `-dumpaddressesinterval` shortens it for tests.
    pub dump_addresses_interval: Duration,
    /// `-discover` (Core's `fDiscover`): learn our own addresses from routable `-bind`
    /// addresses and, when bound to all addresses, from the interfaces (local_addr.rs). Core's
    /// default is on when listening without `-externalip`; the node sets it, off here.
    pub discover: bool,
    /// `-externalip` addresses (with the listen port unless they name one): our own addresses,
    /// advertised to peers (Core: `AddLocal(addr, LOCAL_MANUAL)` in AppInitMain).
    pub external_ips: Vec<CService>,
    /// `-onlynet` networks (empty: every network we can reach).
    pub onlynet: Vec<Network>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            max_connections: DEFAULT_MAX_PEER_CONNECTIONS,
            peer_timeout: DEFAULT_PEER_CONNECT_TIMEOUT,
            connect_timeout_ms: DEFAULT_CONNECT_TIMEOUT_MS,
            listen: true,
            binds: Vec::new(),
            port: None,
            white_binds: Vec::new(),
            whitelisted_range_incoming: Vec::new(),
            whitelisted_range_outgoing: Vec::new(),
            whitelist_relay: DEFAULT_WHITELISTRELAY,
            whitelist_forcerelay: DEFAULT_WHITELISTFORCERELAY,
            connect: Vec::new(),
            add_nodes: Vec::new(),
            max_receive_buffer: DEFAULT_MAXRECEIVEBUFFER,
            max_send_buffer: DEFAULT_MAXSENDBUFFER,
            test_loopback_only: false,
            test_loopback_not_local: false,
            log_ips: false,
            user_agent: DEFAULT_USER_AGENT.to_string(),
            network_active: true,
            flood: FloodOptions::default(),
            announce: crate::peerman::AnnounceOptions::default(),
            pending: crate::peerman::PendingOptions::default(),
            use_addrman_outgoing: false,
            seed_nodes: Vec::new(),
            dnsseed: false,
            forcednsseed: dnsseed::DEFAULT_FORCEDNSSEED,
            fixedseeds: dnsseed::DEFAULT_FIXEDSEEDS,
            dns_resolver: None,
            dns_nameserver: None,
            on_dump_addresses: None,
            on_thread_panic: None,
            dump_addresses_interval: DUMP_PEERS_INTERVAL,
            discover: false,
            external_ips: Vec::new(),
            onlynet: Vec::new(),
        }
    }
}

/// A record of one disconnection (for tests and the embedding node).
#[derive(Clone, Debug)]
pub struct DisconnectRecord {
    /// Node id.
    pub id: NodeId,
    /// Peer address.
    pub addr: CService,
    /// Why.
    pub reason: DisconnectReason,
    /// When (mock-clock seconds).
    pub time: i64,
}

/// Core's `CThreadInterrupt`: a flag plus an interruptible sleep.
#[derive(Default)]
pub struct ThreadInterrupt {
    flag: AtomicBool,
    mutex: Mutex<()>,
    cv: Condvar,
}

impl ThreadInterrupt {
    /// Port of CThreadInterrupt::operator bool (util/threadinterrupt.cpp): whether the interrupt was raised.
    pub fn is_set(&self) -> bool {
        self.flag.load(Ordering::SeqCst)
    }
    /// Port of CThreadInterrupt::operator() (util/threadinterrupt.cpp): raise it, waking sleepers.
    pub fn interrupt(&self) {
        let _g = self.mutex.lock();
        self.flag.store(true, Ordering::SeqCst);
        self.cv.notify_all();
    }
    /// Port of CThreadInterrupt::reset (util/threadinterrupt.cpp): clear it.
    pub fn reset(&self) {
        self.flag.store(false, Ordering::SeqCst);
    }
    /// Port of CThreadInterrupt::sleep_for (threadinterrupt.cpp): `false` if interrupted.
    pub fn sleep_for(&self, d: Duration) -> bool {
        let mut g = self.mutex.lock();
        if self.is_set() {
            return false;
        }
        let _ = self.cv.wait_for(&mut g, d);
        !self.is_set()
    }
}

/// A listening socket and the permissions of peers that connect through it (Core's
/// `CConnman::ListenSocket`).
pub struct ListenSocket {
    /// The socket.
    pub sock: TcpListener,
    /// `-whitebind` permissions, else none.
    pub permissions: NetPermissionFlags,
}

/// State shared by the connection manager's threads. Reached through [`CConnman`] (which
/// derefs to it) or from a thread started with [`CConnman::spawn_thread`].
pub struct ConnmanInner {
    opts: Options,
    params: &'static NetworkParams,
    clock: Arc<dyn Clock>,
    m_banman: Option<Arc<BanMan>>,
    addrman: Option<Arc<AddrMan>>,
    upper: Arc<dyn UpperLayer>,
    connector: Mutex<Arc<dyn Connector>>,
    m_netgroupman: NetGroupManager,
    m_local_services: ServiceFlags,

    /// Core's `m_nodes_mutex` / `m_nodes` (with an index by id).
    m_nodes_mutex: Mutex<nodes::NodeList>,
    /// Core's `m_nodes_disconnected`.
    m_nodes_disconnected: Mutex<Vec<Arc<CNode>>>,
    /// Some node was marked for disconnection since the socket handler last looked.
    m_disconnect_pending: AtomicBool,
    n_last_node_id: AtomicI64,
    /// Core's `m_added_nodes_mutex` / `m_added_node_params`.
    m_added_nodes_mutex: Mutex<Vec<AddedNodeParams>>,

    /// Core's `interruptNet`.
    pub interrupt_net: ThreadInterrupt,
    flag_interrupt_msg_proc: AtomicBool,
    /// Core's `mutexMsgProc` guarding `fMsgProcWake`, plus the message handler's work list.
    mutex_msg_proc: Mutex<msghand::MsgProcState>,
    cond_msg_proc: Condvar,
    f_network_active: AtomicBool,

    registry: Registry,
    waker: Arc<Waker>,
    wake_pending: AtomicBool,
    poll: Mutex<Option<Poll>>,
    listeners: Mutex<Vec<ListenSocket>>,
    bound: Mutex<Vec<SocketAddr>>,
    /// Connections the socket handler must serve without a readiness event (data queued by
    /// another thread, a receive pause lifted, a new connection).
    m_socket_work: Mutex<Vec<Arc<CNode>>>,

    sem_outbound: Arc<CountingSemaphore>,
    sem_addnode: Arc<CountingSemaphore>,
    m_max_inbound: i32,
    m_max_automatic_outbound: i32,

    n_total_bytes_recv: AtomicU64,
    n_total_bytes_sent: AtomicU64,
    /// Connections with the handshake done and not disconnecting.
    n_fully_connected: AtomicUsize,
    /// `logos` relays dropped at full send queues, all peers.
    n_logos_relay_dropped: AtomicU64,

    /// The peer manager (Core's `m_msgproc`, whose calls `g_msgproc_mutex` serialises).
    m_peerman: Mutex<PeerManager>,
    /// The peer manager's next deadline (µs), published whenever its lock is released.
    m_next_deadline: AtomicI64,
    scheduler: CScheduler,
    /// Core's `nSeed0` / `nSeed1`.
    seeds: RandomizerSeeds,
    /// Core's `g_reachable_nets`.
    reachable: Arc<ReachableNets>,
    /// Core's `mapLocalHost` with `fDiscover` / `fListen` (local_addr.rs).
    local_host: Arc<LocalHostMap>,
    rng: Mutex<ChaCha20Rng>,
    disconnects: Mutex<VecDeque<DisconnectRecord>>,
    /// Core's `m_addr_fetches` (shared by "opencon" and "dnsseed").
    m_addr_fetches: AddrFetchQueue,
    /// Core's `fAddressesInitialized`: the address DB is dumped at stop only after a start.
    f_addresses_initialized: AtomicBool,
    /// When [`CConnman::start`] ran (µs): Core's `start` of ThreadOpenConnections and
    /// ThreadDNSAddressSeed, read before the threads are spawned so they share one origin.
    m_start_micros: AtomicI64,
}

/// The peer manager locked (see [`ConnmanInner::pm`]).
pub(crate) struct PmGuard<'a> {
    g: parking_lot::MutexGuard<'a, PeerManager>,
    next: &'a AtomicI64,
}

impl std::ops::Deref for PmGuard<'_> {
    type Target = PeerManager;
    fn deref(&self) -> &PeerManager {
        &self.g
    }
}

impl std::ops::DerefMut for PmGuard<'_> {
    fn deref_mut(&mut self) -> &mut PeerManager {
        &mut self.g
    }
}

impl Drop for PmGuard<'_> {
    fn drop(&mut self) {
        self.next
            .store(self.g.next_deadline().unwrap_or(i64::MAX), Ordering::SeqCst);
    }
}

/// The connection manager handle. Port of `CConnman` (net.h).
pub struct CConnman {
    inner: Arc<ConnmanInner>,
    threads: Mutex<Vec<JoinHandle<()>>>,
    started: AtomicBool,
}

impl std::ops::Deref for CConnman {
    type Target = ConnmanInner;
    fn deref(&self) -> &ConnmanInner {
        &self.inner
    }
}

impl CConnman {
    /// Port of CConnman::CConnman + CConnman::Init (net.h), with the peer manager built beside
    /// it (Core's AppInitMain: `PeerManager::make`). Nothing runs until [`Self::start`].
    pub fn new(
        options: Options,
        params: &'static NetworkParams,
        clock: Arc<dyn Clock>,
        banman: Option<Arc<BanMan>>,
        addrman: Option<Arc<AddrMan>>,
        upper: Arc<dyn UpperLayer>,
    ) -> io::Result<Self> {
        let poll = Poll::new()?;
        let registry = poll.registry().try_clone()?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER_TOKEN)?);
        let m_max_automatic_connections = options.max_connections.max(0);
        let m_max_outbound_full_relay =
            MAX_OUTBOUND_FULL_RELAY_CONNECTIONS.min(m_max_automatic_connections);
        let m_max_outbound_block_relay = MAX_BLOCK_RELAY_ONLY_CONNECTIONS
            .min(m_max_automatic_connections - m_max_outbound_full_relay);
        let m_max_automatic_outbound =
            m_max_outbound_full_relay + m_max_outbound_block_relay + MAX_FEELER_CONNECTIONS;
        let m_max_inbound = (m_max_automatic_connections - m_max_automatic_outbound).max(0);
        let connector: Arc<dyn Connector> = if options.test_loopback_only {
            Arc::new(LoopbackOnly::new(DirectConnector))
        } else {
            Arc::new(DirectConnector)
        };
        let now = clock.now_secs();
        let seeds = RandomizerSeeds {
            seed0: random_u64(),
            seed1: random_u64() ^ now as u64,
        };
        // Core's GetListenPort: the first -bind port, else -port, else the network's default
        // port (the port Discover() advertises our interface addresses with).
        let listen_port = options
            .binds
            .first()
            .map(SocketAddr::port)
            .filter(|p| *p != 0)
            .or(options.port)
            .unwrap_or(params.default_port);
        let local_host = Arc::new(LocalHostMap::new(
            listen_port,
            options.discover,
            options.listen,
        ));
        let reachable = Arc::new(reachable_nets(&options.onlynet));
        // Core's AppInitMain: every -externalip is one of our addresses (LOCAL_MANUAL).
        for ip in &options.external_ips {
            local_host.add_local(ip, crate::local_addr::LOCAL_MANUAL, &reachable);
        }
        let peerman = PeerManager::new(
            PeerManagerOptions {
                params,
                our_services: our_services(params),
                user_agent: options.user_agent.clone(),
                peer_timeout: options.peer_timeout,
                log_ips: options.log_ips,
                test_loopback_not_local: options.test_loopback_not_local,
                flood: FloodOptions {
                    catchup_bytes_per_pass: options.max_send_buffer.saturating_mul(1000),
                    ..options.flood.clone()
                },
                addr_known_elements: crate::addr_relay::ADDR_KNOWN_ELEMENTS,
                announce: options.announce.clone(),
                pending: options.pending.clone(),
            },
            PeerManagerContext {
                addrman: addrman.clone(),
                banman: banman.clone(),
                local_host: Arc::clone(&local_host),
                reachable: Arc::clone(&reachable),
                seeds,
            },
            random_u64(),
        );
        let inner = ConnmanInner {
            f_network_active: AtomicBool::new(options.network_active),
            m_added_nodes_mutex: Mutex::new(
                options
                    .add_nodes
                    .iter()
                    .map(|s| AddedNodeParams {
                        m_added_node: s.clone(),
                    })
                    .collect(),
            ),
            opts: options,
            params,
            scheduler: CScheduler::new(clock.clone()),
            clock,
            m_banman: banman,
            addrman,
            upper,
            connector: Mutex::new(connector),
            m_netgroupman: NetGroupManager::new(),
            m_local_services: our_services(params),
            m_nodes_mutex: Mutex::new(nodes::NodeList::default()),
            m_nodes_disconnected: Mutex::new(Vec::new()),
            m_disconnect_pending: AtomicBool::new(false),
            n_last_node_id: AtomicI64::new(0),
            interrupt_net: ThreadInterrupt::default(),
            flag_interrupt_msg_proc: AtomicBool::new(false),
            mutex_msg_proc: Mutex::new(msghand::MsgProcState::default()),
            cond_msg_proc: Condvar::new(),
            registry,
            waker,
            wake_pending: AtomicBool::new(false),
            poll: Mutex::new(Some(poll)),
            listeners: Mutex::new(Vec::new()),
            bound: Mutex::new(Vec::new()),
            m_socket_work: Mutex::new(Vec::new()),
            sem_outbound: CountingSemaphore::new(i64::from(
                m_max_automatic_outbound.min(m_max_automatic_connections),
            )),
            sem_addnode: CountingSemaphore::new(i64::from(MAX_ADDNODE_CONNECTIONS)),
            m_max_inbound,
            m_max_automatic_outbound,
            n_total_bytes_recv: AtomicU64::new(0),
            n_total_bytes_sent: AtomicU64::new(0),
            n_fully_connected: AtomicUsize::new(0),
            n_logos_relay_dropped: AtomicU64::new(0),
            m_peerman: Mutex::new(peerman),
            m_next_deadline: AtomicI64::new(i64::MAX),
            seeds,
            reachable,
            local_host,
            rng: Mutex::new(ChaCha20Rng::seed_from_u64(random_u64() ^ now as u64)),
            disconnects: Mutex::new(VecDeque::new()),
            m_addr_fetches: AddrFetchQueue::default(),
            f_addresses_initialized: AtomicBool::new(false),
            m_start_micros: AtomicI64::new(now.saturating_mul(1_000_000)),
        };
        Ok(CConnman {
            inner: Arc::new(inner),
            threads: Mutex::new(Vec::new()),
            started: AtomicBool::new(false),
        })
    }

    /// Not in Core: replace the outbound dialler (tests map addresses to loopback listeners). With
    /// `test_loopback_only` the connector is wrapped in the loopback guard.
    pub fn set_connector<C: Connector + 'static>(&self, c: C) {
        let c: Arc<dyn Connector> = if self.opts.test_loopback_only {
            Arc::new(LoopbackOnly::new(c))
        } else {
            Arc::new(c)
        };
        *self.inner.connector.lock() = c;
    }

    /// Not in Core: the shared state, for threads started by the embedding node.
    pub fn shared(&self) -> Arc<ConnmanInner> {
        self.inner.clone()
    }

    /// Port of CConnman::InitBinds and CConnman::Bind (net.cpp): bind every `-bind` and
    /// `-whitebind` address, or, with neither, `[::]` (failure not fatal) and `0.0.0.0` on the
    /// listening port (see [`crate::listen::listen_plan`]).
    fn init_binds(&self) -> io::Result<()> {
        let port = self.opts.port.unwrap_or(self.params.default_port);
        let plan = crate::listen::listen_plan(&self.opts.binds, &self.opts.white_binds, port);
        let mut listeners = self.inner.listeners.lock();
        let mut bound = self.inner.bound.lock();
        for spec in plan {
            let mut l = match crate::listen::bind_listen_port(spec.addr) {
                Ok(l) => l,
                Err(e) => {
                    log::error!(target: "net", "{e}");
                    if spec.report_error {
                        return Err(io::Error::new(io::ErrorKind::AddrInUse, e));
                    }
                    continue;
                }
            };
            self.inner
                .registry
                .register(&mut l, Token(listeners.len()), Interest::READABLE)?;
            let local = l.local_addr()?;
            log::info!(
                "Bound to {}",
                CService::from_socket_addr(&local).to_string_addr_port()
            );
            // Core's Bind: a routable bound address is one of ours (when -discover).
            self.inner.local_host.add_bound_local(
                &CService::from_socket_addr(&local),
                spec.permissions,
                &self.inner.reachable,
            );
            bound.push(local);
            listeners.push(ListenSocket {
                sock: l,
                permissions: spec.permissions,
            });
        }
        Ok(())
    }

    /// Port of CConnman::Start (net.cpp): bind, then start the threads.
    pub fn start(&self) -> io::Result<()> {
        if self.started.swap(true, Ordering::SeqCst) {
            return Ok(());
        }
        if self.opts.use_addrman_outgoing && !self.opts.connect.is_empty() {
            //DMITRY: -connect together with automatic outbound connections; Core: net.cpp::CConnman::Start; kept: refused to
            // start ("Cannot provide specific connections and have addrman find outgoing
            // connections at the same time.").
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "Cannot provide specific connections and have addrman find outgoing connections at the same time.",
            ));
        }
        if self.opts.listen {
            self.init_binds()?;
        }
        // Core's AppInitMain: with -discover and no -bind / -whitebind, every interface address
        // is ours (the kernel's tables are read only then).
        if self.opts.discover && self.opts.binds.is_empty() && self.opts.white_binds.is_empty() {
            self.inner.local_host.discover(
                &crate::local_addr::get_local_addresses(),
                &self.inner.reachable,
            );
        }
        // Core shuffles the seed nodes so a restart does not ask the same one first.
        let mut seed_nodes = self.opts.seed_nodes.clone();
        {
            let mut rng = self.inner.rng.lock();
            for i in (1..seed_nodes.len()).rev() {
                let j = (rng.next_u64() % (i as u64 + 1)) as usize;
                seed_nodes.swap(i, j);
            }
        }
        self.inner
            .f_addresses_initialized
            .store(true, Ordering::SeqCst);
        self.inner
            .m_start_micros
            .store(self.inner.now_micros(), Ordering::SeqCst);
        self.inner.interrupt_net.reset();
        self.inner
            .flag_interrupt_msg_proc
            .store(false, Ordering::SeqCst);
        let poll = self
            .inner
            .poll
            .lock()
            .take()
            .ok_or_else(|| io::Error::other("connman already ran"))?;
        let listeners = std::mem::take(&mut *self.inner.listeners.lock());
        {
            let inner = self.inner.clone();
            self.spawn_named("net", move || inner.thread_socket_handler(poll, listeners))?;
        }
        if !self.opts.dnsseed {
            log::info!("DNS seeding disabled");
        } else {
            let inner = self.inner.clone();
            self.spawn_named("dnsseed", move || inner.thread_dns_address_seed())?;
        }
        {
            let inner = self.inner.clone();
            self.spawn_named("addcon", move || inner.thread_open_added_connections())?;
        }
        if self.opts.use_addrman_outgoing || !self.opts.connect.is_empty() {
            let inner = self.inner.clone();
            let connect = self.opts.connect.clone();
            self.spawn_named("opencon", move || {
                inner.thread_open_connections(&connect, seed_nodes)
            })?;
        }
        {
            let inner = self.inner.clone();
            self.spawn_named("msghand", move || inner.thread_message_handler())?;
        }
        {
            let inner = self.inner.clone();
            self.spawn_named("scheduler", move || inner.scheduler.service_queue())?;
        }
        if self.opts.on_dump_addresses.is_some() && self.inner.addrman.is_some() {
            // Weak: the task lives in this manager's own scheduler, so a strong reference
            // would keep the manager alive forever (a cycle valgrind reports as lost).
            let inner = Arc::downgrade(&self.inner);
            self.schedule_every(self.opts.dump_addresses_interval, move || {
                if let Some(inner) = inner.upgrade() {
                    inner.dump_addresses()
                }
            });
        }
        Ok(())
    }

    /// Starts a thread running `f` under [`crate::thread::trace_thread`]: a panic is logged,
    /// interrupts this connection manager (its other threads return) and is handed to
    /// [`Options::on_thread_panic`].
    fn spawn_named(&self, name: &str, f: impl FnOnce() + Send + 'static) -> io::Result<()> {
        let inner = Arc::downgrade(&self.inner);
        let node_hook = self.opts.on_thread_panic.clone();
        let on_panic = crate::thread::ThreadPanicHook(Arc::new(move |name: &str, msg: &str| {
            if let Some(inner) = inner.upgrade() {
                inner.interrupt();
            }
            if let Some(h) = &node_hook {
                (h.0)(name, msg);
            }
        }));
        let thread_name = name.to_string();
        let h = std::thread::Builder::new()
            .name(name.to_string())
            .spawn(move || crate::thread::trace_thread(&thread_name, f, Some(&on_panic)))?;
        self.threads.lock().push(h);
        Ok(())
    }

    /// Not in Core: start an extra thread named `name` that is joined on [`Self::stop`] (a seam for the
    /// embedding node's own threads). The closure should return when
    /// `interrupt_net` is raised (use `interrupt_net.sleep_for`).
    pub fn spawn_thread(
        &self,
        name: &str,
        f: impl FnOnce(Arc<ConnmanInner>) + Send + 'static,
    ) -> io::Result<()> {
        let inner = self.inner.clone();
        self.spawn_named(name, move || f(inner))
    }

    /// Port of CScheduler::scheduleEvery (scheduler.cpp), on the connman: run `f` every
    /// `interval` on the "scheduler" thread (Core: e.g. `DumpAddresses` every
    /// [`DUMP_PEERS_INTERVAL`]).
    pub fn schedule_every(&self, interval: Duration, f: impl Fn() + Send + Sync + 'static) {
        self.inner.scheduler.schedule_every(interval, f);
    }

    /// Port of CConnman::Interrupt (net.cpp).
    pub fn interrupt(&self) {
        self.inner.interrupt();
    }

    /// Port of CConnman::Stop (net.cpp): interrupt, join every thread, close every socket.
    pub fn stop(&self) {
        self.interrupt();
        let threads = std::mem::take(&mut *self.threads.lock());
        for t in threads {
            if t.join().is_err() {
                log::error!("a network thread panicked; stopping");
            }
        }
        if self
            .inner
            .f_addresses_initialized
            .swap(false, Ordering::SeqCst)
        {
            self.inner.dump_addresses();
        }
        self.inner.stop_nodes();
    }
}

impl Drop for CConnman {
    fn drop(&mut self) {
        self.stop();
    }
}

impl ConnmanInner {
    /// Port of CConnman::Interrupt (net.cpp): every thread of the connection manager is told
    /// to return (also from one of those threads, after a panic).
    pub(crate) fn interrupt(&self) {
        {
            let _g = self.mutex_msg_proc.lock();
            self.flag_interrupt_msg_proc.store(true, Ordering::SeqCst);
        }
        self.cond_msg_proc.notify_all();
        self.interrupt_net.interrupt();
        self.scheduler.stop();
        let _ = self.waker.wake();
        for _ in 0..self.m_max_automatic_outbound {
            self.sem_outbound.release();
        }
        for _ in 0..MAX_ADDNODE_CONNECTIONS {
            self.sem_addnode.release();
        }
    }

    /// Not in Core: current time, microseconds.
    pub fn now_micros(&self) -> i64 {
        self.clock.now_micros()
    }
    /// Not in Core: current time, seconds.
    pub fn now_secs(&self) -> i64 {
        self.clock.now_secs()
    }
    /// Not in Core: `-logips`.
    pub fn log_ips(&self) -> bool {
        self.opts.log_ips
    }
    /// Not in Core: network parameters.
    pub fn params(&self) -> &'static NetworkParams {
        self.params
    }
    /// Not in Core: options in force.
    pub fn options(&self) -> &Options {
        &self.opts
    }
    /// Port of CConnman::GetLocalServices (net.cpp): services we announce.
    pub fn get_local_services(&self) -> ServiceFlags {
        self.m_local_services
    }
    /// Not in Core: whether the message handler was told to stop.
    pub fn flag_interrupt_msg_proc(&self) -> bool {
        self.flag_interrupt_msg_proc.load(Ordering::SeqCst)
    }

    /// Not in Core: whether addresses of this network are reachable (Core's `g_reachable_nets`).
    pub fn is_reachable(&self, addr: &netbase::CNetAddr) -> bool {
        self.reachable.contains_addr(addr)
    }

    /// Not in Core: the randomizer seeds (Core's `nSeed0`, `nSeed1`).
    pub fn randomizer_seeds(&self) -> &RandomizerSeeds {
        &self.seeds
    }

    /// Not in Core: reachable networks (Core's `g_reachable_nets`; `-onlynet` edits it).
    pub fn reachable(&self) -> &ReachableNets {
        &self.reachable
    }

    /// Not in Core: our own addresses (Core's `mapLocalHost`; `-externalip`, `-discover` edit it).
    pub fn local_host(&self) -> &LocalHostMap {
        &self.local_host
    }

    /// Not in Core: run `f` on the peer manager under its lock (Core's `g_msgproc_mutex`), for
    /// queries; nothing `f` does may call back into the connection manager.
    pub fn with_peerman<R>(&self, f: impl FnOnce(&mut PeerManager) -> R) -> R {
        f(&mut self.pm())
    }

    /// The peer manager under its lock; when the guard goes, its next deadline is published
    /// for the message handler's wait (so the handler need not take the lock to learn it).
    pub(crate) fn pm(&self) -> PmGuard<'_> {
        PmGuard {
            g: self.m_peerman.lock(),
            next: &self.m_next_deadline,
        }
    }

    /// Port of PeerManagerImpl::GetInfo (net_processing.cpp): the median clock offset of our
    /// outbound peers, seconds (getnetworkinfo's `timeoffset`).
    pub fn median_outbound_time_offset(&self) -> i64 {
        self.pm().median_outbound_time_offset()
    }

    /// Not in Core: remember a disconnection (reason already set on the node).
    fn record_disconnect(&self, node: &CNode) {
        if let Some(reason) = node.disconnect_reason() {
            let mut d = self.disconnects.lock();
            if d.iter().any(|r| r.id == node.get_id()) {
                return;
            }
            d.push_back(DisconnectRecord {
                id: node.get_id(),
                addr: node.addr.service,
                reason,
                time: self.now_secs(),
            });
            while d.len() > DISCONNECT_LOG_SIZE {
                d.pop_front();
            }
        }
    }

    /// Not in Core: mark `node` for disconnection for `reason`, log Core's line for it, and
    /// remember it.
    pub fn disconnect_for(&self, node: &CNode, reason: DisconnectReason) {
        let peeraddr = node.addr.service.to_string_addr_port();
        log_reason(
            &reason,
            node.get_id(),
            self.log_ips().then_some(peeraddr.as_str()),
        );
        self.mark_disconnect(node, reason);
    }

    /// Mark `node` for disconnection without logging (the caller logged Core's line).
    fn mark_disconnect(&self, node: &CNode, reason: DisconnectReason) {
        node.mark_disconnect(reason);
        node.recount_connected(&self.n_fully_connected);
        self.m_disconnect_pending.store(true, Ordering::SeqCst);
        self.record_disconnect(node);
        self.wake_socket_handler();
    }

    /// Log and remember a refused connection (no node exists).
    fn record_refusal(&self, addr: &CService, reason: DisconnectReason) {
        log_reason(&reason, -1, None);
        let mut d = self.disconnects.lock();
        d.push_back(DisconnectRecord {
            id: -1,
            addr: *addr,
            reason,
            time: self.now_secs(),
        });
        while d.len() > DISCONNECT_LOG_SIZE {
            d.pop_front();
        }
    }

    /// Not in Core: every disconnection so far (most recent last, bounded).
    pub fn disconnect_log(&self) -> Vec<DisconnectRecord> {
        self.disconnects.lock().iter().cloned().collect()
    }

    /// Not in Core: wake the socket handler out of its poll.
    pub fn wake_socket_handler(&self) {
        if !self.wake_pending.swap(true, Ordering::SeqCst) {
            let _ = self.waker.wake();
        }
    }

    /// Not in Core: have the socket handler serve `node` on its next pass (data was queued by
    /// another thread, or its receive pause was lifted), and wake it.
    pub(crate) fn wake_socket_for(&self, node: &Arc<CNode>) {
        if !node.m_in_socket_work.swap(true, Ordering::SeqCst) {
            self.m_socket_work.lock().push(Arc::clone(node));
        }
        self.wake_socket_handler();
    }

    /// Not in Core: wake every thread so it re-reads the (mock) clock at once.
    pub fn wake_threads(&self) {
        self.wake_socket_handler();
        self.wake_message_handler();
        self.scheduler.wake();
    }

    fn get_new_node_id(&self) -> NodeId {
        self.n_last_node_id.fetch_add(1, Ordering::SeqCst)
    }

    /// Port of CConnman::CalculateKeyedNetGroup (net.cpp).
    fn calculate_keyed_net_group(&self, addr: &netbase::CNetAddr) -> u64 {
        let mut h = self
            .seeds
            .get_deterministic_randomizer(RANDOMIZER_ID_NETGROUP);
        h.write(&self.m_netgroupman.get_group(addr));
        h.finalize()
    }

    /// Core's `GetDeterministicRandomizer(RANDOMIZER_ID_LOCALHOSTNONCE).Write(id).Finalize()`:
    /// the nonce of our `version` on connection `id`.
    fn local_host_nonce(&self, id: NodeId) -> u64 {
        let mut h = self
            .seeds
            .get_deterministic_randomizer(RANDOMIZER_ID_LOCALHOSTNONCE);
        h.write_u64(id as u64);
        h.finalize()
    }

    /// Port of CConnman::GetTotalBytesRecv and GetTotalBytesSent (net.cpp): total bytes
    /// received and sent.
    pub fn get_total_bytes(&self) -> (u64, u64) {
        (
            self.n_total_bytes_recv.load(Ordering::Relaxed),
            self.n_total_bytes_sent.load(Ordering::Relaxed),
        )
    }

    fn record_bytes_sent(&self, n: u64) {
        self.n_total_bytes_sent.fetch_add(n, Ordering::Relaxed);
    }

    fn record_bytes_recv(&self, n: u64) {
        self.n_total_bytes_recv.fetch_add(n, Ordering::Relaxed);
    }

    fn send_buffer_max(&self) -> usize {
        self.opts.max_send_buffer.saturating_mul(1000)
    }

    fn recv_flood_size(&self) -> usize {
        self.opts.max_receive_buffer.saturating_mul(1000)
    }

    fn max_message_length(&self) -> u32 {
        self.params
            .max_message_length
            .min(crate::transport::MAX_SIZE)
    }

    /// Not in Core: listening addresses actually bound (tests bind port 0 and read the port here).
    pub fn get_bound_addrs(&self) -> Vec<SocketAddr> {
        self.bound.lock().clone()
    }

    /// Not in Core: the first bound port, if listening.
    pub fn get_listen_port(&self) -> Option<u16> {
        self.bound.lock().first().map(|a| a.port())
    }

    /// Port of CConnman::GetNetworkActive (net.h).
    pub fn get_network_active(&self) -> bool {
        self.f_network_active.load(Ordering::SeqCst)
    }

    /// Port of CConnman::SetNetworkActive (net.cpp).
    pub fn set_network_active(&self, active: bool) {
        log::info!("SetNetworkActive: {}", active);
        self.f_network_active.store(active, Ordering::SeqCst);
        if !active {
            self.m_disconnect_pending.store(true, Ordering::SeqCst);
            self.wake_socket_handler();
        }
    }

    /// Port of CConnman::DumpAddresses (net.cpp): hand addrman to the persistence hook
    /// ([`Options::on_dump_addresses`]) and log Core's line. Called on the scheduler thread
    /// and at stop, never on a network thread.
    pub fn dump_addresses(&self) {
        let (Some(hook), Some(addrman)) = (&self.opts.on_dump_addresses, &self.addrman) else {
            return;
        };
        let start = std::time::Instant::now();
        (hook.0)(addrman);
        log::debug!(target: "net",
            "Flushed {} addresses to peers.dat  {}ms",
            addrman.size(None, None),
            start.elapsed().as_millis()
        );
    }

    /// Port of PeerManagerImpl::SendPings (net_processing.cpp): ping every peer on the next
    /// message-handler pass (RPC `ping`).
    pub fn send_pings(&self) {
        let now = self.now_micros();
        self.pm().send_pings(now);
        self.wake_message_handler();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Mirrors AppInitMain's -onlynet handling (init.cpp): without it every network we can
    /// reach; with `-onlynet=ipv6` IPv4 is no longer reachable; Tor, I2P and CJDNS never are
    /// (no proxies here).
    #[test]
    fn onlynet_restricts_the_reachable_networks() {
        let all = reachable_nets(&[]);
        assert!(all.contains(Network::IPv4) && all.contains(Network::IPv6));
        assert!(!all.contains(Network::Onion) && !all.contains(Network::I2P));
        let v6 = reachable_nets(&[Network::IPv6]);
        assert!(!v6.contains(Network::IPv4) && v6.contains(Network::IPv6));
        let v4 = reachable_nets(&[Network::IPv4, Network::Onion]);
        assert!(v4.contains(Network::IPv4) && !v4.contains(Network::IPv6));
        assert!(!v4.contains(Network::Onion));
    }
}
