//! The .docx import: both fixtures against what their .json lists, a corpus
//! of awkward tables written with docx-rs, damaged files, and the way from a
//! parsed roadmap to a document and to the dry-run JSON.

use docx_rs::{Docx, Paragraph, Run, RunProperty, Table, TableCell, TableRow, VMergeType, VertAlignType};
use medk_shared::access::Level;
use medk_shared::ids::RowId;
use medk_shared::model::ActivityField;
use medk_shared::office::import::{ImportError, MAX_DOCX_BYTES, ParsedRoadmap, guess_field, parse_docx};
use serde_json::{Value, json};
use std::io::Cursor;

// ---------------------------------------------------------------------------
// Building .docx files.

fn para(text: &str) -> Paragraph {
    Paragraph::new().add_run(Run::new().add_text(text))
}

fn cell(text: &str) -> TableCell {
    TableCell::new().add_paragraph(para(text))
}

fn cell_lines(lines: &[&str]) -> TableCell {
    lines.iter().fold(TableCell::new(), |c, l| c.add_paragraph(para(l)))
}

fn row(texts: &[&str]) -> TableRow {
    TableRow::new(texts.iter().map(|t| cell(t)).collect())
}

/// A row with one cell spanning `width` columns: how Word writes a section heading.
fn merged_row(text: &str, width: usize) -> TableRow {
    TableRow::new(vec![cell(text).grid_span(width)])
}

fn pack(docx: Docx) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    docx.build().pack(&mut out).expect("packing a .docx in memory");
    out.into_inner()
}

fn document(before: &[&str], table: Vec<TableRow>, after: &[&str]) -> Vec<u8> {
    let mut docx = Docx::new();
    for text in before {
        docx = docx.add_paragraph(para(text));
    }
    docx = docx.add_table(Table::new(table));
    for text in after {
        docx = docx.add_paragraph(para(text));
    }
    pack(docx)
}

fn parse(bytes: &[u8]) -> ParsedRoadmap {
    parse_docx(bytes).expect("the document parses")
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))).expect("fixture present")
}

fn ids() -> impl FnMut() -> RowId {
    let mut n = 0u64;
    move || {
        n += 1;
        RowId::from_random(n.to_be_bytes())
    }
}

fn all_activities(parsed: &ParsedRoadmap) -> Vec<&medk_shared::office::import::ParsedActivity> {
    parsed.sections.iter().flat_map(|s| &s.activities).collect()
}

// ---------------------------------------------------------------------------
// The fixtures.

/// The .json lists column titles as typed, with the footnote mark glued to
/// «Муниципальный показатель реализации2»; the import strips that mark (it
/// points at the abbreviations footnote, which is imported on its own), so
/// the expected titles are the json's with a trailing digit after a letter
/// removed.
fn expected_column_title(title: &str) -> String {
    let body = title.trim_end_matches(|c: char| c.is_ascii_digit());
    if body.len() < title.len() && body.ends_with(char::is_alphabetic) {
        body.to_owned()
    } else {
        title.to_owned()
    }
}

fn check_fixture(name: &str) -> ParsedRoadmap {
    let expected: Value =
        serde_json::from_slice(&fixture(&format!("{name}.json"))).expect("fixture json parses");
    let parsed = parse(&fixture(&format!("{name}.docx")));

    assert_eq!(parsed.title, expected["title"].as_str().unwrap());
    assert_eq!(parsed.level.map(Level::roadmap_key), expected["level"].as_str());

    let titles: Vec<String> = parsed.columns.iter().map(|c| c.title.clone()).collect();
    let expected_titles: Vec<String> = expected["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| expected_column_title(t.as_str().unwrap()))
        .collect();
    assert_eq!(titles, expected_titles);
    assert!(
        parsed.columns.iter().all(|c| c.field.is_some()),
        "every fixture column maps: {:?}",
        parsed.columns
    );

    let sections: Vec<(String, usize)> =
        parsed.sections.iter().map(|s| (s.title.clone(), s.activities.len())).collect();
    let expected_sections: Vec<(String, usize)> = expected["sections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["title"].as_str().unwrap().to_owned(), s["items"].as_u64().unwrap() as usize))
        .collect();
    assert_eq!(sections, expected_sections);

    let items = expected["items"].as_array().unwrap();
    let activities = all_activities(&parsed);
    assert_eq!(activities.len(), items.len());
    for (activity, item) in activities.iter().zip(items) {
        // The json's number is the normalized one («1. 1» → «1.1»); its
        // cells are as written, and so are ours.
        assert_eq!(activity.number, item["number"].as_str().unwrap());
        let cells: Vec<&str> =
            item["cells"].as_array().unwrap().iter().map(|c| c.as_str().unwrap()).collect();
        assert_eq!(activity.cells, cells);
    }

    let members: Vec<(String, String, String)> = parsed
        .working_group
        .iter()
        .map(|m| (m.name.clone(), m.workplace.clone(), m.position.clone()))
        .collect();
    let expected_members: Vec<(String, String, String)> = expected["working_group"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let field = |k: &str| m[k].as_str().unwrap().to_owned();
            (field("name"), field("workplace"), field("position"))
        })
        .collect();
    assert_eq!(members, expected_members);
    parsed
}

#[test]
fn sakhalin_fixture_reads_as_its_json_lists() {
    let parsed = check_fixture("sakhalin-regional-2021");
    assert_eq!(parsed.year, Some(2021));
    assert_eq!(parsed.territory, "Сахалинской области");
    let fields: Vec<Option<ActivityField>> = parsed.columns.iter().map(|c| c.field).collect();
    use ActivityField::*;
    assert_eq!(fields, [Some(Number), Some(Description), Some(Responsible), Some(Deadline), Some(Indicator)]);
    assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
}

#[test]
fn myshkin_fixture_reads_as_its_json_lists() {
    let parsed = check_fixture("myshkin-municipal-2022");
    assert_eq!(parsed.year, Some(2022));
    assert_eq!(parsed.territory, "Мышкинском районе");
    assert!(parsed.abbreviations.starts_with("Принятые сокращения: ОО - общеобразовательная организация;"));
    assert!(parsed.footnotes.is_empty());
    // Unnumbered activities in this roadmap start with a capital letter and
    // fill every column: they are activities, not continuations.
    assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
    let first = &parsed.sections[0].activities[0];
    let deadline = parsed.deadline(first);
    assert_eq!(deadline.text, "декабрь 2021");
    assert_eq!(deadline.start.map(|d| d.to_string()), Some("2021-12-01".to_owned()));
}

#[test]
fn fixtures_become_documents_holding_the_same_rows() {
    for name in ["sakhalin-regional-2021", "myshkin-municipal-2022"] {
        let parsed = parse(&fixture(&format!("{name}.docx")));
        let doc = parsed.to_document(&mut ids(), 1_700_000_000_000, "", "").unwrap();
        let roadmap = doc.read();
        assert_eq!(roadmap.header.title, parsed.title);
        assert_eq!(Some(roadmap.header.level), parsed.level);
        assert_eq!(roadmap.header.year, parsed.year);
        assert_eq!(roadmap.header.territory, parsed.territory);
        assert_eq!(roadmap.header.abbreviations, parsed.abbreviations);
        let titles: Vec<&str> = roadmap.columns.iter().map(|c| c.title.as_str()).collect();
        let parsed_titles: Vec<&str> = parsed.columns.iter().map(|c| c.title.as_str()).collect();
        assert_eq!(titles, parsed_titles);
        assert_eq!(roadmap.sections.len(), parsed.sections.len());
        for (section, expected) in roadmap.sections.iter().zip(&parsed.sections) {
            assert_eq!(section.title, expected.title);
            assert_eq!(section.activities.len(), expected.activities.len());
            for (activity, a) in section.activities.iter().zip(&expected.activities) {
                assert_eq!(activity.number, a.number);
                for column in &roadmap.columns {
                    assert_eq!(activity.text(column.field), parsed.cell(a, column.field));
                }
            }
        }
        let members: Vec<(&str, &str, &str)> = roadmap
            .working_group
            .iter()
            .map(|m| (m.name.as_str(), m.workplace.as_str(), m.position.as_str()))
            .collect();
        let expected: Vec<(&str, &str, &str)> = parsed
            .working_group
            .iter()
            .map(|m| (m.name.as_str(), m.workplace.as_str(), m.position.as_str()))
            .collect();
        assert_eq!(members, expected);
    }
}

// ---------------------------------------------------------------------------
// Awkward layouts.

const HEADER: [&str; 5] =
    ["№ п/п", "Содержание мероприятия", "Ответственный исполнитель", "Сроки", "Показатель"];

/// Everything awkward at once, the way converted and hand-typed roadmaps
/// come: an approval block, a two-paragraph title, a row of column numbers,
/// merged and unmerged section headings, odd numbers, an unnumbered
/// activity, a row split by a page break, a repeated header, an empty row,
/// a nested table, vertically merged cells, abbreviations, footnotes and a
/// working group.
fn awkward_document() -> Vec<u8> {
    let responsible_start = TableRow::new(vec![
        cell("2.1."),
        cell("Вебинар для школ"),
        cell("ИРО").vertical_merge(VMergeType::Restart),
        cell("март 2022"),
        cell("Проведён"),
    ]);
    let responsible_continued = TableRow::new(vec![
        cell("2.2."),
        cell("Вебинар для кураторов"),
        TableCell::new().vertical_merge(VMergeType::Continue),
        cell("апрель 2022"),
        cell("Проведён"),
    ]);
    let number_merge_start = TableRow::new(vec![
        cell("2.3").vertical_merge(VMergeType::Restart),
        cell("Мониторинг").vertical_merge(VMergeType::Restart),
        cell("МОУО"),
        cell("май 2022"),
        cell("Справка"),
    ]);
    let number_merge_continued = TableRow::new(vec![
        TableCell::new().vertical_merge(VMergeType::Continue),
        TableCell::new().vertical_merge(VMergeType::Continue),
        cell("ОО"),
        cell("июнь 2022"),
        cell("Отчёт"),
    ]);
    let nested = TableRow::new(vec![
        cell("3.1"),
        cell("Совещание с директорами"),
        TableCell::new()
            .add_table(Table::new(vec![row(&["Иванов И.И.", "директор"]), row(&["Петров П.П.", "завуч"])])),
        cell("сентябрь 2022"),
        cell("Протокол"),
    ]);
    let table = vec![
        row(&HEADER),
        row(&["1", "2", "3", "4", "5"]),
        merged_row("1. Организационная работа", 5),
        row(&["1. 1", "Назначение   координаторов", "МОУО", "январь 2022", "Приказ"]),
        TableRow::new(vec![
            cell("4,1."),
            cell_lines(&["Отбор кураторов", "и их обучение"]),
            cell("МОУО"),
            cell("февраль 2022"),
            cell("Список"),
        ]),
        row(&["", "Подведение итогов этапа", "МОУО", "март 2022", "Справка"]),
        row(&["", "и размещение их на сайте", "", "", "Размещено"]),
        row(&["", "", "", "", ""]),
        row(&HEADER),
        row(&["2. Информационное сопровождение", "", "", "", ""]),
        responsible_start,
        responsible_continued,
        number_merge_start,
        number_merge_continued,
        merged_row("Раздел 3. Совещания", 5),
        nested,
    ];
    let members = Table::new(vec![
        row(&["№", "ФИО", "Место работы", "Должность"]),
        row(&["1", "Морозова Галина Николаевна", "Управление образования", "начальник"]),
        row(&["", "", "", ""]),
        row(&["2", "Яковлева Елена Владимировна", "МОУ Мышкинская СОШ", "директор"]),
    ]);
    let mut docx = Docx::new();
    for text in [
        "3.12-105-р",
        "УТВЕРЖДАЮ",
        "Начальник управления образования",
        "Администрации Энского района",
        "",
        "Дорожная карта",
        "по реализации проекта 500+ в Энском районе на 2022 год",
    ] {
        docx = docx.add_paragraph(para(text));
    }
    docx = docx.add_table(Table::new(table));
    for text in [
        "Принятые сокращения:",
        "МОУО – муниципальный орган управления образованием;",
        "ОО – общеобразовательная организация.",
        "1 Далее – Проект 500+",
        "Состав рабочей группы",
    ] {
        docx = docx.add_paragraph(para(text));
    }
    pack(docx.add_table(members))
}

#[test]
fn awkward_layout_reads_sensibly() {
    let parsed = parse(&awkward_document());
    assert_eq!(parsed.title, "Дорожная карта по реализации проекта 500+ в Энском районе на 2022 год");
    assert_eq!(
        parsed.approval, "УТВЕРЖДАЮ\nНачальник управления образования\nАдминистрации Энского района",
        "the document code before «УТВЕРЖДАЮ» is not part of the approval"
    );
    assert_eq!(parsed.level, Some(Level::Municipality));
    assert_eq!(parsed.territory, "Энском районе");
    assert_eq!(parsed.year, Some(2022));
    assert_eq!(
        parsed.abbreviations,
        "Принятые сокращения:\nМОУО – муниципальный орган управления образованием;\nОО – общеобразовательная организация."
    );
    assert_eq!(parsed.footnotes, "1 Далее – Проект 500+");

    let sections: Vec<(&str, usize)> =
        parsed.sections.iter().map(|s| (s.title.as_str(), s.activities.len())).collect();
    assert_eq!(
        sections,
        [
            ("1. Организационная работа", 3),
            ("2. Информационное сопровождение", 3),
            ("Раздел 3. Совещания", 1)
        ]
    );
    let rows: Vec<(&str, &[String])> =
        all_activities(&parsed).into_iter().map(|a| (a.number.as_str(), a.cells.as_slice())).collect();
    let expect = |cells: [&str; 5]| cells.map(str::to_owned).to_vec();
    assert_eq!(rows[0].0, "1.1");
    assert_eq!(rows[0].1, expect(["1. 1", "Назначение координаторов", "МОУО", "январь 2022", "Приказ"]));
    assert_eq!(rows[1].0, "4,1");
    assert_eq!(rows[1].1[1], "Отбор кураторов\nи их обучение", "paragraphs of a cell join with a newline");
    // The unnumbered row is an activity; the lower-case row after it continues it.
    assert_eq!(rows[2].0, "");
    assert_eq!(
        rows[2].1,
        expect([
            "",
            "Подведение итогов этапа и размещение их на сайте",
            "МОУО",
            "март 2022",
            "Справка\nРазмещено"
        ])
    );
    // A vertically merged «Ответственный» reads as its start in every row.
    assert_eq!(rows[3].1[2], "ИРО");
    assert_eq!(rows[4].1[2], "ИРО");
    // A vertical merge in the number column keeps the same activity going.
    assert_eq!(rows[5].0, "2.3");
    assert_eq!(rows[5].1, expect(["2.3", "Мониторинг", "МОУО\nОО", "май 2022\nиюнь 2022", "Справка\nОтчёт"]));
    // A nested table reads as lines.
    assert_eq!(rows[6].1[2], "Иванов И.И. директор\nПетров П.П. завуч");

    assert_eq!(parsed.working_group.len(), 2);
    assert_eq!(parsed.working_group[1].name, "Яковлева Елена Владимировна");
    assert_eq!(parsed.working_group[1].workplace, "МОУ Мышкинская СОШ");
    assert_eq!(parsed.working_group[1].position, "директор");

    let warnings = parsed.warnings.join("\n");
    assert_eq!(parsed.warnings.len(), 2, "{warnings}");
    assert!(warnings.contains("Строка 7: нет номера"), "{warnings}");
    assert!(warnings.contains("Строка 16: в ячейке вложенная таблица"), "{warnings}");
}

#[test]
fn a_table_without_header_gets_columns_from_its_content() {
    let bytes = document(
        &["План мероприятий школы"],
        vec![
            row(&["1.", "Анализ результатов ВПР", "январь 2023", "Завуч"]),
            row(&["2.", "Педсовет по итогам анализа", "февраль 2023", "Директор"]),
            row(&["3.", "Открытые уроки", "март-апрель 2023", "Учителя"]),
        ],
        &[],
    );
    let parsed = parse(&bytes);
    let fields: Vec<Option<ActivityField>> = parsed.columns.iter().map(|c| c.field).collect();
    use ActivityField::*;
    assert_eq!(fields, [Some(Number), Some(Description), Some(Deadline), Some(Responsible)]);
    assert_eq!(parsed.columns[1].title, "Содержание мероприятия");
    assert!(parsed.warnings[0].contains("не найдена строка заголовков"), "{:?}", parsed.warnings);
    assert_eq!(all_activities(&parsed).len(), 3, "the first row is data, not a header");
    assert_eq!(parsed.year, Some(2023), "no year in the title: the deadlines' year");
    assert_eq!(parsed.title, "План мероприятий школы");
}

#[test]
fn a_header_split_across_tables_continues_the_table() {
    // Slides or pages each starting a new table with the same header.
    let header = ["Дата", "Событие", "Показатель для контроля"];
    let mut docx = Docx::new().add_paragraph(para("Дорожная карта 500+"));
    for (date, event) in [("15.02.2021", "Назначение кураторов"), ("10.03.2021", "Первичное посещение ОО")]
    {
        docx = docx
            .add_table(Table::new(vec![row(&header), row(&[date, event, "Доля ОО"])]))
            .add_paragraph(para("Дорожная карта 500+"));
    }
    let parsed = parse(&pack(docx));
    let descriptions: Vec<String> =
        all_activities(&parsed).iter().map(|a| parsed.cell(a, ActivityField::Description)).collect();
    assert_eq!(descriptions, ["Назначение кураторов", "Первичное посещение ОО"]);
    assert_eq!(parsed.year, Some(2021));
    assert_eq!(parsed.level, None);
}

#[test]
fn duplicate_and_unknown_columns_are_left_unmapped_with_a_warning() {
    let bytes = document(
        &["Дорожная карта"],
        vec![
            row(&["№", "Мероприятие", "Описание", "Срок", "Отметка"]),
            row(&["1", "Семинар", "Для учителей", "май 2022", "+"]),
        ],
        &[],
    );
    let parsed = parse(&bytes);
    let fields: Vec<Option<ActivityField>> = parsed.columns.iter().map(|c| c.field).collect();
    use ActivityField::*;
    assert_eq!(fields, [Some(Number), Some(Description), None, Some(Deadline), None]);
    assert_eq!(parsed.warnings.len(), 2, "{:?}", parsed.warnings);
    assert!(parsed.warnings[0].contains("«Описание»"));

    // Mapping both to Description joins them; the document keeps the first title.
    let mut remapped = parsed.clone();
    remapped.columns[2].field = Some(Description);
    let a = &remapped.sections[0].activities[0];
    assert_eq!(remapped.cell(a, Description), "Семинар\nДля учителей");
    let columns: Vec<(ActivityField, String)> =
        remapped.document_columns().into_iter().map(|c| (c.field, c.title)).collect();
    assert_eq!(
        columns,
        [(Number, "№".into()), (Description, "Мероприятие".into()), (Deadline, "Срок".into())]
    );
    let doc = remapped.to_document(&mut ids(), 0, "", "").unwrap().read();
    assert_eq!(doc.sections[0].activities[0].description, "Семинар\nДля учителей");
    assert_eq!(doc.header.level, Level::Region, "unknown level defaults to regional");
}

#[test]
fn superscript_footnote_marks_are_dropped() {
    let mark = |text: &str| {
        let mut run = Run::new().add_text(text);
        run.run_property = RunProperty::new().vert_align(VertAlignType::SuperScript);
        run
    };
    let title =
        Paragraph::new().add_run(Run::new().add_text("Дорожная карта проекта 500+")).add_run(mark("1"));
    let header_cell = TableCell::new()
        .add_paragraph(Paragraph::new().add_run(Run::new().add_text("Показатель")).add_run(mark("2")));
    let table = Table::new(vec![
        TableRow::new(vec![cell("№"), cell("Содержание"), header_cell]),
        row(&["1.1", "Семинар", "Проведён"]),
    ]);
    let parsed = parse(&pack(Docx::new().add_paragraph(title).add_table(table)));
    assert_eq!(parsed.title, "Дорожная карта проекта 500+");
    assert_eq!(parsed.columns[2].title, "Показатель");
}

#[test]
fn guess_field_reads_titles_by_meaning() {
    use ActivityField::*;
    let cases = [
        ("№", Some(Number)),
        ("№ п/ п", Some(Number)),
        ("п/п", Some(Number)),
        ("Содержание мероприятия", Some(Description)),
        ("Описание действий", Some(Description)),
        ("Наименование\nмероприятия", Some(Description)),
        ("Форма проведения", Some(Form)),
        ("Форма", Some(Form)),
        ("Сроки", Some(Deadline)),
        ("Срок проведения мероприятия", Some(Deadline)),
        ("Дата\nреализации", Some(Deadline)),
        ("Период", Some(Deadline)),
        ("Ответственный исполнитель", Some(Responsible)),
        ("Исполнители", Some(Responsible)),
        ("Ожидаемые результаты показателя для контроля", Some(Indicator)),
        ("Муниципальный показатель реализации2", Some(Indicator)),
        ("Результат", Some(Indicator)),
        ("Форма отчета", Some(ReportForm)),
        ("Отчётность", Some(ReportForm)),
        ("Подтверждение исполнения", Some(Evidence)),
        ("Документ", Some(Evidence)),
        ("Примечание", Some(Comments)),
        ("  КОММЕНТАРИИ  ", Some(Comments)),
        ("ФИО", None),
        ("Отметка", None),
    ];
    for (title, field) in cases {
        assert_eq!(guess_field(title), field, "{title:?}");
    }
}

// ---------------------------------------------------------------------------
// The dry-run JSON.

#[test]
fn json_report_has_the_documented_shape() {
    let bytes = document(
        &["Муниципальная дорожная карта на 2022 год"],
        vec![
            row(&["№ п/п", "Описание действий", "Дата реализации", "Отметка"]),
            merged_row("1. Организация", 4),
            row(&["1. 1", "Назначение координаторов", "декабрь 2021", "да"]),
            row(&["1.2.", "Отчёт", "непонятно когда", ""]),
        ],
        &[],
    );
    let parsed = parse(&bytes);
    assert_eq!(
        parsed.to_json(),
        json!({
            "title": "Муниципальная дорожная карта на 2022 год",
            "level": "municipal",
            "columns": [
                {"title": "№ п/п", "field": "number"},
                {"title": "Описание действий", "field": "description"},
                {"title": "Дата реализации", "field": "deadline"},
                {"title": "Отметка", "field": null},
            ],
            "sections": [{
                "title": "1. Организация",
                "activities": [
                    {
                        "number": "1.1",
                        "cells": {"number": "1.1", "description": "Назначение координаторов", "deadline": "декабрь 2021", "Отметка": "да"},
                        "deadline": {"text": "декабрь 2021", "start": "2021-12-01", "end": "2021-12-31"},
                    },
                    {
                        "number": "1.2",
                        "cells": {"number": "1.2", "description": "Отчёт", "deadline": "непонятно когда", "Отметка": ""},
                        "deadline": {"text": "непонятно когда", "start": null, "end": null},
                    },
                ],
            }],
            "working_group": [],
            "warnings": ["Столбец «Отметка» не сопоставлен ни с одним полем и не будет импортирован."],
        })
    );
}

// ---------------------------------------------------------------------------
// Bad input.

#[test]
fn garbage_is_refused_as_damaged() {
    for bytes in [&b""[..], b"hello", b"PK\x03\x04garbage", &[0u8; 4096]] {
        assert!(matches!(parse_docx(bytes), Err(ImportError::Damaged(_))), "{bytes:?}");
    }
    let message = parse_docx(b"not a docx").unwrap_err().to_string();
    assert_eq!(message, "файл повреждён или не является документом Word (.docx)");
}

#[test]
fn a_huge_file_is_refused_before_reading() {
    let bytes = vec![0u8; MAX_DOCX_BYTES + 1];
    let error = parse_docx(&bytes).unwrap_err();
    assert!(matches!(error, ImportError::TooLarge { size_mb: 21 }));
    assert!(error.to_string().contains("не больше 20 МБ"));
}

#[test]
fn a_document_without_tables_has_no_roadmap_table() {
    let bytes =
        pack(Docx::new().add_paragraph(para("Дорожная карта")).add_paragraph(para("Текст без таблицы")));
    let error = parse_docx(&bytes).unwrap_err();
    assert!(matches!(error, ImportError::NoTable));
    assert_eq!(error.to_string(), "в документе не найдена таблица мероприятий");
}

#[test]
fn pathological_tables_do_not_blow_up() {
    let bytes = document(
        &["Дорожная карта"],
        vec![
            row(&["№", "Содержание", "Срок"]),
            TableRow::new(vec![cell("Раздел без конца").grid_span(1_000_000_000)]),
            TableRow::new(vec![TableCell::new().vertical_merge(VMergeType::Continue); 3]),
            TableRow::new(vec![]),
            row(&["1.1", "Семинар", "май 2022", "лишняя ячейка", "и ещё одна"]),
        ],
        &[],
    );
    let parsed = parse(&bytes);
    assert_eq!(parsed.columns.len(), 3);
    let sections: Vec<(&str, usize)> =
        parsed.sections.iter().map(|s| (s.title.as_str(), s.activities.len())).collect();
    assert_eq!(sections, [("Раздел без конца", 1)]);
    assert_eq!(parsed.sections[0].activities[0].cells, ["1.1", "Семинар", "май 2022"]);

    let empty_table = pack(Docx::new().add_table(Table::new(vec![])));
    assert!(matches!(parse_docx(&empty_table), Err(ImportError::NoTable)));
}

#[test]
fn a_zip_without_the_main_document_is_damaged() {
    // docx-rs stores parts uncompressed, so renaming the part in its local
    // header and central directory entry (same length) keeps a valid zip.
    let mut bytes = document(&["Дорожная карта"], vec![row(&HEADER)], &[]);
    let (from, to) = (&b"word/document.xml"[..], &b"word/documenX.xml"[..]);
    let u16_at = |b: &[u8], i: usize| usize::from(u16::from_le_bytes([b[i], b[i + 1]]));
    let mut renamed = 0;
    for i in 0..bytes.len().saturating_sub(46) {
        let name_at = match &bytes[i..i + 4] {
            b"PK\x03\x04" => Some((u16_at(&bytes, i + 26), i + 30)),
            b"PK\x01\x02" => Some((u16_at(&bytes, i + 28), i + 46)),
            _ => None,
        };
        if let Some((len, start)) = name_at
            && len == from.len()
            && bytes.get(start..start + len) == Some(from)
        {
            bytes[start..start + len].copy_from_slice(to);
            renamed += 1;
        }
    }
    assert!(renamed >= 2);
    assert!(matches!(parse_docx(&bytes), Err(ImportError::Damaged(_))));
}

#[test]
fn truncated_fixtures_fail_cleanly() {
    for name in ["sakhalin-regional-2021.docx", "myshkin-municipal-2022.docx"] {
        let bytes = fixture(name);
        for end in (0..bytes.len()).step_by(997) {
            assert!(parse_docx(&bytes[..end]).is_err(), "{name} cut at {end} should not parse");
        }
    }
}

/// A damaged byte anywhere in a real roadmap gives a roadmap or a clean
/// error, never a panic (docx-rs unwraps zip read errors; the archive check
/// in front of it must catch them). In wasm a panic would end the app.
#[test]
fn corrupted_bytes_never_panic() {
    for name in ["sakhalin-regional-2021.docx", "myshkin-municipal-2022.docx"] {
        let bytes = fixture(name);
        let mut panics = Vec::new();
        for offset in (0..bytes.len()).step_by(53) {
            let mut damaged = bytes.clone();
            damaged[offset] ^= 0x5a;
            if std::panic::catch_unwind(|| parse_docx(&damaged)).is_err() {
                panics.push(offset);
            }
        }
        assert!(panics.is_empty(), "{name}: a flipped byte at these offsets panicked: {panics:?}");
    }
}

/// The tester's roadmap: 1,100 activities with 600-character descriptions,
/// about 700,000 operations. Imported, it is written in changes each of
/// which the relay takes in one message (before, the import was one change
/// of 700,000 operations, which no device could ever send).
#[test]
fn a_big_import_is_written_in_changes_the_relay_takes() {
    use medk_shared::office::import::{ParsedActivity, ParsedColumn, ParsedSection};
    use medk_shared::sync::chunks::Size;
    use medk_shared::sync::relay::MAX_OPS_PER_MESSAGE;
    let description =
        "Проведение методического семинара для педагогов по вопросам функциональной грамотности. "
            .repeat(8)
            .chars()
            .take(600)
            .collect::<String>();
    let parsed = ParsedRoadmap {
        title: "Большая карта".into(),
        level: Some(Level::Region),
        territory: String::new(),
        year: Some(2026),
        approval: String::new(),
        abbreviations: String::new(),
        footnotes: String::new(),
        adopted_on: String::new(),
        columns: vec![
            ParsedColumn { title: "№".into(), field: Some(ActivityField::Number) },
            ParsedColumn { title: "Мероприятие".into(), field: Some(ActivityField::Description) },
        ],
        sections: vec![ParsedSection {
            title: "1. Раздел".into(),
            activities: (0..1_100)
                .map(|i| ParsedActivity {
                    number: format!("1.{i}"),
                    cells: vec![format!("1.{i}"), description.clone()],
                })
                .collect(),
        }],
        working_group: Vec::new(),
        warnings: Vec::new(),
    };
    let mut doc = parsed.to_document(&mut ids(), 1_700_000_000_000, "Иванова", "карта.docx").unwrap();
    let changes = doc.automerge().get_changes(&[]);
    let ops: usize = changes.iter().map(|c| c.len()).sum();
    assert!(ops > 680_000, "{ops} operations");
    let largest = changes.iter().map(|c| Size::change(c.len()).cost()).max().unwrap();
    assert!(largest <= MAX_OPS_PER_MESSAGE, "a change of {largest}");
    assert_eq!(doc.read().activity_count(), 1_100);
    // Every part is signed as the import.
    let last = doc.read().sections[0].activities[1_099].id.clone();
    let history = medk_shared::history::activity_history(&mut doc, &last);
    assert!(history.iter().any(|entry| entry.author.as_deref() == Some("Иванова")), "{history:?}");
}

/// A file another program wrote as one change too big for the relay is
/// written afresh in parts: the same roadmap, every change within a message.
#[test]
fn a_file_in_one_huge_change_is_written_afresh_in_parts() {
    use medk_shared::doc::{Edit, NewRoadmap, NewRow, RoadmapDoc, blank_activity};
    use medk_shared::sync::chunks::Size;
    use medk_shared::sync::relay::MAX_OPS_PER_MESSAGE;
    let mut doc = RoadmapDoc::create(
        &NewRoadmap {
            title: "Чужая программа".into(),
            level: Level::School,
            territory: String::new(),
            year: None,
            columns: Level::School.default_columns(),
        },
        RowId::new("s0"),
    );
    let edits = (0..400)
        .map(|i| {
            let mut activity = blank_activity(RowId::new(format!("a{i:04}")));
            activity.description = "д".repeat(600);
            activity.status = medk_shared::model::Status::Done;
            Edit::Create(Box::new(NewRow::Activity {
                section: RowId::new("s0"),
                pos: format!("8{i:04}"),
                activity,
            }))
        })
        .collect();
    doc.apply(edits, 0, "all at once").unwrap();
    assert!(doc.largest_change() as u64 > MAX_OPS_PER_MESSAGE);
    let mut afresh = doc.written_afresh(1, "imported").unwrap();
    assert!(Size::change(afresh.largest_change()).cost() <= MAX_OPS_PER_MESSAGE);
    assert_eq!(afresh.read(), doc.read());
    assert!(afresh.automerge().get_changes(&[]).len() > 2);
}
