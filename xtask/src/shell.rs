//! Running other programs the way a person at a terminal would: each command
//! is echoed (`$ cargo build ...`) before it runs, and a failure names the
//! command.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context as _, bail};

/// Runs `cmd` with the terminal's stdin/stdout/stderr; fails unless it exits 0.
pub fn run(cmd: &mut Command) -> anyhow::Result<()> {
    let shown = echo(cmd);
    let status = cmd.status().with_context(|| format!("starting `{shown}`"))?;
    if !status.success() {
        bail!("`{shown}` failed ({status})");
    }
    Ok(())
}

/// Runs `cmd` quietly (no echo: used for probes such as `--version`) and
/// returns its stdout; fails unless it exits 0.
pub fn read(cmd: &mut Command) -> anyhow::Result<String> {
    let shown = render(cmd);
    let output = cmd
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("starting `{shown}`"))?;
    if !output.status.success() {
        bail!("`{shown}` failed ({})", output.status);
    }
    String::from_utf8(output.stdout).with_context(|| format!("`{shown}` printed non-UTF-8"))
}

/// Prints `$ [(cd dir)] [VAR=value ...] program args` and returns the
/// rendered command.
pub fn echo(cmd: &Command) -> String {
    let shown = render(cmd);
    match cmd.get_current_dir() {
        Some(dir) => println!("$ (cd {}) {shown}", shorten(dir.as_os_str(), &process_dir())),
        None => println!("$ {shown}"),
    }
    shown
}

/// The command as one line, with paths under its working directory made
/// relative so the echo stays readable.
fn render(cmd: &Command) -> String {
    let dir = cmd.get_current_dir().map_or_else(process_dir, Path::to_path_buf);
    let envs = cmd
        .get_envs()
        .filter_map(|(key, value)| Some(format!("{}={}", key.to_string_lossy(), shorten(value?, &dir))));
    let program = std::iter::once(shorten(cmd.get_program(), &dir));
    let args = cmd.get_args().map(|arg| shorten(arg, &dir));
    envs.chain(program).chain(args).collect::<Vec<_>>().join(" ")
}

fn shorten(arg: &OsStr, dir: &Path) -> String {
    match Path::new(arg).strip_prefix(dir) {
        Ok(rel) if !rel.as_os_str().is_empty() => rel.display().to_string(),
        _ => arg.to_string_lossy().into_owned(),
    }
}

fn process_dir() -> PathBuf {
    std::env::current_dir().unwrap_or_default()
}
