//! The small kit the screens share, so that no page imports another:
//! the app context and notices, reactive text and the tab title, form
//! pieces, the two-step confirm of a destructive action, and labels
//! several screens say alike.

mod confirm;
mod context;
mod forms;
mod labels;
mod text;

pub use confirm::{Confirm, ConfirmButton, ConfirmDialog};
pub use context::{AppCtx, Notice, NoticeBar, ctx};
pub use forms::{Submit, input, say, unit_options};
pub use labels::{parent_name, warning_text};
pub use text::{document_title, text};
