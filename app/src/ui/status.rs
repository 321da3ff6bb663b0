//! The always-visible sync indicator: offline / connecting / syncing /
//! synced, with the count of changes not on the server yet, and a panel
//! with the name other people see.

use super::ctx;
use crate::sync::{Connection, SyncStatus};
use leptos::prelude::*;

/// What the indicator says, and its style.
fn describe(status: &SyncStatus) -> (&'static str, String) {
    let pending = match status.unsynced {
        0 => String::new(),
        n => format!(" · не отправлено: {n}"),
    };
    match status.connection {
        Connection::Offline => ("offline", format!("Нет связи{pending}")),
        Connection::Connecting => ("connecting", format!("Подключение…{pending}")),
        Connection::Online if status.unsynced > 0 => ("syncing", format!("Синхронизация{pending}")),
        Connection::Online => ("synced", "Всё сохранено на сервере".to_owned()),
    }
}

#[component]
pub fn SyncIndicator() -> impl IntoView {
    let sync = ctx().sync();
    let status = sync.status();
    let name = sync.name();
    let open = RwSignal::new(false);
    let text = move || describe(&status.get()).1;
    let state = move || describe(&status.get()).0;
    view! {
        <div class="sync">
            <button class="sync-status" data-state=state aria-label=text aria-expanded=move || open.get().to_string()
                aria-controls="sync-panel" on:click=move |_| open.update(|o| *o = !*o)>
                <span class="dot" aria-hidden="true"></span>
                <span class="sync-text" aria-live="polite">{text}</span>
            </button>
            <Show when=move || open.get()>
                <div id="sync-panel" class="sync-panel card">
                    <p>{move || match status.get().connection {
                        Connection::Offline => "Сети нет. Все изменения сохраняются на этом устройстве и уйдут на сервер, когда связь появится.",
                        Connection::Connecting => "Подключаемся к серверу. Работать можно и без связи.",
                        Connection::Online => "Подключено к серверу: изменения других людей появляются сразу.",
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
