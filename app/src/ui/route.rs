//! Where the app is: the two screens and the URL that names each.
//!
//! Hand-written rather than leptos_router: for two routes that crate cost
//! 33 KB of brotli-compressed wasm (514 KB with it, 481 KB without, by
//! `cargo xtask build`), and the whole app must stay under 500 KB for
//! schools on slow links.

use leptos::prelude::*;
use wasm_bindgen::JsCast;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    List,
    Roadmap(String),
    NotFound,
}

impl Route {
    pub fn parse(path: &str) -> Route {
        match path.trim_end_matches('/') {
            "" | "/index.html" => Route::List,
            other => match other.strip_prefix("/r/") {
                Some(id) if !id.is_empty() && !id.contains('/') => Route::Roadmap(id.to_owned()),
                _ => Route::NotFound,
            },
        }
    }
}

/// The current route, kept in step with the address bar.
#[derive(Clone, Copy)]
pub struct Router {
    pub route: RwSignal<Route>,
}

impl Router {
    /// Reads the current address and starts following history changes and
    /// link clicks (same-origin links change screens without a reload).
    pub fn start() -> Router {
        let router = Router { route: RwSignal::new(Route::parse(&current_path())) };
        let popstate = window_event_listener(leptos::ev::popstate, move |_| {
            let route = Route::parse(&current_path());
            if router.route.with_untracked(|r| *r != route) {
                router.route.set(route);
            }
        });
        let clicks = window_event_listener(leptos::ev::click, move |ev| router.follow_link(ev));
        on_cleanup(move || {
            popstate.remove();
            clicks.remove();
        });
        router
    }

    pub fn navigate(&self, path: &str) {
        if let Some(history) = web_sys::window().and_then(|w| w.history().ok()) {
            let _ = history.push_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(path));
        }
        let route = Route::parse(path);
        if self.route.with_untracked(|r| *r != route) {
            self.route.set(route);
        }
        if let Some(w) = web_sys::window() {
            w.scroll_to_with_x_and_y(0.0, 0.0);
        }
    }

    fn follow_link(&self, ev: web_sys::MouseEvent) {
        if ev.default_prevented()
            || ev.button() != 0
            || ev.ctrl_key()
            || ev.meta_key()
            || ev.shift_key()
            || ev.alt_key()
        {
            return;
        }
        let Some(anchor) = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
            .and_then(|el| el.closest("a[href]").ok().flatten())
            .and_then(|el| el.dyn_into::<web_sys::HtmlAnchorElement>().ok())
        else {
            return;
        };
        let same_origin = web_sys::window().and_then(|w| w.location().origin().ok()) == Some(anchor.origin());
        if !same_origin || !anchor.target().is_empty() || anchor.has_attribute("download") {
            return;
        }
        ev.prevent_default();
        self.navigate(&format!("{}{}", anchor.pathname(), anchor.search()));
    }
}

fn current_path() -> String {
    web_sys::window().and_then(|w| w.location().pathname().ok()).unwrap_or_default()
}

pub fn router() -> Router {
    expect_context::<Router>()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_map_to_screens() {
        assert_eq!(Route::parse("/"), Route::List);
        assert_eq!(Route::parse(""), Route::List);
        assert_eq!(Route::parse("/r/abc"), Route::Roadmap("abc".into()));
        assert_eq!(Route::parse("/r/abc/"), Route::Roadmap("abc".into()));
        assert_eq!(Route::parse("/r/"), Route::NotFound);
        assert_eq!(Route::parse("/r/a/b"), Route::NotFound);
        assert_eq!(Route::parse("/other"), Route::NotFound);
    }
}
