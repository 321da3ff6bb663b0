//! A roadmap read from a file, before it becomes a document: what the import
//! preview shows and lets the person change (the column mapping, the title,
//! the level), and how it turns into a new roadmap document
//! ([`ParsedRoadmap::to_document`]). The .docx reader that fills it
//! ([`super::import`]) is heavy and is not part of the app's own download;
//! this part is.

use crate::access::Level;
use crate::deadline::{self, Deadline};
use crate::doc::{self, Edit, NewRoadmap, NewRow, RoadmapDoc, TextTarget, blank_activity};
use crate::ids::RowId;
use crate::model::{ActivityField, Column, HeaderField, Member};
use crate::typed_doc::DocError;
use serde::{Deserialize, Serialize};

/// The level a roadmap gets when nothing in the file names one. Imports are
/// mostly coordinators bringing over existing regional plans; the preview
/// lets the user pick another level before the document is created.
pub const DEFAULT_LEVEL: Level = Level::Region;

/// What a .docx roadmap holds, before it becomes a document.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParsedRoadmap {
    pub title: String,
    /// Guessed from the title and approval words; None if nothing says.
    pub level: Option<Level>,
    /// Best effort («Сахалинской области», «Мышкинском районе»); may be empty.
    pub territory: String,
    /// From the title («на 2022 год»), else the commonest year of the deadlines.
    pub year: Option<i32>,
    /// The approval block, lines joined by `\n`.
    pub approval: String,
    pub abbreviations: String,
    pub footnotes: String,
    /// The activities table's columns, in order. Their `field`s are the
    /// column mapping in effect.
    pub columns: Vec<ParsedColumn>,
    pub sections: Vec<ParsedSection>,
    pub working_group: Vec<ParsedMember>,
    /// Russian, for the person importing («Строка 14: …»).
    pub warnings: Vec<String>,
    /// The day the plan was adopted (`YYYY-MM-DD`), as the person
    /// importing states it; empty when not stated. Files do not say it in
    /// a form worth guessing from.
    #[serde(default)]
    pub adopted_on: String,
}

/// One column of the activities table and the field it is mapped to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParsedColumn {
    /// As written, without a trailing footnote digit; «Столбец N» if blank.
    pub title: String,
    pub field: Option<ActivityField>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParsedSection {
    pub title: String,
    pub activities: Vec<ParsedActivity>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParsedActivity {
    /// The number cell normalized (`1. 1` → `1.1`); empty when unnumbered.
    pub number: String,
    /// Text of each column (number column included), one per column.
    pub cells: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParsedMember {
    pub name: String,
    pub workplace: String,
    pub position: String,
}

impl ParsedRoadmap {
    /// Text of activity `a` for `field` under the current mapping; several
    /// columns mapped to one field are joined with `\n`. The number is
    /// normalized like [`ParsedActivity::number`].
    pub fn cell(&self, a: &ParsedActivity, field: ActivityField) -> String {
        let parts: Vec<&str> = self
            .columns
            .iter()
            .zip(&a.cells)
            .filter(|(column, text)| column.field == Some(field) && !text.is_empty())
            .map(|(_, text)| text.as_str())
            .collect();
        let text = parts.join("\n");
        if field == ActivityField::Number { normalize_number(&text) } else { text }
    }

    /// The deadline of an activity under the current mapping, read with the
    /// roadmap's year.
    pub fn deadline(&self, a: &ParsedActivity) -> Deadline {
        deadline::parse(&self.cell(a, ActivityField::Deadline), self.year)
    }

    /// The document's columns: mapped columns in order with their original
    /// titles; unmapped ones are dropped, and of several columns mapped to
    /// one field the first gives the title.
    pub fn document_columns(&self) -> Vec<Column> {
        let mut columns: Vec<Column> = Vec::new();
        for column in &self.columns {
            if let Some(field) = column.field
                && !columns.iter().any(|c| c.field == field)
            {
                columns.push(Column { field, title: column.title.clone() });
            }
        }
        columns
    }

    /// A new roadmap document holding all of it: the empty roadmap, then the
    /// import at `time_ms` (in parts a sync message takes,
    /// [`RoadmapDoc::apply_in_parts`]), signed by `author` and
    /// naming `file_name`: the activities' history says who imported them
    /// and from which file, see [`crate::history::import_action`]; with
    /// the adoption date, when stated, which makes the plan count from
    /// then on monitoring dates). `new_id` supplies random
    /// row ids; the first call names the first section. Refused (with the
    /// reason in Russian) when the document holds more than a roadmap may
    /// ([`crate::layout`]: a cell over the text limit, too many rows).
    pub fn to_document(
        &self,
        new_id: &mut dyn FnMut() -> RowId,
        time_ms: i64,
        author: &str,
        file_name: &str,
    ) -> Result<RoadmapDoc, DocError> {
        let new = NewRoadmap {
            title: self.title.clone(),
            level: self.level.unwrap_or(DEFAULT_LEVEL),
            territory: self.territory.clone(),
            year: self.year,
            columns: self.document_columns(),
        };
        if [&new.title, &new.territory].iter().any(|t| t.chars().count() > crate::layout::MAX_TEXT_CHARS) {
            return Err(DocError::TextTooLong);
        }
        let first_section = new_id();
        let mut doc = RoadmapDoc::create(&new, first_section.clone());
        let mut edits = self.header_edits();
        if let Some(day) = crate::deadline::parse_iso(&self.adopted_on) {
            edits.push(Edit::SetAdoptedOn(crate::deadline::iso(day)));
        }
        let mut section_pos = doc.row_positions(doc::RowKind::Section).first().map(|(_, pos)| pos.clone());
        for (index, section) in self.sections.iter().enumerate() {
            let id = if index == 0 {
                first_section.clone()
            } else {
                let pos = RoadmapDoc::pos_between(section_pos.as_deref(), None);
                section_pos = Some(pos.clone());
                let id = new_id();
                edits.push(Edit::Create(Box::new(NewRow::Section {
                    id: id.clone(),
                    pos,
                    title: section.title.clone(),
                })));
                id
            };
            if index == 0 && !section.title.is_empty() {
                edits.push(Edit::SetText {
                    target: TextTarget::Section(id.clone()),
                    value: section.title.clone(),
                });
            }
            self.activity_edits(section, &id, new_id, &mut edits);
        }
        self.member_edits(new_id, &mut edits);
        let message = crate::history::signed(&crate::history::import_action(file_name), author);
        doc.apply_in_parts(edits, time_ms, &message)?;
        Ok(doc)
    }

    fn header_edits(&self) -> Vec<Edit> {
        [
            (HeaderField::Approval, &self.approval),
            (HeaderField::Abbreviations, &self.abbreviations),
            (HeaderField::Footnotes, &self.footnotes),
        ]
        .into_iter()
        .filter(|(_, text)| !text.is_empty())
        .map(|(field, text)| Edit::SetText { target: TextTarget::Header(field), value: text.clone() })
        .collect()
    }

    fn activity_edits(
        &self,
        section: &ParsedSection,
        section_id: &RowId,
        new_id: &mut dyn FnMut() -> RowId,
        edits: &mut Vec<Edit>,
    ) {
        let mapped: Vec<ActivityField> = self.document_columns().iter().map(|c| c.field).collect();
        let mut pos: Option<String> = None;
        for parsed in &section.activities {
            let next = RoadmapDoc::pos_between(pos.as_deref(), None);
            let mut activity = blank_activity(new_id());
            for &field in &mapped {
                *activity.text_mut(field) = self.cell(parsed, field);
            }
            edits.push(Edit::Create(Box::new(NewRow::Activity {
                section: section_id.clone(),
                pos: next.clone(),
                activity,
            })));
            pos = Some(next);
        }
    }

    fn member_edits(&self, new_id: &mut dyn FnMut() -> RowId, edits: &mut Vec<Edit>) {
        let mut pos: Option<String> = None;
        for m in &self.working_group {
            let next = RoadmapDoc::pos_between(pos.as_deref(), None);
            let member = Member {
                id: new_id(),
                name: m.name.clone(),
                workplace: m.workplace.clone(),
                position: m.position.clone(),
            };
            edits.push(Edit::Create(Box::new(NewRow::Member { pos: next.clone(), member })));
            pos = Some(next);
        }
    }
}

// ---------------------------------------------------------------------------
// Text helpers the reader shares.

/// `1. 1` → `1.1`, `3.2.` → `3.2`, `4, 1.` → `4,1`. Text that is not a
/// number is only trimmed.
pub(crate) fn normalize_number(text: &str) -> String {
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    if is_activity_number(&compact) {
        compact.trim_end_matches(['.', ',']).to_owned()
    } else {
        normalize_space(text)
    }
}

/// Digit groups joined by `.` or `,`, with an optional trailing dot: `1`,
/// `1.1`, `3.2.`, `4, 1.`.
pub(crate) fn is_activity_number(text: &str) -> bool {
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let body = compact.trim_end_matches(['.', ',']);
    !body.is_empty()
        && body.len() <= 16
        && body.split(['.', ',']).all(|group| !group.is_empty() && group.chars().all(|c| c.is_ascii_digit()))
}

/// Collapses whitespace (non-breaking spaces included) and drops soft
/// hyphens and zero-width characters.
pub(crate) fn normalize_space(text: &str) -> String {
    let visible: String = text.chars().filter(|c| !matches!(c, '\u{ad}' | '\u{200b}' | '\u{feff}')).collect();
    visible.split_whitespace().collect::<Vec<_>>().join(" ")
}
