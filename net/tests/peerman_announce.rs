//! The Stage 2 relay between peer managers in virtual time (support/vnet.rs): negotiation
//! before `verack`, announce → request → send, one copy per node, the flood kept towards
//! peers that did not negotiate, small payloads pushed, a silent announcer replaced after the
//! request timeout, and nothing new on Bitcoin networks.

#[path = "support/vnet.rs"]
mod vnet;

use net::connection_type::ConnectionType;
use net::disconnect::DisconnectReason;
use net::net_message::{CNetMessage, SerializedNetMsg};
use net::peerman::announce_consts::{MAX_CANDIDATES_PER_PEER, REQUEST_TIMEOUT_BASE};
use net::transport::{V1Recv, DEFER_HASH_FROM};
use protocol::message::net_msg_type as t;
use protocol::relay::{AnnounceEntry, SendAnnounce};
use protocol::{Chain, NetworkMessage};
use vnet::*;

const PORT: u16 = 14497;

fn node(net: &mut VNet, last: u8, announce: bool) -> usize {
    let mut spec = net.spec(v4(11, 0, last, 1, PORT));
    spec.opts.announce.enabled = announce;
    net.add(spec)
}

/// R dials a silent announcer (its `logos` never leave) and an honest one; the links' one-way
/// latencies are given (`None`: the default). Returns (net, silent, honest, r).
fn silent_and_honest(
    seed: u64,
    silent_latency: Option<i64>,
    honest_latency: i64,
) -> (VNet, usize, usize, usize) {
    let mut net = VNet::new(Chain::LogosRegtest, seed);
    let silent = node(&mut net, 1, true);
    let honest = node(&mut net, 2, true);
    let r = node(&mut net, 3, true);
    let fast = net.connect(r, silent, ConnectionType::OutboundFullRelay);
    let slow = net.connect(r, honest, ConnectionType::OutboundFullRelay);
    if let Some(l) = silent_latency {
        net.links[fast].latency = l;
    }
    net.links[slow].latency = honest_latency;
    net.settle();
    net.nodes[silent].mute.push(t::LOGOS);
    (net, silent, honest, r)
}

/// Both announce each of two payloads; R must end with both, each once.
fn both_announce_twice(net: &mut VNet, silent: usize, honest: usize, r: usize, first: u8) {
    for (k, byte) in [(1, first), (2, first + 1)] {
        let payload = vec![byte; 5000];
        net.propagate(silent, &payload, false);
        net.propagate(honest, &payload, false);
        net.run_for(REQUEST_TIMEOUT_BASE * 5);
        assert_eq!(net.nodes[r].delivered.len(), k);
    }
    assert_eq!(count(net, r, t::LOGOS), 2);
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
    let (mut net, silent, honest, r) = silent_and_honest(6, None, 60_000);
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

/// An announcement that arrives while the payload it names waits for the upper layer's verdict
/// (it queued behind the payload on the downlink) is known for what it is: not fetched again.
#[test]
fn announcement_during_the_verdict_is_not_fetched() {
    let mut net = VNet::new(Chain::LogosRegtest, 8);
    let (a, b, r) = (
        node(&mut net, 1, true),
        node(&mut net, 2, true),
        node(&mut net, 3, true),
    );
    net.connect(r, a, ConnectionType::OutboundFullRelay);
    net.connect(r, b, ConnectionType::OutboundFullRelay);
    net.settle();
    net.nodes[r].hold_verdicts = true;
    let payload = vec![0x42; 20_000];
    net.propagate(a, &payload, false);
    net.run_for(3_000_000);
    assert_eq!(net.nodes[r].delivered.len(), 1, "the payload came from A");
    // B announces it now, while R's upper layer is still judging it.
    net.propagate(b, &payload, false);
    net.run_for(3_000_000);
    assert_eq!(count(&net, b, t::GETLOGOS), 0, "B was asked for what R has");
    assert_eq!(count(&net, r, t::LOGOS), 1);
    net.release_verdicts(r);
    net.run_for(3_000_000);
    assert_eq!(count(&net, r, t::LOGOS), 1, "one copy in all");
}

/// The peer that delivers a new small payload first is asked to push (`sendpush`, as BIP152's
/// `sendcmpct(1)`), then pushes the next small payload instead of announcing it; a large one is
/// still announced; a newer first deliverer takes its place and the old one is told to stop.
#[test]
fn first_deliverer_is_asked_to_push_small_payloads() {
    let mut net = VNet::new(Chain::LogosRegtest, 9);
    let mut spec = net.spec(v4(11, 0, 3, 1, PORT));
    spec.opts.announce.enabled = true;
    spec.opts.announce.push_peers = 1;
    let r = net.add(spec);
    let (a, b) = (node(&mut net, 1, true), node(&mut net, 2, true));
    net.connect(r, a, ConnectionType::OutboundFullRelay);
    net.connect(r, b, ConnectionType::OutboundFullRelay);
    net.settle();
    net.propagate(a, &[1u8; 1000], false);
    net.run_for(3_000_000);
    let push_msgs = |net: &VNet, n: usize| -> Vec<NetworkMessage> {
        net.received_by(n)
            .into_iter()
            .filter(|x| x.1 == t::SENDPUSH)
            .map(|x| NetworkMessage::decode_payload(t::SENDPUSH, &x.3).unwrap())
            .collect()
    };
    assert_eq!(push_msgs(&net, a), vec![NetworkMessage::SendPush(true)]);
    // A pushes the next small payload: no announcement, no request.
    let (ann, get) = (count(&net, r, t::ANNOUNCE), count(&net, a, t::GETLOGOS));
    net.propagate(a, &[2u8; 1000], false);
    net.run_for(3_000_000);
    assert_eq!(net.nodes[r].delivered.len(), 2);
    assert_eq!(count(&net, r, t::ANNOUNCE), ann, "pushed, not announced");
    assert_eq!(count(&net, a, t::GETLOGOS), get);
    // Over push_max it is announced and fetched as before.
    let big = vec![3u8; net::peerman::AnnounceOptions::default().push_max];
    net.propagate(a, &big, false);
    net.run_for(3_000_000);
    assert_eq!(net.nodes[r].delivered.len(), 3);
    assert_eq!(count(&net, a, t::GETLOGOS), get + 1);
    // B delivers one first: B is asked, A told to stop.
    net.propagate(b, &[4u8; 1000], false);
    net.run_for(3_000_000);
    assert_eq!(push_msgs(&net, b), vec![NetworkMessage::SendPush(true)]);
    assert_eq!(
        push_msgs(&net, a),
        vec![
            NetworkMessage::SendPush(true),
            NetworkMessage::SendPush(false)
        ]
    );
}

/// An announcer whose request timed out is asked after the others next time: the honest
/// announcer of the next payload is asked first although the silent one announced it first.
#[test]
fn an_announcer_that_timed_out_is_asked_last() {
    let (mut net, silent, honest, r) = silent_and_honest(10, None, 60_000);
    both_announce_twice(&mut net, silent, honest, r, 3);
    // The first payload: silent asked, then honest, which delivered first (a failure of the
    // silent one). The second: honest only.
    assert_eq!(count(&net, silent, t::GETLOGOS), 1);
    assert_eq!(count(&net, honest, t::GETLOGOS), 2);
}

/// A request to an announcer that failed before holds nobody back: when another peer announces
/// the same payload while that request is out, it is asked at once.
#[test]
fn a_request_to_a_failed_announcer_holds_nobody_back() {
    let (mut net, silent, honest, r) = silent_and_honest(11, Some(20_000), 300_000);
    both_announce_twice(&mut net, silent, honest, r, 5);
    // Both payloads: the silent peer, heard first, was asked first.
    assert_eq!(count(&net, silent, t::GETLOGOS), 2);
    // The second time the honest announcement was answered with a request at once, not after
    // the silent request's hold.
    let announced = net
        .received_by(r)
        .into_iter()
        .filter(|x| x.1 == t::ANNOUNCE)
        .map(|x| x.0)
        .max()
        .unwrap();
    let asked = net
        .received_by(honest)
        .into_iter()
        .filter(|x| x.1 == t::GETLOGOS)
        .map(|x| x.0)
        .max()
        .unwrap();
    assert_eq!(asked - announced, 300_000, "one way back, no wait");
}

/// A large `announce` as the transport hands it over with its hash deferred (above
/// `DEFER_HASH_FROM`), its checksum right or wrong.
fn deferred_announce(net: &VNet, first: u64, n: u64, corrupt: bool) -> CNetMessage {
    let entries = (first..first + n)
        .map(|short_id| AnnounceEntry {
            short_id,
            size: 1000,
        })
        .collect();
    let m = SerializedNetMsg::from_message(&NetworkMessage::Announce(entries)).unwrap();
    let p = net.params();
    let mut bytes = p.message_start.to_vec();
    let mut command = [0u8; 12];
    command[..t::ANNOUNCE.len()].copy_from_slice(t::ANNOUNCE.as_bytes());
    bytes.extend_from_slice(&command);
    bytes.extend_from_slice(&(m.data.len() as u32).to_le_bytes());
    let mut sum = p.hash_kind.checksum(&m.data);
    if corrupt {
        sum[0] ^= 0xff;
    }
    bytes.extend_from_slice(&sum);
    bytes.extend_from_slice(&m.data);
    assert!(m.data.len() > DEFER_HASH_FROM);
    let mut rx = V1Recv::new(p.message_start, p.hash_kind, p.max_message_length, 0);
    let mut rest = &bytes[..];
    while !rest.is_empty() {
        rx.received_bytes(&mut rest).unwrap();
    }
    let (msg, reject) = rx.get_received_message(net.now());
    assert!(!reject && msg.m_hash_pending);
    msg
}

/// The shell does not hash an `announce` the peer manager drops unread (its sender's
/// announcements fill its share of the fetcher: a flood of them costs no hashing). One it
/// would read is hashed by the peer manager, and a wrong checksum drops it there as the
/// transport would have.
#[test]
fn announce_from_a_peer_at_its_cap_is_dropped_unhashed() {
    let mut net = VNet::new(Chain::LogosRegtest, 5);
    let a = node(&mut net, 1, true);
    let r = node(&mut net, 2, true);
    let link = net.connect(r, a, ConnectionType::OutboundFullRelay);
    net.settle();
    // A never answers R's requests (its short ids are made up), so its share stays full.
    net.nodes[a].mute.push(t::LOGNOTFOUND);
    let id = net.peer_id(link, 0);
    let n = MAX_CANDIDATES_PER_PEER as u64 + 1_000;
    // Below the cap, a wrong checksum: read, so checked, and dropped.
    let bad = deferred_announce(&net, 0, n, true);
    assert!(!net.nodes[r].pm.drops_unread(id, &bad));
    let now = net.now();
    net.nodes[r].pm.process_message(id, bad, now);
    net.run_for(100_000);
    assert_eq!(count(&net, a, t::GETLOGOS), 0, "nothing of it was taken");
    // The same with the right checksum fills A's share: requests go out.
    let good = deferred_announce(&net, 0, n, false);
    assert!(!net.nodes[r].pm.drops_unread(id, &good));
    let now = net.now();
    net.nodes[r].pm.process_message(id, good, now);
    net.run_for(100_000);
    let asked = count(&net, a, t::GETLOGOS);
    assert!(asked > 0);
    // Now at the cap: the next one is dropped unread, right checksum or not.
    for corrupt in [false, true] {
        let more = deferred_announce(&net, n, n, corrupt);
        assert!(net.nodes[r].pm.drops_unread(id, &more));
        let now = net.now();
        net.nodes[r].pm.process_message(id, more, now);
    }
    net.run_for(100_000);
    assert_eq!(count(&net, a, t::GETLOGOS), asked, "no new requests");
}
