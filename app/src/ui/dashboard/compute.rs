//! What the monitoring dashboard computes, from the schools' documents read
//! as they stood at the end of the monitoring day ([`SchoolSnapshot`]) to
//! the figures it shows, rolled up over the organisation tree by
//! [`medk_shared::monitoring`].
//!
//! Pure (no browser I/O), so that `cargo xtask bench indicators` can time
//! exactly this: it calls [`bench_load`] and [`bench_compute`] in the app's
//! wasm (through `super::bench`) and compiles this same file natively
//! (`#[path]` in `xtask/src/bench_indicators.rs`) for its baseline. The
//! benchmark's data format ([`BenchData`]) lives here for the same reason.

use automerge::ChangeHash;
use medk_shared::access::{Level, Org, Unit};
use medk_shared::catalogue::{Catalogue, CatalogueDoc};
use medk_shared::doc::RoadmapDoc;
use medk_shared::history::{heads_at, progress_at_heads};
use medk_shared::indicators::Progress;
use medk_shared::monitoring::{self, Rollup, SchoolSnapshot, Totals, VisitWarning, visit_warning};
use medk_shared::school::{School, SchoolDoc, Stage, school_at_heads};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::hash::Hash;
use time::Date;

/// The last read of each document on the date, with the heads it was read
/// at: a document is read again only when the heads of the date moved (the
/// first computation, another date, a change that arrived), so a change
/// synced into one school's roadmap re-reads that roadmap, not five
/// hundred. Roadmaps are kept by `K` (their id), school files by unit.
pub struct Reads<K> {
    roadmaps: HashMap<K, (Vec<ChangeHash>, Option<Progress>)>,
    files: HashMap<String, (Vec<ChangeHash>, Option<School>)>,
}

impl<K> Default for Reads<K> {
    fn default() -> Self {
        Reads { roadmaps: HashMap::new(), files: HashMap::new() }
    }
}

impl<K: Hash + Eq> Reads<K> {
    /// The roadmap `key` as it stood at `until_ms` ([`progress_at_heads`]).
    pub fn roadmap(&mut self, key: K, doc: &mut RoadmapDoc, until_ms: i64) -> Option<Progress> {
        let heads = heads_at(doc.automerge(), until_ms);
        match self.roadmaps.get(&key) {
            Some((at, progress)) if *at == heads => progress.clone(),
            _ => {
                let progress = progress_at_heads(doc, &heads);
                self.roadmaps.insert(key, (heads, progress.clone()));
                progress
            }
        }
    }

    /// The school file of `unit` as it stood at `until_ms` ([`school_at_heads`]).
    pub fn school(&mut self, unit: &str, doc: &mut SchoolDoc, until_ms: i64) -> Option<School> {
        let heads = heads_at(doc.automerge(), until_ms);
        match self.files.get(unit) {
            Some((at, school)) if *at == heads => school.clone(),
            _ => {
                let school = school_at_heads(doc, &heads);
                self.files.insert(unit.to_owned(), (heads, school.clone()));
                school
            }
        }
    }
}

/// One school's line in the dashboard's list.
#[derive(Clone, Debug, PartialEq)]
pub struct SchoolLine {
    pub unit: String,
    pub name: String,
    /// The name of its municipality (empty if not visible).
    pub municipality: String,
    /// Roadmaps that existed on the date.
    pub roadmaps: usize,
    /// The school alone, counted by the same roll-up.
    pub totals: Totals,
    /// Its stage on the date (`None` without a school file then).
    pub stage: Option<Stage>,
    pub warning: Option<VisitWarning>,
}

/// Everything the dashboard shows for one unit on one date.
#[derive(Clone, Debug, PartialEq)]
pub struct Monitoring {
    pub rollup: Rollup,
    /// Schools under the unit, by municipality, then name.
    pub schools: Vec<SchoolLine>,
}

/// The schools of `org` under `under`, by id.
pub fn schools_under<'a>(org: &'a Org, under: &'a str) -> impl Iterator<Item = &'a Unit> + 'a {
    org.units().filter(move |u| u.level == Level::School && org.within(&u.id, under))
}

/// Rolls up the schools, each already read as it stood on `date`
/// ([`SchoolSnapshot`]), under `under`: the dashboard's one computation.
pub fn compute(
    org: &Org,
    under: &str,
    catalogue: &Catalogue,
    snapshots: Vec<SchoolSnapshot>,
    date: Date,
) -> Monitoring {
    let mut lines: Vec<SchoolLine> = snapshots
        .iter()
        .filter(|s| org.within(&s.unit, under))
        .map(|s| line(org, catalogue, s, date))
        .collect();
    lines.sort_by(|a, b| (&a.municipality, &a.name, &a.unit).cmp(&(&b.municipality, &b.name, &b.unit)));
    Monitoring { rollup: monitoring::rollup(org, under, catalogue, &snapshots, date), schools: lines }
}

fn line(org: &Org, catalogue: &Catalogue, snapshot: &SchoolSnapshot, date: Date) -> SchoolLine {
    let path = org.path(&snapshot.unit);
    let municipality = path.iter().find(|u| u.level == Level::Municipality).map(|u| u.name.clone());
    SchoolLine {
        unit: snapshot.unit.clone(),
        name: path.first().map(|u| u.name.clone()).unwrap_or_default(),
        municipality: municipality.unwrap_or_default(),
        roadmaps: snapshot.roadmaps.len(),
        totals: monitoring::rollup(org, &snapshot.unit, catalogue, std::slice::from_ref(snapshot), date)
            .total,
        stage: snapshot.school.as_ref().map(|s| s.stage),
        warning: snapshot.school.as_ref().and_then(|s| visit_warning(s, catalogue, date)),
    }
}

// ---- the benchmark's data ---------------------------------------------------

/// What `cargo xtask bench indicators` hands the app (postcard): an org, the
/// saved documents of its schools and the monitoring date.
#[derive(Serialize, Deserialize)]
pub struct BenchData {
    /// Parents before children.
    pub units: Vec<Unit>,
    /// The unit whose dashboard is computed.
    pub under: String,
    /// The monitoring date, ISO.
    pub date: String,
    /// The time zone the end of that day is taken in.
    pub utc_offset_minutes: i16,
    #[serde(with = "serde_bytes")]
    pub catalogue: Vec<u8>,
    pub schools: Vec<BenchSchool>,
}

/// One school's saved documents.
#[derive(Serialize, Deserialize)]
pub struct BenchSchool {
    pub unit: String,
    pub roadmaps: Vec<serde_bytes::ByteBuf>,
    #[serde(with = "serde_bytes")]
    pub file: Vec<u8>,
}

/// [`BenchData`]'s documents loaded, as the dashboard holds them.
pub struct BenchDocs {
    pub org: Org,
    pub under: String,
    pub date: Date,
    pub until_ms: i64,
    pub catalogue: Catalogue,
    /// Per school: its unit, roadmaps and school file.
    pub schools: Vec<(String, Vec<RoadmapDoc>, SchoolDoc)>,
}

/// Loads every document from its bytes (Automerge load and layout check),
/// as opening them on the device does. `date` (ISO) replaces the data's
/// monitoring date.
pub fn bench_load(data: &BenchData, date: Option<&str>) -> Result<BenchDocs, String> {
    let mut org = Org::default();
    for unit in &data.units {
        org.add(unit.clone()).map_err(|e| e.to_string())?;
    }
    let date = medk_shared::deadline::parse_iso(date.unwrap_or(&data.date)).ok_or("bad monitoring date")?;
    let offset = time::UtcOffset::from_whole_seconds(i32::from(data.utc_offset_minutes) * 60)
        .map_err(|e| e.to_string())?;
    let catalogue = CatalogueDoc::load(&data.catalogue).map_err(|e| e.to_string())?.read();
    let schools = data
        .schools
        .iter()
        .map(|s| {
            let roadmaps = s
                .roadmaps
                .iter()
                .map(|bytes| RoadmapDoc::load(bytes).map_err(|e| e.to_string()))
                .collect::<Result<Vec<_>, _>>()?;
            let file = SchoolDoc::load(&s.file).map_err(|e| e.to_string())?;
            Ok((s.unit.clone(), roadmaps, file))
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok(BenchDocs {
        org,
        under: data.under.clone(),
        date,
        until_ms: medk_shared::history::end_of_day_ms(date, offset),
        catalogue,
        schools,
    })
}

/// [`compute`] over loaded benchmark documents, each read as of the date
/// through `reads` (fresh: the dashboard's first computation; kept: a
/// recomputation, which reads only what changed).
pub fn bench_compute(docs: &mut BenchDocs, reads: &mut Reads<(usize, usize)>) -> Monitoring {
    let BenchDocs { org, under, date, until_ms, catalogue, schools } = docs;
    let snapshots = schools
        .iter_mut()
        .enumerate()
        .map(|(i, (unit, roadmaps, file))| SchoolSnapshot {
            roadmaps: roadmaps
                .iter_mut()
                .enumerate()
                .filter_map(|(j, doc)| reads.roadmap((i, j), doc, *until_ms))
                .collect(),
            school: reads.school(unit, file, *until_ms),
            unit: unit.clone(),
        })
        .collect();
    compute(org, under, catalogue, snapshots, *date)
}

/// Marks the first activity of the first school's first roadmap done, a
/// minute before the end of the monitoring day: one change synced in while
/// the dashboard is open, before [`bench_compute`] runs again.
pub fn bench_touch(docs: &mut BenchDocs) -> Result<(), String> {
    let until = docs.until_ms;
    let doc = docs.schools.first_mut().and_then(|s| s.1.first_mut()).ok_or("no roadmap")?;
    let roadmap = doc.read();
    let activity = roadmap.sections.iter().flat_map(|s| &s.activities).next().ok_or("no activity")?;
    let edit = medk_shared::doc::Edit::SetStatus {
        activity: activity.id.clone(),
        status: medk_shared::model::Status::Done,
    };
    doc.apply(vec![edit], until - 60_000, "set status").map(drop).map_err(|e| e.to_string())
}

/// A line that must read the same natively and in the browser.
pub fn bench_fingerprint(m: &Monitoring) -> String {
    let t = &m.rollup.total;
    format!(
        "schools {} due {} done {} mean {:.4} curators {} visited {} risks {} concept {} m1 {} m2 {} late {}",
        t.schools,
        t.due,
        t.done_of_due,
        t.mean_school_share().unwrap_or(-1.0),
        t.curator_assigned,
        t.visited,
        t.risks_activated,
        t.concept_confirmed,
        t.monitoring_1_confirmed,
        t.monitoring_2_confirmed,
        m.schools.iter().filter(|s| s.warning.is_some()).count(),
    )
}
