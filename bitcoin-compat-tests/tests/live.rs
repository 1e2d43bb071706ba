//! The live tier: our `logos-p2pd` against a real bitcoind (issue 8, part 3).
//!
//! Enabled when `BITCOIND` names a bitcoind binary built from Bitcoin Core (and `BITCOIN_CLI` its
//! bitcoin-cli; default: `bitcoin-cli` beside it):
//!
//! ```text
//! BITCOIND=/path/bitcoind BITCOIN_CLI=/path/bitcoin-cli cargo test -p bitcoin-compat-tests --test live
//! ```
//!
//! Without `BITCOIND` every test prints why it was skipped and passes. Each test starts its own
//! bitcoind `-regtest` (loopback, free ports, `-connect=0 -dnsseed=0 -fixedseeds=0 -discover=0
//! -listenonion=0 -debug=net`, fresh data directory) and its own `logos-p2pd -regtest
//! -test=loopbackonly`; both are stopped by `Drop` guards if a test fails. Every wait is bounded
//! (30 s). The tests run one at a time (two daemons each).
//!
//! Checks that read our node's state use our JSON-RPC through the real `bitcoin-cli` when
//! `logos-p2pd` started its RPC server; where a check can be made without it (the address DB our
//! node wrote to `p2p.lmdb` after a clean shutdown, our debug log), it falls back to that and says
//! so on stdout. The check of `bitcoin-cli` against our RPC has no fallback.
//!
//! Other variables: `LOGOS_P2PD` runs that binary instead of building `logos-p2pd`;
//! `LIVE_OUR_RPC=0` starts our node with `-server=0` (to exercise the fallbacks);
//! `LIVE_KEEP_DIRS=1` keeps the data directories (and their debug.log) for a look afterwards.
//!
//! The checks follow Core's functional tests where there is one: `p2p_v2_transport.py` (v1
//! fallback), `p2p_addr_relay.py` / `p2p_getaddr_caching.py` (getaddr), `p2p_disconnect_ban.py`
//! (setban), `p2p_ping.py` (ping), `rpc_net.py` (field sets, getrawaddrman).

mod live_support;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use live_support::*;
use serde_json::Value;

/// One live test at a time: each runs two daemons, and the machines this runs on are small.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// Waits until bitcoind lists a peer for which `pred` holds and whose handshake is done
/// (`version` > 0); returns it.
fn wait_btc_peer(btc: &mut Bitcoind, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
    let cli = btc.cli.clone();
    wait_for(what, || {
        btc.assert_running();
        let peers = peer_list(cli.call("getpeerinfo", &[])?);
        peers
            .iter()
            .find(|p| p["version"].as_i64().unwrap_or(0) > 0 && pred(p))
            .cloned()
            .ok_or_else(|| serde_json::to_string_pretty(&peers).unwrap())
    })
}

/// Our node's handshake with bitcoind is done when our log shows verack received.
fn wait_our_verack(ours: &mut OurNode) {
    ours.wait_log_from(0, "[net] received: verack (0 bytes) peer=");
}

/// The numbers of our log line `Received addr: N addresses (P processed, R rate-limited) from
/// peer=X` (Core's text).
fn parse_received_addr(line: &str) -> (u64, u64, u64) {
    let rest = line
        .split("Received addr: ")
        .nth(1)
        .unwrap_or_else(|| panic!("{line}"));
    let nums: Vec<u64> = rest
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .take(3)
        .map(|s| s.parse().unwrap())
        .collect();
    (nums[0], nums[1], nums[2])
}

/// Check 1: our node dials bitcoind (`-connect`); the version handshake completes both ways.
#[test]
fn our_node_handshakes_with_bitcoind() {
    let Some(env) = live_env() else { return };
    let _serial = serial();
    println!("bitcoind: {}", Bitcoind::version_line(&env));
    let mut btc = Bitcoind::start(&env, "hs", false, &[]);
    let mut ours = OurNode::start(
        &env,
        "hs",
        OurOpts {
            connect: Some(btc.p2p_port),
            ..OurOpts::default()
        },
    );
    let peer = wait_btc_peer(&mut btc, "our node in bitcoind's getpeerinfo", |p| {
        p["inbound"] == Value::Bool(true)
    });
    assert_eq!(peer["subver"], net::connman::DEFAULT_USER_AGENT, "{peer:#}");
    assert_eq!(
        peer["version"].as_i64(),
        Some(i64::from(protocol::version::PROTOCOL_VERSION)),
        "{peer:#}"
    );
    assert_eq!(peer["connection_type"], "inbound", "{peer:#}");
    assert_eq!(peer["transport_protocol_type"], "v1", "{peer:#}");
    // Our side: verack sent and received, the peer announced as a manual v1 peer.
    wait_our_verack(&mut ours);
    ours.wait_log_from(0, "[net] sending verack (0 bytes) peer=");
    let line = ours.wait_log_from(0, "New manual v1 peer connected: version: ");
    let btc_version = btc.cli.must("getnetworkinfo", &[]);
    assert!(
        line.contains(&format!(
            "version: {}",
            btc_version["protocolversion"].as_i64().unwrap()
        )),
        "{line}"
    );
    // bitcoind's side: our verack received.
    btc.wait_log_from(0, "[net] received: verack (0 bytes) peer=");
    let recv_version = ours.wait_log_from(0, "receive version message: ");
    assert!(
        recv_version.contains(btc_version["subversion"].as_str().unwrap()),
        "{recv_version}"
    );
    if ours.has_rpc {
        let our_peers = peer_list(ours.cli.must("getpeerinfo", &[]));
        assert_eq!(our_peers.len(), 1, "{our_peers:#?}");
        assert_eq!(our_peers[0]["subver"], btc_version["subversion"]);
        assert_eq!(our_peers[0]["connection_type"], "manual");
    }
    ours.stop_cleanly();
}

/// Check 2: bitcoind `addnode <our node> onetry`. bitcoind (default `-v2transport=1`) opens with
/// BIP324 bytes; our v1-only node refuses them as a v1-only Core node does (wrong message start,
/// disconnect without sending anything); bitcoind retries over v1 and the handshake completes.
#[test]
fn bitcoind_addnode_falls_back_to_v1() {
    let Some(env) = live_env() else { return };
    let _serial = serial();
    let mut btc = Bitcoind::start(&env, "v2", false, &[]);
    let mut ours = OurNode::start(
        &env,
        "v2",
        OurOpts {
            listen: true,
            ..OurOpts::default()
        },
    );
    let target = format!("127.0.0.1:{}", ours.p2p_port);
    btc.cli.must("addnode", &[&target, "onetry"]);
    let peer = wait_btc_peer(&mut btc, "our node as bitcoind's manual peer", |p| {
        p["addr"] == Value::String(target.clone())
    });
    assert_eq!(peer["transport_protocol_type"], "v1", "{peer:#}");
    assert_eq!(peer["connection_type"], "manual", "{peer:#}");
    assert_eq!(peer["inbound"], false, "{peer:#}");
    assert_eq!(peer["subver"], net::connman::DEFAULT_USER_AGENT, "{peer:#}");
    // bitcoind tried v2 first and fell back.
    btc.wait_log_from(0, "retrying with v1 transport protocol for peer=");
    // We refused the v2 bytes: their first 4 bytes are not the regtest message start.
    let refused = ours.wait_log_from(0, "Header error: Wrong MessageStart ");
    assert!(!refused.contains("fabfb5da received"), "{refused}");
    wait_our_verack(&mut ours);
    ours.wait_log_from(0, "New inbound v1 peer connected");
    if ours.has_rpc {
        let our_peers = peer_list(ours.cli.must("getpeerinfo", &[]));
        assert_eq!(our_peers.len(), 1, "{our_peers:#?}");
        assert_eq!(our_peers[0]["inbound"], true);
        assert_eq!(our_peers[0]["transport_protocol_type"], "v1");
    }
    ours.stop_cleanly();
}

/// Check 3: bitcoind holds `shared/vectors/bitcoind-regtest/peers.dat`; our node connects, sends
/// `getaddr`, gets an `addrv2` from bitcoind's DB, and the addresses land in our addrman.
#[test]
fn getaddr_answer_from_bitcoind_db_lands_in_our_addrman() {
    let Some(env) = live_env() else { return };
    let _serial = serial();
    // bitcoind's clock is set to the vector's time so that its answer does not depend on today's
    // date (see vector_mocktime).
    let mocktime = format!("-mocktime={}", vector_mocktime());
    let mut btc = Bitcoind::start(&env, "getaddr", true, &[mocktime]);
    let btc_db = rawaddrman_services(&btc.cli.must("getrawaddrman", &[]));
    assert_eq!(btc_db.len(), 1488, "bitcoind loaded the vector peers.dat");
    let mut ours = OurNode::start(
        &env,
        "getaddr",
        OurOpts {
            connect: Some(btc.p2p_port),
            ..OurOpts::default()
        },
    );
    ours.wait_log_from(0, "[net] sending getaddr (0 bytes) peer=");
    ours.wait_log_from(0, "[net] received: addrv2 (");
    let line = ours.wait_log_from(0, "Received addr: ");
    let (n, processed, rate_limited) = parse_received_addr(&line);
    // Core answers with MAX_PCT_ADDR_TO_SEND = 23% of its 1488 addresses (none is terrible at
    // the mock time), all of them processed: the getaddr answer is not rate-limited.
    assert_eq!(n, 1488 * 23 / 100, "{line}");
    assert_eq!(processed, n, "{line}");
    assert_eq!(rate_limited, 0, "{line}");
    btc.wait_log_from(0, "[net] sending addrv2 (");
    println!("bitcoind answered getaddr with {n} addresses");

    // Our address DB as getrawaddrman shows it: through our RPC, or from p2p.lmdb.
    let raw: Value = if ours.has_rpc {
        let raw = ours.cli.must("getrawaddrman", &[]);
        let info = ours.cli.must("getaddrmaninfo", &[]);
        let total = info["all_networks"]["total"].as_u64().unwrap();
        assert_eq!(rawaddrman_services(&raw).len() as u64, total, "{info:#}");
        // getnodeaddresses (which leaves out terrible entries) gives a part of it.
        let listed: BTreeSet<_> = ours
            .cli
            .must("getnodeaddresses", &["0"])
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["address"].as_str().unwrap().to_string(),
                    e["port"].as_u64().unwrap(),
                    e["services"].as_u64().unwrap(),
                )
            })
            .collect();
        assert!(listed.is_subset(&rawaddrman_services(&raw)));
        ours.stop_cleanly();
        raw
    } else {
        println!(
            "our RPC is not available: reading our addrman from p2p.lmdb after a clean shutdown"
        );
        ours.stop_cleanly();
        let am = ours.stored_addrman();
        serde_json::from_str(&addrman::store::getrawaddrman(&am).write(0, 0)).unwrap()
    };
    let ours_db = rawaddrman_services(&raw);
    // Every entry is new, learnt from bitcoind (source 127.0.0.1).
    assert!(raw["tried"].as_object().unwrap().is_empty(), "{raw:#}");
    for e in raw["new"].as_object().unwrap().values() {
        assert_eq!(e["source"], "127.0.0.1", "{e}");
    }
    assert!(!ours_db.is_empty(), "our addrman is empty");
    assert!(ours_db.len() as u64 <= n, "{} > {n}", ours_db.len());
    let foreign: Vec<_> = ours_db.difference(&btc_db).collect();
    assert!(
        foreign.is_empty(),
        "addresses (address, port, services) in our addrman that bitcoind's DB does not hold: {foreign:?}"
    );
    println!(
        "our addrman holds {} of the {n} addresses, all from bitcoind's DB",
        ours_db.len()
    );
}

/// Check 4: bitcoind `setban 127.0.0.1 add` disconnects our node and keeps it out.
#[test]
fn bitcoind_setban_disconnects_our_node() {
    let Some(env) = live_env() else { return };
    let _serial = serial();
    let mut btc = Bitcoind::start(&env, "ban", false, &[]);
    let mut ours = OurNode::start(
        &env,
        "ban",
        OurOpts {
            connect: Some(btc.p2p_port),
            ..OurOpts::default()
        },
    );
    wait_btc_peer(&mut btc, "our node connected", |_| true);
    wait_our_verack(&mut ours);
    let (from, btc_from) = (ours.log_len(), btc.log_len());
    btc.cli.must("setban", &["127.0.0.1", "add"]);
    btc.wait_log_from(
        btc_from,
        "[net] disconnect by subnet=127.0.0.1/32 match, disconnecting peer=",
    );
    let line = ours.wait_log_from(from, "disconnecting peer=0");
    println!("our log: {line}");
    let banned = btc.cli.must("listbanned", &[]);
    assert_eq!(banned[0]["address"], "127.0.0.1/32", "{banned:#}");
    // Our node dials again (-connect, as Core's ThreadOpenConnections); bitcoind refuses it.
    ours.wait_log_from(from, "disconnecting peer=1");
    btc.wait_log_from(btc_from, "dropped (banned)");
    let cli = btc.cli.clone();
    wait_for("bitcoind's getpeerinfo to be empty", || {
        let peers = peer_list(cli.call("getpeerinfo", &[])?);
        if peers.is_empty() {
            Ok(())
        } else {
            Err(format!("{peers:#?}"))
        }
    });
    // And stays empty.
    let until = Instant::now() + Duration::from_secs(2);
    while Instant::now() < until {
        let peers = btc.peers();
        assert!(peers.is_empty(), "banned peer back: {peers:#?}");
        std::thread::sleep(Duration::from_millis(250));
    }
    ours.assert_running();
    ours.stop_cleanly();
}

/// Check 5: ping both ways. bitcoind's `ping` RPC → our pong (bitcoind's getpeerinfo shows a
/// ping time); our `ping` RPC → bitcoind's pong (our getpeerinfo shows a ping time).
#[test]
fn ping_both_ways() {
    let Some(env) = live_env() else { return };
    let _serial = serial();
    let mut btc = Bitcoind::start(&env, "ping", false, &[]);
    let mut ours = OurNode::start(
        &env,
        "ping",
        OurOpts {
            connect: Some(btc.p2p_port),
            ..OurOpts::default()
        },
    );
    wait_btc_peer(&mut btc, "our node connected", |_| true);
    wait_our_verack(&mut ours);
    // Let the pings both sides send after the handshake be answered first, so that what follows
    // is caused by the `ping` calls.
    let btc_cli = btc.cli.clone();
    let before = wait_settled_peers(&btc_cli, "bitcoind", 1).remove(0);
    ours.wait_log_from(0, "[net] received: pong (8 bytes) peer=");
    ours.wait_log_from(0, "[net] sending pong (8 bytes) peer=");

    // bitcoind → us: bitcoind's ping call, our pong, bitcoind measures a ping time.
    let (ours_from, btc_from) = (ours.log_len(), btc.log_len());
    assert_eq!(btc.cli.must("ping", &[]), Value::Null);
    ours.wait_log_from(ours_from, "[net] received: ping (8 bytes) peer=");
    ours.wait_log_from(ours_from, "[net] sending pong (8 bytes) peer=");
    btc.wait_log_from(btc_from, "[net] received: pong (8 bytes) peer=");
    let pongs_before = before["bytesrecv_per_msg"]["pong"].as_u64().unwrap();
    let peer = wait_for("a second pong in bitcoind's getpeerinfo", || {
        let p = peer_list(btc_cli.call("getpeerinfo", &[])?).remove(0);
        let pongs = p["bytesrecv_per_msg"]["pong"].as_u64().unwrap_or(0);
        if pongs >= pongs_before + 32 && p.get("pingtime").is_some() && p.get("pingwait").is_none()
        {
            Ok(p)
        } else {
            Err(format!("{p:#}"))
        }
    });
    assert!(peer["pingtime"].as_f64().unwrap() >= 0.0, "{peer:#}");

    // us → bitcoind.
    if ours.has_rpc {
        let our_cli = ours.cli.clone();
        let before = wait_settled_peers(&our_cli, "our node", 1).remove(0);
        let pongs_before = before["bytesrecv_per_msg"]["pong"].as_u64().unwrap();
        let (ours_from, btc_from) = (ours.log_len(), btc.log_len());
        assert_eq!(ours.cli.must("ping", &[]), Value::Null);
        ours.wait_log_from(ours_from, "[net] sending ping (8 bytes) peer=");
        btc.wait_log_from(btc_from, "[net] received: ping (8 bytes) peer=");
        btc.wait_log_from(btc_from, "[net] sending pong (8 bytes) peer=");
        ours.wait_log_from(ours_from, "[net] received: pong (8 bytes) peer=");
        let peer = wait_for("a second pong in our getpeerinfo", || {
            let p = peer_list(our_cli.call("getpeerinfo", &[])?).remove(0);
            let pongs = p["bytesrecv_per_msg"]["pong"].as_u64().unwrap_or(0);
            if pongs >= pongs_before + 32
                && p.get("pingtime").is_some()
                && p.get("pingwait").is_none()
            {
                Ok(p)
            } else {
                Err(format!("{p:#}"))
            }
        });
        assert!(peer["pingtime"].as_f64().unwrap() >= 0.0, "{peer:#}");
        assert!(peer["minping"].as_f64().unwrap() >= 0.0, "{peer:#}");
    } else {
        // Without our RPC: the ping our node sends after the handshake (Core's MaybeSendPing)
        // and bitcoind's pong to it.
        println!("our RPC is not available: checking the ping our node sends after the handshake");
        ours.wait_log_from(0, "[net] sending ping (8 bytes) peer=");
        btc.wait_log_from(0, "[net] sending pong (8 bytes) peer=");
        let peer = &btc.peers()[0];
        assert!(
            peer["bytessent_per_msg"]["pong"].as_u64().unwrap() >= 32,
            "{peer:#}"
        );
    }
    ours.stop_cleanly();
}

/// Fields left out of the comparison of check 6, with the reason: they describe transaction or
/// block state, which this port does not have. `(call, key path, reason)`; `[]` is an array's
/// element, `*` a key that is data (a message name, a `bucket/position`).
const TX_BLOCK_FIELDS: &[(&str, &str, &str)] = &[
    (
        "getpeerinfo",
        "[].relaytxes",
        "whether the peer relays transactions (version's fRelay / BIP37)",
    ),
    (
        "getpeerinfo",
        "[].last_transaction",
        "time of the last transaction received from the peer",
    ),
    (
        "getpeerinfo",
        "[].last_block",
        "time of the last block received from the peer",
    ),
    (
        "getpeerinfo",
        "[].bip152_hb_to",
        "compact-block (BIP152) high-bandwidth relay to the peer",
    ),
    (
        "getpeerinfo",
        "[].bip152_hb_from",
        "compact-block (BIP152) high-bandwidth relay from the peer",
    ),
    (
        "getpeerinfo",
        "[].presynced_headers",
        "header pre-sync progress",
    ),
    (
        "getpeerinfo",
        "[].synced_headers",
        "last header in common with the peer",
    ),
    (
        "getpeerinfo",
        "[].synced_blocks",
        "last block in common with the peer",
    ),
    (
        "getpeerinfo",
        "[].inflight",
        "blocks requested from the peer",
    ),
    (
        "getpeerinfo",
        "[].minfeefilter",
        "the peer's transaction fee filter (feefilter)",
    ),
    (
        "getnetworkinfo",
        "localrelay",
        "whether we relay transactions",
    ),
    (
        "getnetworkinfo",
        "relayfee",
        "minimum transaction relay fee",
    ),
    (
        "getnetworkinfo",
        "incrementalfee",
        "transaction fee increment for replacement / mempool limiting",
    ),
    (
        "getnettotals",
        "uploadtarget.serve_historical_blocks",
        "whether historical blocks are still served under -maxuploadtarget",
    ),
];

/// The calls of issue 8 part 1 that bitcoind has too (`sendlogos` / `getlogosinfo` are ours only).
const ISSUE_8_CALLS: &[&str] = &[
    "getpeerinfo",
    "getnetworkinfo",
    "getconnectioncount",
    "getnettotals",
    "addnode",
    "disconnectnode",
    "getaddednodeinfo",
    "setban",
    "listbanned",
    "clearbanned",
    "getnodeaddresses",
    "addpeeraddress",
    "getaddrmaninfo",
    "getrawaddrman",
    "ping",
    "uptime",
    "logging",
    "help",
    "stop",
];

/// Every key path of `v` (`a`, `a.b`, `[].c`) with the JSON types found there; the keys of
/// objects at a path in `wildcards` are replaced by `*` (they are data, not field names).
fn key_paths(
    v: &Value,
    prefix: &str,
    wildcards: &[&str],
    out: &mut BTreeMap<String, BTreeSet<&'static str>>,
) {
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                let seg = if wildcards.contains(&prefix) { "*" } else { k };
                let path = if prefix.is_empty() {
                    seg.to_string()
                } else {
                    format!("{prefix}.{seg}")
                };
                out.entry(path.clone()).or_default().insert(kind(child));
                key_paths(child, &path, wildcards, out);
            }
        }
        Value::Array(a) => {
            let path = format!("{prefix}[]");
            for el in a {
                out.entry(path.clone()).or_default().insert(kind(el));
                key_paths(el, &path, wildcards, out);
            }
        }
        _ => {}
    }
}

/// The JSON type of a value, for the comparison.
fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Compares the field sets of one call's answers; returns a description of each difference.
fn compare_fields(call: &str, btc: &Value, ours: &Value, wildcards: &[&str]) -> Vec<String> {
    if kind(btc) != kind(ours) {
        return vec![format!(
            "{call}: bitcoind answers a {}, ours a {}",
            kind(btc),
            kind(ours)
        )];
    }
    let excluded: BTreeSet<&str> = TX_BLOCK_FIELDS
        .iter()
        .filter(|(c, _, _)| *c == call)
        .map(|(_, p, _)| *p)
        .collect();
    let paths = |v: &Value| {
        let mut m = BTreeMap::new();
        key_paths(v, "", wildcards, &mut m);
        m.retain(|p, _| !excluded.contains(p.as_str()));
        m
    };
    let (b, o) = (paths(btc), paths(ours));
    println!("{call}: {} field paths compared", b.len());
    let mut diffs = Vec::new();
    // `x[]` holds the types of an array's elements: compared, but not a field of its own.
    let field = |p: &&String| !p.ends_with("[]");
    for (p, kinds) in &b {
        match o.get(p) {
            None if field(&p) => diffs.push(format!("{call}: field {p} missing from ours")),
            None => {}
            // Where both answers have the field, the same JSON types (an empty array on one
            // side, e.g. `warnings`, gives no element types to compare).
            Some(ok) if ok != kinds => diffs.push(format!(
                "{call}: field {p} is {kinds:?} in bitcoind's answer, {ok:?} in ours"
            )),
            Some(_) => {}
        }
    }
    for p in o.keys().filter(field).filter(|p| !b.contains_key(*p)) {
        diffs.push(format!("{call}: field {p} only in ours"));
    }
    diffs
}

/// Waits until `cli`'s getpeerinfo shows `n` peers, all with the handshake done and a measured
/// ping (so the conditional fields `pingtime` / `minping` / `addrlocal` are settled).
fn wait_settled_peers(cli: &Cli, who: &str, n: usize) -> Vec<Value> {
    wait_for(&format!("{n} settled peers in {who}'s getpeerinfo"), || {
        let peers = peer_list(cli.call("getpeerinfo", &[])?);
        let settled = peers.len() == n
            && peers.iter().all(|p| {
                p["version"].as_i64().unwrap_or(0) > 0
                    && p.get("pingtime").is_some()
                    && p.get("pingwait").is_none()
            });
        if settled {
            Ok(peers)
        } else {
            Err(format!("{peers:#?}"))
        }
    })
}

/// Check 6: `bitcoin-cli` against our RPC answers every call of issue 8 part 1 with the same field
/// set as against bitcoind (less [`TX_BLOCK_FIELDS`]). Both nodes hold the vector `peers.dat`, an
/// added node, a ban, and one inbound and one outbound connection to each other.
#[test]
fn bitcoin_cli_against_our_rpc_gives_bitcoinds_field_sets() {
    let Some(env) = live_env() else { return };
    let _serial = serial();
    let mut btc = Bitcoind::start(&env, "cli", true, &[]);
    let mut ours = OurNode::start(
        &env,
        "cli",
        OurOpts {
            connect: Some(btc.p2p_port),
            listen: true,
            peers_dat: true,
        },
    );
    ours.require_rpc("check 6 (bitcoin-cli against our RPC)");
    btc.cli.must(
        "addnode",
        &[&format!("127.0.0.1:{}", ours.p2p_port), "onetry"],
    );
    let (b, o) = (btc.cli.clone(), ours.cli.clone());
    let btc_peers = wait_settled_peers(&b, "bitcoind", 2);
    let our_peers = wait_settled_peers(&o, "our node", 2);

    let mut diffs = Vec::new();
    // getpeerinfo: inbound with inbound, outbound with outbound.
    for inbound in [true, false] {
        let pick = |peers: &[Value]| {
            Value::Array(
                peers
                    .iter()
                    .filter(|p| p["inbound"] == Value::Bool(inbound))
                    .cloned()
                    .collect(),
            )
        };
        diffs.extend(compare_fields(
            "getpeerinfo",
            &pick(&btc_peers),
            &pick(&our_peers),
            &["[].bytessent_per_msg", "[].bytesrecv_per_msg"],
        ));
    }

    // The same set-up on both: an added node (nobody listens there) and a ban.
    let nowhere = format!("127.0.0.1:{}", free_port());
    for cli in [&b, &o] {
        assert_eq!(cli.must("addnode", &[&nowhere, "add"]), Value::Null);
        assert_eq!(
            cli.must("setban", &["192.0.2.1", "add", "3600"]),
            Value::Null
        );
    }

    // Read-only calls, compared field set by field set.
    let calls: &[(&str, &[&str], &[&str])] = &[
        ("getnetworkinfo", &[], &[]),
        ("getconnectioncount", &[], &[]),
        ("getnettotals", &[], &[]),
        ("getaddednodeinfo", &[], &[]),
        ("listbanned", &[], &[]),
        // After addpeeraddress: at least one address that is not terrible whatever the date.
        ("addpeeraddress", &["12.34.56.78", "8333"], &[]),
        ("getnodeaddresses", &["10"], &[]),
        ("getaddrmaninfo", &[], &[]),
        ("getrawaddrman", &[], &["new", "tried"]),
        ("uptime", &[], &[]),
        ("ping", &[], &[]),
        ("help", &[], &[]),
        ("help", &["getpeerinfo"], &[]),
    ];
    let mut answers = BTreeMap::new();
    for (call, args, wildcards) in calls {
        let bv = b.must(call, args);
        let ov = o.must(call, args);
        diffs.extend(compare_fields(call, &bv, &ov, wildcards));
        answers.insert(
            std::iter::once(*call)
                .chain(args.iter().copied())
                .collect::<Vec<_>>()
                .join(" "),
            (bv, ov),
        );
    }
    assert_eq!(answers["getconnectioncount"].1, 2);

    // logging: the keys are category names; the same names on both.
    let (bl, ol) = (b.must("logging", &[]), o.must("logging", &[]));
    let bcats: BTreeSet<&String> = bl.as_object().unwrap().keys().collect();
    let ocats: BTreeSet<&String> = ol.as_object().unwrap().keys().collect();
    for c in ocats.difference(&bcats) {
        diffs.push(format!("logging: category {c} only in ours"));
    }
    for c in bcats.difference(&ocats) {
        diffs.push(format!("logging: category {c} missing from ours"));
    }

    // help: every call of issue 8 is listed by both, or (Core's hidden calls) by neither, and
    // `help <call>` answers on both.
    let lists = |help: &Value, call: &str| {
        help.as_str()
            .unwrap()
            .lines()
            .any(|l| l.split_whitespace().next() == Some(call))
    };
    let (bh, oh) = (&answers["help"].0, &answers["help"].1);
    for call in ISSUE_8_CALLS {
        if lists(bh, call) != lists(oh, call) {
            diffs.push(format!(
                "help: {call} listed by bitcoind: {}, by ours: {}",
                lists(bh, call),
                lists(oh, call)
            ));
        }
        for (who, cli) in [("bitcoind", &b), ("ours", &o)] {
            let text = cli.must("help", &[call]);
            if !text.as_str().is_some_and(|t| t.starts_with(call)) {
                diffs.push(format!("help {call} of {who}: {text}"));
            }
        }
    }

    // Calls that change state: the same answer type on both.
    // Each side drops its inbound peer: two different connections.
    let inbound_id = |peers: &[Value]| {
        peers
            .iter()
            .find(|p| p["inbound"] == Value::Bool(true))
            .map(|p| p["id"].to_string())
            .unwrap()
    };
    let btc_peer_id = inbound_id(&btc_peers);
    let our_peer_id = inbound_id(&our_peers);
    for (cli, peer_id) in [(&b, &btc_peer_id), (&o, &our_peer_id)] {
        assert_eq!(cli.must("setban", &["192.0.2.1", "remove"]), Value::Null);
        assert_eq!(cli.must("clearbanned", &[]), Value::Null);
        assert_eq!(cli.must("addnode", &[&nowhere, "remove"]), Value::Null);
        assert_eq!(
            cli.must("disconnectnode", &["", peer_id.as_str()]),
            Value::Null
        );
        assert_eq!(cli.must("listbanned", &[]), Value::Array(vec![]));
    }
    // Errors: the same code and message for an unknown method and a wrong argument.
    for (call, args) in [
        ("nosuchcall", &[][..]),
        ("getnodeaddresses", &["-1"][..]),
        ("setban", &["not-an-ip", "add"][..]),
    ] {
        let be = b.call(call, args).expect_err("bitcoind should refuse");
        let oe = o.call(call, args).expect_err("ours should refuse");
        // bitcoin-cli's exit status and "error code: …\nerror message:\n…".
        let msg = |e: &str| {
            e.split_once("): ")
                .map(|x| x.1.to_string())
                .unwrap_or_default()
        };
        if msg(&be) != msg(&oe) {
            diffs.push(format!("{call} {args:?}: bitcoind {be:?}, ours {oe:?}"));
        }
    }

    // stop: a string on both, and both exit.
    let bs = b.must("stop", &[]);
    let os = o.must("stop", &[]);
    assert!(bs.is_string() && os.is_string(), "{bs} / {os}");
    let st = ours.terminate();
    assert_eq!(st.code(), Some(0));
    btc.terminate();

    for (call, path, why) in TX_BLOCK_FIELDS {
        println!("not compared: {call} {path} ({why})");
    }
    assert!(diffs.is_empty(), "field sets differ:\n{}", diffs.join("\n"));
}

/// Check 7: our node loaded with the vector peers.dat (imported on first start) shows the same
/// `getrawaddrman` as bitcoind loaded with it (same nKey, SHA256d bucketing on regtest).
#[test]
fn our_getrawaddrman_equals_bitcoinds_for_same_peers_dat() {
    let Some(env) = live_env() else { return };
    let _serial = serial();
    let btc = Bitcoind::start(&env, "raw", true, &[]);
    let want = btc.cli.must("getrawaddrman", &[]);
    let mut ours = OurNode::start(
        &env,
        "raw",
        OurOpts {
            peers_dat: true,
            ..OurOpts::default()
        },
    );
    ours.wait_log_from(0, "Loaded 1488 addresses from peers.dat");
    let got: Value = if ours.has_rpc {
        let v = ours.cli.must("getrawaddrman", &[]);
        ours.stop_cleanly();
        v
    } else {
        println!(
            "our RPC is not available: getrawaddrman of the address DB our node wrote to p2p.lmdb"
        );
        ours.stop_cleanly();
        let am = ours.stored_addrman();
        serde_json::from_str(&addrman::store::getrawaddrman(&am).write(0, 0)).unwrap()
    };
    for table in ["new", "tried"] {
        let (w, g) = (
            want[table].as_object().unwrap(),
            got[table].as_object().unwrap(),
        );
        let mut diffs: Vec<String> = w
            .iter()
            .filter(|(k, v)| g.get(*k) != Some(v))
            .map(|(k, v)| format!("{table}[{k}]: bitcoind {v}, ours {:?}", g.get(k)))
            .collect();
        diffs.extend(
            g.keys()
                .filter(|k| !w.contains_key(*k))
                .map(|k| format!("{table}[{k}] only in ours: {}", g[k])),
        );
        assert!(
            diffs.is_empty(),
            "{} differences in {table} ({} entries bitcoind, {} ours), first: {:#?}",
            diffs.len(),
            w.len(),
            g.len(),
            &diffs[..diffs.len().min(10)]
        );
    }
    assert_eq!(got, want);
    println!(
        "getrawaddrman equal: {} new, {} tried",
        want["new"].as_object().unwrap().len(),
        want["tried"].as_object().unwrap().len()
    );
}

/// The field-set comparison of check 6 itself (runs without `BITCOIND`): a missing field, an
/// extra field, a nested field and a type change are reported; excluded fields and data keys are not.
#[test]
fn field_set_comparison_reports_differences() {
    let btc: Value = serde_json::json!([{"id": 0, "relaytxes": true, "bytessent_per_msg": {"tx": 1},
        "addrlocal": "1.2.3.4:5", "nested": {"a": 1, "b": 2}}]);
    let same: Value = serde_json::json!([{"id": 3, "bytessent_per_msg": {"ping": 32},
        "addrlocal": "x", "nested": {"b": 0, "a": 0}}]);
    let wild = &["[].bytessent_per_msg"];
    assert!(compare_fields("getpeerinfo", &btc, &same, wild).is_empty());
    let other: Value = serde_json::json!([{"id": 3, "bytessent_per_msg": {}, "extra": 1,
        "nested": {"a": 0}}]);
    let diffs = compare_fields("getpeerinfo", &btc, &other, wild);
    assert_eq!(
        diffs,
        vec![
            "getpeerinfo: field [].addrlocal missing from ours",
            "getpeerinfo: field [].bytessent_per_msg.* missing from ours",
            "getpeerinfo: field [].nested.b missing from ours",
            "getpeerinfo: field [].extra only in ours",
        ]
    );
    // Same fields, one of another type; an empty array against a full one is no difference.
    let btc = serde_json::json!({"a": 1, "w": ["x"], "n": [{"b": true}]});
    let ours = serde_json::json!({"a": "1", "w": [], "n": [{"b": 1}]});
    assert_eq!(
        compare_fields("x", &btc, &ours, &[]),
        vec![
            r#"x: field a is {"number"} in bitcoind's answer, {"string"} in ours"#,
            r#"x: field n[].b is {"bool"} in bitcoind's answer, {"number"} in ours"#,
        ]
    );
    assert_eq!(
        compare_fields(
            "uptime",
            &serde_json::json!(5),
            &serde_json::json!("5"),
            &[]
        ),
        vec!["uptime: bitcoind answers a number, ours a string"]
    );
}
