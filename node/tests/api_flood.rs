//! The `logos` flood through the upper-layer API (DESIGN.md "The logos command"), over loopback:
//! each payload delivered once per node, relayed only after the callback accepts it, `false`
//! from `propagate_message` only without peers, important payloads reaching late peers.

mod api_common;

use std::time::Duration;

use api_common::*;

/// Two nodes: a flooded payload reaches the other node's callback exactly once and never comes
/// back to the sender.
#[test]
fn api_two_nodes_propagate_once() {
    let (ra, rb) = (Recorder::new(), Recorder::new());
    let a = start(ra.clone());
    let b = start(rb.clone());
    connect(&b, &a, 1, 1);
    assert!(a.propagate_message(b"hello logos"));
    assert!(wait_until(WAIT, || rb.count(b"hello logos") == 1));
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(rb.count(b"hello logos"), 1);
    assert_eq!(
        ra.total(),
        0,
        "the sender's callback never fires for its own payload"
    );
    // The same payload again is not sent a second time to the same callback.
    a.propagate_message(b"hello logos");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(rb.count(b"hello logos"), 1);
    a.shutdown();
    b.shutdown();
}

/// Three nodes in a line A - B - C: a payload from A reaches B and C once each (relayed by B);
/// a payload from C reaches A and B once each.
#[test]
fn api_three_nodes_relay_once_each() {
    let (ra, rb, rc) = (Recorder::new(), Recorder::new(), Recorder::new());
    let (a, b, c) = (start(ra.clone()), start(rb.clone()), start(rc.clone()));
    connect(&b, &a, 1, 1);
    connect(&b, &c, 2, 1);
    assert!(a.propagate_message(b"from a"));
    assert!(wait_until(WAIT, || rb.count(b"from a") == 1
        && rc.count(b"from a") == 1));
    assert!(c.propagate_message(b"from c"));
    assert!(wait_until(WAIT, || ra.count(b"from c") == 1
        && rb.count(b"from c") == 1));
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!((rb.count(b"from a"), rc.count(b"from a")), (1, 1));
    assert_eq!((ra.count(b"from c"), rb.count(b"from c")), (1, 1));
    assert_eq!(ra.count(b"from a") + rc.count(b"from c"), 0);
}

/// `false` from the callback stops the relay: in A - B - C with B rejecting, C never sees A's
/// payload.
#[test]
fn api_rejecting_callback_stops_relay() {
    let (ra, rb, rc) = (Recorder::new(), Recorder::rejecting(), Recorder::new());
    let (a, b, c) = (start(ra), start(rb.clone()), start(rc.clone()));
    connect(&b, &a, 1, 1);
    connect(&b, &c, 2, 1);
    assert!(a.propagate_message(b"bad payload"));
    assert!(wait_until(WAIT, || rb.count(b"bad payload") == 1));
    std::thread::sleep(Duration::from_millis(800));
    assert_eq!(rc.count(b"bad payload"), 0);
    assert_eq!(rb.count(b"bad payload"), 1);
}

/// No connected peer: `propagate_message` returns false (and true once a peer is there).
#[test]
fn api_propagate_without_peers_is_false() {
    let ra = Recorder::new();
    let a = start(ra);
    assert!(!a.propagate_message(b"nobody listens"));
    let b = start(Recorder::new());
    connect(&b, &a, 1, 1);
    assert!(a.propagate_message(b"somebody listens"));
    a.shutdown();
    assert!(!a.propagate_message(b"after shutdown"));
}

/// An important payload is retained and sent once to a peer that connects later; a regular
/// one is not.
#[test]
fn api_important_message_reaches_late_peer_once() {
    let (ra, rb, rc) = (Recorder::new(), Recorder::new(), Recorder::new());
    let a = start(ra);
    let b = start(rb.clone());
    connect(&b, &a, 1, 1);
    assert!(a.propagate_message(b"!important"));
    assert!(a.propagate_message(b"regular"));
    assert!(wait_until(WAIT, || rb.count(b"!important") == 1
        && rb.count(b"regular") == 1));
    let c = start(rc.clone());
    connect(&c, &a, 1, 2);
    assert!(wait_until(WAIT, || rc.count(b"!important") == 1));
    std::thread::sleep(Duration::from_millis(800));
    assert_eq!(rc.count(b"!important"), 1, "delivered once");
    assert_eq!(
        rc.count(b"regular"),
        0,
        "regular payloads only reach peers connected then"
    );
    assert_eq!(rb.count(b"!important"), 1, "B is not sent it again");
}

/// An important payload flooded while no peer is connected: `propagate_message` is false, yet
/// the payload is kept; retention is bounded by count and by bytes, oldest dropped first.
#[test]
fn api_important_retention_is_bounded() {
    use node::api::{P2p, P2pConfig};
    use protocol::Chain;
    // Count bound: 2 of 3 kept.
    let mut cfg = P2pConfig::loopback_test(Chain::LogosRegtest);
    cfg.net.flood.important_max_count = 2;
    let a = P2p::start(cfg, Recorder::new()).unwrap();
    for m in [&b"!one"[..], b"!two", b"!three"] {
        assert!(!a.propagate_message(m), "no peer connected");
    }
    let rb = Recorder::new();
    let b = start(rb.clone());
    connect(&b, &a, 1, 1);
    assert!(wait_until(WAIT, || rb.total() == 2));
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        (rb.count(b"!one"), rb.count(b"!two"), rb.count(b"!three")),
        (0, 1, 1)
    );

    // Byte bound: 10 bytes hold one 6-byte payload; a payload over the bound is not kept.
    let mut cfg = P2pConfig::loopback_test(Chain::LogosRegtest);
    cfg.net.flood.important_max_bytes = 10;
    let c = P2p::start(cfg, Recorder::new()).unwrap();
    for m in [&b"!aaaaa"[..], b"!bbbbb", b"!this one is too long"] {
        assert!(!c.propagate_message(m));
    }
    let rd = Recorder::new();
    let d = start(rd.clone());
    connect(&d, &c, 1, 1);
    assert!(wait_until(WAIT, || rd.total() == 1));
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(rd.got.lock().clone(), vec![b"!bbbbb".to_vec()]);
}

/// The handle can be shared between threads (the Logos node calls it from several).
#[test]
fn api_handle_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<node::api::P2p>();
    let a = std::sync::Arc::new(start(Recorder::new()));
    let t = {
        let a = a.clone();
        std::thread::spawn(move || a.propagate_message(b"from another thread"))
    };
    assert!(!t.join().unwrap());
}
