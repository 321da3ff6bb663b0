//! Slow and silent connections against a real `medk-server` process with a
//! low open-file limit (256, as the review ran it): slowloris sockets
//! (headers a line at a time) and silent ones are closed after the
//! header-read timeout, one address cannot hold more than its share, and
//! health and sign-in keep answering meanwhile, from one address or many.
#![cfg(target_os = "linux")]

use std::net::SocketAddr;
use std::os::unix::process::CommandExt as _;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpSocket, TcpStream};

mod common;
use common::{PASSWORD, admin, bin, spawn_server};

/// A server whose process may open 256 files at most, with a 4 s
/// header-read timeout and `options` besides.
fn server(data: &std::path::Path, options: &[&str]) -> (std::process::Child, SocketAddr) {
    let mut command = bin();
    command
        .args(["--listen", "127.0.0.1:0", "--static-dir"])
        .arg(data.join("no-dist"))
        .arg("--data-dir")
        .arg(data)
        .args(["--header-timeout-secs", "4"])
        .args(options);
    // SAFETY: setrlimit is async-signal-safe and touches only its argument.
    unsafe {
        command.pre_exec(|| {
            let limit = libc::rlimit { rlim_cur: 256, rlim_max: 256 };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) == 0 {
                Ok(())
            } else {
                Err(std::io::Error::last_os_error())
            }
        });
    }
    let (child, url) = spawn_server(&mut command);
    (child, url.strip_prefix("http://").unwrap().parse().unwrap())
}

/// A socket to `server` from the loopback address `from` (any 127.x.y.z).
async fn connect_from(from: &str, server: SocketAddr) -> Option<TcpStream> {
    let socket = TcpSocket::new_v4().ok()?;
    socket.bind(format!("{from}:0").parse().unwrap()).ok()?;
    tokio::time::timeout(Duration::from_secs(2), socket.connect(server)).await.ok()?.ok()
}

/// Opens `n` silent sockets and `n` slowloris ones (a header line every
/// 300 ms, never the blank line that ends the head) from `from`.
async fn attack(from: &'static str, server: SocketAddr, n: usize) -> Vec<TcpStream> {
    let mut held = Vec::new();
    for _ in 0..n {
        if let Some(silent) = connect_from(from, server).await {
            held.push(silent);
        }
    }
    for i in 0..n {
        let Some(mut slow) = connect_from(from, server).await else { continue };
        tokio::spawn(async move {
            let _ = slow
                .write_all(format!("GET /api/health HTTP/1.1\r\nHost: x\r\nX-{i}: 1\r\n").as_bytes())
                .await;
            loop {
                tokio::time::sleep(Duration::from_millis(300)).await;
                if slow.write_all(b"X-More: 1\r\n").await.is_err() {
                    return;
                }
            }
        });
    }
    held
}

/// Whether the server closed `socket` within `within`.
async fn closed(socket: &mut TcpStream, within: Duration) -> bool {
    let mut byte = [0u8; 64];
    loop {
        match tokio::time::timeout(within, socket.read(&mut byte)).await {
            Err(_) => return false,
            Ok(Ok(0) | Err(_)) => return true,
            Ok(Ok(_)) => continue, // a 408 or similar before closing
        }
    }
}

/// Health and sign-in, each answered within `within`.
async fn still_answers(server: SocketAddr, within: Duration) {
    let http = reqwest::Client::builder().timeout(within).build().unwrap();
    let started = Instant::now();
    let health = http.get(format!("http://{server}/api/health")).send().await;
    assert_eq!(health.map(|r| r.status().as_u16()).ok(), Some(200), "health after {:?}", started.elapsed());
    let login = http
        .post(format!("http://{server}/api/login"))
        .header("content-type", "application/json")
        .body(serde_json::json!({ "login": "admin", "password": PASSWORD }).to_string())
        .send()
        .await;
    assert_eq!(login.map(|r| r.status().as_u16()).ok(), Some(200), "sign-in after {:?}", started.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_and_silent_sockets_are_closed_and_the_server_keeps_answering() {
    let data = tempfile::tempdir().unwrap();
    admin(
        data.path(),
        &["create-user", "--login", "admin", "--password-stdin", "--role", "federal-coordinator"],
        PASSWORD,
    );
    let (mut child, server) = server(data.path(), &["--max-connections-per-address", "64"]);

    // One address: 200 slowloris and 200 silent sockets. The server holds
    // 64 of them (its per-address cap) and closes the rest at once.
    let mut held = attack("127.0.0.2", server, 200).await;
    still_answers(server, Duration::from_secs(2)).await;
    // Within the header-read timeout (4 s) and a margin, every one is closed.
    let deadline = Instant::now() + Duration::from_secs(8);
    for socket in &mut held {
        let left = deadline.saturating_duration_since(Instant::now()).max(Duration::from_millis(10));
        assert!(closed(socket, left).await, "a silent socket outlived the header timeout");
    }

    // Many addresses, 320 silent sockets in all: more than the server takes
    // at once under its file limit. It does not fail; new clients wait for
    // slots the header timeout frees.
    let mut many = Vec::new();
    for from in [
        "127.0.0.10",
        "127.0.0.11",
        "127.0.0.12",
        "127.0.0.13",
        "127.0.0.14",
        "127.0.0.15",
        "127.0.0.16",
        "127.0.0.17",
    ] {
        for _ in 0..40 {
            if let Some(socket) = connect_from(from, server).await {
                many.push(socket);
            }
        }
    }
    still_answers(server, Duration::from_secs(10)).await;
    assert!(child.try_wait().unwrap().is_none(), "the server is still running");
    let _ = child.kill();
    let _ = child.wait();
    drop(many);
}

/// At a low file limit the default cap per address (256) is more than the
/// server can hold in all (192 here): one address still gets a quarter of
/// the slots at most, so others are answered at once, not after the
/// header timeout frees a slot.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_never_takes_every_slot() {
    let data = tempfile::tempdir().unwrap();
    admin(
        data.path(),
        &["create-user", "--login", "admin", "--password-stdin", "--role", "federal-coordinator"],
        PASSWORD,
    );
    let (mut child, server) = server(data.path(), &[]);
    let mut silent = Vec::new();
    for _ in 0..250 {
        if let Some(socket) = connect_from("127.0.0.2", server).await {
            silent.push(socket);
        }
    }
    still_answers(server, Duration::from_secs(2)).await;
    let _ = child.kill();
    let _ = child.wait();
    drop(silent);
}
