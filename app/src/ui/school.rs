//! A school's screen (`/s/<school unit id>`): its stage and visit warning,
//! its roadmaps, who serves it («Участники»), the curator's visits, the
//! risk profile with an anti-risk programme per active factor, and the
//! documents it files with their review log. Everything is an edit of the
//! school's file (`SyncService::open_school`), so it works offline and
//! syncs; only the attached files' bytes go apart, through
//! [`crate::blobs`].

use super::file_slot::FileSlot;
use super::kit::{
    AppCtx, Confirm, ConfirmButton, ConfirmDialog, ctx, document_title, parent_name, say, text, warning_text,
};
use crate::blobs::{Blobs, OnServer, UploadState, check_size, size_label};
use crate::browser;
use crate::files::OpenFile;
use crate::storage::DocKind;
use leptos::prelude::*;
use medk_shared::access::{Person, Right, Role, SchoolPowers};
use medk_shared::actions::school as school_actions;
use medk_shared::catalogue::{Catalogue, catalogue_id};
use medk_shared::ids::{DocumentId, RowId};
use medk_shared::monitoring::visit_warning;
use medk_shared::ru;
use medk_shared::school::{
    Blob, Decision, DocumentKind, FiledDocument, PersonRef, Risk, School, SchoolEdit, Stage, Visit,
    school_file_id,
};
use wasm_bindgen::JsCast;

/// An ISO date as «10.03.2021», or as written when it is not one.
fn iso_ru(iso: &str) -> String {
    medk_shared::deadline::parse_iso(iso).map(ru::date).unwrap_or_else(|| iso.to_owned())
}

/// A decision as the review log and the state say it.
pub fn decision_ru(decision: Decision) -> &'static str {
    match decision {
        Decision::Submitted => "Подан на проверку",
        Decision::Returned => "Возвращён на доработку",
        Decision::Confirmed => "Подтверждён",
    }
}

/// The open school and what the page shows of it. Copy: every field is a
/// handle.
#[derive(Clone, Copy)]
struct Screen {
    unit: StoredValue<String>,
    school: RwSignal<Option<School>>,
    catalogue: RwSignal<Option<Catalogue>>,
    file: FileSlot,
    catalogue_file: FileSlot,
    /// What the person may do with the school's file.
    right: Memo<Right>,
    /// Which of its edits are theirs to make (the rules the relay holds
    /// every device to).
    powers: Memo<SchoolPowers>,
    person: Memo<Option<Person>>,
    /// Roadmaps on the device or listed by the server: (id, title).
    roadmaps: RwSignal<Vec<(String, String)>>,
    /// What of the school's file could not be read (see [`OpenFile::problems`]).
    problems: RwSignal<Vec<String>>,
    /// The files each document's review log names, as attached
    /// ([`OpenFile::logged_files`]).
    logged: RwSignal<Vec<(RowId, Vec<Blob>)>>,
    app: AppCtx,
}

impl Screen {
    fn unit(&self) -> String {
        self.unit.get_value()
    }

    fn can_write(&self) -> bool {
        self.right.get() == Right::Write
    }

    /// Curators and coordinators record visits and judge documents; the
    /// school team files them.
    fn can_curate(&self) -> bool {
        self.powers.get().curate
    }

    fn me(&self) -> Option<PersonRef> {
        self.person
            .with_untracked(|p| p.as_ref().map(|p| PersonRef { id: p.id.clone(), name: p.name.clone() }))
    }

    /// Re-reads the open documents into the page.
    fn reread(&self) {
        self.file.show(self.school, OpenFile::school);
        self.catalogue_file.show(self.catalogue, OpenFile::catalogue);
        self.file.show(self.problems, OpenFile::problems);
        self.file.show(self.logged, OpenFile::logged_files);
    }

    /// One user action on the school's file; its error is shown.
    fn apply(&self, edits: Vec<SchoolEdit>, message: &str) -> bool {
        self.file.edit(
            self.app,
            "файл школы",
            |file, author| file.apply_school(edits, message, author),
            || self.reread(),
        )
    }

    fn reload_roadmaps(&self) {
        let screen = *self;
        let storage = self.app.storage();
        leptos::task::spawn_local(async move {
            let mut list: Vec<(String, String)> = storage
                .list()
                .await
                .unwrap_or_default()
                .into_iter()
                .filter(|m| m.kind == DocKind::Roadmap && m.broken.is_none())
                .map(|m| {
                    let title = if m.title.trim().is_empty() {
                        "Без названия".to_owned()
                    } else {
                        m.title
                    };
                    (m.id, title)
                })
                .collect();
            let listed: Vec<(String, String)> =
                screen.app.account.roadmaps.with_untracked(|r| {
                    r.values().map(|r| (r.roadmap.id.clone(), r.shown_title())).collect()
                });
            for (id, title) in listed {
                if !list.iter().any(|(known, _)| *known == id) {
                    list.push((id, format!("{title} (на сервере)")));
                }
            }
            screen.roadmaps.set(list);
        });
    }

    fn roadmap_title(&self, id: &str) -> String {
        self.roadmaps.with(|r| {
            r.iter()
                .find(|(known, _)| known == id)
                .map(|(_, t)| t.clone())
                .unwrap_or_else(|| "Дорожная карта, которой нет на этом устройстве".to_owned())
        })
    }
}

#[component]
pub fn SchoolPage(unit: String) -> impl IntoView {
    let app = ctx();
    let account = app.account;
    let sync = app.sync();
    let person = Memo::new(move |_| account.session.with(|s| s.me().map(|me| me.person.clone())));
    let right = {
        let unit = unit.clone();
        Memo::new(move |_| {
            account.org().map(|(org, person)| org.school_file_right(&person, &unit)).unwrap_or(Right::None)
        })
    };
    let powers = {
        let unit = unit.clone();
        Memo::new(move |_| {
            account.org().map(|(org, person)| org.school_powers(&person, &unit)).unwrap_or_default()
        })
    };
    let screen = Screen {
        unit: StoredValue::new(unit.clone()),
        school: RwSignal::new(None),
        catalogue: RwSignal::new(None),
        file: FileSlot::new(),
        catalogue_file: FileSlot::new(),
        right,
        powers,
        person,
        roadmaps: RwSignal::new(Vec::new()),
        problems: RwSignal::new(Vec::new()),
        logged: RwSignal::new(Vec::new()),
        app,
    };
    let failed: RwSignal<Option<String>> = RwSignal::new(None);
    // A broken copy of the school's file or the catalogue: brought back
    // from here or by the sync, the screen opens again.
    let broken: RwSignal<Option<DocumentId>> = RwSignal::new(None);
    {
        let unit = unit.clone();
        let sync = sync.clone();
        leptos::task::spawn_local(async move {
            match sync.open_catalogue().await {
                Ok(file) => screen.catalogue_file.set(file),
                Err(e) => {
                    if e.is_broken() {
                        broken.set(Some(catalogue_id()));
                    }
                    failed.set(Some(format!("Не удалось открыть каталог: {e}")));
                }
            }
            match sync.open_school(&unit).await {
                Ok(file) => screen.file.set(file),
                Err(e) => {
                    if e.is_broken() {
                        broken.set(Some(school_file_id(&unit)));
                    }
                    failed.set(Some(format!("Не удалось открыть файл школы: {e}")));
                }
            }
            screen.reread();
        });
    }
    super::recovery::reopen_when_recovered(app, move || broken.get_untracked());
    // Changes that came through sync.
    let school_version = sync.version(school_file_id(&unit));
    let catalogue_version = sync.version(catalogue_id());
    Effect::new(move |_| {
        school_version.track();
        catalogue_version.track();
        screen.reread();
    });
    let list_version = sync.list_version();
    Effect::new(move |_| {
        list_version.track();
        account.roadmaps.track();
        screen.reload_roadmaps();
    });

    let name = {
        let unit = unit.clone();
        // Never the unit's id: a school the person cannot see is «Школа».
        move || account.unit_name(&unit).unwrap_or_else(|| "Школа".to_owned())
    };
    document_title(&name());
    let municipality = {
        let unit = unit.clone();
        move || {
            account.session.with(|s| s.me().and_then(|me| parent_name(&me.units, &unit))).unwrap_or_default()
        }
    };
    let loaded = move || screen.school.with(Option::is_some) && screen.catalogue.with(Option::is_some);
    let signed_out = move || account.session.with(|s| s.me().is_none());
    // Signed in without a right to the school's file (another school's
    // link): said in words, as roadmap links do, instead of an empty file.
    let no_access = move || !signed_out() && right.get() == Right::None;
    view! {
        <section class="school-page" data-loaded=move || loaded().to_string()>
            <p class="crumbs"><a href="/schools">"← Все школы"</a></p>
            <h1>{text(name)}</h1>
            <p class="school-municipality hint">{text(municipality)}</p>
            <p class="note" hidden=move || !signed_out()>"Войдите, чтобы работать со школой: файл школы доступен её команде, кураторам и координаторам."</p>
            <p class="note warn no-access" role="alert" hidden=move || !no_access()>
                "Нет доступа к этой школе: её файл доступен её команде, кураторам и координаторам. "
                <a href="/">"К списку дорожных карт"</a>
            </p>
            {move || failed.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            {move || broken.get().map(|id| view! { <super::recovery::ReloadFromServer id /> })}
            <p class="empty" hidden=move || loaded() || failed.with(Option::is_some) || no_access()>"Загрузка…"</p>
            <p class="note warn problems" role="status" hidden=move || screen.problems.with(Vec::is_empty)>
                "Часть данных файла школы не прочитана: её записала другая программа не так, как ожидает приложение. Остальное открыто как обычно."
                <small class="details">{text(move || screen.problems.with(|p| p.join("; ")))}</small>
            </p>
            <div hidden=move || !loaded() || no_access()>
                <SchoolHead screen />
                <Participants screen />
                <Visits screen />
                <Risks screen />
                <Documents screen />
            </div>
        </section>
    }
}

#[component]
fn SchoolHead(screen: Screen) -> impl IntoView {
    let account = screen.app.account;
    let stage = move || screen.school.with(|s| s.as_ref().map(|s| s.stage).unwrap_or_default());
    let warning = move || {
        screen.school.with(|s| {
            screen.catalogue.with(|c| match (s, c) {
                (Some(s), Some(c)) => visit_warning(s, c, browser::today()).map(|w| warning_text(&w)),
                _ => None,
            })
        })
    };
    let last_visit = move || {
        screen.school.with(|s| {
            s.as_ref().and_then(|s| s.last_visit_by(browser::today())).map(ru::date).unwrap_or_default()
        })
    };
    let unit = screen.unit();
    let roadmaps = Memo::new(move |_| {
        let mut ids: Vec<String> = account
            .roadmaps
            .with(|r| r.values().filter(|r| r.roadmap.unit == unit).map(|r| r.roadmap.id.clone()).collect());
        ids.sort();
        ids
    });
    let set_stage = move |ev: leptos::ev::Event| {
        if let Some(stage) = Stage::from_key(&event_target_value(&ev))
            && screen.school.with_untracked(|s| s.as_ref().is_some_and(|s| s.stage != stage))
        {
            screen.apply(vec![SchoolEdit::SetStage(stage)], "set stage");
        }
    };
    view! {
        <section class="card school-head" aria-label="О школе">
            <div class="school-stage">
                <label hidden=move || !screen.can_write()>"Этап"
                    <select on:change=set_stage>
                        {Stage::ALL.into_iter().map(|s| view! {
                            <option value=s.key() selected=move || stage() == s>{s.label_ru()}</option>
                        }).collect_view()}
                    </select>
                </label>
                <p hidden=move || screen.can_write()>"Этап: " <strong>{text(move || stage().label_ru().to_owned())}</strong></p>
            </div>
            <SchoolSurvey screen />
            <p class="visit-warning note warn" role="status" hidden=move || warning().is_none()>
                {text(move || warning().unwrap_or_default())}
            </p>
            <p class="visit-ok hint" hidden=move || warning().is_some() || last_visit().is_empty()>
                "Последнее посещение: " {text(last_visit)}
            </p>
            <div class="school-roadmaps">
                <h2>"Дорожные карты школы"</h2>
                <p class="hint" hidden=move || !roadmaps.with(Vec::is_empty)>"На сервере пока нет дорожных карт этой школы."</p>
                <ul>
                    {move || roadmaps.get().into_iter().map(|id| {
                        let title = screen.roadmap_title(&id);
                        view! { <li><a href=super::route::Route::roadmap(&id)>{title}</a></li> }
                    }).collect_view()}
                </ul>
            </div>
        </section>
    }
}

/// The survey for the risk profile («анкетирование»): when it was
/// completed, and who marked it; anyone who writes the file marks it.
#[component]
fn SchoolSurvey(screen: Screen) -> impl IntoView {
    let app = screen.app;
    let survey = move || screen.school.with(|s| s.as_ref().and_then(|s| s.survey.clone()));
    let day = RwSignal::new(String::new());
    let state = move || match survey() {
        Some(s) => format!("завершено {} (отметил(а): {})", iso_ru(&s.on), s.by.name),
        None => "не завершено".to_owned(),
    };
    let mark = move |on: Option<String>| {
        let Some(me) = screen.me() else { return false };
        screen.apply(vec![SchoolEdit::SetSurvey { on, by: me }], "set survey")
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let on = day.get_untracked();
        if medk_shared::deadline::parse_iso(&on).is_none() {
            app.error("Укажите дату завершения анкетирования.".to_owned());
            return;
        }
        if mark(Some(on)) {
            app.info("Анкетирование отмечено завершённым");
        }
    };
    let unmark = move |_| {
        if mark(None) {
            app.info("Отметка об анкетировании снята");
        }
    };
    view! {
        <div class="school-survey" data-done=move || survey().is_some().to_string()>
            <p>"Анкетирование для РПШ: " <strong class="survey-state">{text(state)}</strong></p>
            <form class="survey-form" aria-label="Анкетирование" on:submit=submit
                hidden=move || !screen.can_write() || survey().is_some()>
                <label>"Дата завершения"
                    <input type="date" required prop:value=move || day.get()
                        on:input=move |ev| day.set(event_target_value(&ev)) />
                </label>
                <button type="submit">"Отметить завершённым"</button>
            </form>
            <button type="button" on:click=unmark hidden=move || !screen.can_write() || survey().is_none()>
                "Снять отметку"
            </button>
        </div>
    }
}

// ---- participants --------------------------------------------------------

#[component]
fn Participants(screen: Screen) -> impl IntoView {
    let app = screen.app;
    let account = app.account;
    let assignment =
        move || screen.school.with(|s| s.as_ref().map(|s| s.assignment.clone()).unwrap_or_default());
    let unit = screen.unit();
    let can_assign = move || screen.powers.get().assign;
    let editing = RwSignal::new(false);
    let people: RwSignal<Option<Result<Vec<Person>, String>>> = RwSignal::new(None);
    let curator = RwSignal::new(String::new());
    let coordinator = RwSignal::new(String::new());
    let open_form = move |_| {
        let current = assignment();
        curator.set(current.curator.map(|p| p.id).unwrap_or_default());
        coordinator.set(current.coordinator.map(|p| p.id).unwrap_or_default());
        editing.set(true);
        people.set(None);
        leptos::task::spawn_local(async move {
            let answer = crate::api::call(&medk_shared::api::ListPeople, &()).await;
            people.set(Some(answer.map(|p| p.people).map_err(say)));
        });
    };
    let candidates = {
        let unit = unit.clone();
        move |role: Role| -> Vec<Person> {
            let org = account.org();
            let all: Vec<Person> = people.with(|p| match p {
                Some(Ok(list)) => list.iter().filter(|p| p.role == role && !p.disabled).cloned().collect(),
                _ => Vec::new(),
            });
            let near: Vec<Person> = all
                .iter()
                .filter(|p| {
                    p.schools.contains(&unit)
                        || org.as_ref().is_some_and(|(org, _)| org.within(&unit, &p.unit))
                })
                .cloned()
                .collect();
            let mut list = if near.is_empty() { all } else { near };
            list.sort_by(|a, b| a.name.cmp(&b.name));
            list
        }
    };
    let save = {
        move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            let find = |id: String| -> Option<Person> {
                people.with_untracked(|p| match p {
                    Some(Ok(list)) => list.iter().find(|p| p.id == id).cloned(),
                    _ => None,
                })
            };
            let chosen_curator = find(curator.get_untracked());
            let chosen_coordinator = find(coordinator.get_untracked());
            let as_ref =
                |p: &Option<Person>| p.as_ref().map(|p| PersonRef { id: p.id.clone(), name: p.name.clone() });
            let edit = SchoolEdit::SetAssignment {
                curator: as_ref(&chosen_curator),
                coordinator: as_ref(&chosen_coordinator),
            };
            if !screen.apply(vec![edit], "set assignment") {
                return;
            }
            editing.set(false);
            // The curator's rights follow the file: the relay gives them
            // the school once it takes this change.
            if let Some(curator) = chosen_curator {
                app.info(format!("{} назначен(а) куратором школы", curator.name));
            }
        }
    };
    let name_of = |p: Option<PersonRef>| p.map(|p| p.name).unwrap_or_else(|| "не назначен".to_owned());
    let options = move |role: Role, selected: RwSignal<String>| {
        let candidates = candidates.clone();
        move || {
            candidates(role)
                .into_iter()
                .map(|p| {
                    let id = p.id.clone();
                    view! { <option value=p.id.clone() selected=move || selected.with(|s| *s == id)>{p.name.clone()}</option> }
                })
                .collect_view()
        }
    };
    view! {
        <section class="card participants" aria-labelledby="participants-title">
            <h2 id="participants-title">"Участники"</h2>
            <dl class="pairs">
                <dt>"Куратор"</dt>
                <dd class="curator">{text(move || name_of(assignment().curator))}</dd>
                <dt>"Муниципальный координатор"</dt>
                <dd class="coordinator">{text(move || name_of(assignment().coordinator))}</dd>
            </dl>
            <button hidden=move || !can_assign() || editing.get() on:click=open_form>"Изменить участников"</button>
            <form class="inline-form" aria-label="Участники школы" hidden=move || !editing.get() on:submit=save>
                <p class="hint wide" hidden=move || people.with(Option::is_some)>"Загрузка списка людей…"</p>
                {move || people.with(|p| match p {
                    Some(Err(e)) => Some(view! { <p class="error wide" role="alert">{e.clone()}</p> }),
                    _ => None,
                })}
                <label>"Куратор"
                    <select on:change=move |ev| curator.set(event_target_value(&ev))>
                        <option value="" selected=move || curator.with(String::is_empty)>"— не назначен —"</option>
                        {options(Role::Curator, curator)}
                    </select>
                </label>
                <label>"Муниципальный координатор"
                    <select on:change=move |ev| coordinator.set(event_target_value(&ev))>
                        <option value="" selected=move || coordinator.with(String::is_empty)>"— не назначен —"</option>
                        {options(Role::MunicipalCoordinator, coordinator)}
                    </select>
                </label>
                <div class="form-actions wide">
                    <button type="submit" class="primary" disabled=move || !matches!(people.get(), Some(Ok(_)))>"Сохранить участников"</button>
                    <button type="button" on:click=move |_| editing.set(false)>"Отмена"</button>
                </div>
            </form>
        </section>
    }
}

// ---- visits --------------------------------------------------------------

#[component]
fn Visits(screen: Screen) -> impl IntoView {
    let adding = RwSignal::new(false);
    let visits = move || {
        let mut list = screen.school.with(|s| s.as_ref().map(|s| s.visits.clone()).unwrap_or_default());
        list.reverse();
        list
    };
    let new_visit = move || Visit {
        id: browser::new_row_id(),
        date: browser::today().to_string(),
        purpose: String::new(),
        people_met: String::new(),
        findings: String::new(),
        recommendations: String::new(),
        evaluation: String::new(),
        author: screen.me().unwrap_or(PersonRef { id: String::new(), name: String::new() }),
    };
    view! {
        <section class="card visits" aria-labelledby="visits-title">
            <div class="card-head">
                <h2 id="visits-title">"Посещения"</h2>
                <button class="primary" hidden=move || !screen.can_curate() || adding.get()
                    on:click=move |_| adding.set(true)>"Новое посещение"</button>
            </div>
            <p class="hint visits-who" hidden=move || !screen.can_write() || screen.can_curate()>
                "Посещения записывают куратор и координаторы."
            </p>
            {move || adding.get().then(|| view! {
                <VisitForm screen visit=new_visit() label="Новое посещение" on_done=move || adding.set(false) />
            })}
            <p class="hint" hidden=move || screen.school.with(|s| s.as_ref().is_none_or(|s| !s.visits.is_empty()))>
                "Посещений пока не записано."
            </p>
            <ul class="entries visit-list">
                <For each=visits key=|v| format!("{v:?}") children=move |visit| view! { <VisitItem screen visit /> } />
            </ul>
        </section>
    }
}

#[component]
fn VisitItem(screen: Screen, visit: Visit) -> impl IntoView {
    let editing = RwSignal::new(false);
    let confirm = Confirm::new();
    let id = visit.id.clone();
    let delete = move || {
        if screen.apply(vec![SchoolEdit::DeleteVisit(id.clone())], "delete visit") {
            screen.app.info("Посещение удалено");
        }
    };
    let field = |label: &'static str, value: &str| {
        (!value.trim().is_empty()).then(|| view! { <dt>{label}</dt><dd>{value.to_owned()}</dd> })
    };
    let shown = visit.clone();
    let date = visit.date.clone();
    view! {
        <li class="visit" data-date=date>
            <div hidden=move || editing.get()>
                <h3>{iso_ru(&shown.date)} {(!shown.purpose.is_empty()).then(|| format!(" — {}", shown.purpose))}</h3>
                <dl class="pairs">
                    {field("С кем встречались", &shown.people_met)}
                    {field("Выводы", &shown.findings)}
                    {field("Рекомендации", &shown.recommendations)}
                    {field("Оценка результатов по дорожной карте школы", &shown.evaluation)}
                    {field("Записал(а)", &shown.author.name)}
                </dl>
                <div class="item-actions" hidden=move || !screen.can_curate()>
                    <button on:click=move |_| editing.set(true)>"Изменить"</button>
                    <ConfirmButton confirm label="Удалить" />
                </div>
                <ConfirmDialog confirm name="Подтверждение удаления" yes="Да, удалить" on_yes=delete>
                    <p>"Удалить запись о посещении?"</p>
                </ConfirmDialog>
            </div>
            {move || editing.get().then(|| view! {
                <VisitForm screen visit=visit.clone() label="Изменить посещение" on_done=move || editing.set(false) />
            })}
        </li>
    }
}

#[component]
fn VisitForm(
    screen: Screen,
    visit: Visit,
    label: &'static str,
    on_done: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let date = RwSignal::new(visit.date.clone());
    let purpose = RwSignal::new(visit.purpose.clone());
    let people_met = RwSignal::new(visit.people_met.clone());
    let findings = RwSignal::new(visit.findings.clone());
    let recommendations = RwSignal::new(visit.recommendations.clone());
    let evaluation = RwSignal::new(visit.evaluation.clone());
    let error = RwSignal::new(None::<String>);
    let first = NodeRef::<leptos::html::Input>::new();
    Effect::new(move |_| {
        if let Some(el) = first.get() {
            let _ = el.focus();
        }
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let day = date.get_untracked();
        if medk_shared::deadline::parse_iso(&day).is_none() {
            error.set(Some("Укажите дату посещения.".to_owned()));
            return;
        }
        let mut author = visit.author.clone();
        if author.id.is_empty()
            && let Some(me) = screen.me()
        {
            author = me;
        }
        let edited = Visit {
            id: visit.id.clone(),
            date: day,
            purpose: purpose.get_untracked().trim().to_owned(),
            people_met: people_met.get_untracked().trim().to_owned(),
            findings: findings.get_untracked().trim().to_owned(),
            recommendations: recommendations.get_untracked().trim().to_owned(),
            evaluation: evaluation.get_untracked().trim().to_owned(),
            author,
        };
        if screen.apply(vec![SchoolEdit::PutVisit(edited)], "record visit") {
            screen.app.info("Посещение сохранено");
            on_done();
        }
    };
    let area = |label: &'static str, value: RwSignal<String>| {
        view! {
            <label class="wide">{label}
                <textarea rows="3" prop:value=value on:input=move |ev| value.set(event_target_value(&ev))></textarea>
            </label>
        }
    };
    view! {
        <form class="inline-form visit-form" aria-label=label on:submit=submit
            on:keydown=move |ev| if ev.key() == "Escape" { on_done() }>
            <h3>{label}</h3>
            <label>"Дата"
                <input node_ref=first type="date" required=true prop:value=date on:input=move |ev| date.set(event_target_value(&ev)) />
            </label>
            <label>"Цель посещения"
                <input type="text" prop:value=purpose on:input=move |ev| purpose.set(event_target_value(&ev)) />
            </label>
            {area("С кем встречались", people_met)}
            {area("Выводы", findings)}
            {area("Рекомендации", recommendations)}
            {area("Оценка результатов по дорожной карте школы", evaluation)}
            {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            <div class="form-actions wide">
                <button type="submit" class="primary">"Сохранить посещение"</button>
                <button type="button" on:click=move |_| on_done()>"Отмена"</button>
            </div>
        </form>
    }
}

// ---- risk profile --------------------------------------------------------

#[component]
fn Risks(screen: Screen) -> impl IntoView {
    // Every factor offered now, and a retired one the school still has on.
    let factors = move || {
        screen.catalogue.with(|c| {
            let Some(c) = c else { return Vec::new() };
            c.factors
                .iter()
                .filter(|f| {
                    !f.retired
                        || screen.school.with(|s| {
                            s.as_ref().is_some_and(|s| s.risks.iter().any(|r| r.factor == f.id && r.active))
                        })
                })
                .map(|f| (f.id.clone(), f.title.clone(), f.retired))
                .collect::<Vec<_>>()
        })
    };
    view! {
        <section class="card risks" aria-labelledby="risks-title">
            <h2 id="risks-title">"Рисковый профиль школы"</h2>
            <p class="hint">"Отметьте факторы риска, актуальные для школы, и для каждого — антирисковую программу."</p>
            <div class="risk-list">
                <For each=factors key=|f| f.clone() children=move |(id, title, retired)| view! {
                    <RiskFactor screen id title retired />
                } />
            </div>
        </section>
    }
}

/// One risk factor's entry in the school file, and how to change it.
#[derive(Clone, Copy)]
struct RiskRow {
    screen: Screen,
    factor: StoredValue<String>,
    risk: Memo<Option<Risk>>,
}

impl RiskRow {
    fn new(screen: Screen, factor: String) -> RiskRow {
        let risk = {
            let id = factor.clone();
            Memo::new(move |_| {
                screen
                    .school
                    .with(|s| s.as_ref().and_then(|s| s.risks.iter().find(|r| r.factor == id).cloned()))
            })
        };
        RiskRow { screen, factor: StoredValue::new(factor), risk }
    }

    fn active(self) -> bool {
        self.risk.with(|r| r.as_ref().is_some_and(|r| r.active))
    }

    fn note(self) -> String {
        self.risk.with(|r| r.as_ref().map(|r| r.note.clone()).unwrap_or_default())
    }

    fn programme(self) -> Option<DocumentId> {
        self.risk.with(|r| r.as_ref().and_then(|r| r.programme))
    }

    /// Writes the entry changed by `change` (made, if the file has none).
    fn set(self, change: impl FnOnce(&mut Risk)) {
        let mut r = self.risk.get_untracked().unwrap_or(Risk {
            factor: self.factor.get_value(),
            active: false,
            programme: None,
            note: String::new(),
        });
        change(&mut r);
        let edit =
            SchoolEdit::SetRisk { factor: r.factor, active: r.active, programme: r.programme, note: r.note };
        self.screen.apply(vec![edit], "set risk");
    }

    /// A note as typed (kept as it is typed: a tab closed or killed before
    /// the field loses focus keeps it), or trimmed once it does.
    fn set_note(self, text: String) {
        if text != self.note() {
            self.set(|r| r.note = text);
        }
    }
}

#[component]
fn RiskFactor(screen: Screen, id: String, title: String, retired: bool) -> impl IntoView {
    let row = RiskRow::new(screen, id.clone());
    let active = move || row.active();
    let note = move || row.note();
    let note_id = format!("risk-note-{id}");
    view! {
        <fieldset class="risk" class:active=active data-factor=id.clone()>
            <legend>{title.clone()}{retired.then_some(" (исключён из каталога)")}</legend>
            <label class="check" hidden=move || !screen.can_write()>
                <input type="checkbox" prop:checked=active on:change=move |ev| {
                    let on = event_target_checked(&ev);
                    row.set(|r| r.active = on);
                } />
                "Актуален для школы"
            </label>
            <p hidden=move || screen.can_write()>{text(move || if active() { "Актуален для школы".into() } else { "Не актуален".into() })}</p>
            <label hidden=move || !screen.can_write() || (!active() && note().is_empty())>"Примечание"
                <textarea id=note_id rows="2" prop:value=note
                    on:input=move |ev| row.set_note(event_target_value(&ev))
                    on:change=move |ev| row.set_note(event_target_value(&ev).trim().to_owned())></textarea>
            </label>
            <p class="hint" hidden=move || screen.can_write() || note().is_empty()>{text(note)}</p>
            <RiskProgramme row title />
        </fieldset>
    }
}

/// An active factor's anti-risk programme: chosen among the school's
/// roadmaps, opened, or made new.
#[component]
fn RiskProgramme(row: RiskRow, title: String) -> impl IntoView {
    let screen = row.screen;
    let programme = move || row.programme();
    let creating = RwSignal::new(false);
    let choices = move || {
        let mut list = screen.roadmaps.get();
        if let Some(p) = programme().map(|p| p.to_string())
            && !list.iter().any(|(id, _)| *id == p)
        {
            let title = screen.roadmap_title(&p);
            list.push((p, title));
        }
        list
    };
    view! {
        <div class="programme" hidden=move || !row.active()>
            <label hidden=move || !screen.can_write()>"Антирисковая программа"
                <select on:change=move |ev| {
                    let chosen = DocumentId::parse(&event_target_value(&ev)).ok();
                    row.set(|r| r.programme = chosen);
                }>
                    <option value="" selected=move || programme().is_none()>"— не выбрана —"</option>
                    {move || choices().into_iter().map(|(id, title)| {
                        let selected = programme().is_some_and(|p| p.to_string() == id);
                        view! { <option value=id selected=selected>{title}</option> }
                    }).collect_view()}
                </select>
            </label>
            {move || programme().map(|p| {
                let id = p.to_string();
                let title = screen.roadmap_title(&id);
                view! { <a class="button" href=super::route::Route::roadmap(&id)>"Открыть программу: " {title}</a> }
            })}
            <button hidden=move || !screen.can_write() || programme().is_some() disabled=creating
                on:click=move |_| create_programme(row, &title, creating)>"Создать программу"</button>
            <p class="hint" hidden=move || screen.can_write() || programme().is_some()>"Программа не выбрана."</p>
        </div>
    }
}

/// Makes a new roadmap as the factor's programme, for the school (not for
/// the unit of whoever made it), and chooses it.
fn create_programme(row: RiskRow, factor_title: &str, creating: RwSignal<bool>) {
    if creating.get_untracked() {
        return;
    }
    creating.set(true);
    let (screen, app) = (row.screen, row.screen.app);
    let level = medk_shared::access::Level::School;
    let new = medk_shared::doc::NewRoadmap {
        title: format!("Антирисковая программа: {factor_title}"),
        level,
        territory: app.account.unit_name(&screen.unit()).unwrap_or_default(),
        year: Some(browser::today().year()),
        columns: level.default_columns(),
    };
    let storage = app.storage();
    leptos::task::spawn_local(async move {
        match crate::document::OpenRoadmap::create(&storage, &new, &app.account.person_id()).await {
            Ok(id) => {
                let me = app
                    .account
                    .session
                    .with_untracked(|s| s.me().map(|me| (me.person.id.clone(), me.person.unit.clone())));
                if let Some((me, home)) = me
                    && home != screen.unit()
                {
                    crate::placing::remember(id, &screen.unit(), &me);
                }
                app.sync().track(id);
                row.set(|r| r.programme = Some(id));
                screen.reload_roadmaps();
                app.info(format!("Создана «{}»", new.title));
            }
            Err(e) => app.error(format!("Не удалось создать программу: {e}")),
        }
        creating.set(false);
    });
}

// ---- documents -----------------------------------------------------------

#[component]
fn Documents(screen: Screen) -> impl IntoView {
    let blobs = expect_context::<Blobs>();
    let kinds = move || {
        screen.school.with(|s| {
            screen.catalogue.with(|c| match (s, c) {
                (Some(s), Some(c)) => c.document_kinds(s.stage),
                _ => Vec::new(),
            })
        })
    };
    view! {
        <section class="card documents" aria-labelledby="documents-title">
            <h2 id="documents-title">"Документы"</h2>
            <p class="hint">"Школа прикладывает файл (до 25 МБ), куратор подтверждает его или возвращает на доработку с замечаниями."</p>
            <p class="note" role="status" hidden=move || blobs.pending() == 0>
                {text(move || format!("Файлов на этом устройстве, ещё не принятых сервером: {}", blobs.pending()))}
            </p>
            <For each=kinds key=|k| *k children=move |kind| view! { <DocumentBlock screen kind /> } />
        </section>
    }
}

#[component]
fn DocumentBlock(screen: Screen, kind: DocumentKind) -> impl IntoView {
    let app = screen.app;
    let blobs = expect_context::<Blobs>();
    let doc = Memo::new(move |_| {
        screen.school.with(|s| s.as_ref().and_then(|s| s.current_document(kind).cloned()))
    });
    let state = move || doc.with(|d| d.as_ref().and_then(FiledDocument::state));
    let file = move || doc.with(|d| d.as_ref().and_then(|d| d.file.clone()));
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let returning = RwSignal::new(false);
    let remarks = RwSignal::new(String::new());
    let attach = move |ev: leptos::ev::Event| attach_file(screen, blobs, kind, busy, error, ev);
    let decide = move |decision: Decision, text: String| {
        let (Some(d), Some(me)) = (doc.get_untracked(), screen.me()) else { return false };
        screen.apply(vec![school_actions::decide(d.id, decision, text, &me)], "review document")
    };
    let confirm = move |_| {
        if decide(Decision::Confirmed, String::new()) {
            app.info("Документ подтверждён");
        }
    };
    let send_back = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let text = remarks.get_untracked().trim().to_owned();
        if text.is_empty() {
            error.set(Some("Напишите замечания: что нужно доработать.".to_owned()));
            return;
        }
        error.set(None);
        if decide(Decision::Returned, text) {
            remarks.set(String::new());
            returning.set(false);
            app.info("Документ возвращён на доработку");
        }
    };
    let fetch = move |blob: Blob| fetch_file(screen, blobs, blob);
    let download = move |_| {
        if let Some(blob) = file() {
            fetch(blob);
        }
    };
    let can_judge = move || screen.can_curate() && state() == Some(Decision::Submitted);
    let on_server = watch_on_server(screen, blobs, can_judge, file);
    let may_confirm = move || can_judge() && on_server.get() == Some(OnServer::Yes);
    let not_confirmable = move || match (can_judge(), on_server.get()) {
        (true, Some(OnServer::No)) => Some(
            "Файла нет на сервере: его нельзя скачать и подтвердить. Подтвердить можно, когда школа отправит его (или приложит снова).",
        ),
        (true, Some(OnServer::Unknown)) => Some(
            "Нет связи с сервером: подтвердить можно файл, открытый на этом устройстве, или когда связь появится.",
        ),
        _ => None,
    };
    let state_key = move || state().map(|s| s.key()).unwrap_or("none");
    let title_id = format!("doc-{}", kind.key());
    let labelled_by = title_id.clone();
    view! {
        <article class="filed" data-kind=kind.key() aria-labelledby=labelled_by>
            <h3 id=title_id>{kind.label_ru()}</h3>
            <p class="doc-state" data-state=state_key>
                {text(move || state().map(|s| decision_ru(s).to_owned()).unwrap_or_else(|| "Не подан".to_owned()))}
            </p>
            {move || file().map(|f| view! {
                <p class="doc-file">
                    <span class="file-name">{f.name.clone()}</span>" "
                    <span class="hint">"(" {size_label(f.size)} ")"</span>" "
                    <button on:click=download>"Скачать"</button>
                </p>
            })}
            <UploadNote blobs file=Signal::derive(file) />
            <ReviewLog screen doc blobs />
            {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            {move || not_confirmable().map(|why| view! { <p class="note warn not-confirmable" role="status">{why}</p> })}
            <div class="item-actions">
                <label class="button file-button" class:busy=busy hidden=move || !screen.can_write()>
                    {text(move || match (busy.get(), file().is_some()) {
                        (true, _) => "Сохраняем файл…".to_owned(),
                        (false, false) => "Приложить файл".to_owned(),
                        (false, true) => "Приложить новую версию".to_owned(),
                    })}
                    <input type="file" class="visually-hidden" disabled=busy on:change=attach />
                </label>
                <button class="primary" hidden=move || !can_judge() disabled=move || !may_confirm() on:click=confirm>"Подтвердить"</button>
                <button hidden=move || !can_judge() || returning.get() on:click=move |_| returning.set(true)>"Вернуть на доработку"</button>
            </div>
            <form class="inline-form return-form" aria-label="Вернуть на доработку" hidden=move || !returning.get() || !can_judge()
                on:submit=send_back>
                <label class="wide">"Замечания"
                    <textarea rows="3" required=true prop:value=remarks on:input=move |ev| remarks.set(event_target_value(&ev))></textarea>
                </label>
                <div class="form-actions wide">
                    <button type="submit" class="danger">"Вернуть с замечаниями"</button>
                    <button type="button" on:click=move |_| returning.set(false)>"Отмена"</button>
                </div>
            </form>
        </article>
    }
}

/// Whether the file under review is on the server, asked again whenever it
/// changes while it may be judged: a reviewer confirms only a file others
/// can download (one attached offline and then refused by the server, the
/// school's space being full, is on the school's device alone).
fn watch_on_server(
    screen: Screen,
    blobs: Blobs,
    can_judge: impl Fn() -> bool + Copy + 'static,
    file: impl Fn() -> Option<Blob> + Copy + 'static,
) -> RwSignal<Option<OnServer>> {
    let on_server = RwSignal::new(None::<OnServer>);
    Effect::new(move |_| {
        on_server.set(None);
        let (true, Some(f)) = (can_judge(), file()) else { return };
        let unit = screen.unit();
        leptos::task::spawn_local(async move {
            let found = blobs.on_server(&f.address, &unit).await;
            // Still the same file when the answer comes.
            if file().is_some_and(|now| now.address == f.address) {
                on_server.set(Some(found));
            }
        });
    });
    on_server
}

/// Files the file picked in `ev` as the school's new document of `kind`:
/// kept on the device, sent to the server when online (a refusal then
/// files nothing), and named in the school's file.
fn attach_file(
    screen: Screen,
    blobs: Blobs,
    kind: DocumentKind,
    busy: RwSignal<bool>,
    error: RwSignal<Option<String>>,
    ev: leptos::ev::Event,
) {
    let app = screen.app;
    let Some(input) = ev.target().and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok()) else {
        return;
    };
    let Some(picked) = input.files().and_then(|f| f.get(0)) else { return };
    input.set_value("");
    error.set(None);
    if let Err(e) = check_size(picked.size() as u64) {
        error.set(Some(e.to_string()));
        return;
    }
    let Some(me) = screen.me() else {
        error.set(Some("Войдите, чтобы приложить файл.".to_owned()));
        return;
    };
    busy.set(true);
    let unit = screen.unit();
    leptos::task::spawn_local(async move {
        let result = async {
            let bytes =
                browser::read_file(&picked).await.map_err(|e| format!("Не удалось прочитать файл: {e}"))?;
            let blob =
                blobs.put(bytes, &picked.name(), &picked.type_(), &unit).await.map_err(|e| e.to_string())?;
            // Online, a refusal is known before the document is filed.
            let sent = blobs.send_now(&blob.address, &unit).await.map_err(|why| {
                format!("Сервер не принял файл: {}. Документ не подан.", why.trim_end_matches('.'))
            })?;
            let edits = screen
                .school
                .with_untracked(|s| {
                    s.as_ref()
                        .map(|s| school_actions::file_document(s, kind, blob, &me, browser::new_row_id()))
                })
                .ok_or_else(|| "Файл школы ещё не открыт.".to_owned())?;
            if screen.apply(edits, "file document") {
                Ok(sent)
            } else {
                Err("Файл не записан.".to_owned())
            }
        }
        .await;
        busy.set(false);
        match result {
            Ok(true) => app.info(format!("Файл приложен и отправлен на сервер: {}", kind.label_ru())),
            Ok(false) => app.info(format!(
                "Файл приложен: {}. Он отправится на сервер, когда появится связь.",
                kind.label_ru()
            )),
            Err(e) => error.set(Some(e)),
        }
    });
}

/// Downloads a file the page names (the current one, or an earlier version
/// from the log): fetched as the current one is, under the same rights.
fn fetch_file(screen: Screen, blobs: Blobs, blob: Blob) {
    let app = screen.app;
    let unit = screen.unit();
    leptos::task::spawn_local(async move {
        match blobs.get(&blob.address, &unit).await {
            Ok(bytes) => browser::download(&blob.name, &blob.mime, &bytes),
            Err(e) => app.error(e.to_string()),
        }
    });
}

/// Where the current file of a document is on its way to the server.
#[component]
fn UploadNote(blobs: Blobs, file: Signal<Option<Blob>>) -> impl IntoView {
    let upload = move || file.get().and_then(|f| blobs.state(&f.address));
    let current_address = move || file.get().map(|f| f.address).unwrap_or_default();
    view! {
        {move || upload().map(|u| match u {
            UploadState::Queued => view! {
                <p class="upload-state hint" data-state="queued">"В очереди на отправку на сервер"</p>
            }.into_any(),
            UploadState::Uploaded => view! {
                <p class="upload-state hint" data-state="uploaded">"Отправлен на сервер"</p>
            }.into_any(),
            UploadState::Refused(reason) => {
                let address = current_address();
                view! {
                    <p class="upload-state error" data-state="refused">"Сервер не принял файл: " {reason}
                        " " <button on:click=move |_| blobs.retry(&address)>"Повторить"</button></p>
                }.into_any()
            }
        })}
    }
}

/// «Журнал проверки» of a document: every decision, with the file it was on.
#[component]
fn ReviewLog(screen: Screen, doc: Memo<Option<FiledDocument>>, blobs: Blobs) -> impl IntoView {
    let file = move || doc.with(|d| d.as_ref().and_then(|d| d.file.clone()));
    let current_address = move || file().map(|f| f.address).unwrap_or_default();
    let fetch = move |blob: Blob| fetch_file(screen, blobs, blob);
    let logged = move |address: &str| {
        let id = doc.with_untracked(|d| d.as_ref().map(|d| d.id.clone()))?;
        screen.logged.with(|all| {
            let (_, files) = all.iter().find(|(document, _)| *document == id)?;
            files.iter().find(|f| f.address == address).cloned()
        })
    };
    let reviews = move || doc.with(|d| d.as_ref().map(|d| d.reviews.clone()).unwrap_or_default());
    view! {
        <table class="review-log" hidden=move || reviews().is_empty()>
            <caption>"Журнал проверки"</caption>
            <thead><tr>
                <th scope="col">"Решение"</th><th scope="col">"Файл"</th><th scope="col">"Замечания"</th>
                <th scope="col">"Кто"</th><th scope="col">"Когда"</th>
            </tr></thead>
            <tbody>
                {move || {
                    let current = current_address();
                    reviews().into_iter().map(|r| {
                        let older = !r.file.is_empty() && r.file != current;
                        let when = crate::browser::local_time(r.at_ms as f64);
                        let judged = logged(&r.file).map(|blob| {
                            let label = format!("Скачать «{}» ({}, {when})", blob.name, decision_ru(r.decision));
                            view! {
                                <span class="logged-name">{blob.name.clone()}</span>" "
                                <button class="log-download" aria-label=label on:click=move |_| fetch(blob.clone())>
                                    "Скачать"
                                </button>
                            }
                        });
                        view! {
                            <tr data-decision=r.decision.key() class:older=older>
                                <td data-label="Решение">{decision_ru(r.decision)}{older.then_some(" (предыдущая версия файла)")}</td>
                                <td data-label="Файл" class="log-file">{judged}</td>
                                <td data-label="Замечания">{r.remarks}</td>
                                <td data-label="Кто">{r.by.name}</td>
                                <td data-label="Когда">{when.clone()}</td>
                            </tr>
                        }
                    }).collect_view()
                }}
            </tbody>
        </table>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_read_day_first() {
        assert_eq!(iso_ru("2021-03-10"), "10.03.2021");
        assert_eq!(iso_ru("вчера"), "вчера");
    }
}
