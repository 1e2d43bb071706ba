//! Random addrman operations decoded from the fuzz input, then Core's full consistency check
//! (`check_addrman() == 0`) and a save/load round trip. In the spirit of Core's
//! src/test/fuzz/addrman.cpp.
#![no_main]

use std::collections::HashSet;

use addrman::{read_peers_dat, write_peers_dat, AddrMan, Clock, MockClock};
use libfuzzer_sys::fuzz_target;
use netbase::{CNetAddr, CService, NetGroupManager, Network};
use protocol::{CAddress, HashKind, ServiceFlags};

struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn byte(&mut self) -> Option<u8> {
        let (b, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(*b)
    }
    fn u16(&mut self) -> Option<u16> {
        Some(u16::from_le_bytes([self.byte()?, self.byte()?]))
    }
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes([
            self.byte()?,
            self.byte()?,
            self.byte()?,
            self.byte()?,
        ]))
    }
    /// An address from a small space (so operations hit existing entries), of any network.
    fn service(&mut self) -> Option<CService> {
        let kind = self.byte()?;
        let port = if self.byte()? & 1 == 0 {
            8333
        } else {
            self.u16()?
        };
        let addr = match kind % 8 {
            0..=3 => {
                let x = self.u16()?;
                CNetAddr::from_ipv4([kind, (x >> 8) as u8 & 7, x as u8, 1].into())
            }
            4 | 5 => {
                let mut b = [0u8; 16];
                b[0] = 0x20;
                b[1] = 0x01;
                b[2] = self.byte()?;
                b[15] = self.byte()?;
                CNetAddr::from_ipv6(b.into(), 0)
            }
            6 => {
                let mut b = [0u8; 16];
                b[0] = 0xfc;
                b[15] = self.byte()?;
                let s = CService::new(CNetAddr::from_ipv6(b.into(), 0), port);
                netbase::maybe_flip_ipv6_to_cjdns(&s, true).addr
            }
            _ => {
                let mut a = CNetAddr::default();
                let name = if self.byte()? & 1 == 0 {
                    "udhdrtrcetjm5sxzskjyr5ztpeszydbh4dpl3pl4utgqqw2v4jna.b32.i2p"
                } else {
                    "pg6mmjiyjmcrsslvykfwnntlaru7p5svn6y2ymmju6nubxndf4pscryd.onion"
                };
                a.set_special(name);
                a
            }
        };
        Some(CService::new(addr, port))
    }
}

fn run(data: &[u8]) -> Option<()> {
    let mut input = Input(data);
    let hash = if input.byte()? & 1 == 0 {
        HashKind::Sha256d
    } else {
        HashKind::Blake2b256
    };
    let mut seed = [0u8; 32];
    seed[0] = input.byte()?;
    let clock = MockClock::shared(1_795_503_770);
    let addrman =
        AddrMan::new_with_seed(NetGroupManager::new(), seed, 0, hash).with_clock(clock.clone());
    let magic = [0xfa, 0xbf, 0xb5, 0xda];
    for _ in 0..10_000 {
        let Some(op) = input.byte() else { break };
        let now = clock.now();
        match op % 12 {
            0..=3 => {
                let n = 1 + (input.byte()? % 4) as usize;
                let mut v = Vec::new();
                for _ in 0..n {
                    let s = input.service()?;
                    let age = i64::from(input.u32()?) - 3600;
                    v.push(CAddress::new(
                        s,
                        ServiceFlags(u64::from(input.u16()?)),
                        now - age,
                    ));
                }
                let source = input.service()?.addr;
                let penalty = i64::from(input.u16()?);
                addrman.add(&v, &source, penalty);
            }
            4 => {
                let s = input.service()?;
                addrman.good(&s, now - i64::from(input.u16()?));
            }
            5 => {
                let s = input.service()?;
                let f = input.byte()? & 1 == 1;
                addrman.attempt(&s, f, now - i64::from(input.u16()?));
            }
            6 => {
                let mask = input.byte()?;
                let nets: HashSet<Network> = [
                    Network::IPv4,
                    Network::IPv6,
                    Network::Onion,
                    Network::I2P,
                    Network::CJDNS,
                ]
                .into_iter()
                .enumerate()
                .filter(|(i, _)| mask & (1 << i) != 0)
                .map(|(_, n)| n)
                .collect();
                let (a, _) = addrman.select(mask & 0x80 != 0, &nets);
                assert!(!a.is_valid() || nets.is_empty() || nets.contains(&a.get_network()));
            }
            7 => {
                let max = usize::from(input.u16()?);
                let pct = usize::from(input.byte()? % 101);
                let v = addrman.get_addr(max, pct, None, input.byte()? & 1 == 0);
                assert!(max == 0 || v.len() <= max);
            }
            8 => {
                let s = input.service()?;
                addrman.connected(&s, now);
                addrman.set_services(&s, ServiceFlags(u64::from(input.u16()?)));
            }
            9 => {
                addrman.resolve_collisions();
                let _ = addrman.select_tried_collision();
            }
            10 => clock.advance(i64::from(input.u16()?) * 16),
            _ => {
                let s = input.service()?;
                let _ = addrman
                    .find_address_entry(&CAddress::with_services(s, ServiceFlags::NODE_NONE));
            }
        }
    }
    assert_eq!(addrman.check_addrman(), 0);
    let bytes = write_peers_dat(&addrman, magic);
    let loaded = AddrMan::new_with_seed(NetGroupManager::new(), seed, 0, hash);
    read_peers_dat(&loaded, &bytes, magic).expect("our own peers.dat loads");
    assert_eq!(loaded.size(None, None), addrman.size(None, None));
    assert_eq!(write_peers_dat(&loaded, magic), bytes);
    Some(())
}

fuzz_target!(|data: &[u8]| {
    let _ = run(data);
});
