//! An inline text field bound to one text of the document.

use super::state::Editor;
use leptos::prelude::*;
use medk_shared::doc::TextTarget;

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
    let app = crate::ui::kit::ctx();
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
    // `textLength`: UTF-16 units, as `maxlength` counts, without copying
    // the field's text on every keystroke.
    let kept = (el.text_length() as usize).saturating_sub(end.saturating_sub(start) as usize);
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
