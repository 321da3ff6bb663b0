//! `cargo xtask <verb>`: building, running, testing and benchmarking medk,
//! in Rust rather than shell scripts. One function per verb; each installs
//! what it is missing (see [`tools`]) and echoes every command it runs.

mod bench_data;
mod bench_indicators;
mod bench_sync;
mod dist;
mod fingerprint;
mod fuzz;
mod project;
mod shell;
mod tools;

use std::path::PathBuf;
use std::process::{Command, ExitCode};

use anyhow::{Context as _, bail};
use clap::{Parser, Subcommand};

use crate::dist::{Profile, Toolchain};
use crate::project::Project;

/// Activities in the big bench roadmap (`MEDK_BENCH_ACTIVITIES` overrides): the
/// size issue #2 sets the start-up target for.
const BENCH_ACTIVITIES: usize = 1_000;

#[derive(Parser)]
#[command(name = "cargo xtask", bin_name = "cargo xtask", about = "Build, run, test and bench medk.")]
struct Cli {
    #[command(subcommand)]
    verb: Verb,
}

#[derive(Subcommand)]
enum Verb {
    /// Build the app into dist/ (release: small wasm; --dev: fast rebuilds).
    Build {
        #[arg(long)]
        dev: bool,
    },
    /// Build the app and the server, then serve on http://127.0.0.1:8080 with
    /// data in ./data.
    Run {
        #[arg(long)]
        dev: bool,
        #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
        listen: String,
    },
    /// Run every test: cargo's and a short fuzz run, then the browser tests
    /// (Playwright).
    Test {
        /// Skip `cargo test` and the fuzz run.
        #[arg(long, conflicts_with = "no_e2e")]
        e2e_only: bool,
        /// Skip the browser tests.
        #[arg(long)]
        no_e2e: bool,
        /// Passed to `playwright test`, e.g. a test file filter.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        playwright_args: Vec<String>,
    },
    /// Fuzz the sync protocol (fuzz/README.md): one target or all, new
    /// inputs kept in fuzz/corpus/.
    Fuzz {
        /// message_decode, relay or documents (default: all, one after the other).
        target: Option<String>,
        /// Seconds per target.
        #[arg(long, default_value_t = 60)]
        secs: u64,
        /// Build with AddressSanitizer (slower; on stable via RUSTC_BOOTSTRAP).
        #[arg(long)]
        asan: bool,
        /// After `--`: crash files to replay, or libFuzzer flags (-jobs=2, -max_len=4096, ...).
        #[arg(last = true)]
        args: Vec<String>,
    },
    /// Measure something.
    Bench {
        #[command(subcommand)]
        what: Bench,
    },
}

#[derive(Subcommand)]
enum Bench {
    /// Wasm size, then app start-up in chromium (e2e/bench/app-start.mjs).
    App,
    /// Sync relay under load (server/examples/sync_load.rs): medk-server
    /// against the automerge-repo JS sync server, same scenarios, same run.
    Sync {
        /// Limit for each phase of one run (setup; convergence), in seconds.
        #[arg(long, default_value_t = 120)]
        timeout_s: u64,
        /// Only these servers: medk, js (comma-separated; default both).
        #[arg(long, value_delimiter = ',')]
        server: Vec<String>,
        /// Only these scenarios: a (200 clients / 20 docs / 20 changes,
        /// burst), b (the same paced every 25 ms), c (2,000 / 200 / 5, burst).
        #[arg(long, value_delimiter = ',')]
        scenario: Vec<String>,
        /// Runs of each; the table shows the one with the median
        /// convergence time (runs vary by tens of percent on 2 cores).
        #[arg(long, default_value_t = 1)]
        runs: usize,
    },
    /// The monitoring dashboard's indicators over 500 school roadmaps in
    /// chromium (e2e/bench/indicators.mjs), against the same code natively.
    Indicators,
    /// What one sync message costs the relay's own task, against what
    /// applying it costs (shared/examples/relay_bench.rs, optimized).
    Relay,
    /// Internal to `bench indicators` (run in an optimized build): writes
    /// the data and times the native baseline.
    #[command(hide = true)]
    IndicatorsNative {
        #[arg(long)]
        data: PathBuf,
        #[arg(long)]
        result: PathBuf,
    },
}

/// Prints the error chain on one line (`{:#}`): the context says which step
/// failed, and a Rust backtrace of xtask itself would only bury it.
fn main() -> ExitCode {
    match try_main() {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn try_main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let project = Project::locate();
    std::env::set_current_dir(&project.root)
        .with_context(|| format!("entering {}", project.root.display()))?;
    match cli.verb {
        Verb::Build { dev } => build(&project, profile(dev)),
        Verb::Run { dev, listen } => run(&project, profile(dev), &listen),
        Verb::Test { e2e_only, no_e2e, playwright_args } => {
            test(&project, !e2e_only, !no_e2e, &playwright_args)
        }
        Verb::Fuzz { target, secs, asan, args } => {
            fuzz::run(&project, &fuzz::Options { target: target.as_deref(), secs, asan, args: &args })
        }
        Verb::Bench { what: Bench::App } => bench_app(&project),
        Verb::Bench { what: Bench::Sync { timeout_s, server, scenario, runs } } => {
            let servers =
                server.iter().map(|s| bench_sync::Server::parse(s)).collect::<anyhow::Result<_>>()?;
            bench_sync::run(&project, &bench_sync::Options { timeout_s, servers, scenarios: scenario, runs })
        }
        Verb::Bench { what: Bench::Indicators } => bench_indicators::run(&project),
        Verb::Bench { what: Bench::Relay } => shell::run(std::process::Command::new("cargo").args([
            "run",
            "--release",
            "-p",
            "medk-shared",
            "--example",
            "relay_bench",
        ])),
        Verb::Bench { what: Bench::IndicatorsNative { data, result } } => {
            bench_indicators::native(&data, &result)
        }
    }
}

/// `cargo xtask build [--dev]`
fn build(project: &Project, profile: Profile) -> anyhow::Result<()> {
    let tools = ensure_build_tools(project, profile)?;
    let size = dist::build_app(project, profile, &tools)?;
    size.print();
    println!("built {}", project.relative(&project.dist_dir()));
    Ok(())
}

/// `cargo xtask run [--dev] [--listen ADDR]`: the server replaces this
/// process, so Ctrl-C reaches it directly and it shuts down gracefully.
fn run(project: &Project, profile: Profile, listen: &str) -> anyhow::Result<()> {
    build(project, profile)?;
    let server = build_server(project, ServerProfile::Release)?;
    println!("medk: http://{listen} (data in ./{}; Ctrl-C stops)", project.relative(&project.data_dir()));
    let mut cmd = Command::new(&server);
    cmd.arg("--listen")
        .arg(listen)
        .arg("--data-dir")
        .arg(project.data_dir())
        .arg("--static-dir")
        .arg(project.dist_dir());
    exec(&mut cmd)
}

/// `cargo xtask test [--e2e-only | --no-e2e] [PLAYWRIGHT_ARGS...]`
fn test(project: &Project, cargo_tests: bool, e2e: bool, playwright_args: &[String]) -> anyhow::Result<()> {
    let mut steps = Steps::default();
    let result = run_tests(project, cargo_tests, e2e, playwright_args, &mut steps);
    steps.print();
    result?;
    println!("all tests passed");
    Ok(())
}

fn run_tests(
    project: &Project,
    cargo_tests: bool,
    e2e: bool,
    playwright_args: &[String],
    steps: &mut Steps,
) -> anyhow::Result<()> {
    let tools = if e2e {
        let tools = steps.time("wasm tools (target, wasm-bindgen, wasm-opt)", || {
            ensure_build_tools(project, Profile::Release)
        })?;
        steps.time("chromium and npm packages", || {
            tools::ensure_chromium()?;
            tools::ensure_e2e_packages(project)
        })?;
        Some(tools)
    } else {
        None
    };
    if cargo_tests {
        // The server's tests run throwaway PostgreSQL clusters.
        steps.time("postgresql", tools::ensure_postgres)?;
        steps.time("cargo test (build and run)", || {
            shell::run(project.cargo().args(["test", "--workspace"]))
        })?;
        steps.time("fuzz (install, build, run)", || fuzz::test(project))?;
    }
    if let Some(tools) = tools {
        steps.time("app (wasm release build)", || {
            dist::build_app(project, Profile::Release, &tools).map(|built| built.print())
        })?;
        let server = steps.time("server (debug build)", || build_server(project, ServerProfile::Debug))?;
        steps.time("browser tests", || {
            shell::run(
                e2e_command(project, &server, "npx")
                    .args(["--no-install", "playwright", "test"])
                    .args(playwright_args),
            )
        })?;
    }
    Ok(())
}

/// The wall time of each step of `cargo xtask test`, printed at the end
/// (failed or not): cold CI has a budget, and this says where it goes.
#[derive(Default)]
struct Steps(Vec<(&'static str, std::time::Duration)>);

impl Steps {
    fn time<T>(&mut self, name: &'static str, step: impl FnOnce() -> anyhow::Result<T>) -> anyhow::Result<T> {
        let started = std::time::Instant::now();
        let result = step();
        self.0.push((name, started.elapsed()));
        result
    }

    fn print(&self) {
        let total: std::time::Duration = self.0.iter().map(|(_, d)| *d).sum();
        println!("time by step ({:.0} s in all):", total.as_secs_f64());
        for (name, took) in &self.0 {
            println!("  {:>6.0} s  {name}", took.as_secs_f64());
        }
    }
}

/// `cargo xtask bench app`: the wasm size, then start-up time in chromium
/// measured by `e2e/bench/app-start.mjs` against a release server.
fn bench_app(project: &Project) -> anyhow::Result<()> {
    let tools = ensure_build_tools(project, Profile::Release)?;
    dist::build_app(project, Profile::Release, &tools)?.print();

    let script = project.e2e_dir().join("bench").join("app-start.mjs");
    if !script.is_file() {
        bail!(
            "{} is missing: the start-up bench is written with the app (it loads a generated roadmap)",
            project.relative(&script)
        );
    }
    tools::ensure_chromium()?;
    tools::ensure_e2e_packages(project)?;
    let server = build_server(project, ServerProfile::Release)?;

    // A big roadmap and a one-activity baseline, written by the same document
    // code the app stores, fresh each run so they follow format changes.
    let activities = match std::env::var("MEDK_BENCH_ACTIVITIES") {
        Ok(n) => n.parse().with_context(|| format!("MEDK_BENCH_ACTIVITIES={n} is not a count"))?,
        Err(_) => BENCH_ACTIVITIES,
    };
    let bench_dir = project.target_dir().join("bench");
    let big = bench_dir.join(format!("roadmap-{activities}.automerge"));
    let small = bench_dir.join("roadmap-1.automerge");
    println!("writing {} and {}", project.relative(&big), project.relative(&small));
    bench_data::write_roadmap(&big, activities)?;
    bench_data::write_roadmap(&small, 1)?;

    shell::run(
        e2e_command(project, &server, "node")
            .arg(&script)
            .env("MEDK_BENCH_ROADMAP", &big)
            .env("MEDK_BENCH_ROADMAP_SMALL", &small)
            .env("MEDK_BENCH_ACTIVITIES", activities.to_string()),
    )
}

fn profile(dev: bool) -> Profile {
    if dev { Profile::Dev } else { Profile::Release }
}

/// What building the app needs (wasm-opt only for release builds).
fn ensure_build_tools(project: &Project, profile: Profile) -> anyhow::Result<Toolchain> {
    tools::ensure_wasm_target()?;
    let wasm_bindgen = tools::ensure_wasm_bindgen(project)?;
    let wasm_opt = match profile {
        Profile::Release => Some(tools::ensure_wasm_opt(project)?),
        Profile::Dev => None,
    };
    Ok(Toolchain { wasm_bindgen, wasm_opt })
}

#[derive(Clone, Copy)]
enum ServerProfile {
    /// Quick to build; what the browser tests use.
    Debug,
    /// What people run, and what the bench measures.
    Release,
}

/// Builds `medk-server` and returns the binary's path.
fn build_server(project: &Project, profile: ServerProfile) -> anyhow::Result<PathBuf> {
    let mut cmd = project.cargo();
    cmd.args(["build", "-p", "medk-server"]);
    let dir = match profile {
        ServerProfile::Debug => "debug",
        ServerProfile::Release => {
            cmd.arg("--release");
            "release"
        }
    };
    shell::run(&mut cmd)?;
    Ok(project.target_dir().join(dir).join(format!("medk-server{}", std::env::consts::EXE_SUFFIX)))
}

/// A command run in `e2e/` with what the browser tests and benches read:
/// `MEDK_SERVER_BIN` and `MEDK_STATIC_DIR` (absolute), and our own
/// environment, `CI` included.
fn e2e_command(project: &Project, server: &std::path::Path, program: &str) -> Command {
    let mut cmd = Command::new(program);
    cmd.current_dir(project.e2e_dir())
        .env("MEDK_SERVER_BIN", server)
        .env("MEDK_STATIC_DIR", project.dist_dir());
    cmd
}

/// Replaces this process with `cmd` (on Unix); elsewhere runs it and exits
/// with its status.
fn exec(cmd: &mut Command) -> anyhow::Result<()> {
    let shown = shell::echo(cmd);
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt as _;
        let err = cmd.exec();
        Err(err).with_context(|| format!("starting `{shown}`"))
    }
    #[cfg(not(unix))]
    {
        let status = cmd.status().with_context(|| format!("starting `{shown}`"))?;
        std::process::exit(status.code().unwrap_or(1));
    }
}
