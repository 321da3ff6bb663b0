//! Durable document storage for the relay.
//!
//! The relay keeps every document it syncs as Automerge chunks: a snapshot
//! (after compaction) followed by the incremental changes appended since, plus
//! one sync state per (document, peer storage id) so a returning peer resumes
//! where it left off. [`Store`] is that storage behind a trait, so the relay
//! can be tested against [`MemoryStore`] and run on [`RedbStore`] (one crash-safe
//! file) or [`postgres::PgStore`] (PostgreSQL, for several relays on one
//! database). [`Writer`] is what the async relay talks to: it runs the store's
//! commits on a dedicated thread and groups the commits queued meanwhile into a
//! single transaction, so one fsync acknowledges many writes.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use medk_shared::ids::DocumentId;
use redb::{Database, Durability, ReadableDatabase as _, ReadableTable as _, TableDefinition};
use tokio::sync::oneshot;

pub mod postgres;

/// The redb file of a data dir that keeps its documents itself.
pub const DATABASE_FILE: &str = "medk.redb";

/// The documents of an installation: in PostgreSQL at `database` when one is
/// given (`--database`, `MEDK_DATABASE_URL`), else in the data dir's redb
/// file. The server, `admin` and `import` all open it here, so they agree on
/// where documents are. Blocking (connecting, migrating, checking the file).
pub fn open(data_dir: &Path, database: Option<&str>) -> anyhow::Result<Arc<dyn Store>> {
    use anyhow::Context as _;
    Ok(match database {
        Some(url) => {
            Arc::new(postgres::PgStore::open(url).context("opening the document store in PostgreSQL")?)
        }
        None => {
            let db = data_dir.join(DATABASE_FILE);
            Arc::new(
                RedbStore::open(&db)
                    .with_context(|| format!("opening the document store {}", db.display()))?,
            )
        }
    })
}

/// What the store keeps, as the relay sees it. Blocking: call it from a thread
/// that may block (the [`Writer`] thread, `spawn_blocking`), never from an async
/// task directly.
pub trait Store: Send + Sync + 'static {
    /// Every stored chunk of `doc`, in write order: the snapshot, if any, first,
    /// then the chunks appended after it. Concatenated they load the document
    /// (`Automerge::load` accepts a snapshot followed by changes). An empty
    /// vector means the store does not know the document.
    fn load(&self, doc: &DocumentId) -> Result<Vec<Vec<u8>>, StoreError>;

    /// Applies `writes` in order, all or none, and durably: once this returns
    /// `Ok`, a crash of the process (and, for [`RedbStore`], of the machine)
    /// does not lose them. The relay acknowledges changes to peers only after
    /// this, so a peer never drops data the relay may have lost.
    fn commit(&self, writes: Vec<Write>) -> Result<(), StoreError>;

    /// The sync state last stored for `doc` and the peer whose automerge-repo
    /// storage id is `storage_id`, if any, so a reconnecting peer is sent only
    /// what it lacks.
    fn load_sync_state(&self, doc: &DocumentId, storage_id: &str) -> Result<Option<Vec<u8>>, StoreError>;

    /// How many operations each person has added to `doc` ([`Write::Share`]),
    /// in no particular order: what the relay holds against each person's
    /// share of a document, kept across restarts.
    fn shares(&self, doc: &DocumentId) -> Result<Vec<(String, u64)>, StoreError>;

    /// The ids of all documents with at least one stored chunk, in byte order,
    /// for administration and tests. Sync states alone do not make a document.
    fn documents(&self) -> Result<Vec<DocumentId>, StoreError>;

    /// The id the relay gives its storage to peers (automerge-repo's
    /// `storageId`): made once and kept with the data, so it is the same
    /// after a restart (and on every relay sharing the store) and changes
    /// only with the data.
    fn storage_id(&self) -> Result<String, StoreError>;
}

/// One change to the store; a [`Store::commit`] batch applies them in order.
#[derive(Clone, PartialEq, Eq)]
pub enum Write {
    /// Adds an incremental chunk after the document's existing ones: the cheap
    /// write for every change a peer sends.
    Append { doc: DocumentId, bytes: Vec<u8> },
    /// Deletes every chunk of the document and stores `snapshot` in their
    /// place, in the same transaction (compaction): chunks accumulate, and a
    /// crash midway must never leave a document with neither.
    Replace { doc: DocumentId, snapshot: Vec<u8> },
    /// Stores (or overwrites) the sync state of `doc` with the peer whose
    /// storage id is `storage_id`. Chunks are left alone.
    SyncState { doc: DocumentId, storage_id: String, bytes: Vec<u8> },
    /// Adds `ops` to what `person` has added to `doc` (their share of it).
    /// Compaction leaves shares alone: they count history too.
    Share { doc: DocumentId, person: String, ops: u64 },
    /// Deletes every chunk, sync state and share of `doc` (deleted for everyone).
    Delete { doc: DocumentId },
}

impl Write {
    /// The document the write is about, for logs and routing.
    pub fn doc(&self) -> &DocumentId {
        match self {
            Write::Append { doc, .. }
            | Write::Replace { doc, .. }
            | Write::SyncState { doc, .. }
            | Write::Share { doc, .. }
            | Write::Delete { doc } => doc,
        }
    }
}

// Payloads can be megabytes: logs and test failures show their sizes only.
impl fmt::Debug for Write {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Write::Append { doc, bytes } => write!(f, "Append({doc}, {} bytes)", bytes.len()),
            Write::Replace { doc, snapshot } => write!(f, "Replace({doc}, {} bytes)", snapshot.len()),
            Write::SyncState { doc, storage_id, bytes } => {
                write!(f, "SyncState({doc}, {storage_id:?}, {} bytes)", bytes.len())
            }
            Write::Share { doc, person, ops } => write!(f, "Share({doc}, {person:?}, {ops})"),
            Write::Delete { doc } => write!(f, "Delete({doc})"),
        }
    }
}

/// Why a store operation failed. Messages are meant for the operator's log:
/// they name the file and what redb reported.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database file could not be created or opened: not a redb file,
    /// damaged, unreadable, or held by another process.
    #[error("cannot open the document store {}: {cause}", path.display())]
    Open { path: PathBuf, cause: redb::Error },
    /// The file is a redb database, but not one this build can read (written
    /// by a newer medk-server, or by something else altogether).
    #[error("the document store {} has schema version {found}; this medk-server reads version {expected}", path.display())]
    Schema { path: PathBuf, found: u64, expected: u64 },
    /// A read or a commit failed in redb: I/O error, damaged data.
    #[error("document store: {0}")]
    Database(redb::Error),
    /// PostgreSQL refused a statement (the connection itself worked).
    #[error("document store (PostgreSQL): {0}")]
    Postgres(String),
    /// Stored data contradicts the store's own invariants.
    #[error("document store data is damaged: {0}")]
    Corrupted(String),
    /// The file could not be used after an I/O error (a full disk, say)
    /// and reopening it failed too, or was tried too recently; or the
    /// database could not be reached. The store tries again on a later call.
    #[error("the document store {} is unavailable: {cause}", path.display())]
    Unavailable { path: PathBuf, cause: String },
    /// The [`Writer`] thread is gone (it panicked), so the write was not
    /// committed.
    #[error("the document store writer has stopped; the write was not committed")]
    WriterStopped,
    /// A read run on the blocking pool did not complete (it panicked, or the
    /// runtime is shutting down).
    #[error("a document store read did not complete: {0}")]
    ReadTask(String),
}

// redb has one error type per operation; all are reported alike. Not
// `#[from]`: the message already includes redb's, and a `source` would print
// it twice in `{:#}` chains.
macro_rules! from_redb_errors {
    ($($error:ty),*) => {$(
        impl From<$error> for StoreError {
            fn from(error: $error) -> Self {
                StoreError::Database(error.into())
            }
        }
    )*};
}
from_redb_errors!(
    redb::Error,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError,
    redb::SetDurabilityError
);

/// Chunks of every document, keyed by (document, sequence number); the
/// sequence number grows per document, so a range scan returns write order.
const CHUNKS: TableDefinition<([u8; 16], u64), &[u8]> = TableDefinition::new("chunks");
/// Every document that has chunks → the sequence number its next chunk gets.
/// Lists documents without scanning chunks, and numbers appends without
/// looking up the last chunk.
const DOCUMENTS: TableDefinition<[u8; 16], u64> = TableDefinition::new("documents");
/// Sync states, keyed by (document, peer storage id).
const SYNC_STATES: TableDefinition<([u8; 16], &str), &[u8]> = TableDefinition::new("sync_states");
/// What each person has added to each document, in operations, keyed by
/// (document, person). Added in schema 1 without a bump: older builds
/// ignore the table, and opening creates it.
const SHARES: TableDefinition<([u8; 16], &str), u64> = TableDefinition::new("shares");
/// Store-wide facts: `schema_version`, and `storage_id` (a random number
/// made once: the relay names its storage by it to peers).
const META: TableDefinition<&str, u64> = TableDefinition::new("meta");

/// The layout described by the tables above. A change to it that old code
/// would misread bumps this, and gets a migration.
const SCHEMA_VERSION: u64 = 1;

/// redb's page cache limit. Its default (1 GiB) is sized for a database
/// server; the relay keeps its live documents in memory anyway and runs on a
/// small machine.
const CACHE_BYTES: usize = 64 * 1024 * 1024;

/// The production [`Store`]: one redb file (copy-on-write B-trees with
/// checksummed pages and commits), so a crash at any point leaves the last
/// committed state, and a backup is one file.
///
/// redb locks the file: a second process (or a second `open` in this one)
/// gets [`StoreError::Open`] instead of corrupting it.
///
/// After an I/O error (`No space left on device`) redb refuses every later
/// operation (`Previous I/O error occurred`) until the database is opened
/// again. So the store does that itself: the next call after such an error
/// closes the file and opens it again (which checks it and rolls back to
/// the last commit), at most once per [`REOPEN_EVERY`], and fails until it
/// can. The relay retries its writes meanwhile; once space is back it
/// carries on without a restart.
pub struct RedbStore {
    path: PathBuf,
    /// `None` while a reopen failed.
    db: RwLock<Option<Database>>,
    /// An I/O error happened: reopen before the next use.
    broken: AtomicBool,
    /// When a reopen was last tried.
    reopened_at: Mutex<Option<Instant>>,
}

/// The least time between two attempts to reopen a broken store (each reads
/// the whole file to check it).
pub const REOPEN_EVERY: Duration = Duration::from_secs(1);

/// Whether `error` is one after which redb needs the file reopened.
fn is_io(error: &StoreError) -> bool {
    matches!(
        error,
        StoreError::Database(redb::Error::Io(_) | redb::Error::PreviousIo | redb::Error::DatabaseClosed)
            | StoreError::Unavailable { .. }
    )
}

impl RedbStore {
    /// Opens the store at `path`, creating the file (not its directory) when
    /// missing. A file that is not a medk store gives an error naming it.
    ///
    /// Every open reads the whole file to verify its checksums (after a crash,
    /// the same pass repairs it): redb trusts a cleanly closed file otherwise,
    /// and would serve bytes damaged on disk since as if they were data. A
    /// damaged file is refused instead, for the operator to restore.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let db = Self::open_database(path)?;
        Ok(RedbStore {
            path: path.to_owned(),
            db: RwLock::new(Some(db)),
            broken: AtomicBool::new(false),
            reopened_at: Mutex::new(None),
        })
    }

    /// Opens the file, checks it, creates missing tables, and checks the
    /// schema version.
    fn open_database(path: &Path) -> Result<Database, StoreError> {
        let open_error = |cause| StoreError::Open { path: path.to_owned(), cause };
        let db = catch_panic(|| {
            Database::builder()
                .set_cache_size(CACHE_BYTES)
                .set_check_integrity_on_open(true)
                .create(path)
                .map_err(Into::into)
        })
        .and_then(|opened| opened)
        .map_err(open_error)?;
        crate::private::tighten(path, crate::private::FILE_MODE)
            .map_err(|e| open_error(redb::Error::Io(e)))?;
        let found = catch_panic(|| prepare(&db)).and_then(|prepared| prepared).map_err(open_error)?;
        if found != SCHEMA_VERSION {
            return Err(StoreError::Schema { path: path.to_owned(), found, expected: SCHEMA_VERSION });
        }
        Ok(db)
    }

    /// Runs `op` on the database, reopening it first if an I/O error broke
    /// it; an I/O error from `op` marks it broken for the next call.
    fn with_db<T>(&self, op: impl FnOnce(&Database) -> Result<T, StoreError>) -> Result<T, StoreError> {
        if self.broken.load(Ordering::Acquire) {
            self.reopen()?;
        }
        let db = self.db.read().unwrap_or_else(PoisonError::into_inner);
        let Some(db) = db.as_ref() else {
            self.broken.store(true, Ordering::Release);
            return Err(self.unavailable("not open"));
        };
        let result = op(db);
        if let Err(e) = &result
            && is_io(e)
        {
            tracing::warn!(path = %self.path.display(), "the document store failed ({e}); it will be reopened");
            self.broken.store(true, Ordering::Release);
        }
        result
    }

    fn unavailable(&self, cause: impl Into<String>) -> StoreError {
        StoreError::Unavailable { path: self.path.clone(), cause: cause.into() }
    }

    /// Closes the broken database and opens the file again, unless another
    /// call just did (or tried too recently).
    fn reopen(&self) -> Result<(), StoreError> {
        let mut db = self.db.write().unwrap_or_else(PoisonError::into_inner);
        if !self.broken.load(Ordering::Acquire) {
            return Ok(());
        }
        {
            let mut at = self.reopened_at.lock().unwrap_or_else(PoisonError::into_inner);
            if at.is_some_and(|at| at.elapsed() < REOPEN_EVERY) {
                return Err(self.unavailable("waiting to reopen it"));
            }
            *at = Some(Instant::now());
        }
        // Closing first: redb refuses a second open of a file this process holds.
        *db = None;
        match Self::open_database(&self.path) {
            Ok(opened) => {
                *db = Some(opened);
                self.broken.store(false, Ordering::Release);
                tracing::info!(path = %self.path.display(), "the document store is open again");
                Ok(())
            }
            Err(e) => Err(self.unavailable(e.to_string())),
        }
    }

    fn load_chunks(db: &Database, doc: &DocumentId) -> Result<Vec<Vec<u8>>, StoreError> {
        let txn = db.begin_read()?;
        let chunks = txn.open_table(CHUNKS)?;
        chunks
            .range(chunk_range(doc))?
            .map(|entry| Ok(entry?.1.value().to_vec()))
            .collect::<Result<_, redb::StorageError>>()
            .map_err(Into::into)
    }

    fn commit_writes(db: &Database, writes: &[Write]) -> Result<(), StoreError> {
        if writes.is_empty() {
            return Ok(());
        }
        let mut txn = db.begin_write()?;
        // redb's default, stated because the relay's acknowledgements rely on it.
        txn.set_durability(Durability::Immediate)?;
        {
            let mut chunks = txn.open_table(CHUNKS)?;
            let mut documents = txn.open_table(DOCUMENTS)?;
            let mut sync_states = txn.open_table(SYNC_STATES)?;
            let mut shares = txn.open_table(SHARES)?;
            for write in writes {
                match write {
                    Write::Append { doc, bytes } => {
                        let seq = documents.get(doc.as_bytes())?.map_or(0, |next| next.value());
                        chunks.insert((*doc.as_bytes(), seq), bytes.as_slice())?;
                        documents.insert(doc.as_bytes(), next_seq(doc, seq)?)?;
                    }
                    Write::Replace { doc, snapshot } => {
                        let seq = documents.get(doc.as_bytes())?.map_or(0, |next| next.value());
                        chunks.retain_in(chunk_range(doc), |_, _| false)?;
                        chunks.insert((*doc.as_bytes(), seq), snapshot.as_slice())?;
                        documents.insert(doc.as_bytes(), next_seq(doc, seq)?)?;
                    }
                    Write::SyncState { doc, storage_id, bytes } => {
                        sync_states.insert((*doc.as_bytes(), storage_id.as_str()), bytes.as_slice())?;
                    }
                    Write::Share { doc, person, ops } => {
                        let key = (*doc.as_bytes(), person.as_str());
                        let had = shares.get(key)?.map_or(0, |ops| ops.value());
                        shares.insert(key, had.saturating_add(*ops))?;
                    }
                    Write::Delete { doc } => {
                        chunks.retain_in(chunk_range(doc), |_, _| false)?;
                        documents.remove(doc.as_bytes())?;
                        sync_states.retain_in(by_person(doc), |_, _| false)?;
                        shares.retain_in(by_person(doc), |_, _| false)?;
                    }
                }
            }
        }
        txn.commit()?;
        Ok(())
    }

    fn get_sync_state(
        db: &Database,
        doc: &DocumentId,
        storage_id: &str,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let txn = db.begin_read()?;
        let sync_states = txn.open_table(SYNC_STATES)?;
        Ok(sync_states.get((*doc.as_bytes(), storage_id))?.map(|bytes| bytes.value().to_vec()))
    }

    fn get_shares(db: &Database, doc: &DocumentId) -> Result<Vec<(String, u64)>, StoreError> {
        let txn = db.begin_read()?;
        let shares = txn.open_table(SHARES)?;
        shares
            .range(by_person(doc))?
            .map(|entry| {
                let (key, ops) = entry?;
                Ok((key.value().1.to_owned(), ops.value()))
            })
            .collect::<Result<_, redb::StorageError>>()
            .map_err(Into::into)
    }

    fn list_documents(db: &Database) -> Result<Vec<DocumentId>, StoreError> {
        let txn = db.begin_read()?;
        let documents = txn.open_table(DOCUMENTS)?;
        documents
            .iter()?
            .map(|entry| Ok(DocumentId::from_bytes(entry?.0.value())))
            .collect::<Result<_, redb::StorageError>>()
            .map_err(Into::into)
    }
}

/// Returns the file's schema version; when it is this build's (or the
/// file is new), also creates any missing table, so reads never meet one.
fn prepare(db: &Database) -> Result<u64, redb::Error> {
    let txn = db.begin_write()?;
    {
        let mut meta = txn.open_table(META)?;
        let found = meta.get("schema_version")?.map(|version| version.value());
        match found {
            None => {
                meta.insert("schema_version", SCHEMA_VERSION)?;
            }
            Some(SCHEMA_VERSION) => {}
            // Left untouched: dropping the transaction aborts it.
            Some(other) => return Ok(other),
        }
        txn.open_table(CHUNKS)?;
        txn.open_table(DOCUMENTS)?;
        txn.open_table(SYNC_STATES)?;
        txn.open_table(SHARES)?;
    }
    txn.commit()?;
    Ok(SCHEMA_VERSION)
}

/// The key range of a table keyed by (document, storage id or person)
/// holding every entry of `doc`.
fn by_person(doc: &DocumentId) -> std::ops::RangeInclusive<([u8; 16], &'static str)> {
    (*doc.as_bytes(), "")..=(*doc.as_bytes(), "\u{10ffff}")
}

/// The key range holding every chunk of `doc`.
fn chunk_range(doc: &DocumentId) -> std::ops::RangeInclusive<([u8; 16], u64)> {
    (*doc.as_bytes(), 0)..=(*doc.as_bytes(), u64::MAX)
}

// Every operation goes through `catch_panic`: see there.
impl Store for RedbStore {
    fn load(&self, doc: &DocumentId) -> Result<Vec<Vec<u8>>, StoreError> {
        self.with_db(|db| guarded(|| Self::load_chunks(db, doc)))
    }

    fn commit(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        self.with_db(|db| guarded(|| Self::commit_writes(db, &writes)))
    }

    fn load_sync_state(&self, doc: &DocumentId, storage_id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.with_db(|db| guarded(|| Self::get_sync_state(db, doc, storage_id)))
    }

    fn shares(&self, doc: &DocumentId) -> Result<Vec<(String, u64)>, StoreError> {
        self.with_db(|db| guarded(|| Self::get_shares(db, doc)))
    }

    fn documents(&self) -> Result<Vec<DocumentId>, StoreError> {
        self.with_db(|db| guarded(|| Self::list_documents(db)))
    }

    fn storage_id(&self) -> Result<String, StoreError> {
        self.with_db(|db| {
            guarded(|| {
                let txn = db.begin_write()?;
                let id = {
                    let mut meta = txn.open_table(META)?;
                    let found = meta.get("storage_id")?.map(|id| id.value());
                    match found {
                        Some(id) => id,
                        None => {
                            let mut bytes = [0u8; 8];
                            getrandom::fill(&mut bytes).map_err(|e| StoreError::Corrupted(e.to_string()))?;
                            let id = u64::from_le_bytes(bytes);
                            meta.insert("storage_id", id)?;
                            id
                        }
                    }
                };
                txn.commit()?;
                Ok(format!("medk-relay-{id:016x}"))
            })
        })
    }
}

/// Runs `op`, turning a panic into an error. redb panics on some damaged files
/// (its internal consistency checks are `debug_assert!`s in debug builds, and
/// a few plain `assert!`s remain), and a damaged file must not take the relay
/// down. Sound because redb aborts a transaction that a panic unwinds through,
/// and the store keeps no state of its own across the call.
fn catch_panic<T>(op: impl FnOnce() -> T) -> Result<T, redb::Error> {
    panic::catch_unwind(AssertUnwindSafe(op)).map_err(|payload| {
        let message = payload
            .downcast_ref::<&str>()
            .map(|message| message.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        redb::Error::Corrupted(format!("redb failed an internal check: {message}"))
    })
}

/// [`catch_panic`] for an operation that returns a store result.
fn guarded<T>(op: impl FnOnce() -> Result<T, StoreError>) -> Result<T, StoreError> {
    catch_panic(op).unwrap_or_else(|cause| Err(StoreError::Database(cause)))
}

/// The sequence number after `seq`; only a damaged counter can overflow.
fn next_seq(doc: &DocumentId, seq: u64) -> Result<u64, StoreError> {
    seq.checked_add(1).ok_or_else(|| StoreError::Corrupted(format!("chunk counter of {doc} overflowed")))
}

/// A [`Store`] in memory, with the same semantics as [`RedbStore`] and no
/// durability: for tests of the modules above the store.
#[derive(Default)]
pub struct MemoryStore {
    state: Mutex<MemoryState>,
}

#[derive(Default, Clone)]
struct MemoryState {
    chunks: BTreeMap<DocumentId, Vec<Vec<u8>>>,
    sync_states: HashMap<(DocumentId, String), Vec<u8>>,
    shares: BTreeMap<(DocumentId, String), u64>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> std::sync::MutexGuard<'_, MemoryState> {
        // Writes cannot fail halfway, so a panic elsewhere leaves the state whole.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Store for MemoryStore {
    fn load(&self, doc: &DocumentId) -> Result<Vec<Vec<u8>>, StoreError> {
        Ok(self.state().chunks.get(doc).cloned().unwrap_or_default())
    }

    fn commit(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        let mut state = self.state();
        for write in writes {
            match write {
                Write::Append { doc, bytes } => state.chunks.entry(doc).or_default().push(bytes),
                Write::Replace { doc, snapshot } => {
                    state.chunks.insert(doc, vec![snapshot]);
                }
                Write::SyncState { doc, storage_id, bytes } => {
                    state.sync_states.insert((doc, storage_id), bytes);
                }
                Write::Share { doc, person, ops } => {
                    let share = state.shares.entry((doc, person)).or_default();
                    *share = share.saturating_add(ops);
                }
                Write::Delete { doc } => {
                    state.chunks.remove(&doc);
                    state.sync_states.retain(|(d, _), _| *d != doc);
                    state.shares.retain(|(d, _), _| *d != doc);
                }
            }
        }
        Ok(())
    }

    fn load_sync_state(&self, doc: &DocumentId, storage_id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.state().sync_states.get(&(*doc, storage_id.to_owned())).cloned())
    }

    fn shares(&self, doc: &DocumentId) -> Result<Vec<(String, u64)>, StoreError> {
        let state = self.state();
        Ok(state
            .shares
            .iter()
            .filter(|((d, _), _)| d == doc)
            .map(|((_, p), ops)| (p.clone(), *ops))
            .collect())
    }

    fn documents(&self) -> Result<Vec<DocumentId>, StoreError> {
        Ok(self.state().chunks.keys().copied().collect())
    }

    fn storage_id(&self) -> Result<String, StoreError> {
        Ok("medk-relay-memory".to_owned())
    }
}

/// One queued [`Writer::commit`] call.
struct Request {
    writes: Vec<Write>,
    reply: oneshot::Sender<Result<(), StoreError>>,
}

/// The async handle the relay writes through. Owns a dedicated thread that
/// commits to the store; the commits queued while one is in progress are
/// committed together by the next (group commit), so N concurrent writers
/// pay for far fewer than N fsyncs, and the async runtime never blocks on one.
///
/// Requests are committed in the order they were queued. Dropping the
/// `Writer` commits what is queued, then stops the thread; it blocks until
/// then, so drop it at shutdown (with `spawn_blocking` if a runtime must stay
/// responsive meanwhile).
pub struct Writer {
    store: Arc<dyn Store>,
    /// `None` only during `drop`, which closes it to stop the thread.
    queue: Option<mpsc::Sender<Request>>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Writer {
    /// Starts the writer thread over `store`.
    ///
    /// # Panics
    ///
    /// If the OS cannot start a thread (out of resources at startup).
    pub fn start(store: Arc<dyn Store>) -> Writer {
        let (queue, requests) = mpsc::channel();
        let thread_store = Arc::clone(&store);
        let thread = thread::Builder::new()
            .name("medk-store-writer".into())
            .spawn(move || run_writer(&*thread_store, &requests))
            .expect("cannot start the store writer thread");
        Writer { store, queue: Some(queue), thread: Some(thread) }
    }

    /// Commits `writes` (in order, all or none, durably; see [`Store::commit`])
    /// and resolves once they are on disk. They are queued when this is
    /// called, not when the future is first polled: writes are committed in
    /// the order of the calls (a deletion after the write before it).
    /// Dropping the future does not cancel the write.
    pub fn commit(
        &self,
        writes: Vec<Write>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send + 'static {
        let (reply, answer) = oneshot::channel();
        let queued = match self.queue.as_ref() {
            Some(queue) => queue.send(Request { writes, reply }).map_err(|_| StoreError::WriterStopped),
            None => Err(StoreError::WriterStopped),
        };
        async move {
            queued?;
            answer.await.map_err(|_| StoreError::WriterStopped)?
        }
    }

    /// [`Store::load`] and [`Store::shares`] on the blocking pool: what the
    /// relay needs to take a document up again. Reads run beside the writer
    /// thread (redb readers see the last commit and do not wait for writers).
    pub async fn load_with_shares(
        &self,
        doc: &DocumentId,
    ) -> Result<(Vec<Vec<u8>>, Vec<(String, u64)>), StoreError> {
        let doc = *doc;
        self.read(move |store| Ok((store.load(&doc)?, store.shares(&doc)?))).await
    }

    /// [`Store::load_sync_state`] on the blocking pool, like [`Writer::load_with_shares`].
    pub async fn load_sync_state(
        &self,
        doc: &DocumentId,
        storage_id: &str,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let (doc, storage_id) = (*doc, storage_id.to_owned());
        self.read(move |store| store.load_sync_state(&doc, &storage_id)).await
    }

    /// The store itself, for the reads the writer does not wrap (such as
    /// [`Store::documents`] for administration). Its calls block.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    async fn read<T: Send + 'static>(
        &self,
        read: impl FnOnce(&dyn Store) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let store = Arc::clone(&self.store);
        tokio::task::spawn_blocking(move || read(&*store))
            .await
            .map_err(|error| StoreError::ReadTask(error.to_string()))?
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        // Closing the queue ends the thread once it has committed what is queued;
        // joining it releases its hold on the store (and so the database file).
        drop(self.queue.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The writer thread: waits for a request, takes every request queued by then,
/// commits them as one group, answers each, and repeats until the queue closes.
fn run_writer(store: &dyn Store, requests: &mpsc::Receiver<Request>) {
    while let Ok(first) = requests.recv() {
        let mut group = vec![first];
        group.extend(requests.try_iter());
        commit_group(store, group);
    }
}

/// Commits `group` in one transaction; if that fails, commits each request on
/// its own, so one bad request fails alone. A caller that has gone away is not
/// answered, but its writes are still committed.
fn commit_group(store: &dyn Store, mut group: Vec<Request>) {
    if group.len() == 1 {
        let Request { writes, reply } = group.remove(0);
        let _ = reply.send(store.commit(writes));
        return;
    }
    // Copied, because a failed commit consumes the writes and the fallback needs
    // them again; a copy costs far less than the fsync it saves.
    let all: Vec<Write> = group.iter().flat_map(|request| request.writes.iter().cloned()).collect();
    match store.commit(all) {
        Ok(()) => {
            for request in group {
                let _ = request.reply.send(Ok(()));
            }
        }
        Err(error) => {
            tracing::warn!(%error, requests = group.len(), "group commit failed; committing its requests one by one");
            for Request { writes, reply } in group {
                let _ = reply.send(store.commit(writes));
            }
        }
    }
}
