//! Roadmap deadlines: free Russian text («март- апрель2022», «27-28.01.2021»,
//! «на постоянной основе с сентября 2020») kept exactly as written and read as
//! an inclusive date range, so activities can be sorted, filtered and flagged
//! as overdue without rewriting what the authors typed.
//!
//! Text that cannot be read is kept and marked `understood: false`, never an
//! error: an import must accept whatever a roadmap contains.
//!
//! How ambiguous forms are read:
//! - Parts joined by a dash, «по», a comma or a semicolon cover everything from
//!   the earliest start to the latest end: «Март; июль» is 1 March – 31 July.
//!   An activity listed under two months is open throughout.
//! - A year applies to the year-less parts before it («май, октябрь 2022»). A
//!   part with no year after it takes the year of the part before it, else the
//!   roadmap year. Parts are written in time order, so a month that goes
//!   backwards is in the next year: «ноябрь-февраль» in a 2022 roadmap is
//!   1 Nov 2022 – 28 Feb 2023, and «ноябрь-февраль 2023» is 1 Nov 2022 – 28 Feb 2023.
//! - «до X», «по X», «к X», «не позднее X» mean due by X, from 1 January of X's year.
//! - «с X» with no end runs to 31 December of the roadmap year, or of X's year
//!   when that is later.
//! - A recurrence with no dates («ежемесячно», «постоянно»), «в течение года»
//!   and «весь период» cover the roadmap year.
//! - «2021-2022 учебный год» is 1 Sep 2021 – 31 Aug 2022. A school year with no
//!   years («в течение учебного года») is the roadmap year: a roadmap plans a
//!   calendar year, which ends one school year and starts the next, and the
//!   text does not say which one it means, so the activity is open all year.
//! - Two-digit years are 20xx.
//! - A word split by a stray space from a PDF or Word dump («постоянно й») is
//!   rejoined only when a piece is not a word on its own and the joined text is
//!   a known word, so real words are never glued together.
//! - Any unknown word, an impossible date (31.02.2021), or a missing year with no
//!   roadmap year makes the text not understood, with no dates and no
//!   recurrence: nothing is guessed.

use serde::{Deserialize, Serialize};
use time::{Date, Month};

/// A date as documents store it and files exchange it: `YYYY-MM-DD`.
pub fn iso(date: Date) -> String {
    format!("{:04}-{:02}-{:02}", date.year(), u8::from(date.month()), date.day())
}

/// Reads [`iso`]'s form (surrounding spaces allowed); None for anything else
/// or an impossible date. By hand: `time`'s format-description parser costs
/// the browser app kilobytes for this one shape.
pub fn parse_iso(text: &str) -> Option<Date> {
    let mut parts = text.trim().split('-');
    let (year, month, day) = (parts.next()?, parts.next()?, parts.next()?);
    let digits = |part: &str, len: usize| part.len() == len && part.bytes().all(|b| b.is_ascii_digit());
    if parts.next().is_some() || !digits(year, 4) || !digits(month, 2) || !digits(day, 2) {
        return None;
    }
    let month = Month::try_from(month.parse::<u8>().ok()?).ok()?;
    Date::from_calendar_date(year.parse().ok()?, month, day.parse().ok()?).ok()
}

/// A deadline as written in the roadmap, and what it means.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deadline {
    /// The text exactly as written.
    pub text: String,
    /// First and last day the activity is due in (inclusive). None when not understood or empty.
    #[serde(default, with = "iso_date_opt")]
    pub start: Option<Date>,
    #[serde(default, with = "iso_date_opt")]
    pub end: Option<Date>,
    /// How often the activity recurs within the range, when the text says so («ежемесячно», «еженедельно», «ежеквартально», «ежегодно», «на постоянной основе», «постоянно»).
    pub recurrence: Option<Recurrence>,
    /// False when the text is non-empty but could not be understood; such text is kept and marked, never an error.
    pub understood: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Recurrence {
    Weekly,
    Monthly,
    Quarterly,
    Yearly,
    Continuous,
}

impl Deadline {
    /// True when the roadmap gives no deadline at all (blank text).
    pub fn is_empty(&self) -> bool {
        self.text.trim().is_empty()
    }

    /// The last day the activity is due; after it, the activity is overdue.
    pub fn due_by(&self) -> Option<Date> {
        self.end
    }
}

/// Parses `text`; `default_year` is the roadmap's year, used where the text names no year.
pub fn parse(text: &str, default_year: Option<i32>) -> Deadline {
    let mut deadline =
        Deadline { text: text.to_owned(), start: None, end: None, recurrence: None, understood: true };
    if deadline.is_empty() {
        return deadline;
    }
    match read(text, default_year) {
        Some(reading) => {
            deadline.start = Some(reading.start);
            deadline.end = Some(reading.end);
            deadline.recurrence = reading.recurrence;
        }
        None => deadline.understood = false,
    }
    deadline
}

/// `Option<Date>` as an ISO `YYYY-MM-DD` string or null, the form the app and
/// the relay exchange.
mod iso_date_opt {
    use serde::{Deserialize, Deserializer, Serializer, de};
    use time::Date;

    pub fn serialize<S: Serializer>(date: &Option<Date>, serializer: S) -> Result<S::Ok, S::Error> {
        match date {
            Some(date) => serializer.serialize_str(&super::iso(*date)),
            None => serializer.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Date>, D::Error> {
        Option::<String>::deserialize(deserializer)?
            .map(|text| {
                super::parse_iso(&text)
                    .ok_or_else(|| de::Error::custom(format!("not a YYYY-MM-DD date: {text:?}")))
            })
            .transpose()
    }
}

struct Reading {
    start: Date,
    end: Date,
    recurrence: Option<Recurrence>,
}

fn read(text: &str, default_year: Option<i32>) -> Option<Reading> {
    let lexemes = lex(&tokenize(text));
    let parsed = Parser::default().run(&lexemes)?;
    resolve(parsed, default_year)
}

// ---------------------------------------------------------------------------
// Tokens: numbers, words and the punctuation that matters.

#[derive(Clone, Debug, PartialEq, Eq)]
enum Token {
    Number {
        value: u32,
        digits: u8,
    },
    /// Lowercased, «ё» folded to «е».
    Word(String),
    Dash,
    Dot,
    Slash,
    /// `,` or `;`
    Separator,
    /// Any other symbol: the text is not a plain deadline.
    Other,
}

/// A token, and whether it stands apart from the one before.
struct Tok {
    token: Token,
    /// Whitespace (or a bracket or quote) comes before it.
    spaced: bool,
}

/// Characters that PDF and Word dumps leave inside words.
fn is_invisible(c: char) -> bool {
    matches!(c, '\u{AD}' | '\u{200B}' | '\u{200C}' | '\u{200D}' | '\u{2060}' | '\u{FEFF}')
}

/// Punctuation that wraps a deadline without changing it.
fn is_wrapping(c: char) -> bool {
    matches!(c, '(' | ')' | '[' | ']' | '«' | '»' | '"' | '\'' | '“' | '”' | '„' | ':')
}

fn is_dash(c: char) -> bool {
    matches!(
        c,
        '-' | '\u{2010}' | '\u{2011}' | '\u{2012}' | '\u{2013}' | '\u{2014}' | '\u{2015}' | '\u{2212}'
    )
}

fn tokenize(text: &str) -> Vec<Tok> {
    let mut tokens = Vec::new();
    let mut spaced = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if is_invisible(c) {
            continue;
        }
        if c.is_whitespace() || is_wrapping(c) {
            spaced = true;
            continue;
        }
        // `to_digit(10)` only takes ASCII digits: other scripts' digits are `Other`.
        let token = if let Some(first) = c.to_digit(10) {
            let (mut value, mut digits) = (first, 1u8);
            while let Some(&next) = chars.peek() {
                if let Some(digit) = next.to_digit(10) {
                    value = value.saturating_mul(10).saturating_add(digit);
                    digits = digits.saturating_add(1);
                } else if !is_invisible(next) {
                    break;
                }
                chars.next();
            }
            Token::Number { value, digits }
        } else if c.is_alphabetic() {
            let mut word = String::new();
            push_folded(&mut word, c);
            while let Some(&next) = chars.peek() {
                if next.is_alphabetic() || matches!(next, '\u{306}' | '\u{308}') {
                    push_folded(&mut word, next);
                } else if !is_invisible(next) {
                    break;
                }
                chars.next();
            }
            Token::Word(word)
        } else if is_dash(c) {
            Token::Dash
        } else {
            match c {
                '.' => Token::Dot,
                '/' | '\\' => Token::Slash,
                ',' | ';' => Token::Separator,
                _ => Token::Other,
            }
        };
        tokens.push(Tok { token, spaced });
        spaced = false;
    }
    tokens
}

/// Lowercases, folds «ё» to «е», and recombines «й» and «ё» that came decomposed.
fn push_folded(word: &mut String, c: char) {
    match c {
        '\u{306}' => {
            if word.ends_with('и') {
                word.pop();
                word.push('й');
            }
        }
        '\u{308}' => {} // «е» + diaeresis is «ё», which folds to «е» anyway
        _ => word.extend(c.to_lowercase().map(|l| if l == 'ё' { 'е' } else { l })),
    }
}

// ---------------------------------------------------------------------------
// Lexemes: tokens classified, numeric dates assembled, filler dropped.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Lex {
    Number {
        value: u32,
        digits: u8,
    },
    Date {
        day: u32,
        month: u32,
        year: Option<i32>,
    },
    Month(u32),
    Roman(u32),
    QuarterWord,
    HalfWord,
    /// «год», «года»: alone it means a whole year («в течение года»).
    YearWord,
    /// «г.», «гг.»: only ever follows a year.
    YearAbbreviation,
    SchoolWord,
    PeriodWord,
    Recur(Recurrence),
    From,
    Until,
    Not,
    Later,
    Dash,
    Slash,
    Separator,
    Filler,
    Unknown,
}

fn lex(tokens: &[Tok]) -> Vec<Lex> {
    let mut out = Vec::new();
    // The previous token when it was a word, for rejoining split words.
    let mut previous_word: Option<String> = None;
    let mut i = 0;
    while i < tokens.len() {
        if let Some((date, used)) = numeric_date(&tokens[i..]) {
            out.push(date);
            previous_word = None;
            i += used;
            continue;
        }
        let token = &tokens[i].token;
        i += 1;
        let Token::Word(word) = token else {
            out.push(match *token {
                Token::Number { value, digits } => Lex::Number { value, digits },
                Token::Dash => Lex::Dash,
                Token::Slash => Lex::Slash,
                Token::Separator => Lex::Separator,
                Token::Dot => Lex::Filler,
                Token::Word(_) | Token::Other => Lex::Unknown,
            });
            previous_word = None;
            continue;
        };
        let joined = previous_word.take().map(|previous| previous + word);
        match (classify(word), joined.as_deref().and_then(classify)) {
            // Only a piece that is no word on its own is glued to the one before.
            (None, Some(rejoined)) => {
                if let Some(last) = out.last_mut() {
                    *last = rejoined;
                }
                previous_word = joined;
            }
            (known, _) => {
                out.push(known.unwrap_or(Lex::Unknown));
                previous_word = Some(word.clone());
            }
        }
    }
    out.retain(|lexeme| *lexeme != Lex::Filler);
    out
}

/// `dd.mm.yyyy`, `d.m.yy`, `dd.mm`, `dd/mm/yyyy` or ISO `yyyy-mm-dd`, written without spaces.
fn numeric_date(tokens: &[Tok]) -> Option<(Lex, usize)> {
    let number = |k: usize| match tokens.get(k) {
        Some(Tok { token: Token::Number { value, digits }, spaced: false }) => Some((*value, *digits)),
        _ => None,
    };
    let glued = |k: usize| tokens.get(k).filter(|tok| !tok.spaced).map(|tok| &tok.token);
    let (first, first_digits) = match tokens.first()?.token {
        Token::Number { value, digits } => (value, digits),
        _ => return None,
    };
    if first_digits == 4
        && glued(1) == Some(&Token::Dash)
        && let Some((month, 1..=2)) = number(2)
        && glued(3) == Some(&Token::Dash)
        && let Some((day, 1..=2)) = number(4)
    {
        let year = i32::try_from(first).ok();
        return Some((Lex::Date { day, month, year }, 5));
    }
    if first_digits > 2 {
        return None;
    }
    let separator = glued(1).filter(|sep| matches!(sep, Token::Dot | Token::Slash))?;
    let (month, 1..=2) = number(2)? else {
        return None;
    };
    if glued(3) == Some(separator)
        && let Some((year, year_digits)) = number(4)
    {
        let year = match year_digits {
            2 => 2000 + year as i32,
            4 => year as i32,
            _ => return Some((Lex::Unknown, 5)),
        };
        return Some((Lex::Date { day: first, month, year: Some(year) }, 5));
    }
    Some((Lex::Date { day: first, month, year: None }, 3))
}

/// Month stems with the case endings each takes (nominative, genitive,
/// prepositional, dative, instrumental), and the usual abbreviations.
const MONTHS: [(&str, &[&str], &[&str]); 12] = [
    ("январ", SOFT, &["янв"]),
    ("феврал", SOFT, &["фев", "февр"]),
    ("март", HARD, &["мар"]),
    ("апрел", SOFT, &["апр"]),
    ("ма", MAY, &[]),
    ("июн", SOFT, &["июн"]),
    ("июл", SOFT, &["июл"]),
    ("август", HARD, &["авг"]),
    ("сентябр", SOFT, &["сен", "сент"]),
    ("октябр", SOFT, &["окт"]),
    ("ноябр", SOFT, &["ноя", "нояб"]),
    ("декабр", SOFT, &["дек"]),
];
const SOFT: &[&str] = &["ь", "я", "е", "ю", "ем"];
const HARD: &[&str] = &["", "а", "е", "у", "ом"];
const MAY: &[&str] = &["й", "я", "е", "ю", "ем"];

/// Stems of recurrence adverbs and adjectives («ежемесячно», «на постоянной основе»).
const RECURRENCES: [(&str, Recurrence); 5] = [
    ("еженедельн", Recurrence::Weekly),
    ("ежемесячн", Recurrence::Monthly),
    ("ежеквартальн", Recurrence::Quarterly),
    ("ежегодн", Recurrence::Yearly),
    ("постоянн", Recurrence::Continuous),
];
const ADJECTIVE_ENDINGS: &[&str] =
    &["о", "ый", "ий", "ой", "ая", "ое", "ые", "ых", "ую", "ом", "ым", "ого", "ому", "ыми"];

fn classify(word: &str) -> Option<Lex> {
    classify_exact(word).or_else(|| classify_exact(&cyrillic_lookalikes(word)?))
}

fn classify_exact(word: &str) -> Option<Lex> {
    if let Some(month) = month_of(word) {
        return Some(Lex::Month(month));
    }
    if let Some(roman) = roman_of(word) {
        return Some(Lex::Roman(roman));
    }
    for (stem, recurrence) in RECURRENCES {
        if word.strip_prefix(stem).is_some_and(|ending| ADJECTIVE_ENDINGS.contains(&ending)) {
            return Some(Lex::Recur(recurrence));
        }
    }
    Some(match word {
        "квартал" | "квартала" | "квартале" | "кв" => Lex::QuarterWord,
        "полугодие" | "полугодия" | "полугодии" | "полугодье" | "полугодья" | "полуг" => {
            Lex::HalfWord
        }
        "год" | "года" | "году" | "годом" | "годы" | "годов" => Lex::YearWord,
        "г" | "гг" => Lex::YearAbbreviation,
        "учебный" | "учебного" | "учебном" | "учебному" | "учебным" | "уч" => {
            Lex::SchoolWord
        }
        "период" | "периода" | "периоде" => Lex::PeriodWord,
        "с" | "со" | "начиная" => Lex::From,
        "до" | "по" | "к" | "ко" => Lex::Until,
        "не" => Lex::Not,
        "позднее" | "позже" => Lex::Later,
        "и" => Lex::Separator,
        "в"
        | "во"
        | "на"
        | "течение"
        | "течении"
        | "протяжении"
        | "основе"
        | "основы"
        | "срок"
        | "сроки"
        | "весь"
        | "всего"
        | "всем"
        | "включительно" => Lex::Filler,
        _ => return None,
    })
}

fn month_of(word: &str) -> Option<u32> {
    (1..).zip(MONTHS).find_map(|(number, (stem, endings, abbreviations))| {
        let full = word.strip_prefix(stem).is_some_and(|ending| endings.contains(&ending));
        (full || abbreviations.contains(&word)).then_some(number)
    })
}

/// Roman numerals for quarters and half-years; the Ukrainian «і» that some
/// documents use for «I» counts too.
fn roman_of(word: &str) -> Option<u32> {
    match word.replace('і', "i").as_str() {
        "i" => Some(1),
        "ii" => Some(2),
        "iii" => Some(3),
        "iv" => Some(4),
        _ => None,
    }
}

/// The word with Latin letters that look Cyrillic replaced, for words that
/// mix scripts («cентябрь» typed with a Latin «c»), and a lone Latin «c».
fn cyrillic_lookalikes(word: &str) -> Option<String> {
    if word == "c" {
        return Some("с".to_owned());
    }
    let cyrillic = word.chars().any(|c| ('\u{400}'..='\u{4FF}').contains(&c));
    let mapped: String = word
        .chars()
        .map(|c| match c {
            'a' => 'а',
            'b' => 'в',
            'c' => 'с',
            'e' => 'е',
            'h' => 'н',
            'k' => 'к',
            'm' => 'м',
            'o' => 'о',
            'p' => 'р',
            't' => 'т',
            'x' => 'х',
            'y' => 'у',
            other => other,
        })
        .collect();
    (cyrillic && mapped != word).then_some(mapped)
}

// ---------------------------------------------------------------------------
// Parsing: lexemes into periods, years still possibly missing.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Shape {
    /// One day; the month may come from a later day («с 1 по 15 апреля»).
    Day {
        day: u32,
        month: Option<u32>,
    },
    Month(u32),
    Quarter(u32),
    Half(u32),
    Year,
    /// 1 September of the year to 31 August of the next.
    SchoolYear,
}

#[derive(Clone, Copy, Debug)]
struct Term {
    shape: Shape,
    year: Option<i32>,
}

impl Term {
    fn new(shape: Shape) -> Self {
        Term { shape, year: None }
    }

    /// The month the period starts in, to tell when a list goes back in time.
    fn start_month(&self) -> Option<u32> {
        match self.shape {
            Shape::Day { month, .. } => month,
            Shape::Month(month) => Some(month),
            Shape::Quarter(quarter) => Some(quarter * 3 - 2),
            Shape::Half(half) => Some(half * 6 - 5),
            Shape::Year | Shape::SchoolYear => None,
        }
    }

    fn day_month(&self) -> Option<u32> {
        match self.shape {
            Shape::Day { month, .. } => month,
            _ => None,
        }
    }

    /// Sets a year the text did not give next to the period. A school year
    /// without its own years becomes the calendar year (see the module doc).
    fn infer_year(&mut self, year: i32) {
        self.year = Some(year);
        if self.shape == Shape::SchoolYear {
            self.shape = Shape::Year;
        }
    }

    fn range(&self) -> Option<(Date, Date)> {
        let year = self.year?;
        match self.shape {
            Shape::Day { day, month } => {
                let date = date(year, month?, day)?;
                Some((date, date))
            }
            Shape::Month(month) => months(year, month, month),
            Shape::Quarter(quarter) => months(year, quarter * 3 - 2, quarter * 3),
            Shape::Half(half) => months(year, half * 6 - 5, half * 6),
            Shape::Year => months(year, 1, 12),
            Shape::SchoolYear => Some((date(year, 9, 1)?, date(year.checked_add(1)?, 8, 31)?)),
        }
    }
}

fn date(year: i32, month: u32, day: u32) -> Option<Date> {
    let month = Month::try_from(u8::try_from(month).ok()?).ok()?;
    Date::from_calendar_date(year, month, u8::try_from(day).ok()?).ok()
}

fn months(year: i32, first: u32, last: u32) -> Option<(Date, Date)> {
    let last_month = Month::try_from(u8::try_from(last).ok()?).ok()?;
    let end = Date::from_calendar_date(year, last_month, last_month.length(year)).ok()?;
    Some((date(year, first, 1)?, end))
}

enum Item {
    Term(Term),
    /// A year standing on its own: it dates the period before it, or is the whole year.
    Year(i32),
}

#[derive(Default)]
struct Parser {
    items: Vec<Item>,
    recurrence: Option<Recurrence>,
    /// «до», «к», «не позднее» came before any date.
    due_by_only: bool,
    /// «с» came, so the range may be open-ended.
    from: bool,
    /// A dash or «по» / «до» after a date closes a range opened by «с».
    closed: bool,
}

impl Parser {
    fn run(mut self, lexemes: &[Lex]) -> Option<Self> {
        let mut i = 0;
        while i < lexemes.len() {
            i = self.step(lexemes, i)?;
        }
        Some(self)
    }

    /// Reads the form starting at `i`; returns where the next one starts.
    fn step(&mut self, lx: &[Lex], i: usize) -> Option<usize> {
        let next = lx.get(i + 1).copied();
        match lx[i] {
            Lex::Number { value, digits } => self.number(lx, i, value, digits),
            Lex::Roman(numeral) => self.period_number(i, numeral, next),
            Lex::Date { day, month, year } => {
                self.push(Shape::Day { day, month: Some(month) }, year);
                Some(if year.is_some() { skip_year_words(lx, i + 1) } else { i + 1 })
            }
            Lex::Month(month) => {
                self.push(Shape::Month(month), None);
                Some(i + 1)
            }
            Lex::YearWord | Lex::PeriodWord => {
                self.push(Shape::Year, None);
                Some(i + 1)
            }
            Lex::SchoolWord => self.school_year_word(lx, i),
            Lex::Recur(recurrence) => {
                self.recurrence.get_or_insert(recurrence);
                Some(i + 1)
            }
            Lex::From => {
                self.from = true;
                Some(i + 1)
            }
            Lex::Not if next == Some(Lex::Later) => {
                self.until();
                Some(i + 2)
            }
            Lex::Until => {
                self.until();
                Some(i + 1)
            }
            Lex::Dash => {
                self.closed |= !self.items.is_empty();
                Some(i + 1)
            }
            Lex::Separator | Lex::Slash | Lex::Filler => Some(i + 1),
            Lex::QuarterWord
            | Lex::HalfWord
            | Lex::YearAbbreviation
            | Lex::Not
            | Lex::Later
            | Lex::Unknown => None,
        }
    }

    fn push(&mut self, shape: Shape, year: Option<i32>) {
        self.items.push(Item::Term(Term { shape, year }));
    }

    /// «до X» before any date means due by X; after a date it ends a range.
    fn until(&mut self) {
        if self.items.is_empty() {
            self.due_by_only = true;
        } else {
            self.closed = true;
        }
    }

    /// A number: a quarter or half-year ordinal, a day, or a year.
    fn number(&mut self, lx: &[Lex], i: usize, value: u32, digits: u8) -> Option<usize> {
        match lx.get(i + 1).copied() {
            next @ Some(Lex::QuarterWord | Lex::HalfWord) => self.period_number(i, value, next),
            Some(Lex::Month(month)) if digits <= 2 => {
                self.push(Shape::Day { day: value, month: Some(month) }, None);
                Some(i + 2)
            }
            _ if digits == 4 => self.year_number(lx, i),
            _ if digits <= 2 => {
                self.push(Shape::Day { day: value, month: None }, None);
                Some(i + 1)
            }
            _ => None,
        }
    }

    /// «1 квартал», «III квартал», «II полугодие».
    fn period_number(&mut self, i: usize, ordinal: u32, next: Option<Lex>) -> Option<usize> {
        let shape = match next {
            Some(Lex::QuarterWord) if (1..=4).contains(&ordinal) => Shape::Quarter(ordinal),
            Some(Lex::HalfWord) if (1..=2).contains(&ordinal) => Shape::Half(ordinal),
            _ => return None,
        };
        self.push(shape, None);
        Some(i + 2)
    }

    /// A four-digit year, or a school year «2021-2022 учебный год».
    fn year_number(&mut self, lx: &[Lex], i: usize) -> Option<usize> {
        if let Some((first, last, after)) = year_pair(lx, i) {
            let after_words = skip_year_words(lx, after);
            if lx.get(after_words) == Some(&Lex::SchoolWord) {
                self.push_school_years(first, last)?;
                return Some(skip_year_words(lx, after_words + 1));
            }
        }
        self.items.push(Item::Year(plausible_year(lx[i])?));
        Some(skip_year_words(lx, i + 1))
    }

    /// «учебный год», optionally followed by its years. After dates without
    /// years («сентябрь - май учебного года») it only qualifies them.
    fn school_year_word(&mut self, lx: &[Lex], i: usize) -> Option<usize> {
        let after = skip_year_words(lx, i + 1);
        match year_pair(lx, after) {
            Some((first, last, next)) => {
                self.push_school_years(first, last)?;
                Some(skip_year_words(lx, next))
            }
            None => {
                if self.items.is_empty() {
                    self.push(Shape::SchoolYear, None);
                }
                Some(after)
            }
        }
    }

    fn push_school_years(&mut self, first: i32, last: i32) -> Option<()> {
        if last <= first {
            return None;
        }
        self.push(Shape::SchoolYear, Some(first));
        if last - 1 != first {
            self.push(Shape::SchoolYear, Some(last - 1));
        }
        Some(())
    }
}

/// A plausible four-digit year; other numbers are not years here.
fn plausible_year(lexeme: Lex) -> Option<i32> {
    match lexeme {
        Lex::Number { value: value @ 1900..=2199, digits: 4 } => i32::try_from(value).ok(),
        _ => None,
    }
}

/// «2021-2022», «2022/2023», «2021-22»: the two years and where the text goes on.
fn year_pair(lx: &[Lex], i: usize) -> Option<(i32, i32, usize)> {
    let first = plausible_year(*lx.get(i)?)?;
    if !matches!(lx.get(i + 1), Some(Lex::Dash | Lex::Slash)) {
        return None;
    }
    let last = match *lx.get(i + 2)? {
        Lex::Number { value: value @ 0..=99, digits: 2 } => first - first % 100 + value as i32,
        number => plausible_year(number)?,
    };
    Some((first, last, i + 3))
}

/// Skips «год», «г.», «гг.» after a year that already said it.
fn skip_year_words(lx: &[Lex], mut i: usize) -> usize {
    while matches!(lx.get(i), Some(Lex::YearWord | Lex::YearAbbreviation)) {
        i += 1;
    }
    i
}

// ---------------------------------------------------------------------------
// Resolution: months and years filled in, then one range.

fn resolve(parser: Parser, default_year: Option<i32>) -> Option<Reading> {
    let mut terms = attach_years(parser.items);
    if terms.is_empty() {
        // Nothing but a recurrence («ежемесячно»): the whole roadmap year.
        parser.recurrence?;
        terms.push(Term::new(Shape::Year));
    }
    fill_day_months(&mut terms)?;
    fill_years(&mut terms, default_year)?;
    let (mut start, mut end) = envelope(&terms)?;
    if parser.due_by_only {
        start = date(end.year(), 1, 1)?;
    }
    if parser.from && !parser.closed {
        let year = default_year.map_or(end.year(), |roadmap| roadmap.max(end.year()));
        end = date(year, 12, 31)?;
    }
    Some(Reading { start, end, recurrence: parser.recurrence })
}

/// A standalone year dates the period right before it when that has no year
/// («декабрь 2021», «август, 2022»); otherwise it is the whole year («2022 год»).
fn attach_years(items: Vec<Item>) -> Vec<Term> {
    let mut terms: Vec<Term> = Vec::with_capacity(items.len());
    for item in items {
        match item {
            Item::Term(term) => terms.push(term),
            Item::Year(year) => match terms.last_mut() {
                Some(last) if last.year.is_none() => last.year = Some(year),
                _ => terms.push(Term { shape: Shape::Year, year: Some(year) }),
            },
        }
    }
    terms
}

/// A bare day takes its month from the next dated day («с 1 по 15 апреля»,
/// «27-28.01.2021»), else from the one before («с 1 апреля по 15»).
fn fill_day_months(terms: &mut [Term]) -> Option<()> {
    for i in 0..terms.len() {
        if let Shape::Day { day, month: None } = terms[i].shape {
            let month = terms[i + 1..]
                .iter()
                .find_map(Term::day_month)
                .or_else(|| terms[..i].iter().rev().find_map(Term::day_month))?;
            terms[i].shape = Shape::Day { day, month: Some(month) };
        }
    }
    Some(())
}

/// Years for the periods that have none (see the module doc). Parts are in
/// time order, so where the month goes back, the year moves on.
fn fill_years(terms: &mut [Term], default_year: Option<i32>) -> Option<()> {
    // From the next part with a year: a year earlier when the month goes back.
    let mut next: Option<(i32, Option<u32>)> = None;
    for term in terms.iter_mut().rev() {
        if term.year.is_none()
            && let Some((year, later)) = next
        {
            let wraps = matches!((term.start_month(), later), (Some(this), Some(later)) if this > later);
            term.infer_year(if wraps { year.checked_sub(1)? } else { year });
        }
        if let Some(year) = term.year {
            next = Some((year, term.start_month()));
        }
    }
    // The tail after the last year: from the part before, else the roadmap year.
    let mut previous: Option<(i32, Option<u32>)> = None;
    for term in terms.iter_mut() {
        if term.year.is_none() {
            let year = match previous {
                Some((year, Some(earlier))) if term.start_month().is_some_and(|this| this < earlier) => {
                    year.checked_add(1)?
                }
                Some((year, _)) => year,
                None => default_year?,
            };
            term.infer_year(year);
        }
        previous = Some((term.year?, term.start_month()));
    }
    Some(())
}

/// From the earliest start to the latest end of all the parts.
fn envelope(terms: &[Term]) -> Option<(Date, Date)> {
    let mut ranges = terms.iter().map(Term::range);
    let (mut start, mut end) = ranges.next()??;
    for range in ranges {
        let (first, last) = range?;
        start = start.min(first);
        end = end.max(last);
    }
    Some((start, end))
}

#[cfg(test)]
mod tests {
    #[test]
    fn iso_dates_read_back() {
        use time::macros::date;
        assert_eq!(super::parse_iso(" 2022-02-28 "), Some(date!(2022 - 02 - 28)));
        assert_eq!(super::iso(date!(2022 - 02 - 28)), "2022-02-28");
        for bad in ["2022-02-30", "2022-2-28", "22-02-28", "2022-02-28-1", "", "2022–02–28", "+202-02-28"]
        {
            assert_eq!(super::parse_iso(bad), None, "{bad}");
        }
    }

    use super::*;
    use time::macros::date;

    #[track_caller]
    fn assert_reads(text: &str, default_year: Option<i32>, start: Date, end: Date) {
        let deadline = parse(text, default_year);
        assert!(deadline.understood, "{text:?} not understood");
        assert_eq!((deadline.start, deadline.end), (Some(start), Some(end)), "{text:?}");
        assert_eq!(deadline.text, text);
    }

    #[track_caller]
    fn assert_not_understood(text: &str, default_year: Option<i32>) {
        let deadline = parse(text, default_year);
        assert!(!deadline.understood, "{text:?} read as {deadline:?}");
        assert_eq!((deadline.start, deadline.end, deadline.recurrence), (None, None, None));
        assert_eq!(deadline.text, text);
    }

    /// One test per real-world form: `name: text, roadmap year => start, end;`
    macro_rules! reads {
        ($($name:ident: $text:expr, $year:expr => $start:expr, $end:expr;)*) => {
            $(
                #[test]
                fn $name() {
                    assert_reads($text, $year, $start, $end);
                }
            )*
        };
    }

    reads! {
        numeric_date: "22.01.2021", None => date!(2021-01-22), date!(2021-01-22);
        numeric_day_range: "27-28.01.2021", Some(2021) => date!(2021-01-27), date!(2021-01-28);
        numeric_range_odd_spacing: "10.03.2021- 02.04.2021", None => date!(2021-03-10), date!(2021-04-02);
        numeric_range_spaced: "01.09.2021 - 31.12.2021", None => date!(2021-09-01), date!(2021-12-31);
        numeric_date_short: "1.9.2021", None => date!(2021-09-01), date!(2021-09-01);
        numeric_date_two_digit_year: "22.01.21", None => date!(2021-01-22), date!(2021-01-22);
        numeric_date_with_g: "25.01.2021 г.", None => date!(2021-01-25), date!(2021-01-25);
        numeric_date_no_year: "15.03", Some(2022) => date!(2022-03-15), date!(2022-03-15);
        numeric_date_slashes: "15/03/2022", None => date!(2022-03-15), date!(2022-03-15);
        iso_date: "2022-03-15", None => date!(2022-03-15), date!(2022-03-15);
        day_month_year: "30 мая 2021 г.", None => date!(2021-05-30), date!(2021-05-30);
        day_range_words: "с 1 по 15 апреля 2022", None => date!(2022-04-01), date!(2022-04-15);
        day_range_dash: "1-15 апреля", Some(2022) => date!(2022-04-01), date!(2022-04-15);
        month_alone: "январь", Some(2022) => date!(2022-01-01), date!(2022-01-31);
        month_year: "декабрь 2021", None => date!(2021-12-01), date!(2021-12-31);
        month_year_capitalised: "Декабрь 2021", None => date!(2021-12-01), date!(2021-12-31);
        month_year_september: "Сентябрь 2022", None => date!(2022-09-01), date!(2022-09-30);
        month_year_god: "Июнь 2022 год", None => date!(2022-06-01), date!(2022-06-30);
        month_year_g: "январь 2022 г.", None => date!(2022-01-01), date!(2022-01-31);
        month_comma_year: "август, 2022", None => date!(2022-08-01), date!(2022-08-31);
        month_prepositional: "в январе 2022", None => date!(2022-01-01), date!(2022-01-31);
        month_genitive: "до января 2022", None => date!(2022-01-01), date!(2022-01-31);
        month_abbreviated: "сент. 2021", None => date!(2021-09-01), date!(2021-09-30);
        month_abbreviated_no_dot: "окт 2021", None => date!(2021-10-01), date!(2021-10-31);
        month_abbreviated_january: "янв. 2022", None => date!(2022-01-01), date!(2022-01-31);
        month_shouting: "ЯНВАРЬ 2022", None => date!(2022-01-01), date!(2022-01-31);
        leap_february: "февраль 2024", None => date!(2024-02-01), date!(2024-02-29);
        plain_february: "февраль 2023", None => date!(2023-02-01), date!(2023-02-28);
        month_range_odd_dash: "февраль -июнь", Some(2022) => date!(2022-02-01), date!(2022-06-30);
        month_range_year: "Март-май 2022", None => date!(2022-03-01), date!(2022-05-31);
        month_range_space_after_dash: "январь- февраль 2022", None => date!(2022-01-01), date!(2022-02-28);
        month_range_glued_year: "март- апрель2022", None => date!(2022-03-01), date!(2022-04-30);
        month_range_april_june: "апрель-июнь 2022", None => date!(2022-04-01), date!(2022-06-30);
        month_range_spaced_dash: "Февраль - март 2022", None => date!(2022-02-01), date!(2022-03-31);
        month_range_november: "ноябрь- декабрь 2022", None => date!(2022-11-01), date!(2022-12-31);
        month_range_g: "сентябрь-декабрь 2021 г.", None => date!(2021-09-01), date!(2021-12-31);
        month_list_semicolon: "Март; июль", Some(2021) => date!(2021-03-01), date!(2021-07-31);
        month_list_comma: "май, октябрь 2022", None => date!(2022-05-01), date!(2022-10-31);
        month_range_cross_year: "декабрь 2021 - январь 2022", None => date!(2021-12-01), date!(2022-01-31);
        month_range_wraps_forward: "ноябрь-февраль", Some(2022) => date!(2022-11-01), date!(2023-02-28);
        month_range_wraps_back: "ноябрь-февраль 2023", None => date!(2022-11-01), date!(2023-02-28);
        month_range_tail_follows: "декабрь 2021 - январь", Some(2021) => date!(2021-12-01), date!(2022-01-31);
        quarter_arabic: "1 квартал 2021 г.", None => date!(2021-01-01), date!(2021-03-31);
        quarter_roman: "III квартал 2022", None => date!(2022-07-01), date!(2022-09-30);
        quarter_abbreviated: "3 кв. 2022", None => date!(2022-07-01), date!(2022-09-30);
        quarter_roman_no_year: "IV квартал", Some(2021) => date!(2021-10-01), date!(2021-12-31);
        half_roman: "II полугодие 2022", None => date!(2022-07-01), date!(2022-12-31);
        half_roman_no_year: "I полугодие", Some(2022) => date!(2022-01-01), date!(2022-06-30);
        half_arabic: "1 полугодие 2021", None => date!(2021-01-01), date!(2021-06-30);
        half_arabic_no_year: "2 полугодие", Some(2022) => date!(2022-07-01), date!(2022-12-31);
        year_god: "2022 год", None => date!(2022-01-01), date!(2022-12-31);
        year_during: "в течение 2021 г.", None => date!(2021-01-01), date!(2021-12-31);
        year_during_year_after: "В течение года 2022", None => date!(2022-01-01), date!(2022-12-31);
        year_during_typo: "В течении 2022 года", None => date!(2022-01-01), date!(2022-12-31);
        year_during_yo: "в течЁние 2022 года", None => date!(2022-01-01), date!(2022-12-31);
        year_during_default: "в течение года", Some(2022) => date!(2022-01-01), date!(2022-12-31);
        whole_period: "весь период", Some(2022) => date!(2022-01-01), date!(2022-12-31);
        year_range: "2021-2022", None => date!(2021-01-01), date!(2022-12-31);
        school_year_dash: "2021-2022 учебный год", None => date!(2021-09-01), date!(2022-08-31);
        school_year_slash: "2022/2023 уч. год", None => date!(2022-09-01), date!(2023-08-31);
        school_year_words_first: "учебный год 2021-2022", None => date!(2021-09-01), date!(2022-08-31);
        school_year_implicit: "в течение учебного года", Some(2022) => date!(2022-01-01), date!(2022-12-31);
        school_year_qualifies_months: "сентябрь - май учебного года", Some(2022) => date!(2022-09-01), date!(2023-05-31);
        due_by_day: "до 15 марта", Some(2022) => date!(2022-01-01), date!(2022-03-15);
        due_by_day_year: "до 15 марта 2022", None => date!(2022-01-01), date!(2022-03-15);
        due_by_k: "к 1 сентября 2022", None => date!(2022-01-01), date!(2022-09-01);
        due_by_no_later: "не позднее 20.12.2021", None => date!(2021-01-01), date!(2021-12-20);
        due_by_po: "по 15 апреля 2022 включительно", None => date!(2022-01-01), date!(2022-04-15);
        from_open_ended: "с 15 марта 2022", Some(2022) => date!(2022-03-15), date!(2022-12-31);
        soft_hyphen_inside_word: "сен\u{AD}тябрь 2022", None => date!(2022-09-01), date!(2022-09-30);
        en_dash_and_nbsp: "27\u{2013}28.01.2021\u{A0}г.", None => date!(2021-01-27), date!(2021-01-28);
        latin_c_lookalike: "c 1 по 15 апреля 2022", None => date!(2022-04-01), date!(2022-04-15);
        split_month_rejoined: "янва рь 2022", None => date!(2022-01-01), date!(2022-01-31);
        decomposed_short_i: "ма\u{438}\u{306} 2022", None => date!(2022-05-01), date!(2022-05-31);
    }

    #[track_caller]
    fn assert_recurs(text: &str, default_year: Option<i32>, start: Date, end: Date, recurrence: Recurrence) {
        assert_reads(text, default_year, start, end);
        assert_eq!(parse(text, default_year).recurrence, Some(recurrence), "{text:?}");
    }

    #[test]
    fn recurrence_alone_covers_the_roadmap_year() {
        let (start, end) = (date!(2022 - 01 - 01), date!(2022 - 12 - 31));
        assert_recurs("ежемесячно", Some(2022), start, end, Recurrence::Monthly);
        assert_recurs("ежеквартально", Some(2022), start, end, Recurrence::Quarterly);
        assert_recurs("еженедельно", Some(2022), start, end, Recurrence::Weekly);
        assert_recurs("Ежегодно", Some(2022), start, end, Recurrence::Yearly);
        assert_recurs("постоянно", Some(2022), start, end, Recurrence::Continuous);
        assert_recurs("на постоянной основе", Some(2022), start, end, Recurrence::Continuous);
    }

    #[test]
    fn recurrence_with_dates_keeps_the_dates() {
        assert_recurs(
            "ежемесячно в течение 2021 года",
            Some(2022),
            date!(2021 - 01 - 01),
            date!(2021 - 12 - 31),
            Recurrence::Monthly,
        );
        assert_recurs(
            "ежемесячно в течение учебного года",
            Some(2022),
            date!(2022 - 01 - 01),
            date!(2022 - 12 - 31),
            Recurrence::Monthly,
        );
        assert_eq!(parse("декабрь 2021", Some(2021)).recurrence, None);
    }

    #[test]
    fn continuous_from_runs_to_the_end_of_the_roadmap_year() {
        let text = "на постоянной основе с сентября 2020";
        let continuous = Recurrence::Continuous;
        assert_recurs(text, Some(2022), date!(2020 - 09 - 01), date!(2022 - 12 - 31), continuous);
        assert_recurs(text, None, date!(2020 - 09 - 01), date!(2020 - 12 - 31), continuous);
        // A roadmap year before the start does not end the range before it begins.
        assert_recurs(text, Some(2019), date!(2020 - 09 - 01), date!(2020 - 12 - 31), continuous);
    }

    #[test]
    fn continuous_with_a_space_inside_a_word() {
        let text = "на постоянно й основе с сентября 2020";
        assert_recurs(text, Some(2022), date!(2020 - 09 - 01), date!(2022 - 12 - 31), Recurrence::Continuous);
    }

    #[test]
    fn every_month_in_every_case() {
        let forms = [
            ["январь", "января", "январе", "янв"],
            ["февраль", "февраля", "феврале", "февр"],
            ["март", "марта", "марте", "мар"],
            ["апрель", "апреля", "апреле", "апр"],
            ["май", "мая", "мае", "мая"],
            ["июнь", "июня", "июне", "июн"],
            ["июль", "июля", "июле", "июл"],
            ["август", "августа", "августе", "авг"],
            ["сентябрь", "сентября", "сентябре", "сент"],
            ["октябрь", "октября", "октябре", "окт"],
            ["ноябрь", "ноября", "ноябре", "нояб"],
            ["декабрь", "декабря", "декабре", "дек"],
        ];
        for (number, names) in (1u8..).zip(forms) {
            let month = Month::try_from(number).unwrap();
            let start = Date::from_calendar_date(2022, month, 1).unwrap();
            let end = Date::from_calendar_date(2022, month, month.length(2022)).unwrap();
            for name in names {
                assert_reads(&format!("{name} 2022"), None, start, end);
                assert_reads(&format!("в {}. 2022 г.", name.to_uppercase()), None, start, end);
            }
        }
    }

    #[test]
    fn empty_text_is_understood_and_has_no_dates() {
        for text in ["", "   ", "\t\n"] {
            let deadline = parse(text, Some(2022));
            assert!(deadline.understood && deadline.is_empty());
            assert_eq!((deadline.start, deadline.end, deadline.recurrence), (None, None, None));
            assert_eq!(deadline.text, text);
        }
        assert!(!parse("январь", Some(2022)).is_empty());
    }

    #[test]
    fn unreadable_text_is_kept_and_marked() {
        for text in ["по мере необходимости", "по согласованию", "ххх", "xxx", "до", "с", "г.", "???"]
        {
            assert_not_understood(text, Some(2022));
        }
    }

    #[test]
    fn impossible_dates_are_not_understood() {
        for text in [
            "31.02.2021",
            "29.02.2023",
            "13.13.2021",
            "0.01.2021",
            "32 мая 2022",
            "5 квартал 2022",
            "III полугодие",
        ] {
            assert_not_understood(text, Some(2022));
        }
        assert_not_understood("до 29 февраля", Some(2023));
        assert_reads("до 29 февраля", Some(2024), date!(2024 - 01 - 01), date!(2024 - 02 - 29));
    }

    #[test]
    fn a_missing_year_needs_the_roadmap_year() {
        for text in ["январь", "Март; июль", "IV квартал", "до 15 марта", "ежемесячно", "в течение года"]
        {
            assert_not_understood(text, None);
        }
        assert_reads("январь 2022", None, date!(2022 - 01 - 01), date!(2022 - 01 - 31));
    }

    #[test]
    fn extreme_roadmap_years_do_not_panic() {
        for year in [i32::MIN, -1, 0, 9999, 10_000, i32::MAX] {
            for text in ["январь", "ноябрь-февраль", "ежемесячно", "с сентября 2020", "до 15 марта"]
            {
                let deadline = parse(text, Some(year));
                if let (Some(start), Some(end)) = (deadline.start, deadline.end) {
                    assert!(start <= end, "{text:?} in {year}");
                }
            }
        }
    }

    #[test]
    fn due_by_is_the_end() {
        let deadline = parse("Март-май 2022", None);
        assert_eq!(deadline.due_by(), Some(date!(2022 - 05 - 31)));
        assert_eq!(parse("ххх", None).due_by(), None);
    }

    #[test]
    fn serializes_dates_as_iso_strings() {
        let deadline = parse("22.01.2021", None);
        let json = serde_json::to_string(&deadline).unwrap();
        assert!(json.contains(r#""start":"2021-01-22""#), "{json}");
        assert!(json.contains(r#""end":"2021-01-22""#), "{json}");
        assert_eq!(serde_json::from_str::<Deadline>(&json).unwrap(), deadline);

        let continuous = parse("постоянно", Some(2022));
        let json = serde_json::to_string(&continuous).unwrap();
        assert!(json.contains(r#""recurrence":"continuous""#), "{json}");
        assert_eq!(serde_json::from_str::<Deadline>(&json).unwrap(), continuous);

        let unread = parse("по согласованию", None);
        let json = serde_json::to_string(&unread).unwrap();
        assert!(json.contains(r#""start":null,"end":null"#), "{json}");
        assert_eq!(serde_json::from_str::<Deadline>(&json).unwrap(), unread);
    }

    /// A small linear congruential generator: deterministic, no `rand`.
    struct Lcg(u64);

    impl Lcg {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            self.0 >> 33
        }

        fn below(&mut self, bound: usize) -> usize {
            (self.next() % bound as u64) as usize
        }
    }

    #[test]
    fn never_panics_and_keeps_start_before_end() {
        const VOCABULARY: &[&str] = &[
            "январь",
            "мая",
            "декабре",
            "сент.",
            "в",
            "с",
            "по",
            "до",
            "к",
            "не",
            "позднее",
            "-",
            "–",
            ",",
            ";",
            ".",
            "/",
            " ",
            "",
            "0",
            "1",
            "15",
            "29",
            "31",
            "02",
            "12",
            "99",
            "2020",
            "2021",
            "2022",
            "1899",
            "2199",
            "99999999999999999",
            "22.01.2021",
            "27-28.01.2021",
            "29.02",
            "2021-2022",
            "квартал",
            "кв.",
            "полугодие",
            "II",
            "IV",
            "iii",
            "год",
            "г.",
            "учебный",
            "уч.",
            "ежемесячно",
            "постоянно",
            "постоянно й",
            "на",
            "основе",
            "весь",
            "период",
            "течение",
            "ххх",
            "ё",
            "и",
            "\u{AD}",
            "\u{306}",
            "\u{A0}",
        ];
        let years = [None, Some(2022), Some(2019), Some(0), Some(i32::MAX), Some(i32::MIN)];
        let mut rng = Lcg(0x5eed);
        for round in 0..3000 {
            let mut text = String::new();
            for _ in 0..1 + rng.below(7) {
                if rng.below(5) == 0 {
                    let code = rng.below(0x11_0000) as u32;
                    text.extend(char::from_u32(code));
                } else {
                    text.push_str(VOCABULARY[rng.below(VOCABULARY.len())]);
                }
                if rng.below(2) == 0 {
                    text.push(' ');
                }
            }
            let default_year = years[round % years.len()];
            let deadline = parse(&text, default_year);
            assert_eq!(deadline.text, text);
            match (deadline.understood, deadline.is_empty()) {
                (true, true) => assert_eq!((deadline.start, deadline.end), (None, None)),
                (true, false) => {
                    let (start, end) = (deadline.start.unwrap(), deadline.end.unwrap());
                    assert!(start <= end, "{text:?}: {deadline:?}");
                }
                (false, _) => {
                    assert_eq!((deadline.start, deadline.end, deadline.recurrence), (None, None, None))
                }
            }
        }
    }

    /// The year in a roadmap title («… (на 2022 год)»): its first four-digit number.
    fn year_in(title: &str) -> Option<i32> {
        let mut runs = title.split(|c: char| !c.is_ascii_digit());
        runs.find(|run| run.len() == 4)?.parse().ok()
    }

    #[test]
    fn every_fixture_deadline_is_understood() {
        // The .json of the rebuilt roadmaps, kept beside the import tests.
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
        let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("the fixtures at {dir}: {e}"));
        let (mut checked, mut files) = (0, 0);
        for entry in entries {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|ext| ext != "json") {
                continue;
            }
            files += 1;
            let fixture: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            let title = fixture["title"].as_str().unwrap();
            let year = year_in(title).unwrap_or_else(|| panic!("no year in {title:?}"));
            let columns: Vec<usize> = fixture["columns"]
                .as_array()
                .unwrap()
                .iter()
                .enumerate()
                .filter(|(_, name)| name.as_str().is_some_and(|n| n.contains("рок") || n.contains("Дата")))
                .map(|(i, _)| i)
                .collect();
            assert!(!columns.is_empty(), "no deadline column in {}", path.display());
            for item in fixture["items"].as_array().unwrap() {
                for &column in &columns {
                    let text = item["cells"][column].as_str().unwrap_or("");
                    let deadline = parse(text, Some(year));
                    assert!(deadline.understood, "{}: {text:?} not understood", path.display());
                    let (start, end) = (deadline.start.unwrap(), deadline.end.unwrap());
                    assert!(start <= end, "{text:?}: {deadline:?}");
                    checked += 1;
                }
            }
        }
        assert!(files >= 2 && checked > 0, "{checked} deadlines in {files} fixtures at {dir}");
        println!("{checked} fixture deadlines understood");
    }
}
