//! `node::fuzz::http_request` under libFuzzer.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| node::fuzz::http_request(data));
