//! How the app writes Russian: a number with its noun in the right plural
//! form, and dates as Russian documents write them. Every screen, report and
//! file says these the same way because they all come from here.

use time::Date;

/// A noun's three forms after a number: «1 школа», «3 школы», «5 школ».
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Noun {
    /// After 1, 21, 31… (not 11).
    pub one: &'static str,
    /// After 2–4, 22–24… (not 12–14).
    pub few: &'static str,
    /// After 0, 5–20, 25–30…
    pub many: &'static str,
}

impl Noun {
    pub const fn new(one: &'static str, few: &'static str, many: &'static str) -> Noun {
        Noun { one, few, many }
    }

    /// The form that follows `n`.
    pub fn after(&self, n: i64) -> &'static str {
        let n = n.unsigned_abs();
        match (n % 10, n % 100) {
            (_, 11..=14) => self.many,
            (1, _) => self.one,
            (2..=4, _) => self.few,
            _ => self.many,
        }
    }

    /// `n` and the noun: «3 школы».
    pub fn count(&self, n: i64) -> String {
        format!("{n} {}", self.after(n))
    }
}

/// Whether words agreeing with a count of `n` take the singular: after 1,
/// 21, 31… but not 11 («1 изменение сделано», «21 изменение сделано»,
/// «11 изменений сделаны»).
pub fn singular(n: i64) -> bool {
    let n = n.unsigned_abs();
    n % 10 == 1 && n % 100 != 11
}

pub const DAYS: Noun = Noun::new("день", "дня", "дней");
pub const SCHOOLS: Noun = Noun::new("школа", "школы", "школ");
pub const CHANGES: Noun = Noun::new("изменение", "изменения", "изменений");
/// «мероприятие» in the genitive, as after «из N»: «из 21 мероприятия».
pub const ACTIVITIES_GENITIVE: Noun = Noun::new("мероприятия", "мероприятий", "мероприятий");

/// A number with its thousands apart, as Russian writes them: «200 000»
/// (a no-break space, so it never splits across lines).
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('\u{a0}');
        }
        out.push(c);
    }
    out
}

/// `words` as a sentence: its first letter capital.
pub fn sentence(words: &str) -> String {
    let mut chars = words.chars();
    chars.next().map(|first| first.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

/// A date as Russian documents write it: «10.03.2021».
pub fn date(date: Date) -> String {
    format!("{:02}.{:02}.{}", date.day(), u8::from(date.month()), date.year())
}

/// A date and a time of day: «10.03.2021 09:05».
pub fn date_time(day: Date, hour: u8, minute: u8) -> String {
    format!("{} {hour:02}:{minute:02}", date(day))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::Month;

    #[test]
    fn a_sentence_starts_with_a_capital() {
        assert_eq!(sentence("дорожная карта удалена"), "Дорожная карта удалена");
        assert_eq!(sentence(""), "");
    }

    #[test]
    fn thousands_are_apart() {
        assert_eq!(thousands(7), "7");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(20_000), "20\u{a0}000");
        assert_eq!(thousands(2_000_000), "2\u{a0}000\u{a0}000");
    }

    #[test]
    fn words_agree_with_a_count_in_number() {
        let singular_at: Vec<i64> = (0..=121).filter(|n| singular(*n)).collect();
        assert_eq!(singular_at, [1, 21, 31, 41, 51, 61, 71, 81, 91, 101, 121]);
        assert!((0..=1000).all(|n| singular(n) == (CHANGES.after(n) == CHANGES.one)));
    }

    #[test]
    fn numbers_take_the_russian_plural() {
        let said: Vec<String> = [0, 1, 2, 4, 5, 11, 12, 14, 21, 22, 25, 101, 111, 112, -1, -3]
            .into_iter()
            .map(|n| DAYS.count(n))
            .collect();
        assert_eq!(
            said,
            [
                "0 дней",
                "1 день",
                "2 дня",
                "4 дня",
                "5 дней",
                "11 дней",
                "12 дней",
                "14 дней",
                "21 день",
                "22 дня",
                "25 дней",
                "101 день",
                "111 дней",
                "112 дней",
                "-1 день",
                "-3 дня"
            ]
        );
        assert_eq!(ACTIVITIES_GENITIVE.after(1), "мероприятия");
        assert_eq!(ACTIVITIES_GENITIVE.after(11), "мероприятий");
        assert_eq!(ACTIVITIES_GENITIVE.after(3), "мероприятий");
    }

    #[test]
    fn dates_read_as_in_russian_documents() {
        let day = Date::from_calendar_date(2021, Month::March, 1).unwrap();
        assert_eq!(date(day), "01.03.2021");
        assert_eq!(date_time(day, 9, 5), "01.03.2021 09:05");
    }
}
