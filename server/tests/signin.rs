//! Sign-in throttling against a real `medk-server` process over real HTTP:
//! a per-login limit that holds when the guesses arrive all at once, an
//! address limit that does not lock out the other people behind it, a
//! device where the person signed in before getting in while their login
//! is locked, addresses from a trusted proxy only, and the current-password
//! check of a password change under the same limits.

use std::net::SocketAddr;

use serde_json::json;

mod common;
use common::{PASSWORD, Server, admin};

fn create_user(data: &std::path::Path, login: &str) {
    admin(
        data,
        &["create-user", "--login", login, "--password-stdin", "--role", "federal-coordinator"],
        PASSWORD,
    );
}

/// One `POST /api/login`; its status, and the device cookie it set.
async fn sign_in(
    http: &reqwest::Client,
    addr: SocketAddr,
    login: &str,
    password: &str,
    headers: &[(&str, &str)],
) -> (u16, Option<String>) {
    let mut req = http
        .post(format!("http://{addr}/api/login"))
        .header("content-type", "application/json")
        .body(json!({ "login": login, "password": password }).to_string());
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    let res = req.send().await.unwrap();
    let device = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("medk_device="))
        .map(|c| c.split(';').next().unwrap().to_owned());
    if res.status() == 429 {
        assert!(res.headers().get("retry-after").is_some(), "429 says how long to wait");
    }
    (res.status().as_u16(), device)
}

/// Sends `n` requests at once; counts of each status.
async fn at_once<F>(n: usize, request: impl Fn(usize) -> F) -> std::collections::BTreeMap<u16, usize>
where
    F: std::future::Future<Output = u16> + Send + 'static,
{
    let tasks: Vec<_> = (0..n).map(|i| tokio::spawn(request(i))).collect();
    let mut counts = std::collections::BTreeMap::new();
    for task in tasks {
        *counts.entry(task.await.unwrap()).or_default() += 1;
    }
    counts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_wrong_passwords_at_once_for_one_login_get_five_checks() {
    let data = tempfile::tempdir().unwrap();
    create_user(data.path(), "victim");
    let server = Server::start(data.path());
    let (http, addr) = (server.http.clone(), server.addr);
    let counts = at_once(20, |i| {
        let http = http.clone();
        // From twenty addresses (forwarded headers are not believed here,
        // so all come from 127.0.0.1, but the per-login limit is the one hit).
        async move { sign_in(&http, addr, "victim", &format!("guess-{i}"), &[]).await.0 }
    })
    .await;
    assert_eq!(counts.get(&401), Some(&5), "five checked: {counts:?}");
    assert_eq!(counts.get(&429), Some(&15), "the rest refused before queuing: {counts:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_from_one_address_do_not_lock_out_another_account() {
    let data = tempfile::tempdir().unwrap();
    create_user(data.path(), "colleague");
    let server = Server::start(data.path());
    let (http, addr) = (server.http.clone(), server.addr);
    // Forty wrong sign-ins from this address (a school's NAT), at once.
    let counts = at_once(40, |i| {
        let http = http.clone();
        async move { sign_in(&http, addr, &format!("nobody{i}"), "wrong-password", &[]).await.0 }
    })
    .await;
    assert_eq!(counts.get(&401), Some(&40), "{counts:?}");
    // Someone else behind the same address signs in.
    let (status, _) = sign_in(&server.http, addr, "colleague", PASSWORD, &[]).await;
    assert_eq!(status, 200, "a correct password of a login nobody is guessing at");
    // But the logins guessed at from here are not tried again from here.
    let (status, _) = sign_in(&server.http, addr, "nobody3", "another-guess", &[]).await;
    assert_eq!(status, 429);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_that_signed_in_before_gets_in_while_the_login_is_locked() {
    let data = tempfile::tempdir().unwrap();
    create_user(data.path(), "teacher");
    let server = Server::start(data.path());
    let addr = server.addr;
    let (status, device) = sign_in(&server.http, addr, "teacher", PASSWORD, &[]).await;
    assert_eq!(status, 200);
    let device = device.unwrap_or_default(); // the device cookie that came with the session

    // Someone guesses at the login until it locks.
    for i in 0..5 {
        assert_eq!(sign_in(&server.http, addr, "teacher", &format!("guess-{i}"), &[]).await.0, 401);
    }
    assert_eq!(sign_in(&server.http, addr, "teacher", PASSWORD, &[]).await.0, 429, "a new device waits");
    // The teacher's own tablet still gets in.
    let (status, _) = sign_in(&server.http, addr, "teacher", PASSWORD, &[("cookie", &device)]).await;
    assert_eq!(status, 200, "the known device");
    // A cookie of another server, or a made-up one, is no device.
    let forged = device.replace("medk_device=", "medk_device=x");
    assert_eq!(sign_in(&server.http, addr, "teacher", PASSWORD, &[("cookie", &forged)]).await.0, 429);
    // The device has a limit of its own.
    for i in 0..5 {
        let (status, _) =
            sign_in(&server.http, addr, "teacher", &format!("typo-{i}"), &[("cookie", &device)]).await;
        assert_eq!(status, 401);
    }
    assert_eq!(sign_in(&server.http, addr, "teacher", PASSWORD, &[("cookie", &device)]).await.0, 429);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_address_comes_from_a_trusted_proxy_only() {
    let data = tempfile::tempdir().unwrap();
    create_user(data.path(), "someone");
    for (trusted, separate) in [(true, true), (false, false)] {
        let options: &[&str] = if trusted { &["--trusted-proxy", "127.0.0.1"] } else { &[] };
        let server = Server::start_with(data.path(), options);
        let addr = server.addr;
        let from = |ip: &'static str| [("x-forwarded-for", ip)];
        for i in 0..20 {
            let (status, _) =
                sign_in(&server.http, addr, &format!("x{i}"), "wrong-password", &from("203.0.113.1")).await;
            assert_eq!(status, 401);
        }
        // The address that failed twenty times is over its limit: a login
        // already guessed at is not tried from it again.
        let (status, _) = sign_in(&server.http, addr, "x1", "wrong-password", &from("203.0.113.1")).await;
        assert_eq!(status, 429, "trusted: {trusted}");
        // Another client of the proxy is another address.
        let (status, _) = sign_in(&server.http, addr, "x1", "wrong-password", &from("203.0.113.2")).await;
        assert_eq!(status == 401, separate, "trusted proxy: {trusted}, status {status}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_current_password_check_of_a_password_change_is_throttled() {
    let data = tempfile::tempdir().unwrap();
    create_user(data.path(), "owner");
    let server = Server::start(data.path());
    let (status, device) = sign_in(&server.http, server.addr, "owner", PASSWORD, &[]).await;
    assert_eq!(status, 200);
    let device = device.unwrap_or_default();
    // A stolen session (without the owner's device cookie) guessing the current password.
    let token = server.login("owner").await;
    let (http, addr) = (server.http.clone(), server.addr);
    let change = move |http: reqwest::Client, cookie: String, current: String| async move {
        http.post(format!("http://{addr}/api/password"))
            .header("content-type", "application/json")
            .header("cookie", cookie)
            .body(json!({ "current": current, "new": "a-new-password" }).to_string())
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    };
    let session = format!("medk_session={token}");
    let counts = at_once(20, |i| change(http.clone(), session.clone(), format!("guess-{i}"))).await;
    assert_eq!(counts.get(&403), Some(&5), "{counts:?}");
    assert_eq!(counts.get(&429), Some(&15), "{counts:?}");
    assert_eq!(change(http.clone(), session.clone(), PASSWORD.into()).await, 429, "locked for that device");
    // Said as what was tried, not as a sign-in.
    let said: serde_json::Value = http
        .post(format!("http://{addr}/api/password"))
        .header("content-type", "application/json")
        .header("cookie", session.clone())
        .body(json!({ "current": "guess", "new": "a-new-password" }).to_string())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .map(|text| serde_json::from_str(&text).unwrap())
        .unwrap();
    let said = said["error"].as_str().unwrap_or_default();
    assert!(
        said.starts_with("Текущий пароль не проверен: для этого логина было много неверных паролей"),
        "{said}"
    );
    // The owner, on the device they signed in from, changes it.
    let theirs = format!("{session}; {device}");
    assert_eq!(change(http.clone(), theirs, PASSWORD.into()).await, 204);
}
