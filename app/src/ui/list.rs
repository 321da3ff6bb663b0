//! The roadmaps on this device: open, create, rename, duplicate, delete
//! (with confirmation and undo), and import a roadmap file.

use super::kit::{AppCtx, Confirm, ConfirmButton, ConfirmDialog, ctx, document_title};
use crate::document::OpenRoadmap;
use crate::storage::RoadmapMeta;
use leptos::prelude::*;
use medk_shared::access::Level;
use medk_shared::doc::{Edit, NewRoadmap, TextTarget};
use medk_shared::ids::DocumentId;
use medk_shared::layout::MAX_TEXT_CHARS;
use medk_shared::model::{ActivityField, Column, HeaderField};

#[component]
pub fn ListPage() -> impl IntoView {
    let app = ctx();
    let list: RwSignal<Option<Result<Vec<RoadmapMeta>, String>>> = RwSignal::new(None);
    // Roadmaps deleted but still restorable: hidden, not yet erased.
    let pending_delete: RwSignal<Vec<String>> = RwSignal::new(Vec::new());
    let creating = RwSignal::new(false);
    let reload = move || {
        let storage = app.storage();
        leptos::task::spawn_local(async move {
            list.set(Some(storage.roadmaps().await.map_err(|e| e.to_string())));
        });
    };
    reload();
    // Roadmaps that arrived or changed through sync.
    let changed = app.sync().list_version();
    Effect::new(move |previous: Option<u64>| {
        let v = changed.get();
        if previous.is_some_and(|p| p != v) {
            reload();
        }
        v
    });
    document_title("Дорожные карты");

    let visible = move || {
        list.get().map(|r| {
            r.map(|items| {
                let hidden = pending_delete.get();
                items.into_iter().filter(|m| !hidden.contains(&m.id)).collect::<Vec<_>>()
            })
        })
    };

    // The roadmaps of the person's own unit (and a curator's schools) the
    // server has and this device does not yet: by title, never by id.
    let on_server = move || {
        let local: Vec<String> = list
            .with(|l| {
                l.as_ref().and_then(|l| l.as_ref().ok()).map(|l| l.iter().map(|m| m.id.clone()).collect())
            })
            .unwrap_or_default();
        let Some(me) = app.account.session.with(|s| s.me().map(|me| me.person.clone())) else {
            return Vec::new();
        };
        let mut found: Vec<(String, String, String)> = app.account.roadmaps.with(|r| {
            r.values()
                .filter(|r| r.roadmap.unit == me.unit || me.schools.contains(&r.roadmap.unit))
                .filter(|r| !local.contains(&r.roadmap.id))
                .map(|r| {
                    (
                        r.roadmap.id.clone(),
                        r.shown_title(),
                        app.account.unit_name(&r.roadmap.unit).unwrap_or_default(),
                    )
                })
                .collect()
        });
        found.sort_by(|a, b| a.2.cmp(&b.2).then_with(|| a.1.cmp(&b.1)));
        found
    };
    view! {
        <section class="list-page">
            <div class="page-head">
                <h1>"Дорожные карты"</h1>
                <div class="actions">
                    <button class="primary" on:click=move |_| creating.set(true)>"Создать дорожную карту"</button>
                    <super::import::ImportButton on_done=move || reload() />
                </div>
            </div>
            <Show when=move || creating.get()>
                <CreateForm on_close=move || creating.set(false) />
            </Show>
            {move || match visible() {
                None => view! { <p class="empty">"Загрузка…"</p> }.into_any(),
                Some(Err(e)) => view! { <p class="error" role="alert">"Не удалось прочитать список: " {e}</p> }.into_any(),
                Some(Ok(items)) if items.is_empty() && !on_server().is_empty() => ().into_any(),
                Some(Ok(items)) if items.is_empty() => view! {
                    <p class="empty">"На этом устройстве пока нет дорожных карт. Создайте новую или импортируйте файл."</p>
                    <p class="hint" hidden=move || !app.account.session.with(|s| s.me().is_some_and(|me| me.manages))>
                        "Дорожные карты школ вашей территории — в разделах "
                        <a href="/schools">"«Школы»"</a>" и "<a href="/monitoring">"«Мониторинг»"</a>"."
                    </p>
                }.into_any(),
                Some(Ok(items)) => view! {
                    <ul class="roadmaps">
                        {items.into_iter().map(|meta| view! {
                            <RoadmapItem meta pending_delete on_change=move || reload() />
                        }).collect_view()}
                    </ul>
                }.into_any(),
            }}
            <section class="on-server" aria-labelledby="on-server-title" hidden=move || on_server().is_empty()>
                <h2 id="on-server-title">"Дорожные карты на сервере"</h2>
                <p class="hint">"Карты вашей организации, которых ещё нет на этом устройстве: откройте, чтобы загрузить и работать с ними без сети."</p>
                <ul class="roadmaps">
                    {move || on_server().into_iter().map(|(id, title, unit)| view! {
                        <li class="roadmap-item on-server-item">
                            <div class="item-main">
                                <a class="item-title" href=super::route::Route::roadmap(&id)>{title}</a>
                                <p class="item-details">{unit}" · на сервере"</p>
                            </div>
                        </li>
                    }).collect_view()}
                </ul>
            </section>
        </section>
    }
}

#[component]
fn RoadmapItem(
    meta: RoadmapMeta,
    pending_delete: RwSignal<Vec<String>>,
    on_change: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let app = ctx();
    let renaming = RwSignal::new(false);
    let confirm = Confirm::new();
    let href = super::route::Route::roadmap(&meta.id);
    let id = meta.id.clone();
    let title =
        if meta.title.trim().is_empty() { "Без названия".to_owned() } else { meta.title.clone() };
    let details = [
        Some(meta.level.roadmap_label().to_owned()),
        meta.year.map(|y| format!("{y} год")),
        (!meta.territory.is_empty()).then(|| meta.territory.clone()),
        Some(format!("мероприятий: {}", meta.activities)),
        Some(format!("изменена {}", crate::browser::local_time(meta.updated))),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(" · ");
    let broken = meta.broken.clone();
    let is_broken = broken.is_some();
    // Changes the relay does not have: the live count if the roadmap is
    // open in this tab, else what its list record kept.
    let unsent = {
        let kept = meta.unsent.unwrap_or(0) as usize;
        let live = DocumentId::parse(&meta.id).ok().map(|id| app.sync().doc_state(id));
        Signal::derive(move || live.map_or(kept, |s| s.get().unsynced.max(kept)))
    };
    let gone = DocumentId::parse(&meta.id).ok().and_then(|id| crate::gone::words(&id));
    // The server's word that this person may only read it: no renaming
    // (the relay would refuse it); a copy of one's own and removing it from
    // this device stay.
    let read_only = {
        let (account, id) = (app.account, meta.id.clone());
        move || account.roadmap(&id).is_some_and(|r| r.roadmap.right < medk_shared::access::Right::Write)
    };

    let rename = {
        let id = id.clone();
        move |new_title: String| {
            let id = id.clone();
            leptos::task::spawn_local(async move {
                match rename_roadmap(app, &id, new_title).await {
                    Ok(()) => on_change(),
                    Err(e) => app.error(e),
                }
            });
            renaming.set(false);
        }
    };
    let duplicate = {
        let id = id.clone();
        move |_| {
            let id = id.clone();
            leptos::task::spawn_local(async move {
                match duplicate_roadmap(app, &id).await {
                    Ok(()) => {
                        app.info("Копия создана");
                        on_change();
                    }
                    Err(e) => app.error(e),
                }
            });
        }
    };
    let delete = {
        let (id, title) = (id.clone(), title.clone());
        move || delete_later(app, id.clone(), &title, pending_delete, on_change)
    };

    let title_for_input = title.clone();
    view! {
        <li class="roadmap-item" class:broken=is_broken data-id=id.clone()>
            <div class="item-main">
                <Show
                    when=move || renaming.get()
                    fallback={
                        let href = href.clone();
                        let title = title.clone();
                        move || view! { <a class="item-title" href=href.clone()>{title.clone()}</a> }
                    }
                >
                    <RenameInput initial=title_for_input.clone() on_done=rename.clone() on_cancel=move || renaming.set(false) />
                </Show>
                <p class="item-details">{details}</p>
                {broken.map(|reason| {
                    let doc_id = DocumentId::parse(&id).ok();
                    view! {
                        <p class="error" role="alert">
                            "Копия на этом устройстве повреждена; её данные отложены и не потеряны."
                        </p>
                        {doc_id.map(|id| view! { <super::recovery::ReloadFromServer id /> })}
                        <p class="detail">"Подробности: " {reason}</p>
                    }
                })}
                {gone.map(|words| {
                    let words = if words.is_empty() { "Удалена для всех координатором".to_owned() } else { medk_shared::ru::sentence(&words) };
                    view! { <p class="error gone" role="status">{words} ". Копия осталась только на этом устройстве."</p> }
                })}
            </div>
            <div class="item-actions">
                <button hidden=read_only on:click=move |_| renaming.set(true)>"Переименовать"</button>
                <button on:click=duplicate>"Дублировать"</button>
                <ConfirmButton confirm label="Удалить" />
            </div>
            <DeleteDialog confirm unsent on_yes=delete />
        </li>
    }
}

/// Asks before a roadmap leaves this device, saying what would be lost
/// with it: changes not yet sent, or (signed out) the only copy.
#[component]
fn DeleteDialog(
    confirm: Confirm,
    unsent: Signal<usize>,
    on_yes: impl Fn() + Clone + Send + Sync + 'static,
) -> impl IntoView {
    let app = ctx();
    // Signed out, a roadmap is on this device alone (nothing is ever sent).
    let signed_out = move || app.account.me().is_none();
    let yes = move || {
        if signed_out() || unsent.get() == 0 {
            "Да, удалить"
        } else {
            "Удалить вместе с неотправленными"
        }
    };
    view! {
        <ConfirmDialog confirm name="Подтверждение удаления" yes on_yes>
            <p>"Удалить дорожную карту с этого устройства?"</p>
            <p class="warn" hidden=move || signed_out() || unsent.get() == 0>{move || format!(
                "На этом устройстве есть изменения, которые ещё не отправлены на сервер: {}. \
                 После удаления они пропадут. Чтобы их сохранить, дождитесь связи с сервером.",
                unsent.get()
            )}</p>
            <p class="warn" hidden=move || !signed_out()>
                "Вход не выполнен: эта дорожная карта есть только на этом устройстве. \
                 Вернуть её можно будет лишь кнопкой «Отменить» сразу после удаления."
            </p>
        </ConfirmDialog>
    }
}

/// Erases the roadmap from the device at once (a tab closed a moment
/// later must not bring it back), keeping its bytes in memory so that
/// «Отменить» in the notice can store it again.
fn delete_later(
    app: AppCtx,
    id: String,
    title: &str,
    pending_delete: RwSignal<Vec<String>>,
    on_change: impl Fn() + Copy + 'static,
) {
    let Ok(doc_id) = DocumentId::parse(&id) else { return };
    crate::replica::will_delete(&doc_id);
    pending_delete.update(|p| p.push(id.clone()));
    let title = title.to_owned();
    let storage = app.storage();
    leptos::task::spawn_local(async move {
        // What «Отменить» puts back: the list record and every byte kept,
        // snapshots first (they load fastest), then changes, then writes
        // the journal holds that have not reached IndexedDB yet.
        let meta = storage.meta(&doc_id).await.ok().flatten();
        let mut pieces = storage.load(&doc_id).await.unwrap_or_default();
        pieces.sort_by_key(|p| !medk_shared::replica::load::is_snapshot(&p.bytes));
        let mut bytes: Vec<u8> = pieces.into_iter().flat_map(|p| p.bytes).collect();
        bytes.extend(crate::journal::pending(&doc_id).into_iter().flat_map(|e| e.bytes));
        app.sync().forget(doc_id);
        let deleted = crate::replica::delete(&storage, &doc_id).await;
        pending_delete.update(|p| p.retain(|x| *x != id));
        on_change();
        let kept = match deleted {
            Ok(kept) => kept,
            Err(e) => return app.error(format!("Не удалось удалить: {e}")),
        };
        let Some(meta) = meta else { return };
        app.with_action(
            format!("Дорожная карта «{title}» удалена"),
            "Отменить",
            move || {
                let (meta, bytes, storage) = (meta.clone(), bytes.clone(), storage.clone());
                crate::replica::put_back(&doc_id, &kept);
                leptos::task::spawn_local(async move {
                    match storage.restore(&meta, bytes, false).await {
                        Ok(()) => {
                            app.sync().track(doc_id);
                            on_change();
                        }
                        Err(e) => app.error(format!("Не удалось вернуть: {e}")),
                    }
                });
            },
        );
    });
}

#[component]
fn RenameInput(
    initial: String,
    on_done: impl Fn(String) + Clone + Send + Sync + 'static,
    on_cancel: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let value = RwSignal::new(initial);
    let input = NodeRef::<leptos::html::Input>::new();
    Effect::new(move |_| {
        if let Some(el) = input.get() {
            let _ = el.focus();
            el.select();
        }
    });
    let done = on_done.clone();
    view! {
        <form class="rename" on:submit=move |ev| {
            ev.prevent_default();
            done(value.get_untracked());
        }>
            <input node_ref=input aria-label="Новое название" prop:value=value maxlength=MAX_TEXT_CHARS.to_string()
                on:input=move |ev| value.set(event_target_value(&ev))
                on:keydown=move |ev| if ev.key() == "Escape" { on_cancel() } />
            <button type="submit" class="primary">"Сохранить"</button>
            <button type="button" on:click=move |_| on_cancel()>"Отмена"</button>
        </form>
    }
}

/// The form for a new roadmap: level, title, territory, year and columns.
#[component]
fn CreateForm(on_close: impl Fn() + Copy + Send + Sync + 'static) -> impl IntoView {
    let app = ctx();
    let router = super::route::router();
    let level = RwSignal::new(Level::School);
    let title = RwSignal::new(String::new());
    let territory = RwSignal::new(String::new());
    let year = RwSignal::new(js_sys::Date::new_0().get_full_year().to_string());
    let columns: RwSignal<Vec<Column>> = RwSignal::new(Level::School.default_columns());
    let saving = RwSignal::new(false);
    let title_input = NodeRef::<leptos::html::Input>::new();
    Effect::new(move |_| {
        if let Some(el) = title_input.get() {
            let _ = el.focus();
        }
    });

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if saving.get_untracked() {
            return;
        }
        let new = NewRoadmap {
            title: {
                let t = title.get_untracked();
                if t.trim().is_empty() {
                    format!("{} дорожная карта", level.get_untracked().roadmap_label())
                } else {
                    t
                }
            },
            level: level.get_untracked(),
            territory: territory.get_untracked(),
            year: year.get_untracked().trim().parse().ok(),
            columns: columns.get_untracked(),
        };
        saving.set(true);
        let storage = app.storage();
        leptos::task::spawn_local(async move {
            match OpenRoadmap::create(&storage, &new, &app.account.person_id()).await {
                Ok(id) => router.navigate(&super::route::Route::roadmap(id)),
                Err(e) => {
                    saving.set(false);
                    app.error(format!("Не удалось создать: {e}"));
                }
            }
        });
    };

    view! {
        <form class="create card" on:submit=submit aria-label="Новая дорожная карта">
            <h2>"Новая дорожная карта"</h2>
            <label>"Уровень"
                <select on:change=move |ev| {
                    if let Some(l) = Level::from_roadmap_key(&event_target_value(&ev)) {
                        level.set(l);
                        columns.set(l.default_columns());
                    }
                }>
                    {Level::ALL.into_iter().map(|l| view! {
                        <option value=l.roadmap_key() selected=move || level.get() == l>{l.roadmap_label()}</option>
                    }).collect_view()}
                </select>
            </label>
            <label>"Название"
                <input node_ref=title_input name="title" prop:value=title placeholder="Дорожная карта реализации проекта 500+" maxlength=MAX_TEXT_CHARS.to_string()
                    on:input=move |ev| title.set(event_target_value(&ev)) />
            </label>
            <label>"Территория или школа"
                <input name="territory" prop:value=territory maxlength=MAX_TEXT_CHARS.to_string() on:input=move |ev| territory.set(event_target_value(&ev)) />
            </label>
            <label>"Год"
                <input name="year" inputmode="numeric" prop:value=year on:input=move |ev| year.set(event_target_value(&ev)) />
            </label>
            <fieldset class="columns-choice">
                <legend>"Столбцы"</legend>
                {ActivityField::ALL.into_iter().map(|field| {
                    let checked = move || columns.with(|c| c.iter().any(|c| c.field == field));
                    view! {
                        <label class="check">
                            <input type="checkbox" prop:checked=checked on:change=move |ev| {
                                let on = event_target_checked(&ev);
                                columns.update(|cols| {
                                    cols.retain(|c| c.field != field);
                                    if on {
                                        cols.push(Column::standard(field));
                                        cols.sort_by_key(|c| c.field);
                                    }
                                });
                            } />
                            {field.label_ru()}
                        </label>
                    }
                }).collect_view()}
            </fieldset>
            <div class="form-actions">
                <button type="submit" class="primary" disabled=move || saving.get()>"Создать"</button>
                <button type="button" on:click=move |_| on_close()>"Отмена"</button>
            </div>
        </form>
    }
}

async fn rename_roadmap(app: AppCtx, id: &str, title: String) -> Result<(), String> {
    let id = DocumentId::parse(id).map_err(|e| e.to_string())?;
    // Through the roadmap's one replica, so the rename is synced too.
    let open = app.sync().open(id).await.map_err(|e| e.to_string())?;
    let edit = Edit::SetText { target: TextTarget::Header(HeaderField::Title), value: title };
    open.borrow_mut().apply(vec![edit], "rename").map_err(|e| e.to_string())?;
    // The list re-reads its records next: have this one written by then.
    let meta = crate::document::meta_of(&id, open.borrow().doc());
    app.storage().put_meta(&meta).await.map_err(|e| e.to_string())
}

async fn duplicate_roadmap(app: AppCtx, id: &str) -> Result<(), String> {
    let id = DocumentId::parse(id).map_err(|e| e.to_string())?;
    let storage = app.storage();
    // From the roadmap's one replica: it holds what storage and the
    // journal hold, and what arrived since.
    let open = app.sync().open(id).await.map_err(|e| e.to_string())?;
    let mut copy = open.borrow_mut().doc_mut().fork();
    let title = copy.header().title;
    copy.apply(
        vec![Edit::SetText {
            target: TextTarget::Header(HeaderField::Title),
            value: format!("{title} (копия)"),
        }],
        crate::browser::now_ms(),
        "duplicate",
    )
    .map_err(|e| e.to_string())?;
    let copy = OpenRoadmap::store_copy(&storage, &mut copy, &app.account.person_id())
        .await
        .map_err(|e| e.to_string())?;
    app.sync().track(copy);
    Ok(())
}
