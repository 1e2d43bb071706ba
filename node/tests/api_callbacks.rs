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

/// An upper layer whose receive callback panics (a bug in the host's code, run on the layer's
/// "msghand" thread).
struct Panicky;

impl UpperLayer for Panicky {
    fn receive_message(&self, _msg: &[u8], _from: &MessageSource) -> bool {
        panic!("host bug on a payload");
    }
}

/// Hardening (issue 15): a panic in a thread of the layer shuts the layer down instead of
/// leaving a dead thread behind: the panic is logged and reported to the host's UI callback
/// (Core's `AbortNode`: "A fatal internal error occurred, see debug.log for details: …"), the
/// host's shutdown request runs once, and the shutdown that follows completes.
#[test]
fn api_thread_panic_shuts_the_layer_down() {
    let requests = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let errors = Arc::new(Mutex::new(Vec::<String>::new()));
    let mut config = node::api::P2pConfig::loopback_test(protocol::Chain::LogosRegtest);
    {
        let requests = requests.clone();
        config.shutdown_request = Some(Arc::new(move || {
            requests.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }));
        let errors = errors.clone();
        config.ui = Some(Arc::new(move |level, text: &str| {
            if level == node::api::UiLevel::Error {
                errors.lock().push(text.to_string());
            }
        }));
    }
    let b = P2p::start(config, Arc::new(Panicky)).expect("start b");
    let a = start(Recorder::new());
    connect(&b, &a, 1, 1);
    assert!(a.propagate_message(b"boom"));
    assert!(
        wait_until(WAIT, || requests.load(std::sync::atomic::Ordering::SeqCst)
            > 0),
        "no shutdown request after the panic; UI errors: {:?}",
        errors.lock()
    );
    let errors = errors.lock().clone();
    assert!(
        errors.iter().any(|e| e
            .starts_with("A fatal internal error occurred, see debug.log for details: ")
            && e.contains("msghand")
            && e.contains("host bug on a payload")),
        "{errors:?}"
    );
    let t0 = std::time::Instant::now();
    b.shutdown();
    assert!(t0.elapsed() < Duration::from_secs(10));
    assert_eq!(requests.load(std::sync::atomic::Ordering::SeqCst), 1);
    a.shutdown();
}
