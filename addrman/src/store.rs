//! LMDB persistence of the address database and the ban list: the port of Core's
//! `DumpPeerAddresses` / `LoadAddrman` (addrdb.cpp) and of `CBanDB` (addrdb.cpp) onto one LMDB
//! environment instead of the files `peers.dat` and `banlist.json`.
//!
//! Layout: one environment (standalone: `<datadir>/p2p.lmdb`; embedded: the host's own
//! environment and database, see [`Store::from_env`]), one named database [`STORE_DB_NAME`] with
//! one value per file Core would write:
//!
//! | key | value |
//! |---|---|
//! | [`PEERS_KEY`] `peers.dat` | byte-for-byte a bitcoind `peers.dat` (message start, addrman V4 serialization, checksum with the network hash) |
//! | [`BANLIST_KEY`] `banlist.json` | byte-for-byte a bitcoind `banlist.json` |
//! | `peers.dat.bak`, `<key>.corrupt-<time>` | values moved aside because they could not be read (the newest [`MAX_MOVED_ASIDE`] per key) |
//!
//! Each dump writes its whole value in one write transaction, so a crash mid-dump leaves the
//! previous value (Core gets the same effect by writing a temporary file and renaming it).
//! Values export to and import from bitcoind's files unchanged.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use lmdb::{Database, DatabaseFlags, Environment, Transaction, WriteFlags};
use netbase::{get_network_name, CNetAddr, CService, NetGroupManager};
use protocol::NetworkParams;

use crate::addrdb::{AddrDbError, AddrDbErrorKind};
use crate::addrinfo::AddrInfo;
use crate::addrman::AddrMan;
use crate::addrman_impl::AddressPosition;
use crate::banlist_json::{read_banlist_json, write_banlist_json, ParsedBanMap, UniValue};
use crate::banman::{BanDb, BanDbError, BanMap};
use crate::clock::{Clock, SystemClock};

/// Directory of the standalone LMDB environment inside the data directory.
pub const P2P_LMDB_DIR: &str = "p2p.lmdb";

/// Name of the LMDB database (within the environment) that [`Store::open`] uses.
pub const STORE_DB_NAME: &str = "p2p";

/// Key of the address database value (the `peers.dat` bytes).
pub const PEERS_KEY: &str = "peers.dat";

/// Key of the ban list value (the `banlist.json` text).
pub const BANLIST_KEY: &str = "banlist.json";

/// Not in Core: how many values moved aside are kept per key (the newest); older ones are
/// deleted, so a value that keeps going bad cannot fill the LMDB map.
pub const MAX_MOVED_ASIDE: usize = 3;

/// Key a `peers.dat` of an incompatible (newer) format is moved to, as Core renames the file to
/// `peers.dat.bak`.
pub const PEERS_BACKUP_KEY: &str = "peers.dat.bak";

/// LMDB map size of a standalone store: room for far more than the largest address database
/// (Core's addrman holds at most 1024·64 + 256·64 entries, a few MB serialized).
pub const STORE_MAP_SIZE: usize = 256 << 20;

/// An LMDB or file-system failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreError {
    /// An LMDB call failed.
    Lmdb {
        /// The store (environment path or the host's name for it).
        store: String,
        /// What was being done.
        op: String,
        /// LMDB's error.
        error: lmdb::Error,
    },
    /// A file could not be read or written.
    Io {
        /// The file.
        path: String,
        /// What went wrong.
        reason: String,
    },
    /// The value asked for is not in the store.
    NotFound {
        /// The store.
        store: String,
        /// The key.
        key: String,
    },
    /// Another store failed (a host's store, in memory, through the C ABI).
    Backend {
        /// The store.
        store: String,
        /// What went wrong.
        reason: String,
    },
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::Lmdb { store, op, error } => {
                write!(f, "LMDB store {store}: {op} failed: {error}")
            }
            StoreError::Io { path, reason } => write!(f, "{path}: {reason}"),
            StoreError::NotFound { store, key } => {
                write!(f, "LMDB store {store} holds no {key}")
            }
            StoreError::Backend { store, reason } => write!(f, "{store}: {reason}"),
        }
    }
}

impl std::error::Error for StoreError {}

/// Why [`Store::load_addrman`] (Core's `LoadAddrman`) or a peers.dat import could not give an
/// address manager.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoadError {
    /// The stored value (or imported file) exists but cannot be read: wrong network magic,
    /// checksum mismatch, truncated, corrupt content, or (from [`Store::read_addrman`]) a newer
    /// format. `error.file` names the value and the store, or the file.
    Corrupt(AddrDbError),
    /// The store itself failed.
    Store(StoreError),
}

impl LoadError {
    /// Not in Core: the peers.dat error, if the data was at fault.
    pub fn addrdb_error(&self) -> Option<&AddrDbError> {
        match self {
            LoadError::Corrupt(e) => Some(e),
            LoadError::Store(_) => None,
        }
    }
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::Corrupt(e) => {
                let name = e.file.as_deref().unwrap_or(PEERS_KEY);
                write!(
                    f,
                    "Invalid or corrupt peers.dat ({}). As a workaround, you can move {name} out of the way (Store::move_aside, or rename the file) to have a new one created on the next start.",
                    e.kind
                )
            }
            LoadError::Store(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for LoadError {}

impl From<StoreError> for LoadError {
    fn from(e: StoreError) -> Self {
        LoadError::Store(e)
    }
}

/// How to build the address manager a load produces (Core's `LoadAddrman` arguments).
#[derive(Clone, Copy, Debug)]
pub struct AddrManOptions<'a> {
    /// The network: message start checked in the data, and the hash (bucketing and checksum).
    pub params: &'a NetworkParams,
    /// Core's test-only deterministic addrman (`-test=addrman`).
    pub deterministic: bool,
    /// Core's `-checkaddrman` (0 = no consistency checks).
    pub consistency_check_ratio: i32,
}

impl<'a> AddrManOptions<'a> {
    /// Not in Core: options for `params` with Core's defaults (not deterministic, no consistency checks).
    pub fn new(params: &'a NetworkParams) -> Self {
        AddrManOptions {
            params,
            deterministic: false,
            consistency_check_ratio: 0,
        }
    }

    fn new_addrman(&self, netgroupman: NetGroupManager) -> AddrMan {
        AddrMan::new(
            netgroupman,
            self.deterministic,
            self.consistency_check_ratio,
            self.params.hash_kind,
        )
    }
}

/// Not in Core: parse complete peers.dat bytes into a new address manager; errors carry `name`.
pub fn addrman_from_bytes(
    bytes: &[u8],
    netgroupman: NetGroupManager,
    opts: &AddrManOptions<'_>,
    name: &str,
) -> Result<AddrMan, AddrDbError> {
    let addrman = opts.new_addrman(netgroupman);
    crate::addrdb::read_peers_dat(&addrman, bytes, opts.params.message_start)
        .map_err(|e| e.in_file(name))?;
    Ok(addrman)
}

/// A key/value store holding the address database and the ban list, each one value written in
/// one transaction: LMDB ([`Store`], standalone or inside a host's environment), or any other
/// store a host provides (in memory, a raw `MDB_env *` through the C ABI).
///
/// The required methods move bytes; the provided ones are Core's load and dump logic
/// (`LoadAddrman`, `DumpPeerAddresses`, `CBanDB`), so every store goes through the same path.
pub trait KvStore: Send + Sync {
    /// The value of `key`, if any.
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// Replace the value of `key` atomically.
    fn put(&self, key: &str, value: &[u8]) -> Result<(), StoreError>;
    /// Remove `key`; false if it held nothing.
    fn delete(&self, key: &str) -> Result<bool, StoreError>;
    /// The store's name in messages.
    fn name(&self) -> String;

    /// Not in Core: how a value of this store is named in errors (`peers.dat in <store>`).
    fn value_name(&self, key: &str) -> String {
        format!("{key} in {}", self.name())
    }

    /// Not in Core: the time, seconds, for the names of values moved aside.
    fn now(&self) -> i64 {
        SystemClock.now()
    }

    /// Not in Core: move the value of `key` to `new_key` (replacing any value there), so that
    /// `key` reads as absent, as Core renames a bad file. Returns false if `key` held nothing.
    fn rename(&self, key: &str, new_key: &str) -> Result<bool, StoreError> {
        let Some(value) = self.get(key)? else {
            return Ok(false);
        };
        self.put(new_key, &value)?;
        self.delete(key)
    }

    /// Not in Core: every key of the store, or `None` if this store cannot list them (then
    /// [`KvStore::move_aside`] keeps every value it moves, unbounded).
    fn list_keys(&self) -> Result<Option<Vec<String>>, StoreError> {
        Ok(None)
    }

    /// Not in Core: delete the oldest values moved aside from `key` (`<key>.corrupt-<time>[-n]`,
    /// ordered by time then `n`) so that at most `keep` remain. Returns how many were deleted.
    fn prune_moved_aside(&self, key: &str, keep: usize) -> Result<usize, StoreError> {
        let Some(keys) = self.list_keys()? else {
            return Ok(0);
        };
        let prefix = format!("{key}.corrupt-");
        let mut aside: Vec<((i64, u64), String)> = keys
            .into_iter()
            .filter_map(|k| {
                let rest = k.strip_prefix(&prefix)?;
                let order = match rest.split_once('-') {
                    Some((t, n)) => (t.parse().ok()?, n.parse().ok()?),
                    None => (rest.parse().ok()?, 0),
                };
                Some((order, k))
            })
            .collect();
        aside.sort();
        let excess = aside.len().saturating_sub(keep);
        for (_, old) in &aside[..excess] {
            self.delete(old)?;
            log::info!(
                "Deleted {} (only the newest {MAX_MOVED_ASIDE} values moved aside are kept)",
                self.value_name(old)
            );
        }
        Ok(excess)
    }

    /// Not in Core: move a bad value aside to `<key>.corrupt-<now>` (a free name: `-1`, `-2`, … appended if
    /// taken) so that the next load starts empty; returns the new key, or `None` if `key` held
    /// nothing. The moved value stays in the store for inspection or export; of the values
    /// moved aside from `key`, only the newest [`MAX_MOVED_ASIDE`] are kept (older ones are
    /// deleted first, so a value that keeps going bad cannot fill the store).
    fn move_aside(&self, key: &str) -> Result<Option<String>, StoreError> {
        if self.get(key)?.is_none() {
            return Ok(None);
        }
        if let Err(e) = self.prune_moved_aside(key, MAX_MOVED_ASIDE.saturating_sub(1)) {
            log::warn!(
                "Cannot delete old values moved aside from {}: {e}",
                self.value_name(key)
            );
        }
        let base = format!("{key}.corrupt-{}", self.now());
        let mut new_key = base.clone();
        let mut n = 0;
        while self.get(&new_key)?.is_some() {
            n += 1;
            new_key = format!("{base}-{n}");
        }
        if self.rename(key, &new_key)? {
            log::warn!(
                "Moved unreadable {} aside to {new_key}",
                self.value_name(key)
            );
            Ok(Some(new_key))
        } else {
            Ok(None)
        }
    }

    /// Port of DumpPeerAddresses (addrdb.cpp): store the complete peers.dat serialization of
    /// `addrman` (with `message_start`, checksum by the addrman's hash) as one value, written in
    /// one transaction.
    fn dump_peer_addresses(
        &self,
        addrman: &AddrMan,
        message_start: [u8; 4],
    ) -> Result<(), StoreError> {
        let bytes = crate::addrdb::write_peers_dat(addrman, message_start);
        self.put(PEERS_KEY, &bytes)
    }

    /// Not in Core: the stored address database, checked strictly: `Ok(None)` if there is none, and every
    /// problem — including a newer format — is an error naming the value and the store.
    fn read_addrman(
        &self,
        netgroupman: NetGroupManager,
        opts: &AddrManOptions<'_>,
    ) -> Result<Option<AddrMan>, LoadError> {
        let Some(bytes) = self.get(PEERS_KEY)? else {
            return Ok(None);
        };
        addrman_from_bytes(&bytes, netgroupman, opts, &self.value_name(PEERS_KEY))
            .map(Some)
            .map_err(LoadError::Corrupt)
    }

    /// Port of LoadAddrman (addrdb.cpp) on the store.
    ///
    /// - No stored value: a new empty addrman, stored at once ("Creating peers.dat because the
    ///   file was not found").
    /// - A newer, incompatible format: the value is moved to [`PEERS_BACKUP_KEY`] and a new
    ///   empty addrman stored, as Core renames the file to `peers.dat.bak`.
    /// - Any other fault (wrong network magic, checksum, truncation, corrupt content): an error
    ///   naming the value and the store; the caller may [`KvStore::move_aside`] the value (see
    ///   [`KvStore::load_addrman_or_move_aside`]) and start empty.
    fn load_addrman(
        &self,
        netgroupman: NetGroupManager,
        opts: &AddrManOptions<'_>,
    ) -> Result<AddrMan, LoadError> {
        let start = Instant::now();
        let ngm = netgroupman.clone();
        match self.read_addrman(netgroupman, opts) {
            Ok(Some(addrman)) => {
                log::info!(
                    "Loaded {} addresses from peers.dat  {}ms",
                    addrman.size(None, None),
                    start.elapsed().as_millis()
                );
                Ok(addrman)
            }
            Ok(None) => {
                let addrman = opts.new_addrman(ngm);
                log::info!(
                    "Creating peers.dat because the file was not found (\"{}\")",
                    self.value_name(PEERS_KEY)
                );
                self.dump_peer_addresses(&addrman, opts.params.message_start)?;
                Ok(addrman)
            }
            Err(LoadError::Corrupt(e)) if e.is_incompatible_version() => {
                self.rename(PEERS_KEY, PEERS_BACKUP_KEY)?;
                let addrman = opts.new_addrman(ngm);
                log::info!(
                    "Creating new peers.dat because the file version was not compatible (\"{}\"). Original backed up to {PEERS_BACKUP_KEY}",
                    self.value_name(PEERS_KEY)
                );
                self.dump_peer_addresses(&addrman, opts.params.message_start)?;
                Ok(addrman)
            }
            Err(e) => Err(e),
        }
    }

    /// Port of LoadAddrman (addrdb.cpp), changed: [`KvStore::load_addrman`], and if the stored value is corrupt: log the error, move the
    /// value aside ([`KvStore::move_aside`]) and start with a new empty addrman. Returns the error
    /// that was recovered from, if any, so the node can tell the user.
    fn load_addrman_or_move_aside(
        &self,
        netgroupman: NetGroupManager,
        opts: &AddrManOptions<'_>,
    ) -> Result<(AddrMan, Option<LoadError>), StoreError> {
        match self.load_addrman(netgroupman.clone(), opts) {
            Ok(a) => Ok((a, None)),
            Err(LoadError::Store(e)) => Err(e),
            Err(e) => {
                //DMITRY: an unreadable address database is moved aside to peers.dat.corrupt-<time> and the node starts empty; Core: addrdb.cpp::LoadAddrman (returns an error, the node refuses to start); changed: DESIGN.md Storage
                // asks the node to move it aside and start empty (load_addrman keeps Core's error
                // for callers that want it).
                log::error!("{e}");
                self.move_aside(PEERS_KEY)?;
                let addrman = opts.new_addrman(netgroupman);
                self.dump_peer_addresses(&addrman, opts.params.message_start)?;
                Ok((addrman, Some(e)))
            }
        }
    }

    /// Port of CBanDB::Write (addrdb.cpp): store `banmap` as the `banlist.json` text, one value
    /// in one transaction.
    fn dump_banlist(&self, banmap: &BanMap) -> Result<(), StoreError> {
        self.put(BANLIST_KEY, write_banlist_json(banmap).as_bytes())
    }

    /// Port of CBanDB::Read (addrdb.cpp), strictly (nothing moved aside): the stored bans and the
    /// entries dropped for an unknown version or an unparseable subnet.
    fn load_banlist(&self) -> Result<ParsedBanMap, BanDbError> {
        let name = self.value_name(BANLIST_KEY);
        let bytes = self
            .get(BANLIST_KEY)
            .map_err(|e| BanDbError::Io {
                name: name.clone(),
                reason: e.to_string(),
            })?
            .ok_or_else(|| BanDbError::NotFound { name: name.clone() })?;
        let text = std::str::from_utf8(&bytes).map_err(|e| BanDbError::InvalidJson {
            name: name.clone(),
            reason: format!("Settings file {name} does not contain valid JSON (not UTF-8: {e})"),
        })?;
        read_banlist_json(text, &name)
    }
}

/// The ban list of a [`KvStore`] as BanMan's database (Core's `CBanDB`).
#[derive(Clone)]
pub struct KvBanDb(pub Arc<dyn KvStore>);

impl BanDb for KvBanDb {
    fn write(&self, banmap: &BanMap) -> Result<(), BanDbError> {
        self.0.dump_banlist(banmap).map_err(|e| BanDbError::Io {
            name: self.0.value_name(BANLIST_KEY),
            reason: e.to_string(),
        })
    }

    /// Reads the ban list; a corrupt value is logged and moved aside (to
    /// `banlist.json.corrupt-<time>`) before the error is returned, so that `BanMan`'s
    /// "Recreating the banlist database" does not destroy it.
    fn read(&self) -> Result<BanMap, BanDbError> {
        //DMITRY: an unreadable ban list is moved aside to banlist.json.corrupt-<time> before BanMan recreates it; Core: addrdb.cpp::CBanDB::Read + banman.cpp::BanMan::LoadBanlist (recreated over the bad file); changed: the bad
        // bans are kept for inspection.
        match self.0.load_banlist() {
            Ok(p) => Ok(p.bans),
            Err(e) => {
                if e.is_corrupt() {
                    log::error!("{e}");
                    if let Err(me) = self.0.move_aside(BANLIST_KEY) {
                        log::error!("{me}");
                    }
                }
                Err(e)
            }
        }
    }

    fn name(&self) -> String {
        self.0.value_name(BANLIST_KEY)
    }
}

/// The LMDB store of one node: address database and ban list.
#[derive(Clone)]
pub struct Store {
    env: Arc<Environment>,
    db: Database,
    name: String,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store").field("name", &self.name).finish()
    }
}

impl Store {
    /// Not in Core: open (creating if needed) the standalone store `<datadir>/p2p.lmdb`.
    pub fn open(datadir: &Path) -> Result<Store, StoreError> {
        Self::open_env_dir(&datadir.join(P2P_LMDB_DIR))
    }

    /// Not in Core: open (creating if needed) an LMDB environment directory `dir` itself as a store.
    pub fn open_env_dir(dir: &Path) -> Result<Store, StoreError> {
        let name = dir.display().to_string();
        std::fs::create_dir_all(dir).map_err(|e| StoreError::Io {
            path: name.clone(),
            reason: format!("cannot create the LMDB directory: {e}"),
        })?;
        let lmdb_err = |op: &str, error| StoreError::Lmdb {
            store: name.clone(),
            op: op.to_string(),
            error,
        };
        let env = Environment::new()
            .set_max_dbs(4)
            .set_map_size(STORE_MAP_SIZE)
            .open(dir)
            .map_err(|e| lmdb_err("opening the environment", e))?;
        let db = env
            .create_db(Some(STORE_DB_NAME), DatabaseFlags::empty())
            .map_err(|e| lmdb_err("opening the database", e))?;
        Ok(Store {
            env: Arc::new(env),
            db,
            name,
            clock: Arc::new(SystemClock),
        })
    }

    /// Not in Core: A store inside an environment the embedding host opened (the Logos node already uses
    /// LMDB): values are kept under this module's keys in `db`.
    pub fn from_env(env: Arc<Environment>, db: Database) -> Store {
        Self::from_env_named(env, db, "host LMDB environment")
    }

    /// Not in Core: as [`Store::from_env`], with the name error messages use for the store.
    pub fn from_env_named(env: Arc<Environment>, db: Database, name: impl Into<String>) -> Store {
        Store {
            env,
            db,
            name: name.into(),
            clock: Arc::new(SystemClock),
        }
    }

    /// Not in Core: use `clock` for the times in moved-aside keys.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Store {
        self.clock = clock;
        self
    }

    /// Not in Core: the LMDB environment.
    pub fn env(&self) -> &Arc<Environment> {
        &self.env
    }

    /// Not in Core: the LMDB database holding the values.
    pub fn database(&self) -> Database {
        self.db
    }

    fn lmdb_err(&self, op: &str, error: lmdb::Error) -> StoreError {
        StoreError::Lmdb {
            store: self.name.clone(),
            op: op.to_string(),
            error,
        }
    }

    /// Not in Core: the value of `key`, if any (one read transaction).
    fn get_value(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let txn = self
            .env
            .begin_ro_txn()
            .map_err(|e| self.lmdb_err("beginning a read transaction", e))?;
        let value = match txn.get(self.db, &key) {
            Ok(v) => Some(v.to_vec()),
            Err(lmdb::Error::NotFound) => None,
            Err(e) => return Err(self.lmdb_err(&format!("reading {key}"), e)),
        };
        txn.abort();
        Ok(value)
    }

    /// Not in Core: [`Store::put`] with `before_commit` run after the value is written into the transaction
    /// and before the commit; an error from it aborts the transaction (the old value stays).
    /// Tests use it to interrupt a dump (error, or a process abort) at the worst moment.
    pub fn put_with(
        &self,
        key: &str,
        value: &[u8],
        before_commit: impl FnOnce() -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let mut txn = self
            .env
            .begin_rw_txn()
            .map_err(|e| self.lmdb_err("beginning a write transaction", e))?;
        txn.put(self.db, &key, &value, WriteFlags::empty())
            .map_err(|e| self.lmdb_err(&format!("writing {key}"), e))?;
        if let Err(e) = before_commit() {
            txn.abort();
            return Err(e);
        }
        txn.commit()
            .map_err(|e| self.lmdb_err(&format!("committing {key}"), e))
    }

    /// Not in Core: all keys of the store, in LMDB order.
    pub fn keys(&self) -> Result<Vec<String>, StoreError> {
        use lmdb::Cursor;
        let txn = self
            .env
            .begin_ro_txn()
            .map_err(|e| self.lmdb_err("beginning a read transaction", e))?;
        let mut keys = Vec::new();
        {
            let mut cursor = txn
                .open_ro_cursor(self.db)
                .map_err(|e| self.lmdb_err("opening a cursor", e))?;
            for (k, _) in cursor.iter() {
                keys.push(String::from_utf8_lossy(k).into_owned());
            }
        }
        txn.abort();
        Ok(keys)
    }

    /// Not in Core: move the value of `key` aside to `new_key` (replacing any value there) in one write
    /// transaction, so that `key` reads as absent and the caller starts empty. Core renames a
    /// bad file the same way. Returns false if `key` held nothing.
    fn rename_value(&self, key: &str, new_key: &str) -> Result<bool, StoreError> {
        let mut txn = self
            .env
            .begin_rw_txn()
            .map_err(|e| self.lmdb_err("beginning a write transaction", e))?;
        let value = match txn.get(self.db, &key) {
            Ok(v) => v.to_vec(),
            Err(lmdb::Error::NotFound) => return Ok(false),
            Err(e) => return Err(self.lmdb_err(&format!("reading {key}"), e)),
        };
        txn.put(self.db, &new_key, &value, WriteFlags::empty())
            .map_err(|e| self.lmdb_err(&format!("writing {new_key}"), e))?;
        txn.del(self.db, &key, None)
            .map_err(|e| self.lmdb_err(&format!("deleting {key}"), e))?;
        txn.commit()
            .map_err(|e| self.lmdb_err(&format!("moving {key} to {new_key}"), e))?;
        Ok(true)
    }

    /// Not in Core: import a bitcoind `peers.dat` file: checked with `opts` (errors name the file), then
    /// stored unchanged. Returns the number of addresses.
    pub fn import_peers_dat(
        &self,
        path: &Path,
        opts: &AddrManOptions<'_>,
    ) -> Result<usize, LoadError> {
        let bytes = read_file(path).map_err(|e| match e {
            FileError::NotFound(name) => {
                LoadError::Corrupt(AddrDbError::new(AddrDbErrorKind::NotFound).in_file(name))
            }
            FileError::Io(err) => LoadError::Store(err),
        })?;
        let addrman = addrman_from_bytes(
            &bytes,
            NetGroupManager::new(),
            opts,
            &path.display().to_string(),
        )
        .map_err(LoadError::Corrupt)?;
        self.put(PEERS_KEY, &bytes)?;
        Ok(addrman.size(None, None))
    }

    /// Not in Core: export the stored address database to a `peers.dat` file bitcoind can read (checked with
    /// `opts` first, written through a temporary file renamed over `path`). Returns the number
    /// of addresses.
    pub fn export_peers_dat(
        &self,
        path: &Path,
        opts: &AddrManOptions<'_>,
    ) -> Result<usize, LoadError> {
        let bytes = self.get(PEERS_KEY)?.ok_or_else(|| StoreError::NotFound {
            store: self.name.clone(),
            key: PEERS_KEY.to_string(),
        })?;
        let addrman = addrman_from_bytes(
            &bytes,
            NetGroupManager::new(),
            opts,
            &self.value_name(PEERS_KEY),
        )
        .map_err(LoadError::Corrupt)?;
        write_file_atomic(path, &bytes)?;
        Ok(addrman.size(None, None))
    }

    /// Not in Core: import a bitcoind `banlist.json` file: checked (errors name the file), then stored
    /// unchanged. Returns what was read.
    pub fn import_banlist_json(&self, path: &Path) -> Result<ParsedBanMap, BanDbError> {
        let name = path.display().to_string();
        let bytes = read_file(path).map_err(|e| match e {
            FileError::NotFound(name) => BanDbError::NotFound { name },
            FileError::Io(err) => BanDbError::Io {
                name: name.clone(),
                reason: err.to_string(),
            },
        })?;
        let text = String::from_utf8_lossy(&bytes);
        let parsed = read_banlist_json(&text, &name)?;
        self.put(BANLIST_KEY, &bytes).map_err(|e| BanDbError::Io {
            name: self.value_name(BANLIST_KEY),
            reason: e.to_string(),
        })?;
        Ok(parsed)
    }

    /// Not in Core: export the stored ban list to a `banlist.json` file bitcoind can read (checked first).
    pub fn export_banlist_json(&self, path: &Path) -> Result<ParsedBanMap, BanDbError> {
        let parsed = self.load_banlist()?;
        let bytes = self
            .get(BANLIST_KEY)
            .ok()
            .flatten()
            .unwrap_or_else(|| write_banlist_json(&parsed.bans).into_bytes());
        write_file_atomic(path, &bytes).map_err(|e| BanDbError::Io {
            name: path.display().to_string(),
            reason: e.to_string(),
        })?;
        Ok(parsed)
    }
}

impl KvStore for Store {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.get_value(key)
    }

    /// Replaces the value of `key` in one write transaction: either the whole new value is
    /// committed or the old one stays.
    fn put(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.put_with(key, value, || Ok(()))
    }

    fn delete(&self, key: &str) -> Result<bool, StoreError> {
        let mut txn = self
            .env
            .begin_rw_txn()
            .map_err(|e| self.lmdb_err("beginning a write transaction", e))?;
        match txn.del(self.db, &key, None) {
            Ok(()) => {}
            Err(lmdb::Error::NotFound) => return Ok(false),
            Err(e) => return Err(self.lmdb_err(&format!("deleting {key}"), e)),
        }
        txn.commit()
            .map_err(|e| self.lmdb_err(&format!("committing the deletion of {key}"), e))?;
        Ok(true)
    }

    /// The store's name in messages (its directory, or the host's name for it).
    fn name(&self) -> String {
        self.name.clone()
    }

    /// `peers.dat in LMDB store <dir>`.
    fn value_name(&self, key: &str) -> String {
        format!("{key} in LMDB store {}", self.name)
    }

    fn now(&self) -> i64 {
        self.clock.now()
    }

    /// One write transaction: the value is moved or nothing changes.
    fn rename(&self, key: &str, new_key: &str) -> Result<bool, StoreError> {
        self.rename_value(key, new_key)
    }

    fn list_keys(&self) -> Result<Option<Vec<String>>, StoreError> {
        self.keys().map(Some)
    }
}

enum FileError {
    NotFound(String),
    Io(StoreError),
}

fn read_file(path: &Path) -> Result<Vec<u8>, FileError> {
    std::fs::read(path).map_err(|e| {
        let name = path.display().to_string();
        if e.kind() == std::io::ErrorKind::NotFound {
            FileError::NotFound(name)
        } else {
            FileError::Io(StoreError::Io {
                path: name,
                reason: e.to_string(),
            })
        }
    })
}

/// Write `bytes` to `path` through `<path>.new`, synced and renamed over `path`.
fn write_file_atomic(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    use std::io::Write;
    let mut tmp = path.as_os_str().to_os_string();
    tmp.push(".new");
    let tmp = PathBuf::from(tmp);
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)
    })();
    result.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        StoreError::Io {
            path: path.display().to_string(),
            reason: e.to_string(),
        }
    })
}

/// Port of AddrmanEntryToJSON (rpc/net.cpp): one entry as `getrawaddrman` shows it —
/// `address`, `mapped_as` (only with an asmap), `port`, `services`, `time`, `network`, `source`,
/// `source_network`, `source_mapped_as` (only with an asmap), in Core's order. Takes the entry's
/// fields rather than an [`AddrInfo`] so the node's RPC, which sees plain data, uses it too.
pub fn addrman_entry_to_json(
    addr: &CService,
    services: u64,
    time: i64,
    source: &CNetAddr,
    mapped_as: impl Fn(&CNetAddr) -> u32,
) -> UniValue {
    let mut ret = UniValue::new_object();
    ret.push_kv("address", addr.addr.to_string_addr());
    let addr_mapped_as = mapped_as(&addr.addr);
    if addr_mapped_as != 0 {
        ret.push_kv("mapped_as", UniValue::uint(u64::from(addr_mapped_as)));
    }
    ret.push_kv("port", UniValue::uint(u64::from(addr.port)));
    ret.push_kv("services", UniValue::uint(services));
    ret.push_kv("time", UniValue::int(time));
    ret.push_kv("network", get_network_name(addr.addr.get_net_class()));
    ret.push_kv("source", source.to_string_addr());
    ret.push_kv("source_network", get_network_name(source.get_net_class()));
    let source_mapped_as = mapped_as(source);
    if source_mapped_as != 0 {
        ret.push_kv(
            "source_mapped_as",
            UniValue::uint(u64::from(source_mapped_as)),
        );
    }
    ret
}

/// Port of AddrmanTableToJSON (rpc/net.cpp): a table's entries keyed `"<bucket>/<position>"`,
/// given as `(bucket, position, entry as JSON)`.
pub fn addrman_table_to_json(entries: impl IntoIterator<Item = (i32, i32, UniValue)>) -> UniValue {
    let mut table = UniValue::new_object();
    for (bucket, position, entry) in entries {
        table.push_kv_end(format!("{bucket}/{position}"), entry);
    }
    table
}

/// [`addrman_table_to_json`] over addrman's own entries.
fn addrinfo_table_to_json(
    entries: &[(AddrInfo, AddressPosition)],
    netgroupman: &NetGroupManager,
) -> UniValue {
    addrman_table_to_json(entries.iter().map(|(info, pos)| {
        let entry = addrman_entry_to_json(
            &info.addr.service,
            info.addr.n_services.0,
            info.addr.n_time,
            &info.source,
            |a| netgroupman.get_mapped_as(a),
        );
        (pos.bucket, pos.position, entry)
    }))
}

/// Port of the `getrawaddrman` RPC result (rpc/net.cpp): `{"new": {...}, "tried": {...}}`.
pub fn getrawaddrman(addrman: &AddrMan) -> UniValue {
    let ngm = addrman.netgroupman();
    let mut ret = UniValue::new_object();
    ret.push_kv(
        "new",
        addrinfo_table_to_json(&addrman.get_entries(false), &ngm),
    );
    ret.push_kv(
        "tried",
        addrinfo_table_to_json(&addrman.get_entries(true), &ngm),
    );
    ret
}

/// Port of the peers.dat backup in LoadAddrman (addrdb.cpp): move a bad file aside to `<path>.bak` (as Core renames an incompatible `peers.dat`), so that
/// the caller starts empty. Returns the new path.
pub fn move_file_aside(path: &Path) -> Result<PathBuf, StoreError> {
    let mut bak = path.as_os_str().to_os_string();
    bak.push(".bak");
    let bak = PathBuf::from(bak);
    std::fs::rename(path, &bak).map_err(|e| StoreError::Io {
        path: path.display().to_string(),
        reason: format!(
            "Failed to rename invalid file to {}: {e}. Please move or delete it and try again.",
            bak.display()
        ),
    })?;
    log::warn!(
        "Moved unreadable {} aside to {}",
        path.display(),
        bak.display()
    );
    Ok(bak)
}

/// Not in Core: a store in memory only (nothing survives the process): the library's
/// `Storage::Memory`, tests and the fuzzers.
#[derive(Debug, Default)]
pub struct MemoryStore {
    values: parking_lot::Mutex<std::collections::BTreeMap<String, Vec<u8>>>,
}

impl KvStore for MemoryStore {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.values.lock().get(key).cloned())
    }
    fn put(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.values.lock().insert(key.to_string(), value.to_vec());
        Ok(())
    }
    fn delete(&self, key: &str) -> Result<bool, StoreError> {
        Ok(self.values.lock().remove(key).is_some())
    }
    fn list_keys(&self) -> Result<Option<Vec<String>>, StoreError> {
        Ok(Some(self.values.lock().keys().cloned().collect()))
    }
    fn name(&self) -> String {
        "memory".to_string()
    }
}

#[cfg(test)]
#[allow(non_snake_case)]
mod tests {
    use super::*;
    use crate::banman::{BanMan, DEFAULT_MISBEHAVING_BANTIME};
    use crate::clock::MockClock;
    use netbase::{CNetAddr, CService};
    use protocol::{CAddress, Chain, ServiceFlags};
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;
    use serde_json::Value;
    use std::net::Ipv4Addr;

    /// Time of the vector's entries (see shared/vectors/README.md).
    const VECTOR_TIME: i64 = 1_795_503_770;

    fn regtest() -> &'static NetworkParams {
        NetworkParams::get(Chain::Regtest)
    }

    fn opts() -> AddrManOptions<'static> {
        AddrManOptions {
            params: regtest(),
            deterministic: true,
            consistency_check_ratio: 0,
        }
    }

    use crate::test_util::{vector_path, TempDir};

    fn vector(name: &str) -> Vec<u8> {
        let p = vector_path(name);
        std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
    }

    fn small_addrman(n: u8) -> AddrMan {
        let am = AddrMan::new(NetGroupManager::new(), true, 0, regtest().hash_kind)
            .with_clock(MockClock::shared(VECTOR_TIME));
        let source = CNetAddr::from_ipv4(Ipv4Addr::new(250, 1, 1, 1));
        let addrs: Vec<CAddress> = (1..=n)
            .map(|i| {
                CAddress::new(
                    CService::new(CNetAddr::from_ipv4(Ipv4Addr::new(100, 1, i, 1)), 8333),
                    ServiceFlags::NODE_NETWORK,
                    VECTOR_TIME - 100,
                )
            })
            .collect();
        assert!(am.add(&addrs, &source, 0));
        am
    }

    fn store_in(dir: &TempDir) -> Store {
        Store::open(&dir.0)
            .unwrap()
            .with_clock(MockClock::shared(1_800_000_000))
    }

    /// The standalone store lives in `<datadir>/p2p.lmdb`; dump then load (also after
    /// reopening) gives the same addresses and the same bytes.
    #[test]
    fn dump_and_load_round_trip() {
        let dir = TempDir::new("roundtrip");
        let am = small_addrman(20);
        let n = am.size(None, None);
        {
            let store = store_in(&dir);
            store
                .dump_peer_addresses(&am, regtest().message_start)
                .unwrap();
        }
        assert!(dir.0.join("p2p.lmdb").join("data.mdb").is_file());
        let store = store_in(&dir);
        let loaded = store.load_addrman(NetGroupManager::new(), &opts()).unwrap();
        assert_eq!(loaded.size(None, None), n);
        assert_eq!(loaded.key(), am.key());
        assert_eq!(
            store.get(PEERS_KEY).unwrap().unwrap(),
            crate::addrdb::write_peers_dat(&am, regtest().message_start)
        );
    }

    /// LoadAddrman with no stored value: a new empty addrman, stored at once.
    #[test]
    fn load_missing_creates_empty() {
        let dir = TempDir::new("missing");
        let store = store_in(&dir);
        assert!(store.get(PEERS_KEY).unwrap().is_none());
        assert!(store
            .read_addrman(NetGroupManager::new(), &opts())
            .unwrap()
            .is_none());
        let am = store.load_addrman(NetGroupManager::new(), &opts()).unwrap();
        assert_eq!(am.size(None, None), 0);
        assert!(store.get(PEERS_KEY).unwrap().is_some());
        // and what it stored loads again
        let again = store
            .read_addrman(NetGroupManager::new(), &opts())
            .unwrap()
            .unwrap();
        assert_eq!(again.size(None, None), 0);
    }

    /// The vector peers.dat imported into the store loads with bitcoind's counts, and exports
    /// back to a byte-identical file.
    #[test]
    fn vector_peers_dat_import_export() {
        let dir = TempDir::new("vector");
        let store = store_in(&dir);
        let n = store
            .import_peers_dat(&vector_path("peers.dat"), &opts())
            .unwrap();
        assert_eq!(n, 1488);
        let am = store.load_addrman(NetGroupManager::new(), &opts()).unwrap();
        assert_eq!(am.size(None, Some(true)), 1105);
        assert_eq!(am.size(None, Some(false)), 383);
        // dumping the loaded addrman gives back bitcoind's bytes
        store
            .dump_peer_addresses(&am, regtest().message_start)
            .unwrap();
        assert!(store.get(PEERS_KEY).unwrap().unwrap() == vector("peers.dat"));

        let out = dir.0.join("exported-peers.dat");
        assert_eq!(store.export_peers_dat(&out, &opts()).unwrap(), 1488);
        assert!(std::fs::read(&out).unwrap() == vector("peers.dat"));
        assert!(!dir.0.join("exported-peers.dat.new").exists());
    }

    /// getrawaddrman of the vector peers.dat equals bitcoind's answer (as JSON values), with
    /// Core's field order in each entry.
    #[test]
    fn vector_getrawaddrman_equal() {
        let am = addrman_from_bytes(
            &vector("peers.dat"),
            NetGroupManager::new(),
            &opts(),
            "peers.dat",
        )
        .unwrap();
        let got = getrawaddrman(&am);
        let want: Value = serde_json::from_slice(&vector("getrawaddrman.json")).unwrap();
        assert_eq!(got.to_serde(), want);
        let UniValue::Obj(tables) = &got else {
            panic!("not an object")
        };
        let UniValue::Obj(first) = &tables[0].1 else {
            panic!("no new table")
        };
        let UniValue::Obj(fields) = &first[0].1 else {
            panic!("no entry")
        };
        let names: Vec<&str> = fields.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            names,
            [
                "address",
                "port",
                "services",
                "time",
                "network",
                "source",
                "source_network"
            ]
        );
    }

    fn corrupt_vector(f: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
        let mut v = vector("peers.dat");
        f(&mut v);
        v
    }

    fn read_err(store: &Store, bytes: &[u8]) -> AddrDbError {
        store.put(PEERS_KEY, bytes).unwrap();
        match store.read_addrman(NetGroupManager::new(), &opts()) {
            Err(LoadError::Corrupt(e)) => e,
            Err(other) => panic!("unexpected error {other}"),
            Ok(_) => panic!("corrupt data loaded"),
        }
    }

    /// Each kind of bad peers.dat value gives its typed error, naming the value and the store.
    #[test]
    fn corrupt_peers_value_errors() {
        let dir = TempDir::new("corrupt");
        let store = store_in(&dir);
        let value_name = format!("peers.dat in LMDB store {}", store.name());
        assert!(store.name().ends_with("p2p.lmdb"));

        // bad checksum: last byte flipped
        let e = read_err(
            &store,
            &corrupt_vector(|v| {
                let n = v.len();
                v[n - 1] ^= 1;
            }),
        );
        assert_eq!(e.kind, AddrDbErrorKind::ChecksumMismatch);
        assert_eq!(e.file.as_deref(), Some(value_name.as_str()));
        assert_eq!(
            e.to_string(),
            format!("{value_name}: Checksum mismatch, data corrupted")
        );

        // truncated in the middle of the entries
        let e = read_err(&store, &corrupt_vector(|v| v.truncate(v.len() / 2)));
        assert_eq!(e.kind, AddrDbErrorKind::Truncated);
        assert!(e.to_string().starts_with(&value_name));

        // truncated inside the trailing checksum
        let e = read_err(&store, &corrupt_vector(|v| v.truncate(v.len() - 5)));
        assert_eq!(e.kind, AddrDbErrorKind::Truncated);

        // another network's magic (mainnet)
        let e = read_err(
            &store,
            &corrupt_vector(|v| v[..4].copy_from_slice(&[0xf9, 0xbe, 0xb4, 0xd9])),
        );
        assert_eq!(
            e.kind,
            AddrDbErrorKind::WrongMagic {
                expected: [0xfa, 0xbf, 0xb5, 0xda],
                found: [0xf9, 0xbe, 0xb4, 0xd9]
            }
        );
        assert!(e.to_string().contains("Invalid network magic number"));

        // a future format: version 5, lowest compatible 5 (+32)
        let e = read_err(
            &store,
            &corrupt_vector(|v| {
                v[4] = 5;
                v[5] = 32 + 5;
            }),
        );
        assert!(e.is_incompatible_version());
        assert!(
            e.to_string()
                .contains("Unsupported format of addrman database: 5"),
            "{e}"
        );

        // empty value
        let e = read_err(&store, &[]);
        assert_eq!(e.kind, AddrDbErrorKind::Truncated);
    }

    /// LoadAddrman on a corrupt value: an error (Core's "Invalid or corrupt peers.dat" text,
    /// naming the value and the store); load_addrman_or_move_aside moves it to
    /// `peers.dat.corrupt-<time>` and starts empty, keeping the bad bytes.
    #[test]
    fn corrupt_peers_value_load_and_move_aside() {
        let dir = TempDir::new("moveaside");
        let store = store_in(&dir);
        let bad = corrupt_vector(|v| {
            let n = v.len();
            v[n - 1] ^= 1;
        });
        store.put(PEERS_KEY, &bad).unwrap();

        let err = match store.load_addrman(NetGroupManager::new(), &opts()) {
            Err(e) => e,
            Ok(_) => panic!("corrupt value loaded"),
        };
        let text = err.to_string();
        assert!(
            text.starts_with(&format!(
                "Invalid or corrupt peers.dat (Checksum mismatch, data corrupted). As a workaround, you can move peers.dat in LMDB store {} out of the way",
                store.name()
            )),
            "{text}"
        );
        // a failed load leaves the value where it was
        assert!(store.get(PEERS_KEY).unwrap().unwrap() == bad);

        let (am, recovered) = store
            .load_addrman_or_move_aside(NetGroupManager::new(), &opts())
            .unwrap();
        assert_eq!(am.size(None, None), 0);
        assert_eq!(recovered, Some(err));
        assert!(store.get("peers.dat.corrupt-1800000000").unwrap().unwrap() == bad);
        // the new empty addrman was stored and loads
        let again = store.load_addrman(NetGroupManager::new(), &opts()).unwrap();
        assert_eq!(again.size(None, None), 0);

        // a second quarantine in the same second gets a free name
        store.put(PEERS_KEY, b"junk").unwrap();
        assert_eq!(
            store.move_aside(PEERS_KEY).unwrap().as_deref(),
            Some("peers.dat.corrupt-1800000000-1")
        );
        assert_eq!(store.move_aside(PEERS_KEY).unwrap(), None);
        let keys = store.keys().unwrap();
        assert!(keys.contains(&"peers.dat.corrupt-1800000000".to_string()));
        assert!(keys.contains(&"peers.dat.corrupt-1800000000-1".to_string()));
    }

    /// Hardening (issue 15): values moved aside are bounded per key: the newest
    /// [`MAX_MOVED_ASIDE`] stay, older ones are deleted, so a value that keeps going bad (a
    /// disk fault, a buggy writer) cannot fill the LMDB map. A 1 MiB map takes 30 bad 100 kB
    /// address databases and ban lists in turn; the other keys are untouched.
    #[test]
    fn moved_aside_values_are_bounded() {
        let dir = TempDir::new("asidebound");
        let env = Arc::new(
            Environment::new()
                .set_max_dbs(2)
                .set_map_size(1 << 20)
                .open(&dir.0)
                .unwrap(),
        );
        let db = env
            .create_db(Some(STORE_DB_NAME), DatabaseFlags::empty())
            .unwrap();
        let clock = MockClock::shared(1_800_000_000);
        let store = Store::from_env(env, db).with_clock(clock.clone());
        store.put("other", b"kept").unwrap();
        let bad = vec![0xabu8; 100_000];
        for i in 0..30i64 {
            // Two in the same second now and then (`-1` names).
            clock.set(1_800_000_000 + i / 2);
            store.put(PEERS_KEY, &bad).unwrap();
            let (am, recovered) = store
                .load_addrman_or_move_aside(NetGroupManager::new(), &opts())
                .unwrap();
            assert!(recovered.is_some() && am.size(None, None) == 0);
            store.put(BANLIST_KEY, &bad).unwrap();
            assert!(KvBanDb(Arc::new(store.clone())).read().is_err());
        }
        let keys = store.keys().unwrap();
        let aside = |key: &str| -> Vec<String> {
            keys.iter()
                .filter(|k| k.starts_with(&format!("{key}.corrupt-")))
                .cloned()
                .collect()
        };
        assert_eq!(
            aside(PEERS_KEY),
            vec![
                "peers.dat.corrupt-1800000013-1",
                "peers.dat.corrupt-1800000014",
                "peers.dat.corrupt-1800000014-1",
            ]
        );
        assert_eq!(aside(BANLIST_KEY).len(), MAX_MOVED_ASIDE);
        assert!(aside(BANLIST_KEY).contains(&"banlist.json.corrupt-1800000014-1".to_string()));
        assert_eq!(store.get("other").unwrap().unwrap(), b"kept");
    }

    /// LoadAddrman on a newer format: as Core (peers.dat renamed to peers.dat.bak), the value is
    /// kept under `peers.dat.bak` and a new empty addrman is created.
    #[test]
    fn future_version_backed_up() {
        let dir = TempDir::new("future");
        let store = store_in(&dir);
        let future = corrupt_vector(|v| {
            v[4] = 9;
            v[5] = 32 + 9;
        });
        store.put(PEERS_KEY, &future).unwrap();
        let am = store.load_addrman(NetGroupManager::new(), &opts()).unwrap();
        assert_eq!(am.size(None, None), 0);
        assert!(store.get(PEERS_BACKUP_KEY).unwrap().unwrap() == future);
        let stored = store.get(PEERS_KEY).unwrap().unwrap();
        assert!(stored != future);
    }

    /// A dump interrupted before its commit (the transaction aborted) leaves the previous
    /// address database, which still loads.
    #[test]
    fn interrupted_dump_keeps_previous() {
        let dir = TempDir::new("abort");
        let store = store_in(&dir);
        let old = small_addrman(5);
        store
            .dump_peer_addresses(&old, regtest().message_start)
            .unwrap();
        let newer = small_addrman(30);
        let bytes = crate::addrdb::write_peers_dat(&newer, regtest().message_start);
        let err = store
            .put_with(PEERS_KEY, &bytes, || {
                Err(StoreError::Io {
                    path: "test".into(),
                    reason: "simulated crash before commit".into(),
                })
            })
            .unwrap_err();
        assert!(err.to_string().contains("simulated crash"));
        let loaded = store.load_addrman(NetGroupManager::new(), &opts()).unwrap();
        assert_eq!(loaded.size(None, None), old.size(None, None));

        // a half-written value never becomes visible either
        let mut txn = store.env().begin_rw_txn().unwrap();
        txn.put(
            store.database(),
            &PEERS_KEY,
            &&bytes[..bytes.len() / 2],
            WriteFlags::empty(),
        )
        .unwrap();
        drop(txn); // dropped without commit = aborted
        let loaded = store.load_addrman(NetGroupManager::new(), &opts()).unwrap();
        assert_eq!(loaded.size(None, None), old.size(None, None));
    }

    const CRASH_CHILD_ENV: &str = "ADDRMAN_STORE_CRASH_CHILD_DIR";

    /// A process killed in the middle of a dump (abort() after writing the new value into the
    /// write transaction, before the commit) loses nothing: the next open loads the previous
    /// database. The test re-runs its own test binary as the crashing child.
    #[test]
    fn process_crash_during_dump_keeps_previous() {
        if let Ok(child_dir) = std::env::var(CRASH_CHILD_ENV) {
            let store = Store::open(Path::new(&child_dir)).unwrap();
            let bytes = crate::addrdb::write_peers_dat(&small_addrman(40), regtest().message_start);
            let _ = store.put_with(PEERS_KEY, &bytes, || std::process::abort());
            unreachable!("the child aborts before committing");
        }
        let dir = TempDir::new("crash");
        let old = small_addrman(7);
        {
            let store = store_in(&dir);
            store
                .dump_peer_addresses(&old, regtest().message_start)
                .unwrap();
        }
        let status = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "store::tests::process_crash_during_dump_keeps_previous",
                "--test-threads=1",
                "--nocapture",
            ])
            .env(CRASH_CHILD_ENV, &dir.0)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(!status.success(), "the child must have crashed");
        let store = store_in(&dir);
        let loaded = store.load_addrman(NetGroupManager::new(), &opts()).unwrap();
        assert_eq!(loaded.size(None, None), old.size(None, None));
        assert_eq!(loaded.key(), old.key());
        // and the store is writable again after the crash
        store
            .dump_peer_addresses(&small_addrman(9), regtest().message_start)
            .unwrap();
    }

    /// An embedding host passes its own environment and database; our values live there
    /// beside the host's own keys.
    #[test]
    fn from_host_env() {
        let dir = TempDir::new("hostenv");
        let env = Arc::new(Environment::new().set_max_dbs(8).open(&dir.0).unwrap());
        let db = env
            .create_db(Some("logos-node"), DatabaseFlags::empty())
            .unwrap();
        {
            let mut txn = env.begin_rw_txn().unwrap();
            txn.put(db, &"host-key", &"host-value", WriteFlags::empty())
                .unwrap();
            txn.commit().unwrap();
        }
        let store = Store::from_env(env.clone(), db);
        let am = small_addrman(3);
        store
            .dump_peer_addresses(&am, regtest().message_start)
            .unwrap();
        let loaded = store.load_addrman(NetGroupManager::new(), &opts()).unwrap();
        assert_eq!(loaded.size(None, None), am.size(None, None));
        assert_eq!(store.get("host-key").unwrap().unwrap(), b"host-value");
        assert_eq!(
            store.value_name(PEERS_KEY),
            "peers.dat in LMDB store host LMDB environment"
        );
    }

    /// Import of a bad peers.dat file: the error names the file; nothing is stored. The bad
    /// file can be moved aside to `<file>.bak`.
    #[test]
    fn import_corrupt_file_names_file() {
        let dir = TempDir::new("importbad");
        let store = store_in(&dir);
        let path = dir.0.join("peers.dat");
        std::fs::write(&path, corrupt_vector(|v| v.truncate(100))).unwrap();
        let err = store.import_peers_dat(&path, &opts()).unwrap_err();
        let LoadError::Corrupt(e) = &err else {
            panic!("{err}")
        };
        assert_eq!(e.kind, AddrDbErrorKind::Truncated);
        assert_eq!(e.file.as_deref(), Some(path.display().to_string().as_str()));
        assert!(store.get(PEERS_KEY).unwrap().is_none());

        let missing = store
            .import_peers_dat(&dir.0.join("nope.dat"), &opts())
            .unwrap_err();
        assert!(matches!(
            missing.addrdb_error().map(|e| &e.kind),
            Some(AddrDbErrorKind::NotFound)
        ));

        let bak = move_file_aside(&path).unwrap();
        assert_eq!(bak, dir.0.join("peers.dat.bak"));
        assert!(!path.exists() && bak.exists());

        // export with nothing stored
        let e = store
            .export_peers_dat(&dir.0.join("out.dat"), &opts())
            .unwrap_err();
        assert!(matches!(e, LoadError::Store(StoreError::NotFound { .. })));
    }

    /// The vector banlist.json imported into the store and exported again is byte-identical; a
    /// BanMan on the store sees the four bans; listbanned equals bitcoind's.
    #[test]
    fn vector_banlist_import_export_and_banman() {
        let dir = TempDir::new("banlist");
        let store = store_in(&dir);
        let parsed = store
            .import_banlist_json(&vector_path("banlist.json"))
            .unwrap();
        assert_eq!(parsed.bans.len(), 4);
        let out = dir.0.join("banlist-out.json");
        store.export_banlist_json(&out).unwrap();
        assert!(std::fs::read(&out).unwrap() == vector("banlist.json"));

        let clock = MockClock::shared(1_795_503_785);
        let banman = BanMan::new(
            Box::new(KvBanDb(Arc::new(store.clone()))),
            None,
            DEFAULT_MISBEHAVING_BANTIME,
            clock,
            &mut ChaCha20Rng::from_seed([0; 32]),
        );
        assert!(banman.is_banned(&CNetAddr::from_ipv4(Ipv4Addr::new(5, 6, 200, 1))));
        let listed = crate::banlist_json::list_banned(&banman.get_banned(), 1_795_503_785);
        let want: Value = serde_json::from_slice(&vector("listbanned.json")).unwrap();
        assert_eq!(listed.to_serde(), want);

        // a ban through BanMan is written to the store at once, in bitcoind's format
        banman.ban(&CNetAddr::from_ipv4(Ipv4Addr::new(9, 9, 9, 9)), 0, false);
        let reread = store.load_banlist().unwrap();
        assert_eq!(reread.bans.len(), 5);
        let text = String::from_utf8(store.get(BANLIST_KEY).unwrap().unwrap()).unwrap();
        assert!(text.contains("\"address\": \"9.9.9.9/32\""));
    }

    /// Mirrors test/functional/p2p_disconnect_ban.py (the BanMan part, without connections):
    /// ban list recreation, subnet covers address, unban of a non-banned entry fails, default
    /// / relative / absolute ban times, ban_duration and time_remaining, expiry, order of
    /// listbanned, and persistence across a restart through the LMDB store.
    #[test]
    fn p2p_disconnect_ban__setban_listbanned_persistence() {
        use crate::banlist_json::list_banned_rpc;
        let dir = TempDir::new("disconnect-ban");
        let old_time = 1_700_000_000;
        let clock = MockClock::shared(old_time);
        let new_banman = |store: &Store| {
            BanMan::new(
                Box::new(KvBanDb(Arc::new(store.clone()))),
                None,
                DEFAULT_MISBEHAVING_BANTIME,
                clock.clone(),
                &mut ChaCha20Rng::from_seed([5; 32]),
            )
        };
        let store = store_in(&dir);
        // "Recreating the banlist database": no ban list yet, one is written at start.
        assert!(store.get(BANLIST_KEY).unwrap().is_none());
        let banman = new_banman(&store);
        assert!(store.load_banlist().unwrap().bans.is_empty());

        let sub = netbase::lookup_subnet;
        let ip = |s: &str| netbase::lookup_host(s, false, &netbase::no_dns).unwrap();
        banman.ban_subnet(&sub("127.0.0.0/24"), 0, false);
        assert_eq!(banman.get_banned().len(), 1);
        // setban 127.0.0.1 add is refused by the RPC because this holds:
        assert!(banman.is_banned(&ip("127.0.0.1")));
        // "127.0.0.1/42" is no subnet
        assert!(!sub("127.0.0.1/42").is_valid());
        // unban of an address that has no entry of its own fails
        assert!(!banman.unban(&ip("127.0.0.1")));
        assert_eq!(banman.get_banned().len(), 1);
        assert!(banman.unban_subnet(&sub("127.0.0.0/24")));
        assert!(banman.get_banned().is_empty());
        banman.clear_banned();

        banman.ban_subnet(&sub("127.0.0.0/32"), 0, false);
        banman.ban_subnet(&sub("127.0.0.0/24"), 0, false);
        let mut onion = CNetAddr::default();
        assert!(onion.set_special("pg6mmjiyjmcrsslvykfwnntlaru7p5svn6y2ymmju6nubxndf4pscryd.onion"));
        banman.ban(&onion, 0, false);
        banman.ban(&ip("192.168.0.1"), 1, false);
        banman.ban_subnet(
            &sub("2001:4d48:ac57:400:cacf:e9ff:fe1d:9c63/19"),
            1000,
            false,
        );
        let before = list_banned_rpc(&banman).to_serde();
        assert_eq!(before[2]["address"], "192.168.0.1/32");
        banman.ban(&ip("192.168.0.2"), old_time + 120, true);

        clock.set(old_time + 3);
        let listed = list_banned_rpc(&banman).to_serde();
        let listed = listed.as_array().unwrap();
        assert_eq!(listed.len(), 5);
        for ban in listed {
            let address = ban["address"].as_str().unwrap();
            let (duration, remaining) = if address.ends_with("/19") {
                (1000, 997)
            } else if address == "192.168.0.2/32" {
                (120, 117)
            } else {
                (86_400, 86_397)
            };
            assert_eq!(ban["ban_duration"], duration, "{address}");
            assert_eq!(ban["time_remaining"], remaining, "{address}");
        }
        drop(banman);

        // restart (new store handle, new BanMan) a second later
        clock.set(old_time + 4);
        drop(store);
        let store = store_in(&dir);
        let banman = new_banman(&store);
        let after = list_banned_rpc(&banman).to_serde();
        let addresses: Vec<&str> = after
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["address"].as_str().unwrap())
            .collect();
        assert_eq!(addresses.len(), 5);
        assert_eq!(addresses[0], "127.0.0.0/24");
        assert_eq!(addresses[1], "127.0.0.0/32");
        assert_eq!(addresses[2], "192.168.0.2/32");
        assert!(addresses[3].contains("/19"));
        assert_eq!(
            addresses[4],
            "pg6mmjiyjmcrsslvykfwnntlaru7p5svn6y2ymmju6nubxndf4pscryd.onion"
        );
        banman.clear_banned();
        assert!(store.load_banlist().unwrap().bans.is_empty());
    }

    /// A corrupt ban list value: strict load names the value and the store; a BanMan on the
    /// store moves it aside (`banlist.json.corrupt-<time>`) and starts empty.
    #[test]
    fn corrupt_banlist_value() {
        let dir = TempDir::new("badban");
        let store = store_in(&dir);
        store.put(BANLIST_KEY, b"{\"banned_nets\": [ {").unwrap();
        let e = store.load_banlist().unwrap_err();
        assert!(matches!(e, BanDbError::InvalidJson { .. }));
        let t = e.to_string();
        assert!(
            t.starts_with(&format!(
                "Cannot load banlist banlist.json in LMDB store {}: Settings file banlist.json in LMDB store {} does not contain valid JSON",
                store.name(),
                store.name()
            )),
            "{t}"
        );

        store.put(BANLIST_KEY, b"{\"banned_nets\": 5}").unwrap();
        let e = store.load_banlist().unwrap_err();
        assert!(matches!(e, BanDbError::Parse { .. }));
        assert!(e
            .to_string()
            .ends_with("JSON value is not an object or array as expected"));

        store.put(BANLIST_KEY, &[0xff, 0xfe]).unwrap();
        assert!(store.load_banlist().unwrap_err().is_corrupt());

        let banman = BanMan::new(
            Box::new(KvBanDb(Arc::new(store.clone()))),
            None,
            DEFAULT_MISBEHAVING_BANTIME,
            MockClock::shared(1_000),
            &mut ChaCha20Rng::from_seed([0; 32]),
        );
        assert!(banman.get_banned().is_empty());
        assert_eq!(
            store
                .get("banlist.json.corrupt-1800000000")
                .unwrap()
                .unwrap(),
            vec![0xff, 0xfe]
        );
        // the BanMan recreated an empty, valid list
        assert!(store.load_banlist().unwrap().bans.is_empty());
    }
}
