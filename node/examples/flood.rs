//! Flooding a message between three nodes on loopback through the Rust upper-layer API.
//!
//! Run: `cargo run -p node --example flood`
//!
//! Nodes B and C connect to A (ports picked by the system, test mode: nothing outside loopback
//! is ever dialled); A floods a message and an important one; B and C print what they receive;
//! then D joins late and receives only the important message.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use node::api::{P2p, P2pConfig, UpperLayer};
use protocol::Chain;

/// The upper layer of one node: prints and counts what arrives.
struct Printer {
    name: &'static str,
    received: AtomicUsize,
    quiet: bool,
}

impl UpperLayer for Printer {
    fn receive_message(&self, msg: &[u8], _from: &net::MessageSource) -> bool {
        self.received.fetch_add(1, Ordering::SeqCst);
        if !self.quiet {
            println!("{} received: {}", self.name, String::from_utf8_lossy(msg));
        }
        true
    }
    fn is_message_important(&self, msg: &[u8]) -> bool {
        msg.starts_with(b"important:")
    }
}

fn wait_until(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + timeout;
    while !cond() {
        if Instant::now() > end {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    true
}

fn ready(p: &P2p) -> usize {
    p.peers().iter().filter(|x| x.handshake_complete).count()
}

/// Deliveries seen by B, C and the late D.
#[derive(Debug, PartialEq, Eq)]
pub struct Summary {
    /// Messages B received.
    pub b: usize,
    /// Messages C received.
    pub c: usize,
    /// Messages D (joined after the flood) received.
    pub d: usize,
}

/// Runs the example; `quiet` leaves out the per-message lines.
pub fn run(quiet: bool) -> Result<Summary, String> {
    let printer = |name| {
        Arc::new(Printer {
            name,
            received: AtomicUsize::new(0),
            quiet,
        })
    };
    let (pa, pb, pc, pd) = (printer("A"), printer("B"), printer("C"), printer("D"));
    let start = |p: &Arc<Printer>| {
        P2p::start(P2pConfig::loopback_test(Chain::LogosRegtest), p.clone())
            .map_err(|e| e.to_string())
    };
    let (a, b, c) = (start(&pa)?, start(&pb)?, start(&pc)?);
    let addr_a = format!("127.0.0.1:{}", a.listen_port().ok_or("A does not listen")?);
    println!("A listens on {addr_a}");
    b.add_peers(std::slice::from_ref(&addr_a));
    c.add_peers(std::slice::from_ref(&addr_a));
    if !wait_until(Duration::from_secs(15), || ready(&a) == 2) {
        return Err("B and C did not connect to A".into());
    }
    let t = Instant::now();
    a.propagate_message(b"hello from A");
    a.propagate_message(b"important: A is online");
    let delivered = || pb.received.load(Ordering::SeqCst) + pc.received.load(Ordering::SeqCst);
    if !wait_until(Duration::from_secs(15), || delivered() == 4) {
        return Err(format!("only {} of 4 deliveries", delivered()));
    }
    println!("4 deliveries in {:?}", t.elapsed());

    let d = start(&pd)?;
    d.add_peers(&[addr_a]);
    if !wait_until(Duration::from_secs(15), || {
        pd.received.load(Ordering::SeqCst) == 1
    }) {
        return Err("the late peer D did not get the important message".into());
    }
    std::thread::sleep(Duration::from_millis(300));
    for (name, p) in [("A", &a), ("D", &d)] {
        for peer in p.peers() {
            println!(
                "{name} peer {} {} sent={} received={}",
                peer.address, peer.connection_type, peer.bytes_sent, peer.bytes_received
            );
        }
    }
    for p in [&a, &b, &c, &d] {
        p.shutdown();
    }
    Ok(Summary {
        b: pb.received.load(Ordering::SeqCst),
        c: pc.received.load(Ordering::SeqCst),
        d: pd.received.load(Ordering::SeqCst),
    })
}

#[allow(dead_code)]
fn main() {
    match run(false) {
        Ok(s) => println!("done: B got {}, C got {}, late D got {}", s.b, s.c, s.d),
        Err(e) => {
            eprintln!("flood example failed: {e}");
            std::process::exit(1);
        }
    }
}
