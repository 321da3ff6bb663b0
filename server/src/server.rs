//! Running the relay: prepare the data dir, bind, serve until Ctrl-C or
//! SIGTERM, then let in-flight requests finish.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use tokio::net::TcpListener;

use crate::accounts::Accounts;
use crate::api::ApiState;
use crate::blobs::{self, BlobLimits, BlobStore};
use crate::connections::{self, ConnectionLimits};
use crate::http;
use crate::store::{Store, Writer};
use crate::sync::{HubOptions, SyncHub};
use medk_shared::ids::DocumentId;

/// The documents' database inside the data dir.
pub use crate::store::DATABASE_FILE;

/// Everything `medk-server serve` needs to know, already parsed.
#[derive(Debug, Clone)]
pub struct Config {
    /// `host:port` to bind; a name such as `localhost:8080` is resolved.
    pub listen: String,
    /// Where the relay keeps its state. Created when missing, so a fresh
    /// checkout can start without setup; documents are stored here.
    pub data_dir: PathBuf,
    /// PostgreSQL to keep documents in instead of the data dir's redb file
    /// ([`PgStore`]).
    pub database: Option<String>,
    /// The built app (`cargo xtask build` writes it to `dist/`). May be missing:
    /// the server still starts and says how to build it.
    pub static_dir: PathBuf,
    /// Mark the session cookie `Secure` (serve over HTTPS, usually behind a
    /// proxy that terminates TLS).
    pub secure_cookies: bool,
    /// Reverse proxies whose forwarding headers name the client.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Timeouts and caps on connections.
    pub connections: ConnectionLimits,
    /// Sync connections one person may hold.
    pub sync_connections_per_user: usize,
    /// Operations one person may add to one document, history included.
    pub document_ops_per_person: u64,
    /// Roadmaps one unit, and one person in it, may have registered by
    /// syncing them.
    pub registrations: crate::accounts::RegistrationLimits,
    /// Quotas and the free-space floor for attached files, and how long
    /// one no school file names is kept.
    pub blobs: BlobLimits,
}

/// Serves until a shutdown signal arrives.
pub async fn run(config: Config) -> anyhow::Result<()> {
    crate::private::create_dir(&config.data_dir)
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

    // Connecting, migrating and checking the file block: off the async threads.
    let (data_dir, database) = (config.data_dir.clone(), config.database.clone());
    let store =
        tokio::task::spawn_blocking(move || crate::store::open(&data_dir, database.as_deref())).await??;
    let accounts = Accounts::open(&config.data_dir)?;
    accounts.set_registration_limits(config.registrations);
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
    let blob_store = Arc::new(
        BlobStore::open_with(&config.data_dir, config.blobs)
            .with_context(|| format!("opening the blob store in {}", config.data_dir.display()))?,
    );
    let read_id = store.clone();
    let storage_id = tokio::task::spawn_blocking(move || read_id.storage_id())
        .await?
        .context("reading the document store's id")?;
    tokio::spawn(collect_blobs(store.clone(), accounts.clone(), blob_store.clone()));
    // Only those registered before this start: a roadmap registered from
    // now on is titled by the relay as its changes arrive.
    let untitled = accounts.untitled_roadmaps();
    if !untitled.is_empty() {
        let (titled, titles_from) = (accounts.clone(), store.clone());
        tokio::task::spawn_blocking(move || fill_titles(&*titles_from, &titled, untitled));
    }
    let options = HubOptions {
        storage_id: Some(storage_id),
        connections_per_user: config.sync_connections_per_user,
        document_ops_per_person: config.document_ops_per_person,
    };
    let hub = SyncHub::start(Writer::start(store), accounts.clone(), options);
    let api = ApiState::new(accounts, config.secure_cookies).behind(config.trusted_proxies.clone());

    let stop = {
        let hub = hub.clone();
        async move {
            shutdown_signal().await;
            hub.shutdown().await;
        }
    };
    let proxies = api.proxies().clone();
    let app = http::router(&config.static_dir, hub, api, blob_store);
    let capacity = connections::capacity();
    tracing::info!("taking at most {capacity} connections at once (the file limit allows them)");
    // Only now: scripts and tests wait for this line to start talking.
    tracing::info!("listening on http://{addr}");
    connections::serve(listener, app, proxies, config.connections, capacity, stop).await;
    tracing::info!("stopped");
    Ok(())
}

pub use crate::accounts::FIRST_ADMIN_FILE;

/// With no accounts yet, nobody could sign in to make one: writes a one-time
/// link for the first federal coordinator to a file only the server's user
/// can read (never to the log, which may be shared), and says where it is.
fn first_admin_invitation(
    accounts: &Accounts,
    data_dir: &std::path::Path,
    addr: std::net::SocketAddr,
) -> anyhow::Result<()> {
    use crate::accounts::FIRST_ADMIN_CREATOR;
    use medk_shared::access::{ROOT_UNIT, Role};
    let invitation = accounts
        .create_invitation(FIRST_ADMIN_CREATOR, Role::FederalCoordinator, ROOT_UNIT, vec![], "")
        .context("creating the first administrator's invitation")?;
    let path = data_dir.join(FIRST_ADMIN_FILE);
    let text = format!(
        "Open this link in a browser to create the first account (a federal coordinator);\n\
         it works once, for 14 days:\n\nhttp://{addr}/invite/{}\n\n\
         Or, with the server stopped: medk-server admin create-user --data-dir {} --login admin \
         --password-stdin --role federal-coordinator\n",
        invitation.code.unwrap_or_default(),
        data_dir.display(),
    );
    let mut options = crate::private::file_options();
    options.write(true).create(true).truncate(true);
    std::io::Write::write_all(&mut options.open(&path)?, text.as_bytes())
        .with_context(|| format!("writing {}", path.display()))?;
    tracing::warn!("no accounts yet: the link that creates the first one is in {}", path.display());
    Ok(())
}

/// Collects attached files no school file names ([`BlobStore::collect`]):
/// at start, then every hour. A run that cannot read the school files
/// collects nothing.
/// Gives the registered roadmaps `untitled` (those with no title yet,
/// [`Accounts::untitled_roadmaps`]) the title their stored document holds
/// (`doc::title_of`): lists show roadmaps by title before they are on a
/// device, also those registered before the relay kept titles or by
/// `medk-server import`, without waiting for their next change. A
/// document that does not load is left untitled.
pub fn fill_titles(store: &dyn Store, accounts: &Accounts, untitled: Vec<DocumentId>) {
    let found: Vec<_> = untitled
        .into_iter()
        .filter_map(|doc| {
            let chunks = store.load(&doc).ok()?;
            let stored = automerge::Automerge::load(&chunks.concat()).ok()?;
            Some((doc, medk_shared::doc::title_of(&stored)))
        })
        .collect();
    if found.is_empty() {
        return;
    }
    match accounts.fill_titles(found) {
        Ok(0) => {}
        Ok(kept) => tracing::info!("titles of {kept} roadmaps read from their documents"),
        Err(e) => tracing::warn!("the titles of untitled roadmaps were not kept: {e}"),
    }
}

async fn collect_blobs(store: Arc<dyn Store>, accounts: Accounts, blobs: Arc<BlobStore>) {
    let mut every = tokio::time::interval(std::time::Duration::from_secs(3600));
    loop {
        every.tick().await;
        let (store, accounts, blobs) = (store.clone(), accounts.clone(), blobs.clone());
        let run = tokio::task::spawn_blocking(move || {
            let references = blobs::references(&*store, &accounts.org()).map_err(|e| e.to_string())?;
            blobs.collect(&references, crate::accounts::now()).map_err(|e| e.to_string())
        });
        match run.await {
            Ok(Ok((0, 0))) => {}
            Ok(Ok((deleted, forgotten))) => {
                tracing::info!(deleted, forgotten, "collected files no school file names");
            }
            Ok(Err(e)) => tracing::warn!("collecting unreferenced files failed (nothing removed): {e}"),
            Err(e) => tracing::warn!("collecting unreferenced files stopped: {e}"),
        }
    }
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
