//! Protocol version numbers (Core's `node/protocol_version.h`) and the user-agent limit
//! (`MAX_SUBVERSION_LENGTH`, net.h).

/// Protocol version we speak and announce in `version`.
pub const PROTOCOL_VERSION: i32 = 70016;

/// Version assumed for a peer until `version` / `verack` have been exchanged.
pub const INIT_PROTO_VERSION: i32 = 209;

/// Peers announcing a lower version are disconnected.
pub const MIN_PEER_PROTO_VERSION: i32 = 31800;

/// BIP 31 (`pong`) applies to versions above this one.
pub const BIP0031_VERSION: i32 = 60000;

/// BIP 130 `sendheaders` starts with this version (recognised only; no headers here).
pub const SENDHEADERS_VERSION: i32 = 70012;

/// BIP 133 `feefilter` starts with this version (recognised only).
pub const FEEFILTER_VERSION: i32 = 70013;

/// BIP 152 compact blocks start with this version (recognised only).
pub const SHORT_IDS_BLOCKS_VERSION: i32 = 70014;

/// Invalid compact blocks stop being punished from this version (recognised only).
pub const INVALID_CB_NO_BAN_VERSION: i32 = 70015;

/// BIP 339 `wtxidrelay` starts with this version (recognised only).
pub const WTXID_RELAY_VERSION: i32 = 70016;

/// Longest user agent (`strSubVer`) accepted in `version` (net.h `MAX_SUBVERSION_LENGTH`).
pub const MAX_SUBVERSION_LENGTH: usize = 256;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_order() {
        const { assert!(INIT_PROTO_VERSION < MIN_PEER_PROTO_VERSION) };
        const { assert!(MIN_PEER_PROTO_VERSION < BIP0031_VERSION) };
        const { assert!(WTXID_RELAY_VERSION == PROTOCOL_VERSION) };
        assert_eq!(PROTOCOL_VERSION.to_le_bytes(), [0x80, 0x11, 0x01, 0x00]);
    }
}
