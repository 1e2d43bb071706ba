//! What `/proc` says about a process (Linux): CPU time and `status` fields. Shared by the
//! hostile-load suite (`hostile_common`) and the idle-connections bench.

/// Linux reports `/proc/<pid>/stat` times in USER_HZ ticks, 100 per second.
const USER_HZ: f64 = 100.0;

/// User + system CPU time of process `pid`, all its threads, in seconds.
pub fn cpu_secs(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // After the command name (which may hold spaces): utime is field 14, stime 15.
    let f: Vec<&str> = stat[stat.rfind(')')? + 1..].split_whitespace().collect();
    let utime: u64 = f.get(11)?.parse().ok()?;
    let stime: u64 = f.get(12)?.parse().ok()?;
    Some((utime + stime) as f64 / USER_HZ)
}

/// A `Key:  value kB` field of `/proc/<pid>/status` (VmRSS, VmHWM, Threads), as a number.
pub fn status_kib(pid: u32, key: &str) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
}
