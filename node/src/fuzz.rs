//! Fuzz entry points of this crate (see `protocol::fuzz` for how targets are run and replayed):
//! [`http_request`] (Core's `http_request`) and [`jsonrpc`] (Core's `rpc`). Not part of the API.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use addrman::banman::{BanMan, MemoryBanDb};
use addrman::AddrMan;
use net::MockClock;
use netbase::{CNetAddr, CService, CSubNet, NetGroupManager, Network};
use parking_lot::Mutex;
use protocol::{CAddress, HashKind, ServiceFlags};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

use crate::rpc::backend::*;
use crate::rpc::http::{HttpRequest, HttpServer, HttpServerOptions};
use crate::rpc::{http_req_jsonrpc, AuthOptions, RpcAuth, RpcTable};

/// The backend's clock, Unix seconds.
const NOW: i64 = 1_795_503_770;

/// An [`RpcBackend`] for the fuzz targets: a real address manager and ban manager (in memory,
/// on a mock clock), two fixed peers, and in-memory state for the rest; nothing reaches a
/// socket, the logger or the clock.
pub struct FuzzBackend {
    addrman: AddrMan,
    banman: BanMan,
    added: Mutex<Vec<String>>,
    peers: Mutex<Vec<NodeStats>>,
    categories: Mutex<BTreeMap<String, bool>>,
    propagated: Mutex<u64>,
}

impl Default for FuzzBackend {
    fn default() -> Self {
        let clock = Arc::new(MockClock::new(NOW));
        let c: Arc<dyn addrman::Clock> = clock.clone();
        let peer = |id: i64, addr: &str, inbound: bool| NodeStats {
            nodeid: id,
            addr_name: addr.into(),
            addr_bind: Some(netbase::lookup_numeric("127.0.0.1:18444", 0)),
            network: Some(Network::IPv4),
            their_services: 0x409,
            connected: NOW - 100,
            last_ping_time_us: 1500,
            min_ping_time_us: Some(1200),
            version: 70016,
            clean_sub_ver: "/Satoshi:29.99.0/".into(),
            inbound,
            conn_type: if inbound { "inbound" } else { "manual" }.into(),
            transport_type: "v1".into(),
            ..NodeStats::default()
        };
        FuzzBackend {
            addrman: AddrMan::new_with_seed(NetGroupManager::new(), [7; 32], 0, HashKind::Sha256d)
                .with_clock(c),
            banman: BanMan::new(
                Box::new(MemoryBanDb::new()),
                None,
                24 * 3600,
                clock,
                &mut ChaCha20Rng::seed_from_u64(7),
            ),
            added: Mutex::new(Vec::new()),
            peers: Mutex::new(vec![
                peer(1, "1.2.3.4:8333", false),
                peer(2, "[2001:db8::1]:50000", true),
            ]),
            categories: Mutex::new(
                crate::logging::LOG_CATEGORIES
                    .iter()
                    .map(|(n, _)| (n.to_string(), false))
                    .collect(),
            ),
            propagated: Mutex::new(0),
        }
    }
}

impl RpcBackend for FuzzBackend {
    fn get_node_stats(&self) -> Vec<NodeStats> {
        self.peers.lock().clone()
    }
    fn get_node_count(&self, direction: ConnectionDirection) -> usize {
        let peers = self.peers.lock();
        peers
            .iter()
            .filter(|p| match direction {
                ConnectionDirection::In => p.inbound,
                ConnectionDirection::Out => !p.inbound,
                ConnectionDirection::Both => true,
            })
            .count()
    }
    fn get_total_bytes_recv(&self) -> u64 {
        2000
    }
    fn get_total_bytes_sent(&self) -> u64 {
        1000
    }
    fn get_upload_target(&self) -> UploadTarget {
        UploadTarget::default()
    }
    fn get_local_services(&self) -> u64 {
        ServiceFlags::NODE_LOGOS.0
    }
    fn get_network_active(&self) -> bool {
        true
    }
    fn get_network_info(&self) -> NetworkInfo {
        NetworkInfo {
            version: 100,
            subversion: "/logos-p2p:0.1.0/".into(),
            protocol_version: protocol::version::PROTOCOL_VERSION,
            local_relay: false,
            time_offset: 0,
            networks: Vec::new(),
            relay_fee: None,
            incremental_fee: None,
            local_addresses: Vec::new(),
            warnings: Vec::new(),
        }
    }
    fn send_pings(&self) {}
    fn open_manual_connection(&self, _node: &str, _use_v2transport: bool) {}
    fn add_node(&self, node: &str, _use_v2transport: bool) -> bool {
        let mut added = self.added.lock();
        if added.iter().any(|n| n == node) {
            return false;
        }
        added.push(node.to_string());
        true
    }
    fn remove_added_node(&self, node: &str) -> bool {
        let mut added = self.added.lock();
        let before = added.len();
        added.retain(|n| n != node);
        added.len() != before
    }
    fn get_added_node_info(&self) -> Vec<AddedNodeInfo> {
        self.added
            .lock()
            .iter()
            .map(|n| AddedNodeInfo {
                added_node: n.clone(),
                resolved_address: CService::default(),
                connected: false,
                inbound: false,
            })
            .collect()
    }
    fn disconnect_node_by_name(&self, addr: &str) -> bool {
        let mut peers = self.peers.lock();
        let before = peers.len();
        peers.retain(|p| p.addr_name != addr);
        peers.len() != before
    }
    fn disconnect_node_by_id(&self, id: i64) -> bool {
        let mut peers = self.peers.lock();
        let before = peers.len();
        peers.retain(|p| p.nodeid != id);
        peers.len() != before
    }
    fn disconnect_node_subnet(&self, subnet: &CSubNet) -> bool {
        let mut peers = self.peers.lock();
        let before = peers.len();
        peers.retain(|p| {
            let a = netbase::lookup_numeric(&p.addr_name, 0);
            !subnet.matches(&a.addr)
        });
        peers.len() != before
    }
    fn get_addresses(
        &self,
        max_addresses: usize,
        max_pct: usize,
        network: Option<Network>,
    ) -> Vec<NodeAddress> {
        crate::rpc_backend::node_addresses(
            &self.addrman,
            &self.banman,
            max_addresses,
            max_pct,
            network,
        )
    }
    fn get_mapped_as(&self, addr: &CNetAddr) -> u32 {
        self.addrman.netgroupman().get_mapped_as(addr)
    }
    fn is_cjdns_reachable(&self) -> bool {
        false
    }
    fn is_banned_subnet(&self, subnet: &CSubNet) -> bool {
        self.banman.is_banned_subnet(subnet)
    }
    fn is_banned_addr(&self, addr: &CNetAddr) -> bool {
        self.banman.is_banned(addr)
    }
    fn ban(&self, subnet: &CSubNet, ban_time_offset: i64, since_unix_epoch: bool) {
        self.banman
            .ban_subnet(subnet, ban_time_offset, since_unix_epoch);
    }
    fn unban(&self, subnet: &CSubNet) -> bool {
        self.banman.unban_subnet(subnet)
    }
    fn get_banned(&self) -> Vec<(CSubNet, BanEntry)> {
        crate::rpc_backend::banned_rows(&self.banman)
    }
    fn clear_banned(&self) {
        self.banman.clear_banned();
    }
    fn addrman_add(&self, addr: &CService, services: u64, source: &CNetAddr) -> bool {
        let address = CAddress::new(*addr, ServiceFlags(services), self.addrman.now());
        self.addrman.add(&[address], source, 0)
    }
    fn addrman_good(&self, addr: &CService) -> bool {
        self.addrman.good(addr, self.addrman.now())
    }
    fn addrman_size(&self, network: Option<Network>, in_new: Option<bool>) -> usize {
        self.addrman.size(network, in_new)
    }
    fn addrman_get_entries(&self, from_tried: bool) -> Vec<AddrmanEntry> {
        self.addrman
            .get_entries(from_tried)
            .into_iter()
            .map(|(info, pos)| AddrmanEntry {
                service: info.addr.service,
                services: info.addr.n_services.0,
                time: info.addr.n_time,
                source: info.source,
                bucket: pos.bucket,
                position: pos.position,
            })
            .collect()
    }
    fn get_time(&self) -> i64 {
        NOW
    }
    fn get_time_millis(&self) -> i64 {
        NOW * 1000
    }
    fn get_startup_time(&self) -> i64 {
        NOW - 1000
    }
    fn log_categories_list(&self) -> Vec<(String, bool)> {
        self.categories
            .lock()
            .iter()
            .map(|(n, on)| (n.clone(), *on))
            .collect()
    }
    fn enable_log_category(&self, name: &str) -> bool {
        self.set_category(name, true)
    }
    fn disable_log_category(&self, name: &str) -> bool {
        self.set_category(name, false)
    }
    fn service_flags_to_str(&self, services: u64) -> Vec<String> {
        protocol::address::service_flags_to_str(services)
    }
    fn propagate_message(&self, payload: &[u8]) -> bool {
        assert!(payload.len() <= self.max_logos_payload());
        *self.propagated.lock() += 1;
        true
    }
    fn max_logos_payload(&self) -> usize {
        protocol::header::MAX_PROTOCOL_MESSAGE_LENGTH as usize
    }
    fn logos_stats(&self) -> LogosStats {
        LogosStats {
            messages_propagated: *self.propagated.lock(),
            ..LogosStats::default()
        }
    }
}

impl FuzzBackend {
    /// Core's `LogInstance().EnableCategory` / `DisableCategory`, on a private set: "all" and
    /// "1" name every category.
    fn set_category(&self, name: &str, on: bool) -> bool {
        let mut c = self.categories.lock();
        if name == "all" || name == "1" {
            c.values_mut().for_each(|v| *v = on);
            return true;
        }
        match c.get_mut(name) {
            Some(v) => {
                *v = on;
                true
            }
            None => false,
        }
    }
}

/// A command table over a fresh [`FuzzBackend`], out of warm-up.
fn fuzz_table() -> (RpcTable, Arc<FuzzBackend>) {
    let backend = Arc::new(FuzzBackend::default());
    let table = RpcTable::new(backend.clone(), Arc::new(|| {}), "Logos P2P");
    table.start_rpc();
    table.set_rpc_warmup_finished();
    (table, backend)
}

/// Not in Core: target `jsonrpc` (as Core's `rpc`), a JSON-RPC request body (single, batch, 1.0 or
/// 2.0, named or positional arguments, any method) handled as an authenticated HTTP request's body
/// is ([`RpcTable::handle_body`]), against a fresh node state each run. The reply must be an HTTP
/// status the server sends, a JSON body when it says so (with an empty body only for 204), and the
/// address manager must stay consistent.
pub fn jsonrpc(data: &[u8]) {
    let (table, backend) = fuzz_table();
    let r = table.handle_body(data, "fuzz", "127.0.0.1:50000", "/");
    assert!(
        [200, 204, 400, 403, 404, 405, 500, 503].contains(&r.status),
        "status {}",
        r.status
    );
    if r.json {
        assert!(r.body.ends_with('\n'));
        serde_json::from_str::<serde_json::Value>(&r.body)
            .unwrap_or_else(|e| panic!("reply is not JSON ({e}): {}", r.body));
    } else if r.status == 204 {
        assert!(r.body.is_empty());
    }
    assert_eq!(backend.addrman.check_addrman(), 0);
}

/// User and password the HTTP target's server accepts (`Authorization: Basic ZnV6ejpmdXp6`).
pub const FUZZ_RPC_USER_PASSWORD: (&str, &str) = ("fuzz", "fuzz");

/// Largest request body the HTTP target's server accepts (small, so the fuzzer meets the limit).
pub const FUZZ_MAX_BODY_SIZE: usize = 16 * 1024;

/// The HTTP target's server: the node's RPC server on loopback (its threads, allow-list, work
/// queue and handler), started once per process, answering JSON-RPC for `fuzz:fuzz` against a
/// fresh [`FuzzBackend`] per request.
fn fuzz_http_server() -> SocketAddr {
    static ADDR: OnceLock<SocketAddr> = OnceLock::new();
    *ADDR.get_or_init(|| {
        let opts = HttpServerOptions {
            endpoints: vec![("127.0.0.1".into(), 0)],
            threads: 2,
            work_queue_depth: 16,
            server_timeout: Duration::from_secs(10),
            max_body_size: FUZZ_MAX_BODY_SIZE,
            ..HttpServerOptions::default()
        };
        let mut server = HttpServer::init(opts).expect("bind loopback");
        let auth = AuthOptions {
            rpc_user: FUZZ_RPC_USER_PASSWORD.0.into(),
            rpc_password: FUZZ_RPC_USER_PASSWORD.1.into(),
            ..AuthOptions::default()
        };
        let auth = Arc::new(RpcAuth::init(&std::env::temp_dir(), &auth).expect("credentials"));
        server.register_http_handler(
            "/",
            false,
            Arc::new(move |req: &HttpRequest, _path: &str| {
                let (table, _) = fuzz_table();
                http_req_jsonrpc(&table, &auth, Duration::ZERO, req)
            }),
        );
        server.start_http_server().expect("start");
        let addr = server.local_addrs()[0];
        // Serves until the process ends.
        std::mem::forget(server);
        addr
    })
}

/// Not in Core: target `http_request` (as Core's `http_request`), bytes sent on one connection to
/// the node's RPC server (the HTTP parser: request line, headers, `Content-Length` and chunked
/// bodies, `Expect: 100-continue`, keep-alive and pipelining, the head and body limits; then the
/// JSON-RPC handler), after which the client closes its side.
///
/// The server must answer and close the connection within its timeout (never hang on a closed
/// client), and whatever it sends is a sequence of HTTP/1.x responses.
pub fn http_request(data: &[u8]) {
    let addr = fuzz_http_server();
    let mut s = TcpStream::connect(addr).expect("connect to the fuzz server");
    s.set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    // The server may answer and close before it read everything (413, 400): a failed write is
    // part of the test, not an error.
    let _ = s.write_all(data);
    let _ = s.shutdown(Shutdown::Write);
    let mut reply = Vec::new();
    match s.read_to_end(&mut reply) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return,
        Err(e) => panic!("the server did not finish the connection: {e}"),
    }
    if !reply.is_empty() {
        assert!(
            reply.starts_with(b"HTTP/1.1 ") || reply.starts_with(b"HTTP/1.0 "),
            "not an HTTP response: {:?}",
            String::from_utf8_lossy(&reply[..reply.len().min(64)])
        );
    }
}
