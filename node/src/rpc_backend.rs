//! [`RpcBackend`] over the running node: `net::CConnman` (with its peer manager and `logos`
//! flood), `addrman::AddrMan`, `addrman::BanMan` and the logger. Each method calls the function
//! of the same name in Core (`node.connman->GetNodeStats`, `node.banman->Ban`, ...), as the
//! calls of Core's `rpc/net.cpp` do through `NodeContext`.
//!
//! The RPC server starts before the node (bitcoind's warm-up): [`NodeRpcBackend::new`] makes a
//! backend with no node, [`NodeRpcBackend::attach`] hands it the node once `AppInitMain` has
//! built it. Until then the server answers every call with `RPC_IN_WARMUP` and the backend is
//! not asked anything; should it be, it answers as a node with no peers and no addresses.

use std::sync::{Arc, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

use addrman::banman::BanMan;
use addrman::AddrMan;
use net::connection_type::conn_type_as_string;
use net::ConnmanInner;
use netbase::{CNetAddr, CService, CSubNet, Network};
use protocol::{CAddress, NetworkParams, ServiceFlags};

use crate::rpc::backend::{
    AddedNodeInfo, AddrmanEntry, BanEntry, ConnectionDirection, LocalAddress, LogosStats,
    NetworkEntry, NetworkInfo, NodeAddress, NodeStats, RpcBackend, UploadTarget,
};

/// Port of MAX_UPLOAD_TIMEFRAME (net.h): the `-maxuploadtarget` accounting period, seconds.
pub const MAX_UPLOAD_TIMEFRAME: i64 = 60 * 60 * 24;

/// The node objects the RPC calls reach (Core's `NodeContext`, P2P part).
pub struct NodeHandles {
    /// `node.connman` (with `node.peerman`, which lives inside it here).
    pub connman: Arc<ConnmanInner>,
    /// `node.addrman`.
    pub addrman: Arc<AddrMan>,
    /// `node.banman`.
    pub banman: Arc<BanMan>,
    /// The network.
    pub params: &'static NetworkParams,
}

/// [`RpcBackend`] over the node's real objects.
pub struct NodeRpcBackend {
    node: OnceLock<NodeHandles>,
    startup_time: i64,
}

/// Not in Core: the addresses `getnodeaddresses` returns (Core's `CConnman::GetAddresses` with
/// the ban filter, as `NodeAddress` rows).
pub(crate) fn node_addresses(
    addrman: &AddrMan,
    banman: &BanMan,
    max_addresses: usize,
    max_pct: usize,
    network: Option<Network>,
) -> Vec<NodeAddress> {
    net::addr_cache::get_addresses(addrman, Some(banman), max_addresses, max_pct, network, true)
        .into_iter()
        .map(|a| NodeAddress {
            service: a.service,
            services: a.n_services.0,
            time: a.n_time,
        })
        .collect()
}

/// Not in Core: the ban list as `listbanned` rows (Core's `BanMan::GetBanned`).
pub(crate) fn banned_rows(banman: &BanMan) -> Vec<(CSubNet, BanEntry)> {
    banman
        .get_banned()
        .into_iter()
        .map(|(s, e)| {
            (
                s,
                BanEntry {
                    create_time: e.n_create_time,
                    ban_until: e.n_ban_until,
                },
            )
        })
        .collect()
}

/// Wall clock, Unix seconds (Core's `GetTime()` without mock time).
fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Port of the CLIENT_VERSION macro (clientversion.h): `major * 10000 + minor * 100 + build`
/// from a `major.minor.build` version string.
pub fn client_version_number(version: &str) -> i64 {
    let mut parts = version
        .split(['.', '-'])
        .map(|p| p.parse::<i64>().unwrap_or(0));
    let major = parts.next().unwrap_or(0);
    let minor = parts.next().unwrap_or(0);
    let build = parts.next().unwrap_or(0);
    major * 10_000 + minor * 100 + build
}

impl NodeRpcBackend {
    /// A backend with no node yet; `startup_time` is Core's `GetStartupTime()` (Unix seconds).
    pub fn new(startup_time: i64) -> Self {
        NodeRpcBackend {
            node: OnceLock::new(),
            startup_time,
        }
    }

    /// Hands the started node to the backend (once; later calls are ignored).
    pub fn attach(&self, handles: NodeHandles) {
        let _ = self.node.set(handles);
    }

    fn node(&self) -> Option<&NodeHandles> {
        self.node.get()
    }

    fn connman(&self) -> Option<&ConnmanInner> {
        self.node().map(|n| &*n.connman)
    }
}

/// Port of CNode::CopyStats (net.cpp) and the CNodeStateStats part of getpeerinfo
/// (rpc/net.cpp): one peer's statistics as the RPC layer wants them.
fn node_stats(s: net::CNodeStats, logos_network: bool) -> NodeStats {
    let state = s.state.clone().unwrap_or_default();
    NodeStats {
        nodeid: s.nodeid,
        addr_name: if s.m_addr_name.is_empty() {
            s.addr.to_string_addr_port()
        } else {
            s.m_addr_name
        },
        addr_bind: Some(s.addr_bind),
        addr_local: s.addr_local,
        network: Some(s.addr.addr.get_net_class()),
        mapped_as: s.m_mapped_as,
        their_services: s.their_services.0,
        last_send: s.m_last_send,
        last_recv: s.m_last_recv,
        send_bytes: s.n_send_bytes,
        recv_bytes: s.n_recv_bytes,
        connected: s.m_connected,
        time_offset: state.time_offset,
        last_ping_time_us: s.m_last_ping_time,
        min_ping_time_us: (s.m_min_ping_time != i64::MAX).then_some(s.m_min_ping_time),
        ping_wait_us: state.m_ping_wait,
        version: s.n_version,
        clean_sub_ver: s.clean_sub_ver,
        inbound: s.f_inbound,
        starting_height: state.m_starting_height,
        addr_relay_enabled: state.m_addr_relay_enabled,
        addr_processed: state.m_addr_processed,
        addr_rate_limited: state.m_addr_rate_limited,
        permissions: net::net_permissions::to_strings(s.m_permission_flags)
            .into_iter()
            .map(str::to_string)
            .collect(),
        send_bytes_per_msg: s.map_send_bytes_per_msg_type,
        recv_bytes_per_msg: s.map_recv_bytes_per_msg_type,
        conn_type: conn_type_as_string(s.m_conn_type).to_string(),
        transport_type: "v1".into(),
        session_id: String::new(),
        logos_relay_dropped: logos_network.then_some(s.logos_relay_dropped),
    }
}

impl RpcBackend for NodeRpcBackend {
    fn get_node_stats(&self) -> Vec<NodeStats> {
        let Some(c) = self.connman() else {
            return Vec::new();
        };
        let logos = !c.params().is_bitcoin();
        c.get_node_stats()
            .into_iter()
            .map(|s| node_stats(s, logos))
            .collect()
    }

    fn get_node_count(&self, direction: ConnectionDirection) -> usize {
        let Some(c) = self.connman() else { return 0 };
        let (inbound, outbound) = c.get_node_count();
        match direction {
            ConnectionDirection::In => inbound,
            ConnectionDirection::Out => outbound,
            ConnectionDirection::Both => inbound + outbound,
        }
    }

    fn get_total_bytes_recv(&self) -> u64 {
        self.connman().map_or(0, |c| c.get_total_bytes().0)
    }

    fn get_total_bytes_sent(&self) -> u64 {
        self.connman().map_or(0, |c| c.get_total_bytes().1)
    }

    fn get_upload_target(&self) -> UploadTarget {
        //DMITRY: no -maxuploadtarget; Core: net.cpp::CConnman::OutboundTargetReached and friends; removed: nothing is
        // served that the target limits (no blocks), so getnettotals reports Core's values for an
        // unset target.
        UploadTarget {
            timeframe: MAX_UPLOAD_TIMEFRAME,
            target: 0,
            target_reached: false,
            serve_historical_blocks: true,
            bytes_left_in_cycle: 0,
            time_left_in_cycle: 0,
        }
    }

    fn get_local_services(&self) -> u64 {
        self.connman().map_or(0, |c| c.get_local_services().0)
    }

    fn get_network_active(&self) -> bool {
        self.connman().is_some_and(|c| c.get_network_active())
    }

    fn get_network_info(&self) -> NetworkInfo {
        let connman = self.connman();
        let networks = netbase::ALL_NETWORKS
            .iter()
            .filter(|n| !matches!(n, Network::Unroutable | Network::Internal))
            .map(|n| NetworkEntry {
                network: *n,
                reachable: connman.is_some_and(|c| c.reachable().contains(*n)),
                proxy: String::new(),
                proxy_randomize_credentials: false,
            })
            .collect();
        let local_addresses = connman
            .map(|c| {
                c.local_host()
                    .entries()
                    .into_iter()
                    .map(|(a, info)| LocalAddress {
                        address: a.addr,
                        port: info.n_port,
                        score: info.n_score,
                    })
                    .collect()
            })
            .unwrap_or_default();
        NetworkInfo {
            version: client_version_number(crate::init::CLIENT_VERSION),
            subversion: connman.map_or_else(String::new, |c| c.options().user_agent.clone()),
            protocol_version: protocol::version::PROTOCOL_VERSION,
            // No transactions: as bitcoind with -blocksonly.
            local_relay: false,
            time_offset: connman.map_or(0, |c| c.median_outbound_time_offset()),
            networks,
            relay_fee: None,
            incremental_fee: None,
            local_addresses,
            warnings: Vec::new(),
        }
    }

    fn send_pings(&self) {
        if let Some(c) = self.connman() {
            c.send_pings();
        }
    }

    fn open_manual_connection(&self, node: &str, _use_v2transport: bool) {
        if let Some(c) = self.connman() {
            let addr = CAddress::new(CService::default(), ServiceFlags::NODE_NONE, 0);
            c.open_network_connection(
                &addr,
                false,
                None,
                Some(node),
                net::connection_type::ConnectionType::Manual,
            );
        }
    }

    fn add_node(&self, node: &str, _use_v2transport: bool) -> bool {
        self.connman().is_some_and(|c| c.add_node(node))
    }

    fn remove_added_node(&self, node: &str) -> bool {
        self.connman().is_some_and(|c| c.remove_added_node(node))
    }

    fn get_added_node_info(&self) -> Vec<AddedNodeInfo> {
        let Some(c) = self.connman() else {
            return Vec::new();
        };
        c.get_added_node_info(true)
            .into_iter()
            .map(|i| AddedNodeInfo {
                added_node: i.m_params.m_added_node,
                resolved_address: i.resolved_address.unwrap_or_default(),
                connected: i.f_connected,
                inbound: i.f_inbound,
            })
            .collect()
    }

    fn disconnect_node_by_name(&self, addr: &str) -> bool {
        self.connman()
            .is_some_and(|c| c.disconnect_node_by_name(addr))
    }

    fn disconnect_node_by_id(&self, id: i64) -> bool {
        self.connman().is_some_and(|c| c.disconnect_node_by_id(id))
    }

    fn disconnect_node_subnet(&self, subnet: &CSubNet) -> bool {
        self.connman()
            .is_some_and(|c| c.disconnect_node_by_subnet(subnet))
    }

    fn get_addresses(
        &self,
        max_addresses: usize,
        max_pct: usize,
        network: Option<Network>,
    ) -> Vec<NodeAddress> {
        let Some(n) = self.node() else {
            return Vec::new();
        };
        node_addresses(&n.addrman, &n.banman, max_addresses, max_pct, network)
    }

    fn get_mapped_as(&self, addr: &CNetAddr) -> u32 {
        self.node()
            .map_or(0, |n| n.addrman.netgroupman().get_mapped_as(addr))
    }

    fn is_cjdns_reachable(&self) -> bool {
        self.connman()
            .is_some_and(|c| c.reachable().contains(Network::CJDNS))
    }

    fn is_banned_subnet(&self, subnet: &CSubNet) -> bool {
        self.node()
            .is_some_and(|n| n.banman.is_banned_subnet(subnet))
    }

    fn is_banned_addr(&self, addr: &CNetAddr) -> bool {
        self.node().is_some_and(|n| n.banman.is_banned(addr))
    }

    fn ban(&self, subnet: &CSubNet, ban_time_offset: i64, since_unix_epoch: bool) {
        if let Some(n) = self.node() {
            n.banman
                .ban_subnet(subnet, ban_time_offset, since_unix_epoch);
        }
    }

    fn unban(&self, subnet: &CSubNet) -> bool {
        self.node().is_some_and(|n| n.banman.unban_subnet(subnet))
    }

    fn get_banned(&self) -> Vec<(CSubNet, BanEntry)> {
        self.node()
            .map_or_else(Vec::new, |n| banned_rows(&n.banman))
    }

    fn clear_banned(&self) {
        if let Some(n) = self.node() {
            n.banman.clear_banned();
        }
    }

    fn addrman_add(&self, addr: &CService, services: u64, source: &CNetAddr) -> bool {
        let Some(n) = self.node() else { return false };
        let address = CAddress::new(*addr, ServiceFlags(services), n.addrman.now());
        n.addrman.add(&[address], source, 0)
    }

    fn addrman_good(&self, addr: &CService) -> bool {
        self.node()
            .is_some_and(|n| n.addrman.good(addr, n.addrman.now()))
    }

    fn addrman_size(&self, network: Option<Network>, in_new: Option<bool>) -> usize {
        self.node().map_or(0, |n| n.addrman.size(network, in_new))
    }

    fn addrman_get_entries(&self, from_tried: bool) -> Vec<AddrmanEntry> {
        let Some(n) = self.node() else {
            return Vec::new();
        };
        n.addrman
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
        now_secs()
    }

    fn get_time_millis(&self) -> i64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64)
    }

    fn get_startup_time(&self) -> i64 {
        self.startup_time
    }

    fn log_categories_list(&self) -> Vec<(String, bool)> {
        let logger = crate::logging::log_instance();
        crate::logging::LOG_CATEGORIES
            .iter()
            .map(|(name, mask)| (name.to_string(), logger.will_log_category(*mask)))
            .collect()
    }

    fn enable_log_category(&self, name: &str) -> bool {
        crate::logging::log_instance().enable_category(name)
    }

    fn disable_log_category(&self, name: &str) -> bool {
        crate::logging::log_instance().disable_category(name)
    }

    fn service_flags_to_str(&self, services: u64) -> Vec<String> {
        protocol::address::service_flags_to_str(services)
    }

    fn propagate_message(&self, payload: &[u8]) -> bool {
        self.connman().is_some_and(|c| c.propagate_message(payload))
    }

    fn max_logos_payload(&self) -> usize {
        self.node().map_or(
            protocol::header::MAX_PROTOCOL_MESSAGE_LENGTH as usize,
            |n| n.params.max_message_length as usize,
        )
    }

    fn logos_stats(&self) -> LogosStats {
        let Some(c) = self.connman() else {
            return LogosStats::default();
        };
        let (f, relay_dropped) = c.flood_stats();
        LogosStats {
            seen_set_size: f.seen_set_size as u64,
            messages_delivered: f.delivered,
            messages_relayed: f.relayed,
            messages_dropped: f.dropped,
            messages_propagated: f.propagated,
            recent_rejects_size: f.recent_rejects_size as u64,
            messages_relay_dropped: relay_dropped,
            catchup_sent: f.catchup_sent,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_version_number_as_core_macro() {
        assert_eq!(client_version_number("29.99.0"), 299_900);
        assert_eq!(client_version_number("0.1.0"), 100);
        assert_eq!(client_version_number("1.2.3-rc1"), 10_203);
    }

    /// Before the node is attached the backend answers as a node with nothing.
    #[test]
    fn unattached_backend_is_empty() {
        let b = NodeRpcBackend::new(7);
        assert!(b.get_node_stats().is_empty());
        assert_eq!(b.get_node_count(ConnectionDirection::Both), 0);
        assert_eq!(b.get_startup_time(), 7);
        assert!(!b.propagate_message(b"x"));
        assert_eq!(b.logos_stats(), LogosStats::default());
        assert!(b.log_categories_list().iter().any(|(n, _)| n == "net"));
    }
}
