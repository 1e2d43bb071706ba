//! bitcoind's JSON-RPC interface for this node, so the real `bitcoin-cli` (and any script
//! written for bitcoind) can drive it.
//!
//! Layers, as in Core:
//! - [`http`]: the HTTP server (`httpserver.cpp`): binding, allow-list, work queue, limits.
//! - [`auth`]: credentials (`httprpc.cpp`, `rpc/request.cpp`): `.cookie`, `-rpcuser` /
//!   `-rpcpassword`, `-rpcauth`.
//! - [`server`]: the command table and JSON-RPC 1.0/2.0 envelopes (`rpc/server.cpp`).
//! - [`util`]: argument checking and help text (`rpc/util.cpp`).
//! - [`univalue`]: answers written as Core's `UniValue` writes them (key order, numbers).
//! - [`net`], [`node`]: the calls (`rpc/net.cpp`, `rpc/node.cpp`) and our `logos` calls.
//! - [`backend`]: [`RpcBackend`], everything the calls need from the running node.
//!
//! [`RpcServer::start`] does what bitcoind's `AppInitServers` does for RPC; the node calls
//! [`RpcServer::set_rpc_warmup_finished`] once it is up, and [`RpcServer::interrupt`] then
//! [`RpcServer::stop`] at shutdown.

pub mod auth;
pub mod backend;
pub mod http;
pub mod net;
pub mod node;
pub mod protocol;
pub mod request;
pub mod server;
pub mod univalue;
pub mod util;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub use auth::{AuthOptions, RpcAuth};
pub use backend::RpcBackend;
pub use server::{RpcTable, ShutdownFn};

use http::{HttpReply, HttpRequest, HttpServer, HttpServerOptions, RequestMethod};
use protocol::{HTTP_BAD_METHOD, HTTP_UNAUTHORIZED};

/// Core's deliberate pause after a wrong password (`UninterruptibleSleep(250ms)` in
/// `HTTPReq_JSONRPC`), to slow down brute forcing.
pub const AUTH_FAILURE_DELAY: Duration = Duration::from_millis(250);

/// The RPC options, already read from the command line / config file.
#[derive(Clone, Debug)]
pub struct RpcOptions {
    /// Network-specific data directory (the `.cookie` goes here).
    pub datadir: PathBuf,
    /// `-rpcport` (0 = any free port, for tests).
    pub rpc_port: u16,
    /// `-rpcbind` values.
    pub rpc_bind: Vec<String>,
    /// `-rpcallowip` values.
    pub rpc_allow_ip: Vec<String>,
    /// Credentials.
    pub auth: AuthOptions,
    /// `-rpcthreads`.
    pub rpc_threads: i64,
    /// `-rpcworkqueue`.
    pub rpc_work_queue: i64,
    /// `-rpcservertimeout`, seconds.
    pub rpc_server_timeout: i64,
    /// Pause after a failed login ([`AUTH_FAILURE_DELAY`]; tests shorten it).
    pub auth_failure_delay: Duration,
    /// Largest request body accepted ([`http::MAX_BODY_SIZE`]).
    pub max_body_size: usize,
    /// Name in the `stop` answer ("`<name>` stopping").
    pub client_name: String,
    /// Not in Core: called when a thread of the server panicked (`logos-p2pd` aborts).
    pub on_thread_panic: Option<::net::thread::ThreadPanicHook>,
}

impl RpcOptions {
    /// bitcoind's defaults, for `datadir` and `rpc_port`.
    pub fn new(datadir: PathBuf, rpc_port: u16) -> Self {
        RpcOptions {
            datadir,
            rpc_port,
            rpc_bind: Vec::new(),
            rpc_allow_ip: Vec::new(),
            auth: AuthOptions::default(),
            rpc_threads: http::DEFAULT_HTTP_THREADS,
            rpc_work_queue: http::DEFAULT_HTTP_WORKQUEUE,
            rpc_server_timeout: http::DEFAULT_HTTP_SERVER_TIMEOUT,
            auth_failure_delay: AUTH_FAILURE_DELAY,
            max_body_size: http::MAX_BODY_SIZE,
            client_name: "Logos P2P".into(),
            on_thread_panic: None,
        }
    }
}

/// The `-rpc*` options of bitcoind's `init.cpp` that this server reads and the node's option
/// table does not carry yet: `(name, help, flags)`. See [`add_rpc_args`].
pub fn rpc_arg_specs() -> Vec<(&'static str, String, u32)> {
    use crate::args::flags::{ALLOW_ANY, DEBUG_ONLY};
    vec![
        ("-rpcauth=<userpw>", "Username and HMAC-SHA-256 hashed password for JSON-RPC connections. The field <userpw> comes in the format: <USERNAME>:<SALT>$<HASH>. A canonical python script is included in share/rpcauth. The client then connects normally using the rpcuser=<USERNAME>/rpcpassword=<PASSWORD> pair of arguments. This option can be specified multiple times".into(), ALLOW_ANY | crate::args::flags::SENSITIVE),
        ("-rpccookiefile=<loc>", "Location of the auth cookie. Relative paths will be prefixed by a net-specific datadir location. (default: data dir)".into(), ALLOW_ANY),
        ("-rpccookieperms=<readable-by>", "Set permissions on the RPC auth cookie file so that it is readable by [owner|group|all] (default: owner [via umask 0077])".into(), ALLOW_ANY),
        ("-rpcservertimeout=<n>", format!("Timeout during HTTP requests (default: {})", http::DEFAULT_HTTP_SERVER_TIMEOUT), ALLOW_ANY | DEBUG_ONLY),
        ("-rpcthreads=<n>", format!("Set the number of threads to service RPC calls (default: {})", http::DEFAULT_HTTP_THREADS), ALLOW_ANY),
        ("-rpcworkqueue=<n>", format!("Set the maximum depth of the work queue to service RPC calls (default: {})", http::DEFAULT_HTTP_WORKQUEUE), ALLOW_ANY | DEBUG_ONLY),
        ("-server", "Accept command line and JSON-RPC commands".into(), ALLOW_ANY),
    ]
}

/// Registers every option of [`rpc_arg_specs`] that `args` does not know yet (category RPC).
pub fn add_rpc_args(args: &mut crate::args::ArgsManager) {
    for (name, help, flags) in rpc_arg_specs() {
        let bare = name.split('=').next().unwrap_or(name);
        if args.get_arg_flags(bare).is_none() {
            args.add_arg(name, &help, flags, crate::args::OptionsCategory::Rpc);
        }
    }
}

impl RpcOptions {
    /// The options as bitcoind reads them (`-rpcport`, `-rpcbind`, `-rpcallowip`, `-rpcuser`,
    /// `-rpcpassword`, `-rpcauth`, `-rpccookiefile` / `-norpccookiefile`, `-rpccookieperms`,
    /// `-rpcthreads`, `-rpcworkqueue`, `-rpcservertimeout`). `datadir` is the network-specific
    /// data directory; `default_port` the chain's RPC port.
    pub fn from_args(args: &crate::args::ArgsManager, datadir: PathBuf, default_port: u16) -> Self {
        let mut o = RpcOptions::new(datadir, default_port);
        o.rpc_port = args
            .get_int_arg_opt("-rpcport")
            .and_then(|p| u16::try_from(p).ok())
            .unwrap_or(default_port);
        o.rpc_bind = args.get_args("-rpcbind");
        o.rpc_allow_ip = args.get_args("-rpcallowip");
        o.auth = AuthOptions {
            rpc_user: args.get_arg("-rpcuser", ""),
            rpc_password: args.get_arg("-rpcpassword", ""),
            rpc_auth: args.get_args("-rpcauth"),
            rpc_cookie_file: if args.is_arg_negated("-rpccookiefile") {
                Some(String::new())
            } else {
                args.get_arg_opt("-rpccookiefile")
            },
            rpc_cookie_perms: args.get_arg_opt("-rpccookieperms"),
        };
        o.rpc_threads = args.get_int_arg("-rpcthreads", http::DEFAULT_HTTP_THREADS);
        o.rpc_work_queue = args.get_int_arg("-rpcworkqueue", http::DEFAULT_HTTP_WORKQUEUE);
        o.rpc_server_timeout =
            args.get_int_arg("-rpcservertimeout", http::DEFAULT_HTTP_SERVER_TIMEOUT);
        o
    }
}

/// The checks of HTTPReq_JSONRPC (httprpc.cpp) that need no body: POST only (405), Basic
/// credentials (401 with `WWW-Authenticate`, after `delay` when wrong). `Ok` gives the user.
/// The server runs them on the request head, before it reads the body (see
/// [`HttpServer::register_http_handler_with_head_check`]).
pub fn http_req_jsonrpc_check_head(
    auth: &RpcAuth,
    delay: Duration,
    req: &HttpRequest,
) -> Result<String, HttpReply> {
    if req.method != RequestMethod::Post {
        return Err(HttpReply::new(
            HTTP_BAD_METHOD,
            "JSONRPC server handles only POST requests",
        ));
    }
    let Some(auth_header) = req.get_header("authorization") else {
        return Err(HttpReply::new(HTTP_UNAUTHORIZED, Vec::new())
            .header("WWW-Authenticate", auth::WWW_AUTH_HEADER_DATA));
    };
    auth.rpc_authorized(auth_header).map_err(|_| {
        log::info!(
            "ThreadRPCServer incorrect password attempt from {}",
            req.peer.to_string_addr_port()
        );
        std::thread::sleep(delay);
        HttpReply::new(HTTP_UNAUTHORIZED, Vec::new())
            .header("WWW-Authenticate", auth::WWW_AUTH_HEADER_DATA)
    })
}

/// Port of HTTPReq_JSONRPC (httprpc.cpp): [`http_req_jsonrpc_check_head`], then the JSON-RPC
/// request.
pub fn http_req_jsonrpc(
    table: &RpcTable,
    auth: &RpcAuth,
    delay: Duration,
    req: &HttpRequest,
) -> HttpReply {
    let user = match http_req_jsonrpc_check_head(auth, delay, req) {
        Ok(u) => u,
        Err(reply) => return reply,
    };
    let peer_addr = req.peer.to_string_addr_port();
    let r = table.handle_body(&req.body, &user, &peer_addr, &req.uri);
    let reply = HttpReply::new(r.status, r.body);
    if r.json {
        reply.header("Content-Type", "application/json")
    } else {
        reply
    }
}

/// The running RPC server: HTTP server, credentials and command table.
pub struct RpcServer {
    http: Option<HttpServer>,
    table: Arc<RpcTable>,
    auth: Arc<RpcAuth>,
}

impl RpcServer {
    /// bitcoind's RPC start-up (`InitHTTPServer`, `StartRPC`, `StartHTTPRPC`,
    /// `StartHTTPServer`): allow-list, bind, credentials (writes the cookie), the `/` handler,
    /// workers. Commands answer `RPC_IN_WARMUP` until [`RpcServer::set_rpc_warmup_finished`].
    pub fn start(
        opts: RpcOptions,
        backend: Arc<dyn RpcBackend>,
        shutdown: ShutdownFn,
    ) -> Result<RpcServer, String> {
        let allow_subnets = http::init_http_allow_list(&opts.rpc_allow_ip)?;
        let endpoints =
            http::http_bind_addresses(&opts.rpc_allow_ip, &opts.rpc_bind, opts.rpc_port)?;
        let http_opts = HttpServerOptions {
            endpoints,
            allow_subnets,
            threads: opts.rpc_threads.max(1) as usize,
            work_queue_depth: opts.rpc_work_queue.max(1) as usize,
            server_timeout: Duration::from_secs(opts.rpc_server_timeout.max(1) as u64),
            max_headers_size: http::MAX_HEADERS_SIZE,
            max_body_size: opts.max_body_size,
            max_connections: http::MAX_HTTP_CONNECTIONS,
            on_thread_panic: opts.on_thread_panic.clone(),
        };
        let mut http = HttpServer::init(http_opts)?;
        let table = Arc::new(RpcTable::new(backend, shutdown, &opts.client_name));
        table.start_rpc();
        log::debug!(target: "rpc", "Starting HTTP RPC server");
        let auth = Arc::new(RpcAuth::init(&opts.datadir, &opts.auth)?);
        let (t, a, delay) = (table.clone(), auth.clone(), opts.auth_failure_delay);
        let a2 = auth.clone();
        http.register_http_handler_with_head_check(
            "/",
            true,
            Some(Arc::new(move |req: &HttpRequest| {
                http_req_jsonrpc_check_head(&a2, delay, req).err()
            })),
            Arc::new(move |req: &HttpRequest, _path: &str| http_req_jsonrpc(&t, &a, delay, req)),
        );
        http.start_http_server()?;
        Ok(RpcServer {
            http: Some(http),
            table,
            auth,
        })
    }

    /// The bound addresses.
    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        self.http
            .as_ref()
            .map(|h| h.local_addrs())
            .unwrap_or_default()
    }

    /// The command table.
    pub fn table(&self) -> &Arc<RpcTable> {
        &self.table
    }

    /// The cookie file written at start, if any.
    pub fn cookie_path(&self) -> Option<PathBuf> {
        self.auth.cookie_path()
    }

    /// Port of SetRPCWarmupStatus.
    pub fn set_rpc_warmup_status(&self, status: &str) {
        self.table.set_rpc_warmup_status(status);
    }

    /// Port of SetRPCWarmupFinished: commands run from now on.
    pub fn set_rpc_warmup_finished(&self) {
        self.table.set_rpc_warmup_finished();
    }

    /// `InterruptHTTPServer` + `InterruptHTTPRPC` + `InterruptRPC`.
    pub fn interrupt(&self) {
        if let Some(h) = &self.http {
            h.interrupt();
        }
        log::debug!(target: "rpc", "Interrupting HTTP RPC server");
        self.table.interrupt_rpc();
    }

    /// `StopHTTPRPC` + `StopRPC` (cookie removed) + `StopHTTPServer`.
    pub fn stop(mut self) {
        self.stop_inner();
    }

    fn stop_inner(&mut self) {
        let Some(http) = self.http.take() else { return };
        self.table.interrupt_rpc();
        log::debug!(target: "rpc", "Stopping HTTP RPC server");
        http.unregister_http_handler("/", true);
        log::debug!(target: "rpc", "Stopping RPC");
        self.auth.delete_auth_cookie();
        log::debug!(target: "rpc", "RPC stopped.");
        http.stop();
    }
}

impl Drop for RpcServer {
    fn drop(&mut self) {
        self.stop_inner();
    }
}
