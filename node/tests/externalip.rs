//! `-externalip` end to end through the `logos-p2pd` binary: the option reaches the connection
//! manager as a LOCAL_MANUAL address (Core's `AddLocal(addr, LOCAL_MANUAL)` in AppInitMain),
//! takes the listen port when it names none (Core's `GetListenPort()`), turns `-discover` off
//! (InitParameterInteraction), and is advertised in `addr` to a peer after the handshake.
//! Loopback only (`-bind=127.0.0.1`, `-test=loopbackonly`), every wait bounded.

mod bin_common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use bin_common::{free_port, node_args, Proc, TempDir};
use protocol::address::{decode_addr_vec, AddrEncoding, AddrFormat, AddrSerParams};
use protocol::{Chain, HashKind, NetworkParams};

const WAIT: Duration = Duration::from_secs(20);

fn frame(magic: [u8; 4], cmd: &str, payload: &[u8]) -> Vec<u8> {
    let mut v = magic.to_vec();
    let mut c = [0u8; 12];
    c[..cmd.len()].copy_from_slice(cmd.as_bytes());
    v.extend_from_slice(&c);
    v.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    v.extend_from_slice(&HashKind::Sha256d.checksum(payload));
    v.extend_from_slice(payload);
    v
}

/// A `version` payload (protocol 70016, no services, relay on).
fn version_payload() -> Vec<u8> {
    let mut p = Vec::new();
    p.extend_from_slice(&70016i32.to_le_bytes());
    p.extend_from_slice(&0u64.to_le_bytes());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    p.extend_from_slice(&now.to_le_bytes());
    for _ in 0..2 {
        p.extend_from_slice(&0u64.to_le_bytes());
        p.extend_from_slice(&[0u8; 16]);
        p.extend_from_slice(&0u16.to_be_bytes());
    }
    p.extend_from_slice(&0x0123_4567_89ab_cdefu64.to_le_bytes());
    p.push(0);
    p.extend_from_slice(&0i32.to_le_bytes());
    p.push(1);
    p
}

/// Next message (command, payload) within `deadline`, or None.
fn recv(s: &mut TcpStream, buf: &mut Vec<u8>, deadline: Instant) -> Option<(String, Vec<u8>)> {
    loop {
        if buf.len() >= 24 {
            let len = u32::from_le_bytes(buf[16..20].try_into().unwrap()) as usize;
            if buf.len() >= 24 + len {
                let end = buf[4..16].iter().position(|&b| b == 0).unwrap_or(12);
                let cmd = String::from_utf8_lossy(&buf[4..4 + end]).into_owned();
                let payload = buf[24..24 + len].to_vec();
                buf.drain(..24 + len);
                return Some((cmd, payload));
            }
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return None;
        }
        s.set_read_timeout(Some(left)).ok()?;
        let mut tmp = [0u8; 65536];
        match s.read(&mut tmp) {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&tmp[..n]),
        }
    }
}

/// Mirrors feature_discover.py / p2p_addr_selfannouncement.py: a node started with
/// `-externalip=<routable ip>` advertises `<ip>:<listen port>` to an inbound peer that asked
/// for addresses, right after the handshake.
#[test]
fn externalip_reaches_connman_and_is_advertised() {
    let dir = TempDir::new("externalip");
    let port = free_port();
    let mut args = node_args(&dir.0, "-regtest");
    args.extend([
        format!("-bind=127.0.0.1:{port}"),
        "-externalip=11.22.33.44".to_string(),
        "-server=0".to_string(),
        "-printtoconsole=1".to_string(),
    ]);
    let mut node = Proc::spawn_piped(&args);
    node.wait_line(
        "parameter interaction: -externalip set -> setting -discover=0",
        WAIT,
    );
    node.wait_line(&format!("AddLocal(11.22.33.44:{port},4)"), WAIT);
    node.wait_line(&format!("Bound to 127.0.0.1:{port}"), WAIT);
    node.wait_line("init message: Done loading", WAIT);

    let magic = NetworkParams::get(Chain::Regtest).message_start;
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    let mut buf = Vec::new();
    s.write_all(&frame(magic, "version", &version_payload()))
        .unwrap();
    let deadline = Instant::now() + WAIT;
    while let Some((cmd, _)) = recv(&mut s, &mut buf, deadline) {
        if cmd == "verack" {
            break;
        }
    }
    s.write_all(&frame(magic, "verack", &[])).unwrap();
    // An inbound peer gets addresses once it asked for them (Core: SetupAddressRelay).
    s.write_all(&frame(magic, "getaddr", &[])).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut advertised = None;
    while let Some((cmd, payload)) = recv(&mut s, &mut buf, deadline) {
        if cmd == "addr" {
            let v1 = AddrSerParams {
                fmt: AddrFormat::Network,
                enc: AddrEncoding::V1,
            };
            let addrs = decode_addr_vec(&mut &payload[..], v1).expect("addr payload");
            if let Some(a) = addrs.iter().find(|a| a.service.addr.is_routable()) {
                advertised = Some(a.service);
                break;
            }
        }
    }
    let a = advertised
        .unwrap_or_else(|| panic!("no self-advertisement; log:\n{}", node.seen.join("\n")));
    assert_eq!(a.to_string_addr_port(), format!("11.22.33.44:{port}"));
}
