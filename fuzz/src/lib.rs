//! What the fuzz targets run, as plain functions: `fuzz_targets/*.rs` hand
//! libFuzzer's bytes to them, and `examples/seeds.rs` uses [`relay::Script`]
//! to write the seed inputs. Every check is an `assert!`, so a broken
//! invariant is a crash libFuzzer saves like any panic.

pub mod decode;
pub mod documents;
pub mod relay;
