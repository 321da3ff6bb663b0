//! Monitoring on a date («на дату мониторинга»): the visit warning of one
//! school, and the roll-up of schools' roadmaps and school files over the
//! organisation tree into the project's indicators.
//!
//! Decisions:
//! - Roll-ups take snapshots already read as of the date
//!   ([`crate::history::progress_at`], [`crate::school::school_at`]): "as it
//!   stood then" is decided in one place, and this module only counts.
//! - Activities: the done share is given two ways — over all due
//!   activities of the unit (big schools weigh more) and as the mean of the
//!   schools' own shares (each school weighs the same); schools with
//!   nothing due are left out of both.
//! - The federal indicators are shares of all the unit's schools in the
//!   project (those passed in): a school without a school file counts as
//!   having no curator, no visit and no documents.
//! - «Концептуальные документы, подтвержденные куратором»: every document
//!   kind the catalogue requires at the forming stage is confirmed (its last
//!   decision); when the catalogue requires none, no school counts.
//! - Monitoring documents are counted per stage (1 and 2), as the project
//!   reports them at different dates.
//! - A visit is late when more days than the stage allows have passed since
//!   the last visit; a school never visited is late as soon as its stage has
//!   a schedule.

use crate::access::{Level, Org, UnitId};
use crate::catalogue::Catalogue;
use crate::doc::RoadmapDoc;
use crate::history::progress_at;
use crate::indicators::Progress;
use crate::school::{DocumentKind, School, SchoolDoc, Stage, school_at};
use std::collections::BTreeMap;
use time::Date;

/// A school is overdue for a curator visit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VisitWarning {
    /// The last visit on or before the day, if any.
    pub last_visit: Option<Date>,
    /// Days from the last visit to the day; `None` when never visited.
    pub days_since: Option<i64>,
    /// What the school's stage allows.
    pub allowed_days: u32,
}

/// The warning for `school` on `today`, `None` when its visits are on
/// schedule or its stage has none.
pub fn visit_warning(school: &School, rules: &Catalogue, today: Date) -> Option<VisitWarning> {
    let allowed_days = rules.rules(school.stage).visit_every_days?;
    let last_visit = school.last_visit_by(today);
    let days_since = last_visit.map(|d| (today - d).whole_days());
    let late = days_since.is_none_or(|days| days > i64::from(allowed_days));
    late.then_some(VisitWarning { last_visit, days_since, allowed_days })
}

/// One school as it stood on the monitoring date.
#[derive(Clone, Debug, PartialEq)]
pub struct SchoolSnapshot {
    pub unit: UnitId,
    /// The school's roadmaps as of the date (those that existed then), as
    /// much of them as the counts need; a school's activities are counted
    /// over all of them.
    pub roadmaps: Vec<Progress>,
    /// The school file as of the date, if it had one.
    pub school: Option<School>,
}

impl SchoolSnapshot {
    /// Reads a school's documents as they stood at `until_ms` (the end of
    /// the monitoring day): the one way the dashboard and its benchmark
    /// build snapshots.
    pub fn at(
        unit: &str,
        roadmaps: &mut [RoadmapDoc],
        school: Option<&mut SchoolDoc>,
        until_ms: i64,
    ) -> SchoolSnapshot {
        SchoolSnapshot {
            unit: unit.to_owned(),
            roadmaps: roadmaps.iter_mut().filter_map(|doc| progress_at(doc, until_ms)).collect(),
            school: school.and_then(|doc| school_at(doc, until_ms)),
        }
    }
}

/// Counts over a set of schools. Shares are `None` when there is nothing
/// to divide by.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Totals {
    pub schools: usize,
    /// Activities due by the date, over all roadmaps.
    pub due: usize,
    /// Of those, done.
    pub done_of_due: usize,
    /// Schools whose roadmap had something due.
    pub schools_with_due: usize,
    /// The sum of those schools' own done shares (0..=1 each).
    pub school_shares_sum: f64,
    /// «… в которых назначены кураторы».
    pub curator_assigned: usize,
    /// «… в которых завершено анкетирование»: the survey completed on or
    /// before the date.
    pub surveyed: usize,
    /// «… посещенных кураторами»: at least one visit on or before the date.
    pub visited: usize,
    /// «… активировавших рисковые направления»: at least one active factor.
    pub risks_activated: usize,
    /// «… разместивших концептуальные документы, подтвержденные куратором».
    pub concept_confirmed: usize,
    /// «… разместивших документы для мониторинга, подтвержденные куратором», stage 1.
    pub monitoring_1_confirmed: usize,
    /// The same, stage 2.
    pub monitoring_2_confirmed: usize,
}

impl Totals {
    /// Done among all due activities.
    pub fn done_share(&self) -> Option<f64> {
        ratio(self.done_of_due, self.due)
    }

    /// The mean of the schools' own done shares.
    pub fn mean_school_share(&self) -> Option<f64> {
        (self.schools_with_due > 0).then(|| self.school_shares_sum / self.schools_with_due as f64)
    }

    /// `count` (one of the school counts above) as a share of the schools.
    pub fn share_of_schools(&self, count: usize) -> Option<f64> {
        ratio(count, self.schools)
    }

    fn add(&mut self, facts: &SchoolFacts) {
        self.schools += 1;
        self.due += facts.due;
        self.done_of_due += facts.done_of_due;
        if let Some(share) = ratio(facts.done_of_due, facts.due) {
            self.schools_with_due += 1;
            self.school_shares_sum += share;
        }
        self.curator_assigned += usize::from(facts.curator_assigned);
        self.surveyed += usize::from(facts.surveyed);
        self.visited += usize::from(facts.visited);
        self.risks_activated += usize::from(facts.risks_activated);
        self.concept_confirmed += usize::from(facts.concept_confirmed);
        self.monitoring_1_confirmed += usize::from(facts.monitoring_1_confirmed);
        self.monitoring_2_confirmed += usize::from(facts.monitoring_2_confirmed);
    }
}

fn ratio(part: usize, whole: usize) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

/// The totals of one unit of the tree.
#[derive(Clone, Debug, PartialEq)]
pub struct UnitTotals {
    pub unit: UnitId,
    pub name: String,
    pub totals: Totals,
}

/// The roll-up under one unit on a date.
#[derive(Clone, Debug, PartialEq)]
pub struct Rollup {
    pub date: Date,
    /// Over every school under the unit.
    pub total: Totals,
    /// Per region under the unit, by id.
    pub regions: Vec<UnitTotals>,
    /// Per municipality under the unit, by id.
    pub municipalities: Vec<UnitTotals>,
}

/// Rolls `schools` up over the tree below `under` (schools outside it are
/// left out) on `date`, with the document rules of `catalogue`.
pub fn rollup(
    org: &Org,
    under: &str,
    catalogue: &Catalogue,
    schools: &[SchoolSnapshot],
    date: Date,
) -> Rollup {
    let concept_kinds = &catalogue.rules(Stage::Forming).required;
    let mut total = Totals::default();
    let mut by_unit: BTreeMap<(Level, &str), Totals> = BTreeMap::new();
    for snapshot in schools.iter().filter(|s| org.within(&s.unit, under)) {
        let facts = SchoolFacts::of(snapshot, concept_kinds, date);
        total.add(&facts);
        for unit in org.path(&snapshot.unit) {
            if matches!(unit.level, Level::Region | Level::Municipality) && org.within(&unit.id, under) {
                by_unit.entry((unit.level, unit.id.as_str())).or_default().add(&facts);
            }
        }
    }
    let mut level = |wanted: Level| -> Vec<UnitTotals> {
        let keys: Vec<_> = by_unit.keys().filter(|(l, _)| *l == wanted).copied().collect();
        keys.into_iter()
            .map(|key| UnitTotals {
                unit: key.1.to_owned(),
                name: org.get(key.1).map(|u| u.name.clone()).unwrap_or_default(),
                totals: by_unit.remove(&key).unwrap_or_default(),
            })
            .collect()
    };
    let regions = level(Level::Region);
    let municipalities = level(Level::Municipality);
    Rollup { date, total, regions, municipalities }
}

/// The kinds of documents the dashboard shows per school: those every
/// school files while forming its roadmap (the catalogue's), then the two
/// stages of monitoring.
pub fn monitored_kinds(catalogue: &Catalogue) -> Vec<DocumentKind> {
    let required = &catalogue.rules(Stage::Forming).required;
    DocumentKind::ALL
        .into_iter()
        .filter(|k| {
            required.contains(k) || matches!(k, DocumentKind::Monitoring1 | DocumentKind::Monitoring2)
        })
        .collect()
}

/// What one school contributes to a roll-up.
struct SchoolFacts {
    due: usize,
    done_of_due: usize,
    curator_assigned: bool,
    surveyed: bool,
    visited: bool,
    risks_activated: bool,
    concept_confirmed: bool,
    monitoring_1_confirmed: bool,
    monitoring_2_confirmed: bool,
}

impl SchoolFacts {
    fn of(snapshot: &SchoolSnapshot, concept_kinds: &[DocumentKind], date: Date) -> Self {
        let (due, done_of_due) = snapshot
            .roadmaps
            .iter()
            .map(|r| r.execution(date))
            .fold((0, 0), |acc, e| (acc.0 + e.due, acc.1 + e.done_of_due));
        let school = snapshot.school.as_ref();
        let has = |test: &dyn Fn(&School) -> bool| school.is_some_and(test);
        SchoolFacts {
            due,
            done_of_due,
            curator_assigned: has(&|s| s.assignment.curator.is_some()),
            surveyed: has(&|s| s.surveyed_by(date)),
            visited: has(&|s| s.last_visit_by(date).is_some()),
            risks_activated: has(&|s| s.risks.iter().any(|r| r.active)),
            concept_confirmed: !concept_kinds.is_empty()
                && has(&|s| concept_kinds.iter().all(|kind| s.confirmed(*kind))),
            monitoring_1_confirmed: has(&|s| s.confirmed(DocumentKind::Monitoring1)),
            monitoring_2_confirmed: has(&|s| s.confirmed(DocumentKind::Monitoring2)),
        }
    }
}
