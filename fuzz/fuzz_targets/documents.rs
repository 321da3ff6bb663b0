//! Hostile changes to a roadmap, a school file or the catalogue, then every
//! reader and the vetting; see `medk_fuzz::documents`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| medk_fuzz::documents::run(data));
