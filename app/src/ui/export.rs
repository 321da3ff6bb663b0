//! Getting a roadmap out of the app: the editor's «Экспорт» panel with a
//! Word file in the official layout, an Excel table, links to the page to
//! print ([`super::print`]), and the execution report («отчёт о
//! выполнении») as the roadmap stood on a chosen date; and that read of the
//! roadmap, which the print page shares. All of it works offline: files are
//! made in the browser from the replica on this device.

use leptos::prelude::*;
use medk_shared::deadline::{iso, parse_iso};
use medk_shared::ids::DocumentId;
use medk_shared::model::Roadmap;
use medk_shared::ru;
use time::Date;

use super::kit::{AppCtx, ctx};
use crate::{browser, office};

const DOCX: &str = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// The roadmap on this device, now or as it stood at the end of `date`;
/// with a date, also why nothing of it was due then, in words
/// ([`medk_shared::monitoring::NoneDue::report_line`]), when nothing was.
pub async fn roadmap(
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
