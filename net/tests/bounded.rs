//! The node stays bounded under hostile peers (issue: "Bounded under hostile peers"), each case
//! against a real `CConnman` on loopback with scripted raw peers:
//! - relays to a peer that never reads are dropped once its send queue is over
//!   `-maxsendbuffer`, counted per peer, and its queue stays bounded;
//! - ids the upper layer refused go to the recent-rejects set, so a flood of junk cannot push
//!   an accepted id out of the seen-set (the old payload is not delivered again);
//! - the important-message catch-up to a new peer waits while its send queue is full, and a
//!   peer reconnecting from the same address within the window is not sent the store again.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use net::Options;
use protocol::Chain;

/// Bytes queued to `node` (Core's `m_send_memusage` plus the transport's current message).
fn queued(node: &net::CNode) -> usize {
    let st = node.cs_v_send.lock();
    st.m_send_memusage + st.transport.get_send_memory_usage()
}

/// Distinct payloads the flooder sends, and their size.
const FLOOD_N: usize = 400;
const FLOOD_SIZE: usize = 50_000;

/// A node with a 100 kB `-maxsendbuffer` after a peer flooded it with [`FLOOD_N`] distinct
/// payloads while another handshaken peer never read (20 MB: more than its socket buffers and
/// queue take).
struct Flooded {
    a: TestNode,
    up: Arc<Recorder>,
    _flooder: RawPeer,
    _sleeper: RawPeer,
    flooder_id: net::NodeId,
    sleeper: Arc<net::CNode>,
    /// The most bytes queued to the sleeper seen during the flood.
    max_queued: usize,
}

fn flood_a_sleeper() -> Flooded {
    let opts = Options {
        max_send_buffer: 100, // 100 kB
        ..test_options()
    };
    let up = Recorder::accepting();
    let a = start_node_with(Chain::LogosRegtest, opts, up.clone());
    let mut flooder = RawPeer::connect(&a);
    flooder.handshake();
    let mut sleeper = RawPeer::connect(&a);
    sleeper.handshake();
    assert!(wait_until(Duration::from_secs(10), || a
        .connman
        .fully_connected_count()
        == 2));
    let mut nodes = a.connman.nodes_snapshot();
    nodes.sort_by_key(|n| n.get_id());
    let (flooder_id, sleeper_node) = (nodes[0].get_id(), Arc::clone(&nodes[1]));
    let mut max_queued = 0usize;
    for i in 0..FLOOD_N {
        let mut p = vec![(i % 251) as u8; FLOOD_SIZE];
        p[..8].copy_from_slice(&(i as u64).to_le_bytes());
        flooder.send("logos", &p).expect("send");
        max_queued = max_queued.max(queued(&sleeper_node));
    }
    assert!(wait_until(Duration::from_secs(60), || up.count() == FLOOD_N));
    settle();
    max_queued = max_queued.max(queued(&sleeper_node));
    Flooded {
        a,
        up,
        _flooder: flooder,
        _sleeper: sleeper,
        flooder_id,
        sleeper: sleeper_node,
        max_queued,
    }
}

/// A peer that floods 400 distinct 50 kB payloads while another handshaken peer never reads:
/// the reader's queue never grows past -maxsendbuffer plus one payload, and every relay that
/// did not fit is counted as dropped for that peer (not for the flooder).
#[test]
fn relays_to_a_peer_that_never_reads_are_dropped_and_counted() {
    let _g = log_lock();
    // Bound whole: the raw peers stay connected while `f` lives.
    let f = flood_a_sleeper();
    let (a, sleeper_node, max_queued) = (&f.a, &f.sleeper, f.max_queued);
    let stats = a.connman.get_node_stats();
    let sleeper_stats = stats
        .iter()
        .find(|s| s.nodeid == sleeper_node.get_id())
        .expect("sleeper listed");
    let flooder_stats = stats
        .iter()
        .find(|s| s.nodeid != sleeper_node.get_id())
        .expect("flooder listed");
    // Bounded: the buffer, plus the one payload that crossed the limit and its header.
    assert!(
        max_queued <= 100_000 + FLOOD_SIZE + 200,
        "the sleeper's queue reached {max_queued} bytes"
    );
    // 20 MB do not fit in the sleeper's socket buffers and a 100 kB queue.
    assert!(
        sleeper_stats.logos_relay_dropped > (FLOOD_N / 2) as u64,
        "dropped {}",
        sleeper_stats.logos_relay_dropped
    );
    assert_eq!(flooder_stats.logos_relay_dropped, 0);
    let (_, dropped_total) = a.connman.flood_stats();
    assert_eq!(dropped_total, sleeper_stats.logos_relay_dropped);
    // The sleeper is still connected: dropping relays is not a disconnection.
    assert_eq!(a.connman.fully_connected_count(), 2);
    a.connman.stop();
}

/// An accepted payload stays known while 3,000 distinct junk payloads the upper layer refuses
/// arrive (three times the seen-set's bound): sent again, it is not delivered again. Before the
/// recent-rejects set, junk ids entered the seen-set and pushed the accepted one out.
#[test]
fn refused_junk_does_not_push_accepted_ids_out() {
    let _g = log_lock();
    let mut opts = test_options();
    opts.flood.seen_max = 1000;
    opts.flood.rejects_max = 200;
    let up = Arc::new(Recorder {
        got: Default::default(),
        accept: true,
        important_prefix: None,
    });
    // Accept only payloads starting with 'G'.
    struct GoodOnly(Arc<Recorder>);
    impl net::UpperLayer for GoodOnly {
        fn receive_message(&self, msg: &[u8], from: &net::MessageSource) -> bool {
            self.0.receive_message(msg, from);
            msg.first() == Some(&b'G')
        }
    }
    let a = start_node_with(Chain::LogosRegtest, opts, Arc::new(GoodOnly(up.clone())));
    let mut p = RawPeer::connect(&a);
    p.handshake();
    assert!(wait_until(Duration::from_secs(10), || a
        .connman
        .fully_connected_count()
        == 1));
    p.send("logos", b"Good payload").expect("send");
    assert!(wait_until(Duration::from_secs(10), || up.count() == 1));
    for i in 0..3000u32 {
        let mut junk = b"junk ".to_vec();
        junk.extend_from_slice(&i.to_le_bytes());
        p.send("logos", &junk).expect("send");
    }
    assert!(wait_until(Duration::from_secs(60), || up.count() == 3001));
    p.send("logos", b"Good payload").expect("send");
    // A marker after it: once the marker is delivered, the old payload was processed.
    p.send("logos", b"junk marker").expect("send");
    assert!(wait_until(Duration::from_secs(10), || up
        .count_of(b"junk marker")
        == 1));
    assert_eq!(up.count_of(b"Good payload"), 1, "delivered again");
    let (f, _) = a.connman.flood_stats();
    assert_eq!(f.seen_set_size, 1);
    assert_eq!(f.recent_rejects_size, 200);
    assert_eq!(f.delivered, 3002);
    a.connman.stop();
}

/// Forty retained important payloads of 400 kB (16 MB, more than loopback's socket buffers
/// hold): a new peer that does not read is sent only up to its send buffer (the catch-up waits);
/// once it reads, it gets all forty in order. A second
/// connection from the same address within the window gets none of them again, but a new
/// important payload reaches it.
#[test]
fn catchup_waits_for_the_send_buffer_and_is_not_repeated_on_reconnect() {
    let _g = log_lock();
    let opts = Options {
        max_send_buffer: 100, // 100 kB
        ..test_options()
    };
    let up = Arc::new(Recorder {
        got: Default::default(),
        accept: true,
        important_prefix: Some(b'!'),
    });
    let a = start_node_with(Chain::LogosRegtest, opts, up);
    const N: usize = 40;
    const SIZE: usize = 400_000;
    let payload = |i: usize| {
        let mut p = vec![b'!'; SIZE];
        p[1..9].copy_from_slice(&(i as u64).to_le_bytes());
        p
    };
    for i in 0..N {
        // No peer yet: false, but kept as important.
        assert!(!a.connman.propagate_message(&payload(i)));
    }
    assert!(wait_until(Duration::from_secs(10), || a
        .connman
        .flood_stats()
        .0
        .important_count
        == N));
    let mut p1 = RawPeer::connect(&a);
    p1.handshake();
    assert!(wait_until(Duration::from_secs(10), || a
        .connman
        .fully_connected_count()
        == 1));
    // Not reading: the catch-up fills the socket buffers and the queue, then waits.
    std::thread::sleep(Duration::from_millis(500));
    let node = a.connman.nodes_snapshot().pop().expect("p1");
    assert!(
        queued(&node) <= 100_000 + SIZE + 200,
        "queue {} bytes",
        queued(&node)
    );
    let (f, dropped) = a.connman.flood_stats();
    assert!(f.catchup_sent < N as u64, "sent {} at once", f.catchup_sent);
    assert_eq!(dropped, 0, "the catch-up is paced, never dropped");
    // Reading now: all forty, in order.
    let mut got = Vec::new();
    while got.len() < N {
        match p1.recv(Duration::from_secs(20)) {
            Some((cmd, body)) if cmd == "logos" => got.push(body),
            Some(_) => {}
            None => break,
        }
    }
    assert_eq!(got.len(), N);
    assert!(got.iter().enumerate().all(|(i, b)| *b == payload(i)));
    drop(p1);
    assert!(wait_until(Duration::from_secs(10), || a
        .connman
        .nodes_snapshot()
        .is_empty()));
    // Same address again, within the window: nothing old.
    let mut p2 = RawPeer::connect(&a);
    p2.handshake();
    assert!(wait_until(Duration::from_secs(10), || a
        .connman
        .fully_connected_count()
        == 1));
    assert!(a.connman.propagate_message(&payload(N)));
    let mut logos = Vec::new();
    while let Some((cmd, body)) = p2.recv(Duration::from_secs(2)) {
        if cmd == "logos" {
            logos.push(body);
        }
        if logos.len() == 1 {
            break;
        }
    }
    assert_eq!(logos, vec![payload(N)], "only the new payload");
    assert_eq!(a.connman.flood_stats().0.catchup_sent, N as u64);
    a.connman.stop();
}

/// At a peer that never reads, a relay from an origin holding less of the full send queue than
/// another displaces that origin's newest queued relays instead of being dropped: a peer
/// flooding distinct payloads crowds out only itself. The peer manager names each relay's
/// origin (`LogosSend::Relay { origin }`), and the queue accounts its bytes by origin.
#[test]
fn a_flooders_relays_give_way_to_another_origins_at_a_full_queue() {
    let _g = log_lock();
    let f = flood_a_sleeper();
    let (a, up, flooder_id, sleeper_node) = (&f.a, &f.up, f.flooder_id, &f.sleeper);
    let dropped = |a: &TestNode| {
        a.connman
            .get_node_stats()
            .iter()
            .find(|s| s.nodeid == sleeper_node.get_id())
            .expect("sleeper listed")
            .logos_relay_dropped
    };
    let dropped_before = dropped(a);
    // The honest peer comes after the flood (a peer that does not read has its own messages
    // left unprocessed once relays fill its queue, as in Core).
    let mut honest = RawPeer::connect(a);
    honest.handshake();
    assert!(wait_until(Duration::from_secs(10), || a
        .connman
        .fully_connected_count()
        == 3));
    let honest_id = a
        .connman
        .nodes_snapshot()
        .iter()
        .map(|n| n.get_id())
        .max()
        .expect("three nodes");
    {
        let st = sleeper_node.cs_v_send.lock();
        assert!(dropped_before > 0, "the sleeper's queue never filled");
        assert!(
            st.relay_bytes_by_origin
                .get(&flooder_id)
                .copied()
                .unwrap_or(0)
                > 0
        );
        assert_eq!(st.relay_bytes_by_origin.get(&honest_id), None);
    }
    honest.send("logos", &[0xee; FLOOD_SIZE]).expect("send");
    assert!(wait_until(Duration::from_secs(10), || up.count() == FLOOD_N + 1));
    settle();
    let st = sleeper_node.cs_v_send.lock();
    assert!(
        st.relay_bytes_by_origin
            .get(&honest_id)
            .copied()
            .unwrap_or(0)
            >= FLOOD_SIZE,
        "the honest origin's relay was dropped: {:?}",
        st.relay_bytes_by_origin
    );
    drop(st);
    assert!(
        dropped(a) > dropped_before,
        "a flooder relay was displaced (counted as dropped)"
    );
    a.connman.stop();
}
