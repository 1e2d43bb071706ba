//! `difflog` on bitcoind's own log: a second "run" of the same events (other times, peer ids
//! and ports) compares equal; a line removed or changed is the one reported.

use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use bitcoin_compat_tests::vectors_dir;

fn bitcoind_log() -> String {
    let p = vectors_dir().join("bitcoind-regtest-disconnects/debug-net.log");
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The same events as another run would log them: an hour later, peer ids shifted by 40 and
/// ephemeral ports by 1000.
fn as_another_run(log: &str) -> String {
    let peer = regex::Regex::new(r"peer=(\d+)").unwrap();
    let port = regex::Regex::new(r"127\.0\.0\.1:(\d+)").unwrap();
    log.lines()
        .map(|l| {
            let l = l.replacen("T19:", "T20:", 1);
            let l = peer.replace_all(&l, |c: &regex::Captures| {
                format!("peer={}", c[1].parse::<u32>().unwrap() + 40)
            });
            let l = port.replace_all(&l, |c: &regex::Captures| {
                format!("127.0.0.1:{}", c[1].parse::<u32>().unwrap() % 60000 + 1000)
            });
            l.into_owned() + "\n"
        })
        .collect()
}

fn run(args: &[&str], a: &str, b: &str) -> (i32, String) {
    let dir = std::env::temp_dir().join(format!("difflog-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let (pa, pb): (PathBuf, PathBuf) =
        (dir.join(format!("{n}a.log")), dir.join(format!("{n}b.log")));
    std::fs::write(&pa, a).unwrap();
    std::fs::write(&pb, b).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_difflog"))
        .args(args)
        .arg(&pa)
        .arg(&pb)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn another_run_of_the_same_events_is_equal() {
    let log = bitcoind_log();
    let (code, out) = run(&[], &log, &as_another_run(&log));
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("0 only in the first, 0 only in the second"),
        "{out}"
    );
}

#[test]
fn a_missing_and_a_changed_line_are_reported() {
    let log = bitcoind_log();
    let mut other: Vec<String> = as_another_run(&log).lines().map(str::to_owned).collect();
    let dropped = other
        .iter()
        .position(|l| l.contains("Header error: Size too large"))
        .expect("the vector log has a size-too-large line");
    other.remove(dropped);
    let changed = other
        .iter()
        .position(|l| l.contains("received: ping (8 bytes)"))
        .expect("the vector log has a ping line");
    other[changed] = other[changed].replace("received: ping", "received: pong");
    let (code, out) = run(&[], &log, &(other.join("\n") + "\n"));
    assert_eq!(code, 1, "{out}");
    let minus: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with('-') && !l.starts_with("---"))
        .collect();
    let plus: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with('+') && !l.starts_with("+++"))
        .collect();
    assert_eq!(minus.len(), 2, "{out}");
    assert_eq!(plus.len(), 1, "{out}");
    assert!(
        minus[0].contains("Header error: Size too large (version, 4000001 bytes), peer=N"),
        "{out}"
    );
    assert!(
        minus[1].contains("received: ping (8 bytes) peer=N"),
        "{out}"
    );
    assert!(plus[0].contains("received: pong (8 bytes) peer=N"), "{out}");
}

#[test]
fn wrong_usage_exits_2_with_help() {
    let out = Command::new(env!("CARGO_BIN_EXE_difflog"))
        .arg("--bogus")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("unknown option --bogus") && err.contains("usage: difflog"),
        "{err}"
    );
}
