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
}

#[derive(Debug)]
struct Entry {
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
        self.undo.push(Entry { inverse, typing_in });
        if self.undo.len() > DEPTH {
            self.undo.remove(0);
        }
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
        self.redo.push(Entry { inverse: redo, typing_in: None });
        Ok(true)
    }

    pub fn redo(&mut self, doc: &mut RoadmapDoc, time: i64) -> Result<bool, DocError> {
        let Some(entry) = self.redo.pop() else {
            return Ok(false);
        };
        let undo = doc.apply(entry.inverse, time, &signed("redo", &self.author))?;
        self.undo.push(Entry { inverse: undo, typing_in: None });
        Ok(true)
    }
}
