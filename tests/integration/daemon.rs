//! The daemon as a real process with a schedule of every second: confirmed alerts exactly once,
//! recovery, a failing webhook, restarts and kill -9, SIGHUP with a bad config, SIGTERM, the
//! command sink and the systemd notify protocol.

use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::process::Child;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::cli::Blog;
use crate::server::{html, status, with_headers, Routes, TestServer};
use crate::support::{wait_for, Receiver};

fn spawn(blog: &Blog, env: &[(&str, &str)]) -> Child {
    blog.spawn(&["daemon"], env)
}

pub fn signal(child: &Child, sig: &str) {
    let ok = std::process::Command::new("kill")
        .args([&format!("-{sig}"), &child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill -{sig}");
}

fn log(blog: &Blog) -> String {
    blog.log_of("daemon")
}

fn daemon_config(hook_url: &str, out: &Path, extra: &str) -> String {
    format!(
        "[schedule]\ncron = \"* * * * * *\"\nrecheck_ok = \"0s\"\nrecheck_failing = \"0s\"\ngrace = \"5s\"\n\
         [alerts]\nconfirm_checks = 2\nconfirm_period = \"0s\"\nretry_interval = \"1s\"\n\
         [[alerts.webhook]]\nurl = \"{hook_url}\"\ntext_field = true\n\
         [[alerts.command]]\nargv = [\"sh\", \"-c\", \"cat >> \\\"$0\\\"; echo >> \\\"$0\\\"\", \"{}\"]\n{extra}",
        out.display()
    )
}

#[test]
fn alerts_once_on_confirmation_and_on_recovery_across_restarts() {
    let broken = Arc::new(AtomicBool::new(false));
    let b2 = broken.clone();
    let site = TestServer::start(
        Routes::new()
            .at("/flip", move |_| {
                if b2.load(Ordering::SeqCst) {
                    status(404)
                } else {
                    html("<p>here</p>")
                }
            })
            .at("/steady", |_| html("<p>steady</p>")),
    );
    let hook = Receiver::failing_first(1);
    let blog = Blog::new();
    let out = blog.path().join("command-events.jsonl");
    blog.config(&daemon_config(&hook.url(), &out, "")).post(
        "p.md",
        &format!(
            "---\ntitle: P\n---\nSee [flip]({}) and [steady]({}).\n",
            site.url("/flip"),
            site.url("/steady")
        ),
    );
    let mut d = spawn(&blog, &[]);
    wait_for("first checks", Duration::from_secs(60), || {
        site.hits("/flip") >= 2
    });
    assert!(
        hook.events_of("confirmed").is_empty(),
        "no alert while fine"
    );

    broken.store(true, Ordering::SeqCst);
    wait_for("the confirmed alert", Duration::from_secs(60), || {
        !hook.events_of("confirmed").is_empty()
    });
    let confirmed = hook.events_of("confirmed");
    let e = &confirmed[0];
    assert_eq!(e["url"], site.url("/flip"));
    assert_eq!(e["new_state"], "broken");
    assert_eq!(e["http_status"], 404);
    assert_eq!(e["citations"][0]["post"], "p.md");
    assert_eq!(e["citations"][0]["line"], 4);
    assert!(e["text"].as_str().unwrap().contains("broken"));
    // More cycles find it still broken: no new alert.
    let hits = site.hits("/flip");
    wait_for("more cycles", Duration::from_secs(60), || {
        site.hits("/flip") >= hits + 3
    });
    assert_eq!(hook.events_of("confirmed").len(), 1, "alerted once");

    // kill -9 and restart: nothing re-sent, nothing lost.
    d.kill().unwrap();
    d.wait().unwrap();
    let mut d = spawn(&blog, &[]);
    let hits = site.hits("/flip");
    wait_for("cycles after restart", Duration::from_secs(60), || {
        site.hits("/flip") >= hits + 3
    });
    assert_eq!(
        hook.events_of("confirmed").len(),
        1,
        "not re-sent after kill -9"
    );

    broken.store(false, Ordering::SeqCst);
    wait_for("the recovery alert", Duration::from_secs(60), || {
        !hook.events_of("recovered").is_empty()
    });
    assert_eq!(hook.events_of("recovered")[0]["new_state"], "ok");

    // The command sink got the same events as JSON on stdin.
    wait_for("command sink output", Duration::from_secs(60), || {
        std::fs::read_to_string(&out)
            .unwrap_or_default()
            .contains("recovered")
    });
    let cmd = std::fs::read_to_string(&out).unwrap();
    assert!(cmd.contains("\"event\": \"confirmed\""), "{cmd}");
    // The outbox says every delivery is done; the webhook's first failure was retried.
    signal(&d, "TERM");
    let t = Instant::now();
    let status = d.wait().unwrap();
    assert!(
        status.success(),
        "SIGTERM exits 0: {status:?}\n{}",
        log(&blog)
    );
    assert!(t.elapsed() < Duration::from_secs(60));
    let alerts = blog.json(&["alerts", "--format", "json"]);
    let alerts = alerts.as_array().unwrap();
    assert_eq!(alerts.len(), 2, "{alerts:?}");
    for a in alerts {
        for d in a["deliveries"].as_array().unwrap() {
            assert_eq!(d["state"], "delivered", "{a}");
        }
    }
    let webhook_attempts: u64 = alerts
        .iter()
        .flat_map(|a| a["deliveries"].as_array().unwrap().iter())
        .filter(|d| d["sink"].as_str().unwrap().starts_with("webhook:"))
        .map(|d| d["attempts"].as_u64().unwrap())
        .sum();
    assert_eq!(webhook_attempts, 3, "one failure, then each event once");
    assert_eq!(hook.events().len(), 2, "each event received once");
}

#[test]
fn sighup_with_a_broken_config_keeps_the_old_one() {
    let site = TestServer::start(Routes::new().at("/a", |_| html("<p>a</p>")));
    let hook = Receiver::start();
    let blog = Blog::new();
    let out = blog.path().join("cmd.jsonl");
    blog.config(&daemon_config(&hook.url(), &out, ""))
        .post("p.md", &format!("<{}>\n", site.url("/a")));
    let d = spawn(&blog, &[]);
    wait_for("first check", Duration::from_secs(60), || {
        site.hits("/a") >= 1
    });
    std::fs::write(
        blog.path().join("citewatch.toml"),
        "[check]\ntimeout = \"never\"\n",
    )
    .unwrap();
    signal(&d, "HUP");
    wait_for("the rejection in the log", Duration::from_secs(60), || {
        log(&blog).contains("keeping the old one")
    });
    let hits = site.hits("/a");
    wait_for("checks go on", Duration::from_secs(60), || {
        site.hits("/a") >= hits + 2
    });
    assert!(log(&blog).contains("check.timeout"), "{}", log(&blog));
    signal(&d, "TERM");
    let mut d = d;
    assert!(d.wait().unwrap().success());
}

#[test]
fn systemd_notify_ready_and_stopping() {
    let site = TestServer::start(Routes::new().at("/a", |_| html("<p>a</p>")));
    let hook = Receiver::start();
    let blog = Blog::new();
    let out = blog.path().join("cmd.jsonl");
    blog.config(&daemon_config(&hook.url(), &out, ""))
        .post("p.md", &format!("<{}>\n", site.url("/a")));
    let sock_path = blog.path().join("notify.sock");
    let sock = UnixDatagram::bind(&sock_path).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let mut d = spawn(
        &blog,
        &[
            ("NOTIFY_SOCKET", sock_path.to_str().unwrap()),
            ("WATCHDOG_USEC", "2000000"),
        ],
    );
    let mut seen = String::new();
    let mut buf = [0u8; 4096];
    while !seen.contains("READY=1") {
        let n = sock.recv(&mut buf).expect("a notify message");
        seen.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    assert!(seen.contains("STATUS=next cycle"), "{seen}");
    while !seen.contains("WATCHDOG=1") {
        let n = sock.recv(&mut buf).expect("a watchdog ping");
        seen.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    signal(&d, "TERM");
    while !seen.contains("STOPPING=1") {
        let n = sock.recv(&mut buf).expect("STOPPING");
        seen.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    assert!(d.wait().unwrap().success());
}

#[test]
fn the_daemon_thins_old_repeated_checks_and_keeps_transitions() {
    let site = TestServer::start(Routes::new().at("/page", |_| html("<p>steady</p>")));
    let blog = Blog::new();
    blog.config(
        "[schedule]\ncron = \"* * * * * *\"\nrecheck_ok = \"0s\"\n[retention]\nthin_checks_after = \"30d\"\n",
    )
    .post("p.md", &format!("[page]({})\n", site.url("/page")));
    for _ in 0..4 {
        blog.cmd().arg("run").assert().success();
    }
    // Make that history a year old.
    let conn = rusqlite::Connection::open(blog.db()).unwrap();
    conn.execute(
        "UPDATE checks SET checked_at = '2025-01-0' || id || 'T00:00:00Z'",
        [],
    )
    .unwrap();
    let count = |sql: &str| crate::cli::count(&conn, sql);
    let old = "SELECT COUNT(*) FROM checks WHERE checked_at < '2026-01-01'";
    assert_eq!(count(old), 4);
    let mut d = spawn(&blog, &[]);
    wait_for("a check cycle", Duration::from_secs(60), || {
        count("SELECT COUNT(*) FROM checks WHERE checked_at >= '2026-01-01'") >= 1
    });
    wait_for("thinning", Duration::from_secs(60), || count(old) == 1);
    signal(&d, "TERM");
    assert!(d.wait().unwrap().success(), "{}", log(&blog));
    // The first check of the year-old run stays (it archived the page and began the state).
    let first: String = conn
        .query_row("SELECT MIN(checked_at) FROM checks", [], |r| r.get(0))
        .unwrap();
    assert_eq!(first, "2025-01-01T00:00:00Z");
    assert!(
        log(&blog).contains("retention: thinned 3"),
        "{}",
        log(&blog)
    );
}

/// The real process under a real `NOTIFY_SOCKET` and `WATCHDOG_USEC`: `WATCHDOG=1` keeps coming
/// while a long cycle runs (regression: none came until the cycle ended).
#[test]
fn regression_watchdog_pings_reach_systemd_during_a_long_cycle() {
    let site = TestServer::start((0..8).fold(Routes::new(), |r, i| {
        r.at(&format!("/slow{i}"), |_| {
            crate::server::Reply::Delayed(Duration::from_millis(400), Box::new(html("<p>x</p>")))
        })
    }));
    let blog = Blog::new();
    blog.config("per_host_concurrency = 1\n[schedule]\ncron = \"* * * * * *\"\n")
        .post(
            "p.md",
            &(0..8)
                .map(|i| format!("<{}>\n", site.url(&format!("/slow{i}"))))
                .collect::<String>(),
        );
    let sock_path = blog.path().join("notify.sock");
    let sock = UnixDatagram::bind(&sock_path).unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let mut d = spawn(
        &blog,
        &[
            ("NOTIFY_SOCKET", sock_path.to_str().unwrap()),
            // Pinged every 250 ms.
            ("WATCHDOG_USEC", "500000"),
        ],
    );
    // Every ping with when it came, until the cycle's last request has started.
    let mut pings = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = Instant::now() + Duration::from_secs(60);
    while site.starts("/slow").len() < 8 {
        assert!(
            Instant::now() < deadline,
            "the cycle never reached its last request"
        );
        if let Ok(n) = sock.recv(&mut buf) {
            let at = Instant::now();
            let n = String::from_utf8_lossy(&buf[..n])
                .matches("WATCHDOG=1")
                .count();
            pings.extend(std::iter::repeat_n(at, n));
        }
    }
    // Order, not a count in a time window: one request at a time, 400 ms each, and a ping
    // (every 250 ms) between each request of the cycle and the one after the next.
    let mut starts = site.starts("/slow");
    starts.sort();
    for (i, w) in starts.windows(3).enumerate() {
        assert!(
            pings.iter().any(|p| *p > w[0] && *p < w[2]),
            "no WATCHDOG=1 between the cycle's request {i} and request {} ({:?} apart)",
            i + 2,
            w[2] - w[0]
        );
    }
    signal(&d, "TERM");
    assert!(d.wait().unwrap().success(), "{}", log(&blog));
}

/// kill -9 after a verdict and its alert were written but before the alert was delivered: the
/// next start delivers it, exactly once.
#[test]
fn kill_9_between_a_verdict_and_its_delivery_then_restart_delivers_once() {
    let site = TestServer::start(Routes::new().at("/gone", |_| status(404)));
    let hook = Receiver::start();
    hook.stall.on();
    let blog = Blog::new();
    blog.config(&format!(
        "[schedule]\ncron = \"* * * * * *\"\nrecheck_ok = \"1h\"\nrecheck_failing = \"1h\"\n\
         [alerts]\nconfirm_checks = 1\nconfirm_period = \"0s\"\nretry_interval = \"1s\"\n\
         [[alerts.webhook]]\nurl = \"{}\"\ntimeout = \"30s\"\n",
        hook.url()
    ))
    .post("p.md", &format!("[gone]({})\n", site.url("/gone")));
    let mut d = spawn(&blog, &[]);
    wait_for("the delivery under way", Duration::from_secs(60), || {
        hook.hits() >= 1
    });
    // While the delivery stalls the loop waits; it does not spin (a wake-up for work that cannot
    // start made it busy-loop once).
    let cpu = |pid: u32| -> f64 {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
        let after = &stat[stat.rfind(')').unwrap() + 2..];
        let f: Vec<&str> = after.split_whitespace().collect();
        (f[11].parse::<f64>().unwrap() + f[12].parse::<f64>().unwrap()) / 100.0
    };
    let (c0, t0) = (cpu(d.id()), Instant::now());
    std::thread::sleep(Duration::from_secs(2));
    let used = (cpu(d.id()) - c0) / t0.elapsed().as_secs_f64();
    assert!(
        used < 0.5,
        "the daemon used {:.0} % of a core while waiting",
        used * 100.0
    );
    d.kill().unwrap(); // SIGKILL, mid-delivery
    d.wait().unwrap();
    let conn = rusqlite::Connection::open(blog.db()).unwrap();
    assert_eq!(
        crate::cli::count(&conn, "SELECT COUNT(*) FROM alert_events"),
        1
    );
    assert_eq!(
        crate::cli::count(
            &conn,
            "SELECT COUNT(*) FROM alert_deliveries WHERE state = 'pending' AND sink LIKE 'webhook:%'"
        ),
        1,
        "written with the verdict, not yet delivered"
    );
    hook.stall.off();
    let mut d = spawn(&blog, &[]);
    wait_for(
        "the delivery after the restart",
        Duration::from_secs(60),
        || !hook.events().is_empty(),
    );
    // What proves nothing more will come: the delivery is marked done (nothing is pending, so
    // nothing is retried), a later cycle has ended (one a second), then the daemon is gone.
    wait_for(
        "the delivery marked delivered",
        Duration::from_secs(60),
        || {
            blog.count("SELECT COUNT(*) FROM alert_deliveries WHERE state = 'pending'") == 0
                && blog.count("SELECT COUNT(*) FROM alert_deliveries WHERE state = 'delivered' AND sink LIKE 'webhook:%'") == 1
        },
    );
    let cycles = blog.count("SELECT COUNT(*) FROM cycles WHERE finished_at IS NOT NULL");
    wait_for("a later cycle to end", Duration::from_secs(60), || {
        blog.count("SELECT COUNT(*) FROM cycles WHERE finished_at IS NOT NULL") > cycles
    });
    signal(&d, "TERM");
    assert!(d.wait().unwrap().success(), "{}", log(&blog));
    wait_for(
        "every accepted connection to have sent its request",
        Duration::from_secs(10),
        || hook.srv.connections() == hook.srv.log().len(),
    );
    let got = hook.events();
    assert_eq!(got.len(), 1, "delivered once: {got:?}");
    assert_eq!(got[0]["url"], site.url("/gone"));
    assert_eq!(
        crate::cli::count(&conn, "SELECT COUNT(*) FROM alert_events"),
        1,
        "the restart wrote no second event"
    );
}

/// Regression: `db compact` beside the daemon made it exit 1 with "database is locked".
#[test]
fn regression_db_compact_during_a_daemon_cycle() {
    let site = TestServer::start((0..30).fold(Routes::new(), |r, i| {
        r.at(&format!("/p{i}"), move |_| {
            crate::server::Reply::Delayed(
                Duration::from_millis(50),
                Box::new(html(&crate::server::article("page", i))),
            )
        })
    }));
    let blog = Blog::new();
    blog.config("concurrency = 4\n[schedule]\ncron = \"* * * * * *\"\nrecheck_ok = \"0s\"\n")
        .post(
            "p.md",
            &(0..30)
                .map(|i| format!("<{}>\n", site.url(&format!("/p{i}"))))
                .collect::<String>(),
        );
    blog.cmd().arg("scan").assert().success();
    crate::cli::bloat(&blog.db());
    let mut d = spawn(&blog, &[]);
    wait_for("checks being written", Duration::from_secs(60), || {
        site.total_hits() >= 10
    });
    for _ in 0..4 {
        blog.cmd().args(["db", "compact"]).assert().success();
    }
    let hits = site.total_hits();
    wait_for(
        "more cycles after the compactions",
        Duration::from_secs(60),
        || site.total_hits() >= hits + 30,
    );
    assert!(
        d.try_wait().unwrap().is_none(),
        "the daemon is still running\n{}",
        log(&blog)
    );
    let text = log(&blog);
    assert!(
        !text.contains("cycle failed") && !text.contains("scan failed") && !text.contains("locked"),
        "every cycle went through: {text}"
    );
    signal(&d, "TERM");
    assert!(d.wait().unwrap().success(), "{}", log(&blog));
}

/// A configured canary that fails makes the cycle our own outage: no strikes, no alert.
#[test]
fn a_failing_canary_makes_the_cycle_count_no_strikes() {
    let site = TestServer::start(
        Routes::new()
            .at("/gone", |_| status(404))
            .at("/canary", |_| status(500)),
    );
    let blog = Blog::new();
    blog.config(&format!(
        "[schedule]\ncron = \"* * * * * *\"\nrecheck_failing = \"0s\"\n\
         [alerts]\nconfirm_checks = 1\nconfirm_period = \"0s\"\ncanaries = [\"{}\"]\n",
        site.url("/canary")
    ))
    .post("p.md", &format!("[gone]({})\n", site.url("/gone")));
    let mut d = spawn(&blog, &[]);
    wait_for("two cycles", Duration::from_secs(60), || {
        site.hits("/gone") >= 2
    });
    signal(&d, "TERM");
    assert!(d.wait().unwrap().success(), "{}", log(&blog));
    let conn = rusqlite::Connection::open(blog.db()).unwrap();
    assert_eq!(
        crate::cli::count(&conn, "SELECT COUNT(*) FROM alert_events"),
        0
    );
    assert!(crate::cli::count(&conn, "SELECT COUNT(*) FROM cycles WHERE outage = 'canary'") >= 2);
    assert!(log(&blog).contains("canary"), "{}", log(&blog));
}

/// A post folder deleted and created again is watched again: a post added afterwards is read at
/// once, not at the next scheduled scan (regression: the watch was lost with the folder).
#[test]
fn regression_a_recreated_posts_folder_is_watched_again() {
    let site = TestServer::start(
        Routes::new()
            .at("/a", |_| html("<p>a</p>"))
            .at("/b", |_| html("<p>b</p>"))
            .at("/c", |_| html("<p>c</p>")),
    );
    let blog = Blog::new();
    blog.config("[schedule]\ncron = \"0 0 1 1 *\"\nscan = \"0 0 1 1 *\"\n")
        .post("a.md", &format!("<{}>\n", site.url("/a")));
    let mut d = spawn(&blog, &[]);
    let db = blog.db();
    let cited = |n: i64| {
        let db = db.clone();
        move || {
            rusqlite::Connection::open(&db)
                .and_then(|c| {
                    c.query_row("SELECT COUNT(*) FROM citations", [], |r| r.get::<_, i64>(0))
                })
                .is_ok_and(|c| c == n)
        }
    };
    wait_for("the start-up scan", Duration::from_secs(60), cited(1));
    blog.post("b.md", &format!("<{}>\n", site.url("/b")));
    wait_for("the new post (watched)", Duration::from_secs(60), cited(2));
    let posts = blog.path().join("posts");
    std::fs::remove_dir_all(&posts).unwrap();
    std::fs::create_dir_all(&posts).unwrap();
    blog.post("c.md", &format!("<{}>\n", site.url("/c")));
    wait_for(
        "the re-created folder read",
        Duration::from_secs(60),
        cited(1),
    );
    blog.post("a.md", &format!("<{}>\n", site.url("/a")));
    wait_for(
        "a post added to the re-created folder",
        Duration::from_secs(60),
        cited(2),
    );
    signal(&d, "TERM");
    assert!(d.wait().unwrap().success(), "{}", log(&blog));
}

/// Regression: confirmations and alerts were written after the whole cycle, so a kill mid-cycle
/// lost them. A verdict with an answer is confirmed in the transaction that records it; a check
/// without one is left pending and decided by the next start.
#[test]
fn regression_a_kill_mid_cycle_loses_no_confirmation() {
    let site = TestServer::start((0..3).fold(
        Routes::new().at("/gone", |_| status(404)),
        |r, i| {
            r.at(&format!("/slow{i}"), |_| {
                crate::server::Reply::Delayed(Duration::from_secs(5), Box::new(html("<p>x</p>")))
            })
        },
    ));
    let closed = crate::support::ClosedPort::new();
    let refused = closed.url("/page");
    let blog = Blog::new();
    blog.config(
        "per_host_concurrency = 1\n[schedule]\ncron = \"* * * * * *\"\nrecheck_ok = \"1h\"\nrecheck_failing = \"1h\"\n\
         [alerts]\nconfirm_checks = 1\nconfirm_period = \"0s\"\n",
    )
    .post(
        "p.md",
        &format!(
            "[gone]({})\n<{refused}>\n{}",
            site.url("/gone"),
            (0..3)
                .map(|i| format!("<{}>\n", site.url(&format!("/slow{i}"))))
                .collect::<String>()
        ),
    );
    let mut d = spawn(&blog, &[]);
    let conn = rusqlite::Connection::open(blog.db()).unwrap();
    let count = |sql: &str| conn.query_row(sql, [], |r| r.get::<_, i64>(0)).unwrap_or(0);
    wait_for("the two quick verdicts", Duration::from_secs(60), || {
        count("SELECT COUNT(*) FROM checks") >= 2
    });
    assert!(
        !site.starts("/slow").is_empty(),
        "the cycle is still running"
    );
    d.kill().unwrap(); // SIGKILL mid-cycle
    d.wait().unwrap();
    assert_eq!(
        count("SELECT COUNT(*) FROM alert_events"),
        1,
        "the answered verdict's alert was written with it"
    );
    assert_eq!(
        count("SELECT COUNT(*) FROM confirmations WHERE pending_state IS NOT NULL"),
        1,
        "the unanswered one waits for its cycle's end"
    );
    let mut d = spawn(&blog, &[]);
    wait_for(
        "the cut cycle finished by the next start",
        Duration::from_secs(60),
        || count("SELECT COUNT(*) FROM alert_events") == 2,
    );
    assert_eq!(
        count("SELECT COUNT(*) FROM confirmations WHERE pending_state IS NOT NULL"),
        0
    );
    signal(&d, "TERM");
    assert!(d.wait().unwrap().success(), "{}", log(&blog));
    assert!(log(&blog).contains("cut short"), "{}", log(&blog));
}

/// The daemon looks up archived copies of links whose bad state is confirmed, in the background
/// after a cycle, and not of links that are merely failing.
#[test]
fn the_daemon_looks_up_archived_copies_of_confirmed_links() {
    let site = TestServer::start(
        Routes::new()
            .at("/gone", |_| status(404))
            .at("/wayback/available", |_| {
                with_headers(
                    200,
                    &[("content-type", "application/json")],
                    r#"{"archived_snapshots":{"closest":{"status":"200","available":true,"url":"http://web.archive.org/web/20200101000000/http://example.org/gone","timestamp":"20200101000000"}}}"#,
                )
            }),
    );
    let blog = Blog::new();
    blog.config(&format!(
        "[schedule]\ncron = \"* * * * * *\"\nrecheck_failing = \"0s\"\n\
         [alerts]\nconfirm_checks = 3\nconfirm_period = \"0s\"\n\
         [archive]\nwayback_endpoint = \"{}\"\nrequest_interval = \"10ms\"\n",
        site.url("/wayback/available")
    ))
    .post("p.md", &format!("[gone]({})\n", site.url("/gone")));
    let mut d = spawn(&blog, &[]);
    wait_for("the copy recorded", Duration::from_secs(60), || {
        blog.count("SELECT COUNT(*) FROM wayback WHERE archived_url LIKE '%20200101%'") == 1
    });
    signal(&d, "TERM");
    assert!(d.wait().unwrap().success(), "{}", log(&blog));
}

/// A posts folder removed with its files, noticed by the daemon, then created again with a new
/// post, as a user does it: the new post is read at once, not at the next scheduled scan (once a
/// year here). Regression (issue 19): the folder's watch died with it and the re-creation went
/// unnoticed, since the test above created the folder again before the daemon looked.
#[test]
fn regression_a_posts_folder_removed_noticed_and_created_again_is_watched() {
    let site = TestServer::start(
        Routes::new()
            .at("/a", |_| html("<p>a</p>"))
            .at("/c", |_| html("<p>c</p>")),
    );
    let blog = Blog::new();
    blog.config("[schedule]\ncron = \"0 0 1 1 *\"\nscan = \"0 0 1 1 *\"\n")
        .post("a.md", &format!("<{}>\n", site.url("/a")));
    let mut d = spawn(&blog, &[]);
    let present = |path: &str| {
        blog.count(&format!(
            "SELECT COUNT(*) FROM posts WHERE present = 1 AND path = '{path}'"
        ))
    };
    wait_for("the start-up scan", Duration::from_secs(60), || {
        present("a.md") == 1
    });
    let posts = blog.path().join("posts");
    std::fs::remove_dir_all(&posts).unwrap();
    // The daemon has noticed: the removal started a scan, which found no folder.
    wait_for(
        "the scan of the missing folder",
        Duration::from_secs(60),
        || log(&blog).contains("does not exist"),
    );
    std::fs::create_dir(&posts).unwrap();
    blog.post("c.md", &format!("<{}>\n", site.url("/c")));
    wait_for(
        "the post in the re-created folder",
        Duration::from_secs(30),
        || present("c.md") == 1 && present("a.md") == 0,
    );
    // And the folder is watched again: a second post is read too.
    blog.post("a.md", &format!("<{}>\n", site.url("/a")));
    wait_for(
        "a second post in the re-created folder",
        Duration::from_secs(30),
        || present("a.md") == 1,
    );
    signal(&d, "TERM");
    assert!(d.wait().unwrap().success(), "{}", log(&blog));
}
