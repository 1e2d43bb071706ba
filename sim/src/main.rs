//! `logos-sim`: see `logos-sim --help` and the README's "Simulator" section.

use std::io::Write as _;
use std::process::ExitCode;

use sim::cli::{self, Command};
use sim::engine::Progress;

/// A one-line progress bar on stderr, redrawn in place.
fn progress_bar(p: Progress) {
    let share = if p.end_secs > 0.0 {
        (p.t_secs / p.end_secs).clamp(0.0, 1.0)
    } else {
        1.0
    };
    let filled = (share * 40.0) as usize;
    let mut err = std::io::stderr().lock();
    let _ = write!(
        err,
        "\r[{}{}] {:5.1}%  virtual {:.0}/{:.0} s  {} events",
        "#".repeat(filled),
        " ".repeat(40 - filled),
        share * 100.0,
        p.t_secs,
        p.end_secs,
        p.events
    );
    let _ = err.flush();
}

fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let cfg = match cli::parse(&args) {
        Ok(Command::Run(cfg)) => cfg,
        Ok(Command::Compare(cfg)) => {
            return match sim::run_relay_comparison(&cfg, &mut progress_bar) {
                Ok(s) => {
                    eprintln!();
                    println!("{}", serde_json::to_string_pretty(&s).unwrap_or_default());
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("\nlogos-sim: {e}");
                    ExitCode::FAILURE
                }
            };
        }
        Ok(Command::Help) => {
            print!("{}", cli::USAGE);
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("logos-sim: {e}");
            return ExitCode::from(2);
        }
    };
    match sim::run_to_dir(&cfg, &mut progress_bar) {
        Ok(summary) => {
            eprintln!();
            println!(
                "{}",
                serde_json::to_string_pretty(&summary).unwrap_or_default()
            );
            eprintln!("logos-sim: wrote {}", cfg.out.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("\nlogos-sim: {e}");
            ExitCode::FAILURE
        }
    }
}
