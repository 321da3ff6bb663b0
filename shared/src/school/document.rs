//! The school file as an Automerge document ([`SchoolDoc`]): what marks it
//! as one, its well-known id, and its first state, the same on every
//! device.

use super::model::{School, Stage};
use super::read::read_school;
use crate::ids::DocumentId;
use crate::typed_doc::{Kind, TypedDoc, View, genesis_actor, part_problems};
use automerge::transaction::Transactable;
use automerge::{AutoCommit, AutomergeError, ObjType, ROOT};

/// Marks a document as a medk school file.
pub const SCHOOL_KIND: &str = "medk-school";
/// The layout version this code writes.
pub const SCHOOL_SCHEMA: u64 = 1;

/// How errors name a school file.
pub(super) const WHAT: &str = "файлом школы";

/// An Automerge document known to hold a school file of the current schema.
pub type SchoolDoc = TypedDoc<School>;

impl Kind for School {
    const KIND: &'static str = SCHOOL_KIND;
    const SCHEMA: u64 = SCHOOL_SCHEMA;
    const WHAT: &'static str = WHAT;

    fn read(doc: View<'_>) -> School {
        read_school(doc)
    }
}

/// The maps a school file holds, and whether each holds rows (maps by id).
const SCHOOL_PARTS: [(&str, bool); 4] =
    [("assignment", false), ("visits", true), ("risks", true), ("documents", true)];

/// The document id of a school's file, derived from the school's unit id:
/// the app and the relay find it without a registry.
pub fn school_file_id(school: &str) -> DocumentId {
    DocumentId::derived(SCHOOL_KIND, school)
}

impl SchoolDoc {
    /// Who made [`Self::genesis`]: its change is on every device already, so
    /// it is never owed to the relay.
    pub fn genesis_actor(school: &str) -> automerge::ActorId {
        genesis_actor(SCHOOL_KIND, school)
    }

    /// The first state of a school's file, byte for byte the same on every
    /// device (fixed actor, time 0): two devices that open a school's file
    /// before either has synced create the same change, and their later
    /// edits merge into one document instead of hiding each other's maps.
    pub fn genesis(school: &str) -> Self {
        Self::genesis_of(school, "create school file", |doc| init_school(doc, school, Stage::Forming))
    }

    /// A new school file. `time_ms` is recorded in the creating change; 0
    /// makes it count at every past moment (see [`crate::history`]).
    pub fn create(school: &str, stage: Stage, time_ms: i64) -> Self {
        Self::created(time_ms, "create school file", |doc| init_school(doc, school, stage))
    }

    /// What of the file is missing or not of its type, so reads as empty
    /// (another program wrote it); empty for every file this code writes.
    pub fn problems(&self) -> Vec<String> {
        part_problems(self.now(), &SCHOOL_PARTS)
    }
}

fn init_school(doc: &mut AutoCommit, school: &str, stage: Stage) -> Result<(), AutomergeError> {
    doc.put(ROOT, "kind", SCHOOL_KIND)?;
    doc.put(ROOT, "schema", SCHOOL_SCHEMA)?;
    doc.put(ROOT, "school", school)?;
    doc.put(ROOT, "stage", stage.key())?;
    let assignment = doc.put_object(ROOT, "assignment", ObjType::Map)?;
    for key in ["curator_id", "curator_name", "coordinator_id", "coordinator_name"] {
        doc.put(&assignment, key, "")?;
    }
    for key in ["visits", "risks", "documents"] {
        doc.put_object(ROOT, key, ObjType::Map)?;
    }
    Ok(())
}
