//! Address relay in the peer manager: the `addr` / `addrv2` / `getaddr` branches of
//! PeerManagerImpl::ProcessMessage, RelayAddress and MaybeSendAddr (net_processing.cpp). The
//! rules (token bucket, service filter, relay choice, trickle timing) are addr_relay.rs's; this
//! file feeds them the peer map and turns their answers into outputs.

use protocol::message::net_msg_type as t;
use protocol::{CAddress, NetworkMessage};

use crate::addr_cache::{get_addresses, AddrRequestor};
use crate::addr_relay::{
    select_relay_targets, AddrOutcome, AddrPeerInfo, AddrRelayParams, RelayCandidate,
    ADDR_TIME_PENALTY, MAX_ADDR_TO_SEND, MAX_PCT_ADDR_TO_SEND,
};
use crate::eviction::NodeId;
use crate::local_addr::LocalPeerView;
use crate::net_permissions::NetPermissionFlags;

use super::peer::Peer;
use super::PeerManager;

/// The facts addr_relay.rs reads from a peer.
fn addr_peer_info(p: &Peer) -> AddrPeerInfo {
    AddrPeerInfo {
        id: p.id(),
        conn_type: p.conn.conn_type,
        has_addr_permission: p.conn.has_permission(NetPermissionFlags::ADDR),
    }
}

impl PeerManager {
    /// The `addr` / `addrv2` branch of PeerManagerImpl::ProcessMessage (net_processing.cpp),
    /// after protocol's codec decoded the records.
    pub(crate) fn process_addr(
        &mut self,
        id: NodeId,
        msg_type: &str,
        v_addr: Vec<CAddress>,
        now: i64,
    ) {
        let banman = self.ctx.banman.clone();
        let is_banned_or_discouraged = |a: &netbase::CNetAddr| {
            banman
                .as_ref()
                .is_some_and(|b| b.is_discouraged(a) || b.is_banned(a))
        };
        let params = AddrRelayParams {
            params: self.opts.params,
            reachable: &self.ctx.reachable,
            is_banned_or_discouraged: &is_banned_or_discouraged,
        };
        let Some(p) = self.m_peer_map.get_mut(&id) else {
            return;
        };
        let info = addr_peer_info(p);
        let source = p.conn.addr.service.addr;
        let outcome = p
            .addr
            .process_addr(&info, msg_type, v_addr, &params, now, &mut self.m_rng);
        match outcome {
            AddrOutcome::Ignored => {}
            AddrOutcome::Oversized(m) => {
                //DMITRY: addr/addrv2 with more than MAX_ADDR_TO_SEND (1000) entries; Core: net_processing.cpp::PeerManagerImpl::ProcessMessage; kept: Misbehaving, then
                // MaybeDiscourageAndDisconnect on the same message-handler pass.
                self.misbehaving(id, &m.message());
            }
            AddrOutcome::Processed(out) => {
                for (addr, reachable) in &out.relay {
                    self.relay_address(id, addr, *reachable, now);
                }
                if let Some(a) = &self.ctx.addrman {
                    if !out.to_add.is_empty() {
                        a.add(&out.to_add, &source, ADDR_TIME_PENALTY);
                    }
                }
                if let Some(reason) = out.disconnect {
                    //DMITRY: addr-fetch connection got its addresses; Core: net_processing.cpp::PeerManagerImpl::ProcessMessage; kept: disconnect.
                    self.disconnect(id, reason);
                }
            }
        }
    }

    /// The `getaddr` branch of PeerManagerImpl::ProcessMessage (net_processing.cpp): the answer
    /// comes from Core's per-network cache (addr_cache.rs), or fresh from addrman for a peer
    /// with the `addr` permission.
    pub(crate) fn process_getaddr(&mut self, id: NodeId, now: i64) {
        let PeerManager {
            m_peer_map,
            m_rng,
            ctx,
            m_addr_response_caches,
            m_cache_rng,
            ..
        } = self;
        let Some(p) = m_peer_map.get_mut(&id) else {
            return;
        };
        let info = addr_peer_info(p);
        let requestor = AddrRequestor {
            connected_through: p.conn.addr.service.addr.get_net_class(),
            addr_bind: p.conn.addr_bind,
            is_inbound: p.conn.is_inbound_conn(),
        };
        let fresh = || match &ctx.addrman {
            Some(a) => get_addresses(
                a,
                ctx.banman.as_deref(),
                MAX_ADDR_TO_SEND,
                MAX_PCT_ADDR_TO_SEND,
                None,
                true,
            ),
            None => Vec::new(),
        };
        let addr_permission = info.has_addr_permission;
        p.addr.process_getaddr(
            &info,
            || {
                // A peer with the `addr` permission gets fresh addresses, not the cached answer
                // (Core: GetAddresses without the requestor).
                if addr_permission {
                    fresh()
                } else {
                    m_addr_response_caches.get_addresses_with(&requestor, now, m_cache_rng, fresh)
                }
            },
            m_rng,
        );
    }

    /// Port of PeerManagerImpl::RelayAddress (net_processing.cpp): the targets are chosen by
    /// addr_relay.rs among every peer; each gets the address in its send queue.
    pub(crate) fn relay_address(
        &mut self,
        originator: NodeId,
        addr: &CAddress,
        reachable: bool,
        now: i64,
    ) {
        let candidates = self
            .m_peer_map
            .iter()
            .map(|(id, p)| RelayCandidate::of(*id, &p.addr));
        let targets = select_relay_targets(
            &self.ctx.seeds,
            originator,
            addr,
            reachable,
            now.div_euclid(1_000_000),
            candidates,
        );
        for id in targets {
            if let Some(p) = self.m_peer_map.get_mut(&id) {
                p.addr.push_address(addr, &mut self.m_rng);
            }
        }
    }

    /// Port of PeerManagerImpl::MaybeSendAddr (net_processing.cpp): the decision is
    /// addr_relay.rs's (with our address from local_addr.rs), the message an output.
    pub(crate) fn maybe_send_addr(&mut self, id: NodeId, now: i64) {
        let Some(p) = self.m_peer_map.get_mut(&id) else {
            return;
        };
        let view = LocalPeerView {
            addr: p.conn.addr.service.addr,
            connected_through: p.conn.addr.service.addr.get_net_class(),
            addr_local: p.addr_local.unwrap_or_default(),
            is_inbound: p.conn.is_inbound_conn(),
        };
        let msg = p.addr.maybe_send_addr_with_local(
            now,
            p.m_our_services,
            &self.ctx.local_host,
            &view,
            &self.ctx.reachable,
            id,
            &mut self.m_rng,
        );
        if let Some(msg) = msg {
            let m = if msg.command() == t::ADDRV2 {
                NetworkMessage::AddrV2(msg.addrs)
            } else {
                NetworkMessage::Addr(msg.addrs)
            };
            self.send(id, m);
        }
    }
}
