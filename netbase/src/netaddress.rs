//! Network addresses: a port of Bitcoin Core's `netaddress.{h,cpp}`.
//!
//! [`CNetAddr`] keeps Core's representation: a network id (`m_net`), the raw
//! address bytes (`m_addr`, big endian for IPv4/IPv6, at most 32 bytes, stored
//! inline without heap allocation) and an IPv6 scope id. [`CService`] adds a
//! port. BIP155 (addrv2) network ids and the legacy 16-byte (addr v1)
//! encoding are handled here at the `CNetAddr` level; the stream framing lives
//! in the `protocol` crate.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::ops::{Deref, DerefMut};

use sha2::{Digest as _, Sha256};
use sha3::Sha3_256;

use crate::base32::{decode_base32, encode_base32};

/// A network type (Core's `enum Network`).
///
/// An address may belong to more than one network: `10.0.0.1` is both
/// `Unroutable` (as reported by [`CNetAddr::get_network`]) and `IPv4` (its raw
/// [`CNetAddr::net`]). The discriminants are Core's `NET_*` values and are used
/// on disk / in group ids, so they must not change.
#[repr(u8)]
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub enum Network {
    /// `NET_UNROUTABLE`: not publicly routable on the global Internet.
    Unroutable = 0,
    /// `NET_IPV4`.
    IPv4 = 1,
    /// `NET_IPV6`.
    IPv6 = 2,
    /// `NET_ONION`: Tor (v3 only).
    Onion = 3,
    /// `NET_I2P`.
    I2P = 4,
    /// `NET_CJDNS`.
    CJDNS = 5,
    /// `NET_INTERNAL`: hash of a name (e.g. a DNS seed) used inside addrman.
    Internal = 6,
}

/// Core's `NET_MAX`: number of [`Network`] values.
pub const NET_MAX: usize = 7;

/// Every [`Network`], in `NET_*` order (Core loops `for (int n = 0; n < NET_MAX; ++n)`).
pub const ALL_NETWORKS: [Network; NET_MAX] = [
    Network::Unroutable,
    Network::IPv4,
    Network::IPv6,
    Network::Onion,
    Network::I2P,
    Network::CJDNS,
    Network::Internal,
];

impl Network {
    /// The `NET_*` number of this network.
    pub fn as_u8(self) -> u8 {
        self as u8
    }

    /// The network with `NET_*` number `n`, if any.
    pub fn from_u8(n: u8) -> Option<Network> {
        ALL_NETWORKS.get(usize::from(n)).copied()
    }
}

impl fmt::Display for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(crate::netbase::get_network_name(*self))
    }
}

/// Prefix of a legacy (addr v1) IPv6 address that embeds an IPv4 address (`::ffff:0:0/96`).
pub const IPV4_IN_IPV6_PREFIX: [u8; 12] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF];

/// Prefix of a legacy IPv6 address that embedded a Tor v2 address (no longer supported;
/// inside fc00::/7 so never routable).
pub const TORV2_IN_IPV6_PREFIX: [u8; 6] = [0xFD, 0x87, 0xD8, 0x7E, 0xEB, 0x43];

/// Prefix of a legacy IPv6 address that embeds an "internal" address:
/// `0xFD` followed by the first 5 bytes of SHA256("bitcoin") (inside fc00::/7).
pub const INTERNAL_IN_IPV6_PREFIX: [u8; 6] = [0xFD, 0x6B, 0x88, 0xC0, 0x87, 0x24];

/// First byte of every CJDNS address.
pub const CJDNS_PREFIX: u8 = 0xFC;

/// Size of an IPv4 address in bytes.
pub const ADDR_IPV4_SIZE: usize = 4;
/// Size of an IPv6 address in bytes.
pub const ADDR_IPV6_SIZE: usize = 16;
/// Size of a Tor v3 address in bytes (the ed25519 public key only).
pub const ADDR_TORV3_SIZE: usize = 32;
/// Size of an I2P address in bytes.
pub const ADDR_I2P_SIZE: usize = 32;
/// Size of a CJDNS address in bytes.
pub const ADDR_CJDNS_SIZE: usize = 16;
/// Size of an "internal" address in bytes.
pub const ADDR_INTERNAL_SIZE: usize = 10;

/// Port forced by SAM 3.1 and earlier for I2P.
pub const I2P_SAM31_PORT: u16 = 0;

/// Size of a `CNetAddr` in the pre-BIP155 (addr v1) encoding.
pub const V1_SERIALIZATION_SIZE: usize = ADDR_IPV6_SIZE;

/// Largest address a BIP155 message may carry (address bytes only).
pub const MAX_ADDRV2_SIZE: usize = 512;

/// Inline capacity of [`CNetAddr`]'s address storage: the largest address we keep.
const ADDR_STORAGE_SIZE: usize = 32;

/// BIP155 network ids known to this software (Core's `CNetAddr::BIP155Network`).
#[repr(u8)]
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Bip155Network {
    /// IPv4, 4 bytes.
    IPV4 = 1,
    /// IPv6, 16 bytes.
    IPV6 = 2,
    /// Tor v2, 10 bytes (no longer supported: ignored when received).
    TORV2 = 3,
    /// Tor v3, 32 bytes.
    TORV3 = 4,
    /// I2P, 32 bytes.
    I2P = 5,
    /// CJDNS, 16 bytes.
    CJDNS = 6,
}

/// Why a BIP155 address was rejected. Core throws `std::ios_base::failure` with
/// the text given by `Display`; the peer's message is then invalid as a whole.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Bip155Error {
    /// A founding network id (1..6) with the wrong address length.
    WrongLength {
        /// Core's name of the network in the message ("IPv4", "IPv6", "TORv3", "I2P", "CJDNS").
        network: &'static str,
        /// Length received.
        size: usize,
        /// Length required for that network.
        expected: usize,
    },
    /// Address longer than [`MAX_ADDRV2_SIZE`] (checked before the network id).
    AddressTooLong {
        /// Length received.
        size: usize,
    },
}

impl fmt::Display for Bip155Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Bip155Error::WrongLength {
                network,
                size,
                expected,
            } => write!(
                f,
                "BIP155 {network} address with length {size} (should be {expected})"
            ),
            Bip155Error::AddressTooLong { size } => {
                write!(f, "Address too long: {size} > {MAX_ADDRV2_SIZE}")
            }
        }
    }
}

impl std::error::Error for Bip155Error {}

/// Port of CNetAddr::SetNetFromBIP155Network (netaddress.cpp), plus the
/// `MAX_ADDRV2_SIZE` check that precedes it in CNetAddr::UnserializeV2Stream.
///
/// Lets a decoder validate the (network id, length) pair before reading the
/// address bytes, as Core does. `Ok(Some(net))`: known id with the right length;
/// `Ok(None)`: unknown id (Tor v2 included) whose bytes must be skipped and the
/// address treated as invalid; `Err`: the message is malformed.
pub fn check_bip155_network(
    possible_bip155_net: u8,
    address_size: usize,
) -> Result<Option<Network>, Bip155Error> {
    if address_size > MAX_ADDRV2_SIZE {
        return Err(Bip155Error::AddressTooLong { size: address_size });
    }
    let (net, name, expected) = match possible_bip155_net {
        1 => (Network::IPv4, "IPv4", ADDR_IPV4_SIZE),
        2 => (Network::IPv6, "IPv6", ADDR_IPV6_SIZE),
        4 => (Network::Onion, "TORv3", ADDR_TORV3_SIZE),
        5 => (Network::I2P, "I2P", ADDR_I2P_SIZE),
        6 => (Network::CJDNS, "CJDNS", ADDR_CJDNS_SIZE),
        _ => return Ok(None),
    };
    if address_size != expected {
        return Err(Bip155Error::WrongLength {
            network: name,
            size: address_size,
            expected,
        });
    }
    Ok(Some(net))
}

/// A network address (Core's `CNetAddr`).
///
/// Equality, ordering and hashing use only the network and the address bytes,
/// never the scope id, exactly as Core's `operator==` / `operator<`. Ordering is
/// by network id, then address length, then bytes (Core's `prevector` order).
#[derive(Clone, Copy)]
pub struct CNetAddr {
    /// Raw address bytes; only `m_addr[..m_len]` is meaningful, the rest is zero.
    m_addr: [u8; ADDR_STORAGE_SIZE],
    /// Number of meaningful bytes in `m_addr`.
    m_len: u8,
    /// Network this address belongs to (never `Unroutable`).
    m_net: Network,
    /// Scope id of a scoped (link-local) IPv6 address, RFC 4007.
    m_scope_id: u32,
}

impl Default for CNetAddr {
    /// Port of CNetAddr::CNetAddr (netaddress.cpp): the unspecified IPv6 address `::`.
    fn default() -> Self {
        CNetAddr {
            m_addr: [0; ADDR_STORAGE_SIZE],
            m_len: ADDR_IPV6_SIZE as u8,
            m_net: Network::IPv6,
            m_scope_id: 0,
        }
    }
}

impl PartialEq for CNetAddr {
    /// Port of operator==(CNetAddr, CNetAddr) (netaddress.cpp).
    fn eq(&self, other: &Self) -> bool {
        self.m_net == other.m_net && self.addr_bytes() == other.addr_bytes()
    }
}

impl Eq for CNetAddr {}

impl Ord for CNetAddr {
    /// Port of operator<(CNetAddr, CNetAddr) (netaddress.cpp).
    fn cmp(&self, other: &Self) -> Ordering {
        self.m_net
            .cmp(&other.m_net)
            .then(self.m_len.cmp(&other.m_len))
            .then_with(|| self.addr_bytes().cmp(other.addr_bytes()))
    }
}

impl PartialOrd for CNetAddr {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Hash for CNetAddr {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u8(self.m_net as u8);
        state.write(self.addr_bytes());
    }
}

impl fmt::Debug for CNetAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CNetAddr({:?} {})", self.m_net, self.to_string_addr())
    }
}

impl fmt::Display for CNetAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_string_addr())
    }
}

impl From<IpAddr> for CNetAddr {
    fn from(ip: IpAddr) -> Self {
        CNetAddr::from_ip(ip)
    }
}

impl From<Ipv4Addr> for CNetAddr {
    fn from(ip: Ipv4Addr) -> Self {
        CNetAddr::from_ipv4(ip)
    }
}

impl From<Ipv6Addr> for CNetAddr {
    fn from(ip: Ipv6Addr) -> Self {
        CNetAddr::from_ipv6(ip, 0)
    }
}

/// Whether `bytes` starts with `prefix`.
fn has_prefix(bytes: &[u8], prefix: &[u8]) -> bool {
    bytes.len() >= prefix.len() && &bytes[..prefix.len()] == prefix
}

/// Read 4 bytes as a big-endian u32.
fn read_be32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

/// Tor v3 (rend-spec-v3) address constants and checksum.
mod torv3 {
    use super::*;

    /// Length of the checksum in a v3 onion address.
    pub const CHECKSUM_LEN: usize = 2;
    /// Version byte of a v3 onion address.
    pub const VERSION: u8 = 3;
    /// Decoded length: pubkey | checksum | version.
    pub const TOTAL_LEN: usize = ADDR_TORV3_SIZE + CHECKSUM_LEN + 1;

    /// Port of torv3::Checksum (netaddress.cpp): the first 2 bytes of
    /// SHA3-256(".onion checksum" | pubkey | version).
    pub fn checksum(pubkey: &[u8]) -> [u8; CHECKSUM_LEN] {
        let mut h = Sha3_256::new();
        h.update(b".onion checksum");
        h.update(pubkey);
        h.update([VERSION]);
        let full = h.finalize();
        [full[0], full[1]]
    }
}

/// Port of OnionToString (netaddress.cpp): base32(pubkey | checksum | version) + ".onion".
pub fn onion_to_string(addr: &[u8]) -> String {
    let mut buf = Vec::with_capacity(addr.len() + torv3::CHECKSUM_LEN + 1);
    buf.extend_from_slice(addr);
    buf.extend_from_slice(&torv3::checksum(addr));
    buf.push(torv3::VERSION);
    encode_base32(&buf, true) + ".onion"
}

/// Port of IPv4ToString (netaddress.cpp).
fn ipv4_to_string(a: &[u8]) -> String {
    format!("{}.{}.{}.{}", a[0], a[1], a[2], a[3])
}

/// Port of IPv6ToString (netaddress.cpp): RFC 5952 text form. The first longest
/// run (length >= 2) of all-zero 16-bit groups becomes `::`; groups are lower-case
/// hex without leading zeros; a non-zero scope id is appended as `%n`.
fn ipv6_to_string(a: &[u8], scope_id: u32) -> String {
    let mut groups = [0u16; 8];
    for (i, g) in groups.iter_mut().enumerate() {
        *g = u16::from_be_bytes([a[2 * i], a[2 * i + 1]]);
    }
    // Longest run of zero groups; the earliest wins on a tie.
    let (mut best_start, mut best_len) = (0usize, 0usize);
    let (mut cur_start, mut cur_len) = (0usize, 0usize);
    for (i, &g) in groups.iter().enumerate() {
        if g != 0 {
            cur_start = i + 1;
            cur_len = 0;
            continue;
        }
        cur_len += 1;
        if cur_len > best_len {
            best_start = cur_start;
            best_len = cur_len;
        }
    }
    let mut r = String::with_capacity(50);
    for (i, &g) in groups.iter().enumerate() {
        if best_len >= 2 && i >= best_start && i < best_start + best_len {
            if i == best_start {
                r.push_str("::");
            }
            continue;
        }
        if !r.is_empty() && !r.ends_with(':') {
            r.push(':');
        }
        r.push_str(&format!("{g:x}"));
    }
    if scope_id != 0 {
        r.push_str(&format!("%{scope_id}"));
    }
    r
}

impl CNetAddr {
    /// Build from raw parts; `bytes.len()` must be the size that `net` requires.
    fn from_parts(net: Network, bytes: &[u8]) -> Self {
        let mut a = CNetAddr {
            m_addr: [0; ADDR_STORAGE_SIZE],
            m_len: bytes.len() as u8,
            m_net: net,
            m_scope_id: 0,
        };
        a.m_addr[..bytes.len()].copy_from_slice(bytes);
        a
    }

    /// Replace network and address bytes (scope id is left as is, like Core's `m_addr.assign`).
    fn assign(&mut self, net: Network, bytes: &[u8]) {
        self.m_net = net;
        self.m_addr = [0; ADDR_STORAGE_SIZE];
        self.m_addr[..bytes.len()].copy_from_slice(bytes);
        self.m_len = bytes.len() as u8;
    }

    /// AND each address byte with the same-index byte of `mask` (CSubNet's
    /// in-place normalisation of its base address; network and scope unchanged).
    pub(crate) fn apply_mask(&mut self, mask: &[u8; 16]) {
        let len = usize::from(self.m_len).min(mask.len());
        for (b, m) in self.m_addr[..len].iter_mut().zip(mask) {
            *b &= m;
        }
    }

    /// Relabel an IPv6 address as CJDNS (the `m_net` change of Core's
    /// MaybeFlipIPv6toCJDNS, netbase.cpp). No effect on other networks.
    pub fn flip_ipv6_to_cjdns(&mut self) {
        if self.m_net == Network::IPv6 {
            self.m_net = Network::CJDNS;
        }
    }

    /// Port of CNetAddr::CNetAddr(const in_addr&) (netaddress.cpp).
    pub fn from_ipv4(ip: Ipv4Addr) -> Self {
        CNetAddr::from_parts(Network::IPv4, &ip.octets())
    }

    /// Port of CNetAddr::CNetAddr(const in6_addr&, uint32_t scope) (netaddress.cpp).
    ///
    /// Goes through [`CNetAddr::set_legacy_ipv6`], so `::ffff:1.2.3.4` becomes IPv4
    /// and the internal prefix becomes an internal address.
    pub fn from_ipv6(ip: Ipv6Addr, scope_id: u32) -> Self {
        let mut a = CNetAddr::default();
        a.set_legacy_ipv6(&ip.octets());
        a.m_scope_id = scope_id;
        a
    }

    /// An IPv4 or IPv6 address (IPv6 through [`CNetAddr::from_ipv6`] with scope 0).
    pub fn from_ip(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(v4) => CNetAddr::from_ipv4(v4),
            IpAddr::V6(v6) => CNetAddr::from_ipv6(v6, 0),
        }
    }

    /// Port of CNetAddr::SetIP (netaddress.cpp): take network and bytes of `ip`
    /// (the scope id of `self` is kept).
    pub fn set_ip(&mut self, ip: &CNetAddr) {
        self.m_net = ip.m_net;
        self.m_addr = ip.m_addr;
        self.m_len = ip.m_len;
    }

    /// Port of CNetAddr::SetLegacyIPv6 (netaddress.cpp).
    ///
    /// A legacy 16-byte address may hide another network: `::ffff:0:0/96` is
    /// IPv4, `fd87:d87e:eb43::/48` is a Tor v2 address (unsupported: becomes the
    /// invalid `::`), `fd6b:88c0:8724::/48` is internal; anything else is IPv6.
    pub fn set_legacy_ipv6(&mut self, ipv6: &[u8; 16]) {
        if has_prefix(ipv6, &IPV4_IN_IPV6_PREFIX) {
            self.assign(Network::IPv4, &ipv6[IPV4_IN_IPV6_PREFIX.len()..]);
        } else if has_prefix(ipv6, &TORV2_IN_IPV6_PREFIX) {
            self.assign(Network::IPv6, &[0u8; ADDR_IPV6_SIZE]);
        } else if has_prefix(ipv6, &INTERNAL_IN_IPV6_PREFIX) {
            self.assign(Network::Internal, &ipv6[INTERNAL_IN_IPV6_PREFIX.len()..]);
        } else {
            self.assign(Network::IPv6, ipv6);
        }
    }

    /// Port of CNetAddr::SetInternal (netaddress.cpp): an internal address made of
    /// the first 10 bytes of SHA256(name). Fails (unchanged) for an empty name.
    pub fn set_internal(&mut self, name: &str) -> bool {
        if name.is_empty() {
            return false;
        }
        let hash = Sha256::digest(name.as_bytes());
        self.assign(Network::Internal, &hash[..ADDR_INTERNAL_SIZE]);
        true
    }

    /// Port of CNetAddr::SetSpecial (netaddress.cpp): parse a `.onion` (v3) or
    /// `.b32.i2p` address. Strings containing NUL never parse.
    pub fn set_special(&mut self, addr: &str) -> bool {
        if addr.contains('\0') {
            return false;
        }
        self.set_tor(addr) || self.set_i2p(addr)
    }

    /// Port of CNetAddr::SetTor (netaddress.cpp).
    fn set_tor(&mut self, addr: &str) -> bool {
        const SUFFIX: &str = ".onion";
        if addr.len() <= SUFFIX.len() || !addr.ends_with(SUFFIX) {
            return false;
        }
        let Some(input) = decode_base32(&addr[..addr.len() - SUFFIX.len()]) else {
            return false;
        };
        if input.len() != torv3::TOTAL_LEN {
            return false;
        }
        let pubkey = &input[..ADDR_TORV3_SIZE];
        let checksum = &input[ADDR_TORV3_SIZE..ADDR_TORV3_SIZE + torv3::CHECKSUM_LEN];
        let version = input[ADDR_TORV3_SIZE + torv3::CHECKSUM_LEN];
        if version != torv3::VERSION {
            return false;
        }
        if checksum != torv3::checksum(pubkey) {
            return false;
        }
        self.assign(Network::Onion, pubkey);
        true
    }

    /// Port of CNetAddr::SetI2P (netaddress.cpp): 52 base32 characters followed
    /// by `.b32.i2p` (suffix case-insensitive).
    fn set_i2p(&mut self, addr: &str) -> bool {
        const B32_LEN: usize = 52;
        const SUFFIX: &str = ".b32.i2p";
        let bytes = addr.as_bytes();
        if bytes.len() != B32_LEN + SUFFIX.len()
            || !bytes[B32_LEN..].eq_ignore_ascii_case(SUFFIX.as_bytes())
        {
            return false;
        }
        // The prefix is ASCII-checked by the decoder; slicing is on a byte
        // boundary only if the suffix is ASCII, which the comparison above ensured.
        let Ok(b32) = std::str::from_utf8(&bytes[..B32_LEN]) else {
            return false;
        };
        let padded = format!("{b32}====");
        match decode_base32(&padded) {
            Some(decoded) if decoded.len() == ADDR_I2P_SIZE => {
                self.assign(Network::I2P, &decoded);
                true
            }
            _ => false,
        }
    }

    /// Parse a `.onion` / `.b32.i2p` address into a new `CNetAddr`.
    pub fn from_special(addr: &str) -> Option<Self> {
        let mut a = CNetAddr::default();
        a.set_special(addr).then_some(a)
    }

    /// An internal address for `name` (see [`CNetAddr::set_internal`]).
    pub fn from_internal(name: &str) -> Option<Self> {
        let mut a = CNetAddr::default();
        a.set_internal(name).then_some(a)
    }

    /// Raw `m_net` (never `Unroutable`); compare [`CNetAddr::get_network`].
    pub fn net(&self) -> Network {
        self.m_net
    }

    /// Raw `m_addr`: 4, 16, 32 or 10 bytes depending on the network.
    pub fn addr_bytes(&self) -> &[u8] {
        &self.m_addr[..usize::from(self.m_len)]
    }

    /// The IPv6 scope id (0 if none).
    pub fn scope_id(&self) -> u32 {
        self.m_scope_id
    }

    /// Set the IPv6 scope id.
    pub fn set_scope_id(&mut self, scope_id: u32) {
        self.m_scope_id = scope_id;
    }

    /// Port of CNetAddr::IsBindAny (netaddress.cpp): `0.0.0.0` or `::`.
    pub fn is_bind_any(&self) -> bool {
        if !self.is_ipv4() && !self.is_ipv6() {
            return false;
        }
        self.addr_bytes().iter().all(|&b| b == 0)
    }

    /// Port of CNetAddr::IsIPv4 (netaddress.h).
    pub fn is_ipv4(&self) -> bool {
        self.m_net == Network::IPv4
    }

    /// Port of CNetAddr::IsIPv6 (netaddress.h).
    pub fn is_ipv6(&self) -> bool {
        self.m_net == Network::IPv6
    }

    /// Port of CNetAddr::IsRFC1918 (netaddress.cpp): 10/8, 192.168/16, 172.16/12.
    pub fn is_rfc1918(&self) -> bool {
        let a = self.addr_bytes();
        self.is_ipv4()
            && (a[0] == 10
                || (a[0] == 192 && a[1] == 168)
                || (a[0] == 172 && (16..=31).contains(&a[1])))
    }

    /// Port of CNetAddr::IsRFC2544 (netaddress.cpp): 198.18.0.0/15.
    pub fn is_rfc2544(&self) -> bool {
        let a = self.addr_bytes();
        self.is_ipv4() && a[0] == 198 && (a[1] == 18 || a[1] == 19)
    }

    /// Port of CNetAddr::IsRFC3927 (netaddress.cpp): 169.254.0.0/16.
    pub fn is_rfc3927(&self) -> bool {
        self.is_ipv4() && has_prefix(self.addr_bytes(), &[169, 254])
    }

    /// Port of CNetAddr::IsRFC6598 (netaddress.cpp): 100.64.0.0/10.
    pub fn is_rfc6598(&self) -> bool {
        let a = self.addr_bytes();
        self.is_ipv4() && a[0] == 100 && (64..=127).contains(&a[1])
    }

    /// Port of CNetAddr::IsRFC5737 (netaddress.cpp): 192.0.2/24, 198.51.100/24, 203.0.113/24.
    pub fn is_rfc5737(&self) -> bool {
        let a = self.addr_bytes();
        self.is_ipv4()
            && (has_prefix(a, &[192, 0, 2])
                || has_prefix(a, &[198, 51, 100])
                || has_prefix(a, &[203, 0, 113]))
    }

    /// Port of CNetAddr::IsRFC3849 (netaddress.cpp): 2001:db8::/32.
    pub fn is_rfc3849(&self) -> bool {
        self.is_ipv6() && has_prefix(self.addr_bytes(), &[0x20, 0x01, 0x0D, 0xB8])
    }

    /// Port of CNetAddr::IsRFC3964 (netaddress.cpp): 6to4, 2002::/16.
    pub fn is_rfc3964(&self) -> bool {
        self.is_ipv6() && has_prefix(self.addr_bytes(), &[0x20, 0x02])
    }

    /// Port of CNetAddr::IsRFC6052 (netaddress.cpp): 64:ff9b::/96.
    pub fn is_rfc6052(&self) -> bool {
        self.is_ipv6()
            && has_prefix(
                self.addr_bytes(),
                &[0x00, 0x64, 0xFF, 0x9B, 0, 0, 0, 0, 0, 0, 0, 0],
            )
    }

    /// Port of CNetAddr::IsRFC4380 (netaddress.cpp): Teredo, 2001::/32.
    pub fn is_rfc4380(&self) -> bool {
        self.is_ipv6() && has_prefix(self.addr_bytes(), &[0x20, 0x01, 0x00, 0x00])
    }

    /// Port of CNetAddr::IsRFC4862 (netaddress.cpp): fe80::/64.
    pub fn is_rfc4862(&self) -> bool {
        self.is_ipv6() && has_prefix(self.addr_bytes(), &[0xFE, 0x80, 0, 0, 0, 0, 0, 0])
    }

    /// Port of CNetAddr::IsRFC4193 (netaddress.cpp): unique local, fc00::/7.
    pub fn is_rfc4193(&self) -> bool {
        self.is_ipv6() && (self.addr_bytes()[0] & 0xFE) == 0xFC
    }

    /// Port of CNetAddr::IsRFC6145 (netaddress.cpp): ::ffff:0:0:0/96.
    pub fn is_rfc6145(&self) -> bool {
        self.is_ipv6()
            && has_prefix(
                self.addr_bytes(),
                &[0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0, 0],
            )
    }

    /// Port of CNetAddr::IsRFC4843 (netaddress.cpp): ORCHID, 2001:10::/28.
    pub fn is_rfc4843(&self) -> bool {
        let a = self.addr_bytes();
        self.is_ipv6() && has_prefix(a, &[0x20, 0x01, 0x00]) && (a[3] & 0xF0) == 0x10
    }

    /// Port of CNetAddr::IsRFC7343 (netaddress.cpp): ORCHIDv2, 2001:20::/28.
    pub fn is_rfc7343(&self) -> bool {
        let a = self.addr_bytes();
        self.is_ipv6() && has_prefix(a, &[0x20, 0x01, 0x00]) && (a[3] & 0xF0) == 0x20
    }

    /// Port of CNetAddr::IsHeNet (netaddress.cpp): Hurricane Electric, 2001:470::/36.
    pub fn is_he_net(&self) -> bool {
        self.is_ipv6() && has_prefix(self.addr_bytes(), &[0x20, 0x01, 0x04, 0x70])
    }

    /// Port of CNetAddr::IsTor (netaddress.h).
    pub fn is_tor(&self) -> bool {
        self.m_net == Network::Onion
    }

    /// Port of CNetAddr::IsI2P (netaddress.h).
    pub fn is_i2p(&self) -> bool {
        self.m_net == Network::I2P
    }

    /// Port of CNetAddr::IsCJDNS (netaddress.h).
    pub fn is_cjdns(&self) -> bool {
        self.m_net == Network::CJDNS
    }

    /// Port of CNetAddr::HasCJDNSPrefix (netaddress.h): first byte is 0xFC.
    pub fn has_cjdns_prefix(&self) -> bool {
        self.addr_bytes()[0] == CJDNS_PREFIX
    }

    /// Port of CNetAddr::IsPrivacyNet (netaddress.h): Tor or I2P.
    pub fn is_privacy_net(&self) -> bool {
        self.is_tor() || self.is_i2p()
    }

    /// Port of CNetAddr::IsRelayable (netaddress.h): every network except internal.
    pub fn is_relayable(&self) -> bool {
        self.is_ipv4() || self.is_ipv6() || self.is_tor() || self.is_i2p() || self.is_cjdns()
    }

    /// Port of CNetAddr::IsLocal (netaddress.cpp): 127.0.0.0/8, 0.0.0.0/8 or ::1.
    pub fn is_local(&self) -> bool {
        let a = self.addr_bytes();
        if self.is_ipv4() && (a[0] == 127 || a[0] == 0) {
            return true;
        }
        const LOCAL6: [u8; 16] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
        self.is_ipv6() && a == LOCAL6
    }

    /// Port of CNetAddr::IsValid (netaddress.cpp): could refer to a real host.
    ///
    /// Invalid: `::`, a CJDNS address without the 0xFC prefix, 2001:db8::/32,
    /// internal addresses, `0.0.0.0` and `255.255.255.255`.
    pub fn is_valid(&self) -> bool {
        if self.is_ipv6() && self.addr_bytes().iter().all(|&b| b == 0) {
            return false;
        }
        if self.is_cjdns() && !self.has_cjdns_prefix() {
            return false;
        }
        if self.is_rfc3849() {
            return false;
        }
        if self.is_internal() {
            return false;
        }
        if self.is_ipv4() {
            let v = read_be32(self.addr_bytes());
            if v == 0 || v == u32::MAX {
                return false;
            }
        }
        true
    }

    /// Port of CNetAddr::IsRoutable (netaddress.cpp): valid and not in any
    /// private, reserved, local or internal range.
    pub fn is_routable(&self) -> bool {
        self.is_valid()
            && !(self.is_rfc1918()
                || self.is_rfc2544()
                || self.is_rfc3927()
                || self.is_rfc4862()
                || self.is_rfc6598()
                || self.is_rfc5737()
                || self.is_rfc4193()
                || self.is_rfc4843()
                || self.is_rfc7343()
                || self.is_local()
                || self.is_internal())
    }

    /// Port of CNetAddr::IsInternal (netaddress.cpp).
    pub fn is_internal(&self) -> bool {
        self.m_net == Network::Internal
    }

    /// Port of CNetAddr::IsAddrV1Compatible (netaddress.cpp): IPv4, IPv6 and internal.
    pub fn is_addr_v1_compatible(&self) -> bool {
        matches!(
            self.m_net,
            Network::IPv4 | Network::IPv6 | Network::Internal
        )
    }

    /// Port of CNetAddr::GetNetwork (netaddress.cpp): `Internal`, else
    /// `Unroutable` if not routable, else the raw network.
    pub fn get_network(&self) -> Network {
        if self.is_internal() {
            return Network::Internal;
        }
        if !self.is_routable() {
            return Network::Unroutable;
        }
        self.m_net
    }

    /// Port of CNetAddr::ToStringAddr (netaddress.cpp).
    pub fn to_string_addr(&self) -> String {
        let a = self.addr_bytes();
        match self.m_net {
            Network::IPv4 => ipv4_to_string(a),
            Network::IPv6 => ipv6_to_string(a, self.m_scope_id),
            Network::Onion => onion_to_string(a),
            Network::I2P => encode_base32(a, false) + ".b32.i2p",
            Network::CJDNS => ipv6_to_string(a, 0),
            Network::Internal => encode_base32(a, true) + ".internal",
            // m_net is never Unroutable; keep a harmless text rather than panic.
            Network::Unroutable => String::new(),
        }
    }

    /// Port of CNetAddr::GetInAddr (netaddress.cpp): the IPv4 address, if IPv4.
    pub fn get_in_addr(&self) -> Option<Ipv4Addr> {
        if !self.is_ipv4() {
            return None;
        }
        let a = self.addr_bytes();
        Some(Ipv4Addr::new(a[0], a[1], a[2], a[3]))
    }

    /// Port of CNetAddr::GetIn6Addr (netaddress.cpp): the 16 bytes, if IPv6 or CJDNS.
    pub fn get_in6_addr(&self) -> Option<Ipv6Addr> {
        if !self.is_ipv6() && !self.is_cjdns() {
            return None;
        }
        let mut b = [0u8; 16];
        b.copy_from_slice(self.addr_bytes());
        Some(Ipv6Addr::from(b))
    }

    /// A `std::net` address for sockets: IPv4, or IPv6 for IPv6 and CJDNS (as
    /// Core's GetSockAddr); `None` for Tor, I2P and internal addresses.
    pub fn to_ip(&self) -> Option<IpAddr> {
        if let Some(v4) = self.get_in_addr() {
            return Some(IpAddr::V4(v4));
        }
        self.get_in6_addr().map(IpAddr::V6)
    }

    /// Port of CNetAddr::HasLinkedIPv4 (netaddress.cpp): routable and IPv4,
    /// SIIT, NAT64 well-known prefix, 6to4 or Teredo.
    pub fn has_linked_ipv4(&self) -> bool {
        self.is_routable()
            && (self.is_ipv4()
                || self.is_rfc6145()
                || self.is_rfc6052()
                || self.is_rfc3964()
                || self.is_rfc4380())
    }

    /// Port of CNetAddr::GetLinkedIPv4 (netaddress.cpp): the embedded IPv4 address
    /// as a host-order u32 (Teredo's is stored bit-flipped). Returns 0 when there
    /// is none, where Core asserts (callers check [`CNetAddr::has_linked_ipv4`]).
    pub fn get_linked_ipv4(&self) -> u32 {
        let a = self.addr_bytes();
        if self.is_ipv4() {
            read_be32(a)
        } else if self.is_rfc6052() || self.is_rfc6145() {
            read_be32(&a[ADDR_IPV6_SIZE - ADDR_IPV4_SIZE..])
        } else if self.is_rfc3964() {
            read_be32(&a[2..6])
        } else if self.is_rfc4380() {
            !read_be32(&a[ADDR_IPV6_SIZE - ADDR_IPV4_SIZE..])
        } else {
            log::error!(
                "GetLinkedIPv4 called on {} which has no linked IPv4",
                self.to_string_addr()
            );
            0
        }
    }

    /// Port of CNetAddr::GetNetClass (netaddress.cpp): `Internal`, `Unroutable`,
    /// `IPv4` for anything with a linked IPv4, else the raw network.
    pub fn get_net_class(&self) -> Network {
        if self.is_internal() {
            return Network::Internal;
        }
        if !self.is_routable() {
            return Network::Unroutable;
        }
        if self.has_linked_ipv4() {
            return Network::IPv4;
        }
        self.m_net
    }

    /// Port of CNetAddr::SerializeV1Array (netaddress.cpp): the legacy 16 bytes.
    ///
    /// IPv6 as is, IPv4 behind `::ffff:0:0/96`, internal behind its prefix;
    /// Tor, I2P and CJDNS as 16 zero bytes.
    pub fn serialize_v1_array(&self) -> [u8; V1_SERIALIZATION_SIZE] {
        let mut arr = [0u8; V1_SERIALIZATION_SIZE];
        let a = self.addr_bytes();
        match self.m_net {
            Network::IPv6 => arr.copy_from_slice(a),
            Network::IPv4 => {
                arr[..IPV4_IN_IPV6_PREFIX.len()].copy_from_slice(&IPV4_IN_IPV6_PREFIX);
                arr[IPV4_IN_IPV6_PREFIX.len()..].copy_from_slice(a);
            }
            Network::Internal => {
                arr[..INTERNAL_IN_IPV6_PREFIX.len()].copy_from_slice(&INTERNAL_IN_IPV6_PREFIX);
                arr[INTERNAL_IN_IPV6_PREFIX.len()..].copy_from_slice(a);
            }
            Network::Onion | Network::I2P | Network::CJDNS | Network::Unroutable => {}
        }
        arr
    }

    /// Port of CNetAddr::UnserializeV1Array (netaddress.h): through
    /// [`CNetAddr::set_legacy_ipv6`]. The scope id is 0.
    pub fn from_v1_array(bytes: &[u8; V1_SERIALIZATION_SIZE]) -> Self {
        let mut a = CNetAddr::default();
        a.set_legacy_ipv6(bytes);
        a
    }

    /// Port of CNetAddr::GetBIP155Network (netaddress.cpp).
    ///
    /// Core asserts on internal addresses (which are sent as IPv6, see
    /// [`CNetAddr::to_bip155`]); here they report IPv6 (2) for the same reason.
    pub fn get_bip155_network(&self) -> u8 {
        match self.m_net {
            Network::IPv4 => Bip155Network::IPV4 as u8,
            Network::IPv6 | Network::Internal | Network::Unroutable => Bip155Network::IPV6 as u8,
            Network::Onion => Bip155Network::TORV3 as u8,
            Network::I2P => Bip155Network::I2P as u8,
            Network::CJDNS => Bip155Network::CJDNS as u8,
        }
    }

    /// Port of CNetAddr::SerializeV2Stream (netaddress.h), without the stream:
    /// the BIP155 network id and the address bytes. Internal addresses are
    /// written as IPv6 with their legacy 16-byte form, as Core does for addrman.
    pub fn to_bip155(&self) -> (u8, Vec<u8>) {
        if self.is_internal() {
            return (
                Bip155Network::IPV6 as u8,
                self.serialize_v1_array().to_vec(),
            );
        }
        (self.get_bip155_network(), self.addr_bytes().to_vec())
    }

    /// Port of CNetAddr::UnserializeV2Stream (netaddress.h), without the stream.
    ///
    /// `Err` where Core throws (address over 512 bytes, or a known id 1..6 with
    /// the wrong length). `Ok(None)` for an unknown id (Tor v2 included), which
    /// Core skips and turns into the invalid default address. `Ok(Some(a))`
    /// otherwise; an IPv6 payload with the internal prefix becomes an internal
    /// address, one with the IPv4-mapped or Tor v2 prefix becomes the invalid
    /// default address `::` (as Core). The scope id is 0.
    pub fn from_bip155(network_id: u8, addr: &[u8]) -> Result<Option<Self>, Bip155Error> {
        let Some(net) = check_bip155_network(network_id, addr.len())? else {
            return Ok(None);
        };
        let mut a = CNetAddr::from_parts(net, addr);
        if net != Network::IPv6 {
            return Ok(Some(a));
        }
        if has_prefix(addr, &INTERNAL_IN_IPV6_PREFIX) {
            a.assign(Network::Internal, &addr[INTERNAL_IN_IPV6_PREFIX.len()..]);
            return Ok(Some(a));
        }
        if has_prefix(addr, &IPV4_IN_IPV6_PREFIX) || has_prefix(addr, &TORV2_IN_IPV6_PREFIX) {
            return Ok(Some(CNetAddr::default()));
        }
        Ok(Some(a))
    }

    /// Port of CNetAddr::GetAddrBytes (netaddress.cpp): the legacy 16 bytes for
    /// addr-v1-compatible networks, the raw bytes otherwise.
    pub fn get_addr_bytes(&self) -> Vec<u8> {
        if self.is_addr_v1_compatible() {
            return self.serialize_v1_array().to_vec();
        }
        self.addr_bytes().to_vec()
    }

    /// Port of CNetAddr::GetHash (netaddress.cpp, Core before v22; since removed):
    /// the first 8 bytes of SHA256d(m_addr), read little-endian.
    pub fn get_hash(&self) -> u64 {
        let h = Sha256::digest(Sha256::digest(self.addr_bytes()));
        let mut b = [0u8; 8];
        b.copy_from_slice(&h[..8]);
        u64::from_le_bytes(b)
    }

    /// Port of CNetAddr::GetMappedAS (netaddress.cpp, now NetGroupManager::GetMappedAS).
    pub fn get_mapped_as(&self, netgroupman: &crate::netgroup::NetGroupManager) -> u32 {
        netgroupman.get_mapped_as(self)
    }

    /// Port of GetExtNetwork (netaddress.cpp): the network, with Teredo apart.
    fn get_ext_network(&self) -> ExtNetwork {
        if self.is_rfc4380() {
            return ExtNetwork::Teredo;
        }
        ExtNetwork::Net(self.get_network())
    }

    /// Port of CNetAddr::GetReachabilityFrom (netaddress.cpp): how well a peer on
    /// `partner`'s network can reach us at `self`, 0 (unreachable) ..= 6 (private).
    pub fn get_reachability_from(&self, partner: &CNetAddr) -> i32 {
        const REACH_UNREACHABLE: i32 = 0;
        const REACH_DEFAULT: i32 = 1;
        const REACH_TEREDO: i32 = 2;
        const REACH_IPV6_WEAK: i32 = 3;
        const REACH_IPV4: i32 = 4;
        const REACH_IPV6_STRONG: i32 = 5;
        const REACH_PRIVATE: i32 = 6;

        if !self.is_routable() || self.is_internal() {
            return REACH_UNREACHABLE;
        }
        use ExtNetwork::{Net, Teredo};
        let ours = self.get_ext_network();
        let theirs = partner.get_ext_network();
        let tunnel = self.is_rfc3964() || self.is_rfc6052() || self.is_rfc6145();

        match theirs {
            Net(Network::IPv4) => match ours {
                Net(Network::IPv4) => REACH_IPV4,
                _ => REACH_DEFAULT,
            },
            Net(Network::IPv6) => match ours {
                Teredo => REACH_TEREDO,
                Net(Network::IPv4) => REACH_IPV4,
                Net(Network::IPv6) if tunnel => REACH_IPV6_WEAK,
                Net(Network::IPv6) => REACH_IPV6_STRONG,
                _ => REACH_DEFAULT,
            },
            Net(Network::Onion) => match ours {
                Net(Network::IPv4) => REACH_IPV4,
                Net(Network::Onion) => REACH_PRIVATE,
                _ => REACH_DEFAULT,
            },
            Net(Network::I2P) => match ours {
                Net(Network::I2P) => REACH_PRIVATE,
                _ => REACH_DEFAULT,
            },
            Net(Network::CJDNS) => match ours {
                Net(Network::CJDNS) => REACH_PRIVATE,
                _ => REACH_DEFAULT,
            },
            Teredo => match ours {
                Teredo => REACH_TEREDO,
                Net(Network::IPv6) => REACH_IPV6_WEAK,
                Net(Network::IPv4) => REACH_IPV4,
                _ => REACH_DEFAULT,
            },
            Net(Network::Unroutable) | Net(Network::Internal) => match ours {
                Teredo => REACH_TEREDO,
                Net(Network::IPv6) => REACH_IPV6_WEAK,
                Net(Network::IPv4) => REACH_IPV4,
                Net(Network::Onion) => REACH_PRIVATE,
                _ => REACH_DEFAULT,
            },
        }
    }
}

/// Core's `GetExtNetwork` result: a [`Network`] or the private `NET_TEREDO`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ExtNetwork {
    Net(Network),
    Teredo,
}

/// A network address with a TCP port (Core's `CService`).
///
/// Ordering and equality: address first (Core's `CNetAddr` order), then port.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, Default)]
pub struct CService {
    /// The address (Core's `CNetAddr` base class).
    pub addr: CNetAddr,
    /// The port, host order.
    pub port: u16,
}

impl Deref for CService {
    type Target = CNetAddr;
    fn deref(&self) -> &CNetAddr {
        &self.addr
    }
}

impl DerefMut for CService {
    fn deref_mut(&mut self) -> &mut CNetAddr {
        &mut self.addr
    }
}

impl fmt::Display for CService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_string_addr_port())
    }
}

impl From<SocketAddr> for CService {
    fn from(sa: SocketAddr) -> Self {
        CService::from_socket_addr(&sa)
    }
}

impl CService {
    /// Port of CService::CService(const CNetAddr&, uint16_t) (netaddress.cpp).
    pub fn new(addr: CNetAddr, port: u16) -> Self {
        CService { addr, port }
    }

    /// Port of CService::GetPort (netaddress.cpp).
    pub fn get_port(&self) -> u16 {
        self.port
    }

    /// Port of CService::SetSockAddr / CService(const sockaddr_in6&) (netaddress.cpp):
    /// an IPv4 or IPv6 socket address (IPv6 through SetLegacyIPv6, keeping its scope id).
    pub fn from_socket_addr(sa: &SocketAddr) -> Self {
        match sa {
            SocketAddr::V4(v4) => CService::new(CNetAddr::from_ipv4(*v4.ip()), v4.port()),
            SocketAddr::V6(v6) => {
                CService::new(CNetAddr::from_ipv6(*v6.ip(), v6.scope_id()), v6.port())
            }
        }
    }

    /// Port of CService::GetSockAddr (netaddress.cpp): IPv4 or IPv6 (also for
    /// CJDNS, with the scope id); `None` for Tor, I2P and internal addresses.
    pub fn to_socket_addr(&self) -> Option<SocketAddr> {
        if let Some(v4) = self.addr.get_in_addr() {
            return Some(SocketAddr::V4(SocketAddrV4::new(v4, self.port)));
        }
        self.addr
            .get_in6_addr()
            .map(|v6| SocketAddr::V6(SocketAddrV6::new(v6, self.port, 0, self.addr.m_scope_id)))
    }

    /// Port of CService::GetKey (netaddress.cpp): GetAddrBytes followed by the
    /// port, most significant byte first. Used by addrman bucket hashing.
    pub fn get_key(&self) -> Vec<u8> {
        let mut key = self.addr.get_addr_bytes();
        key.extend_from_slice(&self.port.to_be_bytes());
        key
    }

    /// Port of CService::ToStringAddrPort (netaddress.cpp): `1.2.3.4:8333`,
    /// `x.onion:8333`, `[::1]:8333` (IPv6 and CJDNS bracketed).
    pub fn to_string_addr_port(&self) -> String {
        let a = &self.addr;
        if a.is_ipv4() || a.is_tor() || a.is_i2p() || a.is_internal() {
            format!("{}:{}", a.to_string_addr(), self.port)
        } else {
            format!("[{}]:{}", a.to_string_addr(), self.port)
        }
    }
}

/// A text that is not a numeric address, `.onion`/`.b32.i2p` name, service or
/// subnet (the `FromStr` error; holds the rejected text).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct AddrParseError(pub String);

impl fmt::Display for AddrParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid network address: {:?}", self.0)
    }
}

impl std::error::Error for AddrParseError {}

impl std::str::FromStr for CNetAddr {
    type Err = AddrParseError;

    /// Parse without DNS, as Core's `LookupHost(s, /*fAllowLookup=*/false)`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        crate::netbase::lookup_host(s, false, &crate::netbase::no_dns)
            .ok_or_else(|| AddrParseError(s.to_string()))
    }
}

impl std::str::FromStr for CService {
    type Err = AddrParseError;

    /// Parse `host[:port]` without DNS, as Core's `Lookup(s, 0, /*fAllowLookup=*/false)`
    /// (port 0 when none is given).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        crate::netbase::lookup(s, 0, false, &crate::netbase::no_dns)
            .ok_or_else(|| AddrParseError(s.to_string()))
    }
}
