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
//!   (postcard, see `ui::dashboard::compute::Reading`), so that reopening
//!   it shows the figures before loading five hundred documents. Writing a
//!   document's changes deletes its reading in the same transaction, so a
//!   reading found here normally shows what is stored (a dashboard open in
//!   another tab may write one back that misses the change just written);
//!   the dashboard checks each against the document's heads once loaded
//!   and replaces it. Losing it costs only speed.
//! - `quarantine`: the bytes of a document that failed to load, moved aside
//!   untouched so that nothing is overwritten and a later version can try
//!   again.

use js_sys::{Array, Uint8Array};
use medk_shared::ids::DocumentId;
use medk_shared::model::Level;
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

/// The stored chunks of one document, with their keys (for compaction).
pub struct StoredDoc {
    pub bytes: Vec<Vec<u8>>,
    pub keys: Vec<f64>,
}

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("хранилище браузера недоступно: {0}")]
    Db(String),
    #[error("неверные данные в хранилище: {0}")]
    Decode(String),
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
        Ok(Self { db: std::rc::Rc::new(db) })
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
        self.put_record(ROADMAPS, meta).await
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

    /// Stores a new roadmap: its list record and its first snapshot, in one
    /// transaction. Returns the key of the snapshot chunk.
    pub async fn create(&self, meta: &RoadmapMeta, snapshot: Vec<u8>) -> Result<f64> {
        let tx = self.db.transaction(&[ROADMAPS, CHUNKS, READINGS], TransactionMode::ReadWrite)?;
        tx.store(ROADMAPS)?.put(&to_js(meta)?, None).await?;
        tx.store(READINGS)?.delete(JsValue::from_str(&meta.id)).await?;
        let chunk = Chunk { doc: meta.id.clone(), kind: "snapshot".into(), bytes: snapshot };
        let key = tx.store(CHUNKS)?.add(&to_js(&chunk)?, None).await?;
        tx.done().await?;
        Ok(key.as_f64().unwrap_or_default())
    }

    /// All chunks of a document, oldest first.
    pub async fn load(&self, id: &DocumentId) -> Result<StoredDoc> {
        let tx = self.db.transaction(&[CHUNKS], TransactionMode::ReadOnly)?;
        let store = tx.store(CHUNKS)?;
        let index = store.index(BY_DOC)?;
        let range = doc_range(id)?;
        let keys = index.get_all_keys(Some(range), None).await?;
        let range = doc_range(id)?;
        let values = index.get_all(Some(range), None).await?;
        let mut pairs: Vec<(f64, Vec<u8>)> = Vec::with_capacity(values.len());
        for (key, value) in keys.into_iter().zip(values) {
            let chunk: Chunk = serde_wasm_bindgen::from_value(value)?;
            pairs.push((key.as_f64().unwrap_or_default(), chunk.bytes));
        }
        pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
        let (keys, bytes) = pairs.into_iter().unzip();
        Ok(StoredDoc { bytes, keys })
    }

    /// Appends the changes of one edit (and forgets the document's
    /// reading, which no longer shows all of it). Returns the new chunk's key.
    pub async fn append(&self, id: &DocumentId, changes: Vec<u8>) -> Result<f64> {
        let tx = self.db.transaction(&[CHUNKS, READINGS], TransactionMode::ReadWrite)?;
        let chunk = to_js(&Chunk { doc: id.to_string(), kind: "changes".into(), bytes: changes })?;
        let store = tx.store(CHUNKS)?;
        let readings = tx.store(READINGS)?;
        let id = JsValue::from_str(&id.to_string());
        // Ask for the commit in the same turn as the writes: a transaction
        // left to auto-commit needs one more trip through the event loop,
        // and a reload or a closed tab in between would abort it.
        let (key, forgot, committed) =
            futures::future::join3(store.add(&chunk, None), readings.delete(id), tx.commit()).await;
        committed?;
        forgot?;
        Ok(key?.as_f64().unwrap_or_default())
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

    /// Replaces the chunks `contained` with one snapshot, atomically.
    pub async fn compact(&self, id: &DocumentId, snapshot: Vec<u8>, contained: &[f64]) -> Result<f64> {
        let tx = self.db.transaction(&[CHUNKS], TransactionMode::ReadWrite)?;
        let store = tx.store(CHUNKS)?;
        let chunk = Chunk { doc: id.to_string(), kind: "snapshot".into(), bytes: snapshot };
        let key = store.add(&to_js(&chunk)?, None).await?;
        for old in contained {
            store.delete(JsValue::from_f64(*old)).await?;
        }
        tx.done().await?;
        Ok(key.as_f64().unwrap_or_default())
    }

    /// Moves every chunk of a document that failed to load into quarantine
    /// (unchanged), and marks its list record as broken with the reason.
    pub async fn quarantine(&self, id: &DocumentId, reason: &str) -> Result<()> {
        let stored = self.load(id).await?;
        let tx = self
            .db
            .transaction(&[ROADMAPS, CHUNKS, QUARANTINE, VIEWS, READINGS], TransactionMode::ReadWrite)?;
        tx.store(VIEWS)?.delete(JsValue::from_str(&id.to_string())).await?;
        tx.store(READINGS)?.delete(JsValue::from_str(&id.to_string())).await?;
        let record = js_sys::Object::new();
        let chunks = Array::new();
        for bytes in &stored.bytes {
            chunks.push(&Uint8Array::from(bytes.as_slice()));
        }
        set(&record, "doc", &JsValue::from_str(&id.to_string()));
        set(&record, "reason", &JsValue::from_str(reason));
        set(&record, "at", &JsValue::from_f64(js_sys::Date::now()));
        set(&record, "chunks", &chunks);
        tx.store(QUARANTINE)?.add(&record, None).await?;
        let chunks_store = tx.store(CHUNKS)?;
        for key in &stored.keys {
            chunks_store.delete(JsValue::from_f64(*key)).await?;
        }
        let roadmaps = tx.store(ROADMAPS)?;
        if let Some(value) = roadmaps.get(JsValue::from_str(&id.to_string())).await?
            && let Ok(mut meta) = serde_wasm_bindgen::from_value::<RoadmapMeta>(value)
        {
            meta.broken = Some(reason.to_owned());
            roadmaps.put(&to_js(&meta)?, None).await?;
        }
        tx.done().await?;
        Ok(())
    }

    pub async fn view(&self, id: &DocumentId) -> Result<Option<CachedView>> {
        self.get_record(VIEWS, id).await
    }

    pub async fn put_view(&self, view: &CachedView) -> Result<()> {
        self.put_record(VIEWS, view).await
    }

    /// Removes a roadmap from this device (list record and chunks).
    /// Quarantined bytes are kept.
    pub async fn delete(&self, id: &DocumentId) -> Result<()> {
        let stored = self.load(id).await?;
        let tx = self.db.transaction(&[ROADMAPS, CHUNKS, VIEWS, READINGS], TransactionMode::ReadWrite)?;
        tx.store(ROADMAPS)?.delete(JsValue::from_str(&id.to_string())).await?;
        tx.store(VIEWS)?.delete(JsValue::from_str(&id.to_string())).await?;
        tx.store(READINGS)?.delete(JsValue::from_str(&id.to_string())).await?;
        let chunks = tx.store(CHUNKS)?;
        for key in stored.keys {
            chunks.delete(JsValue::from_f64(key)).await?;
        }
        tx.done().await?;
        Ok(())
    }
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
