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

/// A storm that keeps the accept queue full must not stall a connected peer: the socket
/// handler takes a bounded number of connections per pass (Core's `AcceptConnection` takes one
/// per listening socket per `SocketHandler` pass) and serves the ready sockets in between.
/// Before that bound, one pass accepted (and evicted for) every queued connection first, and an
/// honest peer's message waited a second behind 5,000 of them (`cargo bench -p node --bench
/// hostile -- silent`).
#[test]
fn connection_storm_does_not_stall_a_connected_peer() {
    let up = Recorder::accepting();
    let victim = start_node(Chain::LogosRegtest, up.clone());
    let honest = start_node(Chain::LogosRegtest, Recorder::accepting());
    honest_link(&victim, &honest);
    let addr = victim.addr();
    // Non-blocking connects: the kernel completes each handshake and queues the connection
    // for accept() at once, so the victim finds thousands waiting. Held until the end.
    let storm = std::thread::spawn(move || {
        let mut socks = Vec::new();
        let start = Instant::now();
        while socks.len() < 3000 && start.elapsed() < Duration::from_secs(20) {
            match mio::net::TcpStream::connect(addr) {
                Ok(s) => socks.push(s),
                Err(_) => break,
            }
        }
        socks
    });
    let start = Instant::now();
    let mut worst = Duration::ZERO;
    let mut k = 0u32;
    while start.elapsed() < Duration::from_secs(3) || !storm.is_finished() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the storm did not end"
        );
        let msg = format!("during the storm {k}").into_bytes();
        let t = Instant::now();
        assert!(honest.connman.propagate_message(&msg));
        assert!(
            wait_until(Duration::from_secs(20), || up.count_of(&msg) == 1),
            "honest message {k} did not arrive"
        );
        worst = worst.max(t.elapsed());
        k += 1;
        std::thread::sleep(Duration::from_millis(20));
    }
    let socks = storm.join().unwrap();
    assert!(
        socks.len() >= 1000,
        "could only open {} connections",
        socks.len()
    );
    assert!(
        worst < Duration::from_millis(250),
        "an honest message waited {worst:?} while {} connections were queued",
        socks.len()
    );
}

/// Peers flooding as fast as the node reads must not hold off a connected peer: the socket
/// handler reads once (at most 64 KiB) from each ready connection per pass, as Core's
/// `SocketHandlerConnected` does, so a pass stays short however many bytes wait. The flood is
/// 1 KiB `logos` messages with a wrong checksum from sixteen peers: the transport drops each
/// (the peer stays), so all the work is the socket thread's. With sixteen reads per pass the
/// median honest message waited 20-25 ms here, and in `cargo bench -p node --bench hostile`
/// the p99 was 65 ms under this flood and 208 ms under redundant `version`s (14 and 39 ms with
/// one read). The median is asserted: it measures the pass, the worst case measures the host.
#[test]
fn flooding_peers_do_not_hold_off_a_connected_peer() {
    let up = Recorder::accepting();
    let victim = start_node(Chain::LogosRegtest, up.clone());
    let honest = start_node(Chain::LogosRegtest, Recorder::accepting());
    honest_link(&victim, &honest);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flooders: Vec<_> = (0..16u8)
        .map(|k| {
            let mut p = RawPeer::connect(&victim);
            p.handshake();
            // A MiB of 1 KiB logos messages, each checksum flipped.
            let mut chunk = Vec::new();
            for i in 0..1000u32 {
                let mut payload = vec![k; 1024];
                payload[..4].copy_from_slice(&i.to_le_bytes());
                let mut f = frame(
                    victim.params.message_start,
                    victim.params.hash_kind,
                    "logos",
                    &payload,
                );
                for b in &mut f[20..24] {
                    *b ^= 0xff;
                }
                chunk.extend_from_slice(&f);
            }
            let mut s = p.s.try_clone().expect("clone");
            s.set_write_timeout(Some(Duration::from_millis(100))).ok();
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut sent = 0usize;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let mut rest = &chunk[..];
                    while !rest.is_empty() && !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        match s.write(rest) {
                            Ok(n) => {
                                rest = &rest[n..];
                                sent += n;
                            }
                            Err(e)
                                if e.kind() == std::io::ErrorKind::WouldBlock
                                    || e.kind() == std::io::ErrorKind::TimedOut => {}
                            Err(_) => return (sent, p),
                        }
                    }
                }
                (sent, p)
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let start = Instant::now();
    let mut waits = Vec::new();
    while start.elapsed() < Duration::from_secs(3) {
        let msg = format!("during the flood {}", waits.len()).into_bytes();
        let t = Instant::now();
        assert!(honest.connman.propagate_message(&msg));
        while up.count_of(&msg) == 0 {
            assert!(
                t.elapsed() < Duration::from_secs(20),
                "honest message {} did not arrive",
                waits.len()
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        waits.push(t.elapsed());
        std::thread::sleep(Duration::from_millis(20));
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let sent: usize = flooders.into_iter().map(|h| h.join().unwrap().0).sum();
    waits.sort();
    let (median, worst) = (waits[waits.len() / 2], waits[waits.len() - 1]);
    assert!(sent > 100 << 20, "the flooders sent only {sent} bytes");
    assert!(
        median < Duration::from_millis(8) && worst < Duration::from_millis(500),
        "honest messages waited {median:?} (median), {worst:?} (worst) while sixteen peers \
         flooded {} MiB",
        sent >> 20
    );
}

/// One peer flooding distinct `logos` payloads (all accepted by the upper layer) must not crowd
/// another origin's payloads out of a slow peer's send queue. A relay to a queue over
/// `-maxsendbuffer` is dropped; when it comes from an origin with fewer bytes in that queue than
/// the origin with the most, that origin's newest queued relay is dropped instead, so each
/// origin keeps a share of the queue. Before, the flooder's payloads filled the queue and the
/// honest ones were dropped with them (`cargo bench -p node --bench hostile --
/// logos-line-rate`: 19 of 306 honest payloads lost).
#[test]
fn a_flooding_origin_does_not_crowd_out_another_origin() {
    let mut opts = test_options();
    opts.max_send_buffer = 64;
    let victim = start_node_with(
        Chain::LogosRegtest,
        opts,
        std::sync::Arc::new(net::AcceptAll),
    );
    let honest = start_node(Chain::LogosRegtest, std::sync::Arc::new(net::AcceptAll));
    honest_link(&victim, &honest);
    let (magic, kind) = (victim.params.message_start, victim.params.hash_kind);
    // The slow destination: a small receive buffer, 16 KiB every 4 ms.
    let sock = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    sock.set_recv_buffer_size(8192).unwrap();
    sock.connect(&victim.addr().into()).unwrap();
    let mut slow = RawPeer::from_stream(sock.into(), magic, kind);
    slow.handshake();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let mut s = slow.s.try_clone().unwrap();
        s.set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        let stop = stop.clone();
        std::thread::spawn(move || {
            let (mut buf, mut chunk) = (Vec::new(), vec![0u8; 16 << 10]);
            let mut honest_seen = std::collections::BTreeSet::new();
            let deadline = Instant::now() + Duration::from_secs(40);
            while Instant::now() < deadline {
                match std::io::Read::read(&mut s, &mut chunk) {
                    Ok(0) => break,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    Err(_) if stop.load(std::sync::atomic::Ordering::Relaxed) => break,
                    Err(_) => continue,
                }
                let mut used = 0;
                while buf.len() - used >= 24 {
                    let len = u32::from_le_bytes(buf[used + 16..used + 20].try_into().unwrap());
                    let end = used + 24 + len as usize;
                    if buf.len() < end {
                        break;
                    }
                    if let Some(rest) = buf[used + 24..end].strip_prefix(b"honest ") {
                        honest_seen.insert(String::from_utf8_lossy(rest).into_owned());
                    }
                    used = end;
                }
                buf.drain(..used);
                std::thread::sleep(Duration::from_millis(4));
            }
            honest_seen
        })
    };
    // The flooder: distinct 1 KiB payloads as fast as the victim takes them.
    let flooder = {
        let mut p = RawPeer::connect(&victim);
        p.handshake();
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut n = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let mut payload = vec![0x46u8; 1024];
                payload[..8].copy_from_slice(&n.to_le_bytes());
                if p.send("logos", &payload).is_err() {
                    break;
                }
                n += 1;
            }
            n
        })
    };
    std::thread::sleep(Duration::from_millis(500));
    for k in 0..40 {
        assert!(honest
            .connman
            .propagate_message(format!("honest {k}").as_bytes()));
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let flooded = flooder.join().unwrap();
    // Let the slow peer drain what is queued, then stop it.
    std::thread::sleep(Duration::from_secs(3));
    drop(slow);
    let seen = reader.join().unwrap();
    assert!(flooded > 5_000, "the flooder sent only {flooded} payloads");
    let lost: Vec<u32> = (0..40).filter(|k| !seen.contains(&k.to_string())).collect();
    assert!(
        lost.is_empty(),
        "{} of 40 honest payloads never reached the slow peer ({lost:?}); the flooder sent {flooded}",
        lost.len()
    );
}
