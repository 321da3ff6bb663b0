//! The editor's keyboard shortcuts and the «Клавиши» card that lists them.

use super::state::Editor;
use leptos::prelude::*;
use medk_shared::actions::Direction;
use medk_shared::ids::RowId;
use wasm_bindgen::JsCast;

/// Handles a key pressed anywhere on the editor's page.
pub fn on_key(editor: Editor, ev: leptos::ev::KeyboardEvent) {
    if editor.read_only.get_untracked() {
        return;
    }
    let ctrl = ev.ctrl_key() || ev.meta_key();
    let key = ev.key();
    let focused_row = || -> Option<RowId> {
        let el = ev.target()?.dyn_into::<web_sys::Element>().ok()?;
        let row = el.closest("[data-activity]").ok()??;
        row.get_attribute("data-activity").map(RowId::new)
    };
    let handled = match (ctrl, ev.shift_key(), ev.alt_key(), key.as_str()) {
        (true, false, false, "z" | "я") => {
            editor.undo();
            true
        }
        (true, true, false, "z" | "Z" | "я" | "Я") | (true, false, false, "y" | "н") => {
            editor.redo();
            true
        }
        (true, _, false, "Enter") => match focused_row() {
            Some(id) => {
                if let Some(section) = editor.section_of(&id) {
                    editor.insert_activity(&section, Some(&id));
                }
                true
            }
            None => false,
        },
        (false, false, true, "ArrowUp" | "ArrowDown") => match focused_row() {
            Some(id) => {
                let direction = if key == "ArrowUp" { Direction::Up } else { Direction::Down };
                editor.move_activity(&id, direction);
                true
            }
            None => false,
        },
        (false, false, true, "Delete" | "Backspace") => match focused_row() {
            Some(id) => {
                editor.delete_activity(&id);
                true
            }
            None => false,
        },
        _ => false,
    };
    if handled {
        ev.prevent_default();
    }
}

#[component]
pub fn KeysHelp() -> impl IntoView {
    view! {
        <dl class="keys card" aria-label="Сочетания клавиш">
            <dt>"Ctrl+Z"</dt><dd>"отменить"</dd>
            <dt>"Ctrl+Y, Ctrl+Shift+Z"</dt><dd>"повторить"</dd>
            <dt>"Ctrl+Enter"</dt><dd>"новое мероприятие под текущим"</dd>
            <dt>"Alt+↑, Alt+↓"</dt><dd>"переместить мероприятие"</dd>
            <dt>"Alt+Delete"</dt><dd>"удалить мероприятие"</dd>
            <dt>"Tab"</dt><dd>"к следующему полю"</dd>
        </dl>
    }
}
