//! Content-addressed blobs: the files a school attaches (issue #5). The school
//! file (an Automerge document) names a file by `sha256:<hex>`; the bytes go
//! through `PUT`/`GET /api/blobs/{address}` (see `server/API.md`), apart from
//! the CRDT sync, and once fetched never change, so clients cache them for
//! good and keep them offline.
//!
//! On disk, under `<data-dir>/blobs/`: `<first 2 hex>/<hex>` holds the bytes
//! and `<first 2 hex>/<hex>.json` a sidecar `{mime, units, size}`. Both are
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

use std::collections::BTreeSet;
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
use medk_shared::access::{Org, Person, Right, RoadmapAccess, UnitId};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest as _, Sha256};

use crate::api::{ApiError, ApiState, SignedIn};
use crate::private;

/// The largest file accepted, in bytes (25 MiB). Checked while the body
/// streams in, so no more than this is ever read or written.
pub const MAX_BLOB_BYTES: u64 = 25 * 1024 * 1024;

/// The store's directory inside the data dir.
pub const BLOBS_DIR: &str = "blobs";

/// What a blob is recorded as when its uploader named no usable type.
const DEFAULT_MIME: &str = "application/octet-stream";

/// A blob's address: `sha256:` and 64 lowercase hex digits. Holds the hex.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Address(String);

impl Address {
    pub fn parse(text: &str) -> Option<Address> {
        let hex = text.strip_prefix("sha256:")?;
        let valid = hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        valid.then(|| Address(hex.to_owned()))
    }

    pub fn hex(&self) -> &str {
        &self.0
    }

    fn of_digest(digest: &[u8]) -> Address {
        Address(digest.iter().map(|b| format!("{b:02x}")).collect())
    }
}

impl std::fmt::Display for Address {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "sha256:{}", self.0)
    }
}

/// The sidecar: what is known about a stored blob besides its bytes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meta {
    /// The type recorded at the first upload, already sanitised.
    pub mime: String,
    /// Every unit the blob was uploaded for; readers of any of them may
    /// download it.
    pub units: BTreeSet<UnitId>,
    pub size: u64,
}

/// Whether an upload stored a new blob or found it already there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stored {
    New,
    Existing,
}

/// The blocking store. Call it from `spawn_blocking`.
pub struct BlobStore {
    root: PathBuf,
    /// Serialises sidecar read-modify-writes (two uploads of one blob for
    /// different units must not lose a unit). A std mutex: held only on a
    /// blocking thread, never across an `.await`.
    sidecars: Mutex<()>,
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
    /// Opens (creating) `<data_dir>/blobs` and removes temp files that a
    /// crash left behind.
    pub fn open(data_dir: &Path) -> io::Result<BlobStore> {
        let root = data_dir.join(BLOBS_DIR);
        private::create_dir(&root)?;
        for shard in fs::read_dir(&root)?.flatten() {
            let Ok(entries) = fs::read_dir(shard.path()) else { continue };
            private::tighten(&shard.path(), private::DIR_MODE)?;
            for entry in entries.flatten() {
                if entry.file_name().to_string_lossy().starts_with(".tmp-") {
                    let _ = fs::remove_file(entry.path());
                } else {
                    private::tighten(&entry.path(), private::FILE_MODE)?;
                }
            }
        }
        Ok(BlobStore { root, sidecars: Mutex::new(()) })
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
        let meta: Meta = serde_json::from_slice(&text).ok()?;
        let size = fs::metadata(self.path(address)).ok()?.len();
        (size == meta.size && !meta.units.is_empty()).then_some(meta)
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

    /// Keeps `received` as its address for `unit`: moves the bytes into
    /// place unless they are already there, and records the unit.
    pub fn commit(&self, mut received: Received, mime: &str, unit: &str) -> io::Result<Stored> {
        let _sidecars = self.sidecars.lock().unwrap_or_else(PoisonError::into_inner);
        let address = received.address.clone();
        if let Some(mut meta) = self.meta(&address) {
            if meta.units.insert(unit.to_owned()) {
                self.write_sidecar(&address, &meta)?;
            }
            return Ok(Stored::Existing);
        }
        let file = received.file.take().expect("a received blob has its file");
        file.sync_all()?;
        drop(file);
        fs::rename(&received.temp, self.path(&address))?;
        let meta =
            Meta { mime: mime.to_owned(), units: BTreeSet::from([unit.to_owned()]), size: received.size };
        self.write_sidecar(&address, &meta)?;
        Ok(Stored::New)
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

/// The rights on a unit's files: those on a roadmap of `unit` with nothing
/// published or granted, and for a school those on its school file (whose
/// coordinators attach and judge documents there).
fn unit_right(org: &Org, person: &Person, unit: &str) -> Right {
    let roadmap = org.right(person, &RoadmapAccess { unit: unit.to_owned(), ..Default::default() });
    let school = match org.get(unit) {
        Some(u) if u.level == medk_shared::access::Level::School => org.school_file_right(person, unit),
        _ => Right::None,
    };
    roadmap.max(school)
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
        .route("/api/blobs/{address}", get(download).put(upload))
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

#[derive(Deserialize)]
struct UploadQuery {
    unit: Option<UnitId>,
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
    Query(query): Query<UploadQuery>,
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
    query: UploadQuery,
) -> Result<Admitted, Response> {
    let who = SignedIn::from_request_parts(parts, &state.api).await.map_err(IntoResponse::into_response)?;
    let claimed = Address::parse(address).ok_or_else(bad_address)?;
    let unit = query
        .unit
        .filter(|u| !u.is_empty())
        .ok_or_else(|| error(StatusCode::BAD_REQUEST, "укажите организацию, для которой загружается файл"))?;
    if unit_right(&state.api.accounts.org(), &who.person, &unit) != Right::Write {
        return Err(error(StatusCode::FORBIDDEN, "нет прав добавлять файлы этой организации"));
    }
    let declared = parts.headers.get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BLOB_BYTES) {
        return Err(too_large());
    }
    let mime = sanitise_mime(parts.headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()));
    Ok(Admitted { who, claimed, unit, mime })
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
    let record = mime.clone();
    let stored = blocking(move || store.commit(received, &record, &unit)).await?.map_err(|e| not_stored(&e))?;
    let status = match stored {
        Stored::New => {
            tracing::info!(blob = %claimed, size, by = %who.person.login, "blob stored");
            StatusCode::CREATED
        }
        Stored::Existing => StatusCode::OK,
    };
    let body = json!({ "address": claimed.to_string(), "size": size });
    Ok((status, axum::Json(body)).into_response())
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
    req: Request,
) -> Response {
    match try_download(state, address, req).await {
        Ok(response) | Err(response) => response,
    }
}

async fn try_download(state: BlobState, address: String, req: Request) -> Result<Response, Response> {
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
    if !meta.units.iter().any(|unit| unit_right(&org, &who.person, unit) >= Right::Read) {
        return Err(not_found());
    }
    let mime = HeaderValue::from_str(&sanitise_mime(Some(&meta.mime)))
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

    const EMPTY: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn addresses_are_sha256_and_64_lowercase_hex_digits() {
        assert_eq!(Address::parse(&format!("sha256:{EMPTY}")).unwrap().hex(), EMPTY);
        assert_eq!(Address::of_digest(&Sha256::digest(b"")).hex(), EMPTY);
        for bad in [
            EMPTY.to_owned(),
            format!("sha256:{}", EMPTY.to_uppercase()),
            format!("sha1:{EMPTY}"),
            format!("sha256:{}", &EMPTY[1..]),
            format!("sha256:{EMPTY}0"),
            format!("sha256:../{}", &EMPTY[3..]),
            String::new(),
        ] {
            assert_eq!(Address::parse(&bad), None, "{bad}");
        }
    }

    #[test]
    fn mime_types_are_cut_to_their_essence_or_defaulted() {
        assert_eq!(sanitise_mime(Some("application/PDF; charset=x")), "application/pdf");
        assert_eq!(sanitise_mime(Some("image/svg+xml")), "image/svg+xml");
        for bad in [None, Some(""), Some("pdf"), Some("text/html\r\nx: y"), Some("a/b/c"), Some("/x")] {
            assert_eq!(sanitise_mime(bad), DEFAULT_MIME, "{bad:?}");
        }
    }

    fn put(store: &BlobStore, bytes: &'static [u8], unit: &str) -> io::Result<Stored> {
        let address = Address::of_digest(&Sha256::digest(bytes));
        let (tx, rx) = tokio::sync::mpsc::channel(4);
        tx.try_send(Bytes::from_static(bytes)).unwrap();
        drop(tx);
        let received = store.receive(&address, rx)?;
        assert_eq!(received.address, address);
        store.commit(received, "text/plain", unit)
    }

    #[test]
    fn a_blob_is_stored_once_and_remembers_every_unit() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::open(dir.path()).unwrap();
        let address = Address::of_digest(&Sha256::digest(b"hello"));
        assert_eq!(put(&store, b"hello", "s1").unwrap(), Stored::New);
        assert_eq!(put(&store, b"hello", "s1").unwrap(), Stored::Existing);
        assert_eq!(put(&store, b"hello", "s2").unwrap(), Stored::Existing);
        let meta = store.meta(&address).unwrap();
        assert_eq!(meta.units, BTreeSet::from(["s1".to_owned(), "s2".to_owned()]));
        assert_eq!((meta.size, meta.mime.as_str()), (5, "text/plain"));
        let shard = dir.path().join(BLOBS_DIR).join(&address.hex()[..2]);
        let names: BTreeSet<String> =
            fs::read_dir(&shard).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        assert_eq!(names, BTreeSet::from([address.hex().to_owned(), format!("{}.json", address.hex())]));

        fs::write(shard.join(format!("{}.json", address.hex())), b"{not json").unwrap();
        assert_eq!(store.meta(&address), None, "a damaged sidecar is an unknown blob");
        assert_eq!(put(&store, b"hello", "s3").unwrap(), Stored::New, "and uploading repairs it");
        assert!(store.meta(&address).is_some());
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
