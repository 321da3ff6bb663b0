//! Word and Excel in and out: reading existing .docx roadmaps, and writing a
//! roadmap (or its execution report on a date) as .docx and .xlsx.
//!
//! Pure functions from bytes to data and back; the app and the server do the
//! file picking, downloading and storing.

pub mod export_docx;
pub mod export_xlsx;
pub mod import;
