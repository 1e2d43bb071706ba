//! The network hash: one [`NetHasher`] trait, chosen once per network through [`HashKind`].
//!
//! Core uses SHA256d (`Hash`, `HashWriter`) for the message checksum, addrman's bucket hashing,
//! and the peers.dat checksum. Bitcoin networks keep SHA256d so the node interoperates with
//! bitcoind; Logos networks use Blake2b-256 (Blake2b with a 32-byte output) in every one of those
//! places, and for the dedup id of a `logos` payload.

use std::io;

use sha2::{Digest, Sha256};

/// Blake2b-256 parameters: Blake2b (RFC 7693) with a 32-byte digest, no key, salt or
/// personalisation. `blake2b_simd` picks AVX2 / SSE4.1 / portable code at run time; the digest
/// is the same on every path.
fn blake2b256_params() -> blake2b_simd::Params {
    let mut p = blake2b_simd::Params::new();
    p.hash_length(32);
    p
}

/// Blake2b-256 of one byte span.
fn blake2b256(data: &[u8]) -> [u8; 32] {
    let h = blake2b256_params().hash(data);
    let mut out = [0u8; 32];
    out.copy_from_slice(h.as_bytes());
    out
}

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
    Blake2b256(blake2b_simd::State),
}

impl NetHasher for AnyHasher {
    fn input(&mut self, data: &[u8]) {
        match self {
            AnyHasher::Sha256d(h) => h.update(data),
            AnyHasher::Blake2b256(h) => {
                h.update(data);
            }
        }
    }

    fn finalize(self) -> [u8; 32] {
        match self {
            AnyHasher::Sha256d(h) => {
                let first = h.finalize();
                Sha256::digest(first).into()
            }
            AnyHasher::Blake2b256(h) => {
                let mut out = [0u8; 32];
                out.copy_from_slice(h.finalize().as_bytes());
                out
            }
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
            HashKind::Blake2b256 => AnyHasher::Blake2b256(blake2b256_params().to_state()),
        }
    }

    /// Port of Hash (hash.h) for one byte span, with this network's hash function.
    pub fn hash(self, data: &[u8]) -> [u8; 32] {
        match self {
            // One-shot Blake2b skips the incremental state's buffering.
            HashKind::Blake2b256 => blake2b256(data),
            HashKind::Sha256d => {
                let mut h = self.hasher();
                h.input(data);
                h.finalize()
            }
        }
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

    /// Blake2b-256 vectors computed with an independent implementation (Python's
    /// `hashlib.blake2b(data, digest_size=32)`) over `data[i] = (7 i + 3) mod 256`, at the block
    /// boundaries (128 bytes) and up to 1 MiB; the previous `blake2` crate gave the same digests.
    #[test]
    fn blake2b256_matches_reference_digests() {
        let pattern = |n: usize| -> Vec<u8> { (0..n).map(|i| (i * 7 + 3) as u8).collect() };
        let cases: [(usize, &str); 12] = [
            (
                0,
                "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8",
            ),
            (
                1,
                "e88bd757ad5b9bedf372d8d3f0cf6c962a469db61a265f6418e1ffed86da29ec",
            ),
            (
                3,
                "9facd640130c81e7f318a8d5c660bc1b0f5d03861ffbd4cc1358e0e904593c28",
            ),
            (
                64,
                "586c0dd87616ec042093edc5f87f880d37ca73618e99b03d5850ce9be478721f",
            ),
            (
                127,
                "c9ae3859964b35f04c54b36d33cf299d7290ee621005d28e51598a943560aaaa",
            ),
            (
                128,
                "f0501d06597880592bc49234eef100ec1ff349058d0e9d9b753504e24af86dd6",
            ),
            (
                129,
                "a34a4e1e03c541dfbf3099c4b6c143c022ced65c28bd7e8a10e0a098461aecf0",
            ),
            (
                255,
                "f2d64a40e9412a3414161ff6250075225418fd7c271c1123e162e1bca0de9f93",
            ),
            (
                256,
                "d93ebb9c802f5630ab22516fd82b6c21bc8bd551d531349b715f046ed11ed871",
            ),
            (
                1000,
                "d62b6c768ce1afc8367e0498ab2f8e3f7c178c35b1429f14c4604b545d200f52",
            ),
            (
                4096,
                "3b7dcca5dcb409b9ee1d33ac58a03966d5e86581278891945e3d2fd80e3aad58",
            ),
            (
                1 << 20,
                "65c804268df52a2d78034f9a50113d0c5d9a5e592ea3735012ebc798f3271a6b",
            ),
        ];
        for (n, want) in cases {
            let data = pattern(n);
            assert_eq!(
                hex::encode(HashKind::Blake2b256.hash(&data)),
                want,
                "len {n}"
            );
            // The incremental path, fed in uneven pieces, gives the same digest.
            let mut h = HashKind::Blake2b256.hasher();
            for piece in data.chunks(77) {
                h.input(piece);
            }
            assert_eq!(hex::encode(h.finalize()), want, "incremental len {n}");
        }
        assert_eq!(
            hex::encode(HashKind::Blake2b256.hash(b"abc")),
            "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319"
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
