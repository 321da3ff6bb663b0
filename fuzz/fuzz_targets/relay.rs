//! The relay state machine under a script of connections, frames, storage
//! answers, clock ticks and rights changes; see `medk_fuzz::relay`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| medk_fuzz::relay::run(data));
