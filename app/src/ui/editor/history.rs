//! The history panel of one activity: who changed what and when, read from
//! the roadmap's change history ([`medk_shared::history::activity_changes`]),
//! oldest first, with times in the device's time zone.

use super::dom::focus_row;
use super::state::Editor;
use leptos::prelude::*;
use medk_shared::history::ActivityChange;
use wasm_bindgen::JsCast;

/// A dialog over the editor for the activity in [`Editor::history_of`].
/// Closes with «Закрыть» or Escape and gives focus back to the row.
#[component]
pub fn HistoryPanel(editor: Editor) -> impl IntoView {
    let Some(id) = editor.history_of.get_untracked() else {
        return ().into_any();
    };
    let activity = editor.activity(&id);
    let title = move || {
        activity
            .map(|a| {
                a.with(|a| {
                    let description = a.description.split_whitespace().collect::<Vec<_>>().join(" ");
                    match (a.number.trim(), description.is_empty()) {
                        ("", true) => "Мероприятие без названия".to_owned(),
                        ("", false) => description,
                        (n, true) => format!("Мероприятие {n}"),
                        (n, false) => format!("{n} {description}"),
                    }
                })
            })
            .unwrap_or_default()
    };
    // Re-read whenever the activity changes (here or from elsewhere).
    let changes = {
        let id = id.clone();
        Memo::new(move |_| {
            if let Some(a) = activity {
                a.track();
            }
            editor.loaded.track();
            editor.activity_history(&id)
        })
    };
    let close = {
        let id = id.clone();
        move || {
            editor.history_of.set(None);
            focus_row(&id, &["a.history-button"]);
        }
    };
    let dialog = NodeRef::<leptos::html::Div>::new();
    // Focus moves into the dialog when it opens.
    Effect::new(move |_| {
        if let Some(el) = dialog.get() {
            let _ = el.focus();
        }
    });
    let on_key = {
        let close = close.clone();
        move |ev: leptos::ev::KeyboardEvent| {
            if ev.key() == "Escape" {
                ev.stop_propagation();
                close();
            }
        }
    };
    let on_backdrop = {
        let close = close.clone();
        move |ev: leptos::ev::MouseEvent| {
            let on_backdrop = ev
                .target()
                .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
                .is_some_and(|el| el.class_list().contains("history-backdrop"));
            if on_backdrop {
                close();
            }
        }
    };
    view! {
        <div class="history-backdrop" on:click=on_backdrop>
            <div class="history-panel card" role="dialog" aria-modal="true" aria-labelledby="history-title"
                tabindex="-1" node_ref=dialog on:keydown=on_key>
                <div class="history-head">
                    <h2 id="history-title">"История: " {title}</h2>
                    <button class="close" on:click=move |_| close()>"Закрыть"</button>
                </div>
                {move || match changes.get() {
                    None => view! { <p role="status">"Дорожная карта ещё открывается…"</p> }.into_any(),
                    Some(list) if list.is_empty() => view! { <p>"Изменений нет."</p> }.into_any(),
                    Some(list) => view! {
                        <ol class="history-list">
                            {list.into_iter().map(|change| view! { <HistoryEntry change /> }).collect_view()}
                        </ol>
                    }
                    .into_any(),
                }}
            </div>
        </div>
    }
    .into_any()
}

#[component]
fn HistoryEntry(change: ActivityChange) -> impl IntoView {
    let when = change
        .time_ms
        .map_or_else(|| "время не записано".to_owned(), |ms| crate::browser::local_time(ms as f64));
    let who = change.author_ru().to_owned();
    let what = change.describe_ru();
    let typing = (change.changes > 1).then(|| format!(" (правок: {})", change.changes));
    view! {
        <li class="history-entry">
            <span class="history-when">{when}</span>
            <span class="history-who">{who}</span>
            <span class="history-what">{what}{typing}</span>
        </li>
    }
}
