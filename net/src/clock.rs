//! Mockable time source for the connection manager.
//!
//! Core reads `GetTime<std::chrono::microseconds>()` everywhere and tests call `SetMockTime`.
//! Here every thread of [`crate::connman::CConnman`] reads the time through one shared
//! [`Clock`]; tests hand in a [`MockClock`], move it forward, and wake the threads
//! (`CConnman::wake_threads`) so timeouts fire without sleeping for minutes.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// A time source in microseconds since the Unix epoch (Core's `GetTime<microseconds>`).
pub trait Clock: Send + Sync {
    /// Current time in microseconds since the epoch.
    fn now_micros(&self) -> i64;
    /// Current time in whole seconds since the epoch (Core's `GetTime<seconds>`).
    fn now_secs(&self) -> i64 {
        self.now_micros().div_euclid(1_000_000)
    }
}

/// The wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_micros(&self) -> i64 {
        match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_micros()).unwrap_or(i64::MAX),
            Err(_) => 0,
        }
    }
}

/// A clock that only moves when told to (Core's `SetMockTime`).
#[derive(Debug, Default)]
pub struct MockClock {
    micros: AtomicI64,
}

impl MockClock {
    /// Not in Core: A mock clock set to `secs` seconds since the epoch.
    pub fn new(secs: i64) -> Self {
        MockClock {
            micros: AtomicI64::new(secs.saturating_mul(1_000_000)),
        }
    }
    /// Not in Core: set the time, in seconds.
    pub fn set(&self, secs: i64) {
        self.micros
            .store(secs.saturating_mul(1_000_000), Ordering::SeqCst);
    }
    /// Not in Core: set the time, in microseconds.
    pub fn set_micros(&self, micros: i64) {
        self.micros.store(micros, Ordering::SeqCst);
    }
    /// Not in Core: move the time forward by `secs` seconds.
    pub fn advance(&self, secs: i64) {
        self.micros
            .fetch_add(secs.saturating_mul(1_000_000), Ordering::SeqCst);
    }
    /// Not in Core: move the time forward by `micros` microseconds.
    pub fn advance_micros(&self, micros: i64) {
        self.micros.fetch_add(micros, Ordering::SeqCst);
    }
}

impl Clock for MockClock {
    fn now_micros(&self) -> i64 {
        self.micros.load(Ordering::SeqCst)
    }
}

/// The same clock seen by addrman and banman (seconds), so one mock drives all of them.
impl addrman::clock::Clock for MockClock {
    fn now(&self) -> i64 {
        self.now_secs()
    }
}

impl addrman::clock::Clock for SystemClock {
    fn now(&self) -> i64 {
        self.now_secs()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mock_clock_moves_only_when_told() {
        let c = MockClock::new(1_795_503_770);
        assert_eq!(c.now_secs(), 1_795_503_770);
        c.advance(61);
        assert_eq!(c.now_secs(), 1_795_503_831);
        c.advance_micros(500_000);
        assert_eq!(c.now_micros(), 1_795_503_831_500_000);
        assert_eq!(c.now_secs(), 1_795_503_831);
    }

    #[test]
    fn system_clock_is_after_2020() {
        assert!(SystemClock.now_secs() > 1_577_836_800);
    }
}
