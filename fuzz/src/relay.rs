//! The `relay` target: a [`Relay`] driven by a script of operations read
//! from the fuzzer's bytes, against a fake [`Access`] and an in-memory store
//! that answers reads and writes when the script says, in any order, with
//! errors when it says. Devices behind the connections are real Automerge
//! peers, so well-formed sync exchanges reach deep states, and the script may
//! send raw or cut frames instead.
//!
//! Users (what the I/O layer passes to [`Relay::connect`]): `w` may be given
//! any right, `r` and `n` at most [`Right::Read`] (`r` starts reading, `n`
//! with nothing). Each user's documents are edited by one actor id of its
//! own, so a change's actor says which user made it.
//!
//! Every writer's changes also go through the vetting of school files
//! ([`vet_changes`]) and of roadmaps ([`medk_shared::layout::vet_changes`]),
//! for panics only.
//!
//! Checked after every effect, besides "no panic":
//! - the heads the relay announces in a `sync` are stored: nothing is
//!   acknowledged before it is durable;
//! - no change reaches storage that only `r` or `n` ever sent: every stored
//!   change was in a frame from a connection of `w` (or was stored from the
//!   start). This holds whatever the frames carry, changes hand-made in the
//!   name of `r` or `n` included, so it is checked on every input. What is
//!   stored always loads, with every dependency (one write per document at
//!   a time); a stored document that does not load is never written over;
//! - a connection that got `Close` (or that the I/O layer closed) is sent
//!   nothing more, and the relay counts the same open connections;
//! - every frame decodes, names the peer that joined on that connection, and
//!   no `sync` or `ephemeral` for a document goes to a user without a right
//!   to it at that moment (rights change only with [`Relay::access_changed`]
//!   right after, as the contract says); `doc-unavailable` only when the
//!   user has no right, or nothing of the document is stored (or what is
//!   stored does not load); ephemeral data never goes back to its sender;
//! - at the end, with storage answering and `w` given writing everywhere:
//!   each of `w`'s open connections that only ever sent real sync messages,
//!   and then a fresh connection per document, syncs until quiet and leaves
//!   `w` with exactly what is stored, which includes all its changes (those
//!   the relay ignored while `w` could only read too); and once everyone
//!   has left, every document leaves memory.
//!
//! Input: a byte per document for its initial storage ([`stored`]), a
//! byte per document for the initial rights ([`Script::new`]), then
//! operations: a code byte (modulo 16,
//! `CONNECT`...`ACCESS_CHANGED` below) and its argument bytes, as
//! [`Script`] writes them; past the end every byte reads as 0. A device
//! answered `doc-unavailable` forgets that exchange, as a client does.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, LazyLock, Mutex};

use automerge::sync::{self, SyncDoc as _};
use automerge::transaction::Transactable as _;
use automerge::{ActorId, AutoCommit, Automerge, ChangeHash, ROOT, ReadDoc as _};
use medk_shared::access::{Right, SchoolPowers};
use medk_shared::ids::DocumentId;
use medk_shared::school::{Sender, vet_changes};
use medk_shared::sync::message::{Message, PeerMetadata};
use medk_shared::sync::relay::{
    Access, ConnId, EVICT_AFTER_MS, Effect, Job, Limits, Loaded, Refusal, Relay, StorageWrite, Vetter,
};

/// `MEDK_FUZZ_TRACE=1` prints every step and effect to stderr: what to
/// read when replaying a crash.
static TRACE: LazyLock<bool> = LazyLock::new(|| std::env::var_os("MEDK_FUZZ_TRACE").is_some());

macro_rules! trace {
    ($($arg:tt)*) => {
        if *TRACE {
            eprintln!($($arg)*);
        }
    };
}

/// The signed-in users; index 0 is the only one that may ever write.
pub const USERS: [&str; 3] = ["w", "r", "n"];
pub const W: u8 = 0;
pub const R: u8 = 1;
pub const N: u8 = 2;
/// Documents the script names (frames may name others).
pub const DOCS: u8 = 3;
/// Operations run per input; the rest of a longer input is ignored.
const MAX_OPS: usize = 256;
/// Edits with a value from this one on write [`BIG_BYTES`] of text.
const BIG_EDIT: u8 = 0xfc;
const BIG_BYTES: usize = 12_000;
/// Connections opened per input.
const MAX_CONNS: usize = 12;

pub fn doc_id(d: u8) -> DocumentId {
    DocumentId::from_bytes([d % DOCS + 1; 16])
}

/// 16 bytes, so the actor id of a change names its user.
fn actor_bytes(user: u8) -> [u8; 16] {
    let mut a = *b"medk-fuzz-user-?";
    a[15] = USERS[usize::from(user)].as_bytes()[0];
    a
}

const SEED_ACTOR: &[u8; 16] = b"medk-fuzz-seed--";
const GARBAGE: &[u8] = b"not an automerge document";

// Operation codes (the first byte of an operation, modulo 16).
const CONNECT: u8 = 0;
const DISCONNECT: u8 = 1;
const JOIN: u8 = 2;
const SYNC: u8 = 3;
const EDIT: u8 = 4;
const EPHEMERAL: u8 = 5;
const LEAVE: u8 = 6;
const OTHER: u8 = 7;
const RAW: u8 = 8;
const TICK: u8 = 9;
const COMPLETE: u8 = 10;
const FLUSH: u8 = 11;
const SET_RIGHT: u8 = 12;
const CLOSE_USER: u8 = 13;
const CONVERSE: u8 = 14;
const ACCESS_CHANGED: u8 = 15;

const OP_NAMES: [&str; 16] = [
    "connect",
    "disconnect",
    "join",
    "sync",
    "edit",
    "ephemeral",
    "leave",
    "other",
    "raw",
    "tick",
    "complete",
    "flush",
    "set-right",
    "close-user",
    "converse",
    "access-changed",
];

/// How a `sync`/`request` frame's data is made (bits 3-4 of its flags).
pub mod payload {
    /// The device's next real Automerge sync message (skipped if it has none).
    pub const REAL: u8 = 0;
    /// Bytes from the input.
    pub const RAW: u8 = 2;
    /// The device's next real message, cut short.
    pub const CUT: u8 = 3;
}

/// The initial stored state of a document.
pub mod stored {
    pub const EMPTY: u8 = 0;
    /// A valid document made by neither user.
    pub const SEED: u8 = 1;
    /// Bytes that do not load.
    pub const GARBAGE: u8 = 2;
}

/// Writes fuzz inputs for the relay target (the seeds), operation by
/// operation, in the layout [`run`] reads.
pub struct Script {
    bytes: Vec<u8>,
    conns: u8,
}

impl Script {
    /// `stored`: each document's initial storage ([`stored`]); `rights`:
    /// each document's rights byte (bits 0-1: `w` write/read/none, bit 4:
    /// `r` has none, bit 5: `n` reads).
    pub fn new(stored: [u8; DOCS as usize], rights: [u8; DOCS as usize]) -> Script {
        let mut bytes = stored.to_vec();
        bytes.extend_from_slice(&rights);
        Script { bytes, conns: 0 }
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }

    fn op(&mut self, code: u8, args: &[u8]) -> &mut Script {
        self.bytes.push(code);
        self.bytes.extend_from_slice(args);
        self
    }

    /// Returns the connection's index for the other operations.
    pub fn connect(&mut self, user: u8) -> u8 {
        self.op(CONNECT, &[user]);
        self.conns += 1;
        self.conns - 1
    }

    /// `peer`: 0-3; `storage`: 0 none, 1-3 a storage id.
    pub fn join(&mut self, conn: u8, peer: u8, storage: u8) -> &mut Script {
        self.op(JOIN, &[conn, peer | storage << 2])
    }

    pub fn join_flags(&mut self, conn: u8, flags: u8) -> &mut Script {
        self.op(JOIN, &[conn, flags])
    }

    pub fn disconnect(&mut self, conn: u8) -> &mut Script {
        self.op(DISCONNECT, &[conn])
    }

    /// A real sync message (a `request` if `request`).
    pub fn sync(&mut self, conn: u8, doc: u8, request: bool) -> &mut Script {
        self.op(SYNC, &[conn, doc | u8::from(request) << 2 | payload::REAL << 3])
    }

    pub fn sync_raw(&mut self, conn: u8, doc: u8, data: &[u8]) -> &mut Script {
        let len = u8::try_from(data.len()).expect("at most 255 bytes");
        self.op(SYNC, &[conn, doc | payload::RAW << 3, len]);
        self.bytes.extend_from_slice(data);
        self
    }

    pub fn sync_cut(&mut self, conn: u8, doc: u8, cut: u8) -> &mut Script {
        self.op(SYNC, &[conn, doc | payload::CUT << 3, cut])
    }

    /// `value` from 0xfc on: 12 KB of text.
    pub fn edit(&mut self, user: u8, doc: u8, value: u8) -> &mut Script {
        self.op(EDIT, &[user | doc << 2, value])
    }

    pub fn ephemeral(&mut self, conn: u8, doc: u8, session: u8, count: u8) -> &mut Script {
        self.op(EPHEMERAL, &[conn, doc | session << 2, count])
    }

    pub fn leave(&mut self, conn: u8) -> &mut Script {
        self.op(LEAVE, &[conn])
    }

    /// 0 doc-unavailable, 1 error, 2 remote-heads-changed, 3 peer, 4 join.
    pub fn other(&mut self, conn: u8, kind: u8) -> &mut Script {
        self.op(OTHER, &[conn, kind])
    }

    pub fn raw(&mut self, conn: u8, frame: &[u8]) -> &mut Script {
        let len = u8::try_from(frame.len()).expect("at most 255 bytes");
        self.op(RAW, &[conn, len]);
        self.bytes.extend_from_slice(frame);
        self
    }

    /// Below 200: that many 20 ms steps; from 200: [`EVICT_AFTER_MS`].
    pub fn tick(&mut self, delta: u8) -> &mut Script {
        self.op(TICK, &[delta])
    }

    /// Answers the `which`-th waiting storage request (modulo their number).
    /// `outcome` modulo 3: 0 fails it; 1 fails a write after storing it
    /// (a lost acknowledgement); 2 succeeds. For a sync state: 0 garbage,
    /// 1 none, 2 the saved one.
    pub fn complete(&mut self, which: u8, outcome: u8) -> &mut Script {
        self.op(COMPLETE, &[which, outcome])
    }

    /// Answers every waiting storage request successfully.
    pub fn flush(&mut self) -> &mut Script {
        self.op(FLUSH, &[])
    }

    /// `right`: 0 write, 1 read, 2 none (`r` and `n` get at most read).
    pub fn set_right(&mut self, user: u8, doc: u8, right: u8) -> &mut Script {
        self.op(SET_RIGHT, &[user | doc << 2 | right << 4])
    }

    pub fn close_user(&mut self, user: u8) -> &mut Script {
        self.op(CLOSE_USER, &[user])
    }

    /// What the server does before a graceful shutdown.
    pub fn save_sync_states(&mut self) -> &mut Script {
        self.op(CLOSE_USER, &[3])
    }

    /// The connection's device syncs every document it opened until quiet.
    pub fn converse(&mut self, conn: u8) -> &mut Script {
        self.op(CONVERSE, &[conn])
    }

    pub fn access_changed(&mut self) -> &mut Script {
        self.op(ACCESS_CHANGED, &[])
    }
}

/// Runs one input.
pub fn run(data: &[u8]) {
    let mut input = Input { data, pos: 0 };
    let mut world = World::new(&mut input);
    for _ in 0..MAX_OPS {
        if input.done() {
            break;
        }
        world.step(&mut input);
        world.drain();
        world.check_connections();
    }
    world.finish();
}

/// The fuzzer's bytes, read front to back; past the end every byte is 0.
struct Input<'a> {
    data: &'a [u8],
    pos: usize,
}

impl Input<'_> {
    fn byte(&mut self) -> u8 {
        let b = self.data.get(self.pos).copied().unwrap_or(0);
        self.pos += 1;
        b
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        let start = self.pos.min(self.data.len());
        let end = (self.pos + n).min(self.data.len());
        self.pos += n;
        self.data[start..end].to_vec()
    }

    fn done(&self) -> bool {
        self.pos >= self.data.len()
    }
}

type Rights = Arc<Mutex<HashMap<(u8, DocumentId), Right>>>;

/// Rights from the shared table; documents the script does not name (raw
/// frames may) default to `w` writing, `r` reading, `n` nothing.
struct FakeAccess(Rights);

impl Access for FakeAccess {
    fn right(&mut self, user: &str, doc: &DocumentId) -> Right {
        right_of(&self.0, user_index(user), doc)
    }

    /// Every writer's changes go through the vetting of school files (as a
    /// school team's would) and of roadmaps: neither may panic on whatever
    /// Automerge data the relay takes. Their verdicts are ignored, so the
    /// checks above about what `w` stores still hold (the harness's
    /// documents are neither).
    fn vetter(&mut self, user: &str, doc: &DocumentId, _claim: bool) -> Option<Vetter> {
        let (user, doc) = (user.to_owned(), *doc);
        Some(Box::new(move |before: &Automerge, after: &Automerge, changes: &[automerge::Change]| {
            let sender = Sender { id: &user, powers: SchoolPowers::default(), now_ms: 0 };
            let _verdict = vet_changes("s", before, after, changes, &sender);
            let _verdict = medk_shared::layout::vet_roadmap(&doc, Some(&user), before, after, changes);
            Ok::<(), Refusal>(())
        }))
    }
}

/// Every message with changes handed out as a job (finished whenever the
/// input says, like storage), or the relay's own choice.
fn inline_ops(b: u8) -> u64 {
    if b & 1 == 0 { 0 } else { medk_shared::sync::relay::INLINE_OPS }
}

fn user_index(user: &str) -> u8 {
    let i = USERS.iter().position(|u| *u == user).expect("only the harness's users connect");
    i as u8
}

fn right_of(rights: &Rights, user: u8, doc: &DocumentId) -> Right {
    let table = rights.lock().expect("not poisoned");
    table.get(&(user, *doc)).copied().unwrap_or(match user {
        W => Right::Write,
        R => Right::Read,
        _ => Right::None,
    })
}

/// `r` and `n` never write.
fn cap(user: u8, right: Right) -> Right {
    if user != W && right == Right::Write { Right::Read } else { right }
}

/// One connection as the I/O layer and the device behind it see it.
struct Conn {
    id: ConnId,
    user: u8,
    /// Not closed by the relay (`Close`) nor by the I/O layer.
    open: bool,
    /// The sender id it joined with (structured joins only).
    claimed: String,
    /// The peer id the relay's `peer` answer named.
    peer: Option<String>,
    /// The device's sync state per document, for this connection.
    states: HashMap<DocumentId, sync::State>,
    /// Documents it sent a real sync message for.
    opened: HashSet<DocumentId>,
    /// Sent something other than its device's own sync messages (raw
    /// frames, cut or made-up sync data): its sync states may disagree with
    /// the relay's for good, so it is left out of the liveness check.
    tainted: bool,
}

enum Pending {
    Load(DocumentId),
    SyncState(DocumentId, String),
    /// With the changes storage holds once it is done.
    Write(DocumentId, u64, Vec<StorageWrite>, HashSet<ChangeHash>),
    /// A message applied off the relay's task ([`Effect::Apply`]).
    Apply(DocumentId, Job),
}

#[derive(Default)]
struct Disk {
    chunks: Vec<Vec<u8>>,
    /// Holds bytes that do not load (from the start; nothing else makes it).
    broken: bool,
    /// The changes `chunks` hold: what the relay may tell peers it has.
    durable: HashSet<ChangeHash>,
}

impl Disk {
    fn new(chunks: Vec<Vec<u8>>) -> Disk {
        let doc = Automerge::load(&chunks.concat()).expect("a seed document loads");
        Disk { chunks, broken: false, durable: hashes(&doc) }
    }

    /// Stores what a write says (once the store has it, whatever it tells
    /// the relay); `durable`: the changes stored after it, found when the
    /// write was checked (one write per document at a time, so nothing
    /// changed since).
    fn apply(&mut self, writes: &[StorageWrite], durable: HashSet<ChangeHash>) {
        apply(&mut self.chunks, writes);
        self.durable = durable;
    }
}

/// Every change in `doc` (metadata only: `get_changes` would compress every
/// change again, most of this target's time with big edits).
fn hashes(doc: &Automerge) -> HashSet<ChangeHash> {
    doc.get_changes_meta(&[]).iter().map(|c| c.hash).collect()
}

struct World {
    relay: Relay,
    rights: Rights,
    now: u64,
    conns: Vec<Conn>,
    next_conn: ConnId,
    /// Each user's copy of each document (shared by its connections, like
    /// tabs sharing a browser's storage), edited with the user's actor.
    devices: [HashMap<DocumentId, AutoCommit>; 3],
    disk: HashMap<DocumentId, Disk>,
    sync_states: HashMap<(DocumentId, String), Vec<u8>>,
    pending: Vec<Pending>,
    /// Edits so far: no two big edits write the same text.
    edits: u32,
    /// Per document, every change a connection of `w` sent in a frame (and
    /// what was stored from the start): the only changes storage may hold.
    from_writer: HashMap<DocumentId, Automerge>,
}

impl World {
    fn new(input: &mut Input<'_>) -> World {
        let mut disk = HashMap::new();
        let mut from_writer = HashMap::new();
        for d in 0..DOCS {
            let chunks = match input.byte() % 3 {
                stored::EMPTY => continue,
                stored::SEED => {
                    let mut seed = AutoCommit::new().with_actor(ActorId::from(&SEED_ACTOR[..]));
                    seed.put(ROOT, "title", "Дорожная карта").expect("put");
                    seed.put(ROOT, "year", 2026).expect("put");
                    from_writer.insert(doc_id(d), Automerge::load(&seed.save()).expect("loads"));
                    Disk::new(vec![seed.save()])
                }
                _ => Disk { chunks: vec![GARBAGE.to_vec()], broken: true, durable: HashSet::new() },
            };
            disk.insert(doc_id(d), chunks);
        }
        let mut table = HashMap::new();
        for d in 0..DOCS {
            let b = input.byte();
            let w = [Right::Write, Right::Read, Right::None, Right::Write][usize::from(b & 3)];
            let r = if b & 0x10 == 0 { Right::Read } else { Right::None };
            let n = if b & 0x20 == 0 { Right::None } else { Right::Read };
            table.insert((W, doc_id(d)), w);
            table.insert((R, doc_id(d)), r);
            table.insert((N, doc_id(d)), n);
        }
        let rights = Arc::new(Mutex::new(table));
        World {
            // Messages with changes are applied here or handed out as jobs,
            // as the input says.
            relay: Relay::new("relay".into(), None, Box::new(FakeAccess(rights.clone())))
                .with_limits(Limits { inline_ops: inline_ops(input.byte()), ..Limits::default() }),
            rights,
            now: 0,
            conns: Vec::new(),
            next_conn: 1,
            devices: Default::default(),
            disk,
            sync_states: HashMap::new(),
            pending: Vec::new(),
            edits: 0,
            from_writer,
        }
    }

    /// A connection named by the input: any ever opened, closed ones too.
    fn pick(&self, b: u8) -> Option<usize> {
        (!self.conns.is_empty()).then(|| usize::from(b) % self.conns.len())
    }

    fn step(&mut self, input: &mut Input<'_>) {
        let code = input.byte() % 16;
        trace!("-- op {} at byte {}", OP_NAMES[usize::from(code)], input.pos - 1);
        match code {
            CONNECT => {
                let user = input.byte() % 3;
                if self.conns.len() < MAX_CONNS {
                    self.connect(user);
                }
            }
            DISCONNECT => {
                if let Some(c) = self.pick(input.byte()) {
                    let conn = &mut self.conns[c];
                    if conn.open {
                        conn.open = false;
                        self.relay.disconnect(conn.id);
                    }
                }
            }
            JOIN => {
                let (c, flags) = (self.pick(input.byte()), input.byte());
                if let Some(c) = c {
                    self.join(c, flags);
                }
            }
            SYNC => {
                let (c, flags) = (self.pick(input.byte()), input.byte());
                let doc = doc_id(flags % 4);
                let request = flags & 4 != 0;
                let payload = (flags >> 3) & 3;
                if let (Some(c), payload::RAW | payload::CUT) = (c, payload) {
                    self.conns[c].tainted = true;
                }
                let data = match payload {
                    payload::RAW => {
                        let len = usize::from(input.byte());
                        Some(input.bytes(len))
                    }
                    payload::CUT => {
                        let cut = usize::from(input.byte());
                        c.and_then(|c| self.generate(c, doc)).map(|mut data| {
                            data.truncate(cut % data.len().max(1));
                            data
                        })
                    }
                    _ => c.and_then(|c| self.generate(c, doc)),
                };
                if let (Some(c), Some(data)) = (c, data) {
                    self.send_sync(c, doc, request, data);
                }
            }
            EDIT => {
                let (flags, value) = (input.byte(), input.byte());
                self.edit(flags % 4 % 3, doc_id((flags >> 2) % 4), value);
            }
            EPHEMERAL => {
                let (c, flags, count) = (self.pick(input.byte()), input.byte(), input.byte());
                if let Some(c) = c {
                    let sender =
                        if flags & 8 == 0 { self.conns[c].claimed.clone() } else { "someone-else".into() };
                    let frame = Message::Ephemeral {
                        sender_id: sender,
                        target_id: "relay".into(),
                        document_id: doc_id(flags % 4),
                        session_id: format!("session-{}", (flags >> 2) & 1),
                        count: u64::from(count),
                        data: vec![flags, count],
                    }
                    .encode();
                    self.receive(c, &frame);
                }
            }
            LEAVE => {
                if let Some(c) = self.pick(input.byte()) {
                    let frame = Message::Leave { sender_id: self.conns[c].claimed.clone() }.encode();
                    self.receive(c, &frame);
                }
            }
            OTHER => {
                let (c, kind) = (self.pick(input.byte()), input.byte());
                if let Some(c) = c {
                    let sender_id = self.conns[c].claimed.clone();
                    let frame = match kind % 5 {
                        0 => Message::DocUnavailable {
                            sender_id,
                            target_id: "relay".into(),
                            document_id: doc_id(kind / 5),
                        },
                        1 => Message::Error { message: "oops".into() },
                        2 => Message::Other { kind: "remote-heads-changed".into() },
                        3 => Message::Peer {
                            sender_id,
                            target_id: "relay".into(),
                            metadata: PeerMetadata::default(),
                            selected_protocol_version: "1".into(),
                        },
                        _ => Message::Join {
                            sender_id,
                            metadata: PeerMetadata::default(),
                            supported_protocol_versions: vec!["1".into()],
                        },
                    }
                    .encode();
                    self.receive(c, &frame);
                }
            }
            RAW => {
                let c = self.pick(input.byte());
                let len = usize::from(input.byte());
                let frame = input.bytes(len);
                if let Some(c) = c {
                    self.conns[c].tainted = true;
                    self.receive(c, &frame);
                }
            }
            TICK => {
                let delta = input.byte();
                self.now += if delta >= 200 { EVICT_AFTER_MS } else { u64::from(delta) * 20 };
                trace!("tick {} ms", self.now);
                self.relay.tick(self.now);
            }
            COMPLETE => {
                let (which, outcome) = (input.byte(), input.byte());
                if !self.pending.is_empty() {
                    let p = self.pending.remove(usize::from(which) % self.pending.len());
                    self.complete(p, outcome);
                }
            }
            FLUSH => self.flush(),
            SET_RIGHT => {
                let b = input.byte();
                let user = b % 4 % 3;
                let right = [Right::Write, Right::Read, Right::None, Right::Read][usize::from((b >> 4) & 3)];
                let right = cap(user, right);
                trace!("{} now has {right:?} on {}", USERS[usize::from(user)], doc_id((b >> 2) % 4));
                self.rights
                    .lock()
                    .expect("not poisoned")
                    .insert((user, doc_id((b >> 2) % 4)), cap(user, right));
                self.relay.access_changed();
            }
            CLOSE_USER => match input.byte() % 4 {
                3 => {
                    trace!("relay saves every sync state (shutting down)");
                    self.relay.save_sync_states();
                }
                user => self.relay.close_user(USERS[usize::from(user)], 4001, "signed out"),
            },
            CONVERSE => {
                if let Some(c) = self.pick(input.byte()) {
                    self.converse(c, 32);
                }
            }
            ACCESS_CHANGED => self.relay.access_changed(),
            _ => unreachable!(),
        }
    }

    fn connect(&mut self, user: u8) -> usize {
        let id = self.next_conn;
        self.next_conn += 1;
        self.relay.connect(id, USERS[usize::from(user)]);
        trace!("conn {id} opened for {}", USERS[usize::from(user)]);
        self.conns.push(Conn {
            id,
            user,
            open: true,
            claimed: format!("peer-{id}"),
            peer: None,
            states: HashMap::new(),
            opened: HashSet::new(),
            tainted: false,
        });
        self.conns.len() - 1
    }

    /// flags: bits 0-1 peer id, 2-3 storage id (0: none), 4 ephemeral,
    /// 5-6 offered versions.
    fn join(&mut self, c: usize, flags: u8) {
        self.join_as(c, format!("peer-{}", flags & 3), flags);
    }

    fn join_as(&mut self, c: usize, sender: String, flags: u8) {
        let storage_id = match (flags >> 2) & 3 {
            0 => None,
            s => Some(format!("device-{s}")),
        };
        let versions: &[&str] = match (flags >> 5) & 3 {
            0 => &["1"],
            1 => &["0", "1"],
            2 => &[],
            _ => &["2"],
        };
        let frame = Message::Join {
            sender_id: sender.clone(),
            metadata: PeerMetadata { storage_id, is_ephemeral: flags & 0x10 != 0 },
            supported_protocol_versions: versions.iter().map(|v| v.to_string()).collect(),
        }
        .encode();
        self.conns[c].claimed = sender;
        self.receive(c, &frame);
    }

    fn device(&mut self, user: u8, doc: DocumentId) -> &mut AutoCommit {
        self.devices[usize::from(user)]
            .entry(doc)
            .or_insert_with(|| AutoCommit::new().with_actor(ActorId::from(&actor_bytes(user)[..])))
    }

    /// Sets a key of the user's own to `value`; from [`BIG_EDIT`] on, to
    /// [`BIG_BYTES`] of text that does not compress, so a few of them take
    /// the relay past its compaction threshold.
    fn edit(&mut self, user: u8, doc: DocumentId, value: u8) {
        let key = format!("{}{}", USERS[usize::from(user)], value % 4);
        trace!("{} edits {doc}: {key} = {value}", USERS[usize::from(user)]);
        self.edits += 1;
        let mut seed = self.edits.wrapping_mul(2_654_435_761);
        let device = self.device(user, doc);
        if value >= BIG_EDIT {
            let text: String = (0..BIG_BYTES)
                .map(|_| {
                    seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                    char::from(b'a' + (seed >> 16) as u8 % 26)
                })
                .collect();
            device.put(ROOT, key, text).expect("put");
        } else {
            device.put(ROOT, key, i64::from(value)).expect("put");
        }
        device.commit();
    }

    /// The device's next sync message for `doc` on connection `c`.
    fn generate(&mut self, c: usize, doc: DocumentId) -> Option<Vec<u8>> {
        let user = self.conns[c].user;
        let mut state = self.conns[c].states.remove(&doc).unwrap_or_default();
        let message = self.device(user, doc).sync().generate_sync_message(&mut state);
        self.conns[c].states.insert(doc, state);
        self.conns[c].opened.insert(doc);
        message.map(sync::Message::encode)
    }

    fn send_sync(&mut self, c: usize, doc: DocumentId, request: bool, data: Vec<u8>) {
        let (sender_id, target_id) = (self.conns[c].claimed.clone(), "relay".to_string());
        let frame = if request {
            Message::Request { sender_id, target_id, document_id: doc, data }
        } else {
            Message::Sync { sender_id, target_id, document_id: doc, data }
        };
        self.receive(c, &frame.encode());
    }

    fn receive(&mut self, c: usize, frame: &[u8]) {
        // The I/O layer stops reading a closed socket.
        let shown =
            Message::decode(frame).map_or_else(|e| format!("{} bad bytes ({e})", frame.len()), |m| brief(&m));
        trace!(
            "conn {} ({}) -> relay: {shown}{}",
            self.conns[c].id,
            USERS[usize::from(self.conns[c].user)],
            if self.conns[c].open { "" } else { " (closed, dropped)" }
        );
        if self.conns[c].open {
            if self.conns[c].user == W {
                self.note_from_writer(frame);
            }
            self.relay.receive(self.conns[c].id, frame);
        }
    }

    /// Adds the changes a frame from `w` carries to what `w` sent, loaded as
    /// the relay would load them.
    fn note_from_writer(&mut self, frame: &[u8]) {
        let Ok(Message::Sync { document_id, data, .. } | Message::Request { document_id, data, .. }) =
            Message::decode(frame)
        else {
            return;
        };
        let Ok(message) = sync::Message::decode(&data) else { return };
        let sent = self.from_writer.entry(document_id).or_default();
        for chunk in message.changes.iter() {
            let _ = sent.load_incremental(chunk);
        }
    }

    /// Honest sync on connection `c` for every document it opened, with
    /// storage answering, until nothing moves.
    fn converse(&mut self, c: usize, rounds: usize) {
        for _ in 0..rounds {
            let mut sent = false;
            let docs: Vec<DocumentId> = self.conns[c].opened.iter().copied().collect();
            for doc in docs {
                if !self.conns[c].open || self.conns[c].peer.is_none() {
                    return;
                }
                if let Some(data) = self.generate(c, doc) {
                    let request = self.device(self.conns[c].user, doc).get_heads().is_empty();
                    self.send_sync(c, doc, request, data);
                    sent = true;
                }
            }
            self.flush();
            if !sent {
                return;
            }
        }
    }

    fn drain(&mut self) {
        while let Some(effect) = self.relay.poll() {
            self.handle(effect);
        }
    }

    fn conn_index(&self, id: ConnId) -> usize {
        self.conns.iter().position(|c| c.id == id).unwrap_or_else(|| panic!("unknown connection {id}"))
    }

    fn handle(&mut self, effect: Effect) {
        if *TRACE {
            match &effect {
                Effect::Send { conn, frame } => {
                    let shown =
                        Message::decode(frame).map_or_else(|e| format!("bad bytes ({e})"), |m| brief(&m));
                    eprintln!("relay -> conn {conn}: {shown}");
                }
                Effect::Write { doc, batch, writes } => {
                    let sizes: Vec<String> = writes
                        .iter()
                        .map(|w| match w {
                            StorageWrite::Append(b) => format!("append {} B", b.len()),
                            StorageWrite::Replace(b) => format!("replace {} B", b.len()),
                            StorageWrite::Share { person, ops } => format!("share {person} +{ops}"),
                        })
                        .collect();
                    eprintln!("relay: write {doc} batch {batch}: {}", sizes.join(", "));
                }
                Effect::SaveSyncState { doc, storage_id, .. } => {
                    eprintln!("relay: save sync state {doc} {storage_id}")
                }
                other => eprintln!("relay: {other:?}"),
            }
        }
        match effect {
            Effect::Send { conn, frame } => self.deliver(conn, &frame),
            Effect::Close { conn, .. } => {
                let c = self.conn_index(conn);
                assert!(
                    self.conns[c].open,
                    "the relay closed connection {conn} twice (or after the I/O layer closed it)"
                );
                self.conns[c].open = false;
            }
            Effect::Load { doc } => {
                assert!(
                    !self.pending.iter().any(|p| matches!(p, Pending::Load(d) if *d == doc)),
                    "two reads of {doc} at once"
                );
                self.pending.push(Pending::Load(doc));
            }
            Effect::LoadSyncState { doc, storage_id } => {
                self.pending.push(Pending::SyncState(doc, storage_id))
            }
            Effect::Write { doc, batch, writes } => {
                assert!(
                    !self.pending.iter().any(|p| matches!(p, Pending::Write(d, ..) if *d == doc)),
                    "two writes of {doc} at once"
                );
                let durable = self.check_write(doc, &writes);
                self.pending.push(Pending::Write(doc, batch, writes, durable));
            }
            Effect::SaveSyncState { doc, storage_id, state } => {
                assert!(sync::State::decode(&state).is_ok(), "a saved sync state that does not decode");
                self.sync_states.insert((doc, storage_id), state);
            }
            Effect::Claim { doc, .. } => panic!("a claim of {doc}, which no user may make"),
            Effect::Apply { doc, job } => {
                assert!(
                    !self.pending.iter().any(|p| matches!(p, Pending::Apply(d, _) if *d == doc)),
                    "two jobs of {doc} at once"
                );
                self.pending.push(Pending::Apply(doc, job));
            }
        }
    }

    /// A frame from the relay reaches the device behind the connection.
    fn deliver(&mut self, conn: ConnId, frame: &[u8]) {
        let c = self.conn_index(conn);
        assert!(self.conns[c].open, "the relay sent a frame to connection {conn} after it was closed");
        let message = Message::decode(frame).expect("the relay sends frames that decode");
        let user = self.conns[c].user;
        let expect_target = |target: &str| {
            let peer = self.conns[c].peer.as_deref();
            assert_eq!(Some(target), peer, "a frame for another peer on connection {conn}: {message:?}");
        };
        match &message {
            Message::Peer { target_id, .. } => {
                assert!(self.conns[c].peer.is_none(), "a second `peer` answer on connection {conn}");
                self.conns[c].peer = Some(target_id.clone());
            }
            Message::Error { .. } => {}
            // Only for what a connection sent itself (frames this harness
            // makes from real edits stay far within the limits): its device
            // keeps its changes, the relay takes no more of them.
            Message::DocRefused { target_id, .. } => expect_target(target_id),
            Message::DocUnavailable { target_id, document_id, .. } => {
                expect_target(target_id);
                let disk = self.disk.get(document_id);
                assert!(
                    right_of(&self.rights, user, document_id) == Right::None
                        || disk.is_none_or(|d| d.broken || d.durable.is_empty()),
                    "{document_id} is stored and user {user} may see it, yet connection {conn} was told it is unavailable"
                );
                // The device forgets the exchange (what it sent went
                // nowhere) and stops syncing the document on this connection.
                self.conns[c].states.remove(document_id);
                self.conns[c].opened.remove(document_id);
            }
            Message::Ephemeral { target_id, document_id, sender_id, .. } => {
                expect_target(target_id);
                assert_ne!(sender_id, target_id, "ephemeral data echoed to its sender");
                let right = right_of(&self.rights, user, document_id);
                assert_ne!(
                    right,
                    Right::None,
                    "ephemeral data of {document_id} sent to user {user}, who has no right to it"
                );
            }
            Message::Sync { target_id, document_id, data, .. } => {
                expect_target(target_id);
                let doc = *document_id;
                let right = right_of(&self.rights, user, &doc);
                assert_ne!(right, Right::None, "{doc} synced to user {user}, who has no right to it");
                let message = sync::Message::decode(data).expect("the relay sends sync messages that decode");
                let durable = self.disk.get(&doc).map(|d| &d.durable);
                for head in &message.heads {
                    assert!(
                        durable.is_some_and(|d| d.contains(head)),
                        "the relay told connection {conn} it has change {head} of {doc} before storing it"
                    );
                }
                let mut state = self.conns[c].states.remove(&doc).unwrap_or_default();
                self.device(user, doc)
                    .sync()
                    .receive_sync_message(&mut state, message)
                    .expect("what the relay sends applies");
                self.conns[c].states.insert(doc, state);
            }
            other => panic!("the relay sent {other:?}"),
        }
    }

    /// What storage holds after this write must load, completely, and hold
    /// nothing made by a user who may not write. Returns its changes.
    fn check_write(&mut self, doc: DocumentId, writes: &[StorageWrite]) -> HashSet<ChangeHash> {
        let disk = self.disk.entry(doc).or_default();
        assert!(!disk.broken, "the relay wrote over stored bytes of {doc} that do not load");
        let mut chunks = disk.chunks.clone();
        apply(&mut chunks, writes);
        let stored = match Automerge::load(&chunks.concat()) {
            Ok(stored) => stored,
            Err(e) => panic!("after this write {doc} in storage does not load: {e}"),
        };
        let changes = stored.get_changes_meta(&[]);
        let sent = self.from_writer.get(&doc);
        for change in &changes {
            assert!(
                sent.is_some_and(|sent| sent.get_change_by_hash(&change.hash).is_some()),
                "change {} of {doc} reached storage, but no connection of `w` sent it (actor {})",
                change.hash,
                change.actor
            );
        }
        changes.iter().map(|c| c.hash).collect()
    }

    /// Answers a storage request. `outcome`: see [`Script::complete`].
    fn complete(&mut self, p: Pending, outcome: u8) {
        trace!(
            "storage answers {} with outcome {}",
            match &p {
                Pending::Load(doc) => format!("load {doc}"),
                Pending::SyncState(doc, id) => format!("load sync state {doc} {id}"),
                Pending::Write(doc, batch, ..) => format!("write {doc} batch {batch}"),
                Pending::Apply(doc, job) => format!("apply to {doc}: {job:?}"),
            },
            outcome % 3
        );
        match p {
            Pending::Load(doc) => match outcome % 3 {
                0 => self.relay.loaded(doc, Err("disk on fire".into())),
                _ => {
                    let chunks = self.disk.get(&doc).map(|d| d.chunks.clone()).unwrap_or_default();
                    self.relay.loaded(doc, Ok(Loaded::parse(chunks)));
                }
            },
            Pending::SyncState(doc, storage_id) => {
                let state = match outcome % 3 {
                    0 => Some(vec![outcome, 1, 2, 3]),
                    1 => None,
                    _ => self.sync_states.get(&(doc, storage_id.clone())).cloned(),
                };
                self.relay.sync_state_loaded(doc, &storage_id, state);
            }
            Pending::Write(doc, batch, writes, durable) => {
                let result = match outcome % 3 {
                    0 => Err("disk full".to_string()),
                    // Stored, but the acknowledgement was lost.
                    1 => {
                        self.disk.entry(doc).or_default().apply(&writes, durable);
                        Err("connection reset".to_string())
                    }
                    _ => {
                        self.disk.entry(doc).or_default().apply(&writes, durable);
                        Ok(())
                    }
                };
                self.relay.written(doc, batch, result);
            }
            Pending::Apply(doc, job) => self.relay.applied(doc, job.run()),
        }
    }

    /// Answers every waiting storage request successfully, oldest first,
    /// with whatever those answers lead to.
    fn flush(&mut self) {
        self.drain();
        for _ in 0..1_000 {
            if self.pending.is_empty() {
                return;
            }
            let p = self.pending.remove(0);
            self.complete(p, 2);
            self.drain();
        }
        panic!("storage requests keep coming");
    }

    fn check_connections(&self) {
        let open = self.conns.iter().filter(|c| c.open).count();
        assert_eq!(self.relay.connections(), open, "the relay counts other connections than are open");
    }

    /// Lets time pass with storage answering until nothing waits (failed
    /// reads and writes are retried a second later).
    fn settle(&mut self) {
        for _ in 0..10 {
            self.flush();
            self.now += 1_500;
            self.relay.tick(self.now);
            self.drain();
            if self.pending.is_empty() {
                return;
            }
        }
        panic!("storage requests keep coming after ticks");
    }

    /// After `w` synced `doc` until quiet, it has exactly what is stored.
    fn check_synced(&mut self, doc: DocumentId, how: &str) {
        if self.disk.get(&doc).is_some_and(|disk| disk.broken) {
            return;
        }
        let mine = heads(self.device(W, doc).get_heads());
        let chunks = self.disk.get(&doc).map(|d| d.chunks.concat()).unwrap_or_default();
        let stored = Automerge::load(&chunks).expect("storage loads");
        assert_eq!(
            heads(stored.get_heads()),
            mine,
            "after syncing {doc} over {how} until quiet, what `w` has is not what is stored"
        );
    }

    fn finish(&mut self) {
        trace!("-- finish: storage answers, `w` may write everything");
        self.settle();
        // `w` may now write everything; a fresh connection per document
        // syncs it from scratch.
        {
            let mut table = self.rights.lock().expect("not poisoned");
            for d in 0..DOCS {
                table.insert((W, doc_id(d)), Right::Write);
            }
        }
        self.relay.access_changed();
        self.settle();
        // Each of its connections still open that only ever sent real sync
        // messages syncs until quiet: the relay takes everything `w` has,
        // including what it ignored while `w` could only read, and `w`
        // gets everything stored.
        for c in 0..self.conns.len() {
            let conn = &self.conns[c];
            if conn.user != W || !conn.open || conn.peer.is_none() || conn.tainted {
                continue;
            }
            self.converse(c, 64);
            self.settle();
            self.converse(c, 64);
            let docs: Vec<DocumentId> = self.conns[c].opened.iter().copied().collect();
            for doc in docs {
                if self.conns[c].open {
                    self.check_synced(doc, &format!("connection {}", self.conns[c].id));
                }
            }
        }
        // A fresh connection per document syncs it from scratch.
        for d in 0..DOCS {
            let doc = doc_id(d);
            if self.disk.get(&doc).is_some_and(|disk| disk.broken) {
                continue;
            }
            let c = self.connect(W);
            self.join_as(c, format!("final-{d}"), 0);
            self.drain();
            assert!(self.conns[c].peer.is_some(), "a fresh join was not answered");
            self.conns[c].opened.insert(doc);
            self.converse(c, 64);
            self.settle();
            self.converse(c, 64);
            self.check_synced(doc, "a fresh connection");
            self.conns[c].open = false;
            self.relay.disconnect(self.conns[c].id);
            self.drain();
        }
        // Everyone leaves; once idle, every document leaves memory.
        for c in 0..self.conns.len() {
            if self.conns[c].open {
                self.conns[c].open = false;
                self.relay.disconnect(self.conns[c].id);
            }
        }
        self.drain();
        for _ in 0..3 {
            self.settle();
            self.now += EVICT_AFTER_MS;
            self.relay.tick(self.now);
            self.drain();
        }
        assert_eq!(self.relay.connections(), 0);
        assert_eq!(self.relay.documents_in_memory(), 0, "idle documents stay in memory");
    }
}

/// A message in one line, without its payload bytes.
fn brief(m: &Message) -> String {
    match m {
        Message::Sync { document_id, data, .. } => format!("sync {document_id} ({} B)", data.len()),
        Message::Request { document_id, data, .. } => format!("request {document_id} ({} B)", data.len()),
        Message::Ephemeral { sender_id, document_id, session_id, count, .. } => {
            format!("ephemeral {document_id} from {sender_id} {session_id} #{count}")
        }
        other => format!("{other:?}"),
    }
}

fn apply(chunks: &mut Vec<Vec<u8>>, writes: &[StorageWrite]) {
    for w in writes {
        match w {
            StorageWrite::Append(bytes) => chunks.push(bytes.clone()),
            StorageWrite::Replace(bytes) => *chunks = vec![bytes.clone()],
            StorageWrite::Share { .. } => {}
        }
    }
}

fn heads(mut heads: Vec<ChangeHash>) -> Vec<ChangeHash> {
    heads.sort();
    heads
}
