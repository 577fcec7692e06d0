//! End-to-end benchmark: `cargo bench --bench e2e`. Reports; asserts nothing.
//!
//! Starts its own web server on 300 loopback hosts, writes a synthetic blog whose citations spread
//! over them Zipf-like, and measures, A/B alternated round by round:
//! - **engine only** (no per-host pacing, 64 per host; soft-404 probes and verdicts as by
//!   default): a raw HTTP client fetching the same URLs (the floor), `citewatch run` from an
//!   empty database (and again with the archive look-ups on and the archive unreachable), and lychee
//!   (`--host-request-interval 0s --host-concurrency 64`) when it is on the PATH;
//! - **defaults**: `citewatch run` with its defaults (100 ms and 4 requests per host, probes on),
//!   lychee with the same pacing, and lychee with its own defaults;
//! - **growth**: repeated check cycles over the unchanged links (`citewatch check --all`), what
//!   they add to the database, and what `citewatch db compact` gives back;
//! - **re-scan**: a 5,000-post blog scanned once, then again unchanged and with new mtimes.
//!
//! Knobs: `CITEWATCH_BENCH_SIZE=large` (10×), `CITEWATCH_BENCH_ROUNDS=N` (3),
//! `CITEWATCH_BENCH_SETTINGS=engine` (skip the paced runs, minutes each),
//! `CITEWATCH_BENCH_CYCLES=N` (100 growth cycles; 0 skips), `CITEWATCH_BENCH_REPORT=FILE`,
//! `CITEWATCH_BENCH_KEEP=1` (write the blog, print where, and serve it until interrupted, for
//! profiling by hand).

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use support::{db_size, measure, median, mib, remove_db, Measured, Report};

/// citewatch's configuration for a setting. `[archive]` is off: the Wayback Machine is not on
/// loopback (but see [`UNREACHABLE`]). `allow_private` is needed to fetch loopback at all.
fn write_config(dir: &Path, name: &str, posts: &str, extra: &str) -> PathBuf {
    write_config_with(dir, name, posts, extra, "wayback = false")
}

fn write_config_with(dir: &Path, name: &str, posts: &str, extra: &str, archive: &str) -> PathBuf {
    let path = dir.join(name);
    let text = format!(
        "[[source]]\npath = \"{posts}\"\n[check]\nallow_private = true\n{extra}\n[archive]\n{archive}\n"
    );
    std::fs::write(&path, text).expect("config");
    path
}

/// Pacing off; soft-404 probes and verdicts as by default.
const ENGINE: &str = "per_host_interval = \"0s\"\nper_host_concurrency = 64";

/// The archive look-ups on, as by default, with an archive that cannot be reached, as an offline
/// machine sees it: its name does not resolve (`.invalid` never does).
const UNREACHABLE: &str =
    "wayback = true\nwayback_endpoint = \"http://archive.invalid/wayback/available\"";

/// The floor: a plain reqwest client fetching every URL once, as fast as the server allows.
fn raw_client(urls: &[String]) -> Duration {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let t = Instant::now();
    rt.block_on(async {
        use futures_util::StreamExt;
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        futures_util::stream::iter(urls.iter())
            .map(|u| {
                let c = client.clone();
                async move {
                    if let Ok(r) = c.get(u).send().await {
                        let _ = r.bytes().await;
                    }
                }
            })
            .buffer_unordered(128)
            .collect::<Vec<_>>()
            .await;
    });
    t.elapsed()
}

struct Tools<'a> {
    bin: &'a str,
    dir: &'a Path,
    lychee: Option<String>,
}

impl Tools<'_> {
    fn citewatch(&self, cfg: &Path, db: &Path, args: &[&str]) -> Measured {
        let m = measure(
            Command::new(self.bin)
                .current_dir(self.dir)
                .args(["--config", &cfg.to_string_lossy()])
                .args(["--db", &db.to_string_lossy(), "-q"])
                .args(args),
        );
        assert!(
            m.code == 0 || m.code == 2,
            "citewatch {args:?} failed with {}",
            m.code
        );
        m
    }

    fn run_lychee(&self, pacing: Option<(&str, &str)>) -> Measured {
        let mut c = Command::new("lychee");
        c.current_dir(self.dir)
            .args(["--no-progress", "--max-concurrency", "128"]);
        if let Some((interval, per_host)) = pacing {
            c.args(["--max-retries", "2"])
                .args(["--host-request-interval", interval])
                .args(["--host-concurrency", per_host]);
        }
        c.arg("posts");
        measure(&mut c)
    }
}

/// Medians of a series of measured runs.
#[derive(Default)]
struct Series(Vec<Measured>);

impl Series {
    fn wall(&self) -> f64 {
        median(self.0.iter().map(|m| m.wall.as_secs_f64()).collect())
    }
    fn rss_mib(&self) -> f64 {
        median(
            self.0
                .iter()
                .map(|m| m.peak_rss_kib as f64 / 1024.0)
                .collect(),
        )
    }
    fn cpu(&self) -> f64 {
        median(self.0.iter().map(|m| m.cpu.as_secs_f64()).collect())
    }
    fn line(&self, what: &str, links: usize) -> String {
        format!(
            "{what}: {:.2} s median of {} ({:.0} links/s), CPU {:.2} s, peak RSS {:.0} MiB",
            self.wall(),
            self.0.len(),
            links as f64 / self.wall(),
            self.cpu(),
            self.rss_mib()
        )
    }
}

fn main() {
    let size = support::size_from_env();
    let rounds = support::env_number("CITEWATCH_BENCH_ROUNDS", 3).max(1);
    let cycles = support::env_number("CITEWATCH_BENCH_CYCLES", 100);
    let paced = std::env::var("CITEWATCH_BENCH_SETTINGS").as_deref() != Ok("engine");
    let bin = env!("CARGO_BIN_EXE_citewatch");
    let server = support::start_server(size.hosts);
    let dir = tempfile::tempdir().expect("tempdir");
    let urls = support::write_blog(dir.path(), &size, &server.addrs);
    let engine = write_config(dir.path(), "engine.toml", "posts", ENGINE);
    let offline = write_config_with(dir.path(), "offline.toml", "posts", ENGINE, UNREACHABLE);
    let defaults = write_config(dir.path(), "defaults.toml", "posts", "");
    if std::env::var_os("CITEWATCH_BENCH_KEEP").is_some() {
        let dir = dir.keep();
        println!(
            "blog and configs (engine.toml, defaults.toml) in {}; server up until interrupted",
            dir.display()
        );
        loop {
            std::thread::park();
        }
    }
    let lychee = Command::new("lychee")
        .arg("--version")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    let tools = Tools {
        bin,
        dir: dir.path(),
        lychee,
    };
    let db = dir.path().join("bench.db");
    let mut r = Report::default();
    r.say(format!(
        "blog: {} posts, {} unique URLs, {} citations, {} loopback hosts; {rounds} rounds; {}",
        size.posts,
        size.urls,
        size.citations,
        size.hosts,
        tools
            .lychee
            .as_deref()
            .unwrap_or("lychee not on PATH (`cargo install lychee` to compare)")
    ));

    // Engine only: raw client, citewatch, lychee, alternated so that drift in the machine's speed
    // falls on all three alike.
    let (mut raw, mut cw, mut again, mut ly, mut off) = (
        Vec::new(),
        Series::default(),
        Series::default(),
        Series::default(),
        Series::default(),
    );
    for _ in 0..rounds {
        raw.push(raw_client(&urls).as_secs_f64());
        remove_db(&db);
        off.0.push(tools.citewatch(&offline, &db, &["run"]));
        remove_db(&db);
        cw.0.push(tools.citewatch(&engine, &db, &["run"]));
        // As a timer or the daemon runs it: posts unchanged, every link fetched again.
        again.0.push(tools.citewatch(&engine, &db, &["run"]));
        if tools.lychee.is_some() {
            ly.0.push(tools.run_lychee(Some(("0s", "64"))));
        }
    }
    let raw = median(raw);
    r.say("engine only (no per-host pacing, 64 per host; soft-404 probes and verdicts as by default):");
    r.say(format!(
        "  raw client (reqwest, 128 in flight, no parsing, no storage): {raw:.2} s median ({:.0} links/s)",
        size.urls as f64 / raw
    ));
    r.say(format!(
        "  {}, database {:.1} MiB; {:.1}× the raw client",
        cw.line("citewatch run (scan, check, archive, history)", size.urls),
        mib(db_size(&db) as f64),
        cw.wall() / raw
    ));
    r.say(format!(
        "  {}",
        again.line(
            "citewatch run again (posts unchanged, every link re-checked)",
            size.urls
        )
    ));
    r.say(format!(
        "  {}; {:.2}× the run with look-ups off",
        off.line(
            "citewatch run, archive look-ups on and the archive unreachable",
            size.urls
        ),
        off.wall() / cw.wall()
    ));
    if !ly.0.is_empty() {
        r.say(format!("  {}", ly.line("lychee", size.urls)));
        r.say(format!(
            "  citewatch/lychee: wall {:.2} (run again {:.2}), peak RSS {:.2}",
            cw.wall() / ly.wall(),
            again.wall() / ly.wall(),
            cw.rss_mib() / ly.rss_mib()
        ));
    }

    growth(&tools, &mut r, &db, &engine, cycles, size.urls);

    if paced {
        let (mut cw, mut same, mut own) = (Series::default(), Series::default(), Series::default());
        for _ in 0..rounds {
            let db = dir.path().join("paced.db");
            remove_db(&db);
            cw.0.push(tools.citewatch(&defaults, &db, &["run"]));
            if tools.lychee.is_some() {
                same.0.push(tools.run_lychee(Some(("100ms", "4"))));
                own.0.push(tools.run_lychee(None));
            }
        }
        r.say("defaults (per-host pacing; the most-cited host has about 12 % of the URLs):");
        r.say(format!(
            "  {}",
            cw.line(
                "citewatch run (100 ms and 4 per host, soft-404 probes)",
                size.urls
            )
        ));
        if !same.0.is_empty() {
            r.say(format!(
                "  {}",
                same.line(
                    "lychee with the same pacing (100 ms, 4 per host)",
                    size.urls
                )
            ));
            r.say(format!(
                "  {}",
                own.line(
                    "lychee with its own defaults (50 ms, 10 per host)",
                    size.urls
                )
            ));
            r.say(format!(
                "  citewatch/lychee at the same pacing: {:.2}",
                cw.wall() / same.wall()
            ));
        }
    }

    rescan(&tools, &mut r, &server.addrs);
    r.save();
}

/// Repeated cycles over unchanged links: check rows accumulate, snapshot bodies do not; then
/// compaction with a retention that thins everything older than a second.
fn growth(tools: &Tools, r: &mut Report, db: &Path, cfg: &Path, cycles: usize, links: usize) {
    if cycles == 0 {
        return;
    }
    let counts = |db: &Path| -> (i64, i64, i64) {
        let c = rusqlite::Connection::open(db).expect("open the benchmark database");
        c.query_row(
            "SELECT (SELECT COUNT(*) FROM checks), (SELECT COUNT(*) FROM snapshots),
                    (SELECT COALESCE(SUM(LENGTH(body)), 0) FROM snapshots)",
            [],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
        )
        .expect("count rows")
    };
    let before = (counts(db), db_size(db));
    let mut walls = Vec::new();
    for _ in 0..cycles {
        walls.push(
            tools
                .citewatch(cfg, db, &["check", "--all"])
                .wall
                .as_secs_f64(),
        );
    }
    let after = (counts(db), db_size(db));
    r.say(format!(
        "growth: {cycles} check cycles over the {links} unchanged links ({:.2} s median each):",
        median(walls)
    ));
    r.say(format!(
        "  checks {} → {} (+{:.0} bytes of database each); snapshots {} → {}, compressed bodies {} → {} bytes; database {:.1} → {:.1} MiB",
        before.0 .0,
        after.0 .0,
        (after.1 as f64 - before.1 as f64) / (after.0 .0 - before.0 .0).max(1) as f64,
        before.0 .1,
        after.0 .1,
        before.0 .2,
        after.0 .2,
        mib(before.1 as f64),
        mib(after.1 as f64)
    ));
    let compact = write_config(
        tools.dir,
        "compact.toml",
        "posts",
        &format!("{ENGINE}\n[retention]\nthin_checks_after = \"1s\""),
    );
    support::pause(Duration::from_millis(1100));
    let m = tools.citewatch(&compact, db, &["db", "compact"]);
    let thinned = (counts(db), db_size(db));
    r.say(format!(
        "  db compact (retention 1 s): {:.2} s; checks {} → {}; database {:.1} → {:.1} MiB",
        m.wall.as_secs_f64(),
        after.0 .0,
        thinned.0 .0,
        mib(after.1 as f64),
        mib(thinned.1 as f64)
    ));
}

/// Scanning a 5,000-post blog: the first time, then unchanged, then with every mtime moved.
fn rescan(tools: &Tools, r: &mut Report, addrs: &[std::net::SocketAddr]) {
    let size = support::LARGE;
    let dir = tools.dir.join("rescan");
    support::write_blog(&dir, &size, addrs);
    let cfg = write_config(&dir, "scan.toml", "posts", ENGINE);
    let db = dir.join("scan.db");
    let scans = Tools {
        bin: tools.bin,
        dir: &dir,
        lychee: None,
    };
    let first = scans.citewatch(&cfg, &db, &["scan"]);
    let unchanged: Vec<f64> = (0..5)
        .map(|_| scans.citewatch(&cfg, &db, &["scan"]).wall.as_secs_f64())
        .collect();
    let later = std::time::SystemTime::UNIX_EPOCH + Duration::from_secs(2_000_000_000);
    for e in std::fs::read_dir(dir.join("posts"))
        .expect("posts")
        .flatten()
    {
        if let Ok(f) = std::fs::File::options().write(true).open(e.path()) {
            let _ = f.set_modified(later);
        }
    }
    let touched = scans.citewatch(&cfg, &db, &["scan"]);
    r.say(format!(
        "scan of {} posts ({} citations): first {:.2} s; unchanged {:.3} s median of 5; same bytes with new mtimes {:.2} s",
        size.posts,
        size.citations,
        first.wall.as_secs_f64(),
        median(unchanged),
        touched.wall.as_secs_f64()
    ));
}
