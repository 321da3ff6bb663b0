//! What the monitoring dashboard computes, from the schools' documents read
//! as they stood at the end of the monitoring day ([`SchoolSnapshot`]) to
//! the figures it shows, rolled up over the organisation tree by
//! [`crate::monitoring`].
//!
//! The app's dashboard (`app/src/ui/dashboard.rs`) calls it on the
//! documents the device holds. `cargo xtask bench indicators` times exactly
//! this: it calls [`bench_load`] and [`bench_compute`] in the app's wasm
//! (through the app's `bench` feature) and natively for its baseline. The
//! benchmark's data format ([`BenchData`]) lives here for the same reason.

use crate::access::{Level, Org, Unit};
use crate::catalogue::{Catalogue, CatalogueDoc};
use crate::doc::RoadmapDoc;
use crate::history::{Window, heads_window, progress_at_heads};
use crate::monitoring::{
    self, NoneDue, RoadmapOnDate, Rollup, SchoolSnapshot, Totals, VisitWarning, visit_warning,
};
use crate::school::{Decision, DocumentKind, School, SchoolDoc, Stage};
use automerge::ChangeHash;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use std::hash::Hash;
use time::{Date, UtcOffset};

/// One document read as it stood at a moment: what was read (`None`: it
/// did not exist then), the heads it was read at and the [`Window`] of
/// moments with those same heads, for which the reading holds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Reading<T> {
    pub heads: Vec<ChangeHash>,
    pub window: Window,
    /// The document's own heads when the reading was last found to hold:
    /// when the document has moved on since (the device forgot the kept
    /// reading when it wrote the change), it is kept again.
    pub seen: Vec<ChangeHash>,
    pub value: Option<T>,
}

impl<T: Serialize> Reading<T> {
    /// How the device keeps it: postcard, stamped with `build`, what
    /// decides how documents are read (the app passes a hash of the
    /// reading rules' sources, `MEDK_READING_RULES` from `app/build.rs`: a
    /// build that parses deadlines better, or lays the reading out
    /// otherwise, reads the documents again; one that changed only screens
    /// keeps the readings).
    pub fn encode(&self, build: &str) -> Vec<u8> {
        postcard::to_allocvec(&(build, self)).unwrap_or_default()
    }
}

impl<T: serde::de::DeserializeOwned> Reading<T> {
    /// `None` for bytes that are not a reading stamped `build` (then the
    /// document is read again).
    pub fn decode(bytes: &[u8], build: &str) -> Option<Self> {
        let (stamp, reading): (String, Self) = postcard::from_bytes(bytes).ok()?;
        (stamp == build).then_some(reading)
    }
}

/// The last reading of each document: a document is read again only when
/// the heads of the date moved (the first computation, another date, a
/// change that arrived), so a change synced into one school's roadmap
/// re-reads that roadmap, not five hundred. Readings kept from an earlier
/// visit ([`Reads::keep_roadmap`]) answer for the documents before they are
/// even loaded ([`compute_known`]). A few readings are held per document
/// (at different heads), so going back to a date already shown reads
/// nothing again. Roadmaps are kept by `K` (their id), school files by unit.
pub struct Reads<K> {
    /// Per document, the most recently used last.
    roadmaps: HashMap<K, Vec<Reading<RoadmapOnDate>>>,
    files: HashMap<String, Vec<Reading<School>>>,
    /// Read (or moved to another window) since the last [`Reads::take_new`].
    new_roadmaps: HashSet<K>,
    new_files: HashSet<String>,
    /// Documents read so far (not answered by a held reading).
    made: usize,
}

impl<K> Default for Reads<K> {
    fn default() -> Self {
        Reads {
            roadmaps: HashMap::new(),
            files: HashMap::new(),
            new_roadmaps: HashSet::new(),
            new_files: HashSet::new(),
            made: 0,
        }
    }
}

/// Readings held per document: the dates a coordinator moves between.
const HELD_PER_DOCUMENT: usize = 6;

/// The held reading of `key` made at the heads in `at` (and of which
/// `holds` is true), else a new one by `read`; either becomes the most
/// recent, and is marked `new` if the device should keep it anew. `seen`
/// is the document's own heads now.
#[allow(clippy::too_many_arguments)]
fn read_through<Q: Hash + Eq + Clone, T: Clone>(
    held: &mut HashMap<Q, Vec<Reading<T>>>,
    new: &mut HashSet<Q>,
    made: &mut usize,
    key: Q,
    (heads, window): (Vec<ChangeHash>, Window),
    seen: Vec<ChangeHash>,
    holds: impl Fn(&Option<T>) -> bool,
    read: impl FnOnce(&[ChangeHash]) -> Option<T>,
) -> Option<T> {
    let readings = held.entry(key.clone()).or_default();
    let reading = match readings.iter().position(|r| r.heads == heads && holds(&r.value)) {
        Some(i) => {
            let mut reading = readings.remove(i);
            // The device keeps the most recent: one brought back to the
            // front is kept anew too.
            let was_latest = i == readings.len();
            if reading.window != window || reading.seen != seen || !was_latest {
                reading.window = window;
                reading.seen = seen;
                new.insert(key);
            }
            reading
        }
        None => {
            new.insert(key);
            *made += 1;
            let value = read(&heads);
            Reading { heads, window, seen, value }
        }
    };
    let value = reading.value.clone();
    readings.push(reading);
    if readings.len() > HELD_PER_DOCUMENT {
        readings.remove(0);
    }
    value
}

impl<K: Hash + Eq + Clone> Reads<K> {
    /// The roadmap `key` as it stood at `until_ms`, the end of a day in
    /// the time zone `offset` ([`RoadmapOnDate::heads`]).
    pub fn roadmap(
        &mut self,
        key: K,
        doc: &mut RoadmapDoc,
        until_ms: i64,
        offset: UtcOffset,
    ) -> RoadmapOnDate {
        let (plan, dates) = RoadmapOnDate::heads(doc, until_ms, offset);
        let seen = doc.automerge().get_heads();
        // A reading at the same heads holds unless the days it says why by
        // moved (an adoption date stated later).
        let same_days = |held: &Option<RoadmapOnDate>| {
            held.as_ref()
                .is_some_and(|r| r.recorded_on == dates.recorded_on && r.adopted_on == dates.adopted_on)
        };
        let at = (plan.heads, plan.window);
        let fallback = dates.clone();
        read_through(
            &mut self.roadmaps,
            &mut self.new_roadmaps,
            &mut self.made,
            key,
            at,
            seen,
            same_days,
            |heads| Some(RoadmapOnDate { progress: progress_at_heads(doc, heads), ..dates.clone() }),
        )
        .unwrap_or(fallback)
    }

    /// The school file of `unit` as it stood at `until_ms` ([`SchoolDoc::read_at`]).
    pub fn school(&mut self, unit: &str, doc: &mut SchoolDoc, until_ms: i64) -> Option<School> {
        let at = heads_window(doc.automerge(), until_ms);
        let seen = doc.automerge().get_heads();
        read_through(
            &mut self.files,
            &mut self.new_files,
            &mut self.made,
            unit.to_owned(),
            at,
            seen,
            |_| true,
            |heads| doc.read_at(heads),
        )
    }

    /// How many documents were read so far (not answered by a held reading).
    pub fn made(&self) -> usize {
        self.made
    }

    /// What the roadmap `key` read at `until_ms`, if a reading holds then,
    /// without the document.
    pub fn known_roadmap(&self, key: &K, until_ms: i64) -> Option<RoadmapOnDate> {
        known(self.roadmaps.get(key)?, until_ms)?
    }

    /// What the school file of `unit` read at `until_ms`, if a reading holds then.
    pub fn known_school(&self, unit: &str, until_ms: i64) -> Option<Option<School>> {
        known(self.files.get(unit)?, until_ms)
    }

    /// A reading kept from before (on the device), checked against the
    /// document's heads when it is read.
    pub fn keep_roadmap(&mut self, key: K, reading: Reading<RoadmapOnDate>) {
        self.roadmaps.entry(key).or_default().push(reading);
    }

    pub fn keep_school(&mut self, unit: String, reading: Reading<School>) {
        self.files.entry(unit).or_default().push(reading);
    }

    /// The readings made since the last call, to keep on the device: the
    /// most recent of each document that has one.
    #[allow(clippy::type_complexity)]
    pub fn take_new(&mut self) -> (Vec<(K, Reading<RoadmapOnDate>)>, Vec<(String, Reading<School>)>) {
        (latest(&mut self.new_roadmaps, &self.roadmaps), latest(&mut self.new_files, &self.files))
    }
}

/// The value of the reading in `readings` that holds at `until_ms`.
fn known<T: Clone>(readings: &[Reading<T>], until_ms: i64) -> Option<Option<T>> {
    readings.iter().rev().find(|r| r.window.contains(until_ms)).map(|r| r.value.clone())
}

/// The most recent reading of each of `keys` (which it empties).
fn latest<Q: Hash + Eq + Clone, T: Clone>(
    keys: &mut HashSet<Q>,
    held: &HashMap<Q, Vec<Reading<T>>>,
) -> Vec<(Q, Reading<T>)> {
    keys.drain().filter_map(|key| Some((key.clone(), held.get(&key)?.last()?.clone()))).collect()
}

/// One school's line in the dashboard's list.
#[derive(Clone, Debug, PartialEq)]
pub struct SchoolLine {
    pub unit: String,
    pub name: String,
    /// The name of its municipality (empty if not visible).
    pub municipality: String,
    /// Roadmaps that existed on the date ([`RoadmapOnDate::existed_on`]).
    pub roadmaps: usize,
    /// Why nothing was due, when nothing was.
    pub none_due: Option<NoneDue>,
    /// When marks of execution start to count, if its plan counts on the
    /// date only by its adoption date ([`SchoolSnapshot::marks_from`]).
    pub marks_from: Option<Date>,
    /// The school alone, counted by the same roll-up.
    pub totals: Totals,
    /// Its stage on the date (`None` without a school file then).
    pub stage: Option<Stage>,
    pub warning: Option<VisitWarning>,
    /// Per kind the dashboard shows ([`monitoring::monitored_kinds`]),
    /// where the school's documents stood on the date (empty without a
    /// school file then).
    pub documents: Vec<(DocumentKind, Option<Decision>)>,
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

/// The figures on `date` from readings alone ([`Reads::known_roadmap`]),
/// before any document is loaded: what reopening the dashboard shows at
/// once. `None` unless every school file and every roadmap in `schools`
/// (a unit and its roadmaps' keys) has a reading that holds at `until_ms`.
pub fn compute_known<K: Hash + Eq + Clone>(
    org: &Org,
    under: &str,
    catalogue: &Catalogue,
    schools: &[(String, Vec<K>)],
    reads: &Reads<K>,
    date: Date,
    until_ms: i64,
) -> Option<Monitoring> {
    let snapshots = schools
        .iter()
        .map(|(unit, keys)| {
            let roadmaps: Option<Vec<RoadmapOnDate>> =
                keys.iter().map(|key| reads.known_roadmap(key, until_ms)).collect();
            Some(SchoolSnapshot {
                unit: unit.clone(),
                roadmaps: roadmaps?,
                school: reads.known_school(unit, until_ms)?,
                unread: false,
            })
        })
        .collect::<Option<Vec<_>>>()?;
    Some(compute(org, under, catalogue, snapshots, date))
}

fn line(org: &Org, catalogue: &Catalogue, snapshot: &SchoolSnapshot, date: Date) -> SchoolLine {
    let path = org.path(&snapshot.unit);
    let municipality = path.iter().find(|u| u.level == Level::Municipality).map(|u| u.name.clone());
    SchoolLine {
        unit: snapshot.unit.clone(),
        name: path.first().map(|u| u.name.clone()).unwrap_or_default(),
        municipality: municipality.unwrap_or_default(),
        roadmaps: snapshot.roadmaps_on(date),
        none_due: snapshot.none_due(date),
        marks_from: snapshot.marks_from(date),
        totals: monitoring::rollup(org, &snapshot.unit, catalogue, std::slice::from_ref(snapshot), date)
            .total,
        stage: snapshot.school.as_ref().map(|s| s.stage),
        warning: snapshot.school.as_ref().and_then(|s| visit_warning(s, catalogue, date)),
        documents: snapshot
            .school
            .as_ref()
            .map(|s| {
                monitoring::monitored_kinds(catalogue).into_iter().map(|k| (k, s.document_state(k))).collect()
            })
            .unwrap_or_default(),
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
    /// The time zone of `date`.
    pub offset: UtcOffset,
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
    let date = crate::deadline::parse_iso(date.unwrap_or(&data.date)).ok_or("bad monitoring date")?;
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
        until_ms: crate::history::end_of_day_ms(date, offset),
        offset,
        catalogue,
        schools,
    })
}

/// [`compute`] over loaded benchmark documents, each read as of the date
/// through `reads` (fresh: the dashboard's first computation; kept: a
/// recomputation, which reads only what changed).
pub fn bench_compute(docs: &mut BenchDocs, reads: &mut Reads<(usize, usize)>) -> Monitoring {
    let BenchDocs { org, under, date, until_ms, offset, catalogue, schools } = docs;
    let snapshots = schools
        .iter_mut()
        .enumerate()
        .map(|(i, (unit, roadmaps, file))| SchoolSnapshot {
            roadmaps: roadmaps
                .iter_mut()
                .enumerate()
                .map(|(j, doc)| reads.roadmap((i, j), doc, *until_ms, *offset))
                .collect(),
            school: reads.school(unit, file, *until_ms),
            unit: unit.clone(),
            unread: false,
        })
        .collect();
    compute(org, under, catalogue, snapshots, *date)
}

/// The build stamp of the benchmark's readings.
pub const BENCH_BUILD: &str = "bench";

/// The readings `reads` made since the last call, encoded as the device
/// keeps them, under string keys (`r/<school>/<roadmap>`, `s/<unit>`).
pub fn bench_kept(reads: &mut Reads<(usize, usize)>) -> Vec<(String, Vec<u8>)> {
    let (roadmaps, files) = reads.take_new();
    let roadmaps = roadmaps.into_iter().map(|((i, j), r)| (format!("r/{i}/{j}"), r.encode(BENCH_BUILD)));
    let files = files.into_iter().map(|(unit, r)| (format!("s/{unit}"), r.encode(BENCH_BUILD)));
    roadmaps.chain(files).collect()
}

/// Reopening the dashboard: the figures from kept readings ([`bench_kept`])
/// alone, decoded and rolled up by [`compute_known`].
pub fn bench_reopen(docs: &BenchDocs, kept: &[(String, Vec<u8>)]) -> Result<Monitoring, String> {
    let mut reads = Reads::default();
    for (key, bytes) in kept {
        match key.split_once('/') {
            Some(("r", at)) => {
                let (i, j) = at.split_once('/').ok_or("bad key")?;
                let key = (i.parse().map_err(|_| "bad key")?, j.parse().map_err(|_| "bad key")?);
                reads.keep_roadmap(key, Reading::decode(bytes, BENCH_BUILD).ok_or("bad reading")?);
            }
            Some(("s", unit)) => {
                reads.keep_school(unit.to_owned(), Reading::decode(bytes, BENCH_BUILD).ok_or("bad reading")?)
            }
            _ => return Err(format!("bad key {key}")),
        }
    }
    let schools: Vec<(String, Vec<(usize, usize)>)> = docs
        .schools
        .iter()
        .enumerate()
        .map(|(i, (unit, roadmaps, _))| (unit.clone(), (0..roadmaps.len()).map(|j| (i, j)).collect()))
        .collect();
    compute_known(&docs.org, &docs.under, &docs.catalogue, &schools, &reads, docs.date, docs.until_ms)
        .ok_or_else(|| "a document has no reading for the date".to_owned())
}

/// Changes the status of the first activity of the first school's first
/// roadmap (done, or back to in progress if it already was), a minute
/// before the end of the monitoring day: one change synced in while the
/// dashboard is open, before [`bench_compute`] runs again.
pub fn bench_touch(docs: &mut BenchDocs) -> Result<(), String> {
    use crate::model::Status;
    let until = docs.until_ms;
    let doc = docs.schools.first_mut().and_then(|s| s.1.first_mut()).ok_or("no roadmap")?;
    let roadmap = doc.read();
    let activity = roadmap.sections.iter().flat_map(|s| &s.activities).next().ok_or("no activity")?;
    let status = if activity.status == Status::Done { Status::InProgress } else { Status::Done };
    let edit = crate::doc::Edit::SetStatus { activity: activity.id.clone(), status };
    doc.apply(vec![edit], until - 60_000, "set status").map(drop).map_err(|e| e.to_string())
}

/// A line that must read the same natively and in the browser.
pub fn bench_fingerprint(m: &Monitoring) -> String {
    let t = &m.rollup.total;
    format!(
        "schools {} due {} done {} mean {:.4} curators {} surveyed {} visited {} risks {} concept {} m1 {} m2 {} late {}",
        t.schools,
        t.due,
        t.done_of_due,
        t.mean_school_share().unwrap_or(-1.0),
        t.curator_assigned,
        t.surveyed,
        t.visited,
        t.risks_activated,
        t.concept_confirmed,
        t.monitoring_1_confirmed,
        t.monitoring_2_confirmed,
        m.schools.iter().filter(|s| s.warning.is_some()).count(),
    )
}
