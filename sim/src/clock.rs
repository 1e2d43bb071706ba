//! The one virtual clock every simulated node reads (the peer managers get the time passed in;
//! the address and ban managers read it through their `Clock`).

use std::sync::atomic::{AtomicI64, Ordering};

/// Virtual time, microseconds since the Unix epoch.
#[derive(Debug, Default)]
pub struct SimClock {
    micros: AtomicI64,
}

impl SimClock {
    /// A clock at `micros`.
    pub fn new(micros: i64) -> Self {
        SimClock {
            micros: AtomicI64::new(micros),
        }
    }

    /// Now, µs.
    pub fn now(&self) -> i64 {
        self.micros.load(Ordering::Relaxed)
    }

    /// Move to `micros` (the event loop only moves it forward).
    pub fn set(&self, micros: i64) {
        self.micros.store(micros, Ordering::Relaxed);
    }
}

impl addrman::clock::Clock for SimClock {
    fn now(&self) -> i64 {
        self.now().div_euclid(1_000_000)
    }
}

impl net::clock::Clock for SimClock {
    fn now_micros(&self) -> i64 {
        self.now()
    }
}
