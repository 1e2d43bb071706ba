//! Shared pieces of the RPC tests: a fake [`RpcBackend`] with in-memory state, and a minimal
//! HTTP client speaking to the server over loopback.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use netbase::{lookup_host, lookup_numeric, no_dns, CNetAddr, CService, CSubNet, Network};
use node::rpc::auth::encode_base64;
use node::rpc::backend::*;
use node::rpc::{AuthOptions, RpcOptions, RpcServer};
use serde_json::Value;

/// Mock `GetTime()` of the fake: the time `listbanned.json` was taken at.
pub const MOCK_TIME: i64 = 1_795_503_785;

#[derive(Default)]
pub struct FakeState {
    pub peers: Vec<NodeStats>,
    pub added: Vec<AddedNodeInfo>,
    pub onetry: Vec<(String, bool)>,
    pub bans: BTreeMap<CSubNet, BanEntry>,
    pub disconnected_subnets: Vec<CSubNet>,
    pub new_entries: Vec<AddrmanEntry>,
    pub tried_entries: Vec<AddrmanEntry>,
    pub addrman: Vec<(CService, u64, bool)>,
    pub categories: BTreeMap<String, bool>,
    pub propagated: Vec<Vec<u8>>,
    pub pings: usize,
    pub local_services: u64,
}

pub struct FakeBackend {
    pub state: Mutex<FakeState>,
}

pub fn svc(s: &str) -> CService {
    lookup_numeric(s, 0)
}

pub fn addr(s: &str) -> CNetAddr {
    lookup_host(s, false, &no_dns).expect("numeric address")
}

fn peer(id: i64, a: &str, inbound: bool) -> NodeStats {
    let mut send = BTreeMap::new();
    send.insert("version".to_string(), 126u64);
    send.insert("ping".to_string(), 0u64);
    NodeStats {
        nodeid: id,
        addr_name: a.into(),
        addr_bind: Some(svc("127.0.0.1:18444")),
        addr_local: if inbound {
            String::new()
        } else {
            "127.0.0.1:18444".into()
        },
        network: Some(Network::IPv4),
        their_services: 0x409,
        last_send: MOCK_TIME - 1,
        last_recv: MOCK_TIME - 2,
        send_bytes: 1000,
        recv_bytes: 2000,
        connected: MOCK_TIME - 100,
        last_ping_time_us: if inbound { 0 } else { 1500 },
        min_ping_time_us: if inbound { None } else { Some(1200) },
        version: 70016,
        clean_sub_ver: "/Satoshi:29.99.0/".into(),
        inbound,
        starting_height: 0,
        addr_relay_enabled: true,
        permissions: vec![],
        send_bytes_per_msg: send,
        conn_type: if inbound {
            "inbound".into()
        } else {
            "manual".into()
        },
        transport_type: "v1".into(),
        ..Default::default()
    }
}

impl FakeBackend {
    pub fn new() -> Arc<FakeBackend> {
        let s = FakeState {
            peers: vec![
                peer(0, "127.0.0.1:50000", true),
                peer(1, "127.0.0.1:18445", false),
            ],
            categories: ["addrman", "http", "net", "rpc"]
                .iter()
                .map(|c| (c.to_string(), *c == "net"))
                .collect(),
            local_services: 1 << 28,
            ..Default::default()
        };
        Arc::new(FakeBackend {
            state: Mutex::new(s),
        })
    }

    pub fn st(&self) -> std::sync::MutexGuard<'_, FakeState> {
        self.state.lock().unwrap()
    }
}

impl RpcBackend for FakeBackend {
    fn get_node_stats(&self) -> Vec<NodeStats> {
        self.st().peers.clone()
    }
    fn get_node_count(&self, d: ConnectionDirection) -> usize {
        self.st()
            .peers
            .iter()
            .filter(|p| match d {
                ConnectionDirection::In => p.inbound,
                ConnectionDirection::Out => !p.inbound,
                ConnectionDirection::Both => true,
            })
            .count()
    }
    fn get_total_bytes_recv(&self) -> u64 {
        self.st().peers.iter().map(|p| p.recv_bytes).sum()
    }
    fn get_total_bytes_sent(&self) -> u64 {
        self.st().peers.iter().map(|p| p.send_bytes).sum()
    }
    fn get_upload_target(&self) -> UploadTarget {
        UploadTarget {
            timeframe: 86400,
            serve_historical_blocks: true,
            ..Default::default()
        }
    }
    fn get_local_services(&self) -> u64 {
        self.st().local_services
    }
    fn get_network_active(&self) -> bool {
        true
    }
    fn get_network_info(&self) -> NetworkInfo {
        NetworkInfo {
            version: 1000,
            subversion: "/logos-p2p:0.1.0/".into(),
            protocol_version: 70016,
            local_relay: false,
            time_offset: 0,
            networks: netbase::ALL_NETWORKS
                .iter()
                .map(|n| NetworkEntry {
                    network: *n,
                    reachable: matches!(n, Network::IPv4 | Network::IPv6),
                    proxy: String::new(),
                    proxy_randomize_credentials: false,
                })
                .collect(),
            relay_fee: Some(1000),
            incremental_fee: Some(1000),
            local_addresses: vec![LocalAddress {
                address: addr("203.0.113.9"),
                port: 18444,
                score: 1,
            }],
            warnings: vec![],
        }
    }
    fn send_pings(&self) {
        self.st().pings += 1;
    }
    fn open_manual_connection(&self, node: &str, v2: bool) {
        self.st().onetry.push((node.into(), v2));
    }
    fn add_node(&self, node: &str, _v2: bool) -> bool {
        let mut s = self.st();
        if s.added.iter().any(|a| a.added_node == node) {
            return false;
        }
        let connected = node == "127.0.0.1:18445";
        s.added.push(AddedNodeInfo {
            added_node: node.into(),
            resolved_address: svc(node),
            connected,
            inbound: false,
        });
        true
    }
    fn remove_added_node(&self, node: &str) -> bool {
        let mut s = self.st();
        let before = s.added.len();
        s.added.retain(|a| a.added_node != node);
        s.added.len() != before
    }
    fn get_added_node_info(&self) -> Vec<AddedNodeInfo> {
        self.st().added.clone()
    }
    fn disconnect_node_by_name(&self, a: &str) -> bool {
        let mut s = self.st();
        let before = s.peers.len();
        s.peers.retain(|p| p.addr_name != a);
        s.peers.len() != before
    }
    fn disconnect_node_by_id(&self, id: i64) -> bool {
        let mut s = self.st();
        let before = s.peers.len();
        s.peers.retain(|p| p.nodeid != id);
        s.peers.len() != before
    }
    fn disconnect_node_subnet(&self, subnet: &CSubNet) -> bool {
        self.st().disconnected_subnets.push(*subnet);
        true
    }
    fn get_addresses(&self, max: usize, _pct: usize, network: Option<Network>) -> Vec<NodeAddress> {
        let s = self.st();
        let all = s
            .new_entries
            .iter()
            .chain(s.tried_entries.iter())
            .filter(|e| network.is_none_or(|n| e.service.addr.get_net_class() == n))
            .map(|e| NodeAddress {
                service: e.service,
                services: e.services,
                time: e.time,
            });
        if max == 0 {
            all.collect()
        } else {
            all.take(max).collect()
        }
    }
    fn get_mapped_as(&self, _a: &CNetAddr) -> u32 {
        0
    }
    fn is_cjdns_reachable(&self) -> bool {
        false
    }
    fn is_banned_subnet(&self, subnet: &CSubNet) -> bool {
        self.st().bans.contains_key(subnet)
    }
    fn is_banned_addr(&self, a: &CNetAddr) -> bool {
        self.st().bans.keys().any(|s| s.matches(a))
    }
    fn ban(&self, subnet: &CSubNet, offset: i64, absolute: bool) {
        let offset = if offset <= 0 { 86400 } else { offset };
        let until = if absolute { offset } else { MOCK_TIME + offset };
        self.st().bans.insert(
            *subnet,
            BanEntry {
                create_time: MOCK_TIME,
                ban_until: until,
            },
        );
    }
    fn unban(&self, subnet: &CSubNet) -> bool {
        self.st().bans.remove(subnet).is_some()
    }
    fn get_banned(&self) -> Vec<(CSubNet, BanEntry)> {
        self.st().bans.iter().map(|(k, v)| (*k, *v)).collect()
    }
    fn clear_banned(&self) {
        self.st().bans.clear();
    }
    fn addrman_add(&self, a: &CService, services: u64, source: &CNetAddr) -> bool {
        if !a.addr.is_routable() {
            return false;
        }
        let mut s = self.st();
        if s.addrman.iter().any(|(x, _, _)| x == a) {
            return false;
        }
        s.addrman.push((*a, services, false));
        let _ = source;
        true
    }
    fn addrman_good(&self, a: &CService) -> bool {
        let mut s = self.st();
        match s.addrman.iter_mut().find(|(x, _, _)| x == a) {
            Some(e) if a.get_port() != 1 => {
                e.2 = true;
                true
            }
            _ => false,
        }
    }
    fn addrman_size(&self, network: Option<Network>, in_new: Option<bool>) -> usize {
        self.st()
            .addrman
            .iter()
            .filter(|(a, _, _)| network.is_none_or(|n| a.addr.get_network() == n))
            .filter(|(_, _, tried)| in_new.is_none_or(|new| new != *tried))
            .count()
    }
    fn addrman_get_entries(&self, from_tried: bool) -> Vec<AddrmanEntry> {
        let s = self.st();
        if from_tried {
            s.tried_entries.clone()
        } else {
            s.new_entries.clone()
        }
    }
    fn get_time(&self) -> i64 {
        MOCK_TIME
    }
    fn get_time_millis(&self) -> i64 {
        MOCK_TIME * 1000
    }
    fn get_startup_time(&self) -> i64 {
        MOCK_TIME - 42
    }
    fn log_categories_list(&self) -> Vec<(String, bool)> {
        self.st()
            .categories
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect()
    }
    fn enable_log_category(&self, name: &str) -> bool {
        set_cat(&mut self.st().categories, name, true)
    }
    fn disable_log_category(&self, name: &str) -> bool {
        set_cat(&mut self.st().categories, name, false)
    }
    fn service_flags_to_str(&self, services: u64) -> Vec<String> {
        let names = [
            (0, "NETWORK"),
            (3, "WITNESS"),
            (10, "NETWORK_LIMITED"),
            (11, "P2P_V2"),
            (28, "LOGOS"),
        ];
        (0..64)
            .filter(|b| services & (1u64 << b) != 0)
            .map(|b| match names.iter().find(|(n, _)| *n == b) {
                Some((_, s)) => s.to_string(),
                None => format!("UNKNOWN[2^{b}]"),
            })
            .collect()
    }
    fn propagate_message(&self, payload: &[u8]) -> bool {
        let mut s = self.st();
        s.propagated.push(payload.to_vec());
        !s.peers.is_empty()
    }
    fn max_logos_payload(&self) -> usize {
        16
    }
    fn logos_stats(&self) -> LogosStats {
        let s = self.st();
        LogosStats {
            seen_set_size: s.propagated.len() as u64,
            messages_delivered: 3,
            messages_relayed: 2,
            messages_dropped: 1,
            messages_propagated: s.propagated.len() as u64,
            recent_rejects_size: 4,
            messages_relay_dropped: 5,
            catchup_sent: 6,
        }
    }
}

fn set_cat(cats: &mut BTreeMap<String, bool>, name: &str, on: bool) -> bool {
    if name == "all" || name == "1" {
        cats.values_mut().for_each(|v| *v = on);
        return true;
    }
    match cats.get_mut(name) {
        Some(v) => {
            *v = on;
            true
        }
        None => false,
    }
}

/// A fresh temporary data directory.
pub fn temp_datadir(tag: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let d = std::env::temp_dir().join(format!(
        "logos-rpc-{tag}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

pub struct Harness {
    pub server: Option<RpcServer>,
    pub backend: Arc<FakeBackend>,
    pub addr: SocketAddr,
    pub user: String,
    pub pass: String,
    pub shutdowns: Arc<AtomicUsize>,
    pub datadir: PathBuf,
}

impl Harness {
    /// A server on 127.0.0.1:<free port> with user/password auth, out of warm-up.
    pub fn start() -> Harness {
        Self::start_with(|_| {}, true)
    }

    pub fn start_with(tweak: impl FnOnce(&mut RpcOptions), finish_warmup: bool) -> Harness {
        let datadir = temp_datadir("h");
        let mut opts = RpcOptions::new(datadir.clone(), 0);
        opts.auth = AuthOptions {
            rpc_user: "alice".into(),
            rpc_password: "s3cret".into(),
            ..Default::default()
        };
        opts.auth_failure_delay = Duration::from_millis(60);
        opts.rpc_threads = 4;
        tweak(&mut opts);
        let backend = FakeBackend::new();
        let shutdowns = Arc::new(AtomicUsize::new(0));
        let s = shutdowns.clone();
        let server = RpcServer::start(
            opts.clone(),
            backend.clone(),
            Arc::new(move || {
                s.fetch_add(1, Ordering::SeqCst);
            }),
        )
        .expect("rpc server starts");
        if finish_warmup {
            server.set_rpc_warmup_finished();
        }
        let addr = *server
            .local_addrs()
            .iter()
            .find(|a| a.is_ipv4())
            .expect("bound on 127.0.0.1");
        Harness {
            server: Some(server),
            backend,
            addr,
            user: opts.auth.rpc_user.clone(),
            pass: opts.auth.rpc_password.clone(),
            shutdowns,
            datadir,
        }
    }

    pub fn auth_header(&self) -> String {
        format!(
            "Basic {}",
            encode_base64(format!("{}:{}", self.user, self.pass).as_bytes())
        )
    }

    /// POST `body` to `/` with valid credentials on a new connection.
    pub fn post(&self, body: &str) -> Response {
        let mut c = Client::connect(self.addr);
        c.send(&raw_post("/", &self.auth_header(), body, true));
        c.read_response().expect("response")
    }

    /// bitcoin-cli's request at this commit (`JSONRPCRequestObj`: 2.0, id 1).
    pub fn cli(&self, method: &str, params: Value) -> Response {
        let body =
            serde_json::json!({"method": method, "params": params, "id": 1, "jsonrpc": "2.0"});
        self.post(&body.to_string())
    }

    /// The documented curl example (`"jsonrpc": "1.0"`, id "curltest").
    pub fn curl(&self, method: &str, params: Value) -> Response {
        let body = serde_json::json!({"jsonrpc": "1.0", "id": "curltest", "method": method, "params": params});
        self.post(&body.to_string())
    }

    /// `result` of a bitcoin-cli style call, panicking on an error.
    pub fn call(&self, method: &str, params: Value) -> Value {
        let r = self.cli(method, params);
        assert_eq!(r.status, 200, "{method}: {}", r.body);
        let v = r.json();
        assert!(v.get("error").is_none(), "{method}: {v}");
        v["result"].clone()
    }

    /// The error object of a bitcoin-cli style call.
    pub fn call_err(&self, method: &str, params: Value) -> (i64, String) {
        let r = self.cli(method, params);
        assert_eq!(r.status, 200, "{method}: {}", r.body);
        let v = r.json();
        let e = &v["error"];
        assert!(e.is_object(), "{method}: expected error, got {v}");
        (
            e["code"].as_i64().unwrap(),
            e["message"].as_str().unwrap().to_string(),
        )
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        if let Some(s) = self.server.take() {
            s.interrupt();
            s.stop();
        }
        let _ = std::fs::remove_dir_all(&self.datadir);
    }
}

pub fn raw_post(path: &str, auth: &str, body: &str, close: bool) -> Vec<u8> {
    let mut r = format!("POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n");
    if !auth.is_empty() {
        r += &format!("Authorization: {auth}\r\n");
    }
    if close {
        r += "Connection: close\r\n";
    }
    r += &format!(
        "Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    r.into_bytes()
}

#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.body))
    }
}

pub struct Client {
    pub stream: TcpStream,
    buf: Vec<u8>,
}

impl Client {
    pub fn connect(addr: SocketAddr) -> Client {
        let stream = TcpStream::connect(addr).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        Client {
            stream,
            buf: Vec::new(),
        }
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("write");
    }

    fn fill(&mut self) -> bool {
        let mut chunk = [0u8; 65536];
        match self.stream.read(&mut chunk) {
            Ok(0) | Err(_) => false,
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                true
            }
        }
    }

    /// One response (`None` if the server closed the connection first).
    pub fn read_response(&mut self) -> Option<Response> {
        let head_end = loop {
            if let Some(p) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break p + 4;
            }
            if !self.fill() {
                return None;
            }
        };
        let head = String::from_utf8(self.buf[..head_end - 4].to_vec()).unwrap();
        self.buf.drain(..head_end);
        let mut lines = head.split("\r\n");
        let status: u16 = lines
            .next()
            .unwrap()
            .split(' ')
            .nth(1)
            .unwrap()
            .parse()
            .unwrap();
        let headers: Vec<(String, String)> = lines
            .map(|l| {
                let (k, v) = l.split_once(':').unwrap();
                (k.trim().to_string(), v.trim().to_string())
            })
            .collect();
        let len: usize = headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
            .map_or(0, |(_, v)| v.parse().unwrap());
        while self.buf.len() < len {
            if !self.fill() {
                return None;
            }
        }
        let body = String::from_utf8(self.buf.drain(..len).collect()).unwrap();
        Some(Response {
            status,
            headers,
            body,
        })
    }

    /// True once the server has closed the connection.
    pub fn is_closed(&mut self) -> bool {
        !self.fill()
    }
}

/// Every result key, recursively, for field-set comparisons.
pub fn keys(v: &Value) -> BTreeSet<String> {
    match v {
        Value::Object(m) => m.keys().cloned().collect(),
        _ => BTreeSet::new(),
    }
}

pub fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| s.to_string()).collect()
}

/// getpeerinfo's fields that are always present, as rpc/net.cpp's RPCResult lists them.
pub const GETPEERINFO_FIELDS: &[&str] = &[
    "id",
    "addr",
    "network",
    "services",
    "servicesnames",
    "relaytxes",
    "lastsend",
    "lastrecv",
    "last_transaction",
    "last_block",
    "bytessent",
    "bytesrecv",
    "conntime",
    "timeoffset",
    "version",
    "subver",
    "inbound",
    "bip152_hb_to",
    "bip152_hb_from",
    "startingheight",
    "presynced_headers",
    "synced_headers",
    "synced_blocks",
    "inflight",
    "addr_relay_enabled",
    "addr_processed",
    "addr_rate_limited",
    "permissions",
    "minfeefilter",
    "bytessent_per_msg",
    "bytesrecv_per_msg",
    "connection_type",
    "transport_protocol_type",
    "session_id",
];

/// getpeerinfo's optional fields, as rpc/net.cpp's RPCResult lists them.
pub const GETPEERINFO_OPTIONAL_FIELDS: &[&str] = &[
    "addrbind",
    "addrlocal",
    "mapped_as",
    "pingtime",
    "minping",
    "pingwait",
];

pub fn vectors_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/vectors")
}
