//! Inbound eviction: port of Bitcoin Core's `node/eviction.{h,cpp}`.
//!
//! When every inbound slot is taken and a new peer connects, `CConnman::AttemptToEvictConnection`
//! (net.cpp) builds one [`NodeEvictionCandidate`] per connected peer and asks
//! [`select_node_to_evict`] which one to drop. The selection first removes ("protects") peers
//! that are hard for an attacker to imitate — a few per keyed netgroup, per low ping time, per
//! recent useful work, then half of the rest by uptime with a reserve for privacy networks and
//! localhost ([`protect_eviction_candidates_by_ratio`]) — and evicts the youngest peer of the
//! most crowded netgroup among those left.
//!
//! Pure logic: no clock, no sockets; the candidates carry every time they need. Core's
//! `SelectNodeToEvict` draws no randomness (its sorts simply have unspecified order among equal
//! elements); the tests and the benchmark shuffle candidates with an RNG handed in, as Core's
//! `IsEvicted`/`IsProtected` and `GetRandomNodeEvictionCandidates` do.
//!
//! The one deliberate change: Core ranks peers by when they last sent a novel transaction and
//! when they last sent a novel block; the overlay has neither, so one time, that of the last
//! novel `logos` message the upper layer accepted ([`NodeEvictionCandidate::m_last_logos_time`]),
//! stands for both. The three protections built on those times are otherwise Core's: the same
//! tie-breaks (less the one on bloom filters, which the overlay does not have) and the same
//! class of up to 8 peers that do not relay transactions (their `version` relay flag was false).

use std::cmp::Ordering;
use std::collections::HashMap;

use netbase::{Network, ALL_NETWORKS};
use rand_core::RngCore;

use crate::connection_type::ConnectionType;

/// Core's `NodeId` (declared in node/eviction.h as well as net.h).
pub type NodeId = i64;

/// Number of peers protected by highest keyed netgroup (Core: literal `4` in SelectNodeToEvict).
pub const EVICTION_PROTECT_NETGROUP: usize = 4;
/// Number of peers protected by lowest minimum ping time (Core: literal `8`).
pub const EVICTION_PROTECT_PING: usize = 8;
/// Number of peers protected by most recent novel transaction, here novel `logos` message
/// (Core: literal `4` with CompareNodeTXTime).
pub const EVICTION_PROTECT_TX: usize = 4;
/// Largest number of peers protected among those that do not relay transactions, by most
/// recent novel block, here novel `logos` message (Core: literal `8` with
/// CompareNodeBlockRelayOnlyTime).
pub const EVICTION_PROTECT_BLOCK_RELAY_ONLY: usize = 8;
/// Number of peers protected by most recent novel block, here novel `logos` message (Core:
/// literal `4` with CompareNodeBlockTime).
pub const EVICTION_PROTECT_BLOCK: usize = 4;

/// Port of NodeEvictionCandidate (node/eviction.h).
///
/// What eviction needs to know of one connected peer. Times are plain integers so the caller
/// decides the epoch (Core: seconds / microseconds since the Unix epoch, 0 = never).
///
/// Core's `fBloomFilter` has no field: the overlay has no bloom filters, so it would always be
/// false here and CompareNodeTXTime's tie-break on it could never decide.
//DMITRY: eviction ranks peers by recent useful work; Core: node/eviction.h::NodeEvictionCandidate; changed: one time
// stands for two: m_last_logos_time (the last novel `logos` message the upper layer accepted)
// replaces both m_last_tx_time and m_last_block_time, the overlay having no transactions or blocks;
// fBloomFilter is left out, the overlay having no bloom filters (it would always be false);
// m_relay_txs (the relay flag of the peer's version message) is kept.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct NodeEvictionCandidate {
    /// The peer's id.
    pub id: NodeId,
    /// When the connection was made, in seconds (Core's `m_connected`).
    pub m_connected: i64,
    /// Smallest ping round trip seen, in microseconds; `i64::MAX` when none yet (Core's
    /// `m_min_ping_time`, initialised to `microseconds::max()`).
    pub m_min_ping_time: i64,
    /// When this peer last sent us a `logos` message that was new to us and that the upper
    /// layer accepted (its receive callback returned true), in seconds; 0 = never.
    ///
    /// Stands for both Core's `m_last_tx_time` and its `m_last_block_time`: like them, it can
    /// only be moved by doing useful work for us (a fresh message the upper layer found worth
    /// relaying).
    pub m_last_logos_time: i64,
    /// The peer offers every service we want from it (Core's `fRelevantServices`, from
    /// `CNode::m_has_all_wanted_services`; on Logos networks: the Logos service bit).
    pub f_relevant_services: bool,
    /// The peer asked us to relay to it (the relay flag of its `version` message; Core's
    /// `m_relay_txs`, from `CNode::m_relays_txs`). Peers without it are the potential
    /// block-relay-only peers of [`select_node_to_evict`].
    pub m_relay_txs: bool,
    /// Keyed netgroup of the peer's address (Core's `nKeyedNetGroup`).
    pub n_keyed_net_group: u64,
    /// Evict this peer first if it survives protection (Core's `prefer_evict`; set for
    /// discouraged peers that were let in).
    pub prefer_evict: bool,
    /// The peer's address is local (`CNetAddr::IsLocal`), e.g. a Tor hidden service proxy.
    pub m_is_local: bool,
    /// Network the peer connected through (`CNode::ConnectedThroughNetwork`).
    pub m_network: Network,
    /// The peer has the `noban` permission.
    pub m_noban: bool,
    /// The connection type.
    pub m_conn_type: ConnectionType,
}

// ---- comparators --------------------------------------------------------------------------
// Each returns the order in which candidates are sorted before the last K are protected: the
// "greatest" candidates are the ones most worth keeping.

/// Port of ReverseCompareNodeMinPingTime (node/eviction.cpp).
fn reverse_compare_node_min_ping_time(
    a: &NodeEvictionCandidate,
    b: &NodeEvictionCandidate,
) -> Ordering {
    b.m_min_ping_time.cmp(&a.m_min_ping_time)
}

/// Port of ReverseCompareNodeTimeConnected (node/eviction.cpp).
fn reverse_compare_node_time_connected(
    a: &NodeEvictionCandidate,
    b: &NodeEvictionCandidate,
) -> Ordering {
    b.m_connected.cmp(&a.m_connected)
}

/// Port of CompareNetGroupKeyed (node/eviction.cpp).
fn compare_net_group_keyed(a: &NodeEvictionCandidate, b: &NodeEvictionCandidate) -> Ordering {
    a.n_keyed_net_group.cmp(&b.n_keyed_net_group)
}

/// Port of CompareNodeBlockTime (node/eviction.cpp).
///
/// Most recent novel block last, here most recent novel `logos` message. Many peers have sent
/// none, so ties fall through to having the wanted services, then to the longer uptime.
fn compare_node_block_time(a: &NodeEvictionCandidate, b: &NodeEvictionCandidate) -> Ordering {
    a.m_last_logos_time
        .cmp(&b.m_last_logos_time)
        .then_with(|| a.f_relevant_services.cmp(&b.f_relevant_services))
        .then_with(|| b.m_connected.cmp(&a.m_connected))
}

/// Port of CompareNodeTXTime (node/eviction.cpp).
///
/// Most recent novel transaction last, here most recent novel `logos` message. Many peers have
/// sent none, so ties fall through to relaying transactions (peers that asked for relay last),
/// then to the longer uptime. Core's tie-break between the two, on having a bloom filter, is
/// left out: no peer has one here, so it could never decide.
fn compare_node_tx_time(a: &NodeEvictionCandidate, b: &NodeEvictionCandidate) -> Ordering {
    a.m_last_logos_time
        .cmp(&b.m_last_logos_time)
        .then_with(|| a.m_relay_txs.cmp(&b.m_relay_txs))
        .then_with(|| b.m_connected.cmp(&a.m_connected))
}

/// Port of CompareNodeBlockRelayOnlyTime (node/eviction.cpp).
///
/// Peers that relay transactions first, then the potential block-relay-only peers (those that
/// do not); within each part, as [`compare_node_block_time`]: most recent novel block (here
/// novel `logos` message) last, then the wanted services, then the longer uptime.
fn compare_node_block_relay_only_time(
    a: &NodeEvictionCandidate,
    b: &NodeEvictionCandidate,
) -> Ordering {
    b.m_relay_txs
        .cmp(&a.m_relay_txs)
        .then_with(|| a.m_last_logos_time.cmp(&b.m_last_logos_time))
        .then_with(|| a.f_relevant_services.cmp(&b.f_relevant_services))
        .then_with(|| b.m_connected.cmp(&a.m_connected))
}

/// Port of CompareNodeNetworkTime (node/eviction.cpp).
///
/// Peers outside the class (`is_local` peers when `is_local`, else peers on `network`) first,
/// then peers of the class; within each, most recently connected first. Core passes
/// `NET_MAX` as the network of the localhost class, which no peer has: here `None`.
fn compare_node_network_time(
    is_local: bool,
    network: Option<Network>,
    a: &NodeEvictionCandidate,
    b: &NodeEvictionCandidate,
) -> Ordering {
    if is_local && a.m_is_local != b.m_is_local {
        return a.m_is_local.cmp(&b.m_is_local);
    }
    let a_net = Some(a.m_network) == network;
    let b_net = Some(b.m_network) == network;
    if a_net != b_net {
        return a_net.cmp(&b_net);
    }
    b.m_connected.cmp(&a.m_connected)
}

/// Port of EraseLastKElements (node/eviction.cpp).
///
/// Order `elements` by `comparator`, then drop those of the last `k` for which `predicate`
/// holds. Core sorts the whole vector; what matters to every caller is only which elements
/// end up among the last `k` (each later step orders the survivors again), so a linear-time
/// selection is used instead: it puts the same elements last, up to ties between equal
/// elements, whose order Core's unstable `std::sort` leaves unspecified as well. The one step
/// whose full order is used afterwards sorts explicitly (see
/// [`protect_eviction_candidates_by_ratio`]).
fn erase_last_k_elements<C, P>(
    elements: &mut Vec<NodeEvictionCandidate>,
    mut comparator: C,
    k: usize,
    mut predicate: P,
) where
    C: FnMut(&NodeEvictionCandidate, &NodeEvictionCandidate) -> Ordering,
    P: FnMut(&NodeEvictionCandidate) -> bool,
{
    let erase_size = k.min(elements.len());
    if erase_size == 0 {
        return;
    }
    let start = elements.len() - erase_size;
    if start > 0 {
        elements.select_nth_unstable_by(start, &mut comparator);
    }
    let mut write = start;
    for read in start..elements.len() {
        if !predicate(&elements[read]) {
            elements.swap(write, read);
            write += 1;
        }
    }
    elements.truncate(write);
}

/// Port of ProtectNoBanConnections (node/eviction.cpp).
fn protect_no_ban_connections(eviction_candidates: &mut Vec<NodeEvictionCandidate>) {
    //DMITRY: peers with the noban permission are never evicted; Core: node/eviction.cpp::ProtectNoBanConnections; kept: an operator's
    // explicit trust.
    eviction_candidates.retain(|n| !n.m_noban);
}

/// Port of ProtectOutboundConnections (node/eviction.cpp).
fn protect_outbound_connections(eviction_candidates: &mut Vec<NodeEvictionCandidate>) {
    //DMITRY: only inbound peers can be evicted to make room for an inbound one; Core: node/eviction.cpp::ProtectOutboundConnections; kept: outbound peers
    // are our own choice and eclipse protection.
    eviction_candidates.retain(|n| n.m_conn_type == ConnectionType::Inbound);
}

/// One class of disadvantaged peers in [`protect_eviction_candidates_by_ratio`].
#[derive(Clone, Copy)]
struct DisadvantagedNet {
    is_local: bool,
    id: Option<Network>,
    count: usize,
}

impl DisadvantagedNet {
    fn contains(&self, c: &NodeEvictionCandidate) -> bool {
        if self.is_local {
            c.m_is_local
        } else {
            Some(c.m_network) == self.id
        }
    }
}

/// Port of ProtectEvictionCandidatesByRatio (node/eviction.cpp).
///
/// Removes from `eviction_candidates` (protects) half of them, the longest connected; up to
/// half of those protected slots (a quarter of all) go first to CJDNS, I2P, localhost and
/// onion peers, longest connected first within each class, fewest-candidates class first, so
/// that these higher-latency peers are not crowded out by the ping-time criterion. Leaves the
/// remaining candidates sorted by reverse connection time (youngest first).
pub fn protect_eviction_candidates_by_ratio(eviction_candidates: &mut Vec<NodeEvictionCandidate>) {
    //DMITRY: half of the inbound peers, the longest connected, with a quarter reserved for CJDNS/I2P/localhost/onion, are protected from eviction; Core: node/eviction.cpp::ProtectEvictionCandidatesByRatio; kept: resists attacks
    // that start after we are connected and keeps privacy-network peers.
    let initial_size = eviction_candidates.len();
    let total_protect_size = initial_size / 2;

    // Order matters for equal counts: earlier entries get first pick of unused slots.
    let mut networks = [
        DisadvantagedNet {
            is_local: false,
            id: Some(Network::CJDNS),
            count: 0,
        },
        DisadvantagedNet {
            is_local: false,
            id: Some(Network::I2P),
            count: 0,
        },
        DisadvantagedNet {
            is_local: true,
            id: None,
            count: 0,
        },
        DisadvantagedNet {
            is_local: false,
            id: Some(Network::Onion),
            count: 0,
        },
    ];
    for n in networks.iter_mut() {
        n.count = eviction_candidates.iter().filter(|c| n.contains(c)).count();
    }
    // Stable: classes with fewer candidates first, ties keep the order above.
    networks.sort_by_key(|n| n.count);

    let max_protect_by_network = total_protect_size / 2;
    let mut num_protected = 0usize;

    while num_protected < max_protect_by_network {
        let num_networks = networks.iter().filter(|n| n.count > 0).count();
        if num_networks == 0 {
            break;
        }
        let disadvantaged_to_protect = max_protect_by_network - num_protected;
        let protect_per_network = (disadvantaged_to_protect / num_networks).max(1);
        let mut protected_at_least_one = false;

        for n in networks.iter_mut() {
            if n.count == 0 {
                continue;
            }
            let class = *n;
            let before = eviction_candidates.len();
            erase_last_k_elements(
                eviction_candidates,
                |a, b| compare_node_network_time(class.is_local, class.id, a, b),
                protect_per_network,
                |c| class.contains(c),
            );
            let after = eviction_candidates.len();
            if before > after {
                protected_at_least_one = true;
                let delta = before - after;
                num_protected += delta;
                if num_protected >= max_protect_by_network {
                    break;
                }
                n.count -= delta;
            }
        }
        if !protected_at_least_one {
            break;
        }
    }

    debug_assert_eq!(num_protected, initial_size - eviction_candidates.len());
    let remaining_to_protect = total_protect_size - num_protected;
    // Core's EraseLastKElements with ReverseCompareNodeTimeConnected; the full sort is kept
    // because SelectNodeToEvict relies on the survivors being ordered youngest first.
    eviction_candidates.sort_unstable_by(reverse_compare_node_time_connected);
    let keep = eviction_candidates.len() - remaining_to_protect.min(eviction_candidates.len());
    eviction_candidates.truncate(keep);
}

/// Port of SelectNodeToEvict (node/eviction.cpp).
///
/// Returns the id of the inbound peer to evict, or `None` when every candidate is protected.
/// The result does not depend on the order of `eviction_candidates` except among candidates
/// that tie on every criterion (as in Core, whose sorts are not stable either).
pub fn select_node_to_evict(mut eviction_candidates: Vec<NodeEvictionCandidate>) -> Option<NodeId> {
    protect_no_ban_connections(&mut eviction_candidates);
    protect_outbound_connections(&mut eviction_candidates);

    //DMITRY: the 4 peers with the highest keyed netgroup are protected from eviction; Core: node/eviction.cpp::SelectNodeToEvict; kept: the key
    // is secret, so an attacker cannot choose which netgroups survive.
    erase_last_k_elements(
        &mut eviction_candidates,
        compare_net_group_keyed,
        EVICTION_PROTECT_NETGROUP,
        |_| true,
    );
    //DMITRY: the 8 peers with the lowest minimum ping time are protected from eviction; Core: node/eviction.cpp::SelectNodeToEvict; kept: latency cannot
    // be faked without moving closer.
    erase_last_k_elements(
        &mut eviction_candidates,
        reverse_compare_node_min_ping_time,
        EVICTION_PROTECT_PING,
        |_| true,
    );
    //DMITRY: the 4 latest senders of a novel `logos` message are protected; Core: node/eviction.cpp::SelectNodeToEvict (CompareNodeTXTime); changed: time, no
    // bloom filters: Core's time is that of the last novel transaction accepted into the mempool,
    // ours that of the last novel `logos` message the upper layer accepted (the overlay has no
    // transactions); ties go, as in Core, to peers that relay transactions, then to the longest
    // connected; Core's bloom-filter tie-break is left out (the overlay has no bloom filters).
    erase_last_k_elements(
        &mut eviction_candidates,
        compare_node_tx_time,
        EVICTION_PROTECT_TX,
        |_| true,
    );
    //DMITRY: up to 8 block-relay-only peers are protected; Core: node/eviction.cpp::SelectNodeToEvict (CompareNodeBlockRelayOnlyTime); changed: only the
    // time: Core's time is that of the last novel block, ours that of the last novel `logos`
    // message the upper layer accepted (the overlay has no blocks); the class (peers whose version
    // message turned transaction relay off and that offer the wanted services), its size and its
    // tie-breaks are Core's.
    erase_last_k_elements(
        &mut eviction_candidates,
        compare_node_block_relay_only_time,
        EVICTION_PROTECT_BLOCK_RELAY_ONLY,
        |n| !n.m_relay_txs && n.f_relevant_services,
    );
    //DMITRY: 4 more of the latest senders of a novel `logos` message are protected; Core: node/eviction.cpp::SelectNodeToEvict (CompareNodeBlockTime); changed: only the
    // time: Core's time is that of the last novel block, ours that of the last novel `logos`
    // message the upper layer accepted (the overlay has no blocks), the same time the transaction
    // step ranks by; ties go, as in Core, to peers with the wanted services, then to the longest
    // connected.
    erase_last_k_elements(
        &mut eviction_candidates,
        compare_node_block_time,
        EVICTION_PROTECT_BLOCK,
        |_| true,
    );

    protect_eviction_candidates_by_ratio(&mut eviction_candidates);

    //DMITRY: no eviction when every candidate is protected (the new inbound connection is then dropped by the caller); Core: node/eviction.cpp::SelectNodeToEvict; kept: same protections,
    // so the same full-node behaviour.
    if eviction_candidates.is_empty() {
        return None;
    }

    //DMITRY: if any surviving candidate is preferred for eviction (discouraged peers let in), only those are considered; Core: node/eviction.cpp::SelectNodeToEvict; kept: a discouraged
    // peer let in for lack of load goes first once we are full.
    if eviction_candidates.iter().any(|n| n.prefer_evict) {
        eviction_candidates.retain(|n| n.prefer_evict);
    }

    // Candidates are sorted youngest first, so the first member seen of a group is its
    // youngest. Pick the group with the most members, ties to the one whose youngest member
    // connected last; evict that youngest member.
    struct Group {
        size: usize,
        first_connected: i64,
        first_id: NodeId,
    }
    let mut groups: HashMap<u64, Group> = HashMap::with_capacity(eviction_candidates.len());
    let mut most_connections = 0usize;
    let mut most_connections_time = 0i64;
    let mut chosen: Option<NodeId> = None;
    for node in &eviction_candidates {
        let group = groups.entry(node.n_keyed_net_group).or_insert(Group {
            size: 0,
            first_connected: node.m_connected,
            first_id: node.id,
        });
        group.size += 1;
        if group.size > most_connections
            || (group.size == most_connections && group.first_connected > most_connections_time)
        {
            most_connections = group.size;
            most_connections_time = group.first_connected;
            chosen = Some(group.first_id);
        }
    }
    //DMITRY: evict the youngest peer of the netgroup with the most connections (ties: the group whose youngest peer is youngest); Core: node/eviction.cpp::SelectNodeToEvict; kept: an attacker
    // crowding one netgroup loses its own newest connection first.
    chosen
}

// ---- random candidates (Core's test/util/net.cpp), for tests and the benchmark -------------

/// Port of FastRandomContext::randrange (random.h): uniform in `[0, range)`, by drawing as many
/// bits as `range - 1` needs and retrying when out of range. `range` must be positive.
pub fn randrange<R: RngCore + ?Sized>(rng: &mut R, range: u64) -> u64 {
    assert!(range > 0, "randrange of an empty range");
    let max = range - 1;
    if max == 0 {
        return 0;
    }
    let bits = 64 - max.leading_zeros();
    let mask = if bits == 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    };
    loop {
        let v = rng.next_u64() & mask;
        if v <= max {
            return v;
        }
    }
}

/// Port of FastRandomContext::randbool (random.h).
pub fn randbool<R: RngCore + ?Sized>(rng: &mut R) -> bool {
    rng.next_u64() & 1 == 1
}

/// Port of std::shuffle as Core's tests use it: Fisher-Yates with [`randrange`].
pub fn shuffle<T, R: RngCore + ?Sized>(items: &mut [T], rng: &mut R) {
    for i in (1..items.len()).rev() {
        let j = randrange(rng, i as u64 + 1) as usize;
        items.swap(i, j);
    }
}

/// Port of GetRandomNodeEvictionCandidates (test/util/net.cpp).
///
/// `n_candidates` inbound candidates with ids `0..n_candidates` and random times, ping,
/// netgroup (each below 100), flags and network; none has `noban`.
pub fn get_random_node_eviction_candidates<R: RngCore + ?Sized>(
    n_candidates: usize,
    rng: &mut R,
) -> Vec<NodeEvictionCandidate> {
    (0..n_candidates)
        .map(|id| NodeEvictionCandidate {
            id: id as NodeId,
            m_connected: randrange(rng, 100) as i64,
            m_min_ping_time: randrange(rng, 100) as i64,
            m_last_logos_time: randrange(rng, 100) as i64,
            f_relevant_services: randbool(rng),
            m_relay_txs: randbool(rng),
            n_keyed_net_group: randrange(rng, 100),
            prefer_evict: randbool(rng),
            m_is_local: randbool(rng),
            m_network: ALL_NETWORKS[randrange(rng, ALL_NETWORKS.len() as u64) as usize],
            m_noban: false,
            m_conn_type: ConnectionType::Inbound,
        })
        .collect()
}

#[cfg(test)]
// Test names follow the contract's `<core_suite>__<core_case>` form.
#[allow(non_snake_case)]
mod tests {
    use super::*;
    use rand_chacha::rand_core::SeedableRng;
    use rand_chacha::ChaCha20Rng;
    use std::collections::HashSet;

    /// Core's `FastRandomContext{true}`: a fixed seed.
    fn deterministic_rng() -> ChaCha20Rng {
        ChaCha20Rng::seed_from_u64(0)
    }

    fn candidate(id: NodeId) -> NodeEvictionCandidate {
        NodeEvictionCandidate {
            id,
            m_connected: 0,
            m_min_ping_time: i64::MAX,
            m_last_logos_time: 0,
            f_relevant_services: false,
            m_relay_txs: false,
            n_keyed_net_group: 0,
            prefer_evict: false,
            m_is_local: false,
            m_network: Network::IPv4,
            m_noban: false,
            m_conn_type: ConnectionType::Inbound,
        }
    }

    /// Mirrors net_peer_eviction_tests.cpp: IsProtected. Random candidates, `setup` applied,
    /// shuffled, then ratio protection; true when half are protected, every id of `protected`
    /// is gone and every id of `unprotected` remains.
    fn is_protected(
        num_peers: usize,
        setup: &dyn Fn(&mut NodeEvictionCandidate),
        protected: &[NodeId],
        unprotected: &[NodeId],
        rng: &mut ChaCha20Rng,
    ) -> bool {
        let mut candidates = get_random_node_eviction_candidates(num_peers, rng);
        for c in candidates.iter_mut() {
            setup(c);
        }
        shuffle(&mut candidates, rng);
        let size = candidates.len();
        protect_eviction_candidates_by_ratio(&mut candidates);
        assert_eq!(candidates.len(), size - size / 2, "half must be protected");
        let left: HashSet<NodeId> = candidates.iter().map(|c| c.id).collect();
        if let Some(id) = protected.iter().find(|id| left.contains(id)) {
            eprintln!("expected candidate to be protected: {id}");
            return false;
        }
        let unprotected_count = unprotected.iter().filter(|id| left.contains(id)).count();
        if unprotected_count != unprotected.len() {
            eprintln!(
                "unprotected: expected {}, actual {unprotected_count}",
                unprotected.len()
            );
            return false;
        }
        true
    }

    /// How a protection case sets `m_connected`.
    #[derive(Clone, Copy)]
    enum Uptime {
        /// Left random.
        Random,
        /// `m_connected = id`: lower ids connected longer.
        ById,
        /// `m_connected = n - id`: higher ids connected longer.
        Reversed,
    }

    /// One expectation of Core's peer_protection_test: `class(id)` gives (is_local, network).
    struct ProtectionCase {
        n: usize,
        uptime: Uptime,
        class: fn(NodeId) -> (bool, Network),
        protected: &'static [NodeId],
        unprotected: &'static [NodeId],
    }

    fn run_protection_cases(cases: &[ProtectionCase]) {
        let mut rng = deterministic_rng();
        for (i, case) in cases.iter().enumerate() {
            let n = case.n;
            let uptime = case.uptime;
            let class = case.class;
            let setup = move |c: &mut NodeEvictionCandidate| {
                match uptime {
                    Uptime::Random => {}
                    Uptime::ById => c.m_connected = c.id,
                    Uptime::Reversed => c.m_connected = n as i64 - c.id,
                }
                let (local, net) = class(c.id);
                c.m_is_local = local;
                c.m_network = net;
            };
            // Each case is run under many shuffles: the answer must not depend on input order.
            for round in 0..50 {
                assert!(
                    is_protected(n, &setup, case.protected, case.unprotected, &mut rng),
                    "case #{i} (n={n}) failed in round {round}"
                );
            }
        }
    }

    fn net_if(cond: bool, yes: Network, no: Network) -> Network {
        if cond {
            yes
        } else {
            no
        }
    }

    /// Mirrors net_peer_eviction_tests.cpp: peer_protection_test (uptime and single-network
    /// cases).
    #[test]
    fn net_peer_eviction_tests__peer_protection_test_single_network() {
        use Network::*;
        run_protection_cases(&[
            // Half the peers, the longest connected, are protected.
            ProtectionCase {
                n: 12,
                uptime: Uptime::ById,
                class: |_| (false, IPv4),
                protected: &[0, 1, 2, 3, 4, 5],
                unprotected: &[6, 7, 8, 9, 10, 11],
            },
            ProtectionCase {
                n: 12,
                uptime: Uptime::Reversed,
                class: |_| (false, IPv6),
                protected: &[6, 7, 8, 9, 10, 11],
                unprotected: &[0, 1, 2, 3, 4, 5],
            },
            // Onion: a quarter protected when no localhost, I2P or CJDNS peer.
            ProtectionCase {
                n: 12,
                uptime: Uptime::Random,
                class: |id| (false, net_if(id == 3 || id == 8 || id == 9, Onion, IPv4)),
                protected: &[3, 8, 9],
                unprotected: &[],
            },
            ProtectionCase {
                n: 12,
                uptime: Uptime::ById,
                class: |id| (false, net_if(id == 3 || id > 7, Onion, IPv6)),
                protected: &[0, 1, 2, 3, 8, 9],
                unprotected: &[4, 5, 6, 7, 10, 11],
            },
            // Localhost.
            ProtectionCase {
                n: 12,
                uptime: Uptime::Random,
                class: |id| (id == 1 || id == 9 || id == 11, IPv4),
                protected: &[1, 9, 11],
                unprotected: &[],
            },
            ProtectionCase {
                n: 12,
                uptime: Uptime::ById,
                class: |id| (id > 6, IPv6),
                protected: &[0, 1, 2, 7, 8, 9],
                unprotected: &[3, 4, 5, 6, 10, 11],
            },
            // I2P.
            ProtectionCase {
                n: 12,
                uptime: Uptime::Random,
                class: |id| (false, net_if(id == 2 || id == 7 || id == 10, I2P, IPv4)),
                protected: &[2, 7, 10],
                unprotected: &[],
            },
            ProtectionCase {
                n: 12,
                uptime: Uptime::ById,
                class: |id| (false, net_if(id == 4 || id > 8, I2P, IPv6)),
                protected: &[0, 1, 2, 4, 9, 10],
                unprotected: &[3, 5, 6, 7, 8, 11],
            },
            // CJDNS.
            ProtectionCase {
                n: 12,
                uptime: Uptime::Random,
                class: |id| (false, net_if(id == 2 || id == 7 || id == 10, CJDNS, IPv4)),
                protected: &[2, 7, 10],
                unprotected: &[],
            },
            ProtectionCase {
                n: 12,
                uptime: Uptime::ById,
                class: |id| (false, net_if(id == 4 || id > 8, CJDNS, IPv6)),
                protected: &[0, 1, 2, 4, 9, 10],
                unprotected: &[3, 5, 6, 7, 8, 11],
            },
        ]);
    }

    /// Mirrors net_peer_eviction_tests.cpp: peer_protection_test ("Tests with 2 networks").
    #[test]
    fn net_peer_eviction_tests__peer_protection_test_two_networks() {
        use Network::*;
        run_protection_cases(&[
            // 1 localhost + 1 onion of 4: localhost wins the tie (array order).
            ProtectionCase {
                n: 4,
                uptime: Uptime::ById,
                class: |id| (id == 4, net_if(id == 3, Onion, IPv4)),
                protected: &[0, 4],
                unprotected: &[1, 2],
            },
            ProtectionCase {
                n: 7,
                uptime: Uptime::ById,
                class: |id| (id == 6, net_if(id == 5, Onion, IPv4)),
                protected: &[0, 1, 6],
                unprotected: &[2, 3, 4, 5],
            },
            ProtectionCase {
                n: 8,
                uptime: Uptime::ById,
                class: |id| (id == 6, net_if(id == 5, Onion, IPv4)),
                protected: &[0, 1, 5, 6],
                unprotected: &[2, 3, 4, 7],
            },
            ProtectionCase {
                n: 12,
                uptime: Uptime::ById,
                class: |id| {
                    (
                        id == 6 || id == 9 || id == 11,
                        net_if(id == 7 || id == 8 || id == 10, Onion, IPv6),
                    )
                },
                protected: &[0, 1, 2, 6, 7, 9],
                unprotected: &[3, 4, 5, 8, 10, 11],
            },
            ProtectionCase {
                n: 12,
                uptime: Uptime::ById,
                class: |id| (id > 4 && id < 9, net_if(id == 10, Onion, IPv4)),
                protected: &[0, 1, 2, 5, 6, 10],
                unprotected: &[3, 4, 7, 8, 9, 11],
            },
            ProtectionCase {
                n: 16,
                uptime: Uptime::ById,
                class: |id| {
                    (
                        id == 6 || id == 9 || id == 11 || id == 12,
                        net_if(id == 8 || id == 10, Onion, IPv6),
                    )
                },
                protected: &[0, 1, 2, 3, 6, 8, 9, 10],
                unprotected: &[4, 5, 7, 11, 12, 13, 14, 15],
            },
            // 5 localhost + 1 onion of 16: localhost recovers the unused onion slot.
            ProtectionCase {
                n: 16,
                uptime: Uptime::ById,
                class: |id| (id > 10, net_if(id == 10, Onion, IPv4)),
                protected: &[0, 1, 2, 3, 10, 11, 12, 13],
                unprotected: &[4, 5, 6, 7, 8, 9, 14, 15],
            },
            // 1 localhost + 4 onion of 16: onion recovers the unused localhost slot.
            ProtectionCase {
                n: 16,
                uptime: Uptime::ById,
                class: |id| (id == 15, net_if(id > 6 && id < 11, Onion, IPv6)),
                protected: &[0, 1, 2, 3, 7, 8, 9, 15],
                unprotected: &[5, 6, 10, 11, 12, 13, 14],
            },
            // 2 onion + 4 I2P of 12: onion has fewer candidates and goes first.
            ProtectionCase {
                n: 12,
                uptime: Uptime::ById,
                class: |id| {
                    let net = if id == 8 || id == 10 {
                        Onion
                    } else if id == 6 || id == 9 || id == 11 || id == 12 {
                        I2P
                    } else {
                        IPv4
                    };
                    (false, net)
                },
                protected: &[0, 1, 2, 6, 8, 10],
                unprotected: &[3, 4, 5, 7, 9, 11],
            },
        ]);
    }

    /// Mirrors net_peer_eviction_tests.cpp: peer_protection_test ("Tests with 3 networks").
    #[test]
    fn net_peer_eviction_tests__peer_protection_test_three_networks() {
        use Network::*;
        run_protection_cases(&[
            ProtectionCase {
                n: 4,
                uptime: Uptime::ById,
                class: |id| {
                    let net = match id {
                        3 => I2P,
                        1 => Onion,
                        _ => IPv6,
                    };
                    (id == 2, net)
                },
                protected: &[0, 3],
                unprotected: &[1, 2],
            },
            ProtectionCase {
                n: 7,
                uptime: Uptime::ById,
                class: |id| {
                    let net = match id {
                        6 => I2P,
                        5 => Onion,
                        _ => IPv6,
                    };
                    (id == 4, net)
                },
                protected: &[0, 1, 6],
                unprotected: &[2, 3, 4, 5],
            },
            ProtectionCase {
                n: 8,
                uptime: Uptime::ById,
                class: |id| {
                    let net = match id {
                        5 => I2P,
                        4 => Onion,
                        _ => IPv6,
                    };
                    (id == 6, net)
                },
                protected: &[0, 1, 5, 6],
                unprotected: &[2, 3, 4, 7],
            },
            ProtectionCase {
                n: 16,
                uptime: Uptime::ById,
                class: |id| {
                    let net = match id {
                        7 | 11 => I2P,
                        9 | 10 => Onion,
                        _ => IPv4,
                    };
                    (id == 6 || id > 11, net)
                },
                protected: &[0, 1, 2, 3, 6, 7, 9, 11],
                unprotected: &[4, 5, 8, 10, 12, 13, 14, 15],
            },
            // 1 localhost, 8 I2P, 1 onion of 24: I2P gets 4 instead of the usual 2.
            ProtectionCase {
                n: 24,
                uptime: Uptime::ById,
                class: |id| {
                    let net = if id > 14 && id < 23 {
                        I2P
                    } else if id == 23 {
                        Onion
                    } else {
                        IPv6
                    };
                    (id == 12, net)
                },
                protected: &[0, 1, 2, 3, 4, 5, 12, 15, 16, 17, 18, 23],
                unprotected: &[6, 7, 8, 9, 10, 11, 13, 14, 19, 20, 21, 22],
            },
            // 1 localhost, 3 I2P, 6 onion of 24: I2P has fewer and takes the unused slot.
            ProtectionCase {
                n: 24,
                uptime: Uptime::ById,
                class: |id| {
                    let net = if id == 12 || id == 14 || id == 17 {
                        I2P
                    } else if id > 17 {
                        Onion
                    } else {
                        IPv4
                    };
                    (id == 15, net)
                },
                protected: &[0, 1, 2, 3, 4, 5, 12, 14, 15, 17, 18, 19],
                unprotected: &[6, 7, 8, 9, 10, 11, 13, 16, 20, 21, 22, 23],
            },
            ProtectionCase {
                n: 24,
                uptime: Uptime::ById,
                class: |id| {
                    let net = if id > 16 {
                        I2P
                    } else if id == 12 || id == 14 || id == 15 || id == 16 {
                        Onion
                    } else {
                        IPv6
                    };
                    (id == 13, net)
                },
                protected: &[0, 1, 2, 3, 4, 5, 12, 13, 14, 15, 17, 18],
                unprotected: &[6, 7, 8, 9, 10, 11, 16, 19, 20, 21, 22, 23],
            },
            // 8 localhost, 4 CJDNS, 3 onion of 24: 2 of each.
            ProtectionCase {
                n: 24,
                uptime: Uptime::ById,
                class: |id| {
                    let net = if id > 10 && id < 15 {
                        CJDNS
                    } else if id > 6 && id < 10 {
                        Onion
                    } else {
                        IPv4
                    };
                    (id > 15, net)
                },
                protected: &[0, 1, 2, 3, 4, 5, 7, 8, 11, 12, 16, 17],
                unprotected: &[6, 9, 10, 13, 14, 15, 18, 19, 20, 21, 22, 23],
            },
        ]);
    }

    /// Mirrors net_peer_eviction_tests.cpp: peer_protection_test ("Tests with 4 networks").
    #[test]
    fn net_peer_eviction_tests__peer_protection_test_four_networks() {
        use Network::*;
        run_protection_cases(&[
            // One of each of 5: CJDNS wins the tie (array order).
            ProtectionCase {
                n: 5,
                uptime: Uptime::ById,
                class: |id| {
                    let net = match id {
                        4 => CJDNS,
                        1 => I2P,
                        2 => Onion,
                        _ => IPv6,
                    };
                    (id == 3, net)
                },
                protected: &[0, 4],
                unprotected: &[1, 2, 3],
            },
            ProtectionCase {
                n: 7,
                uptime: Uptime::ById,
                class: |id| {
                    let net = match id {
                        6 => CJDNS,
                        5 => I2P,
                        3 => Onion,
                        _ => IPv4,
                    };
                    (id == 4, net)
                },
                protected: &[0, 1, 6],
                unprotected: &[2, 3, 4, 5],
            },
            // Peer 3 is both localhost and onion.
            ProtectionCase {
                n: 8,
                uptime: Uptime::ById,
                class: |id| {
                    let net = match id {
                        5 => CJDNS,
                        6 => I2P,
                        3 => Onion,
                        _ => IPv6,
                    };
                    (id == 3, net)
                },
                protected: &[0, 1, 5, 6],
                unprotected: &[2, 3, 4, 7],
            },
            ProtectionCase {
                n: 16,
                uptime: Uptime::ById,
                class: |id| {
                    let net = match id {
                        11 | 15 => CJDNS,
                        10 | 14 => I2P,
                        8 | 9 => Onion,
                        _ => IPv4,
                    };
                    (id > 5, net)
                },
                protected: &[0, 1, 2, 3, 6, 8, 10, 11],
                unprotected: &[4, 5, 7, 9, 12, 13, 14, 15],
            },
            ProtectionCase {
                n: 24,
                uptime: Uptime::ById,
                class: |id| {
                    let net = if id > 17 {
                        CJDNS
                    } else if id == 17 {
                        I2P
                    } else if id == 12 || id == 14 || id == 15 || id == 16 {
                        Onion
                    } else {
                        IPv6
                    };
                    (id == 13, net)
                },
                protected: &[0, 1, 2, 3, 4, 5, 12, 13, 14, 17, 18, 19],
                unprotected: &[6, 7, 8, 9, 10, 11, 15, 16, 20, 21, 22, 23],
            },
        ]);
    }

    /// Mirrors net_peer_eviction_tests.cpp: IsEvicted. True if the peer chosen for eviction
    /// (after a shuffle) is one of `node_ids`.
    fn is_evicted_from(
        mut candidates: Vec<NodeEvictionCandidate>,
        node_ids: &[NodeId],
        rng: &mut ChaCha20Rng,
    ) -> bool {
        shuffle(&mut candidates, rng);
        match select_node_to_evict(candidates) {
            Some(id) => node_ids.contains(&id),
            None => false,
        }
    }

    /// Mirrors net_peer_eviction_tests.cpp: IsEvicted (the overload that makes random nodes).
    fn is_evicted(
        number_of_nodes: usize,
        setup: &dyn Fn(&mut NodeEvictionCandidate),
        node_ids: &[NodeId],
        rng: &mut ChaCha20Rng,
    ) -> bool {
        let mut candidates = get_random_node_eviction_candidates(number_of_nodes, rng);
        for c in candidates.iter_mut() {
            setup(c);
        }
        is_evicted_from(candidates, node_ids, rng)
    }

    /// Mirrors net_peer_eviction_tests.cpp: peer_eviction_test.
    ///
    /// Core's novel-transaction and novel-block times are one `logos` time here, so Core's
    /// setups of either time set that one (and a setup of one also moves the other).
    #[test]
    fn net_peer_eviction_tests__peer_eviction_test() {
        let mut rng = deterministic_rng();
        for number_of_nodes in 0..200usize {
            let n = number_of_nodes as i64;
            // The four highest keyed netgroups are protected.
            assert!(!is_evicted(
                number_of_nodes,
                &|c| c.n_keyed_net_group = (n - c.id) as u64,
                &[0, 1, 2, 3],
                &mut rng
            ));
            // The eight lowest minimum ping times are protected.
            assert!(!is_evicted(
                number_of_nodes,
                &|c| c.m_min_ping_time = c.id,
                &[0, 1, 2, 3, 4, 5, 6, 7],
                &mut rng
            ));
            // The four most recent senders of a novel transaction (here: `logos` message) are
            // protected.
            assert!(!is_evicted(
                number_of_nodes,
                &|c| c.m_last_logos_time = n - c.id,
                &[0, 1, 2, 3],
                &mut rng
            ));
            // Up to eight peers that do not relay transactions, have the wanted services and
            // sent the most recent novel blocks (here: `logos` messages) are protected.
            assert!(!is_evicted(
                number_of_nodes,
                &|c| {
                    c.m_last_logos_time = n - c.id;
                    if c.id <= 7 {
                        c.m_relay_txs = false;
                        c.f_relevant_services = true;
                    }
                },
                &[0, 1, 2, 3, 4, 5, 6, 7],
                &mut rng
            ));
            // The four most recent senders of a novel block (here: `logos` message) are
            // protected.
            assert!(!is_evicted(
                number_of_nodes,
                &|c| c.m_last_logos_time = n - c.id,
                &[0, 1, 2, 3],
                &mut rng
            ));
            // The two cases above together: 8 + 4 protected (with the transaction slots, as
            // one time stands for both here, the twelve most recent senders).
            assert!(!is_evicted(
                number_of_nodes,
                &|c| {
                    c.m_last_logos_time = n - c.id;
                    if c.id <= 7 {
                        c.m_relay_txs = false;
                        c.f_relevant_services = true;
                    }
                },
                &(0..12).collect::<Vec<_>>(),
                &mut rng
            ));
            // Every case above at once: 4 + 8 + 4 + 4 = 20 protected.
            assert!(!is_evicted(
                number_of_nodes,
                &|c| {
                    c.n_keyed_net_group = (n - c.id) as u64;
                    c.m_min_ping_time = c.id;
                    c.m_last_logos_time = n - c.id;
                },
                &(0..20).collect::<Vec<_>>(),
                &mut rng
            ));
            // At most 4 + 8 + 4 + 8 + 4 = 28 are protected before the ratio step: an eviction
            // is certain given >= 29 random candidates.
            if number_of_nodes >= 29 {
                assert!(select_node_to_evict(get_random_node_eviction_candidates(
                    number_of_nodes,
                    &mut rng
                ))
                .is_some());
            }
            // At least 4 + 8 + 4 + 4 = 20 are protected: no eviction given <= 20 random
            // candidates.
            if number_of_nodes <= 20 {
                assert!(select_node_to_evict(get_random_node_eviction_candidates(
                    number_of_nodes,
                    &mut rng
                ))
                .is_none());
            }
        }
    }

    /// Core's bounds of peer_eviction_test over many more random draws: never an eviction from
    /// 20 candidates or fewer, always one from 29 or more.
    #[test]
    fn eviction_bounds_hold_for_random_candidates() {
        let mut rng = deterministic_rng();
        for n in 0..120 {
            for _ in 0..5 {
                let evicted =
                    select_node_to_evict(get_random_node_eviction_candidates(n, &mut rng));
                if n <= 20 {
                    assert!(evicted.is_none(), "n={n}");
                }
                if n >= 29 {
                    assert!(evicted.is_some(), "n={n}");
                }
            }
        }
    }

    /// Candidates for checking one time-based protection on its own: every candidate relays
    /// transactions, lacks the wanted services, never sent a `logos` message and connected at
    /// time `id` (lower ids longer ago); ids 0..4 hold the only non-zero netgroups and ids 4..12
    /// the only pings, so those two protections take exactly ids 0..12. All the rest share
    /// netgroup 0, so the youngest survivor is the one evicted, unless a survivor is preferred
    /// for eviction.
    fn time_protection_scenario(n: usize) -> Vec<NodeEvictionCandidate> {
        (0..n as NodeId)
            .map(|id| {
                let mut c = candidate(id);
                c.m_connected = id;
                c.m_relay_txs = true;
                if id < 4 {
                    c.n_keyed_net_group = 100 + id as u64;
                } else if id < 12 {
                    c.m_min_ping_time = id;
                }
                c
            })
            .collect()
    }

    /// The peer [`select_node_to_evict`] picks, the same under every one of 30 shuffles.
    fn evicted_whatever_the_order(
        candidates: &[NodeEvictionCandidate],
        rng: &mut ChaCha20Rng,
    ) -> Option<NodeId> {
        let first = select_node_to_evict(candidates.to_vec());
        for _ in 0..30 {
            let mut c = candidates.to_vec();
            shuffle(&mut c, rng);
            assert_eq!(select_node_to_evict(c), first);
        }
        first
    }

    /// Core's CompareNodeTXTime: among peers with the same time (here none ever sent a
    /// `logos` message) the one that relays transactions is protected, however young. Only
    /// this tie-break saves peer 30: a tie-break on services or on uptime alone evicts it.
    #[test]
    fn tx_time_ties_go_to_tx_relaying_peers() {
        let mut rng = deterministic_rng();
        let mut c = time_protection_scenario(31);
        for x in c[12..].iter_mut() {
            x.m_relay_txs = false;
        }
        // Peer 30: the youngest and preferred for eviction, but relays transactions.
        c[30].m_relay_txs = true;
        c[30].prefer_evict = true;
        // Transaction step: 30 and the oldest 12, 13, 14; block-relay-only: empty (no one has
        // the wanted services); block step: 15..18; ratio: 19..23; evicted: the youngest of
        // 24..29.
        assert_eq!(evicted_whatever_the_order(&c, &mut rng), Some(29));
        // Without its relay flag it is just the youngest peer.
        c[30].m_relay_txs = false;
        assert_eq!(evicted_whatever_the_order(&c, &mut rng), Some(30));
    }

    /// Core's CompareNodeBlockRelayOnlyTime with its predicate: a peer that does not relay
    /// transactions and has the wanted services is protected by the block-relay-only class
    /// even when the four transaction and four block slots went to more recent senders. Only
    /// that class saves peer 30.
    #[test]
    fn block_relay_only_peer_is_protected() {
        let mut rng = deterministic_rng();
        let mut c = time_protection_scenario(31);
        // Eight peers with a more recent `logos` message than peer 30 fill the transaction
        // (12..15) and block (16..19) slots.
        for x in c[12..20].iter_mut() {
            x.m_last_logos_time = 100;
        }
        c[30].m_last_logos_time = 50;
        c[30].m_relay_txs = false;
        c[30].f_relevant_services = true;
        c[30].prefer_evict = true;
        // Ratio: 20..24 of 20..29; evicted: 29.
        assert_eq!(evicted_whatever_the_order(&c, &mut rng), Some(29));
        // Without the wanted services it is not in the class.
        c[30].f_relevant_services = false;
        assert_eq!(evicted_whatever_the_order(&c, &mut rng), Some(30));
        // Relaying transactions, it is not in the class either.
        c[30].f_relevant_services = true;
        c[30].m_relay_txs = true;
        assert_eq!(evicted_whatever_the_order(&c, &mut rng), Some(30));
    }

    /// The block-relay-only class holds at most 8 peers, ordered by time then longest uptime;
    /// with it, Core's 28 fixed protections can all be used: 28 candidates may leave no one to
    /// evict (20 would be the most without the class), and a 29th is evicted.
    #[test]
    fn block_relay_only_class_protects_up_to_8() {
        let mut rng = deterministic_rng();
        let mut c = time_protection_scenario(28);
        for x in c[12..20].iter_mut() {
            x.m_last_logos_time = 100;
        }
        for x in c[20..28].iter_mut() {
            x.m_last_logos_time = 50;
            x.m_relay_txs = false;
            x.f_relevant_services = true;
        }
        assert_eq!(evicted_whatever_the_order(&c, &mut rng), None);
        // A ninth such peer, as recent but the youngest, finds the class full.
        let mut ninth = c[27];
        ninth.id = 28;
        ninth.m_connected = 28;
        c.push(ninth);
        assert_eq!(evicted_whatever_the_order(&c, &mut rng), Some(28));
        // More recent than the other eight, it takes the place of the youngest of them (27).
        c[28].m_last_logos_time = 60;
        assert_eq!(evicted_whatever_the_order(&c, &mut rng), Some(27));
    }

    /// Core's CompareNodeBlockTime: among peers with the same time (here none ever sent a
    /// `logos` message) and all relaying transactions, the one with the wanted services is
    /// protected, however young. Only this tie-break saves peer 30.
    #[test]
    fn block_time_ties_go_to_peers_with_wanted_services() {
        let mut rng = deterministic_rng();
        let mut c = time_protection_scenario(31);
        c[30].f_relevant_services = true;
        c[30].prefer_evict = true;
        // Transaction step: 12..15 (relay flags tie); block-relay-only: empty; block step:
        // 30, 16, 17, 18; ratio: 19..23; evicted: 29.
        assert_eq!(evicted_whatever_the_order(&c, &mut rng), Some(29));
        c[30].f_relevant_services = false;
        assert_eq!(evicted_whatever_the_order(&c, &mut rng), Some(30));
    }

    /// Core's "cases left to test": preferred-for-eviction peers are chosen first.
    #[test]
    fn prefer_evict_peers_are_considered_first() {
        let mut rng = deterministic_rng();
        for round in 0..100 {
            // 40 peers: enough that 20 are protected by fixed criteria and 10 by uptime.
            let mut candidates: Vec<_> = (0..40).map(candidate).collect();
            for c in candidates.iter_mut() {
                c.n_keyed_net_group = c.id as u64 % 5;
                c.m_connected = c.id;
                c.m_min_ping_time = c.id;
            }
            // The youngest peer, in the lowest netgroup and with the worst ping, is preferred
            // for eviction; the biggest netgroups lie elsewhere, yet it is the one evicted.
            candidates[39].prefer_evict = true;
            candidates[39].n_keyed_net_group = 0;
            assert!(
                is_evicted_from(candidates, &[39], &mut rng),
                "round {round}"
            );
        }
    }

    /// Core's "cases left to test": the youngest member of the biggest netgroup is evicted.
    #[test]
    fn youngest_of_largest_netgroup_is_evicted() {
        let mut rng = deterministic_rng();
        for _ in 0..100 {
            let mut candidates: Vec<_> = (0..60).map(candidate).collect();
            for c in candidates.iter_mut() {
                // Ping and uptime protect the low ids; the rest are spread over groups.
                c.m_connected = c.id;
                c.m_min_ping_time = c.id;
                c.n_keyed_net_group = 1000 + c.id as u64;
            }
            // Group 7 gets three young members, group 8 two younger ones.
            for (id, g) in [(40, 7), (45, 7), (50, 7), (55, 8), (59, 8)] {
                candidates[id].n_keyed_net_group = g;
            }
            // The netgroup protection (top 4 keys) takes ids 54, 56, 57, 58.
            let mut out = candidates.clone();
            shuffle(&mut out, &mut rng);
            assert_eq!(select_node_to_evict(out), Some(50));
        }
    }

    /// On equal group sizes, the group whose youngest member connected last loses.
    #[test]
    fn netgroup_tie_goes_to_youngest_group() {
        let mut candidates: Vec<_> = (0..60).map(candidate).collect();
        for c in candidates.iter_mut() {
            c.m_connected = c.id;
            c.m_min_ping_time = c.id;
            c.n_keyed_net_group = 1000 + c.id as u64;
        }
        for (id, g) in [(40, 7), (50, 7), (45, 8), (55, 8)] {
            candidates[id].n_keyed_net_group = g;
        }
        assert_eq!(select_node_to_evict(candidates), Some(55));
    }

    #[test]
    fn noban_and_outbound_are_never_evicted() {
        let mut rng = deterministic_rng();
        for n in 0..100 {
            let mut candidates = get_random_node_eviction_candidates(n, &mut rng);
            for c in candidates.iter_mut() {
                if c.id % 2 == 0 {
                    c.m_noban = true;
                } else if c.id % 3 == 0 {
                    c.m_conn_type = ConnectionType::OutboundFullRelay;
                }
            }
            if let Some(id) = select_node_to_evict(candidates) {
                assert!(id % 2 == 1 && id % 3 != 0, "evicted protected peer {id}");
            }
        }
        // All non-inbound types.
        let all: Vec<_> = crate::connection_type::ALL_CONNECTION_TYPES
            .iter()
            .filter(|t| **t != ConnectionType::Inbound)
            .enumerate()
            .flat_map(|(i, t)| {
                (0..20).map(move |j| {
                    let mut c = candidate((i * 20 + j) as NodeId);
                    c.m_conn_type = *t;
                    c
                })
            })
            .collect();
        assert_eq!(select_node_to_evict(all), None);
    }

    /// The ratio protection always removes exactly half (rounded down) and leaves the rest
    /// sorted youngest first, whatever the mix of networks.
    #[test]
    fn ratio_protection_removes_half_and_sorts() {
        let mut rng = deterministic_rng();
        for n in 0..150 {
            let mut c = get_random_node_eviction_candidates(n, &mut rng);
            protect_eviction_candidates_by_ratio(&mut c);
            assert_eq!(c.len(), n - n / 2);
            assert!(c.windows(2).all(|w| w[0].m_connected >= w[1].m_connected));
        }
    }

    /// Every peer with a novel `logos` message more recent than every other peer's is kept.
    #[test]
    fn recent_logos_senders_are_protected() {
        let mut rng = deterministic_rng();
        for _ in 0..50 {
            let mut c = get_random_node_eviction_candidates(100, &mut rng);
            for x in c.iter_mut() {
                x.m_last_logos_time = 0;
            }
            for id in [17usize, 42, 63, 99] {
                c[id].m_last_logos_time = 1_000 + id as i64;
            }
            shuffle(&mut c, &mut rng);
            let evicted = select_node_to_evict(c).expect("100 candidates: one is evicted");
            assert!(![17, 42, 63, 99].contains(&evicted));
        }
    }

    #[test]
    fn erase_last_k_elements_only_drops_matching_tail() {
        let mut rng = deterministic_rng();
        let mut v: Vec<_> = (0..10).map(candidate).collect();
        for c in v.iter_mut() {
            c.m_connected = c.id;
        }
        shuffle(&mut v, &mut rng);
        // Ordered ascending by m_connected; tail = ids 6..9; drop even ones among them.
        erase_last_k_elements(
            &mut v,
            |a, b| a.m_connected.cmp(&b.m_connected),
            4,
            |c| c.id % 2 == 0,
        );
        let mut ids: Vec<_> = v.iter().map(|c| c.id).collect();
        ids.sort_unstable();
        assert_eq!(ids, vec![0, 1, 2, 3, 4, 5, 7, 9]);
        // k = 0 drops nothing.
        erase_last_k_elements(&mut v, |a, b| a.id.cmp(&b.id), 0, |_| true);
        assert_eq!(v.len(), 8);
        // k larger than the vector.
        erase_last_k_elements(&mut v, |a, b| a.id.cmp(&b.id), 100, |_| true);
        assert!(v.is_empty());
    }

    #[test]
    fn randrange_stays_in_range_and_covers_it() {
        let mut rng = deterministic_rng();
        let mut seen = [false; 7];
        for _ in 0..1000 {
            let v = randrange(&mut rng, 7);
            assert!(v < 7);
            seen[v as usize] = true;
        }
        assert!(seen.iter().all(|s| *s));
        assert_eq!(randrange(&mut rng, 1), 0);
        let mut v: Vec<u32> = (0..50).collect();
        shuffle(&mut v, &mut rng);
        let mut sorted = v.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..50).collect::<Vec<_>>());
        assert_ne!(v, sorted);
    }
}
