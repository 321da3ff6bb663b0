//! A roadmap as it stood at a moment in the past: the one place that turns
//! Automerge change history into "the document on date X", for reports on a
//! date and for monitoring indicators.
//!
//! A change counts at a moment when its recorded time is at or before it and
//! every change it depends on counts too. The second rule matters when a
//! device's clock is behind: a change made after the moment on a device whose
//! clock said "before" still depends on what that device had seen, and it
//! cannot be shown without its dependencies, so it is left out. The past is
//! therefore always a state some replica really saw.
//!
//! Change times, as stored:
//! - Our clients record milliseconds since the Unix epoch; Automerge's
//!   JavaScript clients record seconds. A time below
//!   [`SECONDS_BELOW`] (a moment in 1973 read as milliseconds, the year 5138
//!   read as seconds) is taken as seconds.
//! - A time of 0 (or below) means "not recorded": such a change, e.g. the one
//!   that creates a roadmap or one written by a tool, counts at every moment.
//!   Excluding it instead would hide every change built on it, i.e. the
//!   whole roadmap.

use crate::doc::RoadmapDoc;
use crate::model::Roadmap;
use automerge::{AutoCommit, ChangeHash};
use std::collections::{BTreeSet, HashSet};
use time::{Date, Duration, OffsetDateTime, Time, UtcOffset};

/// Change times below this are seconds, at or above it milliseconds.
pub const SECONDS_BELOW: i64 = 100_000_000_000;

/// A change's recorded time in milliseconds, or `None` when not recorded.
pub fn change_time_ms(timestamp: i64) -> Option<i64> {
    match timestamp {
        ..=0 => None,
        t if t < SECONDS_BELOW => Some(t.saturating_mul(1000)),
        t => Some(t),
    }
}

/// The last millisecond of `date` in the time zone `offset`, as Unix
/// milliseconds: the `until_ms` for "as it stood at the end of that day".
pub fn end_of_day_ms(date: Date, offset: UtcOffset) -> i64 {
    let next_midnight = date.next_day().map(|d| d.with_time(Time::MIDNIGHT).assume_offset(offset));
    let end = match next_midnight {
        Some(midnight) => midnight - Duration::milliseconds(1),
        None => OffsetDateTime::new_in_offset(date, Time::MAX, offset),
    };
    (end.unix_timestamp_nanos() / 1_000_000) as i64
}

/// The heads of the part of `doc`'s history that counts at `until_ms` (see
/// the module doc), in one pass over the changes in causal order. Empty when
/// nothing counts yet.
pub fn heads_at(doc: &mut AutoCommit, until_ms: i64) -> Vec<ChangeHash> {
    let mut counted: HashSet<ChangeHash> = HashSet::new();
    let mut heads: BTreeSet<ChangeHash> = BTreeSet::new();
    for change in doc.get_changes_meta(&[]) {
        let in_time = change_time_ms(change.timestamp).is_none_or(|t| t <= until_ms);
        // Changes come in causal order, so a dependency not counted by now
        // never will be.
        if in_time && change.deps.iter().all(|dep| counted.contains(dep)) {
            for dep in &change.deps {
                heads.remove(dep);
            }
            heads.insert(change.hash);
            counted.insert(change.hash);
        }
    }
    heads.into_iter().collect()
}

/// The roadmap as it stood at `until_ms`, or `None` if it did not exist yet.
/// Takes `&mut` only because Automerge closes any open transaction before
/// reading history; nothing is changed.
pub fn roadmap_at(doc: &mut RoadmapDoc, until_ms: i64) -> Option<Roadmap> {
    let automerge = doc.automerge();
    let heads = heads_at(automerge, until_ms);
    if heads.is_empty() {
        return None;
    }
    if heads == automerge.get_heads() {
        return Some(doc.read());
    }
    let past = automerge.fork_at(&heads).expect("heads_at returns changes of this document");
    // Before the change that made it a roadmap, the document is not one.
    RoadmapDoc::from_automerge(past).ok().map(|past| past.read())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, offset};

    #[test]
    fn seconds_and_milliseconds() {
        assert_eq!(change_time_ms(0), None);
        assert_eq!(change_time_ms(-5), None);
        assert_eq!(change_time_ms(1_650_000_000), Some(1_650_000_000_000));
        assert_eq!(change_time_ms(1_650_000_000_000), Some(1_650_000_000_000));
    }

    #[test]
    fn end_of_day_in_a_time_zone() {
        // 2022-03-01 23:59:59.999 in Moscow (UTC+3) is 20:59:59.999 UTC.
        assert_eq!(end_of_day_ms(date!(2022 - 03 - 01), offset!(+3)), 1_646_168_399_999);
        assert_eq!(end_of_day_ms(date!(2022 - 03 - 01), offset!(UTC)), 1_646_179_199_999);
    }
}
