//! `citewatch fix` through the real binary and the library: round-trip fixtures for every
//! citation form and every line-ending and encoding case (whole files, byte for byte), a post
//! edited between scan and fix, idempotence, an interrupted write, git working trees, and
//! `fix --apply` then `run` against loopback servers.

use std::path::{Path, PathBuf};

use crate::cli::{find, Blog};
use crate::server::{article, html, redirect, status, Reply, Routes, TestServer};

/// When the facts begin: checks are recorded on this day and the two after it.
const T0: &str = "2026-11-01T00:00:00Z";

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fix")
}

/// A blog whose config has `source` lines in its `[[source]]` table and `extra` after it.
fn blog_with(source: &str, extra: &str) -> Blog {
    let blog = Blog::new();
    let text = format!(
        "db = \"citewatch.db\"\n[[source]]\npath = \"posts\"\n{source}\n[check]\nallow_private = true\ntimeout = \"3s\"\nretries = 1\nper_host_interval = \"0s\"\n{extra}\n{}",
        if extra.contains("[archive]") {
            ""
        } else {
            "[archive]\nwayback = false\n"
        }
    );
    std::fs::write(blog.path().join("citewatch.toml"), text).unwrap();
    blog
}

fn day(n: i64) -> String {
    let t = chrono::DateTime::parse_from_rfc3339(T0).unwrap() + chrono::Duration::days(n);
    t.to_utc()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Records what the store would know after checks had found each link in the state `facts`
/// says (see tests/fixtures/fix/README.md).
fn record_facts(db: &Path, facts: &str) {
    let conn = rusqlite::Connection::open(db).unwrap();
    for line in facts.lines().filter(|l| !l.trim().is_empty()) {
        let f: Vec<&str> = line.split('\t').collect();
        let (state, url, value) = (f[0], f[1], f[2]);
        let id: i64 = conn
            .query_row("SELECT id FROM links WHERE url = ?1", [url], |r| r.get(0))
            .unwrap_or_else(|_| {
                let all: Vec<String> = conn
                    .prepare("SELECT url FROM links")
                    .unwrap()
                    .query_map([], |r| r.get(0))
                    .unwrap()
                    .map(Result::unwrap)
                    .collect();
                panic!("no link {url} in the store: {all:?}")
            });
        conn.execute(
            "UPDATE links SET state = ?2, since = ?3, checked_at = ?3 WHERE id = ?1",
            rusqlite::params![id, state, day(0)],
        )
        .unwrap();
        if state == "redirected" {
            conn.execute(
                "UPDATE links SET final_url = ?2 WHERE id = ?1",
                rusqlite::params![id, value],
            )
            .unwrap();
            for d in 0..3 {
                let hops = serde_json::json!([{"url": url, "status": 301, "location": value}]);
                conn.execute(
                    "INSERT INTO checks (link_id, checked_at, state, http_status, final_url, redirects, elapsed_ms)
                     VALUES (?1, ?2, 'redirected', 200, ?3, ?4, 5)",
                    rusqlite::params![id, day(d), value, hops.to_string()],
                )
                .unwrap();
            }
            continue;
        }
        conn.execute(
            "INSERT INTO confirmations (link_id, confirmed, streak_state, streak_count, streak_since)
             VALUES (?1, ?2, ?2, 3, ?3)",
            rusqlite::params![id, state, day(-2)],
        )
        .unwrap();
        if value != "-" {
            let ts: String = value
                .split("/web/")
                .nth(1)
                .unwrap()
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            conn.execute(
                "INSERT INTO wayback (link_id, looked_up_at, archived_url, timestamp) VALUES (?1, ?2, ?3, ?4)",
                rusqlite::params![id, day(0), value, ts],
            )
            .unwrap();
        }
    }
}

fn read_opt(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_default()
}

/// Every case of tests/fixtures/fix: scan, facts, `fix --apply`, the whole file compared byte
/// for byte; then `fix --apply` again changes nothing.
#[test]
fn fixtures_round_trip_byte_for_byte() {
    let update = std::env::var_os("UPDATE_EXPECT").is_some();
    let mut updated = Vec::new();
    let mut cases: Vec<PathBuf> = std::fs::read_dir(fixtures())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    assert!(cases.len() >= 12, "fixtures missing: {cases:?}");
    for case in cases {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        let blog = blog_with(
            &read_opt(&case.join("source.toml")),
            &read_opt(&case.join("citewatch.toml")),
        );
        let mut post = None;
        for e in std::fs::read_dir(&case).unwrap() {
            let p = e.unwrap().path();
            let file = p.file_name().unwrap().to_string_lossy().into_owned();
            let is_post = p
                .extension()
                .and_then(|x| x.to_str())
                .and_then(citewatch::extract::Format::from_extension)
                .is_some();
            if is_post && !file.starts_with("expected.") {
                blog.post_bytes(&file, &std::fs::read(&p).unwrap());
                if file.starts_with("post.") {
                    post = Some(file);
                }
            }
        }
        let post = post.unwrap_or_else(|| panic!("{name}: no post.<ext>"));
        let ext = post.rsplit('.').next().unwrap().to_string();
        let posted = blog.path().join("posts").join(&post);
        let before = std::fs::read(&posted).unwrap();
        blog.cmd().arg("scan").assert().success();
        record_facts(&blog.db(), &read_opt(&case.join("facts")));
        let args: Vec<String> = read_opt(&case.join("args"))
            .lines()
            .map(str::to_string)
            .filter(|l| !l.is_empty())
            .collect();
        let out = blog
            .cmd()
            .args(["fix", "--apply"])
            .args(&args)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "{name}: {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let after = std::fs::read(&posted).unwrap();
        let expected = case.join(format!("expected.{ext}"));
        if update {
            std::fs::write(&expected, &after).unwrap();
            updated.push(expected.display().to_string());
            continue;
        }
        let want = std::fs::read(&expected)
            .unwrap_or_else(|e| panic!("{}: {e} (UPDATE_EXPECT=1 writes it)", expected.display()));
        assert!(
            after == want,
            "{name}: the post after fix --apply differs from {}:\n--- got\n{}\n--- want\n{}\n--- output\n{stdout}",
            expected.display(),
            String::from_utf8_lossy(&after),
            String::from_utf8_lossy(&want)
        );
        assert_ne!(after, before, "{name}: nothing was fixed");
        // Once is enough: the store learnt the new citations, a second run changes nothing.
        let again = blog
            .cmd()
            .args(["fix", "--apply"])
            .args(&args)
            .output()
            .unwrap();
        assert!(again.status.success(), "{name}");
        let again_out = String::from_utf8_lossy(&again.stdout);
        assert!(
            again_out.contains("nothing to change"),
            "{name}: a second run:\n{again_out}"
        );
        assert_eq!(
            std::fs::read(&posted).unwrap(),
            after,
            "{name}: changed twice"
        );
    }
    assert!(
        updated.is_empty(),
        "UPDATE_EXPECT: rewrote {updated:?}; review the diff and run again without it"
    );
}

/// A blog with one post citing a moved link and a dead one, the facts recorded.
fn scanned_blog(text: &str) -> Blog {
    let blog = blog_with("", "");
    blog.post("post.md", text);
    blog.cmd().arg("scan").assert().success();
    record_facts(&blog.db(), FACTS);
    blog
}

/// A moved link and a dead one with an archived copy.
const FACTS: &str = "redirected\thttps://old.example.org/post\thttps://new.example.org/2024/post\nbroken\thttps://gone.example.org/x\thttps://web.archive.org/web/20190325000000/https://gone.example.org/x\n";

const POST: &str = "---\ntitle: t\n---\n[moved](https://old.example.org/post) and [gone](https://gone.example.org/x).\n";

/// Without --apply nothing is written; the diff and the JSON say what would be.
#[test]
fn a_dry_run_writes_nothing_and_shows_a_plain_diff_off_a_terminal() {
    let blog = scanned_blog(POST);
    let out = blog.cmd().arg("fix").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        std::fs::read_to_string(blog.path().join("posts/post.md")).unwrap(),
        POST
    );
    assert!(text.starts_with("--- a/"), "{text}");
    assert!(text.contains("-[moved](https://old.example.org/post) and [gone](https://gone.example.org/x).\n+[moved](https://new.example.org/2024/post) and [gone](https://gone.example.org/x) ([archived](https://web.archive.org/web/20190325000000/https://gone.example.org/x)).\n"), "{text}");
    assert!(
        !text.contains('\x1b'),
        "no colour when stdout is not a terminal"
    );
    assert!(
        text.contains("2 citations in 1 post: 1 moved (new address), 1 dead (archived copy added)"),
        "{text}"
    );
    assert!(text.contains("run `citewatch fix --apply`"), "{text}");
    let json = blog.json(&["fix", "--format", "json"]);
    let edits = json["edits"].as_array().unwrap();
    assert_eq!(edits.len(), 2);
    for k in ["post", "line", "old", "new", "why", "kind", "action", "url"] {
        assert!(edits[0].get(k).is_some(), "{k} in {}", edits[0]);
    }
    assert_eq!(edits[0]["line"], 4);
    assert_eq!(edits[0]["old"], "https://old.example.org/post");
    assert_eq!(edits[0]["new"], "https://new.example.org/2024/post");
    assert_eq!(edits[0]["kind"], "redirected");
    assert_eq!(edits[1]["action"], "annotate");
    assert_eq!(json["applied"], false);
    assert_eq!(
        std::fs::read_to_string(blog.path().join("posts/post.md")).unwrap(),
        POST
    );
    let other = blog.json(&["fix", "--post", "another", "--format", "json"]);
    assert_eq!(
        other["edits"].as_array().unwrap().len(),
        0,
        "--post filters posts"
    );
    let only = blog.json(&["fix", "--only", "dead", "--format", "json"]);
    assert_eq!(only["edits"].as_array().unwrap().len(), 1);
    assert_eq!(only["edits"][0]["kind"], "dead");
}

/// Copies the store lacks are looked up by `fix` itself (through the configured endpoint, never
/// the internet): near the post's date for a dead page, from before the change for a changed one.
#[test]
fn missing_copies_are_looked_up_near_the_post_and_before_the_change() {
    let srv = TestServer::start(Routes::new().at("/wayback/available", |r| {
        let url = r.query_param("url").unwrap_or_default();
        let ts = format!("{:0<14}", r.query_param("timestamp").unwrap_or_default());
        Reply::Full {
            status: 200,
            headers: vec![("content-type".into(), "application/json".into())],
            body: serde_json::json!({"archived_snapshots": {"closest": {
                "status": "200", "available": true, "timestamp": ts,
                "url": format!("http://web.archive.org/web/{ts}/{url}")}}})
            .to_string()
            .into_bytes(),
        }
    }));
    let blog = blog_with(
        "",
        &format!(
            "[archive]\nwayback_endpoint = \"{}\"\nrequest_interval = \"10ms\"\n",
            srv.url("/wayback/available")
        ),
    );
    blog.post(
        "post.md",
        "---\ndate: 2026-11-20\n---\n[gone](https://gone.example.org/x) and [changed](https://changed.example.org/a).\n",
    );
    blog.cmd().arg("scan").assert().success();
    record_facts(
        &blog.db(),
        "broken\thttps://gone.example.org/x\t-\nchanged\thttps://changed.example.org/a\thttps://web.archive.org/web/20261101120000/https://changed.example.org/a\n",
    );
    let out = blog
        .cmd()
        .args(["fix", "--apply", "--only", "dead,changed"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("looked up 2 archived copies, found 2"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let asked: Vec<(String, String)> = srv
        .requests("/wayback/available")
        .iter()
        .map(|r| {
            (
                r.query_param("url").unwrap(),
                r.query_param("timestamp").unwrap(),
            )
        })
        .collect();
    // The dead page near the post's date; the changed one (its cached copy is from after the
    // change on 2026-11-01) from the day before the change, the post being younger.
    assert!(
        asked.contains(&("https://gone.example.org/x".into(), "20261120000000".into())),
        "{asked:?}"
    );
    assert!(
        asked.contains(&(
            "https://changed.example.org/a".into(),
            "20261031000000".into()
        )),
        "{asked:?}"
    );
    assert_eq!(
        std::fs::read_to_string(blog.path().join("posts/post.md")).unwrap(),
        "---\ndate: 2026-11-20\n---\n[gone](https://gone.example.org/x) ([archived](https://web.archive.org/web/20261120000000/https://gone.example.org/x)) and [changed](https://changed.example.org/a) ([archived](https://web.archive.org/web/20261031000000/https://changed.example.org/a)).\n"
    );
    // What was found is kept: the next run asks nothing.
    let n = srv.requests("/wayback/available").len();
    blog.cmd()
        .args(["fix", "--apply", "--only", "dead,changed"])
        .assert()
        .success();
    assert_eq!(srv.requests("/wayback/available").len(), n);
}

/// A post whose bytes differ from what the last scan read is reported and left alone; the next
/// scan reads it and the fix goes ahead.
#[test]
fn a_post_edited_between_scan_and_fix_is_skipped_and_reported() {
    let blog = scanned_blog(POST);
    let edited = POST.replace("and [gone]", "and, as it happens, [gone]");
    blog.post("post.md", &edited);
    let json = blog.json(&["fix", "--apply", "--format", "json"]);
    assert_eq!(json["edits"].as_array().unwrap().len(), 0, "{json}");
    assert!(json["skipped"][0]["why"]
        .as_str()
        .unwrap()
        .contains("changed since the last scan"));
    assert_eq!(json["written"].as_array().unwrap().len(), 0);
    assert_eq!(
        std::fs::read_to_string(blog.path().join("posts/post.md")).unwrap(),
        edited
    );
    let out = blog.cmd().args(["fix"]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("posts skipped:"));
    // Even with the same size and modification time, different bytes are told apart.
    let same_size = POST.replace("gone", "GONE");
    let p = blog.path().join("posts/post.md");
    blog.cmd().arg("scan").assert().success();
    let mtime = std::fs::metadata(&p).unwrap().modified().unwrap();
    std::fs::write(&p, &same_size).unwrap();
    std::fs::File::options()
        .write(true)
        .open(&p)
        .unwrap()
        .set_modified(mtime)
        .unwrap();
    let json = blog.json(&["fix", "--apply", "--format", "json"]);
    assert_eq!(json["skipped"].as_array().unwrap().len(), 1, "{json}");
    assert_eq!(std::fs::read_to_string(&p).unwrap(), same_size);
}

/// An interrupted write (a failure before the rename, through the `Fs` seam) leaves the
/// original, leaves no temporary file, and is reported; the store is not re-scanned.
#[test]
fn an_interrupted_write_leaves_the_original() {
    use citewatch::fix::{self, apply::Fs, Kinds};
    struct FailBeforeRename;
    impl Fs for FailBeforeRename {
        fn rename(&self, _: &Path, _: &Path) -> std::io::Result<()> {
            Err(std::io::Error::other("simulated crash before the rename"))
        }
    }
    let blog = blog_with("", "");
    blog.post("post.md", POST);
    // In process, the sources are known by their absolute paths: scanned here the same way.
    let cfg = citewatch::config::Config::load(&blog.path().join("citewatch.toml")).unwrap();
    let writer = citewatch::store::Writer::start(&cfg.db).unwrap();
    let now = chrono::DateTime::parse_from_rfc3339("2026-11-30T00:00:00Z")
        .unwrap()
        .to_utc();
    citewatch::pipeline::scan_blocking(&writer, &cfg, now).unwrap();
    record_facts(&blog.db(), FACTS);
    let req = fix::Request {
        post: None,
        kinds: Kinds::DEFAULT,
        apply: true,
    };
    let report = fix::run(&writer, &cfg, &req, None, &FailBeforeRename, now).unwrap();
    let failed: Vec<_> = report.failed().collect();
    assert_eq!(failed.len(), 1);
    assert!(
        failed[0].1.contains("simulated crash") && failed[0].1.contains("left as it was"),
        "{}",
        failed[0].1
    );
    assert!(
        report.rescan.is_none(),
        "nothing written, nothing scanned again"
    );
    assert_eq!(
        std::fs::read_to_string(blog.path().join("posts/post.md")).unwrap(),
        POST
    );
    let names: Vec<String> = std::fs::read_dir(blog.path().join("posts"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["post.md"], "no temporary file is left behind");
    // The same run with the real filesystem writes it.
    let report = fix::run(&writer, &cfg, &req, None, &fix::apply::RealFs, now).unwrap();
    assert_eq!(
        report.written().count(),
        1,
        "{:?} {:?}",
        report.failed().map(|f| f.1).collect::<Vec<_>>(),
        report.skipped
    );
    assert!(std::fs::read_to_string(blog.path().join("posts/post.md"))
        .unwrap()
        .contains("https://new.example.org/2024/post"));
}

/// In a git working tree, `fix --apply` names the files it changed for `git diff`, and never
/// commits.
#[test]
fn in_a_git_working_tree_it_says_what_changed_and_never_commits() {
    let blog = scanned_blog(POST);
    let git = |args: &[&str]| {
        let out = std::process::Command::new("git")
            .args(args)
            .current_dir(blog.path())
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.org")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.org")
            .output()
            .expect("git");
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    git(&["init", "-q", "."]);
    git(&["add", "posts"]);
    git(&["commit", "-qm", "posts"]);
    let out = blog.cmd().args(["fix", "--apply"]).output().unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("changed in the git working tree")
            && stderr.contains("posts/post.md")
            && stderr.contains("git diff"),
        "{stderr}"
    );
    assert_eq!(
        git(&["rev-list", "--count", "HEAD"]).trim(),
        "1",
        "nothing committed"
    );
    assert_eq!(
        git(&["status", "--porcelain", "posts"]).trim(),
        "M posts/post.md"
    );
}

#[test]
fn bad_arguments_say_what_is_accepted() {
    let blog = scanned_blog(POST);
    let out = blog
        .cmd()
        .args(["fix", "--only", "moved"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(e.contains("redirected, dead or changed"), "{e}");
    let fresh = blog_with("", "");
    fresh.post("post.md", POST);
    let out = fresh.cmd().arg("fix").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not exist"));
}

/// The whole loop against loopback servers: `run` finds a moved link and a dead one and
/// confirms them, the archive answers with a copy, `fix --apply` repairs the post, and the next
/// `run` finds every citation ok: the new address fetched, the archived copy never fetched.
#[test]
fn apply_then_run_reports_the_replaced_links_ok() {
    let srv = TestServer::start(
        Routes::new()
            .at("/2019/moved", |_| redirect(301, "/articles/moved"))
            .at("/articles/moved", |_| html(&article("Moved here", 7)))
            .at("/gone", |_| status(404))
            .at("/wayback/available", |r| {
                let url = r.query_param("url").unwrap_or_default();
                Reply::Full {
                    status: 200,
                    headers: vec![("content-type".into(), "application/json".into())],
                    body: serde_json::json!({"archived_snapshots": {"closest": {
                        "status": "200", "available": true, "timestamp": "20190325000000",
                        "url": format!("http://web.archive.org/web/20190325000000/{url}")}}})
                    .to_string()
                    .into_bytes(),
                }
            }),
    );
    let blog = Blog::new();
    blog.config(&format!(
        "[alerts]\nconfirm_checks = 1\nconfirm_period = \"0s\"\nlog = false\n[archive]\nwayback_endpoint = \"{}\"\nrequest_interval = \"10ms\"\n[fix]\ndead = \"replace\"\n",
        srv.url("/wayback/available")
    ))
    .post(
        "post.md",
        &format!(
            "---\ntitle: Loop\ndate: 2019-03-20\n---\nA [moved page]({}#part), a [dead one]({}) and ![its image]({}).\n",
            srv.url("/2019/moved"),
            srv.url("/gone"),
            srv.url("/gone"),
        ),
    );
    blog.cmd().arg("run").assert().code(2);
    let out = blog.cmd().args(["fix", "--apply"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(blog.path().join("posts/post.md")).unwrap();
    let copy = format!(
        "https://web.archive.org/web/20190325000000/{}",
        srv.url("/gone")
    );
    let image = format!(
        "https://web.archive.org/web/20190325000000im_/{}",
        srv.url("/gone")
    );
    assert_eq!(
        text,
        format!(
            "---\ntitle: Loop\ndate: 2019-03-20\n---\nA [moved page]({}#part), a [dead one]({copy}) and ![its image]({image}).\n",
            srv.url("/articles/moved")
        )
    );
    let hits = srv.hits("/articles/moved");
    blog.cmd().arg("run").assert().code(0);
    let links = blog.status();
    assert_eq!(find(&links, &srv.url("/articles/moved"))["state"], "ok");
    assert!(
        srv.hits("/articles/moved") > hits,
        "the new address was fetched"
    );
    for archived in [&copy, &image] {
        let l = find(&links, archived);
        assert_eq!(l["state"], "ok", "{l}");
        assert!(
            l["error"].as_str().unwrap().contains("archived copy"),
            "{l}"
        );
    }
    assert_eq!(
        links.len(),
        3,
        "the old links are no longer cited: {links:?}"
    );
    // Once is enough.
    let again = blog.cmd().args(["fix", "--apply"]).output().unwrap();
    assert!(String::from_utf8_lossy(&again.stdout).contains("nothing to change"));
}

/// Annotating keeps the dead link (still reported broken) and adds its copy, once.
#[test]
fn annotate_then_run_keeps_the_dead_link_and_adds_its_copy_once() {
    let srv = TestServer::start(Routes::new().at("/gone", |_| status(410)));
    let blog = Blog::new();
    blog.config("[alerts]\nconfirm_checks = 1\nconfirm_period = \"0s\"\nlog = false\n")
        .post("post.md", &format!("See [it]({}).\n", srv.url("/gone")));
    blog.cmd().arg("run").assert().code(2);
    // No look-ups here ([archive] wayback = false): without a copy the link is listed.
    let out = blog.cmd().args(["fix", "--apply"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("not touched:") && stdout.contains("no archived copy"),
        "{stdout}"
    );
    let conn = rusqlite::Connection::open(blog.db()).unwrap();
    let copy = format!(
        "https://web.archive.org/web/20190325000000/{}",
        srv.url("/gone")
    );
    conn.execute(
        "INSERT INTO wayback (link_id, looked_up_at, archived_url, timestamp)
         SELECT id, ?2, ?1, '20190325000000' FROM links WHERE url LIKE '%/gone'",
        rusqlite::params![copy, day(0)],
    )
    .unwrap();
    blog.cmd().args(["fix", "--apply"]).assert().success();
    let text = std::fs::read_to_string(blog.path().join("posts/post.md")).unwrap();
    assert_eq!(
        text,
        format!("See [it]({}) ([archived]({copy})).\n", srv.url("/gone"))
    );
    blog.cmd().arg("run").assert().code(2);
    let links = blog.status();
    assert_eq!(find(&links, &srv.url("/gone"))["state"], "broken");
    assert_eq!(find(&links, &copy)["state"], "ok");
    blog.cmd().args(["fix", "--apply"]).assert().success();
    assert_eq!(
        std::fs::read_to_string(blog.path().join("posts/post.md")).unwrap(),
        text
    );
}

/// Makes a folder refuse new entries while this value lives: `chmod 555` for a user, the
/// immutable flag (`chattr +i`) for root, whom permission bits do not stop.
struct Unwritable(PathBuf);

impl Unwritable {
    fn new(dir: &Path) -> Unwritable {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o555)).unwrap();
        let guard = Unwritable(dir.to_path_buf());
        if std::fs::write(dir.join(".probe"), b"").is_ok() {
            std::fs::remove_file(dir.join(".probe")).unwrap();
            set_immutable(dir, true).unwrap_or_else(|e| {
                panic!(
                    "cannot make {} unwritable for root (chattr +i: {e}); this test needs an \
                     ext4/xfs/btrfs temp folder and CAP_LINUX_IMMUTABLE",
                    dir.display()
                )
            });
            assert!(
                std::fs::write(dir.join(".probe"), b"").is_err(),
                "the immutable folder took a new file"
            );
        }
        guard
    }
}

impl Drop for Unwritable {
    fn drop(&mut self) {
        use std::os::unix::fs::PermissionsExt;
        let _ = set_immutable(&self.0, false);
        let _ = std::fs::set_permissions(&self.0, std::fs::Permissions::from_mode(0o755));
    }
}

/// Sets or clears a folder's immutable flag (`FS_IOC_SETFLAGS`, as `chattr` does).
fn set_immutable(dir: &Path, on: bool) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    /// `FS_IMMUTABLE_FL` from linux/fs.h.
    const IMMUTABLE: libc::c_int = 0x10;
    let f = std::fs::File::open(dir)?;
    let mut flags: libc::c_int = 0;
    // SAFETY: both ioctls read or write one int through a pointer to a live local.
    unsafe {
        if libc::ioctl(f.as_raw_fd(), libc::FS_IOC_GETFLAGS, &mut flags) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        flags = if on {
            flags | IMMUTABLE
        } else {
            flags & !IMMUTABLE
        };
        if libc::ioctl(f.as_raw_fd(), libc::FS_IOC_SETFLAGS, &flags) != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// README ("Repairing rotted citations"): `fix` exits 1 when a post could not be written, leaves
/// it as it was, and still writes the others; its JSON has the documented keys, literally.
#[test]
fn a_post_that_cannot_be_written_makes_fix_exit_1_and_the_json_says_why() {
    let blog = blog_with("", "");
    blog.post("ro/a.md", "[moved](https://old.example.org/post)\n")
        .post(
            "b.md",
            "[gone](https://gone.example.org/x) and [lost](https://nocopy.example.org/y).\n",
        )
        .post("c.md", "Also [moved](https://old.example.org/post).\n");
    blog.cmd().arg("scan").assert().success();
    record_facts(
        &blog.db(),
        &format!("{FACTS}broken\thttps://nocopy.example.org/y\t-\n"),
    );
    // Edited after the scan: skipped.
    blog.post(
        "c.md",
        "Also, edited, [moved](https://old.example.org/post).\n",
    );
    let ro = blog.path().join("posts/ro");
    let guard = Unwritable::new(&ro);
    let out = blog
        .cmd()
        .args(["fix", "--apply", "--format", "json"])
        .output()
        .unwrap();
    drop(guard);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)));
    assert_eq!(
        std::fs::read_to_string(ro.join("a.md")).unwrap(),
        "[moved](https://old.example.org/post)\n",
        "the post that could not be written is left as it was"
    );
    let left: Vec<_> = std::fs::read_dir(&ro)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, ["a.md"], "no temporary file is left behind");
    assert!(
        std::fs::read_to_string(blog.path().join("posts/b.md"))
            .unwrap()
            .contains("([archived](https://web.archive.org/web/20190325000000/https://gone.example.org/x))"),
        "the other post is written"
    );

    use crate::contract::assert_keys;
    assert_keys(
        "`fix --format json`",
        &json,
        &["applied", "edits", "listed", "skipped", "written", "failed"],
    );
    assert_eq!(json["applied"], true);
    let failed = json["failed"].as_array().unwrap();
    assert_eq!(failed.len(), 1, "{json}");
    assert_keys("a failed post", &failed[0], &["post", "why"]);
    assert!(
        failed[0]["post"].as_str().unwrap().ends_with("ro/a.md"),
        "{json}"
    );
    assert!(
        failed[0]["why"]
            .as_str()
            .unwrap()
            .contains("left as it was"),
        "{json}"
    );
    let written = json["written"].as_array().unwrap();
    assert_eq!(written.len(), 1, "{json}");
    assert!(written[0].as_str().unwrap().ends_with("b.md"), "{json}");
    let edit = &json["edits"][0];
    assert_keys(
        "an edit",
        edit,
        &[
            "post",
            "line",
            "old",
            "new",
            "why",
            "kind",
            "action",
            "url",
            "citations",
        ],
    );
    let listed = json["listed"].as_array().unwrap();
    assert_eq!(listed.len(), 1, "{json}");
    assert_keys(
        "a listed citation",
        &listed[0],
        &["post", "line", "url", "kind", "why"],
    );
    assert_eq!(listed[0]["url"], "https://nocopy.example.org/y");
    let skipped = json["skipped"].as_array().unwrap();
    assert_eq!(skipped.len(), 1, "{json}");
    assert_keys("a skipped post", &skipped[0], &["post", "why"]);
    assert!(
        skipped[0]["post"].as_str().unwrap().ends_with("c.md"),
        "{json}"
    );
}
