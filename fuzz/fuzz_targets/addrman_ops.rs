//! `addrman::fuzz::addrman_ops` under libFuzzer.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| addrman::fuzz::addrman_ops(data));
