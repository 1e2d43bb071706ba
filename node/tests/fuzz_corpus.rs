//! The committed corpus of each fuzz target of this crate (`fuzz/corpus/<target>/`) replayed
//! through the target on stable, as CI runs it (see `protocol::fuzz`).

use node::fuzz::{http_request, jsonrpc};
use protocol::fuzz::replay_corpus;

#[test]
fn jsonrpc_corpus() {
    assert!(replay_corpus("jsonrpc", jsonrpc) > 0);
}

#[test]
fn http_request_corpus() {
    assert!(replay_corpus("http_request", http_request) > 0);
}
