//! Malformed input gives a typed error whose text is the one bitcoind logged for the same input
//! (`shared/vectors/bitcoind-regtest-disconnects/debug-net.log`, cases in `cases.json`).

use bitcoin_compat_tests::{load_session, vectors_dir};
use protocol::header::HEADER_SIZE;
use protocol::{Chain, Error, MessageHeader, NetworkMessage, NetworkParams, RawNetworkMessage};

fn bitcoind_log() -> String {
    std::fs::read_to_string(vectors_dir().join("bitcoind-regtest-disconnects/debug-net.log"))
        .unwrap()
}

fn regtest() -> &'static NetworkParams {
    NetworkParams::get(Chain::Regtest)
}

/// A real version message from bitcoind, as a starting point.
fn real_version() -> Vec<u8> {
    load_session("bitcoind-regtest/inbound-session.json").unwrap()[0]
        .bytes
        .clone()
}

/// Case `wrong_magic`: "Header error: Wrong MessageStart f9beb4d9 received".
#[test]
fn wrong_magic_text_matches_bitcoind() {
    let mut bytes = real_version();
    bytes[..4].copy_from_slice(&NetworkParams::get(Chain::Main).message_start);
    let e = RawNetworkMessage::decode(&bytes, regtest()).unwrap_err();
    assert!(matches!(e, Error::WrongMagic { .. }));
    let line = format!("[net] Header error: {e}, peer=0");
    assert!(bitcoind_log().contains(&line), "{line}");
}

/// Case `oversize_length`: "Header error: Size too large (version, 4000001 bytes)"; the header
/// alone is enough to refuse it.
#[test]
fn oversize_length_text_matches_bitcoind() {
    let mut bytes = real_version()[..HEADER_SIZE].to_vec();
    bytes[16..20].copy_from_slice(&4_000_001u32.to_le_bytes());
    let e = RawNetworkMessage::decode(&bytes, regtest()).unwrap_err();
    let line = format!("[net] Header error: {e}, peer=2");
    assert!(bitcoind_log().contains(&line), "{line}");
    // Also through the header check alone.
    let h: MessageHeader = protocol::deserialize(&bytes).unwrap();
    assert_eq!(
        h.check_start_and_size(regtest().message_start, regtest().max_message_length),
        Err(e)
    );
}

/// Case `bad_checksum_version` / `bad_checksum_after_handshake`: the text has bitcoind's form
/// "Wrong checksum (<type>, <n> bytes), expected <hash[0..4]> was <header checksum>".
#[test]
fn bad_checksum_text_has_bitcoind_form() {
    let p = regtest();
    let mut bytes = RawNetworkMessage {
        magic: p.message_start,
        payload: NetworkMessage::Ping(7),
    }
    .encode(p.hash_kind);
    bytes[20..24].copy_from_slice(&[1, 2, 3, 4]);
    let e = RawNetworkMessage::decode(&bytes, p).unwrap_err();
    let text = e.to_string();
    let expected = hex::encode(p.hash_kind.checksum(&bytes[24..]));
    assert_eq!(
        text,
        format!("Wrong checksum (ping, 8 bytes), expected {expected} was 01020304")
    );
    // bitcoind's line for its own ping: same words around the two checksums.
    let log = bitcoind_log();
    let line = log
        .lines()
        .find(|l| l.contains("Wrong checksum (ping, 8 bytes)"))
        .unwrap();
    let theirs = line.split("Header error: ").nth(1).unwrap();
    let theirs = theirs.split(", peer=").next().unwrap();
    assert_eq!(theirs.len(), text.len());
    assert!(theirs.starts_with("Wrong checksum (ping, 8 bytes), expected "));
    assert!(theirs.ends_with(" was 01020304"));
}

/// Case `truncated_version`: a 20-byte version payload; bitcoind logged
/// "Exception 'DataStream::ignore(): end of data: iostream error'".
#[test]
fn truncated_version_text_matches_bitcoind() {
    let payload = &real_version()[HEADER_SIZE..HEADER_SIZE + 20];
    let e = NetworkMessage::decode_payload("version", payload).unwrap_err();
    let line = format!(
        "ProcessMessages(version, 20 bytes): Exception '{}' (NSt8ios_base7failureB5cxx11E) caught",
        e.core_what()
    );
    assert!(bitcoind_log().contains(&line), "{line}");
    // Framed with a correct checksum, the frame decoder reports the same error.
    let p = regtest();
    let h = MessageHeader::for_payload(p.message_start, "version", payload, p.hash_kind).unwrap();
    let mut bytes = protocol::serialize(&h);
    bytes.extend_from_slice(payload);
    assert_eq!(RawNetworkMessage::decode(&bytes, p), Err(e));
}

/// Case `ping` with an empty payload: "Exception 'DataStream::read(): end of data: iostream
/// error'".
#[test]
fn empty_ping_text_matches_bitcoind() {
    let e = NetworkMessage::decode_payload("ping", &[]).unwrap_err();
    let line = format!(
        "ProcessMessages(ping, 0 bytes): Exception '{}' (NSt8ios_base7failureB5cxx11E) caught",
        e.core_what()
    );
    assert!(bitcoind_log().contains(&line), "{line}");
}

/// Case `unknown_command`: decoded as Unknown (bitcoind: `Unknown command "foobar"`), not an error.
#[test]
fn unknown_command_is_not_an_error() {
    let p = regtest();
    let raw = RawNetworkMessage {
        magic: p.message_start,
        payload: NetworkMessage::Unknown {
            command: "foobar".into(),
            payload: vec![],
        },
    };
    let back = RawNetworkMessage::decode(&raw.encode(p.hash_kind), p).unwrap();
    assert_eq!(back, raw);
    assert!(bitcoind_log().contains(&format!("Unknown command \"{}\"", back.command())));
}

/// Every prefix of every real message is an error (end of data), never a panic or a success.
#[test]
fn every_truncation_of_real_messages_fails_cleanly() {
    for rel in [
        "bitcoind-regtest/inbound-session.json",
        "bitcoind-regtest-allnets/inbound-session-addrv2.json",
    ] {
        for m in load_session(rel).unwrap() {
            for cut in 0..m.bytes.len() {
                let e = RawNetworkMessage::decode(&m.bytes[..cut], regtest()).unwrap_err();
                assert_eq!(
                    e,
                    Error::Io(std::io::ErrorKind::UnexpectedEof),
                    "{} cut {cut}",
                    m.command
                );
            }
        }
    }
}

/// An addrv2 answer whose first entry claims a wrong length for its network is a typed error.
#[test]
fn addrv2_entry_with_wrong_length_fails() {
    let session = load_session("bitcoind-regtest/inbound-session.json").unwrap();
    let addrv2 = &session[7].bytes;
    let mut payload = addrv2[HEADER_SIZE..].to_vec();
    // Count fd5601 (3 bytes), time (4), services CompactSize 09 (1), then network id 01, len 04.
    assert_eq!(&payload[8..10], &[0x01, 0x04]);
    payload[9] = 0x05;
    let e = NetworkMessage::decode_payload("addrv2", &payload).unwrap_err();
    assert_eq!(
        e.to_string(),
        "BIP155 IPv4 address with length 5 (should be 4)"
    );
    // Non-canonical count: 342 written with 5 bytes.
    let mut nc = vec![0xfe, 0x56, 0x01, 0x00, 0x00];
    nc.extend_from_slice(&addrv2[HEADER_SIZE + 3..]);
    assert_eq!(
        NetworkMessage::decode_payload("addrv2", &nc),
        Err(Error::NonCanonicalCompactSize)
    );
}
