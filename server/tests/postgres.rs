//! `medk-server --database postgres://…`: a real relay process keeping its
//! documents in a real (throwaway) PostgreSQL cluster. What a device synced
//! and the relay acknowledged survives the relay being killed, also over a
//! day's worth of edits with compactions between; a relay that cannot reach
//! its database says so and does not start.

use std::time::Duration;

use automerge::AutoCommit;

mod common;
use common::postgres::PgCluster;
use common::{Device, Server, mark, roadmap, set_up, use_postgres};
use medk_server::store::Store as _;
use medk_server::store::postgres::PgStore;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn documents_acknowledged_on_postgres_survive_a_killed_relay() {
    let cluster = PgCluster::start();
    let url = cluster.url("medk");
    let data = tempfile::tempdir().unwrap();
    use_postgres(data.path(), &url);
    // Units, people and a curator's school file (a document) by `admin`.
    set_up(data.path());
    let mut server = Server::start(data.path());
    let fed = server.login("fed").await;
    let (id, doc) = roadmap("Школа на PostgreSQL");
    let mut tablet = Device::connect(server.addr, &fed, "tablet").await;
    tablet.docs.insert(id, doc);
    tablet.acknowledged(id, Duration::from_secs(60)).await;

    // kill -9: nothing is flushed on the way out.
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    let server = Server::start(data.path());
    let fed = server.login("fed").await;
    let mut laptop = Device::connect(server.addr, &fed, "laptop").await;
    laptop.docs.insert(id, AutoCommit::new());
    laptop.sync().await;
    assert_eq!(laptop.title(id).as_deref(), Some("Школа на PostgreSQL"), "stored in PostgreSQL");
    // Not in the data dir: the redb document file was never made.
    assert!(!data.path().join("medk.redb").exists(), "documents went to PostgreSQL, not to the data dir");
}

/// A day of work on one roadmap: 500 edits, each acknowledged, with the
/// relay killed (kill -9) in the middle. The relay compacts the roadmap's
/// chunks in PostgreSQL as they pile up; a new device then gets every edit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_days_edits_survive_compactions_and_a_killed_relay_on_postgres() {
    const EDITS: usize = 500;
    let cluster = PgCluster::start();
    let url = cluster.url("medk");
    let data = tempfile::tempdir().unwrap();
    use_postgres(data.path(), &url);
    set_up(data.path());
    let (id, doc) = roadmap("День правок");
    let text = |i: usize| format!("Правка {i}: {}", "уточнение формулировки мероприятия ".repeat(1 + i % 7));
    let mut server = Server::start(data.path());
    let fed = server.login("fed").await;
    let mut tablet = Device::connect(server.addr, &fed, "tablet").await;
    tablet.docs.insert(id, doc);
    for i in 0..EDITS {
        if i == EDITS / 2 {
            server.child.kill().unwrap();
            server.child.wait().unwrap();
            server = Server::start(data.path());
            let fed = server.login("fed").await;
            // The tablet reconnects with what it holds.
            let docs = std::mem::take(&mut tablet.docs);
            tablet = Device::connect(server.addr, &fed, "tablet").await;
            tablet.docs = docs;
        }
        mark(tablet.docs.get_mut(&id).unwrap(), &format!("e{i}"), &text(i));
        tablet.acknowledged(id, Duration::from_secs(60)).await;
    }
    let stored =
        tokio::task::spawn_blocking(move || PgStore::open(&url).unwrap().load(&id).unwrap()).await.unwrap();
    assert!(
        stored.len() < EDITS / 2,
        "compacted as edits piled up: {} chunks for {EDITS} writes",
        stored.len()
    );
    let fed = server.login("fed").await;
    let mut laptop = Device::connect(server.addr, &fed, "laptop").await;
    laptop.docs.insert(id, AutoCommit::new());
    laptop.sync().await;
    for i in 0..EDITS {
        assert_eq!(laptop.mark(id, &format!("e{i}")).as_deref(), Some(text(i).as_str()), "edit {i}");
    }
}

#[test]
fn a_relay_that_cannot_reach_its_database_says_so_and_does_not_start() {
    let data = tempfile::tempdir().unwrap();
    // Nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let out = common::bin()
        .args(["--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data.path())
        .args(["--database", &format!("postgres://medk:secret@127.0.0.1:{port}/medk")])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("opening the document store in PostgreSQL"), "{said}");
    assert!(said.contains(&format!("postgres://medk@127.0.0.1:{port}/medk")), "names the database: {said}");
    assert!(!said.contains("secret"), "never prints the password: {said}");
}
