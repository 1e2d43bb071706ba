//! The "msghand" thread: Core's `ThreadMessageHandler` (net.cpp) and the connection's half of
//! `PeerManagerImpl::ProcessMessages` (net_processing.cpp), driving the sans-IO peer manager
//! and carrying out its outputs.
//!
//! Each pass visits the connections that have work: a message waiting, a deadline of the peer
//! manager passed, or a send pause lifted. For each, one message is taken from the connection
//! (outside every lock: a large payload is hashed here), the peer manager processes it and runs
//! `SendMessages` under its lock, and the outputs are carried out after that lock is released:
//! sends, disconnections and the upper layer's callbacks, which may therefore call back into
//! the layer. With nothing to do the thread sleeps until the peer manager's next deadline (at
//! most a second) or a wake-up, instead of Core's fixed 100 ms.
//!
//! Payloads of our own ([`ConnmanInner::propagate_message`]) are hashed and framed on the
//! caller's thread and queued here, so `is_message_important` too runs on this thread only.

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use protocol::header::HEADER_SIZE;
use rand_core::RngCore;

use crate::flood::PayloadId;
use crate::net_message::SerializedNetMsg;
use crate::node::{CNode, NodeId};
use crate::peerman::{LogosSend, Output};
use crate::transport::build_header;
use crate::upper::{FinalVerdict, MessageSource, Verdict};

use super::ConnmanInner;

/// Longest sleep of the message handler without a wake-up.
const MAX_IDLE_WAIT: Duration = Duration::from_secs(1);

/// A `logos` payload hashed and framed once, ready to be flooded
/// ([`ConnmanInner::prepare_logos`], [`ConnmanInner::propagate_prepared`]).
#[derive(Clone, Debug)]
pub struct PreparedLogos {
    hash: [u8; 32],
    data: Arc<Vec<u8>>,
    header: [u8; HEADER_SIZE],
}

impl PreparedLogos {
    /// Not in Core: the payload's network hash (its dedup id; the first 4 bytes are the checksum).
    pub fn hash(&self) -> &[u8; 32] {
        &self.hash
    }
}

/// Core's `fMsgProcWake` and the message handler's queues, under `mutexMsgProc`.
#[derive(Default)]
pub(crate) struct MsgProcState {
    /// Core's `fMsgProcWake`.
    wake: bool,
    /// Connections with work (each at most once: `CNode::m_in_msg_work`).
    work: Vec<Arc<CNode>>,
    /// Our own payloads waiting to be flooded.
    propagate: VecDeque<PreparedLogos>,
    /// The upper layer's final verdicts waiting to be applied.
    verdicts: VecDeque<(PayloadId, FinalVerdict)>,
}

impl ConnmanInner {
    /// Port of CConnman::WakeMessageHandler (net.cpp).
    pub fn wake_message_handler(&self) {
        {
            let mut w = self.mutex_msg_proc.lock();
            w.wake = true;
        }
        self.cond_msg_proc.notify_one();
    }

    /// Not in Core: have the message handler visit `node` on its next pass.
    pub(crate) fn queue_msg_work(&self, node: &Arc<CNode>) {
        if !node.m_in_msg_work.swap(true, Ordering::SeqCst) {
            self.mutex_msg_proc.lock().work.push(Arc::clone(node));
        }
    }

    /// Port of CConnman::ThreadMessageHandler (net.cpp): the "msghand" thread.
    pub fn thread_message_handler(&self) {
        let mut outputs: VecDeque<Output> = VecDeque::new();
        let mut visit: Vec<Arc<CNode>> = Vec::new();
        let mut due: Vec<NodeId> = Vec::new();
        let mut due_nodes: Vec<Arc<CNode>> = Vec::new();
        while !self.flag_interrupt_msg_proc() {
            let (own, verdicts) = {
                let mut st = self.mutex_msg_proc.lock();
                visit.append(&mut st.work);
                (
                    std::mem::take(&mut st.propagate),
                    std::mem::take(&mut st.verdicts),
                )
            };
            for p in own {
                self.flood_own(p, &mut outputs);
            }
            for (id, v) in verdicts {
                self.apply_final_verdict(id, v, &mut outputs);
            }
            due.clear();
            let now = self.now_micros();
            if now >= self.m_next_deadline.load(Ordering::SeqCst) {
                self.pm().due_peers(now, &mut due);
            }
            if !due.is_empty() {
                self.nodes_by_id(&due, &mut due_nodes);
                for n in due_nodes.drain(..) {
                    if !n.m_in_msg_work.swap(true, Ordering::SeqCst) {
                        visit.push(n);
                    }
                }
            }
            if visit.len() > 1 {
                // Core shuffles the nodes each pass so none is always served first.
                let mut rng = self.rng.lock();
                for i in (1..visit.len()).rev() {
                    let j = (rng.next_u64() % (i as u64 + 1)) as usize;
                    visit.swap(i, j);
                }
            }
            let mut f_more_work = false;
            for node in visit.drain(..) {
                node.m_in_msg_work.store(false, Ordering::SeqCst);
                if node.is_disconnecting() {
                    continue;
                }
                let more = self.process_messages(&node, &mut outputs);
                if more && !node.f_pause_send.load(Ordering::SeqCst) {
                    f_more_work = true;
                    self.queue_msg_work(&node);
                }
                if self.flag_interrupt_msg_proc() {
                    return;
                }
            }
            let deadline = self.m_next_deadline.load(Ordering::SeqCst);
            let mut st = self.mutex_msg_proc.lock();
            if !f_more_work
                && !st.wake
                && st.work.is_empty()
                && st.propagate.is_empty()
                && st.verdicts.is_empty()
            {
                let d = deadline.saturating_sub(self.now_micros()).max(0);
                let wait = Duration::from_micros(d.unsigned_abs()).min(MAX_IDLE_WAIT);
                if !wait.is_zero() {
                    let _ = self.cond_msg_proc.wait_for(&mut st, wait);
                }
            }
            st.wake = false;
        }
    }

    /// Port of PeerManagerImpl::ProcessMessages (net_processing.cpp), the connection's half:
    /// take at most one message from `node` (none while its send queue is paused, Core's
    /// `fPauseSend` check, or before our `version` went out on an outbound connection), have the
    /// peer manager process it and run SendMessages, then carry out the outputs. Returns whether
    /// more messages are waiting.
    fn process_messages(&self, node: &Arc<CNode>, outputs: &mut VecDeque<Output>) -> bool {
        let id = node.get_id();
        let paused = node.f_pause_send.load(Ordering::SeqCst);
        let mut msg = None;
        let mut more = false;
        // Only an `announce` can be dropped unread: other large payloads (`logos`) are hashed
        // without taking the peer manager's lock.
        let unread = |m: &crate::net_message::CNetMessage| {
            m.m_type == protocol::message::net_msg_type::ANNOUNCE && self.pm().drops_unread(id, m)
        };
        if node.m_msgproc_ready.load(Ordering::SeqCst) && !paused {
            if let Some((m, more_queued, unpaused)) = node.poll_message(unread) {
                if unpaused {
                    self.wake_socket_for(node);
                }
                msg = Some(m);
                more = more_queued;
            }
        }
        let now = self.now_micros();
        {
            let mut pm = self.pm();
            if let Some(m) = msg {
                pm.process_message(id, m, now);
            }
            pm.send_messages(id, now, node.f_pause_send.load(Ordering::SeqCst));
            if !node.m_msgproc_ready.load(Ordering::SeqCst) && pm.ready_to_process(id) {
                node.m_msgproc_ready.store(true, Ordering::SeqCst);
                more = node.has_queued_messages();
            }
            pm.drain_outputs(outputs);
        }
        self.run_outputs(outputs, now, Some(node));
        more
    }

    /// Carry out the peer manager's outputs, in order, with no lock of ours held (`now`: the
    /// time they were made at, for the upper layer's verdicts; `hint`: the connection they are
    /// most likely about, found without a lookup).
    fn run_outputs(&self, outputs: &mut VecDeque<Output>, now: i64, hint: Option<&Arc<CNode>>) {
        let find = |id: NodeId| match hint {
            Some(n) if n.get_id() == id => Some(Arc::clone(n)),
            _ => self.find_node_by_id(id),
        };
        while let Some(o) = outputs.pop_front() {
            match o {
                Output::Send { peer, msg } => {
                    let Some(node) = find(peer) else {
                        continue;
                    };
                    match SerializedNetMsg::from_message(&msg) {
                        Some(m) => self.push_message(&node, m),
                        None => {
                            log::warn!(target: "net", "not sending message of unknown type {:?}", msg.command())
                        }
                    }
                }
                Output::SendLogos {
                    peer,
                    payload,
                    header,
                    kind,
                } => {
                    let Some(node) = find(peer) else {
                        continue;
                    };
                    let mut msg = SerializedNetMsg::framed(
                        protocol::message::net_msg_type::LOGOS,
                        payload,
                        header,
                    );
                    if let LogosSend::Relay { origin } = kind {
                        // The send queue accounts relays per origin (send.rs).
                        msg.relay_origin = Some(origin);
                    }
                    if !self.push_logos(&node, msg, kind) {
                        //DMITRY: a logos payload to a peer whose send queue is full (relays over -maxsendbuffer, ours over MAX_OWN_BACKLOG_BYTES); Core: net.cpp::CConnman::PushMessage; changed: Core queues
                        // every message and only pauses (its data is pulled with getdata, which
                        // ProcessGetData stops serving while fPauseSend), a pushed relay would grow
                        // the queue without bound, so it is dropped and counted (getpeerinfo
                        // logos_relay_dropped) and the peer stays.
                        node.m_logos_relay_dropped.fetch_add(1, Ordering::Relaxed);
                        self.n_logos_relay_dropped.fetch_add(1, Ordering::Relaxed);
                    }
                }
                Output::Deliver {
                    peer,
                    addr,
                    id,
                    payload,
                } => {
                    let from = MessageSource { id: peer, addr };
                    let verdict = self.upper.verify_message(&payload, &id, &from);
                    let important =
                        verdict == Verdict::Accept && self.upper.is_message_important(&payload);
                    let mut pm = self.pm();
                    pm.deliver_verdict(id, verdict, important, now);
                    pm.drain_outputs(outputs);
                }
                Output::Disconnect { peer, reason } => {
                    if let Some(node) = find(peer) {
                        self.disconnect_for(&node, reason);
                    }
                }
                Output::DisconnectSubnet { subnet } => {
                    self.disconnect_node_by_subnet(&subnet);
                }
                Output::Update { peer, update } => {
                    if let Some(node) = find(peer) {
                        node.apply_update(update);
                        node.recount_connected(&self.n_fully_connected);
                    }
                }
            }
        }
    }

    /// Flood a payload of ours (queued by [`Self::propagate_prepared`]): ask the upper layer
    /// whether it is important, then have the peer manager queue it to every peer.
    fn flood_own(&self, p: PreparedLogos, outputs: &mut VecDeque<Output>) {
        let important = self.upper.is_message_important(&p.data);
        let now = self.now_micros();
        {
            let mut pm = self.pm();
            pm.propagate(p.data, p.hash, p.header, important, now);
            pm.drain_outputs(outputs);
        }
        self.run_outputs(outputs, now, None);
    }

    /// Apply a final verdict queued by [`Self::final_verdict`].
    fn apply_final_verdict(&self, id: PayloadId, v: FinalVerdict, outputs: &mut VecDeque<Output>) {
        let now = self.now_micros();
        {
            let mut pm = self.pm();
            pm.final_verdict(id, v, now);
            pm.drain_outputs(outputs);
        }
        self.run_outputs(outputs, now, None);
    }

    /// Not in Core: the upper layer's final verdict on payload `id`, for the checks it skipped
    /// at the quick verdict (`Invalid`: no longer served, what waits for it dropped, nobody
    /// punished). Queued to the message handler, which applies it on its next pass; may be
    /// called from any thread, also from inside an upper-layer callback.
    pub fn final_verdict(&self, id: PayloadId, verdict: FinalVerdict) {
        {
            let mut st = self.mutex_msg_proc.lock();
            st.verdicts.push_back((id, verdict));
            st.wake = true;
        }
        self.cond_msg_proc.notify_one();
    }

    /// Port of p2p_interface::PropagateMessage (logos/p2p/p2p.h, 2019 Logos layer): flood a
    /// `logos` payload from the upper layer to every fully connected peer (marked seen, kept if
    /// important). `false` if there is no such peer now (or the payload is too large).
    pub fn propagate_message(&self, payload: &[u8]) -> bool {
        match self.prepare_logos(payload) {
            Some(p) => self.propagate_prepared(&p),
            None => false,
        }
    }

    /// Not in Core: the first half of [`Self::propagate_message`]: hash `payload` once and
    /// frame it (header with the checksum, shared payload). `None` if it is too large.
    pub fn prepare_logos(&self, payload: &[u8]) -> Option<PreparedLogos> {
        if payload.len() > self.max_message_length() as usize {
            log::warn!(target: "net", "propagate_message: payload of {} bytes exceeds the maximum message size", payload.len());
            return None;
        }
        let hash = self.params.hash_kind.hash(payload);
        let header = build_header(
            self.params.message_start,
            protocol::message::net_msg_type::LOGOS,
            payload.len(),
            &hash,
        );
        Some(PreparedLogos {
            hash,
            data: Arc::new(payload.to_vec()),
            header,
        })
    }

    /// Not in Core: the second half of [`Self::propagate_message`] for a payload framed by
    /// [`Self::prepare_logos`]: queue it to the message handler, which floods it. Returns
    /// whether a fully connected peer exists now.
    pub fn propagate_prepared(&self, p: &PreparedLogos) -> bool {
        {
            let mut st = self.mutex_msg_proc.lock();
            st.propagate.push_back(p.clone());
            st.wake = true;
        }
        self.cond_msg_proc.notify_one();
        self.fully_connected_count() > 0
    }

    /// Not in Core: the `logos` flood's counters and set sizes (RPC `getlogosinfo`), and the
    /// relays dropped at full send queues.
    pub fn flood_stats(&self) -> (crate::peerman::FloodStats, u64) {
        (
            self.pm().flood_stats(),
            self.n_logos_relay_dropped.load(Ordering::Relaxed),
        )
    }
}
