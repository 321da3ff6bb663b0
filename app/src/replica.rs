//! A document kept on this device, whatever it holds (a roadmap, a school's
//! file, the catalogue): the browser side of [`medk_shared::replica`]. The
//! replica there decides what to write, journal, compact and move aside;
//! this module carries it out (journal entries in `localStorage`, pieces in
//! IndexedDB through [`Storage`]) and feeds the answers back. The typed
//! wrappers (`OpenRoadmap`, `OpenFile`) add what their content needs; the
//! sync talks to all of them through [`Synced`].
//!
//! Every change is written at once (no save button): the journal entry in
//! the same turn of the event loop as the edit, so a reload or a killed tab
//! right after an edit finds it there, and the piece in a transaction.
//! What another tab stored is read from IndexedDB when it says so
//! ([`Synced::absorb`]).

use crate::storage::{RoadmapMeta, Storage, StorageError};
use automerge::{AutoCommit, AutomergeError, ChangeHash};
use medk_shared::doc::Touched;
use medk_shared::ids::DocumentId;
use medk_shared::replica::{self as core, Op, Origin, Piece, PieceKey, Policy, Unsent};
use medk_shared::sync::client::RelayHolds;
use medk_shared::typed_doc::DocError;
use std::cell::RefCell;
use std::rc::Rc;

/// Why a document could not be opened. The text is for people; what went
/// wrong technically is [`OpenError::detail`].
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("документа нет на этом устройстве")]
    NotFound,
    #[error("хранилище браузера не ответило")]
    Storage(#[from] StorageError),
    /// The stored bytes do not make such a document; they were just moved
    /// to quarantine, untouched.
    #[error("копия на этом устройстве повреждена; её данные отложены и не потеряны")]
    Corrupt(String),
    /// Quarantined earlier.
    #[error("копия на этом устройстве повреждена; её данные отложены и не потеряны")]
    Broken(String),
    /// Written by a newer version of the app: nothing was moved.
    #[error("документ сохранён более новой версией приложения — обновите страницу")]
    Newer(String),
}

impl OpenError {
    /// The technical detail, for a details line (not translated).
    pub fn detail(&self) -> Option<String> {
        match self {
            OpenError::NotFound => None,
            OpenError::Storage(e) => Some(e.detail().to_owned()),
            OpenError::Corrupt(d) | OpenError::Broken(d) | OpenError::Newer(d) => Some(d.clone()),
        }
    }

    /// Whether the server's copy can replace it.
    pub fn is_broken(&self) -> bool {
        matches!(self, OpenError::Corrupt(_) | OpenError::Broken(_))
    }
}

/// Why stored bytes do not make a document of the expected kind.
pub enum Unfit {
    /// Written by a newer version: leave it alone.
    Newer(String),
    /// Not this kind of document at all.
    Wrong(String),
}

impl From<DocError> for Unfit {
    fn from(e: DocError) -> Self {
        match e {
            DocError::NewerSchema(_) => Unfit::Newer(e.to_string()),
            other => Unfit::Wrong(match other.detail() {
                Some(detail) => format!("{other}: {detail}"),
                None => other.to_string(),
            }),
        }
    }
}

/// What a document type must do to be kept on the device.
pub trait Kept: Sized {
    /// Wraps what storage held, checking it is this kind of document.
    fn from_automerge(am: AutoCommit) -> Result<Self, Unfit>;
    fn automerge(&mut self) -> &mut AutoCommit;
    /// The list record for it.
    fn meta(&self, id: &DocumentId) -> RoadmapMeta;
}

/// What the sync needs of any open document.
pub trait Synced {
    /// The Automerge document and its replica, borrowed together.
    fn parts(&mut self) -> (&mut AutoCommit, &mut Replica);
    fn automerge(&mut self) -> &mut AutoCommit {
        self.parts().0
    }
    /// Runs `apply` (a sync message from the relay), stores what it brought
    /// and says what it touched.
    fn receive(
        &mut self,
        apply: &mut dyn FnMut(&mut AutoCommit) -> Result<(), AutomergeError>,
    ) -> Result<Touched, AutomergeError>;
    /// Applies what another tab stored (pieces this one had not seen, read
    /// after [`Synced::unseen`]) and says what it touched.
    fn absorb(&mut self, pieces: &[Piece]) -> Touched;
    /// Of the stored pieces `keys`, those this replica has not seen.
    fn unseen(&mut self, keys: &[PieceKey]) -> Vec<PieceKey> {
        self.parts().1.shell.core.borrow().unseen(keys)
    }
    /// How many changes of this replica the relay does not have yet.
    /// `relay`: what it is known to hold on the live connection.
    fn unsynced(&mut self, relay: Option<RelayHolds>) -> usize {
        let (am, replica) = self.parts();
        replica.unsynced(am, relay)
    }
    /// Compacts if due and writes again what failed (at a quiet moment).
    fn maintain(&mut self) {
        let (am, replica) = self.parts();
        replica.maintain(am);
    }
    /// Registers who is told about local changes.
    fn on_change(&mut self, f: Rc<dyn Fn(DocumentId)>) {
        self.parts().1.on_change = Some(f);
    }
    /// Registers who is told when the list record was rewritten after a
    /// change from elsewhere.
    fn on_meta_stored(&mut self, f: Rc<dyn Fn()>) {
        self.parts().1.shell.on_meta_stored.replace(Some(f));
    }
    /// Registers who is asked for a quiet moment to compact or retry.
    fn on_maintenance(&mut self, f: Rc<dyn Fn(DocumentId)>) {
        self.parts().1.shell.on_maintenance.replace(Some(f));
    }
}

/// Names this tab's journal entries apart from other tabs' (time first, so
/// entries sort in the order tabs were opened).
fn tab_name() -> String {
    thread_local! {
        static NAME: String = format!(
            "{:013}-{:08x}",
            js_sys::Date::now() as u64,
            (js_sys::Math::random() * f64::from(u32::MAX)) as u32
        );
    }
    NAME.with(Clone::clone)
}

/// What the answers to storage requests need, shared with them.
struct Shell {
    id: DocumentId,
    storage: Storage,
    core: RefCell<core::Replica>,
    /// Called with a message when a write to storage fails.
    on_storage_error: Rc<dyn Fn(String)>,
    /// Told when the list record was rewritten after a change from
    /// elsewhere (the list screen re-reads it then, not before the write lands).
    on_meta_stored: RefCell<Option<Rc<dyn Fn()>>>,
    /// Asked for a quiet moment (compaction due, a write to retry).
    on_maintenance: RefCell<Option<Rc<dyn Fn(DocumentId)>>>,
}

/// The storage side of an open document.
pub struct Replica {
    pub id: DocumentId,
    shell: Rc<Shell>,
    /// The list record as last written: typing only bumps its time.
    meta: RoadmapMeta,
    /// Told after every local change (the sync sends it on).
    on_change: Option<Rc<dyn Fn(DocumentId)>>,
    unsent: Unsent,
    /// What opening found wrong but could work around, for the screen.
    notice: Option<String>,
    /// The person was told that changes of this device waiting behind
    /// damaged ones cannot be restored (told once per opening).
    told_lost: bool,
}

impl Replica {
    /// Stores a new document under `id`: its list record and first
    /// snapshot. `made_here` says the relay does not have it yet (a new or
    /// imported roadmap), unlike one fetched from it or a genesis file.
    pub async fn create<D: Kept>(
        storage: &Storage,
        id: DocumentId,
        doc: &mut D,
        made_here: bool,
    ) -> Result<(), StorageError> {
        let mut meta = doc.meta(&id);
        meta.unsent = Some(u32::from(made_here));
        if !made_here {
            // Fetched: changed when its newest change was made, not now.
            if let Some(newest) = core::newest_change(doc.automerge(), &[]) {
                meta.updated = core::changed_at(0.0, Some(newest), meta.updated);
            }
        }
        storage.create(&meta, doc.automerge().save()).await?;
        Ok(())
    }

    /// Loads a stored document: its pieces in any order and its journal.
    /// Bytes that cannot be read are moved aside (the rest opens); a whole
    /// that is not such a document is moved to quarantine.
    pub async fn open<D: Kept>(
        storage: &Storage,
        id: DocumentId,
        on_storage_error: Rc<dyn Fn(String)>,
    ) -> Result<(Replica, D), OpenError> {
        let meta = storage.meta(&id).await?.ok_or(OpenError::NotFound)?;
        if let Some(reason) = meta.broken.clone() {
            return Err(OpenError::Broken(reason));
        }
        let pieces = storage.load(&id).await?;
        let journal = crate::journal::pending(&id);
        let (mut am, mut core, opened, ops) =
            core::Replica::open(&pieces, &journal, &tab_name(), Policy::default());
        // What is written from here is known as this device's even if the
        // list of its actors is lost (see `Unsent`).
        let prefix = device_prefix();
        am.set_actor(core::device_actor(&prefix, &crate::browser::random_bytes()));
        let unsent = Unsent::new(load_synced(&id), load_actors(&id)).with_device(&prefix);
        let waiting = unsent.count_waiting(core.waiting(&mut am));
        let doc = match D::from_automerge(am) {
            Ok(doc) => doc,
            Err(Unfit::Newer(detail)) => return Err(OpenError::Newer(detail)),
            Err(Unfit::Wrong(detail)) => {
                // Damaged bytes come first: what was left is not such a
                // document because of them, not because it never was one.
                let reason = match opened.unreadable.first() {
                    Some(first) => format!("данные повреждены ({first}); без них {detail}"),
                    None => detail,
                };
                let journaled: Vec<Vec<u8>> = journal.iter().map(|e| e.bytes.clone()).collect();
                storage.quarantine(&id, &reason, &journaled).await?;
                for entry in &journal {
                    crate::journal::remove(&id, &entry.name);
                }
                return Err(OpenError::Corrupt(reason));
            }
        };
        // Changes already found lost and said to be are not announced again.
        let notice = if opened.unreadable.is_empty() && waiting > 0 && told_lost(&id) == Some(waiting) {
            None
        } else {
            opened_notice(!opened.unreadable.is_empty(), !opened.waiting_for.is_empty(), waiting)
        };
        if !opened.unreadable.is_empty() {
            web_sys::console::warn_1(&format!("{id}: unreadable pieces: {:?}", opened.unreadable).into());
        }
        let shell = Rc::new(Shell {
            id,
            storage: storage.clone(),
            core: RefCell::new(core),
            on_storage_error,
            on_meta_stored: RefCell::new(None),
            on_maintenance: RefCell::new(None),
        });
        run(&shell, ops, None);
        Ok((Replica { id, shell, meta, on_change: None, unsent, notice, told_lost: false }, doc))
    }

    /// Changes by `actor` are on every device from the start (a well-known
    /// file's genesis): never owed to the relay.
    pub fn set_genesis(&mut self, actor: automerge::ActorId) {
        self.unsent.set_genesis(actor);
    }

    /// What opening found wrong but worked around, once.
    pub fn take_notice(&mut self) -> Option<String> {
        self.notice.take()
    }

    /// Writes the changes made since the last write. `meta` is the new list
    /// record when it changed (else only its time is bumped). `origin` says
    /// whether they were made here (the sync is told to send them).
    pub fn write(&mut self, am: &mut AutoCommit, meta: Option<RoadmapMeta>, origin: Origin) {
        let newest = match origin {
            Origin::Received => self.shell.core.borrow().newest_unwritten(am),
            Origin::Local => None,
        };
        let ops = self.shell.core.borrow_mut().write(am, origin);
        if ops.is_empty() {
            return;
        }
        // Only an actor that made changes is this device's (a write with
        // nothing new must not make a reader look like a writer).
        if origin == Origin::Local && self.unsent.wrote_as(am.get_actor()) {
            save_actors(&self.id, self.unsent.local_actors());
            // A document made here (not opened from storage) still writes
            // as a random actor: the next change is the device's own.
            let prefix = device_prefix();
            if !am.get_actor().to_bytes().starts_with(&prefix) {
                am.set_actor(core::device_actor(&prefix, &crate::browser::random_bytes()));
            }
        }
        let unsent = self.meta.unsent;
        let previous = self.meta.updated;
        let now = js_sys::Date::now();
        match meta {
            Some(meta) => self.meta = meta,
            None => self.meta.updated = now,
        }
        // «Изменена» in the list is when the document was changed, by
        // whoever; receiving it is not changing it.
        if origin == Origin::Received {
            self.meta.updated = core::changed_at(previous, newest, now);
        }
        // Until the next count, a local write means «something unsent»:
        // a reload before that count must not say all is saved.
        self.meta.unsent = match origin {
            Origin::Local => Some(unsent.unwrap_or(0) + 1),
            Origin::Received => unsent,
        };
        let notify = origin == Origin::Received;
        run(&self.shell, ops, Some((self.meta.clone(), notify)));
        if self.shell.core.borrow().compaction_due() {
            self.shell.ask_for_maintenance();
        }
        if origin == Origin::Local
            && let Some(f) = &self.on_change
        {
            f(self.id);
        }
    }

    /// Applies pieces another tab stored (see [`core::Replica::absorb`]);
    /// returns whether the document changed.
    pub fn absorb(&mut self, am: &mut AutoCommit, pieces: &[Piece]) -> bool {
        let absorbed = self.shell.core.borrow_mut().absorb(am, pieces);
        if !absorbed.unreadable.is_empty() {
            // Left where they are: the next opening moves them aside.
            web_sys::console::warn_1(
                &format!("{}: unreadable pieces from another tab: {:?}", self.id, absorbed.unreadable).into(),
            );
        }
        // Changes only memory held, let apply by what was read: stored
        // without the list record (this tab's copy of it is about to be
        // replaced, see `keep_meta`).
        run(&self.shell, absorbed.ops, None);
        absorbed.changed
    }

    /// The list record as the document reads after absorbing what another
    /// tab stored: that tab wrote it already; this one keeps it for its own
    /// next write (with its own count of what is unsent, which the next
    /// recount corrects).
    pub fn keep_meta(&mut self, meta: RoadmapMeta) {
        self.meta = RoadmapMeta { unsent: self.meta.unsent, ..meta };
    }

    /// Compacts if due; writes again what failed.
    pub fn maintain(&mut self, am: &mut AutoCommit) {
        let mut core = self.shell.core.borrow_mut();
        let mut ops = core.retry(am);
        if core.compaction_due() {
            ops.extend(core.compact(am));
        }
        drop(core);
        run(&self.shell, ops, None);
    }

    /// See [`Synced::unsynced`]. Keeps the count in the list record when it
    /// changed, so the indicator knows it before the document is opened.
    pub fn unsynced(&mut self, am: &mut AutoCommit, relay: Option<RelayHolds>) -> usize {
        if let Some(RelayHolds { shared, .. }) = &relay
            && self.unsent.relay_has(shared)
        {
            save_synced(&self.id, shared);
        }
        // Changes waiting behind a damaged piece are owed too, until the
        // relay is known not to have what they wait for either.
        let told = told_lost(&self.id);
        let waiting = {
            let mut core = self.shell.core.borrow_mut();
            let waiting = core.waiting(am);
            self.unsent.split_waiting(am, waiting, relay.as_ref().map(|r| r.heads.as_slice()), told)
        };
        if waiting.lost > 0 && !self.told_lost {
            self.told_lost = true;
            // Once per loss, not at every opening.
            if told != Some(waiting.lost) {
                crate::browser::set_setting(&lost_key(&self.id), &waiting.lost.to_string());
                (self.shell.on_storage_error)(lost_notice(&self.meta.title, waiting.lost));
            }
        }
        let count = self.unsent.count(am) + waiting.owed;
        let counted = Some(u32::try_from(count).unwrap_or(u32::MAX));
        if self.meta.unsent != counted {
            self.meta.unsent = counted;
            let storage = self.shell.storage.clone();
            let meta = self.meta.clone();
            wasm_bindgen_futures::spawn_local(async move {
                let _ = storage.put_meta(&meta).await;
            });
        }
        count
    }
}

/// Changes of this device that waited behind damaged ones, now known to be
/// lost: what they waited for is not on the server either.
fn lost_notice(title: &str, lost: usize) -> String {
    let what = if title.trim().is_empty() { String::new() } else { format!(" в «{}»", title.trim()) };
    let n = lost as i64;
    let (made, are) = if medk_shared::ru::singular(n) {
        ("сделанное", "оно шло")
    } else {
        ("сделанные", "они шли")
    };
    format!(
        "Не восстановить {}{what}, {made} на этом устройстве: {are} после повреждённых данных, \
         которых нет и на сервере. Остальное в документе на месте, и они больше не считаются неотправленными.",
        medk_shared::ru::CHANGES.count(n)
    )
}

/// What opening a document found wrong but worked around, said as it is:
/// pieces that could not be read (`damaged`), changes stored here that wait
/// for others nobody stored here (`waiting_for`), `owed_waiting` of them
/// this device's own, not yet on the server.
fn opened_notice(damaged: bool, waiting_for: bool, owed_waiting: usize) -> Option<String> {
    let damaged_text = if damaged {
        "Часть данных этого документа на устройстве повреждена и отложена; остальное открыто."
    } else {
        "Часть данных этого документа на устройстве была повреждена раньше."
    };
    match (damaged, owed_waiting) {
        (true, 0) => Some(format!(
            "{damaged_text} Если повреждённые изменения успели уйти на сервер, они вернутся при синхронизации; \
             если нет, их не восстановить."
        )),
        (_, n) if n > 0 => {
            let (made, wait, are) = if medk_shared::ru::singular(n as i64) {
                ("сделанное", "ждёт их и пока не видно", "оно хранится и учтено как неотправленное")
            } else {
                ("сделанные", "ждут их и пока не видны", "они хранятся и учтены как неотправленные")
            };
            Some(format!(
                "{damaged_text} Ещё {} этого устройства, {made} после повреждённых, {wait}: \
                 если повреждённые успели уйти на сервер, всё вернётся при синхронизации; если нет, этого \
                 не восстановить. Пока это не известно, {are}.",
                medk_shared::ru::CHANGES.count(n as i64)
            ))
        }
        (false, _) if waiting_for => Some(
            "Часть изменений на этом устройстве ждёт других, которых здесь нет (они были в повреждённых \
             данных): если те есть на сервере, всё появится при синхронизации; если нет, этих изменений \
             не восстановить."
                .to_owned(),
        ),
        _ => None,
    }
}

impl Shell {
    fn ask_for_maintenance(&self) {
        let f = self.on_maintenance.borrow().clone();
        if let Some(f) = f {
            f(self.id);
        }
    }
}

/// Carries out what the replica asked, and feeds the answers back. The
/// first append goes with `meta` (the list record), in its transaction;
/// `notify` says the list screen is told once it is written.
fn run(shell: &Rc<Shell>, ops: Vec<Op>, mut meta: Option<(RoadmapMeta, bool)>) {
    let id = shell.id;
    for op in ops {
        match op {
            Op::Journal { entry, bytes } => {
                if !crate::journal::put(&id, &entry, &bytes) {
                    web_sys::console::warn_1(&"localStorage refused a journal entry".into());
                }
            }
            Op::Unjournal { entries } => {
                for entry in entries {
                    crate::journal::remove(&id, &entry);
                }
            }
            Op::Append { write, bytes } => {
                let shell = shell.clone();
                let meta = meta.take();
                wasm_bindgen_futures::spawn_local(async move {
                    let record = meta.as_ref().map(|(m, _)| m);
                    let result = shell.storage.append(&id, bytes, record).await;
                    if let Err(e) = &result {
                        web_sys::console::warn_1(&format!("{id}: append failed: {}", e.detail()).into());
                        (shell.on_storage_error)(format!(
                            "Изменение пока не сохранено в хранилище браузера ({e}); повторим через секунду."
                        ));
                        shell.ask_for_maintenance();
                    } else if let Some((_, true)) = meta {
                        let f = shell.on_meta_stored.borrow().clone();
                        if let Some(f) = f {
                            f();
                        }
                    }
                    let ops = shell.core.borrow_mut().appended(write, result.map_err(|e| e.to_string()));
                    run(&shell, ops, None);
                });
            }
            Op::Compact { write, snapshot, replaces } => {
                let shell = shell.clone();
                wasm_bindgen_futures::spawn_local(async move {
                    let result = shell.storage.compact(&id, snapshot, &replaces).await;
                    let ops = shell.core.borrow_mut().compacted(write, result.map_err(|e| e.to_string()));
                    run(&shell, ops, None);
                });
            }
            Op::Quarantine { write, snapshot, pieces, entries, reason } => {
                let shell = shell.clone();
                wasm_bindgen_futures::spawn_local(async move {
                    let journaled: Vec<Vec<u8>> = entries.iter().map(|e| e.bytes.clone()).collect();
                    let result =
                        shell.storage.quarantine_pieces(&id, snapshot, &pieces, &journaled, &reason).await;
                    let ops = shell.core.borrow_mut().quarantined(write, result.map_err(|e| e.to_string()));
                    run(&shell, ops, None);
                });
            }
        }
    }
}

fn synced_key(id: &DocumentId) -> String {
    format!("medk.synced.{id}")
}

fn load_synced(id: &DocumentId) -> Vec<ChangeHash> {
    crate::browser::setting_list(&synced_key(id)).iter().filter_map(|h| h.parse().ok()).collect()
}

fn save_synced(id: &DocumentId, heads: &[ChangeHash]) {
    crate::browser::set_setting_list(&synced_key(id), heads);
}

/// The relay has everything up to `heads` of a document (one just fetched
/// from it), before it is opened.
pub fn relay_had(id: &DocumentId, heads: &[ChangeHash]) {
    save_synced(id, heads);
}

/// The prefix of every actor this device writes with
/// ([`core::device_actor`]): made at its first start and kept.
fn device_prefix() -> [u8; core::DEVICE_PREFIX_BYTES] {
    const KEY: &str = "medk.device-actor";
    let kept =
        crate::browser::setting(KEY).and_then(|hex| hex::decode(hex).ok()).and_then(|b| b.try_into().ok());
    kept.unwrap_or_else(|| {
        let made = crate::browser::random_bytes();
        crate::browser::set_setting(KEY, &hex::encode(made));
        made
    })
}

/// How many changes the person was told are lost ([`lost_notice`]).
fn lost_key(id: &DocumentId) -> String {
    format!("medk.lost.{id}")
}

fn told_lost(id: &DocumentId) -> Option<usize> {
    crate::browser::setting(&lost_key(id))?.parse().ok()
}

fn actors_key(id: &DocumentId) -> String {
    format!("medk.actors.{id}")
}

/// The actors this device wrote a document with (its own changes are the
/// ones it may owe the relay).
fn load_actors(id: &DocumentId) -> Vec<automerge::ActorId> {
    let stored = crate::browser::setting_list(&actors_key(id));
    stored.iter().filter_map(|a| automerge::ActorId::try_from(a.as_str()).ok()).collect()
}

/// Whether this device ever wrote to the document (its actors are known):
/// if not, nothing of its own can be lost with unreadable bytes (a
/// coordinator who only reads is not asked to check «her» last edits).
pub fn wrote_here(id: &DocumentId) -> bool {
    !load_actors(id).is_empty()
}

fn save_actors<'a>(id: &DocumentId, actors: impl Iterator<Item = &'a automerge::ActorId>) {
    crate::browser::set_setting_list(&actors_key(id), actors);
}

/// Deletions asked for on this device and not yet finished, noted in
/// `localStorage` in the same turn as the click: a tab closed before
/// IndexedDB committed the deletion must not bring the document back
/// ([`finish_deletions`] completes them when the app starts).
const DELETING_KEY: &str = "medk.deleting";

/// Notes that the person asked to delete a document, before anything
/// asynchronous happens (see [`DELETING_KEY`]).
pub fn will_delete(id: &DocumentId) {
    let mut ids = crate::browser::setting_list(DELETING_KEY);
    let id = id.to_string();
    if !ids.contains(&id) {
        ids.push(id);
        crate::browser::set_setting_list(DELETING_KEY, ids);
    }
}

fn deleted(id: &str) {
    let ids = crate::browser::setting_list(DELETING_KEY);
    crate::browser::set_setting_list(DELETING_KEY, ids.into_iter().filter(|x| x != id));
}

/// Removes a document from this device: its pieces and list record, then
/// what is kept of it outside IndexedDB ([`forget`], whose answer is
/// returned). If IndexedDB fails, the document stays, and so does
/// everything about it.
pub async fn delete(storage: &Storage, id: &DocumentId) -> Result<KeptOutside, StorageError> {
    will_delete(id);
    let result = storage.delete(id).await.map(|()| forget(id));
    deleted(&id.to_string());
    result
}

/// Finishes the deletions a closed tab left undone ([`DELETING_KEY`]).
pub async fn finish_deletions(storage: &Storage) {
    for id in crate::browser::setting_list(DELETING_KEY) {
        match DocumentId::parse(&id) {
            Ok(doc) => {
                if let Err(e) = delete(storage, &doc).await {
                    web_sys::console::warn_1(&format!("{id} could not be deleted: {e}").into());
                }
            }
            Err(_) => deleted(&id),
        }
    }
}

/// Forgets what this device kept about a document outside IndexedDB (it
/// was deleted here): its journal, the heads the relay had and its actors.
/// Returns the last two, for [`put_back`] if the deletion is undone.
fn forget(id: &DocumentId) -> KeptOutside {
    let kept = KeptOutside {
        synced: crate::browser::setting(&synced_key(id)),
        actors: crate::browser::setting(&actors_key(id)),
    };
    crate::journal::remove_all(id);
    crate::browser::remove_setting(&synced_key(id));
    crate::browser::remove_setting(&actors_key(id));
    crate::browser::remove_setting(&lost_key(id));
    kept
}

/// What [`forget`] dropped besides the journal: the heads the relay had and
/// the device's actors. Without them a roadmap put back by «Отменить»
/// counted its whole history as unsent until the relay answered (a trial
/// saw «не отправлено: 7320» offline for 26 changes).
#[derive(Clone, Debug, Default)]
pub struct KeptOutside {
    synced: Option<String>,
    actors: Option<String>,
}

/// Puts back what [`forget`] dropped, before the document is opened again.
pub fn put_back(id: &DocumentId, kept: &KeptOutside) {
    if let Some(synced) = &kept.synced {
        crate::browser::set_setting(&synced_key(id), synced);
    }
    if let Some(actors) = &kept.actors {
        crate::browser::set_setting(&actors_key(id), actors);
    }
}
