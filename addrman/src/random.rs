//! Port of the parts of Core's `FastRandomContext` / `RandomMixin` (random.h, random.cpp) that
//! addrman uses, bit for bit.
//!
//! Core's `FastRandomContext` is a ChaCha20 keystream (RFC 8439 block function, 96-bit nonce of
//! zero, block counter from zero) read 8 bytes at a time as little-endian `u64`s. With a zero
//! nonce and fewer than 2^32 blocks this is the same keystream as `rand_chacha::ChaCha20Rng`
//! (64-bit counter, stream 0) seeded with the same 32-byte key, and `next_u64` reads the
//! keystream in the same order, so outputs are identical. Deterministic mode
//! (`FastRandomContext(true)`) uses the all-zero key.
//!
//! On top of `rand64`, `RandomMixin` keeps a 64-bit buffer of unused bits for `randbits` and
//! draws `randrange` by rejection sampling over `randbits(bit_width(range - 1))`; both are
//! reproduced exactly, so the order in which bits are consumed matches Core's.

use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};

/// Port of `FastRandomContext` (random.h) with the `RandomMixin` helpers addrman needs.
#[derive(Clone, Debug)]
pub struct FastRandomContext {
    rng: ChaCha20Rng,
    /// Unused keystream bytes of the current 64-byte block (Core's `ChaCha20::m_buffer`).
    block: [u8; 64],
    /// Read position in `block`; 64 = empty.
    block_pos: usize,
    bitbuf: u64,
    bitbuf_size: u32,
}

impl FastRandomContext {
    /// Port of FastRandomContext::FastRandomContext(bool) (random.cpp).
    ///
    /// `deterministic = true` keys ChaCha20 with the all-zero key, as Core does. Otherwise the
    /// key comes from [`entropy_seed`] (Core would use `GetRandHash()`).
    pub fn new(deterministic: bool) -> Self {
        if deterministic {
            Self::from_seed([0u8; 32])
        } else {
            Self::from_seed(entropy_seed())
        }
    }

    /// Port of FastRandomContext::FastRandomContext(const uint256&) (random.cpp): explicit key.
    pub fn from_seed(seed: [u8; 32]) -> Self {
        FastRandomContext {
            rng: ChaCha20Rng::from_seed(seed),
            block: [0u8; 64],
            block_pos: 64,
            bitbuf: 0,
            bitbuf_size: 0,
        }
    }

    /// Port of FastRandomContext::Reseed (random.cpp): new key, bit buffer flushed.
    pub fn reseed(&mut self, seed: [u8; 32]) {
        *self = Self::from_seed(seed);
    }

    /// Port of ChaCha20::Keystream (crypto/chacha20.cpp): the next `out.len()` keystream
    /// bytes, continuing inside the current block like Core's buffered keystream.
    pub fn keystream(&mut self, mut out: &mut [u8]) {
        while !out.is_empty() {
            if self.block_pos == 64 {
                // whole 16-word blocks keep rand_chacha's word stream aligned with ours
                self.rng.fill_bytes(&mut self.block);
                self.block_pos = 0;
            }
            let n = out.len().min(64 - self.block_pos);
            out[..n].copy_from_slice(&self.block[self.block_pos..self.block_pos + n]);
            self.block_pos += n;
            out = &mut out[n..];
        }
    }

    /// Port of FastRandomContext::rand64 (random.h): next 8 keystream bytes, little-endian.
    #[inline]
    pub fn rand64(&mut self) -> u64 {
        if self.block_pos <= 56 {
            let mut b = [0u8; 8];
            b.copy_from_slice(&self.block[self.block_pos..self.block_pos + 8]);
            self.block_pos += 8;
            return u64::from_le_bytes(b);
        }
        let mut b = [0u8; 8];
        self.keystream(&mut b);
        u64::from_le_bytes(b)
    }

    /// Port of RandomMixin::randbits (random.h): a `bits`-bit integer (0 <= bits <= 64),
    /// served from the bit buffer when it holds enough bits.
    #[inline]
    pub fn randbits(&mut self, bits: u32) -> u64 {
        debug_assert!(bits <= 64);
        if bits == 64 {
            return self.rand64();
        }
        let ret;
        if bits <= self.bitbuf_size {
            ret = self.bitbuf;
            self.bitbuf >>= bits;
            self.bitbuf_size -= bits;
        } else {
            let gen = self.rand64();
            ret = (gen << self.bitbuf_size) | self.bitbuf;
            self.bitbuf = gen >> (bits - self.bitbuf_size);
            self.bitbuf_size = 64 + self.bitbuf_size - bits;
        }
        ret & ((1u64 << bits) - 1)
    }

    /// Port of RandomMixin::randrange (random.h): uniform in `[0, range)`, `range > 0`, by
    /// rejection sampling over `randbits(bit_width(range - 1))`.
    #[inline]
    pub fn randrange(&mut self, range: u64) -> u64 {
        debug_assert!(range > 0);
        let maxval = range.wrapping_sub(1);
        let bits = 64 - maxval.leading_zeros();
        loop {
            let ret = self.randbits(bits);
            if ret <= maxval {
                return ret;
            }
        }
    }

    /// Port of RandomMixin::randbool (random.h).
    #[inline]
    pub fn randbool(&mut self) -> bool {
        self.randbits(1) != 0
    }

    /// Port of RandomMixin::rand32 (random.h).
    #[inline]
    pub fn rand32(&mut self) -> u32 {
        self.randbits(32) as u32
    }

    /// Port of FastRandomContext::fillrand (random.cpp): raw keystream bytes, bypassing the bit
    /// buffer.
    pub fn fillrand(&mut self, out: &mut [u8]) {
        self.keystream(out);
    }

    /// Port of RandomMixin::randbytes (random.h).
    pub fn randbytes(&mut self, len: usize) -> Vec<u8> {
        let mut v = vec![0u8; len];
        self.fillrand(&mut v);
        v
    }

    /// Port of RandomMixin::rand256 (random.h): 32 keystream bytes (`uint256` byte order).
    pub fn rand256(&mut self) -> [u8; 32] {
        let mut ret = [0u8; 32];
        self.fillrand(&mut ret);
        ret
    }
}

/// Not in Core: 32 bytes of seed material from the operating system, for non-deterministic contexts.
///
/// Core seeds `FastRandomContext` from its global RNG (`GetRandHash`). This crate has no global
/// RNG; the standard library's `RandomState` is keyed from the OS random source once per thread
/// (128 bits), and is combined here with the address of a stack variable and a process-wide
/// counter so that successive calls differ. Callers needing a reproducible run pass a seed
/// explicitly instead (`AddrMan::new_with_seed`).
pub fn entropy_seed() -> [u8; 32] {
    use std::collections::hash_map::RandomState;
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let marker = 0u8;
    let stack_addr = &marker as *const u8 as usize as u64;
    let mut seed = [0u8; 32];
    for (i, chunk) in seed.chunks_mut(8).enumerate() {
        let mut h = RandomState::new().build_hasher();
        h.write_u64(n);
        h.write_u64(i as u64);
        h.write_u64(stack_addr);
        chunk.copy_from_slice(&h.finish().to_le_bytes());
    }
    seed
}

#[cfg(test)]
#[allow(non_snake_case)]
mod tests {
    use super::*;

    /// RFC 8439 / Core's ChaCha20 test vector: all-zero key, zero nonce, first keystream bytes
    /// 76 b8 e0 ad a0 f1 3d 90.
    #[test]
    fn zero_key_keystream_matches_rfc8439() {
        let mut ctx = FastRandomContext::new(true);
        assert_eq!(ctx.rand64(), 0x903d_f1a0_ade0_b876);
    }

    /// Mirrors random_tests.cpp: fastrandom_tests_deterministic (the `ctx{true}` block with
    /// `rand_uniform_delay`, which is `time + randrange(range)` / `time - randrange(-range)`).
    #[test]
    fn random_tests__fastrandom_tests_deterministic() {
        let mut ctx = FastRandomContext::new(true);
        let t = 1i64;
        assert_eq!(t + ctx.randrange(9) as i64, 7);
        assert_eq!(t - ctx.randrange(9) as i64, -6);
        // range 0: no draw
        assert_eq!(
            t + ctx.randrange(i64::MAX as u64) as i64,
            4652286523065884857
        );
        assert_eq!(
            t - ctx.randrange(i64::MAX as u64) as i64,
            -8813961240025683129
        );
        assert_eq!(t + ctx.randrange(9 * 3600) as i64, 26443);

        let mut c1 = FastRandomContext::new(true);
        let mut c2 = FastRandomContext::new(true);
        assert_eq!(c1.rand32(), c2.rand32());
        assert_eq!(c1.rand64(), c2.rand64());
        assert_eq!(c1.randbits(3), c2.randbits(3));
        assert_eq!(c1.rand256(), c2.rand256());
        assert_eq!(c1.randbits(7), c2.randbits(7));
    }

    /// Mirrors random_tests.cpp: fastrandom_randbits — every width stays in range.
    #[test]
    fn random_tests__fastrandom_randbits() {
        let mut ctx = FastRandomContext::new(false);
        for bits in 0..63 {
            for _ in 0..1000 {
                let r = ctx.randbits(bits);
                assert!(r < (1u64 << bits), "bits={bits} r={r}");
            }
        }
    }

    #[test]
    fn randrange_one_consumes_nothing() {
        let mut a = FastRandomContext::new(true);
        let mut b = FastRandomContext::new(true);
        for _ in 0..10 {
            assert_eq!(a.randrange(1), 0);
        }
        assert_eq!(a.rand64(), b.rand64());
    }

    /// Byte-granular reads continue the keystream exactly (Core buffers partial blocks).
    #[test]
    fn odd_sized_reads_continue_the_keystream() {
        let mut a = FastRandomContext::new(true);
        let mut whole = [0u8; 200];
        a.fillrand(&mut whole);
        let mut b = FastRandomContext::new(true);
        let mut got = Vec::new();
        for len in [2usize, 16, 3, 8, 1, 64, 30, 76] {
            got.extend(b.randbytes(len));
        }
        assert_eq!(&got[..], &whole[..]);
        let mut c = FastRandomContext::new(true);
        let _ = c.randbytes(3);
        let x = c.rand64();
        assert_eq!(x.to_le_bytes(), whole[3..11]);
    }

    #[test]
    fn entropy_seeds_differ() {
        assert_ne!(entropy_seed(), entropy_seed());
    }
}
