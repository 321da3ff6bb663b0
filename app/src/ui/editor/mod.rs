//! The roadmap editor. [`state`] is the open roadmap as the views see it
//! (signals over the Automerge document, no views); [`page`] opens it and
//! lays out the page; the other modules are the parts on screen, each
//! taking the [`state::Editor`] handle: the toolbar, notes, filter bar,
//! header, columns, the table's rows (with dragging and fields), the
//! timeline, an activity's history, the keyboard shortcuts. [`dom`] is what
//! the editor does to the DOM beyond rendering (focus, caret).
//!
//! Imports go one way: `page` → parts → `state` → `dom`.

mod columns;
mod dom;
mod drag;
mod fields;
mod filter_bar;
mod header;
mod history;
mod keys;
mod notes;
mod page;
mod rows;
mod sheet;
mod state;
mod timeline;
mod toolbar;

pub use page::EditorPage;
