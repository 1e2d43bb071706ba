//! Address manager of logos-p2p: a port of Bitcoin Core's `addrman.{h,cpp}`,
//! `addrman_impl.h` and the peers.dat part of `addrdb.cpp`.
//!
//! - [`addrman`]: [`AddrMan`], the public, locked interface (Core's `AddrMan`).
//! - [`addrman_impl`]: [`AddrManImpl`], the tables and their lock-held helpers, constants.
//! - [`addrinfo`]: [`AddrInfo`] and the bucket hashing.
//! - `bucket_table`: storage of the new and tried tables, Core's full arrays or (for the
//!   simulator, [`AddrMan::new_compact`]) only their occupied positions.
//! - [`addrdb`]: peers.dat reading and writing, typed errors.
//! - [`clock`]: the time source ([`Clock`], [`SystemClock`], [`MockClock`]).
//! - [`random`]: Core's `FastRandomContext`, bit-exact.
//! - [`banman`], [`bloom`], [`banlist_json`]: ban list and discouragement filter, bitcoind's
//!   `banlist.json` and `listbanned` formats.
//! - [`univalue`]: [`univalue::UniValue`], an ordered JSON value with Core's writer.
//! - [`store`]: LMDB persistence of the address database and the ban list.
//!
//! Pure logic: time comes from a [`Clock`], randomness from a seeded ChaCha20 context, and the
//! bucketing hash from the network's [`protocol::HashKind`].

#![forbid(unsafe_code)]

pub mod addrdb;
pub mod addrinfo;
pub mod addrman;
pub mod addrman_impl;
pub mod banlist_json;
pub mod banman;
pub mod bloom;
mod bucket_table;
pub mod clock;
#[doc(hidden)]
pub mod fuzz;
pub mod random;
pub mod store;
#[cfg(test)]
mod test_util;
pub mod univalue;

pub use addrdb::{
    read_from_stream, read_peers_dat, read_peers_dat_file, write_peers_dat, write_peers_dat_file,
    AddrDbError, AddrDbErrorKind,
};
pub use addrinfo::{AddrInfo, AddrManKey};
pub use addrman::AddrMan;
pub use addrman_impl::*;
pub use clock::{Clock, MockClock, SystemClock};
pub use random::FastRandomContext;
