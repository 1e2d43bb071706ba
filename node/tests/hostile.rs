//! The hostile-load suite, short form (issue 15, section 2): every attack of
//! `hostile_common` at small counts against the real `logos-p2pd` on loopback, asserting what
//! could go wrong. Three tests, one node each (so they run side by side): the framing attacks,
//! the message floods, the RPC attacks. Each node runs with `-debug=net` (the lines Core logs
//! for each disconnect are checked), `-peertimeout=2` and `-rpcservertimeout=2` (so silent and
//! trickling connections are dropped within a window); its address DB is seeded and four bans
//! are made before the attacks, and read back with the library after a clean stop.
//!
//! Every attack: every honest payload delivered, p99 under [`P99_BOUND_MS`] (generous: a debug
//! binary on shared cores; the long form, `cargo bench -p node --bench hostile`, holds the
//! issue's 100 ms), every RPC probe call answered, peak RSS under 512 MB, the node alive and
//! the honest peers connected. Then the attack's own outcome, from its counters and the log.
//! The full counts and figures are the long form's.

mod bin_common;
mod hostile_common;
mod proc_stats;

use std::time::Duration;

use hostile_common::*;
use serde_json::json;

/// Bound on the honest p99 here, ms.
const P99_BOUND_MS: f64 = 500.0;

/// Occurrences of `needle` in `log`.
fn count(log: &str, needle: &str) -> u64 {
    log.matches(needle).count() as u64
}

/// Inbound connections the node logged as accepted (`-debug=net`).
fn accepted(log: &str) -> u64 {
    log.lines()
        .filter(|l| l.contains("[net] connection from ") && l.ends_with(" accepted"))
        .count() as u64
}

/// Starts a node, seeds it, connects the honest pair, runs the named attacks one after the
/// other (each checked by the common rules, then by `check` with its outcome, the log lines
/// written during it, and the node), stops the node and reads its store back.
fn exercise(tag: &str, names: &[&str], check: impl Fn(&Outcome, &str, &Node)) {
    let all = attacks(false);
    let spec = NodeSpec {
        debug_net: true,
        peer_timeout: Some(2),
        rpc_server_timeout: Some(2),
        extra: all
            .iter()
            .filter(|a| names.contains(&a.name))
            .flat_map(|a| a.node_args.iter().map(|s| s.to_string()))
            .collect(),
        ..NodeSpec::default()
    };
    let mut node = Node::start(tag, &spec).unwrap();
    let seeded = seed(&node).unwrap();
    let honest = Honest::start(node.p2p).unwrap();
    for name in names {
        let a = all.iter().find(|a| a.name == *name).expect("attack");
        let offset = node.log_len();
        let o = run_attack(&node, &honest, a);
        let log = node.log_since(offset);
        println!("{}", table_row(&o));
        let ctx = || format!("{}\nlog tail:\n{}", table_row(&o), tail(&log, 20));
        let l = &o.latency;
        assert!(
            l.sent > 0 && l.lost() == 0,
            "{name}: honest payloads lost: {}",
            ctx()
        );
        assert!(l.p99_ms < P99_BOUND_MS, "{name}: honest p99: {}", ctx());
        assert_eq!(o.probe.ok, o.probe.calls, "{name}: RPC probe: {}", ctx());
        assert!(o.peak_rss_kib < TARGET_RSS_KIB, "{name}: RSS: {}", ctx());
        assert!(o.notes.is_empty(), "{name}: {:?}: {}", o.notes, ctx());
        check(&o, &log, &node);
    }
    drop(honest);
    node.stop().unwrap();
    let db = verify_store(&node.net_dir(), &seeded);
    assert!(db.is_ok(), "{tag}: store after the attacks: {db:?}");
}

/// Connections that send junk, nothing, a header a byte at a time, a 32 MiB length, another
/// network's magic, and messages with a wrong checksum: each is dropped with Core's line (the
/// checksum one only loses its message), and a banned address is still refused.
#[test]
fn framing_attacks() {
    let names = [
        "junk-conns",
        "silent-conns",
        "slowloris",
        "oversized-32mb",
        "bad-magic",
        "bad-checksum",
    ];
    exercise("hostile-framing", &names, |o, log, node| {
        let closed = o.count("closed_by_node");
        let evicted = count(
            log,
            "selected inbound connection for eviction, disconnecting",
        );
        match o.name.as_str() {
            "junk-conns" => {
                // Each junk connection the node took is read (its first four bytes are no
                // message start) or evicted for a newer one first. (The last may still be in
                // the accept queue when the window ends.)
                let bad = count(log, "Header error: Wrong MessageStart");
                let taken = accepted(log);
                assert_eq!(closed, 200, "{log}");
                assert!(taken >= 190, "{taken} accepted: {log}");
                assert_eq!(bad + evicted, taken, "{log}");
                assert_eq!(
                    count(log, "receiving message bytes failed, disconnecting peer="),
                    bad
                );
                // A banned loopback address is refused while the junk goes on.
                let sock = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)
                    .unwrap();
                sock.bind(&std::net::SocketAddr::from(([127, 0, 0, 99], 0)).into())
                    .unwrap();
                sock.connect(&node.p2p.into()).unwrap();
                let refused = bin_common::wait_until(
                    Duration::from_secs(10),
                    || {
                        let l = node.log();
                        l.contains("connection from 127.0.0.99:").then_some(l)
                    },
                    || "no line for the banned address".to_string(),
                );
                assert!(
                    refused.contains("dropped (banned)"),
                    "{}",
                    tail(&refused, 5)
                );
            }
            "silent-conns" => {
                let idle = count(
                    log,
                    "socket no message in first 2 seconds, never received from peer, never sent to peer, disconnecting peer=",
                );
                let taken = accepted(log);
                assert_eq!(closed, 200, "{log}");
                assert!(taken >= 190, "{taken} accepted: {log}");
                assert_eq!(idle + evicted, taken, "{log}");
            }
            "slowloris" => {
                // Bytes arrive, so only "never sent" (the node answers no partial version).
                assert_eq!(closed, 20);
                assert_eq!(
                    count(
                        log,
                        "socket no message in first 2 seconds, never sent to peer, disconnecting peer="
                    ),
                    20,
                    "{log}"
                );
            }
            "oversized-32mb" => {
                assert_eq!(closed, 20);
                assert_eq!(
                    count(
                        log,
                        "Header error: Size too large (logos, 33554432 bytes), peer="
                    ),
                    20,
                    "{log}"
                );
            }
            "bad-magic" => {
                assert_eq!(closed, 50);
                assert_eq!(
                    count(
                        log,
                        "Header error: Wrong MessageStart f9beb4d9 received, peer="
                    ),
                    50,
                    "{log}"
                );
            }
            "bad-checksum" => {
                // Core drops the message and keeps the peer.
                assert_eq!(o.count("sent"), 300);
                assert_eq!(
                    count(
                        log,
                        "Header error: Wrong checksum (logos, 1024 bytes), expected "
                    ),
                    300,
                    "{}",
                    tail(log, 10)
                );
                assert_eq!(o.count("peers_open_at_end"), 1);
            }
            other => unreachable!("{other}"),
        }
    });
}

/// Redundant `version`s, `addr` / `addrv2` at Core's limits and above, distinct `logos` payloads
/// with a slow reader attached, and connect/disconnect churn.
#[test]
fn message_floods() {
    let names = [
        "version-flood",
        "addr-flood-1000",
        "addr-flood-5000",
        "logos-line-rate",
        "churn",
    ];
    exercise("hostile-floods", &names, |o, log, node| {
        match o.name.as_str() {
            "version-flood" => {
                assert_eq!(o.count("sent"), 300);
                assert_eq!(
                    count(log, "redundant version message from peer="),
                    300,
                    "{}",
                    tail(log, 10)
                );
                assert_eq!(o.count("peers_open_at_end"), 1);
                assert_eq!(count(log, "receive version message: /vflood:0.1/"), 50);
            }
            "addr-flood-1000" => {
                // MAX_ADDR_TO_SEND per message is allowed; the token bucket (one token to start,
                // 0.1 a second, no getaddr sent to an inbound peer) limits what is processed.
                assert_eq!(o.count("sent"), 20);
                assert_eq!(
                    count(log, "Received addr: 1000 addresses ("),
                    20,
                    "{}",
                    tail(log, 10)
                );
                let (processed, limited) =
                    (o.count("addr_processed"), o.count("addr_rate_limited"));
                assert_eq!(processed + limited, 20_000, "{processed} + {limited}");
                assert!(processed <= 4, "{processed} addresses processed");
                assert_eq!(count(log, "Misbehaving"), 0, "{log}");
                assert_eq!(o.count("peers_open_at_end"), 2);
            }
            "addr-flood-5000" => {
                // Above MAX_ADDR_TO_SEND: Misbehaving, and a local peer is disconnected, not
                // discouraged; each reconnection gets the same.
                let sent = o.count("sent");
                assert_eq!(sent, 6);
                assert_eq!(o.count("disconnected"), sent);
                assert_eq!(
                    count(log, " message size = 5000"),
                    sent,
                    "{}",
                    tail(log, 10)
                );
                assert_eq!(
                    count(
                        log,
                        "Warning: disconnecting but not discouraging local peer"
                    ),
                    sent
                );
            }
            "logos-line-rate" => {
                assert_eq!(o.count("sent"), 2000);
                assert_eq!(count(log, "received: logos (1024 bytes)"), 2000);
                assert_eq!(o.count("slow_reader_closed_by_node"), 0);
                assert!(o.count("messages_delivered") >= 2000);
            }
            "churn" => {
                assert!(o.count("opened") >= 100, "{}", table_row(o));
                assert!(o.count("handshakes") >= 50, "{}", table_row(o));
                assert_eq!(o.count("handshakes_failed"), 0);
                // Every churned connection leaves: only the honest pair stays.
                bin_common::wait_until(
                    Duration::from_secs(10),
                    || (node.rpc("getconnectioncount", json!([])).ok()? == json!(2)).then_some(()),
                    || {
                        format!(
                            "connections left after the churn: {}",
                            tail(&node.log(), 10)
                        )
                    },
                );
            }
            other => unreachable!("{other}"),
        }
    });
}

/// Oversized RPC bodies, a request a byte at a time, idle connections past the connection
/// cap, wrong credentials: each answered or dropped as it should be, and the probe's calls all
/// answered meanwhile.
#[test]
fn rpc_attacks() {
    let names = [
        "rpc-oversized",
        "rpc-slow-bytes",
        "rpc-idle",
        "rpc-wrong-auth",
    ];
    exercise("hostile-rpc", &names, |o, log, _node| {
        match o.name.as_str() {
            "rpc-oversized" => {
                // Over the body limit: 413 at once; wrong credentials: 401 before the body is read;
                // a whole 32 MiB body of junk with good credentials: read, a JSON parse error.
                let over = o.count("over_status_413");
                let wrong = o.count("wrongauth_status_401");
                assert!(over > 0 && wrong > 0, "{}", table_row(o));
                let others: Vec<_> = o
                    .counters
                    .iter()
                    .filter(|(k, _)| {
                        !["over_status_413", "wrongauth_status_401", "big_status_500"]
                            .contains(&k.as_str())
                    })
                    .collect();
                assert!(others.is_empty(), "unexpected outcomes {others:?}");
                assert_eq!(o.count("big_status_500"), 1);
                assert_eq!(
                    count(
                        log,
                        "ThreadRPCServer incorrect password attempt from 127.0.0.1:"
                    ),
                    wrong
                );
            }
            "rpc-slow-bytes" => {
                // The whole request must arrive within -rpcservertimeout (2 s).
                assert_eq!(o.count("closed_by_node"), 20, "{}", table_row(o));
            }
            "rpc-idle" => {
                // More idle connections than the server serves at once: the oldest make way for
                // new ones (the probe got through), the rest time out.
                assert_eq!(o.count("closed_by_node"), 200, "{}", table_row(o));
            }
            "rpc-wrong-auth" => {
                let n = o.count("status_401");
                assert!(n > 0, "{}", table_row(o));
                assert_eq!(o.counters.len(), 1, "{}", table_row(o));
                assert_eq!(
                    count(
                        log,
                        "ThreadRPCServer incorrect password attempt from 127.0.0.1:"
                    ),
                    n
                );
            }
            other => unreachable!("{other}"),
        }
    });
}

/// `announce` floods on announcing links (the node runs `-logosrelay=announce`): 50,000 short
/// ids per message from each of 4 peers that never answer a request. Core's rules for an `inv`
/// flood hold: at the 50,000-entry limit nobody is punished, entries past the per-peer cap of
/// 5,000 are ignored, and the node keeps asking (at most 100 requests in flight per peer).
#[test]
fn announce_flood() {
    exercise("announce", &["announce-flood"], |o, log, _node| {
        assert_eq!(o.count("sent"), 16, "{}", table_row(o));
        assert_eq!(o.count("peers_open_at_end"), 4, "{}", table_row(o));
        assert_eq!(count(log, "Misbehaving"), 0);
        // Each attacker was asked for what it announced.
        let asked = count(log, "sending getlogos (");
        assert!(asked >= 4, "{asked} getlogos sent\n{}", tail(log, 20));
    });
}
