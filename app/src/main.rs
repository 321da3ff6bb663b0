//! medk browser app: roadmaps edited offline-first on this device.
//!
//! `storage` and `document` are the I/O (IndexedDB, the open document),
//! `sync` the connection to the relay, `tabs` the hints other tabs of the
//! browser get of what this one stored, `account` the session and rights
//! (over `api`, the server's JSON API);
//! `ui` is the Leptos views; all roadmap logic lives in `medk-shared`.

mod account;
mod api;
mod blobs;
mod browser;
mod document;
mod files;
mod gone;
mod journal;
mod office;
mod placing;
mod replica;
mod storage;
mod sync;
mod tabs;
mod ui;

fn main() {
    console_error_panic_hook_lite();
    browser::register_offline_support();
    wasm_bindgen_futures::spawn_local(async {
        let storage = storage::Storage::open().await;
        if let Ok(storage) = &storage {
            replica::finish_deletions(storage).await;
        }
        if let Some(boot) = boot_screen() {
            boot.remove();
        }
        leptos::mount::mount_to_body(move || ui::root(storage));
    });
    // Opening the device's storage waits while a tab running an older
    // version keeps it open at its older layout (that version does not let
    // go when asked): say so instead of loading forever.
    wasm_bindgen_futures::spawn_local(async {
        browser::sleep(3000).await;
        if let Some(boot) = boot_screen() {
            boot.set_text_content(Some(
                "Хранилище на этом устройстве занято другой вкладкой medk со старой версией. \
                 Закройте или обновите другие вкладки medk — эта откроется сама.",
            ));
            let _ = boot.set_attribute("role", "alert");
        }
    });
}

/// The page's «Загрузка…» shown until the app mounts.
fn boot_screen() -> Option<web_sys::Element> {
    web_sys::window()?.document()?.get_element_by_id("boot")
}

/// Panics show in the console instead of an opaque "unreachable".
fn console_error_panic_hook_lite() {
    std::panic::set_hook(Box::new(|info| {
        web_sys::console::error_1(&info.to_string().into());
    }));
}
