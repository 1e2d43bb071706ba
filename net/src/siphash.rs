//! SipHash-2-4 as Core's `CSipHasher` (crypto/siphash.{h,cpp}) and the keyed hashers built on
//! it: `CConnman::GetDeterministicRandomizer` (a hasher keyed with the connman's two secret
//! seeds, first fed a 64-bit purpose id) and `CServiceHash` (net address, port, address bytes).
//!
//! Written from the SipHash paper's description (Aumasson & Bernstein) and checked against its
//! reference test vector; the incremental interface (64-bit words and byte spans mixed, the
//! byte count kept modulo 256) follows Core's so that the same inputs give the same 64-bit
//! results as bitcoind.

use netbase::CService;

/// Incremental SipHash-2-4 with a 128-bit key (Core's `CSipHasher`).
#[derive(Clone, Copy, Debug)]
pub struct CSipHasher {
    v: [u64; 4],
    /// Bytes of a partial 8-byte word not yet compressed.
    tmp: u64,
    /// Number of bytes written so far, modulo 256 (only the low 8 bits enter the final word).
    count: u8,
}

#[inline]
fn sip_round(v: &mut [u64; 4]) {
    v[0] = v[0].wrapping_add(v[1]);
    v[1] = v[1].rotate_left(13);
    v[1] ^= v[0];
    v[0] = v[0].rotate_left(32);
    v[2] = v[2].wrapping_add(v[3]);
    v[3] = v[3].rotate_left(16);
    v[3] ^= v[2];
    v[0] = v[0].wrapping_add(v[3]);
    v[3] = v[3].rotate_left(21);
    v[3] ^= v[0];
    v[2] = v[2].wrapping_add(v[1]);
    v[1] = v[1].rotate_left(17);
    v[1] ^= v[2];
    v[2] = v[2].rotate_left(32);
}

impl CSipHasher {
    /// Port of CSipHasher::CSipHasher (crypto/siphash.cpp): a hasher keyed with `(k0, k1)`.
    pub fn new(k0: u64, k1: u64) -> Self {
        CSipHasher {
            v: [
                0x736f_6d65_7073_6575 ^ k0,
                0x646f_7261_6e64_6f6d ^ k1,
                0x6c79_6765_6e65_7261 ^ k0,
                0x7465_6462_7974_6573 ^ k1,
            ],
            tmp: 0,
            count: 0,
        }
    }

    #[inline]
    fn compress(&mut self, m: u64) {
        self.v[3] ^= m;
        sip_round(&mut self.v);
        sip_round(&mut self.v);
        self.v[0] ^= m;
    }

    /// Port of CSipHasher::Write(uint64_t) (crypto/siphash.cpp): one little-endian 64-bit word.
    /// Like Core, only valid on a word boundary (a multiple of 8 bytes written so far).
    pub fn write_u64(&mut self, data: u64) -> &mut Self {
        debug_assert!(
            self.count.is_multiple_of(8),
            "CSipHasher::write_u64 off a word boundary"
        );
        self.compress(data);
        self.count = self.count.wrapping_add(8);
        self
    }

    /// Port of CSipHasher::Write(span) (crypto/siphash.cpp): arbitrary bytes.
    pub fn write(&mut self, data: &[u8]) -> &mut Self {
        let mut t = self.tmp;
        let mut c = self.count;
        for &b in data {
            t |= u64::from(b) << (8 * u32::from(c % 8));
            c = c.wrapping_add(1);
            if c & 7 == 0 {
                self.compress(t);
                t = 0;
            }
        }
        self.tmp = t;
        self.count = c;
        self
    }

    /// Port of CSipHasher::Finalize (crypto/siphash.cpp): the 64-bit hash of everything written;
    /// the hasher itself is left as it was.
    pub fn finalize(&self) -> u64 {
        let mut v = self.v;
        let t = self.tmp | (u64::from(self.count) << 56);
        v[3] ^= t;
        sip_round(&mut v);
        sip_round(&mut v);
        v[0] ^= t;
        v[2] ^= 0xff;
        for _ in 0..4 {
            sip_round(&mut v);
        }
        v[0] ^ v[1] ^ v[2] ^ v[3]
    }
}

/// The connman's secret seeds (Core's `nSeed0`, `nSeed1`), from which deterministic
/// randomizers are derived.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RandomizerSeeds {
    /// Core's `nSeed0`.
    pub seed0: u64,
    /// Core's `nSeed1`.
    pub seed1: u64,
}

impl RandomizerSeeds {
    /// Port of CConnman::GetDeterministicRandomizer (net.cpp): a hasher keyed with the seeds,
    /// already fed the purpose `id`.
    pub fn get_deterministic_randomizer(&self, id: u64) -> CSipHasher {
        let mut h = CSipHasher::new(self.seed0, self.seed1);
        h.write_u64(id);
        h
    }
}

/// Port of CServiceHash::operator() (netaddress.h): SipHash of the network id, the port (each
/// as a 64-bit word) and the raw address bytes, keyed with `(k0, k1)`.
pub fn c_service_hash(k0: u64, k1: u64, service: &CService) -> u64 {
    let mut h = CSipHasher::new(k0, k1);
    h.write_u64(service.addr.net() as u64);
    h.write_u64(u64::from(service.port));
    h.write(service.addr.addr_bytes());
    h.finalize()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Mirrors hash_tests.cpp: siphash (the SipHash-2-4 paper's vector: key 00..0f, message
    /// 00..0e gives 0xa129ca6149be45e5), incremental writes and the word interface.
    #[test]
    #[allow(non_snake_case)]
    fn hash_tests__siphash() {
        let k0 = 0x0706_0504_0302_0100u64;
        let k1 = 0x0f0e_0d0c_0b0a_0908u64;
        let msg: Vec<u8> = (0u8..15).collect();
        let mut h = CSipHasher::new(k0, k1);
        h.write(&msg);
        assert_eq!(h.finalize(), 0xa129_ca61_49be_45e5);

        // Empty message (paper's first row of the 64-output table).
        assert_eq!(CSipHasher::new(k0, k1).finalize(), 0x726f_db47_dd0e_0e31);

        // Byte-by-byte equals all at once.
        let mut h2 = CSipHasher::new(k0, k1);
        for b in &msg {
            h2.write(&[*b]);
        }
        assert_eq!(h2.finalize(), 0xa129_ca61_49be_45e5);

        // A word equals its eight little-endian bytes.
        let mut a = CSipHasher::new(k0, k1);
        a.write_u64(0x0706_0504_0302_0100);
        let mut b = CSipHasher::new(k0, k1);
        b.write(&[0, 1, 2, 3, 4, 5, 6, 7]);
        assert_eq!(a.finalize(), b.finalize());
        // Core's hash_tests: 8 bytes 00..07 with the same key gives 0x93f5f5799a932462.
        assert_eq!(a.finalize(), 0x93f5_f579_9a93_2462);
    }

    #[test]
    fn randomizer_differs_by_id_and_seed() {
        let s = RandomizerSeeds { seed0: 1, seed1: 2 };
        let a = s.get_deterministic_randomizer(7).finalize();
        let b = s.get_deterministic_randomizer(8).finalize();
        let c = RandomizerSeeds { seed0: 1, seed1: 3 }
            .get_deterministic_randomizer(7)
            .finalize();
        assert_ne!(a, b);
        assert_ne!(a, c);
    }
}
