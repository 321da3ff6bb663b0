//! The table's columns: which the roadmap shows and what each is called
//! (the «Столбцы таблицы» panel), and how wide each is on screen.

use super::fields::TextField;
use super::state::{Editor, longest_word};
use leptos::prelude::*;
use medk_shared::doc::{Edit, TextTarget};
use medk_shared::model::{ActivityField, Column};

/// Which columns the roadmap shows and what each is called.
#[component]
pub fn ColumnsPanel(editor: Editor) -> impl IntoView {
    view! {
        <details class="columns-panel card">
            <summary>"Столбцы таблицы"</summary>
            <ul>
                {move || editor.columns.get().into_iter().enumerate().map(|(index, column)| {
                    let value = Signal::derive(move || editor.columns.with(|c| c.get(index).map(|c| c.title.clone()).unwrap_or_default()));
                    view! {
                        <li>
                            <TextField editor target=TextTarget::Column(index) value
                                label=format!("Название столбца «{}»", column.field.label_ru()) />
                            <button class="danger" aria-label=format!("Убрать столбец «{}»", column.title)
                                on:click=move |_| editor.act("remove column", |_| vec![Edit::RemoveColumn(index)])>"Убрать"</button>
                        </li>
                    }
                }).collect_view()}
            </ul>
            <label>"Добавить столбец "
                <select on:change=move |ev| {
                    let key = event_target_value(&ev);
                    if let Some(field) = ActivityField::from_key(&key) {
                        editor.act("add column", |_| vec![Edit::AddColumn(Column::standard(field))]);
                    }
                }>
                    <option value="" selected=true>"— выберите —"</option>
                    {move || ActivityField::ALL.into_iter()
                        .filter(|f| !editor.columns.with(|c| c.iter().any(|c| c.field == *f)))
                        .map(|f| view! { <option value=f.key()>{f.label_ru()}</option> })
                        .collect_view()}
                </select>
            </label>
        </details>
    }
}

/// The CSS grid columns of the table: narrow number, wide description,
/// each at least as wide as the longest word in it (`widest`, in
/// characters, per [`ActivityField::ALL`]): a word is never broken across
/// lines; a table too wide for the screen scrolls sideways instead, its
/// status and buttons held at the right edge (style.css).
pub fn grid_template(columns: &[Column], widest: &[usize; 9]) -> String {
    let mut parts: Vec<String> = columns
        .iter()
        .map(|c| {
            let word = ActivityField::ALL.iter().position(|f| *f == c.field).map_or(0, |i| widest[i]);
            // The column's title is set smaller (style.css: .78rem).
            let word = word.max((longest_word(&c.title) * 4).div_ceil(5));
            // A character of Cyrillic text in the cells is about a `ch` of
            // the table's (larger) font; 18px is the field's padding and border.
            let fits = format!("calc({word}ch + 18px)");
            match c.field {
                ActivityField::Number => format!("max(4rem, {fits})"),
                ActivityField::Description => format!("minmax(max(11rem, {fits}), 3fr)"),
                _ => format!("minmax(max(5.5rem, {fits}), 2fr)"),
            }
        })
        .collect();
    // Execution (status over date: «Запланировано» whole), then the row
    // buttons (3 + 2).
    parts.extend(["11.5rem".to_owned(), "7.5rem".to_owned()]);
    parts.join(" ")
}
