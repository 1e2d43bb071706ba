//! Network groups: a port of Bitcoin Core's `NetGroupManager` (netgroup.{h,cpp})
//! without asmap support. With no asmap loaded Core buckets by /16 (IPv4),
//! /32 (IPv6), /36 (he.net), and 4 bits of Tor/I2P/CJDNS keys, which is what
//! this does.

use crate::netaddress::{CNetAddr, Network, ADDR_INTERNAL_SIZE, INTERNAL_IN_IPV6_PREFIX};

/// Port of Core's `NetGroupManager` with an empty asmap.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NetGroupManager {
    /// Private so that an asmap can be added later without breaking callers.
    _no_asmap: (),
}

impl NetGroupManager {
    /// Port of NetGroupManager::NetGroupManager (netgroup.h) with an empty asmap.
    pub fn new() -> Self {
        NetGroupManager { _no_asmap: () }
    }

    /// Port of NetGroupManager::GetAsmapChecksum (netgroup.cpp): with no asmap
    /// Core returns `uint256()`, 32 zero bytes (written as such into peers.dat).
    pub fn get_asmap_checksum(&self) -> [u8; 32] {
        [0u8; 32]
    }

    /// Port of NetGroupManager::UsingASMap (netgroup.cpp).
    pub fn using_asmap(&self) -> bool {
        false
    }

    /// Port of NetGroupManager::GetMappedAS (netgroup.cpp): 0 (not found) since
    /// no asmap is loaded; 0 is reserved by RFC 7607 so it never names a real AS.
    pub fn get_mapped_as(&self, _address: &CNetAddr) -> u32 {
        0
    }

    /// Port of NetGroupManager::GetGroup (netgroup.cpp): the network group of
    /// `address`. Addresses in one group are cheap for one attacker to hold, so
    /// Core makes at most one outbound connection per group and addrman buckets
    /// by it.
    ///
    /// First byte: GetNetClass. Then nothing for local and other unroutable
    /// addresses; the 10 hash bytes for internal; the /16 of the (linked) IPv4;
    /// the first 4 bits of Tor/I2P keys and 12 bits of CJDNS; /36 for he.net;
    /// /32 for other IPv6. A partial last byte has its low bits set to 1.
    pub fn get_group(&self, address: &CNetAddr) -> Vec<u8> {
        let mut vch_ret = Vec::with_capacity(12);
        let asn = self.get_mapped_as(address);
        if asn != 0 {
            vch_ret.push(Network::IPv6 as u8);
            vch_ret.extend_from_slice(&asn.to_le_bytes());
            return vch_ret;
        }

        vch_ret.push(address.get_net_class() as u8);
        let mut n_start_byte: usize = 0;
        let mut n_bits: usize = 0;

        if address.is_local() {
            // one group for all local addresses
        } else if address.is_internal() {
            n_start_byte = INTERNAL_IN_IPV6_PREFIX.len();
            n_bits = ADDR_INTERNAL_SIZE * 8;
        } else if !address.is_routable() {
            // one group for all other unroutable addresses
        } else if address.has_linked_ipv4() {
            let ipv4 = address.get_linked_ipv4();
            vch_ret.push((ipv4 >> 24) as u8);
            vch_ret.push((ipv4 >> 16) as u8);
            return vch_ret;
        } else if address.is_tor() || address.is_i2p() {
            n_bits = 4;
        } else if address.is_cjdns() {
            // The first CJDNS byte is the constant 0xFC; take 4 random bits after it.
            n_bits = 12;
        } else if address.is_he_net() {
            n_bits = 36;
        } else {
            n_bits = 32;
        }

        let addr_bytes = address.get_addr_bytes();
        let num_bytes = n_bits / 8;
        vch_ret.extend_from_slice(&addr_bytes[n_start_byte..n_start_byte + num_bytes]);
        let rem = n_bits % 8;
        if rem > 0 {
            let b = addr_bytes[n_start_byte + num_bytes];
            vch_ret.push(b | ((1u8 << (8 - rem)) - 1));
        }
        vch_ret
    }
}
