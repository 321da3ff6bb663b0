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

/// The longest file name [`file_name`] makes, before its extension.
const FILE_NAME_CHARS: usize = 100;

/// A file name for a download made of a roadmap's title (or a report's
/// heading): what file systems refuse (`\ / : * ? " < > |`, control
/// characters) becomes a space, «№» and dots stay, runs of spaces are one,
/// and a title too long is cut at a word, not inside one.
pub fn file_name(title: &str, extension: &str) -> String {
    let cleaned: String = title
        .chars()
        .map(|c| {
            if c.is_control() || matches!(c, '\\' | '/' | ':' | '*' | '?' | '"' | '<' | '>' | '|') {
                ' '
            } else {
                c
            }
        })
        .collect();
    let mut name = String::new();
    for word in cleaned.split_whitespace() {
        let len = name.chars().count() + usize::from(!name.is_empty()) + word.chars().count();
        if len > FILE_NAME_CHARS {
            if name.is_empty() {
                name = word.chars().take(FILE_NAME_CHARS).collect();
            }
            break;
        }
        if !name.is_empty() {
            name.push(' ');
        }
        name.push_str(word);
    }
    // A name of dots only, or one starting with a dot, would be hidden or
    // refused.
    let name = name.trim_start_matches('.').trim_end_matches(['.', ' ']);
    format!("{}.{extension}", if name.is_empty() { "roadmap" } else { name })
}

#[cfg(test)]
mod tests {
    use super::file_name;

    #[test]
    fn file_names_keep_what_people_wrote() {
        assert_eq!(
            file_name("Дорожная карта МБОУ СОШ № 1 г. Невельска на 2021 год", "xlsx"),
            "Дорожная карта МБОУ СОШ № 1 г. Невельска на 2021 год.xlsx"
        );
        assert_eq!(
            file_name("Отчет на 07.12.2026: план/факт?", "docx"),
            "Отчет на 07.12.2026 план факт.docx"
        );
        let long = format!("{} Невельска на 2021 год", "Дорожная карта ".repeat(7));
        let name = file_name(&long, "docx");
        assert!(name.chars().count() <= 100 + ".docx".len(), "{name}");
        assert!(name.ends_with("карта.docx") || name.ends_with("Дорожная.docx"), "cut at a word: {name}");
        assert_eq!(file_name("...", "xlsx"), "roadmap.xlsx");
        assert_eq!(file_name("", "xlsx"), "roadmap.xlsx");
    }
}
