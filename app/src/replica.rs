//! A document kept on this device, whatever it holds (a roadmap, a school's
//! file, the catalogue): its write-through to IndexedDB, compaction, the
//! journal of writes that may not have committed, and the count of changes
//! the relay does not have yet. The typed wrappers (`OpenRoadmap`,
//! `OpenFile`) add what their content needs; the sync talks to all of them
//! through [`Synced`].
//!
//! Every change is written at once (no save button): the change bytes go to
//! storage in the same turn of the event loop as the edit, so a reload or a
//! killed tab right after an edit finds it there.

use crate::storage::{RoadmapMeta, Storage, StorageError};
use automerge::{ActorId, AutoCommit, AutomergeError, ChangeHash};
use medk_shared::doc::Touched;
use medk_shared::ids::DocumentId;
use std::cell::RefCell;
use std::rc::Rc;

/// After this many appended chunks the document is compacted into one
/// snapshot, which keeps opening fast.
const COMPACT_AFTER: usize = 64;

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("документ не найден на этом устройстве")]
    NotFound,
    #[error("{0}")]
    Storage(#[from] StorageError),
    /// The stored bytes are bad; they were moved to quarantine.
    #[error("данные повреждены и отложены в карантин: {0}")]
    Corrupt(String),
    /// Quarantined earlier (or just now, by another load of the same document).
    #[error("данные повреждены и отложены в карантин: {0}")]
    Broken(String),
}

/// What a document type must do to be kept on the device.
pub trait Kept: Sized {
    /// Reads stored chunks: the first is a snapshot, the rest apply on top.
    fn decode(chunks: &[Vec<u8>]) -> Result<Self, String>;
    fn load_incremental(&mut self, bytes: &[u8]) -> Result<(), String>;
    fn automerge(&mut self) -> &mut AutoCommit;
    /// The list record for it.
    fn meta(&self, id: &DocumentId) -> RoadmapMeta;
}

/// What the sync needs of any open document.
pub trait Synced {
    /// The Automerge document and its replica, borrowed together.
    fn parts(&mut self) -> (&mut AutoCommit, &mut Replica);
    fn automerge(&mut self) -> &mut AutoCommit {
        self.parts().0
    }
    /// Runs `apply` (a sync message from the relay), stores what it brought
    /// and says what it touched.
    fn receive(
        &mut self,
        apply: &mut dyn FnMut(&mut AutoCommit) -> Result<(), AutomergeError>,
    ) -> Result<Touched, AutomergeError>;
    /// How many changes of this replica the relay does not have yet.
    /// `shared` are the heads both are known to have on the live connection.
    fn unsynced(&mut self, shared: Option<Vec<ChangeHash>>) -> usize {
        let (am, replica) = self.parts();
        replica.unsynced(am, shared)
    }
    /// Registers who is told about local changes.
    fn on_change(&mut self, f: Rc<dyn Fn(DocumentId)>) {
        self.parts().1.set_on_change(f);
    }
    /// Registers who is told when the list record was rewritten after a
    /// change from elsewhere.
    fn on_meta_stored(&mut self, f: Rc<dyn Fn()>) {
        self.parts().1.set_on_meta_stored(f);
    }
}

/// Reads stored chunks into one document: the first is a snapshot, the
/// rest apply on top.
pub fn load_chunks(chunks: &[Vec<u8>]) -> Result<AutoCommit, String> {
    let Some((first, rest)) = chunks.split_first() else {
        return Err("нет данных".into());
    };
    let mut doc = AutoCommit::load(first).map_err(|e| e.to_string())?;
    for chunk in rest {
        doc.load_incremental(chunk).map_err(|e| e.to_string())?;
    }
    Ok(doc)
}

/// Chunks known to be contained in this replica: what compaction may delete.
#[derive(Default)]
struct Chunks {
    keys: Vec<f64>,
    compacting: bool,
}

/// The storage side of an open document.
pub struct Replica {
    pub id: DocumentId,
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
    /// The maker of an identical first change every device has (a
    /// well-known file's genesis): never owed to the relay, so not counted.
    /// A reader could not send it anyway.
    genesis: Option<ActorId>,
}

impl Replica {
    /// Stores a new document under `id`: its list record and first snapshot.
    pub async fn create<D: Kept>(storage: &Storage, id: DocumentId, doc: &mut D) -> Result<(), StorageError> {
        let meta = doc.meta(&id);
        storage.create(&meta, doc.automerge().save()).await?;
        Ok(())
    }

    /// Loads a stored document. Bad bytes are moved to quarantine.
    pub async fn open<D: Kept>(
        storage: &Storage,
        id: DocumentId,
        on_storage_error: Rc<dyn Fn(String)>,
    ) -> Result<(Replica, D), OpenError> {
        let meta = storage.meta(&id).await?.ok_or(OpenError::NotFound)?;
        if let Some(reason) = meta.broken.clone() {
            return Err(OpenError::Broken(reason));
        }
        let mut stored = storage.load(&id).await?;
        let mut doc = match D::decode(&stored.bytes) {
            Ok(doc) => doc,
            Err(reason) => {
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
        let replica = Replica {
            id,
            storage: storage.clone(),
            chunks: Rc::new(RefCell::new(Chunks { keys: stored.keys, compacting: false })),
            meta,
            on_storage_error,
            on_change: None,
            on_meta_stored: None,
            synced: load_synced(&id),
            counted: None,
            genesis: None,
        };
        Ok((replica, doc))
    }

    /// Changes by `actor` are on every device from the start (see the field).
    pub fn set_genesis(&mut self, actor: ActorId) {
        self.genesis = Some(actor);
        self.counted = None;
    }

    pub fn set_on_change(&mut self, f: Rc<dyn Fn(DocumentId)>) {
        self.on_change = Some(f);
    }

    pub fn set_on_meta_stored(&mut self, f: Rc<dyn Fn()>) {
        self.on_meta_stored = Some(f);
    }

    /// Writes the changes made since the last write. `meta` is the new list
    /// record when it changed (else only its time is bumped). `local` says
    /// the change was made here (the sync is told to send it).
    pub fn write(&mut self, am: &mut AutoCommit, meta: Option<RoadmapMeta>, local: bool) {
        let changes = am.save_incremental();
        if changes.is_empty() {
            return;
        }
        match meta {
            Some(meta) => self.meta = meta,
            None => self.meta.updated = js_sys::Date::now(),
        }
        let meta = self.meta.clone();
        let storage = self.storage.clone();
        let chunks = self.chunks.clone();
        let on_error = self.on_storage_error.clone();
        let meta_stored = if local { None } else { self.on_meta_stored.clone() };
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
                Err(e) => on_error(format!("Список документов не обновлён: {e}")),
            }
        });
        let due = {
            let c = self.chunks.borrow();
            c.keys.len() >= COMPACT_AFTER && !c.compacting
        };
        if due {
            self.compact(am);
        }
        if local && let Some(f) = &self.on_change {
            f(self.id);
        }
    }

    fn compact(&mut self, am: &mut AutoCommit) {
        let snapshot = am.save();
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

    /// See [`Synced::unsynced`].
    pub fn unsynced(&mut self, am: &mut AutoCommit, shared: Option<Vec<ChangeHash>>) -> usize {
        if let Some(shared) = shared
            && shared != self.synced
        {
            save_synced(&self.id, &shared);
            self.synced = shared;
            self.counted = None;
        }
        let heads = am.get_heads();
        let known = |hashes: &[ChangeHash], am: &mut AutoCommit| {
            hashes.iter().all(|h| am.get_change_by_hash(h).is_some())
        };
        let genesis = self.genesis.as_ref();
        let owed = |since: &[ChangeHash], am: &mut AutoCommit| {
            am.get_changes(since).iter().filter(|c| Some(c.actor_id()) != genesis).count()
        };
        let count = match self.counted.take() {
            Some((counted, n)) if counted == heads => n,
            // Typing: add what is new since the last count rather than
            // walking the whole history of a never-synced document again.
            Some((counted, n)) if known(&counted, am) => n + owed(&counted, am),
            _ if known(&self.synced, am) => owed(&self.synced, am),
            _ => owed(&[], am),
        };
        self.counted = Some((heads, count));
        count
    }
}

fn synced_key(id: &DocumentId) -> String {
    format!("medk.synced.{id}")
}

fn load_synced(id: &DocumentId) -> Vec<ChangeHash> {
    let stored = crate::browser::setting(&synced_key(id)).unwrap_or_default();
    stored.split(',').filter_map(|h| h.parse().ok()).collect()
}

fn save_synced(id: &DocumentId, heads: &[ChangeHash]) {
    let text: Vec<String> = heads.iter().map(ToString::to_string).collect();
    crate::browser::set_setting(&synced_key(id), &text.join(","));
}
