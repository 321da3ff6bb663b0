//! An inline text field bound to one text of the document.

use super::editor::Editor;
use leptos::prelude::*;
use medk_shared::doc::TextTarget;
use wasm_bindgen::JsCast;

/// A growing textarea: typing goes straight into the Automerge text (and to
/// storage); leaving the field closes the undo step.
#[component]
pub fn TextField(
    editor: Editor,
    target: TextTarget,
    #[prop(into)] value: Signal<String>,
    #[prop(into)] label: String,
    #[prop(optional, into)] class: String,
    #[prop(optional, into)] placeholder: String,
) -> impl IntoView {
    let on_input = {
        let target = target.clone();
        move |ev: leptos::ev::Event| editor.type_text(target.clone(), event_target_value(&ev))
    };
    // The browser stops typing and pastes at the field's limit without a
    // word (`maxlength`): before it does, the person is told.
    let field = NodeRef::<leptos::html::Textarea>::new();
    let app = super::ctx();
    let on_before_input = move |ev: web_sys::InputEvent| {
        let Some(el) = field.get_untracked() else { return };
        if let Some(text) = too_long(&el, &ev) {
            app.info(text);
        }
    };
    view! {
        <textarea
            node_ref=field
            rows="1"
            class=format!("field {class}")
            aria-label=label
            placeholder=placeholder
            spellcheck="true"
            maxlength=medk_shared::layout::MAX_TEXT_CHARS.to_string()
            prop:value=value
            on:input=on_input
            on:beforeinput=on_before_input
            on:blur=move |_| editor.seal()
        ></textarea>
    }
}

/// What to tell the person when `ev` would take the field past
/// [`MAX_TEXT_CHARS`](medk_shared::layout::MAX_TEXT_CHARS), which the
/// browser enforces by cutting (`maxlength`, in UTF-16 units as here).
fn too_long(el: &web_sys::HtmlTextAreaElement, ev: &web_sys::InputEvent) -> Option<String> {
    let max = medk_shared::layout::MAX_TEXT_CHARS;
    let adding = ev
        .data()
        .or_else(|| ev.data_transfer().and_then(|dt| dt.get_data("text/plain").ok()))?
        .encode_utf16()
        .count();
    let (start, end) = (el.selection_start().ok()??, el.selection_end().ok()??);
    let kept = el.value().encode_utf16().count().saturating_sub(end.saturating_sub(start) as usize);
    if adding == 0 || kept + adding <= max {
        return None;
    }
    let spaced = medk_shared::ru::thousands(max as u64);
    Some(if kept >= max {
        format!(
            "В поле помещается не больше {spaced} знаков: оно заполнено, сократите текст, чтобы дописать."
        )
    } else {
        format!("В поле помещается не больше {spaced} знаков: вставлено только начало текста.")
    })
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
