//! Connection timeouts and keep-alive pings, as pure decisions with the time passed in.
//!
//! Ports of `CConnman::ShouldRunInactivityChecks` and `CConnman::InactivityCheck` (net.cpp) —
//! the handshake / first-message timeout (`-peertimeout`, default 60 s) and the 20-minute send
//! and receive timeouts — and of `PeerManagerImpl::MaybeSendPing` plus the `pong` branch of
//! `PeerManagerImpl::ProcessMessage` (net_processing.cpp): a ping every 2 minutes as a latency
//! probe and keep-alive (BIP 31), dropped peers whose pong is 20 minutes late.
//!
//! Call order for one peer, as Core's threads do it:
//! - socket handler, every pass: [`inactivity_check`] on the peer's [`NodeActivity`];
//!   `Some(reason)` → mark the peer for disconnection with that reason.
//! - message handler, after the handshake (`fSuccessfullyConnected`), every `SendMessages`:
//!   [`PingState::maybe_send_ping`]; act on the [`PingAction`].
//! - on a received `pong`: [`PingState::received_pong`] with the payload and the time the
//!   message was received; log [`PongOutcome::log_text`] if any; copy
//!   [`PingState::min_ping_time`] into the eviction candidate.
//!
//! Times: seconds (`i64`) for connection times, as Core's `m_connected`/`m_last_send`/
//! `m_last_recv` (`std::chrono::seconds`), microseconds for pings, as Core's `m_ping_start`.
//! 0 means "never" for the last-send/last-receive times, as in Core.

use rand_core::RngCore;

use crate::disconnect::DisconnectReason;

/// Time between keep-alive pings, in microseconds (Core's `PING_INTERVAL`, 2 minutes).
pub const PING_INTERVAL: i64 = 2 * 60 * 1_000_000;
/// Inactivity / ping timeout, in seconds (Core's `TIMEOUT_INTERVAL`, 20 minutes).
pub const TIMEOUT_INTERVAL: i64 = 20 * 60;
/// Default `-peertimeout`, in seconds: how long a new connection may stay silent or without a
/// completed handshake (Core's `DEFAULT_PEER_CONNECT_TIMEOUT`).
pub const DEFAULT_PEER_CONNECT_TIMEOUT: i64 = 60;
/// Protocol version from which `ping` carries a nonce and is answered by `pong` (BIP 31).
pub use protocol::version::BIP0031_VERSION;

const MICROS_PER_SEC: i64 = 1_000_000;

/// Port of CConnman::ShouldRunInactivityChecks (net.cpp).
///
/// Inactivity checks apply once the connection is older than `-peertimeout`:
/// `m_connected + peer_connect_timeout < now`, all in seconds.
pub fn should_run_inactivity_checks(
    m_connected: i64,
    peer_connect_timeout: i64,
    now_secs: i64,
) -> bool {
    m_connected.saturating_add(peer_connect_timeout) < now_secs
}

/// What [`inactivity_check`] needs to know of a connection (fields of Core's `CNode`).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct NodeActivity {
    /// When the connection was made, in seconds.
    pub m_connected: i64,
    /// When we last sent bytes, in seconds; 0 = never.
    pub m_last_send: i64,
    /// When we last received bytes, in seconds; 0 = never.
    pub m_last_recv: i64,
    /// `version` and `verack` have both been exchanged.
    pub f_successfully_connected: bool,
}

impl NodeActivity {
    /// Not in Core: A connection made at `now_secs`: nothing sent or received yet.
    pub fn new(now_secs: i64) -> Self {
        NodeActivity {
            m_connected: now_secs,
            ..Default::default()
        }
    }
}

/// Port of CConnman::InactivityCheck (net.cpp).
///
/// `Some(reason)` when the peer must be disconnected now; the reason prints Core's line.
/// `peer_connect_timeout` is `-peertimeout` in seconds.
pub fn inactivity_check(
    node: &NodeActivity,
    peer_connect_timeout: i64,
    now_secs: i64,
) -> Option<DisconnectReason> {
    if !should_run_inactivity_checks(node.m_connected, peer_connect_timeout, now_secs) {
        return None;
    }
    let has_received = node.m_last_recv != 0;
    let has_sent = node.m_last_send != 0;

    //DMITRY: nothing sent or nothing received within -peertimeout of connecting (a peer that never sends `version`, or sends something else first, ends here); Core: net.cpp::CConnman::InactivityCheck; kept: a silent
    // connection holds a slot for nothing.
    if !has_received || !has_sent {
        return Some(DisconnectReason::NoMessageInFirst {
            peer_connect_timeout,
            never_received: !has_received,
            never_sent: !has_sent,
        });
    }
    //DMITRY: nothing sent for TIMEOUT_INTERVAL; Core: net.cpp::CConnman::InactivityCheck; kept: with pings
    // every 2 min this is a stuck connection.
    if now_secs > node.m_last_send.saturating_add(TIMEOUT_INTERVAL) {
        return Some(DisconnectReason::SendingTimeout {
            secs: now_secs - node.m_last_send,
        });
    }
    //DMITRY: nothing received for TIMEOUT_INTERVAL; Core: net.cpp::CConnman::InactivityCheck; kept: a live
    // peer answers our pings well within that.
    if now_secs > node.m_last_recv.saturating_add(TIMEOUT_INTERVAL) {
        return Some(DisconnectReason::ReceiveTimeout {
            secs: now_secs - node.m_last_recv,
        });
    }
    //DMITRY: handshake (version + verack) not finished within -peertimeout; Core: net.cpp::CConnman::InactivityCheck; kept: an unfinished
    // handshake holds a slot for nothing (Core's "V2 handshake timeout" branch removed: v1
    // transport only, a connection is never in the DETECTING state).
    if !node.f_successfully_connected {
        return Some(DisconnectReason::VersionHandshakeTimeout);
    }
    None
}

/// Not in Core: the earliest time, in seconds, at which [`inactivity_check`] can answer differently than it
/// does at `now_secs`, assuming no traffic in between: the socket handler need not wake for
/// timeouts before then (quinn-style timer). `None` when a check already fires at `now_secs`.
pub fn next_inactivity_deadline(
    node: &NodeActivity,
    peer_connect_timeout: i64,
    now_secs: i64,
) -> Option<i64> {
    if inactivity_check(node, peer_connect_timeout, now_secs).is_some() {
        return None;
    }
    if !should_run_inactivity_checks(node.m_connected, peer_connect_timeout, now_secs) {
        return Some(node.m_connected.saturating_add(peer_connect_timeout) + 1);
    }
    // Checks run, both times are set, handshake done: only the 20-minute timeouts remain.
    Some(
        node.m_last_send
            .min(node.m_last_recv)
            .saturating_add(TIMEOUT_INTERVAL)
            + 1,
    )
}

/// What [`PingState::maybe_send_ping`] decided.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum PingAction {
    /// Nothing to do.
    None,
    /// Send `ping`. `Some(nonce)`: a BIP 31 ping with that nonce; `None`: an empty ping to a
    /// peer older than BIP 31, which will never answer.
    SendPing(Option<u64>),
    /// The outstanding ping timed out: disconnect ([`DisconnectReason::PingTimeout`]).
    Disconnect(DisconnectReason),
}

/// Why a `pong` was not a clean answer to our ping (Core's `sProblem` strings).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum PongProblem {
    /// The answer arrived before the ping was sent (clock went backwards).
    TimingMishap,
    /// Nonce differs from ours (normal when pings overlap); the ping stays outstanding.
    NonceMismatch,
    /// Nonce is zero: a broken implementation; the ping is cancelled.
    NonceZero,
    /// We have no ping outstanding.
    UnsolicitedPong,
    /// Payload shorter than 8 bytes: a broken implementation; the ping is cancelled.
    ShortPayload,
}

impl PongProblem {
    /// Not in Core: core's text for the problem.
    pub fn as_str(self) -> &'static str {
        match self {
            PongProblem::TimingMishap => "Timing mishap",
            PongProblem::NonceMismatch => "Nonce mismatch",
            PongProblem::NonceZero => "Nonce zero",
            PongProblem::UnsolicitedPong => "Unsolicited pong without ping",
            PongProblem::ShortPayload => "Short payload",
        }
    }
}

/// What [`PingState::received_pong`] found.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct PongOutcome {
    /// The ping is no longer outstanding (answered, or cancelled).
    pub ping_finished: bool,
    /// Round trip in microseconds, when the pong answered our ping cleanly.
    pub ping_time: Option<i64>,
    /// What was wrong, if anything.
    pub problem: Option<PongProblem>,
    /// The nonce we were waiting for when the pong arrived (0 = none).
    pub expected_nonce: u64,
    /// The nonce received (0 if the payload was short).
    pub received_nonce: u64,
    /// Payload size in bytes.
    pub n_avail: usize,
}

impl PongOutcome {
    /// Not in Core: core's debug line for a problematic pong, `None` for a clean one.
    pub fn log_text(&self, peer_id: i64) -> Option<String> {
        self.problem.map(|p| {
            format!(
                "pong peer={peer_id}: {}, {:x} expected, {:x} received, {} bytes",
                p.as_str(),
                self.expected_nonce,
                self.received_nonce,
                self.n_avail
            )
        })
    }
}

/// Per-peer ping state: Core's `Peer::m_ping_nonce_sent`, `m_ping_start`, `m_ping_queued` and
/// `CNode::m_last_ping_time`, `m_min_ping_time`.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct PingState {
    /// Nonce of the outstanding ping; 0 = none outstanding.
    m_ping_nonce_sent: u64,
    /// When the last ping was sent, in microseconds; 0 before the first.
    m_ping_start: i64,
    /// A ping was requested (the `ping` RPC).
    m_ping_queued: bool,
    /// Last round trip in microseconds, if any.
    m_last_ping_time: Option<i64>,
    /// Smallest round trip in microseconds; `i64::MAX` when none yet.
    m_min_ping_time: i64,
}

impl Default for PingState {
    fn default() -> Self {
        Self::new()
    }
}

impl PingState {
    /// Not in Core: A new peer: no ping sent yet, so the first [`Self::maybe_send_ping`] after the handshake
    /// sends one at once.
    pub fn new() -> Self {
        PingState {
            m_ping_nonce_sent: 0,
            m_ping_start: 0,
            m_ping_queued: false,
            m_last_ping_time: None,
            m_min_ping_time: i64::MAX,
        }
    }

    /// Port of Peer::m_ping_queued (net_processing.cpp), set: ask for a ping at the next [`Self::maybe_send_ping`] (Core: the `ping` RPC sets
    /// `m_ping_queued`).
    pub fn queue_ping(&mut self) {
        self.m_ping_queued = true;
    }

    /// Not in Core: nonce of the outstanding ping, 0 if none.
    pub fn ping_nonce_sent(&self) -> u64 {
        self.m_ping_nonce_sent
    }

    /// Not in Core: when the last ping was sent (microseconds), 0 if never.
    pub fn ping_start(&self) -> i64 {
        self.m_ping_start
    }

    /// Not in Core: A ping is queued by request.
    pub fn ping_queued(&self) -> bool {
        self.m_ping_queued
    }

    /// Not in Core: last round trip in microseconds (`getpeerinfo` `pingtime`).
    pub fn last_ping_time(&self) -> Option<i64> {
        self.m_last_ping_time
    }

    /// Not in Core: smallest round trip in microseconds, `i64::MAX` if none (eviction's `m_min_ping_time`).
    pub fn min_ping_time(&self) -> i64 {
        self.m_min_ping_time
    }

    /// Not in Core: how long the outstanding ping has waited, in microseconds (`getpeerinfo` `pingwait`).
    pub fn ping_wait(&self, now_micros: i64) -> Option<i64> {
        (self.m_ping_nonce_sent != 0).then(|| now_micros - self.m_ping_start)
    }

    /// Port of CNode::PongReceived (net.h): record a completed round trip.
    fn pong_received(&mut self, ping_time: i64) {
        self.m_last_ping_time = Some(ping_time);
        self.m_min_ping_time = self.m_min_ping_time.min(ping_time);
    }

    /// Port of PeerManagerImpl::MaybeSendPing (net_processing.cpp).
    ///
    /// Call after the handshake, on every send pass. `m_connected` (seconds) and
    /// `peer_connect_timeout` (`-peertimeout`, seconds) decide whether timeouts apply yet
    /// (`ShouldRunInactivityChecks`); `common_version` is the negotiated protocol version; the
    /// nonce is drawn from `rng` (never 0).
    pub fn maybe_send_ping<R: RngCore + ?Sized>(
        &mut self,
        now_micros: i64,
        m_connected: i64,
        peer_connect_timeout: i64,
        common_version: i32,
        rng: &mut R,
    ) -> PingAction {
        let now_secs = now_micros.div_euclid(MICROS_PER_SEC);
        //DMITRY: outstanding ping unanswered for TIMEOUT_INTERVAL; Core: net_processing.cpp::PeerManagerImpl::MaybeSendPing; kept: the peer
        // is dead or stuck.
        if should_run_inactivity_checks(m_connected, peer_connect_timeout, now_secs)
            && self.m_ping_nonce_sent != 0
            && now_micros
                > self
                    .m_ping_start
                    .saturating_add(TIMEOUT_INTERVAL * MICROS_PER_SEC)
        {
            return PingAction::Disconnect(DisconnectReason::PingTimeout {
                elapsed_micros: now_micros - self.m_ping_start,
            });
        }

        // A requested ping, or the periodic keep-alive when none is outstanding.
        let ping_send = self.m_ping_queued
            || (self.m_ping_nonce_sent == 0
                && now_micros > self.m_ping_start.saturating_add(PING_INTERVAL));
        if !ping_send {
            return PingAction::None;
        }
        let nonce = loop {
            let n = rng.next_u64();
            if n != 0 {
                break n;
            }
        };
        self.m_ping_queued = false;
        self.m_ping_start = now_micros;
        if common_version > BIP0031_VERSION {
            self.m_ping_nonce_sent = nonce;
            PingAction::SendPing(Some(nonce))
        } else {
            // Too old for nonces: no pong will come, so nothing is outstanding.
            self.m_ping_nonce_sent = 0;
            PingAction::SendPing(None)
        }
    }

    /// Port of the "pong" branch of PeerManagerImpl::ProcessMessage (net_processing.cpp).
    ///
    /// `nonce` is the payload's nonce (its first 8 bytes), `None` when the payload is shorter;
    /// `n_avail` is the payload's size; `time_received` is when the message came off the wire,
    /// in microseconds.
    pub fn received_pong(
        &mut self,
        nonce_read: Option<u64>,
        n_avail: usize,
        time_received: i64,
    ) -> PongOutcome {
        let expected_nonce = self.m_ping_nonce_sent;
        let mut nonce = 0u64;
        let mut ping_finished = false;
        let mut ping_time = None;
        let problem;

        if let Some(n) = nonce_read {
            nonce = n;
            if self.m_ping_nonce_sent != 0 {
                if nonce == self.m_ping_nonce_sent {
                    ping_finished = true;
                    let rtt = time_received - self.m_ping_start;
                    if rtt >= 0 {
                        self.pong_received(rtt);
                        ping_time = Some(rtt);
                        problem = None;
                    } else {
                        problem = Some(PongProblem::TimingMishap);
                    }
                } else if nonce == 0 {
                    ping_finished = true;
                    problem = Some(PongProblem::NonceZero);
                } else {
                    problem = Some(PongProblem::NonceMismatch);
                }
            } else {
                problem = Some(PongProblem::UnsolicitedPong);
            }
        } else {
            ping_finished = true;
            problem = Some(PongProblem::ShortPayload);
        }

        if ping_finished {
            self.m_ping_nonce_sent = 0;
        }
        PongOutcome {
            ping_finished,
            ping_time,
            problem,
            expected_nonce,
            received_nonce: nonce,
            n_avail,
        }
    }

    /// Not in Core: the earliest time (microseconds) at which [`Self::maybe_send_ping`] can act without a
    /// new request: the next keep-alive, or the ping timeout (which also needs the inactivity
    /// checks to be running: a caller's timer must also wait for those, or it wakes for
    /// nothing at every pass until they start).
    pub fn next_ping_deadline(&self) -> i64 {
        if self.m_ping_queued {
            return i64::MIN;
        }
        if self.m_ping_nonce_sent != 0 {
            self.m_ping_start
                .saturating_add(TIMEOUT_INTERVAL * MICROS_PER_SEC)
                .saturating_add(1)
        } else {
            self.m_ping_start
                .saturating_add(PING_INTERVAL)
                .saturating_add(1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A pong whose payload is `payload` (Core reads the nonce only from 8 bytes or more).
    fn pong_bytes(p: &mut PingState, payload: &[u8], time: i64) -> PongOutcome {
        let nonce = payload.first_chunk::<8>().map(|b| u64::from_le_bytes(*b));
        p.received_pong(nonce, payload.len(), time)
    }
    use protocol::version::PROTOCOL_VERSION;
    use rand_chacha::rand_core::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    /// A mock clock in microseconds (Core's SetMockTime), starting near the vectors' dates.
    struct MockTime(i64);
    impl MockTime {
        fn new() -> Self {
            MockTime(1_795_503_770 * MICROS_PER_SEC)
        }
        fn micros(&self) -> i64 {
            self.0
        }
        fn secs(&self) -> i64 {
            self.0.div_euclid(MICROS_PER_SEC)
        }
        fn advance_secs(&mut self, s: i64) {
            self.0 += s * MICROS_PER_SEC;
        }
        fn advance_micros(&mut self, us: i64) {
            self.0 += us;
        }
    }

    fn rng() -> ChaCha20Rng {
        ChaCha20Rng::seed_from_u64(7)
    }

    /// An RNG whose first draws are zero, to check the nonce is redrawn.
    struct ZeroThen(u64, u32);
    impl RngCore for ZeroThen {
        fn next_u32(&mut self) -> u32 {
            self.next_u64() as u32
        }
        fn next_u64(&mut self) -> u64 {
            if self.1 > 0 {
                self.1 -= 1;
                0
            } else {
                self.0
            }
        }
        fn fill_bytes(&mut self, dest: &mut [u8]) {
            for b in dest {
                *b = self.next_u64() as u8;
            }
        }
        fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
            self.fill_bytes(dest);
            Ok(())
        }
    }

    #[test]
    fn constants_match_core() {
        assert_eq!(PING_INTERVAL, 120_000_000);
        assert_eq!(TIMEOUT_INTERVAL, 1200);
        assert_eq!(DEFAULT_PEER_CONNECT_TIMEOUT, 60);
        assert_eq!(BIP0031_VERSION, 60000);
    }

    #[test]
    fn should_run_inactivity_checks_is_strict() {
        assert!(!should_run_inactivity_checks(100, 60, 160));
        assert!(should_run_inactivity_checks(100, 60, 161));
        assert!(!should_run_inactivity_checks(100, 60, 50));
    }

    /// The vectors' `no_version_timeout` case: connect and send nothing, `-peertimeout=2`.
    #[test]
    fn silent_peer_dropped_after_peertimeout() {
        let mut t = MockTime::new();
        let node = NodeActivity::new(t.secs());
        for _ in 0..2 {
            t.advance_secs(1);
            assert_eq!(inactivity_check(&node, 2, t.secs()), None);
        }
        t.advance_secs(1);
        let r = inactivity_check(&node, 2, t.secs()).expect("dropped after 3 s");
        assert_eq!(
            r,
            DisconnectReason::NoMessageInFirst {
                peer_connect_timeout: 2,
                never_received: true,
                never_sent: true
            }
        );
        assert_eq!(
            r.log_text(12, Some("127.0.0.1:42532")).unwrap(),
            "socket no message in first 2 seconds, never received from peer, never sent to peer, disconnecting peer=12 peeraddr=127.0.0.1:42532"
        );
    }

    /// The vectors' `ping_before_version` case: the peer sent something, we never answered.
    #[test]
    fn peer_never_sent_to_dropped_after_peertimeout() {
        let mut t = MockTime::new();
        let mut node = NodeActivity::new(t.secs());
        node.m_last_recv = t.secs();
        t.advance_secs(3);
        assert_eq!(
            inactivity_check(&node, 2, t.secs()),
            Some(DisconnectReason::NoMessageInFirst {
                peer_connect_timeout: 2,
                never_received: false,
                never_sent: true
            })
        );
        // And the mirror: we sent, the peer never did.
        let mut node = NodeActivity::new(t.secs());
        node.m_last_send = t.secs();
        t.advance_secs(61);
        assert_eq!(
            inactivity_check(&node, DEFAULT_PEER_CONNECT_TIMEOUT, t.secs()),
            Some(DisconnectReason::NoMessageInFirst {
                peer_connect_timeout: 60,
                never_received: true,
                never_sent: false
            })
        );
    }

    #[test]
    fn handshake_timeout_when_traffic_but_no_verack() {
        let mut t = MockTime::new();
        let mut node = NodeActivity::new(t.secs());
        t.advance_secs(1);
        node.m_last_recv = t.secs();
        node.m_last_send = t.secs();
        t.advance_secs(59);
        assert_eq!(inactivity_check(&node, 60, t.secs()), None);
        t.advance_secs(1);
        assert_eq!(
            inactivity_check(&node, 60, t.secs()),
            Some(DisconnectReason::VersionHandshakeTimeout)
        );
        node.f_successfully_connected = true;
        assert_eq!(inactivity_check(&node, 60, t.secs()), None);
    }

    #[test]
    fn send_and_receive_timeouts_after_twenty_minutes() {
        let mut t = MockTime::new();
        let mut node = NodeActivity::new(t.secs());
        node.m_last_recv = t.secs();
        node.m_last_send = t.secs();
        node.f_successfully_connected = true;
        t.advance_secs(TIMEOUT_INTERVAL);
        assert_eq!(inactivity_check(&node, 60, t.secs()), None);
        // Receives keep coming; sends stopped.
        node.m_last_recv = t.secs();
        t.advance_secs(1);
        assert_eq!(
            inactivity_check(&node, 60, t.secs()),
            Some(DisconnectReason::SendingTimeout { secs: 1201 })
        );
        // Sends resume; receives stopped 1201 s ago.
        node.m_last_send = t.secs();
        t.advance_secs(TIMEOUT_INTERVAL);
        assert_eq!(
            inactivity_check(&node, 60, t.secs()),
            Some(DisconnectReason::ReceiveTimeout { secs: 1201 })
        );
        // The sending timeout is checked first when both are late.
        t.advance_secs(100);
        assert!(matches!(
            inactivity_check(&node, 60, t.secs()),
            Some(DisconnectReason::SendingTimeout { .. })
        ));
    }

    /// A huge -peertimeout disables every check (Core's advice for mocktime tests).
    #[test]
    fn huge_peertimeout_disables_checks() {
        let mut t = MockTime::new();
        let node = NodeActivity::new(t.secs());
        t.advance_secs(10 * TIMEOUT_INTERVAL);
        assert_eq!(inactivity_check(&node, 999_999_999, t.secs()), None);
        // No overflow with an absurd timeout.
        assert_eq!(inactivity_check(&node, i64::MAX, t.secs()), None);
    }

    #[test]
    fn inactivity_deadlines_point_at_the_next_change() {
        let t = MockTime::new();
        let mut node = NodeActivity::new(t.secs());
        let d = next_inactivity_deadline(&node, 60, t.secs()).unwrap();
        assert_eq!(d, t.secs() + 61);
        assert!(inactivity_check(&node, 60, d - 1).is_none());
        assert!(inactivity_check(&node, 60, d).is_some());
        assert_eq!(next_inactivity_deadline(&node, 60, d), None);

        node.m_last_send = t.secs() + 10;
        node.m_last_recv = t.secs() + 20;
        node.f_successfully_connected = true;
        let now = t.secs() + 100;
        let d = next_inactivity_deadline(&node, 60, now).unwrap();
        assert_eq!(d, t.secs() + 10 + TIMEOUT_INTERVAL + 1);
        assert!(inactivity_check(&node, 60, d - 1).is_none());
        assert!(inactivity_check(&node, 60, d).is_some());
    }

    #[test]
    fn first_ping_goes_out_at_once_then_every_two_minutes() {
        let mut t = MockTime::new();
        let connected = t.secs();
        let mut r = rng();
        let mut p = PingState::new();
        let a = p.maybe_send_ping(t.micros(), connected, 60, PROTOCOL_VERSION, &mut r);
        let nonce = match a {
            PingAction::SendPing(Some(n)) => n,
            other => panic!("{other:?}"),
        };
        assert_ne!(nonce, 0);
        assert_eq!(p.ping_nonce_sent(), nonce);
        assert_eq!(p.ping_start(), t.micros());
        // Outstanding: no new ping, however long (until the timeout).
        t.advance_secs(300);
        assert_eq!(
            p.maybe_send_ping(t.micros(), connected, 60, PROTOCOL_VERSION, &mut r),
            PingAction::None
        );
        // Answer it 300 s late: round trip recorded.
        let out = pong_bytes(&mut p, &nonce.to_le_bytes(), t.micros());
        assert!(out.ping_finished);
        assert_eq!(out.ping_time, Some(300 * MICROS_PER_SEC));
        assert_eq!(out.problem, None);
        assert_eq!(out.log_text(1), None);
        assert_eq!(p.ping_nonce_sent(), 0);
        assert_eq!(p.min_ping_time(), 300 * MICROS_PER_SEC);
        // Next keep-alive: strictly more than PING_INTERVAL after the last ping was sent,
        // which was 300 s ago, so at once.
        assert!(matches!(
            p.maybe_send_ping(t.micros(), connected, 60, PROTOCOL_VERSION, &mut r),
            PingAction::SendPing(Some(_))
        ));
        let n2 = p.ping_nonce_sent();
        pong_bytes(&mut p, &n2.to_le_bytes(), t.micros() + 50_000);
        assert_eq!(p.last_ping_time(), Some(50_000));
        assert_eq!(p.min_ping_time(), 50_000);
        // Exactly PING_INTERVAL later: not yet (Core's test is `>`).
        t.advance_micros(PING_INTERVAL);
        assert_eq!(
            p.maybe_send_ping(t.micros(), connected, 60, PROTOCOL_VERSION, &mut r),
            PingAction::None
        );
        t.advance_micros(1);
        assert!(matches!(
            p.maybe_send_ping(t.micros(), connected, 60, PROTOCOL_VERSION, &mut r),
            PingAction::SendPing(Some(_))
        ));
    }

    #[test]
    fn ping_timeout_after_twenty_minutes() {
        let mut t = MockTime::new();
        let connected = t.secs();
        let mut r = rng();
        let mut p = PingState::new();
        assert!(matches!(
            p.maybe_send_ping(t.micros(), connected, 60, PROTOCOL_VERSION, &mut r),
            PingAction::SendPing(Some(_))
        ));
        t.advance_secs(TIMEOUT_INTERVAL);
        assert_eq!(
            p.maybe_send_ping(t.micros(), connected, 60, PROTOCOL_VERSION, &mut r),
            PingAction::None
        );
        t.advance_micros(1);
        let a = p.maybe_send_ping(t.micros(), connected, 60, PROTOCOL_VERSION, &mut r);
        let reason = match a {
            PingAction::Disconnect(r) => r,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            reason,
            DisconnectReason::PingTimeout {
                elapsed_micros: TIMEOUT_INTERVAL * MICROS_PER_SEC + 1
            }
        );
        assert_eq!(
            reason.log_text(4, None).unwrap(),
            "ping timeout: 1200.000001s, disconnecting peer=4"
        );
    }

    /// The ping timeout waits for ShouldRunInactivityChecks, as Core's.
    #[test]
    fn ping_timeout_respects_peertimeout() {
        let mut t = MockTime::new();
        let connected = t.secs();
        let mut r = rng();
        let mut p = PingState::new();
        p.maybe_send_ping(t.micros(), connected, 999_999_999, PROTOCOL_VERSION, &mut r);
        t.advance_secs(2 * TIMEOUT_INTERVAL);
        assert_eq!(
            p.maybe_send_ping(t.micros(), connected, 999_999_999, PROTOCOL_VERSION, &mut r),
            PingAction::None
        );
    }

    #[test]
    fn queued_ping_is_sent_even_with_one_outstanding() {
        let mut t = MockTime::new();
        let mut r = rng();
        let mut p = PingState::new();
        p.maybe_send_ping(t.micros(), t.secs(), 60, PROTOCOL_VERSION, &mut r);
        let first = p.ping_nonce_sent();
        t.advance_secs(1);
        p.queue_ping();
        assert!(p.ping_queued());
        assert_eq!(p.next_ping_deadline(), i64::MIN);
        let a = p.maybe_send_ping(t.micros(), t.secs(), 60, PROTOCOL_VERSION, &mut r);
        let second = match a {
            PingAction::SendPing(Some(n)) => n,
            other => panic!("{other:?}"),
        };
        assert_ne!(first, second);
        assert!(!p.ping_queued());
        // The late answer to the first ping is now a mismatch; the second stays outstanding.
        let out = pong_bytes(&mut p, &first.to_le_bytes(), t.micros());
        assert_eq!(out.problem, Some(PongProblem::NonceMismatch));
        assert!(!out.ping_finished);
        assert_eq!(p.ping_nonce_sent(), second);
        assert_eq!(
            out.log_text(2).unwrap(),
            format!(
                "pong peer=2: Nonce mismatch, {second:x} expected, {first:x} received, 8 bytes"
            )
        );
    }

    #[test]
    fn old_peer_gets_an_empty_ping_and_nothing_outstanding() {
        let t = MockTime::new();
        let mut r = rng();
        let mut p = PingState::new();
        assert_eq!(
            p.maybe_send_ping(t.micros(), t.secs(), 60, BIP0031_VERSION, &mut r),
            PingAction::SendPing(None)
        );
        assert_eq!(p.ping_nonce_sent(), 0);
        assert_eq!(p.ping_start(), t.micros());
        // Any pong is then unsolicited.
        let out = pong_bytes(&mut p, &5u64.to_le_bytes(), t.micros());
        assert_eq!(out.problem, Some(PongProblem::UnsolicitedPong));
        assert!(!out.ping_finished);
        assert_eq!(
            out.log_text(0).unwrap(),
            "pong peer=0: Unsolicited pong without ping, 0 expected, 5 received, 8 bytes"
        );
    }

    #[test]
    fn nonce_zero_is_redrawn() {
        let t = MockTime::new();
        let mut p = PingState::new();
        let mut r = ZeroThen(0xdead_beef, 3);
        assert_eq!(
            p.maybe_send_ping(t.micros(), t.secs(), 60, PROTOCOL_VERSION, &mut r),
            PingAction::SendPing(Some(0xdead_beef))
        );
    }

    #[test]
    fn pong_with_zero_nonce_cancels_ping() {
        let t = MockTime::new();
        let mut r = ZeroThen(0xabc, 0);
        let mut p = PingState::new();
        p.maybe_send_ping(t.micros(), t.secs(), 60, PROTOCOL_VERSION, &mut r);
        let out = pong_bytes(&mut p, &0u64.to_le_bytes(), t.micros());
        assert_eq!(out.problem, Some(PongProblem::NonceZero));
        assert!(out.ping_finished);
        assert_eq!(p.ping_nonce_sent(), 0);
        assert_eq!(p.min_ping_time(), i64::MAX);
        assert_eq!(
            out.log_text(3).unwrap(),
            "pong peer=3: Nonce zero, abc expected, 0 received, 8 bytes"
        );
    }

    #[test]
    fn short_pong_cancels_ping() {
        let t = MockTime::new();
        let mut r = ZeroThen(0x1234, 0);
        let mut p = PingState::new();
        p.maybe_send_ping(t.micros(), t.secs(), 60, PROTOCOL_VERSION, &mut r);
        let out = pong_bytes(&mut p, &[1, 2, 3], t.micros());
        assert_eq!(out.problem, Some(PongProblem::ShortPayload));
        assert!(out.ping_finished);
        assert_eq!(p.ping_nonce_sent(), 0);
        assert_eq!(
            out.log_text(3).unwrap(),
            "pong peer=3: Short payload, 1234 expected, 0 received, 3 bytes"
        );
        // Even with no ping outstanding a short payload is reported as such.
        let out = pong_bytes(&mut p, &[], t.micros());
        assert_eq!(out.problem, Some(PongProblem::ShortPayload));
        assert_eq!(out.n_avail, 0);
    }

    #[test]
    fn pong_before_ping_time_is_a_timing_mishap() {
        let t = MockTime::new();
        let mut r = ZeroThen(0x77, 0);
        let mut p = PingState::new();
        p.maybe_send_ping(t.micros(), t.secs(), 60, PROTOCOL_VERSION, &mut r);
        let out = pong_bytes(&mut p, &0x77u64.to_le_bytes(), t.micros() - 1);
        assert_eq!(out.problem, Some(PongProblem::TimingMishap));
        assert!(out.ping_finished);
        assert_eq!(out.ping_time, None);
        assert_eq!(p.last_ping_time(), None);
        assert_eq!(
            out.log_text(1).unwrap(),
            "pong peer=1: Timing mishap, 77 expected, 77 received, 8 bytes"
        );
    }

    #[test]
    fn long_pong_payload_reads_first_eight_bytes() {
        let t = MockTime::new();
        let mut r = ZeroThen(0x42, 0);
        let mut p = PingState::new();
        p.maybe_send_ping(t.micros(), t.secs(), 60, PROTOCOL_VERSION, &mut r);
        let mut payload = 0x42u64.to_le_bytes().to_vec();
        payload.extend_from_slice(&[9; 5]);
        let out = pong_bytes(&mut p, &payload, t.micros() + 10);
        assert_eq!(out.problem, None);
        assert_eq!(out.ping_time, Some(10));
        assert_eq!(out.n_avail, 13);
    }

    #[test]
    fn min_ping_time_keeps_the_smallest_and_ping_wait() {
        let mut t = MockTime::new();
        let mut r = rng();
        let mut p = PingState::new();
        assert_eq!(p.ping_wait(t.micros()), None);
        for rtt in [500, 200, 900] {
            t.advance_micros(PING_INTERVAL + 1);
            p.maybe_send_ping(t.micros(), 0, 60, PROTOCOL_VERSION, &mut r);
            assert_eq!(p.ping_wait(t.micros() + 7), Some(7));
            let n = p.ping_nonce_sent();
            pong_bytes(&mut p, &n.to_le_bytes(), t.micros() + rtt);
        }
        assert_eq!(p.min_ping_time(), 200);
        assert_eq!(p.last_ping_time(), Some(900));
    }

    #[test]
    fn ping_deadline_matches_behaviour() {
        let t = MockTime::new();
        let mut r = rng();
        let mut p = PingState::new();
        p.maybe_send_ping(t.micros(), 0, 60, PROTOCOL_VERSION, &mut r);
        let d = p.next_ping_deadline();
        assert_eq!(d, t.micros() + TIMEOUT_INTERVAL * MICROS_PER_SEC + 1);
        let mut q = p.clone();
        assert_eq!(
            q.maybe_send_ping(d - 1, 0, 60, PROTOCOL_VERSION, &mut r),
            PingAction::None
        );
        assert!(matches!(
            q.maybe_send_ping(d, 0, 60, PROTOCOL_VERSION, &mut r),
            PingAction::Disconnect(_)
        ));
        let n = p.ping_nonce_sent();
        pong_bytes(&mut p, &n.to_le_bytes(), t.micros() + 1);
        assert_eq!(p.next_ping_deadline(), t.micros() + PING_INTERVAL + 1);
    }
}
