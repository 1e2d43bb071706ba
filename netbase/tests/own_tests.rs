//! Facts with no Core unit test of their own: glibc `getaddrinfo(AI_NUMERICHOST)`
//! numeric forms, the DNS seam, GetHash, GetReachabilityFrom, socket-address
//! conversion, CJDNS flipping, CSubNet ordering, the asmap checksum.
#![allow(non_snake_case)]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use netbase::netbase::parse_numeric_host;
use netbase::{
    lookup, lookup_host, lookup_host_multi, lookup_multi, lookup_subnet, lookup_subnet_with,
    no_dns, CNetAddr, CService, CSubNet, NetGroupManager, Network,
};

fn host(s: &str) -> CNetAddr {
    lookup_host(s, false, &no_dns).unwrap()
}

/// glibc's getaddrinfo(AI_NUMERICHOST) accepts inet_aton forms for IPv4.
#[test]
fn numeric_ipv4_inet_aton_forms() {
    let cases: &[(&str, &str)] = &[
        ("127.1", "127.0.0.1"),
        ("127.0.1", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("0X7F.0.0.1", "127.0.0.1"),
        ("010.0.0.1", "8.0.0.1"),
        ("1.2.3.4", "1.2.3.4"),
        ("0", "0.0.0.0"),
        ("1.0xffffff", "1.255.255.255"),
    ];
    for &(input, out) in cases {
        let a = parse_numeric_host(input).unwrap_or_else(|| panic!("{input}"));
        assert!(a.is_ipv4(), "{input}");
        assert_eq!(a.to_string_addr(), out, "{input}");
    }
    for bad in [
        "",
        "1.2.3.4.5",
        "08.0.0.1",
        "1.2.3.256",
        "1.2.0x10000",
        "256.1",
        "1.2.3.4 ",
        " 1.2.3.4",
        "1.2.3.",
        ".1.2.3",
        "1..2",
        "4294967296",
        "1.2.3.4%1",
        "+1.2.3.4",
        "0x",
        "a.b.c.d",
    ] {
        assert!(parse_numeric_host(bad).is_none(), "{bad:?}");
    }
}

/// glibc's inet_pton(AF_INET6) plus `%scope` (decimal only here).
#[test]
fn numeric_ipv6_forms() {
    let ok: &[(&str, &str, u32)] = &[
        ("::", "::", 0),
        ("::1", "::1", 0),
        ("1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0", 0),
        ("::2:3:4:5:6:7:8", "0:2:3:4:5:6:7:8", 0),
        ("1::8", "1::8", 0),
        ("::1.2.3.4", "::102:304", 0),
        ("64:ff9b::1.2.3.4", "64:ff9b::102:304", 0),
        ("fe80::1%0", "fe80::1", 0),
        ("fe80::1%4294967295", "fe80::1%4294967295", 4_294_967_295),
        ("2001:db8::1%7", "2001:db8::1%7", 7),
    ];
    for &(input, out, scope) in ok {
        let a = parse_numeric_host(input).unwrap_or_else(|| panic!("{input}"));
        assert_eq!(a.to_string_addr(), out, "{input}");
        assert_eq!(a.scope_id(), scope, "{input}");
    }
    // Mapped IPv4 becomes IPv4 (keeping the scope, as Core's in6_addr constructor).
    assert!(parse_numeric_host("::ffff:1.2.3.4").unwrap().is_ipv4());
    for bad in [
        ":::",
        ":1::",
        "1::2::3",
        "1:2:3:4:5:6:7:8:9",
        "1::2:3:4:5:6:7:8",
        "12345::",
        "1:2:3:4:5:6:7",
        "1:2:3:4:5:6:7:8:",
        ":",
        "::ffff:1.2.3.04",
        "::1.2.3",
        "::1.2.3.4.5",
        "::1.2.3.4:5",
        "fe80::1%",
        "fe80::1%eth0",
        "fe80::1%+1",
        "fe80::1%4294967296",
        "fe80::1%1%2",
        "g::",
        "[::1]",
        "::1 ",
    ] {
        assert!(parse_numeric_host(bad).is_none(), "{bad:?}");
    }
}

/// The DNS seam is used only for non-numeric names with lookups allowed;
/// internal results are dropped and max_solutions respected (LookupIntern).
#[test]
fn dns_seam() {
    let dns = |name: &str| -> Vec<IpAddr> {
        if name == "seed.example" {
            vec![
                IpAddr::V6("fd6b:88c0:8724::1".parse().unwrap()),
                IpAddr::V4(Ipv4Addr::new(1, 2, 3, 4)),
                IpAddr::V4(Ipv4Addr::new(5, 6, 7, 8)),
            ]
        } else {
            vec![IpAddr::V4(Ipv4Addr::new(9, 9, 9, 9))]
        }
    };
    assert!(lookup_host("seed.example", false, &dns).is_none());
    assert_eq!(host("1.2.3.4"), lookup_host("1.2.3.4", true, &dns).unwrap());
    // The internal result is skipped and does not count against the limit.
    assert_eq!(
        lookup_host("seed.example", true, &dns),
        Some(host("1.2.3.4"))
    );
    let all = lookup_host_multi("seed.example", 0, true, &dns);
    assert_eq!(all, vec![host("1.2.3.4"), host("5.6.7.8")]);
    let svcs = lookup_multi("seed.example:18444", 8333, true, 1, &dns);
    assert_eq!(svcs, vec![CService::new(host("1.2.3.4"), 18444)]);
    let svcs = lookup_multi("seed.example", 8333, true, 2, &dns);
    assert_eq!(
        svcs,
        vec![
            CService::new(host("1.2.3.4"), 8333),
            CService::new(host("5.6.7.8"), 8333)
        ]
    );
    assert_eq!(
        lookup("[::1]:1", 2, true, &dns),
        Some(CService::new(host("::1"), 1))
    );
    // Onion names never reach the resolver.
    let panicking = |_: &str| -> Vec<IpAddr> { panic!("resolver called") };
    let onion = "pg6mmjiyjmcrsslvykfwnntlaru7p5svn6y2ymmju6nubxndf4pscryd.onion";
    assert!(lookup_host(onion, true, &panicking).unwrap().is_tor());
}

/// Port of the removed CNetAddr::GetHash: SHA256d(m_addr)[0..8] little-endian.
#[test]
fn get_hash_values() {
    // Independently computed with Python's hashlib.
    assert_eq!(host("1.2.3.4").get_hash(), 13_407_381_266_038_449_293);
    assert_eq!(CNetAddr::default().get_hash(), 9_463_991_777_737_964_673);
}

/// GetReachabilityFrom table (netaddress.cpp).
#[test]
fn get_reachability_from_table() {
    let v4 = host("8.8.8.8");
    let v6 = host("2a00::1");
    let v6_tunnel = host("2002:102:304::1");
    let teredo = host("2001::1");
    let onion = host("pg6mmjiyjmcrsslvykfwnntlaru7p5svn6y2ymmju6nubxndf4pscryd.onion");
    let unroutable = host("10.0.0.1");
    assert_eq!(unroutable.get_reachability_from(&v4), 0);
    assert_eq!(v4.get_reachability_from(&v4), 4);
    assert_eq!(v6.get_reachability_from(&v4), 1);
    assert_eq!(v6.get_reachability_from(&v6), 5);
    assert_eq!(v6_tunnel.get_reachability_from(&v6), 3);
    assert_eq!(teredo.get_reachability_from(&v6), 2);
    assert_eq!(v6.get_reachability_from(&teredo), 3);
    assert_eq!(onion.get_reachability_from(&onion), 6);
    assert_eq!(v4.get_reachability_from(&onion), 4);
    assert_eq!(onion.get_reachability_from(&unroutable), 6);
    assert_eq!(v6.get_reachability_from(&unroutable), 3);
}

#[test]
fn socket_addr_conversion() {
    let sa: SocketAddr = "[fe80::1%3]:8333".parse().unwrap();
    let svc = CService::from_socket_addr(&sa);
    assert_eq!(svc.to_string_addr_port(), "[fe80::1%3]:8333");
    assert_eq!(svc.to_socket_addr(), Some(sa));
    let mapped: SocketAddr = "[::ffff:1.2.3.4]:1".parse().unwrap();
    let svc = CService::from_socket_addr(&mapped);
    assert!(svc.is_ipv4());
    assert_eq!(svc.to_socket_addr(), Some("1.2.3.4:1".parse().unwrap()));
    let onion = CService::new(
        CNetAddr::from_special("pg6mmjiyjmcrsslvykfwnntlaru7p5svn6y2ymmju6nubxndf4pscryd.onion")
            .unwrap(),
        9,
    );
    assert_eq!(onion.to_socket_addr(), None);
    assert_eq!(onion.to_ip(), None);
    let cjdns = CNetAddr::from_bip155(6, &[0xfc; 16]).unwrap().unwrap();
    assert_eq!(cjdns.to_ip(), Some(IpAddr::V6(Ipv6Addr::from([0xfc; 16]))));
    assert_eq!(
        CService::new(cjdns, 1).to_string_addr_port(),
        "[fcfc:fcfc:fcfc:fcfc:fcfc:fcfc:fcfc:fcfc]:1"
    );
}

/// LookupSubNet goes through MaybeFlipIPv6toCJDNS.
#[test]
fn lookup_subnet_cjdns_flip() {
    let s = lookup_subnet_with("fc00::1", true);
    assert!(s.is_valid());
    assert!(s.network().is_cjdns());
    assert_eq!(s.to_string(), "fc00::1");
    // A CJDNS address cannot have a CIDR mask.
    assert!(!lookup_subnet_with("fc00::1/64", true).is_valid());
    let s = lookup_subnet("fc00::1");
    assert!(s.network().is_ipv6());
    assert_eq!(s.to_string(), "fc00::1/128");
}

/// Core's CSubNet operator<: by network then netmask.
#[test]
fn subnet_order() {
    let a = lookup_subnet("1.2.3.0/24");
    let b = lookup_subnet("1.2.3.0/25");
    let c = lookup_subnet("1.2.4.0/24");
    assert!(a < b && b < c);
    assert!(CSubNet::invalid() < lookup_subnet("::/0"));
    assert!(lookup_subnet("1.2.3.4").is_single_ip());
    assert!(!a.is_single_ip());
}

/// GetAsmapChecksum with no asmap is uint256() (Core writes it into peers.dat).
#[test]
fn netgroup_no_asmap() {
    let ngm = NetGroupManager::new();
    assert_eq!(ngm.get_asmap_checksum(), [0u8; 32]);
    assert!(!ngm.using_asmap());
    assert_eq!(ngm.get_mapped_as(&host("8.8.8.8")), 0);
    assert_eq!(host("8.8.8.8").get_mapped_as(&ngm), 0);
    // Tor/I2P: 4 bits; CJDNS: 12 bits (first byte constant); low bits set to 1.
    let onion =
        CNetAddr::from_special("pg6mmjiyjmcrsslvykfwnntlaru7p5svn6y2ymmju6nubxndf4pscryd.onion")
            .unwrap();
    assert_eq!(
        ngm.get_group(&onion),
        vec![Network::Onion as u8, onion.addr_bytes()[0] | 0x0f]
    );
    let cjdns = CNetAddr::from_bip155(
        6,
        &[0xfc, 0x12, 0x34, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
    )
    .unwrap()
    .unwrap();
    assert_eq!(
        ngm.get_group(&cjdns),
        vec![Network::CJDNS as u8, 0xfc, 0x1f]
    );
}

#[test]
fn display_and_names() {
    assert_eq!(format!("{}", host("::1")), "::1");
    assert_eq!(
        format!("{}", CService::new(host("1.2.3.4"), 5)),
        "1.2.3.4:5"
    );
    assert_eq!(format!("{}", Network::Unroutable), "not_publicly_routable");
    assert_eq!(
        netbase::get_network_names(true),
        vec![
            "ipv4",
            "ipv6",
            "onion",
            "i2p",
            "cjdns",
            "not_publicly_routable"
        ]
    );
    for (i, n) in netbase::ALL_NETWORKS.iter().enumerate() {
        assert_eq!(*n as usize, i);
        assert_eq!(Network::from_u8(i as u8), Some(*n));
    }
    assert_eq!(Network::from_u8(7), None);
    assert_eq!(CService::default().to_string_addr_port(), "[::]:0");
}

#[test]
fn from_str_impls() {
    let a: CNetAddr = "1.2.3.4".parse().unwrap();
    assert_eq!(a, host("1.2.3.4"));
    assert!("nope".parse::<CNetAddr>().is_err());
    let s: CService = "[::1]:8333".parse().unwrap();
    assert_eq!(s, CService::new(host("::1"), 8333));
    let s: CService = "1.2.3.4".parse().unwrap();
    assert_eq!(s.port, 0);
    let n: CSubNet = "10.0.0.0/8".parse().unwrap();
    assert!(n.matches(&host("10.1.2.3")));
    assert!("10.0.0.0/33".parse::<CSubNet>().is_err());
}
