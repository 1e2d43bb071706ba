//! Runs the built `logos-p2pd` binary: start on loopback, SIGTERM, clean exit with the database
//! written; two nodes that handshake; the error path for a wrong option. Loopback only, every
//! wait bounded.

mod bin_common;

use addrman::store::KvStore;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use bin_common::{free_port, node_args, read_log, Proc, TempDir, BIN};

const WAIT: Duration = Duration::from_secs(30);

/// Waits (bounded by [`WAIT`]) until the log contains `needle`; returns the log.
fn wait_for_log(path: &Path, needle: &str) -> String {
    bin_common::wait_for_log(path, needle, WAIT)
}

/// The port from the log line "Bound to 127.0.0.1:<port>".
fn bound_port(log: &str) -> u16 {
    let line = log
        .lines()
        .find(|l| l.contains("Bound to 127.0.0.1:"))
        .expect("Bound to line");
    line.rsplit(':').next().unwrap().trim().parse().unwrap()
}

fn base_args(dir: &Path, chain: &str) -> Vec<String> {
    let mut args = node_args(dir, chain);
    args.extend([
        format!("-bind=127.0.0.1:{}", free_port()),
        // Not the network's RPC port: tests run side by side.
        format!("-rpcport={}", free_port()),
        "-printtoconsole=0".to_string(),
    ]);
    args
}

fn check_clean_run(chain_arg: &str, subdir: &str, sig: &str) {
    let dir = TempDir::new(subdir);
    let log_path = dir.0.join(subdir).join("debug.log");
    let mut node = Proc::spawn(&base_args(&dir.0, chain_arg));
    let log = wait_for_log(&log_path, "Bound to 127.0.0.1:");
    assert!(bound_port(&log) > 0);
    assert!(log.contains(&format!(
        "Using data directory {}",
        dir.0.join(subdir).display()
    )));
    let status = node.signal(sig, WAIT);
    assert_eq!(
        status.code(),
        Some(0),
        "exit status; log:\n{}",
        read_log(&log_path)
    );
    let log = read_log(&log_path);
    assert!(log.contains("Shutdown: In progress..."), "{log}");
    assert!(log.contains("Shutdown: done"), "{log}");
    assert!(
        log.contains("[net] Flushed 0 addresses to peers.dat  "),
        "{log}"
    );
    // Every line starts with a timestamp.
    for l in log.lines().filter(|l| !l.is_empty()) {
        assert_eq!(l.as_bytes()[19], b'Z', "{l}");
    }
    // The database holds a peers.dat value and a ban list.
    let lmdb = dir.0.join(subdir).join("p2p.lmdb");
    assert!(lmdb.join("data.mdb").is_file());
    let store = addrman::store::Store::open(&dir.0.join(subdir)).unwrap();
    let peers = store
        .get(addrman::store::PEERS_KEY)
        .unwrap()
        .expect("peers.dat value");
    let params = node::run::chain_params(if subdir == "regtest" {
        "regtest"
    } else {
        subdir
    })
    .unwrap();
    assert_eq!(peers[..4], params.message_start);
    assert!(store.get(addrman::store::BANLIST_KEY).unwrap().is_some());
}

#[test]
fn regtest_starts_and_stops_on_sigterm() {
    check_clean_run("-regtest", "regtest", "-TERM");
}

#[test]
fn logosregtest_starts_and_stops_on_sigint() {
    check_clean_run("-chain=logosregtest", "logosregtest", "-INT");
}

/// Two nodes: B connects to A with -connect; both log a completed handshake.
#[test]
fn two_nodes_handshake() {
    let dir_a = TempDir::new("a");
    let dir_b = TempDir::new("b");
    let log_a = dir_a.0.join("logosregtest").join("debug.log");
    let log_b = dir_b.0.join("logosregtest").join("debug.log");
    let mut a = Proc::spawn(&base_args(&dir_a.0, "-chain=logosregtest"));
    let port_a = bound_port(&wait_for_log(&log_a, "Bound to 127.0.0.1:"));
    let mut args_b = base_args(&dir_b.0, "-chain=logosregtest");
    args_b.push(format!("-connect=127.0.0.1:{port_a}"));
    args_b.push("-uacomment=nodeb".to_string());
    let mut b = Proc::spawn(&args_b);
    let lb = wait_for_log(&log_b, "received: verack (0 bytes) peer=");
    assert!(lb.contains("[net] received: version ("), "{lb}");
    let lb = wait_for_log(&log_b, "peer connected");
    assert!(lb.contains("New manual v1 peer connected"), "{lb}");
    let la = wait_for_log(&log_a, "[net] received: verack (0 bytes) peer=");
    assert!(
        la.contains("receive version message: /logos-p2p:0.1.0(nodeb)/"),
        "{la}"
    );
    assert!(la.contains("[net] received: version ("), "{la}");
    assert_eq!(b.terminate(WAIT).code(), Some(0));
    assert_eq!(a.terminate(WAIT).code(), Some(0));
    assert!(read_log(&log_a).contains("Shutdown: done"));
    assert!(read_log(&log_b).contains("Shutdown: done"));
}

/// A wrong option: bitcoind's message on stderr, status 1, nothing started.
#[test]
fn wrong_option_exits_with_error() {
    let dir = TempDir::new("bad");
    let out = Command::new(BIN)
        .args([format!("-datadir={}", dir.0.display()), "-foo".to_string()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("Error: Error parsing command line arguments: Invalid parameter -foo\n"),
        "{err}"
    );
    assert!(err.contains("logos-p2pd -help"), "{err}");
    // A loose token.
    let out = Command::new(BIN)
        .args([format!("-datadir={}", dir.0.display()), "foo".to_string()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains(
        "Error: Command line contains unexpected token 'foo', see logos-p2pd -h for a list of options."
    ));
    // A datadir that does not exist.
    let out = Command::new(BIN)
        .arg(format!("-datadir={}", dir.0.join("missing").display()))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not exist"));
}

/// `-help` prints the usage and exits 0; `-version` the version.
#[test]
fn help_and_version() {
    let dir = TempDir::new("help");
    let out = Command::new(BIN)
        .args([format!("-datadir={}", dir.0.display()), "-help".to_string()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Usage: logos-p2pd [options]"));
    assert!(text.contains("\n  -connect=<ip>\n"));
    let out = Command::new(BIN)
        .args([
            format!("-datadir={}", dir.0.display()),
            "-version".to_string(),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("Logos P2P daemon version v"));
}

/// Vectors written by a real bitcoind (see ../shared/vectors/README.md).
fn vectors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/vectors/bitcoind-regtest")
}

/// First start on a network directory holding a bitcoind `peers.dat` and `banlist.json`: both
/// are imported into p2p.lmdb, the addresses are loaded and flushed back on shutdown with
/// bitcoind's log lines; the second start loads from the store and imports nothing.
#[test]
fn imports_bitcoind_peers_dat_and_banlist_on_first_start() {
    let vectors = vectors_dir();
    let dir = TempDir::new("import");
    let net_dir = dir.0.join("regtest");
    std::fs::create_dir_all(&net_dir).unwrap();
    let original = std::fs::read(vectors.join("peers.dat")).unwrap();
    std::fs::write(net_dir.join("peers.dat"), &original).unwrap();
    std::fs::copy(vectors.join("banlist.json"), net_dir.join("banlist.json")).unwrap();
    let log_path = net_dir.join("debug.log");
    // No listening socket, no automatic outbound connection, loopback-only dialling.
    let mut args = node_args(&dir.0, "-regtest");
    args.extend([
        "-connect=0".to_string(),
        format!("-rpcport={}", free_port()),
        "-printtoconsole=0".to_string(),
    ]);

    let mut node = Proc::spawn(&args);
    let log = wait_for_log(&log_path, "Loaded 1488 addresses from peers.dat  ");
    assert!(
        log.contains(&format!(
            "Imported 1488 addresses from {}",
            net_dir.join("peers.dat").display()
        )),
        "{log}"
    );
    assert!(
        log.contains("Imported 4 banned node addresses/subnets from "),
        "{log}"
    );
    assert!(log
        .contains("parameter interaction: -connect or -maxconnections=0 set -> setting -listen=0"));
    assert!(!log.contains("Bound to"), "{log}");
    assert_eq!(node.terminate(WAIT).code(), Some(0));
    let log = read_log(&log_path);
    assert!(
        log.contains("[net] Flushed 1488 addresses to peers.dat  "),
        "{log}"
    );
    assert!(log.contains("Shutdown: done"), "{log}");

    // Loaded and written back unchanged: the stored value is bitcoind's file, byte for byte.
    {
        let store = addrman::store::Store::open(&net_dir).unwrap();
        let stored = store.get(addrman::store::PEERS_KEY).unwrap().unwrap();
        assert_eq!(stored.len(), original.len());
        assert!(
            stored == original,
            "stored peers.dat differs from bitcoind's"
        );
    }

    // Second start: loaded from the store, nothing imported again.
    let before = read_log(&log_path).len();
    let mut node = Proc::spawn(&args);
    let second = bin_common::wait_for_log_from(
        &log_path,
        before,
        "Loaded 1488 addresses from peers.dat  ",
        WAIT,
    );
    assert!(!second.contains("Imported"), "{second}");
    assert_eq!(node.terminate(WAIT).code(), Some(0));
}

/// Port of LockDirectory (init.cpp): a second node on the same data directory refuses to start.
#[test]
fn second_instance_on_same_datadir_is_refused() {
    let dir = TempDir::new("lock");
    let log_path = dir.0.join("regtest").join("debug.log");
    let mut first = Proc::spawn(&base_args(&dir.0, "-regtest"));
    wait_for_log(&log_path, "Bound to 127.0.0.1:");
    let out = Command::new(BIN)
        .args(base_args(&dir.0, "-regtest"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!(
            "Error: Cannot obtain a lock on directory {}. logos-p2pd is probably already running.",
            dir.0.join("regtest").display()
        )),
        "{err}"
    );
    assert_eq!(first.terminate(WAIT).code(), Some(0));
}

/// A corrupt address DB value: the node names it in the log, moves it aside and starts with an
/// empty one; a corrupt bitcoind peers.dat beside it is not imported.
#[test]
fn corrupt_address_db_is_moved_aside() {
    let dir = TempDir::new("corrupt");
    let net_dir = dir.0.join("regtest");
    std::fs::create_dir_all(&net_dir).unwrap();
    {
        let store = addrman::store::Store::open(&net_dir).unwrap();
        store
            .put(
                addrman::store::PEERS_KEY,
                b"\xfa\xbf\xb5\xda\x04\x24\x00\x01",
            )
            .unwrap();
    }
    std::fs::write(net_dir.join("peers.dat"), b"not a peers.dat").unwrap();
    let log_path = net_dir.join("debug.log");
    let mut node = Proc::spawn(&base_args(&dir.0, "-regtest"));
    let log = wait_for_log(&log_path, "Bound to 127.0.0.1:");
    assert!(
        log.contains("[error] Invalid or corrupt peers.dat ("),
        "{log}"
    );
    assert!(
        log.contains("[warning] Moved unreadable peers.dat"),
        "{log}"
    );
    assert!(!log.contains("Imported"), "{log}");
    assert_eq!(node.terminate(WAIT).code(), Some(0));
    let log = read_log(&log_path);
    assert!(
        log.contains("[net] Flushed 0 addresses to peers.dat  "),
        "{log}"
    );
    let store = addrman::store::Store::open(&net_dir).unwrap();
    let keys = store.keys().unwrap();
    assert!(
        keys.iter().any(|k| k.starts_with("peers.dat.corrupt-")),
        "{keys:?}"
    );
    let fresh = store.get(addrman::store::PEERS_KEY).unwrap().unwrap();
    assert_eq!(fresh[..4], [0xfa, 0xbf, 0xb5, 0xda]);
}

/// A corrupt bitcoind peers.dat found on first start is reported and not imported.
#[test]
fn corrupt_peers_dat_is_not_imported() {
    let dir = TempDir::new("badimport");
    let net_dir = dir.0.join("regtest");
    std::fs::create_dir_all(&net_dir).unwrap();
    std::fs::write(net_dir.join("peers.dat"), b"not a peers.dat").unwrap();
    let log_path = net_dir.join("debug.log");
    let mut node = Proc::spawn(&base_args(&dir.0, "-regtest"));
    let log = wait_for_log(&log_path, "Bound to 127.0.0.1:");
    assert!(
        log.contains(&format!(
            "[warning] Not importing {}: ",
            net_dir.join("peers.dat").display()
        )),
        "{log}"
    );
    assert!(
        log.contains("Creating peers.dat because the file was not found"),
        "{log}"
    );
    assert_eq!(node.terminate(WAIT).code(), Some(0));
}
