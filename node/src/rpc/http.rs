//! A small HTTP/1.1 server for the JSON-RPC interface (port of `httpserver.cpp`, with the
//! parts of libevent's `evhttp` that bitcoind relies on).
//!
//! Threads, as bitcoind's: each listening socket has an accept thread; each connection has a
//! thread that reads requests (keep-alive, pipelining, `Expect: 100-continue`, chunked
//! bodies), applies the address allow-list, and hands the request to a bounded
//! [`WorkQueue`] served by `-rpcthreads` workers; a full queue answers 503 "Work queue depth
//! exceeded" at once. The request head is limited to [`MAX_HEADERS_SIZE`] and the body to
//! [`MAX_BODY_SIZE`]; larger requests get 413 and the connection is closed, the server goes
//! on serving others.
//!
//! Hardened beyond libevent (each item says so where it is done): the allow-list and the
//! handler's head check (the JSON-RPC method and credentials) run before the body is read; a
//! whole request must arrive within `-rpcservertimeout` (idle connections are closed after it
//! too); `Content-Length` and `Transfer-Encoding` are read strictly; the accept loop backs off
//! when accepting fails for want of descriptors; at [`MAX_HTTP_CONNECTIONS`] the connection idle
//! longest (waiting for a request head) makes way for a new one, so idle sockets cannot lock
//! clients out; a panic on a server thread is reported to [`HttpServerOptions::on_thread_panic`].

use std::collections::{HashMap, VecDeque};
use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use net::thread::catch_thread_panic;
use netbase::{lookup_host, lookup_subnet, no_dns, split_host_port, CNetAddr, CService, CSubNet};

use super::protocol::*;
use super::request::sanitize_uri;

/// Port of MAX_HEADERS_SIZE (httpserver.cpp): request line plus headers.
pub const MAX_HEADERS_SIZE: usize = 8192;
/// Body limit: Core sets libevent's to MAX_SIZE (serialize.h), 32 MiB.
pub const MAX_BODY_SIZE: usize = 0x0200_0000;
/// Port of DEFAULT_HTTP_THREADS (httpserver.h).
pub const DEFAULT_HTTP_THREADS: i64 = 16;
/// Port of DEFAULT_HTTP_WORKQUEUE (httpserver.h).
pub const DEFAULT_HTTP_WORKQUEUE: i64 = 64;
/// Port of DEFAULT_HTTP_SERVER_TIMEOUT (httpserver.h), seconds.
pub const DEFAULT_HTTP_SERVER_TIMEOUT: i64 = 30;
/// Open connections served at once (each has a thread). libevent has no such bound; a thread
/// per connection needs one. At the bound, the connection that has waited longest for a request
/// head is closed to admit a new one; only when every connection has a request in hand is the
/// new one closed at accept.
pub const MAX_HTTP_CONNECTIONS: usize = 128;
/// Not in Core: the first pause of the accept loop after an accept error that is not
/// retriable (out of descriptors or memory); see [`ACCEPT_BACKOFF_MAX`].
pub const ACCEPT_BACKOFF_MIN: Duration = Duration::from_millis(5);
/// Not in Core: the longest pause of the accept loop; each further accept error doubles the
/// pause up to this (as Go's `net/http` server does).
pub const ACCEPT_BACKOFF_MAX: Duration = Duration::from_secs(1);
/// Not in Core: how long a connection refused with its body unread is drained before it is
/// closed (at most `-rpcservertimeout`), so the client reads the reply before the close.
pub const HTTP_LINGER_TIME: Duration = Duration::from_secs(2);

/// Port of HTTPRequest::RequestMethod.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestMethod {
    /// Anything else.
    Unknown,
    /// GET.
    Get,
    /// POST.
    Post,
    /// HEAD.
    Head,
    /// PUT.
    Put,
}

/// Port of RequestMethodString (httpserver.cpp).
pub fn request_method_string(m: RequestMethod) -> &'static str {
    match m {
        RequestMethod::Get => "GET",
        RequestMethod::Post => "POST",
        RequestMethod::Head => "HEAD",
        RequestMethod::Put => "PUT",
        RequestMethod::Unknown => "unknown",
    }
}

/// A parsed request (Core's `HTTPRequest`, read side).
#[derive(Clone, Debug)]
pub struct HttpRequest {
    /// Method.
    pub method: RequestMethod,
    /// Request target as sent.
    pub uri: String,
    /// HTTP minor version (0 or 1).
    pub minor: u8,
    /// Headers in order, names as sent.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Vec<u8>,
    /// The client.
    pub peer: CService,
}

impl HttpRequest {
    /// Port of HTTPRequest::GetHeader: first header of that name, any case.
    pub fn get_header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A reply (Core's `HTTPRequest`, write side).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpReply {
    /// Status code.
    pub status: u16,
    /// Extra headers.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Vec<u8>,
}

impl HttpReply {
    /// A reply with a body and no extra header.
    pub fn new(status: u16, body: impl Into<Vec<u8>>) -> Self {
        HttpReply {
            status,
            headers: Vec::new(),
            body: body.into(),
        }
    }

    /// Adds a header (Core's `WriteHeader`).
    pub fn header(mut self, k: &str, v: &str) -> Self {
        self.headers.push((k.into(), v.into()));
        self
    }
}

/// A path handler (Core's `HTTPRequestHandler`): the request and the path after the prefix.
pub type HttpRequestHandler = Arc<dyn Fn(&HttpRequest, &str) -> HttpReply + Send + Sync>;

/// Not in Core: a path handler's check of a request head (method, credentials), run before
/// the body is read; `Some(reply)` refuses the request with that reply.
pub type HttpHeadCheck = Arc<dyn Fn(&HttpRequest) -> Option<HttpReply> + Send + Sync>;

struct HttpPathHandler {
    prefix: String,
    exact_match: bool,
    head_check: Option<HttpHeadCheck>,
    handler: HttpRequestHandler,
}

type WorkItem = Box<dyn FnOnce() + Send>;

/// Port of WorkQueue (httpserver.cpp): a bounded FIFO served by worker threads.
pub struct WorkQueue {
    state: Mutex<(VecDeque<WorkItem>, bool)>,
    cond: Condvar,
    max_depth: usize,
}

impl WorkQueue {
    /// A running queue holding at most `max_depth` items.
    pub fn new(max_depth: usize) -> Self {
        WorkQueue {
            state: Mutex::new((VecDeque::new(), true)),
            cond: Condvar::new(),
            max_depth,
        }
    }

    /// Port of WorkQueue::Enqueue: false if stopped or full.
    pub fn enqueue(&self, item: WorkItem) -> bool {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if !s.1 || s.0.len() >= self.max_depth {
            return false;
        }
        s.0.push_back(item);
        self.cond.notify_one();
        true
    }

    /// Port of WorkQueue::Run: serve items until interrupted and drained.
    pub fn run(&self) {
        loop {
            let item = {
                let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
                while s.1 && s.0.is_empty() {
                    s = self.cond.wait(s).unwrap_or_else(|e| e.into_inner());
                }
                match s.0.pop_front() {
                    Some(i) => i,
                    None => break,
                }
            };
            item();
        }
    }

    /// Items waiting for a worker.
    pub fn len(&self) -> usize {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).0.len()
    }

    /// True when no item is waiting.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Port of WorkQueue::Interrupt.
    pub fn interrupt(&self) {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).1 = false;
        self.cond.notify_all();
    }
}

/// Server options (the `-rpc*` HTTP options, already interpreted).
#[derive(Clone, Debug)]
pub struct HttpServerOptions {
    /// `(host, port)` pairs to bind (see [`http_bind_addresses`]).
    pub endpoints: Vec<(String, u16)>,
    /// Allowed client subnets (see [`init_http_allow_list`]).
    pub allow_subnets: Vec<CSubNet>,
    /// `-rpcthreads` (at least 1).
    pub threads: usize,
    /// `-rpcworkqueue` (at least 1).
    pub work_queue_depth: usize,
    /// `-rpcservertimeout`: the whole of one request (head and body) must arrive within it,
    /// counted from when the server starts waiting for it, and a reply must be written within
    /// it (not in Core: libevent's timeout restarts with every read and write).
    pub server_timeout: Duration,
    /// Request head limit.
    pub max_headers_size: usize,
    /// Body limit.
    pub max_body_size: usize,
    /// Concurrent connection limit.
    pub max_connections: usize,
    /// Not in Core: called when a thread of the server panicked (after the panic is logged);
    /// the node shuts down. A panicking request handler is not a thread panic: it is answered
    /// 500 and the worker goes on.
    pub on_thread_panic: Option<net::thread::ThreadPanicHook>,
}

impl Default for HttpServerOptions {
    fn default() -> Self {
        HttpServerOptions {
            endpoints: vec![("::1".into(), 0), ("127.0.0.1".into(), 0)],
            allow_subnets: init_http_allow_list(&[]).unwrap_or_default(),
            threads: DEFAULT_HTTP_THREADS as usize,
            work_queue_depth: DEFAULT_HTTP_WORKQUEUE as usize,
            server_timeout: Duration::from_secs(DEFAULT_HTTP_SERVER_TIMEOUT as u64),
            max_headers_size: MAX_HEADERS_SIZE,
            max_body_size: MAX_BODY_SIZE,
            max_connections: MAX_HTTP_CONNECTIONS,
            on_thread_panic: None,
        }
    }
}

/// Port of InitHTTPAllowList (httpserver.cpp): 127.0.0.0/8 and ::1 always, plus every
/// `-rpcallowip`; an invalid one is an error with Core's text.
pub fn init_http_allow_list(rpcallowip: &[String]) -> Result<Vec<CSubNet>, String> {
    let mut subnets = Vec::new();
    if let Some(a) = lookup_host("127.0.0.1", false, &no_dns) {
        subnets.push(CSubNet::new(a, 8));
    }
    if let Some(a) = lookup_host("::1", false, &no_dns) {
        subnets.push(CSubNet::from_addr(a));
    }
    for s in rpcallowip {
        let subnet = lookup_subnet(s);
        if !subnet.is_valid() {
            return Err(format!("Invalid -rpcallowip subnet specification: {s}. Valid values are a single IP (e.g. 1.2.3.4), a network/netmask (e.g. 1.2.3.4/255.255.255.0), a network/CIDR (e.g. 1.2.3.4/24), all ipv4 (0.0.0.0/0), or all ipv6 (::/0). RFC4193 is allowed only if -cjdnsreachable=0."));
        }
        subnets.push(subnet);
    }
    let list: Vec<String> = subnets.iter().map(|s| s.to_string()).collect();
    log::debug!(target: "http", "Allowing HTTP connections from: {} ", list.join(" "));
    Ok(subnets)
}

/// The endpoint choice of HTTPBindAddresses (httpserver.cpp): `-rpcbind` is honoured only
/// together with `-rpcallowip`; otherwise `::1` and `127.0.0.1` on `port`, with Core's
/// warnings.
pub fn http_bind_addresses(
    rpcallowip: &[String],
    rpcbind: &[String],
    port: u16,
) -> Result<Vec<(String, u16)>, String> {
    let mut endpoints = Vec::new();
    if rpcallowip.is_empty() || rpcbind.is_empty() {
        endpoints.push(("::1".to_string(), port));
        endpoints.push(("127.0.0.1".to_string(), port));
        if !rpcallowip.is_empty() {
            log::info!("WARNING: option -rpcallowip was specified without -rpcbind; this doesn't usually make sense");
        }
        if !rpcbind.is_empty() {
            log::info!("WARNING: option -rpcbind was ignored because -rpcallowip was not specified, refusing to allow everyone to connect");
        }
    } else {
        for b in rpcbind {
            let mut p = port;
            let mut host = String::new();
            if !split_host_port(b, &mut p, &mut host) {
                let e = format!("Invalid port specified in -rpcbind: '{b}'");
                log::error!("{e}");
                return Err(e);
            }
            endpoints.push((host, p));
        }
    }
    Ok(endpoints)
}

/// Port of ClientAllowed (httpserver.cpp).
fn client_allowed(subnets: &[CSubNet], addr: &CNetAddr) -> bool {
    addr.is_valid() && subnets.iter().any(|s| s.matches(addr))
}

/// An open connection: a handle to shut it down, its thread, and since when it has been
/// waiting for a request head (see [`ConnEntry::waiting`]).
struct ConnEntry {
    stream: TcpStream,
    thread: Option<JoinHandle<()>>,
    waiting: Arc<AtomicU64>,
}

impl ConnEntry {
    /// Not in Core: when the connection began waiting for the head of its next request, in
    /// milliseconds since the server started, plus one; 0 while a request is in hand (read,
    /// handled, or answered). The connection at the cap that has waited longest is the one
    /// closed to admit a new one ([`accept_loop_with`]).
    fn waiting_since(&self) -> Option<u64> {
        match self.waiting.load(Ordering::SeqCst) {
            0 => None,
            t => Some(t),
        }
    }
}

struct Inner {
    opts: HttpServerOptions,
    handlers: Mutex<Vec<HttpPathHandler>>,
    queue: WorkQueue,
    interrupted: AtomicBool,
    stopping: AtomicBool,
    conns: Mutex<HashMap<u64, ConnEntry>>,
    next_conn: AtomicU64,
    active_requests: Mutex<usize>,
    requests_done: Condvar,
    /// The clock of [`ConnEntry::waiting`].
    started: Instant,
}

impl Inner {
    fn new(opts: HttpServerOptions, queue_depth: usize) -> Self {
        Inner {
            queue: WorkQueue::new(queue_depth),
            opts,
            handlers: Mutex::new(Vec::new()),
            interrupted: AtomicBool::new(false),
            stopping: AtomicBool::new(false),
            conns: Mutex::new(HashMap::new()),
            next_conn: AtomicU64::new(0),
            active_requests: Mutex::new(0),
            requests_done: Condvar::new(),
            started: Instant::now(),
        }
    }

    /// Now on the clock of [`ConnEntry::waiting`] (never 0).
    fn waiting_stamp(&self) -> u64 {
        self.started.elapsed().as_millis() as u64 + 1
    }
}

/// The running server (Core's `InitHTTPServer` / `StartHTTPServer` / `InterruptHTTPServer` /
/// `StopHTTPServer` state).
pub struct HttpServer {
    inner: Arc<Inner>,
    /// Bound by [`HttpServer::init`], not yet accepting.
    pending: Vec<TcpListener>,
    listeners: Vec<(SocketAddr, JoinHandle<()>)>,
    workers: Vec<JoinHandle<()>>,
}

impl HttpServer {
    /// Port of InitHTTPServer + StartHTTPServer: bind every endpoint (failures logged, at
    /// least one must succeed), start the accept threads and the workers.
    pub fn start(opts: HttpServerOptions) -> Result<HttpServer, String> {
        let mut s = Self::init(opts)?;
        s.start_http_server()?;
        Ok(s)
    }

    /// Port of InitHTTPServer (httpserver.cpp): bind every endpoint (failures logged, at least
    /// one must succeed) and make the work queue; nothing is accepted until
    /// [`HttpServer::start_http_server`].
    pub fn init(opts: HttpServerOptions) -> Result<HttpServer, String> {
        let mut bound = Vec::new();
        for (host, port) in &opts.endpoints {
            log::info!("Binding RPC on address {host} port {port}");
            let ip: Option<IpAddr> = if host.is_empty() {
                Some(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
            } else {
                lookup_host(host, false, &no_dns).and_then(|a| a.to_ip())
            };
            match ip.map(|ip| TcpListener::bind(SocketAddr::new(ip, *port))) {
                Some(Ok(l)) => {
                    if ip.is_some_and(|ip| ip.is_unspecified()) {
                        log::info!("WARNING: the RPC server is not safe to expose to untrusted networks such as the public internet");
                    }
                    bound.push(l);
                }
                _ => log::info!("Binding RPC on address {host} port {port} failed."),
            }
        }
        if bound.is_empty() {
            log::info!("Unable to bind any endpoint for RPC server");
            return Err("Unable to bind any endpoint for RPC server".into());
        }
        log::debug!(target: "http", "Initialized HTTP server");
        let depth = opts.work_queue_depth.max(1);
        log::debug!(target: "http", "creating work queue of depth {depth}");
        let inner = Arc::new(Inner::new(opts, depth));
        Ok(HttpServer {
            inner,
            pending: bound,
            listeners: Vec::new(),
            workers: Vec::new(),
        })
    }

    /// Port of StartHTTPServer (httpserver.cpp): the accept threads (one event loop logged) and
    /// the workers.
    pub fn start_http_server(&mut self) -> Result<(), String> {
        let threads = self.inner.opts.threads.max(1);
        log::info!("Starting HTTP server with {threads} worker threads");
        for (n, l) in std::mem::take(&mut self.pending).into_iter().enumerate() {
            let addr = l.local_addr().map_err(|e| e.to_string())?;
            let i = self.inner.clone();
            let h = std::thread::Builder::new()
                .name("http".into())
                .spawn(move || {
                    let hook = i.opts.on_thread_panic.clone();
                    catch_thread_panic("http", || accept_loop(i, l, n == 0), hook.as_ref());
                })
                .map_err(|e| e.to_string())?;
            self.listeners.push((addr, h));
        }
        for n in 0..threads {
            let i = self.inner.clone();
            let name = format!("httpworker.{n}");
            let h = std::thread::Builder::new()
                .name(name.clone())
                .spawn(move || {
                    let hook = i.opts.on_thread_panic.as_ref();
                    catch_thread_panic(&name, || i.queue.run(), hook);
                })
                .map_err(|e| e.to_string())?;
            self.workers.push(h);
        }
        Ok(())
    }

    /// The bound addresses (ports resolved when 0 was asked).
    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        self.listeners
            .iter()
            .map(|(a, _)| *a)
            .chain(self.pending.iter().filter_map(|l| l.local_addr().ok()))
            .collect()
    }

    /// Requests waiting for a worker.
    pub fn work_queue_len(&self) -> usize {
        self.inner.queue.len()
    }

    /// Port of RegisterHTTPHandler.
    pub fn register_http_handler(
        &self,
        prefix: &str,
        exact_match: bool,
        handler: HttpRequestHandler,
    ) {
        self.register_http_handler_with_head_check(prefix, exact_match, None, handler);
    }

    /// Port of RegisterHTTPHandler, with a check of the request head (`head_check`) that runs
    /// before the body is read (not in Core: libevent has read the body by the time bitcoind's
    /// handler checks the credentials); a request it refuses never reaches `handler`.
    pub fn register_http_handler_with_head_check(
        &self,
        prefix: &str,
        exact_match: bool,
        head_check: Option<HttpHeadCheck>,
        handler: HttpRequestHandler,
    ) {
        log::debug!(target: "http", "Registering HTTP handler for {prefix} (exactmatch {})", u8::from(exact_match));
        self.inner
            .handlers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(HttpPathHandler {
                prefix: prefix.into(),
                exact_match,
                head_check,
                handler,
            });
    }

    /// Port of UnregisterHTTPHandler.
    pub fn unregister_http_handler(&self, prefix: &str, exact_match: bool) {
        let mut h = self
            .inner
            .handlers
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(p) = h
            .iter()
            .position(|x| x.prefix == prefix && x.exact_match == exact_match)
        {
            log::debug!(target: "http", "Unregistering HTTP handler for {prefix} (exactmatch {})", u8::from(exact_match));
            h.remove(p);
        }
    }

    /// Port of InterruptHTTPServer: new requests get 503, the queue stops taking work.
    pub fn interrupt(&self) {
        log::debug!(target: "http", "Interrupting HTTP server");
        self.inner.interrupted.store(true, Ordering::SeqCst);
        self.inner.queue.interrupt();
    }

    /// Port of StopHTTPServer: finish queued work, stop listening, let requests in flight
    /// send their replies, then close every connection.
    pub fn stop(mut self) {
        self.stop_inner();
    }

    fn stop_inner(&mut self) {
        log::debug!(target: "http", "Stopping HTTP server");
        self.inner.interrupted.store(true, Ordering::SeqCst);
        self.inner.queue.interrupt();
        log::debug!(target: "http", "Waiting for HTTP worker threads to exit");
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
        self.inner.stopping.store(true, Ordering::SeqCst);
        for (addr, h) in self.listeners.drain(..) {
            // Wake the blocking accept with a connection of our own.
            let wake = match addr.ip() {
                IpAddr::V4(ip) if ip.is_unspecified() => {
                    SocketAddr::new(Ipv4Addr::LOCALHOST.into(), addr.port())
                }
                IpAddr::V6(ip) if ip.is_unspecified() => {
                    SocketAddr::new(Ipv6Addr::LOCALHOST.into(), addr.port())
                }
                _ => addr,
            };
            let _ = TcpStream::connect_timeout(&wake, Duration::from_secs(1));
            let _ = h.join();
        }
        {
            let mut n = self
                .inner
                .active_requests
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            if *n != 0 {
                log::debug!(target: "http", "Waiting for {} connections to stop HTTP server", *n);
            }
            while *n != 0 {
                n = self
                    .inner
                    .requests_done
                    .wait(n)
                    .unwrap_or_else(|e| e.into_inner());
            }
        }
        let conns: Vec<ConnEntry> = self
            .inner
            .conns
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .drain()
            .map(|(_, v)| v)
            .collect();
        for c in conns {
            let _ = c.stream.shutdown(Shutdown::Both);
            if let Some(h) = c.thread {
                let _ = h.join();
            }
        }
        log::debug!(target: "http", "Stopped HTTP server");
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        if !self.listeners.is_empty() || !self.workers.is_empty() {
            self.stop_inner();
        }
    }
}

/// The accept side of ThreadHTTP (httpserver.cpp); Core has one event loop for every socket,
/// here one thread per socket and only the first (`log_loop`) logs entering and leaving.
fn accept_loop(inner: Arc<Inner>, listener: TcpListener, log_loop: bool) {
    accept_loop_with(&inner, || listener.accept().map(|(s, _)| s), log_loop);
}

/// Whether an accept error is one to retry at once: libevent's `EVUTIL_ERR_ACCEPT_RETRIABLE`
/// (EINTR, EAGAIN, ECONNABORTED).
fn accept_error_retriable(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::Interrupted | io::ErrorKind::WouldBlock | io::ErrorKind::ConnectionAborted
    )
}

/// Sleeps `d`, or less once the server is stopping.
fn sleep_unless_stopping(inner: &Inner, d: Duration) {
    let until = Instant::now() + d;
    while let Some(left) = time_left(until) {
        if inner.stopping.load(Ordering::SeqCst) {
            return;
        }
        std::thread::sleep(left.min(Duration::from_millis(50)));
    }
}

/// [`accept_loop`] with the accept call passed in (tests feed it errors).
///
/// Not in Core: an accept error that is not retriable (EMFILE, ENFILE, ENOBUFS, ENOMEM: out of
/// descriptors or memory) pauses accepting for [`ACCEPT_BACKOFF_MIN`], doubled on each further
/// error up to [`ACCEPT_BACKOFF_MAX`], and is logged once per run of errors. libevent's
/// listener logs such an error and is called again at once, so bitcoind spins a core while the
/// process is out of descriptors.
fn accept_loop_with(
    inner: &Arc<Inner>,
    mut accept: impl FnMut() -> io::Result<TcpStream>,
    log_loop: bool,
) {
    if log_loop {
        log::debug!(target: "http", "Entering http event loop");
    }
    let mut backoff: Option<Duration> = None;
    loop {
        let accepted = accept();
        if inner.stopping.load(Ordering::SeqCst) {
            break;
        }
        let stream = match accepted {
            Ok(s) => {
                if backoff.take().is_some() {
                    log::info!("HTTP accept works again");
                }
                s
            }
            Err(e) if accept_error_retriable(&e) => continue,
            Err(e) => {
                let pause = backoff.map_or(ACCEPT_BACKOFF_MIN, |b| (b * 2).min(ACCEPT_BACKOFF_MAX));
                if backoff.is_none() {
                    log::warn!(
                        "HTTP accept failed ({e}); pausing new connections, {} ms at first, up to {} ms",
                        ACCEPT_BACKOFF_MIN.as_millis(),
                        ACCEPT_BACKOFF_MAX.as_millis()
                    );
                } else {
                    log::debug!(target: "http", "HTTP accept failed again ({e}); pausing {} ms", pause.as_millis());
                }
                backoff = Some(pause);
                sleep_unless_stopping(inner, pause);
                continue;
            }
        };
        let mut conns = inner.conns.lock().unwrap_or_else(|e| e.into_inner());
        // Drop the entries of finished connection threads before counting.
        conns.retain(|_, c| c.thread.as_ref().is_some_and(|h| !h.is_finished()));
        if conns.len() >= inner.opts.max_connections {
            // Not in Core (libevent accepts every connection, up to the descriptor limit):
            // with every slot taken, the connection that has waited longest for a request head
            // (idle, or trickling one) is closed to admit this one; its thread sees the
            // shutdown and ends. Refusing the new connection instead let idle sockets lock
            // every client out for `-rpcservertimeout`.
            let oldest = conns
                .iter()
                .filter_map(|(id, c)| Some((c.waiting_since()?, *id)))
                .min();
            let Some((since, id)) = oldest else {
                log::debug!(target: "http", "HTTP connection refused: {} connections open, each with a request in hand", conns.len());
                continue;
            };
            if let Some(c) = conns.remove(&id) {
                let waited = inner.waiting_stamp().saturating_sub(since);
                log::debug!(target: "http", "HTTP connection closed to admit a new one: {} connections open, it waited {waited} ms for a request", conns.len() + 1);
                let _ = c.stream.shutdown(Shutdown::Both);
            }
        }
        let Ok(clone) = stream.try_clone() else {
            continue;
        };
        let id = inner.next_conn.fetch_add(1, Ordering::Relaxed);
        let i = inner.clone();
        let waiting = Arc::new(AtomicU64::new(inner.waiting_stamp()));
        let w = waiting.clone();
        let h = std::thread::Builder::new()
            .name("httpconn".into())
            .spawn(move || {
                let hook = i.opts.on_thread_panic.as_ref();
                catch_thread_panic("httpconn", || serve_connection(&i, stream, &w), hook);
                i.conns
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .remove(&id);
            });
        if let Ok(h) = h {
            conns.insert(
                id,
                ConnEntry {
                    stream: clone,
                    thread: Some(h),
                    waiting,
                },
            );
        }
    }
    if log_loop {
        log::debug!(target: "http", "Exited http event loop");
    }
}

/// Why reading a request stopped.
enum ReadError {
    /// Send this status (libevent's error page) and close.
    Fail(u16),
    /// The client went away, or the request deadline passed: close without a reply (as
    /// libevent drops a connection on a timeout).
    Closed,
}

/// How a request's body is delimited (RFC 9112 §6.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum BodyFraming {
    /// No body.
    None,
    /// `Content-Length` bytes.
    Length(usize),
    /// `Transfer-Encoding: chunked`.
    Chunked,
}

impl BodyFraming {
    /// Whether body bytes follow the head.
    fn has_body(self) -> bool {
        !matches!(self, BodyFraming::None | BodyFraming::Length(0))
    }
}

/// A request head, read and checked; the body not read yet.
struct RequestHead {
    req: HttpRequest,
    keep_alive: bool,
    framing: BodyFraming,
    expect_continue: bool,
}

fn find_head_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n").map(|p| p + 4)
}

/// The time left until `deadline`; `None` once it passed.
fn time_left(deadline: Instant) -> Option<Duration> {
    deadline
        .checked_duration_since(Instant::now())
        .filter(|d| !d.is_zero())
}

/// One read into `buf`, waiting no later than `deadline`; false when the client closed, the
/// read failed or the deadline passed.
fn fill(stream: &mut TcpStream, buf: &mut Vec<u8>, deadline: Instant) -> bool {
    let Some(left) = time_left(deadline) else {
        return false;
    };
    if stream.set_read_timeout(Some(left)).is_err() {
        return false;
    }
    let mut chunk = [0u8; 8192];
    match stream.read(&mut chunk) {
        Ok(0) | Err(_) => false,
        Ok(n) => {
            buf.extend_from_slice(&chunk[..n]);
            true
        }
    }
}

/// Writes all of `bytes` by `deadline`; false if the client went away or was too slow.
fn write_all_until(stream: &mut TcpStream, mut bytes: &[u8], deadline: Instant) -> bool {
    while !bytes.is_empty() {
        let Some(left) = time_left(deadline) else {
            return false;
        };
        if stream.set_write_timeout(Some(left)).is_err() {
            return false;
        }
        match stream.write(bytes) {
            Ok(0) => return false,
            Ok(n) => bytes = &bytes[n..],
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return false,
        }
    }
    stream.flush().is_ok()
}

/// Not in Core: the body framing headers read strictly (RFC 9112 §6.1–6.3), where libevent
/// (2.1.12, `evhttp_get_body`) takes the first `Content-Length` through `strtoll` (a `+` sign,
/// spaces and a second, different value pass) and ignores a `Transfer-Encoding` other than
/// `chunked`: each lets a proxy in front and this server disagree on where a request ends.
///
/// A transfer coding other than `chunked` is 501; `chunked` more than once, or together with
/// `Content-Length`, is 400; `Content-Length` must be given once and be digits only (400),
/// at most `max_body` (413, also when it overflows).
fn body_framing(req: &HttpRequest, max_body: usize) -> Result<BodyFraming, u16> {
    let values = |name: &'static str| {
        req.headers
            .iter()
            .filter(move |(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    let lengths: Vec<&str> = values("content-length").collect();
    if values("transfer-encoding").next().is_some() {
        let codings: Vec<String> = values("transfer-encoding")
            .flat_map(|v| v.split(','))
            .map(|c| c.trim().to_ascii_lowercase())
            .filter(|c| !c.is_empty())
            .collect();
        if codings.iter().any(|c| c != "chunked") {
            return Err(HTTP_NOT_IMPLEMENTED);
        }
        if codings.len() != 1 || !lengths.is_empty() {
            return Err(HTTP_BAD_REQUEST);
        }
        return Ok(BodyFraming::Chunked);
    }
    match lengths.as_slice() {
        [] => Ok(BodyFraming::None),
        [v] if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) => match v.parse::<u64>() {
            Ok(n) if n <= max_body as u64 => Ok(BodyFraming::Length(n as usize)),
            _ => Err(HTTP_ENTITY_TOO_LARGE),
        },
        _ => Err(HTTP_BAD_REQUEST),
    }
}

/// Reads and parses a request head (request line and headers, at most
/// [`HttpServerOptions::max_headers_size`]) and its framing headers.
fn read_head(
    inner: &Inner,
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
    peer: CService,
    deadline: Instant,
) -> Result<RequestHead, ReadError> {
    let max_head = inner.opts.max_headers_size;
    let head_end = loop {
        if let Some(e) = find_head_end(buf) {
            if e > max_head + 4 {
                return Err(ReadError::Fail(HTTP_ENTITY_TOO_LARGE));
            }
            break e;
        }
        if buf.len() > max_head + 4 {
            return Err(ReadError::Fail(HTTP_ENTITY_TOO_LARGE));
        }
        if !fill(stream, buf, deadline) {
            return Err(ReadError::Closed);
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end - 4]).into_owned();
    buf.drain(..head_end);
    let mut lines = head.split("\r\n");
    let first = lines.next().unwrap_or("");
    let parts: Vec<&str> = first.split(' ').collect();
    if parts.len() != 3 {
        return Err(ReadError::Fail(HTTP_BAD_REQUEST));
    }
    let minor = match parts[2] {
        "HTTP/1.1" => 1,
        "HTTP/1.0" => 0,
        _ => return Err(ReadError::Fail(HTTP_BAD_REQUEST)),
    };
    let method = match parts[0] {
        "GET" => RequestMethod::Get,
        "POST" => RequestMethod::Post,
        "HEAD" => RequestMethod::Head,
        "PUT" => RequestMethod::Put,
        _ => RequestMethod::Unknown,
    };
    let mut headers = Vec::new();
    for line in lines {
        let Some((k, v)) = line.split_once(':') else {
            return Err(ReadError::Fail(HTTP_BAD_REQUEST));
        };
        headers.push((k.trim().to_string(), v.trim().to_string()));
    }
    let req = HttpRequest {
        method,
        uri: parts[1].to_string(),
        minor,
        headers,
        body: Vec::new(),
        peer,
    };
    let conn_hdr = req.get_header("connection").map(|s| s.to_ascii_lowercase());
    let keep_alive = match minor {
        1 => conn_hdr.as_deref() != Some("close"),
        _ => conn_hdr.as_deref() == Some("keep-alive"),
    };
    let framing = body_framing(&req, inner.opts.max_body_size).map_err(ReadError::Fail)?;
    let expect_continue = minor == 1
        && req
            .get_header("expect")
            .is_some_and(|v| v.eq_ignore_ascii_case("100-continue"));
    Ok(RequestHead {
        req,
        keep_alive,
        framing,
        expect_continue,
    })
}

/// Reads the body `framing` announces into `req.body` (at most
/// [`HttpServerOptions::max_body_size`]), by `deadline`.
fn read_body(
    inner: &Inner,
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
    head: &mut RequestHead,
    deadline: Instant,
) -> Result<(), ReadError> {
    let max_head = inner.opts.max_headers_size;
    let max_body = inner.opts.max_body_size;
    let req = &mut head.req;
    let send_continue = |stream: &mut TcpStream| {
        if write_all_until(stream, b"HTTP/1.1 100 Continue\r\n\r\n", deadline) {
            Ok(())
        } else {
            Err(ReadError::Closed)
        }
    };
    match head.framing {
        BodyFraming::None => {}
        BodyFraming::Chunked => {
            if head.expect_continue {
                send_continue(stream)?;
            }
            loop {
                let line_end = loop {
                    if let Some(p) = buf.windows(2).position(|w| w == b"\r\n") {
                        break p;
                    }
                    if buf.len() > 1024 {
                        return Err(ReadError::Fail(HTTP_BAD_REQUEST));
                    }
                    if !fill(stream, buf, deadline) {
                        return Err(ReadError::Closed);
                    }
                };
                let size_str = String::from_utf8_lossy(&buf[..line_end]).into_owned();
                let size_str = size_str.split(';').next().unwrap_or("").trim().to_string();
                let Ok(size) = usize::from_str_radix(&size_str, 16) else {
                    return Err(ReadError::Fail(HTTP_BAD_REQUEST));
                };
                buf.drain(..line_end + 2);
                if req.body.len().saturating_add(size) > max_body {
                    return Err(ReadError::Fail(HTTP_ENTITY_TOO_LARGE));
                }
                if size == 0 {
                    // Trailers end with an empty line.
                    loop {
                        if let Some(e) =
                            find_head_end(&[b"\r\n".as_slice(), buf.as_slice()].concat())
                        {
                            buf.drain(..e - 2);
                            break;
                        }
                        if buf.len() > max_head {
                            return Err(ReadError::Fail(HTTP_ENTITY_TOO_LARGE));
                        }
                        if !fill(stream, buf, deadline) {
                            return Err(ReadError::Closed);
                        }
                    }
                    break;
                }
                while buf.len() < size + 2 {
                    if !fill(stream, buf, deadline) {
                        return Err(ReadError::Closed);
                    }
                }
                if &buf[size..size + 2] != b"\r\n" {
                    return Err(ReadError::Fail(HTTP_BAD_REQUEST));
                }
                req.body.extend_from_slice(&buf[..size]);
                buf.drain(..size + 2);
            }
        }
        BodyFraming::Length(len) => {
            if head.expect_continue && buf.len() < len {
                send_continue(stream)?;
            }
            while buf.len() < len {
                if !fill(stream, buf, deadline) {
                    return Err(ReadError::Closed);
                }
            }
            req.body = buf.drain(..len).collect();
        }
    }
    Ok(())
}

fn reason_phrase(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        204 => "No Content",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        413 => "Request Entity Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        _ => "Unknown",
    }
}

/// libevent's `evhttp_send_error` body: a small HTML page naming the status.
fn error_page(status: u16) -> HttpReply {
    let r = reason_phrase(status);
    HttpReply::new(
        status,
        format!("<HTML><HEAD>\n<TITLE>{status} {r}</TITLE>\n</HEAD><BODY>\n<H1>{r}</H1>\n</BODY></HTML>\n"),
    )
    .header("Connection", "close")
}

/// `Date:` value (RFC 7231 IMF-fixdate).
pub fn http_date(unix_secs: i64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = unix_secs.div_euclid(86_400);
    let secs = unix_secs.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (proleptic Gregorian, 400-year eras).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{}, {:02} {} {} {:02}:{:02}:{:02} GMT",
        DAYS[days.rem_euclid(7) as usize],
        d,
        MONTHS[(m - 1) as usize],
        y,
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// Writes `reply`; the write must be done within `-rpcservertimeout`.
fn write_reply(
    inner: &Inner,
    stream: &mut TcpStream,
    minor: u8,
    head_only: bool,
    reply: &HttpReply,
    close: bool,
) -> bool {
    let mut out = format!(
        "HTTP/1.{minor} {} {}\r\n",
        reply.status,
        reason_phrase(reply.status)
    );
    let mut has_type = false;
    let mut has_conn = false;
    for (k, v) in &reply.headers {
        has_type |= k.eq_ignore_ascii_case("content-type");
        has_conn |= k.eq_ignore_ascii_case("connection");
        out += &format!("{k}: {v}\r\n");
    }
    if !has_type {
        out += "Content-Type: text/html; charset=ISO-8859-1\r\n";
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    out += &format!("Date: {}\r\n", http_date(now));
    out += &format!("Content-Length: {}\r\n", reply.body.len());
    if close && !has_conn {
        out += "Connection: close\r\n";
    } else if !close && minor == 0 {
        out += "Connection: keep-alive\r\n";
    }
    out += "\r\n";
    let mut bytes = out.into_bytes();
    if !head_only {
        bytes.extend_from_slice(&reply.body);
    }
    write_all_until(stream, &bytes, Instant::now() + inner.opts.server_timeout)
}

/// Not in Core: closes a connection whose client may still be sending a body that was not
/// read: stop writing, then read and discard for at most [`HTTP_LINGER_TIME`] (and
/// `-rpcservertimeout`) until the client closes. Closing a socket with unread input resets
/// the connection, and the reset can destroy the reply before the client reads it (Apache's
/// lingering close does the same).
fn linger_close(inner: &Inner, stream: &mut TcpStream) {
    let _ = stream.shutdown(Shutdown::Write);
    let until = Instant::now() + HTTP_LINGER_TIME.min(inner.opts.server_timeout);
    let mut sink = [0u8; 8192];
    while let Some(left) = time_left(until) {
        if stream.set_read_timeout(Some(left)).is_err() {
            break;
        }
        match stream.read(&mut sink) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
    }
    let _ = stream.shutdown(Shutdown::Both);
}

/// A request being answered, counted so that [`HttpServer::stop`] lets its reply go out.
struct ActiveRequest<'a>(&'a Inner);

impl<'a> ActiveRequest<'a> {
    fn new(inner: &'a Inner) -> Self {
        *inner
            .active_requests
            .lock()
            .unwrap_or_else(|e| e.into_inner()) += 1;
        ActiveRequest(inner)
    }
}

impl Drop for ActiveRequest<'_> {
    fn drop(&mut self) {
        let mut n = self
            .0
            .active_requests
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        *n -= 1;
        if *n == 0 {
            self.0.requests_done.notify_all();
        }
    }
}

/// One connection: requests read one after the other (keep-alive, pipelining), each within
/// one deadline of `-rpcservertimeout` from the moment the server waits for it (not in Core:
/// libevent's timeout restarts with every read, so a client trickling bytes is never dropped).
/// The allow-list, method, handler and its head check (credentials) are checked before the
/// body is read (not in Core, see [`route_request`]); a request refused there with a body
/// announced closes the connection. `waiting` is the connection's [`ConnEntry::waiting`]: set
/// while its next request head has not all arrived.
fn serve_connection(inner: &Inner, mut stream: TcpStream, waiting: &AtomicU64) {
    let _ = stream.set_nodelay(true);
    let Ok(peer_addr) = stream.peer_addr() else {
        return;
    };
    let peer = CService::from_socket_addr(&peer_addr);
    let mut buf = Vec::new();
    loop {
        let deadline = Instant::now() + inner.opts.server_timeout;
        waiting.store(inner.waiting_stamp(), Ordering::SeqCst);
        let fail = |stream: &mut TcpStream, e: ReadError| {
            match e {
                ReadError::Closed => {
                    if time_left(deadline).is_none() {
                        log::debug!(target: "http", "HTTP request from {} timed out", peer.to_string_addr_port());
                    }
                    let _ = stream.shutdown(Shutdown::Both);
                }
                ReadError::Fail(status) => {
                    let _ = write_reply(inner, stream, 1, false, &error_page(status), true);
                    linger_close(inner, stream);
                }
            };
        };
        let mut head = match read_head(inner, &mut stream, &mut buf, peer, deadline) {
            Ok(h) => h,
            Err(e) => return fail(&mut stream, e),
        };
        waiting.store(0, Ordering::SeqCst);
        let (minor, head_only) = (head.req.minor, head.req.method == RequestMethod::Head);
        // Counted from here so that a stopping server lets the reply go out; not while a body
        // is read (a slow client does not hold up the stop).
        let active = ActiveRequest::new(inner);
        let (reply, keep_alive, _active) = match route_request(inner, &head.req) {
            Err(reply) => {
                if head.framing.has_body() {
                    // The body stays unread: answer, then close.
                    let _ = write_reply(inner, &mut stream, minor, head_only, &reply, true);
                    return linger_close(inner, &mut stream);
                }
                (reply, head.keep_alive, active)
            }
            Ok((handler, path)) => {
                drop(active);
                if let Err(e) = read_body(inner, &mut stream, &mut buf, &mut head, deadline) {
                    return fail(&mut stream, e);
                }
                let active = ActiveRequest::new(inner);
                let keep_alive = head.keep_alive;
                (
                    run_handler(inner, handler, path, head.req),
                    keep_alive,
                    active,
                )
            }
        };
        let interrupted = inner.interrupted.load(Ordering::SeqCst);
        let close = !keep_alive
            || interrupted
            || reply
                .headers
                .iter()
                .any(|(k, v)| k.eq_ignore_ascii_case("connection") && v == "close");
        let mut reply = reply;
        if interrupted
            && !reply
                .headers
                .iter()
                .any(|(k, _)| k.eq_ignore_ascii_case("connection"))
        {
            reply.headers.push(("Connection".into(), "close".into()));
        }
        let ok = write_reply(inner, &mut stream, minor, head_only, &reply, close);
        if !ok || close {
            let _ = stream.shutdown(Shutdown::Both);
            return;
        }
    }
}

/// Port of the checks of http_request_cb (httpserver.cpp): shutting down (503), allow-list
/// (403), unknown method (405), handler lookup (404); then, not in Core, the handler's head
/// check (the JSON-RPC handler's method and credentials). Runs on the request head alone:
/// libevent reads the whole body before bitcoind checks anything, here a refused client's
/// body is never read. `Ok` gives the handler and the path after its prefix.
fn route_request(
    inner: &Inner,
    req: &HttpRequest,
) -> Result<(HttpRequestHandler, String), HttpReply> {
    let peer_str = req.peer.to_string_addr_port();
    if inner.interrupted.load(Ordering::SeqCst) {
        log::debug!(target: "http", "Rejecting request while shutting down");
        return Err(error_page(HTTP_SERVICE_UNAVAILABLE));
    }
    if !client_allowed(&inner.opts.allow_subnets, &req.peer.addr) {
        log::debug!(target: "http", "HTTP request from {peer_str} rejected: Client network is not allowed RPC access");
        return Err(HttpReply::new(HTTP_FORBIDDEN, Vec::new()));
    }
    if req.method == RequestMethod::Unknown {
        log::debug!(target: "http", "HTTP request from {peer_str} rejected: Unknown HTTP request method");
        return Err(HttpReply::new(HTTP_BAD_METHOD, Vec::new()));
    }
    let uri_log: String = sanitize_uri(&req.uri).chars().take(100).collect();
    log::debug!(
        target: "http",
        "Received a {} request for {} from {}",
        request_method_string(req.method),
        uri_log,
        peer_str
    );
    let found = {
        let handlers = inner.handlers.lock().unwrap_or_else(|e| e.into_inner());
        handlers.iter().find_map(|h| {
            let matched = if h.exact_match {
                req.uri == h.prefix
            } else {
                req.uri.starts_with(&h.prefix)
            };
            matched.then(|| {
                (
                    h.handler.clone(),
                    h.head_check.clone(),
                    req.uri[h.prefix.len()..].to_string(),
                )
            })
        })
    };
    let Some((handler, head_check, path)) = found else {
        return Err(HttpReply::new(HTTP_NOT_FOUND, Vec::new()));
    };
    if let Some(reply) = head_check.and_then(|check| check(req)) {
        return Err(reply);
    }
    Ok((handler, path))
}

/// Port of the dispatch of http_request_cb (httpserver.cpp): the request goes to the work
/// queue (503 "Work queue depth exceeded" when it is full) and this thread waits for the reply.
fn run_handler(
    inner: &Inner,
    handler: HttpRequestHandler,
    path: String,
    req: HttpRequest,
) -> HttpReply {
    let (tx, rx) = mpsc::channel();
    let item: WorkItem = Box::new(move || {
        // A panicking handler must not take the worker with it: answer 500 instead.
        let reply = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| handler(&req, &path)))
            .unwrap_or_else(|_| {
                log::error!(
                    "HTTP handler panicked on a request for {}",
                    sanitize_uri(&req.uri)
                );
                HttpReply::new(HTTP_INTERNAL_SERVER_ERROR, "Unhandled request")
            });
        let _ = tx.send(reply);
    });
    if !inner.queue.enqueue(item) {
        log::info!("WARNING: request rejected because http work queue depth exceeded, it can be increased with the -rpcworkqueue= setting");
        return HttpReply::new(HTTP_SERVICE_UNAVAILABLE, "Work queue depth exceeded");
    }
    rx.recv().unwrap_or_else(|_| {
        log::info!("HTTPRequest: Unhandled request");
        HttpReply::new(HTTP_INTERNAL_SERVER_ERROR, "Unhandled request")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_date_format() {
        assert_eq!(http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(http_date(1_795_503_770), "Tue, 24 Nov 2026 07:02:50 GMT");
    }

    /// Mirrors httpserver_tests.cpp-style checks of the bind/allow option interplay.
    #[test]
    fn bind_needs_allowip() {
        let e = http_bind_addresses(&[], &["0.0.0.0".into()], 18443).unwrap();
        assert_eq!(
            e,
            vec![("::1".to_string(), 18443), ("127.0.0.1".to_string(), 18443)]
        );
        let e = http_bind_addresses(
            &["10.0.0.0/8".into()],
            &["127.0.0.2:1234".into(), "::1".into()],
            18443,
        )
        .unwrap();
        assert_eq!(
            e,
            vec![("127.0.0.2".to_string(), 1234), ("::1".to_string(), 18443)]
        );
        assert!(http_bind_addresses(&["1.2.3.4".into()], &["1.2.3.4:x".into()], 1).is_err());
        assert!(init_http_allow_list(&["not-an-ip".into()]).is_err());
        let l = init_http_allow_list(&["10.0.0.0/8".into()]).unwrap();
        let a = lookup_host("10.1.2.3", false, &no_dns).unwrap();
        assert!(client_allowed(&l, &a));
        let b = lookup_host("11.1.2.3", false, &no_dns).unwrap();
        assert!(!client_allowed(&l, &b));
        let lo = lookup_host("127.9.9.9", false, &no_dns).unwrap();
        assert!(client_allowed(&l, &lo));
    }

    /// Hardening (issue 15), not in Core: with the process out of descriptors every accept
    /// fails with EMFILE; the accept loop pauses (5 ms doubling to 1 s) instead of calling
    /// accept again at once, and still stops when asked.
    #[test]
    fn accept_loop_backs_off_on_emfile() {
        let inner = Arc::new(Inner::new(HttpServerOptions::default(), 1));
        let calls = Arc::new(AtomicU64::new(0));
        let t = {
            let (inner, calls) = (inner.clone(), calls.clone());
            std::thread::spawn(move || {
                accept_loop_with(
                    &inner,
                    || {
                        calls.fetch_add(1, Ordering::SeqCst);
                        // EMFILE ("Too many open files") on Linux and the BSDs.
                        Err(io::Error::from_raw_os_error(24))
                    },
                    false,
                )
            })
        };
        std::thread::sleep(Duration::from_millis(300));
        inner.stopping.store(true, Ordering::SeqCst);
        let t0 = Instant::now();
        t.join().unwrap();
        assert!(
            t0.elapsed() < Duration::from_millis(500),
            "stops while paused"
        );
        let n = calls.load(Ordering::SeqCst);
        // 5 + 10 + 20 + 40 + 80 + 160 ms: about 7 calls in 300 ms.
        assert!(n <= 12, "{n} accept calls in 300 ms");
    }

    #[test]
    fn work_queue_bounded() {
        let q = WorkQueue::new(2);
        assert!(q.enqueue(Box::new(|| {})));
        assert!(q.enqueue(Box::new(|| {})));
        assert!(!q.enqueue(Box::new(|| {})));
        q.interrupt();
        assert!(!q.enqueue(Box::new(|| {})));
        // Interrupted queues are drained before run returns.
        q.run();
        assert!(q.state.lock().unwrap().0.is_empty());
    }
}
