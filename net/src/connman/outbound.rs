//! Outbound connections: Core's `OpenNetworkConnection`, `ConnectNode`, `AddConnection`,
//! `ProcessAddrFetch` and the "opencon", "addcon" and "dnsseed" threads (net.cpp). The choices
//! (which address, when a feeler, when the seeds) are open_connections.rs's and dnsseed.rs's.

use std::io;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use netbase::CService;
use protocol::{CAddress, ServiceFlags};
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};

use crate::connection_type::ConnectionType;
use crate::disconnect::DisconnectReason;
use crate::dnsseed::{
    self, DnsResolver, DnsSeedConfig, DnsSeedEnv, DnsSeedPlanner, HickoryResolver,
};
use crate::net_permissions::{
    add_whitelist_permission_flags, NetPermissionFlags, NetWhitelistPermissions,
};
use crate::node::{CNode, CNodeInit};
use crate::open_connections::{
    specified_outgoing_pause_slices, OpenConnectionsConfig, OpenConnectionsPlanner, PlanContext,
};
use crate::semaphore::SemaphoreGrant;
use crate::util::random_u64;

use super::{ConnmanInner, SharedResolver, MAX_OUTBOUND_FULL_RELAY_CONNECTIONS};

impl ConnmanInner {
    /// Port of CConnman::ConnectNode (net.cpp).
    fn connect_node(
        &self,
        addr_connect: &CAddress,
        dest: Option<&str>,
        f_count_failure: bool,
        conn_type: ConnectionType,
    ) -> Option<Arc<CNode>> {
        if dest.is_none() {
            if self.local_host.is_local(&addr_connect.service) {
                //DMITRY: asked to dial one of our own addresses; Core: net.cpp::CConnman::ConnectNode (IsLocal); kept: no connection
                // to ourselves (silent in Core).
                self.record_refusal(&addr_connect.service, DisconnectReason::OutboundIsLocal);
                return None;
            }
            if self.find_node_by_addr(&addr_connect.service).is_some() {
                //DMITRY: asked to dial an address and port we are already connected to; Core: net.cpp::CConnman::ConnectNode; kept: no second
                // connection.
                self.record_refusal(
                    &addr_connect.service,
                    DisconnectReason::OutboundAlreadyConnected,
                );
                return None;
            }
        }
        log::debug!(target: "net",
            "trying v1 connection {} lastseen={:.1}hrs",
            dest.map_or_else(|| addr_connect.service.to_string_addr_port(), str::to_string),
            if dest.is_some() {
                0.0
            } else {
                (self.now_secs() - addr_connect.n_time) as f64 / 3600.0
            }
        );
        // Addresses to try: every address a `-connect`/`-addnode` name resolves to (shuffled),
        // or `addr_connect`.
        let mut connect_to: Vec<CAddress> = Vec::new();
        match dest {
            Some(d) => {
                let resolver = self.opts.dns_resolver.clone();
                let mut resolved = netbase::lookup_multi(
                    d,
                    self.params.default_port,
                    true,
                    256,
                    &move |host: &str| resolve_name_with(resolver.as_ref(), host),
                );
                {
                    let mut rng = self.rng.lock();
                    for i in (1..resolved.len()).rev() {
                        let j = (rng.next_u64() % (i as u64 + 1)) as usize;
                        resolved.swap(i, j);
                    }
                }
                for r in resolved {
                    if !r.addr.is_valid() {
                        log::debug!(target: "net", "Resolver returned invalid address {} for {}", r.to_string_addr_port(), d);
                        return None;
                    }
                    if self.find_node_by_addr(&r).is_some() {
                        //DMITRY: -connect/-addnode name resolves to an address we are already connected to; Core: net.cpp::CConnman::ConnectNode; kept: no second
                        // connection.
                        log::info!(
                            "Not opening a connection to {}, already connected to {}",
                            d,
                            r.to_string_addr_port()
                        );
                        return None;
                    }
                    connect_to.push(CAddress {
                        service: r,
                        n_services: ServiceFlags(0),
                        n_time: 0,
                    });
                }
            }
            None => connect_to.push(*addr_connect),
        }
        let connector = self.connector.lock().clone();
        let mut connected = None;
        for target in connect_to {
            if !target.service.addr.is_valid() {
                continue;
            }
            // The loopback-only guard (test mode) sits in the connector: it sees the resolved
            // address, never the name.
            let res = connector.dial(
                &target.service,
                Duration::from_millis(self.opts.connect_timeout_ms),
            );
            if let Some(a) = &self.addrman {
                a.attempt(&target.service, f_count_failure, self.now_secs());
            }
            match res {
                Ok(s) => {
                    connected = Some((s, target));
                    break;
                }
                Err(e) if e.kind() == io::ErrorKind::TimedOut => {
                    //DMITRY: outbound connect does not complete within -timeout; Core: netbase.cpp::ConnectToSocket; kept: no connection,
                    // the attempt is counted in addrman.
                    log::debug!(target: "net", "connection attempt to {} timed out", target.service.to_string_addr_port());
                }
                Err(e) => {
                    let m = format!(
                        "connect() to {} failed: {}",
                        target.service.to_string_addr_port(),
                        e
                    );
                    if conn_type == ConnectionType::Manual {
                        log::info!("{m}");
                    } else {
                        log::debug!(target: "net", "{m}");
                    }
                }
            }
        }
        let (sock, target) = connected?;
        let addr_bind = sock
            .local_addr()
            .map(|a| CService::from_socket_addr(&a))
            .unwrap_or_default();
        // Only manual connections take `-whitelist=out,...` permissions (Core: the same).
        let mut permission_flags = NetPermissionFlags::NONE;
        let whitelist: &[NetWhitelistPermissions] = if conn_type == ConnectionType::Manual {
            &self.opts.whitelisted_range_outgoing
        } else {
            &[]
        };
        add_whitelist_permission_flags(
            &mut permission_flags,
            &target.service.addr,
            whitelist,
            self.opts.whitelist_relay,
            self.opts.whitelist_forcerelay,
        );
        let id = self.get_new_node_id();
        let node = Arc::new(CNode::new(
            CNodeInit {
                id,
                sock,
                n_keyed_net_group: self.calculate_keyed_net_group(&target.service.addr),
                n_local_host_nonce: self.local_host_nonce(id),
                addr_bind,
                addr_name: dest.unwrap_or("").to_string(),
                addr: target,
                conn_type,
                recv_flood_size: self.recv_flood_size(),
                prefer_evict: false,
                permission_flags,
                magic: self.params.message_start,
                hash_kind: self.params.hash_kind,
                max_message_length: self.max_message_length(),
                now_secs: self.now_secs(),
                grant: None,
            },
            self.log_ips(),
        ));
        if !self.register_node(&node) {
            return None;
        }
        Some(node)
    }

    /// Port of the name lookup in CConnman::ConnectNode (net.cpp, Core's `g_dns_lookup`):
    /// the addresses of `host` for a `-connect` / `-addnode` / `addnode` name, from
    /// [`Options::dns_resolver`](super::Options::dns_resolver) when set (tests), else the system
    /// resolver (getaddrinfo, as Core). Failures give no address.
    pub fn resolve_name(&self, host: &str) -> Vec<std::net::IpAddr> {
        resolve_name_with(self.opts.dns_resolver.as_ref(), host)
    }

    /// Port of CConnman::OpenNetworkConnection (net.cpp). `dest` is a `-connect`/`-addnode`
    /// string; otherwise `addr_connect` is dialled. The public seam for the "opencon" thread.
    pub fn open_network_connection(
        &self,
        addr_connect: &CAddress,
        f_count_failure: bool,
        grant: Option<SemaphoreGrant>,
        dest: Option<&str>,
        conn_type: ConnectionType,
    ) -> bool {
        if self.interrupt_net.is_set() || !self.f_network_active.load(Ordering::SeqCst) {
            return false;
        }
        match dest {
            None => {
                let a = &addr_connect.service;
                let banned_or_discouraged = self
                    .m_banman
                    .as_ref()
                    .is_some_and(|b| b.is_discouraged(&a.addr) || b.is_banned(&a.addr));
                let refusal = if self.local_host.is_local(a) {
                    Some(DisconnectReason::OutboundIsLocal)
                } else if banned_or_discouraged {
                    Some(DisconnectReason::OutboundBannedOrDiscouraged)
                } else if self.already_connected_to_address(a) {
                    Some(DisconnectReason::OutboundAlreadyConnectedToAddress)
                } else {
                    None
                };
                if let Some(r) = refusal {
                    //DMITRY: an address not dialled: one of ours (IsLocal), banned or discouraged, or an IP we already have a connection with (any port, AlreadyConnectedToAddress); Core: net.cpp::CConnman::OpenNetworkConnection; kept: silent in
                    // Core, recorded here.
                    self.record_refusal(a, r);
                    return false;
                }
            }
            Some(d) => {
                if self.find_node_by_name(d).is_some() {
                    return false;
                }
            }
        }
        let Some(node) = self.connect_node(addr_connect, dest, f_count_failure, conn_type) else {
            return false;
        };
        *node.grant_outbound.lock() = grant;
        self.add_new_node(node);
        true
    }

    /// Port of CConnman::AddConnection (net.cpp) for the automatic types.
    pub fn add_connection(&self, address: &str, conn_type: ConnectionType) -> bool {
        if matches!(conn_type, ConnectionType::Inbound | ConnectionType::Manual) {
            return false;
        }
        let Some(grant) = self.sem_outbound.try_acquire() else {
            return false;
        };
        self.open_network_connection(
            &Self::no_address(),
            false,
            Some(grant),
            Some(address),
            conn_type,
        )
    }

    /// Port of CSemaphoreGrant::TryAcquire on semOutbound (net.cpp): take an outbound slot (Core's `semOutbound`) if one is free, for the "opencon" thread.
    pub fn try_acquire_outbound(&self) -> Option<SemaphoreGrant> {
        self.sem_outbound.try_acquire()
    }

    /// Port of CSemaphoreGrant::Acquire on semOutbound (net.cpp), bounded: take an outbound slot, waiting at most `timeout` (Core's blocking `semOutbound`
    /// acquire; `Interrupt` releases waiters, so check `interrupt_net` after a `None`).
    pub fn acquire_outbound(&self, timeout: Duration) -> Option<SemaphoreGrant> {
        self.sem_outbound.acquire_timeout(timeout)
    }

    /// Port of CConnman::AddAddrFetch (net.cpp): queue an address-fetch connection to `dest`.
    pub fn add_addr_fetch(&self, dest: &str) {
        self.m_addr_fetches.add_addr_fetch(dest);
    }

    /// Port of CConnman::ProcessAddrFetch (net.cpp): open the next queued address-fetch
    /// connection if an outbound slot is free.
    fn process_addr_fetch(&self) {
        let Some(dest) = self.m_addr_fetches.pop() else {
            return;
        };
        match self.sem_outbound.try_acquire() {
            Some(grant) => {
                self.open_network_connection(
                    &Self::no_address(),
                    false,
                    Some(grant),
                    Some(&dest),
                    ConnectionType::AddrFetch,
                );
            }
            None => {
                //DMITRY: address-fetch destination taken from the queue while every outbound slot is in use; Core: net.cpp::CConnman::ProcessAddrFetch; kept: dropped, not
                // retried.
                log::debug!(target: "net", "no outbound slot for addr-fetch connection to {dest}");
            }
        }
    }

    /// Port of CConnman::ThreadOpenConnections (net.cpp): the "opencon" thread. With
    /// `-connect`, dial only those (manual connections) again and again; otherwise keep 8
    /// full-relay outbound connections and a feeler every 2 minutes from addrman, serve the
    /// address-fetch queue (`-seednode`, DNS seeds without answer), and add the fixed seeds
    /// when addrman is still empty after 60 s; the choices are open_connections.rs's.
    pub fn thread_open_connections(&self, connect: &[String], seed_nodes: Vec<String>) {
        if !connect.is_empty() {
            let mut n_loop: i64 = 0;
            loop {
                for s in connect {
                    self.open_network_connection(
                        &Self::no_address(),
                        false,
                        None,
                        Some(s),
                        ConnectionType::Manual,
                    );
                    for _ in 0..specified_outgoing_pause_slices(n_loop) {
                        if !self.interrupt_net.sleep_for(Duration::from_millis(500)) {
                            return;
                        }
                    }
                }
                if !self.interrupt_net.sleep_for(Duration::from_millis(500)) {
                    return;
                }
                //DMITRY: PerformReconnections (retry a failed v2 connection with v1); Core: net.cpp::CConnman::ThreadOpenConnections; removed: this port
                // speaks v1 only, there is nothing to retry.
                n_loop += 1;
            }
        }
        let Some(addrman) = self.addrman.clone() else {
            log::warn!(target: "net", "no address manager: no automatic outbound connections");
            return;
        };
        let max_automatic_connections = self.opts.max_connections.max(0);
        let cfg = OpenConnectionsConfig {
            dnsseed: self.opts.dnsseed,
            fixedseeds: self.opts.fixedseeds,
            seed_nodes,
            max_outbound_full_relay: MAX_OUTBOUND_FULL_RELAY_CONNECTIONS
                .min(max_automatic_connections) as usize,
            max_automatic_connections: max_automatic_connections as usize,
            extra_network_peers: false,
        };
        let mut rng = ChaCha20Rng::seed_from_u64(random_u64());
        let mut planner = OpenConnectionsPlanner::new(
            cfg,
            self.m_start_micros.load(Ordering::SeqCst),
            addrman.size(None, None),
            &mut rng,
        );
        while !self.interrupt_net.is_set() {
            if let Some(seed) = planner.take_seed_node(addrman.size(None, None)) {
                self.m_addr_fetches.add_addr_fetch(&seed);
            }
            self.process_addr_fetch();
            if !self.interrupt_net.sleep_for(Duration::from_millis(500)) {
                return;
            }
            // Core's blocking semOutbound acquire; Interrupt releases every waiter.
            let grant = loop {
                if self.interrupt_net.is_set() {
                    return;
                }
                if let Some(g) = self
                    .sem_outbound
                    .acquire_timeout(Duration::from_millis(500))
                {
                    break g;
                }
            };
            if self.interrupt_net.is_set() {
                return;
            }
            let nodes = self.outbound_snapshot();
            let is_local = |a: &CService| self.local_host.is_local(a);
            let added_nodes_contain = |a: &CAddress| self.added_nodes_contain(a);
            let already_connected = |a: &CAddress| self.already_connected_to_address(&a.service);
            let added_node_params_empty = self.m_added_nodes_mutex.lock().is_empty();
            let ctx = PlanContext {
                addrman: &addrman,
                netgroupman: &self.m_netgroupman,
                reachable: &self.reachable,
                params: self.params,
                is_local: &is_local,
                added_nodes_contain: &added_nodes_contain,
                added_node_params_empty,
                already_connected_to_address: &already_connected,
            };
            let out = planner.plan(self.now_micros(), &nodes, &ctx, &mut rng);
            let Some(attempt) = out.connect else {
                continue;
            };
            if attempt.sleep_before_micros > 0
                && !self.interrupt_net.sleep_for(Duration::from_micros(
                    attempt.sleep_before_micros.unsigned_abs(),
                ))
            {
                return;
            }
            self.open_network_connection(
                &attempt.addr,
                attempt.count_failures,
                Some(grant),
                None,
                attempt.conn_type,
            );
        }
    }

    /// Port of CConnman::ThreadDNSAddressSeed (net.cpp): the "dnsseed" thread (the timing is
    /// dnsseed.rs's). Resolves through [`Options::dns_resolver`](super::Options::dns_resolver),
    /// else a resolver asking only [`Options::dns_nameserver`](super::Options::dns_nameserver),
    /// else the system resolver.
    pub fn thread_dns_address_seed(&self) {
        let Some(addrman) = self.addrman.clone() else {
            return;
        };
        let resolver: Arc<dyn DnsResolver> =
            match (&self.opts.dns_resolver, self.opts.dns_nameserver) {
                (Some(r), _) => r.0.clone(),
                (None, Some(ns)) => match HickoryResolver::with_nameserver(ns) {
                    Ok(r) => Arc::new(r),
                    Err(e) => {
                        log::warn!("DNS resolver for nameserver {ns} unavailable: {e}");
                        Arc::new(NoDns)
                    }
                },
                (None, None) if self.opts.test_loopback_only => Arc::new(NoDns),
                (None, None) => match HickoryResolver::system() {
                    Ok(r) => Arc::new(r),
                    Err(e) => {
                        log::warn!("system DNS resolver unavailable: {e}");
                        Arc::new(NoDns)
                    }
                },
            };
        let cfg = DnsSeedConfig {
            dnsseed: self.opts.dnsseed,
            forcednsseed: self.opts.forcednsseed,
            seednode: !self.opts.seed_nodes.is_empty(),
            name_proxy: false,
        };
        let mut rng = ChaCha20Rng::seed_from_u64(random_u64());
        let mut planner = DnsSeedPlanner::new(
            cfg,
            self.params.dns_seeds,
            self.params.seeds_services,
            self.m_start_micros.load(Ordering::SeqCst),
            &mut rng,
        );
        dnsseed::thread_dns_address_seed(
            &mut planner,
            self,
            &addrman,
            &*resolver,
            self.params.default_port,
            &mut rng,
        );
    }

    /// Port of CConnman::ThreadOpenAddedConnections (net.cpp).
    pub fn thread_open_added_connections(&self) {
        loop {
            let mut grant = self.sem_addnode.acquire_timeout(Duration::from_millis(500));
            if self.interrupt_net.is_set() {
                return;
            }
            let v_info = self.get_added_node_info(false);
            let mut tried = false;
            for info in v_info {
                let Some(g) = grant.take() else {
                    break;
                };
                tried = true;
                self.open_network_connection(
                    &Self::no_address(),
                    false,
                    Some(g),
                    Some(&info.m_params.m_added_node),
                    ConnectionType::Manual,
                );
                if !self.interrupt_net.sleep_for(Duration::from_millis(500)) {
                    return;
                }
                grant = self.sem_addnode.try_acquire();
            }
            drop(grant);
            if !self
                .interrupt_net
                .sleep_for(Duration::from_secs(if tried { 60 } else { 2 }))
            {
                return;
            }
        }
    }
}

/// Port of the `g_dns_lookup` call in CConnman::ConnectNode (net.cpp): `resolver` when given,
/// else getaddrinfo through std. A failure gives no address.
fn resolve_name_with(resolver: Option<&SharedResolver>, host: &str) -> Vec<std::net::IpAddr> {
    let res = match resolver {
        Some(r) => r.0.lookup(host),
        None => {
            use std::net::ToSocketAddrs;
            (host, 0u16)
                .to_socket_addrs()
                .map(|it| it.map(|a| a.ip()).collect())
        }
    };
    res.unwrap_or_else(|e| {
        log::debug!(target: "net", "lookup of {host} failed: {e}");
        Vec::new()
    })
}

/// Not in Core: the resolver of a test-mode node given none, and the fallback when no
/// resolver can be built: every lookup fails (logged by the caller, never fatal).
struct NoDns;

impl DnsResolver for NoDns {
    fn lookup(&self, host: &str) -> io::Result<Vec<std::net::IpAddr>> {
        //DMITRY: DNS seed lookup in test mode without a resolver override (or with no usable resolver); Core: none (bitcoind always asks the system resolver); changed: refused so
        // no test reaches a real DNS server; the seed then goes to addr-fetch as an unanswered seed
        // does.
        Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!("no DNS resolver for {host}"),
        ))
    }
}

impl DnsSeedEnv for ConnmanInner {
    fn now_micros(&self) -> i64 {
        self.clock.now_micros()
    }

    fn sleep_until(&self, until_micros: i64) -> bool {
        // Sleep in short real-time slices and re-read the clock, so a mock clock moved by a
        // test is seen at once.
        loop {
            let now = self.clock.now_micros();
            if now >= until_micros {
                return !self.interrupt_net.is_set();
            }
            let slice = (until_micros - now).clamp(1, 100_000);
            if !self
                .interrupt_net
                .sleep_for(Duration::from_micros(slice.unsigned_abs()))
            {
                return false;
            }
        }
    }

    fn full_outbound_conn_count(&self) -> usize {
        self.get_full_outbound_conn_count()
    }

    fn network_active(&self) -> bool {
        self.get_network_active()
    }

    fn add_addr_fetch(&self, seed: &str) {
        self.m_addr_fetches.add_addr_fetch(seed);
    }
}
