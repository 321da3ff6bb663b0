//! JSON over `fetch` to the server's `/api` (server/API.md): one request
//! shape for every call, and errors as the person should read them.

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

/// `GET path`, decoded.
pub async fn get<T: DeserializeOwned>(path: &str) -> Result<T, ApiError> {
    decode(request("GET", path, None).await?)
}

/// A request that changes something (`POST`, `PUT`, `DELETE`), with an
/// optional JSON body; the answer undecoded (`null` for 204).
pub async fn send(method: &str, path: &str, body: Option<&impl Serialize>) -> Result<JsValue, ApiError> {
    let body = match body {
        Some(body) => Some(to_json(body).ok_or(ApiError::Malformed)?),
        None => None,
    };
    request(method, path, body).await
}

/// [`send`], decoded.
pub async fn send_for<T: DeserializeOwned>(
    method: &str,
    path: &str,
    body: Option<&impl Serialize>,
) -> Result<T, ApiError> {
    decode(send(method, path, body).await?)
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
    let message = js_sys::Reflect::get(&json, &"error".into())
        .ok()
        .and_then(|e| e.as_string())
        .unwrap_or_else(|| format!("сервер ответил кодом {status}"));
    Err(ApiError::Status { status, message })
}
