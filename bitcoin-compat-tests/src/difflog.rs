//! Not in Core: compare a bitcoind `debug.log` with ours, line by line.
//!
//! Two runs of the same scenario never log the same timestamps, peer ids, ephemeral ports,
//! durations or user agents, so each line is first normalised ([`Normaliser::normalise`])
//! and only then compared. The comparison is either ordered (a shortest edit script, Myers'
//! algorithm, so a missing line shows as one `-` and not as a cascade) or unordered (two
//! multisets, for logs whose thread interleaving differs between runs).

use std::collections::HashMap;

use regex::Regex;

/// Rewrites the parts of a log line that legitimately differ between two runs.
pub struct Normaliser {
    timestamp: Regex,
    thread_name: Regex,
    peer_eq: Regex,
    peer_word: Regex,
    endpoint: Regex,
    millis: Regex,
    user_agent: Regex,
}

impl Default for Normaliser {
    fn default() -> Self {
        Self::new()
    }
}

impl Normaliser {
    /// Not in Core: build the rewriting rules.
    pub fn new() -> Self {
        let re = |s: &str| Regex::new(s).expect("static regex");
        Normaliser {
            // `-logtimestamps` (with or without `-logtimemicros`).
            timestamp: re(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z "),
            // `-logthreadnames`: a bracketed thread name before the bracketed category.
            thread_name: re(r"^\[[A-Za-z0-9_.\-]+\] (\[)"),
            peer_eq: re(r"\bpeer=\d+"),
            peer_word: re(r"\bpeer (\d+)\b"),
            endpoint: re(r"(\d{1,3}(?:\.\d{1,3}){3}|\[[0-9A-Fa-f:.%a-z]+\]):\d{1,5}\b"),
            millis: re(r"\b\d+ms\b"),
            user_agent: re(r"/[A-Za-z][^/\s:]*:[0-9][^/\s]*/(?:[A-Za-z][^/\s:]*:[0-9][^/\s]*/)*"),
        }
    }

    /// Not in Core: the line with timestamp and thread name removed and peer ids, ports,
    /// millisecond durations and user agents replaced by placeholders.
    pub fn normalise(&self, line: &str) -> String {
        let line = line.trim_end_matches(['\r', '\n']);
        let s = self.timestamp.replace(line, "");
        let s = self.thread_name.replace(&s, "$1");
        let s = self.peer_eq.replace_all(&s, "peer=N");
        let s = self.peer_word.replace_all(&s, "peer N");
        let s = self.endpoint.replace_all(&s, "$1:PORT");
        let s = self.millis.replace_all(&s, "Nms");
        let s = self.user_agent.replace_all(&s, "/USERAGENT/");
        s.into_owned()
    }
}

/// Which lines take part in the comparison.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// Lines containing any of these (after normalising) are dropped.
    pub ignore: Vec<String>,
    /// If not empty, only lines whose normalised text starts with `[<category>]` or
    /// `[<category>:` for one of these are kept.
    pub categories: Vec<String>,
}

impl Filter {
    fn keeps(&self, normalised: &str) -> bool {
        if self.ignore.iter().any(|s| normalised.contains(s.as_str())) {
            return false;
        }
        self.categories.is_empty()
            || self.categories.iter().any(|c| {
                normalised.starts_with(&format!("[{c}]"))
                    || normalised.starts_with(&format!("[{c}:"))
            })
    }
}

/// One line of a log after normalising: its 1-based number in the file and its text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogLine {
    /// 1-based line number in the original file.
    pub number: usize,
    /// Normalised text.
    pub text: String,
}

/// Not in Core: normalise and filter a whole log.
pub fn prepare(log: &str, normaliser: &Normaliser, filter: &Filter) -> Vec<LogLine> {
    log.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| LogLine {
            number: i + 1,
            text: normaliser.normalise(l),
        })
        .filter(|l| filter.keeps(&l.text))
        .collect()
}

/// One difference between the two logs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Difference {
    /// Only in the first log.
    OnlyInFirst(LogLine),
    /// Only in the second log.
    OnlyInSecond(LogLine),
}

/// Not in Core: ordered comparison, the shortest edit script between the two (Myers 1986).
/// `None` when the logs differ in more than `max_edits` lines, where the quadratic trace
/// would cost too much memory; [`diff_unordered`] still works then.
pub fn diff_ordered(a: &[LogLine], b: &[LogLine], max_edits: usize) -> Option<Vec<Difference>> {
    // Identical head and tail need no search.
    let head = a
        .iter()
        .zip(b)
        .take_while(|(x, y)| x.text == y.text)
        .count();
    let tail = a[head..]
        .iter()
        .rev()
        .zip(b[head..].iter().rev())
        .take_while(|(x, y)| x.text == y.text)
        .count();
    let (a_mid, b_mid) = (&a[head..a.len() - tail], &b[head..b.len() - tail]);

    let mut ids: HashMap<&str, u32> = HashMap::new();
    let xa = intern(a_mid, &mut ids);
    let xb = intern(b_mid, &mut ids);
    let script = myers(&xa, &xb, max_edits)?;
    Some(
        script
            .into_iter()
            .map(|e| match e {
                Edit::Delete(i) => Difference::OnlyInFirst(a_mid[i].clone()),
                Edit::Insert(j) => Difference::OnlyInSecond(b_mid[j].clone()),
            })
            .collect(),
    )
}

/// Each distinct text gets a small number, so the search compares integers.
fn intern<'a>(lines: &'a [LogLine], ids: &mut HashMap<&'a str, u32>) -> Vec<u32> {
    lines
        .iter()
        .map(|l| {
            let next = ids.len() as u32;
            *ids.entry(l.text.as_str()).or_insert(next)
        })
        .collect()
}

enum Edit {
    Delete(usize),
    Insert(usize),
}

/// Greedy forward search keeping, for each edit count d, the furthest x reached on each
/// diagonal k in -d..=d; then walking the trace backwards to recover the edits in order.
fn myers(a: &[u32], b: &[u32], max_edits: usize) -> Option<Vec<Edit>> {
    let (n, m) = (a.len() as isize, b.len() as isize);
    let max = (n + m) as usize;
    let limit = max.min(max_edits);
    let mut trace: Vec<Vec<isize>> = Vec::new();
    // v[k + d] for the current d; the previous row is in `trace`.
    let mut prev: Vec<isize> = vec![0];
    let mut found = None;
    for d in 0..=limit as isize {
        let mut v = vec![0isize; (2 * d + 1) as usize];
        let get = |row: &Vec<isize>, k: isize, dd: isize| -> isize { row[(k + dd) as usize] };
        for k in (-d..=d).step_by(2) {
            let mut x = if d == 0 {
                0
            } else if k == -d || (k != d && get(&prev, k - 1, d - 1) < get(&prev, k + 1, d - 1)) {
                get(&prev, k + 1, d - 1)
            } else {
                get(&prev, k - 1, d - 1) + 1
            };
            let mut y = x - k;
            while x < n && y < m && a[x as usize] == b[y as usize] {
                x += 1;
                y += 1;
            }
            v[(k + d) as usize] = x;
            if x >= n && y >= m {
                found = Some(d);
                break;
            }
        }
        trace.push(v.clone());
        prev = v;
        if found.is_some() {
            break;
        }
    }
    let d_end = found?;
    let mut edits = Vec::with_capacity(d_end as usize);
    let (mut x, mut y) = (n, m);
    for d in (1..=d_end).rev() {
        let row = &trace[(d - 1) as usize];
        let k = x - y;
        let at = |kk: isize| row[(kk + d - 1) as usize];
        let prev_k = if k == -d || (k != d && at(k - 1) < at(k + 1)) {
            k + 1
        } else {
            k - 1
        };
        let prev_x = at(prev_k);
        let prev_y = prev_x - prev_k;
        // Back along the diagonal run of equal lines, then over the one edit before it.
        while x > prev_x && y > prev_y {
            x -= 1;
            y -= 1;
        }
        if prev_k == k + 1 {
            edits.push(Edit::Insert(prev_y as usize));
        } else {
            edits.push(Edit::Delete(prev_x as usize));
        }
        x = prev_x;
        y = prev_y;
    }
    edits.reverse();
    Some(edits)
}

/// Not in Core: unordered comparison: the lines each log has more often than the other,
/// reported at their positions in their own log.
pub fn diff_unordered(a: &[LogLine], b: &[LogLine]) -> Vec<Difference> {
    let mut balance: HashMap<&str, isize> = HashMap::new();
    for l in a {
        *balance.entry(&l.text).or_default() += 1;
    }
    for l in b {
        *balance.entry(&l.text).or_default() -= 1;
    }
    let mut out = Vec::new();
    let mut surplus_a = balance.clone();
    for l in a {
        let s = surplus_a.get_mut(l.text.as_str()).expect("counted");
        if *s > 0 {
            *s -= 1;
            out.push(Difference::OnlyInFirst(l.clone()));
        }
    }
    let mut surplus_b = balance;
    for l in b {
        let s = surplus_b.get_mut(l.text.as_str()).expect("counted");
        if *s < 0 {
            *s += 1;
            out.push(Difference::OnlyInSecond(l.clone()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(v: &[&str]) -> Vec<LogLine> {
        v.iter()
            .enumerate()
            .map(|(i, t)| LogLine {
                number: i + 1,
                text: t.to_string(),
            })
            .collect()
    }

    fn apply(a: &[LogLine], b: &[LogLine], diffs: &[Difference]) -> (Vec<String>, Vec<String>) {
        let dels: Vec<usize> = diffs
            .iter()
            .filter_map(|d| match d {
                Difference::OnlyInFirst(l) => Some(l.number),
                _ => None,
            })
            .collect();
        let ins: Vec<usize> = diffs
            .iter()
            .filter_map(|d| match d {
                Difference::OnlyInSecond(l) => Some(l.number),
                _ => None,
            })
            .collect();
        let common_a = a
            .iter()
            .filter(|l| !dels.contains(&l.number))
            .map(|l| l.text.clone())
            .collect();
        let common_b = b
            .iter()
            .filter(|l| !ins.contains(&l.number))
            .map(|l| l.text.clone())
            .collect();
        (common_a, common_b)
    }

    #[test]
    fn normalise_bitcoind_line() {
        let n = Normaliser::new();
        assert_eq!(
            n.normalise("2026-11-24T19:13:43Z [net] receiving message bytes failed, disconnecting peer=0 peeraddr=127.0.0.1:47802"),
            "[net] receiving message bytes failed, disconnecting peer=N peeraddr=127.0.0.1:PORT"
        );
        assert_eq!(
            n.normalise("2026-11-24T19:13:42.123456Z [msghand] [net] Flushed 0 banned node addresses/subnets to disk  0ms"),
            "[net] Flushed 0 banned node addresses/subnets to disk  Nms"
        );
        assert_eq!(
            n.normalise("[net] receive version message: /Satoshi:29.99.0/: version 70016, blocks=0, us=[::1]:18444, txrelay=1, peer=12"),
            "[net] receive version message: /USERAGENT/: version 70016, blocks=0, us=[::1]:PORT, txrelay=1, peer=N"
        );
        // Byte counts and message types are what is being compared: untouched.
        assert_eq!(
            n.normalise("[net] received: verack (0 bytes) peer=3"),
            "[net] received: verack (0 bytes) peer=N"
        );
    }

    #[test]
    fn ordered_diff_is_minimal_and_consistent() {
        let a = lines(&["x", "a", "b", "c", "d", "e", "y"]);
        let b = lines(&["x", "a", "c", "d", "q", "e", "y"]);
        let d = diff_ordered(&a, &b, 1000).unwrap();
        assert_eq!(
            d,
            vec![
                Difference::OnlyInFirst(a[2].clone()),
                Difference::OnlyInSecond(b[4].clone())
            ]
        );
        let (ca, cb) = apply(&a, &b, &d);
        assert_eq!(ca, cb);
    }

    #[test]
    fn ordered_diff_random_sequences_leave_a_common_subsequence() {
        // A small deterministic generator; each pair's remaining lines must agree, and the
        // edit count must not exceed the trivial script (delete all, insert all).
        let mut s: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s
        };
        for _ in 0..300 {
            let la = (next() % 12) as usize;
            let lb = (next() % 12) as usize;
            let va: Vec<String> = (0..la).map(|_| format!("l{}", next() % 4)).collect();
            let vb: Vec<String> = (0..lb).map(|_| format!("l{}", next() % 4)).collect();
            let a = lines(&va.iter().map(|s| s.as_str()).collect::<Vec<_>>());
            let b = lines(&vb.iter().map(|s| s.as_str()).collect::<Vec<_>>());
            let d = diff_ordered(&a, &b, 1000).unwrap();
            let (ca, cb) = apply(&a, &b, &d);
            assert_eq!(ca, cb, "{va:?} {vb:?}");
            assert!(d.len() <= la + lb);
            // Minimal: d = la + lb - 2 * LCS.
            let lcs = lcs_len(&va, &vb);
            assert_eq!(d.len(), la + lb - 2 * lcs, "{va:?} {vb:?}");
        }
    }

    fn lcs_len(a: &[String], b: &[String]) -> usize {
        let mut t = vec![vec![0usize; b.len() + 1]; a.len() + 1];
        for i in 1..=a.len() {
            for j in 1..=b.len() {
                t[i][j] = if a[i - 1] == b[j - 1] {
                    t[i - 1][j - 1] + 1
                } else {
                    t[i - 1][j].max(t[i][j - 1])
                };
            }
        }
        t[a.len()][b.len()]
    }

    #[test]
    fn unordered_diff_counts_multiplicity() {
        let a = lines(&["p", "q", "q", "r"]);
        let b = lines(&["q", "r", "r", "p"]);
        let d = diff_unordered(&a, &b);
        assert_eq!(
            d,
            vec![
                Difference::OnlyInFirst(a[1].clone()),
                Difference::OnlyInSecond(b[1].clone())
            ]
        );
    }

    #[test]
    fn filter_by_category_and_ignore() {
        let f = Filter {
            ignore: vec!["Flushed".into()],
            categories: vec!["net".into()],
        };
        assert!(f.keeps("[net] received: ping (8 bytes) peer=N"));
        assert!(f.keeps("[net:debug] received: ping (8 bytes) peer=N"));
        assert!(!f.keeps("[addrman] Added 1 addresses"));
        assert!(!f.keeps("[net] Flushed 0 banned node addresses/subnets to disk  Nms"));
        assert!(!f.keeps("Bitcoin Core version v29"));
    }
}
