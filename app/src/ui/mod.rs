//! The app's views. `list` is the roadmaps on this device, `editor` one
//! roadmap, `import` and `export` files in and out, `session` signing in and
//! out, `people` and `access` who may do what, `catalogue` the project's
//! risk factors and stage rules; this module holds the shell
//! around them and the notices bar.

mod access;
mod activity_history;
mod catalogue;
mod chart;
mod dashboard;
mod drag;
mod editor;
mod export;
mod fields;
mod file_slot;
mod import;
mod list;
mod people;
mod recovery;
mod route;
mod rows;
mod school;
mod schools;
mod session;
mod status;
mod timeline;

use crate::account::Account;
use crate::storage::{Storage, StorageError};
use crate::sync::SyncService;
use leptos::prelude::*;
use route::{Route, Router};

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
    notice_action: StoredValue<Option<Box<dyn Fn()>>, LocalStorage>,
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

/// Reactive text. Each `move || String` written in a view is its own copy
/// of the rendering code in the wasm; through here they all share one.
pub fn text(f: impl Fn() -> String + Send + Sync + 'static) -> impl IntoView {
    shared_text(std::sync::Arc::new(f))
}

fn shared_text(f: std::sync::Arc<dyn Fn() -> String + Send + Sync>) -> impl IntoView {
    move || f()
}

pub fn ctx() -> AppCtx {
    expect_context::<AppCtx>()
}

pub fn root(storage: Result<Storage, StorageError>) -> impl IntoView {
    match storage {
        Ok(storage) => {
            let notice = RwSignal::new(None);
            let on_error: std::rc::Rc<dyn Fn(String)> =
                std::rc::Rc::new(move |text| notice.set(Some(Notice { text, error: true, action: None })));
            let on_info: std::rc::Rc<dyn Fn(String)> =
                std::rc::Rc::new(move |text| notice.set(Some(Notice { text, error: false, action: None })));
            let account = Account::load();
            let sync = SyncService::start(storage.clone(), on_error, on_info, account);
            provide_context(crate::blobs::Blobs::start(account));
            provide_context(AppCtx {
                storage: StoredValue::new_local(storage),
                sync: StoredValue::new_local(sync),
                account,
                notice,
                notice_action: StoredValue::new_local(None),
            });
            let router = Router::start();
            provide_context(router);
            view! {
                <a class="skip" href="#main">"К содержанию"</a>
                <header class="topbar">
                    <a class="brand" href="/">"МЭДК · Дорожные карты"</a>
                    <status::SyncIndicator />
                    <session::AccountMenu />
                </header>
                <main id="main">
                    <session::ExpiredBanner />
                    {move || match router.route.get() {
                        Route::List => view! { <list::ListPage /> }.into_any(),
                        Route::Roadmap(id) => view! { <editor::EditorPage id /> }.into_any(),
                        Route::Print { id, report } => view! { <export::PrintPage id report /> }.into_any(),
                        Route::Login => view! { <session::LoginPage /> }.into_any(),
                        Route::Invite(code) => view! { <session::InvitePage code /> }.into_any(),
                        Route::Password => view! { <session::PasswordPage /> }.into_any(),
                        Route::People => view! { <people::PeoplePage /> }.into_any(),
                        Route::Monitoring { unit } => view! { <dashboard::DashboardPage unit /> }.into_any(),
                        Route::School(unit) => view! { <school::SchoolPage unit /> }.into_any(),
                        Route::Schools => view! { <schools::SchoolsPage /> }.into_any(),
                        Route::Catalogue => view! { <catalogue::CataloguePage /> }.into_any(),
                        Route::NotFound => view! {
                            <p class="empty">"Страница не найдена. " <a href="/">"К списку"</a></p>
                        }.into_any(),
                    }}
                </main>
                <NoticeBar />
            }
            .into_any()
        }
        Err(e) => view! {
            <main class="fatal" role="alert">
                <h1>"Дорожные карты"</h1>
                <p>"Не удалось открыть хранилище браузера, без него приложение не может сохранять данные."</p>
                <p class="detail">{e.to_string()}</p>
                <p>"Проверьте, что браузер не в режиме инкогнито и что для сайта разрешено хранение данных."</p>
            </main>
        }
        .into_any(),
    }
}

#[component]
fn NoticeBar() -> impl IntoView {
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
