//! The `medk-server` binary itself: flags, the log line people and scripts
//! wait for, the data dir, and a clean exit on SIGTERM.

use std::process::Command;

mod common;
use common::spawn_server;

#[cfg(unix)]
#[tokio::test]
async fn binary_serves_then_stops_cleanly_on_sigterm() {
    let tmp = tempfile::tempdir().unwrap();
    let data_dir = tmp.path().join("data");
    let (mut child, url) = spawn_server(
        Command::new(env!("CARGO_BIN_EXE_medk-server"))
            .args(["serve", "--listen", "127.0.0.1:0", "--static-dir"])
            .arg(tmp.path().join("dist"))
            .arg("--data-dir")
            .arg(&data_dir),
    );
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    assert!(data_dir.is_dir(), "the data dir is created");

    let res = reqwest::get(format!("{url}/api/health")).await.unwrap();
    assert_eq!(res.text().await.unwrap(), r#"{"ok":true}"#);

    let status = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status().unwrap();
    assert!(status.success());
    let exit = child.wait().unwrap();
    assert!(exit.success(), "graceful shutdown exits 0, got {exit}");
}
