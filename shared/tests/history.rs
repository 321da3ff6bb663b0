//! Reading a roadmap as it stood at a moment, on hand-built histories with
//! explicit change times.

use automerge::transaction::{CommitOptions, Transactable};
use automerge::{AutoCommit, ObjType, ROOT};
use medk_shared::access::Level;
use medk_shared::actions;
use medk_shared::doc::{Edit, NewRoadmap, RoadmapDoc, RowRef, TextTarget};
use medk_shared::history::{Window, heads_at, heads_window, progress_at};
use medk_shared::ids::RowId;
use medk_shared::indicators::Progress;
use medk_shared::model::{Activity, ActivityField, Roadmap, Status};

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
    let then = doc.read_until(time).expect("the roadmap existed");
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
    let then = doc.read_until(at(2)).unwrap();
    assert!(find(&then, &a).is_some());
    assert!(find(&then, &b).is_none());
    assert_eq!(then.activity_count(), 1);
    // After the last change: the current roadmap.
    assert_eq!(doc.read_until(at(10)).unwrap(), doc.read());
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

    let then = doc.read_until(at(3)).unwrap();
    assert_eq!(find(&then, &a).unwrap().status, Status::Done);
    assert_eq!(find(&then, &b).unwrap().description, "Мероприятие");

    let then = doc.read_until(at(5)).unwrap();
    assert_eq!(find(&then, &b).unwrap().description, "Семинар для учителей");
    assert_eq!(find(&then, &b).unwrap().status, Status::Planned);

    assert_eq!(doc.read_until(at(6)).unwrap(), doc.read());
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
    let then = doc.read_until(at(3)).unwrap();
    let activity = find(&then, &a).unwrap();
    assert_eq!(activity.description, "Мероприятие");
    assert_eq!(activity.status, Status::Planned);
    let then = doc.read_until(at(5)).unwrap();
    assert_eq!(find(&then, &a).unwrap().description, "Исправлено");
}

#[test]
fn creation_without_a_time_counts_always() {
    let (mut doc, section) = roadmap();
    add(&mut doc, &section, &id(1), at(1));
    let then = doc.read_until(1).unwrap();
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

/// The moments with the same heads: from the last change that counts to
/// the first left out; a reading made at one holds at all of them.
#[test]
fn the_window_of_a_moment_runs_between_the_changes_around_it() {
    let mut doc = AutoCommit::new();
    doc.put(ROOT, "kind", "medk/roadmap").unwrap();
    doc.commit_with(CommitOptions::default().with_time(0));
    doc.put(ROOT, "x", 1).unwrap();
    doc.commit_with(CommitOptions::default().with_time(at(2)));
    doc.put(ROOT, "x", 2).unwrap();
    doc.commit_with(CommitOptions::default().with_time(at(5)));

    let (heads, window) = heads_window(&mut doc, at(3));
    assert_eq!(window, Window { from_ms: at(2), to_ms: at(5) });
    for moment in [at(2), at(4), at(5) - 1] {
        assert!(window.contains(moment));
        assert_eq!(heads_at(&mut doc, moment), heads);
    }
    assert!(!window.contains(at(2) - 1) && !window.contains(at(5)));
    assert_ne!(heads_at(&mut doc, at(2) - 1), heads);
    assert_ne!(heads_at(&mut doc, at(5)), heads);

    // After the last change: every later moment, with today's heads.
    let (heads, window) = heads_window(&mut doc, at(9));
    assert_eq!(heads, doc.get_heads());
    assert_eq!(window, Window { from_ms: at(5), to_ms: i64::MAX });
    // Before the first timed change only the untimed creation counts.
    let (_, window) = heads_window(&mut doc, at(1));
    assert_eq!(window, Window { from_ms: i64::MIN, to_ms: at(2) });
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
    assert_eq!(doc.read_until(at(1)), None);
    assert_eq!(doc.read_until(at(2)), Some(doc.read()));
}

/// Monitoring's in-place read of the past (statuses and deadlines at the
/// past heads) says what the full roadmap read from a copy of the history
/// says, at every hour of a history with deadlines rewritten, an activity
/// done after a date and one un-done, a deletion and a section removed.
#[test]
fn progress_read_in_place_matches_the_roadmap_of_the_time() {
    let (mut doc, section) = roadmap();
    let (a, b, c, d) = (id(1), id(2), id(3), id(4));
    let deadline = |doc: &mut RoadmapDoc, row: &RowId, text: &str, time: i64| {
        let target = TextTarget::Activity(row.clone(), ActivityField::Deadline);
        doc.apply(vec![Edit::SetText { target, value: text.into() }], time, "deadline").unwrap();
    };
    add(&mut doc, &section, &a, at(1));
    add(&mut doc, &section, &b, at(1));
    deadline(&mut doc, &a, "январь", at(2));
    deadline(&mut doc, &b, "до 15.02.2022", at(2));
    set_status(&mut doc, &a, Status::Done, at(3));
    deadline(&mut doc, &b, "март 2022", at(4));
    set_status(&mut doc, &b, Status::Done, at(5));
    set_status(&mut doc, &b, Status::InProgress, at(6));
    add(&mut doc, &section, &c, at(7));
    deadline(&mut doc, &c, "февраль", at(7));
    let delete = |row: RowRef| Edit::SetDeleted { row, deleted: true };
    doc.apply(vec![delete(RowRef::Activity(a.clone()))], at(8), "delete").unwrap();
    let other = id(101);
    let new_section = actions::insert_section(&doc, Some(&section), other.clone(), "Второй".into());
    doc.apply(vec![new_section], at(9), "section").unwrap();
    add(&mut doc, &other, &d, at(9));
    deadline(&mut doc, &d, "январь", at(9));
    doc.apply(vec![delete(RowRef::Section(other.clone()))], at(10), "drop section").unwrap();

    let mut seen = Vec::new();
    for hour in 0..=11 {
        let expected = doc.read_until(at(hour)).map(|r| Progress::of(&r));
        assert_eq!(progress_at(&mut doc, at(hour)), expected, "hour {hour}");
        seen.push(expected.map_or(0, |p| p.activities.len()));
    }
    assert_eq!(seen, [0, 2, 2, 2, 2, 2, 2, 3, 2, 3, 2, 2], "activities shown, hour by hour");
}

// ---- who changed an activity, what and when --------------------------------

mod activity_history {
    use super::{add, at, id, roadmap};
    use automerge::transaction::{CommitOptions, Transactable};
    use automerge::{ObjType, ROOT, ReadDoc, Value};
    use medk_shared::doc::{Edit, RoadmapDoc, TextTarget};
    use medk_shared::history::{WhatChanged, activity_history, signed};
    use medk_shared::ids::RowId;
    use medk_shared::model::{ActivityField, Status};
    use medk_shared::undo::UndoStack;

    const ANNA: &str = "Смирнова Анна Игоревна";
    const BORIS: &str = "Кузнецов Борис";

    fn edit(doc: &mut RoadmapDoc, edits: Vec<Edit>, time: i64, action: &str, author: &str) {
        doc.apply(edits, time, &signed(action, author)).unwrap();
    }

    fn deadline(row: &RowId, value: &str) -> Edit {
        Edit::SetText {
            target: TextTarget::Activity(row.clone(), ActivityField::Deadline),
            value: value.into(),
        }
    }

    /// Typing as the app does it: through the undo stack (one undo step per
    /// run), each keystroke its own change signed by the author.
    fn type_text(
        doc: &mut RoadmapDoc,
        undo: &mut UndoStack,
        target: &TextTarget,
        value: &str,
        time: i64,
        author: &str,
    ) {
        undo.set_author(author);
        undo.type_text(doc, target.clone(), value.into(), time).unwrap();
    }

    /// A change the way a JavaScript client writes one: its own actor, no
    /// message, time in seconds.
    fn unsigned_status(doc: &mut RoadmapDoc, row: &RowId, status: &str, time: i64) {
        let mut js = doc.fork();
        let am = js.automerge();
        let Ok(Some((Value::Object(ObjType::Map), activities))) = am.get(ROOT, "activities") else {
            panic!()
        };
        let Ok(Some((_, obj))) = am.get(&activities, row.as_str()) else { panic!() };
        am.put(&obj, "status", status).unwrap();
        am.commit_with(CommitOptions::default().with_time(time / 1000));
        doc.merge(&mut js).unwrap();
    }

    #[test]
    fn two_authors_and_an_unsigned_change() {
        let (mut doc, section) = roadmap();
        let (a, other) = (id(1), id(2));
        add(&mut doc, &section, &a, at(1));
        add(&mut doc, &section, &other, at(1));
        edit(&mut doc, vec![deadline(&a, "до 15.03.2022")], at(2), "edit text", ANNA);
        edit(&mut doc, vec![deadline(&other, "май")], at(2), "edit text", BORIS);
        // Boris, on his own device, moves the deadline and names himself responsible.
        let mut boris = doc.fork();
        edit(&mut boris, vec![deadline(&a, "до 30.03.2022")], at(3), "edit text", BORIS);
        let responsible = TextTarget::Activity(a.clone(), ActivityField::Responsible);
        let mut undo = UndoStack::new();
        for (i, typed) in ["К", "Ку", "Кузнецов"].into_iter().enumerate() {
            type_text(&mut boris, &mut undo, &responsible, typed, at(3) + i as i64 * 1000, BORIS);
        }
        doc.merge(&mut boris).unwrap();
        // Anna marks it done with a completion date; a JS client sets «not done».
        edit(
            &mut doc,
            vec![
                Edit::SetStatus { activity: a.clone(), status: Status::Done },
                Edit::SetCompletedOn { activity: a.clone(), date: "2022-03-31".into() },
            ],
            at(4),
            "set status",
            ANNA,
        );
        unsigned_status(&mut doc, &a, "not-done", at(5));

        let history = activity_history(&mut doc, &a);
        let rows: Vec<(Option<i64>, &str, String)> =
            history.iter().map(|c| (c.time_ms, c.author_ru(), c.describe_ru())).collect();
        assert_eq!(
            rows,
            vec![
                (Some(at(1)), "неизвестно", "Добавлено мероприятие".to_owned()),
                (Some(at(2)), ANNA, "Срок: «до 15.03.2022»".to_owned()),
                (Some(at(3)), BORIS, "Срок: «до 15.03.2022» → «до 30.03.2022»".to_owned()),
                (Some(at(3) + 2000), BORIS, "Ответственный: «Кузнецов»".to_owned()),
                (
                    Some(at(4)),
                    ANNA,
                    "Статус: «Запланировано» → «Выполнено»; Дата исполнения: «31.03.2022»".to_owned()
                ),
                (Some(at(5)), "неизвестно", "Статус: «Выполнено» → «Не выполнено»".to_owned()),
            ]
        );
        // The typing run is one entry of three changes.
        assert_eq!(history[3].changes, 3);
        assert_eq!(history[3].action, "edit text");
        assert_eq!(history[4].action, "set status");
        // The other activity has its own history.
        let other_history = activity_history(&mut doc, &other);
        assert_eq!(other_history.len(), 2);
        assert_eq!(other_history[1].author.as_deref(), Some(BORIS));
        assert!(activity_history(&mut doc, &id(99)).is_empty());
    }

    /// Two people typing in one field at once: each has one entry, not one
    /// per alternation of their keystrokes.
    #[test]
    fn two_people_typing_in_one_field_at_once_are_an_entry_each() {
        let (mut doc, section) = roadmap();
        let a = id(1);
        add(&mut doc, &section, &a, at(1));
        let description = TextTarget::Activity(a.clone(), ActivityField::Description);
        let (mut anna, mut boris) = (UndoStack::new(), UndoStack::new());
        let mut text = String::new();
        for i in 0..6 {
            let (who, stack, letter) =
                if i % 2 == 0 { (ANNA, &mut anna, "а") } else { (BORIS, &mut boris, "б") };
            text.push_str(letter);
            type_text(&mut doc, stack, &description, &text, at(2) + i * 1000, who);
        }
        let history = activity_history(&mut doc, &a);
        let rows: Vec<(&str, usize)> = history.iter().map(|c| (c.author_ru(), c.changes)).collect();
        assert_eq!(rows, vec![("неизвестно", 1), (ANNA, 3), (BORIS, 3)]);
        assert_eq!(history[2].describe_ru(), "Содержание: «а» → «абабаб»");
    }

    #[test]
    fn delete_restore_move_and_undo() {
        let (mut doc, section) = roadmap();
        let (a, b) = (id(1), id(2));
        add(&mut doc, &section, &a, at(1));
        add(&mut doc, &section, &b, at(1));
        let mut undo = UndoStack::new();
        undo.apply(&mut doc, vec![deadline(&a, "март")], at(2), &signed("edit text", ANNA)).unwrap();
        undo.undo(&mut doc, at(3)).unwrap();
        edit(
            &mut doc,
            vec![medk_shared::actions::delete(medk_shared::doc::RowRef::Activity(a.clone()))],
            at(4),
            "delete activity",
            BORIS,
        );
        edit(
            &mut doc,
            vec![Edit::SetDeleted { row: medk_shared::doc::RowRef::Activity(a.clone()), deleted: false }],
            at(5),
            "undo",
            BORIS,
        );
        let moved = medk_shared::actions::move_activity(&doc, &a, medk_shared::actions::Direction::Up);
        assert!(moved.is_some());
        edit(&mut doc, moved.into_iter().collect(), at(6), "move activity", ANNA);
        let history = activity_history(&mut doc, &a);
        let what: Vec<&[WhatChanged]> = history.iter().map(|c| c.what.as_slice()).collect();
        assert_eq!(what[0], [WhatChanged::Created]);
        assert_eq!(history[1].describe_ru(), "Срок: «март»");
        // The stack's own undo is unsigned: it takes the author of the
        // actor's last signed change.
        assert_eq!(history[2].describe_ru(), "Отмена: Срок: очищено (было «март»)");
        assert_eq!(history[2].author.as_deref(), Some(ANNA));
        assert_eq!(what[3], [WhatChanged::Deleted]);
        assert_eq!(history[4].describe_ru(), "Отмена: Восстановлено");
        assert_eq!(what[5], [WhatChanged::Moved]);
        assert_eq!(history.len(), 6);
    }

    /// The app signs typing by writing the keystroke itself after letting the
    /// undo stack record the run with a no-op edit: that no-op must write no
    /// change, and undo must restore the text from before the run.
    #[test]
    fn typing_through_the_undo_stack_is_signed_and_undoable() {
        let (mut doc, section) = roadmap();
        let a = id(1);
        add(&mut doc, &section, &a, at(1));
        let target = TextTarget::Activity(a.clone(), ActivityField::Description);
        let mut undo = UndoStack::new();
        let changes_before = doc.automerge().get_changes(&[]).len();
        for (i, typed) in ["Мероприятие!", "Мероприятие!!"].into_iter().enumerate() {
            type_text(&mut doc, &mut undo, &target, typed, at(2) + i as i64, ANNA);
        }
        let changes = doc.automerge().get_changes(&[]);
        assert_eq!(changes.len(), changes_before + 2);
        assert!(
            changes.iter().rev().take(2).all(|c| c.message() == Some("edit text\n— Смирнова Анна Игоревна"))
        );
        assert!(undo.undo(&mut doc, at(3)).unwrap());
        assert_eq!(doc.text(&target).unwrap(), "Мероприятие");
        // The undo is signed by the stack's author, like the typing.
        let last = doc.automerge().get_changes(&[]).last().and_then(|c| c.message().map(str::to_owned));
        assert_eq!(last.as_deref(), Some("undo\n— Смирнова Анна Игоревна"));
    }

    /// A status change carries a comment and evidence: the activity holds
    /// the latest, the history keeps each with who gave it, and the roadmap
    /// on an earlier date has the note given by then.
    #[test]
    fn a_status_change_keeps_its_comment_and_evidence() {
        let (mut doc, section) = roadmap();
        let a = id(1);
        add(&mut doc, &section, &a, at(1));
        let note = |note: &str, evidence: &str| Edit::SetStatusNote {
            activity: a.clone(),
            note: note.into(),
            evidence: evidence.into(),
        };
        let status = |status: Status| Edit::SetStatus { activity: a.clone(), status };
        edit(&mut doc, vec![status(Status::NotDone)], at(2), "set status", ANNA);
        edit(&mut doc, vec![note("Перенесено: нет помещения", "")], at(2), "status note", ANNA);
        edit(&mut doc, vec![status(Status::Done), note("", "")], at(5), "set status", BORIS);
        edit(&mut doc, vec![note("Проведено в актовом зале", "Протокол № 3")], at(5), "status note", BORIS);

        let now = doc.read();
        let activity = super::find(&now, &a).unwrap();
        assert_eq!(
            (activity.status_note.as_str(), activity.status_evidence.as_str()),
            ("Проведено в актовом зале", "Протокол № 3")
        );
        let then = doc.read_until(at(3)).unwrap();
        assert_eq!(super::find(&then, &a).unwrap().status_note, "Перенесено: нет помещения");

        let described: Vec<(String, String)> = activity_history(&mut doc, &a)
            .iter()
            .map(|c| (c.author_ru().to_owned(), c.describe_ru()))
            .filter(|(_, d)| d.contains("Комментарий к статусу") || d.contains("Подтверждение исполнения"))
            .collect();
        assert_eq!(
            described,
            vec![
                (ANNA.to_owned(), "Комментарий к статусу: «Перенесено: нет помещения»".to_owned()),
                (BORIS.to_owned(), "Статус: «Не выполнено» → «Выполнено»; Комментарий к статусу: очищено (было «Перенесено: нет помещения»)".to_owned()),
                (BORIS.to_owned(), "Комментарий к статусу: «Проведено в актовом зале»; Подтверждение исполнения: «Протокол № 3»".to_owned()),
            ]
        );
    }
}

/// The relay reads a roadmap's title for its registry from every change it
/// takes: a long one is cut to what is kept, read without the rest.
#[test]
fn the_registry_title_is_cut_to_what_is_kept() {
    use medk_shared::doc::{REGISTRY_TITLE_CHARS, title_of};
    use medk_shared::model::HeaderField;
    let (mut doc, _) = roadmap();
    assert_eq!(title_of(doc.automerge()), "Дорожная карта");
    let long: String = "Дорожная карта школы ".repeat(100);
    let rename = Edit::SetText { target: TextTarget::Header(HeaderField::Title), value: long.clone() };
    doc.apply(vec![rename], at(1), "rename").unwrap();
    let kept = title_of(doc.automerge());
    assert_eq!(kept.chars().count(), REGISTRY_TITLE_CHARS);
    assert!(long.starts_with(&kept));
}

/// An import adopted at hour 1 and recorded at hour 5, a status marked at
/// hour 7: from hour 1 the import counts, the status only from hour 7, and
/// every window says truly where the same heads hold (a reading kept for
/// one moment is right for all of them).
#[test]
fn an_adopted_import_counts_from_its_adoption_and_its_windows_hold() {
    use medk_shared::history::{import_action, plan_heads_window};
    let (mut doc, section) = roadmap();
    let row = id(1);
    let edit = actions::insert_activity(&doc, &section, None, row.clone());
    doc.apply(vec![edit], at(5), &import_action("plan.docx")).unwrap();
    let import = doc.heads();
    set_status(&mut doc, &row, Status::Done, at(7));
    let adopted = Some(at(1));
    let plan = |doc: &mut RoadmapDoc, moment| plan_heads_window(doc.automerge(), moment, adopted);

    assert!(plan(&mut doc, at(1) - 1).heads != import, "before the adoption");
    assert_eq!(plan(&mut doc, at(1)).heads, import);
    assert_eq!(plan(&mut doc, at(6)).heads, import);
    assert_eq!(plan(&mut doc, at(7)).heads, doc.heads());
    let found = plan(&mut doc, at(3));
    assert!(found.imported);
    assert_eq!(found.recorded_ms, Some(at(5)));
    assert_eq!(found.window, Window { from_ms: at(1), to_ms: at(7) });
    // Without the adoption date, the hours before the import read the
    // creation alone.
    assert_eq!(
        plan_heads_window(doc.automerge(), at(3), None).window,
        Window { from_ms: i64::MIN, to_ms: at(5) }
    );

    for hour in -2..10 {
        for moment in [at(hour) - 1, at(hour), at(hour) + 1] {
            let found = plan(&mut doc, moment);
            assert!(found.window.contains(moment), "hour {hour}");
            for other in [found.window.from_ms, found.window.to_ms.saturating_sub(1)] {
                if (at(-3)..at(11)).contains(&other) {
                    assert_eq!(plan(&mut doc, other).heads, found.heads, "hour {hour}, moment {other}");
                }
            }
        }
    }
    // A roadmap without an import: the date changes nothing.
    let (mut typed, section) = roadmap();
    add(&mut typed, &section, &row, at(5));
    let found = plan_heads_window(typed.automerge(), at(3), adopted);
    assert!(!found.imported);
    assert_eq!(found.heads, heads_at(typed.automerge(), at(3)));
}
