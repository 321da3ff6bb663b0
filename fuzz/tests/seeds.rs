//! The seed inputs run clean without libFuzzer (`cd fuzz && cargo test`),
//! and the frame seeds are frames: a harness change that breaks them shows
//! here rather than as a slow start of the fuzzer.

use std::path::Path;

use medk_shared::sync::message::Message;

fn seeds(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds").join(target);
    let mut seeds: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.unwrap().path();
            (path.display().to_string(), std::fs::read(&path).unwrap())
        })
        .collect();
    seeds.sort();
    assert!(!seeds.is_empty(), "no seeds in {}", dir.display());
    seeds
}

#[test]
fn frame_seeds_decode() {
    for (name, bytes) in seeds("message_decode") {
        assert!(Message::decode(&bytes).is_ok(), "{name}: {:?}", Message::decode(&bytes));
        medk_fuzz::decode::run(&bytes);
    }
}

#[test]
fn relay_seeds_run() {
    for (name, bytes) in seeds("relay") {
        println!("{name}");
        medk_fuzz::relay::run(&bytes);
    }
}

#[test]
fn document_seeds_run() {
    for (name, bytes) in seeds("documents") {
        println!("{name}");
        medk_fuzz::documents::run(&bytes);
    }
}

/// A few thousand pseudo-random scripts, without libFuzzer: a quick check
/// that the target itself holds before a fuzzing run.
#[test]
fn random_document_scripts_run() {
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    for _ in 0..60 {
        let bytes: Vec<u8> = (0..200)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect();
        medk_fuzz::documents::run(&bytes);
    }
}
