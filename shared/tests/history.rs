//! Reading a roadmap as it stood at a moment, on hand-built histories with
//! explicit change times.

use automerge::transaction::{CommitOptions, Transactable};
use automerge::{AutoCommit, ObjType, ROOT};
use medk_shared::actions;
use medk_shared::doc::{Edit, NewRoadmap, RoadmapDoc, TextTarget};
use medk_shared::history::{heads_at, roadmap_at};
use medk_shared::ids::RowId;
use medk_shared::model::{Activity, ActivityField, Level, Roadmap, Status};

/// Milliseconds: hour `h` of a day in March 2022.
fn at(h: i64) -> i64 {
    1_646_092_800_000 + h * 3_600_000
}

fn id(n: u8) -> RowId {
    RowId::from_random([n; 8])
}

/// A roadmap (created with no recorded time) with one section.
fn roadmap() -> (RoadmapDoc, RowId) {
    let section = id(100);
    let doc = RoadmapDoc::create(
        &NewRoadmap {
            title: "Дорожная карта".into(),
            level: Level::School,
            territory: String::new(),
            year: Some(2022),
            columns: Level::School.default_columns(),
        },
        section.clone(),
    );
    (doc, section)
}

fn add(doc: &mut RoadmapDoc, section: &RowId, row: &RowId, time: i64) {
    let edit = actions::insert_activity(doc, section, None, row.clone());
    let text = Edit::SetText {
        target: TextTarget::Activity(row.clone(), ActivityField::Description),
        value: "Мероприятие".into(),
    };
    doc.apply(vec![edit, text], time, "add").unwrap();
}

fn set_status(doc: &mut RoadmapDoc, row: &RowId, status: Status, time: i64) {
    doc.apply(vec![Edit::SetStatus { activity: row.clone(), status }], time, "status").unwrap();
}

fn set_description(doc: &mut RoadmapDoc, row: &RowId, text: &str, time: i64) {
    let target = TextTarget::Activity(row.clone(), ActivityField::Description);
    doc.apply(vec![Edit::SetText { target, value: text.into() }], time, "text").unwrap();
}

fn find<'a>(roadmap: &'a Roadmap, row: &RowId) -> Option<&'a Activity> {
    roadmap.sections.iter().flat_map(|s| &s.activities).find(|a| &a.id == row)
}

fn status_at(doc: &mut RoadmapDoc, row: &RowId, time: i64) -> Status {
    let then = roadmap_at(doc, time).expect("the roadmap existed");
    find(&then, row).expect("the activity existed").status
}

#[test]
fn marked_done_after_the_date_reads_not_done() {
    let (mut doc, section) = roadmap();
    let a = id(1);
    add(&mut doc, &section, &a, at(1));
    set_status(&mut doc, &a, Status::Done, at(5));
    assert_eq!(status_at(&mut doc, &a, at(4)), Status::Planned);
    assert_eq!(status_at(&mut doc, &a, at(5)), Status::Done);
}

#[test]
fn done_then_undone_reads_done_only_in_between() {
    let (mut doc, section) = roadmap();
    let a = id(1);
    add(&mut doc, &section, &a, at(1));
    set_status(&mut doc, &a, Status::Done, at(2));
    set_status(&mut doc, &a, Status::Planned, at(4));
    assert_eq!(status_at(&mut doc, &a, at(1)), Status::Planned);
    assert_eq!(status_at(&mut doc, &a, at(3)), Status::Done);
    assert_eq!(status_at(&mut doc, &a, at(5)), Status::Planned);
}

#[test]
fn added_after_the_date_is_absent() {
    let (mut doc, section) = roadmap();
    let (a, b) = (id(1), id(2));
    add(&mut doc, &section, &a, at(1));
    add(&mut doc, &section, &b, at(3));
    let then = roadmap_at(&mut doc, at(2)).unwrap();
    assert!(find(&then, &a).is_some());
    assert!(find(&then, &b).is_none());
    assert_eq!(then.activity_count(), 1);
    // After the last change: the current roadmap.
    assert_eq!(roadmap_at(&mut doc, at(10)).unwrap(), doc.read());
}

#[test]
fn concurrent_changes_from_two_replicas() {
    let (mut doc, section) = roadmap();
    let (a, b) = (id(1), id(2));
    add(&mut doc, &section, &a, at(1));
    add(&mut doc, &section, &b, at(1));
    let mut other = doc.fork();
    set_status(&mut doc, &a, Status::Done, at(2));
    set_description(&mut other, &b, "Семинар для учителей", at(4));
    set_status(&mut other, &b, Status::Done, at(6));
    doc.merge(&mut other).unwrap();

    let then = roadmap_at(&mut doc, at(3)).unwrap();
    assert_eq!(find(&then, &a).unwrap().status, Status::Done);
    assert_eq!(find(&then, &b).unwrap().description, "Мероприятие");

    let then = roadmap_at(&mut doc, at(5)).unwrap();
    assert_eq!(find(&then, &b).unwrap().description, "Семинар для учителей");
    assert_eq!(find(&then, &b).unwrap().status, Status::Planned);

    assert_eq!(roadmap_at(&mut doc, at(6)).unwrap(), doc.read());
}

/// A device whose clock is behind records an early time on a change it made
/// after seeing a later one: the change cannot be shown without what it
/// builds on, so it counts only from its dependency's time.
#[test]
fn a_change_counts_only_with_its_dependencies() {
    let (mut doc, section) = roadmap();
    let a = id(1);
    add(&mut doc, &section, &a, at(1));
    set_status(&mut doc, &a, Status::Done, at(5));
    set_description(&mut doc, &a, "Исправлено", at(2));
    let then = roadmap_at(&mut doc, at(3)).unwrap();
    let activity = find(&then, &a).unwrap();
    assert_eq!(activity.description, "Мероприятие");
    assert_eq!(activity.status, Status::Planned);
    let then = roadmap_at(&mut doc, at(5)).unwrap();
    assert_eq!(find(&then, &a).unwrap().description, "Исправлено");
}

#[test]
fn creation_without_a_time_counts_always() {
    let (mut doc, section) = roadmap();
    add(&mut doc, &section, &id(1), at(1));
    let then = roadmap_at(&mut doc, 1).unwrap();
    assert_eq!(then.header.title, "Дорожная карта");
    assert_eq!(then.activity_count(), 0);
}

#[test]
fn before_the_first_change_there_is_nothing() {
    let mut doc = AutoCommit::new();
    doc.put(ROOT, "kind", "medk/roadmap").unwrap();
    doc.commit_with(CommitOptions::default().with_time(at(2)));
    assert!(heads_at(&mut doc, at(1)).is_empty());
    assert_eq!(heads_at(&mut doc, at(2)), doc.get_heads());
}

/// Automerge's JavaScript clients record seconds.
#[test]
fn times_in_seconds_are_understood() {
    let mut doc = AutoCommit::new();
    doc.put(ROOT, "x", 1).unwrap();
    doc.commit_with(CommitOptions::default().with_time(at(2) / 1000));
    assert!(heads_at(&mut doc, at(2) - 1).is_empty());
    assert_eq!(heads_at(&mut doc, at(2)), doc.get_heads());
}

/// A roadmap whose creation recorded a time (written by another program)
/// did not exist before it.
#[test]
fn before_a_timed_creation_there_is_no_roadmap() {
    let mut created = AutoCommit::new();
    created.put(ROOT, "kind", "medk/roadmap").unwrap();
    created.put(ROOT, "schema", 1).unwrap();
    for key in ["header", "sections", "activities", "members"] {
        created.put_object(ROOT, key, ObjType::Map).unwrap();
    }
    created.put_object(ROOT, "columns", ObjType::List).unwrap();
    created.commit_with(CommitOptions::default().with_time(at(2)));
    let mut doc = RoadmapDoc::from_automerge(created).unwrap();
    assert_eq!(roadmap_at(&mut doc, at(1)), None);
    assert_eq!(roadmap_at(&mut doc, at(2)), Some(doc.read()));
}
