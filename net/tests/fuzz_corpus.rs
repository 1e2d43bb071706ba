//! The committed corpus of each fuzz target of this crate (`fuzz/corpus/<target>/`) replayed
//! through the target on stable, as CI runs it (see `protocol::fuzz`), and the regressions the
//! targets found.

#[path = "support/vnet.rs"]
mod vnet;

use net::connection_type::ConnectionType;
use net::fuzz::{peerman, relay_scheduler, v1_transport};
use net::peerman::announce_consts::{own_inbound_delay, REQUEST_TIMEOUT_BASE};
use protocol::fuzz::replay_corpus;
use protocol::message::net_msg_type as t;
use protocol::Chain;
use vnet::VNet;

#[test]
fn v1_transport_corpus() {
    assert!(replay_corpus("v1_transport", v1_transport) > 0);
}

#[test]
fn peerman_corpus() {
    assert!(replay_corpus("peerman", peerman) > 0);
}

#[test]
fn relay_scheduler_corpus() {
    assert!(replay_corpus("relay_scheduler", relay_scheduler) > 0);
}

/// Found by `peerman`: an inbound peer announces a payload (the fetcher's deadline is set for
/// when it may be asked) and disconnects. The deadline outlived it: the peer manager had no peer
/// and still a deadline, and a peer that left while asked for a payload kept the other
/// announcers of it waiting for its request's timeout.
#[test]
fn peerman_regression_fetch_deadline_outlives_announcer() {
    peerman(include_bytes!(
        "../../fuzz/regressions/peerman/fetch-deadline-outlives-announcer"
    ));
}

/// Found by `peerman`: the fetcher's deadline passed and `due_peers` visited the first
/// announcer, forgetting the later deadline that peer had of its own while it stayed in the
/// timer table; when the peer left, its deadline stayed behind (a deadline with no peer, and
/// the message handler woken for a peer that is gone).
#[test]
fn peerman_regression_fetch_visit_leaves_timer() {
    peerman(include_bytes!(
        "../../fuzz/regressions/peerman/fetch-visit-leaves-timer"
    ));
}

/// Found by `peerman` (with the indexed fetcher, and on the code before it): the fetcher's
/// deadline came, and the peer `due_peers` visited for it was an addr-fetch connection past its
/// time, which `send_messages` disconnected and left before the fetcher's pass: the deadline was
/// spent, no pass ran, and an announcement ready since long stayed unrequested with no deadline.
/// The pass now runs in `send_messages` whatever the visited peer's state.
#[test]
fn peerman_regression_fetch_pass_skipped_by_a_departing_peer() {
    peerman(include_bytes!(
        "../../fuzz/regressions/peerman/fetch-pass-skipped-by-a-departing-peer"
    ));
}

/// The first bug seen from the network: R asks A for a payload that B announced too (B's
/// announcement is held back while A's request is in flight); A disconnects. B is asked at once,
/// not when A's request would have timed out.
#[test]
fn announcer_that_leaves_is_replaced_at_once() {
    let mut net = VNet::new(Chain::LogosRegtest, 7);
    let mut add = |last: u8| {
        let mut spec = net.spec(vnet::v4(11, 0, last, 1, 14498));
        spec.opts.announce.enabled = true;
        net.add(spec)
    };
    let (a, b, r) = (add(1), add(2), add(3));
    let ra = net.connect(r, a, ConnectionType::OutboundFullRelay);
    let rb = net.connect(r, b, ConnectionType::OutboundFullRelay);
    net.links[rb].latency = 60_000;
    net.settle();
    net.nodes[a].mute.push(t::LOGOS);
    let payload = vec![3u8; 5000];
    net.propagate(a, &payload, false);
    net.propagate(b, &payload, false);
    // R is inbound at A and B: they announce their own payload after a delay. A's announcement
    // arrives first and is asked for; B's is held back behind it.
    net.run_for(own_inbound_delay(payload.len()) + 150_000);
    let asked = |net: &VNet, n: usize| {
        net.received_by(n)
            .iter()
            .filter(|x| x.1 == t::GETLOGOS)
            .count()
    };
    assert_eq!((asked(&net, a), asked(&net, b)), (1, 0));
    let left = net.now();
    net.close(ra);
    net.run_for(REQUEST_TIMEOUT_BASE / 2);
    assert_eq!(asked(&net, b), 1, "B asked once A left");
    assert_eq!(net.nodes[r].delivered, vec![payload]);
    let got = net
        .received_by(r)
        .into_iter()
        .find(|x| x.1 == t::LOGOS)
        .map(|x| x.0)
        .expect("the payload arrived");
    assert!(
        got - left <= 2 * 60_000 + 1_000,
        "B was asked when A left, not at A's timeout ({} µs later)",
        got - left
    );
}
