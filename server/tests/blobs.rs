//! Content-addressed blobs over a real `medk-server` process: upload and
//! download with their headers, the refusals (wrong content, too large, no
//! session, foreign origin, someone else's school), idempotent uploads, and
//! blobs surviving a restart.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};

mod common;
use common::{PASSWORD, Server, admin};

const MAX: usize = 25 * 1024 * 1024;

/// rf → r1 → m1 → {s1, s2}; a team for each school, their municipal
/// coordinator, and a curator of s2.
fn set_up(data: &Path) {
    for (parent, level, id) in
        [("rf", "region", "r1"), ("r1", "municipality", "m1"), ("m1", "school", "s1"), ("m1", "school", "s2")]
    {
        admin(data, &["create-unit", "--parent", parent, "--level", level, "--name", id, "--id", id], "");
    }
    for (login, role, unit, school) in [
        ("sch1", "school-team", "s1", None),
        ("sch2", "school-team", "s2", None),
        ("mun", "municipal-coordinator", "m1", None),
        ("cur2", "curator", "m1", Some("s2")),
    ] {
        let mut args =
            vec!["create-user", "--login", login, "--password-stdin", "--role", role, "--unit", unit];
        if let Some(school) = school {
            args.extend(["--school", school]);
        }
        admin(data, &args, PASSWORD);
    }
}

impl Server {
    /// A PDF's upload.
    fn put(
        &self,
        token: Option<&str>,
        address: &str,
        unit: &str,
        body: impl Into<reqwest::Body>,
    ) -> reqwest::RequestBuilder {
        self.put_typed(token, address, unit, body, "application/pdf")
    }

    fn put_typed(
        &self,
        token: Option<&str>,
        address: &str,
        unit: &str,
        body: impl Into<reqwest::Body>,
        mime: &str,
    ) -> reqwest::RequestBuilder {
        let mut req = self
            .http
            .put(self.url(&format!("/api/blobs/{address}?unit={unit}")))
            .header("content-type", mime)
            .body(body);
        if let Some(token) = token {
            req = req.header("cookie", format!("medk_session={token}"));
        }
        req
    }

    fn get(&self, token: &str, address: &str) -> reqwest::RequestBuilder {
        self.http
            .get(self.url(&format!("/api/blobs/{address}")))
            .header("cookie", format!("medk_session={token}"))
    }
}

/// A `PUT` with `Transfer-Encoding: chunked` (no Content-Length), by hand:
/// the server must stop at the limit while reading. Returns the status.
async fn chunked_put(addr: SocketAddr, token: &str, address: &str, unit: &str, body: &[u8]) -> u16 {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "PUT /api/blobs/{address}?unit={unit} HTTP/1.1\r\nHost: {addr}\r\n\
         Cookie: medk_session={token}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    for chunk in body.chunks(1024 * 1024) {
        let sent = async {
            stream.write_all(format!("{:x}\r\n", chunk.len()).as_bytes()).await?;
            stream.write_all(chunk).await?;
            stream.write_all(b"\r\n").await
        };
        // The server may answer and stop reading before the end.
        if sent.await.is_err() {
            break;
        }
    }
    let _ = stream.write_all(b"0\r\n\r\n").await;
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer).await;
    let answer = String::from_utf8_lossy(&answer);
    answer.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("no status in {answer:?}"))
}

fn address(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    format!("sha256:{}", digest.iter().map(|b| format!("{b:02x}")).collect::<String>())
}

/// Every file under the blob store, temp files included.
fn stored(data: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(shards) = std::fs::read_dir(data.join("blobs")) else { return out };
    for shard in shards.flatten() {
        out.extend(std::fs::read_dir(shard.path()).unwrap().flatten().map(|e| e.path()));
    }
    out.sort();
    out
}

async fn error_of(res: reqwest::Response) -> (u16, String) {
    let status = res.status().as_u16();
    let body: serde_json::Value = serde_json::from_str(&res.text().await.unwrap()).unwrap_or_default();
    (status, body["error"].as_str().unwrap_or_default().to_owned())
}

#[tokio::test]
async fn blobs_round_trip_are_checked_refused_and_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    set_up(data);
    let server = Server::start(data);
    let sch1 = server.login("sch1").await;
    let sch2 = server.login("sch2").await;
    let mun = server.login("mun").await;
    let cur2 = server.login("cur2").await;

    let bytes: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let addr = address(&bytes);

    // Refusals before anything is stored.
    let res = server.put(None, &addr, "s1", bytes.clone()).send().await.unwrap();
    assert_eq!(res.status(), 401, "no session");
    let res = server
        .put(Some(&sch1), &addr, "s1", bytes.clone())
        .header("origin", "http://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403, "foreign origin");
    let (status, error) =
        error_of(server.put(Some(&sch2), &addr, "s1", bytes.clone()).send().await.unwrap()).await;
    assert_eq!(status, 403, "another school's team may not add files to s1: {error}");
    let res = server.put(Some(&sch1), &addr, "nowhere", bytes.clone()).send().await.unwrap();
    assert_eq!(res.status(), 403, "an unknown unit");
    let res = server.put(Some(&sch1), "sha256:abc", "s1", bytes.clone()).send().await.unwrap();
    assert_eq!(res.status(), 400, "a malformed address");
    let (status, error) =
        error_of(server.put(Some(&sch1), &address(b"other"), "s1", bytes.clone()).send().await.unwrap())
            .await;
    assert_eq!((status, error.as_str()), (400, "содержимое не совпадает с адресом файла"));
    assert_eq!(stored(data), Vec::<PathBuf>::new(), "nothing stored by refused uploads");

    // Too large: with a Content-Length, and streamed without one.
    let big = vec![7u8; MAX + 1];
    let (status, error) =
        error_of(server.put(Some(&sch1), &address(&big), "s1", big.clone()).send().await.unwrap()).await;
    assert_eq!(status, 413);
    assert!(error.starts_with("файл больше 25 МБ"), "{error}");
    let status = chunked_put(server.addr, &sch1, &address(&big), "s1", &big).await;
    assert_eq!(status, 413, "streamed");
    assert_eq!(stored(data), Vec::<PathBuf>::new(), "nothing stored by oversized uploads");
    // Exactly the limit is fine.
    let exact = vec![7u8; MAX];
    let res = server.put(Some(&sch1), &address(&exact), "s1", exact).send().await.unwrap();
    assert_eq!(res.status(), 201);

    // Upload, then download with the recorded headers.
    let res = server.put(Some(&sch1), &addr, "s1", bytes.clone()).send().await.unwrap();
    assert_eq!(res.status(), 201);
    let files = stored(data);
    let res = server.get(&sch1, &addr).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let header = |name: &str| res.headers().get(name).map(|v| v.to_str().unwrap().to_owned());
    assert_eq!(header("content-type").as_deref(), Some("application/pdf"));
    assert_eq!(header("cache-control").as_deref(), Some("private, max-age=31536000, immutable"));
    assert_eq!(header("content-disposition").as_deref(), Some("attachment"));
    assert_eq!(header("x-content-type-options").as_deref(), Some("nosniff"));
    assert_eq!(res.bytes().await.unwrap(), bytes);

    // Idempotent: the same blob again stores nothing new (and answers alike).
    let res = server.put(Some(&sch1), &addr, "s1", bytes.clone()).send().await.unwrap();
    assert_eq!(res.status(), 201);
    assert_eq!(stored(data), files);

    // Readers: the municipality's coordinator reads s1's files; the other
    // school and its curator do not, and cannot tell the blob exists.
    assert_eq!(server.get(&mun, &addr).send().await.unwrap().status(), 200);
    for (who, token) in [("sch2", &sch2), ("cur2", &cur2)] {
        let (status, _) = error_of(server.get(token, &addr).send().await.unwrap()).await;
        assert_eq!(status, 404, "{who}");
    }
    assert_eq!(server.get(&sch1, &address(b"never uploaded")).send().await.unwrap().status(), 404);
    let res = server.http.get(server.url(&format!("/api/blobs/{addr}"))).send().await.unwrap();
    assert_eq!(res.status(), 401, "no session");

    // Uploading the same content for s2 (proving it has it) opens it to s2.
    // The answer is the one a new file gets: s2 cannot tell s1 had it.
    let res = server.put_typed(Some(&cur2), &addr, "s2", bytes.clone(), "text/plain").send().await.unwrap();
    assert_eq!(res.status(), 201);
    let res = server.get(&sch2, &addr).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "text/plain", "s2's readers get s2's type");
    let res = server.get(&sch1, &addr).send().await.unwrap();
    assert_eq!(res.headers()["content-type"], "application/pdf", "s1's readers keep s1's");
    assert_eq!(stored(data), files);

    // A restart keeps the blobs and who may read them.
    drop(server);
    let server = Server::start(data);
    let sch1 = server.login("sch1").await;
    let res = server.get(&sch1, &addr).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.bytes().await.unwrap(), bytes);
    let other = server.login("sch2").await;
    assert_eq!(server.get(&other, &addr).send().await.unwrap().status(), 200);
}

/// The answer to an upload never tells whether another school stored the
/// same file, and the first to upload a file does not choose the type its
/// other schools' readers get.
#[tokio::test]
async fn an_upload_does_not_reveal_or_retype_another_schools_file() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    set_up(data);
    let server = Server::start(data);
    let sch1 = server.login("sch1").await;
    let sch2 = server.login("sch2").await;
    let mun = server.login("mun").await;
    let known = b"%PDF-1.4 the ministry's template".to_vec();
    let fresh = b"%PDF-1.4 something nobody has".to_vec();

    // s1 has the template; s2's team uploads it, and a file nobody has.
    let res = server.put(Some(&sch1), &address(&known), "s1", known.clone()).send().await.unwrap();
    assert_eq!(res.status(), 201);
    let answer = |res: reqwest::Response| async move {
        let status = res.status().as_u16();
        (status, res.text().await.unwrap())
    };
    let held =
        answer(server.put(Some(&sch2), &address(&known), "s2", known.clone()).send().await.unwrap()).await;
    let new =
        answer(server.put(Some(&sch2), &address(&fresh), "s2", fresh.clone()).send().await.unwrap()).await;
    assert_eq!(held.0, new.0, "same status whether or not another school had it");
    let shape = |body: &str| {
        let mut keys: Vec<String> = serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(body)
            .unwrap()
            .keys()
            .cloned()
            .collect();
        keys.sort();
        keys
    };
    assert_eq!(shape(&held.1), shape(&new.1));

    // s2's uploader says again the template is HTML: s2 has it already as a
    // PDF, which stays; and s1's readers get s1's type whatever s2 says.
    let res = server
        .put_typed(Some(&sch2), &address(&known), "s2", known.clone(), "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let res = server.get(&mun, &address(&known)).query(&[("unit", "s1")]).send().await.unwrap();
    assert_eq!(res.headers()["content-type"], "application/pdf", "s1's readers");
    let res = server.get(&sch1, &address(&known)).send().await.unwrap();
    assert_eq!(res.headers()["content-type"], "application/pdf", "s1's team");
    let res = server.get(&sch2, &address(&known)).send().await.unwrap();
    assert_eq!(res.headers()["content-type"], "application/pdf", "a type once recorded for a unit stays");
}

/// Quotas: one person and one unit may keep only so much. What is over is
/// refused with a Russian message the app shows, nothing is stored, and an
/// upload of what the unit already has costs nothing.
#[tokio::test]
async fn uploads_past_a_persons_or_a_units_quota_are_refused_and_store_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    set_up(data);
    admin(
        data,
        &["create-user", "--login", "sch1b", "--password-stdin", "--role", "school-team", "--unit", "s1"],
        PASSWORD,
    );
    admin(
        data,
        &["create-user", "--login", "sch1c", "--password-stdin", "--role", "school-team", "--unit", "s1"],
        PASSWORD,
    );
    let server = Server::start_with(
        data,
        &["--unit-quota-mib", "2", "--person-quota-mib", "1", "--min-free-mib", "0"],
    );
    let (a, b, c) = (server.login("sch1").await, server.login("sch1b").await, server.login("sch1c").await);
    let file = |n: u8, kib: usize| vec![n; kib * 1024];

    let one = file(1, 600);
    assert_eq!(server.put(Some(&a), &address(&one), "s1", one.clone()).send().await.unwrap().status(), 201);
    assert_eq!(
        server.put(Some(&a), &address(&one), "s1", one.clone()).send().await.unwrap().status(),
        201,
        "again: free"
    );
    let before = stored(data);
    let two = file(2, 600);
    let (status, error) =
        error_of(server.put(Some(&a), &address(&two), "s1", two.clone()).send().await.unwrap()).await;
    assert_eq!(status, 413, "{error}");
    assert!(error.starts_with("превышен объём ваших файлов"), "{error}");
    assert_eq!(stored(data), before, "nothing stored");

    // Another member of the team has room of their own, until the school's runs out.
    assert_eq!(server.put(Some(&b), &address(&two), "s1", two.clone()).send().await.unwrap().status(), 201);
    let three = file(3, 900);
    let (status, error) =
        error_of(server.put(Some(&c), &address(&three), "s1", three.clone()).send().await.unwrap()).await;
    assert_eq!(status, 413, "{error}");
    assert!(error.starts_with("превышен объём файлов организации «s1»"), "{error}");
    // Streamed without a Content-Length, the same.
    assert_eq!(chunked_put(server.addr, &c, &address(&three), "s1", &three).await, 413);
    // s2 is another unit with its own quota.
    let sch2 = server.login("sch2").await;
    assert_eq!(
        server.put(Some(&sch2), &address(&three), "s2", three.clone()).send().await.unwrap().status(),
        201
    );
}

/// A file no school file names is deleted once it has been unreferenced
/// for the grace period (here none), and gives its room back; a file the
/// school file names, as its document or in the review log, stays.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreferenced_blobs_are_collected_and_referenced_ones_kept() {
    use medk_shared::ids::RowId;
    use medk_shared::school::{Blob, Decision, DocumentKind, SchoolDoc, SchoolEdit, school_file_id};
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    set_up(data);
    let options = ["--unit-quota-mib", "1", "--min-free-mib", "0", "--unreferenced-blob-grace-secs", "0"];
    let server = Server::start_with(data, &options);
    let sch1 = server.login("sch1").await;
    let kept = vec![1u8; 400 * 1024];
    let orphan = vec![2u8; 400 * 1024];
    for bytes in [&kept, &orphan] {
        let res = server.put(Some(&sch1), &address(bytes), "s1", bytes.clone()).send().await.unwrap();
        assert_eq!(res.status(), 201);
    }
    // The school file names the first only.
    let id = school_file_id("s1");
    let mut device = common::Device::connect(server.addr, &sch1, "team").await;
    let mut file = SchoolDoc::genesis("s1");
    let blob = Blob {
        address: address(&kept),
        name: "концепция.pdf".into(),
        size: kept.len() as u64,
        mime: "application/pdf".into(),
    };
    let me = server.http.get(server.url("/api/me")).header("cookie", format!("medk_session={sch1}")).send();
    let me: serde_json::Value = serde_json::from_str(&me.await.unwrap().text().await.unwrap()).unwrap();
    let by = me["person"]["id"].as_str().unwrap().to_owned();
    let edits = vec![
        SchoolEdit::AttachDocument {
            id: RowId::new("d1"),
            kind: DocumentKind::Concept,
            title: "Концепция".into(),
            blob,
        },
        SchoolEdit::Decide {
            document: RowId::new("d1"),
            decision: Decision::Submitted,
            remarks: String::new(),
            by: by.clone(),
            by_name: by,
        },
    ];
    file.apply(edits, 1_615_363_200_000, "attach").unwrap();
    device.docs.insert(id, file.automerge().clone());
    device.sync().await;
    let third = vec![3u8; 400 * 1024];
    let (status, _) =
        error_of(server.put(Some(&sch1), &address(&third), "s1", third.clone()).send().await.unwrap()).await;
    assert_eq!(status, 413, "the unit's megabyte is used up");
    drop(device);

    // Collected at the next start (and every hour while it runs).
    drop(server);
    let server = Server::start_with(data, &options);
    let sch1 = server.login("sch1").await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while server.get(&sch1, &address(&orphan)).send().await.unwrap().status() != 404 {
        assert!(std::time::Instant::now() < deadline, "the unreferenced file is collected");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let hex = |bytes: &[u8]| address(bytes)["sha256:".len()..].to_owned();
    assert!(!stored(data).iter().any(|p| p.to_string_lossy().contains(&hex(&orphan))), "its files are gone");
    let res = server.get(&sch1, &address(&kept)).send().await.unwrap();
    assert_eq!(res.status(), 200, "the named one stays");
    assert_eq!(res.bytes().await.unwrap(), kept);
    let res = server.put(Some(&sch1), &address(&third), "s1", third.clone()).send().await.unwrap();
    assert_eq!(res.status(), 201, "the room came back");
}
