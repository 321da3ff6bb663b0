//! The device's copy of every roadmap, in IndexedDB (through rexie).
//!
//! Stores:
//! - `roadmaps`: one small record per roadmap for the list screen (title,
//!   level, year, when it changed), so the list opens without loading any
//!   document.
//! - `chunks`: the Automerge bytes, as independent chunks (`snapshot` or
//!   `changes`) under an auto-increment key with an index on the document.
//!   Every edit appends a chunk at once; compaction writes one snapshot and
//!   deletes only the chunks the writer knows it contains. Two tabs editing
//!   the same roadmap therefore never delete each other's work: this is the
//!   same scheme automerge-repo's storage uses, for the same reason.
//! - `views`: the last rendered state of each roadmap (postcard), with the
//!   document heads it shows. Opening a big roadmap draws this at once and
//!   loads the Automerge document right after; if the heads differ, the
//!   view is corrected from the document. Losing it costs only speed.
//! - `readings`: what the monitoring dashboard last read from each document
//!   (postcard, see `medk_shared::dashboard::Reading`), so that reopening
//!   it shows the figures before loading five hundred documents. Writing a
//!   document's changes deletes its reading in the same transaction, so a
//!   reading found here normally shows what is stored (a dashboard open in
//!   another tab may write one back that misses the change just written);
//!   the dashboard checks each against the document's heads once loaded
//!   and replaces it. Losing it costs only speed.
//! - `quarantine`: the bytes of a document that failed to load, moved aside
//!   untouched so that nothing is overwritten and a later version can try
//!   again.
//!
//! Every write of a document's chunks or list record that commits is told
//! to the other tabs of the browser ([`crate::tabs`]), which read what
//! they have not seen of it.

use crate::tabs::Tabs;
use js_sys::{Array, Uint8Array};
use medk_shared::access::Level;
use medk_shared::ids::DocumentId;
use medk_shared::replica::{Piece, PieceKey};
use rexie::{Index, KeyRange, ObjectStore, Rexie, TransactionMode};
use serde::{Deserialize, Serialize};
use wasm_bindgen::JsValue;

const DB_NAME: &str = "medk";
const DB_VERSION: u32 = 3;
const ROADMAPS: &str = "roadmaps";
const CHUNKS: &str = "chunks";
const QUARANTINE: &str = "quarantine";
const VIEWS: &str = "views";
const READINGS: &str = "readings";
const BY_DOC: &str = "by_doc";

/// What the list screen knows of a roadmap without opening it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RoadmapMeta {
    pub id: String,
    pub title: String,
    pub level: Level,
    pub territory: String,
    pub year: Option<i32>,
    /// Milliseconds since the epoch of the last local change.
    pub updated: f64,
    pub activities: u32,
    /// Set when the stored document could not be read (then moved to quarantine).
    #[serde(default)]
    pub broken: Option<String>,
    /// What the document holds; records written before school files
    /// existed are roadmaps.
    #[serde(default)]
    pub kind: DocKind,
    /// Changes made here the relay is not known to have, as last counted
    /// (raised with every local write before it is counted again), so the
    /// sync indicator is true without opening every document. `None`:
    /// not counted yet (a record from before).
    #[serde(default)]
    pub unsent: Option<u32>,
}

/// The kinds of documents kept on the device. Only roadmaps are listed on
/// the main screen; the others are opened by the screens that use them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DocKind {
    #[default]
    Roadmap,
    School,
    Catalogue,
}

#[derive(Serialize, Deserialize)]
struct Chunk {
    doc: String,
    kind: String,
    /// Travels as a `Uint8Array`, not as an array of numbers.
    #[serde(with = "serde_bytes")]
    bytes: Vec<u8>,
}

/// A roadmap as last shown, and the document heads it shows.
#[derive(Serialize, Deserialize)]
pub struct CachedView {
    pub id: String,
    /// Hex change hashes.
    pub heads: Vec<String>,
    /// The `Roadmap` in postcard: decoded in one pass over a byte array,
    /// much faster than walking a JS object tree field by field, and a
    /// fraction of serde_json's code size in the wasm.
    #[serde(with = "serde_bytes")]
    pub roadmap: Vec<u8>,
}

/// A document's reading for the dashboard, kept as bytes it decodes.
#[derive(Serialize, Deserialize)]
struct StoredReading {
    id: String,
    #[serde(with = "serde_bytes")]
    bytes: Vec<u8>,
}

/// A stored chunk's key as the replica counts it (IndexedDB's
/// auto-increment keys are whole numbers in a JS number).
fn piece_key(key: &JsValue) -> PieceKey {
    key.as_f64().unwrap_or_default() as PieceKey
}

/// A failure of the browser's storage. The text is for people; what the
/// browser said is [`StorageError::detail`].
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("хранилище браузера не ответило")]
    Db(String),
    #[error("данные в хранилище браузера не читаются")]
    Decode(String),
}

impl StorageError {
    /// What the browser said (not translated), for a details line.
    pub fn detail(&self) -> &str {
        match self {
            StorageError::Db(d) | StorageError::Decode(d) => d,
        }
    }
}

impl From<rexie::Error> for StorageError {
    fn from(e: rexie::Error) -> Self {
        StorageError::Db(e.to_string())
    }
}

impl From<serde_wasm_bindgen::Error> for StorageError {
    fn from(e: serde_wasm_bindgen::Error) -> Self {
        StorageError::Decode(e.to_string())
    }
}

type Result<T> = std::result::Result<T, StorageError>;

/// The open database. Cheap to clone (the handle is shared).
#[derive(Clone)]
pub struct Storage {
    db: std::rc::Rc<Rexie>,
    /// Told of every document this tab stores anew (see [`Self::on_created`]).
    created: std::rc::Rc<std::cell::RefCell<Option<std::rc::Rc<dyn Fn(&RoadmapMeta)>>>>,
    /// The other tabs, told of every committed write.
    tabs: Tabs,
}

impl Storage {
    pub async fn open() -> Result<Self> {
        let db = Rexie::builder(DB_NAME)
            .version(DB_VERSION)
            .add_object_store(ObjectStore::new(ROADMAPS).key_path("id"))
            .add_object_store(
                ObjectStore::new(CHUNKS).auto_increment(true).add_index(Index::new(BY_DOC, "doc")),
            )
            .add_object_store(ObjectStore::new(QUARANTINE).auto_increment(true))
            .add_object_store(ObjectStore::new(VIEWS).key_path("id"))
            .add_object_store(ObjectStore::new(READINGS).key_path("id"))
            .build()
            .await?;
        Ok(Self { db: std::rc::Rc::new(db), created: std::rc::Rc::default(), tabs: Tabs::join() })
    }

    /// The other tabs of this browser (to hear what they stored).
    pub fn tabs(&self) -> &Tabs {
        &self.tabs
    }

    /// The roadmaps on the device (for the list screen), newest first.
    pub async fn roadmaps(&self) -> Result<Vec<RoadmapMeta>> {
        let mut list = self.list().await?;
        list.retain(|meta| meta.kind == DocKind::Roadmap);
        Ok(list)
    }

    /// Every document on the device, newest first.
    pub async fn list(&self) -> Result<Vec<RoadmapMeta>> {
        let tx = self.db.transaction(&[ROADMAPS], TransactionMode::ReadOnly)?;
        let values = tx.store(ROADMAPS)?.get_all(None, None).await?;
        let mut list = Vec::with_capacity(values.len());
        for value in values {
            // One unreadable record must not hide the others.
            if let Ok(meta) = serde_wasm_bindgen::from_value::<RoadmapMeta>(value) {
                list.push(meta);
            }
        }
        list.sort_by(|a, b| b.updated.total_cmp(&a.updated));
        Ok(list)
    }

    pub async fn meta(&self, id: &DocumentId) -> Result<Option<RoadmapMeta>> {
        self.get_record(ROADMAPS, id).await
    }

    pub async fn put_meta(&self, meta: &RoadmapMeta) -> Result<()> {
        self.put_record(ROADMAPS, meta).await?;
        self.tabs.stored(&meta.id);
        Ok(())
    }

    /// A record keyed by document id, from a store of such records.
    async fn get_record<T: serde::de::DeserializeOwned>(
        &self,
        store: &str,
        id: &DocumentId,
    ) -> Result<Option<T>> {
        let tx = self.db.transaction(&[store], TransactionMode::ReadOnly)?;
        let value = tx.store(store)?.get(JsValue::from_str(&id.to_string())).await?;
        value.map(|v| serde_wasm_bindgen::from_value(v).map_err(Into::into)).transpose()
    }

    /// Writes a record whose key is inside it (`id`).
    async fn put_record<T: Serialize>(&self, store: &str, record: &T) -> Result<()> {
        let tx = self.db.transaction(&[store], TransactionMode::ReadWrite)?;
        let record = to_js(record)?;
        let object_store = tx.store(store)?;
        let (put, committed) = futures::future::join(object_store.put(&record, None), tx.commit()).await;
        put?;
        Ok(committed?)
    }

    /// Stores a new document: its list record and its first snapshot, in
    /// one transaction. Returns the key of the snapshot chunk.
    pub async fn create(&self, meta: &RoadmapMeta, snapshot: Vec<u8>) -> Result<PieceKey> {
        let tx = self.db.transaction(&[ROADMAPS, CHUNKS, READINGS], TransactionMode::ReadWrite)?;
        tx.store(ROADMAPS)?.put(&to_js(meta)?, None).await?;
        tx.store(READINGS)?.delete(JsValue::from_str(&meta.id)).await?;
        let chunk = Chunk { doc: meta.id.clone(), kind: "snapshot".into(), bytes: snapshot };
        let key = tx.store(CHUNKS)?.add(&to_js(&chunk)?, None).await?;
        tx.done().await?;
        self.tabs.stored(&meta.id);
        let created = self.created.borrow().clone();
        if let Some(created) = created {
            created(meta);
        }
        Ok(piece_key(&key))
    }

    /// Registers who is told when this tab stores a new document (the sync
    /// indicator must count a roadmap made here before any page opens it).
    pub fn on_created(&self, f: std::rc::Rc<dyn Fn(&RoadmapMeta)>) {
        self.created.replace(Some(f));
    }

    /// All chunks of a document, oldest first (the replica reads them in
    /// any order).
    pub async fn load(&self, id: &DocumentId) -> Result<Vec<Piece>> {
        let tx = self.db.transaction(&[CHUNKS], TransactionMode::ReadOnly)?;
        let index = tx.store(CHUNKS)?.index(BY_DOC)?;
        let keys = index.get_all_keys(Some(doc_range(id)?), None).await?;
        let values = index.get_all(Some(doc_range(id)?), None).await?;
        let mut pieces = Vec::with_capacity(values.len());
        for (key, value) in keys.iter().zip(values) {
            // One unreadable record is left where it is (and reported by
            // its absence); it must not hide the others.
            if let Ok(chunk) = serde_wasm_bindgen::from_value::<Chunk>(value) {
                pieces.push(Piece { key: piece_key(key), bytes: chunk.bytes });
            }
        }
        pieces.sort_by_key(|p| p.key);
        Ok(pieces)
    }

    /// The chunks of a document that `pick` picks from the keys it has now
    /// (those this tab has not seen), in one transaction.
    pub async fn load_some(
        &self,
        id: &DocumentId,
        pick: impl FnOnce(&[PieceKey]) -> Vec<PieceKey>,
    ) -> Result<Vec<Piece>> {
        let tx = self.db.transaction(&[CHUNKS], TransactionMode::ReadOnly)?;
        let store = tx.store(CHUNKS)?;
        let keys = store.index(BY_DOC)?.get_all_keys(Some(doc_range(id)?), None).await?;
        let keys: Vec<PieceKey> = keys.iter().map(piece_key).collect();
        let picked = pick(&keys);
        let values =
            futures::future::join_all(picked.iter().map(|k| store.get(JsValue::from_f64(*k as f64)))).await;
        let doc = id.to_string();
        let mut pieces = Vec::with_capacity(picked.len());
        for (key, value) in picked.into_iter().zip(values) {
            // Gone since (compacted), or unreadable as a record: left out,
            // like in `load`.
            if let Some(value) = value?
                && let Ok(chunk) = serde_wasm_bindgen::from_value::<Chunk>(value)
                && chunk.doc == doc
            {
                pieces.push(Piece { key, bytes: chunk.bytes });
            }
        }
        Ok(pieces)
    }

    /// Appends a batch of changes, forgets the document's reading (it no
    /// longer shows all of it) and, with `meta`, rewrites its list record,
    /// in one transaction. Returns the new chunk's key.
    pub async fn append(
        &self,
        id: &DocumentId,
        changes: Vec<u8>,
        meta: Option<&RoadmapMeta>,
    ) -> Result<PieceKey> {
        let tx = self.db.transaction(&[CHUNKS, READINGS, ROADMAPS], TransactionMode::ReadWrite)?;
        let doc = id.to_string();
        let chunk = to_js(&Chunk { doc: doc.clone(), kind: "changes".into(), bytes: changes })?;
        let meta = meta.map(to_js).transpose()?;
        let store = tx.store(CHUNKS)?;
        let readings = tx.store(READINGS)?;
        let roadmaps = tx.store(ROADMAPS)?;
        let id = JsValue::from_str(&id.to_string());
        // Ask for the commit in the same turn as the writes: a transaction
        // left to auto-commit needs one more trip through the event loop,
        // and a reload or a closed tab in between would abort it.
        let put_meta = async {
            match &meta {
                Some(meta) => roadmaps.put(meta, None).await.map(|_| ()),
                None => Ok(()),
            }
        };
        let (key, forgot, put, committed) =
            futures::future::join4(store.add(&chunk, None), readings.delete(id), put_meta, tx.commit()).await;
        committed?;
        forgot?;
        put?;
        let key = piece_key(&key?);
        self.tabs.stored(&doc);
        Ok(key)
    }

    /// The kept readings of the documents `ids` (`None` where there is none
    /// or it is unreadable), in one transaction.
    pub async fn readings(&self, ids: &[String]) -> Result<Vec<Option<Vec<u8>>>> {
        let tx = self.db.transaction(&[READINGS], TransactionMode::ReadOnly)?;
        let store = tx.store(READINGS)?;
        let values = futures::future::join_all(ids.iter().map(|id| store.get(JsValue::from_str(id)))).await;
        Ok(values
            .into_iter()
            .map(|value| {
                let value = value.ok()??;
                Some(serde_wasm_bindgen::from_value::<StoredReading>(value).ok()?.bytes)
            })
            .collect())
    }

    /// Keeps readings (document id, bytes), in one transaction.
    pub async fn put_readings(&self, readings: Vec<(String, Vec<u8>)>) -> Result<()> {
        if readings.is_empty() {
            return Ok(());
        }
        let tx = self.db.transaction(&[READINGS], TransactionMode::ReadWrite)?;
        let store = tx.store(READINGS)?;
        let records = readings
            .into_iter()
            .map(|(id, bytes)| to_js(&StoredReading { id, bytes }))
            .collect::<Result<Vec<_>>>()?;
        let puts = futures::future::join_all(records.iter().map(|record| store.put(record, None)));
        let (puts, committed) = futures::future::join(puts, tx.commit()).await;
        puts.into_iter().collect::<std::result::Result<Vec<_>, _>>()?;
        Ok(committed?)
    }

    /// Adds `snapshot` and deletes the chunks `replaces`, atomically.
    pub async fn compact(
        &self,
        id: &DocumentId,
        snapshot: Vec<u8>,
        replaces: &[PieceKey],
    ) -> Result<PieceKey> {
        let tx = self.db.transaction(&[CHUNKS], TransactionMode::ReadWrite)?;
        let store = tx.store(CHUNKS)?;
        let chunk = Chunk { doc: id.to_string(), kind: "snapshot".into(), bytes: snapshot };
        let key = store.add(&to_js(&chunk)?, None).await?;
        for old in replaces {
            store.delete(JsValue::from_f64(*old as f64)).await?;
        }
        tx.done().await?;
        self.tabs.stored(&id.to_string());
        Ok(piece_key(&key))
    }

    /// Moves the chunks `pieces` and the journal bytes `journaled` into
    /// quarantine, untouched, and adds `snapshot` (what could be read of
    /// everything) in their place, atomically. Returns the snapshot's key.
    pub async fn quarantine_pieces(
        &self,
        id: &DocumentId,
        snapshot: Vec<u8>,
        pieces: &[PieceKey],
        journaled: &[Vec<u8>],
        reason: &str,
    ) -> Result<PieceKey> {
        let tx = self.db.transaction(&[CHUNKS, QUARANTINE], TransactionMode::ReadWrite)?;
        let store = tx.store(CHUNKS)?;
        let mut moved: Vec<Vec<u8>> = journaled.to_vec();
        for key in pieces {
            let key = JsValue::from_f64(*key as f64);
            if let Some(value) = store.get(key.clone()).await? {
                moved.push(
                    serde_wasm_bindgen::from_value::<Chunk>(value).map(|c| c.bytes).unwrap_or_default(),
                );
            }
            store.delete(key).await?;
        }
        tx.store(QUARANTINE)?.add(&quarantine_record(id, reason, &moved), None).await?;
        let chunk = Chunk { doc: id.to_string(), kind: "snapshot".into(), bytes: snapshot };
        let key = store.add(&to_js(&chunk)?, None).await?;
        tx.done().await?;
        self.tabs.stored(&id.to_string());
        Ok(piece_key(&key))
    }

    /// Moves every chunk of a document that cannot be read as what it
    /// should be into quarantine (unchanged, with `journaled` bytes that
    /// were only in the journal), and marks its list record as broken with
    /// the reason, atomically.
    pub async fn quarantine(&self, id: &DocumentId, reason: &str, journaled: &[Vec<u8>]) -> Result<()> {
        let tx = self
            .db
            .transaction(&[ROADMAPS, CHUNKS, QUARANTINE, VIEWS, READINGS], TransactionMode::ReadWrite)?;
        tx.store(VIEWS)?.delete(JsValue::from_str(&id.to_string())).await?;
        tx.store(READINGS)?.delete(JsValue::from_str(&id.to_string())).await?;
        let chunks = tx.store(CHUNKS)?;
        let index = chunks.index(BY_DOC)?;
        let keys = index.get_all_keys(Some(doc_range(id)?), None).await?;
        let values = index.get_all(Some(doc_range(id)?), None).await?;
        let mut moved: Vec<Vec<u8>> = Vec::with_capacity(values.len() + journaled.len());
        for value in values {
            moved.push(serde_wasm_bindgen::from_value::<Chunk>(value).map(|c| c.bytes).unwrap_or_default());
        }
        moved.extend(journaled.iter().cloned());
        tx.store(QUARANTINE)?.add(&quarantine_record(id, reason, &moved), None).await?;
        for key in keys {
            chunks.delete(key).await?;
        }
        let roadmaps = tx.store(ROADMAPS)?;
        if let Some(value) = roadmaps.get(JsValue::from_str(&id.to_string())).await?
            && let Ok(mut meta) = serde_wasm_bindgen::from_value::<RoadmapMeta>(value)
        {
            meta.broken = Some(reason.to_owned());
            roadmaps.put(&to_js(&meta)?, None).await?;
        }
        tx.done().await?;
        self.tabs.stored(&id.to_string());
        Ok(())
    }

    /// Every byte string quarantined for a document, oldest first.
    pub async fn quarantined(&self, id: &DocumentId) -> Result<Vec<Vec<u8>>> {
        let tx = self.db.transaction(&[QUARANTINE], TransactionMode::ReadOnly)?;
        let values = tx.store(QUARANTINE)?.get_all(None, None).await?;
        let doc = id.to_string();
        let mut out = Vec::new();
        for value in values {
            if let Ok(record) = serde_wasm_bindgen::from_value::<Quarantined>(value)
                && record.doc == doc
            {
                out.extend(record.chunks.into_iter().map(serde_bytes::ByteBuf::into_vec));
            }
        }
        Ok(out)
    }

    /// Puts a document back in use from `snapshot` (a recovered copy): adds
    /// it beside whatever chunks were written since (the replica reads any
    /// mix, and deleting them could lose another tab's work), rewrites its
    /// list record `meta` (not broken) and, with `forget_quarantine`, drops
    /// its quarantined bytes (everything in them is in the snapshot),
    /// atomically.
    pub async fn restore(
        &self,
        meta: &RoadmapMeta,
        snapshot: Vec<u8>,
        forget_quarantine: bool,
    ) -> Result<()> {
        let tx = self
            .db
            .transaction(&[ROADMAPS, CHUNKS, QUARANTINE, VIEWS, READINGS], TransactionMode::ReadWrite)?;
        tx.store(VIEWS)?.delete(JsValue::from_str(&meta.id)).await?;
        tx.store(READINGS)?.delete(JsValue::from_str(&meta.id)).await?;
        let chunk = Chunk { doc: meta.id.clone(), kind: "snapshot".into(), bytes: snapshot };
        tx.store(CHUNKS)?.add(&to_js(&chunk)?, None).await?;
        tx.store(ROADMAPS)?.put(&to_js(meta)?, None).await?;
        if forget_quarantine {
            delete_quarantined(&tx.store(QUARANTINE)?, &meta.id).await?;
        }
        tx.done().await?;
        self.tabs.stored(&meta.id);
        Ok(())
    }

    pub async fn view(&self, id: &DocumentId) -> Result<Option<CachedView>> {
        self.get_record(VIEWS, id).await
    }

    pub async fn put_view(&self, view: &CachedView) -> Result<()> {
        self.put_record(VIEWS, view).await
    }

    /// Removes a document from this device: its list record, chunks, view,
    /// reading and quarantined bytes, atomically (so opening its link again
    /// fetches the server's copy afresh).
    pub async fn delete(&self, id: &DocumentId) -> Result<()> {
        let tx = self
            .db
            .transaction(&[ROADMAPS, CHUNKS, VIEWS, READINGS, QUARANTINE], TransactionMode::ReadWrite)?;
        let key = JsValue::from_str(&id.to_string());
        tx.store(ROADMAPS)?.delete(key.clone()).await?;
        tx.store(VIEWS)?.delete(key.clone()).await?;
        tx.store(READINGS)?.delete(key).await?;
        let chunks = tx.store(CHUNKS)?;
        for key in chunks.index(BY_DOC)?.get_all_keys(Some(doc_range(id)?), None).await? {
            chunks.delete(key).await?;
        }
        delete_quarantined(&tx.store(QUARANTINE)?, &id.to_string()).await?;
        tx.done().await?;
        self.tabs.stored(&id.to_string());
        Ok(())
    }
}

/// A document's bytes moved aside because they could not be read.
#[derive(Deserialize)]
struct Quarantined {
    doc: String,
    chunks: Vec<serde_bytes::ByteBuf>,
}

fn quarantine_record(id: &DocumentId, reason: &str, chunks: &[Vec<u8>]) -> JsValue {
    let record = js_sys::Object::new();
    let list = Array::new();
    for bytes in chunks {
        list.push(&Uint8Array::from(bytes.as_slice()));
    }
    set(&record, "doc", &JsValue::from_str(&id.to_string()));
    set(&record, "reason", &JsValue::from_str(&reason.chars().take(2000).collect::<String>()));
    set(&record, "at", &JsValue::from_f64(js_sys::Date::now()));
    set(&record, "chunks", &list);
    record.into()
}

/// Deletes a document's quarantine records (the store has no index by
/// document: it is small, and adding one would need a new database version).
async fn delete_quarantined(store: &rexie::Store, doc: &str) -> Result<()> {
    let keys = store.get_all_keys(None, None).await?;
    let values = store.get_all(None, None).await?;
    for (key, value) in keys.into_iter().zip(values) {
        let of_doc = js_sys::Reflect::get(&value, &JsValue::from_str("doc")).ok().and_then(|d| d.as_string());
        if of_doc.as_deref() == Some(doc) {
            store.delete(key).await?;
        }
    }
    Ok(())
}

fn doc_range(id: &DocumentId) -> Result<KeyRange> {
    KeyRange::only(&JsValue::from_str(&id.to_string())).map_err(|e| StorageError::Db(e.to_string()))
}

fn set(obj: &js_sys::Object, key: &str, value: &JsValue) {
    // Setting a property on a plain object we just created cannot fail.
    let _ = js_sys::Reflect::set(obj, &JsValue::from_str(key), value);
}

fn to_js<T: Serialize>(value: &T) -> Result<JsValue> {
    // Plain objects (not Maps) so that key paths like `id` and `doc` work.
    let serializer = serde_wasm_bindgen::Serializer::new().serialize_maps_as_objects(true);
    Ok(value.serialize(&serializer)?)
}
