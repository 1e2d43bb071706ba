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

use protocol::header::{CHECKSUM_SIZE, HEADER_SIZE, MESSAGE_START_SIZE};
use protocol::{AnyHasher, HashKind, MessageHeader, NetHasher};

use crate::disconnect::DisconnectReason;
use crate::net_message::{CNetMessage, SerializedNetMsg};
use crate::util::{hex_str, sanitize_string};

/// Core's `MAX_SIZE` (serialize.h): the largest length any serialized object may claim.
pub const MAX_SIZE: u32 = protocol::encode::MAX_SIZE as u32;
/// How far ahead of the received data the receive buffer grows (Core: 256 KiB).
const RECV_ALLOC_AHEAD: usize = 256 * 1024;
/// Payloads of at least this many bytes are hashed by the message handler
/// ([`CNetMessage::complete_deferred_hash`]), not by the socket thread while they arrive, so
/// reading the next message overlaps hashing this one.
pub const DEFER_HASH_FROM: usize = 64 * 1024;

/// Port of V1Transport::SetMessageToSend header construction (net.cpp): the 24-byte header for
/// `payload_len` bytes of type `m_type`, given the payload's network hash (protocol's
/// `MessageHeader`).
pub fn build_header(
    magic: [u8; MESSAGE_START_SIZE],
    m_type: &str,
    payload_len: usize,
    hash: &[u8; 32],
) -> [u8; HEADER_SIZE] {
    MessageHeader::frame(magic, m_type, payload_len, hash).to_bytes()
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
    hdr: MessageHeader,
    hdr_size: u32,
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
            hdr: MessageHeader::from_bytes(&[0; HEADER_SIZE]),
            hdr_size: 0,
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
        // protocol's MessageHeader parses the 24 bytes and makes Core's two checks.
        self.hdr = MessageHeader::from_bytes(&self.hdrbuf);
        self.hdr_size = self.hdr.length;
        //DMITRY: peer sends a header whose message start is not our network's, or that announces more than MAX_SIZE / MAX_PROTOCOL_MESSAGE_LENGTH bytes; Core: net.cpp::V1Transport::readHeader; kept: the caller
        // disconnects at once ("receiving message bytes failed"), before allocating (the 2024
        // receive-buffer OOM fix).
        if let Err(e) = self
            .hdr
            .check_start_and_size(self.m_magic_bytes, self.max_message_length)
        {
            let r = match e {
                protocol::Error::WrongMagic { got, .. } => {
                    DisconnectReason::HeaderWrongMessageStart { magic: got }
                }
                _ => DisconnectReason::HeaderSizeTooLarge {
                    msg_type: sanitize_string(&self.hdr.message_type()),
                    size: self.hdr_size,
                },
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
            m_type: self.hdr.message_type(),
            m_recv: data,
            m_time: time,
            m_message_size: self.hdr_size,
            m_raw_message_size: self.hdr_size + HEADER_SIZE as u32,
            m_hash: hash,
            m_header: self.hdrbuf,
            m_hash_pending: pending,
            m_shared: None,
        };
        let mut reject = false;
        if !pending && hash[..CHECKSUM_SIZE] != self.hdr.checksum {
            //DMITRY: payload checksum does not match the header; Core: net.cpp::V1Transport::GetReceivedMessage; kept: the message
            // is dropped, the peer is kept (no disconnect, no misbehaviour).
            log::debug!(target: "net",
                "Header error: Wrong checksum ({}, {} bytes), expected {} was {}, peer={}",
                sanitize_string(&msg.m_type),
                msg.m_message_size,
                hex_str(&hash[..CHECKSUM_SIZE]),
                hex_str(&self.hdr.checksum),
                self.m_node_id
            );
            reject = true;
        } else if !self.hdr.is_message_type_valid() {
            //DMITRY: header carries a message type with non-printable bytes; Core: net.cpp::V1Transport::GetReceivedMessage; kept: the message
            // is dropped, the peer is kept.
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
}
