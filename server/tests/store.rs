//! The relay's document store: what [`RedbStore`] and [`MemoryStore`] keep and
//! give back, that a bad file is an error and not a panic, that the
//! [`Writer`] groups concurrent commits and isolates a failing one, and that a
//! commit acknowledged before a `kill -9` survives it.

use std::io::{BufRead as _, BufReader, Write as _};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use medk_server::store::postgres::PgStore;
use medk_server::store::{MemoryStore, RedbStore, Store, StoreError, Write, Writer};
use medk_shared::ids::DocumentId;

mod common;
use common::postgres::PgCluster;

fn doc(n: u8) -> DocumentId {
    DocumentId::from_bytes([n; 16])
}

fn append(doc: DocumentId, bytes: &[u8]) -> Write {
    Write::Append { doc, bytes: bytes.to_vec() }
}

fn replace(doc: DocumentId, snapshot: &[u8]) -> Write {
    Write::Replace { doc, snapshot: snapshot.to_vec() }
}

fn sync_state(doc: DocumentId, storage_id: &str, bytes: &[u8]) -> Write {
    Write::SyncState { doc, storage_id: storage_id.to_owned(), bytes: bytes.to_vec() }
}

fn chunks(parts: &[&[u8]]) -> Vec<Vec<u8>> {
    parts.iter().map(|part| part.to_vec()).collect()
}

/// One script of writes and reads, with what every read must return; run over
/// each implementation so they cannot drift apart.
fn store_script(store: &dyn Store) {
    let (a, b, c) = (doc(1), doc(2), doc(3));
    assert_eq!(store.load(&a).unwrap(), Vec::<Vec<u8>>::new(), "unknown document");
    assert_eq!(store.documents().unwrap(), vec![]);
    store.commit(vec![]).unwrap();

    // Appends keep write order, within a batch and across batches.
    store.commit(vec![append(a, b"a1"), append(b, b"b1"), append(a, b"a2")]).unwrap();
    store.commit(vec![append(a, b"a3")]).unwrap();
    assert_eq!(store.load(&a).unwrap(), chunks(&[b"a1", b"a2", b"a3"]));
    assert_eq!(store.load(&b).unwrap(), chunks(&[b"b1"]));

    // Replace drops every chunk of that document only, and appends follow it.
    store.commit(vec![replace(a, b"snapshot-a"), append(a, b"a4")]).unwrap();
    assert_eq!(store.load(&a).unwrap(), chunks(&[b"snapshot-a", b"a4"]));
    assert_eq!(store.load(&b).unwrap(), chunks(&[b"b1"]));
    store.commit(vec![append(a, b"a5"), replace(a, b"snapshot-a2")]).unwrap();
    assert_eq!(store.load(&a).unwrap(), chunks(&[b"snapshot-a2"]));
    // An empty chunk is a chunk.
    store.commit(vec![append(a, b"")]).unwrap();
    assert_eq!(store.load(&a).unwrap(), chunks(&[b"snapshot-a2", b""]));

    // Replace of an unknown document creates it.
    store.commit(vec![replace(c, b"snapshot-c")]).unwrap();
    assert_eq!(store.load(&c).unwrap(), chunks(&[b"snapshot-c"]));

    // Sync states: per (document, storage id), last write wins, chunks untouched.
    assert_eq!(store.load_sync_state(&a, "peer-1").unwrap(), None);
    store.commit(vec![sync_state(a, "peer-1", b"s1"), sync_state(a, "peer-2", b"t1")]).unwrap();
    store.commit(vec![sync_state(a, "peer-1", b"s2"), sync_state(b, "peer-1", b"u1")]).unwrap();
    assert_eq!(store.load_sync_state(&a, "peer-1").unwrap(), Some(b"s2".to_vec()));
    assert_eq!(store.load_sync_state(&a, "peer-2").unwrap(), Some(b"t1".to_vec()));
    assert_eq!(store.load_sync_state(&b, "peer-1").unwrap(), Some(b"u1".to_vec()));
    assert_eq!(store.load_sync_state(&c, "peer-1").unwrap(), None);
    assert_eq!(store.load_sync_state(&a, "").unwrap(), None);
    store.commit(vec![replace(a, b"snapshot-a3")]).unwrap();
    assert_eq!(
        store.load_sync_state(&a, "peer-1").unwrap(),
        Some(b"s2".to_vec()),
        "Replace keeps sync states"
    );
    assert_eq!(store.load(&a).unwrap(), chunks(&[b"snapshot-a3"]));

    // A sync state alone does not make a document.
    store.commit(vec![sync_state(doc(4), "peer-1", b"v1")]).unwrap();
    assert_eq!(store.documents().unwrap(), vec![a, b, c]);

    // Shares: what each person added to a document, summed; compaction
    // keeps them, deletion takes them with the document.
    assert_eq!(shares(store, &a), vec![]);
    store.commit(vec![append(a, b"a6"), share(a, "mallory", 600), share(a, "alice", 1)]).unwrap();
    store.commit(vec![share(a, "mallory", 700), share(b, "mallory", 5), share(a, "Маша", 40)]).unwrap();
    store.commit(vec![share(a, "Маша", 1), replace(a, b"snapshot-a3")]).unwrap();
    assert_eq!(
        shares(store, &a),
        vec![("alice".into(), 1), ("mallory".into(), 1_300), ("Маша".into(), 41)],
        "summed, kept by Replace"
    );
    assert_eq!(shares(store, &b), vec![("mallory".into(), 5)]);
    store.commit(vec![append(c, b"c1"), share(c, "alice", 3)]).unwrap();
    store.commit(vec![Write::Delete { doc: c }]).unwrap();
    assert_eq!(shares(store, &c), vec![], "deleted with the document");
    store.commit(vec![replace(c, b"snapshot-c")]).unwrap();
}

fn share(doc: DocumentId, person: &str, ops: u64) -> Write {
    Write::Share { doc, person: person.into(), ops }
}

/// A document's shares, sorted.
fn shares(store: &dyn Store, doc: &DocumentId) -> Vec<(String, u64)> {
    let mut shares = store.shares(doc).unwrap();
    shares.sort();
    shares
}

/// What [`store_script`] leaves, checked again after a reopen.
fn assert_script_result(store: &dyn Store) {
    assert_eq!(store.documents().unwrap(), vec![doc(1), doc(2), doc(3)]);
    assert_eq!(store.load(&doc(1)).unwrap(), chunks(&[b"snapshot-a3"]));
    assert_eq!(store.load(&doc(2)).unwrap(), chunks(&[b"b1"]));
    assert_eq!(store.load(&doc(3)).unwrap(), chunks(&[b"snapshot-c"]));
    assert_eq!(store.load_sync_state(&doc(1), "peer-1").unwrap(), Some(b"s2".to_vec()));
    assert_eq!(store.load_sync_state(&doc(4), "peer-1").unwrap(), Some(b"v1".to_vec()));
    assert_eq!(
        shares(store, &doc(1)),
        vec![("alice".into(), 1), ("mallory".into(), 1_300), ("Маша".into(), 41)]
    );
    assert_eq!(shares(store, &doc(3)), vec![]);
}

#[test]
fn memory_store_follows_the_script() {
    let store = MemoryStore::new();
    store_script(&store);
    assert_script_result(&store);
}

#[test]
fn redb_store_follows_the_script_and_keeps_it_across_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("documents.redb");
    {
        let store = RedbStore::open(&path).unwrap();
        store_script(&store);
        assert_script_result(&store);
    }
    let store = RedbStore::open(&path).unwrap();
    assert_script_result(&store);
    // Sequence numbers go on after a reopen: appends still land last.
    store.commit(vec![append(doc(2), b"b2")]).unwrap();
    assert_eq!(store.load(&doc(2)).unwrap(), chunks(&[b"b1", b"b2"]));
}

#[test]
fn postgres_store_follows_the_script_and_keeps_it_across_a_reopen() {
    let cluster = PgCluster::start();
    let url = cluster.url("medk");
    let id = {
        let store = PgStore::open(&url).unwrap();
        store_script(&store);
        assert_script_result(&store);
        store.storage_id().unwrap()
    };
    let store = PgStore::open(&url).unwrap();
    assert_script_result(&store);
    store.commit(vec![append(doc(2), b"b2")]).unwrap();
    assert_eq!(store.load(&doc(2)).unwrap(), chunks(&[b"b1", b"b2"]));
    assert_eq!(store.storage_id().unwrap(), id, "the storage id is kept with the data");
}

/// Relays that start at once on a new database make its schema once, and
/// name the same storage.
#[test]
fn relays_starting_together_on_one_database_share_its_schema_and_storage_id() {
    let cluster = PgCluster::start();
    let url = cluster.create("together");
    let opened: Vec<PgStore> = std::thread::scope(|scope| {
        let starts: Vec<_> = (0..4).map(|_| scope.spawn(|| PgStore::open(&url).unwrap())).collect();
        starts.into_iter().map(|s| s.join().unwrap()).collect()
    });
    let ids: Vec<String> = opened.iter().map(|s| s.storage_id().unwrap()).collect();
    assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");
    // What one writes, another reads.
    opened[0].commit(vec![append(doc(7), b"from one")]).unwrap();
    opened[3].commit(vec![append(doc(7), b"from another")]).unwrap();
    assert_eq!(opened[1].load(&doc(7)).unwrap(), chunks(&[b"from one", b"from another"]));
}

/// The database goes away: calls fail with an error (never a panic, never a
/// commit said to be done), and once it is back the store carries on
/// without being reopened, with everything committed before.
#[test]
fn a_lost_database_is_an_error_until_it_is_back() {
    let cluster = PgCluster::start();
    let store = PgStore::open(&cluster.url("medk")).unwrap();
    store.commit(vec![append(doc(1), b"before")]).unwrap();
    cluster.stop();
    let lost = store.commit(vec![append(doc(1), b"while away")]);
    assert!(matches!(lost, Err(StoreError::Unavailable { .. })), "{lost:?}");
    assert!(store.load(&doc(1)).is_err());
    cluster.start_server();
    let started = Instant::now();
    loop {
        match store.commit(vec![append(doc(1), b"after")]) {
            Ok(()) => break,
            Err(e) if started.elapsed() < Duration::from_secs(30) => {
                println!("not yet: {e}");
                std::thread::sleep(Duration::from_millis(200));
            }
            Err(e) => panic!("the store did not come back: {e}"),
        }
    }
    assert_eq!(store.load(&doc(1)).unwrap(), chunks(&[b"before", b"after"]));
}

#[test]
fn a_file_that_is_not_a_store_is_a_readable_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("documents.redb");
    let garbage: Vec<u8> = (0..64 * 1024u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    std::fs::write(&path, &garbage).unwrap();
    let error = RedbStore::open(&path).err().expect("garbage must not open");
    let message = error.to_string();
    eprintln!("garbage file: {message}");
    assert!(matches!(error, StoreError::Open { .. }), "{error:?}");
    assert!(message.contains("documents.redb"), "the message names the file: {message}");
    assert_eq!(std::fs::read(&path).unwrap(), garbage, "the file is left as it was");

    // A directory in its place, and a missing parent directory, too.
    let error = RedbStore::open(dir.path()).err().expect("a directory must not open");
    eprintln!("directory: {error}");
    let error = RedbStore::open(&dir.path().join("missing/documents.redb")).err().expect("no parent");
    eprintln!("missing parent: {error}");
}

#[test]
fn a_second_open_of_the_same_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("documents.redb");
    let _store = RedbStore::open(&path).unwrap();
    let error = RedbStore::open(&path).err().expect("the file is locked");
    eprintln!("second open: {error}");
    assert!(matches!(error, StoreError::Open { .. }), "{error:?}");
}

/// Damaged bytes anywhere in a real store give errors, never a panic, and
/// never wrong data: whichever operation meets them.
#[test]
fn a_damaged_store_gives_errors_not_panics_nor_wrong_data() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("documents.redb");
    {
        let store = RedbStore::open(&path).unwrap();
        for round in 0..20u8 {
            let writes = (0..10u8).map(|d| append(doc(d), &[round; 300])).collect();
            store.commit(writes).unwrap();
            store.commit(vec![sync_state(doc(round % 10), "peer", &[round; 40])]).unwrap();
        }
    }
    let expected_chunks: Vec<Vec<u8>> = (0..20u8).map(|round| vec![round; 300]).collect();
    let pristine = std::fs::read(&path).unwrap();
    let damaged_path = dir.path().join("damaged.redb");
    let (mut intact, mut refused) = (0, std::collections::BTreeSet::new());
    // Overwrite a 64-byte stretch at offsets spread over the whole file, then
    // cut the file short at a few lengths.
    let step = (pristine.len() / 97).max(1);
    let overwritten = (0..pristine.len()).step_by(step).map(|offset| {
        let mut bytes = pristine.clone();
        let end = (offset + 64).min(bytes.len());
        for (i, byte) in bytes[offset..end].iter_mut().enumerate() {
            *byte ^= 0x5a ^ i as u8;
        }
        (format!("overwritten at {offset}"), bytes)
    });
    let truncated = [1, 100, 4096, pristine.len() / 2, pristine.len() - 4096, pristine.len() - 1]
        .map(|len| (format!("truncated to {len}"), pristine[..len].to_vec()));
    for (damage, bytes) in overwritten.chain(truncated) {
        std::fs::write(&damaged_path, &bytes).unwrap();
        let outcome = std::panic::catch_unwind(|| {
            let store = RedbStore::open(&damaged_path)?;
            let mut wrong = Vec::new();
            for d in 0..10 {
                if store.load(&doc(d))? != expected_chunks {
                    wrong.push(format!("chunks of doc {d}"));
                }
                if store.load_sync_state(&doc(d), "peer")? != Some(vec![d + 10; 40]) {
                    wrong.push(format!("sync state of doc {d}"));
                }
            }
            if store.documents()? != (0..10).map(doc).collect::<Vec<_>>() {
                wrong.push("documents".into());
            }
            store.commit(vec![append(doc(1), b"after")])?;
            Ok::<_, StoreError>(wrong)
        });
        match outcome {
            Ok(Ok(wrong)) if wrong.is_empty() => intact += 1,
            Ok(Ok(wrong)) => panic!("{damage}: read back wrong data: {wrong:?}"),
            Ok(Err(error)) => {
                refused.insert(error.to_string().replace(&*damaged_path.to_string_lossy(), "FILE"));
            }
            Err(_) => panic!("{damage} (of {} bytes): the store panicked", pristine.len()),
        }
    }
    eprintln!("damaged copies: {intact} read back intact (damage in unused space), the others gave errors:");
    for error in refused {
        eprintln!("  {error}");
    }
}

/// Counts [`Store::commit`] calls (and the writes in each) of the store it wraps.
struct CountingStore<S> {
    inner: S,
    commits: AtomicUsize,
}

impl<S: Store> Store for CountingStore<S> {
    fn load(&self, doc: &DocumentId) -> Result<Vec<Vec<u8>>, StoreError> {
        self.inner.load(doc)
    }
    fn commit(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        self.commits.fetch_add(1, Ordering::SeqCst);
        self.inner.commit(writes)
    }
    fn load_sync_state(&self, doc: &DocumentId, storage_id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.inner.load_sync_state(doc, storage_id)
    }
    fn shares(&self, doc: &DocumentId) -> Result<Vec<(String, u64)>, StoreError> {
        self.inner.shares(doc)
    }
    fn documents(&self) -> Result<Vec<DocumentId>, StoreError> {
        self.inner.documents()
    }
    fn storage_id(&self) -> Result<String, StoreError> {
        self.inner.storage_id()
    }
}

/// Runs `count` single-append commits through `writer`, all at once from
/// separate tasks, and returns how long until all were acknowledged.
async fn concurrent_appends(writer: &Arc<Writer>, count: usize) -> Duration {
    let started = Instant::now();
    let tasks: Vec<_> = (0..count)
        .map(|i| {
            let writer = Arc::clone(writer);
            tokio::spawn(async move {
                writer.commit(vec![append(doc((i % 10) as u8), &(i as u32).to_le_bytes())]).await
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    started.elapsed()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_commits_are_grouped_and_all_kept() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(CountingStore {
        inner: RedbStore::open(&dir.path().join("documents.redb")).unwrap(),
        commits: AtomicUsize::new(0),
    });
    let writer = Arc::new(Writer::start(store.clone()));
    let elapsed = concurrent_appends(&writer, 200).await;
    let commits = store.commits.load(Ordering::SeqCst);
    eprintln!("200 concurrent commits: {commits} Store::commit calls, {elapsed:?}");
    assert!(commits < 200, "no grouping happened: {commits} commits");

    // Every chunk is there, through the writer's reads and the store's.
    let mut seen = Vec::new();
    for d in 0..10u8 {
        let loaded = writer.load_with_shares(&doc(d)).await.unwrap().0;
        assert_eq!(loaded.len(), 20);
        seen.extend(loaded.iter().map(|chunk| u32::from_le_bytes(chunk[..].try_into().unwrap())));
    }
    seen.sort_unstable();
    assert_eq!(seen, (0..200).collect::<Vec<u32>>());
    assert_eq!(writer.store().documents().unwrap().len(), 10);
}

/// Fails any commit that touches the poisoned document; blocks its first
/// commit until told to go, so the requests queued meanwhile form one group.
struct FlakyStore {
    inner: MemoryStore,
    poisoned: DocumentId,
    gate: Mutex<Option<mpsc::Receiver<()>>>,
    /// The number of writes of each failed commit call.
    failed: Mutex<Vec<usize>>,
}

impl Store for FlakyStore {
    fn load(&self, doc: &DocumentId) -> Result<Vec<Vec<u8>>, StoreError> {
        self.inner.load(doc)
    }
    fn commit(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        let gate = self.gate.lock().unwrap().take();
        if let Some(gate) = gate {
            gate.recv().unwrap();
        }
        if writes.iter().any(|write| *write.doc() == self.poisoned) {
            self.failed.lock().unwrap().push(writes.len());
            return Err(StoreError::Corrupted("poisoned document".into()));
        }
        self.inner.commit(writes)
    }
    fn load_sync_state(&self, doc: &DocumentId, storage_id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.inner.load_sync_state(doc, storage_id)
    }
    fn shares(&self, doc: &DocumentId) -> Result<Vec<(String, u64)>, StoreError> {
        self.inner.shares(doc)
    }
    fn documents(&self) -> Result<Vec<DocumentId>, StoreError> {
        self.inner.documents()
    }
    fn storage_id(&self) -> Result<String, StoreError> {
        self.inner.storage_id()
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_failing_request_fails_alone_in_its_group() {
    let (go, gate) = mpsc::channel();
    let poisoned = doc(99);
    let store = Arc::new(FlakyStore {
        inner: MemoryStore::new(),
        poisoned,
        gate: Mutex::new(Some(gate)),
        failed: Mutex::new(Vec::new()),
    });
    let writer = Arc::new(Writer::start(store.clone()));
    let tasks: Vec<_> = (0..21u8)
        .map(|i| {
            let writer = Arc::clone(&writer);
            let target = if i == 10 { poisoned } else { doc(i) };
            tokio::spawn(async move { writer.commit(vec![append(target, &[i])]).await })
        })
        .collect();
    // On this single-threaded runtime, yielding lets every task queue its request.
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    go.send(()).unwrap();
    for (i, task) in tasks.into_iter().enumerate() {
        let result = task.await.unwrap();
        if i == 10 {
            assert!(matches!(result, Err(StoreError::Corrupted(_))), "{result:?}");
        } else {
            result.unwrap();
            assert_eq!(writer.load_with_shares(&doc(i as u8)).await.unwrap().0, vec![vec![i as u8]]);
        }
    }
    assert_eq!(writer.load_with_shares(&poisoned).await.unwrap().0, Vec::<Vec<u8>>::new());
    let failed = store.failed.lock().unwrap().clone();
    assert!(failed.iter().any(|&writes| writes > 1), "the poisoned request was never grouped: {failed:?}");
    assert_eq!(failed.last(), Some(&1), "then retried alone: {failed:?}");
}

#[tokio::test]
async fn dropping_the_writer_commits_what_is_queued_and_releases_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("documents.redb");
    let writer = Writer::start(Arc::new(RedbStore::open(&path).unwrap()));
    writer.commit(vec![append(doc(1), b"one")]).await.unwrap();
    assert_eq!(writer.load_sync_state(&doc(1), "peer").await.unwrap(), None);
    drop(writer);
    let store = RedbStore::open(&path).expect("the writer released the file");
    assert_eq!(store.load(&doc(1)).unwrap(), chunks(&[b"one"]));
}

/// Commit throughput on this machine's disk (not a tmpfs): 1,000 single-append
/// commits one after the other, then 1,000 at once through group commit.
/// `cargo test -p medk-server --test store -- --ignored --nocapture commit_throughput`
#[ignore = "a measurement, not a check"]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commit_throughput() {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let store = Arc::new(CountingStore {
        inner: RedbStore::open(&dir.path().join("documents.redb")).unwrap(),
        commits: AtomicUsize::new(0),
    });
    let writer = Arc::new(Writer::start(store.clone()));

    let started = Instant::now();
    for i in 0..1000u32 {
        writer.commit(vec![append(doc(1), &i.to_le_bytes())]).await.unwrap();
    }
    let sequential = started.elapsed();
    let concurrent = concurrent_appends(&writer, 1000).await;
    let grouped = store.commits.load(Ordering::SeqCst) - 1000;
    eprintln!(
        "1000 sequential commits: {sequential:?} ({:?} each); 1000 concurrent: {concurrent:?} in {grouped} Store::commit calls",
        sequential / 1000
    );
    drop(writer);
    drop(store);

    // What the integrity check costs at startup: reopen a store holding 1,000
    // documents of 100 kB (snapshot and 10 changes each), ~100 MB.
    let path = dir.path().join("big.redb");
    {
        let store = RedbStore::open(&path).unwrap();
        for d in 0..1000u32 {
            let mut bytes = [0; 16];
            bytes[..4].copy_from_slice(&d.to_le_bytes());
            let doc = DocumentId::from_bytes(bytes);
            let mut writes = vec![replace(doc, &vec![d as u8; 90_000])];
            writes.extend((0..10).map(|_| append(doc, &[d as u8; 1000])));
            store.commit(writes).unwrap();
        }
    }
    let started = Instant::now();
    let store = RedbStore::open(&path).unwrap();
    let size = std::fs::metadata(&path).unwrap().len() >> 20;
    eprintln!("open of a {size} MiB store (verifying it): {:?}", started.elapsed());
    assert_eq!(store.documents().unwrap().len(), 1000);
}

/// The chunk numbering of the crash test: a chunk holds one or more
/// consecutive u32 numbers (several after a Replace).
fn numbers(chunks: &[Vec<u8>]) -> Vec<u32> {
    chunks
        .iter()
        .flat_map(|chunk| chunk.chunks_exact(4).map(|n| u32::from_le_bytes(n.try_into().unwrap())))
        .collect()
}

const CRASH_CHILD: &str = "MEDK_STORE_CRASH_CHILD";
const CRASH_DOCS: u8 = 4;

/// The child of [`acknowledged_commits_survive_kill_9`]; returns at once in a
/// normal test run. It appends numbered chunks to a few documents from
/// concurrent tasks (so commits are grouped), compacts now and then with a
/// Replace, and prints `ack <doc> <number>` after each acknowledged commit.
#[test]
fn crash_child() {
    let Some(dir) = std::env::var_os(CRASH_CHILD) else { return };
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).build().unwrap();
    runtime.block_on(async move {
        let store = Arc::new(RedbStore::open(&Path::new(&dir).join("documents.redb")).unwrap());
        let writer = Arc::new(Writer::start(store));
        let stdout = Arc::new(Mutex::new(std::io::stdout()));
        let tasks: Vec<_> = (0..CRASH_DOCS)
            .map(|d| {
                let (writer, stdout) = (Arc::clone(&writer), Arc::clone(&stdout));
                tokio::spawn(async move {
                    let mut next = numbers(&writer.load_with_shares(&doc(d)).await.unwrap().0).len() as u32;
                    // Bounded, in case the parent is gone without killing us.
                    let deadline = Instant::now() + Duration::from_secs(60);
                    while Instant::now() < deadline {
                        let write = if next % 50 == 49 {
                            let snapshot = (0..=next).flat_map(u32::to_le_bytes).collect();
                            Write::Replace { doc: doc(d), snapshot }
                        } else {
                            append(doc(d), &next.to_le_bytes())
                        };
                        writer.commit(vec![write]).await.unwrap();
                        let mut out = stdout.lock().unwrap();
                        if writeln!(out, "ack {d} {next}").and_then(|()| out.flush()).is_err() {
                            return; // The parent closed the pipe.
                        }
                        next += 1;
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
    });
}

/// The real thing the relay promises its peers: whatever `Writer::commit`
/// acknowledged survives a `kill -9` of the process right after, and the file
/// opens cleanly after it. Three kills on the same file.
#[test]
fn acknowledged_commits_survive_kill_9() {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    for round in 0..3 {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["crash_child", "--exact", "--nocapture", "--test-threads=1"])
            .env(CRASH_CHILD, dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let (lines, acks) = mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if lines.send(line).is_err() {
                    break;
                }
            }
        });

        let mut acked = vec![None::<u32>; CRASH_DOCS as usize];
        let mut count = 0;
        while count < 300 {
            let line = match acks.recv_timeout(Duration::from_secs(60)) {
                Ok(line) => line,
                Err(error) => {
                    let _ = child.kill();
                    panic!("round {round}: the child stopped acknowledging after {count} acks: {error}");
                }
            };
            let Some(ack) = line.strip_prefix("ack ") else { continue };
            let (d, n) = ack.split_once(' ').unwrap();
            acked[d.parse::<usize>().unwrap()] = Some(n.parse().unwrap());
            count += 1;
        }
        child.kill().unwrap(); // SIGKILL on unix.
        child.wait().unwrap();

        let store =
            RedbStore::open(&dir.path().join("documents.redb")).expect("the file opens after kill -9");
        for (d, last) in acked.iter().enumerate() {
            let stored = numbers(&store.load(&doc(d as u8)).unwrap());
            assert!(
                stored.iter().copied().eq(0..stored.len() as u32),
                "round {round}, doc {d}: chunks out of order or missing"
            );
            if let Some(last) = last {
                assert!(
                    stored.len() as u32 > *last,
                    "round {round}, doc {d}: acknowledged {last} but only {} stored",
                    stored.len()
                );
            }
        }
        eprintln!("round {round}: {count} acks, last {acked:?}, all present");
    }
}
