//! The disk, against a real `medk-server` process whose data dir is a small
//! tmpfs (mounted by the test: it runs as root, as the test machines do):
//! a full disk refuses writes with a clear answer, acknowledges nothing it
//! did not store, and recovers by itself once space is back, for the
//! documents (`medk.redb`), the accounts (`access.redb`, sign-in) and the
//! files schools attach.
#![cfg(target_os = "linux")]

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::json;
use sha2::{Digest as _, Sha256};

mod common;
use common::{Device, PASSWORD, Server, admin, mark, roadmap};

/// A tmpfs of `mib` MiB mounted on a fresh directory, unmounted when dropped.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(mib: u32) -> Tmpfs {
        let dir = tempfile::tempdir().unwrap();
        let status = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={mib}m,mode=0700"), "medk-test"])
            .arg(dir.path())
            .status()
            .expect("running mount");
        assert!(status.success(), "mounting a tmpfs (the tests run as root, with CAP_SYS_ADMIN)");
        Tmpfs { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Fills the file system up to its last byte; returns the filler.
    fn fill(&self) -> PathBuf {
        let path = self.path().join("filler");
        let mut file = std::fs::File::create(&path).unwrap();
        for size in [1 << 20, 64 << 10, 4 << 10, 1] {
            let chunk = vec![0x5a; size];
            while file.write_all(&chunk).is_ok() {}
        }
        let _ = file.sync_all();
        path
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg("-l").arg(self.dir.path()).status();
    }
}

fn address(bytes: &[u8]) -> String {
    format!("sha256:{}", Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect::<String>())
}

async fn sign_in(server: &Server) -> (u16, serde_json::Value) {
    server.call("", "POST", "/api/login", json!({ "login": "fed", "password": PASSWORD })).await
}

async fn upload(server: &Server, token: &str, bytes: &[u8]) -> (u16, serde_json::Value) {
    let res = server
        .http
        .put(server.url(&format!("/api/blobs/{}?unit=rf", address(bytes))))
        .header("cookie", format!("medk_session={token}"))
        .header("content-type", "application/pdf")
        .body(bytes.to_vec())
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, serde_json::from_str(&res.text().await.unwrap()).unwrap_or_default())
}

/// Retries `f` until it returns `Some` or `within` passes.
async fn eventually<T, F: std::future::Future<Output = Option<T>>>(
    within: Duration,
    mut f: impl FnMut() -> F,
) -> Option<T> {
    let deadline = Instant::now() + within;
    loop {
        if let Some(value) = f().await {
            return Some(value);
        }
        if Instant::now() > deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_refuses_writes_clearly_and_recovers_by_itself() {
    let disk = Tmpfs::mount(24);
    let data = disk.path().join("data");
    admin(
        &data,
        &["create-user", "--login", "fed", "--password-stdin", "--role", "federal-coordinator"],
        PASSWORD,
    );
    let server = Server::start_with(&data, &["--min-free-mib", "0"]);
    let token = server.login("fed").await;
    let (id, doc) = roadmap("Дорожная карта");
    let mut device = Device::connect(server.addr, &token, "tablet").await;
    device.docs.insert(id, doc);
    device.sync().await;
    let stored = device.docs.get_mut(&id).unwrap().get_heads();
    assert_eq!(device.client.relay_heads(&id), Some(stored.as_slice()));

    let filler = disk.fill();

    // A change made now: written nowhere, so not acknowledged.
    // 400,000 letters in sections of 20,000 (a field's limit).
    let text: String = (0..20_000u32).map(|i| char::from(b'a' + (i * 7 % 26) as u8)).collect();
    for section in 0..20 {
        mark(device.docs.get_mut(&id).unwrap(), &format!("notes{section}"), &text);
    }
    let wanted = device.docs.get_mut(&id).unwrap().get_heads();
    device.sync().await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    device.sync().await;
    assert_ne!(
        device.client.relay_heads(&id),
        Some(wanted.as_slice()),
        "acknowledged a change it could not store"
    );

    // Sign-in and uploads say what is wrong, in Russian, and keep nothing.
    // (A sign-in writes a session: redb may still fit one into pages the
    // file already holds, so the first few may succeed; none may fail
    // otherwise than clearly.)
    let mut refused = None;
    for _ in 0..50 {
        match sign_in(&server).await {
            (200, _) => continue,
            (status, body) => {
                refused = Some((status, body));
                break;
            }
        }
    }
    let (status, body) = refused.expect("a sign-in that needs disk space is refused");
    assert_eq!(status, 507, "sign-in on a full disk: {body}");
    assert!(body["error"].as_str().unwrap().contains("место"), "{body}");
    let file = vec![3u8; 200_000];
    let (status, body) = upload(&server, &token, &file).await;
    assert_eq!(status, 507, "upload on a full disk: {body}");
    assert!(body["error"].as_str().unwrap().contains("место"), "{body}");

    // Space comes back: everything works again, without a restart.
    std::fs::remove_file(filler).unwrap();
    let signed_in =
        eventually(Duration::from_secs(10), || async { (sign_in(&server).await.0 == 200).then_some(()) })
            .await;
    assert!(signed_in.is_some(), "sign-in recovers: {:?}", sign_in(&server).await);
    assert_eq!(upload(&server, &token, &file).await.0, 201);
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut acknowledged = false;
    while !acknowledged && Instant::now() < deadline {
        device.sync().await;
        acknowledged = device.client.relay_heads(&id) == Some(wanted.as_slice());
    }
    assert!(acknowledged, "the relay stores and acknowledges the change once it can");

    // What it acknowledged is on disk: another device gets it after a restart.
    drop(device);
    drop(server);
    let server = Server::start_with(&data, &["--min-free-mib", "0"]);
    let token = server.login("fed").await;
    let mut other = Device::connect(server.addr, &token, "laptop").await;
    other.docs.insert(id, automerge::AutoCommit::new());
    let complete = |other: &Device| {
        (0..20).all(|s| other.mark(id, &format!("notes{s}")).as_deref() == Some(text.as_str()))
    };
    // 400,000 letters from a debug build on a busy machine: a few rounds.
    let deadline = Instant::now() + Duration::from_secs(30);
    other.sync().await;
    while !complete(&other) && Instant::now() < deadline {
        other.sync().await;
    }
    assert!(complete(&other), "another device gets every section the relay acknowledged");
}
