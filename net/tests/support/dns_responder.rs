//! A tiny authoritative DNS responder for tests: UDP on 127.0.0.1 (port from binding 0),
//! answering A and AAAA questions for a fixed table of names and NXDOMAIN for anything else.
//! Bounded: it stops after 1,000 packets, after 120 s, or when dropped.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

const MAX_PACKETS: usize = 1000;
const MAX_LIFETIME: Duration = Duration::from_secs(120);
const TYPE_A: u16 = 1;
const TYPE_AAAA: u16 = 28;

/// A question the responder received: (name without the trailing dot, lower case; type).
pub type Query = (String, u16);

pub struct DnsResponder {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    queries: Arc<Mutex<Vec<Query>>>,
    handle: Option<JoinHandle<()>>,
}

impl DnsResponder {
    /// Serve `records` (names without trailing dot, any case).
    pub fn start(records: HashMap<String, Vec<IpAddr>>) -> Self {
        let records: HashMap<String, Vec<IpAddr>> = records
            .into_iter()
            .map(|(k, v)| (k.trim_end_matches('.').to_ascii_lowercase(), v))
            .collect();
        let socket = UdpSocket::bind("127.0.0.1:0").expect("bind loopback");
        socket
            .set_read_timeout(Some(Duration::from_millis(50)))
            .expect("timeout");
        let addr = socket.local_addr().expect("addr");
        let stop = Arc::new(AtomicBool::new(false));
        let queries = Arc::new(Mutex::new(Vec::new()));
        let (stop2, queries2) = (stop.clone(), queries.clone());
        let handle = std::thread::spawn(move || {
            let started = Instant::now();
            let mut served = 0;
            let mut buf = [0u8; 1500];
            while !stop2.load(Ordering::SeqCst)
                && served < MAX_PACKETS
                && started.elapsed() < MAX_LIFETIME
            {
                let (n, peer) = match socket.recv_from(&mut buf) {
                    Ok(x) => x,
                    Err(_) => continue,
                };
                served += 1;
                if !peer.ip().is_loopback() {
                    continue;
                }
                if let Some((reply, q)) = answer(&buf[..n], &records) {
                    queries2.lock().unwrap().push(q);
                    let _ = socket.send_to(&reply, peer);
                }
            }
        });
        DnsResponder {
            addr,
            stop,
            queries,
            handle: Some(handle),
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Every question answered so far.
    pub fn queries(&self) -> Vec<Query> {
        self.queries.lock().unwrap().clone()
    }
}

impl Drop for DnsResponder {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// Build the reply to one query packet; None for anything that is not a plain query.
fn answer(pkt: &[u8], records: &HashMap<String, Vec<IpAddr>>) -> Option<(Vec<u8>, Query)> {
    if pkt.len() < 12 || pkt[2] & 0x80 != 0 {
        return None;
    }
    let qdcount = u16::from_be_bytes([pkt[4], pkt[5]]);
    if qdcount != 1 {
        return None;
    }
    let mut pos = 12;
    let mut labels = Vec::new();
    loop {
        let len = *pkt.get(pos)? as usize;
        pos += 1;
        if len == 0 {
            break;
        }
        if len > 63 {
            return None;
        }
        let label = pkt.get(pos..pos + len)?;
        labels.push(String::from_utf8_lossy(label).to_ascii_lowercase());
        pos += len;
    }
    let qtype = u16::from_be_bytes([*pkt.get(pos)?, *pkt.get(pos + 1)?]);
    let question_end = pos + 4;
    let question = pkt.get(12..question_end)?;
    let name = labels.join(".");

    let (rcode, addrs): (u8, Vec<IpAddr>) = match records.get(&name) {
        None => (3, Vec::new()),
        Some(list) => (
            0,
            list.iter()
                .copied()
                .filter(|ip| match ip {
                    IpAddr::V4(_) => qtype == TYPE_A,
                    IpAddr::V6(_) => qtype == TYPE_AAAA,
                })
                .collect(),
        ),
    };
    let mut r = Vec::with_capacity(512);
    r.extend_from_slice(&pkt[0..2]); // id
    r.push(0x80 | 0x04 | (pkt[2] & 0x01)); // response, authoritative, RD copied
    r.push(0x80 | rcode); // RA, rcode
    r.extend_from_slice(&1u16.to_be_bytes());
    r.extend_from_slice(&(addrs.len() as u16).to_be_bytes());
    r.extend_from_slice(&0u16.to_be_bytes());
    r.extend_from_slice(&0u16.to_be_bytes());
    r.extend_from_slice(question);
    for ip in &addrs {
        r.extend_from_slice(&[0xc0, 0x0c]); // name: pointer to the question
        let (t, data): (u16, Vec<u8>) = match ip {
            IpAddr::V4(v4) => (TYPE_A, v4.octets().to_vec()),
            IpAddr::V6(v6) => (TYPE_AAAA, v6.octets().to_vec()),
        };
        r.extend_from_slice(&t.to_be_bytes());
        r.extend_from_slice(&1u16.to_be_bytes()); // IN
        r.extend_from_slice(&60u32.to_be_bytes()); // TTL
        r.extend_from_slice(&(data.len() as u16).to_be_bytes());
        r.extend_from_slice(&data);
    }
    Some((r, (name, qtype)))
}
