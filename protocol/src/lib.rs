//! Wire protocol of the logos-p2p overlay: a port of Bitcoin Core's `protocol.{h,cpp}`, the P2P part
//! of `serialize.h`, the address (de)serialization of `netaddress.h` (BIP155) and the P2P part of
//! `kernel/chainparams.cpp` (message start, ports, DNS seeds, fixed seeds).
//!
//! Layout (one file per concern, as the contract asks):
//! - [`encode`]: the one `Encodable` / `Decodable` trait pair, CompactSize, DoS bounds.
//! - [`hash`]: the network hash ([`HashKind`]: SHA256d on Bitcoin networks, Blake2b-256 on Logos
//!   networks) behind the [`NetHasher`] trait.
//! - [`header`]: the 24-byte message header and Core's message type checks.
//! - [`address`]: service flags, `CAddress`, CNetAddr/CService V1 and V2 (BIP155) encodings.
//! - [`message_network`]: `version` and the small handshake messages.
//! - [`message`]: the [`NetworkMessage`] enum, command names, framing ([`RawNetworkMessage`]).
//! - [`params`]: per-network parameters ([`Chain`], [`NetworkParams`]).
//! - [`version`]: protocol version constants.

pub mod address;
pub mod encode;
#[doc(hidden)]
pub mod fuzz;
pub mod hash;
pub mod header;
pub mod message;
pub mod message_network;
pub mod params;
pub mod relay;
pub mod version;

pub use address::{
    decode_netaddr, decode_service, encode_netaddr, encode_service, service_flags_to_str,
    AddrEncoding, AddrFormat, AddrSerParams, CAddress, ServiceFlags,
};
pub use encode::{deserialize, serialize, CompactSize, Decodable, Encodable, Error};
pub use hash::{cheap_hash, AnyHasher, HashKind, NetHasher};
pub use header::MessageHeader;
pub use message::{NetworkMessage, RawNetworkMessage};
pub use message_network::VersionMessage;
pub use params::{Chain, NetworkParams};
