//! The hostile-load suite, long form (issue 15, section 2): every attack of
//! `node/tests/hostile_common` at full count against the real `logos-p2pd`, loopback only.
//!
//! Run: `cargo bench -p node --bench hostile` (release build, `harness = false`); arguments
//! that do not start with `--` keep only the attacks whose name contains one of them
//! (`cargo bench -p node --bench hostile -- rpc churn`).
//!
//! For finding where honest payloads wait (environment):
//! - `LOGOS_HOSTILE_DEBUG=1`: the nodes run with `-debug=net` (slower: every flooded message is
//!   logged) and each node's `debug.log` is kept in the temp dir (`hostile-<attack>.log`);
//! - `LOGOS_HOSTILE_SLOW=1`: the honest payloads slower than 50 ms (or lost) are printed to
//!   stderr with their send time, to find them in such a log (add
//!   `LOGOS_HOSTILE_NODE_ARGS=-logtimemicros=1`);
//! - `LOGOS_HOSTILE_NODE_ARGS="<args>"`: more arguments for the nodes;
//! - `LOGOS_HOSTILE_NODE_NICE=<n>`: `renice` the node to `n` after start (with the bench itself
//!   under `nice -n 10`, this shows how much of a figure is CPU contention on a shared host).
//!
//! For each attack a fresh node starts (`-chain=logosregtest`, default `-maxconnections`,
//! `-peertimeout`, `-rpcservertimeout`; see `Node::start` for the fixed flags), its address DB
//! is seeded and four bans are made over RPC, the honest pair connects (A sends a 200-byte
//! `logos` payload every 50 ms, B measures its arrival), and the attack runs for its window
//! (15 s). Then the node is stopped with RPC `stop` and its store is read with the library. One
//! row per attack:
//!
//! - `honest`: payloads delivered / sent in the window, `p50 ms` / `p99 ms` their latency
//!   A → node → B;
//! - `peak RSS`: the node's `VmHWM` over the window (`*`: since start, when the kernel did not
//!   let the peak be reset), `CPU s`: its user + system time over the window;
//! - `rpc ok`: authenticated `getconnectioncount` calls answered / made, one every 250 ms;
//! - `DB`: seeded addresses and bans all read back intact after the stop;
//! - `target`: p99 ≤ 100 ms, peak RSS ≤ 512 MB, nothing lost (honest payloads, addresses,
//!   bans);
//! - then the attack's own counters (connections opened, closed by the node, messages sent,
//!   HTTP statuses, the node's counters) and notes.
//!
//! The whole run is bounded by [`TOTAL_BOUND`]: attacks not started by then are skipped.

#[path = "../tests/bin_common/mod.rs"]
mod bin_common;
#[path = "../tests/hostile_common/mod.rs"]
mod hostile_common;
#[path = "../tests/proc_stats/mod.rs"]
mod proc_stats;

use std::time::{Duration, Instant};

use hostile_common::{
    attacks, raise_nofile, run_attack, seed, table_header, table_row, verify_store, Attack, Honest,
    Node, NodeSpec, Outcome,
};

/// Bound on the whole bench.
const TOTAL_BOUND: Duration = Duration::from_secs(12 * 60);
/// Open files this process wants: 5,000 attack connections, the RPC swarm's 3,000, slack.
const NOFILE: u64 = 12_000;

/// The 1, 5 and 15-minute load averages.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "?".to_string())
}

/// One attack against a fresh node; a failure to set up is a row of its own.
fn run_one(a: &Attack, debug_net: bool) -> Result<Outcome, String> {
    let mut extra: Vec<String> = a.node_args.iter().map(|s| s.to_string()).collect();
    extra.extend(
        std::env::var("LOGOS_HOSTILE_NODE_ARGS")
            .map(|v| v.split_whitespace().map(str::to_string).collect::<Vec<_>>())
            .unwrap_or_default(),
    );
    let spec = NodeSpec {
        debug_net,
        extra,
        nice: std::env::var("LOGOS_HOSTILE_NODE_NICE")
            .ok()
            .and_then(|v| v.parse().ok()),
        ..NodeSpec::default()
    };
    let mut node = Node::start(a.name, &spec)?;
    let seeded = seed(&node)?;
    let honest = Honest::start(node.p2p)?;
    std::thread::sleep(Duration::from_secs(1));
    let mut out = run_attack(&node, &honest, a);
    drop(honest);
    if std::env::var_os("LOGOS_HOSTILE_SLOW").is_some() {
        for (seq, sent, ms) in &out.slow {
            eprintln!(
                "{}: honest payload {seq} sent at {sent:.6}: {ms:?} ms",
                a.name
            );
        }
    }
    if debug_net {
        let keep = std::env::temp_dir().join(format!("hostile-{}.log", a.name));
        let _ = std::fs::write(&keep, node.log());
        eprintln!("{}: node log kept in {}", a.name, keep.display());
    }
    out.db = Some(
        node.stop()
            .and_then(|()| verify_store(&node.net_dir(), &seeded)),
    );
    Ok(out)
}

fn main() {
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let debug_net = std::env::var("LOGOS_HOSTILE_DEBUG").is_ok_and(|v| v == "1");
    let (soft0, hard0) = rlimit::getrlimit(rlimit::Resource::NOFILE).unwrap_or((0, 0));
    let nofile = raise_nofile(NOFILE);
    let cores = std::thread::available_parallelism().map_or(0, |c| c.get());
    println!(
        "logos-p2pd hostile-load suite, long form: loopback, {cores} cores, load average (1/5/15 min) {} at start",
        load_average()
    );
    println!(
        "RLIMIT_NOFILE of this process: soft {soft0}, hard {hard0} at start (ulimit -n); soft {nofile} now (the node inherits it)"
    );
    println!(
        "binary {}; honest payload every {} ms; targets p99 <= {} ms, peak RSS <= {} MB, nothing lost{}",
        bin_common::BIN,
        hostile_common::HONEST_INTERVAL.as_millis(),
        hostile_common::TARGET_P99_MS,
        hostile_common::TARGET_RSS_KIB / 1024,
        if debug_net { "; nodes run with -debug=net" } else { "" }
    );
    println!();
    println!("{}", table_header());
    let start = Instant::now();
    let mut rows = Vec::new();
    for a in attacks(true)
        .into_iter()
        .filter(|a| filters.is_empty() || filters.iter().any(|f| a.name.contains(f.as_str())))
    {
        if start.elapsed() + a.window > TOTAL_BOUND {
            println!(
                "{:<16} skipped: the {} s bound is near",
                a.name,
                TOTAL_BOUND.as_secs()
            );
            continue;
        }
        let row = match run_one(&a, debug_net) {
            Ok(o) => table_row(&o),
            Err(e) => format!("{:<16} FAILED to set up: {e}", a.name),
        };
        println!("{row}");
        rows.push(row);
    }
    println!();
    println!(
        "{} attacks in {:.0} s; load average (1/5/15 min) at end: {}",
        rows.len(),
        start.elapsed().as_secs_f64(),
        load_average()
    );
}
