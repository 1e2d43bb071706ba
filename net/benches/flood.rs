//! `logos` flood benchmark, loopback only.
//!
//! Run: `cargo bench -p net --bench flood` (release build, `harness = false`); `-- --quick` for
//! a shorter run with smaller counts. Every loop is bounded in count and in time; every socket
//! is bound or dialled on 127.0.0.1, ports from binding port 0.
//!
//! Prints, in one run, each figure beside its ceiling or the issue's target ("met" / "NOT
//! met"), with the load average at the start and at the end (sender and receiver share the
//! machine's cores, so other work lowers the throughput figures; CPU times and instruction
//! counts are less affected):
//! - raw TCP loopback throughput (one socket pair, 1 MiB writes) and one-core throughput of
//!   the payload hash (Blake2b-256 on Logos networks, SHA256d on Bitcoin networks): the two
//!   ceilings of a one-hop flood, and their minimum;
//! - RECEIVER CPU PER MiB [HEADLINE]: a receiving node in a process of its own (this binary
//!   re-executed with `LOGOS_FLOOD_ROLE=receiver`, on logosregtest) is sent distinct 1 MiB
//!   `logos` payloads, framed before the timed window, by a raw TCP peer of this process; its
//!   CPU time (all its threads, user + system, from `/proc/<pid>/stat`, 10 ms ticks) over the
//!   transfer, per MiB, beside the time one core takes to hash a MiB with Blake2b-256 (measured
//!   just before and just after each transfer); the median of [`CPU_RUNS`] runs, with its
//!   system time (the kernel's copy out of the socket) and its user time alone. Target ≤ 1.2×:
//!   the receiver hashes each payload once and copies it at most once;
//! - the same receiving process sent 200-byte payloads: messages per second (wall) and CPU
//!   time per message (information, not judged);
//! - INSTRUCTIONS PER 200 B MESSAGE: the receiving process run under
//!   `valgrind --tool=callgrind` twice, with [`CALLGRIND_COUNTS`] messages; the difference of
//!   the total instructions (callgrind's `summary:` line) over the difference of the counts, so
//!   start-up and handshake cancel (`--quick`: a quarter of the counts). Target: no higher
//!   than the code before the rewrite: 99cea71 measured in the same run (below), else the
//!   issue's fixed reference, 8,484 (measured at 99cea71 by another harness: this one gives
//!   about 5,100 there). Skipped, with the reason printed, when valgrind is absent;
//! - one-hop `logos` throughput between two in-process nodes for 1 MiB payloads (on
//!   logosregtest, and on regtest for SHA256d as a reference) as GB/s and % of min(TCP, hash)
//!   (information: the "≥80% of that limit and ≥1 GB/s" target is retired, as with sender and
//!   receiver on two shared cores it measured the sender's hashing), and for 200-byte payloads
//!   as messages per second (target ≥ 300,000);
//! - beside those one-hop figures (the sender hashes and copies every payload inside the timed
//!   window, as an upper layer calling `propagate_message` does), a VARIANT whose payloads were
//!   hashed and framed before the window (`prepare_logos`); labelled and never judged;
//! - flood latency (p50 / p99) over a 50-node loopback network (target p99 ≤ 100 ms).
//!
//! The old code, measured the same way in the same run: build this bench at 99cea71 in a
//! worktree (its `UpperLayer::receive_message` has no `from` argument, hence the `sed`) and
//! name the binary in `LOGOS_FLOOD_OLD_BENCH`; its receiver rows (CPU per MiB, 200 B, and the
//! callgrind instructions, which then become the reference) are printed beside ours:
//!
//! ```text
//! git worktree add --detach /tmp/old 99cea71
//! cp net/benches/flood.rs /tmp/old/net/benches/flood.rs
//! sed -i 's/msg: &\[u8\], _from: &net::MessageSource)/msg: \&[u8])/' /tmp/old/net/benches/flood.rs
//! (cd /tmp/old && cargo bench -p net --bench flood --no-run)   # prints the binary's path
//! LOGOS_FLOOD_OLD_BENCH=/tmp/old/target/release/deps/flood-<hash> cargo bench -p net --bench flood
//! ```
//!
//! Other arguments: `--only big` / `--only small` run one in-process one-hop measurement
//! (`--preframed` for its variant, `--count N` for the 200 B count), `--only receiver` the
//! receiver-process rows, `--only callgrind` the instruction rows (`--size N`: per message of
//! N bytes instead, not judged). For profiling, `LOGOS_FLOOD_CALLGRIND_DIR=<dir>` keeps the
//! callgrind output files there for `callgrind_annotate`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use net::connection_type::ConnectionType;
use net::{CConnman, Options, SystemClock, UpperLayer};
use netbase::CService;
use protocol::{
    CAddress, Chain, HashKind, NetworkMessage, NetworkParams, RawNetworkMessage, ServiceFlags,
    VersionMessage,
};

const MIB: usize = 1 << 20;

/// Selects this binary's role: unset, the bench; `receiver`, the receiving node of the
/// out-of-process rows ([`receiver_role`]).
const ROLE_ENV: &str = "LOGOS_FLOOD_ROLE";
/// The receiver role: how many `logos` payloads to wait for.
const COUNT_ENV: &str = "LOGOS_FLOOD_COUNT";
/// The receiver role: how long to wait for them, in seconds.
const TIMEOUT_ENV: &str = "LOGOS_FLOOD_TIMEOUT_SECS";
/// The bench at 99cea71 built from this file (see the module doc); unset: fixed references.
const OLD_BENCH_ENV: &str = "LOGOS_FLOOD_OLD_BENCH";
/// Instructions per 200 B message measured at 99cea71, the code before the rewrite.
const REFERENCE_INSTRUCTIONS: u64 = 8_484;
/// The two message counts of the callgrind runs (a full run; `--quick` divides them by 4).
const CALLGRIND_COUNTS: (u64, u64) = (20_000, 60_000);
/// Keep the callgrind output files in this directory (for `callgrind_annotate`); unset: they
/// are written to the temp directory and removed.
const CALLGRIND_DIR_ENV: &str = "LOGOS_FLOOD_CALLGRIND_DIR";
/// Linux reports `/proc/<pid>/stat` times in USER_HZ ticks, 100 per second.
const USER_HZ: f64 = 100.0;

/// Counts deliveries; optionally records the delivery time of tagged payloads.
struct Counter {
    n: AtomicU64,
    bytes: AtomicU64,
    lock: Mutex<()>,
    cv: Condvar,
    stamps: Mutex<Vec<(u64, Instant)>>,
}

impl Counter {
    fn new() -> Arc<Self> {
        Arc::new(Counter {
            n: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            lock: Mutex::new(()),
            cv: Condvar::new(),
            stamps: Mutex::new(Vec::new()),
        })
    }
    fn wait_for(&self, target: u64, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut g = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        while self.n.load(Ordering::SeqCst) < target {
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            let (g2, _) = self
                .cv
                .wait_timeout(g, (deadline - now).min(Duration::from_millis(1)))
                .unwrap_or_else(|e| e.into_inner());
            g = g2;
        }
        true
    }
}

impl Counter {
    fn wait_tag(&self, tag: u64, timeout: Duration) -> Option<Instant> {
        let deadline = Instant::now() + timeout;
        let mut g = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Ok(s) = self.stamps.lock() {
                if let Some((_, t)) = s.iter().rev().find(|(x, _)| *x == tag) {
                    return Some(*t);
                }
            }
            let now = Instant::now();
            if now >= deadline {
                return None;
            }
            let (g2, _) = self
                .cv
                .wait_timeout(g, (deadline - now).min(Duration::from_millis(1)))
                .unwrap_or_else(|e| e.into_inner());
            g = g2;
        }
    }
}

impl UpperLayer for Counter {
    fn receive_message(&self, msg: &[u8], _from: &net::MessageSource) -> bool {
        if msg.len() >= 9 && msg[0] == 0x1a {
            let tag = u64::from_le_bytes(msg[1..9].try_into().unwrap_or([0; 8]));
            if let Ok(mut s) = self.stamps.lock() {
                s.push((tag, Instant::now()));
            }
        }
        self.bytes.fetch_add(msg.len() as u64, Ordering::Relaxed);
        let n = self.n.fetch_add(1, Ordering::SeqCst) + 1;
        // Wake waiters on large payloads, tagged ones, and every 1024th small one (waiters
        // also poll every millisecond).
        if msg.len() >= 65536 || msg.first() == Some(&0x1a) || n.is_multiple_of(1024) {
            let _g = self.lock.lock();
            self.cv.notify_all();
        }
        true
    }
}

/// The receiver role's upper layer: accepts every payload and counts it, waking the waiting
/// main thread once, at the target (no polling, so the waiter costs the process no CPU).
struct Sink {
    n: AtomicU64,
    target: u64,
    done: Mutex<bool>,
    cv: Condvar,
}

impl Sink {
    /// Waits (bounded by `timeout`) until `target` payloads arrived.
    fn wait(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut done = self.done.lock().unwrap_or_else(|e| e.into_inner());
        while !*done {
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            done = self
                .cv
                .wait_timeout(done, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        true
    }
}

impl UpperLayer for Sink {
    fn receive_message(&self, _msg: &[u8], _from: &net::MessageSource) -> bool {
        if self.n.fetch_add(1, Ordering::Relaxed) + 1 == self.target {
            *self.done.lock().unwrap_or_else(|e| e.into_inner()) = true;
            self.cv.notify_all();
        }
        true
    }
}

fn start(upper: Arc<dyn UpperLayer>) -> CConnman {
    start_on(Chain::LogosRegtest, upper)
}

fn start_on(chain: Chain, upper: Arc<dyn UpperLayer>) -> CConnman {
    let opts = Options {
        binds: vec![SocketAddr::from(([127, 0, 0, 1], 0))],
        test_loopback_only: true,
        max_connections: 125,
        ..Options::default()
    };
    let c = CConnman::new(
        opts,
        NetworkParams::get(chain),
        Arc::new(SystemClock),
        None,
        None,
        upper,
    )
    .expect("connman");
    c.start().expect("start");
    c
}

fn connect(from: &CConnman, to: &CConnman) -> bool {
    let port = to.get_listen_port().unwrap_or(0);
    let before_from = from.fully_connected_count();
    let before_to = to.fully_connected_count();
    let dest = format!("127.0.0.1:{port}");
    if !from.open_network_connection(
        &CAddress::new(CService::default(), ServiceFlags(0), 0),
        false,
        None,
        Some(&dest),
        ConnectionType::Manual,
    ) {
        return false;
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if from.fully_connected_count() > before_from && to.fully_connected_count() > before_to {
            return true;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    false
}

fn gbps(bytes: u64, d: Duration) -> f64 {
    bytes as f64 / d.as_secs_f64() / 1e9
}

/// Raw TCP loopback: one socket pair, 1 MiB writes, `total` bytes.
fn raw_tcp(total: usize) -> f64 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = l.local_addr().expect("addr");
    let reader = std::thread::spawn(move || {
        let (mut s, _) = l.accept().expect("accept");
        let mut buf = vec![0u8; 256 * 1024];
        let mut got = 0usize;
        while got < total {
            match s.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => got += n,
            }
        }
        got
    });
    let mut w = TcpStream::connect(addr).expect("connect");
    w.set_nodelay(true).ok();
    let chunk = vec![0x5au8; MIB];
    let start = Instant::now();
    let mut sent = 0;
    while sent < total {
        if w.write_all(&chunk).is_err() {
            break;
        }
        sent += MIB;
    }
    let got = reader.join().unwrap_or(0);
    gbps(got as u64, start.elapsed())
}

/// One-core hash throughput over `total` bytes in 1 MiB calls.
fn hash_rate(kind: HashKind, total: usize) -> f64 {
    let buf = vec![0x33u8; MIB];
    let start = Instant::now();
    let mut acc = 0u8;
    for _ in 0..total / MIB {
        acc ^= kind.hash(&buf)[0];
    }
    std::hint::black_box(acc);
    gbps(total as u64, start.elapsed())
}

/// How the sender hands payloads to the node in a one-hop run.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Sender {
    /// `propagate_message` inside the timed window: the sender hashes and copies each payload
    /// there, as the upper layer does (the headline figures).
    Honest,
    /// Every payload hashed and framed (`prepare_logos`) BEFORE the timed window; the window
    /// times only `propagate_prepared`, the wire and the receiver. On 2 cores this shows what
    /// the receiver sustains when the sender's hashing does not compete with it.
    PreFramed,
}

/// One hop on `chain`: `a` floods `count` distinct payloads of `size` bytes to `b`, at most
/// `window` in flight. Returns (messages per second, GB/s of payload).
fn one_hop(
    chain: Chain,
    size: usize,
    count: u64,
    window: u64,
    sender: Sender,
) -> Option<(f64, f64)> {
    let ca = Counter::new();
    let cb = Counter::new();
    let a = start_on(chain, ca);
    let b = start_on(chain, cb.clone());
    if !connect(&a, &b) {
        return None;
    }
    let mut payload = vec![0x77u8; size];
    let prepared: Vec<net::connman::PreparedLogos> = if sender == Sender::PreFramed {
        (0..count)
            .filter_map(|i| {
                payload[..8].copy_from_slice(&i.to_le_bytes());
                a.prepare_logos(&payload)
            })
            .collect()
    } else {
        Vec::new()
    };
    let start_t = Instant::now();
    for i in 0..count {
        if i >= window && !cb.wait_for(i - window + 1, Duration::from_secs(30)) {
            return None;
        }
        match prepared.get(i as usize) {
            Some(p) => {
                a.propagate_prepared(p);
            }
            None => {
                payload[..8].copy_from_slice(&i.to_le_bytes());
                a.propagate_message(&payload);
            }
        }
    }
    if !cb.wait_for(count, Duration::from_secs(60)) {
        return None;
    }
    let d = start_t.elapsed();
    Some((
        count as f64 / d.as_secs_f64(),
        gbps(cb.bytes.load(Ordering::Relaxed), d),
    ))
}

fn percentile(v: &mut [f64], p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    let i = ((v.len() - 1) as f64 * p).round() as usize;
    v[i.min(v.len() - 1)]
}

/// 50 nodes, ring plus chords (each ≥ 3 links); `rounds` messages from varying origins.
/// Returns (p50, p99) of per-delivery latency and (p50, p99) of full-coverage time, in ms.
fn flood_latency(n: usize, rounds: u64) -> Option<((f64, f64), (f64, f64))> {
    let counters: Vec<Arc<Counter>> = (0..n).map(|_| Counter::new()).collect();
    let nodes: Vec<CConnman> = counters.iter().map(|c| start(c.clone())).collect();
    let mut degree = vec![0usize; n];
    let mut edges = Vec::new();
    for i in 0..n {
        edges.push((i, (i + 1) % n));
        degree[i] += 1;
        degree[(i + 1) % n] += 1;
    }
    for i in 0..n {
        if degree[i] < 3 {
            let j = (i + n / 2 + (i % 3)) % n;
            if j != i {
                edges.push((i, j));
                degree[i] += 1;
                degree[j] += 1;
            }
        }
    }
    for &(a, b) in &edges {
        if !connect(&nodes[a], &nodes[b]) {
            return None;
        }
    }
    let mut per_delivery = Vec::new();
    let mut coverage = Vec::new();
    for r in 0..rounds {
        let origin = (r as usize * 7) % n;
        let mut payload = vec![0u8; 200];
        payload[0] = 0x1a;
        payload[1..9].copy_from_slice(&r.to_le_bytes());
        let sent_at = Instant::now();
        nodes[origin].propagate_message(&payload);
        let mut last = sent_at;
        for (i, c) in counters.iter().enumerate() {
            if i == origin {
                continue;
            }
            let t = c.wait_tag(r, Duration::from_secs(10))?;
            per_delivery.push(t.duration_since(sent_at).as_secs_f64() * 1e3);
            if t > last {
                last = t;
            }
        }
        coverage.push(last.duration_since(sent_at).as_secs_f64() * 1e3);
    }
    let d = (
        percentile(&mut per_delivery.clone(), 0.5),
        percentile(&mut per_delivery, 0.99),
    );
    let c = (
        percentile(&mut coverage.clone(), 0.5),
        percentile(&mut coverage, 0.99),
    );
    for node in &nodes {
        node.interrupt();
    }
    Some((d, c))
}

// ------------------------------------------------------------ the receiver in its own process

/// This binary re-executed with [`ROLE_ENV`]`=receiver`: one node on logosregtest (127.0.0.1,
/// port 0) whose upper layer counts payloads. Prints `port <p>`, waits (bounded by
/// [`TIMEOUT_ENV`]) for [`COUNT_ENV`] payloads, prints `done <n>` (or `timeout <n>`), then
/// exits when its standard input closes: the parent reads the process's CPU time in between.
fn receiver_role() {
    let env_u64 = |name: &str, default: u64| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let target = env_u64(COUNT_ENV, 1);
    let timeout = Duration::from_secs(env_u64(TIMEOUT_ENV, 120));
    let sink = Arc::new(Sink {
        n: AtomicU64::new(0),
        target,
        done: Mutex::new(false),
        cv: Condvar::new(),
    });
    let node = start(sink.clone());
    let mut out = std::io::stdout();
    let _ = writeln!(out, "port {}", node.get_listen_port().unwrap_or(0));
    let _ = out.flush();
    let ok = sink.wait(timeout);
    let n = sink.n.load(Ordering::Relaxed);
    let _ = writeln!(out, "{} {n}", if ok { "done" } else { "timeout" });
    let _ = out.flush();
    // The parent closes our stdin (or exits) when it has read our CPU time.
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
    std::process::exit(0);
}

/// User and system CPU time of process `pid`, all its threads (`/proc/<pid>/stat`), in
/// seconds.
fn process_cpu_secs(pid: u32) -> Option<(f64, f64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces): state is field 3, utime 14,
    // stime 15.
    let rest = &stat[stat.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = f.get(11)?.parse().ok()?;
    let stime: u64 = f.get(12)?.parse().ok()?;
    Some((utime as f64 / USER_HZ, stime as f64 / USER_HZ))
}

/// `count` distinct `logos` messages of `size` bytes on logosregtest, framed back to back.
fn logos_frames(size: usize, count: u64) -> Vec<u8> {
    let params = NetworkParams::get(Chain::LogosRegtest);
    let mut out = Vec::with_capacity((size + 24) * count as usize);
    let mut payload = vec![0x77u8; size.max(8)];
    for i in 0..count {
        payload[..8].copy_from_slice(&i.to_le_bytes());
        let m = RawNetworkMessage {
            magic: params.message_start,
            payload: NetworkMessage::Logos(payload.clone()),
        };
        out.extend_from_slice(&m.encode(params.hash_kind));
    }
    out
}

/// One framed message of ours on logosregtest.
fn frame(msg: NetworkMessage) -> Vec<u8> {
    let params = NetworkParams::get(Chain::LogosRegtest);
    RawNetworkMessage {
        magic: params.message_start,
        payload: msg,
    }
    .encode(params.hash_kind)
}

/// The message types in `buf` (whole messages only), consumed from its front.
fn take_commands(buf: &mut Vec<u8>) -> Vec<String> {
    let mut cmds = Vec::new();
    let mut used = 0;
    while buf.len() - used >= 24 {
        let h = &buf[used..used + 24];
        let len = u32::from_le_bytes([h[16], h[17], h[18], h[19]]) as usize;
        if buf.len() - used < 24 + len {
            break;
        }
        let raw = &h[4..16];
        let end = raw.iter().position(|&b| b == 0).unwrap_or(12);
        cmds.push(String::from_utf8_lossy(&raw[..end]).into_owned());
        used += 24 + len;
    }
    buf.drain(..used);
    cmds
}

/// A receiver process, killed if dropped before it exits.
struct ReceiverProc {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<String>,
}

impl ReceiverProc {
    /// Starts `exe` in the receiver role (under callgrind when `callgrind_out` names the output
    /// file) waiting for `count` payloads.
    fn spawn(
        exe: &Path,
        callgrind_out: Option<&Path>,
        count: u64,
        timeout: Duration,
    ) -> Result<Self, String> {
        let mut cmd = match callgrind_out {
            Some(out) => {
                let mut c = Command::new("valgrind");
                c.arg("--tool=callgrind")
                    .arg(format!("--callgrind-out-file={}", out.display()))
                    .arg(exe);
                c
            }
            None => Command::new(exe),
        };
        let mut child = cmd
            .env(ROLE_ENV, "receiver")
            .env(COUNT_ENV, count.to_string())
            .env(TIMEOUT_ENV, timeout.as_secs().to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", exe.display()))?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Ok(ReceiverProc {
            stdin: child.stdin.take(),
            child,
            lines,
        })
    }

    /// The next stdout line starting with one of `prefixes`, within `wait`.
    fn line(&self, prefixes: &[&str], wait: Duration) -> Result<String, String> {
        let deadline = Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) if prefixes.iter().any(|p| l.starts_with(p)) => return Ok(l),
                Ok(_) => {}
                Err(_) => return Err(format!("no {prefixes:?} line from the receiver")),
            }
        }
    }

    /// Closes its stdin and waits (bounded) for it to exit; kills it past the bound.
    fn finish(&mut self, wait: Duration) -> bool {
        self.stdin = None;
        let deadline = Instant::now() + wait;
        loop {
            if let Ok(Some(st)) = self.child.try_wait() {
                return st.success();
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for ReceiverProc {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// What one receiver-process run measured.
struct ReceiverRun {
    /// Wall time from the first byte sent to the receiver's `done`.
    wall: Duration,
    /// The receiver's CPU time over that window, seconds.
    cpu: f64,
    /// The part of [`Self::cpu`] spent in the kernel (socket reads), seconds.
    sys: f64,
    /// Callgrind's total instructions for the whole process (callgrind runs only).
    instructions: Option<u64>,
}

/// Sends `frames` (holding `count` payloads) to a receiver process started from `exe` (under
/// callgrind when `callgrind_out` is set) through a raw TCP peer that completed the handshake,
/// and measures the receiver from the first byte to its last delivery. Bounded by `bound`
/// for each wait.
fn receiver_run(
    exe: &Path,
    callgrind_out: Option<&Path>,
    frames: &[u8],
    count: u64,
    bound: Duration,
) -> Result<ReceiverRun, String> {
    let mut rx = ReceiverProc::spawn(exe, callgrind_out, count, bound)?;
    let pid = rx.child.id();
    let port: u16 = rx
        .line(&["port "], bound)?
        .trim_start_matches("port ")
        .trim()
        .parse()
        .map_err(|_| "bad port line".to_string())?;
    let mut s = TcpStream::connect(SocketAddr::from(([127, 0, 0, 1], port)))
        .map_err(|e| format!("connect: {e}"))?;
    s.set_nodelay(true).ok();
    // Handshake as an inbound peer: our version, the node's version and verack, our verack.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let version = VersionMessage {
        version: 70016,
        services: ServiceFlags(0),
        timestamp: now,
        nonce: 0x5eed_f100d,
        user_agent: "/logos-flood-bench:0.1/".to_string(),
        start_height: 0,
        relay: true,
        ..VersionMessage::default()
    };
    s.write_all(&frame(NetworkMessage::Version(version)))
        .map_err(|e| format!("send version: {e}"))?;
    let deadline = Instant::now() + bound;
    let mut buf = Vec::new();
    let mut tmp = vec![0u8; 65536];
    'handshake: loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err("no verack from the receiver".to_string());
        }
        s.set_read_timeout(Some(left)).ok();
        match s.read(&mut tmp) {
            Ok(0) | Err(_) => return Err("receiver closed during the handshake".to_string()),
            Ok(n) => buf.extend_from_slice(&tmp[..n]),
        }
        for c in take_commands(&mut buf) {
            if c == "verack" {
                break 'handshake;
            }
        }
    }
    s.write_all(&frame(NetworkMessage::Verack))
        .map_err(|e| format!("send verack: {e}"))?;
    // What the node sends from now on (a ping, address messages) is read and dropped.
    s.set_read_timeout(None).ok();
    let drain = s
        .try_clone()
        .map(|mut r| {
            std::thread::spawn(move || {
                let mut tmp = vec![0u8; 65536];
                while let Ok(n) = r.read(&mut tmp) {
                    if n == 0 {
                        break;
                    }
                }
            })
        })
        .ok();
    let cpu0 = process_cpu_secs(pid).ok_or("cannot read the receiver's CPU time")?;
    let t0 = Instant::now();
    for chunk in frames.chunks(MIB) {
        s.write_all(chunk).map_err(|e| format!("send: {e}"))?;
    }
    let done = rx.line(&["done", "timeout"], bound);
    let wall = t0.elapsed();
    let cpu1 = process_cpu_secs(pid).ok_or("cannot read the receiver's CPU time")?;
    let done = done?;
    if !done.starts_with("done") {
        return Err(format!("receiver: {done} of {count} payloads"));
    }
    let exited = rx.finish(bound);
    let _ = s.shutdown(Shutdown::Both);
    if let Some(d) = drain {
        let _ = d.join();
    }
    let instructions = match callgrind_out {
        Some(out) => {
            if !exited {
                return Err("the receiver did not exit under callgrind".to_string());
            }
            let text = std::fs::read_to_string(out).map_err(|e| format!("{e}"))?;
            Some(callgrind_total(&text).ok_or("no summary line in callgrind's output")?)
        }
        None => None,
    };
    Ok(ReceiverRun {
        wall,
        cpu: (cpu1.0 + cpu1.1) - (cpu0.0 + cpu0.1),
        sys: cpu1.1 - cpu0.1,
        instructions,
    })
}

/// The total instructions (`summary:` or `totals:` line) of a callgrind output file.
fn callgrind_total(text: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix("summary:").or(l.strip_prefix("totals:")))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

/// Why callgrind cannot run here, if it cannot.
fn callgrind_missing() -> Option<String> {
    match Command::new("valgrind").arg("--version").output() {
        Ok(o) if o.status.success() => None,
        Ok(o) => Some(format!("`valgrind --version` failed ({})", o.status)),
        Err(e) => Some(format!("valgrind not found ({e})")),
    }
}

/// Instructions per message of `size` bytes of the receiver built in `exe`: two callgrind runs,
/// the difference of their totals over the difference of their counts.
fn instructions_per_message(
    exe: &Path,
    tag: &str,
    size: usize,
    counts: (u64, u64),
) -> Result<f64, String> {
    let keep = std::env::var_os(CALLGRIND_DIR_ENV).map(PathBuf::from);
    let dir = keep.clone().unwrap_or_else(std::env::temp_dir);
    let bound = Duration::from_secs(300);
    let mut totals = Vec::new();
    for count in [counts.0, counts.1] {
        let out = dir.join(format!(
            "logos-flood-callgrind-{tag}-{}-{size}x{count}.out",
            std::process::id()
        ));
        let frames = logos_frames(size, count);
        let run = receiver_run(exe, Some(&out), &frames, count, bound)?;
        if keep.is_none() {
            let _ = std::fs::remove_file(&out);
        }
        totals.push(run.instructions.unwrap_or(0));
    }
    Ok((totals[1] as f64 - totals[0] as f64) / (counts.1 - counts.0) as f64)
}

/// The bench at 99cea71 named by [`OLD_BENCH_ENV`], if set and present.
fn old_bench() -> Option<PathBuf> {
    let p = PathBuf::from(std::env::var_os(OLD_BENCH_ENV)?);
    p.is_file().then_some(p)
}

/// Receiver runs per CPU-per-MiB row; the row shows the median.
const CPU_RUNS: usize = 3;

/// The receiver-process rows: CPU per MiB beside Blake2b's time per MiB, and 200 B messages.
/// Each of the [`CPU_RUNS`] runs is paired with the mean of two Blake2b measurements taken just
/// before and just after it (other work on the cores moves both); the row shows the run of
/// median ratio.
fn receiver_rows(scale: usize, old: Option<&Path>) {
    let exe = match std::env::current_exe() {
        Ok(e) => e,
        Err(e) => return row("receiver process", "FAILED", &format!("{e}"), ""),
    };
    let bound = Duration::from_secs(120);
    let big_count = 256 * scale as u64;
    let big = logos_frames(MIB, big_count);
    let cpu_row = |label: &str, exe: &Path, judged: bool| {
        let mut runs = Vec::new();
        let blake_ms = || MIB as f64 / (hash_rate(HashKind::Blake2b256, 128 * MIB) * 1e9) * 1e3;
        for _ in 0..CPU_RUNS {
            let before = blake_ms();
            let run = receiver_run(exe, None, &big, big_count, bound);
            let blake = (before + blake_ms()) / 2.0;
            match run {
                Ok(r) => runs.push((r.cpu * 1e3 / big_count as f64 / blake, blake, r)),
                Err(e) => return row(label, "FAILED", &e, ""),
            }
        }
        runs.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap_or(std::cmp::Ordering::Equal));
        let all = runs
            .iter()
            .map(|r| format!("{:.2}", r.0))
            .collect::<Vec<_>>()
            .join(", ");
        let (ratio, blake_ms, r) = &runs[runs.len() / 2];
        let ms = r.cpu * 1e3 / big_count as f64;
        row(
            label,
            &format!("{ms:.3} ms/MiB"),
            &format!("{ratio:.2}x Blake2b {blake_ms:.3} ms/MiB; target <=1.2x"),
            if judged {
                verdict(*ratio <= 1.2)
            } else {
                "(reference)"
            },
        );
        row(
            "  (median run: wall throughput of the receiver process)",
            &format!(
                "{:.3} GB/s",
                gbps((big_count as usize * MIB) as u64, r.wall)
            ),
            &format!(
                "CPU {:.2} s (system {:.2} s; user alone {:.2}x) over {:.2} s",
                r.cpu,
                r.sys,
                (r.cpu - r.sys) * 1e3 / big_count as f64 / blake_ms,
                r.wall.as_secs_f64()
            ),
            "",
        );
        row(&format!("  (ratios of the {CPU_RUNS} runs)"), "", &all, "");
    };
    cpu_row(
        "receiver CPU per MiB, 1 MiB payloads, own process [HEADLINE]",
        &exe,
        true,
    );
    if let Some(old) = old {
        cpu_row("receiver CPU per MiB, 1 MiB payloads, 99cea71", old, false);
    }
    drop(big);
    let small_count = 125_000 * scale as u64;
    let small = logos_frames(200, small_count);
    let msg_row =
        |label: &str, exe: &Path| match receiver_run(exe, None, &small, small_count, bound) {
            Ok(r) => row(
                label,
                &format!("{:.0} msg/s", small_count as f64 / r.wall.as_secs_f64()),
                &format!(
                    "CPU {:.2} us/msg (target >=300000 msg/s)",
                    r.cpu * 1e6 / small_count as f64
                ),
                "(not judged)",
            ),
            Err(e) => row(label, "FAILED", &e, ""),
        };
    msg_row(
        "receiver process, 200 B payloads, raw sender [VARIANT]",
        &exe,
    );
    if let Some(old) = old {
        msg_row("receiver process, 200 B payloads, 99cea71", old);
    }
}

/// The callgrind rows: instructions per 200 B message, ours beside the reference.
fn callgrind_rows(quick: bool, old: Option<&Path>) {
    let label = "instructions per 200 B message, receiver (callgrind)";
    if let Some(why) = callgrind_missing() {
        row(label, "SKIPPED", &why, "");
        return;
    }
    let counts = if quick {
        (CALLGRIND_COUNTS.0 / 4, CALLGRIND_COUNTS.1 / 4)
    } else {
        CALLGRIND_COUNTS
    };
    let exe = match std::env::current_exe() {
        Ok(e) => e,
        Err(e) => return row(label, "FAILED", &format!("{e}"), ""),
    };
    let ours = instructions_per_message(&exe, "ours", 200, counts);
    let old_measured = old.map(|o| instructions_per_message(o, "99cea71", 200, counts));
    let (reference, what) = match &old_measured {
        Some(Ok(v)) => (*v, "99cea71 measured in this run"),
        _ => (
            REFERENCE_INSTRUCTIONS as f64,
            "fixed reference, measured at 99cea71",
        ),
    };
    if let Some(r) = &old_measured {
        match r {
            Ok(v) => row(
                "instructions per 200 B message, 99cea71 (callgrind)",
                &format!("{v:.0}"),
                &format!("fixed reference {REFERENCE_INSTRUCTIONS}"),
                "(reference)",
            ),
            Err(e) => row(
                "instructions per 200 B message, 99cea71 (callgrind)",
                "FAILED",
                e,
                "",
            ),
        }
    }
    match ours {
        Ok(v) => row(
            &format!("{label} [HEADLINE]"),
            &format!("{v:.0}"),
            &format!("<= {reference:.0} ({what})"),
            verdict(v <= reference),
        ),
        Err(e) => row(label, "FAILED", &e, ""),
    }
    row(
        &format!(
            "  (callgrind: {} and {} messages, difference of totals)",
            counts.0, counts.1
        ),
        "",
        "",
        "",
    );
}

/// "met" / "NOT met" for a target line.
fn verdict(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "NOT met"
    }
}

/// The 1, 5 and 15-minute load averages (Linux), to judge how much other work shared the
/// cores.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "?".to_string())
}

/// One row of the results table: what was measured, our figure, the ceiling or target it is
/// judged against, and the verdict.
fn row(what: &str, ours: &str, against: &str, verdict: &str) {
    println!("{what:<62} {ours:>16}  {against:<46} {verdict}");
}

/// A one-hop 1 MiB row: GB/s and the share of min(TCP, hash) (information).
fn big_row(label: &str, r: Option<(f64, f64)>, limit: f64) {
    match r {
        Some((_, g)) => {
            let pct = 100.0 * g / limit;
            row(
                label,
                &format!("{g:.3} GB/s"),
                &format!("{pct:3.0}% of limit {limit:.3} GB/s"),
                "(not judged)",
            );
        }
        None => row(label, "FAILED", "", ""),
    }
}

/// A one-hop 200 B row: messages per second.
fn small_row(label: &str, r: Option<(f64, f64)>, judged: bool) {
    match r {
        Some((mps, _)) => row(
            label,
            &format!("{mps:.0} msg/s"),
            "target >=300000 msg/s",
            if judged {
                verdict(mps >= 300_000.0)
            } else {
                "(not judged)"
            },
        ),
        None => row(label, "FAILED", "", ""),
    }
}

fn main() {
    if std::env::var(ROLE_ENV).as_deref() == Ok("receiver") {
        receiver_role();
        return;
    }
    let args: Vec<String> = std::env::args().collect();
    let quick = args.iter().any(|a| a == "--quick");
    let scale = if quick { 1 } else { 4 };
    let logos = Chain::LogosRegtest;
    let big_count = 256 * scale as u64;
    let small_count = 250_000 * scale as u64;
    let old = old_bench();
    let only = |what: &str| args.windows(2).any(|w| w[0] == "--only" && w[1] == what);
    // `--only big` / `--only small` run just one one-hop measurement (for profiling);
    // `--preframed` makes it the pre-framed variant.
    let variant = if args.iter().any(|a| a == "--preframed") {
        Sender::PreFramed
    } else {
        Sender::Honest
    };
    if only("big") {
        let blake = hash_rate(HashKind::Blake2b256, 256 * MIB);
        if let Some((mps, g)) = one_hop(logos, MIB, big_count, 8, variant) {
            println!(
                "one-hop logos, 1 MiB payloads: {g:.3} GB/s ({mps:.0} msg/s; hash {blake:.3} GB/s)"
            );
        }
        return;
    }
    if only("small") {
        let n = args
            .windows(2)
            .find(|w| w[0] == "--count")
            .and_then(|w| w[1].parse().ok())
            .unwrap_or(250_000);
        if let Some((mps, g)) = one_hop(logos, 200, n, 20_000, variant) {
            println!("one-hop logos, 200 B payloads: {mps:.0} msg/s ({g:.3} GB/s)");
        }
        return;
    }
    if only("receiver") {
        receiver_rows(scale, old.as_deref());
        return;
    }
    if only("callgrind") {
        let size = args
            .windows(2)
            .find(|w| w[0] == "--size")
            .and_then(|w| w[1].parse().ok())
            .unwrap_or(200);
        if size == 200 {
            callgrind_rows(quick, old.as_deref());
        } else {
            // Profiling other sizes: as many bytes as the 200 B runs, no target.
            let n = (CALLGRIND_COUNTS.0 * 200 / size as u64).max(4);
            let exe = std::env::current_exe().unwrap_or_default();
            for (tag, exe) in [("ours", Some(exe.as_path())), ("99cea71", old.as_deref())] {
                if let Some(exe) = exe {
                    match instructions_per_message(exe, tag, size, (n, 3 * n)) {
                        Ok(v) => println!("instructions per {size} B message, {tag}: {v:.0}"),
                        Err(e) => println!("instructions per {size} B message, {tag}: {e}"),
                    }
                }
            }
        }
        return;
    }

    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!(
        "logos flood bench: loopback, {cores} cores, load average (1/5/15 min) {} at start",
        load_average()
    );
    println!(
        "Core has no flood benchmark: each figure stands beside its ceiling or the issue's target."
    );
    match &old {
        Some(p) => println!("old code (99cea71) measured in this run: {}", p.display()),
        None => println!(
            "old code not measured ({OLD_BENCH_ENV} unset): fixed references printed instead"
        ),
    }
    println!();
    row("measure", "ours", "judged against", "verdict");
    let tcp = raw_tcp(512 * MIB * scale);
    let blake = hash_rate(HashKind::Blake2b256, 256 * MIB * scale);
    let sha = hash_rate(HashKind::Sha256d, 128 * MIB * scale);
    let limit_logos = tcp.min(blake);
    let limit_btc = tcp.min(sha);
    row(
        "raw TCP loopback, one socket pair, 1 MiB writes",
        &format!("{tcp:.3} GB/s"),
        "ceiling",
        "",
    );
    row(
        "payload hash, one core, Blake2b-256 (the node's HashKind)",
        &format!("{blake:.3} GB/s"),
        "ceiling (Logos networks)",
        "",
    );
    row(
        "payload hash, one core, SHA256d (the node's HashKind)",
        &format!("{sha:.3} GB/s"),
        "ceiling (Bitcoin networks)",
        "",
    );
    row(
        "limit min(raw TCP, hash), Logos",
        &format!("{limit_logos:.3} GB/s"),
        "",
        "",
    );
    row(
        "limit min(raw TCP, hash), Bitcoin",
        &format!("{limit_btc:.3} GB/s"),
        "",
        "",
    );
    receiver_rows(scale, old.as_deref());
    callgrind_rows(quick, old.as_deref());
    big_row(
        "one-hop 1 MiB, logosregtest (Blake2b)",
        one_hop(logos, MIB, big_count, 8, Sender::Honest),
        limit_logos,
    );
    big_row(
        "one-hop 1 MiB, logosregtest, sender pre-framed [VARIANT]",
        one_hop(logos, MIB, big_count, 8, Sender::PreFramed),
        limit_logos,
    );
    big_row(
        "one-hop 1 MiB, regtest (SHA256d) [reference]",
        one_hop(Chain::Regtest, MIB, big_count, 8, Sender::Honest),
        limit_btc,
    );
    small_row(
        "one-hop 200 B, logosregtest [HEADLINE]",
        one_hop(logos, 200, small_count, 20_000, Sender::Honest),
        true,
    );
    small_row(
        "one-hop 200 B, logosregtest, sender pre-framed [VARIANT]",
        one_hop(
            logos,
            200,
            small_count.min(250_000),
            20_000,
            Sender::PreFramed,
        ),
        false,
    );
    match flood_latency(50, 50 * scale as u64) {
        Some(((d50, d99), (c50, c99))) => {
            row(
                "flood latency, 50 nodes, per delivery (p50 / p99)",
                &format!("{d50:.2} / {d99:.2} ms"),
                "target p99 <=100 ms",
                verdict(d99 <= 100.0),
            );
            row(
                "flood latency, 50 nodes, full coverage (p50 / p99)",
                &format!("{c50:.2} / {c99:.2} ms"),
                "",
                "",
            );
        }
        None => row("flood latency, 50 nodes", "FAILED", "", ""),
    }
    println!();
    println!(
        "[HEADLINE]: judged against the issue's target. One-hop rows: the sender hashes and \
         copies every payload inside the timed window; [VARIANT]: payloads hashed and framed \
         before the window (in process: prepare_logos; receiver process: a raw TCP sender), \
         not judged. Receiver rows: a node in its own process, its CPU from /proc."
    );
    println!("load average (1/5/15 min) at end: {}", load_average());
}
