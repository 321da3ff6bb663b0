//! Secrets at rest, checked on the files a real `medk-server` leaves: no
//! readable invitation code in `access.redb` (and old readable ones
//! rewritten on open), the data dir and everything in it readable by the
//! server's user only, and the first administrator's one-time link
//! cancelled as soon as any account exists.
#![cfg(unix)]

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;

use serde_json::json;
use sha2::{Digest as _, Sha256};

mod common;
use common::{PASSWORD, Server, admin};

fn create_fed(data: &Path, login: &str) {
    admin(
        data,
        &["create-user", "--login", login, "--password-stdin", "--role", "federal-coordinator"],
        PASSWORD,
    );
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invitation_codes_are_stored_as_hashes_only() {
    let data = tempfile::tempdir().unwrap();
    create_fed(data.path(), "fed");
    let server = Server::start(data.path());
    let fed = server.login("fed").await;
    let (status, invitation) =
        server.call(&fed, "POST", "/api/invitations", json!({"role": "observer", "unit": "rf"})).await;
    assert_eq!(status, 201, "{invitation}");
    let code = invitation["code"].as_str().expect("the code, once, to whoever made it").to_owned();
    drop(server);
    let file = std::fs::read(data.path().join("access.redb")).unwrap();
    assert!(!contains(&file, &code), "the code is not in access.redb");

    // Listed without its code, by an id that is not the code.
    let server = Server::start(data.path());
    let fed = server.login("fed").await;
    let id = invitation["id"].as_str().expect("an id to name it by").to_owned();
    assert_ne!(code, id);
    let (_, people) = server.call(&fed, "GET", "/api/people", serde_json::Value::Null).await;
    let listed = &people["invitations"][0];
    assert_eq!(listed["id"], id.as_str(), "{people}");
    assert!(listed.get("code").is_none(), "{people}");

    // It still works by its code, and is revoked by its id.
    let (status, shown) =
        server.call("", "GET", &format!("/api/invitations/{code}"), serde_json::Value::Null).await;
    assert_eq!(status, 200, "{shown}");
    let res = server
        .http
        .delete(server.url(&format!("/api/invitations/{id}")))
        .header("cookie", format!("medk_session={fed}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    assert_eq!(
        server.call("", "GET", &format!("/api/invitations/{code}"), serde_json::Value::Null).await.0,
        404,
        "revoked"
    );
}

/// A data dir written by an older medk-server holds readable codes: the
/// first open rewrites them as hashes, and the links keep working.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readable_codes_from_an_older_server_are_rewritten_on_open() {
    let data = tempfile::tempdir().unwrap();
    create_fed(data.path(), "fed");
    let code = "c0ffee".repeat(10) + "c0ff";
    let key: String = Sha256::digest(code.as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
    {
        let db = redb::Database::create(data.path().join("access.redb")).unwrap();
        let txn = db.begin_write().unwrap();
        {
            let table: redb::TableDefinition<&str, &[u8]> = redb::TableDefinition::new("invitations");
            let mut table = txn.open_table(table).unwrap();
            let old = json!({
                "code": code, "role": "observer", "unit": "rf", "schools": [],
                "created_by": "someone", "expires_at": 4_000_000_000u64,
            });
            table.insert(key.as_str(), old.to_string().as_bytes()).unwrap();
        }
        txn.commit().unwrap();
    }
    assert!(contains(&std::fs::read(data.path().join("access.redb")).unwrap(), &code));
    let server = Server::start(data.path());
    assert_eq!(
        server.call("", "GET", &format!("/api/invitations/{code}"), serde_json::Value::Null).await.0,
        200
    );
    drop(server);
    // redb keeps old pages until they are reused: compact so that what is
    // left in the file is what the database holds.
    redb::Database::open(data.path().join("access.redb")).unwrap().compact().unwrap();
    let file = std::fs::read(data.path().join("access.redb")).unwrap();
    assert!(!contains(&file, &code), "rewritten without the code");
    let server = Server::start(data.path());
    assert_eq!(
        server.call("", "GET", &format!("/api/invitations/{code}"), serde_json::Value::Null).await.0,
        200,
        "and it still opens"
    );
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_data_dir_is_readable_by_the_servers_user_only() {
    let parent = tempfile::tempdir().unwrap();
    let data = parent.path().join("data");
    // A data dir as an older server (or a careless copy) left it.
    std::fs::create_dir(&data).unwrap();
    create_fed(&data, "fed");
    admin(&data, &["create-unit", "--parent", "rf", "--level", "region", "--name", "r", "--id", "r1"], "");
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(data.join("access.redb"), std::fs::Permissions::from_mode(0o644)).unwrap();

    let server = Server::start(&data);
    let fed = server.login("fed").await;
    let bytes = b"a school's document".to_vec();
    let hex: String = Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
    let res = server
        .http
        .put(server.url(&format!("/api/blobs/sha256:{hex}?unit=rf")))
        .header("cookie", format!("medk_session={fed}"))
        .body(bytes)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);

    let mut wrong = Vec::new();
    let mut check = |path: &Path, expected: u32| {
        if mode(path) != expected {
            wrong.push(format!("{} is {:o}, expected {expected:o}", path.display(), mode(path)));
        }
    };
    check(&data, 0o700);
    check(&data.join("access.redb"), 0o600);
    check(&data.join("medk.redb"), 0o600);
    check(&data.join("blobs"), 0o700);
    let shard = data.join("blobs").join(&hex[..2]);
    check(&shard, 0o700);
    check(&shard.join(&hex), 0o600);
    check(&shard.join(format!("{hex}.json")), 0o600);
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

fn first_admin_code(data: &Path) -> String {
    let text = std::fs::read_to_string(data.join("first-admin.txt")).unwrap();
    let link = text.lines().find(|l| l.contains("/invite/")).unwrap().trim().to_owned();
    link.rsplit('/').next().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_admin_links_are_cancelled_once_an_account_exists() {
    // Made with `admin create-user` while the server was stopped.
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path());
    let old = first_admin_code(data.path());
    drop(server);
    create_fed(data.path(), "admin");
    let server = Server::start(data.path());
    assert_eq!(
        server.call("", "GET", &format!("/api/invitations/{old}"), serde_json::Value::Null).await.0,
        404,
        "the old link is dead"
    );
    let (status, _) = server
        .call(
            "",
            "POST",
            &format!("/api/invitations/{old}/accept"),
            json!({"login": "intruder", "password": "intruder-password"}),
        )
        .await;
    assert_eq!(status, 404, "and makes no federal coordinator");
    drop(server);

    // Restarted before anyone used it: only the newest link works; once
    // it is used, none does.
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path());
    let first = first_admin_code(data.path());
    drop(server);
    let server = Server::start(data.path());
    let second = first_admin_code(data.path());
    assert_ne!(first, second);
    assert_eq!(
        server.call("", "GET", &format!("/api/invitations/{first}"), serde_json::Value::Null).await.0,
        404,
        "replaced"
    );
    let (status, _) = server
        .call(
            "",
            "POST",
            &format!("/api/invitations/{second}/accept"),
            json!({"login": "admin", "password": "admin-password"}),
        )
        .await;
    assert_eq!(status, 200);
    assert!(!data.path().join("first-admin.txt").exists(), "the file goes once the link is used");
}
