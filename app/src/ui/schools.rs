//! «Школы» (`/schools`): the participants table of the project — one row
//! per school the person sees, with its municipality, curator, municipal
//! coordinator, stage, last visit and visit warning — read from the
//! schools' files (opened, and so synced, as the table is shown).

use super::kit::{ctx, document_title, parent_name, text, warning_text};
use crate::files::OpenFile;
use leptos::prelude::*;
use medk_shared::access::{Level, Unit};
use medk_shared::catalogue::{Catalogue, catalogue_id};
use medk_shared::monitoring::visit_warning;
use medk_shared::school::{School, school_file_id};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

/// One row of the table.
#[derive(Clone, PartialEq)]
struct Row {
    unit: String,
    name: String,
    municipality: String,
    curator: String,
    coordinator: String,
    stage: String,
    last_visit: String,
    warning: Option<String>,
    /// The school's file is read and its stage has a visit schedule.
    on_schedule: bool,
    /// The school's file is read (until then the cells are empty).
    loaded: bool,
}

fn row(unit: &Unit, units: &[Unit], school: Option<&School>, catalogue: Option<&Catalogue>) -> Row {
    let today = crate::browser::today();
    let name_of =
        |p: &Option<medk_shared::school::PersonRef>| p.as_ref().map(|p| p.name.clone()).unwrap_or_default();
    Row {
        unit: unit.id.clone(),
        name: unit.name.clone(),
        municipality: parent_name(units, &unit.id).unwrap_or_default(),
        curator: school.map(|s| name_of(&s.assignment.curator)).unwrap_or_default(),
        coordinator: school.map(|s| name_of(&s.assignment.coordinator)).unwrap_or_default(),
        stage: school.map(|s| s.stage.label_ru().to_owned()).unwrap_or_default(),
        last_visit: school
            .and_then(|s| s.last_visit_by(today))
            .map(medk_shared::ru::date)
            .unwrap_or_default(),
        warning: match (school, catalogue) {
            (Some(s), Some(c)) => visit_warning(s, c, today).map(|w| warning_text(&w)),
            _ => None,
        },
        loaded: school.is_some(),
        on_schedule: match (school, catalogue) {
            (Some(s), Some(c)) => c.rules(s.stage).visit_every_days.is_some(),
            _ => false,
        },
    }
}

#[component]
pub fn SchoolsPage() -> impl IntoView {
    let app = ctx();
    let account = app.account;
    let sync = app.sync();
    document_title("Школы");
    let units =
        Memo::new(move |_| account.session.with(|s| s.me().map(|me| me.units.clone()).unwrap_or_default()));
    let schools = Memo::new(move |_| {
        let mut list: Vec<Unit> = units.get().into_iter().filter(|u| u.level == Level::School).collect();
        list.sort_by(|a, b| a.name.cmp(&b.name));
        list
    });
    let files: StoredValue<HashMap<String, Rc<RefCell<OpenFile>>>, LocalStorage> =
        StoredValue::new_local(HashMap::new());
    let catalogue_file: StoredValue<Option<Rc<RefCell<OpenFile>>>, LocalStorage> =
        StoredValue::new_local(None);
    let rows: RwSignal<Vec<Row>> = RwSignal::new(Vec::new());
    let loading = RwSignal::new(true);
    let reread = move || {
        let catalogue =
            catalogue_file.get_value().and_then(|f| f.try_borrow().ok().and_then(|f| f.catalogue()));
        let all = units.get_untracked();
        let list: Vec<Row> = schools
            .get_untracked()
            .iter()
            .map(|unit| {
                let school = files.with_value(|f| {
                    f.get(&unit.id).and_then(|file| file.try_borrow().ok().and_then(|f| f.school()))
                });
                row(unit, &all, school.as_ref(), catalogue.as_ref())
            })
            .collect();
        if rows.with_untracked(|r| *r != list) {
            rows.set(list);
        }
    };
    // Opens every school's file the person sees (and so syncs it).
    Effect::new({
        let sync = sync.clone();
        move |_| {
            let list = schools.get();
            let sync = sync.clone();
            loading.set(true);
            leptos::task::spawn_local(async move {
                if catalogue_file.with_value(Option::is_none)
                    && let Ok(file) = sync.open_catalogue().await
                {
                    catalogue_file.set_value(Some(file));
                }
                for unit in list {
                    if files.with_value(|f| f.contains_key(&unit.id)) {
                        continue;
                    }
                    if let Ok(file) = sync.open_school(&unit.id).await {
                        files.update_value(|f| {
                            f.insert(unit.id.clone(), file);
                        });
                        reread();
                    }
                }
                loading.set(false);
                reread();
            });
        }
    });
    // Changes that came through sync.
    Effect::new({
        let sync = sync.clone();
        move |_| {
            sync.version(catalogue_id()).track();
            for unit in schools.get() {
                sync.version(school_file_id(&unit.id)).track();
            }
            reread();
        }
    });
    let signed_in = move || account.session.with(|s| s.me().is_some());
    let cell = |label: &'static str, value: String| view! { <td data-label=label>{value}</td> };
    view! {
        <section class="schools-page">
            <h1>"Школы"</h1>
            <p class="empty" hidden=signed_in>"Войдите, чтобы увидеть школы проекта. " <a href="/login">"Войти"</a></p>
            <p class="empty" hidden=move || !signed_in() || !schools.with(Vec::is_empty)>"Вам пока не видна ни одна школа."</p>
            <p class="hint" role="status">{text(move || if loading.get() && !schools.with(Vec::is_empty) { "Загрузка…".to_owned() } else { String::new() })}</p>
            <div class="table-wrap" hidden=move || rows.with(Vec::is_empty)>
                <table class="participants-table">
                    <caption>"Участники проекта"</caption>
                    <thead>
                        <tr>
                            <th scope="col">"Школа"</th>
                            <th scope="col">"Муниципалитет"</th>
                            <th scope="col">"Куратор"</th>
                            <th scope="col">"Муниципальный координатор"</th>
                            <th scope="col">"Этап"</th>
                            <th scope="col">"Последнее посещение"</th>
                            <th scope="col">"Посещения"</th>
                        </tr>
                    </thead>
                    <tbody>
                        {move || rows.get().into_iter().map(|r| {
                            let late = r.warning.is_some();
                                let nobody = if r.loaded { "не назначен" } else { "" };
                            view! {
                                <tr data-unit=r.unit.clone() class:late=late>
                                    <th scope="row" data-label="Школа"><a href=super::route::Route::school(&r.unit)>{r.name}</a></th>
                                    {cell("Муниципалитет", r.municipality)}
                                    {cell("Куратор", if r.curator.is_empty() { nobody.into() } else { r.curator })}
                                    {cell("Муниципальный координатор", if r.coordinator.is_empty() { nobody.into() } else { r.coordinator })}
                                    {cell("Этап", r.stage)}
                                    {cell("Последнее посещение", if r.last_visit.is_empty() { "—".into() } else { r.last_visit })}
                                    {cell("Посещения", match (r.warning, r.on_schedule) {
                                        (Some(w), _) => w,
                                        (None, true) => "по графику".into(),
                                        (None, false) => "—".into(),
                                    })}
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
        </section>
    }
}
