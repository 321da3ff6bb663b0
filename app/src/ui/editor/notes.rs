//! The notes above the roadmap: its unit, read-only, what the relay
//! refused and why, no access or deleted for everyone, and what of the
//! document could not be read. Always in the page, hidden when they do not
//! apply: cheaper in wasm than views that come and go.

use super::state::Editor;
use crate::sync::DocState;
use crate::ui::kit::{Confirm, ConfirmButton, ConfirmDialog, text};
use leptos::prelude::*;

#[component]
pub fn Notes(
    editor: Editor,
    /// What the relay says of the roadmap on this connection.
    doc_state: Signal<DocState>,
    read_only: Signal<bool>,
    /// The name of the roadmap's unit, when the server said it.
    unit: Signal<Option<String>>,
) -> impl IntoView {
    // Changes the relay refused: shown while the person may only read.
    let refused = move || if read_only.get() { doc_state.get().unsynced } else { 0 };
    // The relay refused this device's changes for what they were (too big,
    // off the layout): why, instead of the notices about rights.
    let refusal = move || doc_state.get().refused;
    let gone = move || doc_state.get().gone;
    view! {
        <p class="doc-unit" hidden=move || unit.get().is_none()>"Организация: " {text(move || unit.get().unwrap_or_default())}</p>
        <p class="note" role="status" hidden=move || !read_only.get() || refusal().is_some()><strong>"Только просмотр."</strong>
            " У вас нет права изменять эту дорожную карту, её можно читать и скачать."</p>
        <p class="note warn refused" role="alert" hidden=move || refused() == 0 || refusal().is_some()>{text(move || format!(
            "Сервер не принял {}: у вас только просмотр этой дорожной карты. Изменения сохранены на этом устройстве.",
            medk_shared::ru::CHANGES.count(refused() as i64),
        ))}</p>
        <div class="note-actions" hidden=move || refused() == 0 || refusal().is_some()>
            <TakeServersCopy editor />
        </div>
        <p class="note warn refused-why" role="alert" hidden=move || refusal().is_none()>
            {text(move || match refusal() {
                Some(r) if r.lasting => format!(
                    "Сервер не принял изменения этой дорожной карты: {}. Он не примет их и потом, поэтому здесь её теперь можно только читать. Непринятые изменения сохранены только на этом устройстве, другие их не видят: чтобы их не потерять, скачайте файл дорожной карты («Скачать файл»).",
                    r.message,
                ),
                Some(r) => format!(
                    "Сервер не принял изменения этой дорожной карты: {}. Они сохранены только на этом устройстве, другие их не видят; при следующем подключении устройство отправит их снова, и сервер примет их, только если причины уже нет. Чтобы их не потерять, скачайте файл дорожной карты («Скачать файл»).",
                    r.message,
                ),
                None => String::new(),
            })}
            <small class="details">{text(move || refusal().map(|r| r.detail).unwrap_or_default())}</small>
        </p>
        <div class="note-actions" hidden=move || !refusal().is_some_and(|r| r.lasting)>
            <TakeServersCopy editor />
        </div>
        <p class="note warn" role="alert" hidden=move || !doc_state.get().unavailable || gone().is_some() || refusal().is_some()>
            "Нет доступа к этой дорожной карте на сервере (или она там удалена); она есть только на этом устройстве."</p>
        <p class="note warn gone" role="alert" hidden=move || gone().is_none()>{text(move || {
            let words = gone().filter(|w| !w.is_empty()).unwrap_or_else(|| "дорожная карта удалена для всех координатором".to_owned());
            format!(
                "{}. Её копия осталась только на этом устройстве: её можно прочитать, скачать или удалить в списке.",
                medk_shared::ru::sentence(&words),
            )
        })}</p>
        <p class="note warn problems" role="status" hidden=move || editor.problems.with(Vec::is_empty)>
            "Часть данных этой дорожной карты не прочитана: её записала другая программа не так, как ожидает приложение. Остальное открыто как обычно."
            <small class="details">{text(move || editor.problems.with(|p| p.join("; ")))}</small>
        </p>
    }
}

/// «Вернуть копию с сервера»: drops the changes the relay refused (the
/// person may only read) by putting the server's copy in place of this
/// device's, after asking.
#[component]
fn TakeServersCopy(editor: Editor) -> impl IntoView {
    let app = editor.app;
    let router = crate::ui::route::router();
    let confirm = Confirm::new();
    let busy = RwSignal::new(false);
    let take = move || {
        busy.set(true);
        leptos::task::spawn_local(async move {
            match app.sync().take_servers_copy(editor.id).await {
                Ok(()) => {
                    app.info("Копия с сервера на месте; непринятые изменения удалены с этого устройства.");
                    router.reopen();
                }
                Err(e) => app.error(format!("Не удалось вернуть копию с сервера: {e}")),
            }
            busy.set(false);
        });
    };
    view! {
        <ConfirmButton confirm label="Вернуть копию с сервера" />
        <ConfirmDialog confirm name="Вернуть копию с сервера" yes="Удалить непринятые и вернуть копию с сервера" on_yes=take>
            <p>"Изменения, которые сервер не принял, будут удалены с этого устройства, и откроется дорожная карта, как она сохранена на сервере."</p>
            <p>"Чтобы сохранить их у себя, сначала скачайте файл («Скачать файл»)."</p>
        </ConfirmDialog>
        <p role="status" hidden=move || !busy.get()>"Загружаем с сервера…"</p>
    }
}
