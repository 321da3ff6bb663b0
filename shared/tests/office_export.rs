//! Exported Word and Excel files, read back: the roadmap in the official
//! layout, its Excel table, and the execution report on a date.

use std::io::Read;

use docx_rs::{DocumentChild, Docx, TableCellContent, TableChild, TableRowChild};
use medk_shared::access::Level;
use medk_shared::actions;
use medk_shared::doc::{Edit, NewRoadmap, RoadmapDoc, TextTarget};
use medk_shared::history::end_of_day_ms;
use medk_shared::ids::RowId;
use medk_shared::model::{ActivityField, HeaderField, Member, Status};
use medk_shared::office::export_docx::{report_docx, roadmap_docx};
use medk_shared::office::export_xlsx::roadmap_xlsx;
use time::macros::{date, offset};
use time::{Date, UtcOffset};

const MOSCOW: UtcOffset = offset!(+3);

fn id(n: u8) -> RowId {
    RowId::from_random([n; 8])
}

/// Noon of `date` in Moscow, in milliseconds: when an edit was made.
fn noon(date: Date) -> i64 {
    end_of_day_ms(date, MOSCOW) - 12 * 3_600_000
}

/// One activity to add: number, description, deadline.
type Plan = (&'static str, &'static str, &'static str);

const SECTION_1: &str = "1. Организационно-подготовительная работа";
const SECTION_2: &str = "2. Методическое сопровождение";
const ACTIVITIES_1: [Plan; 2] =
    [("1.1.", "Назначение координаторов\nи кураторов", "январь"), ("1.2.", "Отбор школ-участниц", "февраль")];
const ACTIVITIES_2: [Plan; 2] =
    [("2.1.", "Семинар «Анализ результатов»", "март"), ("2.2.", "Итоговая конференция", "до 01.12.2022")];

/// A regional roadmap: two sections of two activities, a header with an
/// approval block, a working group. Everything dated 1 January 2022.
fn sample() -> (RoadmapDoc, Vec<RowId>) {
    let first = id(100);
    let mut doc = RoadmapDoc::create(
        &NewRoadmap {
            title: "Дорожная карта по реализации проекта «500+» в Сахалинской области".into(),
            level: Level::Region,
            territory: "Сахалинская область".into(),
            year: Some(2022),
            columns: Level::Region.default_columns(),
        },
        first.clone(),
    );
    let t = noon(date!(2022 - 01 - 01));
    let header =
        |field, value: &str| Edit::SetText { target: TextTarget::Header(field), value: value.into() };
    let edits = vec![
        header(HeaderField::Approval, "УТВЕРЖДАЮ\nМинистр образования\n_________ И.И. Иванов"),
        header(HeaderField::Abbreviations, "Принятые сокращения: ОО — общеобразовательная организация"),
        header(HeaderField::Footnotes, "¹ По согласованию."),
        Edit::SetText { target: TextTarget::Column(1), value: "Описание действий".into() },
        Edit::SetText { target: TextTarget::Section(first.clone()), value: SECTION_1.into() },
    ];
    doc.apply(edits, t, "header").unwrap();
    let second = id(101);
    let edit = actions::insert_section(&doc, Some(&first), second.clone(), SECTION_2.into());
    doc.apply(vec![edit], t, "section").unwrap();

    let mut rows = Vec::new();
    for (section, plans) in [(&first, &ACTIVITIES_1), (&second, &ACTIVITIES_2)] {
        let mut after: Option<RowId> = None;
        for &(number, description, deadline) in plans {
            let row = id(rows.len() as u8 + 1);
            let text = |field, value: &str| Edit::SetText {
                target: TextTarget::Activity(row.clone(), field),
                value: value.into(),
            };
            let edits = vec![
                actions::insert_activity(&doc, section, after.as_ref(), row.clone()),
                text(ActivityField::Number, number),
                text(ActivityField::Description, description),
                text(ActivityField::Deadline, deadline),
                text(ActivityField::Responsible, "МОСО"),
            ];
            doc.apply(edits, t, "activity").unwrap();
            after = Some(row.clone());
            rows.push(row);
        }
    }
    let mut after: Option<RowId> = None;
    for (n, (name, position)) in
        [(0, ("Петрова Анна Сергеевна", "Ректор")), (1, ("Сидоров Олег Ильич", "Методист"))]
    {
        let member = Member {
            id: id(200 + n),
            name: name.into(),
            workplace: "ИРОСО".into(),
            position: position.into(),
        };
        let member_id = member.id.clone();
        doc.apply(vec![actions::insert_member(&doc, after.as_ref(), member)], t, "member").unwrap();
        after = Some(member_id);
    }
    (doc, rows)
}

/// Marks `row` done on `day` (the edit is made that day).
fn mark_done(doc: &mut RoadmapDoc, row: &RowId, day: Date) {
    let iso = format!("{}-{:02}-{:02}", day.year(), u8::from(day.month()), day.day());
    let edits = vec![
        Edit::SetStatus { activity: row.clone(), status: Status::Done },
        Edit::SetCompletedOn { activity: row.clone(), date: iso },
    ];
    doc.apply(edits, noon(day), "done").unwrap();
}

// ---- reading .docx back ------------------------------------------------------

/// A cell's text: its paragraphs joined by newlines.
fn cell_text(content: &[TableCellContent]) -> String {
    let lines: Vec<String> = content
        .iter()
        .filter_map(|c| match c {
            TableCellContent::Paragraph(p) => Some(p.raw_text()),
            _ => None,
        })
        .collect();
    lines.join("\n")
}

/// Every top-level table as rows of cell texts.
fn tables(docx: &Docx) -> Vec<Vec<Vec<String>>> {
    docx.document
        .children
        .iter()
        .filter_map(|child| match child {
            DocumentChild::Table(table) => Some(
                table
                    .rows
                    .iter()
                    .map(|TableChild::TableRow(row)| {
                        row.cells.iter().map(|TableRowChild::TableCell(c)| cell_text(&c.children)).collect()
                    })
                    .collect(),
            ),
            _ => None,
        })
        .collect()
}

/// Top-level paragraphs, in order.
fn paragraphs(docx: &Docx) -> Vec<String> {
    docx.document
        .children
        .iter()
        .filter_map(|child| match child {
            DocumentChild::Paragraph(p) => Some(p.raw_text()),
            _ => None,
        })
        .collect()
}

/// One file out of a zip package (.docx, .xlsx).
fn part(bytes: &[u8], name: &str) -> String {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut text = String::new();
    archive.by_name(name).unwrap().read_to_string(&mut text).unwrap();
    text
}

fn strings(row: &[&str]) -> Vec<String> {
    row.iter().map(|s| s.to_string()).collect()
}

// ---- roadmap .docx ---------------------------------------------------------------

#[test]
fn docx_has_the_official_layout() {
    let (doc, _) = sample();
    let roadmap = doc.read();
    let bytes = roadmap_docx(&roadmap);
    let docx = docx_rs::read_docx(&bytes).unwrap();

    let paragraphs = paragraphs(&docx);
    assert_eq!(
        paragraphs[..4],
        strings(&["УТВЕРЖДАЮ", "Министр образования", "_________ И.И. Иванов", &roadmap.header.title])
    );
    // The territory is in the title; the year is not.
    assert_eq!(paragraphs[4..6], strings(&["", "на 2022 год"]));
    assert!(paragraphs.contains(&roadmap.header.abbreviations));
    assert!(paragraphs.contains(&"¹ По согласованию.".to_owned()));
    assert!(paragraphs.contains(&"Состав рабочей группы".to_owned()));

    let tables = tables(&docx);
    assert_eq!(tables.len(), 2);
    let main = &tables[0];
    let titles: Vec<String> = roadmap.columns.iter().map(|c| c.title.clone()).collect();
    assert_eq!(main[0], titles);
    assert_eq!(main[0][1], "Описание действий");
    assert_eq!(main[1], strings(&[SECTION_1]));
    assert_eq!(main[2], strings(&["1.1.", "Назначение координаторов\nи кураторов", "МОСО", "январь", ""]));
    assert_eq!(main[3][0], "1.2.");
    assert_eq!(main[4], strings(&[SECTION_2]));
    assert_eq!(main[5][1], "Семинар «Анализ результатов»");
    assert_eq!(main[6][3], "до 01.12.2022");
    assert_eq!(main.len(), 7);

    let group = &tables[1];
    assert_eq!(group[0], strings(&["№", "ФИО", "Место работы", "Должность"]));
    assert_eq!(group.len(), 3);
    assert_eq!(group[1], strings(&["1", "Петрова Анна Сергеевна", "ИРОСО", "Ректор"]));
    assert_eq!(group[2], strings(&["2", "Сидоров Олег Ильич", "ИРОСО", "Методист"]));

    let xml = part(&bytes, "word/document.xml");
    assert_eq!(xml.matches(r#"<w:gridSpan w:val="5""#).count(), 2, "section rows span all columns");
    assert!(xml.contains(r#"w:orient="landscape""#));
}

#[test]
fn docx_without_a_working_group_has_one_table() {
    let (doc, _) = sample();
    let mut roadmap = doc.read();
    roadmap.working_group.clear();
    let docx = docx_rs::read_docx(&roadmap_docx(&roadmap)).unwrap();
    assert_eq!(tables(&docx).len(), 1);
    assert!(!paragraphs(&docx).contains(&"Состав рабочей группы".to_owned()));
}

// ---- .xlsx -------------------------------------------------------------------------

/// Excel's serial number of a date (days since 1899-12-30).
fn serial(date: Date) -> i32 {
    (date - date!(1899 - 12 - 30)).whole_days() as i32
}

#[test]
fn xlsx_has_a_row_per_activity_with_real_dates() {
    let (mut doc, rows) = sample();
    mark_done(&mut doc, &rows[0], date!(2022 - 01 - 20));
    let roadmap = doc.read();
    let today = date!(2022 - 03 - 15);
    let bytes = roadmap_xlsx(&roadmap, today).unwrap();

    let shared = part(&bytes, "xl/sharedStrings.xml");
    for title in ["Раздел", "№ п/п", "Описание действий", "Начало срока", "Окончание срока", "Статус"]
    {
        assert!(shared.contains(title), "{title} missing");
    }
    for text in [SECTION_1, "Семинар «Анализ результатов»", "Выполнено", "Запланировано"]
    {
        assert!(shared.contains(text), "{text} missing");
    }
    // «февраль» ended before 15 March and it is not done: the sheet says
    // what the screen and the report say.
    assert!(shared.contains(">Просрочено<"), "the overdue one is «Просрочено»");
    // Responsible is a column of this roadmap, so it is not added again.
    assert!(!shared.contains(">Ответственный<"));

    let sheet = part(&bytes, "xl/worksheets/sheet1.xml");
    assert_eq!(sheet.matches("<row ").count(), 1 + 4);
    // «январь» 2022 ends on 31 January; done on 20 January.
    assert_eq!(serial(date!(2022 - 01 - 31)), 44592);
    assert!(sheet.contains(&format!("<v>{}</v>", serial(date!(2022 - 01 - 31)))));
    assert!(sheet.contains(&format!("<v>{}</v>", serial(date!(2022 - 01 - 20)))));
    assert!(sheet.contains("<autoFilter"));
    assert!(sheet.contains(r#"state="frozen""#));

    let workbook = part(&bytes, "xl/workbook.xml");
    assert!(workbook.contains("Дорожная карта") && workbook.contains("Рабочая группа"));
    let members = part(&bytes, "xl/worksheets/sheet2.xml");
    assert_eq!(members.matches("<row ").count(), 1 + 2);

    assert!(part(&bytes, "docProps/core.xml").contains("2022-03-15T00:00:00Z"));
    assert_eq!(roadmap_xlsx(&roadmap, today).unwrap(), bytes, "same roadmap, same day, same bytes");
}

// ---- report .docx --------------------------------------------------------------------

#[test]
fn report_counts_what_was_done_by_the_date() {
    let (mut doc, rows) = sample();
    mark_done(&mut doc, &rows[0], date!(2022 - 01 - 20));
    // Done after the report date: not done on it.
    mark_done(&mut doc, &rows[1], date!(2022 - 04 - 10));
    let day = date!(2022 - 03 - 31);
    let then = doc.read_until(end_of_day_ms(day, MOSCOW)).unwrap();
    let docx = docx_rs::read_docx(&report_docx(&then, day, None)).unwrap();

    let paragraphs = paragraphs(&docx);
    assert_eq!(paragraphs[0], "Отчет о выполнении дорожной карты на 31.03.2022");
    // Due by 31 March: January, February, March; done of them: one.
    assert!(
        paragraphs.contains(&"Выполнено 1 из 3 мероприятий со сроком до 31.03.2022 (33 %)".to_owned()),
        "{paragraphs:#?}"
    );
    assert!(paragraphs.contains(&SECTION_1.to_owned()) && paragraphs.contains(&SECTION_2.to_owned()));

    let tables = tables(&docx);
    assert_eq!(tables.len(), 2);
    assert_eq!(
        tables[0][0],
        strings(&["№", "Мероприятие", "Срок", "Ответственный", "Статус на дату", "Дата выполнения"])
    );
    assert_eq!(tables[0][1][4..], strings(&["Выполнено", "20.01.2022"]));
    assert_eq!(tables[0][2][4..], strings(&["Просрочено", ""]));
    assert_eq!(tables[1][1][4..], strings(&["Просрочено", ""]));
    assert_eq!(tables[1][2][4..], strings(&["Запланировано", ""]));
}

// ---- round trip through the import ------------------------------------------------

/// A fixture imported, exported in the official layout and imported again
/// gives back the same roadmap.
#[test]
fn exported_fixtures_import_back_unchanged() {
    use medk_shared::office::import::parse_docx;
    for name in ["sakhalin-regional-2021.docx", "myshkin-municipal-2022.docx"] {
        let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
        let original = parse_docx(&std::fs::read(path).unwrap()).unwrap();
        let mut next = 0u8..;
        let roadmap =
            original.to_document(&mut || id(next.next().unwrap()), 1_700_000_000_000, "", "").unwrap().read();
        let again = parse_docx(&roadmap_docx(&roadmap)).unwrap();

        assert_eq!(again.title, roadmap.header.title, "{name}");
        assert_eq!(again.document_columns(), roadmap.columns, "{name}");
        let sections =
            |parsed: &medk_shared::office::import::ParsedRoadmap| -> Vec<(String, Vec<Vec<String>>)> {
                parsed
                    .sections
                    .iter()
                    .map(|s| {
                        let cells = s
                            .activities
                            .iter()
                            .map(|a| roadmap.columns.iter().map(|c| parsed.cell(a, c.field)).collect());
                        (s.title.clone(), cells.collect())
                    })
                    .collect()
            };
        assert_eq!(sections(&again), sections(&original), "{name}");
        assert_eq!(again.working_group, original.working_group, "{name}");
        assert_eq!(
            (again.approval.as_str(), again.year),
            (original.approval.as_str(), original.year),
            "{name}"
        );
    }
}

/// What the fixtures lack (approval block, notes, working group, multi-line
/// cells) survives the round trip too.
#[test]
fn exported_sample_imports_back_unchanged() {
    use medk_shared::office::import::parse_docx;
    let (doc, _) = sample();
    let roadmap = doc.read();
    let parsed = parse_docx(&roadmap_docx(&roadmap)).unwrap();
    let header = &roadmap.header;
    assert_eq!(parsed.title, header.title);
    assert_eq!(parsed.year, header.year);
    assert_eq!(parsed.approval, header.approval);
    assert_eq!(parsed.abbreviations, header.abbreviations);
    assert_eq!(parsed.footnotes, header.footnotes);
    assert_eq!(parsed.document_columns(), roadmap.columns);
    for (read, section) in parsed.sections.iter().zip(&roadmap.sections) {
        assert_eq!(read.title, section.title);
        let cells: Vec<Vec<String>> = read
            .activities
            .iter()
            .map(|a| roadmap.columns.iter().map(|c| parsed.cell(a, c.field)).collect())
            .collect();
        // The import drops a number's trailing dot («1.1.» → «1.1»).
        let text = |a: &medk_shared::model::Activity, field| match field {
            ActivityField::Number => a.text(field).trim_end_matches('.').to_owned(),
            _ => a.text(field).to_owned(),
        };
        let expected: Vec<Vec<String>> = section
            .activities
            .iter()
            .map(|a| roadmap.columns.iter().map(|c| text(a, c.field)).collect())
            .collect();
        assert_eq!(cells, expected);
    }
    assert_eq!(parsed.sections.len(), 2);
    let members: Vec<_> = parsed.working_group.iter().map(|m| (&m.name, &m.workplace, &m.position)).collect();
    let expected: Vec<_> =
        roadmap.working_group.iter().map(|m| (&m.name, &m.workplace, &m.position)).collect();
    assert_eq!(members, expected);
}
