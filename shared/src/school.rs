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
//!   ([`vet_changes`]) against their [`SchoolPowers`] and takes nothing
//!   from a device that breaks them.

use crate::access::{SchoolPowers, UnitId};
use crate::history::heads_at;
use crate::ids::{DocumentId, RowId};
use automerge::transaction::{CommitOptions, Transactable};
use automerge::{AutoCommit, AutomergeError, ChangeHash, ObjId, ObjType, ROOT, ReadDoc, ScalarValue, Value};
use serde::{Deserialize, Serialize};
use time::Date;

/// Marks a document as a medk school file.
pub const SCHOOL_KIND: &str = "medk-school";
/// The layout version this code writes.
pub const SCHOOL_SCHEMA: u64 = 1;

/// Why a school file or the catalogue could not be opened or changed.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// The bytes are not an Automerge document (the detail is technical).
    #[error("повреждённые данные: файл не читается как документ МЭДК")]
    Corrupt(String),
    #[error("документ не является {0}")]
    WrongKind(&'static str),
    #[error("документ создан более новой версией приложения (схема {0}); обновите приложение")]
    NewerSchema(u64),
    #[error("не найдено: {0}")]
    NotFound(String),
    #[error("неверный адрес файла «{0}»: ожидается sha256:<64 шестнадцатеричные цифры>")]
    BadFileAddress(String),
    #[error("неверная дата «{0}»: ожидается ГГГГ-ММ-ДД")]
    BadDate(String),
    /// Automerge refused an operation (its message is technical).
    #[error("внутренняя ошибка документа")]
    Automerge(#[from] AutomergeError),
}

impl FileError {
    /// The technical detail behind the message, if any (not translated).
    pub fn detail(&self) -> Option<String> {
        match self {
            FileError::Corrupt(d) => Some(d.clone()),
            FileError::Automerge(e) => Some(e.to_string()),
            _ => None,
        }
    }
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

/// An Automerge document known to hold a school file of the current schema.
#[derive(Debug)]
pub struct SchoolDoc {
    doc: AutoCommit,
}

/// The storage and sync methods every typed file shares, from `load` to
/// `merge`; the type itself provides `from_automerge`, which checks the
/// layout. (A macro rather than a trait, so callers need no trait import.)
macro_rules! automerge_file {
    ($file:ident) => {
        impl $file {
            /// Loads saved bytes (a full save, optionally followed by
            /// incremental chunks) and checks the layout.
            pub fn load(bytes: &[u8]) -> Result<Self, $crate::school::FileError> {
                let doc = ::automerge::AutoCommit::load(bytes)
                    .map_err(|e| $crate::school::FileError::Corrupt(e.to_string()))?;
                Self::from_automerge(doc)
            }

            /// Applies saved changes from storage or another replica.
            pub fn load_incremental(&mut self, bytes: &[u8]) -> Result<(), $crate::school::FileError> {
                self.doc
                    .load_incremental(bytes)
                    .map_err(|e| $crate::school::FileError::Corrupt(e.to_string()))?;
                Ok(())
            }

            /// The underlying document, for sync and storage.
            pub fn automerge(&mut self) -> &mut ::automerge::AutoCommit {
                &mut self.doc
            }

            pub fn save(&mut self) -> Vec<u8> {
                self.doc.save()
            }

            /// The changes since the last save or incremental save.
            pub fn save_incremental(&mut self) -> Vec<u8> {
                self.doc.save_incremental()
            }

            /// An independent replica (new actor), e.g. a second device.
            pub fn fork(&mut self) -> Self {
                Self { doc: self.doc.fork() }
            }

            /// Merges everything `other` has that this replica lacks.
            pub fn merge(&mut self, other: &mut $file) -> Result<(), $crate::school::FileError> {
                self.doc.merge(&mut other.doc)?;
                Ok(())
            }
        }
    };
}
pub(crate) use automerge_file;

automerge_file!(SchoolDoc);

/// The document id of a school's file, derived from the school's unit id:
/// the app and the relay find it without a registry.
pub fn school_file_id(school: &str) -> DocumentId {
    DocumentId::derived(SCHOOL_KIND, school)
}

/// The actor of the creating change of a well-known document: the same on
/// every device, so that the change is too.
pub(crate) fn genesis_actor(kind: &str, name: &str) -> automerge::ActorId {
    automerge::ActorId::from(DocumentId::derived(&format!("{kind}/genesis"), name).as_bytes().as_slice())
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
        let mut doc = AutoCommit::new().with_actor(Self::genesis_actor(school));
        init_school(&mut doc, school, Stage::Forming).expect("writing to a fresh document cannot fail");
        doc.commit_with(CommitOptions::default().with_time(0).with_message("create school file"));
        let mut file = Self { doc };
        // Later changes on this replica must not reuse the genesis actor.
        file.doc.set_actor(automerge::ActorId::random());
        file
    }

    /// A new school file. `time_ms` is recorded in the creating change; 0
    /// makes it count at every past moment (see [`crate::history`]).
    pub fn create(school: &str, stage: Stage, time_ms: i64) -> Self {
        let mut doc = AutoCommit::new();
        init_school(&mut doc, school, stage).expect("writing to a fresh document cannot fail");
        doc.commit_with(CommitOptions::default().with_time(time_ms).with_message("create school file"));
        Self { doc }
    }

    /// Wraps a document that came from elsewhere (storage, sync).
    pub fn from_automerge(doc: AutoCommit) -> Result<Self, FileError> {
        check_school(View::now(&doc))?;
        Ok(Self { doc })
    }

    // ---- reading -------------------------------------------------------

    pub fn read(&self) -> School {
        read_school(View::now(&self.doc))
    }

    /// Every file a filed document's review log names, each as it was
    /// attached (its name, size and type then), oldest entry first, per
    /// document: how the log names an earlier version and offers it for
    /// download. Read from history: an entry is written by a change that
    /// saw the file it names, so the document's file as of that change is
    /// the one (an entry whose change saw another file, which this app
    /// never writes, is left without one).
    pub fn logged_files(&self) -> Vec<(RowId, Vec<Blob>)> {
        let now = View::now(&self.doc);
        let Some(documents) = map_obj(now, &ROOT, "documents") else { return Vec::new() };
        let mut out = Vec::new();
        for id in now.keys(&documents) {
            let Some(document) = map_obj(now, &documents, &id) else { continue };
            let reviews = match now.get(&document, "reviews") {
                Ok(Some((Value::Object(ObjType::List), list))) => list,
                _ => continue,
            };
            let mut files: Vec<Blob> = Vec::new();
            for item in now.list_range(&reviews) {
                let entry = item.id();
                let address = str_at(now, &entry, "file");
                if address.is_empty() || files.iter().any(|f| f.address == address) {
                    continue;
                }
                let Some(made_in) = self.doc.hash_for_opid(&entry) else { continue };
                let heads = [made_in];
                let then = View::at(&self.doc, &heads);
                if let Some(file) = map_obj(then, &document, "file").map(|f| read_blob(then, &f))
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

    /// What of the file is missing or not of its type, so reads as empty
    /// (another program wrote it); empty for every file this code writes.
    pub fn problems(&self) -> Vec<String> {
        part_problems(View::now(&self.doc), &SCHOOL_PARTS)
    }
}

/// Checks that `doc` says it is a school file of a schema this code knows.
/// Its parts are not required: a missing or mistyped one reads as empty
/// ([`SchoolDoc::problems`] names it).
fn check_school(doc: View<'_>) -> Result<(), FileError> {
    check_kind(doc, SCHOOL_KIND, SCHOOL_SCHEMA, "файлом школы")
}

/// The maps a school file holds, and whether each holds rows (maps by id).
const SCHOOL_PARTS: [(&str, bool); 4] =
    [("assignment", false), ("visits", true), ("risks", true), ("documents", true)];

fn read_school(doc: View<'_>) -> School {
    // The root in one pass too: the monitoring dashboard reads five hundred
    // files at a past date, where each read works out the date's clock.
    let root = Fields::of(doc, &ROOT);
    let rows_of = |key: &str| root.object(key, ObjType::Map).map(|map| rows(doc, &map)).unwrap_or_default();
    let mut visits: Vec<Visit> = rows_of("visits")
        .into_iter()
        .filter_map(|(id, obj)| {
            let fields = Fields::of(doc, &obj);
            (!fields.bool("deleted")).then(|| read_visit(id, &fields))
        })
        .collect();
    visits.sort_by(|a, b| a.date.cmp(&b.date).then_with(|| a.id.cmp(&b.id)));
    School {
        unit: root.str("school"),
        stage: Stage::from_key(&root.str("stage")).unwrap_or_default(),
        assignment: root
            .object("assignment", ObjType::Map)
            .map(|obj| read_assignment(&Fields::of(doc, &obj)))
            .unwrap_or_default(),
        survey: read_survey(&root),
        visits,
        risks: rows_of("risks")
            .into_iter()
            .map(|(factor, obj)| read_risk(factor, &Fields::of(doc, &obj)))
            .collect(),
        documents: rows_of("documents")
            .into_iter()
            .filter_map(|(id, obj)| read_document(doc, id, &obj))
            .collect(),
    }
}

impl SchoolDoc {
    // ---- writing -------------------------------------------------------

    /// Applies the edits of one user action as one Automerge change stamped
    /// `time_ms` (also the time of any decision in it). All or nothing.
    pub fn apply(&mut self, edits: Vec<SchoolEdit>, time_ms: i64, message: &str) -> Result<(), FileError> {
        for edit in edits {
            if let Err(e) = self.apply_one(edit, time_ms) {
                self.doc.rollback();
                return Err(e);
            }
        }
        self.doc.commit_with(CommitOptions::default().with_time(time_ms).with_message(message));
        Ok(())
    }

    fn root_map(&self, key: &str) -> Result<ObjId, FileError> {
        map_obj(View::now(&self.doc), &ROOT, key).ok_or(FileError::WrongKind("файлом школы"))
    }

    fn row(&self, map: &str, id: &str) -> Result<ObjId, FileError> {
        map_obj(View::now(&self.doc), &self.root_map(map)?, id)
            .ok_or_else(|| FileError::NotFound(id.to_owned()))
    }

    /// The row `id` of `map`, created empty when absent.
    fn row_or_new(&mut self, map: &str, id: &str) -> Result<ObjId, FileError> {
        let parent = self.root_map(map)?;
        match map_obj(View::now(&self.doc), &parent, id) {
            Some(obj) => Ok(obj),
            None => Ok(self.doc.put_object(&parent, id, ObjType::Map)?),
        }
    }

    fn apply_one(&mut self, edit: SchoolEdit, time_ms: i64) -> Result<(), FileError> {
        match edit {
            SchoolEdit::SetStage(stage) => self.doc.put(ROOT, "stage", stage.key())?,
            SchoolEdit::SetSurvey { on, by } => {
                let on = on.unwrap_or_default();
                if !on.is_empty() {
                    crate::deadline::parse_iso(&on).ok_or_else(|| FileError::BadDate(on.clone()))?;
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
                    .ok_or_else(|| FileError::BadDate(visit.date.clone()))?;
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
                if bool_at(View::now(&self.doc), &obj, "deleted") || self.doc.get(&obj, "deleted")?.is_none()
                {
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
                let is_new =
                    map_obj(View::now(&self.doc), &self.root_map("documents")?, id.as_str()).is_none();
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
                let file = map_obj(View::now(&self.doc), &obj, "file")
                    .map(|f| str_at(View::now(&self.doc), &f, "address"))
                    .unwrap_or_default();
                let reviews = match self.doc.get(&obj, "reviews")? {
                    Some((Value::Object(ObjType::List), list)) => list,
                    _ => return Err(FileError::NotFound(format!("{document}/reviews"))),
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

    fn put_person(&mut self, obj: &ObjId, role: &str, person: Option<&PersonRef>) -> Result<(), FileError> {
        let (id, name) = person.map_or(("", ""), |p| (p.id.as_str(), p.name.as_str()));
        self.put_str_if_changed(obj, &format!("{role}_id"), id)?;
        self.put_str_if_changed(obj, &format!("{role}_name"), name)
    }

    /// Writes only real changes, so a rewrite of a whole visit on one
    /// device does not override a concurrent edit of another field.
    fn put_str_if_changed(&mut self, obj: &ObjId, key: &str, value: &str) -> Result<(), FileError> {
        if self.doc.get(obj, key)?.is_none() || str_at(View::now(&self.doc), obj, key) != value {
            self.doc.put(obj, key, value)?;
        }
        Ok(())
    }
}

/// The school file as it stood at `until_ms` (see [`crate::history`]), or
/// `None` if it did not exist yet.
pub fn school_at(doc: &mut SchoolDoc, until_ms: i64) -> Option<School> {
    let heads = heads_at(doc.automerge(), until_ms);
    school_at_heads(doc, &heads)
}

/// [`school_at`] for heads already found by [`heads_at`].
pub fn school_at_heads(doc: &mut SchoolDoc, heads: &[ChangeHash]) -> Option<School> {
    if heads.is_empty() {
        None
    } else if heads == doc.automerge().get_heads() {
        Some(doc.read())
    } else {
        let then = View::at(&doc.doc, heads);
        check_school(then).ok().map(|()| read_school(then))
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
    let Ok(Some((Value::Object(ObjType::Map), assignment))) = doc.get(ROOT, "assignment") else {
        return None;
    };
    match doc.get(&assignment, "curator_id") {
        Ok(Some((Value::Scalar(s), _))) => match s.as_ref() {
            ScalarValue::Str(id) if !id.is_empty() => Some(id.to_string()),
            _ => None,
        },
        _ => None,
    }
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
    let filed: BTreeSet<String> = match before.get(ROOT, "documents") {
        Ok(Some((Value::Object(ObjType::Map), map))) => {
            before.map_range(&map, ..).map(|i| i.key.to_string()).collect()
        }
        _ => BTreeSet::new(),
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

/// What part of a document's history counts at a moment.
pub(crate) enum Past {
    /// Nothing counts yet.
    Nothing,
    /// Everything counts: read the document itself.
    Now,
    /// The heads of what counts: read there, in place ([`View::at`]).
    Then(Vec<ChangeHash>),
}

/// Splits any typed document's history at `until_ms`, by
/// [`crate::history::heads_at`].
pub(crate) fn past(doc: &mut AutoCommit, until_ms: i64) -> Past {
    let heads = heads_at(doc, until_ms);
    if heads.is_empty() {
        Past::Nothing
    } else if heads == doc.get_heads() {
        Past::Now
    } else {
        Past::Then(heads)
    }
}

/// A typed file's document, read as it is now or as it was at some past
/// heads, in place (Automerge's `*_at` reads; no copy of the history). The
/// readers below all go through it, so the present and the past are read
/// by the same rules.
#[derive(Clone, Copy)]
pub(crate) struct View<'a> {
    doc: &'a AutoCommit,
    at: Option<&'a [ChangeHash]>,
}

impl<'a> View<'a> {
    pub(crate) fn now(doc: &'a AutoCommit) -> Self {
        View { doc, at: None }
    }

    pub(crate) fn at(doc: &'a AutoCommit, heads: &'a [ChangeHash]) -> Self {
        View { doc, at: Some(heads) }
    }

    fn get<P: Into<automerge::Prop>>(
        self,
        obj: &ObjId,
        prop: P,
    ) -> Result<Option<(Value<'a>, ObjId)>, AutomergeError> {
        match self.at {
            None => self.doc.get(obj, prop),
            Some(heads) => self.doc.get_at(obj, prop, heads),
        }
    }

    fn map_range(self, obj: &ObjId) -> automerge::iter::MapRange<'a> {
        match self.at {
            None => self.doc.map_range(obj, ..),
            Some(heads) => self.doc.map_range_at(obj, .., heads),
        }
    }

    fn list_range(self, obj: &ObjId) -> automerge::iter::ListRange<'a> {
        match self.at {
            None => self.doc.list_range(obj, ..),
            Some(heads) => self.doc.list_range_at(obj, .., heads),
        }
    }

    pub(crate) fn keys(self, obj: &ObjId) -> automerge::iter::Keys<'a> {
        match self.at {
            None => self.doc.keys(obj),
            Some(heads) => self.doc.keys_at(obj, heads),
        }
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
    let fields = Fields::of(doc, obj);
    let kind = DocumentKind::from_key(&fields.str("kind"))?;
    let file = fields.object("file", ObjType::Map).map(|f| read_blob(doc, &f));
    let mut reviews: Vec<Review> = match fields.object("reviews", ObjType::List) {
        Some(list) => doc
            .list_range(&list)
            .filter(|item| matches!(item.value, automerge::ValueRef::Object(ObjType::Map)))
            .filter_map(|item| read_review(&Fields::of(doc, &item.id())))
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
    let f = Fields::of(doc, obj);
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

/// A map's entries, read in one pass over it: a `get` per key is a seek
/// each, several times slower on a file with many visits.
struct Fields(Vec<(String, Value<'static>, Option<ObjId>)>);

impl Fields {
    fn of(doc: View<'_>, obj: &ObjId) -> Self {
        let entries = doc.map_range(obj).map(|item| {
            let id = matches!(item.value, automerge::ValueRef::Object(_)).then(|| item.id());
            (item.key.to_string(), item.value.into_value(), id)
        });
        Fields(entries.collect())
    }

    fn scalar(&self, key: &str) -> Option<&ScalarValue> {
        match self.0.iter().find(|(k, ..)| k == key) {
            Some((_, Value::Scalar(s), _)) => Some(s.as_ref()),
            _ => None,
        }
    }

    fn str(&self, key: &str) -> String {
        as_string(self.scalar(key))
    }

    fn bool(&self, key: &str) -> bool {
        matches!(self.scalar(key), Some(ScalarValue::Boolean(true)))
    }

    fn i64(&self, key: &str) -> Option<i64> {
        as_i64(self.scalar(key)?)
    }

    fn object(&self, key: &str, kind: ObjType) -> Option<ObjId> {
        match self.0.iter().find(|(k, ..)| k == key) {
            Some((_, Value::Object(t), id)) if *t == kind => id.clone(),
            _ => None,
        }
    }
}

/// The map entries of `map` that are maps themselves (a file's rows), by key.
fn rows(doc: View<'_>, map: &ObjId) -> Vec<(String, ObjId)> {
    doc.map_range(map)
        .filter(|item| matches!(item.value, automerge::ValueRef::Object(ObjType::Map)))
        .map(|item| (item.key.to_string(), item.id()))
        .collect()
}

fn check_address(address: &str) -> Result<(), FileError> {
    match crate::address::BlobAddress::parse(address) {
        Some(_) => Ok(()),
        None => Err(FileError::BadFileAddress(address.to_owned())),
    }
}

// ---- typed reads shared with the catalogue ------------------------------
//
// Tolerant: a missing or differently typed value reads as empty, so a file
// touched by another program still opens.

/// Checks the `kind` and `schema` keys of a typed document; `what` names the
/// expected kind in the error («файлом школы»).
pub(crate) fn check_kind(
    doc: View<'_>,
    kind: &str,
    schema: u64,
    what: &'static str,
) -> Result<(), FileError> {
    if str_at(doc, &ROOT, "kind") != kind {
        return Err(FileError::WrongKind(what));
    }
    match u64_at(doc, &ROOT, "schema") {
        Some(found) if found > schema => Err(FileError::NewerSchema(found)),
        Some(found) if found >= 1 => Ok(()),
        _ => Err(FileError::WrongKind(what)),
    }
}

/// The parts (`(key, holds rows)`) under the root of a typed file that are
/// missing or not maps, and the rows in them that are not maps.
pub(crate) fn part_problems(doc: View<'_>, parts: &[(&str, bool)]) -> Vec<String> {
    let mut found = Vec::new();
    for &(key, holds_rows) in parts {
        let Some(map) = map_obj(doc, &ROOT, key) else {
            found.push(format!("{key}: missing or not a map"));
            continue;
        };
        if holds_rows {
            let bad = doc
                .map_range(&map)
                .filter(|item| !matches!(item.value, automerge::ValueRef::Object(ObjType::Map)))
                .map(|item| format!("{key}/{}: not a map", item.key));
            found.extend(bad);
        }
    }
    found
}

pub(crate) fn map_obj(doc: View<'_>, parent: &ObjId, key: &str) -> Option<ObjId> {
    match doc.get(parent, key) {
        Ok(Some((Value::Object(ObjType::Map), id))) => Some(id),
        _ => None,
    }
}

fn scalar(doc: View<'_>, obj: &ObjId, key: &str) -> Option<ScalarValue> {
    match doc.get(obj, key) {
        Ok(Some((Value::Scalar(s), _))) => Some(s.into_owned()),
        _ => None,
    }
}

pub(crate) fn str_at(doc: View<'_>, obj: &ObjId, key: &str) -> String {
    as_string(scalar(doc, obj, key).as_ref())
}

fn as_string(value: Option<&ScalarValue>) -> String {
    match value {
        Some(ScalarValue::Str(s)) => s.to_string(),
        _ => String::new(),
    }
}

pub(crate) fn bool_at(doc: View<'_>, obj: &ObjId, key: &str) -> bool {
    matches!(scalar(doc, obj, key), Some(ScalarValue::Boolean(true)))
}

pub(crate) fn i64_at(doc: View<'_>, obj: &ObjId, key: &str) -> Option<i64> {
    as_i64(&scalar(doc, obj, key)?)
}

fn as_i64(value: &ScalarValue) -> Option<i64> {
    match *value {
        ScalarValue::Int(n) => Some(n),
        ScalarValue::Uint(n) => i64::try_from(n).ok(),
        ScalarValue::F64(n) => Some(n as i64),
        ScalarValue::Timestamp(n) => Some(n),
        _ => None,
    }
}

pub(crate) fn u64_at(doc: View<'_>, obj: &ObjId, key: &str) -> Option<u64> {
    i64_at(doc, obj, key).and_then(|n| u64::try_from(n).ok())
}
