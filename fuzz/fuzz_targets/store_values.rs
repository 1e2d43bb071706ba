//! `addrman::fuzz::store_values` under libFuzzer.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| addrman::fuzz::store_values(data));
