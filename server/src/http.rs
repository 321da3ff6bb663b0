//! The HTTP surface: the JSON API under `/api`, and the built app as static
//! files with a single-page-app fallback.
//!
//! `cargo xtask build` writes `.br` and `.gz` siblings next to every text and
//! wasm file, so we pick one by `Accept-Encoding` instead of compressing per
//! request. Everything is sent with `Cache-Control: no-cache` unless its
//! handler says otherwise (only blobs, which never change): browsers
//! revalidate (Last-Modified) on each load, and offline use is the service
//! worker's job, not the HTTP cache's.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header::{CACHE_CONTROL, HeaderName, VARY};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tower::ServiceExt as _;
use tower_http::services::{ServeDir, ServeFile};
use tower_http::set_header::{SetResponseHeader, SetResponseHeaderLayer};
use tower_http::trace::TraceLayer;

use crate::api::{self, ApiState};
use crate::blobs::{self, BlobStore};
use crate::client;
use crate::sync::{self, SyncHub};

/// The page every app route (`/`, `/r/<id>`, ...) is answered with.
pub const APP_SHELL: &str = "index.html";

/// Path prefixes owned by the server: never answered with the app shell, so
/// a typo in an API call is a 404, not a page of HTML.
const SERVER_PREFIXES: &[&str] = &["/api", "/sync"];

const NOT_BUILT: &str = "medk: the app is not built yet (no index.html in the static dir).\n\
                         Run `cargo xtask run` to build it and start the server.\n";

/// What the app's pages may load and talk to: only this origin. The wasm
/// needs `wasm-unsafe-eval`; Leptos sets `style` attributes.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; \
     style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'; \
     worker-src 'self'; manifest-src 'self'; object-src 'none'; base-uri 'none'; \
     form-action 'self'; frame-ancestors 'none'";

const SECURITY_HEADERS: &[(&str, &str)] = &[
    ("content-security-policy", CONTENT_SECURITY_POLICY),
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "no-referrer"),
    ("cross-origin-opener-policy", "same-origin"),
    ("permissions-policy", "camera=(), microphone=(), geolocation=()"),
];

/// The whole HTTP app.
pub fn router(static_dir: &Path, hub: SyncHub, api: ApiState, blobs: Arc<BlobStore>) -> Router {
    let proxies = api.proxies().clone();
    let api = api.with_hub(hub.clone());
    let mut router = Router::new()
        .merge(api::routes(api.clone()))
        .merge(blobs::routes(api, blobs))
        // Routes always win over the static files, which are only the
        // fallback; `/sync/...` paths that match no route get a 404, never
        // index.html.
        .merge(sync::routes(hub))
        .merge(static_files(static_dir))
        .layer(SetResponseHeaderLayer::if_not_present(CACHE_CONTROL, HeaderValue::from_static("no-cache")));
    for (name, value) in SECURITY_HEADERS {
        router = router.layer(SetResponseHeaderLayer::if_not_present(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        ));
    }
    // Request logs name the path with secrets (invitation codes) cut out.
    router
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
            tracing::debug_span!("request", method = %req.method(), path = %redacted(req.uri().path()))
        }))
        // First of all: who the client is, for every check after.
        .layer(middleware::from_fn_with_state(proxies, client::identify))
}

/// `path` with the segment after `invitations` or `invite` replaced, so
/// logs never hold an invitation code.
fn redacted(path: &str) -> String {
    let mut out = Vec::new();
    let mut secret_next = false;
    for segment in path.split('/') {
        out.push(if secret_next && !segment.is_empty() { "…" } else { segment });
        secret_next = matches!(segment, "invitations" | "invite");
    }
    out.join("/")
}

/// The built app: a route for the service worker, a fallback for the rest.
fn static_files(static_dir: &Path) -> Router {
    Router::new()
        .route_service("/sw.js", service_worker(static_dir))
        .fallback_service(app_files(static_dir))
        // One URL, several encodings: caches must key on Accept-Encoding.
        .layer(SetResponseHeaderLayer::appending(VARY, HeaderValue::from_static("accept-encoding")))
        .layer(middleware::from_fn(no_dotfiles))
}

/// A 404 for any path with a segment that starts with a dot, once decoded
/// (`/%2eenv` is `/.env` to the file server): the build writes no such
/// files, so any there is something else (a `.env`, a `.git`, an editor's
/// backup) and not for the world.
async fn no_dotfiles(req: Request, next: axum::middleware::Next) -> Response {
    let path = percent_encoding::percent_decode_str(req.uri().path()).decode_utf8_lossy();
    if path.split(['/', '\\']).any(|segment| segment.starts_with('.')) {
        return StatusCode::NOT_FOUND.into_response();
    }
    next.run(req).await
}

/// `/sw.js` may control the whole origin even if it moves under a folder
/// later; browsers require this header for a scope wider than the script's.
fn service_worker(static_dir: &Path) -> SetResponseHeader<ServeFile, HeaderValue> {
    tower::ServiceBuilder::new()
        .layer(SetResponseHeaderLayer::overriding(
            HeaderName::from_static("service-worker-allowed"),
            HeaderValue::from_static("/"),
        ))
        .service(precompressed(ServeFile::new(static_dir.join("sw.js"))))
}

/// The built files, with [`app_shell`] answering whatever is not a file.
fn app_files(static_dir: &Path) -> ServeDir<axum::routing::MethodRouter> {
    let shell = Arc::new(static_dir.join(APP_SHELL));
    ServeDir::new(static_dir)
        .precompressed_br()
        .precompressed_gzip()
        .fallback(get(app_shell).with_state(shell))
}

/// The single-page-app fallback: client-side routes such as `/r/<id>` get
/// `index.html`. A path whose last segment has an extension is a missing
/// file, not a route, so it stays a 404 (a stale `/medk_app.js?v=...` must
/// not come back as HTML and break with a confusing MIME error).
async fn app_shell(State(shell): State<Arc<PathBuf>>, req: Request) -> Response {
    if !is_app_route(req.uri().path()) {
        return StatusCode::NOT_FOUND.into_response();
    }
    if !tokio::fs::try_exists(shell.as_path()).await.unwrap_or(false) {
        return (StatusCode::SERVICE_UNAVAILABLE, NOT_BUILT).into_response();
    }
    let Ok(response) = precompressed(ServeFile::new(shell.as_path())).oneshot(req).await;
    response.map(Body::new)
}

fn precompressed(file: ServeFile) -> ServeFile {
    file.precompressed_br().precompressed_gzip()
}

/// Whether `path` is one the app routes itself (and so gets the app shell).
fn is_app_route(path: &str) -> bool {
    let server_owned = SERVER_PREFIXES
        .iter()
        .any(|prefix| path.strip_prefix(prefix).is_some_and(|rest| rest.is_empty() || rest.starts_with('/')));
    let last_segment = path.rsplit('/').next().unwrap_or_default();
    !server_owned && !last_segment.contains('.')
}

#[cfg(test)]
mod tests {
    use super::is_app_route;

    #[test]
    fn logged_paths_hold_no_invitation_codes() {
        assert_eq!(super::redacted("/api/invitations/abc123/accept"), "/api/invitations/…/accept");
        assert_eq!(super::redacted("/invite/abc123"), "/invite/…");
        assert_eq!(super::redacted("/api/invitations"), "/api/invitations");
        assert_eq!(super::redacted("/r/xyz"), "/r/xyz");
    }

    #[test]
    fn app_routes_are_extensionless_paths_outside_server_prefixes() {
        for path in ["/", "/r/abc", "/r/abc/", "/settings", "/apis", "/syncing/x"] {
            assert!(is_app_route(path), "{path}");
        }
        for path in ["/api", "/api/x", "/sync", "/sync/abc", "/assets/x.js", "/favicon.ico"] {
            assert!(!is_app_route(path), "{path}");
        }
    }
}
