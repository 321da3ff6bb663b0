//! Roadmaps made for a unit other than their author's own, e.g. a school's
//! anti-risk programme made by its curator on a tablet. The relay registers
//! a new roadmap in the home unit of whoever first sends it; once it has
//! it, this moves it to the unit it was made for (`PUT
//! /api/roadmaps/{id}/access`), so the school's team sees it. The wish is
//! kept across reloads (the roadmap may be made offline) until the relay
//! has answered for good, and only its maker's sessions send it (another
//! person signed in on the same tablet could not move it).

use crate::api;
use medk_shared::api::{AccessChange, UpdateAccess};
use medk_shared::ids::DocumentId;
use std::cell::RefCell;
use std::collections::{BTreeMap, HashSet};

const KEY: &str = "medk.placements";

thread_local! {
    /// Placements being sent now.
    static SENDING: RefCell<HashSet<DocumentId>> = RefCell::new(HashSet::new());
}

/// Answers "not there" after which the relay is taken never to get the
/// roadmap (it was deleted here before it synced, say): one per sync of a
/// document that the relay already acknowledged, so a few hundred.
const MAX_NOT_FOUND: u32 = 200;

/// Where a roadmap belongs, and who made it.
#[derive(serde::Serialize, serde::Deserialize)]
struct Wish {
    unit: String,
    by: String,
    /// Answers "not there" so far.
    #[serde(default)]
    not_found: u32,
}

fn load() -> BTreeMap<String, Wish> {
    crate::browser::setting(KEY).and_then(|text| api::from_json(&text)).unwrap_or_default()
}

fn save(all: &BTreeMap<String, Wish>) {
    match api::to_json(all) {
        Some(text) if !all.is_empty() => crate::browser::set_setting(KEY, &text),
        _ => crate::browser::remove_setting(KEY),
    }
}

/// Remembers that `roadmap`, made by the person `by` (their id),
/// belongs in `unit`.
pub fn remember(roadmap: DocumentId, unit: &str, by: &str) {
    let mut all = load();
    all.insert(roadmap.to_string(), Wish { unit: unit.to_owned(), by: by.to_owned(), not_found: 0 });
    save(&all);
}

/// The placements the person `by` (their id) still has to make.
pub fn pending(by: &str) -> Vec<(DocumentId, String)> {
    load()
        .into_iter()
        .filter(|(_, wish)| wish.by == by)
        .filter_map(|(id, wish)| Some((DocumentId::parse(&id).ok()?, wish.unit)))
        .collect()
}

fn forget(roadmap: &DocumentId) {
    let mut all = load();
    all.remove(&roadmap.to_string());
    save(&all);
}

/// Counts one "not there" answer; `false` once there were too many.
fn not_found_again(roadmap: &DocumentId) -> bool {
    let mut all = load();
    let Some(wish) = all.get_mut(&roadmap.to_string()) else { return false };
    wish.not_found += 1;
    let again = wish.not_found < MAX_NOT_FOUND;
    save(&all);
    again
}

/// What came of one attempt.
pub enum Placed {
    Done,
    /// The relay does not have the roadmap yet, or could not answer now
    /// (no network, a server error, the session ended): try again after
    /// a sync.
    NotYet,
    /// Refused or failed for good: the wish is dropped, with this reason.
    Failed(String),
}

/// Asks the relay to move `roadmap` to `unit` (once at a time per roadmap;
/// `None` while an attempt is under way).
pub async fn place(roadmap: DocumentId, unit: String) -> Option<Placed> {
    if !SENDING.with(|s| s.borrow_mut().insert(roadmap)) {
        return None;
    }
    let moving = AccessChange { unit: Some(unit), published: None };
    let result = api::call(&UpdateAccess { id: roadmap.to_string() }, &moving).await;
    SENDING.with(|s| s.borrow_mut().remove(&roadmap));
    let placed = match result {
        Ok(_) => Placed::Done,
        Err(e) if e.is_status(403) => Placed::Failed("нет прав на перенос".into()),
        Err(e) if e.is_status(404) && not_found_again(&roadmap) => Placed::NotYet,
        Err(e) if e.is_status(404) => Placed::Failed("сервер так и не получил эту дорожную карту".into()),
        Err(api::ApiError::Status { status: 401 | 408 | 429 | 500.., .. }) => Placed::NotYet,
        Err(api::ApiError::Offline | api::ApiError::Malformed) => Placed::NotYet,
        Err(e) => Placed::Failed(e.to_string()),
    };
    if matches!(placed, Placed::Done | Placed::Failed(_)) {
        forget(&roadmap);
    }
    Some(placed)
}
