//! Local undo/redo over [`Edit`]s.
//!
//! Each entry holds the inverse edits of one user action. Undoing applies
//! them as a new change, so it merges with other people's concurrent work
//! instead of rewinding it. Typing in one field is coalesced into one entry
//! while the field keeps focus, as in any editor.
//!
//! The changes it writes itself (typing, undo, redo) are signed with the
//! author it is given ([`UndoStack::set_author`], see
//! [`crate::history::signed`]), so the history names who undid what.

use crate::doc::{Edit, RoadmapDoc, TextTarget};
use crate::history::signed;
use crate::typed_doc::DocError;

/// How many actions can be undone; older ones are dropped.
const DEPTH: usize = 500;

#[derive(Debug, Default)]
pub struct UndoStack {
    undo: Vec<Entry>,
    redo: Vec<Entry>,
    /// Who signs the changes written here (blank: unsigned).
    author: String,
    /// The serial the next action gets ([`UndoStack::last_action`]).
    next_serial: u64,
}

#[derive(Debug)]
struct Entry {
    /// Names the action, so a notice can undo exactly it later.
    serial: u64,
    inverse: Vec<Edit>,
    /// The text field this entry is typing in, while more typing may join it.
    typing_in: Option<TextTarget>,
}

impl UndoStack {
    pub fn new() -> Self {
        Self::default()
    }

    /// The name that signs typing, undo and redo from now on.
    pub fn set_author(&mut self, author: &str) {
        self.author = author.to_owned();
    }

    /// Applies one user action and records how to undo it.
    pub fn apply(
        &mut self,
        doc: &mut RoadmapDoc,
        edits: Vec<Edit>,
        time: i64,
        message: &str,
    ) -> Result<(), DocError> {
        let inverse = doc.apply(edits, time, message)?;
        self.push(inverse, None);
        Ok(())
    }

    /// Applies typing in a text field. Consecutive typing in the same field
    /// is one undo step until [`UndoStack::seal`] (called on blur).
    pub fn type_text(
        &mut self,
        doc: &mut RoadmapDoc,
        target: TextTarget,
        value: String,
        time: i64,
    ) -> Result<(), DocError> {
        let message = signed("edit text", &self.author);
        let inverse = doc.apply(vec![Edit::SetText { target: target.clone(), value }], time, &message)?;
        let joins = matches!(self.undo.last(), Some(Entry { typing_in: Some(t), .. }) if *t == target);
        if joins {
            self.redo.clear();
        } else {
            self.push(inverse, Some(target));
        }
        Ok(())
    }

    /// Ends the current typing run: the next keystroke starts a new step.
    pub fn seal(&mut self) {
        if let Some(last) = self.undo.last_mut() {
            last.typing_in = None;
        }
    }

    fn push(&mut self, inverse: Vec<Edit>, typing_in: Option<TextTarget>) {
        self.redo.clear();
        let serial = self.serial();
        self.undo.push(Entry { serial, inverse, typing_in });
        if self.undo.len() > DEPTH {
            self.undo.remove(0);
        }
    }

    fn serial(&mut self) -> u64 {
        self.next_serial += 1;
        self.next_serial
    }

    /// The action [`UndoStack::undo`] would undo now, by its serial: what a
    /// notice («Удалено … Отменить») keeps to undo that action and no other.
    pub fn last_action(&self) -> Option<u64> {
        self.undo.last().map(|e| e.serial)
    }

    /// Undoes the action `serial` names, wherever it is in the stack (later
    /// actions stay as they are: its inverse touches only what it changed).
    /// Returns false when it is no longer there (undone already).
    pub fn undo_action(&mut self, doc: &mut RoadmapDoc, serial: u64, time: i64) -> Result<bool, DocError> {
        let Some(at) = self.undo.iter().rposition(|e| e.serial == serial) else {
            return Ok(false);
        };
        let entry = self.undo.remove(at);
        let redo = doc.apply(entry.inverse, time, &signed("undo", &self.author))?;
        let serial = self.serial();
        self.redo.push(Entry { serial, inverse: redo, typing_in: None });
        Ok(true)
    }

    pub fn can_undo(&self) -> bool {
        !self.undo.is_empty()
    }

    pub fn can_redo(&self) -> bool {
        !self.redo.is_empty()
    }

    /// Undoes the last action. Returns false when there is nothing to undo.
    pub fn undo(&mut self, doc: &mut RoadmapDoc, time: i64) -> Result<bool, DocError> {
        let Some(entry) = self.undo.pop() else {
            return Ok(false);
        };
        let redo = doc.apply(entry.inverse, time, &signed("undo", &self.author))?;
        let serial = self.serial();
        self.redo.push(Entry { serial, inverse: redo, typing_in: None });
        Ok(true)
    }

    pub fn redo(&mut self, doc: &mut RoadmapDoc, time: i64) -> Result<bool, DocError> {
        let Some(entry) = self.redo.pop() else {
            return Ok(false);
        };
        let undo = doc.apply(entry.inverse, time, &signed("redo", &self.author))?;
        let serial = self.serial();
        self.undo.push(Entry { serial, inverse: undo, typing_in: None });
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::Level;
    use crate::actions;
    use crate::doc::{NewRoadmap, RowRef};
    use crate::ids::RowId;
    use crate::model::ActivityField;

    fn descriptions(doc: &RoadmapDoc) -> Vec<String> {
        doc.read().sections.into_iter().flat_map(|s| s.activities).map(|a| a.description).collect()
    }

    /// Found by a trial: «Отменить» in the notice after deleting an
    /// activity undid whatever was done last (typing elsewhere), leaving the
    /// activity deleted.
    #[test]
    fn a_notice_undoes_its_own_action_even_after_others() {
        let section = RowId::from_random([100; 8]);
        let new = NewRoadmap {
            title: "Дорожная карта".into(),
            level: Level::School,
            territory: String::new(),
            year: Some(2022),
            columns: Level::School.default_columns(),
        };
        let mut doc = RoadmapDoc::create(&new, section.clone());
        let mut undo = UndoStack::new();
        let (a, b) = (RowId::from_random([1; 8]), RowId::from_random([2; 8]));
        for (row, text) in [(&a, "Первое"), (&b, "Второе")] {
            let insert = actions::insert_activity(&doc, &section, None, row.clone());
            undo.apply(&mut doc, vec![insert], 1, "add").unwrap();
            let target = TextTarget::Activity(row.clone(), ActivityField::Description);
            undo.type_text(&mut doc, target, text.into(), 2).unwrap();
            undo.seal();
        }
        undo.apply(&mut doc, vec![actions::delete(RowRef::Activity(a.clone()))], 3, "delete").unwrap();
        let deletion = undo.last_action().unwrap();
        let target = TextTarget::Activity(b.clone(), ActivityField::Description);
        undo.type_text(&mut doc, target, "Второе +".into(), 4).unwrap();

        assert!(undo.undo_action(&mut doc, deletion, 5).unwrap());
        let mut now = descriptions(&doc);
        now.sort();
        assert_eq!(now, ["Второе +", "Первое"], "the deleted one is back, the later typing stays");
        assert!(!undo.undo_action(&mut doc, deletion, 6).unwrap(), "once only");
        // The toolbar's undo still undoes the typing.
        assert!(undo.undo(&mut doc, 7).unwrap());
        let mut now = descriptions(&doc);
        now.sort();
        assert_eq!(now, ["Второе", "Первое"]);
    }
}
