//! Tests of the log format (port of Core's logging.cpp behaviour, cf. logging_tests.cpp):
//! timestamps, category prefixes, escaping, `-debug` / `-debugexclude` handling, and that lines
//! logged through the `log` crate come out as bitcoind writes them.
#![allow(non_snake_case)]

use std::sync::{Arc, Mutex, MutexGuard};

use node::logging::{self, Level, Logger, ALL};

#[test]
fn format_iso8601_datetime() {
    // Mirrors util_tests.cpp: util_FormatISO8601DateTime
    assert_eq!(
        logging::format_iso8601_datetime(1317425777),
        "2011-09-30T23:36:17Z"
    );
    assert_eq!(logging::format_iso8601_datetime(0), "1970-01-01T00:00:00Z");
    assert_eq!(
        logging::format_iso8601_datetime(951782400),
        "2000-02-29T00:00:00Z"
    );
    assert_eq!(
        logging::format_iso8601_datetime(1795548600),
        "2026-11-24T19:30:00Z"
    );
    assert_eq!(
        logging::format_iso8601_datetime(4102444799),
        "2099-12-31T23:59:59Z"
    );
    assert_eq!(logging::format_iso8601_datetime(-1), "1969-12-31T23:59:59Z");
}

/// Every day from 1970 to 2100 follows the previous one (no gaps, valid month lengths).
#[test]
fn civil_from_days_is_continuous() {
    let mut prev = logging::civil_from_days(-1);
    assert_eq!(prev, (1969, 12, 31));
    for day in 0..(131 * 366) {
        let cur = logging::civil_from_days(day);
        let (y, m, d) = prev;
        let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
        let len = [
            31,
            if leap { 29 } else { 28 },
            31,
            30,
            31,
            30,
            31,
            31,
            30,
            31,
            30,
            31,
        ][(m - 1) as usize];
        let expect = if d < len {
            (y, m, d + 1)
        } else if m < 12 {
            (y, m + 1, 1)
        } else {
            (y + 1, 1, 1)
        };
        assert_eq!(cur, expect, "day {day}");
        prev = cur;
    }
}

/// Mirrors logging_tests.cpp: logging_LogPrintStr prefixes (GetLogPrefix).
#[test]
fn logging_tests__log_prefix() {
    let net = logging::get_log_category("net").unwrap();
    let addrman = logging::get_log_category("addrman").unwrap();
    assert_eq!(Logger::get_log_prefix(ALL, Level::Info), "");
    assert_eq!(Logger::get_log_prefix(0, Level::Info), "");
    assert_eq!(Logger::get_log_prefix(ALL, Level::Warning), "[warning] ");
    assert_eq!(Logger::get_log_prefix(ALL, Level::Error), "[error] ");
    assert_eq!(Logger::get_log_prefix(ALL, Level::Debug), "[debug] ");
    assert_eq!(Logger::get_log_prefix(net, Level::Debug), "[net] ");
    assert_eq!(Logger::get_log_prefix(addrman, Level::Debug), "[addrman] ");
    assert_eq!(Logger::get_log_prefix(net, Level::Trace), "[net:trace] ");
    assert_eq!(Logger::get_log_prefix(net, Level::Info), "[net:info] ");
}

#[test]
fn log_escape_message() {
    assert_eq!(
        logging::log_escape_message("a\x01b\nc\x7f"),
        "a\\x01b\nc\\x7f"
    );
    assert_eq!(logging::log_escape_message("plain"), "plain");
}

#[test]
fn categories_from_targets() {
    let net = logging::get_log_category("net").unwrap();
    let addrman = logging::get_log_category("addrman").unwrap();
    assert_eq!(logging::category_for_target("net"), Some(net));
    assert_eq!(logging::category_for_target("net::connman"), Some(net));
    assert_eq!(logging::category_for_target("addrman"), Some(addrman));
    assert_eq!(
        logging::category_for_target("addrman::store"),
        Some(addrman)
    );
    assert_eq!(logging::category_for_target("mio::poll"), None);
    assert_eq!(logging::get_log_category("1"), Some(ALL));
    assert_eq!(logging::get_log_category("all"), Some(ALL));
    assert_eq!(logging::get_log_category(""), Some(ALL));
    assert_eq!(logging::get_log_category("nope"), None);
}

/// The logger is process-wide: tests that log take this lock.
static LOGGER_TEST: Mutex<()> = Mutex::new(());

fn lock_logger() -> MutexGuard<'static, ()> {
    LOGGER_TEST.lock().unwrap_or_else(|e| e.into_inner())
}

/// Runs `f` with the logger started, no timestamps, and returns the lines it wrote.
fn capture(f: impl FnOnce()) -> Vec<String> {
    let logger = logging::log_instance();
    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let sink = Arc::clone(&lines);
    let id = logger.push_back_callback(move |s| sink.lock().unwrap().push(s.to_string()));
    if logger.is_buffering() {
        logger.start_logging().unwrap();
    }
    logger.set_log_timestamps(false);
    f();
    logger.set_log_timestamps(true);
    logger.delete_callback(id);
    let got = lines.lock().unwrap().clone();
    got.into_iter()
        .map(|l| l.trim_end_matches('\n').to_string())
        .collect()
}

/// Mirrors logging_tests.cpp: logging_LogPrintStr (without source locations, which this port
/// does not write).
#[test]
fn logging_tests__logging_LogPrintStr() {
    let _g = lock_logger();
    let net = logging::get_log_category("net").unwrap();
    let logger = logging::log_instance();
    let lines = capture(|| {
        logger.log_print_str("foo1: bar1", net, Level::Debug);
        logger.log_print_str("foo2: bar2", net, Level::Info);
        logger.log_print_str("foo3: bar3", ALL, Level::Debug);
        logger.log_print_str("foo4: bar4", ALL, Level::Info);
        logger.log_print_str("foo5: bar5", logging::NONE, Level::Debug);
        logger.log_print_str("foo6: bar6", logging::NONE, Level::Info);
    });
    assert_eq!(
        lines,
        vec![
            "[net] foo1: bar1",
            "[net:info] foo2: bar2",
            "[debug] foo3: bar3",
            "foo4: bar4",
            "[debug] foo5: bar5",
            "foo6: bar6",
        ]
    );
}

/// Mirrors logging_tests.cpp: logging_LogPrintMacros, with the `log` crate's macros in place
/// of LogTrace / LogDebug / LogInfo / LogWarning / LogError.
#[test]
fn logging_tests__logging_LogPrintMacros() {
    let _g = lock_logger();
    let logger = logging::log_instance();
    logger.clear_categories();
    logger.enable_category("net");
    let lines = capture(|| {
        log::trace!(target: "net", "foo6: {}", "bar6"); // not logged
        log::debug!(target: "net", "foo7: {}", "bar7");
        log::info!("foo8: {}", "bar8");
        log::warn!("foo9: {}", "bar9");
        log::error!("foo10: {}", "bar10");
    });
    logger.clear_categories();
    assert_eq!(
        lines,
        vec![
            "[net] foo7: bar7",
            "foo8: bar8",
            "[warning] foo9: bar9",
            "[error] foo10: bar10",
        ]
    );
}

/// Mirrors logging_tests.cpp: logging_LogPrintMacros_CategoryName: every category name, as a
/// `log` target, gives its `[name]` prefix.
#[test]
fn logging_tests__logging_LogPrintMacros_CategoryName() {
    let _g = lock_logger();
    let logger = logging::log_instance();
    logger.enable_category("all");
    let names: Vec<String> = logging::log_categories_string()
        .split(',')
        .map(|n| n.trim().to_string())
        .collect();
    let lines = capture(|| {
        for name in &names {
            assert!(logging::get_log_category(name).is_some());
            log::debug!(target: name.as_str(), "foo: {}", "bar");
        }
    });
    logger.clear_categories();
    let expected: Vec<String> = names.iter().map(|n| format!("[{n}] foo: bar")).collect();
    assert_eq!(lines, expected);
}

/// The whole path: `log` macros → formatted lines, with -debug=net semantics.
#[test]
fn log_crate_lines_match_bitcoind_format() {
    let _g = lock_logger();
    let logger = logging::log_instance();
    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let sink = Arc::clone(&lines);
    let id = logger.push_back_callback(move |s| sink.lock().unwrap().push(s.to_string()));
    logger.set_log_timestamps(true);
    if logger.is_buffering() {
        logger.start_logging().unwrap();
    }
    logger.clear_categories();

    log::debug!(target: "net", "received: verack (0 bytes) peer=0");
    log::info!("Bound to 127.0.0.1:18444");
    log::warn!("something odd");
    log::debug!(target: "mio::poll", "noise");
    logging::set_logging_categories(&["net".to_string()], &[]).unwrap();
    log::debug!(target: "net", "received: verack (0 bytes) peer=0");
    log::debug!(target: "addrman", "not enabled");
    log::trace!(target: "net", "trace is below the default level");
    log::debug!(target: "net::connman", "from a module path");

    logging::set_logging_categories(&["1".to_string()], &["net".to_string()]).unwrap();
    log::debug!(target: "addrman", "all but net");
    log::debug!(target: "net", "excluded");
    assert_eq!(
        logging::set_logging_categories(&["bogus".to_string()], &[]).unwrap_err(),
        "Unsupported logging category -debug=bogus."
    );
    // -debug=net -debug=0: categories before the last 0/none are ignored.
    logger.clear_categories();
    logging::set_logging_categories(&["net".to_string(), "0".to_string()], &[]).unwrap();
    log::debug!(target: "net", "after -debug=0");

    logger.set_log_timestamps(false);
    log::info!("no timestamp");
    logger.set_log_timestamps(true);
    logger.delete_callback(id);
    logger.clear_categories();

    let got = lines.lock().unwrap().clone();
    let strip = |l: &str| -> String {
        // "YYYY-MM-DDTHH:MM:SSZ " is 21 bytes
        assert_eq!(&l[4..5], "-", "{l}");
        assert_eq!(&l[10..11], "T", "{l}");
        assert_eq!(&l[19..21], "Z ", "{l}");
        l[21..].to_string()
    };
    let n = got.len();
    assert_eq!(n, 6, "{got:?}");
    let body: Vec<String> = got[..n - 1].iter().map(|l| strip(l)).collect();
    assert_eq!(
        body,
        vec![
            "Bound to 127.0.0.1:18444\n",
            "[warning] something odd\n",
            "[net] received: verack (0 bytes) peer=0\n",
            "[net] from a module path\n",
            "[addrman] all but net\n",
        ]
    );
    assert_eq!(got[n - 1], "no timestamp\n");
}
