//! The daemon in-process, driven by a manual clock and a recording notifier: watchdog pings
//! during a long cycle and during a stalled delivery, reload and stop during a cycle, a reload that
//! removes a sink, thinning once a day, an offline cycle, a hostile page. Each test says what broke
//! before.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use citewatch::clock::ManualClock;
use citewatch::config::Config;
use citewatch::daemon::{self, Control, Deps};
use citewatch::store::Writer;
use citewatch::systemd::Notify;
use tokio::sync::{mpsc, oneshot};

use crate::cli::{count, Blog};
use crate::server::{html, status, Reply, Routes, TestServer};
use crate::support::{wait_for, ClosedPort, Receiver};

/// What the daemon told its service manager, with when (real time).
#[derive(Default)]
pub struct Recorder {
    calls: Mutex<Vec<(String, Instant)>>,
    interval: Option<Duration>,
}

impl Recorder {
    fn push(&self, what: &str) {
        self.calls
            .lock()
            .unwrap()
            .push((what.to_string(), Instant::now()));
    }

    /// Watchdog pings at or after `since`.
    pub fn pings_since(&self, since: Instant) -> usize {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .filter(|(w, t)| w == "watchdog" && *t >= since)
            .count()
    }

    /// When each `what` was told, in order.
    pub fn times(&self, what: &str) -> Vec<Instant> {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .filter(|(w, _)| w == what)
            .map(|(_, t)| *t)
            .collect()
    }

    pub fn saw(&self, what: &str) -> bool {
        self.count(what) > 0
    }

    pub fn count(&self, what: &str) -> usize {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .filter(|(w, _)| w == what)
            .count()
    }
}

impl Notify for Recorder {
    fn ready(&self, _: &str) {
        self.push("ready");
    }
    fn status(&self, _: &str) {
        self.push("status");
    }
    fn watchdog(&self) {
        self.push("watchdog");
    }
    fn reloading(&self) {
        self.push("reloading");
    }
    fn stopping(&self) {
        self.push("stopping");
    }
    fn watchdog_interval(&self) -> Option<Duration> {
        self.interval
    }
}

pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 30).unwrap()
}

/// A daemon running in this process on its own runtime thread.
pub struct Running {
    pub clock: Arc<ManualClock>,
    pub notes: Arc<Recorder>,
    pub control: mpsc::Sender<Control>,
    pub writer: Writer,
    stop: Option<oneshot::Sender<()>>,
    done: std::sync::mpsc::Receiver<Result<(), String>>,
    /// Says when the daemon's runtime has been dropped: every task it spawned is gone, so
    /// nothing more can come from it.
    gone: std::sync::mpsc::Receiver<()>,
}

/// Configuration for in-process daemons: a cycle every minute on the manual clock, no rescan
/// schedule to speak of, every link due every cycle.
pub fn config_text(extra_check: &str, rest: &str) -> String {
    format!(
        "{extra_check}\n[schedule]\ncron = \"* * * * *\"\nscan = \"0 0 1 1 *\"\nrecheck_ok = \"0s\"\nrecheck_failing = \"0s\"\ngrace = \"1s\"\n{rest}"
    )
}

impl Running {
    /// Starts the daemon on `blog` (its citewatch.toml) with a watchdog of `watchdog` (the
    /// interval the daemon pings at), `reload` returning the config to switch to on SIGHUP.
    pub fn start(
        blog: &Blog,
        watchdog: Option<Duration>,
        reload: Option<Arc<dyn Fn() -> Result<Config, String> + Send + Sync>>,
    ) -> Running {
        let cfg = Config::load(&blog.path().join("citewatch.toml")).unwrap();
        let writer = Writer::start(&cfg.db).unwrap();
        let clock = Arc::new(ManualClock::new(t0()));
        let notes = Arc::new(Recorder {
            interval: watchdog,
            ..Default::default()
        });
        let (control, rx) = mpsc::channel(8);
        let (stop, stopped) = oneshot::channel::<()>();
        let (done_tx, done) = std::sync::mpsc::channel();
        let (gone_tx, gone) = std::sync::mpsc::channel();
        let keep = cfg.clone();
        let deps = Deps {
            config: cfg,
            writer: writer.clone(),
            reload: match reload {
                Some(r) => Box::new(move || r()),
                None => Box::new(move || Ok(keep.clone())),
            },
            clock: clock.clone(),
            notifier: notes.clone(),
            control: rx,
        };
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            let r = rt.block_on(daemon::run(deps, async {
                let _ = stopped.await;
            }));
            let _ = done_tx.send(r.map_err(|e| e.to_string()));
            drop(rt);
            let _ = gone_tx.send(());
        });
        Running {
            clock,
            notes,
            control,
            writer,
            stop: Some(stop),
            done,
            gone,
        }
    }

    /// Moves the clock to the next cycle (a minute on), without waiting for it.
    pub fn next_minute(&self) {
        self.clock.advance(chrono::Duration::seconds(60));
    }

    /// Moves the clock by `by` (past a cycle's time) and waits until that cycle has ended: the
    /// daemon reports its status after each cycle. Moving the clock while a cycle still runs
    /// would skip the next one.
    pub fn cycle_after(&self, by: chrono::Duration) {
        let before = self.notes.count("status");
        self.clock.advance(by);
        wait_for("the cycle to end", Duration::from_secs(30), || {
            self.notes.count("status") > before
        });
    }

    /// One whole cycle, a minute on.
    pub fn run_cycle(&self) {
        self.cycle_after(chrono::Duration::seconds(60));
    }

    pub fn send(&self, c: Control) {
        self.control.blocking_send(c).unwrap();
    }

    /// Asks the daemon to stop; returns how long it took to return. Returns once its runtime is
    /// gone too, so nothing the daemon started can still send or write afterwards.
    pub fn stop(mut self) -> Duration {
        let t = Instant::now();
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        let r = self
            .done
            .recv_timeout(Duration::from_secs(30))
            .expect("the daemon returns after a stop");
        assert!(r.is_ok(), "{r:?}");
        let took = t.elapsed();
        self.gone
            .recv_timeout(Duration::from_secs(30))
            .expect("the daemon's runtime shuts down after it returned");
        took
    }

    pub fn db(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(self.writer.path()).unwrap()
    }

    pub fn count(&self, sql: &str) -> i64 {
        count(&self.db(), sql)
    }
}

fn slow_site(paths: usize, delay: Duration) -> TestServer {
    TestServer::start((0..paths).fold(Routes::new(), |r, i| {
        r.at(&format!("/slow{i}"), move |_| {
            Reply::Delayed(delay, Box::new(html(&format!("<p>page {i}</p>"))))
        })
    }))
}

fn links_post(srv: &TestServer, prefix: &str, n: usize) -> String {
    (0..n)
        .map(|i| format!("[l{i}]({})\n", srv.url(&format!("/{prefix}{i}"))))
        .collect()
}

/// Regression: `WATCHDOG=1` was sent only between cycles; a cycle of slow requests to one host sent
/// none for 22 s against a 4 s watchdog, and systemd killed the daemon in its first cycle.
#[test]
fn regression_the_watchdog_is_pinged_during_a_long_cycle() {
    let site = slow_site(6, Duration::from_millis(500));
    let blog = Blog::new();
    blog.config(&config_text("per_host_concurrency = 1", ""))
        .post("p.md", &links_post(&site, "slow", 6));
    let d = Running::start(&blog, Some(Duration::from_millis(100)), None);
    wait_for("the start-up scan", Duration::from_secs(30), || {
        d.count("SELECT COUNT(*) FROM citations") == 6
    });
    d.next_minute();
    wait_for("the cycle's last request", Duration::from_secs(60), || {
        site.starts("/slow").len() == 6
    });
    // Order, not a count in a time window: one request at a time, each answered after 500 ms,
    // and a ping (every 100 ms) between each request of the cycle and the next.
    let mut starts = site.starts("/slow");
    starts.sort();
    let pings = d.notes.times("watchdog");
    for (i, w) in starts.windows(2).enumerate() {
        assert!(
            pings.iter().any(|p| *p > w[0] && *p < w[1]),
            "no watchdog ping between the cycle's request {i} and the next ({:?} apart)",
            w[1] - w[0]
        );
    }
    d.stop();
}

/// A minimal SMTP server that accepts connections and never says a word.
fn silent_smtp() -> (u16, Arc<AtomicUsize>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepted = Arc::new(AtomicUsize::new(0));
    let a2 = accepted.clone();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in listener.incoming().flatten() {
            a2.fetch_add(1, Ordering::SeqCst);
            held.push(s);
        }
    });
    (port, accepted)
}

/// Regression: sinks were called one after another outside the loop's `select!`: an SMTP server
/// that accepts and never answers held the daemon 65 s after SIGTERM, with no watchdog ping.
#[test]
fn regression_a_stalled_mail_server_neither_silences_the_watchdog_nor_delays_the_stop() {
    let site = TestServer::start(Routes::new().at("/gone", |_| status(404)));
    let (smtp, accepted) = silent_smtp();
    let blog = Blog::new();
    blog.config(&config_text(
        "",
        &format!(
            "[alerts]\nconfirm_checks = 1\nconfirm_period = \"0s\"\nlog = false\n\
             [[alerts.email]]\nhost = \"127.0.0.1\"\nport = {smtp}\nsecurity = \"none\"\n\
             from = \"cw@example.org\"\nto = [\"a@example.org\"]\ntimeout = \"30s\"\n"
        ),
    ))
    .post("p.md", &format!("[gone]({})\n", site.url("/gone")));
    let d = Running::start(&blog, Some(Duration::from_millis(100)), None);
    wait_for("the start-up scan", Duration::from_secs(30), || {
        d.count("SELECT COUNT(*) FROM citations") == 1
    });
    d.next_minute();
    wait_for(
        "the delivery to reach the mail server",
        Duration::from_secs(30),
        || accepted.load(Ordering::SeqCst) >= 1,
    );
    let since = Instant::now();
    wait_for(
        "five watchdog pings after the delivery stalled",
        Duration::from_secs(20),
        || d.notes.pings_since(since) >= 5,
    );
    // They came during the stall: the attempt (30 s timeout) has not ended yet.
    assert_eq!(
        d.count("SELECT COUNT(*) FROM alert_deliveries WHERE attempts = 0 AND delivered_at IS NULL AND last_error IS NULL"),
        1,
        "the delivery is still stalled"
    );
    let took = d.stop();
    // grace = 1s in the config: out within it and a second.
    assert!(took < Duration::from_secs(2), "stopped after {took:?}");
}

/// Regression: SIGHUP during a cycle was taken and silently dropped. It is now applied when the
/// cycle ends.
#[test]
fn regression_a_reload_during_a_cycle_is_applied_when_it_ends() {
    let site = slow_site(4, Duration::from_millis(400));
    let blog = Blog::new();
    blog.config(&config_text("per_host_concurrency = 1", ""))
        .post("p.md", &links_post(&site, "slow", 4));
    let hits_at_reload = Arc::new(Mutex::new(None::<usize>));
    let h2 = hits_at_reload.clone();
    let cfg_path = blog.path().join("citewatch.toml");
    let site = Arc::new(site);
    let srv = site.clone();
    let reload: Arc<dyn Fn() -> Result<Config, String> + Send + Sync> = Arc::new(move || {
        *h2.lock().unwrap() = Some(srv.starts("/slow").len());
        Config::load(&cfg_path).map_err(|e| e.to_string())
    });
    let d = Running::start(&blog, None, Some(reload));
    wait_for("the start-up scan", Duration::from_secs(30), || {
        d.count("SELECT COUNT(*) FROM citations") == 4
    });
    d.next_minute();
    wait_for("the cycle's first request", Duration::from_secs(30), || {
        site.total_hits() >= 1
    });
    d.send(Control::Reload);
    wait_for("the reload", Duration::from_secs(30), || {
        hits_at_reload.lock().unwrap().is_some()
    });
    assert_eq!(
        hits_at_reload.lock().unwrap().unwrap(),
        4,
        "the reload waited for the cycle's last check"
    );
    assert!(d.notes.saw("reloading"));
    d.stop();
}

/// Regression: SIGTERM during a cycle still started up to `concurrency` queued checks. Now no
/// request starts after the stop; those running finish, are recorded, and the cycle is ended.
#[test]
fn regression_a_stop_during_a_cycle_starts_no_new_request() {
    let site = slow_site(20, Duration::from_millis(300));
    let blog = Blog::new();
    blog.config(&config_text(
        "concurrency = 8\nper_host_concurrency = 2",
        "",
    ))
    .post("p.md", &links_post(&site, "slow", 20));
    let d = Running::start(&blog, None, None);
    wait_for("the start-up scan", Duration::from_secs(30), || {
        d.count("SELECT COUNT(*) FROM citations") == 20
    });
    d.next_minute();
    wait_for("the first requests", Duration::from_secs(30), || {
        site.starts("/slow").len() >= 2
    });
    let db = d.writer.path().to_path_buf();
    // Two run (300 ms each); the next two start only when those end, well after the stop.
    let stop_asked = Instant::now();
    let took = d.stop();
    // The daemon's runtime is gone: nothing can start any more. Wait until every connection
    // the server accepted has delivered its request, then look at the order.
    wait_for(
        "every accepted connection to have sent its request",
        Duration::from_secs(10),
        || site.connections() == site.log().len(),
    );
    let starts = site.starts("/slow");
    let hits = starts.len();
    assert!(
        starts.iter().all(|t| *t < stop_asked),
        "a request started after the stop:\n{}",
        site.describe_log()
    );
    assert!(took < Duration::from_secs(2), "{took:?}");
    let conn = rusqlite::Connection::open(db).unwrap();
    assert_eq!(count(&conn, "SELECT COUNT(*) FROM checks"), hits as i64);
    assert_eq!(
        count(
            &conn,
            "SELECT COUNT(*) FROM cycles WHERE finished_at IS NULL"
        ),
        0,
        "the cycle was ended"
    );
}

/// Regression: sinks were identified by position (`webhook:0`): removing the first of two
/// webhooks sent its pending alerts to the other one and parked the other one's own alerts.
#[test]
fn regression_a_removed_sink_is_dropped_and_the_others_keep_their_alerts() {
    let site = TestServer::start(Routes::new().at("/gone", |_| status(404)));
    let (a, b) = (Receiver::start(), Receiver::start());
    a.fail.on();
    b.fail.on();
    let blog = Blog::new();
    let both = format!(
        "[alerts]\nconfirm_checks = 1\nconfirm_period = \"0s\"\nlog = false\nretry_interval = \"1s\"\n\
         [[alerts.webhook]]\nurl = \"{}\"\n[[alerts.webhook]]\nurl = \"{}\"\n",
        a.url(),
        b.url()
    );
    let only_b = format!(
        "[alerts]\nconfirm_checks = 1\nconfirm_period = \"0s\"\nlog = false\nretry_interval = \"1s\"\n\
         [[alerts.webhook]]\nurl = \"{}\"\n",
        b.url()
    );
    blog.config(&config_text("", &both))
        .post("p.md", &format!("[gone]({})\n", site.url("/gone")));
    let cfg_path = blog.path().join("citewatch.toml");
    let reload: Arc<dyn Fn() -> Result<Config, String> + Send + Sync> =
        Arc::new(move || Config::load(&cfg_path).map_err(|e| e.to_string()));
    let d = Running::start(&blog, None, Some(reload));
    wait_for("the start-up scan", Duration::from_secs(30), || {
        d.count("SELECT COUNT(*) FROM citations") == 1
    });
    d.next_minute();
    wait_for("both webhooks tried", Duration::from_secs(30), || {
        a.hits() >= 1 && b.hits() >= 1
    });
    // The first webhook leaves the configuration; the second one works again.
    blog.config(&config_text("", &only_b));
    b.fail.off();
    let a_hits = a.hits();
    d.send(Control::Reload);
    wait_for("the reload", Duration::from_secs(30), || {
        d.notes.saw("reloading")
    });
    d.clock.advance(chrono::Duration::seconds(5));
    wait_for(
        "the second webhook's alert",
        Duration::from_secs(30),
        || !b.events().is_empty(),
    );
    // What proves nothing more will come: a later cycle ends, and the outbox holds nothing
    // pending (delivered or dropped); then the daemon and its runtime are gone.
    d.run_cycle();
    wait_for(
        "an outbox with nothing pending",
        Duration::from_secs(30),
        || d.count("SELECT COUNT(*) FROM alert_deliveries WHERE state = 'pending'") == 0,
    );
    let db = d.writer.path().to_path_buf();
    d.stop();
    for r in [&a, &b] {
        wait_for(
            "every accepted connection to have sent its request",
            Duration::from_secs(10),
            || r.srv.connections() == r.srv.log().len(),
        );
    }
    assert_eq!(b.events().len(), 1, "its own alert, once");
    assert_eq!(a.hits(), a_hits, "nothing more went to the removed one");
    let states: Vec<(String, String)> = {
        let conn = rusqlite::Connection::open(&db).unwrap();
        let mut st = conn
            .prepare("SELECT sink, state FROM alert_deliveries ORDER BY sink")
            .unwrap();
        let rows = st
            .query_map([], |r| Ok((r.get(0).unwrap(), r.get(1).unwrap())))
            .unwrap();
        rows.map(|r| r.unwrap()).collect()
    };
    assert_eq!(states.len(), 2, "{states:?}");
    assert!(
        states.iter().any(|(_, s)| s == "dropped") && states.iter().any(|(_, s)| s == "delivered"),
        "{states:?}"
    );
}

/// Thinning reads the whole history: once a day, not after every cycle (a bug once fixed).
#[test]
fn thinning_runs_once_a_day() {
    let site = TestServer::start(Routes::new().at("/page", |_| html("<p>steady</p>")));
    let blog = Blog::new();
    blog.config(&config_text(
        "",
        "[retention]\nthin_checks_after = \"30d\"\n",
    ))
    .post("p.md", &format!("[page]({})\n", site.url("/page")));
    let d = Running::start(&blog, None, None);
    wait_for("the start-up scan", Duration::from_secs(30), || {
        d.count("SELECT COUNT(*) FROM citations") == 1
    });
    let old_checks = |n: i64| {
        let conn = d.db();
        for i in 0..n {
            conn.execute(
                "INSERT INTO checks (link_id, checked_at, state, elapsed_ms) SELECT id, ?1, 'ok', 1 FROM links",
                [format!("2025-01-{:02}T00:00:00Z", i + 1)],
            )
            .unwrap();
        }
    };
    let old = "SELECT COUNT(*) FROM checks WHERE checked_at < '2026-01-01'";
    old_checks(4);
    d.run_cycle();
    assert_eq!(d.count(old), 1, "the first cycle thinned");
    old_checks(3);
    d.run_cycle();
    assert_eq!(
        d.count("SELECT COUNT(*) FROM checks WHERE checked_at >= '2026-01-01'"),
        2,
        "a second cycle ran"
    );
    assert_eq!(d.count(old), 4, "not thinned again the same day");
    d.cycle_after(chrono::Duration::days(1));
    assert_eq!(d.count(old), 1, "thinned again the next day");
    d.stop();
}

/// Regression: with no network, a cycle of fewer than ten checks confirmed every link dead (8
/// alerts). Now a cycle in which several sites all fail without an answer counts no strikes.
#[test]
fn regression_an_offline_cycle_counts_no_strikes_whatever_its_size() {
    let hook = Receiver::start();
    let blog = Blog::new();
    // Three sites on ports nothing listens on: no answer from any.
    // Three sites nothing answers on (ports held closed, on three loopback addresses).
    let ports: Vec<ClosedPort> = (0..3).map(|_| ClosedPort::new()).collect();
    let dead: Vec<String> = ports
        .iter()
        .enumerate()
        .map(|(i, p)| format!("http://127.0.0.{}:{}/page", i + 2, p.port))
        .collect();
    blog.config(&config_text(
        "",
        &format!(
            "[alerts]\nconfirm_checks = 1\nconfirm_period = \"0s\"\nlog = false\n[[alerts.webhook]]\nurl = \"{}\"\n",
            hook.url()
        ),
    ))
    .post(
        "p.md",
        &dead.iter().map(|u| format!("<{u}>\n")).collect::<String>(),
    );
    let d = Running::start(&blog, None, None);
    wait_for("the start-up scan", Duration::from_secs(30), || {
        d.count("SELECT COUNT(*) FROM citations") == 3
    });
    d.next_minute();
    wait_for("the cycle to end", Duration::from_secs(30), || {
        d.count("SELECT COUNT(*) FROM cycles WHERE finished_at IS NOT NULL") >= 1
    });
    assert_eq!(
        d.count("SELECT COUNT(*) FROM cycles WHERE outage = 'no_answers'"),
        1
    );
    assert_eq!(d.count("SELECT COUNT(*) FROM alert_events"), 0);
    assert_eq!(
        d.count("SELECT COUNT(*) FROM confirmations WHERE streak_count > 0 OR pending_state IS NOT NULL"),
        0,
        "no strike counted, none left pending"
    );
    d.stop();
    assert!(hook.events().is_empty());
}

/// A page with invalid bytes before `<title>` (and a Latin-1 error page) crashed the daemon and
/// every restart after it. It is judged like any page; the daemon goes on.
#[test]
fn regression_a_page_with_invalid_bytes_before_its_title_is_judged() {
    let mut junk = vec![0xFFu8; 50];
    junk.extend_from_slice(b"<html><head><title>Seite nicht gefunden</title></head></html>");
    let latin1 = b"<html><head><meta charset=iso-8859-1><meta name=d content=\"\xfc\xe4\xf6\xdf\"><title>Seite nicht gefunden</title></head><body>\xfc</body></html>".to_vec();
    let site = TestServer::start(
        Routes::new()
            .at("/junk", move |_| Reply::Full {
                status: 200,
                headers: vec![("content-type".into(), "text/html".into())],
                body: junk.clone(),
            })
            .at("/latin1", move |_| Reply::Full {
                status: 200,
                headers: vec![("content-type".into(), "text/html".into())],
                body: latin1.clone(),
            })
            .at("/fine", |_| html("<p>fine</p>")),
    );
    let blog = Blog::new();
    blog.config(&config_text("", "")).post(
        "p.md",
        &format!(
            "<{}>\n<{}>\n<{}>\n",
            site.url("/junk"),
            site.url("/latin1"),
            site.url("/fine")
        ),
    );
    let d = Running::start(&blog, None, None);
    wait_for("the start-up scan", Duration::from_secs(30), || {
        d.count("SELECT COUNT(*) FROM citations") == 3
    });
    d.run_cycle();
    assert_eq!(d.count("SELECT COUNT(*) FROM checks"), 3);
    // Both titles read right (the Latin-1 one came out as `ound</title></` before).
    assert_eq!(
        d.count("SELECT COUNT(*) FROM snapshots WHERE title = 'Seite nicht gefunden'"),
        2
    );
    d.run_cycle();
    assert_eq!(
        d.count("SELECT COUNT(*) FROM checks"),
        6,
        "the daemon went on to a second cycle"
    );
    d.stop();
}

/// A change seen while a scan runs leads to another scan (issue 19): the first scan is held in
/// flight by a write lock that another connection keeps, a post is added and the change reported
/// meanwhile; once the lock goes, the first scan ends and a second one follows the debounce,
/// long before the scheduled scan (once a year here).
#[test]
fn a_change_during_a_scan_leads_to_another_scan() {
    let blog = Blog::new();
    blog.config(&config_text("", ""))
        .post("a.md", "<http://127.0.0.1:9/a>\n");
    let db = blog.db();
    drop(Writer::start(&db).unwrap()); // the schema, before the lock
    let lock = rusqlite::Connection::open(&db).unwrap();
    lock.execute_batch("BEGIN IMMEDIATE").unwrap();
    let d = Running::start(&blog, None, None);
    let scanned = || {
        d.db()
            .query_row("SELECT scanned_at FROM source_files", [], |r| {
                r.get::<_, String>(0)
            })
            .ok()
    };
    // The start-up scan starts before the loop first listens for controls, and it cannot end
    // while the lock is held: this change arrives during it.
    blog.post("b.md", "<http://127.0.0.1:9/b>\n");
    d.send(Control::PostsChanged);
    wait_for("the change received", Duration::from_secs(30), || {
        d.control.capacity() == d.control.max_capacity()
    });
    assert_eq!(scanned(), None, "the first scan is still running");
    lock.execute_batch("ROLLBACK").unwrap();
    let first = citewatch::store::ts(t0());
    wait_for("the first scan", Duration::from_secs(60), || {
        scanned().as_deref() == Some(first.as_str())
    });
    d.clock.advance(chrono::Duration::seconds(2));
    let second = citewatch::store::ts(t0() + chrono::Duration::seconds(2));
    wait_for("a second scan", Duration::from_secs(30), || {
        scanned().as_deref() == Some(second.as_str())
    });
    assert_eq!(
        d.count("SELECT COUNT(*) FROM posts WHERE present = 1"),
        2,
        "both posts read"
    );
    d.stop();
}
