//! Reading an existing .docx roadmap into plain data ([`ParsedRoadmap`]), so
//! a preview can show it, the user can fix the column mapping, and
//! [`ParsedRoadmap::to_document`] can turn it into a new roadmap.
//!
//! Real roadmaps are Word files typed by hand or converted from PDF, so the
//! reader looks for meaning, not for one layout:
//! - **The activities table** is the table whose header row (one of its first
//!   three rows) names the most activity fields ([`guess_field`]). Later
//!   tables with the same header are the same table broken by a page or a
//!   slide and are read as its continuation. With no such header, the
//!   largest table of three or more columns is taken, its columns are guessed
//!   from their content and a warning says so.
//! - **Before the table**: the title is the last paragraph naming a roadmap
//!   («дорожная карта», «план мероприятий») and the paragraphs that follow it;
//!   the approval block runs from the first «УТВЕРЖДАЮ» / «ПРИЛОЖЕНИЕ» /
//!   «СОГЛАСОВАНО» line up to the title. Other text (page numbers, document
//!   codes, slides) is not kept.
//! - **After the table**: lines about abbreviations («Принятые сокращения»,
//!   «ОО – …») go to `abbreviations` without their footnote marker; other
//!   lines starting with a footnote marker (`1 Далее – Проект 500+`) go to
//!   `footnotes` as written. A table with a «ФИО» column is the working group.
//! - **Rows**: a row whose only text spans several columns, or is a numbered
//!   heading («1. Организационное …», «II. …», «Раздел 2»), or is bold, starts
//!   a section. Empty rows, repeated header rows (after a page break) and a
//!   row of column numbers («1 | 2 | 3 | 4») are dropped. A row with no number
//!   whose description is empty or starts in lower case continues the
//!   previous activity (a row split by a page break in a converted file): it
//!   is merged into it, with a warning so the user can check.
//! - **Numbers**: `ParsedActivity::number` is normalized: whitespace removed
//!   and trailing dots dropped (`1. 1` → `1.1`, `3.2.` → `3.2`, `4, 1.` →
//!   `4,1`); the cell keeps what was written. The document gets the
//!   normalized number, so rows typed as `1.1` and `1.1.` agree.
//! - **Merged cells**: a horizontally merged cell (gridSpan) holds its text in
//!   its first column. A vertically merged cell (vMerge) reads as the text of
//!   the merge start in every row it covers: one «Ответственный» cell spanning
//!   three activities makes all three responsible. A vMerge in the number
//!   column means the row is still the same activity, so it is merged into it.
//! - **Text**: paragraphs of a cell are joined by `\n`, whitespace inside a
//!   paragraph is collapsed. Superscript digits (footnote markers) are
//!   dropped; a trailing footnote digit typed as plain text in a column title
//!   («показатель реализации2») is stripped. A table nested in a cell is read
//!   as lines of text, with a warning.
//! - **Guesses** (level, territory, year) come from the title first, then the
//!   approval block, then the rest of the text; a roadmap of unknown level
//!   becomes [`DEFAULT_LEVEL`] in the document.
//!
//! Limits: files over [`MAX_DOCX_BYTES`] are refused before unzipping, an
//! archive that unpacks to more than [`MAX_UNPACKED_BYTES`] is refused, and
//! a gridSpan counts for at most `MAX_COLUMNS` (64) columns. docx-rs 0.4.22
//! unwraps its read of each zip part, so a part whose data fails its CRC or
//! whose deflate stream is broken would panic inside it: every part is
//! unpacked and checked once with the same zip crate before docx-rs sees
//! the file (a few milliseconds for a roadmap), so such files are errors.
//! Word's automatic list numbering is not evaluated (the number cell reads
//! empty, with a warning), and footnotes stored in `footnotes.xml` are not
//! read (docx-rs does not read that part).

pub use super::parsed::{
    DEFAULT_LEVEL, ParsedActivity, ParsedColumn, ParsedMember, ParsedRoadmap, ParsedSection,
};
use super::parsed::{is_activity_number, normalize_number, normalize_space};
use crate::access::Level;
use crate::deadline;
use crate::model::ActivityField;
use docx_rs::{
    Bold, DocumentChild, Hyperlink, InsertChild, MoveToChild, Paragraph, ParagraphChild, ReadDocxOptions,
    Run, RunChild, StructuredDataTag, StructuredDataTagChild, Table, TableCell, TableCellContent, TableChild,
    TableRowChild, VertAlign, VertAlignType,
};
use serde_json::{Map, Value, json};

/// The largest .docx accepted. Real roadmaps are well under 1 MB; the limit
/// keeps a browser tab from unzipping something huge.
pub const MAX_DOCX_BYTES: usize = 20 * 1024 * 1024;
/// The most a .docx may hold once unpacked (a real roadmap: a few MB).
pub const MAX_UNPACKED_BYTES: u64 = 200 * 1024 * 1024;

/// More grid columns than any roadmap has; bounds what a crafted gridSpan
/// can make the reader allocate.
const MAX_COLUMNS: usize = 64;

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("файл слишком большой ({size_mb} МБ); можно загрузить файл не больше 20 МБ")]
    TooLarge { size_mb: usize },
    /// The detail (from the zip/XML reader, in English) is for logs.
    #[error("файл повреждён или не является документом Word (.docx)")]
    Damaged(String),
    #[error("в документе не найдена таблица мероприятий")]
    NoTable,
    #[error("файл распаковывается больше чем в 200 МБ: это не похоже на дорожную карту")]
    TooLargeUnpacked,
}

/// Reads a .docx roadmap. This code never panics on bad input; see the
/// module docs for what docx-rs itself does with some damaged zip data.
pub fn parse_docx(bytes: &[u8]) -> Result<ParsedRoadmap, ImportError> {
    if bytes.len() > MAX_DOCX_BYTES {
        return Err(ImportError::TooLarge { size_mb: bytes.len().div_ceil(1024 * 1024) });
    }
    check_archive(bytes)?;
    let options = ReadDocxOptions::default().with_image_previews(false);
    let docx =
        docx_rs::read_docx_with_options(bytes, options).map_err(|e| ImportError::Damaged(e.to_string()))?;
    let mut sink = BlockSink::default();
    for child in &docx.document.children {
        sink.document_child(child);
    }
    read_roadmap(sink.blocks)
}

/// Unpacks every part of the archive once, checking each against its CRC,
/// before docx-rs reads it: docx-rs unwraps its zip read errors, so a damaged
/// part would panic it (and in wasm a panic ends the app). The unpacked size
/// is capped, so a zip bomb is refused too.
fn check_archive(bytes: &[u8]) -> Result<(), ImportError> {
    use std::io::Read as _;
    let damaged = |e: &dyn std::fmt::Display| ImportError::Damaged(e.to_string());
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(|e| damaged(&e))?;
    let mut total: u64 = 0;
    for index in 0..archive.len() {
        let mut part = archive.by_index(index).map_err(|e| damaged(&e))?;
        let room = MAX_UNPACKED_BYTES - total;
        total +=
            std::io::copy(&mut (&mut part).take(room + 1), &mut std::io::sink()).map_err(|e| damaged(&e))?;
        if total > MAX_UNPACKED_BYTES {
            return Err(ImportError::TooLargeUnpacked);
        }
    }
    Ok(())
}

/// Guesses the field of one column title by meaning; None when the title
/// names none (e.g. «ФИО», «Отметка о выполнении»).
pub fn guess_field(title: &str) -> Option<ActivityField> {
    use ActivityField::*;
    let text = fold(&strip_footnote_digit(&normalize_space(title)));
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let has = |words: &[&str]| words.iter().any(|w| text.contains(w));
    // Order matters: «Форма отчета» is a report form, not a form of conduct;
    // «Срок проведения мероприятия» is a deadline, not a description.
    if compact.starts_with('№') || compact.contains("п/п") || compact == "n" || compact == "номер" {
        Some(Number)
    } else if has(&["форма отчет", "отчетност", "форма представления отчет"])
    {
        Some(ReportForm)
    } else if has(&["подтвержд"]) || text.starts_with("документ") {
        Some(Evidence)
    } else if text.starts_with("форма") || has(&["форма проведения", "формат"]) {
        Some(Form)
    } else if has(&["срок", "дата", "период", "время проведения"]) {
        Some(Deadline)
    } else if has(&["ответствен", "исполнител"]) {
        Some(Responsible)
    } else if has(&["показател", "результат", "индикатор"]) {
        Some(Indicator)
    } else if has(&["примечани", "комментар"]) {
        Some(Comments)
    } else if has(&["содержание", "описание", "мероприяти", "наименование", "событие", "действи"])
    {
        Some(Description)
    } else {
        None
    }
}

impl ParsedRoadmap {
    /// The dry-run report `medk-server import FILE.docx --dry-run --json`
    /// prints: cells keyed by the mapped field's key (unmapped columns by
    /// their title), deadlines with ISO dates or null, level as its key or null.
    pub fn to_json(&self) -> Value {
        let columns: Vec<Value> = self
            .columns
            .iter()
            .map(|c| json!({ "title": c.title, "field": c.field.map(ActivityField::key) }))
            .collect();
        let sections: Vec<Value> = self
            .sections
            .iter()
            .map(|s| {
                let activities: Vec<Value> = s.activities.iter().map(|a| self.activity_json(a)).collect();
                json!({ "title": s.title, "activities": activities })
            })
            .collect();
        let members: Vec<Value> = self
            .working_group
            .iter()
            .map(|m| json!({ "name": m.name, "workplace": m.workplace, "position": m.position }))
            .collect();
        json!({
            "title": self.title,
            "level": self.level.map(Level::roadmap_key),
            "columns": columns,
            "sections": sections,
            "working_group": members,
            "warnings": self.warnings,
        })
    }

    fn activity_json(&self, a: &ParsedActivity) -> Value {
        let mut cells = Map::new();
        for (column, text) in self.columns.iter().zip(&a.cells) {
            let key = column.field.map_or(column.title.as_str(), |f| f.key());
            if cells.contains_key(key) {
                continue;
            }
            let value = match column.field {
                Some(field) => self.cell(a, field),
                None => text.clone(),
            };
            cells.insert(key.to_owned(), Value::String(value));
        }
        let deadline = self.deadline(a);
        let date = |d: Option<time::Date>| d.map_or(Value::Null, |d| Value::String(deadline::iso(d)));
        json!({
            "number": a.number,
            "cells": cells,
            "deadline": { "text": deadline.text, "start": date(deadline.start), "end": date(deadline.end) },
        })
    }
}

// ---------------------------------------------------------------------------
// The body as text: paragraphs and tables, in order.

/// A top-level piece of the document body.
enum Block {
    Paragraph(Para),
    Table(Grid),
}

#[derive(Clone)]
struct Para {
    /// Non-empty lines (paragraph text split at line breaks), whitespace collapsed.
    lines: Vec<String>,
    /// Styled as a heading or title.
    heading: bool,
    /// Every run with text is bold.
    bold: bool,
    /// Carries Word list numbering, whose text docx-rs does not produce.
    auto_numbered: bool,
}

impl Para {
    fn text(&self) -> String {
        self.lines.join(" ")
    }
}

/// A table as rows of physical cells.
struct Grid {
    rows: Vec<Vec<GridCell>>,
    /// Columns of the table's grid (w:tblGrid); 0 when the file has none.
    declared_width: usize,
}

struct GridCell {
    /// Lines of the cell joined by `\n`.
    text: String,
    /// Grid columns covered (gridSpan), at least 1.
    span: usize,
    merge: VerticalMerge,
    nested: bool,
    bold: bool,
    auto_numbered: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum VerticalMerge {
    None,
    Start,
    Continue,
}

/// Collects blocks from the body, content controls and table cells alike.
#[derive(Default)]
struct BlockSink {
    blocks: Vec<Block>,
}

impl BlockSink {
    fn document_child(&mut self, child: &DocumentChild) {
        match child {
            DocumentChild::Paragraph(p) => self.paragraph(p),
            DocumentChild::Table(t) => self.blocks.push(Block::Table(grid(t))),
            DocumentChild::StructuredDataTag(tag) => self.content_control(tag),
            _ => {}
        }
    }

    fn paragraph(&mut self, p: &Paragraph) {
        let mut text = RunText::default();
        text.children(&p.children);
        let heading = p.property.style.as_ref().is_some_and(|s| {
            let style = s.val.to_lowercase();
            style.contains("heading") || style.contains("title") || style.contains("заголов")
        });
        let auto_numbered =
            p.property.numbering_property.as_ref().and_then(|n| n.id.as_ref()).is_some_and(|id| id.id != 0);
        self.blocks.push(Block::Paragraph(Para {
            lines: clean_lines(&text.text),
            heading,
            bold: text.all_bold && text.any_text,
            auto_numbered,
        }));
    }

    fn content_control(&mut self, tag: &StructuredDataTag) {
        let mut loose = RunText::default();
        for child in &tag.children {
            match child {
                StructuredDataTagChild::Paragraph(p) => self.paragraph(p),
                StructuredDataTagChild::Table(t) => self.blocks.push(Block::Table(grid(t))),
                StructuredDataTagChild::StructuredDataTag(inner) => self.content_control(inner),
                StructuredDataTagChild::Run(run) => loose.run(run),
                _ => {}
            }
        }
        if loose.any_text {
            let lines = clean_lines(&loose.text);
            self.blocks.push(Block::Paragraph(Para {
                lines,
                heading: false,
                bold: false,
                auto_numbered: false,
            }));
        }
    }
}

/// The visible text of runs, and whether all of it is bold.
struct RunText {
    text: String,
    any_text: bool,
    all_bold: bool,
}

impl Default for RunText {
    fn default() -> Self {
        Self { text: String::new(), any_text: false, all_bold: true }
    }
}

impl RunText {
    fn children(&mut self, children: &[ParagraphChild]) {
        for child in children {
            match child {
                ParagraphChild::Run(run) => self.run(run),
                ParagraphChild::Insert(insert) => {
                    for c in &insert.children {
                        if let InsertChild::Run(run) = c {
                            self.run(run);
                        }
                    }
                }
                ParagraphChild::MoveTo(moved) => {
                    for c in &moved.children {
                        if let MoveToChild::Run(run) = c {
                            self.run(run);
                        }
                    }
                }
                ParagraphChild::Hyperlink(Hyperlink { children, .. }) => self.children(children),
                ParagraphChild::StructuredDataTag(tag) => {
                    for c in &tag.children {
                        if let StructuredDataTagChild::Run(run) = c {
                            self.run(run);
                        }
                    }
                }
                _ => {}
            }
        }
    }

    fn run(&mut self, run: &Run) {
        if is_footnote_marker(run) {
            return;
        }
        let bold = run.run_property.bold.as_ref() == Some(&Bold::new());
        for child in &run.children {
            match child {
                RunChild::Text(t) => {
                    if !t.text.trim().is_empty() {
                        self.any_text = true;
                        self.all_bold &= bold;
                    }
                    self.text.push_str(&t.text);
                }
                RunChild::Tab(_) | RunChild::PTab(_) => self.text.push(' '),
                RunChild::Break(_) | RunChild::CarriageReturn(_) => self.text.push('\n'),
                _ => {}
            }
        }
    }
}

/// A superscript run of digits or asterisks: a footnote mark typed by hand.
fn is_footnote_marker(run: &Run) -> bool {
    if run.run_property.vert_align.as_ref() != Some(&VertAlign::new(VertAlignType::SuperScript)) {
        return false;
    }
    let mut text = String::new();
    for child in &run.children {
        if let RunChild::Text(t) = child {
            text.push_str(&t.text);
        }
    }
    let text = text.trim();
    !text.is_empty() && text.chars().all(|c| c.is_ascii_digit() || c == '*' || c == ',')
}

fn grid(table: &Table) -> Grid {
    let rows = table
        .rows
        .iter()
        .map(|TableChild::TableRow(row)| {
            row.cells.iter().map(|TableRowChild::TableCell(cell)| grid_cell(cell)).collect()
        })
        .collect();
    Grid { rows, declared_width: table.grid.len() }
}

fn grid_cell(cell: &TableCell) -> GridCell {
    let mut sink = BlockSink::default();
    for content in &cell.children {
        match content {
            TableCellContent::Paragraph(p) => sink.paragraph(p),
            TableCellContent::Table(t) => sink.blocks.push(Block::Table(grid(t))),
            TableCellContent::StructuredDataTag(tag) => sink.content_control(tag),
            TableCellContent::TableOfContents(_) => {}
        }
    }
    let mut lines = Vec::new();
    let (mut nested, mut bold, mut any_text, mut auto_numbered) = (false, true, false, false);
    for block in sink.blocks {
        match block {
            Block::Paragraph(p) => {
                auto_numbered |= p.auto_numbered;
                if !p.lines.is_empty() {
                    any_text = true;
                    bold &= p.bold;
                }
                lines.extend(p.lines);
            }
            Block::Table(inner) => {
                nested = true;
                lines.extend(nested_table_lines(&inner));
            }
        }
    }
    // docx-rs keeps gridSpan and vMerge private; its serde form is public.
    let property = serde_json::to_value(&cell.property).unwrap_or(Value::Null);
    let span =
        property.get("gridSpan").and_then(Value::as_u64).unwrap_or(1).clamp(1, MAX_COLUMNS as u64) as usize;
    let merge = match property.get("verticalMerge").and_then(Value::as_str) {
        Some("restart") => VerticalMerge::Start,
        Some("continue") => VerticalMerge::Continue,
        _ => VerticalMerge::None,
    };
    GridCell { text: lines.join("\n"), span, merge, nested, bold: bold && any_text, auto_numbered }
}

/// A nested table as one line per row, its cells separated by spaces.
fn nested_table_lines(grid: &Grid) -> Vec<String> {
    grid.rows
        .iter()
        .map(|row| {
            row.iter()
                .map(|c| c.text.replace('\n', " "))
                .filter(|t| !t.is_empty())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .filter(|line| !line.is_empty())
        .collect()
}

/// A table row laid out on the table's grid.
#[derive(Clone)]
struct RowView {
    /// 1-based row number in the (concatenated) table, for warnings.
    number: usize,
    /// Text per grid column; a vMerge-continued cell holds its merge start's text.
    texts: Vec<String>,
    /// Columns whose cell continues a vertical merge from the row above.
    continued: Vec<bool>,
    /// Columns whose cell uses Word list numbering.
    auto_numbered: Vec<bool>,
    /// The widest gridSpan in the row.
    widest: usize,
    nested: bool,
    /// Every cell with text is bold.
    bold: bool,
}

impl RowView {
    fn text(&self, column: Option<usize>) -> &str {
        column.and_then(|c| self.texts.get(c)).map_or("", String::as_str)
    }

    /// Columns with text of their own (not carried down by a vertical merge).
    fn own_texts(&self) -> Vec<(usize, &str)> {
        self.texts
            .iter()
            .enumerate()
            .filter(|(i, t)| !t.is_empty() && !self.continued[*i])
            .map(|(i, t)| (i, t.as_str()))
            .collect()
    }

    fn is_empty(&self) -> bool {
        self.texts.iter().all(String::is_empty)
    }
}

/// The table's grid width, or without one the commonest row width: a stray
/// extra cell or an overlong span in one row does not add columns.
fn grid_width(grid: &Grid) -> usize {
    if grid.declared_width > 0 {
        return grid.declared_width.min(MAX_COLUMNS);
    }
    let mut widths: Vec<usize> =
        grid.rows.iter().map(|row| row.iter().map(|c| c.span).sum::<usize>().min(MAX_COLUMNS)).collect();
    widths.sort_unstable();
    widths.chunk_by(|a, b| a == b).max_by_key(|run| (run.len(), run[0])).map_or(0, |run| run[0])
}

/// Lays rows out on `width` grid columns, numbering them from `first_number`.
fn row_views(grid: &Grid, width: usize, first_number: usize) -> Vec<RowView> {
    let mut merge_start = vec![String::new(); width];
    let mut views = Vec::with_capacity(grid.rows.len());
    for (index, row) in grid.rows.iter().enumerate() {
        let mut view = RowView {
            number: first_number + index,
            texts: vec![String::new(); width],
            continued: vec![false; width],
            auto_numbered: vec![false; width],
            widest: 1,
            nested: false,
            bold: true,
        };
        let mut column = 0;
        for cell in row {
            if column >= width {
                break;
            }
            if cell.merge == VerticalMerge::Continue && cell.text.is_empty() {
                view.texts[column] = merge_start[column].clone();
                view.continued[column] = true;
            } else {
                view.texts[column] = cell.text.clone();
                merge_start[column] = cell.text.clone();
                if !cell.text.is_empty() {
                    view.bold &= cell.bold;
                }
            }
            view.auto_numbered[column] = cell.auto_numbered;
            view.widest = view.widest.max(cell.span);
            view.nested |= cell.nested;
            column += cell.span;
        }
        views.push(view);
    }
    views
}

// ---------------------------------------------------------------------------
// The roadmap from the blocks.

fn read_roadmap(blocks: Vec<Block>) -> Result<ParsedRoadmap, ImportError> {
    let tables: Vec<(usize, &Grid)> = blocks
        .iter()
        .enumerate()
        .filter_map(|(i, b)| match b {
            Block::Table(grid) => Some((i, grid)),
            Block::Paragraph(_) => None,
        })
        .collect();
    let members_tables: Vec<usize> =
        tables.iter().filter(|(_, grid)| member_columns(grid).is_some()).map(|(i, _)| *i).collect();
    let main = find_activities_table(&tables, &members_tables).ok_or(ImportError::NoTable)?;
    let table = ActivitiesTable::collect(&tables, &members_tables, &main);
    let mut warnings = Vec::new();

    let columns = match table.header {
        Some(h) => columns_from_header(&table.rows[h].texts, &mut warnings),
        None => {
            warnings.push(
                "В таблице мероприятий не найдена строка заголовков: столбцы определены по содержимому, проверьте сопоставление."
                    .to_owned(),
            );
            columns_by_content(&table.rows, table.width)
        }
    };
    let mut reader = TableReader::new(&columns, table.header.map(|h| header_key(&table.rows[h].texts)));
    for row in table.body() {
        reader.row(row);
    }
    warnings.append(&mut reader.warnings);

    let (before, after) = text_around(&blocks, &table, &members_tables, &mut warnings);
    let head = read_head(&before, &mut warnings);
    let tail = read_tail(&after);
    let working_group: Vec<ParsedMember> = tables
        .iter()
        .filter(|(i, _)| members_tables.contains(i))
        .flat_map(|(_, grid)| read_members(grid))
        .collect();

    let mut roadmap = ParsedRoadmap {
        level: None,
        territory: String::new(),
        year: None,
        title: head.title,
        approval: head.approval,
        abbreviations: tail.abbreviations,
        footnotes: tail.footnotes,
        columns,
        sections: reader.sections,
        working_group,
        warnings,
        adopted_on: String::new(),
    };
    let other_text: Vec<String> = before.iter().chain(after.iter().copied()).map(Para::text).collect();
    let texts = [roadmap.title.as_str(), roadmap.approval.as_str(), &other_text.join("\n")];
    roadmap.level = guess_level(&texts[..2]);
    roadmap.territory = guess_territory(&texts, roadmap.level);
    roadmap.year = year_in_title(&roadmap.title).or_else(|| commonest_deadline_year(&roadmap));
    Ok(roadmap)
}

/// The activities table with the tables that continue it, as one run of rows.
struct ActivitiesTable {
    /// Block indices of the main table and its continuations.
    blocks: Vec<usize>,
    rows: Vec<RowView>,
    width: usize,
    /// The header row's index in `rows`.
    header: Option<usize>,
}

impl ActivitiesTable {
    /// The main table, followed by every later table that starts with the
    /// same header (the table broken by a page or a slide).
    fn collect(tables: &[(usize, &Grid)], members_tables: &[usize], main: &MainTable) -> Self {
        let width = grid_width(main.grid);
        let mut table = Self {
            blocks: vec![main.block],
            rows: row_views(main.grid, width, 1),
            width,
            header: main.header,
        };
        let Some(key) = table.header.map(|h| header_key(&table.rows[h].texts)) else { return table };
        for (i, grid) in tables.iter().filter(|(i, _)| *i > main.block && !members_tables.contains(i)) {
            let rows = row_views(grid, width, table.rows.len() + 1);
            if rows.first().is_some_and(|r| header_key(&r.texts) == key) {
                table.rows.extend(rows);
                table.blocks.push(*i);
            }
        }
        table
    }

    /// Rows above the header: a title typed into the table.
    fn above_header(&self) -> &[RowView] {
        &self.rows[..self.header.unwrap_or(0)]
    }

    fn body(&self) -> &[RowView] {
        &self.rows[self.header.map_or(0, |h| h + 1)..]
    }
}

/// Paragraphs before the activities table and after it. A table before it
/// (an approval block laid out in a table) reads as a paragraph in its
/// place; rows above the header come right before the header.
fn text_around<'a>(
    blocks: &'a [Block],
    table: &ActivitiesTable,
    members_tables: &[usize],
    warnings: &mut Vec<String>,
) -> (Vec<Para>, Vec<&'a Para>) {
    let main = table.blocks[0];
    let mut before: Vec<Para> = Vec::new();
    let mut after: Vec<&Para> = Vec::new();
    let mut other_tables = false;
    for (i, block) in blocks.iter().enumerate() {
        match block {
            Block::Paragraph(p) if i < main => before.push(p.clone()),
            Block::Paragraph(p) => after.push(p),
            Block::Table(_) if table.blocks.contains(&i) || members_tables.contains(&i) => {}
            Block::Table(grid) if i < main => before.push(table_as_para(grid)),
            Block::Table(_) => other_tables = true,
        }
    }
    if other_tables {
        warnings.push("После таблицы мероприятий есть другие таблицы; они не импортированы.".to_owned());
    }
    before.extend(table.above_header().iter().map(row_as_para));
    (before, after)
}

/// Where the activities table is and which of its rows is the header.
struct MainTable<'a> {
    block: usize,
    grid: &'a Grid,
    header: Option<usize>,
}

/// The table whose header names the most fields (at least two); failing
/// that, the longest table of three or more columns.
fn find_activities_table<'a>(
    tables: &[(usize, &'a Grid)],
    members_tables: &[usize],
) -> Option<MainTable<'a>> {
    let candidates = tables.iter().filter(|(i, _)| !members_tables.contains(i));
    let mut best: Option<(usize, usize, MainTable)> = None;
    for (block, grid) in candidates.clone() {
        let rows = row_views(grid, grid_width(grid), 1);
        for (h, row) in rows.iter().enumerate().take(3) {
            let score = distinct_fields(&row.texts);
            let better =
                best.as_ref().is_none_or(|(s, len, _)| score > *s || (score == *s && grid.rows.len() > *len));
            if score >= 2 && better {
                best = Some((score, grid.rows.len(), MainTable { block: *block, grid, header: Some(h) }));
            }
        }
    }
    if let Some((_, _, main)) = best {
        return Some(main);
    }
    candidates
        .filter(|(_, grid)| grid_width(grid) >= 3 && grid.rows.len() >= 2)
        .max_by_key(|(_, grid)| grid.rows.len())
        .map(|(block, grid)| MainTable { block: *block, grid, header: None })
}

fn distinct_fields(texts: &[String]) -> usize {
    let mut fields: Vec<ActivityField> = texts.iter().filter_map(|t| guess_field(t)).collect();
    fields.sort();
    fields.dedup();
    fields.len()
}

/// What identifies a header row when it is repeated after a page break.
fn header_key(texts: &[String]) -> Vec<String> {
    texts.iter().map(|t| fold(&normalize_space(&t.replace('\n', " ")))).collect()
}

/// A table outside the activities table, as a paragraph of one line per row.
fn table_as_para(grid: &Grid) -> Para {
    Para { lines: nested_table_lines(grid), heading: false, bold: false, auto_numbered: false }
}

/// A row above the header, as a one-line paragraph.
fn row_as_para(row: &RowView) -> Para {
    let text = row.own_texts().iter().map(|(_, t)| t.replace('\n', " ")).collect::<Vec<_>>().join(" ");
    Para { lines: clean_lines(&text), heading: false, bold: row.bold, auto_numbered: false }
}

// ---------------------------------------------------------------------------
// Columns.

fn columns_from_header(texts: &[String], warnings: &mut Vec<String>) -> Vec<ParsedColumn> {
    let titles: Vec<String> = texts
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let title = strip_footnote_digit(&normalize_space(&t.replace('\n', " ")));
            if title.is_empty() { blank_column_title(i) } else { title }
        })
        .collect();
    let mut columns: Vec<ParsedColumn> = Vec::with_capacity(titles.len());
    for title in titles {
        let mut field = guess_field(&title);
        if let Some(f) = field
            && let Some(first) = columns.iter().find(|c| c.field == Some(f))
        {
            warnings.push(format!(
                "Столбец «{title}» тоже похож на поле «{}» (как столбец «{}»); он не сопоставлен — выберите поле вручную.",
                f.label_ru(),
                first.title
            ));
            field = None;
        } else if field.is_none() {
            warnings
                .push(format!("Столбец «{title}» не сопоставлен ни с одним полем и не будет импортирован."));
        }
        columns.push(ParsedColumn { title, field });
    }
    columns
}

fn blank_column_title(index: usize) -> String {
    format!("Столбец {}", index + 1)
}

/// Columns of a table without a header: the number column is the one of
/// numbers, the deadline the one of dates, the description the one with the
/// longest text; the rest, in order, are responsible and indicator.
fn columns_by_content(rows: &[RowView], width: usize) -> Vec<ParsedColumn> {
    let data: Vec<&RowView> = rows.iter().filter(|r| r.own_texts().len() >= 2).collect();
    let share = |column: usize, test: &dyn Fn(&str) -> bool| {
        let filled: Vec<&str> =
            data.iter().map(|r| r.texts[column].as_str()).filter(|t| !t.is_empty()).collect();
        if filled.is_empty() {
            0.0
        } else {
            filled.iter().filter(|t| test(t)).count() as f64 / filled.len() as f64
        }
    };
    let mut fields: Vec<Option<ActivityField>> = vec![None; width];
    let free =
        |fields: &[Option<ActivityField>]| (0..width).filter(|&c| fields[c].is_none()).collect::<Vec<_>>();
    if let Some(c) = free(&fields).into_iter().find(|&c| share(c, &|t| is_activity_number(t)) >= 0.5) {
        fields[c] = Some(ActivityField::Number);
    }
    let dated = |t: &str| deadline::parse(t, Some(2000)).start.is_some();
    if let Some(c) = free(&fields)
        .into_iter()
        .map(|c| (c, share(c, &dated)))
        .filter(|(_, s)| *s >= 0.5)
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(c, _)| c)
    {
        fields[c] = Some(ActivityField::Deadline);
    }
    let average_len = |c: usize| data.iter().map(|r| r.texts[c].chars().count()).sum::<usize>();
    if let Some(c) = free(&fields).into_iter().max_by_key(|&c| (average_len(c), usize::MAX - c)) {
        fields[c] = Some(ActivityField::Description);
    }
    let mut rest = [ActivityField::Responsible, ActivityField::Indicator].into_iter();
    for c in free(&fields) {
        fields[c] = rest.next();
    }
    fields
        .into_iter()
        .enumerate()
        .map(|(i, field)| ParsedColumn {
            title: field.map_or_else(|| blank_column_title(i), |f| f.label_ru().to_owned()),
            field,
        })
        .collect()
}

// ---------------------------------------------------------------------------
// Rows of the activities table.

/// What one row of the activities table is.
enum RowKind {
    /// Empty, a repeated header, or a row of column numbers.
    Skip,
    Section(String),
    /// Goes on with the previous activity; `explicit` when Word says so (a vMerge).
    Continuation {
        explicit: bool,
    },
    Activity,
}

struct TableReader {
    header_key: Option<Vec<String>>,
    width: usize,
    number_column: Option<usize>,
    description_column: Option<usize>,
    sections: Vec<ParsedSection>,
    warnings: Vec<String>,
    auto_numbering_noted: bool,
}

impl TableReader {
    fn new(columns: &[ParsedColumn], header_key: Option<Vec<String>>) -> Self {
        let find = |field| columns.iter().position(|c| c.field == Some(field));
        let number_column = find(ActivityField::Number);
        let description_column = find(ActivityField::Description)
            .or_else(|| (0..columns.len()).find(|&c| Some(c) != number_column));
        Self {
            header_key,
            width: columns.len(),
            number_column,
            description_column,
            sections: Vec::new(),
            warnings: Vec::new(),
            auto_numbering_noted: false,
        }
    }

    fn row(&mut self, row: &RowView) {
        if row.nested {
            self.warnings
                .push(format!("Строка {}: в ячейке вложенная таблица, она прочитана как текст.", row.number));
        }
        match self.classify(row) {
            RowKind::Skip => {}
            RowKind::Section(title) => self.sections.push(ParsedSection { title, activities: Vec::new() }),
            RowKind::Continuation { explicit } => {
                if !explicit {
                    self.warnings.push(format!(
                        "Строка {}: нет номера, текст продолжает предыдущее мероприятие — строки объединены.",
                        row.number
                    ));
                }
                if let Some(previous) = self.sections.last_mut().and_then(|s| s.activities.last_mut()) {
                    merge_into(previous, row, !explicit);
                }
            }
            RowKind::Activity => self.activity(row),
        }
    }

    fn classify(&self, row: &RowView) -> RowKind {
        // A row with no text of its own (empty, or only carried down by
        // vertical merges) adds nothing.
        if row.own_texts().is_empty()
            || self.header_key.as_ref().is_some_and(|key| header_key(&row.texts) == *key)
        {
            return RowKind::Skip;
        }
        if is_column_numbering(&row.texts) {
            return RowKind::Skip;
        }
        if let Some(title) = self.section_title(row) {
            return RowKind::Section(title);
        }
        let has_previous = self.sections.last().is_some_and(|s| !s.activities.is_empty());
        if let Some(c) = self.number_column {
            if row.continued[c] && has_previous {
                return RowKind::Continuation { explicit: true };
            }
            if !row.texts[c].is_empty() || row.auto_numbered[c] || !has_previous {
                return RowKind::Activity;
            }
        }
        if !has_previous {
            return RowKind::Activity;
        }
        let description = row.text(self.description_column);
        if self.description_column.is_some_and(|c| row.continued[c]) {
            return RowKind::Continuation { explicit: true };
        }
        if self.number_column.is_some() && (description.is_empty() || starts_mid_sentence(description)) {
            return RowKind::Continuation { explicit: false };
        }
        RowKind::Activity
    }

    /// The section a row starts, if it is a heading row.
    fn section_title(&self, row: &RowView) -> Option<String> {
        let own = row.own_texts();
        match own.as_slice() {
            [(column, text)] => {
                let is_number_only = Some(*column) == self.number_column && is_activity_number(text);
                let merged = row.widest >= 2 && self.width >= 2;
                (!is_number_only && (merged || is_section_heading(text) || row.bold))
                    .then(|| normalize_space(&text.replace('\n', " ")))
            }
            [(first, number), (_, text)]
                if Some(*first) == self.number_column
                    && self.width >= 3
                    && is_top_level_number(number)
                    && (row.widest >= 2 || row.bold) =>
            {
                Some(normalize_space(&format!("{number} {}", text.replace('\n', " "))))
            }
            _ => None,
        }
    }

    fn activity(&mut self, row: &RowView) {
        let written = row.text(self.number_column);
        if written.is_empty()
            && self.number_column.is_some_and(|c| row.auto_numbered[c])
            && !self.auto_numbering_noted
        {
            self.auto_numbering_noted = true;
            self.warnings.push(format!(
                "Строка {}: номера мероприятий проставлены автоматической нумерацией Word и не переносятся — проставьте их вручную.",
                row.number
            ));
        }
        let activity =
            ParsedActivity { number: normalize_number(written), cells: row.texts[..self.width].to_vec() };
        if self.sections.is_empty() {
            self.sections.push(ParsedSection { title: String::new(), activities: Vec::new() });
        }
        if let Some(section) = self.sections.last_mut() {
            section.activities.push(activity);
        }
    }
}

/// Appends a continuation row's own text to the activity it continues. Text
/// cut by a page break (`split_sentence`) rejoins its sentence; the rows of
/// a vertically merged activity stay separate lines.
fn merge_into(activity: &mut ParsedActivity, row: &RowView, split_sentence: bool) {
    for (column, text) in row.own_texts() {
        let Some(cell) = activity.cells.get_mut(column) else { continue };
        if cell.is_empty() {
            *cell = text.to_owned();
        } else if split_sentence && text.starts_with([',', ';', '.', ')', ':']) {
            cell.push_str(text);
        } else if split_sentence && starts_mid_sentence(text) {
            cell.push(' ');
            cell.push_str(text);
        } else {
            cell.push('\n');
            cell.push_str(text);
        }
    }
}

/// A row of consecutive column numbers («1 | 2 | 3 | 4») under the header.
fn is_column_numbering(texts: &[String]) -> bool {
    texts.len() >= 3
        && texts.iter().enumerate().all(|(i, t)| t.trim().trim_end_matches('.') == (i + 1).to_string())
}

/// Text that goes on from a sentence cut off above: starts in lower case or
/// with punctuation.
fn starts_mid_sentence(text: &str) -> bool {
    text.chars().next().is_some_and(|c| c.is_lowercase() || matches!(c, ',' | ';' | ')' | ':' | '-' | '–'))
}

// ---------------------------------------------------------------------------
// Numbers and headings.

/// A section number: `1`, `1.`, `II`, `IV.`.
fn is_top_level_number(text: &str) -> bool {
    let body = text.trim().trim_end_matches(['.', ')']);
    (!body.is_empty() && body.len() <= 2 && body.chars().all(|c| c.is_ascii_digit())) || is_roman(body)
}

fn is_roman(text: &str) -> bool {
    !text.is_empty() && text.len() <= 6 && text.chars().all(|c| matches!(c, 'I' | 'V' | 'X' | 'L' | 'C'))
}

/// «1. Организационное …», «II. Мероприятия …», «Раздел 2. …».
fn is_section_heading(text: &str) -> bool {
    let text = text.trim();
    if fold(text).starts_with("раздел") {
        return true;
    }
    let number_len =
        text.chars().take_while(|c| c.is_ascii_digit() || matches!(c, 'I' | 'V' | 'X' | 'L' | 'C')).count();
    if number_len == 0 || !is_top_level_number(&text[..number_len]) {
        return false;
    }
    let rest = &text[number_len..];
    let rest = rest.strip_prefix(['.', ')']).unwrap_or(rest);
    let starts_with_space = rest.starts_with(char::is_whitespace);
    let rest = rest.trim_start();
    (starts_with_space || rest.len() < text.len() - number_len)
        && rest.chars().next().is_some_and(char::is_alphabetic)
}

// ---------------------------------------------------------------------------
// Text before and after the table.

struct Head {
    title: String,
    approval: String,
}

const APPROVAL_MARKERS: [&str; 5] = ["утвержд", "согласован", "приложение", "к приказу", "к распоряжению"];

fn read_head(paras: &[Para], warnings: &mut Vec<String>) -> Head {
    let names_roadmap = |p: &Para| {
        let text = fold(&p.text());
        (text.contains("дорожн") && text.contains("карт"))
            || text.starts_with("план")
            || text.contains("план мероприятий")
            || text.contains("план-график")
    };
    let heading = |p: &Para| p.heading && !p.lines.is_empty();
    let start =
        paras.iter().rposition(names_roadmap).or_else(|| paras.iter().rposition(heading)).or_else(|| {
            let last_text = paras.iter().rposition(|p| !p.lines.is_empty())?;
            let first = (0..=last_text).rev().take_while(|&i| !paras[i].lines.is_empty()).last()?;
            let is_approval = |p: &Para| APPROVAL_MARKERS.iter().any(|m| fold(&p.text()).contains(m));
            (!paras[first..=last_text].iter().any(is_approval)).then_some(first)
        });
    let Some(start) = start else {
        warnings.push("Не найдено название дорожной карты; укажите его вручную.".to_owned());
        return Head { title: String::new(), approval: approval_block(paras) };
    };
    let title_paras = paras[start..].iter().take_while(|p| !p.lines.is_empty()).take(4);
    let title = normalize_space(&title_paras.map(|p| p.text()).collect::<Vec<_>>().join(" "));
    Head { title, approval: approval_block(&paras[..start]) }
}

/// The lines from the first approval marker on.
fn approval_block(paras: &[Para]) -> String {
    let lines: Vec<&String> = paras.iter().flat_map(|p| p.lines.iter()).collect();
    let Some(first) = lines.iter().position(|l| APPROVAL_MARKERS.iter().any(|m| fold(l).contains(m))) else {
        return String::new();
    };
    lines[first..].iter().map(|l| l.as_str()).collect::<Vec<_>>().join("\n")
}

struct Tail {
    abbreviations: String,
    footnotes: String,
}

fn read_tail(paras: &[&Para]) -> Tail {
    let mut abbreviations = Vec::new();
    let mut footnotes = Vec::new();
    let mut in_abbreviations = false;
    for line in paras.iter().flat_map(|p| p.lines.iter()) {
        let (marker, text) = split_footnote_marker(line);
        if fold(text).contains("сокращени") {
            in_abbreviations = true;
            abbreviations.push(text.to_owned());
        } else if looks_like_abbreviation(text) && (in_abbreviations || marker.is_empty()) {
            abbreviations.push(text.to_owned());
        } else if !marker.is_empty() {
            in_abbreviations = false;
            footnotes.push(line.clone());
        } else {
            in_abbreviations = false;
        }
    }
    Tail { abbreviations: abbreviations.join("\n"), footnotes: footnotes.join("\n") }
}

/// Splits a leading footnote marker («1 », «² », «*») off a line.
fn split_footnote_marker(line: &str) -> (&str, &str) {
    let is_marker_char = |c: char| c.is_ascii_digit() || c == '*' || "¹²³⁴⁵⁶⁷⁸⁹⁰".contains(c);
    let marker_end = line.find(|c: char| !is_marker_char(c)).unwrap_or(line.len());
    let (marker, rest) = line.split_at(marker_end);
    let superscript_or_star = marker.chars().any(|c| !c.is_ascii_digit());
    let short_number = marker.len() <= 2 && rest.starts_with(char::is_whitespace);
    if marker.is_empty() || !(superscript_or_star || short_number) || rest.trim().is_empty() {
        return ("", line);
    }
    (marker, rest.trim_start())
}

/// «ОО – общеобразовательная организация».
fn looks_like_abbreviation(text: &str) -> bool {
    let Some((short, _)) = text.split_once([' ', '\u{a0}']) else { return false };
    let rest = text[short.len()..].trim_start();
    short.chars().count() >= 2
        && short.chars().all(|c| c.is_uppercase() || c.is_ascii_digit())
        && rest.starts_with(['-', '–', '—'])
}

// ---------------------------------------------------------------------------
// The working group.

/// Which columns hold name, workplace and position, if this is a
/// working-group table (its first non-empty row names a «ФИО» column).
fn member_columns(grid: &Grid) -> Option<(usize, Option<usize>, Option<usize>)> {
    let rows = row_views(grid, grid_width(grid), 1);
    let header = rows.iter().find(|r| !r.is_empty())?;
    let folded: Vec<String> = header.texts.iter().map(|t| fold(t).replace(['.', ' ', '\n'], "")).collect();
    let find = |test: &dyn Fn(&str) -> bool| folded.iter().position(|t| test(t));
    let name = find(&|t| t.contains("фио") || t.contains("фамилия"))?;
    let workplace = find(&|t| {
        (t.contains("мест") && t.contains("работ")) || t.contains("организац") || t.contains("учрежд")
    });
    let position = find(&|t| t.contains("должност"));
    Some((name, workplace, position))
}

fn read_members(grid: &Grid) -> Vec<ParsedMember> {
    let Some((name, workplace, position)) = member_columns(grid) else { return Vec::new() };
    let rows = row_views(grid, grid_width(grid), 1);
    let text = |row: &RowView, c: Option<usize>| normalize_space(&row.text(c).replace('\n', " "));
    rows.iter()
        .skip_while(|r| r.is_empty())
        .skip(1)
        .filter(|r| !r.text(Some(name)).is_empty())
        .map(|r| ParsedMember {
            name: text(r, Some(name)),
            workplace: text(r, workplace),
            position: text(r, position),
        })
        .collect()
}

// ---------------------------------------------------------------------------
// Level, territory, year.

/// The level named in the first text that names one.
fn guess_level(texts: &[&str]) -> Option<Level> {
    texts.iter().find_map(|t| level_in(&fold(t)))
}

fn level_in(text: &str) -> Option<Level> {
    let has = |words: &[&str]| words.iter().any(|w| text.contains(w));
    if has(&["муниципальн"]) {
        Some(Level::Municipality)
    } else if has(&["региональн"]) {
        Some(Level::Region)
    } else if has(&[
        "мбоу",
        "моу ",
        "мкоу",
        "маоу",
        "гбоу",
        "сош",
        "оош",
        "гимнази",
        "лицей",
        "школы №",
        "школа №",
    ]) {
        Some(Level::School)
    } else if has(&[" район", " округ", "городск"]) {
        Some(Level::Municipality)
    } else if has(&[" област", " края", " край", "республик"]) {
        Some(Level::Region)
    } else if has(&["федеральн"]) {
        Some(Level::Federal)
    } else {
        None
    }
}

/// The territory phrase («Сахалинской области», «Мышкинском районе») in the
/// first text that has one; a municipal roadmap prefers its district.
fn guess_territory(texts: &[&str], level: Option<Level>) -> String {
    let district = ["район", "округ"];
    let region = ["област", "края", "крае", "край", "республик"];
    let order: [&[&str]; 2] =
        if level == Some(Level::Region) { [&region, &district] } else { [&district, &region] };
    for keys in order {
        for text in texts {
            if let Some(found) = territory_phrase(text, keys) {
                return found;
            }
        }
    }
    String::new()
}

/// The keyword word with the capitalized word before it («Сахалинской
/// области»), or after it for «Республика Татарстан».
fn territory_phrase(text: &str, keys: &[&str]) -> Option<String> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let clean = |w: &str| w.trim_matches(|c: char| !c.is_alphanumeric() && c != '-').to_owned();
    let capitalized = |w: &str| w.chars().next().is_some_and(char::is_uppercase);
    for (i, word) in words.iter().enumerate() {
        let folded = fold(word);
        if !keys.iter().any(|k| folded.starts_with(k)) {
            continue;
        }
        if folded.starts_with("республик") {
            if let Some(next) = words.get(i + 1).filter(|w| capitalized(w)) {
                return Some(format!("{} {}", clean(word), clean(next)));
            }
        } else if let Some(previous) = i.checked_sub(1).map(|p| words[p]).filter(|w| capitalized(w)) {
            return Some(format!("{} {}", clean(previous), clean(word)));
        }
    }
    None
}

/// «на 2022 год», «в 2021 году», «2022 год»: the year next to «год»,
/// else the first year in the title.
fn year_in_title(title: &str) -> Option<i32> {
    let words: Vec<String> = title.split_whitespace().map(fold).collect();
    let year_of = |w: &str| {
        let digits: String = w.chars().filter(char::is_ascii_digit).collect();
        digits.parse::<i32>().ok().filter(|y| (2000..=2100).contains(y) && digits.len() == 4)
    };
    let near_god =
        words.windows(2).find_map(|pair| pair[1].starts_with("год").then(|| year_of(&pair[0])).flatten());
    near_god.or_else(|| words.iter().find_map(|w| year_of(w)))
}

/// The year most deadlines start in (ties: the earlier year).
fn commonest_deadline_year(roadmap: &ParsedRoadmap) -> Option<i32> {
    let mut years: Vec<i32> = roadmap
        .sections
        .iter()
        .flat_map(|s| &s.activities)
        .filter_map(|a| {
            deadline::parse(&roadmap.cell(a, ActivityField::Deadline), None).start.map(|d| d.year())
        })
        .collect();
    years.sort_unstable();
    let mut best: Option<(i32, usize)> = None;
    for chunk in years.chunk_by(|a, b| a == b) {
        if best.is_none_or(|(_, n)| chunk.len() > n) {
            best = Some((chunk[0], chunk.len()));
        }
    }
    best.map(|(year, _)| year)
}

// ---------------------------------------------------------------------------
// Text normalization.

/// Lines of a paragraph's text (split at line breaks), normalized, non-empty.
fn clean_lines(text: &str) -> Vec<String> {
    text.split('\n').map(normalize_space).filter(|l| !l.is_empty()).collect()
}

/// Lower case with «ё» as «е», for matching words.
fn fold(text: &str) -> String {
    text.to_lowercase().replace('ё', "е")
}

/// A footnote digit typed right after the last letter of a column title
/// («показатель реализации2» → «показатель реализации»).
fn strip_footnote_digit(title: &str) -> String {
    let body = title.trim_end_matches(|c: char| c.is_ascii_digit() || "¹²³⁴⁵⁶⁷⁸⁹⁰".contains(c));
    let digits = title.len() - body.len();
    let glued_to_letter = body.chars().last().is_some_and(char::is_alphabetic);
    if digits > 0 && glued_to_letter && title[body.len()..].chars().count() <= 2 {
        body.to_owned()
    } else {
        title.to_owned()
    }
}
