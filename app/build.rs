//! Stamps the app with `MEDK_READING_RULES`: a hash of the sources that
//! decide what the monitoring dashboard reads from a document (the shared
//! model, deadlines, history and indicators, the reading's own layout in
//! `ui/dashboard/compute.rs`) and of `Cargo.lock` (Automerge, postcard).
//! Readings kept on a device carry it, so a new build that reads documents
//! the same way keeps using them, and one that might read them otherwise
//! reads the documents again. Hashed by hand (FNV-1a): std's hasher is not
//! stable across Rust releases, and this needs no dependency.

use std::path::PathBuf;

fn main() {
    let app = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let root = app.parent().expect("the app is a workspace member").to_path_buf();
    let shared = root.join("shared").join("src");
    let mut files = vec![root.join("Cargo.lock"), app.join("src/ui/dashboard/compute.rs")];
    let mut model: Vec<PathBuf> = std::fs::read_dir(&shared)
        .map(|dir| dir.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    model.retain(|p| p.extension().is_some_and(|e| e == "rs"));
    model.sort();
    files.extend(model);
    println!("cargo:rerun-if-changed={}", shared.display());
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for file in &files {
        println!("cargo:rerun-if-changed={}", file.display());
        let name = file.strip_prefix(&root).unwrap_or(file);
        let contents = std::fs::read(file).unwrap_or_default();
        for byte in name.to_string_lossy().bytes().chain([0]).chain(contents) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    println!("cargo:rustc-env=MEDK_READING_RULES={hash:016x}");
}
