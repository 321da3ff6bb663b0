//! A destructive action asked twice: its button opens a small dialog with
//! the question, the button that does it and «Отмена». The two are placed
//! apart (the button among the item's actions, the dialog across the
//! item), so they share a [`Confirm`]. Keyboard: the dialog takes focus on
//! «Отмена», Escape closes it, and focus goes back to the button.

use leptos::html::Button;
use leptos::prelude::*;

/// Whether the question is asked, and the button that asked it.
#[derive(Clone, Copy)]
pub struct Confirm {
    asking: RwSignal<bool>,
    trigger: NodeRef<Button>,
}

impl Confirm {
    pub fn new() -> Confirm {
        Confirm { asking: RwSignal::new(false), trigger: NodeRef::new() }
    }

    /// Closes the dialog, focus back on the button that opened it.
    fn cancel(self) {
        self.asking.set(false);
        if let Some(button) = self.trigger.get_untracked() {
            let _ = button.focus();
        }
    }
}

/// The first step: a danger button that asks.
#[component]
pub fn ConfirmButton(confirm: Confirm, label: &'static str) -> impl IntoView {
    view! {
        <button class="danger" node_ref=confirm.trigger aria-haspopup="dialog"
            aria-expanded=move || confirm.asking.get().to_string()
            on:click=move |_| confirm.asking.set(true)>{label}</button>
    }
}

/// The second step, while asked: `children` (the question and what to
/// know first), the button that does it (`yes`, which may change while
/// open) and «Отмена».
#[component]
pub fn ConfirmDialog(
    confirm: Confirm,
    /// The dialog's accessible name.
    name: &'static str,
    #[prop(into)] yes: TextProp,
    on_yes: impl Fn() + Clone + Send + Sync + 'static,
    children: ChildrenFn,
) -> impl IntoView {
    let cancel = NodeRef::<Button>::new();
    Effect::new(move |_| {
        if let Some(button) = cancel.get() {
            let _ = button.focus();
        }
    });
    view! {
        <Show when=move || confirm.asking.get()>
            <div class="confirm" role="alertdialog" aria-label=name on:keydown=move |ev| {
                if ev.key() == "Escape" {
                    confirm.cancel();
                }
            }>
                {children()}
                <button class="danger" on:click={
                    let on_yes = on_yes.clone();
                    move |_| {
                        confirm.asking.set(false);
                        on_yes();
                    }
                }>{let yes = yes.clone(); move || yes.get()}</button>
                <button node_ref=cancel on:click=move |_| confirm.cancel()>"Отмена"</button>
            </div>
        </Show>
    }
}
