//! The real router on an ephemeral port, spoken to over real HTTP.

use std::path::Path;

use std::sync::Arc;

use medk_server::accounts::Accounts;
use medk_server::api::ApiState;
use medk_server::blobs::BlobStore;
use medk_server::http::router;
use medk_server::store::{MemoryStore, Writer};
use medk_server::sync::SyncHub;
use reqwest::StatusCode;
use reqwest::header::{CACHE_CONTROL, CONTENT_ENCODING, CONTENT_TYPE, VARY};
use tokio::net::TcpListener;

const INDEX: &str = "<!doctype html><title>medk</title>";
/// Stand-ins: the server never decodes what it serves, so any bytes do.
const JS: &[u8] = b"export default 1;";
const JS_BR: &[u8] = b"\x0b\x08\x80brotli";
const JS_GZ: &[u8] = b"\x1f\x8bgzip";

/// Starts the router on `127.0.0.1:0` and returns its base URL.
async fn serve(static_dir: &Path) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let data = tempfile::tempdir().unwrap();
    let accounts = Accounts::open(data.path()).unwrap();
    let blobs = Arc::new(BlobStore::open(data.path()).unwrap());
    std::mem::forget(data); // lives as long as the server, to the end of the test
    let hub =
        SyncHub::start(Writer::start(Arc::new(MemoryStore::new())), accounts.clone(), Default::default());
    let app = router(static_dir, hub, ApiState::new(accounts, false), blobs);
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

/// A `dist/` as `cargo xtask build` leaves it (in miniature).
fn built_app() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, bytes: &[u8]| std::fs::write(dir.path().join(name), bytes).unwrap();
    write("index.html", INDEX.as_bytes());
    write("medk_app.js", JS);
    write("medk_app.js.br", JS_BR);
    write("medk_app.js.gz", JS_GZ);
    write("medk_app_bg.wasm", b"\0asm\x01\0\0\0");
    write("manifest.webmanifest", b"{}");
    write("sw.js", b"self.addEventListener('fetch', () => {});");
    dir
}

fn client() -> reqwest::Client {
    reqwest::Client::new()
}

#[tokio::test]
async fn serves_brotli_sibling_when_accepted() {
    let dist = built_app();
    let url = serve(dist.path()).await;

    let res = client()
        .get(format!("{url}/medk_app.js"))
        .header("accept-encoding", "br, gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()[CONTENT_ENCODING], "br");
    assert_eq!(res.headers()[CONTENT_TYPE], "text/javascript");
    assert_eq!(res.headers()[VARY], "accept-encoding");
    assert_eq!(res.bytes().await.unwrap().as_ref(), JS_BR);

    let res =
        client().get(format!("{url}/medk_app.js")).header("accept-encoding", "gzip").send().await.unwrap();
    assert_eq!(res.headers()[CONTENT_ENCODING], "gzip");
    assert_eq!(res.bytes().await.unwrap().as_ref(), JS_GZ);

    let res = client().get(format!("{url}/medk_app.js")).send().await.unwrap();
    assert!(res.headers().get(CONTENT_ENCODING).is_none());
    assert_eq!(res.bytes().await.unwrap().as_ref(), JS);
}

#[tokio::test]
async fn content_types_for_wasm_and_manifest() {
    let dist = built_app();
    let url = serve(dist.path()).await;

    let res = client().get(format!("{url}/medk_app_bg.wasm")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()[CONTENT_TYPE], "application/wasm");

    let res = client().get(format!("{url}/manifest.webmanifest")).send().await.unwrap();
    assert_eq!(res.headers()[CONTENT_TYPE], "application/manifest+json");
}

#[tokio::test]
async fn app_routes_fall_back_to_index_html() {
    let dist = built_app();
    let url = serve(dist.path()).await;

    for path in ["/", "/r/abc", "/r/abc/"] {
        let res = client().get(format!("{url}{path}")).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        assert!(res.headers()[CONTENT_TYPE].to_str().unwrap().starts_with("text/html"), "{path}");
        assert_eq!(res.text().await.unwrap(), INDEX, "{path}");
    }
}

#[tokio::test]
async fn missing_files_and_server_paths_are_404_not_index_html() {
    let dist = built_app();
    let url = serve(dist.path()).await;

    for path in ["/assets/x.js", "/medk_app.css", "/api/nope", "/sync/abc"] {
        let res = client().get(format!("{url}{path}")).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{path}");
    }
}

#[tokio::test]
async fn health_endpoint() {
    let url = serve(built_app().path()).await;

    let res = client().get(format!("{url}/api/health")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()[CONTENT_TYPE], "application/json");
    assert_eq!(res.text().await.unwrap(), r#"{"ok":true}"#);
}

#[tokio::test]
async fn everything_revalidates_and_the_service_worker_may_control_the_origin() {
    let dist = built_app();
    let url = serve(dist.path()).await;

    for path in ["/", "/r/abc", "/medk_app.js", "/api/health", "/assets/x.js"] {
        let res = client().get(format!("{url}{path}")).send().await.unwrap();
        assert_eq!(res.headers()[CACHE_CONTROL], "no-cache", "{path}");
    }
    let res = client().get(format!("{url}/sw.js")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["service-worker-allowed"], "/");
    assert_eq!(res.headers()[CONTENT_TYPE], "text/javascript");
    assert_eq!(res.headers()[CACHE_CONTROL], "no-cache");
}

#[tokio::test]
async fn unbuilt_app_answers_503_with_what_to_run() {
    let nowhere = tempfile::tempdir().unwrap();
    let url = serve(&nowhere.path().join("dist")).await;

    let res = client().get(format!("{url}/")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(res.text().await.unwrap().contains("cargo xtask run"));

    let res = client().get(format!("{url}/api/health")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test]
async fn pages_may_load_only_this_origins_scripts_and_never_be_framed() {
    let url = serve(built_app().path()).await;
    for path in ["/", "/r/abc", "/medk_app.js", "/api/health"] {
        let res = client().get(format!("{url}{path}")).send().await.unwrap();
        let csp = res.headers()["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"),
            "{path}: {csp}"
        );
        assert!(!csp.contains("unsafe-eval'") || csp.contains("wasm-unsafe-eval"), "{csp}");
        assert!(!csp.contains("script-src 'self' 'unsafe-inline'"), "no inline scripts: {csp}");
        assert_eq!(res.headers()["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(res.headers()["x-frame-options"], "DENY", "{path}");
        assert_eq!(res.headers()["referrer-policy"], "no-referrer", "{path}");
    }
}

/// The same host over another scheme is another origin: a page served over
/// plain HTTP (or injected into it on the way) must not act on an HTTPS
/// server's API with the person's cookie, nor the other way round.
#[tokio::test]
async fn an_origin_of_another_scheme_is_foreign() {
    let url = serve(built_app().path()).await;
    let host = url.strip_prefix("http://").unwrap();
    let login = |origin: String| {
        client()
            .post(format!("{url}/api/login"))
            .header("content-type", "application/json")
            .header("origin", origin)
            .body(r#"{"login":"nobody","password":"wrong-password"}"#)
            .send()
    };
    assert_eq!(login(format!("https://{host}")).await.unwrap().status(), StatusCode::FORBIDDEN);
    assert_eq!(login(format!("ws://{host}")).await.unwrap().status(), StatusCode::FORBIDDEN);
    assert_eq!(
        login(format!("http://{host}")).await.unwrap().status(),
        StatusCode::UNAUTHORIZED,
        "this origin"
    );
}

/// Files whose name starts with a dot are never served from the static
/// dir (an editor's backup, a `.env`, a `.git` left in a deployed copy),
/// however the path is spelled; nor do they fall back to the app shell.
#[tokio::test]
async fn dotfiles_in_the_static_dir_are_not_served() {
    let dist = built_app();
    std::fs::write(dist.path().join(".env"), "SECRET=1").unwrap();
    std::fs::create_dir(dist.path().join(".git")).unwrap();
    std::fs::write(dist.path().join(".git").join("config"), "[core]").unwrap();
    std::fs::create_dir(dist.path().join("assets")).unwrap();
    std::fs::write(dist.path().join("assets").join(".htpasswd"), "admin:x").unwrap();
    let url = serve(dist.path()).await;
    for path in ["/.env", "/.git/config", "/%2eenv", "/%2Egit/config", "/assets/.htpasswd", "/.git/", "/.git"]
    {
        let res = client().get(format!("{url}{path}")).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{path}");
        let body = res.text().await.unwrap();
        assert!(
            !body.contains("SECRET") && !body.contains("[core]") && !body.contains("admin:"),
            "{path}: {body}"
        );
    }
    let res = client().get(format!("{url}/medk_app.js")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK, "other files still are");
}
