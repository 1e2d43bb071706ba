//! Helpers of the upper-layer API tests: a recording upper layer, loopback nodes, bounded waits.
#![allow(dead_code)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use node::api::{P2p, P2pConfig, UpperLayer};
use parking_lot::Mutex;
use protocol::Chain;

/// Upper layer that records every payload it is handed.
#[derive(Default)]
pub struct Recorder {
    /// Payloads received, in order.
    pub got: Mutex<Vec<Vec<u8>>>,
    /// Answer of `receive_message`: accept (relay) when false is not set.
    pub reject: AtomicBool,
}

impl Recorder {
    pub fn new() -> Arc<Self> {
        Arc::new(Recorder::default())
    }
    pub fn rejecting() -> Arc<Self> {
        let r = Recorder::default();
        r.reject.store(true, Ordering::SeqCst);
        Arc::new(r)
    }
    /// How many times `payload` was delivered.
    pub fn count(&self, payload: &[u8]) -> usize {
        self.got
            .lock()
            .iter()
            .filter(|p| p.as_slice() == payload)
            .count()
    }
    pub fn total(&self) -> usize {
        self.got.lock().len()
    }
}

impl UpperLayer for Recorder {
    fn receive_message(&self, msg: &[u8], _from: &net::MessageSource) -> bool {
        self.got.lock().push(msg.to_vec());
        !self.reject.load(Ordering::SeqCst)
    }
    /// Payloads starting with `!` are important.
    fn is_message_important(&self, msg: &[u8]) -> bool {
        msg.first() == Some(&b'!')
    }
}

/// A node on 127.0.0.1:<any port>, test mode, databases in memory.
pub fn start(upper: Arc<Recorder>) -> P2p {
    P2p::start(P2pConfig::loopback_test(Chain::LogosRegtest), upper).expect("start")
}

/// `127.0.0.1:<port of p>`.
pub fn addr_of(p: &P2p) -> String {
    format!("127.0.0.1:{}", p.listen_port().expect("listening"))
}

/// Polls `cond` every 20 ms for at most `timeout`.
pub fn wait_until(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + timeout;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= end {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

pub const WAIT: Duration = Duration::from_secs(15);

/// Number of peers of `p` whose handshake completed.
pub fn ready_peers(p: &P2p) -> usize {
    p.peers().iter().filter(|x| x.handshake_complete).count()
}

/// `from` dials `to`; waits until both see the handshaken connection (counts `want_from`,
/// `want_to` ready peers).
pub fn connect(from: &P2p, to: &P2p, want_from: usize, want_to: usize) {
    assert_eq!(from.add_peers(&[addr_of(to)]), 1);
    assert!(
        wait_until(WAIT, || ready_peers(from) >= want_from
            && ready_peers(to) >= want_to),
        "handshake did not complete: {} / {}",
        ready_peers(from),
        ready_peers(to)
    );
}
