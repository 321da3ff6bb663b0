//! Building the app into `dist/`: cargo → wasm-bindgen → wasm-opt (release)
//! for the app and for its Word/Excel module (loaded on demand) → the page and
//! static files → version stamping → precompression.
//!
//! The server serves `dist/` as is, picking the `.br`/`.gz` siblings written
//! here, so nothing is compressed per request.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, bail};

use crate::fingerprint::Fingerprint;
use crate::project::Project;
use crate::shell;

/// A wasm module of the app: its cargo package and wasm-bindgen `--out-name`
/// (the page loads `/<out name>.js`, which loads `/<out name>_bg.wasm`).
struct Module {
    package: &'static str,
    out_name: &'static str,
}

/// The app itself, loaded by the page.
const APP: Module = Module { package: "medk-app", out_name: "medk_app" };
/// Word and Excel in and out (`office-wasm/`), loaded the first time someone
/// imports or exports (see `app/static/boot.js`), precached for offline use.
const OFFICE: Module = Module { package: "medk-office", out_name: "medk_office" };
const OUT_NAME: &str = APP.out_name;
const SERVICE_WORKER: &str = "sw.js";
const PAGE: &str = "index.html";
/// The page's only script (in `app/static/`): imports the app at this version.
const BOOT_SCRIPT: &str = "boot.js";
/// Replaced with a fingerprint of the build in `sw.js` and `index.html`.
const VERSION_PLACEHOLDER: &str = "__MEDK_VERSION__";
/// Replaced in `sw.js` with the JSON array of every URL the app needs offline.
const PRECACHE_PLACEHOLDER: &str = "__MEDK_PRECACHE__";
/// What rustc 1.95's wasm32-unknown-unknown emits by default; wasm-opt must
/// accept them all or it rejects (or silently mangles) the module.
const WASM_FEATURES: &[&str] = &[
    "--enable-bulk-memory",
    "--enable-nontrapping-float-to-int",
    "--enable-sign-ext",
    "--enable-mutable-globals",
    "--enable-reference-types",
    "--enable-multivalue",
];
/// Files worth precompressing; images and fonts are compressed already.
const COMPRESSIBLE: &[&str] =
    &["html", "js", "mjs", "css", "wasm", "json", "webmanifest", "svg", "txt", "xml", "map", "ico"];

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// Small above all: fat LTO, opt-level z, then wasm-opt -Oz.
    Release,
    /// Fast rebuilds; no wasm-opt.
    Dev,
}

impl Profile {
    fn cargo_profile(self) -> &'static str {
        match self {
            Profile::Release => "wasm-release",
            Profile::Dev => "wasm-dev",
        }
    }
}

/// The tools a build runs, already ensured.
pub struct Toolchain {
    pub wasm_bindgen: PathBuf,
    /// `None` for dev builds, which skip wasm-opt.
    pub wasm_opt: Option<PathBuf>,
}

/// The shipped wasm's size, as downloaded raw and with each encoding.
pub struct WasmSize {
    pub raw: u64,
    pub gzip: u64,
    pub brotli: u64,
}

impl WasmSize {
    pub fn print(&self) {
        let kib = |bytes: u64| bytes as f64 / 1024.0;
        println!(
            "wasm {OUT_NAME}_bg.wasm: raw {} B ({:.1} KiB), gzip {} B ({:.1} KiB), brotli {} B ({:.1} KiB)",
            self.raw,
            kib(self.raw),
            self.gzip,
            kib(self.gzip),
            self.brotli,
            kib(self.brotli),
        );
    }
}

/// Builds the app into `dist/` (replacing what was there) and returns the
/// size of its wasm.
pub fn build_app(project: &Project, profile: Profile, tools: &Toolchain) -> anyhow::Result<WasmSize> {
    build_app_with(project, profile, tools, &[])
}

/// [`build_app`] with cargo features of the app turned on (`bench`: the
/// hooks benchmarks call, left out of every other build).
pub fn build_app_with(
    project: &Project,
    profile: Profile,
    tools: &Toolchain,
    app_features: &[&str],
) -> anyhow::Result<WasmSize> {
    // One cargo run per module: together, cargo would build the app's
    // medk-shared with the office feature the office module needs.
    let app_wasm = compile(project, profile, &APP, app_features)?;
    let office_wasm = compile(project, profile, &OFFICE, &[])?;
    let dist = project.dist_dir();
    if dist.exists() {
        std::fs::remove_dir_all(&dist).with_context(|| format!("clearing {}", dist.display()))?;
    }
    std::fs::create_dir_all(&dist).with_context(|| format!("creating {}", dist.display()))?;

    let app = bind(tools, &APP, &app_wasm, &dist)?;
    let office = bind(tools, &OFFICE, &office_wasm, &dist)?;
    copy_page_and_static_files(project, &dist)?;
    stamp(&dist)?;
    precompress(&dist, profile)?;

    let office = WasmSize::of(&office)?;
    println!(
        "wasm {}_bg.wasm (loaded on demand): raw {} B, brotli {} B ({:.1} KiB)",
        OFFICE.out_name,
        office.raw,
        office.brotli,
        office.brotli as f64 / 1024.0
    );
    WasmSize::of(&app)
}

impl WasmSize {
    /// The sizes of a built wasm file and of its precompressed siblings.
    fn of(wasm: &Path) -> anyhow::Result<WasmSize> {
        let size = |path: &Path| -> anyhow::Result<u64> {
            Ok(std::fs::metadata(path).with_context(|| format!("reading {}", path.display()))?.len())
        };
        Ok(WasmSize {
            raw: size(wasm)?,
            gzip: size(&sibling(wasm, "gz"))?,
            brotli: size(&sibling(wasm, "br"))?,
        })
    }
}

/// wasm-bindgen (and, in release, wasm-opt) of one module into `dist`;
/// returns the `_bg.wasm` written.
fn bind(tools: &Toolchain, module: &Module, wasm: &Path, dist: &Path) -> anyhow::Result<PathBuf> {
    shell::run(
        Command::new(&tools.wasm_bindgen)
            .args(["--target", "web", "--no-typescript", "--out-name", module.out_name, "--out-dir"])
            .arg(dist)
            .arg(wasm),
    )?;
    let bg_wasm = dist.join(format!("{}_bg.wasm", module.out_name));
    if let Some(wasm_opt) = &tools.wasm_opt {
        optimize(wasm_opt, &bg_wasm)?;
    }
    Ok(bg_wasm)
}

/// `cargo build` of one module for the browser; returns the `.wasm` cargo wrote.
fn compile(
    project: &Project,
    profile: Profile,
    module: &Module,
    features: &[&str],
) -> anyhow::Result<PathBuf> {
    let cargo_profile = profile.cargo_profile();
    let mut cargo = project.cargo();
    cargo.args([
        "build",
        "-p",
        module.package,
        "--target",
        "wasm32-unknown-unknown",
        "--profile",
        cargo_profile,
    ]);
    if !features.is_empty() {
        cargo.args(["--features", &features.join(",")]);
    }
    shell::run(&mut cargo)?;
    let out_dir = project.target_dir().join("wasm32-unknown-unknown").join(cargo_profile);
    // A bin target keeps its hyphen (`medk-app.wasm`); a cdylib gets underscores.
    let names = [format!("{}.wasm", module.package), format!("{}.wasm", module.package.replace('-', "_"))];
    names
        .iter()
        .map(|name| out_dir.join(name))
        .find(|path| path.is_file())
        .with_context(|| format!("cargo built no {} in {}", names.join(" or "), out_dir.display()))
}

/// `wasm-opt -Oz` in place (through a temporary file, so a failure leaves the
/// unoptimized module rather than half a file).
fn optimize(wasm_opt: &Path, wasm: &Path) -> anyhow::Result<()> {
    let optimized = sibling(wasm, "opt");
    shell::run(Command::new(wasm_opt).arg("-Oz").args(WASM_FEATURES).arg(wasm).arg("-o").arg(&optimized))?;
    std::fs::rename(&optimized, wasm).with_context(|| format!("replacing {}", wasm.display()))
}

/// `app/index.html` (required) and everything under `app/static/` (optional).
fn copy_page_and_static_files(project: &Project, dist: &Path) -> anyhow::Result<()> {
    let page = project.app_dir().join(PAGE);
    if !page.is_file() {
        bail!(
            "{} is missing: the app crate must provide the page that loads /{OUT_NAME}.js",
            project.relative(&page)
        );
    }
    std::fs::copy(&page, dist.join(PAGE)).with_context(|| format!("copying {}", page.display()))?;

    let static_dir = project.app_dir().join("static");
    if !static_dir.is_dir() {
        println!("note: no {}, so no static files to copy", project.relative(&static_dir));
        return Ok(());
    }
    for file in files_under(&static_dir)? {
        let to = dist.join(file.strip_prefix(&static_dir)?);
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
        }
        std::fs::copy(&file, &to)
            .with_context(|| format!("copying {} to {}", file.display(), to.display()))?;
    }
    Ok(())
}

/// Fills the placeholders: a fingerprint of the build as the version (so a
/// new build installs a new service worker and busts `?v=` queries), and
/// the precache list for the service worker.
fn stamp(dist: &Path) -> anyhow::Result<()> {
    let files = files_under(dist)?;
    let urls: Vec<String> = files.iter().map(|file| url_path(dist, file)).collect::<anyhow::Result<_>>()?;

    let mut fingerprint = Fingerprint::new();
    let mut precache = vec!["/".to_owned()];
    for (file, url) in files.iter().zip(&urls) {
        if url == &format!("/{SERVICE_WORKER}") || is_precompressed(file) {
            continue;
        }
        let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
        fingerprint.update(url.as_bytes());
        fingerprint.update(&(bytes.len() as u64).to_le_bytes());
        fingerprint.update(&bytes);
        precache.push(url.clone());
    }
    let version = &fingerprint.hex()[..12];
    let precache = serde_json::to_string(&precache)?;

    replace_in(&dist.join(PAGE), &[(VERSION_PLACEHOLDER, version)])?;
    replace_in(&dist.join(BOOT_SCRIPT), &[(VERSION_PLACEHOLDER, version)])?;
    let service_worker = dist.join(SERVICE_WORKER);
    if service_worker.is_file() {
        replace_in(&service_worker, &[(VERSION_PLACEHOLDER, version), (PRECACHE_PLACEHOLDER, &precache)])?;
    } else {
        println!("note: no {SERVICE_WORKER} in app/static, so no service worker to stamp");
    }
    println!("version {version}; precache {precache}");
    Ok(())
}

fn replace_in(path: &Path, replacements: &[(&str, &str)]) -> anyhow::Result<()> {
    let mut text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    for (placeholder, value) in replacements {
        text = text.replace(placeholder, value);
    }
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

/// Writes `<file>.br` and `<file>.gz` next to every compressible file:
/// brotli 11 and gzip 9 for release; brotli 5 and gzip 6 for dev builds,
/// whose bigger wasm would otherwise take most of a minute to compress.
fn precompress(dist: &Path, profile: Profile) -> anyhow::Result<()> {
    let (brotli_quality, gzip_level) = match profile {
        Profile::Release => (11, 9),
        Profile::Dev => (5, 6),
    };
    let started = std::time::Instant::now();
    let mut count = 0;
    for file in files_under(dist)? {
        let compressible =
            file.extension().and_then(|ext| ext.to_str()).is_some_and(|ext| COMPRESSIBLE.contains(&ext));
        if !compressible {
            continue;
        }
        let bytes = std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;

        let br = sibling(&file, "br");
        let mut encoder = brotli::CompressorWriter::new(Vec::new(), 64 * 1024, brotli_quality, 22);
        encoder.write_all(&bytes)?;
        std::fs::write(&br, encoder.into_inner()).with_context(|| format!("writing {}", br.display()))?;

        let gz = sibling(&file, "gz");
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(gzip_level));
        encoder.write_all(&bytes)?;
        std::fs::write(&gz, encoder.finish()?).with_context(|| format!("writing {}", gz.display()))?;
        count += 1;
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "precompressed {count} files (.br quality {brotli_quality}, .gz level {gzip_level}) in {seconds:.1} s"
    );
    Ok(())
}

/// Every file under `dir`, recursively, sorted (so fingerprints and the
/// precache list do not depend on directory order).
fn files_under(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).with_context(|| format!("listing {}", dir.display()))? {
            let path = entry?.path();
            if path.is_dir() {
                pending.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files.sort();
    Ok(files)
}

/// `dist/snippets/a.js` → `/snippets/a.js`.
fn url_path(dist: &Path, file: &Path) -> anyhow::Result<String> {
    let rel = file.strip_prefix(dist)?;
    let segments: Vec<_> = rel.components().map(|c| c.as_os_str().to_string_lossy()).collect();
    Ok(format!("/{}", segments.join("/")))
}

fn is_precompressed(file: &Path) -> bool {
    matches!(file.extension().and_then(|ext| ext.to_str()), Some("br" | "gz"))
}

/// `a.wasm` → `a.wasm.<ext>`.
fn sibling(file: &Path, ext: &str) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(".");
    name.push(ext);
    PathBuf::from(name)
}
