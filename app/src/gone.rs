//! Roadmaps a coordinator deleted for everyone that this device still
//! holds. The relay answers `doc-unavailable` for them like for any roadmap
//! the person may not read; the API tells the two apart (410 Gone), and the
//! answer (the server's words: when, and by whom) is kept here (in
//! `localStorage`, across reloads) so the list and the editor say what
//! happened and the person can remove their copy.

use medk_shared::ids::DocumentId;
use std::collections::BTreeMap;

const KEY: &str = "medk.deleted-for-everyone";

/// Roadmap id → what the server said of its deletion. (Kept as a list of
/// ids before the words were kept: those read with no words.)
fn load() -> BTreeMap<String, String> {
    let Some(text) = crate::browser::setting(KEY) else { return BTreeMap::new() };
    crate::api::from_json(&text)
        .or_else(|| {
            crate::api::from_json::<Vec<String>>(&text)
                .map(|ids| ids.into_iter().map(|id| (id, String::new())).collect())
        })
        .unwrap_or_default()
}

fn save(all: &BTreeMap<String, String>) {
    match crate::api::to_json(all) {
        Some(text) if !all.is_empty() => crate::browser::set_setting(KEY, &text),
        _ => crate::browser::remove_setting(KEY),
    }
}

/// Every roadmap deleted for everyone this device holds a copy of, with
/// what the server said (read once for many documents).
pub fn all() -> BTreeMap<String, String> {
    load()
}

/// What the server said of `id`'s deletion (when and by whom: «дорожная
/// карта удалена для всех 07.12.2026 в 09:05 по московскому времени,
/// удалил(а): …»), if it was deleted for everyone.
pub fn words(id: &DocumentId) -> Option<String> {
    load().remove(&id.to_string())
}

/// Remembers that `id` was deleted for everyone, and the server's `words`.
pub fn remember(id: &DocumentId, words: &str) {
    let mut all = load();
    if all.get(&id.to_string()).map(String::as_str) != Some(words) {
        all.insert(id.to_string(), words.to_owned());
        save(&all);
    }
}

/// Forgets `id` (its copy was deleted from this device).
pub fn forget(id: &DocumentId) {
    let mut all = load();
    if all.remove(&id.to_string()).is_some() {
        save(&all);
    }
}
