//! Which inbound connections are let in: the decisions of Core's
//! `CConnman::CreateNodeFromAcceptedSocket` (net.cpp) with the facts passed in, so the
//! connection manager and the simulator admit peers by one rule.
//!
//! Call order: [`inbound_admission`] with what is known of the new connection; on
//! [`Admission::EvictFirst`], run the eviction choice (eviction.rs `select_node_to_evict` over the
//! current inbound peers): a choice disconnects that peer and admits the new one, no choice
//! refuses it with [`DisconnectReason::InboundFull`].

use crate::disconnect::DisconnectReason;

/// What is known of an inbound connection when it is accepted.
#[derive(Clone, Copy, Debug)]
pub struct InboundFacts {
    /// Networking is on (Core's `fNetworkActive`).
    pub network_active: bool,
    /// The peer has the `noban` permission (`-whitebind`, `-whitelist`).
    pub noban: bool,
    /// Its address is banned.
    pub banned: bool,
    /// Its address is discouraged.
    pub discouraged: bool,
    /// Inbound connections open now.
    pub n_inbound: i32,
    /// Core's `m_max_inbound`.
    pub max_inbound: i32,
}

/// The decision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Admission {
    /// Let it in.
    Admit,
    /// Inbound slots are full: evict a peer first (none to evict: refuse, `InboundFull`).
    EvictFirst,
    /// Refuse it.
    Refuse(DisconnectReason),
}

/// Port of the admission checks of CConnman::CreateNodeFromAcceptedSocket (net.cpp). `addr` is
/// the peer's `addr:port`, for the refusal's log line.
pub fn inbound_admission(f: &InboundFacts, addr: &str) -> Admission {
    if !f.network_active {
        //DMITRY: inbound connection while the network is inactive; Core:
        // net.cpp::CConnman::CreateNodeFromAcceptedSocket; kept: refused.
        return Admission::Refuse(DisconnectReason::InboundNotAccepting {
            addr: addr.to_string(),
        });
    }
    if !f.noban && f.banned {
        //DMITRY: inbound connection from a banned address; Core:
        // net.cpp::CConnman::CreateNodeFromAcceptedSocket; kept: refused unless the peer has the
        // noban permission (-whitebind/-whitelist).
        return Admission::Refuse(DisconnectReason::InboundBanned {
            addr: addr.to_string(),
        });
    }
    if !f.noban && f.n_inbound + 1 >= f.max_inbound && f.discouraged {
        //DMITRY: inbound connection from a discouraged address when inbound slots are (almost)
        // full; Core: net.cpp::CConnman::CreateNodeFromAcceptedSocket; kept: refused unless the
        // peer has the noban permission.
        return Admission::Refuse(DisconnectReason::InboundDiscouraged {
            addr: addr.to_string(),
        });
    }
    if f.n_inbound >= f.max_inbound {
        return Admission::EvictFirst;
    }
    Admission::Admit
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> InboundFacts {
        InboundFacts {
            network_active: true,
            noban: false,
            banned: false,
            discouraged: false,
            n_inbound: 3,
            max_inbound: 10,
        }
    }

    /// Mirrors the order of Core's checks: inactive, banned, discouraged near full, full.
    #[test]
    fn core_order_of_the_checks() {
        assert_eq!(inbound_admission(&facts(), "1.2.3.4:5"), Admission::Admit);
        let f = InboundFacts {
            network_active: false,
            banned: true,
            ..facts()
        };
        assert!(matches!(
            inbound_admission(&f, "x"),
            Admission::Refuse(DisconnectReason::InboundNotAccepting { .. })
        ));
        let f = InboundFacts {
            banned: true,
            ..facts()
        };
        assert!(matches!(
            inbound_admission(&f, "x"),
            Admission::Refuse(DisconnectReason::InboundBanned { .. })
        ));
        let f = InboundFacts {
            banned: true,
            noban: true,
            ..facts()
        };
        assert_eq!(inbound_admission(&f, "x"), Admission::Admit);
        // Discouraged: let in while two slots are free, refused with one left.
        let f = InboundFacts {
            discouraged: true,
            n_inbound: 8,
            ..facts()
        };
        assert_eq!(inbound_admission(&f, "x"), Admission::Admit);
        let f = InboundFacts {
            discouraged: true,
            n_inbound: 9,
            ..facts()
        };
        assert!(matches!(
            inbound_admission(&f, "x"),
            Admission::Refuse(DisconnectReason::InboundDiscouraged { .. })
        ));
        let f = InboundFacts {
            n_inbound: 10,
            ..facts()
        };
        assert_eq!(inbound_admission(&f, "x"), Admission::EvictFirst);
    }
}
