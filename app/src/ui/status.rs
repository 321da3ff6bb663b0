//! The always-visible sync indicator: signed out / session expired /
//! offline / connecting / syncing / synced, with the count of changes and
//! attached files not on the server yet, and a panel with the name other
//! people see.

use super::kit::ctx;
use crate::account::Session;
use crate::sync::{Connection, SyncStatus};
use leptos::prelude::*;

/// Files attached on this device that the server does not have.
#[derive(Clone, Copy, Default)]
struct Files {
    /// Waiting to be sent.
    queued: usize,
    /// The server refused them (the school screen says why).
    refused: usize,
}

/// What the indicator says, and its style.
fn describe(session: &Session, status: &SyncStatus, files: Files) -> (&'static str, String) {
    let mut pending = match status.unsynced + status.rejected {
        0 => String::new(),
        n => format!(" · не отправлено: {n}"),
    };
    if files.queued + files.refused > 0 {
        pending.push_str(&format!(" · файлов не на сервере: {}", files.queued + files.refused));
    }
    if status.broken > 0 {
        pending.push_str(&format!(" · не читаются на устройстве: {}", status.broken));
    }
    // Documents not counted yet (the first moments of a start): the bar
    // never looks as if nothing were pending before they are.
    if status.uncounted > 0 && status.connection != Connection::Online {
        pending.push_str(" · проверка изменений…");
    }
    match (session, status.connection) {
        (Session::SignedOut, _) => ("signed-out", format!("Вход не выполнен{pending}")),
        (Session::Expired(_), _) => ("expired", format!("Сеанс истёк{pending}")),
        (_, Connection::Offline) => ("offline", format!("Нет связи{pending}")),
        // The device has a network, but the relay has not answered for a while.
        (_, Connection::Connecting) if status.failed_attempts >= 3 => {
            ("connecting", format!("Сервер недоступен, пробуем снова…{pending}"))
        }
        (_, Connection::Connecting) => ("connecting", format!("Подключение…{pending}")),
        (_, Connection::Online) if status.unsynced > 0 => ("syncing", format!("Синхронизация{pending}")),
        (_, Connection::Online) if status.broken > 0 => {
            ("broken", format!("Не читаются на устройстве: {}", status.broken))
        }
        (_, Connection::Online) if status.uncounted > 0 => ("syncing", "Проверка изменений…".to_owned()),
        (_, Connection::Online) if status.rejected > 0 => {
            ("rejected", format!("Сервер не принял изменений: {}", status.rejected))
        }
        // Everything else is on the server: said first, so a roadmap
        // deleted for everyone does not hide that the rest is saved.
        (_, Connection::Online) if status.gone > 0 => {
            ("gone", format!("Остальное сохранено на сервере · удалены для всех: {}", status.gone))
        }
        (_, Connection::Online) if files.refused > 0 => {
            ("rejected", format!("Сервер не принял файлов: {}", files.refused))
        }
        (_, Connection::Online) if files.queued > 0 => {
            ("syncing", format!("Отправка файлов: {}", files.queued))
        }
        (_, Connection::Online) => ("synced", "Всё сохранено на сервере".to_owned()),
    }
}

#[component]
pub fn SyncIndicator() -> impl IntoView {
    let sync = ctx().sync();
    let session = ctx().account.session;
    let status = sync.status();
    let name = sync.name();
    let open = RwSignal::new(false);
    let blobs = use_context::<crate::blobs::Blobs>();
    let files = move || {
        blobs
            .map(|b| {
                b.uploads.with(|u| {
                    let refused =
                        u.values().filter(|s| matches!(s, crate::blobs::UploadState::Refused(_))).count();
                    let queued =
                        u.values().filter(|s| matches!(s, crate::blobs::UploadState::Queued)).count();
                    Files { queued, refused }
                })
            })
            .unwrap_or_default()
    };
    let described = move || session.with(|session| describe(session, &status.get(), files()));
    let text = move || described().1;
    let state = move || described().0;
    view! {
        <div class="sync">
            <button class="sync-status" data-state=state aria-label=text aria-expanded=move || open.get().to_string()
                aria-controls="sync-panel" on:click=move |_| open.update(|o| *o = !*o)>
                <span class="dot" aria-hidden="true"></span>
                <span class="sync-text" aria-live="polite">{text}</span>
            </button>
            <Show when=move || open.get()>
                <div id="sync-panel" class="sync-panel card">
                    <p>{move || match (state(), status.get().connection) {
                        ("signed-out", _) => "Вы не вошли: дорожные карты хранятся только на этом устройстве. Войдите, чтобы они синхронизировались с сервером.",
                        ("expired", _) => "Сеанс истёк: войдите снова. Изменения, не отправленные на сервер, сохранены на этом устройстве.",
                        ("rejected", _) => "Часть изменений или файлов сервер не принял; почему — сказано на экране документа (или школы). Они сохранены на этом устройстве.",
                        ("gone", _) => "Координатор удалил для всех дорожные карты, копии которых остались на этом устройстве: их можно прочитать, скачать или удалить в списке. Всё остальное сохранено на сервере.",
                        ("broken", _) => "Копию части документов на этом устройстве не удалось прочитать; её данные отложены. При связи с сервером они загружаются заново, а всё, что удаётся прочитать из повреждённой копии, добавляется к ним. Есть ли там неотправленные изменения, неизвестно.",
                        (_, Connection::Offline) => "Сети нет. Все изменения сохраняются на этом устройстве и уйдут на сервер, когда связь появится.",
                        (_, Connection::Connecting) if status.get().failed_attempts >= 3 => "Сервер не отвечает. Все изменения сохраняются на этом устройстве и уйдут на сервер, когда он снова будет доступен.",
                        (_, Connection::Connecting) => "Подключаемся к серверу. Работать можно и без связи.",
                        (_, Connection::Online) => "Подключено к серверу: изменения других людей появляются сразу.",
                    }}</p>
                    <label>"Ваше имя для соавторов"
                        <input type="text" maxlength="80" prop:value=move || name.get()
                            placeholder="Например, Анна Петровна"
                            on:change={
                                let sync = ctx().sync();
                                move |ev| sync.set_name(event_target_value(&ev))
                            } />
                    </label>
                </div>
            </Show>
        </div>
    }
}
