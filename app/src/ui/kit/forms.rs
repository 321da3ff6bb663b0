//! What the forms share: a submission with its busy state and error, a
//! labelled input, a failed request said for people, and the unit select's
//! options.

use crate::api::ApiError;
use leptos::prelude::*;
use medk_shared::access::Unit;
use std::future::Future;

/// What a failed request means for the person.
pub fn say(e: ApiError) -> String {
    match e {
        ApiError::Offline => "Нет связи с сервером. Попробуйте, когда появится сеть.".to_owned(),
        ApiError::Status { message, .. } => message,
        ApiError::Malformed => "Сервер ответил непонятно. Попробуйте ещё раз.".to_owned(),
    }
}

/// A form's submission: one at a time, its error shown in the form.
#[derive(Clone, Copy)]
pub struct Submit {
    pub busy: RwSignal<bool>,
    pub error: RwSignal<Option<String>>,
}

impl Submit {
    pub fn new() -> Submit {
        Submit { busy: RwSignal::new(false), error: RwSignal::new(None) }
    }

    pub fn run(self, work: impl Future<Output = Result<(), String>> + 'static) {
        self.run_boxed(Box::pin(work));
    }

    /// One copy of the waiting in the wasm for every form.
    fn run_boxed(self, work: std::pin::Pin<Box<dyn Future<Output = Result<(), String>>>>) {
        if self.busy.get_untracked() {
            return;
        }
        self.busy.set(true);
        self.error.set(None);
        leptos::task::spawn_local(async move {
            let result = work.await;
            self.busy.set(false);
            self.error.set(result.err());
        });
    }

    /// The error, where the form shows it.
    pub fn view(self) -> impl IntoView {
        move || self.error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })
    }
}

/// A labelled text input bound to `value`.
pub fn input(
    label: &'static str,
    kind: &'static str,
    autocomplete: &'static str,
    value: RwSignal<String>,
) -> impl IntoView {
    view! {
        <label>{label}
            <input type=kind autocomplete=autocomplete required=true prop:value=value
                on:input=move |ev| value.set(event_target_value(&ev)) />
        </label>
    }
}

/// Indented `<option>`s of `units`, `selected` chosen. One function for
/// every unit select: each reactive view costs wasm.
pub fn unit_options(units: Signal<Vec<(Unit, usize)>>, selected: Signal<String>) -> impl IntoView {
    move || {
        units
            .get()
            .into_iter()
            .map(|(u, depth)| {
                let label = format!("{}{} ({})", "\u{2003}".repeat(depth), u.name, u.level.label());
                let id = u.id.clone();
                view! { <option value=u.id selected=move || selected.with(|s| *s == id)>{label}</option> }
            })
            .collect_view()
    }
}
