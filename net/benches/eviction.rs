//! Inbound eviction benchmark: the workloads of Bitcoin Core's `bench/peer_eviction.cpp`.
//!
//! Core times `ProtectEvictionCandidatesByRatio` on a copy of 50, 100 or 250 candidates with 0
//! to 3 disadvantaged networks (Tor, I2P, localhost). Each line below prints our time per
//! operation beside Core's on this kind of machine; a second table times the whole
//! `select_node_to_evict` on the same candidates (no Core figure: Core has no such bench).
//!
//! Run: `cargo bench -p net --bench eviction` (release build, `harness = false`).

use std::hint::black_box;
use std::time::{Duration, Instant};

use net::eviction::{
    get_random_node_eviction_candidates, protect_eviction_candidates_by_ratio,
    select_node_to_evict, NodeEvictionCandidate,
};
use netbase::Network;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

/// One of Core's workloads.
struct Workload {
    name: &'static str,
    num_candidates: usize,
    setup: fn(&mut NodeEvictionCandidate),
    core_figure: &'static str,
}

fn in_range(id: i64, lo: i64, hi: i64) -> bool {
    id >= lo && id < hi
}

const WORKLOADS: [Workload; 6] = [
    // No disadvantaged network.
    Workload {
        name: "EvictionProtection0Networks250Candidates",
        num_candidates: 250,
        setup: |c| {
            c.m_connected = c.id;
            c.m_network = Network::IPv4;
        },
        core_figure: "8.8-15.9 us",
    },
    // Tor: 110 of 250.
    Workload {
        name: "EvictionProtection1Networks250Candidates",
        num_candidates: 250,
        setup: |c| {
            c.m_connected = c.id;
            c.m_is_local = false;
            c.m_network = if in_range(c.id, 130, 240) {
                Network::Onion
            } else {
                Network::IPv4
            };
        },
        core_figure: "8.8-15.9 us",
    },
    // Tor 70, I2P 80 of 250.
    Workload {
        name: "EvictionProtection2Networks250Candidates",
        num_candidates: 250,
        setup: |c| {
            c.m_connected = c.id;
            c.m_is_local = false;
            c.m_network = if in_range(c.id, 90, 160) {
                Network::Onion
            } else if in_range(c.id, 170, 250) {
                Network::I2P
            } else {
                Network::IPv4
            };
        },
        core_figure: "8.8-15.9 us",
    },
    // 2 localhost, 17 I2P, 4 Tor of 50.
    Workload {
        name: "EvictionProtection3Networks050Candidates",
        num_candidates: 50,
        setup: |c| {
            c.m_connected = c.id;
            c.m_is_local = c.id == 28 || c.id == 47;
            c.m_network = if in_range(c.id, 30, 47) {
                Network::I2P
            } else if in_range(c.id, 24, 28) {
                Network::Onion
            } else {
                Network::IPv4
            };
        },
        core_figure: "2.8 us",
    },
    // 5 localhost, 10 I2P, 16 Tor of 100.
    Workload {
        name: "EvictionProtection3Networks100Candidates",
        num_candidates: 100,
        setup: |c| {
            c.m_connected = c.id;
            c.m_is_local = in_range(c.id, 55, 60);
            c.m_network = if in_range(c.id, 70, 80) {
                Network::I2P
            } else if in_range(c.id, 80, 96) {
                Network::Onion
            } else {
                Network::IPv4
            };
        },
        core_figure: "6.8 us",
    },
    // 20 localhost, 10 I2P, 50 Tor of 250.
    Workload {
        name: "EvictionProtection3Networks250Candidates",
        num_candidates: 250,
        setup: |c| {
            c.m_connected = c.id;
            c.m_is_local = in_range(c.id, 140, 160);
            c.m_network = if in_range(c.id, 170, 180) {
                Network::I2P
            } else if in_range(c.id, 190, 240) {
                Network::Onion
            } else {
                Network::IPv4
            };
        },
        core_figure: "8.8-15.9 us",
    },
];

/// (median, minimum) nanoseconds per call of `op` over several timed batches. The minimum is
/// the better estimate on a busy machine (other processes only ever add time).
fn measure(mut op: impl FnMut()) -> (f64, f64) {
    // Warm up and size a batch to about 20 ms.
    let mut iters: u64 = 1;
    loop {
        let start = Instant::now();
        for _ in 0..iters {
            op();
        }
        if start.elapsed() >= Duration::from_millis(20) {
            break;
        }
        iters *= 2;
    }
    let mut samples: Vec<f64> = (0..11)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..iters {
                op();
            }
            start.elapsed().as_nanos() as f64 / iters as f64
        })
        .collect();
    samples.sort_by(|a, b| a.total_cmp(b));
    (samples[samples.len() / 2], samples[0])
}

fn candidates_for(w: &Workload) -> Vec<NodeEvictionCandidate> {
    // Core's FastRandomContext{true}: a fixed seed.
    let mut rng = ChaCha20Rng::seed_from_u64(0);
    let mut c = get_random_node_eviction_candidates(w.num_candidates, &mut rng);
    for x in c.iter_mut() {
        (w.setup)(x);
    }
    c
}

fn main() {
    println!("ProtectEvictionCandidatesByRatio (Core's bench/peer_eviction.cpp workloads)");
    for w in &WORKLOADS {
        let candidates = candidates_for(w);
        let (median, min) = measure(|| {
            let mut copy = black_box(&candidates).clone();
            protect_eviction_candidates_by_ratio(&mut copy);
            black_box(copy);
        });
        println!(
            "{:<42} {:>3} candidates {:>8.0} ns/op (min {:>6.0})   Core: {}",
            w.name, w.num_candidates, median, min, w.core_figure
        );
    }
    println!("SelectNodeToEvict (whole selection, same candidates; Core has no figure)");
    for w in &WORKLOADS {
        let candidates = candidates_for(w);
        let (median, min) = measure(|| {
            let copy = black_box(&candidates).clone();
            black_box(select_node_to_evict(copy));
        });
        println!(
            "{:<42} {:>3} candidates {:>8.0} ns/op (min {:>6.0})",
            w.name, w.num_candidates, median, min
        );
    }
}
