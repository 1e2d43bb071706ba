//! The upper layer's verdicts and the pending pool (Stage 2, issue 14 items 4 and 5), with
//! `PeerManager`s and scripted peers on virtual links in one virtual clock
//! (support/vnet.rs): `Reject` punishes through Core's misbehaviour path (sparing noban and
//! manual peers), `Ignore` neither relays nor punishes, the bool callback keeps its meaning,
//! `Pending` payloads wait in a bounded pool while what they wait for is fetched by full id
//! (from the sender first, then another peer) and are offered again once it is accepted, and
//! a late `Invalid` stops serving a payload and drops what waits for it, punishing nobody.

#[path = "support/vnet.rs"]
mod vnet;

use std::collections::{HashMap, HashSet};

use net::connection_type::ConnectionType;
use net::disconnect::DisconnectReason;
use net::net_permissions::NetPermissionFlags;
use net::peerman::{LogosSend, Output, PendingOptions};
use net::{FinalVerdict, Verdict};
use netbase::CService;
use protocol::relay::SendAnnounce;
use protocol::{CAddress, Chain, NetworkMessage, NetworkParams, ServiceFlags, VersionMessage};
use vnet::*;

const PORT: u16 = 14497;
const L: i64 = DEFAULT_LATENCY;
const SEC: i64 = 1_000_000;

type Id = [u8; 32];

fn x_addr() -> CService {
    v4(11, 0, 0, 1, PORT)
}

/// An upper layer: payloads in `deps` wait for the listed payloads (by id) until those were
/// accepted, payloads in `rejects` are rejected, those in `ignores` ignored, the rest
/// accepted (important when they start with `!`).
fn model(
    params: &'static NetworkParams,
    deps: &[(&[u8], &[&[u8]])],
    rejects: &[&[u8]],
    ignores: &[&[u8]],
) -> UpperModel {
    let hk = params.hash_kind;
    let deps: HashMap<Vec<u8>, Vec<Id>> = deps
        .iter()
        .map(|(p, d)| (p.to_vec(), d.iter().map(|x| hk.hash(x)).collect()))
        .collect();
    let rejects: Vec<Vec<u8>> = rejects.iter().map(|p| p.to_vec()).collect();
    let ignores: Vec<Vec<u8>> = ignores.iter().map(|p| p.to_vec()).collect();
    let mut accepted: HashSet<Id> = HashSet::new();
    Box::new(move |p| {
        if rejects.iter().any(|r| r == p) {
            return Answer::of(Verdict::Reject);
        }
        if ignores.iter().any(|r| r == p) {
            return Answer::of(Verdict::Ignore);
        }
        if let Some(d) = deps.get(p) {
            let missing: Vec<Id> = d
                .iter()
                .filter(|x| !accepted.contains(*x))
                .copied()
                .collect();
            if !missing.is_empty() {
                return Answer::of(Verdict::Pending(missing));
            }
        }
        accepted.insert(hk.hash(p));
        if p.starts_with(b"!") {
            Answer::important()
        } else {
            Answer::accept()
        }
    })
}

/// A network with node X (0) at 11.0.0.1: ban manager, the Stage 2 relay on, the pending
/// pool's options set by `f`.
fn hub(f: impl FnOnce(&mut PendingOptions)) -> (VNet, usize) {
    let mut net = VNet::new(Chain::LogosRegtest, 7);
    let mut spec = net.spec(x_addr());
    spec.banman = true;
    spec.opts.announce.enabled = true;
    f(&mut spec.opts.pending);
    let x = net.add(spec);
    (net, x)
}

fn version(nonce: u64, now: i64) -> NetworkMessage {
    NetworkMessage::Version(VersionMessage {
        version: 70016,
        services: ServiceFlags::NODE_LOGOS,
        timestamp: now / SEC,
        addr_recv: CAddress::default(),
        addr_from: CAddress::default(),
        nonce,
        user_agent: "/script/".into(),
        start_height: 0,
        relay: true,
    })
}

/// A scripted peer at 11.0.0.`octet` dials X and completes the handshake, offering
/// announcements when `announce`. Returns the link and its id at X.
fn script(net: &mut VNet, x: usize, octet: u8, announce: bool) -> (usize, i64) {
    let link = net.connect_from_script(v4(11, 0, 0, octet, 40_000), x);
    let now = net.now();
    net.inject(link, 0, &version(u64::from(octet), now));
    if announce {
        net.inject(
            link,
            0,
            &NetworkMessage::SendAnnounce(SendAnnounce {
                version: 1,
                salt: 0x5eed_0000 + u64::from(octet),
            }),
        );
    }
    net.inject(link, 0, &NetworkMessage::Verack);
    net.settle();
    let id = net.peer_id(link, 1);
    assert!(net.nodes[x].pm.is_fully_connected(id));
    (link, id)
}

fn send(net: &mut VNet, link: usize, payload: &[u8]) {
    net.inject(link, 0, &NetworkMessage::Logos(payload.to_vec()));
    net.settle();
}

/// The `getlogosid` node `n` sent to `peer`: (time, ids).
fn getlogosid(net: &VNet, n: usize, peer: i64) -> Vec<(i64, Vec<Id>)> {
    net.outputs_for(n, peer)
        .into_iter()
        .filter_map(|(t, o)| match o {
            Output::Send {
                msg: NetworkMessage::GetLogosById(ids),
                ..
            } => Some((t, ids)),
            _ => None,
        })
        .collect()
}

/// The payloads node `n` sent to `peer` as `logos` (any kind).
fn logos_sent(net: &VNet, n: usize, peer: i64) -> Vec<Vec<u8>> {
    net.outputs_for(n, peer)
        .into_iter()
        .filter_map(|(_, o)| match o {
            Output::SendLogos { payload, .. } => Some(payload.to_vec()),
            _ => None,
        })
        .collect()
}

fn delivered(net: &VNet, n: usize) -> Vec<(Vec<u8>, Verdict)> {
    let node = &net.nodes[n];
    node.delivered
        .iter()
        .cloned()
        .zip(node.verdicts.iter().cloned())
        .collect()
}

/// How often node `n`'s upper layer accepted `payload`.
fn accepted(net: &VNet, n: usize, payload: &[u8]) -> usize {
    delivered(net, n)
        .iter()
        .filter(|(p, v)| p == payload && *v == Verdict::Accept)
        .count()
}

mod verdicts {
    use super::*;

    /// S (11.0.0.2) dials X; Y (11.0.0.3) dials X; X's upper layer rejects `bad`.
    fn triangle(permissions: NetPermissionFlags) -> (VNet, usize, usize, usize, usize) {
        let (mut net, x) = hub(|_| {});
        let params = net.params();
        net.nodes[x].upper = model(params, &[], &[b"bad"], &[b"meh"]);
        let s = net.add_node(v4(11, 0, 0, 2, PORT));
        let y = net.add_node(v4(11, 0, 0, 3, PORT));
        let sx = net.connect_with_permissions(s, x, ConnectionType::OutboundFullRelay, permissions);
        net.connect(y, x, ConnectionType::OutboundFullRelay);
        net.settle();
        (net, x, s, y, sx)
    }

    #[test]
    fn reject_punishes_a_normal_inbound_peer() {
        let (mut net, x, s, y, sx) = triangle(NetPermissionFlags::NONE);
        let ids = net.peer_id(sx, 1);
        net.propagate(s, b"bad", false);
        let t = net.now() + L;
        net.settle();
        assert_eq!(delivered(&net, x), vec![(b"bad".to_vec(), Verdict::Reject)]);
        // Core's path: Misbehaving, then MaybeDiscourageAndDisconnect on the next pass.
        assert_eq!(
            net.disconnects(x),
            vec![(t, ids, DisconnectReason::Discouraged)]
        );
        let banman = net.nodes[x].banman.clone().expect("banman");
        assert!(banman.is_discouraged(&v4(11, 0, 0, 2, PORT).addr));
        assert!(!net.links[sx].open);
        // Not relayed, remembered as refused.
        assert!(net.nodes[y].delivered.is_empty());
        assert_eq!(net.nodes[x].pm.flood_stats().recent_rejects_size, 1);
    }

    #[test]
    fn reject_spares_a_noban_peer() {
        let (mut net, x, s, y, sx) = triangle(NetPermissionFlags::NO_BAN);
        net.propagate(s, b"bad", false);
        net.run_for(10 * SEC);
        assert_eq!(delivered(&net, x), vec![(b"bad".to_vec(), Verdict::Reject)]);
        assert!(net.disconnects(x).is_empty());
        assert!(net.links[sx].open);
        let banman = net.nodes[x].banman.clone().expect("banman");
        assert!(!banman.is_discouraged(&v4(11, 0, 0, 2, PORT).addr));
        assert!(
            net.nodes[y].delivered.is_empty(),
            "a rejected payload is never relayed"
        );
    }

    #[test]
    fn reject_spares_a_manual_peer() {
        let (mut net, x) = hub(|_| {});
        let params = net.params();
        net.nodes[x].upper = model(params, &[], &[b"bad"], &[]);
        let s = net.add_node(v4(11, 0, 0, 2, PORT));
        let link = net.connect(x, s, ConnectionType::Manual);
        net.settle();
        net.propagate(s, b"bad", false);
        net.run_for(10 * SEC);
        assert_eq!(delivered(&net, x), vec![(b"bad".to_vec(), Verdict::Reject)]);
        assert!(net.disconnects(x).is_empty());
        assert!(net.links[link].open);
    }

    #[test]
    fn ignore_neither_relays_nor_punishes() {
        let (mut net, x, s, y, sx) = triangle(NetPermissionFlags::NONE);
        net.propagate(s, b"meh", false);
        net.run_for(10 * SEC);
        assert_eq!(delivered(&net, x), vec![(b"meh".to_vec(), Verdict::Ignore)]);
        assert!(net.disconnects(x).is_empty());
        assert!(net.links[sx].open);
        assert!(net.nodes[y].delivered.is_empty());
        // A second copy is dropped unjudged.
        net.inject(sx, 0, &NetworkMessage::Logos(b"meh".to_vec()));
        net.settle();
        assert_eq!(net.nodes[x].delivered.len(), 1);
        // Good payloads still flow.
        net.propagate(s, b"fine", false);
        net.settle();
        assert_eq!(net.nodes[y].delivered, vec![b"fine".to_vec()]);
    }

    #[test]
    fn the_bool_callback_still_means_accept_or_ignore() {
        let (mut net, x, s, y, sx) = triangle(NetPermissionFlags::NONE);
        net.nodes[x].upper = accept_prefix(b"good");
        net.propagate(s, b"good one", false);
        net.propagate(s, b"junk", false);
        net.run_for(10 * SEC);
        assert_eq!(
            delivered(&net, x),
            vec![
                (b"good one".to_vec(), Verdict::Accept),
                (b"junk".to_vec(), Verdict::Ignore)
            ]
        );
        assert_eq!(net.nodes[y].delivered, vec![b"good one".to_vec()]);
        assert!(net.disconnects(x).is_empty() && net.links[sx].open);
    }
}

mod pending {
    use super::*;

    /// X with two announcing scripted peers S1 (11.0.0.9) and S2 (11.0.0.10) and a plain node
    /// Y (11.0.0.3) dialling it; `child` waits for `parent` at X.
    fn setup(
        f: impl FnOnce(&mut PendingOptions),
        rejects: &[&[u8]],
    ) -> (VNet, usize, usize, [(usize, i64); 2]) {
        let (mut net, x) = hub(f);
        let params = net.params();
        net.nodes[x].upper = model(
            params,
            &[(b"child", &[b"parent"]), (b"grandchild", &[b"child"])],
            rejects,
            &[],
        );
        let y = net.add_node(v4(11, 0, 0, 3, PORT));
        net.connect(y, x, ConnectionType::OutboundFullRelay);
        net.settle();
        let s1 = script(&mut net, x, 9, true);
        let s2 = script(&mut net, x, 10, true);
        (net, x, y, [s1, s2])
    }

    #[test]
    fn waits_asks_the_sender_then_another_peer_and_is_offered_again() {
        let (mut net, x, y, [(l1, i1), (l2, i2)]) = setup(|_| {}, &[]);
        let parent = net.id_of(b"parent");
        let child = net.id_of(b"child");
        let t = net.now();
        send(&mut net, l1, b"child");
        assert_eq!(
            delivered(&net, x),
            vec![(b"child".to_vec(), Verdict::Pending(vec![parent]))]
        );
        assert!(net.nodes[x].pm.is_pending(&child));
        // The sender is asked first, at once.
        assert_eq!(getlogosid(&net, x, i1), vec![(t + L, vec![parent])]);
        assert!(getlogosid(&net, x, i2).is_empty());
        assert_eq!(net.nodes[x].pm.dependency_requested_from(&parent), Some(i1));
        // Nothing relayed while it waits.
        assert!(net.nodes[y].delivered.is_empty());

        // S1 stays silent: after the timeout S2 is asked.
        let timeout = PendingOptions::default().request_timeout;
        net.run_until(t + L + timeout - 1);
        assert!(getlogosid(&net, x, i2).is_empty());
        net.run_until(t + L + timeout);
        assert_eq!(
            getlogosid(&net, x, i2),
            vec![(t + L + timeout, vec![parent])]
        );
        assert_eq!(getlogosid(&net, x, i1).len(), 1, "S1 is not asked again");

        // S2 sends it: parent accepted, then child offered again and accepted.
        send(&mut net, l2, b"parent");
        assert_eq!(
            delivered(&net, x),
            vec![
                (b"child".to_vec(), Verdict::Pending(vec![parent])),
                (b"parent".to_vec(), Verdict::Accept),
                (b"child".to_vec(), Verdict::Accept),
            ]
        );
        assert!(!net.nodes[x].pm.is_pending(&child));
        assert_eq!(net.nodes[x].pm.dependency_requested_from(&parent), None);
        let st = net.nodes[x].pm.pending_stats();
        assert_eq!(
            (st.count, st.bytes, st.reoffered, st.requests_in_flight),
            (0, 0, 1, 0)
        );
        // Both relayed on, in order, once each.
        net.settle();
        assert_eq!(
            net.nodes[y].delivered,
            vec![b"parent".to_vec(), b"child".to_vec()]
        );
        // Later copies are dropped; no request goes out any more.
        send(&mut net, l2, b"child");
        send(&mut net, l1, b"parent");
        net.run_for(60 * SEC);
        assert_eq!(net.nodes[x].delivered.len(), 3);
        assert_eq!(
            getlogosid(&net, x, i1).len() + getlogosid(&net, x, i2).len(),
            2
        );
        assert!(net.disconnects(x).is_empty());
    }

    #[test]
    fn a_second_copy_only_adds_an_announcer_and_is_accepted_once() {
        let (mut net, x, _, [(l1, _), (l2, _)]) = setup(|_| {}, &[]);
        send(&mut net, l1, b"child");
        send(&mut net, l2, b"child");
        // The second copy is not handed to the upper layer while the first waits.
        assert_eq!(net.nodes[x].delivered.len(), 1);
        // The first sender leaves: the entry stays (S2 announced it too).
        net.close(l1);
        assert!(net.nodes[x].pm.is_pending(&net.id_of(b"child")));
        send(&mut net, l2, b"parent");
        assert_eq!(accepted(&net, x, b"child"), 1);
        assert_eq!(accepted(&net, x, b"parent"), 1);
        assert_eq!(net.nodes[x].pm.pending_stats().count, 0);
    }

    #[test]
    fn a_chain_is_released_link_by_link() {
        let (mut net, x, y, [(l1, _), _]) = setup(|_| {}, &[]);
        send(&mut net, l1, b"grandchild");
        send(&mut net, l1, b"child");
        assert_eq!(net.nodes[x].pm.pending_stats().count, 2);
        send(&mut net, l1, b"parent");
        let order: Vec<Vec<u8>> = delivered(&net, x)
            .into_iter()
            .filter(|(_, v)| *v == Verdict::Accept)
            .map(|(p, _)| p)
            .collect();
        assert_eq!(
            order,
            vec![
                b"parent".to_vec(),
                b"child".to_vec(),
                b"grandchild".to_vec()
            ]
        );
        net.settle();
        assert_eq!(net.nodes[y].delivered, order);
    }

    #[test]
    fn is_dropped_when_its_dependency_is_rejected() {
        let (mut net, x, y, [(l1, i1), (l2, i2)]) = setup(|_| {}, &[b"parent"]);
        let child = net.id_of(b"child");
        send(&mut net, l1, b"child");
        send(&mut net, l1, b"grandchild");
        assert_eq!(net.nodes[x].pm.pending_stats().count, 2);
        send(&mut net, l2, b"parent");
        // The parent is rejected (its sender punished); child and grandchild dropped.
        assert!(!net.nodes[x].pm.is_pending(&child));
        let st = net.nodes[x].pm.pending_stats();
        assert_eq!(
            (st.count, st.dropped_for_dependency, st.requests_in_flight),
            (0, 2, 0)
        );
        let d = net.disconnects(x);
        assert_eq!(d.len(), 1);
        assert_eq!(
            (d[0].1, d[0].2.clone()),
            (i2, DisconnectReason::Discouraged)
        );
        assert!(
            net.links[l1].open,
            "the child's sender could not have known"
        );
        // Remembered as refused: a later copy is not judged.
        send(&mut net, l1, b"child");
        assert_eq!(net.nodes[x].delivered.len(), 3);
        // No request goes out after the drop.
        let before = getlogosid(&net, x, i1).len();
        net.run_for(60 * SEC);
        assert_eq!(getlogosid(&net, x, i1).len(), before);
        assert!(net.nodes[y].delivered.is_empty());
    }

    #[test]
    fn a_pending_verdict_on_a_refused_id_drops_the_payload() {
        let (mut net, x, _, [(l1, _), (l2, _)]) = setup(|_| {}, &[b"parent"]);
        send(&mut net, l2, b"parent");
        send(&mut net, l1, b"child");
        assert_eq!(net.nodes[x].pm.pending_stats().count, 0);
        assert_eq!(net.nodes[x].pm.pending_stats().dropped_for_dependency, 1);
    }

    #[test]
    fn the_senders_disconnection_moves_the_request_to_the_next_peer() {
        let (mut net, x, _, [(l1, i1), (l2, i2)]) = setup(|_| {}, &[]);
        let parent = net.id_of(b"parent");
        send(&mut net, l1, b"child");
        send(&mut net, l2, b"child");
        assert_eq!(net.nodes[x].pm.dependency_requested_from(&parent), Some(i1));
        let t = net.now();
        net.close(l1);
        net.settle();
        assert_eq!(getlogosid(&net, x, i2), vec![(t, vec![parent])]);
        assert_eq!(net.nodes[x].pm.dependency_requested_from(&parent), Some(i2));
    }

    #[test]
    fn a_new_announcer_is_asked_once_the_others_gave_up() {
        let (mut net, x) = hub(|_| {});
        let params = net.params();
        net.nodes[x].upper = model(params, &[(b"child", &[b"parent"])], &[], &[]);
        let parent = net.id_of(b"parent");
        let (l1, i1) = script(&mut net, x, 9, true);
        send(&mut net, l1, b"child");
        assert_eq!(getlogosid(&net, x, i1).len(), 1);
        // Nobody else to ask: given up after the timeout.
        net.run_for(PendingOptions::default().request_timeout + SEC);
        assert_eq!(net.nodes[x].pm.dependency_requested_from(&parent), None);
        assert!(net.nodes[x].pm.is_pending(&net.id_of(b"child")));
        // A new peer sends the child too: it is asked at once (the copy is not judged).
        let (l2, i2) = script(&mut net, x, 10, true);
        let t = net.now() + L;
        send(&mut net, l2, b"child");
        assert_eq!(getlogosid(&net, x, i2), vec![(t, vec![parent])]);
        assert_eq!(net.nodes[x].delivered.len(), 1);
        send(&mut net, l2, b"parent");
        assert_eq!(accepted(&net, x, b"child"), 1);
    }

    #[test]
    fn flood_only_peers_are_not_asked() {
        let (mut net, x) = hub(|_| {});
        let params = net.params();
        net.nodes[x].upper = model(params, &[(b"child", &[b"parent"])], &[], &[]);
        let (l1, i1) = script(&mut net, x, 9, false);
        send(&mut net, l1, b"child");
        net.run_for(60 * SEC);
        assert!(getlogosid(&net, x, i1).is_empty());
        assert!(net.nodes[x].pm.is_pending(&net.id_of(b"child")));
        // The dependency comes by flood all the same.
        send(&mut net, l1, b"parent");
        assert_eq!(accepted(&net, x, b"child"), 1);
    }
}

mod pool {
    use super::*;

    /// X whose upper layer makes every payload but `dep` wait for `dep` (which never comes),
    /// and three announcing scripted peers.
    fn setup(f: impl FnOnce(&mut PendingOptions)) -> (VNet, usize, [(usize, i64); 3]) {
        let (mut net, x) = hub(f);
        let dep = net.id_of(b"dep");
        net.nodes[x].upper = Box::new(move |p| {
            if p == b"dep" {
                Answer::accept()
            } else {
                Answer::of(Verdict::Pending(vec![dep]))
            }
        });
        let s = [
            script(&mut net, x, 9, true),
            script(&mut net, x, 10, true),
            script(&mut net, x, 11, true),
        ];
        (net, x, s)
    }

    fn pending(net: &VNet, x: usize, names: &[&str]) -> Vec<bool> {
        names
            .iter()
            .map(|n| net.nodes[x].pm.is_pending(&net.id_of(n.as_bytes())))
            .collect()
    }

    #[test]
    fn a_peer_over_its_count_share_loses_its_oldest() {
        let (mut net, x, [(l1, _), (l2, _), _]) = setup(|o| o.peer_max_count = 2);
        for p in ["a1", "a2", "a3"] {
            send(&mut net, l1, p.as_bytes());
        }
        send(&mut net, l2, b"b1");
        assert_eq!(
            pending(&net, x, &["a1", "a2", "a3", "b1"]),
            [false, true, true, true]
        );
        assert_eq!(net.nodes[x].pm.pending_stats().evicted, 1);
    }

    #[test]
    fn a_peer_over_its_byte_share_loses_its_oldest_and_a_larger_payload_is_not_kept() {
        let (mut net, x, [(l1, _), _, _]) = setup(|o| o.peer_max_bytes = 250);
        let big = |c: u8| vec![c; 100];
        send(&mut net, l1, &big(1));
        send(&mut net, l1, &big(2));
        send(&mut net, l1, &big(3));
        let ids: Vec<bool> = (1..=3)
            .map(|c| net.nodes[x].pm.is_pending(&net.id_of(&big(c))))
            .collect();
        assert_eq!(ids, [false, true, true]);
        send(&mut net, l1, &[9; 251]);
        assert!(!net.nodes[x].pm.is_pending(&net.id_of(&[9; 251])));
        assert_eq!(net.nodes[x].pm.pending_stats().bytes, 200);
    }

    #[test]
    fn over_the_pool_count_the_heaviest_peer_loses_its_oldest() {
        let (mut net, x, [(l1, _), (l2, _), (l3, _)]) = setup(|o| o.max_count = 4);
        for p in ["a1", "a2", "a3"] {
            send(&mut net, l1, p.as_bytes());
        }
        send(&mut net, l2, b"b1");
        // Five entries: S1 (3) is the heaviest and loses its oldest.
        send(&mut net, l3, b"c1");
        assert_eq!(
            pending(&net, x, &["a1", "a2", "a3", "b1", "c1"]),
            [false, true, true, true, true]
        );
    }

    #[test]
    fn over_the_pool_bytes_the_heaviest_peer_loses_its_oldest() {
        let (mut net, x, [(l1, _), (l2, _), _]) = setup(|o| o.max_bytes = 1000);
        send(&mut net, l2, &[2; 300]);
        send(&mut net, l1, &[1; 400]);
        send(&mut net, l1, &[3; 400]);
        // 1,100 bytes: S1 (800) is the heaviest and loses its oldest.
        let kept: Vec<bool> = [vec![2; 300], vec![1; 400], vec![3; 400]]
            .iter()
            .map(|p| net.nodes[x].pm.is_pending(&net.id_of(p)))
            .collect();
        assert_eq!(kept, [true, false, true]);
        assert_eq!(net.nodes[x].pm.pending_stats().bytes, 700);
    }

    #[test]
    fn entries_expire_on_their_own_timer() {
        let expiry = 7 * SEC;
        let (mut net, x, [(l1, _), (l2, _), _]) = setup(|o| {
            o.expiry = expiry;
            o.request_timeout = 60 * SEC;
        });
        let t1 = net.now() + L;
        send(&mut net, l1, b"first");
        net.run_for(3 * SEC);
        let t2 = net.now() + L;
        send(&mut net, l2, b"second");
        net.run_until(t1 + expiry - 1);
        assert_eq!(pending(&net, x, &["first", "second"]), [true, true]);
        net.run_until(t1 + expiry);
        assert_eq!(pending(&net, x, &["first", "second"]), [false, true]);
        net.run_until(t2 + expiry - 1);
        assert_eq!(pending(&net, x, &["first", "second"]), [false, true]);
        net.run_until(t2 + expiry);
        assert_eq!(pending(&net, x, &["first", "second"]), [false, false]);
        let st = net.nodes[x].pm.pending_stats();
        assert_eq!((st.count, st.expired, st.requests_in_flight), (0, 2, 0));
        // Expired, not refused: a later copy is judged again.
        send(&mut net, l1, b"first");
        assert!(net.nodes[x].pm.is_pending(&net.id_of(b"first")));
    }

    #[test]
    fn too_many_ids_or_only_accepted_ones_drop_the_payload() {
        let (mut net, x) = hub(|_| {});
        let ids: Vec<Id> = (0..=net::peerman::MAX_PENDING_DEPENDENCIES as u8)
            .map(|i| [i; 32])
            .collect();
        let known = net.id_of(b"known");
        net.nodes[x].upper = Box::new(move |p| match p {
            b"many" => Answer::of(Verdict::Pending(ids.clone())),
            b"stale" => Answer::of(Verdict::Pending(vec![known])),
            _ => Answer::accept(),
        });
        let (l1, _) = script(&mut net, x, 9, true);
        send(&mut net, l1, b"known");
        send(&mut net, l1, b"many");
        send(&mut net, l1, b"stale");
        assert_eq!(net.nodes[x].pm.pending_stats().count, 0);
        assert_eq!(net.nodes[x].pm.flood_stats().recent_rejects_size, 2);
    }
}

mod late {
    use super::*;

    #[test]
    fn invalid_stops_serving_and_drops_dependents_without_punishing() {
        let (mut net, x) = hub(|_| {});
        let params = net.params();
        net.nodes[x].upper = model(
            params,
            &[(b"child", &[b"!parent"]), (b"other", &[b"!parent"])],
            &[],
            &[],
        );
        let (l1, _) = script(&mut net, x, 9, true);
        let (l2, i2) = script(&mut net, x, 10, true);
        // X accepts an important payload from S1 and relays it (announced) to S2.
        send(&mut net, l1, b"!parent");
        let parent = net.id_of(b"!parent");
        assert_eq!(accepted(&net, x, b"!parent"), 1);
        // S2 could fetch it: it is served.
        net.inject(l2, 0, &NetworkMessage::GetLogosById(vec![parent]));
        net.settle();
        assert_eq!(logos_sent(&net, x, i2), vec![b"!parent".to_vec()]);

        // The upper layer's full check fails later.
        net.final_verdict(x, parent, FinalVerdict::Invalid);
        // No longer served, by id ...
        net.inject(l2, 0, &NetworkMessage::GetLogosById(vec![parent]));
        net.settle();
        assert_eq!(logos_sent(&net, x, i2).len(), 1);
        // ... nor to a peer catching up.
        let z = net.add_node(v4(11, 0, 0, 4, PORT));
        let lz = net.connect(z, x, ConnectionType::OutboundFullRelay);
        net.settle();
        let iz = net.peer_id(lz, 1);
        assert!(net.outputs_for(x, iz).iter().all(|(_, o)| !matches!(
            o,
            Output::SendLogos {
                kind: LogosSend::CatchUp,
                ..
            }
        )));
        assert!(net.nodes[z].delivered.is_empty());
        // What waits for it is dropped; a later payload waiting for it too.
        send(&mut net, l1, b"other");
        assert_eq!(net.nodes[x].pm.pending_stats().count, 0);
        // Nobody punished.
        net.run_for(10 * SEC);
        assert!(net.disconnects(x).is_empty());
        assert!(net.links[l1].open && net.links[l2].open);
    }

    #[test]
    fn invalid_drops_what_waits_and_refuses_the_payload_when_it_comes() {
        let (mut net, x) = hub(|_| {});
        let params = net.params();
        net.nodes[x].upper = model(params, &[(b"child", &[b"parent"])], &[], &[]);
        let (l1, i1) = script(&mut net, x, 9, true);
        send(&mut net, l1, b"child");
        let parent = net.id_of(b"parent");
        assert_eq!(net.nodes[x].pm.dependency_requested_from(&parent), Some(i1));
        // The upper layer learns otherwise that `parent` is invalid.
        net.final_verdict(x, parent, FinalVerdict::Invalid);
        let st = net.nodes[x].pm.pending_stats();
        assert_eq!(
            (st.count, st.requests_in_flight, st.dropped_for_dependency),
            (0, 0, 1)
        );
        send(&mut net, l1, b"parent");
        send(&mut net, l1, b"child");
        assert_eq!(net.nodes[x].delivered.len(), 1, "neither judged again");
        assert!(net.disconnects(x).is_empty());
    }

    #[test]
    fn valid_changes_nothing() {
        let (mut net, x) = hub(|_| {});
        let (l1, i1) = script(&mut net, x, 9, true);
        send(&mut net, l1, b"fine");
        let id = net.id_of(b"fine");
        net.final_verdict(x, id, FinalVerdict::Valid);
        net.inject(l1, 0, &NetworkMessage::GetLogosById(vec![id]));
        net.settle();
        assert_eq!(logos_sent(&net, x, i1), vec![b"fine".to_vec()]);
    }
}
