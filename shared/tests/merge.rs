//! Concurrent editing of one roadmap on two replicas: whatever each side
//! did, merging in either direction gives the same roadmap and keeps both
//! sides' work.

use medk_shared::access::Level;
use medk_shared::actions::{self, Direction};
use medk_shared::doc::{Edit, NewRoadmap, RoadmapDoc, RowRef, TextTarget};
use medk_shared::ids::RowId;
use medk_shared::model::{ActivityField, Roadmap, Status};
use medk_shared::undo::UndoStack;

fn id(n: u8) -> RowId {
    RowId::from_random([n; 8])
}

/// A roadmap with one section holding activities `a1..=a{n}` numbered 1.1…
fn base(n: u8) -> (RoadmapDoc, RowId, Vec<RowId>) {
    let section = id(100);
    let mut doc = RoadmapDoc::create(
        &NewRoadmap {
            title: "Дорожная карта".into(),
            level: Level::School,
            territory: "МОУ Мышкинская СОШ".into(),
            year: Some(2022),
            columns: Level::School.default_columns(),
        },
        section.clone(),
    );
    let mut rows = Vec::new();
    let mut after: Option<RowId> = None;
    for i in 1..=n {
        let row = id(i);
        let edit = actions::insert_activity(&doc, &section, after.as_ref(), row.clone());
        doc.apply(
            vec![
                edit,
                Edit::SetText {
                    target: TextTarget::Activity(row.clone(), ActivityField::Description),
                    value: format!("Мероприятие {i}"),
                },
            ],
            0,
            "add",
        )
        .unwrap();
        after = Some(row.clone());
        rows.push(row);
    }
    (doc, section, rows)
}

/// Two replicas that share `doc`'s history, each with its own actor.
fn fork(doc: &mut RoadmapDoc) -> (RoadmapDoc, RoadmapDoc) {
    let bytes = doc.save();
    let a = RoadmapDoc::load(&bytes).unwrap();
    let mut b = RoadmapDoc::load(&bytes).unwrap();
    // A fresh actor for b: loading keeps a random new actor already, but be explicit.
    let b = b.fork();
    (a, b)
}

/// Merges both ways and asserts the replicas agree; returns the result.
fn merge_both_ways(a: &mut RoadmapDoc, b: &mut RoadmapDoc) -> Roadmap {
    let mut a2 = RoadmapDoc::load(&a.save()).unwrap();
    let mut b2 = RoadmapDoc::load(&b.save()).unwrap();
    a.merge(b).unwrap();
    b2.merge(&mut a2).unwrap();
    assert_eq!(a.heads().len(), b2.heads().len());
    let mut ha = a.heads();
    let mut hb = b2.heads();
    ha.sort();
    hb.sort();
    assert_eq!(ha, hb, "heads differ after merging both ways");
    let ra = a.read();
    assert_eq!(ra, b2.read(), "replicas read differently after merge");
    ra
}

fn set_text(doc: &mut RoadmapDoc, row: &RowId, field: ActivityField, value: &str) {
    doc.apply(
        vec![Edit::SetText { target: TextTarget::Activity(row.clone(), field), value: value.into() }],
        1,
        "edit",
    )
    .unwrap();
}

fn descriptions(r: &Roadmap) -> Vec<String> {
    r.sections.iter().flat_map(|s| s.activities.iter().map(|a| a.description.clone())).collect()
}

#[test]
fn same_activity_edited_and_rows_reordered_on_both_sides() {
    let (mut doc, section, rows) = base(5);
    let (mut a, mut b) = fork(&mut doc);

    // A edits the description of row 2 and its deadline, and moves row 5 to the top.
    set_text(&mut a, &rows[1], ActivityField::Description, "Мероприятие 2: семинар для учителей");
    set_text(&mut a, &rows[1], ActivityField::Deadline, "март 2022");
    let up = actions::move_activity_to(&a, &rows[4], &section, Some(&rows[0])).unwrap();
    a.apply(vec![up], 2, "move").unwrap();

    // B edits the same description (other end), the status and responsible of row 2,
    // and moves row 1 to the bottom.
    set_text(&mut b, &rows[1], ActivityField::Description, "Проведено: Мероприятие 2");
    set_text(&mut b, &rows[1], ActivityField::Responsible, "Директор");
    b.apply(vec![Edit::SetStatus { activity: rows[1].clone(), status: Status::Done }], 2, "status").unwrap();
    let down = actions::move_activity_to(&b, &rows[0], &section, None).unwrap();
    b.apply(vec![down], 3, "move").unwrap();

    let merged = merge_both_ways(&mut a, &mut b);
    let acts = &merged.sections[0].activities;
    assert_eq!(acts.len(), 5, "no row lost or duplicated");
    let order: Vec<&RowId> = acts.iter().map(|a| &a.id).collect();
    assert_eq!(order, vec![&rows[4], &rows[1], &rows[2], &rows[3], &rows[0]]);
    let two = acts.iter().find(|x| x.id == rows[1]).unwrap();
    assert_eq!(two.description, "Проведено: Мероприятие 2: семинар для учителей", "both text edits kept");
    assert_eq!(two.deadline, "март 2022");
    assert_eq!(two.responsible, "Директор");
    assert_eq!(two.status, Status::Done);
}

#[test]
fn concurrent_inserts_at_the_same_place_keep_both_rows() {
    let (mut doc, section, rows) = base(2);
    let (mut a, mut b) = fork(&mut doc);
    let ea = actions::insert_activity(&a, &section, Some(&rows[0]), id(50));
    a.apply(vec![ea], 1, "add").unwrap();
    set_text(&mut a, &id(50), ActivityField::Description, "от A");
    let eb = actions::insert_activity(&b, &section, Some(&rows[0]), id(51));
    b.apply(vec![eb], 1, "add").unwrap();
    set_text(&mut b, &id(51), ActivityField::Description, "от B");

    let merged = merge_both_ways(&mut a, &mut b);
    let d = descriptions(&merged);
    assert_eq!(d.len(), 4);
    assert_eq!(d[0], "Мероприятие 1");
    assert_eq!(d[3], "Мероприятие 2");
    assert!(d.contains(&"от A".to_string()) && d.contains(&"от B".to_string()));

    // Inserting between the two tied rows still works and keeps every row.
    let mut a = a;
    let between = actions::insert_activity(&a, &section, Some(&merged.sections[0].activities[1].id), id(52));
    a.apply(vec![between], 2, "add").unwrap();
    assert_eq!(a.read().activity_count(), 5);
}

#[test]
fn the_same_row_moved_on_both_sides_lands_once() {
    let (mut doc, section, rows) = base(4);
    let (mut a, mut b) = fork(&mut doc);
    let ea = actions::move_activity_to(&a, &rows[3], &section, Some(&rows[0])).unwrap();
    a.apply(vec![ea], 1, "move").unwrap();
    let eb = actions::move_activity_to(&b, &rows[3], &section, Some(&rows[2])).unwrap();
    b.apply(vec![eb], 1, "move").unwrap();
    let merged = merge_both_ways(&mut a, &mut b);
    let ids: Vec<&RowId> = merged.sections[0].activities.iter().map(|a| &a.id).collect();
    assert_eq!(ids.len(), 4);
    assert_eq!(ids.iter().filter(|&&i| *i == rows[3]).count(), 1);
}

#[test]
fn an_edit_concurrent_with_a_delete_survives_the_undo_of_the_delete() {
    let (mut doc, _section, rows) = base(3);
    let (mut a, mut b) = fork(&mut doc);
    let mut undo = UndoStack::new();
    undo.apply(&mut a, vec![actions::delete(RowRef::Activity(rows[1].clone()))], 1, "delete").unwrap();
    set_text(&mut b, &rows[1], ActivityField::Comments, "важное замечание");
    let merged = merge_both_ways(&mut a, &mut b);
    assert_eq!(merged.activity_count(), 2, "the delete wins while it stands");
    undo.undo(&mut a, 3).unwrap();
    let restored = a.read();
    assert_eq!(restored.activity_count(), 3);
    assert_eq!(restored.sections[0].activities[1].comments, "важное замечание");
}

#[test]
fn moving_across_sections_on_one_side_and_editing_on_the_other() {
    let (mut doc, section, rows) = base(3);
    let s2 = id(101);
    let e = actions::insert_section(&doc, Some(&section), s2.clone(), "2. Методическое сопровождение".into());
    doc.apply(vec![e], 1, "section").unwrap();
    let (mut a, mut b) = fork(&mut doc);
    let mv = actions::move_activity(&a, &rows[2], Direction::Down).unwrap();
    a.apply(vec![mv], 2, "move").unwrap();
    set_text(&mut b, &rows[2], ActivityField::Indicator, "100%");
    let merged = merge_both_ways(&mut a, &mut b);
    assert_eq!(merged.sections[0].activities.len(), 2);
    assert_eq!(merged.sections[1].activities.len(), 1);
    assert_eq!(merged.sections[1].activities[0].indicator, "100%");
}

#[test]
fn undo_and_redo_restore_each_step() {
    let (mut doc, section, rows) = base(2);
    let mut undo = UndoStack::new();
    let target = TextTarget::Activity(rows[0].clone(), ActivityField::Description);
    undo.type_text(&mut doc, target.clone(), "Мероприятие 1.".into(), 1).unwrap();
    undo.type_text(&mut doc, target.clone(), "Мероприятие 1. Итог".into(), 2).unwrap();
    undo.seal();
    let add = actions::insert_activity(&doc, &section, Some(&rows[1]), id(9));
    undo.apply(&mut doc, vec![add], 3, "add").unwrap();
    assert_eq!(doc.read().activity_count(), 3);

    assert!(undo.undo(&mut doc, 4).unwrap());
    assert_eq!(doc.read().activity_count(), 2);
    assert!(undo.undo(&mut doc, 5).unwrap());
    assert_eq!(doc.text(&target).unwrap(), "Мероприятие 1", "typing run undone as one step");
    assert!(undo.redo(&mut doc, 6).unwrap());
    assert_eq!(doc.text(&target).unwrap(), "Мероприятие 1. Итог");
    assert!(undo.redo(&mut doc, 7).unwrap());
    assert_eq!(doc.read().activity_count(), 3);
    assert!(!undo.redo(&mut doc, 8).unwrap());
}

#[test]
fn saved_document_loads_back_identically_and_rejects_garbage() {
    let (mut doc, _, _) = base(3);
    let bytes = doc.save();
    assert_eq!(RoadmapDoc::load(&bytes).unwrap().read(), doc.read());
    assert!(RoadmapDoc::load(b"definitely not automerge").is_err());
    let mut truncated = bytes.clone();
    truncated.truncate(bytes.len() / 2);
    assert!(RoadmapDoc::load(&truncated).is_err());
    // An Automerge document that is not a roadmap.
    let mut other = automerge::AutoCommit::new();
    use automerge::transaction::Transactable;
    other.put(automerge::ROOT, "hello", "world").unwrap();
    assert!(matches!(
        RoadmapDoc::load(&other.save()),
        Err(medk_shared::typed_doc::DocError::WrongKind("дорожной картой"))
    ));
    // A roadmap's kind with a schema no version ever wrote (0, negative,
    // text) opens as the first version, nothing migrated, and the odd value
    // is reported as a problem of the document.
    for schema in [
        automerge::ScalarValue::Uint(0),
        automerge::ScalarValue::Int(0),
        automerge::ScalarValue::Int(-3),
        automerge::ScalarValue::F64(0.5),
        automerge::ScalarValue::Str("1".into()),
    ] {
        let mut odd = automerge::AutoCommit::new();
        odd.put(automerge::ROOT, "kind", medk_shared::doc::DOC_KIND).unwrap();
        odd.put(automerge::ROOT, "schema", schema).unwrap();
        let opened = RoadmapDoc::load(&odd.save()).expect("opens");
        assert!(opened.problems().iter().any(|p| p.detail.starts_with("schema:")), "{:?}", opened.problems());
    }
}

#[test]
fn incremental_saves_replay_onto_the_snapshot() {
    let (mut doc, _, rows) = base(2);
    let snapshot = doc.save();
    set_text(&mut doc, &rows[0], ActivityField::Form, "вебинар");
    let chunk1 = doc.save_incremental();
    set_text(&mut doc, &rows[1], ActivityField::Form, "семинар");
    let chunk2 = doc.save_incremental();
    let mut loaded = RoadmapDoc::load(&snapshot).unwrap();
    loaded.load_incremental(&chunk1).unwrap();
    loaded.load_incremental(&chunk2).unwrap();
    assert_eq!(loaded.read(), doc.read());
}

/// A change from elsewhere is classified by what it touched, so the editor
/// redraws one row for a remote keystroke and re-reads for a moved row.
#[test]
fn remote_changes_say_which_rows_they_touched() {
    use medk_shared::doc::Touched;
    use medk_shared::model::HeaderField;
    let (mut doc, _, rows) = base(3);
    let (mut here, mut there) = fork(&mut doc);
    let receive = |here: &mut RoadmapDoc, there: &mut RoadmapDoc| {
        let changes = there.automerge().save_incremental();
        here.tracking(|am| am.load_incremental(&changes).unwrap()).1
    };
    there.automerge().save_incremental();

    let text = |row: &RowId| Edit::SetText {
        target: TextTarget::Activity(row.clone(), ActivityField::Description),
        value: "другое".into(),
    };
    there.apply(vec![text(&rows[0])], 2, "type").unwrap();
    there
        .apply(vec![Edit::SetStatus { activity: rows[1].clone(), status: Status::Done }], 3, "status")
        .unwrap();
    assert_eq!(
        receive(&mut here, &mut there),
        Touched::Activities([rows[0].clone(), rows[1].clone()].into())
    );

    let up = actions::move_activity(&there, &rows[2], Direction::Up).unwrap();
    there.apply(vec![up], 4, "move").unwrap();
    assert_eq!(receive(&mut here, &mut there), Touched::Everything);

    let title = Edit::SetText { target: TextTarget::Header(HeaderField::Title), value: "Новое".into() };
    there.apply(vec![title], 5, "title").unwrap();
    assert_eq!(receive(&mut here, &mut there), Touched::Everything);
    assert_eq!(receive(&mut here, &mut there), Touched::Nothing);
    assert_eq!(here.read(), there.read());
}
