//! What a person does to a school file (file a document for review, judge
//! it, name or drop a curator), turned into [`SchoolEdit`]s against the
//! file as it is now, beside [`super`]'s actions on roadmaps.
//!
//! The school screen, «Люди и доступ» and the server's own assignment
//! paths call these and hand the edits to [`crate::school::SchoolDoc::apply`].

use crate::ids::RowId;
use crate::school::{Blob, Decision, DocumentKind, PersonRef, School, SchoolEdit};

/// Files `blob` as the school's document of `kind` and puts it up for
/// review. A kind already filed gets a new version of the same document
/// (its review log goes on); otherwise the document is new, as `new_id`.
pub fn file_document(
    school: &School,
    kind: DocumentKind,
    blob: Blob,
    by: &PersonRef,
    new_id: RowId,
) -> Vec<SchoolEdit> {
    let id = school.current_document(kind).map_or(new_id, |d| d.id.clone());
    vec![
        SchoolEdit::AttachDocument { id: id.clone(), kind, title: kind.label_ru().to_owned(), blob },
        decide(id, Decision::Submitted, String::new(), by),
    ]
}

/// A decision on a filed document, with the reviewer's remarks.
pub fn decide(document: RowId, decision: Decision, remarks: String, by: &PersonRef) -> SchoolEdit {
    SchoolEdit::Decide { document, decision, remarks, by: by.id.clone(), by_name: by.name.clone() }
}

/// The edit that makes `curator` serve the school (`serves`) or stop
/// serving it: naming them, or clearing the curator only if it is them (a
/// school another curator took over stays theirs). `None` when the file
/// already says so.
pub fn name_curator(school: &School, curator: &PersonRef, serves: bool) -> Option<SchoolEdit> {
    let current = school.assignment.curator.as_ref();
    let named = current.is_some_and(|c| c.id == curator.id);
    match (serves, named) {
        (true, true) if current.is_some_and(|c| c.name == curator.name) => None,
        (true, _) => Some(SchoolEdit::SetCurator(Some(curator.clone()))),
        (false, true) => Some(SchoolEdit::SetCurator(None)),
        (false, false) => None,
    }
}
