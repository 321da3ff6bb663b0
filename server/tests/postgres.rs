//! `medk-server --database postgres://…`: a real relay process keeping its
//! documents in a real (throwaway) PostgreSQL cluster. What a device synced
//! and the relay acknowledged survives the relay being killed; a relay
//! that cannot reach its database says so and does not start.

use std::time::Duration;

use automerge::AutoCommit;

mod common;
use common::postgres::PgCluster;
use common::{Device, Server, roadmap, set_up, use_postgres};

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
