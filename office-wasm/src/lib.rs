//! `medk-office`: the Word and Excel readers and writers of
//! `medk_shared::office`, as a wasm module of its own.
//!
//! They are about as much code as the rest of the app, and most people never
//! import or export, so the app does not carry them: it loads this module the
//! first time someone does (the service worker keeps it for offline use).
//! The interface is bytes in, bytes out: roadmaps travel as postcard (the
//! encoding the app already uses for its cached views), dates as ISO text,
//! and a refusal as a Russian message the app shows as it is.

use medk_shared::model::Roadmap;
use medk_shared::office::{export_docx, export_xlsx, import};
use time::Date;
use wasm_bindgen::prelude::wasm_bindgen;

/// A .docx roadmap → a postcard-encoded `ParsedRoadmap`.
#[wasm_bindgen]
pub fn parse_docx(bytes: &[u8]) -> Result<Vec<u8>, String> {
    let parsed = import::parse_docx(bytes).map_err(|e| e.to_string())?;
    postcard::to_allocvec(&parsed).map_err(|e| e.to_string())
}

/// A postcard-encoded `Roadmap` → .docx in the official layout.
#[wasm_bindgen]
pub fn roadmap_docx(roadmap: &[u8]) -> Result<Vec<u8>, String> {
    Ok(export_docx::roadmap_docx(&decode(roadmap)?))
}

/// The execution report on `date` (ISO) of a roadmap as it stood then;
/// `none_due` (empty: none) says why nothing was due then.
#[wasm_bindgen]
pub fn report_docx(roadmap: &[u8], date: &str, none_due: &str) -> Result<Vec<u8>, String> {
    let why = Some(none_due).filter(|w| !w.is_empty());
    Ok(export_docx::report_docx(&decode(roadmap)?, iso_date(date)?, why))
}

/// A roadmap → .xlsx, stamped as made on `today` (ISO).
#[wasm_bindgen]
pub fn roadmap_xlsx(roadmap: &[u8], today: &str) -> Result<Vec<u8>, String> {
    export_xlsx::roadmap_xlsx(&decode(roadmap)?, iso_date(today)?).map_err(|e| e.to_string())
}

fn decode(roadmap: &[u8]) -> Result<Roadmap, String> {
    postcard::from_bytes(roadmap).map_err(|e| format!("дорожная карта не прочитана: {e}"))
}

fn iso_date(text: &str) -> Result<Date, String> {
    medk_shared::deadline::parse_iso(text).ok_or_else(|| format!("дата {text:?} не в виде ГГГГ-ММ-ДД"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fixture_goes_through_as_postcard() {
        let bytes = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../shared/tests/fixtures/sakhalin-regional-2021.docx"
        ))
        .unwrap();
        let parsed: import::ParsedRoadmap = postcard::from_bytes(&parse_docx(&bytes).unwrap()).unwrap();
        assert_eq!(parsed.sections.len(), 3);
        let roadmap = parsed
            .to_document(&mut || medk_shared::ids::RowId::new(format!("r{}", fastish())), 0, "", "")
            .unwrap()
            .read();
        let encoded = postcard::to_allocvec(&roadmap).unwrap();
        let docx = roadmap_docx(&encoded).unwrap();
        let again = import::parse_docx(&docx).unwrap();
        assert_eq!(again.sections.len(), 3);
        assert!(roadmap_xlsx(&encoded, "2021-05-01").unwrap().starts_with(b"PK"));
        assert!(report_docx(&encoded, "2021-05-01", "").unwrap().starts_with(b"PK"));
    }

    #[test]
    fn bad_input_is_a_message() {
        assert!(parse_docx(b"not a zip").unwrap_err().contains("повреждён"));
        assert!(roadmap_docx(&[1, 2, 3]).unwrap_err().contains("не прочитана"));
        assert!(report_docx(&[], "вчера", "").is_err());
    }

    fn fastish() -> u64 {
        use std::sync::atomic::{AtomicU64, Ordering};
        static NEXT: AtomicU64 = AtomicU64::new(0);
        NEXT.fetch_add(1, Ordering::Relaxed)
    }
}
