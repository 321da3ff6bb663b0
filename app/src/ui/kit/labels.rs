//! How several screens say the same thing about a school: its visit
//! warning and the unit above it.

use medk_shared::access::{Level, Unit};
use medk_shared::monitoring::VisitWarning;
use medk_shared::ru;

/// The warning as every screen says it (the school, the list of schools,
/// the monitoring dashboard).
pub fn warning_text(w: &VisitWarning) -> String {
    let schedule = ru::DAYS.count(i64::from(w.allowed_days));
    match w.days_since {
        Some(days) => format!("Школу не посещали {} (по графику — раз в {schedule})", ru::DAYS.count(days)),
        None => format!("Ещё не посещали (по графику — раз в {schedule})"),
    }
}

/// The name of the unit above `unit`, when the person sees it.
pub fn parent_name(units: &[Unit], unit: &str) -> Option<String> {
    let parent = units.iter().find(|u| u.id == unit)?.parent.as_deref()?;
    units.iter().find(|u| u.id == parent && u.level != Level::Federal).map(|u| u.name.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_visit_warning_reads_as_the_project_says_it() {
        let late = VisitWarning { last_visit: None, days_since: Some(9), allowed_days: 7 };
        assert_eq!(warning_text(&late), "Школу не посещали 9 дней (по графику — раз в 7 дней)");
        let never = VisitWarning { last_visit: None, days_since: None, allowed_days: 7 };
        assert_eq!(warning_text(&never), "Ещё не посещали (по графику — раз в 7 дней)");
    }
}
