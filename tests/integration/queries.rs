//! The CLI's queries over history: `export warc --url/--since`, `snapshot --at`, `diff
//! --from/--to` and `db compact`. History is made "old" by rewriting `checked_at` in the database
//! instead of waiting.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use crate::cli::{count, Blog};
use crate::server::{html, Routes, Switch, TestServer};
use crate::warc::{assert_revisits_refer_to_responses, read_warc, Record};

/// Output of a command that must succeed.
fn ok_stdout(blog: &Blog, args: &[&str]) -> String {
    let out = blog.cmd().args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {:?}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Stderr of a command that must fail with exit code 1.
fn fails(blog: &Blog, args: &[&str]) -> String {
    let out = blog.cmd().args(args).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{args:?} should fail: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8(out.stderr).unwrap()
}

fn db(blog: &Blog) -> rusqlite::Connection {
    rusqlite::Connection::open(blog.db()).unwrap()
}

/// Moves the checks of `url` to the given times, oldest check first.
fn date_checks(blog: &Blog, url: &str, times: &[&str]) {
    let conn = db(blog);
    let ids: Vec<i64> = conn
        .prepare(
            "SELECT c.id FROM checks c JOIN links l ON l.id = c.link_id WHERE l.url = ?1 ORDER BY c.id",
        )
        .unwrap()
        .query_map([url], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(ids.len(), times.len(), "checks of {url}");
    for (id, t) in ids.iter().zip(times) {
        conn.execute(
            "UPDATE checks SET checked_at = ?1 WHERE id = ?2",
            rusqlite::params![t, id],
        )
        .unwrap();
    }
}

const V1: &str =
    "The first version of this page speaks of lighthouses and harbours along the northern coast.";
const V2: &str = "The second version of this page speaks of glaciers and moraines high in the western mountains.";
const V3: &str =
    "The third version of this page speaks of deserts and oases far beyond the southern plains.";

fn page(text: &str) -> String {
    format!("<html><head><title>Versions</title></head><body><article><p>{text}</p></article></body></html>")
}

/// A page archived in three versions, checked (and so archived) on 2025-01-01, 2025-02-01 and
/// 2025-03-01.
fn three_versions() -> (Blog, TestServer, String) {
    let version = Arc::new(AtomicUsize::new(0));
    let v = version.clone();
    let srv = TestServer::start(Routes::new().at("/page", move |_| {
        html(&page([V1, V2, V3][v.load(Ordering::SeqCst)]))
    }));
    let url = srv.url("/page");
    let blog = Blog::new();
    blog.config("soft_404_probe = false\n")
        .post("p.md", &format!("[versions]({url})\n"));
    for i in 0..3 {
        version.store(i, Ordering::SeqCst);
        blog.cmd().arg("run").assert().success();
    }
    date_checks(
        &blog,
        &url,
        &[
            "2025-01-01T00:00:00Z",
            "2025-02-01T00:00:00Z",
            "2025-03-01T00:00:00Z",
        ],
    );
    let snapshots = count(&db(&blog), "SELECT COUNT(*) FROM snapshots");
    assert_eq!(snapshots, 3);
    (blog, srv, url)
}

#[test]
fn snapshot_at_shows_the_snapshot_current_at_that_time() {
    let (blog, _srv, url) = three_versions();
    let at = |t: &str| ok_stdout(&blog, &["snapshot", &url, "--at", t]);
    for (t, want) in [
        ("2025-01-01T00:00:00Z", V1),
        ("2025-01-15", V1),
        ("2025-01-31T23:59:59Z", V1),
        // The boundary is inclusive: a snapshot taken at that second is current.
        ("2025-02-01T00:00:00Z", V2),
        // A bare date means the end of that day.
        ("2025-02-01", V2),
        ("2025-02-28T12:00:00+01:00", V2),
        ("2025-03-01", V3),
        ("2030-01-01", V3),
    ] {
        let text = at(t);
        assert!(text.contains(want), "--at {t}: {text}");
        for other in [V1, V2, V3].iter().filter(|v| **v != want) {
            assert!(!text.contains(other), "--at {t}: {text}");
        }
    }
    assert!(
        ok_stdout(&blog, &["snapshot", &url]).contains(V3),
        "default: the latest"
    );
    // The exact archived bytes of the snapshot current then.
    let raw = blog
        .cmd()
        .args(["snapshot", &url, "--at", "2025-01-15", "--raw"])
        .output()
        .unwrap();
    assert!(raw.status.success());
    assert_eq!(raw.stdout, page(V1).as_bytes());
    // Before the first snapshot there is none: a clear error, not the first one.
    for t in ["2024-12-31", "2024-12-31T23:59:59Z"] {
        let err = fails(&blog, &["snapshot", &url, "--at", t]);
        assert!(
            err.contains(&format!("no snapshot of {url}")) && err.contains("at or before"),
            "--at {t}: {err}"
        );
    }
    let err = fails(&blog, &["snapshot", &url, "--at", "last tuesday"]);
    assert!(
        err.contains("2026-11-22"),
        "the message shows the format: {err}"
    );
}

#[test]
fn diff_from_to_compares_the_snapshots_current_at_those_times() {
    let (blog, _srv, url) = three_versions();
    let diff = |args: &[&str]| {
        let mut all = vec!["diff", url.as_str()];
        all.extend_from_slice(args);
        ok_stdout(&blog, &all)
    };
    let words = |v: &str| v.split(' ').nth(1).unwrap().to_string(); // "first", "second", "third"
    for (args, old, new) in [
        (&["--from", "2025-01-15", "--to", "2025-02-15"][..], V1, V2),
        (&["--from", "2025-02-15", "--to", "2025-03-15"], V2, V3),
        // Backwards in time works too.
        (&["--from", "2025-03-15", "--to", "2025-01-15"], V3, V1),
        // Without --from: the baseline (the first good answer); without --to: the latest.
        (&["--to", "2025-02-15"], V1, V2),
        (&["--from", "2025-02-15"], V2, V3),
        (&[], V1, V3),
    ] {
        let out = diff(args);
        assert!(
            out.contains(&format!("[-{}", words(old))),
            "{args:?}: {out}"
        );
        assert!(
            out.contains(&format!("{{+{}", words(new))),
            "{args:?}: {out}"
        );
        let third = [V1, V2, V3]
            .into_iter()
            .find(|v| *v != old && *v != new)
            .unwrap();
        assert!(
            !out.contains(&words(third)),
            "{args:?} shows the third version: {out}"
        );
    }
    let same = diff(&["--from", "2025-02-10", "--to", "2025-02-20"]);
    assert!(same.contains("no difference"), "{same}");
    let err = fails(&blog, &["diff", &url, "--from", "2024-06-01"]);
    assert!(
        err.contains(&format!("no snapshot of {url} at or before 2024-06-01")),
        "{err}"
    );
    let err = fails(&blog, &["diff", &url, "--to", "2024-06-01"]);
    assert!(err.contains("no snapshot"), "{err}");
}

/// The records of an export with these extra arguments.
fn export(blog: &Blog, name: &str, args: &[&str]) -> Vec<Record> {
    let file = blog.path().join(name);
    let mut all = vec!["export", "warc", file.to_str().unwrap()];
    all.extend_from_slice(args);
    let out = blog.cmd().args(&all).output().unwrap();
    assert!(
        out.status.success(),
        "{all:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let records = read_warc(&file);
    assert_eq!(records[0].kind(), "warcinfo");
    assert_revisits_refer_to_responses(&records);
    records
}

/// (type, target, date) of every capture record (responses and revisits).
fn captures(records: &[Record]) -> Vec<(String, String, String)> {
    records
        .iter()
        .filter(|r| matches!(r.kind(), "response" | "revisit"))
        .map(|r| {
            (
                r.kind().to_string(),
                r.target().to_string(),
                r.get("WARC-Date").unwrap().to_string(),
            )
        })
        .collect()
}

fn cap(kind: &str, target: &str, date: &str) -> (String, String, String) {
    (kind.into(), target.into(), date.into())
}

#[test]
fn export_warc_url_and_since_write_only_those_records() {
    let changed = Switch::new();
    let srv = TestServer::start(
        Routes::new()
            .at("/a", changed.between(html(&page(V1)), html(&page(V2))))
            .at("/b", |_| html(&page(V3))),
    );
    let (a, b) = (srv.url("/a"), srv.url("/b"));
    let blog = Blog::new();
    blog.config("soft_404_probe = false\n")
        .post("p.md", &format!("[a]({a})\n[b]({b})\n"));
    blog.cmd().arg("run").assert().success();
    changed.on();
    blog.cmd().arg("run").assert().success();
    date_checks(&blog, &a, &["2025-01-01T00:00:00Z", "2025-03-01T00:00:00Z"]);
    date_checks(&blog, &b, &["2025-01-02T00:00:00Z", "2025-03-02T00:00:00Z"]);

    let all = captures(&export(&blog, "all.warc.gz", &[]));
    assert_eq!(
        all,
        [
            cap("response", &a, "2025-01-01T00:00:00Z"),
            cap("response", &b, "2025-01-02T00:00:00Z"),
            cap("response", &a, "2025-03-01T00:00:00Z"),
            cap("revisit", &b, "2025-03-02T00:00:00Z"),
        ]
    );

    // --url: that link's records only, the request records included.
    let only_a = export(&blog, "a.warc.gz", &["--url", &a]);
    assert!(only_a[1..].iter().all(|r| r.target() == a), "{only_a:?}");
    assert_eq!(
        captures(&only_a),
        [
            cap("response", &a, "2025-01-01T00:00:00Z"),
            cap("response", &a, "2025-03-01T00:00:00Z"),
        ]
    );
    assert_eq!(only_a.iter().filter(|r| r.kind() == "request").count(), 2);

    // --since: checks at or after that time; b's body, first archived before it, is written in
    // full rather than as a revisit of a record the file does not have.
    let since = export(&blog, "since.warc.gz", &["--since", "2025-02-01"]);
    assert_eq!(
        captures(&since),
        [
            cap("response", &a, "2025-03-01T00:00:00Z"),
            cap("response", &b, "2025-03-02T00:00:00Z"),
        ]
    );
    let inclusive = export(
        &blog,
        "inclusive.warc.gz",
        &["--since", "2025-03-02T00:00:00Z"],
    );
    assert_eq!(
        captures(&inclusive),
        [cap("response", &b, "2025-03-02T00:00:00Z")]
    );

    // Both at once.
    let both = export(
        &blog,
        "both.warc.gz",
        &["--url", &a, "--since", "2025-02-01"],
    );
    assert_eq!(
        captures(&both),
        [cap("response", &a, "2025-03-01T00:00:00Z")]
    );
    assert_eq!(
        both.iter().map(Record::kind).collect::<Vec<_>>(),
        ["warcinfo", "response", "request"]
    );
    let nothing = export(&blog, "none.warc.gz", &["--since", "2026-01-01T00:00:00Z"]);
    assert_eq!(nothing.len(), 1, "only the warcinfo record: {nothing:?}");
    let err = fails(
        &blog,
        &[
            "export",
            "warc",
            "x.warc.gz",
            "--url",
            "http://not.cited.invalid/",
        ],
    );
    assert!(err.contains("no cited link"), "{err}");
}

fn file_size(db: &Path) -> u64 {
    let wal = db.with_extension("db-wal");
    std::fs::metadata(db).map(|m| m.len()).unwrap_or(0)
        + std::fs::metadata(wal).map(|m| m.len()).unwrap_or(0)
}

#[test]
fn db_compact_thins_old_repeats_keeps_transitions_and_gives_space_back() {
    let srv = TestServer::start(Routes::new().at("/page", |_| html(&page(V1))));
    let url = srv.url("/page");
    let blog = Blog::new();
    blog.config("soft_404_probe = false\n")
        .post("p.md", &format!("[page]({url})\n"));
    blog.cmd().arg("run").assert().success();
    // Two years of daily checks in 2020-2021: ok, then broken for 200 days, then ok again; each
    // with a redirect chain, so the rows take room.
    let conn = db(&blog);
    let hops = format!(
        "[{}]",
        vec![format!(r#"{{"url":"{url}","status":301,"location":"{url}"}}"#); 4].join(",")
    );
    conn.execute(
        "WITH RECURSIVE day(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM day WHERE n < 729)
         INSERT INTO checks (link_id, checked_at, state, http_status, redirects, error, elapsed_ms, attempts)
         SELECT (SELECT id FROM links WHERE url = ?1),
                strftime('%Y-%m-%dT%H:%M:%SZ', '2020-01-01', '+' || n || ' days'),
                CASE WHEN n BETWEEN 300 AND 499 THEN 'broken' ELSE 'ok' END,
                CASE WHEN n BETWEEN 300 AND 499 THEN 404 ELSE 200 END,
                ?2,
                CASE WHEN n BETWEEN 300 AND 499 THEN 'HTTP 404' END,
                7, 1
         FROM day",
        rusqlite::params![url, hops],
    )
    .unwrap();
    // Row ids grow with time in a real database: today's check is the newest row.
    conn.execute(
        "UPDATE checks SET id = (SELECT MAX(id) + 1 FROM checks) WHERE checked_at > '2025'",
        [],
    )
    .unwrap();
    drop(conn);
    let history = |blog: &Blog| -> Vec<(String, String)> {
        let h = blog.json(&["history", &url, "--format", "json"]);
        h.as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["checked_at"].as_str().unwrap().to_string(),
                    c["state"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    assert_eq!(history(&blog).len(), 731);
    let before = file_size(&blog.db());

    let out = ok_stdout(&blog, &["db", "compact"]);
    let after = file_size(&blog.db());
    // Kept: the first check of the old stretch, each transition, and today's check (younger
    // than `thin_checks_after`, and the latest); gone: the 727 old repeats.
    let kept = history(&blog);
    let states: Vec<&str> = kept.iter().map(|(_, s)| s.as_str()).collect();
    assert_eq!(states, ["ok", "broken", "ok", "ok"], "{kept:?}");
    assert_eq!(kept[0].0, "2020-01-01T00:00:00Z");
    assert_eq!(kept[1].0, "2020-10-27T00:00:00Z", "the day it broke");
    assert_eq!(kept[2].0, "2021-05-15T00:00:00Z", "the day it came back");
    assert!(kept[3].0.as_str() > "2025", "today's check: {kept:?}");
    assert!(
        out.contains("deleted 727 repeated checks"),
        "the count of thinned checks: {out}"
    );
    // The space is given back: the file shrinks, and by most of what the rows took.
    assert!(
        after * 2 < before,
        "database {before} → {after} bytes after compact: {out}"
    );
    // A second compact finds nothing more to thin.
    let again = ok_stdout(&blog, &["db", "compact"]);
    assert!(again.contains("deleted 0 repeated checks"), "{again}");
    assert_eq!(history(&blog), kept);
}

/// README ("How it decides", `thin_checks_after`): thinning keeps each link's latest check even
/// when it is older than the cutoff: a link not checked for years keeps its last verdict.
#[test]
fn db_compact_keeps_a_links_latest_check_when_it_is_older_than_the_cutoff() {
    let blog = Blog::new();
    let url = "https://quiet.example.org/page";
    blog.config("").post("p.md", &format!("[quiet]({url})\n"));
    blog.cmd().arg("scan").assert().success();
    // Ten daily `ok` checks in 2020 and none since: every one is older than the cutoff.
    let conn = db(&blog);
    conn.execute(
        "WITH RECURSIVE day(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM day WHERE n < 9)
         INSERT INTO checks (link_id, checked_at, state, http_status, elapsed_ms, attempts)
         SELECT (SELECT id FROM links WHERE url = ?1),
                strftime('%Y-%m-%dT%H:%M:%SZ', '2020-01-01', '+' || n || ' days'), 'ok', 200, 7, 1
         FROM day",
        [url],
    )
    .unwrap();
    drop(conn);
    let out = ok_stdout(&blog, &["db", "compact"]);
    assert!(out.contains("deleted 8 repeated checks"), "{out}");
    let h = blog.json(&["history", url, "--format", "json"]);
    let kept: Vec<&str> = h
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["checked_at"].as_str().unwrap())
        .collect();
    assert_eq!(
        kept,
        ["2020-01-01T00:00:00Z", "2020-01-10T00:00:00Z"],
        "the first check and the latest one"
    );
}
