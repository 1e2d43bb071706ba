//! What the peer manager asks its shell to do (nakamoto's `fsm/output.rs`, quinn-proto's
//! `poll_*`): the peer manager never touches a socket, a thread or the upper layer; it queues
//! these and the shell (`CConnman`, or the simulator) carries them out after releasing its
//! locks, in order.

use std::sync::Arc;

use netbase::{CService, CSubNet};
use protocol::header::HEADER_SIZE;
use protocol::{NetworkMessage, ServiceFlags};

use crate::disconnect::DisconnectReason;
use crate::eviction::NodeId;
use crate::flood::PayloadId;

/// Why a `logos` payload is sent to a peer: decides what the shell does when the peer's send
/// buffer is full.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogosSend {
    /// Relayed (received from another peer): dropped and counted when the peer's send queue
    /// is over `-maxsendbuffer`, unless it displaces relays of an origin holding more of that
    /// queue (DMITRY_NOTES.md, "Send buffers").
    Relay {
        /// The peer it came from.
        origin: NodeId,
    },
    /// Our own (`propagate_message`): it may wait beyond `-maxsendbuffer` (the upper layer sets
    /// the pace), dropped and counted only past a hard bound on the peer's queue.
    Own,
    /// Catch-up of retained important payloads to a new peer: already paced by the peer
    /// manager against the peer's send buffer, never dropped.
    CatchUp,
    /// Not in Core: the answer to the peer's request (`getlogos`, `getlogosid`): dropped and
    /// counted like a relay when its send queue is full (the peer asks another announcer).
    Requested,
}

/// Fields of Core's `CNode` that net_processing writes and the connection manager reads
/// (getpeerinfo, eviction, inactivity checks, the outbound planner).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NodeUpdate {
    /// `version` processed: Core's `nVersion`, `SetCommonVersion`, `m_has_all_wanted_services`,
    /// `m_relays_txs`, `cleanSubVer`, `SetAddrLocal`.
    Version {
        /// The peer's protocol version.
        n_version: i32,
        /// min(ours, theirs).
        common_version: i32,
        /// Services it announced.
        their_services: ServiceFlags,
        /// It offers every service we want from it.
        has_all_wanted_services: bool,
        /// Its `fRelay` (and the connection is neither block-relay-only nor a feeler).
        relays_txs: bool,
        /// Its user agent, sanitized.
        clean_sub_ver: String,
        /// Our address as the peer sees it.
        addr_local: CService,
    },
    /// `verack` processed: Core's `fSuccessfullyConnected = true`.
    SuccessfullyConnected,
    /// A `pong` answered our `ping` after this many microseconds (Core's `PongReceived`).
    PongReceived(i64),
    /// The peer sent a new `logos` payload the upper layer accepted, at this time (seconds):
    /// eviction's measure of useful work.
    LogosAccepted(i64),
}

/// One thing for the shell to do.
#[derive(Clone, Debug)]
pub enum Output {
    /// Send a message (encode it with protocol's codec: `SerializedNetMsg::from_message`).
    Send {
        /// To whom.
        peer: NodeId,
        /// The message.
        msg: NetworkMessage,
    },
    /// Send a `logos` payload, already hashed and framed (the header it arrived with, or the
    /// one built when it was first sent): no hashing and no copy per peer.
    SendLogos {
        /// To whom.
        peer: NodeId,
        /// The payload, shared by every peer it goes to.
        payload: Arc<Vec<u8>>,
        /// Its 24-byte header.
        header: [u8; HEADER_SIZE],
        /// What to do if the peer's send buffer is full.
        kind: LogosSend,
    },
    /// Hand a new `logos` payload to the upper layer (or, again, one that left the pending pool
    /// because what it waited for was accepted), then report its answer with
    /// `PeerManager::deliver_verdict` (the id, the [`crate::Verdict`], and for an accepted
    /// one whether it is important).
    Deliver {
        /// The sender.
        peer: NodeId,
        /// Its address (the upper layer may ban it).
        addr: CService,
        /// The payload's id (network hash).
        id: PayloadId,
        /// The payload.
        payload: Arc<Vec<u8>>,
    },
    /// Disconnect a peer.
    Disconnect {
        /// Whom.
        peer: NodeId,
        /// Why (its `log_text` is Core's line; the shell logs it).
        reason: DisconnectReason,
    },
    /// Disconnect every peer whose address is in `subnet` (Core's `DisconnectNode(addr)` after
    /// a discouragement).
    DisconnectSubnet {
        /// The subnet (a single address after a discouragement).
        subnet: CSubNet,
    },
    /// Mirror protocol state into the connection (Core's CNode fields written by
    /// net_processing).
    Update {
        /// Which connection.
        peer: NodeId,
        /// What changed.
        update: NodeUpdate,
    },
}
