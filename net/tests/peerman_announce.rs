//! The Stage 2 relay between peer managers in virtual time (support/vnet.rs): negotiation
//! before `verack`, announce → request → send, one copy per node, the flood kept towards
//! peers that did not negotiate, small payloads pushed, a silent announcer replaced after the
//! request timeout, and nothing new on Bitcoin networks.

#[path = "support/vnet.rs"]
mod vnet;

use net::connection_type::ConnectionType;
use net::disconnect::DisconnectReason;
use net::peerman::announce_consts::REQUEST_TIMEOUT_BASE;
use protocol::message::net_msg_type as t;
use protocol::relay::SendAnnounce;
use protocol::{Chain, NetworkMessage};
use vnet::*;

const PORT: u16 = 14497;

fn node(net: &mut VNet, last: u8, announce: bool) -> usize {
    let mut spec = net.spec(v4(11, 0, last, 1, PORT));
    spec.opts.announce.enabled = announce;
    net.add(spec)
}

fn count(net: &VNet, n: usize, m_type: &str) -> usize {
    net.received_by(n)
        .iter()
        .filter(|(_, t, _, _)| t == m_type)
        .count()
}

/// A dials B, C dials B, all three announce: A's payload reaches B and C once each, each
/// time as announce → getlogos → logos.
#[test]
fn announce_request_send_one_copy_per_node() {
    let mut net = VNet::new(Chain::LogosRegtest, 3);
    let (a, b, c) = (
        node(&mut net, 1, true),
        node(&mut net, 2, true),
        node(&mut net, 3, true),
    );
    let ab = net.connect(a, b, ConnectionType::OutboundFullRelay);
    let cb = net.connect(c, b, ConnectionType::OutboundFullRelay);
    net.settle();
    // Negotiated before verack, both ways.
    for (link, end) in [(ab, 0), (ab, 1), (cb, 0), (cb, 1)] {
        let types: Vec<String> = net.received(link, end).into_iter().map(|r| r.1).collect();
        let sa = types
            .iter()
            .position(|x| x == t::SENDANNOUNCE)
            .expect("sendannounce");
        let va = types.iter().position(|x| x == t::VERACK).expect("verack");
        assert!(
            sa < va,
            "sendannounce after verack on link {link} end {end}: {types:?}"
        );
    }
    let payload = vec![0x5a; 1000];
    net.propagate(a, &payload, false);
    // Inbound announcers are asked after INBOUND_DELAY: run past it.
    net.run_for(1_000_000);
    for n in [b, c] {
        assert_eq!(net.nodes[n].delivered, vec![payload.clone()], "node {n}");
        assert_eq!(count(&net, n, t::LOGOS), 1, "node {n}: one full copy");
        assert_eq!(count(&net, n, t::ANNOUNCE), 1, "node {n}: one announcement");
    }
    // B asked A, C asked B; A sent the payload once, to B only.
    assert_eq!(count(&net, a, t::GETLOGOS), 1);
    assert_eq!(count(&net, b, t::GETLOGOS), 1);
    assert_eq!(
        count(&net, a, t::LOGOS),
        0,
        "nobody sends A its own payload back"
    );
}

/// A peer that did not negotiate (an old, flood-only node) still gets the payload pushed, and
/// never sees the new messages.
#[test]
fn flood_only_peer_gets_the_push() {
    let mut net = VNet::new(Chain::LogosRegtest, 4);
    let (a, old) = (node(&mut net, 1, true), node(&mut net, 2, false));
    net.connect(a, old, ConnectionType::OutboundFullRelay);
    net.settle();
    net.propagate(a, &[7u8; 2000], false);
    net.run_for(1_000_000);
    assert_eq!(net.nodes[old].delivered.len(), 1);
    assert_eq!(count(&net, old, t::LOGOS), 1);
    // It was offered announcements (and ignored the offer, an unknown message to it) but
    // is never sent one.
    assert_eq!(count(&net, old, t::SENDANNOUNCE), 1);
    for m in [t::ANNOUNCE, t::GETLOGOS] {
        assert_eq!(count(&net, old, m), 0, "the old node got {m}");
    }
    assert_eq!(
        count(&net, a, t::SENDANNOUNCE),
        0,
        "the old node offered nothing"
    );
}

/// Under the push threshold a payload is pushed to an outbound peer and announced to an
/// inbound one.
#[test]
fn small_payloads_are_pushed_to_outbound_peers() {
    let mut net = VNet::new(Chain::LogosRegtest, 5);
    let (a, out, inb) = (
        node(&mut net, 1, true),
        node(&mut net, 2, true),
        node(&mut net, 3, true),
    );
    net.connect(a, out, ConnectionType::OutboundFullRelay);
    net.connect(inb, a, ConnectionType::OutboundFullRelay);
    net.settle();
    net.propagate(a, &[1u8; 100], false);
    // Inbound peers hear of our own payloads after own_inbound_delay.
    net.run_for(3_000_000);
    assert_eq!(count(&net, out, t::ANNOUNCE), 0);
    assert_eq!(count(&net, out, t::LOGOS), 1);
    assert_eq!(count(&net, inb, t::ANNOUNCE), 1);
    assert_eq!(count(&net, inb, t::LOGOS), 1);
}

/// Two outbound announcers of one payload; the one heard first never delivers: the other is
/// held back (one request in flight per payload) until the request times out, then asked, and
/// the payload arrives once.
#[test]
fn silent_announcer_is_replaced_after_the_timeout() {
    let mut net = VNet::new(Chain::LogosRegtest, 6);
    let silent = node(&mut net, 1, true);
    let honest = node(&mut net, 2, true);
    let r = node(&mut net, 3, true);
    net.connect(r, silent, ConnectionType::OutboundFullRelay);
    let slow = net.connect(r, honest, ConnectionType::OutboundFullRelay);
    net.links[slow].latency = 60_000;
    net.settle();
    net.nodes[silent].mute.push(t::LOGOS);
    let payload = vec![3u8; 5000];
    let t0 = net.now();
    net.propagate(silent, &payload, false);
    net.propagate(honest, &payload, false);
    net.run_for(REQUEST_TIMEOUT_BASE * 3);
    assert_eq!(net.nodes[r].delivered, vec![payload]);
    assert_eq!(count(&net, r, t::LOGOS), 1);
    assert_eq!(count(&net, silent, t::GETLOGOS), 1, "asked first");
    assert_eq!(
        count(&net, honest, t::GETLOGOS),
        1,
        "asked after the timeout"
    );
    let got = net
        .received_by(r)
        .into_iter()
        .find(|x| x.1 == t::LOGOS)
        .map(|x| x.0)
        .unwrap();
    assert!(
        got >= t0 + REQUEST_TIMEOUT_BASE,
        "the second request waited for the first one's timeout ({} µs)",
        got - t0
    );
}

/// `sendannounce` after `verack` is a protocol violation: disconnect.
#[test]
fn sendannounce_after_verack_disconnects() {
    let mut net = VNet::new(Chain::LogosRegtest, 7);
    let (a, b) = (node(&mut net, 1, true), node(&mut net, 2, true));
    let link = net.connect(a, b, ConnectionType::OutboundFullRelay);
    net.settle();
    net.inject(
        link,
        1,
        &NetworkMessage::SendAnnounce(SendAnnounce {
            version: 1,
            salt: 9,
        }),
    );
    net.settle();
    let d = net.disconnects(a);
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].2, DisconnectReason::SendAnnounceAfterVerack);
}

/// Bitcoin networks: the node offers nothing new, so a bitcoind's log stays clean.
#[test]
fn bitcoin_networks_send_no_relay_messages() {
    let mut net = VNet::new(Chain::Regtest, 8);
    let mut spec = net.spec(v4(11, 0, 1, 1, 18444));
    spec.opts.announce.enabled = true;
    let a = net.add(spec);
    let mut spec = net.spec(v4(11, 0, 2, 1, 18444));
    spec.opts.announce.enabled = true;
    let b = net.add(spec);
    net.connect(a, b, ConnectionType::Manual);
    net.settle();
    for n in [a, b] {
        assert_eq!(count(&net, n, t::SENDANNOUNCE), 0);
    }
}

/// Our own payload is announced to outbound peers at once and to inbound peers only after
/// `own_inbound_delay` (so a delegate's many inbound peers fetch it from others).
#[test]
fn own_payloads_reach_inbound_peers_later() {
    let mut net = VNet::new(Chain::LogosRegtest, 9);
    let (a, out, inb) = (
        node(&mut net, 1, true),
        node(&mut net, 2, true),
        node(&mut net, 3, true),
    );
    net.connect(a, out, ConnectionType::OutboundFullRelay);
    net.connect(inb, a, ConnectionType::OutboundFullRelay);
    net.settle();
    let t0 = net.now();
    net.propagate(a, &[9u8; 2000], false);
    net.run_for(5_000_000);
    let first = |n: usize| {
        net.received_by(n)
            .into_iter()
            .find(|x| x.1 == t::ANNOUNCE)
            .map(|x| x.0)
            .expect("announced")
    };
    let delay = net::peerman::announce_consts::own_inbound_delay(2000);
    assert!(first(out) < t0 + 100_000, "outbound peer told at once");
    assert!(
        first(inb) >= t0 + delay,
        "inbound peer told after {delay} µs"
    );
    assert_eq!(net.nodes[inb].delivered.len(), 1);
}
