//! Accounts, sessions, invitations, the organisation tree and who may do
//! what with which roadmap: the server's side of `medk_shared::access`.
//!
//! Everything lives in `access.redb` in the data dir (one fsynced transaction
//! per change) and, for speed, in memory: the relay asks for a right on every
//! sync message. Writes are serialised by one lock and applied to memory only
//! after they are durable. Changes that affect live connections are
//! announced on [`Accounts::events`].
//!
//! Secrets: passwords are stored as Argon2id hashes (PHC strings); session
//! tokens and invitation codes are 256-bit random values of which only the
//! SHA-256 is a key, so lookups never compare secrets byte by byte and a copy
//! of the database signs nobody in.

use medk_shared::catalogue::catalogue_id;
use medk_shared::school::school_file_id;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use medk_shared::access::{
    AccessError, Level, Org, Person, Right, RoadmapAccess, Role, SchoolPowers, Unit, UnitId, UserId,
};
use medk_shared::ids::DocumentId;
use redb::{Database, ReadableDatabase as _, ReadableTable as _, TableDefinition};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use tokio::sync::broadcast;

/// The accounts database inside the data dir.
pub const ACCOUNTS_FILE: &str = "access.redb";

/// A session lasts this long from sign-in.
pub const SESSION_SECONDS: u64 = 30 * 24 * 3600;
/// An invitation is valid this long.
pub const INVITATION_SECONDS: u64 = 14 * 24 * 3600;
/// Shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 8;

const UNITS: TableDefinition<&str, &[u8]> = TableDefinition::new("units");
const PEOPLE: TableDefinition<&str, &[u8]> = TableDefinition::new("people");
const SESSIONS: TableDefinition<&str, &[u8]> = TableDefinition::new("sessions");
const INVITATIONS: TableDefinition<&str, &[u8]> = TableDefinition::new("invitations");
const ROADMAPS: TableDefinition<&str, &[u8]> = TableDefinition::new("roadmaps");
/// The server's own secrets, by name: today the key that signs device
/// cookies ([`crate::throttle::DeviceCookie`]).
const SECRETS: TableDefinition<&str, &[u8]> = TableDefinition::new("secrets");
/// Roadmaps deleted for everyone: id → [`Tombstone`]. They are never
/// registered again, so a device that still has one cannot bring it back.
const DELETED: TableDefinition<&str, &[u8]> = TableDefinition::new("deleted_roadmaps");

/// Most roadmaps registered to one unit (a school, a municipality...) by
/// syncing them: far more than a school makes, few enough that one
/// account cannot fill the registry. Roadmaps moved there count too;
/// imported ones do not.
pub const MAX_REGISTRATIONS_PER_UNIT: usize = 500;

/// Most of a unit's registered roadmaps one person may have registered:
/// a fifth of [`MAX_REGISTRATIONS_PER_UNIT`], so that one member (or one
/// stolen session) cannot use up the school's room for everyone else.
pub const MAX_REGISTRATIONS_PER_PERSON: usize = 100;

/// How many roadmaps may be registered by syncing them: to one unit, and
/// by one person to one unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RegistrationLimits {
    pub per_unit: usize,
    pub per_person: usize,
}

impl Default for RegistrationLimits {
    fn default() -> Self {
        RegistrationLimits { per_unit: MAX_REGISTRATIONS_PER_UNIT, per_person: MAX_REGISTRATIONS_PER_PERSON }
    }
}

/// Why an accounts operation failed. The Russian text is what the person
/// sees; [`AccountsError::Storage`] details go to the log only.
#[derive(Debug, thiserror::Error)]
pub enum AccountsError {
    #[error("неверный логин или пароль")]
    BadCredentials,
    #[error("логин «{0}» уже занят")]
    LoginTaken(String),
    #[error("логин: от 3 до 64 символов, латинские буквы, цифры, точка, дефис, подчёркивание")]
    BadLogin,
    #[error("пароль должен быть не короче {MIN_PASSWORD_CHARS} символов")]
    WeakPassword,
    #[error("нет такого человека")]
    NoSuchPerson,
    #[error("приглашение не найдено, уже использовано или истекло")]
    NoSuchInvitation,
    #[error("недостаточно прав")]
    Forbidden,
    #[error("не найдено")]
    NotFound,
    #[error("дорожная карта удалена для всех")]
    Gone,
    #[error(
        "у организации «{0}» на сервере уже столько дорожных карт, сколько он принимает ({1}): новую он не \
         примет, пока координатор не удалит ненужные"
    )]
    TooManyRoadmaps(String, usize),
    #[error(
        "вы уже зарегистрировали на сервере столько дорожных карт организации «{0}», сколько он принимает от \
         одного человека ({1}): новую он не примет, пока ненужные не будут удалены"
    )]
    TooManyRoadmapsOfYours(String, usize),
    #[error("{0}")]
    Invalid(#[from] AccessError),
    #[error("{0}")]
    BadInput(String),
    #[error("ошибка хранилища на сервере")]
    Storage(String),
    #[error("на сервере закончилось место на диске: изменение не сохранено; попробуйте позже")]
    DiskFull(String),
}

impl<E: Into<redb::Error>> From<E> for StorageError {
    fn from(e: E) -> Self {
        let e = e.into();
        let io = matches!(e, redb::Error::Io(_) | redb::Error::PreviousIo | redb::Error::DatabaseClosed);
        let full = matches!(&e, redb::Error::Io(e) if is_disk_full(e));
        StorageError { text: e.to_string(), io, full }
    }
}

/// A redb failure, turned into [`AccountsError::Storage`] or
/// [`AccountsError::DiskFull`].
pub struct StorageError {
    text: String,
    /// redb needs the file reopened after it.
    io: bool,
    /// No space left on the device (or over a disk quota).
    full: bool,
}

impl From<StorageError> for AccountsError {
    fn from(e: StorageError) -> Self {
        if e.full { AccountsError::DiskFull(e.text) } else { AccountsError::Storage(e.text) }
    }
}

/// Whether an I/O error says the disk is full.
pub fn is_disk_full(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::StorageFull || e.kind() == std::io::ErrorKind::QuotaExceeded
}

/// A stored account: the person and their password hash.
#[derive(Clone, Serialize, Deserialize)]
struct Account {
    person: Person,
    /// Argon2id PHC string.
    password: String,
}

/// A signed-in device.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Session {
    pub user: UserId,
    pub expires_at: u64,
}

/// An invitation to register with a role in a unit: kept as the API lists
/// it.
pub use medk_shared::api::{Accepted, Invitation};

/// The schools an accepted invitation names for its curator, and the name
/// of who invited them (who assigns them).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvitedSchools {
    pub schools: Vec<UnitId>,
    pub invited_by: String,
}

/// Longest name an invitation keeps for its invitee.
const MAX_INVITEE_NAME_CHARS: usize = 200;

/// What a document is, to the relay.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DocKind {
    Roadmap,
    School,
    Catalogue,
}

/// What changed, for live connections.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AccessEvent {
    /// Some right may have changed: re-check every open document.
    RightsChanged,
    /// These sessions (by key) ended: close their connections.
    SessionsEnded(Vec<String>),
    /// A roadmap was deleted for everyone: forget it, delete what is stored.
    RoadmapDeleted(DocumentId),
}

/// Everything, in memory.
#[derive(Default)]
struct Directory {
    org: Org,
    people: HashMap<UserId, Account>,
    /// Lower-cased login → person.
    logins: HashMap<String, UserId>,
    /// Session key (SHA-256 of the token, hex) → session.
    sessions: HashMap<String, Session>,
    /// Invitation key (SHA-256 of the code, hex) → invitation.
    invitations: HashMap<String, Invitation>,
    /// Document → its unit, publication and grants (keyed by the id itself:
    /// the relay looks here on every sync message, and the bs58check text
    /// costs two SHA-256 runs to make).
    roadmaps: HashMap<DocumentId, RoadmapAccess>,
    /// A school's file id → the school (the ids are derived from the unit
    /// ids: kept here so a sync message does not derive one per school).
    school_files: HashMap<DocumentId, UnitId>,
    /// Roadmaps deleted for everyone.
    deleted: HashMap<DocumentId, Tombstone>,
    /// Roadmaps registered by syncing them, by the unit they belong to now.
    registrations: HashMap<UnitId, usize>,
    /// The same by the unit and the person who registered them.
    registrations_by: HashMap<(UnitId, UserId), usize>,
}

/// One change to the database, applied in memory after it is durable.
enum Op {
    Unit(Unit),
    Account(Account),
    Session(String, Option<Session>),
    Invitation(String, Option<Invitation>),
    Roadmap(DocumentId, RoadmapAccess),
    /// Deleted for everyone.
    Deleted(DocumentId, Tombstone),
}

/// What is kept of a roadmap deleted for everyone: who could see it (so
/// they, and only they, learn that it was deleted) and when.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Tombstone {
    pub access: RoadmapAccess,
    /// Unix seconds.
    pub at: u64,
    /// The person who deleted it.
    pub by: UserId,
}

/// The accounts store; cheap to clone.
#[derive(Clone)]
pub struct Accounts {
    shared: Arc<Shared>,
}

struct Shared {
    /// `None` while a reopen after an I/O error failed.
    db: Mutex<Option<Database>>,
    /// The last commit failed with an I/O error: reopen before the next.
    /// redb refuses every operation after one until the file is opened
    /// again, so without this a full disk would stop all changes (sign-in
    /// included) until a restart, even after space is freed.
    broken: std::sync::atomic::AtomicBool,
    /// That error was a full disk (what later refusals say too).
    full: std::sync::atomic::AtomicBool,
    path: PathBuf,
    /// Signs device cookies; made on the first open, kept in [`SECRETS`].
    device_key: [u8; 32],
    dir: RwLock<Directory>,
    /// Serialises writers: read, decide, commit, apply.
    write: Mutex<()>,
    events: broadcast::Sender<AccessEvent>,
    /// Titles of roadmaps being claimed (read while vetting the changes
    /// that create them), for their registration.
    claim_titles: Mutex<HashMap<DocumentId, String>>,
    /// Titles of registered roadmaps on their way to the database (the
    /// latest per roadmap): written off the relay's task, one writer per
    /// roadmap at a time.
    titles: Mutex<HashMap<DocumentId, String>>,
    /// Curators named in school files, on their way to the curators'
    /// rights (the latest per school): written off the relay's task, one
    /// writer per school at a time, so the last assignment wins.
    assignments: Mutex<HashMap<UnitId, Option<String>>>,
    /// Roadmaps one unit, and one person in it, may have registered by
    /// syncing them.
    registration_limits: Mutex<RegistrationLimits>,
}

/// Titles kept for claims in flight; more are dropped (a claim then
/// registers the roadmap untitled until its next change).
const MAX_CLAIM_TITLES: usize = 1_000;

/// Seconds since the Unix epoch.
pub fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// `N` bytes from the OS random source (secrets, salts and ids).
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).expect("the OS random source failed");
    bytes
}

/// A new 256-bit secret as 64 hex characters.
pub fn new_secret() -> String {
    hex::encode(random_bytes::<32>())
}

/// The key under which a secret (session token, invitation code) is stored.
pub fn secret_key(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

fn short_id() -> String {
    bs58::encode(random_bytes::<8>()).into_string()
}

/// An Argon2id hash of `password` (blocking: ~tens of ms of CPU).
pub fn hash_password(password: &str) -> String {
    #[cfg(test)]
    tests::HASHES.with(|n| n.set(n.get() + 1));
    let salt = SaltString::encode_b64(&random_bytes::<16>()).expect("16 bytes is a valid salt");
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 with default parameters")
        .to_string()
}

fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .is_ok_and(|hash| Argon2::default().verify_password(password.as_bytes(), &hash).is_ok())
}

/// Verified against when the login is unknown, so a wrong login costs as
/// much time as a wrong password and logins cannot be told apart by timing.
fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_password("medk-no-such-account"))
}

/// How long checking a password takes here (measured once, blocking): what
/// a refusal that skips the check waits, so it looks like one.
pub fn check_duration() -> std::time::Duration {
    static MEASURED: std::sync::OnceLock<std::time::Duration> = std::sync::OnceLock::new();
    *MEASURED.get_or_init(|| {
        let hash = dummy_hash();
        let start = std::time::Instant::now();
        let _ = verify_password("medk-measuring", hash);
        start.elapsed()
    })
}

fn check_login(login: &str) -> Result<String, AccountsError> {
    let login = login.trim().to_lowercase();
    let ok = (3..=64).contains(&login.chars().count())
        && login.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '@'));
    if ok { Ok(login) } else { Err(AccountsError::BadLogin) }
}

fn check_password(password: &str) -> Result<(), AccountsError> {
    if password.chars().count() < MIN_PASSWORD_CHARS { Err(AccountsError::WeakPassword) } else { Ok(()) }
}

impl Accounts {
    /// Opens (or creates) `access.redb` in `data_dir`. A database another
    /// process holds (the running server) is a clear error.
    pub fn open(data_dir: &Path) -> anyhow::Result<Accounts> {
        let path = data_dir.join(ACCOUNTS_FILE);
        let db =
            Database::builder().set_check_integrity_on_open(true).create(&path).map_err(|e| match e {
                redb::DatabaseError::DatabaseAlreadyOpen => anyhow::anyhow!(
                    "{} is in use: a medk-server is running with this data dir. Stop it first, \
                 or make the change in the app («Люди и доступ»).",
                    path.display()
                ),
                other => anyhow::anyhow!("opening {}: {other}", path.display()),
            })?;
        crate::private::tighten(&path, crate::private::FILE_MODE)
            .map_err(|e| anyhow::anyhow!("restricting {} to the server's user: {e}", path.display()))?;
        let dir = load(&db).map_err(|e| anyhow::anyhow!("reading {}: {}", path.display(), e.text))?;
        let device_key =
            device_key(&db).map_err(|e| anyhow::anyhow!("reading {}: {}", path.display(), e.text))?;
        let (events, _) = broadcast::channel(64);
        Ok(Accounts {
            shared: Arc::new(Shared {
                db: Mutex::new(Some(db)),
                broken: Default::default(),
                full: Default::default(),
                path,
                device_key,
                dir: RwLock::new(dir),
                write: Mutex::new(()),
                events,
                claim_titles: Mutex::default(),
                titles: Mutex::default(),
                assignments: Mutex::default(),
                registration_limits: Mutex::default(),
            }),
        })
    }

    /// The key that signs device cookies.
    pub fn device_key(&self) -> [u8; 32] {
        self.shared.device_key
    }

    pub fn path(&self) -> &Path {
        &self.shared.path
    }

    /// Changes live connections must hear about.
    pub fn events(&self) -> broadcast::Receiver<AccessEvent> {
        self.shared.events.subscribe()
    }

    fn read<T>(&self, f: impl FnOnce(&Directory) -> T) -> T {
        f(&self.shared.dir.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Runs `decide` under the writers' lock; commits the ops it returns in
    /// one durable transaction, then applies them in memory.
    fn write<T>(
        &self,
        decide: impl FnOnce(&Directory) -> Result<(Vec<Op>, T), AccountsError>,
    ) -> Result<T, AccountsError> {
        let _writer = self.shared.write.lock().unwrap_or_else(PoisonError::into_inner);
        self.reopen_if_broken()?;
        let (ops, out) = self.read(decide)?;
        self.commit(&ops)?;
        let mut dir = self.shared.dir.write().unwrap_or_else(PoisonError::into_inner);
        for op in ops {
            apply(&mut dir, op);
        }
        Ok(out)
    }

    /// Commits `ops`; an I/O error marks the database for reopening.
    fn commit(&self, ops: &[Op]) -> Result<(), StorageError> {
        use std::sync::atomic::Ordering;
        let db = self.shared.db.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(db) = db.as_ref() else {
            self.shared.broken.store(true, Ordering::Release);
            let full = self.shared.full.load(Ordering::Acquire);
            return Err(StorageError { text: "the accounts database is not open".into(), io: true, full });
        };
        commit(db, ops).inspect_err(|e| {
            if e.io {
                tracing::warn!("access.redb failed ({}); it will be reopened", e.text);
                self.shared.broken.store(true, Ordering::Release);
                self.shared.full.store(e.full, Ordering::Release);
            }
        })
    }

    /// After an I/O error: closes `access.redb`, opens it again (it rolls
    /// back to the last commit) and reloads what memory holds from it, in
    /// case a commit that reported an error had reached the disk. Called
    /// under the writers' lock. Fails, and is tried again by the next
    /// write, while the disk is still full.
    fn reopen_if_broken(&self) -> Result<(), StorageError> {
        use std::sync::atomic::Ordering;
        if !self.shared.broken.load(Ordering::Acquire) {
            return Ok(());
        }
        let mut db = self.shared.db.lock().unwrap_or_else(PoisonError::into_inner);
        *db = None; // closed first: redb refuses a second open of a file this process holds
        let full = self.shared.full.load(Ordering::Acquire);
        let reopened = Database::builder()
            .set_check_integrity_on_open(true)
            .create(&self.shared.path)
            .map_err(|e| StorageError { text: e.to_string(), io: true, full })?;
        let dir = load(&reopened).map_err(|e| StorageError { full: full || e.full, ..e })?;
        *self.shared.dir.write().unwrap_or_else(PoisonError::into_inner) = dir;
        *db = Some(reopened);
        self.shared.broken.store(false, Ordering::Release);
        tracing::info!("access.redb is open again");
        Ok(())
    }

    fn announce(&self, event: AccessEvent) {
        let _ = self.shared.events.send(event);
    }

    // ---- people ----

    pub fn is_empty(&self) -> bool {
        self.read(|d| d.people.is_empty())
    }

    /// Creates an account (the password is hashed here: call off the async
    /// runtime's threads).
    pub fn create_person(
        &self,
        login: &str,
        name: &str,
        password: &str,
        role: Role,
        unit: &str,
        schools: Vec<UnitId>,
    ) -> Result<Person, AccountsError> {
        let login = check_login(login)?;
        check_password(password)?;
        let name = name.trim();
        let name = if name.is_empty() { login.clone() } else { name.to_owned() };
        let password = hash_password(password);
        self.write(|d| {
            if d.logins.contains_key(&login) {
                return Err(AccountsError::LoginTaken(login.clone()));
            }
            d.org.check_person(role, unit, &schools)?;
            let person = Person {
                id: short_id(),
                login: login.clone(),
                name,
                role,
                unit: unit.into(),
                schools,
                disabled: false,
            };
            let mut ops = vec![Op::Account(Account { person: person.clone(), password })];
            ops.extend(first_admin_links(d));
            Ok((ops, person))
        })
        .inspect(|_| self.first_admin_link_used())
    }

    /// An account exists now: the first administrator's link (cancelled
    /// with the account's commit) leaves no file behind either.
    fn first_admin_link_used(&self) {
        if let Some(dir) = self.shared.path.parent() {
            let _ = std::fs::remove_file(dir.join(FIRST_ADMIN_FILE));
        }
    }

    pub fn people(&self) -> Vec<Person> {
        let mut people: Vec<Person> = self.read(|d| d.people.values().map(|a| a.person.clone()).collect());
        people.sort_by(|a, b| a.login.cmp(&b.login));
        people
    }

    pub fn person(&self, id: &str) -> Option<Person> {
        self.read(|d| d.people.get(id).map(|a| a.person.clone()))
    }

    pub fn person_by_login(&self, login: &str) -> Option<Person> {
        let login = login.trim().to_lowercase();
        self.read(|d| d.logins.get(&login).and_then(|id| d.people.get(id)).map(|a| a.person.clone()))
    }

    /// Checks a login and password (blocking: Argon2). Unknown logins and
    /// disabled accounts take as long as wrong passwords.
    pub fn verify(&self, login: &str, password: &str) -> Result<Person, AccountsError> {
        let login = login.trim().to_lowercase();
        let found = self.read(|d| d.logins.get(&login).and_then(|id| d.people.get(id)).cloned());
        match found {
            Some(account) if verify_password(password, &account.password) && !account.person.disabled => {
                Ok(account.person)
            }
            Some(_) => Err(AccountsError::BadCredentials),
            None => {
                let _ = verify_password(password, dummy_hash());
                Err(AccountsError::BadCredentials)
            }
        }
    }

    /// Sets a new password and ends the person's sessions except `keep`.
    pub fn set_password(&self, user: &str, password: &str, keep: Option<&str>) -> Result<(), AccountsError> {
        check_password(password)?;
        let hash = hash_password(password);
        let ended = self.write(|d| {
            let mut account = d.people.get(user).cloned().ok_or(AccountsError::NoSuchPerson)?;
            account.password = hash;
            let ended: Vec<String> = d
                .sessions
                .iter()
                .filter(|(key, s)| s.user == user && Some(key.as_str()) != keep)
                .map(|(key, _)| key.clone())
                .collect();
            let mut ops = vec![Op::Account(account)];
            ops.extend(ended.iter().map(|key| Op::Session(key.clone(), None)));
            Ok((ops, ended))
        })?;
        self.announce(AccessEvent::SessionsEnded(ended));
        Ok(())
    }

    /// Changes a person's curator schools and whether they are disabled.
    pub fn update_person(
        &self,
        user: &str,
        schools: Option<Vec<UnitId>>,
        disabled: Option<bool>,
    ) -> Result<Person, AccountsError> {
        let (person, ended) = self.write(|d| {
            let mut account = d.people.get(user).cloned().ok_or(AccountsError::NoSuchPerson)?;
            if let Some(schools) = schools {
                d.org.check_person(account.person.role, &account.person.unit, &schools)?;
                account.person.schools = schools;
            }
            let mut ops = Vec::new();
            let mut ended = Vec::new();
            if let Some(disabled) = disabled {
                account.person.disabled = disabled;
                if disabled {
                    ended =
                        d.sessions.iter().filter(|(_, s)| s.user == user).map(|(k, _)| k.clone()).collect();
                    ops.extend(ended.iter().map(|key| Op::Session(key.clone(), None)));
                }
            }
            let person = account.person.clone();
            ops.push(Op::Account(account));
            Ok((ops, (person, ended)))
        })?;
        if !ended.is_empty() {
            self.announce(AccessEvent::SessionsEnded(ended));
        }
        self.announce(AccessEvent::RightsChanged);
        Ok(person)
    }

    /// [`Accounts::follow_assignment`] without waiting for it: the relay's
    /// task calls it when it takes a school file's change that names
    /// another curator. The write runs on a blocking thread; a newer
    /// assignment of the same school made meanwhile is the one written.
    pub fn note_assignment(&self, school: &UnitId, curator: Option<String>) {
        let first = self
            .shared
            .assignments
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(school.clone(), curator)
            .is_none();
        if first {
            let (accounts, school) = (self.clone(), school.clone());
            match tokio::runtime::Handle::try_current() {
                Ok(runtime) => drop(runtime.spawn_blocking(move || accounts.write_assignments(&school))),
                Err(_) => accounts.write_assignments(&school),
            }
        }
    }

    /// Writes the newest assignment [`Accounts::note_assignment`] left for
    /// `school` until none newer is waiting.
    fn write_assignments(&self, school: &UnitId) {
        let waiting = || self.shared.assignments.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            let Some(curator) = waiting().get(school).cloned() else { return };
            if let Err(e) = self.follow_assignment(school, curator.as_deref()) {
                tracing::warn!(%school, "the curator's rights did not follow the school file: {e}");
            }
            let mut waiting = waiting();
            if waiting.get(school) == Some(&curator) {
                waiting.remove(school);
                return;
            }
        }
    }

    /// Makes the curators' schools follow the file of `school` naming
    /// `curator` ([`Org::schools_following`]): the named curator gets the
    /// school, any other curator who had it loses it. Blocking: the relay
    /// calls [`Accounts::note_assignment`].
    pub fn follow_assignment(&self, school: &str, curator: Option<&str>) -> Result<(), AccountsError> {
        let changed = self.write(|d| {
            let ops: Vec<Op> = d
                .people
                .values()
                .filter_map(|account| {
                    let schools = Org::schools_following(&account.person, school, curator)?;
                    let mut account = account.clone();
                    account.person.schools = schools;
                    Some(Op::Account(account))
                })
                .collect();
            let changed = !ops.is_empty();
            Ok((ops, changed))
        })?;
        if changed {
            self.announce(AccessEvent::RightsChanged);
        }
        Ok(())
    }

    // ---- sessions ----

    /// Starts a session; returns the token for the cookie.
    pub fn start_session(&self, user: &str) -> Result<String, AccountsError> {
        let token = new_secret();
        let key = secret_key(&token);
        let session = Session { user: user.into(), expires_at: now() + SESSION_SECONDS };
        self.write(|d| {
            if !d.people.contains_key(user) {
                return Err(AccountsError::NoSuchPerson);
            }
            Ok((vec![Op::Session(key, Some(session))], ()))
        })?;
        Ok(token)
    }

    /// The person signed in with `token`, and the session's key, if the
    /// session is live and the account enabled.
    pub fn session(&self, token: &str) -> Option<(Person, String)> {
        let key = secret_key(token);
        let now = now();
        self.read(|d| {
            let session = d.sessions.get(&key).filter(|s| s.expires_at > now)?;
            let person = &d.people.get(&session.user)?.person;
            (!person.disabled).then(|| (person.clone(), key.clone()))
        })
    }

    /// Whether the session with this key is live and its account enabled.
    pub fn session_live(&self, key: &str) -> bool {
        let now = now();
        self.read(|d| {
            d.sessions
                .get(key)
                .filter(|s| s.expires_at > now)
                .is_some_and(|s| d.people.get(&s.user).is_some_and(|a| !a.person.disabled))
        })
    }

    /// Ends one session (sign-out).
    pub fn end_session(&self, key: &str) -> Result<(), AccountsError> {
        self.write(|_| Ok((vec![Op::Session(key.into(), None)], ())))?;
        self.announce(AccessEvent::SessionsEnded(vec![key.into()]));
        Ok(())
    }

    /// Deletes expired sessions and invitations.
    pub fn sweep(&self) -> Result<(), AccountsError> {
        let now = now();
        self.write(|d| {
            let mut ops: Vec<Op> = d
                .sessions
                .iter()
                .filter(|(_, s)| s.expires_at <= now)
                .map(|(k, _)| Op::Session(k.clone(), None))
                .collect();
            ops.extend(
                d.invitations
                    .iter()
                    .filter(|(_, i)| i.expires_at <= now)
                    .map(|(k, _)| Op::Invitation(k.clone(), None)),
            );
            Ok((ops, ()))
        })
    }

    // ---- the tree ----

    pub fn org(&self) -> Org {
        self.read(|d| d.org.clone())
    }

    pub fn add_unit(
        &self,
        parent: &str,
        level: Level,
        name: &str,
        id: Option<&str>,
    ) -> Result<Unit, AccountsError> {
        let name = medk_shared::access::check_unit_name(name)?;
        let id = match id {
            Some(id)
                if !id.is_empty()
                    && id.len() <= 64
                    && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') =>
            {
                id.to_owned()
            }
            Some(_) => return Err(AccountsError::BadInput("id: латинские буквы, цифры и дефис".into())),
            None => short_id(),
        };
        self.write(|d| {
            let unit = Unit { id, parent: Some(parent.into()), level, name: name.into() };
            d.org.clone().add(unit.clone())?;
            Ok((vec![Op::Unit(unit.clone())], unit))
        })
    }

    // ---- invitations ----

    pub fn create_invitation(
        &self,
        by: &str,
        role: Role,
        unit: &str,
        schools: Vec<UnitId>,
        name: &str,
    ) -> Result<Invitation, AccountsError> {
        let name: String = name.split_whitespace().collect::<Vec<_>>().join(" ");
        if name.chars().count() > MAX_INVITEE_NAME_CHARS || name.chars().any(char::is_control) {
            return Err(AccountsError::BadInput("имя приглашаемого слишком длинное".into()));
        }
        let code = new_secret();
        let key = secret_key(&code);
        self.write(|d| {
            d.org.check_person(role, unit, &schools)?;
            let invitation = Invitation {
                id: key.clone(),
                code: None,
                role,
                unit: unit.into(),
                schools,
                created_by: by.into(),
                expires_at: now() + INVITATION_SECONDS,
                name,
                accepted_by: None,
            };
            let mut ops = vec![Op::Invitation(key, Some(invitation.clone()))];
            if by == FIRST_ADMIN_CREATOR {
                // One first-administrator link at a time: a restart replaces it.
                ops.extend(first_admin_links(d));
            }
            Ok((ops, Invitation { code: Some(code), ..invitation }))
        })
    }

    /// A live invitation by its code (not yet accepted).
    pub fn invitation(&self, code: &str) -> Option<Invitation> {
        self.invitation_by_id(&secret_key(code)).filter(|i| i.accepted_by.is_none())
    }

    /// A live invitation by its id (see [`Invitation::id`]).
    pub fn invitation_by_id(&self, id: &str) -> Option<Invitation> {
        let now = now();
        self.read(|d| d.invitations.get(id).filter(|i| i.expires_at > now).cloned())
    }

    pub fn invitations(&self) -> Vec<Invitation> {
        let now = now();
        let mut all: Vec<Invitation> =
            self.read(|d| d.invitations.values().filter(|i| i.expires_at > now).cloned().collect());
        all.sort_by_key(|i| i.expires_at);
        all
    }

    /// Revokes the invitation with this id.
    pub fn delete_invitation(&self, id: &str) -> Result<(), AccountsError> {
        self.write(|d| {
            if !d.invitations.contains_key(id) {
                return Err(AccountsError::NoSuchInvitation);
            }
            Ok((vec![Op::Invitation(id.to_owned(), None)], ()))
        })
    }

    /// Registers a person from an invitation (blocking: Argon2) and uses it
    /// up. A curator's schools the invitation names come back beside the
    /// person, who does not have them yet: they are the schools' files' to
    /// give ([`crate::assignment`]), with who invited them.
    pub fn accept_invitation(
        &self,
        code: &str,
        login: &str,
        name: &str,
        password: &str,
    ) -> Result<(Person, InvitedSchools), AccountsError> {
        let login = check_login(login)?;
        check_password(password)?;
        let key = secret_key(code);
        let now = now();
        // What can be refused is refused before Argon2 runs: anyone may
        // send a made-up code, and a hash costs tens of ms of a core.
        self.read(|d| {
            d.invitations
                .get(&key)
                .filter(|i| i.expires_at > now && i.accepted_by.is_none())
                .ok_or(AccountsError::NoSuchInvitation)?;
            match d.logins.contains_key(&login) {
                true => Err(AccountsError::LoginTaken(login.clone())),
                false => Ok(()),
            }
        })?;
        let hash = hash_password(password);
        self.write(|d| {
            let invitation = d
                .invitations
                .get(&key)
                .filter(|i| i.expires_at > now && i.accepted_by.is_none())
                .ok_or(AccountsError::NoSuchInvitation)?;
            if d.logins.contains_key(&login) {
                return Err(AccountsError::LoginTaken(login.clone()));
            }
            d.org.check_person(invitation.role, &invitation.unit, &invitation.schools)?;
            let name = name.trim();
            let name = match (name.is_empty(), invitation.name.is_empty()) {
                (false, _) => name.to_owned(),
                (true, false) => invitation.name.clone(),
                (true, true) => login.clone(),
            };
            let person = Person {
                id: short_id(),
                login: login.clone(),
                name,
                role: invitation.role,
                unit: invitation.unit.clone(),
                schools: Vec::new(),
                disabled: false,
            };
            let invited_by =
                d.people.get(&invitation.created_by).map(|a| a.person.name.clone()).unwrap_or_default();
            let schools = InvitedSchools { schools: invitation.schools.clone(), invited_by };
            let mut ops = vec![
                Op::Account(Account { person: person.clone(), password: hash }),
                Op::Invitation(
                    key.clone(),
                    Some(Invitation {
                        accepted_by: Some(Accepted {
                            id: person.id.clone(),
                            login: person.login.clone(),
                            name: person.name.clone(),
                        }),
                        ..invitation.clone()
                    }),
                ),
            ];
            ops.extend(first_admin_links(d).filter(|op| !matches!(op, Op::Invitation(k, _) if *k == key)));
            Ok((ops, (person, schools)))
        })
        .inspect(|_| self.first_admin_link_used())
    }

    // ---- roadmaps ----

    /// What `user` may do with `doc`.
    pub fn right(&self, user: &str, doc: &DocumentId) -> Right {
        self.read(|d| {
            let Some(person) = d.people.get(user).map(|a| &a.person) else { return Right::None };
            // The well-known files first: they are never roadmaps, whatever
            // the registry says (a school's file belongs to its school even
            // if someone registered its id before the school existed).
            if *doc == catalogue_id() {
                return d.org.catalogue_right(person);
            }
            if let Some(school) = school_of_file(d, doc) {
                return d.org.school_file_right(person, &school);
            }
            d.roadmaps.get(doc).map_or(Right::None, |roadmap| d.org.right(person, roadmap))
        })
    }

    /// Whether `user` may register `doc` as a roadmap of their home unit
    /// (see [`medk_shared::sync::relay::Access::may_claim`]): nobody has,
    /// it is not a school's file, the catalogue or a deleted roadmap, and
    /// the unit has fewer than [`RegistrationLimits::per_unit`] and the
    /// person fewer than [`RegistrationLimits::per_person`] there
    /// ([`AccountsError::TooManyRoadmaps`], [`AccountsError::TooManyRoadmapsOfYours`],
    /// said to the person). (Whether
    /// the document is theirs to claim is for the relay's vetting:
    /// [`medk_shared::layout::check_origin`].)
    pub fn may_claim(&self, user: &str, doc: &DocumentId) -> Result<(), AccountsError> {
        let limits = self.registration_limits();
        self.read(|d| claimable(d, user, doc, limits).map(drop))
    }

    /// Roadmaps one unit, and one person in it, may have registered by
    /// syncing them.
    pub fn registration_limits(&self) -> RegistrationLimits {
        *self.shared.registration_limits.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Sets [`Accounts::registration_limits`] (each at least one).
    pub fn set_registration_limits(&self, limits: RegistrationLimits) {
        *self.shared.registration_limits.lock().unwrap_or_else(PoisonError::into_inner) =
            RegistrationLimits { per_unit: limits.per_unit.max(1), per_person: limits.per_person.max(1) };
    }

    /// Registers `doc` to `user`'s home unit, durably (blocking: call off
    /// the relay's task). Refused when it is no longer claimable (another
    /// claim came first).
    pub fn claim(&self, user: &str, doc: &DocumentId) -> Result<(), AccountsError> {
        self.write(|d| {
            let unit = claimable(d, user, doc, self.registration_limits())?;
            let title = self
                .shared
                .claim_titles
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .remove(doc)
                .unwrap_or_default();
            let access =
                RoadmapAccess { unit, registered_by: Some(user.to_owned()), title, ..Default::default() };
            Ok((vec![Op::Roadmap(*doc, access)], ()))
        })
    }

    /// Keeps `title` as the registered roadmap `doc`'s (read from a change
    /// the relay took), or for its registration when it is being claimed.
    pub fn note_title(&self, doc: &DocumentId, title: String) {
        let registered = self.read(|d| d.roadmaps.get(doc).map(|r| r.title == title));
        match registered {
            Some(true) => {}
            Some(false) => {
                // A durable write: never on the caller (the relay's task
                // must not wait for the disk while someone types a title).
                // A writer already on its way picks the newest title up.
                let first = self
                    .shared
                    .titles
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .insert(*doc, title)
                    .is_none();
                if first {
                    let (accounts, doc) = (self.clone(), *doc);
                    match tokio::runtime::Handle::try_current() {
                        Ok(runtime) => drop(runtime.spawn_blocking(move || accounts.write_titles(doc))),
                        Err(_) => accounts.write_titles(doc),
                    }
                }
            }
            None => {
                let mut pending = self.shared.claim_titles.lock().unwrap_or_else(PoisonError::into_inner);
                if pending.len() >= MAX_CLAIM_TITLES {
                    pending.clear();
                }
                pending.insert(*doc, title);
            }
        }
    }

    /// The registered roadmaps with no title kept yet: registered before
    /// the relay kept titles, by `medk-server import`, or untitled.
    pub fn untitled_roadmaps(&self) -> Vec<DocumentId> {
        self.read(|d| d.roadmaps.iter().filter(|(_, r)| r.title.is_empty()).map(|(id, _)| *id).collect())
    }

    /// Keeps titles read from the stored documents for roadmaps that still
    /// have none (a title the relay noted meanwhile wins), in one write;
    /// how many were kept.
    pub fn fill_titles(&self, found: Vec<(DocumentId, String)>) -> Result<usize, AccountsError> {
        self.write(|d| {
            let ops: Vec<Op> = found
                .into_iter()
                .filter(|(_, title)| !title.is_empty())
                .filter_map(|(doc, title)| {
                    let access = d.roadmaps.get(&doc).filter(|a| a.title.is_empty())?;
                    Some(Op::Roadmap(doc, RoadmapAccess { title, ..access.clone() }))
                })
                .collect();
            let kept = ops.len();
            Ok((ops, kept))
        })
    }

    /// Writes the newest title [`Accounts::note_title`] left for `doc`
    /// until none newer is waiting.
    fn write_titles(&self, doc: DocumentId) {
        let titles = || self.shared.titles.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            // (`while let` would hold the lock through the body.)
            let Some(title) = titles().get(&doc).cloned() else { return };
            let written = self.write(|d| {
                let mut access = d.roadmaps.get(&doc).cloned().ok_or(AccountsError::NotFound)?;
                access.title = title.clone();
                Ok((vec![Op::Roadmap(doc, access)], ()))
            });
            if let Err(e) = written {
                tracing::warn!(%doc, "the roadmap's title was not kept: {e}");
            }
            let mut waiting = titles();
            if waiting.get(&doc) == Some(&title) {
                waiting.remove(&doc);
                return;
            }
        }
    }

    /// Deletes a roadmap for everyone: its registration goes, and it is
    /// never registered again. Live connections hear of it through
    /// [`AccessEvent::RightsChanged`]; the caller deletes what is stored.
    pub fn delete_roadmap(&self, doc: &DocumentId, by: &str) -> Result<(), AccountsError> {
        self.write(|d| {
            let access = d.roadmaps.get(doc).cloned().ok_or(AccountsError::NotFound)?;
            Ok((vec![Op::Deleted(*doc, Tombstone { access, at: now(), by: by.to_owned() })], ()))
        })?;
        self.announce(AccessEvent::RoadmapDeleted(*doc));
        self.announce(AccessEvent::RightsChanged);
        Ok(())
    }

    /// The roadmap `doc` if it was deleted for everyone.
    pub fn deleted(&self, doc: &DocumentId) -> Option<Tombstone> {
        self.read(|d| d.deleted.get(doc).cloned())
    }

    /// When `doc` is the school file of a school `user` writes but some of
    /// whose edits are not theirs to make: the school and what they may do
    /// ([`medk_shared::access::Org::school_powers`]); `None` otherwise.
    pub fn school_powers(&self, user: &str, doc: &DocumentId) -> Option<(UnitId, SchoolPowers)> {
        self.read(|d| {
            let person = &d.people.get(user)?.person;
            let school = school_of_file(d, doc)?;
            let powers = d.org.school_powers(person, &school);
            let writes = d.org.school_file_right(person, &school) == Right::Write;
            (writes && !(powers.curate && powers.assign)).then_some((school, powers))
        })
    }

    /// The school whose file `doc` is.
    pub fn school_of(&self, doc: &DocumentId) -> Option<UnitId> {
        self.read(|d| school_of_file(d, doc))
    }

    /// What `doc` is: the catalogue, a school's file, or (anything else) a
    /// roadmap.
    pub fn kind_of(&self, doc: &DocumentId) -> DocKind {
        self.read(|d| {
            if *doc == catalogue_id() {
                DocKind::Catalogue
            } else if school_of_file(d, doc).is_some() {
                DocKind::School
            } else {
                DocKind::Roadmap
            }
        })
    }

    pub fn roadmap(&self, doc: &DocumentId) -> Option<RoadmapAccess> {
        self.read(|d| d.roadmaps.get(doc).cloned())
    }

    /// Every registered roadmap with `user`'s right on it, unreadable ones left out.
    pub fn readable_roadmaps(&self, user: &Person) -> Vec<(DocumentId, RoadmapAccess, Right)> {
        let mut out: Vec<(DocumentId, RoadmapAccess, Right)> = self.read(|d| {
            d.roadmaps
                .iter()
                .map(|(id, r)| (*id, r.clone(), d.org.right(user, r)))
                .filter(|(_, _, right)| *right > Right::None)
                .collect()
        });
        out.sort_by_cached_key(|(id, _, _)| id.to_string());
        out
    }

    /// Registers a roadmap nobody has synced yet (an import from the command
    /// line) to `unit`. Refuses an unknown unit or an id already registered.
    pub fn register_roadmap(
        &self,
        doc: &DocumentId,
        unit: &str,
        published: bool,
    ) -> Result<(), AccountsError> {
        self.write(|d| {
            if d.org.get(unit).is_none() {
                return Err(AccessError::NoSuchUnit(unit.to_owned()).into());
            }
            if d.roadmaps.contains_key(doc) {
                return Err(AccountsError::BadInput(format!("дорожная карта {doc} уже зарегистрирована")));
            }
            let access = RoadmapAccess { unit: unit.to_owned(), published, ..Default::default() };
            Ok((vec![Op::Roadmap(*doc, access)], ()))
        })?;
        self.announce(AccessEvent::RightsChanged);
        Ok(())
    }

    /// Changes a roadmap's access entry with `change`, which may refuse.
    pub fn update_roadmap(
        &self,
        doc: &DocumentId,
        change: impl FnOnce(&Org, &mut RoadmapAccess) -> Result<(), AccountsError>,
    ) -> Result<RoadmapAccess, AccountsError> {
        let updated = self.write(|d| {
            let mut roadmap = d.roadmaps.get(doc).cloned().ok_or(AccountsError::NotFound)?;
            change(&d.org, &mut roadmap)?;
            if d.org.get(&roadmap.unit).is_none() {
                return Err(AccessError::NoSuchUnit(roadmap.unit.clone()).into());
            }
            Ok((vec![Op::Roadmap(*doc, roadmap.clone())], roadmap))
        })?;
        self.announce(AccessEvent::RightsChanged);
        Ok(updated)
    }
}

/// The device cookies' key, made and stored on the first call.
fn device_key(db: &Database) -> Result<[u8; 32], StorageError> {
    const NAME: &str = "device_key";
    {
        let txn = db.begin_read()?;
        if let Some(key) = txn.open_table(SECRETS)?.get(NAME)?
            && let Ok(key) = <[u8; 32]>::try_from(key.value())
        {
            return Ok(key);
        }
    }
    let key = random_bytes::<32>();
    let txn = db.begin_write()?;
    txn.open_table(SECRETS)?.insert(NAME, key.as_slice())?;
    txn.commit()?;
    Ok(key)
}

fn load(db: &Database) -> Result<Directory, StorageError> {
    let txn = db.begin_write()?;
    for table in [UNITS, PEOPLE, SESSIONS, INVITATIONS, ROADMAPS, SECRETS, DELETED] {
        txn.open_table(table)?;
    }
    txn.commit()?;
    let txn = db.begin_read()?;
    let mut dir = Directory::default();
    let rows = |table: TableDefinition<&str, &[u8]>| -> Result<Vec<(String, Vec<u8>)>, StorageError> {
        let t = txn.open_table(table)?;
        let mut out = Vec::new();
        for row in t.iter()? {
            let (k, v) = row?;
            out.push((k.value().to_owned(), v.value().to_vec()));
        }
        Ok(out)
    };
    let parse = |table: &str, key: &str, bytes: &[u8]| -> Option<serde_json::Value> {
        match serde_json::from_slice(bytes) {
            Ok(v) => Some(v),
            Err(e) => {
                tracing::error!("skipping an unreadable {table} record {key:?}: {e}");
                None
            }
        }
    };
    // Units in order of level, so parents exist before children.
    let mut units: Vec<Unit> = rows(UNITS)?
        .iter()
        .filter_map(|(k, v)| parse("unit", k, v).and_then(|v| serde_json::from_value(v).ok()))
        .collect();
    units.sort_by_key(|u| u.level);
    for unit in units {
        apply(&mut dir, Op::Unit(unit));
    }
    for (k, v) in rows(PEOPLE)? {
        if let Some(account) = parse("person", &k, &v).and_then(|v| serde_json::from_value::<Account>(v).ok())
        {
            apply(&mut dir, Op::Account(account));
        }
    }
    for (k, v) in rows(SESSIONS)? {
        if let Some(s) = parse("session", &k, &v).and_then(|v| serde_json::from_value(v).ok()) {
            dir.sessions.insert(k, s);
        }
    }
    // Changes an older server's data needs, made before anything is served.
    let mut migrate = Vec::new();
    for (k, v) in rows(INVITATIONS)? {
        if let Some(mut i) =
            parse("invitation", &k, &v).and_then(|v| serde_json::from_value::<Invitation>(v).ok())
        {
            i.id = k.clone();
            if i.code.take().is_some() {
                // Stored readable by an older server: rewritten as the hash alone.
                migrate.push(Op::Invitation(k.clone(), Some(i.clone())));
            }
            dir.invitations.insert(k, i);
        }
    }
    for (k, v) in rows(ROADMAPS)? {
        if let Some(r) = parse("roadmap", &k, &v).and_then(|v| serde_json::from_value(v).ok()) {
            match DocumentId::parse(&k) {
                Ok(id) => apply(&mut dir, Op::Roadmap(id, r)),
                Err(e) => tracing::error!("skipping a roadmap record with a bad id {k:?}: {e}"),
            }
        }
    }
    for (k, v) in rows(DELETED)? {
        if let Some(t) = parse("deleted roadmap", &k, &v).and_then(|v| serde_json::from_value(v).ok()) {
            match DocumentId::parse(&k) {
                Ok(id) => apply(&mut dir, Op::Deleted(id, t)),
                Err(e) => tracing::error!("skipping a deleted roadmap with a bad id {k:?}: {e}"),
            }
        }
    }
    drop(txn);
    if !dir.people.is_empty() {
        // Accounts made while an older server was stopped left its link alive.
        migrate.extend(first_admin_links(&dir));
    }
    if !migrate.is_empty() {
        commit(db, &migrate)?;
        for op in migrate {
            apply(&mut dir, op);
        }
    }
    Ok(dir)
}

fn commit(db: &Database, ops: &[Op]) -> Result<(), StorageError> {
    if ops.is_empty() {
        return Ok(());
    }
    let txn = db.begin_write()?;
    {
        for op in ops {
            match op {
                Op::Unit(u) => {
                    txn.open_table(UNITS)?.insert(u.id.as_str(), json(u).as_slice())?;
                }
                Op::Account(a) => {
                    txn.open_table(PEOPLE)?.insert(a.person.id.as_str(), json(a).as_slice())?;
                }
                Op::Session(k, Some(s)) => {
                    txn.open_table(SESSIONS)?.insert(k.as_str(), json(s).as_slice())?;
                }
                Op::Session(k, None) => {
                    txn.open_table(SESSIONS)?.remove(k.as_str())?;
                }
                Op::Invitation(k, Some(i)) => {
                    txn.open_table(INVITATIONS)?.insert(k.as_str(), json(i).as_slice())?;
                }
                Op::Invitation(k, None) => {
                    txn.open_table(INVITATIONS)?.remove(k.as_str())?;
                }
                Op::Roadmap(k, r) => {
                    txn.open_table(ROADMAPS)?.insert(k.to_string().as_str(), json(r).as_slice())?;
                }
                Op::Deleted(k, t) => {
                    txn.open_table(ROADMAPS)?.remove(k.to_string().as_str())?;
                    txn.open_table(DELETED)?.insert(k.to_string().as_str(), json(t).as_slice())?;
                }
            }
        }
    }
    txn.commit()?;
    Ok(())
}

/// Who the first administrator's invitation is from: the server itself.
pub const FIRST_ADMIN_CREATOR: &str = "medk-server";
/// The file, in the data dir, holding the link that makes the first account.
pub const FIRST_ADMIN_FILE: &str = "first-admin.txt";

/// Ops that cancel every first-administrator link: once any account exists
/// (or a new link is made), none may make another federal coordinator.
fn first_admin_links(dir: &Directory) -> impl Iterator<Item = Op> + '_ {
    dir.invitations
        .iter()
        .filter(|(_, i)| i.created_by == FIRST_ADMIN_CREATOR)
        .map(|(key, _)| Op::Invitation(key.clone(), None))
}

/// The unit `user` may register `doc` to, or why not.
fn claimable(
    d: &Directory,
    user: &str,
    doc: &DocumentId,
    limits: RegistrationLimits,
) -> Result<UnitId, AccountsError> {
    let person = &d.people.get(user).ok_or(AccountsError::NoSuchPerson)?.person;
    let known = d.roadmaps.contains_key(doc)
        || d.deleted.contains_key(doc)
        || *doc == catalogue_id()
        || d.school_files.contains_key(doc);
    if known {
        return Err(AccountsError::Forbidden);
    }
    let unit = d.org.home_unit(person).ok_or(AccountsError::Forbidden)?;
    let name = || d.org.get(&unit).map_or_else(|| unit.clone(), |u| u.name.clone());
    if d.registrations.get(&unit).copied().unwrap_or(0) >= limits.per_unit {
        return Err(AccountsError::TooManyRoadmaps(name(), limits.per_unit));
    }
    if d.registrations_by.get(&(unit.clone(), user.to_owned())).copied().unwrap_or(0) >= limits.per_person {
        return Err(AccountsError::TooManyRoadmapsOfYours(name(), limits.per_person));
    }
    Ok(unit)
}

/// The school whose file `doc` is, if it is one (and still a school).
fn school_of_file(dir: &Directory, doc: &DocumentId) -> Option<UnitId> {
    let school = dir.school_files.get(doc)?;
    let unit = dir.org.get(school)?;
    (unit.level == medk_shared::access::Level::School).then(|| school.clone())
}

fn json(record: &impl Serialize) -> Vec<u8> {
    serde_json::to_vec(record).expect("records are plain data and serialise")
}

fn apply(dir: &mut Directory, op: Op) {
    match op {
        Op::Unit(unit) => {
            if unit.level == medk_shared::access::Level::School {
                dir.school_files.insert(school_file_id(&unit.id), unit.id.clone());
            }
            if let Err(e) = dir.org.add(unit) {
                tracing::error!("a stored unit does not fit the tree: {e}");
            }
        }
        Op::Account(account) => {
            let id = account.person.id.clone();
            dir.logins.retain(|_, v| *v != id);
            dir.logins.insert(account.person.login.clone(), id.clone());
            dir.people.insert(id, account);
        }
        Op::Session(key, Some(s)) => {
            dir.sessions.insert(key, s);
        }
        Op::Session(key, None) => {
            dir.sessions.remove(&key);
        }
        Op::Invitation(key, Some(i)) => {
            dir.invitations.insert(key, i);
        }
        Op::Invitation(key, None) => {
            dir.invitations.remove(&key);
        }
        Op::Roadmap(key, r) => {
            // A move takes a registered roadmap's count with it.
            if let Some(old) = dir.roadmaps.remove(&key) {
                uncount(dir, &old);
            }
            if let Some(by) = &r.registered_by {
                *dir.registrations.entry(r.unit.clone()).or_default() += 1;
                *dir.registrations_by.entry((r.unit.clone(), by.clone())).or_default() += 1;
            }
            dir.roadmaps.insert(key, r);
        }
        Op::Deleted(key, tombstone) => {
            if let Some(old) = dir.roadmaps.remove(&key) {
                uncount(dir, &old);
            }
            dir.deleted.insert(key, tombstone);
        }
    }
}

/// A roadmap registered by syncing no longer counts for its unit, nor for
/// its person there.
fn uncount(dir: &mut Directory, roadmap: &RoadmapAccess) {
    let Some(by) = &roadmap.registered_by else { return };
    if let Some(n) = dir.registrations.get_mut(&roadmap.unit) {
        *n = n.saturating_sub(1);
    }
    if let Some(n) = dir.registrations_by.get_mut(&(roadmap.unit.clone(), by.clone())) {
        *n = n.saturating_sub(1);
    }
}

/// The grants list of a roadmap with each person's login and name.
pub fn named_grants(accounts: &Accounts, roadmap: &RoadmapAccess) -> Vec<(Person, Right)> {
    let grants: &BTreeMap<UserId, Right> = &roadmap.grants;
    grants.iter().filter_map(|(user, right)| accounts.person(user).map(|p| (p, *right))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    thread_local! {
        /// Argon2 hashes made on this thread (the tests run on several).
        pub static HASHES: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
    }

    fn hashes() -> u64 {
        HASHES.with(std::cell::Cell::get)
    }

    #[test]
    fn an_invitation_is_checked_before_the_password_is_hashed() {
        let (_dir, a) = accounts();
        let admin =
            a.create_person("admin", "", "password1", Role::FederalCoordinator, "rf", vec![]).unwrap();
        let inv = a.create_invitation(&admin.id, Role::Observer, "rf", vec![], "").unwrap();
        let code = inv.code.clone().expect("the code, to whoever made it");
        let before = hashes();
        assert!(matches!(
            a.accept_invitation(&"0".repeat(64), "newcomer", "", "password1"),
            Err(AccountsError::NoSuchInvitation)
        ));
        assert!(matches!(
            a.accept_invitation(&code, "admin", "", "password1"),
            Err(AccountsError::LoginTaken(_))
        ));
        assert_eq!(hashes(), before, "refused without running Argon2");
        a.accept_invitation(&code, "newcomer", "", "password1").unwrap();
        assert_eq!(hashes(), before + 1);
    }

    fn accounts() -> (tempfile::TempDir, Accounts) {
        let dir = tempfile::tempdir().unwrap();
        let accounts = Accounts::open(dir.path()).unwrap();
        (dir, accounts)
    }

    #[test]
    fn people_sign_in_with_their_password_only() {
        let (_dir, a) = accounts();
        let p = a
            .create_person("Admin", "Админ", "correct horse", Role::FederalCoordinator, "rf", vec![])
            .unwrap();
        assert_eq!(p.login, "admin");
        assert_eq!(a.verify("ADMIN", "correct horse").unwrap().id, p.id);
        assert!(matches!(a.verify("admin", "wrong horse"), Err(AccountsError::BadCredentials)));
        assert!(matches!(a.verify("nobody", "correct horse"), Err(AccountsError::BadCredentials)));
        assert!(matches!(
            a.create_person("admin", "", "another one", Role::Observer, "rf", vec![]),
            Err(AccountsError::LoginTaken(_))
        ));
        assert!(matches!(
            a.create_person("x2y", "", "short", Role::Observer, "rf", vec![]),
            Err(AccountsError::WeakPassword)
        ));
    }

    #[test]
    fn everything_survives_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let token;
        let doc = DocumentId::from_bytes([7; 16]);
        {
            let a = Accounts::open(dir.path()).unwrap();
            let r = a.add_unit("rf", Level::Region, "Тверская область", Some("r1")).unwrap();
            let p =
                a.create_person("reg", "Рег", "password1", Role::RegionalCoordinator, &r.id, vec![]).unwrap();
            token = a.start_session(&p.id).unwrap();
            a.claim(&p.id, &doc).unwrap();
            assert_eq!(a.right(&p.id, &doc), Right::Write);
        }
        let a = Accounts::open(dir.path()).unwrap();
        let (p, _) = a.session(&token).expect("the session is kept");
        assert_eq!(p.login, "reg");
        assert_eq!(a.roadmap(&doc).unwrap().unit, "r1");
        assert!(a.session("not-a-token").is_none());
    }

    /// A school's file is known by its derived id after a restart too: the
    /// school team writes it, and it is never claimed as a roadmap.
    #[test]
    fn a_school_file_is_known_after_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let team;
        {
            let a = Accounts::open(dir.path()).unwrap();
            a.add_unit("rf", Level::Region, "Р", Some("r1")).unwrap();
            a.add_unit("r1", Level::Municipality, "М", Some("m1")).unwrap();
            a.add_unit("m1", Level::School, "Школа", Some("s1")).unwrap();
            team = a.create_person("team", "", "password1", Role::SchoolTeam, "s1", vec![]).unwrap();
        }
        let a = Accounts::open(dir.path()).unwrap();
        let file = school_file_id("s1");
        assert_eq!(a.right(&team.id, &file), Right::Write);
        assert!(a.may_claim(&team.id, &file).is_err(), "never claimed as a roadmap");
        let other = school_file_id("s2");
        assert_eq!(a.right(&team.id, &other), Right::None, "no such school");
    }

    #[test]
    fn a_roadmap_is_claimed_once_and_reading_never_claims() {
        let (_dir, a) = accounts();
        a.add_unit("rf", Level::Region, "Р1", Some("r1")).unwrap();
        a.add_unit("rf", Level::Region, "Р2", Some("r2")).unwrap();
        let one = a.create_person("one", "", "password1", Role::RegionalCoordinator, "r1", vec![]).unwrap();
        let two = a.create_person("two", "", "password1", Role::RegionalCoordinator, "r2", vec![]).unwrap();
        let doc = DocumentId::from_bytes([1; 16]);
        assert_eq!(a.right(&two.id, &doc), Right::None, "nobody's yet");
        assert!(a.roadmap(&doc).is_none());
        assert!(a.may_claim(&one.id, &doc).is_ok() && a.may_claim(&two.id, &doc).is_ok());
        a.claim(&one.id, &doc).unwrap();
        assert_eq!(a.right(&one.id, &doc), Right::Write);
        assert_eq!(a.right(&two.id, &doc), Right::None, "someone else's");
        assert!(a.may_claim(&two.id, &doc).is_err() && a.claim(&two.id, &doc).is_err(), "claimed once");
        assert!(a.may_claim("ghost", &DocumentId::from_bytes([2; 16])).is_err());
    }

    /// What counts against a person's registrations, and deletions, are
    /// kept across restarts.
    #[test]
    fn registrations_and_deletions_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let (doc, other) = (DocumentId::from_bytes([3; 16]), DocumentId::from_bytes([4; 16]));
        let p;
        {
            let a = Accounts::open(dir.path()).unwrap();
            a.add_unit("rf", Level::Region, "Р", Some("r1")).unwrap();
            p = a.create_person("person", "", "password1", Role::RegionalCoordinator, "r1", vec![]).unwrap();
            a.claim(&p.id, &doc).unwrap();
            a.claim(&p.id, &other).unwrap();
            a.delete_roadmap(&other, &p.id).unwrap();
        }
        let a = Accounts::open(dir.path()).unwrap();
        assert_eq!(a.read(|d| d.registrations.get("r1").copied()), Some(1));
        assert_eq!(a.right(&p.id, &doc), Right::Write);
        assert_eq!(a.right(&p.id, &other), Right::None);
        assert!(a.may_claim(&p.id, &other).is_err(), "a deleted roadmap is never registered again");
        assert_eq!(a.deleted(&other).map(|t| t.access.unit), Some("r1".to_owned()));
    }

    #[test]
    fn invitations_register_once_and_password_changes_end_other_sessions() {
        let (_dir, a) = accounts();
        let admin =
            a.create_person("admin", "", "password1", Role::FederalCoordinator, "rf", vec![]).unwrap();
        let inv = a.create_invitation(&admin.id, Role::Observer, "rf", vec![], "").unwrap();
        let code = inv.code.clone().expect("the code, to whoever made it");
        assert!(a.invitation(&code).is_some());
        let (p, _) = a.accept_invitation(&code, "obs", "Наблюдатель", "password1").unwrap();
        assert_eq!(p.role, Role::Observer);
        assert!(matches!(
            a.accept_invitation(&code, "obs2", "", "password1"),
            Err(AccountsError::NoSuchInvitation)
        ));
        let mut events = a.events();
        let t1 = a.start_session(&p.id).unwrap();
        let t2 = a.start_session(&p.id).unwrap();
        let keep = secret_key(&t1);
        a.set_password(&p.id, "password2", Some(&keep)).unwrap();
        assert!(a.session(&t1).is_some());
        assert!(a.session(&t2).is_none());
        assert_eq!(events.try_recv().unwrap(), AccessEvent::SessionsEnded(vec![secret_key(&t2)]));
        assert!(a.verify("obs", "password2").is_ok());
    }
}
