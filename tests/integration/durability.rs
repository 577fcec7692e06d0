//! What is on disk when citewatch stops, and what it does with a file it cannot trust: the
//! database file alone holds everything after any exit (the write-ahead log is folded back), a
//! backup is one consistent file even beside a running daemon, a foreign, truncated or damaged
//! file at the database path is refused and left untouched, and a full disk stops a one-shot
//! command within seconds with what it had written intact.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::cli::{count, Blog};
use crate::server::{article, html, Routes, TestServer};
use crate::support::wait_for;

/// A blog of `n` posts, each citing one article page of `site`.
fn blog_citing(site: &TestServer, n: usize) -> Blog {
    let blog = Blog::new();
    blog.config("");
    for i in 0..n {
        blog.post(
            &format!("p{i}.md"),
            &format!("# Post {i}\n\n[source]({})\n", site.url(&format!("/a{i}"))),
        );
    }
    blog
}

fn articles(n: usize) -> TestServer {
    (0..n)
        .fold(Routes::new(), |r, i| {
            r.at(&format!("/a{i}"), move |_| {
                html(&article(&format!("Article {i}"), i))
            })
        })
        .pipe(TestServer::start)
}

trait Pipe: Sized {
    fn pipe<T>(self, f: impl FnOnce(Self) -> T) -> T {
        f(self)
    }
}
impl<T> Pipe for T {}

fn wal_of(db: &Path) -> PathBuf {
    let mut p = db.as_os_str().to_owned();
    p.push("-wal");
    PathBuf::from(p)
}

/// The `.db` file copied alone (as a careless backup or a move without its `-wal` would), then
/// counted: what a user holding only that file has.
fn checks_in_copy_of(db: &Path) -> i64 {
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("copy.db");
    std::fs::copy(db, &copy).unwrap();
    let conn = rusqlite::Connection::open(&copy).unwrap();
    count(&conn, "SELECT COUNT(*) FROM checks")
}

fn wal_len(db: &Path) -> u64 {
    std::fs::metadata(wal_of(db)).map(|m| m.len()).unwrap_or(0)
}

/// Regression (issue 19): after `run` exited, everything it wrote was still in `citewatch.db-wal`
/// and the `.db` file alone was an empty 4 KiB database.
#[test]
fn regression_the_database_file_alone_holds_a_finished_run() {
    let site = articles(6);
    let blog = blog_citing(&site, 6);
    blog.cmd().args(["run"]).assert().success();
    assert_eq!(
        wal_len(&blog.db()),
        0,
        "the write-ahead log was folded back"
    );
    assert_eq!(
        checks_in_copy_of(&blog.db()),
        6,
        "the .db file alone has every check"
    );

    // A failing run (exit 2) and a query command leave it the same way.
    blog.post("bad.md", &format!("[x]({})\n", site.url("/missing")));
    blog.cmd().args(["run"]).assert().code(2);
    blog.cmd().args(["status"]).assert().code(2);
    assert_eq!(wal_len(&blog.db()), 0);
    assert_eq!(checks_in_copy_of(&blog.db()), 13);
}

/// The daemon folds the log back when it stops too.
#[test]
fn the_database_file_alone_holds_what_a_stopped_daemon_wrote() {
    let site = articles(3);
    let blog = blog_citing(&site, 3);
    blog.config("[schedule]\ncron = \"* * * * * *\"\n");
    let mut d = blog.spawn(&["daemon"], &[]);
    wait_for("the first checks", Duration::from_secs(60), || {
        blog.count("SELECT COUNT(*) FROM checks") >= 3
    });
    crate::daemon::signal(&d, "TERM");
    assert!(d.wait().unwrap().success(), "{}", blog.log_of("daemon"));
    assert_eq!(wal_len(&blog.db()), 0, "{}", blog.log_of("daemon"));
    assert_eq!(checks_in_copy_of(&blog.db()), 3);
}

/// `db backup` writes one consistent file, with no `-wal` beside it, while a daemon keeps
/// writing; it refuses to overwrite a file.
#[test]
fn db_backup_is_one_consistent_file_even_beside_a_running_daemon() {
    let site = articles(20);
    let blog = blog_citing(&site, 20);
    blog.config("[schedule]\ncron = \"* * * * * *\"\n");
    let mut d = blog.spawn(&["daemon"], &[]);
    wait_for("the first checks", Duration::from_secs(60), || {
        blog.count("SELECT COUNT(*) FROM checks") >= 20
    });
    let out = tempfile::tempdir().unwrap();
    let mut copies = Vec::new();
    for i in 0..3 {
        let file = out.path().join(format!("b{i}.db"));
        blog.cmd()
            .args(["db", "backup"])
            .arg(&file)
            .assert()
            .success();
        copies.push(file);
    }
    // The daemon was writing all along: its checks went on between the backups.
    let running = blog.count("SELECT COUNT(*) FROM checks");
    crate::daemon::signal(&d, "TERM");
    assert!(d.wait().unwrap().success(), "{}", blog.log_of("daemon"));
    for file in &copies {
        assert!(!wal_of(file).exists(), "a backup is one file");
        let conn = rusqlite::Connection::open(file).unwrap();
        let ok: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(ok, "ok");
        assert_eq!(count(&conn, "SELECT COUNT(*) FROM links"), 20);
        let n = count(&conn, "SELECT COUNT(*) FROM checks");
        assert!((20..=running).contains(&n), "{n} checks of {running}");
        // Every check's state agrees with its link: no half-written unit.
        assert_eq!(
            count(
                &conn,
                "SELECT COUNT(*) FROM checks c LEFT JOIN links l ON l.id = c.link_id WHERE l.id IS NULL"
            ),
            0
        );
    }
    // The backup opens as a citewatch database.
    let restored = Blog::new();
    restored.config("");
    std::fs::copy(&copies[0], restored.db()).unwrap();
    let rows = restored.status();
    assert_eq!(rows.len(), 20);
    // Never over an existing file.
    blog.cmd()
        .args(["db", "backup"])
        .arg(&copies[0])
        .assert()
        .code(1)
        .stderr(predicates::str::contains("already exists"));
}

fn digest(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap_or_default()
}

/// A file at the database path that is not a citewatch database is refused with its name, never
/// written to, never replaced by a new database.
#[test]
fn a_foreign_truncated_or_damaged_file_is_refused_and_left_untouched() {
    let site = articles(3);
    let good = blog_citing(&site, 3);
    good.cmd().args(["run"]).assert().success();
    let good_bytes = std::fs::read(good.db()).unwrap();
    assert!(good_bytes.len() > 3 * 4096, "a database of several pages");

    let foreign = {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("other.db");
        let c = rusqlite::Connection::open(&p).unwrap();
        c.execute_batch("CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('mine');")
            .unwrap();
        drop(c);
        std::fs::read(&p).unwrap()
    };
    let mut damaged = good_bytes.clone();
    damaged[16] = 3; // a page size no SQLite file has
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "text",
            b"db = 1\nnot a database at all\n".repeat(100),
            "not an SQLite database",
        ),
        (
            "truncated",
            good_bytes[..good_bytes.len() / 2 / 4096 * 4096].to_vec(),
            "truncated",
        ),
        ("torn", good_bytes[..50].to_vec(), "truncated"),
        ("damaged", damaged, "damaged"),
        ("foreign", foreign, "another program"),
    ];
    for (name, bytes, says) in cases {
        let blog = blog_citing(&site, 3);
        std::fs::write(blog.db(), &bytes).unwrap();
        for args in [&["run"][..], &["status"], &["scan"], &["db", "stats"]] {
            let out = blog.cmd().args(args).output().unwrap();
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(1), "{name} {args:?}: {err}");
            assert!(err.contains(says), "{name} {args:?}: {err}");
            assert!(
                err.contains("citewatch.db"),
                "the message names the file: {err}"
            );
            assert_eq!(
                digest(&blog.db()),
                bytes,
                "{name} {args:?}: the file is untouched"
            );
            assert!(
                !wal_of(&blog.db()).exists(),
                "{name}: nothing written beside it"
            );
        }
    }
}

/// Regression (issue 19): on a full disk `run` retried for up to 15 minutes. A one-shot command
/// now stops within seconds saying "database or disk is full", exit 1, and what it had committed
/// (the scan) is intact. The disk is a 600 KiB tmpfs in a mount namespace of the test's own.
#[test]
fn regression_a_full_disk_stops_a_run_within_seconds() {
    // Pages that do not compress well fill the small disk after a few snapshots.
    let site = (0..40)
        .fold(Routes::new(), |r, i| {
            r.at(&format!("/a{i}"), move |_| {
                let noise: String = (0..60_000u64)
                    .map(|k| {
                        let x = (k + 1)
                            .wrapping_mul(6364136223846793005)
                            .wrapping_add((i as u64).wrapping_mul(1442695040888963407));
                        char::from(b'a' + ((x >> 33) % 26) as u8)
                    })
                    .collect();
                html(&format!(
                    "<html><body><article><p>{noise}</p></article></body></html>"
                ))
            })
        })
        .pipe(TestServer::start);
    let blog = blog_citing(&site, 40);
    let disk = blog.path().join("disk");
    std::fs::create_dir_all(&disk).unwrap();
    blog.config("");
    let cfg = std::fs::read_to_string(blog.path().join("citewatch.toml"))
        .unwrap()
        .replace("db = \"citewatch.db\"", "db = \"disk/citewatch.db\"");
    std::fs::write(blog.path().join("citewatch.toml"), cfg).unwrap();
    let bin = assert_cmd::cargo::cargo_bin("citewatch");
    let script = format!(
        "set -u; mount -t tmpfs -o size=600k tmpfs disk || exit 99; \
         start=$(date +%s%N); {bin} run > run.out 2> run.err; echo $? > run.code; \
         end=$(date +%s%N); echo $(( (end - start) / 1000000 )) > run.ms; \
         {bin} status --format json > status.json 2> status.err; echo $? > status.code",
        bin = bin.display()
    );
    let started = Instant::now();
    let out = std::process::Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c", &script])
        .current_dir(blog.path())
        .env_remove("RUST_LOG")
        .output()
        .expect("unshare (util-linux) runs the command in a mount namespace of its own");
    assert!(
        out.status.success(),
        "the mount namespace could not be set up: {out:?}"
    );
    let read = |f: &str| std::fs::read_to_string(blog.path().join(f)).unwrap_or_default();
    let err = read("run.err");
    assert_eq!(read("run.code").trim(), "1", "exit 1 on a full disk: {err}");
    assert!(err.contains("database or disk is full"), "{err}");
    let ms: u64 = read("run.ms").trim().parse().unwrap();
    assert!(
        ms < 60_000 && started.elapsed() < Duration::from_secs(120),
        "stopped within seconds, not after 15 minutes of retries: {ms} ms"
    );
    // The scan was committed before the disk filled: every cited link is still listed.
    assert!(
        matches!(read("status.code").trim(), "0" | "2"),
        "{}",
        read("status.err")
    );
    let rows: serde_json::Value = serde_json::from_str(&read("status.json")).unwrap();
    assert_eq!(rows.as_array().map(|a| a.len()), Some(40), "{rows}");
}
