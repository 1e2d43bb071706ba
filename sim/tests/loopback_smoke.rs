//! The loopback backend end to end, small: twelve real nodes on 127.0.0.1 (half of them
//! listening), snapshot bootstrap, five 1 KB payloads. Every node gets every payload, and the
//! flood delivers more than one copy per node.

use std::time::{Duration, Instant};

use sim::config::{Backend, Bootstrap, SimConfig};
use sim::loopback::run_loopback;

/// Threads of this process (Linux; 0 elsewhere).
fn threads() -> usize {
    std::fs::read_dir("/proc/self/task").map_or(0, |d| d.count())
}

#[test]
fn twelve_nodes_get_every_payload() {
    let _ = env_logger::builder().is_test(true).try_init();
    let cfg = SimConfig {
        nodes: 12,
        seed: 7,
        messages: 5,
        size: 1024,
        rate: 10.0,
        backend: Backend::Loopback,
        bootstrap: Bootstrap::Snapshot,
        inbound_share: 0.5,
        verify_ms: 0.0,
        warmup_secs: 10.0,
        drain_secs: 10.0,
        plots: false,
        ..SimConfig::default()
    };
    let threads_before = threads();
    let start = Instant::now();
    let r = run_loopback(&cfg).expect("loopback run");
    let s = r.summarize("loopback", "flood", "propagation", cfg.size);
    // Every node's threads were joined before the run returned.
    assert!(threads() <= threads_before, "node threads left running");
    eprintln!(
        "loopback smoke: {:.1} s, delivered {}, copies/node/msg {}, hops p50 {} max {}, degree mean {} (outbound {})",
        start.elapsed().as_secs_f64(),
        s.delivered_fraction,
        s.copies_per_node_per_message,
        s.hops.p50,
        s.hops.max,
        s.degree.mean,
        s.degree.mean_outbound
    );
    assert_eq!(s.delivered_fraction, 1.0);
    assert_eq!(s.messages_reaching_all, 5);
    assert!(
        s.copies_per_node_per_message > 1.0,
        "copies per node per message: {}",
        s.copies_per_node_per_message
    );
    assert!(s.hops.p50 >= 1);
    assert!(r.node_records.iter().all(|n| n.outbound >= 1));
    assert!(start.elapsed() < Duration::from_secs(60));
}

/// A hundred nodes, a fifth of them listening (the loopback backend's intended size): every
/// node gets every payload. Ignored by default (about a minute of real time).
#[test]
#[ignore]
fn a_hundred_nodes_get_every_payload() {
    let _ = env_logger::builder().is_test(true).try_init();
    let cfg = SimConfig {
        nodes: 100,
        seed: 3,
        messages: 20,
        size: 1024,
        rate: 10.0,
        backend: Backend::Loopback,
        bootstrap: Bootstrap::Snapshot,
        inbound_share: 0.2,
        verify_ms: 1.0,
        warmup_secs: 30.0,
        drain_secs: 30.0,
        plots: false,
        ..SimConfig::default()
    };
    let start = Instant::now();
    let r = run_loopback(&cfg).expect("loopback run");
    let s = r.summarize("loopback", "flood", "propagation", cfg.size);
    eprintln!(
        "loopback 100: {:.1} s, delivered {}, copies/node/msg {}, hops p50 {} max {}, degree mean {} (outbound {}), latency p50 {} ms",
        start.elapsed().as_secs_f64(),
        s.delivered_fraction,
        s.copies_per_node_per_message,
        s.hops.p50,
        s.hops.max,
        s.degree.mean,
        s.degree.mean_outbound,
        s.latency_ms.p50
    );
    assert_eq!(s.delivered_fraction, 1.0);
    assert!(s.copies_per_node_per_message > 1.0);
}
