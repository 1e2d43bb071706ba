//! The P2P part of Core's `PeerManagerImpl` (net_processing.cpp): version/verack handshake,
//! `sendaddrv2`, `ping`/`pong`, `getaddr`/`addr`/`addrv2`, unknown and ignored commands,
//! misbehaviour and discouragement, and the `logos` flood.
//!
//! Everything here runs on the "msghand" thread (Core's `g_msgproc_mutex` is implied by that:
//! only the message handler calls [`PeerManager::process_messages`] and
//! [`PeerManager::send_messages`]). Transaction and block handling is removed; their
//! message types are recognised and ignored.

use std::collections::BTreeMap;
use std::io::Read;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use parking_lot::Mutex;
use protocol::{AddrEncoding, AddrFormat, AddrSerParams, CAddress, ServiceFlags};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

use netbase::{CNetAddr, CService};

use crate::addr_relay::{
    addr_fetch_timeout, select_relay_targets, should_send_sendaddrv2, AddrOutcome, AddrPeerInfo,
    AddrRelayParams, AddrRelayPeer, RelayCandidate, ADDR_TIME_PENALTY,
};
use crate::connman::ConnmanInner;
use crate::disconnect::DisconnectReason;
use crate::local_addr::LocalPeerView;
use crate::misbehavior::{
    maybe_discourage_and_disconnect, MisbehaviorState, PunishAction, PunishFlags,
};
use crate::net_permissions::NetPermissionFlags;
use crate::node::{CNode, NodeId};
use crate::timeouts::{PingAction, PingState};
use crate::transport::SerializedNetMsg;
use crate::util::{random_u64, sanitize_string};

pub use crate::addr_relay::{MAX_ADDR_TO_SEND, MAX_PCT_ADDR_TO_SEND};
/// Core's `typeid(std::ios_base::failure).name()` as libstdc++ prints it, for log parity.
const IOS_FAILURE_TYPE_NAME: &str = "NSt8ios_base7failureB5cxx11E";

pub use protocol::message::IGNORED_MESSAGE_TYPES;

/// Upper-layer interface: the Logos node's callbacks for `logos` payloads.
pub trait UpperLayer: Send + Sync {
    /// A `logos` payload not seen before arrived. `true`: valid, relay it to all other peers;
    /// `false`: drop it.
    fn receive_message(&self, msg: &[u8]) -> bool;
    /// Whether the payload must also reach peers that connect later.
    fn is_message_important(&self, _msg: &[u8]) -> bool {
        false
    }
}

/// An upper layer that accepts every message and keeps nothing (for a bare P2P node).
#[derive(Debug, Default, Clone, Copy)]
pub struct AcceptAll;

impl UpperLayer for AcceptAll {
    fn receive_message(&self, _msg: &[u8]) -> bool {
        true
    }
}

/// Per-peer state of the P2P protocol (the P2P fields of Core's `Peer` and `CNodeState`).
#[derive(Debug)]
pub struct Peer {
    /// Core's `m_id`.
    pub m_id: NodeId,
    /// Core's `m_our_services`.
    pub m_our_services: ServiceFlags,
    /// Core's `m_their_services`.
    pub m_their_services: ServiceFlags,
    /// Core's `m_should_discourage` (misbehavior.rs).
    pub m_misbehavior: MisbehaviorState,
    /// Core's `m_ping_nonce_sent`, `m_ping_start`, `m_ping_queued` (timeouts.rs).
    pub ping: PingState,
    /// Core's `m_starting_height`.
    pub m_starting_height: i32,
    /// Core's address-relay fields of `Peer` (addr_relay.rs).
    pub addr: AddrRelayPeer,
    /// Core's `m_outbound_version_message_sent`.
    pub m_outbound_version_message_sent: bool,
    /// Whether important `logos` messages were already sent to this peer.
    pub m_important_sent: bool,
    /// Time offset the peer's version announced (seconds).
    pub m_time_offset: i64,
}

impl Peer {
    fn new(id: NodeId, our_services: ServiceFlags, now_micros: i64) -> Self {
        Peer {
            m_id: id,
            m_our_services: our_services,
            m_their_services: ServiceFlags(0),
            m_misbehavior: MisbehaviorState::new(),
            ping: PingState::new(),
            m_starting_height: -1,
            addr: AddrRelayPeer::new(now_micros),
            m_outbound_version_message_sent: false,
            m_important_sent: false,
            m_time_offset: 0,
        }
    }
}

/// Statistics of a peer kept by the peer manager (Core's `CNodeStateStats`, P2P part).
#[derive(Clone, Debug, Default)]
pub struct CNodeStateStats {
    /// Core's `m_starting_height`.
    pub m_starting_height: i32,
    /// Core's `m_ping_wait` (microseconds, 0 if no ping outstanding).
    pub m_ping_wait: i64,
    /// Core's `m_addr_processed`.
    pub m_addr_processed: u64,
    /// Core's `m_addr_rate_limited`.
    pub m_addr_rate_limited: u64,
    /// Core's `m_addr_relay_enabled`.
    pub m_addr_relay_enabled: bool,
    /// Core's `their_services`.
    pub their_services: ServiceFlags,
    /// Core's `time_offset`: the peer's clock minus ours at its `version`, seconds.
    pub time_offset: i64,
}

/// Reader over a payload that reports Core's stream errors (`DataStream`).
struct DataStream<'a> {
    data: &'a [u8],
}

impl<'a> DataStream<'a> {
    fn empty(&self) -> bool {
        self.data.is_empty()
    }
    /// Port of DataStream::ignore (streams.h).
    fn ignore(&mut self, n: usize) -> Result<(), protocol::Error> {
        if self.data.len() < n {
            self.data = &[];
            return Err(protocol::Error::IgnoreEndOfData);
        }
        self.data = &self.data[n..];
        Ok(())
    }
    fn read_array<const N: usize>(&mut self) -> Result<[u8; N], protocol::Error> {
        let mut b = [0u8; N];
        self.data
            .read_exact(&mut b)
            .map_err(|_| protocol::Error::Io(std::io::ErrorKind::UnexpectedEof))?;
        Ok(b)
    }
    fn read_i32(&mut self) -> Result<i32, protocol::Error> {
        Ok(i32::from_le_bytes(self.read_array::<4>()?))
    }
    fn read_u64(&mut self) -> Result<u64, protocol::Error> {
        Ok(u64::from_le_bytes(self.read_array::<8>()?))
    }
    fn read_i64(&mut self) -> Result<i64, protocol::Error> {
        Ok(i64::from_le_bytes(self.read_array::<8>()?))
    }
    /// A V1 (16-byte) CNetAddr followed by a big-endian port (`CNetAddr::V1(CService)`).
    fn read_service_v1(&mut self) -> Result<CService, protocol::Error> {
        let a = self.read_array::<16>()?;
        let p = self.read_array::<2>()?;
        Ok(CService::new(
            CNetAddr::from_v1_array(&a),
            u16::from_be_bytes(p),
        ))
    }
}

/// Outcome of one ProcessMessage call that the caller must act on.
type ProcessResult = Result<(), protocol::Error>;

/// The P2P message processor. Port of the P2P part of `PeerManagerImpl` (net_processing.cpp).
pub struct PeerManager {
    /// Core's `m_peer_mutex` / `m_peer_map` (a `std::map` keyed by NodeId in Core too: ordered,
    /// and no hashing on the per-message lookup).
    m_peer_mutex: Mutex<BTreeMap<NodeId, Arc<Mutex<Peer>>>>,
    /// Core's `m_rng`.
    m_rng: Mutex<ChaCha20Rng>,
}

impl Default for PeerManager {
    fn default() -> Self {
        Self::new()
    }
}

impl PeerManager {
    /// Port of PeerManager::make (net_processing.cpp): an empty peer manager.
    pub fn new() -> Self {
        PeerManager {
            m_peer_mutex: Mutex::new(BTreeMap::new()),
            m_rng: Mutex::new(ChaCha20Rng::seed_from_u64(random_u64())),
        }
    }

    fn get_peer_ref(&self, id: NodeId) -> Option<Arc<Mutex<Peer>>> {
        self.m_peer_mutex.lock().get(&id).cloned()
    }

    /// Port of PeerManagerImpl::InitializeNode (net_processing.cpp).
    pub fn initialize_node(&self, node: &CNode, our_services: ServiceFlags, now_micros: i64) {
        let peer = Arc::new(Mutex::new(Peer::new(
            node.get_id(),
            our_services,
            now_micros,
        )));
        self.m_peer_mutex.lock().insert(node.get_id(), peer);
    }

    /// Port of PeerManagerImpl::FinalizeNode (net_processing.cpp).
    pub fn finalize_node(&self, cm: &ConnmanInner, node: &CNode) {
        self.m_peer_mutex.lock().remove(&node.get_id());
        if node.f_successfully_connected.load(Ordering::SeqCst)
            && !node.is_block_only_conn()
            && !node.is_inbound_conn()
        {
            cm.addrman_connected(&node.addr.service);
        }
        log::debug!(target: "net", "Cleared nodestate for peer={}", node.get_id());
    }

    /// Port of PeerManagerImpl::GetNodeStateStats (net_processing.cpp), P2P part.
    pub fn get_node_state_stats(&self, id: NodeId, now_micros: i64) -> Option<CNodeStateStats> {
        let peer = self.get_peer_ref(id)?;
        let p = peer.lock();
        Some(CNodeStateStats {
            m_starting_height: p.m_starting_height,
            m_ping_wait: p.ping.ping_wait(now_micros).unwrap_or(0),
            m_addr_processed: p.addr.m_addr_processed,
            m_addr_rate_limited: p.addr.m_addr_rate_limited,
            m_addr_relay_enabled: p.addr.m_addr_relay_enabled,
            their_services: p.m_their_services,
            time_offset: p.m_time_offset,
        })
    }

    /// Port of PeerManagerImpl::SendPings (net_processing.cpp): queue a ping to every peer.
    pub fn send_pings(&self) {
        // Take the peers out of m_peer_mutex first: the message handler locks a peer and then
        // m_peer_mutex (RelayAddress), so holding both here in the other order could deadlock.
        let peers: Vec<Arc<Mutex<Peer>>> = self.m_peer_mutex.lock().values().cloned().collect();
        for p in peers {
            p.lock().ping.queue_ping();
        }
    }

    /// Port of PeerManagerImpl::Misbehaving (net_processing.cpp).
    pub fn misbehaving(&self, peer: &mut Peer, message: &str) {
        let line = peer.m_misbehavior.misbehaving(peer.m_id, message);
        log::debug!(target: "net", "{line}");
    }

    /// Port of PeerManagerImpl::MaybeDiscourageAndDisconnect (net_processing.cpp); the decision
    /// is misbehavior.rs's, the actions (disconnect, discourage) are taken here.
    fn maybe_discourage_and_disconnect(
        &self,
        cm: &ConnmanInner,
        node: &CNode,
        peer: &mut Peer,
    ) -> bool {
        let action = maybe_discourage_and_disconnect(
            &mut peer.m_misbehavior,
            PunishFlags {
                m_noban: node.has_permission(NetPermissionFlags::NO_BAN),
                conn_type: node.m_conn_type,
                is_local: cm.is_local_for_misbehaviour(&node.addr.service),
                m_inbound_onion: false,
            },
        );
        match action {
            PunishAction::NotMarked => false,
            PunishAction::NoPunishNoban | PunishAction::NoPunishManual => {
                //DMITRY: misbehaving noban (-whitebind/-whitelist) or manual (-addnode/-connect) peer; Core: net_processing.cpp::PeerManagerImpl::MaybeDiscourageAndDisconnect; kept: never punished, only the warning.
                if let Some(line) = action.log_text(peer.m_id) {
                    // LogPrintf in Core: no category.
                    log::info!("{line}");
                }
                false
            }
            PunishAction::DisconnectOnly { .. } => {
                //DMITRY: misbehaving peer on a local address (loopback; or none when the test switch test_loopback_not_local is on); Core: net_processing.cpp::PeerManagerImpl::MaybeDiscourageAndDisconnect; kept: disconnected, not discouraged.
                if let Some(r) = action.disconnect_reason() {
                    cm.disconnect_for(node, r);
                }
                true
            }
            PunishAction::DisconnectAndDiscourage => {
                //DMITRY: misbehaving non-local, non-manual peer; Core: net_processing.cpp::PeerManagerImpl::MaybeDiscourageAndDisconnect; kept: address discouraged in BanMan, every connection from it disconnected.
                cm.disconnect_for(node, DisconnectReason::Discouraged);
                cm.banman_discourage(&node.addr.service);
                cm.disconnect_node_by_netaddr(&node.addr.service.addr);
                true
            }
        }
    }

    /// Port of PeerManagerImpl::ProcessMessages (net_processing.cpp): process at most one
    /// message of `node`. Returns whether more work is waiting.
    pub fn process_messages(&self, cm: &ConnmanInner, node: &Arc<CNode>) -> bool {
        let Some(peer_ref) = self.get_peer_ref(node.get_id()) else {
            return false;
        };
        if !node.is_inbound_conn() && !peer_ref.lock().m_outbound_version_message_sent {
            return false;
        }
        if node.is_disconnecting() {
            return false;
        }
        if node.f_pause_send.load(Ordering::SeqCst) {
            return false;
        }
        let Some((mut msg, more, unpaused)) = node.poll_message() else {
            return false;
        };
        if unpaused {
            cm.wake_socket_handler();
        }
        let res = {
            let mut peer = peer_ref.lock();
            self.process_message(cm, node, &mut peer, &mut msg)
        };
        if let Err(e) = res {
            log::debug!(target: "net",
                "ProcessMessages({}, {} bytes): Exception '{}' ({}) caught",
                sanitize_string(&msg.m_type),
                msg.m_message_size,
                e.core_what(),
                IOS_FAILURE_TYPE_NAME
            );
        }
        if cm.flag_interrupt_msg_proc() {
            return false;
        }
        more
    }

    /// Port of PeerManagerImpl::PushNodeVersion (net_processing.cpp).
    fn push_node_version(&self, cm: &ConnmanInner, node: &CNode, peer: &Peer) {
        let my_services = peer.m_our_services;
        let n_time = cm.now_secs();
        let nonce = node.n_local_host_nonce;
        let n_node_starting_height: i32 = 0;
        let addr = &node.addr;
        let addr_you =
            if addr.service.addr.is_routable() && addr.service.addr.is_addr_v1_compatible() {
                addr.service
            } else {
                CService::default()
            };
        let your_services = addr.n_services;
        let tx_relay = cm.relay_flag();
        let mut p: Vec<u8> = Vec::with_capacity(128);
        p.extend_from_slice(&protocol::version::PROTOCOL_VERSION.to_le_bytes());
        p.extend_from_slice(&my_services.0.to_le_bytes());
        p.extend_from_slice(&n_time.to_le_bytes());
        p.extend_from_slice(&your_services.0.to_le_bytes());
        p.extend_from_slice(&addr_you.addr.serialize_v1_array());
        p.extend_from_slice(&addr_you.port.to_be_bytes());
        p.extend_from_slice(&my_services.0.to_le_bytes());
        p.extend_from_slice(&CService::default().addr.serialize_v1_array());
        p.extend_from_slice(&0u16.to_be_bytes());
        p.extend_from_slice(&nonce.to_le_bytes());
        let ua = cm.user_agent();
        let _ = protocol::encode::write_compact_size(&mut p, ua.len() as u64);
        p.extend_from_slice(ua.as_bytes());
        p.extend_from_slice(&n_node_starting_height.to_le_bytes());
        p.push(u8::from(tx_relay));
        //DMITRY: our version message; Core: net_processing.cpp::PeerManagerImpl::PushNodeVersion; changed: honest services (no NODE_NETWORK/NODE_WITNESS; NODE_LOGOS on Logos networks), start height 0, relay flag only on Logos networks.
        cm.push_message(node, SerializedNetMsg::new("version", p));
        if cm.log_ips() {
            log::debug!(target: "net",
                "send version message: version {}, blocks={}, them={}, txrelay={}, peer={}",
                protocol::version::PROTOCOL_VERSION,
                n_node_starting_height,
                addr_you.to_string_addr_port(),
                u8::from(tx_relay),
                node.get_id()
            );
        } else {
            log::debug!(target: "net",
                "send version message: version {}, blocks={}, txrelay={}, peer={}",
                protocol::version::PROTOCOL_VERSION,
                n_node_starting_height,
                u8::from(tx_relay),
                node.get_id()
            );
        }
    }

    /// Port of PeerManagerImpl::ProcessMessage (net_processing.cpp), P2P part.
    fn process_message(
        &self,
        cm: &ConnmanInner,
        node: &Arc<CNode>,
        peer: &mut Peer,
        msg: &mut crate::transport::CNetMessage,
    ) -> ProcessResult {
        // A known type is a borrowed `&'static str`: this clone allocates nothing.
        let m_type = msg.m_type.clone();
        let msg_type: &str = &m_type;
        log::debug!(target: "net", "received: {} ({} bytes) peer={}", sanitize_string(msg_type), msg.m_recv.len(), node.get_id());
        let mut v_recv = DataStream { data: &msg.m_recv };

        if msg_type == "version" {
            return self.process_version(cm, node, peer, &mut v_recv);
        }

        if node.n_version.load(Ordering::SeqCst) == 0 {
            //DMITRY: peer sends another message before version; Core: net_processing.cpp::PeerManagerImpl::ProcessMessage; kept: logged and ignored, the handshake timeout drops the peer later.
            log::debug!(target: "net",
                "non-version message before version handshake. Message \"{}\" from peer={}",
                sanitize_string(msg_type),
                node.get_id()
            );
            return Ok(());
        }

        if msg_type == "verack" {
            if node.f_successfully_connected.load(Ordering::SeqCst) {
                log::debug!(target: "net", "ignoring redundant verack message from peer={}", node.get_id());
                return Ok(());
            }
            if !node.is_inbound_conn() || log::log_enabled!(target: "net", log::Level::Debug) {
                log::info!(
                    "New {} v1 peer connected: version: {}, blocks={}, peer={}{}",
                    node.connection_type_as_string(),
                    node.n_version.load(Ordering::SeqCst),
                    peer.m_starting_height,
                    node.get_id(),
                    node.log_ip(cm.log_ips())
                );
            }
            //DMITRY: after verack Core sends sendcmpct (and feefilter); Core: net_processing.cpp::PeerManagerImpl::ProcessMessage; removed: no block or transaction relay here.
            node.f_successfully_connected.store(true, Ordering::SeqCst);
            cm.send_important_messages(node, peer);
            return Ok(());
        }

        if msg_type == "sendaddrv2" {
            if let Err(reason) = peer
                .addr
                .process_sendaddrv2(node.f_successfully_connected.load(Ordering::SeqCst))
            {
                //DMITRY: peer sends sendaddrv2 after verack; Core: net_processing.cpp::PeerManagerImpl::ProcessMessage; kept: disconnect (BIP155 negotiation must happen before verack).
                cm.disconnect_for(node, reason);
            }
            return Ok(());
        }

        if msg_type == "wtxidrelay" || msg_type == "sendtxrcncl" {
            //DMITRY: wtxidrelay/sendtxrcncl (and their after-verack disconnects); Core: net_processing.cpp::PeerManagerImpl::ProcessMessage; removed: transaction relay is not ported, the messages are ignored.
            return Ok(());
        }

        if !node.f_successfully_connected.load(Ordering::SeqCst) {
            log::debug!(target: "net",
                "Unsupported message \"{}\" prior to verack from peer={}",
                sanitize_string(msg_type),
                node.get_id()
            );
            return Ok(());
        }

        if msg_type == "addr" || msg_type == "addrv2" {
            return self.process_addr(cm, node, peer, msg_type, &mut v_recv);
        }

        if msg_type == "getaddr" {
            let info = addr_peer_info(node);
            let mut rng = self.m_rng.lock();
            peer.addr.process_getaddr(
                &info,
                || {
                    // A peer with the `addr` permission gets fresh addresses, not the cached
                    // answer (Core: GetAddresses without the requestor).
                    if node.has_permission(NetPermissionFlags::ADDR) {
                        cm.get_addresses(MAX_ADDR_TO_SEND, MAX_PCT_ADDR_TO_SEND)
                    } else {
                        cm.get_addresses_for(node, MAX_ADDR_TO_SEND, MAX_PCT_ADDR_TO_SEND)
                    }
                },
                &mut *rng,
            );
            return Ok(());
        }

        if msg_type == "ping" {
            if node.get_common_version() > protocol::version::BIP0031_VERSION {
                let nonce = v_recv.read_u64()?;
                cm.push_message(
                    node,
                    SerializedNetMsg::new("pong", nonce.to_le_bytes().to_vec()),
                );
            }
            return Ok(());
        }

        if msg_type == "pong" {
            self.process_pong(node, peer, msg);
            return Ok(());
        }

        if msg_type == "logos" {
            cm.process_logos(node, msg);
            return Ok(());
        }

        if IGNORED_MESSAGE_TYPES.contains(&msg_type) {
            //DMITRY: block/transaction messages (inv, tx, headers, ... and their misbehaviour cases such as oversized inv); Core: net_processing.cpp::PeerManagerImpl::ProcessMessage; removed: no chain or mempool, the message is ignored.
            return Ok(());
        }

        log::debug!(target: "net", "Unknown command \"{}\" from peer={}", sanitize_string(msg_type), node.get_id());
        Ok(())
    }

    /// The `version` branch of PeerManagerImpl::ProcessMessage (net_processing.cpp).
    fn process_version(
        &self,
        cm: &ConnmanInner,
        node: &Arc<CNode>,
        peer: &mut Peer,
        v_recv: &mut DataStream<'_>,
    ) -> ProcessResult {
        if node.n_version.load(Ordering::SeqCst) != 0 {
            log::debug!(target: "net", "redundant version message from peer={}", node.get_id());
            return Ok(());
        }
        let n_version = v_recv.read_i32()?;
        let n_services = ServiceFlags(v_recv.read_u64()?);
        let mut n_time = v_recv.read_i64()?;
        if n_time < 0 {
            n_time = 0;
        }
        v_recv.ignore(8)?;
        let addr_me = v_recv.read_service_v1()?;
        if !node.is_inbound_conn() {
            cm.addrman_set_services(&node.addr.service, n_services);
        }
        if node.expect_services_from_conn() && !cm.has_all_desirable_service_flags(n_services) {
            //DMITRY: outbound full-relay/addr-fetch peer lacks the network's desirable services; Core: net_processing.cpp::PeerManagerImpl::ProcessMessage; kept: disconnect (desirable set from NetworkParams: NODE_LOGOS on Logos networks).
            cm.disconnect_for(
                node,
                DisconnectReason::MissingExpectedServices {
                    offered: n_services.0,
                    expected: cm.get_desirable_service_flags(n_services).0,
                },
            );
            return Ok(());
        }
        if n_version < protocol::version::MIN_PEER_PROTO_VERSION {
            //DMITRY: peer's version is below MIN_PEER_PROTO_VERSION (31800); Core: net_processing.cpp::PeerManagerImpl::ProcessMessage; kept: disconnect at once.
            cm.disconnect_for(
                node,
                DisconnectReason::ObsoleteVersion { version: n_version },
            );
            return Ok(());
        }
        let mut n_nonce: u64 = 1;
        let mut clean_sub_ver = String::new();
        let mut starting_height: i32 = -1;
        let mut f_relay = true;
        if !v_recv.empty() {
            v_recv.ignore(26)?;
            n_nonce = v_recv.read_u64()?;
        }
        if !v_recv.empty() {
            let s = protocol::encode::read_limited_string(
                &mut v_recv.data,
                protocol::version::MAX_SUBVERSION_LENGTH,
            )?;
            clean_sub_ver = sanitize_string(&s);
        }
        if !v_recv.empty() {
            starting_height = v_recv.read_i32()?;
        }
        if !v_recv.empty() {
            f_relay = v_recv.read_array::<1>()?[0] != 0;
        }
        if node.is_inbound_conn() && !cm.check_incoming_nonce(n_nonce) {
            //DMITRY: inbound version carries the nonce of one of our own outbound connections (we dialled ourselves); Core: net_processing.cpp::PeerManagerImpl::ProcessMessage; kept: disconnect.
            cm.disconnect_for(
                node,
                DisconnectReason::ConnectedToSelf {
                    addr: node.addr.service.to_string_addr_port(),
                },
            );
            return Ok(());
        }
        if node.is_inbound_conn() && addr_me.addr.is_routable() {
            cm.local_host().seen_local(&addr_me);
        }
        if node.is_inbound_conn() {
            self.push_node_version(cm, node, peer);
        }
        let greatest_common_version = n_version.min(protocol::version::PROTOCOL_VERSION);
        node.m_greatest_common_version
            .store(greatest_common_version, Ordering::SeqCst);
        node.n_version.store(n_version, Ordering::SeqCst);
        //DMITRY: Core sends wtxidrelay here; Core: net_processing.cpp::PeerManagerImpl::ProcessMessage; removed: no transaction relay.
        if should_send_sendaddrv2(greatest_common_version) {
            cm.push_message(node, SerializedNetMsg::new("sendaddrv2", Vec::new()));
        }
        node.m_has_all_wanted_services.store(
            cm.has_all_desirable_service_flags(n_services),
            Ordering::SeqCst,
        );
        peer.m_their_services = n_services;
        node.m_their_services.store(n_services.0, Ordering::SeqCst);
        node.set_addr_local(addr_me);
        *node.m_subver_mutex.lock() = clean_sub_ver.clone();
        peer.m_starting_height = starting_height;
        if !node.is_block_only_conn() && !node.is_feeler_conn() && f_relay {
            node.m_relays_txs.store(true, Ordering::SeqCst);
        }
        cm.push_message(node, SerializedNetMsg::new("verack", Vec::new()));

        let send_getaddr = {
            let mut rng = self.m_rng.lock();
            peer.addr.on_version_outbound(node.m_conn_type, &mut *rng)
        };
        if send_getaddr {
            cm.push_message(node, SerializedNetMsg::new("getaddr", Vec::new()));
        }
        if !node.is_inbound_conn() {
            cm.addrman_good(&node.addr.service);
        }
        log::debug!(target: "net",
            "receive version message: {}: version {}, blocks={}, us={}, txrelay={}, peer={}{}",
            clean_sub_ver,
            n_version,
            starting_height,
            addr_me.to_string_addr_port(),
            u8::from(f_relay),
            node.get_id(),
            node.log_ip(cm.log_ips())
        );
        peer.m_time_offset = n_time - cm.now_secs();
        if node.is_feeler_conn() {
            //DMITRY: feeler connection finished its handshake; Core: net_processing.cpp::PeerManagerImpl::ProcessMessage; kept: disconnect (feelers only test reachability).
            cm.disconnect_for(node, DisconnectReason::FeelerConnectionCompleted);
        }
        Ok(())
    }

    /// The `addr`/`addrv2` branch of PeerManagerImpl::ProcessMessage (net_processing.cpp).
    fn process_addr(
        &self,
        cm: &ConnmanInner,
        node: &Arc<CNode>,
        peer: &mut Peer,
        msg_type: &str,
        v_recv: &mut DataStream<'_>,
    ) -> ProcessResult {
        let enc = if msg_type == "addrv2" {
            AddrEncoding::V2
        } else {
            AddrEncoding::V1
        };
        let params = AddrSerParams {
            fmt: AddrFormat::Network,
            enc,
        };
        let v_addr: Vec<CAddress> =
            protocol::encode::read_vec(&mut v_recv.data, |r| CAddress::decode_with(r, params))?;
        let info = addr_peer_info(node);
        let is_banned_or_discouraged = |a: &CNetAddr| cm.banman_is_discouraged_or_banned_addr(a);
        let ctx = AddrRelayParams {
            params: cm.params(),
            reachable: cm.reachable(),
            is_banned_or_discouraged: &is_banned_or_discouraged,
        };
        let outcome = {
            let mut rng = self.m_rng.lock();
            peer.addr
                .process_addr(&info, msg_type, v_addr, &ctx, cm.now_micros(), &mut *rng)
        };
        match outcome {
            AddrOutcome::Ignored => {}
            AddrOutcome::Oversized { message } => {
                //DMITRY: addr/addrv2 with more than MAX_ADDR_TO_SEND (1000) entries; Core: net_processing.cpp::PeerManagerImpl::ProcessMessage; kept: Misbehaving, then MaybeDiscourageAndDisconnect on the same message-handler pass.
                self.misbehaving(peer, &message);
            }
            AddrOutcome::Processed(out) => {
                for (addr, reachable) in &out.relay {
                    self.relay_address(cm, node.get_id(), addr, *reachable, peer);
                }
                cm.addrman_add(&out.to_add, &node.addr.service.addr, ADDR_TIME_PENALTY);
                if let Some(reason) = out.disconnect {
                    //DMITRY: addr-fetch connection got its addresses; Core: net_processing.cpp::PeerManagerImpl::ProcessMessage; kept: disconnect.
                    cm.disconnect_for(node, reason);
                }
            }
        }
        Ok(())
    }

    /// Port of PeerManagerImpl::RelayAddress (net_processing.cpp): the targets are chosen by
    /// addr_relay.rs; `self_peer` is the sender's state, already locked by the caller.
    fn relay_address(
        &self,
        cm: &ConnmanInner,
        originator: NodeId,
        addr: &CAddress,
        reachable: bool,
        self_peer: &mut Peer,
    ) {
        let peers: Vec<(NodeId, Arc<Mutex<Peer>>)> = self
            .m_peer_mutex
            .lock()
            .iter()
            .map(|(k, v)| (*k, v.clone()))
            .collect();
        let candidates: Vec<RelayCandidate> = peers
            .iter()
            .map(|(id, p)| {
                if *id == self_peer.m_id {
                    RelayCandidate::of(*id, &self_peer.addr)
                } else {
                    RelayCandidate::of(*id, &p.lock().addr)
                }
            })
            .collect();
        let targets = select_relay_targets(
            cm.randomizer_seeds(),
            originator,
            addr,
            reachable,
            cm.now_secs(),
            candidates,
        );
        let mut rng = self.m_rng.lock();
        for id in targets {
            if id == self_peer.m_id {
                self_peer.addr.push_address(addr, &mut *rng);
            } else if let Some((_, p)) = peers.iter().find(|(i, _)| *i == id) {
                p.lock().addr.push_address(addr, &mut *rng);
            }
        }
    }

    /// The `pong` branch of PeerManagerImpl::ProcessMessage (net_processing.cpp).
    fn process_pong(&self, node: &CNode, peer: &mut Peer, msg: &crate::transport::CNetMessage) {
        let outcome = peer.ping.received_pong(&msg.m_recv, msg.m_time);
        if let Some(t) = outcome.ping_time {
            node.pong_received(t);
        }
        if let Some(line) = outcome.log_text(node.get_id()) {
            log::debug!(target: "net", "{line}");
        }
    }

    /// Port of PeerManagerImpl::MaybeSendPing (net_processing.cpp).
    fn maybe_send_ping(&self, cm: &ConnmanInner, node: &CNode, peer: &mut Peer, now: i64) {
        let action = {
            let mut rng = self.m_rng.lock();
            peer.ping.maybe_send_ping(
                now,
                node.m_connected,
                cm.options().peer_timeout,
                node.get_common_version(),
                &mut *rng,
            )
        };
        match action {
            PingAction::None => {}
            PingAction::SendPing(Some(nonce)) => {
                cm.push_message(
                    node,
                    SerializedNetMsg::new("ping", nonce.to_le_bytes().to_vec()),
                );
            }
            PingAction::SendPing(None) => {
                cm.push_message(node, SerializedNetMsg::new("ping", Vec::new()));
            }
            PingAction::Disconnect(reason) => {
                //DMITRY: no pong within TIMEOUT_INTERVAL (20 min) of our ping; Core: net_processing.cpp::PeerManagerImpl::MaybeSendPing; kept: disconnect.
                cm.disconnect_for(node, reason);
            }
        }
    }

    /// Port of PeerManagerImpl::MaybeSendAddr (net_processing.cpp): the decision is
    /// addr_relay.rs's (with the local address from local_addr.rs), the sending is here.
    fn maybe_send_addr(&self, cm: &ConnmanInner, node: &CNode, peer: &mut Peer, current_time: i64) {
        let view = LocalPeerView {
            addr: node.addr.service.addr,
            connected_through: node.addr.service.addr.get_net_class(),
            addr_local: node.get_addr_local().unwrap_or_default(),
            is_inbound: node.is_inbound_conn(),
        };
        let msg = {
            let mut rng = self.m_rng.lock();
            peer.addr.maybe_send_addr_with_local(
                current_time,
                peer.m_our_services,
                cm.local_host(),
                &view,
                cm.reachable(),
                node.get_id(),
                &mut *rng,
            )
        };
        let Some(msg) = msg else {
            return;
        };
        let enc = if msg.v2 {
            AddrEncoding::V2
        } else {
            AddrEncoding::V1
        };
        let params = AddrSerParams {
            fmt: AddrFormat::Network,
            enc,
        };
        let mut payload = Vec::new();
        let _ =
            protocol::encode::write_vec(&mut payload, &msg.addrs, |a, w| a.encode_with(w, params));
        cm.push_message(node, SerializedNetMsg::new(msg.command(), payload));
    }

    /// Port of PeerManagerImpl::SendMessages (net_processing.cpp), P2P part.
    pub fn send_messages(&self, cm: &ConnmanInner, node: &Arc<CNode>) -> bool {
        let Some(peer_ref) = self.get_peer_ref(node.get_id()) else {
            return false;
        };
        let mut peer = peer_ref.lock();
        if self.maybe_discourage_and_disconnect(cm, node, &mut peer) {
            return true;
        }
        if !node.is_inbound_conn() && !peer.m_outbound_version_message_sent {
            self.push_node_version(cm, node, &peer);
            peer.m_outbound_version_message_sent = true;
        }
        if !node.f_successfully_connected.load(Ordering::SeqCst) || node.is_disconnecting() {
            return true;
        }
        let current_time = cm.now_micros();
        if let Some(reason) =
            addr_fetch_timeout(node.m_conn_type, node.m_connected * 1_000_000, current_time)
        {
            //DMITRY: addr-fetch connection open longer than 10 x AVG_ADDRESS_BROADCAST_INTERVAL; Core: net_processing.cpp::PeerManagerImpl::SendMessages; kept: disconnect.
            cm.disconnect_for(node, reason);
            return true;
        }
        self.maybe_send_ping(cm, node, &mut peer, current_time);
        if node.is_disconnecting() {
            return true;
        }
        self.maybe_send_addr(cm, node, &mut peer, current_time);
        true
    }
}

/// The facts addr_relay.rs reads from a node.
fn addr_peer_info(node: &CNode) -> AddrPeerInfo {
    AddrPeerInfo {
        id: node.get_id(),
        conn_type: node.m_conn_type,
        has_addr_permission: node.has_permission(NetPermissionFlags::ADDR),
    }
}
