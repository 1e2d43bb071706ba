//! Network addresses for logos-p2p: a port of Bitcoin Core's `netaddress.{h,cpp}`
//! (`CNetAddr`, `CService`, `CSubNet`, BIP155 network ids), the numeric parsing
//! half of `netbase.{h,cpp}` (`LookupHost`, `Lookup`, `LookupNumeric`,
//! `LookupSubNet`, `SplitHostPort`) and `netgroup.{h,cpp}` (`NetGroupManager`
//! without an asmap).
//!
//! Pure logic only: no sockets, no clock, no global state. Name resolution is a
//! seam (a callback) so that a DNS client can be plugged in by the caller.

#![forbid(unsafe_code)]

pub mod base32;
pub mod netaddress;
pub mod netbase;
pub mod netgroup;
pub mod subnet;

pub use netaddress::{
    AddrParseError, Bip155Error, Bip155Network, CNetAddr, CService, Network, ADDR_CJDNS_SIZE,
    ADDR_I2P_SIZE, ADDR_INTERNAL_SIZE, ADDR_IPV4_SIZE, ADDR_IPV6_SIZE, ADDR_TORV3_SIZE,
    ALL_NETWORKS, CJDNS_PREFIX, I2P_SAM31_PORT, INTERNAL_IN_IPV6_PREFIX, IPV4_IN_IPV6_PREFIX,
    MAX_ADDRV2_SIZE, NET_MAX, TORV2_IN_IPV6_PREFIX, V1_SERIALIZATION_SIZE,
};
pub use netbase::{
    get_network_name, get_network_names, is_bad_port, lookup, lookup_host, lookup_host_multi,
    lookup_multi, lookup_numeric, lookup_subnet, lookup_subnet_with, maybe_flip_ipv6_to_cjdns,
    no_dns, parse_network, split_host_port, DnsLookupFn, ReachableNets,
};
pub use netgroup::NetGroupManager;
pub use subnet::CSubNet;
