//! The `/sync` relay over real WebSockets with real storage (redb in a temp
//! dir): documents travel between devices, survive a relay restart, and bad
//! frames close only the connection that sent them.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use automerge::AutoCommit;
use futures_util::SinkExt as _;
use medk_server::accounts::Accounts;
use medk_server::api::ApiState;
use medk_server::blobs::BlobStore;
use medk_server::http::router;
use medk_server::store::{RedbStore, Writer};
use medk_server::sync::SyncHub;
use medk_shared::access::Role;
use medk_shared::ids::DocumentId;
use medk_shared::sync::client::Event;
use medk_shared::sync::message::MAX_MESSAGE_BYTES;
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message as Ws;

mod common;
use common::{Device, Socket, close_code, mark, roadmap, set_title, socket};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

/// A relay on an ephemeral port over a database in `data`, with one
/// signed-in federal coordinator (who writes every roadmap they sync).
struct Relay {
    addr: SocketAddr,
    hub: SyncHub,
    task: tokio::task::JoinHandle<()>,
    /// The coordinator's session token.
    token: String,
}

impl Relay {
    async fn start(data: &Path) -> Relay {
        let store = RedbStore::open(&data.join("medk.redb")).unwrap();
        // The previous relay's last tasks may still hold the accounts file
        // for a moment after a stop (a new process would not wait).
        let mut accounts = Accounts::open(data);
        for _ in 0..50 {
            if accounts.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            accounts = Accounts::open(data);
        }
        let accounts = accounts.unwrap();
        let person = accounts.person_by_login("tester").unwrap_or_else(|| {
            accounts.create_person("tester", "", "password1", Role::FederalCoordinator, "rf", vec![]).unwrap()
        });
        let token = accounts.start_session(&person.id).unwrap();
        let hub = SyncHub::start(Writer::start(Arc::new(store)), accounts.clone(), Default::default());
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let blobs = Arc::new(BlobStore::open(data).unwrap());
        let app = router(data, hub.clone(), ApiState::new(accounts, false), blobs);
        let task = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Relay { addr, hub, task, token }
    }

    /// Opens a signed-in WebSocket to `/sync`.
    async fn socket(&self) -> Socket {
        socket(self.addr, Some(&self.token), None).await
    }

    async fn stop(self) {
        self.hub.shutdown().await;
        self.task.abort();
        let _ = self.task.await;
        // The hub and its store close once the last handle is gone.
        drop(self.hub);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_document_reaches_another_device_and_survives_a_relay_restart() {
    let data = tempfile::tempdir().unwrap();
    let relay = Relay::start(data.path()).await;
    let (id, doc) = roadmap("Школа № 1");

    let mut tablet = Device::connect(relay.addr, &relay.token, "tablet").await;
    tablet.docs.insert(id, doc);
    tablet.acknowledged(id, Duration::from_secs(60)).await;

    let mut staff_room = Device::connect(relay.addr, &relay.token, "staff").await;
    staff_room.docs.insert(id, AutoCommit::new());
    staff_room.sync().await;
    assert_eq!(staff_room.title(id).as_deref(), Some("Школа № 1"));

    relay.stop().await;
    let relay = Relay::start(data.path()).await;
    let mut laptop = Device::connect(relay.addr, &relay.token, "laptop").await;
    laptop.docs.insert(id, AutoCommit::new());
    laptop.sync().await;
    assert_eq!(laptop.title(id).as_deref(), Some("Школа № 1"), "stored durably");
    relay.stop().await;
}

#[tokio::test]
async fn live_edits_reach_every_connected_device() {
    let data = tempfile::tempdir().unwrap();
    let relay = Relay::start(data.path()).await;
    let (id, doc) = roadmap("old");
    let mut a = Device::connect(relay.addr, &relay.token, "a").await;
    let mut b = Device::connect(relay.addr, &relay.token, "b").await;
    a.docs.insert(id, doc);
    a.acknowledged(id, Duration::from_secs(60)).await;
    b.docs.insert(id, AutoCommit::new());
    b.sync().await;

    set_title(a.docs.get_mut(&id).unwrap(), "new");
    a.sync().await;
    b.sync().await;
    assert_eq!(b.title(id).as_deref(), Some("new"));
    relay.stop().await;
}

#[tokio::test]
async fn an_unknown_document_is_unavailable() {
    let data = tempfile::tempdir().unwrap();
    let relay = Relay::start(data.path()).await;
    let mut a = Device::connect(relay.addr, &relay.token, "a").await;
    let id = DocumentId::from_bytes([5; 16]);
    let mut empty = AutoCommit::new();
    let [frame] = <[_; 1]>::try_from(a.client.outgoing(id, &mut empty)).unwrap();
    a.socket.send(Ws::binary(frame)).await.unwrap();
    assert!(matches!(a.next_event().await, Event::Unavailable { doc } if doc == id));
    relay.stop().await;
}

#[tokio::test]
async fn bad_frames_close_only_their_connection() {
    let data = tempfile::tempdir().unwrap();
    let relay = Relay::start(data.path()).await;
    let (id, doc) = roadmap("kept");
    let mut good = Device::connect(relay.addr, &relay.token, "good").await;
    good.docs.insert(id, doc);
    good.acknowledged(id, Duration::from_secs(60)).await;

    // Not CBOR.
    let mut bad = relay.socket().await;
    bad.send(Ws::binary(vec![0xff, 0x00, 0x13])).await.unwrap();
    assert_eq!(close_code(&mut bad).await, Some(CloseCode::Invalid));
    // A message before `join`.
    let mut bad = relay.socket().await;
    let sync = medk_shared::sync::message::Message::Leave { sender_id: "x".into() };
    bad.send(Ws::binary(sync.encode())).await.unwrap();
    assert_eq!(close_code(&mut bad).await, Some(CloseCode::Protocol));
    // Text instead of binary.
    let mut bad = relay.socket().await;
    bad.send(Ws::text("hello")).await.unwrap();
    assert_eq!(close_code(&mut bad).await, Some(CloseCode::Invalid));
    // A joined peer sending garbage as Automerge sync data for the document.
    let mut evil = Device::connect(relay.addr, &relay.token, "evil").await;
    let garbage = medk_shared::sync::message::Message::Sync {
        sender_id: evil.client.peer_id().into(),
        target_id: "relay".into(),
        document_id: id,
        data: vec![0x42, 0xff, 0xff, 0xff, 0xff, 0x0f],
    };
    evil.socket.send(Ws::binary(garbage.encode())).await.unwrap();
    assert_eq!(close_code(&mut evil.socket).await, Some(CloseCode::Invalid));
    // A frame over the limit.
    let mut huge = relay.socket().await;
    let _ = huge.send(Ws::binary(vec![0u8; MAX_MESSAGE_BYTES + 1])).await;
    assert_eq!(close_code(&mut huge).await, Some(CloseCode::Size));

    // The well-behaved device still syncs, and the document is intact.
    mark(good.docs.get_mut(&id).unwrap(), "after", "yes");
    good.sync().await;
    let mut other = Device::connect(relay.addr, &relay.token, "other").await;
    other.docs.insert(id, AutoCommit::new());
    other.sync().await;
    assert_eq!(other.title(id).as_deref(), Some("kept"));
    assert_eq!(other.mark(id, "after").as_deref(), Some("yes"));
    relay.stop().await;
}
