//! Helpers to read the data a real bitcoind wrote (`shared/vectors`, see its README.md) and to
//! check our decoders against it. The integration tests in `tests/` assert on these; the
//! `bitcoin-compat-tests` binary prints a summary.

pub mod difflog;

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;

use protocol::{CAddress, Chain, MessageHeader, NetworkMessage, NetworkParams, RawNetworkMessage};

/// The vectors directory: `$LOGOS_VECTORS_DIR` if set, else `shared/vectors` beside the
/// repository (`<repo>/../shared/vectors`, i.e. two levels above this crate's manifest).
pub fn vectors_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("LOGOS_VECTORS_DIR") {
        return PathBuf::from(dir);
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("..")
        .join("shared")
        .join("vectors")
}

/// Any failure while loading or checking a vector file.
#[derive(Debug)]
pub struct CheckError(pub String);

impl fmt::Display for CheckError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CheckError {}

fn err<T>(msg: impl Into<String>) -> Result<T, CheckError> {
    Err(CheckError(msg.into()))
}

/// Reads a JSON file under the vectors directory.
pub fn read_json(rel: &str) -> Result<serde_json::Value, CheckError> {
    let path = vectors_dir().join(rel);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| CheckError(format!("{}: {e}", path.display())))?;
    serde_json::from_str(&text).map_err(|e| CheckError(format!("{}: {e}", path.display())))
}

/// One message of an `inbound-session*.json` file.
#[derive(Clone, Debug)]
pub struct SessionMessage {
    /// The message type the file names.
    pub command: String,
    /// Header and payload bytes.
    pub bytes: Vec<u8>,
}

/// Loads the messages of a session file.
pub fn load_session(rel: &str) -> Result<Vec<SessionMessage>, CheckError> {
    let v = read_json(rel)?;
    let Some(msgs) = v.get("messages").and_then(|m| m.as_array()) else {
        return err(format!("{rel}: no messages array"));
    };
    msgs.iter()
        .map(|m| {
            let command = m["command"]
                .as_str()
                .ok_or_else(|| CheckError(format!("{rel}: message without command")))?;
            let hex_str = m["hex"]
                .as_str()
                .ok_or_else(|| CheckError(format!("{rel}: message without hex")))?;
            let bytes = hex::decode(hex_str).map_err(|e| CheckError(format!("{rel}: {e}")))?;
            Ok(SessionMessage {
                command: command.to_owned(),
                bytes,
            })
        })
        .collect()
}

/// One entry of `getrawaddrman`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawAddrEntry {
    /// "new" or "tried".
    pub table: String,
    /// "bucket/position".
    pub position: String,
    /// Address text (Core's ToStringAddr).
    pub address: String,
    /// Network name (Core's GetNetworkName).
    pub network: String,
    /// Port.
    pub port: u16,
    /// Service bits.
    pub services: u64,
    /// Last-seen time.
    pub time: i64,
}

/// Loads `getrawaddrman.json`, keyed by (address text, port).
pub fn load_rawaddrman(rel: &str) -> Result<HashMap<(String, u16), RawAddrEntry>, CheckError> {
    let v = read_json(rel)?;
    let mut out = HashMap::new();
    for table in ["new", "tried"] {
        let Some(entries) = v.get(table).and_then(|t| t.as_object()) else {
            return err(format!("{rel}: no {table} table"));
        };
        for (pos, e) in entries {
            let get_str = |k: &str| {
                e[k].as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| CheckError(format!("{rel}: {pos}: missing {k}")))
            };
            let get_u64 = |k: &str| {
                e[k].as_u64()
                    .ok_or_else(|| CheckError(format!("{rel}: {pos}: missing {k}")))
            };
            let entry = RawAddrEntry {
                table: table.to_owned(),
                position: pos.clone(),
                address: get_str("address")?,
                network: get_str("network")?,
                port: u16::try_from(get_u64("port")?)
                    .map_err(|_| CheckError(format!("{rel}: {pos}: bad port")))?,
                services: get_u64("services")?,
                time: e["time"]
                    .as_i64()
                    .ok_or_else(|| CheckError(format!("{rel}: {pos}: missing time")))?,
            };
            out.insert((entry.address.clone(), entry.port), entry);
        }
    }
    Ok(out)
}

/// A session message decoded with our code.
#[derive(Clone, Debug)]
pub struct DecodedMessage {
    /// The header as read.
    pub header: MessageHeader,
    /// The decoded message.
    pub message: RawNetworkMessage,
    /// True if encoding the decoded message gives the original bytes.
    pub reencodes_identically: bool,
}

/// Decodes every message of a session with the params of `chain`; fails on the first message
/// that does not decode, whose message type differs from the file's, or whose checksum is not
/// the network hash of its payload.
pub fn decode_session(
    msgs: &[SessionMessage],
    chain: Chain,
) -> Result<Vec<DecodedMessage>, CheckError> {
    let params = NetworkParams::get(chain);
    msgs.iter()
        .enumerate()
        .map(|(i, m)| {
            let header: MessageHeader = protocol::encode::deserialize_partial(&m.bytes)
                .map_err(|e| CheckError(format!("message {i} ({}): header: {e}", m.command)))?
                .0;
            let message = RawNetworkMessage::decode(&m.bytes, params)
                .map_err(|e| CheckError(format!("message {i} ({}): {e}", m.command)))?;
            if message.command() != m.command {
                return err(format!(
                    "message {i}: decoded as {}, file says {}",
                    message.command(),
                    m.command
                ));
            }
            let payload = &m.bytes[protocol::header::HEADER_SIZE..];
            if header.checksum != params.hash_kind.checksum(payload) {
                return err(format!("message {i} ({}): checksum mismatch", m.command));
            }
            let reencodes_identically = message.encode(params.hash_kind) == m.bytes;
            Ok(DecodedMessage {
                header,
                message,
                reencodes_identically,
            })
        })
        .collect()
}

/// The addresses of the session's `addr` or `addrv2` answer.
pub fn answer_addresses(decoded: &[DecodedMessage]) -> Option<(&'static str, &[CAddress])> {
    decoded.iter().find_map(|d| match &d.message.payload {
        NetworkMessage::Addr(a) => Some(("addr", a.as_slice())),
        NetworkMessage::AddrV2(a) => Some(("addrv2", a.as_slice())),
        _ => None,
    })
}

/// Per-network counts and mismatches of an address answer against `getrawaddrman`.
#[derive(Clone, Debug, Default)]
pub struct AddrCheck {
    /// Number of addresses in the answer.
    pub total: usize,
    /// Count per network name.
    pub per_network: std::collections::BTreeMap<String, usize>,
    /// Addresses absent from getrawaddrman or differing in network, services or time.
    pub mismatches: Vec<String>,
}

/// Checks that every address of an answer is in `getrawaddrman` with the same network, port,
/// services and time.
pub fn check_addresses(
    addrs: &[CAddress],
    rawaddrman: &HashMap<(String, u16), RawAddrEntry>,
) -> AddrCheck {
    let mut out = AddrCheck {
        total: addrs.len(),
        ..AddrCheck::default()
    };
    for a in addrs {
        let text = a.to_string_addr();
        let net = netbase::get_network_name(a.get_network()).to_owned();
        *out.per_network.entry(net.clone()).or_default() += 1;
        match rawaddrman.get(&(text.clone(), a.get_port())) {
            None => out
                .mismatches
                .push(format!("{} not in getrawaddrman", a.to_string_addr_port())),
            Some(e) => {
                if e.network != net || e.services != a.n_services.0 || e.time != a.n_time {
                    out.mismatches.push(format!(
                        "{}: ours ({net}, services {}, time {}), bitcoind ({}, services {}, time {})",
                        a.to_string_addr_port(),
                        a.n_services.0,
                        a.n_time,
                        e.network,
                        e.services,
                        e.time
                    ));
                }
            }
        }
    }
    out
}
