//! What a signed-in writer sends is not trusted: a real `medk-server`
//! process, people signed in over its API, devices and attackers on real
//! WebSockets (the Rust sync client; the JS automerge-repo client's attacks
//! are in `e2e/tests/interop.spec.ts`).
//!
//! - A change that breaks a roadmap's layout is refused, kept from
//!   everyone, and its device told why.
//! - Changes too big for the relay are refused before they are applied:
//!   the relay's memory stays small and another person's acknowledgements
//!   keep their pace meanwhile.
//! - Presence floods reach nobody.
//! - Knowing a roadmap's (or a future school file's) id is not owning it.
//! - Registrations are limited per person, and a coordinator deletes a
//!   roadmap for everyone.
//! - A person has a bounded number of sync connections; the relay names
//!   its storage to peers.

use std::time::{Duration, Instant};

use automerge::transaction::Transactable as _;
use automerge::{AutoCommit, ObjType, ROOT, ReadDoc as _};
use futures_util::SinkExt as _;
use medk_shared::doc::RoadmapDoc;
use medk_shared::ids::DocumentId;
use medk_shared::sync::message::Message;
use tokio_tungstenite::tungstenite::Message as Ws;

mod common;
use common::{Device, Server, admin, create_user, mark, roadmap, roadmap_by, set_up, socket};

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
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_that_breaks_a_roadmap_is_refused_kept_from_everyone_and_explained() {
    let data = tempfile::tempdir().unwrap();
    set_up(data.path());
    let server = Server::start(data.path());
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
/// characters, a list of 700,000 items, and a text over the per-field limit
/// (200,000 characters),
/// each sent by a school team member on a roadmap of their own (each a few
/// seconds of the relay's only task and hundreds of megabytes before). They
/// are refused from their counted size, and a coordinator editing another
/// roadmap every 100 ms meanwhile is acknowledged at its usual pace.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn big_changes_are_refused_before_they_cost_and_others_keep_their_pace() {
    let data = tempfile::tempdir().unwrap();
    set_up(data.path());
    let server = Server::start(data.path());
    let fed = server.login("fed").await;
    let sch = server.login("sch").await;
    let mut good = server.device(&fed, "good").await;
    let good_id = synced_roadmap(&mut good, "Федеральная").await;

    let attacks: [(&str, fn(&mut AutoCommit)); 4] = [
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
    let addr = server.addr;
    let attacker = tokio::spawn(async move {
        let mut refused = Vec::new();
        for (what, attack) in attacks {
            let mut evil = Device::connect(addr, &sch, "evil").await;
            let id = synced_roadmap(&mut evil, what).await;
            let mut doc = evil.docs.remove(&id).unwrap();
            let doc = tokio::task::spawn_blocking(move || {
                attack(&mut doc);
                doc.commit();
                doc
            })
            .await
            .unwrap();
            evil.docs.insert(id, doc);
            let sent = Instant::now();
            while !evil.refused.contains_key(&id) && sent.elapsed() < Duration::from_secs(60) {
                evil.sync().await;
            }
            refused.push((what, evil.refused.get(&id).cloned()));
        }
        refused
    });

    let mut acks = Vec::new();
    let mut health = Vec::new();
    let mut n = 0;
    while !attacker.is_finished() {
        n += 1;
        mark(good.docs.get_mut(&good_id).unwrap(), "pace", &format!("правка {n}"));
        acks.push(good.acknowledged(good_id, Duration::from_secs(120)).await);
        let asked = Instant::now();
        let res = server.http.get(server.url("/api/health")).send().await.unwrap();
        assert_eq!(res.status(), 200);
        health.push(asked.elapsed());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let refusals = attacker.await.unwrap();
    let slowest = acks.iter().max().unwrap();
    let health_slowest = health.iter().max().unwrap();
    println!(
        "{} acknowledgements during the attacks, slowest {slowest:?}; /api/health slowest {health_slowest:?}",
        acks.len()
    );
    assert!(acks.len() >= 5, "the attacks took some time");
    // The one attack within the operation limits (250,000 characters) is
    // applied to a copy and vetted on the relay's task, so a good device may
    // wait about that long once. That work is measured here, in this run on
    // this machine (a fixed bound failed at 2.6 s on a loaded machine). The
    // relay does more than apply (copy, vet, encode, store): its wait was
    // about 5 times the bare apply here; before the limits, about 11 times.
    let work = tokio::task::spawn_blocking(|| {
        let (_, mut base) = roadmap("мерка");
        let mut edited = base.clone();
        let text = with_activity(&mut edited);
        edited.splice_text(&text, 0, 0, &"ж".repeat(250_000)).unwrap();
        edited.commit();
        let changes = edited.get_changes(&base.get_heads());
        let started = Instant::now();
        let mut copy = base.clone();
        copy.apply_changes(changes).unwrap();
        started.elapsed()
    })
    .await
    .unwrap();
    println!("applying the largest accepted attack here: {work:?}");
    assert!(
        *slowest < work * 8 + Duration::from_millis(1_000),
        "applying it took {work:?}; acknowledgements: {acks:?}"
    );
    assert!(*health_slowest < Duration::from_millis(1_500), "health: {health:?}");
    let peak = peak_mib(server.child.id());
    println!("relay peak memory: {peak} MiB");
    assert!(peak < 400, "the relay's peak memory was {peak} MiB");
    for (what, why) in refusals {
        let why = why.unwrap_or_else(|| panic!("{what}: not refused"));
        assert!(
            why.starts_with("изменение слишком большое") || why.starts_with("текст одного поля"),
            "{what}: {why}"
        );
    }
}

/// An observer (who may only read) sends a 15 MB ephemeral message and a
/// hundred small ones: the viewers of the roadmap get nothing of the big
/// one and a bounded share of the rest; the observer's own small presence
/// still reaches them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presence_floods_reach_nobody() {
    use futures_util::StreamExt as _;
    let data = tempfile::tempdir().unwrap();
    set_up(data.path());
    let server = Server::start(data.path());
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
    let data = tempfile::tempdir().unwrap();
    set_up(data.path());
    create_user(data.path(), "sch4", "school-team", "s4", &[]);
    let mut server = Server::start(data.path());
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

/// One person registers roadmaps up to the limit; the next is refused, and
/// a coordinator's acknowledgements keep their pace meanwhile (the
/// registering writes are not in the relay's task).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn registrations_are_limited_per_person() {
    let data = tempfile::tempdir().unwrap();
    set_up(data.path());
    let server = Server::start(data.path());
    let fed = server.login("fed").await;
    let sch = server.login("sch").await;
    let mut good = server.device(&fed, "good").await;
    let good_id = synced_roadmap(&mut good, "Федеральная").await;

    let limit = medk_server::accounts::MAX_REGISTRATIONS_PER_PERSON;
    let addr = server.addr;
    let many = tokio::spawn(async move {
        let mut device = Device::connect(addr, &sch, "many").await;
        let ids: Vec<DocumentId> = (0..=limit)
            .map(|n| {
                let (id, doc) = roadmap(&format!("карта {n}"));
                device.docs.insert(id, doc);
                id
            })
            .collect();
        device.sync().await;
        ids.iter().filter(|id| device.unavailable.contains(id)).count()
    });
    let mut acks = Vec::new();
    let mut n = 0;
    let attack = std::time::Instant::now();
    while !many.is_finished() {
        n += 1;
        mark(good.docs.get_mut(&good_id).unwrap(), "pace", &format!("правка {n}"));
        acks.push(good.acknowledged(good_id, Duration::from_secs(60)).await);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let attack = attack.elapsed();
    assert_eq!(many.await.unwrap(), 1, "all but one registered");
    let (_, list) = server.call(&fed, "GET", "/api/roadmaps", serde_json::Value::Null).await;
    assert_eq!(list.as_array().unwrap().len(), limit + 1, "the person's {limit} and the coordinator's own");
    let slowest = acks.iter().max().copied().unwrap_or_default();
    println!(
        "{} acknowledgements during {limit} registrations ({attack:?}), slowest {slowest:?}",
        acks.len()
    );
    // The good device kept being answered while the registrations went on:
    // no wait took a good part of the attack (a relay whose task wrote each
    // registration before answering anyone held the device for nearly all
    // of it). A ratio of the same run, not a time: on a loaded 2-core
    // machine one answer took 2.3 s of a 40 s attack.
    assert!(acks.len() >= 4, "the device was answered only {} times during the attack", acks.len());
    assert!(slowest < attack / 4, "{acks:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_coordinator_deletes_a_roadmap_for_everyone() {
    let data = tempfile::tempdir().unwrap();
    set_up(data.path());
    create_user(data.path(), "reg2", "regional-coordinator", "r2", &[]);
    let mut server = Server::start(data.path());
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
    // The API says it was deleted to whoever could read it, and nothing to others.
    let access = format!("{path}/access");
    assert_eq!(server.call(&cur, "GET", &access, serde_json::Value::Null).await.0, 410);
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
