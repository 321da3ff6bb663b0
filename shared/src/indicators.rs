//! How far a roadmap is executed on a date: which activities were due by
//! then, which of those are done, which are overdue. Used by the execution
//! report and by dashboards; pair it with [`crate::history::roadmap_at`] to
//! judge a date in the past by what the roadmap said then.
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
    /// The status to show on the date: «Просрочено» when overdue, else the
    /// status's own label.
    pub fn label_ru(&self) -> &'static str {
        if self.overdue { "Просрочено" } else { self.status.label_ru() }
    }
}

/// Where `activity` stands on `date`; `year` is the roadmap year, used for
/// deadlines that name none.
pub fn activity_state(activity: &Activity, year: Option<i32>, date: Date) -> ActivityState {
    let due_by = deadline::parse(&activity.deadline, year).due_by();
    let cancelled = activity.status == Status::Cancelled;
    let due = !cancelled && due_by.is_some_and(|end| end <= date);
    let done = activity.status == Status::Done;
    ActivityState { status: activity.status, due_by, due, done, overdue: due && !done }
}

/// The day an activity was done, when its `completed_on` holds an ISO date.
pub fn completed_on(activity: &Activity) -> Option<Date> {
    deadline::parse_iso(&activity.completed_on)
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
    let year = roadmap.header.year;
    let mut execution = Execution::default();
    for activity in roadmap.sections.iter().flat_map(|s| &s.activities) {
        execution.count(&activity_state(activity, year, date));
    }
    execution
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doc::blank_activity;
    use crate::ids::RowId;
    use crate::model::{Header, Level, Section};
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
        let planned = activity_state(&activity("февраль", Status::InProgress), Some(2022), DAY);
        assert!(planned.overdue);
        assert_eq!(planned.label_ru(), "Просрочено");
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
    fn completion_date() {
        let mut a = activity("", Status::Done);
        a.completed_on = "2022-03-05".into();
        assert_eq!(completed_on(&a), Some(date!(2022 - 03 - 05)));
        a.completed_on = String::new();
        assert_eq!(completed_on(&a), None);
    }
}
