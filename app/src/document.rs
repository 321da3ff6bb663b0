//! An open roadmap on this device: the Automerge document, its undo
//! history, and the write-through to IndexedDB.
//!
//! Every edit is written at once (no save button): the change bytes go to
//! storage in the same turn of the event loop as the keystroke, so a reload
//! or a killed tab right after an edit finds it there.

use crate::browser::now_ms;
use crate::storage::{RoadmapMeta, Storage, StorageError};
use automerge::ChangeHash;
use medk_shared::doc::{DocError, Edit, NewRoadmap, RoadmapDoc, TextTarget, Touched};
use medk_shared::ids::DocumentId;
use medk_shared::undo::UndoStack;
use std::cell::RefCell;
use std::rc::Rc;

/// After this many appended chunks the document is compacted into one
/// snapshot, which keeps opening fast.
const COMPACT_AFTER: usize = 64;

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("дорожная карта не найдена на этом устройстве")]
    NotFound,
    #[error("{0}")]
    Storage(#[from] StorageError),
    /// The stored bytes are bad; they were moved to quarantine.
    #[error("данные дорожной карты повреждены и отложены в карантин: {0}")]
    Corrupt(String),
    /// Quarantined earlier (or just now, by another load of the same roadmap).
    #[error("данные дорожной карты повреждены и отложены в карантин: {0}")]
    Broken(String),
}

/// Chunks known to be contained in this replica: what compaction may delete.
#[derive(Default)]
struct Chunks {
    keys: Vec<f64>,
    compacting: bool,
}

pub struct OpenRoadmap {
    pub id: DocumentId,
    doc: RoadmapDoc,
    undo: UndoStack,
    storage: Storage,
    chunks: Rc<RefCell<Chunks>>,
    /// The list record as last written: typing only bumps its time, so a
    /// keystroke costs one write, not a read of the record and a write.
    meta: RoadmapMeta,
    /// Called with a message when a write to storage fails.
    on_storage_error: Rc<dyn Fn(String)>,
    /// Told after every local change (the sync sends it on).
    on_change: Option<Rc<dyn Fn(DocumentId)>>,
    /// Told when the list record was rewritten after a change from elsewhere
    /// (the list screen re-reads it then, not before the write lands).
    on_meta_stored: Option<Rc<dyn Fn()>>,
    /// Heads the relay is known to have (saved across reloads): what the
    /// count of changes not yet on the server is measured from.
    synced: Vec<ChangeHash>,
    /// The last count of changes not on the relay, and the heads it was made at.
    counted: Option<(Vec<ChangeHash>, usize)>,
}

impl OpenRoadmap {
    /// Creates and stores a new roadmap.
    pub async fn create(storage: &Storage, new: &NewRoadmap) -> Result<DocumentId, StorageError> {
        let mut doc = RoadmapDoc::create(new, crate::browser::new_row_id());
        Self::store_copy(storage, &mut doc).await
    }

    /// Stores an existing document (a duplicate, an imported file) under a new id.
    pub async fn store_copy(storage: &Storage, doc: &mut RoadmapDoc) -> Result<DocumentId, StorageError> {
        let id = crate::browser::new_document_id();
        Self::store_as(storage, id, doc).await?;
        Ok(id)
    }

    /// Stores a document under its own id (one fetched from the relay).
    pub async fn store_as(
        storage: &Storage,
        id: DocumentId,
        doc: &mut RoadmapDoc,
    ) -> Result<(), StorageError> {
        let meta = meta_of(&id, doc);
        storage.create(&meta, doc.save()).await?;
        Ok(())
    }

    pub async fn open(
        storage: &Storage,
        id: DocumentId,
        on_storage_error: Rc<dyn Fn(String)>,
    ) -> Result<Self, OpenError> {
        let meta = storage.meta(&id).await?.ok_or(OpenError::NotFound)?;
        if let Some(reason) = meta.broken.clone() {
            return Err(OpenError::Broken(reason));
        }
        let mut stored = storage.load(&id).await?;
        let mut doc = match decode(&stored.bytes) {
            Ok(doc) => doc,
            Err(e) => {
                let reason = e.to_string();
                storage.quarantine(&id, &reason).await?;
                return Err(OpenError::Corrupt(reason));
            }
        };
        // Edits whose IndexedDB write may not have committed (the tab was
        // reloaded or closed right after them): apply and store them now.
        for (key, bytes) in crate::journal::pending(&id) {
            if doc.load_incremental(&bytes).is_ok() {
                stored.keys.push(storage.append(&id, bytes).await?);
            }
            crate::journal::clear(&key);
        }
        Ok(Self {
            id,
            doc,
            undo: UndoStack::new(),
            storage: storage.clone(),
            chunks: Rc::new(RefCell::new(Chunks { keys: stored.keys, compacting: false })),
            meta,
            on_storage_error,
            on_change: None,
            on_meta_stored: None,
            synced: load_synced(&id),
            counted: None,
        })
    }

    /// Registers who is told about local changes.
    pub fn on_change(&mut self, f: Rc<dyn Fn(DocumentId)>) {
        self.on_change = Some(f);
    }

    /// The Automerge document, for the sync protocol.
    pub fn automerge(&mut self) -> &mut automerge::AutoCommit {
        self.doc.automerge()
    }

    /// Runs `f` on the Automerge document and says what it changed.
    pub fn tracking<R>(&mut self, f: impl FnOnce(&mut automerge::AutoCommit) -> R) -> (R, Touched) {
        self.doc.tracking(f)
    }

    pub fn on_meta_stored(&mut self, f: Rc<dyn Fn()>) {
        self.on_meta_stored = Some(f);
    }

    /// Stores changes that came from the relay.
    pub fn persist_remote(&mut self) {
        let then = self.on_meta_stored.clone();
        self.write(true, then);
    }

    /// How many changes of this replica the relay does not have yet.
    /// `shared` are the heads both are known to have on the live connection.
    pub fn unsynced(&mut self, shared: Option<Vec<ChangeHash>>) -> usize {
        if let Some(shared) = shared
            && shared != self.synced
        {
            save_synced(&self.id, &shared);
            self.synced = shared;
            self.counted = None;
        }
        let am = self.doc.automerge();
        let heads = am.get_heads();
        let known = |hashes: &[ChangeHash], am: &mut automerge::AutoCommit| {
            hashes.iter().all(|h| am.get_change_by_hash(h).is_some())
        };
        let count = match self.counted.take() {
            Some((counted, n)) if counted == heads => n,
            // Typing: add what is new since the last count rather than
            // walking the whole history of a never-synced roadmap again.
            Some((counted, n)) if known(&counted, am) => n + am.get_changes(&counted).len(),
            _ if known(&self.synced, am) => am.get_changes(&self.synced).len(),
            _ => am.get_changes(&[]).len(),
        };
        self.counted = Some((heads, count));
        count
    }

    pub fn doc(&self) -> &RoadmapDoc {
        &self.doc
    }

    /// The roadmap as it stood at `until_ms` (None if it did not exist yet).
    /// Reads history only; the replica is not changed.
    pub fn roadmap_at(&mut self, until_ms: i64) -> Option<medk_shared::model::Roadmap> {
        medk_shared::history::roadmap_at(&mut self.doc, until_ms)
    }

    /// One user action: applied, recorded for undo, written to storage.
    pub fn apply(&mut self, edits: Vec<Edit>, message: &str) -> Result<(), DocError> {
        self.undo.seal();
        self.undo.apply(&mut self.doc, edits, now_ms(), message)?;
        self.persist(true);
        Ok(())
    }

    /// Typing in a text field.
    pub fn type_text(&mut self, target: TextTarget, value: String) -> Result<(), DocError> {
        let header = matches!(target, TextTarget::Header(_));
        self.undo.type_text(&mut self.doc, target, value, now_ms())?;
        self.persist(header);
        Ok(())
    }

    /// Ends a typing run (the field lost focus).
    pub fn seal(&mut self) {
        self.undo.seal();
    }

    pub fn undo(&mut self) -> Result<bool, DocError> {
        let done = self.undo.undo(&mut self.doc, now_ms())?;
        if done {
            self.persist(true);
        }
        Ok(done)
    }

    pub fn redo(&mut self) -> Result<bool, DocError> {
        let done = self.undo.redo(&mut self.doc, now_ms())?;
        if done {
            self.persist(true);
        }
        Ok(done)
    }

    pub fn can_undo(&self) -> bool {
        self.undo.can_undo()
    }

    pub fn can_redo(&self) -> bool {
        self.undo.can_redo()
    }

    /// The document's heads, as hex (what a cached view is checked against).
    pub fn heads(&mut self) -> Vec<String> {
        self.doc.heads().iter().map(|h| h.to_string()).collect()
    }

    /// The whole document as one file (for export).
    pub fn save(&mut self) -> Vec<u8> {
        self.doc.save()
    }

    /// Writes the changes made since the last write. `meta_changed` says the
    /// list record (title, count of activities) must be refreshed too.
    fn persist(&mut self, meta_changed: bool) {
        self.write(meta_changed, None);
    }

    /// [`Self::persist`], telling `meta_stored` once the list record is written.
    fn write(&mut self, meta_changed: bool, meta_stored: Option<Rc<dyn Fn()>>) {
        let changes = self.doc.save_incremental();
        if changes.is_empty() {
            return;
        }
        if meta_changed {
            self.meta = meta_of(&self.id, &self.doc);
        } else {
            self.meta.updated = js_sys::Date::now();
        }
        let meta = self.meta.clone();
        let storage = self.storage.clone();
        let chunks = self.chunks.clone();
        let on_error = self.on_storage_error.clone();
        let id = self.id;
        let journal = crate::journal::record(&id, &changes);
        wasm_bindgen_futures::spawn_local(async move {
            match storage.append(&id, changes).await {
                Ok(key) => {
                    chunks.borrow_mut().keys.push(key);
                    if let Some(journal) = journal {
                        crate::journal::clear(&journal);
                    }
                }
                Err(e) => on_error(format!("Изменение не сохранено на устройстве: {e}")),
            }
            match storage.put_meta(&meta).await {
                Ok(()) => {
                    if let Some(f) = meta_stored {
                        f();
                    }
                }
                Err(e) => on_error(format!("Список дорожных карт не обновлён: {e}")),
            }
        });
        let due = {
            let c = self.chunks.borrow();
            c.keys.len() >= COMPACT_AFTER && !c.compacting
        };
        if due {
            self.compact();
        }
        if let Some(f) = &self.on_change {
            f(self.id);
        }
    }

    fn compact(&mut self) {
        let snapshot = self.doc.save();
        let contained = {
            let mut c = self.chunks.borrow_mut();
            c.compacting = true;
            c.keys.clone()
        };
        let storage = self.storage.clone();
        let chunks = self.chunks.clone();
        let id = self.id;
        wasm_bindgen_futures::spawn_local(async move {
            let result = storage.compact(&id, snapshot, &contained).await;
            let mut c = chunks.borrow_mut();
            c.compacting = false;
            if let Ok(key) = result {
                c.keys.retain(|k| !contained.contains(k));
                c.keys.push(key);
            }
        });
    }
}

fn synced_key(id: &DocumentId) -> String {
    format!("medk.synced.{id}")
}

fn load_synced(id: &DocumentId) -> Vec<ChangeHash> {
    let stored = web_sys::window()
        .and_then(|w| w.local_storage().ok().flatten())
        .and_then(|s| s.get_item(&synced_key(id)).ok().flatten())
        .unwrap_or_default();
    stored.split(',').filter_map(|h| h.parse().ok()).collect()
}

fn save_synced(id: &DocumentId, heads: &[ChangeHash]) {
    if let Some(s) = web_sys::window().and_then(|w| w.local_storage().ok().flatten()) {
        let text: Vec<String> = heads.iter().map(ToString::to_string).collect();
        let _ = s.set_item(&synced_key(id), &text.join(","));
    }
}

/// Loads stored chunks: the first is a snapshot, the rest are applied on top.
pub fn decode(chunks: &[Vec<u8>]) -> Result<RoadmapDoc, DocError> {
    let Some((first, rest)) = chunks.split_first() else {
        return Err(DocError::Corrupt("нет данных".into()));
    };
    let mut doc = RoadmapDoc::load(first)?;
    for chunk in rest {
        doc.load_incremental(chunk)?;
    }
    Ok(doc)
}

pub fn meta_of(id: &DocumentId, doc: &RoadmapDoc) -> RoadmapMeta {
    let header = doc.header();
    RoadmapMeta {
        id: id.to_string(),
        title: header.title,
        level: header.level,
        territory: header.territory,
        year: header.year,
        updated: js_sys::Date::now(),
        activities: doc.activity_count() as u32,
        broken: None,
    }
}
