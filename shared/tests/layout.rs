//! What another program may write into a roadmap, a school file or the
//! catalogue: readers open whatever Automerge state they get (what does not
//! fit reads as empty, with a warning), and the relay's vetting
//! (`medk_shared::layout::vet_changes`) refuses changes that break a
//! roadmap's layout or limits, while taking every edit this app makes.

use automerge::transaction::Transactable as _;
use automerge::{AutoCommit, Automerge, ObjType, ROOT, ReadDoc as _};
use medk_shared::access::Level;
use medk_shared::actions::{self, Direction};
use medk_shared::catalogue::CatalogueDoc;
use medk_shared::doc::{Edit, NewRoadmap, NewRow, RoadmapDoc, RowKind, RowRef, TextTarget};
use medk_shared::ids::{DocumentId, RowId};
use medk_shared::layout::{self, BreachKind, MAX_COLUMNS, MAX_TEXT_CHARS, MERGED, RELAY_MAX_ROWS};
use medk_shared::model::{ActivityField, Column, HeaderField, Member, MemberField, Status};
use medk_shared::school::SchoolDoc;
use medk_shared::typed_doc::DocError;
use medk_shared::undo::UndoStack;

fn id(n: u64) -> RowId {
    RowId::from_random(n.to_le_bytes())
}

/// A roadmap with one section and `n` activities, its origin stamped by
/// `creator`; returns it with its id.
fn roadmap(n: u64, creator: &str) -> (RoadmapDoc, DocumentId) {
    let section = id(1000);
    let mut doc = RoadmapDoc::create(
        &NewRoadmap {
            title: "Дорожная карта".into(),
            level: Level::School,
            territory: "МОУ СОШ № 1".into(),
            year: Some(2022),
            columns: Level::School.default_columns(),
        },
        section.clone(),
    );
    let mut after = None;
    for i in 0..n {
        let row = id(i);
        let edits = vec![
            actions::insert_activity(&doc, &section, after.as_ref(), row.clone()),
            Edit::SetText {
                target: TextTarget::Activity(row.clone(), ActivityField::Description),
                value: format!("Мероприятие {i}"),
            },
        ];
        doc.apply(edits, 0, "add").unwrap();
        after = Some(row);
    }
    let id = doc.stamp_origin(creator, [7; 16], 0);
    (doc, id)
}

/// What the relay does with what `device` has and `relay` lacks: applies it
/// to a copy and vets it.
fn relay_vets(relay: &Automerge, device: &mut AutoCommit) -> Result<(), layout::Breach> {
    let mut after = relay.clone();
    let changes = missing(relay, device);
    after.apply_changes(changes.clone()).unwrap();
    layout::vet_changes(relay, &after, &changes)
}

/// The changes `device` has and `relay` lacks, in causal order.
fn missing(relay: &Automerge, device: &mut AutoCommit) -> Vec<automerge::Change> {
    device.get_changes(&[]).into_iter().filter(|c| relay.get_change_by_hash(&c.hash()).is_none()).collect()
}

/// `relay` takes what `device` has (vetted), or says why not.
fn sync(relay: &mut Automerge, device: &mut RoadmapDoc) -> Result<(), layout::Breach> {
    relay_vets(relay, device.automerge())?;
    let changes = missing(relay, device.automerge());
    relay.apply_changes(changes).unwrap();
    Ok(())
}

fn refused(result: Result<(), layout::Breach>, kind: BreachKind, what: &str) {
    match result {
        Err(breach) => assert_eq!(breach.kind, kind, "{what}: refused as {breach:?}"),
        Ok(()) => panic!("{what}: taken"),
    }
}

/// The relay's copy of a roadmap, and a device that has it.
fn relay_and_device(n: u64) -> (Automerge, AutoCommit) {
    let (mut doc, _) = roadmap(n, "");
    let relay = Automerge::load(&doc.save()).unwrap();
    (relay, doc.automerge().fork())
}

fn obj(doc: &AutoCommit, path: &[&str]) -> automerge::ObjId {
    path.iter().fold(ROOT, |o, key| doc.get(&o, *key).unwrap().unwrap().1)
}

#[test]
fn a_roadmap_a_js_client_broke_still_opens_and_says_what_it_could_not_read() {
    // What a school-team member's JS client sent on their own roadmap
    // (`delete d.header; d.sections = "not a map"`), and a mistyped
    // activity on top.
    let (mut doc, _) = roadmap(3, "");
    let mut am = doc.automerge().fork();
    am.delete(ROOT, "header").unwrap();
    am.put(ROOT, "sections", "not a map").unwrap();
    let row = obj(&am, &["activities", id(1).as_str()]);
    am.put(&row, "status", 5).unwrap();
    am.put_object(&row, "description", ObjType::List).unwrap();
    am.put(ROOT, "columns", 3).unwrap();
    am.commit();
    let broken = RoadmapDoc::from_automerge(am).expect("it still says it is a roadmap");
    let read = broken.read();
    assert_eq!(read.header.title, "");
    assert!(read.columns.is_empty());
    assert!(read.sections.is_empty(), "no sections to show activities in");
    let problems: Vec<String> = broken.problems().iter().map(|p| p.detail.clone()).collect();
    for expected in [
        "header: missing",
        "sections: not a map",
        "status: not a string",
        "description: not text",
        "columns: not a list",
    ] {
        assert!(problems.iter().any(|p| p.contains(expected)), "{expected:?} not in {problems:?}");
    }
    // Every reader of it answers; none panics.
    let mut broken = broken;
    assert_eq!(broken.header().level, Level::School);
    assert_eq!(broken.activity_count(), 0);
    assert!(broken.progress(None).is_some());
    assert!(broken.activity(&id(1)).is_some());
    assert!(broken.read_until(i64::MAX).is_some());
    assert!(medk_shared::history::progress_at(&mut broken, i64::MAX).is_some());
    let _ = medk_shared::history::activity_history(&mut broken, &id(1));
    // Edits of what is gone are refused with an error, not a panic.
    let edit = Edit::SetText { target: TextTarget::Header(HeaderField::Title), value: "x".into() };
    assert!(matches!(broken.apply(vec![edit], 0, "edit"), Err(DocError::WrongKind("дорожной картой"))));
    // A newer schema is a clear error.
    let mut am = doc.automerge().fork();
    am.put(ROOT, "schema", 999).unwrap();
    assert!(matches!(RoadmapDoc::from_automerge(am), Err(DocError::NewerSchema(999))));
    // What this code writes has no problems.
    assert_eq!(doc.problems(), vec![]);
}

#[test]
fn school_files_and_the_catalogue_with_missing_parts_open_and_say_so() {
    let mut school = SchoolDoc::genesis("s1").automerge().fork();
    school.delete(ROOT, "visits").unwrap();
    school.put(ROOT, "documents", "none").unwrap();
    let risks = obj(&school, &["risks"]);
    school.put(&risks, "f01", 3).unwrap();
    school.commit();
    let school = SchoolDoc::from_automerge(school).expect("a school file without visits opens");
    let read = school.read();
    assert!(read.visits.is_empty() && read.documents.is_empty() && read.risks.is_empty());
    assert_eq!(
        school.problems(),
        ["visits: missing or not a map", "risks/f01: not a map", "documents: missing or not a map"]
    );

    let mut catalogue = CatalogueDoc::genesis().automerge().fork();
    catalogue.put_object(ROOT, "stages", ObjType::List).unwrap();
    catalogue.commit();
    let catalogue = CatalogueDoc::from_automerge(catalogue).expect("opens");
    assert_eq!(catalogue.read().factors.len(), 10);
    assert_eq!(catalogue.read().stages, <[medk_shared::catalogue::StageRules; 3]>::default());
    assert_eq!(catalogue.problems(), ["stages: missing or not a map"]);
}

#[test]
fn the_changes_that_broke_a_roadmap_are_refused() {
    let (relay, mut device) = relay_and_device(2);
    let saved = device.save();
    let attack = |f: &dyn Fn(&mut AutoCommit)| {
        let mut d = AutoCommit::load(&saved).unwrap();
        f(&mut d);
        d.commit();
        relay_vets(&relay, &mut d)
    };
    fn row(d: &AutoCommit) -> automerge::ObjId {
        obj(d, &["activities", id(0).as_str()])
    }
    fn text(d: &AutoCommit) -> automerge::ObjId {
        obj(d, &["activities", id(0).as_str(), "description"])
    }
    let cases: Vec<(&str, Box<dyn Fn(&mut AutoCommit)>)> = vec![
        ("delete the header", Box::new(|d| d.delete(ROOT, "header").unwrap())),
        ("sections as a string", Box::new(|d| d.put(ROOT, "sections", "not a map").unwrap())),
        ("schema 999", Box::new(|d| d.put(ROOT, "schema", 999).unwrap())),
        ("another kind", Box::new(|d| d.put(ROOT, "kind", "medk-school").unwrap())),
        ("a new origin", Box::new(|d| d.put(ROOT, "nonce", "00").unwrap())),
        ("a new root key", Box::new(|d| d.put(ROOT, "note", "x").unwrap())),
        ("a new header", Box::new(|d| drop(d.put_object(ROOT, "header", ObjType::Map).unwrap()))),
        ("a status that is a number", Box::new(move |d| d.put(&row(d), "status", 5).unwrap())),
        ("an unknown status", Box::new(move |d| d.put(&row(d), "status", "lost").unwrap())),
        ("deleted as a string", Box::new(move |d| d.put(&row(d), "deleted", "yes").unwrap())),
        ("text as a plain string", Box::new(move |d| d.put(&row(d), "description", "plain").unwrap())),
        ("a field removed", Box::new(move |d| d.delete(&row(d), "pos").unwrap())),
        ("a field not of the layout", Box::new(move |d| d.put(&row(d), "colour", "red").unwrap())),
        ("a list in a text", Box::new(move |d| drop(d.insert_object(&text(d), 0, ObjType::List).unwrap()))),
        ("a number in a text", Box::new(move |d| d.insert(&text(d), 0, 5).unwrap())),
        ("an unknown level", Box::new(|d| d.put(&obj(d, &["header"]), "level", "galactic").unwrap())),
        ("a row removed", Box::new(|d| d.delete(&obj(d, &["activities"]), id(1).as_str()).unwrap())),
        (
            "a row replaced",
            Box::new(|d| drop(d.put_object(&obj(d, &["activities"]), id(1).as_str(), ObjType::Map).unwrap())),
        ),
        ("a row that is not a map", Box::new(|d| d.put(&obj(d, &["activities"]), "new", 1).unwrap())),
        (
            "a row id of 100 bytes",
            Box::new(|d| {
                drop(d.put_object(&obj(d, &["activities"]), "x".repeat(100), ObjType::Map).unwrap())
            }),
        ),
        ("a string in the columns", Box::new(|d| d.insert(&obj(d, &["columns"]), 0, "column").unwrap())),
        (
            "a column of an unknown field",
            Box::new(|d| {
                let column = d.insert_object(&obj(d, &["columns"]), 0, ObjType::Map).unwrap();
                d.put(&column, "field", "salary").unwrap();
            }),
        ),
    ];
    for (what, case) in cases {
        refused(attack(&*case), BreachKind::Layout, what);
    }
    // Limits.
    refused(
        attack(&|d| d.splice_text(&text(d), 0, 0, &"а".repeat(MERGED * MAX_TEXT_CHARS)).unwrap()),
        BreachKind::TextTooLong,
        "a text over the limit",
    );
    // Rows up to the relay's limit are taken (the editor still shows them);
    // one more is not.
    let up_to = |extra: usize| {
        move |d: &mut AutoCommit| {
            let activities = obj(d, &["activities"]);
            for n in d.length(&activities)..RELAY_MAX_ROWS + extra {
                d.put_object(&activities, format!("r{n}"), ObjType::Map).unwrap();
            }
        }
    };
    assert_eq!(attack(&up_to(0)).map_err(|b| b.kind), Ok(()), "rows up to the limit");
    refused(attack(&up_to(1)), BreachKind::TooManyRows, "one row over the limit");
    refused(
        attack(&|d| {
            let activities = obj(d, &["activities"]);
            for n in 0..=RELAY_MAX_ROWS as u64 {
                d.put_object(&activities, format!("r{n}"), ObjType::Map).unwrap();
            }
        }),
        BreachKind::TooManyRows,
        "rows over the limit",
    );
    refused(
        attack(&|d| {
            for _ in 0..MERGED * MAX_COLUMNS {
                let column = d.insert_object(&obj(d, &["columns"]), 0, ObjType::Map).unwrap();
                d.put(&column, "field", "number").unwrap();
            }
        }),
        BreachKind::TooManyColumns,
        "columns over the limit",
    );
    // What a JS client may well do and is fine: replace a text with a new
    // Text, add a row with some of its fields.
    assert_eq!(
        attack(&|d| {
            let t = d.put_object(&row(d), "comments", ObjType::Text).unwrap();
            d.splice_text(&t, 0, 0, "замечание").unwrap();
            let activities = obj(d, &["activities"]);
            let new = d.put_object(&activities, "js-row", ObjType::Map).unwrap();
            d.put(&new, "deleted", false).unwrap();
            let t = d.put_object(&new, "description", ObjType::Text).unwrap();
            d.splice_text(&t, 0, 0, "из JS").unwrap();
        }),
        Ok(())
    );
}

/// Devices that each filled one field up to the app's limit offline merge
/// into more than that: the relay takes it (its limits are `MERGED` times
/// the app's), in either order.
#[test]
fn devices_that_filled_one_field_offline_are_all_taken() {
    let (mut base, _) = roadmap(1, "");
    let mut relay = Automerge::load(&base.save()).unwrap();
    let mut devices: Vec<RoadmapDoc> = (0..3).map(|_| base.fork()).collect();
    for (n, device) in devices.iter_mut().enumerate() {
        let value = char::from(b'a' + n as u8).to_string().repeat(MAX_TEXT_CHARS);
        let edit = Edit::SetText { target: TextTarget::Activity(id(0), ActivityField::Comments), value };
        device.apply(vec![edit], 0, "type").unwrap();
        let row = Edit::Create(Box::new(NewRow::Section {
            id: id(500 + n as u64),
            pos: "90".into(),
            title: "р".repeat(MAX_TEXT_CHARS),
        }));
        device.apply(vec![row], 0, "add").unwrap();
    }
    for device in devices.iter_mut().rev() {
        assert_eq!(sync(&mut relay, device), Ok(()));
    }
    let merged = RoadmapDoc::from_automerge(AutoCommit::load(&relay.save()).unwrap()).unwrap();
    assert_eq!(merged.problems(), vec![]);
    let text = merged.text(&TextTarget::Activity(id(0), ActivityField::Comments)).unwrap();
    assert!(text.chars().count() > MAX_TEXT_CHARS, "the merge holds more than one device may write");
}

#[test]
fn a_new_roadmap_must_be_one_as_a_whole() {
    let empty = Automerge::new();
    let (mut good, _) = roadmap(2, "");
    assert_eq!(relay_vets(&empty, good.automerge()), Ok(()));
    let mut note = AutoCommit::new();
    note.put(ROOT, "note", "created in JS").unwrap();
    note.commit();
    refused(relay_vets(&empty, &mut note), BreachKind::Layout, "a document that is not a roadmap");
    let mut broken = good.automerge().fork();
    broken.delete(ROOT, "members").unwrap();
    broken.commit();
    refused(relay_vets(&empty, &mut broken), BreachKind::Layout, "a roadmap without members");
}

#[test]
fn a_roadmap_is_claimed_only_by_whoever_holds_it_and_made_it() {
    let (mut made_signed_in, id) = roadmap(1, "person-a");
    let doc = made_signed_in.automerge();
    assert_eq!(layout::check_origin(doc, &id, "person-a"), Ok(()));
    assert!(layout::check_origin(doc, &id, "person-b").is_err(), "another person on the same tablet");
    let other = DocumentId::from_bytes([9; 16]);
    assert!(layout::check_origin(doc, &other, "person-a").is_err(), "under an id it does not give");
    let (mut made_signed_out, id) = roadmap(1, "");
    assert_eq!(layout::check_origin(made_signed_out.automerge(), &id, "anyone"), Ok(()));
    // A copy is a roadmap of its own, with an id of its own.
    let mut copy = made_signed_out.fork();
    let copy_id = copy.stamp_origin("person-b", [8; 16], 0);
    assert_ne!(copy_id, id);
    assert_eq!(layout::check_origin(copy.automerge(), &copy_id, "person-b"), Ok(()));
    // A document made without an origin (before there was one) is no claim.
    let bare = RoadmapDoc::create(
        &NewRoadmap {
            title: "t".into(),
            level: Level::School,
            territory: String::new(),
            year: None,
            columns: vec![],
        },
        RowId::new("s"),
    );
    let mut bare = bare;
    assert!(layout::check_origin(bare.automerge(), &id, "anyone").is_err());
}

#[test]
fn the_apps_edits_stop_at_the_limits_with_a_clear_error() {
    let (mut doc, _) = roadmap(1, "");
    let long = "я".repeat(MAX_TEXT_CHARS + 1);
    let edit = Edit::SetText { target: TextTarget::Activity(id(0), ActivityField::Description), value: long };
    let err = doc.apply(vec![edit], 0, "type").unwrap_err();
    assert!(matches!(err, DocError::TextTooLong));
    assert!(err.to_string().contains("20000"), "{err}");
    let before = doc.read();
    let section = doc.row_positions(RowKind::Section)[0].0.clone();
    let err = doc
        .apply(
            vec![Edit::Create(Box::new(NewRow::Section {
                id: section,
                pos: "80".into(),
                title: String::new(),
            }))],
            0,
            "x",
        )
        .unwrap_err();
    assert!(matches!(err, DocError::RowExists(_)));
    assert_eq!(doc.read(), before, "nothing changed");
    for n in 0..(MAX_COLUMNS - doc.read().columns.len()) {
        let _ = n;
        doc.apply(vec![Edit::AddColumn(Column::standard(ActivityField::Comments))], 0, "col").unwrap();
    }
    let err =
        doc.apply(vec![Edit::AddColumn(Column::standard(ActivityField::Comments))], 0, "col").unwrap_err();
    assert!(matches!(err, DocError::TooManyColumns));
}

/// The other side of vetting: whatever the app's own edits make (every kind
/// of edit, undo and redo, an import, a duplicate), offline on several
/// devices and synced to the relay in any order, the relay takes it. A wrong
/// refusal would leave a device unable to sync the roadmap.
#[test]
fn the_apps_own_edits_are_never_refused_in_any_order() {
    let fixture =
        std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/sakhalin-regional-2021.docx"))
            .unwrap();
    let parsed = medk_shared::office::import::parse_docx(&fixture).unwrap();
    for seed in 0..30u64 {
        let mut rng = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        let mut next = |n: u64| {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng % n
        };
        let mut fresh = 1_000_000 * (seed + 1);
        let mut new_id = || {
            fresh += 1;
            id(fresh)
        };
        // The roadmap: made in the app, or imported from Word.
        let (mut origin, _) = if seed % 3 == 0 {
            let mut doc = parsed.to_document(&mut new_id, 1_700_000_000_000, "", "").unwrap();
            let id = doc.stamp_origin("person", [seed as u8; 16], 0);
            (doc, id)
        } else {
            roadmap(seed % 4, "person")
        };
        let mut relay = Automerge::new();
        assert_eq!(sync(&mut relay, &mut origin), Ok(()), "seed {seed}: the new roadmap");
        let mut devices: Vec<(RoadmapDoc, UndoStack)> =
            (0..3).map(|_| (origin.fork(), UndoStack::new())).collect();
        for step in 0..80 {
            let who = next(3) as usize;
            let (doc, undo) = &mut devices[who];
            let time = 1_700_000_000_000 + step * 60_000;
            match next(12) {
                0 | 1 => {
                    assert_eq!(
                        sync(&mut relay, doc),
                        Ok(()),
                        "seed {seed}, step {step}: device {who} refused"
                    );
                    let mut from_relay = AutoCommit::load(&relay.save()).unwrap();
                    doc.automerge().merge(&mut from_relay).unwrap();
                    continue;
                }
                2 => {
                    let _ = undo.undo(doc, time);
                    continue;
                }
                3 => {
                    let _ = undo.redo(doc, time);
                    continue;
                }
                _ => {}
            }
            let read = doc.read();
            let sections: Vec<RowId> = read.sections.iter().map(|s| s.id.clone()).collect();
            let activities: Vec<RowId> =
                read.sections.iter().flat_map(|s| s.activities.iter().map(|a| a.id.clone())).collect();
            let members: Vec<RowId> = read.working_group.iter().map(|m| m.id.clone()).collect();
            let pick = |rows: &[RowId], n: u64| rows.get(n as usize % rows.len().max(1)).cloned();
            let (a, s, m) =
                (pick(&activities, next(100)), pick(&sections, next(100)), pick(&members, next(100)));
            let field = ActivityField::ALL[next(ActivityField::ALL.len() as u64) as usize];
            let edits: Vec<Edit> = match (next(14), a, s, m) {
                (0, Some(a), _, _) => vec![Edit::SetText {
                    target: TextTarget::Activity(a, field),
                    value: format!("текст {step} «{}»", "ё".repeat(next(30) as usize)),
                }],
                (1, Some(a), _, _) => {
                    vec![Edit::SetStatus { activity: a, status: Status::ALL[next(5) as usize] }]
                }
                (2, Some(a), _, _) => vec![Edit::SetCompletedOn { activity: a, date: "2022-03-01".into() }],
                (3, Some(a), _, _) => actions::move_activity(
                    doc,
                    &a,
                    if next(2) == 0 { Direction::Up } else { Direction::Down },
                )
                .into_iter()
                .collect(),
                (4, _, Some(s), _) => vec![actions::insert_activity(doc, &s, None, new_id())],
                (5, _, Some(s), _) => {
                    vec![actions::insert_section(doc, Some(&s), new_id(), format!("Раздел {step}"))]
                }
                (6, Some(a), _, _) => vec![actions::delete(RowRef::Activity(a))],
                (7, _, Some(s), _) if sections.len() > 1 => vec![actions::delete(RowRef::Section(s))],
                (8, _, _, _) => vec![actions::insert_member(
                    doc,
                    None,
                    Member {
                        id: new_id(),
                        name: "Иванова И. И.".into(),
                        workplace: "ОО".into(),
                        position: "учитель".into(),
                    },
                )],
                (9, _, _, Some(m)) => vec![Edit::SetText {
                    target: TextTarget::Member(m, MemberField::ALL[next(3) as usize]),
                    value: format!("участник {step}"),
                }],
                (10, _, Some(s), _) => {
                    actions::move_row(doc, RowKind::Section, &s, Direction::Down).into_iter().collect()
                }
                (11, _, _, _) => vec![
                    Edit::SetLevel(Level::ALL[next(4) as usize]),
                    Edit::SetYear((next(2) == 0).then_some(2021 + next(3) as i32)),
                    Edit::SetAdoptedOn(if next(2) == 0 {
                        String::new()
                    } else {
                        format!("2021-0{}-15", 1 + next(9))
                    }),
                    Edit::SetText {
                        target: TextTarget::Header(HeaderField::ALL[next(5) as usize]),
                        value: format!("заголовок {step}"),
                    },
                ],
                (12, _, _, _) if read.columns.len() > 1 && next(2) == 0 => {
                    vec![Edit::RemoveColumn(next(read.columns.len() as u64) as usize)]
                }
                (12, _, _, _) => vec![Edit::AddColumn(Column::standard(field))],
                (_, _, _, _) if next(2) == 0 && step % 20 == 0 => {
                    // A duplicate: a roadmap of its own, synced as a new one.
                    let mut copy = doc.fork();
                    copy.apply(
                        vec![Edit::SetText {
                            target: TextTarget::Header(HeaderField::Title),
                            value: "копия".into(),
                        }],
                        time,
                        "duplicate",
                    )
                    .unwrap();
                    copy.stamp_origin("person", [step as u8; 16], time);
                    let mut copy_relay = Automerge::new();
                    assert_eq!(
                        sync(&mut copy_relay, &mut copy),
                        Ok(()),
                        "seed {seed}, step {step}: a duplicate refused"
                    );
                    continue;
                }
                _ => vec![Edit::SetText {
                    target: TextTarget::Header(HeaderField::Title),
                    value: format!("Карта {step}"),
                }],
            };
            if edits.is_empty() {
                continue;
            }
            if next(3) == 0
                && let [Edit::SetText { target, value }] = edits.as_slice()
            {
                undo.type_text(doc, target.clone(), value.clone(), time).unwrap();
            } else {
                undo.apply(doc, edits, time, "edit")
                    .unwrap_or_else(|e| panic!("seed {seed}, step {step}: {e}"));
            }
        }
        // Everyone syncs at the end, in a random order.
        let mut order = vec![0, 1, 2];
        order.rotate_left(next(3) as usize);
        for who in order {
            assert_eq!(sync(&mut relay, &mut devices[who].0), Ok(()), "seed {seed}: device {who} at the end");
        }
        let merged = RoadmapDoc::from_automerge(AutoCommit::load(&relay.save()).unwrap()).unwrap();
        assert_eq!(merged.problems(), vec![], "seed {seed}: the merged roadmap reads as the layout says");
    }
}

/// Roadmap documents keep the level key they were first written with
/// (`regional`, `municipal`), now that a roadmap's level and a unit's are
/// one type: every stored key still reads, every edit still writes it, and
/// the relay still takes only those keys.
#[test]
fn roadmap_level_keys_read_and_write_as_stored() {
    let (mut doc, _) = roadmap(0, "creator");
    let header = match doc.automerge().get(ROOT, "header").unwrap() {
        Some((automerge::Value::Object(ObjType::Map), header)) => header,
        other => panic!("no header: {other:?}"),
    };
    for (key, level) in [
        ("federal", Level::Federal),
        ("regional", Level::Region),
        ("municipal", Level::Municipality),
        ("school", Level::School),
    ] {
        // As an older version (or another device) stored it.
        doc.automerge().put(&header, "level", key).unwrap();
        doc.automerge().commit();
        assert_eq!(doc.read().header.level, level, "{key}");
        assert!(doc.problems().is_empty(), "{key} is a roadmap level key");
        // As this version writes it.
        doc.apply(vec![Edit::SetLevel(Level::School)], 0, "level").unwrap();
        doc.apply(vec![Edit::SetLevel(level)], 0, "level").unwrap();
        let stored = doc.automerge().get(&header, "level").unwrap().and_then(|(v, _)| v.into_string().ok());
        assert_eq!(stored.as_deref(), Some(key));
    }
    // A unit's name for a level is not a roadmap key.
    doc.automerge().put(&header, "level", "region").unwrap();
    doc.automerge().commit();
    assert_eq!(doc.read().header.level, Level::School, "unknown keys read as the default");
    assert!(!doc.problems().is_empty(), "and are off the layout");
}
