//! Simulated connections: what travels on them and how long it takes.
//!
//! A message leaves through its sender's uplink (one FIFO per node: serialisation at the node's
//! upload rate, so a large payload delays everything behind it), crosses the link's one-way
//! latency, then waits for the receiver's downlink (one FIFO per node at its download rate).
//! Per link, order is kept: both FIFOs and the latency are the same for every message of a link.

use std::collections::VecDeque;
use std::sync::Arc;

use net::NodeId;
use protocol::header::HEADER_SIZE;

/// A message on the wire, in the form the receiving shell hands to its peer manager.
#[derive(Clone, Debug)]
pub enum Wire {
    /// Any message but `logos`: its type and payload as protocol's codec encoded it.
    Control {
        /// The message type.
        m_type: &'static str,
        /// The encoded payload.
        payload: Arc<Vec<u8>>,
    },
    /// A `logos` payload: an index into the engine's table of frames (the payload shared by
    /// every copy in the network, its id and its header: no copy and no rehash per hop), and
    /// its size on the wire, header included.
    Logos {
        /// The frame.
        frame: u32,
        /// Header and payload bytes.
        bytes: u32,
    },
}

/// A `logos` payload as it travels: one per payload in the whole network.
#[derive(Clone, Debug)]
pub struct Frame {
    /// The payload.
    pub payload: Arc<Vec<u8>>,
    /// Its id (network hash).
    pub hash: [u8; 32],
    /// Its header.
    pub header: [u8; HEADER_SIZE],
}

impl Wire {
    /// Bytes on the wire: header and payload.
    pub fn wire_bytes(&self) -> u64 {
        match self {
            Wire::Control { payload, .. } => (payload.len() + HEADER_SIZE) as u64,
            Wire::Logos { bytes, .. } => u64::from(*bytes),
        }
    }

    /// Whether this is a `logos` payload.
    pub fn is_logos(&self) -> bool {
        matches!(self, Wire::Logos { .. })
    }
}

/// One end of a link: the node it belongs to and what it has queued for sending.
#[derive(Debug)]
pub struct LinkEnd {
    /// The node.
    pub node: u32,
    /// The id the node gave this connection.
    pub id: NodeId,
    /// Messages queued on the node's uplink towards the other end: (time the last byte leaves,
    /// bytes). The head is dropped once sent.
    queue: VecDeque<(i64, u32)>,
    /// Sum of the queued bytes (Core's `nSendSize`).
    queued: u64,
}

impl LinkEnd {
    /// An end with nothing queued.
    pub fn new(node: u32, id: NodeId) -> Self {
        LinkEnd {
            node,
            id,
            queue: VecDeque::new(),
            queued: 0,
        }
    }

    /// Bytes still queued at `now` (Core's send queue size, which sets `fPauseSend`).
    pub fn queued_bytes(&mut self, now: i64) -> u64 {
        while let Some(&(done, bytes)) = self.queue.front() {
            if done > now {
                break;
            }
            self.queue.pop_front();
            self.queued -= u64::from(bytes);
        }
        self.queued
    }

    /// Record `bytes` queued until `done`.
    pub fn push(&mut self, done: i64, bytes: u64) {
        self.queue.push_back((done, bytes as u32));
        self.queued += bytes;
    }
}

/// One connection: end 0 dialled, end 1 accepted.
#[derive(Debug)]
pub struct Link {
    /// The two ends.
    pub ends: [LinkEnd; 2],
    /// One-way latency, µs.
    pub latency: i64,
    /// Still open.
    pub open: bool,
}

/// A node's uplink or downlink: a FIFO at a fixed rate.
#[derive(Clone, Copy, Debug)]
pub struct Pipe {
    /// Bytes per second.
    pub bytes_per_sec: f64,
    /// When the last queued byte is through, µs.
    pub free_at: i64,
}

impl Pipe {
    /// A pipe of `bytes_per_sec`, idle.
    pub fn new(bytes_per_sec: f64) -> Self {
        Pipe {
            bytes_per_sec,
            free_at: 0,
        }
    }

    /// Put `bytes` through from `now`: returns when the last byte is through.
    pub fn push(&mut self, now: i64, bytes: u64) -> i64 {
        let start = self.free_at.max(now);
        let took = (bytes as f64 * 1e6 / self.bytes_per_sec).ceil() as i64;
        self.free_at = start + took;
        self.free_at
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pipe_serialises_in_order_and_queue_drains_with_time() {
        // 1 MB/s: 1,000 bytes take 1 ms.
        let mut p = Pipe::new(1_000_000.0);
        assert_eq!(p.push(0, 1000), 1000);
        assert_eq!(p.push(0, 1000), 2000);
        assert_eq!(p.push(5000, 500), 5500);
        let mut e = LinkEnd::new(0, 1);
        e.push(1000, 1000);
        e.push(2000, 1000);
        assert_eq!(e.queued_bytes(999), 2000);
        assert_eq!(e.queued_bytes(1000), 1000);
        assert_eq!(e.queued_bytes(2500), 0);
    }
}
