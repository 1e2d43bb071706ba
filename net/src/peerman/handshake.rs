//! The `version` / `verack` handshake and the feature negotiation between them (`sendaddrv2`,
//! `wtxidrelay`): the handshake branches of PeerManagerImpl::ProcessMessage and
//! PeerManagerImpl::PushNodeVersion (net_processing.cpp).

use netbase::CService;
use protocol::{CAddress, NetworkMessage, ServiceFlags, VersionMessage};

use crate::addr_relay::should_send_sendaddrv2;
use crate::connection_type::ConnectionType;
use crate::disconnect::DisconnectReason;
use crate::eviction::NodeId;
use crate::util::sanitize_string;

use super::peer::Handshake;
use super::{NodeUpdate, PeerManager, CLOSE_TO_TIP};

impl PeerManager {
    /// Port of PeerManagerImpl::GetDesirableServiceFlags (net_processing.cpp), with the
    /// desirable set taken from the network parameters.
    pub fn get_desirable_service_flags(&self, services: ServiceFlags) -> ServiceFlags {
        //DMITRY: which services an outbound peer must offer; Core: net_processing.cpp::PeerManagerImpl::GetDesirableServiceFlags; changed: the set
        // comes from NetworkParams (NODE_LOGOS on Logos networks); "close to the tip" is always
        // false (CLOSE_TO_TIP: no chain, as a fresh bitcoind), the same answer the addr filter and
        // the outbound planner use.
        self.opts
            .params
            .get_desirable_service_flags(services, CLOSE_TO_TIP)
    }

    /// Port of PeerManagerImpl::HasAllDesirableServiceFlags (net_processing.cpp).
    pub fn has_all_desirable_service_flags(&self, services: ServiceFlags) -> bool {
        self.get_desirable_service_flags(services).0 & !services.0 == 0
    }

    /// Port of CConnman::CheckIncomingNonce (net.cpp): false when `nonce` is the nonce of one of
    /// our own outbound connections still in its handshake (we connected to ourselves). The
    /// peer manager knows every connection and its nonce.
    pub(crate) fn check_incoming_nonce(&self, nonce: u64) -> bool {
        !self.m_peer_map.values().any(|p| {
            !p.successfully_connected() && !p.conn.is_inbound_conn() && p.conn.local_nonce == nonce
        })
    }

    /// Port of PeerManagerImpl::PushNodeVersion (net_processing.cpp): our `version`, encoded by
    /// protocol's `VersionMessage`.
    pub(crate) fn push_node_version(&mut self, id: NodeId, now: i64) {
        let Some(p) = self.m_peer_map.get(&id) else {
            return;
        };
        let my_services = p.m_our_services;
        let addr = &p.conn.addr;
        let addr_you =
            if addr.service.addr.is_routable() && addr.service.addr.is_addr_v1_compatible() {
                addr.service
            } else {
                CService::default()
            };
        let n_node_starting_height: i32 = 0;
        let tx_relay = !self.opts.params.is_bitcoin();
        //DMITRY: our version message; Core: net_processing.cpp::PeerManagerImpl::PushNodeVersion; changed: honest services
        // (no NODE_NETWORK/NODE_WITNESS; NODE_LOGOS on Logos networks), start height 0, relay flag
        // only on Logos networks.
        let v = VersionMessage {
            version: protocol::version::PROTOCOL_VERSION,
            services: my_services,
            timestamp: now.div_euclid(1_000_000),
            addr_recv: CAddress {
                service: addr_you,
                n_services: addr.n_services,
                n_time: 0,
            },
            addr_from: CAddress {
                service: CService::default(),
                n_services: my_services,
                n_time: 0,
            },
            nonce: p.conn.local_nonce,
            user_agent: self.opts.user_agent.clone(),
            start_height: n_node_starting_height,
            relay: tx_relay,
        };
        self.send(id, NetworkMessage::Version(v));
        if self.opts.log_ips {
            log::debug!(target: "net",
                "send version message: version {}, blocks={}, them={}, txrelay={}, peer={}",
                protocol::version::PROTOCOL_VERSION,
                n_node_starting_height,
                addr_you.to_string_addr_port(),
                u8::from(tx_relay),
                id
            );
        } else {
            log::debug!(target: "net",
                "send version message: version {}, blocks={}, txrelay={}, peer={}",
                protocol::version::PROTOCOL_VERSION,
                n_node_starting_height,
                u8::from(tx_relay),
                id
            );
        }
    }

    /// The `version` branch of PeerManagerImpl::ProcessMessage (net_processing.cpp). The
    /// payload is decoded by protocol's `VersionMessage`; when its optional fields fail to
    /// decode, Core's steps that come before the failing read (`SetServices`, the services and
    /// version checks) still run on the fields before them, then the error is returned.
    pub(crate) fn process_version(
        &mut self,
        id: NodeId,
        payload: &[u8],
        now: i64,
    ) -> Result<(), protocol::Error> {
        let Some(p) = self.m_peer_map.get(&id) else {
            return Ok(());
        };
        if p.n_version() != 0 {
            log::debug!(target: "net", "redundant version message from peer={id}");
            return Ok(());
        }
        let conn = p.conn.clone();
        let (v, tail_error) = match VersionMessage::decode_payload(payload) {
            Ok(v) => (v, None),
            Err(e) => (VersionMessage::decode_head(payload)?, Some(e)),
        };
        let n_version = v.version;
        let n_services = v.services;
        let n_time = v.timestamp.max(0);
        let addr_me = v.addr_recv.service;
        if !conn.is_inbound_conn() {
            if let Some(a) = &self.ctx.addrman {
                a.set_services(&conn.addr.service, n_services);
            }
        }
        if conn.conn_type.expect_services_from_conn()
            && !self.has_all_desirable_service_flags(n_services)
        {
            //DMITRY: outbound full-relay/addr-fetch peer lacks the network's desirable services; Core: net_processing.cpp::PeerManagerImpl::ProcessMessage; kept: disconnect (desirable
            // set from NetworkParams: NODE_LOGOS on Logos networks).
            let expected = self.get_desirable_service_flags(n_services).0;
            self.disconnect(
                id,
                DisconnectReason::MissingExpectedServices {
                    offered: n_services.0,
                    expected,
                },
            );
            return Ok(());
        }
        if n_version < protocol::version::MIN_PEER_PROTO_VERSION {
            //DMITRY: peer's version is below MIN_PEER_PROTO_VERSION (31800); Core: net_processing.cpp::PeerManagerImpl::ProcessMessage; kept: disconnect at
            // once.
            self.disconnect(id, DisconnectReason::ObsoleteVersion { version: n_version });
            return Ok(());
        }
        if let Some(e) = tail_error {
            return Err(e);
        }
        let clean_sub_ver = sanitize_string(&v.user_agent);
        let starting_height = v.start_height;
        let f_relay = v.relay;
        if conn.is_inbound_conn() && !self.check_incoming_nonce(v.nonce) {
            //DMITRY: inbound version carries the nonce of one of our own outbound connections (we dialled ourselves); Core: net_processing.cpp::PeerManagerImpl::ProcessMessage; kept: disconnect.
            self.disconnect(
                id,
                DisconnectReason::ConnectedToSelf {
                    addr: conn.addr.service.to_string_addr_port(),
                },
            );
            return Ok(());
        }
        if conn.is_inbound_conn() && addr_me.addr.is_routable() {
            self.ctx.local_host.seen_local(&addr_me);
        }
        if conn.is_inbound_conn() {
            self.push_node_version(id, now);
        }
        let greatest_common_version = n_version.min(protocol::version::PROTOCOL_VERSION);
        //DMITRY: Core sends wtxidrelay here; Core: net_processing.cpp::PeerManagerImpl::ProcessMessage; removed: no transaction
        // relay.
        if should_send_sendaddrv2(greatest_common_version) {
            self.send(id, NetworkMessage::SendAddrV2);
        }
        self.maybe_send_sendannounce(id);
        let has_all_wanted_services = self.has_all_desirable_service_flags(n_services);
        let relays_txs = conn.conn_type != ConnectionType::BlockRelay
            && conn.conn_type != ConnectionType::Feeler
            && f_relay;
        let send_getaddr = {
            let Some(p) = self.m_peer_map.get_mut(&id) else {
                return Ok(());
            };
            p.handshake = Handshake::AwaitingVerack {
                version: n_version,
                common: greatest_common_version,
            };
            p.m_their_services = n_services;
            if p.addr_local.is_none() {
                p.addr_local = Some(addr_me);
            }
            p.m_starting_height = starting_height;
            p.m_time_offset = n_time - now.div_euclid(1_000_000);
            p.addr.on_version_outbound(conn.conn_type, &mut self.m_rng)
        };
        self.update(
            id,
            NodeUpdate::Version {
                n_version,
                common_version: greatest_common_version,
                their_services: n_services,
                has_all_wanted_services,
                relays_txs,
                clean_sub_ver: clean_sub_ver.clone(),
                addr_local: addr_me,
            },
        );
        self.send(id, NetworkMessage::Verack);
        if send_getaddr {
            self.send(id, NetworkMessage::GetAddr);
        }
        if !conn.is_inbound_conn() {
            if let Some(a) = &self.ctx.addrman {
                a.good(&conn.addr.service, now.div_euclid(1_000_000));
            }
        }
        log::debug!(target: "net",
            "receive version message: {}: version {}, blocks={}, us={}, txrelay={}, peer={}{}",
            clean_sub_ver,
            n_version,
            starting_height,
            addr_me.to_string_addr_port(),
            u8::from(f_relay),
            id,
            crate::disconnect::log_ip(
                self.opts
                    .log_ips
                    .then(|| conn.addr.service.to_string_addr_port())
                    .as_deref()
            )
        );
        if !conn.is_inbound_conn() {
            // Only outbound peers are sampled (Core: inbound ones could raise false warnings).
            self.m_outbound_time_offsets
                .add(n_time - now.div_euclid(1_000_000));
            self.m_outbound_time_offsets.warn_if_out_of_sync();
        }
        //DMITRY: Core sends the final alert to peers of version 70012 or older; Core: net_processing.cpp::PeerManagerImpl::ProcessMessage; removed: the alert
        // system is gone from this overlay.
        if conn.conn_type == ConnectionType::Feeler {
            //DMITRY: feeler connection finished its handshake; Core: net_processing.cpp::PeerManagerImpl::ProcessMessage; kept: disconnect (feelers
            // only test reachability).
            self.disconnect(id, DisconnectReason::FeelerConnectionCompleted);
        }
        Ok(())
    }

    /// The `verack` branch of PeerManagerImpl::ProcessMessage (net_processing.cpp).
    pub(crate) fn process_verack(&mut self, id: NodeId, now: i64) {
        let log_ips = self.opts.log_ips;
        let Some(p) = self.m_peer_map.get_mut(&id) else {
            return;
        };
        let Handshake::AwaitingVerack { version, common } = p.handshake else {
            log::debug!(target: "net", "ignoring redundant verack message from peer={id}");
            return;
        };
        if !p.conn.is_inbound_conn() || log::log_enabled!(target: "net", log::Level::Debug) {
            log::info!(
                "New {} v1 peer connected: version: {}, blocks={}, peer={}{}",
                p.conn.conn_type.as_str(),
                version,
                p.m_starting_height,
                id,
                crate::disconnect::log_ip(
                    log_ips
                        .then(|| p.conn.addr.service.to_string_addr_port())
                        .as_deref()
                )
            );
        }
        //DMITRY: after verack Core sends sendcmpct (and feefilter); Core: net_processing.cpp::PeerManagerImpl::ProcessMessage; removed: no block
        // or transaction relay here.
        p.handshake = Handshake::Connected { version, common };
        self.update(id, NodeUpdate::SuccessfullyConnected);
        self.start_catchup(id, now);
        self.schedule(id, Some(now));
    }

    /// The `wtxidrelay` branch of PeerManagerImpl::ProcessMessage (net_processing.cpp): BIP339
    /// negotiation, only between `version` and `verack`.
    pub(crate) fn process_wtxidrelay(&mut self, id: NodeId) {
        let Some(p) = self.m_peer_map.get_mut(&id) else {
            return;
        };
        if p.successfully_connected() {
            //DMITRY: peer sends wtxidrelay after verack; Core: net_processing.cpp::PeerManagerImpl::ProcessMessage; kept: disconnect (BIP339
            // negotiation must happen before verack, whatever we do with transactions).
            self.disconnect(id, DisconnectReason::WtxidRelayAfterVerack);
            return;
        }
        if p.common_version() >= protocol::version::WTXID_RELAY_VERSION {
            if !p.m_wtxid_relay {
                p.m_wtxid_relay = true;
            } else {
                log::debug!(target: "net", "ignoring duplicate wtxidrelay from peer={id}");
            }
        } else {
            log::debug!(target: "net",
                "ignoring wtxidrelay due to old common version={} from peer={}",
                p.common_version(),
                id
            );
        }
    }
}
