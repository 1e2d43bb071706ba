//! Port of Core's `AddrInfo` (addrman_impl.h, addrman.cpp): a [`CAddress`] plus what addrman
//! knows about it, and the bucket arithmetic that decides where it lives.
//!
//! Bucket hashing follows Core's `HashWriter{} << nKey << ...` then `GetCheapHash()`, with the
//! network's [`HashKind`] in place of SHA256d: on Bitcoin networks (SHA256d) every address lands
//! in the same bucket and slot as bitcoind's for the same `nKey`.

use std::io::{Read, Write};
use std::ops::{Deref, DerefMut};

use netbase::{CNetAddr, NetGroupManager};
use protocol::{cheap_hash, AddrEncoding, AddrSerParams, CAddress, HashKind, NetHasher};

use crate::addrman_impl::{
    ADDRMAN_BUCKET_SIZE, ADDRMAN_HORIZON, ADDRMAN_MAX_FAILURES, ADDRMAN_MIN_FAIL,
    ADDRMAN_NEW_BUCKETS_PER_SOURCE_GROUP, ADDRMAN_NEW_BUCKET_COUNT, ADDRMAN_RETRIES,
    ADDRMAN_TRIED_BUCKETS_PER_GROUP, ADDRMAN_TRIED_BUCKET_COUNT,
};

/// The secret 256-bit key that randomizes bucket placement (Core's `uint256 nKey`), in
/// `uint256` byte order (byte 0 is the least significant byte; serialized as is).
pub type AddrManKey = [u8; 32];

/// Extended statistics about a [`CAddress`] (Core's `AddrInfo`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddrInfo {
    /// The address record itself (Core: the `CAddress` base class).
    pub addr: CAddress,
    /// Last try whatsoever by us, seconds (memory only).
    pub m_last_try: i64,
    /// Last counted attempt, seconds (memory only).
    pub m_last_count_attempt: i64,
    /// Where knowledge about this address first came from.
    pub source: CNetAddr,
    /// Last successful connection by us, seconds.
    pub m_last_success: i64,
    /// Connection attempts since last successful attempt.
    pub n_attempts: i32,
    /// Reference count in new sets (memory only).
    pub n_ref_count: i32,
    /// In tried set? (memory only)
    pub f_in_tried: bool,
    /// Position in `vRandom` (memory only).
    pub n_random_pos: i32,
}

impl Deref for AddrInfo {
    type Target = CAddress;
    fn deref(&self) -> &CAddress {
        &self.addr
    }
}

impl DerefMut for AddrInfo {
    fn deref_mut(&mut self) -> &mut CAddress {
        &mut self.addr
    }
}

impl Default for AddrInfo {
    fn default() -> Self {
        AddrInfo::new(CAddress::default(), CNetAddr::default())
    }
}

/// Write a byte vector as Core's `Serialize(std::vector<unsigned char>)` does: CompactSize
/// length, then the bytes.
fn input_vec<H: NetHasher>(h: &mut H, bytes: &[u8]) {
    let n = bytes.len() as u64;
    if n < 253 {
        h.input(&[n as u8]);
    } else if n <= 0xffff {
        h.input(&[253]);
        h.input(&(n as u16).to_le_bytes());
    } else if n <= 0xffff_ffff {
        h.input(&[254]);
        h.input(&(n as u32).to_le_bytes());
    } else {
        h.input(&[255]);
        h.input(&n.to_le_bytes());
    }
    h.input(bytes);
}

impl AddrInfo {
    /// Port of AddrInfo::AddrInfo(const CAddress&, const CNetAddr&) (addrman_impl.h).
    pub fn new(addr: CAddress, source: CNetAddr) -> Self {
        AddrInfo {
            addr,
            m_last_try: 0,
            m_last_count_attempt: 0,
            source,
            m_last_success: 0,
            n_attempts: 0,
            n_ref_count: 0,
            f_in_tried: false,
            n_random_pos: -1,
        }
    }

    /// Port of AddrInfo::GetTriedBucket (addrman.cpp): which "tried" bucket this entry belongs in.
    pub fn get_tried_bucket(
        &self,
        n_key: &AddrManKey,
        netgroupman: &NetGroupManager,
        hash: HashKind,
    ) -> i32 {
        let key = self.addr.service.get_key();
        let mut h = hash.hasher();
        h.input(n_key);
        input_vec(&mut h, &key);
        let hash1 = cheap_hash(&h.finalize());
        let group = netgroupman.get_group(&self.addr.service.addr);
        let mut h = hash.hasher();
        h.input(n_key);
        input_vec(&mut h, &group);
        h.input(&(hash1 % ADDRMAN_TRIED_BUCKETS_PER_GROUP as u64).to_le_bytes());
        let hash2 = cheap_hash(&h.finalize());
        (hash2 % ADDRMAN_TRIED_BUCKET_COUNT as u64) as i32
    }

    /// Port of AddrInfo::GetNewBucket (addrman.cpp): which "new" bucket this entry belongs in,
    /// given the source `src` it was heard from.
    pub fn get_new_bucket_from(
        &self,
        n_key: &AddrManKey,
        src: &CNetAddr,
        netgroupman: &NetGroupManager,
        hash: HashKind,
    ) -> i32 {
        let source_group = netgroupman.get_group(src);
        self.get_new_bucket_for_group(n_key, &source_group, netgroupman, hash, None)
    }

    /// [`AddrInfo::get_new_bucket_from`] with the source's group already computed. The second
    /// hash depends only on the source group and `hash1 % 64`; `memo` (indexed by that
    /// remainder, -1 = not yet known) remembers its result for one source group.
    pub(crate) fn get_new_bucket_for_group(
        &self,
        n_key: &AddrManKey,
        source_group: &[u8],
        netgroupman: &NetGroupManager,
        hash: HashKind,
        memo: Option<&mut [i32; ADDRMAN_NEW_BUCKETS_PER_SOURCE_GROUP as usize]>,
    ) -> i32 {
        let group = netgroupman.get_group(&self.addr.service.addr);
        let mut h = hash.hasher();
        h.input(n_key);
        input_vec(&mut h, &group);
        input_vec(&mut h, source_group);
        let hash1 = cheap_hash(&h.finalize());
        let k = hash1 % ADDRMAN_NEW_BUCKETS_PER_SOURCE_GROUP as u64;
        if let Some(memo) = &memo {
            if memo[k as usize] >= 0 {
                return memo[k as usize];
            }
        }
        let mut h = hash.hasher();
        h.input(n_key);
        input_vec(&mut h, source_group);
        h.input(&k.to_le_bytes());
        let hash2 = cheap_hash(&h.finalize());
        let bucket = (hash2 % ADDRMAN_NEW_BUCKET_COUNT as u64) as i32;
        if let Some(memo) = memo {
            memo[k as usize] = bucket;
        }
        bucket
    }

    /// Port of AddrInfo::GetNewBucket (addrman_impl.h): the "new" bucket for the entry's own
    /// (first) source.
    pub fn get_new_bucket(
        &self,
        n_key: &AddrManKey,
        netgroupman: &NetGroupManager,
        hash: HashKind,
    ) -> i32 {
        self.get_new_bucket_from(n_key, &self.source, netgroupman, hash)
    }

    /// Port of AddrInfo::GetBucketPosition (addrman.cpp): the slot inside `bucket` of the new
    /// (`f_new`) or tried table.
    pub fn get_bucket_position(
        &self,
        n_key: &AddrManKey,
        f_new: bool,
        bucket: i32,
        hash: HashKind,
    ) -> i32 {
        let key = self.addr.service.get_key();
        let mut h = hash.hasher();
        h.input(n_key);
        h.input(&[if f_new { b'N' } else { b'K' }]);
        h.input(&bucket.to_le_bytes());
        input_vec(&mut h, &key);
        let hash1 = cheap_hash(&h.finalize());
        (hash1 % ADDRMAN_BUCKET_SIZE as u64) as i32
    }

    /// Port of AddrInfo::IsTerrible (addrman.cpp): whether the statistics about this entry are
    /// bad enough that it can just be deleted.
    pub fn is_terrible(&self, now: i64) -> bool {
        // tried in the last minute: keep
        if now - self.m_last_try <= 60 {
            return false;
        }
        // timestamp more than 10 minutes in the future
        if self.addr.n_time > now + 10 * 60 {
            return true;
        }
        // not seen within the horizon
        if now - self.addr.n_time > ADDRMAN_HORIZON {
            return true;
        }
        // never succeeded after ADDRMAN_RETRIES tries
        if self.m_last_success == 0 && self.n_attempts >= ADDRMAN_RETRIES {
            return true;
        }
        // ADDRMAN_MAX_FAILURES successive failures over ADDRMAN_MIN_FAIL
        if now - self.m_last_success > ADDRMAN_MIN_FAIL && self.n_attempts >= ADDRMAN_MAX_FAILURES {
            return true;
        }
        false
    }

    /// Port of AddrInfo::GetChance (addrman.cpp): relative chance this entry is given when
    /// selecting nodes to connect to.
    pub fn get_chance(&self, now: i64) -> f64 {
        let mut f_chance = 1.0f64;
        // recent attempts weigh 1%
        if now - self.m_last_try < 10 * 60 {
            f_chance *= 0.01;
        }
        // 0.66 per failed attempt, capped at 8 attempts
        f_chance *= 0.66f64.powf(f64::from(self.n_attempts.min(8)));
        f_chance
    }

    /// Port of AddrInfo's SERIALIZE_METHODS (addrman_impl.h), write side: the disk form of the
    /// `CAddress`, the source address, `m_last_success` (int64) and `nAttempts` (int32).
    pub fn serialize<W: Write + ?Sized>(
        &self,
        w: &mut W,
        enc: AddrEncoding,
    ) -> std::io::Result<()> {
        let params = AddrSerParams {
            fmt: protocol::AddrFormat::Disk,
            enc,
        };
        self.addr.encode_with(w, params)?;
        protocol::encode_netaddr(&self.source, w, enc)?;
        w.write_all(&self.m_last_success.to_le_bytes())?;
        w.write_all(&self.n_attempts.to_le_bytes())?;
        Ok(())
    }

    /// Port of AddrInfo's SERIALIZE_METHODS (addrman_impl.h), read side. `enc` is the stream's
    /// encoding (V2 for peers.dat format >= V3_BIP155): it allows V2 addresses and decides how
    /// the source address is read.
    pub fn unserialize<R: Read + ?Sized>(
        r: &mut R,
        enc: AddrEncoding,
    ) -> Result<AddrInfo, protocol::Error> {
        let params = AddrSerParams {
            fmt: protocol::AddrFormat::Disk,
            enc,
        };
        let addr = CAddress::decode_with(r, params)?;
        let source = protocol::decode_netaddr(r, enc)?;
        let mut b8 = [0u8; 8];
        r.read_exact(&mut b8)
            .map_err(|e| protocol::Error::Io(e.kind()))?;
        let mut b4 = [0u8; 4];
        r.read_exact(&mut b4)
            .map_err(|e| protocol::Error::Io(e.kind()))?;
        let mut info = AddrInfo::new(addr, source);
        info.m_last_success = i64::from_le_bytes(b8);
        info.n_attempts = i32::from_le_bytes(b4);
        Ok(info)
    }
}
