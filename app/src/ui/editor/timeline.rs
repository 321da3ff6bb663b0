//! The roadmap as a timeline («Календарь»): months across, from the earliest
//! to the latest understood deadline; one bar per activity over its deadline
//! range, grouped by section and coloured by its deadline state (named in
//! text too); a «сегодня» line; activities with no understood deadline listed
//! under «Без срока». The editor's filters apply. Plain HTML and CSS: each
//! bar is a link to its row in the table.

use super::dom::focus_row;
use super::state::Editor;
use leptos::prelude::*;
use medk_shared::deadline;
use medk_shared::ids::RowId;
use medk_shared::indicators::{DeadlineState, deadline_state};
use medk_shared::model::{Activity, Status};
use time::{Date, Month};

/// At most this many months are drawn (ten years); bars beyond are cut.
const MAX_MONTHS: i32 = 120;
const MONTHS_RU: [&str; 12] =
    ["янв", "фев", "мар", "апр", "май", "июн", "июл", "авг", "сен", "окт", "ноя", "дек"];

#[derive(Clone, PartialEq)]
struct Bar {
    id: RowId,
    label: String,
    deadline: String,
    state: DeadlineState,
    status: Status,
    /// Left edge and width, in percent of the track.
    left: f64,
    width: f64,
}

#[derive(Clone, PartialEq)]
struct Group {
    title: String,
    bars: Vec<Bar>,
}

#[derive(Clone, PartialEq)]
struct Undated {
    id: RowId,
    label: String,
    deadline: String,
}

#[derive(Clone, PartialEq)]
struct Layout {
    /// (year, month) of each column.
    months: Vec<(i32, Month)>,
    /// Where today is, in percent of the track, when it is in range.
    today: Option<f64>,
    groups: Vec<Group>,
    undated: Vec<Undated>,
}

fn month_index(date: Date) -> i32 {
    date.year() * 12 + i32::from(u8::from(date.month())) - 1
}

fn month_start(index: i32) -> Date {
    let month = Month::try_from((index.rem_euclid(12) + 1) as u8).unwrap_or(Month::January);
    Date::from_calendar_date(index.div_euclid(12), month, 1).unwrap_or(Date::MIN)
}

fn label(activity: &Activity) -> String {
    let description = activity.description.split_whitespace().collect::<Vec<_>>().join(" ");
    let description = if description.is_empty() { "Без названия".to_owned() } else { description };
    match activity.number.trim() {
        "" => description,
        n => format!("{n} {description}"),
    }
}

fn layout(sections: Vec<(RowId, String, Vec<Activity>)>, editor: Editor, year: Option<i32>) -> Layout {
    let today = editor.today;
    let mut dated = Vec::new();
    let mut undated = Vec::new();
    for (n, (_, title, activities)) in sections.into_iter().enumerate() {
        let title = if title.trim().is_empty() { format!("Раздел {}", n + 1) } else { title };
        let mut rows = Vec::new();
        for a in activities.into_iter().filter(|a| editor.passes(a)) {
            let d = deadline::parse(&a.deadline, year);
            match (d.start, d.end) {
                (Some(start), Some(end)) => rows.push((a, start, end)),
                _ => {
                    undated.push(Undated { id: a.id.clone(), label: label(&a), deadline: a.deadline.clone() })
                }
            }
        }
        dated.push((title, rows));
    }
    let starts = dated.iter().flat_map(|(_, r)| r.iter().map(|(_, s, _)| month_index(*s)));
    let ends = dated.iter().flat_map(|(_, r)| r.iter().map(|(_, _, e)| month_index(*e)));
    let (Some(first), Some(last)) = (starts.min(), ends.max()) else {
        return Layout { months: Vec::new(), today: None, groups: Vec::new(), undated };
    };
    let last = last.min(first + MAX_MONTHS - 1);
    let from = month_start(first);
    let until = month_start(last + 1);
    let days = (until - from).whole_days().max(1) as f64;
    let at = |date: Date| ((date - from).whole_days() as f64 / days * 100.0).clamp(0.0, 100.0);
    let groups = dated
        .into_iter()
        .filter(|(_, rows)| !rows.is_empty())
        .map(|(title, rows)| Group {
            title,
            bars: rows
                .into_iter()
                .map(|(a, start, end)| {
                    let left = at(start);
                    // The end day is included: the bar runs to the next midnight.
                    let right = at(end.next_day().unwrap_or(end));
                    Bar {
                        id: a.id.clone(),
                        label: label(&a),
                        deadline: a.deadline.clone(),
                        state: deadline_state(&a, year, today),
                        status: a.status,
                        left,
                        width: (right - left).max(0.0),
                    }
                })
                .collect(),
        })
        .collect();
    let today = (from <= today && today < until).then(|| at(today));
    Layout {
        months: (first..=last).map(|i| (i.div_euclid(12), month_start(i).month())).collect(),
        today,
        groups,
        undated,
    }
}

/// The state in words, for the bar's title and the row's text.
fn state_text(bar: &Bar) -> String {
    bar.state.badge_ru().unwrap_or_else(|| bar.status.label_ru().to_owned())
}

/// Shows the activity's row in the table.
fn go_to_row(editor: Editor, id: RowId) {
    editor.timeline.set(false);
    focus_row(&id, &[".f-description", "textarea"]);
}

#[component]
pub fn Timeline(editor: Editor) -> impl IntoView {
    let data = Memo::new(move |_| {
        let year = editor.header.with(|h| h.year);
        layout(editor.sections_with_activities(), editor, year)
    });
    let today_line = move || {
        data.with(|d| d.today).map(
            |at| view! { <span class="tl-today" style=format!("left:{at:.3}%") aria-hidden="true"></span> },
        )
    };
    // Opened, the timeline scrolls to put today in the middle.
    let scroller = NodeRef::<leptos::html::Div>::new();
    Effect::new(move |_| {
        let Some(el) = scroller.get() else { return };
        data.track();
        request_animation_frame(move || {
            if let Ok(Some(today)) = el.query_selector(".tl-today-label") {
                let x = today.get_bounding_client_rect().left() - el.get_bounding_client_rect().left();
                let left = f64::from(el.scroll_left()) + x - f64::from(el.client_width()) / 2.0;
                el.set_scroll_left(left.max(0.0) as i32);
            }
        });
    });
    view! {
        <section class="timeline card" aria-label="Календарь мероприятий">
            <p class="tl-legend">
                <span class="tl-key state-overdue">"Просрочено"</span>
                <span class="tl-key state-due-soon">"Срок скоро"</span>
                <span class="tl-key state-done">"Выполнено"</span>
                <span class="tl-key state-done-late">"С опозданием"</span>
                <span class="tl-key state-open">"Запланировано"</span>
            </p>
            <p hidden=move || data.with(|d| !d.months.is_empty())>"Нет мероприятий с понятным сроком."</p>
            <div class="tl-scroll" node_ref=scroller hidden=move || data.with(|d| d.months.is_empty())
                style=move || format!("--months:{}", data.with(|d| d.months.len()))>
                <div class="tl-row tl-months" aria-hidden="true">
                    <span class="tl-label">"Мероприятие"</span>
                    <div class="tl-track">
                        {move || data.with(|d| d.months.iter().enumerate().map(|(i, (year, month))| {
                            let name = MONTHS_RU[usize::from(u8::from(*month)) - 1];
                            let year = (i == 0 || *month == Month::January).then(|| view! { <small class="tl-year">{*year}</small> });
                            view! { <span class="tl-month">{name}{year}</span> }
                        }).collect_view())}
                        {move || data.with(|d| d.today).map(|at| view! {
                            <span class="tl-today tl-today-label" style=format!("left:{at:.3}%")>"сегодня"</span>
                        })}
                    </div>
                </div>
                {move || data.get().groups.into_iter().map(|group| view! {
                    <div class="tl-group" role="group" aria-label=group.title.clone()>
                        <h3 class="tl-group-title">{group.title.clone()}</h3>
                        <ul class="tl-bars">
                            {group.bars.into_iter().map(|bar| {
                                let state = state_text(&bar);
                                let title = format!("{} — срок: {} — {}", bar.label, bar.deadline, state);
                                let id = bar.id.clone();
                                view! {
                                    <li class="tl-row" data-timeline-activity=bar.id.to_string()>
                                        <span class="tl-label">{bar.label.clone()}
                                            <span class="tl-state">{state.clone()}</span></span>
                                        <div class="tl-track">
                                            {today_line}
                                            <a class=format!("tl-bar state-{}", bar.state.key())
                                                href=format!("#{}", bar.id) title=title.clone() aria-label=title
                                                style=format!("left:{:.3}%;width:{:.3}%", bar.left, bar.width)
                                                on:click=move |ev| {
                                                    ev.prevent_default();
                                                    go_to_row(editor, id.clone());
                                                }>
                                                <span class="tl-bar-text">{bar.deadline.clone()}</span>
                                            </a>
                                        </div>
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                    </div>
                }).collect_view()}
            </div>
            <div class="tl-group tl-undated" role="group" aria-label="Без срока"
                hidden=move || data.with(|d| d.undated.is_empty())>
                <h3 class="tl-group-title">"Без срока"</h3>
                <ul>
                    {move || data.get().undated.into_iter().map(|u| {
                        let id = u.id.clone();
                        let deadline = if u.deadline.trim().is_empty() {
                            "срок не указан".to_owned()
                        } else {
                            format!("срок не распознан: «{}»", u.deadline.trim())
                        };
                        view! {
                            <li data-timeline-activity=u.id.to_string()>
                                <a href=format!("#{}", u.id) on:click=move |ev| {
                                    ev.prevent_default();
                                    go_to_row(editor, id.clone());
                                }>{u.label}</a>
                                " — " {deadline}
                            </li>
                        }
                    }).collect_view()}
                </ul>
            </div>
        </section>
    }
}
