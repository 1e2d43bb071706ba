//! Property tests: encoding round-trips (addr v1 array, BIP155, text) and the
//! invariants Core's fuzz target src/test/fuzz/netaddress.cpp asserts.
//! Malformed input of every parser must give an error value, never a panic.
#![allow(non_snake_case)]

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::net::{Ipv4Addr, Ipv6Addr};

use netbase::netaddress::check_bip155_network;
use netbase::{
    lookup_host, lookup_numeric, lookup_subnet, lookup_subnet_with, maybe_flip_ipv6_to_cjdns,
    no_dns, split_host_port, CNetAddr, CService, CSubNet, NetGroupManager, Network,
};
use proptest::prelude::*;

/// Any address Core could hold, built through its public constructors.
fn arb_addr() -> impl Strategy<Value = CNetAddr> {
    prop_oneof![
        any::<[u8; 4]>().prop_map(|b| CNetAddr::from_ipv4(Ipv4Addr::from(b))),
        (any::<[u8; 16]>(), prop_oneof![Just(0u32), any::<u32>()])
            .prop_map(|(b, scope)| CNetAddr::from_ipv6(Ipv6Addr::from(b), scope)),
        any::<[u8; 32]>().prop_map(|b| CNetAddr::from_bip155(4, &b).unwrap().unwrap()),
        any::<[u8; 32]>().prop_map(|b| CNetAddr::from_bip155(5, &b).unwrap().unwrap()),
        (any::<[u8; 16]>(), any::<bool>()).prop_map(|(mut b, prefixed)| {
            if prefixed {
                b[0] = 0xFC;
            }
            CNetAddr::from_bip155(6, &b).unwrap().unwrap()
        }),
        "[a-z0-9.]{1,20}".prop_map(|s| CNetAddr::from_internal(&s).unwrap()),
    ]
}

fn hash_of<T: Hash>(t: &T) -> u64 {
    let mut h = DefaultHasher::new();
    t.hash(&mut h);
    h.finish()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// SerializeV1Array / UnserializeV1Array round-trip for addr-v1-compatible
    /// addresses; the others serialize as 16 zero bytes (Core).
    #[test]
    fn prop_v1_array_roundtrip(a in arb_addr()) {
        let arr = a.serialize_v1_array();
        if a.is_addr_v1_compatible() {
            prop_assert_eq!(CNetAddr::from_v1_array(&arr), a);
            prop_assert_eq!(a.get_addr_bytes(), arr.to_vec());
        } else {
            prop_assert_eq!(arr, [0u8; 16]);
            prop_assert_eq!(a.get_addr_bytes(), a.addr_bytes().to_vec());
        }
    }

    /// Any 16 bytes: UnserializeV1Array then SerializeV1Array gives them back,
    /// except the Tor v2 prefix (dropped as Core does).
    #[test]
    fn prop_v1_bytes_roundtrip(b in any::<[u8; 16]>()) {
        let a = CNetAddr::from_v1_array(&b);
        if b[..6] == netbase::TORV2_IN_IPV6_PREFIX {
            prop_assert_eq!(a, CNetAddr::default());
        } else {
            prop_assert_eq!(a.serialize_v1_array(), b);
        }
    }

    /// BIP155 to bytes and back gives the same address (internal via IPv6).
    #[test]
    fn prop_bip155_roundtrip(a in arb_addr()) {
        let (id, bytes) = a.to_bip155();
        prop_assert_eq!(check_bip155_network(id, bytes.len()).unwrap().is_some(), true);
        let back = CNetAddr::from_bip155(id, &bytes).unwrap().unwrap();
        prop_assert_eq!(back, a);
        prop_assert_eq!(back.scope_id(), 0);
    }

    /// from_bip155 on arbitrary input: Err exactly for a known id with the wrong
    /// length or an over-long address; never a panic.
    #[test]
    fn prop_bip155_arbitrary(id in any::<u8>(), bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let expected_len = match id { 1 => Some(4), 2 | 6 => Some(16), 4 | 5 => Some(32), _ => None };
        let r = CNetAddr::from_bip155(id, &bytes);
        if bytes.len() > 512 {
            prop_assert!(r.is_err());
        } else {
            match expected_len {
                None => prop_assert_eq!(r, Ok(None)),
                Some(n) if n == bytes.len() => prop_assert!(matches!(r, Ok(Some(_)))),
                Some(_) => prop_assert!(r.is_err()),
            }
        }
    }

    /// Text round-trip: ToStringAddr parses back (numeric IPv4/IPv6 with scope,
    /// onion, i2p; CJDNS through MaybeFlipIPv6toCJDNS).
    #[test]
    fn prop_string_roundtrip(a in arb_addr()) {
        let s = a.to_string_addr();
        match a.net() {
            Network::Internal => prop_assert!(lookup_host(&s, false, &no_dns).is_none()),
            Network::CJDNS => {
                let parsed = lookup_host(&s, false, &no_dns).unwrap();
                prop_assert!(parsed.is_ipv6());
                let flipped = maybe_flip_ipv6_to_cjdns(&CService::new(parsed, 0), true).addr;
                if a.has_cjdns_prefix() {
                    prop_assert_eq!(flipped, a);
                }
            }
            _ => {
                let parsed = lookup_host(&s, false, &no_dns).unwrap();
                prop_assert_eq!(parsed, a);
                prop_assert_eq!(parsed.scope_id(), a.scope_id());
                prop_assert_eq!(parsed.to_string_addr(), s);
            }
        }
        // CService text keeps the address and the port.
        let svc = CService::new(a, 8333);
        if !a.is_internal() {
            let back = lookup_numeric(&svc.to_string_addr_port(), 1);
            prop_assert_eq!(back.port, 8333);
            if !a.is_cjdns() {
                prop_assert_eq!(back, svc);
            }
        }
    }

    /// IPv4/IPv6 text matches the Rust standard library's (RFC 5952) form,
    /// except for v4-mapped addresses which never stay IPv6 here.
    #[test]
    fn prop_text_matches_std(b4 in any::<[u8; 4]>(), b6 in any::<[u8; 16]>()) {
        let v4 = Ipv4Addr::from(b4);
        prop_assert_eq!(CNetAddr::from_ipv4(v4).to_string_addr(), v4.to_string());
        let v6 = Ipv6Addr::from(b6);
        let a = CNetAddr::from_ipv6(v6, 0);
        if a.is_ipv6() && v6.to_ipv4_mapped().is_none() && !a.is_bind_any() {
            prop_assert_eq!(a.to_string_addr(), v6.to_string());
        }
        // Every text std produces, we parse to the same bytes.
        let parsed = lookup_host(&v6.to_string(), false, &no_dns).unwrap_or_default();
        prop_assert_eq!(parsed, a);
    }

    /// Invariants from fuzz/netaddress.cpp.
    #[test]
    fn fuzz_netaddress__invariants(a in arb_addr(), b in arb_addr(), mask in any::<u8>(), p1 in any::<u16>(), p2 in any::<u16>(), same in any::<bool>()) {
        let n = a.get_network();
        match n {
            Network::IPv4 => prop_assert!(a.is_ipv4()),
            Network::IPv6 => prop_assert!(a.is_ipv6()),
            Network::Onion => prop_assert!(a.is_tor()),
            Network::I2P => prop_assert!(a.is_i2p()),
            Network::CJDNS => prop_assert!(a.is_cjdns() && a.has_cjdns_prefix()),
            Network::Internal => prop_assert!(a.is_internal()),
            Network::Unroutable => prop_assert!(!a.is_routable()),
        }
        if a.is_internal() { prop_assert_eq!(n, Network::Internal); }
        if a.is_ipv4() { prop_assert!(n == Network::IPv4 || n == Network::Unroutable); }
        if a.is_ipv6() { prop_assert!(n == Network::IPv6 || n == Network::Unroutable); }
        if a.is_rfc1918() || a.is_rfc2544() || a.is_rfc6598() || a.is_rfc5737() || a.is_rfc3927() {
            prop_assert!(a.is_ipv4());
        }
        if a.is_rfc3849() || a.is_rfc3964() || a.is_rfc4380() || a.is_rfc4843() || a.is_rfc7343()
            || a.is_rfc4862() || a.is_rfc6052() || a.is_rfc6145() {
            prop_assert!(a.is_ipv6());
        }
        if a.is_rfc4193() { prop_assert!(n == Network::Internal || n == Network::Unroutable); }
        if !a.is_routable() { prop_assert!(n == Network::Unroutable || n == Network::Internal); }
        if a.is_tor() { prop_assert_eq!(n, Network::Onion); }
        if a.is_i2p() { prop_assert_eq!(n, Network::I2P); }
        // Core's fuzz input only makes CJDNS addresses with the 0xFC prefix;
        // without it the address is invalid, hence unroutable.
        if a.is_cjdns() && a.has_cjdns_prefix() { prop_assert_eq!(n, Network::CJDNS); }
        // Exercised for panics only, as in Core.
        let _ = (a.get_net_class(), a.is_bind_any(), a.is_local(), a.is_valid(), a.to_string_addr());

        let sub_net = CSubNet::new(a, mask);
        let _ = (sub_net.is_valid(), sub_net.to_string());
        let service = CService::new(a, p1);
        let _ = (service.get_key(), service.get_port(), service.to_string_addr_port());
        let _ = a.get_reachability_from(&b);
        let _ = sub_net.matches(&b);

        let other = CService::new(if same { a } else { b }, p2);
        prop_assert!((service == other) != (service != other));
        if service.to_string_addr_port() == other.to_string_addr_port() && a.net() == other.net() {
            prop_assert_eq!(service.addr, other.addr);
        }
        let _ = CSubNet::with_netmask(a, &b);
        let _ = CSubNet::from_addr(a);
        let mut m = CNetAddr::default();
        m.set_ip(&a);
        prop_assert_eq!(m, a);
    }

    /// Core's order (network, then bytes), equality ignoring the scope id, and
    /// Hash agreeing with equality.
    #[test]
    fn prop_order_eq_hash(a in arb_addr(), b in arb_addr(), scope in any::<u32>()) {
        prop_assert_eq!(a.cmp(&b) == std::cmp::Ordering::Equal, a == b);
        let expected = (a.net(), a.addr_bytes().len(), a.addr_bytes()).cmp(&(b.net(), b.addr_bytes().len(), b.addr_bytes()));
        prop_assert_eq!(a.cmp(&b), expected);
        let mut scoped = a;
        scoped.set_scope_id(scope);
        prop_assert_eq!(scoped, a);
        prop_assert_eq!(hash_of(&scoped), hash_of(&a));
        let sa = CService::new(a, 1);
        let sb = CService::new(a, 2);
        prop_assert!(sa < sb);
    }

    /// GetKey is GetAddrBytes followed by the big-endian port.
    #[test]
    fn prop_get_key(a in arb_addr(), port in any::<u16>()) {
        let key = CService::new(a, port).get_key();
        let mut expected = a.get_addr_bytes();
        expected.extend_from_slice(&port.to_be_bytes());
        prop_assert_eq!(key, expected);
    }

    /// GetGroup starts with GetNetClass; routable IPv4 uses the /16.
    #[test]
    fn prop_get_group(a in arb_addr()) {
        let g = NetGroupManager::new().get_group(&a);
        prop_assert_eq!(g[0], a.get_net_class() as u8);
        if a.is_ipv4() && a.is_routable() {
            prop_assert_eq!(g.len(), 3);
            prop_assert_eq!(&g[1..], &a.addr_bytes()[..2]);
        }
    }

    /// CIDR subnets: ToString parses back to the same subnet, the base address
    /// is inside it, and socket-address conversion round-trips.
    #[test]
    fn prop_subnet_roundtrip(b4 in any::<[u8; 4]>(), b6 in any::<[u8; 16]>(), m4 in 0u8..=32, m6 in 0u8..=128, port in any::<u16>()) {
        let a4 = CNetAddr::from_ipv4(Ipv4Addr::from(b4));
        let s4 = CSubNet::new(a4, m4);
        prop_assert!(s4.is_valid());
        prop_assert_eq!(lookup_subnet(&s4.to_string()), s4);
        prop_assert_eq!(s4.matches(&a4), a4.is_valid());
        let a6 = CNetAddr::from_ipv6(Ipv6Addr::from(b6), 0);
        if a6.is_ipv6() {
            let s6 = CSubNet::new(a6, m6);
            prop_assert!(s6.is_valid());
            prop_assert_eq!(lookup_subnet_with(&s6.to_string(), false), s6);
            prop_assert_eq!(s6.matches(&a6), a6.is_valid());
        }
        let svc = CService::new(a4, port);
        prop_assert_eq!(CService::from_socket_addr(&svc.to_socket_addr().unwrap()), svc);
    }

    /// Parsers never panic on arbitrary text.
    #[test]
    fn prop_parsers_never_panic(s in "\\PC{0,80}", t in "[0-9a-fA-F:.%\\[\\]/x ]{0,60}") {
        for input in [&s, &t] {
            let _ = lookup_host(input, false, &no_dns);
            let _ = lookup_host(input, true, &|_: &str| vec![]);
            let _ = lookup_numeric(input, 8333);
            let _ = lookup_subnet(input);
            let _ = CNetAddr::from_special(input);
            let _ = netbase::base32::decode_base32(input);
            let mut port = 0u16;
            let mut host = String::new();
            let _ = split_host_port(input, &mut port, &mut host);
            let _ = netbase::parse_network(input);
        }
    }
}
