//! The upper-layer API: what the Logos node calls, in Rust.
//!
//! A port of the 2019 Logos `p2p_interface` / `p2p_config` (logos/p2p/p2p.h, p2p.cpp) over this
//! crate's node: [`P2p::start`] builds the address manager, the ban list and `net::CConnman`
//! from a typed [`P2pConfig`] and starts the threads; the upper layer ([`UpperLayer`], net's
//! trait: `receive_message` or `verify_message`, `is_message_important`) is called on the
//! message-handler thread for every `logos` payload not seen before. Its quick [`Verdict`]
//! (accept, ignore, reject, or pending on other payloads) may be followed by a
//! [`FinalVerdict`] per payload id ([`P2p::final_verdict`]; ids from [`P2p::message_id`]).
//! [`P2p::shutdown`] (also run on drop) joins every thread and writes both databases.
//!
//! Storage is one key/value store ([`KvStore`]): the standalone `<datadir>/p2p.lmdb`
//! ([`Storage::DataDir`]), an LMDB environment the host opened ([`Storage::HostEnv`]), any other
//! implementation ([`Storage::Custom`], used by the C ABI for a raw `MDB_env *`), or memory.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use addrman::banman::{BanDb, BanDbError, BanMan, BanManClientInterface};
use addrman::store::{AddrManOptions, KvBanDb, Store, BANLIST_KEY, PEERS_KEY};
use addrman::AddrMan;
use net::thread::ThreadPanicHook;
use netbase::{CNetAddr, CService, CSubNet, NetGroupManager};
use parking_lot::Mutex;
use protocol::{CAddress, Chain, NetworkParams, ServiceFlags};
use rand_core::SeedableRng;

pub use addrman::store::{KvStore, StoreError};
pub use net::{FinalVerdict, MessageSource, UpperLayer, Verdict};

use crate::args::ArgsManager;
use crate::init::NodeOptions;

/// Port of userInterfaceMessageTypes (logos/p2p/p2p.h): the level of a user-interface message.
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UiLevel {
    /// `P2P_UI_INFO`.
    Info = 1,
    /// `P2P_UI_WARNING`.
    Warning = 2,
    /// `P2P_UI_ERROR`.
    Error = 4,
    /// `P2P_UI_INIT` (progress while starting).
    Init = 8,
}

/// The host's user-interface message callback (2019: `p2p_config::userInterfaceMessage`).
pub type UiCallback = Arc<dyn Fn(UiLevel, &str) + Send + Sync>;

/// Error of the API.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum P2pError {
    /// Bad option or configuration.
    Config(String),
    /// The databases could not be opened, read or written.
    Storage(String),
    /// The network could not be started (bind failure, thread spawn).
    Start(String),
    /// The instance was shut down.
    ShutDown,
}

impl fmt::Display for P2pError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            P2pError::Config(s) => write!(f, "configuration error: {s}"),
            P2pError::Storage(s) => write!(f, "storage error: {s}"),
            P2pError::Start(s) => write!(f, "cannot start: {s}"),
            P2pError::ShutDown => write!(f, "the P2P layer was shut down"),
        }
    }
}

impl std::error::Error for P2pError {}

/// A store in memory only (moved to the address manager's crate, where the fuzzers use it too).
pub use addrman::store::MemoryStore;

/// Where the address database and the ban list live (DESIGN.md "Storage").
#[derive(Clone)]
pub enum Storage {
    /// Standalone: `<dir>/p2p.lmdb` (`dir` is created if missing).
    DataDir(PathBuf),
    /// An LMDB environment and database the host already opened.
    HostEnv {
        /// The environment.
        env: Arc<lmdb::Environment>,
        /// The database our values go in.
        db: lmdb::Database,
    },
    /// Any other store (the C ABI's raw `MDB_env *`).
    Custom(Arc<dyn KvStore>),
    /// Memory only.
    Memory,
}

impl fmt::Debug for Storage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Storage::DataDir(p) => f.debug_tuple("DataDir").field(p).finish(),
            Storage::HostEnv { .. } => f.write_str("HostEnv"),
            Storage::Custom(s) => f.debug_tuple("Custom").field(&s.name()).finish(),
            Storage::Memory => f.write_str("Memory"),
        }
    }
}

impl Storage {
    /// Opens the store. A standalone data directory also takes a bitcoind `peers.dat` /
    /// `banlist.json` lying in it, on the first start (the store has no value of its own yet).
    fn open(&self, opts: &AddrManOptions<'_>) -> Result<Arc<dyn KvStore>, P2pError> {
        Ok(match self {
            Storage::DataDir(dir) => {
                let store = Store::open(dir).map_err(|e| {
                    P2pError::Storage(format!("Cannot open the address database: {e}"))
                })?;
                import_bitcoind_files(&store, dir, opts);
                Arc::new(store)
            }
            Storage::HostEnv { env, db } => Arc::new(Store::from_env(Arc::clone(env), *db)),
            Storage::Custom(s) => Arc::clone(s),
            Storage::Memory => Arc::new(MemoryStore::default()),
        })
    }
}

/// Port of DUMP_BANS_INTERVAL (banman.h): the ban list is written every 15 minutes.
pub const DUMP_BANS_INTERVAL: std::time::Duration = std::time::Duration::from_secs(15 * 60);

/// Name of a bitcoind address file imported on first start.
pub const PEERS_DAT_FILENAME: &str = "peers.dat";
/// Name of a bitcoind ban list file imported on first start.
pub const BANLIST_JSON_FILENAME: &str = "banlist.json";

/// Not in Core: imports a bitcoind `peers.dat` and `banlist.json` lying in the network
/// directory when the store has no value of its own yet (first start). A file that cannot be
/// read is reported and left alone; the node then starts empty.
fn import_bitcoind_files(store: &Store, dir: &std::path::Path, opts: &AddrManOptions<'_>) {
    let peers = dir.join(PEERS_DAT_FILENAME);
    if peers.is_file() && matches!(store.get(PEERS_KEY), Ok(None)) {
        match store.import_peers_dat(&peers, opts) {
            Ok(n) => log::info!("Imported {n} addresses from {}", peers.display()),
            Err(e) => log::warn!("Not importing {}: {e}", peers.display()),
        }
    }
    let banlist = dir.join(BANLIST_JSON_FILENAME);
    if banlist.is_file() && matches!(store.get(BANLIST_KEY), Ok(None)) {
        match store.import_banlist_json(&banlist) {
            Ok(parsed) => log::info!(
                "Imported {} banned node addresses/subnets from {}",
                parsed.bans.len(),
                banlist.display()
            ),
            Err(e) => log::warn!("Not importing {}: {e}", banlist.display()),
        }
    }
}

/// Port of p2p_config (logos/p2p/p2p.h), typed: what [`P2p::start`] needs.
#[derive(Clone)]
pub struct P2pConfig {
    /// The network (Logos networks hash with Blake2b-256, Bitcoin ones with SHA256d).
    pub chain: Chain,
    /// Where the databases live.
    pub storage: Storage,
    /// The connection manager's options (`-listen`, `-bind`, `-connect`, `-addnode`,
    /// `-maxconnections`, timeouts, buffers, flood bounds, important-message bounds, ...).
    pub net: net::Options,
    /// `-bantime`, seconds: default duration of [`P2p::add_to_blacklist`].
    pub bantime: i64,
    /// Test mode (2019: `p2p_config::test_mode`): never dial anything outside loopback.
    pub test_mode: bool,
    /// `-test=addrman`: deterministic address manager.
    pub deterministic_addrman: bool,
    /// `-checkaddrman`.
    pub check_addrman: i32,
    /// User-interface messages go here (none: only the log).
    pub ui: Option<UiCallback>,
    /// Not in Core: tests' `SetMockTime`: the connection manager, its scheduler (the periodic
    /// dumps) and the ban list read this clock instead of the wall clock.
    pub mock_clock: Option<Arc<net::clock::MockClock>>,
    /// Asks the host to shut the layer down (Core's `shutdown_request` of `AbortNode`): called
    /// after a thread of the layer panicked (the layer's threads are stopped already; the host
    /// still calls [`P2p::shutdown`]). `logos-p2pd` requests its shutdown here.
    pub shutdown_request: Option<ShutdownRequest>,
}

/// The host's shutdown request ([`P2pConfig::shutdown_request`]).
pub type ShutdownRequest = Arc<dyn Fn() + Send + Sync>;

impl fmt::Debug for P2pConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("P2pConfig")
            .field("chain", &self.chain)
            .field("storage", &self.storage)
            .field("net", &self.net)
            .field("bantime", &self.bantime)
            .field("test_mode", &self.test_mode)
            .field("ui", &self.ui.is_some())
            .field("mock_clock", &self.mock_clock.is_some())
            .field("shutdown_request", &self.shutdown_request.is_some())
            .finish()
    }
}

/// Option names that may be given more than once (2019: `P2P_OPTION_MULTI`).
pub const MULTI_OPTIONS: [&str; 16] = [
    "-addnode",
    "-bind",
    "-connect",
    "-debug",
    "-debugexclude",
    "-externalip",
    "-loglevel",
    "-onlynet",
    "-rpcallowip",
    "-rpcauth",
    "-rpcbind",
    "-seednode",
    "-test",
    "-uacomment",
    "-whitebind",
    "-whitelist",
];

impl P2pConfig {
    /// Not in Core: defaults for `chain` (listening on the network's default port on every
    /// interface, databases in memory).
    pub fn new(chain: Chain) -> Self {
        P2pConfig {
            chain,
            storage: Storage::Memory,
            net: net::Options::default(),
            bantime: crate::init::DEFAULT_MISBEHAVING_BANTIME,
            test_mode: false,
            deterministic_addrman: false,
            check_addrman: 0,
            ui: None,
            mock_clock: None,
            shutdown_request: None,
        }
    }

    /// Not in Core: a test configuration: `chain`, listening on 127.0.0.1 on a port the system
    /// picks, test mode (loopback-only dialling), databases in memory.
    pub fn loopback_test(chain: Chain) -> Self {
        let mut c = P2pConfig::new(chain);
        c.net.binds = vec![SocketAddr::from(([127, 0, 0, 1], 0))];
        c.net.test_loopback_only = true;
        c.test_mode = true;
        c
    }

    /// Port of p2p_internal::Init's argument handling (logos/p2p/p2p.cpp: ParseParameters,
    /// InitParameterInteraction, AppInitParameterInteraction): builds the config from
    /// bitcoind-style arguments through the one mapping `logos-p2pd` uses
    /// ([`crate::init::app_init_parameter_interaction`], then [`P2pConfig::from_node_options`]).
    /// `argv[0]` is the program name. Without `-datadir` the databases go in the default data
    /// directory (as `logos-p2pd`); `-test=loopbackonly` sets [`P2pConfig::test_mode`]. The
    /// config file is read as `logos-p2pd` reads it (`Self::read_config_files`): `-conf` or
    /// `logos-p2p.conf` in the data directory, with its `includeconf=` files and `[network]`
    /// sections; the command line wins over it. One difference from `logos-p2pd`: port 0
    /// (`-port=0`, `-bind=127.0.0.1:0`) is accepted, the system then picks a free port
    /// ([`P2p::listen_port`]), so a host can run several layers in one process.
    pub fn from_args<S: AsRef<str>>(argv: &[S]) -> Result<Self, P2pError> {
        let mut args = crate::init::server_args();
        args.parse_parameters(argv).map_err(P2pError::Config)?;
        if let Some(tok) = args.command().first() {
            return Err(P2pError::Config(format!(
                "Command line contains unexpected token '{tok}'"
            )));
        }
        Self::read_config_files(&mut args)?;
        let chain_name = args.get_chain_type().map_err(P2pError::Config)?;
        args.select_config_network(chain_name);
        crate::init::init_parameter_interaction(&mut args);
        let opts = crate::init::app_init_parameter_interaction(&args, chain_name, true)
            .map_err(P2pError::Config)?;
        // The directory is created when the store opens it (a host passing its own LMDB
        // environment replaces the storage and nothing is created).
        let net_dir = crate::datadir::get_data_dir_net(&args, chain_name).ok_or_else(|| {
            P2pError::Config(format!(
                "Specified data directory \"{}\" does not exist.",
                args.get_arg("-datadir", "")
            ))
        })?;
        let mut c = P2pConfig::from_node_options(&opts)?;
        c.storage = Storage::DataDir(net_dir);
        Ok(c)
    }

    /// Port of the `CConnman::Options` filling in AppInitMain (init.cpp): the one mapping from
    /// the node's validated options (what `logos-p2pd` and [`Self::from_args`] parse) to the
    /// layer's configuration. Storage stays in memory; the caller sets it.
    pub fn from_node_options(opts: &NodeOptions) -> Result<Self, P2pError> {
        let chain = Chain::from_name(opts.chain)
            .ok_or_else(|| P2pError::Config(format!("Unknown chain {}.", opts.chain)))?;
        // With no -bind and no -whitebind the list stays empty: the connection manager then
        // binds [::] and 0.0.0.0 on the port, as Core's bind_on_any (net/src/listen.rs).
        let binds = opts
            .binds
            .iter()
            .filter_map(|s| s.to_socket_addr())
            .collect();
        let net = net::Options {
            max_connections: opts.max_connections.clamp(0, i64::from(i32::MAX)) as i32,
            peer_timeout: opts.peer_connect_timeout,
            connect_timeout_ms: opts.connect_timeout_ms.max(1) as u64,
            listen: opts.listen,
            binds,
            port: Some(opts.port),
            white_binds: opts.white_binds.clone(),
            whitelisted_range_incoming: opts.whitelist_incoming.clone(),
            whitelisted_range_outgoing: opts.whitelist_outgoing.clone(),
            connect: opts.connect.clone(),
            add_nodes: opts.addnode.clone(),
            max_receive_buffer: (opts.receive_flood_size / 1000) as usize,
            max_send_buffer: (opts.send_buffer_max_size / 1000) as usize,
            log_ips: crate::logging::log_ips(),
            network_active: opts.network_active,
            announce: net::peerman::AnnounceOptions {
                enabled: opts.logos_relay_announce,
                ..net::peerman::AnnounceOptions::default()
            },
            user_agent: opts.user_agent.clone(),
            test_loopback_only: opts.test_loopback_only,
            test_loopback_not_local: opts.test_loopback_not_local,
            use_addrman_outgoing: opts.use_addrman_outgoing,
            seed_nodes: opts.seednode.clone(),
            dnsseed: opts.dnsseed,
            forcednsseed: opts.forcednsseed,
            fixedseeds: opts.fixedseeds,
            dump_addresses_interval: opts.dump_addresses_interval,
            discover: opts.discover,
            external_ips: opts.externalip.clone(),
            onlynet: opts.onlynet.clone(),
            ..net::Options::default()
        };
        Ok(P2pConfig {
            chain,
            storage: Storage::Memory,
            net,
            bantime: opts.bantime,
            test_mode: opts.test_loopback_only,
            deterministic_addrman: opts.deterministic_addrman,
            check_addrman: opts.check_addrman,
            ui: None,
            mock_clock: None,
            shutdown_request: None,
        })
    }

    /// Port of the config-file steps of common::InitConfig (common/init.cpp), as
    /// `logos-p2pd` runs them (init.rs `init_config`) but creating no directory (a host that
    /// passes its own LMDB environment gets nothing on disk): checks `-datadir`, reads the
    /// config file with [`ArgsManager::read_config_files`] (unknown keys logged and skipped,
    /// as Core), then checks a `datadir=` the file set.
    fn read_config_files(args: &mut ArgsManager) -> Result<(), P2pError> {
        if !crate::datadir::check_data_dir_option(args) {
            return Err(P2pError::Config(format!(
                "Specified data directory \"{}\" does not exist.",
                args.get_arg("-datadir", "")
            )));
        }
        let base = crate::datadir::get_data_dir_base(args).ok_or_else(|| {
            P2pError::Config(format!(
                "Specified data directory \"{}\" does not exist.",
                args.get_arg("-datadir", "")
            ))
        })?;
        args.read_config_files(&base, true)
            .map_err(|e| P2pError::Config(format!("Error reading configuration file: {e}")))?;
        if !crate::datadir::check_data_dir_option(args) {
            return Err(P2pError::Config(format!(
                "specified data directory \"{}\" does not exist.",
                args.get_arg("-datadir", "")
            )));
        }
        Ok(())
    }
}

/// One connected peer, as [`P2p::get_peers`] lists it (2019: the strings `get_peers` filled;
/// here Core's `CNodeStats` fields the host asked for).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerInfo {
    /// Node id (the paging cursor).
    pub id: i64,
    /// `ip:port` (`[v6]:port`).
    pub address: String,
    /// The peer connected to us.
    pub inbound: bool,
    /// Core's connection type string (`inbound`, `manual`, `outbound-full-relay`, ...).
    pub connection_type: String,
    /// Connected since, Unix seconds.
    pub connected_since: i64,
    /// Bytes sent to the peer.
    pub bytes_sent: u64,
    /// Bytes received from the peer.
    pub bytes_received: u64,
    /// Last ping round trip, microseconds (0: none yet).
    pub last_ping_micros: i64,
    /// The version handshake completed (messages flow).
    pub handshake_complete: bool,
}

/// One command-line option, for the host's `--help` (2019: TraverseCommandLineOptions).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OptionDesc {
    /// Name without the leading dash, e.g. `port` (as the 2019 callback gave it).
    pub name: String,
    /// What follows the name in `-help`, e.g. `=<port>` (empty for a switch).
    pub param: String,
    /// Description.
    pub description: String,
    /// `P2P_OPTION_ARGUMENT` (1) | `P2P_OPTION_MULTI` (2).
    pub flags: i32,
    /// The node's `ArgsManager` flags (`args::flags`).
    pub args_flags: u32,
}

/// 2019's `P2P_OPTION_ARGUMENT`: the option takes a value.
pub const P2P_OPTION_ARGUMENT: i32 = 1;
/// 2019's `P2P_OPTION_MULTI`: the option may be given several times.
pub const P2P_OPTION_MULTI: i32 = 2;

/// Port of p2p_interface::TraverseCommandLineOptions (logos/p2p/p2p.cpp): every option the
/// layer accepts, with its description and flags (from the node's option registry; the hidden
/// `-h` / `-?` aliases of `-help` are left out, as `-help` leaves them out).
pub fn options() -> Vec<OptionDesc> {
    crate::options()
        .into_iter()
        .filter(|o| o.category != crate::args::OptionsCategory::Hidden)
        .map(|o| {
            let mut flags = 0;
            if !o.help_param.is_empty() {
                flags |= P2P_OPTION_ARGUMENT;
            }
            if MULTI_OPTIONS.contains(&o.name.as_str()) {
                flags |= P2P_OPTION_MULTI;
            }
            OptionDesc {
                name: o.name.trim_start_matches('-').to_string(),
                param: o.help_param,
                description: o.help_text,
                flags,
                args_flags: o.flags,
            }
        })
        .collect()
}

/// Sends BanMan's progress messages to the host's UI callback.
struct UiBridge(Option<UiCallback>);

impl UiBridge {
    fn send(&self, level: UiLevel, text: &str) {
        match level {
            UiLevel::Error => log::error!("{text}"),
            UiLevel::Warning => log::warn!("{text}"),
            UiLevel::Init => log::info!("init message: {text}"),
            UiLevel::Info => log::info!("{text}"),
        }
        if let Some(cb) = &self.0 {
            cb(level, text);
        }
    }
}

impl BanManClientInterface for UiBridge {
    fn init_message(&self, message: &str) {
        self.send(UiLevel::Init, message);
    }
    fn banned_list_changed(&self) {}
}

struct Running {
    connman: net::CConnman,
    addrman: Arc<AddrMan>,
    banman: Arc<BanMan>,
    kv: Arc<dyn KvStore>,
    params: &'static NetworkParams,
    opts_deterministic: bool,
    opts_check: i32,
    bantime: i64,
}

impl Running {
    fn am_opts(&self) -> AddrManOptions<'static> {
        AddrManOptions {
            params: self.params,
            deterministic: self.opts_deterministic,
            consistency_check_ratio: self.opts_check,
        }
    }
}

/// Port of p2p_interface (logos/p2p/p2p.h): a running P2P layer.
pub struct P2p {
    state: Mutex<Option<Arc<Running>>>,
    ui: Arc<UiBridge>,
}

impl fmt::Debug for P2p {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("P2p")
            .field("running", &self.state.lock().is_some())
            .finish()
    }
}

/// Port of DumpPeerAddresses (addrdb.cpp) with CConnman::DumpAddresses's log line, for
/// `save_databases`.
fn save_addrman(
    kv: &dyn KvStore,
    addrman: &AddrMan,
    params: &NetworkParams,
) -> Result<(), StoreError> {
    let start = std::time::Instant::now();
    kv.dump_peer_addresses(addrman, params.message_start)?;
    log::debug!(
        target: "net",
        "Flushed {} addresses to peers.dat  {}ms",
        addrman.size(None, None),
        start.elapsed().as_millis()
    );
    Ok(())
}

/// Port of DumpPeerAddresses (addrdb.cpp) as the persistence hook of net's
/// `CConnman::DumpAddresses` (run every `DUMP_PEERS_INTERVAL` on the scheduler thread and once
/// at stop; net logs Core's "Flushed …" line): writes the address DB to `kv`, a failure going to
/// the host's UI callback, then runs the hook the host itself put in `net::Options`, if any. The
/// start of a write is logged at trace level (`-loglevel=net:trace`; not in Core), so a crash
/// test can tell a kill during a write from one between writes.
fn address_dump_hook(
    kv: Arc<dyn KvStore>,
    params: &'static NetworkParams,
    ui: Arc<UiBridge>,
    host: Option<net::connman::DumpAddressesHook>,
) -> net::connman::DumpAddressesHook {
    net::connman::DumpAddressesHook(Arc::new(move |addrman: &AddrMan| {
        log::trace!(target: "net", "Writing the address database to {}", kv.value_name(PEERS_KEY));
        if let Err(e) = kv.dump_peer_addresses(addrman, params.message_start) {
            ui.send(
                UiLevel::Error,
                &format!("Failed to write the address database: {e}"),
            );
        }
        if let Some(h) = &host {
            (h.0)(addrman);
        }
    }))
}

/// Port of the message of AbortNode (node/abort.cpp) for a thread that panicked.
pub fn thread_panic_message(thread: &str, panic: &str) -> String {
    format!("A fatal internal error occurred, see debug.log for details: the {thread} thread panicked: {panic}")
}

/// Port of AbortNode (node/abort.cpp) as the hook of a thread that panicked: the error goes
/// to the user interface as Core's InitError text ("A fatal internal error occurred, see
/// debug.log for details: …"), then the host's shutdown request runs (`logos-p2pd`: the same
/// shutdown as SIGTERM, exit status 1), then a hook the host put in `net::Options`, if any.
fn abort_node_hook(
    ui: Arc<UiBridge>,
    shutdown_request: Option<ShutdownRequest>,
    host: Option<ThreadPanicHook>,
) -> ThreadPanicHook {
    ThreadPanicHook(Arc::new(move |name: &str, msg: &str| {
        ui.send(UiLevel::Error, &thread_panic_message(name, msg));
        if let Some(request) = &shutdown_request {
            request();
        }
        if let Some(h) = &host {
            (h.0)(name, msg);
        }
    }))
}

fn parse_subnet(addr: &str) -> Option<CSubNet> {
    if addr.contains('/') {
        let s = netbase::lookup_subnet(addr);
        return s.is_valid().then_some(s);
    }
    let s = netbase::lookup_numeric(addr, 0);
    s.addr.is_valid().then(|| CSubNet::from_addr(s.addr))
}

fn parse_netaddr(addr: &str) -> Option<CNetAddr> {
    let s = netbase::lookup_numeric(addr, 0);
    s.addr.is_valid().then_some(s.addr)
}

impl P2p {
    /// Port of p2p_interface::Init (logos/p2p/p2p.cpp): opens the databases, loads the
    /// address manager and the ban list, builds the connection manager with `upper` and starts
    /// its threads; the addresses and bans are written every 15 minutes and at shutdown.
    pub fn start(config: P2pConfig, upper: Arc<dyn UpperLayer>) -> Result<P2p, P2pError> {
        let ui = Arc::new(UiBridge(config.ui.clone()));
        match Self::start_inner(config, upper, &ui) {
            Ok(r) => {
                ui.send(UiLevel::Init, "Done loading");
                Ok(P2p {
                    state: Mutex::new(Some(Arc::new(r))),
                    ui,
                })
            }
            Err(e) => {
                ui.send(UiLevel::Error, &e.to_string());
                Err(e)
            }
        }
    }

    /// Port of the P2P steps of AppInitMain (init.cpp), the one start-up path of the library
    /// and of `logos-p2pd`: file descriptors, store, address manager, ban list, connection
    /// manager; starts the threads and schedules the periodic dumps.
    fn start_inner(
        config: P2pConfig,
        upper: Arc<dyn UpperLayer>,
        ui: &Arc<UiBridge>,
    ) -> Result<Running, P2pError> {
        let params = NetworkParams::get(config.chain);
        let am_opts = AddrManOptions {
            params,
            deterministic: config.deterministic_addrman,
            consistency_check_ratio: config.check_addrman,
        };
        let mut net_opts = config.net.clone();
        if config.test_mode {
            net_opts.test_loopback_only = true;
        }
        net_opts.max_connections = crate::init::clamp_max_connections_to_fds(
            net_opts.max_connections,
            net_opts.binds.len() + net_opts.white_binds.len(),
        )
        .map_err(P2pError::Start)?;
        let kv = config.storage.open(&am_opts)?;
        log::info!("Using /16 prefix for IP bucketing");
        ui.send(UiLevel::Init, "Loading P2P addresses\u{2026}");
        let (addrman, recovered) = kv
            .load_addrman_or_move_aside(NetGroupManager::new(), &am_opts)
            .map_err(|e| P2pError::Storage(format!("Cannot read the address database: {e}")))?;
        if let Some(e) = recovered {
            ui.send(
                UiLevel::Warning,
                &format!("The address database could not be read and was moved aside; starting with no addresses ({e})"),
            );
        }
        let addrman = Arc::new(addrman);
        let mut seed_rng = addrman::FastRandomContext::new(false);
        let mut rng = rand_chacha::ChaCha20Rng::from_seed(seed_rng.rand256());
        let (net_clock, ban_clock): (Arc<dyn net::clock::Clock>, Arc<dyn addrman::clock::Clock>) =
            match &config.mock_clock {
                Some(c) => (Arc::clone(c) as _, Arc::clone(c) as _),
                None => (
                    Arc::new(net::clock::SystemClock),
                    Arc::new(addrman::SystemClock),
                ),
            };
        let banman = Arc::new(BanMan::new(
            Box::new(KvBanDb(Arc::clone(&kv))),
            Some(Arc::clone(ui) as Arc<dyn BanManClientInterface>),
            config.bantime,
            ban_clock,
            &mut rng,
        ));
        // One periodic address dump: net's (every `dump_addresses_interval` and at stop), into
        // the store; a hook the host put in `config.net` runs inside it.
        net_opts.on_dump_addresses = Some(address_dump_hook(
            Arc::clone(&kv),
            params,
            Arc::clone(ui),
            net_opts.on_dump_addresses.take(),
        ));
        // A thread that panics stops the layer (net interrupts its threads) and asks the host
        // to shut it down, as Core's AbortNode.
        net_opts.on_thread_panic = Some(abort_node_hook(
            Arc::clone(ui),
            config.shutdown_request.clone(),
            net_opts.on_thread_panic.take(),
        ));
        let listen = net_opts.listen;
        let connman = net::CConnman::new(
            net_opts,
            params,
            net_clock,
            Some(Arc::clone(&banman)),
            Some(Arc::clone(&addrman)),
            upper,
        )
        .map_err(|e| P2pError::Start(format!("Cannot create the connection manager: {e}")))?;
        ui.send(UiLevel::Init, "Starting network threads\u{2026}");
        connman.start().map_err(|e| {
            P2pError::Start(if listen {
                format!("Failed to listen on any port. Use -listen=0 if you want this. ({e})")
            } else {
                format!("Cannot start the network threads: {e}")
            })
        })?;
        {
            let banman = Arc::clone(&banman);
            connman.schedule_every(DUMP_BANS_INTERVAL, move || banman.dump_banlist());
        }
        Ok(Running {
            connman,
            addrman,
            banman,
            kv,
            params,
            opts_deterministic: config.deterministic_addrman,
            opts_check: config.check_addrman,
            bantime: config.bantime,
        })
    }

    fn running(&self) -> Option<Arc<Running>> {
        self.state.lock().clone()
    }

    /// Port of p2p_interface::PropagateMessage (logos/p2p/p2p.h): floods `msg` to every
    /// connected peer (handshake done) and marks it seen; an important payload
    /// ([`UpperLayer::is_message_important`]) is also kept for peers that connect later.
    /// `false` only if no peer is connected (or the payload exceeds the message size cap, or
    /// the layer was shut down).
    pub fn propagate_message(&self, msg: &[u8]) -> bool {
        match self.running() {
            Some(r) => r.connman.propagate_message(msg),
            None => false,
        }
    }

    /// Not in Core: the upper layer's final verdict on the payload with id `id`
    /// ([`Self::message_id`]), for the checks it skipped at its quick [`Verdict::Accept`].
    /// [`FinalVerdict::Invalid`]: the payload is no longer served to peers, a later copy is
    /// dropped, and payloads waiting for it are dropped; the peers that relayed it are not
    /// punished. Applied by the message handler on its next pass; may be called from any
    /// thread, also from inside a callback. `false` if the layer was shut down.
    pub fn final_verdict(&self, id: &[u8; 32], verdict: FinalVerdict) -> bool {
        match self.running() {
            Some(r) => {
                r.connman.final_verdict(*id, verdict);
                true
            }
            None => false,
        }
    }

    /// Not in Core: the id of a `logos` payload on this network (its network hash: Blake2b-256
    /// on Logos networks): what [`UpperLayer::verify_message`] is given and what
    /// [`Verdict::Pending`] and [`Self::final_verdict`] take. `None` if the layer was shut
    /// down.
    pub fn message_id(&self, msg: &[u8]) -> Option<[u8; 32]> {
        self.running().map(|r| r.params.hash_kind.hash(msg))
    }

    /// Port of p2p_interface::add_peers (logos/p2p/p2p.cpp): each `ip[:port]` (default port of
    /// the network) is added to the address manager (routable addresses only, as Core's
    /// AddrMan) and to the added-node list (Core's `addnode add`: kept connected), and dialled
    /// once at once (`addnode onetry`). Returns how many entries were valid addresses.
    pub fn add_peers<S: AsRef<str>>(&self, peers: &[S]) -> usize {
        let Some(r) = self.running() else {
            return 0;
        };
        let mut valid = Vec::new();
        for p in peers {
            let s = p.as_ref();
            let svc = netbase::lookup_numeric(s, r.params.default_port);
            if !svc.addr.is_valid() || svc.get_port() == 0 {
                log::warn!("add_peers: cannot parse address '{s}'");
                continue;
            }
            valid.push((s.to_string(), svc));
        }
        if valid.is_empty() {
            return 0;
        }
        let now = r.connman.now_secs();
        let addrs: Vec<CAddress> = valid
            .iter()
            .map(|(_, svc)| CAddress {
                service: *svc,
                n_services: ServiceFlags::NODE_NONE,
                n_time: now,
            })
            .collect();
        r.addrman.add(&addrs, &addrs[0].service.addr, 2 * 60 * 60);
        for (name, svc) in &valid {
            // Dial first, then add to the list: the "addcon" thread skips an added node that
            // is connected, so it cannot race this dial into a second connection.
            if !r.connman.already_connected_to_address(svc) {
                r.connman.open_network_connection(
                    &addrs[0],
                    false,
                    None,
                    Some(name),
                    net::connection_type::ConnectionType::Manual,
                );
            }
            r.connman.add_node(name);
        }
        valid.len()
    }

    /// Not in Core: [`Self::add_peers`] for typed addresses.
    pub fn add_peer_services(&self, peers: &[CService]) -> usize {
        let v: Vec<String> = peers.iter().map(|s| s.to_string_addr_port()).collect();
        self.add_peers(&v)
    }

    /// Port of CConnman::GetNodeStats (net.cpp) for the host: every peer, by node id, from
    /// one [`net::CConnman::get_node_stats`](net::ConnmanInner::get_node_stats) snapshot (one pass
    /// over the node list).
    pub fn peers(&self) -> Vec<PeerInfo> {
        let Some(r) = self.running() else {
            return Vec::new();
        };
        let mut v: Vec<PeerInfo> = r
            .connman
            .get_node_stats()
            .into_iter()
            .map(|n| PeerInfo {
                id: n.nodeid,
                address: n.addr.to_string_addr_port(),
                inbound: n.f_inbound,
                connection_type: n.m_conn_type.as_str().to_string(),
                connected_since: n.m_connected,
                bytes_sent: n.n_send_bytes,
                bytes_received: n.n_recv_bytes,
                last_ping_micros: n.m_last_ping_time,
                handshake_complete: n.f_successfully_connected,
            })
            .collect();
        v.sort_by_key(|p| p.id);
        v
    }

    /// Port of p2p_interface::get_peers (logos/p2p/p2p.h): at most `max` peers with node id
    /// `>= cursor`, in id order, and the cursor of the next page (`None`: no more peers).
    /// Node ids only grow (Core's GetNewNodeId), so a walk from cursor 0 while peers come and go
    /// lists every peer connected throughout exactly once and no peer twice; peers that connect
    /// during the walk appear at its end or not at all.
    pub fn get_peers(&self, cursor: i64, max: usize) -> (Vec<PeerInfo>, Option<i64>) {
        let all = self.peers();
        let mut rest = all.into_iter().filter(|p| p.id >= cursor).peekable();
        let page: Vec<PeerInfo> = rest.by_ref().take(max).collect();
        let next = rest.peek().map(|p| p.id);
        (page, next)
    }

    /// Port of p2p_interface::add_to_blacklist (logos/p2p/p2p.cpp): bans the address (or
    /// `a.b.c.d/n` subnet) for `-bantime` and disconnects matching peers (Core's `setban add`).
    /// `false` if `addr` does not parse.
    pub fn add_to_blacklist(&self, addr: &str) -> bool {
        let Some(r) = self.running() else {
            return false;
        };
        let Some(subnet) = parse_subnet(addr) else {
            return false;
        };
        r.banman.ban_subnet(&subnet, r.bantime, false);
        //DMITRY: the host blacklists an address (2019 add_to_blacklist, called when validation fails); Core: rpc/net.cpp::setban (BanMan::Ban + CConnman::DisconnectNode(subnet)); kept: ban, then
        // disconnect every matching peer.
        r.connman.disconnect_node_by_subnet(&subnet);
        true
    }

    /// Port of p2p_interface::is_blacklisted (logos/p2p/p2p.cpp): whether an unexpired ban
    /// covers `addr`.
    pub fn is_blacklisted(&self, addr: &str) -> bool {
        match (self.running(), parse_netaddr(addr)) {
            (Some(r), Some(a)) => r.banman.is_banned(&a),
            _ => false,
        }
    }

    /// Port of p2p_interface::load_databases (logos/p2p/p2p.cpp): reads the stored address
    /// database and ban list and merges them into the running ones (addresses added, tried
    /// ones marked good; bans re-applied with their expiry). `false` if a value could not be
    /// read.
    pub fn load_databases(&self) -> bool {
        let Some(r) = self.running() else {
            return false;
        };
        let mut ok = true;
        match r.kv.read_addrman(NetGroupManager::new(), &r.am_opts()) {
            Ok(Some(stored)) => {
                for tried in [false, true] {
                    for (info, _) in stored.get_entries(tried) {
                        r.addrman
                            .add(std::slice::from_ref(&info.addr), &info.source, 0);
                        if tried {
                            r.addrman.good(&info.addr.service, info.m_last_success);
                        }
                    }
                }
            }
            Ok(None) => {}
            Err(e) => {
                self.ui.send(UiLevel::Error, &e.to_string());
                ok = false;
            }
        }
        match KvBanDb(Arc::clone(&r.kv)).read() {
            Ok(bans) => {
                for (subnet, entry) in bans {
                    r.banman.ban_subnet(&subnet, entry.n_ban_until, true);
                }
                // Core's setban disconnects the peers a new ban covers; merged bans do too.
                r.connman.disconnect_banned();
            }
            Err(BanDbError::NotFound { .. }) => {}
            Err(e) => {
                self.ui.send(UiLevel::Error, &e.to_string());
                ok = false;
            }
        }
        ok
    }

    /// Port of p2p_interface::save_databases (logos/p2p/p2p.cpp): writes the address database
    /// (Core's DumpAddresses) and the ban list (Core's DumpBanlist), each in one transaction.
    pub fn save_databases(&self) -> bool {
        let Some(r) = self.running() else {
            return false;
        };
        Self::save(&r, &self.ui)
    }

    fn save(r: &Running, ui: &UiBridge) -> bool {
        let mut ok = true;
        if let Err(e) = save_addrman(r.kv.as_ref(), &r.addrman, r.params) {
            ui.send(
                UiLevel::Error,
                &format!("Failed to write the address database: {e}"),
            );
            ok = false;
        }
        if let Err(e) = KvBanDb(Arc::clone(&r.kv)).write(&r.banman.get_banned()) {
            ui.send(
                UiLevel::Error,
                &format!("Failed to write the ban list: {e}"),
            );
            ok = false;
        }
        ok
    }

    /// Port of p2p_interface::TraverseCommandLineOptions (logos/p2p/p2p.cpp); see [`options`].
    pub fn options() -> Vec<OptionDesc> {
        options()
    }

    /// Not in Core: the first port the layer listens on (tests bind port 0 and read it here).
    pub fn listen_port(&self) -> Option<u16> {
        self.running().and_then(|r| r.connman.get_listen_port())
    }

    /// Not in Core: the network this instance runs on.
    pub fn params(&self) -> Option<&'static NetworkParams> {
        self.running().map(|r| r.params)
    }

    /// Port of p2p_interface::Shutdown (logos/p2p/p2p.cpp) with Shutdown (init.cpp): stops
    /// and joins every thread, closes every socket, writes both databases. Idempotent; also
    /// run on drop. Must not be called from inside an upper-layer or UI callback (those run
    /// on the threads it joins).
    pub fn shutdown(&self) {
        let Some(r) = self.state.lock().take() else {
            return;
        };
        log::info!("Shutdown: In progress...");
        // CConnman::Stop joins the threads, then writes the addresses (DumpAddresses); the
        // ban list follows (Core: DumpBanlist in Shutdown).
        r.connman.stop();
        r.banman.dump_banlist();
        self.ui.send(UiLevel::Info, "Shutdown: done");
    }

    /// Port of Interrupt (init.cpp), P2P part: tell the threads to stop (before
    /// [`Self::shutdown`], which joins them).
    pub fn interrupt(&self) {
        if let Some(r) = self.running() {
            r.connman.interrupt();
        }
    }

    /// Not in Core: the objects the RPC server reaches (Core's `NodeContext`), while running.
    pub fn rpc_handles(&self) -> Option<crate::rpc_backend::NodeHandles> {
        self.running().map(|r| crate::rpc_backend::NodeHandles {
            connman: r.connman.shared(),
            addrman: Arc::clone(&r.addrman),
            banman: Arc::clone(&r.banman),
            params: r.params,
        })
    }

    /// Not in Core: whether [`Self::shutdown`] ran.
    pub fn is_shut_down(&self) -> bool {
        self.state.lock().is_none()
    }
}

impl Drop for P2p {
    fn drop(&mut self) {
        self.shutdown();
    }
}
