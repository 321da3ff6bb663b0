//! What every view can reach ([`AppCtx`]: storage, the sync, the account)
//! and the notices bar at the bottom of the screen that any view writes to.

use crate::account::Account;
use crate::storage::Storage;
use crate::sync::SyncService;
use leptos::prelude::*;

/// What every view can reach.
#[derive(Clone, Copy)]
pub struct AppCtx {
    pub storage: StoredValue<Storage, LocalStorage>,
    /// The connection to the relay and the open documents.
    pub sync: StoredValue<SyncService, LocalStorage>,
    /// Who is signed in, and their rights.
    pub account: Account,
    pub notice: RwSignal<Option<Notice>>,
    /// What the current notice's button does. One slot owned by the app, so
    /// the action outlives the view that raised it (a deleted row's view is
    /// gone by the time «Отменить» is pressed).
    pub(in crate::ui) notice_action: StoredValue<Option<Box<dyn Fn()>>, LocalStorage>,
}

/// A message at the bottom of the screen, optionally with a button label
/// («Отменить») for the action in [`AppCtx::notice_action`].
#[derive(Clone, PartialEq)]
pub struct Notice {
    pub text: String,
    pub error: bool,
    pub action: Option<String>,
}

impl AppCtx {
    pub fn storage(&self) -> Storage {
        self.storage.get_value()
    }

    pub fn sync(&self) -> SyncService {
        self.sync.get_value()
    }

    pub fn info(&self, text: impl Into<String>) {
        self.show(Notice { text: text.into(), error: false, action: None }, None);
    }

    pub fn error(&self, text: impl Into<String>) {
        self.show(Notice { text: text.into(), error: true, action: None }, None);
    }

    pub fn with_action(&self, text: impl Into<String>, label: &str, action: impl Fn() + 'static) {
        let notice = Notice { text: text.into(), error: false, action: Some(label.to_owned()) };
        self.show(notice, Some(Box::new(action)));
    }

    fn show(&self, notice: Notice, action: Option<Box<dyn Fn()>>) {
        self.notice_action.set_value(action);
        self.notice.set(Some(notice));
    }

    fn run_notice_action(&self) {
        let action = self.notice_action.try_update_value(|a| a.take()).flatten();
        self.notice.set(None);
        if let Some(action) = action {
            action();
        }
    }
}

pub fn ctx() -> AppCtx {
    expect_context::<AppCtx>()
}

#[component]
pub fn NoticeBar() -> impl IntoView {
    let app = ctx();
    // A notice goes away by itself after a while; a newer one replaces it.
    Effect::new(move |_| {
        if let Some(notice) = app.notice.get() {
            let text = notice.text.clone();
            set_timeout(
                move || {
                    if app.notice.with_untracked(|n| n.as_ref().is_some_and(|n| n.text == text)) {
                        app.notice.set(None);
                    }
                },
                std::time::Duration::from_secs(if notice.error { 15 } else { 8 }),
            );
        }
    });
    view! {
        <div class="notices" role="status" aria-live="polite">
            {move || app.notice.get().map(|n| {
                let action = n.action.clone().map(|label| view! {
                    <button class="notice-action" on:click=move |_| app.run_notice_action()>{label}</button>
                });
                view! {
                    <div class="notice" class:error=n.error>
                        <span>{n.text.clone()}</span>
                        {action}
                        <button class="notice-close" aria-label="Закрыть" on:click=move |_| app.notice.set(None)>"×"</button>
                    </div>
                }
            })}
        </div>
    }
}
