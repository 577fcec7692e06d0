//! An old database: a real one written by schema version 4 (`tests/fixtures/db/`, see its
//! README) is read by this binary's queries, its data intact and its schema brought up to the
//! number of migration blocks in `schema.sql`; a database newer than the binary is refused; a
//! shipped migration block never changes.

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;
use serde_json::Value;

use crate::cli::find;

/// Where the fixture's blog was served when it was made: every URL in it starts so.
const BASE: &str = "http://127.0.0.1:37655";

/// The schema version the fixture was written by.
const FIXTURE_VERSION: i64 = 4;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The schema version this checkout's binary writes: the `-- migration N` blocks of
/// `schema.sql` (others append blocks; this test follows them).
fn migrations() -> i64 {
    let schema = std::fs::read_to_string(root().join("schema.sql")).unwrap();
    schema
        .lines()
        .filter(|l| {
            l.strip_prefix("-- migration ")
                .is_some_and(|n| n.trim().parse::<i64>().is_ok())
        })
        .count() as i64
}

/// A copy of the fixture in a temp dir (the fixture itself is never opened by SQLite).
fn copy_fixture() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("old.db");
    std::fs::copy(root().join("tests/fixtures/db/schema-v4.db"), &db).unwrap();
    (dir, db)
}

fn user_version(db: &Path) -> i64 {
    rusqlite::Connection::open(db)
        .unwrap()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap()
}

/// Runs the binary on `db` from its folder (no config file there: the defaults).
fn cw(db: &Path, args: &[&str]) -> Output {
    Command::cargo_bin("citewatch")
        .unwrap()
        .current_dir(db.parent().unwrap())
        .env_remove("RUST_LOG")
        .arg("--db")
        .arg(db)
        .args(args)
        .output()
        .unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs a query that must succeed (0, or 2 when some cited link is bad) and parses its JSON.
fn json(db: &Path, args: &[&str]) -> Value {
    let out = cw(db, args);
    assert!(
        matches!(out.status.code(), Some(0 | 2)),
        "{args:?}: {:?}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{args:?}: {e}\n{}", stdout(&out)))
}

fn url(path: &str) -> String {
    format!("{BASE}{path}")
}

#[test]
fn a_version_4_database_is_read_intact_and_upgraded() {
    let (_dir, db) = copy_fixture();
    assert_eq!(user_version(&db), FIXTURE_VERSION, "the fixture is old");
    let current = migrations();
    assert!(
        current >= FIXTURE_VERSION,
        "schema.sql has {current} blocks"
    );

    // status: every link with its state, verdict details and citations.
    let out = cw(&db, &["status", "--format", "json"]);
    assert_eq!(out.status.code(), Some(2), "a cited link is broken");
    let links: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(links.len(), 6, "{links:#?}");
    for (u, state) in [
        (url("/article"), "ok"),
        (url("/moved"), "redirected"),
        (url("/gone"), "broken"),
        (url("/drift"), "changed"),
        ("mailto:author@example.org".to_string(), "skipped"),
        ("post:2024-01-15-link-rot.md".to_string(), "ok"),
    ] {
        assert_eq!(find(&links, &u)["state"], state, "{u}");
    }
    let gone = find(&links, &url("/gone"));
    assert_eq!(gone["http_status"], 404);
    assert_eq!(gone["streak"], 3);
    assert_eq!(
        gone["archived_url"],
        format!(
            "https://web.archive.org/web/20240115000000/{}",
            url("/gone")
        )
    );
    assert_eq!(find(&links, &url("/moved"))["final_url"], url("/new-home"));
    let cited: Vec<(String, i64)> = find(&links, &url("/article"))["citations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["post"].as_str().unwrap().to_string(),
                c["line"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        cited,
        [
            ("2023-06-01-archives.md".to_string(), 5),
            ("2024-01-15-link-rot.md".to_string(), 6)
        ]
    );

    // history: every check, oldest first, with its snapshot.
    let history = json(&db, &["history", &url("/drift"), "--format", "json"]);
    let states: Vec<&str> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["ok", "changed", "changed"]);
    let snaps: Vec<&str> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["snapshot"].as_str().unwrap())
        .collect();
    assert_ne!(snaps[0], snaps[1]);
    assert_eq!(snaps[1], snaps[2]);

    // show: state, citation, redirect chain, baseline.
    let out = cw(&db, &["show", &url("/moved")]);
    assert!(out.status.success());
    let show = stdout(&out);
    for want in [
        "redirected",
        "301",
        "2024-01-15-link-rot.md:5",
        "/new-home",
        "(baseline)",
    ] {
        assert!(show.contains(want), "show lacks {want:?}:\n{show}");
    }

    // snapshot: the archived text, and the exact bytes.
    let out = cw(&db, &["snapshot", &url("/article")]);
    assert!(out.status.success());
    let text = stdout(&out);
    assert!(text.contains("# Link rot in the humanities"), "{text}");
    assert!(
        text.contains("citations decay as pages move and archives keep what the web forgets"),
        "{text}"
    );
    let raw = cw(&db, &["snapshot", &url("/drift"), "--raw"]).stdout;
    let raw = String::from_utf8(raw).unwrap();
    assert!(
        raw.starts_with("<html><head><title>Rewritten</title>") && raw.ends_with("</html>"),
        "{raw}"
    );

    // alerts: the outbox with its deliveries.
    let alerts = json(&db, &["alerts", "--format", "json"]);
    let mut seen: Vec<(String, String, String)> = alerts
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            assert_eq!(a["deliveries"][0]["sink"], "log", "{a}");
            assert_eq!(a["deliveries"][0]["state"], "delivered", "{a}");
            (
                a["event"].as_str().unwrap().to_string(),
                a["url"].as_str().unwrap().to_string(),
                a["new_state"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        [
            ("confirmed".into(), url("/drift"), "changed".into()),
            ("confirmed".into(), url("/gone"), "broken".into()),
        ]
    );

    // db stats: the counts, and the schema now at this binary's version.
    let out = cw(&db, &["db", "stats"]);
    assert!(out.status.success());
    let stats = stdout(&out);
    let version: i64 = stats
        .split("schema version ")
        .nth(1)
        .and_then(|s| s.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok())
        .unwrap_or_else(|| panic!("no schema version in:\n{stats}"));
    assert_eq!(version, current, "{stats}");
    for (what, n) in [
        ("posts", 2),
        ("citations", 7),
        ("links", 6),
        ("checks", 12),
        ("snapshots", 5),
        ("alert events", 2),
    ] {
        assert!(
            stats
                .lines()
                .any(|l| l.starts_with(what)
                    && l[what.len()..].trim_start().starts_with(&n.to_string())),
            "{what} {n} in:\n{stats}"
        );
    }
    assert_eq!(user_version(&db), current);
    let conn = rusqlite::Connection::open(&db).unwrap();
    let ok: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(ok, "ok");
    let dangling: i64 = conn
        .query_row("SELECT COUNT(*) FROM pragma_foreign_key_check", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(dangling, 0, "foreign keys hold after the upgrade");
}

#[test]
fn a_database_newer_than_the_binary_is_refused() {
    let (_dir, db) = copy_fixture();
    let newer = migrations() + 1;
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute_batch(&format!("PRAGMA user_version = {newer}"))
        .unwrap();
    for args in [
        &["status"][..],
        &["db", "stats"],
        &["history", &url("/gone")],
    ] {
        let out = cw(&db, args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(
            err.contains(&format!("schema version {newer}"))
                && err.contains("newer than this citewatch")
                && err.contains("old.db"),
            "{args:?}: the message names the file, its version and the way out:\n{err}"
        );
        assert!(err.contains("upgrade citewatch"), "{err}");
        assert!(out.stdout.is_empty(), "{args:?}: nothing is printed");
    }
    assert_eq!(
        user_version(&db),
        newer,
        "the newer database is left as it was"
    );
}

/// The `-- migration N` blocks of `schema.sql` (number, text after the marker line), as the
/// store splits them.
fn migration_blocks() -> Vec<(i64, String)> {
    let schema = std::fs::read_to_string(root().join("schema.sql")).unwrap();
    let mut out: Vec<(i64, String)> = Vec::new();
    for line in schema.lines() {
        match line
            .strip_prefix("-- migration ")
            .and_then(|n| n.trim().parse::<i64>().ok())
        {
            Some(n) => out.push((n, String::new())),
            None => {
                if let Some((_, body)) = out.last_mut() {
                    body.push_str(line);
                    body.push('\n');
                }
            }
        }
    }
    out
}

/// Blocks that databases out there were migrated by (every block on main when this list was
/// written), with the BLAKE3 of their text: a database at version N never runs block N again,
/// so an edited block would leave old and new databases with different schemas. A block
/// appended later joins the list once it is on main.
const SHIPPED: &[(i64, &str)] = &[
    (1, "b1a791de043f31aa"),
    (2, "26474f527aed1f98"),
    (3, "3d5173b17a3b278e"),
    (4, "b2020be6d22faa9b"),
    (5, "05883d40070a4fb4"),
    (6, "43f4b42d6ad22ff7"),
    (7, "536b042031584a1d"),
];

/// ARCHITECTURE.md: "a shipped block is never edited"; blocks are numbered 1, 2, … in order.
#[test]
fn shipped_migration_blocks_are_never_edited() {
    let blocks = migration_blocks();
    for (i, (n, _)) in blocks.iter().enumerate() {
        assert_eq!(*n, i as i64 + 1, "migration blocks are numbered in order");
    }
    let hashes: Vec<(i64, String)> = blocks
        .iter()
        .map(|(n, text)| (*n, blake3::hash(text.as_bytes()).to_hex()[..16].to_string()))
        .collect();
    for (n, want) in SHIPPED {
        let got = hashes.iter().find(|(m, _)| m == n).map(|(_, h)| h.as_str());
        assert_eq!(
            got,
            Some(*want),
            "migration {n} was shipped and must not change (append a new block instead); \
             every block now: {hashes:?}"
        );
    }
}
