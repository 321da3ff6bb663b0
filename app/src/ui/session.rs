//! Signing in and out: the top bar's account menu, the banner of an
//! expired session, and the screens to sign in, accept an invitation and
//! change the password. The forms here and in `people` share [`Submit`]
//! and [`input`].

use super::kit::{Submit, ctx, document_title, input, say, text};
use super::route::{Route, router};
use crate::account::Session;
use crate::api;
use leptos::prelude::*;
use medk_shared::api::{InvitationInfo, Me, ShowInvitation};

/// Shortest password the server takes.
const MIN_PASSWORD: usize = 8;

/// Checks a new password typed twice.
fn new_password(password: &str, again: &str) -> Result<(), String> {
    if password.chars().count() < MIN_PASSWORD {
        return Err(format!("Пароль должен быть не короче {MIN_PASSWORD} символов."));
    }
    if password != again {
        return Err("Пароли не совпадают.".to_owned());
    }
    Ok(())
}

/// The signed-in person's name with a menu, or «Войти». Parts are hidden
/// rather than swapped: every view that comes and goes costs wasm.
#[component]
pub fn AccountMenu() -> impl IntoView {
    let app = ctx();
    let account = app.account;
    let router = router();
    let open = RwSignal::new(false);
    let logout = move |_| {
        open.set(false);
        leptos::task::spawn_local(async move {
            match account.logout().await {
                Ok(()) => app.info("Вы вышли. Дорожные карты остались на этом устройстве."),
                Err(_) => {
                    app.info("Вы вышли на этом устройстве. Сервер недоступен: его сеанс закончится сам.")
                }
            }
            if matches!(router.route.get_untracked(), Route::People | Route::Password) {
                router.navigate("/");
            }
        });
    };
    let signed_in = move || account.session.with(Session::is_signed_in);
    let me = move |f: fn(&Me) -> String| {
        account.session.with(|s| match s {
            Session::SignedIn(me) => f(me),
            _ => String::new(),
        })
    };
    let name = move || me(|me| me.person.name.clone());
    let role = move || {
        let unit = account.unit_name(&me(|me| me.person.unit.clone())).unwrap_or_default();
        format!("{}, {unit}", me(|me| me.person.role.label().to_owned()))
    };
    let manages = move || account.session.with(|s| s.is_signed_in() && s.me().is_some_and(|me| me.manages));
    view! {
        <a class="button topbar-button" href="/login" hidden=signed_in>"Войти"</a>
        <div class="account" hidden=move || !signed_in() on:keydown=move |ev| if ev.key() == "Escape" { open.set(false) }>
            <button class="topbar-button" aria-expanded=move || open.get().to_string()
                aria-controls="account-panel" on:click=move |_| open.update(|o| *o = !*o)>
                <span class="account-name">{text(name)}</span>
            </button>
            <div id="account-panel" class="topbar-panel card" hidden=move || !open.get()>
                <p><strong>{text(name)}</strong><br />{text(role)}</p>
                <nav class="menu" on:click=move |_| open.set(false)>
                    <a class="button" href="/password">"Сменить пароль"</a>
                    <a class="button" href="/schools">"Школы"</a>
                    <a class="button" href="/people" hidden=move || !manages()>"Люди и доступ"</a>
                    <a class="button" href="/monitoring">"Мониторинг"</a>
                    <a class="button" href="/catalogue">"Каталог"</a>
                </nav>
                <button on:click=logout>"Выйти"</button>
            </div>
        </div>
    }
}

#[component]
pub fn ExpiredBanner() -> impl IntoView {
    let account = ctx().account;
    let router = router();
    let hidden =
        move || !matches!(account.session.get(), Session::Expired(_)) || router.route.get() == Route::Login;
    view! {
        <div class="banner" role="alert" hidden=hidden>
            <p>"Сеанс истёк. Войдите снова — изменения, не отправленные на сервер, сохранены на этом устройстве."</p>
            <a class="button primary" href="/login">"Войти"</a>
        </div>
    }
}

#[component]
pub fn LoginPage() -> impl IntoView {
    let app = ctx();
    let account = app.account;
    let router = router();
    let known = account.session.with_untracked(|s| s.me().map(|me| me.person.login.clone()));
    let login = RwSignal::new(known.unwrap_or_default());
    let password = RwSignal::new(String::new());
    let submit = Submit::new();
    document_title("Вход");
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        submit.run(async move {
            account.login(login.get_untracked().trim(), &password.get_untracked()).await.map_err(say)?;
            router.return_after_sign_in();
            Ok(())
        });
    };
    view! {
        <section class="auth card">
            <h1>"Вход"</h1>
            <form on:submit=on_submit aria-label="Вход">
                {input("Логин", "text", "username", login)}
                {input("Пароль", "password", "current-password", password)}
                {submit.view()}
                <button type="submit" class="primary" disabled=move || submit.busy.get()>"Войти"</button>
            </form>
            <p class="hint">"Без входа дорожные карты хранятся только на этом устройстве. "
                "Учётную запись создаёт координатор: он присылает ссылку-приглашение."</p>
        </section>
    }
}

#[component]
pub fn PasswordPage() -> impl IntoView {
    let app = ctx();
    let account = app.account;
    let router = router();
    let current = RwSignal::new(String::new());
    let new = RwSignal::new(String::new());
    let again = RwSignal::new(String::new());
    let submit = Submit::new();
    document_title("Смена пароля");
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        submit.run(async move {
            let (new, again) = (new.get_untracked(), again.get_untracked());
            new_password(&new, &again)?;
            account.change_password(&current.get_untracked(), &new).await.map_err(say)?;
            app.info("Пароль изменён. На других устройствах нужно войти снова.");
            router.navigate("/");
            Ok(())
        });
    };
    let signed_in = move || account.session.with(Session::is_signed_in);
    view! {
        <section class="auth card" hidden=move || !signed_in()>
            <h1>"Смена пароля"</h1>
            <form on:submit=on_submit aria-label="Смена пароля">
                {input("Текущий пароль", "password", "current-password", current)}
                {input("Новый пароль", "password", "new-password", new)}
                {input("Новый пароль ещё раз", "password", "new-password", again)}
                {submit.view()}
                <button type="submit" class="primary" disabled=move || submit.busy.get()>"Сменить пароль"</button>
            </form>
        </section>
        <p class="empty" hidden=signed_in>"Чтобы сменить пароль, " <a href="/login">"войдите"</a>"."</p>
    }
}

#[component]
pub fn InvitePage(code: String) -> impl IntoView {
    let app = ctx();
    let account = app.account;
    let router = router();
    let info: RwSignal<Option<Result<InvitationInfo, String>>> = RwSignal::new(None);
    let name = RwSignal::new(String::new());
    {
        let invitation = ShowInvitation { code: code.clone() };
        leptos::task::spawn_local(async move {
            let answer = api::call(&invitation, &()).await.map_err(|e| match e {
                e if e.is_status(404) => {
                    "Приглашение не найдено: им уже воспользовались, его отозвали или срок его действия истёк. \
                     Попросите координатора прислать новое."
                        .to_owned()
                }
                e => say(e),
            });
            if let Ok(invited) = &answer
                && name.with_untracked(String::is_empty)
            {
                name.set(invited.name.clone());
            }
            info.set(Some(answer));
        });
    }
    let login = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let again = RwSignal::new(String::new());
    let submit = Submit::new();
    document_title("Приглашение");
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let code = code.clone();
        submit.run(async move {
            let (password, again) = (password.get_untracked(), again.get_untracked());
            new_password(&password, &again)?;
            let name = name.get_untracked().trim().to_owned();
            account.accept(&code, login.get_untracked().trim(), &name, &password).await.map_err(say)?;
            app.info(format!("Добро пожаловать, {name}!"));
            router.navigate("/");
            Ok(())
        });
    };
    let signed_in_as = move || account.session.with(|s| s.me().map(|me| me.person.name.clone()));
    let invitation = move |f: fn(&InvitationInfo) -> String| {
        info.with(|i| i.as_ref().and_then(|i| i.as_ref().ok()).map(f).unwrap_or_default())
    };
    let failure = move || info.with(|i| i.as_ref().and_then(|i| i.as_ref().err()).cloned());
    view! {
        <p class="empty" hidden=move || info.with(Option::is_some)>"Проверяем приглашение…"</p>
        <section class="auth card" role="alert" hidden=move || failure().is_none()>
            <h1>"Приглашение"</h1>
            <p>{text(move || failure().unwrap_or_default())}</p>
        </section>
        <section class="auth card" hidden=move || !info.with(|i| matches!(i, Some(Ok(_))))>
            <h1>"Приглашение"</h1>
            <p class="invitation">"Вас приглашают в проект «500+»: "
                <strong>{text(move || invitation(|i| i.role.label().to_owned()))}</strong>", "
                <strong>{text(move || invitation(|i| i.unit_name.clone()))}</strong>"."</p>
            <p class="hint">"Приглашение действует до "
                {text(move || invitation(|i| crate::browser::local_time(i.expires_at as f64 * 1000.0)))} "."</p>
            <p class="hint" hidden=move || signed_in_as().is_none()>
                "Сейчас на этом устройстве выполнен вход: " {text(move || signed_in_as().unwrap_or_default())}
                ". Новая учётная запись войдёт вместо неё."</p>
            <form on:submit=on_submit aria-label="Регистрация">
                {input("ФИО", "text", "name", name)}
                {input("Логин", "text", "username", login)}
                {input("Пароль", "password", "new-password", password)}
                {input("Пароль ещё раз", "password", "new-password", again)}
                {submit.view()}
                <button type="submit" class="primary" disabled=move || submit.busy.get()>"Принять приглашение"</button>
            </form>
        </section>
    }
}
