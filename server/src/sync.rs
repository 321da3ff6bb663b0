//! The `/sync` WebSocket: sockets and storage around the sans-IO
//! [`Relay`](medk_shared::sync::relay::Relay).
//!
//! One task (the *hub*) owns the relay and is the only place protocol state
//! changes; each connection has a reader and a writer task that only move
//! bytes, and storage runs on the [`Writer`](crate::store::Writer)'s thread
//! (group commit) or blocking readers. The hub never waits for I/O: storage
//! results come back to it as messages, like frames do.
//!
//! Only a signed-in person gets a socket: the upgrade checks the session
//! cookie (401) and a browser's `Origin` (403), and a person has at most
//! [`HubOptions::connections_per_user`] of them (a new one closes their
//! oldest). The relay asks [`Accounts`] for a right on every message and
//! vets what writers send (roadmaps against their layout and limits, school
//! files against who may make which edit). What takes time is done off the
//! hub and its answer comes back like storage's: applying a big message
//! ([`Effect::Apply`], seconds of CPU), registering a new roadmap, writing
//! a roadmap's title or the rights a school file's curator assignment
//! gives. Changes to rights, deleted roadmaps and
//! ended sessions reach the hub as [`AccessEvent`]s and take effect on live
//! connections at once.
//!
//! What one connection may cost is bounded: frames per second, bytes per
//! second per person (its reader waits, so the socket backs up rather than
//! the relay's memory), bytes in flight to the hub, bytes queued for a slow
//! reader; the relay core bounds the rest (operations applied, messages
//! waiting, presence).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::extract::ws::{CloseFrame, Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse as _, Response};
use axum::routing::get;
use bytes::Bytes;
use futures_util::{SinkExt as _, StreamExt as _};
use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota};
use medk_shared::access::Right;
use medk_shared::ids::DocumentId;
use medk_shared::sync::message::MAX_MESSAGE_BYTES;
use medk_shared::sync::relay::{
    Access, Applied, ConnId, Effect, Limits, Loaded, MAX_DOCS_PER_CONNECTION, Refusal, Relay, StorageWrite,
    Vetter, close,
};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, broadcast, mpsc, oneshot};

use crate::accounts::{AccessEvent, Accounts, AccountsError, DocKind};
use crate::api::session_token;
use crate::client::Client;
use crate::peer::SERVER_USER;
use crate::store::{Write, Writer};

/// Close code when the connection's session ended (signed out, password
/// changed, account disabled): sign in again.
pub const SESSION_ENDED: u16 = 4001;

/// Frames per second one connection may send on average, and in a burst.
/// A device catching up sends a burst of one message per document (so the
/// burst allows one for each of the most documents a connection may open);
/// a person typing sends a few per second.
const FRAMES_PER_SECOND: u32 = 200;
const FRAME_BURST: u32 = MAX_DOCS_PER_CONNECTION as u32;

/// The relay pings an idle connection this often; browsers answer pings
/// without the app's involvement.
const PING_EVERY: Duration = Duration::from_secs(20);

/// A connection from which nothing (not even a pong) arrived for this long
/// is dead. Generous on purpose: a tablet on a rural link may stall for a
/// minute and still be worth keeping (the JS relay's 5 s drops them).
const SILENCE_LIMIT: Duration = Duration::from_secs(120);

/// How long one side of a closing connection waits for the other.
const CLOSE_GRACE: Duration = Duration::from_secs(5);

/// How long a connection closed for a frame over the limit stays open
/// after its close frame, so the peer reads it (see its use).
const TOO_BIG_LINGER: Duration = Duration::from_secs(1);

/// How often the hub's clock ticks (eviction, write retries, messages a
/// person's rate held back).
const TICK_EVERY: Duration = Duration::from_secs(1);

/// Bytes a person's connections may send per second, together, after a
/// burst of [`BYTES_BURST`]; past it their readers wait. A device's first
/// sync of a 1,000-activity roadmap is under 1 MB.
const BYTES_PER_SECOND: u32 = 4 * 1024 * 1024;
const BYTES_BURST: u32 = 2 * MAX_MESSAGE_BYTES as u32;

/// Bytes of one connection's frames on their way to the hub (read, not yet
/// handed to the relay): its reader waits beyond this.
const IN_FLIGHT_BYTES: usize = 2 * MAX_MESSAGE_BYTES;

/// Sync connections one person may hold at once by default (every tab of
/// every device is one); a new one past it closes their oldest, most likely
/// a socket a device left behind on a dead link.
pub const CONNECTIONS_PER_USER: usize = 32;

/// How the hub is set up.
#[derive(Clone, Debug)]
pub struct HubOptions {
    /// What the relay calls its storage to peers (stable across restarts).
    pub storage_id: Option<String>,
    /// Sync connections one person may have open at once.
    pub connections_per_user: usize,
    /// Operations one person may add to one document ([`Limits::person_doc_ops`]).
    pub document_ops_per_person: u64,
}

impl Default for HubOptions {
    fn default() -> Self {
        HubOptions {
            storage_id: None,
            connections_per_user: CONNECTIONS_PER_USER,
            document_ops_per_person: medk_shared::sync::relay::MAX_PERSON_DOC_OPS,
        }
    }
}

/// Frames queued for one slow client beyond this many bytes close it rather
/// than grow the relay's memory without bound; it resyncs on reconnect.
const MAX_QUEUED_BYTES: usize = 64 * 1024 * 1024;

/// Each connection's WebSocket read buffer. tungstenite zero-fills its
/// whole read buffer before the first read, so this many bytes are resident
/// per connection from the start: its 128 KiB default was 2/3 of the relay's
/// memory at 200 connections and 256 MB at 2,000. Sync frames are mostly a
/// few hundred bytes; a bigger frame still arrives whole (the buffer grows
/// to the frame's size while reading it), in more reads.
const READ_BUFFER_BYTES: usize = 8 * 1024;

/// The hub's mailbox.
pub(crate) enum Input {
    Open {
        conn: ConnId,
        out: Outbox,
        user: String,
    },
    /// The permit holds the frame's bytes against its connection's
    /// [`IN_FLIGHT_BYTES`] until the relay has taken it.
    Frame {
        conn: ConnId,
        bytes: Bytes,
        _permit: Option<OwnedSemaphorePermit>,
    },
    Claimed {
        doc: DocumentId,
        result: Result<(), AccountsError>,
    },
    Applied {
        doc: DocumentId,
        applied: Applied,
    },
    Closed {
        conn: ConnId,
    },
    Loaded {
        doc: DocumentId,
        read: Result<Loaded, String>,
    },
    SyncStateLoaded {
        doc: DocumentId,
        storage_id: String,
        state: Option<Vec<u8>>,
    },
    Written {
        doc: DocumentId,
        batch: u64,
        result: Result<(), String>,
    },
    Shutdown {
        done: oneshot::Sender<()>,
    },
}

/// What a connection's writer task sends.
pub(crate) enum Outbound {
    Frame(Vec<u8>),
    Close(u16, String),
}

/// The sending half of a connection, with the byte count it holds and the
/// session (by key) it was opened with (none for the server's own
/// [`ServerPeer`](crate::peer::ServerPeer)s).
pub(crate) struct Outbox {
    pub(crate) tx: mpsc::UnboundedSender<Outbound>,
    pub(crate) queued: Arc<AtomicUsize>,
    pub(crate) session: String,
    /// Whose connection it is.
    pub(crate) user: String,
}

/// A handle to the running relay; cheap to clone into the router.
#[derive(Clone)]
pub struct SyncHub {
    inputs: mpsc::UnboundedSender<Input>,
    next_conn: Arc<AtomicU64>,
    accounts: Accounts,
    /// Bytes per second per person ([`BYTES_PER_SECOND`]).
    bytes: Arc<DefaultKeyedRateLimiter<String>>,
}

/// The relay's [`Access`]: the accounts' rights, and the vetting of what a
/// writer sends to a roadmap or a school file.
struct AccountsAccess(Accounts);

impl Access for AccountsAccess {
    fn right(&mut self, user: &str, doc: &DocumentId) -> Right {
        if user == SERVER_USER {
            // The server's own changes: it decided who may make them.
            return match self.0.kind_of(doc) {
                DocKind::Roadmap | DocKind::School => Right::Write,
                DocKind::Catalogue => Right::Read,
            };
        }
        self.0.right(user, doc)
    }

    fn may_claim(&mut self, user: &str, doc: &DocumentId) -> Result<(), Option<Refusal>> {
        self.0.may_claim(user, doc).map_err(|e| claim_refusal(e, user))
    }

    fn vetter(&mut self, user: &str, doc: &DocumentId, claim: bool) -> Option<Vetter> {
        let (accounts, doc, user) = (self.0.clone(), *doc, user.to_owned());
        match self.0.kind_of(&doc) {
            DocKind::Catalogue => None,
            DocKind::Roadmap => Some(Box::new(move |before, after, changes| {
                let claimant = claim.then_some(user.as_str());
                medk_shared::layout::vet_roadmap(&doc, claimant, before, after, changes)
                    .map_err(Refusal::from)
                    .inspect_err(|refusal| refused(&doc, &user, claim, refusal))?;
                let title = medk_shared::doc::title_of(after);
                if claim || title != medk_shared::doc::title_of(before) {
                    accounts.note_title(&doc, title);
                }
                Ok(())
            })),
            // Every writer: a change of who serves the school moves the
            // curator's rights with it.
            DocKind::School => {
                // Coordinators who both curate and assign may change anything.
                let rules = self.0.school_powers(&user, &doc);
                Some(Box::new(move |before, after, changes| {
                    if let Some((school, powers)) = &rules {
                        let now_ms = std::time::SystemTime::now()
                            .duration_since(std::time::UNIX_EPOCH)
                            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
                        let sender = medk_shared::school::Sender { id: &user, powers: *powers, now_ms };
                        medk_shared::school::vet_changes(school, before, after, changes, &sender)
                            .map_err(|forbidden| Refusal {
                                message: forbidden.message_ru().into(),
                                detail: forbidden.detail,
                                lasting: true,
                            })
                            .inspect_err(|refusal| refused(&doc, &user, claim, refusal))?;
                    }
                    // The one curator assignment: once a change names another
                    // curator in the school's file, the curators' schools
                    // (their rights) follow it.
                    use medk_shared::school::assigned_curator;
                    let curator = assigned_curator(after);
                    if curator != assigned_curator(before)
                        && let Some(school) = accounts.school_of(&doc)
                    {
                        accounts.note_assignment(&school, curator);
                    }
                    Ok(())
                }))
            }
        }
    }
}

/// What a person is told when a roadmap of theirs is not registered: why,
/// if it is a limit of theirs (else only that the relay has nothing).
fn claim_refusal(e: AccountsError, whose: &str) -> Option<Refusal> {
    match e {
        AccountsError::TooManyRoadmaps(..) | AccountsError::TooManyRoadmapsOfYours(..) => {
            // Lifts when a coordinator deletes roadmaps: the device keeps
            // editing it and sends it again on the next connection.
            Some(Refusal {
                message: e.to_string(),
                detail: format!("{whose}: no more roadmaps registered"),
                lasting: false,
            })
        }
        _ => None,
    }
}

fn refused(doc: &DocumentId, user: &str, claim: bool, refusal: &Refusal) {
    tracing::warn!(%doc, user, claim, "refused changes: {}", refusal.detail);
}

impl SyncHub {
    /// Starts the hub task over the storage writer and the accounts.
    pub fn start(writer: Writer, accounts: Accounts, options: HubOptions) -> SyncHub {
        let (tx, rx) = mpsc::unbounded_channel();
        let peer_id = format!("medk-relay-{}", std::process::id());
        let limits = Limits { person_doc_ops: options.document_ops_per_person.max(1), ..Limits::default() };
        let relay = Relay::new(peer_id, options.storage_id, Box::new(AccountsAccess(accounts.clone())))
            .with_limits(limits);
        let events = accounts.events();
        let state = HubState {
            writer: Arc::new(writer),
            accounts: accounts.clone(),
            per_user: options.connections_per_user.max(1),
        };
        tokio::spawn(hub(relay, state, rx, events, tx.clone()));
        let quota = Quota::per_second(BYTES_PER_SECOND.try_into().expect("non-zero"))
            .allow_burst(BYTES_BURST.try_into().expect("non-zero"));
        SyncHub {
            inputs: tx,
            next_conn: Arc::new(AtomicU64::new(1)),
            accounts,
            bytes: Arc::new(DefaultKeyedRateLimiter::keyed(quota)),
        }
    }

    pub(crate) fn next_conn(&self) -> ConnId {
        self.next_conn.fetch_add(1, Ordering::Relaxed)
    }

    pub(crate) fn inputs(&self) -> mpsc::UnboundedSender<Input> {
        self.inputs.clone()
    }

    /// Saves every live sync state and waits for the writes; call before exit.
    pub async fn shutdown(&self) {
        let (done, wait) = oneshot::channel();
        if self.inputs.send(Input::Shutdown { done }).is_ok() {
            let _ = wait.await;
        }
    }
}

/// The `/sync` route.
pub fn routes(hub: SyncHub) -> Router {
    Router::new().route("/sync", get(upgrade)).with_state(hub)
}

async fn upgrade(
    State(hub): State<SyncHub>,
    client: Client,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    if !client.same_origin(&headers) {
        return (StatusCode::FORBIDDEN, "sync from another site is not allowed").into_response();
    }
    let Some((person, session)) = session_token(&headers).and_then(|token| hub.accounts.session(token))
    else {
        return (StatusCode::UNAUTHORIZED, "sign in first").into_response();
    };
    // The connection holds only the hub's mailbox, not the hub (with the
    // accounts), so nothing outlives a shutdown for long.
    let inputs = hub.inputs.clone();
    let bytes = hub.bytes.clone();
    let conn = hub.next_conn.fetch_add(1, Ordering::Relaxed);
    ws.max_message_size(MAX_MESSAGE_BYTES)
        .max_frame_size(MAX_MESSAGE_BYTES)
        .read_buffer_size(READ_BUFFER_BYTES)
        .on_upgrade(move |socket| async move {
            connection(inputs, bytes, conn, socket, person.id, session).await;
        })
}

/// Moves bytes between one socket and the hub until either side ends it.
async fn connection(
    inputs: mpsc::UnboundedSender<Input>,
    bytes_rate: Arc<DefaultKeyedRateLimiter<String>>,
    conn: ConnId,
    socket: WebSocket,
    user: String,
    session: String,
) {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let queued = Arc::new(AtomicUsize::new(0));
    let out = Outbox { tx: tx.clone(), queued: queued.clone(), session, user: user.clone() };
    if inputs.send(Input::Open { conn, out, user: user.clone() }).is_err() {
        return;
    }
    let in_flight = Arc::new(Semaphore::new(IN_FLIGHT_BYTES));
    let limit = DefaultDirectRateLimiter::direct(
        Quota::per_second(FRAMES_PER_SECOND.try_into().expect("non-zero"))
            .allow_burst(FRAME_BURST.try_into().expect("non-zero")),
    );
    let (mut sink, mut stream) = socket.split();
    let hub_inputs = inputs.clone();

    let writer = async {
        let mut ping = tokio::time::interval(PING_EVERY);
        ping.tick().await;
        loop {
            tokio::select! {
                out = rx.recv() => match out {
                    Some(Outbound::Frame(frame)) => {
                        queued.fetch_sub(frame.len(), Ordering::Relaxed);
                        if sink.send(WsMessage::Binary(frame.into())).await.is_err() {
                            break;
                        }
                    }
                    Some(Outbound::Close(code, reason)) => {
                        let frame = CloseFrame { code, reason: reason.into() };
                        let _ = sink.send(WsMessage::Close(Some(frame))).await;
                        break;
                    }
                    None => break,
                },
                _ = ping.tick() => {
                    if sink.send(WsMessage::Ping(Bytes::new())).await.is_err() {
                        break;
                    }
                }
            }
        }
        // Completes the closing handshake (answers the peer's close frame).
        let _ = sink.close().await;
    };

    let reader_tx = tx;
    let reader = async move {
        let tx = reader_tx;
        loop {
            let next = tokio::time::timeout(SILENCE_LIMIT, stream.next()).await;
            match next {
                Err(_) => {
                    let _ = tx.send(Outbound::Close(1001, "no traffic for too long".into()));
                    break;
                }
                Ok(None) | Ok(Some(Ok(WsMessage::Close(_)))) => break,
                Ok(Some(Ok(WsMessage::Binary(bytes)))) => {
                    if limit.check().is_err() {
                        let reason = format!("over {FRAMES_PER_SECOND} frames a second");
                        let _ = tx.send(Outbound::Close(close::LIMIT, reason));
                        break;
                    }
                    // Its person's bytes per second, and this connection's
                    // bytes not yet taken by the relay: past either, the
                    // reader waits (and the socket backs up).
                    let size = u32::try_from(bytes.len().max(1)).unwrap_or(u32::MAX);
                    if let Some(n) = std::num::NonZeroU32::new(size) {
                        let _ = bytes_rate.until_key_n_ready(&user, n).await;
                    }
                    let permit = in_flight.clone().acquire_many_owned(size).await.ok();
                    if inputs.send(Input::Frame { conn, bytes, _permit: permit }).is_err() {
                        break;
                    }
                }
                Ok(Some(Ok(WsMessage::Text(_)))) => {
                    let _ = tx.send(Outbound::Close(close::INVALID_DATA, "frames are binary CBOR".into()));
                    break;
                }
                Ok(Some(Ok(_))) => {} // ping/pong: the timeout above already restarted
                Ok(Some(Err(e))) => {
                    if is_too_big(&e) {
                        let reason = format!("frame over {MAX_MESSAGE_BYTES} bytes");
                        let _ = tx.send(Outbound::Close(close::TOO_BIG, reason));
                        // The rest of the frame is still arriving, unread:
                        // closing the socket now would reset it, and the
                        // peer's system would drop our close frame unread
                        // (the peer would see 1006). Give it time to read it.
                        tokio::time::sleep(TOO_BIG_LINGER).await;
                    } else {
                        let reason = "broken WebSocket stream".to_string();
                        let _ = tx.send(Outbound::Close(close::PROTOCOL_ERROR, reason));
                    }
                    break;
                }
            }
        }
        let _ = inputs.send(Input::Closed { conn });
    };

    // The reader ends when the peer goes (or breaks the protocol); the writer
    // when told to close or when the hub forgets the connection. Whichever
    // ends first, the other gets a moment to finish (deliver the close frame,
    // read the peer's answer to it) and no more.
    tokio::pin!(writer, reader);
    tokio::select! {
        () = &mut writer => {
            let _ = tokio::time::timeout(CLOSE_GRACE, reader).await;
        }
        () = &mut reader => {
            let _ = tokio::time::timeout(CLOSE_GRACE, writer).await;
        }
    }
    let _ = hub_inputs.send(Input::Closed { conn });
}

fn is_too_big(e: &axum::Error) -> bool {
    let text = e.to_string();
    text.contains("too long") || text.contains("too big") || text.contains("Space limit")
}

/// What the hub works with besides its mailbox.
struct HubState {
    writer: Arc<Writer>,
    accounts: Accounts,
    /// Connections one person may hold.
    per_user: usize,
}

/// The hub: the only owner of the relay.
async fn hub(
    mut relay: Relay,
    state: HubState,
    mut rx: mpsc::UnboundedReceiver<Input>,
    mut events: broadcast::Receiver<AccessEvent>,
    tx: mpsc::UnboundedSender<Input>,
) {
    let HubState { writer, accounts, per_user } = state;
    let cores = std::thread::available_parallelism().map_or(2, usize::from);
    let io = Io {
        writer: writer.clone(),
        accounts: accounts.clone(),
        jobs: Arc::new(Semaphore::new((cores - 1).max(1))),
    };
    let started = Instant::now();
    let mut conns: std::collections::HashMap<ConnId, Outbox> = std::collections::HashMap::new();
    let mut tick = tokio::time::interval(TICK_EVERY);
    let mut shutting_down: Option<oneshot::Sender<()>> = None;
    loop {
        let input = tokio::select! {
            input = rx.recv() => match input {
                Some(input) => input,
                None => return,
            },
            _ = tick.tick() => {
                relay.tick(started.elapsed().as_millis() as u64);
                run_effects(&mut relay, &mut conns, &io, &tx, &mut shutting_down);
                continue;
            }
            event = events.recv() => {
                relay.advance(started.elapsed().as_millis() as u64);
                // Whatever changed (or if events were missed), check again:
                // sessions still live, rights on every open document.
                match event {
                    Err(broadcast::error::RecvError::Closed) => continue,
                    Ok(AccessEvent::RoadmapDeleted(doc)) => {
                        relay.forget_document(doc);
                        // Queued after any write of it the relay asked for.
                        let deleting = writer.commit(vec![Write::Delete { doc }]);
                        tokio::spawn(async move {
                            if let Err(e) = deleting.await {
                                tracing::error!(%doc, "deleting a deleted roadmap's data failed: {e}");
                            }
                        });
                    }
                    _ => {}
                }
                conns.retain(|conn, out| {
                    let live = out.user == SERVER_USER || accounts.session_live(&out.session);
                    if !live {
                        let _ = out.tx.send(Outbound::Close(SESSION_ENDED, "the session ended; sign in again".into()));
                        relay.disconnect(*conn);
                    }
                    live
                });
                relay.access_changed();
                run_effects(&mut relay, &mut conns, &io, &tx, &mut shutting_down);
                continue;
            }
        };
        relay.advance(started.elapsed().as_millis() as u64);
        match input {
            Input::Open { conn, out, user } => {
                let theirs: Vec<ConnId> =
                    conns.iter().filter(|(_, o)| o.user == user).map(|(c, _)| *c).collect();
                if theirs.len() >= per_user
                    && let Some(oldest) = theirs.into_iter().min()
                    && let Some(old) = conns.remove(&oldest)
                {
                    let reason = format!("more than {per_user} connections of one person");
                    let _ = old.tx.send(Outbound::Close(close::LIMIT, reason));
                    relay.disconnect(oldest);
                }
                relay.connect(conn, user);
                conns.insert(conn, out);
            }
            Input::Frame { conn, bytes, _permit } => relay.receive(conn, &bytes),
            Input::Claimed { doc, result } => {
                if let Err(e) = &result {
                    tracing::info!(%doc, "a roadmap was not registered: {e}");
                }
                relay.claimed(doc, result.map_err(|e| claim_refusal(e, &doc.to_string())));
            }
            Input::Applied { doc, applied } => relay.applied(doc, applied),
            Input::Closed { conn } => {
                if conns.remove(&conn).is_some() {
                    relay.disconnect(conn);
                }
            }
            Input::Loaded { doc, read } => relay.loaded(doc, read),
            Input::SyncStateLoaded { doc, storage_id, state } => {
                relay.sync_state_loaded(doc, &storage_id, state)
            }
            Input::Written { doc, batch, result } => {
                if let Err(e) = &result {
                    tracing::error!(%doc, "storing a document failed, will retry: {e}");
                }
                relay.written(doc, batch, result);
            }
            Input::Shutdown { done } => {
                relay.save_sync_states();
                for (conn, out) in conns.drain() {
                    let _ = out.tx.send(Outbound::Close(1001, "the relay is restarting".into()));
                    relay.disconnect(conn);
                }
                shutting_down = Some(done);
                // Once the sync states are saved the writer's last handle
                // goes, and with it the database.
                return run_effects(&mut relay, &mut conns, &io, &tx, &mut shutting_down);
            }
        }
        run_effects(&mut relay, &mut conns, &io, &tx, &mut shutting_down);
    }
}

/// What the hub's effects run on.
struct Io {
    writer: Arc<Writer>,
    accounts: Accounts,
    /// Jobs ([`Effect::Apply`]) running at once: one core fewer than the
    /// machine has (at least one), so the hub always has one.
    jobs: Arc<Semaphore>,
}

/// Carries out what the relay asked for.
fn run_effects(
    relay: &mut Relay,
    conns: &mut std::collections::HashMap<ConnId, Outbox>,
    io: &Io,
    tx: &mpsc::UnboundedSender<Input>,
    shutting_down: &mut Option<oneshot::Sender<()>>,
) {
    let Io { writer, accounts, jobs } = io;
    let mut sync_states = Vec::new();
    while let Some(effect) = relay.poll() {
        match effect {
            Effect::Send { conn, frame } => {
                let Some(out) = conns.get(&conn) else { continue };
                let queued = out.queued.fetch_add(frame.len(), Ordering::Relaxed) + frame.len();
                if queued > MAX_QUEUED_BYTES {
                    let _ = out.tx.send(Outbound::Close(close::LIMIT, "too far behind; reconnect".into()));
                    conns.remove(&conn);
                    relay.disconnect(conn);
                } else {
                    let _ = out.tx.send(Outbound::Frame(frame));
                }
            }
            Effect::Close { conn, code, reason } => {
                tracing::info!(conn, code, "closing a sync connection: {reason}");
                if let Some(out) = conns.remove(&conn) {
                    let _ = out.tx.send(Outbound::Close(code, reason));
                }
            }
            Effect::Load { doc } => {
                let (writer, tx) = (writer.clone(), tx.clone());
                tokio::spawn(async move {
                    let stored = writer.load_with_shares(&doc).await.map_err(|e| {
                        tracing::error!(%doc, "reading a document failed: {e}");
                        e.to_string()
                    });
                    // Parsing the biggest document takes seconds: off the hub.
                    let read = match stored {
                        Ok((chunks, shares)) => {
                            tokio::task::spawn_blocking(move || Loaded::parse(chunks).with_shares(shares))
                                .await
                                .map_err(|e| e.to_string())
                        }
                        Err(e) => Err(e),
                    };
                    let _ = tx.send(Input::Loaded { doc, read });
                });
            }
            Effect::LoadSyncState { doc, storage_id } => {
                let (writer, tx) = (writer.clone(), tx.clone());
                tokio::spawn(async move {
                    let state = writer.load_sync_state(&doc, &storage_id).await.unwrap_or_else(|e| {
                        tracing::warn!(%doc, "reading a sync state failed (a full sync follows): {e}");
                        None
                    });
                    let _ = tx.send(Input::SyncStateLoaded { doc, storage_id, state });
                });
            }
            Effect::Write { doc, batch, writes } => {
                let writes = writes
                    .into_iter()
                    .map(|w| match w {
                        StorageWrite::Append(bytes) => Write::Append { doc, bytes },
                        StorageWrite::Replace(snapshot) => Write::Replace { doc, snapshot },
                        StorageWrite::Share { person, ops } => Write::Share { doc, person, ops },
                    })
                    .collect();
                let committing = writer.commit(writes);
                let tx = tx.clone();
                tokio::spawn(async move {
                    let result = committing.await.map_err(|e| e.to_string());
                    let _ = tx.send(Input::Written { doc, batch, result });
                });
            }
            Effect::Claim { doc, user } => {
                // A durable write to the accounts: off the hub.
                let (accounts, tx) = (accounts.clone(), tx.clone());
                tokio::task::spawn_blocking(move || {
                    let result = accounts.claim(&user, &doc);
                    if result.is_ok() {
                        tracing::info!(%doc, user, "registered a new roadmap");
                    }
                    let _ = tx.send(Input::Claimed { doc, result });
                });
            }
            Effect::Apply { doc, job } => {
                // Seconds of CPU for the biggest messages: off the hub, so
                // that everyone else's messages go on meanwhile.
                let (tx, jobs) = (tx.clone(), jobs.clone());
                tokio::spawn(async move {
                    let Ok(_permit) = jobs.acquire_owned().await else { return };
                    let applied = tokio::task::spawn_blocking(move || {
                        let (cost, started) = (job.cost(), Instant::now());
                        let applied = job.run();
                        tracing::debug!(%doc, cost, "applied a big message in {:?}", started.elapsed());
                        applied
                    })
                    .await;
                    if let Ok(applied) = applied {
                        let _ = tx.send(Input::Applied { doc, applied });
                    }
                });
            }
            Effect::SaveSyncState { doc, storage_id, state } => {
                sync_states.push(Write::SyncState { doc, storage_id, bytes: state });
            }
        }
    }
    let shutting = shutting_down.take();
    if !sync_states.is_empty() || shutting.is_some() {
        let writer = writer.clone();
        tokio::spawn(async move {
            if !sync_states.is_empty()
                && let Err(e) = writer.commit(sync_states).await
            {
                tracing::warn!("saving sync states failed (next syncs are longer): {e}");
            }
            if let Some(done) = shutting {
                let _ = done.send(());
            }
        });
    }
}
