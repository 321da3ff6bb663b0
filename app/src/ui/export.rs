//! Getting a roadmap out of the app: a Word file in the official layout, an
//! Excel table, a page to print, and the execution report («отчёт о
//! выполнении») as the roadmap stood on a chosen date. All of it works
//! offline: files are made in the browser from the replica on this device.

use leptos::prelude::*;
use medk_shared::deadline::{iso, parse_iso};
use medk_shared::ids::DocumentId;
use medk_shared::indicators;
use medk_shared::model::{Roadmap, Status};
use medk_shared::ru;
use time::Date;

use super::{AppCtx, ctx};
use crate::{browser, office};

const DOCX: &str = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// The roadmap on this device, now or as it stood at the end of `date`;
/// with a date, also why nothing of it was due then, in words
/// ([`medk_shared::monitoring::NoneDue::report_line`]), when nothing was.
async fn roadmap(
    app: AppCtx,
    id: DocumentId,
    date: Option<Date>,
) -> Result<(Roadmap, Option<String>, Option<String>), String> {
    let open = app.sync().open(id).await.map_err(|e| e.to_string())?;
    let mut open = open.borrow_mut();
    match date {
        None => Ok((open.doc().read(), None, None)),
        Some(date) => {
            let then = open
                .roadmap_on(date)
                .ok_or_else(|| format!("на {} этой дорожной карты ещё не было", ru::date(date)))?;
            let on_date = open.on_date(date);
            let why = on_date.none_due(date).map(|why| why.report_line(date));
            let marks = on_date.marks_from(date).map(|day| {
                format!(
                    " План учтён с даты его принятия; отметки об исполнении — с {}, когда дорожная карта \
                     внесена в систему.",
                    ru::date(day)
                )
            });
            Ok((then, why, marks))
        }
    }
}

#[derive(Clone, Copy)]
enum File {
    Docx,
    Xlsx,
    Report(Date),
}

fn download(app: AppCtx, id: DocumentId, file: File) {
    leptos::task::spawn_local(async move {
        let date = match file {
            File::Report(date) => Some(date),
            _ => None,
        };
        let made: Result<(String, &str, Vec<u8>), String> = async {
            let (roadmap, why, _) = roadmap(app, id, date).await?;
            let title = roadmap.header.title.clone();
            Ok(match file {
                File::Docx => (
                    medk_shared::office::file_name(&title, "docx"),
                    DOCX,
                    office::roadmap_docx(&roadmap).await?,
                ),
                File::Xlsx => (
                    medk_shared::office::file_name(&title, "xlsx"),
                    XLSX,
                    office::roadmap_xlsx(&roadmap, browser::today()).await?,
                ),
                File::Report(date) => (
                    medk_shared::office::file_name(
                        &format!("Отчет о выполнении на {} {title}", ru::date(date)),
                        "docx",
                    ),
                    DOCX,
                    office::report_docx(&roadmap, date, why.as_deref()).await?,
                ),
            })
        }
        .await;
        match made {
            Ok((name, mime, bytes)) => browser::download(&name, mime, &bytes),
            Err(e) => app.error(format!("Файл не создан: {e}")),
        }
    });
}

/// The editor's «Экспорт» panel.
#[component]
pub fn ExportPanel(id: DocumentId) -> impl IntoView {
    let app = ctx();
    let date = RwSignal::new(iso(browser::today()));
    let report_date = move || parse_iso(&date.get());
    let print_report = move || {
        report_date()
            .map(|d| super::route::Route::Print { id: id.to_string(), report: Some(iso(d)) }.href())
            .unwrap_or_default()
    };
    view! {
        <section class="card export-panel" aria-label="Экспорт">
            <h2>"Экспорт"</h2>
            <div class="export-row">
                <button on:click=move |_| download(app, id, File::Docx)>"Word (.docx)"</button>
                <button on:click=move |_| download(app, id, File::Xlsx)>"Excel (.xlsx)"</button>
                <a class="button" href=super::route::Route::Print { id: id.to_string(), report: None }.href()>"Версия для печати"</a>
            </div>
            <h3>"Отчёт о выполнении"</h3>
            <div class="export-row">
                <label>"На дату "
                    <input type="date" prop:value=move || date.get() on:input=move |ev| date.set(event_target_value(&ev)) />
                </label>
                <button disabled=move || report_date().is_none()
                    on:click=move |_| if let Some(d) = report_date() { download(app, id, File::Report(d)) }>
                    "Отчёт (.docx)"</button>
                <a class="button" href=print_report hidden=move || report_date().is_none()>"Отчёт для печати"</a>
            </div>
        </section>
    }
}

/// `/r/<id>/print` and `/r/<id>/report/<date>`: the roadmap (or its execution
/// on a date) as a plain page for the printer, without the app around it.
#[component]
pub fn PrintPage(id: String, report: Option<String>) -> impl IntoView {
    let app = ctx();
    let date = report.as_deref().map(parse_iso);
    let loaded = LocalResource::new(move || {
        let id = id.clone();
        async move {
            let id = DocumentId::parse(&id).map_err(|e| e.to_string())?;
            match date {
                Some(None) => Err("дата отчёта должна быть в виде ГГГГ-ММ-ДД".to_owned()),
                Some(Some(date)) => {
                    roadmap(app, id, Some(date)).await.map(|(r, why, marks)| (id, r, Some(date), why, marks))
                }
                None => roadmap(app, id, None).await.map(|(r, _, _)| (id, r, None, None, None)),
            }
        }
    });
    view! {
        <Suspense fallback=|| view! { <p class="empty">"Открываю…"</p> }>
            {move || loaded.get().map(|result| match result {
                Ok((id, roadmap, date, why, marks)) => view! { <PrintView id roadmap date why marks /> }.into_any(),
                Err(e) => view! { <p class="empty" role="alert">"Не удалось открыть: " {e}</p> }.into_any(),
            })}
        </Suspense>
    }
}

#[component]
fn PrintView(
    id: DocumentId,
    roadmap: Roadmap,
    date: Option<Date>,
    why: Option<String>,
    marks: Option<String>,
) -> impl IntoView {
    let header = roadmap.header.clone();
    let columns = roadmap.columns.clone();
    let span = columns.len() + usize::from(date.is_some()) * 2;
    let summary = date.map(|date| {
        let e = indicators::execution(&roadmap, date);
        if let Some(why) = why.as_deref().filter(|_| e.due == 0) {
            return view! { <p class="report-summary">{why.to_owned()}</p> };
        }
        view! {
            <p class="report-summary">{format!(
                "На {}: выполнено {} из {} мероприятий со сроком по эту дату ({} %), просрочено {}.{}",
                ru::date(date), e.done_of_due, e.due, e.percent_done_of_due().unwrap_or(0), e.overdue,
                marks.clone().unwrap_or_default(),
            )}</p>
        }
    });
    let year = header.year;
    let rows = roadmap
        .sections
        .into_iter()
        .map(|section| {
            let columns = columns.clone();
            let activities = section
                .activities
                .into_iter()
                .map(|a| {
                    let cells = columns
                        .iter()
                        .map(|c| view! { <td>{a.text(c.field).to_owned()}</td> })
                        .collect_view();
                    let state = date.map(|date| {
                        let label = indicators::activity_state(&a, year, date).label_ru();
                        let done = match a.status {
                            Status::Done => indicators::completed_on(&a).map(ru::date).unwrap_or_default(),
                            _ => String::new(),
                        };
                        let note = a.status_note_ru();
                        view! {
                            <td>{label}{(!note.is_empty()).then(|| view! { <br /><small class="status-note">{note}</small> })}</td>
                            <td>{done}</td>
                        }
                    });
                    view! { <tr>{cells}{state}</tr> }
                })
                .collect_view();
            view! {
                <tr class="print-section"><th colspan=span scope="colgroup">{section.title}</th></tr>
                {activities}
            }
        })
        .collect_view();
    let members = roadmap.working_group;
    let no_members = members.is_empty();
    let title = match date {
        Some(date) => format!("Отчёт о выполнении на {}", ru::date(date)),
        None => String::new(),
    };
    let no_title = title.is_empty();
    view! {
        <article class="print-page">
            <p class="print-actions no-print">
                <a class="button" href=super::route::Route::roadmap(&id)>"← К дорожной карте"</a>
                <button class="primary" on:click=move |_| { if let Some(w) = web_sys::window() { let _ = w.print(); } }>"Печать"</button>
            </p>
            <p class="print-approval" hidden=header.approval.is_empty()>{header.approval.clone()}</p>
            <h1>{header.title.clone()}</h1>
            <p class="print-report-title" hidden=no_title>{title}</p>
            {summary}
            <table class="print-table">
                <thead><tr>
                    {columns.iter().map(|c| view! { <th scope="col">{c.title.clone()}</th> }).collect_view()}
                    {date.map(|_| view! { <th scope="col">"Статус на дату"</th><th scope="col">"Дата выполнения"</th> })}
                </tr></thead>
                <tbody>{rows}</tbody>
            </table>
            <p class="print-notes" hidden=header.abbreviations.is_empty()>{header.abbreviations.clone()}</p>
            <p class="print-notes" hidden=header.footnotes.is_empty()>{header.footnotes.clone()}</p>
            <section hidden=no_members>
                <h2>"Состав рабочей группы"</h2>
                <table class="print-table">
                    <thead><tr><th scope="col">"№"</th><th scope="col">"ФИО"</th><th scope="col">"Место работы"</th><th scope="col">"Должность"</th></tr></thead>
                    <tbody>{members.into_iter().enumerate().map(|(i, m)| view! {
                        <tr><td>{i + 1}</td><td>{m.name}</td><td>{m.workplace}</td><td>{m.position}</td></tr>
                    }).collect_view()}</tbody>
                </table>
            </section>
        </article>
    }
}
