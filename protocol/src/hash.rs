//! The network hash: one [`NetHasher`] trait, chosen once per network through [`HashKind`].
//!
//! Core uses SHA256d (`Hash`, `HashWriter`) for the message checksum, addrman's bucket hashing,
//! and the peers.dat checksum. Bitcoin networks keep SHA256d so the node interoperates with
//! bitcoind; Logos networks use Blake2b-256 (Blake2b with a 32-byte output) in every one of those
//! places, and for the dedup id of a `logos` payload.

use std::io;

use blake2::digest::consts::U32;
use blake2::Blake2b;
use sha2::{Digest, Sha256};

/// Blake2b with a 32-byte output.
type Blake2b256 = Blake2b<U32>;

/// Which hash function a network uses wherever Core uses SHA256d.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub enum HashKind {
    /// SHA-256 applied twice (Core's `Hash` / `HashWriter`): Bitcoin networks.
    Sha256d,
    /// Blake2b with a 32-byte digest, applied once: Logos networks.
    Blake2b256,
}

/// An incremental hasher for the network hash. `Write` lets Encodable values be hashed directly
/// (Core's `HashWriter << obj`).
pub trait NetHasher: io::Write {
    /// Feeds bytes to the hash.
    fn input(&mut self, data: &[u8]);
    /// Returns the 32-byte digest.
    fn finalize(self) -> [u8; 32];
}

/// A hasher of either kind (what [`HashKind::hasher`] gives).
#[derive(Clone, Debug)]
pub enum AnyHasher {
    /// SHA256d state: the inner SHA-256; the second round is applied in `finalize`.
    Sha256d(Sha256),
    /// Blake2b-256 state.
    Blake2b256(Blake2b256),
}

impl NetHasher for AnyHasher {
    fn input(&mut self, data: &[u8]) {
        match self {
            AnyHasher::Sha256d(h) => h.update(data),
            AnyHasher::Blake2b256(h) => h.update(data),
        }
    }

    fn finalize(self) -> [u8; 32] {
        match self {
            AnyHasher::Sha256d(h) => {
                let first = h.finalize();
                Sha256::digest(first).into()
            }
            AnyHasher::Blake2b256(h) => h.finalize().into(),
        }
    }
}

impl io::Write for AnyHasher {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.input(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl HashKind {
    /// A fresh incremental hasher of this kind.
    pub fn hasher(self) -> AnyHasher {
        match self {
            HashKind::Sha256d => AnyHasher::Sha256d(Sha256::new()),
            HashKind::Blake2b256 => AnyHasher::Blake2b256(Blake2b256::new()),
        }
    }

    /// Port of Hash (hash.h) for one byte span, with this network's hash function.
    pub fn hash(self, data: &[u8]) -> [u8; 32] {
        let mut h = self.hasher();
        h.input(data);
        h.finalize()
    }

    /// The message checksum: the first 4 bytes of the network hash of the payload
    /// (V1Transport::SetMessageToSend / GetReceivedMessage, net.cpp).
    pub fn checksum(self, payload: &[u8]) -> [u8; 4] {
        checksum_from_hash(&self.hash(payload))
    }
}

/// The first 4 bytes of a network hash: the checksum a header carries for that payload.
pub fn checksum_from_hash(hash: &[u8; 32]) -> [u8; 4] {
    [hash[0], hash[1], hash[2], hash[3]]
}

/// Port of uint256::GetCheapHash (uint256.h): the first 8 bytes, little-endian.
pub fn cheap_hash(h: &[u8; 32]) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&h[..8]);
    u64::from_le_bytes(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn sha256d_known_values() {
        // SHA256d of the empty string; its first 4 bytes are the checksum of every empty payload
        // (e.g. verack "5df6e0e2" in vectors/bitcoind-regtest/inbound-session.json).
        assert_eq!(
            hex::encode(HashKind::Sha256d.hash(b"")),
            "5df6e0e2761359d30a8275058e299fcc0381534545f55cf43e41983f5d4c9456"
        );
        assert_eq!(hex::encode(HashKind::Sha256d.checksum(b"")), "5df6e0e2");
    }

    #[test]
    fn blake2b256_known_value_and_differs_from_sha256d() {
        assert_eq!(
            hex::encode(HashKind::Blake2b256.hash(b"")),
            "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8"
        );
        assert_eq!(hex::encode(HashKind::Blake2b256.checksum(b"")), "0e5751c0");
        assert_ne!(
            HashKind::Blake2b256.checksum(b""),
            HashKind::Sha256d.checksum(b"")
        );
        assert_ne!(
            HashKind::Blake2b256.checksum(b"abc"),
            HashKind::Sha256d.checksum(b"abc")
        );
    }

    #[test]
    fn incremental_equals_one_shot() {
        for kind in [HashKind::Sha256d, HashKind::Blake2b256] {
            let mut h = kind.hasher();
            h.write_all(b"hello ").unwrap();
            h.input(b"world");
            assert_eq!(h.finalize(), kind.hash(b"hello world"));
        }
    }

    #[test]
    fn cheap_hash_is_first_8_bytes_le() {
        let mut h = [0u8; 32];
        for (i, b) in h.iter_mut().enumerate() {
            *b = i as u8 + 1;
        }
        assert_eq!(cheap_hash(&h), 0x0807_0605_0403_0201);
    }
}
