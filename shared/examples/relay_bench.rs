//! `cargo xtask bench relay`: what one sync message costs the relay's own
//! task, against what applying it costs, in an optimized build. The relay
//! applies messages up to `INLINE_OPS` on its task and hands bigger ones
//! out as jobs (up to `MAX_OPS_PER_MESSAGE`); this prints, for the kinds of
//! message that cost the most per operation, how long each part takes on a
//! 1,000-activity roadmap (the app benchmark's size):
//! - inline: the whole message on the relay's task;
//! - a job: the relay's task before (counting, handing out) and after
//!   (taking the result, the write the job encoded, the answer), and the
//!   job itself on another thread.
//!
//! The figures the limits were picked from; nothing is asserted.

use std::time::{Duration, Instant};

use automerge::sync::{self, MessageVersion};
use automerge::transaction::Transactable as _;
use automerge::{AutoCommit, ObjType, ROOT, ReadDoc as _};
use medk_shared::access::Level;
use medk_shared::doc::{Edit, NewRoadmap, NewRow, RoadmapDoc, blank_activity};
use medk_shared::ids::{DocumentId, RowId};
use medk_shared::model::ActivityField;
use medk_shared::sync::chunks::{CHANGE_COST, count_all};
use medk_shared::sync::message::{Message, PeerMetadata};
use medk_shared::sync::relay::{
    Access, Effect, INLINE_OPS, Limits, Loaded, MAX_OPS_PER_MESSAGE, Refusal, Relay, Vetter,
};

/// Vets roadmaps as the server does.
struct Roadmaps;

impl Access for Roadmaps {
    fn right(&mut self, _: &str, _: &DocumentId) -> medk_shared::access::Right {
        medk_shared::access::Right::Write
    }

    fn vetter(&mut self, _: &str, doc: &DocumentId, _: bool) -> Option<Vetter> {
        let doc = *doc;
        Some(Box::new(move |before, after, changes| {
            medk_shared::layout::vet_roadmap(&doc, None, before, after, changes).map_err(Refusal::from)
        }))
    }
}

fn roadmap(activities: usize) -> AutoCommit {
    roadmap_of(activities, 200)
}

/// A roadmap of `activities` activities whose descriptions are `chars` long.
fn roadmap_of(activities: usize, chars: usize) -> AutoCommit {
    let section = RowId::new("s0");
    let mut doc = RoadmapDoc::create(
        &NewRoadmap {
            title: "Бенчмарк".into(),
            level: Level::Region,
            territory: String::new(),
            year: Some(2026),
            columns: Level::Region.default_columns(),
        },
        section.clone(),
    );
    let text: String = "Проведение методического семинара для педагогов. "
        .repeat(chars / 40 + 1)
        .chars()
        .take(chars)
        .collect();
    let edits: Vec<Edit> = (0..activities)
        .map(|i| {
            let mut activity = blank_activity(RowId::new(format!("a{i:05}")));
            *activity.text_mut(ActivityField::Description) = text.clone();
            Edit::Create(Box::new(NewRow::Activity {
                section: section.clone(),
                pos: format!("80{i:05}"),
                activity,
            }))
        })
        .collect();
    for chunk in edits.chunks(20) {
        doc.apply(chunk.to_vec(), 0, "add").unwrap();
    }
    doc.automerge().clone()
}

fn description(doc: &AutoCommit, n: usize) -> automerge::ObjId {
    let activities = doc.get(ROOT, "activities").unwrap().unwrap().1;
    let row = doc.get(&activities, format!("a{n:05}")).unwrap().unwrap().1;
    doc.get(&row, "description").unwrap().unwrap().1
}

/// Adds to a roadmap what costs the relay at most this much.
type Make = fn(&mut AutoCommit, u64);

/// The kinds of message that cost the relay the most per operation, each
/// made to cost at most `n` as the relay counts (`Size::cost`).
fn kinds() -> Vec<(&'static str, Make)> {
    vec![
        ("characters typed into one text, one change", |doc, n| {
            let text = description(doc, 0);
            doc.splice_text(&text, 10, 0, &"я".repeat((n - CHANGE_COST) as usize)).unwrap();
            doc.commit();
        }),
        ("characters deleted across texts, one change", |doc, n| {
            let mut left = (n - CHANGE_COST) as usize;
            let mut i = 0;
            while left > 0 && i < 1_000 {
                let text = description(doc, i);
                let k = left.min(190);
                doc.splice_text(&text, 0, k as isize, "").unwrap();
                left -= k;
                i += 1;
            }
            doc.commit();
        }),
        ("one character per change", |doc, n| {
            let text = description(doc, 1);
            for i in 0..n / (1 + CHANGE_COST) {
                doc.splice_text(&text, 10 + i as usize, 0, "ы").unwrap();
                doc.commit();
            }
        }),
        ("rows with text, one change", |doc, n| {
            let activities = doc.get(ROOT, "activities").unwrap().unwrap().1;
            for i in 0..((n - CHANGE_COST) / 608).max(1) {
                let row = doc.put_object(&activities, format!("z{i:06}"), ObjType::Map).unwrap();
                doc.put(&row, "section", "s0").unwrap();
                doc.put(&row, "pos", "90").unwrap();
                doc.put(&row, "deleted", false).unwrap();
                doc.put(&row, "status", "planned").unwrap();
                let text = doc.put_object(&row, "description", ObjType::Text).unwrap();
                doc.splice_text(&text, 0, 0, &"ж".repeat(600)).unwrap();
            }
            doc.commit();
        }),
    ]
}

/// Times for one message.
struct Times {
    cost: u64,
    /// On the relay's task: everything when inline; before and after the
    /// job otherwise.
    hub: Duration,
    job: Option<Duration>,
}

fn measure(base: &AutoCommit, make: Make, cost: u64) -> Times {
    let id = DocumentId::from_bytes([1; 16]);
    let limits = Limits { ops_per_second: u64::MAX / 2, ops_per_message: u64::MAX / 2, ..Limits::default() };
    let mut relay = Relay::new("relay".into(), None, Box::new(Roadmaps)).with_limits(limits);
    relay.connect(1, "bench");
    let join = Message::Join {
        sender_id: "p".into(),
        metadata: PeerMetadata::default(),
        supported_protocol_versions: vec!["1".into()],
    };
    relay.receive(1, &join.encode());
    let frame = |message: sync::Message| {
        Message::Sync {
            sender_id: "p".into(),
            target_id: "relay".into(),
            document_id: id,
            data: message.encode(),
        }
        .encode()
    };
    let message = |heads, changes: Vec<Vec<u8>>| sync::Message {
        heads,
        need: vec![],
        have: vec![],
        changes: changes.into(),
        flags: None,
        version: MessageVersion::V1,
    };
    // The relay has the roadmap (stored, written).
    let mut base = base.clone();
    relay.receive(1, &frame(message(base.get_heads(), vec![base.save()])));
    run(&mut relay, true);
    let before = base.get_heads();
    make(&mut base, cost);
    let changes: Vec<Vec<u8>> = base.get_changes(&before).iter().map(|c| c.raw_bytes().to_vec()).collect();
    let cost = count_all(changes.iter().map(Vec::as_slice), &mut usize::MAX.clone()).unwrap().cost();
    let sent = frame(message(base.get_heads(), changes));
    relay.advance(1_000_000);
    let started = Instant::now();
    relay.receive(1, &sent);
    let mut job = None;
    let mut write = None;
    while let Some(effect) = relay.poll() {
        match effect {
            Effect::Apply { doc, job: j } => job = Some((doc, j)),
            Effect::Write { doc, batch, .. } => write = Some((doc, batch)),
            _ => {}
        }
    }
    let mut hub = started.elapsed();
    let mut job_time = None;
    if let Some((doc, job)) = job {
        let started = Instant::now();
        let applied = job.run();
        job_time = Some(started.elapsed());
        let started = Instant::now();
        relay.applied(doc, applied);
        while let Some(effect) = relay.poll() {
            if let Effect::Write { doc, batch, .. } = effect {
                write = Some((doc, batch));
            }
        }
        hub += started.elapsed();
    }
    let started = Instant::now();
    if let Some((doc, batch)) = write {
        relay.written(doc, batch, Ok(()));
    }
    while relay.poll().is_some() {}
    hub += started.elapsed();
    Times { cost, hub, job: job_time }
}

/// Carries out storage and jobs at once until nothing is left.
fn run(relay: &mut Relay, all: bool) {
    loop {
        let effects: Vec<Effect> = std::iter::from_fn(|| relay.poll()).collect();
        if effects.is_empty() {
            return;
        }
        for effect in effects {
            match effect {
                Effect::Load { doc } => relay.loaded(doc, Ok(Loaded::parse(Vec::new()))),
                Effect::Write { doc, batch, .. } => relay.written(doc, batch, Ok(())),
                Effect::Apply { doc, job } if all => relay.applied(doc, job.run()),
                _ => {}
            }
        }
    }
}

/// One character typed, one change: what the relay's task spends on it
/// (median of `n`), on a roadmap of `activities` activities of `chars`.
fn one_character(activities: usize, chars: usize, n: usize) -> (u64, Duration) {
    let mut base = roadmap_of(activities, chars);
    let ops = base.document().stats().num_ops as u64;
    let mut times: Vec<Duration> = (0..n)
        .map(|_| {
            measure(
                &base,
                |doc, _| {
                    let text = description(doc, 0);
                    doc.splice_text(&text, 5, 0, "ы").unwrap();
                    doc.commit();
                },
                1 + CHANGE_COST,
            )
            .hub
        })
        .collect();
    times.sort();
    (ops, times[n / 2])
}

fn main() {
    let (small_ops, small) = one_character(1, 600, 15);
    for activities in [300, 1_100] {
        let (ops, t) = one_character(activities, 600, 7);
        println!(
            "one character typed, one change: {t:>8.2?} on the relay's task for {activities} activities of 600 \
             characters ({ops} operations) against {small:.2?} for 1 activity ({small_ops} operations): {:.1}x",
            t.as_secs_f64() / small.as_secs_f64().max(1e-9)
        );
    }
    let mut base = roadmap(1_000);
    println!(
        "base: a roadmap of 1,000 activities, {} operations; INLINE_OPS {INLINE_OPS}, MAX_OPS_PER_MESSAGE {MAX_OPS_PER_MESSAGE}",
        base.document().stats().num_ops
    );
    let mut worst_inline = Duration::ZERO;
    let mut worst_hub = Duration::ZERO;
    let mut longest_job = Duration::ZERO;
    for (what, make) in kinds() {
        // Best of three: the figure is the work, not the machine's other load.
        let best = |cost| {
            (0..3).map(|_| measure(&base, make, cost)).min_by_key(|t| t.hub + t.job.unwrap_or_default())
        };
        let inline = best(INLINE_OPS).unwrap();
        let big = best(MAX_OPS_PER_MESSAGE).unwrap();
        println!(
            "{what:45} inline ({} ops): {:>8.2?} on the relay's task | largest ({} ops): {:>8.2?} on its task, {:>9.2?} in the job",
            inline.cost,
            inline.hub,
            big.cost,
            big.hub,
            big.job.unwrap_or_default()
        );
        worst_inline = worst_inline.max(inline.hub);
        worst_hub = worst_hub.max(big.hub);
        longest_job = longest_job.max(big.job.unwrap_or_default());
    }
    println!(
        "worst: an inline message {worst_inline:.2?} and the largest {worst_hub:.2?} on the relay's task; the largest \
         job {longest_job:.2?} off it ({:.0}x what the relay's task spent on it)",
        longest_job.as_secs_f64() / worst_hub.as_secs_f64().max(1e-9)
    );
}
