//! Any bytes through the frame decoder; see `medk_fuzz::decode`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| medk_fuzz::decode::run(data));
