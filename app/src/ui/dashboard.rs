//! «Мониторинг»: a coordinator's dashboard of one unit on a date
//! (`/monitoring` for the person's own unit, `/monitoring/<unit>` for any
//! unit they see). For every school under the unit it reads the school's
//! roadmaps and school file as they stood at the end of the monitoring day
//! and shows the done share of due activities, the federal indicators as
//! shares of schools, per-region and per-municipality tables with bar
//! charts, and the schools with their own share and visit warnings.
//!
//! Works offline from what is on the device; when online, roadmaps the
//! server lists but the device lacks are fetched. Recomputes when the date
//! changes or any document it read changes from elsewhere. The computation
//! itself is [`compute::compute`], which the benchmark times too.

#[cfg(feature = "bench")]
mod bench;
use medk_shared::dashboard as compute;

use std::cell::RefCell;
use std::collections::HashSet;
use std::rc::Rc;

use leptos::prelude::*;
use medk_shared::access::{Level, Org};
use medk_shared::catalogue::{Catalogue, catalogue_id};
use medk_shared::deadline::{iso, parse_iso};
use medk_shared::ids::DocumentId;
use medk_shared::monitoring::{NoneDue, SchoolSnapshot, Totals, UnitTotals, VisitWarning};
use medk_shared::ru;
use medk_shared::school::{Decision, school_file_id};
use time::Date;

use super::chart::{Bar, BarChart};
use super::kit::{AppCtx, ctx, document_title, warning_text};
use crate::browser;
use crate::document::{OpenError, OpenRoadmap};
use crate::files::OpenFile;
use crate::sync::Connection;
use compute::{Monitoring, Reading, Reads, SchoolLine, schools_under};

/// What kept readings are stamped with: a hash of the sources that decide
/// how documents are read (`app/build.rs`), so a deploy that changed only
/// screens keeps them.
const READING_RULES: &str = env!("MEDK_READING_RULES");

/// One school's documents open on this device.
struct LoadedSchool {
    unit: String,
    roadmaps: Vec<Rc<RefCell<OpenRoadmap>>>,
    file: Option<Rc<RefCell<OpenFile>>>,
}

/// Everything the dashboard reads, open.
struct Loaded {
    org: Org,
    under: String,
    schools: Vec<LoadedSchool>,
    catalogue: Option<Rc<RefCell<OpenFile>>>,
    /// Roadmaps the server lists that are not on this device.
    missing: Vec<DocumentId>,
    /// Documents here that could not be opened (a damaged copy), and the
    /// schools they belong to: shown as not read, never as «нет данных».
    broken: Vec<DocumentId>,
    unread: HashSet<String>,
    /// Schools with a roadmap the server lists that is not on this device:
    /// nothing of it counts yet, which their lines say.
    not_here: HashSet<String>,
    /// Roadmaps listed for these schools.
    listed: usize,
    read: RefCell<Reads<DocumentId>>,
}

impl Loaded {
    /// Every document whose change should recompute the figures.
    fn ids(&self) -> Vec<DocumentId> {
        let roadmaps = self.schools.iter().flat_map(|s| s.roadmaps.iter().map(|r| r.borrow().id));
        let files = self.schools.iter().map(|s| school_file_id(&s.unit));
        roadmaps.chain(files).chain([catalogue_id()]).collect()
    }

    /// The figures on `day`. Each document is read at the heads of that day
    /// only when they differ from its last read (the first computation,
    /// another date, a change that arrived): a change synced into one
    /// school's roadmap re-reads that roadmap, not five hundred.
    fn compute(&self, day: Date) -> Monitoring {
        let catalogue = self
            .catalogue
            .as_ref()
            .and_then(|c| c.try_borrow().ok()?.catalogue())
            .unwrap_or_else(Catalogue::seed_2021);
        let until = browser::end_of_day_ms(day);
        let offset = browser::utc_offset();
        let mut read = self.read.borrow_mut();
        // A document borrowed elsewhere right now (it cannot be, between
        // turns of the event loop) is left out rather than panic.
        let snapshots = self
            .schools
            .iter()
            .map(|school| {
                let roadmaps = school
                    .roadmaps
                    .iter()
                    .filter_map(|open| {
                        let mut open = open.try_borrow_mut().ok()?;
                        let id = open.id;
                        Some(read.roadmap(id, open.doc_mut(), until, offset))
                    })
                    .collect();
                let file = school.file.as_ref().and_then(|f| f.try_borrow_mut().ok());
                let file = file.and_then(|mut open| read.school(&school.unit, open.school_doc()?, until));
                let unread = self.unread.contains(&school.unit);
                SchoolSnapshot { unit: school.unit.clone(), roadmaps, school: file, unread }
            })
            .collect();
        compute::compute(&self.org, &self.under, &catalogue, snapshots, day)
    }
}

/// What the dashboard of `under` reads: its schools, and the roadmaps the
/// server lists for them (by unit).
struct Listed {
    units: Vec<String>,
    roadmaps: Vec<(String, DocumentId)>,
}

impl Listed {
    fn of(app: AppCtx, org: &Org, under: &str) -> Self {
        let units: Vec<String> = schools_under(org, under).map(|u| u.id.clone()).collect();
        let roadmaps = app.account.roadmaps.with_untracked(|all| {
            let mut ids: Vec<(String, DocumentId)> = all
                .values()
                .filter(|r| units.contains(&r.roadmap.unit))
                .filter_map(|r| Some((r.roadmap.unit.clone(), DocumentId::parse(&r.roadmap.id).ok()?)))
                .collect();
            ids.sort();
            ids
        });
        Listed { units, roadmaps }
    }

    /// Each school with its roadmaps, as [`compute::compute_known`] takes them.
    fn by_school(&self) -> Vec<(String, Vec<DocumentId>)> {
        self.units
            .iter()
            .map(|unit| {
                let ids = self.roadmaps.iter().filter(|(u, _)| u == unit).map(|(_, id)| *id).collect();
                (unit.clone(), ids)
            })
            .collect()
    }
}

/// The readings this device kept of the listed documents (see
/// `storage.rs`); none if storage fails (then everything is read).
async fn kept_readings(app: AppCtx, listed: &Listed) -> Reads<DocumentId> {
    let mut reads = Reads::default();
    let roadmaps: Vec<String> = listed.roadmaps.iter().map(|(_, id)| id.to_string()).collect();
    let files: Vec<String> = listed.units.iter().map(|unit| school_file_id(unit).to_string()).collect();
    let keys: Vec<String> = roadmaps.into_iter().chain(files).collect();
    let Ok(kept) = app.storage().readings(&keys).await else { return reads };
    let (roadmaps, files) = kept.split_at(listed.roadmaps.len());
    for ((_, id), bytes) in listed.roadmaps.iter().zip(roadmaps) {
        if let Some(reading) = bytes.as_deref().and_then(|b| Reading::decode(b, READING_RULES)) {
            reads.keep_roadmap(*id, reading);
        }
    }
    for (unit, bytes) in listed.units.iter().zip(files) {
        if let Some(reading) = bytes.as_deref().and_then(|b| Reading::decode(b, READING_RULES)) {
            reads.keep_school(unit.clone(), reading);
        }
    }
    reads
}

/// Keeps the readings `read` made since it was last asked, for the next
/// opening of the dashboard on this device.
fn keep_readings(app: AppCtx, read: &mut Reads<DocumentId>) {
    let (roadmaps, files) = read.take_new();
    let roadmaps = roadmaps.into_iter().map(|(id, reading)| (id.to_string(), reading.encode(READING_RULES)));
    let files = files
        .into_iter()
        .map(|(unit, reading)| (school_file_id(&unit).to_string(), reading.encode(READING_RULES)));
    let readings: Vec<(String, Vec<u8>)> = roadmaps.chain(files).collect();
    if readings.is_empty() {
        return;
    }
    let storage = app.storage();
    // Losing them costs only speed next time.
    leptos::task::spawn_local(async move {
        let _ = storage.put_readings(readings).await;
    });
}

/// The figures on `day` from kept readings alone, before any roadmap is
/// loaded (`None` unless every document has a reading that holds then).
async fn figures_from_readings(
    app: AppCtx,
    org: &Org,
    under: &str,
    listed: &Listed,
    reads: &Reads<DocumentId>,
    day: Date,
) -> Option<Monitoring> {
    let catalogue = app.sync().open_catalogue().await.ok();
    let catalogue =
        catalogue.and_then(|c| c.try_borrow().ok()?.catalogue()).unwrap_or_else(Catalogue::seed_2021);
    let until = browser::end_of_day_ms(day);
    compute::compute_known(org, under, &catalogue, &listed.by_school(), reads, day, until)
}

/// Opens what the dashboard reads: each school's roadmaps (those the
/// server lists for it) and file, and the catalogue. `read` holds what is
/// already known of them. `progress` counts the documents open out of all
/// (a first open of hundreds of schools takes seconds).
async fn load(
    app: AppCtx,
    org: Org,
    under: String,
    listed: Listed,
    read: Reads<DocumentId>,
    progress: RwSignal<(usize, usize)>,
) -> Loaded {
    let sync = app.sync();
    let Listed { units, roadmaps: listed } = listed;
    progress.set((0, listed.len() + units.len()));
    let opened =
        futures::future::join_all(listed.iter().map(|(_, id)| counted(sync.open(*id), progress))).await;
    let files =
        futures::future::join_all(units.iter().map(|unit| counted(sync.open_school(unit), progress))).await;
    let catalogue = sync.open_catalogue().await.ok();
    let (mut missing, mut broken, mut unread) = (Vec::new(), Vec::new(), HashSet::new());
    let mut not_here = HashSet::new();
    let mut schools: Vec<LoadedSchool> = Vec::with_capacity(units.len());
    for (unit, file) in units.into_iter().zip(files) {
        let file = match file {
            Ok(file) => Some(file),
            Err(e) => {
                if e.is_broken() {
                    broken.push(school_file_id(&unit));
                }
                unread.insert(unit.clone());
                None
            }
        };
        schools.push(LoadedSchool { unit, roadmaps: Vec::new(), file });
    }
    for ((unit, id), result) in listed.iter().zip(opened) {
        match result {
            Ok(doc) => {
                if let Some(school) = schools.iter_mut().find(|s| &s.unit == unit) {
                    school.roadmaps.push(doc);
                }
            }
            Err(OpenError::NotFound) => {
                missing.push(*id);
                not_here.insert(unit.clone());
            }
            Err(_) => {
                broken.push(*id);
                unread.insert(unit.clone());
            }
        }
    }
    let listed = listed.len();
    Loaded {
        org,
        under,
        schools,
        catalogue,
        missing,
        broken,
        unread,
        not_here,
        listed,
        read: RefCell::new(read),
    }
}

/// `open`, counted in `progress` once it is done.
async fn counted<T>(open: impl Future<Output = T>, progress: RwSignal<(usize, usize)>) -> T {
    let result = open.await;
    progress.update(|(done, _)| *done += 1);
    result
}

/// `?date=YYYY-MM-DD` from the address, else today.
fn initial_date() -> String {
    let search = web_sys::window().and_then(|w| w.location().search().ok()).unwrap_or_default();
    search
        .trim_start_matches('?')
        .split('&')
        .find_map(|pair| pair.strip_prefix("date="))
        .and_then(parse_iso)
        .map_or_else(|| iso(browser::today()), iso)
}

/// Keeps the date in the address (a reload or a shared link shows the same day).
fn remember_date(date: &str) {
    let Some(window) = web_sys::window() else { return };
    let path = window.location().pathname().unwrap_or_default();
    if let Ok(history) = window.history() {
        let _ = history.replace_state_with_url(
            &wasm_bindgen::JsValue::NULL,
            "",
            Some(&format!("{path}?date={date}")),
        );
    }
}

#[derive(Clone, PartialEq)]
enum Shown {
    Loading,
    Error(String),
    Ready(Box<Monitoring>),
}

/// The dashboard's state: the documents open for it, what it shows, and
/// the work under way. Copied into each of its effects and views.
#[derive(Clone, Copy)]
struct Dash {
    app: AppCtx,
    /// The unit asked for in the URL; `None`: the person's own.
    unit: StoredValue<Option<String>>,
    date: RwSignal<String>,
    loaded: StoredValue<Option<Loaded>, LocalStorage>,
    /// Bumped when `loaded` is replaced.
    generation: RwSignal<u64>,
    reload: RwSignal<u64>,
    load_seq: StoredValue<u64>,
    tried: StoredValue<HashSet<DocumentId>, LocalStorage>,
    fetching: RwSignal<usize>,
    /// Figures from kept readings are shown while the documents open.
    opening: RwSignal<bool>,
    /// Documents open of all, while they open.
    progress: RwSignal<(usize, usize)>,
    shown: RwSignal<Shown>,
}

#[component]
pub fn DashboardPage(unit: Option<String>) -> impl IntoView {
    let app = ctx();
    document_title("Мониторинг");
    let dash = Dash {
        app,
        unit: StoredValue::new(unit),
        date: RwSignal::new(initial_date()),
        loaded: StoredValue::new_local(None),
        generation: RwSignal::new(0u64),
        reload: RwSignal::new(0u64),
        load_seq: StoredValue::new(0u64),
        tried: StoredValue::new_local(HashSet::new()),
        fetching: RwSignal::new(0usize),
        opening: RwSignal::new(false),
        progress: RwSignal::new((0usize, 0usize)),
        shown: RwSignal::new(Shown::Loading),
    };
    app.account.refresh_roadmaps();
    dash.open_documents();
    dash.fetch_missing();
    dash.compute_figures();

    let date = dash.date;
    let on_date = move |ev: leptos::ev::Event| {
        let value = event_target_value(&ev);
        if parse_iso(&value).is_some() {
            remember_date(&value);
        }
        date.set(value);
    };
    let heading = move || {
        let name = dash.under().and_then(|u| app.account.unit_name(&u)).unwrap_or_default();
        if name.is_empty() {
            "Мониторинг".to_owned()
        } else {
            format!("Мониторинг: {name}")
        }
    };
    let status = move || dash.status();
    let (loaded, progress, shown) = (dash.loaded, dash.progress, dash.shown);
    view! {
        <section class="dashboard">
            <Crumbs dash />
            <div class="page-head">
                <h1>{super::kit::text(heading)}</h1>
                <label class="dash-date">
                    <span>"Дата мониторинга"</span>
                    <input type="date" prop:value=move || date.get() on:change=on_date />
                </label>
            </div>
            <p class="dash-status" role="status" hidden=move || status().is_empty()>{super::kit::text(status)}</p>
            {move || match shown.get() {
                Shown::Loading => view! { <p class="empty">{move || loading_text(progress.get())}</p> }.into_any(),
                Shown::Error(e) => view! { <p class="empty" role="alert">{e}</p> }.into_any(),
                Shown::Ready(m) => {
                    let level = loaded.with_value(|l| {
                        l.as_ref().and_then(|l| l.org.get(&l.under).map(|u| u.level))
                    });
                    let (unread, not_here) = loaded
                        .with_value(|l| l.as_ref().map(|l| (l.unread.clone(), l.not_here.clone())))
                        .unwrap_or_default();
                    report(*m, level.unwrap_or(Level::School), &unread, &not_here).into_any()
                }
            }}
        </section>
    }
}

impl Dash {
    /// The unit shown: the one asked for, or the person's own.
    fn under(self) -> Option<String> {
        let account = self.app.account;
        self.unit.get_value().or_else(|| account.session.with(|s| s.me().map(|me| me.person.unit.clone())))
    }

    /// (Re)opens the documents when the unit, the person or the server's
    /// list changes.
    fn open_documents(self) {
        let Dash { app, date, loaded, generation, reload, load_seq, opening, progress, shown, .. } = self;
        let account = app.account;
        Effect::new(move |_| {
            reload.track();
            account.roadmaps.track();
            let org = account.org();
            let Some(under) = self.under() else {
                shown.set(Shown::Error("Войдите, чтобы видеть мониторинг своих организаций.".into()));
                return;
            };
            let Some((org, _)) = org else {
                shown.set(Shown::Error("Войдите, чтобы видеть мониторинг своих организаций.".into()));
                return;
            };
            if org.get(&under).is_none() {
                shown.set(Shown::Error("Организация не найдена среди доступных вам.".into()));
                return;
            }
            load_seq.update_value(|s| *s += 1);
            let seq = load_seq.get_value();
            let first = loaded.with_value(Option::is_none);
            let day = date.with_untracked(|d| parse_iso(d));
            leptos::task::spawn_local(async move {
                let listed = Listed::of(app, &org, &under);
                // Opened again (the server's list changed, roadmaps arrived):
                // what the open dashboard read carries over below instead.
                let reads = if first { kept_readings(app, &listed).await } else { Reads::default() };
                // Reopening: the figures this device last read, at once, while
                // the documents load (a few seconds for hundreds of schools).
                if first && let Some(day) = day {
                    let known = figures_from_readings(app, &org, &under, &listed, &reads, day).await;
                    if let Some(figures) = known
                        && load_seq.get_value() == seq
                        && loaded.with_value(Option::is_none)
                        && date.with_untracked(|d| parse_iso(d)) == Some(day)
                    {
                        shown.set(Shown::Ready(Box::new(figures)));
                        opening.set(true);
                    }
                }
                let mut result = load(app, org, under, listed, reads, progress).await;
                if load_seq.get_value() == seq {
                    // Readings are checked against the heads when used, so
                    // those of the documents open before still serve.
                    if let Some(held) = loaded.with_value(|l| l.as_ref().map(|l| l.read.take())) {
                        result.read = RefCell::new(held);
                    }
                    loaded.set_value(Some(result));
                    opening.set(false);
                    generation.update(|g| *g += 1);
                }
            });
        });
    }

    /// Online, roadmaps the server lists but this device lacks are fetched,
    /// and copies on this device that could not be read are replaced by the
    /// server's (keeping what can still be read); then the figures are read
    /// again.
    fn fetch_missing(self) {
        let Dash { app, loaded, generation, reload, tried, fetching, .. } = self;
        let connection = Memo::new(move |_| app.sync().status().with(|s| s.connection));
        Effect::new(move |_| {
            generation.track();
            if connection.get() != Connection::Online {
                return;
            }
            let (missing, broken) = loaded
                .with_value(|l| l.as_ref().map(|l| (l.missing.clone(), l.broken.clone())))
                .unwrap_or_default();
            let untried = |ids: Vec<DocumentId>| -> Vec<DocumentId> {
                ids.into_iter()
                    .filter(|id| tried.try_update_value(|t| t.insert(*id)).unwrap_or(false))
                    .collect()
            };
            let (missing, broken) = (untried(missing), untried(broken));
            let count = missing.len() + broken.len();
            if count == 0 {
                return;
            }
            fetching.update(|n| *n += count);
            leptos::task::spawn_local(async move {
                let sync = app.sync();
                let (fetched, reloaded) = futures::join!(
                    futures::future::join_all(missing.iter().map(|id| sync.fetch(*id))),
                    futures::future::join_all(broken.iter().map(|id| sync.reload_from_server(*id))),
                );
                fetching.update(|n| *n = n.saturating_sub(count));
                if fetched.iter().any(Result::is_ok) || reloaded.iter().any(Result::is_ok) {
                    reload.update(|r| *r += 1);
                }
            });
        });
    }

    /// The figures, recomputed when the date or any document read changes.
    fn compute_figures(self) {
        let Dash { app, date, loaded, generation, opening, shown, .. } = self;
        Effect::new(move |_| {
            generation.track();
            let day = date.with(|d| parse_iso(d));
            let ids = loaded.with_value(|l| l.as_ref().map(Loaded::ids)).unwrap_or_default();
            for id in ids {
                app.sync().version(id).track();
            }
            let Some(day) = day else {
                shown.set(Shown::Error("Укажите дату мониторинга в виде ДД.ММ.ГГГГ.".into()));
                return;
            };
            let computed = loaded.with_value(|l| {
                let l = l.as_ref()?;
                let figures = l.compute(day);
                keep_readings(app, &mut l.read.borrow_mut());
                Some(figures)
            });
            match computed {
                Some(figures) => shown.set(Shown::Ready(Box::new(figures))),
                // Another date picked while the documents open: the figures
                // from readings were for the first.
                None if opening.get_untracked() => shown.set(Shown::Loading),
                None => {}
            }
        });
    }

    /// What the page says of the work under way and of what it could not read.
    fn status(self) -> String {
        let Dash { loaded, generation, fetching, opening, .. } = self;
        generation.track();
        let n = fetching.get();
        let (listed, missing, unread) = loaded
            .with_value(|l| l.as_ref().map_or((0, 0, 0), |l| (l.listed, l.missing.len(), l.unread.len())));
        let mut parts = Vec::new();
        if opening.get() {
            parts.push(
                "Показаны последние рассчитанные на этом устройстве показатели; документы открываются."
                    .to_owned(),
            );
        }
        if n > 0 {
            parts.push(format!("Загружаются с сервера дорожные карты: {n}."));
        } else if missing > 0 {
            parts.push(format!(
                "Нет на этом устройстве {missing} из {listed} дорожных карт: они загрузятся, когда будет связь с сервером."
            ));
        }
        if unread > 0 {
            parts.push(format!(
                "Не прочитаны на этом устройстве (копия повреждена) документы школ: {unread}; их строки \
                 отмечены, итоги без них неполны. Когда есть связь, их копии загружаются с сервера."
            ));
        }
        parts.join(" ")
    }
}

/// The units above the one shown, up to where the person's own dashboard
/// reaches, each a link to its dashboard on the same date.
#[component]
fn Crumbs(dash: Dash) -> impl IntoView {
    let account = dash.app.account;
    move || {
        let (org, person) = account.org()?;
        let under = dash.under()?;
        let mut path: Vec<(String, String)> =
            org.path(&under).iter().skip(1).map(|u| (u.id.clone(), u.name.clone())).collect();
        path.reverse();
        // Only units the person's own dashboard reaches up to.
        path.retain(|(id, _)| org.within(id, &person.unit));
        (!path.is_empty()).then(|| {
            view! {
                <nav class="crumbs" aria-label="Выше по структуре">
                    {path.into_iter().map(|(id, name)| view! {
                        <a href=super::route::Route::monitoring_on(&id, dash.date.get())>{name}</a>" › "
                    }).collect_view()}
                </nav>
            }
        })
    }
}

/// What the page says before it has figures: how far opening the
/// documents has got, once it has started.
fn loading_text((done, all): (usize, usize)) -> String {
    if all == 0 || done >= all {
        "Загрузка…".to_owned()
    } else {
        format!("Открываются документы: {done} из {all}…")
    }
}

/// Whole percent, rounded down like the execution report (100 % means all).
fn percent(share: Option<f64>) -> String {
    share.map_or_else(|| "нет данных".to_owned(), |s| format!("{} %", (s * 100.0 + 1e-9).floor() as u32))
}

/// The federal indicators: a short label for the chart, the full one, and
/// the count of schools.
fn federal(t: &Totals) -> [(&'static str, &'static str, usize); 7] {
    [
        ("Назначены кураторы", "Доля ОО, в которых назначены кураторы", t.curator_assigned),
        ("Анкетирование завершено", "Доля ОО, в которых завершено анкетирование", t.surveyed),
        ("Посещены кураторами", "Доля ОО, посещённых кураторами", t.visited),
        ("Активированы риски", "Доля ОО, активировавших рисковые направления", t.risks_activated),
        (
            "Концептуальные документы",
            "Доля ОО, разместивших концептуальные документы, подтверждённые куратором",
            t.concept_confirmed,
        ),
        (
            "Мониторинг, 1 этап",
            "Доля ОО, разместивших документы мониторинга (1 этап), подтверждённые куратором",
            t.monitoring_1_confirmed,
        ),
        (
            "Мониторинг, 2 этап",
            "Доля ОО, разместивших документы мониторинга (2 этап), подтверждённые куратором",
            t.monitoring_2_confirmed,
        ),
    ]
}

fn done_bar(label: &str, t: &Totals) -> Bar {
    let share = t.done_share();
    let value = match share {
        Some(_) => format!("{} ({} из {})", percent(share), t.done_of_due, t.due),
        None => t.none_due_short_ru().unwrap_or_default(),
    };
    Bar { label: label.to_owned(), share, value }
}

/// What a school's line says instead of «0 из 0»: why nothing of it was
/// due, or that its roadmap is not on this device yet.
fn school_why(s: &SchoolLine, not_here: bool) -> Option<String> {
    let why = s.none_due?;
    Some(if not_here && matches!(why, NoneDue::NoRoadmap | NoneDue::RecordedLater(_)) {
        "дорожная карта ещё не загружена на это устройство".to_owned()
    } else {
        why.detail_ru()
    })
}

fn report(
    m: Monitoring,
    level: Level,
    unread: &HashSet<String>,
    not_here: &HashSet<String>,
) -> impl IntoView {
    let date = m.rollup.date;
    let total = m.rollup.total.clone();
    let day = ru::date(date);
    let indicators = federal(&total);
    let federal_bars: Vec<Bar> = indicators
        .iter()
        .map(|(short, _, count)| {
            let share = total.share_of_schools(*count);
            Bar {
                label: (*short).to_owned(),
                share,
                value: format!("{} ({} из {})", percent(share), count, total.schools),
            }
        })
        .collect();
    let federal_rows = indicators
        .iter()
        .map(|(_, full, count)| {
            view! {
                <tr>
                    <th scope="row">{*full}</th>
                    <td class="num">{format!("{} из {}", count, total.schools)}</td>
                    <td class="num">{percent(total.share_of_schools(*count))}</td>
                </tr>
            }
        })
        .collect_view();
    let regions = (level == Level::Federal)
        .then(|| units_section("По регионам", "Регион", m.rollup.regions.clone(), date));
    let municipalities = matches!(level, Level::Federal | Level::Region)
        .then(|| units_section("По муниципалитетам", "Муниципалитет", m.rollup.municipalities.clone(), date));
    let show_municipality = matches!(level, Level::Federal | Level::Region);
    let school_chart =
        (!matches!(level, Level::Federal | Level::Region) && !m.schools.is_empty()).then(|| {
            let bars = m.schools.iter().map(|s| done_bar(&s.name, &s.totals)).collect();
            view! { <BarChart label=format!("Доля исполненных мероприятий по школам на {day}") bars /> }
        });
    let no_schools = m.schools.is_empty();
    let csv = schools_csv(&m.schools, unread, not_here, show_municipality);
    let csv_name = format!("Мониторинг школ на {day}.csv");
    let download_csv = move |_| browser::download(&csv_name, "text/csv;charset=utf-8", csv.as_bytes());
    // Plans that count on the date by their adoption date alone: marks
    // made since they were recorded here are not in the figure.
    let marks_later = m.schools.iter().filter(|s| s.marks_from.is_some()).count();
    let marks_note = (marks_later > 0).then(|| {
        view! {
            <p class="hint dash-marks-later">{format!(
                "Школ, чьи дорожные карты внесены в систему позже {day}: {marks_later}. Для них план учтён с \
                 даты его принятия, а отметки об исполнении — со дня, когда их сделали в системе: сделанные \
                 после {day} в эту долю не входят."
            )}</p>
        }
    });
    let school_rows = m
        .schools
        .into_iter()
        .map(|s| {
            let read = !unread.contains(&s.unit);
            let here = !not_here.contains(&s.unit);
            school_row(s, show_municipality, read, here)
        })
        .collect_view();
    let mean = percent(total.mean_school_share());
    // Nothing due: the figure says why instead of a share of nothing.
    let done_figure = match total.none_due_ru() {
        None => {
            let done = percent(total.done_share());
            let share = done.clone();
            view! {
                <p class="dash-figure" data-share=share>
                    <strong class="dash-big">{done}</strong>
                    <span>{format!(
                        " — исполнено {} из {} мероприятий со сроком по {} во всех дорожных картах школ",
                        total.done_of_due, total.due, day
                    )}</span>
                </p>
                <p class="dash-figure">
                    "Среднее по школам: " <strong class="dash-mean">{mean}</strong>
                    {format!(" (школ, у которых наступили сроки мероприятий: {} из {})", total.schools_with_due, total.schools)}
                </p>
            }
            .into_any()
        }
        Some(why) => view! {
            <p class="dash-figure" data-share="нет сроков">
                <strong class="dash-none">{format!("Нет мероприятий со сроком по {day}")}</strong>
                <span class="dash-why">{format!(": {why}.")}</span>
            </p>
        }
        .into_any(),
    };
    view! {
        <section class="card dash-block" aria-labelledby="dash-done">
            <h2 id="dash-done">"Доля исполненных мероприятий на дату мониторинга"</h2>
            {done_figure}
            {marks_note}
        </section>
        <section class="card dash-block" aria-labelledby="dash-federal">
            <h2 id="dash-federal">"Федеральные показатели"</h2>
            <p class="hint">{format!("Доля школ (ОО) на {day}, всего школ: {}", total.schools)}</p>
            <BarChart label=format!("Федеральные показатели на {day}, доля школ") bars=federal_bars />
            <div class="dash-scroll">
                <table class="dash-table dash-federal">
                    <thead><tr><th scope="col">"Показатель"</th><th scope="col">"Школ"</th><th scope="col">"Доля"</th></tr></thead>
                    <tbody>{federal_rows}</tbody>
                </table>
            </div>
        </section>
        {regions}
        {municipalities}
        <section class="card dash-block" aria-labelledby="dash-schools">
            <h2 id="dash-schools">"Школы"</h2>
            {school_chart}
            <p class="empty" hidden=!no_schools>"Школ в этой организации нет."</p>
            <p class="actions" hidden=no_schools>
                <button type="button" on:click=download_csv>"Скачать таблицу школ (.csv)"</button>
            </p>
            <div class="dash-scroll" hidden=no_schools>
                <table class="dash-table dash-schools">
                    <thead><tr>
                        <th scope="col">"Школа"</th>
                        {show_municipality.then(|| view! { <th scope="col">"Муниципалитет"</th> })}
                        <th scope="col">"Дорожных карт"</th>
                        <th scope="col">"Исполнено"</th>
                        <th scope="col">"Доля"</th>
                        <th scope="col">"Посещения куратора"</th>
                        <th scope="col">"Документы"</th>
                    </tr></thead>
                    <tbody>{school_rows}</tbody>
                </table>
            </div>
        </section>
    }
}

/// A table (and chart) of regions or municipalities.
fn units_section(
    title: &'static str,
    column: &'static str,
    units: Vec<UnitTotals>,
    date: Date,
) -> impl IntoView {
    let day = ru::date(date);
    let bars = units.iter().map(|u| done_bar(&u.name, &u.totals)).collect();
    let rows = units
        .iter()
        .map(|u| {
            let t = &u.totals;
            let count = |n: usize| format!("{n} из {}", t.schools);
            let done = match t.none_due_ru() {
                None => view! {
                    <td class="num">{format!("{} из {}", t.done_of_due, t.due)}</td>
                    <td class="num">{percent(t.done_share())}</td>
                    <td class="num">{percent(t.mean_school_share())}</td>
                }
                .into_any(),
                Some(why) => view! { <td class="dash-why" colspan="3">{format!("Нет мероприятий со сроком: {why}")}</td> }
                    .into_any(),
            };
            view! {
                <tr>
                    <th scope="row"><a href=super::route::Route::monitoring_on(&u.unit, iso(date))>{u.name.clone()}</a></th>
                    <td class="num">{t.schools}</td>
                    {done}
                    <td class="num">{count(t.curator_assigned)}</td>
                    <td class="num">{count(t.surveyed)}</td>
                    <td class="num">{count(t.visited)}</td>
                    <td class="num">{count(t.risks_activated)}</td>
                    <td class="num">{count(t.concept_confirmed)}</td>
                    <td class="num">{count(t.monitoring_1_confirmed)}</td>
                    <td class="num">{count(t.monitoring_2_confirmed)}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <section class="card dash-block" aria-label=title>
            <h2>{title}</h2>
            <BarChart label=format!("Доля исполненных мероприятий на {day}: {}", title.to_lowercase()) bars />
            <div class="dash-scroll">
                <table class="dash-table dash-units">
                    <thead><tr>
                        <th scope="col">{column}</th>
                        <th scope="col">"Школ"</th>
                        <th scope="col">"Исполнено из срока"</th>
                        <th scope="col">"Доля исполненных"</th>
                        <th scope="col">"Среднее по школам"</th>
                        <th scope="col">"Кураторы назначены"</th>
                        <th scope="col">"Анкетирование завершено"</th>
                        <th scope="col">"Посещены"</th>
                        <th scope="col">"Риски активированы"</th>
                        <th scope="col">"Концептуальные документы"</th>
                        <th scope="col">"Мониторинг 1"</th>
                        <th scope="col">"Мониторинг 2"</th>
                    </tr></thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
        </section>
    }
}

/// The visits cell: the school screen's warning ([`warning_text`]), with
/// the day of the last visit, which the table has no column for.
fn visit_text(warning: Option<VisitWarning>, has_file: bool) -> String {
    match warning {
        _ if !has_file => "нет данных".to_owned(),
        None => "по графику".to_owned(),
        Some(w) => match w.last_visit {
            Some(last) => format!("{}; последнее посещение {}", warning_text(&w), ru::date(last)),
            None => warning_text(&w),
        },
    }
}

/// A school's line; `read` is false when a copy of one of its documents
/// on this device could not be read (its figures would be wrong, so it
/// says so instead of showing them).
fn school_row(s: SchoolLine, show_municipality: bool, read: bool, here: bool) -> impl IntoView {
    let t = &s.totals;
    let late = s.warning.is_some();
    let visits = visit_text(s.warning, s.stage.is_some());
    let unread = "⚠ не прочитано на устройстве".to_owned();
    let done = match (read, school_why(&s, !here)) {
        (false, _) => {
            view! { <td class="num">{unread.clone()}</td><td class="num">{unread.clone()}</td> }.into_any()
        }
        (true, Some(why)) => view! { <td class="dash-why" colspan="2">{why}</td> }.into_any(),
        (true, None) => view! {
            <td class="num">
                {format!("{} из {}", t.done_of_due, t.due)}
                {s.marks_from.map(|day| view! {
                    <small class="dash-marks-from">{format!("отметки — с {}", ru::date(day))}</small>
                })}
            </td>
            <td class="num">{percent(t.done_share())}</td>
        }
        .into_any(),
    };
    let visits = if read { visits } else { unread };
    view! {
        <tr data-school=s.unit.clone() class:unread=!read>
            <th scope="row"><a href=super::route::Route::school(&s.unit)>{s.name.clone()}</a></th>
            {show_municipality.then(|| view! { <td>{s.municipality.clone()}</td> })}
            <td class="num">{s.roadmaps}</td>
            {done}
            <td class:warn=late || !read>{if late && read { format!("⚠ {visits}") } else { visits }}</td>
            <td class="dash-documents">
                {if read && s.documents.is_empty() {
                    "нет данных".into_any()
                } else if read {
                    view! {
                        <ul class="doc-states">
                            {s.documents.iter().map(|(kind, state)| view! {
                                <li data-kind=kind.key() data-state=state.map_or("none", |d| d.key())>
                                    {format!("{}: {}", kind.label_ru(), document_state_ru(*state))}
                                </li>
                            }).collect_view()}
                        </ul>
                    }.into_any()
                } else {
                    "⚠ не прочитано на устройстве".into_any()
                }}
            </td>
        </tr>
    }
}

/// A kind's state in a school, as the dashboard and its table say it.
fn document_state_ru(state: Option<Decision>) -> &'static str {
    state.map_or("не подан", Decision::label_ru)
}

/// The schools' table as a CSV file (semicolons and a BOM, as a Russian
/// spreadsheet opens it): the same columns as on screen, one per kind of
/// document.
fn schools_csv(
    schools: &[SchoolLine],
    unread: &HashSet<String>,
    not_here: &HashSet<String>,
    show_municipality: bool,
) -> String {
    let cell = |text: &str| format!("\"{}\"", text.replace('"', "\"\""));
    let kinds: Vec<_> = schools
        .iter()
        .find(|s| !s.documents.is_empty())
        .map(|s| s.documents.iter().map(|(k, _)| *k).collect())
        .unwrap_or_default();
    let mut head = vec!["Школа".to_owned()];
    if show_municipality {
        head.push("Муниципалитет".into());
    }
    head.extend(["Дорожных карт", "Исполнено", "Доля", "Посещения куратора"].map(str::to_owned));
    head.extend(kinds.iter().map(|k| k.label_ru().to_owned()));
    let mut out = String::from("\u{feff}");
    out.push_str(&head.iter().map(|h| cell(h)).collect::<Vec<_>>().join(";"));
    out.push_str("\r\n");
    for s in schools {
        let read = !unread.contains(&s.unit);
        let t = &s.totals;
        let mut row = vec![s.name.clone()];
        if show_municipality {
            row.push(s.municipality.clone());
        }
        row.push(s.roadmaps.to_string());
        if read {
            match school_why(s, not_here.contains(&s.unit)) {
                Some(why) => row.extend([why, String::new()]),
                None => row.extend([format!("{} из {}", t.done_of_due, t.due), percent(t.done_share())]),
            }
            row.push(visit_text(s.warning.clone(), s.stage.is_some()));
            row.extend(kinds.iter().map(|k| {
                let state = s.documents.iter().find(|(kind, _)| kind == k).and_then(|(_, d)| *d);
                if s.stage.is_some() {
                    document_state_ru(state).to_owned()
                } else {
                    "нет данных".to_owned()
                }
            }));
        } else {
            row.extend(std::iter::repeat_n("не прочитано на устройстве".to_owned(), 3 + kinds.len()));
        }
        out.push_str(&row.iter().map(|c| cell(c)).collect::<Vec<_>>().join(";"));
        out.push_str("\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::loading_text;

    #[test]
    fn opening_counts_the_documents_open_of_all() {
        assert_eq!(loading_text((0, 0)), "Загрузка…", "before the list is known");
        assert_eq!(loading_text((0, 1000)), "Открываются документы: 0 из 1000…");
        assert_eq!(loading_text((998, 1000)), "Открываются документы: 998 из 1000…");
        assert_eq!(loading_text((1000, 1000)), "Загрузка…", "all open: the figures are being computed");
    }
}
