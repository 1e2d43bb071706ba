//! `difflog`: compare bitcoind's debug.log with ours after normalising what differs between
//! any two runs (timestamps, peer ids, ports, durations, user agents).
//!
//! ```text
//! difflog [--unordered] [--category net]... [--ignore TEXT]... BITCOIND_LOG OUR_LOG
//! ```
//! Prints `-` for lines only bitcoind logged and `+` for lines only we logged, each with its
//! line number in its own file. Exit status: 0 same, 1 different, 2 usage or read error.

use std::process::ExitCode;

use bitcoin_compat_tests::difflog::{
    diff_ordered, diff_unordered, prepare, Difference, Filter, Normaliser,
};

const USAGE: &str =
    "usage: difflog [--unordered] [--category CAT]... [--ignore TEXT]... FIRST_LOG SECOND_LOG
  --unordered      compare as multisets of lines (thread interleaving may differ)
  --category CAT   keep only lines of this log category, e.g. net or addrman (repeatable)
  --ignore TEXT    drop lines containing TEXT after normalising (repeatable)
  --max-edits N    give up the ordered diff beyond N differing lines (default 20000)";

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let mut filter = Filter::default();
    let mut unordered = false;
    let mut max_edits = 20_000usize;
    let mut files = Vec::new();
    while let Some(a) = args.next() {
        let mut value = |name: &str| match args.next() {
            Some(v) => Ok(v),
            None => Err(format!("difflog: {name} needs a value\n{USAGE}")),
        };
        let r = match a.as_str() {
            "--unordered" => {
                unordered = true;
                Ok(())
            }
            "--category" => value("--category").map(|v| filter.categories.push(v)),
            "--ignore" => value("--ignore").map(|v| filter.ignore.push(v)),
            "--max-edits" => value("--max-edits").and_then(|v| {
                v.parse()
                    .map(|n| max_edits = n)
                    .map_err(|_| format!("difflog: --max-edits wants a number, got {v:?}"))
            }),
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            s if s.starts_with("--") => Err(format!("difflog: unknown option {s}\n{USAGE}")),
            _ => {
                files.push(a);
                Ok(())
            }
        };
        if let Err(e) = r {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    }
    if files.len() != 2 {
        eprintln!(
            "difflog: expected two log files, got {}\n{USAGE}",
            files.len()
        );
        return ExitCode::from(2);
    }
    let mut texts = Vec::new();
    for f in &files {
        match std::fs::read(f) {
            Ok(b) => texts.push(String::from_utf8_lossy(&b).into_owned()),
            Err(e) => {
                eprintln!("difflog: cannot read {f}: {e}");
                return ExitCode::from(2);
            }
        }
    }
    let n = Normaliser::new();
    let a = prepare(&texts[0], &n, &filter);
    let b = prepare(&texts[1], &n, &filter);
    let diffs = if unordered {
        diff_unordered(&a, &b)
    } else {
        match diff_ordered(&a, &b, max_edits) {
            Some(d) => d,
            None => {
                eprintln!(
                    "difflog: more than {max_edits} differing lines; comparing unordered instead"
                );
                diff_unordered(&a, &b)
            }
        }
    };
    println!("--- {}", files[0]);
    println!("+++ {}", files[1]);
    let (mut only_a, mut only_b) = (0, 0);
    for d in &diffs {
        match d {
            Difference::OnlyInFirst(l) => {
                only_a += 1;
                println!("-{:>6}: {}", l.number, l.text);
            }
            Difference::OnlyInSecond(l) => {
                only_b += 1;
                println!("+{:>6}: {}", l.number, l.text);
            }
        }
    }
    println!(
        "{} lines compared in the first, {} in the second; {only_a} only in the first, {only_b} only in the second",
        a.len(),
        b.len()
    );
    if diffs.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
