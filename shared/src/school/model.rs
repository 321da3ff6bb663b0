//! A school file as plain data: what [`super::SchoolDoc`] reads as (a
//! [`School`]) and the vocabulary of the project it records: stages, the
//! kinds of documents a school files, the decisions on them.

use crate::access::UnitId;
use crate::ids::{DocumentId, RowId};
use serde::{Deserialize, Serialize};
use time::Date;

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
pub(super) mod document_url {
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
