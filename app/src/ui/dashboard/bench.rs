//! The hook `cargo xtask bench indicators` times the dashboard's
//! computation through: one function the app's wasm exports, called from
//! the page by `e2e/bench/indicators.mjs`. Nothing in the app calls it.

use super::compute::{BenchData, bench_compute, bench_fingerprint, bench_load};
use wasm_bindgen::prelude::*;

fn now() -> f64 {
    web_sys::window().and_then(|w| w.performance()).map_or_else(js_sys::Date::now, |p| p.now())
}

/// Loads the documents in `data` (a postcard [`BenchData`]) and computes the
/// dashboard once, on `date` (ISO; empty: the data's date); returns
/// `{"load_ms", "compute_ms", "fingerprint"}` as JSON.
#[wasm_bindgen(js_name = medkBenchIndicators)]
pub fn bench_indicators(data: &[u8], date: &str) -> Result<String, JsValue> {
    let data: BenchData = postcard::from_bytes(data).map_err(|e| JsValue::from_str(&e.to_string()))?;
    let start = now();
    let mut docs =
        bench_load(&data, (!date.is_empty()).then_some(date)).map_err(|e| JsValue::from_str(&e))?;
    let loaded = now();
    let monitoring = bench_compute(&mut docs);
    let computed = now();
    Ok(format!(
        "{{\"load_ms\":{},\"compute_ms\":{},\"fingerprint\":\"{}\"}}",
        loaded - start,
        computed - loaded,
        bench_fingerprint(&monitoring)
    ))
}
