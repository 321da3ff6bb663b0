//! The roadmap as a table: the column heads, then every section with its
//! activities ([`super::rows`]).

use super::columns::grid_template;
use super::rows::SectionBlock;
use super::state::Editor;
use leptos::prelude::*;

#[component]
pub fn Sheet(editor: Editor) -> impl IntoView {
    let grid = move || grid_template(&editor.columns.get(), &editor.widest.get());
    view! {
        <div class="sheet" role="table" aria-label="Мероприятия" style:--cols=grid hidden=move || editor.timeline.get()>
            <div class="sheet-head" role="row">
                {move || editor.columns.get().into_iter().map(|c| view! {
                    <div role="columnheader" class=format!("col-{}", c.field.key())>{c.title}</div>
                }).collect_view()}
                <div role="columnheader" class="head-exec">"Исполнение: статус, дата"</div>
                <div role="columnheader" class="head-actions"><span class="visually-hidden">"Действия"</span></div>
            </div>
            <For each=move || editor.layout.get() key=|s| s.id.clone() let:section>
                <SectionBlock editor id=section.id />
            </For>
        </div>
    }
}
