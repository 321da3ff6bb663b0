//! Access control as people meet it: a real `medk-server` process set up with
//! its `admin` commands, people signed in over its HTTP API, and their devices
//! syncing over real WebSockets.
//!
//! - The permission matrix: every role against a roadmap of their own unit,
//!   the parent, a child, a sibling and an unrelated unit, published or not,
//!   for reading (is the roadmap sent, or `doc-unavailable`?) and writing (is
//!   the change stored, or ignored and flagged read-only?). The expectations
//!   are written out here from the rules in the issue, not computed.
//! - Rights taken away or given back reach live connections.
//! - Sessions: none, foreign origins, ended sessions.
//! - Hostile frames: the server closes the sender with a clear code, keeps
//!   serving others, and stores nothing from them.

use std::collections::HashMap;
use std::time::Duration;

use automerge::AutoCommit;
use futures_util::SinkExt as _;
use medk_shared::ids::{DocumentId, RowId};
use medk_shared::sync::message::Message;
use serde_json::json;
use tokio_tungstenite::tungstenite::Message as Ws;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

mod common;
use common::{
    Device, PASSWORD, Server, close_code, create_user, mark, roadmap, roadmap_by, set_up, try_socket,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    None,
    Read,
    Write,
}
use Expect::{None as N, Read as R, Write as W};

/// (person, relation, roadmap's unit, published, expected right).
const MATRIX: &[(&str, &str, &str, bool, Expect)] = &[
    // A coordinator writes their unit's roadmaps and reads everything below.
    ("fed", "own", "rf", false, W),
    ("fed", "child", "r1", false, R),
    ("fed", "grandchild", "s4", false, R),
    ("reg", "own", "r1", false, W),
    ("reg", "parent", "rf", false, N),
    ("reg", "parent", "rf", true, R),
    ("reg", "child", "m1", false, R),
    ("reg", "grandchild", "s1", false, R),
    ("reg", "sibling", "r2", false, N),
    ("reg", "sibling", "r2", true, N),
    ("reg", "unrelated", "m3", false, N),
    ("mun", "own", "m1", false, W),
    ("mun", "parent", "r1", false, N),
    ("mun", "parent", "r1", true, R),
    ("mun", "child", "s1", false, R),
    ("mun", "sibling", "m2", false, N),
    ("mun", "unrelated", "s4", true, N),
    // A curator writes the assigned school's roadmaps only.
    ("cur", "own (assigned school)", "s1", false, W),
    ("cur", "parent", "m1", false, N),
    ("cur", "parent", "m1", true, R),
    ("cur", "sibling (not assigned)", "s2", false, N),
    ("cur", "unrelated", "s4", false, N),
    // A school team writes its own school's.
    ("sch", "own", "s1", false, W),
    ("sch", "parent", "m1", false, N),
    ("sch", "parent", "m1", true, R),
    ("sch", "sibling", "s2", false, N),
    ("sch", "sibling", "s2", true, N),
    ("sch", "unrelated", "s4", true, N),
    // An observer reads what is published in their part of the tree.
    ("obs", "own", "r1", false, N),
    ("obs", "own", "r1", true, R),
    ("obs", "parent", "rf", true, R),
    ("obs", "child", "m1", false, N),
    ("obs", "child", "m1", true, R),
    ("obs", "sibling", "r2", true, N),
    ("obs", "unrelated", "m3", true, N),
];

fn key_of(login: &str) -> String {
    format!("by-{login}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_role_reads_and_writes_exactly_what_the_rules_say() {
    let data = tempfile::tempdir().unwrap();
    set_up(data.path());
    let server = Server::start(data.path());
    let fed = server.login("fed").await;

    // One roadmap per (unit, published) the matrix names, made by the
    // federal coordinator and moved to its unit.
    let mut roadmaps: HashMap<(&str, bool), DocumentId> = HashMap::new();
    let mut maker = server.device(&fed, "maker").await;
    for (_, _, unit, published, _) in MATRIX {
        roadmaps.entry((unit, *published)).or_insert_with(|| {
            let (id, doc) = roadmap(&format!("{unit} published={published}"));
            maker.docs.insert(id, doc);
            id
        });
    }
    maker.sync().await;
    for ((unit, published), id) in &roadmaps {
        // Registered before the relay acknowledges it (a sync that stops at
        // 300 ms of quiet may return first under load).
        maker.acknowledged(*id, Duration::from_secs(60)).await;
        server.place(&fed, *id, unit, *published).await;
    }

    // Each person asks for their roadmaps, then tries to change the readable ones.
    let mut failures = Vec::new();
    for login in ["fed", "reg", "mun", "cur", "sch", "obs"] {
        let token = server.login(login).await;
        let mut device = server.device(&token, login).await;
        let cases: Vec<_> = MATRIX.iter().filter(|c| c.0 == login).collect();
        for (_, _, unit, published, _) in &cases {
            device.docs.insert(roadmaps[&(*unit, *published)], AutoCommit::new());
        }
        device.sync().await;
        for (_, relation, unit, published, expect) in &cases {
            let id = roadmaps[&(*unit, *published)];
            let title = device.title(id);
            let readable = title.is_some();
            if readable != (*expect != N) || device.unavailable.contains(&id) == readable {
                failures.push(format!("{login} / {relation} ({unit}, published={published}): read {title:?}, expected {expect:?}"));
            }
            if let Some(doc) = device.docs.get_mut(&id) {
                mark(doc, &key_of(login), "changed");
            }
            let flagged = device.client.relay_read_only(&id);
            if readable && flagged != (*expect == R) {
                failures.push(format!(
                    "{login} / {relation}: relay read-only flag {flagged}, expected {expect:?}"
                ));
            }
        }
        device.sync().await;
    }

    // What the relay stored, as a fresh device of the federal coordinator
    // (who reads everything here) gets it.
    let mut check = server.device(&fed, "check").await;
    for id in roadmaps.values() {
        check.docs.insert(*id, AutoCommit::new());
    }
    check.sync().await;
    for (login, relation, unit, published, expect) in MATRIX {
        let id = roadmaps[&(*unit, *published)];
        let stored = check.mark(id, &key_of(login)).is_some();
        if stored != (*expect == W) {
            failures.push(format!("{login} / {relation} ({unit}, published={published}): change stored: {stored}, expected {expect:?}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases wrong:\n{}",
        failures.len(),
        MATRIX.len(),
        failures.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rights_changed_in_the_app_reach_live_connections() {
    let data = tempfile::tempdir().unwrap();
    set_up(data.path());
    let server = Server::start(data.path());
    let mun = server.login("mun").await;
    let sch = server.login("sch").await;
    let people: serde_json::Value = server.call(&mun, "GET", "/api/people", serde_json::Value::Null).await.1;
    let sch_id = people["people"].as_array().unwrap().iter().find(|p| p["login"] == "sch").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // The school team makes its roadmap; it is theirs (school s1).
    let (id, doc) = roadmap("Школа s1");
    let mut team = server.device(&sch, "team").await;
    team.docs.insert(id, doc);
    team.acknowledged(id, Duration::from_secs(60)).await;
    let mut coordinator = server.device(&mun, "coordinator").await;
    coordinator.docs.insert(id, AutoCommit::new());
    coordinator.sync().await;
    assert_eq!(coordinator.title(id).as_deref(), Some("Школа s1"));

    // Limited to reading while connected: the next change is not taken.
    let grant = format!("/api/roadmaps/{id}/grants/{sch_id}");
    let (status, body) = server.call(&mun, "PUT", &grant, serde_json::json!({ "right": "read" })).await;
    assert_eq!(status, 200, "{body}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    team.sync().await;
    assert!(team.client.relay_read_only(&id), "the relay told the device it only reads now");
    mark(team.docs.get_mut(&id).unwrap(), "while-read-only", "x");
    team.sync().await;
    coordinator.sync().await;
    assert_eq!(coordinator.mark(id, "while-read-only"), None, "not stored, not relayed");

    // Writing again: the relay asks for what it ignored, and gets it.
    let (status, _) = server.call(&mun, "DELETE", &grant, serde_json::Value::Null).await;
    assert_eq!(status, 200);
    tokio::time::sleep(Duration::from_millis(300)).await;
    team.sync().await;
    coordinator.sync().await;
    assert_eq!(coordinator.mark(id, "while-read-only").as_deref(), Some("x"), "resent once allowed");

    // Revoked: the live device is told the roadmap is unavailable.
    let (status, _) = server.call(&mun, "PUT", &grant, serde_json::json!({ "right": "none" })).await;
    assert_eq!(status, 200);
    // (An answer to its last sync may still be on its way first.)
    let told = tokio::time::timeout(Duration::from_secs(3), async {
        loop {
            match team.next_event().await {
                medk_shared::sync::client::Event::Sync { .. } => continue,
                event => return event,
            }
        }
    })
    .await
    .expect("within seconds");
    assert!(matches!(told, medk_shared::sync::client::Event::Unavailable { doc } if doc == id), "{told:?}");
    // And a school team cannot grant itself anything.
    let (status, _) = server.call(&sch, "PUT", &grant, serde_json::json!({ "right": "write" })).await;
    assert_eq!(status, 404, "not even told the roadmap exists");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_needs_a_live_session_from_this_origin() {
    let data = tempfile::tempdir().unwrap();
    set_up(data.path());
    let server = Server::start(data.path());
    assert_eq!(try_socket(server.addr, None, None).await.err(), Some(401), "no session");
    assert_eq!(try_socket(server.addr, Some("forged"), None).await.err(), Some(401), "unknown token");
    let token = server.login("sch").await;
    let evil = Some("http://evil.example");
    assert_eq!(try_socket(server.addr, Some(&token), evil).await.err(), Some(403), "foreign origin");
    let own = format!("http://{}", server.addr);
    assert!(try_socket(server.addr, Some(&token), Some(&own)).await.is_ok());

    // Wrong passwords are refused, and repeated ones throttled.
    let attempt = |password: &'static str| {
        let http = server.http.clone();
        let url = server.url("/api/login");
        async move {
            http.post(url)
                .header("content-type", "application/json")
                .body(serde_json::json!({ "login": "obs", "password": password }).to_string())
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    for _ in 0..8 {
        assert_eq!(attempt(PASSWORD).await, 200, "signing in on many devices is never throttled");
    }
    let statuses = [
        attempt("nope").await,
        attempt("nope").await,
        attempt("nope").await,
        attempt("nope").await,
        attempt("nope").await,
        attempt(PASSWORD).await,
    ];
    assert_eq!(statuses, [401, 401, 401, 401, 401, 429], "the sixth try waits, even with the right password");

    // Signing out ends the session's sync connection (4001) and the session.
    let mut device = server.device(&token, "tablet").await;
    let (status, _) = server.call(&token, "POST", "/api/logout", serde_json::Value::Null).await;
    assert_eq!(status, 204);
    assert_eq!(close_code(&mut device.socket).await, Some(CloseCode::from(4001)));
    assert_eq!(try_socket(server.addr, Some(&token), None).await.err(), Some(401));
    let (status, _) = server.call(&token, "GET", "/api/me", serde_json::Value::Null).await;
    assert_eq!(status, 401);
}

/// Frames a hostile or broken client might send, each on its own connection
/// after a proper `join`, with the close code the relay must answer.
fn hostile_frames(
    peer: &str,
    doc: DocumentId,
    foreign: DocumentId,
) -> Vec<(&'static str, Vec<u8>, Option<u16>)> {
    let sync = |document_id, data: Vec<u8>| {
        Message::Sync { sender_id: peer.into(), target_id: "relay".into(), document_id, data }.encode()
    };
    // A real sync message carrying a change (after the opening exchange an
    // empty peer would have had).
    let (_, mut other) = roadmap("injected");
    mark(&mut other, "injected", "yes");
    let real = {
        use automerge::sync::{State, SyncDoc as _};
        let (mut theirs, mut ours, mut empty) = (State::new(), State::new(), AutoCommit::new());
        let hello = other.sync().generate_sync_message(&mut ours).unwrap();
        empty.sync().receive_sync_message(&mut theirs, hello).unwrap();
        let need = empty.sync().generate_sync_message(&mut theirs).unwrap();
        other.sync().receive_sync_message(&mut ours, need).unwrap();
        let with_change = other.sync().generate_sync_message(&mut ours).unwrap();
        assert_eq!(with_change.changes.len(), 1);
        with_change.encode()
    };
    let mut bad_checksum = real.clone();
    let at = real.len() - 100;
    bad_checksum[at] ^= 0x55;
    let valid = sync(doc, real.clone());
    let mut huge_length = vec![0xa4, 0x64, b't', b'y', b'p', b'e', 0x64, b's', b'y', b'n', b'c', 0x64];
    huge_length.extend(b"data");
    huge_length.extend([0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]); // bytes of length 2^64-1
    vec![
        ("not CBOR", vec![0xff, 0x00, 0x13], Some(1007)),
        ("truncated frame", valid[..valid.len() / 2].to_vec(), Some(1007)),
        ("a number where the type goes", vec![0xa1, 0x64, b't', b'y', b'p', b'e', 0x01], Some(1007)),
        ("a declared length of 2^64-1", huge_length, Some(1007)),
        ("invalid Automerge data", sync(doc, vec![0x42, 0xff, 0xff, 0xff, 0xff, 0x0f]), Some(1007)),
        ("a change cut short", sync(doc, real[..real.len() - 10].to_vec()), Some(1007)),
        ("a change with a wrong checksum", sync(doc, bad_checksum), Some(1007)),
        ("a change to a roadmap it may not write", sync(foreign, real), None),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_frames_close_their_sender_and_store_nothing() {
    let data = tempfile::tempdir().unwrap();
    set_up(data.path());
    let server = Server::start(data.path());
    let fed = server.login("fed").await;
    let sch = server.login("sch").await;
    // The federal coordinator's roadmap (rf: the school team has no access).
    let (foreign, doc) = roadmap("federal");
    let mut good = server.device(&fed, "good").await;
    good.docs.insert(foreign, doc);
    good.sync().await;
    let doc = DocumentId::from_bytes([10; 16]);

    for (what, frame, code) in hostile_frames("evil", doc, foreign) {
        let mut evil = server.device(&sch, "evil").await;
        evil.socket.send(Ws::binary(frame)).await.unwrap();
        match code {
            Some(code) => {
                assert_eq!(close_code(&mut evil.socket).await, Some(CloseCode::from(code)), "{what}")
            }
            None => {
                let event = evil.next_event().await;
                assert!(
                    matches!(event, medk_shared::sync::client::Event::Unavailable { doc } if doc == foreign),
                    "{what}: {event:?}"
                );
            }
        }
        // Meanwhile the well-behaved device keeps syncing.
        mark(good.docs.get_mut(&foreign).unwrap(), "still", what);
        good.sync().await;
    }

    // Too many frames too fast: closed with 4008.
    let mut flood = server.device(&sch, "flood").await;
    let frame = Message::Ephemeral {
        sender_id: flood.client.peer_id().into(),
        target_id: "relay".into(),
        document_id: doc,
        session_id: "s".into(),
        count: 0,
        data: vec![0xa0],
    }
    .encode();
    let mut sent = 0;
    while sent < 30_000 && flood.socket.send(Ws::binary(frame.clone())).await.is_ok() {
        sent += 1;
    }
    assert_eq!(close_code(&mut flood.socket).await, Some(CloseCode::from(4008)));

    // Nothing from them was stored: the foreign roadmap has only its own
    // changes, and the roadmap the garbage was aimed at does not exist.
    let mut check = server.device(&fed, "check").await;
    check.docs.insert(foreign, AutoCommit::new());
    check.docs.insert(doc, AutoCommit::new());
    check.sync().await;
    assert_eq!(check.title(foreign).as_deref(), Some("federal"));
    assert_eq!(check.mark(foreign, "injected"), None);
    assert!(check.unavailable.contains(&doc), "nothing was stored under the garbage's id");
    let still = check.mark(foreign, "still");
    assert_eq!(
        still.as_deref(),
        Some("a change to a roadmap it may not write"),
        "the good device kept syncing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn coordinators_invite_people_into_their_part_of_the_tree() {
    let data = tempfile::tempdir().unwrap();
    set_up(data.path());
    let server = Server::start(data.path());
    let reg = server.login("reg").await;
    let mun = server.login("mun").await;

    // Units and invitations only below one's own unit.
    let (status, unit) = server
        .call(&reg, "POST", "/api/units", json!({"parent": "m2", "level": "school", "name": "Школа № 7"}))
        .await;
    assert_eq!(status, 201, "{unit}");
    let school = unit["id"].as_str().unwrap().to_owned();
    let (status, _) = server
        .call(&reg, "POST", "/api/units", json!({"parent": "r2", "level": "municipality", "name": "Чужой"}))
        .await;
    assert_eq!(status, 403, "not the regional coordinator's region");
    let (status, _) =
        server.call(&mun, "POST", "/api/invitations", json!({"role": "school-team", "unit": school})).await;
    assert_eq!(status, 403, "m1's coordinator does not manage m2's school");
    let (status, body) =
        server.call(&reg, "POST", "/api/invitations", json!({"role": "school-team", "unit": "m2"})).await;
    assert_eq!(status, 400, "a school team belongs to a school: {body}");
    let (status, invitation) =
        server.call(&reg, "POST", "/api/invitations", json!({"role": "school-team", "unit": school})).await;
    assert_eq!(status, 201);
    let code = invitation["code"].as_str().unwrap().to_owned();

    // Whoever has the link sees what it is for, and registers once.
    let (_, shown) =
        server.call("", "GET", &format!("/api/invitations/{code}"), serde_json::Value::Null).await;
    assert_eq!(shown["role"], "school-team");
    assert!(shown["unit_name"].as_str().unwrap().starts_with("Школа № 7"), "{shown}");
    let accept = format!("/api/invitations/{code}/accept");
    let (status, _) = server
        .call("", "POST", &accept, json!({"login": "sch", "name": "Дубль", "password": PASSWORD}))
        .await;
    assert_eq!(status, 409, "login taken");
    let (status, me) = server
        .call("", "POST", &accept, json!({"login": "director7", "name": "Директор", "password": PASSWORD}))
        .await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["person"]["unit"], school.as_str());
    let (status, _) = server.call("", "POST", &accept, json!({"login": "again", "password": PASSWORD})).await;
    assert_eq!(status, 404, "used up");
    let director = server.login("director7").await;

    // The coordinator sees them; a password change ends their other sessions.
    let (_, people) = server.call(&reg, "GET", "/api/people", serde_json::Value::Null).await;
    assert!(people["people"].as_array().unwrap().iter().any(|p| p["login"] == "director7"), "{people}");
    let (status, _) = server.call(&director, "GET", "/api/people", serde_json::Value::Null).await;
    assert_eq!(status, 403, "school teams manage nobody");
    let other_device = server.login("director7").await;
    let (status, _) = server
        .call(&director, "POST", "/api/password", json!({"current": "wrong-one", "new": "new-password"}))
        .await;
    assert_eq!(status, 403);
    let (status, _) = server
        .call(&director, "POST", "/api/password", json!({"current": PASSWORD, "new": "new-password"}))
        .await;
    assert_eq!(status, 204);
    assert_eq!(server.call(&other_device, "GET", "/api/me", serde_json::Value::Null).await.0, 401);
    assert_eq!(
        server.call(&director, "GET", "/api/me", serde_json::Value::Null).await.0,
        200,
        "this device stays signed in"
    );

    // Assigning a curator a school the coordinator does not manage is refused;
    // disabling someone ends their sessions.
    let (_, people) = server.call(&mun, "GET", "/api/people", serde_json::Value::Null).await;
    let cur = people["people"].as_array().unwrap().iter().find(|p| p["login"] == "cur").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, _) =
        server.call(&mun, "PUT", &format!("/api/people/{cur}"), json!({"schools": ["s1", "s4"]})).await;
    assert_eq!(status, 403);
    let (status, person) =
        server.call(&mun, "PUT", &format!("/api/people/{cur}"), json!({"schools": ["s1", "s2"]})).await;
    assert_eq!(status, 200);
    assert_eq!(person["schools"], json!(["s1", "s2"]));
    let cur_token = server.login("cur").await;
    let (status, _) =
        server.call(&mun, "PUT", &format!("/api/people/{cur}"), json!({"disabled": true})).await;
    assert_eq!(status, 200);
    assert_eq!(server.call(&cur_token, "GET", "/api/me", serde_json::Value::Null).await.0, 401);

    // Changes must be JSON from this origin.
    let form = server
        .http
        .post(server.url("/api/invitations"))
        .header("cookie", format!("medk_session={reg}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("role=observer&unit=r1")
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), 415);
    let cross = server
        .http
        .post(server.url("/api/invitations"))
        .header("cookie", format!("medk_session={reg}"))
        .header("content-type", "application/json")
        .header("origin", "http://evil.example")
        .body(json!({"role": "observer", "unit": "r1"}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(cross.status(), 403);
}

#[test]
fn the_first_start_leaves_a_private_link_for_the_first_account() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path());
    let file = data.path().join("first-admin.txt");
    let text = std::fs::read_to_string(&file).unwrap();
    let link = text.lines().find(|l| l.contains("/invite/")).unwrap().trim().to_owned();
    assert!(link.starts_with(&format!("http://{}/invite/", server.addr)), "{link}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
    }
    drop(server);
    create_user(data.path(), "admin", "federal-coordinator", "rf", &[]);
    let _server = Server::start(data.path());
    assert!(!file.exists(), "removed once an account exists");
}

/// The relay holds the school file to the rules the school screen's buttons
/// follow, for any client: the school team files and submits documents, but
/// a confirmation it writes itself is not taken (its device is told the
/// relay is read-only for the file) while the curator's is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_curators_and_coordinators_confirm_a_schools_documents() {
    use medk_shared::school::{Blob, Decision, DocumentKind, SchoolDoc, SchoolEdit, school_file_id};
    let data = tempfile::tempdir().unwrap();
    set_up(data.path());
    let server = Server::start(data.path());
    let id = school_file_id("s1");
    const MARCH_10: i64 = 1_615_363_200_000;
    let decide = |decision: Decision, by: &str| SchoolEdit::Decide {
        document: RowId::new("d1"),
        decision,
        remarks: String::new(),
        by: by.into(),
        by_name: by.into(),
    };
    let apply = |device: &mut Device, edits: Vec<SchoolEdit>, time_ms: i64| {
        let doc = device.docs.remove(&id).expect("the device has the school file");
        let mut file = SchoolDoc::from_automerge(doc).expect("a school file");
        file.apply(edits, time_ms, "edit").unwrap();
        device.docs.insert(id, file.automerge().clone());
    };
    let reviews = |device: &Device| -> Vec<(Decision, String)> {
        let file = SchoolDoc::from_automerge(device.docs[&id].clone()).expect("a school file");
        file.read()
            .documents
            .iter()
            .flat_map(|d| d.reviews.iter().map(|r| (r.decision, r.by.id.clone())))
            .collect()
    };

    // The school team opens its file and files the concept, submitted.
    let sch = server.login("sch").await;
    let sch_id = server.person_id(&sch).await;
    let mut team = server.device(&sch, "team").await;
    team.docs.insert(id, SchoolDoc::genesis("s1").automerge().clone());
    let blob = Blob {
        address: format!("sha256:{}", "a".repeat(64)),
        name: "к.docx".into(),
        size: 1,
        mime: String::new(),
    };
    apply(
        &mut team,
        vec![
            SchoolEdit::AttachDocument {
                id: RowId::new("d1"),
                kind: DocumentKind::Concept,
                title: "Концепция".into(),
                blob,
            },
            decide(Decision::Submitted, &sch_id),
        ],
        MARCH_10,
    );
    team.sync().await;
    assert!(!team.client.relay_read_only(&id), "filing and submitting is the team's to do");

    // It then confirms its own document: not taken.
    apply(&mut team, vec![decide(Decision::Confirmed, &sch_id)], MARCH_10 + 60_000);
    team.sync().await;
    assert!(team.client.relay_read_only(&id), "the relay tells the team's device it took nothing");

    // The curator sees the submission only, and confirms it.
    let cur = server.login("cur").await;
    let cur_id = server.person_id(&cur).await;
    let mut curator = server.device(&cur, "curator").await;
    curator.docs.insert(id, AutoCommit::new());
    curator.sync().await;
    assert_eq!(reviews(&curator), vec![(Decision::Submitted, sch_id.clone())]);
    apply(&mut curator, vec![decide(Decision::Confirmed, &cur_id)], MARCH_10 + 3_600_000);
    curator.sync().await;
    assert!(!curator.client.relay_read_only(&id));

    // What the relay keeps, as a fresh device of the federal coordinator
    // reads it, even after the team's device connects again.
    let forged = team.docs.remove(&id).unwrap();
    drop(team);
    let mut team = server.device(&sch, "team again").await;
    team.docs.insert(id, forged);
    team.sync().await;
    assert!(team.client.relay_read_only(&id), "refused again in the new session");
    let fed = server.login("fed").await;
    let mut check = server.device(&fed, "check").await;
    check.docs.insert(id, AutoCommit::new());
    check.sync().await;
    assert_eq!(
        reviews(&check),
        vec![(Decision::Submitted, sch_id.clone()), (Decision::Confirmed, cur_id.clone())]
    );
}

/// One curator assignment: the coordinator names the curator in the
/// school's file («Участники»), and the rights follow it once the relay
/// takes the change: the new curator writes the school's file, the one it
/// replaced no longer does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_curators_rights_follow_the_school_files_assignment() {
    use medk_shared::school::{PersonRef, SchoolDoc, SchoolEdit, school_file_id};
    let data = tempfile::tempdir().unwrap();
    set_up(data.path());
    create_user(data.path(), "cur2", "curator", "m1", &[]);
    let server = Server::start(data.path());
    let id = school_file_id("s1");
    let mun = server.login("mun").await;
    let cur2 = server.login("cur2").await;
    let cur2_id = server.person_id(&cur2).await;
    let schools_of = |people: &serde_json::Value, login: &str| {
        people["people"].as_array().unwrap().iter().find(|p| p["login"] == login).unwrap()["schools"].clone()
    };
    let (_, people) = server.call(&mun, "GET", "/api/people", serde_json::Value::Null).await;
    assert_eq!(schools_of(&people, "cur"), json!(["s1"]));
    assert_eq!(schools_of(&people, "cur2"), json!([]));

    // Her device has the file as the server does (it names `cur`, whom
    // `admin create-user --school` assigned), then she names another.
    let mut coordinator = server.device(&mun, "coordinator").await;
    coordinator.docs.insert(id, SchoolDoc::genesis("s1").automerge().clone());
    coordinator.sync().await;
    let mut file = SchoolDoc::from_automerge(coordinator.docs.remove(&id).unwrap()).unwrap();
    assert!(file.read().assignment.curator.is_some(), "the server's file names the first curator");
    let curator = PersonRef { id: cur2_id.clone(), name: "Второй куратор".into() };
    file.apply(vec![SchoolEdit::SetAssignment { curator: Some(curator), coordinator: None }], 1, "assign")
        .unwrap();
    coordinator.docs.insert(id, file.automerge().clone());
    coordinator.acknowledged(id, Duration::from_secs(60)).await;

    // The rights follow the file off the relay's task, after it is stored.
    let asked = std::time::Instant::now();
    let people = loop {
        let (_, people) = server.call(&mun, "GET", "/api/people", serde_json::Value::Null).await;
        if schools_of(&people, "cur2") != json!([]) || asked.elapsed() > Duration::from_secs(30) {
            break people;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(schools_of(&people, "cur2"), json!(["s1"]), "the named curator gets the school");
    assert_eq!(schools_of(&people, "cur"), json!([]), "the one replaced loses it");
    let mut device = server.device(&cur2, "new curator").await;
    device.docs.insert(id, AutoCommit::new());
    device.sync().await;
    let read = SchoolDoc::from_automerge(device.docs[&id].clone()).expect("the new curator reads the file");
    assert_eq!(read.read().assignment.curator.map(|p| p.id), Some(cur2_id));
}

/// Every path that assigns a curator outside the app ends in the school's
/// file, as the app's does: `admin create-user --school`, `PUT
/// /api/people/{id}` with `schools`, and a curator's invitation naming
/// schools. The file names the curator (a device with it open gets the
/// change at once), and the rights follow the file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_way_of_assigning_a_curator_writes_the_school_file() {
    use medk_shared::school::{SchoolDoc, school_file_id};
    let data = tempfile::tempdir().unwrap();
    set_up(data.path()); // `cur` is created with `--school s1`
    let server = Server::start(data.path());
    let (s1, s2) = (school_file_id("s1"), school_file_id("s2"));
    let mun = server.login("mun").await;
    let cur = server.login("cur").await;
    let cur_id = server.person_id(&cur).await;
    let curator_of = |device: &common::Device, id: DocumentId| {
        SchoolDoc::from_automerge(device.docs[&id].clone()).unwrap().read().assignment.curator
    };
    let schools_of = |people: &serde_json::Value, login: &str| {
        people["people"].as_array().unwrap().iter().find(|p| p["login"] == login).unwrap()["schools"].clone()
    };

    // The admin command wrote the file.
    let mut watcher = server.device(&mun, "coordinator's tablet").await;
    watcher.docs.insert(s1, SchoolDoc::genesis("s1").automerge().clone());
    watcher.docs.insert(s2, SchoolDoc::genesis("s2").automerge().clone());
    watcher.sync().await;
    let named = curator_of(&watcher, s1).expect("the admin command named the curator in s1's file");
    assert_eq!(named.id, cur_id);
    assert_eq!(curator_of(&watcher, s2), None);

    // The API moves the curator from s1 to s2: both files say so, and the
    // device that has them open hears it without asking.
    let (status, person) =
        server.call(&mun, "PUT", &format!("/api/people/{cur_id}"), json!({"schools": ["s2"]})).await;
    assert_eq!(status, 200, "{person}");
    assert_eq!(person["schools"], json!(["s2"]));
    watcher.sync().await;
    assert_eq!(curator_of(&watcher, s2).map(|c| c.id), Some(cur_id.clone()), "s2's file names the curator");
    assert_eq!(curator_of(&watcher, s1), None, "s1's file no longer does");
    let mut curator = server.device(&cur, "curator").await;
    curator.docs.insert(s2, AutoCommit::new());
    curator.docs.insert(s1, AutoCommit::new());
    curator.sync().await;
    assert!(curator.docs.contains_key(&s2), "the curator reads s2's file");
    assert!(curator.unavailable.contains(&s1), "and no longer s1's");

    // A curator invited for s1 is s1's curator from the moment they register;
    // the one who served it no longer is.
    let (status, invitation) = server
        .call(
            &mun,
            "POST",
            "/api/invitations",
            json!({"role": "curator", "unit": "m1", "schools": ["s1", "s2"]}),
        )
        .await;
    assert_eq!(status, 201, "{invitation}");
    let code = invitation["code"].as_str().unwrap();
    let accept = format!("/api/invitations/{code}/accept");
    let (status, me) = server
        .call("", "POST", &accept, json!({"login": "newcur", "name": "Новый куратор", "password": PASSWORD}))
        .await;
    assert_eq!(status, 200, "{me}");
    watcher.sync().await;
    for id in [s1, s2] {
        let named = curator_of(&watcher, id).expect("the invited curator is named");
        assert_eq!(named.name, "Новый куратор");
    }
    let (_, people) = server.call(&mun, "GET", "/api/people", serde_json::Value::Null).await;
    assert_eq!(schools_of(&people, "newcur"), json!(["s1", "s2"]));
    assert_eq!(schools_of(&people, "cur"), json!([]), "replaced in s2's file");
}

/// A roadmap is listed by its title before it is on a device: the relay
/// keeps the title it reads from the changes it takes, from the first one
/// that registers it to a rename.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roadmaps_are_listed_by_the_title_the_relay_read() {
    use medk_shared::doc::{Edit, RoadmapDoc, TextTarget};
    use medk_shared::model::HeaderField;
    let data = tempfile::tempdir().unwrap();
    set_up(data.path());
    let server = Server::start(data.path());
    let sch = server.login("sch").await;
    let sch_id = server.person_id(&sch).await;
    let mun = server.login("mun").await;
    let (id, doc) = roadmap_by("Дорожная карта школы № 1", &sch_id);
    let mut device = server.device(&sch, "team").await;
    device.docs.insert(id, doc);
    device.acknowledged(id, Duration::from_secs(60)).await;
    let title_for = |list: &serde_json::Value| {
        list.as_array().unwrap().iter().find(|r| r["id"] == id.to_string()).map(|r| r["title"].clone())
    };
    let (_, list) = server.call(&mun, "GET", "/api/roadmaps", serde_json::Value::Null).await;
    assert_eq!(title_for(&list), Some(json!("Дорожная карта школы № 1")), "{list}");

    let mut file = RoadmapDoc::from_automerge(device.docs.remove(&id).unwrap()).unwrap();
    let rename = Edit::SetText {
        target: TextTarget::Header(HeaderField::Title),
        value: "Новое название".into(),
    };
    file.apply(vec![rename], 1, "rename").unwrap();
    device.docs.insert(id, file.automerge().clone());
    device.sync().await;
    // The title is written off the relay's task, maybe after its answer.
    let started = std::time::Instant::now();
    loop {
        let (_, list) = server.call(&sch, "GET", "/api/roadmaps", serde_json::Value::Null).await;
        if title_for(&list) == Some(json!("Новое название")) {
            break;
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(30), "{list}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// «Дата принятия плана» of a school's roadmap is the coordinator's to
/// state, though they only read the roadmap: the server writes it into the
/// roadmap through its relay, signed with her name, and the school's device
/// with the roadmap open hears it. Writers who manage nothing, people who
/// cannot read it, and text that is not a date are refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_coordinator_states_when_a_school_plan_was_adopted() {
    use medk_shared::doc::RoadmapDoc;
    let data = tempfile::tempdir().unwrap();
    set_up(data.path());
    let server = Server::start(data.path());
    let sch = server.login("sch").await;
    let sch_id = server.person_id(&sch).await;
    let (id, doc) = roadmap_by("Дорожная карта школы № 1", &sch_id);
    let mut device = server.device(&sch, "team").await;
    device.docs.insert(id, doc);
    device.sync().await;
    let path = format!("/api/roadmaps/{id}/adopted-on");
    let adopted_on = |device: &Device| {
        RoadmapDoc::from_automerge(device.docs[&id].clone()).unwrap().read().header.adopted_on
    };

    for (login, status) in [("sch", 403), ("cur", 403), ("obs", 404)] {
        let cookie = server.login(login).await;
        let (got, answer) = server.call(&cookie, "PUT", &path, json!({"adopted_on": "2021-01-15"})).await;
        assert_eq!(got, status, "{login}: {answer}");
    }
    let mun = server.login("mun").await;
    let (status, answer) = server.call(&mun, "PUT", &path, json!({"adopted_on": "15.01.2021"})).await;
    assert_eq!(status, 400, "{answer}");
    device.sync().await;
    assert_eq!(adopted_on(&device), "", "nothing refused was written");

    let (status, answer) = server.call(&mun, "PUT", &path, json!({"adopted_on": "2021-01-15"})).await;
    assert_eq!(status, 200, "{answer}");
    device.sync().await;
    assert_eq!(adopted_on(&device), "2021-01-15");
    let last = device
        .docs
        .get_mut(&id)
        .unwrap()
        .get_changes(&[])
        .last()
        .and_then(|c| c.message().map(str::to_owned));
    let (_, me) = server.call(&mun, "GET", "/api/me", serde_json::Value::Null).await;
    let name = me["person"]["name"].as_str().unwrap().to_owned();
    assert!(last.as_deref().is_some_and(|m| m.contains(&name)), "signed by the coordinator: {last:?}");

    // Cleared again by the regional coordinator above her.
    let reg = server.login("reg").await;
    let (status, answer) = server.call(&reg, "PUT", &path, json!({"adopted_on": ""})).await;
    assert_eq!(status, 200, "{answer}");
    device.sync().await;
    assert_eq!(adopted_on(&device), "");
}

/// Moving a roadmap takes managing its unit (and the target): a write grant
/// does not let a school team of another region carry a municipality's
/// roadmap off to its school, out of the municipality's reach.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_grant_does_not_let_the_grantee_move_the_roadmap() {
    let data = tempfile::tempdir().unwrap();
    set_up(data.path());
    create_user(data.path(), "sch4", "school-team", "s4", &[]);
    let server = Server::start(data.path());
    let mun = server.login("mun").await;
    let sch4 = server.login("sch4").await;
    let sch4_id = server.person_id(&sch4).await;

    // The municipality's roadmap, with a write grant for the other region's school team.
    let (id, doc) = roadmap("Муниципальная дорожная карта");
    let mut device = server.device(&mun, "municipality").await;
    device.docs.insert(id, doc);
    device.acknowledged(id, Duration::from_secs(60)).await;
    let grant = format!("/api/roadmaps/{id}/grants/{sch4_id}");
    let (status, body) = server.call(&mun, "PUT", &grant, json!({ "right": "write" })).await;
    assert_eq!(status, 200, "{body}");

    let access = format!("/api/roadmaps/{id}/access");
    let (status, body) = server.call(&sch4, "PUT", &access, json!({ "unit": "s4" })).await;
    assert_eq!(status, 403, "the grantee may not move it: {body}");
    let (status, body) = server.call(&sch4, "PUT", &access, json!({ "unit": "m1" })).await;
    assert_eq!(status, 403, "not even where it is: {body}");
    let (_, body) = server.call(&mun, "GET", &access, serde_json::Value::Null).await;
    assert_eq!(body["unit"], "m1", "still the municipality's");

    // The municipality still manages it: it moves it to its school and takes the grant back.
    let (status, body) = server.call(&mun, "PUT", &access, json!({ "unit": "s1" })).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = server.call(&mun, "PUT", &access, json!({ "unit": "s4" })).await;
    assert_eq!(status, 403, "not to a school it does not manage: {body}");
    let (status, body) = server.call(&mun, "DELETE", &grant, serde_json::Value::Null).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(server.call(&sch4, "GET", &access, serde_json::Value::Null).await.0, 404);
}

/// Two coordinators of one municipality cannot disable each other (the
/// first to try would lock the other out); their regional coordinator can,
/// and either of them can disable a school team below.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn coordinators_of_one_unit_cannot_disable_each_other() {
    let data = tempfile::tempdir().unwrap();
    set_up(data.path());
    create_user(data.path(), "mun2", "municipal-coordinator", "m1", &[]);
    let server = Server::start(data.path());
    let mun = server.login("mun").await;
    let mun2 = server.login("mun2").await;
    let reg = server.login("reg").await;
    let (mun_id, mun2_id) = (server.person_id(&mun).await, server.person_id(&mun2).await);
    let sch_id = server.person_id(&server.login("sch").await).await;
    let disable = json!({ "disabled": true });

    let (status, body) = server.call(&mun, "PUT", &format!("/api/people/{mun2_id}"), disable.clone()).await;
    assert_eq!(status, 403, "{body}");
    let (status, body) = server.call(&mun2, "PUT", &format!("/api/people/{mun_id}"), disable.clone()).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(server.call(&mun2, "GET", "/api/me", serde_json::Value::Null).await.0, 200, "still signed in");
    let reg_id = server.person_id(&reg).await;
    let (status, _) = server.call(&mun, "PUT", &format!("/api/people/{reg_id}"), disable.clone()).await;
    assert_eq!(status, 403, "nor their regional coordinator");

    let (status, body) = server.call(&mun, "PUT", &format!("/api/people/{sch_id}"), disable.clone()).await;
    assert_eq!(status, 200, "a school team below: {body}");
    let (status, body) = server.call(&reg, "PUT", &format!("/api/people/{mun2_id}"), disable).await;
    assert_eq!(status, 200, "from above: {body}");
    assert_eq!(server.call(&mun2, "GET", "/api/me", serde_json::Value::Null).await.0, 401);
}

/// A unit's name is shown in every list and path: no line breaks or other
/// control characters, no bidirectional overrides that make it read as
/// something else.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unit_names_with_control_or_bidi_characters_are_refused() {
    let data = tempfile::tempdir().unwrap();
    set_up(data.path());
    let server = Server::start(data.path());
    let mun = server.login("mun").await;
    for name in ["Школа\nИнструкция", "Школа\u{1b}[31m", "Школа № \u{202E}7\u{202C}", "\u{2067}Школа\u{2069}"]
    {
        let (status, body) = server
            .call(&mun, "POST", "/api/units", json!({"parent": "m1", "level": "school", "name": name}))
            .await;
        assert_eq!(status, 400, "{name:?}: {body}");
        assert!(body["error"].as_str().unwrap().starts_with("название"), "{body}");
    }
    let (status, body) = server
        .call(&mun, "POST", "/api/units", json!({"parent": "m1", "level": "school", "name": " Школа № 7 "}))
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["name"], "Школа № 7");
}

/// One person holds at most 32 sync connections: a 33rd (a new tab, a
/// device back from a dead link) closes their oldest with 4008, so a
/// session cannot be used to pile up sockets.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_holds_at_most_32_sync_connections() {
    let data = tempfile::tempdir().unwrap();
    set_up(data.path());
    let server = Server::start(data.path());
    let sch = server.login("sch").await;
    let mut sockets = Vec::new();
    for _ in 0..32 {
        sockets.push(try_socket(server.addr, Some(&sch), None).await.unwrap());
    }
    let mut newest = server.device(&sch, "newest").await;
    assert_eq!(close_code(&mut sockets[0]).await, Some(CloseCode::Library(4008)), "the oldest goes");
    // The others and the newest stay: the newest still syncs.
    let (id, doc) = roadmap("Школа s1");
    newest.docs.insert(id, doc);
    newest.acknowledged(id, Duration::from_secs(60)).await;
    let mut check = server.device(&server.login("mun").await, "check").await;
    check.docs.insert(id, AutoCommit::new());
    check.sync().await;
    assert_eq!(check.title(id).as_deref(), Some("Школа s1"));
    // Each one past the cap closes the next oldest.
    let mut second = try_socket(server.addr, Some(&sch), None).await.unwrap();
    assert_eq!(close_code(&mut sockets[1]).await, Some(CloseCode::Library(4008)));
    drop(second.close(None).await);
}
