//! A write-ahead journal for edits in `localStorage`.
//!
//! IndexedDB writes are asynchronous: a reload or a closed tab in the
//! milliseconds after a keystroke can abort the transaction holding it (a
//! browser test caught exactly that). `localStorage` writes are synchronous,
//! so each edit's change bytes are put here first and removed once
//! IndexedDB has committed them; opening a roadmap replays whatever is
//! still here. Automerge ignores changes it already has, so replaying twice
//! is harmless.

use medk_shared::ids::DocumentId;
use medk_shared::replica::JournalEntry;

const PREFIX: &str = "medk-journal:";

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

fn key(doc: &DocumentId, entry: &str) -> String {
    format!("{PREFIX}{doc}:{entry}")
}

/// Records the bytes of one write under `entry` (a name the replica gives,
/// unique per tab). False when localStorage is unavailable or full; the
/// write then counts only once IndexedDB commits it.
pub fn put(doc: &DocumentId, entry: &str, bytes: &[u8]) -> bool {
    storage().is_some_and(|s| s.set_item(&key(doc, entry), &hex::encode(bytes)).is_ok())
}

/// Forgets an entry once IndexedDB holds its bytes.
pub fn remove(doc: &DocumentId, entry: &str) {
    if let Some(s) = storage() {
        let _ = s.remove_item(&key(doc, entry));
    }
}

/// Entries of a document not yet confirmed by IndexedDB (any tab's,
/// including those of tabs that died before their write committed).
pub fn pending(doc: &DocumentId) -> Vec<JournalEntry> {
    let Some(s) = storage() else { return Vec::new() };
    let prefix = format!("{PREFIX}{doc}:");
    let mut entries: Vec<JournalEntry> = (0..s.length().unwrap_or(0))
        .filter_map(|i| s.key(i).ok().flatten())
        .filter_map(|k| {
            let name = k.strip_prefix(&prefix)?.to_owned();
            // Text that is not hex is kept as its bytes, so the replica
            // reports it unreadable and moves it aside instead of it being lost.
            let text = s.get_item(&k).ok().flatten()?;
            let bytes = hex::decode(&text).ok().unwrap_or_else(|| text.into_bytes());
            Some(JournalEntry { name, bytes })
        })
        .collect();
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    entries
}

/// Forgets every entry of a document (it was deleted from the device).
pub fn remove_all(doc: &DocumentId) {
    for entry in pending(doc) {
        remove(doc, &entry.name);
    }
}
