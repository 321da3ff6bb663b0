//! Installing what the build and the tests need. Every `ensure_*` is
//! idempotent and prints one line: what it installs, or that it is present.
//! Installs go under `.tools/` (ignored by git) unless they are system
//! packages.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, bail};

use crate::fingerprint::Fingerprint;
use crate::project::Project;
use crate::shell;

const WASM_TARGET: &str = "wasm32-unknown-unknown";
/// Debian's binaryen (v108) emits modules that fail to instantiate in the
/// browser (`WebAssembly.Table.set(): Argument 1 is invalid`); npm's 132 works.
const BINARYEN_VERSION: &str = "132";
pub const CHROMIUM: &str = "/usr/bin/chromium";

/// `rustup target add wasm32-unknown-unknown`, unless it is installed.
pub fn ensure_wasm_target() -> anyhow::Result<()> {
    let installed = shell::read(Command::new("rustup").args(["target", "list", "--installed"]))
        .context("listing rustup targets (the wasm build needs rustup)")?;
    if installed.lines().any(|line| line.trim() == WASM_TARGET) {
        println!("rust target {WASM_TARGET}: present");
        return Ok(());
    }
    println!("rust target {WASM_TARGET}: installing with rustup");
    shell::run(Command::new("rustup").args(["target", "add", WASM_TARGET]))
}

/// The wasm-bindgen CLI at exactly the version of the `wasm-bindgen` crate in
/// Cargo.lock (they must match), in `.tools/wasm-bindgen-<version>/`.
/// Returns the path of the `wasm-bindgen` binary.
pub fn ensure_wasm_bindgen(project: &Project) -> anyhow::Result<PathBuf> {
    let version = locked_version(&project.root.join("Cargo.lock"), "wasm-bindgen")?;
    let root = project.tools_dir().join(format!("wasm-bindgen-{version}"));
    let bin = root.join("bin").join("wasm-bindgen");
    if bin.is_file() {
        let reported = shell::read(Command::new(&bin).arg("--version"))?;
        if reported.split_whitespace().nth(1) == Some(version.as_str()) {
            println!("wasm-bindgen {version}: present ({})", project.relative(&bin));
            return Ok(bin);
        }
    }
    println!("wasm-bindgen {version}: installing with cargo into {} (7-9 min)", project.relative(&root));
    // Not --locked: the CLI's own lockfile pins a crate version the registry lacks.
    shell::run(
        project.cargo().args(["install", "wasm-bindgen-cli", "--version", &version, "--root"]).arg(&root),
    )?;
    Ok(bin)
}

/// `wasm-opt` from npm's binaryen@132 in `.tools/binaryen/`. Returns its path.
pub fn ensure_wasm_opt(project: &Project) -> anyhow::Result<PathBuf> {
    let prefix = project.tools_dir().join("binaryen");
    let bin = prefix.join("node_modules").join(".bin").join("wasm-opt");
    if bin.is_file() {
        let reported = shell::read(Command::new(&bin).arg("--version"))?;
        if reported.contains(&format!("version {BINARYEN_VERSION}")) {
            println!("binaryen {BINARYEN_VERSION} (wasm-opt): present ({})", project.relative(&bin));
            return Ok(bin);
        }
    }
    println!(
        "binaryen {BINARYEN_VERSION} (wasm-opt): installing with npm into {}",
        project.relative(&prefix)
    );
    std::fs::create_dir_all(&prefix).with_context(|| format!("creating {}", prefix.display()))?;
    shell::run(
        Command::new("npm")
            .arg("install")
            .arg("--prefix")
            .arg(&prefix)
            .arg(format!("binaryen@{BINARYEN_VERSION}")),
    )?;
    if !bin.is_file() {
        bail!("npm installed binaryen but {} is missing", bin.display());
    }
    Ok(bin)
}

/// Debian's chromium at /usr/bin/chromium, which Playwright drives (we never
/// download Playwright's own browsers).
pub fn ensure_chromium() -> anyhow::Result<()> {
    if Path::new(CHROMIUM).is_file() {
        println!("chromium: present ({CHROMIUM})");
        return Ok(());
    }
    println!("chromium: installing with apt-get");
    apt_install(&["chromium"])?;
    if !Path::new(CHROMIUM).is_file() {
        bail!("apt-get installed chromium but {CHROMIUM} is missing");
    }
    Ok(())
}

/// Debian's PostgreSQL, whose `initdb` and `pg_ctl` the server's tests use
/// to make throwaway clusters (server/tests/common/postgres.rs); the
/// packaged cluster itself is not used.
pub fn ensure_postgres() -> anyhow::Result<()> {
    let present = || {
        std::fs::read_dir("/usr/lib/postgresql")
            .map(|versions| versions.flatten().any(|v| v.path().join("bin").join("initdb").is_file()))
            .unwrap_or(false)
    };
    if present() {
        println!("postgresql: present (/usr/lib/postgresql)");
        return Ok(());
    }
    println!("postgresql: installing with apt-get");
    apt_install(&["postgresql"])?;
    if !present() {
        bail!("apt-get installed postgresql but no /usr/lib/postgresql/*/bin/initdb is there");
    }
    Ok(())
}

/// `apt-get install` of Debian packages (as root, or through sudo).
fn apt_install(packages: &[&str]) -> anyhow::Result<()> {
    let as_root = |args: &[&str]| {
        let mut cmd = if is_root()? {
            Command::new(args[0])
        } else {
            let mut sudo = Command::new("sudo");
            sudo.arg(args[0]);
            sudo
        };
        cmd.args(&args[1..]);
        shell::run(&mut cmd)
    };
    as_root(&["apt-get", "update"])?;
    let mut install =
        vec!["apt-get", "install", "-y", "--no-install-recommends", "-o", "DPkg::Lock::Timeout=300"];
    install.extend_from_slice(packages);
    as_root(&install)
}

/// `npm ci` in `e2e/` when `node_modules` is missing or was installed from a
/// different `package-lock.json` (a fingerprint of the lockfile is kept in
/// `node_modules/`, which `npm ci` wipes).
pub fn ensure_e2e_packages(project: &Project) -> anyhow::Result<()> {
    let e2e = project.e2e_dir();
    let lock_path = e2e.join("package-lock.json");
    let lock = std::fs::read(&lock_path).with_context(|| format!("reading {}", lock_path.display()))?;
    let wanted = Fingerprint::of(&lock).hex();
    let stamp = e2e.join("node_modules").join(".medk-package-lock.fingerprint");
    let installed = std::fs::read_to_string(&stamp).unwrap_or_default();
    if installed.trim() == wanted {
        println!("e2e npm packages: present (e2e/node_modules matches package-lock.json)");
        return Ok(());
    }
    println!("e2e npm packages: installing with npm ci");
    shell::run(Command::new("npm").arg("ci").current_dir(&e2e))?;
    std::fs::write(&stamp, wanted).with_context(|| format!("writing {}", stamp.display()))
}

/// The version of `package` in a Cargo.lock (exactly one must be locked).
fn locked_version(lockfile: &Path, package: &str) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(lockfile)
        .with_context(|| format!("reading {} (cargo writes it on the first build)", lockfile.display()))?;
    let name_line = format!("name = \"{package}\"");
    let mut versions = Vec::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if line.trim() == name_line {
            let version = lines
                .next()
                .and_then(|line| line.trim().strip_prefix("version = \""))
                .and_then(|rest| rest.strip_suffix('"'))
                .with_context(|| format!("{}: no version after `{name_line}`", lockfile.display()))?;
            versions.push(version.to_owned());
        }
    }
    match versions.as_slice() {
        [version] => Ok(version.clone()),
        [] => bail!("{} locks no `{package}`", lockfile.display()),
        many => bail!("{} locks several `{package}` versions: {many:?}", lockfile.display()),
    }
}

fn is_root() -> anyhow::Result<bool> {
    Ok(shell::read(Command::new("id").arg("-u"))?.trim() == "0")
}
