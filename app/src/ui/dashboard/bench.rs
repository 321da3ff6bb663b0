//! The hook `cargo xtask bench indicators` times the dashboard's
//! computation through: one function the app's wasm exports, called from
//! the page by `e2e/bench/indicators.mjs`. Nothing in the app calls it, and
//! only a build with the `bench` feature (`cargo xtask bench indicators`)
//! has it.

use crate::storage::Storage;
use medk_shared::dashboard::{
    BenchData, Reads, bench_compute, bench_fingerprint, bench_kept, bench_load, bench_reopen, bench_touch,
};
use wasm_bindgen::prelude::*;

fn now() -> f64 {
    web_sys::window().and_then(|w| w.performance()).map_or_else(js_sys::Date::now, |p| p.now())
}

fn js(e: impl ToString) -> JsValue {
    JsValue::from_str(&e.to_string())
}

/// Loads the documents in `data` (a postcard [`BenchData`]), computes the
/// dashboard once, on `date` (ISO; empty: the data's date), and keeps what
/// it read in the app's IndexedDB; then reopens from those readings alone
/// (read back from IndexedDB and rolled up, as reopening the dashboard
/// does); then changes one roadmap and computes again with what the first
/// computation read. Returns `{"load_ms", "compute_ms", "reopen_ms",
/// "recompute_ms", "recompute_read" (documents read again),
/// "fingerprint"}` as JSON.
#[wasm_bindgen(js_name = medkBenchIndicators)]
pub async fn bench_indicators(data: Vec<u8>, date: String) -> Result<String, JsValue> {
    let data: BenchData = postcard::from_bytes(&data).map_err(js)?;
    let start = now();
    let mut docs = bench_load(&data, (!date.is_empty()).then_some(date.as_str())).map_err(js)?;
    let loaded = now();
    let mut reads = Reads::default();
    let monitoring = bench_compute(&mut docs, &mut reads);
    let computed = now();

    let storage = Storage::open().await.map_err(js)?;
    let kept = bench_kept(&mut reads);
    let keys: Vec<String> = kept.iter().map(|(key, _)| format!("bench/{key}")).collect();
    let stored = keys.iter().cloned().zip(kept.iter().map(|(_, bytes)| bytes.clone())).collect();
    storage.put_readings(stored).await.map_err(js)?;
    let reopen = now();
    let read_back = storage.readings(&keys).await.map_err(js)?;
    let read_back: Vec<(String, Vec<u8>)> = kept
        .iter()
        .zip(read_back)
        .map(|((key, _), bytes)| Some((key.clone(), bytes?)))
        .collect::<Option<_>>()
        .ok_or_else(|| js("a reading was not kept"))?;
    let reopened = bench_reopen(&docs, &read_back).map_err(js)?;
    let reopened_at = now();
    if reopened != monitoring {
        return Err(js("the figures from kept readings differ from the documents'"));
    }

    bench_touch(&mut docs).map_err(js)?;
    let read_before = reads.made();
    let touched = now();
    bench_compute(&mut docs, &mut reads);
    let recomputed = now();
    Ok(format!(
        "{{\"load_ms\":{},\"compute_ms\":{},\"reopen_ms\":{},\"recompute_ms\":{},\"recompute_read\":{},\
         \"fingerprint\":\"{}\"}}",
        loaded - start,
        computed - loaded,
        reopened_at - reopen,
        recomputed - touched,
        reads.made() - read_before,
        bench_fingerprint(&monitoring)
    ))
}
