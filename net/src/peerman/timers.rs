//! When each peer next needs `SendMessages` (quinn-proto's timer table): Core's message handler
//! calls `SendMessages` for every peer on every pass, at least every 100 ms; here a peer is
//! visited when a message of it was processed or when its earliest deadline (ping, address
//! trickle, address-fetch timeout, catch-up) comes, and the handler sleeps until the earliest
//! deadline of all. The decisions are the same: each of them compares the time with a stored
//! deadline, so nothing happens between deadlines.

use std::collections::BTreeSet;

use crate::eviction::NodeId;

/// Deadlines (µs) of the peers that have one, earliest first.
#[derive(Debug, Default)]
pub(crate) struct Timers {
    queue: BTreeSet<(i64, NodeId)>,
}

impl Timers {
    /// File `id` for `at`, replacing its previous deadline `old` (`None`: none, or cancel).
    pub(crate) fn set(&mut self, id: NodeId, old: Option<i64>, at: Option<i64>) {
        if old == at {
            return;
        }
        if let Some(o) = old {
            self.queue.remove(&(o, id));
        }
        if let Some(t) = at {
            self.queue.insert((t, id));
        }
    }

    /// The earliest deadline, if any.
    pub(crate) fn next(&self) -> Option<i64> {
        self.queue.first().map(|(t, _)| *t)
    }

    /// Remove and return the peers whose deadline is at or before `now`.
    pub(crate) fn take_due(&mut self, now: i64, out: &mut Vec<NodeId>) {
        while let Some(&(t, id)) = self.queue.first() {
            if t > now {
                break;
            }
            self.queue.pop_first();
            out.push(id);
        }
    }

    /// Number of filed deadlines.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.queue.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_in_order_and_replaced() {
        let mut t = Timers::default();
        t.set(1, None, Some(50));
        t.set(2, None, Some(10));
        t.set(3, None, Some(30));
        t.set(3, Some(30), Some(70));
        assert_eq!(t.next(), Some(10));
        let mut due = Vec::new();
        t.take_due(50, &mut due);
        assert_eq!(due, vec![2, 1]);
        assert_eq!(t.len(), 1);
        t.set(3, Some(70), None);
        assert_eq!(t.next(), None);
    }
}
