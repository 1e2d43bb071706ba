//! Where simulated nodes are: their region (which sets the latency of each link), their address
//! (routable IPv4, spread over many /16 groups so the planner's one-per-group rule bites as on
//! the real network) and their bandwidth.
//!
//! Latency source: the round-trip times below are rounded medians between major cities of each
//! region, of the size the public inter-city ping tables show (WonderNetwork's "Global Ping
//! Statistics", wondernetwork.com/pings, which measures between its servers every hour; and
//! the AWS inter-region latency tables give the same order). They are approximations: the table
//! is meant to give continental structure (tens of ms within a region, 100–300 ms across
//! oceans), not any particular pair of hosts. The one-way latency of a link is half its
//! region pair's RTT plus a per-link jitter of up to 10%.
//!
//! Node placement: shares roughly as public crawls of the Bitcoin network count reachable nodes
//! per continent (bitnodes.io: most in Europe and North America).

use netbase::CService;
use rand_chacha::ChaCha20Rng;
use rand_core::RngCore;

/// The regions.
pub const REGIONS: [&str; 6] = [
    "north-america",
    "south-america",
    "europe",
    "asia",
    "oceania",
    "africa",
];

/// Share of nodes per region (same order as [`REGIONS`]), in percent.
pub const REGION_SHARE: [u32; 6] = [35, 3, 45, 12, 3, 2];

/// Round-trip time between regions, milliseconds (symmetric; see the module doc for the source).
pub const RTT_MS: [[u32; 6]; 6] = [
    // NA   SA   EU   AS   OC   AF
    [40, 130, 90, 170, 160, 200],  // north-america
    [130, 50, 200, 300, 250, 320], // south-america
    [90, 200, 25, 200, 280, 150],  // europe
    [170, 300, 200, 70, 130, 260], // asia
    [160, 250, 280, 130, 30, 330], // oceania
    [200, 320, 150, 260, 330, 80], // africa
];

/// A uniform draw in `0..n` (n > 0).
pub fn below(rng: &mut ChaCha20Rng, n: u64) -> u64 {
    net::addr_relay::randrange(rng, n)
}

/// A region drawn with [`REGION_SHARE`].
pub fn pick_region(rng: &mut ChaCha20Rng) -> u8 {
    let total: u32 = REGION_SHARE.iter().sum();
    let mut x = below(rng, u64::from(total)) as u32;
    for (i, s) in REGION_SHARE.iter().enumerate() {
        if x < *s {
            return i as u8;
        }
        x -= s;
    }
    0
}

/// One-way latency of a link between regions `a` and `b`, µs, with up to 10% jitter.
pub fn link_latency_us(a: u8, b: u8, rng: &mut ChaCha20Rng) -> i64 {
    let rtt_us = i64::from(RTT_MS[a as usize][b as usize]) * 1000;
    let one_way = rtt_us / 2;
    one_way + below(rng, (one_way / 10).max(1) as u64) as i64
}

/// First octets of the simulated addresses: routable ranges only (no 10/8, 100.64/10, 127/8,
/// 169.254/16, 172.16/12, 192.168/16, multicast or reserved).
const FIRST_OCTETS: std::ops::RangeInclusive<u32> = 11..=99;

/// Hands out distinct routable IPv4 addresses, `per_group` on average per /16 group.
pub struct AddressPlan {
    groups: u32,
    used: std::collections::BTreeSet<u32>,
    port: u16,
}

impl AddressPlan {
    /// Addresses for about `nodes` nodes with `port`, about 2.5 per /16 group (the real network
    /// has its nodes in a few thousand groups).
    pub fn new(nodes: usize, port: u16) -> Self {
        let max_groups = (FIRST_OCTETS.end() - FIRST_OCTETS.start() + 1) * 256;
        let groups = ((nodes as u32 * 2) / 5).clamp(64, max_groups);
        AddressPlan {
            groups,
            used: Default::default(),
            port,
        }
    }

    /// A fresh address in a random group.
    pub fn next(&mut self, rng: &mut ChaCha20Rng) -> CService {
        self.next_in(rng, None)
    }

    /// A fresh address in group `group` (index below the plan's group count) or a random one.
    pub fn next_in(&mut self, rng: &mut ChaCha20Rng, group: Option<u32>) -> CService {
        loop {
            let g = group.unwrap_or_else(|| below(rng, u64::from(self.groups)) as u32);
            let first = FIRST_OCTETS.start() + g / 256;
            let second = g % 256;
            let host = 1 + below(rng, 65_533) as u32;
            let ip = (first << 24) | (second << 16) | host;
            if self.used.insert(ip) {
                let v4 = std::net::Ipv4Addr::from(ip);
                return CService::from_socket_addr(&std::net::SocketAddr::from((v4, self.port)));
            }
        }
    }

    /// Groups in the plan.
    pub fn groups(&self) -> u32 {
        self.groups
    }
}

/// Fixed seeds compiled into the simulated network's parameters.
pub const FIXED_SEEDS: usize = 64;

/// One node's place in the network.
#[derive(Clone, Debug)]
pub struct NodeSpec {
    /// Its address.
    pub addr: CService,
    /// Its region.
    pub region: u8,
    /// It accepts inbound connections.
    pub listening: bool,
}

/// The network both backends build from a configuration: the same seed, the same nodes.
pub struct Layout {
    /// The honest nodes, by index.
    pub specs: Vec<NodeSpec>,
    /// The fixed seeds (`host:port` a line): listening nodes.
    pub fixed_seeds: String,
    /// The run's random stream, after the layout's draws.
    pub rng: ChaCha20Rng,
    /// The address plan, for nodes added later.
    pub plan: AddressPlan,
}

/// How many of `nodes` listen: `inbound_share` of them, at least one (the first ones).
pub fn listening_count(nodes: usize, inbound_share: f64) -> usize {
    ((inbound_share * nodes as f64).round() as usize).clamp(1, nodes)
}

/// The layout of `cfg` on a network whose default port is `port`, drawn from `cfg.seed`:
/// per node its region then its address, then the fixed seeds.
pub fn layout(cfg: &crate::config::SimConfig, port: u16) -> Layout {
    use rand_core::SeedableRng;
    let mut rng = ChaCha20Rng::seed_from_u64(cfg.seed);
    let mut plan = AddressPlan::new(cfg.nodes, port);
    let listening = listening_count(cfg.nodes, cfg.inbound_share);
    let specs: Vec<NodeSpec> = (0..cfg.nodes)
        .map(|i| {
            let region = pick_region(&mut rng);
            let addr = plan.next(&mut rng);
            NodeSpec {
                addr,
                region,
                listening: i < listening,
            }
        })
        .collect();
    let mut fixed_seeds = String::new();
    for _ in 0..FIXED_SEEDS.min(listening) {
        let i = below(&mut rng, listening as u64) as usize;
        fixed_seeds.push_str(&specs[i].addr.to_string_addr_port());
        fixed_seeds.push('\n');
    }
    Layout {
        specs,
        fixed_seeds,
        rng,
        plan,
    }
}

/// Bytes per second of `mbit` Mbit/s.
pub fn bytes_per_sec(mbit: f64) -> f64 {
    mbit * 1_000_000.0 / 8.0
}

/// Whether `rng` says yes with probability `p`.
pub fn chance(rng: &mut ChaCha20Rng, p: f64) -> bool {
    (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64 <= p && p > 0.0
}

/// An exponential draw with mean `mean_us` (µs), for Poisson processes.
pub fn exp_us(rng: &mut ChaCha20Rng, mean_us: f64) -> i64 {
    let u = ((rng.next_u64() >> 11) as f64 + 1.0) / ((1u64 << 53) as f64 + 1.0);
    (-u.ln() * mean_us) as i64
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::SeedableRng;

    #[test]
    fn rtt_table_is_symmetric_and_addresses_routable_and_distinct() {
        for (a, row) in RTT_MS.iter().enumerate() {
            for (b, rtt) in row.iter().enumerate() {
                assert_eq!(*rtt, RTT_MS[b][a]);
            }
        }
        assert_eq!(REGION_SHARE.iter().sum::<u32>(), 100);
        let mut rng = ChaCha20Rng::seed_from_u64(3);
        let mut plan = AddressPlan::new(1000, 14497);
        let mut seen = std::collections::BTreeSet::new();
        let mut groups = std::collections::BTreeSet::new();
        for _ in 0..1000 {
            let a = plan.next(&mut rng);
            assert!(a.addr.is_routable(), "{}", a.to_string_addr_port());
            assert!(seen.insert(a));
            groups.insert(netbase::NetGroupManager::new().get_group(&a.addr));
        }
        assert!(groups.len() > 300, "{} groups", groups.len());
    }
}
