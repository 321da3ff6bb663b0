//! What a writer of a school file may change: the relay checks every
//! change a device sends ([`vet_changes`]) against the sender's
//! [`SchoolPowers`] and takes nothing from a device that breaks them. Also
//! the one fact the relay reads from a school file itself
//! ([`assigned_curator`]).

use super::SchoolDoc;
use super::model::Decision;
use crate::access::SchoolPowers;
use crate::typed_doc::View;
use automerge::{ObjId, ObjType, ROOT, ReadDoc, ScalarValue};

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
) -> Result<(), Forbidden> {
    use automerge::legacy::{Key, ObjectId, OpType};
    use std::collections::BTreeSet;
    let powers = sender.powers;
    if powers.curate && powers.assign {
        return Ok(());
    }
    let genesis = SchoolDoc::genesis(school).heads();
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
                let kind = if path.is_empty() { Breaks::Layout } else { Breaks::Role };
                let detail = format!("change {} {what}, which its author may not", change.hash());
                return Err(Forbidden { kind, detail });
            }
        }
        if let Some(id) = new_file.difference(&resubmitted).next() {
            return Err(Forbidden {
                kind: Breaks::Role,
                detail: format!(
                    "change {} gives document {id} a new file without submitting it again, which its author may not",
                    change.hash()
                ),
            });
        }
    }
    Ok(())
}

/// Why a change to a school file is refused ([`vet_changes`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Forbidden {
    pub kind: Breaks,
    /// Which change and what it did, for logs and a details line.
    pub detail: String,
}

/// What a refused change to a school file would break.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Breaks {
    /// What the file is (its fixed parts): nobody may, whatever their role.
    Layout,
    /// What only a curator or a coordinator may do (visits, decisions, who
    /// serves the school).
    Role,
}

impl Forbidden {
    /// What the person is told.
    pub fn message_ru(&self) -> &'static str {
        match self.kind {
            Breaks::Layout => "изменение файла школы не принято: оно нарушает устройство файла",
            Breaks::Role => {
                "изменение файла школы не принято: его может сделать только куратор или координатор"
            }
        }
    }
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
