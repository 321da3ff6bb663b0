//! A roadmap as a Word document in the official layout, and its execution
//! report on a date.
//!
//! The layout is the one roadmaps are signed in (see the fixtures): the
//! approval block («УТВЕРЖДАЮ…») at the top right, the title, the table under
//! the roadmap's own column titles with a full-width row per section, the
//! abbreviations and footnotes, then the working group. It stays
//! conventional on purpose, so that [`super::import`] reads an exported file
//! back: one header row of column titles, each section a single cell spanning
//! the table (its title as written, number included), one row per activity,
//! and the working group as a table headed «№, ФИО, Место работы, Должность».
//!
//! A4 landscape, Times New Roman 12: what the authorities expect to print.

use crate::indicators::{self, Execution};
use crate::model::{ActivityField, Column, Header, Member, MemberField, Roadmap, Section};
use crate::ru;
use docx_rs::{
    AlignmentType, Docx, PageMargin, PageOrientationType, Paragraph, Run, RunFonts, Table, TableCell,
    TableLayoutType, TableRow, WidthType,
};
use std::io::Cursor;
use time::Date;

/// A4 in twentieths of a point, landscape.
const PAGE_WIDTH: u32 = 16_838;
const PAGE_HEIGHT: u32 = 11_906;
/// 2 cm on every side.
const MARGIN: i32 = 1_134;
/// The width between the margins; every table fills it.
const TEXT_WIDTH: usize = PAGE_WIDTH as usize - 2 * MARGIN as usize;
const FONT: &str = "Times New Roman";
/// 12 pt, in half-points.
const FONT_SIZE: usize = 24;

/// The roadmap in the official layout, as .docx bytes.
pub fn roadmap_docx(roadmap: &Roadmap) -> Vec<u8> {
    let header = &roadmap.header;
    let mut docx = page();
    for line in header.approval.lines() {
        docx = docx.add_paragraph(paragraph(line).align(AlignmentType::Right));
    }
    docx = title(docx, &header.title, header);
    docx = docx.add_table(roadmap_table(roadmap));
    for line in header.abbreviations.lines().chain(header.footnotes.lines()) {
        docx = docx.add_paragraph(paragraph(line));
    }
    if !roadmap.working_group.is_empty() {
        docx = docx
            .add_paragraph(heading("Состав рабочей группы"))
            .add_table(working_group_table(&roadmap.working_group));
    }
    pack(docx)
}

/// «Отчет о выполнении дорожной карты на DD.MM.YYYY»: the counts of
/// [`indicators::execution`] and, per section, each activity's status on
/// `date`. `roadmap_then` is the roadmap as it stood on that date (see
/// [`crate::history::roadmap_on`]).
///
/// `none_due` says in words why nothing was due then
/// ([`crate::monitoring::NoneDue::report_line`]); it replaces «0 из 0».
pub fn report_docx(roadmap_then: &Roadmap, date: Date, none_due: Option<&str>) -> Vec<u8> {
    let header = &roadmap_then.header;
    let execution = indicators::execution(roadmap_then, date);
    let mut docx = page();
    docx = docx.add_paragraph(heading(&format!("Отчет о выполнении дорожной карты на {}", ru::date(date))));
    let summary = match none_due {
        Some(line) if execution.due == 0 => line.to_owned(),
        _ => summary(&execution, date),
    };
    docx = title(docx, &header.title, header)
        .add_paragraph(paragraph(&summary).bold())
        .add_paragraph(paragraph(&details(&execution)));
    for section in roadmap_then.sections.iter().filter(|s| !s.activities.is_empty()) {
        docx =
            docx.add_paragraph(heading(&section.title)).add_table(report_table(section, header.year, date));
    }
    pack(docx)
}

/// «Выполнено N из M мероприятий со сроком до DD.MM.YYYY (X %)».
fn summary(execution: &Execution, date: Date) -> String {
    let mut text = format!(
        "Выполнено {} из {} {} со сроком до {}",
        execution.done_of_due,
        execution.due,
        ru::ACTIVITIES_GENITIVE.after(execution.due as i64),
        ru::date(date)
    );
    if let Some(percent) = execution.percent_done_of_due() {
        text.push_str(&format!(" ({percent} %)"));
    }
    text
}

fn details(execution: &Execution) -> String {
    format!(
        "Всего мероприятий: {}; выполнено: {}; просрочено: {}; отменено: {}; без распознанного срока: {}.",
        execution.active + execution.cancelled,
        execution.done,
        execution.overdue,
        execution.cancelled,
        execution.without_deadline
    )
}

// ---- the document ---------------------------------------------------------

fn page() -> Docx {
    let fonts = RunFonts::new().ascii(FONT).hi_ansi(FONT).east_asia(FONT).cs(FONT);
    let margin = PageMargin {
        top: MARGIN,
        left: MARGIN,
        bottom: MARGIN,
        right: MARGIN,
        header: MARGIN / 2,
        footer: MARGIN / 2,
        gutter: 0,
    };
    Docx::new()
        .page_size(PAGE_WIDTH, PAGE_HEIGHT)
        .page_orient(PageOrientationType::Landscape)
        .page_margin(margin)
        .default_fonts(fonts)
        .default_size(FONT_SIZE)
}

/// `title` bold and centred, then the territory and year when the roadmap
/// title does not already name them. An empty paragraph keeps that line
/// apart from the title: the paragraphs right after a title are read as its
/// continuation (by people and by [`super::import`]).
fn title(mut docx: Docx, title: &str, header: &Header) -> Docx {
    for line in title.lines() {
        docx = docx.add_paragraph(heading(line));
    }
    match subtitle(header) {
        Some(text) => {
            docx.add_paragraph(Paragraph::new()).add_paragraph(paragraph(&text).align(AlignmentType::Center))
        }
        None => docx,
    }
}

fn subtitle(header: &Header) -> Option<String> {
    let territory = header.territory.trim();
    let territory = (!territory.is_empty() && !names(&header.title, territory)).then(|| territory.to_owned());
    let year = header
        .year
        .filter(|year| !header.title.contains(&year.to_string()))
        .map(|year| format!("на {year} год"));
    let parts: Vec<String> = territory.into_iter().chain(year).collect();
    (!parts.is_empty()).then(|| parts.join(", "))
}

/// Whether `title` already names `phrase` in some grammatical case
/// («Сахалинская область» in «…в Сахалинской области»): every word of the
/// phrase matches a word of the title on its first five letters.
fn names(title: &str, phrase: &str) -> bool {
    let stems = |text: &str| -> Vec<String> {
        text.split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(|w| w.chars().take(5).flat_map(char::to_lowercase).collect())
            .collect()
    };
    let title = stems(title);
    stems(phrase).iter().all(|stem| title.contains(stem))
}

fn pack(docx: Docx) -> Vec<u8> {
    let mut bytes = Vec::new();
    docx.pack(Cursor::new(&mut bytes)).expect("writing a .docx into memory cannot fail");
    bytes
}

// ---- text -----------------------------------------------------------------

/// One paragraph of plain text. Control characters (left by PDF dumps) are
/// dropped: XML cannot hold them and Word refuses such a file.
fn paragraph(line: &str) -> Paragraph {
    let clean: String = line.chars().filter(|c| *c == '\t' || !c.is_control()).collect();
    Paragraph::new().add_run(Run::new().add_text(clean))
}

fn heading(line: &str) -> Paragraph {
    paragraph(line).bold().align(AlignmentType::Center)
}

// ---- tables ---------------------------------------------------------------

/// Column widths filling the text width, in proportion to `weights`.
fn widths(weights: &[usize]) -> Vec<usize> {
    let total: usize = weights.iter().sum::<usize>().max(1);
    weights.iter().map(|w| TEXT_WIDTH * w / total).collect()
}

fn table(widths: Vec<usize>, rows: Vec<TableRow>) -> Table {
    Table::new(rows).set_grid(widths).width(TEXT_WIDTH, WidthType::Dxa).layout(TableLayoutType::Fixed)
}

/// A cell with one paragraph per line (at least one: Word requires it).
fn cell(width: usize, text: &str, bold: bool) -> TableCell {
    let mut paragraphs: Vec<Paragraph> = text.lines().map(paragraph).collect();
    if paragraphs.is_empty() {
        paragraphs.push(Paragraph::new());
    }
    paragraphs
        .into_iter()
        .map(|p| if bold { p.bold() } else { p })
        .fold(TableCell::new().width(width, WidthType::Dxa), TableCell::add_paragraph)
}

fn row<'a>(widths: &[usize], texts: impl IntoIterator<Item = &'a str>, bold: bool) -> TableRow {
    TableRow::new(widths.iter().zip(texts).map(|(&width, text)| cell(width, text, bold)).collect())
}

/// A row of one bold cell spanning every column.
fn spanning_row(widths: &[usize], text: &str) -> TableRow {
    TableRow::new(vec![cell(widths.iter().sum(), text, true).grid_span(widths.len())])
}

/// How wide a column is relative to the others.
fn column_weight(field: ActivityField) -> usize {
    match field {
        ActivityField::Number => 2,
        ActivityField::Deadline => 4,
        ActivityField::Description => 10,
        ActivityField::Indicator => 8,
        ActivityField::Form
        | ActivityField::Responsible
        | ActivityField::ReportForm
        | ActivityField::Evidence
        | ActivityField::Comments => 6,
    }
}

fn roadmap_table(roadmap: &Roadmap) -> Table {
    // A roadmap without columns still shows its activities, under its
    // level's usual columns.
    let columns: Vec<Column> = if roadmap.columns.is_empty() {
        roadmap.header.level.default_columns()
    } else {
        roadmap.columns.clone()
    };
    let weights: Vec<usize> = columns.iter().map(|c| column_weight(c.field)).collect();
    let widths = widths(&weights);
    let mut rows = vec![row(&widths, columns.iter().map(|c| c.title.as_str()), true)];
    for section in &roadmap.sections {
        rows.push(spanning_row(&widths, &section.title));
        for activity in &section.activities {
            rows.push(row(&widths, columns.iter().map(|c| activity.text(c.field)), false));
        }
    }
    table(widths, rows)
}

fn working_group_table(members: &[Member]) -> Table {
    let widths = widths(&[2, 10, 14, 10]);
    let titles = std::iter::once("№").chain(MemberField::ALL.map(MemberField::label_ru));
    let mut rows = vec![row(&widths, titles, true)];
    for (i, member) in members.iter().enumerate() {
        let number = (i + 1).to_string();
        let texts = std::iter::once(number.as_str()).chain(MemberField::ALL.map(|f| member.text(f)));
        rows.push(row(&widths, texts, false));
    }
    table(widths, rows)
}

const REPORT_COLUMNS: [&str; 6] =
    ["№", "Мероприятие", "Срок", "Ответственный", "Статус на дату", "Дата выполнения"];

fn report_table(section: &Section, year: Option<i32>, date: Date) -> Table {
    let widths = widths(&[2, 14, 5, 7, 5, 4]);
    let mut rows = vec![row(&widths, REPORT_COLUMNS, true)];
    for activity in &section.activities {
        let state = indicators::activity_state(activity, year, date);
        let completed = indicators::completed_on(activity).map(ru::date).unwrap_or_default();
        let note = activity.status_note_ru();
        let status = if note.is_empty() {
            state.label_ru().into_owned()
        } else {
            format!("{} ({note})", state.label_ru())
        };
        let texts: [&str; 6] = [
            activity.number.as_str(),
            &activity.description,
            &activity.deadline,
            &activity.responsible,
            &status,
            &completed,
        ];
        rows.push(row(&widths, texts, false));
    }
    table(widths, rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn genitive_after_iz() {
        let words: Vec<_> = [0, 1, 2, 5, 11, 21, 101, 111].map(|n| ru::ACTIVITIES_GENITIVE.after(n)).into();
        assert_eq!(
            words,
            [
                "мероприятий",
                "мероприятия",
                "мероприятий",
                "мероприятий",
                "мероприятий",
                "мероприятия",
                "мероприятия",
                "мероприятий"
            ]
        );
    }

    #[test]
    fn title_names_territory_in_any_case() {
        assert!(names("Дорожная карта в Сахалинской области", "Сахалинская область"));
        assert!(names("Дорожная карта МОУ «Мышкинская СОШ»", "МОУ Мышкинская СОШ"));
        assert!(!names("Дорожная карта", "Мышкинский район"));
    }

    #[test]
    fn summary_line() {
        let execution = Execution { due: 3, done_of_due: 2, ..Execution::default() };
        assert_eq!(
            summary(&execution, date!(2022 - 03 - 01)),
            "Выполнено 2 из 3 мероприятий со сроком до 01.03.2022 (66 %)"
        );
        assert_eq!(
            summary(&Execution::default(), date!(2022 - 03 - 01)),
            "Выполнено 0 из 0 мероприятий со сроком до 01.03.2022"
        );
    }
}
