//! Why a typed document could not be opened or changed: one error type for
//! roadmaps, school files and the catalogue. Its messages are Russian and
//! shown to people; what is technical (Automerge's own words) is kept for a
//! details line ([`DocError::detail`]).

use crate::ids::RowId;
use automerge::AutomergeError;

#[derive(Debug, thiserror::Error)]
pub enum DocError {
    /// The bytes are not an Automerge document (the detail is technical).
    #[error("повреждённые данные: файл не читается как документ МЭДК")]
    Corrupt(String),
    /// The document is not of the expected kind, or lacks a part its
    /// writer needs; names the kind («дорожной картой», «файлом школы»).
    #[error("документ не является {0}")]
    WrongKind(&'static str),
    #[error("документ создан более новой версией приложения (схема {0}); обновите приложение")]
    NewerSchema(u64),
    /// A row a roadmap edit names is not there.
    #[error("строка {0} не найдена")]
    NoSuchRow(RowId),
    /// A row of a school file or the catalogue is not there.
    #[error("не найдено: {0}")]
    NotFound(String),
    #[error("строка {0} уже есть")]
    RowExists(RowId),
    #[error("текст длиннее {max} знаков: сократите его", max = crate::layout::MAX_TEXT_CHARS)]
    TextTooLong,
    /// `0` rows of the kind are there already, at least the limit.
    #[error("в дорожной карте уже {} строк этого вида, а добавлять новые можно, пока их меньше {max}",
        crate::ru::thousands(*.0 as u64), max = crate::ru::thousands(crate::layout::MAX_ROWS as u64))]
    TooManyRows(usize),
    #[error("в дорожной карте уже {max} колонок", max = crate::layout::MAX_COLUMNS)]
    TooManyColumns,
    #[error("слишком длинное значение (положение строки, дата или номер строки)")]
    ValueTooLong,
    #[error("неверный адрес файла «{0}»: ожидается sha256:<64 шестнадцатеричные цифры>")]
    BadFileAddress(String),
    #[error("неверная дата «{0}»: ожидается ГГГГ-ММ-ДД")]
    BadDate(String),
    /// Automerge refused an operation (its message is technical).
    #[error("внутренняя ошибка документа")]
    Automerge(#[from] AutomergeError),
}

impl DocError {
    /// The technical detail behind the message, if any (not translated).
    pub fn detail(&self) -> Option<String> {
        match self {
            DocError::Corrupt(d) => Some(d.clone()),
            DocError::Automerge(e) => Some(e.to_string()),
            _ => None,
        }
    }
}
