//! The app's views: this module is the shell (top bar, the route switch,
//! the notices bar); the pages are `list`, `editor`, `print`, `session`,
//! `people`, `school`, `schools`, `dashboard` and `catalogue`; components
//! they embed sit beside them, and what they share is in `kit`. Only the
//! shell imports a page, and no module imports in a circle
//! (`app/tests/ui_tree.rs`; README, "The app's screens").

mod access;
mod catalogue;
mod chart;
mod dashboard;
mod editor;
mod export;
mod file_slot;
mod import;
mod kit;
mod list;
mod people;
mod print;
mod recovery;
mod route;
mod school;
mod schools;
mod session;
mod status;

use crate::account::Account;
use crate::storage::{Storage, StorageError};
use crate::sync::SyncService;
use kit::{AppCtx, Notice, NoticeBar};
use leptos::prelude::*;
use route::{Route, Router};

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
                        Route::Print { id, report } => view! { <print::PrintPage id report /> }.into_any(),
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
