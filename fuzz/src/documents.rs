//! The `documents` target: arbitrary changes, made by a hostile Automerge
//! peer, to a valid roadmap, school file or catalogue; then every reader of
//! that kind of document, and the relay's vetting of those changes.
//!
//! Checked, besides "no panic" anywhere:
//! - every reader answers on whatever the changes left (what does not fit
//!   reads as empty), at the present and at past moments;
//! - the vetting of roadmaps ([`layout::vet_changes`]) is sound: when it
//!   takes the changes, the roadmap it yields reads exactly as the layout
//!   says ([`RoadmapDoc::problems`] is empty), so no device shows a warning
//!   for what the relay let through;
//! - the school file vetting ([`school::vet_changes`]) answers for every
//!   kind of sender.
//!
//! Input: a byte choosing the document (modulo 3: roadmap, school file,
//! catalogue), then operations of the hostile peer, four bytes each as
//! [`Op`] reads them (past the end every byte reads as 0); a change is
//! committed every few of them, so the vetting sees several changes.

use automerge::transaction::Transactable as _;
use automerge::{ActorId, AutoCommit, Automerge, ObjId, ObjType, ROOT, ReadDoc as _, ScalarValue};
use medk_shared::access::{Level, SchoolPowers};
use medk_shared::catalogue::CatalogueDoc;
use medk_shared::doc::{Edit, NewRoadmap, RoadmapDoc, TextTarget};
use medk_shared::ids::RowId;
use medk_shared::layout;
use medk_shared::model::{ActivityField, HeaderField};
use medk_shared::school::{self, SchoolDoc};

/// Operations run per input.
const MAX_OPS: usize = 64;

/// Keys the hostile peer writes: every key of the layouts, and a stranger.
const KEYS: [&str; 32] = [
    "kind",
    "schema",
    "header",
    "columns",
    "sections",
    "activities",
    "members",
    "nonce",
    "creator",
    "title",
    "territory",
    "level",
    "year",
    "field",
    "pos",
    "deleted",
    "section",
    "status",
    "completed_on",
    "description",
    "deadline",
    "name",
    "visits",
    "documents",
    "risks",
    "assignment",
    "reviews",
    "decision",
    "factors",
    "stages",
    "required",
    "x",
];

/// Runs one input.
pub fn run(data: &[u8]) {
    let mut input = Input { data, pos: 0 };
    match input.byte() % 3 {
        0 => roadmap(&mut input),
        1 => school_file(&mut input),
        _ => catalogue(&mut input),
    }
}

fn roadmap(input: &mut Input<'_>) {
    let section = RowId::new("s1");
    let mut doc = RoadmapDoc::create(
        &NewRoadmap {
            title: "Дорожная карта".into(),
            level: Level::School,
            territory: "Школа".into(),
            year: Some(2022),
            columns: Level::School.default_columns(),
        },
        section.clone(),
    );
    let activity = medk_shared::actions::insert_activity(&doc, &section, None, RowId::new("a1"));
    let text = Edit::SetText {
        target: TextTarget::Activity(RowId::new("a1"), ActivityField::Deadline),
        value: "март 2022".into(),
    };
    doc.apply(vec![activity, text], 1_650_000_000_000, "add").expect("a fresh roadmap takes an activity");
    let id = doc.stamp_origin("person", [3; 16], 1_650_000_000_000);
    let before = Automerge::load(&doc.save()).expect("loads");
    let mut hostile = hostile(doc.automerge());
    play(input, &mut hostile);
    let (after, changes) = applied(&before, &mut hostile);
    let verdict = layout::vet_changes(&before, &after, &changes);
    let _ = layout::check_origin(&after, &id, "person");
    // Every reader, on whatever the changes left.
    let mut read = match RoadmapDoc::from_automerge(AutoCommit::load(&after.save()).expect("loads")) {
        Ok(read) => read,
        Err(e) => {
            assert!(verdict.is_err(), "the relay took changes after which the roadmap does not open: {e}");
            return;
        }
    };
    let problems = read.problems();
    if verdict.is_ok() {
        assert_eq!(problems, vec![], "the relay took changes that leave the roadmap off its layout");
    }
    let roadmap = read.read();
    let _ = (read.header(), read.columns(), read.activity_count(), read.progress(None));
    for section in &roadmap.sections {
        let _ = read.text(&TextTarget::Section(section.id.clone()));
        for activity in &section.activities {
            let _ = read.activity(&activity.id);
            let _ = read.activity_place(&activity.id);
            let _ = medk_shared::history::activity_history(&mut read, &activity.id);
        }
    }
    let _ = read.text(&TextTarget::Header(HeaderField::Title));
    for moment in [0, 1_650_000_000_000, 1_700_000_000_000, i64::MAX] {
        let _ = read.read_until(moment);
        let _ = medk_shared::history::progress_at(&mut read, moment);
    }
    // And an edit on top of it answers too (an error or a change).
    let _ = read.apply(
        vec![Edit::SetText {
            target: TextTarget::Activity(RowId::new("a1"), ActivityField::Description),
            value: "x".into(),
        }],
        1_700_000_000_000,
        "edit",
    );
}

fn school_file(input: &mut Input<'_>) {
    let mut file = SchoolDoc::genesis("s1");
    let visit = school::Visit {
        id: RowId::new("v1"),
        date: "2022-03-01".into(),
        purpose: "визит".into(),
        people_met: String::new(),
        findings: String::new(),
        recommendations: String::new(),
        evaluation: String::new(),
        author: school::PersonRef { id: "c".into(), name: "Куратор".into() },
    };
    file.apply(vec![school::SchoolEdit::PutVisit(visit)], 1_650_000_000_000, "visit").expect("a visit");
    let before = Automerge::load(&file.save()).expect("loads");
    let mut hostile = hostile(file.automerge());
    play(input, &mut hostile);
    let (after, changes) = applied(&before, &mut hostile);
    for (curate, assign) in [(false, false), (true, false), (true, true)] {
        let sender =
            school::Sender { id: "t", powers: SchoolPowers { curate, assign }, now_ms: 1_700_000_000_000 };
        let _ = school::vet_changes("s1", &before, &after, &changes, &sender);
    }
    let _ = layout::vet_changes(&before, &after, &changes);
    let Ok(mut read) = SchoolDoc::from_automerge(AutoCommit::load(&after.save()).expect("loads")) else {
        return;
    };
    let _ = (read.read(), read.problems());
    for moment in [0, 1_650_000_000_000, i64::MAX] {
        let _ = read.read_until(moment);
    }
}

fn catalogue(input: &mut Input<'_>) {
    let mut file = CatalogueDoc::genesis();
    let before = Automerge::load(&file.save()).expect("loads");
    let mut hostile = hostile(file.automerge());
    play(input, &mut hostile);
    let (after, _) = applied(&before, &mut hostile);
    let Ok(mut read) = CatalogueDoc::from_automerge(AutoCommit::load(&after.save()).expect("loads")) else {
        return;
    };
    let _ = (read.read(), read.problems());
    for moment in [0, i64::MAX] {
        let _ = read.read_until(moment);
    }
}

/// A replica of `doc` for the hostile peer, with an actor of its own.
fn hostile(doc: &mut AutoCommit) -> AutoCommit {
    doc.fork().with_actor(ActorId::from(b"hostile-peer-001".as_slice()))
}

/// What the relay does: `before` with the peer's new changes applied, and
/// those changes.
fn applied(before: &Automerge, hostile: &mut AutoCommit) -> (Automerge, Vec<automerge::Change>) {
    let changes: Vec<automerge::Change> = hostile
        .get_changes(&[])
        .into_iter()
        .filter(|c| before.get_change_by_hash(&c.hash()).is_none())
        .collect();
    let mut after = before.clone();
    after.apply_changes(changes.clone()).expect("the peer's own changes apply");
    (after, changes)
}

/// Plays the input's operations on `doc`, committing every few.
fn play(input: &mut Input<'_>, doc: &mut AutoCommit) {
    for step in 0..MAX_OPS {
        if input.done() {
            break;
        }
        let objects = objects(doc);
        let (obj, kind) = objects[usize::from(input.byte()) % objects.len()].clone();
        let code = input.byte();
        let key = KEYS[usize::from(input.byte()) % KEYS.len()];
        let arg = input.byte();
        let value = scalar(code >> 4, arg);
        let index = |doc: &AutoCommit| {
            let len = doc.length(&obj);
            if len == 0 { 0 } else { usize::from(arg) % (len + 1) }
        };
        // Errors are fine: the peer tries things Automerge refuses.
        let _ = match (kind, code % 8) {
            (ObjType::Map | ObjType::Table, 0..=2) => doc.put(&obj, key, value),
            (ObjType::Map | ObjType::Table, 3) => doc.put_object(&obj, key, object_type(arg)).map(drop),
            (ObjType::Map | ObjType::Table, 4) => doc.delete(&obj, key),
            (ObjType::Map | ObjType::Table, 5) => doc.increment(&obj, key, i64::from(arg)),
            (ObjType::Map | ObjType::Table, _) => doc
                .put_object(&obj, key, ObjType::Text)
                .and_then(|t| doc.splice_text(&t, 0, 0, &"я".repeat(usize::from(arg)))),
            (ObjType::Text, 0..=3) => {
                let at = index(doc);
                doc.splice_text(&obj, at, 0, &"ё".repeat(usize::from(arg % 8) + 1))
            }
            (ObjType::Text, 4) => {
                let at = index(doc);
                doc.splice_text(&obj, at.saturating_sub(1), isize::from(arg % 3), "")
            }
            (_, 0..=2) => {
                let at = index(doc);
                doc.insert(&obj, at, value)
            }
            (_, 3) => {
                let at = index(doc);
                doc.insert_object(&obj, at, object_type(arg)).map(drop)
            }
            (_, 4) if doc.length(&obj) > 0 => {
                let at = index(doc).min(doc.length(&obj) - 1);
                doc.delete(&obj, at)
            }
            (_, 5) if doc.length(&obj) > 0 => {
                let at = index(doc).min(doc.length(&obj) - 1);
                doc.put(&obj, at, value)
            }
            _ => Ok(()),
        };
        if step % 4 == 3 {
            doc.commit();
        }
    }
    doc.commit();
}

/// Every object of the document (the root first), with its type.
fn objects(doc: &AutoCommit) -> Vec<(ObjId, ObjType)> {
    let mut found = vec![(ROOT, ObjType::Map)];
    let mut next = 0;
    while next < found.len() && found.len() < 200 {
        let (obj, kind) = found[next].clone();
        next += 1;
        let children: Vec<(ObjId, ObjType)> = match kind {
            ObjType::Map | ObjType::Table => doc
                .map_range(&obj, ..)
                .filter_map(|item| match item.value {
                    automerge::ValueRef::Object(t) => Some((item.id(), t)),
                    _ => None,
                })
                .collect(),
            ObjType::List => doc
                .list_range(&obj, ..)
                .filter_map(|item| match item.value {
                    automerge::ValueRef::Object(t) => Some((item.id(), t)),
                    _ => None,
                })
                .collect(),
            ObjType::Text => Vec::new(),
        };
        found.extend(children);
    }
    found
}

fn object_type(b: u8) -> ObjType {
    [ObjType::Map, ObjType::List, ObjType::Text, ObjType::Table][usize::from(b % 4)]
}

fn scalar(kind: u8, b: u8) -> ScalarValue {
    match kind % 10 {
        0 => ScalarValue::Str(KEYS[usize::from(b) % KEYS.len()].into()),
        1 => ScalarValue::Str(
            ["medk/roadmap", "done", "planned", "school", "number", "", "80"][usize::from(b) % 7].into(),
        ),
        2 => ScalarValue::Int(i64::from(b) - 128),
        3 => ScalarValue::Uint(u64::from(b)),
        4 => ScalarValue::Boolean(b % 2 == 0),
        5 => ScalarValue::Null,
        6 => ScalarValue::F64(f64::from(b) / 3.0),
        7 => ScalarValue::Bytes(vec![b; usize::from(b % 8)]),
        8 => ScalarValue::Timestamp(i64::from(b)),
        _ => ScalarValue::Str("x".repeat(usize::from(b) * 8).into()),
    }
}

/// The fuzzer's bytes, read front to back; past the end every byte is 0.
struct Input<'a> {
    data: &'a [u8],
    pos: usize,
}

impl Input<'_> {
    fn byte(&mut self) -> u8 {
        let b = self.data.get(self.pos).copied().unwrap_or(0);
        self.pos += 1;
        b
    }

    fn done(&self) -> bool {
        self.pos >= self.data.len()
    }
}
