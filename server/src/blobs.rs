//! Content-addressed blobs: the files a school attaches (issue #5). The school
//! file (an Automerge document) names a file by `sha256:<hex>`; the bytes go
//! through `PUT`/`GET /api/blobs/{address}` (see `server/API.md`), apart from
//! the CRDT sync, and once fetched never change, so clients cache them for
//! good and keep them offline.
//!
//! On disk, under `<data-dir>/blobs/`: `<first 2 hex>/<hex>` holds the bytes
//! and `<first 2 hex>/<hex>.json` a sidecar `{size, uploads}` ([`Meta`]). Both are
//! written atomically (a temp file in the same directory, fsync, rename,
//! fsync the directory); the bytes first, so a sidecar never names missing
//! bytes. A blob without a readable sidecar, or whose bytes do not have the
//! sidecar's size, is unknown: uploading it again repairs it.
//!
//! Why a sidecar and not a redb table: a blob and what is known about it stay
//! together in one directory that can be copied, backed up or pruned with
//! ordinary tools; the document database and its single writer are not
//! touched by uploads of megabytes; and the metadata is tiny and changes
//! rarely (a unit added), which one store-wide mutex serialises well enough.
//!
//! Who may do what follows `medk_shared::access`, as for a roadmap of the
//! blob's unit with no explicit grants: uploading for a unit needs the right
//! to write such a roadmap, downloading needs the right to read one for any
//! unit the blob was uploaded for. Every upload sends and proves the whole
//! content even when the blob is already stored: knowing an address is not
//! knowing the file, so an address alone must never open it to another unit.
//! The answer is the same either way (201), so an upload does not tell a
//! school whether another stored the same file; and each unit's readers get
//! the type its own uploader gave, so the first to upload a file does not
//! choose how it is served to everyone.
//!
//! Disk ([`BlobLimits`]): a unit's uploads and one person's may keep only so
//! much (every (blob, unit) upload counts its size for the unit and for its
//! uploader, whether or not the bytes were already there, again so that the
//! answer tells nothing); uploads stop while the disk has less free space
//! than a floor kept for the databases; and an upload that no school file
//! names (as a filed document or in a review log) is forgotten after a
//! grace period ([`BlobStore::collect`], hourly), the bytes deleted once no
//! unit is left, which gives the room back.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fs::{self, File};
use std::io::{self, Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{FromRequestParts as _, Path as UrlPath, Query, Request, State};
use axum::http::header::{
    CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_LENGTH, CONTENT_TYPE, ETAG, HeaderName,
};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures_util::StreamExt as _;
use medk_shared::access::{Org, Right, UnitId, UserId};
use medk_shared::api;
use medk_shared::api::blobs::{BlobQuery, Stored};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::api::{ApiState, SignedIn};
use crate::endpoint::ApiError;
use crate::private;

/// The largest file accepted, in bytes (25 MiB). Checked while the body
/// streams in, so no more than this is ever read or written.
pub const MAX_BLOB_BYTES: u64 = 25 * 1024 * 1024;

/// The store's directory inside the data dir.
pub const BLOBS_DIR: &str = "blobs";

/// What a blob is recorded as when its uploader named no usable type.
const DEFAULT_MIME: &str = "application/octet-stream";

/// A blob's address (`sha256:` and 64 lowercase hex digits).
pub use medk_shared::address::BlobAddress as Address;

/// The sidecar: what is known about a stored blob besides its bytes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meta {
    pub size: u64,
    /// Every unit the blob was uploaded for, with that upload; readers of
    /// any of these units may download it.
    #[serde(default)]
    pub uploads: BTreeMap<UnitId, Upload>,
    /// What sidecars written before uploads were kept per unit hold: read
    /// into [`Meta::uploads`], never written.
    #[serde(default, skip_serializing)]
    mime: Option<String>,
    #[serde(default, skip_serializing)]
    units: BTreeSet<UnitId>,
}

/// One unit's upload of a blob.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Upload {
    /// Who uploaded it (their quota pays for it); empty for uploads an older
    /// server recorded.
    #[serde(default)]
    pub by: UserId,
    /// When, in Unix seconds: an upload no school file names is forgotten a
    /// grace period after it.
    pub at: u64,
    /// The type its uploader gave, sanitised: what this unit's readers get.
    pub mime: String,
}

/// Bounds on what uploads may use.
#[derive(Clone, Copy, Debug)]
pub struct BlobLimits {
    /// Bytes one unit's uploads may keep.
    pub unit_quota: u64,
    /// Bytes one person's uploads may keep.
    pub person_quota: u64,
    /// Free bytes the disk must keep after an upload (for the databases).
    pub min_free: u64,
    /// How long an upload no school file names is kept.
    pub grace: std::time::Duration,
}

impl Default for BlobLimits {
    fn default() -> Self {
        BlobLimits {
            unit_quota: 512 * MIB,
            person_quota: 256 * MIB,
            min_free: 256 * MIB,
            grace: std::time::Duration::from_secs(24 * 3600),
        }
    }
}

/// A mebibyte.
pub const MIB: u64 = 1024 * 1024;

/// Whose quota an upload would go past.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Over {
    Unit { unit: UnitId, used: u64, quota: u64 },
    Person { used: u64, quota: u64 },
}

/// Why a commit did not keep an upload.
#[derive(Debug)]
pub enum NotKept {
    Over(Over),
    Io(io::Error),
}

impl From<io::Error> for NotKept {
    fn from(e: io::Error) -> Self {
        NotKept::Io(e)
    }
}

/// Bytes kept, per unit and per person (each upload counted for both).
#[derive(Default)]
struct Usage {
    units: HashMap<UnitId, u64>,
    people: HashMap<UserId, u64>,
}

impl Usage {
    fn add(&mut self, unit: &str, upload: &Upload, size: u64) {
        *self.units.entry(unit.to_owned()).or_default() += size;
        if !upload.by.is_empty() {
            *self.people.entry(upload.by.clone()).or_default() += size;
        }
    }

    fn remove(&mut self, unit: &str, upload: &Upload, size: u64) {
        if let Some(used) = self.units.get_mut(unit) {
            *used = used.saturating_sub(size);
        }
        if let Some(used) = self.people.get_mut(&upload.by) {
            *used = used.saturating_sub(size);
        }
    }

    /// Whether `size` more bytes fit for `unit` and `person`.
    fn check(&self, limits: &BlobLimits, unit: &str, person: &str, size: u64) -> Result<(), Over> {
        let used = self.people.get(person).copied().unwrap_or(0);
        if used + size > limits.person_quota {
            return Err(Over::Person { used, quota: limits.person_quota });
        }
        let used = self.units.get(unit).copied().unwrap_or(0);
        if used + size > limits.unit_quota {
            return Err(Over::Unit { unit: unit.to_owned(), used, quota: limits.unit_quota });
        }
        Ok(())
    }
}

/// Which blobs the school files name, per school: what
/// [`BlobStore::collect`] keeps.
#[derive(Debug, Default)]
pub struct References {
    /// Hex addresses named by each school's file (a school with no file
    /// yet names none).
    pub named: HashMap<UnitId, HashSet<String>>,
    /// Schools whose file could not be read: everything uploaded for them
    /// is kept (a damaged file must not cost a school its documents).
    pub unreadable: HashSet<UnitId>,
}

impl References {
    /// Whether `unit`'s upload of the blob `hex` is to be kept.
    fn keeps(&self, unit: &str, hex: &str) -> bool {
        self.unreadable.contains(unit) || self.named.get(unit).is_some_and(|named| named.contains(hex))
    }
}

/// The blobs every school's file names, read from the document store. Fails
/// (and nothing is collected) if the store cannot be read.
pub fn references(
    store: &dyn crate::store::Store,
    org: &Org,
) -> Result<References, crate::store::StoreError> {
    use medk_shared::school::{SchoolDoc, school_file_id};
    let mut references = References::default();
    for school in org.units().filter(|u| u.level == medk_shared::access::Level::School) {
        let chunks = store.load(&school_file_id(&school.id))?;
        let mut named = HashSet::new();
        if !chunks.is_empty() {
            match SchoolDoc::load(&chunks.concat()) {
                Ok(file) => {
                    for document in file.read().documents {
                        let files = document.file.map(|f| f.address).into_iter();
                        for address in files.chain(document.reviews.into_iter().map(|r| r.file)) {
                            if let Some(address) = Address::parse(&address) {
                                named.insert(address.hex().to_owned());
                            }
                        }
                    }
                }
                Err(e) => {
                    tracing::warn!(school = %school.id, "keeping every file of a school whose file does not read: {e}");
                    references.unreadable.insert(school.id.clone());
                }
            }
        }
        references.named.insert(school.id.clone(), named);
    }
    Ok(references)
}

/// Free bytes on the file system holding `path`, for an unprivileged user.
fn available_bytes(path: &Path) -> io::Result<u64> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt as _;
        let path = std::ffi::CString::new(path.as_os_str().as_bytes()).map_err(io::Error::other)?;
        // SAFETY: statvfs writes only into `stat`, which is plain data.
        let mut stat: libc::statvfs = unsafe { std::mem::zeroed() };
        if unsafe { libc::statvfs(path.as_ptr(), &mut stat) } != 0 {
            return Err(io::Error::last_os_error());
        }
        #[allow(clippy::useless_conversion)] // the field types differ between platforms
        Ok(u64::from(stat.f_bavail).saturating_mul(u64::from(stat.f_frsize)))
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        Ok(u64::MAX)
    }
}

/// The blocking store. Call it from `spawn_blocking`.
pub struct BlobStore {
    root: PathBuf,
    limits: BlobLimits,
    /// What every unit and person keeps. Its lock also serialises sidecar
    /// read-modify-writes (two uploads of one blob for different units must
    /// not lose a unit). A std mutex: held only on a blocking thread, never
    /// across an `.await`.
    usage: Mutex<Usage>,
}

/// An upload's bytes in a temp file next to their final place, removed on
/// drop unless committed.
pub struct Received {
    temp: PathBuf,
    file: Option<File>,
    /// What the bytes hash to.
    pub address: Address,
    pub size: u64,
}

impl Drop for Received {
    fn drop(&mut self) {
        self.file.take();
        let _ = fs::remove_file(&self.temp);
    }
}

impl BlobStore {
    /// Opens (creating) `<data_dir>/blobs` with the default limits.
    pub fn open(data_dir: &Path) -> io::Result<BlobStore> {
        BlobStore::open_with(data_dir, BlobLimits::default())
    }

    /// Opens (creating) `<data_dir>/blobs`, removes temp files that a crash
    /// left behind, and counts what every unit and person keeps.
    pub fn open_with(data_dir: &Path, limits: BlobLimits) -> io::Result<BlobStore> {
        let root = data_dir.join(BLOBS_DIR);
        private::create_dir(&root)?;
        let store = BlobStore { root, limits, usage: Mutex::default() };
        let mut usage = Usage::default();
        for shard in fs::read_dir(&store.root)?.flatten() {
            let Ok(entries) = fs::read_dir(shard.path()) else { continue };
            private::tighten(&shard.path(), private::DIR_MODE)?;
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if name.starts_with(".tmp-") {
                    let _ = fs::remove_file(entry.path());
                    continue;
                }
                private::tighten(&entry.path(), private::FILE_MODE)?;
                let address =
                    name.strip_suffix(".json").and_then(|hex| Address::parse(&format!("sha256:{hex}")));
                if let Some(meta) = address.and_then(|a| store.meta(&a)) {
                    for (unit, upload) in &meta.uploads {
                        usage.add(unit, upload, meta.size);
                    }
                }
            }
        }
        *store.usage.lock().unwrap_or_else(PoisonError::into_inner) = usage;
        Ok(store)
    }

    fn shard(&self, address: &Address) -> PathBuf {
        self.root.join(&address.hex()[..2])
    }

    /// Where the bytes of `address` are (or would be).
    pub fn path(&self, address: &Address) -> PathBuf {
        self.shard(address).join(address.hex())
    }

    fn sidecar(&self, address: &Address) -> PathBuf {
        self.shard(address).join(format!("{}.json", address.hex()))
    }

    /// What is known about `address`; `None` when it is not stored, or its
    /// sidecar is missing or damaged, or the bytes are not the recorded size.
    pub fn meta(&self, address: &Address) -> Option<Meta> {
        let text = fs::read(self.sidecar(address)).ok()?;
        let mut meta: Meta = serde_json::from_slice(&text).ok()?;
        let bytes = fs::metadata(self.path(address)).ok()?;
        if meta.uploads.is_empty() {
            // An older sidecar: one type for every unit, no uploader, the
            // bytes' time as the upload's.
            let at = bytes.modified().ok().and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok());
            let at = at.map_or(0, |d| d.as_secs());
            let mime = sanitise_mime(meta.mime.as_deref());
            for unit in std::mem::take(&mut meta.units) {
                meta.uploads.insert(unit, Upload { by: UserId::new(), at, mime: mime.clone() });
            }
        }
        (bytes.len() == meta.size && !meta.uploads.is_empty()).then_some(meta)
    }

    /// Whether `size` more bytes for `unit` by `person` fit their quotas,
    /// unless the unit already has the blob (which costs nothing more).
    pub fn check_quota(&self, address: &Address, unit: &str, person: &str, size: u64) -> Result<(), Over> {
        let usage = self.usage.lock().unwrap_or_else(PoisonError::into_inner);
        if self.meta(address).is_some_and(|m| m.uploads.contains_key(unit)) {
            return Ok(());
        }
        usage.check(&self.limits, unit, person, size)
    }

    /// Whether the disk has room for `size` more bytes and the floor kept
    /// for the databases.
    pub fn has_room(&self, size: u64) -> io::Result<bool> {
        Ok(available_bytes(&self.root)? >= size.saturating_add(self.limits.min_free))
    }

    /// Writes what `chunks` delivers to a temp file in `claimed`'s directory,
    /// hashing as it goes, until the sender is dropped. The caller bounds the
    /// size; the result says what the bytes really hash to.
    pub fn receive(
        &self,
        claimed: &Address,
        mut chunks: tokio::sync::mpsc::Receiver<Bytes>,
    ) -> io::Result<Received> {
        let dir = self.shard(claimed);
        private::create_dir(&dir)?;
        let temp = dir.join(format!(".tmp-{}-{}", claimed.hex(), crate::accounts::new_secret()));
        let file = private::create_new(&temp)?;
        let mut received = Received { temp, file: Some(file), address: claimed.clone(), size: 0 };
        let mut hasher = Sha256::new();
        let mut size = 0u64;
        let file = received.file.as_mut().expect("just created");
        while let Some(chunk) = chunks.blocking_recv() {
            hasher.update(&chunk);
            file.write_all(&chunk)?;
            size += chunk.len() as u64;
        }
        received.size = size;
        received.address = Address::of_digest(&hasher.finalize());
        Ok(received)
    }

    /// Keeps `received` as its address for `unit`, uploaded by `by` with
    /// type `mime`: moves the bytes into place unless they are already
    /// there, and records the upload, if it fits the quotas. A unit that
    /// has the blob already keeps its upload as it was (type included).
    pub fn commit(&self, mut received: Received, mime: &str, unit: &str, by: &str) -> Result<(), NotKept> {
        let mut usage = self.usage.lock().unwrap_or_else(PoisonError::into_inner);
        let address = received.address.clone();
        let existing = self.meta(&address);
        if existing.as_ref().is_some_and(|m| m.uploads.contains_key(unit)) {
            return Ok(());
        }
        usage.check(&self.limits, unit, by, received.size).map_err(NotKept::Over)?;
        let upload = Upload { by: by.to_owned(), at: crate::accounts::now(), mime: mime.to_owned() };
        let meta = match existing {
            Some(mut meta) => {
                meta.uploads.insert(unit.to_owned(), upload.clone());
                meta
            }
            None => {
                let file = received.file.take().expect("a received blob has its file");
                file.sync_all()?;
                drop(file);
                fs::rename(&received.temp, self.path(&address))?;
                let uploads = BTreeMap::from([(unit.to_owned(), upload.clone())]);
                Meta { size: received.size, uploads, ..Meta::default() }
            }
        };
        self.write_sidecar(&address, &meta)?;
        usage.add(unit, &upload, meta.size);
        Ok(())
    }

    /// Forgets the uploads no school file names (see [`References`]) once
    /// older than the grace period, giving their room back, and deletes the
    /// blobs left with none. Bytes with no readable sidecar (an upload a
    /// crash cut short) go too, once as old. Returns how many blobs were
    /// deleted and how many uploads forgotten.
    pub fn collect(&self, references: &References, now: u64) -> io::Result<(usize, usize)> {
        let grace = self.limits.grace.as_secs();
        let (mut deleted, mut forgotten) = (0, 0);
        let shards: Vec<PathBuf> = fs::read_dir(&self.root)?.flatten().map(|e| e.path()).collect();
        for shard in shards {
            let Ok(entries) = fs::read_dir(&shard) else { continue };
            let names: Vec<String> =
                entries.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect();
            for name in names.iter().filter(|n| !n.ends_with(".json") && !n.starts_with('.')) {
                let Some(address) = Address::parse(&format!("sha256:{name}")) else { continue };
                let mut usage = self.usage.lock().unwrap_or_else(PoisonError::into_inner);
                let Some(mut meta) = self.meta(&address) else {
                    let age = fs::metadata(self.path(&address)).and_then(|m| m.modified()).ok();
                    let old = age.and_then(|t| t.elapsed().ok()).is_some_and(|age| age.as_secs() >= grace);
                    if old && fs::remove_file(self.path(&address)).is_ok() {
                        let _ = fs::remove_file(self.sidecar(&address));
                        deleted += 1;
                    }
                    continue;
                };
                let before = meta.uploads.len();
                let size = meta.size;
                meta.uploads.retain(|unit, upload| {
                    let keep = references.keeps(unit, address.hex()) || now.saturating_sub(upload.at) < grace;
                    if !keep {
                        usage.remove(unit, upload, size);
                    }
                    keep
                });
                forgotten += before - meta.uploads.len();
                if meta.uploads.is_empty() {
                    // The sidecar first: bytes without one are an unknown blob,
                    // never a sidecar naming missing bytes.
                    fs::remove_file(self.sidecar(&address))?;
                    fs::remove_file(self.path(&address))?;
                    sync_dir(&shard)?;
                    deleted += 1;
                } else if meta.uploads.len() < before {
                    self.write_sidecar(&address, &meta)?;
                }
            }
        }
        Ok((deleted, forgotten))
    }

    fn write_sidecar(&self, address: &Address, meta: &Meta) -> io::Result<()> {
        let dir = self.shard(address);
        let temp = dir.join(format!(".tmp-{}-{}.json", address.hex(), crate::accounts::new_secret()));
        let written = (|| {
            let mut file = private::create_new(&temp)?;
            file.write_all(&serde_json::to_vec(meta).map_err(io::Error::other)?)?;
            file.sync_all()?;
            fs::rename(&temp, self.sidecar(address))?;
            sync_dir(&dir)
        })();
        if written.is_err() {
            let _ = fs::remove_file(&temp);
        }
        written
    }

    /// The bytes of a stored blob.
    pub fn open_bytes(&self, address: &Address) -> io::Result<File> {
        File::open(self.path(address))
    }
}

/// Makes renames inside `dir` durable.
fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    File::open(dir)?.sync_all()?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// `text` as a `type/subtype` (parameters dropped, lowercase), or the default
/// when it is not one; what is served back must never be a header injection
/// or a type the browser would run.
fn sanitise_mime(text: Option<&str>) -> String {
    let token =
        |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$&^_.+-".contains(&b));
    let essence = text.and_then(|t| t.split(';').next()).unwrap_or_default().trim().to_ascii_lowercase();
    match essence.split_once('/') {
        Some((kind, sub)) if essence.len() <= 127 && token(kind) && token(sub) => essence,
        _ => DEFAULT_MIME.to_owned(),
    }
}

// ---- HTTP ----

#[derive(Clone)]
struct BlobState {
    api: ApiState,
    store: Arc<BlobStore>,
}

/// `/api/blobs/{address}`. Beside the JSON API rather than nested in it: its
/// guard demands JSON bodies, and a file is not one.
pub fn routes(api: ApiState, store: Arc<BlobStore>) -> Router {
    Router::new()
        .route(api::blobs::ROUTE, get(download).put(upload))
        .layer(middleware::from_fn(guard))
        .with_state(BlobState { api, store })
}

/// From a browser, only this origin. A non-JSON body is fine: `PUT` is not a
/// method a cross-site form can send, and a cross-site script needs a CORS
/// preflight the server never grants.
async fn guard(req: Request, next: Next) -> Response {
    if !crate::client::of(req.extensions()).same_origin(req.headers()) {
        drain(req.into_body().into_data_stream(), 0).await;
        return error(StatusCode::FORBIDDEN, "запрос с чужого сайта");
    }
    let mut response = next.run(req).await;
    // Stricter than the app's policy (the app's layers add the other
    // security headers): a sandbox in case a browser ever renders a file.
    response.headers_mut().insert(
        HeaderName::from_static("content-security-policy"),
        HeaderValue::from_static("default-src 'none'; sandbox"),
    );
    response
}

fn error(status: StatusCode, message: &str) -> Response {
    ApiError::new(status, message).into_response()
}

fn internal(e: impl std::fmt::Display) -> Response {
    tracing::error!("blob store failed: {e}");
    error(StatusCode::INTERNAL_SERVER_ERROR, "не удалось сохранить или прочитать файл")
}

/// A failed write: a full disk says so (507: the app keeps the file queued
/// and sends it again later); anything else is a 500.
fn not_stored(e: &io::Error) -> Response {
    if crate::accounts::is_disk_full(e) {
        tracing::error!("blob store: the disk is full: {e}");
        disk_full()
    } else {
        internal(e)
    }
}

fn disk_full() -> Response {
    error(
        StatusCode::INSUFFICIENT_STORAGE,
        "на сервере закончилось место на диске: файл не сохранён; он будет отправлен снова позже",
    )
}

fn bad_address() -> Response {
    error(StatusCode::BAD_REQUEST, "неверный адрес файла: ожидается sha256: и 64 шестнадцатеричные цифры")
}

fn too_large() -> Response {
    error(
        StatusCode::PAYLOAD_TOO_LARGE,
        "файл больше 25 МБ: такие файлы не принимаются; уменьшите его или разделите на части",
    )
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, Response> {
    tokio::task::spawn_blocking(f).await.map_err(internal)
}

/// An upload the checks before its body let through.
struct Admitted {
    who: SignedIn,
    claimed: Address,
    unit: UnitId,
    mime: String,
}

async fn upload(
    State(state): State<BlobState>,
    UrlPath(address): UrlPath<String>,
    Query(query): Query<BlobQuery>,
    req: Request,
) -> Response {
    let (mut parts, body) = req.into_parts();
    match admit(&state, &mut parts, &address, query).await {
        Ok(admitted) => match store_body(state, admitted, body).await {
            Ok(response) | Err(response) => response,
        },
        Err(refused) => {
            drain(body.into_data_stream(), 0).await;
            refused
        }
    }
}

/// Session, address, unit and right, and a declared size: everything that
/// can be refused before reading the body.
async fn admit(
    state: &BlobState,
    parts: &mut axum::http::request::Parts,
    address: &str,
    query: BlobQuery,
) -> Result<Admitted, Response> {
    let who = SignedIn::from_request_parts(parts, &state.api).await.map_err(IntoResponse::into_response)?;
    let claimed = Address::parse(address).ok_or_else(bad_address)?;
    let unit = query
        .unit
        .filter(|u| !u.is_empty())
        .ok_or_else(|| error(StatusCode::BAD_REQUEST, "укажите организацию, для которой загружается файл"))?;
    if state.api.accounts.org().file_right(&who.person, &unit) != Right::Write {
        return Err(error(StatusCode::FORBIDDEN, "нет прав добавлять файлы этой организации"));
    }
    let declared = parts.headers.get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BLOB_BYTES) {
        return Err(too_large());
    }
    // Room and quotas, as far as the declared size tells (the commit checks
    // again with the size received): a refusal now saves sending the file.
    let (store, at, place, person) =
        (state.store.clone(), claimed.clone(), unit.clone(), who.person.id.clone());
    let expected = declared.unwrap_or(MAX_BLOB_BYTES);
    let (room, quota) = blocking(move || {
        let quota = declared.map_or(Ok(()), |size| store.check_quota(&at, &place, &person, size));
        (store.has_room(expected), quota)
    })
    .await?;
    match room {
        Ok(true) => {}
        Ok(false) => return Err(disk_full()),
        Err(e) => return Err(internal(e)),
    }
    quota.map_err(|over| over_quota(&state.api.accounts.org(), &over))?;
    let mime = sanitise_mime(parts.headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()));
    Ok(Admitted { who, claimed, unit, mime })
}

/// 413 with whose quota is used up and by how much.
fn over_quota(org: &Org, over: &Over) -> Response {
    let mib = |bytes: u64| format!("{:.1}", bytes as f64 / MIB as f64).replace('.', ",");
    let message = match over {
        Over::Person { used, quota } => format!(
            "превышен объём ваших файлов на сервере: занято {} МБ из {} МБ; файл не сохранён. \
             Место освободится, когда ненужные файлы будут убраны из карточек школ",
            mib(*used),
            mib(*quota)
        ),
        Over::Unit { unit, used, quota } => format!(
            "превышен объём файлов организации «{}» на сервере: занято {} МБ из {} МБ; файл не сохранён. \
             Место освободится, когда ненужные файлы будут убраны из карточки школы",
            org.get(unit).map_or(unit.as_str(), |u| u.name.as_str()),
            mib(*used),
            mib(*quota)
        ),
    };
    error(StatusCode::PAYLOAD_TOO_LARGE, &message)
}

/// Streams an admitted upload's body to the store, checks it and keeps it.
async fn store_body(state: BlobState, admitted: Admitted, body: Body) -> Result<Response, Response> {
    let Admitted { who, claimed, unit, mime } = admitted;

    // The body streams to a blocking writer through a small channel: at most
    // a few chunks are in memory, and reading stops past the limit.
    let (chunks, receiver) = tokio::sync::mpsc::channel::<Bytes>(4);
    let store = state.store.clone();
    let target = claimed.clone();
    let writer = tokio::task::spawn_blocking(move || store.receive(&target, receiver));
    let mut stream = body.into_data_stream();
    let mut size = 0u64;
    let mut refused = None;
    while let Some(chunk) = stream.next().await {
        let Ok(chunk) = chunk else {
            refused = Some(error(StatusCode::BAD_REQUEST, "загрузка файла прервалась"));
            break;
        };
        size += chunk.len() as u64;
        if size > MAX_BLOB_BYTES {
            drain(stream, size).await;
            refused = Some(too_large());
            break;
        }
        if chunks.send(chunk).await.is_err() {
            break; // the writer failed; its error is below
        }
    }
    drop(chunks);
    // Awaited even when refusing, so the temp file is gone before answering.
    let received = writer.await.map_err(internal)?;
    if let Some(refused) = refused {
        return Err(refused);
    }
    let received = received.map_err(|e| not_stored(&e))?;
    if received.address != claimed {
        return Err(error(StatusCode::BAD_REQUEST, "содержимое не совпадает с адресом файла"));
    }
    let store = state.store.clone();
    let (record, place, by) = (mime.clone(), unit.clone(), who.person.id.clone());
    blocking(move || store.commit(received, &record, &place, &by)).await?.map_err(|e| match e {
        NotKept::Over(over) => over_quota(&state.api.accounts.org(), &over),
        NotKept::Io(e) => not_stored(&e),
    })?;
    tracing::info!(blob = %claimed, size, %unit, by = %who.person.login, "blob uploaded");
    // The same answer whether the bytes were new or already here.
    let body = Stored { address: claimed.to_string(), size };
    Ok((StatusCode::CREATED, axum::Json(body)).into_response())
}

/// Reads and discards what is left of a refused upload's body, up to
/// [`MAX_REFUSED_BYTES`] in all (`read` so far), before answering, so that
/// the client, still sending, gets to read the answer: a server that closes
/// on a client in mid-send makes it report a broken connection, not the
/// message. Past that bound the connection is simply dropped.
async fn drain(mut stream: axum::body::BodyDataStream, mut read: u64) {
    while read <= MAX_REFUSED_BYTES {
        match stream.next().await {
            Some(Ok(chunk)) => read += chunk.len() as u64,
            _ => return,
        }
    }
}

/// The most read from an oversized upload before answering 413: twice the
/// limit, discarded as it comes (nothing is kept or written).
const MAX_REFUSED_BYTES: u64 = 2 * MAX_BLOB_BYTES;

async fn download(
    State(state): State<BlobState>,
    UrlPath(address): UrlPath<String>,
    Query(query): Query<BlobQuery>,
    req: Request,
) -> Response {
    match try_download(state, address, query.unit, req).await {
        Ok(response) | Err(response) => response,
    }
}

/// The bytes, with the type the uploader for `unit` gave (the unit in the
/// query if the reader reads it, else the first they read): each school's
/// readers see what their own school said the file is.
async fn try_download(
    state: BlobState,
    address: String,
    unit: Option<UnitId>,
    req: Request,
) -> Result<Response, Response> {
    let (mut parts, _) = req.into_parts();
    let who =
        SignedIn::from_request_parts(&mut parts, &state.api).await.map_err(IntoResponse::into_response)?;
    let address = Address::parse(&address).ok_or_else(bad_address)?;
    let not_found = || error(StatusCode::NOT_FOUND, "файл не найден");
    let store = state.store.clone();
    let at = address.clone();
    let (meta, file) = blocking(move || {
        let meta = store.meta(&at)?;
        Some((meta, store.open_bytes(&at).ok()?))
    })
    .await?
    .ok_or_else(not_found)?;
    let org = state.api.accounts.org();
    let readable: Vec<(&UnitId, &Upload)> =
        meta.uploads.iter().filter(|(unit, _)| org.file_right(&who.person, unit) >= Right::Read).collect();
    let chosen = readable.iter().find(|(u, _)| Some(*u) == unit.as_ref()).or(readable.first());
    let Some((_, upload)) = chosen else { return Err(not_found()) };
    let mime = HeaderValue::from_str(&sanitise_mime(Some(&upload.mime)))
        .unwrap_or(HeaderValue::from_static(DEFAULT_MIME));
    let etag = HeaderValue::from_str(&format!("\"{}\"", address.hex())).expect("hex is a valid header value");
    let headers = [
        (CONTENT_TYPE, mime),
        (CONTENT_LENGTH, HeaderValue::from(meta.size)),
        (CACHE_CONTROL, HeaderValue::from_static("private, max-age=31536000, immutable")),
        (CONTENT_DISPOSITION, HeaderValue::from_static("attachment")),
        (ETAG, etag),
    ];
    Ok((headers, Body::from_stream(file_chunks(file))).into_response())
}

/// A file's bytes as a stream of chunks, each read on a blocking thread.
fn file_chunks(file: File) -> impl futures_util::Stream<Item = io::Result<Bytes>> {
    futures_util::stream::unfold(Some(file), |file| async move {
        let mut file = file?;
        let read = tokio::task::spawn_blocking(move || {
            let mut buf = vec![0u8; 256 * 1024];
            let n = file.read(&mut buf)?;
            buf.truncate(n);
            Ok::<_, io::Error>((buf, file))
        })
        .await
        .map_err(io::Error::other);
        match read {
            Ok(Ok((buf, _))) if buf.is_empty() => None,
            Ok(Ok((buf, file))) => Some((Ok(Bytes::from(buf)), Some(file))),
            Ok(Err(e)) | Err(e) => Some((Err(e), None)),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mime_types_are_cut_to_their_essence_or_defaulted() {
        assert_eq!(sanitise_mime(Some("application/PDF; charset=x")), "application/pdf");
        assert_eq!(sanitise_mime(Some("image/svg+xml")), "image/svg+xml");
        for bad in [None, Some(""), Some("pdf"), Some("text/html\r\nx: y"), Some("a/b/c"), Some("/x")] {
            assert_eq!(sanitise_mime(bad), DEFAULT_MIME, "{bad:?}");
        }
    }

    fn put_by(store: &BlobStore, bytes: &'static [u8], unit: &str, by: &str) -> Result<(), NotKept> {
        let address = Address::of(bytes);
        let (tx, rx) = tokio::sync::mpsc::channel(4);
        tx.try_send(Bytes::from_static(bytes)).unwrap();
        drop(tx);
        let received = store.receive(&address, rx)?;
        assert_eq!(received.address, address);
        store.commit(received, &format!("text/{unit}"), unit, by)
    }

    fn put(store: &BlobStore, bytes: &'static [u8], unit: &str) -> Result<(), NotKept> {
        put_by(store, bytes, unit, "someone")
    }

    fn units(meta: &Meta) -> BTreeSet<&str> {
        meta.uploads.keys().map(String::as_str).collect()
    }

    #[test]
    fn a_blob_is_stored_once_and_remembers_every_unit() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::open(dir.path()).unwrap();
        let address = Address::of(b"hello");
        put(&store, b"hello", "s1").unwrap();
        put(&store, b"hello", "s1").unwrap();
        put(&store, b"hello", "s2").unwrap();
        let meta = store.meta(&address).unwrap();
        assert_eq!(units(&meta), BTreeSet::from(["s1", "s2"]));
        assert_eq!(meta.size, 5);
        assert_eq!(
            (meta.uploads["s1"].mime.as_str(), meta.uploads["s2"].mime.as_str()),
            ("text/s1", "text/s2")
        );
        let shard = dir.path().join(BLOBS_DIR).join(&address.hex()[..2]);
        let names: BTreeSet<String> =
            fs::read_dir(&shard).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        assert_eq!(names, BTreeSet::from([address.hex().to_owned(), format!("{}.json", address.hex())]));

        fs::write(shard.join(format!("{}.json", address.hex())), b"{not json").unwrap();
        assert_eq!(store.meta(&address), None, "a damaged sidecar is an unknown blob");
        put(&store, b"hello", "s3").unwrap();
        assert_eq!(units(&store.meta(&address).unwrap()), BTreeSet::from(["s3"]), "and uploading repairs it");
    }

    #[test]
    fn an_older_sidecar_reads_as_one_upload_per_unit() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::open(dir.path()).unwrap();
        let address = Address::of(b"old");
        put(&store, b"old", "s9").unwrap();
        let old = r#"{"mime":"application/pdf","units":["s1","s2"],"size":3}"#;
        fs::write(store.sidecar(&address), old).unwrap();
        let meta = BlobStore::open(dir.path()).unwrap().meta(&address).unwrap();
        assert_eq!(units(&meta), BTreeSet::from(["s1", "s2"]));
        assert!(meta.uploads.values().all(|u| u.mime == "application/pdf" && u.by.is_empty() && u.at > 0));
    }

    #[test]
    fn quotas_count_each_units_upload_for_the_unit_and_its_uploader() {
        let dir = tempfile::tempdir().unwrap();
        let limits = BlobLimits { unit_quota: 10, person_quota: 6, ..BlobLimits::default() };
        let store = BlobStore::open_with(dir.path(), limits).unwrap();
        put_by(&store, b"12345", "s1", "anna").unwrap();
        put_by(&store, b"12345", "s1", "anna").unwrap(); // the unit has it: free
        assert!(matches!(
            put_by(&store, b"abc", "s1", "anna"),
            Err(NotKept::Over(Over::Person { used: 5, quota: 6 }))
        ));
        put_by(&store, b"abcde", "s1", "boris").unwrap();
        assert!(matches!(
            put_by(&store, b"x", "s1", "vera"),
            Err(NotKept::Over(Over::Unit { used: 10, .. }))
        ));
        // The same bytes for another unit count for it (and its uploader) too.
        put_by(&store, b"12345", "s2", "vera").unwrap();
        assert!(matches!(
            put_by(&store, b"xy", "s2", "vera"),
            Err(NotKept::Over(Over::Person { used: 5, .. }))
        ));
        // Counted again from the sidecars on open.
        let store = BlobStore::open_with(dir.path(), limits).unwrap();
        assert!(matches!(
            store.check_quota(&Address::of(b"x"), "s1", "gleb", 1),
            Err(Over::Unit { used: 10, .. })
        ));
        assert_eq!(store.check_quota(&Address::of(b"12345"), "s1", "anna", 5), Ok(()), "held");
    }

    #[test]
    fn collecting_forgets_unnamed_uploads_after_the_grace_and_deletes_blobs_left_with_none() {
        let dir = tempfile::tempdir().unwrap();
        let limits = BlobLimits {
            unit_quota: 10,
            grace: std::time::Duration::from_secs(100),
            ..BlobLimits::default()
        };
        let store = BlobStore::open_with(dir.path(), limits).unwrap();
        put(&store, b"named", "s1").unwrap();
        put(&store, b"named", "s2").unwrap();
        put(&store, b"loose", "s1").unwrap();
        put(&store, b"other", "s3").unwrap();
        let hex = |b: &[u8]| Address::of(b).hex().to_owned();
        let mut references = References::default();
        references.named.insert("s1".into(), HashSet::from([hex(b"named")]));
        references.named.insert("s2".into(), HashSet::new());
        references.unreadable.insert("s3".into());
        let now = crate::accounts::now();
        assert_eq!(store.collect(&references, now).unwrap(), (0, 0), "all within the grace");
        assert_eq!(store.collect(&references, now + 100).unwrap(), (1, 2));
        let named = store.meta(&Address::of(b"named")).unwrap();
        assert_eq!(units(&named), BTreeSet::from(["s1"]), "s2's file does not name it");
        assert!(store.meta(&Address::of(b"loose")).is_none());
        assert!(!store.path(&Address::of(b"loose")).exists());
        assert!(store.meta(&Address::of(b"other")).is_some(), "s3's file is unreadable: kept");
        // s1's room came back.
        put(&store, b"12345", "s1").unwrap();
    }

    #[test]
    fn temp_files_left_by_a_crash_are_removed_on_open() {
        let dir = tempfile::tempdir().unwrap();
        let shard = dir.path().join(BLOBS_DIR).join("ab");
        fs::create_dir_all(&shard).unwrap();
        fs::write(shard.join(".tmp-abc-1"), b"half").unwrap();
        BlobStore::open(dir.path()).unwrap();
        assert_eq!(fs::read_dir(&shard).unwrap().count(), 0);
    }
}
