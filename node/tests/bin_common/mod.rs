//! Shared pieces of the tests that run the built `logos-p2pd` binary: free loopback ports, fresh
//! data directories, the flags every test node runs with, a process handle that is killed if
//! the test fails before it exits, and bounded waits for log lines. Every wait takes its bound
//! from the caller.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{channel, Receiver};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_logos-p2pd");

/// How often the bounded waits look again.
const POLL: Duration = Duration::from_millis(20);

/// A fresh, empty directory under the system temp dir (left in place; see [`TempDir`] for one
/// removed on drop).
pub fn temp_dir(tag: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    let p = std::env::temp_dir().join(format!(
        "logos-p2pd-{tag}-{}-{}-{nanos}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&p);
    std::fs::create_dir_all(&p).unwrap();
    p
}

/// A fresh directory under the system temp dir, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> Self {
        TempDir(temp_dir(tag))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A loopback port that was free a moment ago (the node refuses `-bind=...:0` and
/// `-rpcport=0`, as bitcoind does).
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// The flags every test node runs with: its data directory and chain (`-regtest`,
/// `-chain=...`), no DNS or fixed seeds, `-debug=net`, and the loopback-only guard. Callers add
/// their own.
pub fn node_args(datadir: &Path, chain: &str) -> Vec<String> {
    vec![
        format!("-datadir={}", datadir.display()),
        chain.to_string(),
        "-dnsseed=0".to_string(),
        "-fixedseeds=0".to_string(),
        "-debug=net".to_string(),
        "-test=loopbackonly".to_string(),
    ]
}

/// The node's options for a command line, as the binary derives them (argument parsing, the
/// network section, InitParameterInteraction, AppInitParameterInteraction), without starting it.
pub fn node_options(extra: &[&str]) -> Result<node::init::NodeOptions, String> {
    let mut args = node::init::server_args();
    let mut argv = vec!["logos-p2pd".to_string()];
    argv.extend(extra.iter().map(|s| s.to_string()));
    args.parse_parameters(&argv)?;
    let chain = args.get_chain_type()?;
    args.select_config_network(chain);
    node::init::init_parameter_interaction(&mut args);
    node::init::app_init_parameter_interaction(&args, chain, false)
}

/// Polls `f` until it gives `Some`; past `wait`, panics with `timeout_message()`.
pub fn wait_until<T>(
    wait: Duration,
    mut f: impl FnMut() -> Option<T>,
    timeout_message: impl Fn() -> String,
) -> T {
    let deadline = Instant::now() + wait;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "{}", timeout_message());
        std::thread::sleep(POLL);
    }
}

/// The log file's text so far (empty if it does not exist yet).
pub fn read_log(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// Waits (bounded by `wait`) until the log contains `needle`; returns the log.
pub fn wait_for_log(path: &Path, needle: &str, wait: Duration) -> String {
    wait_for_log_from(path, 0, needle, wait)
}

/// Waits (bounded by `wait`) until the log after byte `offset` contains `needle`; returns that
/// part.
pub fn wait_for_log_from(path: &Path, offset: usize, needle: &str, wait: Duration) -> String {
    let tail = || read_log(path).get(offset..).unwrap_or_default().to_string();
    wait_until(
        wait,
        || Some(tail()).filter(|log| log.contains(needle)),
        || {
            format!(
                "timed out waiting for {needle:?} in {}:\n{}",
                path.display(),
                tail()
            )
        },
    )
}

/// A `logos-p2pd` process, killed if the test fails before it exits. Started with
/// [`Proc::spawn_piped`], its stdout lines (`-printtoconsole=1`) are read as they come.
pub struct Proc {
    child: Option<Child>,
    lines: Option<Receiver<(Instant, String)>>,
    reader: Option<JoinHandle<()>>,
    /// Every stdout line read so far (piped processes only).
    pub seen: Vec<String>,
}

impl Proc {
    /// Starts the binary with `args`; stdin, stdout and stderr are null.
    pub fn spawn(args: &[String]) -> Proc {
        Self::start(args, false)
    }

    /// Starts the binary with `args`, reading its stdout line by line.
    pub fn spawn_piped(args: &[String]) -> Proc {
        Self::start(args, true)
    }

    fn start(args: &[String], piped: bool) -> Proc {
        let mut child = Command::new(BIN)
            .args(args)
            .stdin(Stdio::null())
            .stdout(if piped { Stdio::piped() } else { Stdio::null() })
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn logos-p2pd");
        let (lines, reader) = match child.stdout.take() {
            Some(out) => {
                let (tx, rx) = channel();
                let reader = std::thread::spawn(move || {
                    for line in BufReader::new(out).lines() {
                        let Ok(line) = line else { break };
                        if tx.send((Instant::now(), line)).is_err() {
                            break;
                        }
                    }
                });
                (Some(rx), Some(reader))
            }
            None => (None, None),
        };
        Proc {
            child: Some(child),
            lines,
            reader,
            seen: Vec::new(),
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// The next stdout line containing `needle` (bounded by `wait`), with the time it was read.
    pub fn wait_line(&mut self, needle: &str, wait: Duration) -> (Instant, String) {
        let rx = self.lines.as_ref().expect("started with spawn_piped");
        let deadline = Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok((t, line)) => {
                    self.seen.push(line.clone());
                    if line.contains(needle) {
                        return (t, line);
                    }
                }
                Err(_) => panic!(
                    "no line with {needle:?} within {wait:?}; log so far:\n{}",
                    self.seen.join("\n")
                ),
            }
        }
    }

    /// Waits (bounded by `wait`) for the process to exit and returns its status; past `wait`
    /// kills it and returns `None`. Then reads the rest of its stdout.
    pub fn wait_exit(&mut self, wait: Duration) -> Option<ExitStatus> {
        let mut child = self.child.take().expect("running");
        let deadline = Instant::now() + wait;
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break Some(status);
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            std::thread::sleep(POLL);
        };
        self.drain();
        status
    }

    /// Sends `sig` (e.g. `-TERM`, `-INT`) with the `kill` command and waits (bounded by `wait`)
    /// for the exit status.
    pub fn signal(&mut self, sig: &str, wait: Duration) -> ExitStatus {
        let st = Command::new("kill")
            .args([sig, &self.pid().to_string()])
            .status()
            .expect("run kill");
        assert!(st.success());
        self.wait_exit(wait)
            .unwrap_or_else(|| panic!("logos-p2pd did not exit after kill {sig}"))
    }

    /// SIGTERM, then a bounded wait for the exit status.
    pub fn terminate(&mut self, wait: Duration) -> ExitStatus {
        self.signal("-TERM", wait)
    }

    /// SIGKILL; returns the exit status after reading the rest of its stdout.
    pub fn kill9(&mut self) -> ExitStatus {
        let mut child = self.child.take().expect("running");
        child.kill().expect("SIGKILL");
        let status = child.wait().expect("wait");
        self.drain();
        status
    }

    /// After exit: the rest of the stdout lines.
    fn drain(&mut self) {
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
        if let Some(rx) = &self.lines {
            while let Ok((_, line)) = rx.try_recv() {
                self.seen.push(line);
            }
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
