//! `citewatch serve`: every page and JSON route over real HTTP (status codes, the CLI's JSON
//! contract, filters and pages, escaping of hostile titles and link texts, the snapshot view's
//! policy, the token off loopback, DNS rebinding), the server inside the daemon and the CLI, and
//! a real browser (headless Chromium) that loads the overview, a post and an archived page and
//! shows that the archived page ran no script and reached no outside server. The browser test
//! also takes the README's screenshots (`CITEWATCH_SCREENSHOTS=docs cargo test --test
//! integration serve::a_real_browser`).
//!
//! `speed_on_20000_links` (ignored: run it with `--ignored --nocapture`) measures the pages on a
//! generated store of 20,000 links; it prints figures and asserts only that every page answers.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use citewatch::clock::ManualClock;
use citewatch::report;
use citewatch::rows::{CheckRecord, CitationRecord, NewSnapshot, PostRecord, StatusFilter};
use citewatch::serve::{self, Dashboard, Token};
use citewatch::state::State;
use citewatch::store::Store;

use crate::server::{html, Routes, TestServer};

// -- a tiny HTTP client (raw, so tests choose every header, Host included) -----------------------

#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Resp {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
}

fn request(port: u16, method: &str, path: &str, headers: &[(&str, &str)]) -> Resp {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect to the dashboard");
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut head = format!("{method} {path} HTTP/1.1\r\nConnection: close\r\n");
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
        head.push_str(&format!("Host: 127.0.0.1:{port}\r\n"));
    }
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).expect("read the answer");
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a whole response head");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|c| c.parse().ok())
        .expect("a status line");
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    Resp {
        status,
        headers,
        body: raw[split + 4..].to_vec(),
    }
}

pub fn get(port: u16, path: &str) -> Resp {
    request(port, "GET", path, &[])
}

// -- the dashboard, in-process -------------------------------------------------------------------

/// The fixtures' "now".
fn now() -> DateTime<Utc> {
    at("2026-11-25T12:00:00Z")
}

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// A dashboard served on its own runtime; stopped (and waited for) when dropped.
struct Running {
    port: u16,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Running {
    fn start(db: &Path, listen: &str, token: Option<&str>) -> Running {
        Running::start_with(db, listen, token, None)
    }

    fn start_with(
        db: &Path,
        listen: &str,
        token: Option<&str>,
        planner: Option<serve::Planner>,
    ) -> Running {
        let (db, listen) = (db.to_path_buf(), listen.parse().unwrap());
        let token = token.map(|t| Token::new(t).expect("a strong test token"));
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = match serve::bind(listen, token.as_ref()).await {
                    Ok(l) => l,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e.to_string()));
                        return;
                    }
                };
                let _ = ready_tx.send(Ok(listener.local_addr().unwrap().port()));
                let mut dash = Dashboard::new(&db, token, Arc::new(ManualClock::new(now())));
                if let Some(p) = planner {
                    dash = dash.with_planner(p);
                }
                let dash = Arc::new(dash);
                serve::run(listener, dash, async move {
                    let _ = stop_rx.await;
                })
                .await;
            });
        });
        let port = ready_rx
            .recv_timeout(Duration::from_secs(20))
            .expect("the dashboard starts")
            .expect("the dashboard binds");
        Running {
            port,
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }

    fn get(&self, path: &str) -> Resp {
        get(self.port, path)
    }

    #[track_caller]
    fn ok(&self, path: &str) -> Resp {
        let r = self.get(path);
        assert_eq!(r.status, 200, "{path}: {}", r.text());
        r
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

// -- the fixture ---------------------------------------------------------------------------------

const HOSTILE_TITLE: &str = "<script>alert(\"title\")</script> Rot & Ruin";
const HOSTILE_TEXT: &str = "<img src=x onerror=alert(1)>";

/// A small PNG: a `w`×`h` square of one colour (real image bytes, so a browser draws it).
fn png(w: u32, h: u32, rgb: [u8; 3]) -> Vec<u8> {
    fn chunk(out: &mut Vec<u8>, kind: &[u8], data: &[u8]) {
        out.extend((data.len() as u32).to_be_bytes());
        let mut crc = flate2::Crc::new();
        crc.update(kind);
        crc.update(data);
        out.extend(kind);
        out.extend(data);
        out.extend(crc.sum().to_be_bytes());
    }
    let mut ihdr = Vec::new();
    ihdr.extend(w.to_be_bytes());
    ihdr.extend(h.to_be_bytes());
    ihdr.extend([8, 2, 0, 0, 0]);
    // Each row: filter type 0, then the pixels.
    let row: Vec<u8> = std::iter::once(0).chain((0..w).flat_map(|_| rgb)).collect();
    let raw = row.repeat(h as usize);
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(&raw).unwrap();
    let idat = z.finish().unwrap();
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(&mut out, b"IDAT", &idat);
    chunk(&mut out, b"IEND", &[]);
    out
}

/// The archived page "as cited": everything in it that would run or fetch points at `outside`,
/// a server that records every connection. Its script, if it ran, would replace the page.
fn hostile_page(outside: &str) -> String {
    format!(
        r#"<!doctype html><html lang="en"><head><title>Citations rot quietly &lt;as cited&gt;</title>
<meta http-equiv="refresh" content="1;url={outside}/refresh">
<base href="{outside}/base/">
<link rel="stylesheet" href="{outside}/style.css">
<link rel="preload" href="{outside}/preload.js" as="script">
<style>h1 {{ color: #036; font-family: serif; }} .hero {{ background: url({outside}/bg.png); }} @import url({outside}/import.css);</style>
<script>document.write('<p id="ran">SCRIPT RAN</p>'); fetch('{outside}/fetch');</script>
<script>document.addEventListener('DOMContentLoaded', function () {{ document.body.innerHTML = '<h1>SCRIPT RAN</h1>'; }});</script>
<script src="{outside}/external.js"></script>
</head><body onload="document.body.innerHTML='SCRIPT RAN (onload)'">
<h1 class="hero">Citations rot quietly</h1>
<p>The original words the post quoted: a passage that was there. Links die, pages move, and
the web forgets what it said.</p>
<p><img src="/figure.png" alt="the archived figure" width="64" height="64">
<img src="{outside}/pixel.png" alt="an outside pixel"></p>
<img src=x onerror="new Image().src='{outside}/onerror'">
<iframe src="{outside}/frame"></iframe>
<object data="{outside}/object"></object>
<video src="{outside}/video.mp4" poster="{outside}/poster.png" autoplay></video>
<svg><image href="{outside}/svg.png" /></svg>
<form action="{outside}/form"><input type="image" src="{outside}/input.png" alt="go"></form>
<a href="{outside}/link" ping="{outside}/ping">a link to elsewhere</a>
<div style="background-image: url({outside}/inline.png)">A styled box.</div>
<noscript><img src="{outside}/noscript.png"></noscript>
</body></html>"#
    )
}

fn snapshot(body: &[u8], ct: &str, title: Option<&str>, text: &str) -> NewSnapshot {
    NewSnapshot {
        hash: blake3::hash(body).to_hex().to_string(),
        size: body.len() as u64,
        body_zstd: Some(zstd::encode_all(body, 3).unwrap()),
        content_type: Some(ct.into()),
        headers_json: "[]".into(),
        title: title.map(str::to_string),
        text: Some(text.into()),
        truncated: false,
    }
}

struct Check<'a> {
    at: &'a str,
    state: State,
    status: Option<u16>,
    snapshot: Option<NewSnapshot>,
    baseline: bool,
    error: Option<&'a str>,
    final_url: Option<&'a str>,
    redirects: Option<&'a str>,
    cycle: Option<i64>,
}

impl Default for Check<'_> {
    fn default() -> Self {
        Check {
            at: "2026-11-01T10:00:00Z",
            state: State::Ok,
            status: Some(200),
            snapshot: None,
            baseline: false,
            error: None,
            final_url: None,
            redirects: None,
            cycle: None,
        }
    }
}

fn record(store: &mut Store, link: i64, c: Check<'_>) {
    store
        .record_check(&CheckRecord {
            link_id: link,
            checked_at: at(c.at),
            state: c.state,
            http_status: c.status,
            final_url: c.final_url.map(str::to_string),
            redirects: c.redirects.and_then(citewatch::fetch::Redirects::from_json),
            error: c.error.map(str::to_string),
            elapsed_ms: 120,
            attempts: 1,
            snapshot: c.snapshot,
            similarity: None,
            set_baseline: c.baseline,
            volatile: None,
            cycle_id: c.cycle,
            network: None,
            ..Default::default()
        })
        .unwrap();
}

fn cite(link: &str, line: u32, text: &str, quote: Option<&str>) -> CitationRecord {
    CitationRecord {
        link: link.into(),
        line,
        text: text.into(),
        kind: "link".into(),
        raw: link.into(),
        quote: quote.map(str::to_string),
        ..Default::default()
    }
}

fn post(path: &str, title: &str) -> PostRecord {
    PostRecord {
        source: "posts".into(),
        path: path.into(),
        title: Some(title.into()),
        date: Some("2024-05-01".into()),
        draft: false,
        url: Some("https://blog.example.org/2024/05/01/rot/".into()),
        size: 1,
        mtime_ns: 1,
        hash: path.into(),
    }
}

const GONE: &str = "https://gone.example/page";
const MOVED: &str = "https://moved.example/old";
const CHANGED: &str = "https://changed.example/article";
const FIGURE: &str = "https://changed.example/figure.png";
const FINE: &str = "https://fine.example/";
const MAIL: &str = "mailto:author@example.org";

struct Fixture {
    _dir: tempfile::TempDir,
    db: PathBuf,
    /// Records every connection: the archived page must reach none.
    outside: TestServer,
    hostile_post: i64,
    quiet_post: i64,
    gone: i64,
    moved: i64,
    changed: i64,
    fine: i64,
    figure: i64,
    /// The changed page as cited, its latest copy, and the archived figure.
    baseline: String,
    latest: String,
    image: String,
}

impl Fixture {
    fn new() -> Fixture {
        let outside = TestServer::start(
            Routes::new()
                .fallback(|_| html("<h1 id=\"outside\">SCRIPT RAN: the outside page</h1>")),
        );
        let out = outside.url("");
        let out = out.trim_end_matches('/');
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("citewatch.db");
        let mut s = Store::open(&db).unwrap();
        let mut mail = cite(MAIL, 30, "write to me", None);
        mail.static_verdict = Some((State::Skipped, "not a web link (mailto)".into()));
        s.replace_post(
            &post("2024/hostile.md", HOSTILE_TITLE),
            &[
                cite(GONE, 5, HOSTILE_TEXT, Some("a passage that was there")),
                cite(MOVED, 9, "the moved page", None),
                cite(
                    CHANGED,
                    12,
                    "the article",
                    Some("The original words the post quoted"),
                ),
                cite(FINE, 20, "a fine page", Some("the fine words stay here")),
                mail,
            ],
            at("2026-10-01T00:00:00Z"),
        )
        .unwrap();
        s.replace_post(
            &post("2024/quiet.md", "A quiet post"),
            &[
                cite(FINE, 3, "fine again", None),
                cite(FIGURE, 4, "a figure", None),
            ],
            at("2026-10-01T00:00:00Z"),
        )
        .unwrap();
        let id = |s: &Store, u: &str| s.link_id(u).unwrap().unwrap();
        let (gone, moved, changed, fine, figure) = (
            id(&s, GONE),
            id(&s, MOVED),
            id(&s, CHANGED),
            id(&s, FINE),
            id(&s, FIGURE),
        );
        let cycle = Some(
            s.begin_cycle("daemon", 4242, at("2026-11-24T10:00:00Z"))
                .unwrap(),
        );
        let mut checks: Vec<(i64, Check<'_>)> = Vec::new();
        // gone: fine for weeks, then 404 (and a small not-found body).
        let gone_page = b"<html><body><p>The original words the post quoted: a passage that was there.</p></body></html>";
        checks.push((
            gone,
            Check {
                at: "2026-10-05T10:00:00Z",
                snapshot: Some(snapshot(
                    gone_page,
                    "text/html",
                    Some("Gone page"),
                    "The original words the post quoted: a passage that was there.",
                )),
                baseline: true,
                ..Check::default()
            },
        ));
        for day in [
            "2026-11-20T10:00:00Z",
            "2026-11-22T10:00:00Z",
            "2026-11-24T10:00:00Z",
        ] {
            checks.push((
                gone,
                Check {
                    at: day,
                    state: State::Broken,
                    status: Some(404),
                    snapshot: Some(snapshot(
                        b"<h1>Not Found</h1>",
                        "text/html",
                        Some("Not Found"),
                        "Not Found",
                    )),
                    error: Some("HTTP 404 <b>Not Found</b>"),
                    cycle,
                    ..Check::default()
                },
            ));
        }
        // moved: a permanent redirect chain.
        checks.push((moved, Check {
            at: "2026-11-10T10:00:00Z",
            state: State::Redirected,
            status: Some(200),
            final_url: Some("https://moved.example/new"),
            redirects: Some(r#"[{"url":"https://moved.example/old","status":301,"location":"https://moved.example/new"}]"#),
            cycle,
            ..Check::default()
        }));
        // changed: the hostile page as cited, then rewritten.
        let hostile = hostile_page(out);
        let base = snapshot(hostile.as_bytes(), "text/html; charset=utf-8", Some("Citations rot quietly"),
            "Citations rot quietly\nThe original words the post quoted: a passage that was there. Links die, pages move, and the web forgets what it said.");
        let baseline = base.hash.clone();
        checks.push((
            changed,
            Check {
                at: "2026-10-03T10:00:00Z",
                snapshot: Some(base),
                baseline: true,
                ..Check::default()
            },
        ));
        let new_page = "<html><body><h1>Citations rot quietly</h1><p>New words replace the old ones. Links die, pages move, and the web forgets what it said.</p></body></html>";
        let latest_snap = snapshot(new_page.as_bytes(), "text/html", Some("Citations rot quietly"),
            "Citations rot quietly\nNew words replace the old ones. Links die, pages move, and the web forgets what it said.");
        let latest = latest_snap.hash.clone();
        checks.push((
            changed,
            Check {
                at: "2026-11-18T10:00:00Z",
                state: State::Changed,
                snapshot: Some(latest_snap),
                error: Some("quoted passage no longer on the page"),
                cycle,
                ..Check::default()
            },
        ));
        // fine: ok all along, its quote stands.
        for (day, cyc) in [
            ("2026-10-02T10:00:00Z", None),
            ("2026-11-24T10:00:00Z", cycle),
        ] {
            checks.push((
                fine,
                Check {
                    at: day,
                    snapshot: Some(snapshot(
                        b"<p>the fine words stay here</p>",
                        "text/html",
                        Some("Fine"),
                        "the fine words stay here",
                    )),
                    baseline: true,
                    cycle: cyc,
                    ..Check::default()
                },
            ));
        }
        // figure: an image citewatch archived itself.
        let img = snapshot(&png(64, 64, [0x2e, 0x8b, 0x57]), "image/png", None, "");
        let image = img.hash.clone();
        checks.push((
            figure,
            Check {
                at: "2026-10-03T10:00:00Z",
                snapshot: Some(img),
                baseline: true,
                ..Check::default()
            },
        ));
        // Written in time order, as checks are.
        checks.sort_by_key(|(_, c)| c.at);
        for (link, c) in checks {
            record(&mut s, link, c);
        }
        drop(s);
        // What the alert outbox, the confirmations and the Wayback cache would hold.
        let c = rusqlite::Connection::open(&db).unwrap();
        c.execute_batch(&format!(
            "INSERT INTO alert_events (uid, link_id, created_at, event, old_state, new_state, payload)
               VALUES ('cw-{gone}-1-confirmed', {gone}, '2026-11-24T10:00:00Z', 'confirmed', 'ok', 'broken', '{{}}');
             INSERT INTO alert_deliveries (event_id, sink, state, attempts, next_attempt, last_error, delivered_at)
               VALUES (1, 'log', 'delivered', 1, '2026-11-24T10:00:00Z', NULL, '2026-11-24T10:00:01Z'),
                      (1, 'webhook:hooks.example/ab12cd34', 'pending', 2, '2026-11-25T13:00:00Z', 'HTTP 500 <script>boom</script>', NULL);
             INSERT INTO confirmations (link_id, confirmed, streak_state, streak_count) VALUES ({gone}, 'broken', 'broken', 3);
             UPDATE cycles SET finished_at = '2026-11-24T10:05:00Z';
             INSERT INTO wayback (link_id, looked_up_at, archived_url, timestamp)
               VALUES ({gone}, '2026-11-24T10:00:00Z', 'https://web.archive.org/web/2024/https://gone.example/page', '20240501000000');"
        ))
        .unwrap();
        let post_id = |path: &str| -> i64 {
            c.query_row("SELECT id FROM posts WHERE path = ?1", [path], |r| r.get(0))
                .unwrap()
        };
        let (hostile_post, quiet_post) = (post_id("2024/hostile.md"), post_id("2024/quiet.md"));
        drop(c);
        Fixture {
            _dir: dir,
            db,
            outside,
            hostile_post,
            quiet_post,
            gone,
            moved,
            changed,
            fine,
            figure,
            baseline,
            latest,
            image,
        }
    }

    fn serve(&self) -> Running {
        Running::start(&self.db, "127.0.0.1:0", None)
    }
}

// -- pages and JSON ------------------------------------------------------------------------------

/// Every page answers 200 as HTML under the dashboard's policy, and as JSON with `format=json`.
#[test]
fn every_page_and_json_route_answers() {
    let f = Fixture::new();
    let d = f.serve();
    let pages = [
        "/".to_string(),
        "/links".into(),
        "/links?state=broken&state=changed".into(),
        "/links?host=gone.example".into(),
        "/links?post=hostile".into(),
        "/links?q=passage&sort=since".into(),
        "/posts".into(),
        "/posts?sort=rot&q=2024".into(),
        format!("/post/{}", f.hostile_post),
        format!("/post/{}", f.quiet_post),
        format!("/link/{}", f.gone),
        format!("/link/{}", f.changed),
        format!("/link/{}", f.figure),
        format!("/link/{}/history", f.changed),
        "/alerts".into(),
    ];
    for p in &pages {
        let r = d.ok(p);
        assert_eq!(
            r.header("content-type"),
            Some("text/html; charset=utf-8"),
            "{p}"
        );
        let csp = r.header("content-security-policy").unwrap_or_default();
        assert!(
            csp.contains("default-src 'none'") && !csp.contains("script-src"),
            "{p}: {csp}"
        );
        assert_eq!(r.header("x-content-type-options"), Some("nosniff"), "{p}");
        assert_eq!(r.header("x-frame-options"), Some("DENY"), "{p}");
        assert!(r.text().starts_with("<!DOCTYPE html>"), "{p}");
        assert!(
            !r.text().contains("<script"),
            "{p}: the dashboard has no script"
        );
        let sep = if p.contains('?') { '&' } else { '?' };
        let j = d.ok(&format!("{p}{sep}format=json"));
        assert_eq!(j.header("content-type"), Some("application/json"), "{p}");
        j.json();
    }
    // Pages about things that do not exist, and bad requests, say so (as HTML or JSON).
    for (p, code) in [
        ("/link/999999".to_string(), 404),
        ("/link/abc".into(), 404),
        ("/post/0".into(), 404),
        ("/link/1/history?page=x".into(), 400),
        ("/links?state=bogus".into(), 400),
        ("/links?sort=sideways".into(), 400),
        ("/posts?sort=sideways".into(), 400),
        ("/nope".into(), 404),
        (format!("/link/{}/snapshot/not-hex", f.changed), 404),
    ] {
        let r = d.get(&p);
        assert_eq!(r.status, code, "{p}: {}", r.text());
        let sep = if p.contains('?') { '&' } else { '?' };
        let j = d.get(&format!("{p}{sep}format=json"));
        assert_eq!(j.status, code, "{p} as JSON");
        assert!(j.json()["error"].is_string(), "{p}: {}", j.text());
    }
    let unknown = d.get("/links?state=bogus");
    assert!(
        unknown.text().contains("unknown state"),
        "{}",
        unknown.text()
    );
    // The stylesheet: one small file, cacheable (its URL carries its hash), no CDN.
    let css = d.ok("/style.css");
    assert_eq!(css.header("content-type"), Some("text/css; charset=utf-8"));
    assert!(css.text().contains("prefers-color-scheme: dark"));
    assert!(css.body.len() < 16 * 1024);
    assert!(d.ok("/").text().contains("/style.css?v="));
    // Health, for the unit's checks.
    assert_eq!(d.ok("/healthz").text(), "ok\n");
}

/// The dashboard writes nothing (ARCHITECTURE.md, `serve`): after every page, as HTML and
/// JSON, the snapshots, the image and the metrics, no connection has committed anything to the
/// database (`PRAGMA data_version` of a connection held open meanwhile changes with any other
/// connection's commit). The dry run of `fix` for a post page is `a_post_shows_what_fix_would_do`.
#[test]
fn the_dashboard_writes_nothing() {
    let f = Fixture::new();
    let watch = rusqlite::Connection::open(&f.db).unwrap();
    let version = |c: &rusqlite::Connection| -> i64 {
        c.query_row("PRAGMA data_version", [], |r| r.get(0))
            .unwrap()
    };
    let before = version(&watch);
    let d = f.serve();
    let pages = [
        "/".to_string(),
        "/links?sort=since".into(),
        "/posts?sort=rot".into(),
        format!("/post/{}", f.hostile_post),
        format!("/post/{}", f.quiet_post),
        format!("/link/{}", f.gone),
        format!("/link/{}", f.changed),
        format!("/link/{}", f.moved),
        format!("/link/{}", f.fine),
        format!("/link/{}", f.figure),
        format!("/link/{}/history", f.changed),
        "/alerts".into(),
    ];
    for p in &pages {
        d.ok(p);
        let sep = if p.contains('?') { '&' } else { '?' };
        d.ok(&format!("{p}{sep}format=json"));
    }
    d.ok(&format!("/link/{}/snapshot/{}", f.changed, f.baseline));
    d.ok(&format!("/link/{}/snapshot/{}", f.changed, f.latest));
    d.ok(&format!("/link/{}/snapshot/{}/raw", f.figure, f.image));
    d.ok("/metrics");
    drop(d);
    assert_eq!(version(&watch), before, "the dashboard committed a write");
    // The probe itself sees a write: another connection's commit moves it.
    let other = rusqlite::Connection::open(&f.db).unwrap();
    other
        .execute_batch("CREATE TABLE probe_write (x); DROP TABLE probe_write;")
        .unwrap();
    assert_ne!(
        version(&watch),
        before,
        "data_version follows other connections' commits"
    );
}

/// Where the CLI prints a list, the route returns the CLI's JSON for it, byte for byte.
#[test]
fn json_routes_are_the_cli_contract() {
    let f = Fixture::new();
    let d = f.serve();
    let store = Store::open_reader(&f.db).unwrap();
    let all = store
        .status(&StatusFilter {
            cited_only: true,
            ..StatusFilter::default()
        })
        .unwrap();
    // Rows kept as read are the rows filtered afterwards (what `run`'s summary reads).
    let failing = |r: &citewatch::rows::StatusRow| r.state.is_failing() || r.is_failing();
    let kept = store
        .status_kept(
            &StatusFilter {
                cited_only: true,
                ..StatusFilter::default()
            },
            failing,
        )
        .unwrap();
    let want: Vec<_> = all.iter().filter(|r| failing(r)).map(|r| r.id).collect();
    assert!(!want.is_empty() && want.len() < all.len());
    assert_eq!(kept.iter().map(|r| r.id).collect::<Vec<_>>(), want);
    assert_eq!(
        d.ok("/links?format=json&per_page=500").text(),
        report::status_json(&all) + "\n",
        "`citewatch status --format json`"
    );
    let broken = store
        .status(&StatusFilter {
            states: vec![State::Broken, State::Changed],
            cited_only: true,
            ..StatusFilter::default()
        })
        .unwrap();
    assert_eq!(
        d.ok("/links?format=json&state=broken,changed").text(),
        report::status_json(&broken) + "\n",
        "`citewatch status --state broken,changed --format json`"
    );
    assert_eq!(
        d.ok(&format!("/link/{}/history?format=json", f.gone))
            .text(),
        report::history_json(&store.history(f.gone).unwrap()) + "\n",
        "`citewatch history URL --format json`"
    );
    assert_eq!(
        d.ok("/alerts?format=json").text(),
        serde_json::to_string_pretty(&store.alerts().unwrap()).unwrap() + "\n",
        "`citewatch alerts --format json`"
    );
    // ... and says what the outbox holds, field by field.
    let alerts = d.ok("/alerts?format=json").json();
    let a = &alerts[0];
    assert_eq!(
        (&a["id"], &a["event"], &a["old_state"], &a["new_state"]),
        (
            &json!(format!("cw-{}-1-confirmed", f.gone)),
            &json!("confirmed"),
            &json!("ok"),
            &json!("broken")
        ),
        "{a}"
    );
    assert_eq!(a["url"], GONE);
    assert_eq!(a["created_at"], "2026-11-24T10:00:00Z");
    // A link is its status object, with fields added and none changed.
    let link = d.ok(&format!("/link/{}?format=json", f.gone)).json();
    let status: Value = serde_json::from_str(&report::status_json(&[store
        .link_status(GONE)
        .unwrap()
        .unwrap()]))
    .unwrap();
    for (k, v) in status[0].as_object().unwrap() {
        assert_eq!(&link[k], v, "link JSON field {k}");
    }
    assert_eq!(link["confirmed"], "broken");
    assert_eq!(link["transitions"][1]["to"], "broken");
    let changed = d.ok(&format!("/link/{}?format=json", f.changed)).json();
    assert_eq!(changed["as_cited"]["hash"], f.baseline.as_str());
    assert_eq!(changed["latest_snapshot"]["hash"], f.latest.as_str());
    let ops: Vec<&str> = changed["diff"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["op"].as_str().unwrap())
        .collect();
    assert!(
        ops.contains(&"delete") && ops.contains(&"insert"),
        "{ops:?}"
    );
    // A post: its citations in reading order, with quotes and whether they stand.
    let post = d
        .ok(&format!("/post/{}?format=json", f.hostile_post))
        .json();
    let lines: Vec<u64> = post["citations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, [5, 9, 12, 20, 30]);
    let c = &post["citations"];
    assert_eq!(c[0]["text"], HOSTILE_TEXT, "JSON carries the text as it is");
    assert_eq!(c[0]["quote_stands"], false, "gone from the 404 page");
    assert_eq!(c[2]["quote_stands"], false, "rewritten away");
    assert_eq!(c[3]["quote_stands"], true, "still on the page");
    assert_eq!(c[1]["quote_stands"], Value::Null, "quotes nothing");
    assert_eq!(c[2]["as_cited"]["hash"], f.baseline.as_str());
    assert_eq!(post["fix"]["available"], false, "no planner given");
    // The overview: counts, weeks, posts, alerts.
    let o = d.ok("/?format=json").json();
    assert_eq!(o["states"]["broken"], 1);
    assert_eq!(o["states"]["skipped"], 1);
    assert_eq!(o["links"], 6);
    assert_eq!(o["posts"], 2);
    assert_eq!(o["top_posts"][0]["path"], "2024/hostile.md");
    assert_eq!(o["top_posts"][0]["rotted"], 3);
    assert_eq!(o["alerts"][0]["deliveries"][1]["state"], "pending");
    let weeks = o["weeks"].as_array().unwrap();
    assert!(weeks.len() >= 8, "weeks since the first check: {weeks:?}");
    assert_eq!(weeks.last().unwrap()["states"]["broken"], 1);
    let early = weeks.iter().find(|w| w["week"] == "2026-10-05").unwrap();
    assert_eq!(early["states"]["broken"], 0, "gone was fine then");
    assert_eq!(early["states"]["ok"], 4);
}

#[test]
fn lists_are_filtered_and_paginated() {
    let f = Fixture::new();
    let d = f.serve();
    let urls = |r: &Resp| -> Vec<String> {
        r.json()
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["url"].as_str().unwrap().to_string())
            .collect()
    };
    let p1 = d.ok("/links?format=json&per_page=2");
    assert_eq!(p1.header("x-total-count"), Some("6"));
    let link = p1.header("link").unwrap();
    assert!(
        link.contains("page=2")
            && link.contains("rel=\"next\"")
            && link.contains("page=3>; rel=\"last\""),
        "{link}"
    );
    let p3 = d.ok("/links?format=json&per_page=2&page=3");
    assert!(p3.header("link").unwrap().contains("rel=\"prev\""));
    let mut seen: Vec<String> = Vec::new();
    for p in 1..=3 {
        seen.extend(urls(
            &d.ok(&format!("/links?format=json&per_page=2&page={p}")),
        ));
    }
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(seen.len(), 6);
    assert_eq!(
        seen, sorted,
        "pages follow each other in URL order, each link once"
    );
    assert!(urls(&d.ok("/links?format=json&page=99")).is_empty());
    // Filters.
    assert_eq!(urls(&d.ok("/links?format=json&state=broken")), [GONE]);
    assert_eq!(
        urls(&d.ok("/links?format=json&state=broken&state=redirected")),
        [GONE, MOVED]
    );
    assert_eq!(
        urls(&d.ok("/links?format=json&host=changed.example")),
        [CHANGED, FIGURE]
    );
    assert!(
        urls(&d.ok("/links?format=json&host=example")).is_empty(),
        "the host, exactly"
    );
    assert_eq!(urls(&d.ok("/links?format=json&post=quiet")), [FIGURE, FINE]);
    assert_eq!(
        urls(&d.ok("/links?format=json&q=fine%20words")),
        [FINE],
        "by quote"
    );
    assert_eq!(
        urls(&d.ok("/links?format=json&q=moved%20page")),
        [MOVED],
        "by link text"
    );
    assert_eq!(
        urls(&d.ok("/links?format=json&q=100%25")).len(),
        0,
        "% is literal"
    );
    assert_eq!(
        urls(&d.ok("/links?format=json&sort=since&state=broken,changed,redirected")),
        [GONE, CHANGED, MOVED]
    );
    // The HTML keeps the filters in its page links and its form.
    let h = d.ok("/links?state=ok&per_page=1").text();
    assert!(
        h.contains("href=\"/links?state=ok&amp;per_page=1&amp;page=2\""),
        "{h}"
    );
    assert!(h.contains("value=\"ok\" checked"), "{h}");
    // Posts, and a post's citations, are paginated too.
    let posts = d.ok("/posts?format=json&per_page=1&sort=rot");
    assert_eq!(posts.header("x-total-count"), Some("2"));
    assert_eq!(posts.json()[0]["path"], "2024/hostile.md");
    let page2 = d
        .ok(&format!(
            "/post/{}?format=json&per_page=2&page=2",
            f.hostile_post
        ))
        .json();
    assert_eq!(page2["total"], 5);
    assert_eq!(page2["citations"][0]["line"], 12);
    let alerts = d.ok("/alerts?format=json&per_page=1&page=2");
    assert_eq!(alerts.header("x-total-count"), Some("1"));
    assert_eq!(alerts.json(), serde_json::json!([]));
}

/// Titles, link texts, errors and URLs are data: escaped on every page.
#[test]
fn hostile_titles_and_link_texts_are_escaped() {
    let f = Fixture::new();
    let d = f.serve();
    for p in [
        "/".to_string(),
        "/links".into(),
        "/posts".into(),
        "/alerts".into(),
        format!("/post/{}", f.hostile_post),
        format!("/link/{}", f.gone),
        format!("/link/{}/history", f.gone),
    ] {
        let body = d.ok(&p).text();
        assert!(!body.contains("<script"), "{p}: {body}");
        assert!(!body.contains("<img src=x"), "{p}");
        assert!(!body.contains("<b>Not Found"), "{p}");
    }
    let post = d.ok(&format!("/post/{}", f.hostile_post)).text();
    assert!(
        post.contains("&lt;script&gt;alert(&quot;title&quot;)&lt;/script&gt; Rot &amp; Ruin"),
        "{post}"
    );
    assert!(
        post.contains("&lt;img src=x onerror=alert(1)&gt;"),
        "{post}"
    );
    let alerts = d.ok("/alerts").text();
    assert!(
        alerts.contains("HTTP 500 &lt;script&gt;boom&lt;/script&gt;"),
        "{alerts}"
    );
}

/// The post page: citations in reading order with line, text, state, since, quote and whether it
/// stands, the archived copy, and the place where `fix`'s planned edits go.
#[test]
fn a_post_page_shows_each_citation() {
    let f = Fixture::new();
    let d = f.serve();
    let body = d.ok(&format!("/post/{}", f.hostile_post)).text();
    let pos = |s: &str| {
        body.find(s)
            .unwrap_or_else(|| panic!("{s} missing: {body}"))
    };
    assert!(
        pos(GONE) < pos(MOVED) && pos(MOVED) < pos(CHANGED) && pos(CHANGED) < pos(MAIL),
        "reading order"
    );
    assert!(body.contains("✓ still on the page"), "{body}");
    assert!(body.contains("✗ no longer on the page"), "{body}");
    assert!(body.contains("confirmed broken"), "{body}");
    assert!(
        body.contains(&format!(
            "href=\"/link/{}/cited/{}\"",
            f.changed, f.baseline
        )),
        "{body}"
    );
    assert!(
        body.contains("href=\"https://web.archive.org/web/2024/https://gone.example/page\""),
        "{body}"
    );
    assert!(body.contains("started without the fix planner"), "{body}");
    assert!(
        body.contains("5 days ago") || body.contains("days ago"),
        "since when: {body}"
    );
}

/// The post page shows what `citewatch fix` would do, from fix's own planner run dry: a
/// confirmed dead link with an archived copy gets a link to the copy; the post is not touched.
#[test]
fn a_post_shows_what_fix_would_do() {
    use citewatch::config::{Config, SourceConfig};
    let dir = tempfile::tempdir().unwrap();
    let posts = dir.path().join("posts");
    std::fs::create_dir(&posts).unwrap();
    let text = "---\ntitle: Rot\ndate: 2024-05-01\n---\n\nThe [lost page](https://gone.example/page) is gone.\n\nThe [fine one](https://fine.example/) is fine.\n";
    std::fs::write(posts.join("rot.md"), text).unwrap();
    let cfg = Config {
        db: dir.path().join("citewatch.db"),
        sources: vec![SourceConfig::bare(posts.clone())],
        ..Config::default()
    };
    let writer = citewatch::store::Writer::start(&cfg.db).unwrap();
    citewatch::pipeline::scan_blocking(&writer, &cfg, now()).unwrap();
    let c = rusqlite::Connection::open(&cfg.db).unwrap();
    c.execute_batch(&format!(
        "UPDATE links SET state = 'broken', since = '2026-11-20T10:00:00Z', streak = 3, http_status = 404 WHERE url = '{GONE}';
         INSERT INTO confirmations (link_id, confirmed, streak_state, streak_count)
           SELECT id, 'broken', 'broken', 3 FROM links WHERE url = '{GONE}';
         INSERT INTO wayback (link_id, looked_up_at, archived_url, timestamp)
           SELECT id, '2026-11-24T10:00:00Z', 'https://web.archive.org/web/20240501000000/https://gone.example/page', '20240501000000'
           FROM links WHERE url = '{GONE}';"
    ))
    .unwrap();
    let post_id: i64 = c
        .query_row("SELECT id FROM posts", [], |r| r.get(0))
        .unwrap();
    drop(c);
    let planner = serve::fix_planner(
        writer.clone(),
        cfg.clone(),
        Arc::new(ManualClock::new(now())),
    );
    let d = Running::start_with(&cfg.db, "127.0.0.1:0", None, Some(planner));
    let j = d.ok(&format!("/post/{post_id}?format=json")).json();
    let fix = &j["fix"];
    assert_eq!(fix["available"], true, "{fix}");
    let edits = fix["edits"].as_array().unwrap();
    assert_eq!(edits.len(), 1, "{fix}");
    assert_eq!(edits[0]["url"], GONE);
    assert_eq!(edits[0]["action"], "annotate");
    assert_eq!(edits[0]["line"], 6);
    assert!(
        edits[0]["target"]
            .as_str()
            .unwrap()
            .starts_with("https://web.archive.org/web/2024"),
        "{fix}"
    );
    let html = d.ok(&format!("/post/{post_id}")).text();
    assert!(html.contains("add a link to the archived copy"), "{html}");
    assert!(html.contains("citewatch fix --post rot.md"), "{html}");
    assert_eq!(
        std::fs::read_to_string(posts.join("rot.md")).unwrap(),
        text,
        "a dry run writes nothing"
    );
    // Without a posts folder to read, the page says so instead.
    let none = serve::fix_planner(
        writer,
        Config {
            db: cfg.db.clone(),
            ..Config::default()
        },
        Arc::new(ManualClock::new(now())),
    );
    drop(d);
    let d = Running::start_with(&cfg.db, "127.0.0.1:0", None, Some(none));
    let j = d.ok(&format!("/post/{post_id}?format=json")).json();
    assert_eq!(j["fix"]["available"], false);
    assert!(j["fix"]["reason"].as_str().unwrap().contains("[[source]]"));
}

/// The link page: timeline, transitions, redirect chain, the diff, the page as cited.
#[test]
fn a_link_page_shows_its_life() {
    let f = Fixture::new();
    let d = f.serve();
    let changed = d.ok(&format!("/link/{}", f.changed)).text();
    assert!(changed.contains("<svg class=\"timeline\""), "{changed}");
    assert!(
        changed.contains("<del>The original</del> <ins>New</ins> words"),
        "the diff: {changed}"
    );
    assert!(
        changed.contains("<ins>old ones.</ins> Links die"),
        "{changed}"
    );
    assert!(
        changed.contains(&format!(
            "<iframe class=\"frame\" sandbox=\"\" src=\"/link/{}/snapshot/{}\"",
            f.changed, f.baseline
        )),
        "{changed}"
    );
    let moved = d.ok(&format!("/link/{}", f.moved)).text();
    assert!(
        moved.contains("Redirect chain") && moved.contains("https://moved.example/new"),
        "{moved}"
    );
    let gone = d.ok(&format!("/link/{}", f.gone)).text();
    assert!(
        gone.contains("2026-11-20T10:00:00Z broken HTTP 404"),
        "a tick per check: {gone}"
    );
    let cited = d
        .ok(&format!("/link/{}/cited/{}", f.changed, f.baseline))
        .text();
    assert!(cited.contains("The page as it was cited"), "{cited}");
    assert!(
        cited.contains("2026-10-03T10:00:00Z"),
        "when it was fetched: {cited}"
    );
    assert!(cited.contains("sandbox=\"\""), "{cited}");
}

/// The archived page is served under a sandboxing policy, rewritten so nothing in it runs or
/// reaches the live site, with a banner saying what it is.
#[test]
fn snapshots_are_served_sandboxed() {
    let f = Fixture::new();
    let d = f.serve();
    let r = d.ok(&format!("/link/{}/snapshot/{}", f.changed, f.baseline));
    let csp = r.header("content-security-policy").unwrap();
    let directives: Vec<&str> = csp.split(';').map(str::trim).collect();
    // Literally the policy the README promises ("The page as it was cited").
    assert_eq!(
        directives,
        [
            "sandbox",
            "default-src 'none'",
            "img-src 'self' data:",
            "style-src 'unsafe-inline'",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'self'",
        ],
        "{csp}"
    );
    assert!(
        directives.contains(&"sandbox"),
        "sandbox with no allow-* at all: {csp}"
    );
    assert!(directives.contains(&"default-src 'none'"), "{csp}");
    assert!(directives.contains(&"img-src 'self' data:"), "{csp}");
    assert!(
        !csp.contains("allow-scripts") && !csp.contains("script-src"),
        "{csp}"
    );
    assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(r.header("x-frame-options"), Some("SAMEORIGIN"));
    assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
    let body = r.text();
    // The outside server's address is left only where a link shows its target on hover, and
    // in CSS defused so that it fetches nothing.
    let outside = f.outside.url("");
    let outside = outside.trim_end_matches('/');
    let places: Vec<usize> = body.match_indices(outside).map(|(i, _)| i).collect();
    assert!(!places.is_empty());
    for i in places {
        let before = &body[..i];
        assert!(
            before.ends_with("title=\"") || before.ends_with("citewatch-blocked("),
            "{}",
            &body[i.saturating_sub(80)..(i + 80).min(body.len())]
        );
    }
    for bad in [
        "<script", "onload", "onerror", "<iframe", "<object", "<video", "<base", "<meta", "<link",
        "ping=", "srcset", "<svg",
    ] {
        assert!(
            !body.to_ascii_lowercase().contains(bad),
            "{bad} survived: {body}"
        );
    }
    assert!(body.contains("<citewatch-banner"), "{body}");
    assert!(
        body.contains("fetched 2026-10-03T10:00:00Z (the page as it was cited)"),
        "{body}"
    );
    assert!(
        body.contains("<h1 class=\"hero\">Citations rot quietly</h1>"),
        "{body}"
    );
    let raw = format!("/link/{}/snapshot/{}/raw", f.figure, f.image);
    assert!(
        body.contains(&format!("src=\"{raw}\"")),
        "the archived figure is ours: {body}"
    );
    // The archived image itself, under a policy of its own.
    let img = d.ok(&raw);
    assert_eq!(img.header("content-type"), Some("image/png"));
    assert!(img.body.starts_with(b"\x89PNG"));
    assert!(img
        .header("content-security-policy")
        .unwrap()
        .contains("sandbox"));
    // Raw bytes only for images: an HTML snapshot is never served unrewritten.
    assert_eq!(
        d.get(&format!("/link/{}/snapshot/{}/raw", f.changed, f.baseline))
            .status,
        404
    );
    // A snapshot shown only under a link that archived it.
    assert_eq!(
        d.get(&format!("/link/{}/snapshot/{}", f.fine, f.baseline))
            .status,
        404
    );
    assert_eq!(
        d.get(&format!("/link/{}/cited/{}", f.fine, f.baseline))
            .status,
        404
    );
    // Its latest copy is viewable too, and says it is not the page as cited.
    let latest = d
        .ok(&format!("/link/{}/snapshot/{}", f.changed, f.latest))
        .text();
    assert!(
        latest.contains("New words replace") && !latest.contains("as it was cited"),
        "{latest}"
    );
    assert_eq!(
        f.outside.connections(),
        0,
        "nothing of this reached the outside server"
    );
}

/// Off loopback the dashboard needs its token: a bearer header for scripts, or a `?token=` link
/// that sets a cookie (and leaves the address bar at once). Health checks need none.
#[test]
fn off_loopback_a_token_is_required() {
    let f = Fixture::new();
    // Without a token, an address beyond loopback is refused before binding.
    let e = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(serve::bind("0.0.0.0:0".parse().unwrap(), None))
        .unwrap_err()
        .to_string();
    assert!(e.contains("token_file"), "{e}");
    let token = "s3cret-token-for-the-dashboard";
    let d = Running::start(&f.db, "0.0.0.0:0", Some(token));
    let port = d.port;
    for p in [
        "/",
        "/links?format=json",
        "/metrics",
        &format!("/link/{}/snapshot/{}", f.changed, f.baseline),
    ] {
        let r = get(port, p);
        assert_eq!(r.status, 401, "{p}");
        assert_eq!(
            r.header("www-authenticate"),
            Some("Bearer realm=\"citewatch\"")
        );
        assert!(!r.text().contains(token));
    }
    assert_eq!(get(port, "/healthz").status, 200);
    let bearer = format!("Bearer {token}");
    assert_eq!(
        request(
            port,
            "GET",
            "/links?format=json",
            &[("Authorization", &bearer)]
        )
        .status,
        200
    );
    assert_eq!(
        request(
            port,
            "GET",
            "/",
            &[("Authorization", "Bearer wrong-token-of-same-size!")]
        )
        .status,
        401
    );
    // The link with the token: a cookie, and the token gone from the address.
    let r = get(port, &format!("/links?state=broken&token={token}"));
    assert_eq!(r.status, 303);
    assert_eq!(r.header("location"), Some("/links?state=broken"));
    let cookie = r.header("set-cookie").unwrap();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    assert!(
        !cookie.contains(token),
        "the cookie is derived, not the token: {cookie}"
    );
    let pair = cookie.split(';').next().unwrap();
    assert_eq!(
        request(port, "GET", "/links", &[("Cookie", pair)]).status,
        200
    );
    assert_eq!(
        request(port, "GET", "/", &[("Cookie", "citewatch=forged")]).status,
        401
    );
    assert_eq!(get(port, "/?token=wrong-token-of-same-size!").status, 401);
    // Archived images inside a sandboxed page come by a capability of their own (the sandbox's
    // opaque origin may send no cookie), good for that image only.
    let page = request(
        port,
        "GET",
        &format!("/link/{}/snapshot/{}", f.changed, f.baseline),
        &[("Authorization", &bearer)],
    )
    .text();
    let start = page
        .find("/raw?k=")
        .expect("a capability on the archived image");
    let src = &page
        [page[..start].rfind('"').unwrap() + 1..start + 7 + page[start + 7..].find('"').unwrap()];
    assert_eq!(get(port, src).status, 200, "{src}");
    assert_eq!(get(port, &src.replace("?k=", "?k=0")).status, 401);
    assert_eq!(
        get(
            port,
            &format!("/link/{}/snapshot/{}/raw", f.figure, f.image)
        )
        .status,
        401
    );
}

/// README ("Who may look"): once a token is set, it is required on loopback too; health checks
/// still need none.
#[test]
fn with_a_token_loopback_needs_it_too() {
    let f = Fixture::new();
    let token = "s3cret-token-for-the-dashboard";
    let d = Running::start(&f.db, "127.0.0.1:0", Some(token));
    for host in ["localhost", &format!("127.0.0.1:{}", d.port)] {
        for p in ["/", "/links?format=json", "/metrics"] {
            let r = request(d.port, "GET", p, &[("Host", host)]);
            assert_eq!(r.status, 401, "{host} {p}");
            assert!(!r.text().contains(GONE), "{host} {p}");
        }
    }
    assert_eq!(get(d.port, "/healthz").status, 200);
    let bearer = format!("Bearer {token}");
    let r = request(
        d.port,
        "GET",
        "/links?format=json",
        &[("Authorization", &bearer)],
    );
    assert_eq!(r.status, 200);
    assert!(r.text().contains(GONE), "the token opens it");
}

/// Without a token only this machine's names are answered: a page of another site that rebinds
/// its domain name to 127.0.0.1 cannot read the dashboard.
#[test]
fn without_a_token_only_local_names_are_answered() {
    let f = Fixture::new();
    let d = f.serve();
    for host in ["evil.example", "evil.example:8470", "127.0.0.1.nip.example"] {
        let r = request(d.port, "GET", "/links?format=json", &[("Host", host)]);
        assert_eq!(r.status, 403, "{host}");
        assert!(!r.text().contains(GONE));
    }
    for host in ["localhost", &format!("127.0.0.1:{}", d.port), "[::1]:8470"] {
        assert_eq!(
            request(d.port, "GET", "/", &[("Host", host)]).status,
            200,
            "{host}"
        );
    }
    // Read-only: nothing but GET and HEAD.
    for m in ["POST", "PUT", "DELETE"] {
        let r = request(d.port, m, "/", &[("Content-Length", "0")]);
        assert_eq!(r.status, 405, "{m}");
        assert_eq!(r.header("allow"), Some("GET, HEAD"));
    }
    let head = request(d.port, "HEAD", "/", &[]);
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
}

#[test]
fn metrics_are_prometheus_text() {
    let f = Fixture::new();
    let d = f.serve();
    let r = d.ok("/metrics");
    assert_eq!(
        r.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    let text = r.text();
    for line in [
        "citewatch_links{state=\"broken\"} 1",
        "citewatch_links{state=\"ok\"} 2",
        "citewatch_checks_total{state=\"broken\"} 3",
        "citewatch_check_duration_seconds_bucket{le=\"0.25\"} 10",
        "citewatch_check_duration_seconds_count 10",
        "citewatch_alert_deliveries{sink=\"log\",state=\"delivered\"} 1",
        "citewatch_alert_deliveries{sink=\"webhook:hooks.example/ab12cd34\",state=\"pending\"} 1",
        "citewatch_archive_snapshots 6",
        "citewatch_last_cycle_checks{kind=\"daemon\"} 6",
        "citewatch_last_cycle_duration_seconds{kind=\"daemon\"} 300",
    ] {
        assert!(text.lines().any(|l| l == line), "missing {line:?}:\n{text}");
    }
    assert!(text.contains("# TYPE citewatch_check_duration_seconds histogram"));
    assert!(text
        .lines()
        .any(|l| l.starts_with("citewatch_database_bytes ")));
    assert!(text
        .lines()
        .any(|l| l.starts_with("citewatch_last_cycle_start_timestamp_seconds{kind=\"daemon\"} ")));
    // New checks are counted at the next scrape.
    let mut s = Store::open(&f.db).unwrap();
    record(
        &mut s,
        f.fine,
        Check {
            at: "2026-11-25T11:00:00Z",
            ..Check::default()
        },
    );
    drop(s);
    crate::support::wait_for("the new check in /metrics", Duration::from_secs(10), || {
        d.ok("/metrics")
            .text()
            .lines()
            .any(|l| l == "citewatch_check_duration_seconds_count 11")
    });
}

/// Pages are read on connections of their own: a writer holding the write lock (a long
/// transaction, a `db compact`) does not stop them.
#[test]
fn pages_answer_while_a_writer_holds_the_lock() {
    let f = Fixture::new();
    let d = f.serve();
    let w = rusqlite::Connection::open(&f.db).unwrap();
    // The store keeps the database in WAL mode: readers never wait for the writer.
    let mode: String = w
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    // An exclusive transaction that has written: in a rollback journal this lock shuts every
    // reader out (they would wait out the store's 30 s busy timeout); in WAL it does not.
    w.execute_batch("BEGIN EXCLUSIVE; UPDATE links SET streak = streak + 1;")
        .unwrap();
    let lock_is_held = || {
        let other = rusqlite::Connection::open(&f.db).unwrap();
        other.busy_timeout(Duration::ZERO).unwrap();
        other.execute_batch("BEGIN IMMEDIATE; ROLLBACK;").is_err()
    };
    assert!(lock_is_held(), "the writer holds the write lock");
    for p in [
        "/",
        "/links",
        &format!("/post/{}", f.hostile_post),
        &format!("/link/{}", f.changed),
        "/metrics",
    ] {
        let started = Instant::now();
        d.ok(p);
        // Well below the busy timeout (30 s): the page did not wait for the lock.
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{p} took {:?} while a writer held the lock",
            started.elapsed()
        );
    }
    assert!(lock_is_held(), "the lock was held through every read");
    w.execute_batch("COMMIT").unwrap();
}

// -- the binary ----------------------------------------------------------------------------------

/// A `citewatch` process whose stderr is read line by line; killed when dropped.
pub struct Proc {
    child: std::process::Child,
    lines: std::sync::mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Proc {
    pub fn spawn(dir: &Path, args: &[&str]) -> Proc {
        let mut child = Command::new(env!("CARGO_BIN_EXE_citewatch"))
            .args(args)
            .current_dir(dir)
            .env_remove("RUST_LOG")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let err = child.stderr.take().unwrap();
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for l in BufReader::new(err).lines().map_while(Result::ok) {
                if tx.send(l).is_err() {
                    break;
                }
            }
        });
        Proc {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// The port of the dashboard the process says it serves.
    #[track_caller]
    pub fn dashboard_port(&mut self) -> u16 {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(l) = self.lines.recv_timeout(Duration::from_millis(200)) {
                self.seen.push(l.clone());
                if let Some(rest) = l.split("dashboard on http://").nth(1) {
                    let addr = rest.split('/').next().unwrap();
                    return addr.rsplit(':').next().unwrap().parse().unwrap();
                }
            }
        }
        panic!(
            "no dashboard address in the output:\n{}",
            self.seen.join("\n")
        );
    }

    pub fn stop(&mut self) -> std::process::ExitStatus {
        // SAFETY: signalling our own child.
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGTERM);
        }
        crate::support::poll_until("the process to exit", Duration::from_secs(30), || {
            self.child.try_wait().unwrap()
        })
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn the_cli_serves_until_stopped_and_refuses_to_expose_without_a_token() {
    let f = Fixture::new();
    let dir = f.db.parent().unwrap();
    let mut p = Proc::spawn(
        dir,
        &["--db", "citewatch.db", "serve", "--listen", "127.0.0.1:0"],
    );
    let port = p.dashboard_port();
    assert!(get(port, "/").text().contains("Rot &amp; Ruin"));
    assert!(p.stop().success());
    assert!(
        TcpStream::connect(("127.0.0.1", port)).is_err(),
        "stopped listening"
    );
    // Beyond loopback without a token: refused, saying what to set.
    let out = Command::new(env!("CARGO_BIN_EXE_citewatch"))
        .args(["--db", "citewatch.db", "serve", "--listen", "0.0.0.0:0"])
        .current_dir(dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("[serve] token_file"), "{err}");
    // With a token file: served, and the token never printed.
    let token = "a-token-that-must-not-be-logged";
    std::fs::write(dir.join("token"), format!("{token}\n")).unwrap();
    std::fs::write(
        dir.join("citewatch.toml"),
        "[serve]\nlisten = \"0.0.0.0:0\"\ntoken_file = \"token\"\n",
    )
    .unwrap();
    let mut p = Proc::spawn(dir, &["--db", "citewatch.db", "-v", "serve"]);
    let port = p.dashboard_port();
    assert_eq!(get(port, "/").status, 401);
    assert_eq!(get(port, &format!("/?token={token}")).status, 303);
    p.stop();
    let rest: Vec<String> = p.lines.try_iter().collect();
    assert!(
        !p.seen.iter().chain(&rest).any(|l| l.contains(token)),
        "{:?}",
        p.seen
    );
    // A missing database is an error, not an empty dashboard.
    let out = Command::new(env!("CARGO_BIN_EXE_citewatch"))
        .args(["--db", "missing.db", "serve", "--listen", "127.0.0.1:0"])
        .current_dir(dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not exist"));
}

/// `[serve] listen` starts the same server inside the daemon, as a task of its own that stops
/// with it.
#[test]
fn the_daemon_serves_the_dashboard_when_configured() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("posts")).unwrap();
    std::fs::write(
        dir.path().join("posts/a.md"),
        "# A post\n\nSee [the mail](mailto:a@example.org).\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("citewatch.toml"),
        "[[source]]\npath = \"posts\"\n[archive]\nwayback = false\n[serve]\nlisten = \"127.0.0.1:0\"\n",
    )
    .unwrap();
    let mut p = Proc::spawn(dir.path(), &["daemon"]);
    let port = p.dashboard_port();
    assert_eq!(get(port, "/healthz").status, 200);
    crate::support::wait_for(
        "the scan to show in the dashboard",
        Duration::from_secs(30),
        || {
            get(port, "/links?format=json")
                .text()
                .contains("mailto:a@example.org")
        },
    );
    assert!(p.stop().success());
    assert!(
        TcpStream::connect(("127.0.0.1", port)).is_err(),
        "the dashboard stopped with the daemon"
    );
}

// -- a real browser ------------------------------------------------------------------------------

/// Chromium from the distribution (`.ci/run` installs it). Missing is a failure, not a skip.
fn chromium() -> PathBuf {
    if let Some(p) = std::env::var_os("CITEWATCH_CHROMIUM") {
        return PathBuf::from(p);
    }
    for name in [
        "chromium",
        "chromium-browser",
        "google-chrome",
        "google-chrome-stable",
    ] {
        for dir in std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()) {
            let p = dir.join(name);
            if p.is_file() {
                return p;
            }
        }
    }
    panic!(
        "the browser test needs Chromium and found none on the PATH: install it with \
         `apt-get install -y chromium` (.ci/run does), or set CITEWATCH_CHROMIUM to its path"
    );
}

/// Runs headless Chromium with `args` and the URL; its stdout.
fn browse(profile: &Path, args: &[&str], url: &str) -> String {
    let mut cmd = Command::new(chromium());
    cmd.args([
        "--headless",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-extensions",
        "--hide-scrollbars",
        "--virtual-time-budget=3000",
    ]);
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        cmd.arg("--no-sandbox"); // Chromium's own sandbox cannot start as root in a container
    }
    cmd.arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(url)
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut child = cmd.spawn().expect("start chromium");
    let mut out = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let status = crate::support::poll_until("chromium to finish", Duration::from_secs(120), || {
        child.try_wait().unwrap()
    });
    assert!(status.success(), "chromium failed on {url}: {status}");
    reader.join().unwrap()
}

#[track_caller]
fn screenshot(profile: &Path, file: &Path, size: &str, dark: bool, url: &str) {
    let _ = std::fs::remove_file(file);
    let mut args = vec![
        format!("--screenshot={}", file.display()),
        format!("--window-size={size}"),
    ];
    if dark {
        // `prefers-color-scheme: dark`, as a browser set to dark mode asks.
        args.push("--force-dark-mode".into());
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    browse(profile, &args, url);
    let png = std::fs::read(file).unwrap_or_else(|e| panic!("no screenshot of {url}: {e}"));
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 5_000,
        "{url}: {} bytes",
        png.len()
    );
}

/// Headless Chromium renders the overview and a post as the server wrote them, and an archived
/// page whose scripts would replace it and whose tags point at an outside server: the DOM stays
/// as archived (minus what was taken out) and the outside server sees no connection. A control
/// run shows the same page, served plainly, does run its script in this browser.
#[test]
fn a_real_browser_renders_pages_and_the_archived_page_runs_nothing() {
    let f = Fixture::new();
    let d = f.serve();
    let profile = tempfile::tempdir().unwrap();
    let base = format!("http://127.0.0.1:{}", d.port);

    let overview = browse(profile.path(), &["--dump-dom"], &format!("{base}/"));
    assert!(overview.contains("6 cited links in 2 posts"), "{overview}");
    assert!(overview.contains("<svg class=\"chart\""), "{overview}");
    assert!(
        overview.contains("&lt;script&gt;alert(\"title\")&lt;/script&gt; Rot &amp; Ruin"),
        "{overview}"
    );

    let post = browse(
        profile.path(),
        &["--dump-dom"],
        &format!("{base}/post/{}", f.hostile_post),
    );
    assert!(post.contains("Citations in reading order (5)"), "{post}");
    assert!(
        post.contains("&lt;img src=x onerror=alert(1)&gt;"),
        "{post}"
    );
    assert!(post.contains("✓ still on the page"), "{post}");

    let archived = browse(
        profile.path(),
        &["--dump-dom"],
        &format!("{base}/link/{}/snapshot/{}", f.changed, f.baseline),
    );
    assert!(
        archived.contains("Citations rot quietly</h1>"),
        "{archived}"
    );
    assert!(archived.contains("a passage that was there"), "{archived}");
    assert!(archived.contains("Archived copy"), "the banner: {archived}");
    assert!(!archived.contains("SCRIPT RAN"), "a script ran: {archived}");
    // The dashboard's own page framing it loads too (and nothing from outside either).
    browse(
        profile.path(),
        &["--dump-dom"],
        &format!("{base}/link/{}", f.changed),
    );
    browse(
        profile.path(),
        &["--dump-dom"],
        &format!("{base}/link/{}/cited/{}", f.changed, f.baseline),
    );
    assert_eq!(
        f.outside.connections(),
        0,
        "the archived page reached the outside server: {:?}",
        f.outside
            .log()
            .iter()
            .map(|r| r.path.clone())
            .collect::<Vec<_>>()
    );

    // Control: the same page served plainly does run its script here and does fetch from the
    // outside server, so the checks above could fail.
    let out = f.outside.url("");
    let plain = hostile_page(out.trim_end_matches('/'));
    let control = TestServer::start(Routes::new().fallback(move |_| html(&plain)));
    let ran = browse(profile.path(), &["--dump-dom"], &control.url("/page"));
    assert!(ran.contains("SCRIPT RAN"), "{ran}");
    assert!(
        f.outside.connections() > 0,
        "the plain page reached the outside server"
    );

    // Screenshots: into CITEWATCH_SCREENSHOTS (the README's, under docs/) or a temporary folder.
    let shots = std::env::var_os("CITEWATCH_SCREENSHOTS").map(PathBuf::from);
    let tmp = tempfile::tempdir().unwrap();
    let dir = shots.clone().unwrap_or_else(|| tmp.path().to_path_buf());
    std::fs::create_dir_all(&dir).unwrap();
    for (name, size, dark, path) in [
        (
            "dashboard-overview.png",
            "1280,1100",
            false,
            "/".to_string(),
        ),
        (
            "dashboard-overview-dark.png",
            "1280,1100",
            true,
            "/".to_string(),
        ),
        (
            "dashboard-links.png",
            "1280,900",
            false,
            "/links?state=broken,changed,redirected,ok".to_string(),
        ),
        (
            "dashboard-post.png",
            "1280,1000",
            false,
            format!("/post/{}", f.hostile_post),
        ),
        (
            "dashboard-link.png",
            "1280,1500",
            false,
            format!("/link/{}", f.changed),
        ),
        (
            "dashboard-snapshot.png",
            "1280,700",
            false,
            format!("/link/{}/cited/{}", f.changed, f.baseline),
        ),
        (
            "dashboard-phone.png",
            "390,1100",
            false,
            format!("/post/{}", f.hostile_post),
        ),
    ] {
        screenshot(
            profile.path(),
            &dir.join(name),
            size,
            dark,
            &format!("{base}{path}"),
        );
    }
}

// -- speed ---------------------------------------------------------------------------------------

/// A store of `links` links cited by `links / 4` posts, each link checked `checks` times over
/// a year, a tenth of them with archived bodies, some alerts. Written with plain SQL in one
/// transaction (the scan and checks take minutes at this size).
fn generate(db: &Path, links: usize, checks: usize) {
    drop(Store::open(db).unwrap());
    let mut c = rusqlite::Connection::open(db).unwrap();
    let tx = c.transaction().unwrap();
    let posts = links / 4;
    let states = [
        "ok",
        "ok",
        "ok",
        "ok",
        "ok",
        "ok",
        "redirected",
        "changed",
        "broken",
        "error",
        "blocked",
        "soft_404",
    ];
    {
        let mut p = tx.prepare("INSERT INTO posts (id, source, path, title, date, scanned_at) VALUES (?1, 'posts', ?2, ?3, '2024-01-01', '2026-11-01T00:00:00Z')").unwrap();
        for i in 1..=posts {
            p.execute(rusqlite::params![
                i as i64,
                format!("{:04}/post-{i}.md", 2000 + i % 25),
                format!("Post number {i}")
            ])
            .unwrap();
        }
        let mut l = tx.prepare("INSERT INTO links (id, url, state, since, streak, checked_at, http_status, first_seen, baseline) VALUES (?1, ?2, ?3, '2026-11-01T00:00:00Z', 1, '2026-11-24T00:00:00Z', 200, '2025-11-01T00:00:00Z', ?4)").unwrap();
        let mut ci = tx.prepare("INSERT INTO citations (post_id, link_id, line, text, kind, raw, quote) VALUES (?1, ?2, ?3, ?4, 'link', ?5, ?6)").unwrap();
        let mut s = tx.prepare("INSERT INTO snapshots (hash, size, body, content_type, headers, title, text, created_at) VALUES (?1, ?2, ?3, 'text/html', '[]', 'A page', ?4, '2025-11-01T00:00:00Z')").unwrap();
        let mut k = tx.prepare("INSERT INTO checks (link_id, checked_at, state, http_status, elapsed_ms, snapshot) VALUES (?1, ?2, ?3, 200, ?4, ?5)").unwrap();
        let t0 = at("2025-11-25T00:00:00Z");
        for i in 1..=links {
            let url = format!("https://host{}.example/articles/{i}", i % 700);
            let state = states[i % states.len()];
            let text = format!("Article {i}: words of the page as cited, number {i}, and more words about citations and the web.");
            let hash = (i % 10 == 0).then(|| blake3::hash(text.as_bytes()).to_hex().to_string());
            if let Some(h) = &hash {
                let body = format!("<html><body><h1>Article {i}</h1><p>{text}</p></body></html>");
                s.execute(rusqlite::params![
                    h,
                    body.len() as i64,
                    zstd::encode_all(body.as_bytes(), 3).unwrap(),
                    text
                ])
                .unwrap();
            }
            l.execute(rusqlite::params![i as i64, url, state, hash])
                .unwrap();
            let post = 1 + (i % posts);
            ci.execute(rusqlite::params![
                post as i64,
                i as i64,
                (i % 80) as i64,
                format!("link text {i}"),
                url,
                (i % 7 == 0).then(|| format!("words of the page as cited, number {i}"))
            ])
            .unwrap();
            for n in 0..checks {
                let when = t0
                    + chrono::Duration::hours(
                        (n * 365 * 24 / checks.max(1)) as i64 + (i % 24) as i64,
                    );
                let st = if n + 1 == checks { state } else { "ok" };
                k.execute(rusqlite::params![
                    i as i64,
                    citewatch::store::ts(when),
                    st,
                    ((i * 7 + n * 13) % 3000) as i64,
                    if n == 0 { hash.clone() } else { None }
                ])
                .unwrap();
            }
        }
        let mut e = tx.prepare("INSERT INTO alert_events (uid, link_id, created_at, event, old_state, new_state, payload) VALUES (?1, ?2, '2026-11-20T00:00:00Z', 'confirmed', 'ok', 'broken', '{}')").unwrap();
        let mut dl = tx.prepare("INSERT INTO alert_deliveries (event_id, sink, state, attempts, next_attempt) VALUES (?1, 'log', 'delivered', 1, '2026-11-20T00:00:00Z')").unwrap();
        for i in 1..=500i64 {
            e.execute(rusqlite::params![format!("cw-{i}"), i]).unwrap();
            dl.execute([i]).unwrap();
        }
    }
    tx.commit().unwrap();
    c.execute_batch("ANALYZE").unwrap();
}

/// Each page, timed over HTTP on a generated store of 20,000 links (400,000 checks); prints the
/// median and the slowest of 20 requests after a warm-up. Run in release for figures worth
/// quoting: `cargo test --release --test integration serve::speed -- --ignored --nocapture`.
#[test]
#[ignore = "a measurement: run with --ignored --nocapture"]
fn speed_on_20000_links() {
    let links: usize = std::env::var("CITEWATCH_SERVE_LINKS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let checks: usize = std::env::var("CITEWATCH_SERVE_CHECKS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("big.db");
    let t = Instant::now();
    generate(&db, links, checks);
    println!(
        "generated {links} links, {} checks in {:?} ({} MB)",
        links * checks,
        t.elapsed(),
        std::fs::metadata(&db).unwrap().len() / 1_000_000
    );
    // One archived page of a realistic size (about 100 KB of markup: navigation, scripts,
    // images, 300 paragraphs), for the snapshot view.
    let mut big = String::from("<!doctype html><html><head><title>A long article</title><script>var x = 1;</script><style>p { margin: 1em }</style></head><body><nav>");
    for i in 0..200 {
        big.push_str(&format!("<a href=\"/section/{i}\">Section {i}</a> "));
    }
    big.push_str("</nav><article>");
    for i in 0..300 {
        big.push_str(&format!("<p class=\"para\">Paragraph {i} of the article, with <a href=\"https://elsewhere.example/{i}\">a link</a>, <em>emphasis</em> and an image <img src=\"/img/{i}.png\" alt=\"figure {i}\" srcset=\"/img/{i}@2x.png 2x\"> among words that carry on for a while so that the page is as long as real articles are.</p>"));
    }
    big.push_str("</article></body></html>");
    let big_hash = blake3::hash(big.as_bytes()).to_hex().to_string();
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute(
            "INSERT INTO snapshots (hash, size, body, content_type, headers, created_at) VALUES (?1, ?2, ?3, 'text/html', '[]', '2025-11-01T00:00:00Z')",
            rusqlite::params![big_hash, big.len() as i64, zstd::encode_all(big.as_bytes(), 3).unwrap()],
        )
        .unwrap();
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute("UPDATE links SET baseline = ?1 WHERE id = 30", [&big_hash])
        .unwrap();
    let big_page = format!("/link/30/snapshot/{big_hash}");
    let t = Instant::now();
    let d = Running::start(&db, "127.0.0.1:0", None);
    d.ok("/healthz");
    d.ok("/metrics"); // waits for the history to be folded
    println!("history folded {:?} after start", t.elapsed());
    let pages = [
        "/",
        "/?format=json",
        "/links",
        "/links?page=200",
        "/links?state=broken",
        "/links?state=broken,changed,soft_404&sort=since",
        "/links?host=host7.example",
        "/links?q=text%201234",
        "/links?post=2003",
        "/links?format=json&per_page=500",
        "/posts",
        "/posts?sort=rot",
        "/posts?q=post-99",
        "/post/123",
        "/post/4999?format=json",
        "/link/10",
        "/link/12345",
        "/link/10/history",
        "/link/20/cited/x",
        &big_page,
        "/alerts",
        "/alerts?page=5",
        "/metrics",
    ];
    println!("{:<55} {:>9} {:>9} {:>8}", "page", "median", "max", "bytes");
    for p in pages {
        let p = if p.contains("/cited/") {
            let h: String = rusqlite::Connection::open(&db)
                .unwrap()
                .query_row("SELECT baseline FROM links WHERE id = 20", [], |r| r.get(0))
                .unwrap();
            format!("/link/20/snapshot/{h}")
        } else {
            p.to_string()
        };
        let first = d.ok(&p);
        let mut times = Vec::new();
        for _ in 0..20 {
            let t = Instant::now();
            let r = d.get(&p);
            times.push(t.elapsed());
            assert_eq!(r.status, 200, "{p}");
        }
        times.sort();
        println!(
            "{:<55} {:>7.1}ms {:>7.1}ms {:>8}",
            p,
            times[10].as_secs_f64() * 1000.0,
            times[19].as_secs_f64() * 1000.0,
            first.body.len()
        );
    }
    // The post page also runs `citewatch fix`'s planner dry, which lists the source folder: its
    // cost on a folder of as many posts as the store has.
    use citewatch::config::{Config, SourceConfig};
    let posts = dir.path().join("posts");
    std::fs::create_dir(&posts).unwrap();
    for i in 1..=links / 4 {
        let text = format!(
            "# Post {i}\n\nSee [a page](https://host{}.example/articles/{i}).\n",
            i % 700
        );
        std::fs::write(posts.join(format!("post-{i}.md")), text).unwrap();
    }
    let cfg = Config {
        db: db.clone(),
        sources: vec![SourceConfig::bare(posts)],
        ..Config::default()
    };
    let writer = citewatch::store::Writer::start(&db).unwrap();
    let planner = serve::fix_planner(writer, cfg, Arc::new(ManualClock::new(now())));
    let store = Store::open_reader(&db).unwrap();
    let info = store.web_post(123).unwrap().unwrap();
    let mut times: Vec<Duration> = (0..10)
        .map(|_| {
            let t = Instant::now();
            planner(&store, &info);
            t.elapsed()
        })
        .collect();
    times.sort();
    println!(
        "{:<55} {:>7.1}ms {:>7.1}ms",
        format!("fix planner, a folder of {} posts", links / 4),
        times[5].as_secs_f64() * 1000.0,
        times[9].as_secs_f64() * 1000.0
    );
}
