//! Word and Excel in and out: reading existing .docx roadmaps, and writing a
//! roadmap (or its execution report on a date) as .docx and .xlsx.
//!
//! Pure functions from bytes to data and back; the app and the server do the
//! file picking, downloading and storing. The readers and writers pull in
//! docx-rs, zip and rust_xlsxwriter, about as much code as the rest of the
//! app, so they sit behind the `office` feature: the server has them, and
//! the browser loads them as a second wasm module (`office-wasm/`) only when
//! someone imports or exports. [`parsed`], what an import preview works
//! with, is always here.

#[cfg(feature = "office")]
pub mod export_docx;
#[cfg(feature = "office")]
pub mod export_xlsx;
#[cfg(feature = "office")]
pub mod import;
pub mod parsed;
