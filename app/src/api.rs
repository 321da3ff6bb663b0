//! JSON over `fetch` to the server's `/api` (server/API.md): every call is
//! an endpoint of [`medk_shared::api`], so what is sent and what is read
//! are the server's own types; errors as the person should read them.

use medk_shared::api::{self as contract, Endpoint, ErrorBody};
use serde::Serialize;
use serde::de::DeserializeOwned;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// A request with no answer by then is given up (a dead link can hold a
/// request open for minutes).
const TIMEOUT_MS: u32 = 10_000;

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// No answer: no network, or the server is down.
    #[error("нет связи с сервером")]
    Offline,
    /// An answer with an error status; the text is the server's `error`.
    #[error("{message}")]
    Status { status: u16, message: String },
    /// An answer this app does not understand.
    #[error("непонятный ответ сервера")]
    Malformed,
}

impl ApiError {
    pub fn is_status(&self, code: u16) -> bool {
        matches!(self, ApiError::Status { status, .. } if *status == code)
    }
}

/// Calls `endpoint` with `body` (`&()` for none); its answer, decoded.
pub async fn call<E: Endpoint>(endpoint: &E, body: &E::Body) -> Result<E::Answer, ApiError> {
    let body = match contract::has_body::<E>() {
        true => Some(to_json(body).ok_or(ApiError::Malformed)?),
        false => None,
    };
    decode(request(E::METHOD.as_str(), &endpoint.path(), body).await?)
}

/// A request by method and path, its answer undecoded: left for the two
/// questions `app/src/sync.rs` asks (`GET /api/roadmaps/{id}/access`, for a
/// 410), until the sync service is reworked; everything else uses [`call`].
pub async fn send(method: &str, path: &str, body: Option<&impl Serialize>) -> Result<JsValue, ApiError> {
    let body = match body {
        Some(body) => Some(to_json(body).ok_or(ApiError::Malformed)?),
        None => None,
    };
    request(method, path, body).await
}

pub fn decode<T: DeserializeOwned>(value: JsValue) -> Result<T, ApiError> {
    serde_wasm_bindgen::from_value(value).map_err(|_| ApiError::Malformed)
}

/// JSON text of a value (maps as objects, `None` as `null`).
pub fn to_json(value: &impl Serialize) -> Option<String> {
    let js = value.serialize(&serde_wasm_bindgen::Serializer::json_compatible()).ok()?;
    js_sys::JSON::stringify(&js).ok()?.as_string()
}

pub fn from_json<T: DeserializeOwned>(text: &str) -> Option<T> {
    serde_wasm_bindgen::from_value(js_sys::JSON::parse(text).ok()?).ok()
}

async fn request(method: &str, path: &str, body: Option<String>) -> Result<JsValue, ApiError> {
    let window = web_sys::window().ok_or(ApiError::Offline)?;
    let init = web_sys::RequestInit::new();
    init.set_method(method);
    init.set_cache(web_sys::RequestCache::NoStore);
    init.set_signal(Some(&web_sys::AbortSignal::timeout_with_u32(TIMEOUT_MS)));
    if method != "GET" {
        // The server takes changes only as JSON (its guard against
        // cross-site forms), body or not.
        let headers = js_sys::Object::new();
        let _ = js_sys::Reflect::set(&headers, &"Content-Type".into(), &"application/json".into());
        init.set_headers(&headers);
        if let Some(body) = body {
            init.set_body(&body.into());
        }
    }
    let response =
        JsFuture::from(window.fetch_with_str_and_init(path, &init)).await.map_err(|_| ApiError::Offline)?;
    let response: web_sys::Response = response.unchecked_into();
    let status = response.status();
    let text = match response.text() {
        Ok(text) => {
            JsFuture::from(text).await.map_err(|_| ApiError::Offline)?.as_string().unwrap_or_default()
        }
        Err(_) => String::new(),
    };
    let json =
        if text.is_empty() { JsValue::NULL } else { js_sys::JSON::parse(&text).unwrap_or(JsValue::NULL) };
    if response.ok() {
        return Ok(json);
    }
    let message = error_message(json).unwrap_or_else(|| format!("сервер ответил кодом {status}"));
    Err(ApiError::Status { status, message })
}

/// The server's message in an error answer ([`ErrorBody`]), if it is one.
pub fn error_message(json: JsValue) -> Option<String> {
    serde_wasm_bindgen::from_value::<ErrorBody>(json).ok().map(|e| e.error)
}
