//! The running node: the daemon's side of Bitcoin Core's `AppInitMain` (init.cpp), `Shutdown`
//! (init.cpp) and the shutdown wait of bitcoind.cpp.
//!
//! `logos-p2pd` is the library's [`P2p`] plus the RPC server: [`app_init_main`] turns the
//! daemon's options into a [`P2pConfig`] with the one mapping the library uses
//! ([`P2pConfig::from_node_options`]), stores the databases in `<network datadir>/p2p.lmdb`
//! (importing a bitcoind `peers.dat` / `banlist.json` found there on the first start) and
//! starts it with [`P2p::start`].

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use protocol::{Chain, NetworkParams};

use crate::api::{P2p, P2pConfig, P2pError, Storage, UiLevel};
use crate::datadir::DataDirs;
use crate::init::NodeOptions;

/// Port of SelectParams / Params (chainparams.cpp) by chain name: the network parameters
/// (`None` for a name `protocol` does not know).
pub fn chain_params(chain: &str) -> Option<&'static NetworkParams> {
    Chain::from_name(chain).map(NetworkParams::get)
}

/// Set when SIGINT or SIGTERM arrives (Core's shutdown signal), or a thread panicked (Core's
/// `AbortNode`, which also makes the exit status a failure).
#[derive(Clone, Debug)]
pub struct ShutdownSignal(Arc<AtomicBool>, Arc<AtomicBool>);

impl ShutdownSignal {
    /// Not in Core: a flag no signal is attached to (for embedding and tests).
    pub fn new() -> Self {
        ShutdownSignal(
            Arc::new(AtomicBool::new(false)),
            Arc::new(AtomicBool::new(false)),
        )
    }

    /// Port of node::ShutdownRequested: whether a shutdown was asked for.
    pub fn requested(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }

    /// Port of StartShutdown: asks for a shutdown.
    pub fn request(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Port of the shutdown half of AbortNode (node/abort.cpp): asks for a shutdown after a
    /// fatal error; the process then exits with status 1 (`exit_status = EXIT_FAILURE`).
    pub fn abort(&self) {
        self.1.store(true, Ordering::SeqCst);
        self.request();
    }

    /// Not in Core: whether [`Self::abort`] was called (Core's `exit_status`).
    pub fn aborted(&self) -> bool {
        self.1.load(Ordering::SeqCst)
    }

    /// Port of AbortNode (node/abort.cpp) for a thread that panicked, as a thread hook: the
    /// error logged with Core's text, then [`Self::abort`]. The P2P layer's threads report
    /// through [`P2pConfig::shutdown_request`] instead (the layer logs the text itself).
    pub fn thread_panic_hook(&self) -> net::thread::ThreadPanicHook {
        let s = self.clone();
        net::thread::ThreadPanicHook(Arc::new(move |name: &str, msg: &str| {
            log::error!("{}", crate::api::thread_panic_message(name, msg));
            s.abort();
        }))
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

/// Port of noui_InitMessage (noui.cpp) with the receivers connected by [`init_message_connect`]:
/// the daemon's user-interface messages. The layer logs every message (init ones as
/// `init message: <text>`); init messages also go to the receivers (the RPC warm-up status).
fn daemon_ui(level: UiLevel, text: &str) {
    if level == UiLevel::Init {
        let slots = INIT_MESSAGE_SLOTS
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        for slot in slots {
            slot(text);
        }
    }
}

/// Port of the P2P steps of AppInitMain (init.cpp) for the daemon: the layer started from the
/// options, with its databases in the network directory; a thread of the layer that panics
/// aborts the node (`shutdown`, exit status 1). The error is the text for InitError.
pub fn app_init_main(
    opts: &NodeOptions,
    dirs: &DataDirs,
    shutdown: &ShutdownSignal,
) -> Result<P2p, String> {
    let mut config = P2pConfig::from_node_options(opts).map_err(|e| error_text(&e))?;
    config.storage = Storage::DataDir(dirs.net.clone());
    config.ui = Some(Arc::new(daemon_ui));
    let signal = shutdown.clone();
    config.shutdown_request = Some(Arc::new(move || signal.abort()));
    P2p::start(config, Arc::new(net::AcceptAll)).map_err(|e| error_text(&e))
}

/// The message of a start-up error, as InitError shows it.
fn error_text(e: &P2pError) -> String {
    match e {
        P2pError::Config(s) | P2pError::Storage(s) | P2pError::Start(s) => s.clone(),
        P2pError::ShutDown => e.to_string(),
    }
}

/// Port of Interrupt (init.cpp), P2P part: the RPC server stops taking requests, the
/// connection manager's threads are told to stop.
pub fn interrupt(node: &P2p, rpc: Option<&crate::rpc::RpcServer>) {
    if let Some(rpc) = rpc {
        rpc.interrupt();
    }
    node.interrupt();
}

/// Port of Shutdown (init.cpp), P2P part: stops the RPC server (its cookie file removed), then
/// the layer (threads joined, addresses and ban list written, "Shutdown: done"). Returns the
/// exit status.
pub fn shutdown(node: P2p, rpc: Option<crate::rpc::RpcServer>) -> i32 {
    if let Some(rpc) = rpc {
        rpc.stop();
    }
    node.shutdown();
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A thread panic aborts the daemon: a shutdown is requested and the exit status will be 1
    /// (Core's AbortNode); a plain request (SIGTERM, `stop`) is not an abort.
    #[test]
    fn thread_panic_aborts() {
        let s = ShutdownSignal::new();
        s.request();
        assert!(s.requested() && !s.aborted());
        let s = ShutdownSignal::new();
        let hook = s.thread_panic_hook();
        (hook.0)("msghand", "boom");
        assert!(s.requested() && s.aborted());
    }
}
