//! Subnets: a port of Bitcoin Core's `CSubNet` (netaddress.{h,cpp}), used by
//! the ban list and `-whitelist`.

use std::cmp::Ordering;
use std::fmt;

use crate::netaddress::{CNetAddr, Network, ADDR_IPV4_SIZE, ADDR_IPV6_SIZE};

/// A subnet: a base address and a netmask (Core's `CSubNet`).
///
/// IPv4/IPv6 subnets have a contiguous netmask; Tor, I2P and CJDNS "subnets"
/// hold exactly one address. An invalid subnet (parse error) matches nothing.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct CSubNet {
    /// Base address, already masked.
    network: CNetAddr,
    /// Netmask in network byte order (only the first 4 bytes used for IPv4).
    netmask: [u8; 16],
    /// False only to signal a parse error.
    valid: bool,
}

impl Default for CSubNet {
    /// Port of CSubNet::CSubNet() (netaddress.cpp): an invalid subnet.
    fn default() -> Self {
        CSubNet {
            network: CNetAddr::default(),
            netmask: [0; 16],
            valid: false,
        }
    }
}

/// Port of NetmaskBits (netaddress.cpp): number of leading 1-bits of a valid
/// netmask byte, or -1 if the byte has a 1-bit after a 0-bit.
fn netmask_bits(x: u8) -> i32 {
    if x.leading_ones() + x.trailing_zeros() == 8 {
        x.leading_ones() as i32
    } else {
        -1
    }
}

impl CSubNet {
    /// An invalid subnet (matches nothing).
    pub fn invalid() -> Self {
        CSubNet::default()
    }

    /// Port of CSubNet::CSubNet(const CNetAddr&, uint8_t mask) (netaddress.cpp).
    ///
    /// `addr` must be IPv4 with `mask <= 32` or IPv6 with `mask <= 128`;
    /// otherwise the subnet is invalid. The base address is masked.
    pub fn new(addr: CNetAddr, mask: u8) -> Self {
        let mut s = CSubNet {
            valid: (addr.is_ipv4() && usize::from(mask) <= ADDR_IPV4_SIZE * 8)
                || (addr.is_ipv6() && usize::from(mask) <= ADDR_IPV6_SIZE * 8),
            ..CSubNet::default()
        };
        if !s.valid {
            return s;
        }
        let len = addr.addr_bytes().len();
        let mut n = mask;
        for i in 0..len {
            let bits = n.min(8);
            s.netmask[i] = if bits == 0 { 0 } else { 0xFFu8 << (8 - bits) };
            n -= bits;
        }
        s.network = addr;
        s.network.apply_mask(&s.netmask);
        s
    }

    /// Port of CSubNet::CSubNet(const CNetAddr&, const CNetAddr& mask) (netaddress.cpp).
    ///
    /// `addr` must be IPv4 or IPv6, `mask` of the same network and contiguous
    /// (no 1-bit after a 0-bit); otherwise the subnet is invalid.
    pub fn with_netmask(addr: CNetAddr, mask: &CNetAddr) -> Self {
        let mut s = CSubNet {
            valid: (addr.is_ipv4() || addr.is_ipv6()) && addr.net() == mask.net(),
            ..CSubNet::default()
        };
        if !s.valid {
            return s;
        }
        let mut zeros_found = false;
        for &b in mask.addr_bytes() {
            let num_bits = netmask_bits(b);
            if num_bits == -1 || (zeros_found && num_bits != 0) {
                s.valid = false;
                return s;
            }
            if num_bits < 8 {
                zeros_found = true;
            }
        }
        let len = mask.addr_bytes().len();
        s.netmask[..len].copy_from_slice(mask.addr_bytes());
        s.network = addr;
        s.network.apply_mask(&s.netmask);
        s
    }

    /// Port of CSubNet::CSubNet(const CNetAddr&) (netaddress.cpp): a subnet
    /// holding exactly `addr` (invalid for internal addresses).
    pub fn from_addr(addr: CNetAddr) -> Self {
        let mut s = CSubNet::default();
        match addr.net() {
            Network::IPv4 | Network::IPv6 => {
                s.valid = true;
                let len = addr.addr_bytes().len();
                s.netmask[..len].fill(0xFF);
            }
            Network::Onion | Network::I2P | Network::CJDNS => s.valid = true,
            Network::Internal | Network::Unroutable => return s,
        }
        s.network = addr;
        s
    }

    /// Port of CSubNet::Match (netaddress.cpp): `addr` is valid, of the same
    /// network, and inside this (valid) subnet.
    pub fn matches(&self, addr: &CNetAddr) -> bool {
        if !self.valid || !addr.is_valid() || self.network.net() != addr.net() {
            return false;
        }
        match self.network.net() {
            Network::IPv4 | Network::IPv6 => {}
            Network::Onion | Network::I2P | Network::CJDNS | Network::Internal => {
                return *addr == self.network;
            }
            Network::Unroutable => return false,
        }
        let ours = self.network.addr_bytes();
        let theirs = addr.addr_bytes();
        if ours.len() != theirs.len() {
            return false;
        }
        theirs
            .iter()
            .zip(ours)
            .zip(&self.netmask)
            .all(|((&t, &o), &m)| t & m == o)
    }

    /// Port of CSubNet::IsValid (netaddress.cpp).
    pub fn is_valid(&self) -> bool {
        self.valid
    }

    /// Whether this subnet holds exactly one address (full-length netmask, or a
    /// Tor/I2P/CJDNS subnet).
    pub fn is_single_ip(&self) -> bool {
        if !self.valid {
            return false;
        }
        match self.network.net() {
            Network::IPv4 | Network::IPv6 => {
                let len = self.network.addr_bytes().len();
                self.netmask[..len].iter().all(|&b| b == 0xFF)
            }
            _ => true,
        }
    }

    /// The (masked) base address.
    pub fn network(&self) -> &CNetAddr {
        &self.network
    }

    /// The netmask bytes (16; only the first 4 are used for IPv4).
    pub fn netmask(&self) -> &[u8; 16] {
        &self.netmask
    }

    /// Port of CSubNet::ToString (netaddress.cpp): `1.2.3.0/24`, `2001:db8::/32`,
    /// or just the address for Tor/I2P/CJDNS.
    ///
    /// The prefix length is the sum of NetmaskBits of each mask byte up to the
    /// first zero byte, in a wrapping u8 as Core (a non-contiguous byte adds -1;
    /// the constructors never produce one).
    fn format_subnet(&self) -> String {
        let mut suffix = String::new();
        if matches!(self.network.net(), Network::IPv4 | Network::IPv6) {
            let len = self.network.addr_bytes().len();
            let mut cidr: u8 = 0;
            for &m in &self.netmask[..len] {
                if m == 0 {
                    break;
                }
                cidr = cidr.wrapping_add(netmask_bits(m) as u8);
            }
            suffix = format!("/{cidr}");
        }
        self.network.to_string_addr() + &suffix
    }
}

impl fmt::Display for CSubNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.format_subnet())
    }
}

impl Ord for CSubNet {
    /// Port of operator<(CSubNet, CSubNet) (netaddress.cpp): by network, then
    /// netmask bytes. Core ignores `valid`; it is used here only as a final
    /// tie-break so that `Ord` agrees with `Eq`.
    fn cmp(&self, other: &Self) -> Ordering {
        self.network
            .cmp(&other.network)
            .then_with(|| self.netmask.cmp(&other.netmask))
            .then(self.valid.cmp(&other.valid))
    }
}

impl PartialOrd for CSubNet {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl std::str::FromStr for CSubNet {
    type Err = crate::netaddress::AddrParseError;

    /// Parse with [`crate::netbase::lookup_subnet`]; an invalid subnet is an error.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let subnet = crate::netbase::lookup_subnet(s);
        if subnet.is_valid() {
            Ok(subnet)
        } else {
            Err(crate::netaddress::AddrParseError(s.to_string()))
        }
    }
}

#[cfg(test)]
#[allow(non_snake_case)]
mod tests {
    use super::*;

    /// CSubNet::ToString on a netmask no constructor accepts (1-bits after
    /// 0-bits): Core adds NetmaskBits = -1 into a uint8_t prefix length.
    #[test]
    fn to_string_non_contiguous_netmask_as_core() {
        let mut s = CSubNet::new("1.2.3.4".parse().unwrap(), 16);
        s.netmask[2] = 0xe8; // 255.255.232.0
        assert_eq!(s.to_string(), "1.2.0.0/15");
        s.netmask[2] = 0x00;
        s.netmask[3] = 0xff; // 255.255.0.255: stops at the first zero byte
        assert_eq!(s.to_string(), "1.2.0.0/16");
    }

    #[test]
    fn netmask_bits_table() {
        let valid = [0x00, 0x80, 0xc0, 0xe0, 0xf0, 0xf8, 0xfc, 0xfe, 0xff];
        for x in 0..=255u8 {
            match valid.iter().position(|&v| v == x) {
                Some(bits) => assert_eq!(netmask_bits(x), bits as i32),
                None => assert_eq!(netmask_bits(x), -1),
            }
        }
    }
}
