//! `cargo xtask bench indicators`: the monitoring dashboard's computation
//! over a region of 500 school roadmaps (50 activities each, with a year of
//! history) in chromium, against the same computation natively.
//!
//! How:
//! - The data is made here with the app's own document code: 1 region,
//!   10 municipalities, 500 schools; per school a roadmap of 5 sections ×
//!   10 activities with free-text deadlines over 2022, filled in over its
//!   first days and then executed: activities marked done on their own days
//!   (one Automerge change each, at that day's time), a few un-done later;
//!   and a school file with its curator, visits, risk profile, survey and document
//!   decisions. Every document is saved, all into one postcard file
//!   ([`compute::BenchData`]).
//! - Generating and the native baseline run in an optimized build of xtask
//!   (`cargo run --release -p xtask -- bench indicators-native`): xtask
//!   itself builds unoptimized, which would make neither fair.
//! - The browser side (`e2e/bench/indicators.mjs`) opens the real app from
//!   a release `medk-server` in headless chromium and calls the function
//!   the app's wasm exports for this (`app/src/ui/dashboard/bench.rs`).
//! - Both sides run the very same code: `medk_shared::dashboard`, which
//!   the app's dashboard calls. Each run loads every document from its bytes
//!   (what opening them on a device does), computes the roll-up (reading
//!   every document at the date), then changes one roadmap and computes
//!   again with what the first computation read (the open dashboard when a
//!   change syncs in: only what moved is read again); the median of 5 runs
//!   after 1 warm-up is reported.

use medk_shared::dashboard as compute;

use std::path::Path;
use std::time::Instant;

use anyhow::{Context as _, bail};
use medk_shared::access::{Level, ROOT_UNIT, Unit};
use medk_shared::actions;
use medk_shared::catalogue::CatalogueDoc;
use medk_shared::deadline::iso;
use medk_shared::doc::{Edit, NewRoadmap, RoadmapDoc, TextTarget};
use medk_shared::history::end_of_day_ms;
use medk_shared::ids::RowId;
use medk_shared::model::{ActivityField, Status};
use medk_shared::school::{Blob, Decision, DocumentKind, PersonRef, SchoolDoc, SchoolEdit, Stage, Visit};
use serde_json::{Value, json};
use time::{Date, Duration, Month, UtcOffset};

use crate::dist::Profile;
use crate::project::Project;
use crate::{ServerProfile, build_server, ensure_build_tools, shell, tools};
use compute::{BenchData, BenchSchool};

const MUNICIPALITIES: usize = 10;
const SCHOOLS_PER_MUNICIPALITY: usize = 50;
const SECTIONS: usize = 5;
const ACTIVITIES_PER_SECTION: usize = 10;
/// Timed runs (after one warm-up); the median is reported.
const RUNS: usize = 5;
/// The target: the indicators computed in the browser in under a
/// second, over documents the device holds. Opening them (Automerge's load,
/// which rebuilds and hashes every change of their history) is printed
/// beside it, not held to it: a device pays it once, and later opens start
/// from the readings it kept.
const TARGET_MS: f64 = 1000.0;
/// A past monitoring date: mid-year, so every document is read as it stood
/// then (a fork of its history).
const PAST_DATE: &str = "2022-06-30";
/// A date after every change: each document is read as it is (what the
/// dashboard shows by default, today).
const CURRENT_DATE: &str = "2023-03-31";
/// The dates measured: key in the results, date, what it means.
const DATES: [(&str, &str, &str); 2] = [
    ("past", PAST_DATE, "a past date: documents as they stood then"),
    ("current", CURRENT_DATE, "after every change: documents as they are, like today"),
];
/// Moscow time.
const OFFSET_MINUTES: i16 = 180;

/// `cargo xtask bench indicators`.
pub fn run(project: &Project) -> anyhow::Result<()> {
    let dir = project.target_dir().join("bench");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let data = dir.join("indicators.postcard");
    let native = dir.join("indicators-native.json");
    let browser = dir.join("indicators-browser.json");

    println!("generating the data and timing the native baseline (an optimized build of xtask)");
    shell::run(
        project
            .cargo()
            .args([
                "run",
                "--quiet",
                "--release",
                "-p",
                "xtask",
                "--",
                "bench",
                "indicators-native",
                "--data",
            ])
            .arg(&data)
            .arg("--result")
            .arg(&native),
    )?;

    let tools = ensure_build_tools(project, Profile::Release)?;
    // With the `bench` feature: the hook this benchmark calls. The next
    // `cargo xtask build` or `run` builds dist/ without it again.
    crate::dist::build_app_with(project, Profile::Release, &tools, &["bench"])?.print();
    tools::ensure_chromium()?;
    tools::ensure_e2e_packages(project)?;
    let server = build_server(project, ServerProfile::Release)?;
    let script = project.e2e_dir().join("bench").join("indicators.mjs");
    shell::run(
        crate::e2e_command(project, &server, "node")
            .arg(&script)
            .env("MEDK_BENCH_DATA", &data)
            .env("MEDK_BENCH_RESULT", &browser)
            .env("MEDK_BENCH_RUNS", RUNS.to_string())
            .env("MEDK_BENCH_DATES", DATES.map(|(key, date, _)| format!("{key}={date}")).join(",")),
    )?;

    let native = read_json(&native)?;
    let browser = read_json(&browser)?;
    report(&native, &browser)
}

fn read_json(path: &Path) -> anyhow::Result<Value> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

fn report(native: &Value, browser: &Value) -> anyhow::Result<()> {
    println!();
    println!(
        "indicators bench: {} schools, {} activities, {} Automerge changes, {:.1} MB of saved documents",
        native["schools"],
        native["activities"],
        native["changes"],
        native["bytes"].as_f64().unwrap_or(0.0) / 1e6,
    );
    println!("native compute on {PAST_DATE}, by phase: {}", native["phases"].as_str().unwrap_or(""));
    println!("median of {RUNS} runs after 1 warm-up (min–max):");
    let mut verdicts = Vec::new();
    let mut opening = Vec::new();
    for (key, date, what) in DATES {
        let runs = |v: &Value, field: &str| -> Vec<f64> {
            v[key][field].as_array().map(|a| a.iter().filter_map(Value::as_f64).collect()).unwrap_or_default()
        };
        let (n_load, n_compute) = (runs(native, "load_ms"), runs(native, "compute_ms"));
        let (b_load, b_compute) = (runs(browser, "load_ms"), runs(browser, "compute_ms"));
        let (n_recompute, b_recompute) = (runs(native, "recompute_ms"), runs(browser, "recompute_ms"));
        let (n_reopen, b_reopen) = (runs(native, "reopen_ms"), runs(browser, "reopen_ms"));
        if b_load.len() != RUNS || n_load.len() != RUNS {
            bail!("expected {RUNS} runs on each side for {date}");
        }
        let total = |l: &[f64], c: &[f64]| l.iter().zip(c).map(|(a, b)| a + b).collect::<Vec<_>>();
        let (n_total, b_total) = (total(&n_load, &n_compute), total(&b_load, &b_compute));
        println!("\nmonitoring date {date} ({what}):");
        let row = |side: &str, l: &[f64], c: &[f64], t: &[f64], r: &[f64], o: &[f64]| {
            println!(
                "  {side:<9} {:>22} {:>22} {:>22} {:>22} {:>22}",
                stat(l),
                stat(c),
                stat(t),
                stat(r),
                stat(o)
            );
        };
        println!(
            "  {:<9} {:>22} {:>22} {:>22} {:>22} {:>22}",
            "", "load", "compute", "total", "recompute (1 change)", "reopen (kept readings)"
        );
        row("chromium", &b_load, &b_compute, &b_total, &b_recompute, &b_reopen);
        row("native", &n_load, &n_compute, &n_total, &n_recompute, &n_reopen);
        let ratio = |b: &[f64], n: &[f64]| median(b) / median(n).max(1e-9);
        println!(
            "  browser / native: load {:.1}×, compute {:.1}×, total {:.1}×",
            ratio(&b_load, &n_load),
            ratio(&b_compute, &n_compute),
            ratio(&b_total, &n_total)
        );
        println!("  result: {}", native[key]["fingerprint"].as_str().unwrap_or(""));
        if native[key]["fingerprint"] != browser[key]["fingerprint"] {
            bail!("the browser computed something else on {date}: {}", browser[key]["fingerprint"]);
        }
        verdicts.push((format!("{date}, compute over documents on the device"), median(&b_compute)));
        verdicts.push((format!("{date}, recompute after one change synced in"), median(&b_recompute)));
        verdicts.push((format!("{date}, reopening (kept readings from IndexedDB)"), median(&b_reopen)));
        opening.push((date, median(&b_load), median(&b_total)));
    }
    let documents = native["documents"].as_f64().unwrap_or(f64::NAN);
    println!(
        "\nopening the documents first, before any reading is kept on the device (not held to the target):"
    );
    for (date, load, total) in opening {
        println!(
            "  {date}: load {load:.0} ms ({:.1} ms per document), then the figures at {total:.0} ms",
            load / documents,
        );
    }
    println!("\ntarget: the indicators computed in under {TARGET_MS:.0} ms in chromium");
    let mut failed = false;
    for (what, ms) in verdicts {
        let pass = ms < TARGET_MS;
        failed |= !pass;
        println!("  {what}: {ms:.0} ms: {}", if pass { "PASS" } else { "FAIL" });
    }
    if failed {
        bail!("the indicators miss the {TARGET_MS:.0} ms target in chromium");
    }
    Ok(())
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted.get(sorted.len() / 2).copied().unwrap_or(f64::NAN)
}

fn stat(values: &[f64]) -> String {
    let min = values.iter().copied().fold(f64::INFINITY, f64::min);
    let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    format!("{:.0} ms ({:.0}–{:.0})", median(values), min, max)
}

/// `xtask bench indicators-native` (in an optimized build): writes the data
/// to `data_path` and the native timings to `result_path`.
pub fn native(data_path: &Path, result_path: &Path) -> anyhow::Result<()> {
    let started = Instant::now();
    let (data, counts) = generate()?;
    let bytes = postcard::to_allocvec(&data).context("encoding the bench data")?;
    if let Some(dir) = data_path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(data_path, &bytes).with_context(|| format!("writing {}", data_path.display()))?;
    println!(
        "wrote {} ({:.1} MB: {} schools, {} activities, {} changes) in {:.1} s",
        data_path.display(),
        bytes.len() as f64 / 1e6,
        counts.schools,
        counts.activities,
        counts.changes,
        started.elapsed().as_secs_f64()
    );
    let mut result = json!({
        "schools": counts.schools,
        "activities": counts.activities,
        "changes": counts.changes,
        "bytes": bytes.len(),
        "documents": data.schools.iter().map(|s| s.roadmaps.len() + 1).sum::<usize>(),
    });
    for (key, date, _) in DATES {
        let (mut load_ms, mut compute_ms, mut recompute_ms) = (Vec::new(), Vec::new(), Vec::new());
        let mut reopen_ms = Vec::new();
        let mut fingerprint = String::new();
        for run in 0..=RUNS {
            // Decoding the container is the bench's, not the dashboard's: untimed.
            let data: BenchData = postcard::from_bytes(&bytes).context("decoding the bench data")?;
            let start = Instant::now();
            let mut docs = compute::bench_load(&data, Some(date)).map_err(anyhow::Error::msg)?;
            let loaded = Instant::now();
            let mut reads = compute::Reads::default();
            let monitoring = compute::bench_compute(&mut docs, &mut reads);
            let computed = Instant::now();
            let kept = compute::bench_kept(&mut reads);
            let reopen = Instant::now();
            let reopened = compute::bench_reopen(&docs, &kept).map_err(anyhow::Error::msg)?;
            let reopened_at = Instant::now();
            if reopened != monitoring {
                bail!("the figures from kept readings differ from the documents' on {date}");
            }
            compute::bench_touch(&mut docs).map_err(anyhow::Error::msg)?;
            let touched = Instant::now();
            compute::bench_compute(&mut docs, &mut reads);
            let recomputed = Instant::now();
            if run > 0 {
                load_ms.push((loaded - start).as_secs_f64() * 1e3);
                compute_ms.push((computed - loaded).as_secs_f64() * 1e3);
                recompute_ms.push((recomputed - touched).as_secs_f64() * 1e3);
                reopen_ms.push((reopened_at - reopen).as_secs_f64() * 1e3);
            }
            fingerprint = compute::bench_fingerprint(&monitoring);
        }
        println!(
            "native, {date}: load {:.0} ms, compute {:.0} ms, recompute after one change {:.0} ms, \
             reopen from kept readings {:.0} ms",
            median(&load_ms),
            median(&compute_ms),
            median(&recompute_ms),
            median(&reopen_ms)
        );
        result[key] = json!({
            "load_ms": load_ms,
            "compute_ms": compute_ms,
            "recompute_ms": recompute_ms,
            "reopen_ms": reopen_ms,
            "fingerprint": fingerprint,
        });
    }
    let phases = phases(&bytes)?;
    println!("native compute on {PAST_DATE}, by phase: {phases}");
    result["phases"] = json!(phases);
    std::fs::write(result_path, serde_json::to_vec_pretty(&result)?)
        .with_context(|| format!("writing {}", result_path.display()))
}

/// Where the native compute time of a past date goes, phase by phase over
/// every document: finding the heads of the date (`history::heads_at`),
/// reading the roadmaps' statuses and deadlines there (`RoadmapDoc::progress`),
/// reading the school files there (`SchoolDoc::read_until`), and the roll-up.
fn phases(bytes: &[u8]) -> anyhow::Result<String> {
    let data: BenchData = postcard::from_bytes(bytes)?;
    let mut docs = compute::bench_load(&data, Some(PAST_DATE)).map_err(anyhow::Error::msg)?;
    let until = docs.until_ms;
    let t0 = Instant::now();
    let mut heads = Vec::new();
    for (_, roadmaps, _) in &mut docs.schools {
        for r in roadmaps.iter_mut() {
            heads.push(medk_shared::history::heads_at(r.automerge(), until));
        }
    }
    let t1 = Instant::now();
    let mut activities = 0;
    let all = docs.schools.iter().flat_map(|(_, roadmaps, _)| roadmaps);
    for (r, heads) in all.zip(&heads) {
        activities += r.progress(Some(heads)).map_or(0, |p| p.activities.len());
    }
    let t2 = Instant::now();
    let mut visits = 0;
    for (_, _, file) in &mut docs.schools {
        visits += file.read_until(until).map_or(0, |s| s.visits.len());
    }
    let t3 = Instant::now();
    compute::bench_compute(&mut docs, &mut compute::Reads::default());
    let t4 = Instant::now();
    let ms = |a: Instant, b: Instant| (b - a).as_secs_f64() * 1e3;
    Ok(format!(
        "roadmaps: heads_at {:.0} ms, statuses and deadlines at those heads {:.0} ms ({activities} \
         activities); school files at the date {:.0} ms ({visits} visits); the whole compute again {:.0} ms",
        ms(t0, t1),
        ms(t1, t2),
        ms(t2, t3),
        ms(t3, t4),
    ))
}

// ---- the data ---------------------------------------------------------------

struct Counts {
    schools: usize,
    activities: usize,
    changes: usize,
}

/// A small deterministic generator (SplitMix64): the same data every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// 0..n
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// True with probability `percent` %.
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

const MUNICIPALITY_NAMES: [&str; MUNICIPALITIES] = [
    "Краснинский район",
    "Гагаринский район",
    "Починковский район",
    "Сафоновский район",
    "Рославльский район",
    "Вяземский район",
    "Дорогобужский район",
    "Ельнинский район",
    "Демидовский район",
    "город Каменск",
];

const SECTION_TITLES: [&str; SECTIONS] = [
    "1. Организационное сопровождение проекта",
    "2. Повышение предметной и методической компетентности педагогов",
    "3. Работа с обучающимися с рисками учебной неуспешности",
    "4. Взаимодействие с родителями",
    "5. Мониторинг и анализ результатов",
];

const MONTHS: [&str; 12] = [
    "январь",
    "февраль",
    "март",
    "апрель",
    "май",
    "июнь",
    "июль",
    "август",
    "сентябрь",
    "октябрь",
    "ноябрь",
    "декабрь",
];
const MONTHS_GENITIVE: [&str; 12] = [
    "января",
    "февраля",
    "марта",
    "апреля",
    "мая",
    "июня",
    "июля",
    "августа",
    "сентября",
    "октября",
    "ноября",
    "декабря",
];

const YEAR: i32 = 2022;

fn day(month: u8, day: u8) -> Date {
    let month = Month::try_from(month).expect("1..=12");
    Date::from_calendar_date(YEAR, month, day.min(month.length(YEAR))).expect("a valid day")
}

/// A deadline in one of the forms real roadmaps use, and the day it ends.
fn deadline(rng: &mut Rng, month: u8) -> (String, Date) {
    let m = usize::from(month - 1);
    let last = day(month, 31);
    match rng.below(8) {
        0 => (MONTHS[m].to_owned(), last),
        1 => {
            let d = 10 + rng.below(19) as u8;
            (format!("до {d:02}.{month:02}.{YEAR}"), day(month, d))
        }
        2 => (format!("{} {YEAR}", MONTHS[m]), last),
        3 if month > 1 => (format!("{} - {}", MONTHS[m - 1], MONTHS[m]), last),
        4 => {
            let quarter = (month - 1) / 3 + 1;
            (format!("{quarter} квартал {YEAR} г."), day(quarter * 3, 31))
        }
        5 => {
            let d = 15 + rng.below(14) as u8;
            (format!("{d} {} {YEAR} г.", MONTHS_GENITIVE[m]), day(month, d))
        }
        6 => {
            let from = day(month, 1);
            let to = day(month, 20);
            (format!("{:02}.{month:02}.{YEAR}- {:02}.{month:02}.{YEAR}", from.day(), to.day()), to)
        }
        _ if month == 12 => (format!("{} - {}", MONTHS[10], MONTHS[11]), last),
        _ => (format!("{} - {}", MONTHS[m], MONTHS[m + 1]), day(month + 1, 31)),
    }
}

/// A moment of `date` in Moscow time, at `hour` o'clock.
fn at(date: Date, hour: i64, rng: &mut Rng) -> i64 {
    let offset = UtcOffset::from_whole_seconds(i32::from(OFFSET_MINUTES) * 60).expect("valid offset");
    let midnight = end_of_day_ms(date, offset) + 1 - 86_400_000;
    midnight + hour * 3_600_000 + rng.below(3_600_000) as i64
}

fn generate() -> anyhow::Result<(BenchData, Counts)> {
    generate_sized(MUNICIPALITIES, SCHOOLS_PER_MUNICIPALITY)
}

/// [`generate`] for `municipalities` of `schools` each.
fn generate_sized(municipalities: usize, schools_each: usize) -> anyhow::Result<(BenchData, Counts)> {
    let mut rng = Rng(500);
    let mut units = vec![Unit {
        id: "r1".into(),
        parent: Some(ROOT_UNIT.into()),
        level: Level::Region,
        name: "Каменская область".into(),
    }];
    let mut counts = Counts { schools: 0, activities: 0, changes: 0 };
    let mut schools = Vec::new();
    for (m, name) in MUNICIPALITY_NAMES.iter().enumerate().take(municipalities) {
        let municipality = format!("m{:02}", m + 1);
        units.push(Unit {
            id: municipality.clone(),
            parent: Some("r1".into()),
            level: Level::Municipality,
            name: (*name).into(),
        });
        for s in 0..schools_each {
            let unit = format!("{municipality}-s{:02}", s + 1);
            let kind = ["СОШ", "ООШ", "СШ", "школа"][rng.below(4) as usize];
            units.push(Unit {
                id: unit.clone(),
                parent: Some(municipality.clone()),
                level: Level::School,
                name: format!("МБОУ «{kind} № {}» ({name})", s + 1),
            });
            let mut roadmap = school_roadmap(&mut rng, &unit, &mut counts)?;
            let mut file = school_file(&mut rng, &unit, &mut counts)?;
            schools.push(BenchSchool {
                unit,
                roadmaps: vec![serde_bytes::ByteBuf::from(roadmap.save())],
                file: file.save(),
            });
            counts.schools += 1;
        }
    }
    let data = BenchData {
        units,
        under: "r1".into(),
        date: PAST_DATE.into(),
        utc_offset_minutes: OFFSET_MINUTES,
        catalogue: CatalogueDoc::genesis().save(),
        schools,
    };
    Ok((data, counts))
}

/// One school's roadmap: written over its first days, then executed.
fn school_roadmap(rng: &mut Rng, unit: &str, counts: &mut Counts) -> anyhow::Result<RoadmapDoc> {
    let seed = rng.next();
    let mut ids = (0u64..)
        .map(move |n| RowId::from_random((n.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ seed).to_le_bytes()));
    let first = ids.next().expect("infinite");
    let mut doc = RoadmapDoc::create(
        &NewRoadmap {
            title: format!("Дорожная карта {unit} на {YEAR} год"),
            level: Level::School,
            territory: String::new(),
            year: Some(YEAR),
            columns: Level::School.default_columns(),
        },
        first.clone(),
    );
    counts.changes += 1;
    let started = day(1, 10 + rng.below(15) as u8);
    let mut section = first;
    let mut events: Vec<(i64, Vec<Edit>)> = Vec::new();
    for (s, title) in SECTION_TITLES.iter().enumerate() {
        // Each section is written on its own day, one change per activity.
        let written = started + Duration::days(s as i64 * (1 + rng.below(3) as i64));
        let mut time = at(written, 10, rng);
        if s > 0 {
            let next = ids.next().expect("infinite");
            doc.apply(
                vec![actions::insert_section(&doc, Some(&section), next.clone(), String::new())],
                time,
                "section",
            )?;
            counts.changes += 1;
            section = next;
        }
        doc.apply(
            vec![Edit::SetText { target: TextTarget::Section(section.clone()), value: (*title).into() }],
            time,
            "section title",
        )?;
        counts.changes += 1;
        let mut last: Option<RowId> = None;
        for a in 0..ACTIVITIES_PER_SECTION {
            time += 60_000 + rng.below(600_000) as i64;
            let id = ids.next().expect("infinite");
            let month =
                1 + ((s * ACTIVITIES_PER_SECTION + a) * 12 / (SECTIONS * ACTIVITIES_PER_SECTION)) as u8;
            let month = (month + rng.below(2) as u8).clamp(2, 12);
            let (text, due) = deadline(rng, month);
            let field = |field, value: String| Edit::SetText {
                target: TextTarget::Activity(id.clone(), field),
                value,
            };
            let edits = vec![
                actions::insert_activity(&doc, &section, last.as_ref(), id.clone()),
                field(ActivityField::Number, format!("{}.{}", s + 1, a + 1)),
                field(
                    ActivityField::Description,
                    format!(
                        "Проведение мероприятия {}.{} для педагогов и обучающихся: анализ, план действий",
                        s + 1,
                        a + 1
                    ),
                ),
                field(ActivityField::Responsible, "Директор, школьный координатор проекта".into()),
                field(ActivityField::Deadline, text),
            ];
            doc.apply(edits, time, "activity")?;
            counts.changes += 1;
            counts.activities += 1;
            last = Some(id.clone());

            // Executed: most activities are done around their deadline
            // (some late), each on its own day; a few are un-done later.
            if rng.chance(80) {
                let done = due + Duration::days(rng.below(45) as i64 - 20);
                if done.year() == YEAR && done > written {
                    events.push((
                        at(done, 9 + rng.below(8) as i64, rng),
                        vec![
                            Edit::SetStatus { activity: id.clone(), status: Status::Done },
                            Edit::SetCompletedOn { activity: id.clone(), date: iso(done) },
                        ],
                    ));
                    if rng.chance(6) {
                        let undone = done + Duration::days(1 + rng.below(20) as i64);
                        events.push((
                            at(undone, 12, rng),
                            vec![
                                Edit::SetStatus { activity: id.clone(), status: Status::InProgress },
                                Edit::SetCompletedOn { activity: id.clone(), date: String::new() },
                            ],
                        ));
                    }
                }
            } else if rng.chance(30) {
                events.push((
                    at(due - Duration::days(10), 11, rng).max(time + 60_000),
                    vec![Edit::SetStatus { activity: id.clone(), status: Status::InProgress }],
                ));
            }
        }
    }
    events.sort_by_key(|(time, _)| *time);
    for (time, edits) in events {
        doc.apply(edits, time, "status")?;
        counts.changes += 1;
    }
    Ok(doc)
}

/// One school's file: its curator, visits, risk profile, survey and documents.
fn school_file(rng: &mut Rng, unit: &str, counts: &mut Counts) -> anyhow::Result<SchoolDoc> {
    let mut doc = SchoolDoc::genesis(unit);
    counts.changes += 1;
    let curator = PersonRef {
        id: format!("c-{unit}"), name: "Куратор Иванова Мария Петровна".into()
    };
    // Made in time order (a change made later depends on every earlier one
    // of this replica, so out of order it would hide them on past dates).
    let mut events: Vec<(i64, Vec<SchoolEdit>)> = Vec::new();
    let mut push = |edits: Vec<SchoolEdit>, time: i64| events.push((time, edits));
    let assigned = day(1, 15 + rng.below(20) as u8);
    if rng.chance(92) {
        let edit = SchoolEdit::SetAssignment {
            curator: Some(curator.clone()),
            coordinator: Some(PersonRef {
                id: "mc".into(), name: "Муниципальный координатор".into()
            }),
        };
        push(vec![edit], at(assigned, 11, rng));
    }
    // Visits: weekly-ish while the roadmap is formed, then every 3–5 weeks.
    let carrying_out = day(3 + rng.below(2) as u8, 1 + rng.below(28) as u8);
    let mut visit = assigned + Duration::days(3 + rng.below(10) as i64);
    let mut n = 0;
    while visit.year() == YEAR && rng.chance(97) {
        let edit = SchoolEdit::PutVisit(Visit {
            id: RowId::new(format!("v{n}")),
            date: iso(visit),
            purpose: "Консультирование школьной команды".into(),
            people_met: "Директор, заместитель директора".into(),
            findings: "Работа по дорожной карте ведётся".into(),
            recommendations: "Уточнить сроки мероприятий раздела 3".into(),
            evaluation: "удовлетворительно".into(),
            author: curator.clone(),
        });
        push(vec![edit], at(visit, 15, rng));
        n += 1;
        let gap = if visit < carrying_out { 5 + rng.below(6) } else { 18 + rng.below(20) };
        visit += Duration::days(gap as i64);
    }
    let stage_time = at(carrying_out, 9, rng);
    push(vec![SchoolEdit::SetStage(Stage::CarryingOut)], stage_time);
    // The risk profile, set in February.
    let risks: Vec<SchoolEdit> = (1..=10)
        .filter(|_| rng.chance(30))
        .map(|f| SchoolEdit::SetRisk {
            factor: format!("f{f:02}"),
            active: true,
            programme: None,
            note: String::new(),
        })
        .collect();
    if !risks.is_empty() {
        push(risks, at(day(2, 1 + rng.below(27) as u8), 14, rng));
    }
    // The survey for the risk profile, completed in February and marked a
    // few days later.
    if rng.chance(85) {
        let on = day(2, 1 + rng.below(20) as u8);
        let edit = SchoolEdit::SetSurvey { on: Some(iso(on)), by: curator.clone() };
        push(vec![edit], at(on + Duration::days(2), 10, rng));
    }
    // Documents, each filed, then confirmed or returned (and filed again).
    let filings = [
        (DocumentKind::Concept, day(2, 10)),
        (DocumentKind::Roadmap, day(2, 20)),
        (DocumentKind::MediumTermProgramme, day(3, 10)),
        (DocumentKind::Monitoring1, day(6, 1)),
        (DocumentKind::Monitoring2, day(11, 15)),
    ];
    for (k, (kind, around)) in filings.into_iter().enumerate() {
        if !rng.chance(90) {
            continue;
        }
        let id = RowId::new(format!("d{k}"));
        let mut when = around + Duration::days(rng.below(30) as i64);
        let blob = |n: u64| Blob {
            address: format!("sha256:{:064x}", (k as u64) << 32 | n),
            name: format!("{}.pdf", kind.label_ru()),
            size: 200_000 + n,
            mime: "application/pdf".into(),
        };
        let decide = |decision: Decision, by: &PersonRef| SchoolEdit::Decide {
            document: id.clone(),
            decision,
            remarks: String::new(),
            by: by.id.clone(),
            by_name: by.name.clone(),
        };
        let team =
            PersonRef { id: format!("t-{unit}"), name: "Школьный координатор".into() };
        let attach =
            SchoolEdit::AttachDocument { id: id.clone(), kind, title: kind.label_ru().into(), blob: blob(1) };
        push(vec![attach, decide(Decision::Submitted, &team)], at(when, 13, rng));
        when += Duration::days(2 + rng.below(10) as i64);
        if rng.chance(25) {
            push(vec![decide(Decision::Returned, &curator)], at(when, 16, rng));
            when += Duration::days(3 + rng.below(10) as i64);
            let again = SchoolEdit::AttachDocument {
                id: id.clone(),
                kind,
                title: kind.label_ru().into(),
                blob: blob(2),
            };
            push(vec![again, decide(Decision::Submitted, &team)], at(when, 13, rng));
            when += Duration::days(2 + rng.below(7) as i64);
        }
        if rng.chance(85) {
            push(vec![decide(Decision::Confirmed, &curator)], at(when, 17, rng));
        }
    }
    events.sort_by_key(|(time, _)| *time);
    for (time, edits) in events {
        doc.apply(edits, time, "school")?;
        counts.changes += 1;
    }
    Ok(doc)
}

#[cfg(test)]
mod tests {
    use super::*;
    use medk_shared::monitoring::RoadmapOnDate;

    /// What reopening the dashboard shows (kept readings alone) is what
    /// the documents show; a reading made after the last change holds on
    /// later days too; a change re-reads only its document; and without a
    /// reading for every document there are no figures from readings.
    #[test]
    fn kept_readings_give_the_figures_of_the_documents() {
        let (data, counts) = generate_sized(2, 3).unwrap();
        assert_eq!(counts.schools, 6);
        for date in [PAST_DATE, CURRENT_DATE] {
            let mut docs = compute::bench_load(&data, Some(date)).unwrap();
            let mut reads = compute::Reads::default();
            let figures = compute::bench_compute(&mut docs, &mut reads);
            assert_eq!(reads.made(), 12, "6 roadmaps and 6 school files");
            let kept = compute::bench_kept(&mut reads);
            assert_eq!(kept.len(), 12);
            assert_eq!(compute::bench_reopen(&docs, &kept).unwrap(), figures);
            assert!(compute::bench_reopen(&docs, &kept[1..]).is_err());

            // A week later: after the last change the readings still hold.
            let mut later = compute::bench_load(&data, Some(date)).unwrap();
            later.date = docs.date + Duration::days(7);
            later.until_ms = docs.until_ms + 7 * 86_400_000;
            let reopened = compute::bench_reopen(&later, &kept);
            if date == CURRENT_DATE {
                let fresh = compute::bench_compute(&mut later, &mut compute::Reads::default());
                assert_eq!(reopened.unwrap(), fresh);
            } else {
                // Mid-year, activities were marked done that week.
                assert!(reopened.is_err());
            }

            // Another date and back: going back reads nothing again.
            let (at, until) = (docs.date, docs.until_ms);
            let other = if date == PAST_DATE { CURRENT_DATE } else { PAST_DATE };
            let other = compute::bench_load(&data, Some(other)).unwrap();
            (docs.date, docs.until_ms) = (other.date, other.until_ms);
            assert_ne!(compute::bench_compute(&mut docs, &mut reads), figures);
            assert_eq!(reads.made(), 24);
            (docs.date, docs.until_ms) = (at, until);
            assert_eq!(compute::bench_compute(&mut docs, &mut reads), figures);
            assert_eq!(reads.made(), 24);
            // The device keeps the date shown last.
            assert_eq!(compute::bench_reopen(&docs, &compute::bench_kept(&mut reads)).unwrap(), figures);

            compute::bench_touch(&mut docs).unwrap();
            compute::bench_compute(&mut docs, &mut reads);
            let again = compute::bench_kept(&mut reads);
            // Only the changed roadmap is kept again: read anew today; at
            // the past date it still holds (the change builds on the rest
            // of the year, which did not count then), but the device
            // forgot it when it wrote the change.
            assert_eq!(again.iter().map(|(key, _)| key.as_str()).collect::<Vec<_>>(), ["r/0/0"]);
            let decode = |build| compute::Reading::<RoadmapOnDate>::decode(&again[0].1, build);
            let reading = decode(compute::BENCH_BUILD).unwrap();
            assert_eq!(reading.seen, docs.schools[0].1[0].automerge().get_heads());
            // Another build of the app reads documents its own way.
            assert!(decode("another-build").is_none());
        }
    }
}
