//! The hook `cargo xtask bench indicators` times the dashboard's
//! computation through: one function the app's wasm exports, called from
//! the page by `e2e/bench/indicators.mjs`. Nothing in the app calls it.

use super::compute::{BenchData, Reads, bench_compute, bench_fingerprint, bench_load, bench_touch};
use wasm_bindgen::prelude::*;

fn now() -> f64 {
    web_sys::window().and_then(|w| w.performance()).map_or_else(js_sys::Date::now, |p| p.now())
}

/// Loads the documents in `data` (a postcard [`BenchData`]), computes the
/// dashboard once, on `date` (ISO; empty: the data's date), then changes
/// one roadmap and computes again with what the first computation read;
/// returns `{"load_ms", "compute_ms", "recompute_ms", "fingerprint"}` as JSON.
#[wasm_bindgen(js_name = medkBenchIndicators)]
pub fn bench_indicators(data: &[u8], date: &str) -> Result<String, JsValue> {
    let data: BenchData = postcard::from_bytes(data).map_err(|e| JsValue::from_str(&e.to_string()))?;
    let start = now();
    let mut docs =
        bench_load(&data, (!date.is_empty()).then_some(date)).map_err(|e| JsValue::from_str(&e))?;
    let loaded = now();
    let mut reads = Reads::default();
    let monitoring = bench_compute(&mut docs, &mut reads);
    let computed = now();
    bench_touch(&mut docs).map_err(|e| JsValue::from_str(&e))?;
    let touched = now();
    bench_compute(&mut docs, &mut reads);
    let recomputed = now();
    Ok(format!(
        "{{\"load_ms\":{},\"compute_ms\":{},\"recompute_ms\":{},\"fingerprint\":\"{}\"}}",
        loaded - start,
        computed - loaded,
        recomputed - touched,
        bench_fingerprint(&monitoring)
    ))
}
