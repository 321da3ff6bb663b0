//! Typed Automerge documents: one way to hold, store, sync and read a
//! roadmap ([`crate::doc`]), a school file ([`crate::school`]) or the
//! catalogue ([`crate::catalogue`]).
//!
//! - [`TypedDoc`] is an Automerge document known to be of one [`Kind`].
//!   Loading, saving, forking and merging are written here once, for
//!   every kind; each kind's module adds its own writer (the one place
//!   that changes that kind of document).
//! - Reading goes through [`View`], now or at past heads, tolerantly: what
//!   is missing or of another type than the layout says reads as empty.
//!   [`TypedDoc::read_until`] is a document as it stood at a moment (the
//!   rule of what counts then is [`crate::history::heads_at`]), read in
//!   place: no copy of its history.
//! - [`DocError`] is why a document could not be opened or changed.
//!
//! Why a generic type and not a trait the three types implement: callers
//! call `RoadmapDoc::load` and `doc.save()` with no trait to import, and a
//! kind cannot get storage or merging subtly different from the others.

mod error;
mod view;

pub use error::DocError;
pub use view::{Fields, View};

use automerge::transaction::CommitOptions;
use automerge::{ActorId, AutoCommit, AutomergeError, ChangeHash, ROOT};
use std::marker::PhantomData;

/// A kind of typed document, named by the plain data it reads as
/// ([`crate::model::Roadmap`], [`crate::school::School`],
/// [`crate::catalogue::Catalogue`]).
pub trait Kind: Sized {
    /// What the root's `kind` says.
    const KIND: &'static str;
    /// The layout version this code writes.
    const SCHEMA: u64;
    /// The kind in an error, after «документ не является» («файлом школы»).
    const WHAT: &'static str;

    /// Checks that `doc` says it is of this kind, in a layout version this
    /// code reads, and returns that version. Its parts are not required: a
    /// missing or mistyped one reads as empty. By default the root must
    /// name a version from 1 to [`Self::SCHEMA`].
    fn check(doc: View<'_>) -> Result<u64, DocError> {
        check_kind(doc, Self::KIND, Self::SCHEMA, Self::WHAT)
    }

    /// Upgrades a document of the older layout version `from` in place, in
    /// a change of its own. By default there is none to upgrade from.
    fn migrate(doc: &mut AutoCommit, from: u64) -> Result<(), DocError> {
        let _ = (doc, from);
        Ok(())
    }

    /// The document as plain data, tolerantly.
    fn read(doc: View<'_>) -> Self;
}

/// An Automerge document known to hold a `K` of a layout this code reads.
#[derive(Debug)]
pub struct TypedDoc<K> {
    pub(crate) doc: AutoCommit,
    kind: PhantomData<fn() -> K>,
}

impl<K: Kind> TypedDoc<K> {
    /// Wraps a document this code just wrote (so knows to be a `K`).
    pub(crate) fn new(doc: AutoCommit) -> Self {
        Self { doc, kind: PhantomData }
    }

    /// The first state of a well-known document (a school's file, the
    /// catalogue), byte for byte the same on every device: written by
    /// `init` with the fixed actor [`genesis_actor`] at time 0. Two devices
    /// that open it before either has synced create the same change, so
    /// their later edits merge into one document instead of hiding each
    /// other's maps.
    pub(crate) fn genesis_of(
        name: &str,
        message: &str,
        init: impl FnOnce(&mut AutoCommit) -> Result<(), AutomergeError>,
    ) -> Self {
        let mut doc = AutoCommit::new().with_actor(genesis_actor(K::KIND, name));
        init(&mut doc).expect("writing to a fresh document cannot fail");
        doc.commit_with(CommitOptions::default().with_time(0).with_message(message));
        // Later changes on this replica must not reuse the genesis actor.
        doc.set_actor(ActorId::random());
        Self::new(doc)
    }

    /// A new document written by `init` in one change stamped `time_ms`.
    pub(crate) fn created(
        time_ms: i64,
        message: &str,
        init: impl FnOnce(&mut AutoCommit) -> Result<(), AutomergeError>,
    ) -> Self {
        let mut doc = AutoCommit::new();
        init(&mut doc).expect("writing to a fresh document cannot fail");
        doc.commit_with(CommitOptions::default().with_time(time_ms).with_message(message));
        Self::new(doc)
    }

    /// Loads saved bytes (a full save, optionally followed by incremental
    /// chunks), checks that they hold a `K` and upgrades an older layout.
    pub fn load(bytes: &[u8]) -> Result<Self, DocError> {
        let doc = AutoCommit::load(bytes).map_err(|e| DocError::Corrupt(e.to_string()))?;
        Self::from_automerge(doc)
    }

    /// Wraps a document that came from elsewhere (storage, sync): it must
    /// say it is a `K` of a layout this code reads ([`Kind::check`]);
    /// anything else in it that is not as the layout says reads as empty.
    pub fn from_automerge(mut doc: AutoCommit) -> Result<Self, DocError> {
        let schema = K::check(View::now(&doc))?;
        if schema < K::SCHEMA {
            K::migrate(&mut doc, schema)?;
        }
        Ok(Self::new(doc))
    }

    /// Applies saved changes from storage or another replica.
    pub fn load_incremental(&mut self, bytes: &[u8]) -> Result<(), DocError> {
        self.doc.load_incremental(bytes).map_err(|e| DocError::Corrupt(e.to_string()))?;
        Ok(())
    }

    /// The underlying document, for sync and storage.
    pub fn automerge(&mut self) -> &mut AutoCommit {
        &mut self.doc
    }

    pub fn save(&mut self) -> Vec<u8> {
        self.doc.save()
    }

    /// The changes since the last save or incremental save.
    pub fn save_incremental(&mut self) -> Vec<u8> {
        self.doc.save_incremental()
    }

    pub fn heads(&mut self) -> Vec<ChangeHash> {
        self.doc.get_heads()
    }

    /// A fully independent replica (new actor): a second device, or a copy
    /// to duplicate a roadmap from.
    pub fn fork(&mut self) -> Self {
        Self::new(self.doc.fork())
    }

    /// Merges everything `other` has that this replica lacks.
    pub fn merge(&mut self, other: &mut Self) -> Result<(), DocError> {
        self.doc.merge(&mut other.doc)?;
        Ok(())
    }

    /// The document as it is now.
    pub(crate) fn now(&self) -> View<'_> {
        View::now(&self.doc)
    }

    /// The document as plain data.
    pub fn read(&self) -> K {
        K::read(self.now())
    }

    /// The document as it stood at `heads` (read in place), or `None` when
    /// nothing counted yet (no heads) or it was not a `K` then.
    pub fn read_at(&mut self, heads: &[ChangeHash]) -> Option<K> {
        if heads.is_empty() {
            None
        } else if heads == self.doc.get_heads() {
            Some(self.read())
        } else {
            let then = View::at(&self.doc, heads);
            K::check(then).ok().map(|_| K::read(then))
        }
    }

    /// The document as it stood at `until_ms` (see [`crate::history`]), or
    /// `None` if it did not exist yet. Takes `&mut` only because Automerge
    /// closes any open transaction before reading history; nothing is
    /// changed.
    pub fn read_until(&mut self, until_ms: i64) -> Option<K> {
        let heads = crate::history::heads_at(&mut self.doc, until_ms);
        self.read_at(&heads)
    }

    /// Runs `edit` (the operations of one person's action) and commits
    /// what it did as one change stamped `time_ms`: all or nothing, so on
    /// an error nothing of it stays.
    pub(crate) fn change<T>(
        &mut self,
        time_ms: i64,
        message: &str,
        edit: impl FnOnce(&mut Self) -> Result<T, DocError>,
    ) -> Result<T, DocError> {
        match edit(self) {
            Ok(done) => {
                self.doc.commit_with(CommitOptions::default().with_time(time_ms).with_message(message));
                Ok(done)
            }
            Err(e) => {
                self.doc.rollback();
                Err(e)
            }
        }
    }
}

/// The actor of the creating change of a well-known document
/// ([`TypedDoc::genesis_of`]): the same on every device, so that the change is
/// too.
pub(crate) fn genesis_actor(kind: &str, name: &str) -> ActorId {
    let id = crate::ids::DocumentId::derived(&format!("{kind}/genesis"), name);
    ActorId::from(id.as_bytes().as_slice())
}

/// The default [`Kind::check`]: the root's `kind` is `kind` and its
/// `schema` a whole number from 1 to `schema`.
pub(crate) fn check_kind(
    doc: View<'_>,
    kind: &str,
    schema: u64,
    what: &'static str,
) -> Result<u64, DocError> {
    if doc.str(&ROOT, "kind").as_deref() != Some(kind) {
        return Err(DocError::WrongKind(what));
    }
    match doc.u64(&ROOT, "schema") {
        Some(found) if found > schema => Err(DocError::NewerSchema(found)),
        Some(found) if found >= 1 => Ok(found),
        _ => Err(DocError::WrongKind(what)),
    }
}

/// The parts (`(key, holds rows)`) under the root of a document that are
/// missing or not maps, and the rows in them that are not maps: what of a
/// school file or the catalogue reads as empty.
pub(crate) fn part_problems(doc: View<'_>, parts: &[(&str, bool)]) -> Vec<String> {
    let mut found = Vec::new();
    for &(key, holds_rows) in parts {
        let Some(map) = doc.map(&ROOT, key) else {
            found.push(format!("{key}: missing or not a map"));
            continue;
        };
        if holds_rows {
            let bad = doc
                .map_range(&map)
                .filter(|item| !matches!(item.value, automerge::ValueRef::Object(automerge::ObjType::Map)))
                .map(|item| format!("{key}/{}: not a map", item.key));
            found.extend(bad);
        }
    }
    found
}
