//! Processes of the live tier: a real bitcoind (from `$BITCOIND`, driven with `$BITCOIN_CLI`) and
//! our `logos-p2pd`, both on regtest, on loopback, each in a fresh data directory, each killed by a
//! `Drop` guard if a test fails. Every wait is bounded ([`WAIT`]).

use addrman::store::KvStore as _;
use std::collections::BTreeSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::Value;

/// What a test prints when the tier is not enabled.
pub const SKIP_MESSAGE: &str = "live tier skipped: BITCOIND is not set (point BITCOIND and BITCOIN_CLI at a bitcoind built from Bitcoin Core; see README)";

/// Upper bound of every single wait of the tier.
pub const WAIT: Duration = Duration::from_secs(30);

/// Poll interval of the bounded waits.
const POLL: Duration = Duration::from_millis(100);

/// The binaries the tier runs.
#[derive(Clone, Debug)]
pub struct LiveEnv {
    /// `$BITCOIND`.
    pub bitcoind: PathBuf,
    /// `$BITCOIN_CLI` (default: `bitcoin-cli` beside `$BITCOIND`).
    pub bitcoin_cli: PathBuf,
    /// Our node: `$LOGOS_P2PD`, else `target/<profile>/logos-p2pd` beside this test binary.
    pub logos_p2pd: PathBuf,
}

/// The live tier's binaries, or `None` (after printing [`SKIP_MESSAGE`]) when `BITCOIND` is not
/// set. Panics when `BITCOIND` is set but a binary is missing: a tier asked for must run.
pub fn live_env() -> Option<LiveEnv> {
    let Some(bitcoind) = std::env::var_os("BITCOIND").filter(|v| !v.is_empty()) else {
        println!("{SKIP_MESSAGE}");
        return None;
    };
    let bitcoind = PathBuf::from(bitcoind);
    assert!(
        bitcoind.is_file(),
        "BITCOIND={} is not a file",
        bitcoind.display()
    );
    let bitcoin_cli = match std::env::var_os("BITCOIN_CLI").filter(|v| !v.is_empty()) {
        Some(p) => PathBuf::from(p),
        None => bitcoind.with_file_name("bitcoin-cli"),
    };
    assert!(
        bitcoin_cli.is_file(),
        "BITCOIN_CLI={} is not a file (set BITCOIN_CLI to the bitcoin-cli built with BITCOIND)",
        bitcoin_cli.display()
    );
    Some(LiveEnv {
        bitcoind,
        bitcoin_cli,
        logos_p2pd: logos_p2pd().clone(),
    })
}

/// Our node's binary. `$LOGOS_P2PD` if set; otherwise `cargo build -p node --bin logos-p2pd` is
/// run once (a no-op when it is up to date, so the tier never runs a stale node) for the profile
/// of this test binary, and the binary beside this test binary's `deps/` directory is used.
fn logos_p2pd() -> &'static PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(p) = std::env::var_os("LOGOS_P2PD").filter(|v| !v.is_empty()) {
            let p = PathBuf::from(p);
            assert!(p.is_file(), "LOGOS_P2PD={} is not a file", p.display());
            return p;
        }
        let exe = std::env::current_exe().expect("path of the test binary");
        // target/<profile>/deps/live-<hash>
        let profile_dir = exe
            .parent()
            .and_then(Path::parent)
            .expect("test binary under target/<profile>/deps")
            .to_path_buf();
        let target_dir = profile_dir.parent().expect("target dir").to_path_buf();
        let profile = profile_dir
            .file_name()
            .and_then(|s| s.to_str())
            .unwrap_or("debug")
            .to_string();
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut cmd = Command::new(cargo);
        cmd.args(["build", "--quiet", "-p", "node", "--bin", "logos-p2pd"])
            .arg("--target-dir")
            .arg(&target_dir)
            .current_dir(env!("CARGO_MANIFEST_DIR"));
        match profile.as_str() {
            "debug" => {}
            "release" => {
                cmd.arg("--release");
            }
            other => {
                cmd.args(["--profile", other]);
            }
        }
        let out = cmd.output().expect("run cargo to build logos-p2pd");
        assert!(
            out.status.success(),
            "cargo build -p node --bin logos-p2pd failed (or set LOGOS_P2PD):\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let bin = profile_dir.join(format!("logos-p2pd{}", std::env::consts::EXE_SUFFIX));
        assert!(bin.is_file(), "{} was not built", bin.display());
        bin
    })
}

/// A directory under the system temp dir, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    /// A fresh, empty directory named after `tag`.
    pub fn new(tag: &str) -> Self {
        static N: AtomicUsize = AtomicUsize::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let p = std::env::temp_dir().join(format!(
            "logos-live-{tag}-{}-{}-{nanos}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if std::env::var_os("LIVE_KEEP_DIRS").is_none() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// A loopback port that was free a moment ago (bitcoind refuses `-bind=...:0`).
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// Polls `f` every 100 ms until it gives `Ok`, for at most [`WAIT`]; panics naming `what` and
/// the last `Err` otherwise.
pub fn wait_for<T>(what: &str, mut f: impl FnMut() -> Result<T, String>) -> T {
    let deadline = Instant::now() + WAIT;
    loop {
        match f() {
            Ok(v) => return v,
            Err(last) => {
                assert!(
                    Instant::now() < deadline,
                    "timed out after {}s waiting for {what}; last state:\n{last}",
                    WAIT.as_secs()
                );
            }
        }
        std::thread::sleep(POLL);
    }
}

/// Reads a file, empty when it does not exist (yet).
pub fn read_text(path: &Path) -> String {
    std::fs::read(path)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default()
}

/// Runs `cmd` with a bounded wait; `(status, stdout, stderr)`.
fn run_bounded(
    mut cmd: Command,
    timeout: Duration,
) -> Result<(ExitStatus, String, String), String> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("spawn {cmd:?}: {e}"))?;
    // Drain both pipes on threads so a large answer (getrawaddrman) cannot block the child.
    let mut so = child.stdout.take().unwrap();
    let mut se = child.stderr.take().unwrap();
    let t_out = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = so.read_to_end(&mut b);
        b
    });
    let t_err = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = se.read_to_end(&mut b);
        b
    });
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(st) = child.try_wait().map_err(|e| e.to_string())? {
            break st;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("{cmd:?} did not finish in {}s", timeout.as_secs()));
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let out = String::from_utf8_lossy(&t_out.join().unwrap()).into_owned();
    let err = String::from_utf8_lossy(&t_err.join().unwrap()).into_owned();
    Ok((status, out, err))
}

/// `bitcoin-cli` pointed at one node's RPC port and data directory (cookie authentication).
#[derive(Clone, Debug)]
pub struct Cli {
    /// The `bitcoin-cli` binary.
    pub exe: PathBuf,
    /// The node's `-datadir` (the cookie is in `<datadir>/regtest/.cookie`).
    pub datadir: PathBuf,
    /// The node's `-rpcport`.
    pub rpc_port: u16,
}

impl Cli {
    /// Runs `bitcoin-cli -regtest … <method> <args…>`. The answer as JSON: bitcoin-cli prints
    /// JSON for objects, arrays and numbers, a string result raw, and nothing for `null`.
    /// `Err` holds the exit status and stderr (the RPC error).
    pub fn call(&self, method: &str, args: &[&str]) -> Result<Value, String> {
        let mut cmd = Command::new(&self.exe);
        cmd.arg("-regtest")
            .arg(format!("-datadir={}", self.datadir.display()))
            .arg("-rpcconnect=127.0.0.1")
            .arg(format!("-rpcport={}", self.rpc_port))
            .arg("-rpcclienttimeout=30")
            .arg(method)
            .args(args);
        let (status, out, err) = run_bounded(cmd, WAIT)?;
        if !status.success() {
            return Err(format!(
                "bitcoin-cli {method} {args:?} (port {}): {status}: {}",
                self.rpc_port,
                err.trim()
            ));
        }
        let text = out.trim_end_matches('\n');
        if text.is_empty() {
            return Ok(Value::Null);
        }
        Ok(serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_string())))
    }

    /// [`Cli::call`] that must succeed.
    pub fn must(&self, method: &str, args: &[&str]) -> Value {
        self.call(method, args).unwrap_or_else(|e| panic!("{e}"))
    }
}

/// A child process that is killed (after a polite SIGTERM) when dropped.
struct Guard {
    child: Option<Child>,
    name: &'static str,
}

impl Guard {
    fn exited(&mut self) -> Option<ExitStatus> {
        self.child
            .as_mut()
            .and_then(|c| c.try_wait().ok().flatten())
    }

    /// SIGTERM (with the `kill` command), then a bounded wait for the exit status.
    fn terminate(&mut self, timeout: Duration) -> Result<ExitStatus, String> {
        let Some(mut child) = self.child.take() else {
            return Err(format!("{} already reaped", self.name));
        };
        if let Ok(Some(st)) = child.try_wait() {
            return Ok(st);
        }
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(st) = child.try_wait().map_err(|e| e.to_string())? {
                return Ok(st);
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "{} did not exit {}s after SIGTERM (killed)",
                    self.name,
                    timeout.as_secs()
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if self.child.is_some() {
            let _ = self.terminate(Duration::from_secs(10));
        }
    }
}

/// The lines of `log` after byte `from` that contain `needle`.
pub fn lines_with<'a>(log: &'a str, from: usize, needle: &str) -> Vec<&'a str> {
    log.get(from..)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains(needle))
        .collect()
}

/// Shared parts of the two node kinds: a guarded process, its data directory and debug.log.
pub struct Proc {
    guard: Guard,
    /// `-datadir`, removed at drop (after the process is gone: fields drop in order).
    _dir: TempDir,
    /// `<datadir>/regtest`.
    pub net_dir: PathBuf,
    /// P2P listening port (0 when not listening).
    pub p2p_port: u16,
    /// RPC port.
    pub rpc_port: u16,
    /// bitcoin-cli for this process.
    pub cli: Cli,
    stderr_path: PathBuf,
}

impl Proc {
    fn spawn(
        name: &'static str,
        exe: &Path,
        args: Vec<String>,
        dir: TempDir,
        p2p_port: u16,
        rpc_port: u16,
        cli_exe: &Path,
    ) -> Self {
        let net_dir = dir.0.join("regtest");
        let stderr_path = dir.0.join("stderr.txt");
        let stdout_path = dir.0.join("stdout.txt");
        let child = Command::new(exe)
            .args(&args)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&stdout_path).unwrap())
            .stderr(std::fs::File::create(&stderr_path).unwrap())
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {}: {e}", exe.display()));
        let cli = Cli {
            exe: cli_exe.to_path_buf(),
            datadir: dir.0.clone(),
            rpc_port,
        };
        Proc {
            guard: Guard {
                child: Some(child),
                name,
            },
            _dir: dir,
            net_dir,
            p2p_port,
            rpc_port,
            cli,
            stderr_path,
        }
    }

    /// `<datadir>/regtest/debug.log`.
    pub fn log_path(&self) -> PathBuf {
        self.net_dir.join("debug.log")
    }

    /// The whole debug.log so far.
    pub fn log(&self) -> String {
        read_text(&self.log_path())
    }

    /// Current length of debug.log (an offset for [`Proc::wait_log_from`]).
    pub fn log_len(&self) -> usize {
        self.log().len()
    }

    /// Panics, with stderr and the end of debug.log, if the process has exited.
    pub fn assert_running(&mut self) {
        if let Some(st) = self.guard.exited() {
            panic!(
                "{} exited early ({st}); stderr:\n{}\ndebug.log tail:\n{}",
                self.guard.name,
                read_text(&self.stderr_path),
                tail(&self.log(), 40)
            );
        }
    }

    /// Waits (bounded) until debug.log after byte `from` has a line containing `needle`; returns
    /// that line.
    pub fn wait_log_from(&mut self, from: usize, needle: &str) -> String {
        let name = self.guard.name;
        wait_for(&format!("{needle:?} in {name}'s debug.log"), || {
            self.assert_running();
            let log = self.log();
            match lines_with(&log, from, needle).first() {
                Some(l) => Ok(l.to_string()),
                None => Err(tail(log.get(from..).unwrap_or_default(), 30)),
            }
        })
    }

    /// SIGTERM and a bounded wait for the exit status.
    pub fn terminate(&mut self) -> ExitStatus {
        let name = self.guard.name;
        self.guard
            .terminate(WAIT)
            .unwrap_or_else(|e| panic!("{name}: {e}"))
    }
}

/// The last `n` lines of `text`.
pub fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// The vector files a real bitcoind wrote (`shared/vectors/bitcoind-regtest`).
pub fn vectors_regtest() -> PathBuf {
    bitcoin_compat_tests::vectors_dir().join("bitcoind-regtest")
}

/// A `-mocktime` for a bitcoind holding the vector `peers.dat`: one hour after its newest entry.
/// Core's `GetAddr` leaves out "terrible" addresses, among them those not seen for 30 days
/// (`ADDRMAN_HORIZON`); at this time none of the vector's entries is, whatever today's date.
pub fn vector_mocktime() -> i64 {
    let raw = bitcoin_compat_tests::read_json("bitcoind-regtest/getrawaddrman.json")
        .unwrap_or_else(|e| panic!("{e}"));
    let newest = ["new", "tried"]
        .iter()
        .flat_map(|t| raw[*t].as_object().unwrap().values())
        .map(|e| e["time"].as_i64().unwrap())
        .max()
        .unwrap();
    newest + 3600
}

fn copy_peers_dat(net_dir: &Path) {
    std::fs::create_dir_all(net_dir).unwrap();
    let src = vectors_regtest().join("peers.dat");
    std::fs::copy(&src, net_dir.join("peers.dat"))
        .unwrap_or_else(|e| panic!("copy {}: {e}", src.display()));
}

/// A real bitcoind on regtest, loopback only, no outbound connections of its own.
pub struct Bitcoind(pub Proc);

impl std::ops::Deref for Bitcoind {
    type Target = Proc;
    fn deref(&self) -> &Proc {
        &self.0
    }
}

impl std::ops::DerefMut for Bitcoind {
    fn deref_mut(&mut self) -> &mut Proc {
        &mut self.0
    }
}

impl Bitcoind {
    /// Starts bitcoind `-regtest` listening on a free loopback port, RPC on another, with
    /// `shared/vectors/bitcoind-regtest/peers.dat` in its network directory when `peers_dat`;
    /// returns once its RPC answers.
    /// `extra` is appended to the command line.
    pub fn start(env: &LiveEnv, tag: &str, peers_dat: bool, extra: &[String]) -> Self {
        let dir = TempDir::new(&format!("bitcoind-{tag}"));
        if peers_dat {
            copy_peers_dat(&dir.0.join("regtest"));
        }
        let p2p_port = free_port();
        let rpc_port = free_port();
        let mut args = vec![
            "-regtest".to_string(),
            format!("-datadir={}", dir.0.display()),
            format!("-port={p2p_port}"),
            format!("-bind=127.0.0.1:{p2p_port}"),
            format!("-rpcport={rpc_port}"),
            "-rpcbind=127.0.0.1".to_string(),
            "-rpcallowip=127.0.0.1".to_string(),
            "-server=1".to_string(),
            "-listen=1".to_string(),
            "-connect=0".to_string(),
            "-dnsseed=0".to_string(),
            "-fixedseeds=0".to_string(),
            "-discover=0".to_string(),
            "-listenonion=0".to_string(),
            "-natpmp=0".to_string(),
            "-debug=net".to_string(),
            "-logips=1".to_string(),
            "-printtoconsole=0".to_string(),
            "-disablewallet".to_string(),
        ];
        args.extend(extra.iter().cloned());
        let mut b = Bitcoind(Proc::spawn(
            "bitcoind",
            &env.bitcoind,
            args,
            dir,
            p2p_port,
            rpc_port,
            &env.bitcoin_cli,
        ));
        let cli = b.cli.clone();
        wait_for("bitcoind's RPC (getnetworkinfo)", || {
            b.assert_running();
            cli.call("getnetworkinfo", &[])
        });
        b
    }

    /// `getpeerinfo`.
    pub fn peers(&self) -> Vec<Value> {
        peer_list(self.cli.must("getpeerinfo", &[]))
    }

    /// `bitcoind -version`'s first line.
    pub fn version_line(env: &LiveEnv) -> String {
        let out = Command::new(&env.bitcoind)
            .arg("-version")
            .output()
            .expect("bitcoind -version");
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .next()
            .unwrap_or_default()
            .to_string()
    }
}

/// `getpeerinfo`'s array.
pub fn peer_list(v: Value) -> Vec<Value> {
    match v {
        Value::Array(a) => a,
        other => panic!("getpeerinfo is not an array: {other}"),
    }
}

/// Our `logos-p2pd` on regtest, loopback-only guard on, no DNS or fixed seeds.
pub struct OurNode {
    /// The process.
    pub proc: Proc,
    /// Whether it started its JSON-RPC server ("Binding RPC on address" in debug.log).
    pub has_rpc: bool,
}

impl std::ops::Deref for OurNode {
    type Target = Proc;
    fn deref(&self) -> &Proc {
        &self.proc
    }
}

impl std::ops::DerefMut for OurNode {
    fn deref_mut(&mut self) -> &mut Proc {
        &mut self.proc
    }
}

/// How to start our node.
#[derive(Default)]
pub struct OurOpts {
    /// `-connect=127.0.0.1:<port>` (else `-connect=0`: no outbound connection of its own).
    pub connect: Option<u16>,
    /// Listen on a free loopback port.
    pub listen: bool,
    /// Put bitcoind's `peers.dat` vector in the network directory (imported on first start).
    pub peers_dat: bool,
}

impl OurNode {
    /// Starts `logos-p2pd -regtest` and waits (bounded) for "Done loading"; then, if it logged
    /// that it bound its RPC server, for the RPC to answer.
    pub fn start(env: &LiveEnv, tag: &str, opts: OurOpts) -> Self {
        let dir = TempDir::new(&format!("ours-{tag}"));
        if opts.peers_dat {
            copy_peers_dat(&dir.0.join("regtest"));
        }
        let rpc_port = free_port();
        let mut args = vec![
            "-regtest".to_string(),
            format!("-datadir={}", dir.0.display()),
            format!("-rpcport={rpc_port}"),
            "-dnsseed=0".to_string(),
            "-fixedseeds=0".to_string(),
            "-printtoconsole=0".to_string(),
            "-debug=net".to_string(),
            "-debug=addrman".to_string(),
            "-logips=1".to_string(),
            "-test=loopbackonly".to_string(),
        ];
        if std::env::var_os("LIVE_OUR_RPC").is_some_and(|v| v == "0") {
            // Exercises the checks' fallbacks (our p2p.lmdb, our debug log) without our RPC.
            args.push("-server=0".to_string());
        }
        match opts.connect {
            Some(port) => args.push(format!("-connect=127.0.0.1:{port}")),
            None => args.push("-connect=0".to_string()),
        }
        let p2p_port = if opts.listen {
            let p = free_port();
            args.push("-listen=1".to_string());
            args.push(format!("-port={p}"));
            args.push(format!("-bind=127.0.0.1:{p}"));
            p
        } else {
            0
        };
        let proc = Proc::spawn(
            "logos-p2pd",
            &env.logos_p2pd,
            args,
            dir,
            p2p_port,
            rpc_port,
            &env.bitcoin_cli,
        );
        let mut node = OurNode {
            proc,
            has_rpc: false,
        };
        node.wait_log_from(0, "init message: Done loading");
        let log = node.log();
        if opts.listen {
            assert!(
                log.contains(&format!("Bound to 127.0.0.1:{p2p_port}")),
                "{}",
                tail(&log, 30)
            );
        }
        node.has_rpc = log.contains("Binding RPC on address");
        if node.has_rpc {
            let cli = node.cli.clone();
            wait_for("our node's RPC (uptime)", || {
                node.assert_running();
                cli.call("uptime", &[])
            });
        }
        node
    }

    /// Panics with a clear message when our node has no RPC server.
    pub fn require_rpc(&self, check: &str) {
        assert!(
            self.has_rpc,
            "{check} needs our JSON-RPC: logos-p2pd -rpcport={} did not log \"Binding RPC on address\"; debug.log:\n{}",
            self.rpc_port,
            tail(&self.log(), 30)
        );
    }

    /// SIGTERM, exit status 0 and "Shutdown: done" (the address DB is then in p2p.lmdb).
    pub fn stop_cleanly(&mut self) {
        let st = self.terminate();
        let log = self.log();
        assert_eq!(st.code(), Some(0), "exit status; log:\n{}", tail(&log, 30));
        assert!(log.contains("Shutdown: done"), "{}", tail(&log, 30));
    }

    /// The address DB our node wrote to `<datadir>/regtest/p2p.lmdb` (after [`stop_cleanly`]).
    ///
    /// [`stop_cleanly`]: OurNode::stop_cleanly
    pub fn stored_addrman(&self) -> addrman::AddrMan {
        let store = addrman::store::Store::open(&self.net_dir).expect("open our p2p.lmdb");
        let bytes = store
            .get(addrman::store::PEERS_KEY)
            .expect("read p2p.lmdb")
            .expect("our node stored an address DB");
        let params = protocol::NetworkParams::get(protocol::Chain::Regtest);
        addrman::store::addrman_from_bytes(
            &bytes,
            netbase::NetGroupManager::new(),
            &addrman::store::AddrManOptions::new(params),
            "p2p.lmdb",
        )
        .expect("our stored address DB parses")
    }
}

/// `address:port` of every entry of a `getrawaddrman` answer (both tables).
pub fn rawaddrman_services(v: &Value) -> BTreeSet<(String, u64, u64)> {
    let mut out = BTreeSet::new();
    for table in ["new", "tried"] {
        let Some(obj) = v.get(table).and_then(Value::as_object) else {
            panic!("getrawaddrman without {table:?}: {v}");
        };
        for e in obj.values() {
            out.insert((
                e["address"].as_str().unwrap().to_string(),
                e["port"].as_u64().unwrap(),
                e["services"].as_u64().unwrap(),
            ));
        }
    }
    out
}
