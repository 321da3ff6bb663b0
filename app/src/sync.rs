//! Sync with the relay, and the one place open documents live.
//!
//! Every roadmap on the device is synced while someone is signed in and
//! there is a connection; offline or signed out, edits stay in IndexedDB and
//! go out on the next connection. Each connection starts by asking the
//! server who is signed in (`/api/me`): a 401 there ends the session, and
//! the sync waits for the person to sign in again. The
//! protocol is the shared [`Client`]; this module is its browser I/O: a
//! WebSocket, reconnects with exponential backoff and jitter, the `online`
//! and `offline` events, and a heartbeat (Chromium keeps a WebSocket "open"
//! through a network loss, so silence must be detected by asking).
//!
//! Documents are opened through [`SyncService::open`] by everyone (the
//! editor, the list's rename, the sync itself), so each roadmap has exactly
//! one in-memory replica on the page and a remote change reaches the screen
//! that shows it.

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet};
use std::rc::{Rc, Weak};

use leptos::prelude::*;
use medk_shared::doc::{RoadmapDoc, Touched};
use medk_shared::ids::DocumentId;
use medk_shared::sync::client::{Client, Event};
use medk_shared::sync::presence::{self, Presence};
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use web_sys::{BinaryType, CloseEvent, MessageEvent, WebSocket};

use crate::account::{Account, Session};
use crate::document::{OpenError, OpenRoadmap};
use crate::files::{OpenFile, Wanted};
use crate::replica::Synced;
use crate::storage::{DocKind, Storage};

/// First reconnect delay; doubled per failed attempt up to [`BACKOFF_MAX_MS`].
const BACKOFF_FIRST_MS: f64 = 500.0;
const BACKOFF_MAX_MS: f64 = 30_000.0;
/// While connected, the relay's health endpoint is asked this often...
const HEARTBEAT_EVERY_MS: u64 = 15_000;
/// ...and a connection that cannot get an answer this fast is dropped.
const HEARTBEAT_TIMEOUT_MS: u64 = 5_000;
/// How long opening a roadmap by link waits for the relay.
const FETCH_TIMEOUT_MS: u64 = 20_000;
/// After start-up, every roadmap is loaded (to count its unsent changes)
/// this much later, unless a connection needs them sooner.
const STARTUP_COUNT_DELAY_MS: u64 = 3_000;
/// The unsynced count is recomputed at most this often.
const STATUS_EVERY_MS: u64 = 400;
/// A document that asked to be compacted (or to write again) is, this much
/// later: after the keystroke that made it due, not during it.
const MAINTENANCE_DELAY_MS: u64 = 1_000;

/// The connection as the person sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Connection {
    Offline,
    Connecting,
    Online,
}

/// What the sync indicator shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncStatus {
    pub connection: Connection,
    /// Local changes the relay has not confirmed yet, over all roadmaps
    /// except those in [`Self::rejected`].
    pub unsynced: usize,
    /// Local changes of roadmaps the relay will not take from this person
    /// (read-only or no access): they stay on the device.
    pub rejected: usize,
    /// Documents on this device that cannot be read (their bytes are set
    /// aside): whether they hold unsent changes is unknown.
    pub broken: usize,
    /// Documents not counted yet (kept before counts were kept): until
    /// they are, the indicator does not say everything is saved.
    pub uncounted: usize,
    /// Roadmaps deleted for everyone whose copy this device still holds
    /// (their changes are counted nowhere else: no one will take them).
    pub gone: usize,
    /// Connection attempts that failed in a row (the relay is unreachable
    /// though the device has a network).
    pub failed_attempts: u32,
}

/// One roadmap's sync, for its editor.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DocState {
    /// Local changes the relay does not have.
    pub unsynced: usize,
    /// The relay takes no changes to it from this person (on this connection).
    pub read_only: bool,
    /// The relay answered `doc-unavailable`: no access to it there.
    pub unavailable: bool,
    /// The relay refused this device's changes to it: why (in Russian), and
    /// the technical detail.
    pub refused: Option<(String, String)>,
    /// It was deleted for everyone (a coordinator did): only this device
    /// still has it. What the server said (when, by whom).
    pub gone: Option<String>,
}

/// Why a roadmap could not be fetched by its link.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    #[error("нет связи с сервером: откройте ссылку, когда появится сеть")]
    Offline,
    #[error("на сервере нет такой дорожной карты (или к ней нет доступа), по крайней мере пока")]
    Unavailable,
    /// It was deleted for everyone: the server's words (when, by whom).
    #[error("{0}")]
    Deleted(String),
    #[error("сервер не ответил вовремя, попробуйте ещё раз")]
    Timeout,
    #[error("войдите, чтобы загрузить её с сервера")]
    SignedOut,
    /// What came is not a roadmap (the detail is technical).
    #[error("это не дорожная карта")]
    NotARoadmap(String),
    #[error("не удалось сохранить её на этом устройстве")]
    Storage(String),
}

/// Someone else with a roadmap open.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Peer {
    pub name: String,
    /// Their person id: one person's tabs are named once.
    person: String,
    seen: u64,
}

/// A handle to the service; cheap to copy into views.
#[derive(Clone)]
pub struct SyncService(Rc<Inner>);

struct Inner {
    storage: Storage,
    /// Who is signed in: the sync runs only while someone is.
    account: Account,
    /// `/api/me` is being asked before a socket is opened.
    checking: Cell<bool>,
    /// Roadmaps the relay said `doc-unavailable` for.
    unavailable: RefCell<HashSet<DocumentId>>,
    /// Roadmaps whose changes from this device the relay refused, and why.
    refused: RefCell<HashMap<DocumentId, (String, String)>>,
    /// Roadmaps the relay took whole that `/api/roadmaps` did not list yet:
    /// asked for again once each (a new roadmap is registered only when its
    /// first changes reach the relay).
    listed_after_sync: RefCell<HashSet<DocumentId>>,
    doc_states: RwSignal<HashMap<DocumentId, DocState>>,
    on_error: Rc<dyn Fn(String)>,
    /// Shows a notice that is not an error (a document recovered).
    on_info: Rc<dyn Fn(String)>,
    client: RefCell<Client>,
    socket: RefCell<Option<Socket>>,
    docs: RefCell<HashMap<DocumentId, Opened>>,
    /// Roadmaps being loaded, with whoever waits for the same load.
    opening: RefCell<HashMap<DocumentId, Vec<futures::channel::oneshot::Sender<()>>>>,
    /// Roadmaps being fetched by link: their document so far and who waits.
    fetching: RefCell<HashMap<DocumentId, Fetch>>,
    status: RwSignal<SyncStatus>,
    /// Bumped when a roadmap changed from elsewhere (per roadmap).
    versions: RefCell<HashMap<DocumentId, RwSignal<u64>>>,
    /// The app's owner (the service lives as long as the app): the
    /// signals made on request belong to it, not to the screen that asked
    /// first, which would dispose them when it goes.
    owner: Option<Owner>,
    /// What changes from elsewhere touched since the editor last looked.
    touched: RefCell<HashMap<DocumentId, Touched>>,
    /// Bumped when any roadmap's list record changed from elsewhere.
    pub list_version: RwSignal<u64>,
    /// What the device's list records say of each document (read at start
    /// and when they change): its unsent count and whether it is broken,
    /// so the indicator covers documents that are not open.
    kept: RefCell<HashMap<DocumentId, KeptState>>,
    /// Whether `kept` has been read since the start (until then the
    /// indicator cannot know what is unsent).
    kept_read: Cell<bool>,
    /// Documents that asked for a quiet moment (compaction, a retry).
    maintenance: RefCell<HashSet<DocumentId>>,
    /// Broken documents being recovered.
    recovering: RefCell<HashSet<DocumentId>>,
    /// Roadmaps whose first answer from the relay on this connection led
    /// to asking `/api/roadmaps` again (a roadmap made here is registered
    /// to its unit by that first sync).
    asked_rights: RefCell<HashSet<DocumentId>>,
    presence: RwSignal<HashMap<DocumentId, HashMap<String, Peer>>>,
    /// What we announce, and for which roadmap.
    announce: RefCell<Option<(DocumentId, Presence)>>,
    name: RwSignal<String>,
    attempts: Cell<u32>,
    reconnect_pending: Cell<bool>,
    status_pending: Cell<bool>,
    /// Increases per socket, so callbacks of an old socket do nothing.
    generation: Cell<u64>,
}

/// A document open on the page, by what it holds.
#[derive(Clone)]
enum Opened {
    Roadmap(Rc<RefCell<OpenRoadmap>>),
    File(Rc<RefCell<OpenFile>>),
}

impl Opened {
    /// The part the sync talks to.
    fn synced(&self) -> Rc<RefCell<dyn Synced>> {
        match self {
            Opened::Roadmap(doc) => doc.clone(),
            Opened::File(doc) => doc.clone(),
        }
    }
}

/// A document on the device as its list record tells.
#[derive(Clone, Debug)]
struct KeptState {
    unsent: Option<u32>,
    broken: bool,
}

struct Fetch {
    /// Fetched to replace a broken copy (keeping what can still be read of
    /// it), not to open a new link.
    recover: bool,
    doc: automerge::AutoCommit,
    waiters: Vec<futures::channel::oneshot::Sender<Result<(), FetchError>>>,
    /// The first content arrived and is being stored; later messages wait.
    storing: bool,
    queued: Vec<automerge::sync::Message>,
}

/// A live socket with the closures the browser calls (dropped with it).
struct Socket {
    ws: WebSocket,
    _handlers: Vec<Closure<dyn FnMut(web_sys::Event)>>,
}

const NAME_KEY: &str = "medk.name";
/// The WebSocket close code the relay uses when the session ended.
const SESSION_ENDED: u16 = 4001;
const STORAGE_ID_KEY: &str = "medk.storage-id";

impl SyncService {
    /// Starts syncing: connects now if someone is signed in.
    pub fn start(
        storage: Storage,
        on_error: Rc<dyn Fn(String)>,
        on_info: Rc<dyn Fn(String)>,
        account: Account,
    ) -> SyncService {
        let storage_id = crate::browser::setting(STORAGE_ID_KEY).unwrap_or_else(|| {
            let id = random_hex(16);
            crate::browser::set_setting(STORAGE_ID_KEY, &id);
            id
        });
        let peer_id = format!("medk-app-{}", random_hex(8));
        let inner = Rc::new(Inner {
            storage,
            account,
            checking: Cell::new(false),
            unavailable: RefCell::new(HashSet::new()),
            refused: RefCell::new(HashMap::new()),
            listed_after_sync: RefCell::new(HashSet::new()),
            doc_states: RwSignal::new(HashMap::new()),
            on_error,
            on_info,
            client: RefCell::new(Client::new(peer_id, Some(storage_id))),
            socket: RefCell::new(None),
            docs: RefCell::new(HashMap::new()),
            opening: RefCell::new(HashMap::new()),
            fetching: RefCell::new(HashMap::new()),
            status: RwSignal::new(SyncStatus {
                connection: Connection::Offline,
                unsynced: 0,
                rejected: 0,
                broken: 0,
                uncounted: 0,
                gone: 0,
                failed_attempts: 0,
            }),
            versions: RefCell::new(HashMap::new()),
            owner: Owner::current(),
            touched: RefCell::new(HashMap::new()),
            list_version: RwSignal::new(0),
            kept: RefCell::new(HashMap::new()),
            kept_read: Cell::new(false),
            maintenance: RefCell::new(HashSet::new()),
            recovering: RefCell::new(HashSet::new()),
            asked_rights: RefCell::new(HashSet::new()),
            presence: RwSignal::new(HashMap::new()),
            announce: RefCell::new(None),
            name: RwSignal::new(crate::browser::setting(NAME_KEY).unwrap_or_default()),
            attempts: Cell::new(0),
            reconnect_pending: Cell::new(false),
            status_pending: Cell::new(false),
            generation: Cell::new(0),
        });
        let service = SyncService(inner);
        let weak = Rc::downgrade(&service.0);
        account.on_change(Rc::new(move |session: &Session| {
            let Some(inner) = weak.upgrade() else { return };
            let s = SyncService(inner);
            // Another person's socket, or nobody's any more; what the relay
            // refused was refused to the previous person.
            if s.0.socket.borrow().is_some() || !session.is_signed_in() {
                s.closed();
            }
            s.0.unavailable.borrow_mut().clear();
            s.schedule_status();
            if session.is_signed_in() {
                s.0.attempts.set(0);
                s.connect();
            }
        }));
        let weak = Rc::downgrade(&service.0);
        service.0.storage.on_created(Rc::new(move |meta| {
            if let Some(inner) = weak.upgrade() {
                SyncService(inner).created(meta);
            }
        }));
        service.listen_to_network();
        service.every(HEARTBEAT_EVERY_MS, |s| s.heartbeat());
        service.every(presence::ANNOUNCE_EVERY_MS, |s| {
            s.send_presence();
            s.forget_gone_peers();
        });
        service.connect();
        // What is waiting to go out is in the list records; documents kept
        // before those counts existed are opened and counted once the page
        // that opened the app is on screen (loading them must not hold up
        // the one being opened). Broken ones are tried again with what can
        // be read of them.
        let s = service.clone();
        wasm_bindgen_futures::spawn_local(async move {
            s.refresh_kept().await;
            s.recover_all(false);
        });
        service.after(STARTUP_COUNT_DELAY_MS, |s| s.0.clone().load_uncounted_then(|s| s.schedule_status()));
        service
    }

    pub fn status(&self) -> RwSignal<SyncStatus> {
        self.0.status
    }

    pub fn list_version(&self) -> RwSignal<u64> {
        self.0.list_version
    }

    /// The name others see next to this device.
    pub fn name(&self) -> RwSignal<String> {
        self.0.name
    }

    pub fn set_name(&self, name: String) {
        crate::browser::set_setting(NAME_KEY, &name);
        self.0.name.set(name);
        self.send_presence();
    }

    /// How one roadmap's sync stands (for its editor).
    pub fn doc_state(&self, id: DocumentId) -> Signal<DocState> {
        let states = self.0.doc_states;
        Signal::derive(move || states.with(|s| s.get(&id).cloned().unwrap_or_default()))
    }

    /// Bumps whenever the roadmap changed from elsewhere.
    pub fn version(&self, id: DocumentId) -> RwSignal<u64> {
        let owner = &self.0.owner;
        *self.0.versions.borrow_mut().entry(id).or_insert_with(|| match owner {
            Some(owner) => owner.with(|| RwSignal::new(0)),
            None => RwSignal::new(0),
        })
    }

    /// What changed from elsewhere since the last call (after [`Self::version`] moved).
    pub fn take_touched(&self, id: DocumentId) -> Touched {
        self.0.touched.borrow_mut().remove(&id).unwrap_or_default()
    }

    /// Names of the other people who have the roadmap open now.
    pub fn others(&self, id: DocumentId) -> Signal<Vec<String>> {
        let presence = self.0.presence;
        Signal::derive(move || {
            presence.with(|p| {
                let peers = p.get(&id).into_iter().flat_map(|peers| peers.values());
                presence::people(peers.map(|p| (p.person.as_str(), p.name.as_str(), p.seen)))
            })
        })
    }

    /// The roadmap's one in-memory replica, loading it from IndexedDB if
    /// needed.
    pub async fn open(&self, id: DocumentId) -> Result<Rc<RefCell<OpenRoadmap>>, OpenError> {
        match self.load(id, None).await? {
            Opened::Roadmap(doc) => Ok(doc),
            Opened::File(_) => Err(OpenError::NotFound),
        }
    }

    /// A school's file, synced like a roadmap. A device that has never had
    /// it starts from its genesis (the same on every device), so it opens
    /// offline too and merges with what others wrote once online.
    pub async fn open_school(&self, school: &str) -> Result<Rc<RefCell<OpenFile>>, OpenError> {
        self.open_file(Wanted::School(school.to_owned())).await
    }

    /// The project's catalogue (risk factors, required documents, visit
    /// intervals); the 2021 seed until the relay brings its edits.
    pub async fn open_catalogue(&self) -> Result<Rc<RefCell<OpenFile>>, OpenError> {
        self.open_file(Wanted::Catalogue).await
    }

    async fn open_file(&self, wanted: Wanted) -> Result<Rc<RefCell<OpenFile>>, OpenError> {
        match self.load(wanted.id(), Some(wanted)).await? {
            Opened::File(doc) => Ok(doc),
            Opened::Roadmap(_) => Err(OpenError::NotFound),
        }
    }

    /// The one in-memory replica of a document, loading it from IndexedDB
    /// if needed: a roadmap, or (`file`) a well-known file.
    async fn load(&self, id: DocumentId, file: Option<Wanted>) -> Result<Opened, OpenError> {
        if let Some(doc) = self.0.docs.borrow().get(&id) {
            return Ok(doc.clone());
        }
        // One load at a time per document: a second caller waits for the
        // first (two loads of a damaged one would quarantine it twice).
        let wait = {
            let mut opening = self.0.opening.borrow_mut();
            match opening.get_mut(&id) {
                Some(waiters) => {
                    let (tx, rx) = futures::channel::oneshot::channel();
                    waiters.push(tx);
                    Some(rx)
                }
                None => {
                    opening.insert(id, Vec::new());
                    None
                }
            }
        };
        if let Some(rx) = wait {
            let _ = rx.await;
            let opened = self.0.docs.borrow().get(&id).cloned();
            return match opened {
                Some(doc) => Ok(doc),
                None => Box::pin(self.load(id, file)).await,
            };
        }
        let on_error = self.0.on_error.clone();
        let result = match &file {
            None => OpenRoadmap::open(&self.0.storage, id, on_error)
                .await
                .map(|d| Opened::Roadmap(Rc::new(RefCell::new(d)))),
            Some(wanted) => OpenFile::open(&self.0.storage, wanted, on_error)
                .await
                .map(|d| Opened::File(Rc::new(RefCell::new(d)))),
        };
        let waiters = self.0.opening.borrow_mut().remove(&id).unwrap_or_default();
        if matches!(result, Err(OpenError::Corrupt(_))) {
            // Just moved to quarantine: the indicator counts it as broken,
            // and online its server copy replaces it.
            let service = self.clone();
            wasm_bindgen_futures::spawn_local(async move {
                service.refresh_kept().await;
                let online = service.0.status.get_untracked().connection == Connection::Online;
                let _ = service.recover(id, online).await;
            });
        }
        let opened = result.map(|open| self.register(id, open));
        for waiter in waiters {
            let _ = waiter.send(());
        }
        opened
    }

    fn register(&self, id: DocumentId, open: Opened) -> Opened {
        let weak = Rc::downgrade(&self.0);
        let synced = open.synced();
        let mut doc = synced.borrow_mut();
        doc.on_change(Rc::new(move |id| {
            // Deferred: the change is reported while the document is borrowed.
            let weak = weak.clone();
            wasm_bindgen_futures::spawn_local(async move {
                if let Some(inner) = weak.upgrade() {
                    SyncService(inner).local_change(id);
                }
            });
        }));
        let list_version = self.0.list_version;
        doc.on_meta_stored(Rc::new(move || list_version.update(|v| *v += 1)));
        let weak = Rc::downgrade(&self.0);
        doc.on_maintenance(Rc::new(move |id| {
            if let Some(inner) = weak.upgrade() {
                SyncService(inner).schedule_maintenance(id);
            }
        }));
        let notice = doc.parts().1.take_notice();
        drop(doc);
        if let Some(notice) = notice {
            (self.0.on_error)(notice);
        }
        self.0.docs.borrow_mut().insert(id, open.clone());
        // A document opened with many pieces is compacted at a quiet moment.
        self.schedule_maintenance(id);
        self.pump(id);
        self.schedule_status();
        open
    }

    /// Starts syncing a roadmap just stored on this device (created,
    /// duplicated, imported, or restored after a delete).
    pub fn track(&self, id: DocumentId) {
        let service = self.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let _ = service.open(id).await;
        });
    }

    /// Stops syncing a roadmap deleted from this device.
    pub fn forget(&self, id: DocumentId) {
        self.0.docs.borrow_mut().remove(&id);
        self.0.kept.borrow_mut().remove(&id);
        self.0.unavailable.borrow_mut().remove(&id);
        self.0.refused.borrow_mut().remove(&id);
        crate::gone::forget(&id);
        self.0.client.borrow_mut().forget(&id);
        self.schedule_status();
    }

    /// Gets a roadmap this device does not have from the relay, by its
    /// link, and stores it. Waits for a connection being made.
    pub async fn fetch(&self, id: DocumentId) -> Result<(), FetchError> {
        match self.fetch_for(id, false).await {
            // The relay says the same of a roadmap deleted for everyone as
            // of one the person may not read; the API tells them apart.
            Err(FetchError::Unavailable) => {
                match crate::api::send("GET", &format!("/api/roadmaps/{id}/access"), None::<&()>).await {
                    Err(crate::api::ApiError::Status { status: 410, message }) => {
                        Err(FetchError::Deleted(message))
                    }
                    _ => Err(FetchError::Unavailable),
                }
            }
            other => other,
        }
    }

    /// Gets the server's copy of a document, to open a link (`recover`
    /// false) or to replace a broken copy on this device, keeping every
    /// change that can still be read from it (`recover`).
    async fn fetch_for(&self, id: DocumentId, recover: bool) -> Result<(), FetchError> {
        if !self.0.account.is_signed_in() {
            return Err(FetchError::SignedOut);
        }
        let (tx, rx) = futures::channel::oneshot::channel();
        {
            let mut fetching = self.0.fetching.borrow_mut();
            let fetch = fetching.entry(id).or_insert_with(|| Fetch {
                recover,
                doc: automerge::AutoCommit::new(),
                waiters: Vec::new(),
                storing: false,
                queued: Vec::new(),
            });
            fetch.waiters.push(tx);
        }
        if self.0.status.get_untracked().connection == Connection::Offline {
            self.connect();
        }
        self.pump(id);
        self.after(FETCH_TIMEOUT_MS, move |s| {
            let offline = s.0.status.get_untracked().connection != Connection::Online;
            let error = if offline { FetchError::Offline } else { FetchError::Timeout };
            s.finish_fetch(id, Err(error));
        });
        rx.await.unwrap_or(Err(FetchError::Timeout))
    }

    /// Tells others this device has the roadmap open (`Some`) or closed it.
    pub fn announce(&self, id: DocumentId, open: bool) {
        let person = self.0.account.person_id();
        let presence = Presence { name: self.display_name(), open, person };
        let previous = self.0.announce.replace(open.then(|| (id, presence.clone())));
        if open || previous.is_some_and(|(p, _)| p == id) {
            self.send_ephemeral(id, presence);
        }
    }

    fn display_name(&self) -> String {
        let name = self.0.name.get_untracked();
        if !name.trim().is_empty() {
            return name.trim().to_owned();
        }
        let me = self.0.account.session.with_untracked(|s| s.me().map(|me| me.person.name.clone()));
        me.unwrap_or_else(|| "Без имени".to_owned())
    }

    fn send_presence(&self) {
        let current = self.0.announce.borrow().clone();
        if let Some((id, mut presence)) = current {
            presence.name = self.display_name();
            self.send_ephemeral(id, presence);
        }
    }

    fn send_ephemeral(&self, id: DocumentId, presence: Presence) {
        let frame = self.0.client.borrow_mut().ephemeral(id, presence.encode());
        if let Some(frame) = frame {
            self.send(&frame);
        }
    }

    fn forget_gone_peers(&self) {
        let now = crate::browser::now_ms() as u64;
        let stale = self.0.presence.with_untracked(|p| {
            p.values().any(|peers| {
                peers.values().any(|peer| now.saturating_sub(peer.seen) > presence::FORGET_AFTER_MS)
            })
        });
        if stale {
            self.0.presence.update(|p| {
                for peers in p.values_mut() {
                    peers.retain(|_, peer| now.saturating_sub(peer.seen) <= presence::FORGET_AFTER_MS);
                }
            });
        }
    }

    /// Opens a socket unless one is open or being opened, or nobody is
    /// signed in. The server is asked who is signed in first: a session
    /// ended while the device was away is found here.
    fn connect(&self) {
        if self.0.socket.borrow().is_some() || self.0.checking.get() {
            return;
        }
        if !self.0.account.is_signed_in() {
            return self.set_connection(Connection::Offline);
        }
        self.0.checking.set(true);
        self.set_connection(Connection::Connecting);
        let service = self.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let checked = service.0.account.check().await;
            service.0.checking.set(false);
            match checked {
                Ok(()) if service.0.account.is_signed_in() => {
                    service.0.account.refresh_roadmaps();
                    service.open_socket();
                }
                // A 401: the session listener has stopped the sync.
                Ok(()) => {}
                Err(e) if e.is_status(401) => {}
                Err(_) => service.closed(),
            }
        });
    }

    fn open_socket(&self) {
        if self.0.socket.borrow().is_some() {
            return;
        }
        let Some(url) = sync_url() else { return };
        let Ok(ws) = WebSocket::new(&url) else {
            return self.schedule_reconnect();
        };
        ws.set_binary_type(BinaryType::Arraybuffer);
        let generation = self.0.generation.get() + 1;
        self.0.generation.set(generation);
        self.set_connection(Connection::Connecting);

        let weak = Rc::downgrade(&self.0);
        let on_open = self.handler(&weak, generation, |s, _| {
            let join = s.0.client.borrow_mut().join();
            s.send(&join);
        });
        let on_message = self.handler(&weak, generation, |s, event| {
            let Some(event) = event.dyn_ref::<MessageEvent>() else { return };
            let Ok(buffer) = event.data().dyn_into::<js_sys::ArrayBuffer>() else { return };
            s.frame(&js_sys::Uint8Array::new(&buffer).to_vec());
        });
        let on_close = self.handler(&weak, generation, |s, event| {
            // The session ended on the server: reconnect at once, which
            // asks `/api/me` and so finds out.
            if event.dyn_ref::<CloseEvent>().is_some_and(|e| e.code() == SESSION_ENDED) {
                s.0.attempts.set(0);
            }
            s.closed();
        });
        ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        *self.0.socket.borrow_mut() = Some(Socket { ws, _handlers: vec![on_open, on_message, on_close] });
    }

    /// A browser callback bound to one socket generation.
    fn handler(
        &self,
        weak: &Weak<Inner>,
        generation: u64,
        f: impl Fn(&SyncService, web_sys::Event) + 'static,
    ) -> Closure<dyn FnMut(web_sys::Event)> {
        let weak = weak.clone();
        Closure::new(move |event: web_sys::Event| {
            if let Some(inner) = weak.upgrade()
                && inner.generation.get() == generation
            {
                f(&SyncService(inner), event);
            }
        })
    }

    /// Drops the socket (if any) and plans the next attempt, if someone is
    /// signed in.
    fn closed(&self) {
        if let Some(socket) = self.0.socket.borrow_mut().take() {
            socket.ws.set_onclose(None);
            let _ = socket.ws.close();
        }
        self.0.generation.set(self.0.generation.get() + 1);
        self.0.client.borrow_mut().disconnected();
        self.0.presence.set(HashMap::new());
        let online = web_sys::window().is_none_or(|w| w.navigator().on_line());
        let signed_in = self.0.account.is_signed_in();
        if online && signed_in {
            self.set_connection(Connection::Connecting);
            self.schedule_reconnect();
        } else {
            self.set_connection(Connection::Offline);
            // Nobody waits for a fetch through a dead connection.
            let error = if signed_in { FetchError::Offline } else { FetchError::SignedOut };
            let waiting: Vec<DocumentId> = self.0.fetching.borrow().keys().copied().collect();
            for id in waiting {
                self.finish_fetch(id, Err(error.clone()));
            }
        }
    }

    fn schedule_reconnect(&self) {
        if self.0.reconnect_pending.replace(true) {
            return;
        }
        let attempts = self.0.attempts.get();
        self.0.attempts.set(attempts.saturating_add(1));
        self.set_failed_attempts(attempts.saturating_add(1));
        let base = (BACKOFF_FIRST_MS * 2f64.powi(attempts.min(16) as i32)).min(BACKOFF_MAX_MS);
        // Full jitter in the upper half: a relay restart is not met by every
        // device at the same instant.
        let delay = base * (0.5 + js_sys::Math::random() * 0.5);
        self.after(delay as u64, |s| {
            s.0.reconnect_pending.set(false);
            s.connect();
        });
    }

    fn listen_to_network(&self) {
        let Some(window) = web_sys::window() else { return };
        let weak = Rc::downgrade(&self.0);
        let online = Closure::<dyn FnMut(web_sys::Event)>::new({
            let weak = weak.clone();
            move |_| {
                if let Some(inner) = weak.upgrade() {
                    inner.attempts.set(0);
                    SyncService(inner).connect();
                }
            }
        });
        let offline = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| {
            if let Some(inner) = weak.upgrade() {
                SyncService(inner).closed();
            }
        });
        let _ = window.add_event_listener_with_callback("online", online.as_ref().unchecked_ref());
        let _ = window.add_event_listener_with_callback("offline", offline.as_ref().unchecked_ref());
        // The service lives as long as the page.
        online.forget();
        offline.forget();
    }

    /// Asks the relay's health endpoint; no answer in time means the socket
    /// is dead even if the browser still calls it open.
    fn heartbeat(&self) {
        if self.0.status.get_untracked().connection != Connection::Online {
            return;
        }
        let generation = self.0.generation.get();
        let answered = Rc::new(Cell::new(false));
        if let Some(window) = web_sys::window() {
            let init = web_sys::RequestInit::new();
            init.set_cache(web_sys::RequestCache::NoStore);
            let promise = window.fetch_with_str_and_init("/api/health", &init);
            let answered = answered.clone();
            wasm_bindgen_futures::spawn_local(async move {
                if let Ok(response) = wasm_bindgen_futures::JsFuture::from(promise).await
                    && response.dyn_ref::<web_sys::Response>().is_some_and(|r| r.ok())
                {
                    answered.set(true);
                }
            });
        }
        self.after(HEARTBEAT_TIMEOUT_MS, move |s| {
            if !answered.get() && s.0.generation.get() == generation {
                s.closed();
            }
        });
    }

    /// Runs `f` once after `ms`, unless the service is gone by then.
    fn after(&self, ms: u64, f: impl FnOnce(&SyncService) + 'static) {
        let weak = Rc::downgrade(&self.0);
        set_timeout(
            move || {
                if let Some(inner) = weak.upgrade() {
                    f(&SyncService(inner));
                }
            },
            std::time::Duration::from_millis(ms),
        );
    }

    /// Runs `f` every `ms` while the service lives.
    fn every(&self, ms: u64, f: impl Fn(&SyncService) + 'static) {
        let weak = Rc::downgrade(&self.0);
        let _ = set_interval_with_handle(
            move || {
                if let Some(inner) = weak.upgrade() {
                    f(&SyncService(inner));
                }
            },
            std::time::Duration::from_millis(ms),
        );
    }

    fn send(&self, frame: &[u8]) {
        let failed = match self.0.socket.borrow().as_ref() {
            Some(socket) if socket.ws.ready_state() == WebSocket::OPEN => {
                socket.ws.send_with_u8_array(frame).is_err()
            }
            _ => false,
        };
        if failed {
            self.closed();
        }
    }

    /// One frame from the relay.
    fn frame(&self, bytes: &[u8]) {
        let event = self.0.client.borrow_mut().receive(bytes);
        match event {
            Ok(Event::Connected) => {
                self.0.attempts.set(0);
                self.0.asked_rights.borrow_mut().clear();
                self.set_connection(Connection::Online);
                self.send_presence();
                let ids: Vec<DocumentId> = self.0.fetching.borrow().keys().copied().collect();
                for id in ids {
                    self.pump(id);
                }
                self.0.clone().load_all_then(|s| {
                    let ids: Vec<DocumentId> = s.0.docs.borrow().keys().copied().collect();
                    for id in ids {
                        s.pump(id);
                    }
                    s.recover_all(true);
                });
            }
            Ok(Event::Sync { doc, message }) => self.remote(doc, message),
            Ok(Event::Unavailable { doc }) => {
                let held = self.0.docs.borrow().get(&doc).map(|d| matches!(d, Opened::Roadmap(_)));
                if let Some(roadmap) = held {
                    self.0.unavailable.borrow_mut().insert(doc);
                    self.schedule_status();
                    if roadmap {
                        self.check_gone(doc);
                    }
                    // A document this device held is no longer readable:
                    // the person's rights changed (a curator moved to
                    // another school), so what they are shown follows.
                    self.refresh_account();
                }
                self.finish_fetch(doc, Err(FetchError::Unavailable));
            }
            Ok(Event::ChangesRefused { doc, message, detail }) => {
                web_sys::console::warn_1(&format!("the relay refused our changes to {doc}: {detail}").into());
                self.0.refused.borrow_mut().insert(doc, (message, detail));
                self.schedule_status();
            }
            Ok(Event::Ephemeral { doc, sender, data, .. }) => {
                if let Some(p) = Presence::decode(&data) {
                    let seen = crate::browser::now_ms() as u64;
                    self.0.presence.update(|all| {
                        let peers = all.entry(doc).or_default();
                        if p.open {
                            peers.insert(sender, Peer { name: p.name, person: p.person, seen });
                        } else {
                            peers.remove(&sender);
                        }
                    });
                }
            }
            Ok(Event::Refused { message }) => {
                web_sys::console::warn_1(&format!("the relay refused us: {message}").into());
                self.closed();
            }
            Ok(Event::None) => {}
            Err(e) => {
                web_sys::console::warn_1(&format!("sync: {e}").into());
                self.closed();
            }
        }
    }

    /// A sync message from the relay for one roadmap.
    fn remote(&self, id: DocumentId, message: automerge::sync::Message) {
        let doc = self.0.docs.borrow().get(&id).map(Opened::synced);
        if let Some(doc) = doc {
            self.0.unavailable.borrow_mut().remove(&id);
            let result = {
                let mut open = doc.borrow_mut();
                let mut client = self.0.client.borrow_mut();
                let mut message = Some(message);
                open.receive(&mut |am| match message.take() {
                    Some(message) => client.apply(id, &mut am.sync(), message),
                    None => Ok(()),
                })
            };
            self.ask_rights_once(id);
            match result {
                Ok(Touched::Nothing) => {}
                Ok(touched) => {
                    let mut all = self.0.touched.borrow_mut();
                    let before = all.remove(&id).unwrap_or_default();
                    all.insert(id, before.merge(touched));
                    drop(all);
                    self.version(id).update(|v| *v += 1);
                }
                Err(e) => {
                    web_sys::console::warn_1(&format!("sync of {id}: {e}").into());
                    return self.closed();
                }
            }
            self.pump(id);
            self.schedule_status();
            return;
        }
        self.remote_for_fetch(id, message);
    }

    /// The relay answered for a roadmap the account's list of rights does
    /// not have: it registered it just now (a roadmap made on this device
    /// syncs for the first time), so the list is asked again, once per
    /// connection, and the editor shows its unit.
    fn ask_rights_once(&self, id: DocumentId) {
        let is_roadmap = matches!(self.0.docs.borrow().get(&id), Some(Opened::Roadmap(_)));
        let known = self.0.account.roadmaps.with_untracked(|r| r.contains_key(&id.to_string()));
        if is_roadmap && !known && self.0.asked_rights.borrow_mut().insert(id) {
            self.0.account.refresh_roadmaps();
        }
    }

    /// Content for a roadmap being fetched by link: the first of it is
    /// stored as a new roadmap on this device, then it syncs like any other.
    fn remote_for_fetch(&self, id: DocumentId, message: automerge::sync::Message) {
        let store = {
            let mut fetching = self.0.fetching.borrow_mut();
            let Some(fetch) = fetching.get_mut(&id) else { return };
            if fetch.storing {
                fetch.queued.push(message);
                return;
            }
            let mut client = self.0.client.borrow_mut();
            if client.apply(id, &mut fetch.doc.sync(), message).is_err() {
                drop(client);
                drop(fetching);
                self.finish_fetch(id, Err(FetchError::NotARoadmap("повреждённые данные".into())));
                return;
            }
            if fetch.doc.get_heads().is_empty() {
                None
            } else {
                fetch.storing = true;
                Some((fetch.doc.save(), fetch.recover))
            }
        };
        let Some((bytes, recover)) = store else {
            return self.pump(id);
        };
        let service = self.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let result = if recover {
                service.store_recovered(id, &bytes).await
            } else {
                service.store_fetched(id, &bytes).await
            };
            if result.is_ok() {
                let queued = service
                    .0
                    .fetching
                    .borrow_mut()
                    .get_mut(&id)
                    .map(|f| std::mem::take(&mut f.queued))
                    .unwrap_or_default();
                for message in queued {
                    service.remote(id, message);
                }
                service.0.list_version.update(|v| *v += 1);
            }
            service.finish_fetch(id, result);
        });
    }

    async fn store_fetched(&self, id: DocumentId, bytes: &[u8]) -> Result<(), FetchError> {
        let mut doc = RoadmapDoc::load(bytes).map_err(|e| FetchError::NotARoadmap(e.to_string()))?;
        // Everything in it came from the relay.
        crate::replica::relay_had(&id, &doc.heads());
        OpenRoadmap::store_fetched(&self.0.storage, id, &mut doc)
            .await
            .map_err(|e| FetchError::Storage(e.to_string()))?;
        self.open(id).await.map_err(|e| FetchError::Storage(e.to_string()))?;
        Ok(())
    }

    fn finish_fetch(&self, id: DocumentId, result: Result<(), FetchError>) {
        let Some(fetch) = self.0.fetching.borrow_mut().remove(&id) else { return };
        if result.is_err() {
            self.0.client.borrow_mut().forget(&id);
        }
        for waiter in fetch.waiters {
            let _ = waiter.send(result.clone());
        }
    }

    /// This tab stored a new document (made here, imported, copied, or
    /// fetched): the indicator counts it before any page opens it, so it
    /// never says «всё сохранено» while a roadmap made here is not on the
    /// server.
    fn created(&self, meta: &crate::storage::RoadmapMeta) {
        let Ok(id) = DocumentId::parse(&meta.id) else { return };
        self.0.kept.borrow_mut().insert(id, KeptState { unsent: meta.unsent, broken: meta.broken.is_some() });
        if meta.unsent.is_some_and(|n| n > 0) && self.0.status.with_untracked(|s| s.unsynced == 0) {
            self.0.status.update(|s| s.unsynced = 1);
        }
        self.schedule_status();
    }

    fn local_change(&self, id: DocumentId) {
        // A change just made is not on the relay yet: the indicator stops
        // saying «всё сохранено» at once (the recount after it, a moment
        // later, gives the exact number).
        if self.0.status.with_untracked(|s| s.unsynced == 0) {
            self.0.status.update(|s| s.unsynced = 1);
        }
        self.pump(id);
        self.schedule_status();
    }

    /// Sends what the roadmap has for the relay, if anything.
    fn pump(&self, id: DocumentId) {
        if !self.0.client.borrow().is_connected() {
            return;
        }
        let doc = self.0.docs.borrow().get(&id).map(Opened::synced);
        let frames = match doc {
            Some(doc) => {
                let mut open = doc.borrow_mut();
                self.0.client.borrow_mut().outgoing(id, open.automerge())
            }
            None => {
                let mut fetching = self.0.fetching.borrow_mut();
                let Some(fetch) = fetching.get_mut(&id) else { return };
                if fetch.storing {
                    return;
                }
                self.0.client.borrow_mut().outgoing(id, &mut fetch.doc)
            }
        };
        // More than the relay takes in one message comes in pieces.
        for frame in frames {
            self.send(&frame);
        }
    }

    fn set_failed_attempts(&self, n: u32) {
        if self.0.status.with_untracked(|s| s.failed_attempts != n) {
            self.0.status.update(|s| s.failed_attempts = n);
        }
    }

    fn set_connection(&self, connection: Connection) {
        if connection == Connection::Online {
            self.set_failed_attempts(0);
        }
        if self.0.status.with_untracked(|s| s.connection != connection) {
            self.0.status.update(|s| s.connection = connection);
        }
        self.schedule_status();
    }

    /// Recounts unsynced changes soon (coalescing bursts of keystrokes).
    fn schedule_status(&self) {
        if self.0.status_pending.replace(true) {
            return;
        }
        self.after(STATUS_EVERY_MS, |s| {
            s.0.status_pending.set(false);
            s.recount();
        });
    }

    fn recount(&self) {
        let docs: Vec<(DocumentId, Rc<RefCell<dyn Synced>>, bool)> = self
            .0
            .docs
            .borrow()
            .iter()
            .map(|(id, d)| (*id, d.synced(), matches!(d, Opened::Roadmap(_))))
            .collect();
        let (mut unsynced, mut rejected, mut broken, mut uncounted, mut gone) = (0, 0, 0, 0, 0);
        if !self.0.kept_read.get() {
            uncounted += 1;
        }
        let deleted = crate::gone::all();
        // Documents not open: what their list records say.
        for (id, kept) in self.0.kept.borrow().iter() {
            if self.0.docs.borrow().contains_key(id) {
                continue;
            }
            if deleted.contains_key(&id.to_string()) {
                gone += 1;
                continue;
            }
            match (kept.broken, kept.unsent) {
                (true, _) => broken += 1,
                (false, Some(n)) => unsynced += n as usize,
                (false, None) => uncounted += 1,
            }
        }
        let mut states = HashMap::with_capacity(docs.len());
        let mut newly_stored = false;
        let mut busy = false;
        let previous = self.0.doc_states.get_untracked();
        for (id, doc, roadmap) in docs {
            let Ok(mut open) = doc.try_borrow_mut() else {
                // In use right now: its last count stands (or, never
                // counted yet, it keeps the indicator from saying all is
                // saved) until the count is taken again, soon.
                busy = true;
                match previous.get(&id) {
                    Some(state) => {
                        if state.gone.is_some() {
                            gone += 1;
                        } else if state.read_only || state.unavailable {
                            rejected += state.unsynced;
                        } else {
                            unsynced += state.unsynced;
                        }
                        states.insert(id, state.clone());
                    }
                    None => uncounted += 1,
                }
                continue;
            };
            let client = self.0.client.borrow();
            let shared = client.shared_heads(&id).map(<[_]>::to_vec);
            let stored = shared.is_some();
            let state = DocState {
                unsynced: open.unsynced(shared),
                read_only: client.relay_read_only(&id),
                unavailable: self.0.unavailable.borrow().contains(&id),
                refused: self.0.refused.borrow().get(&id).cloned(),
                gone: deleted.get(&id.to_string()).cloned(),
            };
            if state.gone.is_some() {
                gone += 1;
            } else if state.read_only || state.unavailable {
                rejected += state.unsynced;
            } else {
                unsynced += state.unsynced;
            }
            if roadmap
                && stored
                && state.unsynced == 0
                && !state.unavailable
                && self.0.account.roadmap(&id.to_string()).is_none()
                && self.0.listed_after_sync.borrow_mut().insert(id)
            {
                newly_stored = true;
            }
            states.insert(id, state);
        }
        if newly_stored {
            self.0.account.refresh_roadmaps();
        }
        let counts = (unsynced, rejected, broken, uncounted, gone);
        if self.0.status.with_untracked(|s| (s.unsynced, s.rejected, s.broken, s.uncounted, s.gone) != counts)
        {
            self.0.status.update(|s| (s.unsynced, s.rejected, s.broken, s.uncounted, s.gone) = counts);
        }
        self.place_pending(&states);
        if self.0.doc_states.with_untracked(|s| *s != states) {
            self.0.doc_states.set(states);
        }
        if busy {
            self.schedule_status();
        }
    }

    /// Re-reads the list records the indicator counts documents that are
    /// not open from.
    async fn refresh_kept(&self) {
        let Ok(list) = self.0.storage.list().await else { return };
        let kept = list
            .into_iter()
            .filter_map(|meta| {
                let id = DocumentId::parse(&meta.id).ok()?;
                let state = KeptState { unsent: meta.unsent, broken: meta.broken.is_some() };
                Some((id, state))
            })
            .collect();
        *self.0.kept.borrow_mut() = kept;
        self.0.kept_read.set(true);
        self.schedule_status();
    }

    /// Tries to bring back every broken document: from what can still be
    /// read of it, and (`online`) from the server's copy.
    fn recover_all(&self, online: bool) {
        let broken: Vec<DocumentId> =
            self.0.kept.borrow().iter().filter(|(_, k)| k.broken).map(|(id, _)| *id).collect();
        for id in broken {
            let service = self.clone();
            wasm_bindgen_futures::spawn_local(async move {
                if let Err(e) = service.recover(id, online).await {
                    web_sys::console::warn_1(&format!("{id} stays broken: {e}").into());
                }
            });
        }
    }

    /// «Загрузить с сервера заново» on a broken document: its server copy
    /// replaces it, with every change still readable from the broken one.
    pub async fn reload_from_server(&self, id: DocumentId) -> Result<(), String> {
        if !self.0.account.is_signed_in() {
            return Err("войдите, чтобы получить копию с сервера".to_owned());
        }
        if self.0.status.get_untracked().connection != Connection::Online {
            return Err("нет связи с сервером: попробуйте, когда появится сеть".to_owned());
        }
        self.recover(id, true).await
    }

    /// Brings a broken document back into use (see [`Self::recover_all`]).
    async fn recover(&self, id: DocumentId, online: bool) -> Result<(), String> {
        if !self.0.recovering.borrow_mut().insert(id) {
            return Ok(());
        }
        let result = self.recover_once(id, online).await;
        self.0.recovering.borrow_mut().remove(&id);
        self.refresh_kept().await;
        self.0.list_version.update(|v| *v += 1);
        result
    }

    async fn recover_once(&self, id: DocumentId, online: bool) -> Result<(), String> {
        let storage = &self.0.storage;
        let meta =
            storage.meta(&id).await.map_err(|e| e.to_string())?.ok_or("документа нет на устройстве")?;
        if meta.broken.is_none() {
            return Ok(());
        }
        let damaged = self.damaged_bytes(id).await?;
        // What today's loader makes of the bytes alone (a copy quarantined
        // by an older version may load whole now).
        let refs: Vec<&[u8]> = damaged.iter().map(Vec::as_slice).collect();
        let loaded = medk_shared::replica::load::load(&refs);
        let whole = loaded.complete() && loaded.waiting_for.is_empty();
        if let Some(mut fixed) = recovered_meta(&id, meta.kind, &meta.title, loaded.doc.clone()) {
            let mut am = loaded.doc;
            fixed.unsent = None;
            storage.restore(&fixed, am.save(), whole).await.map_err(|e| e.to_string())?;
            (self.0.on_info)(format!(
                "«{}» снова открывается: данные на устройстве прочитаны целиком.",
                title_of(&fixed)
            ));
            return Ok(());
        }
        // A well-known file starts from its genesis, like on a new device;
        // the relay brings the rest.
        let wanted = match meta.kind {
            DocKind::School => Some(Wanted::School(meta.title.clone())),
            DocKind::Catalogue => Some(Wanted::Catalogue),
            DocKind::Roadmap => None,
        };
        if let Some(wanted) = wanted {
            let mut am = wanted.genesis_automerge();
            let salvaged = medk_shared::replica::salvage(&mut am, &damaged);
            let mut fixed = recovered_meta(&id, meta.kind, &meta.title, am.clone())
                .ok_or("даже начальное состояние файла не читается")?;
            fixed.unsent = None;
            storage.restore(&fixed, am.save(), false).await.map_err(|e| e.to_string())?;
            let lost = salvaged.unreadable || salvaged.left_out > 0;
            (self.0.on_info)(recovered_text(&fixed, salvaged.added, lost, false));
            return Ok(());
        }
        if !online {
            return Err("нужна копия с сервера".to_owned());
        }
        self.fetch_for(id, true).await.map_err(|e| e.to_string())
    }

    /// Every byte string kept for a broken document: quarantined, and any
    /// chunks written since.
    async fn damaged_bytes(&self, id: DocumentId) -> Result<Vec<Vec<u8>>, String> {
        let storage = &self.0.storage;
        let mut damaged = storage.quarantined(&id).await.map_err(|e| e.to_string())?;
        damaged.extend(storage.load(&id).await.map_err(|e| e.to_string())?.into_iter().map(|p| p.bytes));
        Ok(damaged)
    }

    /// The server's copy of a broken roadmap arrived: every change still
    /// readable from the broken copy goes into it, and it replaces the
    /// broken copy (whose bytes stay in quarantine).
    async fn store_recovered(&self, id: DocumentId, bytes: &[u8]) -> Result<(), FetchError> {
        let storage = &self.0.storage;
        let meta = storage
            .meta(&id)
            .await
            .map_err(|e| FetchError::Storage(e.to_string()))?
            .ok_or_else(|| FetchError::Storage("документа нет на устройстве".into()))?;
        let mut am =
            automerge::AutoCommit::load(bytes).map_err(|e| FetchError::NotARoadmap(e.to_string()))?;
        crate::replica::relay_had(&id, &am.get_heads());
        let damaged = self.damaged_bytes(id).await.map_err(FetchError::Storage)?;
        let mut salvaged = am.clone();
        let counted = medk_shared::replica::salvage(&mut salvaged, &damaged);
        // What was salvaged must still read as such a document; if not,
        // the server's copy alone.
        let (mut am, added, lost) = match recovered_meta(&id, meta.kind, &meta.title, salvaged.clone()) {
            Some(_) => (salvaged, counted.added, counted.unreadable || counted.left_out > 0),
            None => (am.clone(), 0, true),
        };
        let mut fixed = recovered_meta(&id, meta.kind, &meta.title, am.clone())
            .ok_or_else(|| FetchError::NotARoadmap("копия сервера не читается".into()))?;
        fixed.unsent = None;
        storage.restore(&fixed, am.save(), false).await.map_err(|e| FetchError::Storage(e.to_string()))?;
        (self.0.on_info)(recovered_text(&fixed, added, lost, true));
        if meta.kind == DocKind::Roadmap {
            self.open(id).await.map_err(|e| FetchError::Storage(e.to_string()))?;
        }
        Ok(())
    }

    /// Asks for a quiet moment to compact a document or write again what
    /// failed; coalesced per document.
    fn schedule_maintenance(&self, id: DocumentId) {
        if !self.0.maintenance.borrow_mut().insert(id) {
            return;
        }
        self.after(MAINTENANCE_DELAY_MS, move |s| {
            s.0.maintenance.borrow_mut().remove(&id);
            let doc = s.0.docs.borrow().get(&id).map(Opened::synced);
            if let Some(doc) = doc {
                match doc.try_borrow_mut() {
                    Ok(mut open) => open.maintain(),
                    Err(_) => s.schedule_maintenance(id),
                }
            }
        });
    }

    /// The relay has nothing of a roadmap this device holds: asks the API
    /// whether it was deleted for everyone (410), and if so remembers it.
    /// Asks the server again who is signed in (the units they see) and
    /// what they may do with each roadmap.
    fn refresh_account(&self) {
        let account = self.0.account;
        wasm_bindgen_futures::spawn_local(async move {
            if account.check().await.is_ok() {
                account.refresh_roadmaps();
            }
        });
    }

    fn check_gone(&self, id: DocumentId) {
        if crate::gone::is_gone(&id) {
            return;
        }
        let service = self.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let answer = crate::api::send("GET", &format!("/api/roadmaps/{id}/access"), None::<&()>).await;
            if let Err(crate::api::ApiError::Status { status: 410, message }) = answer {
                crate::gone::remember(&id, &message);
                service.0.list_version.update(|v| *v += 1);
                service.schedule_status();
            }
        });
    }

    /// Moves roadmaps made for another unit there once the relay has all of
    /// them ([`crate::placing`]).
    fn place_pending(&self, states: &HashMap<DocumentId, DocState>) {
        if self.0.status.with_untracked(|s| s.connection != Connection::Online) {
            return;
        }
        let me = self.0.account.session.with_untracked(|s| s.me().map(|me| me.person.id.clone()));
        let Some(me) = me else { return };
        for (id, unit) in crate::placing::pending(&me) {
            let Some(state) = states.get(&id) else { continue };
            if state.unsynced > 0 || state.read_only || state.unavailable {
                continue;
            }
            let service = self.clone();
            wasm_bindgen_futures::spawn_local(async move {
                match crate::placing::place(id, unit).await {
                    Some(crate::placing::Placed::Done) => service.0.account.refresh_roadmaps(),
                    Some(crate::placing::Placed::Failed(reason)) => (service.0.on_error)(format!(
                        "Дорожная карта не перенесена в свою организацию: {reason}"
                    )),
                    // Tried again at the next recount (after the next sync).
                    Some(crate::placing::Placed::NotYet) | None => {}
                }
            });
        }
    }
}

impl Inner {
    /// Opens every roadmap on the device (the ones not open yet), then runs `then`.
    fn load_all_then(self: Rc<Self>, then: impl FnOnce(&SyncService) + 'static) {
        self.load_then(false, then);
    }

    /// Opens the documents whose list record has no unsent count yet, to
    /// count them, then runs `then`.
    fn load_uncounted_then(self: Rc<Self>, then: impl FnOnce(&SyncService) + 'static) {
        self.load_then(true, then);
    }

    fn load_then(self: Rc<Self>, uncounted_only: bool, then: impl FnOnce(&SyncService) + 'static) {
        wasm_bindgen_futures::spawn_local(async move {
            let service = SyncService(self);
            if let Ok(list) = service.0.storage.list().await {
                for meta in list {
                    if meta.broken.is_some() || (uncounted_only && meta.unsent.is_some()) {
                        continue;
                    }
                    let Ok(id) = DocumentId::parse(&meta.id) else { continue };
                    let file = match meta.kind {
                        DocKind::Roadmap => None,
                        DocKind::School => Some(Wanted::School(meta.title.clone())),
                        DocKind::Catalogue => Some(Wanted::Catalogue),
                    };
                    let _ = service.load(id, file).await;
                }
            }
            then(&service);
        });
    }
}

/// The list record of `am` as a document of `kind`, if it reads as one.
fn recovered_meta(
    id: &DocumentId,
    kind: DocKind,
    _title: &str,
    am: automerge::AutoCommit,
) -> Option<crate::storage::RoadmapMeta> {
    use crate::replica::Kept;
    match kind {
        DocKind::Roadmap => RoadmapDoc::from_automerge(am).ok().map(|doc| crate::document::meta_of(id, &doc)),
        DocKind::School | DocKind::Catalogue => {
            let doc = crate::files::FileDoc::from_automerge(am).ok()?;
            let meta = doc.meta(id);
            (meta.kind == kind).then_some(meta)
        }
    }
}

fn title_of(meta: &crate::storage::RoadmapMeta) -> String {
    if meta.title.trim().is_empty() { "Без названия".to_owned() } else { meta.title.clone() }
}

/// What a person is told once a broken copy was replaced: from where, how
/// many changes made here came back, and (`lost`) that part of the broken
/// copy could not be read, so unsent changes in it may be gone.
fn recovered_text(meta: &crate::storage::RoadmapMeta, added: usize, lost: bool, from_server: bool) -> String {
    let source =
        if from_server { "загружена с сервера" } else { "собрана заново" };
    let kept = match added {
        0 => String::new(),
        n => format!(", из повреждённой копии восстановлено изменений: {n}"),
    };
    let lost = if lost {
        " Часть повреждённой копии прочитать не удалось: изменения из неё, которых не было на сервере, \
         могли не восстановиться — проверьте последние правки."
    } else {
        ""
    };
    format!(
        "Копия «{}» на этом устройстве была повреждена: она {source}{kept}.{lost} Повреждённые данные сохранены отдельно.",
        title_of(meta)
    )
}

/// `ws(s)://<this host>/sync`.
fn sync_url() -> Option<String> {
    let location = web_sys::window()?.location();
    let scheme = if location.protocol().ok()? == "https:" { "wss" } else { "ws" };
    Some(format!("{scheme}://{}/sync", location.host().ok()?))
}

fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    if getrandom::fill(&mut buf).is_err() {
        for b in buf.iter_mut() {
            *b = (js_sys::Math::random() * 256.0) as u8;
        }
    }
    hex::encode(buf)
}
