//! Moving an activity by dragging its handle: pointer events, so a finger
//! on a tablet, a pen and a mouse all work the same way. The ↑/↓ buttons
//! and Alt+↑/↓ remain for keyboards and screen readers.

use super::state::{DropTarget, Editor};
use leptos::prelude::*;
use medk_shared::actions;
use medk_shared::ids::RowId;
use wasm_bindgen::JsCast;

/// The handle of one row.
#[component]
pub fn DragHandle(editor: Editor, id: RowId) -> impl IntoView {
    let drag = editor.drag;
    let start = {
        let id = id.clone();
        move |ev: web_sys::PointerEvent| {
            if !ev.is_primary() {
                return;
            }
            ev.prevent_default();
            // Capture on the handle itself (with event delegation the
            // current target is the document), so the moves and the release
            // come back to this handle wherever the pointer goes.
            let handle = ev
                .target()
                .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
                .and_then(|el| el.closest("button.drag").ok().flatten());
            if let Some(handle) = handle {
                let _ = handle.set_pointer_capture(ev.pointer_id());
            }
            drag.row.set(Some(id.clone()));
            drag.target.set(None);
        }
    };
    let over = move |ev: web_sys::PointerEvent| {
        let Some(dragged) = drag.row.get_untracked() else { return };
        let target = row_under(ev.client_x() as f32, ev.client_y() as f32).filter(|t| t.id != dragged);
        if drag.target.with_untracked(|t| *t != target) {
            drag.target.set(target);
        }
    };
    let drop = move |_: web_sys::PointerEvent| {
        let (Some(dragged), target) = (drag.row.get_untracked(), drag.target.get_untracked()) else { return };
        drag.row.set(None);
        drag.target.set(None);
        let Some(target) = target else { return };
        let Some(section) = editor.section_of(&target.id) else { return };
        // "After X" is "before the row that follows X" (or the section's end).
        let before = if target.after {
            editor.layout.with_untracked(|l| {
                let rows = &l.iter().find(|s| s.id == section)?.activities;
                let i = rows.iter().position(|r| *r == target.id)?;
                rows[i + 1..].iter().find(|r| **r != dragged).cloned()
            })
        } else {
            Some(target.id.clone())
        };
        editor.act("drag activity", |doc| {
            actions::move_activity_to(doc, &dragged, &section, before.as_ref()).into_iter().collect()
        });
    };
    let cancel = move |_: web_sys::PointerEvent| {
        drag.row.set(None);
        drag.target.set(None);
    };
    view! {
        <button class="icon drag" aria-label="Перетащить мероприятие" title="Перетащить (или Alt+↑/↓)"
            on:pointerdown=start on:pointermove=over on:pointerup=drop on:pointercancel=cancel>"⠿"</button>
    }
}

/// The activity row under a point, and whether the point is in its lower half.
fn row_under(x: f32, y: f32) -> Option<DropTarget> {
    let document = web_sys::window()?.document()?;
    let row = document.element_from_point(x, y)?.closest("[data-activity].row").ok()??;
    let id = row.get_attribute("data-activity")?;
    let rect = row.get_bounding_client_rect();
    Some(DropTarget { id: RowId::new(id), after: f64::from(y) > rect.top() + rect.height() / 2.0 })
}
