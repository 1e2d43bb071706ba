//! The hostile-load suite's shared half (issue 15, section 2): a real `logos-p2pd` on loopback,
//! an honest pair of peers exchanging `logos` messages through it, the attacks, and what is
//! measured while they run. `node/tests/hostile.rs` (short form, small counts, asserts) and
//! `node/benches/hostile.rs` (long form, full counts, the table) both include this file.
//!
//! Everything stays on loopback: the node binds `127.0.0.1:<port>` (ports that were free a
//! moment ago, found by binding port 0), runs with `-test=loopbackonly -connect=0
//! -dnsseed=0 -fixedseeds=0`, and every socket here dials `127.0.0.1`. Every attack is bounded
//! in count and in time (its window); every wait is bounded.
//!
//! **Honest traffic.** Two honest peers, A and B, connect to the node (`-chain=logosregtest`)
//! and complete the version handshake; A sends a distinct 200-byte `logos` payload every
//! [`HONEST_INTERVAL`] (a tag, a run nonce, a sequence number) and B records when each arrives.
//! Delivery latency is B's receive time minus A's send time (one process, one monotonic clock):
//! the node's socket thread, message handler, the upper layer's verdict (`logos-p2pd` accepts
//! every payload) and the relay to B. Both answer the node's pings. A payload not at B by the
//! end of the window plus [`DELIVERY_GRACE`] is lost.
//!
//! **Measured per attack**, over its window: the honest latency (p50, p99, max, lost), the
//! node's peak RSS (`VmHWM` in `/proc/<pid>/status`, reset at the start of the window through
//! `/proc/<pid>/clear_refs` when the kernel allows it, else the peak since start), its CPU
//! (`utime + stime` of `/proc/<pid>/stat`, all threads), and a probe of the RPC port (an
//! authenticated `getconnectioncount` on a fresh connection every [`PROBE_INTERVAL`]).
//! Afterwards the caller stops the node (RPC `stop`, exit status 0) and reads its store with
//! the library ([`verify_store`]): the seeded addresses and the bans made before the attack must
//! be there, and nothing may have been moved aside as corrupt.
//!
//! Every message is built with the `protocol` crate's codec (`RawNetworkMessage::encode`,
//! `MessageHeader`); the malformed ones are a codec frame with one field changed (another
//! network's magic, a flipped checksum, a header announcing 32 MiB).
#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap};
use std::io::{self, ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use addrman::store::{AddrManOptions, KvStore, Store, P2P_LMDB_DIR, PEERS_BACKUP_KEY};
use netbase::NetGroupManager;
use protocol::header::{CHECKSUM_OFFSET, HEADER_SIZE, MAX_PROTOCOL_MESSAGE_LENGTH};
use protocol::relay::{AnnounceEntry, SendAnnounce, MAX_ANNOUNCE_SZ, RELAY_PROTOCOL_VERSION};
use protocol::{
    CAddress, Chain, MessageHeader, NetworkMessage, NetworkParams, RawNetworkMessage, ServiceFlags,
    VersionMessage,
};
use serde_json::{json, Value};

use crate::bin_common::{free_port, Proc, TempDir};
use crate::proc_stats::{cpu_secs, status_kib};

/// The network every node of the suite runs: `logos` messages are flooded there.
pub const CHAIN: Chain = Chain::LogosRegtest;
/// Its command-line form.
pub const CHAIN_ARG: &str = "-chain=logosregtest";
/// Its directory inside the data directory.
pub const NET_DIR: &str = "logosregtest";
/// RPC credentials of the node (`-rpcuser` / `-rpcpassword`).
pub const RPC_USER: &str = "hostile";
/// See [`RPC_USER`].
pub const RPC_PASSWORD: &str = "hostile-pass";
/// How often honest A sends a payload.
pub const HONEST_INTERVAL: Duration = Duration::from_millis(50);
/// Size of an honest payload.
pub const HONEST_PAYLOAD_BYTES: usize = 200;
/// How long after the window a payload may still arrive before it counts as lost.
pub const DELIVERY_GRACE: Duration = Duration::from_secs(3);
/// How often the RPC probe calls `getconnectioncount`.
pub const PROBE_INTERVAL: Duration = Duration::from_millis(250);
/// The RPC probe's bound on one call.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(5);
/// Targets of the issue.
pub const TARGET_P99_MS: f64 = 100.0;
/// See [`TARGET_P99_MS`].
pub const TARGET_RSS_KIB: u64 = 512 * 1024;
/// First eight bytes of an honest payload.
const HONEST_TAG: &[u8; 8] = b"HONEST\0\0";
/// Bound on a connect or a handshake of one of our peers.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Read timeout of the reader threads (how often they look at their stop flag).
const READ_POLL: Duration = Duration::from_millis(100);

// ---- small helpers ----------------------------------------------------------------------

/// The network parameters of [`CHAIN`].
pub fn params() -> &'static NetworkParams {
    NetworkParams::get(CHAIN)
}

/// Seconds since the epoch.
pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// splitmix64: a deterministic stream of numbers for junk bytes and addresses.
pub fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A nonce that differs between runs.
fn run_nonce() -> u64 {
    let t = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let mut s = t ^ (u64::from(std::process::id()) << 32);
    splitmix(&mut s)
}

/// `p` (0..=1) of sorted `v`, nearest rank.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (p * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

// ---- the codec ----------------------------------------------------------------------------

/// `msg` framed for `chain` by the codec.
pub fn frame_for(chain: Chain, msg: NetworkMessage) -> Vec<u8> {
    let p = NetworkParams::get(chain);
    RawNetworkMessage {
        magic: p.message_start,
        payload: msg,
    }
    .encode(p.hash_kind)
}

/// `msg` framed for [`CHAIN`].
pub fn frame(msg: NetworkMessage) -> Vec<u8> {
    frame_for(CHAIN, msg)
}

/// A `version` as a plain client sends it (NODE_LOGOS, relay on).
pub fn version_msg(nonce: u64, user_agent: &str) -> NetworkMessage {
    NetworkMessage::Version(VersionMessage {
        version: 70016,
        services: ServiceFlags::NODE_LOGOS,
        timestamp: unix_now(),
        nonce,
        user_agent: user_agent.to_string(),
        start_height: 0,
        relay: true,
        ..VersionMessage::default()
    })
}

/// A codec frame with its checksum bytes flipped.
pub fn with_bad_checksum(mut f: Vec<u8>) -> Vec<u8> {
    for b in &mut f[CHECKSUM_OFFSET..HEADER_SIZE] {
        *b ^= 0xff;
    }
    f
}

/// A header (built by the codec) announcing a `logos` payload of `len` bytes.
pub fn header_announcing(len: u32) -> Vec<u8> {
    MessageHeader::new(params().message_start, "logos", len, [0; 4])
        .expect("logos fits in a header")
        .to_bytes()
        .to_vec()
}

/// `n` routable IPv4 addresses (first octet 11..=99: no private, shared or loopback range)
/// with services NODE_LOGOS and the current time, drawn from `rng`.
pub fn routable_addrs(rng: &mut u64, n: usize, port: u16) -> Vec<CAddress> {
    let now = unix_now();
    (0..n)
        .map(|_| {
            let r = splitmix(rng);
            let ip = std::net::Ipv4Addr::new(
                11 + (r % 89) as u8,
                (r >> 8) as u8,
                (r >> 16) as u8,
                1 + ((r >> 24) % 254) as u8,
            );
            CAddress {
                service: netbase::CService::new(netbase::CNetAddr::from(ip), port),
                n_services: ServiceFlags::NODE_LOGOS,
                n_time: now,
            }
        })
        .collect()
}

/// Splits the complete messages off the front of `buf`, calling `f(type, payload)` on each;
/// returns the bytes used. A header that is not the node's is an error.
fn parse_frames(buf: &[u8], mut f: impl FnMut(&str, &[u8])) -> Result<usize, String> {
    let mut used = 0;
    while buf.len() - used >= HEADER_SIZE {
        let mut h = [0u8; HEADER_SIZE];
        h.copy_from_slice(&buf[used..used + HEADER_SIZE]);
        let header = MessageHeader::from_bytes(&h);
        if header.magic != params().message_start {
            return Err(format!("the node sent magic {:02x?}", header.magic));
        }
        let len = header.length as usize;
        if len > MAX_PROTOCOL_MESSAGE_LENGTH as usize {
            return Err(format!("the node announced {len} bytes"));
        }
        if buf.len() - used < HEADER_SIZE + len {
            break;
        }
        f(
            header.command_str().unwrap_or(""),
            &buf[used + HEADER_SIZE..used + HEADER_SIZE + len],
        );
        used += HEADER_SIZE + len;
    }
    Ok(used)
}

// ---- the node process ------------------------------------------------------------------

/// Resets the peak RSS (`VmHWM`) of `pid` to its current RSS; false if the kernel refused.
pub fn reset_peak_rss(pid: u32) -> bool {
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").is_ok()
}

/// Host-wide kernel counters that tell a loopback overload from a slow node: packets the
/// per-CPU input backlog dropped (`/proc/net/softnet_stat`, second column; loopback traffic
/// goes through it, `net.core.netdev_max_backlog` deep), TCP segments retransmitted and listen
/// queue overflows (`/proc/net/snmp`, `/proc/net/netstat`). Other work on the host counts too.
#[derive(Clone, Copy, Debug, Default)]
pub struct KernelCounters {
    /// Packets dropped by the input backlog.
    pub backlog_drops: u64,
    /// TCP segments retransmitted.
    pub retrans_segs: u64,
    /// Connections dropped because a listen queue was full.
    pub listen_overflows: u64,
}

/// `name`'s value in a `/proc/net/snmp`-style file (a header line, then a value line, per
/// protocol `proto`).
fn proc_net_field(path: &str, proto: &str, name: &str) -> Option<u64> {
    let text = std::fs::read_to_string(path).ok()?;
    let mut lines = text.lines().filter(|l| l.starts_with(proto));
    while let (Some(h), Some(v)) = (lines.next(), lines.next()) {
        let i = h.split_whitespace().position(|k| k == name);
        if let Some(i) = i {
            return v.split_whitespace().nth(i)?.parse().ok();
        }
    }
    None
}

impl KernelCounters {
    /// The counters now (0 where a file cannot be read).
    pub fn read() -> Self {
        let backlog_drops = std::fs::read_to_string("/proc/net/softnet_stat")
            .map(|t| {
                t.lines()
                    .filter_map(|l| u64::from_str_radix(l.split_whitespace().nth(1)?, 16).ok())
                    .sum()
            })
            .unwrap_or(0);
        KernelCounters {
            backlog_drops,
            retrans_segs: proc_net_field("/proc/net/snmp", "Tcp:", "RetransSegs").unwrap_or(0),
            listen_overflows: proc_net_field("/proc/net/netstat", "TcpExt:", "ListenOverflows")
                .unwrap_or(0),
        }
    }

    /// The increase since `before`.
    pub fn since(&self, before: &Self) -> Self {
        KernelCounters {
            backlog_drops: self.backlog_drops.saturating_sub(before.backlog_drops),
            retrans_segs: self.retrans_segs.saturating_sub(before.retrans_segs),
            listen_overflows: self
                .listen_overflows
                .saturating_sub(before.listen_overflows),
        }
    }
}

/// Whether `pid` runs (exists and is not a zombie).
fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.get(s.rfind(')')? + 1..)?
                .split_whitespace()
                .next()
                .map(|st| st != "Z")
        })
        .unwrap_or(false)
}

/// Raises this process's soft `RLIMIT_NOFILE` to at least `n` (within the hard limit); the
/// node inherits it. Returns the soft limit now, or why it could not be read.
pub fn raise_nofile(n: u64) -> String {
    rlimit::increase_nofile_limit(n).map_or_else(|e| format!("unchanged ({e})"), |l| l.to_string())
}

/// The node's options beyond the suite's fixed ones.
#[derive(Clone, Debug, Default)]
pub struct NodeSpec {
    /// `-debug=net` (the short form checks the lines Core logs in that category).
    pub debug_net: bool,
    /// `-peertimeout`.
    pub peer_timeout: Option<u32>,
    /// `-rpcservertimeout`.
    pub rpc_server_timeout: Option<u32>,
    /// `-maxconnections`.
    pub max_connections: Option<u32>,
    /// More arguments.
    pub extra: Vec<String>,
    /// A nice value for the node (`renice`, run after start; the bench's CPU-contention
    /// experiment: `LOGOS_HOSTILE_NODE_NICE`).
    pub nice: Option<i32>,
}

/// A running `logos-p2pd` (killed on drop if still running; its data directory removed).
pub struct Node {
    proc: Proc,
    dir: TempDir,
    /// Its P2P address.
    pub p2p: SocketAddr,
    /// Its RPC address.
    pub rpc: SocketAddr,
    /// Its process id.
    pub pid: u32,
}

impl Node {
    /// Starts the binary on free loopback ports and waits (bounded) until RPC answers.
    pub fn start(tag: &str, spec: &NodeSpec) -> Result<Node, String> {
        let dir = TempDir::new(tag);
        let (p2p_port, rpc_port) = (free_port(), free_port());
        let mut args = vec![
            format!("-datadir={}", dir.0.display()),
            CHAIN_ARG.to_string(),
            "-dnsseed=0".to_string(),
            "-fixedseeds=0".to_string(),
            "-test=loopbackonly".to_string(),
            "-connect=0".to_string(),
            "-listen=1".to_string(),
            format!("-bind=127.0.0.1:{p2p_port}"),
            format!("-rpcport={rpc_port}"),
            format!("-rpcuser={RPC_USER}"),
            format!("-rpcpassword={RPC_PASSWORD}"),
            "-printtoconsole=0".to_string(),
        ];
        if spec.debug_net {
            args.push("-debug=net".to_string());
        }
        if let Some(t) = spec.peer_timeout {
            args.push(format!("-peertimeout={t}"));
        }
        if let Some(t) = spec.rpc_server_timeout {
            args.push(format!("-rpcservertimeout={t}"));
        }
        if let Some(n) = spec.max_connections {
            args.push(format!("-maxconnections={n}"));
        }
        args.extend(spec.extra.iter().cloned());
        let proc = Proc::spawn(&args);
        let pid = proc.pid();
        if let Some(n) = spec.nice {
            let st = std::process::Command::new("renice")
                .args(["-n", &n.to_string(), "-p", &pid.to_string()])
                .stdout(std::process::Stdio::null())
                .status();
            if !st.as_ref().is_ok_and(|s| s.success()) {
                return Err(format!("renice -n {n} -p {pid} failed: {st:?}"));
            }
        }
        let node = Node {
            proc,
            dir,
            p2p: SocketAddr::from(([127, 0, 0, 1], p2p_port)),
            rpc: SocketAddr::from(([127, 0, 0, 1], rpc_port)),
            pid,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if node.log().contains("Bound to 127.0.0.1:")
                && node.rpc("getconnectioncount", json!([])).is_ok()
            {
                return Ok(node);
            }
            if !alive(pid) {
                return Err(format!("the node exited at start:\n{}", node.log()));
            }
            if Instant::now() > deadline {
                return Err(format!("the node did not start in 30 s:\n{}", node.log()));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Its network directory (`debug.log`, `p2p.lmdb`).
    pub fn net_dir(&self) -> PathBuf {
        self.dir.0.join(NET_DIR)
    }

    /// Its `debug.log` so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.net_dir().join("debug.log")).unwrap_or_default()
    }

    /// Length of its `debug.log` now (an offset to read what comes after).
    pub fn log_len(&self) -> usize {
        std::fs::metadata(self.net_dir().join("debug.log")).map_or(0, |m| m.len() as usize)
    }

    /// Its `debug.log` after byte `offset`.
    pub fn log_since(&self, offset: usize) -> String {
        let l = self.log();
        l.get(offset..).unwrap_or_default().to_string()
    }

    /// One authenticated JSON-RPC call: the result, or the error / failure as text.
    pub fn rpc(&self, method: &str, params: Value) -> Result<Value, String> {
        rpc_call(self.rpc, method, params, PROBE_TIMEOUT)
    }

    /// Whether the process runs.
    pub fn alive(&self) -> bool {
        alive(self.pid)
    }

    /// RPC `stop`, then a bounded wait for exit status 0 and "Shutdown: done" in the log.
    pub fn stop(&mut self) -> Result<(), String> {
        let asked = self.rpc("stop", json!([]));
        let status = self.proc.wait_exit(Duration::from_secs(60));
        match status {
            Some(s) if s.code() == Some(0) => {}
            other => {
                return Err(format!(
                    "stop: {asked:?}, exit {other:?}; log tail:\n{}",
                    tail(&self.log(), 30)
                ))
            }
        }
        if !self.log().contains("Shutdown: done") {
            return Err("no \"Shutdown: done\" in the log".to_string());
        }
        Ok(())
    }
}

/// The last `n` lines of `text`.
pub fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

// ---- RPC over HTTP ------------------------------------------------------------------------

/// A `POST /` with basic credentials `user:password` (none if `user` is empty), closing the
/// connection after the reply.
pub fn post_request(user: &str, password: &str, body: &str) -> Vec<u8> {
    let mut r = String::from("POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
    if !user.is_empty() {
        let cred = node::rpc::auth::encode_base64(format!("{user}:{password}").as_bytes());
        r += &format!("Authorization: Basic {cred}\r\n");
    }
    r += &format!(
        "Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    r.into_bytes()
}

/// A JSON-RPC request body.
pub fn rpc_body(method: &str, params: &Value) -> String {
    json!({"jsonrpc": "1.0", "id": 1, "method": method, "params": params}).to_string()
}

/// Status and body of the reply to `request` (sent on a new connection), within `timeout`.
pub fn http_exchange(
    addr: SocketAddr,
    request: &[u8],
    timeout: Duration,
) -> Result<(u16, String), String> {
    let mut s = TcpStream::connect_timeout(&addr, timeout).map_err(|e| format!("connect: {e}"))?;
    s.set_read_timeout(Some(timeout)).ok();
    s.set_write_timeout(Some(timeout)).ok();
    s.write_all(request).map_err(|e| format!("write: {e}"))?;
    read_http_reply(&mut s)
}

/// Reads one reply of a `Connection: close` exchange: status and body.
pub fn read_http_reply(s: &mut TcpStream) -> Result<(u16, String), String> {
    let mut out = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        match s.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => {
                if out.is_empty() {
                    return Err(format!("read: {e}"));
                }
                break;
            }
        }
    }
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("no status in {:?}", tail(&text, 3)))?;
    let body = text
        .split_once("\r\n\r\n")
        .map_or(String::new(), |(_, b)| b.to_string());
    Ok((status, body))
}

/// An authenticated call: `result`, or the error as text.
pub fn rpc_call(
    addr: SocketAddr,
    method: &str,
    params: Value,
    timeout: Duration,
) -> Result<Value, String> {
    let req = post_request(RPC_USER, RPC_PASSWORD, &rpc_body(method, &params));
    let (status, body) = http_exchange(addr, &req, timeout)?;
    let v: Value =
        serde_json::from_str(&body).map_err(|e| format!("HTTP {status}, not JSON ({e})"))?;
    if !v["error"].is_null() {
        return Err(format!("{method}: {}", v["error"]));
    }
    Ok(v["result"].clone())
}

// ---- what the node stored --------------------------------------------------------------

/// What was put into the node before an attack.
#[derive(Clone, Debug, Default)]
pub struct Seeded {
    /// `addr:port` of every address `addpeeraddress` took.
    pub addrs: Vec<String>,
    /// The subnets of `listbanned` after the bans were made.
    pub bans: Vec<String>,
}

/// Seeds the address DB (`addpeeraddress`, every fourth into tried) and bans a few subnets,
/// one of them on loopback (`127.0.0.99`, never used by the suite).
pub fn seed(node: &Node) -> Result<Seeded, String> {
    let mut s = Seeded::default();
    for i in 0..40u32 {
        let ip = format!(
            "{}.{}.{}.{}",
            11 + i,
            20 + (i * 13) % 200,
            1 + i % 250,
            10 + i
        );
        let port = 14497u16;
        let tried = i.is_multiple_of(4);
        let r = node.rpc("addpeeraddress", json!([ip, port, tried]))?;
        if r["success"] == true {
            s.addrs.push(format!("{ip}:{port}"));
        }
    }
    for (subnet, secs) in [
        ("198.51.100.0/24", 365 * 86400),
        ("203.0.113.7", 30 * 86400),
        ("2001:db8::/32", 365 * 86400),
        ("127.0.0.99", 365 * 86400),
    ] {
        node.rpc("setban", json!([subnet, "add", secs]))?;
    }
    let banned = node.rpc("listbanned", json!([]))?;
    s.bans = banned
        .as_array()
        .ok_or("listbanned: not an array")?
        .iter()
        .filter_map(|b| b["address"].as_str().map(str::to_string))
        .collect();
    if s.addrs.len() < 30 || s.bans.len() != 4 {
        return Err(format!(
            "seeding: {} addresses, bans {:?}",
            s.addrs.len(),
            s.bans
        ));
    }
    Ok(s)
}

/// Reads the stopped node's store with the library: the address DB and the ban list must load
/// strictly (no repair), hold every seeded address and ban, and nothing may have been moved
/// aside. Returns a summary.
pub fn verify_store(net_dir: &Path, seeded: &Seeded) -> Result<String, String> {
    let store =
        Store::open_env_dir(&net_dir.join(P2P_LMDB_DIR)).map_err(|e| format!("open: {e}"))?;
    let keys = store.keys().map_err(|e| format!("keys: {e}"))?;
    if let Some(k) = keys
        .iter()
        .find(|k| k.contains(".corrupt-") || k.as_str() == PEERS_BACKUP_KEY)
    {
        return Err(format!("a value was moved aside: {k}"));
    }
    let addrman = store
        .read_addrman(NetGroupManager::new(), &AddrManOptions::new(params()))
        .map_err(|e| format!("address DB: {e}"))?
        .ok_or("no address DB stored")?;
    let stored: std::collections::HashSet<String> = [false, true]
        .iter()
        .flat_map(|t| addrman.get_entries(*t))
        .map(|(info, _)| info.addr.service.to_string_addr_port())
        .collect();
    let missing: Vec<&String> = seeded
        .addrs
        .iter()
        .filter(|a| !stored.contains(*a))
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "{} of {} seeded addresses lost: {missing:?}",
            missing.len(),
            seeded.addrs.len()
        ));
    }
    let bans = store.load_banlist().map_err(|e| format!("ban list: {e}"))?;
    let banned: Vec<String> = bans.bans.keys().map(|s| s.to_string()).collect();
    let lost: Vec<&String> = seeded.bans.iter().filter(|b| !banned.contains(b)).collect();
    if !lost.is_empty() {
        return Err(format!("bans lost: {lost:?} (stored {banned:?})"));
    }
    Ok(format!(
        "{} addresses ({} seeded), {} bans",
        stored.len(),
        seeded.addrs.len(),
        banned.len()
    ))
}

// ---- a peer speaking the protocol --------------------------------------------------------

/// A received `logos` payload and when it was read.
pub type LogosSink = Box<dyn FnMut(&[u8], Instant) + Send>;

/// How one of our peers behaves.
#[derive(Default)]
pub struct PeerOpts {
    /// Its user agent.
    pub user_agent: String,
    /// Sends `sendaddrv2` before `verack` (BIP155), so `addrv2` is welcome.
    pub send_addrv2: bool,
    /// Sends `sendannounce` before `verack`, so the link announces (Stage 2 relay).
    pub send_announce: bool,
    /// Answers the node's pings.
    pub answer_pings: bool,
    /// `SO_RCVBUF`, set before connecting.
    pub recv_buffer: Option<usize>,
    /// Reads at most this many bytes, then sleeps this long (a slow reader).
    pub read_pace: Option<(usize, Duration)>,
    /// Called with every `logos` payload received.
    pub on_logos: Option<LogosSink>,
}

/// A connection to the node that completed the version handshake; a thread reads what the
/// node sends (answering pings if asked) until it closes or the peer is dropped.
pub struct WirePeer {
    writer: Arc<Mutex<TcpStream>>,
    stop: Arc<AtomicBool>,
    closed: Arc<AtomicBool>,
    reader: Option<JoinHandle<()>>,
    /// Our side's address (the node's `getpeerinfo` shows it as `addr`).
    pub local: SocketAddr,
}

impl WirePeer {
    /// Connects to `addr` and completes the handshake (bounded by [`CONNECT_TIMEOUT`]).
    pub fn connect(addr: SocketAddr, mut opts: PeerOpts) -> io::Result<WirePeer> {
        let sock = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)?;
        if let Some(n) = opts.recv_buffer {
            sock.set_recv_buffer_size(n)?;
        }
        sock.connect_timeout(&addr.into(), CONNECT_TIMEOUT)?;
        let mut stream: TcpStream = sock.into();
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(READ_POLL))?;
        let local = stream.local_addr()?;
        stream.write_all(&frame(version_msg(run_nonce(), &opts.user_agent)))?;
        let deadline = Instant::now() + CONNECT_TIMEOUT;
        let (mut got_version, mut got_verack) = (false, false);
        let mut buf = Vec::new();
        let mut chunk = vec![0u8; 65536];
        while !(got_version && got_verack) {
            if Instant::now() > deadline {
                return Err(io::Error::new(ErrorKind::TimedOut, "handshake timed out"));
            }
            let n = match stream.read(&mut chunk) {
                Ok(0) => return Err(io::Error::new(ErrorKind::UnexpectedEof, "closed")),
                Ok(n) => n,
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    continue
                }
                Err(e) => return Err(e),
            };
            buf.extend_from_slice(&chunk[..n]);
            let mut replies = Vec::new();
            let used = parse_frames(&buf, |cmd, payload| match cmd {
                "version" => {
                    got_version = true;
                    if opts.send_addrv2 {
                        replies.extend(frame(NetworkMessage::SendAddrV2));
                    }
                    if opts.send_announce {
                        replies.extend(frame(NetworkMessage::SendAnnounce(SendAnnounce {
                            version: RELAY_PROTOCOL_VERSION,
                            salt: run_nonce(),
                        })));
                    }
                    replies.extend(frame(NetworkMessage::Verack));
                }
                "verack" => got_verack = true,
                "ping" => {
                    if let Ok(NetworkMessage::Ping(n)) =
                        NetworkMessage::decode_payload(cmd, payload)
                    {
                        replies.extend(frame(NetworkMessage::Pong(n)));
                    }
                }
                _ => {}
            })
            .map_err(|e| io::Error::new(ErrorKind::InvalidData, e))?;
            buf.drain(..used);
            stream.write_all(&replies)?;
        }
        let writer = Arc::new(Mutex::new(stream.try_clone()?));
        let stop = Arc::new(AtomicBool::new(false));
        let closed = Arc::new(AtomicBool::new(false));
        let (w, st, cl) = (writer.clone(), stop.clone(), closed.clone());
        let reader = std::thread::Builder::new()
            .name("hostile-peer".into())
            .spawn(move || {
                let pace = opts.read_pace;
                let mut chunk = vec![0u8; pace.map_or(65536, |(n, _)| n)];
                while !st.load(Ordering::Relaxed) {
                    let n = match stream.read(&mut chunk) {
                        Ok(0) => break,
                        Ok(n) => n,
                        Err(e)
                            if matches!(
                                e.kind(),
                                ErrorKind::WouldBlock
                                    | ErrorKind::TimedOut
                                    | ErrorKind::Interrupted
                            ) =>
                        {
                            continue
                        }
                        Err(_) => break,
                    };
                    let now = Instant::now();
                    buf.extend_from_slice(&chunk[..n]);
                    let mut pongs = Vec::new();
                    let parsed = parse_frames(&buf, |cmd, payload| match cmd {
                        "ping" if opts.answer_pings => {
                            if let Ok(NetworkMessage::Ping(n)) =
                                NetworkMessage::decode_payload(cmd, payload)
                            {
                                pongs.extend(frame(NetworkMessage::Pong(n)));
                            }
                        }
                        "logos" => {
                            if let Some(f) = opts.on_logos.as_mut() {
                                f(payload, now);
                            }
                        }
                        _ => {}
                    });
                    let Ok(used) = parsed else { break };
                    buf.drain(..used);
                    if !pongs.is_empty() {
                        let _ = w
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .write_all(&pongs);
                    }
                    if let Some((_, pause)) = pace {
                        std::thread::sleep(pause);
                    }
                }
                if !st.load(Ordering::Relaxed) {
                    cl.store(true, Ordering::SeqCst);
                }
            })?;
        Ok(WirePeer {
            writer,
            stop,
            closed,
            reader: Some(reader),
            local,
        })
    }

    /// Writes all of `bytes` (blocking).
    pub fn send(&self, bytes: &[u8]) -> io::Result<()> {
        self.writer
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .write_all(bytes)
    }

    /// Writes `bytes` unless `deadline` passes first: `Ok(false)` then (the stream may be cut
    /// inside a message; the caller stops using it).
    pub fn send_until(&self, bytes: &[u8], deadline: Instant) -> io::Result<bool> {
        let mut s = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        s.set_write_timeout(Some(Duration::from_millis(100)))?;
        let mut rest = bytes;
        while !rest.is_empty() {
            match s.write(rest) {
                Ok(0) => return Err(io::Error::new(ErrorKind::WriteZero, "closed")),
                Ok(n) => rest = &rest[n..],
                Err(e)
                    if matches!(
                        e.kind(),
                        ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                    ) =>
                {
                    if Instant::now() >= deadline {
                        return Ok(false);
                    }
                }
                Err(e) => return Err(e),
            }
        }
        Ok(true)
    }

    /// Whether the node closed the connection.
    pub fn closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }

    /// Closes the connection (with a reset if `rst`) and joins the reader.
    pub fn close(mut self, rst: bool) {
        self.shut(rst);
    }

    fn shut(&mut self, rst: bool) {
        self.stop.store(true, Ordering::SeqCst);
        {
            let s = self.writer.lock().unwrap_or_else(|e| e.into_inner());
            if rst {
                let _ = socket2::SockRef::from(&*s).set_linger(Some(Duration::ZERO));
            }
            let _ = s.shutdown(Shutdown::Both);
        }
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
    }
}

impl Drop for WirePeer {
    fn drop(&mut self) {
        self.shut(false);
    }
}

// ---- the honest pair ---------------------------------------------------------------------

/// Honest traffic's delivery latency over a window.
#[derive(Clone, Debug, Default)]
pub struct Latency {
    /// Payloads A sent in the window.
    pub sent: usize,
    /// Of those, payloads B received.
    pub delivered: usize,
    /// Median, ms.
    pub p50_ms: f64,
    /// 99th percentile, ms.
    pub p99_ms: f64,
    /// Largest, ms.
    pub max_ms: f64,
}

impl Latency {
    /// Payloads sent and not delivered.
    pub fn lost(&self) -> usize {
        self.sent - self.delivered
    }
}

/// Honest peers A (sender) and B (receiver) around the node.
pub struct Honest {
    a: WirePeer,
    b: WirePeer,
    sent: Arc<Mutex<Vec<Instant>>>,
    sent_wall: Arc<Mutex<Vec<SystemTime>>>,
    got: Arc<Mutex<HashMap<u64, Instant>>>,
    stop: Arc<AtomicBool>,
    send_errors: Arc<AtomicU64>,
    sender: Option<JoinHandle<()>>,
}

impl Honest {
    /// Connects B then A, starts A's sender and waits (bounded) for the first delivery.
    pub fn start(node: SocketAddr) -> Result<Honest, String> {
        let got: Arc<Mutex<HashMap<u64, Instant>>> = Arc::default();
        let nonce = run_nonce();
        let g = got.clone();
        let b = WirePeer::connect(
            node,
            PeerOpts {
                user_agent: "/honest-b:0.1/".into(),
                answer_pings: true,
                on_logos: Some(Box::new(move |p: &[u8], t: Instant| {
                    if p.len() >= 24 && &p[..8] == HONEST_TAG && p[8..16] == nonce.to_le_bytes() {
                        let seq = u64::from_le_bytes(p[16..24].try_into().unwrap());
                        g.lock().unwrap().entry(seq).or_insert(t);
                    }
                })),
                ..PeerOpts::default()
            },
        )
        .map_err(|e| format!("honest B: {e}"))?;
        let a = WirePeer::connect(
            node,
            PeerOpts {
                user_agent: "/honest-a:0.1/".into(),
                answer_pings: true,
                ..PeerOpts::default()
            },
        )
        .map_err(|e| format!("honest A: {e}"))?;
        let sent: Arc<Mutex<Vec<Instant>>> = Arc::default();
        let sent_wall: Arc<Mutex<Vec<SystemTime>>> = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let send_errors = Arc::new(AtomicU64::new(0));
        let (w, s, sw, st, errs) = (
            a.writer.clone(),
            sent.clone(),
            sent_wall.clone(),
            stop.clone(),
            send_errors.clone(),
        );
        let sender = std::thread::Builder::new()
            .name("honest-a".into())
            .spawn(move || {
                let start = Instant::now();
                let mut seq = 0u64;
                while !st.load(Ordering::Relaxed) {
                    let mut p = Vec::with_capacity(HONEST_PAYLOAD_BYTES);
                    p.extend_from_slice(HONEST_TAG);
                    p.extend_from_slice(&nonce.to_le_bytes());
                    p.extend_from_slice(&seq.to_le_bytes());
                    p.resize(HONEST_PAYLOAD_BYTES, 0x48);
                    let f = frame(NetworkMessage::Logos(p));
                    {
                        let mut sock = w.lock().unwrap_or_else(|e| e.into_inner());
                        s.lock().unwrap().push(Instant::now());
                        sw.lock().unwrap().push(SystemTime::now());
                        if sock.write_all(&f).is_err() {
                            errs.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    seq += 1;
                    let next = start + HONEST_INTERVAL * (seq as u32);
                    if let Some(d) = next.checked_duration_since(Instant::now()) {
                        std::thread::sleep(d);
                    }
                }
            })
            .map_err(|e| format!("spawn: {e}"))?;
        let h = Honest {
            a,
            b,
            sent,
            sent_wall,
            got,
            stop,
            send_errors,
            sender: Some(sender),
        };
        let deadline = Instant::now() + CONNECT_TIMEOUT;
        while h.got.lock().unwrap().is_empty() {
            if Instant::now() > deadline {
                return Err("the first honest payload did not arrive in 10 s".into());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Ok(h)
    }

    /// Payloads sent so far (the next sequence number).
    pub fn seq(&self) -> u64 {
        self.sent.lock().unwrap().len() as u64
    }

    /// Waits (at most `grace`) until every payload before `to` arrived.
    pub fn wait_delivered(&self, from: u64, to: u64, grace: Duration) {
        let deadline = Instant::now() + grace;
        loop {
            let got = self.got.lock().unwrap();
            if (from..to).all(|s| got.contains_key(&s)) || Instant::now() > deadline {
                return;
            }
            drop(got);
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Latency of the payloads `from..to`.
    pub fn latency(&self, from: u64, to: u64) -> Latency {
        let sent = self.sent.lock().unwrap();
        let got = self.got.lock().unwrap();
        let mut ms: Vec<f64> = (from..to)
            .filter_map(|s| {
                let t0 = sent.get(s as usize)?;
                let t1 = got.get(&s)?;
                Some(t1.saturating_duration_since(*t0).as_secs_f64() * 1000.0)
            })
            .collect();
        ms.sort_by(f64::total_cmp);
        Latency {
            sent: (to - from) as usize,
            delivered: ms.len(),
            p50_ms: percentile(&ms, 0.50),
            p99_ms: percentile(&ms, 0.99),
            max_ms: ms.last().copied().unwrap_or(f64::NAN),
        }
    }

    /// The payloads of `from..to` slower than `ms` (or lost): sequence number, send time
    /// (seconds since the epoch, µs), latency in ms (`None`: lost). To find them in a
    /// `-debug=net -logtimemicros` log.
    pub fn slow(&self, from: u64, to: u64, ms: f64) -> Vec<(u64, f64, Option<f64>)> {
        let sent = self.sent.lock().unwrap();
        let wall = self.sent_wall.lock().unwrap();
        let got = self.got.lock().unwrap();
        (from..to)
            .filter_map(|s| {
                let t0 = *sent.get(s as usize)?;
                let w = wall
                    .get(s as usize)?
                    .duration_since(UNIX_EPOCH)
                    .ok()?
                    .as_secs_f64();
                let l = got
                    .get(&s)
                    .map(|t1| t1.saturating_duration_since(t0).as_secs_f64() * 1000.0);
                l.is_none_or(|l| l > ms).then_some((s, w, l))
            })
            .collect()
    }

    /// Which honest peer the node disconnected, if any, and A's failed writes.
    pub fn trouble(&self) -> Option<String> {
        let mut t = Vec::new();
        if self.a.closed() {
            t.push("node closed honest A".to_string());
        }
        if self.b.closed() {
            t.push("node closed honest B".to_string());
        }
        let e = self.send_errors.load(Ordering::Relaxed);
        if e > 0 {
            t.push(format!("{e} failed writes of A"));
        }
        (!t.is_empty()).then(|| t.join(", "))
    }

    /// Our addresses as the node's `getpeerinfo` shows them.
    pub fn addrs(&self) -> [String; 2] {
        [self.a.local.to_string(), self.b.local.to_string()]
    }
}

impl Drop for Honest {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(s) = self.sender.take() {
            let _ = s.join();
        }
    }
}

// ---- many connections from one poll ------------------------------------------------------

/// What a swarm of raw connections does.
#[derive(Clone)]
pub struct SwarmPlan {
    /// Where to connect.
    pub target: SocketAddr,
    /// Connections to open in all.
    pub total: usize,
    /// Connects in flight at once.
    pub max_pending: usize,
    /// Connections opened per second at most (`None`: as fast as `max_pending` allows).
    pub rate: Option<f64>,
    /// What connection `i` sends first (may be empty).
    pub first: Arc<dyn Fn(usize) -> Vec<u8> + Send + Sync>,
    /// Send `first` one byte per this interval instead of at once.
    pub trickle: Option<Duration>,
    /// After `first`, write this chunk again and again until the node closes.
    pub then: Option<Vec<u8>>,
    /// Keep each connection open until the node closes it or the window ends; else close it
    /// once `first` is written (a reset for odd `i` when `rst`).
    pub hold: bool,
    /// Close with a reset.
    pub rst: bool,
}

/// What a swarm saw.
#[derive(Clone, Debug, Default)]
pub struct SwarmStats {
    /// Connections opened (connect started).
    pub opened: u64,
    /// Connects that failed or did not finish within 5 s.
    pub connect_failed: u64,
    /// Connections the node closed (EOF or reset).
    pub closed_by_node: u64,
    /// Of those, closed within 100 ms of connecting.
    pub closed_at_once: u64,
    /// Connections we closed before the window ended (`hold = false`).
    pub closed_by_us: u64,
    /// Open when the window ended.
    pub open_at_end: u64,
    /// Bytes written.
    pub bytes_sent: u64,
    /// Most connections open at once.
    pub peak_open: u64,
}

struct SwarmConn {
    stream: mio::net::TcpStream,
    i: usize,
    connected: bool,
    started: Instant,
    first: Vec<u8>,
    pos: usize,
    next_byte: Instant,
}

/// Runs `plan` until `until` (or until every connection is done). One `mio::Poll`.
pub fn run_swarm(plan: &SwarmPlan, until: Instant) -> SwarmStats {
    use mio::{Events, Interest, Poll, Token};
    let mut st = SwarmStats::default();
    let Ok(mut poll) = Poll::new() else {
        return st;
    };
    let mut events = Events::with_capacity(1024);
    let mut conns: Vec<Option<SwarmConn>> = Vec::new();
    let mut free: Vec<usize> = Vec::new();
    let (mut pending, mut open) = (0usize, 0usize);
    let t0 = Instant::now();
    let mut scratch = vec![0u8; 65536];
    let then = plan.then.clone().unwrap_or_default();
    loop {
        let now = Instant::now();
        if now >= until {
            break;
        }
        let allowed = plan
            .rate
            .map_or(plan.total, |r| ((now - t0).as_secs_f64() * r) as usize + 1)
            .min(plan.total);
        while (st.opened as usize) < allowed && pending < plan.max_pending {
            let i = st.opened as usize;
            st.opened += 1;
            let Ok(mut stream) = mio::net::TcpStream::connect(plan.target) else {
                st.connect_failed += 1;
                continue;
            };
            let slot = free.pop().unwrap_or_else(|| {
                conns.push(None);
                conns.len() - 1
            });
            if poll
                .registry()
                .register(
                    &mut stream,
                    Token(slot),
                    Interest::READABLE | Interest::WRITABLE,
                )
                .is_err()
            {
                st.connect_failed += 1;
                free.push(slot);
                continue;
            }
            conns[slot] = Some(SwarmConn {
                stream,
                i,
                connected: false,
                started: now,
                first: (plan.first)(i),
                pos: 0,
                next_byte: now,
            });
            pending += 1;
            open += 1;
            st.peak_open = st.peak_open.max(open as u64);
        }
        let timeout = until
            .saturating_duration_since(now)
            .min(Duration::from_millis(10));
        if poll.poll(&mut events, Some(timeout)).is_err() {
            continue;
        }
        let mut ready: Vec<usize> = events.iter().map(|e| e.token().0).collect();
        let now = Instant::now();
        // Trickled bytes fall due without an event; connects that hang time out.
        for (k, c) in conns.iter().enumerate() {
            if let Some(c) = c {
                let due = plan.trickle.is_some() && c.connected && c.next_byte <= now;
                let stuck = !c.connected && now - c.started > Duration::from_secs(5);
                if due || stuck {
                    ready.push(k);
                }
            }
        }
        ready.sort_unstable();
        ready.dedup();
        for k in ready {
            let Some(c) = conns[k].as_mut() else { continue };
            let mut dead = false;
            let mut ours = false;
            if !c.connected {
                let failed = matches!(c.stream.take_error(), Ok(Some(_)) | Err(_));
                match c.stream.peer_addr() {
                    _ if failed => {
                        pending -= 1;
                        st.connect_failed += 1;
                        ours = true;
                    }
                    Ok(_) => {
                        c.connected = true;
                        pending -= 1;
                    }
                    Err(e) if e.kind() == ErrorKind::NotConnected => {
                        if now - c.started > Duration::from_secs(5) {
                            pending -= 1;
                            st.connect_failed += 1;
                            ours = true;
                        } else {
                            continue;
                        }
                    }
                    Err(_) => {
                        pending -= 1;
                        st.connect_failed += 1;
                        ours = true;
                    }
                }
            }
            if c.connected {
                // Read and drop whatever the node sends; EOF or an error means it closed.
                loop {
                    match c.stream.read(&mut scratch) {
                        Ok(0) => {
                            dead = true;
                            break;
                        }
                        Ok(_) => {}
                        Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                        Err(e) if e.kind() == ErrorKind::Interrupted => {}
                        Err(_) => {
                            dead = true;
                            break;
                        }
                    }
                }
                while !dead {
                    let chunk: &[u8] = if c.pos < c.first.len() {
                        let end = match plan.trickle {
                            Some(_) if c.next_byte > now => break,
                            Some(_) => c.pos + 1,
                            None => c.first.len(),
                        };
                        &c.first[c.pos..end]
                    } else if !then.is_empty() {
                        &then
                    } else {
                        break;
                    };
                    match c.stream.write(chunk) {
                        Ok(0) => dead = true,
                        Ok(n) => {
                            st.bytes_sent += n as u64;
                            if c.pos < c.first.len() {
                                c.pos += n;
                                if let Some(d) = plan.trickle {
                                    c.next_byte = now + d;
                                }
                            }
                        }
                        Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                        Err(e) if e.kind() == ErrorKind::Interrupted => {}
                        Err(_) => dead = true,
                    }
                }
                if dead {
                    st.closed_by_node += 1;
                    if now - c.started < Duration::from_millis(100) {
                        st.closed_at_once += 1;
                    }
                } else if !plan.hold && c.pos >= c.first.len() {
                    st.closed_by_us += 1;
                    if plan.rst && c.i % 2 == 1 {
                        let _ = socket2::SockRef::from(&c.stream).set_linger(Some(Duration::ZERO));
                    }
                    ours = true;
                }
            }
            if dead || ours {
                if let Some(mut c) = conns[k].take() {
                    let _ = poll.registry().deregister(&mut c.stream);
                }
                free.push(k);
                open -= 1;
            }
        }
        if st.opened as usize >= plan.total && open == 0 {
            break;
        }
    }
    for c in conns.iter_mut().flatten() {
        st.open_at_end += 1;
        if plan.rst {
            let _ = socket2::SockRef::from(&c.stream).set_linger(Some(Duration::ZERO));
        }
    }
    st
}

// ---- the attacks ---------------------------------------------------------------------------

/// One attack and its bounds.
#[derive(Clone, Debug)]
pub enum Kind {
    /// `count` connections, each sending 64 junk bytes (`junk`) or nothing, held open.
    Connections {
        /// Connections in all.
        count: usize,
        /// Junk (a wrong message start), or silence.
        junk: bool,
    },
    /// `count` connections sending a `version` one byte per `interval`.
    Slowloris {
        /// Connections.
        count: usize,
        /// Between two bytes.
        interval: Duration,
    },
    /// `count` connections whose header announces a 32 MiB payload, then stream filler.
    OversizedLength {
        /// Connections.
        count: usize,
    },
    /// `count` connections sending a `version` framed with Bitcoin main's message start.
    BadMagic {
        /// Connections.
        count: usize,
    },
    /// `peers` handshaken peers sending 1 KiB `logos` messages with a wrong checksum.
    BadChecksum {
        /// Peers.
        peers: usize,
        /// Messages per peer at most (else until the window ends).
        max: Option<u64>,
    },
    /// `peers` handshaken peers sending redundant `version`s, and `connections` new
    /// connections each sending one `version`.
    VersionFlood {
        /// Handshaken peers.
        peers: usize,
        /// Redundant versions per peer at most.
        max: Option<u64>,
        /// New connections.
        connections: usize,
    },
    /// `peers` handshaken peers (half of them BIP155) sending `addr` / `addrv2` messages of
    /// `per_message` fresh routable addresses; above 1,000 each message gets the peer
    /// disconnected, and the attacker reconnects.
    AddrFlood {
        /// Peers at once.
        peers: usize,
        /// Addresses per message.
        per_message: usize,
        /// Messages per peer (all connections) at most.
        max: Option<u64>,
    },
    /// `peers` handshaken peers on announcing links (the node runs `-logosrelay=announce`),
    /// each sending `announce` messages of 50,000 fresh short ids (Core's `MAX_INV_SZ`) and
    /// never answering a request: the fetcher's per-peer cap (5,000), its indexes and its
    /// request timeouts under load.
    AnnounceFlood {
        /// Peers at once.
        peers: usize,
        /// Messages per peer at most.
        max: Option<u64>,
    },
    /// A peer sending distinct `logos` payloads of `size` bytes as fast as the node takes
    /// them, while a slow reader (4 KiB receive buffer, 1 KiB per 100 ms) is connected.
    LogosLineRate {
        /// Payload size.
        size: usize,
        /// Payloads at most.
        max: Option<u64>,
    },
    /// Connect/disconnect churn: `per_sec` connections a second, a third closed at once (half
    /// of those with a reset), a third after a `version`, a third after the whole handshake.
    Churn {
        /// Connections per second.
        per_sec: f64,
    },
    /// RPC: `clients` clients sending bodies over the limit (64 MiB announced, 413), 32 MiB
    /// announced with wrong credentials (401 before the body), and `big` authenticated 32 MiB
    /// bodies of junk JSON sent whole.
    RpcOversized {
        /// Clients looping.
        clients: usize,
        /// Whole 32 MiB bodies sent with valid credentials.
        big: usize,
    },
    /// RPC: `count` connections sending a request one byte per `interval`.
    RpcSlow {
        /// Connections.
        count: usize,
        /// Between two bytes.
        interval: Duration,
    },
    /// RPC: `count` connections that send nothing.
    RpcIdle {
        /// Connections.
        count: usize,
    },
    /// RPC: `clients` clients looping on requests with a wrong password.
    RpcWrongAuth {
        /// Clients.
        clients: usize,
    },
}

/// A named, bounded attack.
#[derive(Clone, Debug)]
pub struct Attack {
    /// Its name in the table (and the bench's filter).
    pub name: &'static str,
    /// What it does.
    pub kind: Kind,
    /// Its window.
    pub window: Duration,
    /// Arguments the attacked node needs (its own node in the short form).
    pub node_args: &'static [&'static str],
}

/// The suite: full counts for the long form, small ones for the short form.
pub fn attacks(long: bool) -> Vec<Attack> {
    let pick = |l: usize, s: usize| if long { l } else { s };
    let max = |s: u64| if long { None } else { Some(s) };
    let w = |secs_long: u64, ms_short: u64| {
        if long {
            Duration::from_secs(secs_long)
        } else {
            Duration::from_millis(ms_short)
        }
    };
    vec![
        Attack {
            name: "junk-conns",
            kind: Kind::Connections {
                count: pick(5000, 200),
                junk: true,
            },
            window: w(15, 2000),
            node_args: &[],
        },
        Attack {
            name: "silent-conns",
            kind: Kind::Connections {
                count: pick(5000, 200),
                junk: false,
            },
            window: w(15, 3500),
            node_args: &[],
        },
        Attack {
            name: "slowloris",
            kind: Kind::Slowloris {
                count: pick(1000, 20),
                interval: Duration::from_secs(1),
            },
            window: w(15, 3500),
            node_args: &[],
        },
        Attack {
            name: "oversized-32mb",
            kind: Kind::OversizedLength {
                count: pick(2000, 20),
            },
            window: w(15, 1500),
            node_args: &[],
        },
        Attack {
            name: "bad-magic",
            kind: Kind::BadMagic {
                count: pick(5000, 50),
            },
            window: w(15, 1500),
            node_args: &[],
        },
        Attack {
            name: "bad-checksum",
            kind: Kind::BadChecksum {
                peers: pick(4, 1),
                max: max(300),
            },
            window: w(15, 1500),
            node_args: &[],
        },
        Attack {
            name: "version-flood",
            kind: Kind::VersionFlood {
                peers: pick(4, 1),
                max: max(300),
                connections: pick(2000, 50),
            },
            window: w(15, 1500),
            node_args: &[],
        },
        Attack {
            name: "addr-flood-1000",
            kind: Kind::AddrFlood {
                peers: pick(8, 2),
                per_message: 1000,
                max: max(10),
            },
            window: w(15, 1500),
            node_args: &[],
        },
        Attack {
            name: "addr-flood-5000",
            kind: Kind::AddrFlood {
                peers: pick(4, 2),
                per_message: 5000,
                max: max(3),
            },
            window: w(15, 1500),
            node_args: &[],
        },
        Attack {
            name: "logos-line-rate",
            kind: Kind::LogosLineRate {
                size: 1024,
                max: max(2000),
            },
            window: w(15, 2000),
            node_args: &[],
        },
        Attack {
            name: "churn",
            kind: Kind::Churn {
                per_sec: if long { 300.0 } else { 150.0 },
            },
            window: w(15, 2000),
            node_args: &[],
        },
        Attack {
            name: "rpc-oversized",
            kind: Kind::RpcOversized {
                clients: pick(8, 2),
                big: pick(4, 1),
            },
            window: w(15, 2000),
            node_args: &[],
        },
        Attack {
            name: "rpc-slow-bytes",
            kind: Kind::RpcSlow {
                count: pick(300, 20),
                interval: Duration::from_secs(if long { 3 } else { 1 }),
            },
            window: w(15, 4000),
            node_args: &[],
        },
        Attack {
            name: "rpc-idle",
            kind: Kind::RpcIdle {
                count: pick(3000, 200),
            },
            window: w(15, 4000),
            node_args: &[],
        },
        Attack {
            name: "rpc-wrong-auth",
            kind: Kind::RpcWrongAuth {
                clients: pick(16, 4),
            },
            window: w(15, 1500),
            node_args: &[],
        },
        Attack {
            name: "announce-flood",
            kind: Kind::AnnounceFlood {
                peers: pick(50, 4),
                max: max(4),
            },
            window: w(15, 3000),
            node_args: &["-logosrelay=announce"],
        },
    ]
}

/// The RPC probe's results over a window.
#[derive(Clone, Debug, Default)]
pub struct Probe {
    /// Calls made.
    pub calls: usize,
    /// Calls answered.
    pub ok: usize,
    /// 99th percentile of the answered ones, ms.
    pub p99_ms: f64,
    /// The first failure.
    pub first_error: Option<String>,
}

/// What one attack did and what the node showed.
#[derive(Clone, Debug, Default)]
pub struct Outcome {
    /// The attack.
    pub name: String,
    /// The window's length as it ran.
    pub window: Duration,
    /// Honest latency.
    pub latency: Latency,
    /// Node peak RSS over the window (or since start), KiB.
    pub peak_rss_kib: u64,
    /// Whether the peak covers the window only.
    pub peak_is_window: bool,
    /// Node CPU over the window, s.
    pub cpu_secs: f64,
    /// The RPC probe.
    pub probe: Probe,
    /// This (attacking) process's CPU over the window, s: it shares the host's cores.
    pub attacker_cpu_secs: f64,
    /// Kernel counters over the window.
    pub kernel: KernelCounters,
    /// Honest payloads slower than half the target, or lost (see [`Honest::slow`]).
    pub slow: Vec<(u64, f64, Option<f64>)>,
    /// Counters of the attack (what it sent, what the node did).
    pub counters: BTreeMap<String, u64>,
    /// Remarks (honest peer trouble, the node's counters).
    pub notes: Vec<String>,
    /// After the stop: the store's summary, or what is wrong with it.
    pub db: Option<Result<String, String>>,
}

impl Outcome {
    /// A counter (0 if absent).
    pub fn count(&self, k: &str) -> u64 {
        self.counters.get(k).copied().unwrap_or(0)
    }

    /// Whether the targets are met: p99 ≤ 100 ms, peak RSS ≤ 512 MB, nothing lost
    /// (honest payloads, stored addresses and bans).
    pub fn target_met(&self) -> bool {
        self.latency.lost() == 0
            && self.latency.p99_ms <= TARGET_P99_MS
            && self.peak_rss_kib <= TARGET_RSS_KIB
            && matches!(self.db, Some(Ok(_)))
    }
}

/// Adds `n` to counter `k`.
fn add(c: &mut BTreeMap<String, u64>, k: &str, n: u64) {
    *c.entry(k.to_string()).or_insert(0) += n;
}

/// Swarm counters under `prefix`.
fn add_swarm(c: &mut BTreeMap<String, u64>, prefix: &str, s: &SwarmStats) {
    for (k, v) in [
        ("opened", s.opened),
        ("connect_failed", s.connect_failed),
        ("closed_by_node", s.closed_by_node),
        ("closed_at_once", s.closed_at_once),
        ("closed_by_us", s.closed_by_us),
        ("open_at_end", s.open_at_end),
        ("peak_open", s.peak_open),
        ("bytes_sent", s.bytes_sent),
    ] {
        add(c, &format!("{prefix}{k}"), v);
    }
}

/// Runs the RPC probe until `stop`.
fn spawn_probe(rpc: SocketAddr, stop: Arc<AtomicBool>) -> JoinHandle<Probe> {
    std::thread::spawn(move || {
        let mut p = Probe::default();
        let mut ms = Vec::new();
        while !stop.load(Ordering::Relaxed) {
            let t = Instant::now();
            p.calls += 1;
            match rpc_call(rpc, "getconnectioncount", json!([]), PROBE_TIMEOUT) {
                Ok(_) => {
                    p.ok += 1;
                    ms.push(t.elapsed().as_secs_f64() * 1000.0);
                }
                Err(e) => {
                    p.first_error.get_or_insert(e);
                }
            }
            let left = PROBE_INTERVAL.saturating_sub(t.elapsed());
            std::thread::sleep(left);
        }
        ms.sort_by(f64::total_cmp);
        p.p99_ms = percentile(&ms, 0.99);
        p
    })
}

/// Runs `attack` against `node` while `honest` exchanges payloads; measures the window.
pub fn run_attack(node: &Node, honest: &Honest, attack: &Attack) -> Outcome {
    let mut out = Outcome {
        name: attack.name.to_string(),
        ..Outcome::default()
    };
    out.peak_is_window = reset_peak_rss(node.pid);
    let cpu0 = cpu_secs(node.pid).unwrap_or(f64::NAN);
    let own0 = cpu_secs(std::process::id()).unwrap_or(f64::NAN);
    let k0 = KernelCounters::read();
    let from = honest.seq();
    let stop_probe = Arc::new(AtomicBool::new(false));
    let probe = spawn_probe(node.rpc, stop_probe.clone());
    let t0 = Instant::now();
    let deadline = t0 + attack.window;
    let mut c = BTreeMap::new();
    let mut notes = Vec::new();
    match &attack.kind {
        Kind::Connections { count, junk } => {
            let junk = *junk;
            let plan = SwarmPlan {
                target: node.p2p,
                total: *count,
                max_pending: 256,
                rate: None,
                first: Arc::new(move |i| {
                    if !junk {
                        return Vec::new();
                    }
                    let mut s = i as u64;
                    let mut b: Vec<u8> = (0..8)
                        .flat_map(|_| splitmix(&mut s).to_le_bytes())
                        .collect();
                    b[0] = 0; // never a network's message start
                    b
                }),
                trickle: None,
                then: None,
                hold: true,
                rst: false,
            };
            add_swarm(&mut c, "", &run_swarm(&plan, deadline));
        }
        Kind::Slowloris { count, interval } => {
            let plan = SwarmPlan {
                target: node.p2p,
                total: *count,
                max_pending: 256,
                rate: None,
                first: Arc::new(|i| frame(version_msg(i as u64, "/slowloris:0.1/"))),
                trickle: Some(*interval),
                then: None,
                hold: true,
                rst: false,
            };
            add_swarm(&mut c, "", &run_swarm(&plan, deadline));
        }
        Kind::OversizedLength { count } => {
            let plan = SwarmPlan {
                target: node.p2p,
                total: *count,
                max_pending: 128,
                rate: None,
                first: Arc::new(|_| header_announcing(protocol::encode::MAX_SIZE as u32)),
                trickle: None,
                then: Some(vec![0x55; 65536]),
                hold: true,
                rst: false,
            };
            add_swarm(&mut c, "", &run_swarm(&plan, deadline));
        }
        Kind::BadMagic { count } => {
            let plan = SwarmPlan {
                target: node.p2p,
                total: *count,
                max_pending: 256,
                rate: None,
                first: Arc::new(|i| frame_for(Chain::Main, version_msg(i as u64, "/main:0.1/"))),
                trickle: None,
                then: None,
                hold: true,
                rst: false,
            };
            add_swarm(&mut c, "", &run_swarm(&plan, deadline));
        }
        Kind::BadChecksum { peers, max } => {
            flood_peers(node, *peers, false, deadline, &mut c, &mut notes, |_, n| {
                (n < max.unwrap_or(u64::MAX)).then(|| {
                    let mut p = vec![0x43u8; 1024];
                    p[..8].copy_from_slice(&n.to_le_bytes());
                    with_bad_checksum(frame(NetworkMessage::Logos(p)))
                })
            });
        }
        Kind::VersionFlood {
            peers,
            max,
            connections,
        } => {
            let plan = SwarmPlan {
                target: node.p2p,
                total: *connections,
                max_pending: 128,
                rate: None,
                first: Arc::new(|i| frame(version_msg(0x7e57_0000 + i as u64, "/vflood:0.1/"))),
                trickle: None,
                then: None,
                hold: true,
                rst: false,
            };
            // The swarm starts once the flooders are in (else it evicts them mid-handshake).
            let swarm = std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(500));
                run_swarm(&plan, deadline)
            });
            let v = frame(version_msg(1, "/vflood:0.1/"));
            flood_peers(node, *peers, false, deadline, &mut c, &mut notes, |_, n| {
                (n < max.unwrap_or(u64::MAX)).then(|| v.clone())
            });
            add_swarm(&mut c, "conns_", &swarm.join().unwrap_or_default());
        }
        Kind::AddrFlood {
            peers,
            per_message,
            max,
        } => addr_flood(
            node,
            *peers,
            *per_message,
            *max,
            deadline,
            &mut c,
            &mut notes,
        ),
        Kind::LogosLineRate { size, max } => {
            logos_line_rate(node, *size, *max, deadline, &mut c, &mut notes)
        }
        Kind::Churn { per_sec } => churn(node, *per_sec, deadline, &mut c, &mut notes),
        Kind::AnnounceFlood { peers, max } => {
            let mut rng = run_nonce();
            let batches: Vec<Vec<u8>> = (0..4)
                .map(|_| {
                    let entries = (0..MAX_ANNOUNCE_SZ)
                        .map(|_| AnnounceEntry {
                            short_id: splitmix(&mut rng),
                            size: 1000,
                        })
                        .collect();
                    frame(NetworkMessage::Announce(entries))
                })
                .collect();
            flood_peers(node, *peers, true, deadline, &mut c, &mut notes, |k, n| {
                (n < max.unwrap_or(u64::MAX)).then(|| batches[(k + n as usize) % 4].clone())
            });
        }
        Kind::RpcOversized { clients, big } => {
            rpc_oversized(node, *clients, *big, deadline, &mut c, &mut notes)
        }
        Kind::RpcSlow { count, interval } => {
            let plan = SwarmPlan {
                target: node.rpc,
                total: *count,
                max_pending: 128,
                rate: None,
                first: Arc::new(|_| {
                    post_request(
                        RPC_USER,
                        RPC_PASSWORD,
                        &rpc_body("getconnectioncount", &json!([])),
                    )
                }),
                trickle: Some(*interval),
                then: None,
                hold: true,
                rst: false,
            };
            add_swarm(&mut c, "", &run_swarm(&plan, deadline));
        }
        Kind::RpcIdle { count } => {
            let plan = SwarmPlan {
                target: node.rpc,
                total: *count,
                max_pending: 256,
                rate: None,
                first: Arc::new(|_| Vec::new()),
                trickle: None,
                then: None,
                hold: true,
                rst: false,
            };
            add_swarm(&mut c, "", &run_swarm(&plan, deadline));
        }
        Kind::RpcWrongAuth { clients } => {
            let handles: Vec<JoinHandle<BTreeMap<String, u64>>> = (0..*clients)
                .map(|_| {
                    let rpc = node.rpc;
                    std::thread::spawn(move || {
                        let mut c = BTreeMap::new();
                        let req = post_request(
                            RPC_USER,
                            "wrong",
                            &rpc_body("getconnectioncount", &json!([])),
                        );
                        while Instant::now() < deadline {
                            match http_exchange(rpc, &req, PROBE_TIMEOUT) {
                                Ok((s, _)) => add(&mut c, &format!("status_{s}"), 1),
                                Err(_) => add(&mut c, "failed", 1),
                            }
                        }
                        c
                    })
                })
                .collect();
            for h in handles {
                for (k, v) in h.join().unwrap_or_default() {
                    add(&mut c, &k, v);
                }
            }
        }
    }
    // Keep the window at its length even when the attack finished early.
    if let Some(d) = deadline.checked_duration_since(Instant::now()) {
        std::thread::sleep(d);
    }
    out.window = t0.elapsed();
    let to = honest.seq();
    let cpu1 = cpu_secs(node.pid).unwrap_or(f64::NAN);
    out.attacker_cpu_secs = cpu_secs(std::process::id()).unwrap_or(f64::NAN) - own0;
    out.kernel = KernelCounters::read().since(&k0);
    out.peak_rss_kib = status_kib(node.pid, "VmHWM").unwrap_or(0);
    stop_probe.store(true, Ordering::SeqCst);
    out.probe = probe.join().unwrap_or_default();
    honest.wait_delivered(from, to, DELIVERY_GRACE);
    out.latency = honest.latency(from, to);
    out.slow = honest.slow(from, to, TARGET_P99_MS / 2.0);
    out.cpu_secs = cpu1 - cpu0;
    if let Some(t) = honest.trouble() {
        notes.push(t);
    }
    if !node.alive() {
        notes.push("THE NODE EXITED".to_string());
    }
    out.counters = c;
    out.notes = notes;
    out
}

/// `peers` handshaken peers, each on its thread, sending what `next(peer, n)` gives for its
/// `n`-th message until it gives `None`, the node closes, or `deadline`. Counts
/// `sent`, `peers_closed_by_node`, `peers_open_at_end`.
fn flood_peers(
    node: &Node,
    peers: usize,
    announce: bool,
    deadline: Instant,
    c: &mut BTreeMap<String, u64>,
    notes: &mut Vec<String>,
    next: impl Fn(usize, u64) -> Option<Vec<u8>> + Send + Sync,
) {
    let (next, p2p) = (&next, node.p2p);
    let results: Vec<Result<(u64, bool), String>> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..peers)
            .map(|k| {
                s.spawn(move || {
                    let p = WirePeer::connect(
                        p2p,
                        PeerOpts {
                            user_agent: "/flooder:0.1/".into(),
                            send_announce: announce,
                            ..PeerOpts::default()
                        },
                    )
                    .map_err(|e| format!("flooder {k}: {e}"))?;
                    let mut n = 0u64;
                    while Instant::now() < deadline && !p.closed() {
                        let Some(bytes) = next(k, n) else { break };
                        match p.send_until(&bytes, deadline) {
                            Ok(true) => n += 1,
                            Ok(false) | Err(_) => break,
                        }
                    }
                    // Let the node read the tail before we look.
                    std::thread::sleep(Duration::from_millis(200));
                    let closed = p.closed();
                    p.close(false);
                    Ok((n, closed))
                })
            })
            .collect();
        hs.into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err("panicked".into())))
            .collect()
    });
    for r in results {
        match r {
            Ok((n, closed)) => {
                add(c, "sent", n);
                add(
                    c,
                    if closed {
                        "peers_closed_by_node"
                    } else {
                        "peers_open_at_end"
                    },
                    1,
                );
            }
            Err(e) => notes.push(e),
        }
    }
}

/// The `addr` / `addrv2` flood (see [`Kind::AddrFlood`]). Counts `sent`, `reconnects`, and
/// from `getpeerinfo` just before the attackers leave, `addr_processed` and
/// `addr_rate_limited` summed over them.
fn addr_flood(
    node: &Node,
    peers: usize,
    per_message: usize,
    max: Option<u64>,
    deadline: Instant,
    c: &mut BTreeMap<String, u64>,
    notes: &mut Vec<String>,
) {
    let gate = std::sync::Barrier::new(peers + 1);
    let (gate, p2p) = (&gate, node.p2p);
    let results: Vec<Result<BTreeMap<String, u64>, String>> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..peers)
            .map(|k| {
                s.spawn(move || {
                    let mut c = BTreeMap::new();
                    let v2 = k % 2 == 1;
                    let mut rng = (k as u64 + 1) << 40 ^ run_nonce();
                    let mut n = 0u64;
                    let mut peer: Option<WirePeer> = None;
                    let mut failure = None;
                    while Instant::now() < deadline && n < max.unwrap_or(u64::MAX) {
                        if peer.as_ref().is_none_or(|p| p.closed()) {
                            if let Some(p) = peer.take() {
                                add(&mut c, "disconnected", 1);
                                p.close(false);
                            }
                            match WirePeer::connect(
                                p2p,
                                PeerOpts {
                                    user_agent: "/addrflood:0.1/".into(),
                                    send_addrv2: v2,
                                    ..PeerOpts::default()
                                },
                            ) {
                                Ok(p) => peer = Some(p),
                                Err(e) => {
                                    failure = Some(format!("addr flooder {k}: {e}"));
                                    break;
                                }
                            }
                        }
                        let addrs = routable_addrs(&mut rng, per_message, 14497);
                        let msg = if v2 {
                            NetworkMessage::AddrV2(addrs)
                        } else {
                            NetworkMessage::Addr(addrs)
                        };
                        let p = peer.as_ref().expect("connected");
                        match p.send_until(&frame(msg), deadline) {
                            Ok(true) => n += 1,
                            Ok(false) => break,
                            Err(_) => {}
                        }
                        if per_message > 1000 {
                            // Wait (bounded) for the verdict on an oversized message.
                            let t = Instant::now();
                            while !p.closed()
                                && t.elapsed() < Duration::from_secs(2)
                                && Instant::now() < deadline
                            {
                                std::thread::sleep(Duration::from_millis(5));
                            }
                        }
                    }
                    add(&mut c, "sent", n);
                    std::thread::sleep(Duration::from_millis(200));
                    gate.wait();
                    // getpeerinfo runs between the two waits.
                    gate.wait();
                    if let Some(p) = peer {
                        add(
                            &mut c,
                            if p.closed() {
                                "disconnected"
                            } else {
                                "peers_open_at_end"
                            },
                            1,
                        );
                        p.close(false);
                    }
                    failure.map_or(Ok(c), Err)
                })
            })
            .collect();
        gate.wait();
        if let Ok(info) = node.rpc("getpeerinfo", json!([])) {
            for p in info.as_array().into_iter().flatten() {
                if p["subver"] == "/addrflood:0.1/" {
                    let mut ours = BTreeMap::new();
                    add(
                        &mut ours,
                        "addr_processed",
                        p["addr_processed"].as_u64().unwrap_or(0),
                    );
                    add(
                        &mut ours,
                        "addr_rate_limited",
                        p["addr_rate_limited"].as_u64().unwrap_or(0),
                    );
                    for (k, v) in ours {
                        add(c, &k, v);
                    }
                }
            }
        }
        gate.wait();
        hs.into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err("panicked".into())))
            .collect()
    });
    for r in results {
        match r {
            Ok(m) => m.into_iter().for_each(|(k, v)| add(c, &k, v)),
            Err(e) => notes.push(e),
        }
    }
    if let Ok(info) = node.rpc("getaddrmaninfo", json!([])) {
        add(
            c,
            "addrman_total",
            info["all_networks"]["total"].as_u64().unwrap_or(0),
        );
    }
}

/// The `logos` flood at line rate with a slow reader attached (see [`Kind::LogosLineRate`]).
fn logos_line_rate(
    node: &Node,
    size: usize,
    max: Option<u64>,
    deadline: Instant,
    c: &mut BTreeMap<String, u64>,
    notes: &mut Vec<String>,
) {
    let slow = match WirePeer::connect(
        node.p2p,
        PeerOpts {
            user_agent: "/slow-reader:0.1/".into(),
            recv_buffer: Some(4096),
            read_pace: Some((1024, Duration::from_millis(100))),
            ..PeerOpts::default()
        },
    ) {
        Ok(p) => p,
        Err(e) => {
            notes.push(format!("slow reader: {e}"));
            return;
        }
    };
    let before = node.rpc("getlogosinfo", json!([])).unwrap_or_default();
    let nonce = run_nonce();
    flood_peers(node, 1, false, deadline, c, notes, |_, n| {
        (n < max.unwrap_or(u64::MAX)).then(|| {
            let mut p = vec![0x4cu8; size];
            p[..8].copy_from_slice(&nonce.to_le_bytes());
            p[8..16].copy_from_slice(&n.to_le_bytes());
            frame(NetworkMessage::Logos(p))
        })
    });
    let after = node.rpc("getlogosinfo", json!([])).unwrap_or_default();
    for k in [
        "messages_delivered",
        "messages_relayed",
        "messages_dropped",
        "messages_relay_dropped",
    ] {
        let d = after[k]
            .as_u64()
            .unwrap_or(0)
            .saturating_sub(before[k].as_u64().unwrap_or(0));
        add(c, k, d);
    }
    add(c, "slow_reader_closed_by_node", u64::from(slow.closed()));
    slow.close(true);
}

/// Connect/disconnect churn (see [`Kind::Churn`]). Counts the swarm's and `handshakes`.
fn churn(
    node: &Node,
    per_sec: f64,
    deadline: Instant,
    c: &mut BTreeMap<String, u64>,
    notes: &mut Vec<String>,
) {
    let plan = SwarmPlan {
        target: node.p2p,
        total: usize::MAX,
        max_pending: 256,
        rate: Some(per_sec * 2.0 / 3.0),
        first: Arc::new(|i| {
            if i.is_multiple_of(2) {
                Vec::new()
            } else {
                frame(version_msg(0xc4_0000 + i as u64, "/churn:0.1/"))
            }
        }),
        trickle: None,
        then: None,
        hold: false,
        rst: true,
    };
    let swarm = std::thread::spawn(move || run_swarm(&plan, deadline));
    let p2p = node.p2p;
    let hs = std::thread::spawn(move || {
        let (mut ok, mut failed, mut first_error) = (0u64, 0u64, None);
        let t0 = Instant::now();
        let every = Duration::from_secs_f64(3.0 / per_sec);
        let mut k = 0u32;
        while Instant::now() < deadline {
            match WirePeer::connect(
                p2p,
                PeerOpts {
                    user_agent: "/churn-hs:0.1/".into(),
                    ..PeerOpts::default()
                },
            ) {
                Ok(p) => {
                    ok += 1;
                    p.close(k % 2 == 1);
                }
                Err(e) => {
                    failed += 1;
                    first_error.get_or_insert(e.to_string());
                }
            }
            k += 1;
            if let Some(d) = (t0 + every * k).checked_duration_since(Instant::now()) {
                std::thread::sleep(d);
            }
        }
        (ok, failed, first_error)
    });
    let s = swarm.join().unwrap_or_default();
    add_swarm(c, "", &s);
    let (ok, failed, e) = hs.join().unwrap_or((0, 0, None));
    add(c, "handshakes", ok);
    add(c, "handshakes_failed", failed);
    if let Some(e) = e {
        notes.push(format!("churn handshake: {e}"));
    }
}

/// The RPC body attacks (see [`Kind::RpcOversized`]). Counts `status_<code>` per variant
/// (`over_`, `wrongauth_`, `big_`) and `failed`.
fn rpc_oversized(
    node: &Node,
    clients: usize,
    big: usize,
    deadline: Instant,
    c: &mut BTreeMap<String, u64>,
    notes: &mut Vec<String>,
) {
    let rpc = node.rpc;
    let head = |user: &str, pass: &str, len: usize| {
        let cred = node::rpc::auth::encode_base64(format!("{user}:{pass}").as_bytes());
        format!(
            "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nAuthorization: Basic {cred}\r\nContent-Type: application/json\r\nContent-Length: {len}\r\n\r\n"
        )
        .into_bytes()
    };
    // Sends `head`, then body bytes (up to `body_len`) until the server answers; the status.
    let exchange = move |head: Vec<u8>, body_len: usize| -> Result<u16, String> {
        let mut s = TcpStream::connect_timeout(&rpc, PROBE_TIMEOUT).map_err(|e| e.to_string())?;
        s.set_read_timeout(Some(Duration::from_secs(30))).ok();
        s.set_write_timeout(Some(Duration::from_secs(30))).ok();
        s.write_all(&head).map_err(|e| e.to_string())?;
        let chunk = vec![b'['; 1 << 20];
        let mut left = body_len;
        s.set_nonblocking(true).ok();
        let mut first = [0u8; 1];
        while left > 0 {
            // Stop sending once the server answered.
            if s.peek(&mut first).is_ok_and(|n| n > 0) {
                break;
            }
            let n = left.min(chunk.len());
            match s.write(&chunk[..n]) {
                Ok(w) => left -= w,
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    std::thread::sleep(Duration::from_millis(1))
                }
                Err(_) => break,
            }
        }
        s.set_nonblocking(false).ok();
        read_http_reply(&mut s).map(|(st, _)| st)
    };
    let results: Vec<BTreeMap<String, u64>> = std::thread::scope(|sc| {
        let mut hs = Vec::new();
        for _ in 0..clients {
            let head = &head;
            hs.push(sc.spawn(move || {
                let mut c = BTreeMap::new();
                let mut n = 0u64;
                while Instant::now() < deadline {
                    let (tag, r) = if n.is_multiple_of(2) {
                        (
                            "over_",
                            exchange(head(RPC_USER, RPC_PASSWORD, 64 << 20), 64 << 20),
                        )
                    } else {
                        (
                            "wrongauth_",
                            exchange(head(RPC_USER, "wrong", 32 << 20), 32 << 20),
                        )
                    };
                    match r {
                        Ok(s) => add(&mut c, &format!("{tag}status_{s}"), 1),
                        Err(_) => add(&mut c, &format!("{tag}failed"), 1),
                    }
                    n += 1;
                }
                c
            }));
        }
        let head = &head;
        hs.push(sc.spawn(move || {
            let mut c = BTreeMap::new();
            for _ in 0..big {
                if Instant::now() >= deadline {
                    break;
                }
                match exchange(head(RPC_USER, RPC_PASSWORD, 32 << 20), 32 << 20) {
                    Ok(s) => add(&mut c, &format!("big_status_{s}"), 1),
                    Err(_) => add(&mut c, "big_failed", 1),
                }
            }
            c
        }));
        hs.into_iter()
            .map(|h| h.join().unwrap_or_default())
            .collect()
    });
    for m in results {
        m.into_iter().for_each(|(k, v)| add(c, &k, v));
    }
    let _ = notes;
}

// ---- the table ---------------------------------------------------------------------------

/// The table's header.
pub fn table_header() -> String {
    format!(
        "{:<16} {:>9} {:>9} {:>9} {:>10} {:>10} {:>7}  {:<6} {:<6}  {}",
        "attack",
        "honest",
        "p50 ms",
        "p99 ms",
        "peak RSS",
        "CPU s",
        "rpc ok",
        "DB",
        "target",
        "what the attack did / saw"
    )
}

/// One row.
pub fn table_row(o: &Outcome) -> String {
    let l = &o.latency;
    let db = match &o.db {
        Some(Ok(_)) => "intact",
        Some(Err(_)) => "BROKEN",
        None => "-",
    };
    let mut counters: Vec<String> = o
        .counters
        .iter()
        .filter(|(_, v)| **v > 0)
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    counters.push(format!(
        "| max {:.0} ms; attacker CPU {:.1} s; kernel: {} backlog drops, {} TCP retransmits, {} listen overflows",
        l.max_ms,
        o.attacker_cpu_secs,
        o.kernel.backlog_drops,
        o.kernel.retrans_segs,
        o.kernel.listen_overflows
    ));
    if o.probe.ok > 0 {
        counters.push(format!("rpc p99 {:.0} ms", o.probe.p99_ms));
    }
    if let Some(e) = &o.probe.first_error {
        counters.push(format!("rpc failed: {e}"));
    }
    counters.extend(o.notes.iter().cloned());
    if let Some(Err(e)) = &o.db {
        counters.push(format!("DB: {e}"));
    }
    format!(
        "{:<16} {:>9} {:>9.1} {:>9.1} {:>7.1} MB{} {:>10.2} {:>7}  {:<6} {:<6}  {}",
        o.name,
        format!("{}/{}", l.delivered, l.sent),
        l.p50_ms,
        l.p99_ms,
        o.peak_rss_kib as f64 / 1024.0,
        if o.peak_is_window { " " } else { "*" },
        o.cpu_secs,
        format!("{}/{}", o.probe.ok, o.probe.calls),
        db,
        match (&o.db, o.target_met()) {
            (None, _) => "-",
            (_, true) => "met",
            (_, false) => "NOT met",
        },
        counters.join(" ")
    )
}
