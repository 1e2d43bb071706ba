//! The control surface of the upper-layer API (2019 `p2p_interface`): paged peers, blacklist,
//! options, the UI callback, the typed config from arguments, database save / load, shutdown.

mod api_common;
mod bin_common;

use addrman::store::KvStore as _;
use std::sync::Arc;
use std::time::Duration;

use addrman::store::{addrman_from_bytes, AddrManOptions, Store, PEERS_KEY};
use api_common::*;
use bin_common::temp_dir;
use netbase::NetGroupManager;
use node::api::{
    options, P2p, P2pConfig, P2pError, Storage, UiLevel, P2P_OPTION_ARGUMENT, P2P_OPTION_MULTI,
};
use parking_lot::Mutex;
use protocol::{Chain, NetworkParams};

/// Three peers connect to A: `get_peers` pages them 2 + 1 in id order with the cursor, with
/// address, direction, connect time and byte counts.
#[test]
fn api_get_peers_paging() {
    let a = start(Recorder::new());
    let others: Vec<P2p> = (0..3).map(|_| start(Recorder::new())).collect();
    for (i, o) in others.iter().enumerate() {
        connect(o, &a, 1, i + 1);
    }
    let (page1, next) = a.get_peers(0, 2);
    assert_eq!(page1.len(), 2);
    let next = next.expect("a second page");
    assert!(next > page1[1].id);
    let (page2, end) = a.get_peers(next, 2);
    assert_eq!(page2.len(), 1);
    assert_eq!(end, None);
    let all: Vec<_> = page1.iter().chain(page2.iter()).collect();
    let mut ids: Vec<i64> = all.iter().map(|p| p.id).collect();
    ids.dedup();
    assert_eq!(ids.len(), 3);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    for p in &all {
        assert!(p.inbound);
        assert_eq!(p.connection_type, "inbound");
        assert!(p.address.starts_with("127.0.0.1:"), "{}", p.address);
        assert!((now - 60..=now + 1).contains(&p.connected_since));
        assert!(p.bytes_sent > 0 && p.bytes_received > 0);
        assert!(p.handshake_complete);
    }
    // The dialling side sees one outbound (manual) peer.
    let (out, _) = others[0].get_peers(0, 10);
    assert_eq!(out.len(), 1);
    assert!(!out[0].inbound);
    assert_eq!(out[0].connection_type, "manual");
    assert_eq!(out[0].address, addr_of(&a));
    assert_eq!(a.get_peers(i64::MAX, 10), (Vec::new(), None));
    // add_peers keeps the peer in the added-node list; the "addcon" thread (next pass after
    // 2 s) must not open a second connection to it.
    std::thread::sleep(Duration::from_millis(2600));
    assert_eq!(a.peers().len(), 3);
    assert_eq!(others[0].peers().len(), 1);
}

/// Blacklisting 127.0.0.1 on A disconnects B and keeps it out; other addresses are not
/// blacklisted; garbage is refused.
#[test]
fn api_blacklist() {
    let a = start(Recorder::new());
    let b = start(Recorder::new());
    connect(&b, &a, 1, 1);
    assert!(!a.is_blacklisted("127.0.0.1"));
    assert!(a.add_to_blacklist("127.0.0.1"));
    assert!(a.is_blacklisted("127.0.0.1"));
    assert!(!a.is_blacklisted("10.1.2.3"));
    assert!(!a.is_blacklisted("not an address"));
    assert!(!a.add_to_blacklist("not an address"));
    assert!(wait_until(WAIT, || a.peers().is_empty() && b.peers().is_empty()));
    // B dials again: refused while banned.
    b.add_peers(&[addr_of(&a)]);
    std::thread::sleep(Duration::from_millis(800));
    assert_eq!(ready_peers(&a), 0);
    assert!(a.add_to_blacklist("192.168.0.0/16"));
    assert!(a.is_blacklisted("192.168.7.7"));
}

/// `options()` lists every option with a description and the 2019 flags.
#[test]
fn api_options_listed_with_descriptions() {
    let opts = options();
    assert!(opts.len() > 20, "{}", opts.len());
    for o in &opts {
        assert!(!o.name.is_empty() && !o.name.starts_with('-'));
        assert!(!o.description.is_empty(), "{} has no description", o.name);
    }
    let find = |n: &str| {
        opts.iter()
            .find(|o| o.name == n)
            .unwrap_or_else(|| panic!("{n}"))
    };
    assert_eq!(
        find("port").flags & P2P_OPTION_ARGUMENT,
        P2P_OPTION_ARGUMENT
    );
    assert_eq!(
        find("addnode").flags,
        P2P_OPTION_ARGUMENT | P2P_OPTION_MULTI
    );
    assert_eq!(P2p::options(), opts);
}

/// The config from bitcoind-style arguments: port 0 bind on loopback, test mode, data
/// directory; bad arguments are refused.
#[test]
fn api_config_from_args() {
    let dir = temp_dir("fromargs");
    let argv = [
        "host".to_string(),
        "-chain=logosregtest".to_string(),
        format!("-datadir={}", dir.display()),
        "-bind=127.0.0.1:0".to_string(),
        "-test=loopbackonly".to_string(),
        "-maxconnections=12".to_string(),
    ];
    let c = P2pConfig::from_args(&argv).expect("config");
    assert_eq!(c.chain, Chain::LogosRegtest);
    assert!(c.test_mode && c.net.test_loopback_only);
    assert_eq!(c.net.max_connections, 12);
    assert_eq!(c.net.binds, vec!["127.0.0.1:0".parse().unwrap()]);
    assert!(matches!(&c.storage, Storage::DataDir(d) if d.starts_with(&dir)));
    let p = P2p::start(c, Recorder::new()).expect("start");
    assert!(p.listen_port().unwrap() != 0);
    p.shutdown();
    assert!(matches!(
        P2pConfig::from_args(&["host", "-nosuchoption=1"]),
        Err(P2pError::Config(_))
    ));
    assert!(matches!(
        P2pConfig::from_args(&["host", "-maxconnections=-1", "-datadir=/nonexistent/x"]),
        Err(P2pError::Config(_))
    ));
    let _ = std::fs::remove_dir_all(&dir);
}

/// The UI callback gets the start-up progress (INIT) and the shutdown (INFO); a failed start is
/// an ERROR.
#[test]
fn api_ui_callback_levels() {
    let seen: Arc<Mutex<Vec<(UiLevel, String)>>> = Arc::default();
    let mut c = P2pConfig::loopback_test(Chain::LogosRegtest);
    let s = seen.clone();
    c.ui = Some(Arc::new(move |l, t| s.lock().push((l, t.to_string()))));
    let p = P2p::start(c.clone(), Recorder::new()).unwrap();
    // The same port twice cannot be bound: the second start fails with an ERROR message.
    let mut c2 = c.clone();
    c2.net.binds = vec![format!("127.0.0.1:{}", p.listen_port().unwrap())
        .parse()
        .unwrap()];
    assert!(matches!(
        P2p::start(c2, Recorder::new()),
        Err(P2pError::Start(_))
    ));
    p.shutdown();
    let v = seen.lock().clone();
    assert!(
        v.contains(&(UiLevel::Init, "Done loading".to_string())),
        "{v:?}"
    );
    assert!(v
        .iter()
        .any(|(l, t)| *l == UiLevel::Init && t.starts_with("Loading banlist")));
    assert!(v
        .iter()
        .any(|(l, t)| *l == UiLevel::Error && t.contains("Failed to listen")));
    assert_eq!(
        v.last().unwrap(),
        &(UiLevel::Info, "Shutdown: done".to_string())
    );
}

/// Shutdown joins the threads (the port is free again, calls after it are refused) and writes
/// both databases; a new instance on the same data directory loads them; `save_databases` /
/// `load_databases` work while running.
#[test]
fn api_shutdown_joins_and_dumps() {
    let dir = temp_dir("dump");
    let mut c = P2pConfig::loopback_test(Chain::LogosRegtest);
    c.storage = Storage::DataDir(dir.clone());
    let p = P2p::start(c.clone(), Recorder::new()).unwrap();
    let port = p.listen_port().unwrap();
    assert!(p.add_to_blacklist("1.2.3.4"));
    // A routable address enters the address manager; test mode refuses to dial it.
    assert_eq!(p.add_peers(&["8.8.8.8:8333"]), 1);
    assert!(p.peers().is_empty());
    assert!(p.save_databases());
    assert!(p.load_databases());
    p.shutdown();
    assert!(p.is_shut_down());
    assert!(!p.save_databases() && !p.load_databases() && p.peers().is_empty());
    p.shutdown(); // idempotent
    std::net::TcpListener::bind(("127.0.0.1", port)).expect("port released by shutdown");

    let store = Store::open(&dir).unwrap();
    let bytes = store.get(PEERS_KEY).unwrap().expect("peers.dat written");
    let params = NetworkParams::get(Chain::LogosRegtest);
    let am = addrman_from_bytes(
        &bytes,
        NetGroupManager::new(),
        &AddrManOptions::new(params),
        "t",
    )
    .unwrap();
    assert_eq!(am.size(None, None), 1);
    drop(store);

    let q = P2p::start(c, Recorder::new()).unwrap();
    assert!(q.is_blacklisted("1.2.3.4"));
    drop(q); // Drop runs shutdown
    let _ = std::fs::remove_dir_all(&dir);
}
