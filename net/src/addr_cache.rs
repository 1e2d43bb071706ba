//! The `getaddr` answer cache: Core's `CConnman::GetAddresses` (both overloads) and
//! `m_addr_response_caches` (net.cpp). No IO; time (µs) and RNG are passed in.
//!
//! One answer is cached per "how the requestor reached us" (network of the connection, our
//! local socket address and, for inbound peers, our local port), and is kept 21 h plus a random
//! 0–6 h, so scraping addrman through repeated `getaddr`s from many connections only ever sees
//! the same few snapshots.
//!
//! # Integration (for the connman / peerman)
//! - The connman owns one [`AddrResponseCache`] behind a lock, built with the connman's
//!   [`RandomizerSeeds`] (Core's `nSeed0`, `nSeed1`).
//! - On an inbound `getaddr` (see `addr_relay::AddrRelayPeer::process_getaddr`), the fetch
//!   closure is `cache.get_addresses_for(&requestor, MAX_ADDR_TO_SEND, MAX_PCT_ADDR_TO_SEND,
//!   now_micros, rng, &addrman, banman)` — or, for a peer with the `addr` permission,
//!   [`get_addresses`]`(&addrman, banman, MAX_ADDR_TO_SEND, MAX_PCT_ADDR_TO_SEND, None, true)`
//!   which bypasses the cache.
//! - The RPC `getnodeaddresses` uses [`get_addresses`] with `filtered = true` as Core does.

use std::collections::BTreeMap;

use addrman::banman::BanMan;
use addrman::AddrMan;
use netbase::{CService, Network};
use protocol::CAddress;
use rand_core::RngCore;

use crate::addr_relay::randrange;
use crate::siphash::RandomizerSeeds;

/// Core's `RANDOMIZER_ID_ADDRCACHE` (`SHA256("addrcache")[0:8]`).
pub const RANDOMIZER_ID_ADDRCACHE: u64 = 0x1cf2_e4dd_d306_dda9;
/// Fixed part of a cache entry's lifetime (21 h), microseconds.
pub const ADDR_CACHE_LIFETIME_BASE: i64 = 21 * 3600 * 1_000_000;
/// Random extra part of a cache entry's lifetime (up to 6 h), microseconds.
pub const ADDR_CACHE_LIFETIME_RANDOM: i64 = 6 * 3600 * 1_000_000;

/// Port of CConnman::GetAddresses(max_addresses, max_pct, network, filtered) (net.cpp):
/// addrman's `GetAddr`, minus banned and discouraged addresses.
pub fn get_addresses(
    addrman: &AddrMan,
    banman: Option<&BanMan>,
    max_addresses: usize,
    max_pct: usize,
    network: Option<Network>,
    filtered: bool,
) -> Vec<CAddress> {
    let mut addresses = addrman.get_addr(max_addresses, max_pct, network, filtered);
    if let Some(bm) = banman {
        //DMITRY: banned or discouraged address in a getaddr answer; Core: net.cpp::CConnman::GetAddresses; kept: left out
        // of the answer.
        addresses.retain(|a| !bm.is_discouraged(&a.service.addr) && !bm.is_banned(&a.service.addr));
    }
    addresses
}

/// How the requestor is connected to us: what Core hashes into the cache id.
#[derive(Clone, Debug)]
pub struct AddrRequestor {
    /// `CNode::ConnectedThroughNetwork()`.
    pub connected_through: Network,
    /// `CNode::addrBind`: our side of the connection.
    pub addr_bind: CService,
    /// `CNode::IsInboundConn()`.
    pub is_inbound: bool,
}

/// Core's `CachedAddrResponse`.
#[derive(Clone, Debug, Default)]
pub struct CachedAddrResponse {
    /// Core's `m_addrs_response_cache`.
    pub m_addrs_response_cache: Vec<CAddress>,
    /// Core's `m_cache_entry_expiration` (µs; 0 for a new entry).
    pub m_cache_entry_expiration: i64,
}

/// Core's `m_addr_response_caches`, keyed by the cache id.
#[derive(Debug)]
pub struct AddrResponseCache {
    seeds: RandomizerSeeds,
    /// Core's `m_addr_response_caches`.
    pub m_addr_response_caches: BTreeMap<u64, CachedAddrResponse>,
}

impl AddrResponseCache {
    /// Not in Core: an empty cache keyed with the connman's seeds.
    pub fn new(seeds: RandomizerSeeds) -> Self {
        AddrResponseCache {
            seeds,
            m_addr_response_caches: BTreeMap::new(),
        }
    }

    /// Port of the cache id in CConnman::GetAddresses(CNode&, ...) (net.cpp): the cache id of a requestor (Core: `GetDeterministicRandomizer(RANDOMIZER_ID_ADDRCACHE)`
    /// over the network, our local address bytes, and our local port for inbound peers only,
    /// since the port of an outbound socket is random).
    pub fn cache_id(&self, requestor: &AddrRequestor) -> u64 {
        let mut h = self
            .seeds
            .get_deterministic_randomizer(RANDOMIZER_ID_ADDRCACHE);
        h.write_u64(requestor.connected_through as u64);
        h.write(&requestor.addr_bind.addr.get_addr_bytes());
        h.write_u64(if requestor.is_inbound {
            u64::from(requestor.addr_bind.port)
        } else {
            0
        });
        h.finalize()
    }

    /// Port of CConnman::GetAddresses(CNode& requestor, max_addresses, max_pct) (net.cpp),
    /// with the fetch as a closure (`fetch()` = `GetAddresses(max_addresses, max_pct,
    /// nullopt)`): the cached answer for this requestor's cache id, refreshed when expired
    /// (then valid for 21 h + up to 6 h).
    pub fn get_addresses_with<R: RngCore + ?Sized, F: FnOnce() -> Vec<CAddress>>(
        &mut self,
        requestor: &AddrRequestor,
        now_micros: i64,
        rng: &mut R,
        fetch: F,
    ) -> Vec<CAddress> {
        let id = self.cache_id(requestor);
        let entry = self.m_addr_response_caches.entry(id).or_default();
        if entry.m_cache_entry_expiration < now_micros {
            entry.m_addrs_response_cache = fetch();
            entry.m_cache_entry_expiration = now_micros
                + ADDR_CACHE_LIFETIME_BASE
                + randrange(rng, ADDR_CACHE_LIFETIME_RANDOM as u64) as i64;
        }
        entry.m_addrs_response_cache.clone()
    }

    /// Not in Core: [`Self::get_addresses_with`] reading addrman (and banman) directly.
    #[allow(clippy::too_many_arguments)]
    pub fn get_addresses_for<R: RngCore + ?Sized>(
        &mut self,
        requestor: &AddrRequestor,
        max_addresses: usize,
        max_pct: usize,
        now_micros: i64,
        rng: &mut R,
        addrman: &AddrMan,
        banman: Option<&BanMan>,
    ) -> Vec<CAddress> {
        self.get_addresses_with(requestor, now_micros, rng, || {
            get_addresses(addrman, banman, max_addresses, max_pct, None, true)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use netbase::CNetAddr;
    use rand_chacha::rand_core::SeedableRng;
    use std::cell::Cell;
    use std::net::Ipv4Addr;

    fn req(bind: [u8; 4], port: u16, inbound: bool) -> AddrRequestor {
        AddrRequestor {
            connected_through: Network::IPv4,
            addr_bind: CService::new(CNetAddr::from_ipv4(Ipv4Addr::from(bind)), port),
            is_inbound: inbound,
        }
    }

    /// Mirrors p2p_getaddr_caching.py: same answer within the cache lifetime, a new one after
    /// 27 h; different local sockets get different caches; outbound ports are ignored.
    #[test]
    fn addr_cache_refreshes_after_lifetime() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(3);
        let mut cache = AddrResponseCache::new(RandomizerSeeds {
            seed0: 11,
            seed1: 22,
        });
        let calls = Cell::new(0u32);
        let fetch = || {
            calls.set(calls.get() + 1);
            vec![CAddress::default(); calls.get() as usize]
        };
        let r = req([1, 2, 3, 4], 8333, true);
        let t0 = 1_000_000_000_000i64;
        assert_eq!(cache.get_addresses_with(&r, t0, &mut rng, fetch).len(), 1);
        assert_eq!(
            cache
                .get_addresses_with(&r, t0 + ADDR_CACHE_LIFETIME_BASE, &mut rng, fetch)
                .len(),
            1
        );
        assert_eq!(calls.get(), 1);
        let exp = cache
            .m_addr_response_caches
            .values()
            .next()
            .unwrap()
            .m_cache_entry_expiration;
        assert!(
            exp >= t0 + ADDR_CACHE_LIFETIME_BASE
                && exp < t0 + ADDR_CACHE_LIFETIME_BASE + ADDR_CACHE_LIFETIME_RANDOM
        );
        assert_eq!(
            cache
                .get_addresses_with(&r, t0 + 27 * 3600 * 1_000_000, &mut rng, fetch)
                .len(),
            2
        );
        // Another local port (inbound) = another cache.
        let r2 = req([1, 2, 3, 4], 8334, true);
        assert_eq!(cache.get_addresses_with(&r2, t0, &mut rng, fetch).len(), 3);
        // Outbound: the local port does not matter.
        assert_eq!(
            cache.cache_id(&req([1, 2, 3, 4], 1, false)),
            cache.cache_id(&req([1, 2, 3, 4], 2, false))
        );
        assert_ne!(
            cache.cache_id(&req([1, 2, 3, 4], 1, true)),
            cache.cache_id(&req([1, 2, 3, 4], 2, true))
        );
    }
}
