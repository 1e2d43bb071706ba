//! The Stage 2 relay between real `logos-p2pd` processes over loopback sockets: A and B run
//! `-logosrelay=announce`, C the default flood. A payload sent on A (RPC `sendlogos`) reaches B
//! as announce → getlogos → logos, and C as a plain `logos` push (an old-style peer shares the
//! network). Loopback only, every wait bounded.

mod bin_common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;

use bin_common::{free_port, node_args, read_log, Proc, TempDir};

const WAIT: Duration = Duration::from_secs(30);

fn args(dir: &Path, p2p: u16, rpc: u16, extra: &[String]) -> Vec<String> {
    let mut a = node_args(dir, "-chain=logosregtest");
    a.extend([
        format!("-bind=127.0.0.1:{p2p}"),
        format!("-rpcport={rpc}"),
        "-rpcuser=u".to_string(),
        "-rpcpassword=p".to_string(),
        "-printtoconsole=0".to_string(),
    ]);
    a.extend(extra.iter().cloned());
    a
}

/// One JSON-RPC call over HTTP with basic auth (`u:p`); returns the response body.
fn rpc(port: u16, method: &str, params: &str) -> String {
    let body = format!(r#"{{"jsonrpc":"1.0","id":1,"method":"{method}","params":{params}}}"#);
    let req = format!(
        "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Basic dTpw\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("rpc connect");
    s.set_read_timeout(Some(WAIT)).unwrap();
    s.write_all(req.as_bytes()).unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

fn count(log: &str, needle: &str) -> usize {
    log.matches(needle).count()
}

#[test]
fn announce_between_daemons_and_flood_to_an_old_peer() {
    let (da, db, dc) = (
        TempDir::new("ann-a"),
        TempDir::new("ann-b"),
        TempDir::new("ann-c"),
    );
    let log = |d: &TempDir| d.0.join("logosregtest").join("debug.log");
    let (pa, ra) = (free_port(), free_port());
    let announce = "-logosrelay=announce".to_string();
    let mut a = Proc::spawn(&args(&da.0, pa, ra, std::slice::from_ref(&announce)));
    bin_common::wait_for_log(&log(&da), "Bound to 127.0.0.1:", WAIT);
    let connect = format!("-connect=127.0.0.1:{pa}");
    let mut b = Proc::spawn(&args(
        &db.0,
        free_port(),
        free_port(),
        &[announce, connect.clone()],
    ));
    let mut c = Proc::spawn(&args(&dc.0, free_port(), free_port(), &[connect]));
    bin_common::wait_until(
        WAIT,
        || (count(&read_log(&log(&da)), "received: verack") >= 2).then_some(()),
        || format!("A did not handshake with B and C:\n{}", read_log(&log(&da))),
    );
    let reply = rpc(ra, "sendlogos", r#"["48656c6c6f2c207374616765203221"]"#);
    assert!(reply.contains("\"error\":null"), "{reply}");
    // B: announced, asked, sent. C: pushed.
    let lb = bin_common::wait_for_log(&log(&db), "received: logos (", WAIT);
    assert!(lb.contains("received: sendannounce (12 bytes)"), "{lb}");
    assert!(lb.contains("received: announce (13 bytes)"), "{lb}");
    let lc = bin_common::wait_for_log(&log(&dc), "received: logos (", WAIT);
    assert_eq!(count(&lc, "received: announce"), 0, "{lc}");
    let la = bin_common::wait_for_log(&log(&da), "received: getlogos (9 bytes)", WAIT);
    assert_eq!(count(&la, "received: getlogos"), 1, "{la}");
    for p in [&mut c, &mut b, &mut a] {
        assert_eq!(p.terminate(WAIT).code(), Some(0));
    }
    // Each got the payload once.
    assert_eq!(count(&read_log(&log(&db)), "received: logos ("), 1);
    assert_eq!(count(&read_log(&log(&dc)), "received: logos ("), 1);
}
