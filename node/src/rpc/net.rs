//! The P2P calls (port of `rpc/net.cpp`) and this node's own `logos` calls.
//!
//! Names, arguments, error codes and messages, and result fields are bitcoind's. Fields that
//! describe transactions or blocks (`relaytxes`, `last_block`, `synced_headers`, …) are still
//! returned, with the value bitcoind gives a peer that never sent any, so scripts and
//! `bitcoin-cli -netinfo` that read them keep working.

use serde_json::{json, Value};

use netbase::{
    get_network_name, get_network_names, lookup_host, maybe_flip_ipv6_to_cjdns, no_dns,
    parse_network, CNetAddr, CService, CSubNet, Network, ALL_NETWORKS,
};

use crate::obj;

use super::backend::{AddrmanEntry, ConnectionDirection};
use super::protocol::*;
use super::server::RpcTable;
use super::univalue::UniValue;
use super::util::{
    get_bool, get_int, get_int_as, get_str, help_example_cli, help_example_rpc, ArgType, Fallback,
    ResultType as T, RpcArg, RpcHelpMan, RpcResult as R, UNIX_EPOCH_TIME,
};

/// Port of MAX_ADDNODE_CONNECTIONS (net.h), quoted in `addnode`'s help.
pub const MAX_ADDNODE_CONNECTIONS: u32 = 8;
/// Core's NODE_NETWORK service bit.
const NODE_NETWORK: u64 = 1;
/// Core's NODE_WITNESS service bit.
const NODE_WITNESS: u64 = 1 << 3;
/// Core's NODE_P2P_V2 service bit.
const NODE_P2P_V2: u64 = 1 << 11;

/// Port of CONNECTION_TYPE_DOC (rpc/net.cpp).
const CONNECTION_TYPE_DOC: [&str; 6] = [
    "outbound-full-relay (default automatic connections)",
    "block-relay-only (does not relay transactions or addresses)",
    "inbound (initiated by the peer)",
    "manual (added via addnode RPC or -addnode/-connect configuration options)",
    "addr-fetch (short-lived automatic connection for soliciting addresses)",
    "feeler (short-lived automatic connection for testing addresses)",
];

/// Port of TRANSPORT_TYPE_DOC (rpc/net.cpp).
const TRANSPORT_TYPE_DOC: [&str; 3] = [
    "detecting (peer could be v1 or v2)",
    "v1 (plaintext transport protocol)",
    "v2 (BIP324 encrypted transport protocol)",
];

/// Port of NET_PERMISSIONS_DOC (net_permissions.cpp).
const NET_PERMISSIONS_DOC: [&str; 7] = [
    "bloomfilter (allow requesting BIP37 filtered blocks and transactions)",
    "noban (do not ban for misbehavior; implies download)",
    "forcerelay (relay transactions that are already in the mempool; implies relay)",
    "relay (relay even in -blocksonly mode, and unlimited transaction announcements)",
    "mempool (allow requesting BIP35 mempool contents)",
    "download (allow getheaders during IBD, no disconnect after maxuploadtarget limit)",
    "addr (responses to GETADDR avoid hitting the cache and contain random records with the most up-to-date info)",
];

type Help = RpcHelpMan<RpcTable>;

fn arg(name: &str, ty: ArgType, fb: Fallback, desc: &str) -> RpcArg {
    RpcArg::new(name, ty, fb, desc)
}

fn hint(s: &str) -> Fallback {
    Fallback::DefaultHint(s.into())
}

fn network_names() -> String {
    get_network_names(false).join(", ")
}

/// Port of GetServicesNames (rpc/net.cpp).
fn get_services_names(t: &RpcTable, services: u64) -> UniValue {
    UniValue::from(t.backend.service_flags_to_str(services))
}

/// Microseconds as Core's `Ticks<SecondsDouble>`.
fn seconds_double(us: i64) -> f64 {
    us as f64 / 1_000_000.0
}

/// Port of getconnectioncount (rpc/net.cpp).
fn getconnectioncount() -> Help {
    RpcHelpMan {
        name: "getconnectioncount".into(),
        description: "Returns the number of connections to other nodes.\n".into(),
        args: vec![],
        results: vec![R::new(T::Num, "", "The connection count")],
        examples: help_example_cli("getconnectioncount", "")
            + &help_example_rpc("getconnectioncount", ""),
        fun: |_, _, t| {
            Ok(UniValue::from(
                t.backend.get_node_count(ConnectionDirection::Both),
            ))
        },
    }
}

/// Port of ping (rpc/net.cpp).
fn ping() -> Help {
    RpcHelpMan {
        name: "ping".into(),
        description: "Requests that a ping be sent to all other nodes, to measure ping time.\n\
Results provided in getpeerinfo, pingtime and pingwait fields are decimal seconds.\n\
Ping command is handled in queue with all other commands, so it measures processing backlog, not just network ping.\n"
            .into(),
        args: vec![],
        results: vec![R::new(T::None, "", "")],
        examples: help_example_cli("ping", "") + &help_example_rpc("ping", ""),
        fun: |_, _, t| {
            t.backend.send_pings();
            Ok(UniValue::Null)
        },
    }
}

/// Port of getpeerinfo (rpc/net.cpp).
fn getpeerinfo() -> Help {
    let peer = vec![
        R::new(T::Num, "id", "Peer index"),
        R::new(T::Str, "addr", "(host:port) The IP address and port of the peer"),
        R::opt(T::Str, "addrbind", "(ip:port) Bind address of the connection to the peer"),
        R::opt(T::Str, "addrlocal", "(ip:port) Local address as reported by the peer"),
        R::new(T::Str, "network", &format!("Network ({})", get_network_names(true).join(", "))),
        R::opt(T::Num, "mapped_as", "Mapped AS (Autonomous System) number at the end of the BGP route to the peer, used for diversifying\npeer selection (only displayed if the -asmap config option is set)"),
        R::new(T::StrHex, "services", "The services offered"),
        R::with(T::Arr, "servicesnames", "the services offered, in human-readable form", vec![R::new(T::Str, "SERVICE_NAME", "the service name if it is recognised")]),
        R::new(T::Bool, "relaytxes", "Whether we relay transactions to this peer"),
        R::new(T::NumTime, "lastsend", &format!("The {UNIX_EPOCH_TIME} of the last send")),
        R::new(T::NumTime, "lastrecv", &format!("The {UNIX_EPOCH_TIME} of the last receive")),
        R::new(T::NumTime, "last_transaction", &format!("The {UNIX_EPOCH_TIME} of the last valid transaction received from this peer")),
        R::new(T::NumTime, "last_block", &format!("The {UNIX_EPOCH_TIME} of the last block received from this peer")),
        R::new(T::Num, "bytessent", "The total bytes sent"),
        R::new(T::Num, "bytesrecv", "The total bytes received"),
        R::new(T::NumTime, "conntime", &format!("The {UNIX_EPOCH_TIME} of the connection")),
        R::new(T::Num, "timeoffset", "The time offset in seconds"),
        R::opt(T::Num, "pingtime", "The last ping time in milliseconds (ms), if any"),
        R::opt(T::Num, "minping", "The minimum observed ping time in milliseconds (ms), if any"),
        R::opt(T::Num, "pingwait", "The duration in milliseconds (ms) of an outstanding ping (if non-zero)"),
        R::new(T::Num, "version", "The peer version, such as 70001"),
        R::new(T::Str, "subver", "The string version"),
        R::new(T::Bool, "inbound", "Inbound (true) or Outbound (false)"),
        R::new(T::Bool, "bip152_hb_to", "Whether we selected peer as (compact blocks) high-bandwidth peer"),
        R::new(T::Bool, "bip152_hb_from", "Whether peer selected us as (compact blocks) high-bandwidth peer"),
        R::new(T::Num, "startingheight", "The starting height (block) of the peer"),
        R::new(T::Num, "presynced_headers", "The current height of header pre-synchronization with this peer, or -1 if no low-work sync is in progress"),
        R::new(T::Num, "synced_headers", "The last header we have in common with this peer"),
        R::new(T::Num, "synced_blocks", "The last block we have in common with this peer"),
        R::with(T::Arr, "inflight", "", vec![R::new(T::Num, "n", "The heights of blocks we're currently asking from this peer")]),
        R::new(T::Bool, "addr_relay_enabled", "Whether we participate in address relay with this peer"),
        R::new(T::Num, "addr_processed", "The total number of addresses processed, excluding those dropped due to rate limiting"),
        R::new(T::Num, "addr_rate_limited", "The total number of addresses dropped due to rate limiting"),
        R::with(T::Arr, "permissions", "Any special permissions that have been granted to this peer", vec![R::new(T::Str, "permission_type", &(NET_PERMISSIONS_DOC.join(",\n") + ".\n"))]),
        R::new(T::Num, "minfeefilter", "The minimum fee rate for transactions this peer accepts"),
        R::with(T::ObjDyn, "bytessent_per_msg", "", vec![R::new(T::Num, "msg", "The total bytes sent aggregated by message type\nWhen a message type is not listed in this json object, the bytes sent are 0.\nOnly known message types can appear as keys in the object.")]),
        R::with(T::ObjDyn, "bytesrecv_per_msg", "", vec![R::new(T::Num, "msg", "The total bytes received aggregated by message type\nWhen a message type is not listed in this json object, the bytes received are 0.\nOnly known message types can appear as keys in the object and all bytes received\nof unknown message types are listed under '*other*'.")]),
        R::new(T::Str, "connection_type", &format!("Type of connection: \n{}.\nPlease note this output is unlikely to be stable in upcoming releases as we iterate to\nbest capture connection behaviors.", CONNECTION_TYPE_DOC.join(",\n"))),
        R::new(T::Str, "transport_protocol_type", &format!("Type of transport protocol: \n{}.\n", TRANSPORT_TYPE_DOC.join(",\n"))),
        R::new(T::Str, "session_id", "The session ID for this connection, or \"\" if there is none (\"v2\" transport protocol only).\n"),
        R::opt(T::Num, "logos_relay_dropped", "logos messages not relayed to this peer because its send buffer was full (Logos networks only)"),
    ];
    RpcHelpMan {
        name: "getpeerinfo".into(),
        description: "Returns data about each connected network peer as a json array of objects."
            .into(),
        args: vec![],
        results: vec![R::with(T::Arr, "", "", vec![R::with(T::Obj, "", "", peer)])],
        examples: help_example_cli("getpeerinfo", "") + &help_example_rpc("getpeerinfo", ""),
        fun: |_, _, t| {
            let mut ret = Vec::new();
            for s in t.backend.get_node_stats() {
                let mut obj = UniValue::new_object();
                obj.push_kv("id", s.nodeid);
                obj.push_kv("addr", s.addr_name);
                if let Some(bind) = s.addr_bind.filter(|b| b.addr.is_valid()) {
                    obj.push_kv("addrbind", bind.to_string_addr_port());
                }
                if !s.addr_local.is_empty() {
                    obj.push_kv("addrlocal", s.addr_local);
                }
                let network = s.network.map_or("not_publicly_routable", get_network_name);
                obj.push_kv("network", network);
                if s.mapped_as != 0 {
                    obj.push_kv("mapped_as", s.mapped_as);
                }
                obj.push_kv("services", format!("{:016x}", s.their_services));
                obj.push_kv("servicesnames", get_services_names(t, s.their_services));
                // No transaction relay on this node: bitcoind's value for such a peer.
                obj.push_kv("relaytxes", false);
                obj.push_kv("lastsend", s.last_send);
                obj.push_kv("lastrecv", s.last_recv);
                obj.push_kv("last_transaction", 0);
                obj.push_kv("last_block", 0);
                obj.push_kv("bytessent", s.send_bytes);
                obj.push_kv("bytesrecv", s.recv_bytes);
                obj.push_kv("conntime", s.connected);
                obj.push_kv("timeoffset", s.time_offset);
                if s.last_ping_time_us > 0 {
                    obj.push_kv("pingtime", seconds_double(s.last_ping_time_us));
                }
                if let Some(min) = s.min_ping_time_us {
                    obj.push_kv("minping", seconds_double(min));
                }
                if s.ping_wait_us > 0 {
                    obj.push_kv("pingwait", seconds_double(s.ping_wait_us));
                }
                obj.push_kv("version", s.version);
                obj.push_kv("subver", s.clean_sub_ver);
                obj.push_kv("inbound", s.inbound);
                obj.push_kv("bip152_hb_to", false);
                obj.push_kv("bip152_hb_from", false);
                obj.push_kv("startingheight", s.starting_height);
                obj.push_kv("presynced_headers", -1);
                obj.push_kv("synced_headers", -1);
                obj.push_kv("synced_blocks", -1);
                obj.push_kv("inflight", UniValue::new_array());
                obj.push_kv("addr_relay_enabled", s.addr_relay_enabled);
                obj.push_kv("addr_processed", s.addr_processed);
                obj.push_kv("addr_rate_limited", s.addr_rate_limited);
                obj.push_kv("permissions", s.permissions);
                obj.push_kv("minfeefilter", UniValue::from_amount(0));
                let per_msg = |m: &std::collections::BTreeMap<String, u64>| {
                    UniValue::Obj(
                        m.iter()
                            .filter(|(_, v)| **v > 0)
                            .map(|(k, v)| (k.clone(), UniValue::from(*v)))
                            .collect(),
                    )
                };
                obj.push_kv("bytessent_per_msg", per_msg(&s.send_bytes_per_msg));
                obj.push_kv("bytesrecv_per_msg", per_msg(&s.recv_bytes_per_msg));
                obj.push_kv("connection_type", s.conn_type);
                obj.push_kv("transport_protocol_type", s.transport_type);
                obj.push_kv("session_id", s.session_id);
                if let Some(n) = s.logos_relay_dropped {
                    obj.push_kv("logos_relay_dropped", n);
                }
                ret.push(obj);
            }
            Ok(UniValue::Arr(ret))
        },
    }
}

/// Port of addnode (rpc/net.cpp).
fn addnode() -> Help {
    RpcHelpMan {
        name: "addnode".into(),
        description: format!(
            "Attempts to add or remove a node from the addnode list.\n\
Or try a connection to a node once.\n\
Nodes added using addnode (or -connect) are protected from DoS disconnection and are not required to be\n\
full nodes/support SegWit as other outbound peers are (though such peers will not be synced from).\n\
Addnode connections are limited to {MAX_ADDNODE_CONNECTIONS} at a time and are counted separately from the -maxconnections limit.\n"
        ),
        args: vec![
            arg("node", ArgType::Str, Fallback::Required, "The address of the peer to connect to"),
            arg("command", ArgType::Str, Fallback::Required, "'add' to add a node to the list, 'remove' to remove a node from the list, 'onetry' to try a connection to the node once"),
            arg("v2transport", ArgType::Bool, hint("set by -v2transport"), "Attempt to connect using BIP324 v2 transport protocol (ignored for 'remove' command)"),
        ],
        results: vec![R::new(T::None, "", "")],
        examples: help_example_cli("addnode", "\"192.168.0.6:8333\" \"onetry\" true")
            + &help_example_rpc("addnode", "\"192.168.0.6:8333\", \"onetry\" true"),
        fun: |h, req, t| {
            let command = get_str(h.maybe_arg(req, "command").unwrap_or(&Value::Null))?;
            if command != "onetry" && command != "add" && command != "remove" {
                return Err(RpcError::new(RPC_MISC_ERROR, h.help_text()));
            }
            let node_arg = get_str(h.maybe_arg(req, "node").unwrap_or(&Value::Null))?;
            let node_v2transport = t.backend.get_local_services() & NODE_P2P_V2 != 0;
            let use_v2transport = match h.maybe_arg(req, "v2transport") {
                Some(v) => get_bool(v)?,
                None => node_v2transport,
            };
            if use_v2transport && !node_v2transport {
                return Err(RpcError::new(
                    RPC_INVALID_PARAMETER,
                    "Error: v2transport requested but not enabled (see -v2transport)",
                ));
            }
            match command {
                "onetry" => t.backend.open_manual_connection(node_arg, use_v2transport),
                "add" => {
                    if !t.backend.add_node(node_arg, use_v2transport) {
                        return Err(RpcError::new(RPC_CLIENT_NODE_ALREADY_ADDED, "Error: Node already added"));
                    }
                }
                _ => {
                    if !t.backend.remove_added_node(node_arg) {
                        return Err(RpcError::new(
                            RPC_CLIENT_NODE_NOT_ADDED,
                            "Error: Node could not be removed. It has not been added previously.",
                        ));
                    }
                }
            }
            Ok(UniValue::Null)
        },
    }
}

/// Port of disconnectnode (rpc/net.cpp).
fn disconnectnode() -> Help {
    RpcHelpMan {
        name: "disconnectnode".into(),
        description: "Immediately disconnects from the specified peer node.\n\
\nStrictly one out of 'address' and 'nodeid' can be provided to identify the node.\n\
\nTo disconnect by nodeid, either set 'address' to the empty string, or call using the named 'nodeid' argument only.\n"
            .into(),
        args: vec![
            arg("address", ArgType::Str, hint("fallback to nodeid"), "The IP address/port of the node"),
            arg("nodeid", ArgType::Num, hint("fallback to address"), "The node ID (see getpeerinfo for node IDs)"),
        ],
        results: vec![R::new(T::None, "", "")],
        examples: help_example_cli("disconnectnode", "\"192.168.0.6:8333\"")
            + &help_example_cli("disconnectnode", "\"\" 1")
            + &help_example_rpc("disconnectnode", "\"192.168.0.6:8333\"")
            + &help_example_rpc("disconnectnode", "\"\", 1"),
        fun: |_, req, t| {
            let address_arg = req.param(0);
            let id_arg = req.param(1);
            //DMITRY: disconnectnode RPC disconnects the named peer at once; Core: rpc/net.cpp::disconnectnode (CConnman::DisconnectNode); kept.
            let success = if !address_arg.is_null() && id_arg.is_null() {
                t.backend.disconnect_node_by_name(get_str(address_arg)?)
            } else if !id_arg.is_null() && (address_arg.is_null() || address_arg.as_str() == Some("")) {
                t.backend.disconnect_node_by_id(get_int(id_arg)?)
            } else {
                return Err(RpcError::new(RPC_INVALID_PARAMS, "Only one of address and nodeid should be provided."));
            };
            if !success {
                return Err(RpcError::new(RPC_CLIENT_NODE_NOT_CONNECTED, "Node not found in connected nodes"));
            }
            Ok(UniValue::Null)
        },
    }
}

/// Port of getaddednodeinfo (rpc/net.cpp).
fn getaddednodeinfo() -> Help {
    RpcHelpMan {
        name: "getaddednodeinfo".into(),
        description: "Returns information about the given added node, or all added nodes\n\
(note that onetry addnodes are not listed here)\n"
            .into(),
        args: vec![arg(
            "node",
            ArgType::Str,
            hint("all nodes"),
            "If provided, return information about this specific node, otherwise all nodes are returned.",
        )],
        results: vec![R::with(T::Arr, "", "", vec![R::with(T::Obj, "", "", vec![
            R::new(T::Str, "addednode", "The node IP address or name (as provided to addnode)"),
            R::new(T::Bool, "connected", "If connected"),
            R::with(T::Arr, "addresses", "Only when connected = true", vec![R::with(T::Obj, "", "", vec![
                R::new(T::Str, "address", "The bitcoin server IP and port we're connected to"),
                R::new(T::Str, "connected", "connection, inbound or outbound"),
            ])]),
        ])])],
        examples: help_example_cli("getaddednodeinfo", "\"192.168.0.201\"")
            + &help_example_rpc("getaddednodeinfo", "\"192.168.0.201\""),
        fun: |_, req, t| {
            let mut infos = t.backend.get_added_node_info();
            if !req.param(0).is_null() {
                let want = get_str(req.param(0))?;
                match infos.iter().find(|i| i.added_node == want) {
                    Some(i) => infos = vec![i.clone()],
                    None => {
                        return Err(RpcError::new(RPC_CLIENT_NODE_NOT_ADDED, "Error: Node has not been added."))
                    }
                }
            }
            let ret: Vec<UniValue> = infos
                .iter()
                .map(|info| {
                    let addresses = if info.connected {
                        vec![obj! {
                            "address" => info.resolved_address.to_string_addr_port(),
                            "connected" => if info.inbound { "inbound" } else { "outbound" },
                        }]
                    } else {
                        vec![]
                    };
                    obj! {
                        "addednode" => &info.added_node,
                        "connected" => info.connected,
                        "addresses" => addresses,
                    }
                })
                .collect();
            Ok(UniValue::Arr(ret))
        },
    }
}

/// Port of getnettotals (rpc/net.cpp).
fn getnettotals() -> Help {
    RpcHelpMan {
        name: "getnettotals".into(),
        description: "Returns information about network traffic, including bytes in, bytes out,\nand current system time.".into(),
        args: vec![],
        results: vec![R::with(T::Obj, "", "", vec![
            R::new(T::Num, "totalbytesrecv", "Total bytes received"),
            R::new(T::Num, "totalbytessent", "Total bytes sent"),
            R::new(T::NumTime, "timemillis", &format!("Current system {UNIX_EPOCH_TIME} in milliseconds")),
            R::with(T::Obj, "uploadtarget", "", vec![
                R::new(T::Num, "timeframe", "Length of the measuring timeframe in seconds"),
                R::new(T::Num, "target", "Target in bytes"),
                R::new(T::Bool, "target_reached", "True if target is reached"),
                R::new(T::Bool, "serve_historical_blocks", "True if serving historical blocks"),
                R::new(T::Num, "bytes_left_in_cycle", "Bytes left in current time cycle"),
                R::new(T::Num, "time_left_in_cycle", "Seconds left in current time cycle"),
            ]),
        ])],
        examples: help_example_cli("getnettotals", "") + &help_example_rpc("getnettotals", ""),
        fun: |_, _, t| {
            let u = t.backend.get_upload_target();
            Ok(obj! {
                "totalbytesrecv" => t.backend.get_total_bytes_recv(),
                "totalbytessent" => t.backend.get_total_bytes_sent(),
                "timemillis" => t.backend.get_time_millis(),
                "uploadtarget" => obj! {
                    "timeframe" => u.timeframe,
                    "target" => u.target,
                    "target_reached" => u.target_reached,
                    "serve_historical_blocks" => u.serve_historical_blocks,
                    "bytes_left_in_cycle" => u.bytes_left_in_cycle,
                    "time_left_in_cycle" => u.time_left_in_cycle,
                },
            })
        },
    }
}

/// Port of getnetworkinfo (rpc/net.cpp), with GetNetworksInfo inlined.
fn getnetworkinfo() -> Help {
    RpcHelpMan {
        name: "getnetworkinfo".into(),
        description: "Returns an object containing various state info regarding P2P networking.\n".into(),
        args: vec![],
        results: vec![R::with(T::Obj, "", "", vec![
            R::new(T::Num, "version", "the server version"),
            R::new(T::Str, "subversion", "the server subversion string"),
            R::new(T::Num, "protocolversion", "the protocol version"),
            R::new(T::StrHex, "localservices", "the services we offer to the network"),
            R::with(T::Arr, "localservicesnames", "the services we offer to the network, in human-readable form", vec![R::new(T::Str, "SERVICE_NAME", "the service name")]),
            R::new(T::Bool, "localrelay", "true if transaction relay is requested from peers"),
            R::new(T::Num, "timeoffset", "the time offset"),
            R::new(T::Num, "connections", "the total number of connections"),
            R::new(T::Num, "connections_in", "the number of inbound connections"),
            R::new(T::Num, "connections_out", "the number of outbound connections"),
            R::new(T::Bool, "networkactive", "whether p2p networking is enabled"),
            R::with(T::Arr, "networks", "information per network", vec![R::with(T::Obj, "", "", vec![
                R::new(T::Str, "name", &format!("network ({})", network_names())),
                R::new(T::Bool, "limited", "is the network limited using -onlynet?"),
                R::new(T::Bool, "reachable", "is the network reachable?"),
                R::new(T::Str, "proxy", "(\"host:port\") the proxy that is used for this network, or empty if none"),
                R::new(T::Bool, "proxy_randomize_credentials", "Whether randomized credentials are used"),
            ])]),
            R::new(T::Num, "relayfee", "minimum relay fee rate for transactions in BTC/kvB"),
            R::new(T::Num, "incrementalfee", "minimum fee rate increment for mempool limiting or replacement in BTC/kvB"),
            R::with(T::Arr, "localaddresses", "list of local addresses", vec![R::with(T::Obj, "", "", vec![
                R::new(T::Str, "address", "network address"),
                R::new(T::Num, "port", "network port"),
                R::new(T::Num, "score", "relative score"),
            ])]),
            R::with(T::Arr, "warnings", "any network and blockchain warnings (run with `-deprecatedrpc=warnings` to return the latest warning as a single string)", vec![R::new(T::Str, "", "warning")]),
        ])],
        examples: help_example_cli("getnetworkinfo", "") + &help_example_rpc("getnetworkinfo", ""),
        fun: |_, _, t| {
            let b = &t.backend;
            let info = b.get_network_info();
            let services = b.get_local_services();
            let mut obj = UniValue::new_object();
            obj.push_kv("version", info.version);
            obj.push_kv("subversion", info.subversion);
            obj.push_kv("protocolversion", info.protocol_version);
            obj.push_kv("localservices", format!("{services:016x}"));
            obj.push_kv("localservicesnames", get_services_names(t, services));
            obj.push_kv("localrelay", info.local_relay);
            obj.push_kv("timeoffset", info.time_offset);
            obj.push_kv("networkactive", b.get_network_active());
            obj.push_kv("connections", b.get_node_count(ConnectionDirection::Both));
            obj.push_kv("connections_in", b.get_node_count(ConnectionDirection::In));
            obj.push_kv("connections_out", b.get_node_count(ConnectionDirection::Out));
            let networks: Vec<UniValue> = info
                .networks
                .iter()
                .filter(|n| !matches!(n.network, Network::Unroutable | Network::Internal))
                .map(|n| {
                    obj! {
                        "name" => get_network_name(n.network),
                        "limited" => !n.reachable,
                        "reachable" => n.reachable,
                        "proxy" => &n.proxy,
                        "proxy_randomize_credentials" => n.proxy_randomize_credentials,
                    }
                })
                .collect();
            obj.push_kv("networks", networks);
            if let Some(fee) = info.relay_fee {
                obj.push_kv("relayfee", UniValue::from_amount(fee));
            }
            if let Some(fee) = info.incremental_fee {
                obj.push_kv("incrementalfee", UniValue::from_amount(fee));
            }
            let local: Vec<UniValue> = info
                .local_addresses
                .iter()
                .map(|l| obj! {"address" => l.address.to_string_addr(), "port" => l.port, "score" => l.score})
                .collect();
            obj.push_kv("localaddresses", local);
            obj.push_kv("warnings", info.warnings);
            Ok(obj)
        },
    }
}

/// The subnet `setban` works on: a `/`-form through LookupSubNet, a bare address through
/// LookupHost (numeric only) and MaybeFlipIPv6toCJDNS. `None` if invalid.
fn parse_ban_target(t: &RpcTable, s: &str) -> Option<(CSubNet, Option<CNetAddr>)> {
    if s.contains('/') {
        let subnet = netbase::lookup_subnet_with(s, t.backend.is_cjdns_reachable());
        return subnet.is_valid().then_some((subnet, None));
    }
    let addr = lookup_host(s, false, &no_dns)?;
    let addr =
        maybe_flip_ipv6_to_cjdns(&CService::new(addr, 0), t.backend.is_cjdns_reachable()).addr;
    addr.is_valid()
        .then(|| (CSubNet::from_addr(addr), Some(addr)))
}

/// Port of setban (rpc/net.cpp).
fn setban() -> Help {
    RpcHelpMan {
        name: "setban".into(),
        description: "Attempts to add or remove an IP/Subnet from the banned list.\n".into(),
        args: vec![
            arg("subnet", ArgType::Str, Fallback::Required, "The IP/Subnet (see getpeerinfo for nodes IP) with an optional netmask (default is /32 = single IP)"),
            arg("command", ArgType::Str, Fallback::Required, "'add' to add an IP/Subnet to the list, 'remove' to remove an IP/Subnet from the list"),
            arg("bantime", ArgType::Num, Fallback::Default(json!(0)), "time in seconds how long (or until when if [absolute] is set) the IP is banned (0 or empty means using the default time of 24h which can also be overwritten by the -bantime startup argument)"),
            arg("absolute", ArgType::Bool, Fallback::Default(json!(false)), &format!("If set, the bantime must be an absolute timestamp expressed in {UNIX_EPOCH_TIME}")),
        ],
        results: vec![R::new(T::None, "", "")],
        examples: help_example_cli("setban", "\"192.168.0.6\" \"add\" 86400")
            + &help_example_cli("setban", "\"192.168.0.0/24\" \"add\"")
            + &help_example_rpc("setban", "\"192.168.0.6\", \"add\", 86400"),
        fun: |h, req, t| {
            let command = match req.param(1) {
                Value::Null => "",
                v => get_str(v)?,
            };
            if command != "add" && command != "remove" {
                return Err(RpcError::new(RPC_MISC_ERROR, h.help_text()));
            }
            let Some((subnet, single)) = parse_ban_target(t, get_str(req.param(0))?) else {
                return Err(RpcError::new(RPC_CLIENT_INVALID_IP_OR_SUBNET, "Error: Invalid IP/Subnet"));
            };
            if command == "add" {
                let banned = match &single {
                    Some(a) => t.backend.is_banned_addr(a),
                    None => t.backend.is_banned_subnet(&subnet),
                };
                if banned {
                    return Err(RpcError::new(RPC_CLIENT_NODE_ALREADY_ADDED, "Error: IP/Subnet already banned"));
                }
                let ban_time = match req.param(2) {
                    Value::Null => 0,
                    v => get_int(v)?,
                };
                let absolute = match req.param(3) {
                    Value::Null => false,
                    v => get_bool(v)?,
                };
                if absolute && ban_time < t.backend.get_time() {
                    return Err(RpcError::new(RPC_INVALID_PARAMETER, "Error: Absolute timestamp is in the past"));
                }
                //DMITRY: setban RPC bans the subnet and disconnects every connected peer in it; Core: rpc/net.cpp::setban (BanMan::Ban + CConnman::DisconnectNode(subnet)); kept.
                t.backend.ban(&subnet, ban_time, absolute);
                t.backend.disconnect_node_subnet(&subnet);
            } else if !t.backend.unban(&subnet) {
                return Err(RpcError::new(
                    RPC_CLIENT_INVALID_IP_OR_SUBNET,
                    "Error: Unban failed. Requested address/subnet was not previously manually banned.",
                ));
            }
            Ok(UniValue::Null)
        },
    }
}

/// Port of listbanned (rpc/net.cpp).
fn listbanned() -> Help {
    RpcHelpMan {
        name: "listbanned".into(),
        description: "List all manually banned IPs/Subnets.\n".into(),
        args: vec![],
        results: vec![R::with(
            T::Arr,
            "",
            "",
            vec![R::with(
                T::Obj,
                "",
                "",
                vec![
                    R::new(T::Str, "address", "The IP/Subnet of the banned node"),
                    R::new(
                        T::NumTime,
                        "ban_created",
                        &format!("The {UNIX_EPOCH_TIME} the ban was created"),
                    ),
                    R::new(
                        T::NumTime,
                        "banned_until",
                        &format!("The {UNIX_EPOCH_TIME} the ban expires"),
                    ),
                    R::new(T::NumTime, "ban_duration", "The ban duration, in seconds"),
                    R::new(
                        T::NumTime,
                        "time_remaining",
                        "The time remaining until the ban expires, in seconds",
                    ),
                ],
            )],
        )],
        examples: help_example_cli("listbanned", "") + &help_example_rpc("listbanned", ""),
        fun: |_, _, t| {
            let now = t.backend.get_time();
            let ret: Vec<UniValue> = t
                .backend
                .get_banned()
                .iter()
                .map(|(subnet, e)| {
                    obj! {
                        "address" => subnet.to_string(),
                        "ban_created" => e.create_time,
                        "banned_until" => e.ban_until,
                        "ban_duration" => e.ban_until.saturating_sub(e.create_time),
                        "time_remaining" => e.ban_until.saturating_sub(now),
                    }
                })
                .collect();
            Ok(UniValue::Arr(ret))
        },
    }
}

/// Port of clearbanned (rpc/net.cpp).
fn clearbanned() -> Help {
    RpcHelpMan {
        name: "clearbanned".into(),
        description: "Clear all banned IPs.\n".into(),
        args: vec![],
        results: vec![R::new(T::None, "", "")],
        examples: help_example_cli("clearbanned", "") + &help_example_rpc("clearbanned", ""),
        fun: |_, _, t| {
            t.backend.clear_banned();
            Ok(UniValue::Null)
        },
    }
}

/// Port of getnodeaddresses (rpc/net.cpp).
fn getnodeaddresses() -> Help {
    RpcHelpMan {
        name: "getnodeaddresses".into(),
        description: "Return known addresses, after filtering for quality and recency.\n\
These can potentially be used to find new peers in the network.\n\
The total number of addresses known to the node may be higher."
            .into(),
        args: vec![
            arg("count", ArgType::Num, Fallback::Default(json!(1)), "The maximum number of addresses to return. Specify 0 to return all known addresses."),
            arg("network", ArgType::Str, hint("all networks"), &format!("Return only addresses of the specified network. Can be one of: {}.", network_names())),
        ],
        results: vec![R::with(T::Arr, "", "", vec![R::with(T::Obj, "", "", vec![
            R::new(T::NumTime, "time", &format!("The {UNIX_EPOCH_TIME} when the node was last seen")),
            R::new(T::Num, "services", "The services offered by the node"),
            R::new(T::Str, "address", "The address of the node"),
            R::new(T::Num, "port", "The port number of the node"),
            R::new(T::Str, "network", &format!("The network ({}) the node connected through", network_names())),
        ])])],
        examples: help_example_cli("getnodeaddresses", "8")
            + &help_example_cli("getnodeaddresses", "4 \"i2p\"")
            + &help_example_cli("-named getnodeaddresses", "network=onion count=12")
            + &help_example_rpc("getnodeaddresses", "8")
            + &help_example_rpc("getnodeaddresses", "4, \"i2p\""),
        fun: |_, req, t| {
            let count: i32 = match req.param(0) {
                Value::Null => 1,
                v => get_int_as(v)?,
            };
            if count < 0 {
                return Err(RpcError::new(RPC_INVALID_PARAMETER, "Address count out of range"));
            }
            let network = match req.param(1) {
                Value::Null => None,
                v => {
                    let s = get_str(v)?;
                    let n = parse_network(s);
                    if n == Network::Unroutable {
                        return Err(RpcError::new(RPC_INVALID_PARAMETER, format!("Network not recognized: {s}")));
                    }
                    Some(n)
                }
            };
            let ret: Vec<UniValue> = t
                .backend
                .get_addresses(count as usize, 0, network)
                .iter()
                .map(|a| {
                    obj! {
                        "time" => a.time,
                        "services" => a.services,
                        "address" => a.service.addr.to_string_addr(),
                        "port" => a.service.get_port(),
                        "network" => get_network_name(a.service.addr.get_net_class()),
                    }
                })
                .collect();
            Ok(UniValue::Arr(ret))
        },
    }
}

/// Port of addpeeraddress (rpc/net.cpp).
fn addpeeraddress() -> Help {
    RpcHelpMan {
        name: "addpeeraddress".into(),
        description: "Add the address of a potential peer to an address manager table. This RPC is for testing only.".into(),
        args: vec![
            arg("address", ArgType::Str, Fallback::Required, "The IP address of the peer"),
            arg("port", ArgType::Num, Fallback::Required, "The port of the peer"),
            arg("tried", ArgType::Bool, Fallback::Default(json!(false)), "If true, attempt to add the peer to the tried addresses table"),
        ],
        results: vec![R::with(T::Obj, "", "", vec![
            R::new(T::Bool, "success", "whether the peer address was successfully added to the address manager table"),
            R::opt(T::Str, "error", "error description, if the address could not be added"),
        ])],
        examples: help_example_cli("addpeeraddress", "\"1.2.3.4\" 8333 true")
            + &help_example_rpc("addpeeraddress", "\"1.2.3.4\", 8333, true"),
        fun: |_, req, t| {
            let addr_string = get_str(req.param(0))?;
            let port: u16 = get_int_as(req.param(1))?;
            let tried = match req.param(2) {
                Value::Null => false,
                v => get_bool(v)?,
            };
            let mut obj = UniValue::new_object();
            let mut success = false;
            if let Some(net_addr) = lookup_host(addr_string, false, &no_dns) {
                let service =
                    maybe_flip_ipv6_to_cjdns(&CService::new(net_addr, port), t.backend.is_cjdns_reachable());
                // The address is its own source, as if the peer had announced itself.
                if t.backend.addrman_add(&service, NODE_NETWORK | NODE_WITNESS, &service.addr) {
                    success = true;
                    if tried && !t.backend.addrman_good(&service) {
                        success = false;
                        obj.push_kv("error", "failed-adding-to-tried");
                    }
                } else {
                    obj.push_kv("error", "failed-adding-to-new");
                }
            }
            obj.push_kv("success", success);
            Ok(obj)
        },
    }
}

/// Port of getaddrmaninfo (rpc/net.cpp).
fn getaddrmaninfo() -> Help {
    RpcHelpMan {
        name: "getaddrmaninfo".into(),
        description: "Provides information about the node's address manager by returning the number of addresses in the `new` and `tried` tables and their sum for all networks.\n".into(),
        args: vec![],
        results: vec![R::with(T::ObjDyn, "", "json object with network type as keys", vec![
            R::with(T::Obj, "network", &format!("the network ({}, all_networks)", network_names()), vec![
                R::new(T::Num, "new", "number of addresses in the new table, which represent potential peers the node has discovered but hasn't yet successfully connected to."),
                R::new(T::Num, "tried", "number of addresses in the tried table, which represent peers the node has successfully connected to in the past."),
                R::new(T::Num, "total", "total number of addresses in both new/tried tables"),
            ]),
        ])],
        examples: help_example_cli("getaddrmaninfo", "") + &help_example_rpc("getaddrmaninfo", ""),
        fun: |_, _, t| {
            let b = &t.backend;
            let mut ret = UniValue::new_object();
            for n in ALL_NETWORKS {
                if matches!(n, Network::Unroutable | Network::Internal) {
                    continue;
                }
                ret.push_kv(
                    get_network_name(n),
                    obj! {
                        "new" => b.addrman_size(Some(n), Some(true)),
                        "tried" => b.addrman_size(Some(n), Some(false)),
                        "total" => b.addrman_size(Some(n), None),
                    },
                );
            }
            ret.push_kv(
                "all_networks",
                obj! {
                    "new" => b.addrman_size(None, Some(true)),
                    "tried" => b.addrman_size(None, Some(false)),
                    "total" => b.addrman_size(None, None),
                },
            );
            Ok(ret)
        },
    }
}

/// Port of AddrmanTableToJSON (rpc/net.cpp) over the backend's entries; the JSON is built
/// by addrman's port of AddrmanEntryToJSON / AddrmanTableToJSON, as `addrman-tool show` does.
pub fn addrman_table_to_json(t: &RpcTable, entries: &[AddrmanEntry]) -> UniValue {
    addrman::store::addrman_table_to_json(entries.iter().map(|e| {
        let entry =
            addrman::store::addrman_entry_to_json(&e.service, e.services, e.time, &e.source, |a| {
                t.backend.get_mapped_as(a)
            });
        (e.bucket, e.position, entry)
    }))
}

/// Port of getrawaddrman (rpc/net.cpp).
fn getrawaddrman() -> Help {
    let gn = network_names();
    RpcHelpMan {
        name: "getrawaddrman".into(),
        description: "EXPERIMENTAL warning: this call may be changed in future releases.\n\
\nReturns information on all address manager entries for the new and tried tables.\n"
            .into(),
        args: vec![],
        results: vec![R::with(T::ObjDyn, "", "", vec![
            R::with(T::ObjDyn, "table", "buckets with addresses in the address manager table ( new, tried )", vec![
                R::with(T::Obj, "bucket/position", "the location in the address manager table (<bucket>/<position>)", vec![
                    R::new(T::Str, "address", "The address of the node"),
                    R::opt(T::Num, "mapped_as", "Mapped AS (Autonomous System) number at the end of the BGP route to the peer, used for diversifying peer selection (only displayed if the -asmap config option is set)"),
                    R::new(T::Num, "port", "The port number of the node"),
                    R::new(T::Str, "network", &format!("The network ({gn}) of the address")),
                    R::new(T::Num, "services", "The services offered by the node"),
                    R::new(T::NumTime, "time", &format!("The {UNIX_EPOCH_TIME} when the node was last seen")),
                    R::new(T::Str, "source", "The address that relayed the address to us"),
                    R::new(T::Str, "source_network", &format!("The network ({gn}) of the source address")),
                    R::opt(T::Num, "source_mapped_as", "Mapped AS (Autonomous System) number at the end of the BGP route to the source, used for diversifying peer selection (only displayed if the -asmap config option is set)"),
                ]),
            ]),
        ])],
        examples: help_example_cli("getrawaddrman", "") + &help_example_rpc("getrawaddrman", ""),
        fun: |_, _, t| {
            Ok(obj! {
                "new" => addrman_table_to_json(t, &t.backend.addrman_get_entries(false)),
                "tried" => addrman_table_to_json(t, &t.backend.addrman_get_entries(true)),
            })
        },
    }
}

/// Port of TryParseHex (util/strencodings.h): hex digit pairs, whitespace between pairs
/// allowed, anything else (or an odd digit count) fails.
pub fn try_parse_hex(s: &str) -> Option<Vec<u8>> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len() / 2);
    let mut i = 0;
    while i < b.len() {
        if matches!(b[i], b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c) {
            i += 1;
            continue;
        }
        let hi = (b[i] as char).to_digit(16);
        i += 1;
        if i == b.len() {
            return None;
        }
        let lo = (b[i] as char).to_digit(16);
        i += 1;
        out.push(((hi? << 4) | lo?) as u8);
    }
    Some(out)
}

/// `sendlogos`: this node's call to flood an upper-layer payload (`PropagateMessage`).
fn sendlogos() -> Help {
    RpcHelpMan {
        name: "sendlogos".into(),
        description:
            "Send a payload to every connected peer as a `logos` message (PropagateMessage).\n\
The payload is marked as seen, so it is not delivered back to this node nor relayed twice.\n"
                .into(),
        args: vec![arg(
            "hexstring",
            ArgType::StrHex,
            Fallback::Required,
            "The payload, in hex",
        )],
        results: vec![R::new(
            T::Bool,
            "",
            "false if no connected peer took the message",
        )],
        examples: help_example_cli("sendlogos", "\"48656c6c6f\"")
            + &help_example_rpc("sendlogos", "\"48656c6c6f\""),
        fun: |_, req, t| {
            let Some(payload) = try_parse_hex(get_str(req.param(0))?) else {
                return Err(RpcError::new(
                    RPC_INVALID_PARAMETER,
                    "Error parsing input for hexstring",
                ));
            };
            let max = t.backend.max_logos_payload();
            if payload.len() > max {
                return Err(RpcError::new(
                    RPC_INVALID_PARAMETER,
                    format!(
                        "Error: payload too large ({} bytes), max length is {max}",
                        payload.len()
                    ),
                ));
            }
            Ok(UniValue::from(t.backend.propagate_message(&payload)))
        },
    }
}

/// `getlogosinfo`: counters of the `logos` flood layer.
fn getlogosinfo() -> Help {
    RpcHelpMan {
        name: "getlogosinfo".into(),
        description: "Returns counters of the logos message flood layer.\n".into(),
        args: vec![],
        results: vec![R::with(
            T::Obj,
            "",
            "",
            vec![
                R::new(T::Num, "seen_set_size", "payload ids in the dedup seen-set"),
                R::new(
                    T::Num,
                    "messages_delivered",
                    "messages handed to the upper layer",
                ),
                R::new(
                    T::Num,
                    "messages_relayed",
                    "messages relayed on to other peers",
                ),
                R::new(
                    T::Num,
                    "messages_dropped",
                    "messages dropped (seen before, refused by the upper layer, or invalid)",
                ),
                R::new(
                    T::Num,
                    "messages_propagated",
                    "messages sent by this node (sendlogos / PropagateMessage)",
                ),
                R::new(
                    T::Num,
                    "recent_rejects_size",
                    "payload ids the upper layer refused, remembered to drop repeats",
                ),
                R::new(
                    T::Num,
                    "messages_relay_dropped",
                    "relays not queued because the peer's send buffer was full",
                ),
                R::new(
                    T::Num,
                    "catchup_sent",
                    "important messages sent to peers that connected later",
                ),
            ],
        )],
        examples: help_example_cli("getlogosinfo", "") + &help_example_rpc("getlogosinfo", ""),
        fun: |_, _, t| {
            let s = t.backend.logos_stats();
            Ok(obj! {
                "seen_set_size" => s.seen_set_size,
                "messages_delivered" => s.messages_delivered,
                "messages_relayed" => s.messages_relayed,
                "messages_dropped" => s.messages_dropped,
                "messages_propagated" => s.messages_propagated,
                "recent_rejects_size" => s.recent_rejects_size,
                "messages_relay_dropped" => s.messages_relay_dropped,
                "catchup_sent" => s.catchup_sent,
            })
        },
    }
}

/// Port of RegisterNetRPCCommands (rpc/net.cpp), the calls this node has.
pub fn register_net_rpc_commands(t: &mut RpcTable) {
    t.append_command("network", getconnectioncount());
    t.append_command("network", ping());
    t.append_command("network", getpeerinfo());
    t.append_command("network", addnode());
    t.append_command("network", disconnectnode());
    t.append_command("network", getaddednodeinfo());
    t.append_command("network", getnettotals());
    t.append_command("network", getnetworkinfo());
    t.append_command("network", setban());
    t.append_command("network", listbanned());
    t.append_command("network", clearbanned());
    t.append_command("network", getnodeaddresses());
    t.append_command("network", getaddrmaninfo());
    t.append_command("hidden", addpeeraddress());
    t.append_command("hidden", getrawaddrman());
}

/// Registers `sendlogos` and `getlogosinfo` (category "logos").
pub fn register_logos_rpc_commands(t: &mut RpcTable) {
    t.append_command("logos", sendlogos());
    t.append_command("logos", getlogosinfo());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn try_parse_hex_rules() {
        assert_eq!(try_parse_hex("00ff"), Some(vec![0, 255]));
        assert_eq!(try_parse_hex(" 00 ff "), Some(vec![0, 255]));
        assert_eq!(try_parse_hex(""), Some(vec![]));
        assert_eq!(try_parse_hex("0"), None);
        assert_eq!(try_parse_hex("zz"), None);
        assert_eq!(try_parse_hex("0 0"), None);
    }
}
