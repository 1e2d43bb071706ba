//! The simulator and the loopback backend (real `CConnman`s on 127.0.0.1) run one small
//! topology and workload and must agree: the same share of deliveries exactly, full copies per
//! node per message within 10%. Both lay out the network from the seed alike (addresses,
//! regions, listening nodes, seeds); the planners then pick peers with the real code on each
//! side.

use sim::config::{Backend, Bootstrap, SimConfig};

fn config(backend: Backend) -> SimConfig {
    SimConfig {
        nodes: 30,
        seed: 11,
        messages: 20,
        size: 1024,
        rate: 10.0,
        backend,
        bootstrap: Bootstrap::Snapshot,
        inbound_share: 0.4,
        warmup_secs: 15.0,
        drain_secs: 5.0,
        plots: false,
        ..SimConfig::default()
    }
}

#[test]
fn sim_and_loopback_agree_on_delivery_and_copies() {
    let _ = env_logger::builder().is_test(true).try_init();
    let mut quiet = |_| {};
    let s = config(Backend::Sim);
    let l = config(Backend::Loopback);
    let sim = sim::summarize(&s, &sim::run(&s, &mut quiet).expect("simulator run"));
    let lo = sim::summarize(&l, &sim::run(&l, &mut quiet).expect("loopback run"));
    assert_eq!(sim.messages, 20);
    assert_eq!(lo.messages, 20);
    assert_eq!(
        sim.delivered_fraction, lo.delivered_fraction,
        "delivery differs: sim {sim:?}\nloopback {lo:?}"
    );
    assert_eq!(sim.delivered_fraction, 1.0);
    let (a, b) = (
        sim.copies_per_node_per_message,
        lo.copies_per_node_per_message,
    );
    assert!(
        a > 1.0 && b > 1.0,
        "a flood delivers several copies: {a} {b}"
    );
    assert!(
        (a - b).abs() <= 0.10 * b,
        "copies per node per message: sim {a}, loopback {b} (more than 10% apart)"
    );
}
