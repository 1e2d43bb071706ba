//! The running node: a port of the P2P steps of Bitcoin Core's `AppInitMain` (init.cpp: load
//! the address manager and the ban list, build and start `CConnman`, schedule the periodic
//! dumps), of `Shutdown` (init.cpp) and of the shutdown wait of bitcoind.cpp.
//!
//! Persistence goes through `addrman::store::Store` (`<network datadir>/p2p.lmdb`). On the first
//! start with an empty store, a bitcoind `peers.dat` / `banlist.json` found in the network
//! directory is imported.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use addrman::banman::BanMan;
use addrman::store::{AddrManOptions, Store, BANLIST_KEY, PEERS_KEY};
use addrman::AddrMan;
use netbase::NetGroupManager;
use protocol::{Chain, NetworkParams};
use rand_core::SeedableRng;

use crate::datadir::DataDirs;
use crate::init::NodeOptions;

/// Port of DUMP_BANS_INTERVAL (banman.h): the ban list is written every 15 minutes.
pub const DUMP_BANS_INTERVAL: Duration = Duration::from_secs(15 * 60);

/// Name of a bitcoind address file imported on first start.
pub const PEERS_DAT_FILENAME: &str = "peers.dat";
/// Name of a bitcoind ban list file imported on first start.
pub const BANLIST_JSON_FILENAME: &str = "banlist.json";

/// Port of SelectParams / Params (chainparams.cpp) by chain name: the network parameters
/// (`None` for a name `protocol` does not know).
pub fn chain_params(chain: &str) -> Option<&'static NetworkParams> {
    Chain::from_name(chain).map(NetworkParams::get)
}

/// Set when SIGINT or SIGTERM arrives (Core's shutdown signal).
#[derive(Clone, Debug)]
pub struct ShutdownSignal(Arc<AtomicBool>);

impl ShutdownSignal {
    /// Not in Core: a flag no signal is attached to (for embedding and tests).
    pub fn new() -> Self {
        ShutdownSignal(Arc::new(AtomicBool::new(false)))
    }

    /// Port of node::ShutdownRequested: whether a shutdown was asked for.
    pub fn requested(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }

    /// Port of StartShutdown: asks for a shutdown.
    pub fn request(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

impl Default for ShutdownSignal {
    fn default() -> Self {
        Self::new()
    }
}

/// Port of the signal setup of bitcoind (init.cpp `registerSignalHandler(SIGTERM/SIGINT,
/// HandleSIGTERM)`): both signals set the shutdown flag; nothing else runs in the handler.
pub fn install_shutdown_signals() -> Result<ShutdownSignal, String> {
    let s = ShutdownSignal::new();
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, Arc::clone(&s.0))
            .map_err(|e| format!("Cannot install the handler of signal {sig}: {e}"))?;
    }
    Ok(s)
}

/// Port of the shutdown wait of bitcoind.cpp's main (`node.shutdown_signal->wait()`): polls
/// the flag every 100 ms.
pub fn wait_for_shutdown(s: &ShutdownSignal) {
    while !s.requested() {
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Port of noui_InitMessage (noui.cpp): progress messages go to the log as
/// `init message: <text>`. The ban list's change notification has nothing to refresh here.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoUi;

impl NoUi {
    /// Port of noui_InitMessage (noui.cpp), with the receivers connected by
    /// [`init_message_connect`] called after it (Core's `uiInterface.InitMessage` signal).
    pub fn init_message(message: &str) {
        log::info!("init message: {message}");
        let slots = INIT_MESSAGE_SLOTS
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        for slot in slots {
            slot(message);
        }
    }
}

/// A receiver of init messages.
pub type InitMessageSlot = Arc<dyn Fn(&str) + Send + Sync>;

/// Receivers of the init messages (Core's `uiInterface.InitMessage` signal).
static INIT_MESSAGE_SLOTS: std::sync::Mutex<Vec<InitMessageSlot>> =
    std::sync::Mutex::new(Vec::new());

/// Port of CClientUIInterface::InitMessage_connect (node/interface_ui.cpp): `slot` receives every
/// init message from now on (bitcoind connects `SetRPCWarmupStatus`).
pub fn init_message_connect(slot: InitMessageSlot) {
    INIT_MESSAGE_SLOTS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(slot);
}

impl addrman::banman::BanManClientInterface for NoUi {
    fn init_message(&self, message: &str) {
        NoUi::init_message(message);
    }

    fn banned_list_changed(&self) {}
}

/// What a started node holds (Core's `NodeContext`, P2P part).
pub struct Node {
    /// The connection manager and its threads.
    pub connman: net::CConnman,
    /// The address manager.
    pub addrman: Arc<AddrMan>,
    /// The ban list.
    pub banman: Arc<BanMan>,
    /// Where both are persisted.
    pub store: Store,
    /// The network.
    pub params: &'static NetworkParams,
}

/// Port of DumpPeerAddresses (addrdb.cpp) as the node's persistence hook: writes the address
/// DB to the store. `net::CConnman` calls it every [`net::connman::DUMP_PEERS_INTERVAL`] and at stop, and logs
/// Core's "Flushed … addresses to peers.dat" line itself. The start of a write is logged at
/// trace level only (`-loglevel=net:trace`; not in Core), so a crash test can tell a kill
/// during a write from one between writes.
pub fn dump_peer_addresses(store: &Store, addrman: &AddrMan, params: &NetworkParams) {
    log::trace!(target: "net",
        "Writing the address database to {}", store.value_name(PEERS_KEY));
    if let Err(e) = store.dump_peer_addresses(addrman, params.message_start) {
        log::error!("Failed to write the address database: {e}");
    }
}

/// Not in Core: imports a bitcoind `peers.dat` and `banlist.json` lying in the network
/// directory when the store has no value of its own yet (first start). A file that cannot be read is reported and
/// left alone; the node then starts empty.
pub fn import_bitcoind_files(store: &Store, dir: &Path, opts: &AddrManOptions<'_>) {
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

/// Port of the `CConnman::Options` filling in AppInitMain (init.cpp): the connection manager's
/// options from the node's options.
pub fn connman_options(
    opts: &NodeOptions,
    on_dump_addresses: Option<net::connman::DumpAddressesHook>,
) -> net::Options {
    // With no -bind and no -whitebind the list stays empty: the connection manager then binds
    // [::] and 0.0.0.0 on `port`, as Core's bind_on_any (net/src/listen.rs).
    let binds = opts
        .binds
        .iter()
        .filter_map(|s| s.to_socket_addr())
        .collect();
    net::Options {
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
        user_agent: opts.user_agent.clone(),
        test_loopback_only: opts.test_loopback_only,
        test_loopback_not_local: opts.test_loopback_not_local,
        use_addrman_outgoing: opts.use_addrman_outgoing,
        seed_nodes: opts.seednode.clone(),
        dnsseed: opts.dnsseed,
        forcednsseed: opts.forcednsseed,
        fixedseeds: opts.fixedseeds,
        on_dump_addresses,
        dump_addresses_interval: opts.dump_addresses_interval,
        discover: opts.discover,
        external_ips: opts.externalip.clone(),
        ..net::Options::default()
    }
}

/// Port of the P2P steps of AppInitMain (init.cpp): store, address manager, ban list,
/// connection manager; starts the threads and schedules the periodic dumps.
pub fn app_init_main(opts: &NodeOptions, dirs: &DataDirs) -> Result<Node, String> {
    let params =
        chain_params(opts.chain).ok_or_else(|| format!("Unknown chain {}.", opts.chain))?;
    if !opts.onlynet.is_empty() {
        log::warn!("-onlynet is not supported by this version yet; ignored");
    }

    let store =
        Store::open(&dirs.net).map_err(|e| format!("Cannot open the address database: {e}"))?;
    let am_opts = AddrManOptions {
        params,
        deterministic: opts.deterministic_addrman,
        consistency_check_ratio: opts.check_addrman,
    };
    import_bitcoind_files(&store, &dirs.net, &am_opts);

    log::info!("Using /16 prefix for IP bucketing");
    NoUi::init_message("Loading P2P addresses\u{2026}");
    let (addrman, recovered) = store
        .load_addrman_or_move_aside(NetGroupManager::new(), &am_opts)
        .map_err(|e| format!("Cannot read the address database: {e}"))?;
    if let Some(e) = recovered {
        log::warn!("The address database could not be read and was moved aside; starting with no addresses ({e})");
    }
    let addrman = Arc::new(addrman);

    let mut seed_rng = addrman::FastRandomContext::new(false);
    let mut rng = rand_chacha::ChaCha20Rng::from_seed(seed_rng.rand256());
    let banman = Arc::new(BanMan::new(
        Box::new(store.clone()),
        Some(Arc::new(NoUi)),
        opts.bantime,
        Arc::new(addrman::SystemClock),
        &mut rng,
    ));

    let hook = {
        let store = store.clone();
        net::connman::DumpAddressesHook(Arc::new(move |addrman: &AddrMan| {
            dump_peer_addresses(&store, addrman, params)
        }))
    };
    let connman = net::CConnman::new(
        connman_options(opts, Some(hook)),
        params,
        Arc::new(net::clock::SystemClock),
        Some(Arc::clone(&banman)),
        Some(Arc::clone(&addrman)),
        Arc::new(net::AcceptAll),
    )
    .map_err(|e| format!("Cannot create the connection manager: {e}"))?;
    connman.start().map_err(|e| {
        if opts.listen {
            format!("Failed to listen on any port. Use -listen=0 if you want this. ({e})")
        } else {
            format!("Cannot start the network threads: {e}")
        }
    })?;
    NoUi::init_message("Starting network threads\u{2026}");
    {
        let banman = Arc::clone(&banman);
        connman.schedule_every(DUMP_BANS_INTERVAL, move || banman.dump_banlist());
    }
    NoUi::init_message("Done loading");
    Ok(Node {
        connman,
        addrman,
        banman,
        store,
        params,
    })
}

/// Port of Interrupt (init.cpp), P2P part: the RPC server stops taking requests, the
/// connection manager's threads are told to stop.
pub fn interrupt(node: &Node, rpc: Option<&crate::rpc::RpcServer>) {
    if let Some(rpc) = rpc {
        rpc.interrupt();
    }
    node.connman.interrupt();
}

/// Port of Shutdown (init.cpp), P2P part: stops the RPC server (its cookie file removed), stops
/// the threads, writes the addresses and the ban list, logs "Shutdown: done". Returns the exit
/// status.
pub fn shutdown(node: Node, rpc: Option<crate::rpc::RpcServer>) -> i32 {
    log::info!("Shutdown: In progress...");
    if let Some(rpc) = rpc {
        rpc.stop();
    }
    let Node {
        connman, banman, ..
    } = node;
    // CConnman::Stop writes the addresses (DumpAddresses) after its threads are joined.
    connman.stop();
    drop(connman);
    banman.dump_banlist();
    log::info!("Shutdown: done");
    0
}
