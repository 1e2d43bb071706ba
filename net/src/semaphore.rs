//! Counting semaphore and grant (Core's `std::counting_semaphore` + `CountingSemaphoreGrant`,
//! sync.h), used to bound outbound and manual connections.

use std::sync::Arc;
use std::time::Duration;

use parking_lot::{Condvar, Mutex};

/// A counting semaphore.
#[derive(Debug)]
pub struct CountingSemaphore {
    count: Mutex<i64>,
    cv: Condvar,
}

impl CountingSemaphore {
    /// Port of CSemaphore::CSemaphore (semaphore.h): A semaphore holding `n` slots.
    pub fn new(n: i64) -> Arc<Self> {
        Arc::new(CountingSemaphore {
            count: Mutex::new(n),
            cv: Condvar::new(),
        })
    }

    /// Port of CSemaphoreGrant::TryAcquire (semaphore.h): take a slot without waiting; `None` if none is free.
    pub fn try_acquire(self: &Arc<Self>) -> Option<SemaphoreGrant> {
        let mut c = self.count.lock();
        if *c > 0 {
            *c -= 1;
            Some(SemaphoreGrant { sem: self.clone() })
        } else {
            None
        }
    }

    /// Port of CSemaphore::wait (semaphore.h), bounded: take a slot, waiting at most `timeout`.
    pub fn acquire_timeout(self: &Arc<Self>, timeout: Duration) -> Option<SemaphoreGrant> {
        let mut c = self.count.lock();
        if *c <= 0 {
            let _ = self.cv.wait_for(&mut c, timeout);
        }
        if *c > 0 {
            *c -= 1;
            Some(SemaphoreGrant { sem: self.clone() })
        } else {
            None
        }
    }

    /// Port of CSemaphore::post (semaphore.h): return a slot (also used by `Interrupt` to wake waiters).
    pub fn release(&self) {
        *self.count.lock() += 1;
        self.cv.notify_one();
    }

    /// Not in Core: free slots right now.
    pub fn available(&self) -> i64 {
        *self.count.lock()
    }
}

/// A slot taken from a [`CountingSemaphore`], returned when dropped.
#[derive(Debug)]
pub struct SemaphoreGrant {
    sem: Arc<CountingSemaphore>,
}

impl Drop for SemaphoreGrant {
    fn drop(&mut self) {
        self.sem.release();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grants_are_bounded_and_returned() {
        let s = CountingSemaphore::new(2);
        let a = s.try_acquire();
        let b = s.try_acquire();
        assert!(a.is_some() && b.is_some());
        assert!(s.try_acquire().is_none());
        drop(a);
        assert!(s.try_acquire().is_some());
        assert!(s.acquire_timeout(Duration::from_millis(10)).is_some());
        assert_eq!(s.available(), 1);
        drop(b);
    }
}
