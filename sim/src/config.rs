//! What a simulation run is: the network, the workload and the scenario. Read from a TOML file
//! (`--config FILE.toml`, every field optional) and then from the command line, which wins.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// How payloads spread.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Relay {
    /// Every accepted payload is pushed to every peer (today's `logos` flood).
    #[default]
    Flood,
    /// Stage 2: announced by short id, requested, then sent (links where both ends offer it;
    /// the others flood).
    Announce,
}

/// What is simulated.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scenario {
    /// Bootstrap, then the workload on a stable network.
    #[default]
    Propagation,
    /// Nodes join and leave during the workload.
    Churn,
    /// An attacker tries to own victims' outbound slots (Heilman et al., 2015).
    Eclipse,
    /// The network is cut in two, then healed.
    Partition,
}

/// Which shell runs the nodes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// The discrete-event simulator (virtual time, simulated links).
    #[default]
    Sim,
    /// Real `CConnman`s on 127.0.0.1 (threads, sockets, real time); about 100 nodes at most.
    Loopback,
}

/// How address managers get their first addresses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Bootstrap {
    /// The real way: DNS seeds (answered by the simulator with listening nodes), fixed seeds
    /// after 60 s, then `getaddr` / `addr` relay.
    #[default]
    Seeds,
    /// A converged snapshot: every address manager starts with `snapshot_addresses` listening
    /// addresses (in tried), so the planner connects at once and the warm-up is short.
    Snapshot,
}

/// The eclipse attack (Heilman, Kendler, Zohar, Goldberg, "Eclipse Attacks on Bitcoin's
/// Peer-to-Peer Network", USENIX Security 2015): the attacker controls `addresses` addresses in
/// `groups` /16 groups, fills the victims' address managers with them (`addr` floods) and their
/// inbound slots with connections, and waits for the victims to pick only its addresses.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EclipseConfig {
    /// Attacker addresses (A).
    pub addresses: usize,
    /// /16 groups they are spread over (B).
    pub groups: usize,
    /// Victims (the first listening nodes).
    pub victims: usize,
    /// `addr` messages of 1,000 attacker addresses sent to each victim per minute.
    pub addr_per_min: f64,
    /// Seconds after the attack starts at which the victims restart (keeping their address
    /// managers, as Heilman et al.'s attack waits for).
    pub restart_secs: f64,
}

impl Default for EclipseConfig {
    fn default() -> Self {
        EclipseConfig {
            addresses: 4096,
            groups: 32,
            victims: 4,
            addr_per_min: 10.0,
            restart_secs: 60.0,
        }
    }
}

/// Churn: nodes leave and (new ones) join during the workload, as Poisson processes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ChurnConfig {
    /// Nodes leaving per minute (network-wide).
    pub leave_per_min: f64,
    /// Nodes joining per minute.
    pub join_per_min: f64,
}

impl Default for ChurnConfig {
    fn default() -> Self {
        ChurnConfig {
            leave_per_min: 10.0,
            join_per_min: 10.0,
        }
    }
}

/// The partition: at `cut_secs` after the workload starts every connection between the two
/// sides closes and none can open; at `heal_secs` the cut is lifted.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PartitionConfig {
    /// Share of the nodes on the smaller side.
    pub fraction: f64,
    /// When the cut happens, seconds after the workload starts.
    pub cut_secs: f64,
    /// When it heals, seconds after the workload starts.
    pub heal_secs: f64,
}

impl Default for PartitionConfig {
    fn default() -> Self {
        PartitionConfig {
            fraction: 0.5,
            cut_secs: 0.0,
            heal_secs: 60.0,
        }
    }
}

/// One run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SimConfig {
    /// Honest nodes at the start.
    pub nodes: usize,
    /// The seed of every random choice (same seed, same output, byte for byte).
    pub seed: u64,
    /// Payloads sent.
    pub messages: usize,
    /// Payload size, bytes.
    pub size: usize,
    /// Payloads per second (spread evenly).
    pub rate: f64,
    /// How payloads spread.
    pub relay: Relay,
    /// What is simulated.
    pub scenario: Scenario,
    /// Which shell.
    pub backend: Backend,
    /// How address managers start.
    pub bootstrap: Bootstrap,
    /// Listening addresses each address manager starts with (snapshot bootstrap).
    pub snapshot_addresses: usize,
    /// Share of the nodes that accept inbound connections (Bitcoin's network: about 20%).
    pub inbound_share: f64,
    /// `-maxconnections` of every node (Core's 125).
    pub max_connections: usize,
    /// Payloads come from this many fixed originators (the delegates); 0: a random node each.
    pub delegates: usize,
    /// The upper layer's verify time per payload, milliseconds.
    pub verify_ms: f64,
    /// Share of payloads the upper layer accepts.
    pub accept_ratio: f64,
    /// Seconds between the start and the first payload (the bootstrap).
    pub warmup_secs: f64,
    /// Seconds after the last payload before the run ends.
    pub drain_secs: f64,
    /// Upload of listening nodes, Mbit/s.
    pub listening_up_mbit: f64,
    /// Download of listening nodes, Mbit/s.
    pub listening_down_mbit: f64,
    /// Upload of outbound-only nodes, Mbit/s.
    pub outbound_up_mbit: f64,
    /// Download of outbound-only nodes, Mbit/s.
    pub outbound_down_mbit: f64,
    /// Connections lost at random, per connection per hour (0: none).
    pub conn_loss_per_hour: f64,
    /// With `--relay announce`: share of nodes that keep the old flood (never offer
    /// announcements).
    pub flood_only_share: f64,
    /// With `--relay announce`: share of nodes that announce but never deliver what is asked.
    pub silent_share: f64,
    /// With `--relay announce`: payloads under this many bytes are still pushed to outbound
    /// peers.
    pub push_threshold: usize,
    /// With `--relay announce`: outbound peers every payload is pushed to.
    pub push_fanout: usize,
    /// With `--relay announce`: peers each node asks (`sendpush`) to push it small payloads.
    pub push_peers: usize,
    /// With `--relay announce`: payloads under this many bytes are pushed to those who asked.
    pub push_max: usize,
    /// With `--relay announce`: how long an announcement of a small payload waits for the
    /// push, milliseconds.
    pub push_wait_ms: f64,
    /// Share of payloads sent before the payload they depend on (the next one of the
    /// workload, sent `1 / rate` later, maybe by another node): the upper layer answers
    /// `Pending` with that payload's id until it has accepted it, as a node does with a
    /// post-commit that arrives before one of its transactions.
    pub pending_share: f64,
    /// Capacity of each connection's filter of addresses the peer knows (Core's
    /// `m_addr_known`: 5,000 addresses, 27 KB). The simulator's default, 1,000 (5.4 KB), lets
    /// 10,000 nodes fit in memory; a peer hears fewer than 1,000 distinct addresses in a run
    /// of minutes, so the filter answers as Core's would (same false-positive rate below its
    /// capacity).
    pub addr_known_elements: u32,
    /// The churn scenario.
    pub churn: ChurnConfig,
    /// The eclipse scenario.
    pub eclipse: EclipseConfig,
    /// The partition scenario.
    pub partition: PartitionConfig,
    /// Where `summary.json`, the CSVs and the plots go.
    pub out: PathBuf,
    /// Draw the PNG plots (off for quick runs and tests).
    pub plots: bool,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            nodes: 1000,
            seed: 1,
            messages: 100,
            size: 1024,
            rate: 2.0,
            relay: Relay::Flood,
            scenario: Scenario::Propagation,
            backend: Backend::Sim,
            bootstrap: Bootstrap::Seeds,
            snapshot_addresses: 200,
            inbound_share: 0.2,
            max_connections: 125,
            delegates: 0,
            verify_ms: 1.0,
            accept_ratio: 1.0,
            warmup_secs: 300.0,
            drain_secs: 60.0,
            listening_up_mbit: 100.0,
            listening_down_mbit: 100.0,
            outbound_up_mbit: 20.0,
            outbound_down_mbit: 50.0,
            conn_loss_per_hour: 0.0,
            addr_known_elements: 1000,
            flood_only_share: 0.0,
            silent_share: 0.0,
            push_threshold: net::peerman::AnnounceOptions::default().push_threshold,
            push_fanout: net::peerman::AnnounceOptions::default().push_fanout,
            push_peers: net::peerman::AnnounceOptions::default().push_peers,
            push_max: net::peerman::AnnounceOptions::default().push_max,
            push_wait_ms: net::peerman::AnnounceOptions::default().push_wait as f64 / 1000.0,
            pending_share: 0.0,
            churn: ChurnConfig::default(),
            eclipse: EclipseConfig::default(),
            partition: PartitionConfig::default(),
            out: PathBuf::from("sim-out"),
            plots: true,
        }
    }
}

impl SimConfig {
    /// The configuration of `--config FILE.toml`.
    pub fn from_toml(text: &str) -> Result<Self, String> {
        toml::from_str(text).map_err(|e| format!("configuration file: {e}"))
    }

    /// Checks the values; the error says which option to fix.
    pub fn validate(&self) -> Result<(), String> {
        let share = |name: &str, v: f64| {
            if (0.0..=1.0).contains(&v) {
                Ok(())
            } else {
                Err(format!("{name} must be between 0 and 1 (got {v})"))
            }
        };
        if self.nodes < 2 {
            return Err(format!("--nodes must be at least 2 (got {})", self.nodes));
        }
        if self.size == 0 || self.size > protocol::header::MAX_PROTOCOL_MESSAGE_LENGTH as usize {
            return Err(format!(
                "--size must be between 1 and {} bytes (got {})",
                protocol::header::MAX_PROTOCOL_MESSAGE_LENGTH,
                self.size
            ));
        }
        if self.rate <= 0.0 || !self.rate.is_finite() {
            return Err(format!(
                "--rate must be a positive number (got {})",
                self.rate
            ));
        }
        share("--inbound-share", self.inbound_share)?;
        share("--accept-ratio", self.accept_ratio)?;
        share("partition.fraction", self.partition.fraction)?;
        share("--flood-only-share", self.flood_only_share)?;
        share("--silent-share", self.silent_share)?;
        share("--pending-share", self.pending_share)?;
        if self.inbound_share * self.nodes as f64 <= 0.0 {
            return Err("--inbound-share leaves no listening node: nobody could connect".into());
        }
        if self.max_connections < 12 {
            return Err(format!(
                "--max-connections must be at least 12 (8 outbound, feeler, addr-fetch; got {})",
                self.max_connections
            ));
        }
        if self.addr_known_elements < 10 {
            return Err(format!(
                "--addr-known-elements must be at least 10 (got {})",
                self.addr_known_elements
            ));
        }
        if self.delegates > self.nodes {
            return Err(format!(
                "--delegates ({}) cannot exceed --nodes ({})",
                self.delegates, self.nodes
            ));
        }
        if self.backend == Backend::Loopback && self.pending_share > 0.0 {
            return Err(
                "--pending-share needs --backend sim (the loopback nodes' upper layer accepts all)"
                    .into(),
            );
        }
        if self.backend == Backend::Loopback && self.nodes > 150 {
            return Err(format!(
                "the loopback backend runs real nodes with real sockets: at most 150 (got {})",
                self.nodes
            ));
        }
        for (name, v) in [
            ("--verify-ms", self.verify_ms),
            ("--warmup-secs", self.warmup_secs),
            ("--drain-secs", self.drain_secs),
            ("--conn-loss-per-hour", self.conn_loss_per_hour),
            ("--push-wait-ms", self.push_wait_ms),
        ] {
            if v < 0.0 || !v.is_finite() {
                return Err(format!("{name} must be 0 or more (got {v})"));
            }
        }
        for (name, v) in [
            ("--listening-up-mbit", self.listening_up_mbit),
            ("--listening-down-mbit", self.listening_down_mbit),
            ("--outbound-up-mbit", self.outbound_up_mbit),
            ("--outbound-down-mbit", self.outbound_down_mbit),
        ] {
            if v <= 0.0 || !v.is_finite() {
                return Err(format!("{name} must be positive (got {v})"));
            }
        }
        Ok(())
    }
}
