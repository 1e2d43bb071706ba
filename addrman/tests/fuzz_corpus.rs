//! The committed corpus of each fuzz target of this crate (`fuzz/corpus/<target>/`) replayed
//! through the target on stable, as CI runs it (see `protocol::fuzz`).

use addrman::fuzz::{addrman_ops, banlist_json, peers_dat, store_values};
use protocol::fuzz::replay_corpus;

#[test]
fn addrman_ops_corpus() {
    assert!(replay_corpus("addrman_ops", addrman_ops) > 0);
}

#[test]
fn peers_dat_corpus() {
    assert!(replay_corpus("peers_dat", peers_dat) > 0);
}

#[test]
fn banlist_json_corpus() {
    assert!(replay_corpus("banlist_json", banlist_json) > 0);
}

#[test]
fn store_values_corpus() {
    assert!(replay_corpus("store_values", store_values) > 0);
}

/// Found by `peers_dat`: a peers.dat whose address data reads but whose checksum is wrong. The
/// load fails, as in Core, and (unlike Core, whose callers throw the address manager away)
/// leaves the address manager empty and consistent, as every other failed load does.
#[test]
fn peers_dat_regression_checksum_mismatch_after_data() {
    let input = include_bytes!("../../fuzz/regressions/peers_dat/checksum-mismatch-after-data");
    peers_dat(input);
    let a = addrman::AddrMan::new(
        netbase::NetGroupManager::new(),
        true,
        0,
        protocol::HashKind::Sha256d,
    );
    let magic = protocol::NetworkParams::get(protocol::Chain::Regtest).message_start;
    let e = addrman::read_peers_dat(&a, input, magic).unwrap_err();
    assert_eq!(e.kind, addrman::AddrDbErrorKind::ChecksumMismatch);
    assert_eq!(a.size(None, None), 0);
    assert_eq!(a.check_addrman(), 0);
    // A missing checksum (the data ends where it should start) is handled the same way.
    let cut = &input[..input.len() - 32];
    let e = addrman::read_peers_dat(&a, cut, magic).unwrap_err();
    assert_eq!(e.kind, addrman::AddrDbErrorKind::Truncated);
    assert_eq!(a.size(None, None), 0);
}
