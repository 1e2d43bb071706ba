//! CNetAddr-level facts from Bitcoin Core's src/test/net_tests.cpp
//! (cnetaddr_basic, cnetaddr_tostring_canonical_ipv6, cnetaddr_serialize_v1,
//! cnetaddr_serialize_v2, cnetaddr_unserialize_v2, LimitedAndReachable_*).
//! The byte-stream framing of the (un)serialize cases is tested in `protocol`;
//! here the same bytes are checked through `serialize_v1_array`, `to_bip155`,
//! `from_bip155` and `check_bip155_network`.
#![allow(non_snake_case)]

use std::net::Ipv4Addr;

use netbase::netaddress::check_bip155_network;
use netbase::netbase::ReachableNets;
use netbase::{lookup_host, no_dns, Bip155Error, CNetAddr, Network};

fn host(s: &str) -> CNetAddr {
    lookup_host(s, false, &no_dns).unwrap()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// Mirrors net_tests.cpp: cnetaddr_basic
#[test]
fn net_tests__cnetaddr_basic() {
    // IPv4, INADDR_ANY
    let addr = host("0.0.0.0");
    assert!(!addr.is_valid());
    assert!(addr.is_ipv4());
    assert!(addr.is_bind_any());
    assert!(addr.is_addr_v1_compatible());
    assert_eq!(addr.to_string_addr(), "0.0.0.0");

    // IPv4, INADDR_NONE
    let addr = host("255.255.255.255");
    assert!(!addr.is_valid());
    assert!(addr.is_ipv4());
    assert!(!addr.is_bind_any());
    assert!(addr.is_addr_v1_compatible());
    assert_eq!(addr.to_string_addr(), "255.255.255.255");

    // IPv4, casual
    let addr = host("12.34.56.78");
    assert!(addr.is_valid());
    assert!(addr.is_ipv4());
    assert!(!addr.is_bind_any());
    assert!(addr.is_addr_v1_compatible());
    assert_eq!(addr.to_string_addr(), "12.34.56.78");

    // IPv6, in6addr_any
    let addr = host("::");
    assert!(!addr.is_valid());
    assert!(addr.is_ipv6());
    assert!(addr.is_bind_any());
    assert!(addr.is_addr_v1_compatible());
    assert_eq!(addr.to_string_addr(), "::");

    // IPv6, casual
    let addr = host("1122:3344:5566:7788:9900:aabb:ccdd:eeff");
    assert!(addr.is_valid());
    assert!(addr.is_ipv6());
    assert!(!addr.is_bind_any());
    assert!(addr.is_addr_v1_compatible());
    assert_eq!(
        addr.to_string_addr(),
        "1122:3344:5566:7788:9900:aabb:ccdd:eeff"
    );

    // IPv6, scoped / link-local (RFC 4007): decimal zone id kept and printed.
    let scoped_addr = "fe80::1%32";
    let mut addr = host(scoped_addr);
    assert!(addr.is_valid());
    assert!(addr.is_ipv6());
    assert!(!addr.is_bind_any());
    assert_eq!(addr.to_string_addr(), scoped_addr);

    // TORv2, no longer supported
    assert!(!addr.set_special("6hzph5hv6337r6p2.onion"));

    // TORv3
    let torv3_addr = "pg6mmjiyjmcrsslvykfwnntlaru7p5svn6y2ymmju6nubxndf4pscryd.onion";
    assert!(addr.set_special(torv3_addr));
    assert!(addr.is_valid());
    assert!(addr.is_tor());
    assert!(!addr.is_i2p());
    assert!(!addr.is_bind_any());
    assert!(!addr.is_addr_v1_compatible());
    assert_eq!(addr.to_string_addr(), torv3_addr);

    // TORv3, wrong checksum
    assert!(!addr.set_special("pg6mmjiyjmcrsslvykfwnntlaru7p5svn6y2ymmju6nubxndf4pscsad.onion"));
    // TORv3, wrong version
    assert!(!addr.set_special("pg6mmjiyjmcrsslvykfwnntlaru7p5svn6y2ymmju6nubxndf4pscrye.onion"));
    // TORv3, malicious (embedded NUL)
    assert!(
        !addr.set_special("pg6mmjiyjmcrsslvykfwnntlaru7p5svn6y2ymmju6nubxndf4pscryd\0wtf.onion")
    );
    // TOR, bogus length
    assert!(!addr.set_special("mfrggzak.onion"));
    // TOR, invalid base32
    assert!(!addr.set_special("mf*g zak.onion"));

    // I2P
    let i2p_addr = "UDHDrtrcetjm5sxzskjyr5ztpeszydbh4dpl3pl4utgqqw2v4jna.b32.I2P";
    assert!(addr.set_special(i2p_addr));
    assert!(addr.is_valid());
    assert!(addr.is_i2p());
    assert!(!addr.is_tor());
    assert!(!addr.is_bind_any());
    assert!(!addr.is_addr_v1_compatible());
    assert_eq!(addr.to_string_addr(), i2p_addr.to_ascii_lowercase());

    // I2P, correct length, but decodes to fewer bytes than expected.
    assert!(!addr.set_special("udhdrtrcetjm5sxzskjyr5ztpeszydbh4dpl3pl4utgqqw2v4jn=.b32.i2p"));
    // I2P, extra unnecessary padding
    assert!(!addr.set_special("udhdrtrcetjm5sxzskjyr5ztpeszydbh4dpl3pl4utgqqw2v4jna=.b32.i2p"));
    // I2P, malicious
    assert!(!addr.set_special("udhdrtrcetjm5sxzskjyr5ztpeszydbh4dpl3pl4utgqqw2v\0wtf.b32.i2p"));
    // I2P, valid but unsupported (56 base32 characters)
    assert!(!addr.set_special("pg6mmjiyjmcrsslvykfwnntlaru7p5svn6y2ymmju6nubxndf4pscsad.b32.i2p"));
    // I2P, invalid base32
    assert!(!addr.set_special("tp*szydbh4dp.b32.i2p"));

    // Internal
    addr.set_internal("esffpp");
    assert!(!addr.is_valid());
    assert!(addr.is_internal());
    assert!(!addr.is_bind_any());
    assert!(addr.is_addr_v1_compatible());
    assert_eq!(addr.to_string_addr(), "esffpvrt3wpeaygy.internal");

    // Totally bogus
    assert!(!addr.set_special("totally bogus"));
}

/// Mirrors net_tests.cpp: cnetaddr_tostring_canonical_ipv6
#[test]
fn net_tests__cnetaddr_tostring_canonical_ipv6() {
    let cases: &[(&str, &str)] = &[
        ("0000:0000:0000:0000:0000:0000:0000:0000", "::"),
        ("000:0000:000:00:0:00:000:0000", "::"),
        ("000:000:000:000:000:000:000:000", "::"),
        ("00:00:00:00:00:00:00:00", "::"),
        ("0:0:0:0:0:0:0:0", "::"),
        ("0:0:0:0:0:0:0:1", "::1"),
        ("2001:0:0:1:0:0:0:1", "2001:0:0:1::1"),
        ("2001:0db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),
        (
            "2001:0db8:85a3:0000:0000:8a2e:0370:7334",
            "2001:db8:85a3::8a2e:370:7334",
        ),
        ("2001:0db8::0001", "2001:db8::1"),
        ("2001:0db8::0001:0000", "2001:db8::1:0"),
        ("2001:0db8::1:0:0:1", "2001:db8::1:0:0:1"),
        ("2001:db8:0000:0:1::1", "2001:db8::1:0:0:1"),
        ("2001:db8:0000:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"),
        ("2001:db8:0:0:0:0:2:1", "2001:db8::2:1"),
        ("2001:db8:0:0:0::1", "2001:db8::1"),
        ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),
        ("2001:db8:0:0:1::1", "2001:db8::1:0:0:1"),
        ("2001:DB8:0:0:1::1", "2001:db8::1:0:0:1"),
        ("2001:db8:0:0::1", "2001:db8::1"),
        ("2001:db8:0:0:aaaa::1", "2001:db8::aaaa:0:0:1"),
        ("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"),
        ("2001:db8:0::1", "2001:db8::1"),
        (
            "2001:db8:85a3:0:0:8a2e:370:7334",
            "2001:db8:85a3::8a2e:370:7334",
        ),
        ("2001:db8::0:1", "2001:db8::1"),
        ("2001:db8::0:1:0:0:1", "2001:db8::1:0:0:1"),
        ("2001:DB8::1", "2001:db8::1"),
        ("2001:db8::1", "2001:db8::1"),
        ("2001:db8::1:0:0:1", "2001:db8::1:0:0:1"),
        ("2001:db8::1:1:1:1:1", "2001:db8:0:1:1:1:1:1"),
        ("2001:db8::aaaa:0:0:1", "2001:db8::aaaa:0:0:1"),
        (
            "2001:db8:aaaa:bbbb:cccc:dddd:0:1",
            "2001:db8:aaaa:bbbb:cccc:dddd:0:1",
        ),
        (
            "2001:db8:aaaa:bbbb:cccc:dddd::1",
            "2001:db8:aaaa:bbbb:cccc:dddd:0:1",
        ),
        (
            "2001:db8:aaaa:bbbb:cccc:dddd:eeee:0001",
            "2001:db8:aaaa:bbbb:cccc:dddd:eeee:1",
        ),
        (
            "2001:db8:aaaa:bbbb:cccc:dddd:eeee:001",
            "2001:db8:aaaa:bbbb:cccc:dddd:eeee:1",
        ),
        (
            "2001:db8:aaaa:bbbb:cccc:dddd:eeee:01",
            "2001:db8:aaaa:bbbb:cccc:dddd:eeee:1",
        ),
        (
            "2001:db8:aaaa:bbbb:cccc:dddd:eeee:1",
            "2001:db8:aaaa:bbbb:cccc:dddd:eeee:1",
        ),
        (
            "2001:db8:aaaa:bbbb:cccc:dddd:eeee:aaaa",
            "2001:db8:aaaa:bbbb:cccc:dddd:eeee:aaaa",
        ),
        (
            "2001:db8:aaaa:bbbb:cccc:dddd:eeee:AAAA",
            "2001:db8:aaaa:bbbb:cccc:dddd:eeee:aaaa",
        ),
        (
            "2001:db8:aaaa:bbbb:cccc:dddd:eeee:AaAa",
            "2001:db8:aaaa:bbbb:cccc:dddd:eeee:aaaa",
        ),
    ];
    for &(input, canonical) in cases {
        let a = host(input);
        assert!(a.is_ipv6(), "{input}");
        assert_eq!(a.to_string_addr(), canonical, "{input}");
    }
}

/// Mirrors net_tests.cpp: cnetaddr_serialize_v1
#[test]
fn net_tests__cnetaddr_serialize_v1() {
    let mut addr = CNetAddr::default();
    assert_eq!(
        hex(&addr.serialize_v1_array()),
        "00000000000000000000000000000000"
    );

    addr = host("1.2.3.4");
    assert_eq!(
        hex(&addr.serialize_v1_array()),
        "00000000000000000000ffff01020304"
    );

    addr = host("1a1b:2a2b:3a3b:4a4b:5a5b:6a6b:7a7b:8a8b");
    assert_eq!(
        hex(&addr.serialize_v1_array()),
        "1a1b2a2b3a3b4a4b5a5b6a6b7a7b8a8b"
    );

    // TORv2, no longer supported
    assert!(!addr.set_special("6hzph5hv6337r6p2.onion"));

    assert!(addr.set_special("pg6mmjiyjmcrsslvykfwnntlaru7p5svn6y2ymmju6nubxndf4pscryd.onion"));
    assert_eq!(
        hex(&addr.serialize_v1_array()),
        "00000000000000000000000000000000"
    );

    addr.set_internal("a");
    assert_eq!(
        hex(&addr.serialize_v1_array()),
        "fd6b88c08724ca978112ca1bbdcafac2"
    );
}

/// Core's `CNetAddr` V2 serialization as bytes: network id, CompactSize length
/// (all lengths here are < 253, so one byte), address.
fn v2_bytes(addr: &CNetAddr) -> String {
    let (id, bytes) = addr.to_bip155();
    format!("{id:02x}{:02x}{}", bytes.len(), hex(&bytes))
}

/// Mirrors net_tests.cpp: cnetaddr_serialize_v2
#[test]
fn net_tests__cnetaddr_serialize_v2() {
    let mut addr = CNetAddr::default();
    assert_eq!(v2_bytes(&addr), "021000000000000000000000000000000000");

    addr = host("1.2.3.4");
    assert_eq!(v2_bytes(&addr), "010401020304");

    addr = host("1a1b:2a2b:3a3b:4a4b:5a5b:6a6b:7a7b:8a8b");
    assert_eq!(v2_bytes(&addr), "02101a1b2a2b3a3b4a4b5a5b6a6b7a7b8a8b");

    // TORv2, no longer supported
    assert!(!addr.set_special("6hzph5hv6337r6p2.onion"));

    assert!(addr.set_special("kpgvmscirrdqpekbqjsvw5teanhatztpp2gl6eee4zkowvwfxwenqaid.onion"));
    assert_eq!(
        v2_bytes(&addr),
        "042053cd5648488c4707914182655b7664034e09e66f7e8cbf1084e654eb56c5bd88"
    );

    assert!(addr.set_internal("a"));
    assert_eq!(v2_bytes(&addr), "0210fd6b88c08724ca978112ca1bbdcafac2");
}

/// Decode one address the way Core's UnserializeV2Stream ends up: unknown ids
/// become the default (invalid) address.
fn from_v2(id: u8, addr_hex: &str) -> Result<CNetAddr, Bip155Error> {
    CNetAddr::from_bip155(id, &unhex(addr_hex)).map(Option::unwrap_or_default)
}

/// Mirrors net_tests.cpp: cnetaddr_unserialize_v2 (CNetAddr-level facts; the
/// "end of data" case is a stream fact tested in `protocol`).
#[test]
fn net_tests__cnetaddr_unserialize_v2() {
    // Valid IPv4.
    let addr = from_v2(1, "01020304").unwrap();
    assert!(addr.is_valid());
    assert!(addr.is_ipv4());
    assert!(addr.is_addr_v1_compatible());
    assert_eq!(addr.to_string_addr(), "1.2.3.4");

    // Invalid IPv4, bogus length.
    let e = from_v2(1, "0102030405").unwrap_err();
    assert_eq!(
        e.to_string(),
        "BIP155 IPv4 address with length 5 (should be 4)"
    );

    // Invalid IPv4, extreme length (checked before the bytes are read).
    let e = check_bip155_network(1, 513).unwrap_err();
    assert_eq!(e.to_string(), "Address too long: 513 > 512");
    assert_eq!(e, Bip155Error::AddressTooLong { size: 513 });

    // Valid IPv6.
    let addr = from_v2(2, "0102030405060708090a0b0c0d0e0f10").unwrap();
    assert!(addr.is_valid());
    assert!(addr.is_ipv6());
    assert!(addr.is_addr_v1_compatible());
    assert_eq!(addr.to_string_addr(), "102:304:506:708:90a:b0c:d0e:f10");

    // Valid IPv6 holding an embedded "internal" address.
    let addr = from_v2(2, "fd6b88c08724ca978112ca1bbdcafac2").unwrap();
    assert!(addr.is_internal());
    assert!(addr.is_addr_v1_compatible());
    assert_eq!(addr.to_string_addr(), "zklycewkdo64v6wc.internal");

    // Invalid IPv6, bogus length.
    let e = check_bip155_network(2, 4).unwrap_err();
    assert_eq!(
        e.to_string(),
        "BIP155 IPv6 address with length 4 (should be 16)"
    );

    // Invalid IPv6, embedded IPv4.
    let addr = from_v2(2, "00000000000000000000ffff01020304").unwrap();
    assert!(!addr.is_valid());

    // Invalid IPv6, embedded TORv2.
    let addr = from_v2(2, "fd87d87eeb430102030405060708090a").unwrap();
    assert!(!addr.is_valid());

    // TORv2, no longer supported: ignored.
    assert_eq!(
        CNetAddr::from_bip155(3, &unhex("f1f2f3f4f5f6f7f8f9fa")),
        Ok(None)
    );
    let addr = from_v2(3, "f1f2f3f4f5f6f7f8f9fa").unwrap();
    assert!(!addr.is_valid());

    // Valid TORv3.
    let addr = from_v2(
        4,
        "79bcc625184b05194975c28b66b66b0469f7f6556fb1ac3189a79b40dda32f1f",
    )
    .unwrap();
    assert!(addr.is_valid());
    assert!(addr.is_tor());
    assert!(!addr.is_addr_v1_compatible());
    assert_eq!(
        addr.to_string_addr(),
        "pg6mmjiyjmcrsslvykfwnntlaru7p5svn6y2ymmju6nubxndf4pscryd.onion"
    );

    // Invalid TORv3, bogus length.
    let e = check_bip155_network(4, 0).unwrap_err();
    assert_eq!(
        e.to_string(),
        "BIP155 TORv3 address with length 0 (should be 32)"
    );

    // Valid I2P.
    let addr = from_v2(
        5,
        "a2894dabaec08c0051a481a6dac88b64f98232ae42d4b6fd2fa81952dfe36a87",
    )
    .unwrap();
    assert!(addr.is_valid());
    assert!(addr.is_i2p());
    assert!(!addr.is_addr_v1_compatible());
    assert_eq!(
        addr.to_string_addr(),
        "ukeu3k5oycgaauneqgtnvselmt4yemvoilkln7jpvamvfx7dnkdq.b32.i2p"
    );

    // Invalid I2P, bogus length.
    let e = check_bip155_network(5, 3).unwrap_err();
    assert_eq!(
        e.to_string(),
        "BIP155 I2P address with length 3 (should be 32)"
    );

    // Valid CJDNS.
    let addr = from_v2(6, "fc000001000200030004000500060007").unwrap();
    assert!(addr.is_valid());
    assert!(addr.is_cjdns());
    assert!(!addr.is_addr_v1_compatible());
    assert_eq!(addr.to_string_addr(), "fc00:1:2:3:4:5:6:7");

    // Invalid CJDNS, wrong prefix.
    let addr = from_v2(6, "aa000001000200030004000500060007").unwrap();
    assert!(addr.is_cjdns());
    assert!(!addr.is_valid());

    // Invalid CJDNS, bogus length.
    let e = from_v2(6, "00").unwrap_err();
    assert_eq!(
        e.to_string(),
        "BIP155 CJDNS address with length 1 (should be 16)"
    );

    // Unknown, extreme length (CompactSize's MAX_SIZE).
    let e = check_bip155_network(0xaa, 0x0200_0000).unwrap_err();
    assert_eq!(e.to_string(), "Address too long: 33554432 > 512");

    // Unknown, reasonable length.
    assert_eq!(CNetAddr::from_bip155(0xaa, &unhex("01020304")), Ok(None));
    assert!(!from_v2(0xaa, "01020304").unwrap().is_valid());

    // Unknown, zero length.
    assert_eq!(CNetAddr::from_bip155(0xaa, &[]), Ok(None));
    assert!(!from_v2(0xaa, "").unwrap().is_valid());
}

/// Mirrors net_tests.cpp: LimitedAndReachable_Network (on a local ReachableNets,
/// not Core's global g_reachable_nets).
#[test]
fn net_tests__LimitedAndReachable_Network() {
    let nets = ReachableNets::default();
    let five = [
        Network::IPv4,
        Network::IPv6,
        Network::Onion,
        Network::I2P,
        Network::CJDNS,
    ];
    for n in five {
        assert!(nets.contains(n));
    }
    for n in five {
        nets.remove(n);
    }
    for n in five {
        assert!(!nets.contains(n));
    }
    for n in five {
        nets.add(n);
    }
    for n in five {
        assert!(nets.contains(n));
    }
}

/// Mirrors net_tests.cpp: LimitedAndReachable_NetworkCaseUnroutableAndInternal
#[test]
fn net_tests__LimitedAndReachable_NetworkCaseUnroutableAndInternal() {
    let nets = ReachableNets::default();
    assert!(nets.contains(Network::Unroutable));
    assert!(nets.contains(Network::Internal));
    nets.remove_all();
    assert!(!nets.contains(Network::Unroutable));
    assert!(!nets.contains(Network::Internal));
    assert!(nets.all().is_empty());
}

/// Mirrors net_tests.cpp: LimitedAndReachable_CNetAddr
#[test]
fn net_tests__LimitedAndReachable_CNetAddr() {
    let nets = ReachableNets::default();
    let addr = CNetAddr::from_ipv4(Ipv4Addr::new(1, 1, 1, 1));
    nets.add(Network::IPv4);
    assert!(nets.contains_addr(&addr));
    nets.remove(Network::IPv4);
    assert!(!nets.contains_addr(&addr));
}
