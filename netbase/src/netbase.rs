//! Name parsing: a port of the address-parsing half of Bitcoin Core's
//! `netbase.{h,cpp}` (`ParseNetwork`, `GetNetworkName`, `SplitHostPort`,
//! `LookupHost`, `Lookup`, `LookupNumeric`, `LookupSubNet`, `IsBadPort`,
//! `MaybeFlipIPv6toCJDNS`).
//!
//! Core resolves names with `getaddrinfo`; with `AI_NUMERICHOST` (no lookup)
//! that only decodes numeric addresses. Here the numeric decoding is done in
//! Rust with the same rules as glibc's `getaddrinfo(AI_NUMERICHOST)`
//! (`inet_aton` forms for IPv4, `inet_pton` for IPv6, `%scope` as a decimal
//! number), and real name resolution is a seam: a [`DnsLookupFn`] callback the
//! caller passes, consulted only when lookups are allowed and the name is not
//! numeric.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::netaddress::{CNetAddr, CService, Network, ALL_NETWORKS};
use crate::subnet::CSubNet;

/// The DNS seam: resolve a host name to addresses (Core's `DNSLookupFn` with
/// lookups allowed). Never called for numeric addresses or when lookups are off.
pub type DnsLookupFn = dyn Fn(&str) -> Vec<IpAddr>;

/// A [`DnsLookupFn`] that resolves nothing (no DNS client plugged in).
pub fn no_dns(_name: &str) -> Vec<IpAddr> {
    Vec::new()
}

/// Port of ParseNetwork (netbase.cpp): "ipv4", "ipv6", "onion" ("tor" is a
/// deprecated alias), "i2p", "cjdns", ASCII case-insensitive; anything else is
/// `Unroutable`.
pub fn parse_network(net_in: &str) -> Network {
    let net = net_in.to_ascii_lowercase();
    match net.as_str() {
        "ipv4" => Network::IPv4,
        "ipv6" => Network::IPv6,
        "onion" => Network::Onion,
        "tor" => {
            log::warn!("Warning: net name 'tor' is deprecated and will be removed in the future. You should use 'onion' instead.");
            Network::Onion
        }
        "i2p" => Network::I2P,
        "cjdns" => Network::CJDNS,
        _ => Network::Unroutable,
    }
}

/// Port of GetNetworkName (netbase.cpp).
pub fn get_network_name(net: Network) -> &'static str {
    match net {
        Network::Unroutable => "not_publicly_routable",
        Network::IPv4 => "ipv4",
        Network::IPv6 => "ipv6",
        Network::Onion => "onion",
        Network::I2P => "i2p",
        Network::CJDNS => "cjdns",
        Network::Internal => "internal",
    }
}

/// Port of GetNetworkNames (netbase.cpp): names of the publicly routable
/// networks, optionally followed by "not_publicly_routable".
pub fn get_network_names(append_unroutable: bool) -> Vec<String> {
    let mut names: Vec<String> = ALL_NETWORKS
        .iter()
        .filter(|n| !matches!(n, Network::Unroutable | Network::Internal))
        .map(|n| get_network_name(*n).to_string())
        .collect();
    if append_unroutable {
        names.push(get_network_name(Network::Unroutable).to_string());
    }
    names
}

/// Port of ToIntegral (util/strencodings.h) for unsigned types: only ASCII
/// digits, at least one, no sign, no spaces, and in range.
fn to_integral_unsigned(s: &str, max: u64) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut v: u64 = 0;
    for b in s.bytes() {
        v = v.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
        if v > max {
            return None;
        }
    }
    Some(v)
}

/// Port of SplitHostPort (util/strencodings.cpp).
///
/// Splits `host:port`, `[host]:port`, `[host]` or `host`. A colon is a port
/// separator if it follows `]`, or is the first character, or is the only
/// colon. If the text after it is a valid u16, `port_out` is set and the return
/// value says whether the port is non-zero; otherwise the whole input is the
/// host, `port_out` is untouched and false is returned. Without a port
/// separator true is returned. Surrounding brackets are removed from the host.
pub fn split_host_port(input: &str, port_out: &mut u16, host_out: &mut String) -> bool {
    let mut s = input;
    let b = s.as_bytes();
    let mut valid = false;
    let colon = b.iter().rposition(|&c| c == b':');
    let have_colon = colon.is_some();
    let c = colon.unwrap_or(0);
    let bracketed = have_colon && b[0] == b'[' && b[c - 1] == b']';
    let multi_colon = have_colon && c != 0 && b[..c].contains(&b':');
    if have_colon && (c == 0 || bracketed || !multi_colon) {
        if let Some(n) = to_integral_unsigned(&s[c + 1..], u64::from(u16::MAX)) {
            s = &s[..c];
            *port_out = n as u16;
            valid = *port_out != 0;
        }
    } else {
        valid = true;
    }
    let sb = s.as_bytes();
    if !sb.is_empty() && sb[0] == b'[' && sb[sb.len() - 1] == b']' {
        *host_out = s[1..s.len() - 1].to_string();
    } else {
        *host_out = s.to_string();
    }
    valid
}

/// Parse one IPv4 number part in C notation (`0x` hex, leading-`0` octal, or
/// decimal), as glibc's inet_aton does. Returns (value, next index, saw a digit).
fn inet_aton_part(b: &[u8], mut i: usize) -> Option<(u64, usize, bool)> {
    let mut val: u64 = 0;
    let mut base = 10u64;
    let mut digit = false;
    if b.get(i) == Some(&b'0') {
        i += 1;
        if matches!(b.get(i), Some(b'x') | Some(b'X')) {
            base = 16;
            i += 1;
        } else {
            base = 8;
            digit = true;
        }
    }
    while let Some(&c) = b.get(i) {
        let d = match c {
            b'0'..=b'9' => {
                if base == 8 && (c == b'8' || c == b'9') {
                    return None;
                }
                u64::from(c - b'0')
            }
            b'a'..=b'f' if base == 16 => u64::from(c - b'a' + 10),
            b'A'..=b'F' if base == 16 => u64::from(c - b'A' + 10),
            _ => break,
        };
        val = val * base + d;
        if val > u64::from(u32::MAX) {
            return None;
        }
        digit = true;
        i += 1;
    }
    Some((val, i, digit))
}

/// The IPv4 half of glibc's `getaddrinfo(AI_NUMERICHOST)` (`inet_aton`, exact):
/// 1 to 4 dot-separated numbers in C notation; the last fills the remaining
/// bytes (`127.1` is 127.0.0.1). Nothing may follow.
fn parse_ipv4_numeric(s: &str) -> Option<Ipv4Addr> {
    let b = s.as_bytes();
    let mut parts: Vec<u64> = Vec::with_capacity(3);
    let mut i = 0usize;
    let (last, last_digit) = loop {
        if !b.get(i).is_some_and(u8::is_ascii_digit) {
            return None;
        }
        let (val, next, digit) = inet_aton_part(b, i)?;
        i = next;
        if b.get(i) == Some(&b'.') {
            if parts.len() >= 3 || val > 0xff {
                return None;
            }
            parts.push(val);
            i += 1;
        } else {
            break (val, digit);
        }
    };
    if i != b.len() || !last_digit {
        return None;
    }
    let max_last: u64 = match parts.len() {
        0 => u64::from(u32::MAX),
        1 => 0x00ff_ffff,
        2 => 0xffff,
        _ => 0xff,
    };
    if last > max_last {
        return None;
    }
    let mut v = last;
    for (k, p) in parts.iter().enumerate() {
        v |= p << (24 - 8 * k);
    }
    Some(Ipv4Addr::from(v as u32))
}

/// glibc's `inet_pton(AF_INET)`: exactly four decimal octets <= 255, no leading zeros.
fn parse_ipv4_dotted_quad(s: &[u8]) -> Option<[u8; 4]> {
    let mut out = [0u8; 4];
    let mut octets = 0usize;
    let mut saw_digit = false;
    let mut cur: u32 = 0;
    for &c in s {
        if c.is_ascii_digit() {
            if saw_digit && cur == 0 {
                return None;
            }
            cur = cur * 10 + u32::from(c - b'0');
            if cur > 255 {
                return None;
            }
            if !saw_digit {
                octets += 1;
                if octets > 4 {
                    return None;
                }
                saw_digit = true;
            }
            out[octets - 1] = cur as u8;
        } else if c == b'.' && saw_digit {
            if octets == 4 {
                return None;
            }
            saw_digit = false;
            cur = 0;
        } else {
            return None;
        }
    }
    (octets == 4 && saw_digit).then_some(out)
}

/// glibc's `inet_pton(AF_INET6)`: up to 8 groups of 1-4 hex digits, at most one
/// `::` (standing for at least one zero group), optionally ending in a dotted quad.
fn parse_ipv6_text(s: &str) -> Option<[u8; 16]> {
    let b = s.as_bytes();
    let mut out = [0u8; 16];
    let mut tp = 0usize;
    let mut colonp: Option<usize> = None;
    let mut i = 0usize;
    if b.first() == Some(&b':') {
        if b.get(1) != Some(&b':') {
            return None;
        }
        i = 1;
    }
    let mut curtok = i;
    let mut xdigits = 0usize;
    let mut val: u32 = 0;
    let mut ended_with_ipv4 = false;
    while i < b.len() {
        let ch = b[i];
        i += 1;
        if let Some(d) = (ch as char).to_digit(16) {
            if xdigits == 4 {
                return None;
            }
            val = (val << 4) | d;
            xdigits += 1;
            continue;
        }
        if ch == b':' {
            curtok = i;
            if xdigits == 0 {
                if colonp.is_some() {
                    return None;
                }
                colonp = Some(tp);
                continue;
            } else if i == b.len() {
                return None;
            }
            if tp + 2 > 16 {
                return None;
            }
            out[tp] = (val >> 8) as u8;
            out[tp + 1] = val as u8;
            tp += 2;
            xdigits = 0;
            val = 0;
            continue;
        }
        if ch == b'.' && tp + 4 <= 16 {
            let quad = parse_ipv4_dotted_quad(&b[curtok..])?;
            out[tp..tp + 4].copy_from_slice(&quad);
            tp += 4;
            xdigits = 0;
            ended_with_ipv4 = true;
            break;
        }
        return None;
    }
    if xdigits > 0 && !ended_with_ipv4 {
        if tp + 2 > 16 {
            return None;
        }
        out[tp] = (val >> 8) as u8;
        out[tp + 1] = val as u8;
        tp += 2;
    }
    if let Some(cp) = colonp {
        if tp == 16 {
            return None;
        }
        let n = tp - cp;
        let mut fixed = [0u8; 16];
        fixed[..cp].copy_from_slice(&out[..cp]);
        fixed[16 - n..].copy_from_slice(&out[cp..tp]);
        out = fixed;
        tp = 16;
    }
    (tp == 16).then_some(out)
}

/// Port of WrappedGetAddrInfo (netbase.cpp) with lookups off, i.e. what
/// `getaddrinfo(AI_NUMERICHOST)` decodes on glibc: an IPv4 address in
/// `inet_aton` notation, or an IPv6 address with an optional `%scope`
/// (decimal; interface names are not resolved).
pub fn parse_numeric_host(name: &str) -> Option<CNetAddr> {
    if let Some(v4) = parse_ipv4_numeric(name) {
        return Some(CNetAddr::from_ipv4(v4));
    }
    let (host, scope) = match name.find('%') {
        Some(p) => (&name[..p], Some(&name[p + 1..])),
        None => (name, None),
    };
    let bytes = parse_ipv6_text(host)?;
    let scope_id = match scope {
        None => 0,
        Some(sc) => {
            if !sc.as_bytes().first().is_some_and(u8::is_ascii_digit) {
                return None;
            }
            to_integral_unsigned(sc, u64::from(u32::MAX))? as u32
        }
    };
    Some(CNetAddr::from_ipv6(Ipv6Addr::from(bytes), scope_id))
}

/// Port of LookupIntern (netbase.cpp): `.onion`/`.b32.i2p` names parse
/// directly; numeric addresses decode; other names go to `dns` only if
/// `allow_lookup`. Internal addresses are never a valid result.
/// `max_solutions == 0` means no limit.
fn lookup_intern(
    name: &str,
    max_solutions: usize,
    allow_lookup: bool,
    dns: &DnsLookupFn,
) -> Vec<CNetAddr> {
    if name.contains('\0') {
        return Vec::new();
    }
    if let Some(addr) = CNetAddr::from_special(name) {
        return vec![addr];
    }
    let resolved: Vec<CNetAddr> = match parse_numeric_host(name) {
        Some(a) => vec![a],
        None if allow_lookup => dns(name).into_iter().map(CNetAddr::from_ip).collect(),
        None => Vec::new(),
    };
    let mut addresses = Vec::new();
    for r in resolved {
        if max_solutions > 0 && addresses.len() >= max_solutions {
            break;
        }
        if !r.is_internal() {
            addresses.push(r);
        }
    }
    addresses
}

/// Port of LookupHost(name, nMaxSolutions, fAllowLookup) (netbase.cpp): all
/// addresses for a host (IPv6 may be bracketed), at most `max_solutions` (0 = all).
pub fn lookup_host_multi(
    name: &str,
    max_solutions: usize,
    allow_lookup: bool,
    dns: &DnsLookupFn,
) -> Vec<CNetAddr> {
    if name.is_empty() || name.contains('\0') {
        return Vec::new();
    }
    let host = if name.len() >= 2 && name.starts_with('[') && name.ends_with(']') {
        &name[1..name.len() - 1]
    } else {
        name
    };
    lookup_intern(host, max_solutions, allow_lookup, dns)
}

/// Port of LookupHost(name, fAllowLookup) (netbase.cpp): the first address.
pub fn lookup_host(name: &str, allow_lookup: bool, dns: &DnsLookupFn) -> Option<CNetAddr> {
    lookup_host_multi(name, 1, allow_lookup, dns)
        .into_iter()
        .next()
}

/// Port of Lookup(name, portDefault, fAllowLookup, nMaxSolutions) (netbase.cpp):
/// services for `host[:port]`, using `port_default` when no valid port is given.
pub fn lookup_multi(
    name: &str,
    port_default: u16,
    allow_lookup: bool,
    max_solutions: usize,
    dns: &DnsLookupFn,
) -> Vec<CService> {
    if name.is_empty() || name.contains('\0') {
        return Vec::new();
    }
    let mut port = port_default;
    let mut hostname = String::new();
    split_host_port(name, &mut port, &mut hostname);
    lookup_intern(&hostname, max_solutions, allow_lookup, dns)
        .into_iter()
        .map(|a| CService::new(a, port))
        .collect()
}

/// Port of Lookup(name, portDefault, fAllowLookup) (netbase.cpp): the first service.
pub fn lookup(
    name: &str,
    port_default: u16,
    allow_lookup: bool,
    dns: &DnsLookupFn,
) -> Option<CService> {
    lookup_multi(name, port_default, allow_lookup, 1, dns)
        .into_iter()
        .next()
}

/// Port of LookupNumeric (netbase.cpp): a numeric `host[:port]` (or onion/i2p),
/// or `[::]:0` if it does not parse.
pub fn lookup_numeric(name: &str, port_default: u16) -> CService {
    if name.contains('\0') {
        return CService::default();
    }
    lookup(name, port_default, false, &no_dns).unwrap_or_default()
}

/// Port of MaybeFlipIPv6toCJDNS (netbase.cpp): an IPv6 address with the CJDNS
/// prefix becomes CJDNS if the CJDNS network is reachable. Core reads
/// reachability from the global `g_reachable_nets`; here it is a parameter.
pub fn maybe_flip_ipv6_to_cjdns(service: &CService, cjdns_reachable: bool) -> CService {
    let mut ret = *service;
    if ret.addr.is_ipv6() && ret.addr.has_cjdns_prefix() && cjdns_reachable {
        ret.addr.flip_ipv6_to_cjdns();
    }
    ret
}

/// Port of LookupSubNet (netbase.cpp), with CJDNS reachability passed in (see
/// [`maybe_flip_ipv6_to_cjdns`]).
///
/// Accepts `addr`, `addr/bits` or `addr/netmask` (the mask never looked up);
/// returns an invalid subnet on any error.
pub fn lookup_subnet_with(subnet_str: &str, cjdns_reachable: bool) -> CSubNet {
    if subnet_str.contains('\0') {
        return CSubNet::invalid();
    }
    let slash_pos = subnet_str.rfind('/');
    let str_addr = &subnet_str[..slash_pos.unwrap_or(subnet_str.len())];
    let Some(addr) = lookup_host(str_addr, false, &no_dns) else {
        return CSubNet::invalid();
    };
    let addr = maybe_flip_ipv6_to_cjdns(&CService::new(addr, 0), cjdns_reachable).addr;
    match slash_pos {
        Some(p) => {
            let netmask_str = &subnet_str[p + 1..];
            if let Some(bits) = to_integral_unsigned(netmask_str, u64::from(u8::MAX)) {
                CSubNet::new(addr, bits as u8)
            } else {
                match lookup_host(netmask_str, false, &no_dns) {
                    Some(mask) => CSubNet::with_netmask(addr, &mask),
                    None => CSubNet::invalid(),
                }
            }
        }
        None => CSubNet::from_addr(addr),
    }
}

/// Port of LookupSubNet (netbase.cpp) with CJDNS not reachable (bitcoind's
/// default, `-cjdnsreachable=0`), so `fc00::/8` stays IPv6.
pub fn lookup_subnet(subnet_str: &str) -> CSubNet {
    lookup_subnet_with(subnet_str, false)
}

/// Port of IsBadPort (netbase.cpp): ports of well-known services that an
/// attacker could make us connect to (see Core's doc/p2p-bad-ports.md).
pub fn is_bad_port(port: u16) -> bool {
    const BAD_PORTS: [u16; 85] = [
        1, 7, 9, 11, 13, 15, 17, 19, 20, 21, 22, 23, 25, 37, 42, 43, 53, 69, 77, 79, 87, 95, 101,
        102, 103, 104, 109, 110, 111, 113, 115, 117, 119, 123, 135, 137, 139, 143, 161, 179, 389,
        427, 465, 512, 513, 514, 515, 526, 530, 531, 532, 540, 548, 554, 556, 563, 587, 601, 636,
        989, 990, 993, 995, 1719, 1720, 1723, 2049, 3306, 3389, 3659, 4045, 5060, 5061, 5432, 5900,
        6000, 6566, 6665, 6666, 6667, 6668, 6669, 6697, 10080, 27017,
    ];
    BAD_PORTS.contains(&port)
}

/// Port of Core's `ReachableNets` (netbase.h): the set of networks we can
/// reach; every network by default. Core keeps one global instance
/// (`g_reachable_nets`); here the owner (the `net` crate) holds it.
#[derive(Debug)]
pub struct ReachableNets {
    m_reachable: std::sync::Mutex<std::collections::HashSet<Network>>,
}

impl Default for ReachableNets {
    fn default() -> Self {
        ReachableNets {
            m_reachable: std::sync::Mutex::new(ALL_NETWORKS.iter().copied().collect()),
        }
    }
}

impl ReachableNets {
    fn set(&self) -> std::sync::MutexGuard<'_, std::collections::HashSet<Network>> {
        // A poisoned lock only means another thread panicked mid-update of a
        // plain set; its contents are still a valid set.
        self.m_reachable
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Port of ReachableNets::Add (netbase.h).
    pub fn add(&self, net: Network) {
        self.set().insert(net);
    }

    /// Port of ReachableNets::Remove (netbase.h).
    pub fn remove(&self, net: Network) {
        self.set().remove(&net);
    }

    /// Port of ReachableNets::RemoveAll (netbase.h).
    pub fn remove_all(&self) {
        self.set().clear();
    }

    /// Port of ReachableNets::Contains(Network) (netbase.h).
    pub fn contains(&self, net: Network) -> bool {
        self.set().contains(&net)
    }

    /// Port of ReachableNets::Contains(const CNetAddr&) (netbase.h): by GetNetwork.
    pub fn contains_addr(&self, addr: &CNetAddr) -> bool {
        self.contains(addr.get_network())
    }

    /// Port of ReachableNets::All (netbase.h).
    pub fn all(&self) -> std::collections::HashSet<Network> {
        self.set().clone()
    }
}
