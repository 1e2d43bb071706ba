//! Stage 2 relay messages: announce, then request, then send (Logos networks only).
//!
//! Negotiated like BIP155's `sendaddrv2` and BIP339's `wtxidrelay`: each side may send
//! `sendannounce` between `version` and `verack`; a link where both did uses announcements,
//! every other link keeps the `logos` flood. A node never sends these on a Bitcoin network.
//!
//! | message | payload | meaning |
//! |---|---|---|
//! | `sendannounce` | u32 relay-protocol version, u64 salt | "announce to me"; the salt keys this link's short ids |
//! | `announce` | CompactSize n ≤ [`MAX_ANNOUNCE_SZ`], n × (u64 short id, u32 size) | "I have these payloads" |
//! | `getlogos` | CompactSize n ≤ [`MAX_ANNOUNCE_SZ`], n × u64 short id | "send me these" (answered with `logos`) |
//! | `getlogosid` | CompactSize n ≤ [`MAX_ANNOUNCE_SZ`], n × 32-byte id | the same by full id (a payload's missing dependencies) |
//! | `lognotfound` | CompactSize n ≤ [`MAX_ANNOUNCE_SZ`], n × u64 short id | "I do not have these (any more)" |
//! | `sendpush` | u8 (0 off, anything else on) | "push me payloads under your push size instead of announcing them" (BIP152's high-bandwidth mode) |
//!
//! `sendpush` is sent after `verack`, on an announcing link, to the few peers that delivered
//! the receiver's latest new payloads first (as BIP152's `sendcmpct(1)` goes to the three
//! peers that last delivered a block first): small payloads then move at flood speed from
//! the peer most likely to have them first, and each node receives about one pushed copy.
//!
//! Short ids (BIP152 style): SipHash-2-4 of the 32-byte payload id, keyed by the two salts
//! (the smaller first, so both ends compute the same key), all 64 bits kept. The salts are
//! drawn per connection, so an attacker can only make collisions on its own links. With n
//! payloads live on a link the chance that two share a short id is about n²/2⁶⁵: 10⁻¹¹ for
//! 10,000 ids; a collision only costs one request answered with the wrong payload (the
//! receiver checks the full id and asks another announcer). Six bytes would save two bytes per
//! entry but give n²/2⁴⁹ (2·10⁻⁷ for 10,000 ids, and a birthday attack within reach of
//! the peer that knows both salts); eight keeps the arithmetic out of the way.

use std::io::{Read, Write};

use crate::encode::{read_vec, write_vec, Decodable, Encodable, Error};

/// The relay-protocol version this node speaks.
pub const RELAY_PROTOCOL_VERSION: u32 = 1;

/// Largest number of entries in one `announce`, `getlogos`, `getlogosid` or `lognotfound`
/// (Core's `MAX_INV_SZ` for `inv` and `getdata`): the decoder reads longer lists (bounded by
/// the message size), the peer manager treats them as misbehaviour, as Core does for `inv`.
pub const MAX_ANNOUNCE_SZ: usize = 50_000;

/// `sendannounce`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SendAnnounce {
    /// The sender's relay-protocol version.
    pub version: u32,
    /// The sender's per-connection salt.
    pub salt: u64,
}

/// One `announce` entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AnnounceEntry {
    /// The payload's short id on this link.
    pub short_id: u64,
    /// The payload's size in bytes.
    pub size: u32,
}

impl SendAnnounce {
    /// Encodes the payload.
    pub fn encode<W: Write + ?Sized>(&self, w: &mut W) -> std::io::Result<usize> {
        Ok(self.version.consensus_encode(w)? + self.salt.consensus_encode(w)?)
    }

    /// Decodes the payload (later bytes are ignored, as Core does for its messages).
    pub fn decode<R: Read + ?Sized>(r: &mut R) -> Result<Self, Error> {
        Ok(SendAnnounce {
            version: u32::consensus_decode(r)?,
            salt: u64::consensus_decode(r)?,
        })
    }
}

/// Encodes `announce`.
pub fn encode_announce<W: Write + ?Sized>(
    e: &[AnnounceEntry],
    w: &mut W,
) -> std::io::Result<usize> {
    write_vec(w, e, |x, w| {
        Ok(x.short_id.consensus_encode(w)? + x.size.consensus_encode(w)?)
    })
}

/// Decodes `announce`.
pub fn decode_announce<R: Read + ?Sized>(r: &mut R) -> Result<Vec<AnnounceEntry>, Error> {
    let v = read_vec(r, |r| {
        Ok(AnnounceEntry {
            short_id: u64::consensus_decode(r)?,
            size: u32::consensus_decode(r)?,
        })
    })?;
    Ok(v)
}

/// Encodes a list of short ids (`getlogos`, `lognotfound`).
pub fn encode_short_ids<W: Write + ?Sized>(ids: &[u64], w: &mut W) -> std::io::Result<usize> {
    write_vec(w, ids, |x, w| x.consensus_encode(w))
}

/// Decodes a list of short ids.
pub fn decode_short_ids<R: Read + ?Sized>(r: &mut R) -> Result<Vec<u64>, Error> {
    let v = read_vec(r, |r| u64::consensus_decode(r))?;
    Ok(v)
}

/// Encodes a list of full ids (`getlogosid`).
pub fn encode_full_ids<W: Write + ?Sized>(ids: &[[u8; 32]], w: &mut W) -> std::io::Result<usize> {
    write_vec(w, ids, |x, w| x.consensus_encode(w))
}

/// Decodes a list of full ids.
pub fn decode_full_ids<R: Read + ?Sized>(r: &mut R) -> Result<Vec<[u8; 32]>, Error> {
    let v = read_vec(r, |r| <[u8; 32]>::consensus_decode(r))?;
    Ok(v)
}

#[cfg(test)]
mod tests {
    use crate::message::{net_msg_type as t, NetworkMessage};

    use super::*;

    /// Every relay message survives the codec, with the exact bytes the table above gives.
    #[test]
    fn relay_messages_round_trip_with_their_layout() {
        let m = NetworkMessage::SendAnnounce(SendAnnounce {
            version: 1,
            salt: 0x0102_0304_0506_0708,
        });
        assert_eq!(
            m.encode_payload(),
            [1, 0, 0, 0, 8, 7, 6, 5, 4, 3, 2, 1],
            "u32 version then u64 salt, little-endian"
        );
        let a = NetworkMessage::Announce(vec![AnnounceEntry {
            short_id: 0xaabb,
            size: 1024,
        }]);
        assert_eq!(
            a.encode_payload(),
            [1, 0xbb, 0xaa, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0]
        );
        for msg in [
            m,
            a,
            NetworkMessage::GetLogos(vec![1, 2, 3]),
            NetworkMessage::GetLogosById(vec![[7; 32], [9; 32]]),
            NetworkMessage::LogNotFound(vec![u64::MAX]),
            NetworkMessage::SendPush(true),
            NetworkMessage::SendPush(false),
        ] {
            let bytes = msg.encode_payload();
            let back = NetworkMessage::decode_payload(msg.command(), &bytes).unwrap();
            assert_eq!(back, msg);
            assert!(
                msg.static_command().is_some(),
                "{} is a known type",
                msg.command()
            );
        }
        assert_eq!(NetworkMessage::SendPush(true).encode_payload(), [1]);
        assert_eq!(
            NetworkMessage::decode_payload(t::SENDPUSH, &[7]).unwrap(),
            NetworkMessage::SendPush(true)
        );
        assert!(NetworkMessage::decode_payload(t::SENDPUSH, &[]).is_err());
        // A truncated entry is an error, not a short list.
        assert!(NetworkMessage::decode_payload(t::ANNOUNCE, &[1, 0xbb, 0xaa]).is_err());
    }
}
