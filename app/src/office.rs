//! The bridge to the Word/Excel module (`office-wasm/`): loaded the first
//! time someone imports or exports (through `medkOffice()` in `boot.js`),
//! then kept. Roadmaps cross as postcard bytes; a refusal comes back as the
//! module's Russian message.

use medk_shared::model::Roadmap;
use medk_shared::office::parsed::ParsedRoadmap;
use serde::Serialize;
use time::Date;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// A .docx roadmap, read.
pub async fn parse_docx(bytes: &[u8]) -> Result<ParsedRoadmap, String> {
    let out = call("parse_docx", &[js_sys::Uint8Array::from(bytes).into()]).await?;
    postcard::from_bytes(&out).map_err(|e| e.to_string())
}

/// The roadmap as .docx in the official layout.
pub async fn roadmap_docx(roadmap: &Roadmap) -> Result<Vec<u8>, String> {
    call("roadmap_docx", &[encode(roadmap)?]).await
}

/// The execution report on `date` of the roadmap as it stood then.
pub async fn report_docx(
    roadmap_then: &Roadmap,
    date: Date,
    none_due: Option<&str>,
) -> Result<Vec<u8>, String> {
    call("report_docx", &[encode(roadmap_then)?, iso(date), none_due.unwrap_or_default().into()]).await
}

/// The roadmap as .xlsx.
pub async fn roadmap_xlsx(roadmap: &Roadmap, today: Date) -> Result<Vec<u8>, String> {
    call("roadmap_xlsx", &[encode(roadmap)?, iso(today)]).await
}

fn encode(value: &impl Serialize) -> Result<JsValue, String> {
    let bytes = postcard::to_allocvec(value).map_err(|e| e.to_string())?;
    Ok(js_sys::Uint8Array::from(bytes.as_slice()).into())
}

fn iso(date: Date) -> JsValue {
    medk_shared::deadline::iso(date).into()
}

/// Calls the module's function `name`; its bytes, or why not.
async fn call(name: &str, args: &[JsValue]) -> Result<Vec<u8>, String> {
    let module = module().await?;
    let function: js_sys::Function = js_sys::Reflect::get(&module, &name.into())
        .ok()
        .and_then(|f| f.dyn_into().ok())
        .ok_or_else(|| format!("в модуле Word/Excel нет функции {name}"))?;
    let args: js_sys::Array = args.iter().collect();
    let result = function.apply(&JsValue::NULL, &args).map_err(|e| describe(&e))?;
    Ok(js_sys::Uint8Array::new(&result).to_vec())
}

async fn module() -> Result<JsValue, String> {
    let load: js_sys::Function = js_sys::Reflect::get(&js_sys::global(), &"medkOffice".into())
        .ok()
        .and_then(|f| f.dyn_into().ok())
        .ok_or("модуль Word/Excel не подключён на странице")?;
    let promise = load.call0(&JsValue::NULL).map_err(|e| describe(&e))?;
    JsFuture::from(js_sys::Promise::from(promise))
        .await
        .map_err(|e| format!("модуль Word/Excel не загрузился: {}", describe(&e)))
}

fn describe(error: &JsValue) -> String {
    if let Some(text) = error.as_string() {
        return text;
    }
    error.dyn_ref::<js_sys::Error>().map_or_else(|| format!("{error:?}"), |e| String::from(e.message()))
}
