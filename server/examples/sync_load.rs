//! A load generator for an automerge-repo v1 sync server (medk-server's
//! `/sync`, or the JS `js-sync-server.mjs` baseline): N clients on D
//! documents each make C changes, and it measures how long until every
//! client has every change of its document.
//!
//! ```text
//! cargo run --release -p medk-server --example sync_load -- \
//!     --url ws://127.0.0.1:8080/sync --clients 200 --docs 20 --changes 20 --mode burst \
//!     [--login L --password P | --cookie medk_session=TOKEN] \
//!     [--pace-ms 25] [--timeout-s 120] [--relay-pid PID] [--json]
//! ```
//!
//! medk-server syncs only for a signed-in person: with `--login` and
//! `--password` (or $MEDK_LOGIN / $MEDK_PASSWORD) the generator signs in once
//! (`POST /api/login` on the URL's host) and every socket sends that session
//! cookie; `--cookie` gives one directly. All clients are then one person
//! with many devices; for the load to be the same as on the JS server (which
//! has no accounts and ignores the cookie), that person must write every
//! document: a federal coordinator does (`cargo xtask bench sync` makes one
//! with `medk-server admin create-user`). medk-server also limits each socket
//! to 200 frames a second (a burst of 2,000), well above what a client here
//! sends.
//!
//! Phases:
//! 1. Setup. A seeder creates the D documents (`{title, edits: {}}`) and
//!    syncs them until the server's heads equal its own for every document;
//!    then it leaves. The N clients connect (each its own socket, peer id,
//!    storage id and Automerge actor), client i takes document i % D, asks for
//!    it (`request`) and waits for the seeded content.
//! 2. Changes. All clients start together: client i puts `edits["c{i}-{k}"] = k`
//!    for k in 0..C, syncing after each change: `burst` as fast as it can,
//!    `paced` one change every --pace-ms (client i offset by i/N of a pace so
//!    the changes are spread, not in lock step).
//! 3. Convergence: a client is done when its `edits` map holds every key of
//!    every client of its document (keys are distinct and never removed, so
//!    that is exactly "has all changes", hence the same heads as the others).
//!    Convergence time is from the start of phase 2 to the last client done.
//!
//! Clients keep reading their socket the whole time (tungstenite answers the
//! server's pings only while reading; the JS server drops a client that
//! misses its 5 s keepalive). A socket that drops or an error before the end
//! fails the client, and a run with a failed client did not converge.
//!
//! With `--relay-pid` it reads the server's peak RSS (VmHWM) and CPU time
//! (utime + stime, counted from when the generator starts, and from the
//! start of phase 2) from /proc. `--json` prints one JSON object instead of
//! the text report (`cargo xtask bench sync` reads it).

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow, bail};
use automerge::transaction::Transactable as _;
use automerge::{AutoCommit, ObjId, ObjType, ROOT, ReadDoc as _};
use clap::{Parser, ValueEnum};
use futures_util::{SinkExt as _, StreamExt as _};
use medk_shared::ids::DocumentId;
use medk_shared::sync::client::{Client, Event};
use tokio::net::TcpStream;
use tokio::sync::{Notify, Semaphore, watch};
use tokio_tungstenite::tungstenite::Message as Ws;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// The map every client writes its keys into: the documents are roadmaps
/// (medk-server takes nothing else), and each change adds a section row.
const EDITS: &str = "sections";

/// Sockets opened at once: more would overflow the server's accept backlog
/// (node's is 511) with 2,000 clients and turn into SYN retries of a second.
const CONNECT_CONCURRENCY: usize = 64;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Mode {
    /// Every client makes its changes as fast as it can.
    Burst,
    /// Every client makes one change every --pace-ms.
    Paced,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Burst => "burst",
            Mode::Paced => "paced",
        }
    }
}

#[derive(Parser, Debug)]
#[command(about = "Load generator for an automerge-repo v1 sync server")]
struct Args {
    /// The server's sync endpoint, e.g. ws://127.0.0.1:8080/sync.
    #[arg(long)]
    url: String,
    /// Clients (one socket each).
    #[arg(long, default_value_t = 200)]
    clients: usize,
    /// Documents; client i edits document i % docs.
    #[arg(long, default_value_t = 20)]
    docs: usize,
    /// Changes each client makes.
    #[arg(long, default_value_t = 20)]
    changes: usize,
    #[arg(long, value_enum, default_value_t = Mode::Burst)]
    mode: Mode,
    /// Milliseconds between two changes of one client in paced mode.
    #[arg(long, default_value_t = 25)]
    pace_ms: u64,
    /// Limit for each phase (setup; convergence), in seconds.
    #[arg(long, default_value_t = 120)]
    timeout_s: u64,
    /// The server's process id, to report its peak RSS and CPU time.
    #[arg(long)]
    relay_pid: Option<u32>,
    /// Print one JSON object instead of the text report.
    #[arg(long)]
    json: bool,
    /// Sign in as this person first (medk-server); default: $MEDK_LOGIN.
    #[arg(long)]
    login: Option<String>,
    /// Their password; default: $MEDK_PASSWORD.
    #[arg(long)]
    password: Option<String>,
    /// A session cookie for every socket (`medk_session=TOKEN` or the token),
    /// instead of signing in.
    #[arg(long, conflicts_with_all = ["login", "password"])]
    cookie: Option<String>,
}

/// Counters shared by every client task.
#[derive(Default)]
struct Stats {
    sent: AtomicU64,
    received: AtomicU64,
    /// Clients that have the seeded document.
    ready: AtomicUsize,
    /// Clients that have every change of their document.
    converged: AtomicUsize,
    failed: AtomicUsize,
    /// When the last client began its changes, in ns after the start: how
    /// long the generator itself took to get every client going.
    last_start_ns: AtomicU64,
    /// When each client converged, after the start of the changes.
    converged_at: Mutex<Vec<Duration>>,
    /// The first few failures, for the report.
    failures: Mutex<Vec<String>>,
    /// Wakes the main task when one of the counters above moved.
    progress: Notify,
}

impl Stats {
    fn fail(&self, what: String) {
        self.failed.fetch_add(1, Ordering::SeqCst);
        let mut failures = self.failures.lock().unwrap();
        if failures.len() < 5 {
            failures.push(what);
        }
        drop(failures);
        self.progress.notify_one();
    }

    fn messages(&self) -> (u64, u64) {
        (self.sent.load(Ordering::SeqCst), self.received.load(Ordering::SeqCst))
    }
}

/// What every client needs to know.
struct Plan {
    url: String,
    /// The `Cookie` header every socket sends, if any.
    cookie: Option<String>,
    clients: usize,
    changes: usize,
    mode: Mode,
    pace: Duration,
    /// Run-unique prefix of peer and storage ids, so a server that lives on
    /// across runs does not take clients for reconnecting ones.
    run: String,
}

/// The figures of one run.
#[derive(Default)]
struct Report {
    converged: bool,
    /// The sockets carried a session cookie.
    signed_in: bool,
    /// Why not, when it did not.
    problem: Option<String>,
    seed_s: f64,
    setup_s: f64,
    /// The last client's time: the run's convergence time.
    convergence_s: Option<f64>,
    /// Half of the clients, and 90 %, had converged by then.
    convergence_p50_s: Option<f64>,
    convergence_p90_s: Option<f64>,
    /// How long after the start the last client began its changes.
    last_start_s: Option<f64>,
    clients_ready: usize,
    clients_converged: usize,
    clients_failed: usize,
    failures: Vec<String>,
    setup_sent: u64,
    setup_received: u64,
    sent: u64,
    received: u64,
    relay_peak_rss_kb: Option<u64>,
    relay_cpu_s: Option<f64>,
    relay_cpu_total_s: Option<f64>,
    generator_cpu_s: Option<f64>,
    generator_peak_rss_kb: Option<u64>,
    nofile_raised_to: Option<u64>,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.clients == 0 || args.docs == 0 || args.docs > args.clients {
        bail!("need 1 <= --docs <= --clients");
    }
    let nofile_raised_to = raise_open_files_limit(args.clients as u64 + 256)?;
    // Two cores on the reference machine, shared with the server under test.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(std::thread::available_parallelism().map_or(2, |n| n.get()).min(4))
        .enable_all()
        .build()?;
    let mut report = runtime.block_on(run(&args))?;
    report.nofile_raised_to = nofile_raised_to;
    report.generator_cpu_s = cpu_seconds(std::process::id());
    report.generator_peak_rss_kb = status_kb(std::process::id(), "VmHWM:");
    // Client tasks may still be closing their sockets: do not wait for them.
    runtime.shutdown_timeout(Duration::from_millis(500));
    if args.json {
        println!("{}", to_json(&args, &report));
    } else {
        print_text(&args, &report);
    }
    Ok(())
}

async fn run(args: &Args) -> anyhow::Result<Report> {
    let relay_cpu_at_start = args.relay_pid.and_then(cpu_seconds);
    let timeout = Duration::from_secs(args.timeout_s);
    let stats = Arc::new(Stats::default());
    let started = Instant::now();
    let mut report = Report::default();

    let mut seed = fastrand::Rng::new();
    let run_id = format!("load-{}-{:08x}", std::process::id(), seed.u32(..));
    // Roadmaps as the app makes them (made signed out: the relay registers
    // each to whoever first syncs it, the seeder), ids from their origin.
    let made: Vec<(DocumentId, AutoCommit)> = (0..args.docs)
        .map(|n| {
            let mut doc = medk_shared::doc::RoadmapDoc::create(
                &medk_shared::doc::NewRoadmap {
                    title: format!("load test document {n}"),
                    level: medk_shared::access::Level::School,
                    territory: String::new(),
                    year: None,
                    columns: Vec::new(),
                },
                medk_shared::ids::RowId::new("s0"),
            );
            let id = doc.stamp_origin("", seed.u128(..).to_le_bytes(), 0);
            (id, doc.automerge().clone())
        })
        .collect();
    let docs: Vec<DocumentId> = made.iter().map(|(id, _)| *id).collect();
    let cookie = match session_cookie(args).await {
        Ok(cookie) => cookie,
        Err(e) => {
            report.problem = Some(format!("signing in failed: {e:#}"));
            return Ok(finish(report, &stats, args, relay_cpu_at_start, None));
        }
    };
    report.signed_in = cookie.is_some();
    let plan = Arc::new(Plan {
        url: args.url.clone(),
        cookie,
        clients: args.clients,
        changes: args.changes,
        mode: args.mode,
        pace: Duration::from_millis(args.pace_ms),
        run: run_id,
    });

    // 1. Setup: seed, then connect and fetch.
    match tokio::time::timeout(timeout, seed_documents(&plan, made, &stats)).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            report.problem = Some(format!("seeding failed: {e:#}"));
            return Ok(finish(report, &stats, args, relay_cpu_at_start, None));
        }
        Err(_) => {
            report.problem = Some(format!("seeding did not finish in {} s", args.timeout_s));
            return Ok(finish(report, &stats, args, relay_cpu_at_start, None));
        }
    }
    report.seed_s = started.elapsed().as_secs_f64();

    let (start_tx, start_rx) = watch::channel::<Option<Instant>>(None);
    let (stop_tx, stop_rx) = watch::channel(false);
    let connects = Arc::new(Semaphore::new(CONNECT_CONCURRENCY));
    let mut tasks = Vec::with_capacity(args.clients);
    for i in 0..args.clients {
        let doc = docs[i % args.docs];
        // Clients of document d: i = d, d + D, d + 2D, ... below N.
        let sharing = (args.clients - i % args.docs).div_ceil(args.docs);
        let expected = sharing * args.changes;
        let (plan, stats, connects) = (plan.clone(), stats.clone(), connects.clone());
        let (start, stop) = (start_rx.clone(), stop_rx.clone());
        tasks.push(tokio::spawn(async move {
            let result = run_client(i, doc, expected, &plan, &stats, &connects, start, stop.clone()).await;
            if let Err(e) = result
                && !*stop.borrow()
            {
                stats.fail(format!("client {i}: {e:#}"));
            }
        }));
    }
    drop(start_rx);

    let setup_deadline = tokio::time::Instant::now() + timeout;
    let all_ready = wait_for(&stats, setup_deadline, |s| {
        s.ready.load(Ordering::SeqCst) == args.clients || s.failed.load(Ordering::SeqCst) > 0
    })
    .await;
    report.setup_s = started.elapsed().as_secs_f64();
    report.clients_ready = stats.ready.load(Ordering::SeqCst);
    (report.setup_sent, report.setup_received) = stats.messages();
    if stats.failed.load(Ordering::SeqCst) > 0 || !all_ready {
        report.problem = Some(if all_ready {
            "a client failed during setup".into()
        } else {
            format!(
                "setup did not finish in {} s ({} of {} clients ready)",
                args.timeout_s, report.clients_ready, args.clients
            )
        });
        let _ = stop_tx.send(true);
        return Ok(finish(report, &stats, args, relay_cpu_at_start, None));
    }

    // 2. Changes, 3. convergence.
    let relay_cpu_at_changes = args.relay_pid.and_then(cpu_seconds);
    let t0 = Instant::now();
    let _ = start_tx.send(Some(t0));
    let deadline = tokio::time::Instant::now() + timeout;
    let done = wait_for(&stats, deadline, |s| {
        s.converged.load(Ordering::SeqCst) + s.failed.load(Ordering::SeqCst) == args.clients
    })
    .await;
    let (sent, received) = stats.messages();
    report.sent = sent - report.setup_sent;
    report.received = received - report.setup_received;
    report.clients_converged = stats.converged.load(Ordering::SeqCst);
    report.last_start_s =
        Some(Duration::from_nanos(stats.last_start_ns.load(Ordering::SeqCst)).as_secs_f64());
    let failed = stats.failed.load(Ordering::SeqCst);
    if done && failed == 0 {
        report.converged = true;
        let mut at = stats.converged_at.lock().unwrap().clone();
        at.sort();
        let quantile = |q: f64| at[((at.len() - 1) as f64 * q).round() as usize].as_secs_f64();
        report.convergence_s = Some(quantile(1.0));
        report.convergence_p50_s = Some(quantile(0.5));
        report.convergence_p90_s = Some(quantile(0.9));
    } else if failed > 0 {
        report.problem = Some(format!("{failed} client(s) failed"));
    } else {
        report.problem = Some(format!(
            "did not converge in {} s ({} of {} clients converged)",
            args.timeout_s, report.clients_converged, args.clients
        ));
    }
    let report = finish(report, &stats, args, relay_cpu_at_start, relay_cpu_at_changes);

    // Leave politely, but do not wait long for it.
    let _ = stop_tx.send(true);
    let _ = tokio::time::timeout(Duration::from_secs(5), futures_util::future::join_all(tasks)).await;
    Ok(report)
}

/// Fills in what is measured the same way however the run ended.
fn finish(
    mut report: Report,
    stats: &Stats,
    args: &Args,
    relay_cpu_at_start: Option<f64>,
    relay_cpu_at_changes: Option<f64>,
) -> Report {
    if let Some(pid) = args.relay_pid {
        report.relay_peak_rss_kb = status_kb(pid, "VmHWM:");
        let now = cpu_seconds(pid);
        report.relay_cpu_total_s = now.zip(relay_cpu_at_start).map(|(b, a)| b - a);
        report.relay_cpu_s = now.zip(relay_cpu_at_changes).map(|(b, a)| b - a);
    }
    report.clients_failed = stats.failed.load(Ordering::SeqCst);
    report.failures = stats.failures.lock().unwrap().clone();
    report
}

/// Waits until `done` holds (true) or the deadline passes (false).
async fn wait_for(stats: &Stats, deadline: tokio::time::Instant, done: impl Fn(&Stats) -> bool) -> bool {
    loop {
        if done(stats) {
            return true;
        }
        // Notify keeps one permit, so a wake-up between the check and here is not lost.
        if tokio::time::timeout_at(deadline, stats.progress.notified()).await.is_err() {
            return done(stats);
        }
    }
}

/// The `Cookie` header for every socket: `--cookie`, or a sign-in with
/// `--login`/`--password` (or $MEDK_LOGIN/$MEDK_PASSWORD); none without them.
async fn session_cookie(args: &Args) -> anyhow::Result<Option<String>> {
    if let Some(cookie) = &args.cookie {
        let cookie = if cookie.contains('=') { cookie.clone() } else { format!("medk_session={cookie}") };
        return Ok(Some(cookie));
    }
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let login = args.login.clone().or_else(|| env("MEDK_LOGIN"));
    let password = args.password.clone().or_else(|| env("MEDK_PASSWORD"));
    let (login, password) = match (login, password) {
        (None, None) => return Ok(None),
        (Some(login), Some(password)) => (login, password),
        _ => bail!("--login and --password go together"),
    };
    let mut url = reqwest::Url::parse(&args.url).with_context(|| format!("parsing {}", args.url))?;
    let scheme = if url.scheme() == "wss" { "https" } else { "http" };
    url.set_scheme(scheme).map_err(|()| anyhow!("cannot make an http URL of {}", args.url))?;
    url.set_path("/api/login");
    url.set_query(None);
    let response = reqwest::Client::new()
        .post(url.clone())
        .header("content-type", "application/json")
        .body(serde_json::json!({ "login": login, "password": password }).to_string())
        .send()
        .await
        .with_context(|| format!("POST {url}"))?;
    let status = response.status();
    let cookie = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .map(str::trim)
        .find(|pair| pair.starts_with("medk_session="))
        .map(str::to_owned);
    if !status.is_success() {
        bail!("POST {url} as {login}: {status} {}", response.text().await.unwrap_or_default());
    }
    cookie.map(Some).ok_or_else(|| anyhow!("POST {url} answered {status} without a medk_session cookie"))
}

/// Opens a socket and does the handshake.
async fn connect(plan: &Plan, name: &str, stats: &Stats) -> anyhow::Result<(Socket, Client)> {
    // Small buffers: 2,000 clients at tungstenite's default 128 KiB read
    // buffer each would be 256 MB of generator memory for frames of a few
    // hundred bytes.
    let config = WebSocketConfig::default().read_buffer_size(8 * 1024).write_buffer_size(0);
    let mut request =
        plan.url.as_str().into_client_request().with_context(|| format!("the URL {}", plan.url))?;
    if let Some(cookie) = &plan.cookie {
        request.headers_mut().insert("cookie", cookie.parse().context("the cookie is not a header value")?);
    }
    let (mut socket, _) = tokio_tungstenite::connect_async_with_config(request, Some(config), true)
        .await
        .with_context(|| format!("connecting to {}", plan.url))?;
    let mut client =
        Client::new(format!("{}-{name}", plan.run), Some(format!("{}-{name}-storage", plan.run)));
    send(&mut socket, client.join(), stats).await?;
    loop {
        let bytes = next_binary(&mut socket, stats).await?;
        match client.receive(&bytes)? {
            Event::Connected => return Ok((socket, client)),
            Event::Refused { message } => bail!("the server refused the join: {message}"),
            _ => {}
        }
    }
}

async fn send(socket: &mut Socket, frame: Vec<u8>, stats: &Stats) -> anyhow::Result<()> {
    socket.send(Ws::binary(frame)).await.context("sending")?;
    stats.sent.fetch_add(1, Ordering::Relaxed);
    Ok(())
}

/// The next binary frame; a close or an error is an error.
async fn next_binary(
    socket: &mut Socket,
    stats: &Stats,
) -> anyhow::Result<tokio_tungstenite::tungstenite::Bytes> {
    loop {
        match socket.next().await {
            None => bail!("the server closed the socket"),
            Some(Err(e)) => return Err(anyhow!(e).context("reading")),
            Some(Ok(Ws::Binary(bytes))) => {
                stats.received.fetch_add(1, Ordering::Relaxed);
                return Ok(bytes);
            }
            Some(Ok(Ws::Close(frame))) => bail!("the server closed the socket: {frame:?}"),
            Some(Ok(_)) => {}
        }
    }
}

/// Sends the document's next sync message, if it has one.
async fn sync_out(
    socket: &mut Socket,
    client: &mut Client,
    id: DocumentId,
    doc: &mut AutoCommit,
    stats: &Stats,
) -> anyhow::Result<()> {
    for frame in client.outgoing(id, doc) {
        send(socket, frame, stats).await?;
    }
    Ok(())
}

/// Creates the documents on the server: done when the server says it has
/// our heads for every one of them.
async fn seed_documents(
    plan: &Plan,
    made: Vec<(DocumentId, AutoCommit)>,
    stats: &Stats,
) -> anyhow::Result<()> {
    let (mut socket, mut client) = connect(plan, "seeder", stats).await?;
    let mut docs = std::collections::HashMap::new();
    let count = made.len();
    for (id, mut doc) in made {
        sync_out(&mut socket, &mut client, id, &mut doc, stats).await?;
        docs.insert(id, doc);
    }
    let mut pending = count;
    while pending > 0 {
        let bytes = next_binary(&mut socket, stats).await?;
        match client.receive(&bytes)? {
            Event::Sync { doc: id, message } => {
                let Some(doc) = docs.get_mut(&id) else { continue };
                client.apply(id, &mut doc.sync(), message)?;
                sync_out(&mut socket, &mut client, id, doc, stats).await?;
            }
            Event::Refused { message } => bail!("the server refused: {message}"),
            _ => {}
        }
        pending = 0;
        for (id, doc) in docs.iter_mut() {
            let heads = doc.get_heads();
            if client.relay_heads(id) != Some(heads.as_slice()) {
                pending += 1;
            }
        }
    }
    let _ = socket.close(None).await;
    Ok(())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Asked for the document, waiting for the seeded content.
    Fetching,
    /// Has it; waiting for the start.
    Ready,
    /// Making changes, or waiting for everyone else's.
    Changing,
    /// Has every change of the document.
    Converged,
}

/// One client, from connecting to the stop signal.
#[allow(clippy::too_many_arguments)]
async fn run_client(
    i: usize,
    id: DocumentId,
    expected: usize,
    plan: &Plan,
    stats: &Stats,
    connects: &Semaphore,
    mut start: watch::Receiver<Option<Instant>>,
    mut stop: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let permit = connects.acquire().await?;
    let name = format!("c{i}");
    let (mut socket, mut client) = tokio::select! {
        connected = connect(plan, &name, stats) => connected?,
        _ = stop.changed() => return Ok(()),
    };
    drop(permit);

    let mut doc = AutoCommit::new();
    let mut edits: Option<ObjId> = None;
    let mut phase = Phase::Fetching;
    let mut t0 = Instant::now();
    let mut made = 0;
    // Paced mode: when the next change is due.
    let mut due: Option<tokio::time::Instant> = None;
    sync_out(&mut socket, &mut client, id, &mut doc, stats).await?; // `request`

    loop {
        let sleep_until = due.unwrap_or_else(|| tokio::time::Instant::now() + Duration::from_secs(3600));
        tokio::select! {
            _ = stop.changed() => {
                let _ = tokio::time::timeout(Duration::from_secs(2), socket.close(None)).await;
                return Ok(());
            }
            frame = next_binary(&mut socket, stats) => {
                let bytes = frame?;
                match client.receive(&bytes)? {
                    Event::Sync { doc: from, message } if from == id => {
                        client.apply(id, &mut doc.sync(), message)?;
                        if phase == Phase::Fetching
                            && let Some((_, obj)) = doc.get(ROOT, EDITS)?
                        {
                            edits = Some(obj);
                            phase = Phase::Ready;
                            stats.ready.fetch_add(1, Ordering::SeqCst);
                            stats.progress.notify_one();
                        }
                        sync_out(&mut socket, &mut client, id, &mut doc, stats).await?;
                    }
                    Event::Unavailable { .. } if phase == Phase::Fetching => {
                        // The JS server answers a `request` it cannot serve
                        // yet with an empty `sync`, then `doc-unavailable`.
                        bail!("the server says document {id} is unavailable");
                    }
                    Event::Refused { message } => bail!("the server refused: {message}"),
                    _ => {}
                }
            }
            changed = start.changed(), if phase == Phase::Ready => {
                changed.context("start signal")?;
                t0 = start.borrow().unwrap_or_else(Instant::now);
                stats.last_start_ns.fetch_max(t0.elapsed().as_nanos() as u64, Ordering::SeqCst);
                phase = Phase::Changing;
                let edits = edits.as_ref().expect("ready means the map is there");
                match plan.mode {
                    Mode::Burst => {
                        for k in 0..plan.changes {
                            add_row(&mut doc, edits, &format!("c{i}-{k}"))?;
                            sync_out(&mut socket, &mut client, id, &mut doc, stats).await?;
                        }
                        made = plan.changes;
                    }
                    Mode::Paced if plan.changes > 0 => {
                        let offset = plan.pace.mul_f64(i as f64 / plan.clients as f64);
                        due = Some(tokio::time::Instant::now() + offset);
                    }
                    Mode::Paced => {}
                }
            }
            () = tokio::time::sleep_until(sleep_until), if due.is_some() => {
                let edits = edits.as_ref().expect("changing means the map is there");
                add_row(&mut doc, edits, &format!("c{i}-{made}"))?;
                sync_out(&mut socket, &mut client, id, &mut doc, stats).await?;
                made += 1;
                due = (made < plan.changes).then(|| sleep_until + plan.pace);
            }
        }
        if phase == Phase::Changing
            && made == plan.changes
            // Every client's rows, and the roadmap's own first section.
            && edits.as_ref().is_some_and(|edits| doc.length(edits) == expected + 1)
        {
            phase = Phase::Converged;
            stats.converged_at.lock().unwrap().push(t0.elapsed());
            stats.converged.fetch_add(1, Ordering::SeqCst);
            stats.progress.notify_one();
        }
    }
}

/// One change: a section row under `key` (as the roadmap layout has it).
fn add_row(doc: &mut AutoCommit, rows: &ObjId, key: &str) -> anyhow::Result<()> {
    let row = doc.put_object(rows, key, ObjType::Map)?;
    doc.put(&row, "pos", "80")?;
    doc.put(&row, "deleted", false)?;
    doc.commit();
    Ok(())
}

/// Raises the soft open-files limit to `wanted` (at most the hard limit);
/// returns the new limit if it had to.
fn raise_open_files_limit(wanted: u64) -> anyhow::Result<Option<u64>> {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit writes into the struct we pass.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return Err(std::io::Error::last_os_error()).context("reading the open-files limit");
    }
    if limit.rlim_cur >= wanted {
        return Ok(None);
    }
    if limit.rlim_max < wanted {
        bail!(
            "{wanted} open files are needed and the hard limit is {}: raise it (ulimit -Hn) or use fewer clients",
            limit.rlim_max
        );
    }
    limit.rlim_cur = wanted;
    // SAFETY: setrlimit reads the struct we pass.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) } != 0 {
        return Err(std::io::Error::last_os_error()).context("raising the open-files limit");
    }
    Ok(Some(wanted))
}

/// utime + stime of a process, in seconds.
fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may hold spaces: count after it.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    // Fields 14 and 15 of proc(5); fields[0] is field 3 (state).
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // SAFETY: sysconf has no preconditions.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    Some(ticks as f64 / if per_second > 0 { per_second as f64 } else { 100.0 })
}

/// A `kB` field of /proc/PID/status (`VmHWM:` is the peak resident set).
fn status_kb(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line[field.len()..].split_whitespace().next()?.parse().ok()
}

fn to_json(args: &Args, r: &Report) -> serde_json::Value {
    serde_json::json!({
        "url": args.url,
        "clients": args.clients,
        "docs": args.docs,
        "changes": args.changes,
        "mode": args.mode.name(),
        "pace_ms": (args.mode == Mode::Paced).then_some(args.pace_ms),
        "timeout_s": args.timeout_s,
        "converged": r.converged,
        "problem": r.problem,
        "seed_s": r.seed_s,
        "setup_s": r.setup_s,
        "convergence_s": r.convergence_s,
        "convergence_p50_s": r.convergence_p50_s,
        "convergence_p90_s": r.convergence_p90_s,
        "last_start_s": r.last_start_s,
        "clients_ready": r.clients_ready,
        "clients_converged": r.clients_converged,
        "clients_failed": r.clients_failed,
        "failures": r.failures,
        "setup_sent": r.setup_sent,
        "setup_received": r.setup_received,
        "sent": r.sent,
        "received": r.received,
        "relay_pid": args.relay_pid,
        "signed_in": r.signed_in,
        "relay_peak_rss_kb": r.relay_peak_rss_kb,
        "relay_cpu_s": r.relay_cpu_s,
        "relay_cpu_total_s": r.relay_cpu_total_s,
        "generator_cpu_s": r.generator_cpu_s,
        "generator_peak_rss_kb": r.generator_peak_rss_kb,
        "nofile_raised_to": r.nofile_raised_to,
    })
}

fn print_text(args: &Args, r: &Report) {
    let mode = match args.mode {
        Mode::Burst => "burst".to_string(),
        Mode::Paced => format!("paced every {} ms", args.pace_ms),
    };
    let session = if r.signed_in { ", signed in" } else { "" };
    println!(
        "sync load on {}{session}: {} clients, {} docs, {} changes each, {mode}",
        args.url, args.clients, args.docs, args.changes
    );
    if let Some(n) = r.nofile_raised_to {
        println!("  open-files limit   raised to {n}");
    }
    println!(
        "  setup              {:.2} s (seeding {:.2} s; {} of {} clients have their document)",
        r.setup_s, r.seed_s, r.clients_ready, args.clients
    );
    match (r.converged, r.convergence_s) {
        (true, Some(s)) => println!(
            "  converged          yes, {:.3} s after the first change ({} changes, {} clients; half by {:.3} s, 90 % by {:.3} s)",
            s,
            args.clients * args.changes,
            r.clients_converged,
            r.convergence_p50_s.unwrap_or_default(),
            r.convergence_p90_s.unwrap_or_default(),
        ),
        _ => println!("  converged          NO: {}", r.problem.as_deref().unwrap_or("unknown")),
    }
    if let Some(s) = r.last_start_s {
        println!("  start spread       the last client began its changes {s:.3} s after the start");
    }
    println!(
        "  messages           {} sent + {} received while changing ({:.0}/s); setup {} + {}",
        r.sent,
        r.received,
        r.convergence_s.map_or(0.0, |s| (r.sent + r.received) as f64 / s.max(1e-9)),
        r.setup_sent,
        r.setup_received
    );
    if let Some(pid) = args.relay_pid {
        println!(
            "  relay (pid {pid})    peak RSS {}, CPU {} while changing, {} in all",
            r.relay_peak_rss_kb.map_or("?".into(), mb),
            r.relay_cpu_s.map_or("?".into(), |s| format!("{s:.2} s")),
            r.relay_cpu_total_s.map_or("?".into(), |s| format!("{s:.2} s")),
        );
    }
    println!(
        "  generator          CPU {}, peak RSS {}",
        r.generator_cpu_s.map_or("?".into(), |s| format!("{s:.2} s")),
        r.generator_peak_rss_kb.map_or("?".into(), mb)
    );
    for f in &r.failures {
        println!("  failure            {f}");
    }
}

fn mb(kb: u64) -> String {
    format!("{:.1} MB", kb as f64 / 1024.0)
}
