//! What the editor does to the page's DOM beyond rendering: where the
//! focus goes after a change (a new row, a new section, a moved row) and
//! keeping the caret of the field being typed in across a remote change.

use leptos::prelude::*;
use medk_shared::ids::RowId;
use wasm_bindgen::JsCast;

/// After the next render, focuses the first of `selectors` (in order of
/// preference) found inside the row `id`.
/// Puts the keyboard on the element `selector` finds, once the page has
/// been drawn.
pub fn focus_selector(selector: String) {
    request_animation_frame(move || {
        let found = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.query_selector(&selector).ok().flatten());
        if let Some(el) = found.and_then(|el| el.dyn_into::<web_sys::HtmlElement>().ok()) {
            let _ = el.focus();
        }
    });
}

pub fn focus_row(id: &RowId, selectors: &'static [&'static str]) {
    let query = format!("[data-activity=\"{id}\"]");
    request_animation_frame(move || {
        let Some(doc) = web_sys::window().and_then(|w| w.document()) else {
            return;
        };
        let Ok(Some(row)) = doc.query_selector(&query) else {
            return;
        };
        let found = selectors.iter().find_map(|s| row.query_selector(s).ok().flatten());
        if let Some(el) = found.and_then(|el| el.dyn_into::<web_sys::HtmlElement>().ok()) {
            let _ = el.focus();
        }
    });
}

/// Focuses a new section's title with its default text selected, so what
/// the person types replaces it rather than joining it.
pub fn focus_section(id: &RowId) {
    let query = format!("[data-section=\"{id}\"] .section-title");
    request_animation_frame(move || {
        let Some(doc) = web_sys::window().and_then(|w| w.document()) else {
            return;
        };
        if let Ok(Some(el)) = doc.query_selector(&query)
            && let Ok(el) = el.dyn_into::<web_sys::HtmlTextAreaElement>()
        {
            let _ = el.focus();
            el.select();
        }
    });
}

/// The element that has the focus now.
pub fn focused_element() -> Option<web_sys::HtmlElement> {
    let el = web_sys::window()?.document()?.active_element()?;
    el.dyn_into::<web_sys::HtmlElement>().ok()
}

/// Gives `el` the focus back after the next render.
pub fn refocus_after_render(el: web_sys::HtmlElement) {
    request_animation_frame(move || {
        let _ = el.focus();
    });
}

/// The field being typed in, remembered across a change from elsewhere.
pub struct Caret {
    el: web_sys::HtmlTextAreaElement,
    old: String,
    start: u32,
    end: u32,
}

impl Caret {
    /// The focused text field and its selection, if a field has focus.
    pub fn save() -> Option<Caret> {
        let el = web_sys::window()?.document()?.active_element()?;
        let el: web_sys::HtmlTextAreaElement = el.dyn_into().ok()?;
        let (start, end) = (el.selection_start().ok()??, el.selection_end().ok()??);
        Some(Caret { old: el.value(), el, start, end })
    }

    /// Once the page shows the change (setting a field's value moves its
    /// caret to the end), puts the caret back where it was in the person's
    /// own words: after text inserted before it, before text inserted after.
    /// A change from elsewhere that moved the field's row (someone moved
    /// it, or a row past it) moves its DOM node, which takes the focus
    /// away: the focus comes back, so typing goes on where it was instead
    /// of into the page. Runs in the same turn as the change, after the
    /// render effects, so no keystroke and no other remote change can come
    /// in between.
    pub fn restore_after_render(self) {
        leptos::task::spawn_local(async move {
            for _ in 0..3 {
                leptos::task::tick().await;
                let new = self.el.value();
                let lost = !self.has_focus() && self.el.is_connected();
                if lost {
                    let _ = self.el.focus();
                }
                if new != self.old || lost {
                    let (start, end) = (moved(&self.old, &new, self.start), moved(&self.old, &new, self.end));
                    let _ = self.el.set_selection_range(start, end);
                }
                if new != self.old {
                    return;
                }
            }
        });
    }

    fn has_focus(&self) -> bool {
        let active = web_sys::window().and_then(|w| w.document()).and_then(|d| d.active_element());
        active.is_some_and(|a| a == *self.el.unchecked_ref::<web_sys::Element>())
    }
}

/// Where a caret at UTF-16 offset `at` in `old` belongs in `new`.
fn moved(old: &str, new: &str, at: u32) -> u32 {
    let old: Vec<u16> = old.encode_utf16().collect();
    let new: Vec<u16> = new.encode_utf16().collect();
    let prefix = old.iter().zip(&new).take_while(|(a, b)| a == b).count();
    let suffix =
        old[prefix..].iter().rev().zip(new[prefix..].iter().rev()).take_while(|(a, b)| a == b).count();
    let at = at as usize;
    if at <= prefix {
        at as u32
    } else if at >= old.len() - suffix {
        (at + new.len() - old.len()) as u32
    } else {
        // Inside the changed span: keep to the end of what replaced it.
        (new.len() - suffix) as u32
    }
}
