//! Text on screen: reactive text that shares one copy of its rendering
//! code, and the browser tab's title.

use leptos::prelude::*;

/// Reactive text. Each `move || String` written in a view is its own copy
/// of the rendering code in the wasm; through here they all share one.
pub fn text(f: impl Fn() -> String + Send + Sync + 'static) -> impl IntoView {
    shared_text(std::sync::Arc::new(f))
}

fn shared_text(f: std::sync::Arc<dyn Fn() -> String + Send + Sync>) -> impl IntoView {
    move || f()
}

/// Names the browser tab after what the page shows.
pub fn document_title(title: &str) {
    if let Some(doc) = web_sys::window().and_then(|w| w.document()) {
        doc.set_title(&format!("{title} — МЭДК"));
    }
}
