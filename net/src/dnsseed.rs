//! DNS seeding: Core's `CConnman::ThreadDNSAddressSeed` (net.cpp) as a state machine
//! ([`DnsSeedPlanner`]) driven by time passed in, a blocking driver for the `dnsseed` thread
//! ([`thread_dns_address_seed`]), and the resolver seam ([`DnsResolver`]) with an
//! implementation on `hickory-resolver` ([`HickoryResolver`]).
//!
//! Core's timing: with `-seednode`, give the seed nodes up to 30 s (checking every 500 ms) to
//! bring 2 full outbound peers. Then, if addrman is empty or `-forcednsseed`, query every seed
//! at once; otherwise, unless 2 full outbound peers exist already, wait 11 s (5 min when addrman
//! holds 1000 or more addresses, checking every 11 s whether 2 full outbound peers came up and
//! stopping if so), query 3 seeds, wait again, query 3 more, and so on. Each seed is asked for
//! `x<services>.<seed>` (the service-bit subdomain of the seeds' services: `x9.` on Bitcoin
//! networks); at most 32 addresses are taken from it, with the seeds' services, the network's
//! default port and a random age of 3–7 days, and added to addrman with the queried name as
//! source (an internal address). A seed that gives nothing is asked for peers by an
//! address-fetch connection to its base name instead. Lookup failures are logged, never fatal.
//!
//! hickory-resolver is async-only; [`HickoryResolver`] owns a private current-thread tokio
//! runtime and blocks on it, so nothing outside this file sees tokio.
//!
//! # Integration (the connman's `dnsseed` thread)
//! Core starts the thread only when `-dnsseed` is on (else logs `DNS seeding disabled`); here
//! construct `DnsSeedPlanner::new(config, params.dns_seeds, params.seeds_services, now, rng)`
//! either way (with `dnsseed: false` it finishes at once) and run
//! [`thread_dns_address_seed`] on the thread with a [`DnsSeedEnv`] whose `sleep_until` is the
//! interruptible sleep (`interruptNet.sleep_for`; false = shutting down), whose
//! `full_outbound_conn_count` is `open_connections::get_full_outbound_conn_count` over
//! `m_nodes`, whose `add_addr_fetch` pushes to the shared `open_connections::AddrFetchQueue`,
//! and with `HickoryResolver::system()` (or `with_nameserver(ip:port)` for `-dnsseedserver`
//! style overrides and tests). Fixed seeds are not here: Core adds them from
//! `ThreadOpenConnections` (see `open_connections`).

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use addrman::AddrMan;
use netbase::{CNetAddr, CService};
use protocol::{CAddress, ServiceFlags};
use rand_core::RngCore;

use crate::addr_relay::{rand_uniform_duration, randrange};
use crate::open_connections::SEED_OUTBOUND_CONNECTION_THRESHOLD;

/// Core's `DNSSEEDS_TO_QUERY_AT_ONCE`.
pub const DNSSEEDS_TO_QUERY_AT_ONCE: usize = 3;
/// Core's `DNSSEEDS_DELAY_FEW_PEERS` (11 s), microseconds.
pub const DNSSEEDS_DELAY_FEW_PEERS: i64 = 11 * 1_000_000;
/// Core's `DNSSEEDS_DELAY_MANY_PEERS` (5 min), microseconds.
pub const DNSSEEDS_DELAY_MANY_PEERS: i64 = 5 * 60 * 1_000_000;
/// Core's `DNSSEEDS_DELAY_PEER_THRESHOLD`: addrman this large counts as "many peers".
pub const DNSSEEDS_DELAY_PEER_THRESHOLD: usize = 1000;
/// Core's `SEEDNODE_TIMEOUT` (30 s), microseconds.
pub const SEEDNODE_TIMEOUT: i64 = 30 * 1_000_000;
/// How often the seed-node phase checks the outbound count (500 ms), microseconds.
pub const SEEDNODE_CHECK_INTERVAL: i64 = 500_000;
/// How often to re-check a deactivated network (1 s), microseconds.
pub const NETWORK_ACTIVE_CHECK_INTERVAL: i64 = 1_000_000;
/// Core's `nMaxIPs`: most addresses taken from one seed.
pub const MAX_IPS_PER_SEED: usize = 32;
/// Core's `DEFAULT_DNSSEED`.
pub const DEFAULT_DNSSEED: bool = true;
/// Core's `DEFAULT_FORCEDNSSEED`.
pub const DEFAULT_FORCEDNSSEED: bool = false;
/// Core's `DEFAULT_FIXEDSEEDS`.
pub const DEFAULT_FIXEDSEEDS: bool = true;
/// Seed addresses are given a time 3 days ago …
pub const DNS_SEED_MIN_AGE: i64 = 3 * 24 * 3600;
/// … minus up to 4 days more (seconds).
pub const DNS_SEED_AGE_RANGE: i64 = 4 * 24 * 3600;

/// The name-resolution seam: all addresses (A and AAAA) of `host`.
pub trait DnsResolver: Send + Sync {
    /// Resolve `host`; an error is logged by the caller and treated as "no address".
    fn lookup(&self, host: &str) -> io::Result<Vec<IpAddr>>;
}

/// Options of the `dnsseed` thread.
#[derive(Clone, Debug)]
pub struct DnsSeedConfig {
    /// `-dnsseed` (false: no seeding at all; Core does not start the thread).
    pub dnsseed: bool,
    /// `-forcednsseed`: query all seeds at once, even with a full addrman.
    pub forcednsseed: bool,
    /// `-seednode` was given: give seed nodes 30 s first.
    pub seednode: bool,
    /// Core's `HaveNameProxy()`: with a name proxy, seeds are reached by address-fetch
    /// connections instead of lookups. We have no proxy support yet, so normally false.
    pub name_proxy: bool,
}

impl Default for DnsSeedConfig {
    fn default() -> Self {
        DnsSeedConfig {
            dnsseed: DEFAULT_DNSSEED,
            forcednsseed: DEFAULT_FORCEDNSSEED,
            seednode: false,
            name_proxy: false,
        }
    }
}

/// What the planner reads from the node at each step.
#[derive(Clone, Copy, Debug)]
pub struct DnsSeedInputs {
    /// `addrman.Size()`.
    pub addrman_size: usize,
    /// `GetFullOutboundConnCount()`.
    pub full_outbound: usize,
    /// `fNetworkActive`.
    pub network_active: bool,
}

/// What the `dnsseed` thread must do next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DnsSeedAction {
    /// Sleep until this time (µs), then poll again.
    Wait {
        /// Wake-up time, µs.
        until_micros: i64,
    },
    /// Resolve `host`, then call [`DnsSeedPlanner::on_lookup`].
    Query {
        /// The seed as configured (e.g. `seed.bitcoin.sipa.be.`).
        seed: String,
        /// The name to resolve (e.g. `x9.seed.bitcoin.sipa.be.`).
        host: String,
    },
    /// Queue an address-fetch connection to this seed name (name proxy in use).
    AddrFetch {
        /// The seed name.
        seed: String,
    },
    /// The thread is done.
    Finished,
}

/// What to do with a lookup's result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SeedLookupOutcome {
    /// Add these to addrman with this source (time penalty 0).
    Add {
        /// The addresses.
        addrs: Vec<CAddress>,
        /// The queried name as an internal address.
        source: CNetAddr,
    },
    /// The seed gave nothing for the service subdomain: address-fetch its base name.
    AddrFetch {
        /// The seed name.
        seed: String,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Phase {
    /// `-seednode`: waiting for seed nodes (started at `start`).
    SeedNodeWait {
        start: i64,
        next_check: i64,
    },
    /// Decide whether to seed at all.
    Init,
    /// About to handle seed `idx`.
    Loop {
        idx: usize,
    },
    /// Waiting before seed `idx`: `to_wait` left after the chunk ending at `chunk_end` of
    /// length `chunk`.
    Waiting {
        idx: usize,
        to_wait: i64,
        chunk: i64,
        chunk_end: i64,
    },
    /// The wait is over (or not needed): query seed `idx` once the network is active.
    Ready {
        idx: usize,
        next_check: Option<i64>,
    },
    /// A lookup for seed `idx` is out.
    AwaitingLookup {
        idx: usize,
    },
    Finished,
}

/// Port of the control flow of CConnman::ThreadDNSAddressSeed (net.cpp) with time passed in.
#[derive(Debug)]
pub struct DnsSeedPlanner {
    cfg: DnsSeedConfig,
    /// Seeds in the (random) order they will be queried.
    seeds: Vec<String>,
    /// The seeds' services (Core's `SeedsServiceFlags()`), giving the `x%x.` subdomain.
    services: ServiceFlags,
    phase: Phase,
    /// Core's `outbound_connection_count`.
    outbound_connection_count: usize,
    /// Core's `seeds_right_now`.
    seeds_right_now: usize,
    /// Core's `found`.
    found: usize,
    /// Core's `seeds_wait_time`, µs.
    seeds_wait_time: i64,
    /// The phase-change log lines already written for the current network wait.
    network_wait_logged: bool,
    /// Queries made so far (seed, host) in order, for the caller's diagnostics.
    pub queried: Vec<String>,
}

impl DnsSeedPlanner {
    /// Port of the start of CConnman::ThreadDNSAddressSeed (net.cpp): a planner over `seeds`
    /// (shuffled with `rng`, as Core shuffles `DNSSeeds()`), started at `now_micros`.
    pub fn new<R: RngCore + ?Sized>(
        cfg: DnsSeedConfig,
        seeds: &[&str],
        services: ServiceFlags,
        now_micros: i64,
        rng: &mut R,
    ) -> Self {
        let mut seeds: Vec<String> = seeds.iter().map(|s| (*s).to_owned()).collect();
        for i in (1..seeds.len()).rev() {
            let j = randrange(rng, (i + 1) as u64) as usize;
            seeds.swap(i, j);
        }
        let phase = if !cfg.dnsseed {
            //DMITRY: DNS seeding with -dnsseed=0; Core: net.cpp::CConnman::Start; kept: no seed is
            // queried.
            log::info!("DNS seeding disabled");
            Phase::Finished
        } else if cfg.seednode {
            log::info!(
                "-seednode enabled. Trying the provided seeds for {} seconds before defaulting to the dnsseeds.",
                SEEDNODE_TIMEOUT / 1_000_000
            );
            Phase::SeedNodeWait {
                start: now_micros,
                next_check: now_micros + SEEDNODE_CHECK_INTERVAL,
            }
        } else {
            Phase::Init
        };
        DnsSeedPlanner {
            cfg,
            seeds,
            services,
            phase,
            outbound_connection_count: 0,
            seeds_right_now: 0,
            found: 0,
            seeds_wait_time: DNSSEEDS_DELAY_FEW_PEERS,
            network_wait_logged: false,
            queried: Vec::new(),
        }
    }

    /// Not in Core: the seeds in query order.
    pub fn seeds(&self) -> &[String] {
        &self.seeds
    }

    /// Not in Core: addresses found so far (Core's `found`).
    pub fn found(&self) -> usize {
        self.found
    }

    /// Not in Core: whether the thread is done.
    pub fn is_finished(&self) -> bool {
        self.phase == Phase::Finished
    }

    /// Port of the seed name in CConnman::ThreadDNSAddressSeed (net.cpp): the service-bit subdomain of `seed` (Core: `strprintf("x%x.%s", ...)`).
    pub fn seed_host(&self, seed: &str) -> String {
        format!("x{:x}.{}", self.services.0, seed)
    }

    fn finish_enough_peers(&mut self) -> DnsSeedAction {
        if self.found > 0 {
            log::info!("{} addresses found from DNS seeds", self.found);
            log::info!("P2P peers available. Finished DNS seeding.");
        } else {
            log::info!("P2P peers available. Skipped DNS seeding.");
        }
        self.phase = Phase::Finished;
        DnsSeedAction::Finished
    }

    /// Port of the loop of CConnman::ThreadDNSAddressSeed (net.cpp): advance at `now_micros` with the node's current state; returns what to do next.
    /// Call again after a `Wait` expires, after a `Query` was answered with
    /// [`Self::on_lookup`], and after an `AddrFetch` was queued.
    pub fn poll(&mut self, now_micros: i64, inputs: DnsSeedInputs) -> DnsSeedAction {
        loop {
            match self.phase.clone() {
                Phase::Finished => return DnsSeedAction::Finished,
                Phase::AwaitingLookup { idx } => {
                    // The caller must report the lookup first; keep asking for it.
                    let seed = self.seeds[idx].clone();
                    let host = self.seed_host(&seed);
                    return DnsSeedAction::Query { seed, host };
                }
                Phase::SeedNodeWait { start, next_check } => {
                    if now_micros < next_check {
                        return DnsSeedAction::Wait {
                            until_micros: next_check,
                        };
                    }
                    if now_micros > start + SEEDNODE_TIMEOUT {
                        log::info!("Couldn't connect to enough peers via seed nodes. Handing fetch logic to the DNS seeds.");
                        self.phase = Phase::Init;
                        continue;
                    }
                    self.outbound_connection_count = inputs.full_outbound;
                    if self.outbound_connection_count >= SEED_OUTBOUND_CONNECTION_THRESHOLD {
                        log::info!("P2P peers available. Finished fetching data from seed nodes.");
                        self.phase = Phase::Init;
                        continue;
                    }
                    let next_check = now_micros + SEEDNODE_CHECK_INTERVAL;
                    self.phase = Phase::SeedNodeWait { start, next_check };
                    return DnsSeedAction::Wait {
                        until_micros: next_check,
                    };
                }
                Phase::Init => {
                    if self.cfg.forcednsseed || inputs.addrman_size == 0 {
                        self.seeds_right_now = self.seeds.len();
                    }
                    if self.outbound_connection_count < SEED_OUTBOUND_CONNECTION_THRESHOLD
                        || self.seeds_right_now > 0
                    {
                        self.seeds_wait_time =
                            if inputs.addrman_size >= DNSSEEDS_DELAY_PEER_THRESHOLD {
                                DNSSEEDS_DELAY_MANY_PEERS
                            } else {
                                DNSSEEDS_DELAY_FEW_PEERS
                            };
                        self.phase = Phase::Loop { idx: 0 };
                    } else {
                        //DMITRY: DNS seeds skipped because seed nodes gave enough outbound peers; Core: net.cpp::CConnman::ThreadDNSAddressSeed; kept: fewer identifying
                        // DNS requests once the seed nodes did their job.
                        log::info!("Skipping DNS seeds. Enough peers have been found");
                        self.phase = Phase::Finished;
                        return DnsSeedAction::Finished;
                    }
                }
                Phase::Loop { idx } => {
                    if idx >= self.seeds.len() {
                        log::info!("{} addresses found from DNS seeds", self.found);
                        self.phase = Phase::Finished;
                        return DnsSeedAction::Finished;
                    }
                    if self.seeds_right_now == 0 {
                        self.seeds_right_now += DNSSEEDS_TO_QUERY_AT_ONCE;
                        if inputs.addrman_size > 0 {
                            log::info!(
                                "Waiting {} seconds before querying DNS seeds.",
                                self.seeds_wait_time / 1_000_000
                            );
                            let chunk = DNSSEEDS_DELAY_FEW_PEERS.min(self.seeds_wait_time);
                            self.phase = Phase::Waiting {
                                idx,
                                to_wait: self.seeds_wait_time,
                                chunk,
                                chunk_end: now_micros + chunk,
                            };
                            continue;
                        }
                    }
                    self.phase = Phase::Ready {
                        idx,
                        next_check: None,
                    };
                }
                Phase::Waiting {
                    idx,
                    to_wait,
                    chunk,
                    chunk_end,
                } => {
                    if now_micros < chunk_end {
                        return DnsSeedAction::Wait {
                            until_micros: chunk_end,
                        };
                    }
                    let to_wait = to_wait - chunk;
                    if inputs.full_outbound >= SEED_OUTBOUND_CONNECTION_THRESHOLD {
                        //DMITRY: DNS seeding stopped because 2 full outbound peers are connected; Core: net.cpp::CConnman::ThreadDNSAddressSeed; kept: seeds are
                        // only asked while the need for addresses is acute.
                        return self.finish_enough_peers();
                    }
                    if to_wait > 0 {
                        let chunk = DNSSEEDS_DELAY_FEW_PEERS.min(to_wait);
                        self.phase = Phase::Waiting {
                            idx,
                            to_wait,
                            chunk,
                            chunk_end: now_micros + chunk,
                        };
                        continue;
                    }
                    self.phase = Phase::Ready {
                        idx,
                        next_check: None,
                    };
                }
                Phase::Ready { idx, next_check } => {
                    if !inputs.network_active {
                        if next_check.is_some_and(|t| now_micros < t) {
                            return DnsSeedAction::Wait {
                                until_micros: next_check.unwrap_or(now_micros),
                            };
                        }
                        if !self.network_wait_logged {
                            log::info!(
                                "Waiting for network to be reactivated before querying DNS seeds."
                            );
                            self.network_wait_logged = true;
                        }
                        let t = now_micros + NETWORK_ACTIVE_CHECK_INTERVAL;
                        self.phase = Phase::Ready {
                            idx,
                            next_check: Some(t),
                        };
                        return DnsSeedAction::Wait { until_micros: t };
                    }
                    self.network_wait_logged = false;
                    let seed = self.seeds[idx].clone();
                    log::info!("Loading addresses from DNS seed {seed}");
                    if self.cfg.name_proxy {
                        self.seeds_right_now = self.seeds_right_now.saturating_sub(1);
                        self.phase = Phase::Loop { idx: idx + 1 };
                        return DnsSeedAction::AddrFetch { seed };
                    }
                    let host = self.seed_host(&seed);
                    if CNetAddr::from_internal(&host).is_none() {
                        //DMITRY: DNS seed whose name gives no internal source address; Core: net.cpp::CConnman::ThreadDNSAddressSeed; kept: seed skipped.
                        self.phase = Phase::Loop { idx: idx + 1 };
                        continue;
                    }
                    self.queried.push(host.clone());
                    self.phase = Phase::AwaitingLookup { idx };
                    return DnsSeedAction::Query { seed, host };
                }
            }
        }
    }

    /// Port of the result handling of ThreadDNSAddressSeed (net.cpp): `addresses` are what
    /// `LookupHost(host, 32, true)` gave for the outstanding query. Non-empty: addresses on
    /// `default_port` with the seeds' services and a time 3–7 days before `now_secs`, to be
    /// added with the queried name as source. Empty: address-fetch the seed instead.
    pub fn on_lookup<R: RngCore + ?Sized>(
        &mut self,
        addresses: &[CNetAddr],
        default_port: u16,
        now_secs: i64,
        rng: &mut R,
    ) -> SeedLookupOutcome {
        let idx = match self.phase {
            Phase::AwaitingLookup { idx } => idx,
            _ => {
                log::warn!("dnsseed: lookup result without an outstanding query ignored");
                return SeedLookupOutcome::Add {
                    addrs: Vec::new(),
                    source: CNetAddr::default(),
                };
            }
        };
        let seed = self.seeds[idx].clone();
        let host = self.seed_host(&seed);
        self.seeds_right_now = self.seeds_right_now.saturating_sub(1);
        self.phase = Phase::Loop { idx: idx + 1 };
        if addresses.is_empty() {
            return SeedLookupOutcome::AddrFetch { seed };
        }
        let source = CNetAddr::from_internal(&host).unwrap_or_default();
        let addrs: Vec<CAddress> = addresses
            .iter()
            .take(MAX_IPS_PER_SEED)
            .map(|ip| {
                let t =
                    now_secs - DNS_SEED_MIN_AGE + rand_uniform_duration(rng, -DNS_SEED_AGE_RANGE);
                CAddress::new(CService::new(*ip, default_port), self.services, t)
            })
            .collect();
        self.found += addrs.len();
        SeedLookupOutcome::Add { addrs, source }
    }
}

/// What [`thread_dns_address_seed`] needs from the connman.
pub trait DnsSeedEnv {
    /// Current time, µs.
    fn now_micros(&self) -> i64;
    /// Sleep until `until_micros` (interruptibly); false = shutting down.
    fn sleep_until(&self, until_micros: i64) -> bool;
    /// `GetFullOutboundConnCount()`.
    fn full_outbound_conn_count(&self) -> usize;
    /// `fNetworkActive`.
    fn network_active(&self) -> bool;
    /// `AddAddrFetch(seed)`.
    fn add_addr_fetch(&self, seed: &str);
}

/// Port of CConnman::ThreadDNSAddressSeed (net.cpp): run `planner` to the end (or until
/// `env.sleep_until` reports shutdown), resolving through `resolver` and adding the results
/// to `addrman`. Returns the number of addresses found.
pub fn thread_dns_address_seed<R: RngCore + ?Sized>(
    planner: &mut DnsSeedPlanner,
    env: &dyn DnsSeedEnv,
    addrman: &AddrMan,
    resolver: &dyn DnsResolver,
    default_port: u16,
    rng: &mut R,
) -> usize {
    loop {
        let inputs = DnsSeedInputs {
            addrman_size: addrman.size(None, None),
            full_outbound: env.full_outbound_conn_count(),
            network_active: env.network_active(),
        };
        match planner.poll(env.now_micros(), inputs) {
            DnsSeedAction::Finished => return planner.found(),
            DnsSeedAction::Wait { until_micros } => {
                if !env.sleep_until(until_micros) {
                    return planner.found();
                }
            }
            DnsSeedAction::AddrFetch { seed } => env.add_addr_fetch(&seed),
            DnsSeedAction::Query { seed: _, host } => {
                // The seed name is never numeric, so resolve it up front and hand the answer to
                // Core's LookupHost filter (internal addresses out, at most 32).
                let resolved = match resolver.lookup(&host) {
                    Ok(v) => v,
                    Err(e) => {
                        log::info!("DNS lookup of {host} failed: {e}");
                        Vec::new()
                    }
                };
                let dns = move |_: &str| resolved.clone();
                let addresses = netbase::lookup_host_multi(&host, MAX_IPS_PER_SEED, true, &dns);
                let now_secs = env.now_micros().div_euclid(1_000_000);
                match planner.on_lookup(&addresses, default_port, now_secs, rng) {
                    SeedLookupOutcome::Add { addrs, source } => {
                        addrman.add(&addrs, &source, 0);
                    }
                    SeedLookupOutcome::AddrFetch { seed } => env.add_addr_fetch(&seed),
                }
            }
        }
    }
}

/// A [`DnsResolver`] on hickory-resolver, on a private current-thread tokio runtime.
pub struct HickoryResolver {
    rt: tokio::runtime::Runtime,
    resolver: hickory_resolver::TokioResolver,
}

impl std::fmt::Debug for HickoryResolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HickoryResolver")
    }
}

fn io_err<E: std::fmt::Display>(e: E) -> io::Error {
    io::Error::other(e.to_string())
}

impl HickoryResolver {
    fn runtime() -> io::Result<tokio::runtime::Runtime> {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    }

    /// Not in Core: a resolver using the system configuration (`/etc/resolv.conf`).
    pub fn system() -> io::Result<Self> {
        use hickory_resolver::config::LookupIpStrategy;
        let rt = Self::runtime()?;
        let resolver = {
            let _guard = rt.enter();
            let mut builder = hickory_resolver::TokioResolver::builder_tokio().map_err(io_err)?;
            builder.options_mut().ip_strategy = LookupIpStrategy::Ipv4AndIpv6;
            builder.build().map_err(io_err)?
        };
        Ok(HickoryResolver { rt, resolver })
    }

    /// Not in Core: a resolver asking only the DNS server at `server` (UDP, then TCP), no hosts file, short
    /// timeout: for tests (a responder on 127.0.0.1) and explicit overrides.
    pub fn with_nameserver(server: SocketAddr) -> io::Result<Self> {
        use hickory_resolver::config::{
            ConnectionConfig, LookupIpStrategy, NameServerConfig, ResolveHosts, ResolverConfig,
        };
        use hickory_resolver::net::runtime::TokioRuntimeProvider;
        let rt = Self::runtime()?;
        let resolver = {
            let _guard = rt.enter();
            let mut udp = ConnectionConfig::udp();
            udp.port = server.port();
            let mut tcp = ConnectionConfig::tcp();
            tcp.port = server.port();
            let ns = NameServerConfig::new(server.ip(), true, vec![udp, tcp]);
            let config = ResolverConfig::from_name_servers(vec![ns]);
            let mut builder = hickory_resolver::TokioResolver::builder_with_config(
                config,
                TokioRuntimeProvider::default(),
            );
            let opts = builder.options_mut();
            opts.ip_strategy = LookupIpStrategy::Ipv4AndIpv6;
            opts.use_hosts_file = ResolveHosts::Never;
            opts.timeout = Duration::from_secs(2);
            opts.attempts = 1;
            opts.cache_size = 0;
            builder.build().map_err(io_err)?
        };
        Ok(HickoryResolver { rt, resolver })
    }
}

impl DnsResolver for HickoryResolver {
    fn lookup(&self, host: &str) -> io::Result<Vec<IpAddr>> {
        let lookup = self
            .rt
            .block_on(self.resolver.lookup_ip(host))
            .map_err(io_err)?;
        Ok(lookup.iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::rand_core::SeedableRng;

    const T0: i64 = 1_795_503_770_000_000;

    fn inputs(addrman_size: usize, full_outbound: usize) -> DnsSeedInputs {
        DnsSeedInputs {
            addrman_size,
            full_outbound,
            network_active: true,
        }
    }

    fn planner(cfg: DnsSeedConfig, seeds: &[&str]) -> DnsSeedPlanner {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(5);
        DnsSeedPlanner::new(
            cfg,
            seeds,
            protocol::address::seeds_service_flags(),
            T0,
            &mut rng,
        )
    }

    fn answer(p: &mut DnsSeedPlanner, ok: bool) -> SeedLookupOutcome {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(6);
        let ips = if ok {
            vec![CNetAddr::from_ipv4(std::net::Ipv4Addr::new(11, 0, 0, 1))]
        } else {
            vec![]
        };
        p.on_lookup(&ips, 8333, T0 / 1_000_000, &mut rng)
    }

    #[test]
    fn disabled_never_queries() {
        let mut p = planner(
            DnsSeedConfig {
                dnsseed: false,
                ..Default::default()
            },
            &["a.", "b."],
        );
        assert_eq!(p.poll(T0, inputs(0, 0)), DnsSeedAction::Finished);
        assert!(p.queried.is_empty());
    }

    #[test]
    fn empty_addrman_queries_all_at_once() {
        let mut p = planner(DnsSeedConfig::default(), &["a.", "b.", "c.", "d.", "e."]);
        for _ in 0..5 {
            match p.poll(T0, inputs(0, 0)) {
                DnsSeedAction::Query { host, seed } => {
                    assert_eq!(host, format!("x9.{seed}"));
                    assert!(matches!(
                        answer(&mut p, true),
                        SeedLookupOutcome::Add { .. }
                    ));
                }
                other => panic!("expected a query, got {other:?}"),
            }
        }
        assert_eq!(p.poll(T0, inputs(5, 0)), DnsSeedAction::Finished);
        assert_eq!(p.found(), 5);
    }

    #[test]
    fn few_addresses_wait_11s_then_three_at_a_time() {
        let mut p = planner(DnsSeedConfig::default(), &["a.", "b.", "c.", "d.", "e."]);
        assert_eq!(
            p.poll(T0, inputs(10, 0)),
            DnsSeedAction::Wait {
                until_micros: T0 + 11_000_000
            }
        );
        assert_eq!(
            p.poll(T0 + 10_999_999, inputs(10, 0)),
            DnsSeedAction::Wait {
                until_micros: T0 + 11_000_000
            }
        );
        let t = T0 + 11_000_000;
        for _ in 0..3 {
            assert!(matches!(
                p.poll(t, inputs(10, 0)),
                DnsSeedAction::Query { .. }
            ));
            // An empty answer: address-fetch the seed.
            assert!(matches!(
                answer(&mut p, false),
                SeedLookupOutcome::AddrFetch { .. }
            ));
        }
        // Next group of three after another 11 s.
        assert_eq!(
            p.poll(t, inputs(10, 0)),
            DnsSeedAction::Wait {
                until_micros: t + 11_000_000
            }
        );
        // Two outbound peers came up meanwhile: stop.
        assert_eq!(
            p.poll(t + 11_000_000, inputs(10, 2)),
            DnsSeedAction::Finished
        );
        assert_eq!(p.queried.len(), 3);
    }

    #[test]
    fn many_addresses_wait_5min_in_11s_chunks() {
        let mut p = planner(DnsSeedConfig::default(), &["a."]);
        let mut t = T0;
        let mut waits = 0;
        loop {
            match p.poll(t, inputs(1000, 1)) {
                DnsSeedAction::Wait { until_micros } => {
                    assert!(until_micros - t <= 11_000_000);
                    t = until_micros;
                    waits += 1;
                }
                DnsSeedAction::Query { .. } => break,
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(t - T0, 300_000_000, "queried after 5 minutes");
        assert_eq!(waits, 28, "27 chunks of 11 s and one of 3 s");
    }

    #[test]
    fn forcednsseed_queries_all_without_waiting() {
        let mut p = planner(
            DnsSeedConfig {
                forcednsseed: true,
                ..Default::default()
            },
            &["a.", "b.", "c.", "d."],
        );
        for _ in 0..4 {
            assert!(matches!(
                p.poll(T0, inputs(5000, 1)),
                DnsSeedAction::Query { .. }
            ));
            answer(&mut p, true);
        }
        assert_eq!(p.poll(T0, inputs(5000, 1)), DnsSeedAction::Finished);
    }

    #[test]
    fn seednodes_first_then_skip_when_enough() {
        let cfg = DnsSeedConfig {
            seednode: true,
            ..Default::default()
        };
        let mut p = planner(cfg.clone(), &["a."]);
        assert_eq!(
            p.poll(T0, inputs(10, 0)),
            DnsSeedAction::Wait {
                until_micros: T0 + 500_000
            }
        );
        // Seed nodes brought two peers after 1 s: DNS seeds are skipped.
        assert!(matches!(
            p.poll(T0 + 500_000, inputs(10, 1)),
            DnsSeedAction::Wait { .. }
        ));
        assert_eq!(
            p.poll(T0 + 1_000_000, inputs(10, 2)),
            DnsSeedAction::Finished
        );
        assert!(p.queried.is_empty());

        // No peers within 30 s: DNS seeding starts (here: wait 11 s first).
        let mut p = planner(cfg, &["a."]);
        let mut t = T0;
        while let DnsSeedAction::Wait { until_micros } = p.poll(t, inputs(10, 0)) {
            t = until_micros;
            if t > T0 + 60_000_000 {
                break;
            }
        }
        assert_eq!(p.queried.len(), 1);
        assert!(t > T0 + SEEDNODE_TIMEOUT + DNSSEEDS_DELAY_FEW_PEERS - 1);
    }

    #[test]
    fn inactive_network_holds_queries() {
        let mut p = planner(DnsSeedConfig::default(), &["a."]);
        let off = DnsSeedInputs {
            addrman_size: 0,
            full_outbound: 0,
            network_active: false,
        };
        assert_eq!(
            p.poll(T0, off),
            DnsSeedAction::Wait {
                until_micros: T0 + 1_000_000
            }
        );
        assert!(matches!(
            p.poll(T0 + 1_000_000, inputs(0, 0)),
            DnsSeedAction::Query { .. }
        ));
    }
}
