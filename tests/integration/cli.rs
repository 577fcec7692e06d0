//! The real binary against loopback servers: every state, the JSON contract, exit codes, bad
//! input, and a kill -9 in the middle of a run.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use assert_cmd::Command;
use serde_json::Value;

use crate::server::{article, html, redirect, status, with_headers, Reply, Routes, TestServer};

/// A blog folder, a config and a database in a temp dir.
pub struct Blog {
    pub dir: tempfile::TempDir,
}

impl Blog {
    pub fn new() -> Blog {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("posts")).unwrap();
        Blog { dir }
    }

    pub fn post(&self, name: &str, text: &str) -> &Self {
        let p = self.dir.path().join("posts").join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
        self
    }

    pub fn post_bytes(&self, name: &str, bytes: &[u8]) -> &Self {
        std::fs::write(self.dir.path().join("posts").join(name), bytes).unwrap();
        self
    }

    pub fn config(&self, extra: &str) -> &Self {
        let text = format!(
            "db = \"citewatch.db\"\n[[source]]\npath = \"posts\"\n[check]\nallow_private = true\ntimeout = \"3s\"\nretries = 1\nper_host_interval = \"0s\"\n{extra}\n{}",
            // No test may reach the real Wayback Machine.
            if extra.contains("[archive]") { "" } else { "[archive]\nwayback = false\n" }
        );
        std::fs::write(self.dir.path().join("citewatch.toml"), text).unwrap();
        self
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn db(&self) -> PathBuf {
        self.dir.path().join("citewatch.db")
    }

    pub fn cmd(&self) -> Command {
        let mut c = Command::cargo_bin("citewatch").unwrap();
        c.current_dir(self.dir.path())
            .env_remove("RUST_LOG")
            .timeout(Duration::from_secs(60));
        c
    }

    /// The binary started in the background with `args` (a `run` to kill, the daemon), its
    /// standard error written to `NAME.log` in the blog folder (`NAME` = the first argument),
    /// extra environment variables set.
    pub fn spawn(&self, args: &[&str], env: &[(&str, &str)]) -> std::process::Child {
        let name = args.first().copied().unwrap_or("citewatch");
        let mut c = std::process::Command::new(assert_cmd::cargo::cargo_bin("citewatch"));
        c.current_dir(self.path())
            .args(args)
            .env("RUST_LOG", "info")
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(self.path().join(format!("{name}.log"))).unwrap());
        for (k, v) in env {
            c.env(k, v);
        }
        c.spawn().unwrap()
    }

    /// What a spawned `NAME` wrote to standard error so far.
    pub fn log_of(&self, name: &str) -> String {
        std::fs::read_to_string(self.path().join(format!("{name}.log"))).unwrap_or_default()
    }

    /// Rows counted by a `SELECT COUNT(*)` on the blog's database; 0 while there is none.
    pub fn count(&self, sql: &str) -> i64 {
        rusqlite::Connection::open(self.db())
            .and_then(|c| c.query_row(sql, [], |r| r.get::<_, i64>(0)))
            .unwrap_or(0)
    }

    pub fn json(&self, args: &[&str]) -> Value {
        let out = self.cmd().args(args).output().unwrap();
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "{args:?}: {e}: {}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
        })
    }

    pub fn status(&self) -> Vec<Value> {
        self.json(&["status", "--format", "json"])
            .as_array()
            .unwrap()
            .clone()
    }
}

pub fn find<'a>(links: &'a [Value], url: &str) -> &'a Value {
    links.iter().find(|l| l["url"] == url).unwrap_or_else(|| {
        panic!(
            "no {url} in {}",
            serde_json::to_string_pretty(links).unwrap()
        )
    })
}

/// The one number a `SELECT COUNT(*) ...` query returns.
pub fn count(conn: &rusqlite::Connection, sql: &str) -> i64 {
    conn.query_row(sql, [], |r| r.get(0))
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

fn state_of(links: &[Value], url: &str) -> String {
    find(links, url)["state"].as_str().unwrap().to_string()
}

#[test]
fn every_state_once() {
    let changed = Arc::new(AtomicBool::new(false));
    let c2 = changed.clone();
    let srv = TestServer::start(
        Routes::new()
            .at("/ok", |_| html(&article("Fine", 1)))
            .at("/moved", |_| redirect(301, "/ok"))
            .at("/drifting", move |_| {
                if c2.load(Ordering::SeqCst) {
                    html("<html><title>Domain for sale</title><body><p>This domain may be for sale. Buy it now.</p></body></html>")
                } else {
                    html(&article("Original", 2))
                }
            })
            .at("/deep/article", |_| redirect(302, "/"))
            .at("/", |_| html(&article("Front page", 3)))
            .at("/gone", |_| status(404))
            .at("/forbidden", |_| status(403))
            .at("/down", |_| status(500)),
    );
    let blog = Blog::new();
    blog.config("").post(
        "post.md",
        &format!(
            "---\ntitle: All states\n---\n[ok]({})\n[moved]({})\n[drift]({})\n[soft]({})\n[gone]({})\n[forbidden]({})\n[down]({})\n[mail](mailto:a@example.org)\n[relative](other/page.html)\n",
            srv.url("/ok"),
            srv.url("/moved"),
            srv.url("/drifting"),
            srv.url("/deep/article"),
            srv.url("/gone"),
            srv.url("/forbidden"),
            srv.url("/down"),
        ),
    );
    // Scan only: everything fetchable is unchecked.
    blog.cmd().arg("scan").assert().success();
    let links = blog.status();
    assert_eq!(state_of(&links, &srv.url("/ok")), "unchecked");

    blog.cmd().arg("run").assert().code(2);
    let links = blog.status();
    for (path, want) in [
        ("/ok", "ok"),
        ("/moved", "redirected"),
        ("/drifting", "ok"),
        ("/deep/article", "soft_404"),
        ("/gone", "broken"),
        ("/forbidden", "blocked"),
        ("/down", "error"),
    ] {
        assert_eq!(state_of(&links, &srv.url(path)), want, "{path}");
    }
    assert_eq!(state_of(&links, "mailto:a@example.org"), "skipped");
    assert_eq!(state_of(&links, "other/page.html"), "skipped");
    assert!(find(&links, "other/page.html")["error"]
        .as_str()
        .unwrap()
        .contains("base_url"));
    let moved = find(&links, &srv.url("/moved"));
    assert_eq!(moved["final_url"], srv.url("/ok"));
    assert_eq!(moved["http_status"], 200);
    let gone = find(&links, &srv.url("/gone"));
    assert_eq!(gone["http_status"], 404);
    assert_eq!(gone["citations"][0]["post"], "post.md");
    assert_eq!(gone["citations"][0]["line"], 8);
    assert_eq!(gone["citations"][0]["text"], "gone");

    // The page is replaced: the second check finds it changed from its baseline.
    changed.store(true, Ordering::SeqCst);
    blog.cmd()
        .args(["check", &srv.url("/drifting")])
        .assert()
        .code(2);
    let links = blog.status();
    assert_eq!(state_of(&links, &srv.url("/drifting")), "changed");
    let history = blog.json(&["history", &srv.url("/drifting"), "--format", "json"]);
    let h = history.as_array().unwrap();
    assert_eq!(h.len(), 2);
    assert_eq!(h[0]["state"], "ok");
    assert_eq!(h[1]["state"], "changed");
    assert!(h[1]["similarity"].as_f64().unwrap() < 0.5);
    for k in [
        "checked_at",
        "state",
        "http_status",
        "final_url",
        "error",
        "elapsed_ms",
        "snapshot",
    ] {
        assert!(h[0].get(k).is_some(), "history lacks {k}");
    }
    assert_ne!(h[0]["snapshot"], h[1]["snapshot"]);
}

#[test]
fn json_contract_and_filters() {
    let srv = TestServer::start(
        Routes::new()
            .at("/a", |_| html("<p>a</p>"))
            .at("/missing", |_| status(404)),
    );
    let blog = Blog::new();
    blog.config("")
        .post("one.md", &format!("[A]({})\n", srv.url("/a")))
        .post(
            "two.md",
            &format!("again <{}>\n[x]({})\n", srv.url("/a"), srv.url("/missing")),
        );
    blog.cmd().arg("run").assert().code(2);
    let links = blog.status();
    let a = find(&links, &srv.url("/a"));
    for k in [
        "url",
        "state",
        "since",
        "checked_at",
        "http_status",
        "final_url",
        "error",
        "citations",
    ] {
        assert!(a.get(k).is_some(), "status lacks {k}");
    }
    assert!(chrono::DateTime::parse_from_rfc3339(a["since"].as_str().unwrap()).is_ok());
    assert!(chrono::DateTime::parse_from_rfc3339(a["checked_at"].as_str().unwrap()).is_ok());
    assert_eq!(a["citations"].as_array().unwrap().len(), 2);
    let broken = blog.json(&["status", "--state", "broken", "--format", "json"]);
    assert_eq!(broken.as_array().unwrap().len(), 1);
    assert_eq!(broken[0]["url"], srv.url("/missing"));
    let by_post = blog.json(&["status", "--post", "one.md", "--format", "json"]);
    assert_eq!(by_post.as_array().unwrap().len(), 1);
    let csv = blog
        .cmd()
        .args(["status", "--format", "csv"])
        .output()
        .unwrap();
    let csv = String::from_utf8(csv.stdout).unwrap();
    assert!(csv.starts_with("url,state,"));
    assert!(csv.contains("two.md"));
    // `status` exits 2 while something is broken.
    blog.cmd().args(["status"]).assert().code(2);
    blog.cmd()
        .args(["status", "--state", "bogus"])
        .assert()
        .code(1)
        .stderr(predicates::str::contains("unknown state"));
}

#[test]
fn exit_zero_when_all_is_fine_and_summary_groups_by_post() {
    let srv = TestServer::start(
        Routes::new()
            .at("/a", |_| html("<p>a</p>"))
            .at("/b", |_| status(404)),
    );
    let blog = Blog::new();
    blog.config("")
        .post("fine.md", &format!("[A]({})\n", srv.url("/a")));
    blog.cmd()
        .arg("run")
        .assert()
        .success()
        .stdout(predicates::str::contains("1 links: 1 ok"));
    blog.post("bad.md", &format!("intro\n\n[B]({})\n", srv.url("/b")));
    let out = blog
        .cmd()
        .arg("run")
        .assert()
        .code(2)
        .get_output()
        .stdout
        .clone();
    let out = String::from_utf8(out).unwrap();
    assert!(out.contains("bad.md\n"), "{out}");
    assert!(out.contains("3  broken"), "{out}");
}

#[test]
fn bare_run_path_works_without_config() {
    let srv = TestServer::start(Routes::new().at("/a", |_| html("<p>a</p>")));
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("p")).unwrap();
    std::fs::write(dir.path().join("p/x.md"), format!("<{}>\n", srv.url("/a"))).unwrap();
    // No config: private addresses are refused, so the loopback link is skipped, never fetched.
    Command::cargo_bin("citewatch")
        .unwrap()
        .current_dir(dir.path())
        .args(["run", "p"])
        .assert()
        .success();
    assert!(dir.path().join("citewatch.db").exists());
    assert_eq!(srv.hits("/a"), 0);
    let out = Command::cargo_bin("citewatch")
        .unwrap()
        .current_dir(dir.path())
        .args(["status", "--format", "json"])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v[0]["state"], "skipped");
    assert!(v[0]["error"].as_str().unwrap().contains("allow_private"));
}

#[test]
fn bad_posts_are_reported_and_the_rest_is_read() {
    let srv = TestServer::start(
        Routes::new()
            .at("/a", |_| html("<p>a</p>"))
            .at("/b", |_| html("<p>b</p>"))
            .at("/front", |_| status(404)),
    );
    let blog = Blog::new();
    blog.config("")
        .post("good.md", &format!("[A]({})\n", srv.url("/a")))
        .post_bytes(
            "lossy.md",
            format!("caf\u{e9} \u{1F600}\n[B]({}) \u{0}", srv.url("/b"))
                .replace('\u{0}', "")
                .as_bytes(),
        )
        .post_bytes("junk.md", b"\x00\x01\x02\x03binary\x00junk")
        .post(
            "broken-front.md",
            &format!("---\ntitle: [unclosed\n---\n<{}>\n", srv.url("/front")),
        );
    // Invalid UTF-8: written by hand.
    std::fs::write(
        blog.path().join("posts/latin1.md"),
        [b"Gr\xfc\xdfe ".as_slice(), srv.url("/b").as_bytes(), b"\n"].concat(),
    )
    .unwrap();
    let out = blog.cmd().arg("run").output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("junk.md") && err.contains("binary"), "{err}");
    assert!(err.contains("latin1.md") && err.contains("UTF-8"), "{err}");
    assert!(
        err.contains("broken-front.md") && err.contains("front matter"),
        "{err}"
    );
    let links = blog.status();
    assert_eq!(state_of(&links, &srv.url("/a")), "ok");
    assert_eq!(state_of(&links, &srv.url("/b")), "ok");
    let b = find(&links, &srv.url("/b"));
    assert!(b["citations"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["post"] == "latin1.md"));
    assert_eq!(state_of(&links, &srv.url("/front")), "broken");
}

#[test]
fn a_scan_of_many_posts_keeps_every_citation_in_order_and_reports_bad_ones() {
    // More posts than one batch, so reading runs on several threads and writing overlaps it.
    let blog = Blog::new();
    blog.config("");
    for i in 0..150 {
        blog.post(
            &format!("p{i:03}.md"),
            &format!("# Post {i}\n\n[its own](https://s{i}.invalid/page)\n\nand [a shared one](https://shared.invalid/)\n"),
        );
    }
    blog.post_bytes("p070.md", b"\x00\x01binary\x00junk");
    let out = blog.cmd().arg("scan").output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("p070.md") && err.contains("binary"), "{err}");
    assert!(
        err.contains("(149 read, 0 unchanged, 1 skipped, 0 removed): 298 citations"),
        "{err}"
    );
    let links = blog.status();
    assert_eq!(links.len(), 150, "149 own links and the shared one");
    for i in [0, 69, 71, 149] {
        let c = &find(&links, &format!("https://s{i}.invalid/page"))["citations"][0];
        assert_eq!(c["post"], format!("p{i:03}.md"));
        assert_eq!(c["line"], 3);
        assert_eq!(c["text"], "its own");
    }
    let shared = find(&links, "https://shared.invalid/")["citations"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(shared, 149);
    // Links are numbered in the order posts cite them first, whatever thread read them.
    let conn = rusqlite::Connection::open(blog.db()).unwrap();
    let first: Vec<String> = conn
        .prepare("SELECT url FROM links ORDER BY id LIMIT 3")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        first,
        [
            "https://s0.invalid/page",
            "https://shared.invalid/",
            "https://s1.invalid/page"
        ]
    );
    // New mtimes, same bytes: nothing is re-extracted, and the new stamps are recorded so the
    // next scan does not even read the files.
    let later = std::time::SystemTime::UNIX_EPOCH + Duration::from_secs(2_000_000_000);
    for i in (0..150).filter(|i| *i != 70) {
        let f = std::fs::File::options()
            .write(true)
            .open(blog.path().join(format!("posts/p{i:03}.md")))
            .unwrap();
        f.set_modified(later).unwrap();
    }
    for _ in 0..2 {
        blog.cmd()
            .arg("scan")
            .assert()
            .success()
            .stderr(predicates::str::contains(
                "(0 read, 149 unchanged, 1 skipped",
            ));
    }
    let stamped = count(
        &conn,
        "SELECT COUNT(*) FROM posts WHERE mtime_ns = 2000000000000000000",
    );
    assert_eq!(stamped, 149);
}

#[test]
fn a_bad_file_does_not_make_every_scan_read_everything_and_refs_follow_new_posts() {
    let blog = Blog::new();
    blog.config("")
        .post("a.md", "[later]({{< ref \"b\" >}})\n")
        .post("c.md", "<https://c.invalid/>\n")
        .post_bytes("junk.md", b"\x00\x01binary\x00junk");
    blog.cmd()
        .arg("scan")
        .assert()
        .success()
        .stderr(predicates::str::contains("(2 read, 0 unchanged, 1 skipped"));
    assert_eq!(state_of(&blog.status(), "post:b"), "broken");
    // The unreadable file is still there: nothing else is read again.
    blog.cmd()
        .arg("scan")
        .assert()
        .success()
        .stderr(predicates::str::contains("(0 read, 2 unchanged, 1 skipped"));
    // A new post: it is read, and so is the post that references posts; the other is not.
    blog.post("b.md", "no links\n");
    blog.cmd()
        .arg("scan")
        .assert()
        .success()
        .stderr(predicates::str::contains("(2 read, 1 unchanged, 1 skipped"));
    let links = blog.status();
    assert_eq!(state_of(&links, "post:b.md"), "ok");
    assert!(!links.iter().any(|l| l["url"] == "post:b"), "{links:?}");
}

#[test]
fn extraction_cases_through_the_binary() {
    let blog = Blog::new();
    blog.config("[[source]]\npath = \"site\"\nbase_url = \"https://blog.example.invalid/\"\n");
    std::fs::create_dir_all(blog.path().join("site/posts/2024-01-02-bundle")).unwrap();
    std::fs::write(
        blog.path().join("site/posts/2024-01-02-bundle/index.md"),
        "---\ntitle: Bundle\n---\n![pic](photo.png)\n[site](/about/)\n[ref]({{< relref \"other\" >}})\n[missing]({{< relref \"nope\" >}})\n`[code](https://code.invalid/)`\n[proto](//cdn.invalid/x.js)\n",
    )
    .unwrap();
    std::fs::write(blog.path().join("site/posts/other.md"), "no links\n").unwrap();
    blog.cmd().arg("scan").assert().success();
    let v = blog.json(&["status", "--format", "json"]);
    let urls: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["url"].as_str().unwrap())
        .collect();
    assert!(
        urls.contains(&"https://blog.example.invalid/posts/bundle/photo.png"),
        "{urls:?}"
    );
    assert!(
        urls.contains(&"https://blog.example.invalid/about/"),
        "{urls:?}"
    );
    assert!(urls.contains(&"https://cdn.invalid/x.js"), "{urls:?}");
    assert!(!urls.iter().any(|u| u.contains("code.invalid")), "{urls:?}");
    let links = v.as_array().unwrap();
    assert_eq!(state_of(links, "post:posts/other.md"), "ok");
    assert_eq!(state_of(links, "post:nope"), "broken");
    let missing = find(links, "post:nope");
    assert_eq!(missing["citations"][0]["line"], 7);
}

#[test]
fn config_errors_name_file_and_key() {
    let blog = Blog::new();
    std::fs::write(
        blog.path().join("citewatch.toml"),
        "[check]\ntimeout = \"soon\"\n",
    )
    .unwrap();
    blog.cmd()
        .arg("scan")
        .assert()
        .code(1)
        .stderr(predicates::str::contains("citewatch.toml"))
        .stderr(predicates::str::contains("check.timeout"));
    std::fs::write(blog.path().join("citewatch.toml"), "[check]\nbogus = 1\n").unwrap();
    blog.cmd()
        .arg("scan")
        .assert()
        .code(1)
        .stderr(predicates::str::contains("bogus"));
    blog.cmd()
        .args(["--config", "nope.toml", "scan"])
        .assert()
        .code(1)
        .stderr(predicates::str::contains("nope.toml"));
    // A missing source folder, and a query without a database.
    let empty = tempfile::tempdir().unwrap();
    Command::cargo_bin("citewatch")
        .unwrap()
        .current_dir(empty.path())
        .args(["run", "no-such-folder"])
        .assert()
        .code(1)
        .stderr(predicates::str::contains("no-such-folder"));
    Command::cargo_bin("citewatch")
        .unwrap()
        .current_dir(empty.path())
        .args(["status"])
        .assert()
        .code(1)
        .stderr(predicates::str::contains("does not exist"));
    Command::cargo_bin("citewatch")
        .unwrap()
        .current_dir(empty.path())
        .args(["history", "https://x.invalid/"])
        .assert()
        .code(1);
}

#[test]
fn show_snapshot_and_raw_bytes() {
    let body = "<html><head><title>Snap</title></head><body><article><p>Archived words here.</p></article></body></html>";
    let srv = TestServer::start(
        Routes::new()
            .at("/s", move |_| html(body))
            .at("/r", |_| redirect(301, "/s")),
    );
    let blog = Blog::new();
    blog.config("").post(
        "p.md",
        &format!("[s]({})\n[r]({})\n", srv.url("/s"), srv.url("/r")),
    );
    blog.cmd().arg("run").assert().success();
    let raw = blog
        .cmd()
        .args(["snapshot", &srv.url("/s"), "--raw"])
        .output()
        .unwrap();
    assert_eq!(raw.stdout, body.as_bytes());
    let text = blog
        .cmd()
        .args(["snapshot", &srv.url("/s")])
        .output()
        .unwrap();
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(
        text.contains("# Snap") && text.contains("Archived words here."),
        "{text}"
    );
    let show = blog.cmd().args(["show", &srv.url("/r")]).output().unwrap();
    let show = String::from_utf8(show.stdout).unwrap();
    assert!(show.contains("redirected"), "{show}");
    assert!(show.contains("301"), "{show}");
    assert!(show.contains("p.md:2"), "{show}");
    assert!(show.contains("(baseline)"), "{show}");
    // The same body seen twice is stored once.
    blog.cmd().args(["check", "--all"]).assert().success();
    let conn = rusqlite::Connection::open(blog.db()).unwrap();
    let snaps = count(&conn, "SELECT COUNT(*) FROM snapshots");
    let checks = count(&conn, "SELECT COUNT(*) FROM checks");
    assert_eq!(snaps, 1);
    assert_eq!(checks, 4);
}

#[test]
fn unchanged_posts_are_not_read_again() {
    let blog = Blog::new();
    blog.config("").post("a.md", "<https://a.invalid/>\n");
    blog.cmd()
        .arg("scan")
        .assert()
        .success()
        .stderr(predicates::str::contains("1 read, 0 unchanged"));
    blog.cmd()
        .arg("scan")
        .assert()
        .success()
        .stderr(predicates::str::contains("0 read, 1 unchanged"));
    blog.post("a.md", "<https://b.invalid/>\n");
    // Same size and maybe same mtime second: the hash decides when the stamp is ambiguous.
    let out = blog.cmd().arg("scan").output().unwrap();
    let _ = out;
    let v = blog.json(&["status", "--format", "json"]);
    let urls: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["url"].as_str().unwrap())
        .collect();
    assert_eq!(urls, ["https://b.invalid/"]);
    // A removed post's citations stop counting; its history stays in the database.
    std::fs::remove_file(blog.path().join("posts/a.md")).unwrap();
    blog.cmd().arg("scan").assert().success();
    assert!(blog.status().is_empty());
}

#[test]
fn kill_9_mid_run_then_rerun_finishes() {
    let srv = TestServer::start((0..60).fold(Routes::new(), |r, i| {
        r.at(&format!("/p{i}"), move |_| {
            Reply::Delayed(
                Duration::from_millis(150),
                Box::new(html(&article("slow", i))),
            )
        })
    }));
    let blog = Blog::new();
    blog.config("concurrency = 4\nper_host_concurrency = 4\n");
    let links: String = (0..60)
        .map(|i| format!("[p{i}]({})\n", srv.url(&format!("/p{i}"))))
        .collect();
    blog.post("many.md", &links);
    let mut child = blog.spawn(&["run"], &[]);
    // Wait until some checks are recorded, then kill -9: the kill lands mid-run (asserted below).
    let done = || blog.count("SELECT COUNT(*) FROM checks");
    crate::support::wait_for("some checks recorded", Duration::from_secs(60), || {
        done() >= 5
    });
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let conn = rusqlite::Connection::open(blog.db()).unwrap();
    let ok: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(ok, "ok");
    let checked = count(&conn, "SELECT COUNT(*) FROM checks");
    assert!(
        (5..60).contains(&checked),
        "the kill landed mid-run ({checked} of 60 checks recorded)"
    );
    assert_eq!(
        count(
            &conn,
            "SELECT COUNT(*) FROM cycles WHERE finished_at IS NULL"
        ),
        1,
        "the run's cycle was cut short"
    );
    // Every recorded check has its link state written with it.
    let orphans = count(
        &conn,
        "SELECT COUNT(*) FROM links l WHERE EXISTS (SELECT 1 FROM checks c WHERE c.link_id = l.id) AND l.checked_at IS NULL",
    );
    assert_eq!(orphans, 0);
    drop(conn);
    blog.cmd().arg("run").assert().success();
    let links = blog.status();
    assert_eq!(links.len(), 60);
    assert!(links.iter().all(|l| l["state"] == "ok"), "{links:?}");
    let conn = rusqlite::Connection::open(blog.db()).unwrap();
    assert_eq!(
        count(
            &conn,
            "SELECT COUNT(*) FROM cycles WHERE finished_at IS NULL"
        ),
        0,
        "the next run finished the cycle the kill cut short"
    );
}

#[test]
fn readers_are_not_locked_out_during_a_run() {
    let srv = TestServer::start((0..20).fold(Routes::new(), |r, i| {
        r.at(&format!("/p{i}"), move |_| {
            Reply::Delayed(Duration::from_millis(100), Box::new(html("<p>x</p>")))
        })
    }));
    let blog = Blog::new();
    blog.config("concurrency = 2\n");
    let links: String = (0..20)
        .map(|i| format!("<{}>\n", srv.url(&format!("/p{i}"))))
        .collect();
    blog.post("many.md", &links);
    blog.cmd().arg("scan").assert().success();
    let mut child = blog.spawn(&["run"], &[]);
    let checked = || blog.count("SELECT COUNT(*) FROM checks");
    // Read while the run writes: from its first recorded check until it is done.
    crate::support::wait_for("the run's first checks", Duration::from_secs(60), || {
        checked() >= 1
    });
    // Reads that began after the run's first check and ended before its last one: they met the
    // run's writes.
    let (mut during, mut reads) = (0, 0);
    while checked() < 20 && reads < 50 {
        let started = std::time::Instant::now();
        let out = blog
            .cmd()
            .args(["status", "--format", "json"])
            .output()
            .unwrap();
        let took = started.elapsed();
        assert!(
            out.status.code() == Some(0) || out.status.code() == Some(2),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        // The store's busy timeout is 30 s: a reader that waited for the writer's lock would
        // still succeed, but take seconds.
        assert!(
            took < Duration::from_secs(5),
            "a read took {took:?} during the run: it waited for the writer"
        );
        reads += 1;
        if checked() < 20 {
            during += 1;
        }
    }
    assert!(during >= 1, "no read happened while the run wrote");
    assert!(child.wait().unwrap().success());
}

#[test]
fn excluded_links_are_skipped() {
    let srv = TestServer::start(Routes::new().at("/x", |_| html("x")));
    let blog = Blog::new();
    blog.config("exclude = [\"/x$\"]\n")
        .post("a.md", &format!("<{}>\n", srv.url("/x")));
    blog.cmd().arg("run").assert().success();
    let links = blog.status();
    assert_eq!(state_of(&links, &srv.url("/x")), "skipped");
    assert_eq!(srv.hits("/x"), 0);
    let _ = with_headers(200, &[], "");
}

/// The Wayback Machine is asked for a copy near the citing post's date (`timestamp`), once per
/// dead link; a link with no copy is asked again only after a week; a copy found appears in
/// `status`, `show` and the alert.
#[test]
fn archived_copies_of_dead_links_come_from_the_wayback_endpoint() {
    let srv = TestServer::start(
        Routes::new()
            .at("/dead", |_| status(404))
            .at("/dead-nocopy", |_| status(404))
            .at("/fine", |_| html("<p>fine</p>"))
            .at("/wayback/available", move |req| {
                let copy = req.query_param("url").is_some_and(|u| u.ends_with("/dead"));
                with_headers(
                    200,
                    &[("content-type", "application/json")],
                    if copy {
                        r#"{"archived_snapshots":{"closest":{"status":"200","available":true,"url":"http://web.archive.org/web/20190325000000/http://example.org/dead","timestamp":"20190325000000"}}}"#
                    } else {
                        r#"{"archived_snapshots":{}}"#
                    },
                )
            }),
    );
    let hook_got = Arc::new(std::sync::Mutex::new(Vec::<Value>::new()));
    let h2 = hook_got.clone();
    let hook = TestServer::start(Routes::new().at("/hook", move |req| {
        if let Ok(v) = serde_json::from_slice::<Value>(&req.body) {
            h2.lock().unwrap().push(v);
        }
        with_headers(200, &[], "ok")
    }));
    let blog = Blog::new();
    blog.config(&format!(
        "[alerts]\nconfirm_checks = 2\nconfirm_period = \"0s\"\nlog = false\n[[alerts.webhook]]\nurl = \"{}\"\n[archive]\nwayback_endpoint = \"{}\"\nrequest_interval = \"10ms\"\n",
        hook.url("/hook"),
        srv.url("/wayback/available")
    ))
    .post(
        "p.md",
        &format!(
            "---\ndate: 2019-03-25\n---\n[dead]({})\n[fine]({})\n[no copy]({})\n",
            srv.url("/dead"),
            srv.url("/fine"),
            srv.url("/dead-nocopy")
        ),
    );
    blog.cmd().arg("run").assert().code(2);
    let links = blog.status();
    assert_eq!(
        find(&links, &srv.url("/dead"))["archived_url"],
        "https://web.archive.org/web/20190325000000/http://example.org/dead"
    );
    assert_eq!(find(&links, &srv.url("/fine"))["archived_url"], Value::Null);
    let asked = srv.requests("/wayback/available");
    assert_eq!(asked.len(), 2, "only the dead links are looked up");
    for r in &asked {
        assert_eq!(
            r.query_param("timestamp").as_deref(),
            Some("20190325"),
            "near the date the post cited it"
        );
    }
    let mut urls: Vec<String> = asked.iter().filter_map(|r| r.query_param("url")).collect();
    urls.sort();
    assert_eq!(urls, [srv.url("/dead"), srv.url("/dead-nocopy")]);
    // Cached: the next run asks nobody; a week after "no copy" that link is asked again.
    blog.cmd().arg("run").assert().code(2);
    assert_eq!(srv.requests("/wayback/available").len(), 2);
    let conn = rusqlite::Connection::open(blog.db()).unwrap();
    conn.execute(
        "UPDATE wayback SET looked_up_at = '2020-01-01T00:00:00Z'",
        [],
    )
    .unwrap();
    blog.cmd().arg("run").assert().code(2);
    let again: Vec<String> = srv
        .requests("/wayback/available")
        .iter()
        .skip(2)
        .filter_map(|r| r.query_param("url"))
        .collect();
    assert_eq!(
        again,
        [srv.url("/dead-nocopy")],
        "only the one without a copy"
    );
    let show = blog
        .cmd()
        .args(["show", &srv.url("/dead")])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&show.stdout).contains("archived:   https://web.archive.org/"));
    // Confirmed at the second run (after the first run's look-up): the alert carries the copy.
    let got = hook_got.lock().unwrap().clone();
    let dead = got
        .iter()
        .find(|e| e["url"] == srv.url("/dead"))
        .unwrap_or_else(|| panic!("{got:?}"));
    assert_eq!(
        dead["archived_url"],
        "https://web.archive.org/web/20190325000000/http://example.org/dead"
    );
}

/// README ("How it decides"): dead, changed and soft-404 links all get their archived copy in
/// `run` (not only broken ones), and look-ups go at most one per `request_interval`.
#[test]
fn run_looks_up_copies_of_changed_and_soft_404_links_at_the_configured_pace() {
    let drifted = crate::server::Switch::new();
    let srv = TestServer::start(
        (0..3)
            .fold(Routes::new(), |r, i| {
                r.at(&format!("/gone{i}"), |_| status(404))
            })
            .at("/", |_| html(&article("Home", 1)))
            .at("/2019/03/deep-article", |_| redirect(302, "/"))
            .at("/fine", |_| html(&article("Fine", 2)))
            .at(
                "/drift",
                drifted.between(html(&article("Report", 3)), html(&article("Other", 11))),
            )
            .at("/wayback/available", |req| {
                let url = req.query_param("url").unwrap_or_default();
                with_headers(
                    200,
                    &[("content-type", "application/json")],
                    &format!(
                        r#"{{"archived_snapshots":{{"closest":{{"status":"200","available":true,"url":"http://web.archive.org/web/20190325000000/{url}","timestamp":"20190325000000"}}}}}}"#
                    ),
                )
            }),
    );
    let interval = Duration::from_millis(300);
    let blog = Blog::new();
    blog.config(&format!(
        "[archive]\nwayback_endpoint = \"{}\"\nrequest_interval = \"300ms\"\n",
        srv.url("/wayback/available")
    ))
    .post(
        "p.md",
        &format!(
            "---\ndate: 2019-03-25\n---\n{}[soft]({})\n[fine]({})\n[drift]({})\n",
            (0..3)
                .map(|i| format!("[gone]({})\n", srv.url(&format!("/gone{i}"))))
                .collect::<String>(),
            srv.url("/2019/03/deep-article"),
            srv.url("/fine"),
            srv.url("/drift"),
        ),
    );
    blog.cmd().arg("run").assert().code(2);
    let links = blog.status();
    let soft = srv.url("/2019/03/deep-article");
    assert_eq!(find(&links, &soft)["state"], "soft_404", "{links:?}");
    drifted.on();
    blog.cmd().arg("run").assert().code(2);
    let links = blog.status();
    let drift = srv.url("/drift");
    assert_eq!(find(&links, &drift)["state"], "changed", "{links:?}");
    for url in [&soft, &drift] {
        assert_eq!(
            find(&links, url)["archived_url"],
            format!("https://web.archive.org/web/20190325000000/{url}"),
            "{url}"
        );
    }
    let asked = srv.requests("/wayback/available");
    let mut urls: Vec<String> = asked.iter().filter_map(|r| r.query_param("url")).collect();
    urls.sort();
    let mut want: Vec<String> = (0..3).map(|i| srv.url(&format!("/gone{i}"))).collect();
    want.extend([drift.clone(), soft.clone()]);
    want.sort();
    assert_eq!(
        urls, want,
        "each dead, soft-404 and changed link once; never the fine one"
    );
    // The first run's four look-ups, one per interval at most.
    let times: Vec<std::time::Instant> = asked.iter().take(4).map(|r| r.received).collect();
    for w in times.windows(2) {
        assert!(
            w[1] - w[0] >= interval - Duration::from_millis(20),
            "look-ups {:?} apart, under the 300 ms request_interval:\n{}",
            w[1] - w[0],
            srv.describe_log()
        );
    }
}

#[test]
fn diff_then_accept_a_change() {
    let v2 = Arc::new(AtomicBool::new(false));
    let v = v2.clone();
    let srv = TestServer::start(Routes::new().at("/page", move |_| {
        if v.load(Ordering::SeqCst) {
            html("<html><body><article><p>Completely different words now fill this page about gardening and tomatoes.</p></article></body></html>")
        } else {
            html("<html><body><article><p>The original article about link rot and archives as it was cited.</p></article></body></html>")
        }
    }));
    let blog = Blog::new();
    blog.config("")
        .post("p.md", &format!("<{}>\n", srv.url("/page")));
    blog.cmd().arg("run").assert().success();
    v2.store(true, Ordering::SeqCst);
    blog.cmd().arg("run").assert().success();
    assert_eq!(state_of(&blog.status(), &srv.url("/page")), "changed");
    let out = blog
        .cmd()
        .args(["diff", &srv.url("/page")])
        .output()
        .unwrap();
    let diff = String::from_utf8(out.stdout).unwrap();
    assert!(diff.contains("[-The original article"), "{diff}");
    assert!(diff.contains("{+Completely different"), "{diff}");
    assert!(!diff.contains('\x1b'), "no colours when piped");
    blog.cmd()
        .args(["accept", &srv.url("/page")])
        .assert()
        .success();
    assert_eq!(state_of(&blog.status(), &srv.url("/page")), "ok");
    blog.cmd().arg("run").assert().success();
    assert_eq!(state_of(&blog.status(), &srv.url("/page")), "ok");
    let out = blog
        .cmd()
        .args(["diff", &srv.url("/page")])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("no difference"));
    let stats = blog.cmd().args(["db", "stats"]).output().unwrap();
    let stats = String::from_utf8(stats.stdout).unwrap();
    assert!(stats.contains("checks        3"), "{stats}");
    assert!(stats.contains("snapshots     2"), "{stats}");
}

#[test]
fn save_page_now_is_asked_once_per_new_link_when_enabled() {
    let srv = TestServer::start(Routes::new().at("/fine", |_| html("<p>fine</p>")).fallback(
        |req| {
            if req.path.starts_with("/save/") {
                with_headers(200, &[], "saved")
            } else {
                status(404)
            }
        },
    ));
    let blog = Blog::new();
    blog.config(&format!(
        "[archive]\nwayback = false\nsave_page_now = true\nsave_page_now_endpoint = \"{}\"\n",
        srv.url("/save/")
    ))
    .post("p.md", &format!("<{}>\n", srv.url("/fine")));
    blog.cmd().arg("run").assert().success();
    blog.cmd().arg("run").assert().success();
    let saves = srv.requests(&format!("/save/{}", srv.url("/fine")));
    assert_eq!(saves.len(), 1, "asked once");
}

#[test]
fn text_that_varies_between_fetches_is_learned_and_left_out() {
    let n = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let n2 = n.clone();
    let widgets = [
        "weather storms ahead",
        "elections tonight",
        "football scores",
        "markets fall again",
    ];
    let srv = TestServer::start(Routes::new().at("/news", move |_| {
        let i = n2.fetch_add(1, Ordering::SeqCst);
        html(&format!(
            "<html><body><article>{}<p>Most read: {}</p></article></body></html>",
            "<p>The article text stays the same on every visit, sentence after sentence, word after word.</p>".repeat(4),
            widgets[i % widgets.len()]
        ))
    }));
    let blog = Blog::new();
    blog.config("")
        .post("p.md", &format!("<{}>\n", srv.url("/news")));
    for _ in 0..3 {
        blog.cmd().arg("run").assert().success();
    }
    let h = blog.json(&["history", &srv.url("/news"), "--format", "json"]);
    let sims: Vec<f64> = h
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["similarity"].as_f64())
        .collect();
    assert_eq!(sims.len(), 2, "{h}");
    assert!(
        sims[0] < 1.0,
        "the first re-check sees the widget change: {sims:?}"
    );
    assert_eq!(sims[1], 1.0, "then the widget line is left out: {sims:?}");
}

/// The timer path: `citewatch run` every few hours confirms and alerts exactly as the daemon does
/// (regression: `run` never alerted, so the documented timer told nobody anything).
#[test]
fn regression_run_confirms_and_alerts_once_across_runs() {
    let site = TestServer::start(Routes::new().at("/gone", |_| status(404)));
    let received = Arc::new(std::sync::Mutex::new(Vec::<Value>::new()));
    let r2 = received.clone();
    let hook = TestServer::start(Routes::new().at("/hook", move |req| {
        if let Ok(v) = serde_json::from_slice::<Value>(&req.body) {
            r2.lock().unwrap().push(v);
        }
        with_headers(200, &[], "ok")
    }));
    let blog = Blog::new();
    blog.config(&format!(
        "[alerts]\nconfirm_checks = 2\nconfirm_period = \"0s\"\nlog = false\n[[alerts.webhook]]\nurl = \"{}\"\n",
        hook.url("/hook")
    ))
    .post("p.md", &format!("[gone]({})\n", site.url("/gone")));
    blog.cmd().arg("run").assert().code(2);
    assert!(
        received.lock().unwrap().is_empty(),
        "one strike is no alert"
    );
    blog.cmd().arg("run").assert().code(2);
    let got = received.lock().unwrap().clone();
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0]["event"], "confirmed");
    assert_eq!(got[0]["new_state"], "broken");
    blog.cmd().arg("run").assert().code(2);
    assert_eq!(received.lock().unwrap().len(), 1, "not alerted again");
    // Delivered once, and recorded so.
    let flip = blog.db();
    let conn = rusqlite::Connection::open(flip).unwrap();
    assert_eq!(
        count(
            &conn,
            "SELECT COUNT(*) FROM alert_deliveries WHERE state = 'delivered'"
        ),
        1
    );
}

/// `--no-alerts` (README, "Run as a service"): `run` and `check` send nothing and leave the
/// deliveries they caused pending in the outbox; the next `run` without it delivers them, once.
#[test]
fn no_alerts_leaves_deliveries_in_the_outbox_for_the_next_run() {
    let site = TestServer::start(Routes::new().at("/gone", |_| status(404)));
    let hook = crate::support::Receiver::start();
    let blog = Blog::new();
    blog.config(&format!(
        "[alerts]\nconfirm_checks = 1\nconfirm_period = \"0s\"\nlog = false\n[[alerts.webhook]]\nurl = \"{}\"\n",
        hook.url()
    ))
    .post("p.md", &format!("[gone]({})\n", site.url("/gone")));
    let deliveries = |state: &str| {
        blog.count(&format!(
            "SELECT COUNT(*) FROM alert_deliveries WHERE state = '{state}'"
        ))
    };
    blog.cmd().args(["run", "--no-alerts"]).assert().code(2);
    // The process has exited: nothing it could still send is left to wait for.
    hook.srv.expect_untouched();
    assert_eq!(blog.count("SELECT COUNT(*) FROM alert_events"), 1);
    assert_eq!(deliveries("pending"), 1, "the delivery waits in the outbox");
    assert_eq!(deliveries("delivered"), 0);
    blog.cmd()
        .args(["check", "--all", "--no-alerts"])
        .assert()
        .code(2);
    hook.srv.expect_untouched();
    assert_eq!(
        deliveries("pending"),
        1,
        "`check --no-alerts` leaves it too"
    );

    blog.cmd().arg("run").assert().code(2);
    let events = hook.events();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["event"], "confirmed");
    assert_eq!(events[0]["url"], site.url("/gone"));
    assert_eq!((deliveries("pending"), deliveries("delivered")), (0, 1));
    blog.cmd().arg("run").assert().code(2);
    assert_eq!(hook.hits(), 1, "delivered once: {:?}", hook.events());
}

/// README ("Run as a service"): `digest = true` sends one message per sink per cycle, holding
/// every event of that cycle.
#[test]
fn a_digest_is_one_message_per_sink_per_run() {
    let site = TestServer::start(Routes::new().fallback(|_| status(404)));
    let (a, b) = (
        crate::support::Receiver::start(),
        crate::support::Receiver::start(),
    );
    let blog = Blog::new();
    blog.config(&format!(
        "[alerts]\nconfirm_checks = 1\nconfirm_period = \"0s\"\nlog = false\ndigest = true\n\
         [[alerts.webhook]]\nurl = \"{}\"\n[[alerts.webhook]]\nurl = \"{}\"\n",
        a.url(),
        b.url()
    ));
    let post = |n: usize| {
        (0..n)
            .map(|i| format!("[gone]({})\n", site.url(&format!("/gone{i}"))))
            .collect::<String>()
    };
    let urls_in = |body: &Value| -> Vec<String> {
        let mut u: Vec<String> = body["events"]
            .as_array()
            .unwrap_or_else(|| panic!("a digest is {{\"events\": [...]}}: {body}"))
            .iter()
            .map(|e| e["url"].as_str().unwrap().to_string())
            .collect();
        u.sort();
        u
    };
    blog.post("p.md", &post(3));
    blog.cmd().arg("run").assert().code(2);
    let first: Vec<String> = (0..3).map(|i| site.url(&format!("/gone{i}"))).collect();
    for r in [&a, &b] {
        assert_eq!(r.hits(), 1, "one message for the run's three events");
        assert_eq!(urls_in(&r.events()[0]), first);
    }
    // The next run confirms two more: one more message per sink, with those two only.
    blog.post("p.md", &post(5));
    blog.cmd().arg("run").assert().code(2);
    let second: Vec<String> = (3..5).map(|i| site.url(&format!("/gone{i}"))).collect();
    for r in [&a, &b] {
        assert_eq!(r.hits(), 2, "one message per run");
        assert_eq!(urls_in(&r.events()[1]), second);
    }
}

/// README ("Run as a service"): `run` and `check` deliver what they caused for at most a minute,
/// and the rest waits in the outbox. The limit is the library's `deliver_due_within` with
/// `BEFORE_EXIT`, tested here with a short limit against a webhook that never answers (its own
/// attempt timeout is 30 s: only the limit can end it sooner).
#[test]
fn delivery_before_exit_is_cut_off_at_its_limit_and_the_rest_stays_pending() {
    use citewatch::pipeline::{deliver_due_within, BEFORE_EXIT};
    assert_eq!(BEFORE_EXIT, Duration::from_secs(60), "at most a minute");
    let site = TestServer::start(Routes::new().at("/gone", |_| status(404)));
    let hook = crate::support::Receiver::start();
    hook.stall.on();
    let blog = Blog::new();
    blog.config(&format!(
        "[alerts]\nconfirm_checks = 1\nconfirm_period = \"0s\"\nlog = false\n[[alerts.webhook]]\nurl = \"{}\"\ntimeout = \"30s\"\n",
        hook.url()
    ))
    .post("p.md", &format!("[gone]({})\n", site.url("/gone")));
    blog.cmd().args(["run", "--no-alerts"]).assert().code(2);
    let pending = || blog.count("SELECT COUNT(*) FROM alert_deliveries WHERE state = 'pending'");
    assert_eq!(pending(), 1);

    let cfg = citewatch::config::Config::load(&blog.path().join("citewatch.toml")).unwrap();
    let writer = citewatch::store::Writer::start(&blog.db()).unwrap();
    let clock: Arc<dyn citewatch::clock::Clock> = Arc::new(citewatch::clock::SystemClock);
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let started = std::time::Instant::now();
    let cut = rt.block_on(deliver_due_within(
        Duration::from_millis(300),
        &writer,
        &cfg.alerts,
        &http,
        &clock,
        &|| {},
    ));
    let took = started.elapsed();
    assert!(cut.is_none(), "the limit came first: {cut:?}");
    assert_eq!(hook.hits(), 1, "the attempt had started");
    assert!(
        took >= Duration::from_millis(300) && took < Duration::from_secs(10),
        "cut off at the limit, not at the attempt's 30 s timeout: {took:?}"
    );
    assert_eq!(pending(), 1, "what was cut off waits in the outbox");

    hook.stall.off();
    let sent = rt
        .block_on(deliver_due_within(
            BEFORE_EXIT,
            &writer,
            &cfg.alerts,
            &http,
            &clock,
            &|| {},
        ))
        .expect("delivered within the limit")
        .unwrap();
    assert_eq!(sent.delivered, 1);
    assert_eq!(hook.events_of("confirmed").len(), 1);
    assert_eq!(pending(), 0);
}

/// Regression: with no network, `run` printed one `error` per link and no word that the machine
/// looked offline. Now it says so, counts no strike and exits 1.
#[test]
fn regression_an_offline_run_says_so_and_counts_no_strikes() {
    // Three sites nothing answers on (ports held closed, on three loopback addresses).
    let ports: Vec<crate::support::ClosedPort> =
        (0..3).map(|_| crate::support::ClosedPort::new()).collect();
    let dead: String = ports
        .iter()
        .enumerate()
        .map(|(i, p)| format!("<http://127.0.0.{}:{}/page>\n", i + 2, p.port))
        .collect();
    let blog = Blog::new();
    blog.config("[alerts]\nconfirm_checks = 1\nconfirm_period = \"0s\"\n")
        .post("p.md", &dead);
    let out = blog.cmd().arg("run").output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("looks offline"), "{err}");
    // Regression (issue 19): the table said "3 broken" above that line. The verdicts of an
    // offline run are unverified in the table, the JSON and every later query, and nothing is
    // shown as broken or error.
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("3 unverified"), "{table}");
    for line in table.lines().filter(|l| l.contains("/page")) {
        let state = line.split_whitespace().nth(1);
        assert_eq!(state, Some("unverified"), "{table}");
    }
    assert!(!table.contains("broken"), "{table}");
    let json = blog
        .cmd()
        .args(["run", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(json.status.code(), Some(1));
    let rows: Vec<Value> = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(rows.len(), 3);
    for r in &rows {
        assert_eq!(r["state"], "unverified", "{r}");
        assert_eq!(r["unverified"], true, "{r}");
    }
    let status = blog
        .cmd()
        .args(["status", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(
        status.status.code(),
        Some(1),
        "nothing known to be broken, nor fine"
    );
    let rows: Vec<Value> = serde_json::from_slice(&status.stdout).unwrap();
    assert!(rows.iter().all(|r| r["state"] == "unverified"), "{rows:?}");
    let conn = rusqlite::Connection::open(blog.db()).unwrap();
    assert_eq!(count(&conn, "SELECT COUNT(*) FROM alert_events"), 0);
    assert_eq!(
        count(&conn, "SELECT COUNT(*) FROM confirmations WHERE streak_count > 0 OR pending_state IS NOT NULL"),
        0
    );
    // One dead site among answering ones is that site's problem: exit 2, a strike counted.
    let srv = TestServer::start(Routes::new().at("/ok", |_| html("<p>ok</p>")));
    blog.post(
        "p.md",
        &format!("{}<{}>\n", dead.lines().next().unwrap(), srv.url("/ok")),
    );
    blog.cmd().arg("run").assert().code(2);
    assert_eq!(count(&conn, "SELECT COUNT(*) FROM alert_events"), 1);
    let rows = blog.status();
    let dead_row = rows.iter().find(|r| r["state"] != "ok").unwrap();
    assert_eq!(dead_row["unverified"], false, "an answering run verifies");
    assert_ne!(dead_row["state"], "unverified");
}

/// README ("How it decides"): a run in which a configured canary failed is citewatch's own
/// outage: no strike is counted, it says the machine looks offline, and `run` exits 1, even
/// with every cited site answering.
#[test]
fn a_failing_canary_makes_run_exit_1_and_count_no_strikes() {
    let canary_down = crate::server::Switch::new();
    let srv = TestServer::start(Routes::new().at("/gone", |_| status(404)).at(
        "/canary",
        canary_down.between(html("<p>up</p>"), status(500)),
    ));
    let blog = Blog::new();
    blog.config(&format!(
        "[alerts]\nconfirm_checks = 1\nconfirm_period = \"0s\"\ncanaries = [\"{}\"]\n",
        srv.url("/canary")
    ))
    .post("p.md", &format!("[gone]({})\n", srv.url("/gone")));
    canary_down.on();
    let out = blog.cmd().arg("run").output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("a canary URL failed; no strike was counted"),
        "{err}"
    );
    srv.expect_hits("/gone", 1);
    assert_eq!(blog.count("SELECT COUNT(*) FROM alert_events"), 0);
    assert_eq!(
        blog.count("SELECT COUNT(*) FROM cycles WHERE outage = 'canary'"),
        1
    );
    // The canary answers again: the same run is the site's problem, exit 2, a strike counted.
    canary_down.off();
    blog.cmd().arg("run").assert().code(2);
    assert_eq!(blog.count("SELECT COUNT(*) FROM alert_events"), 1);
}

/// Regression: archive look-ups ran after the checks, 500 of them at up to 20 s each, with a
/// warning line per failure. Now they run beside the checks, stop after a few failures in a row
/// (at the first when no connection can be made: an offline machine paid three paced attempts,
/// two seconds, on every run) with one summary line, and never outlast their budget.
#[test]
fn regression_a_failing_archive_costs_one_line_and_little_time() {
    let site = TestServer::start((0..20).fold(Routes::new(), |r, i| {
        r.at(&format!("/gone{i}"), |_| status(404))
    }));
    // A run citing 20 dead links with the archive at `endpoint`: its exit code and the one
    // archive line it must write.
    let run_against = |endpoint: String| -> (Option<i32>, String) {
        let blog = Blog::new();
        blog.config(&format!(
            "[archive]\nwayback_endpoint = \"{endpoint}\"\nrequest_interval = \"10ms\"\n"
        ))
        .post(
            "p.md",
            &(0..20)
                .map(|i| format!("<{}>\n", site.url(&format!("/gone{i}"))))
                .collect::<String>(),
        );
        let out = blog.cmd().arg("run").output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr).to_string();
        let lines: Vec<&str> = err.lines().filter(|l| l.contains("archive")).collect();
        assert_eq!(lines.len(), 1, "{err}");
        (out.status.code(), lines[0].to_string())
    };
    // No connection at all (the port is closed): given up at the first failure.
    let closed = crate::support::ClosedPort::new();
    let (code, line) = run_against(closed.url("/wayback/available"));
    assert_eq!(code, Some(2));
    assert!(line.contains("1 of 1 failed"), "{line}");
    assert!(line.contains("next run"), "{line}");
    // An archive that answers, but with errors, is given up after three in a row.
    let failing = TestServer::start(Routes::new().fallback(|_| status(503)));
    let (_, line) = run_against(failing.url("/wayback/available"));
    assert!(line.contains("3 of 3 failed"), "{line}");
    assert!(line.contains("HTTP 503"), "{line}");

    // An archive that never answers is cut off by the budget.
    let stalling = TestServer::start(Routes::new().fallback(|_| Reply::Stall));
    let blog = Blog::new();
    blog.config(&format!(
        "[archive]\nwayback_endpoint = \"{}\"\nbudget = \"1s\"\n",
        stalling.url("/wayback/available")
    ))
    .post("p.md", &format!("<{}>\n", site.url("/gone0")));
    let t = std::time::Instant::now();
    blog.cmd().arg("run").assert().code(2);
    assert!(
        t.elapsed() < Duration::from_secs(8),
        "the 1 s budget held: {:?}",
        t.elapsed()
    );
}

/// Fills a database with 48 MiB of archived bodies that no check refers to (kept by `db compact`,
/// which thins checks, not snapshots): every VACUUM then copies them.
pub fn bloat(db: &std::path::Path) {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.execute_batch(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 96)
         INSERT INTO snapshots (hash, size, body, headers, created_at)
         SELECT 'bloat' || i, 524288, randomblob(524288), '[]', '2026-01-01T00:00:00Z' FROM n",
    )
    .unwrap();
}

/// Regression: `db compact` beside `citewatch run` made the run exit 1 with "database is locked".
#[test]
fn regression_db_compact_during_a_run() {
    let srv = TestServer::start((0..40).fold(Routes::new(), |r, i| {
        r.at(&format!("/p{i}"), move |_| {
            Reply::Delayed(
                Duration::from_millis(100),
                Box::new(html(&article("page", i))),
            )
        })
    }));
    let blog = Blog::new();
    blog.config("concurrency = 2\n").post(
        "many.md",
        &(0..40)
            .map(|i| format!("<{}>\n", srv.url(&format!("/p{i}"))))
            .collect::<String>(),
    );
    // A database big enough that each VACUUM holds its lock a while: the run's writes meet it.
    blog.cmd().arg("scan").assert().success();
    bloat(&blog.db());
    let mut child = blog.spawn(&["run"], &[]);
    let checked = || blog.count("SELECT COUNT(*) FROM checks");
    crate::support::wait_for("the run under way", Duration::from_secs(60), || {
        checked() >= 2
    });
    // A compaction overlapped the run when the run had checks written before it began and had
    // not finished them (nor exited) after it ended.
    let mut overlapped = 0;
    for _ in 0..6 {
        let before = checked();
        let alive_before = child.try_wait().unwrap().is_none();
        blog.cmd().args(["db", "compact"]).assert().success();
        let after = checked();
        let alive_after = child.try_wait().unwrap().is_none();
        if alive_before && alive_after && before >= 1 && after < 40 {
            overlapped += 1;
        }
    }
    assert!(
        overlapped >= 1,
        "no compaction ran inside the run, so this test proved nothing"
    );
    assert!(child.wait().unwrap().success(), "{}", blog.log_of("run"));
    assert_eq!(checked(), 40);
}

/// A passage the post quotes is checked on every fetch: a changed number makes the link `changed`
/// even though the rest of the page is the same, with the reason in `show`, the JSON, `diff`,
/// `quotes` and the alert.
#[test]
fn a_quoted_passage_that_changed_makes_the_link_changed_everywhere() {
    let edited = crate::server::Switch::new();
    let article = |figure: &str| {
        format!(
            "<html><head><title>Report</title></head><body><article><h1>Report</h1>{}<p>The company said revenue grew by {figure} percent last year, more than any analyst expected.</p>{}</article></body></html>",
            "<p>Opening paragraph about the quarterly results and what the board discussed.</p>".repeat(6),
            "<p>Closing paragraph with the outlook for the coming year and beyond.</p>".repeat(6),
        )
    };
    let (before, after) = (article("12"), article("21"));
    let srv = TestServer::start(Routes::new().at(
        "/report",
        edited.choose(move |_| html(&before), move |_| html(&after)),
    ));
    let hook = crate::support::Receiver::start();
    let blog = Blog::new();
    blog.config(&format!(
        "[alerts]\nconfirm_checks = 1\nconfirm_period = \"0s\"\nlog = false\n[[alerts.webhook]]\nurl = \"{}\"\n",
        hook.url()
    ))
    .post(
        "p.md",
        &format!(
            "As [the report]({}) puts it:\n\n> The company said revenue grew by 12 percent last year, more than any analyst expected.\n",
            srv.url("/report")
        ),
    );
    blog.cmd().arg("run").assert().success();
    let links = blog.status();
    assert_eq!(state_of(&links, &srv.url("/report")), "ok");
    let q = &find(&links, &srv.url("/report"))["citations"][0]["quote"];
    assert!(q.as_str().unwrap().contains("grew by 12 percent"), "{q}");
    let out = blog.cmd().args(["quotes"]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("stands"));

    edited.on();
    blog.cmd().arg("run").assert().success();
    let links = blog.status();
    let l = find(&links, &srv.url("/report"));
    assert_eq!(l["state"], "changed", "{l}");
    let reason = l["error"].as_str().unwrap();
    assert!(
        reason.contains("quoted passage no longer on the page"),
        "{reason}"
    );
    assert!(reason.contains("12"), "names what changed: {reason}");
    let show = blog
        .cmd()
        .args(["show", &srv.url("/report")])
        .output()
        .unwrap();
    let show = String::from_utf8_lossy(&show.stdout);
    assert!(
        show.contains("quoted passage no longer on the page"),
        "{show}"
    );
    assert!(
        show.contains("quotes: “The company said revenue grew by 12"),
        "{show}"
    );
    let diff = blog
        .cmd()
        .args(["diff", &srv.url("/report")])
        .output()
        .unwrap();
    let diff = String::from_utf8_lossy(&diff.stdout);
    assert!(
        diff.starts_with("changed: quoted passage no longer on the page"),
        "{diff}"
    );
    let missing = blog.json(&["quotes", "--state", "missing", "--format", "json"]);
    let missing = missing.as_array().unwrap();
    assert_eq!(missing.len(), 1, "{missing:?}");
    assert_eq!(missing[0]["standing"], "missing");
    assert_eq!(missing[0]["post"], "p.md");
    let stands = blog.json(&["quotes", "--state", "stands", "--format", "json"]);
    assert!(stands.as_array().unwrap().is_empty());
    let events = hook.events_of("confirmed");
    assert_eq!(events.len(), 1, "{events:?}");
    assert!(
        events[0]["error"]
            .as_str()
            .unwrap()
            .contains("quoted passage no longer on the page"),
        "{}",
        events[0]
    );
}

/// The binary's allocator is jemalloc with the options `main.rs` gives it (two arenas, freed pages
/// handed back within a second): jemalloc prints the options in effect when asked to through its
/// environment, and reads the binary's own only when the symbol's name is the one it looks for.
#[test]
fn the_binary_allocates_with_jemalloc_and_its_own_options() {
    let out = Command::cargo_bin("citewatch")
        .unwrap()
        .arg("--help")
        .env("_RJEM_MALLOC_CONF", "stats_print:true")
        .output()
        .unwrap();
    assert!(out.status.success());
    let stats = String::from_utf8_lossy(&out.stderr);
    for option in [
        "opt.narenas: 2",
        "opt.dirty_decay_ms: 1000",
        "opt.muzzy_decay_ms: 0",
    ] {
        assert!(
            stats.contains(option),
            "{option} not in jemalloc's statistics"
        );
    }
}
