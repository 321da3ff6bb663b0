//! Monitoring on a date («на дату мониторинга»): the visit warning of one
//! school, and the roll-up of schools' roadmaps and school files over the
//! organisation tree into the project's indicators.
//!
//! Decisions:
//! - Roll-ups take snapshots already read as of the date
//!   ([`crate::history::progress_at`], [`crate::typed_doc::TypedDoc::read_until`]): "as it
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
//! - A roadmap counts on the date once it was recorded here, or, for an
//!   imported plan, from the day it was adopted ([`RoadmapOnDate`]); a
//!   school with nothing due says why ([`NoneDue`]) rather than «0 из 0».

use crate::access::{Level, Org, UnitId};
use crate::catalogue::Catalogue;
use crate::doc::RoadmapDoc;
use crate::history::{PlanHeads, end_of_day_ms, plan_heads_window, progress_at_heads, start_of_day_ms};
use crate::indicators::Progress;
use crate::model::Status;
use crate::ru;
use crate::school::{DocumentKind, School, SchoolDoc, Stage};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use time::{Date, OffsetDateTime, UtcOffset};

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

/// One of a school's roadmaps on the monitoring date: what of it counts
/// then, and the two days that say why little or nothing does.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RoadmapOnDate {
    /// As much of it as the counts need, as it stood at the end of the day
    /// ([`plan_heads_window`]); `None` when nothing of it counts then.
    pub progress: Option<Progress>,
    /// The day it was recorded here (its import, or its first change with
    /// a time), in the time zone of the reading; `None` when not known.
    pub recorded_on: Option<Date>,
    /// The day its plan was adopted, when stated for an imported plan (for
    /// one typed in by hand the date counts for nothing, so it is `None`).
    pub adopted_on: Option<Date>,
}

impl RoadmapOnDate {
    /// Which heads of `doc` count at `until_ms` (the end of a day in the
    /// time zone `offset`) and the days that go with them, the progress
    /// left to read at those heads ([`progress_at_heads`]; a caller that
    /// keeps readings by heads answers from those it holds).
    pub fn heads(doc: &mut RoadmapDoc, until_ms: i64, offset: UtcOffset) -> (PlanHeads, RoadmapOnDate) {
        let adopted_on = doc.adopted_on();
        let plan =
            plan_heads_window(doc.automerge(), until_ms, adopted_on.map(|d| start_of_day_ms(d, offset)));
        let recorded_on = plan.recorded_ms.and_then(|ms| day_of(ms, offset));
        let adopted_on = adopted_on.filter(|_| plan.imported);
        (plan, RoadmapOnDate { progress: None, recorded_on, adopted_on })
    }

    /// [`RoadmapOnDate::heads`] with the progress read at them.
    pub fn read(doc: &mut RoadmapDoc, until_ms: i64, offset: UtcOffset) -> RoadmapOnDate {
        let (plan, mut on_date) = Self::heads(doc, until_ms, offset);
        on_date.progress = progress_at_heads(doc, &plan.heads);
        on_date
    }

    /// [`RoadmapOnDate::read`] at the end of `date` in the time zone `offset`.
    pub fn on(doc: &mut RoadmapDoc, date: Date, offset: UtcOffset) -> RoadmapOnDate {
        Self::read(doc, end_of_day_ms(date, offset), offset)
    }

    /// Why nothing of this roadmap alone was due on `date` ([`SchoolSnapshot::none_due`]).
    pub fn none_due(&self, date: Date) -> Option<NoneDue> {
        let snapshot =
            SchoolSnapshot { unit: UnitId::new(), roadmaps: vec![self.clone()], school: None, unread: false };
        snapshot.none_due(date)
    }

    /// When its marks of execution start to count, if it counts on `date`
    /// only by its plan's adoption date (recorded here later: marks made
    /// since count from when they were made, see [`crate::history`]).
    pub fn marks_from(&self, date: Date) -> Option<Date> {
        let by_adoption = self.existed_on(date) && self.adopted_on.is_some_and(|day| day <= date);
        self.recorded_on.filter(|day| by_adoption && *day > date)
    }

    /// Whether it counts as a roadmap of the school on `date`: something
    /// of it counts, and it was recorded (or its plan adopted) by then. A
    /// roadmap made later still has a creation without a time, which
    /// counts at every moment, but is no roadmap of that date.
    pub fn existed_on(&self, date: Date) -> bool {
        self.progress.is_some()
            && (self.recorded_on.is_none_or(|day| day <= date)
                || self.adopted_on.is_some_and(|day| day <= date))
    }
}

/// The day of `ms` (Unix milliseconds) in the time zone `offset`.
fn day_of(ms: i64, offset: UtcOffset) -> Option<Date> {
    let at = OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok()?;
    Some(at.to_offset(offset).date())
}

/// One school as it stood on the monitoring date.
#[derive(Clone, Debug, PartialEq)]
pub struct SchoolSnapshot {
    pub unit: UnitId,
    /// The school's roadmaps (all listed for it, also those that did not
    /// exist yet); a school's activities are counted over all of them.
    pub roadmaps: Vec<RoadmapOnDate>,
    /// The school file as of the date, if it had one.
    pub school: Option<School>,
    /// Some of its documents could not be read here (a broken copy): what
    /// is missing is not known to be absent.
    pub unread: bool,
}

impl SchoolSnapshot {
    /// Reads a school's documents as they stood at the end of `date` in
    /// the time zone `offset`: the way tests and tools build snapshots
    /// (the dashboard reads the same through its held readings).
    pub fn on(
        unit: &str,
        roadmaps: &mut [RoadmapDoc],
        school: Option<&mut SchoolDoc>,
        date: Date,
        offset: UtcOffset,
    ) -> SchoolSnapshot {
        let until_ms = end_of_day_ms(date, offset);
        SchoolSnapshot {
            unit: unit.to_owned(),
            roadmaps: roadmaps.iter_mut().map(|doc| RoadmapOnDate::read(doc, until_ms, offset)).collect(),
            school: school.and_then(|doc| doc.read_until(until_ms)),
            unread: false,
        }
    }

    /// Its roadmaps that existed on `date` ([`RoadmapOnDate::existed_on`]).
    pub fn roadmaps_on(&self, date: Date) -> usize {
        self.roadmaps.iter().filter(|r| r.existed_on(date)).count()
    }

    /// When marks of execution start to count, if a roadmap of the school
    /// counts on `date` only by its plan's adoption date: it was recorded
    /// here later, and marks made since count from when they were made
    /// (see [`crate::history`]), so `date`'s figure holds none of them.
    /// The earliest such day; `None` when no roadmap counts that way.
    pub fn marks_from(&self, date: Date) -> Option<Date> {
        self.roadmaps.iter().filter_map(|r| r.marks_from(date)).min()
    }

    /// Why nothing of the school was due on `date`; `None` when something was.
    pub fn none_due(&self, date: Date) -> Option<NoneDue> {
        let progress = |r: &RoadmapOnDate| r.progress.as_ref().map(|p| p.execution(date));
        if self.roadmaps.iter().filter_map(progress).any(|e| e.due > 0) {
            return None;
        }
        if self.unread {
            return Some(NoneDue::Unread);
        }
        if self.roadmaps.is_empty() {
            return Some(NoneDue::NoRoadmap);
        }
        let existed: Vec<&Progress> =
            self.roadmaps.iter().filter(|r| r.existed_on(date)).filter_map(|r| r.progress.as_ref()).collect();
        if existed.is_empty() {
            // Every roadmap came later: the earliest it would count from.
            let adopted = self.roadmaps.iter().filter_map(|r| r.adopted_on).filter(|d| *d > date).min();
            return Some(match adopted {
                Some(day) => NoneDue::AdoptedLater(day),
                None => NoneDue::RecordedLater(self.roadmaps.iter().filter_map(|r| r.recorded_on).min()),
            });
        }
        let activities: Vec<_> = existed.iter().flat_map(|p| &p.activities).collect();
        let active: Vec<_> = activities.iter().filter(|(status, _)| *status != Status::Cancelled).collect();
        Some(if activities.is_empty() {
            NoneDue::NoActivities
        } else if active.is_empty() {
            NoneDue::AllCancelled
        } else {
            match active.iter().filter_map(|(_, due_by)| *due_by).min() {
                Some(first) => NoneDue::NotYetDue(first),
                None => NoneDue::NoDeadlines,
            }
        })
    }
}

/// Why a school had no activity due on the monitoring date: what the
/// dashboard says instead of «0 из 0».
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoneDue {
    /// The school has no roadmap.
    NoRoadmap,
    /// Its (earliest) plan was adopted after the date.
    AdoptedLater(Date),
    /// Its roadmaps were recorded here after the date (the earliest
    /// then), and no adoption date makes a plan count before.
    RecordedLater(Option<Date>),
    /// Its roadmaps had no activities then.
    NoActivities,
    /// All of them were cancelled.
    AllCancelled,
    /// None of their deadlines is understood.
    NoDeadlines,
    /// The deadlines are all later: the earliest.
    NotYetDue(Date),
    /// Some of the school's documents could not be read on this device (a
    /// broken copy): whatever else would be said might be wrong.
    Unread,
}

impl NoneDue {
    const KINDS: usize = 8;

    fn index(self) -> usize {
        match self {
            NoneDue::NoRoadmap => 0,
            NoneDue::AdoptedLater(_) => 1,
            NoneDue::RecordedLater(_) => 2,
            NoneDue::NoActivities => 3,
            NoneDue::AllCancelled => 4,
            NoneDue::NoDeadlines => 5,
            NoneDue::NotYetDue(_) => 6,
            NoneDue::Unread => 7,
        }
    }

    /// In a few words (a chart's bar, a list of reasons).
    pub fn short_ru(self) -> &'static str {
        SHORT_RU[self.index()]
    }

    /// In full, with its day: a school's line.
    pub fn detail_ru(self) -> String {
        match self {
            NoneDue::AdoptedLater(day) => format!("план принят {} — позже даты мониторинга", ru::date(day)),
            NoneDue::RecordedLater(Some(day)) => format!(
                "дорожная карта внесена {} — позже даты мониторинга; дата принятия плана не указана",
                ru::date(day)
            ),
            NoneDue::RecordedLater(None) => {
                "дорожная карта внесена позже даты мониторинга; дата принятия плана не указана".to_owned()
            }
            NoneDue::NotYetDue(day) => {
                format!("сроки мероприятий ещё не наступили (ближайший — {})", ru::date(day))
            }
            NoneDue::Unread => {
                "документы школы не прочитаны на этом устройстве (копия повреждена)".to_owned()
            }
            NoneDue::NoRoadmap | NoneDue::NoActivities | NoneDue::AllCancelled | NoneDue::NoDeadlines => {
                self.short_ru().to_owned()
            }
        }
    }
}

impl NoneDue {
    /// Why one roadmap had nothing due on `date` (read as it stood at the
    /// end of that day in the time zone `offset`): what its execution
    /// report says instead of «0 из 0». `None` when something was due.
    pub fn of_roadmap(doc: &mut RoadmapDoc, date: Date, offset: UtcOffset) -> Option<NoneDue> {
        RoadmapOnDate::on(doc, date, offset).none_due(date)
    }

    /// What a report on `date` says instead of «0 из 0»: «Нет мероприятий
    /// со сроком до DD.MM.YYYY: <why>.»
    pub fn report_line(self, date: Date) -> String {
        let why = self.detail_ru().replace("даты мониторинга", "даты отчёта");
        format!("Нет мероприятий со сроком до {}: {why}.", ru::date(date))
    }
}

/// [`NoneDue::short_ru`], by [`NoneDue::index`].
const SHORT_RU: [&str; NoneDue::KINDS] = [
    "нет дорожной карты",
    "план принят позже",
    "дорожная карта внесена позже",
    "в дорожной карте нет мероприятий",
    "все мероприятия отменены",
    "сроки мероприятий не распознаны",
    "сроки мероприятий ещё не наступили",
    "не прочитано на этом устройстве",
];

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
    /// Schools with nothing due, by why ([`NoneDue::index`]).
    pub none_due: [usize; NoneDue::KINDS],
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

    /// Why nothing was due under the unit, in words: each reason with the
    /// schools it holds for («сроки мероприятий ещё не наступили — 2
    /// школы; нет дорожной карты — 1 школа»); `None` when something was.
    pub fn none_due_ru(&self) -> Option<String> {
        if self.due > 0 {
            return None;
        }
        if self.schools == 0 {
            return Some("школ нет".to_owned());
        }
        let reasons: Vec<String> = self
            .none_due
            .iter()
            .enumerate()
            .filter(|(_, n)| **n > 0)
            .map(|(i, n)| format!("{} — {}", SHORT_RU[i], ru::SCHOOLS.count(*n as i64)))
            .collect();
        Some(reasons.join("; "))
    }

    /// [`Totals::none_due_ru`] in a few words, for a chart's bar: the one
    /// reason when all schools share it, else that nothing was due.
    pub fn none_due_short_ru(&self) -> Option<String> {
        self.none_due_ru()?;
        let mut reasons = self.none_due.iter().enumerate().filter(|(_, n)| **n > 0);
        Some(match (reasons.next(), reasons.next()) {
            (Some((i, _)), None) => SHORT_RU[i].to_owned(),
            (None, _) => "школ нет".to_owned(),
            _ => "нет мероприятий со сроком".to_owned(),
        })
    }

    fn add(&mut self, facts: &SchoolFacts) {
        self.schools += 1;
        if let Some(why) = facts.none_due {
            self.none_due[why.index()] += 1;
        }
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
    none_due: Option<NoneDue>,
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
            .filter_map(|r| r.progress.as_ref())
            .map(|r| r.execution(date))
            .fold((0, 0), |acc, e| (acc.0 + e.due, acc.1 + e.done_of_due));
        let school = snapshot.school.as_ref();
        let has = |test: &dyn Fn(&School) -> bool| school.is_some_and(test);
        SchoolFacts {
            none_due: snapshot.none_due(date),
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
