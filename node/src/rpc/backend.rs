//! What the RPC calls need from the running node.
//!
//! [`RpcBackend`] is the seam between the RPC server and the node's `CConnman`, `AddrMan`,
//! `BanMan`, peer manager, logger and `logos` flood layer. Each method names the Core
//! function it stands for, so the implementation over the real objects is a line each. The
//! types here are plain data (only `netbase` types), so the RPC layer builds and is tested
//! without the other crates.

use std::collections::BTreeMap;

use netbase::{CNetAddr, CService, CSubNet, Network};

/// Port of ConnectionDirection (net.h), for `get_node_count`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnectionDirection {
    /// Inbound only.
    In,
    /// Outbound only.
    Out,
    /// Both.
    Both,
}

/// The `getpeerinfo` facts about one peer: Core's `CNodeStats` plus the parts of
/// `CNodeStateStats` that exist without blocks and transactions.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NodeStats {
    /// `nodeid`.
    pub nodeid: i64,
    /// `m_addr_name` (`host:port` as connected / accepted).
    pub addr_name: String,
    /// `addrBind`; reported when valid.
    pub addr_bind: Option<CService>,
    /// `addrLocal` (our address as the peer reported it), empty when unknown.
    pub addr_local: String,
    /// `m_network`.
    pub network: Option<Network>,
    /// `m_mapped_as` (0 = no asmap).
    pub mapped_as: u32,
    /// `their_services` (from the peer's `version`).
    pub their_services: u64,
    /// `m_last_send`, Unix seconds.
    pub last_send: i64,
    /// `m_last_recv`, Unix seconds.
    pub last_recv: i64,
    /// `nSendBytes`.
    pub send_bytes: u64,
    /// `nRecvBytes`.
    pub recv_bytes: u64,
    /// `m_connected`, Unix seconds.
    pub connected: i64,
    /// `time_offset`, seconds.
    pub time_offset: i64,
    /// `m_last_ping_time` in microseconds (reported when > 0).
    pub last_ping_time_us: i64,
    /// `m_min_ping_time` in microseconds (`None` = never measured, Core's `max()`).
    pub min_ping_time_us: Option<i64>,
    /// `m_ping_wait` in microseconds (reported when > 0).
    pub ping_wait_us: i64,
    /// `nVersion`.
    pub version: i32,
    /// `cleanSubVer`.
    pub clean_sub_ver: String,
    /// `fInbound`.
    pub inbound: bool,
    /// `m_starting_height` from the peer's `version`.
    pub starting_height: i32,
    /// `m_addr_relay_enabled`.
    pub addr_relay_enabled: bool,
    /// `m_addr_processed`.
    pub addr_processed: u64,
    /// `m_addr_rate_limited`.
    pub addr_rate_limited: u64,
    /// `NetPermissions::ToStrings(m_permission_flags)`.
    pub permissions: Vec<String>,
    /// `mapSendBytesPerMsgType` (zero entries are left out of the answer).
    pub send_bytes_per_msg: BTreeMap<String, u64>,
    /// `mapRecvBytesPerMsgType`.
    pub recv_bytes_per_msg: BTreeMap<String, u64>,
    /// `ConnectionTypeAsString(m_conn_type)`: "inbound", "outbound-full-relay", "manual", …
    pub conn_type: String,
    /// `TransportTypeAsString(m_transport_type)`: "v1" here.
    pub transport_type: String,
    /// `m_session_id` ("" for v1).
    pub session_id: String,
    /// Not in Core: `logos` relays dropped because the peer's send queue was full (Logos
    /// networks only; `None` on Bitcoin networks, so `getpeerinfo` there has bitcoind's fields).
    pub logos_relay_dropped: Option<u64>,
}

/// `getnettotals`' `uploadtarget` object (Core's `-maxuploadtarget` accounting).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UploadTarget {
    /// `GetMaxOutboundTimeframe`, seconds.
    pub timeframe: i64,
    /// `GetMaxOutboundTarget`, bytes (0 = no limit).
    pub target: u64,
    /// `OutboundTargetReached(false)`.
    pub target_reached: bool,
    /// `!OutboundTargetReached(true)`.
    pub serve_historical_blocks: bool,
    /// `GetOutboundTargetBytesLeft`.
    pub bytes_left_in_cycle: u64,
    /// `GetMaxOutboundTimeLeftInCycle`, seconds.
    pub time_left_in_cycle: i64,
}

/// One entry of `getnetworkinfo`'s `networks` (Core's `GetNetworksInfo`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetworkEntry {
    /// The network (never `Unroutable` / `Internal`).
    pub network: Network,
    /// In `g_reachable_nets`.
    pub reachable: bool,
    /// Proxy `host:port`, empty when none.
    pub proxy: String,
    /// `m_tor_stream_isolation` of that proxy.
    pub proxy_randomize_credentials: bool,
}

/// One entry of `mapLocalHost` (`getnetworkinfo`'s `localaddresses`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalAddress {
    /// The address.
    pub address: CNetAddr,
    /// `nPort`.
    pub port: u16,
    /// `nScore`.
    pub score: i32,
}

/// The node-wide facts `getnetworkinfo` reports.
#[derive(Clone, Debug, PartialEq)]
pub struct NetworkInfo {
    /// `CLIENT_VERSION` as an integer (Core: major*10000 + minor*100 + build).
    pub version: i64,
    /// `strSubVersion` (our user agent).
    pub subversion: String,
    /// `PROTOCOL_VERSION`.
    pub protocol_version: i32,
    /// `!ignores_incoming_txs`.
    pub local_relay: bool,
    /// `median_outbound_time_offset`, seconds.
    pub time_offset: i64,
    /// One per network except unroutable / internal, in `Network` order.
    pub networks: Vec<NetworkEntry>,
    /// `relayfee` in satoshis per kvB (written in BTC/kvB); `None` = no mempool, field
    /// left out (bitcoind always has one and reports its `-minrelaytxfee`).
    pub relay_fee: Option<i64>,
    /// `incrementalfee` in satoshis per kvB; `None` = field left out.
    pub incremental_fee: Option<i64>,
    /// `mapLocalHost`.
    pub local_addresses: Vec<LocalAddress>,
    /// Node warnings.
    pub warnings: Vec<String>,
}

/// Port of AddedNodeInfo (net.h).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddedNodeInfo {
    /// `m_params.m_added_node` (as given to `addnode`).
    pub added_node: String,
    /// `resolvedAddress` (meaningful when connected).
    pub resolved_address: CService,
    /// `fConnected`.
    pub connected: bool,
    /// `fInbound`.
    pub inbound: bool,
}

/// Port of CBanEntry (addrdb.h): the times of one ban.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BanEntry {
    /// `nCreateTime`, Unix seconds.
    pub create_time: i64,
    /// `nBanUntil`, Unix seconds.
    pub ban_until: i64,
}

/// One address as `getnodeaddresses` reports it (Core's `CAddress`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeAddress {
    /// Address and port.
    pub service: CService,
    /// `nServices`.
    pub services: u64,
    /// `nTime`, Unix seconds.
    pub time: i64,
}

/// One addrman entry with its table position (Core's `AddrInfo` + `AddressPosition`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddrmanEntry {
    /// The address and port.
    pub service: CService,
    /// `nServices`.
    pub services: u64,
    /// `nTime`, Unix seconds.
    pub time: i64,
    /// `source`.
    pub source: CNetAddr,
    /// `AddressPosition::bucket`.
    pub bucket: i32,
    /// `AddressPosition::position`.
    pub position: i32,
}

/// Counters of the `logos` flood layer, for `getlogosinfo`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LogosStats {
    /// Entries in the dedup seen-set.
    pub seen_set_size: u64,
    /// Messages handed to the upper layer (`ReceiveMessageCallback` called).
    pub messages_delivered: u64,
    /// Messages relayed on to other peers.
    pub messages_relayed: u64,
    /// Messages dropped (seen before, refused by the upper layer, or invalid).
    pub messages_dropped: u64,
    /// Messages sent by this node (`PropagateMessage` / `sendlogos`).
    pub messages_propagated: u64,
    /// Ids the upper layer refused, remembered to drop repeats.
    pub recent_rejects_size: u64,
    /// Relays not queued because the peer's send buffer was full.
    pub messages_relay_dropped: u64,
    /// Important messages sent to peers catching up.
    pub catchup_sent: u64,
}

/// Everything the RPC calls ask of the node. Implemented by the node over `CConnman`,
/// `PeerManager`, `AddrMan`, `BanMan` and the logger; by a fake in the tests.
pub trait RpcBackend: Send + Sync {
    // ---- CConnman / PeerManager ----
    /// `CConnman::GetNodeStats` joined with `PeerManager::GetNodeStateStats`.
    fn get_node_stats(&self) -> Vec<NodeStats>;
    /// `CConnman::GetNodeCount`.
    fn get_node_count(&self, direction: ConnectionDirection) -> usize;
    /// `CConnman::GetTotalBytesRecv`.
    fn get_total_bytes_recv(&self) -> u64;
    /// `CConnman::GetTotalBytesSent`.
    fn get_total_bytes_sent(&self) -> u64;
    /// The `-maxuploadtarget` accounting of `CConnman`.
    fn get_upload_target(&self) -> UploadTarget;
    /// `CConnman::GetLocalServices`.
    fn get_local_services(&self) -> u64;
    /// `CConnman::GetNetworkActive`.
    fn get_network_active(&self) -> bool;
    /// Node-wide facts for `getnetworkinfo`.
    fn get_network_info(&self) -> NetworkInfo;
    /// `PeerManager::SendPings`.
    fn send_pings(&self);
    /// `CConnman::OpenNetworkConnection(.., node, ConnectionType::MANUAL, v2)` (addnode onetry).
    fn open_manual_connection(&self, node: &str, use_v2transport: bool);
    /// `CConnman::AddNode`: false if already added.
    fn add_node(&self, node: &str, use_v2transport: bool) -> bool;
    /// `CConnman::RemoveAddedNode`: false if not added.
    fn remove_added_node(&self, node: &str) -> bool;
    /// `CConnman::GetAddedNodeInfo(include_connected=true)`.
    fn get_added_node_info(&self) -> Vec<AddedNodeInfo>;
    /// `CConnman::DisconnectNode(const std::string&)`: by `addr_name`.
    fn disconnect_node_by_name(&self, addr: &str) -> bool;
    /// `CConnman::DisconnectNode(NodeId)`.
    fn disconnect_node_by_id(&self, id: i64) -> bool;
    /// `CConnman::DisconnectNode(const CSubNet&)`: every peer in the subnet.
    fn disconnect_node_subnet(&self, subnet: &CSubNet) -> bool;
    /// `CConnman::GetAddresses(max_addresses, max_pct, network)` (filtered, shuffled).
    fn get_addresses(
        &self,
        max_addresses: usize,
        max_pct: usize,
        network: Option<Network>,
    ) -> Vec<NodeAddress>;
    /// `CConnman::GetMappedAS` (0 without asmap).
    fn get_mapped_as(&self, addr: &CNetAddr) -> u32;
    /// CJDNS in `g_reachable_nets` (for `MaybeFlipIPv6toCJDNS`).
    fn is_cjdns_reachable(&self) -> bool;

    // ---- BanMan ----
    /// `BanMan::IsBanned(const CSubNet&)` (exact subnet entry).
    fn is_banned_subnet(&self, subnet: &CSubNet) -> bool;
    /// `BanMan::IsBanned(const CNetAddr&)` (any ban covering it).
    fn is_banned_addr(&self, addr: &CNetAddr) -> bool;
    /// `BanMan::Ban(subnet, ban_time_offset, since_unix_epoch)`; 0 = default `-bantime`.
    fn ban(&self, subnet: &CSubNet, ban_time_offset: i64, since_unix_epoch: bool);
    /// `BanMan::Unban(const CSubNet&)`: false if not banned.
    fn unban(&self, subnet: &CSubNet) -> bool;
    /// `BanMan::GetBanned` (expired entries swept first), in Core's map order.
    fn get_banned(&self) -> Vec<(CSubNet, BanEntry)>;
    /// `BanMan::ClearBanned`.
    fn clear_banned(&self);

    // ---- AddrMan ----
    /// `AddrMan::Add({addr}, source)` with `nTime = now`: true if added.
    fn addrman_add(&self, addr: &CService, services: u64, source: &CNetAddr) -> bool;
    /// `AddrMan::Good(addr)`: true if moved to tried.
    fn addrman_good(&self, addr: &CService) -> bool;
    /// `AddrMan::Size(network, in_new)`.
    fn addrman_size(&self, network: Option<Network>, in_new: Option<bool>) -> usize;
    /// `AddrMan::GetEntries(from_tried)` with each entry's bucket and position.
    fn addrman_get_entries(&self, from_tried: bool) -> Vec<AddrmanEntry>;

    // ---- node ----
    /// `GetTime()` (mockable), Unix seconds.
    fn get_time(&self) -> i64;
    /// Wall clock in milliseconds (`getnettotals.timemillis`).
    fn get_time_millis(&self) -> i64;
    /// `GetStartupTime()`, Unix seconds.
    fn get_startup_time(&self) -> i64;
    /// `LogInstance().LogCategoriesList()`: every category name with its state.
    fn log_categories_list(&self) -> Vec<(String, bool)>;
    /// `LogInstance().EnableCategory(name)`: false if unknown.
    fn enable_log_category(&self, name: &str) -> bool;
    /// `LogInstance().DisableCategory(name)`: false if unknown.
    fn disable_log_category(&self, name: &str) -> bool;
    /// Human-readable names of service bits (Core's `serviceFlagsToStr`).
    fn service_flags_to_str(&self, services: u64) -> Vec<String>;

    // ---- logos ----
    /// `PropagateMessage`: false if no peer to send to.
    fn propagate_message(&self, payload: &[u8]) -> bool;
    /// Largest payload `propagate_message` accepts (`MAX_PROTOCOL_MESSAGE_LENGTH` unless raised).
    fn max_logos_payload(&self) -> usize;
    /// Flood-layer counters.
    fn logos_stats(&self) -> LogosStats;
}
