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

use crate::school::{DocumentKind, Stage};
use crate::typed_doc::{DocError, Kind, TypedDoc, View, genesis_actor, part_problems};
use automerge::transaction::Transactable;
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
pub type CatalogueDoc = TypedDoc<Catalogue>;

impl Kind for Catalogue {
    const KIND: &'static str = CATALOGUE_KIND;
    const SCHEMA: u64 = CATALOGUE_SCHEMA;
    const WHAT: &'static str = WHAT;

    fn read(doc: View<'_>) -> Catalogue {
        let factors = doc
            .map(&ROOT, "factors")
            .map(|map| {
                doc.keys(&map)
                    .filter_map(|id| {
                        let obj = doc.map(&map, &id)?;
                        Some(RiskFactor {
                            title: doc.str(&obj, "title").unwrap_or_default(),
                            description: doc.str(&obj, "description").unwrap_or_default(),
                            retired: doc.bool(&obj, "retired"),
                            id,
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        Catalogue { factors, stages: Stage::ALL.map(|stage| read_rules(doc, stage)) }
    }
}

/// The project's one catalogue, by a well-known id.
pub fn catalogue_id() -> crate::ids::DocumentId {
    crate::ids::DocumentId::derived(CATALOGUE_KIND, "500+")
}

impl CatalogueDoc {
    /// Who made [`Self::genesis`] (see [`crate::school::SchoolDoc::genesis_actor`]).
    pub fn genesis_actor() -> automerge::ActorId {
        genesis_actor(CATALOGUE_KIND, "500+")
    }

    /// The catalogue's first state, the same bytes on every device (fixed
    /// actor, time 0; see [`crate::school::SchoolDoc::genesis`]): the 2021
    /// seed.
    pub fn genesis() -> Self {
        Self::genesis_of("500+", "seed catalogue", |doc| init(doc, &Catalogue::seed_2021()))
    }

    /// A new catalogue holding [`Catalogue::seed_2021`], stamped `time_ms`.
    pub fn seeded(time_ms: i64) -> Self {
        Self::created(time_ms, "seed catalogue", |doc| init(doc, &Catalogue::seed_2021()))
    }

    /// What of the catalogue is missing or not of its type, so reads as
    /// empty; empty for every catalogue this code writes.
    pub fn problems(&self) -> Vec<String> {
        part_problems(self.now(), &[("factors", true), ("stages", true)])
    }

    fn stage_obj(&self, stage: Stage) -> Option<ObjId> {
        stage_obj(self.now(), stage)
    }

    /// Applies the edits of one action as one change stamped `time_ms`.
    /// All or nothing.
    pub fn apply(&mut self, edits: Vec<CatalogueEdit>, time_ms: i64, message: &str) -> Result<(), DocError> {
        self.change(time_ms, message, |file| edits.into_iter().try_for_each(|edit| file.apply_one(edit)))
    }

    fn apply_one(&mut self, edit: CatalogueEdit) -> Result<(), DocError> {
        let doc_error = || DocError::WrongKind(WHAT);
        match edit {
            CatalogueEdit::PutFactor { id, title, description } => {
                let factors = self.now().map(&ROOT, "factors").ok_or_else(doc_error)?;
                let obj = match self.now().map(&factors, &id) {
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
                let factors = self.now().map(&ROOT, "factors").ok_or_else(doc_error)?;
                let obj = self.now().map(&factors, &id).ok_or(DocError::NotFound(id))?;
                self.doc.put(&obj, "retired", retired)?;
            }
            CatalogueEdit::SetVisitInterval { stage, days } => {
                let obj = self.stage_obj(stage).ok_or_else(doc_error)?;
                self.doc.put(&obj, "visit_every_days", u64::from(days.unwrap_or(0)))?;
            }
            CatalogueEdit::SetRequired { stage, kind, required } => {
                let obj = self.stage_obj(stage).ok_or_else(doc_error)?;
                let map = self.now().map(&obj, "required").ok_or_else(doc_error)?;
                self.doc.put(&map, kind.key(), required)?;
            }
        }
        Ok(())
    }
}

fn read_rules(doc: View<'_>, stage: Stage) -> StageRules {
    let Some(obj) = stage_obj(doc, stage) else {
        return StageRules::default();
    };
    let required = doc.map(&obj, "required");
    StageRules {
        visit_every_days: doc
            .u64(&obj, "visit_every_days")
            .filter(|d| *d > 0)
            .and_then(|d| u32::try_from(d).ok()),
        required: DocumentKind::ALL
            .into_iter()
            .filter(|kind| required.as_ref().is_some_and(|r| doc.bool(r, kind.key())))
            .collect(),
    }
}

fn stage_obj(doc: View<'_>, stage: Stage) -> Option<ObjId> {
    doc.map(&doc.map(&ROOT, "stages")?, stage.key())
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
