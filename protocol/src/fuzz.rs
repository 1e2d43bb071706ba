//! Fuzz entry points (Core's `src/test/fuzz/`), and the two helpers every crate's targets share.
//!
//! Each target is a plain function of the input bytes that panics on a broken invariant. The
//! cargo-fuzz binaries in `fuzz/fuzz_targets/` (nightly, libFuzzer) call it, and a plain
//! `cargo test` replays the committed corpus `fuzz/corpus/<target>/` through it on stable
//! ([`replay_corpus`]), so CI guards the targets without nightly. Not part of the API.
//!
//! Targets here: [`message_decode`]. The others live beside the code they drive:
//! `net::fuzz` (the V1 transport, the peer manager), `addrman::fuzz` (address manager
//! operations, peers.dat, banlist.json, stored values), `node::fuzz` (HTTP requests, JSON-RPC).

use std::path::{Path, PathBuf};

use crate::address::{AddrSerParams, CAddress};
use crate::message::{net_msg_type as t, ALL_NET_MESSAGE_TYPES, RELAY_MESSAGE_TYPES};
use crate::{NetworkMessage, VersionMessage};

/// The input as a stream of fields (in the manner of Core's `FuzzedDataProvider`): each read
/// takes bytes from the front and gives `None` once the input is used up.
pub struct FuzzInput<'a> {
    data: &'a [u8],
}

impl<'a> FuzzInput<'a> {
    /// A reader over `data`.
    pub fn new(data: &'a [u8]) -> Self {
        FuzzInput { data }
    }

    /// Bytes not read yet.
    pub fn remaining(&self) -> usize {
        self.data.len()
    }

    /// One byte.
    pub fn u8(&mut self) -> Option<u8> {
        let (b, rest) = self.data.split_first()?;
        self.data = rest;
        Some(*b)
    }

    /// A bool (the low bit of a byte).
    pub fn bool(&mut self) -> Option<bool> {
        Some(self.u8()? & 1 == 1)
    }

    /// Two bytes, little-endian.
    pub fn u16(&mut self) -> Option<u16> {
        Some(u16::from_le_bytes(self.array()?))
    }

    /// Four bytes, little-endian.
    pub fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.array()?))
    }

    /// Eight bytes, little-endian.
    pub fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.array()?))
    }

    /// `N` bytes.
    pub fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        let b = self.bytes(N)?;
        let mut out = [0u8; N];
        out.copy_from_slice(b);
        Some(out)
    }

    /// Exactly `n` bytes.
    pub fn bytes(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.data.len() < n {
            return None;
        }
        let (b, rest) = self.data.split_at(n);
        self.data = rest;
        Some(b)
    }

    /// A length byte, then up to that many bytes (fewer at the end of the input).
    pub fn short_bytes(&mut self) -> Option<&'a [u8]> {
        let n = usize::from(self.u8()?).min(self.data.len());
        self.bytes(n)
    }

    /// A two-byte length, then up to that many bytes (fewer at the end of the input).
    pub fn long_bytes(&mut self) -> Option<&'a [u8]> {
        let n = usize::from(self.u16()?).min(self.data.len());
        self.bytes(n)
    }

    /// One of `items`, chosen by a byte.
    pub fn pick<T: Copy>(&mut self, items: &[T]) -> Option<T> {
        let i = usize::from(self.u8()?) % items.len();
        Some(items[i])
    }

    /// Everything not read yet.
    pub fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.data)
    }
}

/// The committed corpus of fuzz target `target`: `fuzz/corpus/<target>/` in this workspace.
pub fn corpus_dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target)
}

/// Runs `target` on every file of its committed corpus ([`corpus_dir`] of `name`), in name
/// order, and returns how many there were. Panics, naming the file, if the target does; and if
/// the directory is missing or empty, so that a lost corpus fails the test rather than passing
/// it vacuously.
pub fn replay_corpus(name: &str, target: fn(&[u8])) -> usize {
    let dir = corpus_dir(name);
    let dir = dir.as_path();
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("corpus {}: {e}", dir.display()))
        .map(|e| e.expect("corpus entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "corpus {} is empty", dir.display());
    for path in &files {
        let bytes = std::fs::read(path).expect("corpus file");
        if std::panic::catch_unwind(|| target(&bytes)).is_err() {
            panic!("fuzz target failed on {}", path.display());
        }
    }
    files.len()
}

/// The message types the fuzz targets send: Core's [`ALL_NET_MESSAGE_TYPES`], `logos`, the
/// Stage 2 relay's [`RELAY_MESSAGE_TYPES`], and one type nobody knows.
pub fn fuzz_message_types() -> Vec<&'static str> {
    let mut v = ALL_NET_MESSAGE_TYPES.to_vec();
    v.push(t::LOGOS);
    v.extend_from_slice(&RELAY_MESSAGE_TYPES);
    v.push("fuzzunknown");
    v
}

/// A `version` whose user agent had bytes that are not UTF-8 (replaced by U+FFFD when decoded,
/// so it may grow past `MAX_SUBVERSION_LENGTH` and not decode again).
fn lossy_user_agent(msg: &NetworkMessage) -> bool {
    matches!(msg, NetworkMessage::Version(v) if v.user_agent.contains('\u{FFFD}'))
}

/// Not in Core: target `message_decode`, the one message decoder the node runs, for every message
/// type.
///
/// The first byte picks the type ([`fuzz_message_types`]), the rest is the payload. The
/// receive path's [`NetworkMessage::decode_payload_owned`] must agree with
/// [`NetworkMessage::decode_payload`]; a decoded message has its type, and encodes to a payload
/// that decodes to the same message; a Stage 2 relay message (`sendannounce`, `announce`,
/// `getlogos`, `getlogosid`, `lognotfound`; not `sendpush`, whose flag is any non-zero byte)
/// encodes to the very bytes it was read from. For `version`, the head the handshake falls
/// back to ([`VersionMessage::decode_head`]) must decode whenever the whole message does, with
/// the same fields. The payload is also read as one address in each of the four
/// serializations (network and disk, V1 and BIP155), each of which must round-trip.
pub fn message_decode(data: &[u8]) {
    let Some((&sel, payload)) = data.split_first() else {
        return;
    };
    let types = fuzz_message_types();
    let command = types[usize::from(sel) % types.len()];

    let owned = NetworkMessage::decode_payload_owned(command, payload.to_vec());
    let borrowed = NetworkMessage::decode_payload(command, payload);
    assert_eq!(owned, borrowed, "{command}: the two decoders disagree");
    if let Ok(msg) = owned {
        assert_eq!(msg.command(), command);
        if !matches!(msg, NetworkMessage::Unknown { .. }) {
            assert_eq!(msg.static_command(), Some(command));
        }
        let again = msg.encode_payload();
        if RELAY_MESSAGE_TYPES.contains(&command) && command != t::SENDPUSH {
            // The relay's messages read a prefix of the payload (later bytes are ignored): that
            // prefix is the message encoded again, so no entry was made up or dropped and the
            // count was in its one canonical form (`sendpush` reads any non-zero byte as on).
            assert_eq!(
                payload.get(..again.len()),
                Some(&again[..]),
                "{command}: decoded from other bytes than it encodes to"
            );
        }
        match NetworkMessage::decode_payload(command, &again) {
            Ok(back) => assert_eq!(back, msg, "{command}: re-encoded payload decodes otherwise"),
            Err(e) => assert!(
                lossy_user_agent(&msg),
                "{command}: re-encoded payload does not decode: {e}"
            ),
        }
    }

    if command == t::VERSION {
        let head = VersionMessage::decode_head(payload);
        if let Ok(full) = VersionMessage::decode_payload(payload) {
            let head = head.expect("a version that decodes has a head");
            assert_eq!(
                (head.version, head.services, head.timestamp, head.addr_recv),
                (full.version, full.services, full.timestamp, full.addr_recv)
            );
        }
    }

    for p in [
        AddrSerParams::V1_NETWORK,
        AddrSerParams::V2_NETWORK,
        AddrSerParams::V1_DISK,
        AddrSerParams::V2_DISK,
    ] {
        if let Ok(a) = CAddress::decode_with(&mut &payload[..], p) {
            let mut out = Vec::new();
            a.encode_with(&mut out, p).expect("encode to a Vec");
            let back = CAddress::decode_with(&mut &out[..], p).expect("re-encoded address");
            assert_eq!(back, a);
        }
    }
}
