//! Per-peer protocol state: the overlay's part of Core's `Peer` and `CNodeState`
//! (net_processing.cpp), and the facts about a connection the connection manager hands over
//! when it opens one.

use netbase::CService;
use protocol::{CAddress, ServiceFlags};

use crate::addr_relay::AddrRelayPeer;
use crate::connection_type::ConnectionType;
use crate::eviction::NodeId;
use crate::misbehavior::MisbehaviorState;
use crate::net_permissions::{has_flag, NetPermissionFlags};
use crate::timeouts::PingState;

/// What the peer manager needs to know about a new connection (the fields of Core's `CNode`
/// that net_processing reads and that never change).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectionInfo {
    /// Core's `GetId()`.
    pub id: NodeId,
    /// The peer's address with the services we knew of (Core's `CNode::addr`).
    pub addr: CAddress,
    /// Our side of the socket (Core's `addrBind`).
    pub addr_bind: CService,
    /// Core's `m_conn_type`.
    pub conn_type: ConnectionType,
    /// Core's `m_permission_flags`.
    pub permissions: NetPermissionFlags,
    /// The nonce of our `version` on this connection (Core's `nLocalHostNonce`).
    pub local_nonce: u64,
    /// Connect time, seconds (Core's `m_connected`).
    pub connected: i64,
}

impl ConnectionInfo {
    /// Port of CNode::IsInboundConn (net.h).
    pub fn is_inbound_conn(&self) -> bool {
        self.conn_type == ConnectionType::Inbound
    }

    /// Port of CNode::HasPermission (net.h).
    pub fn has_permission(&self, permission: NetPermissionFlags) -> bool {
        has_flag(self.permissions, permission)
    }
}

/// A peer's progress through the `version` / `verack` handshake (Core: `nVersion`,
/// `m_greatest_common_version`, `fSuccessfullyConnected`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Handshake {
    /// No `version` processed yet (Core's `nVersion == 0`).
    AwaitingVersion,
    /// `version` processed, `verack` not yet received.
    AwaitingVerack {
        /// The peer's `nVersion`.
        version: i32,
        /// Core's `m_greatest_common_version`.
        common: i32,
    },
    /// `verack` received (Core's `fSuccessfullyConnected`).
    Connected {
        /// The peer's `nVersion`.
        version: i32,
        /// Core's `m_greatest_common_version`.
        common: i32,
    },
}

/// Per-peer state of the overlay protocol.
#[derive(Debug)]
pub(crate) struct Peer {
    /// The connection.
    pub(crate) conn: ConnectionInfo,
    /// Core's `m_our_services`.
    pub(crate) m_our_services: ServiceFlags,
    /// Core's `m_their_services`.
    pub(crate) m_their_services: ServiceFlags,
    /// Handshake progress.
    pub(crate) handshake: Handshake,
    /// Core's `fDisconnect`, as far as the peer manager asked for it (the shell may also drop a
    /// peer on its own; then `finalize_node` follows).
    pub(crate) f_disconnect: bool,
    /// Core's `m_should_discourage`.
    pub(crate) m_misbehavior: MisbehaviorState,
    /// Core's ping fields.
    pub(crate) ping: PingState,
    /// Core's `m_starting_height`.
    pub(crate) m_starting_height: i32,
    /// Core's address-relay fields.
    pub(crate) addr: AddrRelayPeer,
    /// Core's `m_outbound_version_message_sent`.
    pub(crate) m_outbound_version_message_sent: bool,
    /// Core's `m_wtxid_relay` (the peer sent `wtxidrelay` during the handshake).
    pub(crate) m_wtxid_relay: bool,
    /// Core's `addrLocal`: our address as the peer's `version` says (set once).
    pub(crate) addr_local: Option<CService>,
    /// Core's `m_time_offset`: the peer's clock minus ours at its `version`, seconds.
    pub(crate) m_time_offset: i64,
    /// The catch-up under way (see logos.rs): the label of the next retained important
    /// payload this peer still has to be sent, and the label the store had at `verack` (later
    /// payloads reached the peer live, so the catch-up stops there).
    pub(crate) catchup_next: Option<(u64, u64)>,
    /// When this peer next needs `send_messages` (µs), as filed in the timer table.
    pub(crate) next_wakeup: Option<i64>,
    /// Not in Core: the Stage 2 relay's state of this link.
    pub(crate) link: super::announce::AnnounceLink,
}

impl Peer {
    /// Port of Peer::Peer (net_processing.cpp).
    pub(crate) fn new(
        conn: ConnectionInfo,
        our_services: ServiceFlags,
        addr_known_elements: u32,
        now_micros: i64,
    ) -> Self {
        let mut addr = AddrRelayPeer::new(now_micros);
        addr.m_addr_known_elements = addr_known_elements;
        Peer {
            conn,
            m_our_services: our_services,
            m_their_services: ServiceFlags::NODE_NONE,
            handshake: Handshake::AwaitingVersion,
            f_disconnect: false,
            m_misbehavior: MisbehaviorState::new(),
            ping: PingState::new(),
            m_starting_height: -1,
            addr,
            m_outbound_version_message_sent: false,
            m_wtxid_relay: false,
            addr_local: None,
            m_time_offset: 0,
            catchup_next: None,
            next_wakeup: None,
            link: Default::default(),
        }
    }

    /// Core's `GetId()`.
    pub(crate) fn id(&self) -> NodeId {
        self.conn.id
    }

    /// Core's `nVersion` (0 before `version`).
    pub(crate) fn n_version(&self) -> i32 {
        match self.handshake {
            Handshake::AwaitingVersion => 0,
            Handshake::AwaitingVerack { version, .. } | Handshake::Connected { version, .. } => {
                version
            }
        }
    }

    /// Port of CNode::GetCommonVersion (net.h): `INIT_PROTO_VERSION` until `version`.
    pub(crate) fn common_version(&self) -> i32 {
        match self.handshake {
            Handshake::AwaitingVersion => protocol::version::INIT_PROTO_VERSION,
            Handshake::AwaitingVerack { common, .. } | Handshake::Connected { common, .. } => {
                common
            }
        }
    }

    /// Core's `fSuccessfullyConnected`.
    pub(crate) fn successfully_connected(&self) -> bool {
        matches!(self.handshake, Handshake::Connected { .. })
    }

    /// Port of CConnman::NodeFullyConnected (net.cpp), as the peer manager knows it.
    pub(crate) fn fully_connected(&self) -> bool {
        self.successfully_connected() && !self.f_disconnect
    }
}
