//! Fuzz entry points of this crate (see `protocol::fuzz` for how targets are run and replayed):
//! [`v1_transport`] (Core's `p2p_transport_serialization`), [`peerman`] (Core's
//! `process_messages`) and [`relay_scheduler`] (Core's `txrequest`, for the Stage 2 relay's
//! request scheduler). Not part of the API.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use addrman::banman::{BanMan, MemoryBanDb};
use addrman::AddrMan;
use netbase::{CNetAddr, CService, NetGroupManager};
use protocol::fuzz::{fuzz_message_types, FuzzInput};
use protocol::header::{HEADER_SIZE, MAX_PROTOCOL_MESSAGE_LENGTH};
use protocol::message::{known_message_type, net_msg_type as t};
use protocol::relay::{AnnounceEntry, SendAnnounce, MAX_ANNOUNCE_SZ, RELAY_PROTOCOL_VERSION};
use protocol::{
    CAddress, Chain, MessageHeader, NetworkMessage, NetworkParams, ServiceFlags, VersionMessage,
};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

use crate::addr_relay::MAX_ADDR_TO_SEND;
use crate::clock::MockClock;
use crate::connection_type::{ConnectionType, ALL_CONNECTION_TYPES};
use crate::flood::PayloadId;
use crate::local_addr::LocalHostMap;
use crate::net_message::{CNetMessage, SerializedNetMsg};
use crate::net_permissions::NetPermissionFlags;
use crate::peerman::announce_consts::{
    INBOUND_DELAY, KNOWN_PER_LINK, MAX_CANDIDATES_PER_PEER, MAX_IN_FLIGHT_PER_PEER,
    REQUEST_TIMEOUT_BASE, REQUEST_TIMEOUT_PER_MB, SAME_PAYLOAD_WINDOW,
};
use crate::peerman::{
    AnnounceOptions, Candidate, ConnectionInfo, Fetcher, FloodOptions, LogosSend, Output,
    PeerManager, PeerManagerContext, PeerManagerOptions, PendingOptions,
};
use crate::siphash::RandomizerSeeds;
use crate::transport::{V1Recv, V1Send, DEFER_HASH_FROM};
use crate::upper::{FinalVerdict, Verdict};
use crate::NodeId;

/// Virtual time the targets start at (µs since the epoch).
const T0: i64 = 1_795_503_770 * 1_000_000;

// ----- the V1 transport ---------------------------------------------------------------------

/// A message as the receiving node sees it: type, payload, and whether it is dropped (wrong
/// checksum or invalid type).
type Received = (String, Vec<u8>, bool);

/// The framing rules of V1Transport (readHeader, readData, GetReceivedMessage) applied to the
/// whole stream at once: the messages it holds, and whether a header error ends it. When
/// `fix_checksums`, each complete message's checksum is first set right in `stream`.
fn reference_frames(
    stream: &mut [u8],
    params: &NetworkParams,
    max_len: u32,
    fix_checksums: bool,
) -> (Vec<Received>, bool) {
    let mut out = Vec::new();
    let mut pos = 0;
    while let Some(h) = stream.get(pos..pos + HEADER_SIZE) {
        let hdr = MessageHeader::from_bytes(h.try_into().expect("24 bytes"));
        if hdr
            .check_start_and_size(params.message_start, max_len)
            .is_err()
        {
            return (out, true);
        }
        let end = pos + HEADER_SIZE + hdr.length as usize;
        let Some(payload) = stream.get(pos + HEADER_SIZE..end) else {
            break;
        };
        let hash = params.hash_kind.hash(payload);
        if fix_checksums {
            stream[pos + 20..pos + HEADER_SIZE].copy_from_slice(&hash[..4]);
        }
        let hdr = MessageHeader::from_bytes(stream[pos..pos + HEADER_SIZE].try_into().expect("24"));
        let reject = hdr.check_payload_hash(&hash).is_err() || !hdr.is_message_type_valid();
        out.push((
            hdr.message_type().into_owned(),
            stream[pos + HEADER_SIZE..end].to_vec(),
            reject,
        ));
        pos = end;
    }
    (out, false)
}

/// Frames `payload` of type `m_type` with the send half (header built by it, or `prebuilt`),
/// draining it `step` bytes at a time, vectored or not, and returns the bytes sent.
fn send_half(
    params: &NetworkParams,
    m_type: &'static str,
    payload: &[u8],
    prebuilt: Option<[u8; HEADER_SIZE]>,
    step: usize,
    vectored: bool,
) -> Vec<u8> {
    let mut tx = V1Send::new(params.message_start, params.hash_kind);
    let mut msg = SerializedNetMsg::new(m_type, payload.to_vec());
    msg.header = prebuilt;
    assert!(tx.set_message_to_send(msg).is_ok(), "an idle transport");
    let mut wire = Vec::new();
    loop {
        let n = if vectored {
            let ([a, b], _) = tx.get_bytes_to_send_vectored();
            let both = [a, b].concat();
            let n = both.len().min(step);
            wire.extend_from_slice(&both[..n]);
            n
        } else {
            let (b, _, _) = tx.get_bytes_to_send(false);
            let n = b.len().min(step);
            wire.extend_from_slice(&b[..n]);
            n
        };
        if n == 0 {
            break;
        }
        tx.mark_bytes_sent(n);
    }
    assert!(!tx.is_busy());
    wire
}

/// Not in Core: target `v1_transport` (as Core's `p2p_transport_serialization`), the receive half
/// of the V1 transport ([`V1Recv`]) fed arbitrary bytes in arbitrary chunks, as
/// `CNode::receive_msg_bytes` and `receive_payload_direct` feed it, with hashing on arrival or
/// deferred to the message handler.
///
/// Input: a configuration byte (network, when payloads are hashed later, the largest message,
/// whether large payloads are read straight into the transport's buffer, whether checksums are
/// set right first), a list of chunk sizes, then the stream. The messages the transport hands
/// up, and whether it fails, must be those of the framing rules applied to the whole stream
/// (`reference_frames`), whatever the chunking; every message it keeps has its payload's hash
/// and header; and the send half frames each again to the very bytes received.
pub fn v1_transport(data: &[u8]) {
    let mut input = FuzzInput::new(data);
    let Some(cfg) = input.u8() else { return };
    let Some(n_sizes) = input.u8() else { return };
    let mut sizes = Vec::new();
    for _ in 0..(n_sizes % 16) + 1 {
        let Some(b) = input.u8() else { return };
        // Mostly small chunks, sometimes whole frames at once.
        sizes.push(if b >= 0xf0 {
            usize::from(b - 0xf0 + 1) * 4096
        } else {
            usize::from(b) + 1
        });
    }
    let chain = if cfg & 1 == 0 {
        Chain::Regtest
    } else {
        Chain::LogosRegtest
    };
    let params = NetworkParams::get(chain);
    let defer_from = [usize::MAX, 0, 32, DEFER_HASH_FROM][usize::from(cfg >> 1) & 3];
    let max_len = if cfg & 8 == 0 {
        params.max_message_length
    } else {
        1000
    };
    let direct_min = [None, Some(1), Some(16), Some(64 * 1024)][usize::from(cfg >> 4) & 3];
    let mut stream = input.rest().to_vec();
    let (expected, expect_error) = reference_frames(&mut stream, params, max_len, cfg & 64 != 0);

    let mut rx = V1Recv::new(params.message_start, params.hash_kind, max_len, 0);
    rx.set_defer_hash_from(defer_from);
    let mut got: Vec<Received> = Vec::new();
    let mut error = false;
    let mut pos = 0;
    let mut time = T0;
    'feed: for &size in sizes.iter().cycle() {
        if pos >= stream.len() {
            break;
        }
        let mut chunk = &stream[pos..(pos + size).min(stream.len())];
        pos += chunk.len();
        time += 1;
        while !chunk.is_empty() {
            // The socket read straight into the payload buffer (CNode::receive_payload_direct).
            let direct = direct_min.and_then(|min| rx.payload_read_buffer(min));
            if let Some(buf) = direct {
                let n = buf.len().min(chunk.len());
                buf[..n].copy_from_slice(&chunk[..n]);
                rx.commit_payload_read(n);
                chunk = &chunk[n..];
            } else if rx.received_bytes(&mut chunk).is_err() {
                error = true;
                break 'feed;
            }
            if rx.received_message_complete() {
                let (mut msg, reject) = rx.get_received_message(time);
                assert_eq!(msg.m_time, time);
                // CNode::poll_message completes a deferred hash and its checksum check.
                let keep = !reject && msg.complete_deferred_hash(params.hash_kind);
                let payload = msg.m_recv.clone();
                assert_eq!(msg.m_message_size as usize, payload.len());
                assert_eq!(msg.m_raw_message_size as usize, payload.len() + HEADER_SIZE);
                if keep {
                    check_kept_message(params, &msg);
                }
                got.push((msg.m_type.into_owned(), payload, !keep));
            }
        }
    }
    assert_eq!(got, expected, "messages differ from the framing rules");
    assert_eq!(error, expect_error, "transport error differs");
}

/// A message the node keeps: its hash is the payload's, its header the one received, and the
/// send half frames it again to the same bytes (building the header, and reusing it).
fn check_kept_message(params: &NetworkParams, msg: &CNetMessage) {
    assert!(!msg.m_hash_pending);
    assert_eq!(msg.m_hash, params.hash_kind.hash(&msg.m_recv));
    let hdr = MessageHeader::from_bytes(&msg.m_header);
    assert_eq!(hdr.length as usize, msg.m_recv.len());
    assert_eq!(hdr.message_type(), msg.m_type);
    let Some(m_type) = known_message_type(hdr.command_raw()) else {
        return;
    };
    let mut frame = msg.m_header.to_vec();
    frame.extend_from_slice(&msg.m_recv);
    let step = 1 + msg.m_recv.len() % 29;
    assert_eq!(
        send_half(params, m_type, &msg.m_recv, None, step, false),
        frame
    );
    assert_eq!(
        send_half(params, m_type, &msg.m_recv, Some(msg.m_header), step, true),
        frame
    );
}

// ----- the peer manager ---------------------------------------------------------------------

/// Most connections the harness keeps open at once.
const MAX_PEERS: usize = 12;
/// Most `send_messages` passes at one instant before the harness calls it a busy loop.
const MAX_PASSES_PER_INSTANT: usize = 256;

/// The flood's bounds in the harness: small, so the fuzzer reaches them (fields added later
/// keep their defaults).
#[allow(clippy::needless_update)]
fn fuzz_flood_options() -> FloodOptions {
    FloodOptions {
        seen_max: 24,
        seen_max_age: 600,
        rejects_max: 6,
        important_max_count: 5,
        important_max_bytes: 600,
        catchup_window: 120,
        catchup_bytes_per_pass: 200,
        ..FloodOptions::default()
    }
}

/// The Stage 2 relay in the harness, from the input's second byte: announcements on (bit 0
/// clear), the push fan-out (bit 1) and threshold (bits 2-3), push peers (bit 4, with a small
/// push size), a small relay pool.
fn fuzz_announce_options(relay_cfg: u8) -> AnnounceOptions {
    AnnounceOptions {
        enabled: relay_cfg & 1 == 0,
        push_threshold: [0, 16, 64, 1 << 20][usize::from(relay_cfg >> 2) & 3],
        push_fanout: usize::from(relay_cfg >> 1) & 1,
        push_peers: usize::from(relay_cfg >> 4) & 1,
        push_max: 64,
        push_wait: 20_000,
        pool_max_bytes: 600,
        pool_max_age: 60,
    }
}

/// The pending pool's bounds in the harness: small, so the fuzzer reaches them.
fn fuzz_pending_options() -> PendingOptions {
    PendingOptions {
        max_count: 4,
        max_bytes: 400,
        peer_max_count: 2,
        peer_max_bytes: 200,
        expiry: 60_000_000,
        request_timeout: 2_000_000,
    }
}

/// What the harness knows of one connection (the shell's side of it).
struct PeerModel {
    conn: ConnectionInfo,
    /// The connection's `fPauseSend`.
    paused: bool,
    /// Messages received before our `version` went out (Core's first check in
    /// ProcessMessages holds them back).
    held: VecDeque<CNetMessage>,
    /// The nonce of the last `ping` sent to it (to answer with a matching `pong`).
    last_ping: Option<u64>,
    /// Our salt on the link (from our `sendannounce`), and the peer's (from the one the
    /// harness sent): with both, the harness names payloads by their short ids on the link.
    our_salt: Option<u64>,
    their_salt: Option<u64>,
    /// Short ids we announced to it, newest last (it may ask for them).
    announced: VecDeque<u64>,
    /// Short ids we asked of it (`getlogos`), and full ids (`getlogosid`), oldest first.
    asked: VecDeque<u64>,
    asked_by_id: VecDeque<PayloadId>,
}

impl PeerModel {
    fn salts(&self) -> Option<(u64, u64)> {
        Some((self.our_salt?, self.their_salt?))
    }
}

/// Entries of the short-id lists the harness remembers per peer.
const MODEL_IDS_KEPT: usize = 64;

fn push_bounded<T>(q: &mut VecDeque<T>, items: impl IntoIterator<Item = T>) {
    q.extend(items);
    while q.len() > MODEL_IDS_KEPT {
        q.pop_front();
    }
}

/// A payload handed to the upper layer and not yet judged.
struct Pending {
    id: PayloadId,
    payload: Arc<Vec<u8>>,
}

/// One peer manager in virtual time and the shell around it (what `CConnman`'s message handler
/// does, and what `net/tests/support/vnet.rs` does for many managers).
struct PeermanHarness {
    params: &'static NetworkParams,
    pm: PeerManager,
    clock: Arc<MockClock>,
    now: i64,
    peers: BTreeMap<NodeId, PeerModel>,
    next_id: NodeId,
    /// Peers the manager asked to drop; finalized at the end of the step (the shell closes the
    /// socket, then calls `finalize_node`).
    dropping: Vec<NodeId>,
    pending: VecDeque<Pending>,
    /// Answer every delivery at once (as the message handler does) or only when the input says
    /// (as the simulator's verify delay does).
    answer_at_once: bool,
    /// Recent `logos` payloads, so that copies arrive again.
    recent: VecDeque<Vec<u8>>,
    /// The flood's bounds, the relay's settings and the pending pool's bounds in force.
    flood: FloodOptions,
    announce: AnnounceOptions,
    pending_opts: PendingOptions,
}

/// A short id (or the start of an id) that names nothing, the `k`th from `seed`.
fn junk_id(seed: u16, k: usize) -> u64 {
    u64::from(seed) << 32 | k as u64
}

/// Addresses the peers come from: public IPv4 in a few groups, IPv6, loopback (never
/// discouraged), a private one.
fn peer_address(input: &mut FuzzInput<'_>) -> Option<CService> {
    let kind = input.u8()?;
    let low = input.u8()?;
    let port = 8333 + u16::from(kind >> 5);
    let addr = match kind % 6 {
        0..=2 => CNetAddr::from_ipv4([1 + kind % 3, 2, 3, low].into()),
        3 => {
            let mut b = [0u8; 16];
            b[..4].copy_from_slice(&[0x20, 0x01, 0x0d, 0xb0 ^ (low & 1)]);
            b[15] = low;
            CNetAddr::from_ipv6(b.into(), 0)
        }
        4 => CNetAddr::from_ipv4([127, 0, 0, 1].into()),
        _ => CNetAddr::from_ipv4([192, 168, 1, low].into()),
    };
    Some(CService::new(addr, port))
}

/// `n` relayable addresses, derived from `seed` (so a 1000-entry `addr` costs few input bytes).
fn addr_list(
    n: usize,
    seed: u16,
    now_secs: i64,
    v2: bool,
    services: ServiceFlags,
) -> Vec<CAddress> {
    let [s0, s1] = seed.to_le_bytes();
    (0..n)
        .map(|i| {
            let i8 = (i % 251) as u8;
            let addr = if v2 && i % 3 == 0 {
                let mut b = [0u8; 16];
                b[..3].copy_from_slice(&[0x2a, 0x01, s0]);
                b[14] = s1;
                b[15] = i8;
                CNetAddr::from_ipv6(b.into(), 0)
            } else {
                CNetAddr::from_ipv4([5 + s0 % 50, s1, (i / 251) as u8, i8].into())
            };
            let age = i64::from(seed % 4) * 3600 * ((i % 5) as i64);
            CAddress::new(CService::new(addr, 8333), services, now_secs - age)
        })
        .collect()
}

impl PeermanHarness {
    fn new(chain: Chain, cfg: u8, relay_cfg: u8) -> Self {
        let params = NetworkParams::get(chain);
        let clock = Arc::new(MockClock::new(T0 / 1_000_000));
        let addrman = (cfg & 2 != 0).then(|| {
            let c: Arc<dyn addrman::Clock> = clock.clone();
            Arc::new(
                AddrMan::new_with_seed(NetGroupManager::new(), [cfg; 32], 0, params.hash_kind)
                    .with_clock(c),
            )
        });
        let mut rng = ChaCha20Rng::seed_from_u64(u64::from(cfg));
        let banman = (cfg & 4 != 0).then(|| {
            Arc::new(BanMan::new(
                Box::new(MemoryBanDb::new()),
                None,
                24 * 3600,
                clock.clone(),
                &mut rng,
            ))
        });
        let flood = fuzz_flood_options();
        let mut opts = PeerManagerOptions::new(params);
        opts.flood = flood.clone();
        opts.announce = fuzz_announce_options(relay_cfg);
        opts.pending = fuzz_pending_options();
        opts.test_loopback_not_local = cfg & 8 != 0;
        let announce = opts.announce.clone();
        let pending_opts = opts.pending.clone();
        let ctx = PeerManagerContext {
            addrman,
            banman,
            local_host: Arc::new(LocalHostMap::new(
                params.default_port,
                cfg & 16 != 0,
                cfg & 32 != 0,
            )),
            reachable: Arc::new(crate::connman::reachable_nets(&[])),
            seeds: RandomizerSeeds { seed0: 1, seed1: 2 },
        };
        PeermanHarness {
            params,
            pm: PeerManager::new(opts, ctx, u64::from(cfg)),
            clock,
            now: T0,
            peers: BTreeMap::new(),
            next_id: 0,
            dropping: Vec::new(),
            pending: VecDeque::new(),
            answer_at_once: cfg & 64 == 0,
            recent: VecDeque::new(),
            flood,
            announce,
            pending_opts,
        }
    }

    fn pick_peer(&self, input: &mut FuzzInput<'_>) -> Option<NodeId> {
        let b = usize::from(input.u8()?);
        if self.peers.is_empty() {
            return None;
        }
        self.peers.keys().nth(b % self.peers.len()).copied()
    }

    fn advance(&mut self, micros: i64) {
        self.now = self.now.saturating_add(micros);
        self.clock.set_micros(self.now);
    }

    /// One step of the input. `None` when the input ran out.
    fn step(&mut self, input: &mut FuzzInput<'_>) -> Option<()> {
        match input.u8()? % 18 {
            0 | 1 => self.connect(input)?,
            2 => {
                if let Some(id) = self.pick_peer(input) {
                    self.dropping.push(id);
                }
            }
            3..=7 => {
                let Some(id) = self.pick_peer(input) else {
                    return Some(());
                };
                let msg = self.make_message(id, input)?;
                self.receive(id, msg);
            }
            8 | 9 => {
                let d = [1_000, 20_000, 100_000, 1_000_000, 30_000_000, 120_000_000]
                    [usize::from(input.u8()? % 6)];
                self.advance(d);
                self.run_due();
            }
            10 => {
                let secs = match input.u8()? % 6 {
                    0 => 10 * 60,
                    1 => 21 * 60,
                    2 => 3600,
                    3 => 25 * 3600,
                    4 => 8 * 24 * 3600,
                    _ => i64::from(input.u32()?),
                };
                self.advance(secs * 1_000_000);
                self.run_due();
            }
            11 => {
                let payload = input.short_bytes()?.to_vec();
                let important = input.bool()?;
                let hash = self.params.hash_kind.hash(&payload);
                let header =
                    MessageHeader::frame(self.params.message_start, t::LOGOS, payload.len(), &hash)
                        .to_bytes();
                self.pm
                    .propagate(Arc::new(payload), hash, header, important, self.now);
                self.pump();
            }
            12 => {
                self.pm.send_pings(self.now);
                self.pump();
            }
            13 => {
                let Some(id) = self.pick_peer(input) else {
                    return Some(());
                };
                let paused = input.bool()?;
                if let Some(p) = self.peers.get_mut(&id) {
                    p.paused = paused;
                }
                if !paused {
                    self.send_messages(id);
                }
            }
            14 => {
                let b = input.u8()?;
                if let Some(p) = self.pending.pop_front() {
                    let verdict = self.verdict(b, &p.payload);
                    self.pm.deliver_verdict(p.id, verdict, b & 2 == 2, self.now);
                    self.pump();
                }
            }
            15 => {
                if let Some(id) = self.pick_peer(input) {
                    self.send_messages(id);
                }
            }
            16 => {
                let b = input.u8()?;
                if let Some(p) = self.recent.get(usize::from(b & 7)) {
                    let id = self.params.hash_kind.hash(p);
                    let verdict = if b & 0x80 == 0 {
                        FinalVerdict::Invalid
                    } else {
                        FinalVerdict::Valid
                    };
                    self.pm.final_verdict(id, verdict, self.now);
                    self.pump();
                }
            }
            _ => {
                let Some(id) = self.pick_peer(input) else {
                    return Some(());
                };
                let how = input.u8()?;
                if let Some(msg) = self.answer_request(id, how) {
                    self.receive(id, msg);
                }
            }
        }
        self.finalize_dropped();
        Some(())
    }

    /// A new connection (Core's `InitializeNode`).
    fn connect(&mut self, input: &mut FuzzInput<'_>) -> Option<()> {
        let conn_type = input.pick(&ALL_CONNECTION_TYPES)?;
        let addr = peer_address(input)?;
        let permissions = input.pick(&[
            NetPermissionFlags::NONE,
            NetPermissionFlags::NONE,
            NetPermissionFlags::NO_BAN,
            NetPermissionFlags::ADDR,
            NetPermissionFlags::RELAY,
        ])?;
        let local_nonce = input.u64()?;
        if self.peers.len() >= MAX_PEERS {
            return Some(());
        }
        let services = if conn_type == ConnectionType::Inbound {
            ServiceFlags::NODE_NONE
        } else {
            self.params.seeds_services
        };
        let id = self.next_id;
        self.next_id += 1;
        let conn = ConnectionInfo {
            id,
            addr: CAddress::new(addr, services, 0),
            addr_bind: CService::new(
                CNetAddr::from_ipv4([8, 8, 4, 4].into()),
                self.params.default_port,
            ),
            conn_type,
            permissions,
            local_nonce,
            connected: self.now.div_euclid(1_000_000),
        };
        self.peers.insert(
            id,
            PeerModel {
                conn: conn.clone(),
                paused: false,
                held: VecDeque::new(),
                last_ping: None,
                our_salt: None,
                their_salt: None,
                announced: VecDeque::new(),
                asked: VecDeque::new(),
                asked_by_id: VecDeque::new(),
            },
        );
        self.pm.initialize_node(conn, self.now);
        self.pump();
        // The message handler's first pass: an outbound connection sends its version.
        self.run_due();
        Some(())
    }

    /// A message from peer `id`: built field by field (so the fuzzer gets past the handshake
    /// without finding checksums or encodings), or a raw payload of any type.
    fn make_message(&mut self, id: NodeId, input: &mut FuzzInput<'_>) -> Option<CNetMessage> {
        let now_secs = self.now.div_euclid(1_000_000);
        let sel = input.u8()? % 16;
        let (m_type, payload): (&'static str, Vec<u8>) = match sel {
            0 => (t::VERSION, self.make_version(input)?),
            1 => (t::VERACK, Vec::new()),
            2 => (t::PING, input.u64()?.to_le_bytes().to_vec()),
            3 => {
                let right = input.bool()?;
                let nonce = match self.peers.get(&id).and_then(|p| p.last_ping) {
                    Some(n) if right => n,
                    _ => input.u64()?,
                };
                (t::PONG, nonce.to_le_bytes().to_vec())
            }
            4 => (t::GETADDR, Vec::new()),
            5 | 6 => {
                let n = [0, 1, 2, 9, 10, 11, 500, 1000, 1001][usize::from(input.u8()? % 9)];
                let seed = input.u16()?;
                let services = input.pick(&[
                    ServiceFlags::NODE_NETWORK,
                    self.params.seeds_services,
                    ServiceFlags::NODE_LOGOS,
                    ServiceFlags::NODE_NONE,
                ])?;
                let v2 = input.bool()?;
                let list = addr_list(n, seed, now_secs, v2, services);
                let msg = if v2 {
                    NetworkMessage::AddrV2(list)
                } else {
                    NetworkMessage::Addr(list)
                };
                (if v2 { t::ADDRV2 } else { t::ADDR }, msg.encode_payload())
            }
            7 => (
                input.pick(&[t::SENDADDRV2, t::WTXIDRELAY, t::SENDHEADERS, t::SENDTXRCNCL])?,
                Vec::new(),
            ),
            8 | 9 => {
                let again = input.u8()?;
                let payload = match self.recent.get(usize::from(again)) {
                    Some(p) => p.clone(),
                    None => input.short_bytes()?.to_vec(),
                };
                self.push_recent(payload.clone());
                (t::LOGOS, payload)
            }
            10 => {
                let b = input.u8()?;
                if b & 0x80 != 0 {
                    let m = NetworkMessage::SendPush(b & 1 == 1);
                    return Some(CNetMessage::from_payload(
                        self.params.message_start,
                        self.params.hash_kind,
                        t::SENDPUSH,
                        m.encode_payload(),
                        self.now,
                    ));
                }
                let version = match b % 4 {
                    0 | 1 => RELAY_PROTOCOL_VERSION,
                    2 => 0,
                    _ => input.u32()?,
                };
                let salt = u64::from(input.u16()?);
                if version >= RELAY_PROTOCOL_VERSION {
                    if let Some(p) = self.peers.get_mut(&id) {
                        p.their_salt = Some(salt);
                    }
                }
                let m = NetworkMessage::SendAnnounce(SendAnnounce { version, salt });
                (t::SENDANNOUNCE, m.encode_payload())
            }
            11 => {
                let n = [1, 2, 3, 8, 101, MAX_ANNOUNCE_SZ + 1][usize::from(input.u8()? % 6)];
                let seed = input.u16()?;
                let known = self.link_payloads(id);
                let entries = (0..n)
                    .map(|k| match known.get(k) {
                        Some(&(short_id, size)) if seed & 1 == 0 => {
                            AnnounceEntry { short_id, size }
                        }
                        _ => AnnounceEntry {
                            short_id: junk_id(seed, k),
                            size: match (k + usize::from(seed >> 8)) % 4 {
                                0 if !known.is_empty() => known[k % known.len()].1,
                                1 => 40,
                                2 => MAX_PROTOCOL_MESSAGE_LENGTH + 1,
                                _ => 1_000,
                            },
                        },
                    })
                    .collect();
                (
                    t::ANNOUNCE,
                    NetworkMessage::Announce(entries).encode_payload(),
                )
            }
            12 | 14 => {
                let n = [1, 2, 3, MAX_ANNOUNCE_SZ + 1][usize::from(input.u8()? % 4)];
                let seed = input.u16()?;
                let p = self.peers.get_mut(&id)?;
                // `getlogos` of what we announced, `lognotfound` of what we asked for.
                let m_type = if sel == 12 {
                    t::GETLOGOS
                } else {
                    t::LOGNOTFOUND
                };
                let ours = if m_type == t::GETLOGOS {
                    p.announced.iter().rev().copied().collect::<Vec<u64>>()
                } else {
                    p.asked.drain(..).collect()
                };
                let ids: Vec<u64> = (0..n)
                    .map(|k| match ours.get(k) {
                        Some(&sid) if seed & 1 == 0 => sid,
                        _ => junk_id(seed, k),
                    })
                    .collect();
                let msg = if m_type == t::GETLOGOS {
                    NetworkMessage::GetLogos(ids)
                } else {
                    NetworkMessage::LogNotFound(ids)
                };
                (m_type, msg.encode_payload())
            }
            13 => {
                let n = [1, 2, 3, MAX_ANNOUNCE_SZ + 1][usize::from(input.u8()? % 4)];
                let seed = input.u16()?;
                let ids = (0..n)
                    .map(|k| match self.recent.get(k) {
                        Some(p) if seed & 1 == 0 => self.params.hash_kind.hash(p),
                        _ => {
                            let mut id = [0u8; 32];
                            id[..8].copy_from_slice(&junk_id(seed, k).to_le_bytes());
                            id
                        }
                    })
                    .collect();
                (
                    t::GETLOGOSID,
                    NetworkMessage::GetLogosById(ids).encode_payload(),
                )
            }
            _ => {
                let types = fuzz_message_types();
                let m_type = input.pick(&types)?;
                (m_type, input.long_bytes()?.to_vec())
            }
        };
        Some(CNetMessage::from_payload(
            self.params.message_start,
            self.params.hash_kind,
            m_type,
            payload,
            self.now,
        ))
    }

    /// Keep a `logos` payload so that copies of it arrive again, and so that it can be named in
    /// announcements, requests and verdicts.
    fn push_recent(&mut self, payload: Vec<u8>) {
        self.recent.push_front(payload);
        self.recent.truncate(8);
    }

    /// The recent payloads' short ids on `id`'s link (once both salts are known) and sizes.
    fn link_payloads(&self, id: NodeId) -> Vec<(u64, u32)> {
        let Some((ours, theirs)) = self.peers.get(&id).and_then(PeerModel::salts) else {
            return Vec::new();
        };
        self.recent
            .iter()
            .map(|p| {
                let pid = self.params.hash_kind.hash(p);
                (crate::peerman::short_id(ours, theirs, &pid), p.len() as u32)
            })
            .collect()
    }

    /// Peer `id` answers our oldest request to it (`getlogos` when bit 0 of `how` is clear,
    /// `getlogosid` when set): with the payload if it is a recent one and bit 1 is clear,
    /// otherwise with `lognotfound`.
    fn answer_request(&mut self, id: NodeId, how: u8) -> Option<CNetMessage> {
        let p = self.peers.get_mut(&id)?;
        let salts = p.salts();
        let (sid, pid) = if how & 1 == 0 {
            (p.asked.pop_front()?, None)
        } else {
            let pid = p.asked_by_id.pop_front()?;
            let (ours, theirs) = salts.unwrap_or_default();
            (crate::peerman::short_id(ours, theirs, &pid), Some(pid))
        };
        let found = self.recent.iter().find(|x| {
            let h = self.params.hash_kind.hash(x);
            match pid {
                Some(pid) => h == pid,
                None => salts.is_some_and(|(o, t)| crate::peerman::short_id(o, t, &h) == sid),
            }
        });
        let (m_type, payload) = match found {
            Some(x) if how & 2 == 0 => (t::LOGOS, x.clone()),
            _ => (
                t::LOGNOTFOUND,
                NetworkMessage::LogNotFound(vec![sid]).encode_payload(),
            ),
        };
        Some(CNetMessage::from_payload(
            self.params.message_start,
            self.params.hash_kind,
            m_type,
            payload,
            self.now,
        ))
    }

    /// The upper layer's verdict from a byte: bits 2-3 choose the bool of 2019 (bit 0: accept),
    /// [`Verdict::Reject`], or [`Verdict::Pending`] on the recent payloads bits 4-7 pick (none
    /// picked: on a payload made from this one, which peers can then send).
    fn verdict(&mut self, b: u8, payload: &[u8]) -> Verdict {
        match (b >> 2) & 3 {
            0 | 1 => (b & 1 == 1).into(),
            2 => Verdict::Reject,
            _ => {
                let mut missing: Vec<PayloadId> = (0..4)
                    .filter(|i| b >> (4 + i) & 1 == 1)
                    .filter_map(|i| self.recent.get(i))
                    .map(|p| self.params.hash_kind.hash(p))
                    .collect();
                if missing.is_empty() {
                    let mut dep = payload.to_vec();
                    dep.push(0xff);
                    missing.push(self.params.hash_kind.hash(&dep));
                    self.push_recent(dep);
                }
                Verdict::Pending(missing)
            }
        }
    }

    /// A `version` payload, each field a likely value or any value, possibly cut short.
    fn make_version(&self, input: &mut FuzzInput<'_>) -> Option<Vec<u8>> {
        let now_secs = self.now.div_euclid(1_000_000);
        let version = match input.u8()? % 8 {
            0 | 1 => protocol::version::PROTOCOL_VERSION,
            2 => 70015,
            3 => protocol::version::BIP0031_VERSION,
            4 => protocol::version::MIN_PEER_PROTO_VERSION,
            5 => protocol::version::INIT_PROTO_VERSION,
            _ => input.u32()? as i32,
        };
        let services = match input.u8()? % 6 {
            0 | 1 => self.params.seeds_services,
            2 => ServiceFlags::NODE_LOGOS,
            3 => ServiceFlags(ServiceFlags::NODE_NETWORK.0 | ServiceFlags::NODE_WITNESS.0),
            4 => ServiceFlags::NODE_NONE,
            _ => ServiceFlags(input.u64()?),
        };
        let timestamp = match input.u8()? % 6 {
            0 | 1 => now_secs,
            2 => now_secs - 71 * 60,
            3 => now_secs + 71 * 60,
            4 => i64::MIN,
            _ => input.u64()? as i64,
        };
        // Self-connection: the nonce of one of our outbound connections.
        let nonce = match input.u8()? {
            0 => {
                let n = self
                    .peers
                    .values()
                    .find(|p| !p.conn.is_inbound_conn())
                    .map(|p| p.conn.local_nonce);
                n.unwrap_or(0)
            }
            b => u64::from(b) << 32 | u64::from(input.u16()?),
        };
        let addr_recv = CAddress::new(peer_address(input)?, ServiceFlags::NODE_NONE, 0);
        let user_agent = String::from_utf8_lossy(input.short_bytes()?).into_owned();
        let v = VersionMessage {
            version,
            services,
            timestamp,
            addr_recv,
            addr_from: CAddress::default(),
            nonce,
            user_agent,
            start_height: input.u32()? as i32,
            relay: input.bool()?,
        };
        let mut payload = NetworkMessage::Version(v).encode_payload();
        let cut = input.u8()?;
        if cut < 0xc0 {
            payload.truncate(usize::from(cut));
        }
        Some(payload)
    }

    /// A message arrives (Core's ProcessMessages, then SendMessages for that peer); held back
    /// while our `version` to an outbound peer has not gone out.
    fn receive(&mut self, id: NodeId, msg: CNetMessage) {
        if let Some(p) = self.peers.get_mut(&id) {
            p.held.push_back(msg);
        }
        self.process_held(id);
    }

    fn process_held(&mut self, id: NodeId) {
        while self.pm.ready_to_process(id) {
            let Some(msg) = self.peers.get_mut(&id).and_then(|p| p.held.pop_front()) else {
                return;
            };
            self.pm.process_message(id, msg, self.now);
            self.pump();
            self.send_messages(id);
        }
    }

    fn send_messages(&mut self, id: NodeId) {
        let Some(paused) = self.peers.get(&id).map(|p| p.paused) else {
            return;
        };
        self.pm.send_messages(id, self.now, paused);
        self.pump();
    }

    /// The message handler's timer pass: `send_messages` for every due peer, until none is due
    /// at this instant.
    fn run_due(&mut self) {
        let mut due = Vec::new();
        for _ in 0..MAX_PASSES_PER_INSTANT {
            if self.pm.next_deadline().is_none_or(|d| d > self.now) {
                return;
            }
            due.clear();
            self.pm.due_peers(self.now, &mut due);
            assert!(!due.is_empty(), "next_deadline passed but no peer is due");
            for &id in &due {
                assert!(self.peers.contains_key(&id), "timer of a finalized peer");
                self.send_messages(id);
                self.process_held(id);
            }
        }
        panic!("peers still due after {MAX_PASSES_PER_INSTANT} passes at one instant");
    }

    /// Carry out the manager's outputs, checking each.
    fn pump(&mut self) {
        while let Some(out) = self.pm.poll_output() {
            match out {
                Output::Send { peer, msg } => {
                    assert!(
                        self.peers.contains_key(&peer),
                        "send to unknown peer {peer}"
                    );
                    let m = SerializedNetMsg::from_message(&msg).expect("a type we know");
                    assert!(m.data.len() <= MAX_PROTOCOL_MESSAGE_LENGTH as usize);
                    // What the peer reads encodes back to the same bytes (a pre-BIP31 `ping`,
                    // with no nonce, is the one message sent in a form Core would not parse).
                    match NetworkMessage::decode_payload(m.m_type, &m.data) {
                        Ok(back) => assert_eq!(back.encode_payload(), *m.data),
                        Err(e) => assert!(
                            matches!(&msg, NetworkMessage::Unknown { command, payload }
                                if command == t::PING && payload.is_empty()),
                            "{} we send does not decode: {e}",
                            m.m_type
                        ),
                    }
                    match &msg {
                        NetworkMessage::Addr(v) | NetworkMessage::AddrV2(v) => {
                            assert!(v.len() <= MAX_ADDR_TO_SEND, "addr of {} entries", v.len());
                        }
                        NetworkMessage::Ping(n) => {
                            if let Some(p) = self.peers.get_mut(&peer) {
                                p.last_ping = Some(*n);
                            }
                        }
                        NetworkMessage::SendAnnounce(_)
                        | NetworkMessage::Announce(_)
                        | NetworkMessage::GetLogos(_)
                        | NetworkMessage::GetLogosById(_)
                        | NetworkMessage::LogNotFound(_)
                        | NetworkMessage::SendPush(_) => self.check_relay_message(peer, &msg),
                        _ => {}
                    }
                }
                Output::SendLogos {
                    peer,
                    payload,
                    header,
                    kind,
                } => {
                    assert!(
                        self.peers.contains_key(&peer),
                        "logos to unknown peer {peer}"
                    );
                    if kind == LogosSend::Requested {
                        assert!(self.announce.enabled, "a request served with the relay off");
                    }
                    let hash = self.params.hash_kind.hash(&payload);
                    let expect = MessageHeader::frame(
                        self.params.message_start,
                        t::LOGOS,
                        payload.len(),
                        &hash,
                    );
                    assert_eq!(
                        header,
                        expect.to_bytes(),
                        "header does not frame the payload"
                    );
                }
                Output::Deliver {
                    peer, id, payload, ..
                } => {
                    assert!(self.peers.contains_key(&peer), "delivery from unknown peer");
                    assert_eq!(id, self.params.hash_kind.hash(&payload));
                    self.pending.push_back(Pending { id, payload });
                    if self.answer_at_once {
                        self.answer_pending();
                    }
                }
                Output::Disconnect { peer, .. } => {
                    assert!(self.peers.contains_key(&peer), "disconnect of unknown peer");
                    self.dropping.push(peer);
                }
                Output::DisconnectSubnet { subnet } => {
                    let hit = self
                        .peers
                        .iter()
                        .filter(|(_, p)| subnet.matches(&p.conn.addr.service.addr))
                        .map(|(id, _)| *id);
                    self.dropping.extend(hit);
                }
                Output::Update { peer, .. } => {
                    assert!(self.peers.contains_key(&peer), "update of unknown peer");
                }
            }
        }
    }

    /// A Stage 2 relay message we send: only on Logos networks with the relay on; lists
    /// within `MAX_ANNOUNCE_SZ` and not empty; a `getlogos` asks for requests the fetcher has
    /// in flight to that peer, a `getlogosid` for ids the pending pool fetches from it.
    fn check_relay_message(&mut self, peer: NodeId, msg: &NetworkMessage) {
        assert!(
            !self.params.is_bitcoin() && self.announce.enabled,
            "{} with the relay off",
            msg.command()
        );
        let len = match msg {
            NetworkMessage::SendAnnounce(m) => {
                assert_eq!(m.version, RELAY_PROTOCOL_VERSION);
                1
            }
            NetworkMessage::Announce(v) => v.len(),
            NetworkMessage::GetLogos(v) | NetworkMessage::LogNotFound(v) => v.len(),
            NetworkMessage::GetLogosById(v) => v.len(),
            NetworkMessage::SendPush(_) => {
                let (_, _, _, links) = self.pm.relay_state();
                let active = links.iter().any(|(id, l)| *id == peer && l.active());
                assert!(active, "sendpush on a link that does not announce");
                1
            }
            _ => unreachable!("not a relay message"),
        };
        assert!(
            (1..=MAX_ANNOUNCE_SZ).contains(&len),
            "{} of {len} entries",
            msg.command()
        );
        if let NetworkMessage::GetLogos(v) = msg {
            let (f, ..) = self.pm.relay_state();
            for sid in v {
                assert!(
                    f.get(&(peer, *sid)).is_some_and(|c| c.requested.is_some()),
                    "getlogos of a short id not in flight to the peer"
                );
            }
        }
        if let NetworkMessage::GetLogosById(v) = msg {
            for dep in v {
                assert_eq!(self.pm.dependency_requested_from(dep), Some(peer));
            }
        }
        let Some(p) = self.peers.get_mut(&peer) else {
            return;
        };
        match msg {
            NetworkMessage::SendAnnounce(m) => p.our_salt = Some(m.salt),
            NetworkMessage::Announce(v) => {
                push_bounded(&mut p.announced, v.iter().map(|e| e.short_id));
            }
            NetworkMessage::GetLogos(v) => push_bounded(&mut p.asked, v.iter().copied()),
            NetworkMessage::GetLogosById(v) => push_bounded(&mut p.asked_by_id, v.iter().copied()),
            _ => {}
        }
    }

    /// The upper layer's verdicts on every waiting payload, from its first byte (see
    /// [`Self::verdict`]; bit 1: important).
    fn answer_pending(&mut self) {
        while let Some(p) = self.pending.pop_front() {
            let b = p.payload.first().copied().unwrap_or(0);
            let verdict = self.verdict(b, &p.payload);
            self.pm.deliver_verdict(p.id, verdict, b & 2 == 2, self.now);
        }
    }

    /// The shell closes the connections the manager dropped (Core's DisconnectNodes, then
    /// FinalizeNode).
    fn finalize_dropped(&mut self) {
        while let Some(id) = self.dropping.pop() {
            if self.peers.remove(&id).is_some() {
                self.pm.finalize_node(id, self.now);
                self.pump();
            }
        }
    }

    /// What must hold after every step.
    fn check(&self) {
        assert_eq!(
            self.pm.peer_count(),
            self.peers.len(),
            "per-peer state leaked"
        );
        let s = self.pm.flood_stats();
        assert!(
            s.seen_set_size <= self.flood.seen_max,
            "seen-set over its cap"
        );
        assert!(
            s.recent_rejects_size <= self.flood.rejects_max,
            "rejects over cap"
        );
        assert!(
            s.important_count <= self.flood.important_max_count,
            "store over cap"
        );
        for (&id, p) in &self.peers {
            let st = self
                .pm
                .get_node_state_stats(id, self.now)
                .expect("a live peer has state");
            assert!(st.m_ping_wait >= 0);
            assert!(p.held.len() <= 64, "messages held back without end");
        }
        if let Some(d) = self.pm.next_deadline() {
            assert!(!self.peers.is_empty(), "a deadline with no peer");
            assert!(d >= 0);
        }
        self.check_relay();
    }

    /// The Stage 2 relay's bounds: the fetcher's announcements are of open connections that
    /// negotiated the relay, at most `MAX_CANDIDATES_PER_PEER` per peer and
    /// `MAX_IN_FLIGHT_PER_PEER` requests in flight; each link's known set and announced ids
    /// within `KNOWN_PER_LINK`; the relay pool and the pending pool within their bounds; and
    /// requests the fetcher has due now are made at once or are due to be (its deadline has
    /// passed).
    fn check_relay(&self) {
        let (f, fetch_deadline, pool, links) = self.pm.relay_state();
        let links: BTreeMap<NodeId, _> = links.into_iter().collect();
        let mut per_peer: BTreeMap<NodeId, (usize, usize)> = BTreeMap::new();
        for c in f.iter() {
            let link = links
                .get(&c.peer)
                .expect("a candidate of a closed connection");
            assert!(link.active(), "a candidate on a link without the relay");
            let e = per_peer.entry(c.peer).or_default();
            e.0 += 1;
            e.1 += usize::from(c.requested.is_some());
        }
        for (n, in_flight) in per_peer.values() {
            assert!(*n <= MAX_CANDIDATES_PER_PEER, "too many announcements");
            assert!(
                *in_flight <= MAX_IN_FLIGHT_PER_PEER,
                "too many requests in flight"
            );
        }
        for link in links.values() {
            assert!(link.known.len() <= KNOWN_PER_LINK, "known set over its cap");
            assert!(
                link.announced.len() <= KNOWN_PER_LINK,
                "announced ids over cap"
            );
            if self.params.is_bitcoin() || !self.announce.enabled {
                assert!(!link.active(), "the relay negotiated where it is off");
            }
        }
        assert!(
            pool.bytes() <= self.announce.pool_max_bytes,
            "relay pool over cap"
        );
        assert_eq!(pool.len(), self.pm.flood_stats().relay_pool_size);
        if !self.announce.enabled {
            assert_eq!(pool.len(), 0, "relay pool with the relay off");
        }
        let ps = self.pm.pending_stats();
        assert!(
            ps.count <= self.pending_opts.max_count,
            "pending pool over count"
        );
        assert!(
            ps.bytes <= self.pending_opts.max_bytes,
            "pending pool over bytes"
        );
        assert!(
            ps.requests_in_flight
                <= self.pending_opts.max_count * crate::peerman::MAX_PENDING_DEPENDENCIES,
            "dependency requests without end"
        );
        let mut probe = Fetcher::with_candidates(f.iter().copied().collect());
        let mut due = Vec::new();
        probe.due(self.now, &mut due);
        if !due.is_empty() {
            assert!(
                fetch_deadline.is_some_and(|d| d <= self.now),
                "requests due now ({} of them), and the fetcher's deadline is {:?}",
                due.len(),
                fetch_deadline.map(|d| d - self.now)
            );
        }
    }
}

/// Not in Core: target `peerman` (as Core's `process_messages`), one [`PeerManager`] fed arbitrary
/// sequences of connections, messages (built field by field or raw, of every type; the Stage 2
/// relay's named by the short ids of the link, with the relay negotiated or not),
/// disconnections, timer passes in virtual time, its own payloads, pings, paused send queues,
/// our requests answered with the payload or a `lognotfound`, and the upper layer's verdicts
/// (accept, ignore, reject, pending on other payloads, a late invalid), as `CConnman` drives it.
///
/// After every step: no panic; the manager holds state for exactly the open connections; the
/// seen-set, the recent rejects and the store of important payloads are within their caps;
/// every output concerns an open connection, every message it sends encodes within the size
/// limit and decodes back (an `addr` of at most 1,000 entries, a relay list of at most
/// `MAX_ANNOUNCE_SZ`), every `logos` header frames its payload; a `getlogos` asks only for what
/// the fetcher has in flight to that peer, a `getlogosid` only for what the pending pool fetches
/// from it; the fetcher, the known sets, the relay pool and the pending pool are within their
/// caps (`PeermanHarness::check_relay`), and a request due now is made or its deadline has
/// come; no peer stays due at one instant. At the end, once every connection is closed and
/// every payload judged, nothing is left: no peer, no deadline, no output, no announcement,
/// nothing pending.
pub fn peerman(data: &[u8]) {
    let mut input = FuzzInput::new(data);
    let Some(cfg) = input.u8() else { return };
    let Some(relay_cfg) = input.u8() else { return };
    let chain = if cfg & 1 == 0 {
        Chain::LogosRegtest
    } else {
        Chain::Regtest
    };
    let mut h = PeermanHarness::new(chain, cfg, relay_cfg);
    for _ in 0..2_000 {
        if h.step(&mut input).is_none() {
            break;
        }
        h.check();
    }
    let ids: Vec<NodeId> = h.peers.keys().copied().collect();
    h.dropping.extend(ids);
    h.finalize_dropped();
    h.answer_pending();
    h.finalize_dropped();
    h.check();
    assert_eq!(h.pm.peer_count(), 0);
    assert_eq!(h.pm.next_deadline(), None, "a deadline outlived its peer");
    assert!(h.pm.poll_output().is_none(), "output with no peer left");
    let (f, _, _, links) = h.pm.relay_state();
    assert!(f.is_empty(), "announcements outlived their peers");
    assert!(links.is_empty());
    let ps = h.pm.pending_stats();
    assert_eq!(
        (ps.count, ps.requests_in_flight),
        (0, 0),
        "pending pool outlived its peers"
    );
}

// ----- the Stage 2 request scheduler --------------------------------------------------------

/// Payloads the scheduler target's peers announce (Core's `MAX_TXHASHES`).
const SCHED_PAYLOADS: usize = 16;
/// Peer slots (Core's `MAX_PEERS`); a slot that disconnects comes back as a new peer.
const SCHED_PEERS: usize = 8;
/// Our salt on every link of the scheduler target.
const SCHED_OUR_SALT: u64 = 0x005e_ed0f_109e;
/// Most candidates the scheduler target's final drain waits on (its passes are quadratic).
const SCHED_DRAIN_MAX: usize = 2_000;

/// The sizes the payloads are announced with: many share one, as consensus messages of one kind
/// do, so the fetcher meets payloads it takes for one another (same size, close in time).
const SCHED_SIZES: [u32; SCHED_PAYLOADS] = [
    300, 300, 300, 300, 1_000, 1_000, 1_000, 5_000, 5_000, 100_000, 100_000, 1_000_000, 4_000_000,
    300, 1_000, 64,
];

/// The id of payload `i` of the scheduler target.
fn sched_payload(i: usize) -> PayloadId {
    let mut id = [0xa5; 32];
    id[0] = i as u8;
    id
}

/// A time step from one byte, in the manner of Core's `DELAYS` table: 0 to 15 µs, then roughly
/// exponential up to about 8 minutes; with the top bit set, the same step backwards (the node's
/// clock is the system clock, which may step back).
fn sched_delay(b: u8) -> i64 {
    let k = i64::from(b & 0x7f);
    let d = if k < 16 {
        k
    } else {
        ((4 + k % 4) << ((k - 16) * 26 / 111 + 2)) >> 2
    };
    if b & 0x80 == 0 {
        d
    } else {
        -d
    }
}

/// A request in flight for a known payload: (announced, requested, hold, peer, short id).
type InFlight = (i64, i64, i64, NodeId, u64);

/// A plain restatement of the fetcher's rules (as Core's txrequest fuzz test restates
/// `TxRequestTracker`): announcements by arrival number, with an index by (peer, short id) and
/// counts per peer.
#[derive(Default)]
struct SchedModel {
    anns: BTreeMap<u64, Candidate>,
    index: std::collections::HashMap<(NodeId, u64), u64>,
    /// Per peer: announcements, and requests in flight.
    per_peer: std::collections::HashMap<NodeId, (usize, usize)>,
    next_seq: u64,
    /// Requests made although another peer's request of the same size was holding near them,
    /// because that one already held back another announcement of this peer: (peer, short id).
    released: std::collections::HashSet<(NodeId, u64)>,
}

impl SchedModel {
    fn timeout(a: &Candidate) -> i64 {
        REQUEST_TIMEOUT_BASE + i64::from(a.size) * REQUEST_TIMEOUT_PER_MB / 1_000_000
    }

    fn ready(a: &Candidate) -> i64 {
        a.announced + a.extra_delay + if a.preferred { 0 } else { INBOUND_DELAY }
    }

    fn expired(a: &Candidate, now: i64) -> bool {
        a.requested.is_some_and(|r| r + Self::timeout(a) <= now)
    }

    fn count(&self, peer: NodeId, requested: bool) -> usize {
        let (n, in_flight) = self.per_peer.get(&peer).copied().unwrap_or_default();
        if requested {
            in_flight
        } else {
            n
        }
    }

    fn remove(&mut self, seq: u64) {
        if let Some(a) = self.anns.remove(&seq) {
            self.index.remove(&(a.peer, a.short_id));
            let e = self.per_peer.entry(a.peer).or_default();
            e.0 -= 1;
            e.1 -= usize::from(a.requested.is_some());
        }
    }

    /// A new announcement is kept unless the peer has one of that short id already (nothing
    /// changes) or has the most waiting (refused).
    fn add(&mut self, a: Candidate) -> bool {
        if self.index.contains_key(&(a.peer, a.short_id)) {
            return true;
        }
        if self.count(a.peer, false) >= MAX_CANDIDATES_PER_PEER {
            return false;
        }
        self.index.insert((a.peer, a.short_id), self.next_seq);
        self.anns.insert(self.next_seq, a);
        self.per_peer.entry(a.peer).or_default().0 += 1;
        self.next_seq += 1;
        true
    }

    fn resolve(&mut self, peer: NodeId, short_id: u64) {
        if let Some(&seq) = self.index.get(&(peer, short_id)) {
            self.remove(seq);
        }
    }

    fn forget(&mut self, peer: NodeId) {
        self.anns.retain(|_, a| a.peer != peer);
        self.index.retain(|k, _| k.0 != peer);
        self.per_peer.remove(&peer);
    }

    /// Requests past their timeout go; their peers, oldest announcement first.
    fn expire(&mut self, now: i64) -> Vec<NodeId> {
        let gone: Vec<(u64, NodeId)> = self
            .anns
            .iter()
            .filter(|(_, a)| Self::expired(a, now))
            .map(|(s, a)| (*s, a.peer))
            .collect();
        for (seq, _) in &gone {
            self.remove(*seq);
        }
        gone.into_iter().map(|(_, p)| p).collect()
    }

    /// Oldest announcement first, one that is ready is requested unless its peer has the most
    /// in flight, or another peer's request of the same size, for an announcement close enough
    /// in time, still holds it back.
    fn due(&mut self, now: i64) -> Vec<(NodeId, u64)> {
        self.expire(now);
        let mut out = Vec::new();
        // (holder's peer, holder's short id, held peer): a request holds back one
        // announcement per peer in a pass.
        let mut covered: std::collections::HashSet<(NodeId, u64, NodeId)> =
            std::collections::HashSet::new();
        let seqs: Vec<u64> = self.anns.keys().copied().collect();
        for seq in seqs {
            let a = self.anns[&seq];
            if a.requested.is_some() || now < Self::ready(&a) {
                continue;
            }
            if self.count(a.peer, true) >= MAX_IN_FLIGHT_PER_PEER {
                continue;
            }
            let window = SAME_PAYLOAD_WINDOW + Self::timeout(&a) - REQUEST_TIMEOUT_BASE;
            // The first holder in (announced, peer, short id) order not yet holding one of
            // this peer's announcements.
            let holder = self
                .anns
                .values()
                .filter(|b| {
                    b.requested.is_some_and(|r| now < r + b.hold)
                        && b.peer != a.peer
                        && b.size == a.size
                        && b.announced.abs_diff(a.announced) <= window as u64
                        && !covered.contains(&(b.peer, b.short_id, a.peer))
                })
                .map(|b| (b.announced, b.peer, b.short_id))
                .min();
            if let Some((_, p, sid)) = holder {
                covered.insert((p, sid, a.peer));
                continue;
            }
            let any_holder = self.anns.values().any(|b| {
                b.requested.is_some_and(|r| now < r + b.hold)
                    && b.peer != a.peer
                    && b.size == a.size
                    && b.announced.abs_diff(a.announced) <= window as u64
            });
            if any_holder {
                self.released.insert((a.peer, a.short_id));
            }
            if let Some(x) = self.anns.get_mut(&seq) {
                x.requested = Some(now);
            }
            self.per_peer.entry(a.peer).or_default().1 += 1;
            out.push((a.peer, a.short_id));
        }
        out
    }

    /// The next time after `now` something changes: a request stops holding others back or
    /// times out, an announcement becomes ready.
    fn next_deadline(&self, now: i64) -> Option<i64> {
        self.anns
            .values()
            .filter_map(|a| match a.requested {
                Some(r) if r + a.hold > now => Some(r + a.hold.min(Self::timeout(a))),
                Some(r) => Some(r + Self::timeout(a)),
                None => Some(Self::ready(a)).filter(|t| *t > now),
            })
            .min()
    }
}

/// A live peer of the scheduler target, with what the peer manager keeps of it for the
/// fetcher: its best round trip, its failures, whether it pushes to us.
#[derive(Clone, Copy)]
struct SchedPeer {
    id: NodeId,
    salt: u64,
    preferred: bool,
    min_rtt: Option<i64>,
    failures: u32,
    pushes: bool,
}

/// The request scheduler ([`Fetcher`]), its reference model and what the harness knows.
struct SchedHarness {
    f: Fetcher,
    model: SchedModel,
    now: i64,
    slots: [Option<SchedPeer>; SCHED_PEERS],
    next_id: NodeId,
    /// Payloads that arrived (the node knows them: their announcements are not fetched).
    received: [bool; SCHED_PAYLOADS],
    /// Honest announcements: (peer, short id) → payload.
    honest: std::collections::HashMap<(NodeId, u64), usize>,
    /// A peer went past the announcement cap already.
    bulk_done: bool,
}

impl SchedHarness {
    fn new() -> Self {
        SchedHarness {
            f: Fetcher::default(),
            model: SchedModel::default(),
            now: T0,
            slots: [None; SCHED_PEERS],
            next_id: 0,
            received: [false; SCHED_PAYLOADS],
            honest: std::collections::HashMap::new(),
            bulk_done: false,
        }
    }

    fn live(&self, id: NodeId) -> bool {
        self.slots.iter().flatten().any(|p| p.id == id)
    }

    fn peer_mut(&mut self, id: NodeId) -> Option<&mut SchedPeer> {
        self.slots.iter_mut().flatten().find(|p| p.id == id)
    }

    fn sid(p: &SchedPeer, payload: usize) -> u64 {
        crate::peerman::short_id(p.salt, SCHED_OUR_SALT, &sched_payload(payload))
    }

    fn peer(&self, b: u8) -> Option<SchedPeer> {
        self.slots[usize::from(b) % SCHED_PEERS]
    }

    fn disconnect(&mut self, slot: usize) {
        if let Some(p) = self.slots[slot].take() {
            self.f.forget_peer(p.id);
            self.model.forget(p.id);
        }
    }

    /// An announcement as `process_announce` makes it: held back for the announcer's failures,
    /// and for a push when another peer pushes and this one does not; holding others back for
    /// its peer's round trips.
    fn add(&mut self, p: &SchedPeer, short_id: u64, size: u32) -> bool {
        use crate::peerman::announce_consts::{
            hold_for, DEFAULT_PUSH_MAX, DEFAULT_PUSH_WAIT, FAILURE_DELAY, MAX_FAILURE_PENALTIES,
        };
        let others_push = self.slots.iter().flatten().any(|x| x.pushes);
        let push_wait = !p.pushes && others_push && (size as usize) < DEFAULT_PUSH_MAX;
        let c = Candidate {
            peer: p.id,
            short_id,
            size,
            announced: self.now,
            preferred: p.preferred,
            requested: None,
            extra_delay: i64::from(p.failures.min(MAX_FAILURE_PENALTIES)) * FAILURE_DELAY
                + if push_wait { DEFAULT_PUSH_WAIT } else { 0 },
            hold: hold_for(p.min_rtt, size),
        };
        let got = self.f.add(c);
        let want = self.model.add(c);
        assert_eq!(got, want, "add: the fetcher and the model disagree");
        got
    }

    fn resolve(&mut self, peer: NodeId, short_id: u64) {
        self.f.resolve(peer, short_id);
        self.model.resolve(peer, short_id);
    }

    /// The message handler's pass (`fetch_due`): timed-out requests count against their
    /// peers, then the requests due now, checked against the model and the rules.
    fn pass(&mut self) -> Vec<(NodeId, u64)> {
        let mut failed = Vec::new();
        self.f.expire(self.now, &mut failed);
        assert_eq!(failed, self.model.expire(self.now), "expire: disagree");
        for id in failed {
            if let Some(p) = self.peer_mut(id) {
                p.failures = p.failures.saturating_add(1);
            }
        }
        let mut got = Vec::new();
        self.f.due(self.now, &mut got);
        let want = self.model.due(self.now);
        assert_eq!(got, want, "due: the fetcher and the model disagree");
        let mut seen = std::collections::HashSet::new();
        for (peer, sid) in &got {
            assert!(self.live(*peer), "request to a disconnected peer");
            assert!(seen.insert((*peer, *sid)), "one request twice in a pass");
            if let Some(&i) = self.honest.get(&(*peer, *sid)) {
                assert!(!self.received[i], "request for a payload we have");
            }
        }
        // Whatever still waits has a time to wake for: a request's hold or timeout, or the
        // moment an announcement becomes ready (one held back waits for the request that
        // holds it).
        match self.f.next_deadline(self.now) {
            Some(d) => assert!(d > self.now, "a deadline that is already due"),
            None => assert!(self.f.is_empty(), "candidates with no deadline"),
        }
        got
    }

    /// One step of the input. `None` when the input ran out.
    fn step(&mut self, input: &mut FuzzInput<'_>) -> Option<()> {
        match input.u8()? % 10 {
            // Time jumps to the fetcher's next deadline (Core's AdvanceToEvent).
            0 => {
                if let Some(d) = self.f.next_deadline(self.now) {
                    self.now = d;
                }
            }
            1 => self.now += sched_delay(input.u8()?),
            // The message handler's pass (Core's GetRequestable, then RequestedTx).
            2 => {
                self.pass();
            }
            3 => self.disconnect(usize::from(input.u8()?) % SCHED_PEERS),
            4 => {
                let b = input.u8()?;
                let slot = usize::from(b) % SCHED_PEERS;
                self.disconnect(slot);
                let salt = u64::from(input.u16()?);
                self.slots[slot] = Some(SchedPeer {
                    id: self.next_id,
                    salt,
                    // Inbound, outbound or manual: the last two are preferred.
                    preferred: (b >> 3) % 3 != 0,
                    min_rtt: [None, Some(5_000), Some(60_000), Some(900_000)]
                        [usize::from(b >> 5) & 3],
                    failures: 0,
                    pushes: b & 0x80 != 0,
                });
                self.next_id += 1;
            }
            // An announcement of a payload, with its size or another (a peer that lies).
            5 => {
                let p = self.peer(input.u8()?);
                let b = input.u8()?;
                let Some(p) = p else { return Some(()) };
                let i = usize::from(b) % SCHED_PAYLOADS;
                if self.received[i] {
                    return Some(());
                }
                let sid = Self::sid(&p, i);
                let honest = b & 0x80 == 0;
                let size = if honest {
                    SCHED_SIZES[i]
                } else {
                    SCHED_SIZES[usize::from(b >> 4) % SCHED_PAYLOADS] + 1
                };
                let new = !self.model.index.contains_key(&(p.id, sid));
                if self.add(&p, sid, size) && new {
                    if honest {
                        self.honest.insert((p.id, sid), i);
                    } else {
                        self.honest.remove(&(p.id, sid));
                    }
                }
            }
            // Announcements of nothing we know (n at once, to reach the per-peer caps).
            6 => {
                let p = self.peer(input.u8()?);
                // Past the per-peer cap once per input at most: each add scans every
                // announcement, so 5,000 of them cost the fetcher 12.5 million steps.
                let n = match input.u8()? {
                    0xff if !self.bulk_done => {
                        self.bulk_done = true;
                        MAX_CANDIDATES_PER_PEER + 1
                    }
                    b => [1, 3, 101][usize::from(b % 3)],
                };
                let seed = input.u16()?;
                let Some(p) = p else { return Some(()) };
                for k in 0..n {
                    let sid = u64::from(seed) << 32 | k as u64;
                    let size = match k % 5 {
                        4 => u32::MAX,
                        j => SCHED_SIZES[(usize::from(seed) + j) % SCHED_PAYLOADS],
                    };
                    if self.honest.contains_key(&(p.id, sid)) {
                        continue;
                    }
                    self.add(&p, sid, size);
                }
            }
            // A payload arrives from a peer (or from one that did not announce it): every
            // announcement of it on a live link is settled, as `settle_arrival` does; the
            // sender's failures are forgiven, and an announcer asked and beaten gets one.
            7 => {
                let from = self.peer(input.u8()?).map(|p| p.id);
                let i = usize::from(input.u8()?) % SCHED_PAYLOADS;
                self.received[i] = true;
                let peers: Vec<SchedPeer> = self.slots.iter().flatten().copied().collect();
                for p in peers {
                    let sid = Self::sid(&p, i);
                    let asked = self
                        .f
                        .get(&(p.id, sid))
                        .is_some_and(|c| c.requested.is_some());
                    self.resolve(p.id, sid);
                    if let Some(x) = self.peer_mut(p.id) {
                        if Some(p.id) == from {
                            x.failures = 0;
                        } else if asked {
                            x.failures = x.failures.saturating_add(1);
                        }
                    }
                }
            }
            // The peer has not got it (`lognotfound`), of a payload or of anything.
            8 => {
                let p = self.peer(input.u8()?);
                let b = input.u8()?;
                let Some(p) = p else { return Some(()) };
                let sid = if b & 0x80 == 0 {
                    Self::sid(&p, usize::from(b) % SCHED_PAYLOADS)
                } else {
                    u64::from(input.u16()?) << 32 | u64::from(b & 0x7f)
                };
                self.resolve(p.id, sid);
            }
            // The node forgets a payload it had (it may be announced and fetched again).
            _ => {
                let i = usize::from(input.u8()?) % SCHED_PAYLOADS;
                self.received[i] = false;
            }
        }
        Some(())
    }

    /// What must hold after every step: the fetcher holds what the model holds, in the same
    /// order, with the same next deadline; only live peers; per peer at most
    /// `MAX_CANDIDATES_PER_PEER` announcements and `MAX_IN_FLIGHT_PER_PEER` requests; no (peer,
    /// short id) twice; of two requests in flight for one payload (announced with its size by
    /// two peers within the same-payload window), the later was made only once the earlier
    /// stopped holding it back.
    fn check(&self) {
        let model: Vec<Candidate> = self.model.anns.values().copied().collect();
        assert_eq!(
            self.f.iter().copied().collect::<Vec<_>>(),
            model,
            "the fetcher and the model disagree"
        );
        assert_eq!(
            self.f.next_deadline(self.now),
            self.model.next_deadline(self.now),
            "next_deadline: the fetcher and the model disagree"
        );
        let mut per_peer: BTreeMap<NodeId, (usize, usize)> = BTreeMap::new();
        let mut keys = std::collections::HashSet::new();
        let mut flying: BTreeMap<usize, Vec<InFlight>> = BTreeMap::new();
        for c in self.f.iter() {
            assert!(self.live(c.peer), "a candidate of a disconnected peer");
            assert!(keys.insert((c.peer, c.short_id)), "one announcement twice");
            let e = per_peer.entry(c.peer).or_default();
            e.0 += 1;
            if let Some(r) = c.requested {
                e.1 += 1;
                if let Some(&i) = self.honest.get(&(c.peer, c.short_id)) {
                    flying
                        .entry(i)
                        .or_default()
                        .push((c.announced, r, c.hold, c.peer, c.short_id));
                }
            }
        }
        for (n, in_flight) in per_peer.values() {
            assert!(*n <= MAX_CANDIDATES_PER_PEER, "too many announcements");
            assert!(*in_flight <= MAX_IN_FLIGHT_PER_PEER, "too many in flight");
        }
        for (i, mut reqs) in flying {
            let window = SAME_PAYLOAD_WINDOW
                + i64::from(SCHED_SIZES[i]) * REQUEST_TIMEOUT_PER_MB / 1_000_000;
            reqs.sort_by_key(|x| x.1);
            for (k, a) in reqs.iter().enumerate() {
                for b in &reqs[k + 1..] {
                    // Within the first request's hold a second one is made only when the
                    // holder was already holding back another announcement of its announcer
                    // (a request holds back one per peer; which one is its payload cannot be
                    // told), as the model recorded when it made the request.
                    if a.0.abs_diff(b.0) <= window as u64 && b.1 < a.1 + a.2 {
                        assert!(
                            self.model.released.contains(&(b.3, b.4)),
                            "payload {i} requested again {} µs after, within its hold",
                            b.1 - a.1
                        );
                    }
                }
            }
        }
    }

    /// Nobody answers any more: passes at each deadline until nothing waits. Each announcement
    /// waiting at the start is requested in time, and every payload with a live announcer that
    /// did not arrive is requested from one of them.
    fn drain(&mut self) {
        let waiting: std::collections::HashSet<(NodeId, u64)> = self
            .f
            .iter()
            .filter(|c| c.requested.is_none())
            .map(|c| (c.peer, c.short_id))
            .collect();
        let mut wanted: std::collections::HashSet<usize> = self
            .f
            .iter()
            .filter(|c| c.requested.is_none())
            .filter_map(|c| self.honest.get(&(c.peer, c.short_id)).copied())
            .collect();
        let mut asked = std::collections::HashSet::new();
        let mut passes = 0;
        loop {
            for (peer, sid) in self.pass() {
                asked.insert((peer, sid));
                if let Some(i) = self.honest.get(&(peer, sid)) {
                    wanted.remove(i);
                }
            }
            self.check();
            let Some(d) = self.f.next_deadline(self.now) else {
                break;
            };
            self.now = d;
            passes += 1;
            assert!(
                passes <= 4 * waiting.len() + 1_000,
                "the fetcher does not drain"
            );
        }
        assert!(self.f.is_empty());
        assert!(waiting.is_subset(&asked), "an announcement never requested");
        assert!(wanted.is_empty(), "payloads {wanted:?} never requested");
    }
}

/// Not in Core: target `relay_scheduler`, the Stage 2 request scheduler (the `Fetcher` of
/// `peerman/announce.rs`, shaped like Core's txrequest.cpp) driven as Core's `txrequest` fuzz
/// target drives `TxRequestTracker` (src/test/fuzz/txrequest.cpp): announcements of 16 payloads
/// (with their sizes, or lying about them) and of nothing, from peers that connect inbound,
/// outbound or manual (with a round trip known or not, pushing to us or not) and disconnect;
/// passes at virtual times that jump ahead (to the next deadline, or by a step) or back;
/// payloads that arrive; not-founds. What the peer manager adds around the fetcher (the
/// announcer's failures and the push wait in an announcement's delay, the hold from its round
/// trip) is done as `process_announce`, `settle_arrival` and `fetch_due` do it.
///
/// After every step the fetcher holds what a plain reference model holds, in the same order,
/// with the same next deadline, and each pass expires and makes the model's requests. And by
/// the rules: requests only to live peers, at most [`MAX_IN_FLIGHT_PER_PEER`] per peer and
/// [`MAX_CANDIDATES_PER_PEER`] announcements per peer; one request per announcement; none for a
/// payload that arrived; a second request for a payload among its announcements within the
/// same-payload window only once the first stopped holding it back (the fetcher cannot tell
/// payloads apart before they arrive, so announcements further apart are each fetched); a
/// deadline whenever anything waits. At the end, with nobody answering, every announcement
/// waiting is requested before the fetcher empties, so every payload with a live announcer is
/// asked of one.
pub fn relay_scheduler(data: &[u8]) {
    let mut input = FuzzInput::new(data);
    let mut h = SchedHarness::new();
    for _ in 0..4_000 {
        if h.step(&mut input).is_none() {
            break;
        }
        h.check();
    }
    if h.f.len() <= SCHED_DRAIN_MAX {
        h.drain();
    }
}
