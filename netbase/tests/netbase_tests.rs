//! Facts from Bitcoin Core's src/test/netbase_tests.cpp (address, parsing,
//! subnet and netgroup cases; the CAddress stream cases belong to `protocol`,
//! netpermissions_test to `net`).
#![allow(non_snake_case)]

use netbase::{
    is_bad_port, lookup_host, lookup_numeric, lookup_subnet, no_dns, parse_network,
    split_host_port, CNetAddr, CSubNet, NetGroupManager, Network,
};

/// Core's ResolveIP test helper: numeric LookupHost, or the default `::`.
fn resolve_ip(ip: &str) -> CNetAddr {
    lookup_host(ip, false, &no_dns).unwrap_or_default()
}

/// Core's CreateInternal test helper.
fn create_internal(host: &str) -> CNetAddr {
    let mut addr = CNetAddr::default();
    addr.set_internal(host);
    addr
}

const TORV3: &str = "pg6mmjiyjmcrsslvykfwnntlaru7p5svn6y2ymmju6nubxndf4pscryd.onion";

/// Mirrors netbase_tests.cpp: netbase_networks
#[test]
fn netbase_tests__netbase_networks() {
    assert_eq!(resolve_ip("127.0.0.1").get_network(), Network::Unroutable);
    assert_eq!(resolve_ip("::1").get_network(), Network::Unroutable);
    assert_eq!(resolve_ip("8.8.8.8").get_network(), Network::IPv4);
    assert_eq!(resolve_ip("2001::8888").get_network(), Network::IPv6);
    assert_eq!(resolve_ip(TORV3).get_network(), Network::Onion);
    assert_eq!(create_internal("foo.com").get_network(), Network::Internal);
}

/// Mirrors netbase_tests.cpp: netbase_properties
#[test]
fn netbase_tests__netbase_properties() {
    assert!(resolve_ip("127.0.0.1").is_ipv4());
    assert!(resolve_ip("::FFFF:192.168.1.1").is_ipv4());
    assert!(resolve_ip("::1").is_ipv6());
    assert!(resolve_ip("10.0.0.1").is_rfc1918());
    assert!(resolve_ip("192.168.1.1").is_rfc1918());
    assert!(resolve_ip("172.31.255.255").is_rfc1918());
    assert!(resolve_ip("198.18.0.0").is_rfc2544());
    assert!(resolve_ip("198.19.255.255").is_rfc2544());
    assert!(resolve_ip("2001:0DB8::").is_rfc3849());
    assert!(resolve_ip("169.254.1.1").is_rfc3927());
    assert!(resolve_ip("2002::1").is_rfc3964());
    assert!(resolve_ip("FC00::").is_rfc4193());
    assert!(resolve_ip("2001::2").is_rfc4380());
    assert!(resolve_ip("2001:10::").is_rfc4843());
    assert!(resolve_ip("2001:20::").is_rfc7343());
    assert!(resolve_ip("FE80::").is_rfc4862());
    assert!(resolve_ip("64:FF9B::").is_rfc6052());
    assert!(resolve_ip(TORV3).is_tor());
    assert!(resolve_ip("127.0.0.1").is_local());
    assert!(resolve_ip("::1").is_local());
    assert!(resolve_ip("8.8.8.8").is_routable());
    assert!(resolve_ip("2001::1").is_routable());
    assert!(resolve_ip("127.0.0.1").is_valid());
    assert!(create_internal("FD6B:88C0:8724:edb1:8e4:3588:e546:35ca").is_internal());
    assert!(create_internal("bar.com").is_internal());
}

/// Core's TestSplitHost helper.
fn test_split_host(test: &str, host: &str, port: u16, valid_port: bool) -> bool {
    let mut host_out = String::new();
    let mut port_out = 0u16;
    let valid = split_host_port(test, &mut port_out, &mut host_out);
    host_out == host && port_out == port && valid == valid_port
}

/// Mirrors netbase_tests.cpp: netbase_splithost
#[test]
fn netbase_tests__netbase_splithost() {
    let cases: &[(&str, &str, u16, bool)] = &[
        ("www.bitcoincore.org", "www.bitcoincore.org", 0, true),
        ("[www.bitcoincore.org]", "www.bitcoincore.org", 0, true),
        ("www.bitcoincore.org:80", "www.bitcoincore.org", 80, true),
        ("[www.bitcoincore.org]:80", "www.bitcoincore.org", 80, true),
        ("127.0.0.1", "127.0.0.1", 0, true),
        ("127.0.0.1:8333", "127.0.0.1", 8333, true),
        ("[127.0.0.1]", "127.0.0.1", 0, true),
        ("[127.0.0.1]:8333", "127.0.0.1", 8333, true),
        ("::ffff:127.0.0.1", "::ffff:127.0.0.1", 0, true),
        ("[::ffff:127.0.0.1]:8333", "::ffff:127.0.0.1", 8333, true),
        ("[::]:8333", "::", 8333, true),
        ("::8333", "::8333", 0, true),
        (":8333", "", 8333, true),
        ("[]:8333", "", 8333, true),
        ("", "", 0, true),
        (":65535", "", 65535, true),
        (":65536", ":65536", 0, false),
        (":-1", ":-1", 0, false),
        ("[]:70001", "[]:70001", 0, false),
        ("[]:-1", "[]:-1", 0, false),
        ("[]:-0", "[]:-0", 0, false),
        ("[]:0", "", 0, false),
        ("[]:1/2", "[]:1/2", 0, false),
        ("[]:1E2", "[]:1E2", 0, false),
        ("127.0.0.1:65536", "127.0.0.1:65536", 0, false),
        ("127.0.0.1:0", "127.0.0.1", 0, false),
        ("127.0.0.1:", "127.0.0.1:", 0, false),
        ("127.0.0.1:1/2", "127.0.0.1:1/2", 0, false),
        ("127.0.0.1:1E2", "127.0.0.1:1E2", 0, false),
        (
            "www.bitcoincore.org:65536",
            "www.bitcoincore.org:65536",
            0,
            false,
        ),
        ("www.bitcoincore.org:0", "www.bitcoincore.org", 0, false),
        ("www.bitcoincore.org:", "www.bitcoincore.org:", 0, false),
    ];
    for &(test, host, port, valid) in cases {
        assert!(test_split_host(test, host, port, valid), "{test}");
    }
}

/// Core's TestParse helper.
fn test_parse(src: &str, canon: &str) -> bool {
    lookup_numeric(src, 65535).to_string_addr_port() == canon
}

/// Mirrors netbase_tests.cpp: netbase_lookupnumeric
#[test]
fn netbase_tests__netbase_lookupnumeric() {
    assert!(test_parse("127.0.0.1", "127.0.0.1:65535"));
    assert!(test_parse("127.0.0.1:8333", "127.0.0.1:8333"));
    assert!(test_parse("::ffff:127.0.0.1", "127.0.0.1:65535"));
    assert!(test_parse("::", "[::]:65535"));
    assert!(test_parse("[::]:8333", "[::]:8333"));
    assert!(test_parse("[127.0.0.1]", "127.0.0.1:65535"));
    assert!(test_parse(":::", "[::]:0"));
    // An internal address never resolves; a near miss does.
    assert!(test_parse("[fd6b:88c0:8724:1:2:3:4:5]", "[::]:0"));
    assert!(test_parse(
        "[fd6c:88c0:8724:1:2:3:4:5]",
        "[fd6c:88c0:8724:1:2:3:4:5]:65535"
    ));
}

/// Mirrors netbase_tests.cpp: embedded_test
#[test]
fn netbase_tests__embedded_test() {
    let addr1 = resolve_ip("1.2.3.4");
    let addr2 = resolve_ip("::FFFF:0102:0304");
    assert!(addr2.is_ipv4());
    assert_eq!(addr1.to_string_addr(), addr2.to_string_addr());
}

/// Mirrors netbase_tests.cpp: subnet_test
#[test]
fn netbase_tests__subnet_test() {
    assert_eq!(
        lookup_subnet("1.2.3.0/24"),
        lookup_subnet("1.2.3.0/255.255.255.0")
    );
    assert_ne!(
        lookup_subnet("1.2.3.0/24"),
        lookup_subnet("1.2.4.0/255.255.255.0")
    );
    assert!(lookup_subnet("1.2.3.0/24").matches(&resolve_ip("1.2.3.4")));
    assert!(!lookup_subnet("1.2.2.0/24").matches(&resolve_ip("1.2.3.4")));
    assert!(lookup_subnet("1.2.3.4").matches(&resolve_ip("1.2.3.4")));
    assert!(lookup_subnet("1.2.3.4/32").matches(&resolve_ip("1.2.3.4")));
    assert!(!lookup_subnet("1.2.3.4").matches(&resolve_ip("5.6.7.8")));
    assert!(!lookup_subnet("1.2.3.4/32").matches(&resolve_ip("5.6.7.8")));
    assert!(lookup_subnet("::ffff:127.0.0.1").matches(&resolve_ip("127.0.0.1")));
    assert!(lookup_subnet("1:2:3:4:5:6:7:8").matches(&resolve_ip("1:2:3:4:5:6:7:8")));
    assert!(!lookup_subnet("1:2:3:4:5:6:7:8").matches(&resolve_ip("1:2:3:4:5:6:7:9")));
    assert!(lookup_subnet("1:2:3:4:5:6:7:0/112").matches(&resolve_ip("1:2:3:4:5:6:7:1234")));
    assert!(lookup_subnet("192.168.0.1/24").matches(&resolve_ip("192.168.0.2")));
    assert!(lookup_subnet("192.168.0.20/29").matches(&resolve_ip("192.168.0.18")));
    assert!(lookup_subnet("1.2.2.1/24").matches(&resolve_ip("1.2.2.4")));
    assert!(lookup_subnet("1.2.2.110/31").matches(&resolve_ip("1.2.2.111")));
    assert!(lookup_subnet("1.2.2.20/26").matches(&resolve_ip("1.2.2.63")));
    // All-matching IPv6 matches arbitrary IPv6 ...
    assert!(lookup_subnet("::/0").matches(&resolve_ip("1:2:3:4:5:6:7:1234")));
    // ... but not the invalid `::` or `0.0.0.0`.
    assert!(!lookup_subnet("::/0").matches(&resolve_ip("::")));
    assert!(!lookup_subnet("::/0").matches(&resolve_ip("0.0.0.0")));
    // IPv4 addresses are not in IPv6 subnets and vice versa.
    assert!(!lookup_subnet("::/0").matches(&resolve_ip("1.2.3.4")));
    assert!(!lookup_subnet("0.0.0.0/0").matches(&resolve_ip("1:2:3:4:5:6:7:1234")));
    // Invalid subnets match nothing.
    assert!(!CSubNet::default().matches(&resolve_ip("1.2.3.4")));
    assert!(!lookup_subnet("").matches(&resolve_ip("4.5.6.7")));
    assert!(!lookup_subnet("bloop").matches(&resolve_ip("0.0.0.0")));
    assert!(!lookup_subnet("bloop").matches(&resolve_ip("hab")));
    // Valid / invalid.
    assert!(lookup_subnet("1.2.3.0/0").is_valid());
    assert!(!lookup_subnet("1.2.3.0/-1").is_valid());
    assert!(!lookup_subnet("1.2.3.0/+24").is_valid());
    assert!(lookup_subnet("1.2.3.0/32").is_valid());
    assert!(!lookup_subnet("1.2.3.0/33").is_valid());
    assert!(!lookup_subnet("1.2.3.0/300").is_valid());
    assert!(lookup_subnet("1:2:3:4:5:6:7:8/0").is_valid());
    assert!(lookup_subnet("1:2:3:4:5:6:7:8/33").is_valid());
    assert!(!lookup_subnet("1:2:3:4:5:6:7:8/-1").is_valid());
    assert!(lookup_subnet("1:2:3:4:5:6:7:8/128").is_valid());
    assert!(!lookup_subnet("1:2:3:4:5:6:7:8/129").is_valid());
    assert!(!lookup_subnet("fuzzy").is_valid());

    // CNetAddr constructor.
    assert!(CSubNet::from_addr(resolve_ip("127.0.0.1")).is_valid());
    assert!(CSubNet::from_addr(resolve_ip("127.0.0.1")).matches(&resolve_ip("127.0.0.1")));
    assert!(!CSubNet::from_addr(resolve_ip("127.0.0.1")).matches(&resolve_ip("127.0.0.2")));
    assert_eq!(
        CSubNet::from_addr(resolve_ip("127.0.0.1")).to_string(),
        "127.0.0.1/32"
    );

    assert_eq!(
        CSubNet::new(resolve_ip("1.2.3.4"), 32).to_string(),
        "1.2.3.4/32"
    );
    assert_eq!(
        CSubNet::new(resolve_ip("1.2.3.4"), 8).to_string(),
        "1.0.0.0/8"
    );
    assert_eq!(
        CSubNet::new(resolve_ip("1.2.3.4"), 0).to_string(),
        "0.0.0.0/0"
    );

    let full = |a: &str, m: &str| CSubNet::with_netmask(resolve_ip(a), &resolve_ip(m));
    assert_eq!(full("1.2.3.4", "255.255.255.255").to_string(), "1.2.3.4/32");
    assert_eq!(full("1.2.3.4", "255.0.0.0").to_string(), "1.0.0.0/8");
    assert_eq!(full("1.2.3.4", "0.0.0.0").to_string(), "0.0.0.0/0");

    assert!(CSubNet::from_addr(resolve_ip("1:2:3:4:5:6:7:8")).is_valid());
    assert!(
        CSubNet::from_addr(resolve_ip("1:2:3:4:5:6:7:8")).matches(&resolve_ip("1:2:3:4:5:6:7:8"))
    );
    assert!(
        !CSubNet::from_addr(resolve_ip("1:2:3:4:5:6:7:8")).matches(&resolve_ip("1:2:3:4:5:6:7:9"))
    );
    assert_eq!(
        CSubNet::from_addr(resolve_ip("1:2:3:4:5:6:7:8")).to_string(),
        "1:2:3:4:5:6:7:8/128"
    );
    // IPv4 address with an IPv6 netmask and the other way around.
    assert!(!full("1.1.1.1", "ffff::").is_valid());
    assert!(!full("::1", "255.0.0.0").is_valid());

    // Non-IP subnets.
    let tor_addr = resolve_ip(TORV3);
    let subnet = CSubNet::from_addr(tor_addr);
    assert!(subnet.is_valid());
    assert_eq!(subnet.to_string(), tor_addr.to_string_addr());
    assert!(subnet.matches(&tor_addr));
    assert!(!subnet.matches(&resolve_ip(
        "kpgvmscirrdqpekbqjsvw5teanhatztpp2gl6eee4zkowvwfxwenqaid.onion"
    )));
    assert!(!subnet.matches(&resolve_ip("1.2.3.4")));
    assert!(!CSubNet::new(tor_addr, 200).is_valid());
    assert!(!CSubNet::with_netmask(tor_addr, &resolve_ip("255.0.0.0")).is_valid());

    let masks: &[(&str, &str)] = &[
        ("255.255.255.255", "1.2.3.4/32"),
        ("255.255.255.254", "1.2.3.4/31"),
        ("255.255.255.252", "1.2.3.4/30"),
        ("255.255.255.248", "1.2.3.0/29"),
        ("255.255.255.240", "1.2.3.0/28"),
        ("255.255.255.224", "1.2.3.0/27"),
        ("255.255.255.192", "1.2.3.0/26"),
        ("255.255.255.128", "1.2.3.0/25"),
        ("255.255.255.0", "1.2.3.0/24"),
        ("255.255.254.0", "1.2.2.0/23"),
        ("255.255.252.0", "1.2.0.0/22"),
        ("255.255.248.0", "1.2.0.0/21"),
        ("255.255.240.0", "1.2.0.0/20"),
        ("255.255.224.0", "1.2.0.0/19"),
        ("255.255.192.0", "1.2.0.0/18"),
        ("255.255.128.0", "1.2.0.0/17"),
        ("255.255.0.0", "1.2.0.0/16"),
        ("255.254.0.0", "1.2.0.0/15"),
        ("255.252.0.0", "1.0.0.0/14"),
        ("255.248.0.0", "1.0.0.0/13"),
        ("255.240.0.0", "1.0.0.0/12"),
        ("255.224.0.0", "1.0.0.0/11"),
        ("255.192.0.0", "1.0.0.0/10"),
        ("255.128.0.0", "1.0.0.0/9"),
        ("255.0.0.0", "1.0.0.0/8"),
        ("254.0.0.0", "0.0.0.0/7"),
        ("252.0.0.0", "0.0.0.0/6"),
        ("248.0.0.0", "0.0.0.0/5"),
        ("240.0.0.0", "0.0.0.0/4"),
        ("224.0.0.0", "0.0.0.0/3"),
        ("192.0.0.0", "0.0.0.0/2"),
        ("128.0.0.0", "0.0.0.0/1"),
        ("0.0.0.0", "0.0.0.0/0"),
    ];
    for &(mask, expected) in masks {
        assert_eq!(
            lookup_subnet(&format!("1.2.3.4/{mask}")).to_string(),
            expected
        );
    }
    assert_eq!(
        lookup_subnet("1:2:3:4:5:6:7:8/ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff").to_string(),
        "1:2:3:4:5:6:7:8/128"
    );
    assert_eq!(
        lookup_subnet("1:2:3:4:5:6:7:8/ffff:0000:0000:0000:0000:0000:0000:0000").to_string(),
        "1::/16"
    );
    assert_eq!(
        lookup_subnet("1:2:3:4:5:6:7:8/0000:0000:0000:0000:0000:0000:0000:0000").to_string(),
        "::/0"
    );
    // Invalid netmasks (1-bits after 0-bits).
    assert!(!lookup_subnet("1.2.3.4/255.255.232.0").is_valid());
    assert!(!lookup_subnet("1.2.3.4/255.0.255.255").is_valid());
    assert!(!lookup_subnet("1:2:3:4:5:6:7:8/ffff:ffff:ffff:fffe:ffff:ffff:ffff:ff0f").is_valid());
}

/// Mirrors netbase_tests.cpp: netbase_getgroup
#[test]
fn netbase_tests__netbase_getgroup() {
    let netgroupman = NetGroupManager::new();
    let g = |s: &str| netgroupman.get_group(&resolve_ip(s));
    let ipv4 = Network::IPv4 as u8;
    let ipv6 = Network::IPv6 as u8;
    assert_eq!(g("127.0.0.1"), vec![0]); // local -> !routable
    assert_eq!(g("257.0.0.1"), vec![0]); // !valid -> !routable
    assert_eq!(g("10.0.0.1"), vec![0]); // RFC1918 -> !routable
    assert_eq!(g("169.254.1.1"), vec![0]); // RFC3927 -> !routable
    assert_eq!(g("1.2.3.4"), vec![ipv4, 1, 2]); // IPv4
    assert_eq!(g("::FFFF:0:102:304"), vec![ipv4, 1, 2]); // RFC6145
    assert_eq!(g("64:FF9B::102:304"), vec![ipv4, 1, 2]); // RFC6052
    assert_eq!(g("2002:102:304:9999:9999:9999:9999:9999"), vec![ipv4, 1, 2]); // RFC3964
    assert_eq!(g("2001:0:9999:9999:9999:9999:FEFD:FCFB"), vec![ipv4, 1, 2]); // RFC4380
    assert_eq!(
        g("2001:470:abcd:9999:9999:9999:9999:9999"),
        vec![ipv6, 32, 1, 4, 112, 175]
    ); // he.net
    assert_eq!(
        g("2001:2001:9999:9999:9999:9999:9999:9999"),
        vec![ipv6, 32, 1, 32, 1]
    ); // IPv6

    // sha256("baz.net") = 12929400eb4607c4ac075f087167e75286b179c693eb059a01774b864e8fe505
    let internal_group = vec![
        Network::Internal as u8,
        0x12,
        0x92,
        0x94,
        0x00,
        0xeb,
        0x46,
        0x07,
        0xc4,
        0xac,
        0x07,
    ];
    assert_eq!(
        netgroupman.get_group(&create_internal("baz.net")),
        internal_group
    );
}

/// Mirrors netbase_tests.cpp: netbase_parsenetwork
#[test]
fn netbase_tests__netbase_parsenetwork() {
    assert_eq!(parse_network("ipv4"), Network::IPv4);
    assert_eq!(parse_network("ipv6"), Network::IPv6);
    assert_eq!(parse_network("onion"), Network::Onion);
    assert_eq!(parse_network("tor"), Network::Onion);
    assert_eq!(parse_network("cjdns"), Network::CJDNS);

    assert_eq!(parse_network("IPv4"), Network::IPv4);
    assert_eq!(parse_network("IPv6"), Network::IPv6);
    assert_eq!(parse_network("ONION"), Network::Onion);
    assert_eq!(parse_network("TOR"), Network::Onion);
    assert_eq!(parse_network("CJDNS"), Network::CJDNS);

    assert_eq!(parse_network(":)"), Network::Unroutable);
    assert_eq!(parse_network("tÖr"), Network::Unroutable);
    // Core's "\xfe\xff" is not UTF-8, so it cannot be a &str; its lossy form
    // (two U+FFFD) must be unroutable too.
    assert_eq!(
        parse_network(&String::from_utf8_lossy(b"\xfe\xff")),
        Network::Unroutable
    );
    assert_eq!(parse_network(""), Network::Unroutable);
}

/// Mirrors netbase_tests.cpp: netbase_dont_resolve_strings_with_embedded_nul_characters
#[test]
fn netbase_tests__netbase_dont_resolve_strings_with_embedded_nul_characters() {
    assert!(lookup_host("127.0.0.1", false, &no_dns).is_some());
    assert!(lookup_host("127.0.0.1\0", false, &no_dns).is_none());
    assert!(lookup_host("127.0.0.1\0example.com", false, &no_dns).is_none());
    assert!(lookup_host("127.0.0.1\0example.com\0", false, &no_dns).is_none());

    assert!(lookup_subnet("1.2.3.0/24").is_valid());
    assert!(!lookup_subnet("1.2.3.0/24\0").is_valid());
    assert!(!lookup_subnet("1.2.3.0/24\0example.com").is_valid());
    assert!(!lookup_subnet("1.2.3.0/24\0example.com\0").is_valid());
    assert!(lookup_subnet(TORV3).is_valid());
    assert!(!lookup_subnet(&format!("{TORV3}\0")).is_valid());
    assert!(!lookup_subnet(&format!("{TORV3}\0example.com")).is_valid());
    assert!(!lookup_subnet(&format!("{TORV3}\0example.com\0")).is_valid());
}

/// Mirrors netbase_tests.cpp: isbadport
#[test]
fn netbase_tests__isbadport() {
    assert!(is_bad_port(1));
    assert!(is_bad_port(22));
    assert!(is_bad_port(6000));

    assert!(!is_bad_port(80));
    assert!(!is_bad_port(443));
    assert!(!is_bad_port(8333));

    assert_eq!((1..=u16::MAX).filter(|&p| is_bad_port(p)).count(), 85);
}
