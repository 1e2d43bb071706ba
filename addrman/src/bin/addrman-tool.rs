//! `addrman-tool`: inspect, import and export address databases.
//!
//! ```text
//! addrman-tool show <peers.dat | lmdb dir> [--network <chain>]
//! addrman-tool import <peers.dat> <lmdb dir> [--network <chain>]
//! addrman-tool export <lmdb dir> <peers.dat> [--network <chain>]
//! addrman-tool import-banlist <banlist.json> <lmdb dir>
//! addrman-tool export-banlist <lmdb dir> <banlist.json>
//! ```
//!
//! `show` prints the database as JSON in the shape of bitcoind's `getrawaddrman` answer.
//! `<lmdb dir>` is an LMDB environment directory (`<datadir>/p2p.lmdb`); a data directory that
//! contains `p2p.lmdb` is accepted too. `--network` (default `main`) picks the message start the
//! data must carry and the network hash (SHA256d on Bitcoin networks, Blake2b-256 on Logos
//! networks). Exit status: 0 success, 1 the data or the store failed, 2 wrong usage.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use addrman::banlist_json::UniValue;
use addrman::store::{
    addrman_from_bytes, getrawaddrman, AddrManOptions, KvStore, Store, P2P_LMDB_DIR, PEERS_KEY,
};
use addrman::AddrDbErrorKind;
use netbase::NetGroupManager;
use protocol::{Chain, NetworkParams};

const USAGE: &str = "\
Usage:
  addrman-tool show <peers.dat | lmdb dir> [--network <chain>]
  addrman-tool import <peers.dat> <lmdb dir> [--network <chain>]
  addrman-tool export <lmdb dir> <peers.dat> [--network <chain>]
  addrman-tool import-banlist <banlist.json> <lmdb dir>
  addrman-tool export-banlist <lmdb dir> <banlist.json>

<lmdb dir> is an LMDB environment directory (<datadir>/p2p.lmdb) or a data directory holding
p2p.lmdb. --network selects the chain whose message start and hash the data uses (default: main).";

/// A command-line mistake: what is wrong, printed with the usage; exit status 2.
struct UsageError(String);

/// A failure of the data or the store; exit status 1.
struct Failure(String);

enum Command {
    Show(PathBuf),
    Import(PathBuf, PathBuf),
    Export(PathBuf, PathBuf),
    ImportBanlist(PathBuf, PathBuf),
    ExportBanlist(PathBuf, PathBuf),
}

struct Args {
    command: Command,
    params: &'static NetworkParams,
}

fn chain_names() -> String {
    Chain::ALL
        .iter()
        .map(|c| c.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn parse_args(argv: &[String]) -> Result<Args, UsageError> {
    let mut positional = Vec::new();
    let mut network: Option<String> = None;
    let mut i = 0;
    while i < argv.len() {
        let a = &argv[i];
        if a == "--network" || a == "-network" {
            let v = argv.get(i + 1).ok_or_else(|| {
                UsageError(format!(
                    "{a} needs a value: one of {}, e.g. `--network regtest`",
                    chain_names()
                ))
            })?;
            network = Some(v.clone());
            i += 2;
            continue;
        }
        if let Some(v) = a
            .strip_prefix("--network=")
            .or_else(|| a.strip_prefix("-network="))
        {
            network = Some(v.to_string());
        } else if a.starts_with('-') && a.len() > 1 {
            return Err(UsageError(format!(
                "unknown option {a}; the only option is --network <chain>"
            )));
        } else {
            positional.push(a.clone());
        }
        i += 1;
    }

    let params = match network {
        None => NetworkParams::get(Chain::Main),
        Some(name) => match Chain::from_name(&name) {
            Some(c) => NetworkParams::get(c),
            None => {
                return Err(UsageError(format!(
                    "unknown network `{name}`; use one of {}",
                    chain_names()
                )))
            }
        },
    };

    let Some((cmd, rest)) = positional.split_first() else {
        return Err(UsageError(
            "no command given; use show, import, export, import-banlist or export-banlist"
                .to_string(),
        ));
    };
    let want = |n: usize, shape: &str| -> Result<Vec<PathBuf>, UsageError> {
        if rest.len() != n {
            return Err(UsageError(format!(
                "`{cmd}` takes {n} path{} ({shape}), {} given",
                if n == 1 { "" } else { "s" },
                rest.len()
            )));
        }
        Ok(rest.iter().map(PathBuf::from).collect())
    };
    let command = match cmd.as_str() {
        "show" => Command::Show(want(1, "<peers.dat | lmdb dir>")?.remove(0)),
        "import" => {
            let mut p = want(2, "<peers.dat> <lmdb dir>")?;
            Command::Import(p.remove(0), p.remove(0))
        }
        "export" => {
            let mut p = want(2, "<lmdb dir> <peers.dat>")?;
            Command::Export(p.remove(0), p.remove(0))
        }
        "import-banlist" => {
            let mut p = want(2, "<banlist.json> <lmdb dir>")?;
            Command::ImportBanlist(p.remove(0), p.remove(0))
        }
        "export-banlist" => {
            let mut p = want(2, "<lmdb dir> <banlist.json>")?;
            Command::ExportBanlist(p.remove(0), p.remove(0))
        }
        other => {
            return Err(UsageError(format!(
            "unknown command `{other}`; use show, import, export, import-banlist or export-banlist"
        )))
        }
    };
    Ok(Args { command, params })
}

/// The LMDB environment directory meant by `path`: `path/p2p.lmdb` if that exists (a data
/// directory), else `path` itself.
fn env_dir(path: &Path) -> PathBuf {
    let inner = path.join(P2P_LMDB_DIR);
    if inner.is_dir() {
        inner
    } else {
        path.to_path_buf()
    }
}

fn open_existing_store(path: &Path) -> Result<Store, Failure> {
    let dir = env_dir(path);
    if !dir.join("data.mdb").is_file() {
        return Err(Failure(format!(
            "{} is not an LMDB store (no data.mdb in it)",
            dir.display()
        )));
    }
    Store::open_env_dir(&dir).map_err(|e| Failure(e.to_string()))
}

/// A hint when the data's message start is another network's.
fn magic_hint(kind: &AddrDbErrorKind) -> String {
    if let AddrDbErrorKind::WrongMagic { found, .. } = kind {
        if let Some(c) = Chain::ALL
            .iter()
            .find(|c| NetworkParams::get(**c).message_start == *found)
        {
            return format!(
                " (the data is for network `{}`: try --network {})",
                c.as_str(),
                c.as_str()
            );
        }
    }
    String::new()
}

fn run(args: Args) -> Result<(), Failure> {
    let opts = AddrManOptions {
        params: args.params,
        deterministic: true,
        consistency_check_ratio: 0,
    };
    match args.command {
        Command::Show(path) => {
            let (bytes, name) = if path.is_dir() {
                let store = open_existing_store(&path)?;
                let bytes = store
                    .get(PEERS_KEY)
                    .map_err(|e| Failure(e.to_string()))?
                    .ok_or_else(|| {
                        Failure(format!("{} holds no address database", store.name()))
                    })?;
                (bytes, store.value_name(PEERS_KEY))
            } else {
                let bytes = std::fs::read(&path)
                    .map_err(|e| Failure(format!("{}: {e}", path.display())))?;
                (bytes, path.display().to_string())
            };
            let addrman = addrman_from_bytes(&bytes, NetGroupManager::new(), &opts, &name)
                .map_err(|e| Failure(format!("{e}{}", magic_hint(&e.kind))))?;
            let json: UniValue = getrawaddrman(&addrman);
            println!("{}", json.write(2, 1));
            Ok(())
        }
        Command::Import(file, dir) => {
            let store = Store::open_env_dir(&env_dir(&dir)).map_err(|e| Failure(e.to_string()))?;
            let n = store.import_peers_dat(&file, &opts).map_err(|e| {
                let hint = e
                    .addrdb_error()
                    .map(|d| magic_hint(&d.kind))
                    .unwrap_or_default();
                Failure(format!("{e}{hint}"))
            })?;
            eprintln!(
                "Imported {n} addresses from {} into {}",
                file.display(),
                store.name()
            );
            Ok(())
        }
        Command::Export(dir, file) => {
            let store = open_existing_store(&dir)?;
            let n = store.export_peers_dat(&file, &opts).map_err(|e| {
                let hint = e
                    .addrdb_error()
                    .map(|d| magic_hint(&d.kind))
                    .unwrap_or_default();
                Failure(format!("{e}{hint}"))
            })?;
            eprintln!(
                "Exported {n} addresses from {} to {}",
                store.name(),
                file.display()
            );
            Ok(())
        }
        Command::ImportBanlist(file, dir) => {
            let store = Store::open_env_dir(&env_dir(&dir)).map_err(|e| Failure(e.to_string()))?;
            let parsed = store
                .import_banlist_json(&file)
                .map_err(|e| Failure(e.to_string()))?;
            for d in &parsed.dropped {
                eprintln!("{d}");
            }
            eprintln!(
                "Imported {} bans from {} into {}",
                parsed.bans.len(),
                file.display(),
                store.name()
            );
            Ok(())
        }
        Command::ExportBanlist(dir, file) => {
            let store = open_existing_store(&dir)?;
            let parsed = store
                .export_banlist_json(&file)
                .map_err(|e| Failure(e.to_string()))?;
            eprintln!(
                "Exported {} bans from {} to {}",
                parsed.bans.len(),
                store.name(),
                file.display()
            );
            Ok(())
        }
    }
}

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    if argv
        .iter()
        .any(|a| a == "-h" || a == "--help" || a == "help")
    {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let args = match parse_args(&argv) {
        Ok(a) => a,
        Err(UsageError(msg)) => {
            eprintln!("addrman-tool: {msg}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure(msg)) => {
            eprintln!("addrman-tool: {msg}");
            ExitCode::from(1)
        }
    }
}
