//! `medk-server` command line: parse arguments, set up logging, dispatch.
//!
//! Subcommands: `serve` (the default, so `medk-server --listen ...` works),
//! `admin` and `import`.

use std::io::IsTerminal as _;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use std::time::Duration;

use medk_server::admin::{self, AdminArgs};
use medk_server::blobs::{BlobLimits, MIB};
use medk_server::connections::ConnectionLimits;
use medk_server::import::{self, ImportArgs};
use medk_server::server::{self, Config};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::writer::BoxMakeWriter;

#[derive(Parser)]
#[command(version, about, args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// `serve`'s options, accepted without the word `serve` since serving is
    /// what the binary does when told nothing else.
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the app over HTTP (the default).
    Serve(ServeArgs),
    /// Manage accounts, units and access (with the server stopped).
    Admin(AdminArgs),
    /// Import a Word (.docx) roadmap: print what it holds (--dry-run) or store it for a unit (with the server stopped).
    Import(ImportArgs),
}

#[derive(Args)]
struct ServeArgs {
    /// Address to listen on (host:port).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    listen: String,
    /// Directory for the relay's state; created when missing.
    #[arg(long, value_name = "DIR", default_value = "./data")]
    data_dir: PathBuf,
    /// PostgreSQL to keep the documents in (`postgres://user:password@host:port/db`)
    /// instead of the data dir's redb file; several relays may share one.
    /// Accounts, access and attached files stay in the data dir for now.
    #[arg(long, value_name = "URL", env = "MEDK_DATABASE_URL", hide_env_values = true)]
    database: Option<String>,
    /// The built app to serve (`cargo xtask build` writes `./dist`).
    #[arg(long, value_name = "DIR", default_value = "./dist")]
    static_dir: PathBuf,
    /// Mark the session cookie `Secure` (when served over HTTPS).
    #[arg(long)]
    secure_cookies: bool,
    /// The address of a reverse proxy in front of the server (repeat for
    /// several): requests from it name the client in `X-Forwarded-For` and
    /// the scheme in `X-Forwarded-Proto`, and those are believed from it
    /// alone (sign-in limits count per client address).
    #[arg(long = "trusted-proxy", value_name = "IP")]
    trusted_proxies: Vec<std::net::IpAddr>,
    /// Seconds a client has to send a request's head (a new connection, or
    /// a kept-alive one between requests) before it is closed.
    #[arg(long, value_name = "SECONDS", default_value_t = 20, help_heading = "Limits")]
    header_timeout_secs: u64,
    /// Seconds with no byte moving either way before a connection is closed.
    #[arg(long, value_name = "SECONDS", default_value_t = 60, help_heading = "Limits")]
    idle_timeout_secs: u64,
    /// Connections one address may hold open at once (not counting a trusted proxy's).
    #[arg(long, value_name = "N", default_value_t = 256, help_heading = "Limits")]
    max_connections_per_address: usize,
    /// Sync connections one person may hold at once; a new one past it
    /// closes their oldest.
    #[arg(long, value_name = "N", default_value_t = medk_server::sync::CONNECTIONS_PER_USER, help_heading = "Limits")]
    max_sync_connections_per_user: usize,
    /// Operations one person may add to one document (a roadmap, a school
    /// file), history included; past it their changes to it are refused
    /// and the others go on (a document holds at most twice this).
    #[arg(long, value_name = "N", default_value_t = medk_shared::sync::relay::MAX_PERSON_DOC_OPS, help_heading = "Limits")]
    max_document_ops_per_person: u64,
    /// Roadmaps one unit (a school...) may have registered by syncing them;
    /// past it a new one is refused, and its device told why.
    #[arg(long, value_name = "N", default_value_t = medk_server::accounts::MAX_REGISTRATIONS_PER_UNIT, help_heading = "Limits")]
    max_roadmaps_per_unit: usize,
    /// Of those, how many one person may have registered in one unit (so
    /// that one member cannot use up the school's room).
    #[arg(long, value_name = "N", default_value_t = medk_server::accounts::MAX_REGISTRATIONS_PER_PERSON, help_heading = "Limits")]
    max_roadmaps_per_person: usize,
    /// MiB of attached files one unit (a school) may keep.
    #[arg(long, value_name = "MIB", default_value_t = 512, help_heading = "Limits")]
    unit_quota_mib: u64,
    /// MiB of attached files one person's uploads may keep.
    #[arg(long, value_name = "MIB", default_value_t = 256, help_heading = "Limits")]
    person_quota_mib: u64,
    /// MiB of disk uploads must leave free (for the databases).
    #[arg(long, value_name = "MIB", default_value_t = 256, help_heading = "Limits")]
    min_free_mib: u64,
    /// Seconds an uploaded file that no school file names is kept.
    #[arg(long, value_name = "SECONDS", default_value_t = 24 * 3600, help_heading = "Limits")]
    unreferenced_blob_grace_secs: u64,
}

impl From<ServeArgs> for Config {
    fn from(args: ServeArgs) -> Self {
        Config {
            listen: args.listen,
            data_dir: args.data_dir,
            database: args.database,
            static_dir: args.static_dir,
            secure_cookies: args.secure_cookies,
            trusted_proxies: args.trusted_proxies,
            connections: ConnectionLimits {
                header_timeout: Duration::from_secs(args.header_timeout_secs.max(1)),
                idle_timeout: Duration::from_secs(args.idle_timeout_secs.max(1)),
                per_address: args.max_connections_per_address.max(1),
            },
            sync_connections_per_user: args.max_sync_connections_per_user,
            document_ops_per_person: args.max_document_ops_per_person,
            registrations: medk_server::accounts::RegistrationLimits {
                per_unit: args.max_roadmaps_per_unit,
                per_person: args.max_roadmaps_per_person,
            },
            blobs: BlobLimits {
                unit_quota: args.unit_quota_mib.saturating_mul(MIB),
                person_quota: args.person_quota_mib.saturating_mul(MIB),
                min_free: args.min_free_mib.saturating_mul(MIB),
                grace: Duration::from_secs(args.unreferenced_blob_grace_secs),
            },
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    medk_server::private::restrict_new_files();
    let cli = Cli::parse();
    let command = cli.command.unwrap_or(Command::Serve(cli.serve));
    init_tracing(matches!(command, Command::Serve(_)));
    match command {
        Command::Serve(args) => server::run(args.into()).await,
        // Blocking (files, and PostgreSQL through a runtime of its own): off
        // the async threads.
        Command::Admin(args) => tokio::task::spawn_blocking(move || admin::run(args)).await?,
        Command::Import(args) => tokio::task::spawn_blocking(move || import::run(args)).await?,
    }
}

/// Logs at `info` unless `RUST_LOG` says otherwise (`RUST_LOG=tower_http=debug`
/// shows every request); to standard output when serving, else to standard
/// error, so `import --json` and `admin` output stays clean for scripts.
///
/// Automerge is held to `warn`: its `#[instrument]` spans are at `info`, and
/// the one on loading changes (every sync message that carries changes)
/// records the document's whole change graph with `Debug`, hex-formatting
/// every change hash, so its cost grows with the document's history. At
/// `info` it was 38% of the relay's CPU samples in `cargo xtask bench sync`
/// (documents of only 200 changes), for spans nobody reads.
fn init_tracing(serving: bool) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,automerge=warn"));
    let (writer, terminal) = if serving {
        (BoxMakeWriter::new(std::io::stdout), std::io::stdout().is_terminal())
    } else {
        (BoxMakeWriter::new(std::io::stderr), std::io::stderr().is_terminal())
    };
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(writer).with_ansi(terminal).init();
}
