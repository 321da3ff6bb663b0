//! The editor's toolbar: undo and redo, a new section, the roadmap's link
//! and file, and the switches of the export, keys and access panels.

use super::state::Editor;
use leptos::prelude::*;

#[component]
pub fn Toolbar(
    editor: Editor,
    read_only: Signal<bool>,
    /// The person manages the roadmap's unit (the «Доступ» panel is theirs).
    manages: Signal<bool>,
    show_export: RwSignal<bool>,
    show_keys: RwSignal<bool>,
    show_access: RwSignal<bool>,
) -> impl IntoView {
    view! {
        <div class="toolbar" role="toolbar" aria-label="Действия с дорожной картой">
            <a class="button" href="/">"← Все карты"</a>
            <button on:click=move |_| editor.undo() disabled=move || !editor.can_undo.get() || read_only.get()
                aria-keyshortcuts="Control+Z" title="Отменить (Ctrl+Z)">"↶ Отменить"</button>
            <button on:click=move |_| editor.redo() disabled=move || !editor.can_redo.get() || read_only.get()
                aria-keyshortcuts="Control+Y" title="Повторить (Ctrl+Y)">"↷ Повторить"</button>
            <button disabled=move || read_only.get() on:click=move |_| {
                let last = editor.layout.with_untracked(|l| l.last().map(|s| s.id.clone()));
                editor.add_section(last.as_ref());
            }>"+ Раздел"</button>
            <button on:click=move |_| editor.copy_link() title="Ссылка открывает эту дорожную карту на другом устройстве">"Ссылка"</button>
            <button on:click=move |_| editor.export_file() title="Сохранить файл дорожной карты (.automerge)">"Скачать файл"</button>
            <button on:click=move |_| show_export.update(|v| *v = !*v) aria-expanded=move || show_export.get().to_string()
                title="Word, Excel, печать, отчёт о выполнении">"Экспорт"</button>
            <button on:click=move |_| show_keys.update(|v| *v = !*v) aria-expanded=move || show_keys.get().to_string()>"Клавиши"</button>
            <button hidden=move || !manages.get() on:click=move |_| show_access.update(|v| *v = !*v)
                aria-expanded=move || show_access.get().to_string()>"Доступ"</button>
        </div>
    }
}
