//! bitcoind's reaction to 18 kinds of misbehaving inbound peers
//! (`shared/vectors/bitcoind-regtest-disconnects/`), replayed against our node on regtest with
//! `-peertimeout=2`: same disconnect decision, same timing class (at once / next
//! message-handler pass / handshake timeout / never), same messages sent (minus the removed
//! transaction and block messages), and bitcoind's log lines.
mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::*;
use net::Options;
use protocol::{Chain, HashKind};

const VECTORS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/vectors/bitcoind-regtest-disconnects"
);

/// Messages bitcoind sends that this port removed (no transaction or block relay).
const REMOVED: &[&str] = &["wtxidrelay", "sendcmpct", "feefilter"];

/// The order the vectors' peers connected in (peer=0..17 in debug-net.log).
const ORDER: &[&str] = &[
    "wrong_magic",
    "bad_checksum_version",
    "oversize_length",
    "ping_before_version",
    "verack_before_version",
    "obsolete_version",
    "duplicate_version",
    "unknown_command",
    "repeated_getaddr",
    "addr_1001",
    "addr_1000",
    "truncated_version",
    "no_version_timeout",
    "garbage",
    "bad_checksum_after_handshake",
    "sendaddrv2_after_verack",
    "pong_unsolicited",
    "zero_length_ping",
];

fn addr_payload(n: usize) -> Vec<u8> {
    let mut p = Vec::new();
    if n < 253 {
        p.push(n as u8);
    } else {
        p.push(0xfd);
        p.extend_from_slice(&(n as u16).to_le_bytes());
    }
    for i in 0..n {
        p.extend_from_slice(&(T0 as u32).to_le_bytes());
        p.extend_from_slice(&0x409u64.to_le_bytes());
        let mut a = [0u8; 16];
        a[10] = 0xff;
        a[11] = 0xff;
        a[12] = 11;
        a[13] = (i >> 8) as u8;
        a[14] = i as u8;
        a[15] = 1;
        p.extend_from_slice(&a);
        p.extend_from_slice(&8333u16.to_be_bytes());
    }
    p
}

/// Strip the timestamp and replace what differs run to run (ports, nonces, checksums).
fn normalize(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    // "127.0.0.1:PORT" -> "127.0.0.1:P" (except the ":0" of addrMe)
    while let Some(i) = rest.find("127.0.0.1:") {
        out.push_str(&rest[..i + 10]);
        rest = &rest[i + 10..];
        let digits = rest.chars().take_while(char::is_ascii_digit).count();
        if &rest[..digits] == "0" {
            out.push('0');
        } else {
            out.push('P');
        }
        rest = &rest[digits..];
    }
    out.push_str(rest);
    let words: Vec<String> = out
        .split(' ')
        .enumerate()
        .map(|(i, w)| {
            let prev_is_expected = false;
            let _ = (i, prev_is_expected);
            w.to_string()
        })
        .collect();
    let mut s = words.join(" ");
    // nonces and checksums: "<hex> expected" / "expected <hex> was <hex>"
    for key in [" expected, ", " expected ", " was "] {
        if let Some(i) = s.find(key) {
            let (a, b) = s.split_at(i);
            let a_hex_start = a.rfind(' ').map_or(0, |j| j + 1);
            let a = if key == " expected, " {
                format!("{}H", &a[..a_hex_start])
            } else {
                a.to_string()
            };
            let b = &b[key.len()..];
            let hex_len = b.chars().take_while(char::is_ascii_hexdigit).count();
            let b = if key != " expected, " && hex_len > 0 {
                format!("H{}", &b[hex_len..])
            } else {
                b.to_string()
            };
            s = format!("{a}{key}{b}");
        }
    }
    s
}

#[derive(Debug)]
struct Case {
    disconnected: bool,
    seconds: Option<f64>,
    received: Vec<String>,
}

fn load_cases() -> HashMap<String, Case> {
    let text = std::fs::read_to_string(format!("{VECTORS}/cases.json")).expect("cases.json");
    let v: serde_json::Value = serde_json::from_str(&text).expect("json");
    let mut m = HashMap::new();
    for (k, c) in v.as_object().expect("object") {
        m.insert(
            k.clone(),
            Case {
                disconnected: c["disconnected"].as_bool().unwrap_or(false),
                seconds: c["seconds_to_disconnect"].as_f64(),
                received: c["received"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|x| x.as_str().map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_default(),
            },
        );
    }
    m
}

/// bitcoind's log lines for peer `id`, timestamps stripped: from its "Added connection" to
/// its "Cleared nodestate".
fn bitcoind_lines(log: &str, id: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut inside = false;
    for line in log.lines() {
        let text = line.split_once(' ').map_or(line, |(_, t)| t);
        if text.contains("Added connection to") && text.ends_with(&format!(" peer={id}")) {
            inside = true;
        }
        if inside {
            out.push(text.to_string());
        }
        if inside && text == format!("[net] Cleared nodestate for peer={id}") {
            break;
        }
    }
    out
}

/// Lines of bitcoind that our node does not print, each a documented difference.
fn expected_difference(line: &str) -> bool {
    REMOVED
        .iter()
        .any(|m| line.starts_with(&format!("[net] sending {m} ")))
        // we announce relay=0 on Bitcoin networks (no transaction relay)
        || line.starts_with("[net] send version message:")
}

/// Mirrors the bitcoind run that produced shared/vectors/bitcoind-regtest-disconnects.
#[test]
fn bitcoind_regtest_disconnect_vectors() {
    let _g = log_lock();
    let cases = load_cases();
    assert_eq!(cases.len(), 18);
    let log = std::fs::read_to_string(format!("{VECTORS}/debug-net.log")).expect("log");
    let opts = Options {
        peer_timeout: 2,
        ..test_options()
    };
    let node = start_node_with(Chain::Regtest, opts, Recorder::accepting());
    let magic = node.params.message_start;
    let kind = HashKind::Sha256d;
    let mut failures = Vec::new();
    let mut checked = 0usize;

    for (id, name) in ORDER.iter().enumerate() {
        let case = &cases[*name];
        let mark = log_mark();
        let mut p = RawPeer::connect(&node);
        let mut received: Vec<String> = Vec::new();
        let handshake = |p: &mut RawPeer, received: &mut Vec<String>| {
            received.extend(p.handshake());
            while let Some((c, _)) = p.recv(Duration::from_millis(300)) {
                received.push(c);
            }
        };
        match *name {
            "wrong_magic" => {
                let f = frame(
                    [0xf9, 0xbe, 0xb4, 0xd9],
                    kind,
                    "version",
                    &version_payload(70016, 0, 1, true),
                );
                p.send_raw(&f).ok();
            }
            "bad_checksum_version" => {
                let mut f = frame(magic, kind, "version", &version_payload(70016, 0, 1, true));
                f[20..24].copy_from_slice(&[0, 0, 0, 0]);
                p.send_raw(&f).ok();
            }
            "oversize_length" => {
                let mut f = frame(magic, kind, "version", &[]);
                f[16..20].copy_from_slice(&4_000_001u32.to_le_bytes());
                p.send_raw(&f).ok();
            }
            "ping_before_version" => {
                p.send("ping", &7u64.to_le_bytes()).ok();
            }
            "verack_before_version" => {
                p.send("verack", &[]).ok();
            }
            "obsolete_version" => {
                p.send("version", &version_payload(209, 0, 1, true)).ok();
            }
            "duplicate_version" => {
                handshake(&mut p, &mut received);
                p.send_version();
            }
            "unknown_command" => {
                handshake(&mut p, &mut received);
                p.send("foobar", b"abc").ok();
            }
            "repeated_getaddr" => {
                handshake(&mut p, &mut received);
                p.send("getaddr", &[]).ok();
                p.send("getaddr", &[]).ok();
            }
            "addr_1001" => {
                handshake(&mut p, &mut received);
                p.send("addr", &addr_payload(1001)).ok();
            }
            "addr_1000" => {
                handshake(&mut p, &mut received);
                p.send("addr", &addr_payload(1000)).ok();
            }
            "truncated_version" => {
                let v = version_payload(70016, 0, 1, true);
                p.send("version", &v[..20]).ok();
            }
            "no_version_timeout" => {}
            "garbage" => {
                let mut g = vec![0x03, 0xff, 0xd7, 0x77];
                g.extend((0..60u8).map(|i| i.wrapping_mul(37)));
                p.send_raw(&g).ok();
            }
            "bad_checksum_after_handshake" => {
                handshake(&mut p, &mut received);
                let mut f = frame(magic, kind, "ping", &9u64.to_le_bytes());
                f[20..24].copy_from_slice(&[1, 2, 3, 4]);
                p.send_raw(&f).ok();
            }
            "sendaddrv2_after_verack" => {
                handshake(&mut p, &mut received);
                p.send("sendaddrv2", &[]).ok();
            }
            "pong_unsolicited" => {
                handshake(&mut p, &mut received);
                p.send("pong", &0x0707_0707_0707_0707u64.to_le_bytes()).ok();
            }
            "zero_length_ping" => {
                handshake(&mut p, &mut received);
                p.send("ping", &[]).ok();
            }
            other => panic!("unknown case {other}"),
        }

        // Timing class, as bitcoind: 0 s = at once, 1 s = next msghand pass (both: before any
        // clock movement), ~2.5 s = handshake timeout (only after -peertimeout passes),
        // null = never.
        let fast = case.disconnected && case.seconds.is_some_and(|s| s < 1.5);
        let closed_early = p.closed_within(Duration::from_millis(if fast { 3000 } else { 400 }));
        let mut closed_after_timeout = false;
        if !closed_early {
            node.advance(3);
            closed_after_timeout = p.closed_within(Duration::from_millis(if case.disconnected {
                3000
            } else {
                400
            }));
        }
        let ok_timing = match (case.disconnected, fast) {
            (true, true) => closed_early,
            (true, false) => !closed_early && closed_after_timeout,
            (false, _) => !closed_early && !closed_after_timeout,
        };
        if !ok_timing {
            failures.push(format!(
                "{name}: disconnected={} secs={:?} but closed_early={closed_early} after_timeout={closed_after_timeout}",
                case.disconnected, case.seconds
            ));
        }

        let want_received: Vec<String> = case
            .received
            .iter()
            .filter(|m| !REMOVED.contains(&m.as_str()))
            .cloned()
            .collect();
        if received != want_received {
            failures.push(format!(
                "{name}: received {received:?}, bitcoind sent {want_received:?}"
            ));
        }

        drop(p);
        let cleared = format!("[net] Cleared nodestate for peer={id}");
        if !wait_until(Duration::from_secs(5), || {
            log_since(mark).contains(&cleared)
        }) {
            failures.push(format!("{name}: peer={id} never cleared"));
        }
        let ours: Vec<String> = log_since(mark).iter().map(|l| normalize(l)).collect();
        let theirs = bitcoind_lines(&log, id);
        checked += theirs.len();
        if theirs.len() < 5 {
            failures.push(format!(
                "{name}: only {} bitcoind lines found",
                theirs.len()
            ));
        }
        for line in theirs {
            if expected_difference(&line) {
                continue;
            }
            let n = normalize(&line);
            if !ours.contains(&n) {
                failures.push(format!("{name}: missing bitcoind line {n:?}"));
            }
        }
    }
    assert!(checked > 150, "only {checked} bitcoind lines compared");
    if !failures.is_empty() {
        for f in &failures {
            eprintln!("{f}");
        }
        panic!("{} vector mismatches", failures.len());
    }
}
