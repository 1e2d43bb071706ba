//! Address relay, per peer: the `addr` / `addrv2` / `getaddr` / `sendaddrv2` part of Core's
//! `PeerManagerImpl` (net_processing.cpp) as a state machine with no IO. Time (microseconds) and
//! the RNG come in as arguments; every decision comes back as a value.
//!
//! # Integration (what the connman / peerman must call, and when)
//! Keep one [`AddrRelayPeer`] inside each `Peer` (created in `InitializeNode` with
//! [`AddrRelayPeer::new`]`(now)`), and one [`AddrRelayParams`] for the node.
//! 1. `version` received, not inbound (Core: after `VERACK` is pushed): call
//!    [`AddrRelayPeer::on_version_outbound`]; if it returns true, send `getaddr`.
//!    `version` from an inbound peer whose `addrMe` is routable: `LocalHostMap::seen_local`.
//!    If [`should_send_sendaddrv2`]`(greatest_common_version)`, send `sendaddrv2` (Core: before
//!    `verack`).
//! 2. `sendaddrv2` received: [`AddrRelayPeer::process_sendaddrv2`]`(fSuccessfullyConnected)`;
//!    `Err(reason)` → disconnect with that reason.
//! 3. `addr` / `addrv2` received (after verack), decoded with V1 / V2 params:
//!    [`AddrRelayPeer::process_addr`]. Then, for the returned [`AddrOutcome::Processed`]:
//!    for each `relay` entry call [`select_relay_targets`] over all peers and
//!    [`AddrRelayPeer::push_address`] on each chosen one; `addrman.add(&to_add, &pfrom.addr,
//!    ADDR_TIME_PENALTY)`; if `disconnect` is set, disconnect with it (addr-fetch done). For
//!    [`AddrOutcome::Oversized`] call `Misbehaving(peer, message)`.
//! 4. `getaddr` received: [`AddrRelayPeer::process_getaddr`] with a closure that returns the
//!    answer (`addr_cache::AddrResponseCache::get_addresses` for ordinary peers, or
//!    `addr_cache::get_addresses(MAX_ADDR_TO_SEND, MAX_PCT_ADDR_TO_SEND, None)` for peers with
//!    the `addr` permission).
//! 5. Every `SendMessages` pass after the handshake: first [`addr_fetch_timeout`] (disconnect
//!    with the reason it returns), then [`AddrRelayPeer::maybe_send_addr`]; send what it returns as `addrv2` or
//!    `addr`.
//! 6. `getpeerinfo`: `m_addr_processed`, `m_addr_rate_limited`, `m_addr_relay_enabled`.

use netbase::{CNetAddr, CService, ReachableNets};
use protocol::{CAddress, NetworkParams, ServiceFlags};
use rand_core::RngCore;

use crate::connection_type::ConnectionType;
use crate::disconnect::DisconnectReason;
use crate::local_addr::{LocalHostMap, LocalPeerView};
use crate::misbehavior::{check_addr_message_size, Misbehavior};
use crate::siphash::{c_service_hash, RandomizerSeeds};
use crate::NodeId;
use addrman::bloom::CRollingBloomFilter;

/// Core's `MAX_ADDR_TO_SEND`: most address records in one `addr` message.
pub const MAX_ADDR_TO_SEND: usize = 1000;
/// Core's `MAX_PCT_ADDR_TO_SEND`: most of addrman, in percent, given in one `getaddr` answer.
pub const MAX_PCT_ADDR_TO_SEND: usize = 23;
/// Core's `MAX_ADDR_RATE_PER_SECOND`: average address records processed per second per peer.
pub const MAX_ADDR_RATE_PER_SECOND: f64 = 0.1;
/// Core's `MAX_ADDR_PROCESSING_TOKEN_BUCKET`: soft cap of the token bucket (the `getaddr`
/// bonus may exceed it).
pub const MAX_ADDR_PROCESSING_TOKEN_BUCKET: usize = MAX_ADDR_TO_SEND;
/// Core's `AVG_ADDRESS_BROADCAST_INTERVAL` (30 s), microseconds.
pub const AVG_ADDRESS_BROADCAST_INTERVAL: i64 = 30 * 1_000_000;
/// Core's `AVG_LOCAL_ADDRESS_BROADCAST_INTERVAL` (24 h), microseconds.
pub const AVG_LOCAL_ADDRESS_BROADCAST_INTERVAL: i64 = 24 * 3600 * 1_000_000;
/// Core's `ROTATE_ADDR_RELAY_DEST_INTERVAL` (24 h), seconds.
pub const ROTATE_ADDR_RELAY_DEST_INTERVAL: i64 = 24 * 3600;
/// Core's `RANDOMIZER_ID_ADDRESS_RELAY` (`SHA256("main address relay")[0:8]`).
pub const RANDOMIZER_ID_ADDRESS_RELAY: u64 = 0x3cac_0035_b586_6b90;
/// Elements of the per-peer `m_addr_known` rolling filter (Core: 5000).
pub const ADDR_KNOWN_ELEMENTS: u32 = 5000;
/// False-positive rate of `m_addr_known` (Core: 0.001).
pub const ADDR_KNOWN_FP_RATE: f64 = 0.001;
/// Time penalty, seconds, for addresses learned from `addr` (Core: `m_addrman.Add(..., 2h)`).
pub const ADDR_TIME_PENALTY: i64 = 2 * 3600;
/// Addresses with a time at or before this (1973-03-03) get a fixed-up time (Core:
/// `NodeSeconds{100000000s}`).
pub const ADDR_TIME_TOO_OLD: i64 = 100_000_000;
/// How far in the future an address time may be (10 min) before it is fixed up, seconds.
pub const ADDR_TIME_MAX_FUTURE: i64 = 10 * 60;
/// The age given to an address with a bad time (5 days), seconds.
pub const ADDR_TIME_FIXUP_AGE: i64 = 5 * 24 * 3600;
/// An address is fresh enough to relay if its time is within this (10 min) of now, seconds.
pub const ADDR_RELAY_FRESH: i64 = 10 * 60;
/// Most addresses in a message whose addresses are still relayed (Core: `vAddr.size() <= 10`).
pub const ADDR_RELAY_MAX_MSG: usize = 10;

/// Port of Core's `MakeExponentiallyDistributed` + `rand_exp_duration` (random.{h,cpp}): an
/// exponentially distributed duration with the given mean (same unit in and out), rounded.
pub fn rand_exp_duration<R: RngCore + ?Sized>(rng: &mut R, mean: i64) -> i64 {
    let uniform = rng.next_u64();
    let x = ((uniform >> 11) as f64) * (-1.0 / (1u64 << 53) as f64);
    let unscaled = -x.ln_1p();
    (unscaled * mean as f64 + 0.5) as i64
}

/// Port of Core's `rand_uniform_duration` (random.h): uniform in `[0, range)` for a positive
/// range, `(range, 0]` for a negative one, 0 for 0.
pub fn rand_uniform_duration<R: RngCore + ?Sized>(rng: &mut R, range: i64) -> i64 {
    if range > 0 {
        randrange(rng, range as u64) as i64
    } else if range < 0 {
        -(randrange(rng, range.unsigned_abs()) as i64)
    } else {
        0
    }
}

/// Port of FastRandomContext::randrange (random.h): uniform integer in `[0, range)`, by
/// rejection on the smallest covering mask.
pub fn randrange<R: RngCore + ?Sized>(rng: &mut R, range: u64) -> u64 {
    if range <= 1 {
        return 0;
    }
    let max = range - 1;
    let bits = 64 - max.leading_zeros();
    let mask = if bits == 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    };
    loop {
        let r = rng.next_u64() & mask;
        if r <= max {
            return r;
        }
    }
}

/// Port of the time fix-up in ProcessMessage "addr" (net_processing.cpp): an address whose
/// time is before 1973 or more than 10 minutes ahead of `now` (seconds) is given `now − 5 days`.
pub fn fixup_addr_time(n_time: i64, now: i64) -> i64 {
    if n_time <= ADDR_TIME_TOO_OLD || n_time > now + ADDR_TIME_MAX_FUTURE {
        now - ADDR_TIME_FIXUP_AGE
    } else {
        n_time
    }
}

/// Node-wide inputs of `addr` processing.
pub struct AddrRelayParams<'a> {
    /// The network (desirable services, `MayHaveUsefulAddressDB`).
    pub params: &'a NetworkParams,
    /// Core's `g_reachable_nets`.
    pub reachable: &'a ReachableNets,
    /// Core's `m_banman->IsDiscouraged(addr) || m_banman->IsBanned(addr)`.
    pub is_banned_or_discouraged: &'a dyn Fn(&CNetAddr) -> bool,
}

/// The per-peer facts `addr` processing reads from `CNode`.
#[derive(Clone, Copy, Debug)]
pub struct AddrPeerInfo {
    /// `CNode::GetId()`.
    pub id: NodeId,
    /// `CNode::m_conn_type`.
    pub conn_type: ConnectionType,
    /// `HasPermission(NetPermissionFlags::Addr)`: exempt from the rate limit and the cache.
    pub has_addr_permission: bool,
}

/// What to do after an `addr` / `addrv2` message.
#[derive(Debug)]
pub enum AddrOutcome {
    /// Address relay is off with this peer (block-relay-only): message ignored.
    Ignored,
    /// More than [`MAX_ADDR_TO_SEND`] records: call `Misbehaving` with its message (Core's
    /// text, e.g. `addr message size = 1001`).
    Oversized(Misbehavior),
    /// Processed.
    Processed(AddrProcessed),
}

/// Result of a processed `addr` / `addrv2` message.
#[derive(Debug, Default)]
pub struct AddrProcessed {
    /// Addresses to add to addrman (source: the peer's address, penalty [`ADDR_TIME_PENALTY`]).
    pub to_add: Vec<CAddress>,
    /// Addresses to relay, each with whether its network is reachable (Core's
    /// `RelayAddress(pfrom.GetId(), addr, reachable)`); see [`select_relay_targets`].
    pub relay: Vec<(CAddress, bool)>,
    /// Records processed (not rate-limited) in this message.
    pub num_proc: u64,
    /// Records dropped by the rate limit in this message.
    pub num_rate_limit: u64,
    /// Set when this is an addr-fetch connection and the message had more than one record:
    /// disconnect with this reason (Core: "addrfetch connection completed").
    pub disconnect: Option<DisconnectReason>,
}

/// What to do with a `getaddr`.
#[derive(Debug, PartialEq, Eq)]
pub enum GetAddrOutcome {
    /// Not from an inbound peer: ignored (Core's anti-fingerprinting rule).
    IgnoredNotInbound,
    /// Second `getaddr` on this connection: ignored.
    IgnoredRepeated,
    /// Answered: this many addresses were queued for the next `addr` message.
    Answered(usize),
}

/// An `addr` / `addrv2` message to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddrMessage {
    /// Send as `addrv2` (the peer sent `sendaddrv2`) instead of `addr`.
    pub v2: bool,
    /// The records.
    pub addrs: Vec<CAddress>,
}

impl AddrMessage {
    /// Not in Core: the command to send it with.
    pub fn command(&self) -> &'static str {
        if self.v2 {
            "addrv2"
        } else {
            "addr"
        }
    }
}

/// Core's address-relay fields of `Peer` (net_processing.cpp).
#[derive(Debug)]
pub struct AddrRelayPeer {
    /// Core's `m_addrs_to_send`: queued for the next `addr` message, at most
    /// [`MAX_ADDR_TO_SEND`].
    pub m_addrs_to_send: Vec<CAddress>,
    /// Core's `m_addr_known`: present exactly when `m_addr_relay_enabled`.
    m_addr_known: Option<CRollingBloomFilter>,
    /// Core's `m_addr_relay_enabled`.
    pub m_addr_relay_enabled: bool,
    /// Core's `m_getaddr_sent`: a `getaddr` to this peer is outstanding.
    pub m_getaddr_sent: bool,
    /// Core's `m_next_addr_send` (µs).
    pub m_next_addr_send: i64,
    /// Core's `m_next_local_addr_send` (µs).
    pub m_next_local_addr_send: i64,
    /// Core's `m_wants_addrv2`.
    pub m_wants_addrv2: bool,
    /// Core's `m_getaddr_recvd`.
    pub m_getaddr_recvd: bool,
    /// Core's `m_addr_token_bucket`; starts at 1 so a self-announcement gets through.
    pub m_addr_token_bucket: f64,
    /// Core's `m_addr_token_timestamp` (µs).
    pub m_addr_token_timestamp: i64,
    /// Core's `m_addr_rate_limited`.
    pub m_addr_rate_limited: u64,
    /// Core's `m_addr_processed`.
    pub m_addr_processed: u64,
    /// Not in Core: the capacity `m_addr_known` is created with (Core's 5,000).
    pub m_addr_known_elements: u32,
}

/// Port of IsAddrCompatible (net_processing.cpp): can this peer receive `addr` (a peer that did
/// not send `sendaddrv2` gets only addresses that fit the 16-byte v1 format).
pub fn is_addr_compatible(wants_addrv2: bool, addr: &CAddress) -> bool {
    wants_addrv2 || addr.service.addr.is_addr_v1_compatible()
}

impl AddrRelayPeer {
    /// Port of the address-relay member initialisers of Peer (net_processing.cpp): a fresh peer at `now` (µs).
    pub fn new(now_micros: i64) -> Self {
        AddrRelayPeer {
            m_addrs_to_send: Vec::new(),
            m_addr_known: None,
            m_addr_relay_enabled: false,
            m_getaddr_sent: false,
            m_next_addr_send: 0,
            m_next_local_addr_send: 0,
            m_wants_addrv2: false,
            m_getaddr_recvd: false,
            m_addr_token_bucket: 1.0,
            m_addr_token_timestamp: now_micros,
            m_addr_rate_limited: 0,
            m_addr_processed: 0,
            m_addr_known_elements: ADDR_KNOWN_ELEMENTS,
        }
    }

    /// Port of PeerManagerImpl::SetupAddressRelay (net_processing.cpp): turn address relay on
    /// (creating `m_addr_known`) unless this is a block-relay-only connection.
    pub fn setup_address_relay<R: RngCore + ?Sized>(
        &mut self,
        conn_type: ConnectionType,
        rng: &mut R,
    ) -> bool {
        if conn_type == ConnectionType::BlockRelay {
            return false;
        }
        if !self.m_addr_relay_enabled {
            self.m_addr_relay_enabled = true;
            self.m_addr_known = Some(CRollingBloomFilter::new(
                self.m_addr_known_elements,
                ADDR_KNOWN_FP_RATE,
                rng,
            ));
        }
        true
    }

    /// Not in Core: whether the peer is known to know `addr` (`m_addr_known->contains(addr.GetKey())`).
    pub fn addr_known(&self, addr: &CService) -> bool {
        self.m_addr_known
            .as_ref()
            .is_some_and(|f| f.contains(&addr.get_key()))
    }

    /// Port of PeerManagerImpl::AddAddressKnown (net_processing.cpp).
    pub fn add_address_known(&mut self, addr: &CService) {
        if let Some(f) = self.m_addr_known.as_mut() {
            f.insert(&addr.get_key());
        }
    }

    /// Port of PeerManagerImpl::PushAddress (net_processing.cpp): queue `addr` unless invalid,
    /// known to the peer or not encodable for it; when the queue is full a random entry is
    /// replaced.
    pub fn push_address<R: RngCore + ?Sized>(&mut self, addr: &CAddress, rng: &mut R) {
        if !self.m_addr_relay_enabled {
            return;
        }
        if addr.service.addr.is_valid()
            && !self.addr_known(&addr.service)
            && is_addr_compatible(self.m_wants_addrv2, addr)
        {
            if self.m_addrs_to_send.len() >= MAX_ADDR_TO_SEND {
                let i = randrange(rng, self.m_addrs_to_send.len() as u64) as usize;
                self.m_addrs_to_send[i] = *addr;
            } else {
                self.m_addrs_to_send.push(*addr);
            }
        }
    }

    /// Port of the address part of ProcessMessage "version" (net_processing.cpp) for a
    /// non-inbound peer: set up address relay and, if on, mark a `getaddr` as sent and allow
    /// [`MAX_ADDR_TO_SEND`] more addresses through the token bucket. True = send `getaddr`.
    pub fn on_version_outbound<R: RngCore + ?Sized>(
        &mut self,
        conn_type: ConnectionType,
        rng: &mut R,
    ) -> bool {
        if conn_type == ConnectionType::Inbound {
            return false;
        }
        let send_getaddr = self.setup_address_relay(conn_type, rng);
        if send_getaddr {
            self.m_getaddr_sent = true;
            self.m_addr_token_bucket += MAX_ADDR_TO_SEND as f64;
        }
        send_getaddr
    }

    /// Port of ProcessMessage "sendaddrv2" (net_processing.cpp): BIP155 negotiation, only
    /// between `version` and `verack`.
    pub fn process_sendaddrv2(
        &mut self,
        successfully_connected: bool,
    ) -> Result<(), DisconnectReason> {
        if successfully_connected {
            //DMITRY: sendaddrv2 received after verack; Core: net_processing.cpp::PeerManagerImpl::ProcessMessage; kept: BIP155 negotiation
            // must happen before verack, the peer is disconnected.
            return Err(DisconnectReason::SendAddrV2AfterVerack);
        }
        self.m_wants_addrv2 = true;
        Ok(())
    }

    /// Port of the token-bucket refill in ProcessMessage "addr" (net_processing.cpp): add
    /// [`MAX_ADDR_RATE_PER_SECOND`] tokens per elapsed second, up to the soft cap, unless
    /// already at or above it; the timestamp always moves to `now`.
    pub fn refill_token_bucket(&mut self, now_micros: i64) {
        if self.m_addr_token_bucket < MAX_ADDR_PROCESSING_TOKEN_BUCKET as f64 {
            let time_diff = (now_micros - self.m_addr_token_timestamp).max(0);
            let increment = (time_diff as f64 / 1_000_000.0) * MAX_ADDR_RATE_PER_SECOND;
            self.m_addr_token_bucket =
                (self.m_addr_token_bucket + increment).min(MAX_ADDR_PROCESSING_TOKEN_BUCKET as f64);
        }
        self.m_addr_token_timestamp = now_micros;
    }

    /// Port of ProcessMessage "addr"/"addrv2" (net_processing.cpp) after decoding: relay
    /// set-up, size check, rate limit (the records are shuffled first, as Core does), service
    /// filter, time fix-up, ban filter, relay choice and the reachable filter. `now_micros` is
    /// the time; `msg_type` is `"addr"` or `"addrv2"` (for the log and misbehaviour text).
    pub fn process_addr<R: RngCore + ?Sized>(
        &mut self,
        peer: &AddrPeerInfo,
        msg_type: &str,
        mut v_addr: Vec<CAddress>,
        ctx: &AddrRelayParams<'_>,
        now_micros: i64,
        rng: &mut R,
    ) -> AddrOutcome {
        if !self.setup_address_relay(peer.conn_type, rng) {
            log::debug!(target: "net", "ignoring {} message from {} peer={}",
                msg_type, peer.conn_type.as_str(), peer.id);
            return AddrOutcome::Ignored;
        }
        if let Some(m) = check_addr_message_size(msg_type, v_addr.len()) {
            return AddrOutcome::Oversized(m);
        }
        let current_a_time = now_micros.div_euclid(1_000_000);
        self.refill_token_bucket(now_micros);

        let rate_limited = !peer.has_addr_permission;
        let mut out = AddrProcessed::default();
        let n = v_addr.len();
        // std::shuffle equivalent: Fisher-Yates from the back.
        for i in (1..n).rev() {
            let j = randrange(rng, (i + 1) as u64) as usize;
            v_addr.swap(i, j);
        }
        for mut addr in v_addr {
            if self.m_addr_token_bucket < 1.0 {
                if rate_limited {
                    //DMITRY: address over the peer's addr token bucket (0.1/s, 1000 max); Core: net_processing.cpp::PeerManagerImpl::ProcessMessage; kept: the record
                    // is counted as rate-limited and dropped.
                    out.num_rate_limit += 1;
                    continue;
                }
            } else {
                self.m_addr_token_bucket -= 1.0;
            }
            if !ctx.params.may_have_useful_address_db(addr.n_services)
                && !ctx
                    .params
                    .has_all_desirable_service_flags(addr.n_services, crate::peerman::CLOSE_TO_TIP)
            {
                //DMITRY: address without the network's desirable/address-DB services; Core: net_processing.cpp::PeerManagerImpl::ProcessMessage; changed: the service
                // bits are the network's (NODE_LOGOS on Logos networks, Core's on Bitcoin
                // networks).
                continue;
            }
            addr.n_time = fixup_addr_time(addr.n_time, current_a_time);
            self.add_address_known(&addr.service);
            if (ctx.is_banned_or_discouraged)(&addr.service.addr) {
                //DMITRY: banned or discouraged address in addr; Core: net_processing.cpp::PeerManagerImpl::ProcessMessage; kept: remembered as
                // known, neither stored nor relayed.
                continue;
            }
            out.num_proc += 1;
            let reachable = ctx.reachable.contains_addr(&addr.service.addr);
            if addr.n_time > current_a_time - ADDR_RELAY_FRESH
                && !self.m_getaddr_sent
                && n <= ADDR_RELAY_MAX_MSG
                && addr.service.addr.is_routable()
            {
                out.relay.push((addr, reachable));
            }
            if reachable {
                out.to_add.push(addr);
            } else {
                //DMITRY: address of an unreachable network (-onlynet); Core: net_processing.cpp::PeerManagerImpl::ProcessMessage; kept: not stored
                // (may still be relayed).
            }
        }
        self.m_addr_processed += out.num_proc;
        self.m_addr_rate_limited += out.num_rate_limit;
        log::debug!(target: "net",
            "Received addr: {} addresses ({} processed, {} rate-limited) from peer={}",
            n, out.num_proc, out.num_rate_limit, peer.id);
        if n < 1000 {
            self.m_getaddr_sent = false;
        }
        if peer.conn_type == ConnectionType::AddrFetch && n > 1 {
            //DMITRY: addr-fetch connection received its addresses; Core: net_processing.cpp::PeerManagerImpl::ProcessMessage; kept: disconnect ("addrfetch
            // connection completed").
            out.disconnect = Some(DisconnectReason::AddrFetchCompleted);
        }
        AddrOutcome::Processed(out)
    }

    /// Port of ProcessMessage "getaddr" (net_processing.cpp): only inbound peers, once per
    /// connection; the answer (from `fetch`, Core's `GetAddresses`) replaces the send queue.
    pub fn process_getaddr<R: RngCore + ?Sized, F: FnOnce() -> Vec<CAddress>>(
        &mut self,
        peer: &AddrPeerInfo,
        fetch: F,
        rng: &mut R,
    ) -> GetAddrOutcome {
        if peer.conn_type != ConnectionType::Inbound {
            //DMITRY: getaddr from an outbound connection; Core: net_processing.cpp::PeerManagerImpl::ProcessMessage; kept: ignored (anti-fingerprinting),
            // peer kept.
            log::debug!(target: "net", "Ignoring \"getaddr\" from {} connection. peer={}",
                peer.conn_type.as_str(), peer.id);
            return GetAddrOutcome::IgnoredNotInbound;
        }
        let set_up = self.setup_address_relay(peer.conn_type, rng);
        debug_assert!(set_up);
        if self.m_getaddr_recvd {
            //DMITRY: second getaddr on one connection; Core: net_processing.cpp::PeerManagerImpl::ProcessMessage; kept: ignored, peer
            // kept.
            log::debug!(target: "net", "Ignoring repeated \"getaddr\". peer={}", peer.id);
            return GetAddrOutcome::IgnoredRepeated;
        }
        self.m_getaddr_recvd = true;
        self.m_addrs_to_send.clear();
        let v_addr = fetch();
        for addr in &v_addr {
            self.push_address(addr, rng);
        }
        GetAddrOutcome::Answered(self.m_addrs_to_send.len())
    }

    /// Port of PeerManagerImpl::MaybeSendAddr (net_processing.cpp): about once a day queue our
    /// own address (from `local`, Core's `GetLocalAddrForPeer`); every ~30 s send what is
    /// queued and not known to the peer. `local` is only called when it is time to advertise
    /// and `fListen` holds; `our_services` are the services we advertise.
    pub fn maybe_send_addr<R: RngCore + ?Sized>(
        &mut self,
        now_micros: i64,
        listen: bool,
        our_services: ServiceFlags,
        local: &mut dyn FnMut(&mut R) -> Option<CService>,
        rng: &mut R,
    ) -> Option<AddrMessage> {
        if !self.m_addr_relay_enabled {
            return None;
        }
        //DMITRY: self-advertisement held back during initial block download; Core: net_processing.cpp::PeerManagerImpl::MaybeSendAddr; changed: the overlay
        // has no chain and is never in IBD, so it advertises its address from the start (a bitcoind
        // still in IBD, e.g. a fresh regtest node, does not).
        if listen && self.m_next_local_addr_send < now_micros {
            if self.m_next_local_addr_send != 0 {
                if let Some(f) = self.m_addr_known.as_mut() {
                    f.reset(rng);
                }
            }
            if let Some(local_service) = local(rng) {
                let local_addr = CAddress::new(
                    local_service,
                    our_services,
                    now_micros.div_euclid(1_000_000),
                );
                self.push_address(&local_addr, rng);
            }
            self.m_next_local_addr_send =
                now_micros + rand_exp_duration(rng, AVG_LOCAL_ADDRESS_BROADCAST_INTERVAL);
        }
        if now_micros <= self.m_next_addr_send {
            return None;
        }
        self.m_next_addr_send = now_micros + rand_exp_duration(rng, AVG_ADDRESS_BROADCAST_INTERVAL);
        self.m_addrs_to_send.truncate(MAX_ADDR_TO_SEND);
        let mut queue = std::mem::take(&mut self.m_addrs_to_send);
        if let Some(known) = self.m_addr_known.as_mut() {
            queue.retain(|a| {
                let key = a.service.get_key();
                if known.contains(&key) {
                    false
                } else {
                    known.insert(&key);
                    true
                }
            });
        }
        if queue.is_empty() {
            return None;
        }
        Some(AddrMessage {
            v2: self.m_wants_addrv2,
            addrs: queue,
        })
    }

    /// Not in Core: [`Self::maybe_send_addr`] with our address from a [`LocalHostMap`].
    #[allow(clippy::too_many_arguments)]
    pub fn maybe_send_addr_with_local<R: RngCore + ?Sized>(
        &mut self,
        now_micros: i64,
        our_services: ServiceFlags,
        local_map: &LocalHostMap,
        view: &LocalPeerView,
        reachable: &ReachableNets,
        peer_id: NodeId,
        rng: &mut R,
    ) -> Option<AddrMessage> {
        let mut local = |r: &mut R| local_map.get_local_addr_for_peer(view, reachable, peer_id, r);
        self.maybe_send_addr(
            now_micros,
            local_map.listen(),
            our_services,
            &mut local,
            rng,
        )
    }
}

/// Port of the addr-fetch timeout in PeerManagerImpl::SendMessages (net_processing.cpp): an
/// addr-fetch connection older than 10 × [`AVG_ADDRESS_BROADCAST_INTERVAL`] is dropped.
pub fn addr_fetch_timeout(
    conn_type: ConnectionType,
    connected_micros: i64,
    now_micros: i64,
) -> Option<DisconnectReason> {
    if conn_type == ConnectionType::AddrFetch
        && now_micros - connected_micros > 10 * AVG_ADDRESS_BROADCAST_INTERVAL
    {
        //DMITRY: addr-fetch connection open longer than 5 min; Core: net_processing.cpp::PeerManagerImpl::SendMessages; kept: disconnect ("addrfetch
        // connection timeout").
        return Some(DisconnectReason::AddrFetchTimeout);
    }
    None
}

/// Port of the `sendaddrv2` push in ProcessMessage "version" (net_processing.cpp): BIP155
/// support is announced only to peers whose version is at least 70016.
pub fn should_send_sendaddrv2(greatest_common_version: i32) -> bool {
    greatest_common_version >= 70016
}

/// One candidate for [`select_relay_targets`].
#[derive(Clone, Copy, Debug)]
pub struct RelayCandidate {
    /// The peer's id.
    pub id: NodeId,
    /// Its `m_addr_relay_enabled`.
    pub addr_relay_enabled: bool,
    /// Its `m_wants_addrv2`.
    pub wants_addrv2: bool,
}

impl RelayCandidate {
    /// Not in Core: the candidate facts of a peer.
    pub fn of(id: NodeId, p: &AddrRelayPeer) -> Self {
        RelayCandidate {
            id,
            addr_relay_enabled: p.m_addr_relay_enabled,
            wants_addrv2: p.m_wants_addrv2,
        }
    }
}

/// Port of PeerManagerImpl::RelayAddress (net_processing.cpp), choice part: the 1 or 2 peers
/// (never `originator`) to push `addr` to. Reachable addresses go to 2 peers, others to 1 or 2
/// by a keyed hash; the peers are those with the highest SipHash of their id, keyed by the
/// connman's seeds, the address and the 24-hour window (so the same address goes to the same
/// peers for a day). `now_secs` is the time in seconds. Push with
/// [`AddrRelayPeer::push_address`].
pub fn select_relay_targets(
    seeds: &RandomizerSeeds,
    originator: NodeId,
    addr: &CAddress,
    reachable: bool,
    now_secs: i64,
    candidates: impl IntoIterator<Item = RelayCandidate>,
) -> Vec<NodeId> {
    if !reachable && !addr.service.addr.is_relayable() {
        //DMITRY: unreachable, non-relayable address; Core: net_processing.cpp::PeerManagerImpl::RelayAddress; kept: not relayed.
        return Vec::new();
    }
    let hash_addr = c_service_hash(0, 0, &addr.service);
    let time_addr =
        (now_secs as u64).wrapping_add(hash_addr) / ROTATE_ADDR_RELAY_DEST_INTERVAL as u64;
    let mut hasher = seeds.get_deterministic_randomizer(RANDOMIZER_ID_ADDRESS_RELAY);
    hasher.write_u64(hash_addr).write_u64(time_addr);
    let n_relay_nodes = if reachable || hasher.finalize() & 1 == 1 {
        2
    } else {
        1
    };
    let mut best: [(u64, Option<NodeId>); 2] = [(0, None), (0, None)];
    for c in candidates {
        if c.addr_relay_enabled && c.id != originator && is_addr_compatible(c.wants_addrv2, addr) {
            let mut h = hasher;
            let hash_key = h.write_u64(c.id as u64).finalize();
            for i in 0..n_relay_nodes {
                if hash_key > best[i].0 {
                    // shift the lower entries down by one
                    for k in (i + 1..n_relay_nodes).rev() {
                        best[k] = best[k - 1];
                    }
                    best[i] = (hash_key, Some(c.id));
                    break;
                }
            }
        }
    }
    best.iter()
        .take(n_relay_nodes)
        .take_while(|(k, _)| *k != 0)
        .filter_map(|(_, id)| *id)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::Chain;
    use rand_chacha::rand_core::SeedableRng;
    use rand_chacha::ChaCha20Rng;
    use std::net::Ipv4Addr;

    const NOW: i64 = 1_795_503_770;

    fn rng() -> ChaCha20Rng {
        ChaCha20Rng::seed_from_u64(7)
    }

    fn addr(i: u32, services: ServiceFlags, time: i64) -> CAddress {
        // 11.x.y.z: routable, one /16 group per 65536.
        let ip = Ipv4Addr::from(0x0b00_0000u32 + i);
        CAddress::new(CService::new(CNetAddr::from_ipv4(ip), 8333), services, time)
    }

    fn btc_services() -> ServiceFlags {
        ServiceFlags(ServiceFlags::NODE_NETWORK.0 | ServiceFlags::NODE_WITNESS.0)
    }

    #[test]
    fn time_fixup_as_core() {
        assert_eq!(fixup_addr_time(100_000_000, NOW), NOW - 5 * 86400);
        assert_eq!(fixup_addr_time(100_000_001, NOW), 100_000_001);
        assert_eq!(fixup_addr_time(NOW + 600, NOW), NOW + 600);
        assert_eq!(fixup_addr_time(NOW + 601, NOW), NOW - 5 * 86400);
    }

    #[test]
    fn exp_duration_mean_is_close() {
        let mut r = rng();
        let n = 20_000;
        let sum: i64 = (0..n).map(|_| rand_exp_duration(&mut r, 1_000_000)).sum();
        let mean = sum / n;
        assert!((900_000..1_100_000).contains(&mean), "mean {mean}");
    }

    #[test]
    fn sendaddrv2_only_before_verack() {
        let mut p = AddrRelayPeer::new(0);
        assert!(p.process_sendaddrv2(false).is_ok());
        assert!(p.m_wants_addrv2);
        let mut p = AddrRelayPeer::new(0);
        assert_eq!(
            p.process_sendaddrv2(true),
            Err(DisconnectReason::SendAddrV2AfterVerack)
        );
    }

    #[test]
    fn block_relay_peers_get_no_addr_relay() {
        let mut r = rng();
        let mut p = AddrRelayPeer::new(0);
        assert!(!p.on_version_outbound(ConnectionType::BlockRelay, &mut r));
        assert!(!p.m_addr_relay_enabled);
        let params = NetworkParams::get(Chain::Regtest);
        let reach = ReachableNets::default();
        let ctx = AddrRelayParams {
            params,
            reachable: &reach,
            is_banned_or_discouraged: &|_| false,
        };
        let info = AddrPeerInfo {
            id: 1,
            conn_type: ConnectionType::BlockRelay,
            has_addr_permission: false,
        };
        let out = p.process_addr(
            &info,
            "addr",
            vec![addr(1, btc_services(), NOW)],
            &ctx,
            NOW * 1_000_000,
            &mut r,
        );
        assert!(matches!(out, AddrOutcome::Ignored));
        assert_eq!(p.m_addr_processed + p.m_addr_rate_limited, 0);
    }

    #[test]
    fn push_address_skips_known_invalid_and_v2_only() {
        let mut r = rng();
        let mut p = AddrRelayPeer::new(0);
        p.setup_address_relay(ConnectionType::Inbound, &mut r);
        let a = addr(1, btc_services(), NOW);
        p.add_address_known(&a.service);
        p.push_address(&a, &mut r);
        assert!(p.m_addrs_to_send.is_empty());
        p.push_address(&CAddress::default(), &mut r);
        assert!(p.m_addrs_to_send.is_empty());
        let mut onion = CNetAddr::default();
        assert!(onion.set_special("pg6mmjiyjmcrsslvykfwnntlaru7p5svn6y2ymmju6nubxndf4pscryd.onion"));
        let o = CAddress::new(CService::new(onion, 8333), btc_services(), NOW);
        p.push_address(&o, &mut r);
        assert!(p.m_addrs_to_send.is_empty(), "torv3 needs addrv2");
        p.m_wants_addrv2 = true;
        p.push_address(&o, &mut r);
        assert_eq!(p.m_addrs_to_send.len(), 1);
        // Full queue: replaced, never grown.
        for i in 0..1500 {
            p.push_address(&addr(100 + i, btc_services(), NOW), &mut r);
        }
        assert_eq!(p.m_addrs_to_send.len(), MAX_ADDR_TO_SEND);
    }

    #[test]
    fn maybe_send_addr_schedule() {
        let mut r = rng();
        let mut p = AddrRelayPeer::new(0);
        let t0 = NOW * 1_000_000;
        // relay off: nothing, not even our address
        let mut none = |_: &mut ChaCha20Rng| -> Option<CService> { panic!("not called") };
        assert!(p
            .maybe_send_addr(t0, true, btc_services(), &mut none, &mut r)
            .is_none());
        p.setup_address_relay(ConnectionType::Inbound, &mut r);
        let me = CService::new(CNetAddr::from_ipv4(Ipv4Addr::new(8, 8, 4, 4)), 8333);
        let mut local = |_: &mut ChaCha20Rng| Some(me);
        let m = p
            .maybe_send_addr(t0, true, btc_services(), &mut local, &mut r)
            .expect("self-announcement goes out at once");
        assert_eq!(m.addrs.len(), 1);
        assert_eq!(m.addrs[0].service, me);
        assert_eq!(m.addrs[0].n_time, NOW);
        assert_eq!(m.command(), "addr");
        assert!(p.m_next_addr_send > t0);
        assert!(p.m_next_local_addr_send > t0);
        // Queued addresses wait for the timer, then go once (known filter drops repeats).
        let a = addr(5, btc_services(), NOW);
        p.push_address(&a, &mut r);
        assert!(p
            .maybe_send_addr(t0 + 1, true, btc_services(), &mut local, &mut r)
            .is_none());
        let later = p.m_next_addr_send + 1;
        let m = p
            .maybe_send_addr(later, true, btc_services(), &mut local, &mut r)
            .expect("sent after the timer");
        assert_eq!(m.addrs, vec![a]);
        p.m_addrs_to_send.push(a);
        let later = p.m_next_addr_send + 1;
        assert!(p
            .maybe_send_addr(later, true, btc_services(), &mut local, &mut r)
            .is_none());
    }

    #[test]
    fn addr_fetch_timeout_after_five_minutes() {
        let c = 1_000_000_000;
        assert_eq!(
            addr_fetch_timeout(ConnectionType::AddrFetch, c, c + 300_000_000),
            None
        );
        assert_eq!(
            addr_fetch_timeout(ConnectionType::AddrFetch, c, c + 300_000_001),
            Some(DisconnectReason::AddrFetchTimeout)
        );
        assert_eq!(
            addr_fetch_timeout(ConnectionType::OutboundFullRelay, c, c + 900_000_000),
            None
        );
        assert!(should_send_sendaddrv2(70016));
        assert!(!should_send_sendaddrv2(70015));
    }

    #[test]
    fn addr_fetch_peer_disconnects_after_a_real_answer() {
        let mut r = rng();
        let params = NetworkParams::get(Chain::Regtest);
        let reach = ReachableNets::default();
        let ctx = AddrRelayParams {
            params,
            reachable: &reach,
            is_banned_or_discouraged: &|_| false,
        };
        let info = AddrPeerInfo {
            id: 9,
            conn_type: ConnectionType::AddrFetch,
            has_addr_permission: false,
        };
        let now = NOW * 1_000_000;
        let mut p = AddrRelayPeer::new(now);
        assert!(p.on_version_outbound(ConnectionType::AddrFetch, &mut r));
        // A self-announcement (one record) does not end the addr-fetch connection …
        let out = p.process_addr(
            &info,
            "addr",
            vec![addr(1, btc_services(), NOW)],
            &ctx,
            now,
            &mut r,
        );
        match out {
            AddrOutcome::Processed(o) => assert_eq!(o.disconnect, None),
            other => panic!("{other:?}"),
        }
        // … a real answer does.
        let many: Vec<CAddress> = (2..40)
            .map(|i| addr(i << 16, btc_services(), NOW))
            .collect();
        match p.process_addr(&info, "addr", many, &ctx, now, &mut r) {
            AddrOutcome::Processed(o) => {
                assert_eq!(o.disconnect, Some(DisconnectReason::AddrFetchCompleted));
                assert_eq!(o.to_add.len(), 38);
            }
            other => panic!("{other:?}"),
        }
    }
}
