//! Shared helpers for the `net` integration tests: a capturing logger, node start-up on
//! loopback with a mock clock, a scripted raw-TCP peer, and bounded waiting.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use addrman::banman::{BanMan, MemoryBanDb};
use addrman::AddrMan;
use net::{CConnman, MockClock, Options, UpperLayer};
use netbase::NetGroupManager;
use protocol::{Chain, HashKind, NetworkParams};

/// Mock time the tests start at (near the vectors' timestamps).
pub const T0: i64 = 1_795_503_770;

// ---------------------------------------------------------------- logging

struct CaptureLogger {
    lines: Mutex<Vec<String>>,
}

impl log::Log for CaptureLogger {
    fn enabled(&self, _m: &log::Metadata) -> bool {
        true
    }
    fn log(&self, r: &log::Record) {
        let line = if r.target() == "net" {
            format!("[net] {}", r.args())
        } else {
            format!("{}", r.args())
        };
        if let Ok(mut l) = self.lines.lock() {
            l.push(line);
        }
    }
    fn flush(&self) {}
}

fn logger() -> &'static CaptureLogger {
    static L: OnceLock<&'static CaptureLogger> = OnceLock::new();
    L.get_or_init(|| {
        let l: &'static CaptureLogger = Box::leak(Box::new(CaptureLogger {
            lines: Mutex::new(Vec::new()),
        }));
        let _ = log::set_logger(l);
        log::set_max_level(log::LevelFilter::Debug);
        l
    })
}

/// Install the capturing logger (idempotent).
pub fn init_logging() {
    let _ = logger();
}

/// Every captured line so far.
pub fn log_lines() -> Vec<String> {
    logger().lines.lock().map(|l| l.clone()).unwrap_or_default()
}

/// Number of captured lines (a mark to look only at later lines).
pub fn log_mark() -> usize {
    logger().lines.lock().map(|l| l.len()).unwrap_or(0)
}

/// Captured lines after `mark`.
pub fn log_since(mark: usize) -> Vec<String> {
    let l = log_lines();
    l.get(mark..).map(<[String]>::to_vec).unwrap_or_default()
}

/// Serialises tests that read the shared log.
pub fn log_lock() -> std::sync::MutexGuard<'static, ()> {
    static M: Mutex<()> = Mutex::new(());
    M.lock().unwrap_or_else(|e| e.into_inner())
}

// ---------------------------------------------------------------- waiting

/// Poll `cond` every 5 ms until true or `timeout` passes; returns the last value.
pub fn wait_until(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    loop {
        if cond() {
            return true;
        }
        if start.elapsed() > timeout {
            return false;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

// ---------------------------------------------------------------- nodes

/// An upper layer recording every payload it is given.
#[derive(Default)]
pub struct Recorder {
    pub got: Mutex<Vec<Vec<u8>>>,
    pub accept: bool,
    pub important_prefix: Option<u8>,
}

impl Recorder {
    pub fn accepting() -> Arc<Self> {
        Arc::new(Recorder {
            got: Mutex::new(Vec::new()),
            accept: true,
            important_prefix: None,
        })
    }
    pub fn rejecting() -> Arc<Self> {
        Arc::new(Recorder {
            got: Mutex::new(Vec::new()),
            accept: false,
            important_prefix: None,
        })
    }
    pub fn count(&self) -> usize {
        self.got.lock().map(|g| g.len()).unwrap_or(0)
    }
    pub fn count_of(&self, payload: &[u8]) -> usize {
        self.got
            .lock()
            .map(|g| g.iter().filter(|p| p.as_slice() == payload).count())
            .unwrap_or(0)
    }
}

impl UpperLayer for Recorder {
    fn receive_message(&self, msg: &[u8], _from: &net::MessageSource) -> bool {
        if let Ok(mut g) = self.got.lock() {
            g.push(msg.to_vec());
        }
        self.accept
    }
    fn is_message_important(&self, msg: &[u8]) -> bool {
        matches!((self.important_prefix, msg.first()), (Some(p), Some(b)) if p == *b)
    }
}

/// A running node and what the test needs to drive it.
pub struct TestNode {
    pub connman: CConnman,
    pub clock: Arc<MockClock>,
    pub banman: Arc<BanMan>,
    pub addrman: Arc<AddrMan>,
    pub params: &'static NetworkParams,
    pub port: u16,
}

impl TestNode {
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }
    /// Move the mock clock and wake the threads so they see it.
    pub fn advance(&self, secs: i64) {
        self.clock.advance(secs);
        self.connman.wake_threads();
    }
}

/// Options every test node uses: loopback bind on port 0, loopback-only dialling.
pub fn test_options() -> Options {
    Options {
        binds: vec![SocketAddr::from(([127, 0, 0, 1], 0))],
        test_loopback_only: true,
        log_ips: true,
        ..Options::default()
    }
}

/// Start a node on `chain` with `opts` (forced to loopback-only), a mock clock at `T0`.
pub fn start_node_with(chain: Chain, opts: Options, upper: Arc<dyn UpperLayer>) -> TestNode {
    start_node_prepared(chain, opts, upper, |_, _| {})
}

/// As [`start_node_with`], with `prepare` run on the address manager and the connman before the
/// threads start (fill addrman, install a connector).
pub fn start_node_prepared(
    chain: Chain,
    mut opts: Options,
    upper: Arc<dyn UpperLayer>,
    prepare: impl FnOnce(&AddrMan, &CConnman),
) -> TestNode {
    init_logging();
    opts.test_loopback_only = true;
    let params = NetworkParams::get(chain);
    let clock = Arc::new(MockClock::new(T0));
    let addrman = Arc::new(
        AddrMan::new(NetGroupManager::new(), true, 0, params.hash_kind).with_clock(clock.clone()),
    );
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(7);
    let banman = Arc::new(BanMan::new(
        Box::new(MemoryBanDb::new()),
        None,
        24 * 3600,
        clock.clone(),
        &mut rng,
    ));
    let connman = CConnman::new(
        opts,
        params,
        clock.clone(),
        Some(banman.clone()),
        Some(addrman.clone()),
        upper,
    )
    .expect("connman");
    prepare(&addrman, &connman);
    connman.start().expect("start");
    let port = connman.get_listen_port().unwrap_or(0);
    TestNode {
        connman,
        clock,
        banman,
        addrman,
        params,
        port,
    }
}

use rand_core::SeedableRng;

/// Start a node with the test options.
pub fn start_node(chain: Chain, upper: Arc<dyn UpperLayer>) -> TestNode {
    start_node_with(chain, test_options(), upper)
}

/// Connect `from` to `to` as a manual outbound connection; wait for both handshakes.
pub fn connect(from: &TestNode, to: &TestNode) -> bool {
    let dest = format!("127.0.0.1:{}", to.port);
    let before_to = to.connman.fully_connected_count();
    let before_from = from.connman.fully_connected_count();
    let m = log_mark();
    if !from.connman.open_network_connection(
        &protocol::CAddress::new(netbase::CService::default(), protocol::ServiceFlags(0), 0),
        false,
        None,
        Some(&dest),
        net::connection_type::ConnectionType::Manual,
    ) {
        for l in log_since(m) {
            eprintln!("{l}");
        }
        return false;
    }
    let ok = wait_until(Duration::from_secs(10), || {
        from.connman.fully_connected_count() > before_from
            && to.connman.fully_connected_count() > before_to
    });
    if !ok {
        for l in log_lines().iter().rev().take(40).rev() {
            eprintln!("{l}");
        }
    }
    ok
}

// ---------------------------------------------------------------- raw peer

/// A scripted peer speaking raw v1 bytes.
pub struct RawPeer {
    pub s: TcpStream,
    pub magic: [u8; 4],
    pub kind: HashKind,
    buf: Vec<u8>,
}

/// Frame `payload` as `cmd` with `magic` and the checksum of `kind`.
pub fn frame(magic: [u8; 4], kind: HashKind, cmd: &str, payload: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(24 + payload.len());
    v.extend_from_slice(&magic);
    let mut c = [0u8; 12];
    c[..cmd.len()].copy_from_slice(cmd.as_bytes());
    v.extend_from_slice(&c);
    v.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    v.extend_from_slice(&kind.checksum(payload));
    v.extend_from_slice(payload);
    v
}

/// A `version` payload as bitcoind's test framework sends it (99 bytes with "/hostile:0.1/").
pub fn version_payload(version: i32, services: u64, nonce: u64, relay: bool) -> Vec<u8> {
    let mut p = Vec::new();
    p.extend_from_slice(&version.to_le_bytes());
    p.extend_from_slice(&services.to_le_bytes());
    p.extend_from_slice(&(T0).to_le_bytes());
    p.extend_from_slice(&0u64.to_le_bytes());
    let mut a = [0u8; 16];
    a[10] = 0xff;
    a[11] = 0xff;
    a[12] = 127;
    a[15] = 1;
    p.extend_from_slice(&a);
    p.extend_from_slice(&0u16.to_be_bytes());
    p.extend_from_slice(&services.to_le_bytes());
    p.extend_from_slice(&[0u8; 16]);
    p.extend_from_slice(&0u16.to_be_bytes());
    p.extend_from_slice(&nonce.to_le_bytes());
    let ua = b"/hostile:0.1/";
    p.push(ua.len() as u8);
    p.extend_from_slice(ua);
    p.extend_from_slice(&0i32.to_le_bytes());
    p.push(u8::from(relay));
    p
}

impl RawPeer {
    /// Wrap an accepted stream (the node dialled us).
    pub fn from_stream(s: TcpStream, magic: [u8; 4], kind: HashKind) -> RawPeer {
        s.set_nodelay(true).ok();
        RawPeer {
            s,
            magic,
            kind,
            buf: Vec::new(),
        }
    }
    /// Connect to `node` speaking its network.
    pub fn connect(node: &TestNode) -> RawPeer {
        let s = TcpStream::connect(node.addr()).expect("connect");
        s.set_nodelay(true).ok();
        RawPeer {
            s,
            magic: node.params.message_start,
            kind: node.params.hash_kind,
            buf: Vec::new(),
        }
    }
    pub fn send_raw(&mut self, b: &[u8]) -> std::io::Result<()> {
        self.s.write_all(b)
    }
    pub fn send(&mut self, cmd: &str, payload: &[u8]) -> std::io::Result<()> {
        let f = frame(self.magic, self.kind, cmd, payload);
        self.s.write_all(&f)
    }
    pub fn send_version(&mut self) {
        let v = version_payload(70016, 0, 0x1234_5678_9abc_def0, true);
        self.send("version", &v).expect("send version");
    }
    /// Full handshake as the vectors' peer: version, then verack after the node's verack.
    pub fn handshake(&mut self) -> Vec<String> {
        self.send_version();
        let mut got = Vec::new();
        while let Some((cmd, _)) = self.recv(Duration::from_secs(5)) {
            got.push(cmd.clone());
            if cmd == "verack" {
                break;
            }
        }
        self.send("verack", &[]).expect("verack");
        got
    }
    /// Next message, or `None` on timeout / close.
    pub fn recv(&mut self, timeout: Duration) -> Option<(String, Vec<u8>)> {
        let deadline = Instant::now() + timeout;
        loop {
            if self.buf.len() >= 24 {
                let len = u32::from_le_bytes(self.buf[16..20].try_into().ok()?) as usize;
                if self.buf.len() >= 24 + len {
                    let cmd_raw = &self.buf[4..16];
                    let end = cmd_raw.iter().position(|&b| b == 0).unwrap_or(12);
                    let cmd = String::from_utf8_lossy(&cmd_raw[..end]).into_owned();
                    let payload = self.buf[24..24 + len].to_vec();
                    self.buf.drain(..24 + len);
                    return Some((cmd, payload));
                }
            }
            let now = Instant::now();
            if now >= deadline {
                return None;
            }
            self.s.set_read_timeout(Some(deadline - now)).ok()?;
            let mut tmp = [0u8; 65536];
            match self.s.read(&mut tmp) {
                Ok(0) => return None,
                Ok(n) => self.buf.extend_from_slice(&tmp[..n]),
                Err(_) => return None,
            }
        }
    }
    /// Read and discard until the peer closes (true) or `timeout` passes (false).
    pub fn closed_within(&mut self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            if self
                .s
                .set_read_timeout(Some((deadline - now).max(Duration::from_millis(1))))
                .is_err()
            {
                return true;
            }
            let mut tmp = [0u8; 65536];
            match self.s.read(&mut tmp) {
                Ok(0) => return true,
                Ok(_) => continue,
                Err(e)
                    if e.kind() == std::io::ErrorKind::WouldBlock
                        || e.kind() == std::io::ErrorKind::TimedOut =>
                {
                    return false
                }
                Err(_) => return true,
            }
        }
    }
}

/// Give the node's threads a moment to process what was sent (bounded, real time).
pub fn settle() {
    std::thread::sleep(Duration::from_millis(150));
}
