//! Bringing a roadmap file into the app, offline: a Word roadmap (.docx) is
//! parsed in the browser and shown as a preview where the person checks the
//! title and level, changes which column goes where, reads the warnings, and
//! only then imports it as a new roadmap; an `.automerge` file (as the editor
//! saves it) is imported as is.

use leptos::prelude::*;
use medk_shared::access::Level;
use medk_shared::deadline::{iso, parse_iso};
use medk_shared::doc::RoadmapDoc;
use medk_shared::model::ActivityField;
use medk_shared::office::parsed::{DEFAULT_LEVEL, ParsedRoadmap};
use medk_shared::ru;
use wasm_bindgen::JsCast;

use super::kit::ctx;
use crate::browser;
use crate::document::OpenRoadmap;

/// Activities shown in the preview; the rest are counted.
const PREVIEW_ROWS: usize = 12;

/// A parsed Word file waiting for the person's go-ahead.
#[derive(Clone)]
struct Pending {
    file_name: String,
    parsed: ParsedRoadmap,
}

/// «Импорт файла»: picks a .docx or .automerge file.
#[component]
pub fn ImportButton(on_done: impl Fn() + Copy + Send + Sync + 'static) -> impl IntoView {
    let app = ctx();
    let router = super::route::router();
    let pending: RwSignal<Option<Pending>> = RwSignal::new(None);
    let on_change = move |ev: leptos::ev::Event| {
        let Some(input) = ev.target().and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok()) else {
            return;
        };
        let Some(file) = input.files().and_then(|f| f.get(0)) else {
            return;
        };
        input.set_value("");
        let storage = app.storage();
        leptos::task::spawn_local(async move {
            let file_name = file.name();
            let bytes = match browser::read_file(&file).await {
                Ok(bytes) => bytes,
                Err(e) => return app.error(format!("Файл «{file_name}» не прочитан: {e}")),
            };
            if is_word(&file_name, &bytes) {
                match crate::office::parse_docx(&bytes).await {
                    Ok(parsed) => pending.set(Some(Pending { file_name, parsed })),
                    Err(e) => app.error(format!("Файл «{file_name}» не импортирован: {e}")),
                }
                return;
            }
            // A file another program wrote is taken only as the relay would
            // take it: as a roadmap in the layout, within its limits.
            let stored = match RoadmapDoc::load(&bytes) {
                Ok(doc) if !doc.problems().is_empty() => Err(format!(
                    "часть данных в нём записана не так, как ожидает приложение ({})",
                    doc.problems()[0].detail
                )),
                // Written in changes too big for the relay (by another
                // program): written afresh, so that it can sync.
                Ok(doc) => match doc.fit_to_sync(crate::browser::now_ms(), &format!("import «{file_name}»"))
                {
                    Ok(mut doc) => OpenRoadmap::store_copy(&storage, &mut doc, &app.account.person_id())
                        .await
                        .map_err(|e| e.to_string()),
                    Err(e) => Err(e.to_string()),
                },
                Err(e) => Err(e.to_string()),
            };
            match stored {
                Ok(id) => {
                    app.sync().track(id);
                    on_done();
                    router.navigate(&super::route::Route::roadmap(id));
                }
                Err(e) => app.error(format!("Файл «{file_name}» не импортирован: {e}")),
            }
        });
    };
    let accept = ".docx,.automerge,application/vnd.openxmlformats-officedocument.wordprocessingml.document,application/octet-stream";
    view! {
        <label class="button file-button">
            "Импорт файла"
            <input type="file" class="visually-hidden" accept=accept on:change=on_change />
        </label>
        {move || pending.get().map(|p| view! { <ImportPreview pending=p on_close=move || pending.set(None) on_done /> })}
    }
}

/// A .docx is a zip file: it starts with `PK`. Automerge files start with
/// their own magic bytes, so the two never mix up.
fn is_word(file_name: &str, bytes: &[u8]) -> bool {
    file_name.to_lowercase().ends_with(".docx") || bytes.starts_with(b"PK")
}

#[component]
fn ImportPreview(
    pending: Pending,
    on_close: impl Fn() + Copy + Send + Sync + 'static,
    on_done: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let app = ctx();
    let router = super::route::router();
    let Pending { file_name, parsed } = pending;
    let parsed = RwSignal::new(parsed);
    let saving = RwSignal::new(false);
    let imported_from = file_name.clone();
    let import = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        saving.set(true);
        let storage = app.storage();
        let roadmap = parsed.get_untracked();
        let file_name = imported_from.clone();
        leptos::task::spawn_local(async move {
            let author = app.account.author();
            let stored =
                match roadmap.to_document(&mut browser::new_row_id, browser::now_ms(), &author, &file_name) {
                    Ok(mut doc) => OpenRoadmap::store_copy(&storage, &mut doc, &app.account.person_id())
                        .await
                        .map_err(|e| e.to_string()),
                    Err(e) => Err(e.to_string()),
                };
            match stored {
                Ok(id) => {
                    app.sync().track(id);
                    on_close();
                    on_done();
                    router.navigate(&super::route::Route::roadmap(id));
                }
                Err(e) => {
                    saving.set(false);
                    app.error(format!("Дорожная карта не сохранена: {e}"));
                }
            }
        });
    };
    let counts = move || {
        parsed.with(|p| {
            let activities: usize = p.sections.iter().map(|s| s.activities.len()).sum();
            format!(
                "Разделов: {}, мероприятий: {}, в рабочей группе: {}.",
                p.sections.len(),
                activities,
                p.working_group.len()
            )
        })
    };
    let column_count = parsed.with_untracked(|p| p.columns.len());
    view! {
        <form class="card import-preview" aria-labelledby="import-title" on:submit=import>
            <h2 id="import-title">"Импорт из Word: " {file_name}</h2>
            <label class="field">"Название"
                <textarea rows="2" prop:value=move || parsed.with(|p| p.title.clone())
                    on:input=move |ev| parsed.update(|p| p.title = event_target_value(&ev)) />
            </label>
            <label class="field">"Уровень "
                <select on:change=move |ev| parsed.update(|p| p.level = Level::from_roadmap_key(&event_target_value(&ev)))>
                    {Level::ALL.into_iter().map(|level| view! {
                        <option value=level.roadmap_key() selected=move || parsed.with(|p| p.level.unwrap_or(DEFAULT_LEVEL) == level)>
                            {level.roadmap_label()}</option>
                    }).collect_view()}
                </select>
            </label>
            <label class="field">"Дата принятия плана"
                <input type="date" aria-describedby="import-adopted-hint"
                    prop:value=move || parsed.with(|p| p.adopted_on.clone())
                    on:change=move |ev| parsed.update(|p| {
                        p.adopted_on = parse_iso(&event_target_value(&ev)).map(iso).unwrap_or_default()
                    }) />
                <span class="hint" id="import-adopted-hint">
                    "Если план принят раньше, чем импортируется, укажите дату: мониторинг на прошедшие даты будет учитывать его с этого дня."
                </span>
            </label>
            <h3>"Столбцы"</h3>
            <p class="hint">"Проверьте, какой столбец документа куда переносится; «не переносить» оставит его за бортом."</p>
            <table class="mapping">
                <thead><tr><th scope="col">"Столбец в документе"</th><th scope="col">"Поле дорожной карты"</th><th scope="col">"Пример"</th></tr></thead>
                <tbody>{(0..column_count).map(|i| view! { <MappingRow parsed index=i /> }).collect_view()}</tbody>
            </table>
            <p class="import-counts" role="status">{super::kit::text(counts)}</p>
            <Show when=move || parsed.with(|p| !p.warnings.is_empty())>
                <h3>"Предупреждения"</h3>
                <ul class="warnings">
                    {move || parsed.with(|p| p.warnings.iter().map(|w| view! { <li>{w.clone()}</li> }).collect_view())}
                </ul>
            </Show>
            <h3>"Первые мероприятия"</h3>
            <PreviewTable parsed />
            <div class="form-actions">
                <button type="submit" class="primary" disabled=move || saving.get()>"Импортировать"</button>
                <button type="button" on:click=move |_| on_close()>"Отмена"</button>
            </div>
        </form>
    }
}

/// One column of the document and the field it goes to.
#[component]
fn MappingRow(parsed: RwSignal<ParsedRoadmap>, index: usize) -> impl IntoView {
    let (title, sample) = parsed.with_untracked(|p| {
        let sample = p.sections.iter().flat_map(|s| &s.activities).find_map(|a| {
            a.cells
                .get(index)
                .filter(|c| !c.trim().is_empty())
                .map(|c| c.chars().take(60).collect::<String>())
        });
        (p.columns[index].title.clone(), sample.unwrap_or_default())
    });
    let current = move || parsed.with(|p| p.columns[index].field);
    let label = format!("Поле для столбца «{title}»");
    view! {
        <tr>
            <th scope="row">{title}</th>
            <td>
                <select aria-label=label on:change=move |ev| {
                    let field = ActivityField::from_key(&event_target_value(&ev));
                    parsed.update(|p| p.columns[index].field = field);
                }>
                    <option value="" selected=move || current().is_none()>"— не переносить"</option>
                    {ActivityField::ALL.into_iter().map(|field| view! {
                        <option value=field.key() selected=move || current() == Some(field)>{field.label_ru()}</option>
                    }).collect_view()}
                </select>
            </td>
            <td class="sample">{sample}</td>
        </tr>
    }
}

/// The first activities as they will be imported under the current mapping.
#[component]
fn PreviewTable(parsed: RwSignal<ParsedRoadmap>) -> impl IntoView {
    let fields = [
        ActivityField::Number,
        ActivityField::Description,
        ActivityField::Deadline,
        ActivityField::Responsible,
    ];
    let rows = move || {
        parsed.with(|p| {
            let mut shown = 0;
            let mut out = Vec::new();
            for section in &p.sections {
                if shown >= PREVIEW_ROWS {
                    break;
                }
                out.push(view! { <tr class="preview-section"><th colspan="5" scope="colgroup">{section.title.clone()}</th></tr> }.into_any());
                for activity in section.activities.iter().take(PREVIEW_ROWS - shown) {
                    shown += 1;
                    let deadline = p.deadline(activity);
                    let dates = match (deadline.start, deadline.end) {
                        (Some(start), Some(end)) => format!("{} – {}", ru::date(start), ru::date(end)),
                        _ if deadline.text.trim().is_empty() => String::new(),
                        _ => "не распознан".to_owned(),
                    };
                    let cells = fields.map(|f| p.cell(activity, f));
                    out.push(view! {
                        <tr>
                            <td>{cells[0].clone()}</td><td>{cells[1].clone()}</td><td>{cells[2].clone()}</td>
                            <td>{dates}</td><td>{cells[3].clone()}</td>
                        </tr>
                    }.into_any());
                }
            }
            out
        })
    };
    view! {
        <div class="preview-scroll">
            <table class="preview">
                <thead><tr>
                    <th scope="col">"№"</th><th scope="col">"Мероприятие"</th><th scope="col">"Срок"</th>
                    <th scope="col">"Срок, даты"</th><th scope="col">"Ответственный"</th>
                </tr></thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
    }
}
