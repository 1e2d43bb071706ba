//! `net::fuzz::v1_transport` under libFuzzer.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| net::fuzz::v1_transport(data));
