//! The relay's side of the protocol as a state machine: frames and storage
//! results in, [`Effect`]s out. `medk-server` wraps it with sockets and a
//! database; the simulation tests wrap it with a seeded fake network.
//!
//! Rules it keeps:
//! - One Automerge sync state per (document, connection). For peers with a
//!   storage id the state is loaded before their first message is handled and
//!   saved when they leave, so a device that reconnects does not redo a full
//!   sync.
//! - Nothing is acknowledged before it is durable: after applying incoming
//!   changes the document writes them ([`Effect::Write`]) and sends nothing
//!   until [`Relay::written`] confirms. Messages arriving meanwhile wait and
//!   are applied together afterwards, so a busy document gets one write per
//!   round rather than one per change (group commit per document).
//! - A document nobody has open and nothing pending for is dropped from
//!   memory after [`EVICT_AFTER_MS`].
//! - What a writer sends may be vetted ([`Access::vetter`]; the server checks
//!   roadmaps and school files): the changes are applied to a copy first,
//!   and a peer whose changes fail is treated as a reader of that document
//!   for the rest of its session, so nothing of it is stored or passed on;
//!   it is told why (`doc-refused`).
//! - Before anything is applied, its size is known ([`super::chunks`]): a
//!   message over [`MAX_OPS_PER_MESSAGE`] (operations and changes), or one
//!   that would take a document past [`MAX_DOC_OPS`], is refused the same
//!   way without being applied; so is one that would take its sender's
//!   share of the document past [`MAX_PERSON_DOC_OPS`] (what each person has
//!   added is stored with the document, [`StorageWrite::Share`], so the
//!   share outlives eviction and restarts: one member cannot fill a
//!   document and lock the others out). Each person's changes are applied at
//!   most at [`OPS_PER_SECOND`] after a burst of one big message (what is
//!   over waits; other people's messages do not). Messages waiting per
//!   connection are capped at [`MAX_PENDING_BYTES`], presence at
//!   [`MAX_EPHEMERAL_BYTES`] ([`MAX_READER_EPHEMERAL_BYTES`] from a reader)
//!   and [`EPHEMERAL_PER_SECOND`] per connection.
//! - Applying a message is the relay's heaviest work (seconds for the
//!   biggest it takes): only small ones (up to [`INLINE_OPS`]) are applied
//!   on the caller's task; a bigger one is handed out as a [`Job`]
//!   ([`Effect::Apply`]), its document waits for [`Relay::applied`], and
//!   every other document and person goes on meanwhile.
//! - A document nobody has registered is registered to the first person
//!   whose changes create it and pass their vetting as a claim; the
//!   registration is an effect ([`Effect::Claim`]), done off the relay's
//!   task, and the document waits for its answer ([`Relay::claimed`]). A new
//!   document too big for one message comes in pieces: they are gathered in
//!   a copy of the claimant's own (stored nowhere, shown to nobody; a
//!   person's copies together at most [`MAX_DOC_OPS`]), and the claim is
//!   vetted once the copy holds every head the claimant announced.
//! - `doc-unavailable` means the relay has nothing and neither has the peer:
//!   a failed read is retried (peers wait), and a `request` is refused only
//!   after the whole batch it came with is applied.

use std::collections::{HashMap, HashSet, VecDeque};

use automerge::sync::{self, SyncDoc as _};
use automerge::{Automerge, ChangeHash, ReadDoc as _};

use super::chunks;
use super::message::{MAX_MESSAGE_BYTES, Message, PROTOCOL_VERSION, PeerId, PeerMetadata};
use crate::access::Right;
use crate::ids::DocumentId;

/// The I/O layer's name for one connection.
pub type ConnId = u64;

/// A document with no connected peer stays in memory this long.
pub const EVICT_AFTER_MS: u64 = 60_000;

/// After a failed write, wait this long before trying again.
const WRITE_RETRY_MS: u64 = 1_000;

/// After a failed read, wait this long before trying again. A read error is
/// not "the document does not exist": peers wait (their messages stay in the
/// inbox) rather than being told `doc-unavailable`.
const LOAD_RETRY_MS: u64 = 1_000;

/// A claimant's piece held back because its person gathers too much at once
/// is looked at again after this long.
const GATHER_RETRY_MS: u64 = 1_000;

/// Incremental chunks are compacted into a snapshot once they add up to more
/// than the snapshot (and at least this much), as automerge-repo does.
const COMPACT_MIN_BYTES: usize = 64 * 1024;

/// A peer may have at most this many documents open on one connection.
pub const MAX_DOCS_PER_CONNECTION: usize = 10_000;

/// Most one sync message may add, in operations plus changes
/// ([`chunks::Size::cost`]). The biggest change the app makes is one
/// activity with every field full (9 × 20,000 characters, only an import
/// makes it); a device sends a bigger backlog in pieces
/// ([`super::client::Client::outgoing`]). Applying this many takes a
/// second or more, off the relay's task ([`Job`]): `cargo xtask bench relay`
/// prints the figures.
pub const MAX_OPS_PER_MESSAGE: u64 = 200_000;

/// Messages that add up to this much ([`chunks::Size::cost`]) are applied
/// on the relay's own task; bigger ones are handed out as a [`Job`]. Typing
/// sends a few operations a message; the worst message of this size
/// (deletions spread over many texts, or one-character changes) takes the
/// relay's task a few milliseconds (`cargo xtask bench relay`).
pub const INLINE_OPS: u64 = 500;

/// Most operations a document may hold, history included: about ten times
/// the 1,000-activity roadmap, some hundred megabytes in the relay's memory.
pub const MAX_DOC_OPS: u64 = 2_000_000;

/// Most operations one person may add to one document, history included:
/// half of [`MAX_DOC_OPS`], so that one member filling a document with
/// legal changes still leaves the others room to work (a 1,100-activity
/// roadmap typed or imported by one person is some 600,000).
pub const MAX_PERSON_DOC_OPS: u64 = MAX_DOC_OPS / 2;

/// The operations of one person's changes applied per second, after a
/// burst of [`MAX_OPS_PER_MESSAGE`] (so one message of any allowed size
/// goes through at once). Typing is a few a second; what is over waits.
pub const OPS_PER_SECOND: u64 = 20_000;

/// Bytes of messages one connection may have waiting (for a document to
/// load or be written, or for its person's rate) before it is closed.
pub const MAX_PENDING_BYTES: usize = 4 * MAX_MESSAGE_BYTES;

/// Largest ephemeral (presence) message relayed from a writer; larger ones
/// are dropped.
pub const MAX_EPHEMERAL_BYTES: usize = 16 * 1024;

/// Largest ephemeral message relayed from a reader: their own presence (a
/// name), nothing more.
pub const MAX_READER_EPHEMERAL_BYTES: usize = 1024;

/// Ephemeral messages relayed per connection and second, after a burst of
/// twice as many; the rest are dropped. Presence is one per document every
/// ten seconds.
pub const EPHEMERAL_PER_SECOND: u64 = 10;

/// Deflated data in one message is inflated only this far to count it.
const MAX_INFLATED_BYTES: usize = 4 * MAX_MESSAGE_BYTES;

/// What one peer may cost the relay; [`Limits::default`] holds the
/// constants above (tests make them small).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// In operations plus changes, like `inline_ops`.
    pub ops_per_message: u64,
    pub inline_ops: u64,
    pub doc_ops: u64,
    /// What one person may add to one document.
    pub person_doc_ops: u64,
    /// Per person; the burst is `ops_per_message`.
    pub ops_per_second: u64,
    pub pending_bytes: usize,
    pub ephemeral_bytes: usize,
    pub reader_ephemeral_bytes: usize,
    /// Per connection; the burst is twice as many.
    pub ephemeral_per_second: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            ops_per_message: MAX_OPS_PER_MESSAGE,
            inline_ops: INLINE_OPS,
            doc_ops: MAX_DOC_OPS,
            person_doc_ops: MAX_PERSON_DOC_OPS,
            ops_per_second: OPS_PER_SECOND,
            pending_bytes: MAX_PENDING_BYTES,
            ephemeral_bytes: MAX_EPHEMERAL_BYTES,
            reader_ephemeral_bytes: MAX_READER_EPHEMERAL_BYTES,
            ephemeral_per_second: EPHEMERAL_PER_SECOND,
        }
    }
}

/// WebSocket close codes the relay uses.
pub mod close {
    /// The peer broke the protocol (message before `join`, bad frame).
    pub const PROTOCOL_ERROR: u16 = 1002;
    /// A frame or Automerge data that does not parse.
    pub const INVALID_DATA: u16 = 1007;
    /// A frame over the size limit.
    pub const TOO_BIG: u16 = 1009;
    /// The same peer id joined on another connection.
    pub const REPLACED: u16 = 4000;
    /// The peer went past a limit (documents per connection).
    pub const LIMIT: u16 = 4008;
}

/// Who may do what, asked on every message. `user` is what the I/O layer
/// passed to [`Relay::connect`] (the signed-in account), never the peer id a
/// client picks for itself.
pub trait Access {
    /// What `user` may do with `doc`.
    fn right(&mut self, user: &str, doc: &DocumentId) -> Right;

    /// Whether `user`, who holds `doc` (they sent `sync`, not `request`)
    /// and may not read it, may register it: nobody has, it is no
    /// well-known or deleted document, they are within their limit. The
    /// relay then takes their changes as a claim: they must create the
    /// document and pass the [`Access::vetter`] for a claim, and the
    /// registration itself is an [`Effect::Claim`]. This is how a roadmap
    /// made offline reaches the relay. `Err(Some(why))` when they would
    /// but are past a limit: they are told why (`doc-refused`) as well as
    /// that the relay has nothing for them. By default nothing is claimed.
    fn may_claim(&mut self, _user: &str, _doc: &DocumentId) -> Result<(), Option<Refusal>> {
        Err(None)
    }

    /// How what `user` writes into `doc` is checked before the relay takes
    /// it, if it is; `claim` when the changes would register the document
    /// to `user`. Asked for every sync message that carries changes, so it
    /// should only pick the rules; the check itself runs wherever the
    /// message is applied (maybe another thread, see [`Job`]). By default
    /// nothing is vetted (claims are, by a check that takes anything).
    fn vetter(&mut self, _user: &str, _doc: &DocumentId, _claim: bool) -> Option<Vetter> {
        None
    }
}

/// Checks changes a peer sent: `before` is the relay's document (empty for
/// a claim: a new document is checked whole), `after` a copy of it with
/// them applied, `changes` what they added. On `Err` the relay takes
/// nothing from that peer for the document any more in this session and
/// tells it why (`doc-refused`), and that the relay is read-only for it.
/// Whatever taking the changes implies beyond the document (a roadmap's
/// title in the registry, a curator's rights) the vetter starts itself,
/// without waiting for it: it may run on the relay's task.
pub type Vetter = Box<dyn FnOnce(&Automerge, &Automerge, &[automerge::Change]) -> Result<(), Refusal> + Send>;

/// Why the relay did not take a peer's changes (see [`Vetter`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// For the person, in Russian.
    pub message: String,
    /// What exactly, for logs and a details line.
    pub detail: String,
    /// The same changes would be refused on the next connection too (see
    /// [`Message::DocRefused`]): the app stops taking edits to the document.
    pub lasting: bool,
}

impl From<crate::layout::Breach> for Refusal {
    fn from(breach: crate::layout::Breach) -> Self {
        Refusal { message: breach.kind.message_ru(), detail: breach.detail, lasting: true }
    }
}

/// Everyone may read and write (tests and the simulation).
pub struct OpenAccess;

impl Access for OpenAccess {
    fn right(&mut self, _: &str, _: &DocumentId) -> Right {
        Right::Write
    }
}

/// What the relay wants stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StorageWrite {
    /// Changes since the last write.
    Append(Vec<u8>),
    /// The whole document, replacing every chunk stored before.
    Replace(Vec<u8>),
    /// `person` added `ops` more operations to the document (their share,
    /// [`Limits::person_doc_ops`]): added to what is stored for them, in
    /// the same commit as the chunk that holds them.
    Share { person: String, ops: u64 },
}

/// Something the I/O layer must do.
#[derive(Debug)]
pub enum Effect {
    Send {
        conn: ConnId,
        frame: Vec<u8>,
    },
    /// Close the connection; the relay has already forgotten it.
    Close {
        conn: ConnId,
        code: u16,
        reason: String,
    },
    /// Read every chunk of the document, parse them ([`Loaded::parse`],
    /// off the relay's task), then call [`Relay::loaded`].
    Load {
        doc: DocumentId,
    },
    /// Read a peer's saved sync state, then call [`Relay::sync_state_loaded`].
    LoadSyncState {
        doc: DocumentId,
        storage_id: String,
    },
    /// Make these writes durable (in order), then call [`Relay::written`].
    Write {
        doc: DocumentId,
        batch: u64,
        writes: Vec<StorageWrite>,
    },
    /// Save a peer's sync state; losing it only costs a longer next sync.
    SaveSyncState {
        doc: DocumentId,
        storage_id: String,
        state: Vec<u8>,
    },
    /// Register `doc` to `user` (durably), then call [`Relay::claimed`].
    /// The document waits meanwhile.
    Claim {
        doc: DocumentId,
        user: String,
    },
    /// Run the job (on another thread: it may take seconds), then give its
    /// result to [`Relay::applied`]. The document waits meanwhile.
    Apply {
        doc: DocumentId,
        job: Job,
    },
}

/// The relay protocol machine.
pub struct Relay {
    peer_id: PeerId,
    /// Announced in the `peer` answer, so automerge-repo clients can ask
    /// what the relay has stored (`handle.getSyncInfo(storageId)`).
    storage_id: Option<String>,
    access: Box<dyn Access + Send>,
    conns: HashMap<ConnId, Conn>,
    docs: HashMap<DocumentId, Doc>,
    effects: VecDeque<Effect>,
    next_batch: u64,
    now: u64,
    /// Each person's rate of operations applied ([`OPS_PER_SECOND`]).
    budgets: HashMap<String, Bucket>,
    limits: Limits,
}

/// A connection, before and after its `join`.
struct Conn {
    /// Who is signed in on it (see [`Access`]).
    user: String,
    peer: Option<(PeerId, PeerMetadata)>,
    docs: HashSet<DocumentId>,
    /// Bytes of its messages waiting in documents' inboxes.
    pending: usize,
    /// Its rate of ephemeral messages ([`EPHEMERAL_PER_SECOND`]).
    ephemeral: Bucket,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    Loading,
    Ready,
    /// The stored bytes do not load; they are left untouched and the document
    /// is unavailable until someone looks at it.
    Broken,
}

struct Doc {
    phase: Phase,
    am: Automerge,
    peers: HashMap<ConnId, DocPeer>,
    /// Sync messages waiting for the document to load or a write to finish.
    inbox: VecDeque<Inbound>,
    /// The batch being written and the heads it makes durable.
    writing: Option<(u64, Vec<ChangeHash>)>,
    /// Heads known to be durable.
    saved_heads: Vec<ChangeHash>,
    snapshot_bytes: usize,
    incremental_bytes: usize,
    retry_write_at: Option<u64>,
    /// Reading the document failed; read it again at this time.
    retry_load_at: Option<u64>,
    /// Messages were applied whose answers wait for a write to finish.
    owes_answers: bool,
    /// A claim is being registered ([`Effect::Claim`]).
    claiming: Option<Claiming>,
    /// What each person has added to the document.
    shares: Shares,
    /// A sender's rate held messages back: look again at this time.
    retry_pump_at: Option<u64>,
    /// A message is being applied off the relay's task ([`Effect::Apply`]);
    /// unless it is a claimant's, the document itself is in the job, and
    /// `am` is empty meanwhile.
    applying: Option<Applying>,
    /// What to store for what a job applied, encoded by the job (for a big
    /// message, seconds on the relay's task otherwise): the next write.
    prepared: Option<Prepared>,
    last_active: u64,
    /// Highest ephemeral count seen per (sender, session): duplicates and
    /// stale repeats are not relayed again.
    ephemeral_seen: HashMap<(PeerId, String), u64>,
}

struct DocPeer {
    peer_id: PeerId,
    storage_id: Option<String>,
    sync: sync::State,
    /// False while its saved sync state is being loaded.
    ready: bool,
    read_only: bool,
    /// It sent changes [`Access::vet`] refused: read-only for the rest of
    /// the session, whatever its right.
    refused: bool,
    /// It may not read the document, but may register it
    /// ([`Access::may_claim`]): its changes are taken as a claim.
    claimant: bool,
    /// The heads the relay last told it it holds (durably). Automerge stops
    /// answering a peer that already sent the same heads, but the relay
    /// answers only after its write, so a peer can send its heads before the
    /// relay has said it stored them; it is told anyway (its «всё
    /// сохранено» depends on it).
    announced: Vec<ChangeHash>,
    /// A claimant's new document so far, while it comes in pieces; its sync
    /// state is about this copy, so it is answered nothing meanwhile.
    gathered: Option<Gathered>,
}

/// What is stored of a document: the write that follows is an increment
/// or, once increments outweigh the snapshot, a new snapshot.
#[derive(Clone)]
struct Stored {
    heads: Vec<ChangeHash>,
    snapshot_bytes: usize,
    incremental_bytes: usize,
}

impl Stored {
    fn empty() -> Stored {
        Stored { heads: Vec::new(), snapshot_bytes: 0, incremental_bytes: 0 }
    }

    /// The write that stores `doc` after this, and what is stored then.
    fn next_write(&self, doc: &Automerge) -> (StorageWrite, Stored) {
        let increment = doc.save_after(&self.heads);
        let heads = doc.get_heads();
        if self.incremental_bytes + increment.len() > self.snapshot_bytes.max(COMPACT_MIN_BYTES) {
            let snapshot = doc.save();
            let stored = Stored { heads, snapshot_bytes: snapshot.len(), incremental_bytes: 0 };
            (StorageWrite::Replace(snapshot), stored)
        } else {
            let stored = Stored {
                heads,
                snapshot_bytes: self.snapshot_bytes,
                incremental_bytes: self.incremental_bytes + increment.len(),
            };
            (StorageWrite::Append(increment), stored)
        }
    }
}

/// A registration under way ([`Effect::Claim`]).
struct Claiming {
    /// The connection that made it.
    conn: ConnId,
    /// The document as it was before the claimant's changes.
    before: Automerge,
    /// Who claims it, and how many operations the changes add.
    user: String,
    ops: u64,
}

/// The operations each person has added to a document, history included
/// ([`Limits::person_doc_ops`]): as stored, and applied since.
#[derive(Default)]
struct Shares {
    /// Durable: read with the document, or written since.
    stored: HashMap<String, u64>,
    /// Applied, not written yet.
    unsaved: HashMap<String, u64>,
    /// In the write under way.
    writing: HashMap<String, u64>,
}

impl Shares {
    fn of(&self, person: &str) -> u64 {
        [&self.stored, &self.unsaved, &self.writing]
            .iter()
            .map(|m| m.get(person).copied().unwrap_or(0))
            .fold(0u64, u64::saturating_add)
    }

    fn add(&mut self, person: &str, ops: u64) {
        if ops > 0 {
            let share = self.unsaved.entry(person.to_owned()).or_default();
            *share = share.saturating_add(ops);
        }
    }

    /// What the next write stores of them (moved to `writing`).
    fn to_write(&mut self) -> Vec<StorageWrite> {
        let unsaved = std::mem::take(&mut self.unsaved);
        let mut shares: Vec<(&String, &u64)> = unsaved.iter().collect();
        shares.sort();
        let writes = shares
            .into_iter()
            .map(|(person, ops)| StorageWrite::Share { person: person.clone(), ops: *ops })
            .collect();
        merge(&mut self.writing, unsaved);
        writes
    }

    /// The write under way landed, or failed (then it goes with the next).
    fn written(&mut self, ok: bool) {
        let writing = std::mem::take(&mut self.writing);
        merge(if ok { &mut self.stored } else { &mut self.unsaved }, writing);
    }
}

fn merge(into: &mut HashMap<String, u64>, from: HashMap<String, u64>) {
    for (person, ops) in from {
        let share = into.entry(person).or_default();
        *share = share.saturating_add(ops);
    }
}

/// A write a [`Job`] encoded, and what is stored after it.
struct Prepared {
    write: StorageWrite,
    stored: Stored,
}

/// What a claimant sent of a new document that is not complete yet.
struct Gathered {
    doc: Automerge,
    ops: u64,
}

/// The message a [`Job`] is applying, and what its round still owes.
struct Applying {
    conn: ConnId,
    request: bool,
    claim: bool,
    user: String,
    /// What the message adds ([`chunks::Size::ops`]).
    ops: u64,
    answers: Answers,
}

/// What applying a document's inbox leaves to be done.
#[derive(Default)]
struct Round {
    answers: Answers,
    /// Connections whose data did not parse, and why: closed at the end.
    bad: Vec<(ConnId, String)>,
    /// Connections whose changes were refused, why, and whether they were
    /// claiming the document.
    refusals: Vec<(ConnId, Refusal, bool)>,
}

impl Round {
    /// Takes a message that brings no changes to apply (heads, needs, what
    /// the peer has), against the peer's own copy if it is claiming the
    /// document, else the document `am`.
    fn take_without_changes(
        &mut self,
        peer: &mut DocPeer,
        am: &mut Automerge,
        message: sync::Message,
        conn: ConnId,
        request: bool,
    ) {
        let target = match &mut peer.gathered {
            Some(copy) => &mut copy.doc,
            None => am,
        };
        match target.receive_sync_message(&mut peer.sync, message) {
            Ok(()) => self.answers.spoke(conn, request),
            Err(e) => self.bad.push((conn, format!("invalid Automerge data: {e}"))),
        }
    }
}

/// Who may need an answer after a round.
#[derive(Default)]
struct Answers {
    /// Those who spoke.
    senders: Vec<ConnId>,
    /// Those who asked with `request`.
    requested: Vec<ConnId>,
}

impl Answers {
    fn spoke(&mut self, conn: ConnId, request: bool) {
        if request && !self.requested.contains(&conn) {
            self.requested.push(conn);
        }
        if !self.senders.contains(&conn) {
            self.senders.push(conn);
        }
    }
}

struct Inbound {
    conn: ConnId,
    data: Vec<u8>,
    request: bool,
}

/// A token bucket: `rate` a second, up to `burst`, in whole units.
#[derive(Clone, Copy)]
struct Bucket {
    tokens: u64,
    at_ms: u64,
}

impl Bucket {
    fn full(burst: u64, now: u64) -> Bucket {
        Bucket { tokens: burst, at_ms: now }
    }

    fn refill(&mut self, rate: u64, burst: u64, now: u64) {
        let elapsed = now.saturating_sub(self.at_ms);
        let gained = elapsed.saturating_mul(rate) / 1000;
        if gained > 0 {
            self.tokens = self.tokens.saturating_add(gained).min(burst);
            // Keep the remainder of a partial token.
            self.at_ms += gained.saturating_mul(1000) / rate.max(1);
        }
        if self.tokens == burst {
            self.at_ms = now;
        }
    }

    /// Takes `n` if there are that many.
    fn take(&mut self, n: u64, rate: u64, burst: u64, now: u64) -> bool {
        self.refill(rate, burst, now);
        if self.tokens >= n {
            self.tokens -= n;
            true
        } else {
            false
        }
    }

    /// When `n` will be there.
    fn ready_at(&self, n: u64, rate: u64) -> u64 {
        let missing = n.saturating_sub(self.tokens);
        self.at_ms + missing.saturating_mul(1000).div_ceil(rate.max(1))
    }
}

impl Relay {
    /// `storage_id` names the relay's storage for peers (stable across
    /// restarts), if it has one.
    pub fn new(peer_id: PeerId, storage_id: Option<String>, access: Box<dyn Access + Send>) -> Self {
        Relay {
            peer_id,
            storage_id,
            access,
            conns: HashMap::new(),
            docs: HashMap::new(),
            effects: VecDeque::new(),
            next_batch: 1,
            now: 0,
            budgets: HashMap::new(),
            limits: Limits::default(),
        }
    }

    /// The same relay with other limits than [`Limits::default`].
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    pub fn peer_id(&self) -> &str {
        &self.peer_id
    }

    /// The next thing to do, if any.
    pub fn poll(&mut self) -> Option<Effect> {
        self.effects.pop_front()
    }

    /// Number of documents in memory (for eviction tests and metrics).
    pub fn documents_in_memory(&self) -> usize {
        self.docs.len()
    }

    pub fn connections(&self) -> usize {
        self.conns.len()
    }

    /// The clock moved without anything else happening (the I/O layer says
    /// so before each input, cheaply): rates refill by it.
    pub fn advance(&mut self, now_ms: u64) {
        self.now = self.now.max(now_ms);
    }

    /// The clock moved: evict idle documents, retry failed writes, apply
    /// what a rate held back.
    pub fn tick(&mut self, now_ms: u64) {
        self.advance(now_ms);
        let now_ms = self.now;
        let ids: Vec<DocumentId> = self.docs.keys().copied().collect();
        for id in ids {
            let Some(doc) = self.docs.get_mut(&id) else { continue };
            if doc.retry_write_at.is_some_and(|at| at <= now_ms) {
                doc.retry_write_at = None;
                self.pump(id);
                continue;
            }
            if doc.retry_pump_at.is_some_and(|at| at <= now_ms) {
                doc.retry_pump_at = None;
                self.pump(id);
                continue;
            }
            if doc.retry_load_at.is_some_and(|at| at <= now_ms) {
                doc.retry_load_at = None;
                self.effects.push_back(Effect::Load { doc: id });
                continue;
            }
            let idle = doc.peers.is_empty()
                && doc.inbox.is_empty()
                && doc.writing.is_none()
                && doc.claiming.is_none()
                && doc.applying.is_none()
                && doc.phase != Phase::Loading
                && doc.am.get_heads() == doc.saved_heads
                && now_ms.saturating_sub(doc.last_active) >= EVICT_AFTER_MS;
            if idle {
                self.docs.remove(&id);
            }
        }
    }

    /// A connection opened for `user` (as authenticated by the I/O layer).
    pub fn connect(&mut self, conn: ConnId, user: impl Into<String>) {
        let ephemeral = Bucket::full(2 * self.limits.ephemeral_per_second, self.now);
        self.conns.insert(
            conn,
            Conn { user: user.into(), peer: None, docs: HashSet::new(), pending: 0, ephemeral },
        );
    }

    /// `doc` was deleted for everyone: every peer that has it open is told
    /// `doc-unavailable`, and the relay forgets it (a write under way ends
    /// unheard). The I/O layer deletes what is stored.
    pub fn forget_document(&mut self, id: DocumentId) {
        let Some(doc) = self.docs.remove(&id) else { return };
        for m in &doc.inbox {
            if let Some(c) = self.conns.get_mut(&m.conn) {
                c.pending = c.pending.saturating_sub(m.data.len());
            }
        }
        for (conn, peer) in doc.peers {
            let Some(c) = self.conns.get_mut(&conn) else { continue };
            c.docs.remove(&id);
            let m = Message::DocUnavailable {
                sender_id: self.peer_id.clone(),
                target_id: peer.peer_id,
                document_id: id,
            };
            self.effects.push_back(Effect::Send { conn, frame: m.encode() });
        }
    }

    /// Closes every connection of `user` (signed out, disabled).
    pub fn close_user(&mut self, user: &str, code: u16, reason: &str) {
        let theirs: Vec<ConnId> =
            self.conns.iter().filter(|(_, c)| c.user == user).map(|(conn, _)| *conn).collect();
        for conn in theirs {
            self.close(conn, code, reason.into());
        }
    }

    /// Rights changed somewhere: asks [`Access`] again for every open
    /// (connection, document). A peer that lost reading is told
    /// `doc-unavailable` and sent nothing more about the document; one whose
    /// writing was taken away or given back is switched over, and a peer
    /// allowed to write again gets a fresh exchange so it resends what the
    /// relay ignored.
    pub fn access_changed(&mut self) {
        let open: Vec<(ConnId, String, DocumentId)> = self
            .conns
            .iter()
            .flat_map(|(conn, c)| c.docs.iter().map(move |id| (*conn, c.user.clone(), *id)))
            .collect();
        let mut touched = HashSet::new();
        for (conn, user, id) in open {
            let right = self.access.right(&user, &id);
            let claimant = self.docs.get(&id).and_then(|d| d.peers.get(&conn)).is_some_and(|p| p.claimant);
            if right == Right::None && !(claimant && self.access.may_claim(&user, &id).is_ok()) {
                self.refuse(conn, id);
                continue;
            }
            let Some(doc) = self.docs.get_mut(&id) else { continue };
            let Some(peer) = doc.peers.get_mut(&conn) else { continue };
            if right > Right::None {
                peer.claimant = false;
                stop_gathering(peer);
            }
            let read_only = (right < Right::Write && !peer.claimant) || peer.refused;
            if peer.read_only != read_only {
                peer.read_only = read_only;
                peer.sync.set_read_only(read_only);
                touched.insert(id);
            }
        }
        for id in touched {
            // Only a document with nothing unsaved may answer now: heads that
            // are not durable yet must not be announced (after a failed write
            // the answers wait for the retry, through `owes_answers`).
            if let Some(doc) = self.docs.get_mut(&id)
                && doc.phase == Phase::Ready
                && !doc.busy()
                && doc.am.get_heads() == doc.saved_heads
            {
                answer(&self.peer_id, id, doc, None, &mut self.effects);
            }
        }
    }

    /// The socket closed (or is being closed): forget the peer, saving its
    /// sync states.
    pub fn disconnect(&mut self, conn: ConnId) {
        let Some(c) = self.conns.remove(&conn) else { return };
        for id in c.docs {
            let Some(doc) = self.docs.get_mut(&id) else { continue };
            doc.last_active = self.now;
            doc.inbox.retain(|m| m.conn != conn);
            // A claimant's state is about its gathered copy, which goes
            // with it: nothing worth keeping.
            if let Some(peer) = doc.peers.remove(&conn)
                && peer.ready
                && peer.gathered.is_none()
                && let Some(storage_id) = peer.storage_id
            {
                self.effects.push_back(Effect::SaveSyncState {
                    doc: id,
                    storage_id,
                    state: peer.sync.encode(),
                });
            }
        }
    }

    /// Saves every live sync state (before a graceful shutdown).
    pub fn save_sync_states(&mut self) {
        for (id, doc) in &self.docs {
            for peer in doc.peers.values() {
                if let (true, None, Some(storage_id)) = (peer.ready, &peer.gathered, &peer.storage_id) {
                    self.effects.push_back(Effect::SaveSyncState {
                        doc: *id,
                        storage_id: storage_id.clone(),
                        state: peer.sync.encode(),
                    });
                }
            }
        }
    }

    /// A frame from a connection. A frame that does not decode closes the
    /// connection; nothing it carried is kept.
    pub fn receive(&mut self, conn: ConnId, frame: &[u8]) {
        if !self.conns.contains_key(&conn) {
            return;
        }
        let message = match Message::decode(frame) {
            Ok(m) => m,
            Err(e) => return self.close(conn, close::INVALID_DATA, format!("malformed message: {e}")),
        };
        let Some(c) = self.conns.get(&conn) else { return };
        let user = c.user.clone();
        let Some((peer_id, metadata)) = c.peer.clone() else {
            return match message {
                Message::Join { sender_id, metadata, supported_protocol_versions } => {
                    self.join(conn, sender_id, metadata, supported_protocol_versions)
                }
                _ => self.close(conn, close::PROTOCOL_ERROR, "the first message must be `join`".into()),
            };
        };
        match message {
            Message::Request { document_id, data, .. } => {
                self.sync_in(conn, &user, &peer_id, &metadata, document_id, data, true)
            }
            Message::Sync { document_id, data, .. } => {
                self.sync_in(conn, &user, &peer_id, &metadata, document_id, data, false)
            }
            // A peer passing on someone else's ephemeral message (JS clients
            // echo what they receive) is not relayed again: the relay already
            // sent it to everyone.
            Message::Ephemeral { sender_id, .. } if sender_id != peer_id => {}
            Message::Ephemeral { document_id, session_id, count, data, .. } => {
                self.ephemeral_in(conn, &user, peer_id, document_id, session_id, count, data)
            }
            Message::Leave { .. } => self.close(conn, 1000, "bye".into()),
            Message::Join { .. } => self.close(conn, close::PROTOCOL_ERROR, "`join` twice".into()),
            // Errors from a peer, doc-unavailable (the relay never asks),
            // subscription and heads gossip: nothing to do.
            _ => {}
        }
    }

    /// The document as read from storage ([`Loaded::parse`], done off the
    /// relay's task: seconds for the biggest document), or why it could not
    /// be read (then the read is retried by [`Relay::tick`] after
    /// [`LOAD_RETRY_MS`]; waiting messages keep waiting). Chunks that do not
    /// load leave the document unavailable and untouched.
    pub fn loaded(&mut self, id: DocumentId, read: Result<Loaded, String>) {
        let Some(doc) = self.docs.get_mut(&id) else { return };
        if doc.phase != Phase::Loading {
            return;
        }
        let loaded = match read {
            Ok(loaded) => loaded,
            Err(_) => {
                // Storage could not be read (an I/O error, not bad bytes):
                // keep the document loading and try again.
                doc.retry_load_at = Some(self.now + LOAD_RETRY_MS);
                return;
            }
        };
        match loaded.doc {
            Some(am) => {
                // Changes that arrived while loading were applied to an empty
                // document; there are none, because messages wait in the inbox.
                doc.snapshot_bytes = loaded.snapshot_bytes;
                doc.incremental_bytes = loaded.incremental_bytes;
                doc.saved_heads = am.get_heads();
                doc.am = *am;
                doc.shares.stored = loaded.shares;
                doc.phase = Phase::Ready;
            }
            None => doc.phase = Phase::Broken,
        }
        self.pump(id);
    }

    /// A peer's saved sync state (None when there is none or it was unreadable).
    pub fn sync_state_loaded(&mut self, id: DocumentId, storage_id: &str, state: Option<Vec<u8>>) {
        let Some(doc) = self.docs.get_mut(&id) else { return };
        for peer in doc.peers.values_mut() {
            if !peer.ready && peer.storage_id.as_deref() == Some(storage_id) {
                if let Some(s) = state.as_deref().and_then(|b| sync::State::decode(b).ok()) {
                    peer.sync = s;
                    peer.sync.read_only = peer.read_only;
                }
                peer.ready = true;
            }
        }
        self.pump(id);
    }

    /// A write finished.
    pub fn written(&mut self, id: DocumentId, batch: u64, result: Result<(), String>) {
        let Some(doc) = self.docs.get_mut(&id) else { return };
        match doc.writing.take() {
            Some((b, heads)) if b == batch => {
                doc.shares.written(result.is_ok());
                match result {
                    Ok(()) => doc.saved_heads = heads,
                    Err(_) => doc.retry_write_at = Some(self.now + WRITE_RETRY_MS),
                }
            }
            other => doc.writing = other,
        }
        self.pump(id);
    }

    /// A registration ([`Effect::Claim`]) finished. On `Ok` the document is
    /// the claimant's and goes on; on `Err` (another claim came first, the
    /// registry could not be written, a limit) the claimant is told
    /// `doc-unavailable`, and why when there is something to tell
    /// (`doc-refused`), and its changes are dropped.
    pub fn claimed(&mut self, id: DocumentId, result: Result<(), Option<Refusal>>) {
        let Some(doc) = self.docs.get_mut(&id) else { return };
        let Some(Claiming { conn, before, user, ops }) = doc.claiming.take() else { return };
        match result {
            Ok(()) => {
                doc.shares.add(&user, ops);
                if let Some(peer) = doc.peers.get_mut(&conn) {
                    peer.claimant = false;
                    peer.gathered = None;
                }
                // The document now belongs to someone: every other peer's
                // right follows from that.
                let others: Vec<(ConnId, String)> = doc
                    .peers
                    .keys()
                    .filter(|c| **c != conn)
                    .filter_map(|c| Some((*c, self.conns.get(c)?.user.clone())))
                    .collect();
                for (other, user) in others {
                    let right = self.access.right(&user, &id);
                    if right == Right::None {
                        self.refuse(other, id);
                        continue;
                    }
                    let Some(peer) = self.docs.get_mut(&id).and_then(|d| d.peers.get_mut(&other)) else {
                        continue;
                    };
                    peer.claimant = false;
                    stop_gathering(peer);
                    let read_only = right < Right::Write || peer.refused;
                    peer.read_only = read_only;
                    peer.sync.set_read_only(read_only);
                }
            }
            Err(why) => {
                doc.am = before;
                doc.prepared = None;
                if let Some(why) = why {
                    self.tell_refused(conn, id, why);
                }
                self.refuse(conn, id);
            }
        }
        self.pump(id);
    }

    fn join(&mut self, conn: ConnId, peer_id: PeerId, metadata: PeerMetadata, versions: Vec<String>) {
        if !versions.iter().any(|v| v == PROTOCOL_VERSION) {
            let error = Message::Error {
                message: format!("unsupported protocol versions {versions:?}; this relay speaks 1"),
            };
            self.effects.push_back(Effect::Send { conn, frame: error.encode() });
            return self.close(conn, close::PROTOCOL_ERROR, "unsupported protocol version".into());
        }
        let replaced: Vec<ConnId> = self
            .conns
            .iter()
            .filter(|(c, s)| **c != conn && s.peer.as_ref().is_some_and(|(p, _)| *p == peer_id))
            .map(|(c, _)| *c)
            .collect();
        for old in replaced {
            self.close(old, close::REPLACED, "the same peer connected again".into());
        }
        let reply = Message::Peer {
            sender_id: self.peer_id.clone(),
            target_id: peer_id.clone(),
            metadata: PeerMetadata { storage_id: self.storage_id.clone(), is_ephemeral: false },
            selected_protocol_version: PROTOCOL_VERSION.into(),
        };
        self.effects.push_back(Effect::Send { conn, frame: reply.encode() });
        if let Some(c) = self.conns.get_mut(&conn) {
            c.peer = Some((peer_id, metadata));
        }
    }

    fn close(&mut self, conn: ConnId, code: u16, reason: String) {
        self.disconnect(conn);
        self.effects.push_back(Effect::Close { conn, code, reason });
    }

    #[allow(clippy::too_many_arguments)]
    fn sync_in(
        &mut self,
        conn: ConnId,
        user: &str,
        peer_id: &PeerId,
        metadata: &PeerMetadata,
        id: DocumentId,
        data: Vec<u8>,
        request: bool,
    ) {
        let right = self.access.right(user, &id);
        let claim =
            if right == Right::None && !request { self.access.may_claim(user, &id) } else { Err(None) };
        let claimant = claim.is_ok();
        if right == Right::None && !claimant {
            if let Err(Some(why)) = claim {
                self.tell_refused(conn, id, why);
            }
            // Rights may also have gone since the document was opened here.
            return self.refuse(conn, id);
        }
        let Some(c) = self.conns.get_mut(&conn) else { return };
        if !c.docs.contains(&id) {
            if c.docs.len() >= MAX_DOCS_PER_CONNECTION {
                return self.close(conn, close::LIMIT, "too many documents on one connection".into());
            }
            c.docs.insert(id);
        }
        c.pending += data.len();
        if c.pending > self.limits.pending_bytes {
            return self.close(conn, close::LIMIT, "too much waiting to be applied".into());
        }
        let now = self.now;
        let doc = self.docs.entry(id).or_insert_with(|| {
            self.effects.push_back(Effect::Load { doc: id });
            Doc::loading(now)
        });
        doc.last_active = now;
        if let std::collections::hash_map::Entry::Vacant(slot) = doc.peers.entry(conn) {
            let read_only = right < Right::Write && !claimant;
            let storage_id = metadata.storage_id.clone().filter(|_| !metadata.is_ephemeral);
            let mut state = sync::State::new();
            state.read_only = read_only;
            if let Some(storage_id) = &storage_id {
                self.effects.push_back(Effect::LoadSyncState { doc: id, storage_id: storage_id.clone() });
            }
            slot.insert(DocPeer {
                peer_id: peer_id.clone(),
                ready: storage_id.is_none(),
                storage_id,
                sync: state,
                read_only,
                refused: false,
                claimant,
                announced: Vec::new(),
                gathered: None,
            });
        } else if let Some(peer) = doc.peers.get_mut(&conn).filter(|p| request && p.refused) {
            // A peer that asks afresh holds nothing of the document any more
            // (it dropped its copy for the server's after a refusal): what
            // was refused went with that copy, so its changes are vetted
            // again from here rather than ignored until it reconnects.
            peer.refused = false;
            peer.read_only = right < Right::Write && !peer.claimant;
            peer.sync.set_read_only(peer.read_only);
        }
        doc.inbox.push_back(Inbound { conn, data, request });
        self.pump(id);
    }

    /// Tells `conn` why the relay does not take its changes to `id`.
    fn tell_refused(&mut self, conn: ConnId, id: DocumentId, why: Refusal) {
        let Some((peer_id, _)) = self.conns.get(&conn).and_then(|c| c.peer.clone()) else { return };
        let m = Message::DocRefused {
            sender_id: self.peer_id.clone(),
            target_id: peer_id,
            document_id: id,
            message: why.message,
            detail: why.detail,
            lasting: why.lasting,
        };
        self.effects.push_back(Effect::Send { conn, frame: m.encode() });
    }

    /// `conn` may not read `id` (any more): forgets its sync state and
    /// waiting messages for it and tells it `doc-unavailable`, as if the
    /// relay had no such document.
    fn refuse(&mut self, conn: ConnId, id: DocumentId) {
        let mut released = 0;
        if let Some(doc) = self.docs.get_mut(&id) {
            doc.peers.remove(&conn);
            doc.inbox.retain(|m| {
                let keep = m.conn != conn;
                if !keep {
                    released += m.data.len();
                }
                keep
            });
        }
        let Some(c) = self.conns.get_mut(&conn) else { return };
        c.pending = c.pending.saturating_sub(released);
        c.docs.remove(&id);
        if let Some((peer_id, _)) = c.peer.clone() {
            let m = Message::DocUnavailable {
                sender_id: self.peer_id.clone(),
                target_id: peer_id,
                document_id: id,
            };
            self.effects.push_back(Effect::Send { conn, frame: m.encode() });
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn ephemeral_in(
        &mut self,
        conn: ConnId,
        user: &str,
        sender: PeerId,
        id: DocumentId,
        session_id: String,
        count: u64,
        data: Vec<u8>,
    ) {
        let right = self.access.right(user, &id);
        let limits = self.limits;
        let largest =
            if right < Right::Write { limits.reader_ephemeral_bytes } else { limits.ephemeral_bytes };
        if right == Right::None || data.len() > largest {
            return;
        }
        let now = self.now;
        let Some(c) = self.conns.get_mut(&conn) else { return };
        if !c.ephemeral.take(1, limits.ephemeral_per_second, 2 * limits.ephemeral_per_second, now) {
            return;
        }
        let Some(doc) = self.docs.get_mut(&id) else { return };
        let seen = doc.ephemeral_seen.entry((sender.clone(), session_id.clone())).or_insert(0);
        if count != 0 && count <= *seen {
            return;
        }
        *seen = count;
        for (other, peer) in &doc.peers {
            if *other == conn {
                continue;
            }
            let m = Message::Ephemeral {
                sender_id: sender.clone(),
                target_id: peer.peer_id.clone(),
                document_id: id,
                session_id: session_id.clone(),
                count,
                data: data.clone(),
            };
            self.effects.push_back(Effect::Send { conn: *other, frame: m.encode() });
        }
    }

    /// Moves a document forward as far as it can: apply waiting messages,
    /// write what they changed, and once durable, answer every peer.
    fn pump(&mut self, id: DocumentId) {
        self.pump_round(id, Round::default());
    }

    fn pump_round(&mut self, id: DocumentId, mut round: Round) {
        // Out of the map while its inbox is applied, so that the sender's
        // other documents can be looked at (what they gather).
        let Some(mut doc) = self.docs.remove(&id) else { return };
        self.apply_inbox(id, &mut doc, &mut round);
        self.docs.insert(id, doc);
        self.finish_round(id, round);
    }

    /// Applies what waits in the inbox, in order per peer (peers whose sync
    /// state is still loading, or whose person's rate is spent, keep their
    /// messages), until it is empty or a message is handed out as a job.
    fn apply_inbox(&mut self, id: DocumentId, doc: &mut Doc, round: &mut Round) {
        match doc.phase {
            Phase::Loading => return,
            Phase::Broken => {
                let waiting: Vec<Inbound> = doc.inbox.drain(..).collect();
                for m in waiting {
                    if let Some(peer) = doc.peers.remove(&m.conn) {
                        let reply = Message::DocUnavailable {
                            sender_id: self.peer_id.clone(),
                            target_id: peer.peer_id,
                            document_id: id,
                        };
                        self.effects.push_back(Effect::Send { conn: m.conn, frame: reply.encode() });
                    }
                }
                return;
            }
            Phase::Ready => {}
        }
        // A write a job prepared goes first (what else is applied would
        // make it stale).
        if doc.busy() || doc.prepared.is_some() {
            return;
        }
        // Answers held back by the write that just finished go out before
        // anything new is applied, so a busy document cannot starve them.
        if doc.owes_answers && doc.am.get_heads() == doc.saved_heads {
            doc.owes_answers = false;
            answer(&self.peer_id, id, doc, None, &mut self.effects);
        }
        let limits = self.limits;
        let mut held: HashSet<ConnId> = HashSet::new();
        let mut keep = VecDeque::new();
        while let Some(m) = doc.inbox.pop_front() {
            let (Some(peer), Some(conn)) = (doc.peers.get(&m.conn), self.conns.get(&m.conn)) else {
                // A connection's messages leave with it; one left over is dropped.
                continue;
            };
            if !peer.ready || held.contains(&m.conn) {
                keep.push_back(m);
                continue;
            }
            let (user, claim) = (conn.user.clone(), peer.claimant);
            let message = match sync::Message::decode(&m.data) {
                Ok(message) => message,
                Err(e) => {
                    self.release(m.conn, m.data.len());
                    round.bad.push((m.conn, format!("malformed sync message: {e}")));
                    continue;
                }
            };
            if peer.read_only || message.changes.is_empty() {
                // Heads, needs and what it has: cheap, taken here. A
                // claimant's go with its own copy.
                self.release(m.conn, m.data.len());
                let Some(peer) = doc.peers.get_mut(&m.conn) else { continue };
                round.take_without_changes(peer, &mut doc.am, message, m.conn, m.request);
                continue;
            }
            // What it would add, before anything is applied.
            let mut inflate = MAX_INFLATED_BYTES;
            let size = match chunks::count_all(message.changes.iter(), &mut inflate) {
                Ok(size) => size,
                Err(e) => {
                    self.release(m.conn, m.data.len());
                    round.bad.push((m.conn, format!("invalid Automerge data: {e}")));
                    continue;
                }
            };
            let cost = size.cost();
            let held_ops = peer.gathered.as_ref().map_or_else(|| doc.am.stats().num_ops, |copy| copy.ops);
            let refusal = if cost > limits.ops_per_message {
                Some(too_big(
                    format!(
                        "{} operations in {} changes in one message, over {}",
                        size.ops, size.changes, limits.ops_per_message
                    ),
                    true,
                    &limits,
                ))
            } else if held_ops.saturating_add(size.ops) > limits.doc_ops {
                Some(too_big(
                    format!("{held_ops} + {} operations, over {} in a document", size.ops, limits.doc_ops),
                    false,
                    &limits,
                ))
            } else {
                // A claimant's copy is all its own.
                let mine = if claim { held_ops } else { doc.shares.of(&user) };
                (mine.saturating_add(size.ops) > limits.person_doc_ops)
                    .then(|| share_used(mine, size.ops, &limits))
            };
            if let Some(refusal) = refusal {
                self.release(m.conn, m.data.len());
                round.refusals.push((m.conn, refusal, claim));
                let Some(peer) = doc.peers.get_mut(&m.conn) else { continue };
                refuse_changes(peer);
                // The rest of the message (its heads, what it has) is taken
                // as a reader's, and the answer says the relay is read-only.
                round.take_without_changes(peer, &mut doc.am, message, m.conn, m.request);
                continue;
            }
            let inline = cost <= limits.inline_ops;
            // When it may go on: a big message waits for what this round
            // applied to be written first (one thing at a time per
            // document); a claimant's for its person's other new documents
            // to come whole; anything for its person's rate.
            let mut wait = None;
            if !inline && doc.am.get_heads() != doc.saved_heads {
                wait = Some(None);
            } else if claim
                && self.gathered_by(&user).saturating_add(held_ops).saturating_add(size.ops) > limits.doc_ops
            {
                wait = Some(Some(self.now + GATHER_RETRY_MS));
            } else {
                let now = self.now;
                let budget = self
                    .budgets
                    .entry(user.clone())
                    .or_insert_with(|| Bucket::full(limits.ops_per_message, now));
                if !budget.take(cost, limits.ops_per_second, limits.ops_per_message, now) {
                    wait = Some(Some(budget.ready_at(cost, limits.ops_per_second)));
                }
            }
            if let Some(until) = wait {
                // Everything after it from the same connection waits too.
                if let Some(at) = until {
                    doc.retry_pump_at = Some(doc.retry_pump_at.map_or(at, |t: u64| t.min(at)));
                }
                held.insert(m.conn);
                keep.push_back(m);
                continue;
            }
            self.release(m.conn, m.data.len());
            let vetter = if claim {
                Some(self.access.vetter(&user, &id, true).unwrap_or_else(|| Box::new(|_, _, _| Ok(()))))
            } else {
                self.access.vetter(&user, &id, false)
            };
            // Off the relay's task, the job also encodes what to store.
            let stored = (!inline).then(|| if claim { Stored::empty() } else { doc.stored() });
            let Some(peer) = doc.peers.get_mut(&m.conn) else { continue };
            // A claimant's changes go to its own copy, the others' to the
            // document itself (moved into the job and back).
            let base = if claim {
                peer.gathered.take().map_or_else(|| doc.am.clone(), |copy| copy.doc)
            } else {
                std::mem::take(&mut doc.am)
            };
            let job =
                Job(Box::new(Work { base, state: peer.sync.clone(), message, vetter, claim, cost, stored }));
            if inline {
                let applied = job.run();
                if self.settle(id, doc, m.conn, m.request, &user, claim, size.ops, applied, round) {
                    break;
                }
            } else {
                let answers = std::mem::take(&mut round.answers);
                doc.applying =
                    Some(Applying { conn: m.conn, request: m.request, claim, user, ops: size.ops, answers });
                self.effects.push_back(Effect::Apply { doc: id, job });
                break;
            }
        }
        keep.extend(doc.inbox.drain(..));
        doc.inbox = keep;
    }

    /// A connection's message of `bytes` left the inbox.
    fn release(&mut self, conn: ConnId, bytes: usize) {
        if let Some(c) = self.conns.get_mut(&conn) {
            c.pending = c.pending.saturating_sub(bytes);
        }
    }

    /// Operations in the new documents `user` is sending in pieces, in
    /// every document but the one being applied (out of the map).
    fn gathered_by(&self, user: &str) -> u64 {
        self.docs
            .values()
            .flat_map(|d| d.peers.iter())
            .filter(|(conn, _)| self.conns.get(conn).is_some_and(|c| c.user == user))
            .filter_map(|(_, p)| p.gathered.as_ref().map(|copy| copy.ops))
            .sum()
    }

    /// Takes what applying one message came to (here or in a job). Returns
    /// whether the document is now being registered (a claim), when
    /// nothing more of it is applied until [`Relay::claimed`].
    #[allow(clippy::too_many_arguments)]
    fn settle(
        &mut self,
        id: DocumentId,
        doc: &mut Doc,
        conn: ConnId,
        request: bool,
        user: &str,
        claim: bool,
        ops: u64,
        applied: Applied,
        round: &mut Round,
    ) -> bool {
        match *applied.0 {
            Outcome::Invalid { doc: base, error } => {
                if !claim {
                    doc.am = base;
                }
                round.bad.push((conn, error));
            }
            Outcome::Refused { doc: base, refusal } => {
                if !claim {
                    doc.am = base;
                }
                if let Some(peer) = doc.peers.get_mut(&conn) {
                    round.refusals.push((conn, refusal, claim));
                    refuse_changes(peer);
                    // Answered as a reader: the answer says the relay is
                    // read-only for it.
                    round.answers.spoke(conn, request);
                }
            }
            Outcome::Gathering { doc: copy, state } => {
                // Kept only while it still claims the document.
                match doc.peers.get_mut(&conn) {
                    Some(peer) if peer.claimant => {
                        let ops = copy.stats().num_ops;
                        peer.gathered = Some(Gathered { doc: copy, ops });
                        peer.sync = state;
                    }
                    Some(peer) => resend_everything(peer),
                    None => {}
                }
            }
            Outcome::Taken { doc: after, state, changed, write } if claim => {
                // Someone registered the document meanwhile: what it gathered
                // is dropped, and it sends all again (to the document itself).
                let peer = match doc.peers.get_mut(&conn) {
                    Some(peer) if peer.claimant => peer,
                    Some(peer) => {
                        resend_everything(peer);
                        return false;
                    }
                    None => return false,
                };
                peer.sync = state;
                if !changed {
                    return false;
                }
                doc.prepared = write;
                // Registered before anything is stored or answered; the
                // rest waits for it. All of it is the claimant's.
                let ops = after.stats().num_ops.saturating_sub(doc.am.stats().num_ops);
                let before = std::mem::replace(&mut doc.am, after);
                doc.claiming = Some(Claiming { conn, before, user: user.to_owned(), ops });
                self.effects.push_back(Effect::Claim { doc: id, user: user.to_owned() });
                round.answers.spoke(conn, false);
                return true;
            }
            Outcome::Taken { doc: after, state, write, changed } => {
                // Taken even if its peer left meanwhile: it was vetted and
                // sent while the peer could write.
                doc.am = after;
                doc.prepared = write;
                if changed {
                    doc.shares.add(user, ops);
                }
                if let Some(peer) = doc.peers.get_mut(&conn) {
                    peer.sync = state;
                    round.answers.spoke(conn, request);
                }
            }
        }
        false
    }

    /// A [`Job`] finished: its result is taken as if the message had been
    /// applied here, and the document goes on.
    pub fn applied(&mut self, id: DocumentId, applied: Applied) {
        let Some(mut doc) = self.docs.remove(&id) else { return };
        let Some(Applying { conn, request, claim, user, ops, answers }) = doc.applying.take() else {
            // Not the job this document waits for (it was forgotten and
            // opened again meanwhile): its result is dropped.
            self.docs.insert(id, doc);
            return;
        };
        let mut round = Round { answers, ..Round::default() };
        self.settle(id, &mut doc, conn, request, &user, claim, ops, applied, &mut round);
        self.apply_inbox(id, &mut doc, &mut round);
        self.docs.insert(id, doc);
        self.finish_round(id, round);
    }

    /// After applying: tells refused peers why, closes those that sent what
    /// does not parse, and writes what changed (or answers those who spoke).
    fn finish_round(&mut self, id: DocumentId, round: Round) {
        let Round { answers, bad, refusals } = round;
        let Answers { mut senders, mut requested } = answers;
        let Some(doc) = self.docs.get_mut(&id) else {
            return self.close_bad(bad);
        };
        for (conn, refusal, claimed) in refusals {
            let (Some(peer), Some(c)) = (doc.peers.get(&conn), self.conns.get_mut(&conn)) else { continue };
            let m = Message::DocRefused {
                sender_id: self.peer_id.clone(),
                target_id: peer.peer_id.clone(),
                document_id: id,
                message: refusal.message,
                detail: refusal.detail,
                lasting: refusal.lasting,
            };
            self.effects.push_back(Effect::Send { conn, frame: m.encode() });
            if claimed {
                // It may not read the document: as far as it knows, the
                // relay has nothing.
                let m = Message::DocUnavailable {
                    sender_id: self.peer_id.clone(),
                    target_id: peer.peer_id.clone(),
                    document_id: id,
                };
                self.effects.push_back(Effect::Send { conn, frame: m.encode() });
                doc.peers.remove(&conn);
                c.docs.remove(&id);
                requested.retain(|r| *r != conn);
                senders.retain(|r| *r != conn);
                doc.inbox.retain(|m| {
                    let keep = m.conn != conn;
                    if !keep {
                        c.pending = c.pending.saturating_sub(m.data.len());
                    }
                    keep
                });
            }
        }
        if doc.claiming.is_some() || doc.applying.is_some() || doc.phase != Phase::Ready {
            return self.close_bad(bad);
        }
        // A `request` is answered `doc-unavailable` only once the whole batch
        // is applied and the document is still empty, and only if the peer has
        // nothing either: another peer's changes may come later in the batch,
        // and the requester itself may have followed up with heads of its own
        // (it got the document locally meanwhile), which the relay must fetch
        // rather than refuse.
        let empty = doc.am.get_heads().is_empty();
        let has_nothing = |p: &DocPeer| p.sync.their_heads.as_ref().is_none_or(Vec::is_empty);
        let unavailable: Vec<ConnId> =
            requested.into_iter().filter(|c| empty && doc.peers.get(c).is_some_and(has_nothing)).collect();
        for conn in unavailable {
            if let Some(peer) = doc.peers.remove(&conn) {
                if let Some(c) = self.conns.get_mut(&conn) {
                    c.docs.remove(&id);
                }
                let reply = Message::DocUnavailable {
                    sender_id: self.peer_id.clone(),
                    target_id: peer.peer_id,
                    document_id: id,
                };
                self.effects.push_back(Effect::Send { conn, frame: reply.encode() });
            }
        }
        if doc.busy() {
            return self.close_bad(bad);
        }
        let heads = doc.am.get_heads();
        let prepared = doc.prepared.take();
        if heads != doc.saved_heads {
            let batch = self.next_batch;
            self.next_batch += 1;
            let Prepared { write, stored } = match prepared {
                Some(prepared) if prepared.stored.heads == heads => prepared,
                _ => {
                    let (write, stored) = doc.stored().next_write(&doc.am);
                    Prepared { write, stored }
                }
            };
            doc.snapshot_bytes = stored.snapshot_bytes;
            doc.incremental_bytes = stored.incremental_bytes;
            doc.writing = Some((batch, heads));
            let mut writes = vec![write];
            writes.extend(doc.shares.to_write());
            self.effects.push_back(Effect::Write { doc: id, batch, writes });
            doc.owes_answers = true;
        } else {
            // Nothing new in the document: only those who just spoke can need
            // an answer (what they have, need or asked for). Generating a
            // message for every other peer here cost a third of the relay's
            // CPU under paced load, for nothing.
            answer(&self.peer_id, id, doc, Some(&senders), &mut self.effects);
        }
        self.close_bad(bad);
    }

    /// Closes connections that sent what does not parse (two bad messages
    /// from one connection close it once).
    fn close_bad(&mut self, bad: Vec<(ConnId, String)>) {
        for (conn, reason) in bad {
            if self.conns.contains_key(&conn) {
                self.close(conn, close::INVALID_DATA, reason);
            }
        }
    }
}

/// A document's stored chunks, parsed: what the I/O layer gives
/// [`Relay::loaded`] for an [`Effect::Load`].
pub struct Loaded {
    /// None: the bytes do not load.
    doc: Option<Box<Automerge>>,
    snapshot_bytes: usize,
    incremental_bytes: usize,
    /// What each person has added ([`StorageWrite::Share`]).
    shares: HashMap<String, u64>,
}

impl Loaded {
    /// Parses the chunks storage read (a snapshot, then increments).
    pub fn parse(chunks: Vec<Vec<u8>>) -> Loaded {
        let snapshot_bytes = chunks.first().map_or(0, Vec::len);
        let incremental_bytes = chunks.iter().skip(1).map(Vec::len).sum();
        Loaded {
            doc: Automerge::load(&chunks.concat()).ok().map(Box::new),
            snapshot_bytes,
            incremental_bytes,
            shares: HashMap::new(),
        }
    }

    /// With what each person has added to the document, as stored (the
    /// sums of its [`StorageWrite::Share`]s).
    pub fn with_shares(mut self, shares: impl IntoIterator<Item = (String, u64)>) -> Loaded {
        self.shares = shares.into_iter().collect();
        self
    }
}

/// Applying one sync message to a document and vetting what it adds: the
/// relay's heaviest work. It runs on the relay's own task only for small
/// messages ([`Limits::inline_ops`]); a bigger one is handed out
/// ([`Effect::Apply`]) so that the relay stays free for everyone else: run
/// it anywhere with [`Job::run`] and give the result to [`Relay::applied`].
pub struct Job(Box<Work>);

struct Work {
    /// The document the message goes to: the relay's own (moved out of it
    /// meanwhile), or a claimant's copy.
    base: Automerge,
    state: sync::State,
    message: sync::Message,
    vetter: Option<Vetter>,
    /// The message claims a new document, maybe in pieces: until it holds
    /// every head the claimant announced, it is kept as it is, unvetted.
    claim: bool,
    /// What it adds ([`chunks::Size::cost`]), for logs.
    cost: u64,
    /// What is stored of the document, when the job also encodes the write
    /// that follows (a job off the relay's task does).
    stored: Option<Stored>,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job")
            .field("cost", &self.0.cost)
            .field("claim", &self.0.claim)
            .finish_non_exhaustive()
    }
}

/// What a [`Job`] came to.
pub struct Applied(Box<Outcome>);

impl From<Outcome> for Applied {
    fn from(outcome: Outcome) -> Self {
        Applied(Box::new(outcome))
    }
}

enum Outcome {
    /// The data does not apply; `doc` is the document it was given (as far
    /// as Automerge got with it, when nothing vetted it).
    Invalid { doc: Automerge, error: String },
    /// The vetting refused it; `doc` is the document it was given.
    Refused { doc: Automerge, refusal: Refusal },
    /// A piece of a new document that is not whole yet.
    Gathering { doc: Automerge, state: sync::State },
    /// Applied (and vetted, if it is), with the write that stores it when
    /// the job encoded one.
    Taken { doc: Automerge, state: sync::State, changed: bool, write: Option<Prepared> },
}

impl Job {
    /// What the message adds ([`chunks::Size::cost`]).
    pub fn cost(&self) -> u64 {
        self.0.cost
    }

    pub fn run(self) -> Applied {
        let Work { mut base, mut state, message, vetter, claim, stored, .. } = *self.0;
        let prepare = |doc: &Automerge, changed: bool| {
            let (write, stored) = stored.as_ref().filter(|_| changed)?.next_write(doc);
            Some(Prepared { write, stored })
        };
        let Some(vet) = vetter else {
            let before = base.get_heads();
            return Applied::from(match base.receive_sync_message(&mut state, message) {
                Ok(()) => {
                    let changed = base.get_heads() != before;
                    let write = prepare(&base, changed);
                    Outcome::Taken { doc: base, state, changed, write }
                }
                Err(e) => Outcome::Invalid { doc: base, error: format!("invalid Automerge data: {e}") },
            });
        };
        let announced = message.heads.clone();
        // Applied to a copy: the document given stays as it was if the
        // changes are refused.
        let mut after = base.clone();
        if let Err(e) = after.receive_sync_message(&mut state, message) {
            return Applied::from(Outcome::Invalid {
                doc: base,
                error: format!("invalid Automerge data: {e}"),
            });
        }
        if claim && !announced.iter().all(|head| after.get_change_meta_by_hash(head).is_some()) {
            return Applied::from(Outcome::Gathering { doc: after, state });
        }
        // A claim creates the document: it is checked whole.
        let before = if claim { Automerge::new() } else { base };
        let changes = after.get_changes(&before.get_heads());
        let changed = !changes.is_empty();
        Applied::from(match vet(&before, &after, &changes) {
            Ok(()) => {
                let write = prepare(&after, changed);
                Outcome::Taken { doc: after, state, changed, write }
            }
            Err(refusal) => Outcome::Refused { doc: before, refusal },
        })
    }
}

/// The relay gathered a claimant's new document in a copy that is dropped
/// now (someone else registered it): the peer is asked to send everything
/// again, on the document itself.
fn stop_gathering(peer: &mut DocPeer) {
    if peer.gathered.take().is_some() {
        resend_everything(peer);
    }
}

/// The peer's sync state was about a copy the relay dropped: it starts
/// afresh, and the peer is asked to forget what it sent (a sync reset).
fn resend_everything(peer: &mut DocPeer) {
    let read_only = peer.sync.read_only;
    peer.sync = sync::State::new();
    peer.sync.read_only = read_only;
    peer.sync.needs_reset = true;
}

/// The peer's changes to a document are not taken any more this session.
fn refuse_changes(peer: &mut DocPeer) {
    peer.refused = true;
    peer.read_only = true;
    peer.claimant = false;
    peer.sync.set_read_only(true);
}

/// A message over the relay's size limits: what it would add to one
/// message (`per_message`) or to the document.
fn too_big(detail: String, per_message: bool, limits: &Limits) -> Refusal {
    let spaced = crate::ru::thousands;
    let message = if per_message {
        format!(
            "изменение слишком большое: сервер принимает за раз не больше {} операций, а в нём одном больше",
            spaced(limits.ops_per_message)
        )
    } else {
        // The document is full, whatever the size of this change: said so,
        // with the way out (a copy starts without the history).
        format!(
            "документ заполнен: сервер хранит в одном документе не больше {} операций вместе с историей правок \
             и больше изменений в него не примет. Сделайте копию («Дублировать» в списке карт): копия \
             начинается без истории",
            spaced(limits.doc_ops)
        )
    };
    Refusal { message, detail, lasting: true }
}

/// The refusal of a change past its sender's share of the document
/// ([`Limits::person_doc_ops`]): the others may go on; the sender may go
/// on in a copy.
fn share_used(mine: u64, ops: u64, limits: &Limits) -> Refusal {
    let spaced = crate::ru::thousands;
    Refusal {
        message: format!(
            "вы уже добавили в этот документ {} операций вместе с историей правок, а один человек может добавить \
             не больше {}; больше ваших изменений в него сервер не примет. Остальные могут продолжать работу. \
             Чтобы продолжить самим, сделайте копию («Дублировать» в списке карт): копия начинается без истории",
            spaced(mine),
            spaced(limits.person_doc_ops)
        ),
        detail: format!(
            "{mine} + {ops} operations from one person, over {} per person in a document",
            limits.person_doc_ops
        ),
        lasting: true,
    }
}

/// Sends the document's peers (all, or `only` these) what they are missing, if anything.
fn answer(
    relay: &PeerId,
    id: DocumentId,
    doc: &mut Doc,
    only: Option<&[ConnId]>,
    effects: &mut VecDeque<Effect>,
) {
    for (conn, peer) in doc.peers.iter_mut() {
        if !peer.ready || peer.gathered.is_some() || only.is_some_and(|only| !only.contains(conn)) {
            continue;
        }
        let heads = doc.am.get_heads();
        if peer.announced != heads && peer.sync.last_sent_heads == heads {
            // It sent these heads before the relay said it stored them
            // (automerge then takes them as told): say so now.
            peer.sync.last_sent_heads.clone_from(&peer.announced);
        }
        if let Some(message) = doc.am.generate_sync_message(&mut peer.sync) {
            peer.announced.clone_from(&message.heads);
            let m = Message::Sync {
                sender_id: relay.clone(),
                target_id: peer.peer_id.clone(),
                document_id: id,
                data: message.encode(),
            };
            effects.push_back(Effect::Send { conn: *conn, frame: m.encode() });
        }
    }
}

impl Doc {
    fn stored(&self) -> Stored {
        Stored {
            heads: self.saved_heads.clone(),
            snapshot_bytes: self.snapshot_bytes,
            incremental_bytes: self.incremental_bytes,
        }
    }

    /// Writing, registering or applying: nothing else is applied meanwhile.
    fn busy(&self) -> bool {
        self.writing.is_some()
            || self.retry_write_at.is_some()
            || self.claiming.is_some()
            || self.applying.is_some()
    }

    fn loading(now: u64) -> Doc {
        Doc {
            phase: Phase::Loading,
            am: Automerge::new(),
            peers: HashMap::new(),
            inbox: VecDeque::new(),
            writing: None,
            saved_heads: Vec::new(),
            snapshot_bytes: 0,
            incremental_bytes: 0,
            retry_write_at: None,
            retry_load_at: None,
            owes_answers: false,
            claiming: None,
            shares: Shares::default(),
            retry_pump_at: None,
            applying: None,
            prepared: None,
            last_active: now,
            ephemeral_seen: HashMap::new(),
        }
    }
}
