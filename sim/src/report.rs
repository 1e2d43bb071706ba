//! The files a run writes in `--out DIR`: `summary.json`, `messages.csv` (one row per message),
//! `nodes.csv` (one row per node) and, in the eclipse scenario, `eclipse.csv`. Every number is
//! printed the same way on every run of one seed, so the files compare byte for byte (except
//! `wall_seconds`).

use std::fmt::Write as _;
use std::fs;
use std::io;
use std::path::Path;

use crate::metrics::{percentile, MessageRecord, RunResult, Summary};

/// Time for `m` to reach `q` (0..=1) of the nodes it should reach, µs; `None` if it never did.
pub fn time_to_share_us(m: &MessageRecord, q: f64) -> Option<i64> {
    let need = ((q * f64::from(m.targets)).ceil() as usize).max(1);
    if m.arrivals.len() < need {
        return None;
    }
    let mut d: Vec<i64> = m.arrivals.iter().map(|a| a.delay_us).collect();
    d.sort_unstable();
    Some(d[need - 1])
}

fn opt_ms(us: Option<i64>) -> String {
    us.map_or_else(String::new, |u| format!("{:.3}", u as f64 / 1000.0))
}

/// `messages.csv`.
pub fn messages_csv(r: &RunResult) -> String {
    let mut s = String::from(
        "message,origin,size,sent_ms,targets,reached,t50_ms,t90_ms,t99_ms,t100_ms,hops_p50,hops_max\n",
    );
    for m in &r.messages {
        let mut hops: Vec<u32> = m.arrivals.iter().map(|a| a.hops).collect();
        hops.sort_unstable();
        let _ = writeln!(
            s,
            "{},{},{},{:.3},{},{},{},{},{},{},{},{}",
            m.index,
            m.origin,
            m.size,
            m.sent_us as f64 / 1000.0,
            m.targets,
            m.arrivals.len(),
            opt_ms(time_to_share_us(m, 0.50)),
            opt_ms(time_to_share_us(m, 0.90)),
            opt_ms(time_to_share_us(m, 0.99)),
            opt_ms(time_to_share_us(m, 1.0)),
            percentile(&hops, 0.5),
            hops.last().copied().unwrap_or(0),
        );
    }
    s
}

/// `nodes.csv`.
pub fn nodes_csv(r: &RunResult) -> String {
    let mut s = String::from(
        "node,listening,region,delegate,attacker,outbound,inbound,copies,delivered,payload_up,payload_down,control_up,control_down\n",
    );
    for n in &r.node_records {
        let _ = writeln!(
            s,
            "{},{},{},{},{},{},{},{},{},{},{},{},{}",
            n.node,
            u8::from(n.listening),
            crate::topology::REGIONS[usize::from(n.region)],
            u8::from(n.delegate),
            u8::from(n.attacker),
            n.outbound,
            n.inbound,
            n.copies,
            n.delivered,
            n.payload_up,
            n.payload_down,
            n.control_up,
            n.control_down,
        );
    }
    s
}

/// `eclipse.csv`.
pub fn eclipse_csv(r: &RunResult) -> String {
    let mut s = String::from("t_secs,mean_share,max_share\n");
    for e in &r.eclipse {
        let _ = writeln!(s, "{:.3},{:.6},{:.6}", e.t_secs, e.mean_share, e.max_share);
    }
    s
}

/// Writes `summary.json` and the CSVs into `dir` (created if missing).
pub fn write_files(dir: &Path, r: &RunResult, summary: &Summary) -> io::Result<()> {
    fs::create_dir_all(dir)?;
    let json = serde_json::to_string_pretty(summary).map_err(io::Error::other)?;
    fs::write(dir.join("summary.json"), json + "\n")?;
    fs::write(dir.join("messages.csv"), messages_csv(r))?;
    fs::write(dir.join("nodes.csv"), nodes_csv(r))?;
    if !r.eclipse.is_empty() {
        fs::write(dir.join("eclipse.csv"), eclipse_csv(r))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::Arrival;

    #[test]
    fn time_to_share_needs_that_many_arrivals() {
        let m = MessageRecord {
            targets: 4,
            arrivals: [5, 1, 3]
                .iter()
                .enumerate()
                .map(|(i, &d)| Arrival {
                    node: i as u32,
                    delay_us: d * 1000,
                    hops: 1,
                })
                .collect(),
            ..MessageRecord::default()
        };
        assert_eq!(time_to_share_us(&m, 0.5), Some(3000));
        assert_eq!(time_to_share_us(&m, 0.75), Some(5000));
        assert_eq!(time_to_share_us(&m, 1.0), None);
        assert!(messages_csv(&RunResult {
            messages: vec![m],
            ..RunResult::default()
        })
        .ends_with(",4,3,3.000,,,,1,1\n"));
    }
}
