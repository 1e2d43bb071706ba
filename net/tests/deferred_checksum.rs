//! Large payloads are hashed by the message handler, not while they arrive
//! (transport.rs `DEFER_HASH_FROM`): the outcome must be Core's V1Transport::GetReceivedMessage
//! for every size: a wrong checksum drops the message and keeps the peer, its bytes counted
//! under `*other*`; a right one is delivered once, with the payload hash as its id.
mod common;

use std::time::Duration;

use common::*;
use net::node::NET_MESSAGE_TYPE_OTHER;
use net::transport::DEFER_HASH_FROM;
use protocol::Chain;

const LONG: Duration = Duration::from_secs(10);

/// Mirrors net_tests / p2p_invalid_messages.py (bad checksum): with payloads above and below the
/// deferral size, a bad checksum is dropped without a disconnect and the good payloads that
/// follow are delivered.
#[test]
fn bad_checksum_on_large_payload_is_dropped_peer_kept() {
    let rec = Recorder::accepting();
    let node = start_node(Chain::LogosRegtest, rec.clone());
    let mut p = RawPeer::connect(&node);
    p.handshake();
    assert!(wait_until(LONG, || node.connman.fully_connected_count() == 1));

    let big_bad: Vec<u8> = vec![0x51; DEFER_HASH_FROM + 1000];
    let big_good: Vec<u8> = vec![0x52; DEFER_HASH_FROM * 3];
    let small_bad: Vec<u8> = vec![0x53; 300];
    let small_good: Vec<u8> = vec![0x54; 300];
    for (payload, corrupt) in [
        (&big_bad, true),
        (&small_bad, true),
        (&big_good, false),
        (&small_good, false),
    ] {
        let mut f = frame(p.magic, p.kind, "logos", payload);
        if corrupt {
            f[20] ^= 0xff;
        }
        p.send_raw(&f).expect("send");
    }
    assert!(wait_until(LONG, || rec.count() == 2));
    settle();
    assert_eq!(rec.count(), 2);
    assert_eq!(rec.count_of(&big_good), 1);
    assert_eq!(rec.count_of(&small_good), 1);
    assert_eq!(rec.count_of(&big_bad), 0);
    assert_eq!(rec.count_of(&small_bad), 0);
    assert_eq!(node.connman.fully_connected_count(), 1);
    let stats = node.connman.get_node_stats();
    let other = stats[0].map_recv_bytes_per_msg_type[NET_MESSAGE_TYPE_OTHER];
    let logos = stats[0].map_recv_bytes_per_msg_type["logos"];
    assert_eq!(other, (big_bad.len() + 24 + small_bad.len() + 24) as u64);
    assert_eq!(logos, (big_good.len() + 24 + small_good.len() + 24) as u64);
    // The same large payload again is a duplicate (its deferred hash is its id).
    p.send("logos", &big_good).expect("send");
    p.send("logos", &[0x55; 10]).expect("send");
    assert!(wait_until(LONG, || rec.count() == 3));
    assert_eq!(rec.count_of(&big_good), 1);
}
