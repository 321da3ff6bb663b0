//! Small bridges to the browser the rest of the app needs: the clock,
//! randomness for ids, file download, the service worker and persistent
//! storage.

use medk_shared::ids::RowId;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

/// Milliseconds since the epoch.
pub fn now_ms() -> i64 {
    js_sys::Date::now() as i64
}

pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    // The Web Crypto API is always there in browsers that run wasm; if it
    // ever failed, Math.random is still good enough for row ids.
    if getrandom::fill(&mut bytes).is_err() {
        for b in bytes.iter_mut() {
            *b = (js_sys::Math::random() * 256.0) as u8;
        }
    }
    bytes
}

pub fn new_row_id() -> RowId {
    RowId::from_random(random_bytes())
}

/// Today's date on this device's clock and in its time zone.
pub fn today() -> time::Date {
    local_date(&js_sys::Date::new_0())
}

fn local_date(d: &js_sys::Date) -> time::Date {
    let month = time::Month::try_from(d.get_month() as u8 + 1).unwrap_or(time::Month::January);
    time::Date::from_calendar_date(d.get_full_year() as i32, month, d.get_date() as u8)
        .unwrap_or(time::Date::MIN)
}

/// Unix milliseconds as «ДД.ММ.ГГГГ ЧЧ:ММ» in this device's time zone.
pub fn local_time(ms: f64) -> String {
    let d = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ms));
    medk_shared::ru::date_time(local_date(&d), d.get_hours() as u8, d.get_minutes() as u8)
}

/// The last millisecond of `date` in this device's time zone: changes made
/// up to then count as made on that date.
pub fn end_of_day_ms(date: time::Date) -> i64 {
    medk_shared::history::end_of_day_ms(date, utc_offset())
}

/// This device's time zone, as it stands now.
pub fn utc_offset() -> time::UtcOffset {
    // getTimezoneOffset is UTC minus local time, in minutes.
    let minutes = -(js_sys::Date::new_0().get_timezone_offset() as i32);
    time::UtcOffset::from_whole_seconds(minutes * 60).unwrap_or(time::UtcOffset::UTC)
}

/// Offers `bytes` to the user as a file download.
pub fn download(file_name: &str, mime: &str, bytes: &[u8]) {
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    let parts = js_sys::Array::of1(&js_sys::Uint8Array::from(bytes));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(mime);
    let Ok(blob) = web_sys::Blob::new_with_u8_array_sequence_and_options(&parts, &options) else {
        return;
    };
    let Ok(url) = web_sys::Url::create_object_url_with_blob(&blob) else {
        return;
    };
    if let Ok(a) = document.create_element("a") {
        let a: web_sys::HtmlAnchorElement = a.unchecked_into();
        a.set_href(&url);
        a.set_download(file_name);
        a.click();
    }
    let _ = web_sys::Url::revoke_object_url(&url);
}

/// Registers the service worker that makes the app start offline, and asks
/// the browser not to evict our storage under pressure (a curator's unsynced
/// work lives there).
pub fn register_offline_support() {
    let Some(window) = web_sys::window() else {
        return;
    };
    let navigator = window.navigator();
    if js_sys::Reflect::has(&navigator, &"serviceWorker".into()).unwrap_or(false) {
        let container = navigator.service_worker();
        let _ = container.register("/sw.js");
        // A page whose load began before the worker was active, and whose
        // document appeared after the worker claimed its clients, stays
        // uncontrolled until the next load: offline, its on-demand modules
        // would not come from the cache. Ask the active worker to claim again.
        if let Ok(ready) = container.ready() {
            wasm_bindgen_futures::spawn_local(async move {
                let Ok(registration) = JsFuture::from(ready).await else {
                    return;
                };
                let registration: web_sys::ServiceWorkerRegistration = registration.unchecked_into();
                if container.controller().is_none()
                    && let Some(active) = registration.active()
                {
                    let _ = active.post_message(&"claim".into());
                }
            });
        }
    }
    if let Ok(storage) = js_sys::Reflect::get(&navigator, &"storage".into())
        && !storage.is_undefined()
    {
        let storage: web_sys::StorageManager = storage.unchecked_into();
        if let Ok(promise) = storage.persist() {
            wasm_bindgen_futures::spawn_local(async move {
                let _ = JsFuture::from(promise).await;
            });
        }
    }
}

/// Reads a user-picked file.
pub async fn read_file(file: &web_sys::File) -> Result<Vec<u8>, String> {
    let buffer = JsFuture::from(file.array_buffer()).await.map_err(|e| format!("{e:?}"))?;
    Ok(js_sys::Uint8Array::new(&buffer).to_vec())
}

/// A `performance.mark`, so start-up phases show in profiles and the
/// start-up benchmark can print where the time goes.
pub fn mark(name: &str) {
    if let Some(performance) = web_sys::window().and_then(|w| w.performance()) {
        let _ = performance.mark(name);
    }
}

/// Resolves after the browser has painted the current frame, so work that
/// follows does not delay what is already on screen.
pub async fn next_paint() {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        let Some(window) = web_sys::window() else {
            let _ = resolve.call0(&wasm_bindgen::JsValue::NULL);
            return;
        };
        // A timeout scheduled from a frame callback runs after that frame is painted.
        let after_frame = wasm_bindgen::closure::Closure::once_into_js(move || {
            if let Some(window) = web_sys::window() {
                let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, 0);
            }
        });
        let _ = window.request_animation_frame(after_frame.unchecked_ref());
    });
    let _ = JsFuture::from(promise).await;
}

/// Resolves after `ms` milliseconds.
pub async fn sleep(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(window) = web_sys::window() {
            let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
        }
    });
    let _ = JsFuture::from(promise).await;
}

fn local_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

/// A small setting kept on this device (`localStorage`).
pub fn setting(key: &str) -> Option<String> {
    local_storage()?.get_item(key).ok()?
}

pub fn set_setting(key: &str, value: &str) {
    if let Some(s) = local_storage() {
        let _ = s.set_item(key, value);
    }
}

/// A setting that holds a comma-separated list: its items (none when it is
/// absent; an empty string is no item, not one empty item).
pub fn setting_list(key: &str) -> Vec<String> {
    let stored = setting(key).unwrap_or_default();
    stored.split(',').filter(|item| !item.is_empty()).map(str::to_owned).collect()
}

pub fn set_setting_list<T: ToString>(key: &str, items: impl IntoIterator<Item = T>) {
    let items: Vec<String> = items.into_iter().map(|item| item.to_string()).collect();
    set_setting(key, &items.join(","));
}

pub fn remove_setting(key: &str) {
    if let Some(s) = local_storage() {
        let _ = s.remove_item(key);
    }
}

/// `<origin><path>`: a link that works on another device.
pub fn link(path: &str) -> String {
    let origin = web_sys::window().and_then(|w| w.location().origin().ok()).unwrap_or_default();
    format!("{origin}{path}")
}

/// Copies `text` to the clipboard; says whether it worked.
pub async fn copy(text: &str) -> bool {
    let Some(window) = web_sys::window() else { return false };
    JsFuture::from(window.navigator().clipboard().write_text(text)).await.is_ok()
}
