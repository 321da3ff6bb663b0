//! The print page: a roadmap, or its execution on a date, as a plain page
//! for the printer, without the app around it.

use super::export::roadmap;
use super::kit::ctx;
use leptos::prelude::*;
use medk_shared::deadline::parse_iso;
use medk_shared::ids::DocumentId;
use medk_shared::indicators;
use medk_shared::model::{Roadmap, Status};
use medk_shared::ru;
use time::Date;

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
