//! A small periodic-task scheduler (the part of Core's `CScheduler` the P2P layer uses:
//! `scheduleEvery`, e.g. `DumpAddresses` every `DUMP_PEERS_INTERVAL`).
//!
//! Times are read from the shared [`Clock`], so tests move a mock clock past a task's time
//! and it runs on the next check (at most [`SCHEDULER_POLL`] of real time later).

use std::sync::Arc;
use std::time::Duration;

use parking_lot::{Condvar, Mutex};

use crate::clock::Clock;

/// How often the scheduler thread re-reads the clock.
pub const SCHEDULER_POLL: Duration = Duration::from_millis(100);

type Task = Box<dyn Fn() + Send + Sync>;

struct Entry {
    next_micros: i64,
    interval_micros: i64,
    task: Task,
}

/// Periodic tasks run by the "scheduler" thread.
pub struct CScheduler {
    clock: Arc<dyn Clock>,
    tasks: Mutex<Vec<Entry>>,
    stop: Mutex<bool>,
    cv: Condvar,
}

impl CScheduler {
    /// Not in Core: an empty scheduler reading time from `clock`.
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        CScheduler {
            clock,
            tasks: Mutex::new(Vec::new()),
            stop: Mutex::new(false),
            cv: Condvar::new(),
        }
    }

    /// Port of CScheduler::scheduleEvery (scheduler.cpp): run `f` every `interval`, first after
    /// one interval.
    pub fn schedule_every(&self, interval: Duration, f: impl Fn() + Send + Sync + 'static) {
        let interval_micros = i64::try_from(interval.as_micros())
            .unwrap_or(i64::MAX)
            .max(1);
        self.tasks.lock().push(Entry {
            next_micros: self.clock.now_micros().saturating_add(interval_micros),
            interval_micros,
            task: Box::new(f),
        });
        self.cv.notify_all();
    }

    /// Not in Core: number of scheduled tasks.
    pub fn len(&self) -> usize {
        self.tasks.lock().len()
    }

    /// Not in Core: whether no task is scheduled.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Not in Core: run every task whose time has come (one pass). Returns how many ran.
    pub fn run_due(&self) -> usize {
        let now = self.clock.now_micros();
        let mut ran = 0;
        let mut tasks = self.tasks.lock();
        for e in tasks.iter_mut() {
            if e.next_micros <= now {
                (e.task)();
                e.next_micros = now.saturating_add(e.interval_micros);
                ran += 1;
            }
        }
        ran
    }

    /// Port of CScheduler::serviceQueue (scheduler.cpp): the body of the "scheduler" thread.
    pub fn service_queue(&self) {
        loop {
            {
                let mut stop = self.stop.lock();
                if *stop {
                    return;
                }
                let _ = self.cv.wait_for(&mut stop, SCHEDULER_POLL);
                if *stop {
                    return;
                }
            }
            self.run_due();
        }
    }

    /// Port of CScheduler::stop (scheduler.h).
    pub fn stop(&self) {
        *self.stop.lock() = true;
        self.cv.notify_all();
    }

    /// Not in Core: wake the thread so it re-reads the clock now.
    pub fn wake(&self) {
        self.cv.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::MockClock;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn runs_on_mock_time() {
        let clock = Arc::new(MockClock::new(1000));
        let s = CScheduler::new(clock.clone());
        let n = Arc::new(AtomicUsize::new(0));
        let n2 = n.clone();
        s.schedule_every(Duration::from_secs(900), move || {
            n2.fetch_add(1, Ordering::SeqCst);
        });
        assert_eq!(s.run_due(), 0);
        clock.advance(899);
        assert_eq!(s.run_due(), 0);
        clock.advance(1);
        assert_eq!(s.run_due(), 1);
        assert_eq!(s.run_due(), 0);
        clock.advance(900);
        assert_eq!(s.run_due(), 1);
        assert_eq!(n.load(Ordering::SeqCst), 2);
    }
}
