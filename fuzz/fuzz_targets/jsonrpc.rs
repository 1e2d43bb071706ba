//! `node::fuzz::jsonrpc` under libFuzzer.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| node::fuzz::jsonrpc(data));
