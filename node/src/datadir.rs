//! Data directories: a port of the datadir half of Bitcoin Core's `ArgsManager`
//! (`GetDataDir`, `GetDefaultDataDir`, `CheckDataDirOption` in common/args.cpp) and of the
//! directory creation in `common::InitConfig` (common/init.cpp).
//!
//! Layout (`~/.logos-p2p` by default, or `-datadir`):
//!
//! | chain | network directory |
//! |---|---|
//! | `logos` (default) | `<datadir>/` |
//! | `logostest` | `<datadir>/logostest/` |
//! | `logosregtest` | `<datadir>/logosregtest/` |
//! | `main` (Bitcoin) | `<datadir>/main/` |
//! | `test` (Bitcoin testnet3) | `<datadir>/testnet3/` |
//! | `testnet4`, `signet`, `regtest` | `<datadir>/testnet4/`, `signet/`, `regtest/` |
//!
//! As bitcoind, the base directory holds the config file (`logos-p2p.conf`) and each network
//! directory holds that network's files: `debug.log` and `p2p.lmdb` (address DB and ban list).
//! Bitcoin main gets its own `main/` directory (bitcoind keeps it at the root) because the root
//! belongs to Logos main, and one address DB cannot hold two networks.

use std::path::{Path, PathBuf};

use crate::args::ArgsManager;

/// Name of the default data directory under `$HOME`.
pub const DEFAULT_DATADIR_NAME: &str = ".logos-p2p";

/// Name of the LMDB environment directory (address DB + ban list) in the network directory.
pub const P2P_LMDB_DIRNAME: &str = "p2p.lmdb";

/// Port of CBaseChainParams::DataDir (chainparamsbase.cpp): the network's subdirectory of the
/// data directory ("" = the data directory itself).
pub fn chain_data_dir_name(chain_name: &str) -> &'static str {
    //DMITRY: Bitcoin main's files go to <datadir>/main/ instead of the datadir root; Core: chainparamsbase.cpp::CreateBaseChainParams (DataDir "" for main); changed: the root
    // belongs to Logos main (the default network) and one p2p.lmdb cannot hold two networks.
    match chain_name {
        "main" => "main",
        "test" => "testnet3",
        "testnet4" => "testnet4",
        "signet" => "signet",
        "regtest" => "regtest",
        "logostest" => "logostest",
        "logosregtest" => "logosregtest",
        _ => "",
    }
}

/// Port of GetDefaultDataDir (common/args.cpp), Unix flavour: `$HOME/.logos-p2p`, or
/// `/.logos-p2p` when `$HOME` is unset or empty.
pub fn get_default_data_dir() -> PathBuf {
    let home = std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/"));
    home.join(DEFAULT_DATADIR_NAME)
}

fn absolute(p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|cwd| cwd.join(p))
            .unwrap_or_else(|_| p.to_path_buf())
    }
}

/// Port of CheckDataDirOption (common/args.cpp): `-datadir` is unset or names a directory.
pub fn check_data_dir_option(args: &ArgsManager) -> bool {
    let datadir = args.get_path_arg("-datadir", Path::new(""));
    datadir.as_os_str().is_empty() || absolute(&datadir).is_dir()
}

/// Port of ArgsManager::GetDataDirBase (common/args.cpp): the absolute `-datadir`, or the
/// default one. `None` if `-datadir` is set to something that is not a directory.
pub fn get_data_dir_base(args: &ArgsManager) -> Option<PathBuf> {
    let datadir = args.get_path_arg("-datadir", Path::new(""));
    if datadir.as_os_str().is_empty() {
        return Some(get_default_data_dir());
    }
    let p = absolute(&datadir);
    p.is_dir().then_some(p)
}

/// Port of ArgsManager::GetDataDirNet (common/args.cpp): the base directory plus the
/// network's subdirectory.
pub fn get_data_dir_net(args: &ArgsManager, chain_name: &str) -> Option<PathBuf> {
    let base = get_data_dir_base(args)?;
    let sub = chain_data_dir_name(chain_name);
    Some(if sub.is_empty() { base } else { base.join(sub) })
}

/// The directories a run uses, once chosen and created.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataDirs {
    /// Base directory (holds the config file).
    pub base: PathBuf,
    /// Network directory (holds debug.log, p2p.lmdb, imported peers.dat / banlist.json).
    pub net: PathBuf,
}

impl DataDirs {
    /// Not in Core: `<net>/p2p.lmdb`, the LMDB store of the address DB and the ban list.
    pub fn lmdb_path(&self) -> PathBuf {
        self.net.join(P2P_LMDB_DIRNAME)
    }
}

/// Port of the datadir creation in common::InitConfig (common/init.cpp): creates the base and
/// the network directory if missing.
pub fn create_data_dirs(args: &ArgsManager, chain_name: &str) -> Result<DataDirs, String> {
    let base = get_data_dir_base(args).ok_or_else(|| {
        format!(
            "Specified data directory \"{}\" does not exist.",
            args.get_arg("-datadir", "")
        )
    })?;
    let net = get_data_dir_net(args, chain_name).expect("base exists, checked above");
    for dir in [&base, &net] {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("Cannot create data directory {}: {e}", dir.display()))?;
    }
    Ok(DataDirs { base, net })
}

/// Name of the lock file in the network directory (Core: `.lock`).
pub const LOCK_FILENAME: &str = ".lock";

/// An exclusive lock on a data directory, held until dropped (Core's `fsbridge::FileLock`
/// kept in `dir_locks`).
#[derive(Debug)]
pub struct DirectoryLock {
    _file: std::fs::File,
    path: PathBuf,
}

impl DirectoryLock {
    /// Not in Core: the lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Port of LockDirectory (init.cpp, with util::LockDirectory of util/fs_helpers.cpp): creates
/// `<dir>/.lock` and takes an exclusive advisory lock on it, so that one process at a time uses
/// the directory. The error texts are bitcoind's.
pub fn lock_directory(dir: &Path) -> Result<DirectoryLock, String> {
    let path = dir.join(LOCK_FILENAME);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(|_| {
            format!(
                "Cannot write to directory '{}'; check permissions.",
                dir.display()
            )
        })?;
    match file.try_lock() {
        Ok(()) => Ok(DirectoryLock { _file: file, path }),
        Err(e) => {
            log::error!(
                "Error while attempting to lock directory {}: {e}",
                dir.display()
            );
            Err(format!(
                "Cannot obtain a lock on directory {}. {} is probably already running.",
                dir.display(),
                crate::args::CLIENT_BINARY
            ))
        }
    }
}
