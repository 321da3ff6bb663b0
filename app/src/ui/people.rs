//! «Люди и доступ», for coordinators: the units they manage (and adding
//! one), invitations (create, copy the link, revoke), and the people in
//! those units (a curator's schools, disabling an account).

use super::kit::{Submit, ctx, document_title, input, say, text, unit_options};
use crate::api;
use leptos::prelude::*;
use medk_shared::access::{Level, Person, Role, Unit};
use medk_shared::actions::school::name_curator;
use medk_shared::api::{
    AddUnit, CreateInvitation, Invitation, ListPeople, NewInvitation, NewUnit, People, PersonChange,
    RevokeInvitation, UpdatePerson,
};
use medk_shared::school::PersonRef;

fn invitation_link(code: &str) -> String {
    crate::browser::link(&super::route::Route::Invite(code.to_string()).href())
}

#[component]
pub fn PeoplePage() -> impl IntoView {
    let account = ctx().account;
    let data: RwSignal<Option<Result<People, String>>> = RwSignal::new(None);
    let reload = move || {
        leptos::task::spawn_local(async move {
            data.set(Some(api::call(&ListPeople, &()).await.map_err(say)));
        })
    };
    reload();
    document_title("Люди и доступ");
    let allowed = move || account.session.with(|s| s.is_signed_in() && s.me().is_some_and(|me| me.manages));
    view! {
        <section class="people-page">
            <h1>"Люди и доступ"</h1>
            <p class="empty" hidden=allowed>"Этот раздел — для координаторов, вошедших в систему. " <a href="/">"К списку"</a></p>
            <div hidden=move || !allowed()>
                <UnitsCard />
                <InvitationsCard data reload />
                <PeopleCard data />
            </div>
        </section>
    }
}

/// The names of units, for showing ids.
fn unit_name(id: &str) -> String {
    ctx().account.unit_name(id).unwrap_or_else(|| id.to_owned())
}

#[component]
fn UnitsCard() -> impl IntoView {
    let app = ctx();
    let account = app.account;
    let units = Memo::new(move |_| account.managed_units());
    let own = account.me().map(|me| me.person.unit).unwrap_or_default();
    let parent = RwSignal::new(own);
    let parent_level =
        move || parent.with(|p| units.with(|u| u.iter().find(|(u, _)| u.id == *p).map(|(u, _)| u.level)));
    let levels =
        move || Level::ALL.into_iter().filter(|l| parent_level().is_some_and(|p| *l > p)).collect::<Vec<_>>();
    let level = RwSignal::new(Level::Region);
    Effect::new(move |_| {
        let allowed = levels();
        if !allowed.contains(&level.get_untracked())
            && let Some(first) = allowed.first()
        {
            level.set(*first);
        }
    });
    let name = RwSignal::new(String::new());
    let submit = Submit::new();
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let body = NewUnit {
            parent: parent.get_untracked(),
            level: level.get_untracked(),
            name: name.get_untracked(),
        };
        submit.run(async move {
            let unit = api::call(&AddUnit, &body).await.map_err(say)?;
            // The new unit is in the person's `units` from now on.
            let _ = account.check().await;
            app.info(format!("Добавлена организация «{}»", unit.name));
            name.set(String::new());
            Ok(())
        });
    };
    view! {
        <section class="card" aria-labelledby="units-title">
            <h2 id="units-title">"Организации"</h2>
            <ul class="tree">
                {move || units.get().into_iter().map(|(u, depth)| view! {
                    <li style:padding-left=format!("{}px", depth * 24)>
                        {u.name}" "<span class="hint">{u.level.label()}</span>
                    </li>
                }).collect_view()}
            </ul>
            <form class="inline-form" on:submit=on_submit aria-label="Добавить организацию">
                <h3>"Добавить организацию"</h3>
                <label>"Входит в"
                    <select on:change=move |ev| parent.set(event_target_value(&ev))>
                        {unit_options(
                            Signal::derive(move || units.get().into_iter().filter(|(u, _)| u.level < Level::School).collect()),
                            parent.into(),
                        )}
                    </select>
                </label>
                <label>"Уровень"
                    <select on:change=move |ev| {
                        if let Some(l) = Level::ALL.into_iter().find(|l| format!("{l:?}") == event_target_value(&ev)) {
                            level.set(l);
                        }
                    }>
                        {Level::ALL[1..].iter().map(|&l| view! {
                            <option value=format!("{l:?}") selected=move || level.get() == l
                                hidden=move || !levels().contains(&l) disabled=move || !levels().contains(&l)>{l.label()}</option>
                        }).collect_view()}
                    </select>
                </label>
                {input("Название", "text", "off", name)}
                {submit.view()}
                <button type="submit" class="primary" disabled=move || submit.busy.get()>"Добавить организацию"</button>
            </form>
        </section>
    }
}

/// Checkboxes of the schools the person manages; `chosen` holds the ids.
fn school_picker(legend: &'static str, chosen: RwSignal<Vec<String>>) -> impl IntoView {
    let schools: Vec<Unit> = ctx()
        .account
        .managed_units()
        .into_iter()
        .map(|(u, _)| u)
        .filter(|u| u.level == Level::School)
        .collect();
    view! {
        <fieldset class="schools">
            <legend>{legend}</legend>
            {if schools.is_empty() { Some(view! { <p class="hint">"Школ пока нет: добавьте их в «Организации»."</p> }) } else { None }}
            {schools.into_iter().map(|s| {
                let (id, id2) = (s.id.clone(), s.id.clone());
                view! {
                    <label class="check">
                        <input type="checkbox" prop:checked=move || chosen.with(|c| c.contains(&id))
                            on:change=move |ev| {
                                let on = event_target_checked(&ev);
                                chosen.update(|c| {
                                    c.retain(|x| *x != id2);
                                    if on {
                                        c.push(id2.clone());
                                    }
                                });
                            } />
                        {s.name}
                    </label>
                }
            }).collect_view()}
        </fieldset>
    }
}

#[component]
fn InvitationsCard(
    data: RwSignal<Option<Result<People, String>>>,
    reload: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let account = ctx().account;
    let units = Memo::new(move |_| account.managed_units());
    let roles = move || {
        Role::ALL
            .into_iter()
            .filter(|r| units.with(|u| u.iter().any(|(u, _)| r.fits(u.level))))
            .collect::<Vec<_>>()
    };
    let role = RwSignal::new(Role::SchoolTeam);
    let unit = RwSignal::new(String::new());
    let fitting = Signal::derive(move || {
        let r = role.get();
        units.get().into_iter().filter(|(u, _)| r.fits(u.level)).collect::<Vec<_>>()
    });
    // Keep the role and the unit choosable as the tree and the role change.
    Effect::new(move |_| {
        let allowed = roles();
        if !allowed.contains(&role.get_untracked())
            && let Some(first) = allowed.first()
        {
            role.set(*first);
        }
    });
    Effect::new(move |_| {
        let fits = fitting.get();
        if !fits.iter().any(|(u, _)| unit.with_untracked(|x| *x == u.id))
            && let Some((first, _)) = fits.first()
        {
            unit.set(first.id.clone());
        }
    });
    let created = RwSignal::new(String::new());
    let invitee = RwSignal::new(String::new());
    let submit = Submit::new();
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let body = NewInvitation {
            role: role.get_untracked(),
            unit: unit.get_untracked(),
            schools: Vec::new(),
            name: invitee.get_untracked(),
        };
        submit.run(async move {
            let invitation = api::call(&CreateInvitation, &body).await.map_err(say)?;
            created.set(invitation_link(&invitation.code.unwrap_or_default()));
            invitee.set(String::new());
            reload();
            Ok(())
        });
    };
    let list = move || {
        data.with(|d| {
            d.as_ref().and_then(|d| d.as_ref().ok()).map(|d| d.invitations.clone()).unwrap_or_default()
        })
    };
    view! {
        <section class="card" aria-labelledby="invitations-title">
            <h2 id="invitations-title">"Приглашения"</h2>
            <form class="inline-form" on:submit=on_submit aria-label="Новое приглашение">
                <label>"Роль"
                    <select on:change=move |ev| {
                        if let Some(r) = Role::parse(&event_target_value(&ev)) {
                            role.set(r);
                        }
                    }>
                        {Role::ALL.into_iter().map(|r| view! {
                            <option value=r.as_str() selected=move || role.get() == r
                                hidden=move || !roles().contains(&r) disabled=move || !roles().contains(&r)>{r.label()}</option>
                        }).collect_view()}
                    </select>
                </label>
                <label>"Организация"
                    <select on:change=move |ev| unit.set(event_target_value(&ev))>
                        {unit_options(fitting, unit.into())}
                    </select>
                </label>
                <label>"Кого приглашаете (ФИО)"
                    <input type="text" maxlength="200" autocomplete="off" prop:value=move || invitee.get()
                        on:input=move |ev| invitee.set(event_target_value(&ev)) />
                </label>
                <p class="hint wide" hidden=move || role.get() != Role::Curator>
                    "Школы куратору назначают, когда он примет приглашение: «Изменить школы» в списке людей или «Изменить участников» на странице школы."
                </p>
                {submit.view()}
                <button type="submit" class="primary" disabled=move || submit.busy.get()>"Создать приглашение"</button>
            </form>
            <div class="invite-link" role="status" hidden=move || created.with(String::is_empty)>
                <p>"Приглашение создано. Отправьте эту ссылку человеку, которого приглашаете (действует 14 дней):"</p>
                <CopyLink link=created />
            </div>
            <h3>"Приглашения за 14 дней"</h3>
            <p class="hint" hidden=move || !list().is_empty()>"Нет действующих приглашений."</p>
            <p class="hint" hidden=move || list().is_empty()>
                "Ссылку показывают один раз, при создании: сервер хранит не её саму, а только отпечаток. Потерянную ссылку отзовите и создайте приглашение заново."
            </p>
            <ul class="entries">
                {move || list().into_iter().map(|i| view! { <InvitationItem invitation=i reload /> }).collect_view()}
            </ul>
        </section>
    }
}

/// A link in a read-only field with «Копировать».
#[component]
fn CopyLink(#[prop(into)] link: Signal<String>) -> impl IntoView {
    let app = ctx();
    let copy = move |_| {
        let text = link.get_untracked();
        leptos::task::spawn_local(async move {
            if crate::browser::copy(&text).await {
                app.info("Ссылка скопирована");
            } else {
                app.info("Не удалось скопировать: выделите ссылку и скопируйте её вручную");
            }
        });
    };
    view! {
        <div class="copy-link">
            <input readonly=true aria-label="Ссылка-приглашение" prop:value=link on:focus=move |ev| {
                use wasm_bindgen::JsCast;
                if let Some(input) = ev.target().and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok()) {
                    input.select();
                }
            } />
            <button type="button" on:click=copy>"Копировать"</button>
        </div>
    }
}

#[component]
fn InvitationItem(invitation: Invitation, reload: impl Fn() + Copy + Send + Sync + 'static) -> impl IntoView {
    let app = ctx();
    let schools = invitation.schools.iter().map(|s| unit_name(s)).collect::<Vec<_>>().join(", ");
    let revoking = RevokeInvitation { code: invitation.id.clone() };
    let revoke = move |_| {
        let revoking = revoking.clone();
        leptos::task::spawn_local(async move {
            match api::call(&revoking, &()).await {
                Ok(_) => {
                    app.info("Приглашение отозвано");
                    reload();
                }
                Err(e) => app.error(format!("Не удалось отозвать: {}", say(e))),
            }
        });
    };
    let accepted = invitation.accepted_by.clone();
    let is_accepted = accepted.is_some();
    let invitee =
        if invitation.name.is_empty() { "Без имени".to_owned() } else { invitation.name.clone() };
    view! {
        <li class="entry invitation" class:accepted=is_accepted>
            <p>
                <strong class="invitee">{invitee}</strong>" — "{invitation.role.label()}", "{unit_name(&invitation.unit)}
                {(!schools.is_empty()).then(|| format!("; школы: {schools}"))}
                <br />
                {match accepted {
                    Some(a) => view! { <span class="accepted-by">{format!("Принято: {} ({})", a.name, a.login)}</span> }.into_any(),
                    None => view! { <span class="hint">"действует до " {crate::browser::local_time(invitation.expires_at as f64 * 1000.0)}</span> }.into_any(),
                }}
            </p>
            <button class="danger" hidden=is_accepted on:click=revoke>"Отозвать"</button>
        </li>
    }
}

#[component]
fn PeopleCard(data: RwSignal<Option<Result<People, String>>>) -> impl IntoView {
    view! {
        <section class="card" aria-labelledby="people-title">
            <h2 id="people-title">"Люди"</h2>
            <p class="hint" role="status">{text(move || data.with(|d| match d {
                None => "Загрузка…".to_owned(),
                Some(Err(e)) => e.clone(),
                Some(Ok(d)) if d.people.is_empty() => "Пока никого: пригласите людей выше.".to_owned(),
                Some(Ok(_)) => String::new(),
            }))}</p>
            <ul class="entries">
                {move || data.with(|d| match d {
                    Some(Ok(d)) => d.people.clone(),
                    _ => Vec::new(),
                }).into_iter().map(|p| view! { <PersonItem person=p data /> }).collect_view()}
            </ul>
        </section>
    }
}

#[component]
fn PersonItem(person: Person, data: RwSignal<Option<Result<People, String>>>) -> impl IntoView {
    let app = ctx();
    // The relay's rule: not oneself, not a coordinator of one's own unit.
    let may_disable = app.account.org().is_some_and(|(org, me)| org.may_disable(&me, &person));
    let editing = RwSignal::new(false);
    let chosen = RwSignal::new(person.schools.clone());
    let updating = UpdatePerson { id: person.id.clone() };
    // The answer replaces the person in the list.
    let update = move |body: PersonChange| {
        let updating = updating.clone();
        leptos::task::spawn_local(async move {
            match api::call(&updating, &body).await {
                Ok(person) => data.update(|d| {
                    if let Some(Ok(d)) = d
                        && let Some(p) = d.people.iter_mut().find(|p| p.id == person.id)
                    {
                        *p = person;
                    }
                }),
                Err(e) => app.error(format!("Не изменено: {}", say(e))),
            }
        });
    };
    let schools = person.schools.iter().map(|s| unit_name(s)).collect::<Vec<_>>().join(", ");
    let disabled = person.disabled;
    let toggle = {
        let update = update.clone();
        move |_| update(PersonChange { schools: None, disabled: Some(!disabled) })
    };
    // A curator's schools are the schools whose files name them
    // («Участники»): the one assignment the rights, the school screen and
    // the dashboards follow. Written into each school's file (offline too);
    // the relay gives the rights once it takes the change.
    let save_schools = {
        let curator = PersonRef { id: person.id.clone(), name: person.name.clone() };
        let person = person.clone();
        move |_| {
            editing.set(false);
            let after = chosen.get_untracked();
            let changed: Vec<(String, bool, String)> = person
                .school_changes(&after)
                .into_iter()
                .map(|(s, named)| {
                    let name = unit_name(&s);
                    (s, named, name)
                })
                .collect();
            let curator = curator.clone();
            leptos::task::spawn_local(async move {
                let sync = app.sync();
                let mut failed = Vec::new();
                for (school, named, name) in changed {
                    let written = match sync.open_school(&school).await {
                        Ok(file) => {
                            let mut file = file.borrow_mut();
                            let edit = file.school().and_then(|s| name_curator(&s, &curator, named));
                            match edit {
                                Some(edit) => {
                                    file.apply_school(vec![edit], "set curator", &app.account.author())
                                }
                                None => Ok(()),
                            }
                        }
                        Err(e) => Err(e.to_string()),
                    };
                    if let Err(e) = written {
                        failed.push(format!("{name}: {e}"));
                    }
                }
                if failed.is_empty() {
                    data.update(|d| {
                        if let Some(Ok(d)) = d
                            && let Some(p) = d.people.iter_mut().find(|p| p.id == curator.id)
                        {
                            p.schools = after;
                        }
                    });
                    app.info(format!("Школы куратора записаны: {}", curator.name));
                } else {
                    app.error(format!("Не записано в файлы школ: {}", failed.join("; ")));
                }
            });
        }
    };
    let is_curator = person.role == Role::Curator;
    view! {
        <li class="entry" class:disabled=disabled>
            <p>
                <strong>{person.name.clone()}</strong>" ("{person.login.clone()}")"
                <br />{person.role.label()}", "{unit_name(&person.unit)}
                {disabled.then_some(" · отключён")}
                {is_curator.then(|| format!(" · школы: {}", if schools.is_empty() { "не назначены" } else { &schools }))}
            </p>
            {is_curator.then(|| view! {
                <button aria-expanded=move || editing.get().to_string() on:click=move |_| editing.update(|e| *e = !*e)>"Изменить школы"</button>
            })}
            {may_disable.then(|| view! {
                <button class:danger=!disabled on:click=toggle>{if disabled { "Включить" } else { "Отключить" }}</button>
            })}
            <div class="school-edit" hidden=move || !editing.get()>
                {school_picker("Школы куратора", chosen)}
                <button class="primary" on:click=save_schools>"Сохранить школы"</button>
            </div>
        </li>
    }
}
