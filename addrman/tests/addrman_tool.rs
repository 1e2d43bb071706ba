//! `addrman-tool` end to end: `show` of bitcoind's peers.dat equals bitcoind's `getrawaddrman`,
//! import/export through an LMDB store give back bitcoind's bytes, wrong usage exits 2 with a
//! message saying what is wrong, bad data exits 1 naming the file and the fault.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn tool(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_addrman-tool"))
        .args(args)
        .output()
        .expect("run addrman-tool")
}

fn vector_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/vectors/bitcoind-regtest")
        .join(name)
}

fn vector(name: &str) -> Vec<u8> {
    std::fs::read(vector_path(name)).unwrap()
}

struct TempDir(PathBuf);
impl TempDir {
    fn new(tag: &str) -> Self {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static N: AtomicUsize = AtomicUsize::new(0);
        let p = std::env::temp_dir().join(format!(
            "addrman-tool-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
    fn path(&self, name: &str) -> String {
        self.0.join(name).display().to_string()
    }
}
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn getrawaddrman_vector() -> Value {
    serde_json::from_slice(&vector("getrawaddrman.json")).unwrap()
}

/// `show <peers.dat> --network regtest` prints bitcoind's getrawaddrman answer for that file.
#[test]
fn show_vector_equals_getrawaddrman() {
    let peers = vector_path("peers.dat").display().to_string();
    let out = tool(&["show", &peers, "--network", "regtest"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let got: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(got, getrawaddrman_vector());
    // --network=regtest form too
    let out = tool(&["show", "--network=regtest", &peers]);
    let got: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(got, getrawaddrman_vector());
}

/// import into an LMDB dir, show the dir, export back: bitcoind's bytes and answer.
#[test]
fn import_show_export_round_trip() {
    let dir = TempDir::new("roundtrip");
    let peers = vector_path("peers.dat").display().to_string();
    let lmdb = dir.path("p2p.lmdb");
    let out = tool(&["import", &peers, &lmdb, "--network", "regtest"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("Imported 1488 addresses"));

    for target in [lmdb.clone(), dir.0.display().to_string()] {
        // the env dir itself, and the data directory holding p2p.lmdb
        let out = tool(&["show", &target, "--network", "regtest"]);
        assert!(out.status.success(), "{}", stderr(&out));
        let got: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(got, getrawaddrman_vector());
    }

    let exported = dir.path("exported.dat");
    let out = tool(&["export", &lmdb, &exported, "--network", "regtest"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(std::fs::read(&exported).unwrap() == vector("peers.dat"));
}

/// banlist.json through the store comes back byte-identical.
#[test]
fn banlist_import_export_round_trip() {
    let dir = TempDir::new("banlist");
    let lmdb = dir.path("p2p.lmdb");
    let banlist = vector_path("banlist.json").display().to_string();
    let out = tool(&["import-banlist", &banlist, &lmdb]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("Imported 4 bans"));
    let exported = dir.path("banlist.json");
    let out = tool(&["export-banlist", &lmdb, &exported]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(std::fs::read(&exported).unwrap() == vector("banlist.json"));
}

/// Wrong usage: exit 2, a line saying what is wrong and how to fix it, then the usage.
#[test]
fn wrong_usage_exits_2() {
    let peers = vector_path("peers.dat").display().to_string();
    let cases: &[(&[&str], &str)] = &[
        (&[], "no command given; use show, import, export"),
        (&["frobnicate", "x"], "unknown command `frobnicate`"),
        (
            &["show"],
            "`show` takes 1 path (<peers.dat | lmdb dir>), 0 given",
        ),
        (
            &["import", "a"],
            "`import` takes 2 paths (<peers.dat> <lmdb dir>), 1 given",
        ),
        (
            &["export", "a", "b", "c"],
            "`export` takes 2 paths (<lmdb dir> <peers.dat>), 3 given",
        ),
        (
            &["show", &peers, "--network", "moon"],
            "unknown network `moon`; use one of main, test, testnet4, signet, regtest",
        ),
        (&["show", &peers, "--network"], "--network needs a value"),
        (&["show", &peers, "--verbose"], "unknown option --verbose"),
    ];
    for (args, want) in cases {
        let out = tool(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = stderr(&out);
        assert!(err.contains(want), "{args:?}: {err}");
        assert!(err.contains("Usage:"), "{args:?}: {err}");
    }
    let out = tool(&["--help"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("Usage:"));
}

/// Bad data: exit 1 with the file or store and the fault named.
#[test]
fn bad_data_exits_1() {
    let dir = TempDir::new("bad");
    let peers = vector_path("peers.dat").display().to_string();

    // default network (main): wrong magic, with a hint
    let out = tool(&["show", &peers]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains(&peers), "{err}");
    assert!(
        err.contains("Invalid network magic number (expected f9beb4d9, found fabfb5da) (the data is for network `regtest`: try --network regtest)"),
        "{err}"
    );

    // bad checksum
    let mut bytes = vector("peers.dat");
    let n = bytes.len();
    bytes[n - 1] ^= 0x80;
    let bad = dir.path("bad.dat");
    std::fs::write(&bad, &bytes).unwrap();
    let out = tool(&["show", &bad, "--network", "regtest"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains(&format!("{bad}: Checksum mismatch, data corrupted")));

    // importing it: refused, nothing stored
    let lmdb = dir.path("p2p.lmdb");
    let out = tool(&["import", &bad, &lmdb, "--network", "regtest"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("Invalid or corrupt peers.dat (Checksum mismatch, data corrupted)")
    );
    let out = tool(&["show", &lmdb, "--network", "regtest"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("holds no address database"),
        "{}",
        stderr(&out)
    );

    // a directory that is no store
    let empty = dir.path("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let out = tool(&["show", &empty]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("is not an LMDB store"));

    // missing file
    let out = tool(&["show", &dir.path("missing.dat")]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("missing.dat"));
}
