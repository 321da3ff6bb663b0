//! Bringing back a document whose copy on this device is broken, from any
//! screen that could not open it: «Загрузить с сервера заново», and opening
//! the screen again by itself once the copy was brought back in the
//! background (on connecting, the sync replaces broken copies).

use super::kit::{AppCtx, ctx};
use leptos::prelude::*;
use medk_shared::ids::DocumentId;

/// «Загрузить с сервера заново»: replaces a broken copy with the server's,
/// keeping what can still be read of it; then shows the screen again.
#[component]
pub fn ReloadFromServer(id: DocumentId) -> impl IntoView {
    let app = ctx();
    let router = super::route::router();
    let busy = RwSignal::new(false);
    let reload = move |_| {
        busy.set(true);
        leptos::task::spawn_local(async move {
            match app.sync().reload_from_server(id).await {
                Ok(()) => router.reopen(),
                Err(e) => app.error(format!("Не удалось загрузить с сервера: {e}")),
            }
            busy.set(false);
        });
    };
    view! {
        <button class="primary" disabled=move || busy.get() on:click=reload>
            {move || if busy.get() { "Загружаем с сервера…" } else { "Загрузить с сервера заново" }}
        </button>
    }
}

/// Shows the current screen again once the broken document `broken` names
/// (none while the screen has nothing broken) is no longer broken.
pub fn reopen_when_recovered(app: AppCtx, broken: impl Fn() -> Option<DocumentId> + 'static) {
    let list_version = app.sync().list_version();
    let router = super::route::router();
    Effect::new(move |previous: Option<u64>| {
        let v = list_version.get();
        if let Some(id) = broken()
            && previous.is_some_and(|p| p != v)
        {
            let storage = app.storage();
            leptos::task::spawn_local(async move {
                if let Ok(Some(meta)) = storage.meta(&id).await
                    && meta.broken.is_none()
                {
                    router.reopen();
                }
            });
        }
        v
    });
}
