//! The rows of a roadmap: sections, activities (a table row on wide
//! screens, a card on narrow ones — the same markup, laid out by CSS; each
//! with its deadline state and a way to its history), and the working group.

use super::dom::focus_row;
use super::drag::DragHandle;
use super::fields::TextField;
use super::state::Editor;
use leptos::prelude::*;
use medk_shared::actions::{self, Direction};
use medk_shared::doc::{Edit, RowKind, RowRef, TextTarget};
use medk_shared::ids::RowId;
use medk_shared::indicators::{DeadlineState, deadline_state};
use medk_shared::model::{Activity, Member, MemberField, Status};

#[component]
pub fn SectionBlock(editor: Editor, id: RowId) -> impl IntoView {
    let title = editor.section_title(&id).unwrap_or_else(|| RwSignal::new(String::new()));
    let number = {
        let id = id.clone();
        move || editor.layout.with(|l| l.iter().position(|s| s.id == id).map_or(0, |i| i + 1))
    };
    let activities = {
        let id = id.clone();
        move || editor.rendered_activities(&id)
    };
    let count = {
        let activities = activities.clone();
        move || activities().len()
    };
    let (sid1, sid2, sid3, sid4) = (id.clone(), id.clone(), id.clone(), id.clone());
    let delete_section = move |_| {
        let n = count();
        let title = title.get_untracked();
        editor.act("delete section", |_| vec![actions::delete(RowRef::Section(sid4.clone()))]);
        let what = if n == 0 {
            format!("Раздел «{title}» удалён")
        } else {
            format!("Раздел «{title}» и {n} мероприятий удалены")
        };
        editor.offer_undo(what);
    };
    view! {
        <div class="section" role="rowgroup" data-section=id.to_string()>
            <div class="section-head" role="row">
                <div role="cell" class="section-cell">
                    <span class="section-label">"Раздел " {number}</span>
                    <TextField editor target=TextTarget::Section(id.clone()) value=title
                        label="Название раздела" class="section-title" placeholder="Название раздела" />
                    <div class="row-actions">
                        <button class="icon" aria-label="Раздел выше" title="Раздел выше"
                            on:click=move |_| editor.act("move section", |doc| actions::move_row(doc, RowKind::Section, &sid1, Direction::Up).into_iter().collect())>"↑"</button>
                        <button class="icon" aria-label="Раздел ниже" title="Раздел ниже"
                            on:click=move |_| editor.act("move section", |doc| actions::move_row(doc, RowKind::Section, &sid2, Direction::Down).into_iter().collect())>"↓"</button>
                        <button class="icon danger" aria-label="Удалить раздел" title="Удалить раздел" on:click=delete_section>"✕"</button>
                    </div>
                </div>
            </div>
            <For each=activities.clone() key=|id| id.clone() let:activity>
                <ActivityRow editor id=activity />
            </For>
            <div class="section-foot" role="row">
                <div role="cell">
                    <button class="add-activity" on:click=move |_| {
                        let last = editor.layout.with_untracked(|l| l.iter().find(|s| s.id == sid3).and_then(|s| s.activities.last().cloned()));
                        editor.insert_activity(&sid3, last.as_ref());
                    }>"+ Мероприятие"</button>
                </div>
            </div>
        </div>
    }
}

#[component]
fn ActivityRow(editor: Editor, id: RowId) -> impl IntoView {
    let Some(activity) = editor.activity(&id) else {
        return ().into_any();
    };
    let cells = {
        let id = id.clone();
        move || {
            editor
                .columns
                .get()
                .into_iter()
                .map(|column| {
                    let field = column.field;
                    let value = Signal::derive(move || activity.with(|a| a.text(field).to_owned()));
                    view! {
                        <div role="cell" class=format!("cell col-{}", field.key()) data-label=column.title.clone()>
                            <TextField editor target=TextTarget::Activity(id.clone(), field) value
                                label=column.title.clone() class=format!("f-{}", field.key()) />
                        </div>
                    }
                })
                .collect_view()
        }
    };
    let status = move || activity.with(|a| a.status);
    let state = Memo::new(move |_| {
        let year = editor.header.with(|h| h.year);
        activity.with(|a| deadline_state(a, year, editor.today))
    });
    let shown = move || activity.with(|a| editor.passes(a));
    let is_dragged = {
        let id = id.clone();
        move || editor.drag.row.with(|r| r.as_ref() == Some(&id))
    };
    let drop_here = {
        let id = id.clone();
        move |after: bool| {
            editor.drag.target.with(|t| t.as_ref().is_some_and(|t| t.id == id && t.after == after))
        }
    };
    view! {
        <div class="row" role="row" data-activity=id.to_string()
            class:dragging=is_dragged
            class:drop-before={
                let drop_here = drop_here.clone();
                move || drop_here(false)
            }
            class:drop-after=move || drop_here(true)
            hidden=move || !shown()
            class:done=move || status() == Status::Done
            class:overdue=move || status() == Status::NotDone || state.get() == DeadlineState::Overdue
            class:due-soon=move || matches!(state.get(), DeadlineState::DueSoon { .. })
            class:done-late=move || state.get() == DeadlineState::DoneLate>
            {cells}
            <ExecutionCell editor id=id.clone() activity state />
            <RowActions editor id=id.clone() />
        </div>
    }
    .into_any()
}

/// The «Исполнение» cell of an activity: its status, the date it was done,
/// its deadline badge, the note on its status (and the form for it), and
/// the way to its history.
#[component]
fn ExecutionCell(
    editor: Editor,
    id: RowId,
    activity: RwSignal<Activity>,
    state: Memo<DeadlineState>,
) -> impl IntoView {
    let status = move || activity.with(|a| a.status);
    let badge = move || state.get().badge_ru();
    // One effect per row keeps the select in step with undo and other
    // people's edits (a reactive `selected` per option would be five).
    let initial_status = activity.with_untracked(|a| a.status);
    let status_select = NodeRef::<leptos::html::Select>::new();
    Effect::new(move |_| {
        let value = status().as_str();
        if let Some(select) = status_select.get()
            && select.value() != value
        {
            select.set_value(value);
        }
    });
    // A status change (done, not done, cancelled) may take a comment and
    // evidence: the form opens under the select, and what is given is kept
    // in the activity (its history keeps every earlier one).
    let noting = RwSignal::new(false);
    let note_text = RwSignal::new(String::new());
    let note_evidence = RwSignal::new(String::new());
    let open_note = move || {
        activity.with_untracked(|a| {
            note_text.set(a.status_note.clone());
            note_evidence.set(a.status_evidence.clone());
        });
        noting.set(true);
    };
    let set_status = {
        let id = id.clone();
        move |ev: leptos::ev::Event| {
            let status = Status::parse(&event_target_value(&ev));
            let mut edits = vec![Edit::SetStatus { activity: id.clone(), status }];
            if status == Status::Done && activity.with_untracked(|a| a.completed_on.is_empty()) {
                edits.push(Edit::SetCompletedOn {
                    activity: id.clone(),
                    date: medk_shared::deadline::iso(crate::browser::today()),
                });
            }
            // The last status's note does not speak for the new one.
            if activity.with_untracked(|a| !a.status_note.is_empty() || !a.status_evidence.is_empty()) {
                edits.push(Edit::SetStatusNote {
                    activity: id.clone(),
                    note: String::new(),
                    evidence: String::new(),
                });
            }
            editor.act("set status", |_| edits);
            if matches!(status, Status::Done | Status::NotDone | Status::Cancelled) {
                open_note();
            } else {
                noting.set(false);
            }
        }
    };
    let save_note = {
        let id = id.clone();
        move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            let note = note_text.get_untracked().trim().to_owned();
            let evidence = note_evidence.get_untracked().trim().to_owned();
            editor.act("status note", |_| vec![Edit::SetStatusNote { activity: id.clone(), note, evidence }]);
            noting.set(false);
        }
    };
    let shown_note = move || activity.with(|a| a.status_note_ru());
    let set_date = {
        let id = id.clone();
        move |ev: leptos::ev::Event| {
            let date = event_target_value(&ev);
            editor.act("set completion date", |_| vec![Edit::SetCompletedOn { activity: id.clone(), date }]);
        }
    };
    let history = id.clone();
    let history_key = id.clone();
    let history_open = {
        let id = id.clone();
        move || editor.history_of.with(|h| h.as_ref() == Some(&id)).to_string()
    };
    view! {
        <div role="cell" class="cell col-exec" data-label="Исполнение">
            <select node_ref=status_select aria-label="Статус" class=move || format!("status s-{}", status().as_str())
                on:change=set_status>
                {Status::ALL.into_iter().map(|s| view! {
                    <option value=s.as_str() selected=initial_status == s>{s.label_ru()}</option>
                }).collect_view()}
            </select>
            <input type="date" aria-label="Дата исполнения" title="Дата исполнения"
                prop:value=move || activity.with(|a| a.completed_on.clone()) on:change=set_date />
            <span class=move || format!("deadline-badge state-{}", state.get().key())
                hidden=move || badge().is_none()>{move || badge().unwrap_or_default()}</span>
            <p class="status-note" hidden=move || shown_note().is_empty() || noting.get()>
                {move || shown_note()}
                " "<button type="button" class="link-button" on:click=move |_| open_note()>"Изменить"</button>
            </p>
            // Only while it is open: a `<form>` per row made the browser
            // re-scan every form on the page as rows were added (a roadmap
            // of 3,000 activities took minutes to put on screen).
            <Show when=move || noting.get()>
                <form class="status-note-form" aria-label="Пояснение к отметке" on:submit=save_note.clone()>
                    <label>"Пояснение: что сделано или почему нет"
                        <textarea maxlength="400" rows="2" prop:value=move || note_text.get()
                            on:input=move |ev| note_text.set(event_target_value(&ev))></textarea>
                    </label>
                    <label>"Подтверждение (ссылка, документ)"
                        <input type="text" maxlength="400" prop:value=move || note_evidence.get()
                            on:input=move |ev| note_evidence.set(event_target_value(&ev)) />
                    </label>
                    <div class="form-actions">
                        <button type="submit" class="primary">"Сохранить пояснение"</button>
                        <button type="button" on:click=move |_| noting.set(false)>"Без пояснения"</button>
                    </div>
                </form>
            </Show>
            // Reading history is not editing: a link, which the disabled
            // fieldset of a read-only roadmap leaves working (a button
            // there would be disabled).
            <a class="button history-button" role="button" href=format!("#history-{id}")
                aria-haspopup="dialog" aria-expanded=history_open
                title="Кто, что и когда менял в этом мероприятии"
                on:click=move |ev| {
                    ev.prevent_default();
                    editor.history_of.set(Some(history.clone()));
                }
                on:keydown=move |ev| {
                    // Space presses a button; a link only takes Enter.
                    if ev.key() == " " {
                        ev.prevent_default();
                        editor.history_of.set(Some(history_key.clone()));
                    }
                }>"История"</a>
        </div>
    }
}

/// The buttons of an activity's row: drag, up, down, insert below, delete.
#[component]
fn RowActions(editor: Editor, id: RowId) -> impl IntoView {
    let (up, down, insert, delete) = (id.clone(), id.clone(), id.clone(), id.clone());
    view! {
        <div role="cell" class="cell row-actions">
            <DragHandle editor id=id.clone() />
            <button class="icon" aria-label="Переместить выше" title="Выше (Alt+↑)"
                on:click=move |_| editor.move_activity(&up, Direction::Up)>"↑"</button>
            <button class="icon" aria-label="Переместить ниже" title="Ниже (Alt+↓)"
                on:click=move |_| editor.move_activity(&down, Direction::Down)>"↓"</button>
            <button class="icon" aria-label="Вставить мероприятие ниже" title="Вставить ниже (Ctrl+Enter)"
                on:click=move |_| {
                    if let Some(section) = editor.section_of(&insert) {
                        editor.insert_activity(&section, Some(&insert));
                    }
                }>"+"</button>
            <button class="icon danger" aria-label="Удалить мероприятие" title="Удалить (Alt+Delete)"
                on:click=move |_| editor.delete_activity(&delete)>"✕"</button>
        </div>
    }
}

/// «Состав рабочей группы»: name, workplace, position.
#[component]
pub fn WorkingGroup(editor: Editor) -> impl IntoView {
    let add = move |_| {
        let member = Member {
            id: crate::browser::new_row_id(),
            name: String::new(),
            workplace: String::new(),
            position: String::new(),
        };
        let id = member.id.clone();
        let last = editor.members.with_untracked(|m| m.last().map(|m| m.id.clone()));
        editor.act("add member", |doc| vec![actions::insert_member(doc, last.as_ref(), member)]);
        focus_row(&id, &["textarea"]);
    };
    let member_ids = move || editor.members.with(|m| m.iter().map(|m| m.id.clone()).collect::<Vec<_>>());
    view! {
        <section class="working-group card" aria-label="Состав рабочей группы">
            <h2>"Состав рабочей группы"</h2>
            <div class="members" role="table" aria-label="Рабочая группа">
                <div class="member head" role="row">
                    {MemberField::ALL.into_iter().map(|f| view! { <div role="columnheader">{f.label_ru()}</div> }).collect_view()}
                    <div role="columnheader"><span class="visually-hidden">"Действия"</span></div>
                </div>
                <For each=member_ids key=|id| id.clone() let:id>
                    <MemberRow editor id />
                </For>
            </div>
            <button on:click=add>"+ Участник"</button>
        </section>
    }
}

#[component]
fn MemberRow(editor: Editor, id: RowId) -> impl IntoView {
    let (up, down, delete) = (id.clone(), id.clone(), id.clone());
    view! {
        <div class="member" role="row" data-activity=id.to_string()>
            {MemberField::ALL.into_iter().map(|field| {
                let id2 = id.clone();
                let value = Signal::derive(move || editor.members.with(|m| m.iter().find(|m| m.id == id2).map(|m| m.text(field).to_owned()).unwrap_or_default()));
                view! {
                    <div role="cell" class="cell" data-label=field.label_ru()>
                        <TextField editor target=TextTarget::Member(id.clone(), field) value label=field.label_ru() />
                    </div>
                }
            }).collect_view()}
            <div role="cell" class="cell row-actions">
                <button class="icon" aria-label="Выше" on:click=move |_| editor.act("move member", |doc| actions::move_row(doc, RowKind::Member, &up, Direction::Up).into_iter().collect())>"↑"</button>
                <button class="icon" aria-label="Ниже" on:click=move |_| editor.act("move member", |doc| actions::move_row(doc, RowKind::Member, &down, Direction::Down).into_iter().collect())>"↓"</button>
                <button class="icon danger" aria-label="Удалить участника" on:click=move |_| {
                    editor.act("delete member", |_| vec![actions::delete(RowRef::Member(delete.clone()))]);
                    editor.offer_undo("Участник удалён".to_owned());
                }>"✕"</button>
            </div>
        </div>
    }
}
