//! The roadmap editor: the open document's reactive view ([`Editor`]), the
//! page around it (header, toolbar, filters, the table or the timeline,
//! columns), and keyboard shortcuts.
//!
//! The Automerge document is the source of truth. Signals are a view of it:
//! typing updates the one signal it touched; structural edits, undo and redo
//! re-read the document and update only the signals whose value changed, so
//! one row's edit does not re-render the others.

use super::fields::TextField;
use super::list::document_title;
use super::rows::{SectionBlock, WorkingGroup};
use super::{AppCtx, ctx};
use crate::browser::new_row_id;
use crate::document::{OpenError, OpenRoadmap};
use crate::sync::FetchError;
use leptos::prelude::*;
use medk_shared::access::{Level, Right};
use medk_shared::actions::{self, Direction};
use medk_shared::deadline::{iso, parse_iso};
use medk_shared::doc::{Edit, RowRef, TextTarget, Touched};
use medk_shared::filters::{Filter, responsible_values};
use medk_shared::history::ActivityChange;
use medk_shared::ids::{DocumentId, RowId};
use medk_shared::model::{Activity, ActivityField, Column, Header, HeaderField, Member, Roadmap, Section};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use wasm_bindgen::JsCast;

/// Activities put on screen at once when a roadmap opens (more than a tall
/// tablet screen holds), and per later chunk.
const FIRST_RENDER: usize = 30;
const RENDER_CHUNK: usize = 60;
/// Quiet time after the last change before the cached view is rewritten.
const VIEW_WRITE_DELAY: std::time::Duration = std::time::Duration::from_millis(1500);
/// What cached views are stamped with (`app/build.rs`): a view written by
/// a build whose roadmap model was laid out otherwise is not read.
const VIEW_LAYOUT: &str = env!("MEDK_VIEW_LAYOUT");

/// A cached view's roadmap, `None` unless this build's model wrote it.
fn read_view(bytes: &[u8]) -> Option<Roadmap> {
    let (stamp, roadmap): (String, Roadmap) = postcard::from_bytes(bytes).ok()?;
    (stamp == VIEW_LAYOUT).then_some(roadmap)
}

/// The order of sections and of the activities in each.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SectionLayout {
    pub id: RowId,
    pub activities: Vec<RowId>,
}

/// An open roadmap as the views see it. Copy: every field is a handle.
#[derive(Clone, Copy)]
pub struct Editor {
    id: DocumentId,
    /// The document, once loaded. A roadmap opened from its cached view is
    /// on screen (and typing works) before this is there.
    /// Shared with the sync, which applies remote changes to the same replica.
    open: StoredValue<Option<Rc<RefCell<OpenRoadmap>>>, LocalStorage>,
    /// Typing done before the document was loaded, applied when it is.
    early_typing: StoredValue<Vec<(TextTarget, String)>>,
    /// The heads the cached view showed, if the roadmap opened from one.
    view_heads: StoredValue<Option<Vec<String>>>,
    /// Pending write of the cached view (debounced).
    view_timer: StoredValue<Option<TimeoutHandle>>,
    /// Signals made after the page was built belong to the page, not to
    /// whichever row happened to trigger the refresh.
    owner: StoredValue<Owner>,
    pub header: RwSignal<Header>,
    pub columns: RwSignal<Vec<Column>>,
    pub layout: RwSignal<Vec<SectionLayout>>,
    section_titles: StoredValue<HashMap<RowId, RwSignal<String>>>,
    activities: StoredValue<HashMap<RowId, RwSignal<Activity>>>,
    pub members: RwSignal<Vec<Member>>,
    /// How many activities (in document order) are in the page. A big
    /// roadmap is put on screen a chunk at a time, so its first screen is
    /// editable at once and the rest follows between frames.
    render_limit: RwSignal<usize>,
    pub can_undo: RwSignal<bool>,
    pub can_redo: RwSignal<bool>,
    /// The document is attached (until then the cached view is shown).
    pub loaded: RwSignal<bool>,
    /// The person may only read this roadmap: the page takes no edits.
    pub read_only: RwSignal<bool>,
    /// Per field ([`ActivityField::ALL`] order), the longest word any
    /// activity has in it: the table's columns are at least that wide, so
    /// no word is broken across lines ([`grid_template`]).
    pub widest: RwSignal<[usize; 9]>,
    /// Its plan came from a file, so the day it was adopted counts
    /// ([`medk_shared::history::imported`]); known once loaded.
    pub imported: RwSignal<bool>,
    /// What of the document is not as the layout says (another program
    /// wrote it), so it shows as empty: details for the warning.
    pub problems: RwSignal<Vec<String>>,
    pub drag: super::drag::Drag,
    pub app: AppCtx,
    /// The filters in the toolbar (all off: every activity is shown).
    pub filter: RwSignal<Filter>,
    /// The timeline («Календарь») is shown instead of the table.
    pub timeline: RwSignal<bool>,
    /// The activity whose history panel is open.
    pub history_of: RwSignal<Option<RowId>>,
    /// The date deadlines are judged by (the device's, when the editor opened).
    pub today: time::Date,
}

impl Editor {
    /// An editor showing `roadmap` (a cached view or a fresh read) while
    /// the document is not attached yet.
    fn from_view(id: DocumentId, roadmap: Roadmap, view_heads: Option<Vec<String>>, app: AppCtx) -> Self {
        let editor = Editor {
            id,
            open: StoredValue::new_local(None),
            early_typing: StoredValue::new(Vec::new()),
            view_heads: StoredValue::new(view_heads),
            view_timer: StoredValue::new(None),
            owner: StoredValue::new(Owner::current().unwrap_or_default()),
            header: RwSignal::new(roadmap.header.clone()),
            columns: RwSignal::new(roadmap.columns.clone()),
            layout: RwSignal::new(Vec::new()),
            section_titles: StoredValue::new(HashMap::new()),
            activities: StoredValue::new(HashMap::new()),
            members: RwSignal::new(roadmap.working_group.clone()),
            render_limit: RwSignal::new(FIRST_RENDER),
            can_undo: RwSignal::new(false),
            can_redo: RwSignal::new(false),
            loaded: RwSignal::new(false),
            read_only: RwSignal::new(false),
            imported: RwSignal::new(false),
            widest: RwSignal::new([0; 9]),
            problems: RwSignal::new(Vec::new()),
            drag: super::drag::Drag::new(),
            app,
            filter: RwSignal::new(Filter::default()),
            timeline: RwSignal::new(false),
            history_of: RwSignal::new(None),
            today: crate::browser::today(),
        };
        editor.show(roadmap);
        editor
    }

    /// Attaches the loaded document: corrects the view if the document has
    /// moved on since the cached view was written, then applies any typing
    /// done meanwhile.
    fn attach(&self, open: Rc<RefCell<OpenRoadmap>>) {
        let heads = open.borrow_mut().heads();
        let stale = self.view_heads.with_value(|v| v.as_ref() != Some(&heads));
        self.open.set_value(Some(open));
        if stale {
            self.refresh();
            self.schedule_view_write();
        } else {
            self.check_problems();
        }
        let imported = self.with_open(|o| medk_shared::history::imported(o.automerge()));
        self.imported.set(imported.unwrap_or(false));
        for (target, value) in self.early_typing.try_update_value(std::mem::take).unwrap_or_default() {
            self.type_text(target, value);
        }
        self.loaded.set(true);
        // The rest of a big roadmap goes into the page only now: rendering
        // it earlier would hold up the document load, and with it editing.
        self.render_more();
    }

    /// Runs `f` on the loaded document; `None` while it is still loading.
    fn with_open<R>(&self, f: impl FnOnce(&mut OpenRoadmap) -> R) -> Option<R> {
        let open = self.open.try_with_value(|o| o.clone()).flatten()?;
        let mut open = open.try_borrow_mut().ok()?;
        Some(f(&mut open))
    }

    /// Writes the cached view a moment after the last change (and at once
    /// when the page is hidden, see [`EditorView`]).
    fn schedule_view_write(&self) {
        let editor = *self;
        if let Some(Some(handle)) = self.view_timer.try_update_value(|t| t.take()) {
            handle.clear();
        }
        let handle = set_timeout_with_handle(move || editor.write_view(), VIEW_WRITE_DELAY).ok();
        self.view_timer.set_value(handle);
    }

    /// Stores what is on screen as the roadmap's cached view.
    pub fn write_view(&self) {
        if let Some(Some(handle)) = self.view_timer.try_update_value(|t| t.take()) {
            handle.clear();
        }
        let Some(heads) = self.with_open(|o| o.heads()) else { return };
        let roadmap = self.snapshot();
        let Ok(bytes) = postcard::to_allocvec(&(VIEW_LAYOUT, &roadmap)) else { return };
        self.view_heads.set_value(Some(heads.clone()));
        let view = crate::storage::CachedView { id: self.id.to_string(), heads, roadmap: bytes };
        let storage = self.app.storage();
        leptos::task::spawn_local(async move {
            // Only a speed-up: a failed write just means a slower next start.
            let _ = storage.put_view(&view).await;
        });
    }

    /// The roadmap as the signals hold it (no document read).
    fn snapshot(&self) -> Roadmap {
        let sections = self.layout.with_untracked(|layout| {
            layout
                .iter()
                .map(|s| Section {
                    id: s.id.clone(),
                    title: self.section_title(&s.id).map(|t| t.get_untracked()).unwrap_or_default(),
                    activities: s
                        .activities
                        .iter()
                        .filter_map(|a| self.activity(a).map(|a| a.get_untracked()))
                        .collect(),
                })
                .collect()
        });
        Roadmap {
            header: self.header.get_untracked(),
            columns: self.columns.get_untracked(),
            sections,
            working_group: self.members.get_untracked(),
        }
    }

    /// Grows the rendered part of the roadmap by a chunk per task until all
    /// of it is in the page.
    fn render_more(self) {
        let total = self.layout.with_untracked(|l| l.iter().map(|s| s.activities.len()).sum::<usize>());
        if self.render_limit.get_untracked() >= total {
            self.render_limit.set(usize::MAX);
            return;
        }
        set_timeout(
            move || {
                self.render_limit.update(|l| *l = l.saturating_add(RENDER_CHUNK));
                self.render_more();
            },
            std::time::Duration::ZERO,
        );
    }

    /// The activities of a section that are in the page now.
    pub fn rendered_activities(&self, section: &RowId) -> Vec<RowId> {
        let limit = self.render_limit.get();
        self.layout.with(|layout| {
            let mut offset = 0;
            for s in layout {
                if s.id == *section {
                    let take = limit.saturating_sub(offset).min(s.activities.len());
                    return s.activities[..take].to_vec();
                }
                offset += s.activities.len();
            }
            Vec::new()
        })
    }

    /// Re-reads the document and updates the signals that changed.
    pub fn refresh(&self) {
        if let Some(roadmap) = self.with_open(|o| o.doc().read()) {
            self.show(roadmap);
        }
        self.check_problems();
    }

    /// Looks again at what of the document does not read as the layout says.
    fn check_problems(&self) {
        if let Some(problems) = self.with_open(|o| o.doc().problems()) {
            let details: Vec<String> = problems.into_iter().map(|p| p.detail).collect();
            if self.problems.with_untracked(|p| *p != details) {
                self.problems.set(details);
            }
        }
    }

    /// Shows changes made elsewhere: a value inside known activities
    /// redraws those rows only; anything else re-reads the roadmap.
    pub fn show_remote(&self, touched: Touched) {
        if touched == Touched::Nothing {
            return;
        }
        let caret = super::fields::Caret::save();
        match touched {
            Touched::Nothing => {}
            Touched::Activities(ids) => {
                let all_known = ids.iter().all(|id| self.activity(id).is_some());
                if all_known {
                    for id in ids {
                        if let (Some(signal), Some(Some(activity))) =
                            (self.activity(&id), self.with_open(|o| o.doc().activity(&id)))
                        {
                            set_if_changed(signal, activity);
                        }
                    }
                } else {
                    self.refresh();
                }
            }
            Touched::Everything => self.refresh(),
        }
        if let Some(caret) = caret {
            caret.restore_after_render();
        }
        self.schedule_view_write();
    }

    /// Updates the signals whose value differs from `roadmap`.
    fn show(&self, roadmap: Roadmap) {
        let mut widest = [0; 9];
        for activity in roadmap.sections.iter().flat_map(|s| &s.activities) {
            for (i, field) in ActivityField::ALL.into_iter().enumerate() {
                widest[i] = widest[i].max(longest_word(activity.text(field)));
            }
        }
        if self.widest.get_untracked() != widest {
            self.widest.set(widest);
        }
        set_if_changed(self.header, roadmap.header);
        set_if_changed(self.columns, roadmap.columns);
        set_if_changed(self.members, roadmap.working_group);
        let owner = self.owner.get_value();
        let mut layout = Vec::with_capacity(roadmap.sections.len());
        self.section_titles.update_value(|titles| {
            self.activities.update_value(|acts| {
                for section in roadmap.sections {
                    match titles.get(&section.id) {
                        Some(s) => set_if_changed(*s, section.title),
                        None => {
                            titles.insert(section.id.clone(), owner.with(|| RwSignal::new(section.title)));
                        }
                    }
                    let mut ids = Vec::with_capacity(section.activities.len());
                    for activity in section.activities {
                        ids.push(activity.id.clone());
                        match acts.get(&activity.id) {
                            Some(s) => set_if_changed(*s, activity),
                            None => {
                                acts.insert(activity.id.clone(), owner.with(|| RwSignal::new(activity)));
                            }
                        }
                    }
                    layout.push(SectionLayout { id: section.id, activities: ids });
                }
            })
        });
        set_if_changed(self.layout, layout);
        self.sync_history();
    }

    fn sync_history(&self) {
        let (u, r) = self.with_open(|o| (o.can_undo(), o.can_redo())).unwrap_or_default();
        set_if_changed(self.can_undo, u);
        set_if_changed(self.can_redo, r);
    }

    /// Whether the filters let `activity` through (tracks the filters and
    /// the roadmap year).
    pub fn passes(&self, activity: &Activity) -> bool {
        let year = self.header.with(|h| h.year);
        self.filter.with(|f| f.is_empty() || f.matches(activity, year, self.today))
    }

    /// `f` of every activity, in document order (tracked; nothing cloned).
    pub fn map_activities<R>(&self, mut f: impl FnMut(&Activity) -> R) -> Vec<R> {
        self.layout.with(|layout| {
            layout
                .iter()
                .flat_map(|s| &s.activities)
                .filter_map(|id| self.activity(id).map(|a| a.with(&mut f)))
                .collect()
        })
    }

    /// Every activity in document order, by section (tracked).
    pub fn sections_with_activities(&self) -> Vec<(RowId, String, Vec<Activity>)> {
        self.layout.with(|layout| {
            layout
                .iter()
                .map(|s| {
                    let title = self.section_title(&s.id).map(|t| t.get()).unwrap_or_default();
                    let activities =
                        s.activities.iter().filter_map(|a| self.activity(a).map(|a| a.get())).collect();
                    (s.id.clone(), title, activities)
                })
                .collect()
        })
    }

    /// Who changed an activity, what and when; `None` while the document is
    /// still loading.
    pub fn activity_history(&self, id: &RowId) -> Option<Vec<ActivityChange>> {
        self.with_open(|o| medk_shared::history::activity_changes(o.automerge(), id))
    }

    pub fn activity(&self, id: &RowId) -> Option<RwSignal<Activity>> {
        self.activities.with_value(|a| a.get(id).copied())
    }

    pub fn section_title(&self, id: &RowId) -> Option<RwSignal<String>> {
        self.section_titles.with_value(|s| s.get(id).copied())
    }

    /// The section an activity is in now.
    pub fn section_of(&self, id: &RowId) -> Option<RowId> {
        self.with_open(|o| o.doc().activity_place(id)).flatten().map(|(section, _)| section)
    }

    /// Computes edits from the current document and applies them as one
    /// user action. `make` returns no edits when there is nothing to do.
    pub fn act(&self, message: &str, make: impl FnOnce(&medk_shared::doc::RoadmapDoc) -> Vec<Edit>) {
        if self.read_only.get_untracked() {
            return self.app.info("Только просмотр: изменять эту дорожную карту у вас нет права");
        }
        let result = self.with_open(|o| {
            let edits = make(o.doc());
            if edits.is_empty() { Ok(false) } else { o.apply(edits, message).map(|()| true) }
        });
        match result {
            Some(Ok(true)) => {
                self.refresh();
                self.schedule_view_write();
            }
            Some(Ok(false)) => {}
            None => self.app.info("Дорожная карта ещё открывается, повторите через мгновение"),
            Some(Err(e)) => self.app.error(format!("Изменение не применено: {e}")),
        }
    }

    pub fn type_text(&self, target: TextTarget, value: String) {
        match self.with_open(|o| o.type_text(target.clone(), value.clone())) {
            Some(Ok(())) => self.schedule_view_write(),
            Some(Err(e)) => {
                self.app.error(format!("Изменение не применено: {e}"));
                return;
            }
            None => self.early_typing.update_value(|t| t.push((target.clone(), value.clone()))),
        }
        match target {
            TextTarget::Header(field) => self.header.update(|h| *h.text_mut(field) = value),
            TextTarget::Column(index) => self.columns.update(|c| {
                if let Some(c) = c.get_mut(index) {
                    c.title = value;
                }
            }),
            TextTarget::Section(id) => {
                if let Some(s) = self.section_title(&id) {
                    s.set(value);
                }
            }
            TextTarget::Activity(id, field) => {
                let word = longest_word(&value);
                if let Some(i) = ActivityField::ALL.iter().position(|f| *f == field)
                    && self.widest.with_untracked(|w| w[i] < word)
                {
                    self.widest.update(|w| w[i] = word);
                }
                if let Some(a) = self.activity(&id) {
                    a.update(|a| *a.text_mut(field) = value);
                }
            }
            TextTarget::Member(id, field) => self.members.update(|members| {
                if let Some(m) = members.iter_mut().find(|m| m.id == id) {
                    *m.text_mut(field) = value;
                }
            }),
        }
        self.sync_history();
    }

    pub fn seal(&self) {
        self.with_open(|o| o.seal());
    }

    pub fn undo(&self) {
        self.history_step(true);
    }

    pub fn redo(&self) {
        self.history_step(false);
    }

    fn history_step(&self, undo: bool) {
        let result = self.with_open(|o| if undo { o.undo() } else { o.redo() });
        match result {
            Some(Ok(true)) => {
                self.refresh();
                self.schedule_view_write();
            }
            Some(Ok(false)) | None => {}
            Some(Err(e)) => self.app.error(format!("Не удалось: {e}")),
        }
    }

    /// Inserts an activity after `after` (or first in the section) and
    /// puts the cursor in its description.
    pub fn insert_activity(&self, section: &RowId, after: Option<&RowId>) {
        let id = new_row_id();
        self.act("add activity", |doc| vec![actions::insert_activity(doc, section, after, id.clone())]);
        focus_row(&id, &[".f-description", "textarea"]);
    }

    pub fn delete_activity(&self, id: &RowId) {
        let description =
            self.activity(id).map(|a| a.with_untracked(|a| a.description.clone())).unwrap_or_default();
        self.act("delete activity", |_| vec![actions::delete(RowRef::Activity(id.clone()))]);
        let editor = *self;
        let what = if description.trim().is_empty() {
            "Мероприятие удалено".to_owned()
        } else {
            format!("Удалено: «{}»", truncate(&description, 60))
        };
        self.app.with_action(what, "Отменить", move || editor.undo());
    }

    pub fn move_activity(&self, id: &RowId, direction: Direction) {
        let focused = web_sys::window().and_then(|w| w.document()).and_then(|d| d.active_element());
        self.act("move activity", |doc| actions::move_activity(doc, id, direction).into_iter().collect());
        // Moving a row moves its DOM nodes, which drops focus; put it back
        // so the person can keep moving (Alt+↑ again, or tap again).
        if let Some(el) = focused.and_then(|el| el.dyn_into::<web_sys::HtmlElement>().ok()) {
            request_animation_frame(move || {
                let _ = el.focus();
            });
        }
    }

    pub fn add_section(&self, after: Option<&RowId>) {
        let id = new_row_id();
        let number = self.layout.with_untracked(|l| l.len()) + 1;
        self.act("add section", |doc| {
            vec![actions::insert_section(doc, after, id.clone(), format!("{number}. Новый раздел"))]
        });
        focus_section(&id);
    }

    /// Copies the roadmap's link; on another device it opens the same roadmap.
    pub fn copy_link(&self) {
        let link = crate::browser::link(&super::route::Route::roadmap(self.id));
        let app = self.app;
        leptos::task::spawn_local(async move {
            match crate::browser::copy(&link).await {
                true => app.info(format!("Ссылка скопирована: {link}")),
                false => app.info(format!("Ссылка на дорожную карту: {link}")),
            }
        });
    }

    pub fn export_file(&self) {
        let Some(bytes) = self.with_open(|o| o.save()) else { return };
        let title = self.header.with_untracked(|h| h.title.clone());
        crate::browser::download(
            &medk_shared::office::file_name(&title, "automerge"),
            "application/octet-stream",
            &bytes,
        );
    }
}

fn set_if_changed<T: PartialEq + Send + Sync + 'static>(signal: RwSignal<T>, value: T) {
    if signal.with_untracked(|v| *v != value) {
        signal.set(value);
    }
}

fn truncate(text: &str, max: usize) -> String {
    let mut out: String = text.chars().take(max).collect();
    if text.chars().count() > max {
        out.push('…');
    }
    out
}

/// After the next render, focuses the first of `selectors` (in order of
/// preference) found inside the row `id`.
pub fn focus_row(id: &RowId, selectors: &'static [&'static str]) {
    let query = format!("[data-activity=\"{id}\"]");
    request_animation_frame(move || {
        let Some(doc) = web_sys::window().and_then(|w| w.document()) else {
            return;
        };
        let Ok(Some(row)) = doc.query_selector(&query) else {
            return;
        };
        let found = selectors.iter().find_map(|s| row.query_selector(s).ok().flatten());
        if let Some(el) = found.and_then(|el| el.dyn_into::<web_sys::HtmlElement>().ok()) {
            let _ = el.focus();
        }
    });
}

/// Focuses a new section's title with its default text selected, so what
/// the person types replaces it rather than joining it.
fn focus_section(id: &RowId) {
    let query = format!("[data-section=\"{id}\"] .section-title");
    request_animation_frame(move || {
        let Some(doc) = web_sys::window().and_then(|w| w.document()) else {
            return;
        };
        if let Ok(Some(el)) = doc.query_selector(&query)
            && let Ok(el) = el.dyn_into::<web_sys::HtmlTextAreaElement>()
        {
            let _ = el.focus();
            el.select();
        }
    });
}

enum Loaded {
    Loading,
    /// Not on this device; being fetched from the relay by its link.
    Fetching,
    Ready(Box<Editor>),
    Failed(Failure),
}

#[component]
pub fn EditorPage(id: String) -> impl IntoView {
    let app = ctx();
    let state = RwSignal::new_local(Loaded::Loading);
    let owner = Owner::current().unwrap_or_default();
    let page_open = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    on_cleanup({
        let page_open = page_open.clone();
        move || page_open.store(false, std::sync::atomic::Ordering::Relaxed)
    });
    leptos::task::spawn_local(async move {
        crate::browser::mark("medk:open");
        let Ok(id) = DocumentId::parse(&id) else {
            state.set(Loaded::Failed(Failure::text("неверная ссылка на дорожную карту")));
            return;
        };
        let storage = app.storage();
        // The cached view puts the roadmap on screen before the
        // document is loaded; the document then corrects it if needed.
        let cached = match storage.meta(&id).await {
            Ok(Some(meta)) if meta.broken.is_none() => storage.view(&id).await.ok().flatten(),
            _ => None,
        };
        let shown = cached
            .and_then(|view| Some((read_view(&view.roadmap)?, view.heads)))
            .map(|(roadmap, heads)| owner.with(|| Editor::from_view(id, roadmap, Some(heads), app)));
        if let Some(editor) = shown {
            state.set(Loaded::Ready(Box::new(editor)));
            crate::browser::mark("medk:view");
            crate::browser::next_paint().await;
        }
        let sync = app.sync();
        let mut opened = sync.open(id).await;
        if matches!(opened, Err(OpenError::NotFound)) {
            // Not on this device: a link from someone else. Ask the relay;
            // while it has none yet (the author's device may not have been
            // online since making it) or cannot be reached, ask again now
            // and then for as long as the page is open.
            state.set(Loaded::Fetching);
            opened = loop {
                match sync.fetch(id).await {
                    Ok(()) => break sync.open(id).await,
                    Err(e @ (FetchError::Unavailable | FetchError::Offline | FetchError::Timeout)) => {
                        state.set(Loaded::Failed(Failure::text(&format!(
                            "{} Страница откроет её сама, как только она появится на сервере.",
                            fetch_failure(&e)
                        ))));
                        crate::browser::sleep(FETCH_AGAIN_MS).await;
                        if !page_open.load(std::sync::atomic::Ordering::Relaxed) {
                            return;
                        }
                    }
                    Err(e) => {
                        state.set(Loaded::Failed(Failure::text(&fetch_failure(&e))));
                        return;
                    }
                }
            };
        }
        match opened {
            Ok(open) => {
                crate::browser::mark("medk:loaded");
                let editor = match shown {
                    Some(editor) => editor,
                    None => {
                        let (roadmap, heads) = {
                            let mut o = open.borrow_mut();
                            (o.doc().read(), o.heads())
                        };
                        let editor = owner.with(|| Editor::from_view(id, roadmap, Some(heads), app));
                        state.set(Loaded::Ready(Box::new(editor)));
                        editor.schedule_view_write();
                        editor
                    }
                };
                editor.attach(open);
                crate::browser::mark("medk:attached");
            }
            Err(e) => state.set(Loaded::Failed(Failure {
                text: match &e {
                    OpenError::NotFound => "дорожной карты нет на этом устройстве".to_owned(),
                    other => other.to_string(),
                },
                detail: e.detail(),
                broken: e.is_broken().then_some(id),
            })),
        }
        request_animation_frame(|| crate::browser::mark("medk:rendered"));
    });
    // A broken copy brought back meanwhile (from the server's copy, once
    // online): open it without being asked.
    super::recovery::reopen_when_recovered(app, move || match &*state.read_untracked() {
        Loaded::Failed(Failure { broken: Some(id), .. }) => Some(*id),
        _ => None,
    });
    move || {
        match &*state.read() {
        Loaded::Loading => view! { <p class="empty">"Открываем дорожную карту…"</p> }.into_any(),
        Loaded::Fetching => view! { <p class="empty" role="status">"Этой дорожной карты ещё нет на устройстве. Загружаем с сервера…"</p> }.into_any(),
        Loaded::Failed(e) => view! {
            <div class="open-error card" role="alert">
                <h1>"Не удалось открыть дорожную карту"</h1>
                <p>{e.text.clone()}</p>
                {e.broken.map(|id| view! { <super::recovery::ReloadFromServer id /> })}
                {e.detail.clone().map(|d| view! { <p class="detail">"Подробности: " {d}</p> })}
                <p>"Другие дорожные карты на устройстве это не затрагивает."</p>
                <a class="button" href="/">"← Все дорожные карты"</a>
            </div>
        }
        .into_any(),
        Loaded::Ready(editor) => view! { <EditorView editor=**editor /> }.into_any(),
    }
    }
}

/// Why a roadmap did not open: what people read, the technical detail,
/// and, for a broken copy, the roadmap the server's copy can replace.
#[derive(Clone)]
struct Failure {
    text: String,
    detail: Option<String>,
    broken: Option<DocumentId>,
}

impl Failure {
    fn text(text: &str) -> Failure {
        Failure { text: text.to_owned(), detail: None, broken: None }
    }
}

/// A year typed in full (four digits, 1900–2100); `None` while typing.
fn whole_year(text: &str) -> Option<i32> {
    let text = text.trim();
    let year: i32 = text.parse().ok()?;
    (text.len() == 4 && (1900..=2100).contains(&year)).then_some(year)
}

/// How often a link the relay has no roadmap for yet is asked again.
const FETCH_AGAIN_MS: i32 = 5_000;

fn fetch_failure(e: &FetchError) -> String {
    match e {
        FetchError::Deleted(said) => {
            let mut chars = said.chars();
            let first = chars.next().map(|c| c.to_uppercase().collect::<String>()).unwrap_or_default();
            format!("{first}{}. Её копии на этом устройстве нет.", chars.as_str())
        }
        e => format!("Дорожной карты нет на этом устройстве, и получить её не удалось: {e}."),
    }
}

#[component]
fn EditorView(editor: Editor) -> impl IntoView {
    let sync = editor.app.sync();
    // Changes from other devices: re-read the document.
    let version = sync.version(editor.id);
    Effect::new(move |previous: Option<u64>| {
        let v = version.get();
        if previous.is_some_and(|p| p != v) {
            editor.show_remote(editor.app.sync().take_touched(editor.id));
        }
        v
    });
    sync.announce(editor.id, true);
    let others = sync.others(editor.id);
    let app = editor.app;
    on_cleanup(move || app.sync().announce(editor.id, false));
    Effect::new(move |_| document_title(&editor.header.with(|h| h.title.clone())));
    // Keep the cached view current when the person leaves the roadmap or
    // the tab goes to the background (it may never come back).
    let hidden = window_event_listener(leptos::ev::visibilitychange, move |_| {
        let hidden = web_sys::window().and_then(|w| w.document()).is_some_and(|d| d.hidden());
        if hidden {
            editor.write_view();
        }
    });
    // Shortcuts work wherever focus is on the page (after a tap on a
    // button or on empty space too), not only inside a field.
    let keys = window_event_listener(leptos::ev::keydown, move |ev| on_key(editor, ev));
    on_cleanup(move || {
        hidden.remove();
        keys.remove();
        editor.write_view();
    });
    let show_keys = RwSignal::new(false);
    let grid = move || grid_template(&editor.columns.get(), &editor.widest.get());
    // What the server lets this person do with the roadmap: its word from
    // `/api/roadmaps` (kept across visits) and the relay's on this connection.
    let account = app.account;
    let doc_state = sync.doc_state(editor.id);
    let server = {
        let id = editor.id.to_string();
        Memo::new(move |_| account.roadmap(&id))
    };
    account.refresh_roadmaps();
    let read_only =
        Memo::new(move |_| doc_state.get().read_only || server.get().is_some_and(|r| r.right < Right::Write));
    let read_only = move || read_only.get();
    Effect::new(move |_| editor.read_only.set(read_only()));
    let unit = move || server.get().and_then(|r| account.unit_name(&r.unit));
    let manages = move || server.get().is_some_and(|r| account.manages(&r.unit));
    let show_access = RwSignal::new(false);
    let show_export = RwSignal::new(false);
    // Who signs this device's changes: the signed-in person, else the name
    // given for presence, else «Без имени». Set again once the document is
    // attached and whenever either name changes.
    let presence_name = sync.name();
    Effect::new(move |_| {
        let name = account
            .me()
            .map(|me| me.person.name)
            .filter(|n| !n.trim().is_empty())
            .or_else(|| Some(presence_name.get()).filter(|n| !n.trim().is_empty()))
            .unwrap_or_else(|| "Без имени".to_owned());
        if editor.loaded.get() {
            editor.with_open(|o| o.set_author(name));
        }
    });
    // Changes the relay refused: shown while the person may only read.
    let refused = move || if read_only() { doc_state.get().unsynced } else { 0 };
    // The relay refused this device's changes for what they were (too big,
    // off the layout): why, instead of the notices about rights.
    let refusal = move || doc_state.get().refused;
    let gone = move || doc_state.get().gone;
    view! {
        <div class="editor" data-loaded=move || editor.loaded.get().to_string()>
            <div class="toolbar" role="toolbar" aria-label="Действия с дорожной картой">
                <a class="button" href="/">"← Все карты"</a>
                <button on:click=move |_| editor.undo() disabled=move || !editor.can_undo.get() || read_only()
                    aria-keyshortcuts="Control+Z" title="Отменить (Ctrl+Z)">"↶ Отменить"</button>
                <button on:click=move |_| editor.redo() disabled=move || !editor.can_redo.get() || read_only()
                    aria-keyshortcuts="Control+Y" title="Повторить (Ctrl+Y)">"↷ Повторить"</button>
                <button disabled=read_only on:click=move |_| {
                    let last = editor.layout.with_untracked(|l| l.last().map(|s| s.id.clone()));
                    editor.add_section(last.as_ref());
                }>"+ Раздел"</button>
                <button on:click=move |_| editor.copy_link() title="Ссылка открывает эту дорожную карту на другом устройстве">"Ссылка"</button>
                <button on:click=move |_| editor.export_file() title="Сохранить файл дорожной карты (.automerge)">"Скачать файл"</button>
                <button on:click=move |_| show_export.update(|v| *v = !*v) aria-expanded=move || show_export.get().to_string()
                    title="Word, Excel, печать, отчёт о выполнении">"Экспорт"</button>
                <button on:click=move |_| show_keys.update(|v| *v = !*v) aria-expanded=move || show_keys.get().to_string()>"Клавиши"</button>
                <button hidden=move || !manages() on:click=move |_| show_access.update(|v| *v = !*v)
                    aria-expanded=move || show_access.get().to_string()>"Доступ"</button>
            </div>
            // Notices are always in the page and hidden when they do not
            // apply: cheaper in wasm than views that come and go.
            <FilterBar editor />
            <Show when=move || show_access.get() && manages()>
                <super::access::AccessPanel id=editor.id />
            </Show>
            <Show when=move || show_export.get()>
                <super::export::ExportPanel id=editor.id />
            </Show>
            <p class="doc-unit" hidden=move || unit().is_none()>"Организация: " {super::text(move || unit().unwrap_or_default())}</p>
            <p class="note" role="status" hidden=move || !read_only() || refusal().is_some()><strong>"Только просмотр."</strong>
                " У вас нет права изменять эту дорожную карту, её можно читать и скачать."</p>
            <p class="note warn refused" role="alert" hidden=move || refused() == 0 || refusal().is_some()>{super::text(move || format!(
                "Сервер не принял {}: у вас только просмотр этой дорожной карты. Изменения сохранены на этом устройстве.",
                medk_shared::ru::CHANGES.count(refused() as i64),
            ))}</p>
            <p class="note warn refused-why" role="alert" hidden=move || refusal().is_none()>
                {super::text(move || format!(
                    "Сервер не принял изменения этой дорожной карты: {}. Они сохранены только на этом устройстве, другие их не видят; при следующем подключении устройство отправит их снова, и сервер примет их, только если причины уже нет. Чтобы их не потерять, скачайте файл дорожной карты («Скачать файл»).",
                    refusal().map(|r| r.0).unwrap_or_default(),
                ))}
                <small class="details">{super::text(move || refusal().map(|r| r.1).unwrap_or_default())}</small>
            </p>
            <p class="note warn" role="alert" hidden=move || !doc_state.get().unavailable || gone().is_some() || refusal().is_some()>
                "Нет доступа к этой дорожной карте на сервере (или она там удалена); она есть только на этом устройстве."</p>
            <p class="note warn gone" role="alert" hidden=move || gone().is_none()>{super::text(move || {
                let words = gone().filter(|w| !w.is_empty()).unwrap_or_else(|| "дорожная карта удалена для всех координатором".to_owned());
                format!(
                    "{}. Её копия осталась только на этом устройстве: её можно прочитать, скачать или удалить в списке.",
                    medk_shared::ru::sentence(&words),
                )
            })}</p>
            <p class="note warn problems" role="status" hidden=move || editor.problems.with(Vec::is_empty)>
                "Часть данных этой дорожной карты не прочитана: её записала другая программа не так, как ожидает приложение. Остальное открыто как обычно."
                <small class="details">{super::text(move || editor.problems.with(|p| p.join("; ")))}</small>
            </p>
            <Show when=move || !others.get().is_empty()>
                <p class="presence" role="status">"Сейчас открыта также у: " {move || others.get().join(", ")}</p>
            </Show>
            <Show when=move || show_keys.get()>
                <KeysHelp />
            </Show>
            <Show when=move || read_only() && manages() && (editor.imported.get() || editor.header.with(|h| !h.adopted_on.is_empty()))>
                <AdoptedOnByCoordinator editor />
            </Show>
            // A disabled fieldset keeps every field and button of the roadmap
            // from taking edits (and says so to screen readers).
            <fieldset class="doc-body" disabled=read_only>
            <legend class="visually-hidden">"Дорожная карта"</legend>
            <HeaderBlock editor />
            <ColumnsPanel editor />
            <div class="sheet" role="table" aria-label="Мероприятия" style:--cols=grid hidden=move || editor.timeline.get()>
                <div class="sheet-head" role="row">
                    {move || editor.columns.get().into_iter().map(|c| view! {
                        <div role="columnheader" class=format!("col-{}", c.field.key())>{c.title}</div>
                    }).collect_view()}
                    <div role="columnheader" class="head-exec">"Исполнение: статус, дата"</div>
                    <div role="columnheader" class="head-actions"><span class="visually-hidden">"Действия"</span></div>
                </div>
                <For each=move || editor.layout.get() key=|s| s.id.clone() let:section>
                    <SectionBlock editor id=section.id />
                </For>
            </div>
            <Show when=move || editor.timeline.get()>
                <super::timeline::Timeline editor />
            </Show>
            <button class="add-section" hidden=move || editor.timeline.get() on:click=move |_| {
                let last = editor.layout.with_untracked(|l| l.last().map(|s| s.id.clone()));
                editor.add_section(last.as_ref());
            }>"+ Добавить раздел"</button>
            <WorkingGroup editor />
            </fieldset>
            <Show when=move || editor.history_of.get().is_some()>
                <super::activity_history::HistoryPanel editor />
            </Show>
        </div>
    }
}

/// The view switch (table or timeline) and the filters, with how many
/// activities they let through.
#[component]
fn FilterBar(editor: Editor) -> impl IntoView {
    let account = editor.app.account;
    let my_name = move || account.me().map(|me| me.person.name).filter(|n| !n.trim().is_empty());
    let filter = editor.filter;
    let total =
        Memo::new(move |_| editor.layout.with(|l| l.iter().map(|s| s.activities.len()).sum::<usize>()));
    let shown = Memo::new(move |_| {
        if filter.with(Filter::is_empty) {
            total.get()
        } else {
            editor.map_activities(|a| editor.passes(a)).into_iter().filter(|p| *p).count()
        }
    });
    let responsible = Memo::new(move |_| {
        let values = editor.map_activities(|a| a.responsible.clone());
        responsible_values(values.iter().map(String::as_str))
    });
    // Signing out (or another name) while «Мои» is on keeps it in step.
    Effect::new(move |_| {
        let name = my_name();
        if filter.with_untracked(|f| f.mine.is_some() && f.mine != name) {
            filter.update(|f| f.mine = name);
        }
    });
    let toggle = move |set: fn(&mut Filter)| move |_| filter.update(set);
    let pressed = move |get: fn(&Filter) -> bool| move || filter.with(get).to_string();
    let select = NodeRef::<leptos::html::Select>::new();
    Effect::new(move |_| {
        responsible.track();
        let value = filter.with(|f| f.responsible.clone()).unwrap_or_default();
        if let Some(select) = select.get()
            && select.value() != value
        {
            select.set_value(&value);
        }
    });
    view! {
        <div class="filter-bar">
            <div class="view-switch" role="group" aria-label="Вид">
                <button aria-pressed=move || (!editor.timeline.get()).to_string()
                    on:click=move |_| editor.timeline.set(false)>"Таблица"</button>
                <button aria-pressed=move || editor.timeline.get().to_string()
                    on:click=move |_| editor.timeline.set(true)>"Календарь"</button>
            </div>
            <div class="filters" role="group" aria-label="Фильтры">
                <button aria-pressed=move || filter.with(|f| f.mine.is_some()).to_string()
                    disabled=move || my_name().is_none()
                    title=move || match my_name() {
                        Some(name) => format!("Мероприятия, где ответственный — {name} (по фамилии)"),
                        None => "Войдите, чтобы видеть свои мероприятия".to_owned(),
                    }
                    on:click=move |_| {
                        let name = my_name();
                        filter.update(|f| f.mine = if f.mine.is_some() { None } else { name });
                    }>"Мои"</button>
                <button aria-pressed=pressed(|f| f.overdue)
                    on:click=toggle(|f| f.overdue = !f.overdue)>"Просроченные"</button>
                <button aria-pressed=pressed(|f| f.this_month)
                    on:click=toggle(|f| f.this_month = !f.this_month)>"В этом месяце"</button>
                <label class="by-responsible">"По ответственному "
                    <select node_ref=select on:change=move |ev| {
                        let value = event_target_value(&ev);
                        filter.update(|f| f.responsible = (!value.is_empty()).then_some(value));
                    }>
                        <option value="">"— все —"</option>
                        {move || responsible.get().into_iter().map(|r| view! {
                            <option value=r.clone()>{r.clone()}</option>
                        }).collect_view()}
                    </select>
                </label>
                <span class="filter-count" role="status">{move || format!("Показано {} из {}", shown.get(), total.get())}</span>
                <button class="reset" disabled=move || filter.with(Filter::is_empty)
                    on:click=move |_| filter.set(Filter::default())>"Сбросить"</button>
            </div>
        </div>
    }
}

/// The CSS grid columns of the table: narrow number, wide description,
/// each at least as wide as the longest word in it (`widest`, in
/// characters, per [`ActivityField::ALL`]): a word is never broken across
/// lines; a table too wide for the screen scrolls sideways instead, its
/// status and buttons held at the right edge (style.css).
fn grid_template(columns: &[Column], widest: &[usize; 9]) -> String {
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

/// Words longer than this (links, mostly) may break: a column as wide as
/// a whole address would push the rest of the table off the screen.
const LONGEST_WORD: usize = 30;

/// The longest run of characters a line cannot break inside, up to
/// [`LONGEST_WORD`]: lines break at spaces and after dashes.
fn longest_word(text: &str) -> usize {
    text.split(|c: char| c.is_whitespace() || matches!(c, '-' | '‐' | '–' | '—'))
        .map(|word| word.chars().count())
        .max()
        .unwrap_or(0)
        .min(LONGEST_WORD)
}

fn on_key(editor: Editor, ev: leptos::ev::KeyboardEvent) {
    if editor.read_only.get_untracked() {
        return;
    }
    let ctrl = ev.ctrl_key() || ev.meta_key();
    let key = ev.key();
    let focused_row = || -> Option<RowId> {
        let el = ev.target()?.dyn_into::<web_sys::Element>().ok()?;
        let row = el.closest("[data-activity]").ok()??;
        row.get_attribute("data-activity").map(RowId::new)
    };
    let handled = match (ctrl, ev.shift_key(), ev.alt_key(), key.as_str()) {
        (true, false, false, "z" | "я") => {
            editor.undo();
            true
        }
        (true, true, false, "z" | "Z" | "я" | "Я") | (true, false, false, "y" | "н") => {
            editor.redo();
            true
        }
        (true, _, false, "Enter") => match focused_row() {
            Some(id) => {
                if let Some(section) = editor.section_of(&id) {
                    editor.insert_activity(&section, Some(&id));
                }
                true
            }
            None => false,
        },
        (false, false, true, "ArrowUp" | "ArrowDown") => match focused_row() {
            Some(id) => {
                let direction = if key == "ArrowUp" { Direction::Up } else { Direction::Down };
                editor.move_activity(&id, direction);
                true
            }
            None => false,
        },
        (false, false, true, "Delete" | "Backspace") => match focused_row() {
            Some(id) => {
                editor.delete_activity(&id);
                true
            }
            None => false,
        },
        _ => false,
    };
    if handled {
        ev.prevent_default();
    }
}

#[component]
fn KeysHelp() -> impl IntoView {
    view! {
        <dl class="keys card" aria-label="Сочетания клавиш">
            <dt>"Ctrl+Z"</dt><dd>"отменить"</dd>
            <dt>"Ctrl+Y, Ctrl+Shift+Z"</dt><dd>"повторить"</dd>
            <dt>"Ctrl+Enter"</dt><dd>"новое мероприятие под текущим"</dd>
            <dt>"Alt+↑, Alt+↓"</dt><dd>"переместить мероприятие"</dd>
            <dt>"Alt+Delete"</dt><dd>"удалить мероприятие"</dd>
            <dt>"Tab"</dt><dd>"к следующему полю"</dd>
        </dl>
    }
}

#[component]
fn HeaderBlock(editor: Editor) -> impl IntoView {
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
fn AdoptedOnByCoordinator(editor: Editor) -> impl IntoView {
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

/// Which columns the roadmap shows and what each is called.
#[component]
fn ColumnsPanel(editor: Editor) -> impl IntoView {
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
