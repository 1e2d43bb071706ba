//! The address database is dumped through exactly one periodic path: net's DumpAddresses hook
//! (every DUMP_PEERS_INTERVAL on the scheduler thread, once at stop), into the API's store. A
//! hook the host puts in `P2pConfig::net` runs inside that dump, not on a second schedule.

mod api_common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use addrman::store::PEERS_KEY;
use api_common::*;
use net::clock::MockClock;
use net::connman::{DumpAddressesHook, DUMP_PEERS_INTERVAL};
use node::api::{KvStore, MemoryStore, P2p, P2pConfig, Storage, StoreError};
use parking_lot::Mutex;
use protocol::Chain;

/// The API's memory store, counting the writes of each key.
#[derive(Default)]
struct CountingStore {
    inner: MemoryStore,
    puts: Mutex<HashMap<String, usize>>,
}

impl CountingStore {
    fn puts(&self, key: &str) -> usize {
        self.puts.lock().get(key).copied().unwrap_or(0)
    }
}

impl KvStore for CountingStore {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.inner.get(key)
    }
    fn put(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.inner.put(key, value)?;
        *self.puts.lock().entry(key.to_string()).or_default() += 1;
        Ok(())
    }
    fn delete(&self, key: &str) -> Result<bool, StoreError> {
        self.inner.delete(key)
    }
    fn name(&self) -> String {
        "counting".to_string()
    }
}

/// Longer than several scheduler polls (net::scheduler::SCHEDULER_POLL, 100 ms): a second,
/// double-scheduled dump would have run by then.
const SETTLE: Duration = Duration::from_millis(500);

/// Mirrors net.cpp CConnman::Start's `scheduleEvery(DumpAddresses, DUMP_PEERS_INTERVAL)`:
/// under the mock clock the address DB is written once per 15-minute interval (not before),
/// the host's own net hook runs once with each write, and shutdown writes it exactly once more.
#[test]
fn api_address_dump_once_per_interval_mock_clock() {
    let clock = Arc::new(MockClock::new(1_750_000_000));
    let store = Arc::new(CountingStore::default());
    let host_hook_calls = Arc::new(AtomicUsize::new(0));
    // What the store's write count was each time the host's hook ran: the hook runs inside the
    // dump, right after its write (a second, separately scheduled dump would not be in step).
    let puts_seen_by_hook = Arc::new(Mutex::new(Vec::new()));
    let mut c = P2pConfig::loopback_test(Chain::LogosRegtest);
    c.storage = Storage::Custom(store.clone());
    c.mock_clock = Some(clock.clone());
    let calls = host_hook_calls.clone();
    let (seen, s) = (puts_seen_by_hook.clone(), store.clone());
    c.net.on_dump_addresses = Some(DumpAddressesHook(Arc::new(move |_| {
        calls.fetch_add(1, Ordering::SeqCst);
        seen.lock().push(s.puts(PEERS_KEY));
    })));
    let p = P2p::start(c, Recorder::new()).expect("start");
    // Core's LoadAddrman: with no stored database one is created at once ("Creating peers.dat
    // because the file was not found"), before any periodic dump.
    assert_eq!(store.puts(PEERS_KEY), 1, "peers.dat created at start");
    // Something to dump: a routable address (test mode refuses to dial it).
    assert_eq!(p.add_peers(&["8.8.8.8:8333"]), 1);

    let interval = DUMP_PEERS_INTERVAL.as_secs() as i64;
    clock.advance(interval - 1);
    std::thread::sleep(SETTLE);
    assert_eq!(store.puts(PEERS_KEY), 1, "no dump before the interval");
    assert_eq!(host_hook_calls.load(Ordering::SeqCst), 0);

    for k in 1..=3usize {
        clock.advance(if k == 1 { 1 } else { interval });
        assert!(
            wait_until(WAIT, || store.puts(PEERS_KEY) > k),
            "dump {k} did not run"
        );
        std::thread::sleep(SETTLE);
        assert_eq!(
            store.puts(PEERS_KEY),
            1 + k,
            "exactly one dump per interval"
        );
        assert_eq!(host_hook_calls.load(Ordering::SeqCst), k);
    }
    // Half an interval more: nothing.
    clock.advance(interval / 2);
    std::thread::sleep(SETTLE);
    assert_eq!(store.puts(PEERS_KEY), 4);

    p.shutdown();
    assert_eq!(store.puts(PEERS_KEY), 5, "one dump at shutdown");
    assert_eq!(host_hook_calls.load(Ordering::SeqCst), 4);
    assert_eq!(*puts_seen_by_hook.lock(), vec![2, 3, 4, 5]);
    let bytes = store.get(PEERS_KEY).unwrap().expect("written");
    let params = protocol::NetworkParams::get(Chain::LogosRegtest);
    assert_eq!(bytes[..4], params.message_start);
}
