//! The soak test (issue 19): the real daemon for about a minute under injected faults (kill -9,
//! SIGTERM and restart, `db compact` beside it, a webhook that fails for a while and stalls for
//! a while, posts edited, removed and re-created) while the links it checks flap on a fixed
//! schedule; then the faults stop, the links settle, and what the README promises is checked:
//! every alert event delivered, none twice unless a kill -9 fell between its sending and its
//! recording, the database intact, every state converged to what the server finally answers.
//!
//! Invariant: deterministic up to the machine's timing. The faults come from a fixed list with
//! dwell times from a seeded generator, each path answers by its own request counter, and every
//! wait is "until a condition, with a generous bound", never "sleep, then assert absence".

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::path::Path;
use std::process::Child;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::cli::Blog;
use crate::server::{html, status, with_headers, Reply, Routes, Switch, TestServer};
use crate::support::{poll_until, wait_for};

/// Links 0..LINKS; the last one is cited only once a post edit adds it.
const LINKS: usize = 25;
/// How long any one wait may take on a loaded 2-core machine before the test fails.
const BOUND: Duration = Duration::from_secs(90);

/// What a path answers to its `n`-th request (0-based) while the links flap: `ok_len` good
/// answers, then `bad_len` bad ones (404, 410 or 500, changing from round to round), again and
/// again. A 500 is retried by the checker, so it also shifts the pattern: still deterministic in
/// requests.
fn flap(i: usize, n: usize) -> Option<u16> {
    let (ok_len, bad_len) = (2 + i % 3, 2 + (i / 3) % 3);
    let round = n / (ok_len + bad_len);
    (n % (ok_len + bad_len) >= ok_len).then_some([404, 410, 500][(i + round) % 3])
}

/// What a path answers once the links have settled: `None` is the page.
fn final_answer(i: usize) -> Option<u16> {
    match i % 4 {
        1 => Some(404),
        3 => Some(500),
        _ => None,
    }
}

/// The state a link must end in (a bad one must also end confirmed).
fn expected_state(i: usize) -> &'static str {
    match final_answer(i) {
        None => "ok",
        Some(500) => "error",
        Some(_) => "broken",
    }
}

/// The page of path `i`: every line names `i`, so no line is shared with another page (shared
/// lines would be learned as the site's boilerplate).
fn page(i: usize) -> String {
    let paras: String = (0..4)
        .map(|p| format!("<p>Paragraph {p} of soak source {i}: a study of link rot, number {i}, part {p}.</p>\n"))
        .collect();
    format!("<html><head><title>Soak source {i}</title></head><body><article><h1>Soak source {i}</h1>{paras}</article></body></html>")
}

fn path(i: usize) -> String {
    format!("/s{i}")
}

/// A small seeded generator (xorshift64*) for the dwell times between faults.
struct Seeded(u64);

impl Seeded {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn millis(&mut self, lo: u64, hi: u64) -> Duration {
        Duration::from_millis(lo + self.next() % (hi - lo))
    }
}

const HOOK_WORKS: u8 = 0;
const HOOK_FAILS: u8 = 1;
const HOOK_STALLS: u8 = 2;

/// One event the webhook accepted (answered 200), and when.
#[derive(Debug, Clone)]
struct Receipt {
    at: Instant,
    id: String,
}

/// A webhook receiver that works, fails (500) or stalls (reads the request, never answers) as
/// the test says; it keeps the id of every event it accepted and when.
struct Hook {
    srv: TestServer,
    mode: Arc<AtomicU8>,
    accepted: Arc<Mutex<Vec<Receipt>>>,
    refused: Arc<AtomicUsize>,
    stalled: Arc<AtomicUsize>,
    /// A process to kill -9 at the next accepted event, after it is recorded and before the
    /// answer goes out: the daemon sent it and cannot record it. Then when it was killed.
    kill_next: Arc<Mutex<Option<u32>>>,
    killed_at: Arc<Mutex<Option<Instant>>>,
}

impl Hook {
    fn start() -> Hook {
        let mode = Arc::new(AtomicU8::new(HOOK_WORKS));
        let accepted: Arc<Mutex<Vec<Receipt>>> = Default::default();
        let (refused, stalled) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let kill_next: Arc<Mutex<Option<u32>>> = Default::default();
        let killed_at: Arc<Mutex<Option<Instant>>> = Default::default();
        let (m, a, r, s, kn, ka) = (
            mode.clone(),
            accepted.clone(),
            refused.clone(),
            stalled.clone(),
            kill_next.clone(),
            killed_at.clone(),
        );
        let srv = TestServer::start(Routes::new().at("/hook", move |req| {
            match m.load(Ordering::SeqCst) {
                HOOK_FAILS => {
                    r.fetch_add(1, Ordering::SeqCst);
                    return status(500);
                }
                HOOK_STALLS => {
                    s.fetch_add(1, Ordering::SeqCst);
                    return Reply::Stall;
                }
                _ => {}
            }
            let v: serde_json::Value = match serde_json::from_slice(&req.body) {
                Ok(v) => v,
                Err(_) => return status(400),
            };
            let Some(id) = v["id"].as_str() else {
                return status(400);
            };
            // Recorded before the answer goes out: the daemon cannot have marked it before.
            a.lock().unwrap().push(Receipt {
                at: Instant::now(),
                id: id.to_string(),
            });
            if let Some(pid) = kn.lock().unwrap().take() {
                *ka.lock().unwrap() = Some(Instant::now());
                // SAFETY: a plain kill(2) of the daemon, a child the test has not reaped yet (so
                // the pid is still its own).
                let killed = unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
                assert_eq!(killed, 0, "kill -9 {pid}");
            }
            with_headers(200, &[], "ok")
        }));
        Hook {
            srv,
            mode,
            accepted,
            refused,
            stalled,
            kill_next,
            killed_at,
        }
    }

    fn set(&self, mode: u8) {
        self.mode.store(mode, Ordering::SeqCst);
    }

    fn receipts(&self) -> Vec<Receipt> {
        self.accepted.lock().unwrap().clone()
    }
}

/// The daemon process, started and stopped again; its standard error of every start appended
/// to one `daemon.log`.
struct Daemon<'a> {
    blog: &'a Blog,
    child: Option<Child>,
    starts: usize,
    kills: Vec<Instant>,
    /// Of those, kills in the window between a delivery and its recording.
    mid_delivery_kills: usize,
    terms: Vec<Instant>,
}

impl<'a> Daemon<'a> {
    fn new(blog: &'a Blog) -> Daemon<'a> {
        Daemon {
            blog,
            child: None,
            starts: 0,
            kills: Vec::new(),
            mid_delivery_kills: 0,
            terms: Vec::new(),
        }
    }

    fn log_path(&self) -> std::path::PathBuf {
        self.blog.path().join("daemon.log")
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// Starts it and waits until it wrote a check: it is working, not only started.
    fn start(&mut self) {
        assert!(self.child.is_none());
        let before = max_check_id(&self.blog.db());
        let mut log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .unwrap();
        self.starts += 1;
        writeln!(log, "==== start {}", self.starts).unwrap();
        let child = std::process::Command::new(assert_cmd::cargo::cargo_bin("citewatch"))
            .current_dir(self.blog.path())
            .arg("daemon")
            .env("RUST_LOG", "info")
            .stdout(std::process::Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        self.child = Some(child);
        let db = self.blog.db();
        wait_for("the daemon's first check after a start", BOUND, || {
            max_check_id(&db) > before
        });
        if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
            panic!("the daemon exited: {status:?}\n{}", self.log());
        }
    }

    fn kill9(&mut self) {
        let mut child = self.child.take().expect("running");
        self.kills.push(Instant::now());
        child.kill().unwrap();
        child.wait().unwrap();
    }

    /// kill -9 by the webhook itself, the moment it has accepted an event and before it answers:
    /// the one window where a delivery is made and not recorded. The next start sends it again.
    fn kill9_mid_delivery(&mut self, hook: &Hook) {
        let mut child = self.child.take().expect("running");
        *hook.killed_at.lock().unwrap() = None;
        *hook.kill_next.lock().unwrap() = Some(child.id());
        poll_until("a delivery to kill the daemon in", BOUND, || {
            child.try_wait().unwrap()
        });
        let at = hook.killed_at.lock().unwrap().take();
        self.kills.push(at.expect("killed by the webhook"));
        self.mid_delivery_kills += 1;
    }

    /// SIGTERM, and an exit 0 within the grace period and some.
    fn term(&mut self) {
        let mut child = self.child.take().expect("running");
        self.terms.push(Instant::now());
        let ok = std::process::Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -TERM");
        let status = poll_until("the daemon to exit after SIGTERM", BOUND, || {
            child.try_wait().unwrap()
        });
        assert!(
            status.success(),
            "SIGTERM exits 0: {status:?}\n{}",
            self.log()
        );
    }
}

impl Drop for Daemon<'_> {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Waits for a `db compact` started at `step` and asserts it succeeded.
fn finish_compaction((step, mut child): (usize, Child)) {
    let status = poll_until("a db compact to end", BOUND, || child.try_wait().unwrap());
    let mut err = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
    assert!(
        status.success(),
        "step {step}: db compact beside the daemon: {status:?}\n{err}"
    );
}

fn max_check_id(db: &Path) -> i64 {
    rusqlite::Connection::open(db)
        .and_then(|c| c.query_row("SELECT COALESCE(MAX(id), 0) FROM checks", [], |r| r.get(0)))
        .unwrap_or(0)
}

/// The URLs cited by present posts, as the last scan recorded them.
fn cited(db: &Path) -> BTreeSet<String> {
    let read = || -> rusqlite::Result<BTreeSet<String>> {
        let c = rusqlite::Connection::open(db)?;
        let mut s = c.prepare(
            "SELECT DISTINCT l.url FROM citations c JOIN links l ON l.id = c.link_id
             JOIN posts p ON p.id = c.post_id WHERE p.present = 1",
        )?;
        let urls = s.query_map([], |r| r.get(0))?.collect();
        urls
    };
    read().unwrap_or_default()
}

/// The posts: `a.md` cites 0..8, `b.md` 8..16, `c.md` 16..24; link 24 is cited by no post until
/// an edit of `a.md` swaps it for link 3 (and a later one swaps it back).
fn post_text(site: &TestServer, links: impl IntoIterator<Item = usize>) -> String {
    let mut t = String::from("---\ntitle: Soak\n---\n");
    for i in links {
        t.push_str(&format!("See [source {i}]({}).\n\n", site.url(&path(i))));
    }
    t
}

#[derive(Debug, Clone, Copy)]
enum Fault {
    Kill9,
    /// kill -9 after the webhook accepted an event, before it answered.
    Kill9MidDelivery,
    Term,
    Compact,
    Hook(u8),
    Edit(Edit),
}

/// A change to the posts, made while the daemon runs; the test waits until a scan has read it.
#[derive(Debug, Clone, Copy)]
enum Edit {
    /// `a.md` cites 24 instead of 3.
    SwapIn,
    /// `a.md` cites 3 instead of 24 again.
    SwapOut,
    Remove(&'static str),
    Recreate(&'static str),
}

impl Edit {
    fn apply(self, posts: &mut BTreeMap<&'static str, Vec<usize>>) {
        match self {
            Edit::SwapIn => {
                posts.insert("a.md", a_cites(true));
            }
            Edit::SwapOut => {
                posts.insert("a.md", a_cites(false));
            }
            Edit::Remove(name) => {
                posts.remove(name);
            }
            Edit::Recreate(name) => {
                let links = if name == "b.md" { 8..16 } else { 16..24 };
                posts.insert(name, links.collect());
            }
        }
    }
}

/// The links `a.md` cites: 0..8, with 24 in place of 3 once swapped.
fn a_cites(swapped: bool) -> Vec<usize> {
    (0..8)
        .map(|i| if swapped && i == 3 { 24 } else { i })
        .collect()
}

/// The fault schedule: fixed. Kills and restarts fall wherever the dwell times put them
/// (mid-cycle, mid-delivery, mid-scan); the fault after a compaction follows it at once; edits
/// are made while the daemon runs and waited for.
const SCHEDULE: &[Fault] = &[
    Fault::Hook(HOOK_FAILS),
    Fault::Kill9,
    Fault::Compact,
    Fault::Edit(Edit::SwapIn),
    Fault::Term,
    Fault::Hook(HOOK_STALLS),
    Fault::Kill9,
    Fault::Edit(Edit::Remove("b.md")),
    Fault::Hook(HOOK_WORKS),
    Fault::Compact,
    Fault::Kill9,
    Fault::Edit(Edit::Recreate("b.md")),
    Fault::Term,
    Fault::Compact,
    Fault::Kill9MidDelivery,
    Fault::Edit(Edit::SwapOut),
    Fault::Kill9,
    Fault::Edit(Edit::Remove("c.md")),
    Fault::Term,
    Fault::Edit(Edit::Recreate("c.md")),
    Fault::Compact,
    Fault::Kill9MidDelivery,
    Fault::Hook(HOOK_FAILS),
    Fault::Term,
    Fault::Hook(HOOK_WORKS),
    Fault::Compact,
    Fault::Kill9,
    Fault::Kill9MidDelivery,
    Fault::Term,
];

#[test]
fn soak_the_daemon_under_kills_restarts_compactions_failing_sinks_and_post_edits() {
    let started = Instant::now();
    let settle = Switch::new();
    let counters: Arc<Vec<AtomicUsize>> =
        Arc::new((0..LINKS).map(|_| AtomicUsize::new(0)).collect());
    let routes = (0..LINKS).fold(Routes::new(), |r, i| {
        let (settle, counters) = (settle.clone(), counters.clone());
        r.at(&path(i), move |_| {
            let answer = if settle.is_on() {
                final_answer(i)
            } else {
                flap(i, counters[i].fetch_add(1, Ordering::SeqCst))
            };
            match answer {
                None => html(&page(i)),
                Some(code) => status(code),
            }
        })
    });
    let site = TestServer::start(routes);
    let hook = Hook::start();
    let blog = Blog::new();
    blog.config(&format!(
        "[schedule]\ncron = \"* * * * * *\"\nrecheck_ok = \"0s\"\nrecheck_failing = \"0s\"\ngrace = \"5s\"\n\
         [alerts]\nconfirm_checks = 2\nconfirm_period = \"0s\"\nretry_interval = \"1s\"\n\
         [[alerts.webhook]]\nurl = \"{}\"\ntimeout = \"1s\"\n",
        hook.srv.url("/hook")
    ));
    let url_set = |links: &[usize]| -> BTreeSet<String> {
        links.iter().map(|&i| site.url(&path(i))).collect()
    };
    let mut posts: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    posts.insert("a.md", a_cites(false));
    posts.insert("b.md", (8..16).collect());
    posts.insert("c.md", (16..24).collect());
    for (name, links) in &posts {
        blog.post(name, &post_text(&site, links.iter().copied()));
    }
    let expected_cited = |posts: &BTreeMap<&str, Vec<usize>>| {
        url_set(&posts.values().flatten().copied().collect::<Vec<_>>())
    };
    let db = blog.db();

    let mut daemon = Daemon::new(&blog);
    daemon.start();
    let mut rng = Seeded(0x5eed_c17e_0019_0007);
    let mut compactions = 0;
    let mut compacting: Option<(usize, Child)> = None;
    for (step, fault) in SCHEDULE.iter().enumerate() {
        // The fault after a compaction follows it at once, to fall while it runs.
        let dwell = rng.millis(800, 2600);
        if step == 0 || !matches!(SCHEDULE[step - 1], Fault::Compact) {
            std::thread::sleep(dwell);
        }
        match *fault {
            Fault::Kill9 => {
                daemon.kill9();
                daemon.start();
            }
            Fault::Kill9MidDelivery => {
                daemon.kill9_mid_delivery(&hook);
                daemon.start();
            }
            Fault::Term => {
                daemon.term();
                daemon.start();
            }
            Fault::Compact => {
                // Beside the daemon and beside the next fault: a kill, a start or a scan.
                if let Some(c) = compacting.take() {
                    finish_compaction(c);
                }
                compactions += 1;
                let child = std::process::Command::new(assert_cmd::cargo::cargo_bin("citewatch"))
                    .current_dir(blog.path())
                    .args(["db", "compact"])
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap();
                compacting = Some((step, child));
            }
            Fault::Hook(mode) => hook.set(mode),
            Fault::Edit(edit) => {
                edit.apply(&mut posts);
                let posts_dir = blog.path().join("posts");
                for name in ["a.md", "b.md", "c.md"] {
                    let p = posts_dir.join(name);
                    match posts.get(name) {
                        Some(links) => {
                            let text = post_text(&site, links.iter().copied());
                            if std::fs::read_to_string(&p).ok().as_deref() != Some(&text) {
                                std::fs::write(&p, text).unwrap();
                            }
                        }
                        None => {
                            let _ = std::fs::remove_file(&p);
                        }
                    }
                }
                let want = expected_cited(&posts);
                wait_for(
                    &format!("step {step}: the scan of {fault:?}"),
                    BOUND,
                    || cited(&db) == want,
                );
            }
        }
    }
    if let Some(c) = compacting.take() {
        finish_compaction(c);
    }
    let faults_over = started.elapsed();

    // The faults stop: the webhook works, every post is back, the links settle.
    hook.set(HOOK_WORKS);
    let all: Vec<usize> = (0..LINKS).collect();
    for (name, links) in [
        ("a.md", (0..8).chain([24]).collect::<Vec<_>>()),
        ("b.md", (8..16).collect()),
        ("c.md", (16..24).collect()),
    ] {
        blog.post(name, &post_text(&site, links));
    }
    wait_for("the scan of the final posts", BOUND, || {
        cited(&db) == url_set(&all)
    });
    settle.on();
    let conn = rusqlite::Connection::open(&db).unwrap();
    let cycle_at_settle: i64 = conn
        .query_row("SELECT COALESCE(MAX(id), 0) FROM cycles", [], |r| r.get(0))
        .unwrap();
    // Three whole cycles after the answers settled (two checks confirm, the third changes
    // nothing), and an outbox with nothing left to send.
    wait_for(
        "three cycles after the settling and an empty outbox",
        Duration::from_secs(120),
        || {
            let row = conn.query_row(
                "SELECT (SELECT COUNT(*) FROM cycles WHERE id > ?1 AND finished_at IS NOT NULL),
                        (SELECT COUNT(*) FROM alert_deliveries WHERE state = 'pending')",
                [cycle_at_settle],
                |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)),
            );
            matches!(row, Ok((cycles, 0)) if cycles >= 3)
        },
    );
    daemon.term();
    let elapsed = started.elapsed();
    let log = daemon.log();

    // The database is intact.
    let integrity: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");
    let fk: Vec<String> = conn
        .prepare("PRAGMA foreign_key_check")
        .unwrap()
        .query_map([], |r| r.get::<_, String>(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(fk.is_empty(), "foreign keys broken in tables {fk:?}");
    assert!(!log.contains("panicked"), "the daemon panicked:\n{log}");

    // Every delivery is done: none pending, none dropped.
    let undone: Vec<(i64, String, String)> = conn
        .prepare("SELECT event_id, sink, state FROM alert_deliveries WHERE state != 'delivered'")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(undone.is_empty(), "deliveries not done: {undone:?}");

    // Every event reached the webhook; none twice unless a kill -9 fell between two receipts.
    struct Event {
        link: String,
        event: String,
        old: Option<String>,
        new: String,
    }
    let events: Vec<(String, Event)> = conn
        .prepare(
            "SELECT e.uid, l.url, e.event, e.old_state, e.new_state FROM alert_events e
             JOIN links l ON l.id = e.link_id ORDER BY e.id",
        )
        .unwrap()
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                Event {
                    link: r.get(1)?,
                    event: r.get(2)?,
                    old: r.get(3)?,
                    new: r.get(4)?,
                },
            ))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut receipts: BTreeMap<String, Vec<Instant>> = BTreeMap::new();
    for r in hook.receipts() {
        receipts.entry(r.id).or_default().push(r.at);
    }
    let known: BTreeSet<&String> = events.iter().map(|(uid, _)| uid).collect();
    let strangers: Vec<&String> = receipts.keys().filter(|id| !known.contains(id)).collect();
    assert!(
        strangers.is_empty(),
        "received ids of no event: {strangers:?}"
    );
    // Deliveries to one sink go one after another, each marked before the next is sent, so a
    // process leaves at most one delivery sent and not recorded: a duplicate is allowed only when
    // a kill -9 fell between the two receipts, and each kill allows one. A kill's instant is
    // taken just before the signal, so a request already on its way may be received a little
    // after it: `KILL_SLACK` allows for that.
    const KILL_SLACK: Duration = Duration::from_secs(1);
    let mut problems = Vec::new();
    let mut again: Vec<(Instant, Instant, String)> = Vec::new();
    for (uid, e) in &events {
        let Some(at) = receipts.get(uid) else {
            problems.push(format!(
                "{uid} ({} {} {}) never received",
                e.link, e.event, e.new
            ));
            continue;
        };
        again.extend(at.windows(2).map(|w| {
            (
                w[1],
                w[0],
                format!("{uid} ({} {} {})", e.link, e.event, e.new),
            )
        }));
    }
    let duplicates = again.len();
    // Matched in the order of the second receipts, each to the earliest kill left that fits: if
    // any matching explains every duplicate, this one does.
    again.sort();
    let mut used = vec![false; daemon.kills.len()];
    for (second, first, what) in again {
        let kill = (0..daemon.kills.len()).find(|&k| {
            let at = daemon.kills[k];
            !used[k] && at + KILL_SLACK >= first && at <= second
        });
        match kill {
            Some(k) => used[k] = true,
            None => {
                let terms = (daemon.terms.iter())
                    .filter(|&&t| first <= t && t <= second)
                    .count();
                problems.push(format!(
                    "{what} received again {:?} later, with no kill -9 in between (that was not another's) and {terms} SIGTERM",
                    second - first
                ));
            }
        }
    }
    // At least once: a delivery made and not recorded (the webhook's kills) is made again.
    assert!(
        duplicates >= daemon.mid_delivery_kills,
        "{} kills between a delivery and its recording, {duplicates} events received again",
        daemon.mid_delivery_kills
    );
    assert!(
        problems.is_empty(),
        "{} of {} events delivered wrongly:\n{}",
        problems.len(),
        events.len(),
        problems.join("\n")
    );

    // Each link's events make a consistent sequence: a confirmation starts from the state
    // confirmed before it (nothing after a recovery), a recovery follows a confirmation, and no
    // two consecutive events tell the same state.
    let mut by_link: BTreeMap<&str, Vec<&Event>> = BTreeMap::new();
    for (_, e) in &events {
        by_link.entry(&e.link).or_default().push(e);
    }
    for (link, evs) in &by_link {
        let mut confirmed: Option<&str> = None;
        for (n, e) in evs.iter().enumerate() {
            let seq = || {
                evs.iter()
                    .map(|e| format!("{} {:?}->{}", e.event, e.old, e.new))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            assert_eq!(
                e.old.as_deref(),
                confirmed,
                "{link}: event {n} of {}",
                seq()
            );
            match e.event.as_str() {
                "confirmed" => {
                    assert_ne!(Some(e.new.as_str()), confirmed, "{link}: {}", seq());
                    assert!(
                        ["broken", "error", "soft_404", "changed"].contains(&e.new.as_str()),
                        "{link}: {}",
                        seq()
                    );
                    confirmed = Some(&e.new);
                }
                "recovered" => {
                    assert!(confirmed.is_some(), "{link}: {}", seq());
                    assert!(
                        ["ok", "redirected"].contains(&e.new.as_str()),
                        "{link}: {}",
                        seq()
                    );
                    confirmed = None;
                }
                other => panic!("{link}: unknown event {other}"),
            }
        }
    }

    // States converged to the settled answers: the link's state, what is confirmed, and the last
    // event said so.
    for i in 0..LINKS {
        let url = site.url(&path(i));
        let (state, confirmed): (String, Option<String>) = conn
            .query_row(
                "SELECT l.state, c.confirmed FROM links l LEFT JOIN confirmations c ON c.link_id = l.id
                 WHERE l.url = ?1",
                [&url],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        let want = expected_state(i);
        assert_eq!(state, want, "{url}: the state after the settling");
        let want_confirmed = (want != "ok").then_some(want);
        assert_eq!(confirmed.as_deref(), want_confirmed, "{url}: confirmed");
        let last = by_link.get(url.as_str()).and_then(|evs| evs.last());
        match want_confirmed {
            Some(bad) => {
                let last = last.unwrap_or_else(|| panic!("{url}: no event"));
                assert_eq!(
                    (last.event.as_str(), last.new.as_str()),
                    ("confirmed", bad),
                    "{url}"
                );
            }
            None => assert!(
                last.is_none_or(|e| e.event == "recovered"),
                "{url}: the last event is not a recovery"
            ),
        }
    }

    // It was a soak: many transitions, through every kind of fault.
    let recovered = events
        .iter()
        .filter(|(_, e)| e.event == "recovered")
        .count();
    eprintln!(
        "soak: {} events ({recovered} recoveries) over {} links, each delivered; {duplicates} duplicate receipts; \
         {} kill -9 ({} mid-delivery), {} SIGTERM, {compactions} compactions, {} starts; webhook refused {} and stalled {} requests; \
         {} checks; faults over after {faults_over:?}, done after {elapsed:?}",
        events.len(),
        by_link.len(),
        daemon.kills.len(),
        daemon.mid_delivery_kills,
        daemon.terms.len(),
        daemon.starts,
        hook.refused.load(Ordering::SeqCst),
        hook.stalled.load(Ordering::SeqCst),
        max_check_id(&db),
    );
    assert!(events.len() >= 60, "only {} events", events.len());
    assert!(recovered >= 20, "only {recovered} recoveries");
    assert!(hook.refused.load(Ordering::SeqCst) > 0 && hook.stalled.load(Ordering::SeqCst) > 0);
}
