//! What a signed-in writer sends is not trusted: a real `medk-server`
//! process, people signed in over its API, devices and attackers on real
//! WebSockets (the Rust sync client; the JS automerge-repo client's attacks
//! are in `e2e/tests/interop.spec.ts`).
//!
//! - A change that breaks a roadmap's layout is refused, kept from
//!   everyone, and its device told why.
//! - Changes too big for the relay are refused before they are applied:
//!   the relay's memory stays small and another person's acknowledgements
//!   keep their pace meanwhile; the biggest it takes is applied off its
//!   task, and others keep their pace too.
//! - Presence floods reach nobody.
//! - Knowing a roadmap's (or a future school file's) id is not owning it.
//! - Registrations are limited per school, one member cannot fill a
//!   roadmap for the others, and a coordinator deletes a roadmap for
//!   everyone.
//! - A person has a bounded number of sync connections; the relay names
//!   its storage to peers.
//!
//! Timings are ratios to a baseline measured in the same run ([`Pacer`]),
//! never absolute, and a test that times runs alone ([`alone`]).

use std::time::{Duration, Instant};

use automerge::transaction::Transactable as _;
use automerge::{AutoCommit, ObjType, ROOT, ReadDoc as _};
use futures_util::{SinkExt as _, StreamExt as _};
use medk_shared::doc::RoadmapDoc;
use medk_shared::ids::DocumentId;
use medk_shared::sync::client::Event;
use medk_shared::sync::message::Message;
use tokio_tungstenite::tungstenite::Message as Ws;

mod common;
use common::{Device, Server, admin, create_user, mark, roadmap, roadmap_by, set_up, socket};
use medk_shared::sync::relay::MAX_OPS_PER_MESSAGE;

/// The activity of a fresh roadmap from [`roadmap`]: none; this adds one
/// (`a1`) and returns its description's text object.
fn with_activity(doc: &mut AutoCommit) -> automerge::ObjId {
    let activities = doc.get(ROOT, "activities").unwrap().unwrap().1;
    let row = doc.put_object(&activities, "a1", ObjType::Map).unwrap();
    doc.put(&row, "section", "s0").unwrap();
    doc.put(&row, "pos", "80").unwrap();
    doc.put(&row, "deleted", false).unwrap();
    doc.put(&row, "status", "planned").unwrap();
    let text = doc.put_object(&row, "description", ObjType::Text).unwrap();
    doc.commit();
    text
}

/// A roadmap made and synced by `device` (registered to its person).
async fn synced_roadmap(device: &mut Device, title: &str) -> DocumentId {
    let (id, doc) = roadmap(title);
    device.docs.insert(id, doc);
    device.sync().await;
    assert!(!device.unavailable.contains(&id), "{title} registered");
    // Registered before the relay acknowledges it (a sync that stops at
    // 300 ms of quiet may return first under load).
    device.acknowledged(id, Duration::from_secs(60)).await;
    id
}

/// Tests of this file run at once, each with its relay; one that times a
/// relay ([`Pacer`]) must not share the machine with the others' attacks
/// (a 200,000-operation message applied, 500 registrations written by
/// another relay stalled a good device's acknowledgement for 3.3 s: the
/// disk and the cores, not its relay). Timing tests hold this for writing,
/// the others for reading.
static MACHINE: tokio::sync::RwLock<()> = tokio::sync::RwLock::const_new(());

/// Waits until no other test of this file runs: for a test that times.
async fn alone() -> tokio::sync::RwLockWriteGuard<'static, ()> {
    MACHINE.write().await
}

/// Waits until no test that times runs: for one that does not.
async fn beside_others() -> tokio::sync::RwLockReadGuard<'static, ()> {
    MACHINE.read().await
}

/// A relay over the test tree ([`set_up`]), and its data dir.
fn scene() -> (tempfile::TempDir, Server) {
    scene_with(|_| {})
}

/// [`scene`] with more made in the data dir (accounts, units) first.
fn scene_with(more: impl FnOnce(&std::path::Path)) -> (tempfile::TempDir, Server) {
    let data = tempfile::tempdir().unwrap();
    set_up(data.path());
    more(data.path());
    let server = Server::start(data.path());
    (data, server)
}

/// An attacker's device signed in as `token`, with a roadmap of its own
/// synced (the relay took it).
async fn attacker(addr: std::net::SocketAddr, token: &str, name: &str) -> (Device, DocumentId) {
    let mut device = Device::connect(addr, token, name).await;
    let id = synced_roadmap(&mut device, name).await;
    (device, id)
}

/// What an attacker does to a roadmap of their own.
type Attack = fn(&mut AutoCommit);

/// Makes `attack` on the roadmap `id` of `device` (off the async threads:
/// it may take seconds) and leaves it to be sent.
async fn prepare(device: &mut Device, id: DocumentId, attack: Attack) {
    let mut doc = device.docs.remove(&id).unwrap();
    let doc = tokio::task::spawn_blocking(move || {
        attack(&mut doc);
        doc.commit();
        doc
    })
    .await
    .unwrap();
    device.docs.insert(id, doc);
}

/// A well-behaved person at work while others attack: their device edits a
/// roadmap of their own every 100 ms and waits for each change to be
/// acknowledged, and asks `/api/health`. How long those take, against
/// the same measured before the attack, says whether others kept their
/// pace (timings here are ratios to a baseline of the same run, never
/// absolute: the machine may be busy).
struct Pacer<'a> {
    server: &'a Server,
    device: Device,
    id: DocumentId,
    edits: usize,
}

/// Acknowledgement and `/api/health` times, and what the machine itself
/// took meanwhile ([`probe`]).
#[derive(Default)]
struct Pace {
    acks: Vec<Duration>,
    health: Vec<Duration>,
    machine: Vec<Duration>,
}

/// Times the machine itself while a test runs, on a thread of the test: a
/// small write made durable (as each acknowledgement's is) every 50 ms,
/// with how late the thread woke for it. Another program's writes or
/// builds on this machine can stall every durable write, the relay's too,
/// for seconds; the relay's own stalls do not show here. Stop it by
/// setting the flag; its times.
fn probe() -> (std::sync::Arc<std::sync::atomic::AtomicBool>, std::thread::JoinHandle<Vec<Duration>>) {
    use std::io::Write as _;
    use std::sync::atomic::{AtomicBool, Ordering};
    let stop = std::sync::Arc::new(AtomicBool::new(false));
    let stopped = stop.clone();
    let thread = std::thread::spawn(move || {
        let mut file = tempfile::tempfile().unwrap();
        let mut times = Vec::new();
        while !stopped.load(Ordering::Relaxed) {
            let asked = Instant::now();
            std::thread::sleep(Duration::from_millis(50));
            file.write_all(&[0; 4096]).unwrap();
            file.sync_all().unwrap();
            times.push(asked.elapsed().saturating_sub(Duration::from_millis(50)));
        }
        times
    });
    (stop, thread)
}

impl Pace {
    fn slowest(&self) -> (Duration, Duration) {
        (slowest(&self.acks), slowest(&self.health))
    }

    fn median(&self) -> (Duration, Duration) {
        (median(&self.acks), median(&self.health))
    }
}

fn slowest(times: &[Duration]) -> Duration {
    times.iter().max().copied().unwrap_or_default()
}

fn median(times: &[Duration]) -> Duration {
    let mut sorted = times.to_vec();
    sorted.sort();
    sorted.get(sorted.len() / 2).copied().unwrap_or_default()
}

/// The longest a time may take while others attack, from the same time
/// measured without an attack: the slower of ten times its median and three
/// times its slowest, and never under a second. On a loaded two-core machine
/// one acknowledgement in ten can take most of a second with no attack to
/// blame (a CI machine once took 49 ms against a bound of 48 ms; with a CPU
/// hog and a browser beside the tests, 720 ms against 278 ms). The
/// regressions these tests guard were stalls of 30–60 s.
fn bound(baseline: &[Duration]) -> Duration {
    const UNNOTICED: Duration = Duration::from_secs(1);
    (median(baseline) * 10).max(slowest(baseline) * 3).max(UNNOTICED)
}

impl<'a> Pacer<'a> {
    async fn new(server: &'a Server, token: &str) -> Pacer<'a> {
        let mut device = server.device(token, "good").await;
        let id = synced_roadmap(&mut device, "Хорошая").await;
        Pacer { server, device, id, edits: 0 }
    }

    /// One small change, acknowledged; one health check.
    async fn step(&mut self, pace: &mut Pace) {
        self.edits += 1;
        mark(self.device.docs.get_mut(&self.id).unwrap(), "pace", &format!("правка {}", self.edits));
        pace.acks.push(self.device.acknowledged(self.id, Duration::from_secs(300)).await);
        let asked = Instant::now();
        let res = self.server.http.get(self.server.url("/api/health")).send().await.unwrap();
        assert_eq!(res.status(), 200);
        pace.health.push(asked.elapsed());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    /// `n` steps with nothing else going on.
    async fn baseline(&mut self, n: usize) -> Pace {
        let mut pace = Pace::default();
        for _ in 0..n {
            self.step(&mut pace).await;
        }
        pace
    }

    /// Steps until `task` is done; its result.
    async fn during<T>(&mut self, task: tokio::task::JoinHandle<T>) -> (Pace, T) {
        let (stop, machine) = probe();
        let mut pace = Pace::default();
        while !task.is_finished() {
            self.step(&mut pace).await;
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        pace.machine = tokio::task::spawn_blocking(move || machine.join().unwrap()).await.unwrap();
        (pace, task.await.unwrap())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_that_breaks_a_roadmap_is_refused_kept_from_everyone_and_explained() {
    let _machine = beside_others().await;
    let (_data, server) = scene();
    let sch = server.login("sch").await;
    let mun = server.login("mun").await;
    let mut team = server.device(&sch, "team").await;
    let id = synced_roadmap(&mut team, "Дорожная карта школы").await;
    // What a school-team member's other client sent on their own roadmap.
    let mut evil = server.device(&sch, "evil").await;
    evil.docs.insert(id, AutoCommit::new());
    evil.sync().await;
    let doc = evil.docs.get_mut(&id).unwrap();
    doc.delete(ROOT, "header").unwrap();
    doc.put(ROOT, "sections", "not a map").unwrap();
    doc.put(ROOT, "schema", 999).unwrap();
    doc.commit();
    evil.sync().await;
    let why = evil.refused.get(&id).expect("the device is told its changes were refused");
    assert_eq!(why, "изменение нарушает устройство дорожной карты");
    assert!(evil.client.relay_read_only(&id));
    // Nobody else gets it: a coordinator's fresh device reads the roadmap whole.
    let mut coordinator = server.device(&mun, "coordinator").await;
    coordinator.docs.insert(id, AutoCommit::new());
    coordinator.sync().await;
    assert_eq!(coordinator.title(id).as_deref(), Some("Дорожная карта школы"));
    let read = RoadmapDoc::from_automerge(coordinator.docs[&id].clone()).expect("opens");
    assert_eq!(read.problems(), vec![]);
    // The honest device of the same person still writes.
    mark(team.docs.get_mut(&id).unwrap(), "after", "ещё");
    team.sync().await;
    coordinator.sync().await;
    assert_eq!(coordinator.mark(id, "after").as_deref(), Some("ещё"));
}

/// Peak resident memory of a process, in MiB.
fn peak_mib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap() / 1024
}

/// The measurements, against one relay: a change of a million
/// characters, a list of 700,000 items, and a description over what one
/// message may add (250,000 characters), each sent by a school team member
/// on a roadmap of their own (each a few seconds of the relay's only task
/// and hundreds of megabytes before). They are refused from their counted
/// size, and a coordinator editing another roadmap meanwhile keeps the pace
/// they had before the attacks.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn big_changes_are_refused_before_they_cost_and_others_keep_their_pace() {
    let _machine = alone().await;
    let (_data, server) = scene();
    let fed = server.login("fed").await;
    let sch = server.login("sch").await;
    let attacks: [(&str, Attack); 4] = [
        ("a million characters in one change", |doc| {
            let text = with_activity(doc);
            doc.splice_text(&text, 0, 0, &"я".repeat(1_000_000)).unwrap();
        }),
        ("a list of 700,000 items", |doc| {
            let list = doc.put_object(ROOT, "items", ObjType::List).unwrap();
            doc.splice(&list, 0, 0, vec![automerge::ScalarValue::Int(1); 700_000]).unwrap();
        }),
        ("a million characters of one letter, again", |doc| {
            let text = with_activity(doc);
            doc.splice_text(&text, 0, 0, &"a".repeat(1_000_000)).unwrap();
        }),
        ("a description of 250,000 characters", |doc| {
            let text = with_activity(doc);
            doc.splice_text(&text, 0, 0, &"ж".repeat(250_000)).unwrap();
        }),
    ];
    // Made and encoded before anything is timed: building the messages is
    // the attacker's work, not the relay's, and on a busy 2-core machine
    // it would take the CPU from the relay being timed.
    let mut prepared = Vec::new();
    for (what, attack) in attacks {
        let (mut evil, id) = attacker(server.addr, &sch, what).await;
        prepare(&mut evil, id, attack).await;
        let mut doc = evil.docs.remove(&id).unwrap();
        let frames = evil.client.outgoing(id, &mut doc);
        assert!(!frames.is_empty(), "{what}: nothing to send");
        prepared.push((what, evil, id, frames));
    }
    let mut pacer = Pacer::new(&server, &fed).await;
    let baseline = pacer.baseline(10).await;
    let attacker = tokio::spawn(async move {
        let mut refused = Vec::new();
        for (what, mut evil, id, frames) in prepared {
            // One attack after another, as people's edits come: the good
            // device works through all of them.
            tokio::time::sleep(Duration::from_millis(400)).await;
            let sent = Instant::now();
            for frame in frames {
                if evil.socket.send(Ws::binary(frame)).await.is_err() {
                    break;
                }
            }
            // Until the relay says it refused them (or a minute passed).
            let answer = async {
                while let Some(Ok(frame)) = evil.socket.next().await {
                    if let Ws::Binary(bytes) = frame
                        && let Ok(Event::ChangesRefused { doc, refused }) = evil.client.receive(&bytes)
                        && doc == id
                    {
                        return Some(refused.message);
                    }
                }
                None
            };
            let why = tokio::time::timeout(Duration::from_secs(60), answer).await.ok().flatten();
            refused.push((what, why, sent.elapsed()));
        }
        refused
    });
    let (during, refusals) = pacer.during(attacker).await;
    println!(
        "before the attacks: acknowledged in {:?} (median) .. {:?}, /api/health {:?} .. {:?}",
        baseline.median().0,
        baseline.slowest().0,
        baseline.median().1,
        baseline.slowest().1
    );
    println!(
        "{} acknowledgements during them: median {:?}, slowest {:?}; /api/health slowest {:?}",
        during.acks.len(),
        during.median().0,
        during.slowest().0,
        during.slowest().1
    );
    assert!(during.acks.len() >= 5, "the good device kept working through the attacks");
    // Before the limits the slowest was 5.7 s on this machine; before big
    // messages went off the relay's task, over a second.
    // A machine that stalls durable writes for seconds meanwhile (another
    // program's build) stalls the relay's too: the bound is then three
    // times the machine's own slowest, measured alongside.
    let machine = slowest(&during.machine);
    println!("the machine's slowest durable write meanwhile: {machine:?} ({} taken)", during.machine.len());
    let bound = bound(&baseline.acks).max(machine * 3);
    assert!(during.slowest().0 < bound, "acknowledgements: {:?}; machine: {machine:?}", during.acks);
    // `/api/health` answers in a millisecond or so: held to what an
    // acknowledgement (a durable write) takes, not to ten of its own.
    assert!(during.slowest().1 < bound, "health: {:?}; machine: {machine:?}", during.health);
    let peak = peak_mib(server.child.id());
    println!("relay peak memory: {peak} MiB");
    assert!(peak < 400, "the relay's peak memory was {peak} MiB");
    for (what, why, took) in refusals {
        let why = why.unwrap_or_else(|| panic!("{what}: not refused"));
        println!("{what}: refused in {took:?}");
        assert!(why.starts_with("изменение слишком большое"), "{what}: {why}");
        // Refused from its counted size, not after applying it (which took
        // seconds): as quickly as a small change is stored.
        assert!(took < bound, "{what}: refused after {took:?}");
    }
}

/// The largest message the relay takes (a description of almost 200,000
/// characters, in one change) costs seconds to apply: it is applied off the
/// relay's task, so another person's changes keep being acknowledged at
/// their usual pace meanwhile. (Before, the relay's only task applied it:
/// a message just under the old limit stopped every other connection for
/// 9–15 s, and the other person's slowest acknowledgement was as long as the
/// attack's own.)
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_largest_message_the_relay_takes_keeps_nobody_waiting() {
    let _machine = alone().await;
    let (_data, server) = scene();
    let fed = server.login("fed").await;
    let sch = server.login("sch").await;
    let (mut evil, id) = attacker(server.addr, &sch, "Большая").await;
    prepare(&mut evil, id, |doc| {
        let text = with_activity(doc);
        let chars = MAX_OPS_PER_MESSAGE as usize - 100;
        doc.splice_text(&text, 0, 0, &"ж".repeat(chars)).unwrap();
    })
    .await;
    let mut pacer = Pacer::new(&server, &fed).await;
    let baseline = pacer.baseline(10).await;
    let attack = tokio::spawn(async move {
        // Taken and stored: the relay acknowledges it.
        let took = evil.acknowledged(id, Duration::from_secs(600)).await;
        assert!(evil.refused.is_empty(), "{:?}", evil.refused);
        took
    });
    let (during, took) = pacer.during(attack).await;
    println!(
        "the largest message took {took:?} to be acknowledged; meanwhile {} of another person's: median {:?}, \
         slowest {:?} (before: median {:?}, slowest {:?})",
        during.acks.len(),
        during.median().0,
        during.slowest().0,
        baseline.median().0,
        baseline.slowest().0
    );
    assert!(during.acks.len() >= 3, "the attack took some time");
    assert!(
        during.slowest().0 * 3 < took,
        "another person's slowest acknowledgement ({:?}) is no small part of the attack's {took:?}",
        during.slowest().0
    );
    assert!(during.median().0 < baseline.median().0 * 5, "{:?} against {:?}", during.acks, baseline.acks);
}

/// Someone types fast into a big roadmap (1,000 activities of 600
/// characters, about 600,000 operations), a character a change and a
/// message, as a script or several people typing at once send them: each
/// costs the relay work in proportion to the change, not to the roadmap.
/// Another person's acknowledgements keep their pace meanwhile, and every
/// one of the typist's changes is acknowledged about as fast as it was sent.
/// (The trial before found a character applied to such a roadmap took the
/// relay's task up to 450 ms: a burst of 200 stalled every other school for
/// 30–60 s.)
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_small_changes_to_a_big_roadmap_keep_nobody_waiting() {
    const ACTIVITIES: usize = 1_000;
    const CHARACTERS: usize = 300;
    let _machine = alone().await;
    let (_data, server) = scene();
    let fed = server.login("fed").await;
    let sch = server.login("sch").await;
    let (mut typist, id) = attacker(server.addr, &sch, "Большая").await;
    // The big roadmap, added in pieces the relay takes (each under its
    // per-message limit).
    let description: String =
        "Проведение методического семинара для педагогов. ".repeat(20).chars().take(600).collect();
    for batch in 0..10 {
        let description = description.clone();
        let mut doc = typist.docs.remove(&id).unwrap();
        let doc = tokio::task::spawn_blocking(move || {
            let activities = doc.get(ROOT, "activities").unwrap().unwrap().1;
            for i in 0..ACTIVITIES / 10 {
                let row = doc.put_object(&activities, format!("a{batch}-{i:04}"), ObjType::Map).unwrap();
                doc.put(&row, "section", "s0").unwrap();
                doc.put(&row, "pos", format!("8{batch}{i:04}")).unwrap();
                doc.put(&row, "deleted", false).unwrap();
                doc.put(&row, "status", "planned").unwrap();
                let text = doc.put_object(&row, "description", ObjType::Text).unwrap();
                doc.splice_text(&text, 0, 0, &description).unwrap();
            }
            doc.commit();
            doc
        })
        .await
        .unwrap();
        typist.docs.insert(id, doc);
        typist.acknowledged(id, Duration::from_secs(300)).await;
    }
    assert!(typist.refused.is_empty(), "{:?}", typist.refused);
    let ops = typist.docs.get_mut(&id).unwrap().document().stats().num_ops;
    assert!(ops > 600_000, "{ops} operations");
    // The characters, made and encoded before anything is timed (the
    // typist's work, not the relay's): one change, one message each.
    let text = {
        let doc = typist.docs.get_mut(&id).unwrap();
        let activities = doc.get(ROOT, "activities").unwrap().unwrap().1;
        let row = doc.get(&activities, "a5-0050").unwrap().unwrap().1;
        doc.get(&row, "description").unwrap().unwrap().1
    };
    let mut frames = Vec::new();
    for i in 0..CHARACTERS {
        let doc = typist.docs.get_mut(&id).unwrap();
        doc.splice_text(&text, 10 + i, 0, "ы").unwrap();
        doc.commit();
        let out = typist.client.outgoing(id, doc);
        assert!(!out.is_empty(), "character {i}: nothing to send");
        frames.extend(out);
    }
    let mut pacer = Pacer::new(&server, &fed).await;
    let baseline = pacer.baseline(10).await;
    let typing = tokio::spawn(async move {
        let sent = Instant::now();
        for frame in frames {
            typist.socket.send(Ws::binary(frame)).await.unwrap();
            // 200 characters a second: faster than anyone types, as fast
            // as five people typing at once.
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let sending = sent.elapsed();
        let took = typist.acknowledged(id, Duration::from_secs(300)).await;
        assert!(typist.refused.is_empty(), "{:?}", typist.refused);
        (sending, sending + took)
    });
    let (during, (sending, took)) = pacer.during(typing).await;
    println!(
        "{CHARACTERS} characters, a change each, into a roadmap of {ops} operations: sent in {sending:?}, all \
         acknowledged after {took:?}"
    );
    println!(
        "another person's acknowledgements meanwhile: {} , median {:?}, slowest {:?} (before: median {:?}, slowest {:?})",
        during.acks.len(),
        during.median().0,
        during.slowest().0,
        baseline.median().0,
        baseline.slowest().0
    );
    let machine = slowest(&during.machine);
    let bound = bound(&baseline.acks).max(machine * 3);
    assert!(during.slowest().0 < bound, "acknowledgements: {:?}; machine: {machine:?}", during.acks);
    // The typist's own changes: each is taken as it comes, not queued
    // behind the roadmap's size. (Per change it was up to 450 ms: 300 would
    // have waited over two minutes.)
    assert!(took < sending * 4 + bound, "the typist's changes were all acknowledged after {took:?}");
}

/// An observer (who may only read) sends a 15 MB ephemeral message and a
/// hundred small ones: the viewers of the roadmap get nothing of the big
/// one and a bounded share of the rest; the observer's own small presence
/// still reaches them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presence_floods_reach_nobody() {
    let _machine = beside_others().await;
    use futures_util::StreamExt as _;
    let (_data, server) = scene();
    let reg = server.login("reg").await;
    let obs = server.login("obs").await;
    let mut maker = server.device(&reg, "maker").await;
    let id = synced_roadmap(&mut maker, "Региональная").await;
    server.place(&reg, id, "r1", true).await;
    let mut viewers = Vec::new();
    for name in ["viewer-1", "viewer-2"] {
        let mut v = server.device(&reg, name).await;
        v.docs.insert(id, AutoCommit::new());
        v.sync().await;
        viewers.push(v);
    }
    let mut observer = server.device(&obs, "observer").await;
    observer.docs.insert(id, AutoCommit::new());
    observer.sync().await;
    assert!(observer.client.relay_read_only(&id), "an observer reads");

    let frame = |count: u64, bytes: usize| {
        Message::Ephemeral {
            sender_id: observer.client.peer_id().into(),
            target_id: "relay".into(),
            document_id: id,
            session_id: "flood".into(),
            count,
            data: vec![0xa0; bytes],
        }
        .encode()
    };
    let big = frame(1, 15_000_000);
    let small: Vec<Vec<u8>> = (0..100).map(|n| frame(2 + n, 100)).collect();
    observer.socket.send(Ws::binary(big)).await.unwrap();
    for f in small {
        observer.socket.send(Ws::binary(f)).await.unwrap();
    }
    for v in &mut viewers {
        let mut bytes = 0;
        let mut messages = 0;
        while let Ok(Some(Ok(frame))) = tokio::time::timeout(Duration::from_secs(2), v.socket.next()).await {
            if let Ws::Binary(b) = frame
                && matches!(Message::decode(&b), Ok(Message::Ephemeral { .. }))
            {
                bytes += b.len();
                messages += 1;
            }
        }
        assert!(bytes < 20_000, "a viewer received {bytes} bytes of presence");
        assert!((1..=20).contains(&messages), "a viewer received {messages} presence messages");
    }
}

/// A curator makes a roadmap offline; a member of another school learns its
/// id (a link) and syncs first, with a roadmap of her own under that id,
/// then with a copy of the curator's. Neither registers it: the curator's
/// device does, later. And a school file's id is not claimable before its
/// school exists.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn knowing_a_documents_id_is_not_owning_it() {
    let _machine = beside_others().await;
    let (data, mut server) = scene_with(|data| create_user(data, "sch4", "school-team", "s4", &[]));
    let cur = server.login("cur").await;
    let sch4 = server.login("sch4").await;
    let cur_id = server.person_id(&cur).await;
    let (id, made) = roadmap_by("Антирисковая программа", &cur_id);

    let mut thief = server.device(&sch4, "thief").await;
    let (_, hers) = roadmap("Чужая");
    thief.docs.insert(id, hers);
    thief.sync().await;
    assert!(thief.unavailable.contains(&id), "her own roadmap under that id is not taken");
    let mut thief = server.device(&sch4, "thief-2").await;
    thief.docs.insert(id, made.clone());
    thief.sync().await;
    assert!(thief.unavailable.contains(&id), "nor a copy of the curator's");

    let mut tablet = server.device(&cur, "tablet").await;
    tablet.docs.insert(id, made);
    tablet.sync().await;
    assert!(!tablet.unavailable.contains(&id));
    // Registered before the relay answers (sync() stops at 300 ms of quiet,
    // which a loaded machine's registration can outlast).
    tablet.acknowledged(id, Duration::from_secs(60)).await;
    assert!(!tablet.client.relay_read_only(&id), "the curator writes it");
    let (status, body) =
        server.call(&cur, "GET", &format!("/api/roadmaps/{id}/access"), serde_json::Value::Null).await;
    assert_eq!((status, body["unit"].as_str()), (200, Some("s1")), "{body}");

    // A school file before its school exists (created later with a chosen id).
    let file = medk_shared::school::school_file_id("s9");
    let mut early = server.device(&sch4, "early").await;
    let (_, squatter) = roadmap("Захват");
    early.docs.insert(file, squatter);
    early.sync().await;
    assert!(early.unavailable.contains(&file));
    drop(server);
    admin(
        data.path(),
        &["create-unit", "--parent", "m3", "--level", "school", "--name", "Школа 9", "--id", "s9"],
        "",
    );
    create_user(data.path(), "team9", "school-team", "s9", &[]);
    server = Server::start(data.path());
    let team9 = server.login("team9").await;
    let mut school = server.device(&team9, "school").await;
    school.docs.insert(file, medk_shared::school::SchoolDoc::genesis("s9").automerge().clone());
    school.sync().await;
    assert!(!school.unavailable.contains(&file), "the school's team has its file");
    assert!(!school.client.relay_read_only(&file));
}

/// Roadmaps registered by syncing are limited per school and per person in
/// it: one member registers up to their share and the next is refused;
/// other members register up to the school's limit together, and the next
/// (by anyone) is refused; each device is told why, in Russian; a member of
/// another school still registers. A coordinator's acknowledgements keep
/// their pace meanwhile (the registering writes are not in the relay's
/// task).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn registrations_are_limited_per_school_and_per_person() {
    use medk_server::accounts::{MAX_REGISTRATIONS_PER_PERSON, MAX_REGISTRATIONS_PER_UNIT};
    let members = ["sch-b", "sch-c", "sch-d", "sch-e", "sch-f"];
    let _machine = alone().await;
    let (_data, server) = scene_with(|data| {
        for login in members {
            create_user(data, login, "school-team", "s1", &[]);
        }
        create_user(data, "sch2", "school-team", "s2", &[]);
    });
    let fed = server.login("fed").await;
    let mut pacer = Pacer::new(&server, &fed).await;
    let baseline = pacer.baseline(10).await;

    let (limit, share) = (MAX_REGISTRATIONS_PER_UNIT, MAX_REGISTRATIONS_PER_PERSON);
    assert_eq!(limit % share, 0, "the school's room is a whole number of shares");
    let mut tokens = vec![server.login("sch").await];
    for login in members {
        tokens.push(server.login(login).await);
    }
    let addr = server.addr;
    let many = tokio::spawn(async move {
        // The first member tries one past their share; the others fill the
        // school's room; the last member tries one more.
        let mut plan = vec![(tokens[0].clone(), share + 1)];
        for token in &tokens[1..limit / share] {
            plan.push((token.clone(), share));
        }
        plan.push((tokens[limit / share].clone(), 1));
        let mut refused = Vec::new();
        for (token, count) in plan {
            let mut device = Device::connect(addr, &token, "many").await;
            let ids: Vec<DocumentId> = (0..count)
                .map(|n| {
                    let (id, doc) = roadmap(&format!("карта {n}"));
                    device.docs.insert(id, doc);
                    id
                })
                .collect();
            // Until the relay has answered for each: stored, or not.
            let started = Instant::now();
            loop {
                device.sync().await;
                let waiting = ids.iter().any(|id| {
                    !device.unavailable.contains(id)
                        && device.client.relay_heads(id)
                            != Some(device.docs.get_mut(id).unwrap().get_heads().as_slice())
                });
                if !waiting || started.elapsed() > Duration::from_secs(300) {
                    break;
                }
            }
            for id in ids.iter().filter(|id| device.unavailable.contains(id)) {
                refused.push(device.refused.get(id).cloned());
            }
        }
        refused
    });
    let (during, refused) = pacer.during(many).await;
    let refused: Vec<String> = refused.into_iter().map(|why| why.expect("the device is told why")).collect();
    assert_eq!(
        refused.len(),
        2,
        "one past the first member's share, one past the school's room: {refused:?}"
    );
    assert!(
        refused[0].contains(&format!("сколько он принимает от одного человека ({share})")),
        "{}",
        refused[0]
    );
    assert!(
        refused[1].contains(&format!("уже столько дорожных карт, сколько он принимает ({limit})")),
        "{}",
        refused[1]
    );
    let (_, list) = server.call(&fed, "GET", "/api/roadmaps", serde_json::Value::Null).await;
    assert_eq!(list.as_array().unwrap().len(), limit + 1, "the school's {limit} and the coordinator's own");
    // Another school is not held by it.
    let other = server.login("sch2").await;
    let mut device = server.device(&other, "other-school").await;
    synced_roadmap(&mut device, "Другая школа").await;
    println!(
        "{} acknowledgements during {limit} registrations: median {:?}, slowest {:?} (before: median {:?}, \
         slowest {:?})",
        during.acks.len(),
        during.median().0,
        during.slowest().0,
        baseline.median().0,
        baseline.slowest().0
    );
    // A thousand durable writes (registrations and the roadmaps) share the
    // disk with the coordinator's: some of theirs wait for it, but the
    // relay's task does not, so most keep their pace.
    assert!(during.median().0 < baseline.median().0 * 5, "{:?}", during.acks);
}

/// One member filling a roadmap with changes of legal size stops at their
/// share of it (`--max-document-ops-per-person`), is told why, and the
/// others go on saving; the share holds after the relay restarts (it is
/// stored with the document).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_member_cannot_fill_a_roadmap_and_lock_the_others_out() {
    let _machine = beside_others().await;
    let data = tempfile::tempdir().unwrap();
    set_up(data.path());
    create_user(data.path(), "sch-b", "school-team", "s1", &[]);
    let share = ["--max-document-ops-per-person", "20000"];
    let server = Server::start_with(data.path(), &share);
    let mut vandal = server.device(&server.login("sch").await, "vandal").await;
    let id = synced_roadmap(&mut vandal, "Общая карта").await;
    let mut colleague = server.device(&server.login("sch-b").await, "colleague").await;
    colleague.docs.insert(id, AutoCommit::new());
    colleague.sync().await;
    assert_eq!(colleague.title(id).as_deref(), Some("Общая карта"));

    // 5,000 characters at a time (a field takes 20,000) until refused.
    let text = with_activity(vandal.docs.get_mut(&id).unwrap());
    let mut sent = 0;
    while !vandal.refused.contains_key(&id) && sent < 10 {
        let doc = vandal.docs.get_mut(&id).unwrap();
        doc.splice_text(&text, 0, 0, &"ж".repeat(5_000)).unwrap();
        doc.commit();
        vandal.sync().await;
        sent += 1;
    }
    let why = vandal.refused.get(&id).expect("the member is told why");
    assert!(why.starts_with("вы уже добавили в этот документ"), "{why}");
    assert!(why.contains("не больше 20\u{a0}000"), "{why}");
    assert_eq!(sent, 4, "three messages of 5,000 fit in 20,000 with the roadmap itself; the fourth does not");
    // The colleague still saves.
    mark(colleague.docs.get_mut(&id).unwrap(), "after", "ещё работаем");
    colleague.sync().await;
    colleague.acknowledged(id, Duration::from_secs(60)).await;

    // After a restart the member's share is still used up; the colleague's is not.
    let vandal_doc = vandal.docs[&id].clone();
    drop((vandal, colleague, server));
    let server = Server::start_with(data.path(), &share);
    let mut vandal = server.device(&server.login("sch").await, "vandal-again").await;
    let mut doc = vandal_doc;
    mark(&mut doc, "again", "и ещё");
    vandal.docs.insert(id, doc);
    vandal.sync().await;
    assert!(
        vandal.refused.get(&id).is_some_and(|why| why.starts_with("вы уже добавили")),
        "{:?}",
        vandal.refused
    );
    let mut colleague = server.device(&server.login("sch-b").await, "colleague-again").await;
    colleague.docs.insert(id, AutoCommit::new());
    colleague.sync().await;
    assert_eq!(colleague.mark(id, "after").as_deref(), Some("ещё работаем"));
    assert_eq!(colleague.mark(id, "again"), None, "nothing more of the member's stored");
    mark(colleague.docs.get_mut(&id).unwrap(), "later", "и после перезапуска");
    colleague.sync().await;
    colleague.acknowledged(id, Duration::from_secs(60)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_coordinator_deletes_a_roadmap_for_everyone() {
    let _machine = beside_others().await;
    let (data, mut server) = scene_with(|data| create_user(data, "reg2", "regional-coordinator", "r2", &[]));
    let mun = server.login("mun").await;
    let reg = server.login("reg").await;
    let cur = server.login("cur").await;
    let sch = server.login("sch").await;
    let mut maker = server.device(&mun, "maker").await;
    let id = synced_roadmap(&mut maker, "Муниципальная").await;
    server.place(&mun, id, "m1", true).await;
    let mut live = server.device(&cur, "live").await;
    live.docs.insert(id, AutoCommit::new());
    live.sync().await;
    assert_eq!(live.title(id).as_deref(), Some("Муниципальная"));

    let path = format!("/api/roadmaps/{id}");
    let call = |token: &str, method: &str| {
        let (server, token, method, path) = (&server, token.to_owned(), method.to_owned(), path.clone());
        async move { server.call(&token, &method, &path, serde_json::Value::Null).await.0 }
    };
    assert_eq!(call(&cur, "DELETE").await, 403, "a curator who reads it does not manage it");
    assert_eq!(call(&sch, "DELETE").await, 403, "nor does its school's team");
    assert_eq!(call(&reg, "DELETE").await, 204, "the regional coordinator manages m1");

    // The live device is told at once.
    let event =
        tokio::time::timeout(Duration::from_secs(3), live.next_event()).await.expect("within seconds");
    assert!(matches!(event, medk_shared::sync::client::Event::Unavailable { doc } if doc == id), "{event:?}");
    // The API says it was deleted, when and by whom, to whoever could read
    // it, and nothing to others.
    let access = format!("{path}/access");
    let (status, body) = server.call(&cur, "GET", &access, serde_json::Value::Null).await;
    assert_eq!(status, 410);
    let said = body["error"].as_str().unwrap();
    assert!(said.starts_with("дорожная карта удалена для всех") && said.contains("удалил(а): reg"), "{said}");
    assert_eq!(server.call(&mun, "GET", &access, serde_json::Value::Null).await.0, 410);
    let stranger = server.login("reg2").await;
    assert_eq!(server.call(&stranger, "GET", &access, serde_json::Value::Null).await.0, 404);
    // The maker's device still holds it and syncs: it does not come back.
    mark(maker.docs.get_mut(&id).unwrap(), "after", "всё ещё");
    maker.sync().await;
    assert!(maker.unavailable.contains(&id));
    assert_eq!(server.call(&mun, "GET", &access, serde_json::Value::Null).await.0, 410);

    // After a restart too, and its data is gone from the store.
    drop(server);
    let store = medk_server::store::RedbStore::open(&data.path().join("medk.redb")).unwrap();
    use medk_server::store::Store as _;
    assert!(!store.documents().unwrap().contains(&id), "its chunks were deleted");
    drop(store);
    server = Server::start(data.path());
    let mun = server.login("mun").await;
    assert_eq!(server.call(&mun, "GET", &access, serde_json::Value::Null).await.0, 410);
    let mut fresh = server.device(&mun, "fresh").await;
    fresh.docs.insert(id, AutoCommit::new());
    fresh.sync().await;
    assert!(fresh.unavailable.contains(&id));
}

/// automerge-repo clients keep what a peer has stored by its `storageId`;
/// the relay announces one, the same after a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_relay_announces_a_stable_storage_id() {
    let _machine = beside_others().await;
    use futures_util::StreamExt as _;
    let data = tempfile::tempdir().unwrap();
    set_up(data.path());
    let mut ids = Vec::new();
    for _ in 0..2 {
        let server = Server::start(data.path());
        let fed = server.login("fed").await;
        let mut s = socket(server.addr, Some(&fed), None).await;
        let join = Message::Join {
            sender_id: "js".into(),
            metadata: Default::default(),
            supported_protocol_versions: vec!["1".into()],
        };
        s.send(Ws::binary(join.encode())).await.unwrap();
        let Some(Ok(Ws::Binary(frame))) = s.next().await else { panic!("no answer") };
        let Ok(Message::Peer { metadata, .. }) = Message::decode(&frame) else { panic!("not `peer`") };
        ids.push(metadata.storage_id.expect("a storage id"));
        assert!(!metadata.is_ephemeral);
    }
    assert_eq!(ids[0], ids[1]);
}
