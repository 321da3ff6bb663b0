//! The editor's «Доступ» panel, for people who manage the roadmap's unit:
//! which unit it belongs to, whether it is published, explicit rights of
//! single people that replace the defaults, and deleting it for everyone.

use super::kit::{Confirm, ConfirmButton, ConfirmDialog, ctx, say, text};
use crate::api::{self, ApiError};
use leptos::prelude::*;
use medk_shared::access::{Level, Person, Right, Unit};
use medk_shared::api::{
    Access, AccessChange, ClearGrant, DeleteRoadmap, GetAccess, GrantRight, ListPeople, RoadmapRight,
    SetGrant, UpdateAccess,
};
use medk_shared::ids::DocumentId;

/// A change made in the panel.
enum Change {
    Access(AccessChange),
    Grant { user: String, right: Right },
    Clear { user: String },
}

/// Sends a change; each answers with the roadmap's access as it now is.
async fn send(id: DocumentId, change: Change) -> Result<Access, ApiError> {
    let id = id.to_string();
    match change {
        Change::Access(body) => api::call(&UpdateAccess { id }, &body).await,
        Change::Grant { user, right } => api::call(&SetGrant { id, user }, &GrantRight { right }).await,
        Change::Clear { user } => api::call(&ClearGrant { id, user }, &()).await,
    }
}

const RIGHTS: [Right; 3] = [Right::Read, Right::Write, Right::None];

#[component]
pub fn AccessPanel(id: DocumentId) -> impl IntoView {
    let app = ctx();
    let account = app.account;
    let access: RwSignal<Option<Result<Access, String>>> = RwSignal::new(None);
    let people = RwSignal::new(Vec::<Person>::new());
    {
        leptos::task::spawn_local(async move {
            let answer = api::call(&GetAccess { id: id.to_string() }, &()).await.map_err(|e| match e {
                e if e.is_status(404) => {
                    "Этой дорожной карты ещё нет на сервере: она появится там после первой синхронизации."
                        .to_owned()
                }
                e => say(e),
            });
            access.set(Some(answer));
            if let Ok(list) = api::call(&ListPeople, &()).await {
                people.set(list.people);
            }
        });
    }
    // Every change answers with the roadmap's access as it now is.
    let change = move |change: Change| {
        leptos::task::spawn_local(async move {
            match send(id, change).await {
                Ok(a) => {
                    let title = account.roadmap(&id.to_string()).map(|r| r.title).unwrap_or_default();
                    account.update_roadmap(RoadmapRight { roadmap: a.roadmap.clone(), title });
                    access.set(Some(Ok(a)));
                }
                Err(e) => {
                    app.error(format!("Доступ не изменён: {}", say(e.clone())));
                    if matches!(e, ApiError::Status { .. }) {
                        account.refresh_roadmaps();
                    }
                }
            }
        });
    };
    view! {
        <section class="access card" aria-labelledby="access-title">
            <h2 id="access-title">"Доступ"</h2>
            <p class="hint" role="status">{text(move || access.with(|a| match a {
                None => "Загрузка…".to_owned(),
                Some(Err(e)) => e.clone(),
                Some(Ok(_)) => String::new(),
            }))}</p>
            <div hidden=move || !access.with(|a| matches!(a, Some(Ok(_))))>
                <Placement access change />
                <Grants access people change />
                <DeleteForEveryone id />
            </div>
            <p class="hint" hidden=move || !account.session.with(|s| s.me().is_some_and(|me| me.manages))>
                <a href="/people">"Люди и доступ"</a>" — приглашения и люди ваших организаций."
            </p>
        </section>
    }
}

/// The roadmap's access once loaded (`None` before, or when it failed).
type Loaded = RwSignal<Option<Result<Access, String>>>;

/// A field of the loaded access, empty before it is.
fn loaded_field(access: Loaded, f: fn(&Access) -> String) -> String {
    access.with(|a| a.as_ref().and_then(|a| a.as_ref().ok()).map(f).unwrap_or_default())
}

/// Which unit the roadmap belongs to, and whether it is published.
#[component]
fn Placement(access: Loaded, change: impl Fn(Change) + Copy + Send + Sync + 'static) -> impl IntoView {
    let account = ctx().account;
    let unit = Signal::derive(move || loaded_field(access, |a| a.roadmap.unit.clone()));
    // The units it may move to; the current one even if not among them.
    let units = Signal::derive(move || {
        let current = unit.get();
        let mut units = account.managed_units();
        if !current.is_empty() && !units.iter().any(|(u, _)| u.id == current) {
            let name = account.unit_name(&current).unwrap_or_else(|| current.clone());
            units.insert(0, (Unit { id: current, parent: None, level: Level::School, name }, 0));
        }
        units
    });
    view! {
        <div class="access-grid">
            <label>"Организация"
                <select on:change=move |ev| {
                    let unit = Some(event_target_value(&ev));
                    change(Change::Access(AccessChange { unit, ..Default::default() }));
                }>
                    {super::kit::unit_options(units, unit)}
                </select>
            </label>
            <label class="check">
                <input type="checkbox" prop:checked=move || access.with(|a| matches!(a, Some(Ok(a)) if a.roadmap.published))
                    on:change=move |ev| {
                        let published = Some(event_target_checked(&ev));
                        change(Change::Access(AccessChange { published, ..Default::default() }));
                    } />
                "Опубликована"
            </label>
        </div>
        <p class="hint">"Опубликованную дорожную карту читают наблюдатели и организации ниже по дереву. "
            "Без особых прав координаторы редактируют дорожные карты своей организации и читают карты организаций ниже, "
            "кураторы и команды школ — карты своих школ."</p>
    }
}

/// Explicit rights of single people: the list, and a form to add one.
#[component]
fn Grants(
    access: Loaded,
    people: RwSignal<Vec<Person>>,
    change: impl Fn(Change) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let grants = move || {
        access
            .with(|a| a.as_ref().and_then(|a| a.as_ref().ok()).map(|a| a.grants.clone()))
            .unwrap_or_default()
    };
    view! {
        <h3>"Особые права"</h3>
        <p class="hint" hidden=move || !grants().is_empty()>"Нет: действуют права по умолчанию."</p>
        <ul class="entries">
            {move || grants().into_iter().map(|g| {
                let (user, user2) = (g.user.clone(), g.user.clone());
                let who = format!("{} ({})", g.name, g.login);
                view! {
                    <li class="entry">
                        <p>{who.clone()}</p>
                        <select aria-label=format!("Право: {who}") on:change=move |ev| {
                            if let Some(right) = Right::parse(&event_target_value(&ev)) {
                                change(Change::Grant { user: user.clone(), right });
                            }
                        }>
                            {rights_options(g.right)}
                        </select>
                        <button on:click=move |_| change(Change::Clear { user: user2.clone() })>"Вернуть по умолчанию"</button>
                    </li>
                }
            }).collect_view()}
        </ul>
        <AddGrant people granted=Signal::derive(move || grants().into_iter().map(|g| g.user).collect()) change />
    }
}

/// Picks a person without an explicit right and the right to give them.
#[component]
fn AddGrant(
    people: RwSignal<Vec<Person>>,
    granted: Signal<Vec<String>>,
    change: impl Fn(Change) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let new_person = RwSignal::new(String::new());
    let new_right = RwSignal::new(Right::Read);
    view! {
        <form class="inline-form" aria-label="Добавить особое право" on:submit=move |ev| {
            ev.prevent_default();
            let user = new_person.get_untracked();
            if !user.is_empty() {
                change(Change::Grant { user, right: new_right.get_untracked() });
                new_person.set(String::new());
            }
        }>
            <label>"Человек"
                <select on:change=move |ev| new_person.set(event_target_value(&ev))>
                    <option value="">"— выберите —"</option>
                    {move || {
                        let granted = granted.get();
                        people.get().into_iter().filter(|p| !granted.contains(&p.id)).map(|p| view! {
                            <option value=p.id.clone() selected=new_person.get_untracked() == p.id>
                                {format!("{} ({}), {}", p.name, p.login, p.role.label())}
                            </option>
                        }).collect_view()
                    }}
                </select>
            </label>
            <label>"Право"
                <select on:change=move |ev| {
                    if let Some(r) = Right::parse(&event_target_value(&ev)) {
                        new_right.set(r);
                    }
                }>
                    {rights_options(Right::Read)}
                </select>
            </label>
            <button type="submit">"Добавить"</button>
        </form>
    }
}

/// Deleting for everyone: asked once more, then the relay forgets it, and
/// so does this device.
#[component]
fn DeleteForEveryone(id: DocumentId) -> impl IntoView {
    let app = ctx();
    let confirm = Confirm::new();
    let router = super::route::router();
    let delete_for_everyone = move || {
        leptos::task::spawn_local(async move {
            match api::call(&DeleteRoadmap { id: id.to_string() }, &()).await {
                Ok(_) => {
                    app.sync().forget(id);
                    if let Err(e) = crate::replica::delete(&app.storage(), &id).await {
                        app.error(format!("Удалена для всех, но не с этого устройства: {e}"));
                    }
                    app.account.refresh_roadmaps();
                    app.info("Дорожная карта удалена для всех");
                    router.navigate("/");
                }
                Err(e) => app.error(format!("Дорожная карта не удалена: {}", say(e))),
            }
        });
    };
    view! {
        <h3>"Удаление"</h3>
        <p class="hint">"Удалить для всех: дорожная карта пропадёт с сервера, у тех, кто её видит, она останется только копией на их устройствах. Вернуть её будет нельзя."</p>
        <ConfirmButton confirm label="Удалить для всех…" />
        <ConfirmDialog confirm name="Подтверждение удаления для всех" yes="Да, удалить для всех" on_yes=delete_for_everyone>
            <p>"Удалить эту дорожную карту для всех? Это нельзя отменить."</p>
        </ConfirmDialog>
    }
}

fn rights_options(selected: Right) -> impl IntoView {
    RIGHTS
        .into_iter()
        .map(|r| view! { <option value=r.as_str() selected=r == selected>{r.label()}</option> })
        .collect_view()
}
