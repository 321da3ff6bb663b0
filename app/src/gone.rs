//! Roadmaps a coordinator deleted for everyone that this device still
//! holds. The relay answers `doc-unavailable` for them like for any roadmap
//! the person may not read; the API tells the two apart (410 Gone), and the
//! answer is kept here (in `localStorage`, across reloads) so the list and
//! the editor say what happened and the person can remove their copy.

use medk_shared::ids::DocumentId;
use std::collections::BTreeSet;

const KEY: &str = "medk.deleted-for-everyone";

fn load() -> BTreeSet<String> {
    crate::browser::setting(KEY).and_then(|text| crate::api::from_json(&text)).unwrap_or_default()
}

fn save(all: &BTreeSet<String>) {
    match crate::api::to_json(all) {
        Some(text) if !all.is_empty() => crate::browser::set_setting(KEY, &text),
        _ => crate::browser::remove_setting(KEY),
    }
}

/// Whether `id` was deleted for everyone.
pub fn is_gone(id: &DocumentId) -> bool {
    load().contains(&id.to_string())
}

/// Remembers that `id` was deleted for everyone.
pub fn remember(id: &DocumentId) {
    let mut all = load();
    if all.insert(id.to_string()) {
        save(&all);
    }
}

/// Forgets `id` (its copy was deleted from this device).
pub fn forget(id: &DocumentId) {
    let mut all = load();
    if all.remove(&id.to_string()) {
        save(&all);
    }
}
