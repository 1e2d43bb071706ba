//! `-connect` / `-addnode` by host name (Core's CConnman::ConnectNode resolving `pszDest` with
//! Lookup): the name is resolved when the connection is opened, every resolved address is
//! tried, and the loopback-only test guard judges the resolved address, not the name.
mod common;

use std::collections::HashMap;
use std::io;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use net::connection_type::ConnectionType;
use net::connman::SharedResolver;
use net::dnsseed::DnsResolver;
use net::Options;
use protocol::{CAddress, Chain, ServiceFlags};

const LONG: Duration = Duration::from_secs(10);

/// A resolver answering from a fixed table and recording the names asked.
struct TableResolver {
    table: HashMap<String, Vec<IpAddr>>,
    asked: Mutex<Vec<String>>,
}

impl DnsResolver for TableResolver {
    fn lookup(&self, host: &str) -> io::Result<Vec<IpAddr>> {
        if let Ok(mut a) = self.asked.lock() {
            a.push(host.to_string());
        }
        self.table
            .get(host)
            .cloned()
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, host.to_string()))
    }
}

fn open_manual(node: &TestNode, dest: &str) -> bool {
    node.connman.open_network_connection(
        &CAddress::new(netbase::CService::default(), ServiceFlags(0), 0),
        false,
        None,
        Some(dest),
        ConnectionType::Manual,
    )
}

/// `localhost:<port>` through the system resolver (getaddrinfo, as Core): the connection is
/// made to the listening node, whichever of 127.0.0.1 / ::1 the name gives first.
#[test]
fn connect_to_localhost_by_name() {
    let a = start_node(Chain::LogosRegtest, Recorder::accepting());
    let b = start_node(Chain::LogosRegtest, Recorder::accepting());
    assert!(open_manual(&b, &format!("localhost:{}", a.port)));
    assert!(wait_until(LONG, || a.connman.fully_connected_count() == 1
        && b.connman.fully_connected_count() == 1));
    let stats = b.connman.get_node_stats();
    assert_eq!(stats.len(), 1);
    assert_eq!(stats[0].m_addr_name, format!("localhost:{}", a.port));
    assert!(stats[0].addr.addr.is_local());
    assert_eq!(stats[0].addr.get_port(), a.port);
    // The same name again: already connected (by name).
    assert!(!open_manual(&b, &format!("localhost:{}", a.port)));
}

/// The resolver seam: a name resolving to loopback connects; a name resolving to a public
/// address is resolved, then refused by the loopback-only guard (nothing is dialled); a name
/// resolving to an address already connected is not dialled again.
#[test]
fn loopback_guard_checks_the_resolved_address() {
    let _g = log_lock();
    let a = start_node(Chain::LogosRegtest, Recorder::accepting());
    let resolver = Arc::new(TableResolver {
        table: HashMap::from([
            (
                "peer.test".to_string(),
                vec!["127.0.0.1".parse::<IpAddr>().unwrap()],
            ),
            (
                "alias.test".to_string(),
                vec!["127.0.0.1".parse::<IpAddr>().unwrap()],
            ),
            (
                "public.test".to_string(),
                vec!["203.0.113.7".parse::<IpAddr>().unwrap()],
            ),
        ]),
        asked: Mutex::new(Vec::new()),
    });
    let opts = Options {
        dns_resolver: Some(SharedResolver(resolver.clone())),
        ..test_options()
    };
    let b = start_node_with(Chain::LogosRegtest, opts, Recorder::accepting());

    let mark = log_mark();
    assert!(!open_manual(&b, &format!("public.test:{}", a.port)));
    assert!(log_since(mark).iter().any(|l| l.contains(&format!(
        "test mode: refusing to dial non-loopback address 203.0.113.7:{}",
        a.port
    ))));
    assert!(!open_manual(&b, "unknown.test"));

    assert!(open_manual(&b, &format!("peer.test:{}", a.port)));
    assert!(wait_until(LONG, || b.connman.fully_connected_count() == 1));
    assert_eq!(
        b.connman.get_node_stats()[0].addr.to_string_addr_port(),
        format!("127.0.0.1:{}", a.port)
    );

    let mark = log_mark();
    assert!(!open_manual(&b, &format!("alias.test:{}", a.port)));
    assert!(log_since(mark).iter().any(|l| l
        == &format!(
            "Not opening a connection to alias.test:{}, already connected to 127.0.0.1:{}",
            a.port, a.port
        )));
    let asked = resolver.asked.lock().map(|a| a.clone()).unwrap_or_default();
    for name in ["public.test", "unknown.test", "peer.test", "alias.test"] {
        assert!(
            asked.iter().any(|n| n == name),
            "{name} not looked up: {asked:?}"
        );
    }
    // Numeric destinations never reach the resolver.
    let before = asked.len();
    assert!(!open_manual(&b, &format!("127.0.0.1:{}", a.port)));
    assert_eq!(resolver.asked.lock().map(|a| a.len()).unwrap_or(0), before);
}
