//! The connection manager: Core's `CConnman` (net.cpp) with its threads.
//!
//! Threads, named as Core's: "net" ([`ConnmanInner::thread_socket_handler`]: one `mio::Poll`
//! over the listeners and every peer socket, a `mio::Waker` in place of Core's wake-up pipe),
//! "msghand" ([`ConnmanInner::thread_message_handler`]), "addcon"
//! ([`ConnmanInner::thread_open_added_connections`]), "opencon"
//! ([`ConnmanInner::thread_open_connections`]: `-connect`, or automatic outbound from addrman
//! with feelers, seed nodes and fixed seeds, planned by open_connections.rs), "dnsseed"
//! ([`ConnmanInner::thread_dns_address_seed`], planned by dnsseed.rs) and
//! "scheduler" ([`crate::scheduler::CScheduler`]). All of them read time through the shared
//! [`Clock`]; all are joined by [`CConnman::stop`].
//!
//! Locks, named and ordered as Core's: `m_nodes_mutex` → node `cs_vSend` → node `m_sock_mutex`;
//! `m_added_nodes_mutex`, `mutexMsgProc` and the flood locks are leaves.

use std::collections::{HashMap, VecDeque};
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use mio::net::TcpListener;
use mio::{Events, Interest, Poll, Registry, Token, Waker};
use parking_lot::{Condvar, Mutex};
use protocol::{CAddress, NetworkParams, ServiceFlags};
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};

use addrman::banman::BanMan;
use addrman::AddrMan;
use netbase::{CNetAddr, CService, CSubNet, NetGroupManager, Network, ReachableNets};

use crate::addr_cache::{get_addresses, AddrRequestor, AddrResponseCache};
use crate::clock::Clock;
use crate::connection_type::ConnectionType;
use crate::connector::{Connector, DirectConnector, LoopbackOnly, DEFAULT_CONNECT_TIMEOUT_MS};
use crate::disconnect::DisconnectReason;
use crate::dnsseed::{
    self, DnsResolver, DnsSeedConfig, DnsSeedEnv, DnsSeedPlanner, HickoryResolver,
};
use crate::eviction::{select_node_to_evict, NodeEvictionCandidate};
use crate::flood::{ImportantStore, SeenSet};
use crate::local_addr::LocalHostMap;
use crate::net_permissions::{
    add_whitelist_permission_flags, has_flag, NetPermissionFlags, NetWhitebindPermissions,
    NetWhitelistPermissions, DEFAULT_WHITELISTFORCERELAY, DEFAULT_WHITELISTRELAY,
};
use crate::node::{CNode, CNodeInit, NodeId};
use crate::open_connections::{
    get_full_outbound_conn_count, specified_outgoing_pause_slices, AddrFetchQueue,
    OpenConnectionsConfig, OpenConnectionsPlanner, OutboundPeerInfo, PlanContext,
};
use crate::peerman::{CNodeStateStats, PeerManager, UpperLayer};
use crate::scheduler::CScheduler;
use crate::semaphore::{CountingSemaphore, SemaphoreGrant};
use crate::siphash::RandomizerSeeds;
use crate::timeouts::NodeActivity;
use crate::transport::{build_header, CNetMessage, SerializedNetMsg};
use crate::util::random_u64;

/// Port of SELECT_TIMEOUT_MILLISECONDS (net.cpp): the socket handler's idle wait.
pub const SELECT_TIMEOUT_MILLISECONDS: u64 = 50;
/// Port of DEFAULT_MAX_PEER_CONNECTIONS (net.h).
pub const DEFAULT_MAX_PEER_CONNECTIONS: i32 = 125;
/// Port of DEFAULT_PEER_CONNECT_TIMEOUT (net.h), seconds.
pub const DEFAULT_PEER_CONNECT_TIMEOUT: i64 = 60;
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
/// Bytes read from one socket per call (Core: a 64 KiB stack buffer).
const RECV_CHUNK: usize = 0x10000;
/// Reads per node per socket-handler pass before moving on to the next node (fairness).
const MAX_READS_PER_PASS: usize = 16;
/// Flooded payloads smaller than this are written by the socket thread (gathered); larger
/// ones are written at once by the caller, as Core's PushMessage does.
const DEFER_BELOW_BYTES: usize = 64 * 1024;
/// Queued messages carried by one vectored write after the transport's current one.
const MAX_GATHER_MESSAGES: usize = 64;
/// Bytes after which no further queued message joins a vectored write.
const MAX_GATHER_BYTES: usize = 256 * 1024;
/// Disconnect records kept for [`ConnmanInner::disconnect_log`].
const DISCONNECT_LOG_SIZE: usize = 4096;

const WAKER_TOKEN: Token = Token(usize::MAX);
const NODE_TOKEN_BASE: usize = 1 << 20;

/// Not in Core: the services we announce: none on Bitcoin networks (we serve no blocks), the Logos
/// service bit on Logos networks.
pub fn our_services(params: &NetworkParams) -> ServiceFlags {
    //DMITRY: our service bits; Core: init.cpp (nLocalServices = NODE_NETWORK | NODE_WITNESS ...); changed: honest services, NODE_NONE on Bitcoin networks (bitcoind then keeps us only as inbound/manual), NODE_LOGOS on Logos networks.
    if params.is_bitcoin() {
        ServiceFlags::NODE_NONE
    } else {
        ServiceFlags::NODE_LOGOS
    }
}

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

/// Core's `RANDOMIZER_ID_LOCALHOSTNONCE` (SHA256("localhostnonce")[0:8]).
const RANDOMIZER_ID_LOCALHOSTNONCE: u64 = 0xd93e_69e2_bbfa_5735;
/// Core's `RANDOMIZER_ID_NETGROUP` (SHA256("netgroup")[0:8]).
const RANDOMIZER_ID_NETGROUP: u64 = 0x6c0e_dd80_36ef_4036;

/// Not in Core: core's `g_reachable_nets` after init with no proxy, no I2P SAM and no `-cjdnsreachable`:
/// every network but Tor, I2P and CJDNS.
pub fn default_reachable_nets() -> ReachableNets {
    //DMITRY: networks we treat as reachable; Core: init.cpp (g_reachable_nets set from -onlynet/-proxy/-i2psam/-cjdnsreachable); changed: fixed to Core's default without proxies until the options land.
    let r = ReachableNets::default();
    r.remove(Network::Onion);
    r.remove(Network::I2P);
    r.remove(Network::CJDNS);
    r
}

/// User agent we announce (Core's `strSubVersion`).
pub const DEFAULT_USER_AGENT: &str = "/logos-p2p:0.1.0/";

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
    /// `-bind` addresses (port 0 = any free port; see [`CConnman::get_bound_addrs`]).
    /// With neither `binds` nor [`Self::white_binds`], Core's `bind_on_any`: `[::]` and
    /// `0.0.0.0` on [`Self::port`] (see [`listen_plan`]).
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
    /// Largest number of `logos` payload ids remembered for dedup.
    pub flood_seen_max: usize,
    /// How long a `logos` payload id is remembered, seconds.
    pub flood_seen_max_age: i64,
    /// Largest number of important `logos` payloads retained for later peers.
    pub important_max_count: usize,
    /// Largest total size of retained important payloads, bytes.
    pub important_max_bytes: usize,
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
            flood_seen_max: 100_000,
            flood_seen_max_age: 3600,
            important_max_count: 1000,
            important_max_bytes: 64 * 1024 * 1024,
            use_addrman_outgoing: false,
            seed_nodes: Vec::new(),
            dnsseed: false,
            forcednsseed: dnsseed::DEFAULT_FORCEDNSSEED,
            fixedseeds: dnsseed::DEFAULT_FIXEDSEEDS,
            dns_resolver: None,
            dns_nameserver: None,
            on_dump_addresses: None,
            dump_addresses_interval: DUMP_PEERS_INTERVAL,
            discover: false,
            external_ips: Vec::new(),
        }
    }
}

/// Statistics of one peer (Core's `CNodeStats` with the fields that make sense here).
#[derive(Clone, Debug)]
pub struct CNodeStats {
    /// Core's `nodeid`.
    pub nodeid: NodeId,
    /// Peer address.
    pub addr: CService,
    /// Our address as the peer sees it (`addrLocal`), empty if unknown.
    pub addr_local: String,
    /// Our side of the socket (`addrBind`).
    pub addr_bind: CService,
    /// Name the connection was made with (`m_addr_name`).
    pub m_addr_name: String,
    /// Connection type.
    pub m_conn_type: ConnectionType,
    /// Connect time, seconds.
    pub m_connected: i64,
    /// Last send, seconds (0 = never).
    pub m_last_send: i64,
    /// Last receive, seconds (0 = never).
    pub m_last_recv: i64,
    /// Bytes sent.
    pub n_send_bytes: u64,
    /// Bytes sent per message type.
    pub map_send_bytes_per_msg_type: std::collections::BTreeMap<String, u64>,
    /// Bytes received.
    pub n_recv_bytes: u64,
    /// Bytes received per message type.
    pub map_recv_bytes_per_msg_type: std::collections::BTreeMap<String, u64>,
    /// Last ping round trip, microseconds (0 = none).
    pub m_last_ping_time: i64,
    /// Smallest ping round trip, microseconds (`i64::MAX` = none).
    pub m_min_ping_time: i64,
    /// Peer's protocol version (0 before `version`).
    pub n_version: i32,
    /// Peer's user agent, sanitized.
    pub clean_sub_ver: String,
    /// Inbound connection.
    pub f_inbound: bool,
    /// Handshake complete.
    pub f_successfully_connected: bool,
    /// Services the peer announced.
    pub their_services: ServiceFlags,
    /// Peer-manager statistics (starting height, ping wait, addr counters).
    pub state: Option<CNodeStateStats>,
    /// Mapped AS (always 0: no asmap).
    pub m_mapped_as: u32,
    /// Permissions from `-whitebind` / `-whitelist` (Core's `m_permission_flags`;
    /// `net_permissions::to_strings` gives getpeerinfo's `permissions`).
    pub m_permission_flags: NetPermissionFlags,
}

/// One entry of the added-node list (Core's `AddedNodeParams`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddedNodeParams {
    /// The `-addnode` string.
    pub m_added_node: String,
}

/// Port of `AddedNodeInfo` (net.h).
#[derive(Clone, Debug)]
pub struct AddedNodeInfo {
    /// The parameters it was added with.
    pub m_params: AddedNodeParams,
    /// Address it resolved to, if connected.
    pub resolved_address: Option<CService>,
    /// Connected now.
    pub f_connected: bool,
    /// That connection is inbound.
    pub f_inbound: bool,
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
    /// Port of CThreadInterrupt::reset (util/threadinterrupt.cpp): clear it (Core's `reset`).
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

/// A `logos` payload hashed and framed once, ready to be flooded
/// ([`ConnmanInner::prepare_logos`], [`ConnmanInner::propagate_prepared`]).
#[derive(Clone, Debug)]
pub struct PreparedLogos {
    hash: [u8; 32],
    msg: SerializedNetMsg,
}

impl PreparedLogos {
    /// Not in Core: the payload's network hash (its dedup id; the first 4 bytes are the checksum).
    pub fn hash(&self) -> &[u8; 32] {
        &self.hash
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

    /// Core's `m_nodes_mutex` / `m_nodes`.
    m_nodes_mutex: Mutex<Vec<Arc<CNode>>>,
    /// Core's `m_nodes_disconnected`.
    m_nodes_disconnected: Mutex<Vec<Arc<CNode>>>,
    n_last_node_id: AtomicI64,
    /// Core's `m_added_nodes_mutex` / `m_added_node_params`.
    m_added_nodes_mutex: Mutex<Vec<AddedNodeParams>>,

    /// Core's `interruptNet`.
    pub interrupt_net: ThreadInterrupt,
    flag_interrupt_msg_proc: AtomicBool,
    /// Core's `mutexMsgProc` / `fMsgProcWake`.
    mutex_msg_proc: Mutex<bool>,
    cond_msg_proc: Condvar,
    f_network_active: AtomicBool,

    registry: Registry,
    waker: Arc<Waker>,
    wake_pending: AtomicBool,
    poll: Mutex<Option<Poll>>,
    listeners: Mutex<Vec<ListenSocket>>,
    bound: Mutex<Vec<SocketAddr>>,

    sem_outbound: Arc<CountingSemaphore>,
    sem_addnode: Arc<CountingSemaphore>,
    m_max_inbound: i32,
    m_max_automatic_outbound: i32,

    n_total_bytes_recv: AtomicU64,
    n_total_bytes_sent: AtomicU64,

    peerman: PeerManager,
    scheduler: CScheduler,
    m_flood_seen: Mutex<SeenSet>,
    /// Not in Core: counters of the `logos` flood (RPC `getlogosinfo`).
    m_flood_counters: FloodCounters,
    m_important: Mutex<ImportantStore>,
    /// Core's `m_addr_response_caches` (addr_cache.rs).
    m_addr_response_caches: Mutex<AddrResponseCache>,
    /// Core's `nSeed0` / `nSeed1`.
    seeds: RandomizerSeeds,
    /// Core's `g_reachable_nets`.
    reachable: ReachableNets,
    /// Core's `mapLocalHost` with `fDiscover` / `fListen` (local_addr.rs).
    local_host: LocalHostMap,
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

/// Not in Core: what the `logos` flood has done since start (RPC `getlogosinfo`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FloodStats {
    /// Payload ids in the dedup seen-set now.
    pub seen_set_size: usize,
    /// Payloads handed to the upper layer's `receive_message`.
    pub delivered: u64,
    /// Received payloads relayed on to at least one other peer.
    pub relayed: u64,
    /// Received payloads dropped: seen before, or refused by the upper layer.
    pub dropped: u64,
    /// Payloads of our own queued by [`ConnmanInner::propagate_message`] (it returned true).
    pub propagated: u64,
}

/// The atomic counters behind [`FloodStats`].
#[derive(Debug, Default)]
struct FloodCounters {
    delivered: AtomicU64,
    relayed: AtomicU64,
    dropped: AtomicU64,
    propagated: AtomicU64,
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
    /// Port of CConnman::CConnman + CConnman::Init (net.h). Nothing runs until [`Self::start`].
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
        let listen = options.listen;
        let discover = options.discover;
        // Core's GetListenPort: the first -bind port, else -port, else the network's default
        // port (the port Discover() advertises our interface addresses with).
        let listen_port = options
            .binds
            .first()
            .map(SocketAddr::port)
            .filter(|p| *p != 0)
            .or(options.port)
            .unwrap_or(params.default_port);
        let inner = ConnmanInner {
            m_flood_counters: FloodCounters::default(),
            m_flood_seen: Mutex::new(SeenSet::new(
                options.flood_seen_max,
                options.flood_seen_max_age,
            )),
            m_important: Mutex::new(ImportantStore::new(
                options.important_max_count,
                options.important_max_bytes,
            )),
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
            m_nodes_mutex: Mutex::new(Vec::new()),
            m_nodes_disconnected: Mutex::new(Vec::new()),
            n_last_node_id: AtomicI64::new(0),
            interrupt_net: ThreadInterrupt::default(),
            flag_interrupt_msg_proc: AtomicBool::new(false),
            mutex_msg_proc: Mutex::new(false),
            cond_msg_proc: Condvar::new(),
            registry,
            waker,
            wake_pending: AtomicBool::new(false),
            poll: Mutex::new(Some(poll)),
            listeners: Mutex::new(Vec::new()),
            bound: Mutex::new(Vec::new()),
            sem_outbound: CountingSemaphore::new(i64::from(
                m_max_automatic_outbound.min(m_max_automatic_connections),
            )),
            sem_addnode: CountingSemaphore::new(i64::from(MAX_ADDNODE_CONNECTIONS)),
            m_max_inbound,
            m_max_automatic_outbound,
            n_total_bytes_recv: AtomicU64::new(0),
            n_total_bytes_sent: AtomicU64::new(0),
            peerman: PeerManager::new(),
            m_addr_response_caches: Mutex::new(AddrResponseCache::new(seeds)),
            seeds,
            reachable: default_reachable_nets(),
            local_host: LocalHostMap::new(listen_port, discover, listen),
            rng: Mutex::new(ChaCha20Rng::seed_from_u64(random_u64() ^ now as u64)),
            disconnects: Mutex::new(VecDeque::new()),
            m_addr_fetches: AddrFetchQueue::default(),
            f_addresses_initialized: AtomicBool::new(false),
            m_start_micros: AtomicI64::new(now.saturating_mul(1_000_000)),
        };
        // Core's AppInitMain: every -externalip is one of our addresses (LOCAL_MANUAL).
        for ip in &inner.opts.external_ips {
            inner
                .local_host
                .add_local(ip, crate::local_addr::LOCAL_MANUAL, &inner.reachable);
        }
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
            //DMITRY: -connect together with automatic outbound connections; Core: net.cpp::CConnman::Start; kept: refused to start ("Cannot provide specific connections and have addrman find outgoing connections at the same time.").
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
        *self.inner.mutex_msg_proc.lock() = false;
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

    fn spawn_named(&self, name: &str, f: impl FnOnce() + Send + 'static) -> io::Result<()> {
        let h = std::thread::Builder::new()
            .name(name.to_string())
            .spawn(f)?;
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

    /// Port of CScheduler::scheduleEvery (scheduler.cpp), on the connman: schedule `f` every `interval` on the "scheduler" thread (Core: `scheduleEvery`, e.g.
    /// `DumpAddresses` every [`DUMP_PEERS_INTERVAL`]).
    pub fn schedule_every(&self, interval: Duration, f: impl Fn() + Send + Sync + 'static) {
        self.inner.scheduler.schedule_every(interval, f);
    }

    /// Port of CConnman::Interrupt (net.cpp).
    pub fn interrupt(&self) {
        {
            let _g = self.inner.mutex_msg_proc.lock();
            self.inner
                .flag_interrupt_msg_proc
                .store(true, Ordering::SeqCst);
        }
        self.inner.cond_msg_proc.notify_all();
        self.inner.interrupt_net.interrupt();
        self.inner.scheduler.stop();
        let _ = self.inner.waker.wake();
        for _ in 0..self.inner.m_max_automatic_outbound {
            self.inner.sem_outbound.release();
        }
        for _ in 0..MAX_ADDNODE_CONNECTIONS {
            self.inner.sem_addnode.release();
        }
    }

    /// Port of CConnman::Stop (net.cpp): interrupt, join every thread, close every socket.
    pub fn stop(&self) {
        self.interrupt();
        let threads = std::mem::take(&mut *self.threads.lock());
        for t in threads {
            let _ = t.join();
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
    // ----- small accessors used by the peer manager -----

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
    /// Not in Core: our user agent.
    pub fn user_agent(&self) -> &str {
        &self.opts.user_agent
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
    /// Not in Core: the relay flag of our `version`: set on Logos networks (we relay `logos` payloads),
    /// clear on Bitcoin networks (we relay no transactions).
    pub fn relay_flag(&self) -> bool {
        !self.params.is_bitcoin()
    }
    /// Not in Core: whether the message handler was told to stop.
    pub fn flag_interrupt_msg_proc(&self) -> bool {
        self.flag_interrupt_msg_proc.load(Ordering::SeqCst)
    }

    /// Port of PeerManagerImpl::GetDesirableServiceFlags (net_processing.cpp), with the
    /// desirable set taken from the network parameters.
    pub fn get_desirable_service_flags(&self, services: ServiceFlags) -> ServiceFlags {
        //DMITRY: which services an outbound peer must offer; Core: net_processing.cpp::PeerManagerImpl::GetDesirableServiceFlags; changed: set from NetworkParams, and "close to tip" is always assumed (no chain here), so NODE_NETWORK_LIMITED peers qualify on Bitcoin networks.
        self.params.get_desirable_service_flags(services, true)
    }

    /// Port of PeerManagerImpl::HasAllDesirableServiceFlags (net_processing.cpp).
    pub fn has_all_desirable_service_flags(&self, services: ServiceFlags) -> bool {
        let want = self.get_desirable_service_flags(services);
        want.0 & !services.0 == 0
    }

    /// Port of MayHaveUsefulAddressDB (protocol.h), with the network's service bits.
    pub fn may_have_useful_address_db(&self, services: ServiceFlags) -> bool {
        self.params.may_have_useful_address_db(services)
    }

    /// Not in Core: whether addresses of this network are reachable (Core's `g_reachable_nets`).
    pub fn is_reachable(&self, addr: &CNetAddr) -> bool {
        self.reachable.contains_addr(addr)
    }

    /// Port of CNetAddr::IsLocal as MaybeDiscourageAndDisconnect uses it (net_processing.cpp): CNetAddr::IsLocal as used by MaybeDiscourageAndDisconnect, with the test switch.
    pub fn is_local_for_misbehaviour(&self, addr: &CService) -> bool {
        if self.opts.test_loopback_not_local {
            return false;
        }
        addr.addr.is_local()
    }

    pub(crate) fn addrman_set_services(&self, addr: &CService, s: ServiceFlags) {
        if let Some(a) = &self.addrman {
            a.set_services(addr, s);
        }
    }
    pub(crate) fn addrman_good(&self, addr: &CService) {
        if let Some(a) = &self.addrman {
            a.good(addr, self.now_secs());
        }
    }
    pub(crate) fn addrman_connected(&self, addr: &CService) {
        if let Some(a) = &self.addrman {
            a.connected(addr, self.now_secs());
        }
    }
    pub(crate) fn addrman_add(&self, v: &[CAddress], source: &CNetAddr, penalty: i64) {
        if let Some(a) = &self.addrman {
            if !v.is_empty() {
                a.add(v, source, penalty);
            }
        }
    }
    pub(crate) fn banman_discourage(&self, addr: &CService) {
        if let Some(b) = &self.m_banman {
            b.discourage(&addr.addr);
        }
    }
    pub(crate) fn banman_is_discouraged_or_banned_addr(&self, addr: &CNetAddr) -> bool {
        match &self.m_banman {
            Some(b) => b.is_discouraged(addr) || b.is_banned(addr),
            None => false,
        }
    }
    pub(crate) fn banman_is_discouraged_or_banned(&self, addr: &CService) -> bool {
        match &self.m_banman {
            Some(b) => b.is_discouraged(&addr.addr) || b.is_banned(&addr.addr),
            None => false,
        }
    }

    /// Not in Core: remember a disconnection (reason already set on the node).
    pub fn record_disconnect(&self, node: &CNode) {
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

    /// Not in Core: mark `node` for disconnection for `reason`, log Core's line for it, and remember it.
    pub fn disconnect_for(&self, node: &CNode, reason: DisconnectReason) {
        let peeraddr = node.addr.service.to_string_addr_port();
        log_reason(
            &reason,
            node.get_id(),
            self.log_ips().then_some(peeraddr.as_str()),
        );
        node.mark_disconnect(reason);
        self.record_disconnect(node);
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

    /// Port of CConnman::WakeMessageHandler (net.cpp).
    pub fn wake_message_handler(&self) {
        {
            let mut w = self.mutex_msg_proc.lock();
            *w = true;
        }
        self.cond_msg_proc.notify_one();
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
    fn calculate_keyed_net_group(&self, addr: &CNetAddr) -> u64 {
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

    /// Port of CConnman::CheckIncomingNonce (net.cpp).
    pub fn check_incoming_nonce(&self, nonce: u64) -> bool {
        let nodes = self.m_nodes_mutex.lock();
        !nodes.iter().any(|n| {
            !n.f_successfully_connected.load(Ordering::SeqCst)
                && !n.is_inbound_conn()
                && n.n_local_host_nonce == nonce
        })
    }

    /// Port of CConnman::FindNode (net.cpp), by address.
    pub fn find_node_by_addr(&self, addr: &CService) -> Option<Arc<CNode>> {
        self.m_nodes_mutex
            .lock()
            .iter()
            .find(|n| n.addr.service == *addr)
            .cloned()
    }

    /// Port of CConnman::FindNode (net.cpp), by name.
    pub fn find_node_by_name(&self, name: &str) -> Option<Arc<CNode>> {
        self.m_nodes_mutex
            .lock()
            .iter()
            .find(|n| n.m_addr_name == name)
            .cloned()
    }

    /// Port of CConnman::AlreadyConnectedToAddress (net.cpp).
    pub fn already_connected_to_address(&self, addr: &CService) -> bool {
        self.m_nodes_mutex
            .lock()
            .iter()
            .any(|n| n.addr.service == *addr || n.m_addr_name == addr.to_string_addr_port())
    }

    /// Port of CConnman::NodeFullyConnected (net.cpp).
    pub fn node_fully_connected(node: &CNode) -> bool {
        node.f_successfully_connected.load(Ordering::SeqCst) && !node.is_disconnecting()
    }

    /// Port of CConnman::NodesSnapshot (net.h): snapshot of the node list (Core's `NodesSnapshot`).
    pub fn nodes_snapshot(&self) -> Vec<Arc<CNode>> {
        self.m_nodes_mutex.lock().clone()
    }

    /// Port of CConnman::GetNodeCount (net.cpp): (inbound, outbound).
    pub fn get_node_count(&self) -> (usize, usize) {
        let nodes = self.m_nodes_mutex.lock();
        let inb = nodes.iter().filter(|n| n.is_inbound_conn()).count();
        (inb, nodes.len() - inb)
    }

    /// Not in Core: number of fully connected peers.
    pub fn fully_connected_count(&self) -> usize {
        self.m_nodes_mutex
            .lock()
            .iter()
            .filter(|n| Self::node_fully_connected(n))
            .count()
    }

    /// Port of CConnman::GetTotalBytesRecv and GetTotalBytesSent (net.cpp): total bytes received and sent (Core's `GetTotalBytesRecv` / `GetTotalBytesSent`).
    pub fn get_total_bytes(&self) -> (u64, u64) {
        (
            self.n_total_bytes_recv.load(Ordering::Relaxed),
            self.n_total_bytes_sent.load(Ordering::Relaxed),
        )
    }

    /// Not in Core: listening addresses actually bound (tests bind port 0 and read the port here).
    pub fn get_bound_addrs(&self) -> Vec<SocketAddr> {
        self.bound.lock().clone()
    }

    /// Not in Core: the first bound port, if listening.
    pub fn get_listen_port(&self) -> Option<u16> {
        self.bound.lock().first().map(|a| a.port())
    }

    /// Port of CConnman::GetNodeStats (net.cpp) with CNode::CopyStats.
    pub fn get_node_stats(&self) -> Vec<CNodeStats> {
        let now = self.now_micros();
        let nodes = self.nodes_snapshot();
        let mut v = Vec::with_capacity(nodes.len());
        for n in nodes {
            let (n_send_bytes, map_send) = {
                let s = n.cs_v_send.lock();
                (s.n_send_bytes, s.map_send_bytes_per_msg_type.clone())
            };
            let (n_recv_bytes, map_recv) = {
                let r = n.cs_v_recv.lock();
                (r.n_recv_bytes, r.map_recv_bytes_per_msg_type.clone())
            };
            let addr_local = match n.get_addr_local() {
                Some(a) if a.addr.is_valid() => a.to_string_addr_port(),
                _ => String::new(),
            };
            // Each lock is taken and released on its own: a guard held across the whole struct
            // expression would be held while the peer-state lock is taken below, the reverse of
            // the order the message handler uses in process_version (deadlock).
            let clean_sub_ver = n.m_subver_mutex.lock().clone();
            let state = self.peerman.get_node_state_stats(n.get_id(), now);
            v.push(CNodeStats {
                nodeid: n.get_id(),
                addr: n.addr.service,
                addr_local,
                addr_bind: n.addr_bind,
                m_addr_name: n.m_addr_name.clone(),
                m_conn_type: n.m_conn_type,
                m_connected: n.m_connected,
                m_last_send: n.m_last_send.load(Ordering::Relaxed),
                m_last_recv: n.m_last_recv.load(Ordering::Relaxed),
                n_send_bytes,
                map_send_bytes_per_msg_type: map_send,
                n_recv_bytes,
                map_recv_bytes_per_msg_type: map_recv,
                m_last_ping_time: n.m_last_ping_time.load(Ordering::Relaxed),
                m_min_ping_time: n.m_min_ping_time.load(Ordering::Relaxed),
                n_version: n.n_version.load(Ordering::Relaxed),
                clean_sub_ver,
                f_inbound: n.is_inbound_conn(),
                f_successfully_connected: n.f_successfully_connected.load(Ordering::Relaxed),
                their_services: n.their_services(),
                state,
                m_mapped_as: self.m_netgroupman.get_mapped_as(&n.addr.service.addr),
                m_permission_flags: n.m_permission_flags,
            });
        }
        v
    }

    /// Port of CConnman::DisconnectNode(NodeId) (net.cpp).
    pub fn disconnect_node_by_id(&self, id: NodeId) -> bool {
        let nodes = self.m_nodes_mutex.lock();
        for n in nodes.iter() {
            if n.get_id() == id {
                //DMITRY: operator asks to disconnect a peer by id (RPC disconnectnode); Core: net.cpp::CConnman::DisconnectNode; kept: the operator's call.
                self.disconnect_for(n, DisconnectReason::DisconnectById);
                return true;
            }
        }
        false
    }

    /// Port of CConnman::DisconnectNode(const std::string&) (net.cpp): by address string.
    pub fn disconnect_node_by_name(&self, str_node: &str) -> bool {
        let nodes = self.m_nodes_mutex.lock();
        let found = nodes.iter().find(|n| {
            n.m_addr_name == str_node || n.addr.service.to_string_addr_port() == str_node
        });
        if let Some(n) = found {
            //DMITRY: operator asks to disconnect a peer by address (RPC disconnectnode); Core: net.cpp::CConnman::DisconnectNode; kept: the operator's call.
            self.disconnect_for(
                n,
                DisconnectReason::DisconnectByAddress {
                    str_node: str_node.to_string(),
                },
            );
            return true;
        }
        false
    }

    /// Port of CConnman::DisconnectNode(const CSubNet&) (net.cpp).
    pub fn disconnect_node_by_subnet(&self, subnet: &CSubNet) -> bool {
        let mut disconnected = false;
        let nodes = self.m_nodes_mutex.lock();
        for n in nodes.iter() {
            if subnet.matches(&n.addr.service.addr) {
                //DMITRY: peer inside a subnet being banned or discouraged; Core: net.cpp::CConnman::DisconnectNode(const CSubNet&); kept: every connection from a banned/discouraged address goes.
                self.disconnect_for(
                    n,
                    DisconnectReason::DisconnectBySubnet {
                        subnet: subnet.to_string(),
                    },
                );
                disconnected = true;
            }
        }
        disconnected
    }

    /// Port of CConnman::DisconnectNode(const CNetAddr&) (net.cpp).
    pub fn disconnect_node_by_netaddr(&self, addr: &CNetAddr) -> bool {
        self.disconnect_node_by_subnet(&CSubNet::from_addr(*addr))
    }

    /// Port of CConnman::AddNode (net.cpp).
    pub fn add_node(&self, node: &str) -> bool {
        let resolved = netbase::lookup_numeric(node, self.params.default_port);
        let valid = resolved.addr.is_valid();
        let mut added = self.m_added_nodes_mutex.lock();
        for it in added.iter() {
            if it.m_added_node == node
                || (valid
                    && resolved
                        == netbase::lookup_numeric(&it.m_added_node, self.params.default_port))
            {
                return false;
            }
        }
        added.push(AddedNodeParams {
            m_added_node: node.to_string(),
        });
        true
    }

    /// Port of CConnman::RemoveAddedNode (net.cpp).
    pub fn remove_added_node(&self, node: &str) -> bool {
        let mut added = self.m_added_nodes_mutex.lock();
        if let Some(i) = added.iter().position(|a| a.m_added_node == node) {
            added.remove(i);
            return true;
        }
        false
    }

    /// Port of CConnman::GetAddedNodeInfo (net.cpp).
    pub fn get_added_node_info(&self, include_connected: bool) -> Vec<AddedNodeInfo> {
        let l_addresses = self.m_added_nodes_mutex.lock().clone();
        let mut map_connected: HashMap<CService, bool> = HashMap::new();
        let mut map_connected_by_name: HashMap<String, (bool, CService)> = HashMap::new();
        for n in self.nodes_snapshot() {
            if n.addr.service.addr.is_valid() {
                map_connected.insert(n.addr.service, n.is_inbound_conn());
            }
            if !n.m_addr_name.is_empty() {
                map_connected_by_name
                    .insert(n.m_addr_name.clone(), (n.is_inbound_conn(), n.addr.service));
            }
        }
        let mut ret = Vec::new();
        for p in l_addresses {
            let service = netbase::lookup_numeric(&p.m_added_node, self.params.default_port);
            let mut info = AddedNodeInfo {
                m_params: p.clone(),
                resolved_address: None,
                f_connected: false,
                f_inbound: false,
            };
            if service.addr.is_valid() {
                if let Some(inb) = map_connected.get(&service) {
                    if !include_connected {
                        continue;
                    }
                    info.resolved_address = Some(service);
                    info.f_connected = true;
                    info.f_inbound = *inb;
                }
            } else if let Some((inb, s)) = map_connected_by_name.get(&p.m_added_node) {
                if !include_connected {
                    continue;
                }
                info.resolved_address = Some(*s);
                info.f_connected = true;
                info.f_inbound = *inb;
            }
            ret.push(info);
        }
        ret
    }

    /// Port of CConnman::GetNetworkActive (net.h).
    pub fn get_network_active(&self) -> bool {
        self.f_network_active.load(Ordering::SeqCst)
    }

    /// Port of CConnman::SetNetworkActive (net.cpp).
    pub fn set_network_active(&self, active: bool) {
        log::info!("SetNetworkActive: {}", active);
        self.f_network_active.store(active, Ordering::SeqCst);
    }

    /// Port of CConnman::GetAddresses (net.cpp), not cached (`getnodeaddresses`).
    pub fn get_addresses(&self, max_addresses: usize, max_pct: usize) -> Vec<CAddress> {
        match &self.addrman {
            Some(a) => get_addresses(
                a,
                self.m_banman.as_deref(),
                max_addresses,
                max_pct,
                None,
                true,
            ),
            None => Vec::new(),
        }
    }

    /// Port of CConnman::GetAddresses(CNode&, ...) (net.cpp): the answer to a `getaddr`, cached
    /// per requestor network and local socket for 21–27 hours (addr_cache.rs).
    pub fn get_addresses_for(
        &self,
        requestor: &CNode,
        max_addresses: usize,
        max_pct: usize,
    ) -> Vec<CAddress> {
        let req = AddrRequestor {
            connected_through: requestor.addr.service.addr.get_net_class(),
            addr_bind: requestor.addr_bind,
            is_inbound: requestor.is_inbound_conn(),
        };
        let now = self.now_micros();
        let mut rng = self.rng.lock();
        self.m_addr_response_caches
            .lock()
            .get_addresses_with(&req, now, &mut *rng, || {
                self.get_addresses(max_addresses, max_pct)
            })
    }

    /// Not in Core: the secret seeds of deterministic randomizers (Core's `nSeed0`, `nSeed1`).
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

    // ----- sending -----

    /// Port of CConnman::PushMessage (net.cpp).
    pub fn push_message(&self, node: &CNode, msg: SerializedNetMsg) {
        self.push_message_impl(node, msg, true);
    }

    /// PushMessage for flooded `logos` payloads: queued and handed to the socket thread,
    /// which writes every queued message with one vectored write, instead of Core's
    /// optimistic write from the calling thread.
    fn push_message_deferred(&self, node: &CNode, msg: SerializedNetMsg) {
        //DMITRY: PushMessage's optimistic send; Core: net.cpp::CConnman::PushMessage; changed for small logos payloads only: the socket thread sends them, gathering a burst into one write (one syscall per message was the small-payload bottleneck); large ones keep Core's optimistic write.
        let optimistic = msg.data.len() >= DEFER_BELOW_BYTES;
        self.push_message_impl(node, msg, optimistic);
    }

    fn push_message_impl(&self, node: &CNode, msg: SerializedNetMsg, optimistic: bool) {
        log::debug!(target: "net", "sending {} ({} bytes) peer={}", msg.m_type, msg.data.len(), node.get_id());
        let mut n_bytes_sent = 0;
        let mut wake = false;
        {
            let mut st = node.cs_v_send.lock();
            let (to_send_empty, more) = {
                let (b, more, _) = st.transport.get_bytes_to_send(true);
                (b.is_empty(), more)
            };
            let queue_was_empty = to_send_empty && st.v_send_msg.is_empty();
            st.m_send_memusage += msg.get_memory_usage();
            if st.m_send_memusage + st.transport.get_send_memory_usage() > self.send_buffer_max() {
                node.f_pause_send.store(true, Ordering::SeqCst);
            }
            st.v_send_msg.push_back(msg);
            if optimistic && queue_was_empty && more {
                n_bytes_sent = self.socket_send_data(node, &mut st).0;
            } else if st.writable {
                wake = true;
            }
        }
        if n_bytes_sent > 0 {
            self.record_bytes_sent(n_bytes_sent as u64);
        }
        if wake {
            self.wake_socket_handler();
        }
    }

    fn send_buffer_max(&self) -> usize {
        self.opts.max_send_buffer.saturating_mul(1000)
    }

    fn recv_flood_size(&self) -> usize {
        self.opts.max_receive_buffer.saturating_mul(1000)
    }

    fn record_bytes_sent(&self, n: u64) {
        self.n_total_bytes_sent.fetch_add(n, Ordering::Relaxed);
    }

    fn record_bytes_recv(&self, n: u64) {
        self.n_total_bytes_recv.fetch_add(n, Ordering::Relaxed);
    }

    /// Port of CConnman::SocketSendData (net.cpp). Caller holds `cs_vSend`. Returns the bytes
    /// sent and whether data is left in the transport.
    ///
    /// One vectored write carries the rest of the transport's message and up to
    /// [`MAX_GATHER_MESSAGES`] queued messages after it (Core gets one segment train from
    /// `MSG_MORE`; without flags in std, gathering gives the same wire bytes with fewer calls).
    fn socket_send_data(&self, node: &CNode, st: &mut crate::node::SendState) -> (usize, bool) {
        let mut n_sent_size = 0usize;
        let data_left;
        loop {
            if !st.transport.is_busy() {
                if let Some(front) = st.v_send_msg.pop_front() {
                    let memusage = front.get_memory_usage();
                    match st.transport.set_message_to_send(front) {
                        Ok(()) => st.m_send_memusage -= memusage,
                        Err(back) => st.v_send_msg.push_front(back),
                    }
                }
            }
            // Headers of the queued messages that ride along in this write.
            {
                let crate::node::SendState {
                    transport,
                    v_send_msg,
                    ..
                } = &mut *st;
                let mut bytes = 0usize;
                for m in v_send_msg.iter_mut().take(MAX_GATHER_MESSAGES) {
                    if bytes >= MAX_GATHER_BYTES {
                        break;
                    }
                    if m.header.is_none() {
                        m.header = Some(transport.frame_header(m.m_type, &m.data));
                    }
                    bytes += m.data.len() + crate::transport::HEADER_SIZE;
                }
            }
            let (res, cur_len, has_type) = {
                let ([a, b], msg_type) = st.transport.get_bytes_to_send_vectored();
                if a.is_empty() && b.is_empty() {
                    data_left = false;
                    break;
                }
                let mut slices: Vec<io::IoSlice<'_>> =
                    Vec::with_capacity(2 + 2 * MAX_GATHER_MESSAGES);
                for x in [a, b] {
                    if !x.is_empty() {
                        slices.push(io::IoSlice::new(x));
                    }
                }
                let mut bytes = a.len() + b.len();
                for m in st.v_send_msg.iter().take(MAX_GATHER_MESSAGES) {
                    if bytes >= MAX_GATHER_BYTES {
                        break;
                    }
                    let Some(h) = m.header.as_ref() else {
                        break;
                    };
                    slices.push(io::IoSlice::new(h));
                    if !m.data.is_empty() {
                        slices.push(io::IoSlice::new(&m.data));
                    }
                    bytes += h.len() + m.data.len();
                }
                let mut sock = node.m_sock_mutex.lock();
                let Some(s) = sock.as_mut() else {
                    data_left = true;
                    break;
                };
                let res = if slices.len() == 1 {
                    s.write(&slices[0])
                } else {
                    s.write_vectored(&slices)
                };
                (res, a.len() + b.len(), !msg_type.is_empty())
            };
            match res {
                Ok(n) if n > 0 => {
                    node.m_last_send.store(self.now_secs(), Ordering::Relaxed);
                    st.n_send_bytes += n as u64;
                    n_sent_size += n;
                    // The transport's message first, then whole queued messages in order.
                    let k = n.min(cur_len);
                    if has_type {
                        account_sent_to_current(st, k);
                    }
                    st.transport.mark_bytes_sent(k);
                    let mut left = n - k;
                    while left > 0 {
                        let Some(m) = st.v_send_msg.pop_front() else {
                            break;
                        };
                        let memusage = m.get_memory_usage();
                        let total = crate::transport::HEADER_SIZE + m.data.len();
                        if let Err(back) = st.transport.set_message_to_send(m) {
                            st.v_send_msg.push_front(back);
                            break;
                        }
                        st.m_send_memusage -= memusage;
                        let k = left.min(total);
                        account_sent_to_current(st, k);
                        st.transport.mark_bytes_sent(k);
                        left -= k;
                    }
                }
                Ok(_) => {
                    data_left = true;
                    st.writable = false;
                    break;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    data_left = true;
                    st.writable = false;
                    break;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    //DMITRY: send() on the peer socket fails with a real error; Core: net.cpp::CConnman::SocketSendData; kept: close the socket.
                    self.disconnect_for(
                        node,
                        DisconnectReason::SocketSendError {
                            error: e.to_string(),
                        },
                    );
                    drop(node.close_socket_disconnect(self.log_ips()));
                    data_left = true;
                    break;
                }
            }
        }
        let pause =
            st.m_send_memusage + st.transport.get_send_memory_usage() > self.send_buffer_max();
        node.f_pause_send.store(pause, Ordering::SeqCst);
        (n_sent_size, data_left)
    }

    /// Queue `msg` to every fully connected peer except `except` (Core's `ForEachNode` +
    /// `PushMessage`). Returns how many peers got it.
    fn push_to_all(&self, msg: &SerializedNetMsg, except: Option<NodeId>) -> usize {
        let mut n = 0;
        if msg.data.len() < DEFER_BELOW_BYTES {
            // Small payloads are only queued (the socket thread writes them), so they are
            // pushed under `m_nodes_mutex` (Core's ForEachNode; lock order m_nodes_mutex →
            // cs_vSend) without allocating a snapshot per message.
            let nodes = self.m_nodes_mutex.lock();
            for node in nodes.iter() {
                if Some(node.get_id()) == except || !Self::node_fully_connected(node) {
                    continue;
                }
                self.push_message_deferred(node, msg.clone());
                n += 1;
            }
            return n;
        }
        // Large ones are written at once by this thread: no socket write under the lock.
        for node in self.nodes_snapshot() {
            if Some(node.get_id()) == except || !Self::node_fully_connected(&node) {
                continue;
            }
            self.push_message_deferred(&node, msg.clone());
            n += 1;
        }
        n
    }

    // ----- the logos flood -----

    /// Port of p2p_interface::PropagateMessage (logos/p2p/p2p.h, 2019 Logos layer): flood a `logos` payload from the upper layer: mark it seen, queue it to every fully
    /// connected peer. `false` only if there is no such peer (or the payload is too large).
    /// Important payloads are also kept for peers that connect later.
    pub fn propagate_message(&self, payload: &[u8]) -> bool {
        match self.prepare_logos(payload) {
            Some(p) => self.propagate_prepared(&p),
            None => false,
        }
    }

    /// Not in Core: the first half of [`Self::propagate_message`]: hash `payload` once and frame it
    /// (header with the checksum, shared payload). `None` if it is too large.
    pub fn prepare_logos(&self, payload: &[u8]) -> Option<PreparedLogos> {
        if payload.len() > self.max_message_length() as usize {
            log::warn!(target: "net", "propagate_message: payload of {} bytes exceeds the maximum message size", payload.len());
            return None;
        }
        let hash = self.params.hash_kind.hash(payload);
        let header = build_header(self.params.message_start, "logos", payload.len(), &hash);
        Some(PreparedLogos {
            hash,
            msg: SerializedNetMsg::framed("logos", Arc::new(payload.to_vec()), header),
        })
    }

    /// Not in Core: the second half of [`Self::propagate_message`] for a payload framed by
    /// [`Self::prepare_logos`]: mark it seen, keep it if important, queue it to every fully
    /// connected peer. `false` only if there is no such peer.
    pub fn propagate_prepared(&self, p: &PreparedLogos) -> bool {
        let (hash, msg) = (p.hash, &p.msg);
        let now = self.now_secs();
        self.m_flood_seen.lock().insert(hash, now);
        if self.upper.is_message_important(&msg.data) {
            if let Some(header) = msg.header {
                self.m_important
                    .lock()
                    .insert(hash, msg.data.clone(), header);
            }
        }
        let sent = self.push_to_all(msg, None) > 0;
        if sent {
            self.m_flood_counters
                .propagated
                .fetch_add(1, Ordering::Relaxed);
        }
        sent
    }

    /// Not in Core: the `logos` flood counters and the seen-set size (RPC `getlogosinfo`).
    pub fn flood_stats(&self) -> FloodStats {
        let c = &self.m_flood_counters;
        FloodStats {
            seen_set_size: self.m_flood_seen.lock().len(),
            delivered: c.delivered.load(Ordering::Relaxed),
            relayed: c.relayed.load(Ordering::Relaxed),
            dropped: c.dropped.load(Ordering::Relaxed),
            propagated: c.propagated.load(Ordering::Relaxed),
        }
    }

    fn max_message_length(&self) -> u32 {
        self.params
            .max_message_length
            .min(crate::transport::MAX_SIZE)
    }

    /// A `logos` message arrived from `node` (message handler thread): dedup by the payload
    /// hash the transport already computed, hand new payloads to the upper layer, relay
    /// accepted ones with the header they arrived with.
    pub(crate) fn process_logos(&self, node: &CNode, msg: &mut CNetMessage) {
        let now = self.now_secs();
        if !self.m_flood_seen.lock().insert(msg.m_hash, now) {
            self.m_flood_counters
                .dropped
                .fetch_add(1, Ordering::Relaxed);
            return;
        }
        self.m_flood_counters
            .delivered
            .fetch_add(1, Ordering::Relaxed);
        if !self.upper.receive_message(&msg.m_recv) {
            self.m_flood_counters
                .dropped
                .fetch_add(1, Ordering::Relaxed);
            //DMITRY: upper layer rejects a logos payload; Core: none (logos flood, logos/p2p/net_processing.cpp of the 2019 port); changed: dropped and not relayed, the peer is not punished (only the upper layer can judge payloads).
            log::debug!(target: "net", "logos message ({} bytes) from peer={} rejected by the upper layer", msg.m_recv.len(), node.get_id());
            return;
        }
        node.m_last_logos_time.store(now, Ordering::Relaxed);
        let important = self.upper.is_message_important(&msg.m_recv);
        // Filtered under the lock: no snapshot is allocated when there is no one to relay to.
        let targets: Vec<Arc<CNode>> = self
            .m_nodes_mutex
            .lock()
            .iter()
            .filter(|n| n.get_id() != node.get_id() && Self::node_fully_connected(n))
            .cloned()
            .collect();
        if targets.is_empty() && !important {
            return;
        }
        // The payload moves into the shared buffer every target's queue points at: no copy.
        let out = SerializedNetMsg::framed(
            "logos",
            Arc::new(std::mem::take(&mut msg.m_recv)),
            msg.m_header,
        );
        if important {
            self.m_important
                .lock()
                .insert(msg.m_hash, out.data.clone(), msg.m_header);
        }
        if !targets.is_empty() {
            self.m_flood_counters
                .relayed
                .fetch_add(1, Ordering::Relaxed);
        }
        for t in targets {
            self.push_message_deferred(&t, out.clone());
        }
    }

    /// Send every retained important payload to a peer that just completed its handshake.
    pub(crate) fn send_important_messages(&self, node: &CNode, peer: &mut crate::peerman::Peer) {
        if peer.m_important_sent {
            return;
        }
        peer.m_important_sent = true;
        let items = self.m_important.lock().items();
        for (data, header) in items {
            self.push_message(node, SerializedNetMsg::framed("logos", data, header));
        }
    }

    // ----- connections -----

    /// Port of CConnman::AttemptToEvictConnection (net.cpp).
    pub fn attempt_to_evict_connection(&self) -> bool {
        let candidates: Vec<NodeEvictionCandidate> = {
            let nodes = self.m_nodes_mutex.lock();
            nodes
                .iter()
                .filter(|n| !n.is_disconnecting())
                .map(|n| NodeEvictionCandidate {
                    id: n.get_id(),
                    m_connected: n.m_connected,
                    m_min_ping_time: n.m_min_ping_time.load(Ordering::Relaxed),
                    m_last_logos_time: n.m_last_logos_time.load(Ordering::Relaxed),
                    f_relevant_services: n.m_has_all_wanted_services.load(Ordering::Relaxed),
                    n_keyed_net_group: n.n_keyed_net_group,
                    prefer_evict: n.m_prefer_evict,
                    m_is_local: n.addr.service.addr.is_local(),
                    m_network: n.addr.service.addr.get_network(),
                    m_noban: n.has_permission(NetPermissionFlags::NO_BAN),
                    m_conn_type: n.m_conn_type,
                })
                .collect()
        };
        let Some(id) = select_node_to_evict(candidates) else {
            return false;
        };
        let nodes = self.m_nodes_mutex.lock();
        for n in nodes.iter() {
            if n.get_id() == id {
                //DMITRY: inbound slots full and a new inbound connection arrives; Core: net.cpp::CConnman::AttemptToEvictConnection; kept: the peer chosen by SelectNodeToEvict is disconnected.
                self.disconnect_for(
                    n,
                    DisconnectReason::Evicted {
                        conn_type: n.m_conn_type,
                    },
                );
                return true;
            }
        }
        false
    }

    /// Port of CConnman::CreateNodeFromAcceptedSocket (net.cpp).
    fn create_node_from_accepted_socket(
        &self,
        sock: mio::net::TcpStream,
        mut permission_flags: NetPermissionFlags,
        addr_bind: CService,
        addr: CService,
    ) {
        add_whitelist_permission_flags(
            &mut permission_flags,
            &addr.addr,
            &self.opts.whitelisted_range_incoming,
            self.opts.whitelist_relay,
            self.opts.whitelist_forcerelay,
        );
        let noban = has_flag(permission_flags, NetPermissionFlags::NO_BAN);
        let n_inbound = self
            .m_nodes_mutex
            .lock()
            .iter()
            .filter(|n| n.is_inbound_conn())
            .count() as i32;
        if !self.f_network_active.load(Ordering::SeqCst) {
            //DMITRY: inbound connection while the network is inactive; Core: net.cpp::CConnman::CreateNodeFromAcceptedSocket; kept: refused.
            self.record_refusal(
                &addr,
                DisconnectReason::InboundNotAccepting {
                    addr: addr.to_string_addr_port(),
                },
            );
            return;
        }
        if sock.set_nodelay(true).is_err() {
            log::debug!(target: "net", "connection from {}: unable to set TCP_NODELAY, continuing anyway", addr.to_string_addr_port());
        }
        let banned = self
            .m_banman
            .as_ref()
            .is_some_and(|b| b.is_banned(&addr.addr));
        if !noban && banned {
            //DMITRY: inbound connection from a banned address; Core: net.cpp::CConnman::CreateNodeFromAcceptedSocket; kept: refused unless the peer has the noban permission (-whitebind/-whitelist).
            self.record_refusal(
                &addr,
                DisconnectReason::InboundBanned {
                    addr: addr.to_string_addr_port(),
                },
            );
            return;
        }
        let discouraged = self
            .m_banman
            .as_ref()
            .is_some_and(|b| b.is_discouraged(&addr.addr));
        if !noban && n_inbound + 1 >= self.m_max_inbound && discouraged {
            //DMITRY: inbound connection from a discouraged address when inbound slots are (almost) full; Core: net.cpp::CConnman::CreateNodeFromAcceptedSocket; kept: refused unless the peer has the noban permission.
            self.record_refusal(
                &addr,
                DisconnectReason::InboundDiscouraged {
                    addr: addr.to_string_addr_port(),
                },
            );
            return;
        }
        if n_inbound >= self.m_max_inbound && !self.attempt_to_evict_connection() {
            //DMITRY: inbound slots full (-maxconnections) and no eviction candidate; Core: net.cpp::CConnman::CreateNodeFromAcceptedSocket; kept: the new connection is refused.
            self.record_refusal(&addr, DisconnectReason::InboundFull);
            return;
        }
        let id = self.get_new_node_id();
        let nonce = self.local_host_nonce(id);
        let node = Arc::new(CNode::new(
            CNodeInit {
                id,
                sock,
                addr: CAddress {
                    service: addr,
                    n_services: ServiceFlags(0),
                    n_time: 0,
                },
                n_keyed_net_group: self.calculate_keyed_net_group(&addr.addr),
                n_local_host_nonce: nonce,
                addr_bind,
                addr_name: String::new(),
                conn_type: ConnectionType::Inbound,
                recv_flood_size: self.recv_flood_size(),
                prefer_evict: discouraged,
                permission_flags,
                magic: self.params.message_start,
                hash_kind: self.params.hash_kind,
                max_message_length: self.max_message_length(),
                now_secs: self.now_secs(),
                grant: None,
            },
            self.log_ips(),
        ));
        if !self.register_node(&node) {
            return;
        }
        self.peerman
            .initialize_node(&node, self.m_local_services, self.now_micros());
        self.m_nodes_mutex.lock().push(node);
        log::debug!(target: "net", "connection from {} accepted", addr.to_string_addr_port());
    }

    fn register_node(&self, node: &CNode) -> bool {
        let mut sock = node.m_sock_mutex.lock();
        let Some(s) = sock.as_mut() else {
            return false;
        };
        let token = Token(NODE_TOKEN_BASE + node.get_id() as usize);
        match self
            .registry
            .register(s, token, Interest::READABLE | Interest::WRITABLE)
        {
            Ok(()) => true,
            Err(e) => {
                log::warn!(target: "net", "cannot register socket of peer={}: {}", node.get_id(), e);
                false
            }
        }
    }

    /// Port of CConnman::AcceptConnection (net.cpp): accept until the listener is drained.
    /// Peers take the listening socket's `-whitebind` permissions
    /// (Core's `ListenSocket::AddSocketPermissionFlags`).
    fn accept_connections(&self, listener: &ListenSocket) {
        loop {
            match listener.sock.accept() {
                Ok((sock, peer)) => {
                    let addr = CService::from_socket_addr(&peer);
                    let addr_bind = sock
                        .local_addr()
                        .map(|a| CService::from_socket_addr(&a))
                        .unwrap_or_default();
                    self.create_node_from_accepted_socket(
                        sock,
                        listener.permissions,
                        addr_bind,
                        addr,
                    );
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    log::info!("socket error accept failed: {}", e);
                    return;
                }
            }
        }
    }

    /// Port of CConnman::ConnectNode (net.cpp).
    fn connect_node(
        &self,
        addr_connect: &CAddress,
        dest: Option<&str>,
        f_count_failure: bool,
        conn_type: ConnectionType,
    ) -> Option<Arc<CNode>> {
        if dest.is_none() && self.find_node_by_addr(&addr_connect.service).is_some() {
            //DMITRY: asked to dial an address we are already connected to; Core: net.cpp::CConnman::ConnectNode; kept: no second connection.
            log_reason(&DisconnectReason::OutboundAlreadyConnected, -1, None);
            return None;
        }
        log::debug!(target: "net",
            "trying v1 connection {} lastseen={:.1}hrs",
            dest.map_or_else(|| addr_connect.service.to_string_addr_port(), str::to_string),
            if dest.is_some() {
                0.0
            } else {
                (self.now_secs() - addr_connect.n_time) as f64 / 3600.0
            }
        );
        // Addresses to try: every address a `-connect`/`-addnode` name resolves to (shuffled),
        // or `addr_connect`.
        let mut connect_to: Vec<CAddress> = Vec::new();
        match dest {
            Some(d) => {
                let resolver = self.opts.dns_resolver.clone();
                let mut resolved = netbase::lookup_multi(
                    d,
                    self.params.default_port,
                    true,
                    256,
                    &move |host: &str| resolve_name_with(resolver.as_ref(), host),
                );
                {
                    let mut rng = self.rng.lock();
                    for i in (1..resolved.len()).rev() {
                        let j = (rng.next_u64() % (i as u64 + 1)) as usize;
                        resolved.swap(i, j);
                    }
                }
                for r in resolved {
                    if !r.addr.is_valid() {
                        log::debug!(target: "net", "Resolver returned invalid address {} for {}", r.to_string_addr_port(), d);
                        return None;
                    }
                    if self.find_node_by_addr(&r).is_some() {
                        //DMITRY: -connect/-addnode name resolves to an address we are already connected to; Core: net.cpp::CConnman::ConnectNode; kept: no second connection.
                        log::info!(
                            "Not opening a connection to {}, already connected to {}",
                            d,
                            r.to_string_addr_port()
                        );
                        return None;
                    }
                    connect_to.push(CAddress {
                        service: r,
                        n_services: ServiceFlags(0),
                        n_time: 0,
                    });
                }
            }
            None => connect_to.push(*addr_connect),
        }
        let connector = self.connector.lock().clone();
        let mut connected = None;
        for target in connect_to {
            if !target.service.addr.is_valid() {
                continue;
            }
            // The loopback-only guard (test mode) sits in the connector: it sees the resolved
            // address, never the name.
            let res = connector.dial(
                &target.service,
                Duration::from_millis(self.opts.connect_timeout_ms),
            );
            if let Some(a) = &self.addrman {
                a.attempt(&target.service, f_count_failure, self.now_secs());
            }
            match res {
                Ok(s) => {
                    connected = Some((s, target));
                    break;
                }
                Err(e) if e.kind() == io::ErrorKind::TimedOut => {
                    //DMITRY: outbound connect does not complete within -timeout; Core: netbase.cpp::ConnectToSocket; kept: no connection, the attempt is counted in addrman.
                    log::debug!(target: "net", "connection attempt to {} timed out", target.service.to_string_addr_port());
                }
                Err(e) => {
                    let m = format!(
                        "connect() to {} failed: {}",
                        target.service.to_string_addr_port(),
                        e
                    );
                    if conn_type == ConnectionType::Manual {
                        log::info!("{m}");
                    } else {
                        log::debug!(target: "net", "{m}");
                    }
                }
            }
        }
        let (sock, target) = connected?;
        let addr_bind = sock
            .local_addr()
            .map(|a| CService::from_socket_addr(&a))
            .unwrap_or_default();
        // Only manual connections take `-whitelist=out,...` permissions (Core: the same).
        let mut permission_flags = NetPermissionFlags::NONE;
        let whitelist: &[NetWhitelistPermissions] = if conn_type == ConnectionType::Manual {
            &self.opts.whitelisted_range_outgoing
        } else {
            &[]
        };
        add_whitelist_permission_flags(
            &mut permission_flags,
            &target.service.addr,
            whitelist,
            self.opts.whitelist_relay,
            self.opts.whitelist_forcerelay,
        );
        let id = self.get_new_node_id();
        let node = Arc::new(CNode::new(
            CNodeInit {
                id,
                sock,
                n_keyed_net_group: self.calculate_keyed_net_group(&target.service.addr),
                n_local_host_nonce: self.local_host_nonce(id),
                addr_bind,
                addr_name: dest.unwrap_or("").to_string(),
                addr: target,
                conn_type,
                recv_flood_size: self.recv_flood_size(),
                prefer_evict: false,
                permission_flags,
                magic: self.params.message_start,
                hash_kind: self.params.hash_kind,
                max_message_length: self.max_message_length(),
                now_secs: self.now_secs(),
                grant: None,
            },
            self.log_ips(),
        ));
        if !self.register_node(&node) {
            return None;
        }
        Some(node)
    }

    /// Port of the name lookup in CConnman::ConnectNode (net.cpp, Core's `g_dns_lookup`):
    /// the addresses of `host` for a `-connect` / `-addnode` / `addnode` name, from
    /// [`Options::dns_resolver`] when set (tests), else the system resolver (getaddrinfo, as
    /// Core). Failures give no address.
    pub fn resolve_name(&self, host: &str) -> Vec<std::net::IpAddr> {
        resolve_name_with(self.opts.dns_resolver.as_ref(), host)
    }

    /// Port of CConnman::OpenNetworkConnection (net.cpp). `dest` is a `-connect`/`-addnode`
    /// string; otherwise `addr_connect` is dialled. The public seam for the "opencon" thread.
    pub fn open_network_connection(
        &self,
        addr_connect: &CAddress,
        f_count_failure: bool,
        grant: Option<SemaphoreGrant>,
        dest: Option<&str>,
        conn_type: ConnectionType,
    ) -> bool {
        if self.interrupt_net.is_set() || !self.f_network_active.load(Ordering::SeqCst) {
            return false;
        }
        match dest {
            None => {
                if self.banman_is_discouraged_or_banned(&addr_connect.service)
                    || self.already_connected_to_address(&addr_connect.service)
                {
                    return false;
                }
            }
            Some(d) => {
                if self.find_node_by_name(d).is_some() {
                    return false;
                }
            }
        }
        let Some(node) = self.connect_node(addr_connect, dest, f_count_failure, conn_type) else {
            return false;
        };
        *node.grant_outbound.lock() = grant;
        self.peerman
            .initialize_node(&node, self.m_local_services, self.now_micros());
        self.m_nodes_mutex.lock().push(node);
        self.wake_message_handler();
        true
    }

    /// Port of CConnman::AddConnection (net.cpp) for the automatic types.
    pub fn add_connection(&self, address: &str, conn_type: ConnectionType) -> bool {
        if matches!(conn_type, ConnectionType::Inbound | ConnectionType::Manual) {
            return false;
        }
        let Some(grant) = self.sem_outbound.try_acquire() else {
            return false;
        };
        self.open_network_connection(
            &CAddress {
                service: CService::default(),
                n_services: ServiceFlags(0),
                n_time: 0,
            },
            false,
            Some(grant),
            Some(address),
            conn_type,
        )
    }

    /// Port of CSemaphoreGrant::TryAcquire on semOutbound (net.cpp): take an outbound slot (Core's `semOutbound`) if one is free, for the "opencon" thread.
    pub fn try_acquire_outbound(&self) -> Option<SemaphoreGrant> {
        self.sem_outbound.try_acquire()
    }

    /// Port of CSemaphoreGrant::Acquire on semOutbound (net.cpp), bounded: take an outbound slot, waiting at most `timeout` (Core's blocking `semOutbound`
    /// acquire; `Interrupt` releases waiters, so check `interrupt_net` after a `None`).
    pub fn acquire_outbound(&self, timeout: Duration) -> Option<SemaphoreGrant> {
        self.sem_outbound.acquire_timeout(timeout)
    }

    /// Port of CConnman::AddAddrFetch (net.cpp): queue an address-fetch connection to `dest`.
    pub fn add_addr_fetch(&self, dest: &str) {
        self.m_addr_fetches.add_addr_fetch(dest);
    }

    /// Port of CConnman::ProcessAddrFetch (net.cpp): open the next queued address-fetch
    /// connection if an outbound slot is free.
    fn process_addr_fetch(&self) {
        let Some(dest) = self.m_addr_fetches.pop() else {
            return;
        };
        match self.sem_outbound.try_acquire() {
            Some(grant) => {
                self.open_network_connection(
                    &CAddress::new(CService::default(), ServiceFlags::NODE_NONE, 0),
                    false,
                    Some(grant),
                    Some(&dest),
                    ConnectionType::AddrFetch,
                );
            }
            None => {
                //DMITRY: address-fetch destination taken from the queue while every outbound slot is in use; Core: net.cpp::CConnman::ProcessAddrFetch; kept: dropped, not retried.
                log::debug!(target: "net", "no outbound slot for addr-fetch connection to {dest}");
            }
        }
    }

    /// Port of CConnman::AddedNodesContain (net.cpp).
    pub fn added_nodes_contain(&self, addr: &CAddress) -> bool {
        let addr_str = addr.service.addr.to_string_addr();
        let addr_port_str = addr.service.to_string_addr_port();
        let added = self.m_added_nodes_mutex.lock();
        added.len() < 24
            && added
                .iter()
                .any(|p| p.m_added_node == addr_str || p.m_added_node == addr_port_str)
    }

    /// Not in Core: every node of `m_nodes` as the outbound planner sees it.
    pub fn outbound_snapshot(&self) -> Vec<OutboundPeerInfo> {
        self.m_nodes_mutex
            .lock()
            .iter()
            .map(|n| OutboundPeerInfo {
                conn_type: n.m_conn_type,
                addr: n.addr.service,
                successfully_connected: n.f_successfully_connected.load(Ordering::SeqCst),
                disconnect: n.is_disconnecting(),
            })
            .collect()
    }

    /// Port of CConnman::GetFullOutboundConnCount (net.cpp).
    pub fn get_full_outbound_conn_count(&self) -> usize {
        get_full_outbound_conn_count(&self.outbound_snapshot())
    }

    /// Port of CConnman::ThreadOpenConnections (net.cpp): the "opencon" thread. With
    /// `-connect`, dial only those (manual connections) again and again; otherwise keep 8
    /// full-relay outbound connections and a feeler every 2 minutes from addrman, serve the
    /// address-fetch queue (`-seednode`, DNS seeds without answer), and add the fixed seeds
    /// when addrman is still empty after 60 s; the choices are open_connections.rs's.
    pub fn thread_open_connections(&self, connect: &[String], seed_nodes: Vec<String>) {
        if !connect.is_empty() {
            let mut n_loop: i64 = 0;
            loop {
                for s in connect {
                    self.open_network_connection(
                        &CAddress::new(CService::default(), ServiceFlags::NODE_NONE, 0),
                        false,
                        None,
                        Some(s),
                        ConnectionType::Manual,
                    );
                    for _ in 0..specified_outgoing_pause_slices(n_loop) {
                        if !self.interrupt_net.sleep_for(Duration::from_millis(500)) {
                            return;
                        }
                    }
                }
                if !self.interrupt_net.sleep_for(Duration::from_millis(500)) {
                    return;
                }
                //DMITRY: PerformReconnections (retry a failed v2 connection with v1); Core: net.cpp::CConnman::ThreadOpenConnections; removed: this port speaks v1 only, there is nothing to retry.
                n_loop += 1;
            }
        }
        let Some(addrman) = self.addrman.clone() else {
            log::warn!(target: "net", "no address manager: no automatic outbound connections");
            return;
        };
        let max_automatic_connections = self.opts.max_connections.max(0);
        let cfg = OpenConnectionsConfig {
            dnsseed: self.opts.dnsseed,
            fixedseeds: self.opts.fixedseeds,
            seed_nodes,
            max_outbound_full_relay: MAX_OUTBOUND_FULL_RELAY_CONNECTIONS
                .min(max_automatic_connections) as usize,
            max_automatic_connections: max_automatic_connections as usize,
            extra_network_peers: false,
        };
        let mut rng = ChaCha20Rng::seed_from_u64(random_u64());
        let mut planner = OpenConnectionsPlanner::new(
            cfg,
            self.m_start_micros.load(Ordering::SeqCst),
            addrman.size(None, None),
            &mut rng,
        );
        while !self.interrupt_net.is_set() {
            if let Some(seed) = planner.take_seed_node(addrman.size(None, None)) {
                self.m_addr_fetches.add_addr_fetch(&seed);
            }
            self.process_addr_fetch();
            if !self.interrupt_net.sleep_for(Duration::from_millis(500)) {
                return;
            }
            // Core's blocking semOutbound acquire; Interrupt releases every waiter.
            let grant = loop {
                if self.interrupt_net.is_set() {
                    return;
                }
                if let Some(g) = self
                    .sem_outbound
                    .acquire_timeout(Duration::from_millis(500))
                {
                    break g;
                }
            };
            if self.interrupt_net.is_set() {
                return;
            }
            let nodes = self.outbound_snapshot();
            let is_local = |a: &CService| self.local_host.is_local(a);
            let added_nodes_contain = |a: &CAddress| self.added_nodes_contain(a);
            let already_connected = |a: &CAddress| self.already_connected_to_address(&a.service);
            let added_node_params_empty = self.m_added_nodes_mutex.lock().is_empty();
            let ctx = PlanContext {
                addrman: &addrman,
                netgroupman: &self.m_netgroupman,
                reachable: &self.reachable,
                params: self.params,
                is_local: &is_local,
                added_nodes_contain: &added_nodes_contain,
                added_node_params_empty,
                already_connected_to_address: &already_connected,
            };
            let out = planner.plan(self.now_micros(), &nodes, &ctx, &mut rng);
            let Some(attempt) = out.connect else {
                continue;
            };
            if attempt.sleep_before_micros > 0
                && !self.interrupt_net.sleep_for(Duration::from_micros(
                    attempt.sleep_before_micros.unsigned_abs(),
                ))
            {
                return;
            }
            self.open_network_connection(
                &attempt.addr,
                attempt.count_failures,
                Some(grant),
                None,
                attempt.conn_type,
            );
        }
    }

    /// Port of CConnman::ThreadDNSAddressSeed (net.cpp): the "dnsseed" thread (the timing is
    /// dnsseed.rs's). Resolves through [`Options::dns_resolver`], else a resolver asking only
    /// [`Options::dns_nameserver`], else the system resolver.
    pub fn thread_dns_address_seed(&self) {
        let Some(addrman) = self.addrman.clone() else {
            return;
        };
        let resolver: Arc<dyn DnsResolver> =
            match (&self.opts.dns_resolver, self.opts.dns_nameserver) {
                (Some(r), _) => r.0.clone(),
                (None, Some(ns)) => match HickoryResolver::with_nameserver(ns) {
                    Ok(r) => Arc::new(r),
                    Err(e) => {
                        log::warn!("DNS resolver for nameserver {ns} unavailable: {e}");
                        Arc::new(NoDns)
                    }
                },
                (None, None) if self.opts.test_loopback_only => Arc::new(NoDns),
                (None, None) => match HickoryResolver::system() {
                    Ok(r) => Arc::new(r),
                    Err(e) => {
                        log::warn!("system DNS resolver unavailable: {e}");
                        Arc::new(NoDns)
                    }
                },
            };
        let cfg = DnsSeedConfig {
            dnsseed: self.opts.dnsseed,
            forcednsseed: self.opts.forcednsseed,
            seednode: !self.opts.seed_nodes.is_empty(),
            name_proxy: false,
        };
        let mut rng = ChaCha20Rng::seed_from_u64(random_u64());
        let mut planner = DnsSeedPlanner::new(
            cfg,
            self.params.dns_seeds,
            self.params.seeds_services,
            self.m_start_micros.load(Ordering::SeqCst),
            &mut rng,
        );
        dnsseed::thread_dns_address_seed(
            &mut planner,
            self,
            &addrman,
            &*resolver,
            self.params.default_port,
            &mut rng,
        );
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

    /// Port of CConnman::ThreadOpenAddedConnections (net.cpp).
    pub fn thread_open_added_connections(&self) {
        loop {
            let mut grant = self.sem_addnode.acquire_timeout(Duration::from_millis(500));
            if self.interrupt_net.is_set() {
                return;
            }
            let v_info = self.get_added_node_info(false);
            let mut tried = false;
            for info in v_info {
                let Some(g) = grant.take() else {
                    break;
                };
                tried = true;
                self.open_network_connection(
                    &CAddress {
                        service: CService::default(),
                        n_services: ServiceFlags(0),
                        n_time: 0,
                    },
                    false,
                    Some(g),
                    Some(&info.m_params.m_added_node),
                    ConnectionType::Manual,
                );
                if !self.interrupt_net.sleep_for(Duration::from_millis(500)) {
                    return;
                }
                grant = self.sem_addnode.try_acquire();
            }
            drop(grant);
            if !self
                .interrupt_net
                .sleep_for(Duration::from_secs(if tried { 60 } else { 2 }))
            {
                return;
            }
        }
    }

    // ----- the socket handler ("net") -----

    /// Port of CConnman::ShouldRunInactivityChecks (net.cpp).
    pub fn should_run_inactivity_checks(&self, node: &CNode, now_secs: i64) -> bool {
        crate::timeouts::should_run_inactivity_checks(
            node.m_connected,
            self.opts.peer_timeout,
            now_secs,
        )
    }

    /// Port of CConnman::InactivityCheck (net.cpp): the reason to drop `node`, if any (the
    /// decision is timeouts.rs's; the caller logs it).
    pub fn inactivity_check(&self, node: &CNode) -> Option<DisconnectReason> {
        let activity = NodeActivity {
            m_connected: node.m_connected,
            m_last_send: node.m_last_send.load(Ordering::Relaxed),
            m_last_recv: node.m_last_recv.load(Ordering::Relaxed),
            f_successfully_connected: node.f_successfully_connected.load(Ordering::SeqCst),
        };
        //DMITRY: inactivity (no first message within -peertimeout, 20-min send/receive silence, handshake timeout); Core: net.cpp::CConnman::InactivityCheck; kept: decided by timeouts.rs::inactivity_check.
        crate::timeouts::inactivity_check(&activity, self.opts.peer_timeout, self.now_secs())
    }

    /// Port of CConnman::DisconnectNodes (net.cpp).
    fn disconnect_nodes(&self) {
        let mut finalize = Vec::new();
        {
            let mut nodes = self.m_nodes_mutex.lock();
            if !self.f_network_active.load(Ordering::SeqCst) {
                for n in nodes.iter() {
                    if !n.is_disconnecting() {
                        //DMITRY: network switched off (setnetworkactive false); Core: net.cpp::CConnman::DisconnectNodes; kept: every peer disconnected.
                        self.disconnect_for(n, DisconnectReason::NetworkNotActive);
                    }
                }
            }
            let mut i = 0;
            while i < nodes.len() {
                if nodes[i].is_disconnecting() {
                    let n = nodes.swap_remove(i);
                    n.grant_outbound.lock().take();
                    drop(n.close_socket_disconnect(self.log_ips()));
                    self.m_nodes_disconnected.lock().push(n);
                } else {
                    i += 1;
                }
            }
        }
        {
            let mut disc = self.m_nodes_disconnected.lock();
            let mut i = 0;
            while i < disc.len() {
                if Arc::strong_count(&disc[i]) <= 1 {
                    finalize.push(disc.swap_remove(i));
                } else {
                    i += 1;
                }
            }
        }
        for n in finalize {
            self.peerman.finalize_node(self, &n);
        }
    }

    /// Port of CConnman::SocketHandler (net.cpp): wait for readiness, then serve every node and
    /// the listeners.
    fn socket_handler(
        &self,
        poll: &mut Poll,
        events: &mut Events,
        listeners: &[ListenSocket],
        recv_buf: &mut [u8],
    ) {
        let busy = self.nodes_snapshot().iter().any(|n| {
            (n.readable.load(Ordering::Relaxed) && !n.f_pause_recv.load(Ordering::Relaxed)) || {
                let st = n.cs_v_send.lock();
                st.writable
                    && (!st.v_send_msg.is_empty()
                        || !st.transport.get_bytes_to_send(false).0.is_empty())
            }
        });
        let timeout = if busy {
            Duration::ZERO
        } else {
            Duration::from_millis(SELECT_TIMEOUT_MILLISECONDS)
        };
        if let Err(e) = poll.poll(events, Some(timeout)) {
            if e.kind() != io::ErrorKind::Interrupted {
                log::warn!(target: "net", "poll failed: {}", e);
            }
        }
        self.wake_pending.store(false, Ordering::SeqCst);
        // Snapshot after the wait: a node registered during it is in the list, so no edge is
        // lost (new nodes also start readable and writable, see CNode::new).
        let snap = self.nodes_snapshot();
        let by_token: HashMap<usize, &Arc<CNode>> = snap
            .iter()
            .map(|n| (NODE_TOKEN_BASE + n.get_id() as usize, n))
            .collect();
        let mut listen_ready = vec![false; listeners.len()];
        for ev in events.iter() {
            let t = ev.token();
            if t == WAKER_TOKEN {
                continue;
            }
            if t.0 < listeners.len() {
                listen_ready[t.0] = true;
                continue;
            }
            if let Some(n) = by_token.get(&t.0) {
                if ev.is_readable() || ev.is_read_closed() || ev.is_error() {
                    n.readable.store(true, Ordering::Relaxed);
                }
                if ev.is_writable() || ev.is_write_closed() || ev.is_error() {
                    n.cs_v_send.lock().writable = true;
                }
            }
        }
        self.socket_handler_connected(&snap, recv_buf);
        for (i, l) in listeners.iter().enumerate() {
            if self.interrupt_net.is_set() {
                return;
            }
            if listen_ready[i] {
                self.accept_connections(l);
            }
        }
    }

    /// Port of CConnman::SocketHandlerConnected (net.cpp).
    fn socket_handler_connected(&self, nodes: &[Arc<CNode>], buf: &mut [u8]) {
        for node in nodes {
            if self.interrupt_net.is_set() {
                return;
            }
            if node.m_sock_mutex.lock().is_none() {
                continue;
            }
            let mut recv_set =
                node.readable.load(Ordering::Relaxed) && !node.f_pause_recv.load(Ordering::SeqCst);
            {
                let mut st = node.cs_v_send.lock();
                let has_data = !st.v_send_msg.is_empty()
                    || !st.transport.get_bytes_to_send(false).0.is_empty();
                if st.writable && has_data {
                    let (bytes_sent, data_left) = self.socket_send_data(node, &mut st);
                    drop(st);
                    if bytes_sent > 0 {
                        self.record_bytes_sent(bytes_sent as u64);
                        if data_left {
                            recv_set = false;
                        }
                    }
                }
            }
            if recv_set {
                self.receive_from_node(node, buf);
            }
            if !node.is_disconnecting() {
                if let Some(reason) = self.inactivity_check(node) {
                    //DMITRY: InactivityCheck fired (reasons in inactivity_check); Core: net.cpp::CConnman::SocketHandlerConnected; kept: fDisconnect is set after serving the socket.
                    self.disconnect_for(node, reason);
                }
            }
        }
    }

    /// The receive half of SocketHandlerConnected (net.cpp): read until `WouldBlock`, a
    /// pause, or the per-pass bound.
    fn receive_from_node(&self, node: &Arc<CNode>, buf: &mut [u8]) {
        for _ in 0..MAX_READS_PER_PASS {
            let res = {
                let mut sock = node.m_sock_mutex.lock();
                let Some(s) = sock.as_mut() else {
                    return;
                };
                match node.receive_payload_direct(s, self.now_micros()) {
                    Some(Ok((n, complete))) if n > 0 => {
                        drop(sock);
                        self.record_bytes_recv(n as u64);
                        if complete {
                            node.mark_received_msgs_for_processing();
                            self.wake_message_handler();
                            if node.f_pause_recv.load(Ordering::SeqCst) {
                                return;
                            }
                        }
                        continue;
                    }
                    Some(Ok(_)) => Ok(0),
                    Some(Err(e)) => Err(e),
                    None => s.read(buf),
                }
            };
            match res {
                Ok(0) => {
                    if !node.is_disconnecting() {
                        //DMITRY: peer closed the TCP connection; Core: net.cpp::CConnman::SocketHandlerConnected; kept: nothing more can be read.
                        self.disconnect_for(node, DisconnectReason::SocketClosed);
                    }
                    drop(node.close_socket_disconnect(self.log_ips()));
                    return;
                }
                Ok(n) => {
                    let r = node.receive_msg_bytes(&buf[..n], self.now_micros());
                    self.record_bytes_recv(n as u64);
                    match r {
                        Err(header_reason) => {
                            //DMITRY: transport error (wrong message start, oversize header); Core: net.cpp::CConnman::SocketHandlerConnected; kept: disconnect at once.
                            let peeraddr = node.addr.service.to_string_addr_port();
                            DisconnectReason::ReceiveMsgBytesFailed
                                .log(node.get_id(), self.log_ips().then_some(peeraddr.as_str()));
                            node.mark_disconnect(header_reason);
                            self.record_disconnect(node);
                            drop(node.close_socket_disconnect(self.log_ips()));
                            return;
                        }
                        Ok(notify) => {
                            if notify {
                                node.mark_received_msgs_for_processing();
                                self.wake_message_handler();
                            }
                        }
                    }
                    if node.f_pause_recv.load(Ordering::SeqCst) {
                        return;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    node.readable.store(false, Ordering::Relaxed);
                    return;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    if !node.is_disconnecting() {
                        //DMITRY: recv() fails with a real error (e.g. connection reset); Core: net.cpp::CConnman::SocketHandlerConnected; kept: the socket is unusable.
                        self.disconnect_for(
                            node,
                            DisconnectReason::SocketRecvError {
                                error: e.to_string(),
                            },
                        );
                    }
                    drop(node.close_socket_disconnect(self.log_ips()));
                    return;
                }
            }
        }
    }

    /// Port of CConnman::ThreadSocketHandler (net.cpp): the "net" thread.
    pub fn thread_socket_handler(&self, mut poll: Poll, listeners: Vec<ListenSocket>) {
        let mut events = Events::with_capacity(1024);
        // Core's 64 KiB receive buffer, allocated once for the thread (not per pass).
        let mut recv_buf = vec![0u8; RECV_CHUNK];
        while !self.interrupt_net.is_set() {
            self.disconnect_nodes();
            self.socket_handler(&mut poll, &mut events, &listeners, &mut recv_buf);
        }
    }

    /// Port of CConnman::ThreadMessageHandler (net.cpp): the "msghand" thread.
    pub fn thread_message_handler(&self) {
        while !self.flag_interrupt_msg_proc() {
            let mut f_more_work = false;
            let mut snap = self.nodes_snapshot();
            {
                let mut rng = self.rng.lock();
                for i in (1..snap.len()).rev() {
                    let j = (rng.next_u64() % (i as u64 + 1)) as usize;
                    snap.swap(i, j);
                }
            }
            for node in &snap {
                if node.is_disconnecting() {
                    continue;
                }
                let more = self.peerman.process_messages(self, node);
                f_more_work |= more && !node.f_pause_send.load(Ordering::SeqCst);
                if self.flag_interrupt_msg_proc() {
                    return;
                }
                self.peerman.send_messages(self, node);
                if self.flag_interrupt_msg_proc() {
                    return;
                }
            }
            drop(snap);
            let mut wake = self.mutex_msg_proc.lock();
            if !f_more_work && !*wake {
                let _ = self
                    .cond_msg_proc
                    .wait_for(&mut wake, Duration::from_millis(100));
            }
            *wake = false;
        }
    }

    /// Port of CConnman::StopNodes (net.cpp).
    fn stop_nodes(&self) {
        let nodes = std::mem::take(&mut *self.m_nodes_mutex.lock());
        for n in &nodes {
            if !n.is_disconnecting() {
                //DMITRY: node shutting down; Core: net.cpp::CConnman::StopNodes; kept: every peer is closed.
                self.disconnect_for(n, DisconnectReason::StoppingNode);
            }
            drop(n.close_socket_disconnect(self.log_ips()));
        }
        let disc = std::mem::take(&mut *self.m_nodes_disconnected.lock());
        for n in nodes.iter().chain(disc.iter()) {
            self.peerman.finalize_node(self, n);
        }
    }

    /// Port of PeerManagerImpl::SendPings (net_processing.cpp): ping every peer on the next
    /// message-handler pass (RPC `ping`).
    pub fn send_pings(&self) {
        self.peerman.send_pings();
        self.wake_message_handler();
    }
}

/// Port of the `g_dns_lookup` call in CConnman::ConnectNode (net.cpp): `resolver` when given,
/// else getaddrinfo through std. A failure gives no address.
fn resolve_name_with(resolver: Option<&SharedResolver>, host: &str) -> Vec<std::net::IpAddr> {
    let res = match resolver {
        Some(r) => r.0.lookup(host),
        None => {
            use std::net::ToSocketAddrs;
            (host, 0u16)
                .to_socket_addrs()
                .map(|it| it.map(|a| a.ip()).collect())
        }
    };
    res.unwrap_or_else(|e| {
        log::debug!(target: "net", "lookup of {host} failed: {e}");
        Vec::new()
    })
}

/// Not in Core: the resolver of a test-mode node given none, and the fallback when no
/// resolver can be built: every lookup fails (logged by the caller, never fatal).
struct NoDns;

impl DnsResolver for NoDns {
    fn lookup(&self, host: &str) -> io::Result<Vec<std::net::IpAddr>> {
        //DMITRY: DNS seed lookup in test mode without a resolver override (or with no usable resolver); Core: none (bitcoind always asks the system resolver); changed: refused so no test reaches a real DNS server; the seed then goes to addr-fetch as an unanswered seed does.
        Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!("no DNS resolver for {host}"),
        ))
    }
}

impl DnsSeedEnv for ConnmanInner {
    fn now_micros(&self) -> i64 {
        self.clock.now_micros()
    }

    fn sleep_until(&self, until_micros: i64) -> bool {
        // Sleep in short real-time slices and re-read the clock, so a mock clock moved by a
        // test is seen at once.
        loop {
            let now = self.clock.now_micros();
            if now >= until_micros {
                return !self.interrupt_net.is_set();
            }
            let slice = (until_micros - now).clamp(1, 100_000);
            if !self
                .interrupt_net
                .sleep_for(Duration::from_micros(slice.unsigned_abs()))
            {
                return false;
            }
        }
    }

    fn full_outbound_conn_count(&self) -> usize {
        self.get_full_outbound_conn_count()
    }

    fn network_active(&self) -> bool {
        self.get_network_active()
    }

    fn add_addr_fetch(&self, seed: &str) {
        self.m_addr_fetches.add_addr_fetch(seed);
    }
}

/// CNode::AccountForSentBytes for the message the transport is sending now, without
/// allocating its type string once the type has an entry (one lookup per message sent).
fn account_sent_to_current(st: &mut crate::node::SendState, sent_bytes: usize) {
    let crate::node::SendState {
        transport,
        map_send_bytes_per_msg_type,
        ..
    } = st;
    let (_, _, m_type) = transport.get_bytes_to_send(false);
    match map_send_bytes_per_msg_type.get_mut(m_type) {
        Some(v) => *v += sent_bytes as u64,
        None => {
            map_send_bytes_per_msg_type.insert(m_type.to_string(), sent_bytes as u64);
        }
    }
}
