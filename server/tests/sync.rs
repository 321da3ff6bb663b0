//! The `/sync` relay over real WebSockets with real storage (redb in a temp
//! dir): documents travel between devices, survive a relay restart, and bad
//! frames close only the connection that sent them.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use automerge::transaction::Transactable as _;
use automerge::{AutoCommit, ROOT, ReadDoc as _};
use futures_util::{SinkExt as _, StreamExt as _};
use medk_server::accounts::Accounts;
use medk_server::api::ApiState;
use medk_server::http::router;
use medk_server::store::{RedbStore, Writer};
use medk_server::sync::SyncHub;
use medk_shared::access::Role;
use medk_shared::ids::DocumentId;
use medk_shared::sync::client::{Client, Event};
use medk_shared::sync::message::MAX_MESSAGE_BYTES;
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message as Ws;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

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
        let hub = SyncHub::start(Writer::start(Arc::new(store)), accounts.clone());
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = router(data, hub.clone(), ApiState::new(accounts, false));
        let task = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Relay { addr, hub, task, token }
    }

    /// Opens a signed-in WebSocket to `/sync`.
    async fn socket(&self) -> Socket {
        socket(self.addr, Some(&self.token)).await
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

/// A device: the shared client core over a tungstenite socket.
struct Device {
    client: Client,
    socket: Socket,
    docs: std::collections::HashMap<DocumentId, AutoCommit>,
}

impl Device {
    async fn connect(relay: &Relay, name: &str) -> Device {
        let mut socket = relay.socket().await;
        let mut client = Client::new(format!("{name}-{}", rand_suffix()), Some(format!("{name}-storage")));
        socket.send(Ws::binary(client.join())).await.unwrap();
        let mut device = Device { client, socket, docs: Default::default() };
        let event = device.next_event().await;
        assert!(matches!(event, Event::Connected), "{event:?}");
        device
    }

    async fn next_event(&mut self) -> Event {
        loop {
            let frame = tokio::time::timeout(Duration::from_secs(5), self.socket.next())
                .await
                .expect("the relay answers within 5 s")
                .expect("socket open")
                .unwrap();
            if let Ws::Binary(bytes) = frame {
                return self.client.receive(&bytes).unwrap();
            }
        }
    }

    /// Sends what each document has to say, handles answers, until the relay
    /// has nothing more to say for 300 ms.
    async fn sync(&mut self) {
        loop {
            let ids: Vec<DocumentId> = self.docs.keys().copied().collect();
            for id in ids {
                let doc = self.docs.get_mut(&id).unwrap();
                let heads = doc.get_heads();
                if let Some(frame) = self.client.outgoing(id, &mut doc.sync(), &heads) {
                    self.socket.send(Ws::binary(frame)).await.unwrap();
                }
            }
            let Ok(frame) = tokio::time::timeout(Duration::from_millis(300), self.socket.next()).await else {
                return;
            };
            let Some(Ok(Ws::Binary(bytes))) = frame else { continue };
            match self.client.receive(&bytes).unwrap() {
                Event::Sync { doc, message } => {
                    let d = self.docs.entry(doc).or_default();
                    self.client.apply(doc, &mut d.sync(), message).unwrap();
                }
                Event::Unavailable { doc } => panic!("{doc} unavailable"),
                _ => {}
            }
        }
    }

    fn text(&self, id: DocumentId, key: &str) -> Option<String> {
        let doc = self.docs.get(&id)?;
        doc.get(ROOT, key).unwrap().and_then(|(v, _)| v.into_string().ok())
    }
}

/// A WebSocket to `/sync`, with a session cookie when `token` is given.
async fn socket(addr: SocketAddr, token: Option<&str>) -> Socket {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
    let mut request = format!("ws://{addr}/sync").into_client_request().unwrap();
    if let Some(token) = token {
        request.headers_mut().insert("cookie", format!("medk_session={token}").parse().unwrap());
    }
    tokio_tungstenite::connect_async(request).await.unwrap().0
}

fn rand_suffix() -> u64 {
    use std::time::{SystemTime, UNIX_EPOCH};
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos() as u64
}

fn new_doc(title: &str) -> AutoCommit {
    let mut doc = AutoCommit::new();
    doc.put(ROOT, "title", title).unwrap();
    doc
}

#[tokio::test]
async fn a_document_reaches_another_device_and_survives_a_relay_restart() {
    let data = tempfile::tempdir().unwrap();
    let relay = Relay::start(data.path()).await;
    let id = DocumentId::from_bytes([3; 16]);

    let mut tablet = Device::connect(&relay, "tablet").await;
    tablet.docs.insert(id, new_doc("Школа № 1"));
    tablet.sync().await;

    let mut staff_room = Device::connect(&relay, "staff").await;
    staff_room.docs.insert(id, AutoCommit::new());
    staff_room.sync().await;
    assert_eq!(staff_room.text(id, "title").as_deref(), Some("Школа № 1"));

    relay.stop().await;
    let relay = Relay::start(data.path()).await;
    let mut laptop = Device::connect(&relay, "laptop").await;
    laptop.docs.insert(id, AutoCommit::new());
    laptop.sync().await;
    assert_eq!(laptop.text(id, "title").as_deref(), Some("Школа № 1"), "stored durably");
    relay.stop().await;
}

#[tokio::test]
async fn live_edits_reach_every_connected_device() {
    let data = tempfile::tempdir().unwrap();
    let relay = Relay::start(data.path()).await;
    let id = DocumentId::from_bytes([4; 16]);
    let mut a = Device::connect(&relay, "a").await;
    let mut b = Device::connect(&relay, "b").await;
    a.docs.insert(id, new_doc("old"));
    a.sync().await;
    b.docs.insert(id, AutoCommit::new());
    b.sync().await;

    a.docs.get_mut(&id).unwrap().put(ROOT, "title", "new").unwrap();
    a.sync().await;
    b.sync().await;
    assert_eq!(b.text(id, "title").as_deref(), Some("new"));
    relay.stop().await;
}

#[tokio::test]
async fn an_unknown_document_is_unavailable() {
    let data = tempfile::tempdir().unwrap();
    let relay = Relay::start(data.path()).await;
    let mut a = Device::connect(&relay, "a").await;
    let id = DocumentId::from_bytes([5; 16]);
    let mut empty = AutoCommit::new();
    let frame = a.client.outgoing(id, &mut empty.sync(), &[]).unwrap();
    a.socket.send(Ws::binary(frame)).await.unwrap();
    assert!(matches!(a.next_event().await, Event::Unavailable { doc } if doc == id));
    relay.stop().await;
}

async fn close_code(socket: &mut Socket) -> Option<CloseCode> {
    loop {
        match tokio::time::timeout(Duration::from_secs(5), socket.next()).await.ok()?? {
            Ok(Ws::Close(frame)) => return frame.map(|f| f.code),
            Ok(_) => continue,
            Err(_) => return None,
        }
    }
}

#[tokio::test]
async fn bad_frames_close_only_their_connection() {
    let data = tempfile::tempdir().unwrap();
    let relay = Relay::start(data.path()).await;
    let id = DocumentId::from_bytes([6; 16]);
    let mut good = Device::connect(&relay, "good").await;
    good.docs.insert(id, new_doc("kept"));
    good.sync().await;

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
    let mut evil = Device::connect(&relay, "evil").await;
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
    good.docs.get_mut(&id).unwrap().put(ROOT, "after", "yes").unwrap();
    good.sync().await;
    let mut other = Device::connect(&relay, "other").await;
    other.docs.insert(id, AutoCommit::new());
    other.sync().await;
    assert_eq!(other.text(id, "title").as_deref(), Some("kept"));
    assert_eq!(other.text(id, "after").as_deref(), Some("yes"));
    relay.stop().await;
}
