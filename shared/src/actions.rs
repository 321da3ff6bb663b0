//! What a person does to a roadmap (insert a row here, move it up, delete
//! it), turned into [`Edit`]s against the current document.
//!
//! The UI calls these and hands the edits to [`RoadmapDoc::apply`]; undo and
//! sync see only edits.

pub mod school;

use crate::doc::{Edit, NewRow, RoadmapDoc, RowKind, RowRef, blank_activity};
use crate::ids::RowId;
use crate::model::{Activity, Member};

/// Which way to move a row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    Up,
    Down,
}

/// A new activity in `section`, right after `after` (or first when `None`).
/// Its number is suggested from the section's position and the row's place
/// (`2.3`), since roadmaps number rows that way; the user can change it.
pub fn insert_activity(doc: &RoadmapDoc, section: &RowId, after: Option<&RowId>, id: RowId) -> Edit {
    let rows = doc.activity_positions(section);
    let index = after.and_then(|a| rows.iter().position(|(r, _)| r == a)).map_or(0, |i| i + 1);
    let lower = index.checked_sub(1).map(|i| rows[i].1.as_str());
    let upper = rows.get(index).map(|(_, p)| p.as_str());
    let section_number =
        doc.row_positions(RowKind::Section).iter().position(|(s, _)| s == section).map_or(1, |i| i + 1);
    let activity = Activity { number: format!("{section_number}.{}", index + 1), ..blank_activity(id) };
    Edit::Create(Box::new(NewRow::Activity {
        section: section.clone(),
        pos: RoadmapDoc::pos_between(lower, upper),
        activity,
    }))
}

/// A new section right after `after` (or first when `None`).
pub fn insert_section(doc: &RoadmapDoc, after: Option<&RowId>, id: RowId, title: String) -> Edit {
    let pos = pos_after_row(&doc.row_positions(RowKind::Section), after);
    Edit::Create(Box::new(NewRow::Section { id, pos, title }))
}

/// A new working-group member after `after` (or first).
pub fn insert_member(doc: &RoadmapDoc, after: Option<&RowId>, member: Member) -> Edit {
    let pos = pos_after_row(&doc.row_positions(RowKind::Member), after);
    Edit::Create(Box::new(NewRow::Member { pos, member }))
}

fn pos_after_row(rows: &[(RowId, String)], after: Option<&RowId>) -> String {
    let index = after.and_then(|a| rows.iter().position(|(r, _)| r == a)).map_or(0, |i| i + 1);
    let lower = index.checked_sub(1).map(|i| rows[i].1.as_str());
    let upper = rows.get(index).map(|(_, p)| p.as_str());
    RoadmapDoc::pos_between(lower, upper)
}

/// Moves an activity one place up or down. At the edge of its section it
/// crosses into the neighbouring section (to its end when moving up, to its
/// start when moving down), so rows can be carried anywhere by repetition.
/// `None` when there is nowhere to go.
pub fn move_activity(doc: &RoadmapDoc, id: &RowId, direction: Direction) -> Option<Edit> {
    let (section, _) = doc.activity_place(id)?;
    let rows = doc.activity_positions(&section);
    let index = rows.iter().position(|(r, _)| r == id)?;
    let pos_of = |i: usize| rows.get(i).map(|(_, p)| p.as_str());
    match direction {
        Direction::Up if index > 0 => Some(Edit::PlaceActivity {
            activity: id.clone(),
            section,
            pos: RoadmapDoc::pos_between(index.checked_sub(2).and_then(pos_of), pos_of(index - 1)),
        }),
        Direction::Down if index + 1 < rows.len() => Some(Edit::PlaceActivity {
            activity: id.clone(),
            section,
            pos: RoadmapDoc::pos_between(pos_of(index + 1), pos_of(index + 2)),
        }),
        _ => {
            let sections = doc.row_positions(RowKind::Section);
            let s = sections.iter().position(|(r, _)| *r == section)?;
            let target = match direction {
                Direction::Up => s.checked_sub(1)?,
                Direction::Down => s + 1,
            };
            let (target, _) = sections.get(target)?;
            let target_rows = doc.activity_positions(target);
            let pos = match direction {
                Direction::Up => RoadmapDoc::pos_between(target_rows.last().map(|(_, p)| p.as_str()), None),
                Direction::Down => {
                    RoadmapDoc::pos_between(None, target_rows.first().map(|(_, p)| p.as_str()))
                }
            };
            Some(Edit::PlaceActivity { activity: id.clone(), section: target.clone(), pos })
        }
    }
}

/// Moves an activity into `section` just before `before` (or to its end):
/// what a drag and drop does.
pub fn move_activity_to(
    doc: &RoadmapDoc,
    id: &RowId,
    section: &RowId,
    before: Option<&RowId>,
) -> Option<Edit> {
    if before == Some(id) {
        return None;
    }
    let rows: Vec<(RowId, String)> =
        doc.activity_positions(section).into_iter().filter(|(r, _)| r != id).collect();
    let index = match before {
        Some(b) => rows.iter().position(|(r, _)| r == b)?,
        None => rows.len(),
    };
    let lower = index.checked_sub(1).map(|i| rows[i].1.as_str());
    let upper = rows.get(index).map(|(_, p)| p.as_str());
    Some(Edit::PlaceActivity {
        activity: id.clone(),
        section: section.clone(),
        pos: RoadmapDoc::pos_between(lower, upper),
    })
}

/// Moves a section (or a member) one place up or down.
pub fn move_row(doc: &RoadmapDoc, kind: RowKind, id: &RowId, direction: Direction) -> Option<Edit> {
    let rows = doc.row_positions(kind);
    let index = rows.iter().position(|(r, _)| r == id)?;
    let pos_of = |i: usize| rows.get(i).map(|(_, p)| p.as_str());
    let pos = match direction {
        Direction::Up if index > 0 => {
            RoadmapDoc::pos_between(index.checked_sub(2).and_then(pos_of), pos_of(index - 1))
        }
        Direction::Down if index + 1 < rows.len() => {
            RoadmapDoc::pos_between(pos_of(index + 1), pos_of(index + 2))
        }
        _ => return None,
    };
    Some(match kind {
        RowKind::Section => Edit::PlaceSection { section: id.clone(), pos },
        RowKind::Member => Edit::PlaceMember { member: id.clone(), pos },
    })
}

/// Deletes a row (a flag: undo restores it with everything it held).
pub fn delete(row: RowRef) -> Edit {
    Edit::SetDeleted { row, deleted: true }
}
