//! Time source for the address manager.
//!
//! Core reads `Now<NodeSeconds>()` / `NodeClock::now()` inside addrman (honouring `SetMockTime` in
//! tests). Here every read goes through the [`Clock`] trait so that logic can be driven in virtual
//! time: [`SystemClock`] for a running node, [`MockClock`] for tests, fuzzing and benches.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

/// A source of "node time" in whole seconds since the UNIX epoch (Core's `NodeSeconds`).
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// Current time in seconds since the epoch.
    fn now(&self) -> i64;
}

/// Wall-clock time (Core's `NodeClock` without mock time).
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> i64 {
        match std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
            Ok(d) => d.as_secs() as i64,
            Err(e) => -(e.duration().as_secs() as i64),
        }
    }
}

/// A settable clock (Core's `SetMockTime`), shareable between the test and the address manager.
#[derive(Debug, Default)]
pub struct MockClock {
    now: AtomicI64,
}

impl MockClock {
    /// Not in Core: A mock clock standing at `now` seconds.
    pub fn new(now: i64) -> Self {
        MockClock {
            now: AtomicI64::new(now),
        }
    }

    /// Not in Core: A mock clock standing at `now`, already wrapped for sharing.
    pub fn shared(now: i64) -> Arc<Self> {
        Arc::new(Self::new(now))
    }

    /// Not in Core: set the current time.
    pub fn set(&self, now: i64) {
        self.now.store(now, Ordering::SeqCst);
    }

    /// Not in Core: move the clock forward (or backward, with a negative `secs`).
    pub fn advance(&self, secs: i64) {
        self.now.fetch_add(secs, Ordering::SeqCst);
    }
}

impl Clock for MockClock {
    fn now(&self) -> i64 {
        self.now.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mock_clock_set_and_advance() {
        let c = MockClock::shared(1_000);
        let as_dyn: Arc<dyn Clock> = c.clone();
        assert_eq!(as_dyn.now(), 1_000);
        c.advance(61);
        assert_eq!(as_dyn.now(), 1_061);
        c.set(5);
        assert_eq!(as_dyn.now(), 5);
        c.advance(-10);
        assert_eq!(as_dyn.now(), -5);
    }

    #[test]
    fn system_clock_is_after_2020() {
        assert!(SystemClock.now() > 1_577_836_800);
    }
}
