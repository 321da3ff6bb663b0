//! The one writer of school files: [`SchoolEdit`], the changes a person
//! makes, and [`super::SchoolDoc::apply`], which writes them as one change.

use super::SchoolDoc;
use super::document::WHAT;
use super::model::{Blob, Decision, DocumentKind, PersonRef, Stage, Visit, document_url};
use crate::ids::{DocumentId, RowId};
use crate::typed_doc::DocError;
use automerge::transaction::Transactable;
use automerge::{ObjId, ObjType, ROOT, ReadDoc, Value};
use serde::{Deserialize, Serialize};

/// One change to a school file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SchoolEdit {
    SetStage(Stage),
    /// Marks the survey done on a day (`Some` ISO date) or not done.
    SetSurvey {
        on: Option<String>,
        by: PersonRef,
    },
    SetAssignment {
        curator: Option<PersonRef>,
        coordinator: Option<PersonRef>,
    },
    /// Names the school's curator only (a curator's schools chosen in
    /// «Люди и доступ»), leaving the coordinator as it is.
    SetCurator(Option<PersonRef>),
    /// Records a visit or rewrites one (only the fields that differ are
    /// written).
    PutVisit(Visit),
    DeleteVisit(RowId),
    SetRisk {
        factor: String,
        active: bool,
        #[serde(with = "document_url")]
        programme: Option<DocumentId>,
        note: String,
    },
    /// Files a new document or attaches a new file (and title) to one; the
    /// review state is not touched (send a `Decide` with `Submitted`).
    AttachDocument {
        id: RowId,
        kind: DocumentKind,
        title: String,
        blob: Blob,
    },
    Decide {
        document: RowId,
        decision: Decision,
        remarks: String,
        by: String,
        by_name: String,
    },
}

impl SchoolDoc {
    /// Applies the edits of one user action as one Automerge change stamped
    /// `time_ms` (also the time of any decision in it). All or nothing.
    pub fn apply(&mut self, edits: Vec<SchoolEdit>, time_ms: i64, message: &str) -> Result<(), DocError> {
        self.change(time_ms, message, |file| {
            edits.into_iter().try_for_each(|edit| file.apply_one(edit, time_ms))
        })
    }

    fn root_map(&self, key: &str) -> Result<ObjId, DocError> {
        self.now().map(&ROOT, key).ok_or(DocError::WrongKind(WHAT))
    }

    fn row(&self, map: &str, id: &str) -> Result<ObjId, DocError> {
        self.now().map(&self.root_map(map)?, id).ok_or_else(|| DocError::NotFound(id.to_owned()))
    }

    /// The row `id` of `map`, created empty when absent.
    fn row_or_new(&mut self, map: &str, id: &str) -> Result<ObjId, DocError> {
        let parent = self.root_map(map)?;
        match self.now().map(&parent, id) {
            Some(obj) => Ok(obj),
            None => Ok(self.doc.put_object(&parent, id, ObjType::Map)?),
        }
    }

    fn apply_one(&mut self, edit: SchoolEdit, time_ms: i64) -> Result<(), DocError> {
        match edit {
            SchoolEdit::SetStage(stage) => self.doc.put(ROOT, "stage", stage.key())?,
            SchoolEdit::SetSurvey { on, by } => {
                let on = on.unwrap_or_default();
                if !on.is_empty() {
                    crate::deadline::parse_iso(&on).ok_or_else(|| DocError::BadDate(on.clone()))?;
                }
                self.put_str_if_changed(&ROOT, "survey_on", &on)?;
                self.put_str_if_changed(&ROOT, "survey_by", &by.id)?;
                self.put_str_if_changed(&ROOT, "survey_by_name", &by.name)?;
            }
            SchoolEdit::SetAssignment { curator, coordinator } => {
                let obj = self.root_map("assignment")?;
                self.put_person(&obj, "curator", curator.as_ref())?;
                self.put_person(&obj, "coordinator", coordinator.as_ref())?;
            }
            SchoolEdit::SetCurator(curator) => {
                let obj = self.root_map("assignment")?;
                self.put_person(&obj, "curator", curator.as_ref())?;
            }
            SchoolEdit::PutVisit(visit) => {
                crate::deadline::parse_iso(&visit.date)
                    .ok_or_else(|| DocError::BadDate(visit.date.clone()))?;
                let obj = self.row_or_new("visits", visit.id.as_str())?;
                let fields = [
                    ("date", &visit.date),
                    ("purpose", &visit.purpose),
                    ("people_met", &visit.people_met),
                    ("findings", &visit.findings),
                    ("recommendations", &visit.recommendations),
                    ("evaluation", &visit.evaluation),
                    ("author_id", &visit.author.id),
                    ("author_name", &visit.author.name),
                ];
                for (key, value) in fields {
                    self.put_str_if_changed(&obj, key, value)?;
                }
                if self.now().bool(&obj, "deleted") || self.doc.get(&obj, "deleted")?.is_none() {
                    self.doc.put(&obj, "deleted", false)?;
                }
            }
            SchoolEdit::DeleteVisit(id) => {
                let obj = self.row("visits", id.as_str())?;
                self.doc.put(&obj, "deleted", true)?;
            }
            SchoolEdit::SetRisk { factor, active, programme, note } => {
                let obj = self.row_or_new("risks", &factor)?;
                self.doc.put(&obj, "active", active)?;
                self.put_str_if_changed(&obj, "programme", &programme.map(|p| p.url()).unwrap_or_default())?;
                self.put_str_if_changed(&obj, "note", &note)?;
            }
            SchoolEdit::AttachDocument { id, kind, title, blob } => {
                check_address(&blob.address)?;
                let is_new = self.now().map(&self.root_map("documents")?, id.as_str()).is_none();
                let obj = self.row_or_new("documents", id.as_str())?;
                if is_new {
                    self.doc.put_object(&obj, "reviews", ObjType::List)?;
                }
                // Written only when it differs: on a filed document, only a
                // curator may change its kind (see `vet_changes`).
                self.put_str_if_changed(&obj, "kind", kind.key())?;
                self.put_str_if_changed(&obj, "title", &title)?;
                let file = self.doc.put_object(&obj, "file", ObjType::Map)?;
                self.doc.put(&file, "address", blob.address)?;
                self.doc.put(&file, "name", blob.name)?;
                self.doc.put(&file, "size", blob.size)?;
                self.doc.put(&file, "mime", blob.mime)?;
            }
            SchoolEdit::Decide { document, decision, remarks, by, by_name } => {
                let obj = self.row("documents", document.as_str())?;
                let now = self.now();
                let file = now.map(&obj, "file").and_then(|f| now.str(&f, "address")).unwrap_or_default();
                let reviews = match self.doc.get(&obj, "reviews")? {
                    Some((Value::Object(ObjType::List), list)) => list,
                    _ => return Err(DocError::NotFound(format!("{document}/reviews"))),
                };
                let entry = self.doc.insert_object(&reviews, self.doc.length(&reviews), ObjType::Map)?;
                self.doc.put(&entry, "decision", decision.key())?;
                self.doc.put(&entry, "remarks", remarks)?;
                self.doc.put(&entry, "by", by)?;
                self.doc.put(&entry, "by_name", by_name)?;
                self.doc.put(&entry, "at", time_ms)?;
                self.doc.put(&entry, "file", file)?;
            }
        }
        Ok(())
    }

    fn put_person(&mut self, obj: &ObjId, role: &str, person: Option<&PersonRef>) -> Result<(), DocError> {
        let (id, name) = person.map_or(("", ""), |p| (p.id.as_str(), p.name.as_str()));
        self.put_str_if_changed(obj, &format!("{role}_id"), id)?;
        self.put_str_if_changed(obj, &format!("{role}_name"), name)
    }

    /// Writes only real changes, so a rewrite of a whole visit on one
    /// device does not override a concurrent edit of another field.
    fn put_str_if_changed(&mut self, obj: &ObjId, key: &str, value: &str) -> Result<(), DocError> {
        if self.doc.get(obj, key)?.is_none() || self.now().str(obj, key).unwrap_or_default() != value {
            self.doc.put(obj, key, value)?;
        }
        Ok(())
    }
}

fn check_address(address: &str) -> Result<(), DocError> {
    match crate::address::BlobAddress::parse(address) {
        Some(_) => Ok(()),
        None => Err(DocError::BadFileAddress(address.to_owned())),
    }
}
