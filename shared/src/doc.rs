//! The roadmap as an Automerge document: its layout, the one place that
//! writes it, and the typed read into [`crate::model`].
//!
//! Why the direct Automerge API and not autosurgeon: every edit here is a
//! targeted operation (splice one text, set one status, move one row).
//! autosurgeon reconciles a whole struct tree per change, which for a
//! 1,000-activity roadmap is a full walk per keystroke, and it would hide the
//! layout decisions below that merging depends on.
//!
//! Layout (schema 1; [`crate::layout`] holds it as data, with its limits,
//! and checks documents and changes against it):
//! ```text
//! ROOT { kind: "medk/roadmap", schema: 1, creator: str, nonce: str,
//!   header:  { title: Text, territory: Text, approval: Text, abbreviations: Text,
//!              footnotes: Text, level: str, year: int|null, adopted_on?: str },
//!   columns: [ { field: str, title: Text } ],
//!   sections:   { <id>: { title: Text, pos: str, deleted: bool } },
//!   activities: { <id>: { section: str, pos: str, deleted: bool, status: str,
//!                         completed_on: str, status_note?: str, status_evidence?: str,
//!                         number: Text, description: Text, … } },
//!   members:    { <id>: { name: Text, workplace: Text, position: Text, pos: str, deleted: bool } } }
//! ```
//! `creator` (a person's id, or empty) and `nonce` (random hex) are written
//! once, before the roadmap is first stored ([`RoadmapDoc::stamp_origin`]):
//! its id is derived from them, so the relay registers it only to whoever
//! holds it and is its creator (roadmaps made before that have neither).
//!
//! Merge properties this buys:
//! - Rows live in maps keyed by stable ids, ordered by a fractional index
//!   `pos` (ties broken by id). Concurrent inserts both survive; a row moved
//!   concurrently by two people lands in one place (last writer of `pos`),
//!   never twice; an activity's section is a field, so moving between
//!   sections is one register write, not a delete plus an insert.
//! - Deletion is a `deleted` flag, so an edit made concurrently with a delete
//!   is kept (and comes back with undo), and undoing a delete is one write.
//! - Every free-text field is Automerge Text, created together with its row
//!   (never lazily: two replicas creating the same text object concurrently
//!   would conflict and one side's text would be hidden), and edited through
//!   `update_text`, so two people typing in one description merge by
//!   character.

use crate::access::Level;
use crate::ids::{DocumentId, RowId};
use crate::indicators::Progress;
use crate::model::{
    Activity, ActivityField, Column, Header, HeaderField, Member, MemberField, Roadmap, Section, Status,
};
use automerge::transaction::{CommitOptions, Transactable};
use automerge::{AutoCommit, AutomergeError, ChangeHash, ObjId, ObjType, ROOT, ReadDoc, ScalarValue, Value};
use fractional_index::FractionalIndex;

/// Marks a document as a medk roadmap.
pub const DOC_KIND: &str = "medk/roadmap";
/// The layout version this code writes. Bump it together with an entry in
/// [`MIGRATIONS`].
pub const SCHEMA_VERSION: u64 = 1;

/// Migrations from older layouts: entry `i` upgrades schema `i + 1` to
/// `i + 2`. Empty while schema 1 is the only one.
const MIGRATIONS: &[Migration] = &[];

/// Most operations a change this app writes for a whole document (an
/// import, a roadmap written afresh) holds before the rest goes into the
/// next one ([`RoadmapDoc::apply_in_parts`]), plus at most one edit (an
/// activity with every field full is 9 × [`crate::layout::MAX_TEXT_CHARS`]).
/// Every change then fits in one sync message
/// ([`crate::sync::relay::MAX_OPS_PER_MESSAGE`]), and a device sends a
/// roadmap of any size in pieces.
pub const PART_OPS: usize = 20_000;

/// Rewrites a document of one schema into the next, in place.
type Migration = fn(&mut AutoCommit) -> Result<(), AutomergeError>;

#[derive(Debug, thiserror::Error)]
pub enum DocError {
    /// The bytes are not an Automerge document (the detail is technical).
    #[error("повреждённые данные: файл не читается как документ МЭДК")]
    Corrupt(String),
    #[error("документ не является дорожной картой")]
    NotARoadmap,
    #[error("дорожная карта создана более новой версией приложения (схема {0})")]
    NewerSchema(u64),
    #[error("строка {0} не найдена")]
    NoSuchRow(RowId),
    #[error("текст длиннее {max} знаков: сократите его", max = crate::layout::MAX_TEXT_CHARS)]
    TextTooLong,
    #[error("в дорожной карте уже {max} строк этого вида", max = crate::layout::MAX_ROWS)]
    TooManyRows,
    #[error("в дорожной карте уже {max} колонок", max = crate::layout::MAX_COLUMNS)]
    TooManyColumns,
    #[error("слишком длинное значение (положение строки, дата или номер строки)")]
    ValueTooLong,
    #[error("строка {0} уже есть")]
    RowExists(RowId),
    /// Automerge refused an operation (its message is technical).
    #[error("внутренняя ошибка документа")]
    Automerge(#[from] AutomergeError),
}

impl DocError {
    /// The technical detail behind the message, if any (not translated).
    pub fn detail(&self) -> Option<String> {
        match self {
            DocError::Corrupt(d) => Some(d.clone()),
            DocError::Automerge(e) => Some(e.to_string()),
            _ => None,
        }
    }
}

/// What a new roadmap starts with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewRoadmap {
    pub title: String,
    pub level: Level,
    pub territory: String,
    pub year: Option<i32>,
    pub columns: Vec<Column>,
}

/// A text field anywhere in the roadmap.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum TextTarget {
    Header(HeaderField),
    Column(usize),
    Section(RowId),
    Activity(RowId, ActivityField),
    Member(RowId, MemberField),
}

/// A row of the roadmap, by kind.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum RowRef {
    Section(RowId),
    Activity(RowId),
    Member(RowId),
}

/// One change to a roadmap. Applying an edit returns its inverse, which is
/// how undo works: undo and redo are new changes that merge like any other,
/// not a rewind of history that other replicas could not follow.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Edit {
    SetText {
        target: TextTarget,
        value: String,
    },
    SetStatus {
        activity: RowId,
        status: Status,
    },
    /// The comment and evidence given with the activity's status (empty
    /// clears them).
    SetStatusNote {
        activity: RowId,
        note: String,
        evidence: String,
    },
    /// ISO date or empty.
    SetCompletedOn {
        activity: RowId,
        date: String,
    },
    SetLevel(Level),
    SetYear(Option<i32>),
    /// The day the plan was adopted, ISO, or empty: not stated.
    SetAdoptedOn(String),
    SetDeleted {
        row: RowRef,
        deleted: bool,
    },
    PlaceActivity {
        activity: RowId,
        section: RowId,
        pos: String,
    },
    PlaceSection {
        section: RowId,
        pos: String,
    },
    PlaceMember {
        member: RowId,
        pos: String,
    },
    /// Creates a row (its inverse is a delete; redo of that is a restore).
    /// Boxed: a new activity carries all its fields, every other edit a few.
    Create(Box<NewRow>),
    /// Appends a column (its inverse removes it).
    AddColumn(Column),
    RemoveColumn(usize),
}

/// A row to create, with everything it starts with.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum NewRow {
    Section { id: RowId, pos: String, title: String },
    Activity { section: RowId, pos: String, activity: Activity },
    Member { pos: String, member: Member },
}

/// An Automerge document known to hold a roadmap of the current schema.
#[derive(Debug)]
pub struct RoadmapDoc {
    doc: AutoCommit,
}

impl RoadmapDoc {
    /// A new roadmap with one empty section.
    pub fn create(new: &NewRoadmap, first_section: RowId) -> Self {
        let mut doc = AutoCommit::new();
        Self::init(&mut doc, new, first_section).expect("writing to a fresh document cannot fail");
        doc.commit_with(CommitOptions::default().with_message("create roadmap"));
        Self { doc }
    }

    fn init(doc: &mut AutoCommit, new: &NewRoadmap, first_section: RowId) -> Result<(), AutomergeError> {
        doc.put(ROOT, "kind", DOC_KIND)?;
        doc.put(ROOT, "schema", SCHEMA_VERSION)?;
        let header = doc.put_object(ROOT, "header", ObjType::Map)?;
        for field in HeaderField::ALL {
            let text = doc.put_object(&header, field.key(), ObjType::Text)?;
            let value = match field {
                HeaderField::Title => new.title.as_str(),
                HeaderField::Territory => new.territory.as_str(),
                _ => "",
            };
            doc.update_text(&text, value)?;
        }
        doc.put(&header, "level", new.level.roadmap_key())?;
        put_year(doc, &header, new.year)?;
        let columns = doc.put_object(ROOT, "columns", ObjType::List)?;
        for (i, column) in new.columns.iter().enumerate() {
            insert_column(doc, &columns, i, column)?;
        }
        let sections = doc.put_object(ROOT, "sections", ObjType::Map)?;
        doc.put_object(ROOT, "activities", ObjType::Map)?;
        doc.put_object(ROOT, "members", ObjType::Map)?;
        let section = doc.put_object(&sections, first_section.as_str(), ObjType::Map)?;
        doc.put_object(&section, "title", ObjType::Text)?;
        doc.put(&section, "pos", FractionalIndex::default().to_string())?;
        doc.put(&section, "deleted", false)?;
        Ok(())
    }

    /// Loads saved bytes (a full save, optionally followed by incremental
    /// chunks), checks that they hold a roadmap and migrates old layouts.
    pub fn load(bytes: &[u8]) -> Result<Self, DocError> {
        let doc = AutoCommit::load(bytes).map_err(|e| DocError::Corrupt(e.to_string()))?;
        Self::from_automerge(doc)
    }

    /// Wraps a document that came from elsewhere (storage, sync). It must
    /// say it is a roadmap of a schema this code knows; anything else in it
    /// that is not as the layout says reads as empty ([`Self::problems`]
    /// lists it), so the rest still opens.
    pub fn from_automerge(mut doc: AutoCommit) -> Result<Self, DocError> {
        if doc.get(ROOT, "kind")?.and_then(|(v, _)| v.into_string().ok()).as_deref() != Some(DOC_KIND) {
            return Err(DocError::NotARoadmap);
        }
        // A missing or unreadable version is taken as the first one.
        let schema = match doc.get(ROOT, "schema")? {
            Some((Value::Scalar(s), _)) => crate::layout::schema(s.as_ref()).unwrap_or(1),
            _ => 1,
        };
        if schema > SCHEMA_VERSION {
            return Err(DocError::NewerSchema(schema));
        }
        if schema < SCHEMA_VERSION {
            for migrate in MIGRATIONS.get((schema as usize).saturating_sub(1)..).unwrap_or_default() {
                migrate(&mut doc)?;
            }
            doc.put(ROOT, "schema", SCHEMA_VERSION)?;
            doc.commit_with(CommitOptions::default().with_message("migrate schema"));
        }
        Ok(Self { doc })
    }

    /// What of the document is not as the layout says (another program
    /// wrote it): it reads as empty. Empty for every roadmap this code
    /// writes. Walks the whole document.
    pub fn problems(&self) -> Vec<crate::layout::Breach> {
        crate::layout::problems(&self.doc)
    }

    /// Names the roadmap's maker and gives it a random `nonce` (16 random
    /// bytes), in a change of its own; returns the id it must be stored and
    /// synced under ([`crate::layout::origin_id`]). `creator` is the
    /// signed-in person's id, empty when nobody is signed in. Called once,
    /// before the roadmap is first stored (also on a copy, which thereby
    /// becomes a roadmap of its own).
    pub fn stamp_origin(&mut self, creator: &str, nonce: [u8; 16], time: i64) -> DocumentId {
        let nonce = hex::encode(nonce);
        // Writing two strings into the root of a loaded document cannot fail.
        let _ = self.doc.put(ROOT, "creator", creator);
        let _ = self.doc.put(ROOT, "nonce", nonce.as_str());
        self.doc.commit_with(CommitOptions::default().with_time(time).with_message("origin"));
        crate::layout::origin_id(creator, &nonce)
    }

    /// Applies saved changes from storage or another replica.
    pub fn load_incremental(&mut self, bytes: &[u8]) -> Result<(), DocError> {
        self.doc.load_incremental(bytes).map_err(|e| DocError::Corrupt(e.to_string()))?;
        Ok(())
    }

    /// The underlying document, for sync and storage.
    pub fn automerge(&mut self) -> &mut AutoCommit {
        &mut self.doc
    }

    pub fn save(&mut self) -> Vec<u8> {
        self.doc.save()
    }

    /// The changes since the last save or incremental save.
    pub fn save_incremental(&mut self) -> Vec<u8> {
        self.doc.save_incremental()
    }

    pub fn heads(&mut self) -> Vec<ChangeHash> {
        self.doc.get_heads()
    }

    /// A fully independent copy (new actor), e.g. to duplicate a roadmap.
    pub fn fork(&mut self) -> Self {
        Self { doc: self.doc.fork() }
    }

    /// Merges everything `other` has that this replica lacks.
    pub fn merge(&mut self, other: &mut RoadmapDoc) -> Result<(), DocError> {
        self.doc.merge(&mut other.doc)?;
        Ok(())
    }

    // ---- reading -------------------------------------------------------
    //
    // The readers taking `at` read the state at those heads in place
    // (Automerge's `*_at` reads), or the current state for `None`: one set of
    // rules for what a roadmap shows, now and on a past date.

    fn get_in(&self, at: At<'_>, obj: &ObjId, key: &str) -> Option<(Value<'_>, ObjId)> {
        match at {
            None => self.doc.get(obj, key),
            Some(heads) => self.doc.get_at(obj, key, heads),
        }
        .ok()
        .flatten()
    }

    fn map_in(&self, at: At<'_>, obj: &ObjId) -> automerge::iter::MapRange<'_> {
        match at {
            None => self.doc.map_range(obj, ..),
            Some(heads) => self.doc.map_range_at(obj, .., heads),
        }
    }

    fn text_in(&self, at: At<'_>, obj: &ObjId) -> Option<String> {
        match at {
            None => self.doc.text(obj),
            Some(heads) => self.doc.text_at(obj, heads),
        }
        .ok()
    }

    /// The map under `key` of `parent` (a roadmap's maps: the header, the
    /// row maps, the rows themselves); `None` when it is absent or not a map.
    fn child(&self, parent: &ObjId, key: &str) -> Option<ObjId> {
        self.child_in(None, parent, key)
    }

    fn child_in(&self, at: At<'_>, parent: &ObjId, key: &str) -> Option<ObjId> {
        match self.get_in(at, parent, key) {
            Some((Value::Object(ObjType::Map), id)) => Some(id),
            _ => None,
        }
    }

    /// The list of columns, if the document has one.
    fn columns_list(&self) -> Option<ObjId> {
        match self.doc.get(ROOT, "columns") {
            Ok(Some((Value::Object(ObjType::List), id))) => Some(id),
            _ => None,
        }
    }

    fn text_at(&self, parent: &ObjId, key: &str) -> String {
        match self.doc.get(parent, key) {
            Ok(Some((Value::Object(ObjType::Text), id))) => self.doc.text(&id).unwrap_or_default(),
            Ok(Some((Value::Scalar(s), _))) => match s.as_ref() {
                ScalarValue::Str(s) => s.to_string(),
                _ => String::new(),
            },
            _ => String::new(),
        }
    }

    fn str_at(&self, parent: &ObjId, key: &str) -> Option<String> {
        match self.doc.get(parent, key) {
            Ok(Some((Value::Scalar(s), _))) => match s.as_ref() {
                ScalarValue::Str(s) => Some(s.to_string()),
                _ => None,
            },
            _ => None,
        }
    }

    fn bool_at(&self, parent: &ObjId, key: &str) -> bool {
        matches!(self.doc.get(parent, key), Ok(Some((Value::Scalar(s), _))) if matches!(s.as_ref(), ScalarValue::Boolean(true)))
    }

    fn header_obj(&self) -> Option<ObjId> {
        match self.doc.get(ROOT, "header") {
            Ok(Some((Value::Object(ObjType::Map), id))) => Some(id),
            _ => None,
        }
    }

    fn year_in(&self, at: At<'_>) -> Option<i32> {
        let header = self.child_in(at, &ROOT, "header")?;
        match self.get_in(at, &header, "year") {
            Some((Value::Scalar(s), _)) => match s.as_ref() {
                ScalarValue::Int(n) => i32::try_from(*n).ok(),
                ScalarValue::Uint(n) => i32::try_from(*n).ok(),
                ScalarValue::F64(n) => Some(*n as i32),
                _ => None,
            },
            _ => None,
        }
    }

    pub fn header(&self) -> Header {
        let Some(h) = self.header_obj() else {
            return Header {
                title: String::new(),
                level: Level::School,
                territory: String::new(),
                year: None,
                approval: String::new(),
                abbreviations: String::new(),
                footnotes: String::new(),
                adopted_on: String::new(),
            };
        };
        let year = self.year_in(None);
        Header {
            title: self.text_at(&h, HeaderField::Title.key()),
            level: self
                .str_at(&h, "level")
                .and_then(|l| Level::from_roadmap_key(&l))
                .unwrap_or(Level::School),
            territory: self.text_at(&h, HeaderField::Territory.key()),
            year,
            approval: self.text_at(&h, HeaderField::Approval.key()),
            abbreviations: self.text_at(&h, HeaderField::Abbreviations.key()),
            footnotes: self.text_at(&h, HeaderField::Footnotes.key()),
            adopted_on: self.str_at(&h, "adopted_on").unwrap_or_default(),
        }
    }

    /// The day the plan was adopted ([`Header::adopted_on`]), read alone:
    /// monitoring asks it of every roadmap on every date.
    pub fn adopted_on(&self) -> Option<time::Date> {
        crate::deadline::parse_iso(&self.str_at(&self.header_obj()?, "adopted_on")?)
    }

    pub fn columns(&self) -> Vec<Column> {
        let Some(list) = self.columns_list() else {
            return Vec::new();
        };
        (0..self.doc.length(&list))
            .filter_map(|i| match self.doc.get(&list, i) {
                Ok(Some((Value::Object(ObjType::Map), obj))) => {
                    let field = ActivityField::from_key(&self.str_at(&obj, "field")?)?;
                    Some(Column { field, title: self.text_at(&obj, "title") })
                }
                _ => None,
            })
            .collect()
    }

    /// Live rows of a map (`sections`, `activities`, `members`) with their
    /// object ids, in display order.
    /// Live rows of a map (`sections`, `activities`, `members`) in display
    /// order, each with its fields read in one pass over the row's map (a
    /// `get` per field is several times slower on big roadmaps).
    fn ordered_rows(&self, key: &str) -> Vec<RowFields> {
        self.ordered_rows_in(None, key, None)
    }

    /// `only_text`: the one text field whose object id is wanted (`None`: all).
    fn ordered_rows_in(&self, at: At<'_>, key: &str, only_text: Option<&str>) -> Vec<RowFields> {
        let Some(map) = self.child_in(at, &ROOT, key) else {
            return Vec::new();
        };
        let mut rows: Vec<RowFields> = self
            .map_in(at, &map)
            .filter(|item| matches!(item.value, automerge::ValueRef::Object(ObjType::Map)))
            .map(|item| self.row_fields(at, RowId::new(item.key.to_string()), item.id(), only_text))
            .filter(|row| !row.deleted)
            .collect();
        rows.sort_by(|a, b| a.pos.cmp(&b.pos).then_with(|| a.id.cmp(&b.id)));
        rows
    }

    fn row_fields(&self, at: At<'_>, id: RowId, obj: ObjId, only_text: Option<&str>) -> RowFields {
        let mut row = RowFields {
            id,
            pos: String::new(),
            section: None,
            deleted: false,
            status: String::new(),
            completed_on: String::new(),
            status_note: String::new(),
            status_evidence: String::new(),
            texts: Vec::new(),
            obj,
        };
        for item in self.map_in(at, &row.obj) {
            use automerge::ScalarValueRef as S;
            match (&*item.key, &item.value) {
                (key, automerge::ValueRef::Object(ObjType::Text))
                    if only_text.is_none_or(|only| only == key) =>
                {
                    row.texts.push((key.to_owned(), item.id()))
                }
                ("pos", automerge::ValueRef::Scalar(S::Str(v))) => row.pos = v.to_string(),
                ("section", automerge::ValueRef::Scalar(S::Str(v))) => row.section = Some(v.to_string()),
                ("deleted", automerge::ValueRef::Scalar(S::Boolean(v))) => row.deleted = *v,
                ("status", automerge::ValueRef::Scalar(S::Str(v))) => row.status = v.to_string(),
                ("completed_on", automerge::ValueRef::Scalar(S::Str(v))) => row.completed_on = v.to_string(),
                ("status_note", automerge::ValueRef::Scalar(S::Str(v))) => row.status_note = v.to_string(),
                ("status_evidence", automerge::ValueRef::Scalar(S::Str(v))) => {
                    row.status_evidence = v.to_string()
                }
                _ => {}
            }
        }
        row
    }

    /// The text of a row's field, read from the ids collected in `row_fields`.
    fn row_text(&self, row: &RowFields, key: &str) -> String {
        row.texts
            .iter()
            .find(|(k, _)| k == key)
            .and_then(|(_, id)| self.doc.text(id).ok())
            .unwrap_or_default()
    }

    fn read_activity_row(&self, row: &RowFields) -> Activity {
        let mut activity = Activity {
            id: row.id.clone(),
            number: String::new(),
            description: String::new(),
            form: String::new(),
            deadline: String::new(),
            responsible: String::new(),
            indicator: String::new(),
            report_form: String::new(),
            evidence: String::new(),
            comments: String::new(),
            status: Status::parse(&row.status),
            completed_on: row.completed_on.clone(),
            status_note: row.status_note.clone(),
            status_evidence: row.status_evidence.clone(),
        };
        for (key, text) in &row.texts {
            if let Some(field) = ActivityField::from_key(key) {
                *activity.text_mut(field) = self.doc.text(text).unwrap_or_default();
            }
        }
        activity
    }

    fn row_obj(&self, map: &str, id: &RowId) -> Result<ObjId, DocError> {
        self.child(&ROOT, map)
            .and_then(|m| self.child(&m, id.as_str()))
            .ok_or_else(|| DocError::NoSuchRow(id.clone()))
    }

    /// One activity, also when deleted (for undo and history).
    pub fn activity(&self, id: &RowId) -> Option<Activity> {
        let obj = self.row_obj("activities", id).ok()?;
        Some(self.read_activity_row(&self.row_fields(None, id.clone(), obj, None)))
    }

    /// The section an activity is in, and its position key.
    pub fn activity_place(&self, id: &RowId) -> Option<(RowId, String)> {
        let obj = self.row_obj("activities", id).ok()?;
        Some((RowId::new(self.str_at(&obj, "section")?), self.str_at(&obj, "pos").unwrap_or_default()))
    }

    pub fn section_pos(&self, id: &RowId) -> Option<String> {
        let obj = self.row_obj("sections", id).ok()?;
        self.str_at(&obj, "pos")
    }

    pub fn member_pos(&self, id: &RowId) -> Option<String> {
        let obj = self.row_obj("members", id).ok()?;
        self.str_at(&obj, "pos")
    }

    /// The whole roadmap in display order. Activities whose section was
    /// deleted are hidden with it; ones whose section is unknown (a section
    /// id from a newer client) go to the last section rather than vanish.
    pub fn read(&self) -> Roadmap {
        let (sections, activities) = self.placed_activities();
        let mut sections: Vec<Section> = sections
            .into_iter()
            .map(|row| Section { title: self.row_text(&row, "title"), id: row.id, activities: Vec::new() })
            .collect();
        for (index, row) in activities {
            sections[index].activities.push(self.read_activity_row(&row));
        }
        let working_group = self
            .ordered_rows("members")
            .into_iter()
            .map(|row| Member {
                name: self.row_text(&row, MemberField::Name.key()),
                workplace: self.row_text(&row, MemberField::Workplace.key()),
                position: self.row_text(&row, MemberField::Position.key()),
                id: row.id,
            })
            .collect();
        Roadmap { header: self.header(), columns: self.columns(), sections, working_group }
    }

    /// Live sections in order, and the live activities in order with the
    /// index of the section each shows in. Activities of a deleted section
    /// are hidden with it; ones whose section is unknown (an id from a newer
    /// client) go to the last section rather than vanish.
    fn placed_activities(&self) -> (Vec<RowFields>, Vec<(usize, RowFields)>) {
        self.placed_activities_in(None, None)
    }

    fn placed_activities_in(
        &self,
        at: At<'_>,
        only_text: Option<&str>,
    ) -> (Vec<RowFields>, Vec<(usize, RowFields)>) {
        let sections = self.ordered_rows_in(at, "sections", only_text);
        let all_sections = self.child_in(at, &ROOT, "sections");
        let mut placed = Vec::new();
        for row in self.ordered_rows_in(at, "activities", only_text) {
            let index = row.section.as_deref().and_then(|s| sections.iter().position(|x| x.id.as_str() == s));
            let index = match index {
                Some(i) => Some(i),
                None => {
                    let known = match (&all_sections, &row.section) {
                        (Some(map), Some(s)) => self.child_in(at, map, s).is_some(),
                        _ => false,
                    };
                    if known { None } else { sections.len().checked_sub(1) }
                }
            };
            if let Some(index) = index {
                placed.push((index, row));
            }
        }
        (sections, placed)
    }

    /// What execution on a date depends on ([`Progress`]), read at `at`
    /// (`None`: now) without the rest of the roadmap. `None` when the
    /// document was not a roadmap yet at those heads.
    pub fn progress(&self, at: Option<&[ChangeHash]>) -> Option<Progress> {
        let kind = self.get_in(at, &ROOT, "kind").and_then(|(v, _)| v.into_string().ok());
        if kind.as_deref() != Some(DOC_KIND) {
            return None;
        }
        let year = self.year_in(at);
        let deadline_key = ActivityField::Deadline.key();
        let activities = self
            .placed_activities_in(at, Some(deadline_key))
            .1
            .into_iter()
            .map(|(_, row)| {
                let text = row
                    .texts
                    .iter()
                    .find(|(k, _)| k == deadline_key)
                    .and_then(|(_, id)| self.text_in(at, id));
                let due_by = text.and_then(|t| crate::deadline::parse(&t, year).due_by());
                (Status::parse(&row.status), due_by)
            })
            .collect();
        Some(Progress { activities })
    }

    /// How many activities [`RoadmapDoc::read`] would show, without reading
    /// their text.
    pub fn activity_count(&self) -> usize {
        self.placed_activities().1.len()
    }

    /// The current value of a text field.
    pub fn text(&self, target: &TextTarget) -> Result<String, DocError> {
        let (obj, key) = self.text_location(target)?;
        Ok(self.text_at(&obj, key))
    }

    // ---- positions -----------------------------------------------------

    /// A position key between two others (either may be absent). Equal
    /// neighbours (ties from concurrent inserts) cannot be split, so the new
    /// key goes just after `lower`; the id tie-break still keeps a stable
    /// order.
    pub fn pos_between(lower: Option<&str>, upper: Option<&str>) -> String {
        let parse = |s: Option<&str>| s.and_then(|s| FractionalIndex::from_string(s).ok());
        let (lo, hi) = (parse(lower), parse(upper));
        FractionalIndex::new(lo.as_ref(), hi.as_ref())
            .or_else(|| lo.as_ref().map(FractionalIndex::new_after))
            .unwrap_or_default()
            .to_string()
    }

    /// Position keys of the live activities of a section, in order.
    pub fn activity_positions(&self, section: &RowId) -> Vec<(RowId, String)> {
        self.ordered_rows("activities")
            .into_iter()
            .filter(|row| row.section.as_deref() == Some(section.as_str()))
            .map(|row| (row.id, row.pos))
            .collect()
    }

    /// Position keys of the live sections (or members), in order.
    pub fn row_positions(&self, row_kind: RowKind) -> Vec<(RowId, String)> {
        self.ordered_rows(row_kind.map_key()).into_iter().map(|row| (row.id, row.pos)).collect()
    }

    // ---- writing -------------------------------------------------------

    /// Applies the edits that build a document (an import) as changes of
    /// about [`PART_OPS`] operations each, signed alike: the relay takes a
    /// change only whole, and at most
    /// [`crate::sync::relay::MAX_OPS_PER_MESSAGE`] at a time. Not for one
    /// person's action (that is one change, [`Self::apply`]): on an error,
    /// what came before it stays, and the caller drops the document.
    pub fn apply_in_parts(&mut self, edits: Vec<Edit>, time: i64, message: &str) -> Result<(), DocError> {
        let commit = |doc: &mut AutoCommit| {
            doc.commit_with(CommitOptions::default().with_time(time).with_message(message));
        };
        for edit in edits {
            if let Err(e) = self.apply_one(edit) {
                self.doc.rollback();
                return Err(e);
            }
            if self.doc.pending_ops() >= PART_OPS {
                commit(&mut self.doc);
            }
        }
        commit(&mut self.doc);
        Ok(())
    }

    /// The most operations any one change of the document holds.
    pub fn largest_change(&mut self) -> usize {
        self.doc.get_changes(&[]).iter().map(|c| c.len()).max().unwrap_or(0)
    }

    /// A roadmap from a file, as this device may sync it: itself, or
    /// [`Self::written_afresh`] (without its history) when one of its
    /// changes is bigger than the relay takes in one message.
    pub fn fit_to_sync(mut self, time: i64, message: &str) -> Result<RoadmapDoc, DocError> {
        let largest = crate::sync::chunks::Size::change(self.largest_change());
        if largest.cost() <= crate::sync::relay::MAX_OPS_PER_MESSAGE {
            Ok(self)
        } else {
            self.written_afresh(time, message)
        }
    }

    /// The same roadmap (what [`Self::read`] shows: no deleted rows, no
    /// history) written into a new document in parts ([`Self::apply_in_parts`]):
    /// for a file another program wrote in changes too big for the relay.
    pub fn written_afresh(&self, time: i64, message: &str) -> Result<RoadmapDoc, DocError> {
        let roadmap = self.read();
        let header = &roadmap.header;
        let new = NewRoadmap {
            title: header.title.clone(),
            level: header.level,
            territory: header.territory.clone(),
            year: header.year,
            columns: roadmap.columns.clone(),
        };
        let first = roadmap.sections.first().map_or_else(|| RowId::new("s0"), |s| s.id.clone());
        let mut doc = RoadmapDoc::create(&new, first);
        let mut edits: Vec<Edit> =
            [HeaderField::Approval, HeaderField::Abbreviations, HeaderField::Footnotes]
                .into_iter()
                .filter(|field| !header.text(*field).is_empty())
                .map(|field| Edit::SetText {
                    target: TextTarget::Header(field),
                    value: header.text(field).to_owned(),
                })
                .collect();
        let mut section_pos = doc.row_positions(RowKind::Section).first().map(|(_, pos)| pos.clone());
        for (index, section) in roadmap.sections.iter().enumerate() {
            if index == 0 {
                edits.push(Edit::SetText {
                    target: TextTarget::Section(section.id.clone()),
                    value: section.title.clone(),
                });
            } else {
                let pos = Self::pos_between(section_pos.as_deref(), None);
                edits.push(Edit::Create(Box::new(NewRow::Section {
                    id: section.id.clone(),
                    pos: pos.clone(),
                    title: section.title.clone(),
                })));
                section_pos = Some(pos);
            }
            let mut activity_pos: Option<String> = None;
            for activity in &section.activities {
                let pos = Self::pos_between(activity_pos.as_deref(), None);
                edits.push(Edit::Create(Box::new(NewRow::Activity {
                    section: section.id.clone(),
                    pos: pos.clone(),
                    activity: activity.clone(),
                })));
                activity_pos = Some(pos);
            }
        }
        let mut member_pos: Option<String> = None;
        for member in &roadmap.working_group {
            let pos = Self::pos_between(member_pos.as_deref(), None);
            edits.push(Edit::Create(Box::new(NewRow::Member { pos: pos.clone(), member: member.clone() })));
            member_pos = Some(pos);
        }
        doc.apply_in_parts(edits, time, message)?;
        Ok(doc)
    }

    /// Applies the edits of one user action as one Automerge change and
    /// returns the edits that undo it (in the order to apply them).
    /// `time` is the wall clock in milliseconds, recorded in the change.
    pub fn apply(&mut self, edits: Vec<Edit>, time: i64, message: &str) -> Result<Vec<Edit>, DocError> {
        let mut inverse = Vec::with_capacity(edits.len());
        for edit in edits {
            match self.apply_one(edit) {
                Ok(undo) => inverse.push(undo),
                Err(e) => {
                    self.doc.rollback();
                    return Err(e);
                }
            }
        }
        self.doc.commit_with(CommitOptions::default().with_time(time).with_message(message));
        inverse.reverse();
        Ok(inverse)
    }

    fn text_location(&self, target: &TextTarget) -> Result<(ObjId, &'static str), DocError> {
        Ok(match target {
            TextTarget::Header(field) => (self.header_obj().ok_or(DocError::NotARoadmap)?, field.key()),
            TextTarget::Column(index) => {
                let list = self.columns_list().ok_or(DocError::NotARoadmap)?;
                match self.doc.get(&list, *index)? {
                    Some((Value::Object(ObjType::Map), obj)) => (obj, "title"),
                    _ => return Err(DocError::NoSuchRow(RowId::new(format!("column {index}")))),
                }
            }
            TextTarget::Section(id) => (self.row_obj("sections", id)?, "title"),
            TextTarget::Activity(id, field) => (self.row_obj("activities", id)?, field.key()),
            TextTarget::Member(id, field) => (self.row_obj("members", id)?, field.key()),
        })
    }

    /// Refuses an edit that would take the roadmap past the limits the
    /// relay holds every writer to ([`crate::layout`]), so that the relay
    /// never refuses this app's changes.
    fn check_limits(&self, edit: &Edit) -> Result<(), DocError> {
        use crate::layout::{MAX_COLUMNS, MAX_ID_BYTES, MAX_ROWS, MAX_TEXT_CHARS, MAX_VALUE_BYTES};
        let text = |value: &str| {
            if value.chars().count() > MAX_TEXT_CHARS { Err(DocError::TextTooLong) } else { Ok(()) }
        };
        let value =
            |value: &str| if value.len() > MAX_VALUE_BYTES { Err(DocError::ValueTooLong) } else { Ok(()) };
        let new_row = |rows: &str, id: &RowId, pos: &str| {
            value(pos)?;
            if id.as_str().is_empty() || id.as_str().len() > MAX_ID_BYTES {
                return Err(DocError::ValueTooLong);
            }
            let map = self.child(&ROOT, rows).ok_or(DocError::NotARoadmap)?;
            if self.doc.get(&map, id.as_str())?.is_some() {
                return Err(DocError::RowExists(id.clone()));
            }
            if self.doc.length(&map) >= MAX_ROWS { Err(DocError::TooManyRows) } else { Ok(()) }
        };
        match edit {
            Edit::SetText { value, .. } => text(value),
            Edit::SetCompletedOn { date, .. } | Edit::SetAdoptedOn(date) => value(date),
            Edit::SetStatusNote { note, evidence, .. } => value(note).and(value(evidence)),
            Edit::PlaceActivity { pos, section, .. } => value(pos).and(value(section.as_str())),
            Edit::PlaceSection { pos, .. } | Edit::PlaceMember { pos, .. } => value(pos),
            Edit::Create(row) => match &**row {
                NewRow::Section { id, pos, title } => new_row("sections", id, pos).and(text(title)),
                NewRow::Activity { section, pos, activity } => {
                    new_row("activities", &activity.id, pos)?;
                    value(section.as_str())?;
                    value(&activity.completed_on)?;
                    value(&activity.status_note)?;
                    value(&activity.status_evidence)?;
                    ActivityField::ALL.iter().try_for_each(|f| text(activity.text(*f)))
                }
                NewRow::Member { pos, member } => {
                    new_row("members", &member.id, pos)?;
                    MemberField::ALL.iter().try_for_each(|f| text(member.text(*f)))
                }
            },
            Edit::AddColumn(column) => {
                let list = self.columns_list().ok_or(DocError::NotARoadmap)?;
                if self.doc.length(&list) >= MAX_COLUMNS {
                    return Err(DocError::TooManyColumns);
                }
                text(&column.title)
            }
            Edit::SetStatus { .. }
            | Edit::SetLevel(_)
            | Edit::SetYear(_)
            | Edit::SetDeleted { .. }
            | Edit::RemoveColumn(_) => Ok(()),
        }
    }

    fn apply_one(&mut self, edit: Edit) -> Result<Edit, DocError> {
        self.check_limits(&edit)?;
        Ok(match edit {
            Edit::SetText { target, value } => {
                let (obj, key) = self.text_location(&target)?;
                let before = self.text_at(&obj, key);
                let text = match self.doc.get(&obj, key)? {
                    Some((Value::Object(ObjType::Text), id)) => id,
                    // Only a document written by another program lacks the
                    // text object; create it rather than refuse the edit.
                    _ => self.doc.put_object(&obj, key, ObjType::Text)?,
                };
                self.doc.update_text(&text, &value)?;
                Edit::SetText { target, value: before }
            }
            Edit::SetStatus { activity, status } => {
                let obj = self.row_obj("activities", &activity)?;
                let before = Status::parse(&self.str_at(&obj, "status").unwrap_or_default());
                self.doc.put(&obj, "status", status.as_str())?;
                Edit::SetStatus { activity, status: before }
            }
            Edit::SetCompletedOn { activity, date } => {
                let obj = self.row_obj("activities", &activity)?;
                let before = self.str_at(&obj, "completed_on").unwrap_or_default();
                self.doc.put(&obj, "completed_on", date)?;
                Edit::SetCompletedOn { activity, date: before }
            }
            Edit::SetStatusNote { activity, note, evidence } => {
                let obj = self.row_obj("activities", &activity)?;
                let before = (
                    self.str_at(&obj, "status_note").unwrap_or_default(),
                    self.str_at(&obj, "status_evidence").unwrap_or_default(),
                );
                self.doc.put(&obj, "status_note", note)?;
                self.doc.put(&obj, "status_evidence", evidence)?;
                Edit::SetStatusNote { activity, note: before.0, evidence: before.1 }
            }
            Edit::SetLevel(level) => {
                let h = self.header_obj().ok_or(DocError::NotARoadmap)?;
                let before = self.header().level;
                self.doc.put(&h, "level", level.roadmap_key())?;
                Edit::SetLevel(before)
            }
            Edit::SetYear(year) => {
                let h = self.header_obj().ok_or(DocError::NotARoadmap)?;
                let before = self.header().year;
                put_year(&mut self.doc, &h, year)?;
                Edit::SetYear(before)
            }
            Edit::SetAdoptedOn(date) => {
                let h = self.header_obj().ok_or(DocError::NotARoadmap)?;
                let before = self.str_at(&h, "adopted_on").unwrap_or_default();
                self.doc.put(&h, "adopted_on", date)?;
                Edit::SetAdoptedOn(before)
            }
            Edit::SetDeleted { row, deleted } => {
                let (map, id) = row_key(&row);
                let obj = self.row_obj(map, id)?;
                let before = self.bool_at(&obj, "deleted");
                self.doc.put(&obj, "deleted", deleted)?;
                Edit::SetDeleted { row, deleted: before }
            }
            Edit::PlaceActivity { activity, section, pos } => {
                let obj = self.row_obj("activities", &activity)?;
                self.row_obj("sections", &section)?;
                let before_section = self.str_at(&obj, "section").unwrap_or_default();
                let before_pos = self.str_at(&obj, "pos").unwrap_or_default();
                self.doc.put(&obj, "section", section.as_str())?;
                self.doc.put(&obj, "pos", pos)?;
                Edit::PlaceActivity { activity, section: RowId::new(before_section), pos: before_pos }
            }
            Edit::PlaceSection { section, pos } => {
                let obj = self.row_obj("sections", &section)?;
                let before = self.str_at(&obj, "pos").unwrap_or_default();
                self.doc.put(&obj, "pos", pos)?;
                Edit::PlaceSection { section, pos: before }
            }
            Edit::PlaceMember { member, pos } => {
                let obj = self.row_obj("members", &member)?;
                let before = self.str_at(&obj, "pos").unwrap_or_default();
                self.doc.put(&obj, "pos", pos)?;
                Edit::PlaceMember { member, pos: before }
            }
            Edit::Create(row) => self.create_row(*row)?,
            Edit::AddColumn(column) => {
                let list = self.columns_list().ok_or(DocError::NotARoadmap)?;
                let index = self.doc.length(&list);
                insert_column(&mut self.doc, &list, index, &column)?;
                Edit::RemoveColumn(index)
            }
            Edit::RemoveColumn(index) => {
                let list = self.columns_list().ok_or(DocError::NotARoadmap)?;
                let column = self
                    .columns()
                    .get(index)
                    .cloned()
                    .ok_or_else(|| DocError::NoSuchRow(RowId::new(format!("column {index}"))))?;
                self.doc.delete(&list, index)?;
                Edit::AddColumn(column)
            }
        })
    }

    fn create_row(&mut self, row: NewRow) -> Result<Edit, DocError> {
        let doc = &mut self.doc;
        let map_of = |doc: &AutoCommit, key: &str| match doc.get(ROOT, key) {
            Ok(Some((Value::Object(ObjType::Map), id))) => Ok(id),
            _ => Err(DocError::NotARoadmap),
        };
        Ok(match row {
            NewRow::Section { id, pos, title } => {
                let map = map_of(doc, "sections")?;
                let obj = doc.put_object(&map, id.as_str(), ObjType::Map)?;
                let text = doc.put_object(&obj, "title", ObjType::Text)?;
                doc.update_text(&text, &title)?;
                doc.put(&obj, "pos", pos)?;
                doc.put(&obj, "deleted", false)?;
                Edit::SetDeleted { row: RowRef::Section(id), deleted: true }
            }
            NewRow::Activity { section, pos, activity } => {
                let map = map_of(doc, "activities")?;
                let obj = doc.put_object(&map, activity.id.as_str(), ObjType::Map)?;
                doc.put(&obj, "section", section.as_str())?;
                doc.put(&obj, "pos", pos)?;
                doc.put(&obj, "deleted", false)?;
                doc.put(&obj, "status", activity.status.as_str())?;
                doc.put(&obj, "completed_on", activity.completed_on.as_str())?;
                for (key, value) in
                    [("status_note", &activity.status_note), ("status_evidence", &activity.status_evidence)]
                {
                    if !value.is_empty() {
                        doc.put(&obj, key, value.as_str())?;
                    }
                }
                for field in ActivityField::ALL {
                    let text = doc.put_object(&obj, field.key(), ObjType::Text)?;
                    let value = activity.text(field);
                    if !value.is_empty() {
                        doc.update_text(&text, value)?;
                    }
                }
                Edit::SetDeleted { row: RowRef::Activity(activity.id), deleted: true }
            }
            NewRow::Member { pos, member } => {
                let map = map_of(doc, "members")?;
                let obj = doc.put_object(&map, member.id.as_str(), ObjType::Map)?;
                for field in MemberField::ALL {
                    let text = doc.put_object(&obj, field.key(), ObjType::Text)?;
                    doc.update_text(&text, member.text(field))?;
                }
                doc.put(&obj, "pos", pos)?;
                doc.put(&obj, "deleted", false)?;
                Edit::SetDeleted { row: RowRef::Member(member.id), deleted: true }
            }
        })
    }
}

/// What changes from elsewhere touched, so a view can redraw only that.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Touched {
    #[default]
    Nothing,
    /// Only values inside these activities (text, status, date): no row was
    /// added, removed or moved.
    Activities(std::collections::BTreeSet<RowId>),
    /// Anything else: re-read the roadmap.
    Everything,
}

impl Touched {
    /// Both `self` and `other` touched.
    pub fn merge(self, other: Touched) -> Touched {
        match (self, other) {
            (Touched::Nothing, t) | (t, Touched::Nothing) => t,
            (Touched::Activities(mut a), Touched::Activities(b)) => {
                a.extend(b);
                Touched::Activities(a)
            }
            _ => Touched::Everything,
        }
    }
}

/// Fields of an activity that place it; a change to one of them moves rows.
const PLACING_FIELDS: [&str; 3] = ["pos", "section", "deleted"];

impl RoadmapDoc {
    /// Runs `f` (typically: apply a sync message) and says what it changed.
    /// Patches are recorded only for the duration of `f`, so local typing
    /// does not pay for them.
    pub fn tracking<R>(&mut self, f: impl FnOnce(&mut AutoCommit) -> R) -> (R, Touched) {
        let before = self.doc.get_heads();
        self.doc.update_diff_cursor();
        let result = f(&mut self.doc);
        let touched = if self.doc.get_heads() == before {
            Touched::Nothing
        } else if before.is_empty() {
            Touched::Everything
        } else {
            touched_by(&self.doc.diff_incremental())
        };
        self.doc.reset_diff_cursor();
        (result, touched)
    }
}

/// Classifies patches by the rows they are under.
fn touched_by(patches: &[automerge::Patch]) -> Touched {
    use automerge::{PatchAction, Prop};
    let mut rows = std::collections::BTreeSet::new();
    for patch in patches {
        let (Some((_, Prop::Map(top))), Some((_, Prop::Map(row)))) = (patch.path.first(), patch.path.get(1))
        else {
            return Touched::Everything;
        };
        if top != "activities" {
            return Touched::Everything;
        }
        // A patch on the row's own map (not inside one of its texts) that
        // sets a placing field moves the row.
        if patch.path.len() == 2
            && let PatchAction::PutMap { key, .. } | PatchAction::DeleteMap { key } = &patch.action
            && PLACING_FIELDS.contains(&key.as_str())
        {
            return Touched::Everything;
        }
        rows.insert(RowId::new(row.clone()));
    }
    Touched::Activities(rows)
}

/// What one pass over a row's map yields.
/// Where the private readers read: the current state, or at these heads.
type At<'a> = Option<&'a [ChangeHash]>;

struct RowFields {
    id: RowId,
    obj: ObjId,
    pos: String,
    section: Option<String>,
    deleted: bool,
    status: String,
    completed_on: String,
    status_note: String,
    status_evidence: String,
    /// Text fields by key, as object ids (read only when needed).
    texts: Vec<(String, ObjId)>,
}

/// The kinds of ordered rows outside sections.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RowKind {
    Section,
    Member,
}

impl RowKind {
    fn map_key(self) -> &'static str {
        match self {
            RowKind::Section => "sections",
            RowKind::Member => "members",
        }
    }
}

fn row_key(row: &RowRef) -> (&'static str, &RowId) {
    match row {
        RowRef::Section(id) => ("sections", id),
        RowRef::Activity(id) => ("activities", id),
        RowRef::Member(id) => ("members", id),
    }
}

fn put_year(doc: &mut AutoCommit, header: &ObjId, year: Option<i32>) -> Result<(), AutomergeError> {
    match year {
        Some(y) => doc.put(header, "year", i64::from(y)),
        None => doc.put(header, "year", ScalarValue::Null),
    }
}

fn insert_column(
    doc: &mut AutoCommit,
    list: &ObjId,
    index: usize,
    column: &Column,
) -> Result<(), AutomergeError> {
    let obj = doc.insert_object(list, index, ObjType::Map)?;
    doc.put(&obj, "field", column.field.key())?;
    let title = doc.put_object(&obj, "title", ObjType::Text)?;
    doc.update_text(&title, &column.title)
}

/// An empty activity with the given id (the starting point for a new row).
/// Most characters of a title the relay keeps in its registry.
pub const REGISTRY_TITLE_CHARS: usize = 300;

/// A roadmap's title read from a document as the relay holds it (the
/// header's «Название»; empty when there is none), cut to
/// [`REGISTRY_TITLE_CHARS`]: what lists show before the roadmap is on a
/// device.
pub fn title_of(doc: &impl ReadDoc) -> String {
    let Ok(Some((Value::Object(ObjType::Map), header))) = doc.get(ROOT, "header") else {
        return String::new();
    };
    let title = match doc.get(&header, HeaderField::Title.key()) {
        // The relay reads this for every change it takes: a long title is
        // read up to what is kept, character by character, never whole.
        Ok(Some((Value::Object(ObjType::Text), text))) if doc.length(&text) > REGISTRY_TITLE_CHARS * 2 => (0
            ..REGISTRY_TITLE_CHARS * 2)
            .filter_map(|i| match doc.get(&text, i) {
                Ok(Some((Value::Scalar(s), _))) => match s.as_ref() {
                    ScalarValue::Str(c) => Some(c.to_string()),
                    _ => None,
                },
                _ => None,
            })
            .collect(),
        Ok(Some((Value::Object(ObjType::Text), text))) => doc.text(&text).unwrap_or_default(),
        Ok(Some((Value::Scalar(s), _))) => match s.as_ref() {
            ScalarValue::Str(s) => s.to_string(),
            _ => String::new(),
        },
        _ => String::new(),
    };
    title.trim().chars().take(REGISTRY_TITLE_CHARS).collect()
}

pub fn blank_activity(id: RowId) -> Activity {
    Activity {
        id,
        number: String::new(),
        description: String::new(),
        form: String::new(),
        deadline: String::new(),
        responsible: String::new(),
        indicator: String::new(),
        report_form: String::new(),
        evidence: String::new(),
        comments: String::new(),
        status: Status::Planned,
        completed_on: String::new(),
        status_note: String::new(),
        status_evidence: String::new(),
    }
}
