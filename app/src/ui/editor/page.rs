//! The roadmap's page (`/r/<id>`): opening the roadmap (from its cached
//! view first, from the relay when it is not on this device), what shows
//! while it cannot be opened, and the editor around the open roadmap. The
//! state it edits is [`super::state::Editor`]; the parts on screen are the
//! sibling modules.

use super::columns::ColumnsPanel;
use super::filter_bar::FilterBar;
use super::header::{AdoptedOnByCoordinator, HeaderBlock};
use super::history::HistoryPanel;
use super::keys::{KeysHelp, on_key};
use super::notes::Notes;
use super::rows::WorkingGroup;
use super::sheet::Sheet;
use super::state::{Editor, read_view};
use super::timeline::Timeline;
use super::toolbar::Toolbar;
use crate::document::OpenError;
use crate::sync::FetchError;
use crate::ui::access::AccessPanel;
use crate::ui::export::ExportPanel;
use crate::ui::kit::{ctx, document_title};
use leptos::prelude::*;
use medk_shared::access::Right;
use medk_shared::ids::DocumentId;

enum Loaded {
    Loading,
    /// Not on this device; being fetched from the relay by its link.
    Fetching,
    Ready(Box<Editor>),
    Failed(Failure),
}

#[component]
pub fn EditorPage(id: String) -> impl IntoView {
    let app = ctx();
    let state = RwSignal::new_local(Loaded::Loading);
    let owner = Owner::current().unwrap_or_default();
    let page_open = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    on_cleanup({
        let page_open = page_open.clone();
        move || page_open.store(false, std::sync::atomic::Ordering::Relaxed)
    });
    leptos::task::spawn_local(async move {
        crate::browser::mark("medk:open");
        let Ok(id) = DocumentId::parse(&id) else {
            state.set(Loaded::Failed(Failure::text("неверная ссылка на дорожную карту")));
            return;
        };
        let storage = app.storage();
        // The cached view puts the roadmap on screen before the
        // document is loaded; the document then corrects it if needed.
        let cached = match storage.meta(&id).await {
            Ok(Some(meta)) if meta.broken.is_none() => storage.view(&id).await.ok().flatten(),
            _ => None,
        };
        let shown = cached
            .and_then(|view| Some((read_view(&view.roadmap)?, view.heads)))
            .map(|(roadmap, heads)| owner.with(|| Editor::from_view(id, roadmap, Some(heads), app)));
        if let Some(editor) = shown {
            state.set(Loaded::Ready(Box::new(editor)));
            crate::browser::mark("medk:view");
            crate::browser::next_paint().await;
        }
        let sync = app.sync();
        let mut opened = sync.open(id).await;
        if matches!(opened, Err(OpenError::NotFound)) {
            // Not on this device: a link from someone else. Ask the relay;
            // while it has none yet (the author's device may not have been
            // online since making it) or cannot be reached, ask again now
            // and then for as long as the page is open.
            state.set(Loaded::Fetching);
            opened = loop {
                match sync.fetch(id).await {
                    Ok(()) => break sync.open(id).await,
                    Err(e @ (FetchError::Unavailable | FetchError::Offline | FetchError::Timeout)) => {
                        state.set(Loaded::Failed(Failure::text(&format!(
                            "{} Страница откроет её сама, как только она появится на сервере.",
                            fetch_failure(&e)
                        ))));
                        crate::browser::sleep(FETCH_AGAIN_MS).await;
                        if !page_open.load(std::sync::atomic::Ordering::Relaxed) {
                            return;
                        }
                    }
                    Err(e) => {
                        state.set(Loaded::Failed(Failure::text(&fetch_failure(&e))));
                        return;
                    }
                }
            };
        }
        match opened {
            Ok(open) => {
                crate::browser::mark("medk:loaded");
                let editor = match shown {
                    Some(editor) => editor,
                    None => {
                        let (roadmap, heads) = {
                            let mut o = open.borrow_mut();
                            (o.doc().read(), o.heads())
                        };
                        let editor = owner.with(|| Editor::from_view(id, roadmap, Some(heads), app));
                        state.set(Loaded::Ready(Box::new(editor)));
                        editor.schedule_view_write();
                        editor
                    }
                };
                editor.attach(open);
                crate::browser::mark("medk:attached");
            }
            Err(e) => state.set(Loaded::Failed(Failure {
                text: match &e {
                    OpenError::NotFound => "дорожной карты нет на этом устройстве".to_owned(),
                    other => other.to_string(),
                },
                detail: e.detail(),
                broken: e.is_broken().then_some(id),
            })),
        }
        request_animation_frame(|| crate::browser::mark("medk:rendered"));
    });
    // A broken copy brought back meanwhile (from the server's copy, once
    // online): open it without being asked.
    crate::ui::recovery::reopen_when_recovered(app, move || match &*state.read_untracked() {
        Loaded::Failed(Failure { broken: Some(id), .. }) => Some(*id),
        _ => None,
    });
    move || {
        match &*state.read() {
        Loaded::Loading => view! { <p class="empty">"Открываем дорожную карту…"</p> }.into_any(),
        Loaded::Fetching => view! { <p class="empty" role="status">"Этой дорожной карты ещё нет на устройстве. Загружаем с сервера…"</p> }.into_any(),
        Loaded::Failed(e) => view! {
            <div class="open-error card" role="alert">
                <h1>"Не удалось открыть дорожную карту"</h1>
                <p>{e.text.clone()}</p>
                {e.broken.map(|id| view! { <crate::ui::recovery::ReloadFromServer id /> })}
                {e.detail.clone().map(|d| view! { <p class="detail">"Подробности: " {d}</p> })}
                <p>"Другие дорожные карты на устройстве это не затрагивает."</p>
                <a class="button" href="/">"← Все дорожные карты"</a>
            </div>
        }
        .into_any(),
        Loaded::Ready(editor) => view! { <EditorView editor=**editor /> }.into_any(),
    }
    }
}

/// Why a roadmap did not open: what people read, the technical detail,
/// and, for a broken copy, the roadmap the server's copy can replace.
#[derive(Clone)]
struct Failure {
    text: String,
    detail: Option<String>,
    broken: Option<DocumentId>,
}

impl Failure {
    fn text(text: &str) -> Failure {
        Failure { text: text.to_owned(), detail: None, broken: None }
    }
}

/// How often a link the relay has no roadmap for yet is asked again.
const FETCH_AGAIN_MS: i32 = 5_000;

fn fetch_failure(e: &FetchError) -> String {
    match e {
        FetchError::Deleted(said) => {
            let mut chars = said.chars();
            let first = chars.next().map(|c| c.to_uppercase().collect::<String>()).unwrap_or_default();
            format!("{first}{}. Её копии на этом устройстве нет.", chars.as_str())
        }
        e => format!("Дорожной карты нет на этом устройстве, и получить её не удалось: {e}."),
    }
}

#[component]
fn EditorView(editor: Editor) -> impl IntoView {
    let sync = editor.app.sync();
    follow_remote_changes(editor);
    sync.announce(editor.id, true);
    let others = sync.others(editor.id);
    let app = editor.app;
    on_cleanup(move || app.sync().announce(editor.id, false));
    Effect::new(move |_| document_title(&editor.header.with(|h| h.title.clone())));
    keep_view_and_keys(editor);
    let show_keys = RwSignal::new(false);
    // What the server lets this person do with the roadmap: its word from
    // `/api/roadmaps` (kept across visits) and the relay's on this connection.
    let account = app.account;
    let doc_state = sync.doc_state(editor.id);
    let server = {
        let id = editor.id.to_string();
        Memo::new(move |_| account.roadmap(&id))
    };
    account.refresh_roadmaps();
    // A lasting refusal (the person's share is used up, a change broke the
    // layout) stops editing too: nothing more typed here would be taken.
    let read_only = Memo::new(move |_| {
        doc_state.with(|s| s.read_only || s.refused.as_ref().is_some_and(|r| r.lasting))
            || server.get().is_some_and(|r| r.roadmap.right < Right::Write)
    });
    Effect::new(move |_| editor.read_only.set(read_only.get()));
    let read_only = Signal::from(read_only);
    let unit = Signal::derive(move || server.get().and_then(|r| account.unit_name(&r.roadmap.unit)));
    let manages = Signal::derive(move || server.get().is_some_and(|r| account.manages(&r.roadmap.unit)));
    let show_access = RwSignal::new(false);
    let show_export = RwSignal::new(false);
    sign_changes(editor);
    view! {
        <div class="editor" data-loaded=move || editor.loaded.get().to_string()>
            <Toolbar editor read_only manages show_export show_keys show_access />
            // Notices are always in the page and hidden when they do not
            // apply: cheaper in wasm than views that come and go.
            <FilterBar editor />
            <Show when=move || show_access.get() && manages.get()>
                <AccessPanel id=editor.id />
            </Show>
            <Show when=move || show_export.get()>
                <ExportPanel id=editor.id />
            </Show>
            <Notes editor doc_state read_only unit />
            <Show when=move || !others.get().is_empty()>
                <p class="presence" role="status">"Сейчас открыта также у: " {move || others.get().join(", ")}</p>
            </Show>
            <Show when=move || show_keys.get()>
                <KeysHelp />
            </Show>
            <Show when=move || read_only.get() && manages.get() && (editor.imported.get() || editor.header.with(|h| !h.adopted_on.is_empty()))>
                <AdoptedOnByCoordinator editor />
            </Show>
            // A disabled fieldset keeps every field and button of the roadmap
            // from taking edits (and says so to screen readers).
            <fieldset class="doc-body" disabled=move || read_only.get()>
            <legend class="visually-hidden">"Дорожная карта"</legend>
            <HeaderBlock editor />
            <ColumnsPanel editor />
            <Sheet editor />
            <Show when=move || editor.timeline.get()>
                <Timeline editor />
            </Show>
            <button class="add-section" hidden=move || editor.timeline.get() on:click=move |_| {
                let last = editor.layout.with_untracked(|l| l.last().map(|s| s.id.clone()));
                editor.add_section(last.as_ref());
            }>"+ Добавить раздел"</button>
            <WorkingGroup editor />
            </fieldset>
            <Show when=move || editor.history_of.get().is_some()>
                <HistoryPanel editor />
            </Show>
        </div>
    }
}

/// Changes from other devices: re-read the document.
fn follow_remote_changes(editor: Editor) {
    let version = editor.app.sync().version(editor.id);
    Effect::new(move |previous: Option<u64>| {
        let v = version.get();
        if previous.is_some_and(|p| p != v) {
            editor.show_remote(editor.app.sync().take_touched(editor.id));
        }
        v
    });
}

/// Keeps the cached view current when the person leaves the roadmap or the
/// tab goes to the background (it may never come back), and listens for
/// the shortcuts while the page is open.
fn keep_view_and_keys(editor: Editor) {
    let hidden = window_event_listener(leptos::ev::visibilitychange, move |_| {
        let hidden = web_sys::window().and_then(|w| w.document()).is_some_and(|d| d.hidden());
        if hidden {
            editor.write_view();
        }
    });
    // Shortcuts work wherever focus is on the page (after a tap on a
    // button or on empty space too), not only inside a field.
    let keys = window_event_listener(leptos::ev::keydown, move |ev| on_key(editor, ev));
    on_cleanup(move || {
        hidden.remove();
        keys.remove();
        editor.write_view();
    });
}

/// Who signs this device's changes: the signed-in person, else the name
/// given for presence, else «Без имени». Set again once the document is
/// attached and whenever either name changes.
fn sign_changes(editor: Editor) {
    let account = editor.app.account;
    let presence_name = editor.app.sync().name();
    Effect::new(move |_| {
        let name = account
            .me()
            .map(|me| me.person.name)
            .filter(|n| !n.trim().is_empty())
            .or_else(|| Some(presence_name.get()).filter(|n| !n.trim().is_empty()))
            .unwrap_or_else(|| "Без имени".to_owned());
        if editor.loaded.get() {
            editor.with_open(|o| o.set_author(name));
        }
    });
}
