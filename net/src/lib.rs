//! Port of Bitcoin Core's `net.cpp`, the P2P part of `net_processing.cpp` and
//! `node/eviction.cpp`.
//!
//! One protocol core, two shells (DESIGN.md): the peer manager ([`peerman::PeerManager`]) is a
//! state machine with no sockets, threads or clock of its own; the connection manager
//! ([`connman::CConnman`]) drives it with real sockets over mio and Core's threads, and the
//! simulator drives it in virtual time.
#![forbid(unsafe_code)]

// The protocol core and its pure decisions (no IO).
pub mod addr_cache;
pub mod addr_relay;
pub mod admission;
pub mod connection_type;
pub mod disconnect;
pub mod eviction;
pub mod flood;
#[doc(hidden)]
pub mod fuzz;
pub mod local_addr;
pub mod misbehavior;
pub mod net_message;
pub mod open_connections;
pub mod peerman;
pub mod siphash;
pub mod timeoffsets;
pub mod timeouts;
pub mod upper;

// Discovery planning (sans-IO; see each module's "Integration" section).
pub mod dnsseed;

// The IO shell: sockets, threads, the transport.
pub mod clock;
pub mod connector;
pub mod connman;
pub mod listen;
pub mod net_permissions;
pub mod node;
pub mod scheduler;
pub mod semaphore;
pub mod thread;
pub mod transport;
pub mod util;

pub use clock::{Clock, MockClock, SystemClock};
pub use connector::{Connector, DirectConnector, LoopbackOnly, MappedConnector};
pub use connman::{CConnman, CNodeStats, ConnmanInner, DisconnectRecord, Options};
pub use node::{CNode, NodeId};
pub use upper::{AcceptAll, FinalVerdict, MessageSource, UpperLayer, Verdict};
