//! Roadmap files for the app benchmark, made with the same document code
//! the app uses, so the benchmark opens exactly what a real device stores.

use anyhow::{Context, Result};
use medk_shared::access::Level;
use medk_shared::actions;
use medk_shared::doc::{Edit, NewRoadmap, RoadmapDoc, TextTarget};
use medk_shared::ids::RowId;
use medk_shared::model::{ActivityField, Status};
use std::path::Path;

/// Activities per section, as in large regional roadmaps.
const PER_SECTION: usize = 50;

/// Writes a roadmap of `activities` realistic rows to `path`.
pub fn write_roadmap(path: &Path, activities: usize) -> Result<()> {
    let mut ids = (0u64..).map(|n| RowId::from_random(n.to_le_bytes()));
    let first_section = ids.next().expect("infinite");
    let mut doc = RoadmapDoc::create(
        &NewRoadmap {
            title: format!("Региональная дорожная карта ({activities} мероприятий)"),
            level: Level::Region,
            territory: "Сахалинская область".into(),
            year: Some(2022),
            columns: Level::Region.default_columns(),
        },
        first_section.clone(),
    );
    let mut section = first_section;
    let mut last: Option<RowId> = None;
    for i in 0..activities {
        let mut edits = Vec::new();
        if i > 0 && i % PER_SECTION == 0 {
            let next = ids.next().expect("infinite");
            edits.push(actions::insert_section(&doc, Some(&section), next.clone(), String::new()));
            doc.apply(edits, 0, "bench section").context("adding a section")?;
            edits = Vec::new();
            section = next;
            last = None;
        }
        if i % PER_SECTION == 0 {
            edits.push(Edit::SetText {
                target: TextTarget::Section(section.clone()),
                value: format!(
                    "{}. Организационно-методическое сопровождение проекта 500+",
                    i / PER_SECTION + 1
                ),
            });
        }
        let id = ids.next().expect("infinite");
        edits.push(actions::insert_activity(&doc, &section, last.as_ref(), id.clone()));
        let text =
            |field, value: String| Edit::SetText { target: TextTarget::Activity(id.clone(), field), value };
        edits.push(text(
            ActivityField::Description,
            format!("Проведение семинара для руководителей ОО-участниц проекта по теме №{i}: анализ результатов, план действий"),
        ));
        edits.push(text(ActivityField::Responsible, "МОСО, ИРОСО, руководители ОО".into()));
        edits.push(text(ActivityField::Deadline, format!("{:02}.{:02}.2022", i % 28 + 1, i % 12 + 1)));
        edits.push(text(
            ActivityField::Indicator,
            "Доля ОО из числа включенных в проект, принявших участие, %".into(),
        ));
        if i % 3 == 0 {
            edits.push(Edit::SetStatus { activity: id.clone(), status: Status::Done });
        }
        doc.apply(edits, 0, "bench activity").context("adding an activity")?;
        last = Some(id);
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, doc.save()).with_context(|| format!("writing {}", path.display()))
}
