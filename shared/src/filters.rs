//! The roadmap editor's filters over activities: «Мои», «Просроченные»,
//! «В этом месяце» and «По ответственному». They combine with AND; the app
//! passes today's date and the signed-in person's name, so everything here is
//! pure.
//!
//! How each one reads an activity:
//! - «Мои»: the responsible field names the person by surname (see
//!   [`mentions_person`]).
//! - «Просроченные»: [`crate::indicators::deadline_state`] says overdue.
//! - «В этом месяце»: the understood deadline range shares at least a day with
//!   the current calendar month; a blank or not understood deadline never does.
//! - «По ответственному»: the responsible field is one of
//!   [`responsible_values`], compared without case and extra spaces.

use crate::deadline;
use crate::indicators::{DeadlineState, deadline_state};
use crate::model::Activity;
use time::Date;

/// The filters in force; the default shows everything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filter {
    /// «Мои»: the full name of the person whose activities to show.
    pub mine: Option<String>,
    /// «Просроченные».
    pub overdue: bool,
    /// «В этом месяце».
    pub this_month: bool,
    /// «По ответственному»: one of [`responsible_values`].
    pub responsible: Option<String>,
}

impl Filter {
    /// No filter is on.
    pub fn is_empty(&self) -> bool {
        *self == Filter::default()
    }

    /// Whether `activity` passes every filter that is on; `year` is the
    /// roadmap year, `today` the date to judge deadlines by.
    pub fn matches(&self, activity: &Activity, year: Option<i32>, today: Date) -> bool {
        if let Some(name) = &self.mine
            && !mentions_person(&activity.responsible, name)
        {
            return false;
        }
        if self.overdue && deadline_state(activity, year, today) != DeadlineState::Overdue {
            return false;
        }
        if self.this_month {
            let d = deadline::parse(&activity.deadline, year);
            match (d.start, d.end) {
                (Some(start), Some(end)) if intersects_month(start, end, today) => {}
                _ => return false,
            }
        }
        if let Some(who) = &self.responsible
            && normalize(&activity.responsible) != normalize(who)
        {
            return false;
        }
        true
    }
}

/// The surname in a full name as Russian documents write it, surname first
/// («Иванова Мария Петровна» → «Иванова»); `None` for a blank name.
pub fn surname(full_name: &str) -> Option<&str> {
    full_name.split_whitespace().next()
}

/// Whether a responsible field («Иванова М.П., зам. директора; Петров А.А.»)
/// names the person with `full_name`.
///
/// Responsible fields name people by surname and initials, with or without a
/// position, in any order, so only the surname is compared: as a whole word
/// (hyphenated surnames are one word), ignoring case and «ё»/«е». A whole
/// word, so «Иванов» does not match «Иванова»; a namesake with the same
/// surname does match, which the person sees at once in the list. A name
/// with no words matches nothing.
pub fn mentions_person(responsible: &str, full_name: &str) -> bool {
    let Some(surname) = surname(full_name) else {
        return false;
    };
    let surname = normalize(surname);
    words(responsible).any(|w| normalize(w) == surname)
}

/// The words of a text: runs of letters, digits and hyphens.
fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '-')).filter(|w| !w.trim_matches('-').is_empty())
}

/// Lowercase, «ё» as «е», single spaces: how the filters compare names.
fn normalize(text: &str) -> String {
    text.split_whitespace()
        .flat_map(|w| std::iter::once(' ').chain(w.chars()))
        .skip(1)
        .flat_map(char::to_lowercase)
        .map(|c| if c == 'ё' { 'е' } else { c })
        .collect()
}

/// The first and last day of the month `date` is in.
pub fn month_bounds(date: Date) -> (Date, Date) {
    let first = date.replace_day(1).expect("every month has a first day");
    let last = date.replace_day(date.month().length(date.year())).expect("a month's length is a valid day");
    (first, last)
}

/// Whether the inclusive range `start..=end` shares a day with the month of
/// `today`.
pub fn intersects_month(start: Date, end: Date, today: Date) -> bool {
    let (first, last) = month_bounds(today);
    start <= last && end >= first
}

/// The distinct values of the activities' responsible fields, as first
/// written, in alphabetical order (case and extra spaces ignored); blank ones
/// left out.
pub fn responsible_values<'a>(responsible: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut seen: Vec<(String, String)> = Vec::new();
    for value in responsible {
        let text = value.split_whitespace().collect::<Vec<_>>().join(" ");
        if text.is_empty() {
            continue;
        }
        let key = normalize(&text);
        if let Err(at) = seen.binary_search_by(|(k, _)| k.cmp(&key)) {
            seen.insert(at, (key, text));
        }
    }
    seen.into_iter().map(|(_, text)| text).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doc::blank_activity;
    use crate::ids::RowId;
    use crate::model::Status;
    use time::macros::date;

    const TODAY: Date = date!(2022 - 03 - 20);

    fn activity(deadline: &str, responsible: &str, status: Status) -> Activity {
        let mut a = blank_activity(RowId::new(format!("{deadline}/{responsible}")));
        a.deadline = deadline.into();
        a.responsible = responsible.into();
        a.status = status;
        a
    }

    #[test]
    fn surname_is_the_first_word() {
        assert_eq!(surname("Иванова Мария Петровна"), Some("Иванова"));
        assert_eq!(surname("  Петров "), Some("Петров"));
        assert_eq!(surname("   "), None);
    }

    #[test]
    fn a_person_is_found_by_surname() {
        let me = "Иванова Мария Петровна";
        assert!(mentions_person("Иванова М.П., заместитель директора", me));
        assert!(mentions_person("директор; М.П. ИВАНОВА", me));
        assert!(mentions_person("иванова", me));
        assert!(!mentions_person("Иванов А.А.", me));
        assert!(!mentions_person("Ивановская СОШ", me));
        assert!(!mentions_person("", me));
        assert!(!mentions_person("Иванова М.П.", ""));
        // «ё» and «е» are one letter here; hyphenated surnames are one word.
        assert!(mentions_person("Семёнова О.В.", "Семенова Ольга"));
        assert!(mentions_person("Петрова-Водкина А.", "Петрова-Водкина Анна"));
        assert!(!mentions_person("Петрова-Водкина А.", "Петрова Анна"));
    }

    #[test]
    fn month_intersection() {
        assert_eq!(month_bounds(date!(2024 - 02 - 10)), (date!(2024 - 02 - 01), date!(2024 - 02 - 29)));
        assert!(intersects_month(date!(2022 - 03 - 01), date!(2022 - 03 - 31), TODAY));
        assert!(intersects_month(date!(2022 - 01 - 01), date!(2022 - 03 - 01), TODAY));
        assert!(intersects_month(date!(2022 - 03 - 31), date!(2022 - 06 - 30), TODAY));
        assert!(intersects_month(date!(2021 - 09 - 01), date!(2022 - 08 - 31), TODAY));
        assert!(!intersects_month(date!(2022 - 01 - 01), date!(2022 - 02 - 28), TODAY));
        assert!(!intersects_month(date!(2022 - 04 - 01), date!(2022 - 04 - 30), TODAY));
    }

    #[test]
    fn each_filter_and_their_combination() {
        let all = [
            activity("февраль", "Иванова М.П.", Status::Planned),
            activity("март", "Иванова М.П.", Status::Planned),
            activity("март", "Петров А.А.", Status::Done),
            activity("январь", "Петров А.А.", Status::InProgress),
            activity("май", "иванова  м.п.", Status::Planned),
            activity("", "", Status::Planned),
        ];
        let shown = |filter: &Filter| -> Vec<usize> {
            (0..all.len()).filter(|&i| filter.matches(&all[i], Some(2022), TODAY)).collect()
        };
        assert!(Filter::default().is_empty());
        assert_eq!(shown(&Filter::default()), vec![0, 1, 2, 3, 4, 5]);
        let mine =
            Filter { mine: Some("Иванова Мария Петровна".into()), ..Filter::default() };
        assert!(!mine.is_empty());
        assert_eq!(shown(&mine), vec![0, 1, 4]);
        assert_eq!(shown(&Filter { overdue: true, ..Filter::default() }), vec![0, 3]);
        assert_eq!(shown(&Filter { this_month: true, ..Filter::default() }), vec![1, 2]);
        let petrov = Filter { responsible: Some("ПЕТРОВ А.А.".into()), ..Filter::default() };
        assert_eq!(shown(&petrov), vec![2, 3]);
        // AND: mine and overdue; mine and this month; Petrov and overdue.
        assert_eq!(shown(&Filter { overdue: true, ..mine.clone() }), vec![0]);
        assert_eq!(shown(&Filter { this_month: true, ..mine }), vec![1]);
        assert_eq!(shown(&Filter { overdue: true, ..petrov }), vec![3]);
    }

    #[test]
    fn distinct_responsible_values() {
        let all = [
            activity("", "Петров А.А.", Status::Planned),
            activity("", "Иванова  М.П.", Status::Planned),
            activity("", "  ", Status::Planned),
            activity("", "иванова м.п.", Status::Planned),
            activity("", "Петров А.А.", Status::Planned),
        ];
        assert_eq!(
            responsible_values(all.iter().map(|a| a.responsible.as_str())),
            vec!["Иванова М.П.".to_owned(), "Петров А.А.".to_owned()]
        );
    }
}
