//! What a run measured, per message and per node, and the summary computed from it. Both
//! backends (the simulator and the loopback one) fill the same [`RunResult`], so their
//! `summary.json` files compare field by field.

use serde::Serialize;

/// One node receiving one message for the first time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Arrival {
    /// The receiving node.
    pub node: u32,
    /// Microseconds from the originator's send to this node's first full copy.
    pub delay_us: i64,
    /// Hops from the originator (its direct peers: 1).
    pub hops: u32,
}

/// One message of the workload.
#[derive(Clone, Debug, Default)]
pub struct MessageRecord {
    /// Its index in the workload (0-based, in send order).
    pub index: usize,
    /// The node that sent it.
    pub origin: u32,
    /// Payload bytes.
    pub size: usize,
    /// When it was sent, µs since the workload started.
    pub sent_us: i64,
    /// Every node that got it, in arrival order (the originator excluded).
    pub arrivals: Vec<Arrival>,
    /// Nodes alive when it was sent, originator excluded: the nodes it should reach.
    pub targets: u32,
    /// The message it depends on (`--pending-share`): sent after it, and its upper layers
    /// answer `Pending` until they have accepted that one.
    pub depends_on: Option<usize>,
    /// Nodes whose upper layer accepted it (the originator excluded).
    pub accepted: u32,
    /// Acceptances beyond each node's first: a payload must reach acceptance once per node.
    pub accepted_again: u32,
}

/// What one node did during the workload.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NodeRecord {
    /// Its index.
    pub node: u32,
    /// It accepts inbound connections.
    pub listening: bool,
    /// Its region (index into `topology::REGIONS`).
    pub region: u8,
    /// It is one of the delegates (fixed originators).
    pub delegate: bool,
    /// It is an attacker node (eclipse scenario).
    pub attacker: bool,
    /// Outbound connections open at the end of the warm-up.
    pub outbound: u32,
    /// Inbound connections open at the end of the warm-up.
    pub inbound: u32,
    /// Full `logos` copies received during the workload (duplicates included).
    pub copies: u64,
    /// Distinct workload messages handed to its upper layer.
    pub delivered: u64,
    /// `logos` bytes sent during the workload (payload and its header).
    pub payload_up: u64,
    /// `logos` bytes received during the workload.
    pub payload_down: u64,
    /// Bytes of every other message sent during the workload.
    pub control_up: u64,
    /// Bytes of every other message received during the workload.
    pub control_down: u64,
    /// Payloads its upper layer answered `Pending` on (entered its pending pool).
    pub pending_added: u64,
    /// Pending payloads offered to its upper layer again once what they waited for came.
    pub pending_reoffered: u64,
    /// `getlogosid` requests it sent for what pending payloads waited for.
    pub dependency_requests: u64,
}

/// The attacker's hold on the victims at one moment (eclipse scenario).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EclipseSample {
    /// Seconds since the start of the run.
    pub t_secs: f64,
    /// Share of the victims' outbound slots (full-relay, open) held by attacker addresses,
    /// averaged over the victims.
    pub mean_share: f64,
    /// The same share for the most eclipsed victim.
    pub max_share: f64,
}

/// Everything a backend reports.
#[derive(Clone, Debug, Default)]
pub struct RunResult {
    /// Honest nodes at the start.
    pub nodes: usize,
    /// The seed.
    pub seed: u64,
    /// Per message.
    pub messages: Vec<MessageRecord>,
    /// Per node (honest and attacker nodes; attackers are excluded from the summary).
    pub node_records: Vec<NodeRecord>,
    /// The eclipse samples (empty in other scenarios).
    pub eclipse: Vec<EclipseSample>,
    /// Seconds of the host's clock the run took.
    pub wall_seconds: f64,
    /// Virtual (or real, for loopback) seconds from the start to the end of the run.
    pub run_seconds: f64,
}

/// Percentiles, milliseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct LatencyMs {
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Largest.
    pub max: f64,
}

/// Time for a message to reach every node it should, milliseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct TimeToAllMs {
    /// Median over the messages that reached every node.
    pub p50: f64,
    /// 99th percentile.
    pub p99: f64,
}

/// Hop counts of first arrivals.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Hops {
    /// Median.
    pub p50: u32,
    /// 99th percentile.
    pub p99: u32,
    /// Largest: the diameter the workload saw.
    pub max: u32,
}

/// Bytes per node per message.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct UpDown {
    /// Sent.
    pub up: f64,
    /// Received.
    pub down: f64,
}

/// Degree distribution at the end of the warm-up.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Degree {
    /// Mean connections per honest node.
    pub mean: f64,
    /// Median.
    pub p50: u32,
    /// 99th percentile.
    pub p99: u32,
    /// Largest.
    pub max: u32,
    /// Mean outbound connections per honest node.
    pub mean_outbound: f64,
}

/// `summary.json`.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Summary {
    /// Which backend ran (`sim` or `loopback`).
    pub backend: String,
    /// The relay.
    pub relay: String,
    /// The scenario.
    pub scenario: String,
    /// Honest nodes at the start.
    pub nodes: usize,
    /// Messages sent.
    pub messages: usize,
    /// Payload size, bytes.
    pub size: usize,
    /// The seed.
    pub seed: u64,
    /// First arrivals over (messages × nodes each should reach).
    pub delivered_fraction: f64,
    /// Messages that reached every node they should.
    pub messages_reaching_all: usize,
    /// Full copies received per honest node per message (duplicates included).
    pub copies_per_node_per_message: f64,
    /// All bytes per honest node per message (payload and control).
    pub bytes_per_node_per_message: UpDown,
    /// Payload (`logos`) bytes per honest node per message.
    pub payload_bytes_per_node_per_message: UpDown,
    /// Control bytes per honest node per message.
    pub control_bytes_per_node_per_message: UpDown,
    /// Bytes the delegates uploaded per message each (0 when there are none).
    pub delegate_up_bytes_per_message: f64,
    /// Message-to-node latency over every first arrival.
    pub latency_ms: LatencyMs,
    /// Message-to-every-node time.
    pub time_to_all_ms: TimeToAllMs,
    /// Hop counts.
    pub hops: Hops,
    /// Connections per node.
    pub degree: Degree,
    /// Messages sent before the message they depend on (`--pending-share`).
    pub dependents: usize,
    /// Acceptances of the dependents over (dependents × nodes each should reach): 1 when
    /// every one was accepted everywhere despite arriving before what it needs.
    pub dependents_accepted_fraction: f64,
    /// Payloads that entered a pending pool, over every honest node.
    pub pending_added: u64,
    /// Pending payloads offered again, over every honest node.
    pub pending_reoffered: u64,
    /// `getlogosid` requests, over every honest node.
    pub dependency_requests: u64,
    /// Acceptances beyond a node's first, over every message (must be 0: each payload reaches
    /// the upper layer's acceptance once).
    pub accepted_more_than_once: u64,
    /// Highest attacker share of a victim's outbound slots (eclipse scenario; 0 otherwise).
    pub eclipse_max_share: f64,
    /// Virtual seconds simulated (real seconds for the loopback backend).
    pub run_seconds: f64,
    /// Host seconds the run took: the one field two runs of one seed do not share.
    pub wall_seconds: f64,
}

/// The value at `q` (0..=1) of sorted `v` (nearest rank).
pub fn percentile<T: Copy + Default>(v: &[T], q: f64) -> T {
    if v.is_empty() {
        return T::default();
    }
    let rank = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len());
    v[rank - 1]
}

/// Milliseconds of `us`, rounded to the microsecond so the JSON prints short numbers.
fn ms(us: i64) -> f64 {
    us as f64 / 1000.0
}

/// Rounded to 6 significant decimals, so summaries compare as text across platforms.
fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

impl RunResult {
    /// The summary of the run (`backend`, `relay`, `scenario` as the configuration names them).
    pub fn summarize(&self, backend: &str, relay: &str, scenario: &str, size: usize) -> Summary {
        let honest: Vec<&NodeRecord> = self.node_records.iter().filter(|n| !n.attacker).collect();
        let n_honest = honest.len().max(1) as f64;
        let n_msgs = self.messages.len().max(1) as f64;

        let mut delays: Vec<i64> = Vec::new();
        let mut hops: Vec<u32> = Vec::new();
        let mut to_all: Vec<i64> = Vec::new();
        let mut targets = 0u64;
        let mut reached = 0u64;
        for m in &self.messages {
            targets += u64::from(m.targets);
            reached += m.arrivals.len() as u64;
            delays.extend(m.arrivals.iter().map(|a| a.delay_us));
            hops.extend(m.arrivals.iter().map(|a| a.hops));
            if m.arrivals.len() as u32 >= m.targets {
                to_all.push(m.arrivals.iter().map(|a| a.delay_us).max().unwrap_or(0));
            }
        }
        delays.sort_unstable();
        hops.sort_unstable();
        to_all.sort_unstable();
        let dependents: Vec<&MessageRecord> = self
            .messages
            .iter()
            .filter(|m| m.depends_on.is_some())
            .collect();
        let dep_targets: u64 = dependents.iter().map(|m| u64::from(m.targets)).sum();
        let dep_accepted: u64 = dependents.iter().map(|m| u64::from(m.accepted)).sum();

        let sum = |f: &dyn Fn(&NodeRecord) -> u64| honest.iter().map(|n| f(n)).sum::<u64>() as f64;
        let per = |x: f64| round6(x / n_honest / n_msgs);
        let payload = UpDown {
            up: per(sum(&|n| n.payload_up)),
            down: per(sum(&|n| n.payload_down)),
        };
        let control = UpDown {
            up: per(sum(&|n| n.control_up)),
            down: per(sum(&|n| n.control_down)),
        };
        let delegates: Vec<&&NodeRecord> = honest.iter().filter(|n| n.delegate).collect();
        let delegate_up = if delegates.is_empty() {
            0.0
        } else {
            let up: u64 = delegates.iter().map(|n| n.payload_up + n.control_up).sum();
            round6(up as f64 / delegates.len() as f64 / n_msgs)
        };
        let mut degrees: Vec<u32> = honest.iter().map(|n| n.inbound + n.outbound).collect();
        degrees.sort_unstable();

        Summary {
            backend: backend.to_string(),
            relay: relay.to_string(),
            scenario: scenario.to_string(),
            nodes: self.nodes,
            messages: self.messages.len(),
            size,
            seed: self.seed,
            delivered_fraction: round6(if targets == 0 {
                0.0
            } else {
                reached as f64 / targets as f64
            }),
            messages_reaching_all: to_all.len(),
            copies_per_node_per_message: per(sum(&|n| n.copies)),
            bytes_per_node_per_message: UpDown {
                up: round6(payload.up + control.up),
                down: round6(payload.down + control.down),
            },
            payload_bytes_per_node_per_message: payload,
            control_bytes_per_node_per_message: control,
            delegate_up_bytes_per_message: delegate_up,
            latency_ms: LatencyMs {
                p50: ms(percentile(&delays, 0.50)),
                p90: ms(percentile(&delays, 0.90)),
                p99: ms(percentile(&delays, 0.99)),
                max: ms(delays.last().copied().unwrap_or(0)),
            },
            time_to_all_ms: TimeToAllMs {
                p50: ms(percentile(&to_all, 0.50)),
                p99: ms(percentile(&to_all, 0.99)),
            },
            hops: Hops {
                p50: percentile(&hops, 0.50),
                p99: percentile(&hops, 0.99),
                max: hops.last().copied().unwrap_or(0),
            },
            degree: Degree {
                mean: round6(degrees.iter().map(|&d| f64::from(d)).sum::<f64>() / n_honest),
                p50: percentile(&degrees, 0.50),
                p99: percentile(&degrees, 0.99),
                max: degrees.last().copied().unwrap_or(0),
                mean_outbound: round6(
                    honest.iter().map(|n| f64::from(n.outbound)).sum::<f64>() / n_honest,
                ),
            },
            dependents: dependents.len(),
            dependents_accepted_fraction: round6(if dep_targets == 0 {
                0.0
            } else {
                dep_accepted as f64 / dep_targets as f64
            }),
            pending_added: honest.iter().map(|n| n.pending_added).sum(),
            pending_reoffered: honest.iter().map(|n| n.pending_reoffered).sum(),
            dependency_requests: honest.iter().map(|n| n.dependency_requests).sum(),
            accepted_more_than_once: self
                .messages
                .iter()
                .map(|m| u64::from(m.accepted_again))
                .sum(),
            eclipse_max_share: round6(self.eclipse.iter().map(|s| s.max_share).fold(0.0, f64::max)),
            run_seconds: round6(self.run_seconds),
            wall_seconds: (self.wall_seconds * 1000.0).round() / 1000.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arrival(node: u32, delay_us: i64, hops: u32) -> Arrival {
        Arrival {
            node,
            delay_us,
            hops,
        }
    }

    #[test]
    fn summary_counts_per_honest_node_and_message() {
        let node = |i: u32, copies: u64, up: u64, attacker: bool| NodeRecord {
            node: i,
            copies,
            payload_up: up,
            payload_down: up,
            control_up: 10,
            outbound: 2,
            inbound: i,
            attacker,
            ..NodeRecord::default()
        };
        let r = RunResult {
            nodes: 3,
            seed: 7,
            messages: vec![
                MessageRecord {
                    index: 0,
                    origin: 0,
                    size: 100,
                    sent_us: 0,
                    arrivals: vec![arrival(1, 1000, 1), arrival(2, 3000, 2)],
                    targets: 2,
                    depends_on: Some(1),
                    accepted: 1,
                    accepted_again: 2,
                },
                MessageRecord {
                    index: 1,
                    origin: 1,
                    size: 100,
                    sent_us: 10,
                    arrivals: vec![arrival(0, 2000, 1)],
                    targets: 2,
                    ..MessageRecord::default()
                },
            ],
            node_records: vec![
                node(0, 2, 300, false),
                node(1, 4, 600, false),
                node(2, 6, 900, false),
                node(3, 1000, 99_999, true),
            ],
            ..RunResult::default()
        };
        let s = r.summarize("sim", "flood", "propagation", 100);
        assert_eq!(s.delivered_fraction, 0.75);
        assert_eq!(s.messages_reaching_all, 1);
        // (2 + 4 + 6) copies / 3 honest nodes / 2 messages; the attacker is left out.
        assert_eq!(s.copies_per_node_per_message, 2.0);
        assert_eq!(s.payload_bytes_per_node_per_message.up, 300.0);
        assert_eq!(s.bytes_per_node_per_message.up, 305.0);
        assert_eq!(s.latency_ms.p50, 2.0);
        assert_eq!(s.latency_ms.max, 3.0);
        assert_eq!(s.time_to_all_ms.p50, 3.0);
        assert_eq!(s.hops.max, 2);
        assert_eq!(s.degree.max, 4);
        assert_eq!(s.degree.mean_outbound, 2.0);
        // One dependent, accepted by 1 of its 2 targets, twice more by someone.
        assert_eq!(s.dependents, 1);
        assert_eq!(s.dependents_accepted_fraction, 0.5);
        assert_eq!(s.accepted_more_than_once, 2);
    }

    #[test]
    fn percentile_is_nearest_rank() {
        let v: Vec<i64> = (1..=100).collect();
        assert_eq!(percentile(&v, 0.5), 50);
        assert_eq!(percentile(&v, 0.99), 99);
        assert_eq!(percentile(&v, 1.0), 100);
        assert_eq!(percentile::<i64>(&[], 0.5), 0);
    }
}
