//! Reading a roadmap's Automerge change history: which part of it counts at
//! a moment in the past ([`heads_at`]: "the document on date X", for
//! reports on a date and for monitoring indicators; any typed document is
//! then read there by [`crate::typed_doc::TypedDoc::read_until`]), and who
//! changed an activity, what and when ([`activity_history`]).
//!
//! A change counts at a moment when its recorded time is at or before it and
//! every change it depends on counts too. The second rule matters when a
//! device's clock is behind: a change made after the moment on a device whose
//! clock said "before" still depends on what that device had seen, and it
//! cannot be shown without its dependencies, so it is left out. The past is
//! therefore always a state some replica really saw.
//!
//! Change times, as stored:
//! - Our clients record milliseconds since the Unix epoch; Automerge's
//!   JavaScript clients record seconds. A time below
//!   [`SECONDS_BELOW`] (a moment in 1973 read as milliseconds, the year 5138
//!   read as seconds) is taken as seconds.
//! - A time of 0 (or below) means "not recorded": such a change, e.g. the one
//!   that creates a roadmap or one written by a tool, counts at every moment.
//!   Excluding it instead would hide every change built on it, i.e. the
//!   whole roadmap.
//!
//! A plan imported from a file with the date it was adopted
//! ([`crate::model::Header::adopted_on`]) counts from that day, not only
//! from the import: importing a plan records what it was. On a moment on
//! or after the start of the adoption day ([`plan_heads_window`]), the
//! import change and everything it depends on count whatever their time;
//! what was recorded after the import still counts from its own time (a
//! status marked today does not move into 2021). The adoption date is read
//! from the document as it is now: stating or correcting it later moves
//! the past too. A roadmap typed in by hand has no import, so its
//! adoption date changes nothing: its plan counts from when it was typed.
//!
//! Who made a change: Automerge records an actor (a random id per device and
//! session), not a person, so our clients sign each change's message with the
//! author's name ([`signed`]): the action, then a last line «— Имя Фамилия»
//! (an em dash and a space). [`signature`] reads it back; a change without
//! that line (the roadmap's creation, a JavaScript client, a tool) has no
//! known author, except undo and redo (see [`activity_changes`]). The name is what the author's device called them then; it
//! is shown, never trusted for access.

use crate::doc::RoadmapDoc;
use crate::ids::RowId;
use crate::indicators::Progress;
use crate::model::{ActivityField, Roadmap, Status};
use crate::typed_doc::View;
use automerge::legacy::{Key, ObjectId, OpId, OpType};
use automerge::{AutoCommit, ChangeHash, ObjId, ROOT};
use std::collections::{BTreeSet, HashMap, HashSet};
use time::{Date, Duration, OffsetDateTime, Time, UtcOffset};

/// Change times below this are seconds, at or above it milliseconds.
pub const SECONDS_BELOW: i64 = 100_000_000_000;

/// A change's recorded time in milliseconds, or `None` when not recorded.
pub fn change_time_ms(timestamp: i64) -> Option<i64> {
    match timestamp {
        ..=0 => None,
        t if t < SECONDS_BELOW => Some(t.saturating_mul(1000)),
        t => Some(t),
    }
}

/// The last millisecond of `date` in the time zone `offset`, as Unix
/// milliseconds: the `until_ms` for "as it stood at the end of that day".
pub fn end_of_day_ms(date: Date, offset: UtcOffset) -> i64 {
    let next_midnight = date.next_day().map(|d| d.with_time(Time::MIDNIGHT).assume_offset(offset));
    let end = match next_midnight {
        Some(midnight) => midnight - Duration::milliseconds(1),
        None => OffsetDateTime::new_in_offset(date, Time::MAX, offset),
    };
    (end.unix_timestamp_nanos() / 1_000_000) as i64
}

/// The heads of the part of `doc`'s history that counts at `until_ms` (see
/// the module doc), in one pass over the changes in causal order. Empty when
/// nothing counts yet.
pub fn heads_at(doc: &mut AutoCommit, until_ms: i64) -> Vec<ChangeHash> {
    heads_window(doc, until_ms).0
}

/// The moments `[from_ms, to_ms)` around one moment at which the same part
/// of a document's history counts: from the latest recorded time among the
/// changes that count (`i64::MIN` if none) to the earliest among those left
/// out for their time (`i64::MAX` if none). Every moment in it has the same
/// [`heads_at`], so what was read at one of them holds for all: a reading
/// at the end of today stays good on every later day until a change arrives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Window {
    pub from_ms: i64,
    pub to_ms: i64,
}

impl Window {
    pub fn contains(&self, ms: i64) -> bool {
        self.from_ms <= ms && ms < self.to_ms
    }
}

/// [`heads_at`], and the [`Window`] of moments with those same heads.
pub fn heads_window(doc: &mut AutoCommit, until_ms: i64) -> (Vec<ChangeHash>, Window) {
    let plan = plan_heads_window(doc, until_ms, None);
    (plan.heads, plan.window)
}

/// What [`plan_heads_window`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlanHeads {
    /// The heads of what counts at the moment (empty: nothing yet).
    pub heads: Vec<ChangeHash>,
    /// The moments with those same heads, for this same adoption day.
    pub window: Window,
    /// When the roadmap was first recorded here: the earliest recorded
    /// time of its changes (an import's time, a new roadmap's first
    /// stamp); `None` when none has a time.
    pub recorded_ms: Option<i64>,
    /// Whether its plan came from a file: only then does an adoption
    /// date count (see the module doc).
    pub imported: bool,
}

/// [`heads_window`] for a roadmap whose plan was adopted on the day
/// starting at `adopted_from_ms` (`None`: not stated): on a moment from
/// then on, the first import and everything it depends on count whatever
/// their recorded time (see the module doc).
pub fn plan_heads_window(doc: &mut AutoCommit, until_ms: i64, adopted_from_ms: Option<i64>) -> PlanHeads {
    let changes = doc.get_changes_meta(&[]);
    let import = changes.iter().position(|c| c.message.as_deref().is_some_and(is_import));
    let recorded_ms = changes.iter().filter_map(|c| change_time_ms(c.timestamp)).min();
    // The import and what it depends on, when they count before their time.
    let mut plan: HashSet<ChangeHash> = HashSet::new();
    let mut window = Window { from_ms: i64::MIN, to_ms: i64::MAX };
    if let (Some(import), Some(from)) = (import, adopted_from_ms) {
        if until_ms >= from {
            window.from_ms = from;
            let deps: HashMap<ChangeHash, &[ChangeHash]> =
                changes[..=import].iter().map(|c| (c.hash, c.deps.as_slice())).collect();
            let mut next = vec![changes[import].hash];
            while let Some(hash) = next.pop() {
                if plan.insert(hash) {
                    next.extend(deps.get(&hash).copied().unwrap_or_default());
                }
            }
        } else {
            window.to_ms = from;
        }
    }
    let mut counted: HashSet<ChangeHash> = HashSet::new();
    let mut heads: BTreeSet<ChangeHash> = BTreeSet::new();
    for change in &changes {
        let time = change_time_ms(change.timestamp);
        let in_time = time.is_none_or(|t| t <= until_ms);
        let in_plan = plan.contains(&change.hash);
        // Changes come in causal order, so a dependency not counted by now
        // never will be.
        if (in_time || in_plan) && change.deps.iter().all(|dep| counted.contains(dep)) {
            for dep in &change.deps {
                heads.remove(dep);
            }
            heads.insert(change.hash);
            counted.insert(change.hash);
            if let Some(t) = time.filter(|_| in_time) {
                window.from_ms = window.from_ms.max(t);
            }
        } else if let Some(t) = time.filter(|t| *t > until_ms) {
            // Left out for its time: it (and what depends on it) would
            // count from `t` on. One left out only for a dependency counts
            // no sooner than that dependency, which bounds the window.
            window.to_ms = window.to_ms.min(t);
        }
    }
    PlanHeads { heads: heads.into_iter().collect(), window, recorded_ms, imported: import.is_some() }
}

/// The first millisecond of `date` in the time zone `offset`: where an
/// adoption day starts for [`plan_heads_window`].
pub fn start_of_day_ms(date: Date, offset: UtcOffset) -> i64 {
    match date.previous_day() {
        Some(before) => end_of_day_ms(before, offset) + 1,
        None => i64::MIN,
    }
}

/// The roadmap as it stood at the end of `date` in the time zone `offset`,
/// its plan counted from its adoption date (see the module doc): what a
/// report on a date shows. `None` if nothing of it counts then. (Without
/// the adoption date, a roadmap, school file or catalogue as it stood at a
/// moment is [`crate::typed_doc::TypedDoc::read_until`].)
pub fn roadmap_on(doc: &mut RoadmapDoc, date: Date, offset: UtcOffset) -> Option<Roadmap> {
    let adopted = doc.adopted_on().map(|day| start_of_day_ms(day, offset));
    let heads = plan_heads_window(doc.automerge(), end_of_day_ms(date, offset), adopted).heads;
    doc.read_at(&heads)
}

/// What a roadmap's execution depended on at `until_ms` ([`Progress`]),
/// or `None` if it did not exist yet: [`RoadmapDoc::read_until`]'s
/// judgement of the past, reading only the statuses and deadlines. The monitoring dashboard's hot path.
pub fn progress_at(doc: &mut RoadmapDoc, until_ms: i64) -> Option<Progress> {
    let heads = heads_at(doc.automerge(), until_ms);
    progress_at_heads(doc, &heads)
}

/// [`progress_at`] for heads already found by [`heads_at`] (a caller that
/// keeps results by heads reads a document again only when they moved).
pub fn progress_at_heads(doc: &mut RoadmapDoc, heads: &[ChangeHash]) -> Option<Progress> {
    if heads.is_empty() {
        return None;
    }
    let now = heads == doc.automerge().get_heads();
    doc.progress((!now).then_some(heads))
}

/// What starts the signature line of a change message.
const SIGNATURE: &str = "\n— ";

/// `message` signed by `author` (see the module doc). The author's name is
/// put on one line with single spaces; a blank name leaves the message
/// unsigned.
pub fn signed(message: &str, author: &str) -> String {
    let author = author.split_whitespace().collect::<Vec<_>>().join(" ");
    if author.is_empty() { message.to_owned() } else { format!("{message}{SIGNATURE}{author}") }
}

/// The action of the change that imports a roadmap from `file_name`.
pub fn import_action(file_name: &str) -> String {
    let name: String = file_name.chars().filter(|c| !c.is_control()).take(200).collect();
    format!("{IMPORT_ACTION} {name}")
}

/// How an import's action starts (older imports wrote it alone).
const IMPORT_ACTION: &str = "import .docx";

/// Whether `doc`'s plan came from a file (it has an import change): only
/// then does its adoption date count (see the module doc).
pub fn imported(doc: &mut AutoCommit) -> bool {
    doc.get_changes_meta(&[]).iter().any(|c| c.message.as_deref().is_some_and(is_import))
}

/// Whether a change `message` is an import's ([`import_action`], signed or not).
fn is_import(message: &str) -> bool {
    message.starts_with(IMPORT_ACTION)
}

/// A change message read back: the action, and the author when signed.
pub fn signature(message: &str) -> (String, Option<String>) {
    match message.rsplit_once(SIGNATURE) {
        Some((action, author)) if !author.trim().is_empty() && !author.contains('\n') => {
            (action.to_owned(), Some(author.trim().to_owned()))
        }
        _ => (message.to_owned(), None),
    }
}

/// The messages our undo stack writes itself, unsigned (undo and redo). Such
/// a change takes the author of its actor's last signed change: an actor is
/// one device's session with the roadmap, and an undo there always follows a
/// signed action of the person working in it.
const UNSIGNED_IN_SESSION: [&str; 2] = ["undo", "redo"];

/// Typing runs closer than this (in milliseconds) in one field by one
/// author are one entry of an activity's history: each keystroke is a change.
const TYPING_RUN_MS: i64 = 10 * 60 * 1000;
/// Values longer than this (in characters) are cut in descriptions.
const VALUE_CHARS: usize = 80;

/// One entry of an activity's history: a change, or a typing run of several.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActivityChange {
    /// The (last) change of the entry.
    pub hash: ChangeHash,
    /// When, in Unix milliseconds; `None` when not recorded.
    pub time_ms: Option<i64>,
    /// Who, from the signature; `None` for unsigned changes.
    pub author: Option<String>,
    /// The action the message names («set status», «edit text», «undo»).
    pub action: String,
    /// What it did to the activity.
    pub what: Vec<WhatChanged>,
    /// How many changes this entry stands for (typing is one per keystroke).
    pub changes: usize,
}

/// One thing a change did to an activity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WhatChanged {
    Created,
    Deleted,
    Restored,
    /// Moved within its section or to another one.
    Moved,
    /// A field's value, as the author saw it before and as they left it.
    /// `key` is the document key ([`ActivityField::key`], `status`,
    /// `completed_on`).
    Field {
        key: String,
        before: String,
        after: String,
    },
}

impl ActivityChange {
    /// Who, for people: the author or «неизвестно».
    pub fn author_ru(&self) -> &str {
        self.author.as_deref().unwrap_or("неизвестно")
    }

    /// What happened, in Russian: «Срок: «март» → «апрель»; Статус: …».
    pub fn describe_ru(&self) -> String {
        let parts: Vec<String> = self.what.iter().map(WhatChanged::describe_ru).collect();
        let text = if parts.is_empty() { "Изменено".to_owned() } else { parts.join("; ") };
        if let Some(rest) = self.action.strip_prefix(IMPORT_ACTION) {
            let file = rest.trim();
            return if file.is_empty() {
                "Импортировано из файла .docx".to_owned()
            } else {
                format!("Импортировано из файла «{file}»")
            };
        }
        match self.action.as_str() {
            "undo" => format!("Отмена: {text}"),
            "redo" => format!("Повтор: {text}"),
            _ => text,
        }
    }
}

impl WhatChanged {
    pub fn describe_ru(&self) -> String {
        match self {
            WhatChanged::Created => "Добавлено мероприятие".into(),
            WhatChanged::Deleted => "Удалено".into(),
            WhatChanged::Restored => "Восстановлено".into(),
            WhatChanged::Moved => "Перемещено".into(),
            WhatChanged::Field { key, before, after } => {
                let label = field_label_ru(key);
                let (before, after) = shown_pair(key, before, after);
                match (before.is_empty(), after.is_empty()) {
                    (true, _) => format!("{label}: «{after}»"),
                    (false, true) => format!("{label}: очищено (было «{before}»)"),
                    (false, false) => format!("{label}: «{before}» → «{after}»"),
                }
            }
        }
    }
}

/// A short Russian name of an activity field, by document key.
pub fn field_label_ru(key: &str) -> &str {
    match key {
        "status" => "Статус",
        "completed_on" => "Дата исполнения",
        "status_note" => "Комментарий к статусу",
        "status_evidence" => "Подтверждение исполнения",
        _ => match ActivityField::from_key(key) {
            Some(ActivityField::Number) => "Номер",
            Some(ActivityField::Description) => "Содержание",
            Some(ActivityField::Form) => "Форма проведения",
            Some(ActivityField::Deadline) => "Срок",
            Some(ActivityField::Responsible) => "Ответственный",
            Some(ActivityField::Indicator) => "Показатель",
            Some(ActivityField::ReportForm) => "Форма отчёта",
            Some(ActivityField::Evidence) => "Подтверждение",
            Some(ActivityField::Comments) => "Комментарий",
            None => key,
        },
    }
}

/// A value before and after a change as people read them: a status by its
/// label, a date as DD.MM.YYYY, long text cut — around where the two
/// differ, so an edit near the end of a long text does not show as two
/// equal beginnings.
fn shown_pair(key: &str, before: &str, after: &str) -> (String, String) {
    match key {
        "status" | "completed_on" => (shown_value(key, before), shown_value(key, after)),
        _ => {
            let words =
                |v: &str| v.split_whitespace().collect::<Vec<_>>().join(" ").chars().collect::<Vec<_>>();
            let (before, after) = (words(before), words(after));
            let same = before.iter().zip(&after).take_while(|(a, b)| a == b).count();
            // Up to a third of the excerpt before the first difference.
            let from = same.saturating_sub(VALUE_CHARS / 3);
            let from = if from <= 1 { 0 } else { from };
            (excerpt(&before, from), excerpt(&after, from))
        }
    }
}

/// `VALUE_CHARS` of `chars` from `from`, with «…» where it was cut.
fn excerpt(chars: &[char], from: usize) -> String {
    if chars.is_empty() {
        return String::new();
    }
    let from = from.min(chars.len().saturating_sub(1));
    let mut out = String::new();
    let mut room = VALUE_CHARS;
    if from > 0 {
        out.push('…');
        room -= 1;
    }
    let rest = &chars[from..];
    if rest.len() > room {
        out.extend(&rest[..room - 1]);
        out.push('…');
    } else {
        out.extend(rest);
    }
    out
}

/// A stored value as people read it: a status by its label, a date as
/// DD.MM.YYYY, long text cut.
fn shown_value(key: &str, value: &str) -> String {
    match key {
        "status" if !value.is_empty() => Status::parse(value).label_ru().to_owned(),
        "completed_on" => crate::deadline::parse_iso(value).map_or_else(|| value.to_owned(), crate::ru::date),
        _ => excerpt(&value.split_whitespace().collect::<Vec<_>>().join(" ").chars().collect::<Vec<_>>(), 0),
    }
}

/// Who changed `activity`, what and when, oldest first (causal order: a
/// change comes after everything its author had seen). See
/// [`activity_changes`].
pub fn activity_history(doc: &mut RoadmapDoc, activity: &RowId) -> Vec<ActivityChange> {
    activity_changes(doc.automerge(), activity)
}

/// [`activity_history`] on the Automerge document itself.
///
/// How: the activity is a map under `activities` whose fields are scalars
/// (status, date, place, deleted flag) and Text objects. Every change that
/// descends from the one creating the row is decoded, and those with an
/// operation on the row's map or on one of its texts are kept; each field
/// they touched is read at the change's parents and at the change itself,
/// which is the value before and after as its author saw them (also for
/// concurrent changes). Undo and redo, which the undo stack writes unsigned,
/// take the author of the same actor's last signed change (see
/// `UNSIGNED_IN_SESSION`). Consecutive keystrokes in one field by one author
/// are joined into one entry; an entry that changed nothing visible (text
/// typed and erased) is left out. Empty for an unknown activity.
pub fn activity_changes(doc: &mut AutoCommit, activity: &RowId) -> Vec<ActivityChange> {
    let now = View::now(&*doc);
    let Some(row) = now.map(&ROOT, "activities").and_then(|map| now.map(&map, activity.as_str())) else {
        return Vec::new();
    };
    let ObjId::Id(counter, actor, _) = &row else { return Vec::new() };
    let row_op = OpId(*counter, actor.clone());
    let Some(created_in) = doc.hash_for_opid(&row) else { return Vec::new() };
    // The row's map (None) and its texts (the field key), by object id.
    let mut objects: HashMap<OpId, Option<String>> = HashMap::from([(row_op.clone(), None)]);
    let mut descendants: HashSet<ChangeHash> = HashSet::new();
    // Each actor's last signed author so far, for undo stack messages.
    let mut signed_by: HashMap<automerge::ActorId, String> = HashMap::new();
    let mut entries: Vec<ActivityChange> = Vec::new();
    for change in doc.get_changes(&[]) {
        let hash = change.hash();
        let (action, mut author) = signature(change.message().unwrap_or_default());
        match &author {
            Some(name) => {
                signed_by.insert(change.actor_id().clone(), name.clone());
            }
            None if UNSIGNED_IN_SESSION.contains(&action.as_str()) => {
                author = signed_by.get(change.actor_id()).cloned();
            }
            None => {}
        }
        if hash != created_in && !change.deps().iter().any(|d| descendants.contains(d)) {
            continue;
        }
        descendants.insert(hash);
        let expanded = change.decode();
        let start = expanded.start_op.get();
        let created = hash == created_in;
        let mut keys: Vec<String> = Vec::new();
        for (i, op) in expanded.operations.iter().enumerate() {
            let ObjectId::Id(obj) = &op.obj else { continue };
            let Some(field) = objects.get(obj) else { continue };
            let key = match (field, &op.key) {
                (Some(text_key), _) => text_key.clone(),
                (None, Key::Map(key)) => key.to_string(),
                (None, Key::Seq(_)) => continue,
            };
            if field.is_none() && matches!(op.action, OpType::Make(_)) {
                objects.insert(OpId(start + i as u64, expanded.actor_id.clone()), Some(key.clone()));
            }
            if !keys.contains(&key) {
                keys.push(key);
            }
        }
        if !created && keys.is_empty() {
            continue;
        }
        let what = if created {
            vec![WhatChanged::Created]
        } else {
            what_changed(doc, &row, &keys, change.deps(), hash)
        };
        let entry = ActivityChange {
            hash,
            time_ms: change_time_ms(change.timestamp()),
            author,
            action,
            what,
            changes: 1,
        };
        match typing_run_to_join(&entries, &entry) {
            Some(i) => {
                // Brought to the end: it is the latest entry now.
                let mut run = entries.remove(i);
                if let (Some(WhatChanged::Field { after, .. }), Some(WhatChanged::Field { after: new, .. })) =
                    (run.what.first_mut(), entry.what.into_iter().next())
                {
                    *after = new;
                }
                run.hash = entry.hash;
                run.time_ms = entry.time_ms;
                run.changes += 1;
                entries.push(run);
            }
            None => entries.push(entry),
        }
    }
    entries.retain(|e| {
        !e.what.is_empty()
            && e.what
                .iter()
                .any(|w| !matches!(w, WhatChanged::Field { before, after, .. } if before == after))
    });
    entries
}

/// What a change (`deps` → `hash`) did to the row's fields named in `keys`.
fn what_changed(
    doc: &AutoCommit,
    row: &ObjId,
    keys: &[String],
    deps: &[ChangeHash],
    hash: ChangeHash,
) -> Vec<WhatChanged> {
    let after_heads = [hash];
    let mut what = Vec::new();
    for key in keys {
        match key.as_str() {
            "deleted" => {
                let deleted = View::at(doc, &after_heads).bool(row, "deleted");
                what.push(if deleted { WhatChanged::Deleted } else { WhatChanged::Restored });
            }
            "pos" | "section" => {
                if !what.contains(&WhatChanged::Moved) {
                    what.push(WhatChanged::Moved);
                }
            }
            _ => {
                let before = value_at(doc, row, key, deps);
                let after = value_at(doc, row, key, &after_heads);
                if before != after {
                    what.push(WhatChanged::Field { key: key.clone(), before, after });
                }
            }
        }
    }
    what
}

/// A field of the row (text or string) as it stood at `heads`; empty when
/// absent.
fn value_at(doc: &AutoCommit, row: &ObjId, key: &str, heads: &[ChangeHash]) -> String {
    if heads.is_empty() {
        return String::new();
    }
    View::at(doc, heads).text(row, key)
}

/// The field `e` types in, if it is typing in one text field.
fn typed_field(e: &ActivityChange) -> Option<&str> {
    match e.what.as_slice() {
        [WhatChanged::Field { key, .. }] if e.action == "edit text" => Some(key),
        _ => None,
    }
}

/// Whether `next` continues `last`'s typing in one field (see [`TYPING_RUN_MS`]).
fn joins_typing_run(last: &ActivityChange, next: &ActivityChange) -> bool {
    let close = matches!((last.time_ms, next.time_ms), (Some(a), Some(b)) if (b - a).abs() <= TYPING_RUN_MS);
    close
        && last.author == next.author
        && typed_field(last).is_some()
        && typed_field(last) == typed_field(next)
}

/// Which entry `next` continues, if any: the last one, or, while two people
/// type in the same field at once, that author's own run behind the
/// other's (keystrokes that alternate would otherwise be an entry each).
fn typing_run_to_join(entries: &[ActivityChange], next: &ActivityChange) -> Option<usize> {
    let field = typed_field(next)?;
    for (i, entry) in entries.iter().enumerate().rev() {
        if joins_typing_run(entry, next) {
            return Some(i);
        }
        // Only others' typing in the same field may stand between.
        if typed_field(entry) != Some(field) || entry.author == next.author {
            return None;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, offset};

    #[test]
    fn seconds_and_milliseconds() {
        assert_eq!(change_time_ms(0), None);
        assert_eq!(change_time_ms(-5), None);
        assert_eq!(change_time_ms(1_650_000_000), Some(1_650_000_000_000));
        assert_eq!(change_time_ms(1_650_000_000_000), Some(1_650_000_000_000));
    }

    #[test]
    fn signatures_round_trip() {
        let message = signed("set status", "Иванова Мария");
        assert_eq!(message, "set status\n— Иванова Мария");
        assert_eq!(signature(&message), ("set status".to_owned(), Some("Иванова Мария".to_owned())));
        // Names are kept on one line; a blank one leaves the message unsigned.
        assert_eq!(signature(&signed("undo", " Петров\n  Пётр ")).1.as_deref(), Some("Петров Пётр"));
        assert_eq!(signed("undo", "  "), "undo");
        assert_eq!(signature("undo"), ("undo".to_owned(), None));
        assert_eq!(signature(""), (String::new(), None));
        // A message that itself holds a dash line keeps it in the action.
        let tricky = signed("note\n— quote", "Автор");
        assert_eq!(signature(&tricky), ("note\n— quote".to_owned(), Some("Автор".to_owned())));
    }

    #[test]
    fn descriptions_in_russian() {
        let field = |key: &str, before: &str, after: &str| WhatChanged::Field {
            key: key.into(),
            before: before.into(),
            after: after.into(),
        };
        assert_eq!(field("deadline", "март", "апрель").describe_ru(), "Срок: «март» → «апрель»");
        assert_eq!(field("status", "planned", "done").describe_ru(), "Статус: «Запланировано» → «Выполнено»");
        assert_eq!(field("completed_on", "", "2022-03-05").describe_ru(), "Дата исполнения: «05.03.2022»");
        assert_eq!(
            field("responsible", "Петров", "").describe_ru(),
            "Ответственный: очищено (было «Петров»)"
        );
        let long = "а".repeat(200);
        assert_eq!(
            field("description", "", &long).describe_ru().chars().count(),
            "Содержание: «»".chars().count() + 80
        );
        // An edit near the end of a long text shows where it was made.
        let text = format!("{} неуспевающих", "Индивидуальные планы работы ".repeat(6));
        let edited = format!("{} неуспевающих обучающихся", "Индивидуальные планы работы ".repeat(6));
        let said = field("description", &text, &edited).describe_ru();
        assert!(said.contains("неуспевающих»") && said.contains("неуспевающих обучающихся»"), "{said}");
        assert!(said.starts_with("Содержание: «…"), "{said}");
    }

    #[test]
    fn end_of_day_in_a_time_zone() {
        // 2022-03-01 23:59:59.999 in Moscow (UTC+3) is 20:59:59.999 UTC.
        assert_eq!(end_of_day_ms(date!(2022 - 03 - 01), offset!(+3)), 1_646_168_399_999);
        assert_eq!(end_of_day_ms(date!(2022 - 03 - 01), offset!(UTC)), 1_646_179_199_999);
    }
}
