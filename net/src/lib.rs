//! Port of Bitcoin Core's `net.cpp`, the P2P part of `net_processing.cpp` and
//! `node/eviction.cpp`: the connection manager ([`connman::CConnman`]) over mio, its peers
//! ([`node::CNode`]), the v1 transport ([`transport`]), the P2P message processor
//! ([`peerman::PeerManager`]) and the `logos` flood.
#![forbid(unsafe_code)]

// net-logic modules (pure state machines, no IO).
pub mod connection_type;
pub mod disconnect;
pub mod eviction;
pub mod flood;
pub mod misbehavior;
pub mod timeouts;

// peer-discovery modules (sans-IO; see each module's "Integration" section).
pub mod addr_cache;
pub mod addr_relay;
pub mod dnsseed;
pub mod local_addr;
pub mod open_connections;
pub mod siphash;

// net-core modules (IO, threads).
pub mod clock;
pub mod connector;
pub mod connman;
pub mod listen;
pub mod net_permissions;
pub mod node;
pub mod peerman;
pub mod scheduler;
pub mod semaphore;
pub mod transport;
pub mod util;

pub use clock::{Clock, MockClock, SystemClock};
pub use connector::{Connector, DirectConnector, LoopbackOnly, MappedConnector};
pub use connman::{CConnman, CNodeStats, ConnmanInner, DisconnectRecord, Options};
pub use node::{CNode, NodeId};
pub use peerman::{AcceptAll, UpperLayer};
