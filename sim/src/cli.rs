//! The command line of `logos-sim`: `--config FILE.toml` first, then every other option, which
//! wins over the file.

use std::path::PathBuf;

use crate::config::{Backend, Bootstrap, Relay, Scenario, SimConfig};

/// The usage text.
pub const USAGE: &str = "\
usage: logos-sim [--nodes N] [--seed S] [--messages M] [--size BYTES] [--relay flood|announce]
                 [--scenario propagation|churn|eclipse|partition] [--backend sim|loopback]
                 [--config FILE.toml] --out DIR [options]

options (each also a field of the TOML file, with '_' for '-'):
  --rate R                 payloads per second (default 2)
  --bootstrap seeds|snapshot
                           DNS seed, fixed seeds and addr relay (default), or address managers
                           that start converged
  --snapshot-addresses N   listening addresses per address manager with --bootstrap snapshot
  --inbound-share F        share of nodes accepting inbound connections (default 0.2)
  --max-connections N      -maxconnections of every node (default 125)
  --delegates K            payloads come from K fixed nodes (default 0: random nodes)
  --verify-ms MS           the upper layer's verify time (default 1)
  --accept-ratio F         share of payloads the upper layer accepts (default 1)
  --warmup-secs S          seconds before the first payload (default 300)
  --drain-secs S           seconds after the last payload (default 60)
  --listening-up-mbit X, --listening-down-mbit X, --outbound-up-mbit X, --outbound-down-mbit X
  --conn-loss-per-hour X   connections lost at random per connection per hour (default 0)
  --flood-only-share F     with --relay announce: share of nodes that only flood (default 0)
  --silent-share F         with --relay announce: share of nodes that announce and never deliver
  --push-threshold BYTES   with --relay announce: smaller payloads are pushed to outbound peers
  --push-fanout K          with --relay announce: outbound peers every payload is pushed to
  --push-peers K           with --relay announce: peers each node asks to push it small payloads
                           (the ones that delivered its latest payloads first; default 1)
  --push-max BYTES         with --relay announce: payloads under this size are pushed to them
  --push-wait-ms MS        with --relay announce: how long another announcement of a small
                           payload waits for the push (default 50)
  --pending-share F        share of payloads sent before the next payload, which they depend on
                           (the upper layer answers Pending until it has that one; default 0)
  --addr-known-elements N  capacity of each connection's known-address filter (default 1000;
                           Core's is 5000)
  --compare-relays         run flood, then announce, with the same seed, into DIR/flood and
                           DIR/announce, and draw the comparison plots into DIR
  --no-plots               write summary.json and the CSVs only
  -h, --help               this text
";

/// What the command line asks for.
#[derive(Debug)]
pub enum Command {
    /// Run this.
    Run(Box<SimConfig>),
    /// Run this once per relay and compare (`--compare-relays`).
    Compare(Box<SimConfig>),
    /// Print the usage.
    Help,
}

fn value<'a>(it: &mut impl Iterator<Item = &'a String>, flag: &str) -> Result<&'a str, String> {
    it.next()
        .map(String::as_str)
        .ok_or_else(|| format!("{flag} needs a value (see --help)"))
}

fn num<T: std::str::FromStr>(v: &str, flag: &str) -> Result<T, String> {
    v.parse()
        .map_err(|_| format!("{flag}: `{v}` is not a valid number"))
}

fn choice<T: serde::de::DeserializeOwned>(v: &str, flag: &str, allowed: &str) -> Result<T, String> {
    serde_json::from_value(serde_json::Value::String(v.to_string()))
        .map_err(|_| format!("{flag}: `{v}` is not one of {allowed}"))
}

/// Parses `args` (without the program name). A config file is read first wherever
/// `--config` appears.
pub fn parse(args: &[String]) -> Result<Command, String> {
    let mut cfg = SimConfig::default();
    if let Some(pos) = args.iter().position(|a| a == "--config") {
        let path = args
            .get(pos + 1)
            .ok_or("--config needs a file (see --help)")?;
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("--config {path}: cannot read it: {e}"))?;
        cfg = SimConfig::from_toml(&text).map_err(|e| format!("--config {path}: {e}"))?;
    }
    let mut out_given = false;
    let mut compare = false;
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let f = flag.as_str();
        match f {
            "-h" | "--help" => return Ok(Command::Help),
            "--config" => {
                value(&mut it, f)?;
            }
            "--nodes" => cfg.nodes = num(value(&mut it, f)?, f)?,
            "--seed" => cfg.seed = num(value(&mut it, f)?, f)?,
            "--messages" => cfg.messages = num(value(&mut it, f)?, f)?,
            "--size" => cfg.size = num(value(&mut it, f)?, f)?,
            "--rate" => cfg.rate = num(value(&mut it, f)?, f)?,
            "--relay" => cfg.relay = choice::<Relay>(value(&mut it, f)?, f, "flood, announce")?,
            "--flood-only-share" => cfg.flood_only_share = num(value(&mut it, f)?, f)?,
            "--silent-share" => cfg.silent_share = num(value(&mut it, f)?, f)?,
            "--push-threshold" => cfg.push_threshold = num(value(&mut it, f)?, f)?,
            "--push-fanout" => cfg.push_fanout = num(value(&mut it, f)?, f)?,
            "--push-peers" => cfg.push_peers = num(value(&mut it, f)?, f)?,
            "--push-max" => cfg.push_max = num(value(&mut it, f)?, f)?,
            "--push-wait-ms" => cfg.push_wait_ms = num(value(&mut it, f)?, f)?,
            "--pending-share" => cfg.pending_share = num(value(&mut it, f)?, f)?,
            "--scenario" => {
                cfg.scenario = choice::<Scenario>(
                    value(&mut it, f)?,
                    f,
                    "propagation, churn, eclipse, partition",
                )?
            }
            "--backend" => cfg.backend = choice::<Backend>(value(&mut it, f)?, f, "sim, loopback")?,
            "--bootstrap" => {
                cfg.bootstrap = choice::<Bootstrap>(value(&mut it, f)?, f, "seeds, snapshot")?
            }
            "--snapshot-addresses" => cfg.snapshot_addresses = num(value(&mut it, f)?, f)?,
            "--inbound-share" => cfg.inbound_share = num(value(&mut it, f)?, f)?,
            "--max-connections" => cfg.max_connections = num(value(&mut it, f)?, f)?,
            "--delegates" => cfg.delegates = num(value(&mut it, f)?, f)?,
            "--verify-ms" => cfg.verify_ms = num(value(&mut it, f)?, f)?,
            "--accept-ratio" => cfg.accept_ratio = num(value(&mut it, f)?, f)?,
            "--warmup-secs" => cfg.warmup_secs = num(value(&mut it, f)?, f)?,
            "--drain-secs" => cfg.drain_secs = num(value(&mut it, f)?, f)?,
            "--listening-up-mbit" => cfg.listening_up_mbit = num(value(&mut it, f)?, f)?,
            "--listening-down-mbit" => cfg.listening_down_mbit = num(value(&mut it, f)?, f)?,
            "--outbound-up-mbit" => cfg.outbound_up_mbit = num(value(&mut it, f)?, f)?,
            "--outbound-down-mbit" => cfg.outbound_down_mbit = num(value(&mut it, f)?, f)?,
            "--conn-loss-per-hour" => cfg.conn_loss_per_hour = num(value(&mut it, f)?, f)?,
            "--addr-known-elements" => cfg.addr_known_elements = num(value(&mut it, f)?, f)?,
            "--no-plots" => cfg.plots = false,
            "--compare-relays" => compare = true,
            "--out" => {
                cfg.out = PathBuf::from(value(&mut it, f)?);
                out_given = true;
            }
            other => return Err(format!("unknown option `{other}` (see --help)")),
        }
    }
    if !out_given && cfg.out.as_os_str().is_empty() {
        return Err("--out DIR is required: where summary.json, the CSVs and the plots go".into());
    }
    cfg.validate()?;
    if compare {
        return Ok(Command::Compare(Box::new(cfg)));
    }
    Ok(Command::Run(Box::new(cfg)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn flags_override_and_errors_name_the_flag() {
        let Command::Run(c) = parse(&args(
            "--nodes 50 --seed 9 --messages 3 --size 2048 --relay flood --scenario churn --out d",
        ))
        .unwrap() else {
            panic!("not a run")
        };
        assert_eq!((c.nodes, c.seed, c.messages, c.size), (50, 9, 3, 2048));
        assert_eq!(c.scenario, Scenario::Churn);
        assert_eq!(c.out, PathBuf::from("d"));
        let e = parse(&args("--nodes x --out d")).unwrap_err();
        assert!(e.contains("--nodes") && e.contains("`x`"), "{e}");
        let e = parse(&args("--scenario storm --out d")).unwrap_err();
        assert!(e.contains("propagation, churn, eclipse, partition"), "{e}");
        let e = parse(&args("--frobnicate 1")).unwrap_err();
        assert!(e.contains("--frobnicate"), "{e}");
        let e = parse(&args("--nodes 1 --out d")).unwrap_err();
        assert!(e.contains("--nodes must be at least 2"), "{e}");
        assert!(matches!(parse(&args("--help")).unwrap(), Command::Help));
    }
}
