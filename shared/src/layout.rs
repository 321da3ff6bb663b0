//! The roadmap's layout as data (schema 1, drawn in [`crate::doc`]): which
//! keys each map of a roadmap document holds and of what type, the limits
//! on its size, and the two checks built on them:
//! - [`problems`]: what of a document its reader could not read as the
//!   layout says (the roadmap still opens; the app shows a warning);
//! - [`vet_changes`]: whether the relay takes changes a writer sent. Every
//!   device applies what any other wrote, so one client that breaks the
//!   layout, whatever program it runs, would break the roadmap for all.
//!
//! What the vetting holds to, op by op (a document's creation, which the
//! relay sees as changes to an empty document, is checked as a whole with
//! [`problems`] instead):
//! - the root is written only by the creation: what the document is
//!   (`kind`, `schema`, its `origin`) and its parts (`header`, `columns`,
//!   the row maps) are never replaced; `schema` moves forward only to a
//!   version this code has a migration for;
//! - rows are added to `sections`, `activities` and `members` as maps under
//!   new ids, never replaced or removed (deletion is the row's flag);
//! - every field holds its type: text fields are Automerge Text (so edits
//!   merge by character), flags are booleans, statuses and levels are
//!   known values; nothing is removed from a map;
//! - text objects take characters only, columns are maps appended to or
//!   removed from the list;
//! - nothing grows past [`MERGED`] times [`MAX_TEXT_CHARS`] per field,
//!   [`RELAY_MAX_ROWS`] per row map, [`MERGED`] times [`MAX_COLUMNS`] columns.
//!
//! Two kinds of limits, so the relay never refuses this app's edits: a
//! device's own edits ([`crate::doc::RoadmapDoc::apply`]) stop at
//! [`MAX_TEXT_CHARS`], [`MAX_ROWS`] and [`MAX_COLUMNS`]; the relay takes
//! [`MERGED`] times as much text and columns (and twice the rows, all an
//! editor can show), because devices that each filled the same field or row
//! map offline merge into more than any of them made.

use std::collections::{HashMap, HashSet};

use automerge::legacy::{Key, ObjectId, Op, OpId, OpType};
use automerge::{Automerge, ObjId, ObjType, ROOT, ReadDoc, ScalarValue, Value};

use crate::access::Level;
use crate::doc::{DOC_KIND, SCHEMA_VERSION};
use crate::ids::DocumentId;
use crate::model::{ActivityField, HeaderField, MemberField, Status};

/// Longest text of one field, in characters: a long «Описание действий» is
/// a few hundred; the header's approval block and footnotes a few thousand.
pub const MAX_TEXT_CHARS: usize = 20_000;
/// Most rows in each of `sections`, `activities` and `members` (deleted
/// ones included: they stay in the map). Large regional roadmaps have a few
/// hundred activities.
pub const MAX_ROWS: usize = 2_500;
/// Most rows in one row map the relay takes: what the editor still handles
/// ([`MERGED`] times [`MAX_ROWS`] would be 25,000 rows, which no device can
/// put on screen). Measured in chromium on the 2-core build machine with
/// empty rows: 3,000 on screen in 11 s, an insert in 1.2 s; 5,000 in about
/// 20 s and 2 s (`e2e/tests/limits.spec.ts` opens a roadmap at this limit).
pub const RELAY_MAX_ROWS: usize = 2 * MAX_ROWS;
/// Most columns.
pub const MAX_COLUMNS: usize = 32;
/// How many times a device's limits a roadmap may hold, merged from several
/// devices: the relay's limits. Ten devices filling one field offline at
/// once is far past anything people do; a hostile change past it is
/// refused (and a document's size is bounded by the relay anyway).
pub const MERGED: usize = 10;
/// Longest row id, in bytes (the app's are 11 characters).
pub const MAX_ID_BYTES: usize = 64;
/// Longest plain value (position keys, statuses, dates, ids), in bytes.
/// Position keys grow a little with each move between the same two rows.
pub const MAX_VALUE_BYTES: usize = 1_024;

/// The three maps of rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Rows {
    Sections,
    Activities,
    Members,
}

impl Rows {
    pub const ALL: [Rows; 3] = [Rows::Sections, Rows::Activities, Rows::Members];

    /// Its key under the root.
    pub fn key(self) -> &'static str {
        match self {
            Rows::Sections => "sections",
            Rows::Activities => "activities",
            Rows::Members => "members",
        }
    }
}

/// Where an object sits in a roadmap.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Place {
    Root,
    Header,
    Columns,
    Column,
    Rows(Rows),
    Row(Rows),
    Text,
}

/// What a key of a map holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Slot {
    Text,
    Str(Known),
    Bool,
    /// An integer or null.
    Year,
    /// A positive integer.
    Schema,
    Map(Place),
    List(Place),
}

/// Which strings a plain string slot takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Known {
    Any,
    Kind,
    Status,
    Level,
    Field,
}

impl Known {
    fn takes(self, s: &str) -> bool {
        s.len() <= MAX_VALUE_BYTES
            && match self {
                Known::Any => true,
                Known::Kind => s == DOC_KIND,
                Known::Status => Status::ALL.iter().any(|k| k.as_str() == s),
                Known::Level => Level::from_roadmap_key(s).is_some(),
                Known::Field => ActivityField::from_key(s).is_some(),
            }
    }
}

/// The root keys a roadmap must have.
const REQUIRED_ROOT_KEYS: [&str; 7] =
    ["kind", "schema", "header", "columns", "sections", "activities", "members"];

/// What `key` of a map at `place` holds; `None`: the key does not belong.
fn slot(place: Place, key: &str) -> Option<Slot> {
    let text = |keys: &[&str]| keys.contains(&key).then_some(Slot::Text);
    match place {
        Place::Root => Some(match key {
            "kind" => Slot::Str(Known::Kind),
            "schema" => Slot::Schema,
            "header" => Slot::Map(Place::Header),
            "columns" => Slot::List(Place::Columns),
            "nonce" | "creator" => Slot::Str(Known::Any),
            _ => Slot::Map(Place::Rows(Rows::ALL.into_iter().find(|r| r.key() == key)?)),
        }),
        Place::Header => match key {
            "level" => Some(Slot::Str(Known::Level)),
            "year" => Some(Slot::Year),
            "adopted_on" => Some(Slot::Str(Known::Any)),
            _ => text(&HeaderField::ALL.map(HeaderField::key)),
        },
        Place::Column => match key {
            "field" => Some(Slot::Str(Known::Field)),
            "title" => Some(Slot::Text),
            _ => None,
        },
        Place::Rows(rows) => valid_id(key).then_some(Slot::Map(Place::Row(rows))),
        Place::Row(rows) => match (rows, key) {
            (_, "pos") => Some(Slot::Str(Known::Any)),
            (_, "deleted") => Some(Slot::Bool),
            (Rows::Sections, "title") => Some(Slot::Text),
            (Rows::Activities, "section" | "completed_on" | "status_note" | "status_evidence") => {
                Some(Slot::Str(Known::Any))
            }
            (Rows::Activities, "status") => Some(Slot::Str(Known::Status)),
            (Rows::Activities, _) => text(&ActivityField::ALL.map(ActivityField::key)),
            (Rows::Members, _) => text(&MemberField::ALL.map(MemberField::key)),
            (Rows::Sections, _) => None,
        },
        Place::Columns | Place::Text => None,
    }
}

fn valid_id(key: &str) -> bool {
    !key.is_empty() && key.len() <= MAX_ID_BYTES
}

/// How a check failed, for the person whose change it was (in Russian).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BreachKind {
    Layout,
    TextTooLong,
    TooManyRows,
    TooManyColumns,
}

impl BreachKind {
    pub fn message_ru(self) -> String {
        match self {
            BreachKind::Layout => "изменение нарушает устройство дорожной карты".to_owned(),
            BreachKind::TextTooLong => {
                format!("текст одного поля длиннее {} знаков", MERGED * MAX_TEXT_CHARS)
            }
            BreachKind::TooManyRows => {
                format!("в дорожной карте больше {} строк одного вида", RELAY_MAX_ROWS)
            }
            BreachKind::TooManyColumns => format!("в дорожной карте больше {} колонок", MERGED * MAX_COLUMNS),
        }
    }
}

/// Something in a roadmap document that is not as the layout says: found
/// in a document ([`problems`]) or in changes to one ([`vet_changes`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Breach {
    pub kind: BreachKind,
    /// Where and what, for logs and a details line (not translated).
    pub detail: String,
}

impl std::fmt::Display for Breach {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.kind.message_ru())
    }
}

impl std::error::Error for Breach {}

fn breach(kind: BreachKind, detail: impl Into<String>) -> Breach {
    Breach { kind, detail: detail.into() }
}

// ---- the document as it is ----------------------------------------------

/// What in `doc` (a roadmap: its `kind` says so) is not as the layout
/// says, each with where it is. Empty for every roadmap this code writes.
/// A reader shows such a roadmap anyway: what is missing or of another type
/// reads as empty.
pub fn problems(doc: &impl ReadDoc) -> Vec<Breach> {
    let mut found = Vec::new();
    check_map(doc, &ROOT, Place::Root, "", &mut found);
    for key in REQUIRED_ROOT_KEYS {
        if !matches!(doc.get(ROOT, key), Ok(Some(_))) {
            found.push(breach(BreachKind::Layout, format!("{key}: missing")));
        }
    }
    found
}

fn check_map(doc: &impl ReadDoc, obj: &ObjId, place: Place, path: &str, found: &mut Vec<Breach>) {
    let mut count = 0;
    for item in doc.map_range(obj, ..) {
        count += 1;
        let key = &*item.key;
        let at = format!("{path}{key}");
        match slot(place, key) {
            None => found.push(breach(BreachKind::Layout, format!("{at}: not a field of the roadmap"))),
            Some(slot) => {
                let id = item.id();
                check_value(doc, slot, item.value.into_value(), &id, &at, found)
            }
        }
    }
    if let Place::Rows(rows) = place
        && count > RELAY_MAX_ROWS
    {
        found.push(breach(BreachKind::TooManyRows, format!("{}: {count} rows", rows.key())));
    }
}

fn check_value(
    doc: &impl ReadDoc,
    slot: Slot,
    value: Value<'_>,
    id: &ObjId,
    at: &str,
    found: &mut Vec<Breach>,
) {
    let wrong = |found: &mut Vec<Breach>, what: &str| {
        found.push(breach(BreachKind::Layout, format!("{at}: {what}")));
    };
    match (slot, value) {
        (Slot::Text, Value::Object(ObjType::Text)) => {
            let chars = doc.length(id);
            if chars > MERGED * MAX_TEXT_CHARS {
                found.push(breach(BreachKind::TextTooLong, format!("{at}: {chars} characters")));
            }
        }
        (Slot::Text, Value::Scalar(s)) if matches!(s.as_ref(), ScalarValue::Str(_)) => {
            wrong(found, "text written as a plain string")
        }
        (Slot::Text, _) => wrong(found, "not text"),
        (Slot::Str(known), Value::Scalar(s)) => match s.as_ref() {
            ScalarValue::Str(s) if known.takes(s) => {}
            ScalarValue::Str(_) => wrong(found, "an unknown or too long value"),
            _ => wrong(found, "not a string"),
        },
        (Slot::Bool, Value::Scalar(s)) if matches!(s.as_ref(), ScalarValue::Boolean(_)) => {}
        (Slot::Year, Value::Scalar(s)) if year(s.as_ref()) => {}
        (Slot::Schema, Value::Scalar(s)) if schema(s.as_ref()).is_some() => {}
        (Slot::Map(place), Value::Object(ObjType::Map)) => {
            check_map(doc, id, place, &format!("{at}/"), found)
        }
        (Slot::List(Place::Columns), Value::Object(ObjType::List)) => {
            let length = doc.length(id);
            if length > MERGED * MAX_COLUMNS {
                found.push(breach(BreachKind::TooManyColumns, format!("{at}: {length} columns")));
            }
            for (i, item) in doc.list_range(id, ..).enumerate() {
                match item.value {
                    automerge::ValueRef::Object(ObjType::Map) => {
                        check_map(doc, &item.id(), Place::Column, &format!("{at}/{i}/"), found)
                    }
                    _ => found.push(breach(BreachKind::Layout, format!("{at}/{i}: not a column"))),
                }
            }
        }
        (slot, _) => wrong(found, &format!("not {}", slot_name(slot))),
    }
}

fn slot_name(slot: Slot) -> &'static str {
    match slot {
        Slot::Text => "text",
        Slot::Str(_) => "a string",
        Slot::Bool => "a boolean",
        Slot::Year => "a year",
        Slot::Schema => "a schema version",
        Slot::Map(_) => "a map",
        Slot::List(_) => "a list",
    }
}

fn year(value: &ScalarValue) -> bool {
    matches!(value, ScalarValue::Int(_) | ScalarValue::Uint(_) | ScalarValue::F64(_) | ScalarValue::Null)
}

/// A schema version as stored (JS peers may write a float).
pub(crate) fn schema(value: &ScalarValue) -> Option<u64> {
    match *value {
        ScalarValue::Uint(n) if n > 0 => Some(n),
        ScalarValue::Int(n) if n > 0 => Some(n as u64),
        ScalarValue::F64(n) if n >= 1.0 && n.fract() == 0.0 && n < u64::MAX as f64 => Some(n as u64),
        _ => None,
    }
}

// ---- who made it -------------------------------------------------------------

/// The id of a roadmap made by `creator` (a person's id, or empty when
/// made signed out) with `nonce`, a random value kept in the document:
/// the relay registers a new roadmap only to someone who holds the
/// document itself (its nonce), and only to its creator when one is named
/// ([`check_origin`]). Knowing the id is not enough to claim it.
pub fn origin_id(creator: &str, nonce: &str) -> DocumentId {
    DocumentId::derived(DOC_KIND, &format!("{creator}/{nonce}"))
}

/// Whether `doc` is the roadmap `id`, made by `claimant` (or by nobody
/// named): its `creator` and `nonce` give its id.
pub fn check_origin(doc: &impl ReadDoc, id: &DocumentId, claimant: &str) -> Result<(), Breach> {
    let string = |key: &str| match doc.get(ROOT, key) {
        Ok(Some((Value::Scalar(s), _))) => match s.as_ref() {
            ScalarValue::Str(s) => Some(s.to_string()),
            _ => None,
        },
        _ => None,
    };
    let (Some(creator), Some(nonce)) = (string("creator"), string("nonce")) else {
        return Err(breach(BreachKind::Layout, "no origin: the roadmap names no nonce"));
    };
    if origin_id(&creator, &nonce) != *id {
        return Err(breach(BreachKind::Layout, "its origin does not give its id"));
    }
    if !creator.is_empty() && creator != claimant {
        return Err(breach(BreachKind::Layout, format!("made by {creator}, not by {claimant}")));
    }
    Ok(())
}

// ---- changes to it -----------------------------------------------------------

/// Whether the relay takes `changes` to the roadmap `id`: `before` is its
/// document (empty when the changes create it), `after` with them. With a
/// `claimant`, the changes would register it to them: it must be theirs
/// ([`check_origin`]). The one check of a roadmap's changes, for the relay
/// and for anything that stands in for it.
pub fn vet_roadmap(
    id: &DocumentId,
    claimant: Option<&str>,
    before: &Automerge,
    after: &Automerge,
    changes: &[automerge::Change],
) -> Result<(), Breach> {
    if let Some(claimant) = claimant {
        check_origin(after, id, claimant)?;
    }
    vet_changes(before, after, changes)
}

/// Checks `changes` sent for a roadmap: `before` is the relay's document
/// without them, `after` with them (see the module doc for the rules).
/// A document that was empty is being created: then `after` as a whole
/// must have no [`problems`].
pub fn vet_changes(
    before: &Automerge,
    after: &Automerge,
    changes: &[automerge::Change],
) -> Result<(), Breach> {
    if before.get_heads().is_empty() {
        return match problems(after).into_iter().next() {
            Some(problem) => Err(problem),
            None => Ok(()),
        };
    }
    let current_schema = match before.get(ROOT, "schema") {
        Ok(Some((Value::Scalar(s), _))) => schema(s.as_ref()).unwrap_or(0),
        _ => 0,
    };
    let mut places = Places::new(before);
    let mut texts: HashSet<OpId> = HashSet::new();
    let mut grown: HashSet<Rows> = HashSet::new();
    let mut columns_grown = false;
    // Keys ops removed a value from: Automerge also writes a removal to
    // settle a conflict (a put of the value one side already has), which
    // is fine as long as the key still holds what it must afterwards.
    let mut removed: Vec<(Option<OpId>, String, Slot)> = Vec::new();
    for change in changes {
        let expanded = change.decode();
        let start = expanded.start_op.get();
        let hash = change.hash();
        for (i, op) in expanded.operations.iter().enumerate() {
            let id = OpId(start.saturating_add(i as u64), expanded.actor_id.clone());
            let fail = |what: &str| breach(BreachKind::Layout, format!("change {hash}: {what}"));
            let place = match &op.obj {
                ObjectId::Root => Place::Root,
                ObjectId::Id(obj) => {
                    places.of(obj).ok_or_else(|| fail("writes into an object the roadmap does not show"))?
                }
            };
            let key = match &op.key {
                Key::Map(key) => Some(key.as_str()),
                Key::Seq(_) => None,
            };
            match (place, key) {
                (Place::Text, None) => {
                    text_op(op).map_err(fail)?;
                    if let ObjectId::Id(obj) = &op.obj {
                        texts.insert(obj.clone());
                    }
                }
                (Place::Columns, None) => match (&op.action, op.insert) {
                    (OpType::Make(ObjType::Map), true) => {
                        places.made.insert(id, Place::Column);
                        columns_grown = true;
                    }
                    (OpType::Delete, false) => {}
                    _ => return Err(fail("puts something other than a column in the columns")),
                },
                (Place::Root, Some(key)) if !op.insert && matches!(op.action, OpType::Delete) => {
                    let slot = slot(place, key).ok_or_else(|| fail(&format!("removes `{key}`")))?;
                    removed.push((None, key.to_owned(), slot));
                }
                (Place::Root, Some("schema")) if !op.insert => match &op.action {
                    OpType::Put(v)
                        if schema(v).is_some_and(|s| s > current_schema && s <= SCHEMA_VERSION) => {}
                    _ => return Err(fail("changes the schema version other than by a known migration")),
                },
                (Place::Root, key) => {
                    return Err(fail(&format!(
                        "rewrites what the roadmap is or replaces one of its parts (`{}`)",
                        key.unwrap_or("?")
                    )));
                }
                (Place::Rows(rows), Some(row)) if !op.insert => {
                    if !valid_id(row) {
                        return Err(fail("adds a row with an empty or too long id"));
                    }
                    if let (OpType::Delete, ObjectId::Id(obj)) = (&op.action, &op.obj) {
                        removed.push((Some(obj.clone()), row.to_owned(), Slot::Map(Place::Row(rows))));
                        continue;
                    }
                    if !matches!(op.action, OpType::Make(ObjType::Map)) {
                        return Err(fail("puts something other than a row in a row map"));
                    }
                    if !places.new_row(rows, row) {
                        return Err(fail("replaces a row"));
                    }
                    places.made.insert(id, Place::Row(rows));
                    grown.insert(rows);
                }
                (Place::Header | Place::Column | Place::Row(_), Some(key)) if !op.insert => {
                    let slot = slot(place, key)
                        .ok_or_else(|| fail(&format!("writes `{key}`, which is not a field")))?;
                    if let (OpType::Delete, ObjectId::Id(obj)) = (&op.action, &op.obj) {
                        removed.push((Some(obj.clone()), key.to_owned(), slot));
                        continue;
                    }
                    if let Some(made) = fits(slot, op).map_err(|what| fail(&format!("`{key}` {what}")))? {
                        places.made.insert(id, made);
                    }
                }
                _ => return Err(fail("is not an edit of a roadmap")),
            }
        }
    }
    for (obj, key, slot) in removed {
        let held = match &obj {
            None => after.get(ROOT, &key).ok().flatten().filter(|now| {
                // The root keeps exactly what it had.
                before.get(ROOT, &key).ok().flatten().is_some_and(|then| then == *now)
            }),
            Some(obj) => exid(after, obj).and_then(|obj| after.get(&obj, &key).ok().flatten()),
        };
        if !held.is_some_and(|(value, _)| holds(slot, &value)) {
            return Err(breach(
                BreachKind::Layout,
                format!("`{key}` is removed or left without a valid value"),
            ));
        }
    }
    for obj in &texts {
        let chars = exid(after, obj).map_or(0, |text| after.length(&text));
        if chars > MERGED * MAX_TEXT_CHARS {
            return Err(breach(BreachKind::TextTooLong, format!("a text of {chars} characters")));
        }
    }
    for rows in grown {
        let count = match after.get(ROOT, rows.key()) {
            Ok(Some((Value::Object(ObjType::Map), map))) => after.length(&map),
            _ => 0,
        };
        if count > RELAY_MAX_ROWS {
            return Err(breach(BreachKind::TooManyRows, format!("{}: {count} rows", rows.key())));
        }
    }
    if columns_grown {
        let count = match after.get(ROOT, "columns") {
            Ok(Some((Value::Object(ObjType::List), list))) => after.length(&list),
            _ => 0,
        };
        if count > MERGED * MAX_COLUMNS {
            return Err(breach(BreachKind::TooManyColumns, format!("{count} columns")));
        }
    }
    Ok(())
}

/// Whether `value` is what `slot` holds.
fn holds(slot: Slot, value: &Value<'_>) -> bool {
    match (slot, value) {
        (Slot::Text, Value::Object(ObjType::Text)) => true,
        (Slot::Map(_), Value::Object(ObjType::Map)) => true,
        (Slot::List(_), Value::Object(ObjType::List)) => true,
        (Slot::Str(known), Value::Scalar(s)) => matches!(s.as_ref(), ScalarValue::Str(s) if known.takes(s)),
        (Slot::Bool, Value::Scalar(s)) => matches!(s.as_ref(), ScalarValue::Boolean(_)),
        (Slot::Year, Value::Scalar(s)) => year(s),
        (Slot::Schema, Value::Scalar(s)) => schema(s).is_some(),
        _ => false,
    }
}

/// An op inside a text object: characters in, characters out.
fn text_op(op: &Op) -> Result<(), &'static str> {
    match &op.action {
        OpType::Put(ScalarValue::Str(s)) if s.len() <= MAX_VALUE_BYTES => Ok(()),
        OpType::Delete if !op.insert => Ok(()),
        _ => Err("puts something other than characters in a text"),
    }
}

/// Whether `op` writes what `slot` holds; the place of the object it makes.
fn fits(slot: Slot, op: &Op) -> Result<Option<Place>, &'static str> {
    match (&op.action, slot) {
        (OpType::Make(ObjType::Text), Slot::Text) => Ok(Some(Place::Text)),
        (OpType::Make(ObjType::Map), Slot::Map(place)) => Ok(Some(place)),
        (OpType::Make(ObjType::List), Slot::List(place)) => Ok(Some(place)),
        (OpType::Put(ScalarValue::Str(s)), Slot::Str(known)) if known.takes(s) => Ok(None),
        (OpType::Put(ScalarValue::Boolean(_)), Slot::Bool) => Ok(None),
        (OpType::Put(v), Slot::Year) if year(v) => Ok(None),
        (OpType::Delete, _) => Err("is removed"),
        (OpType::Put(ScalarValue::Str(_)), Slot::Text) => Err("is text written as a plain string"),
        _ => Err("gets a value of another type"),
    }
}

/// Where the objects changes write into are: the ones `before` shows (found
/// when first asked, the root's parts first and the rows only if needed: a
/// change that types text or adds rows needs none of them), and the ones
/// made by the changes themselves.
struct Places<'a> {
    before: &'a Automerge,
    /// The header, the columns and the row maps.
    parts: Option<HashMap<OpId, Place>>,
    /// Columns and rows.
    rows: Option<HashMap<OpId, Place>>,
    /// Rows the changes added, by row map and id.
    added: HashSet<(Rows, String)>,
    made: HashMap<OpId, Place>,
}

impl<'a> Places<'a> {
    fn new(before: &'a Automerge) -> Self {
        Places { before, parts: None, rows: None, added: HashSet::new(), made: HashMap::new() }
    }

    fn of(&mut self, obj: &OpId) -> Option<Place> {
        if let Some(place) = self.made.get(obj) {
            return Some(*place);
        }
        if let Some(place) = self.parts().get(obj) {
            return Some(*place);
        }
        // Texts are not indexed: any text the document has is a field's.
        let id = exid(self.before, obj)?;
        match self.before.object_type(&id) {
            Ok(ObjType::Text) => Some(Place::Text),
            Ok(ObjType::Map) => self.rows().get(obj).copied(),
            _ => None,
        }
    }

    /// Whether `id` is a new row of `rows` (not in the document nor added
    /// already); remembers it.
    fn new_row(&mut self, rows: Rows, id: &str) -> bool {
        let shown = match self.before.get(ROOT, rows.key()) {
            Ok(Some((Value::Object(ObjType::Map), map))) => matches!(self.before.get(&map, id), Ok(Some(_))),
            _ => false,
        };
        !shown && self.added.insert((rows, id.to_owned()))
    }

    fn child(&self, key: &str) -> Option<ObjId> {
        match self.before.get(ROOT, key) {
            Ok(Some((Value::Object(_), id))) => Some(id),
            _ => None,
        }
    }

    fn parts(&mut self) -> &HashMap<OpId, Place> {
        if self.parts.is_none() {
            let mut parts = HashMap::new();
            if let Some(header) = self.child("header") {
                insert(&mut parts, &header, Place::Header);
            }
            if let Some(columns) = self.child("columns") {
                insert(&mut parts, &columns, Place::Columns);
            }
            for rows in Rows::ALL {
                if let Some(map) = self.child(rows.key()) {
                    insert(&mut parts, &map, Place::Rows(rows));
                }
            }
            self.parts = Some(parts);
        }
        self.parts.get_or_insert_with(HashMap::new)
    }

    fn rows(&mut self) -> &HashMap<OpId, Place> {
        if self.rows.is_none() {
            let doc = self.before;
            let mut found = HashMap::new();
            if let Some(columns) = self.child("columns") {
                for item in doc.list_range(&columns, ..) {
                    if matches!(item.value, automerge::ValueRef::Object(ObjType::Map)) {
                        insert(&mut found, &item.id(), Place::Column);
                    }
                }
            }
            for rows in Rows::ALL {
                let Some(map) = self.child(rows.key()) else { continue };
                for item in doc.map_range(&map, ..) {
                    if matches!(item.value, automerge::ValueRef::Object(ObjType::Map)) {
                        insert(&mut found, &item.id(), Place::Row(rows));
                    }
                }
            }
            self.rows = Some(found);
        }
        self.rows.get_or_insert_with(HashMap::new)
    }
}

fn insert(places: &mut HashMap<OpId, Place>, obj: &ObjId, place: Place) {
    if let ObjId::Id(counter, actor, _) = obj {
        places.insert(OpId(*counter, actor.clone()), place);
    }
}

/// The id `doc` knows `obj` by, if it has it.
fn exid(doc: &Automerge, obj: &OpId) -> Option<ObjId> {
    doc.import_obj(&format!("{}@{}", obj.0, obj.1)).ok()
}
