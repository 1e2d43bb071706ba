//! Message types (Core's `NetMsgType`, protocol.h), the [`NetworkMessage`] enum with one decode
//! `match`, and framing of whole messages ([`RawNetworkMessage`]: header + payload).
//!
//! Only the overlay's messages are parsed. Transaction and block messages are recognised by name
//! and kept as [`NetworkMessage::Ignored`], so the node can tell "known but not handled here" from
//! Core's "Unknown command". The `logos` message carries the upper layer's bytes unmodified.

use std::io::Write;

use crate::address::{decode_addr_vec, encode_addr_vec, AddrSerParams, CAddress};
use crate::encode::{deserialize_partial, serialize, Decodable, Encodable, Error};
use crate::hash::HashKind;
use crate::header::{MessageHeader, COMMAND_SIZE, HEADER_SIZE};
use crate::message_network::VersionMessage;
use crate::params::NetworkParams;

/// Message type names (Core's `namespace NetMsgType`), plus `logos`.
pub mod net_msg_type {
    /// Handshake: the sender's version and services.
    pub const VERSION: &str = "version";
    /// Handshake: acknowledges `version`.
    pub const VERACK: &str = "verack";
    /// Relayed addresses, pre-BIP155 encoding.
    pub const ADDR: &str = "addr";
    /// Relayed addresses, BIP155 encoding.
    pub const ADDRV2: &str = "addrv2";
    /// BIP155: the sender wants `addrv2` rather than `addr`.
    pub const SENDADDRV2: &str = "sendaddrv2";
    /// Inventory announcement (recognised only).
    pub const INV: &str = "inv";
    /// Data request (recognised only).
    pub const GETDATA: &str = "getdata";
    /// BIP37 filtered block (recognised only).
    pub const MERKLEBLOCK: &str = "merkleblock";
    /// Block hash request (recognised only).
    pub const GETBLOCKS: &str = "getblocks";
    /// Header request (recognised only).
    pub const GETHEADERS: &str = "getheaders";
    /// Transaction (recognised only).
    pub const TX: &str = "tx";
    /// Block headers (recognised only).
    pub const HEADERS: &str = "headers";
    /// Block (recognised only).
    pub const BLOCK: &str = "block";
    /// Asks for an `addr` / `addrv2` answer.
    pub const GETADDR: &str = "getaddr";
    /// BIP35 mempool request (recognised only).
    pub const MEMPOOL: &str = "mempool";
    /// Liveness probe with a nonce.
    pub const PING: &str = "ping";
    /// Answer to `ping` (BIP31).
    pub const PONG: &str = "pong";
    /// Answer to `getdata` for missing data (recognised only).
    pub const NOTFOUND: &str = "notfound";
    /// BIP37 filter (recognised only).
    pub const FILTERLOAD: &str = "filterload";
    /// BIP37 filter (recognised only).
    pub const FILTERADD: &str = "filteradd";
    /// BIP37 filter (recognised only).
    pub const FILTERCLEAR: &str = "filterclear";
    /// BIP130 (recognised only).
    pub const SENDHEADERS: &str = "sendheaders";
    /// BIP133 (recognised only).
    pub const FEEFILTER: &str = "feefilter";
    /// BIP152 (recognised only).
    pub const SENDCMPCT: &str = "sendcmpct";
    /// BIP152 (recognised only).
    pub const CMPCTBLOCK: &str = "cmpctblock";
    /// BIP152 (recognised only).
    pub const GETBLOCKTXN: &str = "getblocktxn";
    /// BIP152 (recognised only).
    pub const BLOCKTXN: &str = "blocktxn";
    /// BIP157 (recognised only).
    pub const GETCFILTERS: &str = "getcfilters";
    /// BIP157 (recognised only).
    pub const CFILTER: &str = "cfilter";
    /// BIP157 (recognised only).
    pub const GETCFHEADERS: &str = "getcfheaders";
    /// BIP157 (recognised only).
    pub const CFHEADERS: &str = "cfheaders";
    /// BIP157 (recognised only).
    pub const GETCFCHECKPT: &str = "getcfcheckpt";
    /// BIP157 (recognised only).
    pub const CFCHECKPT: &str = "cfcheckpt";
    /// BIP339 (recognised only).
    pub const WTXIDRELAY: &str = "wtxidrelay";
    /// BIP330 (recognised only).
    pub const SENDTXRCNCL: &str = "sendtxrcncl";
    /// Upper-layer (Logos) message: payload passed through unmodified.
    pub const LOGOS: &str = "logos";
    /// Stage 2 relay (`relay.rs`): "announce to me", with the relay version and a salt.
    pub const SENDANNOUNCE: &str = "sendannounce";
    /// Stage 2 relay: short ids and sizes of payloads the sender has.
    pub const ANNOUNCE: &str = "announce";
    /// Stage 2 relay: payloads requested by short id.
    pub const GETLOGOS: &str = "getlogos";
    /// Stage 2 relay: payloads requested by full id.
    pub const GETLOGOSID: &str = "getlogosid";
    /// Stage 2 relay: requested payloads the sender does not have.
    pub const LOGNOTFOUND: &str = "lognotfound";
    /// Stage 2 relay: "push me small payloads instead of announcing them" (on) or not (off).
    pub const SENDPUSH: &str = "sendpush";
}

/// The Stage 2 relay's message types (Logos networks only; not Core's).
pub const RELAY_MESSAGE_TYPES: [&str; 6] = [
    t::SENDANNOUNCE,
    t::ANNOUNCE,
    t::GETLOGOS,
    t::GETLOGOSID,
    t::LOGNOTFOUND,
    t::SENDPUSH,
];

use net_msg_type as t;

/// Every message type Core knows, in Core's order (`ALL_NET_MESSAGE_TYPES`, protocol.h).
pub const ALL_NET_MESSAGE_TYPES: [&str; 35] = [
    t::VERSION,
    t::VERACK,
    t::ADDR,
    t::ADDRV2,
    t::SENDADDRV2,
    t::INV,
    t::GETDATA,
    t::MERKLEBLOCK,
    t::GETBLOCKS,
    t::GETHEADERS,
    t::TX,
    t::HEADERS,
    t::BLOCK,
    t::GETADDR,
    t::MEMPOOL,
    t::PING,
    t::PONG,
    t::NOTFOUND,
    t::FILTERLOAD,
    t::FILTERADD,
    t::FILTERCLEAR,
    t::SENDHEADERS,
    t::FEEFILTER,
    t::SENDCMPCT,
    t::CMPCTBLOCK,
    t::GETBLOCKTXN,
    t::BLOCKTXN,
    t::GETCFILTERS,
    t::CFILTER,
    t::GETCFHEADERS,
    t::CFHEADERS,
    t::GETCFCHECKPT,
    t::CFCHECKPT,
    t::WTXIDRELAY,
    t::SENDTXRCNCL,
];

/// Transaction and block message types: recognised by name, never parsed
/// ([`NetworkMessage::Ignored`]).
pub const IGNORED_MESSAGE_TYPES: [&str; 27] = [
    t::WTXIDRELAY,
    t::SENDCMPCT,
    t::FEEFILTER,
    t::INV,
    t::GETDATA,
    t::HEADERS,
    t::GETHEADERS,
    t::TX,
    t::BLOCK,
    t::NOTFOUND,
    t::MEMPOOL,
    t::MERKLEBLOCK,
    t::CMPCTBLOCK,
    t::GETBLOCKTXN,
    t::BLOCKTXN,
    t::FILTERLOAD,
    t::FILTERADD,
    t::FILTERCLEAR,
    t::GETCFILTERS,
    t::CFILTER,
    t::GETCFHEADERS,
    t::CFHEADERS,
    t::GETCFCHECKPT,
    t::CFCHECKPT,
    t::GETBLOCKS,
    t::SENDHEADERS,
    t::SENDTXRCNCL,
];

/// The static name of a message type this crate knows (`logos` or one of Core's
/// [`ALL_NET_MESSAGE_TYPES`]), if `name` (the type's bytes before the first NUL) is one.
pub fn known_message_type(name: &[u8]) -> Option<&'static str> {
    if name == t::LOGOS.as_bytes() {
        return Some(t::LOGOS);
    }
    ALL_NET_MESSAGE_TYPES
        .iter()
        .chain(RELAY_MESSAGE_TYPES.iter())
        .copied()
        .find(|c| c.as_bytes() == name)
}

/// True for the transaction / block message types this crate recognises but does not parse.
pub fn is_ignored_message_type(command: &str) -> bool {
    IGNORED_MESSAGE_TYPES.contains(&command)
}

/// A decoded P2P message payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NetworkMessage {
    /// `version`.
    Version(VersionMessage),
    /// `verack`.
    Verack,
    /// `ping` with its nonce.
    Ping(u64),
    /// `pong` with the nonce of the `ping` it answers.
    Pong(u64),
    /// `getaddr`.
    GetAddr,
    /// `addr`: addresses in V1 encoding. Decoding bounds allocation; the `MAX_ADDR_TO_SEND`
    /// limit (1000) is net_processing's, not the decoder's.
    Addr(Vec<CAddress>),
    /// `addrv2`: addresses in BIP155 encoding.
    AddrV2(Vec<CAddress>),
    /// `sendaddrv2`.
    SendAddrV2,
    /// `logos`: the upper layer's bytes, unmodified.
    Logos(Vec<u8>),
    /// `sendannounce` (Stage 2 relay).
    SendAnnounce(crate::relay::SendAnnounce),
    /// `announce` (Stage 2 relay).
    Announce(Vec<crate::relay::AnnounceEntry>),
    /// `getlogos` (Stage 2 relay).
    GetLogos(Vec<u64>),
    /// `getlogosid` (Stage 2 relay).
    GetLogosById(Vec<[u8; 32]>),
    /// `lognotfound` (Stage 2 relay).
    LogNotFound(Vec<u64>),
    /// `sendpush` (Stage 2 relay): whether the sender wants small payloads pushed.
    SendPush(bool),
    /// A transaction / block message type, recognised by name; payload not parsed.
    Ignored {
        /// Message type.
        command: String,
        /// Raw payload.
        payload: Vec<u8>,
    },
    /// A message type nobody knows (Core logs "Unknown command").
    Unknown {
        /// Message type.
        command: String,
        /// Raw payload.
        payload: Vec<u8>,
    },
}

impl NetworkMessage {
    /// The message type this message is sent with.
    pub fn command(&self) -> &str {
        match self {
            NetworkMessage::Version(_) => t::VERSION,
            NetworkMessage::Verack => t::VERACK,
            NetworkMessage::Ping(_) => t::PING,
            NetworkMessage::Pong(_) => t::PONG,
            NetworkMessage::GetAddr => t::GETADDR,
            NetworkMessage::Addr(_) => t::ADDR,
            NetworkMessage::AddrV2(_) => t::ADDRV2,
            NetworkMessage::SendAddrV2 => t::SENDADDRV2,
            NetworkMessage::Logos(_) => t::LOGOS,
            NetworkMessage::SendAnnounce(_) => t::SENDANNOUNCE,
            NetworkMessage::Announce(_) => t::ANNOUNCE,
            NetworkMessage::GetLogos(_) => t::GETLOGOS,
            NetworkMessage::GetLogosById(_) => t::GETLOGOSID,
            NetworkMessage::LogNotFound(_) => t::LOGNOTFOUND,
            NetworkMessage::SendPush(_) => t::SENDPUSH,
            NetworkMessage::Ignored { command, .. } | NetworkMessage::Unknown { command, .. } => {
                command
            }
        }
    }

    /// The message type as a `&'static str` when it is one this crate knows (every message
    /// the node sends is); `None` for a hand-built unknown type.
    pub fn static_command(&self) -> Option<&'static str> {
        match self {
            NetworkMessage::Ignored { command, .. } | NetworkMessage::Unknown { command, .. } => {
                known_message_type(command.as_bytes())
            }
            m => known_message_type(m.command().as_bytes()),
        }
    }

    /// The payload bytes.
    pub fn encode_payload(&self) -> Vec<u8> {
        let mut out = Vec::new();
        // Writing into a Vec cannot fail.
        let _ = self.write_payload(&mut out);
        out
    }

    fn write_payload<W: Write>(&self, w: &mut W) -> std::io::Result<usize> {
        match self {
            NetworkMessage::Version(v) => v.consensus_encode(w),
            NetworkMessage::Verack | NetworkMessage::GetAddr | NetworkMessage::SendAddrV2 => Ok(0),
            NetworkMessage::Ping(nonce) | NetworkMessage::Pong(nonce) => nonce.consensus_encode(w),
            NetworkMessage::Addr(addrs) => encode_addr_vec(addrs, w, AddrSerParams::V1_NETWORK),
            NetworkMessage::AddrV2(addrs) => encode_addr_vec(addrs, w, AddrSerParams::V2_NETWORK),
            NetworkMessage::SendAnnounce(m) => m.encode(w),
            NetworkMessage::Announce(e) => crate::relay::encode_announce(e, w),
            NetworkMessage::GetLogos(ids) | NetworkMessage::LogNotFound(ids) => {
                crate::relay::encode_short_ids(ids, w)
            }
            NetworkMessage::GetLogosById(ids) => crate::relay::encode_full_ids(ids, w),
            NetworkMessage::SendPush(on) => u8::from(*on).consensus_encode(w),
            NetworkMessage::Logos(bytes)
            | NetworkMessage::Ignored { payload: bytes, .. }
            | NetworkMessage::Unknown { payload: bytes, .. } => {
                w.write_all(bytes)?;
                Ok(bytes.len())
            }
        }
    }

    /// Port of the payload reads in PeerManagerImpl::ProcessMessage (net_processing.cpp): decodes
    /// the payload of a message of type `command`, reading the fields Core reads. As in Core, bytes after those
    /// fields are ignored and messages without fields (`verack`, `getaddr`, `sendaddrv2`) accept
    /// any payload. Errors are those Core's stream throws (the caller logs and drops the message).
    ///
    /// A `pong` shorter than 8 bytes is an error here; Core does not throw for it but logs
    /// "Short payload" — the caller knows the command and can do the same.
    pub fn decode_payload(command: &str, payload: &[u8]) -> Result<Self, Error> {
        match command {
            t::LOGOS => Ok(NetworkMessage::Logos(payload.to_vec())),
            c if !Self::parses(c) => Self::decode_payload_owned(c, payload.to_vec()),
            c => Self::decode_parsed(c, payload),
        }
    }

    /// [`Self::decode_payload`] taking the payload by value: a `logos`, transaction/block or
    /// unknown payload moves into the message without a copy (the receive path's form).
    pub fn decode_payload_owned(command: &str, payload: Vec<u8>) -> Result<Self, Error> {
        Ok(match command {
            t::LOGOS => NetworkMessage::Logos(payload),
            c if is_ignored_message_type(c) => NetworkMessage::Ignored {
                command: c.to_owned(),
                payload,
            },
            c if Self::parses(c) => return Self::decode_parsed(c, &payload),
            c => NetworkMessage::Unknown {
                command: c.to_owned(),
                payload,
            },
        })
    }

    /// Whether messages of type `command` have fields this crate decodes.
    fn parses(command: &str) -> bool {
        matches!(
            command,
            t::VERSION
                | t::VERACK
                | t::PING
                | t::PONG
                | t::GETADDR
                | t::ADDR
                | t::ADDRV2
                | t::SENDADDRV2
                | t::SENDANNOUNCE
                | t::ANNOUNCE
                | t::GETLOGOS
                | t::GETLOGOSID
                | t::LOGNOTFOUND
                | t::SENDPUSH
        )
    }

    /// The decoding of the types [`Self::parses`] names.
    fn decode_parsed(command: &str, payload: &[u8]) -> Result<Self, Error> {
        let mut r = payload;
        Ok(match command {
            t::VERSION => NetworkMessage::Version(VersionMessage::decode_payload(payload)?),
            t::VERACK => NetworkMessage::Verack,
            t::PING => NetworkMessage::Ping(u64::consensus_decode(&mut r)?),
            t::PONG => NetworkMessage::Pong(u64::consensus_decode(&mut r)?),
            t::GETADDR => NetworkMessage::GetAddr,
            t::ADDR => NetworkMessage::Addr(decode_addr_vec(&mut r, AddrSerParams::V1_NETWORK)?),
            t::ADDRV2 => {
                NetworkMessage::AddrV2(decode_addr_vec(&mut r, AddrSerParams::V2_NETWORK)?)
            }
            t::SENDADDRV2 => NetworkMessage::SendAddrV2,
            t::SENDANNOUNCE => {
                NetworkMessage::SendAnnounce(crate::relay::SendAnnounce::decode(&mut r)?)
            }
            t::ANNOUNCE => NetworkMessage::Announce(crate::relay::decode_announce(&mut r)?),
            t::GETLOGOS => NetworkMessage::GetLogos(crate::relay::decode_short_ids(&mut r)?),
            t::GETLOGOSID => NetworkMessage::GetLogosById(crate::relay::decode_full_ids(&mut r)?),
            t::LOGNOTFOUND => NetworkMessage::LogNotFound(crate::relay::decode_short_ids(&mut r)?),
            // Any non-zero byte is on, as Core reads sendcmpct's bool.
            t::SENDPUSH => NetworkMessage::SendPush(u8::consensus_decode(&mut r)? != 0),
            c => NetworkMessage::Unknown {
                command: c.to_owned(),
                payload: payload.to_vec(),
            },
        })
    }
}

/// A whole message: network magic + payload. On the wire: 24-byte header, then the payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawNetworkMessage {
    /// Message start of the network.
    pub magic: [u8; 4],
    /// The message.
    pub payload: NetworkMessage,
}

impl RawNetworkMessage {
    /// The message type.
    pub fn command(&self) -> &str {
        self.payload.command()
    }

    /// Port of the framing in V1Transport::SetMessageToSend (net.cpp): header and payload bytes,
    /// the checksum taken with the network hash `kind`.
    ///
    /// A hand-built `Unknown` / `Ignored` message type longer than 12 bytes cannot be framed;
    /// it is cut to 12 bytes (and a warning logged). Decoded messages never have one.
    pub fn encode(&self, kind: HashKind) -> Vec<u8> {
        let payload = self.payload.encode_payload();
        let mut command = self.command();
        if command.len() > COMMAND_SIZE {
            log::warn!("message type {command:?} longer than {COMMAND_SIZE} bytes, cut");
            let mut end = COMMAND_SIZE;
            while !command.is_char_boundary(end) {
                end -= 1;
            }
            command = &command[..end];
        }
        let mut out = Vec::with_capacity(HEADER_SIZE + payload.len());
        match MessageHeader::for_payload(self.magic, command, &payload, kind) {
            Ok(h) => {
                out.extend_from_slice(&serialize(&h));
            }
            Err(e) => {
                log::warn!("cannot frame message {command:?}: {e}");
                return out;
            }
        }
        out.extend_from_slice(&payload);
        out
    }

    /// Port of the receive checks of V1Transport (readHeader, readData, GetReceivedMessage;
    /// net.cpp) for one message at the front of `bytes`, returning it and the number of bytes
    /// used. Checks in Core's order: header complete,
    /// message start, size cap, payload complete, checksum, message type validity; then the
    /// payload is decoded.
    pub fn decode_prefix(bytes: &[u8], params: &NetworkParams) -> Result<(Self, usize), Error> {
        let (header, _) = deserialize_partial::<MessageHeader>(bytes)?;
        header.check_start_and_size(params.message_start, params.max_message_length)?;
        let len = header.length as usize;
        let Some(payload) = bytes.get(HEADER_SIZE..HEADER_SIZE + len) else {
            return Err(Error::Io(std::io::ErrorKind::UnexpectedEof));
        };
        header.check_payload_hash(&params.hash_kind.hash(payload))?;
        let command = header
            .command_str()
            .ok_or_else(|| Error::InvalidMessageType(header.get_message_type()))?;
        let msg = NetworkMessage::decode_payload(command, payload)?;
        Ok((
            RawNetworkMessage {
                magic: header.magic,
                payload: msg,
            },
            HEADER_SIZE + len,
        ))
    }

    /// Decodes exactly one message filling `bytes`; bytes after it are an error.
    pub fn decode(bytes: &[u8], params: &NetworkParams) -> Result<Self, Error> {
        let (msg, used) = Self::decode_prefix(bytes, params)?;
        if used != bytes.len() {
            return Err(Error::TrailingBytes(bytes.len() - used));
        }
        Ok(msg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::Chain;

    fn regtest() -> &'static NetworkParams {
        NetworkParams::get(Chain::Regtest)
    }

    #[test]
    fn lists_are_consistent() {
        for c in IGNORED_MESSAGE_TYPES {
            assert!(ALL_NET_MESSAGE_TYPES.contains(&c), "{c}");
        }
        let handled = [
            t::VERSION,
            t::VERACK,
            t::ADDR,
            t::ADDRV2,
            t::SENDADDRV2,
            t::GETADDR,
            t::PING,
            t::PONG,
        ];
        for c in ALL_NET_MESSAGE_TYPES {
            assert!(handled.contains(&c) != is_ignored_message_type(c), "{c}");
            assert!(c.len() <= COMMAND_SIZE);
        }
        assert!(!ALL_NET_MESSAGE_TYPES.contains(&t::LOGOS));
    }

    #[test]
    fn ignored_and_unknown() {
        let m = NetworkMessage::decode_payload("sendcmpct", &[0, 2, 0, 0, 0, 0, 0, 0, 0]).unwrap();
        assert!(matches!(m, NetworkMessage::Ignored { ref command, .. } if command == "sendcmpct"));
        let m = NetworkMessage::decode_payload("foobar", &[1]).unwrap();
        assert!(matches!(m, NetworkMessage::Unknown { ref command, .. } if command == "foobar"));
        assert_eq!(m.encode_payload(), vec![1]);
    }

    #[test]
    fn ping_without_nonce_is_end_of_data() {
        // bitcoind-regtest-disconnects: "ProcessMessages(ping, 0 bytes): Exception
        // 'DataStream::read(): end of data: iostream error'".
        let e = NetworkMessage::decode_payload("ping", &[]).unwrap_err();
        assert_eq!(
            e.core_what(),
            "DataStream::read(): end of data: iostream error"
        );
    }

    #[test]
    fn frame_roundtrip_and_errors() {
        let p = regtest();
        let msg = RawNetworkMessage {
            magic: p.message_start,
            payload: NetworkMessage::Ping(0x0102030405060708),
        };
        let bytes = msg.encode(p.hash_kind);
        assert_eq!(RawNetworkMessage::decode(&bytes, p).unwrap(), msg);

        // Short header.
        assert_eq!(
            RawNetworkMessage::decode(&bytes[..10], p),
            Err(Error::Io(std::io::ErrorKind::UnexpectedEof))
        );
        // Truncated payload.
        assert_eq!(
            RawNetworkMessage::decode(&bytes[..bytes.len() - 1], p),
            Err(Error::Io(std::io::ErrorKind::UnexpectedEof))
        );
        // Wrong magic.
        let main = NetworkParams::get(Chain::Main);
        assert!(matches!(
            RawNetworkMessage::decode(&bytes, main),
            Err(Error::WrongMagic { .. })
        ));
        // Bad checksum.
        let mut bad = bytes.clone();
        bad[20] ^= 1;
        assert!(matches!(
            RawNetworkMessage::decode(&bad, p),
            Err(Error::BadChecksum { .. })
        ));
        // Length over the cap: refused from the header alone.
        let mut big = bytes[..HEADER_SIZE].to_vec();
        big[16..20].copy_from_slice(&4_000_001u32.to_le_bytes());
        assert_eq!(
            RawNetworkMessage::decode(&big, p),
            Err(Error::OversizedMessage {
                command: "ping".into(),
                length: 4_000_001
            })
        );
        // Invalid message type (checked after the checksum).
        let mut inv = bytes.clone();
        inv[4 + 5] = b'x';
        assert!(matches!(
            RawNetworkMessage::decode(&inv, p),
            Err(Error::InvalidMessageType(_))
        ));
        // Trailing bytes after one message.
        let mut two = bytes.clone();
        two.push(0);
        assert_eq!(
            RawNetworkMessage::decode(&two, p),
            Err(Error::TrailingBytes(1))
        );
        assert_eq!(
            RawNetworkMessage::decode_prefix(&two, p).unwrap().1,
            bytes.len()
        );
    }

    #[test]
    fn logos_checksum_uses_network_hash() {
        let p = NetworkParams::get(Chain::LogosRegtest);
        let msg = RawNetworkMessage {
            magic: p.message_start,
            payload: NetworkMessage::Logos(b"hello".to_vec()),
        };
        let bytes = msg.encode(p.hash_kind);
        assert_eq!(&bytes[20..24], &HashKind::Blake2b256.checksum(b"hello"));
        assert_ne!(&bytes[20..24], &HashKind::Sha256d.checksum(b"hello"));
        assert_eq!(RawNetworkMessage::decode(&bytes, p).unwrap(), msg);
        // The same frame checked with SHA256d fails.
        let mut sha = bytes.clone();
        sha[20..24].copy_from_slice(&HashKind::Sha256d.checksum(b"hello"));
        assert!(matches!(
            RawNetworkMessage::decode(&sha, p),
            Err(Error::BadChecksum { .. })
        ));
    }

    #[test]
    fn addrv2_entry_with_wrong_length_is_typed_error() {
        // One entry: time, services 0, IPv4 (id 1) announcing 5 bytes.
        let payload = hex::decode(concat!(
            "01",
            "00000000",
            "00",
            "01",
            "05",
            "0102030405",
            "0000"
        ))
        .unwrap();
        let e = NetworkMessage::decode_payload("addrv2", &payload).unwrap_err();
        assert!(matches!(e, Error::Bip155(_)));
        assert_eq!(
            e.to_string(),
            "BIP155 IPv4 address with length 5 (should be 4)"
        );
    }

    #[test]
    fn addr_count_bounded_before_allocation() {
        // A count of MAX_SIZE with no entries: end of data, no huge allocation.
        let payload = hex::decode("fe00000002").unwrap();
        assert_eq!(
            NetworkMessage::decode_payload("addr", &payload),
            Err(Error::Io(std::io::ErrorKind::UnexpectedEof))
        );
        let payload = hex::decode("fe01000002").unwrap();
        assert_eq!(
            NetworkMessage::decode_payload("addrv2", &payload),
            Err(Error::OversizedCompactSize(0x0200_0001))
        );
        // Non-canonical count.
        let payload = hex::decode("fd0100").unwrap();
        assert_eq!(
            NetworkMessage::decode_payload("addr", &payload),
            Err(Error::NonCanonicalCompactSize)
        );
    }
}
