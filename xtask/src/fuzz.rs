//! `cargo xtask fuzz`: the cargo-fuzz targets in `fuzz/` (see
//! `fuzz/README.md`), and the short bounded run `cargo xtask test` does.
//!
//! Toolchain: cargo-fuzz (libFuzzer) is documented as nightly-only, but
//! only its sanitizer flag (`-Zsanitizer=address`) is unstable. Every other
//! flag it passes (`-Cpasses=sancov-module`, `-Cllvm-args=-sanitizer-
//! coverage-*`, `--cfg fuzzing`, `-Cdebug-assertions`) is stable, so with
//! `--sanitizer none` the stable toolchain alone builds the targets, with no
//! `RUSTC_BOOTSTRAP`. AddressSanitizer also works on stable (rustup ships
//! its runtime; `RUSTC_BOOTSTRAP=1` unlocks the flag: `--asan` below), but
//! it finds memory errors in `unsafe` code, `medk-shared` has none, and it
//! cost 4x the executions per second on the decoder (29,000/s against
//! 111,000/s, 440 MB against 40 MB), so the default and the test run go
//! without.
//!
//! Debug assertions (so overflow checks) stay on, as cargo-fuzz defaults.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

use anyhow::{Context as _, bail};

use crate::project::Project;
use crate::shell;

pub const TARGETS: [&str; 3] = ["message_decode", "relay", "documents"];

/// Seconds per target in `cargo xtask test` (the targets run side by side:
/// one minute of wall time).
const TEST_SECS: u64 = 60;

/// The cargo-fuzz release installed into `.tools/`.
const CARGO_FUZZ_VERSION: &str = "0.13.2";

/// A run over this many seconds per input is a hang: a failure.
const HANG_SECS: u64 = 10;

pub struct Options<'a> {
    /// None: every target.
    pub target: Option<&'a str>,
    pub secs: u64,
    pub asan: bool,
    /// Crash files to replay, or libFuzzer flags.
    pub args: &'a [String],
}

/// `cargo xtask fuzz [TARGET] [--secs N] [--asan] [-- FILES | LIBFUZZER_FLAGS]`:
/// fuzzes for `secs` seconds per target, output streaming, new inputs kept
/// in `fuzz/corpus/<target>`. Given files, replays them instead.
pub fn run(project: &Project, options: &Options<'_>) -> anyhow::Result<()> {
    let targets = match options.target {
        Some(t) if TARGETS.contains(&t) => vec![t],
        Some(t) => bail!("no fuzz target `{t}`: there are {}", TARGETS.join(", ")),
        None => TARGETS.to_vec(),
    };
    let cargo_fuzz = ensure_cargo_fuzz(project)?;
    let (files, flags): (Vec<&String>, Vec<&String>) =
        options.args.iter().partition(|a| !a.starts_with('-') && Path::new(a).is_file());
    if !files.is_empty() {
        let [target] = targets.as_slice() else { bail!("name the target the files are for") };
        let mut cmd = fuzz_command(project, &cargo_fuzz, "run", options.asan);
        cmd.arg(target).args(&files).arg("--").args(&flags);
        return shell::run(&mut cmd);
    }
    build(project, &cargo_fuzz, options.asan)?;
    for target in targets {
        let corpus = corpus_dir(project, target);
        std::fs::create_dir_all(&corpus).with_context(|| format!("creating {}", corpus.display()))?;
        let mut cmd = run_command(project, &cargo_fuzz, target, &corpus, options.secs, options.asan);
        cmd.args(&flags);
        let started = run_started();
        if let Err(err) = shell::run(&mut cmd) {
            return Err(failure(project, target, started, None)).context(err);
        }
    }
    Ok(())
}

/// The bounded run of `cargo xtask test`: every target for [`TEST_SECS`]
/// from its seeds alone (a corpus grown by long runs would take longer than
/// that just to replay), output kept in a log and summed up in one line per
/// target.
pub fn test(project: &Project) -> anyhow::Result<()> {
    let cargo_fuzz = ensure_cargo_fuzz(project)?;
    build(project, &cargo_fuzz, false)?;
    // Every target at once: each libFuzzer run is one process on one core,
    // and CI has two; one after another they took three minutes of wall
    // time, side by side one.
    let started = run_started();
    let mut runs = Vec::new();
    for target in TARGETS {
        let scratch = fuzz_dir(project).join("target").join("test-corpus").join(target);
        let _ = std::fs::remove_dir_all(&scratch);
        std::fs::create_dir_all(&scratch).with_context(|| format!("creating {}", scratch.display()))?;
        let log = fuzz_dir(project).join("target").join(format!("{target}.log"));
        let mut cmd = run_command(project, &cargo_fuzz, target, &scratch, TEST_SECS, false);
        let shown = shell::echo(&cmd);
        println!("  (output in {})", project.relative(&log));
        let out = std::fs::File::create(&log).with_context(|| format!("creating {}", log.display()))?;
        let child = cmd
            .stdout(out.try_clone()?)
            .stderr(out)
            .spawn()
            .with_context(|| format!("starting `{shown}`"))?;
        runs.push((target, log, shown, child));
    }
    let mut first_failure = None;
    for (target, log, shown, mut child) in runs {
        let status = child.wait().with_context(|| format!("waiting for `{shown}`"))?;
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if !status.success() {
            let error = failure(project, target, started, Some((&log, &text)))
                .context(format!("`{shown}` failed ({status})"));
            first_failure.get_or_insert(error);
            continue;
        }
        let stat = |name: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(&format!("stat::{name}:")))
                .map_or("?".to_string(), |v| v.trim().to_string())
        };
        println!(
            "fuzz {target}: {} runs in {TEST_SECS} s ({}/s), {} new inputs: no failure",
            stat("number_of_executed_units"),
            stat("average_exec_per_sec"),
            stat("new_units_added"),
        );
    }
    first_failure.map_or(Ok(()), Err)
}

/// What to say when a run fails: the input(s) libFuzzer saved, and how to
/// replay one.
fn failure(
    project: &Project,
    target: &str,
    started: SystemTime,
    log: Option<(&Path, &str)>,
) -> anyhow::Error {
    if let Some((path, text)) = log {
        // The panic (its message is under the `panicked at` line), then the
        // end, where cargo-fuzz names the input; not the backtrace between.
        let lines: Vec<&str> = text.lines().filter(|l| !l.starts_with('"')).collect();
        eprintln!("--- from {} ---", project.relative(path));
        if let Some(at) = lines.iter().position(|l| l.contains("panicked at")) {
            for line in lines.iter().skip(at).take(4) {
                eprintln!("{line}");
            }
            eprintln!("...");
        }
        let end = lines.iter().rposition(|l| l.contains("Failing input")).unwrap_or(lines.len());
        for line in &lines[end.saturating_sub(12)..(end + 3).min(lines.len())] {
            eprintln!("{line}");
        }
        eprintln!("---");
    }
    let new = artifacts(project, target, started);
    let Some(first) = new.first() else {
        return anyhow::anyhow!("fuzz target `{target}` failed without saving an input");
    };
    for file in &new {
        eprintln!("fuzz {target}: failing input saved in {}", project.relative(file));
    }
    let in_fuzz_dir = first.strip_prefix(fuzz_dir(project)).unwrap_or(first).display();
    anyhow::anyhow!(
        "fuzz target `{target}` found a failure: {} (replay with `cargo xtask fuzz {target} -- {}`, \
         or step by step without libFuzzer: `cd fuzz && MEDK_FUZZ_TRACE=1 cargo run --example replay -- \
         {target} {in_fuzz_dir}`)",
        new.iter().map(|f| project.relative(f)).collect::<Vec<_>>().join(", "),
        project.relative(first),
    )
}

/// Now, less a margin for file systems that keep coarse modification times.
fn run_started() -> SystemTime {
    SystemTime::now() - Duration::from_secs(2)
}

fn fuzz_dir(project: &Project) -> PathBuf {
    project.root.join("fuzz")
}

fn corpus_dir(project: &Project, target: &str) -> PathBuf {
    fuzz_dir(project).join("corpus").join(target)
}

/// What libFuzzer saved for `target` since `since` (crash-, timeout-, oom-
/// files; an input that failed before is written again under the same name).
fn artifacts(project: &Project, target: &str, since: SystemTime) -> Vec<PathBuf> {
    let dir = fuzz_dir(project).join("artifacts").join(target);
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut new: Vec<PathBuf> = entries
        .filter_map(|e| {
            let e = e.ok()?;
            (e.metadata().ok()?.modified().ok()? >= since).then(|| e.path())
        })
        .collect();
    new.sort();
    new
}

/// `cargo fuzz <verb>` for our fuzz dir and sanitizer choice.
fn fuzz_command(project: &Project, cargo_fuzz: &Path, verb: &str, asan: bool) -> Command {
    let mut cmd = Command::new(cargo_fuzz);
    cmd.arg(verb).arg("--fuzz-dir").arg(fuzz_dir(project));
    if asan {
        // `-Zsanitizer=address` on the stable toolchain.
        cmd.env("RUSTC_BOOTSTRAP", "1").args(["--sanitizer", "address"]);
    } else {
        cmd.args(["--sanitizer", "none"]);
    }
    cmd
}

/// Builds every target, output streaming: a cold build takes minutes.
fn build(project: &Project, cargo_fuzz: &Path, asan: bool) -> anyhow::Result<()> {
    shell::run(&mut fuzz_command(project, cargo_fuzz, "build", asan))
}

/// Fuzzes `target` for `secs`: new inputs go to `corpus`, the seeds in
/// `fuzz/seeds/<target>` are read too.
fn run_command(
    project: &Project,
    cargo_fuzz: &Path,
    target: &str,
    corpus: &Path,
    secs: u64,
    asan: bool,
) -> Command {
    let mut cmd = fuzz_command(project, cargo_fuzz, "run", asan);
    cmd.arg(target)
        .arg(corpus)
        .arg(fuzz_dir(project).join("seeds").join(target))
        .arg("--")
        .arg(format!("-max_total_time={secs}"))
        .arg(format!("-timeout={HANG_SECS}"))
        // Mutate fast inputs more: a relay script with big edits (compaction)
        // runs 20 times longer than most, and without this its offspring
        // took two thirds of a 20 s run (700 runs instead of 2,600).
        .arg("-entropic_scale_per_exec_time=1")
        .arg("-print_final_stats=1");
    cmd
}

/// cargo-fuzz at [`CARGO_FUZZ_VERSION`] in `.tools/cargo-fuzz/` (about a
/// minute to install). Returns the binary's path.
fn ensure_cargo_fuzz(project: &Project) -> anyhow::Result<PathBuf> {
    let root = project.tools_dir().join("cargo-fuzz");
    let bin = root.join("bin").join(format!("cargo-fuzz{}", std::env::consts::EXE_SUFFIX));
    if bin.is_file() {
        let reported = shell::read(Command::new(&bin).arg("--version"))?;
        if reported.split_whitespace().nth(1) == Some(CARGO_FUZZ_VERSION) {
            println!("cargo-fuzz {CARGO_FUZZ_VERSION}: present ({})", project.relative(&bin));
            return Ok(bin);
        }
    }
    println!("cargo-fuzz {CARGO_FUZZ_VERSION}: installing with cargo into {}", project.relative(&root));
    shell::run(
        project
            .cargo()
            .args(["install", "--locked", "cargo-fuzz", "--version", CARGO_FUZZ_VERSION, "--root"])
            .arg(&root),
    )?;
    Ok(bin)
}
