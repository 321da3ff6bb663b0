//! `cargo xtask bench sync`: the same sync load against medk-server and the
//! automerge-repo JS sync server (`e2e/interop/js-sync-server.mjs`), each
//! started fresh (new data dir) for every scenario and stopped after it. The
//! load comes from `server/examples/sync_load.rs` (`--json`), which reads
//! the server's peak RSS and CPU time from /proc by its pid.
//!
//! medk-server syncs only for signed-in people: before it starts, its fresh
//! data dir gets one federal coordinator (`medk-server admin create-user`),
//! who may write every document; the generator signs in as them once and
//! every socket carries the session cookie. The JS server has no accounts.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use serde_json::Value;

use crate::project::Project;
use crate::{shell, tools};

/// The targets at 200 clients / 20 docs / 20 changes: medk
/// converges this many times faster than the JS server...
const SPEEDUP_TARGET: f64 = 10.0;
/// ...with at most this fraction of its peak RSS.
const RSS_TARGET: f64 = 1.0 / 5.0;

/// The account the generator signs in with on medk-server (a throwaway
/// data dir per run).
const BENCH_LOGIN: &str = "bench";
const BENCH_PASSWORD: &str = "bench-password";

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Server {
    Medk,
    Js,
}

impl Server {
    pub fn name(self) -> &'static str {
        match self {
            Server::Medk => "medk",
            Server::Js => "js",
        }
    }

    pub fn parse(name: &str) -> anyhow::Result<Server> {
        match name {
            "medk" => Ok(Server::Medk),
            "js" => Ok(Server::Js),
            other => bail!("unknown server `{other}` (medk, js)"),
        }
    }
}

struct Scenario {
    key: &'static str,
    clients: usize,
    docs: usize,
    changes: usize,
    /// `None`: burst.
    pace_ms: Option<u64>,
    /// The 200-client scenarios carry the ratio targets; the big one
    /// only has to converge on medk.
    ratio_targets: bool,
}

impl Scenario {
    fn label(&self) -> String {
        let mode = self.pace_ms.map_or("burst".to_string(), |ms| format!("paced {ms} ms"));
        format!("{}: {} cl / {} docs / {} ch, {mode}", self.key, self.clients, self.docs, self.changes)
    }
}

const SCENARIOS: [Scenario; 3] = [
    Scenario { key: "a", clients: 200, docs: 20, changes: 20, pace_ms: None, ratio_targets: true },
    Scenario { key: "b", clients: 200, docs: 20, changes: 20, pace_ms: Some(25), ratio_targets: true },
    Scenario { key: "c", clients: 2_000, docs: 200, changes: 5, pace_ms: None, ratio_targets: false },
];

/// What the bench was asked to do.
pub struct Options {
    /// Limit for each phase of one run (setup, convergence).
    pub timeout_s: u64,
    /// Empty: both.
    pub servers: Vec<Server>,
    /// Empty: all.
    pub scenarios: Vec<String>,
    /// Runs of each server and scenario; the table shows the median one.
    pub runs: usize,
}

/// One run's outcome: the generator's JSON, or why there is none.
struct Outcome {
    server: Server,
    scenario: &'static str,
    /// The run with the median convergence time (a run that did not
    /// converge counts as the slowest).
    result: Result<Value, String>,
    /// Every run's convergence time, in run order (`None`: did not converge).
    runs: Vec<Option<f64>>,
}

impl Outcome {
    fn field(&self, name: &str) -> Option<&Value> {
        self.result.as_ref().ok()?.get(name).filter(|v| !v.is_null())
    }

    fn f64(&self, name: &str) -> Option<f64> {
        self.field(name)?.as_f64()
    }

    fn converged(&self) -> bool {
        self.field("converged").and_then(Value::as_bool) == Some(true)
    }

    fn convergence_s(&self) -> Option<f64> {
        self.converged().then(|| self.f64("convergence_s")).flatten()
    }
}

pub fn run(project: &Project, options: &Options) -> anyhow::Result<()> {
    if options.runs == 0 {
        bail!("--runs must be at least 1");
    }
    for scenario in &options.scenarios {
        if !SCENARIOS.iter().any(|s| s.key == scenario) {
            bail!("unknown scenario `{scenario}` (a, b, c)");
        }
    }
    let servers: Vec<Server> =
        if options.servers.is_empty() { vec![Server::Medk, Server::Js] } else { options.servers.clone() };
    let scenarios: Vec<&Scenario> = SCENARIOS
        .iter()
        .filter(|s| options.scenarios.is_empty() || options.scenarios.iter().any(|k| k == s.key))
        .collect();

    shell::run(project.cargo().args([
        "build",
        "--release",
        "-p",
        "medk-server",
        "--bins",
        "--example",
        "sync_load",
    ]))?;
    let release = project.target_dir().join("release");
    let medk = release.join(format!("medk-server{}", std::env::consts::EXE_SUFFIX));
    let load = release.join("examples").join(format!("sync_load{}", std::env::consts::EXE_SUFFIX));
    if servers.contains(&Server::Js) {
        shell::read(Command::new("node").arg("--version")).context("the JS sync server needs Node.js")?;
        tools::ensure_e2e_packages(project)?;
    }

    let logs = project.target_dir().join("bench").join("sync");
    std::fs::create_dir_all(&logs).with_context(|| format!("creating {}", logs.display()))?;
    println!(
        "sync bench: servers {}; logs in {}; each phase limited to {} s",
        servers.iter().map(|s| s.name()).collect::<Vec<_>>().join(", "),
        project.relative(&logs),
        options.timeout_s
    );

    let mut outcomes = Vec::new();
    for scenario in &scenarios {
        for &server in &servers {
            let mut results = Vec::new();
            for run in 1..=options.runs {
                let of = if options.runs > 1 {
                    format!(" (run {run} of {})", options.runs)
                } else {
                    String::new()
                };
                println!("\n== {} on {}{of}", scenario.label(), server.name());
                // Logs and reports are kept per run: `js-a.log`, or `js-a-2.log` with --runs.
                let mut name = format!("{}-{}", server.name(), scenario.key);
                if options.runs > 1 {
                    name += &format!("-{run}");
                }
                let result =
                    run_one(project, server, scenario, &name, &medk, &load, &logs, options.timeout_s);
                if let Err(e) = &result {
                    println!("   failed: {e}");
                }
                results.push(Outcome { server, scenario: scenario.key, result, runs: Vec::new() });
            }
            let runs: Vec<Option<f64>> = results.iter().map(Outcome::convergence_s).collect();
            results.sort_by(|a, b| {
                let key = |o: &Outcome| o.convergence_s().unwrap_or(f64::INFINITY);
                key(a).total_cmp(&key(b))
            });
            let mut median = results.swap_remove((results.len() - 1) / 2);
            median.runs = runs;
            outcomes.push(median);
        }
    }

    println!("\n{}", table(&scenarios, &outcomes));
    println!("{}", verdicts(&scenarios, &outcomes, options.timeout_s));
    Ok(())
}

/// Starts the server, runs the generator against it, stops it.
#[allow(clippy::too_many_arguments)]
fn run_one(
    project: &Project,
    server: Server,
    scenario: &Scenario,
    name: &str,
    medk: &Path,
    load: &Path,
    logs: &Path,
    timeout_s: u64,
) -> Result<Value, String> {
    let data = std::env::temp_dir().join(format!("medk-bench-sync-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    std::fs::create_dir_all(&data).map_err(|e| format!("creating {}: {e}", data.display()))?;
    let log = logs.join(format!("{name}.log"));
    let result = (|| {
        if server == Server::Medk {
            create_account(medk, &data.join("relay")).map_err(|e| format!("{e:#}"))?;
        }
        let mut running = start(project, server, medk, &data, &log).map_err(|e| format!("{e:#}"))?;
        let measured = generate(
            load,
            scenario,
            server,
            running.port,
            running.child.id(),
            timeout_s,
            &logs.join(format!("{name}.json")),
        );
        stop(&mut running.child, server);
        measured
    })();
    let _ = std::fs::remove_dir_all(&data);
    result
}

/// The generator's account: a federal coordinator, who writes every
/// roadmap (made while no server holds the data dir).
fn create_account(medk: &Path, data_dir: &Path) -> anyhow::Result<()> {
    let mut cmd = Command::new(medk);
    cmd.arg("admin")
        .arg("create-user")
        .arg("--data-dir")
        .arg(data_dir)
        .args(["--login", BENCH_LOGIN, "--password-stdin", "--role", "federal-coordinator"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().context("starting medk-server admin create-user")?;
    child.stdin.take().expect("piped").write_all(BENCH_PASSWORD.as_bytes())?;
    let out = child.wait_with_output()?;
    if !out.status.success() {
        bail!(
            "medk-server admin create-user failed ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

struct Running {
    child: Child,
    port: u16,
}

/// Starts a server on a free port with its output in `log`, and waits until
/// it says it listens.
fn start(project: &Project, server: Server, medk: &Path, data: &Path, log: &Path) -> anyhow::Result<Running> {
    let out = std::fs::File::create(log).with_context(|| format!("creating {}", log.display()))?;
    let err = out.try_clone()?;
    let mut cmd = match server {
        Server::Medk => {
            let mut cmd = Command::new(medk);
            cmd.arg("--listen")
                .arg("127.0.0.1:0")
                .arg("--data-dir")
                .arg(data.join("relay"))
                // The app is not needed (the server answers 503 for pages).
                .arg("--static-dir")
                .arg(data.join("no-app"))
                // Every generated client signs in as the same person.
                .arg("--connections-per-user")
                .arg("100000");
            cmd
        }
        Server::Js => {
            let mut cmd = Command::new("node");
            cmd.arg(project.e2e_dir().join("interop").join("js-sync-server.mjs"))
                .args(["--port", "0", "--data"])
                .arg(data.join("relay"));
            cmd
        }
    };
    cmd.stdin(Stdio::null()).stdout(out).stderr(err);
    shell::echo(&cmd);
    let mut child = cmd.spawn().with_context(|| format!("starting the {} server", server.name()))?;
    let began = Instant::now();
    loop {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        if let Some(port) = text.lines().find_map(|line| listening_port(server, line)) {
            return Ok(Running { child, port });
        }
        if let Some(status) = child.try_wait()? {
            bail!("the {} server exited ({status}) before listening: see {}", server.name(), log.display());
        }
        if began.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            let _ = child.wait();
            bail!("the {} server did not listen within 30 s: see {}", server.name(), log.display());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// medk-server logs `... listening on http://127.0.0.1:PORT`; the JS server
/// prints `listening PORT`.
fn listening_port(server: Server, line: &str) -> Option<u16> {
    match server {
        Server::Medk => line.split("listening on http://").nth(1)?.trim().rsplit(':').next()?.parse().ok(),
        Server::Js => line.strip_prefix("listening ")?.trim().parse().ok(),
    }
}

/// SIGTERM (both servers save and exit on it), then SIGKILL after 30 s.
fn stop(child: &mut Child, server: Server) {
    let _ = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status();
    let began = Instant::now();
    while began.elapsed() < Duration::from_secs(30) {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    println!("   the {} server did not stop within 30 s of SIGTERM: killed", server.name());
    let _ = child.kill();
    let _ = child.wait();
}

/// Runs the load generator and returns its JSON report (also kept in `json`).
fn generate(
    load: &Path,
    scenario: &Scenario,
    server: Server,
    port: u16,
    pid: u32,
    timeout_s: u64,
    json: &Path,
) -> Result<Value, String> {
    let mut cmd = Command::new(load);
    cmd.arg("--url")
        .arg(format!("ws://127.0.0.1:{port}/sync"))
        .args(["--clients", &scenario.clients.to_string()])
        .args(["--docs", &scenario.docs.to_string()])
        .args(["--changes", &scenario.changes.to_string()])
        .args(["--timeout-s", &timeout_s.to_string()])
        .args(["--relay-pid", &pid.to_string()])
        .arg("--json");
    if server == Server::Medk {
        cmd.args(["--login", BENCH_LOGIN, "--password", BENCH_PASSWORD]);
    }
    match scenario.pace_ms {
        Some(ms) => cmd.args(["--mode", "paced", "--pace-ms", &ms.to_string()]),
        None => cmd.args(["--mode", "burst"]),
    };
    let text = shell::read(&mut cmd).map_err(|e| format!("{e:#}"))?;
    let _ = std::fs::write(json, &text);
    let value: Value = serde_json::from_str(text.lines().last().unwrap_or_default())
        .map_err(|e| format!("the generator printed no JSON report ({e}): {text}"))?;
    println!("   {}", summary(&value));
    Ok(value)
}

/// One line per run, as it finishes.
fn summary(v: &Value) -> String {
    let num = |k: &str| v.get(k).and_then(Value::as_f64);
    let converged = v.get("converged").and_then(Value::as_bool) == Some(true);
    let outcome = if converged {
        format!("converged in {}", secs(num("convergence_s")))
    } else {
        format!("did not converge: {}", v.get("problem").and_then(Value::as_str).unwrap_or("?"))
    };
    format!(
        "{outcome}; setup {}; {} messages; relay peak RSS {}, CPU {} ({} in all); generator CPU {}",
        secs(num("setup_s")),
        messages(v),
        mb(num("relay_peak_rss_kb")),
        secs(num("relay_cpu_s")),
        secs(num("relay_cpu_total_s")),
        secs(num("generator_cpu_s")),
    )
}

fn messages(v: &Value) -> String {
    let sent = v.get("sent").and_then(Value::as_u64);
    let received = v.get("received").and_then(Value::as_u64);
    match (sent, received) {
        (Some(s), Some(r)) => (s + r).to_string(),
        _ => "?".into(),
    }
}

fn secs(s: Option<f64>) -> String {
    s.map_or("-".into(), |s| if s < 10.0 { format!("{s:.2} s") } else { format!("{s:.1} s") })
}

fn mb(kb: Option<f64>) -> String {
    kb.map_or("-".into(), |kb| format!("{:.1} MB", kb / 1024.0))
}

fn table(scenarios: &[&Scenario], outcomes: &[Outcome]) -> String {
    let mut rows = vec![[
        "server".to_string(),
        "scenario".into(),
        "converged".into(),
        "convergence".into(),
        "messages".into(),
        "peak RSS".into(),
        "CPU (changes)".into(),
        "CPU (all)".into(),
    ]];
    for o in outcomes {
        let scenario = scenarios.iter().find(|s| s.key == o.scenario).expect("ran");
        let converged = match &o.result {
            Err(_) => "error".to_string(),
            Ok(_) if o.converged() => "yes".into(),
            Ok(_) => "no".into(),
        };
        rows.push([
            o.server.name().into(),
            scenario.label(),
            converged,
            secs(o.convergence_s()),
            o.result.as_ref().map_or("-".into(), messages),
            mb(o.f64("relay_peak_rss_kb")),
            secs(o.f64("relay_cpu_s")),
            secs(o.f64("relay_cpu_total_s")),
        ]);
        if o.runs.len() > 1 {
            let all: Vec<String> =
                o.runs.iter().map(|r| r.map_or("no".into(), |s| format!("{s:.2}"))).collect();
            rows.last_mut().expect("pushed")[3] += &format!(" (runs: {})", all.join(", "));
        }
    }
    let widths: Vec<usize> =
        (0..rows[0].len()).map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0)).collect();
    let mut out = String::new();
    for (n, row) in rows.iter().enumerate() {
        let cells: Vec<String> = row.iter().zip(&widths).map(|(cell, w)| format!("{cell:<w$}")).collect();
        let _ = writeln!(out, "{}", cells.join("  ").trim_end());
        if n == 0 {
            let _ = writeln!(out, "{}", widths.iter().map(|w| "-".repeat(*w)).collect::<Vec<_>>().join("  "));
        }
    }
    out.push_str(
        "messages: frames sent + received by the clients from the first change to convergence;\n\
         peak RSS: the server's VmHWM; CPU: its utime + stime from the first change to convergence\n\
         (changes) and over setup + changes (all).",
    );
    out
}

/// medk against JS per scenario, and the targets.
fn verdicts(scenarios: &[&Scenario], outcomes: &[Outcome], timeout_s: u64) -> String {
    let mut out = String::new();
    let find = |server, key| outcomes.iter().find(|o| o.server == server && o.scenario == key);
    for scenario in scenarios {
        let (medk, js) = (find(Server::Medk, scenario.key), find(Server::Js, scenario.key));
        let mut line = format!("{}: ", scenario.label());
        let Some(medk) = medk else { continue };
        let Some(medk_s) = medk.convergence_s() else {
            let _ = writeln!(out, "{line}medk did not converge (target missed)");
            continue;
        };
        let Some(js) = js else {
            let _ = writeln!(out, "{line}medk converged in {}; JS not run", secs(Some(medk_s)));
            continue;
        };
        // If JS did not converge, the speed-up is at least timeout / medk's time.
        let (speedup, bound) = match js.convergence_s() {
            Some(js_s) => (js_s / medk_s, ""),
            None => (timeout_s as f64 / medk_s, "> "),
        };
        let rss = ratio(medk.f64("relay_peak_rss_kb"), js.f64("relay_peak_rss_kb"));
        let _ = write!(
            line,
            "medk converged {bound}{speedup:.1}x faster{}",
            if js.convergence_s().is_none() {
                format!(" (JS did not converge in {timeout_s} s)")
            } else {
                String::new()
            }
        );
        if let Some(rss) = rss {
            let _ = write!(line, ", with {:.2} of JS's peak RSS (1/{:.1})", rss, 1.0 / rss);
        }
        if scenario.ratio_targets {
            let speed_ok = speedup >= SPEEDUP_TARGET;
            let rss_ok = rss.is_some_and(|r| r <= RSS_TARGET);
            let _ = write!(
                line,
                " -> targets (>= {SPEEDUP_TARGET}x faster, <= 1/5 RSS): {}",
                match (speed_ok, rss_ok) {
                    (true, true) => "met".to_string(),
                    (false, true) => "speed missed".into(),
                    (true, false) => "RSS missed".into(),
                    (false, false) => "both missed".into(),
                }
            );
        } else {
            line.push_str(" -> target (medk converges): met");
        }
        let _ = writeln!(out, "{line}");
    }
    out
}

fn ratio(medk: Option<f64>, js: Option<f64>) -> Option<f64> {
    Some(medk? / js?.max(1.0))
}
