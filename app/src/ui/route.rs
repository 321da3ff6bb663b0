//! Where the app is: the screens and the URL that names each.
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
    /// `/r/<id>/print`, or `/r/<id>/report/<YYYY-MM-DD>` for the execution
    /// report on that date: a page for the printer.
    Print {
        id: String,
        report: Option<String>,
    },
    Login,
    /// An invitation link: `/invite/<code>`.
    Invite(String),
    /// «Люди и доступ», for coordinators.
    People,
    /// A school's screen: `/s/<school unit id>`.
    School(String),
    /// The participants table: every school the person sees.
    Schools,
    /// «Каталог рисков и правил»: `/catalogue`.
    Catalogue,
    /// «Мониторинг»: `/monitoring` (the person's own unit) or
    /// `/monitoring/<unit id>`.
    Monitoring {
        unit: Option<String>,
    },
    Password,
    NotFound,
}

impl Route {
    pub fn parse(path: &str) -> Route {
        // A link's query (`/monitoring/m1?date=…`) is the screen's own business.
        let path = path.split(['?', '#']).next().unwrap_or_default().trim_end_matches('/');
        let param = |prefix: &str| {
            path.strip_prefix(prefix).filter(|p| !p.is_empty() && !p.contains('/')).map(str::to_owned)
        };
        match path {
            "" | "/index.html" => Route::List,
            "/login" => Route::Login,
            "/people" => Route::People,
            "/schools" => Route::Schools,
            "/catalogue" => Route::Catalogue,
            "/password" => Route::Password,
            "/monitoring" => Route::Monitoring { unit: None },
            _ if param("/monitoring/").is_some() => Route::Monitoring { unit: param("/monitoring/") },
            _ => match (param("/r/"), param("/invite/"), param("/s/")) {
                (Some(id), _, _) => Route::Roadmap(id),
                (_, Some(code), _) => Route::Invite(code),
                (_, _, Some(unit)) => Route::School(unit),
                _ => Route::printable(path).unwrap_or(Route::NotFound),
            },
        }
    }
}

impl Route {
    /// The path that names this screen: the one way links and navigation
    /// are built, so [`Route::parse`] always reads back what was written.
    pub fn href(&self) -> String {
        match self {
            Route::List => "/".into(),
            Route::Roadmap(id) => format!("/r/{id}"),
            Route::Print { id, report: None } => format!("/r/{id}/print"),
            Route::Print { id, report: Some(date) } => format!("/r/{id}/report/{date}"),
            Route::Login => "/login".into(),
            Route::Invite(code) => format!("/invite/{code}"),
            Route::People => "/people".into(),
            Route::School(unit) => format!("/s/{unit}"),
            Route::Schools => "/schools".into(),
            Route::Catalogue => "/catalogue".into(),
            Route::Monitoring { unit: None } => "/monitoring".into(),
            Route::Monitoring { unit: Some(unit) } => format!("/monitoring/{unit}"),
            Route::Password => "/password".into(),
            Route::NotFound => "/not-found".into(),
        }
    }

    /// A roadmap's path.
    pub fn roadmap(id: impl std::fmt::Display) -> String {
        Route::Roadmap(id.to_string()).href()
    }

    /// A school screen's path.
    pub fn school(unit: impl std::fmt::Display) -> String {
        Route::School(unit.to_string()).href()
    }

    /// The monitoring dashboard of `unit` on `date` (`YYYY-MM-DD`).
    pub fn monitoring_on(unit: impl std::fmt::Display, date: impl std::fmt::Display) -> String {
        format!("{}?date={date}", Route::Monitoring { unit: Some(unit.to_string()) }.href())
    }
}

impl Route {
    fn printable(path: &str) -> Option<Route> {
        let mut parts = path.strip_prefix("/r/")?.split('/');
        let id = parts.next().filter(|id| !id.is_empty())?.to_owned();
        let route = match (parts.next()?, parts.next(), parts.next()) {
            ("print", None, _) => Route::Print { id, report: None },
            ("report", Some(date), None) if !date.is_empty() => {
                Route::Print { id, report: Some(date.to_owned()) }
            }
            _ => return None,
        };
        Some(route)
    }
}

/// The current route, kept in step with the address bar.
#[derive(Clone, Copy)]
pub struct Router {
    pub route: RwSignal<Route>,
    /// The path before the last [`Router::navigate`]: where signing in
    /// returns to.
    previous: StoredValue<String>,
}

impl Router {
    /// Reads the current address and starts following history changes and
    /// link clicks (same-origin links change screens without a reload).
    pub fn start() -> Router {
        let router = Router {
            route: RwSignal::new(Route::parse(&current_path())),
            previous: StoredValue::new("/".to_owned()),
        };
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
        self.previous.set_value(current_path());
        if let Some(history) = web_sys::window().and_then(|w| w.history().ok()) {
            let _ = history.push_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(path));
        }
        let route = Route::parse(path);
        if self.route.with_untracked(|r| *r != route) {
            self.route.set(route);
        }
        // The screen scrolls inside `main` (see style.css), not the window.
        if let Some(main) = web_sys::window().and_then(|w| w.document()?.get_element_by_id("main")) {
            main.scroll_to_with_x_and_y(0.0, 0.0);
        }
    }

    /// Shows the current screen afresh (a document it could not open was
    /// just brought back).
    pub fn reopen(&self) {
        let route = self.route.get_untracked();
        self.route.set(route);
    }

    /// Goes back to where the person was before signing in (the list if
    /// that was another sign-in screen).
    pub fn return_after_sign_in(&self) {
        let previous = self.previous.get_value();
        let back = match Route::parse(&previous) {
            Route::Login | Route::Invite(_) | Route::Password | Route::NotFound => "/".to_owned(),
            _ => previous,
        };
        self.navigate(&back);
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
        assert_eq!(Route::parse("/login"), Route::Login);
        assert_eq!(Route::parse("/people/"), Route::People);
        assert_eq!(Route::parse("/schools"), Route::Schools);
        assert_eq!(Route::parse("/catalogue/"), Route::Catalogue);
        assert_eq!(Route::parse("/s/s1"), Route::School("s1".into()));
        assert_eq!(Route::parse("/s/"), Route::NotFound);
        assert_eq!(Route::parse("/password"), Route::Password);
        assert_eq!(Route::parse("/monitoring"), Route::Monitoring { unit: None });
        assert_eq!(Route::parse("/monitoring/m1/"), Route::Monitoring { unit: Some("m1".into()) });
        assert_eq!(Route::parse("/monitoring/m1/x"), Route::NotFound);
        assert_eq!(
            Route::parse("/monitoring/m1?date=2022-04-01"),
            Route::Monitoring { unit: Some("m1".into()) }
        );
        assert_eq!(Route::parse("/invite/Xy7"), Route::Invite("Xy7".into()));
        assert_eq!(Route::parse("/invite/"), Route::NotFound);
        assert_eq!(Route::parse("/r/abc/print"), Route::Print { id: "abc".into(), report: None });
        assert_eq!(
            Route::parse("/r/abc/report/2022-05-31"),
            Route::Print { id: "abc".into(), report: Some("2022-05-31".into()) }
        );
        assert_eq!(Route::parse("/r/abc/report/"), Route::NotFound);
        assert_eq!(Route::parse("/r/abc/print/x"), Route::NotFound);
    }

    #[test]
    fn every_screen_reads_back_from_its_path() {
        let screens = [
            Route::List,
            Route::Roadmap("2SdRNaMK".into()),
            Route::Print { id: "abc".into(), report: None },
            Route::Print { id: "abc".into(), report: Some("2022-05-31".into()) },
            Route::Login,
            Route::Invite("Xy7".into()),
            Route::People,
            Route::School("s1".into()),
            Route::Schools,
            Route::Catalogue,
            Route::Monitoring { unit: None },
            Route::Monitoring { unit: Some("m1".into()) },
            Route::Password,
            Route::NotFound,
        ];
        for screen in screens {
            assert_eq!(Route::parse(&screen.href()), screen, "{}", screen.href());
        }
        assert_eq!(
            Route::parse(&Route::monitoring_on("m1", "2022-04-01")),
            Route::Monitoring { unit: Some("m1".into()) }
        );
    }
}
