//! The committed corpus of each fuzz target of this crate (`fuzz/corpus/<target>/`) replayed
//! through the target on stable, as CI runs it (see `protocol::fuzz`).

use protocol::fuzz::{message_decode, replay_corpus};

#[test]
fn message_decode_corpus() {
    assert!(replay_corpus("message_decode", message_decode) > 0);
}
