//! Port of `TimeOffsets` (node/timeoffsets.{h,cpp}): the clock offsets our outbound peers
//! announced in their `version`, their median (`getnetworkinfo`'s `timeoffset`) and the
//! warning when our clock looks more than 10 minutes off.
//!
//! Only outbound peers are sampled (Core's rule: an attacker can open inbound connections at
//! will, so inbound samples would let it raise false warnings). The samples are only shown to
//! the user; nothing in the node adjusts its clock from them.

use std::collections::VecDeque;

/// Port of TimeOffsets::MAX_SIZE: most samples kept (the oldest is dropped first).
pub const MAX_SIZE: usize = 50;
/// Port of TimeOffsets::WARN_THRESHOLD: a median offset beyond this many seconds warns.
pub const WARN_THRESHOLD: i64 = 10 * 60;
/// Fewest samples for a median (Core returns 0 below this).
const MIN_SAMPLES: usize = 5;

/// Port of `TimeOffsets` (node/timeoffsets.h).
#[derive(Clone, Debug, Default)]
pub struct TimeOffsets {
    m_offsets: VecDeque<i64>,
    /// Whether the out-of-sync warning is raised now (Core's `Warning::CLOCK_OUT_OF_SYNC`).
    warned: bool,
}

impl TimeOffsets {
    /// Not in Core: no samples.
    pub fn new() -> Self {
        Self::default()
    }

    /// Port of TimeOffsets::Add (node/timeoffsets.cpp): one sample, in seconds (positive: the
    /// peer's clock is ahead of ours).
    pub fn add(&mut self, offset: i64) {
        if self.m_offsets.len() >= MAX_SIZE {
            self.m_offsets.pop_front();
        }
        self.m_offsets.push_back(offset);
        log::debug!(target: "net", "Added time offset {:+}s, total samples {}", offset, self.m_offsets.len());
    }

    /// Port of TimeOffsets::Median (node/timeoffsets.cpp): the (upper) median of the samples,
    /// 0 with fewer than 5.
    pub fn median(&self) -> i64 {
        if self.m_offsets.len() < MIN_SAMPLES {
            return 0;
        }
        let mut sorted: Vec<i64> = self.m_offsets.iter().copied().collect();
        sorted.sort_unstable();
        sorted[sorted.len() / 2]
    }

    /// Port of TimeOffsets::WarnIfOutOfSync (node/timeoffsets.cpp): logs Core's warning when
    /// the median is more than [`WARN_THRESHOLD`] away from zero; returns whether it warned.
    pub fn warn_if_out_of_sync(&mut self) -> bool {
        let median = self.median().max(i64::MIN + 1);
        if median.abs() <= WARN_THRESHOLD {
            self.warned = false;
            return false;
        }
        log::warn!(
            "Your computer's date and time appear to be more than {} minutes out of sync with the network, \
             this may lead to consensus failure. After you've confirmed your computer's clock, this message \
             should no longer appear when you restart your node. Without a restart, it should stop showing \
             automatically after you've connected to a sufficient number of new outbound peers, which may \
             take some time. You can inspect the `timeoffset` field of the `getpeerinfo` and `getnetworkinfo` \
             RPC methods to get more info.",
            WARN_THRESHOLD / 60
        );
        self.warned = true;
        true
    }

    /// Not in Core: whether the out-of-sync warning is raised (Core's warnings list).
    pub fn is_out_of_sync(&self) -> bool {
        self.warned
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Mirrors timeoffsets_tests.cpp: no median below 5 samples, then the upper median, the
    /// oldest sample dropped past MAX_SIZE.
    #[test]
    fn timeoffsets_median_and_bound() {
        let mut t = TimeOffsets::new();
        for i in 0..4 {
            t.add(100 + i);
            assert_eq!(t.median(), 0);
        }
        t.add(-5);
        // Sorted: -5, 100, 101, 102, 103 -> index 2.
        assert_eq!(t.median(), 101);
        let mut t = TimeOffsets::new();
        for _ in 0..MAX_SIZE {
            t.add(-1000);
        }
        for _ in 0..(MAX_SIZE / 2 + 1) {
            t.add(7);
        }
        // Half the window plus one sample is 7 now.
        assert_eq!(t.median(), 7);
        assert_eq!(t.m_offsets.len(), MAX_SIZE);
    }

    /// Mirrors timeoffsets_tests.cpp's warning cases: within 10 minutes no warning, beyond it a
    /// warning, cleared once the median comes back.
    #[test]
    fn timeoffsets_warning() {
        let mut t = TimeOffsets::new();
        for _ in 0..5 {
            t.add(WARN_THRESHOLD);
        }
        assert!(!t.warn_if_out_of_sync());
        let mut t = TimeOffsets::new();
        for _ in 0..5 {
            t.add(-WARN_THRESHOLD - 1);
        }
        assert!(t.warn_if_out_of_sync());
        assert!(t.is_out_of_sync());
        for _ in 0..MAX_SIZE {
            t.add(0);
        }
        assert!(!t.warn_if_out_of_sync());
        assert!(!t.is_out_of_sync());
    }
}
