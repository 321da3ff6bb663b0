//! A roadmap as an Excel table, for filtering, sorting and pivoting: one row
//! per activity with its section, every column of the roadmap under its own
//! title, the deadline read as real dates, the status and the completion
//! date. A second sheet lists the working group.
//!
//! Output is deterministic: the file's creation date is the `today` the
//! caller passes, never the clock, so the same roadmap on the same day gives
//! the same bytes.

use crate::deadline::{self, Deadline};
use crate::indicators;
use crate::model::{Activity, ActivityField, Column, Member, MemberField, Roadmap};
use rust_xlsxwriter::{DocProperties, ExcelDateTime, Format, FormatAlign, Workbook, Worksheet, XlsxError};
use time::Date;

/// The workbook could not be written (in practice only with a roadmap beyond
/// Excel's limits).
#[derive(Debug, thiserror::Error)]
#[error("не удалось создать файл Excel")]
pub struct ExportError(#[from] XlsxError);

/// Excel's limit on the text of one cell, in characters.
const MAX_CELL_CHARS: usize = 32_767;
const DATE_FORMAT: &str = "dd.mm.yyyy";

/// The roadmap as .xlsx bytes, stamped as created on `today`.
pub fn roadmap_xlsx(roadmap: &Roadmap, today: Date) -> Result<Vec<u8>, ExportError> {
    let mut workbook = Workbook::new();
    let mut properties = DocProperties::new().set_title(roadmap.header.title.as_str());
    if let Some(today) = excel_date(today) {
        properties = properties.set_creation_datetime(&today);
    }
    workbook.set_properties(&properties);
    let formats = Formats::new();
    write_activities(workbook.add_worksheet(), roadmap, today, &formats)?;
    if !roadmap.working_group.is_empty() {
        write_working_group(workbook.add_worksheet(), &roadmap.working_group, &formats)?;
    }
    Ok(workbook.save_to_buffer()?)
}

/// The cell formats, made once.
struct Formats {
    header: Format,
    text: Format,
    date: Format,
}

impl Formats {
    fn new() -> Self {
        let text = Format::new().set_text_wrap().set_align(FormatAlign::Top);
        Self { header: text.clone().set_bold(), date: text.clone().set_num_format(DATE_FORMAT), text }
    }
}

/// What fills a column of the activity sheet.
#[derive(Clone, Copy)]
enum Source {
    Section,
    Field(ActivityField),
    DeadlineStart,
    DeadlineEnd,
    Status,
    CompletedOn,
}

/// A column of the activity sheet.
struct SheetColumn {
    title: String,
    /// In Excel character widths.
    width: f64,
    source: Source,
}

impl SheetColumn {
    fn new(title: impl Into<String>, width: f64, source: Source) -> Self {
        Self { title: title.into(), width, source }
    }
}

/// Раздел, the number, the roadmap's other columns, the deadline as dates,
/// status, completion date, and the responsible person when the roadmap has
/// no column for it.
fn sheet_columns(columns: &[Column]) -> Vec<SheetColumn> {
    let title_of = |field: ActivityField| columns.iter().find(|c| c.field == field).map(|c| c.title.clone());
    let mut sheet = vec![
        SheetColumn::new("Раздел", 30.0, Source::Section),
        SheetColumn::new(
            title_of(ActivityField::Number).unwrap_or_else(|| "№".into()),
            8.0,
            Source::Field(ActivityField::Number),
        ),
    ];
    sheet.extend(
        columns
            .iter()
            .filter(|c| c.field != ActivityField::Number)
            .map(|c| SheetColumn::new(c.title.clone(), field_width(c.field), Source::Field(c.field))),
    );
    sheet.extend([
        SheetColumn::new("Начало срока", 13.0, Source::DeadlineStart),
        SheetColumn::new("Окончание срока", 13.0, Source::DeadlineEnd),
        SheetColumn::new("Статус", 16.0, Source::Status),
        SheetColumn::new("Дата выполнения", 13.0, Source::CompletedOn),
    ]);
    if title_of(ActivityField::Responsible).is_none() {
        sheet.push(SheetColumn::new("Ответственный", 30.0, Source::Field(ActivityField::Responsible)));
    }
    sheet
}

fn field_width(field: ActivityField) -> f64 {
    match field {
        ActivityField::Description => 50.0,
        ActivityField::Indicator => 40.0,
        ActivityField::Deadline => 18.0,
        _ => 30.0,
    }
}

/// A value to write: text, or a date (empty when unknown).
enum Value<'a> {
    Text(&'a str),
    Date(Option<Date>),
}

fn value<'a>(
    source: Source,
    section: &'a str,
    activity: &'a Activity,
    deadline: &Deadline,
    state: &'a str,
) -> Value<'a> {
    match source {
        Source::Section => Value::Text(section),
        Source::Field(field) => Value::Text(activity.text(field)),
        Source::DeadlineStart => Value::Date(deadline.start),
        Source::DeadlineEnd => Value::Date(deadline.end),
        Source::Status => Value::Text(state),
        Source::CompletedOn => Value::Date(indicators::completed_on(activity)),
    }
}

/// The status column says what the screen and the report say on `today`
/// ([`indicators::ActivityState::label_ru`]: «Просрочено» when overdue).
fn write_activities(
    sheet: &mut Worksheet,
    roadmap: &Roadmap,
    today: Date,
    formats: &Formats,
) -> Result<(), XlsxError> {
    sheet.set_name("Дорожная карта")?;
    let columns = sheet_columns(&roadmap.columns);
    write_header(sheet, columns.iter().map(|c| (c.title.as_str(), c.width)), formats)?;
    let activities = roadmap.sections.iter().flat_map(|s| s.activities.iter().map(move |a| (s, a)));
    for (row, (section, activity)) in (1..).zip(activities) {
        let deadline = deadline::parse(&activity.deadline, roadmap.header.year);
        let state = indicators::activity_state(activity, roadmap.header.year, today).label_ru();
        for (col, column) in (0..).zip(&columns) {
            let value = value(column.source, &section.title, activity, &deadline, &state);
            write_value(sheet, (row, col), value, formats)?;
        }
    }
    finish(sheet, roadmap.activity_count(), columns.len())
}

/// Text as wrapped text; a date as an Excel date, or nothing when unknown.
fn write_value(
    sheet: &mut Worksheet,
    (row, col): (u32, u16),
    value: Value,
    formats: &Formats,
) -> Result<(), XlsxError> {
    match value {
        Value::Text(text) => {
            sheet.write_string_with_format(row, col, cell_text(text), &formats.text)?;
        }
        Value::Date(date) => {
            if let Some(date) = date.and_then(excel_date) {
                sheet.write_datetime_with_format(row, col, date, &formats.date)?;
            }
        }
    }
    Ok(())
}

fn write_working_group(
    sheet: &mut Worksheet,
    members: &[Member],
    formats: &Formats,
) -> Result<(), XlsxError> {
    sheet.set_name("Рабочая группа")?;
    let titles = std::iter::once(("№", 6.0)).chain(MemberField::ALL.map(|f| (f.label_ru(), 40.0)));
    write_header(sheet, titles, formats)?;
    for (row, member) in (1..).zip(members) {
        sheet.write_number_with_format(row, 0, row, &formats.text)?;
        for (col, field) in (1..).zip(MemberField::ALL) {
            write_value(sheet, (row, col), Value::Text(member.text(field)), formats)?;
        }
    }
    finish(sheet, members.len(), MemberField::ALL.len() + 1)
}

/// The bold header row and the column widths.
fn write_header<'a>(
    sheet: &mut Worksheet,
    columns: impl Iterator<Item = (&'a str, f64)>,
    formats: &Formats,
) -> Result<(), XlsxError> {
    for (col, (title, width)) in (0..).zip(columns) {
        sheet.write_string_with_format(0, col, cell_text(title), &formats.header)?;
        sheet.set_column_width(col, width)?;
    }
    Ok(())
}

/// Freezes the header row and puts a filter on it.
fn finish(sheet: &mut Worksheet, rows: usize, columns: usize) -> Result<(), XlsxError> {
    let last_row = u32::try_from(rows).unwrap_or(u32::MAX);
    let last_col = u16::try_from(columns.saturating_sub(1)).unwrap_or(u16::MAX);
    sheet.set_freeze_panes(1, 0)?;
    sheet.autofilter(0, 0, last_row, last_col)?;
    Ok(())
}

/// Text cut to what one Excel cell holds; longer text would fail the whole
/// export, and a cell that long is a paste accident, not content.
fn cell_text(text: &str) -> &str {
    match text.char_indices().nth(MAX_CELL_CHARS) {
        Some((end, _)) => &text[..end],
        None => text,
    }
}

/// `date` as an Excel date, when Excel can hold it (years 1900–9999).
fn excel_date(date: Date) -> Option<ExcelDateTime> {
    let year = u16::try_from(date.year()).ok()?;
    ExcelDateTime::from_ymd(year, u8::from(date.month()), date.day()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_text_is_cut_at_the_excel_limit() {
        let long = "я".repeat(MAX_CELL_CHARS + 10);
        assert_eq!(cell_text(&long).chars().count(), MAX_CELL_CHARS);
        assert_eq!(cell_text("коротко"), "коротко");
    }

    #[test]
    fn columns_without_number_or_responsible() {
        let columns = [Column::standard(ActivityField::Description)];
        let titles: Vec<String> = sheet_columns(&columns).into_iter().map(|c| c.title).collect();
        assert_eq!(
            titles,
            [
                "Раздел",
                "№",
                "Содержание мероприятия",
                "Начало срока",
                "Окончание срока",
                "Статус",
                "Дата выполнения",
                "Ответственный"
            ]
        );
    }
}
