//! Stamps the app with `MEDK_READING_RULES`: a hash of the sources that
//! decide what the monitoring dashboard reads from a document (every source
//! of `shared`, its module trees included: the model, deadlines, history,
//! indicators, school files, the reading's own layout in `dashboard.rs`) and
//! of `Cargo.lock` (Automerge, postcard).
//! Readings kept on a device carry it, so a new build that reads documents
//! the same way keeps using them, and one that might read them otherwise
//! reads the documents again. Hashed by hand (FNV-1a): std's hasher is not
//! stable across Rust releases, and this needs no dependency.
//!
//! And with `MEDK_VIEW_LAYOUT`, a hash of the roadmap's plain-data model
//! (`shared/src/model.rs`) and of `Cargo.lock` (postcard): the editor's
//! cached views are postcard, which does not describe itself, so a view
//! written before a field was added would be read misaligned; the stamp
//! makes the editor pass over such a view instead.

use std::path::PathBuf;

fn main() {
    let app = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let root = app.parent().expect("the app is a workspace member").to_path_buf();
    let shared = root.join("shared").join("src");
    let mut files = vec![root.join("Cargo.lock")];
    let mut sources = Vec::new();
    rust_sources(&shared, &mut sources);
    sources.sort();
    files.extend(sources);
    println!("cargo:rerun-if-changed={}", shared.display());
    for file in &files {
        println!("cargo:rerun-if-changed={}", file.display());
    }
    println!("cargo:rustc-env=MEDK_READING_RULES={:016x}", fnv(&root, &files));
    let view = [root.join("Cargo.lock"), shared.join("model.rs")];
    println!("cargo:rustc-env=MEDK_VIEW_LAYOUT={:016x}", fnv(&root, &view));
}

/// Every `.rs` file under `dir`, its subdirectories included (`shared`'s
/// modules are trees: `school/`, `sync/`, `typed_doc/`…).
fn rust_sources(dir: &std::path::Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for path in entries.filter_map(|e| e.ok().map(|e| e.path())) {
        if path.is_dir() {
            rust_sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// FNV-1a over each file's name (relative to `root`) and contents.
fn fnv(root: &std::path::Path, files: &[PathBuf]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for file in files {
        let name = file.strip_prefix(root).unwrap_or(file);
        let contents = std::fs::read(file).unwrap_or_default();
        for byte in name.to_string_lossy().bytes().chain([0]).chain(contents) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    hash
}
