//! Every RPC call through real HTTP with basic auth against a fake backend: result fields
//! as bitcoind's, argument errors with bitcoind's codes and messages. Mirrors
//! test/functional/rpc_net.py, rpc_setban.py, rpc_help.py, rpc_named_arguments.py,
//! feature_logging.py where noted.
#![allow(non_snake_case)]

mod rpc_common;

use netbase::{lookup_subnet, Network};
use node::rpc::backend::{AddrmanEntry, BanEntry};
use rpc_common::*;
use serde_json::{json, Value};

/// Mirrors rpc_net.py: test_getpeerinfo — the same field set as bitcoind's answer.
#[test]
fn rpc_net__getpeerinfo_fields() {
    let h = Harness::start();
    let peers = h.call("getpeerinfo", json!([]));
    let peers = peers.as_array().unwrap();
    assert_eq!(peers.len(), 2);
    let mut inbound = set(GETPEERINFO_FIELDS);
    inbound.insert("addrbind".into());
    assert_eq!(keys(&peers[0]), inbound);
    let mut outbound = inbound.clone();
    outbound.extend(set(&["addrlocal", "pingtime", "minping"]));
    assert_eq!(keys(&peers[1]), outbound);
    let p = &peers[1];
    assert_eq!(p["id"], json!(1));
    assert_eq!(p["addr"], json!("127.0.0.1:18445"));
    assert_eq!(p["addrbind"], json!("127.0.0.1:18444"));
    assert_eq!(p["network"], json!("ipv4"));
    assert_eq!(p["services"], json!("0000000000000409"));
    assert_eq!(
        p["servicesnames"],
        json!(["NETWORK", "WITNESS", "NETWORK_LIMITED"])
    );
    assert_eq!(p["pingtime"], json!(0.0015));
    assert_eq!(p["minping"], json!(0.0012));
    assert_eq!(p["connection_type"], json!("manual"));
    assert_eq!(p["transport_protocol_type"], json!("v1"));
    assert_eq!(p["session_id"], json!(""));
    // Zero counters are left out, as Core.
    assert_eq!(p["bytessent_per_msg"], json!({"version": 126}));
    assert_eq!(p["bytesrecv_per_msg"], json!({}));
    assert_eq!(p["synced_headers"], json!(-1));
    assert_eq!(peers[0]["inbound"], json!(true));
}

/// Mirrors rpc_net.py: test_getnetworkinfo, test_getnettotals, test_connection_count.
#[test]
fn rpc_net__getnetworkinfo_getnettotals_getconnectioncount() {
    let h = Harness::start();
    let ni = h.call("getnetworkinfo", json!([]));
    assert_eq!(
        keys(&ni),
        set(&[
            "version",
            "subversion",
            "protocolversion",
            "localservices",
            "localservicesnames",
            "localrelay",
            "timeoffset",
            "connections",
            "connections_in",
            "connections_out",
            "networkactive",
            "networks",
            "relayfee",
            "incrementalfee",
            "localaddresses",
            "warnings",
        ])
    );
    assert_eq!(ni["localservices"], json!("0000000010000000"));
    assert_eq!(ni["localservicesnames"], json!(["LOGOS"]));
    assert_eq!(
        (
            ni["connections"].clone(),
            ni["connections_in"].clone(),
            ni["connections_out"].clone()
        ),
        (json!(2), json!(1), json!(1))
    );
    let nets: Vec<&str> = ni["networks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["name"].as_str().unwrap())
        .collect();
    assert_eq!(nets, ["ipv4", "ipv6", "onion", "i2p", "cjdns"]);
    assert_eq!(
        ni["networks"][2],
        json!({"name": "onion", "limited": true, "reachable": false, "proxy": "", "proxy_randomize_credentials": false})
    );
    assert_eq!(
        ni["localaddresses"],
        json!([{"address": "203.0.113.9", "port": 18444, "score": 1}])
    );
    assert_eq!(ni["warnings"], json!([]));

    let nt = h.call("getnettotals", json!([]));
    assert_eq!(nt["totalbytesrecv"], json!(4000));
    assert_eq!(nt["totalbytessent"], json!(2000));
    assert_eq!(nt["timemillis"], json!(MOCK_TIME * 1000));
    assert_eq!(
        keys(&nt["uploadtarget"]),
        set(&[
            "timeframe",
            "target",
            "target_reached",
            "serve_historical_blocks",
            "bytes_left_in_cycle",
            "time_left_in_cycle"
        ])
    );
    assert_eq!(h.call("getconnectioncount", json!([])), json!(2));
    // Wrong argument count: Core's help text, code -1.
    let (code, msg) = h.call_err("getconnectioncount", json!([1]));
    assert_eq!(code, -1);
    assert!(
        msg.starts_with(
            "getconnectioncount\n\nReturns the number of connections to other nodes.\n"
        ),
        "{msg}"
    );
}

/// Mirrors rpc_net.py: test_addnode_getaddednodeinfo.
#[test]
fn rpc_net__addnode_getaddednodeinfo() {
    let h = Harness::start();
    assert_eq!(
        h.call("addnode", json!(["127.0.0.1:18445", "add"])),
        Value::Null
    );
    assert_eq!(
        h.call_err("addnode", json!(["127.0.0.1:18445", "add"])),
        (-23, "Error: Node already added".into())
    );
    assert_eq!(
        h.call("addnode", json!(["192.0.2.1:8333", "add"])),
        Value::Null
    );
    let all = h.call("getaddednodeinfo", json!([]));
    assert_eq!(
        all,
        json!([
            {"addednode": "127.0.0.1:18445", "connected": true, "addresses": [{"address": "127.0.0.1:18445", "connected": "outbound"}]},
            {"addednode": "192.0.2.1:8333", "connected": false, "addresses": []},
        ])
    );
    assert_eq!(
        h.call("getaddednodeinfo", json!(["192.0.2.1:8333"]))
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        h.call_err("getaddednodeinfo", json!(["1.1.1.1"])),
        (-24, "Error: Node has not been added.".into())
    );
    assert_eq!(
        h.call("addnode", json!(["192.0.2.1:8333", "remove"])),
        Value::Null
    );
    assert_eq!(
        h.call_err("addnode", json!(["192.0.2.1:8333", "remove"])),
        (
            -24,
            "Error: Node could not be removed. It has not been added previously.".into()
        )
    );
    assert_eq!(
        h.call("addnode", json!(["127.0.0.1:1", "onetry"])),
        Value::Null
    );
    assert_eq!(
        h.backend.st().onetry,
        vec![("127.0.0.1:1".to_string(), false)]
    );
    // v2transport asked for but not offered by this node.
    assert_eq!(
        h.call_err("addnode", json!(["127.0.0.1:1", "onetry", true])),
        (
            -8,
            "Error: v2transport requested but not enabled (see -v2transport)".into()
        )
    );
    // Bad command: the help text, code -1 (Core throws runtime_error(self.ToString())).
    let (code, msg) = h.call_err("addnode", json!(["127.0.0.1:1", "bogus"]));
    assert_eq!(code, -1);
    assert!(
        msg.starts_with("addnode \"node\" \"command\" ( v2transport )\n"),
        "{msg}"
    );
    // Wrong type.
    let (code, msg) = h.call_err("addnode", json!(["127.0.0.1:1", "add", "yes"]));
    assert_eq!(code, -3);
    assert_eq!(
        msg,
        "Wrong type passed:\n{\n    \"Position 3 (v2transport)\": \"JSON value of type string is not of expected type bool\"\n}"
    );
    // Missing argument.
    let (code, msg) = h.call_err("addnode", json!(["127.0.0.1:1"]));
    assert_eq!(code, -1);
    assert!(msg.contains("\nArguments:\n1. node           (string, required) The address of the peer to connect to\n"), "{msg}");
}

/// Mirrors rpc_net.py: disconnectnode by address and by id, and its argument errors.
#[test]
fn rpc_net__disconnectnode() {
    let h = Harness::start();
    assert_eq!(
        h.call_err("disconnectnode", json!(["127.0.0.1:50000", 0])),
        (
            -32602,
            "Only one of address and nodeid should be provided.".into()
        )
    );
    assert_eq!(
        h.call_err("disconnectnode", json!([])),
        (
            -32602,
            "Only one of address and nodeid should be provided.".into()
        )
    );
    assert_eq!(
        h.call_err("disconnectnode", json!(["1.2.3.4:5"])),
        (-29, "Node not found in connected nodes".into())
    );
    assert_eq!(
        h.call("disconnectnode", json!(["127.0.0.1:50000"])),
        Value::Null
    );
    assert_eq!(h.call("disconnectnode", json!({"nodeid": 1})), Value::Null);
    assert!(h.backend.st().peers.is_empty());
    assert_eq!(
        h.call_err("disconnectnode", json!(["", 1])),
        (-29, "Node not found in connected nodes".into())
    );
    let (code, msg) = h.call_err("disconnectnode", json!(["", "1"]));
    assert_eq!(code, -3);
    assert!(msg.contains("Position 2 (nodeid)"), "{msg}");
}

/// Mirrors rpc_setban.py and the `listbanned.json` vector: the same JSON as bitcoind for
/// the same four bans at the same time.
#[test]
fn rpc_setban__setban_listbanned_clearbanned() {
    let h = Harness::start();
    for s in ["1.2.3.4", "5.6.0.0/16", "203.0.113.7/32", "2001:db8::/32"] {
        assert_eq!(h.call("setban", json!([s, "add"])), Value::Null, "{s}");
    }
    let want: Value = serde_json::from_str(
        &std::fs::read_to_string(vectors_dir().join("bitcoind-regtest/listbanned.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(h.call("listbanned", json!([])), want);
    // The ban disconnected the subnet's peers.
    assert_eq!(h.backend.st().disconnected_subnets.len(), 4);

    assert_eq!(
        h.call_err("setban", json!(["1.2.3.4", "add"])),
        (-23, "Error: IP/Subnet already banned".into())
    );
    assert_eq!(
        h.call_err("setban", json!(["5.6.7.8", "add"])),
        (-23, "Error: IP/Subnet already banned".into())
    );
    assert_eq!(
        h.call_err("setban", json!(["1.2.3.4.5", "add"])),
        (-30, "Error: Invalid IP/Subnet".into())
    );
    assert_eq!(
        h.call_err("setban", json!(["1.2.3.0/33", "add"])),
        (-30, "Error: Invalid IP/Subnet".into())
    );
    assert_eq!(
        h.call_err("setban", json!(["9.9.9.9", "add", 1000, true])),
        (-8, "Error: Absolute timestamp is in the past".into())
    );
    assert_eq!(
        h.call("setban", json!(["9.9.9.9", "add", MOCK_TIME + 1000, true])),
        Value::Null
    );
    assert_eq!(
        h.backend.st().bans[&lookup_subnet("9.9.9.9")].ban_until,
        MOCK_TIME + 1000
    );
    assert_eq!(
        h.call(
            "setban",
            json!({"subnet": "8.8.8.8", "command": "add", "bantime": 60})
        ),
        Value::Null
    );
    assert_eq!(
        h.backend.st().bans[&lookup_subnet("8.8.8.8")].ban_until,
        MOCK_TIME + 60
    );
    assert_eq!(h.call("setban", json!(["9.9.9.9", "remove"])), Value::Null);
    assert_eq!(
        h.call_err("setban", json!(["9.9.9.9", "remove"])),
        (
            -30,
            "Error: Unban failed. Requested address/subnet was not previously manually banned."
                .into()
        )
    );
    let (code, msg) = h.call_err("setban", json!(["9.9.9.9", "ban"]));
    assert_eq!(code, -1);
    assert!(
        msg.starts_with("setban \"subnet\" \"command\" ( bantime absolute )\n"),
        "{msg}"
    );
    assert!(
        msg.contains("3. bantime     (numeric, optional, default=0) "),
        "{msg}"
    );
    assert_eq!(h.call("clearbanned", json!([])), Value::Null);
    assert_eq!(h.call("listbanned", json!([])), json!([]));
}

fn load_rawaddrman_vector(h: &Harness) -> Value {
    let v: Value = serde_json::from_str(
        &std::fs::read_to_string(vectors_dir().join("bitcoind-regtest/getrawaddrman.json"))
            .unwrap(),
    )
    .unwrap();
    let table = |name: &str| -> Vec<AddrmanEntry> {
        v[name]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, e)| {
                let (b, p) = k.split_once('/').unwrap();
                let mut service = svc(e["address"].as_str().unwrap());
                service.port = e["port"].as_u64().unwrap() as u16;
                AddrmanEntry {
                    service,
                    services: e["services"].as_u64().unwrap(),
                    time: e["time"].as_i64().unwrap(),
                    source: addr(e["source"].as_str().unwrap()),
                    bucket: b.parse().unwrap(),
                    position: p.parse().unwrap(),
                }
            })
            .collect()
    };
    let mut s = h.backend.st();
    s.new_entries = table("new");
    s.tried_entries = table("tried");
    v
}

/// Mirrors rpc_net.py: test_getrawaddrman — the answer has the shape of bitcoind's
/// `getrawaddrman.json` (keys `bucket/position`, entry fields and their formatting).
#[test]
fn rpc_net__getrawaddrman_shape() {
    let h = Harness::start();
    let want = load_rawaddrman_vector(&h);
    let got = h.call("getrawaddrman", json!([]));
    assert_eq!(got["new"].as_object().unwrap().len(), 1105);
    assert_eq!(got["tried"].as_object().unwrap().len(), 383);
    assert_eq!(got, want);
    // Hidden from the command list, as in bitcoind.
    assert!(!h
        .call("help", json!([]))
        .as_str()
        .unwrap()
        .contains("getrawaddrman"));
}

/// Mirrors rpc_net.py: test_getnodeaddresses.
#[test]
fn rpc_net__getnodeaddresses() {
    let h = Harness::start();
    load_rawaddrman_vector(&h);
    let one = h.call("getnodeaddresses", json!([]));
    assert_eq!(one.as_array().unwrap().len(), 1);
    assert_eq!(
        keys(&one[0]),
        set(&["time", "services", "address", "port", "network"])
    );
    assert_eq!(
        h.call("getnodeaddresses", json!([0]))
            .as_array()
            .unwrap()
            .len(),
        1488
    );
    let v6 = h.call("getnodeaddresses", json!([0, "ipv6"]));
    assert_eq!(v6.as_array().unwrap().len(), 297);
    assert!(v6
        .as_array()
        .unwrap()
        .iter()
        .all(|a| a["network"] == json!("ipv6")));
    assert_eq!(
        h.call("getnodeaddresses", json!({"network": "onion", "count": 12})),
        json!([])
    );
    assert_eq!(
        h.call_err("getnodeaddresses", json!([-1])),
        (-8, "Address count out of range".into())
    );
    assert_eq!(
        h.call_err("getnodeaddresses", json!([1, "ipv5"])),
        (-8, "Network not recognized: ipv5".into())
    );
    assert_eq!(
        h.call_err("getnodeaddresses", json!([1.5])),
        (-1, "JSON integer out of range".into())
    );
}

/// Mirrors rpc_net.py: test_addpeeraddress and test_getaddrmaninfo.
#[test]
fn rpc_net__addpeeraddress_getaddrmaninfo() {
    let h = Harness::start();
    assert_eq!(
        h.call("addpeeraddress", json!(["1.2.3.4", 8333])),
        json!({"success": true})
    );
    assert_eq!(
        h.call("addpeeraddress", json!(["1.2.3.4", 8333])),
        json!({"success": false, "error": "failed-adding-to-new"})
    );
    assert_eq!(
        h.call("addpeeraddress", json!(["2001:4860::1", 8333, true])),
        json!({"success": true})
    );
    // The fake refuses tried for port 1.
    assert_eq!(
        h.call("addpeeraddress", json!(["5.6.7.8", 1, true])),
        json!({"success": false, "error": "failed-adding-to-tried"})
    );
    // Non-routable and unparsable addresses.
    assert_eq!(
        h.call("addpeeraddress", json!(["127.0.0.1", 8333])),
        json!({"success": false, "error": "failed-adding-to-new"})
    );
    assert_eq!(
        h.call("addpeeraddress", json!(["not-an-ip", 8333])),
        json!({"success": false})
    );
    assert_eq!(
        h.call_err("addpeeraddress", json!(["1.2.3.4", 70000])),
        (-1, "JSON integer out of range".into())
    );
    assert_eq!(
        h.backend.st().addrman[0].1,
        9,
        "NODE_NETWORK | NODE_WITNESS"
    );

    let info = h.call("getaddrmaninfo", json!([]));
    assert_eq!(
        keys(&info),
        set(&["ipv4", "ipv6", "onion", "i2p", "cjdns", "all_networks"])
    );
    assert_eq!(info["ipv4"], json!({"new": 2, "tried": 0, "total": 2}));
    assert_eq!(info["ipv6"], json!({"new": 0, "tried": 1, "total": 1}));
    assert_eq!(
        info["all_networks"],
        json!({"new": 2, "tried": 1, "total": 3})
    );
}

/// Mirrors rpc_net.py: ping asks every peer for a ping.
#[test]
fn rpc_net__ping() {
    let h = Harness::start();
    assert_eq!(h.call("ping", json!([])), Value::Null);
    assert_eq!(h.backend.st().pings, 1);
}

/// Mirrors feature_logging.py / rpc_misc.py: the `logging` call.
#[test]
fn rpc_misc__logging() {
    let h = Harness::start();
    let help = h.call("help", json!(["logging"]));
    assert!(
        help.as_str().unwrap().contains(
            "The valid logging categories are: addrman, http, net, rpc\nIn addition, the following are available as category names with special meanings:\n  - \"all\",  \"1\" : represent all logging categories.\n\nArguments:\n1. include "
        ),
        "{help}"
    );
    assert_eq!(
        h.call("logging", json!([])),
        json!({"addrman": false, "http": false, "net": true, "rpc": false})
    );
    assert_eq!(
        h.call("logging", json!([["addrman", "http"], ["net"]])),
        json!({"addrman": true, "http": true, "net": false, "rpc": false})
    );
    assert_eq!(
        h.call("logging", json!([["all"]])),
        json!({"addrman": true, "http": true, "net": true, "rpc": true})
    );
    assert_eq!(
        h.call_err("logging", json!([["nosuch"]])),
        (-8, "unknown logging category nosuch".into())
    );
    let (code, msg) = h.call_err("logging", json!(["net"]));
    assert_eq!(code, -3);
    assert!(msg.contains(
        "\"Position 1 (include)\": \"JSON value of type string is not of expected type array\""
    ));
    assert_eq!(
        h.call("logging", json!({"exclude": ["all"]})),
        json!({"addrman": false, "http": false, "net": false, "rpc": false})
    );
}

/// Mirrors rpc_uptime.py.
#[test]
fn rpc_uptime__uptime() {
    let h = Harness::start();
    assert_eq!(h.call("uptime", json!([])), json!(42));
}

/// Mirrors rpc_help.py: `help` lists every non-hidden command by category, `help <cmd>`
/// gives its help, an unknown command says so.
#[test]
fn rpc_help__lists_every_command() {
    let h = Harness::start();
    let text = h.call("help", json!([]));
    let text = text.as_str().unwrap();
    assert!(text.starts_with("== Control ==\nhelp ( \"command\" )\nlogging ( [\"include_category\",...] [\"exclude_category\",...] )\nstop\nuptime\n\n== Logos ==\n"), "{text}");
    for cmd in [
        "getpeerinfo",
        "getnetworkinfo",
        "getconnectioncount",
        "getnettotals",
        "addnode \"node\" \"command\" ( v2transport )",
        "disconnectnode ( \"address\" nodeid )",
        "getaddednodeinfo ( \"node\" )",
        "setban",
        "listbanned",
        "clearbanned",
        "getnodeaddresses ( count \"network\" )",
        "getaddrmaninfo",
        "ping",
        "uptime",
        "logging",
        "help",
        "stop",
        "sendlogos \"hexstring\"",
        "getlogosinfo",
    ] {
        assert!(
            text.lines().any(|l| l.starts_with(cmd)),
            "missing {cmd} in\n{text}"
        );
    }
    for hidden in ["addpeeraddress", "getrawaddrman"] {
        assert!(!text.contains(hidden));
    }
    assert!(text.contains("\n\n== Network ==\n"));
    let one = h.call("help", json!(["getnettotals"]));
    let one = one.as_str().unwrap();
    assert!(
        one.starts_with("getnettotals\n\nReturns information about network traffic"),
        "{one}"
    );
    assert!(one.contains("\nResult:\n{                                              (json object)\n  \"totalbytesrecv\" : n,"), "{one}");
    assert!(
        one.ends_with("http://127.0.0.1:8332/\n") || one.ends_with("http://127.0.0.1:8332/"),
        "{one}"
    );
    // Hidden commands still have help.
    assert!(h
        .call("help", json!(["getrawaddrman"]))
        .as_str()
        .unwrap()
        .starts_with("getrawaddrman\n"));
    assert_eq!(
        h.call("help", json!(["nosuch"])),
        json!("help: unknown command: nosuch")
    );
    let conv = h.call("help", json!(["dump_all_command_conversions"]));
    assert!(conv
        .as_array()
        .unwrap()
        .contains(&json!(["setban", 2, "bantime", false])));
}

/// Mirrors rpc_named_arguments.py: named parameters, the `args` shortcut, unknown names.
#[test]
fn rpc_named_arguments__named_params() {
    let h = Harness::start();
    assert_eq!(
        h.call("help", json!({"command": "uptime"}))
            .as_str()
            .unwrap()
            .lines()
            .next(),
        Some("uptime")
    );
    assert_eq!(
        h.call_err("help", json!({"cmd": "uptime"})),
        (-8, "Unknown named parameter cmd".into())
    );
    assert_eq!(
        h.call("getnodeaddresses", json!({"args": [0], "network": "ipv4"})),
        json!([])
    );
    assert_eq!(
        h.call_err("getnodeaddresses", json!({"args": [0, "ipv4"], "count": 1})),
        (
            -8,
            "Parameter count specified twice both as positional and named argument".into()
        )
    );
}

/// Our own calls: `sendlogos` and `getlogosinfo`.
#[test]
fn logos__sendlogos_getlogosinfo() {
    let h = Harness::start();
    assert_eq!(h.call("sendlogos", json!(["48656c6c6f"])), json!(true));
    assert_eq!(h.backend.st().propagated, vec![b"Hello".to_vec()]);
    assert_eq!(
        h.call_err("sendlogos", json!(["4865zz"])),
        (-8, "Error parsing input for hexstring".into())
    );
    assert_eq!(
        h.call_err("sendlogos", json!(["00".repeat(17)])),
        (
            -8,
            "Error: payload too large (17 bytes), max length is 16".into()
        )
    );
    let (code, _) = h.call_err("sendlogos", json!([]));
    assert_eq!(code, -1);
    let (code, _) = h.call_err("sendlogos", json!([12]));
    assert_eq!(code, -3);
    let info = h.call("getlogosinfo", json!([]));
    assert_eq!(
        info,
        json!({"seen_set_size": 1, "messages_delivered": 3, "messages_relayed": 2, "messages_dropped": 1, "messages_propagated": 1,
            "recent_rejects_size": 4, "messages_relay_dropped": 5, "catchup_sent": 6})
    );
    // No peer left: false.
    h.backend.st().peers.clear();
    assert_eq!(h.call("sendlogos", json!(["00"])), json!(false));
}

/// The listbanned vector's bans, loaded into the backend as BanMan would hold them, give
/// the same answer (map order = CSubNet order, as Core's banmap_t).
#[test]
fn rpc_setban__listbanned_vector_order() {
    let h = Harness::start();
    {
        let mut s = h.backend.st();
        for a in [
            "2001:db8::/32",
            "203.0.113.7/32",
            "5.6.0.0/16",
            "1.2.3.4/32",
        ] {
            s.bans.insert(
                lookup_subnet(a),
                BanEntry {
                    create_time: MOCK_TIME,
                    ban_until: MOCK_TIME + 86400,
                },
            );
        }
    }
    let want: Value = serde_json::from_str(
        &std::fs::read_to_string(vectors_dir().join("bitcoind-regtest/listbanned.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(h.call("listbanned", json!([])), want);
    let _ = Network::IPv4;
}

/// The `-rpc*` options reach the server as bitcoind reads them (init.cpp / httprpc.cpp).
#[test]
fn rpc_options__from_args() {
    let mut args = node::init::server_args();
    node::rpc::add_rpc_args(&mut args);
    node::rpc::add_rpc_args(&mut args); // idempotent
    args.parse_parameters(&[
        "logos-p2pd",
        "-rpcport=18555",
        "-rpcbind=127.0.0.1:1",
        "-rpcbind=::1",
        "-rpcallowip=10.0.0.0/8",
        "-rpcuser=u",
        "-rpcpassword=p",
        "-rpcauth=a:b$c",
        "-norpccookiefile",
        "-rpcthreads=2",
        "-rpcworkqueue=3",
        "-rpcservertimeout=4",
    ])
    .unwrap();
    let o = node::rpc::RpcOptions::from_args(&args, "/tmp/x".into(), 18443);
    assert_eq!(o.rpc_port, 18555);
    assert_eq!(o.rpc_bind, ["127.0.0.1:1", "::1"]);
    assert_eq!(o.rpc_allow_ip, ["10.0.0.0/8"]);
    assert_eq!(
        (o.auth.rpc_user.as_str(), o.auth.rpc_password.as_str()),
        ("u", "p")
    );
    assert_eq!(o.auth.rpc_auth, ["a:b$c"]);
    assert_eq!(o.auth.rpc_cookie_file.as_deref(), Some(""));
    assert_eq!(
        (o.rpc_threads, o.rpc_work_queue, o.rpc_server_timeout),
        (2, 3, 4)
    );
    let mut args = node::init::server_args();
    node::rpc::add_rpc_args(&mut args);
    args.parse_parameters(&["logos-p2pd"]).unwrap();
    let o = node::rpc::RpcOptions::from_args(&args, "/tmp/x".into(), 18443);
    assert_eq!(
        (
            o.rpc_port,
            o.rpc_threads,
            o.rpc_work_queue,
            o.rpc_server_timeout
        ),
        (18443, 16, 64, 30)
    );
    assert_eq!(o.auth.rpc_cookie_file, None);
    assert!(o.rpc_bind.is_empty() && o.rpc_allow_ip.is_empty());
}
