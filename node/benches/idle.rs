//! Idle cost of a node holding many inbound connections, loopback only.
//!
//! Run: `cargo bench -p node --bench idle` (release build, `harness = false`). It starts the
//! real `logos-p2pd` (built by cargo for this bench) as
//!
//! ```text
//! logos-p2pd -regtest -listen=1 -bind=127.0.0.1:<port> -rpcport=<port> -maxconnections=10000
//!            -test=loopbackonly -connect=0 -dnsseed=0 -fixedseeds=0 -printtoconsole=0
//!            -datadir=<fresh temp dir>
//! ```
//!
//! (ports: free ones found by binding port 0 on 127.0.0.1, as the node refuses `:0`), raises
//! this process's `RLIMIT_NOFILE` soft limit to N + 1000 if it is lower (within the hard limit;
//! the node inherits it and raises its own as Core's RaiseFileDescriptorLimit does), opens
//! N = 10,000 connections to it from one `mio::Poll` loop (at most [`MAX_PENDING`] handshakes
//! in flight), completes the version/verack handshake on each, answers every `ping` with its
//! `pong`, lets the node settle for [`SETTLE`], then reads the node's CPU time
//! (`/proc/<pid>/stat`, user + system, all threads) over 30 s of idleness. Prints:
//! - connections handshaken (of those opened) and still open at the end (with
//!   `-maxconnections=10000` the node keeps 10000 − 11 outbound slots = 9,989 inbound; each
//!   connection past that evicts one, as in Core);
//! - the node's resident memory (`VmRSS` in `/proc/<pid>/status`) before the connections and
//!   after, and the difference per open connection;
//! - the node's CPU over the idle window as % of one core, beside the target (< 5%) and the
//!   reference measured before the rewrite (19.5% of one core with 9,000 connections, at
//!   99cea71), or the old binary measured in the same run (below);
//! - the node's soft open-files limit once started (`/proc/<pid>/limits`).
//!
//! The old code measured the same way in the same run: build its binary in a worktree and name
//! it in `LOGOS_IDLE_OLD_BIN`; its rows are printed beside ours:
//!
//! ```text
//! git worktree add --detach /tmp/old 99cea71
//! (cd /tmp/old && cargo build --release -p node --bin logos-p2pd)
//! LOGOS_IDLE_OLD_BIN=/tmp/old/target/release/logos-p2pd cargo bench -p node --bench idle
//! ```
//!
//! Other settings (environment): `LOGOS_IDLE_CONNECTIONS` (N, default 10000),
//! `LOGOS_IDLE_MAXCONNECTIONS` (default 10000), `LOGOS_IDLE_SECS` (the idle window, default
//! 30). The whole run is bounded by [`TOTAL_BOUND`]: a node still being measured then is
//! reported as far as it got, and one not started yet is skipped.

use std::io::{self, ErrorKind, Read, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use mio::net::TcpStream;

#[path = "../tests/proc_stats/mod.rs"]
mod proc_stats;
use mio::{Events, Interest, Poll, Token};
use protocol::header::HEADER_SIZE;
use protocol::{
    Chain, MessageHeader, NetworkMessage, NetworkParams, RawNetworkMessage, ServiceFlags,
    VersionMessage,
};

/// Connections opened by default (`LOGOS_IDLE_CONNECTIONS`).
const DEFAULT_CONNECTIONS: usize = 10_000;
/// The node's `-maxconnections` by default (`LOGOS_IDLE_MAXCONNECTIONS`).
const DEFAULT_MAX_CONNECTIONS: usize = 10_000;
/// The idle window by default, seconds (`LOGOS_IDLE_SECS`).
const DEFAULT_IDLE_SECS: u64 = 30;
/// Handshakes in flight at once (keeps the node's listen backlog from overflowing).
const MAX_PENDING: usize = 256;
/// Time between the last handshake and the idle window (the node's first pings go out and are
/// answered).
const SETTLE: Duration = Duration::from_secs(5);
/// Bound on the whole bench.
const TOTAL_BOUND: Duration = Duration::from_secs(5 * 60);
/// Bound on opening and handshaking the connections to one node.
const CONNECT_BOUND: Duration = Duration::from_secs(120);
/// Target: the idle node's CPU, % of one core.
const TARGET_CPU_PCT: f64 = 5.0;
/// Reference measured before the rewrite (99cea71): % of one core, and with how many
/// connections.
const REFERENCE_CPU_PCT: f64 = 19.5;
const REFERENCE_CONNECTIONS: usize = 9_000;
/// The binary cargo built for this bench.
const BIN: &str = env!("CARGO_BIN_EXE_logos-p2pd");

/// A port on 127.0.0.1 that was free a moment ago (bound with port 0, then released).
fn free_port() -> io::Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?.port())
}

/// The soft "Max open files" limit of process `pid`.
fn open_files_limit(pid: u32) -> Option<String> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/limits")).ok()?;
    s.lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3).map(str::to_string))
}

/// The 1, 5 and 15-minute load averages.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "?".to_string())
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// One framed message on regtest.
fn frame(msg: NetworkMessage) -> Vec<u8> {
    let params = NetworkParams::get(Chain::Regtest);
    RawNetworkMessage {
        magic: params.message_start,
        payload: msg,
    }
    .encode(params.hash_kind)
}

/// One of our connections to the node.
struct Peer {
    stream: TcpStream,
    rbuf: Vec<u8>,
    wbuf: Vec<u8>,
    got_version: bool,
    got_verack: bool,
    handshaken: bool,
    closed: bool,
}

/// Our side of every connection: one poll, the peers by token.
struct Swarm {
    poll: Poll,
    events: Events,
    peers: Vec<Peer>,
    tmp: Vec<u8>,
    handshaken: usize,
    closed: usize,
    closed_before_handshake: usize,
    pongs: u64,
    first_error: Option<String>,
}

impl Swarm {
    fn new() -> io::Result<Self> {
        Ok(Swarm {
            poll: Poll::new()?,
            events: Events::with_capacity(4096),
            peers: Vec::new(),
            tmp: vec![0u8; 65536],
            handshaken: 0,
            closed: 0,
            closed_before_handshake: 0,
            pongs: 0,
            first_error: None,
        })
    }

    /// Handshakes started and not finished.
    fn pending(&self) -> usize {
        self.peers.len() - self.handshaken - self.closed_before_handshake
    }

    /// Open one connection and queue our `version`.
    fn open(&mut self, addr: SocketAddr, nonce: u64) -> io::Result<()> {
        let mut stream = TcpStream::connect(addr)?;
        let token = Token(self.peers.len());
        self.poll.registry().register(
            &mut stream,
            token,
            Interest::READABLE | Interest::WRITABLE,
        )?;
        stream.set_nodelay(true).ok();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let version = VersionMessage {
            version: 70016,
            services: ServiceFlags(0),
            timestamp: now,
            nonce,
            user_agent: "/logos-idle-bench:0.1/".to_string(),
            start_height: 0,
            relay: true,
            ..VersionMessage::default()
        };
        self.peers.push(Peer {
            stream,
            rbuf: Vec::new(),
            wbuf: frame(NetworkMessage::Version(version)),
            got_version: false,
            got_verack: false,
            handshaken: false,
            closed: false,
        });
        Ok(())
    }

    /// One poll (at most `timeout`), then every ready peer serviced.
    fn turn(&mut self, timeout: Duration) {
        if let Err(e) = self.poll.poll(&mut self.events, Some(timeout)) {
            if e.kind() != ErrorKind::Interrupted {
                self.first_error.get_or_insert(format!("poll: {e}"));
            }
            return;
        }
        let ready: Vec<usize> = self.events.iter().map(|e| e.token().0).collect();
        for i in ready {
            self.service(i);
        }
    }

    /// Read until the socket would block, answer what arrived, write what is queued.
    fn service(&mut self, i: usize) {
        let Some(p) = self.peers.get_mut(i) else {
            return;
        };
        if p.closed {
            return;
        }
        let mut dead = false;
        loop {
            match p.stream.read(&mut self.tmp) {
                Ok(0) => {
                    dead = true;
                    break;
                }
                Ok(n) => p.rbuf.extend_from_slice(&self.tmp[..n]),
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e)
                    if e.kind() == ErrorKind::WouldBlock || e.kind() == ErrorKind::NotConnected =>
                {
                    break
                }
                Err(_) => {
                    dead = true;
                    break;
                }
            }
        }
        let mut used = 0;
        while p.rbuf.len() - used >= HEADER_SIZE {
            let mut h = [0u8; HEADER_SIZE];
            h.copy_from_slice(&p.rbuf[used..used + HEADER_SIZE]);
            let header = MessageHeader::from_bytes(&h);
            let len = header.length as usize;
            if p.rbuf.len() - used < HEADER_SIZE + len {
                break;
            }
            let payload = &p.rbuf[used + HEADER_SIZE..used + HEADER_SIZE + len];
            match header.command_str() {
                Some("version") => {
                    p.got_version = true;
                    p.wbuf.extend_from_slice(&frame(NetworkMessage::Verack));
                }
                Some("verack") => p.got_verack = true,
                Some("ping") => {
                    if let Ok(NetworkMessage::Ping(nonce)) =
                        NetworkMessage::decode_payload("ping", payload)
                    {
                        p.wbuf
                            .extend_from_slice(&frame(NetworkMessage::Pong(nonce)));
                        self.pongs += 1;
                    }
                }
                _ => {}
            }
            used += HEADER_SIZE + len;
        }
        p.rbuf.drain(..used);
        while !dead && !p.wbuf.is_empty() {
            match p.stream.write(&p.wbuf) {
                Ok(0) => dead = true,
                Ok(n) => {
                    p.wbuf.drain(..n);
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e)
                    if e.kind() == ErrorKind::WouldBlock || e.kind() == ErrorKind::NotConnected =>
                {
                    break
                }
                Err(_) => dead = true,
            }
        }
        if !p.handshaken && p.got_version && p.got_verack && p.wbuf.is_empty() && !dead {
            p.handshaken = true;
            self.handshaken += 1;
        }
        if dead {
            p.closed = true;
            let _ = self.poll.registry().deregister(&mut p.stream);
            self.closed += 1;
            if !p.handshaken {
                self.closed_before_handshake += 1;
            }
        }
    }

    /// Connections open now.
    fn open_count(&self) -> usize {
        self.peers.len() - self.closed
    }
}

/// A node process, killed when dropped, with its data directory removed.
struct NodeProc {
    child: Child,
    datadir: PathBuf,
}

impl Drop for NodeProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.datadir);
    }
}

/// Starts `bin` listening on a free loopback port; returns it and its address once its log
/// says it is bound.
fn start_node(
    bin: &Path,
    tag: &str,
    max_connections: usize,
) -> Result<(NodeProc, SocketAddr), String> {
    let datadir =
        std::env::temp_dir().join(format!("logos-idle-bench-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&datadir);
    std::fs::create_dir_all(&datadir).map_err(|e| format!("datadir: {e}"))?;
    let port = free_port().map_err(|e| format!("free port: {e}"))?;
    let rpc_port = free_port().map_err(|e| format!("free port: {e}"))?;
    let child = Command::new(bin)
        .args([
            "-regtest".to_string(),
            "-listen=1".to_string(),
            format!("-bind=127.0.0.1:{port}"),
            format!("-rpcport={rpc_port}"),
            format!("-maxconnections={max_connections}"),
            "-test=loopbackonly".to_string(),
            "-connect=0".to_string(),
            "-dnsseed=0".to_string(),
            "-fixedseeds=0".to_string(),
            "-printtoconsole=0".to_string(),
            format!("-datadir={}", datadir.display()),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
    let mut node = NodeProc { child, datadir };
    let log = node.datadir.join("regtest").join("debug.log");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if std::fs::read_to_string(&log).is_ok_and(|l| l.contains("Bound to 127.0.0.1:")) {
            return Ok((node, SocketAddr::from(([127, 0, 0, 1], port))));
        }
        if let Ok(Some(st)) = node.child.try_wait() {
            return Err(format!("the node exited at start ({st})"));
        }
        if Instant::now() >= deadline {
            return Err("the node did not bind within 30 s".to_string());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// What one node measured.
struct Figures {
    opened: usize,
    handshaken: usize,
    open_at_end: usize,
    connect_secs: f64,
    rss_before_kib: u64,
    rss_after_kib: u64,
    threads: u64,
    cpu_pct: f64,
    idle_secs: f64,
    pongs: u64,
    pongs_in_window: u64,
    nofile: String,
    note: Option<String>,
}

/// Start `bin`, connect `n` peers, measure its idle window. Gives up at `deadline`.
fn measure(
    bin: &Path,
    tag: &str,
    n: usize,
    max_connections: usize,
    idle: Duration,
    deadline: Instant,
) -> Result<Figures, String> {
    let (mut node, addr) = start_node(bin, tag, max_connections)?;
    let pid = node.child.id();
    std::thread::sleep(Duration::from_secs(2));
    let rss_before_kib = proc_stats::status_kib(pid, "VmRSS").unwrap_or(0);
    let nofile = open_files_limit(pid).unwrap_or_else(|| "?".to_string());
    let mut swarm = Swarm::new().map_err(|e| format!("poll: {e}"))?;
    let t0 = Instant::now();
    let connect_deadline = (t0 + CONNECT_BOUND).min(deadline);
    let mut note = None;
    while Instant::now() < connect_deadline {
        while swarm.peers.len() < n && swarm.pending() < MAX_PENDING && swarm.first_error.is_none()
        {
            let nonce = 0x1d1e_0000_0000 + swarm.peers.len() as u64;
            if let Err(e) = swarm.open(addr, nonce) {
                swarm.first_error = Some(format!("connect #{}: {e}", swarm.peers.len() + 1));
            }
        }
        swarm.turn(Duration::from_millis(10));
        let stopped_opening = swarm.peers.len() >= n || swarm.first_error.is_some();
        if stopped_opening && swarm.pending() == 0 {
            break;
        }
        if let Ok(Some(st)) = node.child.try_wait() {
            return Err(format!("the node exited while connecting ({st})"));
        }
    }
    let connect_secs = t0.elapsed().as_secs_f64();
    if swarm.pending() > 0 {
        note = Some(format!(
            "{} handshakes unfinished after {connect_secs:.0} s",
            swarm.pending()
        ));
    }
    if let Some(e) = &swarm.first_error {
        note = Some(format!("stopped opening: {e}"));
    }
    let settle_end = (Instant::now() + SETTLE).min(deadline);
    while Instant::now() < settle_end {
        swarm.turn(Duration::from_millis(100));
    }
    let window_end = (Instant::now() + idle).min(deadline);
    let cpu0 = proc_stats::cpu_secs(pid).ok_or("cannot read the node's CPU time")?;
    let w0 = Instant::now();
    let pongs0 = swarm.pongs;
    while Instant::now() < window_end {
        swarm.turn(window_end.saturating_duration_since(Instant::now()));
    }
    let cpu1 = proc_stats::cpu_secs(pid).ok_or("cannot read the node's CPU time")?;
    let idle_secs = w0.elapsed().as_secs_f64();
    let rss_after_kib = proc_stats::status_kib(pid, "VmRSS").unwrap_or(0);
    let threads = proc_stats::status_kib(pid, "Threads").unwrap_or(0);
    if let Ok(Some(st)) = node.child.try_wait() {
        return Err(format!("the node exited during the idle window ({st})"));
    }
    let figures = Figures {
        opened: swarm.peers.len(),
        handshaken: swarm.handshaken,
        open_at_end: swarm.open_count(),
        connect_secs,
        rss_before_kib,
        rss_after_kib,
        threads,
        cpu_pct: 100.0 * (cpu1 - cpu0) / idle_secs.max(1e-9),
        idle_secs,
        pongs: swarm.pongs,
        pongs_in_window: swarm.pongs - pongs0,
        nofile,
        note,
    };
    drop(swarm);
    drop(node);
    Ok(figures)
}

/// One row of the results table.
fn row(what: &str, ours: &str, against: &str, verdict: &str) {
    println!("{what:<56} {ours:>22}  {against:<52} {verdict}");
}

/// The rows of one node; `judged` against the target, else printed as a reference.
fn print_figures(label: &str, f: &Result<Figures, String>, judged: bool, reference: &str) {
    let f = match f {
        Ok(f) => f,
        Err(e) => return row(&format!("{label}: FAILED"), "", e, ""),
    };
    row(
        &format!("{label}: connections handshaken / opened"),
        &format!("{} / {}", f.handshaken, f.opened),
        &format!(
            "{} open at the end; {:.1} s to connect; {} pongs ({} in window)",
            f.open_at_end, f.connect_secs, f.pongs, f.pongs_in_window
        ),
        "",
    );
    let per_conn =
        (f.rss_after_kib.saturating_sub(f.rss_before_kib)) as f64 / f.open_at_end.max(1) as f64;
    row(
        &format!("{label}: node RSS per open connection"),
        &format!("{per_conn:.1} KiB"),
        &format!(
            "VmRSS {:.1} MiB (before connections {:.1} MiB); {} threads",
            f.rss_after_kib as f64 / 1024.0,
            f.rss_before_kib as f64 / 1024.0,
            f.threads
        ),
        "",
    );
    let verdict = if !judged {
        "(reference)"
    } else if f.cpu_pct < TARGET_CPU_PCT {
        "met"
    } else {
        "NOT met"
    };
    row(
        &format!("{label}: node CPU while idle, % of one core"),
        &format!("{:.2} %", f.cpu_pct),
        &format!(
            "target <{TARGET_CPU_PCT}% over {:.0} s; {reference}",
            f.idle_secs
        ),
        verdict,
    );
    row(
        &format!("{label}: node's open-files limit once started"),
        &f.nofile,
        "",
        "",
    );
    if let Some(n) = &f.note {
        row(&format!("{label}: note"), "", n, "");
    }
}

fn main() {
    let start = Instant::now();
    let deadline = start + TOTAL_BOUND;
    let n = env_usize("LOGOS_IDLE_CONNECTIONS", DEFAULT_CONNECTIONS);
    let max_connections = env_usize("LOGOS_IDLE_MAXCONNECTIONS", DEFAULT_MAX_CONNECTIONS);
    let idle = Duration::from_secs(env_usize("LOGOS_IDLE_SECS", DEFAULT_IDLE_SECS as usize) as u64);
    let old = std::env::var_os("LOGOS_IDLE_OLD_BIN")
        .map(PathBuf::from)
        .filter(|p| p.is_file());
    // Each connection is one descriptor here and one in the node (which inherits the limit).
    let nofile = rlimit::increase_nofile_limit(n as u64 + 1_000)
        .map_or_else(|e| format!("unchanged ({e})"), |l| l.to_string());
    let cores = std::thread::available_parallelism().map_or(0, |c| c.get());
    println!(
        "logos-p2pd idle bench: loopback, {cores} cores, load average (1/5/15 min) {} at start",
        load_average()
    );
    println!(
        "N = {n} connections, -maxconnections={max_connections}, idle window {} s, \
         open-files limit of this process {nofile}",
        idle.as_secs()
    );
    match &old {
        Some(p) => println!("old code (99cea71) measured in this run: {}", p.display()),
        None => println!(
            "old code not measured (LOGOS_IDLE_OLD_BIN unset): fixed reference printed instead"
        ),
    }
    println!();
    row("measure", "ours", "against", "verdict");
    let ours = measure(Path::new(BIN), "ours", n, max_connections, idle, deadline);
    let old_figures = old.as_ref().map(|p| {
        if Instant::now() + idle + SETTLE >= deadline {
            Err(format!(
                "skipped: the {} s bound is near",
                TOTAL_BOUND.as_secs()
            ))
        } else {
            measure(p, "old", n, max_connections, idle, deadline)
        }
    });
    let reference = match &old_figures {
        Some(Ok(f)) => format!(
            "99cea71 in this run {:.2}% with {} connections",
            f.cpu_pct, f.open_at_end
        ),
        _ => format!(
            "reference {REFERENCE_CPU_PCT}% with {REFERENCE_CONNECTIONS} connections (fixed, 99cea71)"
        ),
    };
    print_figures("this code", &ours, true, &reference);
    if let Some(f) = &old_figures {
        print_figures("99cea71", f, false, "");
    }
    println!();
    println!(
        "load average (1/5/15 min) at end: {}; {:.0} s in all",
        load_average(),
        start.elapsed().as_secs_f64()
    );
}
