//! A device's sync service as a state machine: what the browser tells it
//! (the socket opened, closed or brought a frame; a timer fired; a document
//! was opened, changed or deleted here; the API answered) in, [`Effect`]s
//! out (send a frame, open or close a socket, set a timer, store what a
//! fetch brought, ask the API, show a new status). It owns no socket, clock,
//! storage or document: the app (`app/src/sync.rs`) carries the effects out
//! and feeds the answers back, and the simulation (`tests/sync_sim.rs`)
//! drives it against the relay with seeded schedules. Every input is
//! handled to the end before the next, so nothing here is re-entered.
//!
//! What it keeps:
//! - **The connection** as the person sees it ([`Connection`]): a socket is
//!   opened only for someone signed in, after asking the API who that is
//!   (a session ended while the device was away is found there); a lost
//!   one is tried again with exponential backoff and jitter; a heartbeat
//!   (asked by the shell of the relay's health endpoint) drops a socket the
//!   browser still calls open but that no longer answers.
//! - **The documents open on the page** and the protocol ([`Client`]) for
//!   each: what to send after a local change, a remote one or a new
//!   connection. The documents themselves are the shell's: it lends them
//!   through [`Host`] for the length of one input.
//! - **What the relay said** of each: read-only, `doc-unavailable`, changes
//!   refused, and (asked of the API) deleted for everyone.
//! - **Fetches by link**: a document the device does not have, synced into
//!   a scratch copy until its first content arrives, which the shell stores
//!   ([`Effect::StoreFetched`]); later messages wait for that.
//! - **The counts the top bar shows** ([`SyncStatus`], [`DocState`]):
//!   recounted at most every [`STATUS_EVERY_MS`], from the open documents'
//!   own counts and the list records of the others.
//! - **Presence**: who else has a roadmap open, and what this tab announces.
//! - **Other tabs of the device**: one that stored something of a document
//!   says which (a hint on a channel, nothing more); this tab then reads
//!   what it has not seen of it, if it has it open ([`Effect::ReadStored`]),
//!   and the list records ([`Effect::ReadKept`]), one read of each at a
//!   time, once more if hinted again meanwhile. So two tabs offline see
//!   and count each other's work without the relay.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

use automerge::sync;
use automerge::{AutoCommit, AutomergeError};

pub use super::client::Refused;
use super::client::{Client, Event, RelayHolds};
use super::presence::{self, Presence};
use crate::doc::Touched;
use crate::ids::DocumentId;

/// First reconnect delay; doubled per failed attempt up to [`BACKOFF_MAX_MS`].
pub const BACKOFF_FIRST_MS: f64 = 500.0;
pub const BACKOFF_MAX_MS: f64 = 30_000.0;
/// While connected, the relay's health endpoint is asked this often...
pub const HEARTBEAT_EVERY_MS: u64 = 15_000;
/// ...and a connection that cannot get an answer this fast is dropped.
pub const HEARTBEAT_TIMEOUT_MS: u64 = 5_000;
/// How long opening a roadmap by link waits for the relay.
pub const FETCH_TIMEOUT_MS: u64 = 20_000;
/// After start-up, the documents kept before their unsent counts were kept
/// are loaded (to count them) this much later, unless a connection needs
/// them sooner.
pub const STARTUP_COUNT_DELAY_MS: u64 = 3_000;
/// The unsynced count is recomputed at most this often.
pub const STATUS_EVERY_MS: u64 = 400;
/// A document that asked to be compacted (or to write again) is, this much
/// later: after the keystroke that made it due, not during it.
pub const MAINTENANCE_DELAY_MS: u64 = 1_000;

/// The shell's name for one socket (never reused).
pub type SocketId = u64;

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

impl Default for SyncStatus {
    fn default() -> Self {
        SyncStatus {
            connection: Connection::Offline,
            unsynced: 0,
            rejected: 0,
            broken: 0,
            uncounted: 0,
            gone: 0,
            failed_attempts: 0,
        }
    }
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
    /// The relay refused this device's changes to it, and why.
    pub refused: Option<Refused>,
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
    pub person: String,
    /// When they were last heard (ms).
    pub seen: u64,
}

/// Who has which roadmap open: document → sending peer → what it said.
pub type PresenceMap = HashMap<DocumentId, HashMap<String, Peer>>;

/// A document on the device as its list record tells.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeptState {
    /// Changes not on the relay, as last counted (`None`: never counted).
    pub unsent: Option<u32>,
    /// Its bytes are in quarantine.
    pub broken: bool,
}

/// What the API said when asked who is signed in (before a socket opens).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Checked {
    /// Someone is: the socket may open.
    SignedIn,
    /// Nobody (a 401): the session's end reaches the device through
    /// [`Input::SessionChanged`].
    SignedOut,
    /// No answer (no network, the server down).
    Failed,
}

/// The timers the device asks for ([`Effect::SetTimer`]). A timer may fire
/// after what it was for is over: each is checked when it fires.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Timer {
    /// Try to connect again.
    Reconnect,
    /// Ask the relay's health endpoint (every [`HEARTBEAT_EVERY_MS`]).
    Heartbeat,
    /// The health endpoint did not answer for this socket in time.
    HeartbeatTimeout(SocketId),
    /// Announce presence again and forget peers not heard from.
    Presence,
    /// Recount the status.
    Status,
    /// A fetch (the n-th this device started) waited long enough.
    Fetch(DocumentId, u64),
    /// A quiet moment for one document's compaction or retried write.
    Maintenance(DocumentId),
    /// Load the documents whose list record has no count yet.
    CountUncounted,
}

/// Something that happened, for [`Device::handle`].
#[derive(Debug)]
pub enum Input {
    /// The service starts: `signed_in` someone is, the browser has a
    /// `network`, this device's presence `name`.
    Start {
        signed_in: bool,
        network: bool,
        name: String,
    },
    /// Someone signed in or out (or another person did).
    SessionChanged {
        signed_in: bool,
    },
    /// The answer to [`Effect::CheckSession`].
    SessionChecked(Checked),
    /// The browser's `online` / `offline` events.
    NetworkChanged {
        online: bool,
    },
    /// The name others see changed (given, or the signed-in person's).
    NameChanged(String),
    SocketOpened(SocketId),
    /// The socket could not even be made.
    SocketFailed(SocketId),
    /// It closed; `session_ended` when the relay said the session ended.
    SocketClosed {
        socket: SocketId,
        session_ended: bool,
    },
    /// Sending on it failed.
    SendFailed(SocketId),
    Frame {
        socket: SocketId,
        bytes: Vec<u8>,
    },
    /// The health endpoint answered while this socket was open.
    HeartbeatAnswered(SocketId),
    TimerFired(Timer),
    /// A document is open on the page now (`roadmap`: not a well-known file).
    Opened {
        doc: DocumentId,
        roadmap: bool,
    },
    /// A document was deleted from this device.
    Forget(DocumentId),
    /// A change was made here.
    LocalChange(DocumentId),
    /// A document asks for a quiet moment to compact or write again.
    MaintenanceWanted(DocumentId),
    /// Get the server's copy of a document: to open a link, or (`recover`)
    /// to replace a broken copy on this device.
    Fetch {
        doc: DocumentId,
        recover: bool,
    },
    /// The answer to [`Effect::StoreFetched`] (the document is open by now
    /// when it is `Ok`).
    FetchStored {
        doc: DocumentId,
        result: Result<(), FetchError>,
    },
    /// The list records of every document on the device were read.
    Kept(HashMap<DocumentId, KeptState>),
    /// A document was just stored here (made, imported, copied or fetched).
    Created {
        doc: DocumentId,
        kept: KeptState,
    },
    /// What was asked by [`Effect::LoadAll`] is loaded.
    LoadedAll,
    /// Something the counts depend on changed elsewhere (a document was
    /// found deleted for everyone, a broken one recovered).
    CountsChanged,
    /// Another tab of this device says it stored something of `doc` (only
    /// a hint: the shell checked it names a document, nothing more).
    StoredElsewhere(DocumentId),
    /// The answer to [`Effect::ReadStored`]: what the pieces read touched
    /// (`Touched::Nothing` also when the document was busy or gone).
    StoredRead {
        doc: DocumentId,
        touched: Touched,
    },
    /// This tab has a roadmap open (`open`) or closed it.
    Announce {
        doc: DocumentId,
        open: bool,
        person: String,
    },
}

/// What the device wants done, from [`Device::poll`].
#[derive(Debug)]
pub enum Effect {
    /// Ask the API who is signed in; answer with [`Input::SessionChecked`].
    CheckSession,
    /// Ask the API again which roadmaps the person may do what with.
    RefreshRoadmaps,
    /// Ask the API again who is signed in, then which roadmaps they have
    /// (their rights changed).
    RefreshAccount,
    /// Open a socket to the relay; answer with [`Input::SocketOpened`],
    /// [`Input::SocketFailed`] or [`Input::SocketClosed`].
    OpenSocket(SocketId),
    /// Close it; nothing is said back.
    CloseSocket(SocketId),
    /// Send a frame on it, if it is open (else drop it).
    Send { socket: SocketId, frame: Vec<u8> },
    /// Ask the relay's health endpoint; answer with
    /// [`Input::HeartbeatAnswered`] if it does.
    Heartbeat(SocketId),
    /// Fire [`Input::TimerFired`] after `ms`.
    SetTimer { timer: Timer, ms: u64 },
    /// The first content of a fetch: store it as the document (or, with
    /// `recover`, in place of the broken copy, with what can be read of
    /// it), open it and answer with [`Input::FetchStored`].
    StoreFetched { doc: DocumentId, bytes: Vec<u8>, recover: bool },
    /// A fetch is over: tell whoever waits for it.
    FetchDone { doc: DocumentId, result: Result<(), FetchError> },
    /// The relay has nothing of a roadmap this device holds: ask the API
    /// whether it was deleted for everyone (410), and if so remember it and
    /// answer with [`Input::CountsChanged`].
    CheckGone(DocumentId),
    /// Open every document on the device (`uncounted_only`: those whose
    /// list record has no count), then answer [`Input::LoadedAll`] (not
    /// for `uncounted_only`: [`Input::CountsChanged`]).
    LoadAll { uncounted_only: bool },
    /// Try to bring back the broken documents (`online`: from the
    /// server's copy too).
    RecoverBroken { online: bool },
    /// Compact the document if due and write again what failed; if it is
    /// in use, answer [`Input::MaintenanceWanted`] again.
    Maintain(DocumentId),
    /// Read the pieces of an open document this tab has not seen (another
    /// tab stored them) and apply them; answer [`Input::StoredRead`].
    ReadStored(DocumentId),
    /// Read the list records again; answer [`Input::Kept`].
    ReadKept,
    /// A change from elsewhere touched this document.
    Touched { doc: DocumentId, touched: Touched },
    /// Something a list shows changed (a fetched document was stored).
    ListChanged,
    /// The indicator changed.
    Status(SyncStatus),
    /// Some document's state changed.
    DocStates(HashMap<DocumentId, DocState>),
    /// Who has which roadmap open changed.
    Presence(PresenceMap),
    /// After a recount while online: the roadmaps the relay has all of and
    /// takes changes to (a roadmap made for another unit moves now).
    Settled(Vec<DocumentId>),
    /// For the console: something went wrong that the person is not told.
    Warn(String),
}

/// What the device needs of the shell while it handles an input: the open
/// documents (lent, never kept), and two facts the shell keeps.
pub trait Host {
    /// Applies a sync message to the open document through `apply`, and
    /// stores what it brought; `None` if it is not open.
    fn receive(
        &mut self,
        doc: DocumentId,
        apply: &mut dyn FnMut(&mut AutoCommit) -> Result<(), AutomergeError>,
    ) -> Option<Result<Touched, AutomergeError>>;
    /// Runs `f` on the open document; `None` if it is not open.
    fn with_doc(
        &mut self,
        doc: DocumentId,
        f: &mut dyn FnMut(&mut AutoCommit) -> Vec<Vec<u8>>,
    ) -> Option<Vec<Vec<u8>>>;
    /// How many of this device's changes to the open document the relay
    /// does not have (`relay`: what it is known to hold on this
    /// connection). `None` while it is in use: counted later.
    fn unsynced(&mut self, doc: DocumentId, relay: Option<RelayHolds>) -> Option<usize>;
    /// Roadmaps deleted for everyone, with what the server said of it.
    fn gone(&self) -> BTreeMap<DocumentId, String>;
    /// Whether the account's list of rights has the roadmap.
    fn knows_right(&self, doc: &DocumentId) -> bool;
}

/// A fetch by link: the document so far.
struct Fetch {
    recover: bool,
    doc: AutoCommit,
    /// The first content is being stored; later messages wait.
    storing: bool,
    queued: Vec<sync::Message>,
    /// Which fetch this is (an older one's timer finds another serial).
    serial: u64,
}

/// The device's sync state machine. See the module documentation.
pub struct Device {
    client: Client,
    now: u64,
    /// xorshift state for the reconnect jitter (seeded by the shell).
    rng: u64,
    signed_in: bool,
    network: bool,
    /// `CheckSession` was asked and not answered.
    checking: bool,
    /// The socket open or being opened.
    socket: Option<SocketId>,
    /// The last socket id handed out.
    sockets: SocketId,
    heartbeat_answered: bool,
    attempts: u32,
    reconnect_pending: bool,
    status_pending: bool,
    /// Open documents: whether each is a roadmap.
    open: HashMap<DocumentId, bool>,
    fetching: HashMap<DocumentId, Fetch>,
    fetches: u64,
    /// Roadmaps the relay said `doc-unavailable` for.
    unavailable: HashSet<DocumentId>,
    /// Roadmaps whose changes from this device the relay refused, and why.
    refused: HashMap<DocumentId, Refused>,
    /// Roadmaps whose first answer on this connection led to asking the
    /// API for rights again (a roadmap made here is registered to its unit
    /// by its first sync).
    asked_rights: HashSet<DocumentId>,
    /// Roadmaps the relay took whole that the rights list did not have
    /// yet: asked for again once each.
    listed_after_sync: HashSet<DocumentId>,
    /// The list records of documents on the device.
    kept: HashMap<DocumentId, KeptState>,
    /// Whether `kept` has been read since the start.
    kept_read: bool,
    /// Documents with a maintenance timer set.
    maintenance: HashSet<DocumentId>,
    /// Open documents whose stored pieces are being read (another tab
    /// stored some), and whether to read again once that is answered.
    reading: HashMap<DocumentId, bool>,
    /// The list records are being read after a hint, and whether to read
    /// them again once that is answered.
    reading_kept: Option<bool>,
    status: SyncStatus,
    doc_states: HashMap<DocumentId, DocState>,
    presence: PresenceMap,
    /// What this tab announces, and for which roadmap.
    announce: Option<(DocumentId, Presence)>,
    name: String,
    effects: VecDeque<Effect>,
}

impl Device {
    /// `peer_id` names this tab to the relay, `storage_id` the device's
    /// storage; `seed` draws the reconnect jitter.
    pub fn new(peer_id: String, storage_id: Option<String>, seed: u64) -> Device {
        Device::with_client(Client::new(peer_id, storage_id), seed)
    }

    /// The same, over a client set up by the caller (tests send small pieces).
    pub fn with_client(client: Client, seed: u64) -> Device {
        Device {
            client,
            now: 0,
            rng: seed | 1,
            signed_in: false,
            network: true,
            checking: false,
            socket: None,
            sockets: 0,
            heartbeat_answered: false,
            attempts: 0,
            reconnect_pending: false,
            status_pending: false,
            open: HashMap::new(),
            fetching: HashMap::new(),
            fetches: 0,
            unavailable: HashSet::new(),
            refused: HashMap::new(),
            asked_rights: HashSet::new(),
            listed_after_sync: HashSet::new(),
            kept: HashMap::new(),
            kept_read: false,
            maintenance: HashSet::new(),
            reading: HashMap::new(),
            reading_kept: None,
            // Nothing counted yet: until the first count, nothing may be
            // said to be saved (a trial saw «Всё сохранено» on connecting,
            // before the list records were read).
            status: SyncStatus { uncounted: 1, ..SyncStatus::default() },
            doc_states: HashMap::new(),
            presence: HashMap::new(),
            announce: None,
            name: String::new(),
            effects: VecDeque::new(),
        }
    }

    /// The protocol machine (what the relay is known to have).
    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn status(&self) -> &SyncStatus {
        &self.status
    }

    pub fn doc_states(&self) -> &HashMap<DocumentId, DocState> {
        &self.doc_states
    }

    pub fn presence(&self) -> &PresenceMap {
        &self.presence
    }

    /// The socket open or being opened.
    pub fn socket(&self) -> Option<SocketId> {
        self.socket
    }

    /// Documents on the device whose list record says they are broken.
    pub fn broken(&self) -> Vec<DocumentId> {
        let mut broken: Vec<DocumentId> =
            self.kept.iter().filter(|(_, k)| k.broken).map(|(id, _)| *id).collect();
        broken.sort();
        broken
    }

    /// Open documents the relay said `doc-unavailable` for.
    pub fn unavailable(&self) -> Vec<DocumentId> {
        let mut ids: Vec<DocumentId> = self.unavailable.iter().copied().collect();
        ids.sort();
        ids
    }

    /// Documents being fetched.
    pub fn fetching(&self) -> impl Iterator<Item = &DocumentId> {
        self.fetching.keys()
    }

    /// The next thing to do, if any.
    pub fn poll(&mut self) -> Option<Effect> {
        self.effects.pop_front()
    }

    /// Everything to do, in order.
    pub fn drain(&mut self) -> Vec<Effect> {
        self.effects.drain(..).collect()
    }

    /// Handles one input at `now_ms` (the shell's clock).
    pub fn handle(&mut self, now_ms: u64, input: Input, host: &mut dyn Host) {
        self.now = self.now.max(now_ms);
        match input {
            Input::Start { signed_in, network, name } => {
                self.signed_in = signed_in;
                self.network = network;
                self.name = name;
                self.timer(Timer::Heartbeat, HEARTBEAT_EVERY_MS);
                self.timer(Timer::Presence, presence::ANNOUNCE_EVERY_MS);
                self.timer(Timer::CountUncounted, STARTUP_COUNT_DELAY_MS);
                self.connect();
            }
            Input::SessionChanged { signed_in } => {
                self.signed_in = signed_in;
                // Another person's socket, or nobody's any more; what the
                // relay refused was refused to the previous person.
                if self.socket.is_some() || !signed_in {
                    self.closed();
                }
                self.unavailable.clear();
                self.schedule_status();
                if signed_in {
                    self.attempts = 0;
                    self.connect();
                }
            }
            Input::SessionChecked(checked) => {
                self.checking = false;
                match checked {
                    Checked::SignedIn if self.signed_in => {
                        self.effects.push_back(Effect::RefreshRoadmaps);
                        self.open_socket();
                    }
                    // A 401: the session's change stops the sync.
                    Checked::SignedIn | Checked::SignedOut => {}
                    Checked::Failed => self.closed(),
                }
            }
            Input::NetworkChanged { online } => {
                self.network = online;
                if online {
                    self.attempts = 0;
                    self.connect();
                } else {
                    self.closed();
                }
            }
            Input::NameChanged(name) => {
                self.name = name;
                self.send_presence();
            }
            Input::SocketOpened(socket) => {
                if self.socket == Some(socket) {
                    let join = self.client.join();
                    self.send(join);
                }
            }
            Input::SocketFailed(socket) => {
                if self.socket == Some(socket) {
                    self.socket = None;
                    self.schedule_reconnect();
                }
            }
            Input::SocketClosed { socket, session_ended } => {
                if self.socket == Some(socket) {
                    // The session ended on the server: reconnect at once,
                    // which asks the API and so finds out.
                    if session_ended {
                        self.attempts = 0;
                    }
                    self.closed();
                }
            }
            Input::SendFailed(socket) => {
                if self.socket == Some(socket) {
                    self.closed();
                }
            }
            Input::Frame { socket, bytes } => {
                if self.socket == Some(socket) {
                    self.frame(&bytes, host);
                }
            }
            Input::HeartbeatAnswered(socket) => {
                if self.socket == Some(socket) {
                    self.heartbeat_answered = true;
                }
            }
            Input::TimerFired(timer) => self.timer_fired(timer, host),
            Input::Opened { doc, roadmap } => {
                self.open.insert(doc, roadmap);
                // A document opened with many pieces is compacted at a quiet moment.
                self.schedule_maintenance(doc);
                self.pump(doc, host);
                self.schedule_status();
            }
            Input::Forget(doc) => {
                self.open.remove(&doc);
                self.reading.remove(&doc);
                self.kept.remove(&doc);
                self.unavailable.remove(&doc);
                self.refused.remove(&doc);
                self.client.forget(&doc);
                self.schedule_status();
            }
            Input::LocalChange(doc) => {
                // A change just made is not on the relay yet: the indicator
                // stops saying «всё сохранено» at once (the recount after
                // it, a moment later, gives the exact number).
                self.something_unsent();
                self.pump(doc, host);
                self.schedule_status();
            }
            Input::MaintenanceWanted(doc) => self.schedule_maintenance(doc),
            Input::Fetch { doc, recover } => self.fetch(doc, recover, host),
            Input::FetchStored { doc, result } => {
                if result.is_ok() {
                    let queued = self.fetching.get_mut(&doc).map(|f| std::mem::take(&mut f.queued));
                    for message in queued.unwrap_or_default() {
                        self.remote(doc, message, host);
                    }
                    self.effects.push_back(Effect::ListChanged);
                }
                self.finish_fetch(doc, result);
            }
            Input::Kept(kept) => {
                self.kept = kept;
                self.kept_read = true;
                self.schedule_status();
                if let Some(again) = self.reading_kept.take() {
                    // Read after another tab stored something: a roadmap
                    // it made or renamed is on the list now.
                    self.effects.push_back(Effect::ListChanged);
                    if again {
                        self.read_kept();
                    }
                }
            }
            Input::StoredElsewhere(doc) => {
                if self.open.contains_key(&doc) {
                    match self.reading.get_mut(&doc) {
                        Some(again) => *again = true,
                        None => {
                            self.reading.insert(doc, false);
                            self.effects.push_back(Effect::ReadStored(doc));
                        }
                    }
                }
                match &mut self.reading_kept {
                    Some(again) => *again = true,
                    None => self.read_kept(),
                }
            }
            Input::StoredRead { doc, touched } => {
                if self.reading.remove(&doc) == Some(true) && self.open.contains_key(&doc) {
                    self.reading.insert(doc, false);
                    self.effects.push_back(Effect::ReadStored(doc));
                }
                if touched != Touched::Nothing {
                    self.effects.push_back(Effect::Touched { doc, touched });
                    self.pump(doc, host);
                }
                self.schedule_status();
            }
            Input::Created { doc, kept } => {
                self.kept.insert(doc, kept);
                if kept.unsent.is_some_and(|n| n > 0) {
                    self.something_unsent();
                }
                self.schedule_status();
            }
            Input::LoadedAll => {
                let mut ids: Vec<DocumentId> = self.open.keys().copied().collect();
                ids.sort();
                for doc in ids {
                    self.pump(doc, host);
                }
                self.effects.push_back(Effect::RecoverBroken { online: true });
            }
            Input::CountsChanged => self.schedule_status(),
            Input::Announce { doc, open, person } => {
                let presence = Presence { name: self.name.clone(), open, person };
                let previous = std::mem::replace(&mut self.announce, open.then(|| (doc, presence.clone())));
                if open || previous.is_some_and(|(p, _)| p == doc) {
                    self.send_ephemeral(doc, presence);
                }
            }
        }
    }

    fn read_kept(&mut self) {
        self.reading_kept = Some(false);
        self.effects.push_back(Effect::ReadKept);
    }

    fn timer(&mut self, timer: Timer, ms: u64) {
        self.effects.push_back(Effect::SetTimer { timer, ms });
    }

    fn timer_fired(&mut self, timer: Timer, host: &mut dyn Host) {
        match timer {
            Timer::Reconnect => {
                self.reconnect_pending = false;
                self.connect();
            }
            Timer::Heartbeat => {
                self.timer(Timer::Heartbeat, HEARTBEAT_EVERY_MS);
                if let (Connection::Online, Some(socket)) = (self.status.connection, self.socket) {
                    self.heartbeat_answered = false;
                    self.effects.push_back(Effect::Heartbeat(socket));
                    self.timer(Timer::HeartbeatTimeout(socket), HEARTBEAT_TIMEOUT_MS);
                }
            }
            Timer::HeartbeatTimeout(socket) => {
                if self.socket == Some(socket) && !self.heartbeat_answered {
                    self.closed();
                }
            }
            Timer::Presence => {
                self.timer(Timer::Presence, presence::ANNOUNCE_EVERY_MS);
                self.send_presence();
                self.forget_gone_peers();
            }
            Timer::Status => {
                self.status_pending = false;
                self.recount(host);
            }
            Timer::Fetch(doc, serial) => {
                // The relay answered once the first content is being
                // stored: storage answers the rest. Giving up then would
                // forget this side's sync state while the relay keeps its
                // own, and the copy stored anyway would never be answered.
                if self.fetching.get(&doc).is_some_and(|f| f.serial == serial && !f.storing) {
                    let error = if self.status.connection == Connection::Online {
                        FetchError::Timeout
                    } else {
                        FetchError::Offline
                    };
                    self.finish_fetch(doc, Err(error));
                }
            }
            Timer::Maintenance(doc) => {
                self.maintenance.remove(&doc);
                if self.open.contains_key(&doc) {
                    self.effects.push_back(Effect::Maintain(doc));
                }
            }
            Timer::CountUncounted => self.effects.push_back(Effect::LoadAll { uncounted_only: true }),
        }
    }

    // ---- the connection ---------------------------------------------------

    /// Opens a socket unless one is open or being opened, or nobody is
    /// signed in. The API is asked who is signed in first.
    fn connect(&mut self) {
        if self.socket.is_some() || self.checking {
            return;
        }
        if !self.signed_in {
            return self.set_connection(Connection::Offline);
        }
        self.checking = true;
        self.set_connection(Connection::Connecting);
        self.effects.push_back(Effect::CheckSession);
    }

    fn open_socket(&mut self) {
        if self.socket.is_some() {
            return;
        }
        self.sockets += 1;
        self.socket = Some(self.sockets);
        self.set_connection(Connection::Connecting);
        self.effects.push_back(Effect::OpenSocket(self.sockets));
    }

    /// Drops the socket (if any) and plans the next attempt, if someone is
    /// signed in and there is a network.
    fn closed(&mut self) {
        if let Some(socket) = self.socket.take() {
            self.effects.push_back(Effect::CloseSocket(socket));
        }
        self.client.disconnected();
        if !self.presence.is_empty() {
            self.presence.clear();
            self.effects.push_back(Effect::Presence(PresenceMap::new()));
        }
        if self.network && self.signed_in {
            self.set_connection(Connection::Connecting);
            self.schedule_reconnect();
        } else {
            self.set_connection(Connection::Offline);
            // Nobody waits for a fetch through a dead connection.
            let error = if self.signed_in { FetchError::Offline } else { FetchError::SignedOut };
            let mut waiting: Vec<DocumentId> = self.fetching.keys().copied().collect();
            waiting.sort();
            for doc in waiting {
                self.finish_fetch(doc, Err(error.clone()));
            }
        }
    }

    fn schedule_reconnect(&mut self) {
        if self.reconnect_pending {
            return;
        }
        self.reconnect_pending = true;
        self.attempts = self.attempts.saturating_add(1);
        self.set_failed_attempts(self.attempts);
        let base = (BACKOFF_FIRST_MS * 2f64.powi((self.attempts - 1).min(16) as i32)).min(BACKOFF_MAX_MS);
        // Full jitter in the upper half: a relay restart is not met by every
        // device at the same instant.
        let delay = base * (0.5 + self.random() * 0.5);
        self.timer(Timer::Reconnect, delay as u64);
    }

    /// A number in [0, 1) (xorshift64*).
    fn random(&mut self) -> f64 {
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        let x = self.rng.wrapping_mul(0x2545_f491_4f6c_dd1d);
        (x >> 11) as f64 / (1u64 << 53) as f64
    }

    fn send(&mut self, frame: Vec<u8>) {
        if let Some(socket) = self.socket {
            self.effects.push_back(Effect::Send { socket, frame });
        }
    }

    // ---- frames from the relay ------------------------------------------------

    fn frame(&mut self, bytes: &[u8], host: &mut dyn Host) {
        match self.client.receive(bytes) {
            Ok(Event::Connected) => {
                self.attempts = 0;
                self.asked_rights.clear();
                self.set_connection(Connection::Online);
                self.send_presence();
                let mut ids: Vec<DocumentId> = self.fetching.keys().copied().collect();
                ids.sort();
                for doc in ids {
                    self.pump(doc, host);
                }
                self.effects.push_back(Effect::LoadAll { uncounted_only: false });
            }
            Ok(Event::Sync { doc, message }) => self.remote(doc, message, host),
            Ok(Event::Unavailable { doc }) => {
                if let Some(&roadmap) = self.open.get(&doc) {
                    self.unavailable.insert(doc);
                    self.schedule_status();
                    if roadmap && !host.gone().contains_key(&doc) {
                        self.effects.push_back(Effect::CheckGone(doc));
                    }
                    // A document this device held is no longer readable:
                    // the person's rights changed (a curator moved to
                    // another school), so what they are shown follows.
                    self.effects.push_back(Effect::RefreshAccount);
                }
                self.finish_fetch(doc, Err(FetchError::Unavailable));
            }
            Ok(Event::ChangesRefused { doc, refused }) => {
                self.effects.push_back(Effect::Warn(format!(
                    "the relay refused our changes to {doc}: {}",
                    refused.detail
                )));
                self.refused.insert(doc, refused);
                self.schedule_status();
            }
            Ok(Event::Ephemeral { doc, sender, data, .. }) => {
                if let Some(p) = Presence::decode(&data) {
                    let peers = self.presence.entry(doc).or_default();
                    if p.open {
                        peers.insert(sender, Peer { name: p.name, person: p.person, seen: self.now });
                    } else {
                        peers.remove(&sender);
                    }
                    self.effects.push_back(Effect::Presence(self.presence.clone()));
                }
            }
            Ok(Event::Refused { message }) => {
                self.effects.push_back(Effect::Warn(format!("the relay refused us: {message}")));
                self.closed();
            }
            Ok(Event::None) => {}
            Err(e) => {
                self.effects.push_back(Effect::Warn(format!("sync: {e}")));
                self.closed();
            }
        }
    }

    /// A sync message from the relay for one document.
    fn remote(&mut self, doc: DocumentId, message: sync::Message, host: &mut dyn Host) {
        if !self.open.contains_key(&doc) {
            return self.remote_for_fetch(doc, message, host);
        }
        if self.unavailable.remove(&doc) {
            // The relay serves it again (a right given back, a roadmap
            // moved back): the notice goes, and the rights are asked anew.
            self.schedule_status();
            self.effects.push_back(Effect::RefreshAccount);
        }
        let client = &mut self.client;
        let mut message = Some(message);
        let result = host.receive(doc, &mut |am| match message.take() {
            Some(message) => client.apply(doc, &mut am.sync(), message),
            None => Ok(()),
        });
        self.ask_rights_once(doc, host);
        match result {
            None | Some(Ok(Touched::Nothing)) => {}
            Some(Ok(touched)) => self.effects.push_back(Effect::Touched { doc, touched }),
            Some(Err(e)) => {
                self.effects.push_back(Effect::Warn(format!("sync of {doc}: {e}")));
                return self.closed();
            }
        }
        self.pump(doc, host);
        self.schedule_status();
    }

    /// The relay answered for a roadmap the account's list of rights does
    /// not have: it registered it just now, so the list is asked again,
    /// once per connection, and the editor shows its unit.
    fn ask_rights_once(&mut self, doc: DocumentId, host: &dyn Host) {
        let roadmap = self.open.get(&doc).copied().unwrap_or(false);
        if roadmap && !host.knows_right(&doc) && self.asked_rights.insert(doc) {
            self.effects.push_back(Effect::RefreshRoadmaps);
        }
    }

    /// Content for a document being fetched: the first of it is stored,
    /// then it syncs like any other.
    fn remote_for_fetch(&mut self, doc: DocumentId, message: sync::Message, host: &mut dyn Host) {
        let Some(fetch) = self.fetching.get_mut(&doc) else { return };
        if fetch.storing {
            fetch.queued.push(message);
            return;
        }
        if self.client.apply(doc, &mut fetch.doc.sync(), message).is_err() {
            return self.finish_fetch(doc, Err(FetchError::NotARoadmap("повреждённые данные".into())));
        }
        if fetch.doc.get_heads().is_empty() {
            return self.pump(doc, host);
        }
        fetch.storing = true;
        let (bytes, recover) = (fetch.doc.save(), fetch.recover);
        self.effects.push_back(Effect::StoreFetched { doc, bytes, recover });
    }

    fn fetch(&mut self, doc: DocumentId, recover: bool, host: &mut dyn Host) {
        if !self.signed_in {
            return self.effects.push_back(Effect::FetchDone { doc, result: Err(FetchError::SignedOut) });
        }
        self.fetches += 1;
        let serial = self.fetches;
        let fetch = self.fetching.entry(doc).or_insert_with(|| Fetch {
            recover,
            doc: AutoCommit::new(),
            storing: false,
            queued: Vec::new(),
            serial,
        });
        fetch.serial = serial;
        if self.status.connection == Connection::Offline {
            self.connect();
        }
        self.pump(doc, host);
        self.timer(Timer::Fetch(doc, serial), FETCH_TIMEOUT_MS);
    }

    fn finish_fetch(&mut self, doc: DocumentId, result: Result<(), FetchError>) {
        if self.fetching.remove(&doc).is_none() {
            return;
        }
        if result.is_err() {
            self.client.forget(&doc);
        }
        self.effects.push_back(Effect::FetchDone { doc, result });
    }

    /// Sends what the document has for the relay, if anything.
    fn pump(&mut self, doc: DocumentId, host: &mut dyn Host) {
        if !self.client.is_connected() {
            return;
        }
        let frames = if self.open.contains_key(&doc) {
            let client = &mut self.client;
            host.with_doc(doc, &mut |am| client.outgoing(doc, am)).unwrap_or_default()
        } else {
            match self.fetching.get_mut(&doc) {
                Some(fetch) if !fetch.storing => self.client.outgoing(doc, &mut fetch.doc),
                _ => return,
            }
        };
        // More than the relay takes in one message comes in pieces.
        for frame in frames {
            self.send(frame);
        }
    }

    // ---- presence -----------------------------------------------------------

    fn send_presence(&mut self) {
        if let Some((doc, mut presence)) = self.announce.clone() {
            presence.name = self.name.clone();
            self.send_ephemeral(doc, presence);
        }
    }

    fn send_ephemeral(&mut self, doc: DocumentId, presence: Presence) {
        if let Some(frame) = self.client.ephemeral(doc, presence.encode()) {
            self.send(frame);
        }
    }

    fn forget_gone_peers(&mut self) {
        let now = self.now;
        let stale = |peer: &Peer| now.saturating_sub(peer.seen) > presence::FORGET_AFTER_MS;
        if self.presence.values().any(|peers| peers.values().any(stale)) {
            for peers in self.presence.values_mut() {
                peers.retain(|_, peer| !stale(peer));
            }
            self.effects.push_back(Effect::Presence(self.presence.clone()));
        }
    }

    // ---- maintenance and the status -------------------------------------------

    /// Asks for a quiet moment to compact a document or write again what
    /// failed; coalesced per document.
    fn schedule_maintenance(&mut self, doc: DocumentId) {
        if self.maintenance.insert(doc) {
            self.timer(Timer::Maintenance(doc), MAINTENANCE_DELAY_MS);
        }
    }

    /// Something is unsent now: the indicator says so before the recount.
    fn something_unsent(&mut self) {
        if self.status.unsynced == 0 {
            self.status.unsynced = 1;
            self.effects.push_back(Effect::Status(self.status.clone()));
        }
    }

    fn set_failed_attempts(&mut self, n: u32) {
        if self.status.failed_attempts != n {
            self.status.failed_attempts = n;
            self.effects.push_back(Effect::Status(self.status.clone()));
        }
    }

    fn set_connection(&mut self, connection: Connection) {
        if connection == Connection::Online {
            self.set_failed_attempts(0);
        }
        if self.status.connection != connection {
            self.status.connection = connection;
            self.effects.push_back(Effect::Status(self.status.clone()));
        }
        self.schedule_status();
    }

    /// Recounts unsynced changes soon (coalescing bursts of keystrokes).
    fn schedule_status(&mut self) {
        if !self.status_pending {
            self.status_pending = true;
            self.timer(Timer::Status, STATUS_EVERY_MS);
        }
    }

    fn recount(&mut self, host: &mut dyn Host) {
        let (mut unsynced, mut rejected, mut broken, mut uncounted, mut gone) = (0, 0, 0, 0, 0);
        if !self.kept_read {
            uncounted += 1;
        }
        let deleted = host.gone();
        // Documents not open: what their list records say.
        for (id, kept) in &self.kept {
            if self.open.contains_key(id) {
                continue;
            }
            if deleted.contains_key(id) {
                gone += 1;
                continue;
            }
            match (kept.broken, kept.unsent) {
                // Its unsent changes (counted before it broke) wait in
                // quarantine: still not on the server.
                (true, n) => {
                    broken += 1;
                    unsynced += n.unwrap_or(0) as usize;
                }
                (false, Some(n)) => unsynced += n as usize,
                (false, None) => uncounted += 1,
            }
        }
        let mut states = HashMap::with_capacity(self.open.len());
        let mut newly_stored = false;
        let mut busy = false;
        let mut open: Vec<(DocumentId, bool)> = self.open.iter().map(|(id, r)| (*id, *r)).collect();
        open.sort();
        for (id, roadmap) in open {
            let relay = self.client.relay_holds(&id);
            let stored = relay.is_some();
            let state = match host.unsynced(id, relay) {
                Some(count) => DocState {
                    unsynced: count,
                    read_only: self.client.relay_read_only(&id),
                    unavailable: self.unavailable.contains(&id),
                    refused: self.refused.get(&id).cloned(),
                    gone: deleted.get(&id).cloned(),
                },
                // In use right now: its last count stands (or, never
                // counted yet, it keeps the indicator from saying all is
                // saved) until the count is taken again, soon.
                None => {
                    busy = true;
                    match self.doc_states.get(&id) {
                        Some(state) => state.clone(),
                        None => {
                            uncounted += 1;
                            continue;
                        }
                    }
                }
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
                && !host.knows_right(&id)
                && self.listed_after_sync.insert(id)
            {
                newly_stored = true;
            }
            states.insert(id, state);
        }
        if newly_stored {
            self.effects.push_back(Effect::RefreshRoadmaps);
        }
        let s = &mut self.status;
        let counts = (unsynced, rejected, broken, uncounted, gone);
        if (s.unsynced, s.rejected, s.broken, s.uncounted, s.gone) != counts {
            (s.unsynced, s.rejected, s.broken, s.uncounted, s.gone) = counts;
            self.effects.push_back(Effect::Status(self.status.clone()));
        }
        if self.status.connection == Connection::Online {
            let mut settled: Vec<DocumentId> = states
                .iter()
                .filter(|(_, s)| s.unsynced == 0 && !s.read_only && !s.unavailable)
                .map(|(id, _)| *id)
                .collect();
            settled.sort();
            self.effects.push_back(Effect::Settled(settled));
        }
        // The relay lifted read-only for a document (a right given back):
        // what the server says of the person's rights is asked anew, or the
        // editor would stay read-only by its last word until a reload.
        if states
            .iter()
            .any(|(id, s)| !s.read_only && self.doc_states.get(id).is_some_and(|old| old.read_only))
        {
            self.effects.push_back(Effect::RefreshAccount);
        }
        if self.doc_states != states {
            self.doc_states = states.clone();
            self.effects.push_back(Effect::DocStates(states));
        }
        if busy {
            self.schedule_status();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A page with no document open.
    struct NoDocs;

    impl Host for NoDocs {
        fn receive(
            &mut self,
            _: DocumentId,
            _: &mut dyn FnMut(&mut AutoCommit) -> Result<(), AutomergeError>,
        ) -> Option<Result<Touched, AutomergeError>> {
            None
        }
        fn with_doc(
            &mut self,
            _: DocumentId,
            _: &mut dyn FnMut(&mut AutoCommit) -> Vec<Vec<u8>>,
        ) -> Option<Vec<Vec<u8>>> {
            None
        }
        fn unsynced(&mut self, _: DocumentId, _: Option<RelayHolds>) -> Option<usize> {
            None
        }
        fn gone(&self) -> BTreeMap<DocumentId, String> {
            BTreeMap::new()
        }
        fn knows_right(&self, _: &DocumentId) -> bool {
            true
        }
    }

    fn handle(device: &mut Device, input: Input) -> Vec<Effect> {
        device.handle(0, input, &mut NoDocs);
        device.drain()
    }

    /// A device that started signed in and has a socket being opened.
    fn connecting() -> (Device, SocketId) {
        let mut device = Device::new("tab".into(), None, 7);
        let effects =
            handle(&mut device, Input::Start { signed_in: true, network: true, name: "Анна".into() });
        assert!(effects.iter().any(|e| matches!(e, Effect::CheckSession)), "{effects:?}");
        let effects = handle(&mut device, Input::SessionChecked(Checked::SignedIn));
        let socket = effects
            .iter()
            .find_map(|e| match e {
                Effect::OpenSocket(s) => Some(*s),
                _ => None,
            })
            .expect("a socket is opened once the session is checked");
        (device, socket)
    }

    /// The socket opens and the relay's `peer` answer makes the device online.
    fn relay_greets(device: &mut Device, socket: SocketId) -> Vec<Effect> {
        handle(device, Input::SocketOpened(socket));
        let peer = super::super::message::Message::Peer {
            sender_id: "relay".into(),
            target_id: "tab".into(),
            metadata: Default::default(),
            selected_protocol_version: "1".into(),
        };
        handle(device, Input::Frame { socket, bytes: peer.encode() })
    }

    fn reconnect_delay(effects: &[Effect]) -> Option<u64> {
        effects.iter().find_map(|e| match e {
            Effect::SetTimer { timer: Timer::Reconnect, ms } => Some(*ms),
            _ => None,
        })
    }

    /// Found by a trial: a copy that broke with changes not yet sent
    /// showed only «не читаются на устройстве: 1»; its changes wait in
    /// quarantine and are still owed to the relay.
    #[test]
    fn a_broken_copys_unsent_changes_still_count() {
        let (mut device, _) = connecting();
        let kept = HashMap::from([
            (DocumentId::from_bytes([1; 16]), KeptState { unsent: Some(5), broken: true }),
            (DocumentId::from_bytes([2; 16]), KeptState { unsent: Some(2), broken: false }),
            (DocumentId::from_bytes([3; 16]), KeptState { unsent: None, broken: true }),
        ]);
        handle(&mut device, Input::Kept(kept));
        handle(&mut device, Input::TimerFired(Timer::Status));
        assert_eq!(device.status().unsynced, 7);
        assert_eq!(device.status().broken, 2);
    }

    #[test]
    fn a_lost_connection_is_tried_again_later_each_time_and_at_once_when_the_network_returns() {
        let (mut device, mut socket) = connecting();
        let mut delays = Vec::new();
        for attempt in 1..=8u32 {
            let effects = handle(&mut device, Input::SocketClosed { socket, session_ended: false });
            delays.push(reconnect_delay(&effects).expect("a retry is planned"));
            assert_eq!(device.status().failed_attempts, attempt);
            assert_eq!(device.status().connection, Connection::Connecting);
            handle(&mut device, Input::TimerFired(Timer::Reconnect));
            let effects = handle(&mut device, Input::SessionChecked(Checked::SignedIn));
            socket = effects
                .iter()
                .find_map(|e| if let Effect::OpenSocket(s) = e { Some(*s) } else { None })
                .unwrap();
        }
        // Backoff with jitter in the upper half: 250–500 ms, then doubling, at most 30 s.
        assert!((250..=500).contains(&delays[0]), "{delays:?}");
        assert!(delays[7] >= 15_000 && delays[7] <= 30_000, "{delays:?}");
        assert!(delays.windows(2).take(5).all(|w| w[1] >= w[0]), "{delays:?}");

        // The network goes: offline, no retry; it comes back: a check at once.
        let effects = handle(&mut device, Input::NetworkChanged { online: false });
        assert_eq!(device.status().connection, Connection::Offline);
        assert!(reconnect_delay(&effects).is_none());
        let effects = handle(&mut device, Input::NetworkChanged { online: true });
        assert!(effects.iter().any(|e| matches!(e, Effect::CheckSession)), "{effects:?}");
    }

    /// Found by a trial: a device that started with changes not yet sent
    /// said «Всё сохранено на сервере» as soon as the relay answered,
    /// before it had read what was waiting (and before the relay had any
    /// of it).
    #[test]
    fn online_before_anything_was_counted_is_not_all_saved() {
        let (mut device, socket) = connecting();
        let effects = relay_greets(&mut device, socket);
        assert_eq!(device.status().connection, Connection::Online);
        assert!(device.status().uncounted > 0, "nothing was counted yet");
        for effect in &effects {
            if let Effect::Status(status) = effect {
                assert!(status.uncounted > 0, "a status said before counting: {status:?}");
            }
        }
        // The list records are read: now it knows.
        let kept =
            HashMap::from([(DocumentId::from_bytes([1; 16]), KeptState { unsent: Some(4), broken: false })]);
        handle(&mut device, Input::Kept(kept));
        handle(&mut device, Input::TimerFired(Timer::Status));
        assert_eq!(device.status().uncounted, 0);
        assert_eq!(device.status().unsynced, 4);
    }

    /// Found by a trial: a roadmap moved away and back kept «Нет доступа»
    /// on screen although the relay served it again.
    #[test]
    fn a_document_served_again_is_no_longer_unavailable() {
        use super::super::message::Message;
        use automerge::sync::SyncDoc as _;
        let (mut device, socket) = connecting();
        relay_greets(&mut device, socket);
        let doc = DocumentId::from_bytes([5; 16]);
        handle(&mut device, Input::Kept(HashMap::new()));
        handle(&mut device, Input::Opened { doc, roadmap: true });
        let gone =
            Message::DocUnavailable { sender_id: "relay".into(), target_id: "tab".into(), document_id: doc };
        handle(&mut device, Input::Frame { socket, bytes: gone.encode() });
        assert_eq!(device.unavailable(), vec![doc]);

        let mut am = AutoCommit::new();
        let data = am.sync().generate_sync_message(&mut automerge::sync::State::new()).unwrap().encode();
        let sync =
            Message::Sync { sender_id: "relay".into(), target_id: "tab".into(), document_id: doc, data };
        let effects = handle(&mut device, Input::Frame { socket, bytes: sync.encode() });
        assert!(device.unavailable().is_empty());
        assert!(
            effects.iter().any(|e| matches!(e, Effect::RefreshAccount)),
            "rights asked anew: {effects:?}"
        );
    }

    #[test]
    fn a_socket_whose_heartbeat_goes_unanswered_is_dropped() {
        let (mut device, socket) = connecting();
        relay_greets(&mut device, socket);
        assert_eq!(device.status().connection, Connection::Online);
        let effects = handle(&mut device, Input::TimerFired(Timer::Heartbeat));
        assert!(effects.iter().any(|e| matches!(e, Effect::Heartbeat(s) if *s == socket)), "{effects:?}");
        // Answered: the socket stays.
        handle(&mut device, Input::HeartbeatAnswered(socket));
        handle(&mut device, Input::TimerFired(Timer::HeartbeatTimeout(socket)));
        assert_eq!(device.socket(), Some(socket));
        // Not answered: it is closed and tried again.
        handle(&mut device, Input::TimerFired(Timer::Heartbeat));
        let effects = handle(&mut device, Input::TimerFired(Timer::HeartbeatTimeout(socket)));
        assert!(effects.iter().any(|e| matches!(e, Effect::CloseSocket(s) if *s == socket)), "{effects:?}");
        assert_eq!(device.socket(), None);
        assert_eq!(device.status().connection, Connection::Connecting);
    }

    /// The issue-15 finding: a tab learns that another tab of the device
    /// stored something only as a hint; it reads the document (if open
    /// here) and the list records, one read at a time however many hints
    /// come, and once more after a hint that came while reading.
    #[test]
    fn a_hint_from_another_tab_reads_storage_once_at_a_time() {
        let open = DocumentId::from_bytes([1; 16]);
        let elsewhere = DocumentId::from_bytes([2; 16]);
        let mut device = Device::new("tab".into(), None, 3);
        handle(&mut device, Input::Start { signed_in: false, network: false, name: String::new() });
        handle(&mut device, Input::Opened { doc: open, roadmap: true });
        let reads = |effects: &[Effect]| {
            let stored: Vec<DocumentId> = effects
                .iter()
                .filter_map(|e| if let Effect::ReadStored(d) = e { Some(*d) } else { None })
                .collect();
            let kept = effects.iter().filter(|e| matches!(e, Effect::ReadKept)).count();
            (stored, kept)
        };

        let effects = handle(&mut device, Input::StoredElsewhere(open));
        assert_eq!(reads(&effects), (vec![open], 1));
        // More hints while reading: no more reads now...
        for _ in 0..100 {
            let effects = handle(&mut device, Input::StoredElsewhere(open));
            assert_eq!(reads(&effects), (vec![], 0));
        }
        // ...one more each once answered.
        let effects = handle(&mut device, Input::StoredRead { doc: open, touched: Touched::Everything });
        assert_eq!(reads(&effects), (vec![open], 0));
        assert!(
            effects.iter().any(|e| matches!(e, Effect::Touched { doc, .. } if *doc == open)),
            "{effects:?}"
        );
        let effects = handle(&mut device, Input::Kept(HashMap::new()));
        assert_eq!(reads(&effects), (vec![], 1));
        assert!(effects.iter().any(|e| matches!(e, Effect::ListChanged)), "{effects:?}");
        let effects = handle(&mut device, Input::StoredRead { doc: open, touched: Touched::Nothing });
        assert_eq!(reads(&effects), (vec![], 0));
        assert!(!effects.iter().any(|e| matches!(e, Effect::Touched { .. })), "{effects:?}");
        handle(&mut device, Input::Kept(HashMap::new()));

        // A document not open here: only the list records (its count).
        let effects = handle(&mut device, Input::StoredElsewhere(elsewhere));
        assert_eq!(reads(&effects), (vec![], 1));
        let kept = KeptState { unsent: Some(4), broken: false };
        handle(&mut device, Input::Kept(HashMap::from([(elsewhere, kept)])));
        handle(&mut device, Input::TimerFired(Timer::Status));
        assert_eq!(device.status().unsynced, 4, "the other tab's unsent changes count here");
    }

    #[test]
    fn a_fetch_ends_signed_out_offline_or_timed_out() {
        let doc = DocumentId::from_bytes([9; 16]);
        let done = |effects: &[Effect]| {
            effects.iter().find_map(|e| match e {
                Effect::FetchDone { doc: d, result } if *d == doc => Some(result.clone()),
                _ => None,
            })
        };
        let mut signed_out = Device::new("tab".into(), None, 1);
        handle(&mut signed_out, Input::Start { signed_in: false, network: true, name: String::new() });
        let effects = handle(&mut signed_out, Input::Fetch { doc, recover: false });
        assert_eq!(done(&effects), Some(Err(FetchError::SignedOut)));

        let (mut device, _) = connecting();
        let effects = handle(&mut device, Input::Fetch { doc, recover: false });
        let serial = effects
            .iter()
            .find_map(|e| match e {
                Effect::SetTimer { timer: Timer::Fetch(d, serial), ms: FETCH_TIMEOUT_MS } if *d == doc => {
                    Some(*serial)
                }
                _ => None,
            })
            .expect("a fetch waits at most so long");
        let effects = handle(&mut device, Input::TimerFired(Timer::Fetch(doc, serial)));
        assert_eq!(done(&effects), Some(Err(FetchError::Offline)), "never online: offline");
        assert!(device.fetching().next().is_none());

        // The network goes while a fetch waits: it ends at once.
        handle(&mut device, Input::Fetch { doc, recover: false });
        let effects = handle(&mut device, Input::NetworkChanged { online: false });
        assert_eq!(done(&effects), Some(Err(FetchError::Offline)));
    }
}
