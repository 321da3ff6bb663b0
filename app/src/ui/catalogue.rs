//! «Каталог рисков и правил» (`/catalogue`): the project's catalogue — the
//! risk factors schools pick for their risk profile, and per stage how often
//! a curator visits and which documents a school files. A local Automerge
//! document (`SyncService::open_catalogue`), so it reads and edits offline;
//! the federal coordinators write it, everyone else reads it (the relay
//! enforces the same rule).

use super::file_slot::FileSlot;
use super::kit::{AppCtx, ctx, document_title, text};
use crate::browser;
use crate::files::OpenFile;
use leptos::prelude::*;
use medk_shared::access::Right;
use medk_shared::catalogue::{Catalogue, CatalogueEdit, RiskFactor, catalogue_id};
use medk_shared::school::{DocumentKind, Stage};

/// The open catalogue and what the page shows of it. Copy: every field is a
/// handle.
#[derive(Clone, Copy)]
struct Screen {
    catalogue: RwSignal<Option<Catalogue>>,
    /// What of the catalogue could not be read (see [`OpenFile::problems`]).
    problems: RwSignal<Vec<String>>,
    file: FileSlot,
    /// What the person may do with the catalogue.
    right: Memo<Right>,
    app: AppCtx,
}

impl Screen {
    fn can_write(&self) -> bool {
        self.right.get() == Right::Write
    }

    fn reread(&self) {
        self.file.show(self.catalogue, OpenFile::catalogue);
        self.file.show(self.problems, OpenFile::problems);
    }

    /// One user action on the catalogue; its error is shown.
    fn apply(&self, edits: Vec<CatalogueEdit>, message: &str) -> bool {
        self.file.edit(
            self.app,
            "каталог",
            |file, author| file.apply_catalogue(edits, message, author),
            || self.reread(),
        )
    }

    fn factor(&self, id: &str) -> Option<RiskFactor> {
        self.catalogue.with(|c| c.as_ref().and_then(|c| c.factors.iter().find(|f| f.id == id).cloned()))
    }
}

/// A new factor's id: the next number after the catalogue's own (`f11`
/// after the seed's `f10`, so it lists after them: factors are listed by
/// id), and a random tail so two coordinators adding at once on different
/// devices never write into one factor.
fn new_factor_id(catalogue: &Catalogue) -> String {
    let next = catalogue
        .factors
        .iter()
        .filter_map(|f| f.id.strip_prefix('f')?.get(..2)?.parse::<u32>().ok())
        .max()
        .unwrap_or(0)
        + 1;
    format!("f{next:02}-{}", browser::new_row_id())
}

/// What the number field holds: `Ok(None)` when empty (no schedule).
fn parse_days(input: &str) -> Result<Option<u32>, &'static str> {
    let input = input.trim();
    if input.is_empty() {
        return Ok(None);
    }
    match input.parse::<u32>() {
        Ok(days @ 1..=366) => Ok(Some(days)),
        _ => Err("Интервал посещений — целое число дней от 1 до 366, или пусто, если графика нет."),
    }
}

#[component]
pub fn CataloguePage() -> impl IntoView {
    let app = ctx();
    let account = app.account;
    let sync = app.sync();
    let right = Memo::new(move |_| {
        account.org().map(|(org, person)| org.catalogue_right(&person)).unwrap_or(Right::None)
    });
    let screen = Screen {
        catalogue: RwSignal::new(None),
        problems: RwSignal::new(Vec::new()),
        file: FileSlot::new(),
        right,
        app,
    };
    let failed: RwSignal<Option<String>> = RwSignal::new(None);
    let broken: RwSignal<Option<medk_shared::ids::DocumentId>> = RwSignal::new(None);
    {
        let sync = sync.clone();
        leptos::task::spawn_local(async move {
            match sync.open_catalogue().await {
                Ok(file) => screen.file.set(file),
                Err(e) => {
                    if e.is_broken() {
                        broken.set(Some(catalogue_id()));
                    }
                    failed.set(Some(format!("Не удалось открыть каталог: {e}")));
                }
            }
            screen.reread();
        });
    }
    super::recovery::reopen_when_recovered(app, move || broken.get_untracked());
    // Changes that came through sync.
    let version = sync.version(catalogue_id());
    Effect::new(move |_| {
        version.track();
        screen.reread();
    });
    document_title("Каталог");
    let loaded = move || screen.catalogue.with(Option::is_some);
    view! {
        <section class="catalogue-page" data-loaded=move || loaded().to_string()>
            <h1>"Каталог рисков и правил"</h1>
            <p class="hint">"Факторы риска для рискового профиля школ, график посещений куратора и обязательные документы на каждом этапе."</p>
            <p class="note catalogue-readonly" role="note" hidden=move || screen.can_write()>
                "Изменять каталог может только федеральный координатор."
            </p>
            {move || failed.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            {move || broken.get().map(|id| view! { <super::recovery::ReloadFromServer id /> })}
            <p class="empty" hidden=move || loaded() || failed.with(Option::is_some)>"Загрузка…"</p>
            <p class="note warn problems" role="status" hidden=move || screen.problems.with(Vec::is_empty)>
                "Часть данных каталога не прочитана: её записала другая программа не так, как ожидает приложение. Остальное открыто как обычно."
                <small class="details">{super::kit::text(move || screen.problems.with(|p| p.join("; ")))}</small>
            </p>
            <div class="catalogue-body" hidden=move || !loaded()>
                <Factors screen />
                <StageList screen />
            </div>
        </section>
    }
}

// ---- risk factors --------------------------------------------------------

#[component]
fn Factors(screen: Screen) -> impl IntoView {
    let ids = Memo::new(move |_| {
        screen
            .catalogue
            .with(|c| c.as_ref().map(|c| c.factors.iter().map(|f| f.id.clone()).collect::<Vec<_>>()))
    });
    view! {
        <section class="card factors" aria-labelledby="factors-title">
            <h2 id="factors-title">"Факторы риска"</h2>
            <p class="hint">"Фактор не удаляется, а выводится из использования: школы, у которых он отмечен, продолжают его видеть."</p>
            <ol class="factor-list">
                <For each=move || ids.get().unwrap_or_default() key=|id| id.clone()
                    children=move |id| view! { <FactorItem screen id /> } />
            </ol>
            <NewFactor screen />
        </section>
    }
}

#[component]
fn FactorItem(screen: Screen, id: String) -> impl IntoView {
    let factor = {
        let id = id.clone();
        Memo::new(move |_| screen.factor(&id))
    };
    let title = move || factor.with(|f| f.as_ref().map(|f| f.title.clone()).unwrap_or_default());
    let description = move || factor.with(|f| f.as_ref().map(|f| f.description.clone()).unwrap_or_default());
    let retired = move || factor.with(|f| f.as_ref().is_some_and(|f| f.retired));
    let put = {
        let id = id.clone();
        move |title: String, description: String| {
            screen.apply(vec![CatalogueEdit::PutFactor { id: id.clone(), title, description }], "put factor")
        }
    };
    let save_title = {
        let put = put.clone();
        move |ev: leptos::ev::Event| {
            let input = event_target::<web_sys::HtmlInputElement>(&ev);
            let value = input.value().trim().to_owned();
            if value == title() {
                return;
            }
            if value.is_empty() {
                input.set_value(&title());
                screen.app.error("У фактора должно быть название");
                return;
            }
            if put(value, description()) {
                screen.app.info("Фактор сохранён");
            }
        }
    };
    let save_description = move |ev: leptos::ev::Event| {
        let value = event_target_value(&ev).trim().to_owned();
        if value != description() && put(title(), value) {
            screen.app.info("Описание фактора сохранено");
        }
    };
    let toggle_retired = {
        let id = id.clone();
        move |_| {
            let retire = !retired();
            let edit = CatalogueEdit::SetRetired { id: id.clone(), retired: retire };
            if screen.apply(vec![edit], if retire { "retire factor" } else { "return factor" }) {
                screen.app.info(if retire {
                    "Фактор выведен из использования"
                } else {
                    "Фактор снова используется"
                });
            }
        }
    };
    let heading_id = format!("factor-{id}");
    let labelled_by = heading_id.clone();
    view! {
        <li class="factor" class:retired=retired data-factor=id.clone() aria-labelledby=labelled_by>
            <h3 id=heading_id class="factor-title" class:visually-hidden=move || screen.can_write()>
                {text(title)}
                <span class="badge retired-badge" hidden=move || !retired()>"выведен"</span>
            </h3>
            <p class="factor-description" hidden=move || screen.can_write() || description().is_empty()>
                {text(description)}
            </p>
            <div class="factor-edit" hidden=move || !screen.can_write()>
                <span class="badge retired-badge" aria-hidden="true" hidden=move || !retired()>"выведен"</span>
                <label>"Название"
                    <input type="text" prop:value=title on:change=save_title />
                </label>
                <label>"Описание"
                    <textarea rows="2" prop:value=description on:change=save_description></textarea>
                </label>
                <div class="item-actions">
                    <button class:danger=move || !retired() on:click=toggle_retired>
                        {text(move || if retired() { "Вернуть".into() } else { "Вывести из использования".into() })}
                    </button>
                </div>
            </div>
        </li>
    }
}

#[component]
fn NewFactor(screen: Screen) -> impl IntoView {
    let title = RwSignal::new(String::new());
    let description = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let add = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let name = title.get_untracked().trim().to_owned();
        if name.is_empty() {
            error.set(Some("Напишите название фактора.".to_owned()));
            return;
        }
        let Some(id) = screen.catalogue.with_untracked(|c| c.as_ref().map(new_factor_id)) else { return };
        error.set(None);
        let edit = CatalogueEdit::PutFactor {
            id,
            title: name.clone(),
            description: description.get_untracked().trim().to_owned(),
        };
        if screen.apply(vec![edit], "add factor") {
            title.set(String::new());
            description.set(String::new());
            screen.app.info(format!("Фактор добавлен: {name}"));
        }
    };
    view! {
        <form class="inline-form new-factor" aria-label="Новый фактор" hidden=move || !screen.can_write() on:submit=add>
            <h3>"Новый фактор"</h3>
            <label>"Название нового фактора"
                <input type="text" prop:value=title on:input=move |ev| title.set(event_target_value(&ev)) />
            </label>
            <label>"Описание нового фактора"
                <textarea rows="2" prop:value=description on:input=move |ev| description.set(event_target_value(&ev))></textarea>
            </label>
            {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            <div class="form-actions wide">
                <button type="submit" class="primary">"Добавить фактор"</button>
            </div>
        </form>
    }
}

// ---- stage rules ---------------------------------------------------------

#[component]
fn StageList(screen: Screen) -> impl IntoView {
    view! {
        <section class="card stages" aria-labelledby="stages-title">
            <h2 id="stages-title">"Правила этапов"</h2>
            <p class="hint">"Документы мониторинга школа подаёт на любом этапе; здесь отмечено, что обязательно на каждом."</p>
            <div class="stage-list">
                {Stage::ALL.into_iter().map(|stage| view! { <StageRules screen stage /> }).collect_view()}
            </div>
        </section>
    }
}

#[component]
fn StageRules(screen: Screen, stage: Stage) -> impl IntoView {
    let rules = Memo::new(move |_| screen.catalogue.with(|c| c.as_ref().map(|c| c.rules(stage).clone())));
    let days = move || rules.with(|r| r.as_ref().and_then(|r| r.visit_every_days));
    let error = RwSignal::new(None::<String>);
    let set_days = move |ev: leptos::ev::Event| {
        let input = event_target::<web_sys::HtmlInputElement>(&ev);
        match parse_days(&input.value()) {
            Ok(new) if new == days() => error.set(None),
            Ok(new) => {
                error.set(None);
                let edit = CatalogueEdit::SetVisitInterval { stage, days: new };
                if screen.apply(vec![edit], "set visit interval") {
                    screen.app.info(match new {
                        Some(d) => format!(
                            "Посещения на этапе «{}»: раз в {}",
                            stage.label_ru(),
                            medk_shared::ru::DAYS.count(i64::from(d))
                        ),
                        None => format!("На этапе «{}» графика посещений нет", stage.label_ru()),
                    });
                }
            }
            Err(e) => error.set(Some(e.to_owned())),
        }
    };
    let title_id = format!("stage-{}", stage.key());
    let labelled_by = title_id.clone();
    let hint_id = format!("stage-{}-days-hint", stage.key());
    let described_by = hint_id.clone();
    view! {
        <article class="stage-rules" data-stage=stage.key() aria-labelledby=labelled_by>
            <h3 id=title_id>"Этап: " {stage.label_ru()}</h3>
            <label class="visit-interval">"Посещать школу не реже чем раз в, дней"
                <input type="number" inputmode="numeric" min="1" max="366" step="1"
                    aria-describedby=described_by
                    disabled=move || !screen.can_write()
                    prop:value=move || days().map(|d| d.to_string()).unwrap_or_default()
                    on:change=set_days />
            </label>
            <p id=hint_id class="hint">
                {text(move || match days() {
                    Some(d) => format!("Сейчас: раз в {}. Пусто — без графика посещений.", medk_shared::ru::DAYS.count(i64::from(d))),
                    None => "Сейчас графика посещений нет. Пусто — без графика.".to_owned(),
                })}
            </p>
            {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            <fieldset class="required-documents">
                <legend>"Обязательные документы"</legend>
                {DocumentKind::ALL.into_iter().map(|kind| {
                    let required = move || rules.with(|r| r.as_ref().is_some_and(|r| r.required.contains(&kind)));
                    let toggle = move |ev: leptos::ev::Event| {
                        let on = event_target_checked(&ev);
                        if on != required() {
                            screen.apply(vec![CatalogueEdit::SetRequired { stage, kind, required: on }], "set required document");
                        }
                    };
                    view! {
                        <label class="check" data-kind=kind.key()>
                            <input type="checkbox" disabled=move || !screen.can_write() prop:checked=required on:change=toggle />
                            {kind.label_ru()}
                        </label>
                    }
                }).collect_view()}
            </fieldset>
        </article>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_factors_list_after_the_seed() {
        let catalogue = Catalogue::seed_2021();
        let id = new_factor_id(&catalogue);
        assert!(id.starts_with("f11-"), "{id}");
        assert!(catalogue.factors.iter().all(|f| f.id < id));
    }

    #[test]
    fn an_empty_interval_is_no_schedule() {
        assert_eq!(parse_days(" "), Ok(None));
        assert_eq!(parse_days("14"), Ok(Some(14)));
        assert!(parse_days("0").is_err());
        assert!(parse_days("-3").is_err());
        assert!(parse_days("1.5").is_err());
    }
}
