//! Hostile peers (junk, a 32 MB length, a byte-per-tick sender, 1,000 connections) do not stop
//! an honest peer's messages. Every loop is bounded in count and time.
mod common;

use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::*;
use net::connection_type::ConnectionType;
use netbase::CService;
use protocol::{CAddress, Chain, ServiceFlags};

/// `victim` dials `honest` (a manual outbound link: never evicted, not an inbound slot).
fn honest_link(victim: &TestNode, honest: &TestNode) {
    let dest = format!("127.0.0.1:{}", honest.port);
    assert!(victim.connman.open_network_connection(
        &CAddress::new(CService::default(), ServiceFlags(0), 0),
        false,
        None,
        Some(&dest),
        ConnectionType::Manual,
    ));
    assert!(wait_until(Duration::from_secs(10), || victim
        .connman
        .fully_connected_count()
        >= 1
        && honest.connman.fully_connected_count() >= 1));
}

fn honest_message_arrives(honest: &TestNode, victim_up: &Recorder, tag: &str) {
    let msg = format!("honest {tag}").into_bytes();
    assert!(honest.connman.propagate_message(&msg));
    assert!(
        wait_until(Duration::from_secs(10), || victim_up.count_of(&msg) == 1),
        "honest message {tag} did not arrive"
    );
}

#[test]
fn junk_and_huge_length_and_slow_sender_do_not_block_honest_peer() {
    let up = Recorder::accepting();
    let victim = start_node(Chain::LogosRegtest, up.clone());
    let honest = start_node(Chain::LogosRegtest, Recorder::accepting());
    honest_link(&victim, &honest);

    // Junk.
    let mut junk = RawPeer::connect(&victim);
    let bytes: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 7) as u8)
        .collect();
    junk.send_raw(&bytes).ok();
    assert!(junk.closed_within(Duration::from_secs(5)));
    honest_message_arrives(&honest, &up, "after junk");

    // A header announcing 32 MiB: refused before any allocation.
    let mut huge = RawPeer::connect(&victim);
    let mut f = frame(
        victim.params.message_start,
        victim.params.hash_kind,
        "logos",
        &[],
    );
    f[16..20].copy_from_slice(&(32u32 << 20).to_le_bytes());
    huge.send_raw(&f).ok();
    assert!(huge.closed_within(Duration::from_secs(5)));
    honest_message_arrives(&honest, &up, "after 32 MiB header");

    // A slow sender: a valid version, one byte every 5 ms; meanwhile the honest peer is served.
    let mut slow = RawPeer::connect(&victim);
    let v = frame(
        victim.params.message_start,
        victim.params.hash_kind,
        "version",
        &version_payload(70016, 0, 99, true),
    );
    let start = Instant::now();
    for (i, b) in v.iter().enumerate() {
        slow.send_raw(&[*b]).ok();
        std::thread::sleep(Duration::from_millis(5));
        if i == v.len() / 2 {
            honest_message_arrives(&honest, &up, "during slow sender");
        }
        if start.elapsed() > Duration::from_secs(20) {
            break;
        }
    }
    // The slow peer's version was understood in the end.
    let (c, _) = slow
        .recv(Duration::from_secs(5))
        .expect("node answered the slow peer");
    assert_eq!(c, "version");
    honest_message_arrives(&honest, &up, "after slow sender");
}

#[test]
fn a_thousand_connections_do_not_block_honest_peer() {
    let up = Recorder::accepting();
    let victim = start_node(Chain::LogosRegtest, up.clone());
    let honest = start_node(Chain::LogosRegtest, Recorder::accepting());
    honest_link(&victim, &honest);
    let mut socks = Vec::new();
    let start = Instant::now();
    for i in 0..1000 {
        if start.elapsed() > Duration::from_secs(60) {
            break;
        }
        match TcpStream::connect(victim.addr()) {
            Ok(mut s) => {
                if i % 2 == 0 {
                    // half of them send a version, half stay silent
                    let v = frame(
                        victim.params.message_start,
                        victim.params.hash_kind,
                        "version",
                        &version_payload(70016, 0, 1000 + i as u64, true),
                    );
                    s.write_all(&v).ok();
                }
                socks.push(s);
            }
            Err(_) => break,
        }
        if i % 250 == 249 {
            honest_message_arrives(&honest, &up, &format!("after {} connections", i + 1));
        }
    }
    assert!(
        socks.len() >= 500,
        "could only open {} connections",
        socks.len()
    );
    // Inbound slots are bounded (125 - 11 = 114): the rest were evicted or refused.
    assert!(wait_until(Duration::from_secs(10), || victim
        .connman
        .get_node_count()
        .0
        <= 114));
    honest_message_arrives(&honest, &up, "after the storm");
    assert!(victim.connman.fully_connected_count() >= 1);
}
