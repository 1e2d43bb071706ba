//! `net::fuzz::relay_scheduler` under libFuzzer.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| net::fuzz::relay_scheduler(data));
