//! Our own addresses as peers see them: Core's `mapLocalHost` and the functions around it in
//! net.cpp (`AddLocal`, `RemoveLocal`, `SeenLocal`, `IsLocal`, `GetLocal`, `GetLocalAddress`,
//! `GetLocalAddrForPeer`, `IsPeerAddrLocalGood`).
//!
//! # Integration (for the connman)
//! - Hold one [`LocalHostMap`] in the connman (Core's global `mapLocalHost` under
//!   `g_maplocalhost_mutex`; here the lock is inside). `-discover` and `-listen` are its
//!   [`LocalHostMap::set_discover`] / [`LocalHostMap::set_listen`] flags; `-externalip=X` is
//!   `add_local(X, LOCAL_MANUAL)`; addresses of bound sockets, when `-discover`, are
//!   `add_local(addr, LOCAL_BIND)` (Core: in `Bind` unless `BF_DONT_ADVERTISE`).
//! - On an inbound `version` whose `addrMe` (our address as the peer saw it) is routable, call
//!   [`LocalHostMap::seen_local`] (Core: `SeenLocal(addrMe)` in ProcessMessage "version").
//! - `addr_relay::AddrRelayPeer::maybe_send_addr` asks
//!   [`LocalHostMap::get_local_addr_for_peer`] for the self-advertisement (once a day on average).
//! - `open_connections` uses [`LocalHostMap::is_local`] to refuse dialling ourselves.

use std::collections::BTreeMap;

use netbase::{CNetAddr, CService, Network, ReachableNets};
use parking_lot::Mutex;

use crate::net_permissions::{has_flag, NetPermissionFlags};
use rand_core::RngCore;

/// Core's `LOCAL_NONE`: unknown.
pub const LOCAL_NONE: i32 = 0;
/// Core's `LOCAL_IF`: address of a local interface.
pub const LOCAL_IF: i32 = 1;
/// Core's `LOCAL_BIND`: address explicitly bound to.
pub const LOCAL_BIND: i32 = 2;
/// Core's `LOCAL_MAPPED`: address reported by PCP / NAT-PMP.
pub const LOCAL_MAPPED: i32 = 3;
/// Core's `LOCAL_MANUAL`: address given with `-externalip`.
pub const LOCAL_MANUAL: i32 = 4;

/// Core's `LocalServiceInfo`: the score of one local address and the port to advertise with it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LocalServiceInfo {
    /// Core's `nScore`.
    pub n_score: i32,
    /// Core's `nPort`.
    pub n_port: u16,
}

/// What [`LocalHostMap`] needs to know of a peer (Core reads these from `CNode`).
#[derive(Clone, Debug)]
pub struct LocalPeerView {
    /// The peer's address (`CNode::addr`).
    pub addr: CNetAddr,
    /// Core's `CNode::ConnectedThroughNetwork()`: `Onion` for inbound onion connections, else
    /// the peer address's net class.
    pub connected_through: Network,
    /// Our address as the peer reported it in its `version` (`CNode::GetAddrLocal()`).
    pub addr_local: CService,
    /// Core's `IsInboundConn()`.
    pub is_inbound: bool,
}

impl LocalPeerView {
    /// Core's `CNode::IsConnectedThroughPrivacyNet()`.
    fn is_connected_through_privacy_net(&self) -> bool {
        matches!(self.connected_through, Network::Onion | Network::I2P)
    }
}

/// Core's `mapLocalHost` with `fDiscover`, `fListen` and the listen port.
#[derive(Debug)]
pub struct LocalHostMap {
    /// Core's `g_maplocalhost_mutex` guarding `mapLocalHost`.
    map: Mutex<BTreeMap<CService, LocalServiceInfo>>,
    /// Core's `fDiscover` (`-discover`).
    f_discover: Mutex<bool>,
    /// Core's `fListen` (`-listen`).
    f_listen: Mutex<bool>,
    /// Core's `GetListenPort()`.
    listen_port: u16,
}

impl LocalHostMap {
    /// Not in Core: an empty map; `listen_port` is what Core's `GetListenPort()` returns (`-bind` port,
    /// else `-port`, else the network's default port).
    pub fn new(listen_port: u16, f_discover: bool, f_listen: bool) -> Self {
        LocalHostMap {
            map: Mutex::new(BTreeMap::new()),
            f_discover: Mutex::new(f_discover),
            f_listen: Mutex::new(f_listen),
            listen_port,
        }
    }

    /// Not in Core: set `fDiscover`.
    pub fn set_discover(&self, v: bool) {
        *self.f_discover.lock() = v;
    }

    /// Not in Core: set `fListen`.
    pub fn set_listen(&self, v: bool) {
        *self.f_listen.lock() = v;
    }

    /// Not in Core as a function: Core's global `fListen`.
    pub fn listen(&self) -> bool {
        *self.f_listen.lock()
    }

    /// Port of AddLocal(const CService&, int) (net.cpp): learn a local address with a score.
    /// `cjdns_reachable` is Core's `g_reachable_nets.Contains(NET_CJDNS)` for
    /// `MaybeFlipIPv6toCJDNS`.
    pub fn add_local(&self, addr_in: &CService, n_score: i32, reachable: &ReachableNets) -> bool {
        let addr = netbase::maybe_flip_ipv6_to_cjdns(addr_in, reachable.contains(Network::CJDNS));
        if !addr.addr.is_routable() {
            return false;
        }
        if !*self.f_discover.lock() && n_score < LOCAL_MANUAL {
            return false;
        }
        if !reachable.contains_addr(&addr.addr) {
            return false;
        }
        log::info!("AddLocal({},{})", addr.to_string_addr_port(), n_score);
        let mut map = self.map.lock();
        let port = addr.port;
        match map.get_mut(&addr) {
            None => {
                map.insert(
                    addr,
                    LocalServiceInfo {
                        n_score,
                        n_port: port,
                    },
                );
            }
            Some(info) => {
                if n_score >= info.n_score {
                    info.n_score = n_score + 1;
                    info.n_port = port;
                }
            }
        }
        true
    }

    /// Port of AddLocal(const CNetAddr&, int) (net.cpp): with the listen port.
    pub fn add_local_addr(&self, addr: &CNetAddr, n_score: i32, reachable: &ReachableNets) -> bool {
        self.add_local(&CService::new(*addr, self.listen_port), n_score, reachable)
    }

    /// Port of the `AddLocal` step of CConnman::Bind (net.cpp): a routable address we bound to
    /// is one of ours (`LOCAL_BIND`) when discovery is on, unless peers on that socket have the
    /// noban permission (a whitebind for trusted peers is not advertised).
    pub fn add_bound_local(
        &self,
        addr: &CService,
        permissions: NetPermissionFlags,
        reachable: &ReachableNets,
    ) -> bool {
        if addr.addr.is_routable()
            && *self.f_discover.lock()
            && !has_flag(permissions, NetPermissionFlags::NO_BAN)
        {
            return self.add_local(addr, LOCAL_BIND, reachable);
        }
        false
    }

    /// Port of Discover (net.cpp): with discovery on, each address of our interfaces
    /// (`addrs`, from [`get_local_addresses`]) is one of ours (`LOCAL_IF`). Returns how many
    /// were taken.
    pub fn discover(&self, addrs: &[CNetAddr], reachable: &ReachableNets) -> usize {
        if !*self.f_discover.lock() {
            return 0;
        }
        let mut n = 0;
        for addr in addrs {
            if self.add_local_addr(addr, LOCAL_IF, reachable) {
                log::info!("Discover: {}", addr.to_string_addr());
                n += 1;
            }
        }
        n
    }

    /// Port of RemoveLocal (net.cpp).
    pub fn remove_local(&self, addr: &CService) {
        log::info!("RemoveLocal({})", addr.to_string_addr_port());
        self.map.lock().remove(addr);
    }

    /// Port of SeenLocal (net.cpp): a peer saw us at `addr`; raise its score if we know it.
    pub fn seen_local(&self, addr: &CService) -> bool {
        match self.map.lock().get_mut(addr) {
            Some(info) => {
                info.n_score += 1;
                true
            }
            None => false,
        }
    }

    /// Port of IsLocal (net.cpp): whether `addr` is one of our own addresses.
    pub fn is_local(&self, addr: &CService) -> bool {
        self.map.lock().contains_key(addr)
    }

    /// Not in Core: snapshot of the map (Core's `getnetworkinfo` "localaddresses").
    pub fn entries(&self) -> Vec<(CService, LocalServiceInfo)> {
        self.map.lock().iter().map(|(a, i)| (*a, *i)).collect()
    }

    /// Port of GetnScore (net.cpp).
    fn get_n_score(&self, addr: &CService) -> i32 {
        self.map.lock().get(addr).map_or(0, |i| i.n_score)
    }

    /// Port of GetLocal (net.cpp): our best address for `peer` (highest reachability from the
    /// peer, then highest score); never a privacy-network address to another network nor the
    /// other way round.
    pub fn get_local(&self, peer: &LocalPeerView) -> Option<CService> {
        if !self.listen() {
            return None;
        }
        let mut best: Option<CService> = None;
        let mut best_score = -1;
        let mut best_reachability = -1;
        for (local_addr, info) in self.map.lock().iter() {
            if local_addr.addr.get_network() != peer.connected_through
                && (local_addr.addr.is_privacy_net() || peer.is_connected_through_privacy_net())
            {
                continue;
            }
            let reachability = local_addr.addr.get_reachability_from(&peer.addr);
            if reachability > best_reachability
                || (reachability == best_reachability && info.n_score > best_score)
            {
                best = Some(CService::new(local_addr.addr, info.n_port));
                best_reachability = reachability;
                best_score = info.n_score;
            }
        }
        best
    }

    /// Port of GetLocalAddress (net.cpp): [`Self::get_local`], else `0.0.0.0`-like default with
    /// the listen port.
    pub fn get_local_address(&self, peer: &LocalPeerView) -> CService {
        self.get_local(peer)
            .unwrap_or_else(|| CService::new(CNetAddr::default(), self.listen_port))
    }

    /// Port of IsPeerAddrLocalGood (net.cpp): is the peer's view of our address worth using?
    pub fn is_peer_addr_local_good(&self, peer: &LocalPeerView, reachable: &ReachableNets) -> bool {
        *self.f_discover.lock()
            && peer.addr.is_routable()
            && peer.addr_local.addr.is_routable()
            && reachable.contains_addr(&peer.addr_local.addr)
    }

    /// Port of GetLocalAddrForPeer (net.cpp): the address to advertise to `peer`, if routable.
    /// With discovery on, the peer's own view of our address is used instead when we have no
    /// routable one, or at random (1 in 2, or 1 in 8 when ours was set by hand).
    pub fn get_local_addr_for_peer<R: RngCore + ?Sized>(
        &self,
        peer: &LocalPeerView,
        reachable: &ReachableNets,
        peer_id: i64,
        rng: &mut R,
    ) -> Option<CService> {
        let mut addr_local = self.get_local_address(peer);
        if self.is_peer_addr_local_good(peer, reachable) {
            let bits = if self.get_n_score(&addr_local) > LOCAL_MANUAL {
                3
            } else {
                1
            };
            if !addr_local.addr.is_routable() || rng.next_u64() & ((1u64 << bits) - 1) == 0 {
                if peer.is_inbound {
                    addr_local = peer.addr_local;
                } else {
                    addr_local.addr.set_ip(&peer.addr_local.addr);
                }
            }
        }
        if addr_local.addr.is_routable() {
            log::debug!(target: "net",
                "Advertising address {} to peer={}", addr_local.to_string_addr_port(), peer_id);
            return Some(addr_local);
        }
        None
    }
}

/// Port of GetLocalAddresses (common/netif.cpp), changed: Core asks `getifaddrs` (skipping
/// interfaces that are down or loopback); without a libc binding this reads the kernel's
/// tables instead, on Linux only: `/proc/net/if_inet6` for IPv6 (interface `lo` skipped) and
/// the local host routes (`/32 host LOCAL`) of `/proc/net/fib_trie` for IPv4 (127.0.0.0/8
/// skipped). Elsewhere, or when the files cannot be read, no address (as Core on a system
/// without `getifaddrs`). [`LocalHostMap::add_local`] keeps only the routable ones.
pub fn get_local_addresses() -> Vec<CNetAddr> {
    let mut out = Vec::new();
    if let Ok(text) = std::fs::read_to_string("/proc/net/fib_trie") {
        out.extend(parse_fib_trie_local(&text));
    }
    if let Ok(text) = std::fs::read_to_string("/proc/net/if_inet6") {
        out.extend(parse_if_inet6(&text));
    }
    out
}

/// Not in Core: the IPv4 addresses of `/proc/net/fib_trie`'s local host routes (an address line
/// `|-- a.b.c.d` followed by `/32 host LOCAL`), loopback skipped, each once, in order.
pub fn parse_fib_trie_local(text: &str) -> Vec<CNetAddr> {
    let mut out: Vec<CNetAddr> = Vec::new();
    let mut last: Option<std::net::Ipv4Addr> = None;
    for line in text.lines() {
        let t = line.trim();
        if let Some(ip) = t.strip_prefix("|-- ") {
            last = ip.trim().parse().ok();
        } else if t.starts_with("/32 host LOCAL") {
            if let Some(ip) = last.take() {
                let a = CNetAddr::from_ipv4(ip);
                if !ip.is_loopback() && !out.contains(&a) {
                    out.push(a);
                }
            }
        }
    }
    out
}

/// Not in Core: the IPv6 addresses of `/proc/net/if_inet6` (32 hex digits, interface index,
/// prefix length, scope, flags, interface name), the `lo` interface skipped; a link-local
/// address keeps its interface index as scope id.
pub fn parse_if_inet6(text: &str) -> Vec<CNetAddr> {
    let mut out = Vec::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 6 || f[5] == "lo" || f[0].len() != 32 {
            continue;
        }
        let Ok(bits) = u128::from_str_radix(f[0], 16) else {
            continue;
        };
        let ip = std::net::Ipv6Addr::from(bits);
        let scope = if ip.segments()[0] & 0xffc0 == 0xfe80 {
            u32::from_str_radix(f[1], 16).unwrap_or(0)
        } else {
            0
        };
        out.push(CNetAddr::from_ipv6(ip, scope));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::rand_core::SeedableRng;
    use std::net::Ipv4Addr;

    fn svc(a: [u8; 4], port: u16) -> CService {
        CService::new(CNetAddr::from_ipv4(Ipv4Addr::from(a)), port)
    }

    fn peer(addr: [u8; 4], local: CService, inbound: bool) -> LocalPeerView {
        let addr = CNetAddr::from_ipv4(Ipv4Addr::from(addr));
        LocalPeerView {
            connected_through: addr.get_net_class(),
            addr,
            addr_local: local,
            is_inbound: inbound,
        }
    }

    /// Mirrors net_tests.cpp: LocalAddress_BasicLifecycle, and the score rule of AddLocal.
    #[test]
    #[allow(non_snake_case)]
    fn net_tests__local_address_basic_lifecycle() {
        let reach = ReachableNets::default();
        let m = LocalHostMap::new(8333, true, true);
        let a = svc([2, 1, 1, 1], 1000);
        assert!(!m.is_local(&a));
        assert!(m.add_local(&a, LOCAL_IF, &reach));
        assert!(m.is_local(&a));
        assert_eq!(m.entries()[0].1.n_score, LOCAL_IF);
        // A repeated add with an equal or higher score bumps it past the new score.
        assert!(m.add_local(&a, LOCAL_IF, &reach));
        assert_eq!(m.entries()[0].1.n_score, LOCAL_IF + 1);
        assert!(m.seen_local(&a));
        assert_eq!(m.entries()[0].1.n_score, LOCAL_IF + 2);
        m.remove_local(&a);
        assert!(!m.is_local(&a));
        // Unroutable and (without -discover) non-manual addresses are refused.
        assert!(!m.add_local(&svc([127, 0, 0, 1], 1), LOCAL_MANUAL, &reach));
        m.set_discover(false);
        assert!(!m.add_local(&a, LOCAL_BIND, &reach));
        assert!(m.add_local(&a, LOCAL_MANUAL, &reach));
    }

    #[test]
    fn get_local_addr_for_peer_rules() {
        let reach = ReachableNets::default();
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
        let m = LocalHostMap::new(8333, true, true);
        // No local address and the peer saw us at an unroutable address: nothing to advertise.
        let p = peer([5, 5, 5, 5], svc([10, 0, 0, 1], 1), true);
        assert_eq!(m.get_local_addr_for_peer(&p, &reach, 0, &mut rng), None);
        // The peer saw us at a routable address: an inbound peer's view is used whole.
        let p = peer([5, 5, 5, 5], svc([6, 6, 6, 6], 4444), true);
        assert_eq!(
            m.get_local_addr_for_peer(&p, &reach, 0, &mut rng),
            Some(svc([6, 6, 6, 6], 4444))
        );
        // Outbound: only the IP is taken, our listen port kept.
        let p = peer([5, 5, 5, 5], svc([6, 6, 6, 6], 4444), false);
        assert_eq!(
            m.get_local_addr_for_peer(&p, &reach, 0, &mut rng),
            Some(svc([6, 6, 6, 6], 8333))
        );
        // -listen=0: GetLocal gives nothing.
        m.add_local(&svc([7, 7, 7, 7], 8333), LOCAL_MANUAL, &reach);
        let p = peer([5, 5, 5, 5], svc([10, 0, 0, 1], 1), true);
        assert_eq!(m.get_local(&p), Some(svc([7, 7, 7, 7], 8333)));
        m.set_listen(false);
        assert_eq!(m.get_local(&p), None);
    }

    /// Mirrors net.cpp: CConnman::Bind's AddLocal (LOCAL_BIND only with -discover, only routable,
    /// never for a noban whitebind) and Discover (LOCAL_IF, nothing with -discover=0).
    #[test]
    fn bind_and_discover_follow_fdiscover() {
        let reach = ReachableNets::default();
        let m = LocalHostMap::new(8333, false, true);
        let public = svc([8, 8, 4, 4], 8333);
        assert!(!m.add_bound_local(&public, NetPermissionFlags::NONE, &reach));
        let ifs = [
            CNetAddr::from_ipv4(Ipv4Addr::new(9, 9, 9, 9)),
            CNetAddr::from_ipv4(Ipv4Addr::new(192, 168, 1, 2)),
        ];
        assert_eq!(m.discover(&ifs, &reach), 0);
        assert!(m.entries().is_empty());
        m.set_discover(true);
        assert!(!m.add_bound_local(&svc([127, 0, 0, 1], 1), NetPermissionFlags::NONE, &reach));
        assert!(!m.add_bound_local(&public, NetPermissionFlags::NO_BAN, &reach));
        assert!(m.add_bound_local(&public, NetPermissionFlags::NONE, &reach));
        assert_eq!(
            m.entries(),
            vec![(
                public,
                LocalServiceInfo {
                    n_score: LOCAL_BIND,
                    n_port: 8333
                }
            )]
        );
        // Only the routable interface address is taken, with the listen port.
        assert_eq!(m.discover(&ifs, &reach), 1);
        assert!(m.is_local(&svc([9, 9, 9, 9], 8333)));
        assert!(!m.is_local(&svc([192, 168, 1, 2], 8333)));
    }

    /// The kernel tables get_local_addresses reads (format of Linux 5.x/6.x).
    #[test]
    fn parses_proc_interface_tables() {
        let trie = "Main:\n  +-- 0.0.0.0/0 3 0 5\n     |-- 0.0.0.0\n        /0 universe UNICAST\n     +-- 127.0.0.0/8 2 0 2\n        |-- 127.0.0.0\n           /8 host LOCAL\n        |-- 127.0.0.1\n           /32 host LOCAL\n     |-- 203.0.113.7\n        /32 host LOCAL\n     |-- 203.0.113.255\n        /32 link BROADCAST\nLocal:\n     |-- 203.0.113.7\n        /32 host LOCAL\n";
        assert_eq!(
            parse_fib_trie_local(trie),
            vec![CNetAddr::from_ipv4(Ipv4Addr::new(203, 0, 113, 7))]
        );
        let inet6 = "00000000000000000000000000000001 01 80 10 80       lo\nfe8000000000000000fc00fffe000001 04 40 20 80     eth0\n20010db8000000000000000000000002 04 40 00 82     eth0\nbad\n";
        let v = parse_if_inet6(inet6);
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].to_string_addr(), "fe80::fc:ff:fe00:1%4");
        assert_eq!(v[1].to_string_addr(), "2001:db8::2");
        // On this machine: whatever it returns parses and is never loopback.
        assert!(get_local_addresses().iter().all(|a| !a.is_local()));
    }
}
