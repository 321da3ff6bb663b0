//! The relay's documents in PostgreSQL (`medk-server --database postgres://…`),
//! for an installation that outgrows one machine's redb file: the same
//! [`Store`] as [`super::RedbStore`], so the relay cannot tell them apart.
//!
//! Tables (see [`MIGRATIONS`]): `chunks` (document, sequence number, bytes),
//! numbered from one sequence for the whole database, so appends from any
//! number of relays never collide and a document's chunks read back in the
//! order they were committed; `sync_states` (document, peer storage id);
//! `shares` (document, person: the operations each has added);
//! `medk_meta` (the storage id). A commit is one transaction: acknowledged
//! only once PostgreSQL says it committed.
//!
//! The [`Store`] trait is blocking (the relay calls it from its writer thread
//! and the blocking pool), while the driver is async (`tokio-postgres`, which
//! also gives LISTEN/NOTIFY): the store runs its connections on a small
//! runtime of its own and waits for each call there. A lost connection is an
//! error for that call ([`StoreError::Unavailable`]); the pool opens a new one
//! for the next, and the relay retries its writes meanwhile.

use std::time::Duration;

use deadpool_postgres::{Config, Pool, PoolConfig, Runtime, Timeouts};
use medk_shared::ids::DocumentId;
use tokio_postgres::NoTls;

use super::{Store, StoreError, Write};

/// The schema, one migration per version, run in order at start in one
/// transaction each (under an advisory lock, so relays starting together
/// do not race). Never edit one that shipped: add the next.
pub const MIGRATIONS: &[(i64, &str)] = &[
    (
        1,
        "CREATE TABLE medk_meta (key text PRIMARY KEY, value text NOT NULL);
     CREATE SEQUENCE chunk_seq;
     CREATE TABLE chunks (
         doc bytea NOT NULL,
         seq bigint NOT NULL,
         bytes bytea NOT NULL,
         PRIMARY KEY (doc, seq)
     );
     CREATE TABLE sync_states (
         doc bytea NOT NULL,
         storage_id text NOT NULL,
         bytes bytea NOT NULL,
         PRIMARY KEY (doc, storage_id)
     );",
    ),
    (
        2,
        "CREATE TABLE shares (
             doc bytea NOT NULL,
             person text NOT NULL,
             ops bigint NOT NULL,
             PRIMARY KEY (doc, person)
         );",
    ),
];

/// The advisory lock key migrations are run under (any constant; "medk").
const MIGRATION_LOCK: i64 = 0x6d65_646b;

/// How long a call waits for a connection (a new one or a free one) before
/// it fails: the relay retries a failed write, so a short wait is right.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The connections one relay keeps to the database at most.
const POOL_SIZE: usize = 8;

/// The [`Store`] on PostgreSQL.
pub struct PgStore {
    pool: Pool,
    /// Runs the connections; `None` only while dropping.
    runtime: Option<tokio::runtime::Runtime>,
    /// Where it is, without the password, for messages.
    name: String,
}

impl PgStore {
    /// Connects to the database at `url` (`postgres://user:password@host:port/db`)
    /// and brings its schema up to date. Blocking.
    pub fn open(url: &str) -> Result<PgStore, StoreError> {
        let name = redacted(url);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("medk-postgres")
            .enable_all()
            .build()
            .map_err(|e| StoreError::Unavailable { path: name.clone().into(), cause: e.to_string() })?;
        let mut config = Config::new();
        config.url = Some(url.to_owned());
        config.pool = Some(PoolConfig {
            max_size: POOL_SIZE,
            timeouts: Timeouts {
                wait: Some(CONNECT_TIMEOUT),
                create: Some(CONNECT_TIMEOUT),
                recycle: Some(CONNECT_TIMEOUT),
            },
            ..PoolConfig::default()
        });
        let pool = {
            let _inside = runtime.enter();
            config
                .create_pool(Some(Runtime::Tokio1), NoTls)
                .map_err(|e| StoreError::Postgres(format!("{name}: {e}")))?
        };
        let store = PgStore { pool, runtime: Some(runtime), name };
        store.run(|pool| async move { migrate(&pool).await })?;
        Ok(store)
    }

    /// Runs `call` with the pool on the store's runtime and waits for it.
    fn run<T, F>(&self, call: impl FnOnce(Pool) -> F) -> Result<T, StoreError>
    where
        F: std::future::Future<Output = Result<T, PgError>>,
    {
        let runtime = self.runtime.as_ref().expect("the runtime lives as long as the store");
        runtime.block_on(call(self.pool.clone())).map_err(|e| e.into_store_error(&self.name))
    }
}

impl Drop for PgStore {
    fn drop(&mut self) {
        // Dropped anywhere (an async task at shutdown, too): never block.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// What went wrong in one call: no connection, or PostgreSQL said no.
#[derive(Debug)]
pub enum PgError {
    Pool(deadpool_postgres::PoolError),
    Db(tokio_postgres::Error),
    Data(String),
}

impl From<deadpool_postgres::PoolError> for PgError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        PgError::Pool(e)
    }
}

impl From<tokio_postgres::Error> for PgError {
    fn from(e: tokio_postgres::Error) -> Self {
        PgError::Db(e)
    }
}

impl PgError {
    fn into_store_error(self, name: &str) -> StoreError {
        match self {
            // The database cannot be reached (or the connection broke):
            // tried again by the next call.
            PgError::Pool(e) => StoreError::Unavailable { path: name.into(), cause: e.to_string() },
            PgError::Db(e) if e.is_closed() || e.as_db_error().is_none() => {
                StoreError::Unavailable { path: name.into(), cause: e.to_string() }
            }
            PgError::Db(e) => StoreError::Postgres(e.to_string()),
            PgError::Data(e) => StoreError::Corrupted(e),
        }
    }
}

/// Brings the schema to the last of [`MIGRATIONS`].
async fn migrate(pool: &Pool) -> Result<(), PgError> {
    let mut client = pool.get().await?;
    let txn = client.transaction().await?;
    txn.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK]).await?;
    txn.batch_execute("CREATE TABLE IF NOT EXISTS medk_schema (version bigint PRIMARY KEY)").await?;
    let found: Option<i64> = txn.query_one("SELECT max(version) FROM medk_schema", &[]).await?.get(0);
    let found = found.unwrap_or(0);
    let newest = MIGRATIONS.last().map_or(0, |(v, _)| *v);
    if found > newest {
        return Err(PgError::Data(format!(
            "the database has schema version {found}; this medk-server knows up to {newest}"
        )));
    }
    for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > found) {
        txn.batch_execute(sql).await?;
        txn.execute("INSERT INTO medk_schema (version) VALUES ($1)", &[version]).await?;
        tracing::info!(version, "PostgreSQL schema migrated");
    }
    txn.commit().await?;
    Ok(())
}

/// `url` without its password, for logs and errors.
fn redacted(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            let user = credentials.split(':').next().unwrap_or_default();
            format!("{}{user}@{}", &url[..scheme + 3], &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}

impl Store for PgStore {
    fn load(&self, doc: &DocumentId) -> Result<Vec<Vec<u8>>, StoreError> {
        let doc = doc.as_bytes().to_vec();
        self.run(|pool| async move {
            let client = pool.get().await?;
            let rows = client.query("SELECT bytes FROM chunks WHERE doc = $1 ORDER BY seq", &[&doc]).await?;
            Ok(rows.iter().map(|row| row.get::<_, Vec<u8>>(0)).collect())
        })
    }

    fn commit(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        if writes.is_empty() {
            return Ok(());
        }
        self.run(|pool| async move {
            let mut client = pool.get().await?;
            let txn = client.transaction().await?;
            // A chunk gets the next number of the database's one sequence.
            const ADD_CHUNK: &str =
                "INSERT INTO chunks (doc, seq, bytes) VALUES ($1, nextval('chunk_seq'), $2)";
            for write in &writes {
                let doc = write.doc().as_bytes().as_slice();
                match write {
                    Write::Append { bytes, .. } => {
                        txn.execute(ADD_CHUNK, &[&doc, bytes]).await?;
                    }
                    Write::Replace { snapshot, .. } => {
                        txn.execute("DELETE FROM chunks WHERE doc = $1", &[&doc]).await?;
                        txn.execute(ADD_CHUNK, &[&doc, snapshot]).await?;
                    }
                    Write::SyncState { storage_id, bytes, .. } => {
                        txn.execute(
                            "INSERT INTO sync_states (doc, storage_id, bytes) VALUES ($1, $2, $3)
                             ON CONFLICT (doc, storage_id) DO UPDATE SET bytes = EXCLUDED.bytes",
                            &[&doc, storage_id, bytes],
                        )
                        .await?;
                    }
                    Write::Share { person, ops, .. } => {
                        // A share is bounded by the document's cap (millions).
                        let ops = i64::try_from(*ops).unwrap_or(i64::MAX);
                        txn.execute(
                            "INSERT INTO shares (doc, person, ops) VALUES ($1, $2, $3)
                             ON CONFLICT (doc, person) DO UPDATE SET ops = shares.ops + EXCLUDED.ops",
                            &[&doc, person, &ops],
                        )
                        .await?;
                    }
                    Write::Delete { .. } => {
                        txn.execute("DELETE FROM chunks WHERE doc = $1", &[&doc]).await?;
                        txn.execute("DELETE FROM sync_states WHERE doc = $1", &[&doc]).await?;
                        txn.execute("DELETE FROM shares WHERE doc = $1", &[&doc]).await?;
                    }
                }
            }
            txn.commit().await?;
            Ok(())
        })
    }

    fn load_sync_state(&self, doc: &DocumentId, storage_id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let (doc, storage_id) = (doc.as_bytes().to_vec(), storage_id.to_owned());
        self.run(|pool| async move {
            let client = pool.get().await?;
            let row = client
                .query_opt(
                    "SELECT bytes FROM sync_states WHERE doc = $1 AND storage_id = $2",
                    &[&doc, &storage_id],
                )
                .await?;
            Ok(row.map(|row| row.get::<_, Vec<u8>>(0)))
        })
    }

    fn shares(&self, doc: &DocumentId) -> Result<Vec<(String, u64)>, StoreError> {
        let doc = doc.as_bytes().to_vec();
        self.run(|pool| async move {
            let client = pool.get().await?;
            let rows = client.query("SELECT person, ops FROM shares WHERE doc = $1", &[&doc]).await?;
            Ok(rows
                .iter()
                .map(|row| (row.get::<_, String>(0), u64::try_from(row.get::<_, i64>(1)).unwrap_or(0)))
                .collect())
        })
    }

    fn documents(&self) -> Result<Vec<DocumentId>, StoreError> {
        self.run(|pool| async move {
            let client = pool.get().await?;
            let rows = client.query("SELECT DISTINCT doc FROM chunks ORDER BY doc", &[]).await?;
            rows.iter()
                .map(|row| {
                    let bytes: Vec<u8> = row.get(0);
                    let bytes: [u8; 16] = bytes
                        .try_into()
                        .map_err(|_| PgError::Data("a document id is not 16 bytes".into()))?;
                    Ok(DocumentId::from_bytes(bytes))
                })
                .collect()
        })
    }

    fn storage_id(&self) -> Result<String, StoreError> {
        self.run(|pool| async move {
            let client = pool.get().await?;
            let mut bytes = [0u8; 8];
            getrandom::fill(&mut bytes).map_err(|e| PgError::Data(e.to_string()))?;
            let made = format!("medk-relay-{:016x}", u64::from_le_bytes(bytes));
            // Made once: every relay on this database names the same storage.
            client
                .execute(
                    "INSERT INTO medk_meta (key, value) VALUES ('storage_id', $1) ON CONFLICT (key) DO NOTHING",
                    &[&made],
                )
                .await?;
            let row = client.query_one("SELECT value FROM medk_meta WHERE key = 'storage_id'", &[]).await?;
            Ok(row.get(0))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::redacted;

    #[test]
    fn passwords_stay_out_of_messages() {
        assert_eq!(
            redacted("postgres://medk:secret@127.0.0.1:5432/medk"),
            "postgres://medk@127.0.0.1:5432/medk"
        );
        assert_eq!(redacted("postgres://127.0.0.1/medk"), "postgres://127.0.0.1/medk");
    }
}
