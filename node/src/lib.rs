//! The `logos-p2pd` node: a port of the non-protocol parts of bitcoind — option parsing and the
//! config file (`common/args.cpp`, `common/config.cpp`), the log (`logging.cpp`), data
//! directories, and start-up / shutdown (`bitcoind.cpp`, the P2P part of `init.cpp`).
//!
//! No protocol logic lives here: the node builds `net::CConnman` from the options and waits for
//! SIGINT / SIGTERM.

// `unsafe` only in the C ABI (src/ffi.rs, which allows it with a SAFETY line per block).
#![deny(unsafe_code)]

pub mod api;
pub mod args;
pub mod datadir;
pub mod ffi;
#[doc(hidden)]
pub mod fuzz;
pub mod init;
pub mod logging;
pub mod rpc;
pub mod rpc_backend;
pub mod run;

/// Not in Core: every option the node accepts, with its description, flags and `-help` group
/// (the list the upper-layer API exposes as `options()`).
pub fn options() -> Vec<args::OptionInfo> {
    init::server_args().options()
}
