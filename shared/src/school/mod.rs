//! The school file: everything about one school's work around its roadmaps
//! that is not the roadmap itself (who serves it, the curator's visits, its
//! risk profile, the documents it files and the curator's decisions on
//! them), as its own Automerge document, synced like a roadmap.
//!
//! Why a document per school and not fields in the roadmap: a school has
//! several roadmaps over the years (and an anti-risk programme per factor),
//! while assignments, visits and the review log belong to the school; and a
//! curator's tablet syncs only the files of their own schools.
//!
//! Layout (schema 1):
//! ```text
//! ROOT { kind: "medk-school", schema: 1, school: str, stage: str,
//!   survey_on: str (ISO, "" or absent: not done), survey_by, survey_by_name: str,
//!   assignment: { curator_id, curator_name, coordinator_id, coordinator_name: str },
//!   visits:    { <id>: { date: str (ISO), purpose, people_met, findings,
//!                        recommendations, evaluation, author_id, author_name: str,
//!                        deleted: bool } },
//!   risks:     { <factor id>: { active: bool, programme: str (automerge URL or ""), note: str } },
//!   documents: { <id>: { kind: str, title: str,
//!                        file: { address: "sha256:<hex>", name: str, size: uint, mime: str },
//!                        reviews: [ { decision: str, remarks: str, by: str, by_name: str,
//!                                     at: int (ms), file: str (address reviewed) } ] } } }
//! ```
//! Decisions:
//! - Every map a later edit writes into (`assignment`, `visits`, `risks`,
//!   `documents`, a document's `reviews`) is created with its parent, never
//!   lazily: two replicas creating the same object concurrently would
//!   conflict and one side's content would be hidden.
//! - The survey («анкетирование» for the risk profile) is three strings on
//!   the root, written when it is first marked (files made before it have
//!   none): plain values, so a concurrent second mark settles on one.
//! - Free text is stored as plain strings, not Automerge Text: a visit is
//!   written by one curator, a remark once by its reviewer; concurrent edits
//!   of one field resolve to one of the values, never a mix.
//! - The review log is an append-only list: two decisions made concurrently
//!   (e.g. offline) are both kept. The log is read ordered by time, then by
//!   who, then by content, so every replica shows the same order; a
//!   document's state is its last decision.
//! - A decision records the address of the file it judged, so a
//!   confirmation stays tied to the version that was confirmed even after a
//!   new file is attached.
//! - Files themselves are not in the document: only their content address
//!   (the bytes live in the blob store).
//! - A school file that is not one, or was written by a newer version, is
//!   refused with an error, never a panic.
//! - Who may record visits, confirm documents and assign people is not
//!   only the app's buttons: the relay checks every change a writer sends
//!   ([`vet_changes`]) against their
//!   [`SchoolPowers`](crate::access::SchoolPowers) and takes nothing
//!   from a device that breaks them.
//!
//! One concept a file: `model` (the file as plain data), `document` (the
//! Automerge document, its id and first state), `read` (the reader, now
//! and at past heads), `write` (the one writer), `vetting` (what the relay
//! lets a writer change). Storing, syncing and reading at a past moment are
//! those of every typed document ([`crate::typed_doc`]).

mod document;
mod model;
mod read;
mod vetting;
mod write;

pub use document::{SCHOOL_KIND, SCHOOL_SCHEMA, SchoolDoc, school_file_id};
pub use model::{
    Assignment, Blob, Decision, DocumentKind, FiledDocument, PersonRef, Review, Risk, School, Stage, Survey,
    Visit,
};
pub use vetting::{Breaks, Forbidden, Sender, assigned_curator, vet_changes};
pub use write::SchoolEdit;
