//! The `logos` flood over real loopback networks of nodes.
mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use protocol::Chain;

fn net_of(n: usize, upper: impl Fn(usize) -> Arc<Recorder>) -> (Vec<TestNode>, Vec<Arc<Recorder>>) {
    let mut nodes = Vec::new();
    let mut uppers = Vec::new();
    for i in 0..n {
        let u = upper(i);
        nodes.push(start_node(Chain::LogosRegtest, u.clone()));
        uppers.push(u);
    }
    (nodes, uppers)
}

/// A line of 3 nodes: a message propagated at one end reaches the other two exactly once.
#[test]
fn line_of_three_delivers_exactly_once() {
    let (nodes, up) = net_of(3, |_| Recorder::accepting());
    assert!(connect(&nodes[1], &nodes[0]));
    assert!(connect(&nodes[2], &nodes[1]));
    let msg = b"hello logos".to_vec();
    assert!(nodes[0].connman.propagate_message(&msg));
    assert!(wait_until(Duration::from_secs(10), || up[1].count_of(&msg)
        == 1
        && up[2].count_of(&msg) == 1));
    settle();
    assert_eq!(
        up[0].count_of(&msg),
        0,
        "the origin's callback is not called"
    );
    assert_eq!(up[1].count_of(&msg), 1);
    assert_eq!(up[2].count_of(&msg), 1);
    // Propagating the same payload again is deduplicated downstream.
    assert!(nodes[0].connman.propagate_message(&msg));
    settle();
    assert_eq!(up[1].count_of(&msg), 1);
    assert_eq!(up[2].count_of(&msg), 1);
}

/// A callback returning false stops the flood at that node.
#[test]
fn rejecting_callback_stops_relay() {
    let (nodes, up) = net_of(3, |i| {
        if i == 1 {
            Recorder::rejecting()
        } else {
            Recorder::accepting()
        }
    });
    assert!(connect(&nodes[1], &nodes[0]));
    assert!(connect(&nodes[2], &nodes[1]));
    let msg = b"bad payload".to_vec();
    assert!(nodes[0].connman.propagate_message(&msg));
    assert!(wait_until(Duration::from_secs(10), || up[1].count_of(&msg) == 1));
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(up[2].count_of(&msg), 0, "rejected payload was relayed");
}

/// Propagating with no connected peer returns false.
#[test]
fn propagate_without_peers_is_false() {
    let a = start_node(Chain::LogosRegtest, Recorder::accepting());
    assert!(!a.connman.propagate_message(b"nobody listens"));
    // Too large for a message: refused as well.
    let b = start_node(Chain::LogosRegtest, Recorder::accepting());
    assert!(connect(&b, &a));
    assert!(!a.connman.propagate_message(&vec![0u8; 4_000_001]));
}

/// A 4 MB payload (the protocol maximum) arrives intact.
#[test]
fn four_megabyte_payload_arrives_intact() {
    let (nodes, up) = net_of(2, |_| Recorder::accepting());
    assert!(connect(&nodes[1], &nodes[0]));
    let msg: Vec<u8> = (0..4_000_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    assert!(nodes[0].connman.propagate_message(&msg));
    assert!(wait_until(Duration::from_secs(20), || up[1].count() == 1));
    assert_eq!(up[1].count_of(&msg), 1);
}

/// Important payloads also reach a peer that connects later, once.
#[test]
fn important_payload_reaches_late_peer_once() {
    let mk = || {
        Arc::new(Recorder {
            got: std::sync::Mutex::new(Vec::new()),
            accept: true,
            important_prefix: Some(0xee),
        })
    };
    let (nodes, up) = net_of(3, |_| mk());
    assert!(connect(&nodes[1], &nodes[0]));
    let imp = vec![0xee, 1, 2, 3];
    let plain = vec![0x01, 1, 2, 3];
    assert!(nodes[0].connman.propagate_message(&imp));
    assert!(nodes[0].connman.propagate_message(&plain));
    assert!(wait_until(Duration::from_secs(10), || up[1].count() == 2));
    // Node 2 connects later, to node 0.
    assert!(connect(&nodes[2], &nodes[0]));
    assert!(wait_until(Duration::from_secs(10), || up[2].count_of(&imp) == 1));
    settle();
    assert_eq!(up[2].count_of(&imp), 1);
    assert_eq!(
        up[2].count_of(&plain),
        0,
        "a regular payload went to a later peer"
    );
}

/// A random 20-node graph, each node with at least 3 links: every other node's callback
/// sees the message exactly once.
#[test]
fn random_graph_of_twenty_delivers_exactly_once() {
    let n = 20;
    let (nodes, up) = net_of(n, |_| Recorder::accepting());
    // Deterministic pseudo-random graph: a ring (2 links each) plus chords until every node
    // has at least 3 links.
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut edges: Vec<(usize, usize)> = (0..n).map(|i| (i, (i + 1) % n)).collect();
    let mut degree = vec![2usize; n];
    let mut guard = 0;
    while degree.iter().any(|&d| d < 3) && guard < 10_000 {
        guard += 1;
        let a = (next() % n as u64) as usize;
        let b = (next() % n as u64) as usize;
        if a == b
            || edges
                .iter()
                .any(|&(x, y)| (x, y) == (a, b) || (x, y) == (b, a))
        {
            continue;
        }
        if degree[a] >= 3 && degree[b] >= 3 {
            continue;
        }
        edges.push((a, b));
        degree[a] += 1;
        degree[b] += 1;
    }
    assert!(degree.iter().all(|&d| d >= 3));
    for &(a, b) in &edges {
        assert!(connect(&nodes[a], &nodes[b]), "link {a}-{b}");
    }
    for (round, origin) in [0usize, 7, 13].into_iter().enumerate() {
        let msg = format!("graph message {round}").into_bytes();
        assert!(nodes[origin].connman.propagate_message(&msg));
        let ok = wait_until(Duration::from_secs(15), || {
            (0..n).all(|i| i == origin || up[i].count_of(&msg) == 1)
        });
        assert!(ok, "message {round} did not reach everyone");
        settle();
        for (i, u) in up.iter().enumerate() {
            let want = usize::from(i != origin);
            assert_eq!(u.count_of(&msg), want, "node {i} round {round}");
        }
    }
}
