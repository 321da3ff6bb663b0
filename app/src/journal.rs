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
use std::cell::Cell;

const PREFIX: &str = "medk-journal:";

thread_local! {
    static COUNTER: Cell<u32> = const { Cell::new(0) };
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

/// Records the change bytes of one edit; returns the entry's key, or `None`
/// when localStorage is unavailable or full (IndexedDB still gets the edit).
pub fn record(doc: &DocumentId, bytes: &[u8]) -> Option<String> {
    let n = COUNTER.with(|c| {
        c.set(c.get().wrapping_add(1));
        c.get()
    });
    // Time first so entries sort in the order they were made; the counter
    // and a random tail keep two tabs' keys apart.
    let key = format!(
        "{PREFIX}{doc}:{:013}-{n:08}-{:08x}",
        js_sys::Date::now() as u64,
        (js_sys::Math::random() * f64::from(u32::MAX)) as u32
    );
    storage()?.set_item(&key, &hex(bytes)).ok()?;
    Some(key)
}

/// Forgets an entry once IndexedDB holds its bytes.
pub fn clear(key: &str) {
    if let Some(s) = storage() {
        let _ = s.remove_item(key);
    }
}

/// Entries of a document not yet confirmed by IndexedDB, oldest first.
pub fn pending(doc: &DocumentId) -> Vec<(String, Vec<u8>)> {
    let Some(s) = storage() else { return Vec::new() };
    let prefix = format!("{PREFIX}{doc}:");
    let mut entries: Vec<(String, Vec<u8>)> = (0..s.length().unwrap_or(0))
        .filter_map(|i| s.key(i).ok().flatten())
        .filter(|k| k.starts_with(&prefix))
        .filter_map(|k| {
            let bytes = unhex(&s.get_item(&k).ok().flatten()?)?;
            Some((k, bytes))
        })
        .collect();
    entries.sort();
    entries
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips_and_rejects_garbage() {
        let bytes = [0u8, 1, 0x7f, 0x80, 0xff];
        assert_eq!(hex(&bytes), "00017f80ff");
        assert_eq!(unhex("00017f80ff"), Some(bytes.to_vec()));
        assert_eq!(unhex("abc"), None);
        assert_eq!(unhex("zz"), None);
        assert_eq!(unhex("ффф"), None);
    }
}
