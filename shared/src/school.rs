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

use crate::access::{SchoolPowers, UnitId};
use crate::ids::{DocumentId, RowId};
use crate::typed_doc::{DocError, Fields, Kind, TypedDoc, View, genesis_actor, part_problems};
use automerge::transaction::Transactable;
use automerge::{AutoCommit, AutomergeError, ObjId, ObjType, ROOT, ReadDoc, ScalarValue, Value};
use serde::{Deserialize, Serialize};
use time::Date;

/// Marks a document as a medk school file.
pub const SCHOOL_KIND: &str = "medk-school";
/// The layout version this code writes.
pub const SCHOOL_SCHEMA: u64 = 1;

/// How errors name a school file.
const WHAT: &str = "файлом школы";

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
    /// device ([`TypedDoc::genesis_of`]).
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

/// Where a school is in the project.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Stage {
    #[default]
    Forming,
    CarryingOut,
    Finished,
}

impl Stage {
    pub const ALL: [Stage; 3] = [Stage::Forming, Stage::CarryingOut, Stage::Finished];

    /// The value stored in documents; never change it.
    pub fn key(self) -> &'static str {
        match self {
            Stage::Forming => "forming",
            Stage::CarryingOut => "carrying-out",
            Stage::Finished => "finished",
        }
    }

    pub fn from_key(key: &str) -> Option<Stage> {
        Stage::ALL.into_iter().find(|s| s.key() == key)
    }

    pub fn label_ru(self) -> &'static str {
        match self {
            Stage::Forming => "формирование дорожной карты",
            Stage::CarryingOut => "реализация",
            Stage::Finished => "завершён",
        }
    }
}

/// The kinds of documents a school files for review.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DocumentKind {
    Concept,
    Roadmap,
    MediumTermProgramme,
    Monitoring1,
    Monitoring2,
}

impl DocumentKind {
    pub const ALL: [DocumentKind; 5] = [
        DocumentKind::Concept,
        DocumentKind::Roadmap,
        DocumentKind::MediumTermProgramme,
        DocumentKind::Monitoring1,
        DocumentKind::Monitoring2,
    ];

    /// The value stored in documents; never change it.
    pub fn key(self) -> &'static str {
        match self {
            DocumentKind::Concept => "concept",
            DocumentKind::Roadmap => "roadmap",
            DocumentKind::MediumTermProgramme => "medium-term-programme",
            DocumentKind::Monitoring1 => "monitoring-1",
            DocumentKind::Monitoring2 => "monitoring-2",
        }
    }

    pub fn from_key(key: &str) -> Option<DocumentKind> {
        DocumentKind::ALL.into_iter().find(|k| k.key() == key)
    }

    pub fn label_ru(self) -> &'static str {
        match self {
            DocumentKind::Concept => "Концепция развития",
            DocumentKind::Roadmap => "Дорожная карта",
            DocumentKind::MediumTermProgramme => "Среднесрочная программа развития",
            DocumentKind::Monitoring1 => "Документы мониторинга, 1 этап",
            DocumentKind::Monitoring2 => "Документы мониторинга, 2 этап",
        }
    }
}

/// A curator's (or the school's) decision on a filed document.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Decision {
    Submitted,
    Confirmed,
    Returned,
}

impl Decision {
    pub const ALL: [Decision; 3] = [Decision::Submitted, Decision::Confirmed, Decision::Returned];

    pub fn key(self) -> &'static str {
        match self {
            Decision::Submitted => "submitted",
            Decision::Confirmed => "confirmed",
            Decision::Returned => "returned",
        }
    }

    pub fn from_key(key: &str) -> Option<Decision> {
        Decision::ALL.into_iter().find(|d| d.key() == key)
    }

    pub fn label_ru(self) -> &'static str {
        match self {
            Decision::Submitted => "на проверке",
            Decision::Confirmed => "подтверждён куратором",
            Decision::Returned => "возвращён на доработку",
        }
    }
}

/// A person named in the file: their id and their name as it was written
/// (so the file reads right without the people registry).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonRef {
    pub id: String,
    pub name: String,
}

/// Who serves the school (the participants table of the project).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assignment {
    pub curator: Option<PersonRef>,
    pub coordinator: Option<PersonRef>,
}

/// One curator visit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Visit {
    pub id: RowId,
    /// ISO date (`2021-03-10`).
    pub date: String,
    pub purpose: String,
    pub people_met: String,
    pub findings: String,
    pub recommendations: String,
    pub evaluation: String,
    pub author: PersonRef,
}

impl Visit {
    /// The day of the visit; `None` only for a date another program wrote
    /// badly (this one refuses such dates).
    pub fn day(&self) -> Option<Date> {
        crate::deadline::parse_iso(&self.date)
    }
}

/// One factor of the school's risk profile, as the school set it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Risk {
    /// The factor's id in the catalogue.
    pub factor: String,
    pub active: bool,
    /// The roadmap that is the anti-risk programme for this factor.
    #[serde(with = "document_url")]
    pub programme: Option<DocumentId>,
    pub note: String,
}

/// The school's survey for its risk profile («анкетирование»), marked done.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Survey {
    /// ISO date it was completed.
    pub on: String,
    /// Who marked it.
    pub by: PersonRef,
}

/// An attached file, by content address.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Blob {
    /// `sha256:<64 lowercase hex digits>`.
    pub address: String,
    pub name: String,
    pub size: u64,
    pub mime: String,
}

/// One entry of a document's review log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Review {
    pub decision: Decision,
    pub remarks: String,
    pub by: PersonRef,
    /// When it was decided (the time of the change, Unix ms).
    pub at_ms: i64,
    /// The address of the file that was judged (empty if none was attached).
    pub file: String,
}

/// A filed document with its review log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FiledDocument {
    pub id: RowId,
    pub kind: DocumentKind,
    pub title: String,
    pub file: Option<Blob>,
    /// Every decision, oldest first.
    pub reviews: Vec<Review>,
}

impl FiledDocument {
    /// The current state: the last decision, `None` before any.
    pub fn state(&self) -> Option<Decision> {
        self.reviews.last().map(|r| r.decision)
    }
}

/// A school file as plain data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct School {
    pub unit: UnitId,
    pub stage: Stage,
    pub assignment: Assignment,
    /// The survey, once marked done.
    pub survey: Option<Survey>,
    /// Live visits, by date then id.
    pub visits: Vec<Visit>,
    /// By factor id.
    pub risks: Vec<Risk>,
    /// By id.
    pub documents: Vec<FiledDocument>,
}

impl School {
    /// The school's document of `kind` now: the one decided on last when
    /// two were filed concurrently (the later-filed id on a tie). The
    /// school screen shows it, and monitoring counts it: the two agree.
    pub fn current_document(&self, kind: DocumentKind) -> Option<&FiledDocument> {
        self.documents
            .iter()
            .filter(|d| d.kind == kind)
            .max_by_key(|d| (d.reviews.last().map_or(i64::MIN, |r| r.at_ms), d.id.as_str()))
    }

    /// Where the school's document of `kind` stands ([`Self::current_document`]):
    /// filed and not yet judged counts as on review; `None` when none is filed.
    pub fn document_state(&self, kind: DocumentKind) -> Option<Decision> {
        self.current_document(kind).map(|d| d.state().unwrap_or(Decision::Submitted))
    }

    /// Whether the school's document of `kind` is confirmed now.
    pub fn confirmed(&self, kind: DocumentKind) -> bool {
        self.document_state(kind) == Some(Decision::Confirmed)
    }

    /// Whether the survey was completed on or before `day`.
    pub fn surveyed_by(&self, day: Date) -> bool {
        self.survey.as_ref().and_then(|s| crate::deadline::parse_iso(&s.on)).is_some_and(|on| on <= day)
    }

    /// The day of the last visit on or before `day`.
    pub fn last_visit_by(&self, day: Date) -> Option<Date> {
        self.visits.iter().filter_map(Visit::day).filter(|d| *d <= day).max()
    }
}

/// Document ids cross the wire as their `automerge:` URL.
mod document_url {
    use crate::ids::DocumentId;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(id: &Option<DocumentId>, s: S) -> Result<S::Ok, S::Error> {
        id.map(|id| id.url()).serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DocumentId>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|url| DocumentId::parse(&url).map_err(serde::de::Error::custom))
            .transpose()
    }
}

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

fn read_school(doc: View<'_>) -> School {
    // The root in one pass too: the monitoring dashboard reads five hundred
    // files at a past date, where each read works out the date's clock.
    let root = doc.fields(&ROOT);
    let rows_of = |key: &str| root.object(key, ObjType::Map).map(|map| doc.rows(&map)).unwrap_or_default();
    let mut visits: Vec<Visit> = rows_of("visits")
        .into_iter()
        .filter_map(|(id, obj)| {
            let fields = doc.fields(&obj);
            (!fields.bool("deleted")).then(|| read_visit(id, &fields))
        })
        .collect();
    visits.sort_by(|a, b| a.date.cmp(&b.date).then_with(|| a.id.cmp(&b.id)));
    School {
        unit: root.str("school"),
        stage: Stage::from_key(&root.str("stage")).unwrap_or_default(),
        assignment: root
            .object("assignment", ObjType::Map)
            .map(|obj| read_assignment(&doc.fields(&obj)))
            .unwrap_or_default(),
        survey: read_survey(&root),
        visits,
        risks: rows_of("risks")
            .into_iter()
            .map(|(factor, obj)| read_risk(factor, &doc.fields(&obj)))
            .collect(),
        documents: rows_of("documents")
            .into_iter()
            .filter_map(|(id, obj)| read_document(doc, id, &obj))
            .collect(),
    }
}

/// From the root's fields.
fn read_survey(root: &Fields) -> Option<Survey> {
    let on = root.str("survey_on");
    (!on.is_empty())
        .then(|| Survey { on, by: PersonRef { id: root.str("survey_by"), name: root.str("survey_by_name") } })
}

fn read_assignment(fields: &Fields) -> Assignment {
    let person = |role: &str| {
        let id = fields.str(&format!("{role}_id"));
        (!id.is_empty()).then(|| PersonRef { id, name: fields.str(&format!("{role}_name")) })
    };
    Assignment { curator: person("curator"), coordinator: person("coordinator") }
}

fn read_visit(id: String, fields: &Fields) -> Visit {
    let s = |key: &str| fields.str(key);
    Visit {
        id: RowId::new(id),
        date: s("date"),
        purpose: s("purpose"),
        people_met: s("people_met"),
        findings: s("findings"),
        recommendations: s("recommendations"),
        evaluation: s("evaluation"),
        author: PersonRef { id: s("author_id"), name: s("author_name") },
    }
}

fn read_risk(factor: String, fields: &Fields) -> Risk {
    Risk {
        factor,
        active: fields.bool("active"),
        programme: DocumentId::parse(&fields.str("programme")).ok(),
        note: fields.str("note"),
    }
}

/// `None` for a document of a kind this version does not know.
fn read_document(doc: View<'_>, id: String, obj: &ObjId) -> Option<FiledDocument> {
    let fields = doc.fields(obj);
    let kind = DocumentKind::from_key(&fields.str("kind"))?;
    let file = fields.object("file", ObjType::Map).map(|f| read_blob(doc, &f));
    let mut reviews: Vec<Review> = match fields.object("reviews", ObjType::List) {
        Some(list) => doc
            .list_range(&list)
            .filter(|item| matches!(item.value, automerge::ValueRef::Object(ObjType::Map)))
            .filter_map(|item| read_review(&doc.fields(&item.id())))
            .collect(),
        None => Vec::new(),
    };
    reviews.sort_by(|a, b| {
        (a.at_ms, &a.by.id, a.decision, &a.remarks, &a.file)
            .cmp(&(b.at_ms, &b.by.id, b.decision, &b.remarks, &b.file))
    });
    Some(FiledDocument { id: RowId::new(id), kind, title: fields.str("title"), file, reviews })
}

fn read_blob(doc: View<'_>, obj: &ObjId) -> Blob {
    let f = doc.fields(obj);
    Blob {
        address: f.str("address"),
        name: f.str("name"),
        size: f.i64("size").and_then(|n| u64::try_from(n).ok()).unwrap_or(0),
        mime: f.str("mime"),
    }
}

fn read_review(fields: &Fields) -> Option<Review> {
    Some(Review {
        decision: Decision::from_key(&fields.str("decision"))?,
        remarks: fields.str("remarks"),
        by: PersonRef { id: fields.str("by"), name: fields.str("by_name") },
        at_ms: fields.i64("at").unwrap_or(0),
        file: fields.str("file"),
    })
}

impl SchoolDoc {
    /// Every file a filed document's review log names, each as it was
    /// attached (its name, size and type then), oldest entry first, per
    /// document: how the log names an earlier version and offers it for
    /// download. Read from history: an entry is written by a change that
    /// saw the file it names, so the document's file as of that change is
    /// the one (an entry whose change saw another file, which this app
    /// never writes, is left without one).
    pub fn logged_files(&self) -> Vec<(RowId, Vec<Blob>)> {
        let now = self.now();
        let Some(documents) = now.map(&ROOT, "documents") else { return Vec::new() };
        let mut out = Vec::new();
        for id in now.keys(&documents) {
            let Some(document) = now.map(&documents, &id) else { continue };
            let Some(reviews) = now.list(&document, "reviews") else { continue };
            let mut files: Vec<Blob> = Vec::new();
            for item in now.list_range(&reviews) {
                let entry = item.id();
                let address = now.str(&entry, "file").unwrap_or_default();
                if address.is_empty() || files.iter().any(|f| f.address == address) {
                    continue;
                }
                let Some(made_in) = self.doc.hash_for_opid(&entry) else { continue };
                let heads = [made_in];
                let then = View::at(&self.doc, &heads);
                if let Some(file) = then.map(&document, "file").map(|f| read_blob(then, &f))
                    && file.address == address
                {
                    files.push(file);
                }
            }
            if !files.is_empty() {
                out.push((RowId::new(id), files));
            }
        }
        out
    }
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

// ---- what a writer may change ----------------------------------------------

/// Who sent changes to a school file, as the relay knows them.
#[derive(Clone, Copy, Debug)]
pub struct Sender<'a> {
    /// Their person id.
    pub id: &'a str,
    pub powers: SchoolPowers,
    /// The relay's clock, Unix ms.
    pub now_ms: i64,
}

/// How far ahead of the relay's clock a submission may be dated. A date far
/// ahead would keep it last in the review log (which is ordered by date)
/// whatever the curator decides meanwhile; a week is room for school
/// devices whose clocks are set wrong, which must not lose their work.
const SUBMITTED_AHEAD_MS: i64 = 7 * 24 * 60 * 60 * 1000;

/// The parts of the root only the file's creation (its genesis change)
/// writes: what the file is, and the maps every edit writes into.
const FIXED_ROOT_KEYS: [&str; 7] = ["kind", "schema", "school", "assignment", "visits", "risks", "documents"];

/// The id of the curator a school file names («Участники»), read from a
/// document as the relay holds it: the one assignment a curator's rights
/// follow ([`crate::access::Org::schools_following`]).
pub fn assigned_curator(doc: &automerge::Automerge) -> Option<String> {
    let doc = View::now(doc);
    doc.str(&doc.map(&ROOT, "assignment")?, "curator_id").filter(|id| !id.is_empty())
}

/// Checks `changes` that `sender` sent for the school file of `school`:
/// `before` is the relay's copy without them, `after` with them. `Err`
/// says what was forbidden.
///
/// Everyone who writes the file may set the stage, the survey and the risk
/// profile, file a new document, and attach a new file to one together
/// with submitting it again (an entry «submitted», signed by them, dated
/// by the change and not ahead of the relay's clock). Only with
/// [`SchoolPowers::curate`] may a change record or edit a visit, confirm or
/// return a document, touch an entry already in a review log, move a
/// document to another kind or replace or remove one; only with
/// [`SchoolPowers::assign`] may it change who serves the school. Nobody
/// rewrites what the file is or replaces its parts, except the file's
/// genesis change ([`SchoolDoc::genesis`]), which is the same everywhere.
pub fn vet_changes(
    school: &str,
    before: &automerge::Automerge,
    after: &automerge::Automerge,
    changes: &[automerge::Change],
    sender: &Sender<'_>,
) -> Result<(), String> {
    use automerge::legacy::{Key, ObjectId, OpType};
    use std::collections::BTreeSet;
    let powers = sender.powers;
    if powers.curate && powers.assign {
        return Ok(());
    }
    let genesis = SchoolDoc::genesis(school).doc.get_heads();
    let before = View::now(before);
    let filed: BTreeSet<String> = match before.map(&ROOT, "documents") {
        Some(map) => before.keys(&map).collect(),
        None => BTreeSet::new(),
    };
    let paths = object_paths(after);
    for change in changes {
        if genesis.contains(&change.hash()) {
            continue;
        }
        let expanded = change.decode();
        let start = expanded.start_op.get();
        let end = start.saturating_add(expanded.operations.len() as u64);
        // Documents given a new file, and those submitted again, by this change.
        let (mut new_file, mut resubmitted) = (BTreeSet::new(), BTreeSet::new());
        for op in &expanded.operations {
            // Where the op writes: the path of its object, then its key.
            let (path, made_here) = match &op.obj {
                ObjectId::Root => (Some(&[][..]), false),
                ObjectId::Id(id) => (
                    paths.get(&(id.0, id.1.clone())).map(Vec::as_slice),
                    id.1 == expanded.actor_id && (start..end).contains(&id.0),
                ),
            };
            // Not an object the file shows (deleted, or hidden by a
            // concurrent write): nothing this op could change on screen.
            let Some(path) = path else { continue };
            let key = match &op.key {
                Key::Map(key) => Some(key.as_str()),
                Key::Seq(_) => None,
            };
            let path: Vec<&str> = path.iter().map(String::as_str).collect();
            let appends_entry = op.insert && matches!(op.action, OpType::Make(ObjType::Map));
            let put = match &op.action {
                OpType::Put(value) => Some(value),
                _ => None,
            };
            let forbidden = match (path.as_slice(), key) {
                ([], Some(key)) if FIXED_ROOT_KEYS.contains(&key) => {
                    Some("rewrites what the file is or replaces one of its parts")
                }
                (["assignment", ..], _) if !powers.assign => Some("changes who serves the school"),
                (["visits", ..], _) if !powers.curate => Some("records or changes a curator visit"),
                _ if powers.curate => None,
                (["documents"], Some(id)) if filed.contains(id) => {
                    Some("removes or replaces a filed document")
                }
                (["documents", _], Some("reviews")) if !made_here => Some("replaces a document's review log"),
                (["documents", _], Some("kind")) if !made_here => {
                    Some("moves a filed document to another kind")
                }
                (["documents", id], Some("file")) | (["documents", id, "file"], _) => {
                    new_file.insert(id.to_string());
                    None
                }
                (["documents", _, "reviews"], _) if !appends_entry => Some("removes or rewrites a decision"),
                (["documents", _, "reviews", _], _) if !made_here => Some("rewrites a decision"),
                (["documents", id, "reviews", _], Some("decision")) => match put {
                    Some(ScalarValue::Str(v)) if v.as_str() == Decision::Submitted.key() => {
                        resubmitted.insert(id.to_string());
                        None
                    }
                    _ => Some("confirms or returns a document"),
                },
                (["documents", _, "reviews", _], Some("by")) => match put {
                    Some(ScalarValue::Str(v)) if v.as_str() == sender.id => None,
                    _ => Some("signs a decision with another person's name"),
                },
                (["documents", _, "reviews", _], Some("at")) => match put {
                    Some(ScalarValue::Int(at))
                        if *at == change.timestamp() && *at <= sender.now_ms + SUBMITTED_AHEAD_MS =>
                    {
                        None
                    }
                    _ => Some("dates a decision otherwise than its change, or ahead of the relay's clock"),
                },
                _ => None,
            };
            if let Some(what) = forbidden {
                return Err(format!("change {} {what}, which its author may not", change.hash()));
            }
        }
        if let Some(id) = new_file.difference(&resubmitted).next() {
            return Err(format!(
                "change {} gives document {id} a new file without submitting it again, which its author may not",
                change.hash()
            ));
        }
    }
    Ok(())
}

/// Where every object `doc` shows (but the root) sits, by its op id: its
/// path of map keys from the root, with `#` for a list position.
type ObjectPaths = std::collections::HashMap<(u64, automerge::ActorId), Vec<String>>;

/// Walks `doc` (a school file is small) for [`vet_changes`]. Written by hand
/// because Automerge's `parents` trips a debug assertion on a list element
/// deleted in the same change.
fn object_paths(doc: &automerge::Automerge) -> ObjectPaths {
    let mut objects = std::collections::HashMap::new();
    let mut stack: Vec<(ObjId, Vec<String>)> = vec![(ROOT, Vec::new())];
    while let Some((obj, path)) = stack.pop() {
        let children: Vec<(String, ObjId)> = match doc.object_type(&obj) {
            Ok(ObjType::Map | ObjType::Table) => doc
                .map_range(&obj, ..)
                .filter(|item| matches!(item.value, automerge::ValueRef::Object(_)))
                .map(|item| (item.key.to_string(), item.id()))
                .collect(),
            Ok(ObjType::List) => doc
                .list_range(&obj, ..)
                .filter(|item| matches!(item.value, automerge::ValueRef::Object(_)))
                .map(|item| ("#".to_owned(), item.id()))
                .collect(),
            _ => Vec::new(),
        };
        for (key, child) in children {
            let mut child_path = path.clone();
            child_path.push(key);
            if let ObjId::Id(counter, actor, _) = &child {
                objects.insert((*counter, actor.clone()), child_path.clone());
            }
            stack.push((child, child_path));
        }
    }
    objects
}
