//! Upper-layer callbacks run outside the layer's locks, on the message-handler thread, and know
//! who sent the payload: a receive callback that lists the peers, floods a reply and bans an
//! address returns (the layer does not deadlock on itself), and the sender it is told about is
//! the peer the payload came from.

mod api_common;

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use api_common::*;
use node::api::{MessageSource, P2p, UpperLayer};
use parking_lot::Mutex;

/// What one call of the receive callback saw: the payload, the sender, the peers it listed from
/// inside the callback, and its thread's name.
type Seen = (Vec<u8>, MessageSource, Vec<i64>, String);

/// An upper layer that calls back into its own layer from inside `receive_message`.
#[derive(Default)]
struct Reentrant {
    me: OnceLock<Arc<P2p>>,
    seen: Mutex<Vec<Seen>>,
    important_threads: Mutex<Vec<String>>,
}

impl UpperLayer for Reentrant {
    fn receive_message(&self, msg: &[u8], from: &MessageSource) -> bool {
        let Some(me) = self.me.get() else {
            return true;
        };
        // Each of these takes locks the message handler held around the callback before the
        // rewrite (the peer's state, the node list): they must not block here.
        let listed: Vec<i64> = me.get_peers(0, 100).0.iter().map(|p| p.id).collect();
        let _ = me.peers();
        if msg == b"ping from a" {
            assert!(me.propagate_message(b"reply from b"));
        }
        assert!(me.add_to_blacklist("10.9.9.9"));
        let thread = std::thread::current().name().unwrap_or("").to_string();
        self.seen.lock().push((msg.to_vec(), *from, listed, thread));
        true
    }

    fn is_message_important(&self, _msg: &[u8]) -> bool {
        let thread = std::thread::current().name().unwrap_or("").to_string();
        self.important_threads.lock().push(thread);
        false
    }
}

/// Three nodes B - A - C. A floods; B's callback lists its peers, floods a reply and bans an
/// address from inside the callback. Everything finishes: B got A's payload from A (the sender
/// it is told about is A's connection), C got both A's payload and B's reply once, and every
/// callback ran on B's "msghand" thread, `is_message_important` too (for the received payload
/// and for B's own reply).
#[test]
fn api_callback_may_call_back_into_the_layer() {
    let rb = Arc::new(Reentrant::default());
    let (ra, rc) = (Recorder::new(), Recorder::new());
    let a = start(ra.clone());
    let b = Arc::new(
        P2p::start(
            node::api::P2pConfig::loopback_test(protocol::Chain::LogosRegtest),
            rb.clone(),
        )
        .expect("start b"),
    );
    assert!(rb.me.set(Arc::clone(&b)).is_ok());
    let c = start(rc.clone());
    connect(&b, &a, 1, 1);
    connect(&c, &a, 1, 2);

    assert!(a.propagate_message(b"ping from a"));
    assert!(
        wait_until(WAIT, || rc.count(b"reply from b") == 1
            && rc.count(b"ping from a") == 1),
        "the callback blocked or the reply was lost: c got {:?}",
        rc.got.lock().len()
    );
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(rc.count(b"ping from a"), 1);
    assert_eq!(rc.count(b"reply from b"), 1);
    assert_eq!(ra.count(b"reply from b"), 1);

    let seen = rb.seen.lock().clone();
    assert_eq!(seen.len(), 1, "B's callback ran once: {seen:?}");
    let (payload, from, listed, thread) = &seen[0];
    assert_eq!(payload.as_slice(), b"ping from a");
    assert_eq!(thread, "msghand");
    // The sender is B's connection to A: an id B lists, at A's address.
    let b_peers = b.peers();
    assert_eq!(listed, &b_peers.iter().map(|p| p.id).collect::<Vec<_>>());
    let to_a = b_peers
        .iter()
        .find(|p| p.id == from.id)
        .expect("sender listed");
    assert_eq!(to_a.address, from.addr.to_string_addr_port());
    assert_eq!(to_a.address, addr_of(&a));
    assert!(b.is_blacklisted("10.9.9.9"));
    let threads = rb.important_threads.lock().clone();
    assert_eq!(threads.len(), 2, "{threads:?}");
    assert!(threads.iter().all(|t| t == "msghand"), "{threads:?}");

    b.shutdown();
    a.shutdown();
    c.shutdown();
}
