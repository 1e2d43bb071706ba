//! `P2pConfig::from_args` reads the config file as `logos-p2pd` does (ArgsManager
//! read_config_files): `-conf` or `logos-p2p.conf` in the data directory, `includeconf=`,
//! `[network]` sections, `datadir=`; the command line wins; `-noconf` reads nothing.

mod api_common;
mod bin_common;

use std::net::SocketAddr;

use api_common::*;
use bin_common::temp_dir;
use node::api::{P2p, P2pConfig, P2pError, Storage};
use protocol::Chain;

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// Mirrors config_tests / argsman_tests.cpp (ReadConfigFiles, section and command-line
/// precedence) through the embedding API.
#[test]
fn api_config_from_args_reads_config_file() {
    let dir = temp_dir("conffile");
    let other = temp_dir("conffile-datadir");
    std::fs::write(
        dir.join("logos-p2p.conf"),
        "chain=logosregtest\nmaxconnections=7\nbantime=1234\nnosuchkey=1\n\
         [logosregtest]\nbind=127.0.0.1:0\ntest=loopbackonly\n[logos]\nmaxconnections=99\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("other.conf"),
        "chain=logosregtest\nincludeconf=inc.conf\npeertimeout=5\n",
    )
    .unwrap();
    std::fs::write(dir.join("inc.conf"), "bantime=99\n").unwrap();
    let datadir = format!("-datadir={}", dir.display());

    // The data directory's logos-p2p.conf: top level and the [logosregtest] section (not
    // [logos]); an unknown key is skipped, as Core does.
    let c = P2pConfig::from_args(&strings(&["host", &datadir])).expect("config");
    assert_eq!(c.chain, Chain::LogosRegtest);
    assert_eq!(c.net.max_connections, 7);
    assert_eq!(c.bantime, 1234);
    assert_eq!(
        c.net.binds,
        vec!["127.0.0.1:0".parse::<SocketAddr>().unwrap()]
    );
    assert!(c.test_mode && c.net.test_loopback_only);
    assert!(matches!(&c.storage, Storage::DataDir(d) if d == &dir.join("logosregtest")));
    // It starts with what the file said.
    let p = P2p::start(c, Recorder::new()).expect("start");
    assert!(p.listen_port().unwrap() > 0);
    p.shutdown();

    // The command line wins over the file.
    let c = P2pConfig::from_args(&strings(&["host", &datadir, "-maxconnections=9"])).unwrap();
    assert_eq!(c.net.max_connections, 9);
    assert_eq!(c.bantime, 1234);

    // -conf (relative to the data directory) with includeconf=.
    let c = P2pConfig::from_args(&strings(&["host", &datadir, "-conf=other.conf"])).unwrap();
    assert_eq!(c.net.peer_timeout, 5);
    assert_eq!(c.bantime, 99);
    assert_eq!(c.net.max_connections, 125, "logos-p2p.conf not read");

    // -noconf: nothing read (the default chain, the default bind).
    let c = P2pConfig::from_args(&strings(&["host", &datadir, "-noconf"])).unwrap();
    assert_eq!(c.chain, Chain::LogosMain);
    assert_ne!(c.bantime, 1234);

    // A -conf file that does not exist is an error; so is one that does not parse.
    let err = P2pConfig::from_args(&strings(&["host", &datadir, "-conf=missing.conf"]));
    assert!(
        matches!(&err, Err(P2pError::Config(e)) if e.contains("could not be opened")),
        "{err:?}"
    );
    std::fs::write(dir.join("bad.conf"), "-maxconnections=3\n").unwrap();
    assert!(matches!(
        P2pConfig::from_args(&strings(&["host", &datadir, "-conf=bad.conf"])),
        Err(P2pError::Config(_))
    ));

    // datadir= in an absolute -conf file moves the data directory (nothing is created).
    let moved = dir.join("moved.conf");
    std::fs::write(
        &moved,
        format!("datadir={}\nchain=logosregtest\n", other.display()),
    )
    .unwrap();
    let conf = format!("-conf={}", moved.display());
    let c = P2pConfig::from_args(&strings(&["host", &conf])).unwrap();
    assert!(
        matches!(&c.storage, Storage::DataDir(d) if d == &other.join("logosregtest")),
        "{:?}",
        c.storage
    );
    assert!(!other.join("logosregtest").exists());
    std::fs::write(&moved, "datadir=/nonexistent/logos-p2p\n").unwrap();
    assert!(matches!(
        P2pConfig::from_args(&strings(&["host", &conf])),
        Err(P2pError::Config(e)) if e.contains("does not exist")
    ));
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&other);
}
