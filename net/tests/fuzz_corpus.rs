//! The committed corpus of each fuzz target of this crate (`fuzz/corpus/<target>/`) replayed
//! through the target on stable, as CI runs it (see `protocol::fuzz`).

use net::fuzz::{peerman, v1_transport};
use protocol::fuzz::replay_corpus;

#[test]
fn v1_transport_corpus() {
    assert!(replay_corpus("v1_transport", v1_transport) > 0);
}

#[test]
fn peerman_corpus() {
    assert!(replay_corpus("peerman", peerman) > 0);
}
