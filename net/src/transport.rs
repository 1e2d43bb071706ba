//! The v1 (unencrypted) transport: Bitcoin's 24-byte header framing.
//!
//! Port of `V1Transport` (net.cpp). The receive half lives under the node's `cs_vRecv`
//! lock and the send half under its `cs_vSend` lock (Core keeps `m_recv_mutex` and
//! `m_send_mutex` inside the transport; here the node's two locks play those roles).
//!
//! The payload hash is computed once, incrementally, while the bytes arrive
//! ([`V1Recv::received_bytes`]); its first four bytes are the header checksum and the whole
//! 32 bytes are handed up with the message ([`CNetMessage::m_hash`]) so the `logos` flood can use
//! it as its dedup id without hashing again. A message that already has its header
//! ([`SerializedNetMsg::header`], e.g. a relayed `logos` message) is framed without hashing.

use std::borrow::Cow;
use std::sync::Arc;

use protocol::{AnyHasher, HashKind, NetHasher};

use crate::disconnect::DisconnectReason;
use crate::util::{hex_str, sanitize_string};

/// Size of the message start (magic) field.
pub const MESSAGE_START_SIZE: usize = 4;
/// Size of the message type (command) field.
pub const MESSAGE_TYPE_SIZE: usize = 12;
/// Size of the checksum field.
pub const CHECKSUM_SIZE: usize = 4;
/// Size of a serialized message header (`CMessageHeader::HEADER_SIZE`).
pub const HEADER_SIZE: usize = MESSAGE_START_SIZE + MESSAGE_TYPE_SIZE + 4 + CHECKSUM_SIZE;
/// Core's `MAX_SIZE` (serialize.h): the largest length any serialized object may claim.
pub const MAX_SIZE: u32 = 0x0200_0000;
/// How far ahead of the received data the receive buffer grows (Core: 256 KiB).
const RECV_ALLOC_AHEAD: usize = 256 * 1024;
/// Payloads of at least this many bytes are hashed by the message handler
/// ([`CNetMessage::complete_deferred_hash`]), not by the socket thread while they arrive, so
/// reading the next message overlaps hashing this one.
pub const DEFER_HASH_FROM: usize = 64 * 1024;

/// A message ready to be sent: its type, its payload and, when already known, its header.
///
/// Port of `CSerializedNetMsg` (net.h). The payload is shared (`Arc`) so one flooded
/// message queued to many peers is stored once, and a received payload is relayed without a
/// copy (the `Vec` it was read into moves into the `Arc`). The type is a `&'static str`: every
/// message we send has a known type, so queueing one allocates no string.
#[derive(Clone, Debug)]
pub struct SerializedNetMsg {
    /// Message type (command), e.g. `"version"`.
    pub m_type: &'static str,
    /// Payload bytes.
    pub data: Arc<Vec<u8>>,
    /// A prebuilt header for this payload (magic, type, length, checksum), if the sender has
    /// one already (a relayed message keeps the header it arrived with).
    pub header: Option<[u8; HEADER_SIZE]>,
}

impl SerializedNetMsg {
    /// Not in Core: A message of type `m_type` with payload `data`; its header is built when sent.
    pub fn new(m_type: &'static str, data: Vec<u8>) -> Self {
        SerializedNetMsg {
            m_type,
            data: Arc::new(data),
            header: None,
        }
    }

    /// Port of CSerializedNetMsg::GetMemoryUsage (net.cpp).
    pub fn get_memory_usage(&self) -> usize {
        std::mem::size_of::<Self>() + self.data.len()
    }

    /// Not in Core: a message whose payload is already shared and whose header is known (a
    /// flooded or relayed `logos` message).
    pub fn framed(m_type: &'static str, data: Arc<Vec<u8>>, header: [u8; HEADER_SIZE]) -> Self {
        SerializedNetMsg {
            m_type,
            data,
            header: Some(header),
        }
    }
}

/// A message received from a peer, framing removed.
///
/// Port of `CNetMessage` (net.h), plus the payload hash and raw header kept for the flood.
#[derive(Clone, Debug)]
pub struct CNetMessage {
    /// Message type (command) as sent, up to the first NUL: borrowed for the types we know
    /// (no allocation per message), owned for others.
    pub m_type: Cow<'static, str>,
    /// Payload.
    pub m_recv: Vec<u8>,
    /// Time the message was completed (microseconds since the epoch).
    pub m_time: i64,
    /// Payload size.
    pub m_message_size: u32,
    /// Payload size plus header size.
    pub m_raw_message_size: u32,
    /// Network hash of the payload (its first 4 bytes are the checksum).
    pub m_hash: [u8; 32],
    /// The header exactly as received.
    pub m_header: [u8; HEADER_SIZE],
    /// The payload was not hashed on arrival (at least [`DEFER_HASH_FROM`] bytes): `m_hash` is
    /// not set and the checksum not checked until [`Self::complete_deferred_hash`].
    pub m_hash_pending: bool,
}

impl CNetMessage {
    /// Not in Core: for a message received with its hash deferred, hash the payload, set
    /// `m_hash`, and check the header checksum (the check V1Transport::GetReceivedMessage makes
    /// for every message in Core). `false`: wrong checksum, drop the message. A message hashed
    /// on arrival returns `true` at once.
    pub fn complete_deferred_hash(&mut self, kind: HashKind) -> bool {
        if !self.m_hash_pending {
            return true;
        }
        self.m_hash = kind.hash(&self.m_recv);
        self.m_hash_pending = false;
        self.m_hash[..CHECKSUM_SIZE] == self.m_header[20..24]
    }

    /// Port of CNetMessage::GetMemoryUsage (net.cpp).
    pub fn get_memory_usage(&self) -> usize {
        std::mem::size_of::<Self>() + self.m_recv.capacity()
    }
}

/// Port of CMessageHeader::GetMessageType (protocol.cpp): the type string up to the first NUL.
/// A type Core knows (or `logos`) comes back borrowed from the static table.
pub fn get_message_type(raw: &[u8; MESSAGE_TYPE_SIZE]) -> Cow<'static, str> {
    let end = raw
        .iter()
        .position(|&b| b == 0)
        .unwrap_or(MESSAGE_TYPE_SIZE);
    let name = &raw[..end];
    match known_message_type(name) {
        Some(t) => Cow::Borrowed(t),
        None => Cow::Owned(name.iter().map(|&b| b as char).collect()),
    }
}

/// Not in Core: the static name of a known message type (`logos` or one of Core's
/// `ALL_NET_MESSAGE_TYPES`), if `name` is one.
pub fn known_message_type(name: &[u8]) -> Option<&'static str> {
    let logos = protocol::message::net_msg_type::LOGOS;
    if name == logos.as_bytes() {
        return Some(logos);
    }
    protocol::message::ALL_NET_MESSAGE_TYPES
        .iter()
        .copied()
        .find(|t| t.as_bytes() == name)
}

/// Port of CMessageHeader::IsMessageTypeValid (protocol.cpp): printable ASCII, then only NULs.
pub fn is_message_type_valid(raw: &[u8; MESSAGE_TYPE_SIZE]) -> bool {
    let mut seen_nul = false;
    for &b in raw.iter() {
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

/// Port of V1Transport::SetMessageToSend header construction (net.cpp): build the 24-byte header for `payload` of type `m_type`, given the payload's network hash.
pub fn build_header(
    magic: [u8; MESSAGE_START_SIZE],
    m_type: &str,
    payload_len: usize,
    hash: &[u8; 32],
) -> [u8; HEADER_SIZE] {
    let mut h = [0u8; HEADER_SIZE];
    h[..4].copy_from_slice(&magic);
    let t = m_type.as_bytes();
    let n = t.len().min(MESSAGE_TYPE_SIZE);
    h[4..4 + n].copy_from_slice(&t[..n]);
    h[16..20].copy_from_slice(&(payload_len as u32).to_le_bytes());
    h[20..24].copy_from_slice(&hash[..CHECKSUM_SIZE]);
    h
}

/// Receive half of the v1 transport (Core's `V1Transport` fields guarded by `m_recv_mutex`).
pub struct V1Recv {
    m_magic_bytes: [u8; MESSAGE_START_SIZE],
    hash_kind: HashKind,
    max_message_length: u32,
    m_node_id: i64,
    in_data: bool,
    hdrbuf: [u8; HEADER_SIZE],
    n_hdr_pos: usize,
    hdr_type: [u8; MESSAGE_TYPE_SIZE],
    hdr_size: u32,
    hdr_checksum: [u8; CHECKSUM_SIZE],
    v_recv: Vec<u8>,
    n_data_pos: usize,
    hasher: Option<AnyHasher>,
    defer_hash_from: usize,
}

impl V1Recv {
    /// Port of V1Transport::V1Transport (net.cpp), receive half.
    pub fn new(
        magic: [u8; MESSAGE_START_SIZE],
        hash_kind: HashKind,
        max_message_length: u32,
        node_id: i64,
    ) -> Self {
        let mut r = V1Recv {
            m_magic_bytes: magic,
            hash_kind,
            max_message_length,
            m_node_id: node_id,
            in_data: false,
            hdrbuf: [0; HEADER_SIZE],
            n_hdr_pos: 0,
            hdr_type: [0; MESSAGE_TYPE_SIZE],
            hdr_size: 0,
            hdr_checksum: [0; CHECKSUM_SIZE],
            v_recv: Vec::new(),
            n_data_pos: 0,
            hasher: None,
            defer_hash_from: DEFER_HASH_FROM,
        };
        r.reset();
        r
    }

    /// Not in Core: hash payloads of at least `n` bytes later, on the message handler
    /// (default [`DEFER_HASH_FROM`]; `usize::MAX`: never defer).
    pub fn set_defer_hash_from(&mut self, n: usize) {
        self.defer_hash_from = n;
    }

    /// Port of V1Transport::Reset (net.h).
    fn reset(&mut self) {
        self.in_data = false;
        self.n_hdr_pos = 0;
        self.n_data_pos = 0;
        self.v_recv = Vec::new();
        self.hasher = Some(self.hash_kind.hasher());
    }

    /// Port of V1Transport::CompleteInternal (net.h).
    fn complete_internal(&self) -> bool {
        self.in_data && self.hdr_size as usize == self.n_data_pos
    }

    /// Port of V1Transport::ReceivedMessageComplete (net.h).
    pub fn received_message_complete(&self) -> bool {
        self.complete_internal()
    }

    /// Port of V1Transport::readHeader (net.cpp). Returns the bytes consumed, or the header
    /// error (wrong magic or oversize), which disconnects the peer.
    fn read_header(&mut self, msg_bytes: &[u8]) -> Result<usize, DisconnectReason> {
        let n_remaining = HEADER_SIZE - self.n_hdr_pos;
        let n_copy = n_remaining.min(msg_bytes.len());
        self.hdrbuf[self.n_hdr_pos..self.n_hdr_pos + n_copy].copy_from_slice(&msg_bytes[..n_copy]);
        self.n_hdr_pos += n_copy;
        if self.n_hdr_pos < HEADER_SIZE {
            return Ok(n_copy);
        }
        let magic: [u8; 4] = self.hdrbuf[0..4].try_into().unwrap_or([0; 4]);
        self.hdr_type.copy_from_slice(&self.hdrbuf[4..16]);
        self.hdr_size = u32::from_le_bytes(self.hdrbuf[16..20].try_into().unwrap_or([0; 4]));
        self.hdr_checksum.copy_from_slice(&self.hdrbuf[20..24]);

        //DMITRY: peer sends a header whose message start is not our network's; Core: net.cpp::V1Transport::readHeader; kept: the caller disconnects at once ("receiving message bytes failed").
        if magic != self.m_magic_bytes {
            let r = DisconnectReason::HeaderWrongMessageStart { magic };
            r.log(self.m_node_id, None);
            return Err(r);
        }
        //DMITRY: header announces more than MAX_SIZE / MAX_PROTOCOL_MESSAGE_LENGTH bytes; Core: net.cpp::V1Transport::readHeader; kept: disconnect at once, before allocating (the 2024 receive-buffer OOM fix).
        if self.hdr_size > MAX_SIZE || self.hdr_size > self.max_message_length {
            let r = DisconnectReason::HeaderSizeTooLarge {
                msg_type: sanitize_string(&get_message_type(&self.hdr_type)),
                size: self.hdr_size,
            };
            r.log(self.m_node_id, None);
            return Err(r);
        }
        self.in_data = true;
        if self.hdr_size as usize >= self.defer_hash_from {
            // Large payload: no hashing on the socket thread (see DEFER_HASH_FROM).
            self.hasher = None;
        }
        Ok(n_copy)
    }

    /// Port of V1Transport::readData (net.cpp): copy payload bytes and feed the hasher.
    fn read_data(&mut self, msg_bytes: &[u8]) -> usize {
        let n_remaining = self.hdr_size as usize - self.n_data_pos;
        let n_copy = n_remaining.min(msg_bytes.len());
        if let Some(h) = self.hasher.as_mut() {
            h.input(&msg_bytes[..n_copy]);
        }
        if self.v_recv.len() == self.n_data_pos {
            // Appending: reserve ahead (at most 256 KiB, never past the message) and copy,
            // without zero-filling first.
            let want = (self.hdr_size as usize).min(self.n_data_pos + n_copy + RECV_ALLOC_AHEAD);
            self.v_recv.reserve(want.saturating_sub(self.v_recv.len()));
            self.v_recv.extend_from_slice(&msg_bytes[..n_copy]);
        } else {
            if self.v_recv.len() < self.n_data_pos + n_copy {
                self.v_recv.resize(self.n_data_pos + n_copy, 0);
            }
            self.v_recv[self.n_data_pos..self.n_data_pos + n_copy]
                .copy_from_slice(&msg_bytes[..n_copy]);
        }
        self.n_data_pos += n_copy;
        n_copy
    }

    /// Not in Core: while a large payload is being read: the buffer its next bytes go to (at most 256 KiB
    /// ahead), so the socket can be read straight into it (saves Core's copy from a 64 KiB
    /// stack buffer). `None` when reading a header or when less than `min` payload bytes
    /// remain.
    pub fn payload_read_buffer(&mut self, min: usize) -> Option<&mut [u8]> {
        if !self.in_data || self.complete_internal() {
            return None;
        }
        let remaining = self.hdr_size as usize - self.n_data_pos;
        if remaining < min {
            return None;
        }
        let want = self.n_data_pos + remaining.min(RECV_ALLOC_AHEAD);
        if self.v_recv.len() < want {
            self.v_recv.resize(want, 0);
        }
        Some(&mut self.v_recv[self.n_data_pos..want])
    }

    /// Not in Core: `n` bytes were read into [`Self::payload_read_buffer`]: hash and account them
    /// (the rest of V1Transport::readData).
    pub fn commit_payload_read(&mut self, n: usize) {
        let end = self.n_data_pos + n;
        if let Some(h) = self.hasher.as_mut() {
            h.input(&self.v_recv[self.n_data_pos..end]);
        }
        self.n_data_pos = end;
    }

    /// Port of V1Transport::ReceivedBytes (net.h): consume bytes from the front of `msg_bytes`
    /// until it is empty or a message is complete. An error is serious: disconnect.
    pub fn received_bytes(&mut self, msg_bytes: &mut &[u8]) -> Result<(), DisconnectReason> {
        if self.complete_internal() {
            return Err(DisconnectReason::ReceiveMsgBytesFailed);
        }
        let ret = if self.in_data {
            Ok(self.read_data(msg_bytes))
        } else {
            self.read_header(msg_bytes)
        };
        match ret {
            Err(r) => {
                self.reset();
                Err(r)
            }
            Ok(n) => {
                *msg_bytes = &msg_bytes[n..];
                Ok(())
            }
        }
    }

    /// Port of V1Transport::GetReceivedMessage (net.cpp). Returns the message and whether it
    /// must be rejected (bad checksum or invalid type: dropped, the peer is kept).
    pub fn get_received_message(&mut self, time: i64) -> (CNetMessage, bool) {
        let mut data = std::mem::take(&mut self.v_recv);
        data.truncate(self.hdr_size as usize);
        let (hash, pending) = match self.hasher.take() {
            Some(h) => (h.finalize(), false),
            None => ([0u8; 32], true),
        };
        let msg = CNetMessage {
            m_type: get_message_type(&self.hdr_type),
            m_recv: data,
            m_time: time,
            m_message_size: self.hdr_size,
            m_raw_message_size: self.hdr_size + HEADER_SIZE as u32,
            m_hash: hash,
            m_header: self.hdrbuf,
            m_hash_pending: pending,
        };
        let mut reject = false;
        if !pending && hash[..CHECKSUM_SIZE] != self.hdr_checksum {
            //DMITRY: payload checksum does not match the header; Core: net.cpp::V1Transport::GetReceivedMessage; kept: the message is dropped, the peer is kept (no disconnect, no misbehaviour).
            log::debug!(target: "net",
                "Header error: Wrong checksum ({}, {} bytes), expected {} was {}, peer={}",
                sanitize_string(&msg.m_type),
                msg.m_message_size,
                hex_str(&hash[..CHECKSUM_SIZE]),
                hex_str(&self.hdr_checksum),
                self.m_node_id
            );
            reject = true;
        } else if !is_message_type_valid(&self.hdr_type) {
            //DMITRY: header carries a message type with non-printable bytes; Core: net.cpp::V1Transport::GetReceivedMessage; kept: the message is dropped, the peer is kept.
            log::debug!(target: "net",
                "Header error: Invalid message type ({}, {} bytes), peer={}",
                sanitize_string(&msg.m_type),
                msg.m_message_size,
                self.m_node_id
            );
            reject = true;
        }
        self.reset();
        (msg, reject)
    }
}

/// Send half of the v1 transport (Core's `V1Transport` fields guarded by `m_send_mutex`).
pub struct V1Send {
    m_magic_bytes: [u8; MESSAGE_START_SIZE],
    hash_kind: HashKind,
    m_header_to_send: [u8; HEADER_SIZE],
    m_message_to_send: Option<SerializedNetMsg>,
    m_sending_header: bool,
    m_bytes_sent: usize,
}

impl V1Send {
    /// Port of V1Transport::V1Transport (net.cpp), send half.
    pub fn new(magic: [u8; MESSAGE_START_SIZE], hash_kind: HashKind) -> Self {
        V1Send {
            m_magic_bytes: magic,
            hash_kind,
            m_header_to_send: [0; HEADER_SIZE],
            m_message_to_send: None,
            m_sending_header: false,
            m_bytes_sent: 0,
        }
    }

    fn payload_len(&self) -> usize {
        self.m_message_to_send.as_ref().map_or(0, |m| m.data.len())
    }

    /// Port of V1Transport::SetMessageToSend (net.cpp). Gives the message back if the
    /// previous one is still being sent.
    pub fn set_message_to_send(&mut self, msg: SerializedNetMsg) -> Result<(), SerializedNetMsg> {
        if self.m_sending_header || self.m_bytes_sent < self.payload_len() {
            return Err(msg);
        }
        self.m_header_to_send = match msg.header {
            Some(h) => h,
            None => {
                let hash = self.hash_kind.hash(&msg.data);
                build_header(self.m_magic_bytes, msg.m_type, msg.data.len(), &hash)
            }
        };
        self.m_message_to_send = Some(msg);
        self.m_sending_header = true;
        self.m_bytes_sent = 0;
        Ok(())
    }

    /// Port of V1Transport::GetBytesToSend (net.cpp): the bytes to send now, whether more
    /// will follow, and the message type they belong to.
    pub fn get_bytes_to_send(&self, have_next_message: bool) -> (&[u8], bool, &'static str) {
        let m_type = self.m_message_to_send.as_ref().map_or("", |m| m.m_type);
        if self.m_sending_header {
            (
                &self.m_header_to_send[self.m_bytes_sent..],
                have_next_message || self.payload_len() > 0,
                m_type,
            )
        } else {
            let data: &[u8] = match &self.m_message_to_send {
                Some(m) if self.m_bytes_sent < m.data.len() => &m.data[self.m_bytes_sent..],
                _ => &[],
            };
            (data, have_next_message, m_type)
        }
    }

    /// Port of V1Transport::MarkBytesSent (net.cpp). A count may run from the header into the
    /// payload (after a vectored write of both, see [`Self::get_bytes_to_send_vectored`]).
    pub fn mark_bytes_sent(&mut self, bytes_sent: usize) {
        let mut n = bytes_sent;
        if self.m_sending_header {
            let in_header = n.min(HEADER_SIZE - self.m_bytes_sent);
            self.m_bytes_sent += in_header;
            n -= in_header;
            if self.m_bytes_sent == HEADER_SIZE {
                self.m_sending_header = false;
                self.m_bytes_sent = 0;
            } else {
                return;
            }
        }
        self.m_bytes_sent += n;
        if self.m_bytes_sent >= self.payload_len() {
            self.m_message_to_send = None;
            self.m_bytes_sent = 0;
        }
    }

    /// Not in Core: the unsent rest of the current message as two slices (header rest, payload rest), so
    /// one vectored write can send both (Core gets the same effect from `MSG_MORE`).
    pub fn get_bytes_to_send_vectored(&self) -> ([&[u8]; 2], &'static str) {
        let m_type = self.m_message_to_send.as_ref().map_or("", |m| m.m_type);
        let payload: &[u8] = self.m_message_to_send.as_ref().map_or(&[], |m| &m.data[..]);
        if self.m_sending_header {
            (
                [&self.m_header_to_send[self.m_bytes_sent..], payload],
                m_type,
            )
        } else {
            let rest = payload.get(self.m_bytes_sent..).unwrap_or(&[]);
            ([rest, &[]], m_type)
        }
    }

    /// Not in Core: the header this transport would send `payload` of type `m_type` with (hashes it).
    pub fn frame_header(&self, m_type: &str, payload: &[u8]) -> [u8; HEADER_SIZE] {
        let hash = self.hash_kind.hash(payload);
        build_header(self.m_magic_bytes, m_type, payload.len(), &hash)
    }

    /// Port of V1Transport::m_sending_header / m_message_to_send state (net.cpp): whether a message is loaded and not fully sent.
    pub fn is_busy(&self) -> bool {
        self.m_sending_header || self.m_bytes_sent < self.payload_len()
    }

    /// Port of V1Transport::GetSendMemoryUsage (net.cpp).
    pub fn get_send_memory_usage(&self) -> usize {
        self.m_message_to_send
            .as_ref()
            .map_or(0, |m| m.get_memory_usage())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAGIC: [u8; 4] = [0xfa, 0xbf, 0xb5, 0xda];

    fn frame(kind: HashKind, m_type: &str, payload: &[u8]) -> Vec<u8> {
        let h = kind.hash(payload);
        let mut v = build_header(MAGIC, m_type, payload.len(), &h).to_vec();
        v.extend_from_slice(payload);
        v
    }

    fn feed(r: &mut V1Recv, mut bytes: &[u8]) -> Result<Vec<(CNetMessage, bool)>, ()> {
        let mut out = Vec::new();
        while !bytes.is_empty() {
            if r.received_bytes(&mut bytes).is_err() {
                return Err(());
            }
            if r.received_message_complete() {
                out.push(r.get_received_message(0));
            }
        }
        Ok(out)
    }

    /// Mirrors net_tests.cpp: v1 transport round trip (send half output parsed by receive half).
    #[test]
    #[allow(non_snake_case)]
    fn net_tests__v1_roundtrip_byte_by_byte() {
        for kind in [HashKind::Sha256d, HashKind::Blake2b256] {
            let mut s = V1Send::new(MAGIC, kind);
            let payload: Vec<u8> = (0..1000u32).map(|i| i as u8).collect();
            assert!(s
                .set_message_to_send(SerializedNetMsg::new("logos", payload.clone()))
                .is_ok());
            let mut wire = Vec::new();
            loop {
                let (b, _, _) = s.get_bytes_to_send(false);
                if b.is_empty() {
                    break;
                }
                let n = b.len().min(7);
                wire.extend_from_slice(&b[..n]);
                s.mark_bytes_sent(n);
            }
            assert_eq!(wire, frame(kind, "logos", &payload));
            let mut r = V1Recv::new(MAGIC, kind, 4_000_000, 0);
            let mut got = Vec::new();
            for b in wire.chunks(1) {
                got.extend(feed(&mut r, b).unwrap());
            }
            assert_eq!(got.len(), 1);
            assert!(!got[0].1);
            assert_eq!(got[0].0.m_type, "logos");
            assert_eq!(got[0].0.m_recv, payload);
            assert_eq!(got[0].0.m_hash, kind.hash(&payload));
        }
    }

    /// A large payload is not hashed on arrival; the message handler completes the hash and
    /// the checksum check (good and bad checksum), with the same result as on arrival.
    #[test]
    fn deferred_hash_is_completed_later() {
        for kind in [HashKind::Sha256d, HashKind::Blake2b256] {
            let payload: Vec<u8> = (0..5000u32).map(|i| (i * 13) as u8).collect();
            let mut wire = frame(kind, "logos", &payload);
            let mut bad = frame(kind, "logos", &payload);
            bad[21] ^= 0x40;
            wire.extend_from_slice(&bad);
            wire.extend_from_slice(&frame(kind, "ping", &[3; 8]));
            let mut r = V1Recv::new(MAGIC, kind, 4_000_000, 0);
            r.set_defer_hash_from(4096);
            let mut got = Vec::new();
            for c in wire.chunks(1000) {
                got.extend(feed(&mut r, c).unwrap());
            }
            assert_eq!(got.len(), 3);
            // Not rejected on arrival: the checksum is checked later.
            assert!(got.iter().all(|(_, reject)| !reject));
            let (mut good, mut bad, mut small) =
                (got[0].0.clone(), got[1].0.clone(), got[2].0.clone());
            assert!(good.m_hash_pending && bad.m_hash_pending && !small.m_hash_pending);
            assert!(good.complete_deferred_hash(kind));
            assert_eq!(good.m_hash, kind.hash(&payload));
            assert!(!good.m_hash_pending);
            assert!(!bad.complete_deferred_hash(kind));
            assert!(small.complete_deferred_hash(kind));
            assert_eq!(small.m_hash, kind.hash(&[3; 8]));
        }
    }

    #[test]
    fn wrong_magic_is_an_error() {
        let mut r = V1Recv::new(MAGIC, HashKind::Sha256d, 4_000_000, 0);
        let mut wire = frame(HashKind::Sha256d, "ping", &[1; 8]);
        wire[0] = 0xf9;
        assert!(feed(&mut r, &wire).is_err());
    }

    #[test]
    fn oversize_is_an_error_and_at_limit_is_not() {
        let mut r = V1Recv::new(MAGIC, HashKind::Sha256d, 4_000_000, 0);
        let mut hdr = build_header(MAGIC, "version", 0, &[0; 32]);
        hdr[16..20].copy_from_slice(&4_000_001u32.to_le_bytes());
        assert!(feed(&mut r, &hdr).is_err());
        let mut r = V1Recv::new(MAGIC, HashKind::Sha256d, 4_000_000, 0);
        hdr[16..20].copy_from_slice(&4_000_000u32.to_le_bytes());
        assert!(feed(&mut r, &hdr).unwrap().is_empty());
    }

    #[test]
    fn bad_checksum_and_bad_type_are_rejected_not_fatal() {
        let mut r = V1Recv::new(MAGIC, HashKind::Sha256d, 4_000_000, 0);
        let mut wire = frame(HashKind::Sha256d, "ping", &[1; 8]);
        wire[20] ^= 1;
        let mut bad_type = frame(HashKind::Sha256d, "ping", &[1; 8]);
        bad_type[9] = 0x01;
        wire.extend_from_slice(&bad_type);
        wire.extend_from_slice(&frame(HashKind::Sha256d, "pong", &[2; 8]));
        let got = feed(&mut r, &wire).unwrap();
        assert_eq!(got.len(), 3);
        assert!(got[0].1);
        assert!(got[1].1);
        assert!(!got[2].1);
        assert_eq!(got[2].0.m_type, "pong");
    }

    #[test]
    fn vectored_send_crosses_header_into_payload() {
        let mut s = V1Send::new(MAGIC, HashKind::Sha256d);
        assert!(s
            .set_message_to_send(SerializedNetMsg::new("ping", vec![5; 8]))
            .is_ok());
        let ([h, p], t) = s.get_bytes_to_send_vectored();
        assert_eq!((h.len(), p.len(), t), (HEADER_SIZE, 8, "ping"));
        s.mark_bytes_sent(HEADER_SIZE + 3);
        let ([h, p], _) = s.get_bytes_to_send_vectored();
        assert_eq!((h.len(), p.len()), (5, 0));
        s.mark_bytes_sent(5);
        assert!(s.get_bytes_to_send(false).0.is_empty());
        // an empty payload completes with the header
        assert!(s
            .set_message_to_send(SerializedNetMsg::new("verack", vec![]))
            .is_ok());
        s.mark_bytes_sent(HEADER_SIZE);
        assert!(s.get_bytes_to_send(false).0.is_empty());
        assert!(s
            .set_message_to_send(SerializedNetMsg::new("ping", vec![1; 8]))
            .is_ok());
    }

    #[test]
    fn prebuilt_header_is_used_as_is() {
        let mut s = V1Send::new(MAGIC, HashKind::Blake2b256);
        let mut m = SerializedNetMsg::new("logos", vec![9; 10]);
        let fake = [7u8; HEADER_SIZE];
        m.header = Some(fake);
        assert!(s.set_message_to_send(m).is_ok());
        let (b, more, t) = s.get_bytes_to_send(false);
        assert_eq!(b, &fake);
        assert!(more);
        assert_eq!(t, "logos");
        assert!(s
            .set_message_to_send(SerializedNetMsg::new("ping", vec![]))
            .is_err());
    }

    #[test]
    fn message_type_validity() {
        let mut t = [0u8; 12];
        t[..4].copy_from_slice(b"ping");
        assert!(is_message_type_valid(&t));
        t[6] = b'x';
        assert!(!is_message_type_valid(&t));
        assert_eq!(get_message_type(&t), "ping");
        assert!(matches!(get_message_type(&t), Cow::Borrowed("ping")));
        let mut u = [0u8; 12];
        u[..5].copy_from_slice(b"logos");
        assert!(matches!(get_message_type(&u), Cow::Borrowed("logos")));
        u[..5].copy_from_slice(b"zzzzz");
        assert!(matches!(get_message_type(&u), Cow::Owned(ref s) if s == "zzzzz"));
    }
}
