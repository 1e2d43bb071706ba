//! The workload's originations and the scenarios' events: churn, the partition and the
//! eclipse attack.

use net::connection_type::ConnectionType;
use protocol::{CAddress, NetworkMessage};

use super::{Ev, Sim, ECLIPSE_SAMPLE_INTERVAL};
use crate::config::Scenario;
use crate::link::Wire;
use crate::metrics::{EclipseSample, NodeRecord};
use crate::topology;

/// Attacker addresses per `addr` message (Core's `MAX_ADDR_TO_SEND`).
const ADDR_PER_MESSAGE: usize = 1000;

impl Sim {
    /// Message `msg` leaves its originator: a delegate (in turn) or a random honest node that
    /// delivers what it announces (a silent originator would withhold its own message, which
    /// measures nothing about the relay).
    pub(super) fn originate(&mut self, msg: u32) {
        let alive: Vec<u32> = self
            .nodes
            .iter()
            .filter(|n| n.alive && !n.attacker)
            .map(|n| n.index)
            .collect();
        let senders: Vec<u32> = alive
            .iter()
            .copied()
            .filter(|&i| !self.nodes[i as usize].silent)
            .collect();
        if alive.is_empty() {
            return;
        }
        let origin = if self.cfg.delegates > 0 {
            let d = self.cfg.delegates as u32;
            (0..d)
                .map(|k| (msg + k) % d)
                .find(|&i| self.nodes[i as usize].alive)
                .unwrap_or(alive[0])
        } else if senders.is_empty() {
            return;
        } else {
            senders[topology::below(&mut self.rng, senders.len() as u64) as usize]
        };
        let rec = &mut self.messages[msg as usize];
        rec.origin = origin;
        rec.targets = alive.len() as u32 - 1;
        self.hops[msg as usize][origin as usize] = 0;
        // Its own payload counts as accepted by its upper layer (`propagate`).
        self.accepts[msg as usize][origin as usize] = 1;
        let f = self.frames[msg as usize].clone();
        let now = self.now;
        self.nodes[origin as usize]
            .pm
            .propagate(f.payload, f.hash, f.header, false, now);
        self.pump(origin);
        self.reschedule(origin);
    }

    /// Queues the scenario's first events.
    pub(super) fn schedule_scenario(&mut self) {
        let start = self.workload_start;
        match self.cfg.scenario {
            Scenario::Propagation => {}
            Scenario::Churn => {
                let (l, j) = (self.cfg.churn.leave_per_min, self.cfg.churn.join_per_min);
                if l > 0.0 {
                    let at = start + topology::exp_us(&mut self.rng, 60e6 / l);
                    self.push(at, Ev::Leave);
                }
                if j > 0.0 {
                    let at = start + topology::exp_us(&mut self.rng, 60e6 / j);
                    self.push(at, Ev::Join);
                }
            }
            Scenario::Partition => {
                let p = self.cfg.partition.clone();
                self.push(
                    start + (p.cut_secs * 1e6) as i64,
                    Ev::Partition { cut: true },
                );
                self.push(
                    start + (p.heal_secs * 1e6) as i64,
                    Ev::Partition { cut: false },
                );
            }
            Scenario::Eclipse => {
                self.place_attackers();
                self.push(start, Ev::EclipseAttack);
                self.push(start, Ev::EclipseSample);
                let restart = (self.cfg.eclipse.restart_secs * 1e6) as i64;
                self.push(start + restart, Ev::EclipseRestart);
            }
        }
    }

    /// A random honest node that is not a delegate leaves: its connections close.
    pub(super) fn churn_leave(&mut self) {
        let candidates: Vec<u32> = self
            .nodes
            .iter()
            .filter(|n| n.alive && !n.attacker && !n.delegate)
            .map(|n| n.index)
            .collect();
        if candidates.len() > 2 {
            let i = candidates[topology::below(&mut self.rng, candidates.len() as u64) as usize];
            self.stop_node(i);
            self.churn_counts.0 += 1;
        }
        let at = self.now + topology::exp_us(&mut self.rng, 60e6 / self.cfg.churn.leave_per_min);
        self.push(at, Ev::Leave);
    }

    /// A node joins: one that left comes back (its address manager kept, as peers.dat), or a
    /// new one that starts from the DNS seed.
    pub(super) fn churn_join(&mut self) {
        let dead: Vec<u32> = self
            .nodes
            .iter()
            .filter(|n| !n.alive && !n.attacker)
            .map(|n| n.index)
            .collect();
        let i = if dead.is_empty() {
            let region = topology::pick_region(&mut self.rng);
            let addr = self.plan.next(&mut self.rng);
            let listen = topology::chance(&mut self.rng, self.cfg.inbound_share);
            self.add_node(addr, region, listen, false)
        } else {
            dead[topology::below(&mut self.rng, dead.len() as u64) as usize]
        };
        self.start_node(i);
        self.churn_counts.1 += 1;
        let at = self.now + topology::exp_us(&mut self.rng, 60e6 / self.cfg.churn.join_per_min);
        self.push(at, Ev::Join);
    }

    /// Node `i` shuts down: every connection closes, its timers stop.
    pub(super) fn stop_node(&mut self, i: u32) {
        let links: Vec<usize> = self.nodes[i as usize]
            .peers
            .values()
            .map(|p| p.link as usize)
            .collect();
        for l in links {
            self.close(l);
        }
        let n = &mut self.nodes[i as usize];
        n.alive = false;
        n.scheduled_wake = None;
        n.plan_next = None;
        n.dns_next = None;
    }

    /// The cut (a random `fraction` of the nodes on one side) or its healing.
    pub(super) fn partition(&mut self, cut: bool) {
        if !cut {
            self.cut = None;
            return;
        }
        let fraction = self.cfg.partition.fraction;
        let side: Vec<bool> = (0..self.nodes.len())
            .map(|_| topology::chance(&mut self.rng, fraction))
            .collect();
        let crossing: Vec<usize> = (0..self.links.len())
            .filter(|&l| {
                let link = &self.links[l];
                link.open && side[link.ends[0].node as usize] != side[link.ends[1].node as usize]
            })
            .collect();
        self.cut = Some(side);
        for l in crossing {
            self.close(l);
        }
    }

    /// The attacker: `groups` nodes, each answering for `addresses / groups` addresses of its
    /// own /16 group (groups no honest node uses). Victims: the first listening honest nodes.
    fn place_attackers(&mut self) {
        let e = self.cfg.eclipse.clone();
        let listening: Vec<u32> = self
            .nodes
            .iter()
            .filter(|n| n.listening)
            .map(|n| n.index)
            .collect();
        self.victims = listening.into_iter().take(e.victims).collect();
        let per_group = e.addresses.div_ceil(e.groups.max(1));
        let first_group = self.plan.groups();
        for g in 0..e.groups as u32 {
            let mut addrs = Vec::with_capacity(per_group);
            for _ in 0..per_group {
                addrs.push(self.plan.next_in(&mut self.rng, Some(first_group + g)));
            }
            let region = topology::pick_region(&mut self.rng);
            let a = self.add_node(addrs[0], region, true, true);
            for addr in &addrs {
                self.by_addr.insert(*addr, a);
            }
            self.attacker_addrs.extend(addrs);
            self.attackers.push(a);
            self.start_node(a);
        }
    }

    /// One round of the attack: fill each victim's inbound slots from attacker addresses, and
    /// send it one `addr` message of attacker addresses.
    pub(super) fn eclipse_attack(&mut self) {
        if self.attackers.is_empty() {
            return;
        }
        let max_inbound = self.max_inbound();
        let services = self.params.seeds_services;
        for v in self.victims.clone() {
            // Inbound slots: one connection per attacker address until refused.
            let mut tries = 0;
            while self.nodes[v as usize].n_inbound < max_inbound && tries < max_inbound + 8 {
                tries += 1;
                let k = topology::below(&mut self.rng, self.attacker_addrs.len() as u64);
                let src = self.attacker_addrs[k as usize];
                let a = self.by_addr[&src];
                if !self.admit(v, &src.addr) {
                    break;
                }
                let from = self.ephemeral(src.addr);
                let to = CAddress::new(self.nodes[v as usize].addr, services, 0);
                self.open_link(a, from, v, to, ConnectionType::Manual);
            }
            // The addr flood, over one handshaken attacker connection.
            let conn = self.attackers.iter().find_map(|&a| {
                self.nodes[a as usize]
                    .peers
                    .iter()
                    .find(|(_, p)| {
                        p.successfully_connected
                            && self.links[p.link as usize].ends[1 - p.end as usize].node == v
                    })
                    .map(|(&id, _)| (a, id))
            });
            if let Some((a, id)) = conn {
                let now_secs = self.now / 1_000_000;
                let addrs: Vec<CAddress> = (0..ADDR_PER_MESSAGE.min(self.attacker_addrs.len()))
                    .map(|_| {
                        let k = topology::below(&mut self.rng, self.attacker_addrs.len() as u64);
                        let age = topology::below(&mut self.rng, 600) as i64;
                        CAddress::new(self.attacker_addrs[k as usize], services, now_secs - age)
                    })
                    .collect();
                let msg = NetworkMessage::Addr(addrs);
                if let Some(m) = net::net_message::SerializedNetMsg::from_message(&msg) {
                    self.transmit(
                        a,
                        id,
                        Wire::Control {
                            m_type: m.m_type,
                            payload: m.data,
                        },
                    );
                }
            }
        }
        let every = (60e6 / self.cfg.eclipse.addr_per_min.max(0.01)) as i64;
        self.push(self.now + every, Ev::EclipseAttack);
    }

    /// The victims restart: connections close, the planner starts over from the address
    /// manager (which the attack has been filling).
    pub(super) fn eclipse_restart(&mut self) {
        for v in self.victims.clone() {
            self.stop_node(v);
            self.start_node(v);
        }
    }

    /// The share of the victims' outbound full-relay slots held by attacker addresses.
    pub(super) fn eclipse_sample(&mut self) {
        let slots = net::open_connections::MAX_OUTBOUND_FULL_RELAY_CONNECTIONS as f64;
        let shares: Vec<f64> = self
            .victims
            .iter()
            .map(|&v| {
                let held = self.nodes[v as usize]
                    .peers
                    .values()
                    .filter(|p| {
                        p.conn_type.is_full_outbound_conn()
                            && p.successfully_connected
                            && self
                                .by_addr
                                .get(&p.addr)
                                .is_some_and(|&j| self.nodes[j as usize].attacker)
                    })
                    .count();
                held as f64 / slots
            })
            .collect();
        if !shares.is_empty() {
            self.eclipse.push(EclipseSample {
                t_secs: (self.now - super::T0) as f64 / 1e6,
                mean_share: shares.iter().sum::<f64>() / shares.len() as f64,
                max_share: shares.iter().copied().fold(0.0, f64::max),
            });
        }
        self.push(self.now + ECLIPSE_SAMPLE_INTERVAL, Ev::EclipseSample);
    }

    /// Everything measured.
    pub(super) fn result(&self) -> crate::metrics::RunResult {
        crate::metrics::RunResult {
            nodes: self.cfg.nodes,
            seed: self.cfg.seed,
            messages: self.messages.clone(),
            node_records: self
                .nodes
                .iter()
                .map(|n| {
                    let p = n.pm.pending_stats();
                    NodeRecord {
                        pending_added: p.added,
                        pending_reoffered: p.reoffered,
                        dependency_requests: p.requests_sent,
                        ..n.record.clone()
                    }
                })
                .collect(),
            eclipse: self.eclipse.clone(),
            wall_seconds: 0.0,
            run_seconds: (self.end - super::T0) as f64 / 1e6,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Bootstrap, EclipseConfig, PartitionConfig, SimConfig};

    fn small(scenario: Scenario) -> SimConfig {
        SimConfig {
            nodes: 200,
            seed: 3,
            messages: 10,
            rate: 1.0,
            scenario,
            bootstrap: Bootstrap::Snapshot,
            snapshot_addresses: 30,
            warmup_secs: 30.0,
            drain_secs: 20.0,
            plots: false,
            ..SimConfig::default()
        }
    }

    fn run(cfg: SimConfig) -> Sim {
        let (mut sim, layout) = Sim::new(cfg);
        sim.bootstrap(layout);
        sim.schedule_workload();
        sim.schedule_scenario();
        sim.run_until_end(&mut |_| {});
        sim
    }

    /// During the cut no payload crosses it: every first arrival is on its originator's side,
    /// and each side is reached whole.
    #[test]
    fn partition_keeps_each_payload_on_its_side() {
        let mut cfg = small(Scenario::Partition);
        cfg.partition = PartitionConfig {
            fraction: 0.5,
            cut_secs: 0.0,
            heal_secs: 1e6,
        };
        let sim = run(cfg);
        let side = sim.cut.clone().expect("the cut holds");
        for m in &sim.messages {
            let own = side[m.origin as usize];
            assert!(!m.arrivals.is_empty());
            for a in &m.arrivals {
                assert_eq!(side[a.node as usize], own, "message {} crossed", m.index);
            }
            let same_side = side.iter().filter(|&&s| s == own).count() as u32 - 1;
            assert!(m.arrivals.len() as u32 >= same_side * 9 / 10, "{m:?}");
        }
    }

    /// The attacker's `addr` flood reaches the victims' address managers, but only as far as
    /// Core's address rate limit lets it (1,000 tokens, then one per 10 s per peer), and the
    /// share of their outbound slots is sampled every 5 s from the start of the attack.
    #[test]
    fn eclipse_flood_is_rate_limited_and_sampled() {
        let mut cfg = small(Scenario::Eclipse);
        cfg.eclipse = EclipseConfig {
            addresses: 4000,
            groups: 8,
            victims: 2,
            addr_per_min: 30.0,
            restart_secs: 10.0,
        };
        let sim = run(cfg.clone());
        assert_eq!(sim.attackers.len(), 8);
        let attacker: std::collections::HashSet<_> = sim.attacker_addrs.iter().collect();
        let secs = (sim.end - sim.workload_start) as f64 / 1e6;
        for &v in &sim.victims {
            let am = &sim.nodes[v as usize].addrman;
            let held = [false, true]
                .into_iter()
                .flat_map(|t| am.get_entries(t))
                .filter(|(e, _)| attacker.contains(&e.addr.service))
                .count();
            let rounds = (secs / 2.0).ceil() as usize + 1;
            assert!(held > 0, "the addr flood never reached victim {v}");
            // Each attacker connection starts with 1,000 tokens and earns one per 10 s.
            let conns = sim.max_inbound() as usize + 1;
            assert!(
                held <= conns * (1000 + (secs / 10.0) as usize + 1) && held < rounds * 1000,
                "victim {v} took {held} attacker addresses in {secs} s"
            );
        }
        let samples = &sim.eclipse;
        assert_eq!(samples.len() as f64, (secs / 5.0).floor() + 1.0);
        assert!(samples
            .iter()
            .all(|s| (0.0..=1.0).contains(&s.mean_share) && s.mean_share <= s.max_share));
        // Attackers are measured apart: they are not honest nodes.
        let r = sim.result();
        assert_eq!(r.node_records.iter().filter(|n| n.attacker).count(), 8);
        assert_eq!(r.nodes, 200);
    }

    /// Nodes leave and join; a payload counts the nodes up when it is sent, and the ones that
    /// stay up get it.
    #[test]
    fn churn_replaces_nodes_and_payloads_reach_those_up() {
        let mut cfg = small(Scenario::Churn);
        cfg.churn.leave_per_min = 60.0;
        cfg.churn.join_per_min = 60.0;
        let sim = run(cfg);
        let (left, joined) = sim.churn_counts;
        assert!(left > 10 && joined > 10, "left {left}, joined {joined}");
        for m in &sim.messages {
            assert!(m.targets < 200 + 30 && m.targets > 150, "{}", m.targets);
            assert!(m.arrivals.len() as u32 >= m.targets * 9 / 10, "{m:?}");
        }
    }
    /// Payloads sent before the one they depend on wait in the pending pools and are accepted
    /// once by every node when it comes, with either relay; nothing else waits, and nothing is
    /// accepted twice.
    #[test]
    fn dependents_are_accepted_once_everywhere_after_their_dependency() {
        for relay in [crate::config::Relay::Flood, crate::config::Relay::Announce] {
            let mut cfg = small(Scenario::Propagation);
            cfg.relay = relay;
            cfg.messages = 20;
            cfg.pending_share = 0.3;
            let sim = run(cfg);
            let s = sim.result().summarize("sim", "-", "propagation", 1024);
            assert!(s.dependents >= 3, "{relay:?}: {} dependents", s.dependents);
            assert_eq!(s.dependents_accepted_fraction, 1.0, "{relay:?}");
            assert_eq!(s.accepted_more_than_once, 0, "{relay:?}");
            assert!(s.pending_added > 0, "{relay:?}: no payload waited");
            assert_eq!(s.pending_reoffered, s.pending_added, "{relay:?}");
            for m in &sim.messages {
                // Every node but the originator accepted it, once.
                assert_eq!(m.accepted, m.targets, "{relay:?}: {m:?}");
                let twice = sim.accepts[m.index].iter().filter(|&&a| a > 1).count();
                assert_eq!(twice, 0, "{relay:?}: message {} accepted twice", m.index);
            }
            // Without dependents nothing waits.
            let mut plain = small(Scenario::Propagation);
            plain.relay = relay;
            let s = run(plain)
                .result()
                .summarize("sim", "-", "propagation", 1024);
            assert_eq!((s.dependents, s.pending_added), (0, 0));
        }
    }
}
