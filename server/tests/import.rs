//! `medk-server import FILE.docx`: the JSON a script reads (`--dry-run
//! --json`), storing a roadmap for an org unit so it syncs like any other,
//! and clear refusals of files that are not roadmaps.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use medk_server::accounts::Accounts;
use medk_server::server::DATABASE_FILE;
use medk_server::store::{RedbStore, Store as _};
use medk_shared::access::Level;
use medk_shared::doc::RoadmapDoc;
use medk_shared::ids::DocumentId;
use serde_json::Value;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/tests/fixtures").join(name)
}

fn medk(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_medk-server")).args(args).output().unwrap()
}

fn stdout(out: &Output) -> String {
    assert!(out.status.success(), "exit {}: {}", out.status, String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout.clone()).unwrap()
}

#[test]
fn dry_run_prints_the_roadmap_as_json() {
    for name in ["myshkin-municipal-2022", "sakhalin-regional-2021"] {
        let docx = fixture(&format!("{name}.docx"));
        let expected: Value =
            serde_json::from_slice(&std::fs::read(fixture(&format!("{name}.json"))).unwrap()).unwrap();
        let json: Value =
            serde_json::from_str(&stdout(&medk(&["import", docx.to_str().unwrap(), "--dry-run", "--json"])))
                .unwrap();
        assert_eq!(json["title"], expected["title"], "{name}");
        assert_eq!(json["level"], expected["level"], "{name}");
        let sections: Vec<(String, usize)> = json["sections"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| (s["title"].as_str().unwrap().to_owned(), s["activities"].as_array().unwrap().len()))
            .collect();
        let want: Vec<(String, usize)> = expected["sections"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| (s["title"].as_str().unwrap().to_owned(), s["items"].as_u64().unwrap() as usize))
            .collect();
        assert_eq!(sections, want, "{name}");
        let first = &json["sections"][0]["activities"][0];
        assert_eq!(first["number"], expected["items"][0]["number"], "{name}");
        assert!(first["cells"]["description"].as_str().is_some_and(|d| !d.is_empty()), "{name}: {first}");
        // Deadlines carry what was written and its ISO dates (or null).
        let deadline = &first["deadline"];
        assert!(deadline["text"].is_string(), "{name}: {deadline}");
        for end in ["start", "end"] {
            let date = &deadline[end];
            assert!(
                date.is_null() || date.as_str().is_some_and(|d| d.len() == 10 && d.as_bytes()[4] == b'-'),
                "{name}: {deadline}"
            );
        }
        assert_eq!(
            json["working_group"].as_array().unwrap().len(),
            expected["working_group"].as_array().unwrap().len(),
            "{name}"
        );
        assert!(json["columns"].is_array() && json["warnings"].is_array(), "{name}");
    }
    // The municipal roadmap's first deadline, «декабрь 2021», read as dates.
    let json: Value = serde_json::from_str(&stdout(&medk(&[
        "import",
        fixture("myshkin-municipal-2022.docx").to_str().unwrap(),
        "--dry-run",
        "--json",
    ])))
    .unwrap();
    let deadline = &json["sections"][0]["activities"][0]["deadline"];
    assert_eq!(deadline["start"], "2021-12-01");
    assert_eq!(deadline["end"], "2021-12-31");
}

#[test]
fn import_stores_a_roadmap_for_a_unit() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let data_arg = data.to_str().unwrap();
    let unit = stdout(&medk(&[
        "admin",
        "create-unit",
        "--parent",
        "rf",
        "--level",
        "region",
        "--name",
        "Сахалинская область",
        "--data-dir",
        data_arg,
    ]))
    .trim()
    .to_owned();
    let docx = fixture("sakhalin-regional-2021.docx");
    let args = ["import", docx.to_str().unwrap(), "--unit", &unit, "--json", "--data-dir", data_arg];
    let out = stdout(&medk(&[&args[..], &["--adopted-on", "2021-01-15"]].concat()));
    let json: Value = serde_json::from_str(&out).unwrap();
    let id = DocumentId::parse(json["url"].as_str().unwrap()).unwrap();

    let accounts = Accounts::open(&data).unwrap();
    let access = accounts.roadmap(&id).expect("registered");
    assert_eq!(access.unit, unit);
    assert_eq!(accounts.org().get(&unit).unwrap().level, Level::Region);
    drop(accounts);
    let store = RedbStore::open(&data.join(DATABASE_FILE)).unwrap();
    assert_eq!(store.documents().unwrap(), vec![id]);
    let bytes: Vec<u8> = store.load(&id).unwrap().concat();
    let roadmap = RoadmapDoc::load(&bytes).unwrap().read();
    assert_eq!(roadmap.header.title, json["title"].as_str().unwrap());
    assert_eq!(roadmap.activity_count(), 28);
    assert_eq!(roadmap.sections.len(), 3);
    assert_eq!(roadmap.header.adopted_on, "2021-01-15");

    // Registered untitled; the server's start reads the title from the
    // document, so lists show it before anyone changes the roadmap.
    let accounts = Accounts::open(&data).unwrap();
    assert_eq!(accounts.roadmap(&id).unwrap().title, "");
    medk_server::server::fill_titles(&store, &accounts, accounts.untitled_roadmaps());
    assert_eq!(accounts.roadmap(&id).unwrap().title, roadmap.header.title);
    drop(accounts);
    let out = medk(&[&args[..], &["--adopted-on", "15.01.2021"]].concat());
    assert!(String::from_utf8_lossy(&out.stderr).contains("YYYY-MM-DD"), "a date not as ISO is refused");

    // An unknown unit stores nothing.
    let out = medk(&["import", docx.to_str().unwrap(), "--unit", "nowhere", "--data-dir", data_arg]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("nowhere"));
    assert_eq!(store.documents().unwrap().len(), 1);
}

#[test]
fn files_that_are_not_roadmaps_are_refused_clearly() {
    let tmp = tempfile::tempdir().unwrap();
    let cases: [(&str, &[u8]); 3] = [
        ("text.docx", b"just some text, not a zip"),
        ("truncated.docx", &std::fs::read(fixture("myshkin-municipal-2022.docx")).unwrap()[..4000]),
        ("empty.docx", b""),
    ];
    for (name, bytes) in cases {
        let path = tmp.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let out = medk(&["import", path.to_str().unwrap(), "--dry-run", "--json"]);
        assert_eq!(out.status.code(), Some(1), "{name}: a refusal, not a crash");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(name) && !err.contains("panicked"), "{name}: {err}");
        assert!(out.stdout.is_empty(), "{name}: nothing printed for scripts to misread");
    }
    // Storing needs a unit.
    let out = medk(&["import", fixture("myshkin-municipal-2022.docx").to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--unit"));
}
