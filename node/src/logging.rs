//! The node's log: a port of Bitcoin Core's `BCLog::Logger` (`logging.{h,cpp}`) behind the
//! `log` crate facade, so every crate of the workspace logs through `log::info!` / `log::debug!`
//! and the lines come out as bitcoind writes them:
//!
//! ```text
//! 2026-11-24T19:30:00Z Bound to 127.0.0.1:18444
//! 2026-11-24T19:30:01Z [net] received: verack (0 bytes) peer=0
//! 2026-11-24T19:30:02Z [warning] Config file: /x (is directory, not file)
//! ```
//!
//! Mapping from the `log` crate:
//! - the record's target picks the debug category: a target equal to a category name (`"net"`,
//!   `"addrman"`, …) or whose first path segment is one (`net::connman` → `net`,
//!   `addrman::store` → `addrman`); `netbase::…` and `protocol::…` count as `net`;
//! - `Info` is unconditional and has no prefix; `Warn` and `Error` are unconditional with
//!   `[warning]` / `[error]`; `Debug` and `Trace` are written only when their category is enabled
//!   (`-debug=net`, `-debug=1`) and carry `[net]` / `[net:trace]` (trace needs `-loglevel=trace`).
//!
//! Lines logged before [`Logger::start_logging`] are buffered (up to 1 MB, as Core) and written
//! once the file is open, so the parameter-interaction lines logged early still reach debug.log.

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU8, Ordering};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

/// Default name of the log file, in the network data directory.
pub const DEFAULT_DEBUGLOGFILE: &str = "debug.log";
/// `-logips` default.
pub const DEFAULT_LOGIPS: bool = false;
/// `-logtimestamps` default.
pub const DEFAULT_LOGTIMESTAMPS: bool = true;
/// `-logtimemicros` default.
pub const DEFAULT_LOGTIMEMICROS: bool = false;
/// Bytes of log lines kept before the log file is opened (Core's DEFAULT_MAX_LOG_BUFFER).
pub const DEFAULT_MAX_LOG_BUFFER: usize = 1_000_000;

/// Debug categories (Core's `BCLog::LogFlags`), as a bit mask.
pub type CategoryMask = u32;

/// No category.
pub const NONE: CategoryMask = 0;
/// Every category.
pub const ALL: CategoryMask = !0;

/// Core's category names and bits. Only `net`, `addrman`, `rpc`, `http`, `proxy`, `i2p` and
/// `tor` are used by this node; the others are accepted so a bitcoind `debug=` line is valid.
pub const LOG_CATEGORIES: [(&str, CategoryMask); 28] = [
    ("addrman", 1 << 9),
    ("bench", 1 << 4),
    ("blockstorage", 1 << 25),
    ("cmpctblock", 1 << 12),
    ("coindb", 1 << 18),
    ("estimatefee", 1 << 8),
    ("http", 1 << 3),
    ("i2p", 1 << 22),
    ("ipc", 1 << 23),
    ("leveldb", 1 << 20),
    ("libevent", 1 << 17),
    ("mempool", 1 << 2),
    ("mempoolrej", 1 << 16),
    ("net", 1),
    ("proxy", 1 << 15),
    ("prune", 1 << 14),
    ("qt", 1 << 19),
    ("rand", 1 << 13),
    ("reindex", 1 << 11),
    ("rpc", 1 << 7),
    ("scan", 1 << 27),
    ("selectcoins", 1 << 10),
    ("tor", 1 << 1),
    ("txpackages", 1 << 28),
    ("txreconciliation", 1 << 26),
    ("validation", 1 << 21),
    ("walletdb", 1 << 6),
    ("zmq", 1 << 5),
];

/// Severity (Core's `BCLog::Level`), lowest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub enum Level {
    /// Detailed debugging.
    Trace = 0,
    /// Debugging (the default threshold for enabled categories).
    Debug = 1,
    /// Always written.
    Info = 2,
    /// Always written, `[warning]`.
    Warning = 3,
    /// Always written, `[error]`.
    Error = 4,
}

impl Level {
    fn from_u8(v: u8) -> Level {
        match v {
            0 => Level::Trace,
            1 => Level::Debug,
            2 => Level::Info,
            3 => Level::Warning,
            _ => Level::Error,
        }
    }

    fn from_log(level: log::Level) -> Level {
        match level {
            log::Level::Error => Level::Error,
            log::Level::Warn => Level::Warning,
            log::Level::Info => Level::Info,
            log::Level::Debug => Level::Debug,
            log::Level::Trace => Level::Trace,
        }
    }
}

/// Port of BCLog::Logger::LogLevelToStr (logging.cpp).
pub fn log_level_to_str(level: Level) -> &'static str {
    match level {
        Level::Trace => "trace",
        Level::Debug => "debug",
        Level::Info => "info",
        Level::Warning => "warning",
        Level::Error => "error",
    }
}

/// Port of GetLogLevel (logging.cpp).
pub fn get_log_level(s: &str) -> Option<Level> {
    match s {
        "trace" => Some(Level::Trace),
        "debug" => Some(Level::Debug),
        "info" => Some(Level::Info),
        "warning" => Some(Level::Warning),
        "error" => Some(Level::Error),
        _ => None,
    }
}

/// Port of GetLogCategory (logging.cpp): empty, `1` and `all` mean every category.
pub fn get_log_category(s: &str) -> Option<CategoryMask> {
    if s.is_empty() || s == "1" || s == "all" {
        return Some(ALL);
    }
    LOG_CATEGORIES
        .iter()
        .find(|(name, _)| *name == s)
        .map(|(_, f)| *f)
}

/// Port of LogCategoryToStr (logging.cpp).
fn log_category_to_str(category: CategoryMask) -> &'static str {
    if category == ALL {
        return "all";
    }
    LOG_CATEGORIES
        .iter()
        .find(|(_, f)| *f == category)
        .map(|(n, _)| *n)
        .unwrap_or("all")
}

/// Port of BCLog::Logger::LogCategoriesString (logging.h): the names `-debug` accepts.
pub fn log_categories_string() -> String {
    LOG_CATEGORIES
        .iter()
        .map(|(n, _)| *n)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Not in Core: the category a `log` record belongs to, from its target (see the module
/// documentation).
/// `None` for records from other crates' modules with no category.
pub fn category_for_target(target: &str) -> Option<CategoryMask> {
    if let Some(c) = LOG_CATEGORIES.iter().find(|(n, _)| *n == target) {
        return Some(c.1);
    }
    let first = target.split("::").next().unwrap_or(target);
    match first {
        "net" | "netbase" | "protocol" => Some(1),
        "addrman" => Some(1 << 9),
        _ => None,
    }
}

fn is_own_crate(target: &str) -> bool {
    matches!(
        target.split("::").next().unwrap_or(target),
        "node" | "logos_p2pd" | "net" | "netbase" | "protocol" | "addrman"
    )
}

/// Port of FormatISO8601DateTime (util/time.cpp): `YYYY-MM-DDTHH:MM:SSZ` for Unix seconds.
pub fn format_iso8601_datetime(unix_secs: i64) -> String {
    let days = unix_secs.div_euclid(86_400);
    let secs_of_day = unix_secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        y,
        m,
        d,
        secs_of_day / 3600,
        (secs_of_day % 3600) / 60,
        secs_of_day % 60
    )
}

/// Not in Core (Core relies on C++20 `<chrono>`): the proleptic Gregorian date of a day number
/// counted from 1970-01-01 (the "days to civil" algorithm: 400-year eras of 146097 days, years
/// starting in March).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11], March = 0
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32; // [1, 31]
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32; // [1, 12]
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Port of BCLog::LogEscapeMessage (logging.cpp): control characters other than newline are
/// written as `\xNN` so a peer cannot put terminal codes into the log.
pub fn log_escape_message(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let v = c as u32;
        if (v >= 32 || c == '\n') && v != 0x7f {
            out.push(c);
        } else {
            out.push_str(&format!("\\x{v:02x}"));
        }
    }
    out
}

/// Whether IP addresses may appear in debug output (`-logips`, Core's global `fLogIPs`).
static LOG_IPS: AtomicBool = AtomicBool::new(DEFAULT_LOGIPS);

/// Port of the global fLogIPs (logging.h): the current `-logips` value.
pub fn log_ips() -> bool {
    LOG_IPS.load(Ordering::Relaxed)
}

/// Port of the assignment of fLogIPs in init::SetLoggingOptions (init/common.cpp).
pub fn set_log_ips(v: bool) {
    LOG_IPS.store(v, Ordering::Relaxed);
}

struct BufferedLog {
    now: SystemTime,
    text: String,
    category: CategoryMask,
    level: Level,
}

type Callback = Box<dyn Fn(&str) + Send + Sync>;

struct Inner {
    buffering: bool,
    print_to_console: bool,
    print_to_file: bool,
    file_path: Option<PathBuf>,
    fileout: Option<File>,
    msgs_before_open: VecDeque<BufferedLog>,
    cur_buffer_memusage: usize,
    buffer_lines_discarded: usize,
    callbacks: Vec<(u64, Callback)>,
    next_callback_id: u64,
}

/// Port of BCLog::Logger (logging.h): destinations, timestamps, enabled categories.
pub struct Logger {
    inner: Mutex<Inner>,
    categories: AtomicU32,
    log_level: AtomicU8,
    log_timestamps: AtomicBool,
    log_time_micros: AtomicBool,
}

static LOGGER: Logger = Logger {
    inner: Mutex::new(Inner {
        buffering: true,
        print_to_console: false,
        print_to_file: false,
        file_path: None,
        fileout: None,
        msgs_before_open: VecDeque::new(),
        cur_buffer_memusage: 0,
        buffer_lines_discarded: 0,
        callbacks: Vec::new(),
        next_callback_id: 0,
    }),
    categories: AtomicU32::new(NONE),
    log_level: AtomicU8::new(Level::Debug as u8),
    log_timestamps: AtomicBool::new(DEFAULT_LOGTIMESTAMPS),
    log_time_micros: AtomicBool::new(DEFAULT_LOGTIMEMICROS),
};

/// Port of LogInstance (logging.cpp): the process-wide logger. The first call installs it as
/// the `log` crate's logger.
pub fn log_instance() -> &'static Logger {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        if log::set_logger(&LOGGER).is_ok() {
            log::set_max_level(log::LevelFilter::Trace);
        }
    });
    &LOGGER
}

/// Identifies a callback given to [`Logger::push_back_callback`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CallbackId(u64);

impl Logger {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Port of BCLog::Logger::m_print_to_console (logging.h): write lines to stdout too
    /// (`-printtoconsole`).
    pub fn set_print_to_console(&self, v: bool) {
        self.lock().print_to_console = v;
    }

    /// Port of BCLog::Logger::m_file_path / m_print_to_file (logging.h): write lines to `path`
    /// (`-debuglogfile`); `None` disables the file (`-nodebuglogfile`).
    pub fn set_file_path(&self, path: Option<PathBuf>) {
        let mut g = self.lock();
        g.print_to_file = path.is_some();
        g.file_path = path;
    }

    /// Port of BCLog::Logger::m_file_path (logging.h): the log file, if any.
    pub fn file_path(&self) -> Option<PathBuf> {
        self.lock().file_path.clone()
    }

    /// Port of BCLog::Logger::m_log_timestamps (logging.h): `-logtimestamps`.
    pub fn set_log_timestamps(&self, v: bool) {
        self.log_timestamps.store(v, Ordering::Relaxed);
    }

    /// Port of BCLog::Logger::m_log_time_micros (logging.h): `-logtimemicros`.
    pub fn set_log_time_micros(&self, v: bool) {
        self.log_time_micros.store(v, Ordering::Relaxed);
    }

    /// Port of BCLog::Logger::SetLogLevel (logging.cpp): threshold for enabled categories;
    /// only `info`, `debug` and `trace` can be chosen.
    pub fn set_log_level(&self, s: &str) -> bool {
        match get_log_level(s) {
            Some(l) if l <= Level::Info => {
                self.log_level.store(l as u8, Ordering::Relaxed);
                true
            }
            _ => false,
        }
    }

    /// Port of BCLog::Logger::LogLevel (logging.h): the threshold for enabled categories.
    pub fn log_level(&self) -> Level {
        Level::from_u8(self.log_level.load(Ordering::Relaxed))
    }

    /// Port of BCLog::Logger::EnableCategory (logging.cpp), the string overload.
    pub fn enable_category(&self, s: &str) -> bool {
        match get_log_category(s) {
            Some(f) => {
                self.categories.fetch_or(f, Ordering::Relaxed);
                true
            }
            None => false,
        }
    }

    /// Port of BCLog::Logger::DisableCategory (logging.cpp), the string overload.
    pub fn disable_category(&self, s: &str) -> bool {
        match get_log_category(s) {
            Some(f) => {
                self.categories.fetch_and(!f, Ordering::Relaxed);
                true
            }
            None => false,
        }
    }

    /// Not in Core: disables every category (tests; Core's test setup resets `m_categories`).
    pub fn clear_categories(&self) {
        self.categories.store(NONE, Ordering::Relaxed);
    }

    /// Port of BCLog::Logger::GetCategoryMask (logging.h): the enabled categories.
    pub fn categories(&self) -> CategoryMask {
        self.categories.load(Ordering::Relaxed)
    }

    /// Port of BCLog::Logger::WillLogCategory (logging.cpp).
    pub fn will_log_category(&self, category: CategoryMask) -> bool {
        self.categories() & category != 0
    }

    /// Port of BCLog::Logger::WillLogCategoryLevel (logging.cpp): info and above always;
    /// below only for an enabled category at or above the threshold.
    pub fn will_log_category_level(&self, category: CategoryMask, level: Level) -> bool {
        if level >= Level::Info {
            return true;
        }
        self.will_log_category(category) && level >= self.log_level()
    }

    /// Port of BCLog::Logger::LogTimestampStr (logging.cpp).
    pub fn log_timestamp_str(&self, now: SystemTime) -> String {
        if !self.log_timestamps.load(Ordering::Relaxed) {
            return String::new();
        }
        let d = now.duration_since(UNIX_EPOCH).unwrap_or_default();
        let mut s = format_iso8601_datetime(d.as_secs() as i64);
        if self.log_time_micros.load(Ordering::Relaxed) {
            s.pop();
            s.push_str(&format!(".{:06}Z", d.subsec_micros()));
        }
        s.push(' ');
        s
    }

    /// Port of BCLog::Logger::GetLogPrefix (logging.cpp): nothing for uncategorised info,
    /// `[net]` for a category at debug level, `[net:trace]`, `[warning]`, `[error]`.
    pub fn get_log_prefix(category: CategoryMask, level: Level) -> String {
        let category = if category == NONE { ALL } else { category };
        let has_category = category != ALL;
        if !has_category && level == Level::Info {
            return String::new();
        }
        let mut s = String::from("[");
        if has_category {
            s.push_str(log_category_to_str(category));
        }
        if !has_category || level != Level::Debug {
            if has_category {
                s.push(':');
            }
            s.push_str(log_level_to_str(level));
        }
        s.push_str("] ");
        s
    }

    /// Port of BCLog::Logger::FormatLogStrInPlace (logging.cpp).
    fn format_log_str(
        &self,
        text: &str,
        category: CategoryMask,
        level: Level,
        now: SystemTime,
    ) -> String {
        let mut s = self.log_timestamp_str(now);
        s.push_str(&Self::get_log_prefix(category, level));
        s.push_str(text);
        if !s.ends_with('\n') {
            s.push('\n');
        }
        s
    }

    /// Port of BCLog::Logger::LogPrintStr (logging.cpp): formats and writes one line, or keeps
    /// it until [`Self::start_logging`].
    pub fn log_print_str(&self, text: &str, category: CategoryMask, level: Level) {
        let escaped = log_escape_message(text);
        let now = SystemTime::now();
        let mut g = self.lock();
        if g.buffering {
            g.cur_buffer_memusage += escaped.len() + 64;
            g.msgs_before_open.push_back(BufferedLog {
                now,
                text: escaped,
                category,
                level,
            });
            while g.cur_buffer_memusage > DEFAULT_MAX_LOG_BUFFER {
                match g.msgs_before_open.pop_front() {
                    Some(old) => {
                        g.cur_buffer_memusage -= old.text.len() + 64;
                        g.buffer_lines_discarded += 1;
                    }
                    None => {
                        g.cur_buffer_memusage = 0;
                        break;
                    }
                }
            }
            return;
        }
        let line = self.format_log_str(&escaped, category, level, now);
        Self::write_line(&mut g, &line);
    }

    fn write_line(g: &mut Inner, line: &str) {
        if g.print_to_console {
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(line.as_bytes());
            let _ = out.flush();
        }
        for (_, cb) in &g.callbacks {
            cb(line);
        }
        if g.print_to_file {
            if let Some(f) = g.fileout.as_mut() {
                let _ = f.write_all(line.as_bytes());
            }
        }
    }

    /// Port of BCLog::Logger::StartLogging (logging.cpp): opens the log file for appending
    /// (five empty lines mark a new run) and writes the lines buffered so far.
    pub fn start_logging(&self) -> Result<(), String> {
        let mut g = self.lock();
        if g.print_to_file {
            let path = g
                .file_path
                .clone()
                .ok_or_else(|| "no log file path".to_string())?;
            let mut f = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .map_err(|_| format!("Could not open debug log file {}", path.display()))?;
            let _ = f.write_all(b"\n\n\n\n\n");
            g.fileout = Some(f);
        }
        g.buffering = false;
        if g.buffer_lines_discarded > 0 {
            let text = format!(
                "Early logging buffer overflowed, {} log lines discarded.",
                g.buffer_lines_discarded
            );
            let line = self.format_log_str(&text, ALL, Level::Info, SystemTime::now());
            Self::write_line(&mut g, &line);
        }
        let msgs: Vec<BufferedLog> = g.msgs_before_open.drain(..).collect();
        for m in msgs {
            let line = self.format_log_str(&m.text, m.category, m.level, m.now);
            Self::write_line(&mut g, &line);
        }
        g.cur_buffer_memusage = 0;
        g.buffer_lines_discarded = 0;
        Ok(())
    }

    /// Port of BCLog::Logger::DisconnectTestLogger (logging.cpp): closes the file, drops the
    /// callbacks, and buffers again.
    pub fn disconnect_test_logger(&self) {
        let mut g = self.lock();
        g.buffering = true;
        g.fileout = None;
        g.callbacks.clear();
        g.msgs_before_open.clear();
        g.cur_buffer_memusage = 0;
        g.buffer_lines_discarded = 0;
    }

    /// Port of BCLog::Logger::PushBackCallback (logging.h): `f` receives every formatted line.
    pub fn push_back_callback<F: Fn(&str) + Send + Sync + 'static>(&self, f: F) -> CallbackId {
        let mut g = self.lock();
        let id = g.next_callback_id;
        g.next_callback_id += 1;
        g.callbacks.push((id, Box::new(f)));
        CallbackId(id)
    }

    /// Port of BCLog::Logger::DeleteCallback (logging.h).
    pub fn delete_callback(&self, id: CallbackId) {
        self.lock().callbacks.retain(|(i, _)| *i != id.0);
    }

    /// Not in Core: whether lines are still being buffered (before [`Self::start_logging`];
    /// Core's `m_buffering`).
    pub fn is_buffering(&self) -> bool {
        self.lock().buffering
    }

    /// Not in Core: flushes the log file (Core writes it unbuffered).
    pub fn flush(&self) {
        if let Some(f) = self.lock().fileout.as_mut() {
            let _ = f.flush();
        }
    }

    fn record_category_level(&self, metadata: &log::Metadata<'_>) -> Option<(CategoryMask, Level)> {
        let level = Level::from_log(metadata.level());
        let target = metadata.target();
        match category_for_target(target) {
            Some(c) => Some((c, level)),
            None if level >= Level::Info => Some((ALL, level)),
            // Debug lines without a category: only ours, and only with -debug=1.
            None if is_own_crate(target) && self.categories() == ALL => Some((ALL, level)),
            None => None,
        }
    }
}

impl log::Log for Logger {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        match self.record_category_level(metadata) {
            Some((c, l)) => self.will_log_category_level(c, l),
            None => false,
        }
    }

    fn log(&self, record: &log::Record<'_>) {
        let Some((category, level)) = self.record_category_level(record.metadata()) else {
            return;
        };
        if !self.will_log_category_level(category, level) {
            return;
        }
        //DMITRY: info/warning/error records carry no category prefix even when their target names one; Core: logging.cpp::BCLog::Logger::GetLogPrefix ("[net:info]" for LogPrintLevel(NET, Info)); changed: Core's unconditional
        // LogInfo/LogWarning/LogError have no category, and `log::info!(target: "net", ..)` is
        // their equivalent here.
        let category = if level >= Level::Info && category != ALL {
            // Info/warning/error lines are unconditional; Core writes them without a category
            // (LogInfo, LogWarning, LogError).
            ALL
        } else {
            category
        };
        self.log_print_str(&record.args().to_string(), category, level);
    }

    fn flush(&self) {
        Logger::flush(self);
    }
}

/// Port of the logging part of init::SetLoggingOptions (init/common.cpp) for a known datadir:
/// file (unless `log_file` is `None`), console, timestamps.
pub fn set_logging_options(
    log_file: Option<&Path>,
    print_to_console: bool,
    log_timestamps: bool,
    log_time_micros: bool,
    logips: bool,
) {
    let l = log_instance();
    l.set_file_path(log_file.map(Path::to_path_buf));
    l.set_print_to_console(print_to_console);
    l.set_log_timestamps(log_timestamps);
    l.set_log_time_micros(log_time_micros);
    set_log_ips(logips);
}

/// Port of init::SetLoggingCategories (init/common.cpp): applies `-debug` (values before the
/// last `0`/`none` are disregarded) then `-debugexclude`.
pub fn set_logging_categories(debug: &[String], debugexclude: &[String]) -> Result<(), String> {
    let l = log_instance();
    let start = debug
        .iter()
        .rposition(|c| c == "0" || c == "none")
        .map(|i| i + 1)
        .unwrap_or(0);
    for cat in &debug[start..] {
        if !l.enable_category(cat) {
            return Err(format!("Unsupported logging category -debug={cat}."));
        }
    }
    for cat in debugexclude {
        if !l.disable_category(cat) {
            return Err(format!("Unsupported logging category -debugexclude={cat}."));
        }
    }
    Ok(())
}

/// Port of init::SetLoggingLevel (init/common.cpp), the global form `-loglevel=<level>` only
/// (no per-category levels).
pub fn set_logging_level(levels: &[String]) -> Result<(), String> {
    let l = log_instance();
    for s in levels {
        if !l.set_log_level(s) {
            return Err(format!(
                "Unsupported global logging level -loglevel={s}. Valid values: info, debug, trace."
            ));
        }
    }
    Ok(())
}
