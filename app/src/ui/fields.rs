//! An inline text field bound to one text of the document.

use super::editor::Editor;
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
    view! {
        <textarea
            rows="1"
            class=format!("field {class}")
            aria-label=label
            placeholder=placeholder
            spellcheck="true"
            prop:value=value
            on:input=on_input
            on:blur=move |_| editor.seal()
        ></textarea>
    }
}
