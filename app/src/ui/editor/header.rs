//! The roadmap's header card: title, level, year, territory, the approval
//! texts, and the date its plan was adopted (set in the roadmap, or by a
//! coordinator through the server when they only read it).

use super::fields::TextField;
use super::state::Editor;
use leptos::prelude::*;
use medk_shared::access::Level;
use medk_shared::deadline::{iso, parse_iso};
use medk_shared::doc::{Edit, TextTarget};
use medk_shared::model::HeaderField;

#[component]
pub fn HeaderBlock(editor: Editor) -> impl IntoView {
    let text =
        move |field: HeaderField| Signal::derive(move || editor.header.with(|h| h.text(field).to_owned()));
    view! {
        <section class="doc-header card" aria-label="Сведения о дорожной карте">
            <TextField editor target=TextTarget::Header(HeaderField::Title) value=text(HeaderField::Title)
                label="Название дорожной карты" class="doc-title" placeholder="Название дорожной карты" />
            <div class="header-grid">
                <label>"Уровень"
                    <select on:change=move |ev| {
                        if let Some(level) = Level::from_roadmap_key(&event_target_value(&ev)) {
                            editor.act("set level", |_| vec![Edit::SetLevel(level)]);
                        }
                    }>
                        {Level::ALL.into_iter().map(|l| view! {
                            <option value=l.roadmap_key() selected=move || editor.header.with(|h| h.level == l)>{l.roadmap_label()}</option>
                        }).collect_view()}
                    </select>
                </label>
                <label>"Год"
                    <input inputmode="numeric" class="year"
                        prop:value=move || editor.header.with(|h| h.year.map(|y| y.to_string()).unwrap_or_default())
                        // Kept as soon as it is a whole year (a tab closed
                        // before the field loses focus keeps it too); the
                        // final value when it does.
                        on:input=move |ev| {
                            let text = event_target_value(&ev);
                            if let Some(year) = whole_year(&text)
                                && editor.header.with_untracked(|h| h.year) != Some(year)
                            {
                                editor.act("set year", |_| vec![Edit::SetYear(Some(year))]);
                            }
                        }
                        on:change=move |ev| {
                            let year = event_target_value(&ev).trim().parse::<i32>().ok();
                            if editor.header.with_untracked(|h| h.year) != year {
                                editor.act("set year", |_| vec![Edit::SetYear(year)]);
                            }
                        } />
                </label>
                <Show when=move || editor.imported.get() || editor.header.with(|h| !h.adopted_on.is_empty())>
                    <AdoptedOn editor />
                </Show>
                <label class="wide">"Территория или школа"
                    <TextField editor target=TextTarget::Header(HeaderField::Territory) value=text(HeaderField::Territory)
                        label="Территория или школа" />
                </label>
            </div>
            <details>
                <summary>"Утверждение, сокращения, сноски"</summary>
                <label>"Гриф утверждения"
                    <TextField editor target=TextTarget::Header(HeaderField::Approval) value=text(HeaderField::Approval)
                        label="Гриф утверждения" placeholder="УТВЕРЖДАЮ: …" />
                </label>
                <label>"Принятые сокращения"
                    <TextField editor target=TextTarget::Header(HeaderField::Abbreviations) value=text(HeaderField::Abbreviations)
                        label="Принятые сокращения" placeholder="ОО — общеобразовательная организация; …" />
                </label>
                <label>"Сноски"
                    <TextField editor target=TextTarget::Header(HeaderField::Footnotes) value=text(HeaderField::Footnotes)
                        label="Сноски" />
                </label>
            </details>
        </section>
    }
}

/// A year typed in full (four digits, 1900–2100); `None` while typing.
fn whole_year(text: &str) -> Option<i32> {
    let text = text.trim();
    let year: i32 = text.parse().ok()?;
    (text.len() == 4 && (1900..=2100).contains(&year)).then_some(year)
}

/// «Дата принятия плана» of an imported roadmap: from that day the plan
/// as imported counts on monitoring dates, also those before the import.
#[component]
fn AdoptedOn(editor: Editor) -> impl IntoView {
    view! {
        <label class="adopted-on">"Дата принятия плана"
            <input type="date" aria-describedby="adopted-on-hint"
                prop:value=move || editor.header.with(|h| h.adopted_on.clone())
                on:change=move |ev| {
                    let day = parse_iso(&event_target_value(&ev)).map(iso).unwrap_or_default();
                    if editor.header.with_untracked(|h| h.adopted_on != day) {
                        editor.act("set adoption date", |_| vec![Edit::SetAdoptedOn(day)]);
                    }
                } />
            <span class="hint" id="adopted-on-hint">
                "С этого дня план в том виде, в каком он импортирован, учитывается в мониторинге"
            </span>
        </label>
    }
}

/// «Дата принятия плана» for a coordinator who manages the roadmap's
/// unit but only reads the roadmap: the server writes the date into it
/// (`PUT /api/roadmaps/{id}/adopted-on`), and it arrives here, like on every
/// other device, by sync. Needs the server, so it is not offered offline.
#[component]
pub fn AdoptedOnByCoordinator(editor: Editor) -> impl IntoView {
    let app = editor.app;
    let busy = RwSignal::new(false);
    let offline = move || app.sync().status().with(|s| s.connection != crate::sync::Connection::Online);
    let save = move |day: String| {
        let setting = medk_shared::api::SetAdoptedOn { id: editor.id.to_string() };
        busy.set(true);
        leptos::task::spawn_local(async move {
            let body = medk_shared::api::AdoptedOn { adopted_on: day.clone() };
            let answer = crate::api::call(&setting, &body).await;
            busy.set(false);
            match answer {
                Ok(_) if day.is_empty() => app.info("Дата принятия плана убрана"),
                Ok(_) => app.info(format!(
                    "Дата принятия плана записана: {}",
                    medk_shared::ru::date(parse_iso(&day).unwrap_or(time::Date::MIN))
                )),
                Err(e) => app.error(format!("Дата принятия плана не записана: {e}")),
            }
        });
    };
    view! {
        <section class="card adopted-on-coordinator" aria-label="Дата принятия плана">
            <label class="adopted-on">"Дата принятия плана"
                <input type="date" aria-describedby="adopted-on-coordinator-hint"
                    disabled=move || busy.get() || offline()
                    prop:value=move || editor.header.with(|h| h.adopted_on.clone())
                    on:change=move |ev| {
                        let day = parse_iso(&event_target_value(&ev)).map(iso).unwrap_or_default();
                        if editor.header.with_untracked(|h| h.adopted_on != day) {
                            save(day);
                        }
                    } />
                <span class="hint" id="adopted-on-coordinator-hint">
                    {move || if offline() {
                        "Указать дату принятия плана можно, когда есть связь с сервером."
                    } else {
                        "Дорожную карту ведёт школа; дату принятия плана указывает координатор. С этого дня план учитывается в мониторинге."
                    }}
                </span>
            </label>
        </section>
    }
}
