//! The school file and the catalogue as Automerge documents: offline work on
//! two devices, the review log, the state on past dates, and refusing what
//! is not ours.

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ROOT, ReadDoc};
use medk_shared::access::Level;
use medk_shared::access::SchoolPowers;
use medk_shared::catalogue::{CatalogueDoc, CatalogueEdit};
use medk_shared::doc::{NewRoadmap, RoadmapDoc};
use medk_shared::history::end_of_day_ms;
use medk_shared::ids::{DocumentId, RowId};
use medk_shared::school::{
    Blob, Breaks, Decision, DocumentKind, FiledDocument, Forbidden, PersonRef, SchoolDoc, SchoolEdit, Sender,
    Stage, Visit, assigned_curator, vet_changes,
};
use medk_shared::typed_doc::DocError;
use time::Date;
use time::macros::{date, offset};

/// Noon (Moscow) of a day in 2021, as Unix ms.
fn noon(day: Date) -> i64 {
    end_of_day_ms(day, offset!(+3)) - 12 * 3_600_000
}

fn eod(day: Date) -> i64 {
    end_of_day_ms(day, offset!(+3))
}

fn person(id: &str, name: &str) -> PersonRef {
    PersonRef { id: id.into(), name: name.into() }
}

fn visit(id: &str, date: &str) -> Visit {
    Visit {
        id: RowId::new(id),
        date: date.into(),
        purpose: "Верификация РПШ".into(),
        people_met: "Директор, завуч".into(),
        findings: "РПШ подтверждён".into(),
        recommendations: "Уточнить мероприятия".into(),
        evaluation: "удовлетворительно".into(),
        author: person("c1", "Новикова Елена Владимировна"),
    }
}

fn blob(n: char) -> Blob {
    Blob {
        address: format!("sha256:{}", n.to_string().repeat(64)),
        name: format!("концепция-{n}.docx"),
        size: 1234,
        mime: "application/vnd.openxmlformats-officedocument.wordprocessingml.document".into(),
    }
}

fn decide(document: &str, decision: Decision, remarks: &str, by: &PersonRef) -> SchoolEdit {
    SchoolEdit::Decide {
        document: RowId::new(document),
        decision,
        remarks: remarks.into(),
        by: by.id.clone(),
        by_name: by.name.clone(),
    }
}

fn attach(id: &str, file: char) -> SchoolEdit {
    SchoolEdit::AttachDocument {
        id: RowId::new(id),
        kind: DocumentKind::Concept,
        title: "Концепция развития школы".into(),
        blob: blob(file),
    }
}

fn attach_blob(id: &str, blob: Blob) -> SchoolEdit {
    SchoolEdit::AttachDocument {
        id: RowId::new(id),
        kind: DocumentKind::Concept,
        title: "Концепция".into(),
        blob,
    }
}

fn new_school() -> SchoolDoc {
    SchoolDoc::create("merlino", Stage::Forming, noon(date!(2021 - 02 - 15)))
}

#[test]
fn a_new_file_reads_back() {
    let mut doc = new_school();
    let school = doc.read();
    assert_eq!(school.unit, "merlino");
    assert_eq!(school.stage, Stage::Forming);
    assert!(school.assignment.curator.is_none() && school.visits.is_empty() && school.documents.is_empty());
    let reloaded = SchoolDoc::load(&doc.save()).unwrap();
    assert_eq!(reloaded.read(), school);
}

#[test]
fn assignments_stage_and_risks_are_edited() {
    let mut doc = new_school();
    let programme = DocumentId::from_bytes([3; 16]);
    doc.apply(
        vec![
            SchoolEdit::SetAssignment {
                curator: Some(person("c1", "Новикова Елена Владимировна")),
                coordinator: Some(person("m1", "Аверьянова Ксения Александровна")),
            },
            SchoolEdit::SetStage(Stage::CarryingOut),
            SchoolEdit::SetRisk {
                factor: "f02".into(),
                active: true,
                programme: Some(programme),
                note: "".into(),
            },
        ],
        noon(date!(2021 - 02 - 16)),
        "assign",
    )
    .unwrap();
    let school = doc.read();
    assert_eq!(school.assignment.curator, Some(person("c1", "Новикова Елена Владимировна")));
    assert_eq!(school.assignment.coordinator.as_ref().unwrap().id, "m1");
    assert_eq!(school.stage, Stage::CarryingOut);
    assert_eq!(school.risks.len(), 1);
    assert!(school.risks[0].active);
    assert_eq!(school.risks[0].programme, Some(programme));

    doc.apply(
        vec![SchoolEdit::SetAssignment {
            curator: None,
            coordinator: Some(person("m1", "Аверьянова К. А.")),
        }],
        noon(date!(2021 - 02 - 17)),
        "unassign",
    )
    .unwrap();
    let school = doc.read();
    assert_eq!(school.assignment.curator, None);
    assert_eq!(school.assignment.coordinator.unwrap().name, "Аверьянова К. А.");
}

#[test]
fn visits_recorded_offline_on_two_devices_both_survive_the_merge() {
    let mut home = new_school();
    let mut tablet = home.fork();
    tablet
        .apply(vec![SchoolEdit::PutVisit(visit("v1", "2021-03-10"))], noon(date!(2021 - 03 - 10)), "visit")
        .unwrap();
    home.apply(vec![SchoolEdit::PutVisit(visit("v2", "2021-03-09"))], noon(date!(2021 - 03 - 09)), "visit")
        .unwrap();
    // The tablet's change travels as an incremental save.
    home.load_incremental(&tablet.save_incremental()).unwrap();
    tablet.merge(&mut home).unwrap();
    let (a, b) = (home.read(), tablet.read());
    assert_eq!(a, b);
    let ids: Vec<_> = a.visits.iter().map(|v| v.id.as_str()).collect();
    assert_eq!(ids, ["v2", "v1"], "ordered by date");

    // A correction of one field on one device and a deletion of the other
    // visit on the other device both hold.
    let mut fixed = visit("v1", "2021-03-10");
    fixed.findings = "РПШ уточнён".into();
    home.apply(vec![SchoolEdit::PutVisit(fixed)], noon(date!(2021 - 03 - 11)), "fix").unwrap();
    tablet
        .apply(vec![SchoolEdit::DeleteVisit(RowId::new("v2"))], noon(date!(2021 - 03 - 11)), "delete")
        .unwrap();
    home.merge(&mut tablet).unwrap();
    let school = home.read();
    assert_eq!(school.visits.len(), 1);
    assert_eq!(school.visits[0].findings, "РПШ уточнён");
}

#[test]
fn concurrent_decisions_are_both_kept_in_time_order() {
    let curator = person("c1", "Новикова Е. В.");
    let coordinator = person("m1", "Аверьянова К. А.");
    let mut a = new_school();
    a.apply(
        vec![attach("d1", 'a'), decide("d1", Decision::Submitted, "", &person("s1", "Директор"))],
        noon(date!(2021 - 04 - 01)),
        "file",
    )
    .unwrap();
    let mut b = a.fork();
    // Made offline: the later one (by time) is the confirmation.
    a.apply(vec![decide("d1", Decision::Confirmed, "", &curator)], noon(date!(2021 - 04 - 05)), "confirm")
        .unwrap();
    b.apply(
        vec![decide("d1", Decision::Returned, "Нет целевых показателей", &coordinator)],
        noon(date!(2021 - 04 - 04)),
        "return",
    )
    .unwrap();
    a.merge(&mut b).unwrap();
    b.merge(&mut a).unwrap();
    assert_eq!(a.read(), b.read());
    let document = &a.read().documents[0];
    let log: Vec<_> = document.reviews.iter().map(|r| (r.decision, r.by.id.as_str())).collect();
    assert_eq!(log, [(Decision::Submitted, "s1"), (Decision::Returned, "m1"), (Decision::Confirmed, "c1")]);
    assert_eq!(document.state(), Some(Decision::Confirmed));
    assert_eq!(document.reviews[1].remarks, "Нет целевых показателей");

    // Same moment: ordered by who decided, the same on every replica.
    let mut c = a.fork();
    let same = noon(date!(2021 - 04 - 06));
    c.apply(vec![decide("d1", Decision::Returned, "x", &person("zz", "Z"))], same, "z").unwrap();
    a.apply(vec![decide("d1", Decision::Confirmed, "", &person("aa", "A"))], same, "a").unwrap();
    a.merge(&mut c).unwrap();
    c.merge(&mut a).unwrap();
    assert_eq!(a.read(), c.read());
    assert_eq!(a.read().documents[0].state(), Some(Decision::Returned));
}

/// Two devices each file the school's concept offline: one is confirmed,
/// the other returned later. The school screen shows the document decided
/// on last, and monitoring counts that same one: it is not confirmed.
#[test]
fn the_screen_and_monitoring_read_the_same_current_document() {
    let curator = person("c1", "Новикова Е. В.");
    let mut a = new_school();
    let mut b = a.fork();
    a.apply(vec![attach("d1", 'a')], noon(date!(2021 - 04 - 01)), "file").unwrap();
    b.apply(vec![attach("d2", 'b')], noon(date!(2021 - 04 - 01)), "file").unwrap();
    a.merge(&mut b).unwrap();
    a.apply(vec![decide("d1", Decision::Confirmed, "", &curator)], noon(date!(2021 - 04 - 02)), "confirm")
        .unwrap();
    a.apply(
        vec![decide("d2", Decision::Returned, "Не та редакция", &curator)],
        noon(date!(2021 - 04 - 03)),
        "return",
    )
    .unwrap();
    let school = a.read();
    let current = school.current_document(DocumentKind::Concept).expect("filed");
    assert_eq!(current.id.as_str(), "d2");
    assert_eq!(school.document_state(DocumentKind::Concept), Some(Decision::Returned));
    assert!(!school.confirmed(DocumentKind::Concept));
    assert_eq!(school.document_state(DocumentKind::Roadmap), None);

    // Confirmed again: both say so.
    a.apply(vec![decide("d2", Decision::Confirmed, "", &curator)], noon(date!(2021 - 04 - 04)), "confirm")
        .unwrap();
    assert!(a.read().confirmed(DocumentKind::Concept));
}

/// Filing a kind again is a new version of the same document, put up for
/// review again; its log keeps the earlier decisions.
#[test]
fn a_document_filed_again_is_a_new_version_of_the_same_one() {
    use medk_shared::actions::school::{decide, file_document};
    let team = person("s1", "Директор");
    let curator = person("c1", "Новикова Е. В.");
    let mut doc = new_school();
    let edits = file_document(&doc.read(), DocumentKind::Concept, blob('a'), &team, RowId::new("d1"));
    doc.apply(edits, noon(date!(2021 - 04 - 01)), "file").unwrap();
    let edit = decide(RowId::new("d1"), Decision::Returned, "Нет целевых показателей".into(), &curator);
    doc.apply(vec![edit], noon(date!(2021 - 04 - 02)), "return").unwrap();
    let edits = file_document(&doc.read(), DocumentKind::Concept, blob('b'), &team, RowId::new("d2"));
    doc.apply(edits, noon(date!(2021 - 04 - 03)), "file").unwrap();
    let school = doc.read();
    assert_eq!(school.documents.len(), 1, "one document, two versions");
    let log: Vec<_> = school.documents[0].reviews.iter().map(|r| r.decision).collect();
    assert_eq!(log, [Decision::Submitted, Decision::Returned, Decision::Submitted]);
    assert_eq!(school.document_state(DocumentKind::Concept), Some(Decision::Submitted));
}

#[test]
fn monitoring_documents_are_always_filed_and_the_rest_by_stage() {
    let catalogue = medk_shared::catalogue::Catalogue::seed_2021();
    assert_eq!(
        catalogue.document_kinds(Stage::Forming),
        vec![
            DocumentKind::Concept,
            DocumentKind::Roadmap,
            DocumentKind::MediumTermProgramme,
            DocumentKind::Monitoring1,
            DocumentKind::Monitoring2
        ]
    );
    assert_eq!(
        catalogue.document_kinds(Stage::Finished),
        vec![DocumentKind::Monitoring1, DocumentKind::Monitoring2]
    );
}

#[test]
fn returned_fixed_and_confirmed_reads_right_on_every_date() {
    let director = person("s1", "Директор школы");
    let curator = person("c1", "Новикова Е. В.");
    let mut doc = new_school();
    doc.apply(
        vec![attach("d1", 'a'), decide("d1", Decision::Submitted, "", &director)],
        noon(date!(2021 - 04 - 20)),
        "file",
    )
    .unwrap();
    doc.apply(
        vec![decide("d1", Decision::Returned, "Добавьте показатели", &curator)],
        noon(date!(2021 - 04 - 22)),
        "return",
    )
    .unwrap();
    doc.apply(
        vec![attach("d1", 'b'), decide("d1", Decision::Submitted, "Исправлено", &director)],
        noon(date!(2021 - 04 - 26)),
        "fix",
    )
    .unwrap();
    doc.apply(vec![decide("d1", Decision::Confirmed, "", &curator)], noon(date!(2021 - 04 - 28)), "confirm")
        .unwrap();

    let on = |doc: &mut SchoolDoc, day: Date| doc.read_until(eod(day)).map(|s| s.documents);
    assert_eq!(on(&mut doc, date!(2021 - 02 - 14)), None, "before the file existed");
    assert_eq!(on(&mut doc, date!(2021 - 04 - 19)).unwrap(), []);
    let cases = [
        (date!(2021 - 04 - 20), Decision::Submitted, 'a'),
        (date!(2021 - 04 - 23), Decision::Returned, 'a'),
        (date!(2021 - 04 - 26), Decision::Submitted, 'b'),
        (date!(2021 - 04 - 30), Decision::Confirmed, 'b'),
    ];
    for (day, state, file) in cases {
        let documents = on(&mut doc, day).unwrap();
        assert_eq!(documents[0].state(), Some(state), "{day}");
        assert_eq!(documents[0].file, Some(blob(file)), "{day}");
    }
    let log = doc.read().documents.remove(0).reviews;
    assert_eq!(log.len(), 4, "every decision is kept");
    assert_eq!(log[1].remarks, "Добавьте показатели");
    assert_eq!(log[1].file, blob('a').address, "the return judged the first file");
    assert_eq!(log[3].file, blob('b').address, "the confirmation judged the fixed file");
    assert_eq!(log[3].by, curator);
    assert_eq!(log[3].at_ms, noon(date!(2021 - 04 - 28)));

    // The log names both versions as they were attached, the first one
    // with its own name although the document now holds the second.
    let mut first = blob('a');
    first.name = "концепция, первая версия.docx".into();
    let mut renamed = new_school();
    renamed
        .apply(
            vec![attach_blob("d1", first.clone()), decide("d1", Decision::Submitted, "", &director)],
            1,
            "file",
        )
        .unwrap();
    renamed.apply(vec![decide("d1", Decision::Returned, "Доработать", &curator)], 2, "return").unwrap();
    renamed
        .apply(vec![attach("d1", 'b'), decide("d1", Decision::Submitted, "", &director)], 3, "fix")
        .unwrap();
    assert_eq!(renamed.logged_files(), vec![(RowId::new("d1"), vec![first, blob('b')])]);
    assert_eq!(doc.logged_files(), vec![(RowId::new("d1"), vec![blob('a'), blob('b')])]);
    assert_eq!(new_school().logged_files(), vec![]);
}

#[test]
fn bad_edits_are_refused_and_change_nothing() {
    let mut doc = new_school();
    let before = doc.read();
    let result = doc.apply(
        vec![
            SchoolEdit::SetStage(Stage::Finished),
            decide("nope", Decision::Confirmed, "", &person("c1", "К")),
        ],
        noon(date!(2021 - 03 - 01)),
        "bad",
    );
    assert!(matches!(result, Err(DocError::NotFound(_))), "{result:?}");
    let mut bad_blob = attach("d1", 'a');
    if let SchoolEdit::AttachDocument { blob, .. } = &mut bad_blob {
        blob.address = "md5:abc".into();
    }
    assert!(matches!(doc.apply(vec![bad_blob], 1, "x"), Err(DocError::BadFileAddress(_))));
    let bad_date = SchoolEdit::PutVisit(visit("v1", "10.03.2021"));
    let err = doc.apply(vec![bad_date], 1, "x").unwrap_err();
    assert!(err.to_string().contains("ГГГГ-ММ-ДД"), "{err}");
    assert!(matches!(
        doc.apply(vec![SchoolEdit::DeleteVisit(RowId::new("v9"))], 1, "x"),
        Err(DocError::NotFound(_))
    ));
    assert_eq!(doc.read(), before);
}

fn typed(kind: &str, schema: impl Into<automerge::ScalarValue>) -> Vec<u8> {
    let mut doc = AutoCommit::new();
    doc.put(ROOT, "kind", kind).unwrap();
    doc.put(ROOT, "schema", schema.into()).unwrap();
    doc.save()
}

#[test]
fn newer_schemas_are_refused_with_a_clear_error() {
    let err = SchoolDoc::load(&typed("medk-school", 2u64)).unwrap_err();
    assert!(matches!(err, DocError::NewerSchema(2)));
    assert!(err.to_string().contains("более новой версией"), "{err}");
    assert!(matches!(CatalogueDoc::load(&typed("medk-catalogue", 7u64)), Err(DocError::NewerSchema(7))));
}

#[test]
fn other_documents_and_garbage_are_refused_never_a_panic() {
    let mut roadmap = RoadmapDoc::create(
        &NewRoadmap {
            title: "ДК".into(),
            level: Level::School,
            territory: String::new(),
            year: None,
            columns: Vec::new(),
        },
        RowId::new("s"),
    );
    let roadmap_bytes = roadmap.save();
    let catalogue_bytes = CatalogueDoc::seeded(0).save();
    let school_bytes = new_school().save();
    for bytes in [&roadmap_bytes, &catalogue_bytes] {
        let err = SchoolDoc::load(bytes).unwrap_err();
        assert!(matches!(err, DocError::WrongKind(_)), "{err:?}");
        assert_eq!(err.to_string(), "документ не является файлом школы");
    }
    assert!(matches!(CatalogueDoc::load(&school_bytes), Err(DocError::WrongKind(_))));
    // The right kind but none of its parts opens empty, saying so; a
    // nonsense schema is refused.
    let bare = SchoolDoc::load(&typed("medk-school", 1u64)).expect("opens");
    assert_eq!(bare.read().visits, vec![]);
    assert_eq!(bare.problems().len(), 4, "{:?}", bare.problems());
    assert!(matches!(SchoolDoc::load(&typed("medk-school", "1")), Err(DocError::WrongKind(_))));
    assert!(matches!(SchoolDoc::load(&typed("medk-school", -3i64)), Err(DocError::WrongKind(_))));
    assert!(matches!(SchoolDoc::load(b"not automerge"), Err(DocError::Corrupt(_))));
    assert!(SchoolDoc::load(&[]).is_err());
    assert!(matches!(CatalogueDoc::load(&school_bytes[..school_bytes.len() / 2]), Err(DocError::Corrupt(_))));
}

#[test]
fn a_school_file_written_by_another_program_reads_without_panicking() {
    // Wrong value types everywhere a row is expected.
    let mut doc = new_school();
    let am = doc.automerge();
    let visits = match am.get(ROOT, "visits").unwrap() {
        Some((_, id)) => id,
        None => unreachable!(),
    };
    am.put(&visits, "v1", 42).unwrap();
    am.put(ROOT, "stage", "unknown").unwrap();
    let documents = match am.get(ROOT, "documents").unwrap() {
        Some((_, id)) => id,
        None => unreachable!(),
    };
    let d = am.put_object(&documents, "d1", automerge::ObjType::Map).unwrap();
    am.put(&d, "kind", "concept").unwrap();
    am.put(&d, "reviews", "not a list").unwrap();
    am.commit();
    let school = doc.read();
    assert!(school.visits.is_empty());
    assert_eq!(school.stage, Stage::Forming);
    assert_eq!(school.documents[0].state(), None);
    assert!(doc.apply(vec![decide("d1", Decision::Confirmed, "", &person("c", "К"))], 1, "x").is_err());
}

// ---- the catalogue ---------------------------------------------------------

#[test]
fn the_catalogue_is_seeded_with_the_2021_factors_and_rules() {
    let catalogue = CatalogueDoc::seeded(0).read();
    assert_eq!(catalogue.factors.len(), 10, "the ten factors of 2021");
    assert_eq!(catalogue.factors[0].id, "f01");
    assert_eq!(catalogue.factors[0].title, "Низкий уровень оснащения школы");
    assert_eq!(catalogue.factors[8].title, "Низкий уровень вовлеченности родителей");
    assert_eq!(catalogue.factors[9].id, "f10");
    assert_eq!(catalogue.rules(Stage::Forming).visit_every_days, Some(7));
    assert_eq!(catalogue.rules(Stage::CarryingOut).visit_every_days, Some(28));
    assert_eq!(catalogue.rules(Stage::Finished).visit_every_days, None);
    assert_eq!(
        catalogue.rules(Stage::Forming).required,
        [DocumentKind::Concept, DocumentKind::Roadmap, DocumentKind::MediumTermProgramme]
    );
    assert_eq!(catalogue, medk_shared::catalogue::Catalogue::seed_2021());
}

#[test]
fn coordinators_edit_the_catalogue_concurrently() {
    let mut a = CatalogueDoc::seeded(noon(date!(2021 - 01 - 10)));
    let mut b = CatalogueDoc::load(&a.save()).unwrap();
    a.apply(
        vec![
            CatalogueEdit::PutFactor {
                id: "f11".into(),
                title: "Высокая доля обучающихся с ограниченными возможностями здоровья".into(),
                description: "".into(),
            },
            CatalogueEdit::SetVisitInterval { stage: Stage::CarryingOut, days: Some(21) },
        ],
        noon(date!(2021 - 03 - 01)),
        "a",
    )
    .unwrap();
    b.apply(
        vec![
            CatalogueEdit::SetRetired { id: "f01".into(), retired: true },
            CatalogueEdit::SetRequired {
                stage: Stage::Forming,
                kind: DocumentKind::MediumTermProgramme,
                required: false,
            },
        ],
        noon(date!(2021 - 03 - 02)),
        "b",
    )
    .unwrap();
    a.merge(&mut b).unwrap();
    let catalogue = a.read();
    assert_eq!(catalogue.factors.len(), 11);
    assert!(catalogue.factors[0].retired);
    assert_eq!(catalogue.rules(Stage::CarryingOut).visit_every_days, Some(21));
    assert_eq!(catalogue.rules(Stage::Forming).required, [DocumentKind::Concept, DocumentKind::Roadmap]);
    assert!(matches!(
        a.apply(vec![CatalogueEdit::SetRetired { id: "f99".into(), retired: true }], 1, "x"),
        Err(DocError::NotFound(_))
    ));

    let then = a.read_until(eod(date!(2021 - 03 - 01))).unwrap();
    assert_eq!(then.factors.len(), 11);
    assert!(!then.factors[0].retired, "retired only on the 2nd");
    assert_eq!(a.read_until(eod(date!(2021 - 01 - 09))), None);
}

#[test]
fn two_devices_that_open_a_school_file_before_syncing_end_with_one_file() {
    // A curator's tablet and the school's computer both open the school's
    // file for the first time offline: the same creating change, so their
    // edits merge and neither side's visits are hidden.
    let mut tablet = SchoolDoc::genesis("s-7");
    let mut staff_room = SchoolDoc::genesis("s-7");
    assert_eq!(tablet.automerge().get_heads(), staff_room.automerge().get_heads());
    assert_ne!(
        tablet.automerge().get_actor(),
        staff_room.automerge().get_actor(),
        "later changes get own actors"
    );
    tablet
        .apply(vec![SchoolEdit::PutVisit(visit("v1", "2021-03-01"))], noon(date!(2021 - 03 - 01)), "visit")
        .unwrap();
    staff_room
        .apply(vec![SchoolEdit::PutVisit(visit("v2", "2021-03-02"))], noon(date!(2021 - 03 - 02)), "visit")
        .unwrap();
    tablet.merge(&mut staff_room).unwrap();
    let ids: Vec<_> = tablet.read().visits.iter().map(|v| v.id.as_str().to_owned()).collect();
    assert_eq!(ids, ["v1", "v2"]);
    assert_eq!(tablet.read().unit, "s-7");
    // The genesis counts at every past moment.
    assert!(SchoolDoc::genesis("s-7").read_until(1).is_some());

    let mut a = CatalogueDoc::genesis();
    let mut b = CatalogueDoc::genesis();
    assert_eq!(a.automerge().get_heads(), b.automerge().get_heads());
    assert_eq!(a.read().factors.len(), 10);
}

#[test]
fn well_known_ids_are_stable_and_distinct() {
    use medk_shared::catalogue::catalogue_id;
    use medk_shared::school::school_file_id;
    assert_eq!(school_file_id("s-7"), school_file_id("s-7"));
    assert_ne!(school_file_id("s-7"), school_file_id("s-8"));
    assert_ne!(school_file_id("500+"), catalogue_id());
    // Written like any automerge-repo id.
    assert_eq!(DocumentId::parse(&school_file_id("s-7").url()).unwrap(), school_file_id("s-7"));
}

// ---- what the relay takes from a writer (`vet_changes`) ---------------------

/// The relay's clock in these tests.
fn now() -> i64 {
    noon(date!(2021 - 03 - 12))
}

fn team() -> PersonRef {
    person("t1", "Иванов Пётр Сергеевич")
}

fn curator() -> PersonRef {
    person("c1", "Новикова Елена Владимировна")
}

fn sender(who: &PersonRef, curate: bool, assign: bool) -> Sender<'_> {
    Sender { id: &who.id, powers: SchoolPowers { curate, assign }, now_ms: now() }
}

/// What the relay, holding `base`, decides on `edits` made by `who` on a
/// copy of it at `time`.
fn vet_at(
    base: &mut SchoolDoc,
    who: &Sender<'_>,
    edits: Vec<SchoolEdit>,
    time: i64,
) -> Result<(), Forbidden> {
    let mut device = base.fork();
    device.apply(edits, time, "edit").expect("a valid edit");
    relay_vets(base, device.automerge(), who)
}

fn vet(base: &mut SchoolDoc, who: &Sender<'_>, edits: Vec<SchoolEdit>) -> Result<(), Forbidden> {
    vet_at(base, who, edits, noon(date!(2021 - 03 - 10)))
}

/// What the relay, holding `base`, decides on what `device` has that it
/// has not (as the relay finds them: applied to a copy, then what is new).
fn relay_vets(base: &mut SchoolDoc, device: &mut AutoCommit, who: &Sender<'_>) -> Result<(), Forbidden> {
    let before = base.automerge().document().clone();
    let mut after = before.clone();
    after.apply_changes(device.get_changes(&[])).unwrap();
    let changes = after.get_changes(&before.get_heads());
    vet_changes("s1", &before, &after, &changes, who)
}

/// `result` is a refusal saying `what`.
#[track_caller]
fn refused(result: Result<(), Forbidden>, what: &str) {
    assert!(
        result.as_ref().is_err_and(|e| e.detail.contains(what)),
        "expected a refusal for «{what}», got {result:?}"
    );
}

/// A school file of `s1` as the relay has it: the concept filed by the
/// team and returned by the curator.
fn filed_and_returned() -> SchoolDoc {
    let mut school = SchoolDoc::genesis("s1");
    let filing = vec![attach("d1", 'a'), decide("d1", Decision::Submitted, "", &team())];
    school.apply(filing, noon(date!(2021 - 03 - 09)), "file").unwrap();
    let back = vec![decide("d1", Decision::Returned, "нет подписи", &curator())];
    school.apply(back, noon(date!(2021 - 03 - 09)) + 3_600_000, "return").unwrap();
    school
}

/// The objects of the filed concept `d1`: its map and its review log.
fn concept_objects(doc: &mut AutoCommit) -> (automerge::ObjId, automerge::ObjId, automerge::ObjId) {
    let documents = doc.get(ROOT, "documents").unwrap().unwrap().1;
    let entry = doc.get(&documents, "d1").unwrap().unwrap().1;
    let reviews = doc.get(&entry, "reviews").unwrap().unwrap().1;
    (documents, entry, reviews)
}

#[test]
fn the_school_team_files_and_submits_but_cannot_record_visits_judge_or_assign() {
    let (team, curator) = (team(), curator());
    let (as_team, as_curator, as_coordinator) =
        (sender(&team, false, false), sender(&curator, true, false), sender(&curator, true, true));

    // The genesis change comes from anyone: it is the same everywhere.
    let genesis = SchoolDoc::genesis("s1").automerge().get_changes(&[]);
    let mut created = automerge::Automerge::new();
    created.apply_changes(genesis.clone()).unwrap();
    assert_eq!(vet_changes("s1", &automerge::Automerge::new(), &created, &genesis, &as_team), Ok(()));

    // Filing and submitting, stage, survey and risks: everyone who writes.
    let mut school = SchoolDoc::genesis("s1");
    let filing = vec![attach("d1", 'a'), decide("d1", Decision::Submitted, "", &team)];
    assert_eq!(vet(&mut school, &as_team, filing), Ok(()));
    let everyday = vec![
        SchoolEdit::SetSurvey { on: Some("2021-02-20".into()), by: team.clone() },
        SchoolEdit::SetStage(Stage::CarryingOut),
        SchoolEdit::SetRisk { factor: "f1".into(), active: true, programme: None, note: "да".into() },
    ];
    assert_eq!(vet(&mut school, &as_team, everyday), Ok(()));

    // Visits are the curator's record.
    let record = vec![SchoolEdit::PutVisit(visit("v1", "2021-03-10"))];
    refused(vet(&mut school, &as_team, record.clone()), "curator visit");
    let refusal = vet(&mut school, &as_team, record.clone()).unwrap_err();
    assert_eq!(refusal.kind, Breaks::Role);
    assert!(refusal.message_ru().contains("только куратор или координатор"), "{}", refusal.message_ru());
    assert_eq!(vet(&mut school, &as_curator, record.clone()), Ok(()));
    school.apply(record, noon(date!(2021 - 03 - 10)), "visit").unwrap();
    let mut changed = visit("v1", "2021-03-10");
    changed.findings = "Всё отлично".into();
    refused(vet(&mut school, &as_team, vec![SchoolEdit::PutVisit(changed)]), "curator visit");
    refused(vet(&mut school, &as_team, vec![SchoolEdit::DeleteVisit(RowId::new("v1"))]), "curator visit");

    // Judging is the curator's: confirming or returning.
    let mut school = filed_and_returned();
    for decision in [Decision::Confirmed, Decision::Returned] {
        refused(
            vet(&mut school, &as_team, vec![decide("d1", decision, "ok", &curator)]),
            "confirms or returns",
        );
        assert_eq!(vet(&mut school, &as_curator, vec![decide("d1", decision, "ok", &curator)]), Ok(()));
    }

    // Sent back, the team attaches a new file and submits it again: in its
    // own name, dated by its change.
    let again = || vec![attach("d1", 'b'), decide("d1", Decision::Submitted, "", &team)];
    assert_eq!(vet(&mut school, &as_team, again()), Ok(()));
    refused(vet(&mut school, &as_team, vec![attach("d1", 'c')]), "without submitting it again");
    let as_curators_name = vec![attach("d1", 'b'), decide("d1", Decision::Submitted, "", &curator)];
    refused(vet(&mut school, &as_team, as_curators_name), "another person's name");
    // Dated far ahead it would stay last in the log whatever the curator did.
    refused(vet_at(&mut school, &as_team, again(), now() + 10 * 86_400_000), "ahead of the relay's clock");

    // Who serves the school: the coordinators who manage it only.
    let assign = vec![SchoolEdit::SetAssignment { curator: Some(curator.clone()), coordinator: None }];
    for who in [&as_team, &as_curator] {
        refused(vet(&mut school, who, assign.clone()), "who serves");
    }
    assert_eq!(vet(&mut school, &as_coordinator, assign), Ok(()));
}

/// The relay reads who the file names as curator (a curator's rights
/// follow it), from the document as it holds it.
#[test]
fn the_relay_reads_the_assigned_curator() {
    let mut school = SchoolDoc::create("s1", Stage::Forming, noon(date!(2021 - 03 - 01)));
    let read = |school: &mut SchoolDoc| assigned_curator(school.automerge().document());
    assert_eq!(read(&mut school), None);
    let assign = |curator: Option<PersonRef>| vec![SchoolEdit::SetAssignment { curator, coordinator: None }];
    school.apply(assign(Some(person("c1", "Петров П. П."))), noon(date!(2021 - 03 - 02)), "assign").unwrap();
    assert_eq!(read(&mut school).as_deref(), Some("c1"));
    school.apply(assign(None), noon(date!(2021 - 03 - 03)), "unassign").unwrap();
    assert_eq!(read(&mut school), None);
}

/// What a client that writes Automerge by hand could try, past the app's
/// edits.
#[test]
fn forged_changes_to_a_school_file_are_refused() {
    let team = team();
    let as_team = sender(&team, false, false);
    let mut school = filed_and_returned();
    let forge = |school: &mut SchoolDoc, write: &dyn Fn(&mut AutoCommit)| {
        let mut device = school.fork();
        write(device.automerge());
        device.automerge().commit();
        relay_vets(school, device.automerge(), &as_team)
    };

    // Rewriting the log: a remark, or a whole entry.
    refused(
        forge(&mut school, &|doc| {
            let (_, _, reviews) = concept_objects(doc);
            let first = doc.get(&reviews, 1).unwrap().unwrap().1;
            doc.put(&first, "decision", "confirmed").unwrap();
        }),
        "rewrites a decision",
    );
    refused(
        forge(&mut school, &|doc| {
            let (_, _, reviews) = concept_objects(doc);
            doc.delete(&reviews, 1).unwrap();
        }),
        "removes or rewrites a decision",
    );
    // Removing the document, or replacing it by a new one under its id.
    refused(
        forge(&mut school, &|doc| {
            let (documents, _, _) = concept_objects(doc);
            doc.delete(&documents, "d1").unwrap();
        }),
        "removes or replaces a filed document",
    );
    // A device that forked before the concept was filed.
    let mut early = SchoolDoc::genesis("s1");
    let documents = early.automerge().get(ROOT, "documents").unwrap().unwrap().1;
    let fresh = early.automerge().put_object(&documents, "d1", automerge::ObjType::Map).unwrap();
    early.automerge().put(&fresh, "kind", "concept").unwrap();
    early.automerge().commit();
    refused(relay_vets(&mut school, early.automerge(), &as_team), "removes or replaces a filed document");
    // Moving a confirmation to another kind of document.
    refused(
        forge(&mut school, &|doc| {
            let (_, entry, _) = concept_objects(doc);
            doc.put(&entry, "kind", "monitoring-1").unwrap();
        }),
        "another kind",
    );
    // Rewriting what the file is, or replacing its parts with new ones.
    refused(forge(&mut school, &|doc| doc.put(ROOT, "schema", 99).unwrap()), "rewrites what the file is");
    // Nobody may do that: the person is not told a curator could (a
    // trial's school member was).
    let refusal = forge(&mut school, &|doc| doc.put(ROOT, "schema", 99).unwrap()).unwrap_err();
    assert_eq!(refusal.kind, Breaks::Layout);
    assert!(refusal.message_ru().contains("нарушает устройство файла"), "{}", refusal.message_ru());
    assert!(!refusal.message_ru().contains("куратор"), "{}", refusal.message_ru());
    refused(
        forge(&mut school, &|doc| {
            doc.put(ROOT, "kind", "medk-school").unwrap();
            let assignment = doc.put_object(ROOT, "assignment", automerge::ObjType::Map).unwrap();
            doc.put(&assignment, "curator_id", "evil").unwrap();
        }),
        "rewrites what the file is",
    );
    // The same edits from a coordinator who manages the school pass.
    let coordinator = person("m1", "Муниципальный координатор");
    let mut device = school.fork();
    let (_, entry, _) = concept_objects(device.automerge());
    device.automerge().put(&entry, "title", "Концепция (уточнено)").unwrap();
    device.automerge().commit();
    assert_eq!(relay_vets(&mut school, device.automerge(), &sender(&coordinator, true, true)), Ok(()));
}

#[test]
fn the_survey_is_marked_unmarked_and_read_on_past_dates() {
    let curator = person("c1", "Новикова Елена Владимировна");
    let mut school = new_school();
    assert_eq!(school.read().survey, None, "a new file has no survey");
    let mark = |on: Option<&str>| SchoolEdit::SetSurvey { on: on.map(str::to_owned), by: curator.clone() };
    school.apply(vec![mark(Some("2021-02-20"))], noon(date!(2021 - 02 - 22)), "survey").unwrap();
    let read = school.read();
    assert_eq!(
        read.survey.as_ref().map(|s| (s.on.as_str(), s.by.name.as_str())),
        Some(("2021-02-20", curator.name.as_str()))
    );
    assert!(read.surveyed_by(date!(2021 - 02 - 20)) && !read.surveyed_by(date!(2021 - 02 - 19)));

    let bad = school.apply(vec![mark(Some("20.02.2021"))], noon(date!(2021 - 02 - 23)), "survey");
    assert!(matches!(bad, Err(DocError::BadDate(_))), "{bad:?}");
    assert_eq!(school.read(), read, "a bad date changes nothing");

    school.apply(vec![mark(None)], noon(date!(2021 - 03 - 01)), "unmark").unwrap();
    assert_eq!(school.read().survey, None);
    let then = school.read_until(eod(date!(2021 - 02 - 25))).unwrap();
    assert_eq!(then.survey.map(|s| s.on), Some("2021-02-20".to_owned()), "marked on that date");
    assert_eq!(school.read_until(eod(date!(2021 - 02 - 21))).unwrap().survey, None, "not marked yet");
}

/// The other side of vetting: whatever the app's own edits make, offline on
/// several devices and synced in any order, the relay takes them from the
/// people who may make them. (A wrong refusal would leave a device unable
/// to sync its school file.) A seeded walk over the edits of a team member,
/// a curator and a coordinator, each on a device of their own.
#[test]
fn the_apps_own_edits_are_never_refused_in_any_order() {
    let people = [team(), curator(), person("m1", "Муниципальный координатор")];
    let powers = [(false, false), (true, false), (true, true)];
    for seed in 0..40u64 {
        let mut rng = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        let mut next = |n: u64| {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng % n
        };
        let mut relay = SchoolDoc::genesis("s1");
        let mut devices: Vec<SchoolDoc> = (0..3).map(|_| SchoolDoc::genesis("s1")).collect();
        let mut time = noon(date!(2021 - 02 - 01));
        for step in 0..60 {
            let who = next(3) as usize;
            time += 3_600_000;
            if next(3) == 0 {
                // Sync: what the device has that the relay has not, vetted
                // as its owner's; then the device takes the relay's state.
                let sender = sender(&people[who], powers[who].0, powers[who].1);
                let verdict = relay_vets(&mut relay, devices[who].automerge(), &sender);
                assert_eq!(
                    verdict,
                    Ok(()),
                    "seed {seed}, step {step}: {}'s changes refused",
                    people[who].name
                );
                relay.merge(&mut devices[who]).unwrap();
                devices[who].merge(&mut relay).unwrap();
                continue;
            }
            let me = &people[who];
            let file = devices[who].read();
            let filed: Vec<&FiledDocument> = file.documents.iter().collect();
            let doc_id = |n: u64| format!("d{n}-{who}-{step}");
            let blob_char = char::from(b'a' + (next(6) as u8));
            let edits: Vec<SchoolEdit> = match (who, next(4)) {
                // Everyone who writes: stage, survey, risks; filing.
                (_, 0) => vec![SchoolEdit::SetStage(Stage::ALL[next(3) as usize])],
                (_, 1) if next(2) == 0 => vec![SchoolEdit::SetSurvey {
                    on: (next(3) > 0).then(|| "2021-02-10".to_owned()),
                    by: me.clone(),
                }],
                (_, 1) => vec![SchoolEdit::SetRisk {
                    factor: format!("f0{}", next(3)),
                    active: next(2) == 0,
                    programme: None,
                    note: format!("заметка {step}"),
                }],
                (0, _) | (_, 2) => {
                    let id = match filed.get(next(4) as usize) {
                        Some(d) => d.id.as_str().to_owned(),
                        None => doc_id(next(100)),
                    };
                    let kind =
                        filed.iter().find(|d| d.id.as_str() == id).map_or(DocumentKind::Concept, |d| d.kind);
                    vec![
                        SchoolEdit::AttachDocument {
                            id: RowId::new(&id),
                            kind,
                            title: format!("Документ {id}"),
                            blob: blob(blob_char),
                        },
                        decide(&id, Decision::Submitted, "", me),
                    ]
                }
                // Curators and coordinators: visits and decisions.
                (_, _) if next(2) == 0 => {
                    let visits = &file.visits;
                    match (next(3), visits.get(next(3) as usize)) {
                        (0, Some(v)) => vec![SchoolEdit::DeleteVisit(v.id.clone())],
                        (1, Some(v)) => {
                            let mut v = v.clone();
                            v.findings = format!("уточнено на шаге {step}");
                            vec![SchoolEdit::PutVisit(v)]
                        }
                        _ => {
                            let mut v = visit(&format!("v{who}-{step}"), "2021-03-01");
                            v.author = me.clone();
                            vec![SchoolEdit::PutVisit(v)]
                        }
                    }
                }
                (2, _) if next(2) == 0 => vec![SchoolEdit::SetAssignment {
                    curator: Some(people[1].clone()),
                    coordinator: (next(2) == 0).then(|| people[2].clone()),
                }],
                (_, _) => match filed.get(next(4) as usize) {
                    Some(d) => {
                        let decision = if next(2) == 0 { Decision::Confirmed } else { Decision::Returned };
                        vec![decide(d.id.as_str(), decision, "замечания", me)]
                    }
                    None => vec![SchoolEdit::SetStage(Stage::Forming)],
                },
            };
            // An edit the file refuses (none here should) changes nothing.
            devices[who]
                .apply(edits, time, "edit")
                .unwrap_or_else(|e| panic!("seed {seed}, step {step}: {e}"));
        }
    }
}
