//! The upper layer's side of the `logos` flood (the 2019 Logos port's `ReceiveMessageCallback`
//! and `IsMessageImportant`): what the Logos node implements. The connection manager calls it
//! on the message-handler thread only, never while holding a lock of its own, so a callback may
//! call back into the layer (list the peers, propagate a message, ban the sender).

use netbase::CService;

use crate::eviction::NodeId;

/// Who sent a payload: enough for the upper layer to punish a peer that floods invalid ones
/// (`add_to_blacklist` on its address, or `disconnectnode` by id).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MessageSource {
    /// The peer's node id (as `getpeerinfo` / `peers()` list it).
    pub id: NodeId,
    /// The peer's address.
    pub addr: CService,
}

/// Upper-layer interface: the Logos node's callbacks for `logos` payloads.
pub trait UpperLayer: Send + Sync {
    /// A `logos` payload not seen before arrived from `from`. `true`: valid, relay it to all
    /// other peers; `false`: drop it (it is remembered as refused for a while).
    fn receive_message(&self, msg: &[u8], from: &MessageSource) -> bool;
    /// Whether the payload must also reach peers that connect later (asked for accepted
    /// payloads and for our own).
    fn is_message_important(&self, _msg: &[u8]) -> bool {
        false
    }
}

/// An upper layer that accepts every message and keeps nothing (for a bare P2P node).
#[derive(Debug, Default, Clone, Copy)]
pub struct AcceptAll;

impl UpperLayer for AcceptAll {
    fn receive_message(&self, _msg: &[u8], _from: &MessageSource) -> bool {
        true
    }
}
