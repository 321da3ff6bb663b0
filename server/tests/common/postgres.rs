//! A throwaway PostgreSQL cluster for one test: made in a temporary
//! directory with Debian's `initdb`, listening on loopback only on a free
//! port, stopped and removed when dropped. PostgreSQL refuses to run as
//! root, so as root it runs as the `postgres` user (`cargo xtask test`
//! installs Debian's `postgresql` when it is missing).

use std::path::{Path, PathBuf};
use std::process::Command;

pub struct PgCluster {
    dir: tempfile::TempDir,
    bin: PathBuf,
    pub port: u16,
}

/// The newest `/usr/lib/postgresql/<version>/bin`.
fn bin_dir() -> PathBuf {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL is installed (Debian's `postgresql`; `cargo xtask test` installs it)")
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let version = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().expect("a PostgreSQL version with initdb under /usr/lib/postgresql").1
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

impl PgCluster {
    pub fn start() -> PgCluster {
        let bin = bin_dir();
        // Under /tmp, which every user may traverse (a TMPDIR under root's
        // home would keep the `postgres` user out).
        let base = if std::path::Path::new("/tmp").is_dir() { "/tmp".into() } else { std::env::temp_dir() };
        let dir = tempfile::Builder::new().prefix("medk-pg-").tempdir_in(base).unwrap();
        if is_root() {
            let owned = Command::new("chown").arg("-R").arg("postgres").arg(dir.path()).status().unwrap();
            assert!(owned.success());
        }
        let port = free_port();
        let cluster = PgCluster { dir, bin, port };
        cluster.run(
            "initdb",
            &[
                "-D",
                &cluster.data().to_string_lossy(),
                "-A",
                "trust",
                "-U",
                "medk",
                "--no-sync",
                "-E",
                "UTF8",
            ],
        );
        cluster.start_server();
        cluster.run("createdb", &["-h", "127.0.0.1", "-p", &port.to_string(), "-U", "medk", "medk"]);
        cluster
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("db")
    }

    /// The database `medk` (made at start) or another made with [`Self::create`].
    pub fn url(&self, db: &str) -> String {
        format!("postgres://medk@127.0.0.1:{}/{db}", self.port)
    }

    /// Makes another database; its URL.
    pub fn create(&self, db: &str) -> String {
        self.run("createdb", &["-h", "127.0.0.1", "-p", &self.port.to_string(), "-U", "medk", db]);
        self.url(db)
    }

    /// Stops the server (connections break), keeping the data.
    pub fn stop(&self) {
        self.run("pg_ctl", &["-D", &self.data().to_string_lossy(), "-m", "immediate", "-w", "stop"]);
    }

    /// Starts it again after [`Self::stop`], on the same port.
    pub fn start_server(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("log");
        self.run(
            "pg_ctl",
            &[
                "-D",
                &self.data().to_string_lossy(),
                "-o",
                &options,
                "-l",
                &log.to_string_lossy(),
                "-w",
                "start",
            ],
        );
    }

    fn run(&self, tool: &str, args: &[&str]) {
        let path = self.bin.join(tool);
        let mut command = if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&path);
            c
        } else {
            Command::new(&path)
        };
        let out = command.args(args).current_dir(Path::new("/")).output().unwrap();
        assert!(
            out.status.success(),
            "{tool} {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        let path = self.bin.join("pg_ctl");
        let data = self.data();
        let mut command = if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&path);
            c
        } else {
            Command::new(&path)
        };
        let _ = command.arg("-D").arg(&data).args(["-m", "immediate", "stop"]).output();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}
