//! Sync with the relay, and the one place open documents live: the
//! browser shell around [`Device`], the device's sync service as a pure
//! state machine (`medk_shared::sync::device`, which says what it keeps
//! and decides). This module only carries out what it asks (a WebSocket,
//! timers, `/api/me`, `/api/health` and other API calls, IndexedDB
//! through the replicas) and feeds the answers back as [`Input`]s, one at
//! a time: an input that arrives while another is handled (a socket
//! callback, a document asking for maintenance while it applies a
//! remote change) waits in a queue, so nothing is re-entered.
//!
//! Documents are opened through [`SyncService::open`] by everyone (the
//! editor, the list's rename, the sync itself), so each roadmap has exactly
//! one in-memory replica on the page and a remote change reaches the screen
//! that shows it. Broken copies are brought back by [`recovery`]. What
//! other tabs of the browser store reaches this one through IndexedDB, on
//! their hint ([`crate::tabs`]).

mod recovery;

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::rc::Rc;

use automerge::{AutoCommit, AutomergeError};
use leptos::prelude::*;
use medk_shared::doc::{RoadmapDoc, Touched};
use medk_shared::ids::DocumentId;
use medk_shared::sync::client::RelayHolds;
use medk_shared::sync::device::{Checked, Device, Effect, Host, Input, KeptState, PresenceMap, SocketId};
pub use medk_shared::sync::device::{Connection, DocState, FetchError, SyncStatus};
use medk_shared::sync::presence;
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use web_sys::{BinaryType, CloseEvent, MessageEvent, WebSocket};

use crate::account::{Account, Session};
use crate::document::{OpenError, OpenRoadmap};
use crate::files::{OpenFile, Wanted};
use crate::replica::Synced;
use crate::storage::{DocKind, Storage};

/// A handle to the service; cheap to copy into views.
#[derive(Clone)]
pub struct SyncService(Rc<Inner>);

struct Inner {
    storage: Storage,
    /// Who is signed in: the sync runs only while someone is.
    account: Account,
    on_error: Rc<dyn Fn(String)>,
    /// Shows a notice that is not an error (a document recovered).
    on_info: Rc<dyn Fn(String)>,
    device: RefCell<Device>,
    /// Inputs that came while another was being handled.
    queue: RefCell<VecDeque<Input>>,
    /// An input is being handled (and its effects carried out).
    driving: Cell<bool>,
    socket: RefCell<Option<Socket>>,
    docs: RefCell<HashMap<DocumentId, Opened>>,
    /// Roadmaps being loaded, with whoever waits for the same load.
    opening: RefCell<HashMap<DocumentId, Vec<futures::channel::oneshot::Sender<()>>>>,
    /// Who waits for each fetch the device runs.
    fetch_waiters:
        RefCell<HashMap<DocumentId, Vec<futures::channel::oneshot::Sender<Result<(), FetchError>>>>>,
    doc_states: RwSignal<HashMap<DocumentId, DocState>>,
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
    list_version: RwSignal<u64>,
    /// Broken documents being recovered.
    recovering: RefCell<HashSet<DocumentId>>,
    presence: RwSignal<PresenceMap>,
    name: RwSignal<String>,
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

/// A live socket with the closures the browser calls (dropped with it).
struct Socket {
    id: SocketId,
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
        let mut seed = [0u8; 8];
        let _ = getrandom::fill(&mut seed);
        let inner = Rc::new(Inner {
            storage,
            account,
            on_error,
            on_info,
            device: RefCell::new(Device::new(peer_id, Some(storage_id), u64::from_le_bytes(seed))),
            queue: RefCell::new(VecDeque::new()),
            driving: Cell::new(false),
            socket: RefCell::new(None),
            docs: RefCell::new(HashMap::new()),
            opening: RefCell::new(HashMap::new()),
            fetch_waiters: RefCell::new(HashMap::new()),
            doc_states: RwSignal::new(HashMap::new()),
            status: RwSignal::new(SyncStatus::default()),
            versions: RefCell::new(HashMap::new()),
            owner: Owner::current(),
            touched: RefCell::new(HashMap::new()),
            list_version: RwSignal::new(0),
            recovering: RefCell::new(HashSet::new()),
            presence: RwSignal::new(HashMap::new()),
            name: RwSignal::new(crate::browser::setting(NAME_KEY).unwrap_or_default()),
        });
        let service = SyncService(inner);
        let weak = Rc::downgrade(&service.0);
        account.on_change(Rc::new(move |session: &Session| {
            let Some(inner) = weak.upgrade() else { return };
            let s = SyncService(inner);
            s.input(Input::NameChanged(s.display_name()));
            s.input(Input::SessionChanged { signed_in: session.is_signed_in() });
        }));
        let weak = Rc::downgrade(&service.0);
        service.0.storage.on_created(Rc::new(move |meta| {
            if let (Some(inner), Ok(doc)) = (weak.upgrade(), DocumentId::parse(&meta.id)) {
                let kept = KeptState { unsent: meta.unsent, broken: meta.broken.is_some() };
                SyncService(inner).input(Input::Created { doc, kept });
            }
        }));
        let weak = Rc::downgrade(&service.0);
        service.0.storage.tabs().listen(Rc::new(move |doc| {
            if let Some(inner) = weak.upgrade() {
                SyncService(inner).input(Input::StoredElsewhere(doc));
            }
        }));
        service.listen_to_network();
        let network = web_sys::window().is_none_or(|w| w.navigator().on_line());
        let signed_in = account.is_signed_in();
        service.input(Input::Start { signed_in, network, name: service.display_name() });
        // What is waiting to go out is in the list records; documents kept
        // before those counts existed are opened and counted once the page
        // that opened the app is on screen (the device asks, a moment
        // later). Broken ones are tried again with what can be read of them.
        let s = service.clone();
        wasm_bindgen_futures::spawn_local(async move {
            s.refresh_kept().await;
            s.recover_all(false);
        });
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
        self.input(Input::NameChanged(self.display_name()));
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
            // Deferred: the change is reported while the editor has the
            // document borrowed, and the device sends it at once.
            let weak = weak.clone();
            wasm_bindgen_futures::spawn_local(async move {
                if let Some(inner) = weak.upgrade() {
                    SyncService(inner).input(Input::LocalChange(id));
                }
            });
        }));
        let list_version = self.0.list_version;
        doc.on_meta_stored(Rc::new(move || list_version.update(|v| *v += 1)));
        let weak = Rc::downgrade(&self.0);
        doc.on_maintenance(Rc::new(move |id| {
            if let Some(inner) = weak.upgrade() {
                SyncService(inner).input(Input::MaintenanceWanted(id));
            }
        }));
        let notice = doc.parts().1.take_notice();
        drop(doc);
        if let Some(notice) = notice {
            (self.0.on_error)(notice);
        }
        self.0.docs.borrow_mut().insert(id, open.clone());
        self.input(Input::Opened { doc: id, roadmap: matches!(open, Opened::Roadmap(_)) });
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
        crate::gone::forget(&id);
        self.input(Input::Forget(id));
    }

    /// Gets a roadmap this device does not have from the relay, by its
    /// link, and stores it. Waits for a connection being made.
    pub async fn fetch(&self, id: DocumentId) -> Result<(), FetchError> {
        match self.fetch_for(id, false).await {
            // The relay says the same of a roadmap deleted for everyone as
            // of one the person may not read; the API tells them apart.
            Err(FetchError::Unavailable) => match deleted_for_everyone(id).await {
                Some(message) => Err(FetchError::Deleted(message)),
                None => Err(FetchError::Unavailable),
            },
            other => other,
        }
    }

    /// Gets the server's copy of a document, to open a link (`recover`
    /// false) or to replace a broken copy on this device, keeping every
    /// change that can still be read from it (`recover`).
    async fn fetch_for(&self, id: DocumentId, recover: bool) -> Result<(), FetchError> {
        let (tx, rx) = futures::channel::oneshot::channel();
        self.0.fetch_waiters.borrow_mut().entry(id).or_default().push(tx);
        self.input(Input::Fetch { doc: id, recover });
        rx.await.unwrap_or(Err(FetchError::Timeout))
    }

    /// Tells others this device has the roadmap open (`Some`) or closed it.
    pub fn announce(&self, id: DocumentId, open: bool) {
        self.input(Input::Announce { doc: id, open, person: self.0.account.person_id() });
    }

    fn display_name(&self) -> String {
        let name = self.0.name.get_untracked();
        if !name.trim().is_empty() {
            return name.trim().to_owned();
        }
        let me = self.0.account.session.with_untracked(|s| s.me().map(|me| me.person.name.clone()));
        me.unwrap_or_else(|| "Без имени".to_owned())
    }

    // ---- the shell: inputs in, effects carried out -------------------------

    /// Hands the device one input and carries out what it asks; inputs that
    /// come meanwhile wait their turn.
    fn input(&self, input: Input) {
        self.0.queue.borrow_mut().push_back(input);
        if self.0.driving.replace(true) {
            return;
        }
        loop {
            let next = self.0.queue.borrow_mut().pop_front();
            let Some(input) = next else { break };
            let effects = {
                let mut device = self.0.device.borrow_mut();
                let now = crate::browser::now_ms().max(0) as u64;
                device.handle(now, input, &mut Documents(&self.0));
                device.drain()
            };
            for effect in effects {
                self.carry_out(effect);
            }
        }
        self.0.driving.set(false);
    }

    fn carry_out(&self, effect: Effect) {
        match effect {
            Effect::CheckSession => {
                let service = self.clone();
                wasm_bindgen_futures::spawn_local(async move {
                    let account = service.0.account;
                    let checked = match account.check().await {
                        Ok(()) if account.is_signed_in() => Checked::SignedIn,
                        Ok(()) => Checked::SignedOut,
                        Err(e) if e.is_status(401) => Checked::SignedOut,
                        Err(_) => Checked::Failed,
                    };
                    service.input(Input::SessionChecked(checked));
                });
            }
            Effect::RefreshRoadmaps => self.0.account.refresh_roadmaps(),
            Effect::RefreshAccount => {
                let account = self.0.account;
                wasm_bindgen_futures::spawn_local(async move {
                    if account.check().await.is_ok() {
                        account.refresh_roadmaps();
                    }
                });
            }
            Effect::OpenSocket(id) => self.open_socket(id),
            Effect::CloseSocket(id) => {
                let mut socket = self.0.socket.borrow_mut();
                if socket.as_ref().is_some_and(|s| s.id == id)
                    && let Some(socket) = socket.take()
                {
                    socket.ws.set_onclose(None);
                    let _ = socket.ws.close();
                }
            }
            Effect::Send { socket, frame } => {
                let failed = match self.0.socket.borrow().as_ref() {
                    Some(s) if s.id == socket && s.ws.ready_state() == WebSocket::OPEN => {
                        s.ws.send_with_u8_array(&frame).is_err()
                    }
                    _ => false,
                };
                if failed {
                    self.input(Input::SendFailed(socket));
                }
            }
            Effect::Heartbeat(socket) => self.heartbeat(socket),
            Effect::SetTimer { timer, ms } => {
                let weak = Rc::downgrade(&self.0);
                set_timeout(
                    move || {
                        if let Some(inner) = weak.upgrade() {
                            SyncService(inner).input(Input::TimerFired(timer));
                        }
                    },
                    std::time::Duration::from_millis(ms),
                );
            }
            Effect::StoreFetched { doc, bytes, recover } => {
                let service = self.clone();
                wasm_bindgen_futures::spawn_local(async move {
                    let result = if recover {
                        service.store_recovered(doc, &bytes).await
                    } else {
                        service.store_fetched(doc, &bytes).await
                    };
                    service.input(Input::FetchStored { doc, result });
                });
            }
            Effect::FetchDone { doc, result } => {
                let waiters = self.0.fetch_waiters.borrow_mut().remove(&doc).unwrap_or_default();
                for waiter in waiters {
                    let _ = waiter.send(result.clone());
                }
            }
            Effect::CheckGone(id) => {
                let service = self.clone();
                wasm_bindgen_futures::spawn_local(async move {
                    if let Some(message) = deleted_for_everyone(id).await {
                        crate::gone::remember(&id, &message);
                        service.0.list_version.update(|v| *v += 1);
                        service.input(Input::CountsChanged);
                    }
                });
            }
            Effect::LoadAll { uncounted_only } => self.load_all(uncounted_only),
            Effect::RecoverBroken { online } => self.recover_all(online),
            Effect::Maintain(id) => {
                let doc = self.0.docs.borrow().get(&id).map(Opened::synced);
                if let Some(doc) = doc {
                    match doc.try_borrow_mut() {
                        Ok(mut open) => open.maintain(),
                        Err(_) => self.input(Input::MaintenanceWanted(id)),
                    }
                }
            }
            Effect::ReadStored(id) => self.read_stored(id),
            Effect::ReadKept => {
                let service = self.clone();
                wasm_bindgen_futures::spawn_local(async move { service.refresh_kept().await });
            }
            Effect::Touched { doc, touched } => {
                let mut all = self.0.touched.borrow_mut();
                let before = all.remove(&doc).unwrap_or_default();
                all.insert(doc, before.merge(touched));
                drop(all);
                self.version(doc).update(|v| *v += 1);
            }
            Effect::ListChanged => self.0.list_version.update(|v| *v += 1),
            Effect::Status(status) => {
                if self.0.status.with_untracked(|s| *s != status) {
                    self.0.status.set(status);
                }
            }
            Effect::DocStates(states) => self.0.doc_states.set(states),
            Effect::Presence(presence) => self.0.presence.set(presence),
            Effect::Settled(settled) => self.place_pending(&settled),
            Effect::Warn(text) => web_sys::console::warn_1(&text.into()),
        }
    }

    fn open_socket(&self, id: SocketId) {
        let Some(ws) = sync_url().and_then(|url| WebSocket::new(&url).ok()) else {
            return self.input(Input::SocketFailed(id));
        };
        ws.set_binary_type(BinaryType::Arraybuffer);
        let on_open = self.handler(move |_| Some(Input::SocketOpened(id)));
        let on_message = self.handler(move |event| {
            let event = event.dyn_ref::<MessageEvent>()?;
            let buffer = event.data().dyn_into::<js_sys::ArrayBuffer>().ok()?;
            Some(Input::Frame { socket: id, bytes: js_sys::Uint8Array::new(&buffer).to_vec() })
        });
        let on_close = self.handler(move |event| {
            let session_ended = event.dyn_ref::<CloseEvent>().is_some_and(|e| e.code() == SESSION_ENDED);
            Some(Input::SocketClosed { socket: id, session_ended })
        });
        ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        *self.0.socket.borrow_mut() = Some(Socket { id, ws, _handlers: vec![on_open, on_message, on_close] });
    }

    /// A browser callback that feeds the device what `f` makes of the event.
    fn handler(
        &self,
        f: impl Fn(web_sys::Event) -> Option<Input> + 'static,
    ) -> Closure<dyn FnMut(web_sys::Event)> {
        let weak = Rc::downgrade(&self.0);
        Closure::new(move |event: web_sys::Event| {
            if let (Some(inner), Some(input)) = (weak.upgrade(), f(event)) {
                SyncService(inner).input(input);
            }
        })
    }

    fn listen_to_network(&self) {
        let Some(window) = web_sys::window() else { return };
        for (name, online) in [("online", true), ("offline", false)] {
            let listener = self.handler(move |_| Some(Input::NetworkChanged { online }));
            let _ = window.add_event_listener_with_callback(name, listener.as_ref().unchecked_ref());
            // The service lives as long as the page.
            listener.forget();
        }
    }

    /// Asks the relay's health endpoint; the device drops the socket if no
    /// answer comes in time, even if the browser still calls it open.
    fn heartbeat(&self, socket: SocketId) {
        let Some(window) = web_sys::window() else { return };
        let init = web_sys::RequestInit::new();
        init.set_cache(web_sys::RequestCache::NoStore);
        let promise = window.fetch_with_str_and_init("/api/health", &init);
        let service = self.clone();
        wasm_bindgen_futures::spawn_local(async move {
            if let Ok(response) = wasm_bindgen_futures::JsFuture::from(promise).await
                && response.dyn_ref::<web_sys::Response>().is_some_and(|r| r.ok())
            {
                service.input(Input::HeartbeatAnswered(socket));
            }
        });
    }

    /// Opens every document on the device (`uncounted_only`: those whose
    /// list record has no count yet, to count them), then tells the device.
    fn load_all(&self, uncounted_only: bool) {
        let service = self.clone();
        wasm_bindgen_futures::spawn_local(async move {
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
            service.input(if uncounted_only { Input::CountsChanged } else { Input::LoadedAll });
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

    /// Reads what another tab stored of an open document and it has not
    /// seen, and applies it; answers [`Input::StoredRead`].
    fn read_stored(&self, id: DocumentId) {
        let service = self.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let mut touched = Touched::Nothing;
            let doc = service.0.docs.borrow().get(&id).map(Opened::synced);
            if let Some(doc) = doc {
                let pick = |keys: &[medk_shared::replica::PieceKey]| match doc.try_borrow_mut() {
                    Ok(mut open) => open.unseen(keys),
                    // Absorbing passes over what it has seen anyway.
                    Err(_) => keys.to_vec(),
                };
                match service.0.storage.load_some(&id, pick).await {
                    Ok(pieces) if pieces.is_empty() => {}
                    Ok(pieces) => match doc.try_borrow_mut() {
                        Ok(mut open) => touched = open.absorb(&pieces),
                        // In use this very moment: read again, after.
                        Err(_) => service.input(Input::StoredElsewhere(id)),
                    },
                    Err(e) => web_sys::console::warn_1(
                        &format!("{id}: reading what another tab stored failed: {}", e.detail()).into(),
                    ),
                }
            }
            service.input(Input::StoredRead { doc: id, touched });
        });
    }

    /// Re-reads the list records the indicator counts documents that are
    /// not open from.
    async fn refresh_kept(&self) {
        let Ok(list) = self.0.storage.list().await else { return };
        let kept = list
            .into_iter()
            .filter_map(|meta| {
                let id = DocumentId::parse(&meta.id).ok()?;
                Some((id, KeptState { unsent: meta.unsent, broken: meta.broken.is_some() }))
            })
            .collect();
        self.input(Input::Kept(kept));
    }

    /// Moves roadmaps made for another unit there once the relay has all of
    /// them ([`crate::placing`]); `settled` are those it has.
    fn place_pending(&self, settled: &[DocumentId]) {
        let me = self.0.account.session.with_untracked(|s| s.me().map(|me| me.person.id.clone()));
        let Some(me) = me else { return };
        for (id, unit) in crate::placing::pending(&me) {
            if !settled.contains(&id) {
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

/// The open documents and the account, as the device sees them while it
/// handles one input.
struct Documents<'a>(&'a Inner);

impl Documents<'_> {
    fn get(&self, doc: &DocumentId) -> Option<Rc<RefCell<dyn Synced>>> {
        self.0.docs.borrow().get(doc).map(Opened::synced)
    }
}

impl Host for Documents<'_> {
    fn receive(
        &mut self,
        doc: DocumentId,
        apply: &mut dyn FnMut(&mut AutoCommit) -> Result<(), AutomergeError>,
    ) -> Option<Result<Touched, AutomergeError>> {
        let open = self.get(&doc)?;
        let result = open.borrow_mut().receive(apply);
        Some(result)
    }

    fn with_doc(
        &mut self,
        doc: DocumentId,
        f: &mut dyn FnMut(&mut AutoCommit) -> Vec<Vec<u8>>,
    ) -> Option<Vec<Vec<u8>>> {
        let open = self.get(&doc)?;
        let frames = f(open.borrow_mut().automerge());
        Some(frames)
    }

    fn unsynced(&mut self, doc: DocumentId, relay: Option<RelayHolds>) -> Option<usize> {
        let open = self.get(&doc)?;
        let count = open.try_borrow_mut().ok()?.unsynced(relay);
        Some(count)
    }

    fn gone(&self) -> BTreeMap<DocumentId, String> {
        crate::gone::all()
            .into_iter()
            .filter_map(|(id, words)| Some((DocumentId::parse(&id).ok()?, words)))
            .collect()
    }

    fn knows_right(&self, doc: &DocumentId) -> bool {
        self.0.account.roadmaps.with_untracked(|r| r.contains_key(&doc.to_string()))
    }
}

/// What the server said of a roadmap's deletion for everyone (410 Gone),
/// if it was deleted.
async fn deleted_for_everyone(id: DocumentId) -> Option<String> {
    match crate::api::send("GET", &format!("/api/roadmaps/{id}/access"), None::<&()>).await {
        Err(crate::api::ApiError::Status { status: 410, message }) => Some(message),
        _ => None,
    }
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
