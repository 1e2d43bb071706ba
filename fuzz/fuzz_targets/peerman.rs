//! `net::fuzz::peerman` under libFuzzer.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| net::fuzz::peerman(data));
