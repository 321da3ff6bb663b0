//! Test helpers shared by the relay's socket tests: a device speaking the
//! sync protocol through the shared client core, and socket utilities.
#![allow(dead_code)] // each test file uses a part

use std::net::SocketAddr;
use std::time::Duration;

use automerge::transaction::Transactable as _;
use automerge::{AutoCommit, ROOT, ReadDoc as _};
use futures_util::{SinkExt as _, StreamExt as _};
use medk_shared::ids::DocumentId;
use medk_shared::sync::client::{Client, Event};
use tokio_tungstenite::tungstenite::Message as Ws;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

/// Starts `medk-server` (a command built from `CARGO_BIN_EXE_medk-server`
/// with its arguments) and waits for the line that says it is ready.
/// Returns the process and the URL it listens on; the rest of its output is
/// drained so it never blocks on a full pipe.
pub fn spawn_server(command: &mut std::process::Command) -> (std::process::Child, String) {
    use std::io::{BufRead as _, BufReader};
    let mut child = command.env("RUST_LOG", "info").stdout(std::process::Stdio::piped()).spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let url = lines
        .by_ref()
        .map_while(Result::ok)
        .find_map(|line| line.split_once("listening on ").map(|(_, url)| url.trim().to_owned()))
        .expect("the server logs the URL it listens on");
    std::thread::spawn(move || lines.for_each(drop));
    (child, url)
}

pub type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A device: the shared client core over a tungstenite socket.
pub struct Device {
    pub client: Client,
    pub socket: Socket,
    pub docs: std::collections::HashMap<DocumentId, AutoCommit>,
    /// Documents the relay answered `doc-unavailable` for (and that were
    /// dropped from `docs`).
    pub unavailable: std::collections::HashSet<DocumentId>,
}

impl Device {
    /// Connects with the session `token` and joins.
    pub async fn connect(addr: SocketAddr, token: &str, name: &str) -> Device {
        let mut socket = socket(addr, Some(token), None).await;
        let mut client = Client::new(format!("{name}-{}", rand_suffix()), Some(format!("{name}-storage")));
        socket.send(Ws::binary(client.join())).await.unwrap();
        let mut device = Device { client, socket, docs: Default::default(), unavailable: Default::default() };
        let event = device.next_event().await;
        assert!(matches!(event, Event::Connected), "{event:?}");
        device
    }

    pub async fn next_event(&mut self) -> Event {
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
    pub async fn sync(&mut self) {
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
                Event::Unavailable { doc } => {
                    self.docs.remove(&doc);
                    self.unavailable.insert(doc);
                }
                _ => {}
            }
        }
    }

    pub fn text(&self, id: DocumentId, key: &str) -> Option<String> {
        let doc = self.docs.get(&id)?;
        doc.get(ROOT, key).unwrap().and_then(|(v, _)| v.into_string().ok())
    }
}

/// A WebSocket to `/sync`, with a session cookie when `token` is given and
/// an `Origin` header when `origin` is.
pub async fn socket(addr: SocketAddr, token: Option<&str>, origin: Option<&str>) -> Socket {
    try_socket(addr, token, origin).await.unwrap()
}

/// As [`socket`], or the HTTP status the upgrade was refused with.
pub async fn try_socket(addr: SocketAddr, token: Option<&str>, origin: Option<&str>) -> Result<Socket, u16> {
    use tokio_tungstenite::tungstenite::Error;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
    let mut request = format!("ws://{addr}/sync").into_client_request().unwrap();
    if let Some(token) = token {
        request.headers_mut().insert("cookie", format!("medk_session={token}").parse().unwrap());
    }
    if let Some(origin) = origin {
        request.headers_mut().insert("origin", origin.parse().unwrap());
    }
    match tokio_tungstenite::connect_async(request).await {
        Ok((socket, _)) => Ok(socket),
        Err(Error::Http(response)) => Err(response.status().as_u16()),
        Err(e) => panic!("connecting to /sync: {e}"),
    }
}

pub fn rand_suffix() -> u64 {
    use std::time::{SystemTime, UNIX_EPOCH};
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos() as u64
}

pub fn new_doc(title: &str) -> AutoCommit {
    let mut doc = AutoCommit::new();
    doc.put(ROOT, "title", title).unwrap();
    doc
}

pub async fn close_code(socket: &mut Socket) -> Option<CloseCode> {
    loop {
        match tokio::time::timeout(Duration::from_secs(5), socket.next()).await.ok()?? {
            Ok(Ws::Close(frame)) => return frame.map(|f| f.code),
            Ok(_) => continue,
            Err(_) => return None,
        }
    }
}
