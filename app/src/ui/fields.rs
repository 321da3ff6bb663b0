//! An inline text field bound to one text of the document.

use super::editor::Editor;
use leptos::html::Textarea;
use leptos::prelude::*;
use medk_shared::doc::TextTarget;

/// A growing textarea: typing goes straight into the Automerge text (and to
/// storage); leaving the field closes the undo step.
///
/// The value is written to the element only when it differs from what the
/// element shows, and a remote change arriving while someone types here
/// keeps their caret where it was in their own words.
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
    let node = NodeRef::<Textarea>::new();
    Effect::new(move |_| {
        let new = value.get();
        if let Some(el) = node.get() {
            show(&el, &new);
        }
    });
    view! {
        <textarea
            node_ref=node
            rows="1"
            class=format!("field {class}")
            aria-label=label
            placeholder=placeholder
            spellcheck="true"
            prop:value=value.get_untracked()
            on:input=on_input
            on:blur=move |_| editor.seal()
        ></textarea>
    }
}

/// Puts `new` into the element, moving a focused caret with the text
/// around it: an insertion or deletion before the caret shifts it, one after
/// it leaves it alone.
fn show(el: &web_sys::HtmlTextAreaElement, new: &str) {
    let old = el.value();
    if old == new {
        return;
    }
    let focused = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.active_element())
        .is_some_and(|a| a == ***el);
    let selection = (el.selection_start().ok().flatten(), el.selection_end().ok().flatten());
    el.set_value(new);
    if let (true, (Some(start), Some(end))) = (focused, selection) {
        let (start, end) = (moved(&old, new, start), moved(&old, new, end));
        let _ = el.set_selection_range(start, end);
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
