//! The roadmap as plain data: what `doc` reads out of an Automerge document
//! and what the UI, exports and indicators work with.
//!
//! These types are a read-only view; every change goes through
//! [`crate::doc::RoadmapDoc`], the single writer.

use crate::ids::RowId;
use serde::{Deserialize, Serialize};

use crate::access::Level;

/// What a roadmap makes of its [`Level`] (the type itself is the
/// organisation tree's, in [`crate::access`]).
impl Level {
    /// The columns a new roadmap of this level starts with: the layouts seen
    /// in real roadmaps of that level (see the fixtures).
    pub fn default_columns(self) -> Vec<Column> {
        use ActivityField::*;
        let kinds: &[ActivityField] = match self {
            Level::Federal | Level::Region => &[Number, Description, Responsible, Deadline, Indicator],
            Level::Municipality => &[Number, Description, Deadline, Indicator],
            Level::School => &[Number, Description, Form, Deadline, Responsible, Indicator, ReportForm],
        };
        kinds.iter().map(|&field| Column::standard(field)).collect()
    }
}

/// The text fields of an activity. A roadmap's columns are a choice among
/// these, each with the title that roadmap uses for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ActivityField {
    /// «№ п/п»: kept as written (`1.1`, `3.2.`, `4,1.`).
    Number,
    Description,
    Form,
    Deadline,
    Responsible,
    Indicator,
    ReportForm,
    Evidence,
    Comments,
}

impl ActivityField {
    pub const ALL: [ActivityField; 9] = [
        ActivityField::Number,
        ActivityField::Description,
        ActivityField::Form,
        ActivityField::Deadline,
        ActivityField::Responsible,
        ActivityField::Indicator,
        ActivityField::ReportForm,
        ActivityField::Evidence,
        ActivityField::Comments,
    ];

    /// The key of this field in the Automerge document; never change it.
    pub fn key(self) -> &'static str {
        match self {
            ActivityField::Number => "number",
            ActivityField::Description => "description",
            ActivityField::Form => "form",
            ActivityField::Deadline => "deadline",
            ActivityField::Responsible => "responsible",
            ActivityField::Indicator => "indicator",
            ActivityField::ReportForm => "report_form",
            ActivityField::Evidence => "evidence",
            ActivityField::Comments => "comments",
        }
    }

    pub fn from_key(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.key() == key)
    }

    /// The usual column title in Russian roadmaps.
    pub fn label_ru(self) -> &'static str {
        match self {
            ActivityField::Number => "№ п/п",
            ActivityField::Description => "Содержание мероприятия",
            ActivityField::Form => "Форма проведения",
            ActivityField::Deadline => "Сроки",
            ActivityField::Responsible => "Ответственный исполнитель",
            ActivityField::Indicator => "Показатель реализации",
            ActivityField::ReportForm => "Форма отчета",
            ActivityField::Evidence => "Подтверждение исполнения",
            ActivityField::Comments => "Комментарии",
        }
    }
}

/// One column a roadmap shows: which field, under which title.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Column {
    pub field: ActivityField,
    pub title: String,
}

impl Column {
    pub fn standard(field: ActivityField) -> Self {
        Self { field, title: field.label_ru().to_owned() }
    }
}

/// Where an activity stands.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    #[default]
    Planned,
    InProgress,
    Done,
    NotDone,
    Cancelled,
}

impl Status {
    pub const ALL: [Status; 5] =
        [Status::Planned, Status::InProgress, Status::Done, Status::NotDone, Status::Cancelled];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Planned => "planned",
            Status::InProgress => "in-progress",
            Status::Done => "done",
            Status::NotDone => "not-done",
            Status::Cancelled => "cancelled",
        }
    }

    /// Unknown values (from a newer client) read as planned rather than fail.
    pub fn parse(text: &str) -> Status {
        Status::ALL.into_iter().find(|s| s.as_str() == text).unwrap_or_default()
    }

    pub fn label_ru(self) -> &'static str {
        match self {
            Status::Planned => "Запланировано",
            Status::InProgress => "Выполняется",
            Status::Done => "Выполнено",
            Status::NotDone => "Не выполнено",
            Status::Cancelled => "Отменено",
        }
    }
}

/// Header text fields of a roadmap.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HeaderField {
    Title,
    /// Territory (region, municipality) or school name.
    Territory,
    /// «УТВЕРЖДАЮ: Начальник отдела образования …».
    Approval,
    /// «Принятые сокращения: ОО — …».
    Abbreviations,
    Footnotes,
}

impl HeaderField {
    pub const ALL: [HeaderField; 5] = [
        HeaderField::Title,
        HeaderField::Territory,
        HeaderField::Approval,
        HeaderField::Abbreviations,
        HeaderField::Footnotes,
    ];

    pub fn key(self) -> &'static str {
        match self {
            HeaderField::Title => "title",
            HeaderField::Territory => "territory",
            HeaderField::Approval => "approval",
            HeaderField::Abbreviations => "abbreviations",
            HeaderField::Footnotes => "footnotes",
        }
    }
}

/// Working-group text fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MemberField {
    Name,
    Workplace,
    Position,
}

impl MemberField {
    pub const ALL: [MemberField; 3] = [MemberField::Name, MemberField::Workplace, MemberField::Position];

    pub fn key(self) -> &'static str {
        match self {
            MemberField::Name => "name",
            MemberField::Workplace => "workplace",
            MemberField::Position => "position",
        }
    }

    pub fn label_ru(self) -> &'static str {
        match self {
            MemberField::Name => "ФИО",
            MemberField::Workplace => "Место работы",
            MemberField::Position => "Должность",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    pub title: String,
    pub level: Level,
    pub territory: String,
    pub year: Option<i32>,
    pub approval: String,
    pub abbreviations: String,
    pub footnotes: String,
    /// The day the plan was adopted (`YYYY-MM-DD`), or empty when nobody
    /// said. An imported plan counts on monitoring dates from that day,
    /// also before the import (see [`crate::history`]).
    #[serde(default)]
    pub adopted_on: String,
}

impl Header {
    /// [`Header::adopted_on`] read as a date.
    pub fn adopted(&self) -> Option<time::Date> {
        crate::deadline::parse_iso(&self.adopted_on)
    }

    pub fn text(&self, field: HeaderField) -> &str {
        match field {
            HeaderField::Title => &self.title,
            HeaderField::Territory => &self.territory,
            HeaderField::Approval => &self.approval,
            HeaderField::Abbreviations => &self.abbreviations,
            HeaderField::Footnotes => &self.footnotes,
        }
    }

    pub fn text_mut(&mut self, field: HeaderField) -> &mut String {
        match field {
            HeaderField::Title => &mut self.title,
            HeaderField::Territory => &mut self.territory,
            HeaderField::Approval => &mut self.approval,
            HeaderField::Abbreviations => &mut self.abbreviations,
            HeaderField::Footnotes => &mut self.footnotes,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Activity {
    pub id: RowId,
    pub number: String,
    pub description: String,
    pub form: String,
    pub deadline: String,
    pub responsible: String,
    pub indicator: String,
    pub report_form: String,
    pub evidence: String,
    pub comments: String,
    pub status: Status,
    /// ISO date (`YYYY-MM-DD`) the activity was done, or empty.
    pub completed_on: String,
    /// What the person who last changed the status said about it (why it
    /// is not done, what was done), or empty. Earlier notes are in the
    /// activity's history.
    #[serde(default)]
    pub status_note: String,
    /// The evidence given with that status (a link, a document's name).
    #[serde(default)]
    pub status_evidence: String,
}

impl Activity {
    /// The comment and evidence given with the status, as the editor, the
    /// printed report and the .docx report show them; empty when none.
    pub fn status_note_ru(&self) -> String {
        let evidence =
            (!self.status_evidence.is_empty()).then(|| format!("Подтверждение: {}", self.status_evidence));
        [(!self.status_note.is_empty()).then(|| self.status_note.clone()), evidence]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" · ")
    }

    pub fn text(&self, field: ActivityField) -> &str {
        match field {
            ActivityField::Number => &self.number,
            ActivityField::Description => &self.description,
            ActivityField::Form => &self.form,
            ActivityField::Deadline => &self.deadline,
            ActivityField::Responsible => &self.responsible,
            ActivityField::Indicator => &self.indicator,
            ActivityField::ReportForm => &self.report_form,
            ActivityField::Evidence => &self.evidence,
            ActivityField::Comments => &self.comments,
        }
    }

    pub fn text_mut(&mut self, field: ActivityField) -> &mut String {
        match field {
            ActivityField::Number => &mut self.number,
            ActivityField::Description => &mut self.description,
            ActivityField::Form => &mut self.form,
            ActivityField::Deadline => &mut self.deadline,
            ActivityField::Responsible => &mut self.responsible,
            ActivityField::Indicator => &mut self.indicator,
            ActivityField::ReportForm => &mut self.report_form,
            ActivityField::Evidence => &mut self.evidence,
            ActivityField::Comments => &mut self.comments,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Section {
    pub id: RowId,
    pub title: String,
    pub activities: Vec<Activity>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub id: RowId,
    pub name: String,
    pub workplace: String,
    pub position: String,
}

impl Member {
    pub fn text(&self, field: MemberField) -> &str {
        match field {
            MemberField::Name => &self.name,
            MemberField::Workplace => &self.workplace,
            MemberField::Position => &self.position,
        }
    }

    pub fn text_mut(&mut self, field: MemberField) -> &mut String {
        match field {
            MemberField::Name => &mut self.name,
            MemberField::Workplace => &mut self.workplace,
            MemberField::Position => &mut self.position,
        }
    }
}

/// A whole roadmap, in display order, without deleted rows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Roadmap {
    pub header: Header,
    pub columns: Vec<Column>,
    pub sections: Vec<Section>,
    pub working_group: Vec<Member>,
}

impl Roadmap {
    pub fn activity_count(&self) -> usize {
        self.sections.iter().map(|s| s.activities.len()).sum()
    }
}
