//! The workloads of Core's src/bench/addrman.cpp, in both hash modes, without a bench framework.
//!
//! Run with `cargo bench -p addrman`. Prints one line per bench and hash mode:
//! `<BenchName>\t<sha256d|blake2b>\t<ns per op>\tcore <Core's ns per op>`.

use std::collections::HashSet;
use std::hint::black_box;
use std::time::{Duration, Instant};

use addrman::{AddrMan, Clock, FastRandomContext, SystemClock};
use netbase::{CNetAddr, CService, NetGroupManager, Network};
use protocol::{CAddress, HashKind, ServiceFlags};

/// Sources from which a bunch of addresses were received.
const NUM_SOURCES: usize = 64;
/// Addresses received from each source.
const NUM_ADDRESSES_PER_SOURCE: usize = 256;
/// Core's bench builds addrman with consistency checks off.
const ADDRMAN_CONSISTENCY_CHECK_RATIO: i32 = 0;

/// Core's figures (ns per op), as given for the machine they were measured on.
const CORE_NS: &[(&str, f64)] = &[
    ("AddrManAdd", 44.5e6),
    ("AddrManAddThenGood", 90.5e6),
    ("AddrManGetAddr", 156e3),
    ("AddrManSelect", 144.0),
    ("AddrManSelectByNetwork", 866e3),
    ("AddrManSelectFromAlmostEmpty", 157e3),
];

struct Addresses {
    sources: Vec<CAddress>,
    addresses: Vec<Vec<CAddress>>,
}

/// Core's CreateAddresses: random IPv6 addresses and ports from a ChaCha20 RNG keyed with 32
/// bytes of 123, all NODE_NETWORK with time "now".
fn create_addresses(now: i64) -> Addresses {
    let mut rng = FastRandomContext::from_seed([123u8; 32]);
    let mut rand_addr = || {
        let b: [u8; 16] = rng.randbytes(16).try_into().expect("16 bytes");
        let mut port = u16::from_le_bytes(rng.randbytes(2).try_into().expect("2 bytes"));
        if port == 0 {
            port = 1;
        }
        let mut a = CNetAddr::default();
        a.set_legacy_ipv6(&b);
        CAddress::new(CService::new(a, port), ServiceFlags::NODE_NETWORK, now)
    };
    let mut sources = Vec::new();
    let mut addresses = Vec::new();
    for _ in 0..NUM_SOURCES {
        sources.push(rand_addr());
        addresses.push((0..NUM_ADDRESSES_PER_SOURCE).map(|_| rand_addr()).collect());
    }
    Addresses { sources, addresses }
}

fn new_addrman(hash: HashKind) -> AddrMan {
    AddrMan::new(
        NetGroupManager::new(),
        false,
        ADDRMAN_CONSISTENCY_CHECK_RATIO,
        hash,
    )
}

fn add_addresses_to_addrman(addrman: &AddrMan, a: &Addresses) {
    for (source, addrs) in a.sources.iter().zip(&a.addresses) {
        addrman.add(addrs, &source.service.addr, 0);
    }
}

/// Median ns per call of `f` over several epochs of at least ~`min_epoch` each.
fn measure<F: FnMut()>(mut f: F, min_epoch: Duration, epochs: usize) -> f64 {
    // warm up and size the epoch
    let start = Instant::now();
    f();
    let one = start.elapsed().max(Duration::from_nanos(1));
    let iters = ((min_epoch.as_nanos() / one.as_nanos()) as usize).max(1);
    let mut results = Vec::with_capacity(epochs);
    for _ in 0..epochs {
        let t = Instant::now();
        for _ in 0..iters {
            f();
        }
        results.push(t.elapsed().as_nanos() as f64 / iters as f64);
    }
    results.sort_by(|a, b| a.partial_cmp(b).expect("no NaN"));
    results[results.len() / 2]
}

/// Whether `name` is selected by the optional first non-flag argument (a substring filter).
fn selected(name: &str) -> bool {
    match std::env::args().skip(1).find(|a| !a.starts_with('-')) {
        Some(filter) => name.contains(&filter),
        None => true,
    }
}

fn report(name: &str, hash: HashKind, ns: f64) {
    let mode = match hash {
        HashKind::Sha256d => "sha256d",
        HashKind::Blake2b256 => "blake2b",
    };
    let core = CORE_NS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, v)| *v)
        .unwrap_or(f64::NAN);
    println!(
        "{name}\t{mode}\t{ns:.0}\tcore {core:.0}\t({:.2}x Core)",
        ns / core
    );
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` runs this once quickly.
    let quick = !std::env::args().any(|a| a == "--bench");
    let (epoch, epochs) = if quick {
        (Duration::from_millis(1), 1)
    } else {
        (Duration::from_millis(200), 7)
    };
    let now = SystemClock.now();
    let a = create_addresses(now);

    let no_nets: HashSet<Network> = HashSet::new();
    for hash in [HashKind::Sha256d, HashKind::Blake2b256] {
        if selected("AddrManAdd") {
            // AddrManAdd
            let ns = measure(
                || {
                    let addrman = new_addrman(hash);
                    add_addresses_to_addrman(&addrman, &a);
                    black_box(&addrman);
                },
                epoch,
                epochs,
            );
            report("AddrManAdd", hash, ns);
        }

        if selected("AddrManSelect") {
            // AddrManSelect
            let addrman = new_addrman(hash);
            add_addresses_to_addrman(&addrman, &a);
            let ns = measure(
                || {
                    let address = addrman.select(false, &no_nets);
                    assert!(address.0.get_port() > 0);
                },
                epoch,
                epochs,
            );
            report("AddrManSelect", hash, ns);
        }

        if selected("AddrManSelectFromAlmostEmpty") {
            // AddrManSelectFromAlmostEmpty: the worst case, one address in new
            let addrman = new_addrman(hash);
            let addr =
                netbase::lookup("250.3.1.1", 8333, false, &netbase::no_dns).expect("numeric");
            addrman.add(
                &[CAddress::with_services(addr, ServiceFlags::NODE_NONE)],
                &addr.addr,
                0,
            );
            let ns = measure(
                || {
                    black_box(addrman.select(false, &no_nets));
                },
                epoch,
                epochs,
            );
            report("AddrManSelectFromAlmostEmpty", hash, ns);
        }

        if selected("AddrManSelectByNetwork") {
            // AddrManSelectByNetwork: one I2P address among the filled table
            let addrman = new_addrman(hash);
            let mut i2p = CNetAddr::default();
            assert!(i2p.set_special("udhdrtrcetjm5sxzskjyr5ztpeszydbh4dpl3pl4utgqqw2v4jna.b32.i2p"));
            let i2p_address = CAddress::new(CService::new(i2p, 0), ServiceFlags::NODE_NONE, now);
            let source =
                netbase::lookup_host("252.2.2.2", false, &netbase::no_dns).expect("numeric");
            addrman.add(&[i2p_address], &source, 0);
            add_addresses_to_addrman(&addrman, &a);
            let i2p_only: HashSet<Network> = [Network::I2P].into_iter().collect();
            let ns = measure(
                || {
                    black_box(addrman.select(false, &i2p_only));
                },
                epoch,
                epochs,
            );
            report("AddrManSelectByNetwork", hash, ns);
        }

        if selected("AddrManGetAddr") {
            // AddrManGetAddr
            let addrman = new_addrman(hash);
            add_addresses_to_addrman(&addrman, &a);
            let ns = measure(
                || {
                    let addresses = addrman.get_addr(2500, 23, None, true);
                    assert!(!addresses.is_empty());
                },
                epoch,
                epochs,
            );
            report("AddrManGetAddr", hash, ns);
        }

        if selected("AddrManAddThenGood") {
            // AddrManAddThenGood: a fresh addrman each time, then Good on every address
            let ns = measure(
                || {
                    let addrman = new_addrman(hash);
                    add_addresses_to_addrman(&addrman, &a);
                    for addrs in &a.addresses {
                        for addr in addrs {
                            addrman.good(&addr.service, now);
                        }
                    }
                    black_box(&addrman);
                },
                epoch,
                epochs,
            );
            report("AddrManAddThenGood", hash, ns);
        }
    }
}
