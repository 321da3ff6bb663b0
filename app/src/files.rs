//! The documents around the roadmaps, kept and synced like them: a school's
//! file (stage, assignments, visits, risk profile, filed documents and
//! their review) and the project's catalogue (risk factors, required
//! documents, visit intervals). Their ids are well known
//! ([`school_file_id`], [`catalogue_id`]), so a device that has never seen
//! one creates its identical first state and syncs from there.

use crate::browser::now_ms;
use crate::replica::{Kept, OpenError, Replica, Synced, Unfit};
use crate::storage::{DocKind, RoadmapMeta, Storage};
use automerge::{ActorId, AutoCommit, AutomergeError};
use medk_shared::access::Level;
use medk_shared::catalogue::{CATALOGUE_KIND, Catalogue, CatalogueDoc, CatalogueEdit, catalogue_id};
use medk_shared::doc::Touched;
use medk_shared::ids::DocumentId;
use medk_shared::replica::Origin;
use medk_shared::school::{SCHOOL_KIND, School, SchoolDoc, SchoolEdit, school_file_id};
use medk_shared::typed_doc::View;
use std::rc::Rc;

/// What a file holds.
#[derive(Debug)]
pub enum FileDoc {
    School(SchoolDoc),
    Catalogue(CatalogueDoc),
}

/// Which well-known file to open.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Wanted {
    School(String),
    Catalogue,
}

impl Wanted {
    pub fn id(&self) -> DocumentId {
        match self {
            Wanted::School(unit) => school_file_id(unit),
            Wanted::Catalogue => catalogue_id(),
        }
    }

    /// Who made [`Self::genesis`].
    fn genesis_actor(&self) -> ActorId {
        match self {
            Wanted::School(unit) => SchoolDoc::genesis_actor(unit),
            Wanted::Catalogue => CatalogueDoc::genesis_actor(),
        }
    }

    /// The same, as the Automerge document (to salvage a broken copy into).
    pub fn genesis_automerge(&self) -> AutoCommit {
        let mut doc = self.genesis();
        doc.automerge().clone()
    }

    /// The identical first state every device starts this file from.
    fn genesis(&self) -> FileDoc {
        match self {
            Wanted::School(unit) => FileDoc::School(SchoolDoc::genesis(unit)),
            Wanted::Catalogue => FileDoc::Catalogue(CatalogueDoc::genesis()),
        }
    }
}

impl Kept for FileDoc {
    fn from_automerge(doc: AutoCommit) -> Result<Self, Unfit> {
        let kind = View::now(&doc).str(&automerge::ROOT, "kind");
        match kind.as_deref() {
            Some(SCHOOL_KIND) => SchoolDoc::from_automerge(doc).map(FileDoc::School),
            Some(CATALOGUE_KIND) => CatalogueDoc::from_automerge(doc).map(FileDoc::Catalogue),
            _ => return Err(Unfit::Wrong("это не файл школы и не каталог".into())),
        }
        .map_err(Unfit::from)
    }

    fn automerge(&mut self) -> &mut AutoCommit {
        match self {
            FileDoc::School(doc) => doc.automerge(),
            FileDoc::Catalogue(doc) => doc.automerge(),
        }
    }

    fn meta(&self, id: &DocumentId) -> RoadmapMeta {
        let (kind, title, level) = match self {
            FileDoc::School(doc) => (DocKind::School, doc.read().unit, Level::School),
            FileDoc::Catalogue(_) => (DocKind::Catalogue, "Каталог".to_owned(), Level::Federal),
        };
        RoadmapMeta {
            id: id.to_string(),
            title,
            level,
            territory: String::new(),
            year: None,
            updated: js_sys::Date::now(),
            activities: 0,
            broken: None,
            kind,
            unsent: None,
        }
    }
}

/// A school's file or the catalogue, open on this device.
pub struct OpenFile {
    pub id: DocumentId,
    doc: FileDoc,
    replica: Replica,
}

impl OpenFile {
    /// Opens the file from IndexedDB, first storing its genesis there if the
    /// device has never had it.
    pub async fn open(
        storage: &Storage,
        wanted: &Wanted,
        on_storage_error: Rc<dyn Fn(String)>,
    ) -> Result<Self, OpenError> {
        let id = wanted.id();
        if storage.meta(&id).await?.is_none() {
            Replica::create(storage, id, &mut wanted.genesis(), false).await?;
        }
        let (mut replica, doc) = Replica::open::<FileDoc>(storage, id, on_storage_error).await?;
        replica.set_genesis(wanted.genesis_actor());
        let matches = matches!(
            (&doc, wanted),
            (FileDoc::School(_), Wanted::School(_)) | (FileDoc::Catalogue(_), Wanted::Catalogue)
        );
        if !matches {
            return Err(OpenError::Corrupt("под этим адресом хранится другой документ".into()));
        }
        Ok(Self { id, doc, replica })
    }

    /// The school file as it is now (`None` for the catalogue).
    pub fn school(&self) -> Option<School> {
        match &self.doc {
            FileDoc::School(doc) => Some(doc.read()),
            FileDoc::Catalogue(_) => None,
        }
    }

    /// Every file the school file's review logs name, as each was attached
    /// ([`SchoolDoc::logged_files`]); empty for the catalogue.
    pub fn logged_files(&self) -> Vec<(medk_shared::ids::RowId, Vec<medk_shared::school::Blob>)> {
        match &self.doc {
            FileDoc::School(doc) => doc.logged_files(),
            FileDoc::Catalogue(_) => Vec::new(),
        }
    }

    /// The catalogue as it is now (`None` for a school file).
    pub fn catalogue(&self) -> Option<Catalogue> {
        match &self.doc {
            FileDoc::Catalogue(doc) => Some(doc.read()),
            FileDoc::School(_) => None,
        }
    }

    /// What of the file is missing or not of its type, so reads as empty
    /// (another program wrote it): details for a warning.
    pub fn problems(&self) -> Vec<String> {
        match &self.doc {
            FileDoc::School(doc) => doc.problems(),
            FileDoc::Catalogue(doc) => doc.problems(),
        }
    }

    /// The school document itself, for reading it on a date.
    pub fn school_doc(&mut self) -> Option<&mut SchoolDoc> {
        match &mut self.doc {
            FileDoc::School(doc) => Some(doc),
            FileDoc::Catalogue(_) => None,
        }
    }

    /// One user action on a school file: applied as one change signed by
    /// `author` ([`medk_shared::history::signed`]), written to storage at
    /// once, and synced.
    pub fn apply_school(
        &mut self,
        edits: Vec<SchoolEdit>,
        message: &str,
        author: &str,
    ) -> Result<(), String> {
        let FileDoc::School(doc) = &mut self.doc else {
            return Err("это не файл школы".into());
        };
        let message = medk_shared::history::signed(message, author);
        doc.apply(edits, now_ms(), &message).map_err(|e| e.to_string())?;
        self.persist();
        Ok(())
    }

    /// One user action on the catalogue, as [`Self::apply_school`].
    pub fn apply_catalogue(
        &mut self,
        edits: Vec<CatalogueEdit>,
        message: &str,
        author: &str,
    ) -> Result<(), String> {
        let FileDoc::Catalogue(doc) = &mut self.doc else {
            return Err("это не каталог".into());
        };
        let message = medk_shared::history::signed(message, author);
        doc.apply(edits, now_ms(), &message).map_err(|e| e.to_string())?;
        self.persist();
        Ok(())
    }

    fn persist(&mut self) {
        let meta = self.doc.meta(&self.id);
        self.replica.write(self.doc.automerge(), Some(meta), Origin::Local);
    }
}

impl Synced for OpenFile {
    fn parts(&mut self) -> (&mut AutoCommit, &mut Replica) {
        (self.doc.automerge(), &mut self.replica)
    }

    fn receive(
        &mut self,
        apply: &mut dyn FnMut(&mut AutoCommit) -> Result<(), AutomergeError>,
    ) -> Result<Touched, AutomergeError> {
        let before = self.doc.automerge().get_heads();
        apply(self.doc.automerge())?;
        if self.doc.automerge().get_heads() == before {
            return Ok(Touched::Nothing);
        }
        let meta = self.doc.meta(&self.id);
        self.replica.write(self.doc.automerge(), Some(meta), Origin::Received);
        Ok(Touched::Everything)
    }

    fn absorb(&mut self, pieces: &[medk_shared::replica::Piece]) -> Touched {
        if !self.replica.absorb(self.doc.automerge(), pieces) {
            return Touched::Nothing;
        }
        self.replica.keep_meta(self.doc.meta(&self.id));
        Touched::Everything
    }
}
