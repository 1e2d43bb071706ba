//! The upper layer's verdicts through the Rust API, over loopback (issue 14 items 4 and 5):
//! `verify_message` answering Accept, Pending (offered again once the dependency is accepted,
//! accepted once), Reject (an inbound sender disconnected, a manual peer spared); a late
//! `FinalVerdict::Invalid` stopping the catch-up of an important payload. The 2019 bool
//! callback (`receive_message`) is what the other API tests use.

mod api_common;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use api_common::*;
use node::api::{FinalVerdict, MessageSource, P2p, P2pConfig, UpperLayer, Verdict};
use parking_lot::Mutex;
use protocol::{Chain, NetworkParams};

/// One call of the verifying callback: payload, the id it was given, the verdict.
type Call = (Vec<u8>, [u8; 32], Verdict);

/// An upper layer that checks quickly: `child` waits for `!parent`, `bad` is invalid, the
/// rest is valid; `!`-prefixed payloads are important.
struct Verifier {
    parent: [u8; 32],
    accepted: Mutex<HashSet<[u8; 32]>>,
    /// Every call: payload, the id it was given, the verdict.
    got: Mutex<Vec<Call>>,
}

impl Verifier {
    fn new() -> Arc<Self> {
        let hk = NetworkParams::get(Chain::LogosRegtest).hash_kind;
        Arc::new(Verifier {
            parent: hk.hash(b"!parent"),
            accepted: Mutex::new(HashSet::new()),
            got: Mutex::new(Vec::new()),
        })
    }

    fn verdicts(&self, payload: &[u8]) -> Vec<Verdict> {
        self.got
            .lock()
            .iter()
            .filter(|(p, _, _)| p == payload)
            .map(|(_, _, v)| v.clone())
            .collect()
    }
}

impl UpperLayer for Verifier {
    fn verify_message(&self, msg: &[u8], id: &[u8; 32], _from: &MessageSource) -> Verdict {
        let v = if msg == b"bad" {
            Verdict::Reject
        } else if msg == b"child" && !self.accepted.lock().contains(&self.parent) {
            Verdict::Pending(vec![self.parent])
        } else {
            self.accepted.lock().insert(*id);
            Verdict::Accept
        };
        self.got.lock().push((msg.to_vec(), *id, v.clone()));
        v
    }
    fn is_message_important(&self, msg: &[u8]) -> bool {
        msg.first() == Some(&b'!')
    }
}

fn start_verifier(v: Arc<Verifier>) -> P2p {
    P2p::start(P2pConfig::loopback_test(Chain::LogosRegtest), v).expect("start")
}

/// A - B - C, B verifying: a payload sent before its dependency waits at B, is offered again
/// once the dependency is accepted, and reaches C after it, each once.
#[test]
fn api_pending_payload_is_offered_again_and_relayed_once() {
    let (ra, rc) = (Recorder::new(), Recorder::new());
    let vb = Verifier::new();
    let (a, b, c) = (start(ra), start_verifier(vb.clone()), start(rc.clone()));
    connect(&b, &a, 1, 1);
    connect(&c, &b, 1, 2);
    assert!(wait_until(WAIT, || a.propagate_message(b"child")));
    assert!(wait_until(WAIT, || vb.verdicts(b"child").len() == 1));
    assert_eq!(
        vb.verdicts(b"child"),
        vec![Verdict::Pending(vec![vb.parent])]
    );
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(rc.total(), 0, "nothing relayed while it waits");
    assert!(a.propagate_message(b"!parent"));
    assert!(wait_until(WAIT, || rc.count(b"child") == 1));
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        vb.verdicts(b"child"),
        vec![Verdict::Pending(vec![vb.parent]), Verdict::Accept]
    );
    assert_eq!(vb.verdicts(b"!parent"), vec![Verdict::Accept]);
    // C got the dependency first, then the payload, once each.
    assert_eq!(*rc.got.lock(), vec![b"!parent".to_vec(), b"child".to_vec()]);
    // The id handed to the callback is the payload's id.
    let given = vb.got.lock()[1].1;
    assert_eq!(b.message_id(b"!parent"), Some(given));
}

/// A late Invalid: the important payload is no longer handed to a peer catching up, while
/// another one still is; nobody is disconnected for it.
#[test]
fn api_late_invalid_stops_the_catch_up() {
    let ra = Recorder::new();
    let vb = Verifier::new();
    let (a, b) = (start(ra), start_verifier(vb.clone()));
    connect(&b, &a, 1, 1);
    assert!(wait_until(WAIT, || a.propagate_message(b"!parent")));
    assert!(a.propagate_message(b"!other"));
    assert!(wait_until(WAIT, || vb.got.lock().len() == 2));
    let id = b.message_id(b"!parent").expect("running");
    assert!(b.final_verdict(&id, FinalVerdict::Invalid));
    // Applied on the message handler's next pass.
    std::thread::sleep(Duration::from_millis(300));
    let rd = Recorder::new();
    let d = start(rd.clone());
    connect(&d, &b, 1, 2);
    assert!(wait_until(WAIT, || rd.count(b"!other") == 1));
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(rd.count(b"!parent"), 0);
    assert_eq!(ready_peers(&b), 2, "nobody punished");
    b.shutdown();
    assert!(!b.final_verdict(&id, FinalVerdict::Valid), "shut down");
}

/// Reject from a manual peer: not punished; a later copy of the refused payload from another
/// peer is dropped unjudged, without a penalty.
#[test]
fn api_reject_spares_a_manual_peer_and_a_refused_copy_is_not_judged_again() {
    let vb = Verifier::new();
    let (a, b) = (start(Recorder::new()), start_verifier(vb.clone()));
    // B dials A: a manual connection (add_peers).
    connect(&b, &a, 1, 1);
    assert!(wait_until(WAIT, || a.propagate_message(b"bad")));
    assert!(wait_until(WAIT, || vb.verdicts(b"bad").len() == 1));
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(ready_peers(&b), 1, "the manual peer is not punished");

    // F dials B: inbound at B.
    let f = start(Recorder::new());
    connect(&f, &b, 1, 2);
    assert!(wait_until(WAIT, || f.propagate_message(b"bad again")));
    std::thread::sleep(Duration::from_millis(300));
    let vbad = vb.verdicts(b"bad again");
    assert_eq!(vbad, vec![Verdict::Accept], "not on the bad list");
    let before = ready_peers(&b);
    assert_eq!(before, 2);
    assert!(f.propagate_message(b"bad"));
    // B refused `bad` already (remembered): the copy from F is dropped unjudged, no penalty.
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(vb.verdicts(b"bad").len(), 1);
    assert_eq!(ready_peers(&b), 2);
}

/// Reject from an inbound peer: disconnected (not discouraged: it is on loopback, local).
#[test]
fn api_reject_disconnects_an_inbound_sender() {
    let ve = Verifier::new();
    let e = start_verifier(ve.clone());
    let f = start(Recorder::new());
    connect(&f, &e, 1, 1);
    let first = e.peers()[0].id;
    assert!(wait_until(WAIT, || f.propagate_message(b"bad")));
    assert!(wait_until(WAIT, || ve.verdicts(b"bad").len() == 1));
    // F added E as a manual peer and dials it again at once; the connection that sent the
    // payload is the one that must go.
    assert!(
        wait_until(WAIT, || e.peers().iter().all(|p| p.id != first)),
        "the inbound sender is disconnected"
    );
}
