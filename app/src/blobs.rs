//! Files schools attach: content-addressed blobs (`sha256:<hex>`), kept on
//! the device and sent to the server apart from the documents' sync.
//!
//! A separate IndexedDB database (`medk-blobs`), so the documents' storage
//! is not touched:
//! - `blobs`: the bytes of every file attached on this device or fetched
//!   from the server, with its name and type. A blob never changes, so a
//!   file once here stays available offline.
//! - `uploads`: the upload queue, one record per blob attached here
//!   (`queued`, `refused` with the server's reason, or `done`). Attaching
//!   works offline; the queue is sent on start, when the browser comes
//!   online, when someone signs in, and after each attachment.
//!
//! A refused upload (too large, wrong content, no right) stays in the queue
//! with its reason for the person to see; network failures are retried
//! later.

use std::cell::Cell;
use std::collections::HashMap;
use std::rc::Rc;

use leptos::prelude::*;
use medk_shared::address::BlobAddress;
use medk_shared::school::Blob;
use rexie::{ObjectStore, Rexie, TransactionMode};
use serde::{Deserialize, Serialize};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use crate::account::Account;

/// The largest file the server takes (25 MiB), as `server/src/blobs.rs`.
pub const MAX_BLOB_BYTES: u64 = 25 * 1024 * 1024;

const DB_NAME: &str = "medk-blobs";
const DB_VERSION: u32 = 1;
const BLOBS: &str = "blobs";
const UPLOADS: &str = "uploads";
/// Uploads of up to 25 MiB over a rural link take a while; a dead link
/// must still not hold the queue forever.
const UPLOAD_TIMEOUT_MS: u32 = 600_000;
const DOWNLOAD_TIMEOUT_MS: u32 = 300_000;

/// Why a file could not be stored, sent or fetched.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BlobError {
    #[error("Файл больше 25 МБ — такие файлы не принимаются ({0}); уменьшите его или разделите на части")]
    TooLarge(String),
    #[error("Файла нет на этом устройстве, а связи с сервером нет: скачайте его, когда появится сеть")]
    Offline,
    #[error("Войдите, чтобы скачать файл с сервера")]
    SignedOut,
    #[error(
        "Файл не найден на сервере (или к нему нет доступа); возможно, он ещё не отправлен с устройства, где его приложили"
    )]
    NotFound,
    #[error("Сервер прислал не тот файл: содержимое не совпадает с адресом")]
    Mismatch,
    #[error("{0}")]
    Server(String),
    #[error("хранилище файлов браузера не ответило")]
    Storage(String),
}

impl From<rexie::Error> for BlobError {
    fn from(e: rexie::Error) -> Self {
        BlobError::Storage(e.to_string())
    }
}

impl From<serde_wasm_bindgen::Error> for BlobError {
    fn from(e: serde_wasm_bindgen::Error) -> Self {
        BlobError::Storage(e.to_string())
    }
}

/// Whether a file is on the server ([`Blobs::on_server`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnServer {
    Yes,
    No,
    /// Offline (or the server did not answer), and never on this device.
    Unknown,
}

/// Where an upload stands, as the screens show it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UploadState {
    /// Waiting for a connection (or being sent).
    Queued,
    /// On the server.
    Uploaded,
    /// The server refused it; its reason.
    Refused(String),
}

/// A size for people: «1,5 МБ», «12 КБ», «300 Б».
pub fn size_label(bytes: u64) -> String {
    const KB: u64 = 1024;
    const MB: u64 = 1024 * 1024;
    let tenths = |n: u64, unit: u64| {
        let t = (n * 10 + unit / 2) / unit;
        if t.is_multiple_of(10) { format!("{}", t / 10) } else { format!("{},{}", t / 10, t % 10) }
    };
    match bytes {
        b if b >= MB => format!("{} МБ", tenths(b, MB)),
        b if b >= KB => format!("{} КБ", tenths(b, KB)),
        b => format!("{b} Б"),
    }
}

/// Refuses a file over the limit before anything is read or stored.
pub fn check_size(size: u64) -> Result<(), BlobError> {
    if size > MAX_BLOB_BYTES { Err(BlobError::TooLarge(size_label(size))) } else { Ok(()) }
}

#[derive(Serialize, Deserialize)]
struct StoredBlob {
    address: String,
    #[serde(with = "serde_bytes")]
    bytes: Vec<u8>,
    name: String,
    mime: String,
    size: f64,
}

#[derive(Clone, Serialize, Deserialize)]
struct Upload {
    address: String,
    unit: String,
    mime: String,
    /// `queued`, `refused` or `done`.
    state: String,
    #[serde(default)]
    error: String,
}

struct Inner {
    db: Rc<Rexie>,
    account: Account,
    /// A flush is running; another request makes it go round once more.
    flushing: Cell<bool>,
    again: Cell<bool>,
}

/// The device's files and their upload queue. Copy it anywhere (a context).
#[derive(Clone, Copy)]
pub struct Blobs {
    inner: StoredValue<Option<Rc<Inner>>, LocalStorage>,
    /// Every upload recorded on this device, by address.
    pub uploads: RwSignal<HashMap<String, UploadState>>,
    /// The database could not be opened: its reason.
    pub broken: RwSignal<Option<String>>,
}

impl Blobs {
    /// Opens the store in the background and sends what is queued; flushes
    /// again when the browser comes online or someone signs in.
    pub fn start(account: Account) -> Blobs {
        let blobs = Blobs {
            inner: StoredValue::new_local(None),
            uploads: RwSignal::new(HashMap::new()),
            broken: RwSignal::new(None),
        };
        leptos::task::spawn_local(async move {
            match Self::open().await {
                Ok(db) => {
                    let inner =
                        Rc::new(Inner { db, account, flushing: Cell::new(false), again: Cell::new(false) });
                    blobs.inner.set_value(Some(inner));
                    blobs.reload_states().await;
                    blobs.flush();
                }
                Err(e) => blobs.broken.set(Some(e.to_string())),
            }
        });
        let online = window_event_listener(leptos::ev::online, move |_| blobs.flush());
        std::mem::forget(online);
        account.on_change(Rc::new(move |session| {
            if session.is_signed_in() {
                blobs.flush();
            }
        }));
        blobs
    }

    /// The `medk-blobs` database.
    pub async fn open() -> Result<Rc<Rexie>, BlobError> {
        let db = Rexie::builder(DB_NAME)
            .version(DB_VERSION)
            .add_object_store(ObjectStore::new(BLOBS).key_path("address"))
            .add_object_store(ObjectStore::new(UPLOADS).key_path("address"))
            .build()
            .await?;
        Ok(Rc::new(db))
    }

    fn inner(&self) -> Result<Rc<Inner>, BlobError> {
        match self.inner.try_with_value(|i| i.clone()).flatten() {
            Some(inner) => Ok(inner),
            None => Err(BlobError::Storage(
                self.broken
                    .get_untracked()
                    .unwrap_or_else(|| "ещё открывается, попробуйте через секунду".into()),
            )),
        }
    }

    /// Stores a file on the device and queues its upload for `unit`.
    /// Refuses a file over 25 MiB before storing anything.
    pub async fn put(&self, bytes: Vec<u8>, name: &str, mime: &str, unit: &str) -> Result<Blob, BlobError> {
        check_size(bytes.len() as u64)?;
        let inner = self.inner()?;
        let address = BlobAddress::of(&bytes).to_string();
        let size = bytes.len() as u64;
        let mime = if mime.is_empty() { "application/octet-stream" } else { mime };
        let record = StoredBlob {
            address: address.clone(),
            bytes,
            name: name.to_owned(),
            mime: mime.to_owned(),
            size: size as f64,
        };
        let upload = Upload {
            address: address.clone(),
            unit: unit.to_owned(),
            mime: mime.to_owned(),
            state: "queued".into(),
            error: String::new(),
        };
        {
            let tx = inner.db.transaction(&[BLOBS, UPLOADS], TransactionMode::ReadWrite)?;
            tx.store(BLOBS)?.put(&to_js(&record)?, None).await?;
            // Already uploaded for this unit: nothing to send again.
            let uploads = tx.store(UPLOADS)?;
            let known = uploads.get(JsValue::from_str(&address)).await?;
            let done = known
                .and_then(|v| serde_wasm_bindgen::from_value::<Upload>(v).ok())
                .is_some_and(|u| u.state == "done" && u.unit == unit);
            if !done {
                uploads.put(&to_js(&upload)?, None).await?;
            }
            tx.done().await?;
        }
        self.reload_states().await;
        // Not sent from here: the caller sends it at once ([`Blobs::send_now`]),
        // which leaves it to the queue when it cannot (one upload, not two).
        Ok(Blob { address, name: name.to_owned(), size, mime: mime.to_owned() })
    }

    /// Sends the file `put` just stored for `unit` now, when the device is
    /// online, so that a refusal (the school's space is full, a type the
    /// server does not take) is known before anything is filed: `Ok(true)`
    /// it is on the server, `Ok(false)` it waits in the queue (offline, or
    /// the server could not be reached), `Err` the server refused it; then
    /// it leaves the queue (nothing refers to it) and the reason is given.
    pub async fn send_now(&self, address: &str, unit: &str) -> Result<bool, String> {
        let Ok(inner) = self.inner() else { return Ok(false) };
        if !online() || !inner.account.is_signed_in() {
            // The queue sends it once online and signed in.
            return Ok(false);
        }
        let Ok(Some(stored)) = stored_blob(&inner.db, address).await else { return Ok(false) };
        let path = medk_shared::api::blobs::path(address, unit);
        let result = match send(&path, &stored.mime, &stored.bytes).await {
            Sent::Stored => {
                let _ = set_upload_state(&inner.db, address, "done", "").await;
                Ok(true)
            }
            Sent::Refused(why) => {
                let _ = forget_upload(&inner.db, address).await;
                Err(why)
            }
            Sent::SignedOut => {
                inner.account.expire();
                Ok(false)
            }
            Sent::Later => Ok(false),
        };
        self.reload_states().await;
        if result == Ok(false) {
            // Left queued: tried again with the rest of the queue.
            self.flush();
        }
        result
    }

    /// Whether others can download the file `address` of `unit` from the
    /// server (a reviewer confirms only such a file): uploaded from here,
    /// or downloaded here before, or the server says it has it. Not known
    /// offline for a file this device never had.
    pub async fn on_server(&self, address: &str, unit: &str) -> OnServer {
        match self.state(address) {
            Some(UploadState::Uploaded) => return OnServer::Yes,
            // Attached here and not (yet) taken by the server.
            Some(_) => return OnServer::No,
            None => {}
        }
        let Ok(inner) = self.inner() else { return OnServer::Unknown };
        let here = async {
            let tx = inner.db.transaction(&[BLOBS], TransactionMode::ReadOnly).ok()?;
            let store = tx.store(BLOBS).ok()?;
            store.get(JsValue::from_str(address)).await.ok()
        };
        if here.await.flatten().is_some() {
            return OnServer::Yes;
        }
        if !online() || !inner.account.is_signed_in() {
            return OnServer::Unknown;
        }
        let init = web_sys::RequestInit::new();
        init.set_method("HEAD");
        init.set_signal(Some(&web_sys::AbortSignal::timeout_with_u32(DOWNLOAD_TIMEOUT_MS)));
        match fetch(&medk_shared::api::blobs::path(address, unit), &init).await {
            Ok(_) => OnServer::Yes,
            Err(Failure::Status(404, _)) => OnServer::No,
            Err(_) => OnServer::Unknown,
        }
    }

    /// A file's bytes: from the device, else from the server (then kept
    /// here, so it opens offline from now on).
    pub async fn get(&self, address: &str, unit: &str) -> Result<Vec<u8>, BlobError> {
        let inner = self.inner()?;
        {
            let tx = inner.db.transaction(&[BLOBS], TransactionMode::ReadOnly)?;
            if let Some(value) = tx.store(BLOBS)?.get(JsValue::from_str(address)).await? {
                let stored: StoredBlob = serde_wasm_bindgen::from_value(value)?;
                return Ok(stored.bytes);
            }
        }
        if !online() {
            return Err(BlobError::Offline);
        }
        if !inner.account.is_signed_in() {
            return Err(BlobError::SignedOut);
        }
        let (bytes, mime) = match fetch_bytes(&medk_shared::api::blobs::path(address, unit)).await {
            Ok(answer) => answer,
            Err(Failure::Retry) => return Err(BlobError::Offline),
            Err(Failure::Status(401, _)) => {
                inner.account.expire();
                return Err(BlobError::SignedOut);
            }
            Err(Failure::Status(404, _)) => return Err(BlobError::NotFound),
            Err(Failure::Status(_, message)) => return Err(BlobError::Server(message)),
        };
        if BlobAddress::of(&bytes).to_string() != address {
            return Err(BlobError::Mismatch);
        }
        let record = StoredBlob {
            address: address.to_owned(),
            size: bytes.len() as f64,
            bytes,
            name: String::new(),
            mime,
        };
        let tx = inner.db.transaction(&[BLOBS], TransactionMode::ReadWrite)?;
        let value = to_js(&record)?;
        let store = tx.store(BLOBS)?;
        // Keeping it is a bonus: a failed write still gives the bytes.
        let _ = futures::future::join(store.put(&value, None), tx.commit()).await;
        Ok(record.bytes)
    }

    /// Files attached on this device and not on the server yet (queued or
    /// refused).
    pub fn pending(&self) -> usize {
        self.uploads.with(|u| u.values().filter(|s| **s != UploadState::Uploaded).count())
    }

    /// Where the upload of `address` stands, if it was attached here.
    pub fn state(&self, address: &str) -> Option<UploadState> {
        self.uploads.with(|u| u.get(address).cloned())
    }

    /// Puts a refused upload back in the queue and tries it again.
    pub fn retry(&self, address: &str) {
        let blobs = *self;
        let address = address.to_owned();
        leptos::task::spawn_local(async move {
            let Ok(inner) = blobs.inner() else { return };
            let _ = set_upload_state(&inner.db, &address, "queued", "").await;
            blobs.reload_states().await;
            blobs.flush();
        });
    }

    /// Sends the queue (in the background) when online and signed in.
    pub fn flush(&self) {
        let Ok(inner) = self.inner() else { return };
        if inner.flushing.get() {
            inner.again.set(true);
            return;
        }
        if !online() || !inner.account.is_signed_in() {
            return;
        }
        inner.flushing.set(true);
        let blobs = *self;
        leptos::task::spawn_local(async move {
            loop {
                inner.again.set(false);
                let _ = blobs.flush_once(&inner).await;
                if !inner.again.get() || !online() || !inner.account.is_signed_in() {
                    break;
                }
            }
            inner.flushing.set(false);
        });
    }

    async fn flush_once(&self, inner: &Inner) -> Result<(), BlobError> {
        let queued: Vec<Upload> = {
            let tx = inner.db.transaction(&[UPLOADS], TransactionMode::ReadOnly)?;
            let values = tx.store(UPLOADS)?.get_all(None, None).await?;
            values
                .into_iter()
                .filter_map(|v| serde_wasm_bindgen::from_value::<Upload>(v).ok())
                .filter(|u| u.state == "queued")
                .collect()
        };
        for upload in queued {
            let Some(stored) = stored_blob(&inner.db, &upload.address).await? else {
                set_upload_state(&inner.db, &upload.address, "refused", "файл пропал с устройства").await?;
                continue;
            };
            let path = medk_shared::api::blobs::path(&upload.address, &upload.unit);
            match send(&path, &upload.mime, &stored.bytes).await {
                Sent::Stored => set_upload_state(&inner.db, &upload.address, "done", "").await?,
                Sent::SignedOut => {
                    inner.account.expire();
                    break;
                }
                Sent::Refused(why) => set_upload_state(&inner.db, &upload.address, "refused", &why).await?,
                // The network or the server failed: tried again later.
                Sent::Later => break,
            }
            self.reload_states().await;
        }
        self.reload_states().await;
        Ok(())
    }

    async fn reload_states(&self) {
        let Ok(inner) = self.inner() else { return };
        let Ok(tx) = inner.db.transaction(&[UPLOADS], TransactionMode::ReadOnly) else { return };
        let Ok(store) = tx.store(UPLOADS) else { return };
        let Ok(values) = store.get_all(None, None).await else { return };
        let map: HashMap<String, UploadState> = values
            .into_iter()
            .filter_map(|v| serde_wasm_bindgen::from_value::<Upload>(v).ok())
            .map(|u| {
                let state = match u.state.as_str() {
                    "done" => UploadState::Uploaded,
                    "refused" => UploadState::Refused(u.error),
                    _ => UploadState::Queued,
                };
                (u.address, state)
            })
            .collect();
        if self.uploads.with_untracked(|u| *u != map) {
            self.uploads.set(map);
        }
    }
}

/// A file stored on this device, if it is.
async fn stored_blob(db: &Rexie, address: &str) -> Result<Option<StoredBlob>, BlobError> {
    let tx = db.transaction(&[BLOBS], TransactionMode::ReadOnly)?;
    match tx.store(BLOBS)?.get(JsValue::from_str(address)).await? {
        Some(value) => Ok(Some(serde_wasm_bindgen::from_value(value)?)),
        None => Ok(None),
    }
}

/// What the server said to one upload.
enum Sent {
    Stored,
    /// For good (too big, over a quota, no right), and why.
    Refused(String),
    /// The session ended.
    SignedOut,
    /// The network or the server failed: to be tried again.
    Later,
}

/// Uploads one file's bytes to `path`.
async fn send(path: &str, mime: &str, bytes: &[u8]) -> Sent {
    match put_bytes(path, mime, bytes).await {
        Ok(()) => Sent::Stored,
        Err(Failure::Status(401, _)) => Sent::SignedOut,
        Err(Failure::Status(status @ (400 | 403 | 413), message)) => Sent::Refused(if message.is_empty() {
            format!("сервер ответил кодом {status}")
        } else {
            message
        }),
        Err(_) => Sent::Later,
    }
}

async fn set_upload_state(db: &Rexie, address: &str, state: &str, error: &str) -> Result<(), BlobError> {
    let tx = db.transaction(&[UPLOADS], TransactionMode::ReadWrite)?;
    let store = tx.store(UPLOADS)?;
    if let Some(value) = store.get(JsValue::from_str(address)).await?
        && let Ok(mut upload) = serde_wasm_bindgen::from_value::<Upload>(value)
    {
        upload.state = state.to_owned();
        upload.error = error.to_owned();
        store.put(&to_js(&upload)?, None).await?;
    }
    tx.done().await?;
    Ok(())
}

/// Takes `address` out of the upload queue.
async fn forget_upload(db: &Rexie, address: &str) -> Result<(), BlobError> {
    let tx = db.transaction(&[UPLOADS], TransactionMode::ReadWrite)?;
    tx.store(UPLOADS)?.delete(JsValue::from_str(address)).await?;
    tx.done().await?;
    Ok(())
}

fn to_js<T: Serialize>(value: &T) -> Result<JsValue, BlobError> {
    let serializer = serde_wasm_bindgen::Serializer::new().serialize_maps_as_objects(true);
    Ok(value.serialize(&serializer)?)
}

fn online() -> bool {
    web_sys::window().is_none_or(|w| w.navigator().on_line())
}

/// Why a request failed.
enum Failure {
    /// No answer (network, timeout) or a server error: try again later.
    Retry,
    /// An answer with this status and the server's message.
    Status(u16, String),
}

async fn fetch(path: &str, init: &web_sys::RequestInit) -> Result<web_sys::Response, Failure> {
    let window = web_sys::window().ok_or(Failure::Retry)?;
    let response =
        JsFuture::from(window.fetch_with_str_and_init(path, init)).await.map_err(|_| Failure::Retry)?;
    let response: web_sys::Response = response.unchecked_into();
    if response.ok() {
        return Ok(response);
    }
    let status = response.status();
    if status >= 500 {
        return Err(Failure::Retry);
    }
    let text = match response.text() {
        Ok(promise) => JsFuture::from(promise).await.ok().and_then(|t| t.as_string()).unwrap_or_default(),
        Err(_) => String::new(),
    };
    let message = js_sys::JSON::parse(&text).ok().and_then(crate::api::error_message).unwrap_or_default();
    Err(Failure::Status(status, message))
}

async fn put_bytes(path: &str, mime: &str, bytes: &[u8]) -> Result<(), Failure> {
    let init = web_sys::RequestInit::new();
    init.set_method("PUT");
    init.set_cache(web_sys::RequestCache::NoStore);
    init.set_signal(Some(&web_sys::AbortSignal::timeout_with_u32(UPLOAD_TIMEOUT_MS)));
    let headers = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&headers, &"Content-Type".into(), &mime.into());
    init.set_headers(&headers);
    init.set_body(&js_sys::Uint8Array::from(bytes).into());
    fetch(path, &init).await.map(|_| ())
}

async fn fetch_bytes(path: &str) -> Result<(Vec<u8>, String), Failure> {
    let init = web_sys::RequestInit::new();
    init.set_method("GET");
    init.set_signal(Some(&web_sys::AbortSignal::timeout_with_u32(DOWNLOAD_TIMEOUT_MS)));
    let response = fetch(path, &init).await?;
    let mime = response.headers().get("content-type").ok().flatten().unwrap_or_default();
    let buffer = response.array_buffer().map_err(|_| Failure::Retry)?;
    let buffer = JsFuture::from(buffer).await.map_err(|_| Failure::Retry)?;
    Ok((js_sys::Uint8Array::new(&buffer).to_vec(), mime))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_people_say_them() {
        assert_eq!(size_label(300), "300 Б");
        assert_eq!(size_label(2048), "2 КБ");
        assert_eq!(size_label(1536 * 1024), "1,5 МБ");
        assert_eq!(size_label(MAX_BLOB_BYTES), "25 МБ");
    }

    #[test]
    fn files_over_25_mib_are_refused() {
        assert_eq!(check_size(MAX_BLOB_BYTES), Ok(()));
        let refused = check_size(MAX_BLOB_BYTES + 1).unwrap_err();
        assert!(refused.to_string().starts_with("Файл больше 25 МБ — "), "{refused}");
    }
}
