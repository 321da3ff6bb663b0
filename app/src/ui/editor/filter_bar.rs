//! The view switch (table or timeline) and the filters above the roadmap.

use super::state::Editor;
use leptos::prelude::*;
use medk_shared::filters::{Filter, responsible_values};

/// The view switch (table or timeline) and the filters, with how many
/// activities they let through.
#[component]
pub fn FilterBar(editor: Editor) -> impl IntoView {
    let account = editor.app.account;
    let my_name = move || account.me().map(|me| me.person.name).filter(|n| !n.trim().is_empty());
    let filter = editor.filter;
    let total =
        Memo::new(move |_| editor.layout.with(|l| l.iter().map(|s| s.activities.len()).sum::<usize>()));
    let shown = Memo::new(move |_| {
        if filter.with(Filter::is_empty) {
            total.get()
        } else {
            editor.map_activities(|a| editor.passes(a)).into_iter().filter(|p| *p).count()
        }
    });
    let responsible = Memo::new(move |_| {
        let values = editor.map_activities(|a| a.responsible.clone());
        responsible_values(values.iter().map(String::as_str))
    });
    // Signing out (or another name) while «Мои» is on keeps it in step.
    Effect::new(move |_| {
        let name = my_name();
        if filter.with_untracked(|f| f.mine.is_some() && f.mine != name) {
            filter.update(|f| f.mine = name);
        }
    });
    let toggle = move |set: fn(&mut Filter)| move |_| filter.update(set);
    let pressed = move |get: fn(&Filter) -> bool| move || filter.with(get).to_string();
    let select = NodeRef::<leptos::html::Select>::new();
    Effect::new(move |_| {
        responsible.track();
        let value = filter.with(|f| f.responsible.clone()).unwrap_or_default();
        if let Some(select) = select.get()
            && select.value() != value
        {
            select.set_value(&value);
        }
    });
    view! {
        <div class="filter-bar">
            <div class="view-switch" role="group" aria-label="Вид">
                <button aria-pressed=move || (!editor.timeline.get()).to_string()
                    on:click=move |_| editor.timeline.set(false)>"Таблица"</button>
                <button aria-pressed=move || editor.timeline.get().to_string()
                    on:click=move |_| editor.timeline.set(true)>"Календарь"</button>
            </div>
            <div class="filters" role="group" aria-label="Фильтры">
                <button aria-pressed=move || filter.with(|f| f.mine.is_some()).to_string()
                    disabled=move || my_name().is_none()
                    title=move || match my_name() {
                        Some(name) => format!("Мероприятия, где ответственный — {name} (по фамилии)"),
                        None => "Войдите, чтобы видеть свои мероприятия".to_owned(),
                    }
                    on:click=move |_| {
                        let name = my_name();
                        filter.update(|f| f.mine = if f.mine.is_some() { None } else { name });
                    }>"Мои"</button>
                <button aria-pressed=pressed(|f| f.overdue)
                    on:click=toggle(|f| f.overdue = !f.overdue)>"Просроченные"</button>
                <button aria-pressed=pressed(|f| f.this_month)
                    on:click=toggle(|f| f.this_month = !f.this_month)>"В этом месяце"</button>
                <label class="by-responsible">"По ответственному "
                    <select node_ref=select on:change=move |ev| {
                        let value = event_target_value(&ev);
                        filter.update(|f| f.responsible = (!value.is_empty()).then_some(value));
                    }>
                        <option value="">"— все —"</option>
                        {move || responsible.get().into_iter().map(|r| view! {
                            <option value=r.clone()>{r.clone()}</option>
                        }).collect_view()}
                    </select>
                </label>
                <span class="filter-count" role="status">{move || format!("Показано {} из {}", shown.get(), total.get())}</span>
                <button class="reset" disabled=move || filter.with(Filter::is_empty)
                    on:click=move |_| filter.set(Filter::default())>"Сбросить"</button>
            </div>
        </div>
    }
}
