//! Two nodes over loopback: the version handshake completes in both directions and each side
//! counts the bytes the other sent.
mod common;

use std::time::Duration;

use common::*;
use protocol::Chain;

/// Mirrors p2p_handshake.py / net_tests.cpp: two nodes, one outbound connection, both ends
/// fully connected; byte counters agree across the link.
#[test]
fn two_nodes_handshake_and_byte_counts() {
    let a = start_node(Chain::LogosRegtest, Recorder::accepting());
    let b = start_node(Chain::LogosRegtest, Recorder::accepting());
    assert!(connect(&b, &a), "handshake did not complete");

    let sa = a.connman.get_node_stats();
    let sb = b.connman.get_node_stats();
    assert_eq!(sa.len(), 1);
    assert_eq!(sb.len(), 1);
    assert!(sa[0].f_inbound);
    assert!(!sb[0].f_inbound);
    assert!(sa[0].f_successfully_connected && sb[0].f_successfully_connected);
    assert_eq!(sa[0].n_version, 70016);
    assert_eq!(sb[0].n_version, 70016);
    assert_eq!(sa[0].clean_sub_ver, "/logos-p2p:0.1.0/");
    assert_eq!(sb[0].their_services, protocol::ServiceFlags::NODE_LOGOS);

    // Each side's sent bytes are the other side's received bytes, per message type too.
    let ok = wait_until(Duration::from_secs(5), || {
        let sa = a.connman.get_node_stats();
        let sb = b.connman.get_node_stats();
        sa.len() == 1
            && sb.len() == 1
            && sa[0].n_send_bytes == sb[0].n_recv_bytes
            && sb[0].n_send_bytes == sa[0].n_recv_bytes
            && sa[0].n_send_bytes > 0
    });
    assert!(ok, "byte counts never matched");
    let sa = a.connman.get_node_stats();
    let sb = b.connman.get_node_stats();
    for t in ["version", "verack", "sendaddrv2", "ping"] {
        assert_eq!(
            sa[0]
                .map_send_bytes_per_msg_type
                .get(t)
                .copied()
                .unwrap_or(0),
            sb[0]
                .map_recv_bytes_per_msg_type
                .get(t)
                .copied()
                .unwrap_or(0),
            "{t}"
        );
        assert!(
            sb[0]
                .map_recv_bytes_per_msg_type
                .get(t)
                .copied()
                .unwrap_or(0)
                > 0,
            "{t}"
        );
    }
    // version payload 103 bytes with our 17-char user agent, + 24 header.
    assert_eq!(sa[0].map_send_bytes_per_msg_type.get("version"), Some(&127));
    let (ra, sa_tot) = a.connman.get_total_bytes();
    assert!(ra > 0 && sa_tot > 0);
}

/// The connman threads carry Core's names.
#[test]
fn threads_are_named_as_core() {
    let a = start_node(Chain::LogosRegtest, Recorder::accepting());
    // A new thread sets its OS name as its first step: wait (bounded) until all have run.
    let read_names = || {
        let mut names = Vec::new();
        if let Ok(rd) = std::fs::read_dir("/proc/self/task") {
            for e in rd.flatten() {
                if let Ok(n) = std::fs::read_to_string(e.path().join("comm")) {
                    names.push(n.trim().to_string());
                }
            }
        }
        names
    };
    let want = ["net", "msghand", "addcon", "scheduler"];
    let ok = wait_until(Duration::from_secs(5), || {
        let names = read_names();
        want.iter().all(|w| names.iter().any(|n| n == w))
    });
    assert!(ok, "threads not named as Core: {:?}", read_names());
    a.connman.stop();
}

/// A ping round trip is measured; the pong sets the ping time.
#[test]
fn ping_pong_measures_latency() {
    let a = start_node(Chain::LogosRegtest, Recorder::accepting());
    let b = start_node(Chain::LogosRegtest, Recorder::accepting());
    assert!(connect(&b, &a));
    // The first ping goes out right after verack; the pong comes back at the same mock time,
    // so the ping time is 0 microseconds but it is recorded.
    assert!(wait_until(Duration::from_secs(5), || {
        let s = b.connman.get_node_stats();
        s.len() == 1 && s[0].m_min_ping_time != i64::MAX
    }));
    let s = b.connman.get_node_stats();
    assert_eq!(s[0].m_last_ping_time, 0);
    assert_eq!(s[0].state.as_ref().map(|x| x.m_ping_wait), Some(0));
}

/// `-connect` makes the "opencon" thread dial only the listed peers (as manual connections).
#[test]
fn connect_option_dials_the_listed_peer() {
    let a = start_node(Chain::LogosRegtest, Recorder::accepting());
    let opts = net::Options {
        connect: vec![format!("127.0.0.1:{}", a.port)],
        ..test_options()
    };
    let b = start_node_with(Chain::LogosRegtest, opts, Recorder::accepting());
    assert!(wait_until(Duration::from_secs(10), || b
        .connman
        .fully_connected_count()
        == 1
        && a.connman.fully_connected_count() == 1));
    let s = b.connman.get_node_stats();
    assert_eq!(
        s[0].m_conn_type,
        net::connection_type::ConnectionType::Manual
    );
    assert_eq!(s[0].m_addr_name, format!("127.0.0.1:{}", a.port));
}

/// Tiny -maxreceivebuffer / -maxsendbuffer: fPauseRecv and fPauseSend engage and release, and
/// every message still arrives, in order.
#[test]
fn flow_control_pauses_and_resumes() {
    let small = net::Options {
        max_receive_buffer: 1,
        max_send_buffer: 1,
        ..test_options()
    };
    let up = Recorder::accepting();
    let a = start_node_with(Chain::LogosRegtest, small.clone(), Recorder::accepting());
    let b = start_node_with(Chain::LogosRegtest, small, up.clone());
    assert!(connect(&b, &a));
    let msgs: Vec<Vec<u8>> = (0..40u8).map(|i| vec![i; 200_000]).collect();
    for m in &msgs {
        assert!(a.connman.propagate_message(m));
    }
    assert!(wait_until(Duration::from_secs(20), || up.count() == msgs.len()));
    let got = up.got.lock().map(|g| g.clone()).unwrap_or_default();
    assert_eq!(got, msgs);
}

/// Mirrors getpeerinfo's `timeoffset` (net_processing.cpp, ProcessMessage "version"): the
/// peer's `nTime` minus our clock when its `version` arrived, in seconds.
#[test]
fn version_time_sets_the_peers_clock_offset() {
    let a = start_node(Chain::LogosRegtest, Recorder::accepting());
    // The raw peer stamps its version with T0; our clock is 100 s ahead of it.
    a.advance(100);
    let mut p = RawPeer::connect(&a);
    p.handshake();
    assert!(wait_until(Duration::from_secs(5), || {
        a.connman
            .get_node_stats()
            .iter()
            .any(|s| s.state.as_ref().is_some_and(|x| x.time_offset == -100))
    }));
    a.connman.stop();
}
