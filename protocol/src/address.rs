//! Service flags and peer addresses on the wire: Core's `ServiceFlags` and `CAddress`
//! (protocol.h) and the stream (de)serialization of `CNetAddr` / `CService` (netaddress.h), in the
//! pre-BIP155 "V1" form (16 bytes) and the BIP155 "V2" form (network id, length, bytes).
//!
//! `CAddress` is written in one of four ways (Core's `CAddress::SerParams`): the network format
//! (in `addr` / `addrv2` messages; V1 or V2 decided by the message) or the disk format (in
//! peers.dat; a version field in the data itself says V1 or V2).

use std::fmt;
use std::io::{self, Read, Write};
use std::ops::{BitAnd, BitAndAssign, BitOr, BitOrAssign, Deref, DerefMut, Not};

use netbase::netaddress::check_bip155_network;
use netbase::{CNetAddr, CService};

use crate::encode::{
    read_array, read_compact_size, read_vec, write_compact_size, write_vec, Decodable, Encodable,
    Error,
};

/// Service bits a node advertises (Core's `enum ServiceFlags`, `nServices`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default, PartialOrd, Ord)]
pub struct ServiceFlags(pub u64);

impl ServiceFlags {
    /// No services.
    pub const NODE_NONE: ServiceFlags = ServiceFlags(0);
    /// Serves the whole block chain (Bitcoin).
    pub const NODE_NETWORK: ServiceFlags = ServiceFlags(1 << 0);
    /// Handles bloom-filtered connections (BIP 111).
    pub const NODE_BLOOM: ServiceFlags = ServiceFlags(1 << 2);
    /// Serves witness data (BIP 144).
    pub const NODE_WITNESS: ServiceFlags = ServiceFlags(1 << 3);
    /// Serves basic block filters (BIP 157/158).
    pub const NODE_COMPACT_FILTERS: ServiceFlags = ServiceFlags(1 << 6);
    /// Serves the last 288 blocks only (BIP 159).
    pub const NODE_NETWORK_LIMITED: ServiceFlags = ServiceFlags(1 << 10);
    /// Speaks the BIP 324 v2 transport.
    pub const NODE_P2P_V2: ServiceFlags = ServiceFlags(1 << 11);
    /// Logos node: relays `logos` messages and keeps a useful address DB of Logos peers.
    ///
    /// Bit 28, one of the bits 24–31 Core reserves for temporary experiments. Chosen because
    /// bit 24 (utreexo nodes) and bit 26 (full-RBF peering) have known users on the Bitcoin
    /// network and 28 has none we know of. Service bits are unauthenticated claims, so a
    /// collision can only make us try a useless peer, never trust one.
    pub const NODE_LOGOS: ServiceFlags = ServiceFlags(1 << 28);

    /// True if every bit of `other` is set in `self`.
    pub fn has(self, other: ServiceFlags) -> bool {
        self.0 & other.0 == other.0
    }

    /// The raw bits.
    pub fn to_u64(self) -> u64 {
        self.0
    }
}

impl BitOr for ServiceFlags {
    type Output = ServiceFlags;
    fn bitor(self, rhs: Self) -> Self {
        ServiceFlags(self.0 | rhs.0)
    }
}
impl BitOrAssign for ServiceFlags {
    fn bitor_assign(&mut self, rhs: Self) {
        self.0 |= rhs.0;
    }
}
impl BitAnd for ServiceFlags {
    type Output = ServiceFlags;
    fn bitand(self, rhs: Self) -> Self {
        ServiceFlags(self.0 & rhs.0)
    }
}
impl BitAndAssign for ServiceFlags {
    fn bitand_assign(&mut self, rhs: Self) {
        self.0 &= rhs.0;
    }
}
impl Not for ServiceFlags {
    type Output = ServiceFlags;
    fn not(self) -> Self {
        ServiceFlags(!self.0)
    }
}
impl fmt::LowerHex for ServiceFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::LowerHex::fmt(&self.0, f)
    }
}

/// Port of serviceFlagToStr (protocol.cpp): the name of bit `bit`, "UNKNOWN[2^bit]" if unknown.
/// The Logos bit is named "LOGOS" (Core would print it as unknown).
fn service_flag_to_str(bit: u32) -> String {
    let flag = ServiceFlags(1u64 << bit);
    let name = match flag {
        ServiceFlags::NODE_NETWORK => "NETWORK",
        ServiceFlags::NODE_BLOOM => "BLOOM",
        ServiceFlags::NODE_WITNESS => "WITNESS",
        ServiceFlags::NODE_COMPACT_FILTERS => "COMPACT_FILTERS",
        ServiceFlags::NODE_NETWORK_LIMITED => "NETWORK_LIMITED",
        ServiceFlags::NODE_P2P_V2 => "P2P_V2",
        ServiceFlags::NODE_LOGOS => "LOGOS",
        _ => return format!("UNKNOWN[2^{bit}]"),
    };
    name.to_owned()
}

/// Port of serviceFlagsToStr (protocol.cpp): the names of all set bits, lowest first.
pub fn service_flags_to_str(flags: u64) -> Vec<String> {
    (0..64)
        .filter(|bit| flags & (1u64 << bit) != 0)
        .map(service_flag_to_str)
        .collect()
}

/// Port of SeedsServiceFlags (protocol.h): services assumed of Bitcoin fixed and DNS seeds.
pub const fn seeds_service_flags() -> ServiceFlags {
    ServiceFlags(ServiceFlags::NODE_NETWORK.0 | ServiceFlags::NODE_WITNESS.0)
}

/// Port of MayHaveUsefulAddressDB (protocol.h), Bitcoin's rule: the peer serves blocks (fully or
/// limited). Network-aware callers use `NetworkParams::may_have_useful_address_db`.
pub fn may_have_useful_address_db(services: ServiceFlags) -> bool {
    services.has(ServiceFlags::NODE_NETWORK) || services.has(ServiceFlags::NODE_NETWORK_LIMITED)
}

/// How a `CAddress` is framed (Core's `CAddress::Format`).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub enum AddrFormat {
    /// In `addr` / `addrv2` messages: no version field.
    Network,
    /// In peers.dat: a leading version field that says V1 or V2.
    Disk,
}

/// How a `CNetAddr` is encoded (Core's `CNetAddr::Encoding`).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub enum AddrEncoding {
    /// Pre-BIP155: 16 bytes (IPv4 mapped into IPv6; Tor, I2P, CJDNS as zeros).
    V1,
    /// BIP155: network id, CompactSize length, address bytes.
    V2,
}

/// Serialization parameters of a `CAddress` (Core's `CAddress::SerParams`).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub struct AddrSerParams {
    /// Framing.
    pub fmt: AddrFormat,
    /// Address encoding (for the disk format: the most recent one allowed).
    pub enc: AddrEncoding,
}

impl AddrSerParams {
    /// `addr` message (CAddress::V1_NETWORK).
    pub const V1_NETWORK: AddrSerParams = AddrSerParams {
        fmt: AddrFormat::Network,
        enc: AddrEncoding::V1,
    };
    /// `addrv2` message (CAddress::V2_NETWORK).
    pub const V2_NETWORK: AddrSerParams = AddrSerParams {
        fmt: AddrFormat::Network,
        enc: AddrEncoding::V2,
    };
    /// Disk, V1 only (CAddress::V1_DISK).
    pub const V1_DISK: AddrSerParams = AddrSerParams {
        fmt: AddrFormat::Disk,
        enc: AddrEncoding::V1,
    };
    /// Disk, V2 allowed (CAddress::V2_DISK).
    pub const V2_DISK: AddrSerParams = AddrSerParams {
        fmt: AddrFormat::Disk,
        enc: AddrEncoding::V2,
    };
}

/// A `CService` with what a peer told us about it (Core's `CAddress`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct CAddress {
    /// The address and port (Core's `CService` base class).
    pub service: CService,
    /// Advertised services (nServices): u64 in V1, CompactSize in V2.
    pub n_services: ServiceFlags,
    /// Last-seen time, seconds since the epoch (nTime, NodeSeconds). On the wire a `u32`; a value
    /// outside that range is cut to its low 32 bits, as Core's lossy formatter does.
    pub n_time: i64,
}

impl Deref for CAddress {
    type Target = CService;
    fn deref(&self) -> &CService {
        &self.service
    }
}

impl DerefMut for CAddress {
    fn deref_mut(&mut self) -> &mut CService {
        &mut self.service
    }
}

impl Default for CAddress {
    fn default() -> Self {
        CAddress {
            service: CService::default(),
            n_services: ServiceFlags::NODE_NONE,
            n_time: CAddress::TIME_INIT,
        }
    }
}

impl CAddress {
    /// Time of a `CAddress` nobody set a time on (CAddress::TIME_INIT).
    pub const TIME_INIT: i64 = 100_000_000;
    /// Low bits of the disk version field, written but ignored (CAddress::DISK_VERSION_INIT).
    pub const DISK_VERSION_INIT: u32 = 220_000;
    /// Mask of the ignored low bits (CAddress::DISK_VERSION_IGNORE_MASK).
    pub const DISK_VERSION_IGNORE_MASK: u32 = 0b0000_0000_0000_0111_1111_1111_1111_1111;
    /// High bit saying "V2 encoding follows" (CAddress::DISK_VERSION_ADDRV2).
    pub const DISK_VERSION_ADDRV2: u32 = 1 << 29;

    /// An address with services and time.
    pub fn new(service: CService, n_services: ServiceFlags, n_time: i64) -> Self {
        CAddress {
            service,
            n_services,
            n_time,
        }
    }

    /// An address with services and the default time TIME_INIT.
    pub fn with_services(service: CService, n_services: ServiceFlags) -> Self {
        CAddress {
            service,
            n_services,
            n_time: Self::TIME_INIT,
        }
    }

    /// Port of CAddress::SerializationOps (protocol.h), writing side.
    pub fn encode_with<W: Write + ?Sized>(&self, w: &mut W, p: AddrSerParams) -> io::Result<usize> {
        let mut n = 0;
        if p.fmt == AddrFormat::Disk {
            let mut stored = Self::DISK_VERSION_INIT;
            if p.enc == AddrEncoding::V2 {
                stored |= Self::DISK_VERSION_ADDRV2;
            }
            n += stored.consensus_encode(w)?;
        }
        n += (self.n_time as u32).consensus_encode(w)?;
        match p.enc {
            AddrEncoding::V2 => n += write_compact_size(w, self.n_services.0)?,
            AddrEncoding::V1 => n += self.n_services.0.consensus_encode(w)?,
        }
        n += encode_service(&self.service, w, p.enc)?;
        Ok(n)
    }

    /// Port of CAddress::SerializationOps (protocol.h), reading side. In the disk format the
    /// stored version decides the encoding; V2 data is refused unless `p.enc` is V2.
    pub fn decode_with<R: Read + ?Sized>(r: &mut R, p: AddrSerParams) -> Result<Self, Error> {
        let use_v2 = match p.fmt {
            AddrFormat::Disk => {
                let stored = u32::consensus_decode(r)?;
                let high = stored & !Self::DISK_VERSION_IGNORE_MASK;
                if high == 0 {
                    false
                } else if high == Self::DISK_VERSION_ADDRV2 && p.enc == AddrEncoding::V2 {
                    true
                } else {
                    return Err(Error::UnsupportedAddrDiskVersion(stored));
                }
            }
            AddrFormat::Network => p.enc == AddrEncoding::V2,
        };
        let n_time = i64::from(u32::consensus_decode(r)?);
        let (services, enc) = if use_v2 {
            (read_compact_size(r, false)?, AddrEncoding::V2)
        } else {
            (u64::consensus_decode(r)?, AddrEncoding::V1)
        };
        let service = decode_service(r, enc)?;
        Ok(CAddress {
            service,
            n_services: ServiceFlags(services),
            n_time,
        })
    }
}

/// Writes a vector of addresses (CompactSize count, then each entry) with `p`.
pub fn encode_addr_vec<W: Write + ?Sized>(
    addrs: &[CAddress],
    w: &mut W,
    p: AddrSerParams,
) -> io::Result<usize> {
    write_vec(w, addrs, |a, w| a.encode_with(w, p))
}

/// Reads a vector of addresses with `p`; the count is range checked and capacity is reserved in
/// bounded batches (Core's VectorFormatter), so a huge count alone allocates little.
pub fn decode_addr_vec<R: Read + ?Sized>(
    r: &mut R,
    p: AddrSerParams,
) -> Result<Vec<CAddress>, Error> {
    read_vec(r, |r| CAddress::decode_with(r, p))
}

/// Port of CNetAddr::Serialize (netaddress.h): SerializeV1Stream (16 bytes) or SerializeV2Stream
/// (BIP155 network id, CompactSize length, bytes; internal addresses as IPv6).
pub fn encode_netaddr<W: Write + ?Sized>(
    addr: &CNetAddr,
    w: &mut W,
    enc: AddrEncoding,
) -> io::Result<usize> {
    match enc {
        AddrEncoding::V1 => addr.serialize_v1_array().consensus_encode(w),
        AddrEncoding::V2 => {
            let (net_id, bytes) = addr.to_bip155();
            w.write_all(&[net_id])?;
            let n = write_compact_size(w, bytes.len() as u64)?;
            w.write_all(&bytes)?;
            Ok(1 + n + bytes.len())
        }
    }
}

/// Port of CNetAddr::Unserialize (netaddress.h): UnserializeV1Stream or UnserializeV2Stream.
///
/// V2 as Core: the length is a range-checked CompactSize and may not exceed `MAX_ADDRV2_SIZE`;
/// a known network id (1, 2, 4, 5, 6) with the wrong length is an error; an unknown id (Tor v2
/// included) has its bytes skipped and gives the invalid address `::`; IPv6 bytes carrying the
/// internal prefix give an internal address, the IPv4-mapped or Tor v2 prefix give `::`.
pub fn decode_netaddr<R: Read + ?Sized>(r: &mut R, enc: AddrEncoding) -> Result<CNetAddr, Error> {
    match enc {
        AddrEncoding::V1 => {
            let arr: [u8; 16] = read_array(r)?;
            Ok(CNetAddr::from_v1_array(&arr))
        }
        AddrEncoding::V2 => {
            let net_id = u8::consensus_decode(r)?;
            let size = read_compact_size(r, true)? as usize;
            match check_bip155_network(net_id, size)? {
                Some(_) => {
                    let mut buf = [0u8; 32];
                    let bytes = &mut buf[..size];
                    r.read_exact(bytes)?;
                    Ok(CNetAddr::from_bip155(net_id, bytes)?.unwrap_or_default())
                }
                None => {
                    // Unknown network: skip the bytes (at most MAX_ADDRV2_SIZE, checked above).
                    let mut skip = [0u8; netbase::MAX_ADDRV2_SIZE];
                    r.read_exact(&mut skip[..size])?;
                    Ok(CNetAddr::default())
                }
            }
        }
    }
}

/// Port of CService::Serialize (netaddress.h): the address, then the port big-endian.
pub fn encode_service<W: Write + ?Sized>(
    s: &CService,
    w: &mut W,
    enc: AddrEncoding,
) -> io::Result<usize> {
    let n = encode_netaddr(&s.addr, w, enc)?;
    w.write_all(&s.port.to_be_bytes())?;
    Ok(n + 2)
}

/// Port of CService::Unserialize (netaddress.h).
pub fn decode_service<R: Read + ?Sized>(r: &mut R, enc: AddrEncoding) -> Result<CService, Error> {
    let addr = decode_netaddr(r, enc)?;
    let port = u16::from_be_bytes(read_array(r)?);
    Ok(CService::new(addr, port))
}

#[cfg(test)]
#[allow(non_snake_case)] // test names are `<core test file>__<core test case>`
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    fn enc_v1(a: &CNetAddr) -> String {
        let mut v = Vec::new();
        encode_netaddr(a, &mut v, AddrEncoding::V1).unwrap();
        hex::encode(v)
    }
    fn enc_v2(a: &CNetAddr) -> String {
        let mut v = Vec::new();
        encode_netaddr(a, &mut v, AddrEncoding::V2).unwrap();
        hex::encode(v)
    }
    fn dec_v2(h: &str) -> (Result<CNetAddr, Error>, usize) {
        let bytes = hex::decode(h).unwrap();
        let mut r = bytes.as_slice();
        let res = decode_netaddr(&mut r, AddrEncoding::V2);
        (res, r.len())
    }

    /// Mirrors net_tests.cpp: cnetaddr_serialize_v1.
    #[test]
    fn net_tests__cnetaddr_serialize_v1() {
        let addr = CNetAddr::default();
        assert_eq!(enc_v1(&addr), "00000000000000000000000000000000");
        let addr = CNetAddr::from_ipv4(Ipv4Addr::new(1, 2, 3, 4));
        assert_eq!(enc_v1(&addr), "00000000000000000000ffff01020304");
        let addr = CNetAddr::from_ipv6(
            "1a1b:2a2b:3a3b:4a4b:5a5b:6a6b:7a7b:8a8b"
                .parse::<Ipv6Addr>()
                .unwrap(),
            0,
        );
        assert_eq!(enc_v1(&addr), "1a1b2a2b3a3b4a4b5a5b6a6b7a7b8a8b");
        let mut addr = CNetAddr::default();
        assert!(!addr.set_special("6hzph5hv6337r6p2.onion"));
        assert!(addr.set_special("pg6mmjiyjmcrsslvykfwnntlaru7p5svn6y2ymmju6nubxndf4pscryd.onion"));
        assert_eq!(enc_v1(&addr), "00000000000000000000000000000000");
        assert!(addr.set_internal("a"));
        assert_eq!(enc_v1(&addr), "fd6b88c08724ca978112ca1bbdcafac2");
    }

    /// Mirrors net_tests.cpp: cnetaddr_serialize_v2.
    #[test]
    fn net_tests__cnetaddr_serialize_v2() {
        let addr = CNetAddr::default();
        assert_eq!(enc_v2(&addr), "021000000000000000000000000000000000");
        let addr = CNetAddr::from_ipv4(Ipv4Addr::new(1, 2, 3, 4));
        assert_eq!(enc_v2(&addr), "010401020304");
        let addr = CNetAddr::from_ipv6(
            "1a1b:2a2b:3a3b:4a4b:5a5b:6a6b:7a7b:8a8b"
                .parse::<Ipv6Addr>()
                .unwrap(),
            0,
        );
        assert_eq!(enc_v2(&addr), "02101a1b2a2b3a3b4a4b5a5b6a6b7a7b8a8b");
        let mut addr = CNetAddr::default();
        assert!(!addr.set_special("6hzph5hv6337r6p2.onion"));
        assert!(addr.set_special("kpgvmscirrdqpekbqjsvw5teanhatztpp2gl6eee4zkowvwfxwenqaid.onion"));
        assert_eq!(
            enc_v2(&addr),
            "042053cd5648488c4707914182655b7664034e09e66f7e8cbf1084e654eb56c5bd88"
        );
        assert!(addr.set_internal("a"));
        assert_eq!(enc_v2(&addr), "0210fd6b88c08724ca978112ca1bbdcafac2");
    }

    /// Mirrors net_tests.cpp: cnetaddr_unserialize_v2.
    #[test]
    fn net_tests__cnetaddr_unserialize_v2() {
        let eof = Error::Io(io::ErrorKind::UnexpectedEof);

        // Valid IPv4.
        let (a, left) = dec_v2("010401020304");
        let a = a.unwrap();
        assert!(a.is_valid() && a.is_ipv4() && a.is_addr_v1_compatible());
        assert_eq!(a.to_string_addr(), "1.2.3.4");
        assert_eq!(left, 0);

        // Invalid IPv4, valid length but address itself is shorter.
        let (a, _) = dec_v2("01040102");
        assert_eq!(a.unwrap_err(), eof);
        assert_eq!(eof.to_string(), "DataStream::read(): end of data");

        // Invalid IPv4, with bogus length.
        let (a, _) = dec_v2("010501020304");
        assert_eq!(
            a.unwrap_err().to_string(),
            "BIP155 IPv4 address with length 5 (should be 4)"
        );

        // Invalid IPv4, with extreme length.
        let (a, _) = dec_v2("01fd010201020304");
        assert_eq!(a.unwrap_err().to_string(), "Address too long: 513 > 512");

        // Valid IPv6.
        let (a, left) = dec_v2("02100102030405060708090a0b0c0d0e0f10");
        let a = a.unwrap();
        assert!(a.is_valid() && a.is_ipv6() && a.is_addr_v1_compatible());
        assert_eq!(a.to_string_addr(), "102:304:506:708:90a:b0c:d0e:f10");
        assert_eq!(left, 0);

        // Valid IPv6, contains embedded "internal".
        let (a, left) = dec_v2("0210fd6b88c08724ca978112ca1bbdcafac2");
        let a = a.unwrap();
        assert!(a.is_internal() && a.is_addr_v1_compatible());
        assert_eq!(a.to_string_addr(), "zklycewkdo64v6wc.internal");
        assert_eq!(left, 0);

        // Invalid IPv6, with bogus length.
        let (a, _) = dec_v2("020400");
        assert_eq!(
            a.unwrap_err().to_string(),
            "BIP155 IPv6 address with length 4 (should be 16)"
        );

        // Invalid IPv6, contains embedded IPv4.
        let (a, left) = dec_v2("021000000000000000000000ffff01020304");
        assert!(!a.unwrap().is_valid());
        assert_eq!(left, 0);

        // Invalid IPv6, contains embedded TORv2.
        let (a, left) = dec_v2("0210fd87d87eeb430102030405060708090a");
        assert!(!a.unwrap().is_valid());
        assert_eq!(left, 0);

        // TORv2, no longer supported.
        let (a, left) = dec_v2("030af1f2f3f4f5f6f7f8f9fa");
        assert!(!a.unwrap().is_valid());
        assert_eq!(left, 0);

        // Valid TORv3.
        let (a, left) =
            dec_v2("042079bcc625184b05194975c28b66b66b0469f7f6556fb1ac3189a79b40dda32f1f");
        let a = a.unwrap();
        assert!(a.is_valid() && a.is_tor() && !a.is_addr_v1_compatible());
        assert_eq!(
            a.to_string_addr(),
            "pg6mmjiyjmcrsslvykfwnntlaru7p5svn6y2ymmju6nubxndf4pscryd.onion"
        );
        assert_eq!(left, 0);

        // Invalid TORv3, with bogus length.
        let (a, _) = dec_v2("040000");
        assert_eq!(
            a.unwrap_err().to_string(),
            "BIP155 TORv3 address with length 0 (should be 32)"
        );

        // Valid I2P.
        let (a, left) =
            dec_v2("0520a2894dabaec08c0051a481a6dac88b64f98232ae42d4b6fd2fa81952dfe36a87");
        let a = a.unwrap();
        assert!(a.is_valid() && a.is_i2p() && !a.is_addr_v1_compatible());
        assert_eq!(
            a.to_string_addr(),
            "ukeu3k5oycgaauneqgtnvselmt4yemvoilkln7jpvamvfx7dnkdq.b32.i2p"
        );
        assert_eq!(left, 0);

        // Invalid I2P, with bogus length.
        let (a, _) = dec_v2("050300");
        assert_eq!(
            a.unwrap_err().to_string(),
            "BIP155 I2P address with length 3 (should be 32)"
        );

        // Valid CJDNS.
        let (a, left) = dec_v2("0610fc000001000200030004000500060007");
        let a = a.unwrap();
        assert!(a.is_valid() && a.is_cjdns() && !a.is_addr_v1_compatible());
        assert_eq!(a.to_string_addr(), "fc00:1:2:3:4:5:6:7");
        assert_eq!(left, 0);

        // Invalid CJDNS, wrong prefix.
        let (a, left) = dec_v2("0610aa000001000200030004000500060007");
        let a = a.unwrap();
        assert!(a.is_cjdns() && !a.is_valid());
        assert_eq!(left, 0);

        // Invalid CJDNS, with bogus length.
        let (a, _) = dec_v2("060100");
        assert_eq!(
            a.unwrap_err().to_string(),
            "BIP155 CJDNS address with length 1 (should be 16)"
        );

        // Unknown, with extreme length.
        let (a, _) = dec_v2("aafe0000000201020304050607");
        assert_eq!(
            a.unwrap_err().to_string(),
            "Address too long: 33554432 > 512"
        );

        // Unknown, with reasonable length.
        let (a, left) = dec_v2("aa0401020304");
        assert!(!a.unwrap().is_valid());
        assert_eq!(left, 0);

        // Unknown, with zero length.
        let (a, left) = dec_v2("aa00");
        assert!(!a.unwrap().is_valid());
        assert_eq!(left, 0);
    }

    /// A V2 length one over MAX_SIZE fails in ReadCompactSize's range check, before the BIP155
    /// size check.
    #[test]
    fn v2_length_over_max_size() {
        let (a, _) = dec_v2("aafe01000002");
        assert_eq!(a.unwrap_err(), Error::OversizedCompactSize(0x0200_0001));
    }

    fn loopback6(port: u16) -> CService {
        CService::new(CNetAddr::from_ipv6(Ipv6Addr::LOCALHOST, 0), port)
    }

    /// netbase_tests.cpp: fixture_addresses.
    fn fixture_addresses() -> Vec<CAddress> {
        vec![
            CAddress::new(loopback6(0), ServiceFlags::NODE_NONE, 0x4966bc61),
            CAddress::new(loopback6(0x00f1), ServiceFlags::NODE_NETWORK, 0x83766279),
            CAddress::new(
                loopback6(0xf1f2),
                ServiceFlags::NODE_WITNESS
                    | ServiceFlags::NODE_COMPACT_FILTERS
                    | ServiceFlags::NODE_NETWORK_LIMITED,
                0xffffffff,
            ),
        ]
    }

    const STREAM_ADDRV1_HEX: &str = concat!(
        "03",
        "61bc6649",
        "0000000000000000",
        "00000000000000000000000000000001",
        "0000",
        "79627683",
        "0100000000000000",
        "00000000000000000000000000000001",
        "00f1",
        "ffffffff",
        "4804000000000000",
        "00000000000000000000000000000001",
        "f1f2"
    );

    const STREAM_ADDRV2_HEX: &str = concat!(
        "03",
        "61bc6649",
        "00",
        "02",
        "10",
        "00000000000000000000000000000001",
        "0000",
        "79627683",
        "01",
        "02",
        "10",
        "00000000000000000000000000000001",
        "00f1",
        "ffffffff",
        "fd4804",
        "02",
        "10",
        "00000000000000000000000000000001",
        "f1f2"
    );

    /// Mirrors netbase_tests.cpp: caddress_serialize_v1.
    #[test]
    fn netbase_tests__caddress_serialize_v1() {
        let mut v = Vec::new();
        encode_addr_vec(&fixture_addresses(), &mut v, AddrSerParams::V1_NETWORK).unwrap();
        assert_eq!(hex::encode(v), STREAM_ADDRV1_HEX);
    }

    /// Mirrors netbase_tests.cpp: caddress_unserialize_v1.
    #[test]
    fn netbase_tests__caddress_unserialize_v1() {
        let bytes = hex::decode(STREAM_ADDRV1_HEX).unwrap();
        let mut r = bytes.as_slice();
        let got = decode_addr_vec(&mut r, AddrSerParams::V1_NETWORK).unwrap();
        assert_eq!(got, fixture_addresses());
        assert!(r.is_empty());
    }

    /// Mirrors netbase_tests.cpp: caddress_serialize_v2.
    #[test]
    fn netbase_tests__caddress_serialize_v2() {
        let mut v = Vec::new();
        encode_addr_vec(&fixture_addresses(), &mut v, AddrSerParams::V2_NETWORK).unwrap();
        assert_eq!(hex::encode(v), STREAM_ADDRV2_HEX);
    }

    /// Mirrors netbase_tests.cpp: caddress_unserialize_v2.
    #[test]
    fn netbase_tests__caddress_unserialize_v2() {
        let bytes = hex::decode(STREAM_ADDRV2_HEX).unwrap();
        let mut r = bytes.as_slice();
        let got = decode_addr_vec(&mut r, AddrSerParams::V2_NETWORK).unwrap();
        assert_eq!(got, fixture_addresses());
        assert!(r.is_empty());
    }

    /// CAddress disk format: version field DISK_VERSION_INIT (| DISK_VERSION_ADDRV2), low bits
    /// ignored on read, V2 data refused when only V1 is allowed, unknown high bits refused.
    #[test]
    fn caddress_disk_format() {
        let a = fixture_addresses()[2];
        let mut v1 = Vec::new();
        a.encode_with(&mut v1, AddrSerParams::V1_DISK).unwrap();
        assert_eq!(&v1[..4], &220_000u32.to_le_bytes());
        let mut v2 = Vec::new();
        a.encode_with(&mut v2, AddrSerParams::V2_DISK).unwrap();
        assert_eq!(&v2[..4], &(220_000u32 | (1 << 29)).to_le_bytes());

        for (bytes, p) in [
            (&v1, AddrSerParams::V1_DISK),
            (&v1, AddrSerParams::V2_DISK),
            (&v2, AddrSerParams::V2_DISK),
        ] {
            let mut r = bytes.as_slice();
            assert_eq!(CAddress::decode_with(&mut r, p).unwrap(), a);
            assert!(r.is_empty());
        }
        let mut r = v2.as_slice();
        assert_eq!(
            CAddress::decode_with(&mut r, AddrSerParams::V1_DISK),
            Err(Error::UnsupportedAddrDiskVersion(220_000 | (1 << 29)))
        );
        // Low bits are ignored.
        let mut odd = v1.clone();
        odd[..4].copy_from_slice(&0x0007_ffffu32.to_le_bytes());
        assert_eq!(
            CAddress::decode_with(&mut odd.as_slice(), AddrSerParams::V1_DISK).unwrap(),
            a
        );
        // Any other high bit is refused.
        let mut bad = v1.clone();
        bad[..4].copy_from_slice(&(1u32 << 28).to_le_bytes());
        assert_eq!(
            CAddress::decode_with(&mut bad.as_slice(), AddrSerParams::V2_DISK),
            Err(Error::UnsupportedAddrDiskVersion(1 << 28))
        );
        assert_eq!(
            Error::UnsupportedAddrDiskVersion(0).to_string(),
            "Unsupported CAddress disk format version"
        );
    }

    /// V1 serializes Tor/I2P/CJDNS as zeros; V2 keeps them.
    #[test]
    fn caddress_v1_loses_privacy_nets() {
        let mut onion = CNetAddr::default();
        assert!(onion.set_special("pg6mmjiyjmcrsslvykfwnntlaru7p5svn6y2ymmju6nubxndf4pscryd.onion"));
        let a = CAddress::new(CService::new(onion, 8333), ServiceFlags::NODE_NETWORK, 1);
        let mut v = Vec::new();
        a.encode_with(&mut v, AddrSerParams::V1_NETWORK).unwrap();
        let back = CAddress::decode_with(&mut v.as_slice(), AddrSerParams::V1_NETWORK).unwrap();
        assert!(!back.is_valid());
        let mut v = Vec::new();
        a.encode_with(&mut v, AddrSerParams::V2_NETWORK).unwrap();
        let back = CAddress::decode_with(&mut v.as_slice(), AddrSerParams::V2_NETWORK).unwrap();
        assert_eq!(back, a);
    }

    /// The time field is a u32 on the wire; Core's lossy formatter keeps the low 32 bits.
    #[test]
    fn caddress_time_is_u32_on_the_wire() {
        let a = CAddress::new(loopback6(1), ServiceFlags::NODE_NONE, 0x1_0000_0005);
        let mut v = Vec::new();
        a.encode_with(&mut v, AddrSerParams::V1_NETWORK).unwrap();
        assert_eq!(&v[..4], &[5, 0, 0, 0]);
        assert_eq!(CAddress::default().n_time, 100_000_000);
    }

    #[test]
    fn service_flag_names() {
        // Port of serviceFlagsToStr behaviour (protocol.cpp).
        assert_eq!(
            service_flags_to_str(0x0c09),
            vec!["NETWORK", "WITNESS", "NETWORK_LIMITED", "P2P_V2"]
        );
        assert_eq!(service_flags_to_str(1 << 5), vec!["UNKNOWN[2^5]"]);
        assert_eq!(service_flags_to_str(1 << 28), vec!["LOGOS"]);
        assert!(service_flags_to_str(0).is_empty());
        assert_eq!(seeds_service_flags(), ServiceFlags(9));
        assert!(may_have_useful_address_db(
            ServiceFlags::NODE_NETWORK_LIMITED
        ));
        assert!(!may_have_useful_address_db(ServiceFlags::NODE_WITNESS));
        assert_eq!(format!("{:08x}", ServiceFlags(9)), "00000009");
    }
}
