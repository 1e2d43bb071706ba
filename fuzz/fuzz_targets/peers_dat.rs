//! `addrman::fuzz::peers_dat` under libFuzzer.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| addrman::fuzz::peers_dat(data));
