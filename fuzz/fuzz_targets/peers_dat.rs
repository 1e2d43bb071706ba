//! peers.dat decoding: any input either fails with a typed error or loads into a consistent
//! addrman whose own serialization loads again to the same tables. In the spirit of Core's
//! src/test/fuzz/addrman.cpp (`data_stream_addr_man`).
#![no_main]

use addrman::{read_from_stream, read_peers_dat, write_peers_dat, AddrMan};
use libfuzzer_sys::fuzz_target;
use netbase::NetGroupManager;
use protocol::HashKind;

const MAGIC: [u8; 4] = [0xfa, 0xbf, 0xb5, 0xda];

fn run(data: &[u8]) {
    // with and without the leading message start; checksum checked and not
    let mut framed = MAGIC.to_vec();
    framed.extend_from_slice(data);
    for (bytes, check) in [(data, true), (&framed[..], false), (&framed[..], true)] {
        let addrman = AddrMan::new(NetGroupManager::new(), true, 0, HashKind::Sha256d);
        let result = if check {
            read_peers_dat(&addrman, bytes, MAGIC)
        } else {
            read_from_stream(&addrman, bytes, MAGIC)
        };
        match result {
            Ok(()) => {
                assert_eq!(addrman.check_addrman(), 0);
                let out = write_peers_dat(&addrman, MAGIC);
                let again = AddrMan::new(NetGroupManager::new(), true, 0, HashKind::Sha256d);
                read_peers_dat(&again, &out, MAGIC).expect("re-serialized peers.dat loads");
                assert_eq!(again.size(None, None), addrman.size(None, None));
                assert_eq!(write_peers_dat(&again, MAGIC), out);
            }
            Err(e) => {
                let _ = e.to_string();
                // a failed load leaves an empty, consistent addrman
                assert_eq!(addrman.size(None, None), 0);
                assert_eq!(addrman.check_addrman(), 0);
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    run(data);
});
