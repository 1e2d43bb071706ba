//! Sending: Core's `CConnman::PushMessage` and `CConnman::SocketSendData` (net.cpp).
//!
//! Flow control is here: a connection whose queue is over `-maxsendbuffer` has `fPauseSend`
//! set (Core); the message handler then stops processing its messages, and `logos` relays to
//! it are dropped and counted (msghand.rs).

use std::io::{self, Write};
use std::sync::atomic::Ordering;
use std::sync::Arc;

use crate::disconnect::DisconnectReason;
use crate::net_message::SerializedNetMsg;
use crate::node::CNode;
use crate::peerman::LogosSend;

use super::ConnmanInner;

/// Flooded payloads smaller than this are written by the socket thread (gathered); larger
/// ones are written at once by the caller, as Core's PushMessage does.
const DEFER_BELOW_BYTES: usize = 64 * 1024;
/// Queued messages carried by one vectored write after the transport's current one.
const MAX_GATHER_MESSAGES: usize = 64;
/// Bytes after which no further queued message joins a vectored write.
const MAX_GATHER_BYTES: usize = 256 * 1024;
/// Most bytes queued to one peer before payloads of our own to it are dropped: four messages
/// of the largest size. Our own payloads come at the upper layer's pace, so they may wait in a
/// slow peer's queue beyond `-maxsendbuffer` (relayed ones may not), but not without bound.
pub const MAX_OWN_BACKLOG_BYTES: usize = 4 * protocol::header::MAX_PROTOCOL_MESSAGE_LENGTH as usize;

impl ConnmanInner {
    /// Port of CConnman::PushMessage (net.cpp).
    pub fn push_message(&self, node: &Arc<CNode>, msg: SerializedNetMsg) {
        self.push_message_impl(node, msg, true);
    }

    /// PushMessage for flooded `logos` payloads: queued and handed to the socket thread,
    /// which writes every queued message with one vectored write, instead of Core's
    /// optimistic write from the calling thread.
    pub(crate) fn push_message_deferred(&self, node: &Arc<CNode>, msg: SerializedNetMsg) {
        //DMITRY: PushMessage's optimistic send; Core: net.cpp::CConnman::PushMessage; changed: for small
        // logos payloads only, the socket thread sends them, gathering a burst into one write (one
        // syscall per message was the small-payload bottleneck); large ones keep Core's optimistic
        // write.
        let optimistic = msg.data.len() >= DEFER_BELOW_BYTES;
        self.push_message_impl(node, msg, optimistic);
    }

    /// Not in Core: queue a `logos` payload to `node` unless its send queue is too full for
    /// its kind (see [`LogosSend`]). Returns false when dropped (the caller counts it).
    ///
    /// A relay (`msg.relay_origin` set) that finds the queue over `-maxsendbuffer` first makes
    /// room by dropping the newest queued relays of the origin with the most relay bytes in this
    /// queue, while that is another origin holding more than the relay's own origin; it is
    /// queued if that brings the queue back within the limit. So each origin keeps a share of a
    /// slow peer's queue: a peer flooding distinct payloads crowds out only itself.
    pub(crate) fn push_logos(
        &self,
        node: &Arc<CNode>,
        msg: SerializedNetMsg,
        kind: LogosSend,
    ) -> bool {
        let limit = match kind {
            LogosSend::Relay { .. } | LogosSend::Requested => Some(self.send_buffer_max()),
            LogosSend::Own => Some(self.send_buffer_max().max(MAX_OWN_BACKLOG_BYTES)),
            LogosSend::CatchUp => None,
        };
        if let Some(limit) = limit {
            let mut st = node.cs_v_send.lock();
            let queued = |st: &crate::node::SendState| {
                st.m_send_memusage + st.transport.get_send_memory_usage()
            };
            if queued(&st) > limit {
                let Some(origin) = msg
                    .relay_origin
                    .filter(|_| matches!(kind, LogosSend::Relay { .. }))
                else {
                    return false;
                };
                let mut displaced = 0u64;
                while queued(&st) > limit && displace_relay(&mut st, origin) {
                    displaced += 1;
                }
                if displaced > 0 {
                    //DMITRY: a relay from an origin with a smaller share of a full send queue
                    // displaces the newest queued relays of the origin with the largest share;
                    // Core: net.cpp::CConnman::PushMessage; changed: Core queues every message;
                    // here a relay to a full queue is dropped (run_outputs), and without this a
                    // peer flooding distinct payloads would have every other origin's relays
                    // dropped at a slow peer. The displaced relays are counted as dropped
                    // (getpeerinfo logos_relay_dropped); nobody is disconnected.
                    node.m_logos_relay_dropped
                        .fetch_add(displaced, Ordering::Relaxed);
                    self.n_logos_relay_dropped
                        .fetch_add(displaced, Ordering::Relaxed);
                }
                if queued(&st) > limit {
                    return false;
                }
            }
        }
        self.push_message_deferred(node, msg);
        true
    }

    fn push_message_impl(&self, node: &Arc<CNode>, msg: SerializedNetMsg, optimistic: bool) {
        log::debug!(target: "net", "sending {} ({} bytes) peer={}", msg.m_type, msg.data.len(), node.get_id());
        let mut n_bytes_sent = 0;
        let mut wake = false;
        {
            let mut st = node.cs_v_send.lock();
            let (to_send_empty, more) = {
                let (b, more, _) = st.transport.get_bytes_to_send(true);
                (b.is_empty(), more)
            };
            let queue_was_empty = to_send_empty && st.v_send_msg.is_empty();
            st.queued(&msg);
            if st.m_send_memusage + st.transport.get_send_memory_usage() > self.send_buffer_max() {
                node.f_pause_send.store(true, Ordering::SeqCst);
            }
            st.v_send_msg.push_back(msg);
            if optimistic && queue_was_empty && more {
                n_bytes_sent = self.socket_send_data(node, &mut st).0;
            } else if st.writable {
                wake = true;
            }
        }
        if n_bytes_sent > 0 {
            self.record_bytes_sent(n_bytes_sent as u64);
        }
        if wake {
            self.wake_socket_for(node);
        }
    }

    /// Port of CConnman::SocketSendData (net.cpp). Caller holds `cs_vSend`. Returns the bytes
    /// sent and whether data is left in the transport.
    ///
    /// One vectored write carries the rest of the transport's message and up to
    /// [`MAX_GATHER_MESSAGES`] queued messages after it (Core gets one segment train from
    /// `MSG_MORE`; without flags in std, gathering gives the same wire bytes with fewer calls).
    pub(crate) fn socket_send_data(
        &self,
        node: &CNode,
        st: &mut crate::node::SendState,
    ) -> (usize, bool) {
        let mut n_sent_size = 0usize;
        let data_left;
        loop {
            if !st.transport.is_busy() {
                if let Some(front) = st.v_send_msg.pop_front() {
                    let (memusage, origin) = (front.get_memory_usage(), front.relay_origin);
                    match st.transport.set_message_to_send(front) {
                        Ok(()) => st.dequeued(memusage, origin),
                        Err(back) => st.v_send_msg.push_front(back),
                    }
                }
            }
            // Headers of the queued messages that ride along in this write.
            {
                let crate::node::SendState {
                    transport,
                    v_send_msg,
                    ..
                } = &mut *st;
                let mut bytes = 0usize;
                for m in v_send_msg.iter_mut().take(MAX_GATHER_MESSAGES) {
                    if bytes >= MAX_GATHER_BYTES {
                        break;
                    }
                    if m.header.is_none() {
                        m.header = Some(transport.frame_header(m.m_type, &m.data));
                    }
                    bytes += m.data.len() + protocol::header::HEADER_SIZE;
                }
            }
            let (res, cur_len, has_type) = {
                let ([a, b], msg_type) = st.transport.get_bytes_to_send_vectored();
                if a.is_empty() && b.is_empty() {
                    data_left = false;
                    break;
                }
                let mut slices: Vec<io::IoSlice<'_>> =
                    Vec::with_capacity(2 + 2 * MAX_GATHER_MESSAGES);
                for x in [a, b] {
                    if !x.is_empty() {
                        slices.push(io::IoSlice::new(x));
                    }
                }
                let mut bytes = a.len() + b.len();
                for m in st.v_send_msg.iter().take(MAX_GATHER_MESSAGES) {
                    if bytes >= MAX_GATHER_BYTES {
                        break;
                    }
                    let Some(h) = m.header.as_ref() else {
                        break;
                    };
                    slices.push(io::IoSlice::new(h));
                    if !m.data.is_empty() {
                        slices.push(io::IoSlice::new(&m.data));
                    }
                    bytes += h.len() + m.data.len();
                }
                let mut sock = node.m_sock_mutex.lock();
                let Some(s) = sock.as_mut() else {
                    data_left = true;
                    break;
                };
                let res = if slices.len() == 1 {
                    s.write(&slices[0])
                } else {
                    s.write_vectored(&slices)
                };
                (res, a.len() + b.len(), !msg_type.is_empty())
            };
            match res {
                Ok(n) if n > 0 => {
                    node.m_last_send.store(self.now_secs(), Ordering::Relaxed);
                    st.n_send_bytes += n as u64;
                    n_sent_size += n;
                    // The transport's message first, then whole queued messages in order.
                    let k = n.min(cur_len);
                    if has_type {
                        account_sent_to_current(st, k);
                    }
                    st.transport.mark_bytes_sent(k);
                    let mut left = n - k;
                    while left > 0 {
                        let Some(m) = st.v_send_msg.pop_front() else {
                            break;
                        };
                        let (memusage, origin) = (m.get_memory_usage(), m.relay_origin);
                        let total = protocol::header::HEADER_SIZE + m.data.len();
                        if let Err(back) = st.transport.set_message_to_send(m) {
                            st.v_send_msg.push_front(back);
                            break;
                        }
                        st.dequeued(memusage, origin);
                        let k = left.min(total);
                        account_sent_to_current(st, k);
                        st.transport.mark_bytes_sent(k);
                        left -= k;
                    }
                }
                Ok(_) => {
                    data_left = true;
                    st.writable = false;
                    break;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    data_left = true;
                    st.writable = false;
                    break;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    //DMITRY: send() on the peer socket fails with a real error; Core: net.cpp::CConnman::SocketSendData; kept: close the
                    // socket.
                    self.disconnect_for(
                        node,
                        DisconnectReason::SocketSendError {
                            error: e.to_string(),
                        },
                    );
                    drop(node.close_socket_disconnect(self.log_ips()));
                    data_left = true;
                    break;
                }
            }
        }
        let pause =
            st.m_send_memusage + st.transport.get_send_memory_usage() > self.send_buffer_max();
        node.f_pause_send.store(pause, Ordering::SeqCst);
        (n_sent_size, data_left)
    }
}

/// Not in Core: drop the newest queued relay of the origin with the most relay bytes in this
/// queue, if that origin is not `origin` and holds more than `origin` does (see
/// [`ConnmanInner::push_logos`]). Returns whether one was dropped. Everything in `v_send_msg`
/// is still unsent (the transport holds the message being sent), so any entry may go.
fn displace_relay(st: &mut crate::node::SendState, origin: crate::node::NodeId) -> bool {
    let mine = st.relay_bytes_by_origin.get(&origin).copied().unwrap_or(0);
    let Some((top, top_bytes)) = st
        .relay_bytes_by_origin
        .iter()
        .max_by_key(|(_, b)| **b)
        .map(|(o, b)| (*o, *b))
    else {
        return false;
    };
    if top == origin || top_bytes <= mine {
        return false;
    }
    let Some(i) = st
        .v_send_msg
        .iter()
        .rposition(|m| m.relay_origin == Some(top))
    else {
        return false;
    };
    let Some(m) = st.v_send_msg.remove(i) else {
        return false;
    };
    st.dequeued(m.get_memory_usage(), m.relay_origin);
    true
}

/// CNode::AccountForSentBytes for the message the transport is sending now, without
/// allocating its type string once the type has an entry (one lookup per message sent).
fn account_sent_to_current(st: &mut crate::node::SendState, sent_bytes: usize) {
    let crate::node::SendState {
        transport,
        map_send_bytes_per_msg_type,
        ..
    } = st;
    let (_, _, m_type) = transport.get_bytes_to_send(false);
    match map_send_bytes_per_msg_type.get_mut(m_type) {
        Some(v) => *v += sent_bytes as u64,
        None => {
            map_send_bytes_per_msg_type.insert(m_type.to_string(), sent_bytes as u64);
        }
    }
}
