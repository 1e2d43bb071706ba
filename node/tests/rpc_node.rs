//! The JSON-RPC server of the real `logos-p2pd`: two `-regtest` processes on loopback (free
//! ports, fresh data directories, the second started with `-connect` to the first), driven over
//! HTTP with the `.cookie` credentials bitcoin-cli uses, through every call of the node. Every
//! wait is bounded (about 20 s); nothing sleeps for long.
//!
//! With `BITCOIN_CLI` naming a bitcoin-cli binary, `bitcoin-cli -regtest -rpcport=<ours>
//! -datadir=<ours> getpeerinfo` is also run against the node.
#![allow(non_snake_case)] // test names are `<core test file>__<core test case>`

mod bin_common;
mod rpc_common;

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use bin_common::{free_port, node_args, Proc, TempDir, BIN};
use node::rpc::auth::encode_base64;
use rpc_common::{
    keys, raw_post, set, Client, Response, GETPEERINFO_FIELDS, GETPEERINFO_OPTIONAL_FIELDS,
};
use serde_json::{json, Value};

const WAIT: Duration = Duration::from_secs(20);

/// Polls `f` until it gives `Some` (bounded by [`WAIT`]).
fn wait_for<T>(what: &str, f: impl FnMut() -> Option<T>) -> T {
    bin_common::wait_until(WAIT, f, || format!("timed out waiting for {what}"))
}

/// One `logos-p2pd -regtest` process, killed if the test fails before it exits.
struct NodeProc {
    proc: Proc,
    dir: TempDir,
    p2p_port: u16,
    rpc_port: u16,
}

impl NodeProc {
    fn start(tag: &str, extra: &[String]) -> NodeProc {
        let dir = TempDir::new(tag);
        let (p2p_port, rpc_port) = (free_port(), free_port());
        let mut args = node_args(&dir.0, "-regtest");
        args.extend([
            format!("-bind=127.0.0.1:{p2p_port}"),
            format!("-rpcport={rpc_port}"),
            "-printtoconsole=0".to_string(),
            "-debug=rpc".to_string(),
            "-debug=http".to_string(),
        ]);
        args.extend_from_slice(extra);
        let n = NodeProc {
            proc: Proc::spawn(&args),
            dir,
            p2p_port,
            rpc_port,
        };
        // Up once the cookie is written and calls are out of warm-up (RPC_IN_WARMUP = -28).
        wait_for("the RPC server to leave warm-up", || {
            if !n.cookie_path().is_file() {
                return None;
            }
            match n.try_call("getconnectioncount", json!([])) {
                Some(Ok(_)) => Some(()),
                Some(Err((-28, _))) | None => None,
                Some(Err(e)) => panic!("getconnectioncount: {e:?}"),
            }
        });
        n
    }

    /// bitcoind's layout: `<datadir>/regtest/`.
    fn net_dir(&self) -> PathBuf {
        self.dir.0.join("regtest")
    }

    fn cookie_path(&self) -> PathBuf {
        self.net_dir().join(".cookie")
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.net_dir().join("debug.log")).unwrap_or_default()
    }

    fn rpc_addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.rpc_port))
    }

    fn auth_header(&self) -> String {
        let cookie = std::fs::read_to_string(self.cookie_path()).expect(".cookie");
        format!("Basic {}", encode_base64(cookie.trim().as_bytes()))
    }

    /// POST a bitcoin-cli style request (`"jsonrpc": "2.0"`, id 1) with `auth`.
    fn post(&self, auth: &str, method: &str, params: &Value) -> Option<Response> {
        let body = json!({"method": method, "params": params, "id": 1, "jsonrpc": "2.0"});
        // Not listening yet (or any more): no answer rather than a panic in Client::connect.
        std::net::TcpStream::connect(self.rpc_addr()).ok()?;
        let mut c = Client::connect(self.rpc_addr());
        c.send(&raw_post("/", auth, &body.to_string(), true));
        c.read_response()
    }

    /// `Ok(result)` or `Err((code, message))`; `None` when the server could not be reached.
    fn try_call(&self, method: &str, params: Value) -> Option<Result<Value, (i64, String)>> {
        let r = self.post(&self.auth_header(), method, &params)?;
        let v = r.json();
        if v["error"].is_object() {
            return Some(Err((
                v["error"]["code"].as_i64().unwrap(),
                v["error"]["message"].as_str().unwrap().to_string(),
            )));
        }
        assert_eq!(r.status, 200, "{method}: {}", r.body);
        Some(Ok(v["result"].clone()))
    }

    fn call(&self, method: &str, params: Value) -> Value {
        match self.try_call(method, params) {
            Some(Ok(v)) => v,
            other => panic!("{method}: {other:?}\nlog:\n{}", self.log()),
        }
    }

    fn call_err(&self, method: &str, params: Value) -> (i64, String) {
        match self.try_call(method, params) {
            Some(Err(e)) => e,
            other => panic!("{method}: expected an error, got {other:?}"),
        }
    }

    fn peers(&self) -> Vec<Value> {
        self.call("getpeerinfo", json!([]))
            .as_array()
            .unwrap()
            .clone()
    }

    /// Waits (bounded) for the process to exit; returns its exit code.
    fn wait_exit(&mut self) -> Option<i32> {
        match self.proc.wait_exit(WAIT) {
            Some(status) => status.code(),
            None => panic!("logos-p2pd did not exit; log:\n{}", self.log()),
        }
    }

    /// `stop`: bitcoind's answer, exit status 0, the cookie file removed.
    fn stop(&mut self) {
        assert_eq!(self.call("stop", json!([])), json!("Logos P2P stopping"));
        assert_eq!(self.wait_exit(), Some(0), "log:\n{}", self.log());
        assert!(!self.cookie_path().exists(), "the .cookie is left behind");
        let log = self.log();
        assert!(log.contains("Shutdown: done"), "{log}");
    }
}

/// getpeerinfo's fields as rpc/net.cpp's RPCResult lists them: always present, and optional.
fn getpeerinfo_fields() -> (BTreeSet<String>, BTreeSet<String>) {
    (set(GETPEERINFO_FIELDS), set(GETPEERINFO_OPTIONAL_FIELDS))
}

fn check_peer_fields(p: &Value) {
    let (required, optional) = getpeerinfo_fields();
    let k = keys(p);
    assert!(
        k.is_superset(&required),
        "missing {:?}",
        required.difference(&k)
    );
    let allowed: BTreeSet<String> = required.union(&optional).cloned().collect();
    assert!(k.is_subset(&allowed), "extra {:?}", k.difference(&allowed));
}

/// The peer of `n` whose `addr` is `addr`.
fn peer_by_addr(n: &NodeProc, addr: &str) -> Option<Value> {
    n.peers().into_iter().find(|p| p["addr"] == addr)
}

/// Mirrors rpc_net.py (test/functional): every call of the node against two real processes.
#[test]
fn rpc_net__two_nodes_every_call() {
    let mut a = NodeProc::start("a", &[]);
    let mut b = NodeProc::start("b", &[format!("-connect=127.0.0.1:{}", a.p2p_port)]);
    let a_addr = format!("127.0.0.1:{}", a.p2p_port);
    let b_addr = format!("127.0.0.1:{}", b.p2p_port);

    // ---- handshake seen through getpeerinfo on both sides ----
    let pb = wait_for("B's handshake with A", || {
        peer_by_addr(&b, &a_addr).filter(|p| p["version"] != 0 && p["subver"] != "")
    });
    let pa = wait_for("A's inbound peer", || {
        a.peers()
            .into_iter()
            .find(|p| p["inbound"] == true && p["version"] != 0)
    });
    for p in [&pa, &pb] {
        check_peer_fields(p);
        assert_eq!(p["network"], "not_publicly_routable", "{p}");
        assert_eq!(p["version"], 70016, "{p}");
        assert_eq!(p["subver"], "/logos-p2p:0.1.0/", "{p}");
        assert_eq!(p["transport_protocol_type"], "v1", "{p}");
        assert_eq!(p["session_id"], "", "{p}");
        assert_eq!(p["services"], "0000000000000000", "{p}");
        assert_eq!(p["relaytxes"], false, "{p}");
        assert_eq!(p["permissions"], json!([]), "{p}");
        assert!(p["conntime"].as_i64().unwrap() > 1_700_000_000, "{p}");
        assert!(
            p["bytessent_per_msg"]["version"].as_u64().unwrap() > 0,
            "{p}"
        );
        assert!(
            p["bytesrecv_per_msg"]["version"].as_u64().unwrap() > 0,
            "{p}"
        );
    }
    assert_eq!(pb["inbound"], false);
    assert_eq!(pb["connection_type"], "manual");
    assert_eq!(
        pb["addrbind"].as_str().unwrap().split(':').next(),
        Some("127.0.0.1")
    );
    assert_eq!(pa["connection_type"], "inbound");
    assert_eq!(pa["addrbind"], a_addr);
    // The inbound side's addr is B's ephemeral source port.
    let b_source = pb["addrbind"].as_str().unwrap().to_string();
    assert_eq!(pa["addr"], b_source);

    // ---- getconnectioncount / getnetworkinfo ----
    assert_eq!(a.call("getconnectioncount", json!([])), 1);
    assert_eq!(b.call("getconnectioncount", json!([])), 1);
    let ni = a.call("getnetworkinfo", json!([]));
    for k in [
        "version",
        "subversion",
        "protocolversion",
        "localservices",
        "localservicesnames",
        "localrelay",
        "timeoffset",
        "networkactive",
        "connections",
        "connections_in",
        "connections_out",
        "networks",
        "localaddresses",
        "warnings",
    ] {
        assert!(ni.get(k).is_some(), "getnetworkinfo lacks {k}: {ni}");
    }
    assert_eq!(ni["subversion"], "/logos-p2p:0.1.0/");
    assert_eq!(ni["protocolversion"], 70016);
    assert_eq!(ni["networkactive"], true);
    assert_eq!(
        (
            ni["connections_in"].as_i64(),
            ni["connections_out"].as_i64()
        ),
        (Some(1), Some(0))
    );
    let nets: Vec<&str> = ni["networks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["name"].as_str().unwrap())
        .collect();
    assert_eq!(nets, ["ipv4", "ipv6", "onion", "i2p", "cjdns"]);
    let nb = b.call("getnetworkinfo", json!([]));
    assert_eq!(
        (
            nb["connections_in"].as_i64(),
            nb["connections_out"].as_i64()
        ),
        (Some(0), Some(1))
    );

    // ---- ping: the round trip shows up as pingtime ----
    assert_eq!(b.call("ping", json!([])), Value::Null);
    let pinged = wait_for("a pong on B", || {
        peer_by_addr(&b, &a_addr).filter(|p| p.get("pingtime").is_some())
    });
    assert!(pinged["pingtime"].as_f64().unwrap() >= 0.0);
    assert!(pinged["minping"].as_f64().unwrap() >= 0.0);
    check_peer_fields(&pinged);

    // ---- getnettotals: what A sent is what B received, and the other way round ----
    let totals = wait_for("matching byte counts", || {
        let ta = a.call("getnettotals", json!([]));
        let tb = b.call("getnettotals", json!([]));
        (ta["totalbytessent"] == tb["totalbytesrecv"]
            && ta["totalbytesrecv"] == tb["totalbytessent"])
            .then_some((ta, tb))
    });
    let (ta, tb) = totals;
    for t in [&ta, &tb] {
        assert_eq!(
            keys(t),
            set(&[
                "totalbytesrecv",
                "totalbytessent",
                "timemillis",
                "uploadtarget"
            ])
        );
        assert_eq!(
            keys(&t["uploadtarget"]),
            set(&[
                "timeframe",
                "target",
                "target_reached",
                "serve_historical_blocks",
                "bytes_left_in_cycle",
                "time_left_in_cycle"
            ])
        );
        assert!(t["totalbytessent"].as_u64().unwrap() > 0);
    }
    assert_eq!(ta["uploadtarget"]["timeframe"], 86400);

    // ---- uptime / logging / help ----
    let up = a.call("uptime", json!([])).as_i64().unwrap();
    assert!((0..600).contains(&up), "{up}");
    let l = a.call("logging", json!([["addrman"], []]));
    assert_eq!(
        (l["addrman"].clone(), l["net"].clone()),
        (json!(true), json!(true))
    );
    let l = a.call("logging", json!([[], ["addrman", "http"]]));
    assert_eq!(
        (l["addrman"].clone(), l["http"].clone()),
        (json!(false), json!(false))
    );
    assert_eq!(
        a.call_err("logging", json!([["nosuchcategory"]])),
        (-8, "unknown logging category nosuchcategory".to_string())
    );
    let help = a.call("help", json!([])).as_str().unwrap().to_string();
    for c in [
        "== Network ==",
        "getpeerinfo",
        "addnode",
        "setban",
        "sendlogos",
        "getlogosinfo",
        "stop",
    ] {
        assert!(help.contains(c), "{c} not in help:\n{help}");
    }
    // Hidden, as in bitcoind.
    assert!(!help.contains("getrawaddrman") && !help.contains("addpeeraddress"));
    assert!(a
        .call("help", json!(["getpeerinfo"]))
        .as_str()
        .unwrap()
        .starts_with("getpeerinfo\n"));

    // ---- sendlogos on B: delivered once on A ----
    let before_a = a.call("getlogosinfo", json!([]));
    assert_eq!(
        keys(&before_a),
        set(&[
            "seen_set_size",
            "messages_delivered",
            "messages_relayed",
            "messages_dropped",
            "messages_propagated",
            "recent_rejects_size",
            "messages_relay_dropped",
            "catchup_sent"
        ])
    );
    let before_b = b.call("getlogosinfo", json!([]));
    assert_eq!(b.call("sendlogos", json!(["deadbeef01"])), true);
    // Delivery is counted when the payload is handed to the upper layer; the seen-set takes it
    // once the upper layer's verdict is back, a moment later.
    let after_a = wait_for("A's delivery and verdict on the logos payload", || {
        let v = a.call("getlogosinfo", json!([]));
        (v["messages_delivered"] != before_a["messages_delivered"]
            && v["seen_set_size"] != before_a["seen_set_size"])
            .then_some(v)
    });
    let n = |v: &Value, k: &str| v[k].as_u64().unwrap();
    assert_eq!(
        n(&after_a, "messages_delivered"),
        n(&before_a, "messages_delivered") + 1
    );
    assert_eq!(
        n(&after_a, "seen_set_size"),
        n(&before_a, "seen_set_size") + 1
    );
    let after_b = b.call("getlogosinfo", json!([]));
    assert_eq!(
        n(&after_b, "messages_propagated"),
        n(&before_b, "messages_propagated") + 1
    );
    assert_eq!(
        n(&after_b, "seen_set_size"),
        n(&before_b, "seen_set_size") + 1
    );
    let (code, _) = b.call_err("sendlogos", json!(["not hex"]));
    assert_eq!(code, -8);

    // ---- addnode add / getaddednodeinfo / remove ----
    assert_eq!(a.call("addnode", json!([b_addr, "add"])), Value::Null);
    assert_eq!(
        a.call_err("addnode", json!([b_addr, "add"])),
        (-23, "Error: Node already added".to_string())
    );
    let info = wait_for("the added node to connect", || {
        let v = a.call("getaddednodeinfo", json!([]));
        (v[0]["connected"] == true).then_some(v)
    });
    assert_eq!(info.as_array().unwrap().len(), 1);
    assert_eq!(info[0]["addednode"], b_addr);
    assert_eq!(
        info[0]["addresses"],
        json!([{"address": b_addr, "connected": "outbound"}])
    );
    let added = wait_for("the added-node peer on A", || peer_by_addr(&a, &b_addr));
    assert_eq!(added["connection_type"], "manual");
    assert_eq!(a.call("getconnectioncount", json!([])), 2);

    // ---- the flood counters with two connections between A and B ----
    // B sends on both; A delivers the first copy and relays it on the other connection, drops
    // the second copy; B drops the relayed one (already seen).
    wait_for("both of A's connections to finish the handshake", || {
        let ps = a.peers();
        (ps.len() == 2
            && ps
                .iter()
                .all(|p| p["bytesrecv_per_msg"].get("verack").is_some()))
        .then_some(())
    });
    wait_for("both of B's connections to finish the handshake", || {
        let ps = b.peers();
        (ps.len() == 2
            && ps
                .iter()
                .all(|p| p["bytesrecv_per_msg"].get("verack").is_some()))
        .then_some(())
    });
    let (a0, b0) = (
        a.call("getlogosinfo", json!([])),
        b.call("getlogosinfo", json!([])),
    );
    assert_eq!(b.call("sendlogos", json!(["deadbeef02"])), true);
    let diff = |now: &Value, was: &Value| -> [u64; 4] {
        [
            "messages_delivered",
            "messages_relayed",
            "messages_dropped",
            "messages_propagated",
        ]
        .map(|k| n(now, k) - n(was, k))
    };
    wait_for("A: delivered 1, relayed 1, dropped 1", || {
        (diff(&a.call("getlogosinfo", json!([])), &a0) == [1, 1, 1, 0]).then_some(())
    });
    wait_for("B: propagated 1, dropped the relayed copy", || {
        (diff(&b.call("getlogosinfo", json!([])), &b0) == [0, 0, 1, 1]).then_some(())
    });
    assert_eq!(
        a.call("getaddednodeinfo", json!([b_addr]))
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(a.call("addnode", json!([b_addr, "remove"])), Value::Null);
    assert_eq!(
        a.call_err("addnode", json!([b_addr, "remove"])),
        (
            -24,
            "Error: Node could not be removed. It has not been added previously.".to_string()
        )
    );
    assert_eq!(a.call("getaddednodeinfo", json!([])), json!([]));
    assert_eq!(
        a.call_err("getaddednodeinfo", json!([b_addr])),
        (-24, "Error: Node has not been added.".to_string())
    );

    // ---- disconnectnode by address: the connection really goes, on both sides ----
    let b_inbound_before = b.call("getnetworkinfo", json!([]))["connections_in"].clone();
    assert_eq!(b_inbound_before, 1);
    assert_eq!(a.call("disconnectnode", json!([b_addr])), Value::Null);
    wait_for("A to drop the added-node peer", || {
        peer_by_addr(&a, &b_addr).is_none().then_some(())
    });
    wait_for("B to see the inbound connection close", || {
        (b.call("getnetworkinfo", json!([]))["connections_in"] == 0).then_some(())
    });
    assert_eq!(
        a.call_err("disconnectnode", json!([b_addr])),
        (-29, "Node not found in connected nodes".to_string())
    );

    // ---- addnode onetry, then disconnectnode by nodeid ----
    assert_eq!(a.call("addnode", json!([b_addr, "onetry"])), Value::Null);
    let once = wait_for("the onetry connection", || {
        peer_by_addr(&a, &b_addr).filter(|p| p["version"] != 0)
    });
    assert_eq!(once["connection_type"], "manual");
    assert_eq!(a.call("getaddednodeinfo", json!([])), json!([]));
    let id = once["id"].as_i64().unwrap();
    assert_eq!(a.call("disconnectnode", json!(["", id])), Value::Null);
    wait_for("A to drop the onetry peer", || {
        a.peers().iter().all(|p| p["id"] != id).then_some(())
    });
    wait_for("B to see it close", || {
        (b.call("getnetworkinfo", json!([]))["connections_in"] == 0).then_some(())
    });

    // ---- setban / listbanned / clearbanned: a ban disconnects B and keeps it out ----
    assert_eq!(a.call("setban", json!(["127.0.0.1", "add"])), Value::Null);
    assert_eq!(
        a.call_err("setban", json!(["127.0.0.1", "add"])),
        (-23, "Error: IP/Subnet already banned".to_string())
    );
    let banned = a.call("listbanned", json!([]));
    assert_eq!(banned.as_array().unwrap().len(), 1);
    assert_eq!(banned[0]["address"], "127.0.0.1/32");
    assert_eq!(
        keys(&banned[0]),
        set(&[
            "address",
            "ban_created",
            "banned_until",
            "ban_duration",
            "time_remaining"
        ])
    );
    assert_eq!(banned[0]["ban_duration"], 86400);
    wait_for("A to drop every loopback peer", || {
        (a.call("getconnectioncount", json!([])) == 0).then_some(())
    });
    wait_for("B to lose A", || {
        peer_by_addr(&b, &a_addr).is_none().then_some(())
    });
    // B keeps dialling A (-connect); A keeps refusing it while the ban lasts.
    wait_for("A to refuse B's next attempt", || {
        a.log().contains("dropped (banned)").then_some(())
    });
    assert_eq!(a.call("getconnectioncount", json!([])), 0);
    assert_eq!(
        a.call_err("setban", json!(["10.0.0.0/8", "remove"])),
        (
            -30,
            "Error: Unban failed. Requested address/subnet was not previously manually banned."
                .to_string()
        )
    );
    assert_eq!(
        a.call("setban", json!(["10.0.0.0/8", "add", 3600])),
        Value::Null
    );
    assert_eq!(a.call("listbanned", json!([])).as_array().unwrap().len(), 2);
    assert_eq!(
        a.call("setban", json!(["10.0.0.0/8", "remove"])),
        Value::Null
    );
    assert_eq!(a.call("clearbanned", json!([])), Value::Null);
    assert_eq!(a.call("listbanned", json!([])), json!([]));
    // Unbanned: B's -connect loop gets back in.
    wait_for("B to reconnect after clearbanned", || {
        a.peers()
            .into_iter()
            .find(|p| p["inbound"] == true && p["version"] != 0)
    });

    // ---- addpeeraddress / getaddrmaninfo / getrawaddrman / getnodeaddresses ----
    assert_eq!(
        a.call("addpeeraddress", json!(["1.2.3.4", 8333])),
        json!({"success": true})
    );
    assert_eq!(
        a.call("addpeeraddress", json!(["1.2.3.4", 8333])),
        json!({"error": "failed-adding-to-new", "success": false})
    );
    assert_eq!(
        a.call("addpeeraddress", json!(["2.3.4.5", 8333, true])),
        json!({"success": true})
    );
    let info = a.call("getaddrmaninfo", json!([]));
    assert_eq!(
        keys(&info),
        set(&["ipv4", "ipv6", "onion", "i2p", "cjdns", "all_networks"])
    );
    assert_eq!(
        info["all_networks"],
        json!({"new": 1, "tried": 1, "total": 2})
    );
    assert_eq!(info["ipv4"], json!({"new": 1, "tried": 1, "total": 2}));
    assert_eq!(info["ipv6"], json!({"new": 0, "tried": 0, "total": 0}));
    let raw = a.call("getrawaddrman", json!([]));
    assert_eq!(keys(&raw), set(&["new", "tried"]));
    let find = |table: &Value, ip: &str| -> Option<(String, Value)> {
        table
            .as_object()
            .unwrap()
            .iter()
            .find(|(_, e)| e["address"] == ip)
            .map(|(k, e)| (k.clone(), e.clone()))
    };
    let (pos, e) = find(&raw["new"], "1.2.3.4").expect("1.2.3.4 in new");
    let (bucket, slot) = pos.split_once('/').unwrap();
    assert!(bucket.parse::<u32>().unwrap() < 1024 && slot.parse::<u32>().unwrap() < 64);
    // mapped_as / source_mapped_as only with -asmap.
    assert_eq!(
        keys(&e),
        set(&[
            "address",
            "port",
            "network",
            "services",
            "time",
            "source",
            "source_network"
        ])
    );
    assert_eq!(
        (e["port"].clone(), e["network"].clone()),
        (json!(8333), json!("ipv4"))
    );
    assert_eq!(e["services"], 9);
    assert_eq!(e["source"], "1.2.3.4");
    assert!(find(&raw["tried"], "2.3.4.5").is_some(), "{raw}");
    let addrs = a.call("getnodeaddresses", json!([0]));
    let mut got: Vec<(String, u64)> = addrs
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["address"].as_str().unwrap().to_string(),
                x["port"].as_u64().unwrap(),
            )
        })
        .collect();
    got.sort();
    assert_eq!(
        got,
        [("1.2.3.4".to_string(), 8333), ("2.3.4.5".to_string(), 8333)]
    );
    for x in addrs.as_array().unwrap() {
        assert_eq!(
            keys(x),
            set(&["time", "services", "address", "port", "network"])
        );
        assert_eq!(x["network"], "ipv4");
    }
    assert_eq!(
        a.call("getnodeaddresses", json!([1]))
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(a.call("getnodeaddresses", json!([0, "ipv6"])), json!([]));

    // ---- bitcoin-cli against our node ----
    match std::env::var_os("BITCOIN_CLI") {
        Some(cli) => {
            let out = Command::new(&cli)
                .arg("-regtest")
                .arg(format!("-rpcport={}", a.rpc_port))
                .arg(format!("-datadir={}", a.dir.0.display()))
                .arg("getpeerinfo")
                .output()
                .expect("run BITCOIN_CLI");
            assert!(
                out.status.success(),
                "bitcoin-cli getpeerinfo failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let v: Value = serde_json::from_slice(&out.stdout).expect("bitcoin-cli prints JSON");
            assert!(!v.as_array().unwrap().is_empty(), "{v}");
            check_peer_fields(&v[0]);
        }
        None => println!("BITCOIN_CLI is not set: skipped the bitcoin-cli getpeerinfo sub-check"),
    }

    // ---- stop: both exit 0 and remove their cookie ----
    b.stop();
    a.stop();
    assert!(a.log().contains("Generated RPC authentication cookie"));
    assert!(a.log().contains(&format!(
        "Binding RPC on address 127.0.0.1 port {}",
        a.rpc_port
    )));
}

/// Mirrors rpc_users.py (test/functional): a wrong password gets HTTP 401 with
/// `WWW-Authenticate`, no credentials as well, and the server keeps serving.
#[test]
fn rpc_users__wrong_password_is_401_and_server_keeps_serving() {
    let mut n = NodeProc::start("auth", &["-connect=0".to_string()]);
    let wrong = format!("Basic {}", encode_base64(b"__cookie__:wrong"));
    for auth in [wrong.as_str(), ""] {
        let r = n
            .post(auth, "getconnectioncount", &json!([]))
            .expect("an answer");
        assert_eq!(r.status, 401, "{}", r.body);
        assert_eq!(
            r.header("WWW-Authenticate"),
            Some("Basic realm=\"jsonrpc\"")
        );
        assert_eq!(n.call("getconnectioncount", json!([])), 0);
    }
    assert!(n
        .log()
        .contains("ThreadRPCServer incorrect password attempt from 127.0.0.1:"));
    // bitcoin-cli's unknown method answer.
    assert_eq!(
        n.call_err("getblockcount", json!([])),
        (-32601, "Method not found".to_string())
    );
    n.stop();
}

/// Hardening (issue 15): ban times saturate instead of overflowing. With
/// `-bantime=9223372036854775807`, `setban <ip> add` (the default time), `setban <ip> add
/// 9223372036854775807` and its absolute form all ban until 9223372036854775807 (for good);
/// Core's `GetTime() + offset` overflows there.
#[test]
fn hardening__huge_ban_times_saturate() {
    let mut n = NodeProc::start(
        "bantime",
        &[
            "-connect=0".to_string(),
            "-bantime=9223372036854775807".to_string(),
        ],
    );
    let max = i64::MAX;
    for params in [
        json!(["10.1.2.3", "add"]),
        json!(["10.1.2.4", "add", max]),
        json!(["10.1.2.5", "add", max, true]),
    ] {
        assert_eq!(n.call("setban", params), Value::Null);
    }
    let banned = n.call("listbanned", json!([]));
    let banned = banned.as_array().unwrap();
    assert_eq!(banned.len(), 3, "{banned:?}");
    for b in banned {
        assert_eq!(b["banned_until"], json!(max), "{b}");
        assert!(b["time_remaining"].as_i64().unwrap() > 0, "{b}");
        assert!(b["ban_duration"].as_i64().unwrap() > 0, "{b}");
    }
    n.stop();
}

/// `-rpcport` of a port already taken: bitcoind's error, status 1 (init.cpp AppInitServers).
#[test]
fn rpc_port_in_use_is_an_init_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let taken6 = std::net::TcpListener::bind(("::1", port)).ok();
    let dir = TempDir::new("inuse");
    let out = Command::new(BIN)
        .args([
            "-regtest".to_string(),
            format!("-datadir={}", dir.0.display()),
            "-connect=0".to_string(),
            format!("-rpcport={port}"),
            "-printtoconsole=0".to_string(),
            "-test=loopbackonly".to_string(),
        ])
        .output()
        .unwrap();
    let log =
        std::fs::read_to_string(Path::new(&dir.0).join("regtest/debug.log")).unwrap_or_default();
    if taken6.is_none() {
        // ::1 unavailable here: binding 127.0.0.1 failed, ::1 cannot bind either.
        assert!(log.contains("Binding RPC on address ::1 port"), "{log}");
    }
    assert_eq!(out.status.code(), Some(1), "{log}");
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("Error: Unable to start HTTP server. See debug log for details."));
    assert!(
        log.contains(&format!(
            "Binding RPC on address 127.0.0.1 port {port} failed."
        )),
        "{log}"
    );
    assert!(!dir.0.join("regtest/.cookie").exists());
}

/// `-server=0`: no RPC server, no cookie; the node still runs and stops on SIGTERM (bitcoind's
/// AppInitMain starts the servers only with -server).
#[test]
fn server_0_starts_no_rpc_server() {
    let dir = TempDir::new("noserver");
    let rpc_port = free_port();
    let proc = Proc::spawn(&[
        "-regtest".to_string(),
        format!("-datadir={}", dir.0.display()),
        "-connect=0".to_string(),
        "-server=0".to_string(),
        format!("-rpcport={rpc_port}"),
        "-printtoconsole=0".to_string(),
        "-test=loopbackonly".to_string(),
    ]);
    let pid = proc.pid();
    let mut node = NodeProc {
        proc,
        dir,
        p2p_port: 0,
        rpc_port,
    };
    wait_for("Done loading", || {
        node.log()
            .contains("init message: Done loading")
            .then_some(())
    });
    let log = node.log();
    assert!(!log.contains("Binding RPC"), "{log}");
    assert!(!node.cookie_path().exists());
    assert!(std::net::TcpStream::connect(node.rpc_addr()).is_err());
    let st = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(st.success());
    assert_eq!(node.wait_exit(), Some(0));
}

/// A bad `-rpcallowip`: Core's message, then "Unable to start HTTP server", status 1
/// (httpserver.cpp InitHTTPAllowList, init.cpp AppInitServers).
#[test]
fn bad_rpcallowip_is_an_init_error() {
    let dir = TempDir::new("allowip");
    let out = Command::new(BIN)
        .args([
            "-regtest".to_string(),
            format!("-datadir={}", dir.0.display()),
            "-connect=0".to_string(),
            format!("-rpcport={}", free_port()),
            "-rpcallowip=not-a-subnet".to_string(),
            "-printtoconsole=0".to_string(),
            "-test=loopbackonly".to_string(),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("Error: Invalid -rpcallowip subnet specification: not-a-subnet. Valid values are a single IP"),
        "{err}"
    );
    assert!(
        err.ends_with("Error: Unable to start HTTP server. See debug log for details.\n"),
        "{err}"
    );
}
