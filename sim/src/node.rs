//! One simulated node: the managers the daemon runs, and what its shell (`CConnman` in the
//! daemon, the [`crate::engine`] here) keeps about each connection.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use addrman::banman::BanMan;
use addrman::AddrMan;
use net::connection_type::ConnectionType;
use net::dnsseed::DnsSeedPlanner;
use net::eviction::NodeEvictionCandidate;
use net::local_addr::LocalHostMap;
use net::net_message::CNetMessage;
use net::open_connections::{OpenConnectionsPlanner, OutboundPeerInfo};
use net::peerman::PeerManager;
use net::siphash::RandomizerSeeds;
use net::NodeId;
use netbase::CService;
use protocol::{CAddress, ServiceFlags};
use rand_chacha::ChaCha20Rng;

use crate::link::Pipe;
use crate::metrics::NodeRecord;

/// Core's `RANDOMIZER_ID_NETGROUP` (SHA256("netgroup")[0:8]).
const RANDOMIZER_ID_NETGROUP: u64 = 0x6c0e_dd80_36ef_4036;

/// What the shell keeps about one connection of a node (the parts of Core's `CNode` that
/// eviction, the planner and the send queue read).
#[derive(Debug)]
pub struct SimPeer {
    /// The link.
    pub link: u32,
    /// This node's end of it.
    pub end: u8,
    /// Core's `m_conn_type`.
    pub conn_type: ConnectionType,
    /// The other side's address as this node sees it (Core's `CNode::addr`).
    pub addr: CService,
    /// The services the address was known with (outbound: from addrman).
    pub services: ServiceFlags,
    /// Core's `m_connected`, seconds.
    pub connected_secs: i64,
    /// Core's `fSuccessfullyConnected`.
    pub successfully_connected: bool,
    /// Core's `m_min_ping_time`, µs.
    pub min_ping: i64,
    /// Core's `m_last_logos_time` (the overlay's stand-in for tx/block times), seconds.
    pub last_logos: i64,
    /// Core's `m_has_all_wanted_services`.
    pub relevant_services: bool,
    /// Core's `m_relays_txs`.
    pub relays_txs: bool,
    /// Core's `nKeyedNetGroup`.
    pub keyed_group: u64,
    /// Core's `m_prefer_evict` (a discouraged peer let in).
    pub prefer_evict: bool,
    /// Messages that arrived before the peer manager would process them.
    pub held: VecDeque<CNetMessage>,
}

impl SimPeer {
    /// The peer's address as the connection was made with it (Core's `CNode::addr`).
    pub fn addr_info(&self) -> CAddress {
        CAddress::new(self.addr, self.services, 0)
    }
}

/// One node.
pub struct SimNode {
    /// Its index.
    pub index: u32,
    /// Its address (the listening one if it listens).
    pub addr: CService,
    /// It accepts inbound connections.
    pub listening: bool,
    /// Its region.
    pub region: u8,
    /// Running (churn and restarts turn nodes off).
    pub alive: bool,
    /// An attacker node (eclipse scenario): it owns many addresses, is not measured.
    pub attacker: bool,
    /// A delegate (a fixed originator).
    pub delegate: bool,
    /// Announces but never delivers what is asked (Stage 2 relay tests).
    pub silent: bool,
    /// The peer manager.
    pub pm: PeerManager,
    /// The address manager (compact tables).
    pub addrman: Arc<AddrMan>,
    /// The ban manager (in-memory ban list).
    pub banman: Arc<BanMan>,
    /// Core's `mapLocalHost`.
    pub local_host: Arc<LocalHostMap>,
    /// Core's `nSeed0` / `nSeed1`.
    pub seeds: RandomizerSeeds,
    /// The outbound planner.
    pub planner: OpenConnectionsPlanner,
    /// Core's `ThreadOpenConnections` loop start (its 500 ms grid), µs.
    pub plan_origin: i64,
    /// The next planner pass, µs; `None` while a dial is out (Core's loop blocks in
    /// `OpenNetworkConnection`).
    pub plan_next: Option<i64>,
    /// The DNS-seed planner.
    pub dns: DnsSeedPlanner,
    /// Its next poll, µs (`None`: finished).
    pub dns_next: Option<i64>,
    /// The shell's randomness (planner, DNS answers, verdict draws).
    pub rng: ChaCha20Rng,
    /// Connections by id (ordered, as Core's `m_nodes`).
    pub peers: BTreeMap<NodeId, SimPeer>,
    /// Next connection id.
    pub next_id: NodeId,
    /// Inbound connections open.
    pub n_inbound: i32,
    /// Uplink.
    pub up: Pipe,
    /// Downlink.
    pub down: Pipe,
    /// The wake-up queued in the event loop, µs.
    pub scheduled_wake: Option<i64>,
    /// What it measured.
    pub record: NodeRecord,
}

impl SimNode {
    /// Port of CConnman::CalculateKeyedNetGroup (net.cpp).
    pub fn keyed_net_group(&self, netgroupman: &netbase::NetGroupManager, addr: &CService) -> u64 {
        let mut h = self
            .seeds
            .get_deterministic_randomizer(RANDOMIZER_ID_NETGROUP);
        h.write(&netgroupman.get_group(&addr.addr));
        h.finalize()
    }

    /// The planner's view of `m_nodes`.
    pub fn outbound_snapshot(&self) -> Vec<OutboundPeerInfo> {
        self.peers
            .values()
            .map(|p| OutboundPeerInfo {
                conn_type: p.conn_type,
                addr: p.addr,
                successfully_connected: p.successfully_connected,
                disconnect: false,
            })
            .collect()
    }

    /// Full-relay outbound connections that finished the handshake (Core's
    /// `GetFullOutboundConnCount`).
    pub fn full_outbound(&self) -> usize {
        self.peers
            .values()
            .filter(|p| p.successfully_connected && p.conn_type.is_full_outbound_conn())
            .count()
    }

    /// Outbound connections of any kind (each holds one of Core's `semOutbound` grants).
    pub fn outbound_total(&self) -> usize {
        self.peers
            .values()
            .filter(|p| p.conn_type != ConnectionType::Inbound)
            .count()
    }

    /// Core's `AlreadyConnectedToAddress`: a connection to this IP exists (`FindNode(CNetAddr)`
    /// compares the IP only).
    pub fn connected_to_ip(&self, addr: &netbase::CNetAddr) -> bool {
        self.peers.values().any(|p| p.addr.addr == *addr)
    }

    /// Port of the candidate list of CConnman::AttemptToEvictConnection (net.cpp).
    pub fn eviction_candidates(&self) -> Vec<NodeEvictionCandidate> {
        self.peers
            .iter()
            .map(|(&id, p)| NodeEvictionCandidate {
                id,
                m_connected: p.connected_secs,
                m_min_ping_time: p.min_ping,
                m_last_logos_time: p.last_logos,
                f_relevant_services: p.relevant_services,
                m_relay_txs: p.relays_txs,
                n_keyed_net_group: p.keyed_group,
                prefer_evict: p.prefer_evict,
                m_is_local: p.addr.addr.is_local(),
                m_network: p.addr.addr.get_network(),
                m_noban: false,
                m_conn_type: p.conn_type,
            })
            .collect()
    }
}
