//! Test helpers shared by the server's tests: a `medk-server` process with
//! its admin commands and sign-in, a device speaking the sync protocol
//! through the shared client core, and socket utilities.
#![allow(dead_code)] // each test file uses a part

pub mod postgres;

use std::net::SocketAddr;
use std::path::Path;
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

/// The password of every account the tests create.
pub const PASSWORD: &str = "password-1";

pub fn bin() -> std::process::Command {
    std::process::Command::new(env!("CARGO_BIN_EXE_medk-server"))
}

/// Where the test notes that an installation keeps its documents in
/// PostgreSQL ([`use_postgres`]).
const TEST_DATABASE: &str = "test-database-url";

/// Makes every server and `admin` run on `data` from now on keep their
/// documents in the PostgreSQL at `url` (`--database`), as an operator's
/// would.
pub fn use_postgres(data: &Path, url: &str) {
    std::fs::write(data.join(TEST_DATABASE), url).unwrap();
}

/// `--database URL` for the data dir, if it uses PostgreSQL.
fn database_args(data: &Path) -> Vec<String> {
    match std::fs::read_to_string(data.join(TEST_DATABASE)) {
        Ok(url) => vec!["--database".into(), url],
        Err(_) => Vec::new(),
    }
}

/// Runs `medk-server admin --data-dir DATA ARGS`, with `stdin` as input;
/// returns what it printed.
pub fn admin(data: &std::path::Path, args: &[&str], stdin: &str) -> String {
    use std::io::Write as _;
    use std::process::Stdio;
    let mut child = bin()
        .arg("admin")
        .arg("--data-dir")
        .arg(data)
        .args(database_args(data))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "admin {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// A `medk-server` process on a data dir, killed when dropped.
pub struct Server {
    pub child: std::process::Child,
    pub addr: SocketAddr,
    pub http: reqwest::Client,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    pub fn start(data: &std::path::Path) -> Server {
        Server::start_with(data, &[])
    }

    /// [`Server::start`] with more command-line options.
    pub fn start_with(data: &std::path::Path, options: &[&str]) -> Server {
        let (child, url) = spawn_server(
            bin()
                .args(["--listen", "127.0.0.1:0", "--static-dir"])
                .arg(data.join("no-dist"))
                .arg("--data-dir")
                .arg(data)
                .args(database_args(data))
                .args(options),
        );
        let addr = url.strip_prefix("http://").expect("an http URL").parse().unwrap();
        Server { child, addr, http: reqwest::Client::new() }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// A JSON request as the person with `token`; returns status and body.
    pub async fn call(
        &self,
        token: &str,
        method: &str,
        path: &str,
        body: serde_json::Value,
    ) -> (u16, serde_json::Value) {
        let res = self
            .http
            .request(method.parse().unwrap(), self.url(path))
            .header("cookie", format!("medk_session={token}"))
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        let text = res.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(serde_json::Value::Null))
    }

    /// Signs in with [`PASSWORD`]; returns the session token from the cookie.
    pub async fn login(&self, login: &str) -> String {
        let res = self
            .http
            .post(self.url("/api/login"))
            .header("content-type", "application/json")
            .body(serde_json::json!({ "login": login, "password": PASSWORD }).to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{login} signs in");
        let cookie = res
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .find(|c| c.starts_with("medk_session="))
            .expect("a session cookie");
        let token = cookie.split(';').next().unwrap().strip_prefix("medk_session=").unwrap().to_owned();
        assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), "{cookie}");
        token
    }
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
    /// Documents the relay refused this device's changes to, with why.
    pub refused: std::collections::HashMap<DocumentId, String>,
}

impl Device {
    /// Connects with the session `token` and joins.
    pub async fn connect(addr: SocketAddr, token: &str, name: &str) -> Device {
        let mut socket = socket(addr, Some(token), None).await;
        let mut client = Client::new(format!("{name}-{}", rand_suffix()), Some(format!("{name}-storage")));
        socket.send(Ws::binary(client.join())).await.unwrap();
        let mut device = Device {
            client,
            socket,
            docs: Default::default(),
            unavailable: Default::default(),
            refused: Default::default(),
        };
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
                for frame in self.client.outgoing(id, doc) {
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
                Event::ChangesRefused { doc, refused } => {
                    self.refused.insert(doc, refused.message);
                }
                _ => {}
            }
        }
    }

    /// Sends what the device has of `id` and waits until the relay says it
    /// has all of it (its answer comes only once it is stored); returns how
    /// long that took. Panics after `within`.
    pub async fn acknowledged(&mut self, id: DocumentId, within: Duration) -> Duration {
        let started = std::time::Instant::now();
        loop {
            let doc = self.docs.get_mut(&id).expect("the device has the document");
            let heads = doc.get_heads();
            if self.client.relay_heads(&id) == Some(heads.as_slice()) {
                return started.elapsed();
            }
            for frame in self.client.outgoing(id, doc) {
                self.socket.send(Ws::binary(frame)).await.unwrap();
            }
            let left = within.checked_sub(started.elapsed()).expect("acknowledged in time");
            let Ok(Some(Ok(frame))) = tokio::time::timeout(left, self.socket.next()).await else {
                panic!("no acknowledgement of {id} within {within:?}");
            };
            if let Ws::Binary(bytes) = frame
                && let Ok(Event::Sync { doc, message }) = self.client.receive(&bytes)
                && let Some(d) = self.docs.get_mut(&doc)
            {
                self.client.apply(doc, &mut d.sync(), message).unwrap();
            }
        }
    }

    /// The title of the roadmap `id`, if the device has it.
    pub fn title(&self, id: DocumentId) -> Option<String> {
        let doc = self.docs.get(&id)?;
        let header = doc.get(ROOT, "header").ok()??.1;
        let title = doc.get(&header, "title").ok()??.1;
        doc.text(&title).ok()
    }

    /// What [`mark`] wrote under `key` in the roadmap `id`.
    pub fn mark(&self, id: DocumentId, key: &str) -> Option<String> {
        let doc = self.docs.get(&id)?;
        let sections = doc.get(ROOT, "sections").ok()??.1;
        let row = doc.get(&sections, key).ok()??.1;
        let title = doc.get(&row, "title").ok()??.1;
        doc.text(&title).ok()
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

/// A new roadmap titled `title`, made signed out (anyone who holds it may
/// register it), and the id it syncs under.
pub fn roadmap(title: &str) -> (DocumentId, AutoCommit) {
    roadmap_by(title, "")
}

/// A new roadmap made by the person `creator` (their id; only they may
/// register it), and its id.
pub fn roadmap_by(title: &str, creator: &str) -> (DocumentId, AutoCommit) {
    use medk_shared::access::Level;
    use medk_shared::doc::{NewRoadmap, RoadmapDoc};
    let mut doc = RoadmapDoc::create(
        &NewRoadmap {
            title: title.into(),
            level: Level::School,
            territory: String::new(),
            year: Some(2026),
            columns: Level::School.default_columns(),
        },
        medk_shared::ids::RowId::new("s0"),
    );
    static MADE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let made = MADE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let nonce: [u8; 16] = [rand_suffix().to_le_bytes(), made.to_le_bytes()].concat().try_into().unwrap();
    let id = doc.stamp_origin(creator, nonce, 0);
    (id, doc.automerge().clone())
}

/// A change to a roadmap anyone may make and tests can read back: the
/// section `key` titled `value` (made when missing).
pub fn mark(doc: &mut AutoCommit, key: &str, value: &str) {
    use automerge::ObjType;
    let sections = doc.get(ROOT, "sections").unwrap().unwrap().1;
    let title = match doc.get(&sections, key).unwrap() {
        Some((_, row)) => doc.get(&row, "title").unwrap().unwrap().1,
        None => {
            let row = doc.put_object(&sections, key, ObjType::Map).unwrap();
            doc.put(&row, "pos", "80").unwrap();
            doc.put(&row, "deleted", false).unwrap();
            doc.put_object(&row, "title", ObjType::Text).unwrap()
        }
    };
    doc.update_text(&title, value).unwrap();
    doc.commit();
}

/// Sets the title of a roadmap.
pub fn set_title(doc: &mut AutoCommit, value: &str) {
    let header = doc.get(ROOT, "header").unwrap().unwrap().1;
    let title = doc.get(&header, "title").unwrap().unwrap().1;
    doc.update_text(&title, value).unwrap();
    doc.commit();
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

pub fn create_user(data: &Path, login: &str, role: &str, unit: &str, schools: &[&str]) {
    let mut args = vec!["create-user", "--login", login, "--password-stdin", "--role", role, "--unit", unit];
    for school in schools {
        args.extend(["--school", school]);
    }
    admin(data, &args, PASSWORD);
}

impl Server {
    /// The id of the person signed in with `token`.
    pub async fn person_id(&self, token: &str) -> String {
        let (status, me) = self.call(token, "GET", "/api/me", serde_json::Value::Null).await;
        assert_eq!(status, 200, "{me}");
        me["person"]["id"].as_str().expect("`Me` names the person").to_owned()
    }

    pub async fn device(&self, token: &str, name: &str) -> Device {
        Device::connect(self.addr, token, name).await
    }

    /// Moves a roadmap to `unit` and sets whether it is published.
    pub async fn place(&self, admin: &str, doc: DocumentId, unit: &str, published: bool) {
        let path = format!("/api/roadmaps/{doc}/access");
        let (status, body) =
            self.call(admin, "PUT", &path, serde_json::json!({ "unit": unit, "published": published })).await;
        assert_eq!(status, 200, "{body}");
    }
}

/// The tree of the tests: rf → r1 → m1 → {s1, s2}; r1 → m2; rf → r2 → m3 → s4.
pub fn set_up(data: &Path) {
    for (parent, level, id) in [
        ("rf", "region", "r1"),
        ("rf", "region", "r2"),
        ("r1", "municipality", "m1"),
        ("r1", "municipality", "m2"),
        ("r2", "municipality", "m3"),
        ("m1", "school", "s1"),
        ("m1", "school", "s2"),
        ("m3", "school", "s4"),
    ] {
        assert_eq!(
            admin(data, &["create-unit", "--parent", parent, "--level", level, "--name", id, "--id", id], "")
                .trim(),
            id
        );
    }
    create_user(data, "fed", "federal-coordinator", "rf", &[]);
    create_user(data, "reg", "regional-coordinator", "r1", &[]);
    create_user(data, "mun", "municipal-coordinator", "m1", &[]);
    create_user(data, "cur", "curator", "m1", &["s1"]);
    create_user(data, "sch", "school-team", "s1", &[]);
    create_user(data, "obs", "observer", "r1", &[]);
    let listed = admin(data, &["list-users"], "");
    for login in ["fed", "reg", "mun", "cur", "sch", "obs"] {
        assert!(listed.contains(login), "{listed}");
    }
}
