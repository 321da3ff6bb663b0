//! A document kept in a device's storage, without the I/O: what to write
//! after each change, when and how to compact, the journal of writes that
//! may not have committed, how stored pieces load back, and which pieces
//! another tab of the device stored since ([`Replica::unseen`],
//! [`Replica::absorb`]). The browser runs it over IndexedDB and
//! `localStorage` (`app/src/replica.rs`); `tests/replica_sim.rs` runs it
//! over a model of them with seeded schedules of edits, received changes,
//! compactions, two tabs reading each other's pieces and killed tabs, and
//! checks that nothing stored is ever lost.
//!
//! The storage it expects (what IndexedDB gives):
//! - **pieces**: byte strings under keys the store assigns (auto-increment),
//!   each an Automerge snapshot or a batch of changes. Loading accepts any
//!   order and any mix ([`load`]); a write is one atomic transaction.
//! - **a journal**: a synchronous key-value store (`localStorage`) where a
//!   write's bytes go in the same turn as the edit, so a tab killed before
//!   its transaction commits loses nothing. An entry is removed only once a
//!   committed piece holds exactly its bytes.
//!
//! The rules that make it lossless:
//! - A piece is deleted only by a compaction that replaces it with a
//!   snapshot holding everything in it, and only if this replica read or
//!   wrote that piece whole ([`Replica::held`]); pieces written by another
//!   tab, or unreadable ones, are never deleted by it.
//! - Snapshots keep changes that wait for a missing dependency (Automerge's
//!   `retain_orphans`), so compaction never drops them.
//! - A failed write is written again with the next one; its journal entry
//!   stays until then.
//!
//! Two tabs of a device share one storage. Storage is the source of truth
//! between them: a tab that stored something tells the others only which
//! document (a hint, trusted for nothing), and each reads the pieces of it
//! it has not seen and applies them. A piece read whole that way is held
//! like one read at opening; an unreadable one is left where it is for the
//! next opening to move aside.

pub mod load;

use std::collections::{BTreeMap, BTreeSet};

use automerge::{AutoCommit, ChangeHash};

pub use load::{Loaded, change_hashes, has_change, readable_changes};

/// The key the store gave a piece.
pub type PieceKey = u64;

/// Identifies a write this replica asked for, in the answer to it.
pub type WriteId = u64;

/// Writes of changes received from elsewhere larger than this are not
/// journaled: the relay still has them if the tab dies first, and
/// `localStorage` holds a few megabytes at most.
pub const JOURNAL_RECEIVED_MAX: usize = 64 * 1024;

/// When to compact.
#[derive(Clone, Copy, Debug)]
pub struct Policy {
    /// Compact once this many pieces are held (opening reads each one).
    pub max_pieces: usize,
    /// ... or once the change batches written since the last snapshot
    /// outweigh it and this many bytes.
    pub min_bytes: usize,
}

impl Default for Policy {
    fn default() -> Self {
        Policy { max_pieces: 64, min_bytes: 64 * 1024 }
    }
}

/// What a write holds, which decides whether it is journaled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// Made on this device: journaled always.
    Local,
    /// Received from the relay: journaled when small.
    Received,
}

/// A journal entry read back at opening.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JournalEntry {
    pub name: String,
    pub bytes: Vec<u8>,
}

/// A stored piece read back at opening.
#[derive(Clone, Debug)]
pub struct Piece {
    pub key: PieceKey,
    pub bytes: Vec<u8>,
}

/// What the replica asks of its storage. `Journal` and `Unjournal` are
/// synchronous and done at once, in order; the others are transactions,
/// each answered with the method their doc names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    /// Put `bytes` in the journal under `entry`.
    Journal { entry: String, bytes: Vec<u8> },
    /// Remove journal entries whose bytes are in a committed piece.
    Unjournal { entries: Vec<String> },
    /// Store a batch of changes as a new piece. Answer: [`Replica::appended`].
    Append { write: WriteId, bytes: Vec<u8> },
    /// Store `snapshot` as a new piece and delete `replaces`, in one
    /// transaction. Answer: [`Replica::compacted`].
    Compact { write: WriteId, snapshot: Vec<u8>, replaces: Vec<PieceKey> },
    /// Move unreadable pieces and journal entries aside, untouched, and
    /// store `snapshot` (what could be read of everything) as a new piece,
    /// in one transaction: the readable part of a damaged piece is never
    /// only in memory. Answer: [`Replica::quarantined`].
    Quarantine {
        write: WriteId,
        snapshot: Vec<u8>,
        pieces: Vec<PieceKey>,
        entries: Vec<JournalEntry>,
        reason: String,
    },
}

/// What [`Replica::absorb`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Absorbed {
    /// The document has changes it did not have before.
    pub changed: bool,
    /// Why pieces could not be read whole (left where they are).
    pub unreadable: Vec<String>,
    /// Writes of what memory alone held (see [`Replica::absorb`]).
    pub ops: Vec<Op>,
}

/// A write in flight: its bytes (written again if it fails) and the journal
/// entries that hold exactly them.
#[derive(Debug)]
struct Pending {
    bytes: Vec<u8>,
    entries: Vec<String>,
}

/// What opening found, beyond the document.
#[derive(Debug, Default)]
pub struct Opened {
    /// Pieces and journal entries that could not be read whole, with why;
    /// what could be read of them is in the document, and they are moved
    /// aside by the returned [`Op::Quarantine`].
    pub unreadable: Vec<String>,
    /// Changes stored here wait for these, which nobody stored here; the
    /// relay has them if anyone synced them.
    pub waiting_for: Vec<ChangeHash>,
}

/// The storage side of one open document (see the module doc).
#[derive(Debug)]
pub struct Replica {
    policy: Policy,
    /// Names this replica's journal entries apart from another tab's.
    tab: String,
    /// Pieces whose whole content is in the document in memory: all a
    /// compaction may delete.
    held: BTreeSet<PieceKey>,
    /// Every piece this replica read (whole or not) or wrote: what another
    /// tab stored is the rest.
    seen: BTreeSet<PieceKey>,
    /// Heads of everything handed to storage (written, or being written).
    handed: Vec<ChangeHash>,
    writes: BTreeMap<WriteId, Pending>,
    /// Writes that failed, written again with the next one.
    failed: Vec<Pending>,
    compacting: Option<WriteId>,
    /// The pieces the compaction in flight replaces.
    replacing: BTreeSet<PieceKey>,
    /// The quarantine in flight, and the journal entries it moves aside.
    quarantining: Option<(WriteId, Vec<String>)>,
    next_write: WriteId,
    next_entry: u64,
    /// Bytes of change batches held beside the last snapshot, and its size.
    batch_bytes: usize,
    snapshot_bytes: usize,
    /// Stored changes that wait for others nobody stored here (a damaged
    /// piece held what they build on): queued in the document (and in its
    /// `save()`), invisible to a count of its changes.
    waiting: Vec<automerge::Change>,
}

impl Replica {
    /// A new document, stored as its first snapshot by the returned op.
    /// `tab` must differ between tabs sharing the storage.
    pub fn create(am: &mut AutoCommit, tab: &str, policy: Policy) -> (Replica, Vec<Op>) {
        let mut replica = Replica::empty(tab, policy);
        replica.handed = am.get_heads();
        let snapshot = am.save();
        replica.snapshot_bytes = snapshot.len();
        let write = replica.next_write();
        replica.compacting = Some(write);
        (replica, vec![Op::Compact { write, snapshot, replaces: Vec::new() }])
    }

    /// Opens what storage holds for a document: its pieces and journal
    /// entries, in any order. Returns the document, what was found, and
    /// the ops that store journal entries as pieces (then remove them) and
    /// move unreadable bytes aside.
    pub fn open(
        pieces: &[Piece],
        journal: &[JournalEntry],
        tab: &str,
        policy: Policy,
    ) -> (AutoCommit, Replica, Opened, Vec<Op>) {
        let mut replica = Replica::empty(tab, policy);
        let bytes: Vec<&[u8]> =
            pieces.iter().map(|p| &p.bytes[..]).chain(journal.iter().map(|e| &e.bytes[..])).collect();
        let Loaded { mut doc, unreadable, waiting_for, waiting } = load::load(&bytes);
        let mut opened = Opened { unreadable: Vec::new(), waiting_for };
        replica.waiting = waiting;
        let mut bad_pieces = Vec::new();
        let mut bad_entries = Vec::new();
        let mut journaled = Vec::new();
        replica.seen.extend(pieces.iter().map(|p| p.key));
        for (i, why) in unreadable.into_iter().enumerate() {
            match (i.checked_sub(pieces.len()), why) {
                (None, None) => replica.hold(&pieces[i]),
                (None, Some(why)) => {
                    opened.unreadable.push(why);
                    bad_pieces.push(pieces[i].key);
                }
                (Some(j), None) => journaled.push(journal[j].clone()),
                (Some(j), Some(why)) => {
                    opened.unreadable.push(why);
                    bad_entries.push(journal[j].clone());
                }
            }
        }
        // What the pieces hold is handed; what only the journal holds is
        // stored by the append below (its exact bytes, so the entries can
        // go once it commits).
        replica.handed = doc.get_heads();
        let mut ops = Vec::new();
        if !journaled.is_empty() {
            let write = replica.next_write();
            let bytes: Vec<u8> = journaled.iter().flat_map(|e| e.bytes.iter().copied()).collect();
            let entries = journaled.into_iter().map(|e| e.name).collect();
            replica.writes.insert(write, Pending { bytes: bytes.clone(), entries });
            ops.push(Op::Append { write, bytes });
        }
        if !bad_pieces.is_empty() || !bad_entries.is_empty() {
            let write = replica.next_write();
            let names = bad_entries.iter().map(|e| e.name.clone()).collect();
            replica.quarantining = Some((write, names));
            let reason = opened.unreadable.join("; ");
            let snapshot = doc.save();
            ops.push(Op::Quarantine { write, snapshot, pieces: bad_pieces, entries: bad_entries, reason });
        }
        (doc, replica, opened, ops)
    }

    fn empty(tab: &str, policy: Policy) -> Replica {
        Replica {
            policy,
            tab: tab.to_owned(),
            held: BTreeSet::new(),
            seen: BTreeSet::new(),
            handed: Vec::new(),
            writes: BTreeMap::new(),
            failed: Vec::new(),
            compacting: None,
            replacing: BTreeSet::new(),
            quarantining: None,
            next_write: 1,
            next_entry: 1,
            batch_bytes: 0,
            snapshot_bytes: 0,
            waiting: Vec::new(),
        }
    }

    /// Stored changes still waiting for others (see [`Self::waiting`]'s
    /// field); those applied meanwhile (what they waited for came from the
    /// relay) are dropped from the list.
    pub fn waiting(&mut self, am: &mut AutoCommit) -> &[automerge::Change] {
        if !self.waiting.is_empty() {
            self.waiting.retain(|change| !has_change(am, &change.hash()));
        }
        &self.waiting
    }

    /// A piece whose whole content is in the document now.
    fn hold(&mut self, piece: &Piece) {
        if !self.held.insert(piece.key) {
            return;
        }
        if load::is_snapshot(&piece.bytes) {
            self.snapshot_bytes = self.snapshot_bytes.max(piece.bytes.len());
        } else {
            self.batch_bytes += piece.bytes.len();
        }
    }

    fn next_write(&mut self) -> WriteId {
        let id = self.next_write;
        self.next_write += 1;
        id
    }

    /// Stores what changed since the last write (local edits or received
    /// changes): a journal entry now, a piece in a transaction. Nothing
    /// when nothing changed.
    pub fn write(&mut self, am: &mut AutoCommit, origin: Origin) -> Vec<Op> {
        let heads = am.get_heads();
        let fresh = if heads == self.handed { Vec::new() } else { am.save_after(&self.handed) };
        self.handed = heads;
        if fresh.is_empty() && self.failed.is_empty() {
            return Vec::new();
        }
        let mut ops = Vec::new();
        let mut entries = Vec::new();
        let journaled = origin == Origin::Local || fresh.len() <= JOURNAL_RECEIVED_MAX;
        if !fresh.is_empty() && journaled {
            let entry = format!("{}-{:08}", self.tab, self.next_entry);
            self.next_entry += 1;
            ops.push(Op::Journal { entry: entry.clone(), bytes: fresh.clone() });
            entries.push(entry);
        }
        let mut bytes = Vec::new();
        for failed in std::mem::take(&mut self.failed) {
            bytes.extend(failed.bytes);
            entries.extend(failed.entries);
        }
        bytes.extend(fresh);
        let write = self.next_write();
        self.writes.insert(write, Pending { bytes: bytes.clone(), entries });
        ops.push(Op::Append { write, bytes });
        ops
    }

    /// When the newest change not handed to [`Self::write`] yet was made:
    /// the time its author's device stamped on it (ms since the epoch), if
    /// any carries one.
    pub fn newest_unwritten(&self, am: &mut AutoCommit) -> Option<i64> {
        newest_change(am, &self.handed)
    }

    /// Writes again what failed to be written, if anything.
    pub fn retry(&mut self, am: &mut AutoCommit) -> Vec<Op> {
        if self.failed.is_empty() { Vec::new() } else { self.write(am, Origin::Received) }
    }

    /// The answer to an [`Op::Append`]: the piece's key, or why it failed.
    pub fn appended(&mut self, write: WriteId, result: Result<PieceKey, String>) -> Vec<Op> {
        let Some(pending) = self.writes.remove(&write) else { return Vec::new() };
        match result {
            Ok(key) => {
                self.seen.insert(key);
                if self.held.insert(key) {
                    self.batch_bytes += pending.bytes.len();
                }
                if pending.entries.is_empty() {
                    Vec::new()
                } else {
                    vec![Op::Unjournal { entries: pending.entries }]
                }
            }
            Err(_) => {
                self.failed.push(pending);
                Vec::new()
            }
        }
    }

    /// Whether a compaction is due (the caller picks a quiet moment).
    pub fn compaction_due(&self) -> bool {
        if self.compacting.is_some() {
            return false;
        }
        let pieces = self.held.len() + self.writes.len();
        pieces >= self.policy.max_pieces
            || (self.batch_bytes >= self.policy.min_bytes && self.batch_bytes >= self.snapshot_bytes)
    }

    /// Replaces every piece this replica holds with one snapshot of `am`.
    /// Nothing while a compaction is in flight.
    pub fn compact(&mut self, am: &mut AutoCommit) -> Vec<Op> {
        if self.compacting.is_some() {
            return Vec::new();
        }
        let snapshot = am.save();
        let write = self.next_write();
        self.compacting = Some(write);
        self.replacing.clone_from(&self.held);
        self.snapshot_bytes = snapshot.len();
        self.batch_bytes = 0;
        vec![Op::Compact { write, snapshot, replaces: self.held.iter().copied().collect() }]
    }

    /// The answer to an [`Op::Compact`].
    pub fn compacted(&mut self, write: WriteId, result: Result<PieceKey, String>) -> Vec<Op> {
        if self.compacting != Some(write) {
            return Vec::new();
        }
        self.compacting = None;
        let replaced = std::mem::take(&mut self.replacing);
        if let Ok(key) = result {
            self.held.retain(|k| !replaced.contains(k));
            self.held.insert(key);
            self.seen.insert(key);
        }
        Vec::new()
    }

    /// The answer to an [`Op::Quarantine`]: the snapshot's key, or why it
    /// failed (then the same bytes are found unreadable at the next opening).
    pub fn quarantined(&mut self, write: WriteId, result: Result<PieceKey, String>) -> Vec<Op> {
        let Some((pending, entries)) = self.quarantining.take() else { return Vec::new() };
        if pending != write {
            self.quarantining = Some((pending, entries));
            return Vec::new();
        }
        match result {
            Ok(key) => {
                self.held.insert(key);
                self.seen.insert(key);
                if entries.is_empty() { Vec::new() } else { vec![Op::Unjournal { entries }] }
            }
            Err(_) => Vec::new(),
        }
    }

    /// Of the pieces storage holds for the document now (`keys`), those
    /// this replica has neither read nor written: another tab's, to read
    /// and [`Self::absorb`]. A piece of its own whose answer has not come
    /// yet may be among them; absorbing it again changes nothing.
    pub fn unseen(&self, keys: &[PieceKey]) -> Vec<PieceKey> {
        let mut unseen: Vec<PieceKey> = keys.iter().copied().filter(|k| !self.seen.contains(k)).collect();
        unseen.sort_unstable();
        unseen.dedup();
        unseen
    }

    /// Applies to `am` what pieces another tab stored hold (read after
    /// [`Self::unseen`]; any already seen are passed over). A piece read
    /// whole is held from now on (its changes are in memory, so a
    /// compaction here may replace it); an unreadable one is only reported,
    /// and left for the next opening to move aside. What is applied is in
    /// storage already: it is not written again, unless it let changes
    /// apply that only memory held (the returned ops write those).
    pub fn absorb(&mut self, am: &mut AutoCommit, pieces: &[Piece]) -> Absorbed {
        let fresh: Vec<&Piece> = pieces.iter().filter(|p| !self.seen.contains(&p.key)).collect();
        if fresh.is_empty() {
            return Absorbed::default();
        }
        let before = am.get_heads();
        // Only when everything in memory was handed to storage can the
        // heads after this be taken as handed: not when something was not
        // written yet, nor when changes wait in memory for a dependency
        // (received out of order, never written: one of these pieces may
        // bring what they wait for). Otherwise what is new is written now,
        // the absorbed changes again among it (harmless).
        let caught_up = before == self.handed && am.get_missing_deps(&[]).is_empty();
        let bytes: Vec<&[u8]> = fresh.iter().map(|p| &p.bytes[..]).collect();
        let unreadable = load::load_into(am, &bytes);
        let mut absorbed = Absorbed::default();
        for (piece, why) in fresh.into_iter().zip(unreadable) {
            self.seen.insert(piece.key);
            match why {
                None => self.hold(piece),
                Some(why) => absorbed.unreadable.push(why),
            }
        }
        let after = am.get_heads();
        absorbed.changed = after != before;
        if caught_up {
            self.handed = after;
        } else if absorbed.changed {
            absorbed.ops = self.write(am, Origin::Received);
        }
        absorbed
    }

    /// Pieces whose content this replica holds in memory.
    pub fn held(&self) -> impl Iterator<Item = PieceKey> + '_ {
        self.held.iter().copied()
    }

    /// Whether everything handed to storage has committed.
    pub fn settled(&self) -> bool {
        self.writes.is_empty()
            && self.failed.is_empty()
            && self.compacting.is_none()
            && self.quarantining.is_none()
    }

    /// Whether a write failed and waits to be written again.
    pub fn has_failed_writes(&self) -> bool {
        !self.failed.is_empty()
    }
}

/// The count of this device's changes to a document that the relay is not
/// known to have. Only changes made here count (by the actors this device
/// used for the document, or any actor that starts with the device's own
/// prefix, [`device_actor`]): changes received from others are on the relay
/// by definition, however far behind the acknowledged heads are while
/// someone else types. Until the relay has confirmed anything of the
/// document, every change counts (it has none of them: a roadmap made
/// here, imported or duplicated). Cheap while someone types: a keystroke
/// adds what is new since the last count, read from change metadata.
#[derive(Debug, Default)]
pub struct Unsent {
    /// Heads the relay is known to have.
    synced: Vec<ChangeHash>,
    /// The actors this device wrote the document with (one per session).
    local: BTreeSet<automerge::ActorId>,
    /// The last count and the heads it was made at.
    counted: Option<(Vec<ChangeHash>, usize)>,
    /// The maker of an identical first change every device has (a
    /// well-known file's genesis): never owed to the relay.
    genesis: Option<automerge::ActorId>,
    /// The device's actor prefix ([`device_actor`]): every actor that
    /// starts with it is this device's, whether or not `local` still
    /// lists it (the list lives in `localStorage`, which a killed browser
    /// may not have written).
    device: Vec<u8>,
}

/// Length of a device's actor prefix.
pub const DEVICE_PREFIX_BYTES: usize = 16;

/// An actor for one session of this device: its `prefix` (made once per
/// device and kept) and `session` bytes of its own, so every tab writes as
/// a different actor and every actor of the device is known as its own.
pub fn device_actor(prefix: &[u8; DEVICE_PREFIX_BYTES], session: &[u8; 8]) -> automerge::ActorId {
    let mut bytes = prefix.to_vec();
    bytes.extend_from_slice(session);
    automerge::ActorId::from(bytes)
}

impl Unsent {
    /// Starts from heads the relay was known to have and the actors this
    /// device wrote with (both kept across reloads).
    pub fn new(synced: Vec<ChangeHash>, local: impl IntoIterator<Item = automerge::ActorId>) -> Unsent {
        Unsent {
            synced,
            local: local.into_iter().collect(),
            counted: None,
            genesis: None,
            device: Vec::new(),
        }
    }

    /// Actors starting with `prefix` are this device's ([`device_actor`]).
    pub fn with_device(mut self, prefix: &[u8; DEVICE_PREFIX_BYTES]) -> Unsent {
        self.device = prefix.to_vec();
        self.counted = None;
        self
    }

    /// Changes by `actor` are on every device from the start.
    pub fn set_genesis(&mut self, actor: automerge::ActorId) {
        self.genesis = Some(actor);
        self.counted = None;
    }

    /// The heads the relay is known to have.
    pub fn synced(&self) -> &[ChangeHash] {
        &self.synced
    }

    /// The relay has everything up to `heads` (returns whether that is news,
    /// so the caller keeps it).
    pub fn relay_has(&mut self, heads: &[ChangeHash]) -> bool {
        if heads == self.synced {
            return false;
        }
        self.synced = heads.to_vec();
        self.counted = None;
        true
    }

    /// This device writes the document as `actor` (returns whether that is
    /// news, so the caller keeps it).
    pub fn wrote_as(&mut self, actor: &automerge::ActorId) -> bool {
        if self.local.contains(actor) {
            return false;
        }
        self.local.insert(actor.clone());
        self.counted = None;
        true
    }

    /// The actors this device wrote with.
    pub fn local_actors(&self) -> impl Iterator<Item = &automerge::ActorId> {
        self.local.iter()
    }

    /// How many of `waiting` (stored changes that cannot be applied yet,
    /// [`Replica::waiting`]) are owed to the relay: [`Self::count`] cannot
    /// see them in the document.
    pub fn count_waiting(&self, waiting: &[automerge::Change]) -> usize {
        waiting.iter().filter(|c| self.owes(c.actor_id())).count()
    }

    /// Of `waiting`, as [`Self::count_waiting`]: how many are owed and may
    /// still be sent, and how many are lost. They are lost once the relay is
    /// known to hold nothing `am` lacks (every one of its `relay_heads` is
    /// here): the changes they wait for are then on no device that syncs
    /// (they were in damaged bytes), so they can never be applied or sent,
    /// and counting them as unsent would keep the indicator from ever
    /// saying all is saved. `found_lost` is how many were found lost before
    /// (the device remembers it): the same number waiting, offline now, are
    /// those, and stay lost.
    pub fn split_waiting(
        &self,
        am: &mut AutoCommit,
        waiting: &[automerge::Change],
        relay_heads: Option<&[ChangeHash]>,
        found_lost: Option<usize>,
    ) -> Waiting {
        let owed = self.count_waiting(waiting);
        let relay_has_nothing_more = relay_heads.is_some_and(|heads| heads.iter().all(|h| has_change(am, h)));
        if owed > 0 && (relay_has_nothing_more || found_lost == Some(owed)) {
            Waiting { owed: 0, lost: owed }
        } else {
            Waiting { owed, lost: 0 }
        }
    }

    /// Whether a change by `actor` the relay lacks is owed to it by this
    /// device: any but the genesis until the relay confirmed anything, then
    /// this device's own.
    fn owes(&self, actor: &automerge::ActorId) -> bool {
        Some(actor) != self.genesis.as_ref()
            && (self.synced.is_empty()
                || self.local.contains(actor)
                || (!self.device.is_empty() && actor.to_bytes().starts_with(&self.device)))
    }

    /// How many of this device's changes to `am` the relay does not have.
    pub fn count(&mut self, am: &mut AutoCommit) -> usize {
        let counted = self.counted.take();
        let heads = am.get_heads();
        let known = |hashes: &[ChangeHash], am: &mut AutoCommit| hashes.iter().all(|h| has_change(am, h));
        let owed = |since: &[ChangeHash], am: &mut AutoCommit| {
            am.get_changes_meta(since).iter().filter(|c| self.owes(c.actor.as_ref())).count()
        };
        let (count, exact) = match counted {
            Some((counted, n)) if counted == heads => (n, true),
            Some((counted, n)) if known(&counted, am) => (n + owed(&counted, am), true),
            _ if known(&self.synced, am) => (owed(&self.synced, am), true),
            // The relay has heads this device lacks (it lost what it
            // received, or another tab kept heads this one has not had
            // yet): every change made here counts, which may be more than
            // is owed, never less. Not a base for later counts: once the
            // heads arrive, the count is taken from them.
            _ => (owed(&[], am), false),
        };
        self.counted = exact.then_some((heads, count));
        count
    }
}

/// When the newest change after `since` was made (ms since the epoch, as
/// its author's device stamped it), if any carries a time.
pub fn newest_change(am: &mut AutoCommit, since: &[ChangeHash]) -> Option<i64> {
    am.get_changes_meta(since).iter().map(|c| c.timestamp).filter(|t| *t > 0).max()
}

/// When a document was last changed, as its list says («изменена …»),
/// after changes made elsewhere arrive: when the newest of them was made
/// (`newest`, stamped by its author's device), never later than `now` (a
/// device whose clock runs ahead) and never earlier than `previous` (an old
/// change that arrives late). Changes without a time leave it as it was:
/// receiving is not changing.
pub fn changed_at(previous: f64, newest: Option<i64>, now: f64) -> f64 {
    newest.map_or(previous, |t| (t as f64).min(now).max(previous))
}

/// This device's changes that wait behind missing ones ([`Unsent::split_waiting`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Waiting {
    /// Not on the relay yet and may still reach it (what they wait for may
    /// come from the relay).
    pub owed: usize,
    /// Can never be applied or sent: what they wait for is on no device.
    pub lost: usize,
}

/// What [`salvage`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Salvaged {
    /// Changes the document did not have, now applied.
    pub added: usize,
    /// Readable changes left out: they depend on changes nobody has here.
    pub left_out: usize,
    /// Whether some of the damaged bytes could not be read at all (what
    /// they held, unsent changes among it, is not in the document).
    pub unreadable: bool,
}

/// Applies to `base` every change that can still be read from damaged
/// bytes (quarantined pieces), one at a time, in an order that satisfies
/// dependencies. Changes whose dependencies are nowhere are left out (they
/// stay in the damaged bytes), so the document never waits forever.
pub fn salvage(base: &mut AutoCommit, damaged: &[Vec<u8>]) -> Salvaged {
    let mut pending: Vec<automerge::Change> = Vec::new();
    let mut seen = BTreeSet::new();
    let mut unreadable = false;
    for bytes in damaged {
        let (changes, whole) = load::readable_changes_of(bytes);
        unreadable |= !whole;
        for change in changes {
            if seen.insert(change.hash()) && !has_change(base, &change.hash()) {
                pending.push(change);
            }
        }
    }
    let mut added = 0;
    loop {
        let before = pending.len();
        let mut rest = Vec::with_capacity(pending.len());
        for change in pending {
            if change.deps().iter().all(|d| has_change(base, d)) {
                if base.apply_changes([change]).is_ok() {
                    added += 1;
                }
            } else {
                rest.push(change);
            }
        }
        pending = rest;
        if pending.len() == before || pending.is_empty() {
            break;
        }
    }
    Salvaged { added, left_out: pending.len(), unreadable }
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::transaction::Transactable as _;
    use automerge::{ActorId, ROOT};

    /// Stored bytes that start like an Automerge chunk and are not one.
    const MAGIC_GARBAGE: [u8; 12] = [0x85, 0x6f, 0x4a, 0x83, 1, 2, 3, 4, 1, 200, 1, 9];

    fn edit(doc: &mut AutoCommit, key: &str) {
        doc.put(ROOT, key, 1).unwrap();
        doc.commit();
    }

    /// Found by a trial: one damaged piece in the middle of unsent work
    /// left the changes after it waiting for it, and they were not counted
    /// (30 unsent became 14): the indicator said less than was owed.
    #[test]
    fn changes_waiting_behind_a_damaged_piece_count_and_outlive_compactions() {
        let prefix = [7u8; DEVICE_PREFIX_BYTES];
        let (mut doc, synced, mut pieces) = typed_offline(&prefix, 30);
        // The piece holding the 15th change is damaged.
        let lost = doc.get_last_local_change().is_some().then(|| pieces[15].bytes.clone()).unwrap();
        pieces[15].bytes = MAGIC_GARBAGE.to_vec();
        let unsent = || Unsent::new(synced.clone(), []).with_device(&prefix);

        let stored = |pieces: &[Piece], ops: &[Op]| -> Vec<Piece> {
            let mut kept: Vec<Piece> = pieces.to_vec();
            for op in ops {
                match op {
                    Op::Quarantine { pieces: gone, snapshot, .. } => {
                        kept.retain(|p| !gone.contains(&p.key));
                        kept.push(Piece { key: 100, bytes: snapshot.clone() });
                    }
                    Op::Compact { snapshot, replaces, .. } => {
                        kept.retain(|p| !replaces.contains(&p.key));
                        kept.push(Piece { key: 200, bytes: snapshot.clone() });
                    }
                    _ => {}
                }
            }
            kept
        };
        let (mut am, mut replica, opened, ops) = Replica::open(&pieces, &[], "tab", Policy::default());
        assert_eq!(opened.unreadable.len(), 1, "{:?}", opened.unreadable);
        assert!(!opened.waiting_for.is_empty());
        let mut count = unsent();
        assert_eq!(count.count(&mut am), 14, "the changes before the damaged one");
        assert_eq!(
            count.count_waiting(replica.waiting(&mut am)),
            15,
            "the changes after it wait, and are owed"
        );

        // The quarantine's snapshot and a compaction replace the pieces;
        // the waiting changes are still there when the device opens again.
        let mut pieces = stored(&pieces, &ops);
        if let Some(Op::Quarantine { write, .. }) = ops.iter().find(|op| matches!(op, Op::Quarantine { .. }))
        {
            replica.quarantined(*write, Ok(100));
        }
        let compaction = replica.compact(&mut am);
        pieces = stored(&pieces, &compaction);
        let (mut am, mut replica, opened, _) = Replica::open(&pieces, &[], "tab", Policy::default());
        assert!(opened.unreadable.is_empty(), "{:?}", opened.unreadable);
        let mut count = unsent();
        assert_eq!(count.count(&mut am) + count.count_waiting(replica.waiting(&mut am)), 29);

        // The damaged change comes back (the relay had it after all): the
        // waiting ones apply, and count once.
        am.load_incremental(&lost).unwrap();
        assert!(replica.waiting(&mut am).is_empty());
        assert_eq!(count.count(&mut am), 30);
        assert_eq!(am.get_heads(), doc.get_heads());
    }

    /// A document this device (`prefix`) wrote: a base the relay has (its
    /// heads returned), then `n` changes typed offline, stored a piece each
    /// after the base's snapshot.
    fn typed_offline(
        prefix: &[u8; DEVICE_PREFIX_BYTES],
        n: u64,
    ) -> (AutoCommit, Vec<ChangeHash>, Vec<Piece>) {
        let mut doc = AutoCommit::new().with_actor(device_actor(prefix, &[1; 8]));
        edit(&mut doc, "base");
        let synced = doc.get_heads();
        let mut pieces = vec![Piece { key: 1, bytes: doc.save() }];
        for i in 0..n {
            let before = doc.get_heads();
            edit(&mut doc, &format!("k{i}"));
            pieces.push(Piece { key: i + 2, bytes: doc.save_after(&before) });
        }
        (doc, synced, pieces)
    }

    /// A trial's device said «не отправлено: 27» for good: changes waiting
    /// behind a damaged one the relay never had were counted as unsent
    /// forever. Once the relay is known to hold nothing the device lacks,
    /// they are lost, and said to be.
    #[test]
    fn changes_waiting_for_what_the_relay_lacks_too_are_lost_not_unsent() {
        let prefix = [7u8; DEVICE_PREFIX_BYTES];
        let (mut doc, synced, mut pieces) = typed_offline(&prefix, 10);
        pieces[4].bytes = MAGIC_GARBAGE.to_vec();
        let (mut am, mut replica, _, _) = Replica::open(&pieces, &[], "tab", Policy::default());
        let unsent = Unsent::new(synced.clone(), []).with_device(&prefix);
        let mut split = |relay: Option<&[ChangeHash]>, found_lost: Option<usize>| {
            let waiting = replica.waiting(&mut am);
            unsent.split_waiting(&mut am, waiting, relay, found_lost)
        };
        assert_eq!(split(None, None), Waiting { owed: 6, lost: 0 }, "offline: they may yet be sent");
        let everything = doc.get_heads();
        assert_eq!(
            split(Some(&everything), None),
            Waiting { owed: 6, lost: 0 },
            "the relay has what the device lacks: they will apply when it arrives"
        );
        assert_eq!(
            split(Some(&synced), None),
            Waiting { owed: 0, lost: 6 },
            "the relay has nothing more: lost"
        );
        assert_eq!(
            split(Some(&[]), None),
            Waiting { owed: 0, lost: 6 },
            "the relay has nothing at all: lost"
        );
        assert_eq!(
            split(None, Some(6)),
            Waiting { owed: 0, lost: 6 },
            "found lost before, offline now: still lost"
        );
        assert_eq!(
            split(None, Some(2)),
            Waiting { owed: 6, lost: 0 },
            "other changes than those found lost: they may yet be sent"
        );
    }

    /// A trial's coordinator saw every roadmap «изменена» at the moment her
    /// device received it in the morning, not when it was changed.
    #[test]
    fn a_document_is_changed_when_its_newest_change_was_made_not_when_it_arrived() {
        let mut doc = AutoCommit::new();
        doc.put(ROOT, "a", 1).unwrap();
        doc.commit_with(automerge::transaction::CommitOptions::default().with_time(1_000));
        let (mut am, mut replica, _, _) =
            Replica::open(&[Piece { key: 1, bytes: doc.save() }], &[], "tab", Policy::default());
        assert_eq!(replica.newest_unwritten(&mut am), None, "what was loaded is written");
        let mut other = doc.fork();
        for time in [5_000, 3_000, 0] {
            other.put(ROOT, "a", time).unwrap();
            other.commit_with(automerge::transaction::CommitOptions::default().with_time(time));
        }
        am.merge(&mut other).unwrap();
        assert_eq!(replica.newest_unwritten(&mut am), Some(5_000));
        replica.write(&mut am, Origin::Received);
        assert_eq!(replica.newest_unwritten(&mut am), None);

        assert_eq!(changed_at(2_000.0, Some(5_000), 9_000.0), 5_000.0);
        assert_eq!(changed_at(2_000.0, Some(50_000), 9_000.0), 9_000.0, "a clock ahead is not believed");
        assert_eq!(changed_at(6_000.0, Some(5_000), 9_000.0), 6_000.0, "a late old change");
        assert_eq!(changed_at(6_000.0, None, 9_000.0), 6_000.0, "no time: as it was");
    }

    #[test]
    fn only_this_devices_changes_are_owed_once_the_relay_has_confirmed_any() {
        let mut relay = AutoCommit::new().with_actor(ActorId::from(b"relay-side".as_slice()));
        edit(&mut relay, "a");
        let mut device = relay.fork().with_actor(ActorId::from(b"this-device".as_slice()));
        let mut unsent = Unsent::new(relay.get_heads(), []);
        assert_eq!(unsent.count(&mut device), 0);

        // Someone else types a thousand changes; they arrive through the
        // relay before it acknowledges anything new: nothing is owed.
        let mut other = relay.fork().with_actor(ActorId::from(b"colleague".as_slice()));
        for i in 0..1000 {
            edit(&mut other, &format!("k{i}"));
        }
        device.merge(&mut other).unwrap();
        assert_eq!(unsent.count(&mut device), 0, "a colleague's changes are not this device's debt");

        // Two changes made here are.
        unsent.wrote_as(device.get_actor());
        edit(&mut device, "mine1");
        edit(&mut device, "mine2");
        assert_eq!(unsent.count(&mut device), 2);

        // The relay acknowledges them.
        let heads = device.get_heads();
        assert!(unsent.relay_has(&heads));
        assert_eq!(unsent.count(&mut device), 0);
    }

    /// Found by a trial: a browser killed offline had not written the
    /// session's actor to `localStorage`, so after the restart the changes
    /// made before the kill did not count, and the top bar said «Всё
    /// сохранено» before any was sent. The device's actor prefix counts
    /// them whatever the list holds; another tab of the device counts too.
    #[test]
    fn a_devices_changes_count_when_the_list_of_its_actors_was_lost() {
        let prefix = [7u8; DEVICE_PREFIX_BYTES];
        let mut relay = AutoCommit::new().with_actor(ActorId::from(b"relay-side".as_slice()));
        edit(&mut relay, "title");
        let mut device = relay.fork().with_actor(device_actor(&prefix, &[1; 8]));
        edit(&mut device, "a");
        edit(&mut device, "b");
        let mut other_tab = device.fork().with_actor(device_actor(&prefix, &[2; 8]));
        edit(&mut other_tab, "c");
        device.merge(&mut other_tab).unwrap();
        let mut colleague = relay.fork().with_actor(ActorId::from(b"colleague".as_slice()));
        edit(&mut colleague, "d");
        device.merge(&mut colleague).unwrap();
        // The list of actors is empty (lost): only the prefix says whose.
        let mut lost = Unsent::new(relay.get_heads(), []);
        assert_eq!(lost.count(&mut device), 0, "without the prefix the device's changes were not counted");
        let mut unsent = Unsent::new(relay.get_heads(), []).with_device(&prefix);
        assert_eq!(unsent.count(&mut device), 3, "both tabs' changes, not the colleague's");
    }

    /// Carries out `ops` over `pieces` as IndexedDB would, each
    /// transaction committing at once; answers go back to `replica`.
    fn store(replica: &mut Replica, pieces: &mut Vec<Piece>, ops: Vec<Op>) {
        for op in ops {
            let key = pieces.iter().map(|p| p.key).max().unwrap_or(0) + 1;
            match op {
                Op::Append { write, bytes } => {
                    pieces.push(Piece { key, bytes });
                    let more = replica.appended(write, Ok(key));
                    store(replica, pieces, more);
                }
                Op::Compact { write, snapshot, replaces } => {
                    pieces.retain(|p| !replaces.contains(&p.key));
                    pieces.push(Piece { key, bytes: snapshot });
                    replica.compacted(write, Ok(key));
                }
                Op::Journal { .. } | Op::Unjournal { .. } | Op::Quarantine { .. } => {}
            }
        }
    }

    fn keys(pieces: &[Piece]) -> Vec<PieceKey> {
        pieces.iter().map(|p| p.key).collect()
    }

    /// The issue-15 finding: two tabs of one device editing offline did not
    /// see each other's work (nor count it) until the relay brought it.
    /// Each reads from storage the pieces the other stored.
    #[test]
    fn a_tab_reads_what_another_tab_stored_and_counts_it_as_the_devices() {
        let prefix = [3u8; DEVICE_PREFIX_BYTES];
        let mut relay = AutoCommit::new().with_actor(ActorId::from(b"relay-side".as_slice()));
        edit(&mut relay, "title");
        let mut pieces = vec![Piece { key: 1, bytes: relay.save() }];
        let policy = Policy { max_pieces: 1000, min_bytes: usize::MAX };
        let (a_doc, mut a, _, _) = Replica::open(&pieces, &[], "a", policy);
        let (b_doc, mut b, _, _) = Replica::open(&pieces, &[], "b", policy);
        let mut a_doc = a_doc.with_actor(device_actor(&prefix, &[1; 8]));
        let mut b_doc = b_doc.with_actor(device_actor(&prefix, &[2; 8]));
        assert!(b.unseen(&keys(&pieces)).is_empty(), "what both opened is seen");

        edit(&mut a_doc, "from-a");
        edit(&mut a_doc, "from-a-again");
        let ops = a.write(&mut a_doc, Origin::Local);
        store(&mut a, &mut pieces, ops);
        assert!(a.unseen(&keys(&pieces)).is_empty(), "a tab's own pieces are seen");

        // The other tab is told (a hint) and reads what it has not seen.
        let unseen = b.unseen(&keys(&pieces));
        assert_eq!(unseen.len(), 1);
        let read: Vec<Piece> = pieces.iter().filter(|p| unseen.contains(&p.key)).cloned().collect();
        let absorbed = b.absorb(&mut b_doc, &read);
        assert_eq!(absorbed, Absorbed { changed: true, unreadable: Vec::new(), ops: Vec::new() });
        assert_eq!(b_doc.get_heads(), a_doc.get_heads());
        let mut unsent = Unsent::new(relay.get_heads(), []).with_device(&prefix);
        assert_eq!(unsent.count(&mut b_doc), 2, "the other tab's changes are this device's");
        assert_eq!(b.absorb(&mut b_doc, &read), Absorbed::default(), "read once");
        assert!(b.unseen(&keys(&pieces)).is_empty());

        // What was absorbed is in storage already: the next write holds
        // only the tab's own change.
        edit(&mut b_doc, "from-b");
        let ops = b.write(&mut b_doc, Origin::Local);
        let Some(Op::Append { bytes, .. }) = ops.iter().find(|op| matches!(op, Op::Append { .. })) else {
            panic!("a write appends: {ops:?}")
        };
        assert_eq!(load::change_hashes(bytes).len(), 1, "absorbed changes are not stored again");
        store(&mut b, &mut pieces, ops);

        // A compaction there is one more piece here, adding nothing new;
        // the pieces it replaced are gone, which is nothing to read.
        let ops = b.compact(&mut b_doc);
        store(&mut b, &mut pieces, ops);
        assert_eq!(pieces.len(), 1, "the absorbed piece was held, so it was replaced too");
        let unseen = a.unseen(&keys(&pieces));
        let read: Vec<Piece> = pieces.iter().filter(|p| unseen.contains(&p.key)).cloned().collect();
        assert!(a.absorb(&mut a_doc, &read).changed, "the snapshot brings the other tab's change");
        assert_eq!(a_doc.get_heads(), b_doc.get_heads());
        let ops = b.compact(&mut b_doc);
        store(&mut b, &mut pieces, ops);
        let unseen = a.unseen(&keys(&pieces));
        let read: Vec<Piece> = pieces.iter().filter(|p| unseen.contains(&p.key)).cloned().collect();
        assert_eq!(read.len(), 1);
        assert!(!a.absorb(&mut a_doc, &read).changed, "a snapshot of what is here changes nothing");
    }

    #[test]
    fn an_unreadable_piece_another_tab_stored_is_reported_and_never_replaced() {
        let mut doc = AutoCommit::new();
        edit(&mut doc, "a");
        let pieces = vec![Piece { key: 1, bytes: doc.save() }];
        let (mut am, mut replica, _, _) = Replica::open(&pieces, &[], "a", Policy::default());
        let mut other = doc.fork();
        edit(&mut other, "b");
        let mut damaged = other.save_after(&doc.get_heads());
        let last = damaged.len() - 1;
        damaged[last] ^= 0xff;
        let read = vec![Piece { key: 7, bytes: damaged }, Piece { key: 8, bytes: vec![1, 2, 3] }];
        let absorbed = replica.absorb(&mut am, &read);
        assert!(!absorbed.changed);
        assert_eq!(absorbed.unreadable.len(), 2);
        assert!(replica.unseen(&[1, 7, 8]).is_empty(), "not read again at every hint");
        let ops = replica.compact(&mut am);
        let Some(Op::Compact { replaces, .. }) = ops.first() else { panic!("{ops:?}") };
        assert_eq!(replaces, &vec![1], "only what is held whole is replaced");
    }

    #[test]
    fn a_document_the_relay_never_confirmed_owes_everything_but_its_genesis() {
        let genesis = ActorId::from(b"genesis".as_slice());
        let mut doc = AutoCommit::new().with_actor(genesis.clone());
        edit(&mut doc, "kind");
        let mut doc = doc.fork().with_actor(ActorId::from(b"importer".as_slice()));
        edit(&mut doc, "a");
        edit(&mut doc, "b");
        let mut unsent = Unsent::new(Vec::new(), []);
        assert_eq!(unsent.count(&mut doc), 3, "an imported roadmap: the relay has none of it");
        unsent.set_genesis(genesis);
        assert_eq!(unsent.count(&mut doc), 2, "a well-known file's genesis is on every device");
    }

    #[test]
    fn when_the_relay_has_heads_this_device_lost_its_own_changes_all_count() {
        let mut doc = AutoCommit::new().with_actor(ActorId::from(b"this-device".as_slice()));
        let mut unsent = Unsent::new(Vec::new(), [doc.get_actor().clone()]);
        edit(&mut doc, "a");
        edit(&mut doc, "b");
        let mut elsewhere = doc.fork().with_actor(ActorId::from(b"colleague".as_slice()));
        edit(&mut elsewhere, "c");
        unsent.relay_has(&elsewhere.get_heads());
        // The device does not know the relay's head: its own two changes
        // count (more than is owed, never less).
        assert_eq!(unsent.count(&mut doc), 2);
    }

    /// Found by the device simulation: a tab that learnt the relay's heads
    /// (kept by another tab) before it had them counted its own changes as
    /// owed, and kept that count as the base of later ones, so once the
    /// heads arrived the top bar said «не отправлено» forever.
    #[test]
    fn an_over_count_ends_when_the_relay_heads_arrive() {
        let mut doc = AutoCommit::new().with_actor(ActorId::from(b"this-device".as_slice()));
        let mut unsent = Unsent::new(Vec::new(), [doc.get_actor().clone()]);
        edit(&mut doc, "a");
        let mut relay = doc.fork().with_actor(ActorId::from(b"colleague".as_slice()));
        edit(&mut relay, "b");
        unsent.relay_has(&relay.get_heads());
        assert_eq!(unsent.count(&mut doc), 1, "the relay's head is unknown here: own changes count");
        doc.merge(&mut relay).unwrap();
        assert_eq!(unsent.count(&mut doc), 0, "the relay's head arrived: it has everything made here");
    }
}
