//! The 24-byte message header (Core's `CMessageHeader`, protocol.h): message start (4),
//! message type (12, NUL padded), payload size (4, little-endian), checksum (4).

use std::borrow::Cow;
use std::io::{self, Read, Write};

use crate::encode::{read_array, Decodable, Encodable, Error, MAX_SIZE};
use crate::hash::HashKind;

/// Size of the message start ("magic") field.
pub const MESSAGE_START_SIZE: usize = 4;
/// Size of the message type field (CMessageHeader::MESSAGE_TYPE_SIZE).
pub const COMMAND_SIZE: usize = 12;
/// Size of the payload size field (CMessageHeader::MESSAGE_SIZE_SIZE).
pub const MESSAGE_SIZE_SIZE: usize = 4;
/// Size of the checksum field (CMessageHeader::CHECKSUM_SIZE).
pub const CHECKSUM_SIZE: usize = 4;
/// Offset of the payload size field (CMessageHeader::MESSAGE_SIZE_OFFSET).
pub const MESSAGE_SIZE_OFFSET: usize = MESSAGE_START_SIZE + COMMAND_SIZE;
/// Offset of the checksum field (CMessageHeader::CHECKSUM_OFFSET).
pub const CHECKSUM_OFFSET: usize = MESSAGE_SIZE_OFFSET + MESSAGE_SIZE_SIZE;
/// Size of a whole header (CMessageHeader::HEADER_SIZE).
pub const HEADER_SIZE: usize =
    MESSAGE_START_SIZE + COMMAND_SIZE + MESSAGE_SIZE_SIZE + CHECKSUM_SIZE;
/// Largest payload a peer may announce (net.h `MAX_PROTOCOL_MESSAGE_LENGTH`, 4 MB).
pub const MAX_PROTOCOL_MESSAGE_LENGTH: u32 = 4_000_000;

/// A P2P message header.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MessageHeader {
    /// Message start of the network (pchMessageStart).
    pub magic: [u8; 4],
    /// Message type, NUL padded (m_msg_type).
    pub command: [u8; COMMAND_SIZE],
    /// Payload size (nMessageSize).
    pub length: u32,
    /// First 4 bytes of the network hash of the payload (pchChecksum).
    pub checksum: [u8; 4],
}

/// The checksum a header carries for `payload`: the first 4 bytes of its network hash.
pub fn checksum(kind: HashKind, payload: &[u8]) -> [u8; CHECKSUM_SIZE] {
    kind.checksum(payload)
}

/// The 12-byte, NUL-padded form of a message type, or an error if it does not fit.
pub fn command_bytes(command: &str) -> Result<[u8; COMMAND_SIZE], Error> {
    let b = command.as_bytes();
    if b.len() > COMMAND_SIZE {
        return Err(Error::CommandTooLong(command.to_owned()));
    }
    let mut out = [0u8; COMMAND_SIZE];
    out[..b.len()].copy_from_slice(b);
    Ok(out)
}

impl MessageHeader {
    /// Port of CMessageHeader::CMessageHeader (protocol.cpp). Core asserts that the message type
    /// fits in 12 bytes; here a longer one is an error.
    pub fn new(
        magic: [u8; 4],
        command: &str,
        length: u32,
        checksum: [u8; 4],
    ) -> Result<Self, Error> {
        Ok(MessageHeader {
            magic,
            command: command_bytes(command)?,
            length,
            checksum,
        })
    }

    /// The header for `payload`, with the checksum taken from the network hash `kind`
    /// (as V1Transport::SetMessageToSend, net.cpp).
    pub fn for_payload(
        magic: [u8; 4],
        command: &str,
        payload: &[u8],
        kind: HashKind,
    ) -> Result<Self, Error> {
        let length = u32::try_from(payload.len()).map_err(|_| Error::OversizedMessage {
            command: command.to_owned(),
            length: u32::MAX,
        })?;
        Self::new(magic, command, length, kind.checksum(payload))
    }

    /// Port of CMessageHeader::GetMessageType (protocol.cpp): the bytes before the first NUL.
    /// Bytes that are not UTF-8 are replaced (only an invalid message type can contain them).
    pub fn get_message_type(&self) -> String {
        String::from_utf8_lossy(self.command_raw()).into_owned()
    }

    /// Port of CMessageHeader::GetMessageType (protocol.cpp) for the receive path: a type this
    /// crate knows (Core's `ALL_NET_MESSAGE_TYPES` or `logos`) comes back borrowed from the
    /// static table, so receiving a message allocates no string; others are owned (bytes that
    /// are not UTF-8 replaced).
    pub fn message_type(&self) -> Cow<'static, str> {
        let raw = self.command_raw();
        match crate::message::known_message_type(raw) {
            Some(t) => Cow::Borrowed(t),
            None => Cow::Owned(String::from_utf8_lossy(raw).into_owned()),
        }
    }

    /// The 24 bytes of this header as sent on the wire.
    pub fn to_bytes(&self) -> [u8; HEADER_SIZE] {
        let mut h = [0u8; HEADER_SIZE];
        h[..MESSAGE_START_SIZE].copy_from_slice(&self.magic);
        h[MESSAGE_START_SIZE..MESSAGE_SIZE_OFFSET].copy_from_slice(&self.command);
        h[MESSAGE_SIZE_OFFSET..CHECKSUM_OFFSET].copy_from_slice(&self.length.to_le_bytes());
        h[CHECKSUM_OFFSET..].copy_from_slice(&self.checksum);
        h
    }

    /// A header from its 24 wire bytes (any bytes form a header; the checks are
    /// [`Self::check_start_and_size`] and [`Self::check_payload_hash`]).
    pub fn from_bytes(b: &[u8; HEADER_SIZE]) -> Self {
        let mut magic = [0u8; MESSAGE_START_SIZE];
        magic.copy_from_slice(&b[..MESSAGE_START_SIZE]);
        let mut command = [0u8; COMMAND_SIZE];
        command.copy_from_slice(&b[MESSAGE_START_SIZE..MESSAGE_SIZE_OFFSET]);
        let mut len = [0u8; MESSAGE_SIZE_SIZE];
        len.copy_from_slice(&b[MESSAGE_SIZE_OFFSET..CHECKSUM_OFFSET]);
        let mut checksum = [0u8; CHECKSUM_SIZE];
        checksum.copy_from_slice(&b[CHECKSUM_OFFSET..]);
        MessageHeader {
            magic,
            command,
            length: u32::from_le_bytes(len),
            checksum,
        }
    }

    /// Port of the header construction in V1Transport::SetMessageToSend (net.cpp), given the
    /// payload's network hash (computed once: for `logos` it is also the payload's id). A type
    /// longer than 12 bytes is cut (only hand-built types can be; every type we send fits).
    pub fn frame(magic: [u8; 4], command: &str, payload_len: usize, hash: &[u8; 32]) -> Self {
        let mut c = [0u8; COMMAND_SIZE];
        let b = command.as_bytes();
        let n = b.len().min(COMMAND_SIZE);
        c[..n].copy_from_slice(&b[..n]);
        MessageHeader {
            magic,
            command: c,
            length: payload_len as u32,
            checksum: crate::hash::checksum_from_hash(hash),
        }
    }

    /// The message type bytes before the first NUL.
    pub fn command_raw(&self) -> &[u8] {
        let end = self
            .command
            .iter()
            .position(|&b| b == 0)
            .unwrap_or(COMMAND_SIZE);
        &self.command[..end]
    }

    /// Port of CMessageHeader::IsMessageTypeValid (protocol.cpp): printable ASCII, then only NULs.
    pub fn is_message_type_valid(&self) -> bool {
        let mut seen_nul = false;
        for &b in &self.command {
            if seen_nul {
                if b != 0 {
                    return false;
                }
            } else if b == 0 {
                seen_nul = true;
            } else if !(b' '..=0x7e).contains(&b) {
                return false;
            }
        }
        true
    }

    /// The message type, if the field is valid (IsMessageTypeValid + GetMessageType).
    pub fn command_str(&self) -> Option<&str> {
        if !self.is_message_type_valid() {
            return None;
        }
        std::str::from_utf8(self.command_raw()).ok()
    }

    /// Port of the checks in V1Transport::readHeader (net.cpp), made once a header is complete:
    /// the message start must be ours, and the size may exceed neither `MAX_SIZE` nor `max_length`
    /// (the network's maximum message length, [`MAX_PROTOCOL_MESSAGE_LENGTH`] by default).
    pub fn check_start_and_size(&self, magic: [u8; 4], max_length: u32) -> Result<(), Error> {
        if self.magic != magic {
            return Err(Error::WrongMagic {
                expected: magic,
                got: self.magic,
            });
        }
        if u64::from(self.length) > MAX_SIZE || self.length > max_length {
            return Err(Error::OversizedMessage {
                command: self.get_message_type(),
                length: self.length,
            });
        }
        Ok(())
    }

    /// Port of the checks in V1Transport::GetReceivedMessage (net.cpp) on a complete message: the
    /// checksum first, then the message type field. `payload_hash` is the network hash of the
    /// payload (computed once; the `logos` dedup id reuses it).
    pub fn check_payload_hash(&self, payload_hash: &[u8; 32]) -> Result<(), Error> {
        let expected = crate::hash::checksum_from_hash(payload_hash);
        if expected != self.checksum {
            return Err(Error::BadChecksum {
                command: self.get_message_type(),
                length: self.length,
                expected,
                got: self.checksum,
            });
        }
        if !self.is_message_type_valid() {
            return Err(Error::InvalidMessageType(self.get_message_type()));
        }
        Ok(())
    }
}

impl Encodable for MessageHeader {
    fn consensus_encode<W: Write + ?Sized>(&self, w: &mut W) -> io::Result<usize> {
        w.write_all(&self.magic)?;
        w.write_all(&self.command)?;
        w.write_all(&self.length.to_le_bytes())?;
        w.write_all(&self.checksum)?;
        Ok(HEADER_SIZE)
    }
}

impl Decodable for MessageHeader {
    fn consensus_decode<R: Read + ?Sized>(r: &mut R) -> Result<Self, Error> {
        Ok(MessageHeader {
            magic: read_array(r)?,
            command: read_array(r)?,
            length: u32::consensus_decode(r)?,
            checksum: read_array(r)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode::{deserialize, serialize};

    const REGTEST: [u8; 4] = [0xfa, 0xbf, 0xb5, 0xda];

    #[test]
    fn verack_header_bytes() {
        // From vectors/bitcoind-regtest/inbound-session.json.
        let h = MessageHeader::for_payload(REGTEST, "verack", &[], HashKind::Sha256d).unwrap();
        assert_eq!(
            hex::encode(serialize(&h)),
            "fabfb5da76657261636b000000000000000000005df6e0e2"
        );
        let back: MessageHeader = deserialize(&serialize(&h)).unwrap();
        assert_eq!(back, h);
        assert_eq!(back.command_str(), Some("verack"));
    }

    #[test]
    fn known_types_are_borrowed() {
        let h = MessageHeader::new(REGTEST, "ping", 0, [0; 4]).unwrap();
        assert!(matches!(h.message_type(), Cow::Borrowed("ping")));
        let h = MessageHeader::new(REGTEST, "logos", 0, [0; 4]).unwrap();
        assert!(matches!(h.message_type(), Cow::Borrowed("logos")));
        let h = MessageHeader::new(REGTEST, "zzzzz", 0, [0; 4]).unwrap();
        assert!(matches!(h.message_type(), Cow::Owned(ref s) if s == "zzzzz"));
        let b = h.to_bytes();
        assert_eq!(b.to_vec(), crate::encode::serialize(&h));
        assert_eq!(MessageHeader::from_bytes(&b), h);
    }

    #[test]
    fn message_type_validity() {
        let mut h = MessageHeader::new(REGTEST, "ping", 0, [0; 4]).unwrap();
        assert!(h.is_message_type_valid());
        // A non-NUL byte after the first NUL.
        h.command[6] = b'x';
        assert!(!h.is_message_type_valid());
        assert_eq!(h.command_str(), None);
        // A control character.
        let mut h = MessageHeader::new(REGTEST, "ping", 0, [0; 4]).unwrap();
        h.command[1] = 0x1f;
        assert!(!h.is_message_type_valid());
        // DEL (0x7f) is outside the printable range.
        h.command[1] = 0x7f;
        assert!(!h.is_message_type_valid());
        // All 12 bytes used, no NUL.
        let h = MessageHeader::new(REGTEST, "abcdefghijkl", 0, [0; 4]).unwrap();
        assert!(h.is_message_type_valid());
        assert_eq!(h.command_str(), Some("abcdefghijkl"));
        // net_tests.cpp v2transport_test sends "blocktxn\0\0\0a": invalid (text after a NUL).
        let mut h = MessageHeader::new(REGTEST, "", 0, [0; 4]).unwrap();
        h.command.copy_from_slice(b"blocktxn\0\0\0a");
        assert!(!h.is_message_type_valid());
        assert_eq!(h.get_message_type(), "blocktxn");
        // Empty message type is valid text (all NULs).
        let h = MessageHeader::new(REGTEST, "", 0, [0; 4]).unwrap();
        assert!(h.is_message_type_valid());
        assert_eq!(
            MessageHeader::new(REGTEST, "abcdefghijklm", 0, [0; 4]),
            Err(Error::CommandTooLong("abcdefghijklm".into()))
        );
    }

    #[test]
    fn start_and_size_checks() {
        let h =
            MessageHeader::new(REGTEST, "version", MAX_PROTOCOL_MESSAGE_LENGTH, [0; 4]).unwrap();
        assert_eq!(
            h.check_start_and_size(REGTEST, MAX_PROTOCOL_MESSAGE_LENGTH),
            Ok(())
        );
        let e = h
            .check_start_and_size([0xf9, 0xbe, 0xb4, 0xd9], MAX_PROTOCOL_MESSAGE_LENGTH)
            .unwrap_err();
        assert_eq!(e.to_string(), "Wrong MessageStart fabfb5da received");
        let h = MessageHeader::new(REGTEST, "version", MAX_PROTOCOL_MESSAGE_LENGTH + 1, [0; 4])
            .unwrap();
        let e = h
            .check_start_and_size(REGTEST, MAX_PROTOCOL_MESSAGE_LENGTH)
            .unwrap_err();
        // Text of bitcoind's "Header error: Size too large (version, 4000001 bytes)".
        assert_eq!(e.to_string(), "Size too large (version, 4000001 bytes)");
        // A network may raise the cap, but never above MAX_SIZE.
        let h = MessageHeader::new(REGTEST, "logos", (MAX_SIZE + 1) as u32, [0; 4]).unwrap();
        assert!(h.check_start_and_size(REGTEST, u32::MAX).is_err());
    }

    #[test]
    fn checksum_check() {
        let payload = [1u8, 2, 3, 4, 5, 6, 7, 8];
        let h = MessageHeader::new(REGTEST, "ping", 8, [1, 2, 3, 4]).unwrap();
        let e = h
            .check_payload_hash(&HashKind::Sha256d.hash(&payload))
            .unwrap_err();
        assert!(matches!(
            e,
            Error::BadChecksum {
                got: [1, 2, 3, 4],
                ..
            }
        ));
        assert!(e
            .to_string()
            .starts_with("Wrong checksum (ping, 8 bytes), expected "));
        let h = MessageHeader::for_payload(REGTEST, "ping", &payload, HashKind::Sha256d).unwrap();
        assert_eq!(
            h.check_payload_hash(&HashKind::Sha256d.hash(&payload)),
            Ok(())
        );
        assert!(h
            .check_payload_hash(&HashKind::Blake2b256.hash(&payload))
            .is_err());
    }

    #[test]
    fn short_header_is_end_of_data() {
        let bytes = [0u8; HEADER_SIZE - 1];
        assert_eq!(
            deserialize::<MessageHeader>(&bytes),
            Err(Error::Io(std::io::ErrorKind::UnexpectedEof))
        );
    }
}
