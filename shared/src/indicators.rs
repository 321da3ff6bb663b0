//! How far a roadmap is executed on a date: which activities were due by
//! then, which of those are done, which are overdue. Used by the execution
//! report and by dashboards; pair it with
//! [`crate::typed_doc::TypedDoc::read_until`] to judge a date in the past by
//! what the roadmap said then.
//!
//! The rules:
//! - An activity is due on a date when its deadline is understood and ends on
//!   or before that date ([`crate::deadline::parse`] with the roadmap year).
//!   A blank or not understood deadline is never due: nothing is guessed.
//! - Done means status «Выполнено» in the roadmap as given; the completion
//!   date is shown, not judged (a roadmap read on a past date already has the
//!   status it had then).
//! - Cancelled activities count for nothing: neither due, nor done, nor
//!   overdue.
//! - Overdue: due, not done, not cancelled.
//!
//! [`deadline_state`] is the same judgement for the editor, on today's date:
//! - Overdue once the last day of the deadline has passed (on that day itself
//!   the activity is still due soon, not overdue: the day is not over).
//! - Due soon: not done, not cancelled, and the deadline ends today or within
//!   the next [`DUE_SOON_DAYS`] days.
//! - Done late: done, and its completion date is after the deadline's last day
//!   (a done activity with no completion date is never called late).

use crate::deadline;
use crate::model::{Activity, Roadmap, Status};
use time::Date;

/// Where one activity stands on a date.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ActivityState {
    pub status: Status,
    /// The last day of the deadline, when the deadline text is understood.
    pub due_by: Option<Date>,
    /// Due on the date (see the module doc); false for cancelled activities.
    pub due: bool,
    pub done: bool,
    pub overdue: bool,
}

impl ActivityState {
    /// The status to show on the date, the words the screen shows (its
    /// status and its «Просрочено» badge): «Просрочено» for a planned
    /// activity past its deadline, «Не выполнено (просрочено)» or
    /// «Выполняется (просрочено)» for one marked so, else the status's own
    /// label.
    pub fn label_ru(&self) -> std::borrow::Cow<'static, str> {
        match self.status {
            Status::Planned if self.overdue => "Просрочено".into(),
            status if self.overdue => format!("{} (просрочено)", status.label_ru()).into(),
            status => status.label_ru().into(),
        }
    }
}

/// Where `activity` stands on `date`; `year` is the roadmap year, used for
/// deadlines that name none.
pub fn activity_state(activity: &Activity, year: Option<i32>, date: Date) -> ActivityState {
    state_on(activity.status, deadline::parse(&activity.deadline, year).due_by(), date)
}

/// Where an activity with `status` and a deadline ending `due_by` stands on `date`.
fn state_on(status: Status, due_by: Option<Date>, date: Date) -> ActivityState {
    let cancelled = status == Status::Cancelled;
    let due = !cancelled && due_by.is_some_and(|end| end <= date);
    let done = status == Status::Done;
    ActivityState { status, due_by, due, done, overdue: due && !done }
}

/// The day an activity was done, when its `completed_on` holds an ISO date.
pub fn completed_on(activity: &Activity) -> Option<Date> {
    deadline::parse_iso(&activity.completed_on)
}

/// How many days ahead an open activity counts as due soon.
pub const DUE_SOON_DAYS: i64 = 14;

/// Where an activity stands against its deadline today, for the editor's
/// badges and filters (see the module doc).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeadlineState {
    /// Nothing to flag: no understood deadline, or the deadline is further
    /// than [`DUE_SOON_DAYS`] away.
    Open,
    /// Not done, and the deadline ends in `days_left` days (0: today).
    DueSoon {
        days_left: i64,
    },
    /// Not done, and the deadline's last day has passed.
    Overdue,
    /// Done on or before the deadline (or with no date to judge by).
    Done,
    /// Done after the deadline's last day.
    DoneLate,
    Cancelled,
}

impl DeadlineState {
    /// A stable key, for CSS classes and tests.
    pub fn key(self) -> &'static str {
        match self {
            DeadlineState::Open => "open",
            DeadlineState::DueSoon { .. } => "due-soon",
            DeadlineState::Overdue => "overdue",
            DeadlineState::Done => "done",
            DeadlineState::DoneLate => "done-late",
            DeadlineState::Cancelled => "cancelled",
        }
    }

    /// The badge text, for the states worth a badge.
    pub fn badge_ru(self) -> Option<String> {
        match self {
            DeadlineState::DueSoon { days_left: 0 } => Some("Срок сегодня".into()),
            DeadlineState::DueSoon { days_left: 1 } => Some("Срок завтра".into()),
            DeadlineState::DueSoon { days_left } => Some(format!("Срок через {} дн.", days_left)),
            DeadlineState::Overdue => Some("Просрочено".into()),
            DeadlineState::DoneLate => Some("Выполнено с опозданием".into()),
            DeadlineState::Open | DeadlineState::Done | DeadlineState::Cancelled => None,
        }
    }
}

/// Where `activity` stands against its deadline on `today`; `year` is the
/// roadmap year.
pub fn deadline_state(activity: &Activity, year: Option<i32>, today: Date) -> DeadlineState {
    // Overdue today means due by the end of yesterday.
    let yesterday = today.previous_day().unwrap_or(today);
    let state = activity_state(activity, year, yesterday);
    match state.status {
        Status::Cancelled => DeadlineState::Cancelled,
        Status::Done => match (completed_on(activity), state.due_by) {
            (Some(done), Some(end)) if done > end => DeadlineState::DoneLate,
            _ => DeadlineState::Done,
        },
        _ if state.overdue => DeadlineState::Overdue,
        _ => match state.due_by {
            Some(end) if (end - today).whole_days() <= DUE_SOON_DAYS => {
                DeadlineState::DueSoon { days_left: (end - today).whole_days() }
            }
            _ => DeadlineState::Open,
        },
    }
}

/// Execution counts of a whole roadmap on a date.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Execution {
    /// Activities that are not cancelled.
    pub active: usize,
    pub cancelled: usize,
    /// Active activities whose deadline ended on or before the date.
    pub due: usize,
    /// Of those, the done ones.
    pub done_of_due: usize,
    /// Done activities, due or not (early completions count here).
    pub done: usize,
    /// Due and not done.
    pub overdue: usize,
    /// Active activities with a blank or not understood deadline.
    pub without_deadline: usize,
}

impl Execution {
    /// Done share of the due activities in whole percent, rounded down (so
    /// 100 % means all of them); `None` when nothing was due.
    pub fn percent_done_of_due(&self) -> Option<usize> {
        (self.due > 0).then(|| self.done_of_due * 100 / self.due)
    }

    fn count(&mut self, state: &ActivityState) {
        if state.status == Status::Cancelled {
            self.cancelled += 1;
            return;
        }
        self.active += 1;
        self.due += usize::from(state.due);
        self.done += usize::from(state.done);
        self.done_of_due += usize::from(state.due && state.done);
        self.overdue += usize::from(state.overdue);
        self.without_deadline += usize::from(state.due_by.is_none());
    }
}

/// Execution of `roadmap` on `date`, over all its activities.
pub fn execution(roadmap: &Roadmap, date: Date) -> Execution {
    Progress::of(roadmap).execution(date)
}

/// All that a roadmap's execution on any date depends on: each shown
/// activity's status and the last day of its deadline. Monitoring reads
/// just this from a document ([`crate::doc::RoadmapDoc::progress`], also at
/// past heads), not the whole roadmap with its texts.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Progress {
    /// In display order.
    pub activities: Vec<(Status, Option<Date>)>,
}

impl Progress {
    pub fn of(roadmap: &Roadmap) -> Self {
        let year = roadmap.header.year;
        let activities = roadmap.sections.iter().flat_map(|s| &s.activities);
        Progress {
            activities: activities.map(|a| (a.status, deadline::parse(&a.deadline, year).due_by())).collect(),
        }
    }

    /// Execution on `date` (see the module doc).
    pub fn execution(&self, date: Date) -> Execution {
        let mut execution = Execution::default();
        for &(status, due_by) in &self.activities {
            execution.count(&state_on(status, due_by, date));
        }
        execution
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::Level;
    use crate::doc::blank_activity;
    use crate::ids::RowId;
    use crate::model::{Header, Section};
    use time::macros::date;

    fn activity(deadline: &str, status: Status) -> Activity {
        let mut a = blank_activity(RowId::new(format!("{deadline}-{status:?}")));
        a.deadline = deadline.to_owned();
        a.status = status;
        a
    }

    fn roadmap(activities: Vec<Activity>) -> Roadmap {
        Roadmap {
            header: Header {
                title: String::new(),
                level: Level::School,
                territory: String::new(),
                year: Some(2022),
                approval: String::new(),
                abbreviations: String::new(),
                footnotes: String::new(),
                adopted_on: String::new(),
            },
            columns: Vec::new(),
            sections: vec![Section { id: RowId::new("s"), title: String::new(), activities }],
            working_group: Vec::new(),
        }
    }

    const DAY: Date = date!(2022 - 03 - 31);

    #[test]
    fn due_means_the_deadline_ended_by_the_date() {
        assert!(activity_state(&activity("март", Status::Planned), Some(2022), DAY).due);
        assert!(activity_state(&activity("до 31.03.2022", Status::Planned), None, DAY).due);
        assert!(!activity_state(&activity("март-апрель", Status::Planned), Some(2022), DAY).due);
        // March without a year and no roadmap year: not understood, never due.
        assert!(!activity_state(&activity("март", Status::Planned), None, DAY).due);
        assert!(!activity_state(&activity("", Status::Planned), Some(2022), DAY).due);
    }

    #[test]
    fn overdue_is_due_and_not_done() {
        let planned = activity_state(&activity("февраль", Status::Planned), Some(2022), DAY);
        assert!(planned.overdue);
        assert_eq!(planned.label_ru(), "Просрочено");
        let going = activity_state(&activity("февраль", Status::InProgress), Some(2022), DAY);
        assert!(going.overdue);
        assert_eq!(going.label_ru(), "Выполняется (просрочено)");
        let not_done = activity_state(&activity("февраль", Status::NotDone), Some(2022), DAY);
        assert_eq!(
            not_done.label_ru(),
            "Не выполнено (просрочено)",
            "a final «not done» is not an untouched row"
        );
        let done = activity_state(&activity("февраль", Status::Done), Some(2022), DAY);
        assert!(!done.overdue && done.done);
        assert_eq!(done.label_ru(), "Выполнено");
        let cancelled = activity_state(&activity("февраль", Status::Cancelled), Some(2022), DAY);
        assert!(!cancelled.due && !cancelled.overdue);
        assert_eq!(cancelled.label_ru(), "Отменено");
    }

    #[test]
    fn execution_counts() {
        let roadmap = roadmap(vec![
            activity("январь", Status::Done),
            activity("февраль", Status::NotDone),
            activity("март", Status::Planned),
            activity("май", Status::Done),
            activity("январь", Status::Cancelled),
            activity("когда-нибудь", Status::Planned),
        ]);
        let execution = execution(&roadmap, DAY);
        assert_eq!(
            execution,
            Execution {
                active: 5,
                cancelled: 1,
                due: 3,
                done_of_due: 1,
                done: 2,
                overdue: 2,
                without_deadline: 1,
            }
        );
        assert_eq!(execution.percent_done_of_due(), Some(33));
        assert_eq!(Execution::default().percent_done_of_due(), None);
    }

    #[test]
    fn deadline_state_against_today() {
        let today = date!(2022 - 03 - 20);
        let state = |deadline: &str, status: Status, done_on: &str| {
            let mut a = activity(deadline, status);
            a.completed_on = done_on.into();
            deadline_state(&a, Some(2022), today)
        };
        // Ended yesterday: overdue; ends today: due soon, 0 days left.
        assert_eq!(state("до 19.03.2022", Status::Planned, ""), DeadlineState::Overdue);
        assert_eq!(state("до 20.03.2022", Status::InProgress, ""), DeadlineState::DueSoon { days_left: 0 });
        assert_eq!(state("март", Status::Planned, ""), DeadlineState::DueSoon { days_left: 11 });
        assert_eq!(state("до 03.04.2022", Status::Planned, ""), DeadlineState::DueSoon { days_left: 14 });
        assert_eq!(state("до 04.04.2022", Status::Planned, ""), DeadlineState::Open);
        assert_eq!(state("", Status::Planned, ""), DeadlineState::Open);
        assert_eq!(state("когда-нибудь", Status::NotDone, ""), DeadlineState::Open);
        assert_eq!(state("февраль", Status::Cancelled, ""), DeadlineState::Cancelled);
        // Done: late only when the completion date is after the deadline.
        assert_eq!(state("февраль", Status::Done, "2022-03-01"), DeadlineState::DoneLate);
        assert_eq!(state("февраль", Status::Done, "2022-02-28"), DeadlineState::Done);
        assert_eq!(state("февраль", Status::Done, ""), DeadlineState::Done);
        assert_eq!(state("март", Status::Done, "2022-03-20"), DeadlineState::Done);
    }

    #[test]
    fn deadline_badges() {
        assert_eq!(DeadlineState::Overdue.badge_ru().as_deref(), Some("Просрочено"));
        assert_eq!(DeadlineState::DoneLate.badge_ru().as_deref(), Some("Выполнено с опозданием"));
        assert_eq!(DeadlineState::DueSoon { days_left: 0 }.badge_ru().as_deref(), Some("Срок сегодня"));
        assert_eq!(DeadlineState::DueSoon { days_left: 5 }.badge_ru().as_deref(), Some("Срок через 5 дн."));
        assert_eq!(DeadlineState::Open.badge_ru(), None);
        assert_eq!(DeadlineState::Done.badge_ru(), None);
    }

    #[test]
    fn completion_date() {
        let mut a = activity("", Status::Done);
        a.completed_on = "2022-03-05".into();
        assert_eq!(completed_on(&a), Some(date!(2022 - 03 - 05)));
        a.completed_on = String::new();
        assert_eq!(completed_on(&a), None);
    }
}
