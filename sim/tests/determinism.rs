//! The same seed writes the same files: `summary.json` (all but `wall_seconds`, the host's
//! time) and every CSV, byte for byte; another seed writes other ones.

use std::fs;
use std::path::{Path, PathBuf};

use sim::config::{Scenario, SimConfig};

fn out_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("logos-sim-det-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&d);
    d
}

fn run(cfg: &SimConfig) {
    sim::run_to_dir(cfg, &mut |_| {}).expect("run");
}

/// `summary.json` without its `wall_seconds` line.
fn summary_without_wall(dir: &Path) -> String {
    fs::read_to_string(dir.join("summary.json"))
        .unwrap()
        .lines()
        .filter(|l| !l.trim_start().starts_with("\"wall_seconds\""))
        .collect::<Vec<_>>()
        .join("\n")
}

fn config(seed: u64, scenario: Scenario, out: PathBuf) -> SimConfig {
    SimConfig {
        nodes: 150,
        seed,
        messages: 10,
        size: 2000,
        rate: 5.0,
        scenario,
        warmup_secs: 90.0,
        drain_secs: 10.0,
        out,
        plots: false,
        ..SimConfig::default()
    }
}

#[test]
fn one_seed_writes_identical_files() {
    for scenario in [Scenario::Propagation, Scenario::Churn] {
        let (a, b, c) = (out_dir("a"), out_dir("b"), out_dir("c"));
        run(&config(5, scenario, a.clone()));
        run(&config(5, scenario, b.clone()));
        run(&config(6, scenario, c.clone()));
        assert_eq!(summary_without_wall(&a), summary_without_wall(&b));
        for f in ["messages.csv", "nodes.csv"] {
            let (x, y) = (fs::read(a.join(f)).unwrap(), fs::read(b.join(f)).unwrap());
            assert_eq!(
                x, y,
                "{f} differs between two runs of one seed ({scenario:?})"
            );
        }
        assert_ne!(
            fs::read(a.join("nodes.csv")).unwrap(),
            fs::read(c.join("nodes.csv")).unwrap(),
            "another seed gave the same network"
        );
        // The bootstrap went the real way (DNS seed, addr relay) and everyone got everything.
        let s = fs::read_to_string(a.join("summary.json")).unwrap();
        let v: serde_json::Value = serde_json::from_str(&s).unwrap();
        assert_eq!(v["nodes"], 150);
        assert_eq!(v["messages"], 10);
        if scenario == Scenario::Propagation {
            assert_eq!(v["delivered_fraction"], 1.0, "{s}");
        }
        for d in [a, b, c] {
            let _ = fs::remove_dir_all(d);
        }
    }
}
