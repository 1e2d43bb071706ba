//! logos-sim: thousands of nodes running this project's real protocol code in virtual time.
//!
//! Each simulated node is made of the crates the daemon runs: the sans-IO
//! [`net::peerman::PeerManager`] (handshake, ping, addr relay, misbehaviour, the `logos` flood),
//! an [`addrman::AddrMan`] with its own `nKey` (compact bucket tables, same results), a
//! [`addrman::banman::BanMan`], the outbound planner ([`net::open_connections`]), the DNS-seed
//! planner ([`net::dnsseed`]), inbound admission ([`net::admission`]) and eviction
//! ([`net::eviction`]). The [`engine`] moves their messages over simulated links in one
//! discrete-event loop: no sockets, no threads, the same seed gives the same output byte for
//! byte.
//!
//! Modules: [`config`] (what a run is), [`topology`] (regions, latencies, addresses),
//! [`clock`] (the virtual clock the managers read), [`engine`] (the event loop and the shell
//! around each peer manager), [`metrics`] (what is measured, `summary.json`), [`report`] (the
//! CSV and JSON files).

pub mod cli;
pub mod clock;
pub mod config;
pub mod engine;
pub mod link;
pub mod loopback;
pub mod metrics;
pub mod node;
pub mod plots;
pub mod report;
pub mod topology;

use config::{Backend, SimConfig};
use metrics::{RunResult, Summary};

/// Runs `cfg` on its backend.
pub fn run(
    cfg: &SimConfig,
    progress: &mut dyn FnMut(engine::Progress),
) -> Result<RunResult, String> {
    match cfg.backend {
        Backend::Sim => engine::run(cfg, progress),
        Backend::Loopback => loopback::run_loopback(cfg),
    }
}

/// The title the plots of a run carry: relay, nodes, size, scenario.
pub fn plot_title(cfg: &SimConfig) -> String {
    use erased::Named;
    let size = if cfg.size >= 1 << 20 && cfg.size.is_multiple_of(1 << 20) {
        format!("{} MiB", cfg.size >> 20)
    } else if cfg.size >= 1024 && cfg.size.is_multiple_of(1024) {
        format!("{} KiB", cfg.size >> 10)
    } else {
        format!("{} B", cfg.size)
    };
    format!(
        "{}, {} nodes, {} messages of {}, {}",
        cfg.relay.name(),
        cfg.nodes,
        cfg.messages,
        size,
        cfg.scenario.name()
    )
}

/// The summary of `r` under `cfg`'s names.
pub fn summarize(cfg: &SimConfig, r: &RunResult) -> Summary {
    let name = |v: &dyn erased::Named| v.name();
    r.summarize(
        name(&cfg.backend),
        name(&cfg.relay),
        name(&cfg.scenario),
        cfg.size,
    )
}

/// Runs `cfg` and writes `summary.json`, the CSVs and (unless `cfg.plots` is off) the plots
/// into `cfg.out`.
pub fn run_to_dir(
    cfg: &SimConfig,
    progress: &mut dyn FnMut(engine::Progress),
) -> Result<Summary, String> {
    let r = run(cfg, progress)?;
    let summary = summarize(cfg, &r);
    report::write_files(&cfg.out, &r, &summary)
        .map_err(|e| format!("--out {}: cannot write: {e}", cfg.out.display()))?;
    if cfg.plots {
        plots::draw_all(&cfg.out, &r, &plot_title(cfg))?;
    }
    Ok(summary)
}

mod erased {
    /// The lowercase name a configuration enum has in TOML and on the command line.
    pub trait Named {
        fn name(&self) -> &'static str;
    }
    impl<T: serde::Serialize> Named for T {
        fn name(&self) -> &'static str {
            match serde_json::to_value(self) {
                Ok(serde_json::Value::String(s)) => Box::leak(s.into_boxed_str()),
                _ => "?",
            }
        }
    }
}

/// Runs `cfg` once per relay (`flood`, then `announce`) with the same seed, each into its own
/// directory under `cfg.out`, and draws the comparison plots into `cfg.out`.
pub fn run_relay_comparison(
    cfg: &SimConfig,
    progress: &mut dyn FnMut(engine::Progress),
) -> Result<Vec<Summary>, String> {
    let mut runs = Vec::new();
    let mut summaries = Vec::new();
    for relay in [config::Relay::Flood, config::Relay::Announce] {
        let mut c = cfg.clone();
        c.relay = relay;
        c.out = cfg.out.join(erased::Named::name(&relay));
        let r = run(&c, progress)?;
        let summary = summarize(&c, &r);
        report::write_files(&c.out, &r, &summary)
            .map_err(|e| format!("--out {}: cannot write: {e}", c.out.display()))?;
        if c.plots {
            plots::draw_all(&c.out, &r, &plot_title(&c))?;
        }
        summaries.push(summary);
        runs.push((erased::Named::name(&relay), r));
    }
    if cfg.plots {
        let refs: Vec<(&str, &RunResult)> = runs.iter().map(|(n, r)| (*n, r)).collect();
        let mut title = plot_title(cfg);
        if let Some(rest) = title.split_once(", ").map(|(_, r)| r.to_string()) {
            title = format!("flood vs announce, {rest}");
        }
        plots::draw_comparison(&cfg.out, &refs, &title)?;
    }
    Ok(summaries)
}
