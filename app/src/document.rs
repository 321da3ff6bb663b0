//! An open roadmap on this device: the Automerge document, its undo
//! history, and its replica in IndexedDB ([`crate::replica`]).

use crate::browser::now_ms;
pub use crate::replica::OpenError;
use crate::replica::{Kept, Replica, Synced, Unfit};
use crate::storage::{DocKind, RoadmapMeta, Storage, StorageError};
use automerge::{AutoCommit, AutomergeError};
use medk_shared::doc::{Edit, NewRoadmap, RoadmapDoc, TextTarget, Touched};
use medk_shared::ids::DocumentId;
use medk_shared::replica::{Origin, Piece};
use medk_shared::typed_doc::DocError;
use medk_shared::undo::UndoStack;
use std::rc::Rc;

pub struct OpenRoadmap {
    pub id: DocumentId,
    doc: RoadmapDoc,
    undo: UndoStack,
    replica: Replica,
    /// Who signs this device's changes ([`medk_shared::history::signed`]).
    author: String,
}

impl Kept for RoadmapDoc {
    fn from_automerge(am: AutoCommit) -> Result<Self, Unfit> {
        Ok(RoadmapDoc::from_automerge(am)?)
    }

    fn automerge(&mut self) -> &mut AutoCommit {
        RoadmapDoc::automerge(self)
    }

    fn meta(&self, id: &DocumentId) -> RoadmapMeta {
        meta_of(id, self)
    }
}

impl OpenRoadmap {
    /// Creates and stores a new roadmap made by `creator` (see
    /// [`Self::store_copy`]).
    pub async fn create(
        storage: &Storage,
        new: &NewRoadmap,
        creator: &str,
    ) -> Result<DocumentId, StorageError> {
        let mut doc = RoadmapDoc::create(new, crate::browser::new_row_id());
        Self::store_copy(storage, &mut doc, creator).await
    }

    /// Stores a roadmap made on this device (a new one, a duplicate, an
    /// imported file) as a roadmap of its own: names its maker (the
    /// signed-in person's id; empty when nobody is) and a random nonce, from
    /// which its id follows. The relay registers it only to that person
    /// ([`medk_shared::layout::check_origin`]).
    pub async fn store_copy(
        storage: &Storage,
        doc: &mut RoadmapDoc,
        creator: &str,
    ) -> Result<DocumentId, StorageError> {
        let id = doc.stamp_origin(creator, crate::browser::random_bytes(), now_ms());
        Replica::create(storage, id, doc, true).await?;
        Ok(id)
    }

    /// Stores a document fetched from the relay under its own id.
    pub async fn store_fetched(
        storage: &Storage,
        id: DocumentId,
        doc: &mut RoadmapDoc,
    ) -> Result<(), StorageError> {
        Replica::create(storage, id, doc, false).await
    }

    pub async fn open(
        storage: &Storage,
        id: DocumentId,
        on_storage_error: Rc<dyn Fn(String)>,
    ) -> Result<Self, OpenError> {
        let (replica, doc) = Replica::open::<RoadmapDoc>(storage, id, on_storage_error).await?;
        Ok(Self { id, doc, undo: UndoStack::new(), replica, author: String::new() })
    }

    /// The Automerge document, for the sync protocol.
    pub fn automerge(&mut self) -> &mut automerge::AutoCommit {
        self.doc.automerge()
    }

    pub fn doc(&self) -> &RoadmapDoc {
        &self.doc
    }

    /// The roadmap as it stood at the end of `date` on this device, an
    /// imported plan counted from its adoption date (None if nothing of it
    /// counts then). Reads history only; the replica is not changed.
    pub fn roadmap_on(&mut self, date: time::Date) -> Option<medk_shared::model::Roadmap> {
        medk_shared::history::roadmap_on(&mut self.doc, date, crate::browser::utc_offset())
    }

    /// What its execution stood on at the end of `date` (its progress, and
    /// the days that say why a figure is empty or from when marks count),
    /// read from history once. The replica is not changed.
    pub fn on_date(&mut self, date: time::Date) -> medk_shared::monitoring::RoadmapOnDate {
        medk_shared::monitoring::RoadmapOnDate::on(&mut self.doc, date, crate::browser::utc_offset())
    }

    /// The name that signs the changes made from now on.
    pub fn set_author(&mut self, author: String) {
        self.undo.set_author(&author);
        self.author = author;
    }

    /// One user action: applied, recorded for undo, written to storage.
    pub fn apply(&mut self, edits: Vec<Edit>, message: &str) -> Result<(), DocError> {
        self.undo.seal();
        let message = medk_shared::history::signed(message, &self.author);
        self.undo.apply(&mut self.doc, edits, now_ms(), &message)?;
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

    /// Undoes one earlier action by its serial ([`UndoStack::undo_action`]).
    pub fn undo_action(&mut self, serial: u64) -> Result<bool, DocError> {
        let done = self.undo.undo_action(&mut self.doc, serial, now_ms())?;
        if done {
            self.persist(true);
        }
        Ok(done)
    }

    /// The action an undo would undo now.
    pub fn last_action(&self) -> Option<u64> {
        self.undo.last_action()
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
        let meta = meta_changed.then(|| meta_of(&self.id, &self.doc));
        self.replica.write(self.doc.automerge(), meta, Origin::Local);
    }

    /// The document for reading its history on a date (monitoring reads
    /// many roadmaps at once through `RoadmapDoc::read_until`). Reads only:
    /// a change made through here would bypass storage and undo.
    pub fn doc_mut(&mut self) -> &mut RoadmapDoc {
        &mut self.doc
    }
}

impl Synced for OpenRoadmap {
    fn parts(&mut self) -> (&mut AutoCommit, &mut Replica) {
        (self.doc.automerge(), &mut self.replica)
    }

    fn receive(
        &mut self,
        apply: &mut dyn FnMut(&mut AutoCommit) -> Result<(), AutomergeError>,
    ) -> Result<Touched, AutomergeError> {
        let (applied, touched) = self.doc.tracking(|am| apply(am));
        if touched != Touched::Nothing {
            let meta = meta_of(&self.id, &self.doc);
            self.replica.write(self.doc.automerge(), Some(meta), Origin::Received);
        }
        applied.map(|()| touched)
    }

    fn absorb(&mut self, pieces: &[Piece]) -> Touched {
        let replica = &mut self.replica;
        let (changed, touched) = self.doc.tracking(|am| replica.absorb(am, pieces));
        if changed {
            self.replica.keep_meta(meta_of(&self.id, &self.doc));
        }
        touched
    }
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
        kind: DocKind::Roadmap,
        unsent: None,
    }
}
