//! Running the relay: prepare the data dir, bind, serve until Ctrl-C or
//! SIGTERM, then let in-flight requests finish.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use tokio::net::TcpListener;

use crate::accounts::Accounts;
use crate::api::ApiState;
use crate::blobs::BlobStore;
use crate::http;
use crate::store::{RedbStore, Writer};
use crate::sync::{HubOptions, SyncHub};

/// The documents' database inside the data dir.
pub const DATABASE_FILE: &str = "medk.redb";

/// Everything `medk-server serve` needs to know, already parsed.
#[derive(Debug, Clone)]
pub struct Config {
    /// `host:port` to bind; a name such as `localhost:8080` is resolved.
    pub listen: String,
    /// Where the relay keeps its state. Created when missing, so a fresh
    /// checkout can start without setup; documents are stored here.
    pub data_dir: PathBuf,
    /// The built app (`cargo xtask build` writes it to `dist/`). May be missing:
    /// the server still starts and says how to build it.
    pub static_dir: PathBuf,
    /// Mark the session cookie `Secure` (serve over HTTPS, usually behind a
    /// proxy that terminates TLS).
    pub secure_cookies: bool,
    /// Sync connections one person may have open at once.
    pub connections_per_user: usize,
}

/// Serves until a shutdown signal arrives.
pub async fn run(config: Config) -> anyhow::Result<()> {
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("creating the data dir {}", config.data_dir.display()))?;
    if !config.static_dir.join(http::APP_SHELL).is_file() {
        tracing::warn!(
            "{} has no {}: the app is not built, answering 503 until it is (run `cargo xtask run`)",
            config.static_dir.display(),
            http::APP_SHELL,
        );
    }

    let listener =
        TcpListener::bind(&config.listen).await.with_context(|| format!("binding {}", config.listen))?;
    let addr = listener.local_addr().context("reading the bound address")?;

    let db = config.data_dir.join(DATABASE_FILE);
    let store =
        RedbStore::open(&db).with_context(|| format!("opening the document store {}", db.display()))?;
    let accounts = Accounts::open(&config.data_dir)?;
    if accounts.is_empty() {
        first_admin_invitation(&accounts, &config.data_dir, addr)?;
    } else {
        // Used (or no longer needed): the link must not linger.
        let _ = std::fs::remove_file(config.data_dir.join(FIRST_ADMIN_FILE));
    }
    let sweeper = accounts.clone();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(std::time::Duration::from_secs(3600));
        loop {
            every.tick().await;
            let sweeper = sweeper.clone();
            if let Ok(Err(e)) = tokio::task::spawn_blocking(move || sweeper.sweep()).await {
                tracing::warn!("removing expired sessions failed: {e}");
            }
        }
    });
    let blob_store = BlobStore::open(&config.data_dir)
        .with_context(|| format!("opening the blob store in {}", config.data_dir.display()))?;
    let storage_id = store.storage_id().context("reading the document store's id")?;
    let options =
        HubOptions { storage_id: Some(storage_id), connections_per_user: config.connections_per_user };
    let hub = SyncHub::start(Writer::start(Arc::new(store)), accounts.clone(), options);
    let api = ApiState::new(accounts, config.secure_cookies);

    let stop = {
        let hub = hub.clone();
        async move {
            shutdown_signal().await;
            hub.shutdown().await;
        }
    };
    let app = http::router(&config.static_dir, hub, api, Arc::new(blob_store));
    // Only now: scripts and tests wait for this line to start talking.
    tracing::info!("listening on http://{addr}");
    axum::serve(listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>())
        .with_graceful_shutdown(stop)
        .await
        .context("serving http")?;
    tracing::info!("stopped");
    Ok(())
}

/// The file, in the data dir, holding the link that makes the first account.
pub const FIRST_ADMIN_FILE: &str = "first-admin.txt";

/// With no accounts yet, nobody could sign in to make one: writes a one-time
/// link for the first federal coordinator to a file only the server's user
/// can read (never to the log, which may be shared), and says where it is.
fn first_admin_invitation(
    accounts: &Accounts,
    data_dir: &std::path::Path,
    addr: std::net::SocketAddr,
) -> anyhow::Result<()> {
    use medk_shared::access::{ROOT_UNIT, Role};
    let invitation = accounts
        .create_invitation("medk-server", Role::FederalCoordinator, ROOT_UNIT, vec![])
        .context("creating the first administrator's invitation")?;
    let path = data_dir.join(FIRST_ADMIN_FILE);
    let text = format!(
        "Open this link in a browser to create the first account (a federal coordinator);\n\
         it works once, for 14 days:\n\nhttp://{addr}/invite/{}\n\n\
         Or, with the server stopped: medk-server admin create-user --data-dir {} --login admin \
         --password-stdin --role federal-coordinator\n",
        invitation.code,
        data_dir.display(),
    );
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    std::io::Write::write_all(&mut options.open(&path)?, text.as_bytes())
        .with_context(|| format!("writing {}", path.display()))?;
    tracing::warn!("no accounts yet: the link that creates the first one is in {}", path.display());
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM (what `docker stop`, systemd and the e2e
/// harness send).
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::error!("cannot listen for Ctrl-C: {err}");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut sigterm) => {
                sigterm.recv().await;
            }
            Err(err) => {
                tracing::error!("cannot listen for SIGTERM: {err}");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();

    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
