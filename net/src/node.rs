//! One peer connection: Core's `CNode` (net.h / net.cpp).
//!
//! Lock names follow Core: `m_sock_mutex` (the socket), `cs_vSend` (send queue and the send half
//! of the transport), `cs_vRecv` (the receive half of the transport and freshly completed
//! messages), `m_msg_process_queue_mutex` (messages waiting for the message handler),
//! `m_subver_mutex`, `m_addr_local_mutex`. Order, as in Core: `m_nodes_mutex` before `cs_vSend`
//! before `m_sock_mutex`.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicI64, AtomicU64, Ordering};

use mio::net::TcpStream;
use parking_lot::Mutex;
use protocol::{CAddress, ServiceFlags};

use netbase::CService;

use crate::connection_type::ConnectionType;
use crate::disconnect::DisconnectReason;
use crate::net_message::{CNetMessage, SerializedNetMsg};
use crate::net_permissions::{has_flag, NetPermissionFlags};
use crate::peerman::NodeUpdate;
use crate::semaphore::SemaphoreGrant;
use crate::transport::{V1Recv, V1Send};

pub use crate::eviction::NodeId;

/// Key under which bytes of unknown message types are counted (Core's `NET_MESSAGE_TYPE_OTHER`).
pub const NET_MESSAGE_TYPE_OTHER: &str = "*other*";

/// State guarded by `cs_vSend` (Core: `vSendMsg`, `m_send_memusage`, `nSendBytes`,
/// `mapSendBytesPerMsgType`, and the send half of the transport).
pub struct SendState {
    /// Messages queued for sending (Core's `vSendMsg`).
    pub v_send_msg: VecDeque<SerializedNetMsg>,
    /// Memory used by `v_send_msg` (Core's `m_send_memusage`).
    pub m_send_memusage: usize,
    /// Total bytes sent (Core's `nSendBytes`).
    pub n_send_bytes: u64,
    /// Bytes sent per message type (Core's `mapSendBytesPerMsgType`).
    pub map_send_bytes_per_msg_type: BTreeMap<String, u64>,
    /// Send half of the transport.
    pub transport: V1Send,
    /// mio reported the socket writable and no send has hit `WouldBlock` since.
    pub writable: bool,
    /// Not in Core: bytes of relayed `logos` payloads in `v_send_msg`, per origin peer (see
    /// [`SerializedNetMsg::relay_origin`]); no entry at zero.
    pub relay_bytes_by_origin: HashMap<NodeId, usize>,
}

impl SendState {
    /// Not in Core: account a message entering `v_send_msg` (Core's `m_send_memusage`, and
    /// the per-origin share of a relay).
    pub fn queued(&mut self, m: &SerializedNetMsg) {
        let bytes = m.get_memory_usage();
        self.m_send_memusage += bytes;
        if let Some(o) = m.relay_origin {
            *self.relay_bytes_by_origin.entry(o).or_insert(0) += bytes;
        }
    }

    /// Not in Core: account a message of `bytes` (its `get_memory_usage`) from `origin` (its
    /// `relay_origin`) leaving `v_send_msg` (handed to the transport, or dropped).
    pub fn dequeued(&mut self, bytes: usize, origin: Option<NodeId>) {
        self.m_send_memusage -= bytes;
        if let Some(o) = origin {
            if let Some(b) = self.relay_bytes_by_origin.get_mut(&o) {
                *b = b.saturating_sub(bytes);
                if *b == 0 {
                    self.relay_bytes_by_origin.remove(&o);
                }
            }
        }
    }
}

/// State guarded by `cs_vRecv` (Core: `vRecvMsg`, `nRecvBytes`, `mapRecvBytesPerMsgType`, and
/// the receive half of the transport).
pub struct RecvState {
    /// Completed messages not yet handed to the message handler (Core's `vRecvMsg`).
    pub v_recv_msg: Vec<CNetMessage>,
    /// Total bytes received (Core's `nRecvBytes`).
    pub n_recv_bytes: u64,
    /// Bytes received per message type (Core's `mapRecvBytesPerMsgType`).
    pub map_recv_bytes_per_msg_type: BTreeMap<String, u64>,
    /// Receive half of the transport.
    pub transport: V1Recv,
}

impl RecvState {
    /// Port of the completed-message step of CNode::ReceiveMsgBytes (net.cpp): take the message
    /// the transport completed, count its bytes under its type (under
    /// [`NET_MESSAGE_TYPE_OTHER`] when the transport rejected it), and queue it unless rejected.
    /// Returns whether a message was queued.
    fn take_complete_message(&mut self, now_micros: i64) -> bool {
        let (msg, reject) = self.transport.get_received_message(now_micros);
        account_received_bytes(
            &mut self.map_recv_bytes_per_msg_type,
            if reject {
                NET_MESSAGE_TYPE_OTHER
            } else {
                &msg.m_type
            },
            msg.m_raw_message_size,
        );
        if reject {
            return false;
        }
        self.v_recv_msg.push(msg);
        true
    }
}

/// Messages waiting for the message handler (Core's `m_msg_process_queue` and its size).
#[derive(Default)]
pub struct ProcessQueue {
    /// The queue.
    pub queue: VecDeque<CNetMessage>,
    /// Sum of `get_memory_usage()` of the queued messages.
    pub size: usize,
}

/// Construction parameters of a [`CNode`] (Core's `CNodeOptions` plus constructor arguments).
pub struct CNodeInit {
    /// Node id.
    pub id: NodeId,
    /// Connected socket.
    pub sock: TcpStream,
    /// Peer address.
    pub addr: CAddress,
    /// Keyed net group of the peer address.
    pub n_keyed_net_group: u64,
    /// Nonce we send in `version` (self-connection detection).
    pub n_local_host_nonce: u64,
    /// Our side of the socket.
    pub addr_bind: CService,
    /// Name the connection was opened with (empty for inbound).
    pub addr_name: String,
    /// Connection type.
    pub conn_type: ConnectionType,
    /// `-maxreceivebuffer` in bytes.
    pub recv_flood_size: usize,
    /// Prefer this peer for eviction (it is discouraged).
    pub prefer_evict: bool,
    /// Network message start.
    pub magic: [u8; 4],
    /// Network hash.
    pub hash_kind: protocol::HashKind,
    /// Largest payload accepted.
    pub max_message_length: u32,
    /// Connect time, seconds.
    pub now_secs: i64,
    /// Manual connection granted by the addnode semaphore, if any.
    pub grant: Option<SemaphoreGrant>,
    /// Permissions from `-whitebind` / `-whitelist` (Core's `CNodeOptions::permission_flags`).
    pub permission_flags: NetPermissionFlags,
}

/// A peer connection. Port of `CNode` (net.h).
pub struct CNode {
    id: NodeId,
    /// Peer address (Core's `addr`).
    pub addr: CAddress,
    /// Our side of the socket (Core's `addrBind`).
    pub addr_bind: CService,
    /// Name used to open the connection, or the address (Core's `m_addr_name`).
    pub m_addr_name: String,
    /// Destination string given to open the connection (Core's `m_dest`).
    pub m_dest: String,
    /// Connection type (Core's `m_conn_type`).
    pub m_conn_type: ConnectionType,
    /// Connect time in seconds (Core's `m_connected`).
    pub m_connected: i64,
    /// Keyed net group (Core's `nKeyedNetGroup`).
    pub n_keyed_net_group: u64,
    /// Nonce we sent in `version` (Core's `nLocalHostNonce`).
    pub n_local_host_nonce: u64,
    /// Discouraged at accept time (Core's `m_prefer_evict`).
    pub m_prefer_evict: bool,
    /// Permissions from `-whitebind` / `-whitelist` (Core's `m_permission_flags`).
    pub m_permission_flags: NetPermissionFlags,
    m_recv_flood_size: usize,
    /// The network hash (for payloads hashed after arrival, see [`Self::poll_message`]).
    m_hash_kind: protocol::HashKind,

    /// Core's `m_sock_mutex` / `m_sock`.
    pub m_sock_mutex: Mutex<Option<TcpStream>>,
    /// Core's `cs_vSend`.
    pub cs_v_send: Mutex<SendState>,
    /// Core's `cs_vRecv`.
    pub cs_v_recv: Mutex<RecvState>,
    /// Core's `m_msg_process_queue_mutex`.
    pub m_msg_process_queue_mutex: Mutex<ProcessQueue>,
    /// Core's `m_subver_mutex` / `cleanSubVer`.
    pub m_subver_mutex: Mutex<String>,
    /// Core's `m_addr_local_mutex` / `addrLocal`.
    pub m_addr_local_mutex: Mutex<Option<CService>>,
    /// The first reason this node was marked for disconnection.
    pub m_disconnect_reason: Mutex<Option<DisconnectReason>>,
    /// Outbound slot held by this connection (Core's `grantOutbound`).
    pub grant_outbound: Mutex<Option<SemaphoreGrant>>,

    /// Core's `fDisconnect`.
    pub f_disconnect: AtomicBool,
    /// Core's `fSuccessfullyConnected`.
    pub f_successfully_connected: AtomicBool,
    /// Core's `fPauseRecv`.
    pub f_pause_recv: AtomicBool,
    /// Core's `fPauseSend`.
    pub f_pause_send: AtomicBool,
    /// Core's `m_last_send` (seconds, 0 = never).
    pub m_last_send: AtomicI64,
    /// Core's `m_last_recv` (seconds, 0 = never).
    pub m_last_recv: AtomicI64,
    /// Core's `nVersion` (0 until `version` is processed).
    pub n_version: AtomicI32,
    /// Core's `m_greatest_common_version`.
    pub m_greatest_common_version: AtomicI32,
    /// Core's `m_last_ping_time` (microseconds).
    pub m_last_ping_time: AtomicI64,
    /// Core's `m_min_ping_time` (microseconds, `i64::MAX` = none yet).
    pub m_min_ping_time: AtomicI64,
    /// Core's `m_has_all_wanted_services`.
    pub m_has_all_wanted_services: AtomicBool,
    /// Core's `m_relays_txs` (here: the peer's relay flag).
    pub m_relays_txs: AtomicBool,
    /// Services the peer announced in `version`.
    pub m_their_services: AtomicU64,
    /// Last time (seconds) the peer sent a new `logos` payload the upper layer accepted
    /// (eviction's stand-in for Core's `m_last_tx_time` / `m_last_block_time`).
    pub m_last_logos_time: AtomicI64,
    /// mio reported the socket readable and no read has hit `WouldBlock` since (net thread only).
    pub readable: AtomicBool,
    /// `logos` relays dropped because the send queue was over `-maxsendbuffer` (getpeerinfo's
    /// `logos_relay_dropped`).
    pub m_logos_relay_dropped: AtomicU64,
    /// The peer manager may process this connection's messages (inbound: at once; outbound:
    /// once our `version` is queued, Core's `m_outbound_version_message_sent`).
    pub(crate) m_msgproc_ready: AtomicBool,
    /// Queued in the message handler's work list.
    pub(crate) m_in_msg_work: AtomicBool,
    /// Queued in the socket handler's work list.
    pub(crate) m_in_socket_work: AtomicBool,
    /// Counted in the connection manager's number of fully connected peers.
    pub(crate) m_counted_connected: AtomicBool,
}

impl CNode {
    /// Port of CNode::CNode (net.cpp).
    pub fn new(init: CNodeInit, log_ips: bool) -> Self {
        let addr_name = if init.addr_name.is_empty() {
            init.addr.service.to_string_addr_port()
        } else {
            init.addr_name.clone()
        };
        let mut recv_map = BTreeMap::new();
        // Core's ALL_NET_MESSAGE_TYPES, plus our `logos` command.
        let types = protocol::message::ALL_NET_MESSAGE_TYPES.iter();
        for t in types.chain(std::iter::once(&protocol::message::net_msg_type::LOGOS)) {
            recv_map.insert((*t).to_string(), 0u64);
        }
        recv_map.insert(NET_MESSAGE_TYPE_OTHER.to_string(), 0u64);
        if log_ips {
            log::debug!(target: "net", "Added connection to {} peer={}", addr_name, init.id);
        } else {
            log::debug!(target: "net", "Added connection peer={}", init.id);
        }
        CNode {
            id: init.id,
            addr: init.addr,
            addr_bind: init.addr_bind,
            m_addr_name: addr_name,
            m_dest: init.addr_name,
            m_conn_type: init.conn_type,
            m_connected: init.now_secs,
            n_keyed_net_group: init.n_keyed_net_group,
            n_local_host_nonce: init.n_local_host_nonce,
            m_prefer_evict: init.prefer_evict,
            m_permission_flags: init.permission_flags,
            m_recv_flood_size: init.recv_flood_size,
            m_hash_kind: init.hash_kind,
            m_sock_mutex: Mutex::new(Some(init.sock)),
            cs_v_send: Mutex::new(SendState {
                v_send_msg: VecDeque::new(),
                m_send_memusage: 0,
                n_send_bytes: 0,
                map_send_bytes_per_msg_type: BTreeMap::new(),
                transport: V1Send::new(init.magic, init.hash_kind),
                writable: true,
                relay_bytes_by_origin: HashMap::new(),
            }),
            cs_v_recv: Mutex::new(RecvState {
                v_recv_msg: Vec::new(),
                n_recv_bytes: 0,
                map_recv_bytes_per_msg_type: recv_map,
                transport: V1Recv::new(
                    init.magic,
                    init.hash_kind,
                    init.max_message_length,
                    init.id,
                ),
            }),
            m_msg_process_queue_mutex: Mutex::new(ProcessQueue::default()),
            m_subver_mutex: Mutex::new(String::new()),
            m_addr_local_mutex: Mutex::new(None),
            m_disconnect_reason: Mutex::new(None),
            grant_outbound: Mutex::new(init.grant),
            f_disconnect: AtomicBool::new(false),
            f_successfully_connected: AtomicBool::new(false),
            f_pause_recv: AtomicBool::new(false),
            f_pause_send: AtomicBool::new(false),
            m_last_send: AtomicI64::new(0),
            m_last_recv: AtomicI64::new(0),
            n_version: AtomicI32::new(0),
            m_greatest_common_version: AtomicI32::new(protocol::version::INIT_PROTO_VERSION),
            m_last_ping_time: AtomicI64::new(0),
            m_min_ping_time: AtomicI64::new(i64::MAX),
            m_has_all_wanted_services: AtomicBool::new(false),
            m_relays_txs: AtomicBool::new(false),
            m_their_services: AtomicU64::new(0),
            m_last_logos_time: AtomicI64::new(0),
            readable: AtomicBool::new(true),
            m_logos_relay_dropped: AtomicU64::new(0),
            m_msgproc_ready: AtomicBool::new(init.conn_type == ConnectionType::Inbound),
            m_in_msg_work: AtomicBool::new(false),
            m_in_socket_work: AtomicBool::new(false),
            m_counted_connected: AtomicBool::new(false),
        }
    }

    /// Not in Core: apply what the peer manager decided about this connection (Core's
    /// net_processing writing `CNode` fields).
    pub(crate) fn apply_update(&self, update: NodeUpdate) {
        match update {
            NodeUpdate::Version {
                n_version,
                common_version,
                their_services,
                has_all_wanted_services,
                relays_txs,
                clean_sub_ver,
                addr_local,
            } => {
                self.m_greatest_common_version
                    .store(common_version, Ordering::SeqCst);
                self.n_version.store(n_version, Ordering::SeqCst);
                self.m_has_all_wanted_services
                    .store(has_all_wanted_services, Ordering::SeqCst);
                self.m_their_services
                    .store(their_services.0, Ordering::SeqCst);
                self.set_addr_local(addr_local);
                *self.m_subver_mutex.lock() = clean_sub_ver;
                if relays_txs {
                    self.m_relays_txs.store(true, Ordering::SeqCst);
                }
            }
            NodeUpdate::SuccessfullyConnected => {
                self.f_successfully_connected.store(true, Ordering::SeqCst);
            }
            NodeUpdate::PongReceived(t) => self.pong_received(t),
            NodeUpdate::LogosAccepted(t) => self.m_last_logos_time.store(t, Ordering::Relaxed),
        }
    }

    /// Not in Core: count this connection as fully connected in `counter` if it is (handshake
    /// done, not disconnecting) and not counted yet; uncount it once it is disconnecting. Safe to
    /// call from any thread after either flag changes: each count is matched by one uncount.
    pub(crate) fn recount_connected(&self, counter: &std::sync::atomic::AtomicUsize) {
        if self.f_successfully_connected.load(Ordering::SeqCst)
            && !self.f_disconnect.load(Ordering::SeqCst)
            && !self.m_counted_connected.swap(true, Ordering::SeqCst)
        {
            counter.fetch_add(1, Ordering::SeqCst);
        }
        if self.f_disconnect.load(Ordering::SeqCst)
            && self.m_counted_connected.swap(false, Ordering::SeqCst)
        {
            counter.fetch_sub(1, Ordering::SeqCst);
        }
    }

    /// Port of CNode::GetId (net.h).
    pub fn get_id(&self) -> NodeId {
        self.id
    }

    /// Port of CNode::HasPermission (net.h).
    pub fn has_permission(&self, permission: NetPermissionFlags) -> bool {
        has_flag(self.m_permission_flags, permission)
    }

    /// Port of CNode::IsInboundConn (net.h).
    pub fn is_inbound_conn(&self) -> bool {
        self.m_conn_type == ConnectionType::Inbound
    }

    /// Port of CNode::IsManualConn (net.h).
    pub fn is_manual_conn(&self) -> bool {
        self.m_conn_type == ConnectionType::Manual
    }

    /// Port of CNode::IsFeelerConn (net.h).
    pub fn is_feeler_conn(&self) -> bool {
        self.m_conn_type == ConnectionType::Feeler
    }

    /// Port of CNode::IsAddrFetchConn (net.h).
    pub fn is_addr_fetch_conn(&self) -> bool {
        self.m_conn_type == ConnectionType::AddrFetch
    }

    /// Port of CNode::IsBlockOnlyConn (net.h).
    pub fn is_block_only_conn(&self) -> bool {
        self.m_conn_type == ConnectionType::BlockRelay
    }

    /// Port of CNode::IsFullOutboundConn (net.h).
    pub fn is_full_outbound_conn(&self) -> bool {
        self.m_conn_type == ConnectionType::OutboundFullRelay
    }

    /// Port of CNode::IsManualOrFullOutboundConn (net.h).
    pub fn is_manual_or_full_outbound_conn(&self) -> bool {
        matches!(
            self.m_conn_type,
            ConnectionType::OutboundFullRelay | ConnectionType::Manual
        )
    }

    /// Port of CNode::ExpectServicesFromConn (net.h).
    pub fn expect_services_from_conn(&self) -> bool {
        matches!(
            self.m_conn_type,
            ConnectionType::OutboundFullRelay | ConnectionType::AddrFetch
        )
    }

    /// Port of CNode::ConnectionTypeAsString (net.h).
    pub fn connection_type_as_string(&self) -> &'static str {
        crate::connection_type::conn_type_as_string(self.m_conn_type)
    }

    /// Port of CNode::GetCommonVersion (net.h).
    pub fn get_common_version(&self) -> i32 {
        self.m_greatest_common_version.load(Ordering::Relaxed)
    }

    /// Port of CNode::LogIP (net.cpp).
    pub fn log_ip(&self, log_ips: bool) -> String {
        if log_ips {
            format!(" peeraddr={}", self.addr.service.to_string_addr_port())
        } else {
            String::new()
        }
    }

    /// Port of CNode::DisconnectMsg (net.cpp).
    pub fn disconnect_msg(&self, log_ips: bool) -> String {
        format!("disconnecting peer={}{}", self.id, self.log_ip(log_ips))
    }

    /// Port of CNode::fDisconnect (net.h), set: mark the node for disconnection (Core: `fDisconnect = true`), remembering the first
    /// reason. Logging is the caller's: each Core site has its own line.
    pub fn mark_disconnect(&self, reason: DisconnectReason) {
        let mut r = self.m_disconnect_reason.lock();
        if r.is_none() {
            *r = Some(reason);
        }
        self.f_disconnect.store(true, Ordering::SeqCst);
    }

    /// Port of CNode::fDisconnect (net.h), read: `fDisconnect`.
    pub fn is_disconnecting(&self) -> bool {
        self.f_disconnect.load(Ordering::SeqCst)
    }

    /// Not in Core: the first disconnect reason recorded, if any.
    pub fn disconnect_reason(&self) -> Option<DisconnectReason> {
        self.m_disconnect_reason.lock().clone()
    }

    /// Port of CNode::CloseSocketDisconnect (net.cpp). Returns the socket so the caller can
    /// deregister it from the poll.
    pub fn close_socket_disconnect(&self, log_ips: bool) -> Option<TcpStream> {
        self.f_disconnect.store(true, Ordering::SeqCst);
        let sock = self.m_sock_mutex.lock().take();
        if sock.is_some() {
            log::debug!(target: "net", "Resetting socket for peer={}{}", self.id, self.log_ip(log_ips));
        }
        sock
    }

    /// Port of CNode::SetAddrLocal (net.cpp).
    pub fn set_addr_local(&self, addr_local: CService) {
        let mut a = self.m_addr_local_mutex.lock();
        if a.is_none() {
            *a = Some(addr_local);
        }
    }

    /// Port of CNode::GetAddrLocal (net.cpp).
    pub fn get_addr_local(&self) -> Option<CService> {
        *self.m_addr_local_mutex.lock()
    }

    /// Port of CNode::PongReceived (net.h).
    pub fn pong_received(&self, ping_time_micros: i64) {
        self.m_last_ping_time
            .store(ping_time_micros, Ordering::Relaxed);
        self.m_min_ping_time
            .fetch_min(ping_time_micros, Ordering::Relaxed);
    }

    /// Port of CNode::ReceiveMsgBytes (net.cpp). An error is a transport error: disconnect.
    /// The `bool` in the `Ok` tells whether at least one message was completed.
    pub fn receive_msg_bytes(
        &self,
        mut msg_bytes: &[u8],
        now_micros: i64,
    ) -> Result<bool, DisconnectReason> {
        let mut complete = false;
        let mut st = self.cs_v_recv.lock();
        self.m_last_recv
            .store(now_micros.div_euclid(1_000_000), Ordering::Relaxed);
        st.n_recv_bytes += msg_bytes.len() as u64;
        while !msg_bytes.is_empty() {
            st.transport.received_bytes(&mut msg_bytes)?;
            if st.transport.received_message_complete() {
                complete |= st.take_complete_message(now_micros);
            }
        }
        Ok(complete)
    }

    /// Not in Core: read from `sock` straight into the payload buffer of a large message being received,
    /// when there is one (the zero-copy half of CNode::ReceiveMsgBytes). `None`: no such
    /// message, use the normal path. `Some(Ok(n))` with `n > 0` bytes absorbed; whether a
    /// message completed is in the `bool`.
    pub fn receive_payload_direct<S>(
        &self,
        sock: &mut S,
        now_micros: i64,
    ) -> Option<std::io::Result<(usize, bool)>>
    where
        S: std::io::Read,
    {
        let mut st = self.cs_v_recv.lock();
        let buf = st.transport.payload_read_buffer(64 * 1024)?;
        let n = match sock.read(buf) {
            Ok(0) => return Some(Ok((0, false))),
            Ok(n) => n,
            Err(e) => return Some(Err(e)),
        };
        st.transport.commit_payload_read(n);
        self.m_last_recv
            .store(now_micros.div_euclid(1_000_000), Ordering::Relaxed);
        st.n_recv_bytes += n as u64;
        let complete =
            st.transport.received_message_complete() && st.take_complete_message(now_micros);
        Some(Ok((n, complete)))
    }

    /// Port of CNode::MarkReceivedMsgsForProcessing (net.cpp).
    pub fn mark_received_msgs_for_processing(&self) {
        let msgs: Vec<CNetMessage> = std::mem::take(&mut self.cs_v_recv.lock().v_recv_msg);
        let n_size_added: usize = msgs.iter().map(|m| m.get_memory_usage()).sum();
        let mut q = self.m_msg_process_queue_mutex.lock();
        q.queue.extend(msgs);
        q.size += n_size_added;
        self.f_pause_recv
            .store(q.size > self.m_recv_flood_size, Ordering::SeqCst);
    }

    /// Port of CNode::PollMessage (net.cpp): one message and whether more are queued.
    /// The third value tells whether this poll lifted `fPauseRecv`.
    ///
    /// A large payload whose hash was deferred by the transport (`DEFER_HASH_FROM`) is hashed
    /// here, on the message handler thread, and its checksum checked; a wrong one drops the
    /// message as Core's V1Transport::GetReceivedMessage does, and the next one is returned.
    ///
    /// A message `unread` accepts (one the peer manager drops without reading it) is returned
    /// with its hash still pending.
    pub fn poll_message(
        &self,
        unread: impl Fn(&CNetMessage) -> bool,
    ) -> Option<(CNetMessage, bool, bool)> {
        let mut unpaused_any = false;
        loop {
            let (mut msg, more, unpaused) = {
                let mut q = self.m_msg_process_queue_mutex.lock();
                let msg = q.queue.pop_front()?;
                q.size -= msg.get_memory_usage();
                let was_paused = self.f_pause_recv.load(Ordering::SeqCst);
                let pause = q.size > self.m_recv_flood_size;
                self.f_pause_recv.store(pause, Ordering::SeqCst);
                (msg, !q.queue.is_empty(), was_paused && !pause)
            };
            unpaused_any |= unpaused;
            if !msg.m_hash_pending || unread(&msg) || msg.complete_deferred_hash(self.m_hash_kind) {
                return Some((msg, more, unpaused_any));
            }
            //DMITRY: payload of DEFER_HASH_FROM (64 KiB) or more whose checksum does not match the header; Core: net.cpp::V1Transport::GetReceivedMessage; changed: checked when
            // the message handler takes the message instead of on arrival (hashing overlaps reading
            // the next message), not at all for an `announce` the peer manager drops unread (a
            // peer at its announcement cap); still dropped, the peer kept, its bytes counted
            // under *other*.
            log::debug!(target: "net",
                "Header error: Wrong checksum ({}, {} bytes), expected {} was {}, peer={}",
                crate::util::sanitize_string(&msg.m_type),
                msg.m_message_size,
                crate::util::hex_str(&msg.m_hash[..4]),
                crate::util::hex_str(&msg.m_header[20..24]),
                self.id
            );
            {
                let mut st = self.cs_v_recv.lock();
                let n = u64::from(msg.m_raw_message_size);
                if let Some(v) = st.map_recv_bytes_per_msg_type.get_mut(&*msg.m_type) {
                    *v = v.saturating_sub(n);
                }
                if let Some(v) = st
                    .map_recv_bytes_per_msg_type
                    .get_mut(NET_MESSAGE_TYPE_OTHER)
                {
                    *v += n;
                }
            }
            if !more {
                // A pause lifted by the dropped message is seen by the socket handler on its
                // next pass (at most SELECT_TIMEOUT_MILLISECONDS later).
                return None;
            }
        }
    }

    /// Not in Core: whether messages wait for the message handler.
    pub fn has_queued_messages(&self) -> bool {
        !self.m_msg_process_queue_mutex.lock().queue.is_empty()
    }

    /// Port of CNode::AccountForSentBytes (net.h).
    pub fn account_for_sent_bytes(st: &mut SendState, msg_type: &str, sent_bytes: usize) {
        match st.map_send_bytes_per_msg_type.get_mut(msg_type) {
            Some(v) => *v += sent_bytes as u64,
            None => {
                st.map_send_bytes_per_msg_type
                    .insert(msg_type.to_string(), sent_bytes as u64);
            }
        }
    }

    /// Not in Core: services the peer announced.
    pub fn their_services(&self) -> ServiceFlags {
        ServiceFlags(self.m_their_services.load(Ordering::Relaxed))
    }
}

/// Port of the `mapRecvBytesPerMsgType` update in CNode::ReceiveMsgBytes (net.cpp): count a
/// message's bytes under its type if the type has an entry, else under
/// [`NET_MESSAGE_TYPE_OTHER`] (no allocation per message).
fn account_received_bytes(map: &mut BTreeMap<String, u64>, m_type: &str, bytes: u32) {
    if let Some(v) = map.get_mut(m_type) {
        *v += u64::from(bytes);
    } else if let Some(v) = map.get_mut(NET_MESSAGE_TYPE_OTHER) {
        *v += u64::from(bytes);
    }
}
