//! The open roadmap as the views see it ([`Editor`]), without any view.
//!
//! The Automerge document is the source of truth. Signals are a view of it:
//! typing updates the one signal it touched; structural edits, undo and redo
//! re-read the document and update only the signals whose value changed, so
//! one row's edit does not re-render the others. Until the document is
//! loaded, a cached view of it is shown (and typing is kept for later).

use super::dom::{Caret, focus_row, focus_section, focused_element, refocus_after_render};
use crate::browser::new_row_id;
use crate::document::OpenRoadmap;
use crate::ui::kit::AppCtx;
use leptos::prelude::*;
use medk_shared::actions::{self, Direction};
use medk_shared::doc::{Edit, RowRef, TextTarget, Touched};
use medk_shared::filters::Filter;
use medk_shared::history::ActivityChange;
use medk_shared::ids::{DocumentId, RowId};
use medk_shared::model::{Activity, ActivityField, Column, Header, Member, Roadmap, Section};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

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
pub(super) fn read_view(bytes: &[u8]) -> Option<Roadmap> {
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
    pub id: DocumentId,
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
    /// no word is broken across lines ([`super::columns::grid_template`]).
    pub widest: RwSignal<[usize; 9]>,
    /// Its plan came from a file, so the day it was adopted counts
    /// ([`medk_shared::history::imported`]); known once loaded.
    pub imported: RwSignal<bool>,
    /// What of the document is not as the layout says (another program
    /// wrote it), so it shows as empty: details for the warning.
    pub problems: RwSignal<Vec<String>>,
    pub drag: Drag,
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
    pub(super) fn from_view(
        id: DocumentId,
        roadmap: Roadmap,
        view_heads: Option<Vec<String>>,
        app: AppCtx,
    ) -> Self {
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
            drag: Drag::new(),
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
    pub(super) fn attach(&self, open: Rc<RefCell<OpenRoadmap>>) {
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
    pub(super) fn with_open<R>(&self, f: impl FnOnce(&mut OpenRoadmap) -> R) -> Option<R> {
        let open = self.open.try_with_value(|o| o.clone()).flatten()?;
        let mut open = open.try_borrow_mut().ok()?;
        Some(f(&mut open))
    }

    /// Writes the cached view a moment after the last change (and at once
    /// when the page is hidden, see [`super::page`]).
    pub(super) fn schedule_view_write(&self) {
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
        let caret = Caret::save();
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

    /// Offers «Отменить» in a notice saying `what` was done by the action
    /// just taken: it undoes that action, not whatever was done after it.
    pub fn offer_undo(&self, what: String) {
        let Some(Some(serial)) = self.with_open(|o| o.last_action()) else { return };
        let editor = *self;
        self.app.with_action(what, "Отменить", move || {
            match editor.with_open(|o| o.undo_action(serial)) {
                Some(Ok(true)) => {
                    editor.refresh();
                    editor.schedule_view_write();
                }
                Some(Ok(false)) => editor.app.info("Это действие уже отменено"),
                None => {}
                Some(Err(e)) => editor.app.error(format!("Не удалось: {e}")),
            }
        });
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
        // Where the keyboard goes once the row is gone: the row after it
        // (or before it) in its section, else the section's «+ Мероприятие».
        let (section, neighbour) = self.layout.with_untracked(|l| {
            l.iter()
                .find_map(|s| {
                    let at = s.activities.iter().position(|a| a == id)?;
                    let next = s
                        .activities
                        .get(at + 1)
                        .or_else(|| at.checked_sub(1).and_then(|i| s.activities.get(i)));
                    Some((Some(s.id.clone()), next.cloned()))
                })
                .unwrap_or((None, None))
        });
        self.act("delete activity", |_| vec![actions::delete(RowRef::Activity(id.clone()))]);
        match (neighbour, section) {
            (Some(row), _) => focus_row(&row, &[".f-description", "textarea"]),
            (None, Some(section)) => {
                super::dom::focus_selector(format!("[data-section=\"{section}\"] .add-activity"))
            }
            (None, None) => {}
        }
        let what = if description.trim().is_empty() {
            "Мероприятие удалено".to_owned()
        } else {
            format!("Удалено: «{}»", truncate(&description, 60))
        };
        self.offer_undo(what);
    }

    pub fn move_activity(&self, id: &RowId, direction: Direction) {
        let focused = focused_element();
        self.act("move activity", |doc| actions::move_activity(doc, id, direction).into_iter().collect());
        // Moving a row moves its DOM nodes, which drops focus; put it back
        // so the person can keep moving (Alt+↑ again, or tap again).
        if let Some(el) = focused {
            refocus_after_render(el);
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
        let link = crate::browser::link(&crate::ui::route::Route::roadmap(self.id));
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

/// Words longer than this (links, mostly) may break: a column as wide as
/// a whole address would push the rest of the table off the screen.
const LONGEST_WORD: usize = 30;

/// The longest run of characters a line cannot break inside, up to
/// [`LONGEST_WORD`]: lines break at spaces and after dashes.
pub(super) fn longest_word(text: &str) -> usize {
    text.split(|c: char| c.is_whitespace() || matches!(c, '-' | '‐' | '–' | '—'))
        .map(|word| word.chars().count())
        .max()
        .unwrap_or(0)
        .min(LONGEST_WORD)
}

/// Where a dragged row would land: before or after the row `id`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DropTarget {
    pub id: RowId,
    pub after: bool,
}

/// The drag in progress, if any (one at a time).
#[derive(Clone, Copy)]
pub struct Drag {
    pub row: RwSignal<Option<RowId>>,
    pub target: RwSignal<Option<DropTarget>>,
}

impl Drag {
    pub fn new() -> Self {
        Drag { row: RwSignal::new(None), target: RwSignal::new(None) }
    }
}
