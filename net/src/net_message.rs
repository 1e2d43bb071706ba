//! The two message forms that cross between the transport and the rest of the node (Core's
//! `CNetMessage` and `CSerializedNetMsg`, net.h). They live apart from the transport so that the
//! peer manager, which consumes received messages, imports nothing of the transport.

use std::borrow::Cow;
use std::sync::Arc;

use protocol::header::{CHECKSUM_OFFSET, CHECKSUM_SIZE, HEADER_SIZE};
use protocol::HashKind;

/// A message received from a peer, framing removed.
///
/// Port of `CNetMessage` (net.h), plus the payload hash and the raw header, which the `logos`
/// flood uses as the payload's id and relays unchanged.
#[derive(Clone, Debug)]
pub struct CNetMessage {
    /// Message type as sent, up to the first NUL: borrowed for the types we know (no allocation
    /// per message), owned for others.
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
    /// The payload was not hashed on arrival (a large payload, hashed by the message handler):
    /// `m_hash` is not set and the checksum not checked until [`Self::complete_deferred_hash`].
    pub m_hash_pending: bool,
    /// Not in Core: a `logos` payload already held in a shared buffer (a shell that moves
    /// messages in memory, the simulator): then `m_recv` is empty and this is the payload, so
    /// each copy that arrives costs no copy of the bytes. The transport never sets it.
    pub m_shared: Option<Arc<Vec<u8>>>,
}

impl CNetMessage {
    /// Not in Core: a message as a peer sent it, for tests and the simulator (the hash taken
    /// with `kind`, the header built with `magic`).
    pub fn from_payload(
        magic: [u8; 4],
        kind: HashKind,
        m_type: &'static str,
        payload: Vec<u8>,
        time_micros: i64,
    ) -> Self {
        let hash = kind.hash(&payload);
        let header = protocol::MessageHeader::frame(magic, m_type, payload.len(), &hash);
        CNetMessage {
            m_type: Cow::Borrowed(m_type),
            m_message_size: payload.len() as u32,
            m_raw_message_size: (payload.len() + HEADER_SIZE) as u32,
            m_recv: payload,
            m_time: time_micros,
            m_hash: hash,
            m_header: header.to_bytes(),
            m_hash_pending: false,
            m_shared: None,
        }
    }

    /// Not in Core: a `logos` message whose payload is shared (see [`Self::m_shared`]), with
    /// the id and header its sender framed it with.
    pub fn shared_logos(
        payload: Arc<Vec<u8>>,
        hash: [u8; 32],
        header: [u8; HEADER_SIZE],
        time_micros: i64,
    ) -> Self {
        CNetMessage {
            m_type: Cow::Borrowed(protocol::message::net_msg_type::LOGOS),
            m_recv: Vec::new(),
            m_time: time_micros,
            m_message_size: payload.len() as u32,
            m_raw_message_size: (payload.len() + HEADER_SIZE) as u32,
            m_hash: hash,
            m_header: header,
            m_hash_pending: false,
            m_shared: Some(payload),
        }
    }

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
        self.m_hash[..CHECKSUM_SIZE] == self.m_header[CHECKSUM_OFFSET..]
    }

    /// Port of CNetMessage::GetMemoryUsage (net.cpp).
    pub fn get_memory_usage(&self) -> usize {
        std::mem::size_of::<Self>() + self.m_recv.capacity()
    }
}

/// A message ready to be sent: its type, its payload and, when already known, its header.
///
/// Port of `CSerializedNetMsg` (net.h). The payload is shared (`Arc`) so one flooded message
/// queued to many peers is stored once, and a received payload is relayed without a copy. The
/// type is a `&'static str`: every message we send has a known type, so queueing one allocates
/// no string.
#[derive(Clone, Debug)]
pub struct SerializedNetMsg {
    /// Message type (command), e.g. `"version"`.
    pub m_type: &'static str,
    /// Payload bytes.
    pub data: Arc<Vec<u8>>,
    /// A prebuilt header for this payload (magic, type, length, checksum), if the sender has
    /// one already (a relayed message keeps the header it arrived with).
    pub header: Option<[u8; HEADER_SIZE]>,
    /// Not in Core: for a relayed `logos` payload, the peer it came from (its share of a full
    /// send queue is counted per origin, connman/send.rs); `None` for everything else.
    pub relay_origin: Option<crate::eviction::NodeId>,
}

impl SerializedNetMsg {
    /// Not in Core: a message of type `m_type` with payload `data`; its header is built when sent.
    pub fn new(m_type: &'static str, data: Vec<u8>) -> Self {
        SerializedNetMsg {
            m_type,
            data: Arc::new(data),
            header: None,
            relay_origin: None,
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
            relay_origin: None,
        }
    }

    /// Port of NetMsg::Make (netmessagemaker.h): the message serialized by protocol's codec.
    /// `None` for a hand-built type this crate does not know (never sent).
    pub fn from_message(msg: &protocol::NetworkMessage) -> Option<Self> {
        Some(SerializedNetMsg::new(
            msg.static_command()?,
            msg.encode_payload(),
        ))
    }
}
