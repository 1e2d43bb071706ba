//! Prints a summary of the checks of our codec against the data a real bitcoind wrote
//! (`shared/vectors`). Exit status 1 if any check fails.

use bitcoin_compat_tests::{
    answer_addresses, check_addresses, decode_session, load_rawaddrman, load_session, vectors_dir,
    CheckError,
};
use protocol::{Chain, NetworkMessage};

fn report_session(session: &str, addrman: &str) -> Result<bool, CheckError> {
    let msgs = load_session(session)?;
    let decoded = decode_session(&msgs, Chain::Regtest)?;
    let identical = decoded.iter().filter(|d| d.reencodes_identically).count();
    println!("{session}");
    println!(
        "  {} messages decoded (regtest), checksums OK, {identical} re-encoded byte for byte",
        decoded.len()
    );
    for d in &decoded {
        let kind = match &d.message.payload {
            NetworkMessage::Version(v) => format!(
                "version {} {:?} services {:08x} nonce {:016x} relay {}",
                v.version, v.user_agent, v.services, v.nonce, v.relay
            ),
            NetworkMessage::Ignored { .. } => "recognised, not parsed (tx/block)".to_owned(),
            NetworkMessage::Addr(a) | NetworkMessage::AddrV2(a) => format!("{} addresses", a.len()),
            other => format!("{other:?}"),
        };
        println!(
            "    {:<11} {:>5} bytes  {kind}",
            d.message.command(),
            d.header.length
        );
    }
    let mut ok = identical == decoded.len();
    if let Some((cmd, addrs)) = answer_addresses(&decoded) {
        let ram = load_rawaddrman(addrman)?;
        let check = check_addresses(addrs, &ram);
        println!(
            "  {cmd} answer: {} addresses {:?}; {} of {} found in {addrman} with same network/port/services/time",
            check.total,
            check.per_network,
            check.total - check.mismatches.len(),
            check.total
        );
        for m in &check.mismatches {
            println!("    MISMATCH {m}");
        }
        ok &= check.mismatches.is_empty();
    }
    Ok(ok)
}

fn main() {
    env_logger::init();
    println!("vectors: {}", vectors_dir().display());
    let mut all_ok = true;
    for (session, addrman) in [
        (
            "bitcoind-regtest/inbound-session.json",
            "bitcoind-regtest/getrawaddrman.json",
        ),
        (
            "bitcoind-regtest-allnets/inbound-session-addrv2.json",
            "bitcoind-regtest-allnets/getrawaddrman.json",
        ),
        (
            "bitcoind-regtest-allnets/inbound-session-addr-v1.json",
            "bitcoind-regtest-allnets/getrawaddrman.json",
        ),
    ] {
        match report_session(session, addrman) {
            Ok(ok) => all_ok &= ok,
            Err(e) => {
                println!("{session}: FAILED: {e}");
                all_ok = false;
            }
        }
    }
    println!(
        "{}",
        if all_ok {
            "all checks passed"
        } else {
            "SOME CHECKS FAILED"
        }
    );
    if !all_ok {
        std::process::exit(1);
    }
}
