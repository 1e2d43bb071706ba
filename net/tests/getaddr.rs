//! The `getaddr` answer against bitcoind's (shared/vectors/bitcoind-regtest/inbound-session.json):
//! an inbound peer that sends version, sendaddrv2, verack, getaddr gets the same messages from
//! us as from bitcoind (minus the removed transaction/block ones), and an `addrv2` of 23% of
//! the 1,488 addresses of bitcoind's peers.dat.
mod common;

use std::collections::HashSet;
use std::time::Duration;

use common::*;
use protocol::{AddrEncoding, AddrFormat, AddrSerParams, CAddress, Chain};

const VECTORS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/vectors/bitcoind-regtest"
);

/// Mirrors p2p_getaddr_caching.py / p2p_addrv2_relay.py on bitcoind's own data.
#[test]
fn getaddr_answer_matches_bitcoind_session() {
    let node = start_node(Chain::Regtest, Recorder::accepting());
    let dat = std::fs::read(format!("{VECTORS}/peers.dat")).expect("peers.dat");
    addrman::addrdb::read_peers_dat(&node.addrman, &dat, node.params.message_start).expect("load");
    assert_eq!(node.addrman.size(None, None), 1488);
    let all: HashSet<netbase::CService> = node
        .addrman
        .get_addr(0, 0, None, false)
        .into_iter()
        .map(|a| a.service)
        .collect();

    let session: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(format!("{VECTORS}/inbound-session.json")).expect("json"),
    )
    .expect("parse");
    let theirs: Vec<String> = session["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .filter_map(|m| m["command"].as_str().map(str::to_string))
        .filter(|c| !["wtxidrelay", "sendcmpct", "feefilter"].contains(&c.as_str()))
        .collect();

    let mut p = RawPeer::connect(&node);
    p.send_version();
    p.send("sendaddrv2", &[]).ok();
    let mut ours = Vec::new();
    let mut addrv2 = None;
    while let Some((c, payload)) = p.recv(Duration::from_secs(2)) {
        if c == "verack" {
            p.send("verack", &[]).ok();
            p.send("getaddr", &[]).ok();
        }
        if c == "addrv2" {
            addrv2 = Some(payload);
        }
        ours.push(c);
        if addrv2.is_some() {
            break;
        }
    }
    assert_eq!(ours, theirs, "bitcoind sent {theirs:?}");
    let payload = addrv2.expect("addrv2 answer");
    let params = AddrSerParams {
        fmt: AddrFormat::Network,
        enc: AddrEncoding::V2,
    };
    let mut r = payload.as_slice();
    let v: Vec<CAddress> =
        protocol::encode::read_vec(&mut r, |x| CAddress::decode_with(x, params)).expect("decode");
    assert_eq!(v.len(), 1488 * 23 / 100);
    assert!(v.iter().all(|a| all.contains(&a.service)));
    // A second getaddr on the same connection is ignored.
    p.send("getaddr", &[]).ok();
    assert!(!matches!(p.recv(Duration::from_millis(500)), Some((c, _)) if c == "addrv2"));
}
