//! The node list (Core's `m_nodes`) and what reads or edits it: finding nodes, the
//! disconnect-by-id/address/subnet calls, statistics, the added-node list and inbound
//! eviction (net.cpp).

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::Ordering;
use std::sync::Arc;

use netbase::{CNetAddr, CService, CSubNet};
use protocol::{CAddress, ServiceFlags};

use crate::connection_type::ConnectionType;
use crate::disconnect::DisconnectReason;
use crate::eviction::{select_node_to_evict, NodeEvictionCandidate};
use crate::net_permissions::NetPermissionFlags;
use crate::node::{CNode, NodeId};
use crate::open_connections::{get_full_outbound_conn_count, OutboundPeerInfo};
use crate::peerman::CNodeStateStats;

use super::ConnmanInner;

/// Hasher for node ids: they are handed out in sequence by the node itself (no peer chooses
/// one), so one multiply spreads them well enough; SipHash would cost more than the lookup.
#[derive(Default, Clone, Copy)]
pub(crate) struct NodeIdHasher(u64);

impl std::hash::Hasher for NodeIdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }
    fn write_i64(&mut self, i: i64) {
        self.0 = (i as u64)
            .wrapping_mul(0x9e37_79b9_7f4a_7c15)
            .rotate_left(29);
    }
}

/// Core's `m_nodes`, with an index by id (the socket handler maps readiness events to nodes,
/// the message handler maps the peer manager's outputs).
#[derive(Default)]
pub(crate) struct NodeList {
    pub(crate) nodes: Vec<Arc<CNode>>,
    by_id: HashMap<NodeId, Arc<CNode>, std::hash::BuildHasherDefault<NodeIdHasher>>,
}

impl NodeList {
    pub(crate) fn push(&mut self, node: Arc<CNode>) {
        self.by_id.insert(node.get_id(), Arc::clone(&node));
        self.nodes.push(node);
    }

    pub(crate) fn get(&self, id: NodeId) -> Option<&Arc<CNode>> {
        self.by_id.get(&id)
    }

    /// Take out every node marked for disconnection.
    pub(crate) fn take_disconnecting(&mut self) -> Vec<Arc<CNode>> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < self.nodes.len() {
            if self.nodes[i].is_disconnecting() {
                let n = self.nodes.swap_remove(i);
                self.by_id.remove(&n.get_id());
                out.push(n);
            } else {
                i += 1;
            }
        }
        out
    }

    pub(crate) fn take_all(&mut self) -> Vec<Arc<CNode>> {
        self.by_id.clear();
        std::mem::take(&mut self.nodes)
    }
}

/// Statistics of one peer (Core's `CNodeStats` with the fields that make sense here).
#[derive(Clone, Debug)]
pub struct CNodeStats {
    /// Core's `nodeid`.
    pub nodeid: NodeId,
    /// Peer address.
    pub addr: CService,
    /// Our address as the peer sees it (`addrLocal`), empty if unknown.
    pub addr_local: String,
    /// Our side of the socket (`addrBind`).
    pub addr_bind: CService,
    /// Name the connection was made with (`m_addr_name`).
    pub m_addr_name: String,
    /// Connection type.
    pub m_conn_type: ConnectionType,
    /// Connect time, seconds.
    pub m_connected: i64,
    /// Last send, seconds (0 = never).
    pub m_last_send: i64,
    /// Last receive, seconds (0 = never).
    pub m_last_recv: i64,
    /// Bytes sent.
    pub n_send_bytes: u64,
    /// Bytes sent per message type.
    pub map_send_bytes_per_msg_type: BTreeMap<String, u64>,
    /// Bytes received.
    pub n_recv_bytes: u64,
    /// Bytes received per message type.
    pub map_recv_bytes_per_msg_type: BTreeMap<String, u64>,
    /// Last ping round trip, microseconds (0 = none).
    pub m_last_ping_time: i64,
    /// Smallest ping round trip, microseconds (`i64::MAX` = none).
    pub m_min_ping_time: i64,
    /// Peer's protocol version (0 before `version`).
    pub n_version: i32,
    /// Peer's user agent, sanitized.
    pub clean_sub_ver: String,
    /// Inbound connection.
    pub f_inbound: bool,
    /// Handshake complete.
    pub f_successfully_connected: bool,
    /// Services the peer announced.
    pub their_services: ServiceFlags,
    /// The peer's `fRelay` (Core's `m_relays_txs`).
    pub m_relay_txs: bool,
    /// Peer-manager statistics (starting height, ping wait, addr counters).
    pub state: Option<CNodeStateStats>,
    /// Mapped AS (always 0: no asmap).
    pub m_mapped_as: u32,
    /// Permissions from `-whitebind` / `-whitelist` (Core's `m_permission_flags`;
    /// `net_permissions::to_strings` gives getpeerinfo's `permissions`).
    pub m_permission_flags: NetPermissionFlags,
    /// `logos` relays not queued because the peer's send queue was over `-maxsendbuffer`.
    pub logos_relay_dropped: u64,
}

/// One entry of the added-node list (Core's `AddedNodeParams`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddedNodeParams {
    /// The `-addnode` string.
    pub m_added_node: String,
}

/// Port of `AddedNodeInfo` (net.h).
#[derive(Clone, Debug)]
pub struct AddedNodeInfo {
    /// The parameters it was added with.
    pub m_params: AddedNodeParams,
    /// Address it resolved to, if connected.
    pub resolved_address: Option<CService>,
    /// Connected now.
    pub f_connected: bool,
    /// That connection is inbound.
    pub f_inbound: bool,
}

impl ConnmanInner {
    /// Not in Core: the node with id `id`, if it is in the node list.
    pub(crate) fn find_node_by_id(&self, id: NodeId) -> Option<Arc<CNode>> {
        self.m_nodes_mutex.lock().get(id).cloned()
    }

    /// Port of CConnman::FindNode(const CNetAddr&) (net.cpp): a node at that IP, any port.
    pub fn find_node_by_ip(&self, ip: &CNetAddr) -> Option<Arc<CNode>> {
        self.m_nodes_mutex
            .lock()
            .nodes
            .iter()
            .find(|n| n.addr.service.addr == *ip)
            .cloned()
    }

    /// Port of CConnman::FindNode(const CService&) (net.cpp): a node at that IP and port.
    pub fn find_node_by_addr(&self, addr: &CService) -> Option<Arc<CNode>> {
        self.m_nodes_mutex
            .lock()
            .nodes
            .iter()
            .find(|n| n.addr.service == *addr)
            .cloned()
    }

    /// Port of CConnman::FindNode(const std::string&) (net.cpp): a node opened with that name.
    pub fn find_node_by_name(&self, name: &str) -> Option<Arc<CNode>> {
        self.m_nodes_mutex
            .lock()
            .nodes
            .iter()
            .find(|n| n.m_addr_name == name)
            .cloned()
    }

    /// Port of CConnman::AlreadyConnectedToAddress (net.cpp): a connection to that IP exists,
    /// whatever its port (Core's `FindNode(CNetAddr)`).
    pub fn already_connected_to_address(&self, addr: &CService) -> bool {
        self.find_node_by_ip(&addr.addr).is_some()
    }

    /// Port of CConnman::NodeFullyConnected (net.cpp).
    pub fn node_fully_connected(node: &CNode) -> bool {
        node.f_successfully_connected.load(Ordering::SeqCst) && !node.is_disconnecting()
    }

    /// Port of CConnman::NodesSnapshot (net.h): snapshot of the node list.
    pub fn nodes_snapshot(&self) -> Vec<Arc<CNode>> {
        self.m_nodes_mutex.lock().nodes.clone()
    }

    /// Port of CConnman::GetNodeCount (net.cpp): (inbound, outbound).
    pub fn get_node_count(&self) -> (usize, usize) {
        let l = self.m_nodes_mutex.lock();
        let inb = l.nodes.iter().filter(|n| n.is_inbound_conn()).count();
        (inb, l.nodes.len() - inb)
    }

    /// Not in Core: number of fully connected peers (handshake done, not disconnecting).
    pub fn fully_connected_count(&self) -> usize {
        self.n_fully_connected.load(Ordering::SeqCst)
    }

    /// Port of CConnman::GetNodeStats (net.cpp) with CNode::CopyStats and
    /// PeerManagerImpl::GetNodeStateStats.
    pub fn get_node_stats(&self) -> Vec<CNodeStats> {
        let now = self.now_micros();
        let nodes = self.nodes_snapshot();
        let mut v = Vec::with_capacity(nodes.len());
        for n in &nodes {
            let (n_send_bytes, map_send) = {
                let s = n.cs_v_send.lock();
                (s.n_send_bytes, s.map_send_bytes_per_msg_type.clone())
            };
            let (n_recv_bytes, map_recv) = {
                let r = n.cs_v_recv.lock();
                (r.n_recv_bytes, r.map_recv_bytes_per_msg_type.clone())
            };
            let addr_local = match n.get_addr_local() {
                Some(a) if a.addr.is_valid() => a.to_string_addr_port(),
                _ => String::new(),
            };
            let clean_sub_ver = n.m_subver_mutex.lock().clone();
            v.push(CNodeStats {
                nodeid: n.get_id(),
                addr: n.addr.service,
                addr_local,
                addr_bind: n.addr_bind,
                m_addr_name: n.m_addr_name.clone(),
                m_conn_type: n.m_conn_type,
                m_connected: n.m_connected,
                m_last_send: n.m_last_send.load(Ordering::Relaxed),
                m_last_recv: n.m_last_recv.load(Ordering::Relaxed),
                n_send_bytes,
                map_send_bytes_per_msg_type: map_send,
                n_recv_bytes,
                map_recv_bytes_per_msg_type: map_recv,
                m_last_ping_time: n.m_last_ping_time.load(Ordering::Relaxed),
                m_min_ping_time: n.m_min_ping_time.load(Ordering::Relaxed),
                n_version: n.n_version.load(Ordering::Relaxed),
                clean_sub_ver,
                f_inbound: n.is_inbound_conn(),
                f_successfully_connected: n.f_successfully_connected.load(Ordering::Relaxed),
                their_services: n.their_services(),
                m_relay_txs: n.m_relays_txs.load(Ordering::Relaxed),
                state: None,
                m_mapped_as: self.m_netgroupman.get_mapped_as(&n.addr.service.addr),
                m_permission_flags: n.m_permission_flags,
                logos_relay_dropped: n.m_logos_relay_dropped.load(Ordering::Relaxed),
            });
        }
        // One short hold of the peer manager's lock for every peer's protocol state, taken with
        // no node lock held.
        let pm = self.pm();
        for s in &mut v {
            s.state = pm.get_node_state_stats(s.nodeid, now);
        }
        v
    }

    /// Port of CConnman::DisconnectNode(NodeId) (net.cpp).
    pub fn disconnect_node_by_id(&self, id: NodeId) -> bool {
        match self.find_node_by_id(id) {
            Some(n) => {
                //DMITRY: operator asks to disconnect a peer by id (RPC disconnectnode); Core: net.cpp::CConnman::DisconnectNode; kept: the operator's
                // call.
                self.disconnect_for(&n, DisconnectReason::DisconnectById);
                true
            }
            None => false,
        }
    }

    /// Port of CConnman::DisconnectNode(const std::string&) (net.cpp): the node opened with
    /// that name (Core's `FindNode(std::string)`: `m_addr_name`, which is `addr:port` for a
    /// connection made by address and for inbound ones).
    pub fn disconnect_node_by_name(&self, str_node: &str) -> bool {
        match self.find_node_by_name(str_node) {
            Some(n) => {
                //DMITRY: operator asks to disconnect a peer by address (RPC disconnectnode); Core: net.cpp::CConnman::DisconnectNode; kept: the operator's
                // call.
                self.disconnect_for(
                    &n,
                    DisconnectReason::DisconnectByAddress {
                        str_node: str_node.to_string(),
                    },
                );
                true
            }
            None => false,
        }
    }

    /// Port of CConnman::DisconnectNode(const CSubNet&) (net.cpp).
    pub fn disconnect_node_by_subnet(&self, subnet: &CSubNet) -> bool {
        let matching: Vec<Arc<CNode>> = self
            .m_nodes_mutex
            .lock()
            .nodes
            .iter()
            .filter(|n| subnet.matches(&n.addr.service.addr))
            .cloned()
            .collect();
        for n in &matching {
            //DMITRY: peer inside a subnet being banned or discouraged; Core: net.cpp::CConnman::DisconnectNode(const CSubNet&); kept: every connection
            // from a banned/discouraged address goes.
            self.disconnect_for(
                n,
                DisconnectReason::DisconnectBySubnet {
                    subnet: subnet.to_string(),
                },
            );
        }
        !matching.is_empty()
    }

    /// Port of CConnman::DisconnectNode(const CNetAddr&) (net.cpp).
    pub fn disconnect_node_by_netaddr(&self, addr: &CNetAddr) -> bool {
        self.disconnect_node_by_subnet(&CSubNet::from_addr(*addr))
    }

    /// Port of CConnman::AddNode (net.cpp).
    pub fn add_node(&self, node: &str) -> bool {
        let resolved = netbase::lookup_numeric(node, self.params.default_port);
        let valid = resolved.addr.is_valid();
        let mut added = self.m_added_nodes_mutex.lock();
        for it in added.iter() {
            if it.m_added_node == node
                || (valid
                    && resolved
                        == netbase::lookup_numeric(&it.m_added_node, self.params.default_port))
            {
                return false;
            }
        }
        added.push(AddedNodeParams {
            m_added_node: node.to_string(),
        });
        true
    }

    /// Port of CConnman::RemoveAddedNode (net.cpp).
    pub fn remove_added_node(&self, node: &str) -> bool {
        let mut added = self.m_added_nodes_mutex.lock();
        if let Some(i) = added.iter().position(|a| a.m_added_node == node) {
            added.remove(i);
            return true;
        }
        false
    }

    /// Port of CConnman::GetAddedNodeInfo (net.cpp).
    pub fn get_added_node_info(&self, include_connected: bool) -> Vec<AddedNodeInfo> {
        let l_addresses = self.m_added_nodes_mutex.lock().clone();
        let mut map_connected: HashMap<CService, bool> = HashMap::new();
        let mut map_connected_by_name: HashMap<String, (bool, CService)> = HashMap::new();
        for n in self.nodes_snapshot() {
            if n.addr.service.addr.is_valid() {
                map_connected.insert(n.addr.service, n.is_inbound_conn());
            }
            if !n.m_addr_name.is_empty() {
                map_connected_by_name
                    .insert(n.m_addr_name.clone(), (n.is_inbound_conn(), n.addr.service));
            }
        }
        let mut ret = Vec::new();
        for p in l_addresses {
            let service = netbase::lookup_numeric(&p.m_added_node, self.params.default_port);
            let mut info = AddedNodeInfo {
                m_params: p.clone(),
                resolved_address: None,
                f_connected: false,
                f_inbound: false,
            };
            if service.addr.is_valid() {
                if let Some(inb) = map_connected.get(&service) {
                    if !include_connected {
                        continue;
                    }
                    info.resolved_address = Some(service);
                    info.f_connected = true;
                    info.f_inbound = *inb;
                }
            } else if let Some((inb, s)) = map_connected_by_name.get(&p.m_added_node) {
                if !include_connected {
                    continue;
                }
                info.resolved_address = Some(*s);
                info.f_connected = true;
                info.f_inbound = *inb;
            }
            ret.push(info);
        }
        ret
    }

    /// Port of CConnman::AddedNodesContain (net.cpp).
    pub fn added_nodes_contain(&self, addr: &CAddress) -> bool {
        let addr_str = addr.service.addr.to_string_addr();
        let addr_port_str = addr.service.to_string_addr_port();
        let added = self.m_added_nodes_mutex.lock();
        added.len() < 24
            && added
                .iter()
                .any(|p| p.m_added_node == addr_str || p.m_added_node == addr_port_str)
    }

    /// Not in Core: every node of `m_nodes` as the outbound planner sees it.
    pub fn outbound_snapshot(&self) -> Vec<OutboundPeerInfo> {
        self.m_nodes_mutex
            .lock()
            .nodes
            .iter()
            .map(|n| OutboundPeerInfo {
                conn_type: n.m_conn_type,
                addr: n.addr.service,
                successfully_connected: n.f_successfully_connected.load(Ordering::SeqCst),
                disconnect: n.is_disconnecting(),
            })
            .collect()
    }

    /// Port of CConnman::GetFullOutboundConnCount (net.cpp).
    pub fn get_full_outbound_conn_count(&self) -> usize {
        get_full_outbound_conn_count(&self.outbound_snapshot())
    }

    /// Port of CConnman::AttemptToEvictConnection (net.cpp).
    pub fn attempt_to_evict_connection(&self) -> bool {
        let candidates: Vec<NodeEvictionCandidate> = self
            .m_nodes_mutex
            .lock()
            .nodes
            .iter()
            .filter(|n| !n.is_disconnecting())
            .map(|n| NodeEvictionCandidate {
                id: n.get_id(),
                m_connected: n.m_connected,
                m_min_ping_time: n.m_min_ping_time.load(Ordering::Relaxed),
                m_last_logos_time: n.m_last_logos_time.load(Ordering::Relaxed),
                f_relevant_services: n.m_has_all_wanted_services.load(Ordering::Relaxed),
                m_relay_txs: n.m_relays_txs.load(Ordering::Relaxed),
                n_keyed_net_group: n.n_keyed_net_group,
                prefer_evict: n.m_prefer_evict,
                m_is_local: n.addr.service.addr.is_local(),
                m_network: n.addr.service.addr.get_network(),
                m_noban: n.has_permission(NetPermissionFlags::NO_BAN),
                m_conn_type: n.m_conn_type,
            })
            .collect();
        let Some(id) = select_node_to_evict(candidates) else {
            return false;
        };
        match self.find_node_by_id(id) {
            Some(n) => {
                //DMITRY: inbound slots full and a new inbound connection arrives; Core: net.cpp::CConnman::AttemptToEvictConnection; kept: the peer
                // chosen by SelectNodeToEvict is disconnected.
                self.disconnect_for(
                    &n,
                    DisconnectReason::Evicted {
                        conn_type: n.m_conn_type,
                    },
                );
                true
            }
            None => false,
        }
    }

    /// Port of CConnman::StopNodes (net.cpp).
    pub(crate) fn stop_nodes(&self) {
        let nodes = self.m_nodes_mutex.lock().take_all();
        for n in &nodes {
            if !n.is_disconnecting() {
                //DMITRY: node shutting down; Core: net.cpp::CConnman::StopNodes; kept: every peer
                // is closed.
                self.disconnect_for(n, DisconnectReason::StoppingNode);
            }
            drop(n.close_socket_disconnect(self.log_ips()));
        }
        let disc = std::mem::take(&mut *self.m_nodes_disconnected.lock());
        let now = self.now_micros();
        let mut pm = self.pm();
        for n in nodes.iter().chain(disc.iter()) {
            pm.finalize_node(n.get_id(), now);
        }
    }

    /// Not in Core: a new connection's facts for the peer manager.
    pub(crate) fn connection_info(node: &CNode) -> crate::peerman::ConnectionInfo {
        crate::peerman::ConnectionInfo {
            id: node.get_id(),
            addr: node.addr,
            addr_bind: node.addr_bind,
            conn_type: node.m_conn_type,
            permissions: node.m_permission_flags,
            local_nonce: node.n_local_host_nonce,
            connected: node.m_connected,
        }
    }

    /// Not in Core: put a new connection in the node list and tell the peer manager (Core's
    /// `InitializeNode` then `m_nodes.push_back`), then have both handlers serve it.
    pub(crate) fn add_new_node(&self, node: Arc<CNode>) {
        let now = self.now_micros();
        self.pm().initialize_node(Self::connection_info(&node), now);
        self.m_nodes_mutex.lock().push(Arc::clone(&node));
        self.wake_socket_for(&node);
        self.queue_msg_work(&node);
        self.wake_message_handler();
    }

    /// Not in Core: peers with no node in the list any more are `None`.
    pub(crate) fn nodes_by_id(&self, ids: &[NodeId], out: &mut Vec<Arc<CNode>>) {
        let l = self.m_nodes_mutex.lock();
        out.extend(ids.iter().filter_map(|id| l.get(*id).cloned()));
    }

    /// Not in Core: drop the address's connections that a ban list merged at run time covers
    /// (Core's `setban` disconnects; `load_databases` merges bans the same way).
    pub fn disconnect_banned(&self) -> usize {
        let Some(b) = &self.m_banman else {
            return 0;
        };
        let matching: Vec<Arc<CNode>> = self
            .m_nodes_mutex
            .lock()
            .nodes
            .iter()
            .filter(|n| {
                !n.is_disconnecting()
                    && !n.has_permission(NetPermissionFlags::NO_BAN)
                    && b.is_banned(&n.addr.service.addr)
            })
            .cloned()
            .collect();
        for n in &matching {
            //DMITRY: a peer whose address a ban merged at run time covers (the host's load_databases, Logos API); Core: rpc/net.cpp::setban (BanMan::Ban then CConnman::DisconnectNode(subnet)); kept: a ban
            // drops live connections, noban peers excepted as in CreateNodeFromAcceptedSocket.
            self.disconnect_for(
                n,
                DisconnectReason::DisconnectBySubnet {
                    subnet: CSubNet::from_addr(n.addr.service.addr).to_string(),
                },
            );
        }
        matching.len()
    }

    /// Not in Core: an empty [`CAddress`] for a connection opened by name.
    pub(crate) fn no_address() -> CAddress {
        CAddress::new(CService::default(), ServiceFlags::NODE_NONE, 0)
    }
}
