//! Misbehaviour: port of `PeerManagerImpl::Misbehaving` and
//! `PeerManagerImpl::MaybeDiscourageAndDisconnect` (net_processing.cpp).
//!
//! Core's current model has no score: one misbehaviour sets `m_should_discourage`, and the
//! next `SendMessages` pass for that peer decides what to do, depending on who the peer is:
//! - `noban` permission: nothing ("Warning: not punishing noban peer %d!"),
//! - manual connection: nothing ("Warning: not punishing manually connected peer %d!"),
//! - local address (incl. inbound onion): disconnect only ("Warning: disconnecting but not
//!   discouraging local peer %d!"), since discouraging 127.0.0.1 would hit every local peer,
//! - anyone else: disconnect and discourage the address ("Disconnecting and discouraging peer
//!   %d!").
//!
//! Of Core's misbehaviours only the address-message size rule concerns the overlay
//! ([`Misbehavior::OversizedAddr`]); the others are transaction/block rules (listed in
//! disconnect.rs as removed).

use std::fmt;

use crate::addr_relay::MAX_ADDR_TO_SEND;
use crate::connection_type::ConnectionType;
use crate::disconnect::DisconnectReason;
use crate::eviction::NodeId;

/// A misbehaviour the overlay punishes (Core's `Misbehaving(peer, message)` call sites).
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Misbehavior {
    /// `addr` / `addrv2` with more than [`MAX_ADDR_TO_SEND`] entries.
    OversizedAddr {
        /// `"addr"` or `"addrv2"`.
        msg_type: String,
        /// Number of entries received.
        size: usize,
    },
    /// Any other message (Core allows an empty one: `UnitTestMisbehaving`).
    Other(String),
}

impl Misbehavior {
    /// Not in Core: core's message text for the `Misbehaving` log line, e.g. `addr message size = 1001`.
    pub fn message(&self) -> String {
        match self {
            Misbehavior::OversizedAddr { msg_type, size } => {
                format!("{msg_type} message size = {size}")
            }
            Misbehavior::Other(m) => m.clone(),
        }
    }
}

impl fmt::Display for Misbehavior {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())
    }
}

/// Port of the addr size check in PeerManagerImpl::ProcessMessage (net_processing.cpp): the `addr`/`addrv2` size rule of `ProcessMessage`: `Some` when `size` exceeds
/// [`MAX_ADDR_TO_SEND`].
pub fn check_addr_message_size(msg_type: &str, size: usize) -> Option<Misbehavior> {
    //DMITRY: addr/addrv2 with more than MAX_ADDR_TO_SEND (1000) entries marks the peer for discouragement; Core: net_processing.cpp::PeerManagerImpl::ProcessMessage ("addr"/"addrv2"); kept: address relay
    // is part of the overlay, the limit bounds our work.
    (size > MAX_ADDR_TO_SEND).then(|| Misbehavior::OversizedAddr {
        msg_type: msg_type.to_string(),
        size,
    })
}

/// Per-peer misbehaviour state (Core's `Peer::m_should_discourage`, guarded by
/// `m_misbehavior_mutex`: the caller holds the peer's lock).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct MisbehaviorState {
    m_should_discourage: bool,
}

impl MisbehaviorState {
    /// Not in Core: A well-behaved peer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Not in Core: the peer is marked for discouragement.
    pub fn should_discourage(&self) -> bool {
        self.m_should_discourage
    }

    /// Port of PeerManagerImpl::Misbehaving (net_processing.cpp).
    ///
    /// Marks the peer; returns Core's debug line (`Misbehaving: peer=9: addr message size =
    /// 1001`). The action comes later from [`maybe_discourage_and_disconnect`].
    pub fn misbehaving(&mut self, peer_id: NodeId, message: &str) -> String {
        self.m_should_discourage = true;
        if message.is_empty() {
            format!("Misbehaving: peer={peer_id}")
        } else {
            format!("Misbehaving: peer={peer_id}: {message}")
        }
    }
}

/// Who the peer is, as far as punishment goes.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct PunishFlags {
    /// The peer has the `noban` permission.
    pub m_noban: bool,
    /// The connection type (`Manual` is never punished).
    pub conn_type: ConnectionType,
    /// The peer's address is local (`CNetAddr::IsLocal`).
    pub is_local: bool,
    /// The peer came in through our onion service (`CNode::m_inbound_onion`); such peers have
    /// a local address, only the log text differs.
    pub m_inbound_onion: bool,
}

/// What [`maybe_discourage_and_disconnect`] decided.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum PunishAction {
    /// The peer is not marked: nothing to do (Core returns false silently).
    NotMarked,
    /// Marked, but a `noban` peer: not punished.
    NoPunishNoban,
    /// Marked, but a manual connection: not punished.
    NoPunishManual,
    /// Marked, local address: disconnect, do not discourage.
    DisconnectOnly {
        /// The peer is an inbound onion peer (changes the log text).
        inbound_onion: bool,
    },
    /// Marked: disconnect everyone at the address and discourage it.
    DisconnectAndDiscourage,
}

impl PunishAction {
    /// Not in Core: core's return value: the peer was disconnected.
    pub fn disconnects(&self) -> bool {
        matches!(
            self,
            PunishAction::DisconnectOnly { .. } | PunishAction::DisconnectAndDiscourage
        )
    }

    /// Not in Core: the address goes to the ban manager's discouragement filter.
    pub fn discourages(&self) -> bool {
        matches!(self, PunishAction::DisconnectAndDiscourage)
    }

    /// Not in Core: the typed reason to record on the node, for the disconnecting actions.
    pub fn disconnect_reason(&self) -> Option<DisconnectReason> {
        match self {
            PunishAction::DisconnectOnly { inbound_onion } => {
                Some(DisconnectReason::MisbehavingLocal {
                    inbound_onion: *inbound_onion,
                })
            }
            PunishAction::DisconnectAndDiscourage => Some(DisconnectReason::Discouraged),
            _ => None,
        }
    }

    /// Not in Core: core's log line, `None` when Core logs nothing.
    pub fn log_text(&self, peer_id: NodeId) -> Option<String> {
        match self {
            PunishAction::NotMarked => None,
            PunishAction::NoPunishNoban => {
                Some(format!("Warning: not punishing noban peer {peer_id}!"))
            }
            PunishAction::NoPunishManual => Some(format!(
                "Warning: not punishing manually connected peer {peer_id}!"
            )),
            PunishAction::DisconnectOnly { .. } | PunishAction::DisconnectAndDiscourage => self
                .disconnect_reason()
                .and_then(|r| r.log_text(peer_id, None)),
        }
    }

    /// Not in Core: level of Core's line: the two "not punishing" warnings are `LogPrintf` (unconditional,
    /// `Info`), the disconnecting ones `LogDebug(BCLog::NET, ...)`.
    pub fn log_level(&self) -> log::Level {
        match self {
            PunishAction::NoPunishNoban | PunishAction::NoPunishManual => log::Level::Info,
            _ => log::Level::Debug,
        }
    }
}

/// Port of PeerManagerImpl::MaybeDiscourageAndDisconnect (net_processing.cpp).
///
/// Clears the mark and says what to do with a marked peer; the caller disconnects
/// (`fDisconnect`, or `DisconnectNode(addr)` for [`PunishAction::DisconnectAndDiscourage`],
/// which drops every peer at that address) and calls `BanMan::discourage`.
pub fn maybe_discourage_and_disconnect(
    state: &mut MisbehaviorState,
    flags: PunishFlags,
) -> PunishAction {
    if !state.m_should_discourage {
        return PunishAction::NotMarked;
    }
    state.m_should_discourage = false;

    //DMITRY: misbehaving noban peer is neither disconnected nor discouraged; Core: net_processing.cpp::PeerManagerImpl::MaybeDiscourageAndDisconnect; kept: the operator
    // vouched for it.
    if flags.m_noban {
        return PunishAction::NoPunishNoban;
    }
    //DMITRY: misbehaving manual peer is neither disconnected nor discouraged; Core: net_processing.cpp::PeerManagerImpl::MaybeDiscourageAndDisconnect; kept: the user
    // asked for this peer.
    if flags.conn_type.is_manual_conn() {
        return PunishAction::NoPunishManual;
    }
    //DMITRY: misbehaving local peer is disconnected but not discouraged; Core: net_processing.cpp::PeerManagerImpl::MaybeDiscourageAndDisconnect; kept: discouraging a
    // local address would hit every local peer (and all inbound onion peers).
    if flags.is_local {
        return PunishAction::DisconnectOnly {
            inbound_onion: flags.m_inbound_onion,
        };
    }
    //DMITRY: misbehaving peer is disconnected and its address discouraged; Core: net_processing.cpp::PeerManagerImpl::MaybeDiscourageAndDisconnect; kept: same rule
    // as bitcoind so the diffs agree.
    PunishAction::DisconnectAndDiscourage
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connection_type::ALL_CONNECTION_TYPES;

    fn flags(noban: bool, conn_type: ConnectionType, is_local: bool) -> PunishFlags {
        PunishFlags {
            m_noban: noban,
            conn_type,
            is_local,
            m_inbound_onion: false,
        }
    }

    /// The vectors' `addr_1001` case: bitcoind logs `Misbehaving: peer=9: addr message size =
    /// 1001` then `Warning: disconnecting but not discouraging local peer 9!`.
    #[test]
    fn addr_1001_from_loopback_matches_bitcoind_log() {
        assert_eq!(check_addr_message_size("addr", 1000), None);
        let m = check_addr_message_size("addr", 1001).expect("1001 > MAX_ADDR_TO_SEND");
        let mut s = MisbehaviorState::new();
        assert!(!s.should_discourage());
        assert_eq!(
            s.misbehaving(9, &m.message()),
            "Misbehaving: peer=9: addr message size = 1001"
        );
        assert!(s.should_discourage());
        let a =
            maybe_discourage_and_disconnect(&mut s, flags(false, ConnectionType::Inbound, true));
        assert_eq!(
            a,
            PunishAction::DisconnectOnly {
                inbound_onion: false
            }
        );
        assert!(a.disconnects());
        assert!(!a.discourages());
        assert_eq!(
            a.log_text(9).unwrap(),
            "Warning: disconnecting but not discouraging local peer 9!"
        );
        assert_eq!(a.log_level(), log::Level::Debug);
        // The mark is consumed.
        assert!(!s.should_discourage());
        assert_eq!(
            maybe_discourage_and_disconnect(&mut s, flags(false, ConnectionType::Inbound, true)),
            PunishAction::NotMarked
        );
    }

    #[test]
    fn addrv2_size_message() {
        let m = check_addr_message_size("addrv2", 5000).unwrap();
        assert_eq!(m.to_string(), "addrv2 message size = 5000");
    }

    #[test]
    fn empty_message_has_no_suffix() {
        let mut s = MisbehaviorState::new();
        assert_eq!(s.misbehaving(3, ""), "Misbehaving: peer=3");
        assert_eq!(Misbehavior::Other(String::new()).message(), "");
    }

    #[test]
    fn unmarked_peer_is_left_alone() {
        for t in ALL_CONNECTION_TYPES {
            for noban in [false, true] {
                for local in [false, true] {
                    let mut s = MisbehaviorState::new();
                    let a = maybe_discourage_and_disconnect(&mut s, flags(noban, t, local));
                    assert_eq!(a, PunishAction::NotMarked);
                    assert_eq!(a.log_text(1), None);
                    assert!(!a.disconnects());
                }
            }
        }
    }

    /// The full decision table, in Core's order of checks: noban, manual, local, otherwise.
    #[test]
    fn decision_table() {
        for t in ALL_CONNECTION_TYPES {
            for noban in [false, true] {
                for local in [false, true] {
                    let mut s = MisbehaviorState::new();
                    s.misbehaving(5, "x");
                    let a = maybe_discourage_and_disconnect(&mut s, flags(noban, t, local));
                    let want = if noban {
                        PunishAction::NoPunishNoban
                    } else if t == ConnectionType::Manual {
                        PunishAction::NoPunishManual
                    } else if local {
                        PunishAction::DisconnectOnly {
                            inbound_onion: false,
                        }
                    } else {
                        PunishAction::DisconnectAndDiscourage
                    };
                    assert_eq!(a, want, "{t:?} noban={noban} local={local}");
                    assert!(!s.should_discourage());
                }
            }
        }
    }

    #[test]
    fn log_texts_match_core() {
        assert_eq!(
            PunishAction::NoPunishNoban.log_text(4).unwrap(),
            "Warning: not punishing noban peer 4!"
        );
        assert_eq!(PunishAction::NoPunishNoban.log_level(), log::Level::Info);
        assert_eq!(
            PunishAction::NoPunishManual.log_text(4).unwrap(),
            "Warning: not punishing manually connected peer 4!"
        );
        assert_eq!(PunishAction::NoPunishManual.log_level(), log::Level::Info);
        assert_eq!(
            PunishAction::DisconnectAndDiscourage.log_text(4).unwrap(),
            "Disconnecting and discouraging peer 4!"
        );
        assert_eq!(
            PunishAction::DisconnectOnly {
                inbound_onion: true
            }
            .log_text(4)
            .unwrap(),
            "Warning: disconnecting but not discouraging inbound onion peer 4!"
        );
    }

    #[test]
    fn inbound_onion_peer_is_disconnected_not_discouraged() {
        let mut s = MisbehaviorState::new();
        s.misbehaving(8, "addr message size = 2000");
        let a = maybe_discourage_and_disconnect(
            &mut s,
            PunishFlags {
                m_noban: false,
                conn_type: ConnectionType::Inbound,
                is_local: true,
                m_inbound_onion: true,
            },
        );
        assert_eq!(
            a.disconnect_reason(),
            Some(DisconnectReason::MisbehavingLocal {
                inbound_onion: true
            })
        );
        assert!(!a.discourages());
    }

    #[test]
    fn outbound_routable_peer_is_discouraged() {
        let mut s = MisbehaviorState::new();
        s.misbehaving(2, "addr message size = 1001");
        let a = maybe_discourage_and_disconnect(
            &mut s,
            flags(false, ConnectionType::OutboundFullRelay, false),
        );
        assert!(a.disconnects() && a.discourages());
        assert_eq!(a.disconnect_reason(), Some(DisconnectReason::Discouraged));
        assert_eq!(PunishAction::NoPunishManual.disconnect_reason(), None);
    }

    /// Misbehaving twice before the decision is the same as once (a flag, not a score).
    #[test]
    fn repeated_misbehaviour_is_one_decision() {
        let mut s = MisbehaviorState::new();
        s.misbehaving(1, "a");
        s.misbehaving(1, "b");
        let f = flags(false, ConnectionType::Inbound, false);
        assert_eq!(
            maybe_discourage_and_disconnect(&mut s, f),
            PunishAction::DisconnectAndDiscourage
        );
        assert_eq!(
            maybe_discourage_and_disconnect(&mut s, f),
            PunishAction::NotMarked
        );
    }
}
