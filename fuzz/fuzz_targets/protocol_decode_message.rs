//! Feeds arbitrary bytes to the message framing and payload decoders (header + message), on a
//! Bitcoin and a Logos network. Nothing may panic, and a decoded message must encode back to
//! bytes that decode to the same message (the bytes themselves need not match: messages
//! without fields drop their payload and Core ignores bytes after the last field). The one
//! allowed exception: a `version` user agent that was not UTF-8 was decoded lossily and may
//! have grown past MAX_SUBVERSION_LENGTH.
#![no_main]

use libfuzzer_sys::fuzz_target;
use protocol::address::{AddrSerParams, CAddress};
use protocol::message::ALL_NET_MESSAGE_TYPES;
use protocol::{Chain, MessageHeader, NetworkMessage, NetworkParams, RawNetworkMessage};

/// A `version` whose user agent had bytes that are not UTF-8 (replaced by U+FFFD on decoding).
fn lossy_user_agent(msg: &NetworkMessage) -> bool {
    matches!(msg, NetworkMessage::Version(v) if v.user_agent.contains('\u{FFFD}'))
}

fuzz_target!(|data: &[u8]| {
    // Whole frames, on a Bitcoin and a Logos network.
    for chain in [Chain::Regtest, Chain::LogosRegtest] {
        let params = NetworkParams::get(chain);
        if let Ok((msg, used)) = RawNetworkMessage::decode_prefix(data, params) {
            assert!(used <= data.len());
            let again = msg.encode(params.hash_kind);
            match RawNetworkMessage::decode(&again, params) {
                Ok(back) => assert_eq!(back, msg),
                Err(e) => assert!(lossy_user_agent(&msg.payload), "re-encoded frame: {e}"),
            }
        }
    }

    // The header alone, and its checks.
    if let Ok(h) = protocol::deserialize::<MessageHeader>(data.get(..24).unwrap_or(data)) {
        let _ = h.command_str();
        let _ = h.check_start_and_size(h.magic, protocol::header::MAX_PROTOCOL_MESSAGE_LENGTH);
    }

    // Payloads: the first byte picks the message type, the rest is the payload.
    if let Some((&sel, payload)) = data.split_first() {
        let types = ALL_NET_MESSAGE_TYPES.len() + 1;
        let command = ALL_NET_MESSAGE_TYPES
            .get(usize::from(sel) % types)
            .copied()
            .unwrap_or("logos");
        if let Ok(msg) = NetworkMessage::decode_payload(command, payload) {
            let re = msg.encode_payload();
            match NetworkMessage::decode_payload(command, &re) {
                Ok(back) => assert_eq!(back, msg),
                Err(e) => assert!(
                    lossy_user_agent(&msg),
                    "re-encoded {command} does not decode: {e}"
                ),
            }
        }
        for p in [
            AddrSerParams::V1_NETWORK,
            AddrSerParams::V2_NETWORK,
            AddrSerParams::V1_DISK,
            AddrSerParams::V2_DISK,
        ] {
            let _ = CAddress::decode_with(&mut &payload[..], p);
        }
    }
});
