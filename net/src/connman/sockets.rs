//! The "net" thread: Core's `ThreadSocketHandler`, `SocketHandler`, `SocketHandlerConnected`,
//! `DisconnectNodes`, `AcceptConnection` and `CreateNodeFromAcceptedSocket` (net.cpp).
//!
//! Core waits at most 50 ms in `select`/`poll` and then visits every node. Here the thread
//! visits only the connections that need it: those mio reports ready, those another thread
//! queued data for or unpaused ([`ConnmanInner::wake_socket_for`]), and those it could not
//! finish last pass. The inactivity checks (`InactivityCheck`, whole seconds) run over every
//! node once per clock second, and the thread sleeps until the next second or the next event:
//! an idle node costs nothing between its timeouts.

use std::io::{self, Read};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use mio::{Events, Interest, Poll, Token};
use netbase::CService;
use protocol::{CAddress, ServiceFlags};

use crate::admission::{inbound_admission, Admission, InboundFacts};
use crate::connection_type::ConnectionType;
use crate::disconnect::DisconnectReason;
use crate::net_permissions::{add_whitelist_permission_flags, has_flag, NetPermissionFlags};
use crate::node::{CNode, CNodeInit};
use crate::timeouts::NodeActivity;

use super::{ConnmanInner, ListenSocket, NODE_TOKEN_BASE, WAKER_TOKEN};

/// Bytes read from one socket per call (Core: a 64 KiB stack buffer).
const RECV_CHUNK: usize = 0x10000;
/// Reads per node per socket-handler pass before moving on to the next node: one, as Core's
/// `SocketHandlerConnected` makes one `recv` of at most 64 KiB per node per pass. A node with
/// more to read is carried to the next pass, which then does not wait, so a pass stays short
/// however many peers flood. Sixteen reads per pass (before) gave no more throughput, and behind
/// sixteen flooders an honest peer's message waited 20-25 ms (median, test build) instead of 2.
const MAX_READS_PER_PASS: usize = 1;
/// Longest sleep of the socket handler without an event (the inactivity checks are in whole
/// seconds).
const MAX_IDLE_WAIT: Duration = Duration::from_secs(1);
/// Connections taken from one listening socket per pass, as Core's `AcceptConnection` takes one
/// per `SocketHandler` pass; a listener with more waiting is served again on the next pass,
/// which then does not wait. Draining the accept queue in one pass let a storm of connections
/// (each accepted, and an inbound peer evicted for it) hold off every connected peer's reads
/// for as long as the storm kept the queue full.
const MAX_ACCEPTS_PER_PASS: usize = 1;

impl ConnmanInner {
    /// Port of CConnman::ThreadSocketHandler (net.cpp): the "net" thread.
    pub fn thread_socket_handler(&self, mut poll: Poll, listeners: Vec<ListenSocket>) {
        let mut events = Events::with_capacity(1024);
        // Core's 64 KiB receive buffer, allocated once for the thread (not per pass).
        let mut recv_buf = vec![0u8; RECV_CHUNK];
        let mut carry: Vec<Arc<CNode>> = Vec::new();
        let mut ready: Vec<Arc<CNode>> = Vec::new();
        let mut last_sweep = i64::MIN;
        // Listeners that may have more connections waiting (the bound stopped the last pass).
        let mut listen_more = vec![false; listeners.len()];
        while !self.interrupt_net.is_set() {
            self.disconnect_nodes();
            let timeout = if carry.is_empty() && !listen_more.contains(&true) {
                // Until the next whole second of the clock (the next inactivity sweep).
                let now = self.now_micros();
                let to_next = 1_000_000 - now.rem_euclid(1_000_000);
                Duration::from_micros(to_next.unsigned_abs()).min(MAX_IDLE_WAIT)
            } else {
                Duration::ZERO
            };
            if let Err(e) = poll.poll(&mut events, Some(timeout)) {
                if e.kind() != io::ErrorKind::Interrupted {
                    log::warn!(target: "net", "poll failed: {}", e);
                }
            }
            self.wake_pending.store(false, Ordering::SeqCst);
            let mut listen_ready = vec![false; listeners.len()];
            self.socket_events(&events, &listeners, &mut listen_ready, &mut ready);
            ready.append(&mut carry);
            ready.append(&mut self.m_socket_work.lock());
            self.socket_handler_connected(&mut ready, &mut carry, &mut recv_buf);
            let now_secs = self.now_secs();
            if now_secs != last_sweep {
                last_sweep = now_secs;
                self.inactivity_sweep();
            }
            for (i, l) in listeners.iter().enumerate() {
                if self.interrupt_net.is_set() {
                    return;
                }
                if listen_ready[i] || listen_more[i] {
                    listen_more[i] = self.accept_connections(l);
                }
            }
        }
    }

    /// The readiness half of Port of CConnman::SocketHandler (net.cpp): record what mio
    /// reported on each socket and collect the nodes to serve.
    fn socket_events(
        &self,
        events: &Events,
        listeners: &[ListenSocket],
        listen_ready: &mut [bool],
        ready: &mut Vec<Arc<CNode>>,
    ) {
        let l = self.m_nodes_mutex.lock();
        for ev in events.iter() {
            let t = ev.token();
            if t == WAKER_TOKEN {
                continue;
            }
            if t.0 < listeners.len() {
                listen_ready[t.0] = true;
                continue;
            }
            let id = (t.0 - NODE_TOKEN_BASE) as i64;
            let Some(n) = l.get(id) else {
                continue;
            };
            if ev.is_readable() || ev.is_read_closed() || ev.is_error() {
                n.readable.store(true, Ordering::Relaxed);
            }
            if ev.is_writable() || ev.is_write_closed() || ev.is_error() {
                n.cs_v_send.lock().writable = true;
            }
            if !n.m_in_socket_work.swap(true, Ordering::SeqCst) {
                ready.push(Arc::clone(n));
            }
        }
    }

    /// Port of CConnman::SocketHandlerConnected (net.cpp) for the nodes that need it: send what
    /// is queued, then read. A node not finished (read budget used, or data left on a writable
    /// socket) goes to `carry` for the next pass, which then does not wait.
    fn socket_handler_connected(
        &self,
        ready: &mut Vec<Arc<CNode>>,
        carry: &mut Vec<Arc<CNode>>,
        buf: &mut [u8],
    ) {
        for node in ready.drain(..) {
            if self.interrupt_net.is_set() {
                return;
            }
            node.m_in_socket_work.store(false, Ordering::SeqCst);
            if node.m_sock_mutex.lock().is_none() {
                continue;
            }
            let mut recv_set =
                node.readable.load(Ordering::Relaxed) && !node.f_pause_recv.load(Ordering::SeqCst);
            let mut data_left = false;
            {
                let mut st = node.cs_v_send.lock();
                let has_data = !st.v_send_msg.is_empty()
                    || !st.transport.get_bytes_to_send(false).0.is_empty();
                if st.writable && has_data {
                    let was_paused = node.f_pause_send.load(Ordering::SeqCst);
                    let (bytes_sent, left) = self.socket_send_data(&node, &mut st);
                    let writable = st.writable;
                    drop(st);
                    data_left = left && writable;
                    if bytes_sent > 0 {
                        self.record_bytes_sent(bytes_sent as u64);
                        if left {
                            recv_set = false;
                        }
                    }
                    if was_paused && !node.f_pause_send.load(Ordering::SeqCst) {
                        // fPauseSend lifted: the message handler may process this peer again.
                        self.queue_msg_work(&node);
                        self.wake_message_handler();
                    }
                }
            }
            let more_to_read = recv_set && self.receive_from_node(&node, buf);
            if (data_left || more_to_read)
                && !node.is_disconnecting()
                && !node.m_in_socket_work.swap(true, Ordering::SeqCst)
            {
                carry.push(node);
            }
        }
    }

    /// The inactivity part of CConnman::SocketHandlerConnected (net.cpp), over every node.
    fn inactivity_sweep(&self) {
        for node in self.nodes_snapshot() {
            if node.is_disconnecting() {
                continue;
            }
            if let Some(reason) = self.inactivity_check(&node) {
                //DMITRY: InactivityCheck fired (reasons in inactivity_check); Core: net.cpp::CConnman::SocketHandlerConnected; kept: fDisconnect is
                // set (here at the first socket-handler pass of each clock second, the checks being
                // in whole seconds).
                self.disconnect_for(&node, reason);
            }
        }
    }

    /// Port of CConnman::ShouldRunInactivityChecks (net.cpp).
    pub fn should_run_inactivity_checks(&self, node: &CNode, now_secs: i64) -> bool {
        crate::timeouts::should_run_inactivity_checks(
            node.m_connected,
            self.opts.peer_timeout,
            now_secs,
        )
    }

    /// Port of CConnman::InactivityCheck (net.cpp): the reason to drop `node`, if any (the
    /// decision is timeouts.rs's; the caller logs it).
    pub fn inactivity_check(&self, node: &CNode) -> Option<DisconnectReason> {
        let activity = NodeActivity {
            m_connected: node.m_connected,
            m_last_send: node.m_last_send.load(Ordering::Relaxed),
            m_last_recv: node.m_last_recv.load(Ordering::Relaxed),
            f_successfully_connected: node.f_successfully_connected.load(Ordering::SeqCst),
        };
        //DMITRY: inactivity (no first message within -peertimeout, 20-min send/receive silence, handshake timeout); Core: net.cpp::CConnman::InactivityCheck; kept: decided by
        // timeouts.rs::inactivity_check.
        crate::timeouts::inactivity_check(&activity, self.opts.peer_timeout, self.now_secs())
    }

    /// The receive half of SocketHandlerConnected (net.cpp): read until `WouldBlock`, a
    /// pause, or the per-pass bound. Returns true when the bound stopped it (more to read).
    fn receive_from_node(&self, node: &Arc<CNode>, buf: &mut [u8]) -> bool {
        for _ in 0..MAX_READS_PER_PASS {
            let res = {
                let mut sock = node.m_sock_mutex.lock();
                let Some(s) = sock.as_mut() else {
                    return false;
                };
                match node.receive_payload_direct(s, self.now_micros()) {
                    Some(Ok((n, complete))) if n > 0 => {
                        drop(sock);
                        self.record_bytes_recv(n as u64);
                        if complete {
                            node.mark_received_msgs_for_processing();
                            self.queue_msg_work(node);
                            self.wake_message_handler();
                            if node.f_pause_recv.load(Ordering::SeqCst) {
                                return false;
                            }
                        }
                        continue;
                    }
                    Some(Ok(_)) => Ok(0),
                    Some(Err(e)) => Err(e),
                    None => s.read(buf),
                }
            };
            match res {
                Ok(0) => {
                    if !node.is_disconnecting() {
                        //DMITRY: peer closed the TCP connection; Core: net.cpp::CConnman::SocketHandlerConnected; kept: nothing more
                        // can be read.
                        self.disconnect_for(node, DisconnectReason::SocketClosed);
                    }
                    drop(node.close_socket_disconnect(self.log_ips()));
                    return false;
                }
                Ok(n) => {
                    let r = node.receive_msg_bytes(&buf[..n], self.now_micros());
                    self.record_bytes_recv(n as u64);
                    match r {
                        Err(header_reason) => {
                            //DMITRY: transport error (wrong message start, oversize header); Core: net.cpp::CConnman::SocketHandlerConnected; kept: disconnect at
                            // once.
                            let peeraddr = node.addr.service.to_string_addr_port();
                            DisconnectReason::ReceiveMsgBytesFailed
                                .log(node.get_id(), self.log_ips().then_some(peeraddr.as_str()));
                            self.mark_disconnect(node, header_reason);
                            drop(node.close_socket_disconnect(self.log_ips()));
                            return false;
                        }
                        Ok(notify) => {
                            if notify {
                                node.mark_received_msgs_for_processing();
                                self.queue_msg_work(node);
                                self.wake_message_handler();
                            }
                        }
                    }
                    if node.f_pause_recv.load(Ordering::SeqCst) {
                        return false;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    node.readable.store(false, Ordering::Relaxed);
                    return false;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    if !node.is_disconnecting() {
                        //DMITRY: recv() fails with a real error (e.g. connection reset); Core: net.cpp::CConnman::SocketHandlerConnected; kept: the socket
                        // is unusable.
                        self.disconnect_for(
                            node,
                            DisconnectReason::SocketRecvError {
                                error: e.to_string(),
                            },
                        );
                    }
                    drop(node.close_socket_disconnect(self.log_ips()));
                    return false;
                }
            }
        }
        true
    }

    /// Port of CConnman::DisconnectNodes (net.cpp): drop the nodes marked for disconnection
    /// from the list (closing their sockets), and finalize those no thread still holds.
    fn disconnect_nodes(&self) {
        let network_active = self.f_network_active.load(Ordering::SeqCst);
        if !network_active {
            for n in self.nodes_snapshot() {
                if !n.is_disconnecting() {
                    //DMITRY: network switched off (setnetworkactive false); Core: net.cpp::CConnman::DisconnectNodes; kept: every peer
                    // disconnected.
                    self.disconnect_for(&n, DisconnectReason::NetworkNotActive);
                }
            }
        }
        if self.m_disconnect_pending.swap(false, Ordering::SeqCst) || !network_active {
            let gone = self.m_nodes_mutex.lock().take_disconnecting();
            for n in gone {
                n.grant_outbound.lock().take();
                drop(n.close_socket_disconnect(self.log_ips()));
                self.m_nodes_disconnected.lock().push(n);
            }
        }
        let finalize: Vec<Arc<CNode>> = {
            let mut disc = self.m_nodes_disconnected.lock();
            if disc.is_empty() {
                return;
            }
            let mut out = Vec::new();
            let mut i = 0;
            while i < disc.len() {
                if Arc::strong_count(&disc[i]) <= 1 {
                    out.push(disc.swap_remove(i));
                } else {
                    i += 1;
                }
            }
            out
        };
        if finalize.is_empty() {
            return;
        }
        let now = self.now_micros();
        let mut pm = self.pm();
        for n in &finalize {
            pm.finalize_node(n.get_id(), now);
        }
    }

    /// Port of CConnman::CreateNodeFromAcceptedSocket (net.cpp).
    fn create_node_from_accepted_socket(
        &self,
        sock: mio::net::TcpStream,
        mut permission_flags: NetPermissionFlags,
        addr_bind: CService,
        addr: CService,
    ) {
        add_whitelist_permission_flags(
            &mut permission_flags,
            &addr.addr,
            &self.opts.whitelisted_range_incoming,
            self.opts.whitelist_relay,
            self.opts.whitelist_forcerelay,
        );
        let noban = has_flag(permission_flags, NetPermissionFlags::NO_BAN);
        let banned = self
            .m_banman
            .as_ref()
            .is_some_and(|b| b.is_banned(&addr.addr));
        let discouraged = self
            .m_banman
            .as_ref()
            .is_some_and(|b| b.is_discouraged(&addr.addr));
        let facts = InboundFacts {
            network_active: self.f_network_active.load(Ordering::SeqCst),
            noban,
            banned,
            discouraged,
            n_inbound: self.get_node_count().0 as i32,
            max_inbound: self.m_max_inbound,
        };
        match inbound_admission(&facts, &addr.to_string_addr_port()) {
            Admission::Admit => {}
            Admission::EvictFirst => {
                if !self.attempt_to_evict_connection() {
                    //DMITRY: inbound slots full (-maxconnections) and no eviction candidate;
                    // Core: net.cpp::CConnman::CreateNodeFromAcceptedSocket; kept: the new
                    // connection is refused.
                    self.record_refusal(&addr, DisconnectReason::InboundFull);
                    return;
                }
            }
            Admission::Refuse(reason) => {
                self.record_refusal(&addr, reason);
                return;
            }
        }
        if sock.set_nodelay(true).is_err() {
            log::debug!(target: "net", "connection from {}: unable to set TCP_NODELAY, continuing anyway", addr.to_string_addr_port());
        }
        let id = self.get_new_node_id();
        let nonce = self.local_host_nonce(id);
        let node = Arc::new(CNode::new(
            CNodeInit {
                id,
                sock,
                addr: CAddress {
                    service: addr,
                    n_services: ServiceFlags(0),
                    n_time: 0,
                },
                n_keyed_net_group: self.calculate_keyed_net_group(&addr.addr),
                n_local_host_nonce: nonce,
                addr_bind,
                addr_name: String::new(),
                conn_type: ConnectionType::Inbound,
                recv_flood_size: self.recv_flood_size(),
                prefer_evict: discouraged,
                permission_flags,
                magic: self.params.message_start,
                hash_kind: self.params.hash_kind,
                max_message_length: self.max_message_length(),
                now_secs: self.now_secs(),
                grant: None,
            },
            self.log_ips(),
        ));
        if !self.register_node(&node) {
            return;
        }
        self.add_new_node(node);
        log::debug!(target: "net", "connection from {} accepted", addr.to_string_addr_port());
    }

    /// Not in Core: register a new connection's socket with the poll (Core adds it to the
    /// `select` set each pass).
    pub(crate) fn register_node(&self, node: &CNode) -> bool {
        let mut sock = node.m_sock_mutex.lock();
        let Some(s) = sock.as_mut() else {
            return false;
        };
        let token = Token(NODE_TOKEN_BASE + node.get_id() as usize);
        match self
            .registry
            .register(s, token, Interest::READABLE | Interest::WRITABLE)
        {
            Ok(()) => true,
            Err(e) => {
                log::warn!(target: "net", "cannot register socket of peer={}: {}", node.get_id(), e);
                false
            }
        }
    }

    /// Port of CConnman::AcceptConnection (net.cpp): accept at most [`MAX_ACCEPTS_PER_PASS`]
    /// connections; returns true when the bound stopped it (more may be waiting: mio reports a
    /// listener ready once, so the caller comes back without waiting for an event). Peers take
    /// the listening socket's `-whitebind` permissions (Core's
    /// `ListenSocket::AddSocketPermissionFlags`).
    fn accept_connections(&self, listener: &ListenSocket) -> bool {
        for _ in 0..MAX_ACCEPTS_PER_PASS {
            match listener.sock.accept() {
                Ok((sock, peer)) => {
                    // The connector's view of the peer (the peer's address itself, except in
                    // the simulator's loopback backend).
                    let addr = self.connector.lock().inbound_addr(peer);
                    let addr_bind = sock
                        .local_addr()
                        .map(|a| CService::from_socket_addr(&a))
                        .unwrap_or_default();
                    self.create_node_from_accepted_socket(
                        sock,
                        listener.permissions,
                        addr_bind,
                        addr,
                    );
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return false,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => return true,
                Err(e) => {
                    log::info!("socket error accept failed: {}", e);
                    return false;
                }
            }
        }
        true
    }
}
