//! Monitoring on a date: visit warnings and roll-ups of roadmaps and school
//! files over the organisation tree, checked by hand.

use medk_shared::access::{Level, Org, Unit};
use medk_shared::catalogue::{Catalogue, CatalogueDoc, CatalogueEdit};
use medk_shared::doc::{Edit, NewRoadmap, NewRow, RoadmapDoc, blank_activity};
use medk_shared::history::end_of_day_ms;
use medk_shared::ids::RowId;
use medk_shared::indicators::Progress;
use medk_shared::model::{Header, Roadmap, Section, Status};
use medk_shared::monitoring::{
    NoneDue, RoadmapOnDate, Rollup, SchoolSnapshot, VisitWarning, rollup, visit_warning,
};
use medk_shared::school::{
    Blob, Decision, DocumentKind, FiledDocument, PersonRef, Review, Risk, School, SchoolDoc, SchoolEdit,
    Stage, Survey, Visit,
};
use time::Date;
use time::macros::{date, offset};

fn eod(day: Date) -> i64 {
    end_of_day_ms(day, offset!(+3))
}

fn noon(day: Date) -> i64 {
    eod(day) - 12 * 3_600_000
}

fn person(id: &str) -> PersonRef {
    PersonRef { id: id.into(), name: format!("Имя {id}") }
}

fn visit(n: usize, date: &str) -> Visit {
    Visit {
        id: RowId::new(format!("v{n}")),
        date: date.into(),
        purpose: String::new(),
        people_met: String::new(),
        findings: String::new(),
        recommendations: String::new(),
        evaluation: String::new(),
        author: person("c1"),
    }
}

fn school(unit: &str, stage: Stage) -> School {
    School {
        unit: unit.into(),
        stage,
        assignment: Default::default(),
        survey: None,
        visits: Vec::new(),
        risks: Vec::new(),
        documents: Vec::new(),
    }
}

fn with_visits(stage: Stage, dates: &[&str]) -> School {
    let mut s = school("s", stage);
    s.visits = dates.iter().enumerate().map(|(i, d)| visit(i, d)).collect();
    s
}

// ---- visit warnings --------------------------------------------------------

#[test]
fn visit_warnings_follow_the_stage() {
    let rules = Catalogue::seed_2021();
    let forming = with_visits(Stage::Forming, &["2021-03-01", "2021-03-10"]);
    assert_eq!(visit_warning(&forming, &rules, date!(2021 - 03 - 17)), None, "7 days is allowed");
    assert_eq!(
        visit_warning(&forming, &rules, date!(2021 - 03 - 18)),
        Some(VisitWarning { last_visit: Some(date!(2021 - 03 - 10)), days_since: Some(8), allowed_days: 7 })
    );
    // A visit after the day does not count on that day.
    assert_eq!(
        visit_warning(&forming, &rules, date!(2021 - 03 - 09)).map(|w| w.last_visit),
        Some(Some(date!(2021 - 03 - 01)))
    );

    let carrying_out = with_visits(Stage::CarryingOut, &["2021-05-03"]);
    assert_eq!(visit_warning(&carrying_out, &rules, date!(2021 - 05 - 31)), None, "28 days is allowed");
    assert_eq!(visit_warning(&carrying_out, &rules, date!(2021 - 06 - 01)).unwrap().days_since, Some(29));

    let finished = with_visits(Stage::Finished, &[]);
    assert_eq!(visit_warning(&finished, &rules, date!(2022 - 01 - 01)), None, "no schedule once finished");

    let never = with_visits(Stage::Forming, &[]);
    assert_eq!(
        visit_warning(&never, &rules, date!(2021 - 03 - 01)),
        Some(VisitWarning { last_visit: None, days_since: None, allowed_days: 7 })
    );
}

#[test]
fn edited_rules_change_the_warnings() {
    let mut doc = CatalogueDoc::seeded(0);
    doc.apply(
        vec![
            CatalogueEdit::SetVisitInterval { stage: Stage::CarryingOut, days: Some(21) },
            CatalogueEdit::SetVisitInterval { stage: Stage::Forming, days: None },
        ],
        noon(date!(2021 - 04 - 01)),
        "rules",
    )
    .unwrap();
    let rules = doc.read();
    let carrying_out = with_visits(Stage::CarryingOut, &["2021-05-03"]);
    assert_eq!(visit_warning(&carrying_out, &rules, date!(2021 - 05 - 24)), None);
    assert_eq!(visit_warning(&carrying_out, &rules, date!(2021 - 05 - 25)).unwrap().allowed_days, 21);
    assert_eq!(visit_warning(&with_visits(Stage::Forming, &[]), &rules, date!(2021 - 05 - 25)), None);
}

// ---- roll-ups ----------------------------------------------------------------

/// rf → r1 (m1: s1, s2; m2: s3, s4) and r2 (m3: s5).
fn org() -> Org {
    let mut org = Org::default();
    let mut add = |id: &str, parent: &str, level| {
        org.add(Unit {
            id: id.into(), parent: Some(parent.into()), level, name: format!("Название {id}")
        })
        .unwrap()
    };
    add("r1", "rf", Level::Region);
    add("r2", "rf", Level::Region);
    add("m1", "r1", Level::Municipality);
    add("m2", "r1", Level::Municipality);
    add("m3", "r2", Level::Municipality);
    for (s, m) in [("s1", "m1"), ("s2", "m1"), ("s3", "m2"), ("s4", "m2"), ("s5", "m3")] {
        add(s, m, Level::School);
    }
    org
}

/// A roadmap of 2021 whose activities are (deadline, status).
/// A roadmap of `activities` (deadline, status) in a 2021 roadmap, as
/// monitoring counts it.
fn roadmap(activities: &[(&str, Status)]) -> RoadmapOnDate {
    let activities = activities
        .iter()
        .enumerate()
        .map(|(i, (deadline, status))| {
            let mut a = blank_activity(RowId::new(format!("a{i}")));
            a.deadline = (*deadline).into();
            a.status = *status;
            a
        })
        .collect();
    let roadmap = Roadmap {
        header: Header {
            title: String::new(),
            level: Level::School,
            territory: String::new(),
            year: Some(2021),
            approval: String::new(),
            abbreviations: String::new(),
            footnotes: String::new(),
            adopted_on: String::new(),
        },
        columns: Vec::new(),
        sections: vec![Section { id: RowId::new("s"), title: String::new(), activities }],
        working_group: Vec::new(),
    };
    RoadmapOnDate { progress: Some(Progress::of(&roadmap)), recorded_on: None, adopted_on: None }
}

fn document(kind: DocumentKind, decisions: &[Decision]) -> FiledDocument {
    FiledDocument {
        id: RowId::new(kind.key()),
        kind,
        title: String::new(),
        file: Some(Blob {
            address: format!("sha256:{}", "0".repeat(64)),
            name: "f".into(),
            size: 1,
            mime: "".into(),
        }),
        reviews: decisions
            .iter()
            .enumerate()
            .map(|(i, d)| Review {
                decision: *d,
                remarks: String::new(),
                by: person("c1"),
                at_ms: i as i64,
                file: String::new(),
            })
            .collect(),
    }
}

use Decision::{Confirmed, Returned, Submitted};
use Status::{Done, InProgress, Planned};

/// Four schools in r1 and one in r2, on 2021-05-31:
/// - s1: curator, visited, risks active, all concept documents confirmed,
///   monitoring 1 confirmed; roadmap 2 of 4 due done.
/// - s2: curator, visit only after the date, concept and roadmap confirmed
///   but the programme returned; roadmap 1 of 1 due done.
/// - s3: curator, visited; monitoring 1 submitted only; roadmap with nothing due.
/// - s4: no school file, no roadmap.
/// - s5 (other region): curator, visited, all confirmed; roadmap 0 of 2 done.
fn snapshots() -> Vec<SchoolSnapshot> {
    let all_concept = |extra: Vec<FiledDocument>| {
        let mut docs: Vec<_> =
            [DocumentKind::Concept, DocumentKind::Roadmap, DocumentKind::MediumTermProgramme]
                .into_iter()
                .map(|k| document(k, &[Submitted, Confirmed]))
                .collect();
        docs.extend(extra);
        docs
    };
    let mut s1 = school("s1", Stage::CarryingOut);
    s1.assignment.curator = Some(person("c1"));
    s1.survey = Some(Survey { on: "2021-02-15".into(), by: person("c1") });
    s1.visits = vec![visit(1, "2021-03-10")];
    s1.risks = vec![Risk { factor: "f01".into(), active: true, programme: None, note: String::new() }];
    s1.documents =
        all_concept(vec![document(DocumentKind::Monitoring1, &[Submitted, Returned, Submitted, Confirmed])]);

    let mut s2 = school("s2", Stage::Forming);
    s2.assignment.curator = Some(person("c2"));
    s2.visits = vec![visit(1, "2021-06-01")];
    s2.risks = vec![Risk { factor: "f01".into(), active: false, programme: None, note: String::new() }];
    s2.documents = vec![
        document(DocumentKind::Concept, &[Confirmed]),
        document(DocumentKind::Roadmap, &[Confirmed]),
        document(DocumentKind::MediumTermProgramme, &[Submitted, Confirmed, Returned]),
    ];

    let mut s3 = school("s3", Stage::CarryingOut);
    s3.assignment.curator = Some(person("c1"));
    // Completed after the monitoring date.
    s3.survey = Some(Survey { on: "2021-06-10".into(), by: person("c1") });
    s3.visits = vec![visit(1, "2021-05-31")];
    s3.documents = vec![document(DocumentKind::Monitoring1, &[Submitted])];

    let mut s5 = school("s5", Stage::CarryingOut);
    s5.assignment.curator = Some(person("c5"));
    s5.visits = vec![visit(1, "2021-04-01")];
    s5.documents = all_concept(vec![document(DocumentKind::Monitoring1, &[Confirmed])]);

    vec![
        SchoolSnapshot {
            unit: "s1".into(),
            roadmaps: vec![
                roadmap(&[("март", Done), ("апрель", Planned), ("май", Done)]),
                // A second roadmap of the same school counts with the first.
                roadmap(&[("до 15.05.2021", InProgress), ("сентябрь", Done)]),
            ],
            school: Some(s1),
            unread: false,
        },
        SchoolSnapshot {
            unit: "s2".into(),
            roadmaps: vec![roadmap(&[("май", Done), ("июнь", Planned)])],
            school: Some(s2),
            unread: false,
        },
        SchoolSnapshot {
            unit: "s3".into(),
            roadmaps: vec![roadmap(&[("декабрь", Planned), ("", Done)])],
            school: Some(s3),
            unread: false,
        },
        SchoolSnapshot { unit: "s4".into(), roadmaps: vec![], school: None, unread: false },
        SchoolSnapshot {
            unit: "s5".into(),
            roadmaps: vec![roadmap(&[("март", Planned), ("апрель", InProgress)])],
            school: Some(s5),
            unread: false,
        },
    ]
}

const DAY: Date = date!(2021 - 05 - 31);

fn unit<'a>(rollup: &'a Rollup, id: &str) -> &'a medk_shared::monitoring::Totals {
    let all = rollup.regions.iter().chain(&rollup.municipalities);
    &all.clone().find(|u| u.unit == id).unwrap_or_else(|| panic!("no {id}")).totals
}

#[test]
fn a_region_rolls_up_by_hand() {
    let r = rollup(&org(), "r1", &Catalogue::seed_2021(), &snapshots(), DAY);
    let t = &r.total;
    assert_eq!(t.schools, 4, "s5 is in another region");
    assert_eq!((t.due, t.done_of_due), (5, 3), "s1: 4 due, 2 done; s2: 1 due, 1 done");
    assert_eq!(t.done_share(), Some(0.6));
    assert_eq!(t.schools_with_due, 2);
    assert_eq!(t.mean_school_share(), Some(0.75), "(1/2 + 1) / 2");
    assert_eq!(t.curator_assigned, 3);
    assert_eq!(t.share_of_schools(t.curator_assigned), Some(0.75));
    assert_eq!(t.visited, 2, "s2's visit is after the date");
    assert_eq!(t.surveyed, 1, "s3 completed its survey after the date, s2 and s4 not at all");
    assert_eq!(t.risks_activated, 1);
    assert_eq!(t.concept_confirmed, 1, "s2's programme was returned last");
    assert_eq!(t.monitoring_1_confirmed, 1, "s3's is only submitted");
    assert_eq!(t.monitoring_2_confirmed, 0);

    assert_eq!(r.regions.len(), 1);
    assert_eq!(r.regions[0].unit, "r1");
    assert_eq!(r.regions[0].name, "Название r1");
    assert_eq!(r.regions[0].totals, *t);
    let ids: Vec<_> = r.municipalities.iter().map(|m| m.unit.as_str()).collect();
    assert_eq!(ids, ["m1", "m2"]);
    let m1 = unit(&r, "m1");
    assert_eq!((m1.schools, m1.due, m1.done_of_due, m1.curator_assigned, m1.visited), (2, 5, 3, 2, 1));
    assert_eq!(m1.concept_confirmed, 1);
    assert_eq!((m1.surveyed, unit(&r, "m2").surveyed), (1, 0));
    let m2 = unit(&r, "m2");
    assert_eq!((m2.schools, m2.due, m2.curator_assigned, m2.visited, m2.concept_confirmed), (2, 0, 1, 1, 0));
    assert_eq!(m2.done_share(), None, "nothing due");
    assert_eq!(m2.mean_school_share(), None);
    assert_eq!(m2.share_of_schools(m2.visited), Some(0.5));
}

#[test]
fn the_whole_project_and_a_municipality_roll_up_too() {
    let all = rollup(&org(), "rf", &Catalogue::seed_2021(), &snapshots(), DAY);
    assert_eq!(all.total.schools, 5);
    assert_eq!((all.total.due, all.total.done_of_due), (7, 3));
    assert_eq!(all.total.mean_school_share(), Some(0.5), "(1/2 + 1 + 0) / 3");
    assert_eq!(all.total.concept_confirmed, 2);
    assert_eq!(all.regions.len(), 2);
    assert_eq!(unit(&all, "r2").schools, 1);
    assert_eq!(all.municipalities.len(), 3);

    let m2 = rollup(&org(), "m2", &Catalogue::seed_2021(), &snapshots(), DAY);
    assert_eq!(m2.total.schools, 2);
    assert!(m2.regions.is_empty(), "the region is above the unit asked for");
    assert_eq!(m2.municipalities.len(), 1);
}

#[test]
fn the_concept_indicator_follows_the_catalogue() {
    let mut rules = Catalogue::seed_2021();
    rules.stages[0].required.retain(|k| *k != DocumentKind::MediumTermProgramme);
    let r = rollup(&org(), "r1", &rules, &snapshots(), DAY);
    assert_eq!(r.total.concept_confirmed, 2, "s2 no longer needs the returned programme");
    rules.stages[0].required.clear();
    assert_eq!(rollup(&org(), "r1", &rules, &snapshots(), DAY).total.concept_confirmed, 0);
}

/// The real path: documents with history, read as of the date.
#[test]
fn the_state_on_the_date_counts_not_the_state_now() {
    let section = RowId::new("sec");
    let mut doc = RoadmapDoc::create(
        &NewRoadmap {
            title: "ДК".into(),
            level: Level::School,
            territory: String::new(),
            year: Some(2021),
            columns: Level::School.default_columns(),
        },
        section.clone(),
    );
    let create = |n: usize| {
        let mut a = blank_activity(RowId::new(format!("a{n}")));
        a.deadline = "май".into();
        Edit::Create(Box::new(NewRow::Activity {
            section: section.clone(),
            pos: format!("a{n}"),
            activity: a,
        }))
    };
    let status = |n: usize, status| Edit::SetStatus { activity: RowId::new(format!("a{n}")), status };
    doc.apply((1..=3).map(create).collect(), noon(date!(2021 - 04 - 01)), "plan").unwrap();
    doc.apply(vec![status(1, Done)], noon(date!(2021 - 05 - 20)), "a1 done").unwrap();
    doc.apply(vec![status(2, Done)], noon(date!(2021 - 05 - 25)), "a2 done").unwrap();
    // After the monitoring date: a2 is un-done, a3 is done.
    doc.apply(vec![status(2, InProgress)], noon(date!(2021 - 06 - 02)), "a2 undone").unwrap();
    doc.apply(vec![status(3, Done)], noon(date!(2021 - 06 - 03)), "a3 done").unwrap();

    let mut file = SchoolDoc::create("s1", Stage::Forming, noon(date!(2021 - 02 - 01)));
    file.apply(vec![SchoolEdit::PutVisit(visit(1, "2021-05-10"))], noon(date!(2021 - 05 - 10)), "visit")
        .unwrap();
    file.apply(
        vec![SchoolEdit::SetAssignment { curator: Some(person("c1")), coordinator: None }],
        noon(date!(2021 - 06 - 05)),
        "assign late",
    )
    .unwrap();
    // The survey, done in mid-May, was only marked in June.
    file.apply(
        vec![SchoolEdit::SetSurvey { on: Some("2021-05-15".into()), by: person("c1") }],
        noon(date!(2021 - 06 - 04)),
        "survey",
    )
    .unwrap();

    let on = |doc: &mut RoadmapDoc, file: &mut SchoolDoc, day: Date| {
        let snapshot = SchoolSnapshot::on("s1", std::slice::from_mut(doc), Some(file), day, offset!(+3));
        rollup(&org(), "rf", &Catalogue::seed_2021(), &[snapshot], day).total
    };
    let then = on(&mut doc, &mut file, DAY);
    assert_eq!((then.due, then.done_of_due), (3, 2), "a1 and a2 were done on the date");
    assert_eq!(then.curator_assigned, 0, "assigned after the date");
    assert_eq!(then.visited, 1);
    assert_eq!(then.surveyed, 0, "not marked in the file on the date");
    let later = on(&mut doc, &mut file, date!(2021 - 06 - 10));
    assert_eq!((later.due, later.done_of_due), (3, 2), "a1 and a3 now");
    assert_eq!(later.curator_assigned, 1);
    assert_eq!(later.surveyed, 1);
    let before = on(&mut doc, &mut file, date!(2021 - 05 - 21));
    assert_eq!((before.due, before.done_of_due), (0, 0), "May is not over yet");
}

#[test]
fn five_hundred_schools_of_fifty_activities_roll_up() {
    let mut org = Org::default();
    org.add(Unit { id: "r".into(), parent: Some("rf".into()), level: Level::Region, name: "Р".into() })
        .unwrap();
    let mut snapshots = Vec::new();
    for m in 0..10 {
        let mid = format!("m{m}");
        org.add(Unit {
            id: mid.clone(),
            parent: Some("r".into()),
            level: Level::Municipality,
            name: mid.clone(),
        })
        .unwrap();
        for s in 0..50 {
            let sid = format!("s{m}-{s}");
            org.add(Unit {
                id: sid.clone(),
                parent: Some(mid.clone()),
                level: Level::School,
                name: sid.clone(),
            })
            .unwrap();
            // 40 activities due by May (every other one done), 10 due in December.
            let activities: Vec<_> = (0..50)
                .map(|i| {
                    if i < 40 {
                        ("апрель", if i % 2 == 0 { Done } else { Planned })
                    } else {
                        ("декабрь", Planned)
                    }
                })
                .collect();
            let mut file = school(&sid, Stage::CarryingOut);
            if s % 5 == 0 {
                file.assignment.curator = Some(person("c"));
                file.visits = vec![visit(0, "2021-05-01")];
            }
            snapshots.push(SchoolSnapshot {
                unit: sid,
                roadmaps: vec![roadmap(&activities)],
                school: Some(file),
                unread: false,
            });
        }
    }
    let r = rollup(&org, "rf", &Catalogue::seed_2021(), &snapshots, DAY);
    assert_eq!(r.total.schools, 500);
    assert_eq!((r.total.due, r.total.done_of_due), (500 * 40, 500 * 20));
    assert_eq!(r.total.done_share(), Some(0.5));
    assert_eq!(r.total.mean_school_share(), Some(0.5));
    assert_eq!((r.total.curator_assigned, r.total.visited), (100, 100));
    assert_eq!(r.municipalities.len(), 10);
    assert!(r.municipalities.iter().all(|m| m.totals.schools == 50 && m.totals.curator_assigned == 10));
}

/// A 2021 plan imported years later: «0 из 0» on a 2021 date until someone
/// states when the plan was adopted; from then on the plan as imported
/// counts from that day, and what was marked after the import still only
/// from its own time.
#[test]
fn an_imported_plan_counts_from_its_adoption_date() {
    use medk_shared::history::{import_action, signed};
    let section = RowId::new("sec");
    let new = NewRoadmap {
        title: "ДК 2021".into(),
        level: Level::School,
        territory: String::new(),
        year: Some(2021),
        columns: Level::School.default_columns(),
    };
    let mut doc = RoadmapDoc::create(&new, section.clone());
    let create = |n: usize, deadline: &str| {
        let mut a = blank_activity(RowId::new(format!("a{n}")));
        a.deadline = deadline.into();
        Edit::Create(Box::new(NewRow::Activity {
            section: section.clone(),
            pos: format!("a{n}"),
            activity: a,
        }))
    };
    let import = signed(&import_action("plan.docx"), "Анна");
    let imported = date!(2026 - 11 - 20);
    doc.apply(vec![create(1, "март"), create(2, "май"), create(3, "сентябрь")], noon(imported), &import)
        .unwrap();
    let done = Edit::SetStatus { activity: RowId::new("a1"), status: Done };
    doc.apply(vec![done], noon(date!(2026 - 11 - 21)), "set status").unwrap();

    let june = date!(2021 - 06 - 01);
    let on = |doc: &mut RoadmapDoc, day: Date| {
        SchoolSnapshot::on("s1", std::slice::from_mut(doc), None, day, offset!(+3))
    };
    let before = on(&mut doc, june);
    assert_eq!(before.roadmaps_on(june), 0, "recorded only in 2026");
    assert_eq!(before.none_due(june), Some(NoneDue::RecordedLater(Some(imported))));
    assert_eq!(
        before.none_due(june).unwrap().detail_ru(),
        "дорожная карта внесена 20.11.2026 — позже даты мониторинга; дата принятия плана не указана"
    );

    // The roadmap's own execution report says the same in words.
    assert_eq!(
        NoneDue::of_roadmap(&mut doc, june, offset!(+3)).map(|why| why.report_line(june)).as_deref(),
        Some(
            "Нет мероприятий со сроком до 01.06.2021: дорожная карта внесена 20.11.2026 — позже даты \
             отчёта; дата принятия плана не указана."
        )
    );

    let adopt = Edit::SetAdoptedOn("2021-01-15".into());
    doc.apply(vec![adopt], noon(date!(2026 - 11 - 22)), "set adoption date").unwrap();
    assert_eq!(NoneDue::of_roadmap(&mut doc, june, offset!(+3)), None, "due by then: counted, not explained");
    let jan14 = date!(2021 - 01 - 14);
    assert_eq!(
        NoneDue::of_roadmap(&mut doc, jan14, offset!(+3)).map(|why| why.report_line(jan14)).as_deref(),
        Some("Нет мероприятий со сроком до 14.01.2021: план принят 15.01.2021 — позже даты отчёта.")
    );
    let adopted = on(&mut doc, june);
    assert_eq!(adopted.roadmaps_on(june), 1);
    assert_eq!(adopted.none_due(june), None);
    let total = |s: SchoolSnapshot, day| rollup(&org(), "rf", &Catalogue::seed_2021(), &[s], day).total;
    let t = total(adopted, june);
    assert_eq!((t.due, t.done_of_due), (2, 0), "March and May due; done only in 2026");
    // The figure says from when marks count.
    assert_eq!(on(&mut doc, june).marks_from(june), Some(imported));
    assert_eq!(
        on(&mut doc, date!(2026 - 11 - 21)).marks_from(date!(2026 - 11 - 21)),
        None,
        "recorded by then"
    );
    let feb = on(&mut doc, date!(2021 - 02 - 01));
    assert_eq!(feb.none_due(date!(2021 - 02 - 01)), Some(NoneDue::NotYetDue(date!(2021 - 03 - 31))));
    let jan = on(&mut doc, date!(2021 - 01 - 14));
    assert_eq!(jan.none_due(date!(2021 - 01 - 14)), Some(NoneDue::AdoptedLater(date!(2021 - 01 - 15))));
    assert_eq!(
        NoneDue::AdoptedLater(date!(2021 - 01 - 15)).detail_ru(),
        "план принят 15.01.2021 — позже даты мониторинга"
    );
    assert_eq!(
        on(&mut doc, date!(2021 - 01 - 15)).roadmaps_on(date!(2021 - 01 - 15)),
        1,
        "from that very day"
    );
    let now = date!(2026 - 11 - 21);
    let t = total(on(&mut doc, now), now);
    assert_eq!((t.due, t.done_of_due), (3, 1));

    // The same plan typed in by hand: an adoption date changes nothing.
    let mut typed = RoadmapDoc::create(&new, section.clone());
    typed.apply(vec![create(1, "март")], noon(imported), "add activity").unwrap();
    typed.apply(vec![Edit::SetAdoptedOn("2021-01-15".into())], noon(imported), "set adoption date").unwrap();
    let s = on(&mut typed, june);
    assert_eq!(s.roadmaps[0].adopted_on, None);
    assert_eq!(s.none_due(june), Some(NoneDue::RecordedLater(Some(imported))));
}

/// Found by a trial: offline, a school whose roadmap copy could not be
/// read was summed up as «нет дорожной карты» in the headline and chart.
#[test]
fn a_school_whose_documents_were_not_read_is_not_said_to_have_no_roadmap() {
    let unread = SchoolSnapshot { unit: "s1".into(), roadmaps: vec![], school: None, unread: true };
    assert_eq!(unread.none_due(DAY), Some(NoneDue::Unread));
    let mut org = org();
    org.add(Unit { id: "s6".into(), parent: Some("m3".into()), level: Level::School, name: "s6".into() })
        .unwrap();
    let m3 =
        rollup(&org, "m3", &Catalogue::seed_2021(), &[SchoolSnapshot { unit: "s6".into(), ..unread }], DAY)
            .total;
    assert_eq!(m3.none_due_ru().as_deref(), Some("не прочитано на этом устройстве — 1 школа"));
    assert_eq!(m3.none_due_short_ru().as_deref(), Some("не прочитано на этом устройстве"));
    // What was read and is due still counts.
    let read = SchoolSnapshot {
        unit: "s1".into(),
        roadmaps: vec![roadmap(&[("март", Planned)])],
        school: None,
        unread: true,
    };
    assert_eq!(read.none_due(DAY), None);
}

#[test]
fn an_empty_figure_says_why_for_each_school_and_for_the_unit() {
    let on = |roadmaps: Vec<RoadmapOnDate>| SchoolSnapshot {
        unit: "s1".into(),
        roadmaps,
        school: None,
        unread: false,
    };
    assert_eq!(on(vec![]).none_due(DAY), Some(NoneDue::NoRoadmap));
    assert_eq!(on(vec![roadmap(&[])]).none_due(DAY), Some(NoneDue::NoActivities));
    assert_eq!(on(vec![roadmap(&[("март", Status::Cancelled)])]).none_due(DAY), Some(NoneDue::AllCancelled));
    assert_eq!(on(vec![roadmap(&[("когда-нибудь", Planned)])]).none_due(DAY), Some(NoneDue::NoDeadlines));
    assert_eq!(
        on(vec![roadmap(&[("декабрь", Planned), ("", Planned), ("сентябрь", Planned)])]).none_due(DAY),
        Some(NoneDue::NotYetDue(date!(2021 - 09 - 30)))
    );
    assert_eq!(on(vec![roadmap(&[("март", Planned)])]).none_due(DAY), None);

    let mut org = org();
    for id in ["s6", "s7", "s8"] {
        org.add(Unit { id: id.into(), parent: Some("m3".into()), level: Level::School, name: id.into() })
            .unwrap();
    }
    let school =
        |unit: &str, roadmaps| SchoolSnapshot { unit: unit.into(), roadmaps, school: None, unread: false };
    let m3_schools = [
        school("s6", vec![roadmap(&[("декабрь", Planned)])]),
        school("s7", vec![roadmap(&[("ноябрь", Done)])]),
        school("s8", vec![]),
    ];
    let m3 = rollup(&org, "m3", &Catalogue::seed_2021(), &m3_schools, DAY).total;
    assert_eq!(
        m3.none_due_ru().as_deref(),
        Some("нет дорожной карты — 1 школа; сроки мероприятий ещё не наступили — 2 школы")
    );
    let with_due = rollup(&org, "r1", &Catalogue::seed_2021(), &snapshots(), DAY).total;
    assert_eq!(with_due.none_due_ru(), None);
    assert_eq!(
        rollup(&org, "m3", &Catalogue::seed_2021(), &[], DAY).total.none_due_ru().as_deref(),
        Some("школ нет")
    );
}
