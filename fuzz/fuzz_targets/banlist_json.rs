//! `addrman::fuzz::banlist_json` under libFuzzer.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| addrman::fuzz::banlist_json(data));
