//! `P2p::get_peers` paged with a cursor while peers come and go: every page comes from one
//! `CConnman::get_node_stats` snapshot, and the id cursor gives no duplicates and skips no peer
//! that stayed connected throughout.

mod api_common;

use std::collections::{HashSet, VecDeque};
use std::net::TcpStream;
use std::time::Duration;

use api_common::*;

fn local(s: &TcpStream) -> String {
    s.local_addr().unwrap().to_string()
}

/// Not in Core: 2019 p2p_interface::get_peers paging (logos/p2p/p2p.cpp) under churn. Twelve
/// inbound loopback connections, six staying and six churning interleaved by id; after each
/// page one churning peer leaves (the one the cursor points at when there is one) and a new one
/// arrives, and the walk goes on until A has seen both. Three full walks: ids strictly
/// increase (no duplicate), every stayer is listed, no page is larger than asked.
#[test]
fn api_get_peers_cursor_under_churn() {
    let a = start(Recorder::new());
    let addr = addr_of(&a);
    let dial = || TcpStream::connect(&addr).expect("connect to A");
    let mut stay = Vec::new();
    let mut churn = VecDeque::new();
    for _ in 0..6 {
        stay.push(dial());
        churn.push_back(dial());
    }
    assert!(
        wait_until(WAIT, || a.peers().len() == 12),
        "A sees {} peers",
        a.peers().len()
    );
    let stayers: HashSet<String> = stay.iter().map(local).collect();
    let mut total_pages = 0;
    for walk in 0..3 {
        let mut cursor = Some(0i64);
        let mut ids = Vec::new();
        let mut seen = HashSet::new();
        let mut pages = 0;
        while let Some(c) = cursor {
            pages += 1;
            assert!(pages < 100, "walk {walk} does not end");
            let (page, next) = a.get_peers(c, 2);
            assert!(page.len() <= 2);
            for p in &page {
                assert!(p.id >= c, "id {} below the cursor {c}", p.id);
                assert!(p.inbound);
                ids.push(p.id);
                seen.insert(p.address.clone());
            }
            // Churn between pages: the peer the cursor points at leaves if it is a churning
            // one (else the oldest churning one), and a new peer arrives.
            let at_cursor = next.and_then(|n| a.peers().into_iter().find(|p| p.id == n));
            let idx = at_cursor
                .and_then(|p| churn.iter().position(|s| local(s) == p.address))
                .unwrap_or(0);
            let gone = churn.remove(idx).expect("a churning peer");
            let gone_addr = local(&gone);
            drop(gone);
            let new = dial();
            let new_addr = local(&new);
            churn.push_back(new);
            assert!(
                wait_until(WAIT, || {
                    let ps = a.peers();
                    !ps.iter().any(|p| p.address == gone_addr)
                        && ps.iter().any(|p| p.address == new_addr)
                }),
                "A did not see {gone_addr} leave and {new_addr} arrive"
            );
            cursor = next;
        }
        assert!(
            ids.windows(2).all(|w| w[0] < w[1]),
            "walk {walk}: ids not strictly increasing (duplicate?): {ids:?}"
        );
        for s in &stayers {
            assert!(seen.contains(s), "walk {walk}: stayer {s} skipped");
        }
        total_pages += pages;
    }
    assert!(total_pages >= 9, "{total_pages} pages");
    // The snapshot is consistent with the live connections at the end.
    std::thread::sleep(Duration::from_millis(100));
    let live: HashSet<String> = stay.iter().chain(churn.iter()).map(local).collect();
    let listed: HashSet<String> = a.peers().into_iter().map(|p| p.address).collect();
    assert_eq!(listed, live);
}
