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
use crate::typed_doc::{DocError, Kind, TypedDoc, View};
use automerge::transaction::{CommitOptions, Transactable};
use automerge::{AutoCommit, AutomergeError, ChangeHash, ObjId, ObjType, ROOT, ReadDoc, ScalarValue, Value};
use fractional_index::FractionalIndex;

/// Marks a document as a medk roadmap.
pub const DOC_KIND: &str = "medk/roadmap";
/// The layout version this code writes. Bump it together with an entry in
/// [`MIGRATIONS`].
pub const SCHEMA_VERSION: u64 = 1;

/// Migrations from older layouts: entry `i` upgrades schema `i + 1` to
/// `i + 2`. Empty while schema 1 is the only one. A roadmap's past is read
/// in place by the current rules ([`TypedDoc::read_at`]), so the first
/// migration must also teach the readers the layout it upgrades from.
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
pub type RoadmapDoc = TypedDoc<Roadmap>;

/// How errors name a roadmap.
const WHAT: &str = "дорожной картой";

impl Kind for Roadmap {
    const KIND: &'static str = DOC_KIND;
    const SCHEMA: u64 = SCHEMA_VERSION;
    const WHAT: &'static str = WHAT;

    /// Unlike the other kinds, a missing or unreadable version is taken as
    /// the first one: the first roadmaps were written before there was one.
    fn check(doc: View<'_>) -> Result<u64, DocError> {
        if doc.str(&ROOT, "kind").as_deref() != Some(DOC_KIND) {
            return Err(DocError::WrongKind(WHAT));
        }
        let schema = doc.scalar(&ROOT, "schema").and_then(|s| crate::layout::schema(&s)).unwrap_or(1);
        if schema > SCHEMA_VERSION { Err(DocError::NewerSchema(schema)) } else { Ok(schema) }
    }

    fn migrate(doc: &mut AutoCommit, from: u64) -> Result<(), DocError> {
        for migrate in MIGRATIONS.get((from as usize).saturating_sub(1)..).unwrap_or_default() {
            migrate(doc)?;
        }
        doc.put(ROOT, "schema", SCHEMA_VERSION)?;
        doc.commit_with(CommitOptions::default().with_message("migrate schema"));
        Ok(())
    }

    /// The whole roadmap in display order. Activities whose section was
    /// deleted are hidden with it; ones whose section is unknown (a section
    /// id from a newer client) go to the last section rather than vanish.
    fn read(doc: View<'_>) -> Roadmap {
        let (sections, activities) = placed_activities(doc, None);
        let mut sections: Vec<Section> = sections
            .into_iter()
            .map(|row| Section { title: row_text(doc, &row, "title"), id: row.id, activities: Vec::new() })
            .collect();
        for (index, row) in activities {
            sections[index].activities.push(read_activity_row(doc, &row));
        }
        let working_group = ordered_rows(doc, "members", None)
            .into_iter()
            .map(|row| Member {
                name: row_text(doc, &row, MemberField::Name.key()),
                workplace: row_text(doc, &row, MemberField::Workplace.key()),
                position: row_text(doc, &row, MemberField::Position.key()),
                id: row.id,
            })
            .collect();
        Roadmap { header: read_header(doc), columns: read_columns(doc), sections, working_group }
    }
}

impl RoadmapDoc {
    /// A new roadmap with one empty section.
    pub fn create(new: &NewRoadmap, first_section: RowId) -> Self {
        let mut doc = AutoCommit::new();
        Self::init(&mut doc, new, first_section).expect("writing to a fresh document cannot fail");
        doc.commit_with(CommitOptions::default().with_message("create roadmap"));
        Self::new(doc)
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

    // ---- reading ----------------------------------------------------------
    //
    // The readers below take a `View`: the roadmap now, or as it stood at
    // past heads, read in place. One set of rules for what a roadmap shows,
    // now and on a past date. `read` is [`Kind::read`].

    pub fn header(&self) -> Header {
        read_header(self.now())
    }

    /// The day the plan was adopted ([`Header::adopted_on`]), read alone:
    /// monitoring asks it of every roadmap on every date.
    pub fn adopted_on(&self) -> Option<time::Date> {
        let now = self.now();
        crate::deadline::parse_iso(&now.str(&now.map(&ROOT, "header")?, "adopted_on")?)
    }

    pub fn columns(&self) -> Vec<Column> {
        read_columns(self.now())
    }

    /// One activity, also when deleted (for undo and history).
    pub fn activity(&self, id: &RowId) -> Option<Activity> {
        let now = self.now();
        let obj = row_obj(now, "activities", id).ok()?;
        Some(read_activity_row(now, &row_fields(now, id.clone(), obj, None)))
    }

    /// The section an activity is in, and its position key.
    pub fn activity_place(&self, id: &RowId) -> Option<(RowId, String)> {
        let now = self.now();
        let obj = row_obj(now, "activities", id).ok()?;
        Some((RowId::new(now.str(&obj, "section")?), now.str(&obj, "pos").unwrap_or_default()))
    }

    pub fn section_pos(&self, id: &RowId) -> Option<String> {
        let obj = row_obj(self.now(), "sections", id).ok()?;
        self.now().str(&obj, "pos")
    }

    pub fn member_pos(&self, id: &RowId) -> Option<String> {
        let obj = row_obj(self.now(), "members", id).ok()?;
        self.now().str(&obj, "pos")
    }

    /// What execution on a date depends on ([`Progress`]), read at `at`
    /// (`None`: now) without the rest of the roadmap. `None` when the
    /// document was not a roadmap at those heads.
    pub fn progress(&self, at: Option<&[ChangeHash]>) -> Option<Progress> {
        let doc = match at {
            None => self.now(),
            Some(heads) => View::at(&self.doc, heads),
        };
        Roadmap::check(doc).ok()?;
        let year = read_year(doc);
        let deadline_key = ActivityField::Deadline.key();
        let activities = placed_activities(doc, Some(deadline_key))
            .1
            .into_iter()
            .map(|(_, row)| {
                let text =
                    row.texts.iter().find(|(k, _)| k == deadline_key).and_then(|(_, id)| doc.text_of(id));
                let due_by = text.and_then(|t| crate::deadline::parse(&t, year).due_by());
                (Status::parse(&row.status), due_by)
            })
            .collect();
        Some(Progress { activities })
    }

    /// How many activities [`TypedDoc::read`] would show, without reading
    /// their text.
    pub fn activity_count(&self) -> usize {
        placed_activities(self.now(), None).1.len()
    }

    /// The current value of a text field.
    pub fn text(&self, target: &TextTarget) -> Result<String, DocError> {
        let (obj, key) = self.text_location(target)?;
        Ok(self.now().text(&obj, key))
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
        ordered_rows(self.now(), "activities", None)
            .into_iter()
            .filter(|row| row.section.as_deref() == Some(section.as_str()))
            .map(|row| (row.id, row.pos))
            .collect()
    }

    /// Position keys of the live sections (or members), in order.
    pub fn row_positions(&self, row_kind: RowKind) -> Vec<(RowId, String)> {
        ordered_rows(self.now(), row_kind.map_key(), None).into_iter().map(|row| (row.id, row.pos)).collect()
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
        self.change(time, message, |doc| {
            let mut inverse =
                edits.into_iter().map(|edit| doc.apply_one(edit)).collect::<Result<Vec<_>, _>>()?;
            inverse.reverse();
            Ok(inverse)
        })
    }

    /// The header map, which every roadmap this code wrote has.
    fn header_obj(&self) -> Result<ObjId, DocError> {
        self.now().map(&ROOT, "header").ok_or(DocError::WrongKind(WHAT))
    }

    /// The list of columns, which every roadmap this code wrote has.
    fn columns_list(&self) -> Result<ObjId, DocError> {
        self.now().list(&ROOT, "columns").ok_or(DocError::WrongKind(WHAT))
    }

    fn row_obj(&self, map: &str, id: &RowId) -> Result<ObjId, DocError> {
        row_obj(self.now(), map, id)
    }

    fn text_location(&self, target: &TextTarget) -> Result<(ObjId, &'static str), DocError> {
        Ok(match target {
            TextTarget::Header(field) => (self.header_obj()?, field.key()),
            TextTarget::Column(index) => {
                let list = self.columns_list()?;
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
            let map = self.now().map(&ROOT, rows).ok_or(DocError::WrongKind(WHAT))?;
            if self.doc.get(&map, id.as_str())?.is_some() {
                return Err(DocError::RowExists(id.clone()));
            }
            let rows = self.doc.length(&map);
            if rows >= MAX_ROWS { Err(DocError::TooManyRows(rows)) } else { Ok(()) }
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
                let list = self.columns_list()?;
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
                let before = self.now().text(&obj, key);
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
                let before = Status::parse(&self.replace_str(&obj, "status", status.as_str())?);
                Edit::SetStatus { activity, status: before }
            }
            Edit::SetCompletedOn { activity, date } => {
                let obj = self.row_obj("activities", &activity)?;
                Edit::SetCompletedOn { date: self.replace_str(&obj, "completed_on", &date)?, activity }
            }
            Edit::SetStatusNote { activity, note, evidence } => {
                let obj = self.row_obj("activities", &activity)?;
                let note = self.replace_str(&obj, "status_note", &note)?;
                let evidence = self.replace_str(&obj, "status_evidence", &evidence)?;
                Edit::SetStatusNote { activity, note, evidence }
            }
            Edit::SetLevel(level) => {
                let h = self.header_obj()?;
                let before = self.header().level;
                self.doc.put(&h, "level", level.roadmap_key())?;
                Edit::SetLevel(before)
            }
            Edit::SetYear(year) => {
                let h = self.header_obj()?;
                let before = self.header().year;
                put_year(&mut self.doc, &h, year)?;
                Edit::SetYear(before)
            }
            Edit::SetAdoptedOn(date) => {
                let h = self.header_obj()?;
                Edit::SetAdoptedOn(self.replace_str(&h, "adopted_on", &date)?)
            }
            Edit::SetDeleted { row, deleted } => {
                let (map, id) = row_key(&row);
                let obj = self.row_obj(map, id)?;
                let before = self.now().bool(&obj, "deleted");
                self.doc.put(&obj, "deleted", deleted)?;
                Edit::SetDeleted { row, deleted: before }
            }
            Edit::PlaceActivity { activity, section, pos } => {
                let obj = self.row_obj("activities", &activity)?;
                self.row_obj("sections", &section)?;
                let section = RowId::new(self.replace_str(&obj, "section", section.as_str())?);
                Edit::PlaceActivity { activity, section, pos: self.replace_str(&obj, "pos", &pos)? }
            }
            Edit::PlaceSection { section, pos } => {
                let obj = self.row_obj("sections", &section)?;
                Edit::PlaceSection { section, pos: self.replace_str(&obj, "pos", &pos)? }
            }
            Edit::PlaceMember { member, pos } => {
                let obj = self.row_obj("members", &member)?;
                Edit::PlaceMember { member, pos: self.replace_str(&obj, "pos", &pos)? }
            }
            Edit::Create(row) => self.create_row(*row)?,
            Edit::AddColumn(column) => {
                let list = self.columns_list()?;
                let index = self.doc.length(&list);
                insert_column(&mut self.doc, &list, index, &column)?;
                Edit::RemoveColumn(index)
            }
            Edit::RemoveColumn(index) => {
                let list = self.columns_list()?;
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

    /// Writes the string `value` under `key` of `obj` and returns what was
    /// there (empty when nothing or no string was): the inverse of the write.
    fn replace_str(&mut self, obj: &ObjId, key: &str, value: &str) -> Result<String, DocError> {
        let before = self.now().str(obj, key).unwrap_or_default();
        self.doc.put(obj, key, value)?;
        Ok(before)
    }

    fn create_row(&mut self, row: NewRow) -> Result<Edit, DocError> {
        let doc = &mut self.doc;
        let map_of = |doc: &AutoCommit, key: &str| match doc.get(ROOT, key) {
            Ok(Some((Value::Object(ObjType::Map), id))) => Ok(id),
            _ => Err(DocError::WrongKind(WHAT)),
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

fn read_header(doc: View<'_>) -> Header {
    let Some(h) = doc.map(&ROOT, "header") else {
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
    Header {
        title: doc.text(&h, HeaderField::Title.key()),
        level: doc.str(&h, "level").and_then(|l| Level::from_roadmap_key(&l)).unwrap_or(Level::School),
        territory: doc.text(&h, HeaderField::Territory.key()),
        year: read_year(doc),
        approval: doc.text(&h, HeaderField::Approval.key()),
        abbreviations: doc.text(&h, HeaderField::Abbreviations.key()),
        footnotes: doc.text(&h, HeaderField::Footnotes.key()),
        adopted_on: doc.str(&h, "adopted_on").unwrap_or_default(),
    }
}

fn read_year(doc: View<'_>) -> Option<i32> {
    match doc.scalar(&doc.map(&ROOT, "header")?, "year")? {
        ScalarValue::Int(n) => i32::try_from(n).ok(),
        ScalarValue::Uint(n) => i32::try_from(n).ok(),
        ScalarValue::F64(n) => Some(n as i32),
        _ => None,
    }
}

fn read_columns(doc: View<'_>) -> Vec<Column> {
    let Some(list) = doc.list(&ROOT, "columns") else {
        return Vec::new();
    };
    (0..doc.length(&list))
        .filter_map(|i| match doc.get(&list, i) {
            Some((Value::Object(ObjType::Map), obj)) => {
                let field = ActivityField::from_key(&doc.str(&obj, "field")?)?;
                Some(Column { field, title: doc.text(&obj, "title") })
            }
            _ => None,
        })
        .collect()
}

/// Live rows of a map (`sections`, `activities`, `members`) in display
/// order, each with its fields read in one pass over the row's map (a `get`
/// per field is several times slower on big roadmaps). `only_text`: the
/// one text field whose object id is wanted (`None`: all).
fn ordered_rows(doc: View<'_>, key: &str, only_text: Option<&str>) -> Vec<RowFields> {
    let Some(map) = doc.map(&ROOT, key) else {
        return Vec::new();
    };
    let mut rows: Vec<RowFields> = doc
        .map_range(&map)
        .filter(|item| matches!(item.value, automerge::ValueRef::Object(ObjType::Map)))
        .map(|item| row_fields(doc, RowId::new(item.key.to_string()), item.id(), only_text))
        .filter(|row| !row.deleted)
        .collect();
    rows.sort_by(|a, b| a.pos.cmp(&b.pos).then_with(|| a.id.cmp(&b.id)));
    rows
}

fn row_fields(doc: View<'_>, id: RowId, obj: ObjId, only_text: Option<&str>) -> RowFields {
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
    for item in doc.map_range(&row.obj) {
        use automerge::ScalarValueRef as S;
        match (&*item.key, &item.value) {
            (key, automerge::ValueRef::Object(ObjType::Text)) if only_text.is_none_or(|only| only == key) => {
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
fn row_text(doc: View<'_>, row: &RowFields, key: &str) -> String {
    row.texts.iter().find(|(k, _)| k == key).and_then(|(_, id)| doc.text_of(id)).unwrap_or_default()
}

fn read_activity_row(doc: View<'_>, row: &RowFields) -> Activity {
    let mut activity = Activity {
        status: Status::parse(&row.status),
        completed_on: row.completed_on.clone(),
        status_note: row.status_note.clone(),
        status_evidence: row.status_evidence.clone(),
        ..blank_activity(row.id.clone())
    };
    for (key, text) in &row.texts {
        if let Some(field) = ActivityField::from_key(key) {
            *activity.text_mut(field) = doc.text_of(text).unwrap_or_default();
        }
    }
    activity
}

fn row_obj(doc: View<'_>, map: &str, id: &RowId) -> Result<ObjId, DocError> {
    doc.map(&ROOT, map).and_then(|m| doc.map(&m, id.as_str())).ok_or_else(|| DocError::NoSuchRow(id.clone()))
}

/// Live sections in order, and the live activities in order with the
/// index of the section each shows in. Activities of a deleted section
/// are hidden with it; ones whose section is unknown (an id from a newer
/// client) go to the last section rather than vanish.
fn placed_activities(doc: View<'_>, only_text: Option<&str>) -> (Vec<RowFields>, Vec<(usize, RowFields)>) {
    let sections = ordered_rows(doc, "sections", only_text);
    let all_sections = doc.map(&ROOT, "sections");
    let mut placed = Vec::new();
    for row in ordered_rows(doc, "activities", only_text) {
        let index = row.section.as_deref().and_then(|s| sections.iter().position(|x| x.id.as_str() == s));
        let index = match index {
            Some(i) => Some(i),
            None => {
                let known = match (&all_sections, &row.section) {
                    (Some(map), Some(s)) => doc.map(map, s).is_some(),
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

/// What one pass over a row's map yields.
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
    let doc = View::now(doc);
    let Some(header) = doc.map(&ROOT, "header") else {
        return String::new();
    };
    let title = match doc.get(&header, HeaderField::Title.key()) {
        // The relay reads this for every change it takes: a long title is
        // read up to what is kept, character by character, never whole.
        Some((Value::Object(ObjType::Text), text)) if doc.length(&text) > REGISTRY_TITLE_CHARS * 2 => (0
            ..REGISTRY_TITLE_CHARS * 2)
            .filter_map(|i| match doc.get(&text, i) {
                Some((Value::Scalar(s), _)) => match s.as_ref() {
                    ScalarValue::Str(c) => Some(c.to_string()),
                    _ => None,
                },
                _ => None,
            })
            .collect(),
        _ => doc.text(&header, HeaderField::Title.key()),
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
