//! The catalogue: the project's rules that coordinators edit as data, not
//! code — the risk factors of the school risk profile («рисковый профиль
//! школы»), the documents each stage requires, and how often a curator must
//! visit a school at each stage. One Automerge document, synced like a
//! roadmap, read by every school file and by monitoring.
//!
//! Layout (schema 1):
//! ```text
//! ROOT { kind: "medk-catalogue", schema: 1,
//!   factors: { <id>: { title: str, description: str, retired: bool } },
//!   stages:  { <stage key>: { visit_every_days: uint (0 = no schedule),
//!                             required: { <document kind key>: bool } } } }
//! ```
//! Decisions:
//! - A factor is never deleted, only retired: school files keep referring to
//!   it by id, and old risk profiles must still read.
//! - Factors are listed by id; the seeded ids (`f01`…) keep the catalogue's
//!   own order.
//! - Every stage's map and its `required` map are created when the
//!   catalogue is seeded, so concurrent rule edits by two coordinators
//!   merge field by field.
//! - The seed is the 2021 catalogue's ten factors (PRODUCT.md names seven of
//!   them; the other three are from the project's 2021 risk-profile list).
//! - Visit intervals: «не реже 1 раза в неделю» while the roadmap is formed
//!   (7 days); «не реже 1 раза в 3–4 недели» while it is carried out (28
//!   days, the lenient end); none once the school has finished.

use crate::school::{
    DocumentKind, FileError, Past, Stage, View, bool_at, check_kind, map_obj, past, str_at, u64_at,
};
use automerge::transaction::{CommitOptions, Transactable};
use automerge::{AutoCommit, AutomergeError, ObjId, ObjType, ROOT};
use serde::{Deserialize, Serialize};

/// Marks a document as the medk catalogue.
pub const CATALOGUE_KIND: &str = "medk-catalogue";
/// The layout version this code writes.
pub const CATALOGUE_SCHEMA: u64 = 1;

const WHAT: &str = "каталогом";

/// One risk factor.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RiskFactor {
    pub id: String,
    pub title: String,
    pub description: String,
    /// No longer offered to schools; kept for the profiles that use it.
    pub retired: bool,
}

/// The rules of one stage.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageRules {
    /// The longest allowed gap between curator visits; `None`: no schedule.
    pub visit_every_days: Option<u32>,
    /// The documents a school files at this stage, in [`DocumentKind::ALL`] order.
    pub required: Vec<DocumentKind>,
}

/// The catalogue as plain data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Catalogue {
    /// By id.
    pub factors: Vec<RiskFactor>,
    /// One per stage, in [`Stage::ALL`] order.
    pub stages: [StageRules; 3],
}

impl Catalogue {
    /// The rules of `stage`.
    pub fn rules(&self, stage: Stage) -> &StageRules {
        &self.stages[stage_index(stage)]
    }

    /// The kinds of document a school at `stage` files: those the stage
    /// requires, and the two monitoring reports always. The school screen
    /// offers these; monitoring reads the same.
    pub fn document_kinds(&self, stage: Stage) -> Vec<DocumentKind> {
        let required = &self.rules(stage).required;
        DocumentKind::ALL
            .into_iter()
            .filter(|k| {
                required.contains(k) || matches!(k, DocumentKind::Monitoring1 | DocumentKind::Monitoring2)
            })
            .collect()
    }

    /// The 2021 project catalogue (see the module doc for what it lacks).
    pub fn seed_2021() -> Catalogue {
        let factor = |n: usize, title: &str| RiskFactor {
            id: format!("f{n:02}"),
            title: title.to_owned(),
            description: String::new(),
            retired: false,
        };
        Catalogue {
            factors: SEED_FACTORS.iter().enumerate().map(|(i, t)| factor(i + 1, t)).collect(),
            stages: [
                StageRules {
                    visit_every_days: Some(7),
                    required: vec![
                        DocumentKind::Concept,
                        DocumentKind::Roadmap,
                        DocumentKind::MediumTermProgramme,
                    ],
                },
                StageRules {
                    visit_every_days: Some(28),
                    required: vec![DocumentKind::Monitoring1, DocumentKind::Monitoring2],
                },
                StageRules { visit_every_days: None, required: Vec::new() },
            ],
        }
    }
}

/// The ten risk factors of the 2021 catalogue («рисковые профили школ»), in
/// its order.
const SEED_FACTORS: [&str; 10] = [
    "Низкий уровень оснащения школы",
    "Дефицит педагогических кадров",
    "Недостаточная предметная и методическая компетентность педагогических работников",
    "Риски низкой адаптивности учебного процесса",
    "Несформированность внутришкольной системы повышения квалификации",
    "Низкое качество преодоления языковых и культурных барьеров",
    "Пониженный уровень качества школьной образовательной и воспитательной среды",
    "Высокая доля обучающихся с рисками учебной неуспешности",
    "Низкий уровень вовлеченности родителей",
    "Низкая учебная мотивация обучающихся",
];

fn stage_index(stage: Stage) -> usize {
    Stage::ALL.iter().position(|s| *s == stage).expect("ALL lists every stage")
}

/// One change to the catalogue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CatalogueEdit {
    /// Adds a factor or renames / redescribes one.
    PutFactor {
        id: String,
        title: String,
        description: String,
    },
    SetRetired {
        id: String,
        retired: bool,
    },
    /// `None`: no visit schedule at this stage.
    SetVisitInterval {
        stage: Stage,
        days: Option<u32>,
    },
    SetRequired {
        stage: Stage,
        kind: DocumentKind,
        required: bool,
    },
}

/// An Automerge document known to hold the catalogue.
#[derive(Debug)]
pub struct CatalogueDoc {
    doc: AutoCommit,
}

crate::school::automerge_file!(CatalogueDoc);

/// The project's one catalogue, by a well-known id.
pub fn catalogue_id() -> crate::ids::DocumentId {
    crate::ids::DocumentId::derived(CATALOGUE_KIND, "500+")
}

impl CatalogueDoc {
    /// Who made [`Self::genesis`] (see [`crate::school::SchoolDoc::genesis_actor`]).
    pub fn genesis_actor() -> automerge::ActorId {
        crate::school::genesis_actor(CATALOGUE_KIND, "500+")
    }

    /// The catalogue's first state, the same bytes on every device (see
    /// [`crate::school::SchoolDoc::genesis`]): the 2021 seed.
    pub fn genesis() -> Self {
        let mut doc = AutoCommit::new().with_actor(Self::genesis_actor());
        init(&mut doc, &Catalogue::seed_2021()).expect("writing to a fresh document cannot fail");
        doc.commit_with(CommitOptions::default().with_time(0).with_message("seed catalogue"));
        doc.set_actor(automerge::ActorId::random());
        Self { doc }
    }

    /// A new catalogue holding [`Catalogue::seed_2021`], stamped `time_ms`.
    pub fn seeded(time_ms: i64) -> Self {
        let mut doc = AutoCommit::new();
        init(&mut doc, &Catalogue::seed_2021()).expect("writing to a fresh document cannot fail");
        doc.commit_with(CommitOptions::default().with_time(time_ms).with_message("seed catalogue"));
        Self { doc }
    }

    pub fn from_automerge(doc: AutoCommit) -> Result<Self, FileError> {
        check_catalogue(View::now(&doc))?;
        Ok(Self { doc })
    }

    pub fn read(&self) -> Catalogue {
        read_catalogue(View::now(&self.doc))
    }

    /// What of the catalogue is missing or not of its type, so reads as
    /// empty; empty for every catalogue this code writes.
    pub fn problems(&self) -> Vec<String> {
        crate::school::part_problems(View::now(&self.doc), &[("factors", true), ("stages", true)])
    }

    fn stage_obj(&self, stage: Stage) -> Option<ObjId> {
        stage_obj(View::now(&self.doc), stage)
    }

    /// Applies the edits of one action as one change stamped `time_ms`.
    /// All or nothing.
    pub fn apply(&mut self, edits: Vec<CatalogueEdit>, time_ms: i64, message: &str) -> Result<(), FileError> {
        for edit in edits {
            if let Err(e) = self.apply_one(edit) {
                self.doc.rollback();
                return Err(e);
            }
        }
        self.doc.commit_with(CommitOptions::default().with_time(time_ms).with_message(message));
        Ok(())
    }

    fn apply_one(&mut self, edit: CatalogueEdit) -> Result<(), FileError> {
        let doc_error = || FileError::WrongKind(WHAT);
        match edit {
            CatalogueEdit::PutFactor { id, title, description } => {
                let factors = map_obj(View::now(&self.doc), &ROOT, "factors").ok_or_else(doc_error)?;
                let obj = match map_obj(View::now(&self.doc), &factors, &id) {
                    Some(obj) => obj,
                    None => {
                        let obj = self.doc.put_object(&factors, &id, ObjType::Map)?;
                        self.doc.put(&obj, "retired", false)?;
                        obj
                    }
                };
                self.doc.put(&obj, "title", title)?;
                self.doc.put(&obj, "description", description)?;
            }
            CatalogueEdit::SetRetired { id, retired } => {
                let factors = map_obj(View::now(&self.doc), &ROOT, "factors").ok_or_else(doc_error)?;
                let obj = map_obj(View::now(&self.doc), &factors, &id).ok_or(FileError::NotFound(id))?;
                self.doc.put(&obj, "retired", retired)?;
            }
            CatalogueEdit::SetVisitInterval { stage, days } => {
                let obj = self.stage_obj(stage).ok_or_else(doc_error)?;
                self.doc.put(&obj, "visit_every_days", u64::from(days.unwrap_or(0)))?;
            }
            CatalogueEdit::SetRequired { stage, kind, required } => {
                let obj = self.stage_obj(stage).ok_or_else(doc_error)?;
                let map = map_obj(View::now(&self.doc), &obj, "required").ok_or_else(doc_error)?;
                self.doc.put(&map, kind.key(), required)?;
            }
        }
        Ok(())
    }
}

/// The catalogue as it stood at `until_ms` (see [`crate::history`]).
pub fn catalogue_at(doc: &mut CatalogueDoc, until_ms: i64) -> Option<Catalogue> {
    match past(doc.automerge(), until_ms) {
        Past::Nothing => None,
        Past::Now => Some(doc.read()),
        Past::Then(heads) => {
            let then = View::at(&doc.doc, &heads);
            check_catalogue(then).ok().map(|()| read_catalogue(then))
        }
    }
}

/// Checks that `doc` says it is the catalogue, of a schema this code
/// knows; a missing part reads as empty ([`CatalogueDoc::problems`]).
fn check_catalogue(doc: View<'_>) -> Result<(), FileError> {
    check_kind(doc, CATALOGUE_KIND, CATALOGUE_SCHEMA, WHAT)
}

fn read_catalogue(doc: View<'_>) -> Catalogue {
    let factors = map_obj(doc, &ROOT, "factors")
        .map(|map| {
            doc.keys(&map)
                .filter_map(|id| {
                    let obj = map_obj(doc, &map, &id)?;
                    Some(RiskFactor {
                        title: str_at(doc, &obj, "title"),
                        description: str_at(doc, &obj, "description"),
                        retired: bool_at(doc, &obj, "retired"),
                        id,
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    Catalogue { factors, stages: Stage::ALL.map(|stage| read_rules(doc, stage)) }
}

fn read_rules(doc: View<'_>, stage: Stage) -> StageRules {
    let Some(obj) = stage_obj(doc, stage) else {
        return StageRules::default();
    };
    let required = map_obj(doc, &obj, "required");
    StageRules {
        visit_every_days: u64_at(doc, &obj, "visit_every_days")
            .filter(|d| *d > 0)
            .and_then(|d| u32::try_from(d).ok()),
        required: DocumentKind::ALL
            .into_iter()
            .filter(|kind| required.as_ref().is_some_and(|r| bool_at(doc, r, kind.key())))
            .collect(),
    }
}

fn stage_obj(doc: View<'_>, stage: Stage) -> Option<ObjId> {
    map_obj(doc, &map_obj(doc, &ROOT, "stages")?, stage.key())
}

fn init(doc: &mut AutoCommit, catalogue: &Catalogue) -> Result<(), AutomergeError> {
    doc.put(ROOT, "kind", CATALOGUE_KIND)?;
    doc.put(ROOT, "schema", CATALOGUE_SCHEMA)?;
    let factors = doc.put_object(ROOT, "factors", ObjType::Map)?;
    for factor in &catalogue.factors {
        let obj = doc.put_object(&factors, &factor.id, ObjType::Map)?;
        doc.put(&obj, "title", factor.title.as_str())?;
        doc.put(&obj, "description", factor.description.as_str())?;
        doc.put(&obj, "retired", factor.retired)?;
    }
    let stages = doc.put_object(ROOT, "stages", ObjType::Map)?;
    for stage in Stage::ALL {
        let rules = catalogue.rules(stage);
        let obj = doc.put_object(&stages, stage.key(), ObjType::Map)?;
        doc.put(&obj, "visit_every_days", u64::from(rules.visit_every_days.unwrap_or(0)))?;
        let required = doc.put_object(&obj, "required", ObjType::Map)?;
        for kind in DocumentKind::ALL {
            doc.put(&required, kind.key(), rules.required.contains(&kind))?;
        }
    }
    Ok(())
}
