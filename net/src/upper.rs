//! The upper layer's side of the `logos` flood (the 2019 Logos port's `ReceiveMessageCallback`
//! and `IsMessageImportant`): what the Logos node implements. The connection manager calls it
//! on the message-handler thread only, never while holding a lock of its own, so a callback may
//! call back into the layer (list the peers, propagate a message, ban the sender, report a
//! final verdict).
//!
//! Verdicts (Stage 2, DESIGN.md "The `logos` command"): the upper layer may verify a payload
//! quickly ([`UpperLayer::verify_message`]) and answer with a [`Verdict`]; the checks it skipped
//! it reports later, per payload id, as a [`FinalVerdict`] (`P2p::final_verdict`). The 2019
//! contract, [`UpperLayer::receive_message`] returning a bool, keeps working: `true` is
//! [`Verdict::Accept`], `false` is [`Verdict::Ignore`].

use netbase::CService;

use crate::eviction::NodeId;
use crate::flood::PayloadId;

/// Who sent a payload: enough for the upper layer to punish a peer that floods invalid ones
/// (`add_to_blacklist` on its address, or `disconnectnode` by id).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MessageSource {
    /// The peer's node id (as `getpeerinfo` / `peers()` list it).
    pub id: NodeId,
    /// The peer's address.
    pub addr: CService,
}

/// The upper layer's quick answer on a payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Valid as far as checked: relay it now (checks skipped here may still end in a
    /// [`FinalVerdict::Invalid`]).
    Accept,
    /// Not wanted (not invalid): not relayed, the sender not punished (Core's policy failures,
    /// such as a non-standard transaction). Remembered as refused for a while.
    Ignore,
    /// Invalid: not relayed, and the sender is punished through Core's misbehaviour path
    /// (discouraged and disconnected; never a `noban`, manual or local peer), as Core punishes
    /// a consensus-invalid transaction.
    Reject,
    /// Cannot be judged before these payloads (by id) are accepted: it waits in the pending
    /// pool, they are fetched, and it is offered again when they are (each payload reaches
    /// acceptance once). If one of them is refused, it is dropped.
    Pending(Vec<PayloadId>),
}

impl From<bool> for Verdict {
    /// The 2019 bool: `true` accepts, `false` ignores.
    fn from(accepted: bool) -> Self {
        if accepted {
            Verdict::Accept
        } else {
            Verdict::Ignore
        }
    }
}

/// The upper layer's final answer on a payload it accepted quickly (its full checks done).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FinalVerdict {
    /// The payload is valid: nothing changes.
    Valid,
    /// The payload is invalid: it is no longer served to peers (requests, catch-up), a later
    /// copy is dropped, and the payloads waiting for it are dropped. The peers that relayed
    /// it are not punished (they could not have known).
    Invalid,
}

/// Upper-layer interface: the Logos node's callbacks for `logos` payloads. Implement
/// [`Self::receive_message`] (the 2019 bool contract) or [`Self::verify_message`] (verdicts);
/// the layer calls `verify_message`, whose default asks `receive_message`.
pub trait UpperLayer: Send + Sync {
    /// A `logos` payload not seen before arrived from `from`. `true`: valid, relay it to all
    /// other peers; `false`: drop it (it is remembered as refused for a while). Not called when
    /// [`Self::verify_message`] is implemented; the default accepts.
    fn receive_message(&self, _msg: &[u8], _from: &MessageSource) -> bool {
        true
    }
    /// A `logos` payload not seen before (or one whose dependencies have now arrived) with id
    /// `id` (its network hash) arrived from `from`: the quick verdict. The default maps
    /// [`Self::receive_message`]'s bool (true: [`Verdict::Accept`], false: [`Verdict::Ignore`]).
    fn verify_message(&self, msg: &[u8], _id: &PayloadId, from: &MessageSource) -> Verdict {
        Verdict::from(self.receive_message(msg, from))
    }
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
