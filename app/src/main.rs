//! medk browser app: roadmaps edited offline-first on this device.
//!
//! `storage` and `document` are the I/O (IndexedDB, the open document),
//! `sync` the connection to the relay, `account` the session and rights
//! (over `api`, the server's JSON API);
//! `ui` is the Leptos views; all roadmap logic lives in `medk-shared`.

mod account;
mod api;
mod blobs;
mod browser;
mod document;
mod files;
mod journal;
mod office;
mod placing;
mod replica;
mod storage;
mod sync;
mod ui;

fn main() {
    console_error_panic_hook_lite();
    browser::register_offline_support();
    wasm_bindgen_futures::spawn_local(async {
        let storage = storage::Storage::open().await;
        if let Some(boot) =
            web_sys::window().and_then(|w| w.document()).and_then(|d| d.get_element_by_id("boot"))
        {
            boot.remove();
        }
        leptos::mount::mount_to_body(move || ui::root(storage));
    });
}

/// Panics show in the console instead of an opaque "unreachable".
fn console_error_panic_hook_lite() {
    std::panic::set_hook(Box::new(|info| {
        web_sys::console::error_1(&info.to_string().into());
    }));
}
