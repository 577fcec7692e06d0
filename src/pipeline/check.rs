//! The check: links → checker → snapshot → classification → state, confirmation and alerts →
//! store. Fetches run concurrently; finished checks are gathered into batches that the one writer
//! commits, each check whole with everything that follows from it.
//!
//! Every check belongs to a cycle (a daemon cycle, a `run`, a `check`). A cycle ends by deciding
//! whether it was citewatch's own outage and taking (or dropping) the strikes it left pending; a
//! cycle that a crash cut short is ended by the next check run that finds it.

use std::collections::{HashMap, HashSet};
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures_util::{FutureExt, StreamExt};
use tokio_util::sync::CancellationToken;
use url::Url;

use crate::checker::{Checker, Fetched};
use crate::classify::{self, Verdict};
use crate::clock::Clock;
use crate::config::{AlertsConfig, CheckConfig};
use crate::confirm::{self, Outage};
use crate::state::State;
use crate::store::{
    CheckRecord, Confirming, CycleEnd, LinkToCheck, Probe, Reads, Recorded, StoreError, Writer,
};

use super::PipelineError;

/// Which command a cycle belongs to; kept with the cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CycleKind {
    Daemon,
    Run,
    Check,
}

impl CycleKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CycleKind::Daemon => "daemon",
            CycleKind::Run => "run",
            CycleKind::Check => "check",
        }
    }
}

/// What a check run needs besides its links.
#[derive(Clone)]
pub struct CheckRun {
    pub writer: Writer,
    pub check: CheckConfig,
    pub alerts: AlertsConfig,
    pub clock: Arc<dyn Clock>,
    pub kind: CycleKind,
}

impl CheckRun {
    /// How checks become strikes and alerts in `cycle`.
    fn confirming(&self, cycle: i64, no_strikes: bool) -> Confirming {
        Confirming {
            cycle,
            settings: confirm::Settings {
                confirm_checks: self.alerts.confirm_checks,
                confirm_period: self.alerts.confirm_period,
            },
            sinks: crate::alert::sink::sinks_from(&self.alerts)
                .into_iter()
                .map(|s| s.key)
                .collect(),
            no_strikes,
        }
    }
}

/// What a check run did.
#[derive(Debug, Default, Clone)]
pub struct CheckStats {
    pub checked: usize,
    pub by_state: HashMap<State, usize>,
    /// Links not checked because a stop came first.
    pub not_started: usize,
    /// Confirmed transitions (each an alert event in the outbox).
    pub transitions: usize,
    /// Why the run counted no strikes, when it looked like citewatch's own outage.
    pub outage: Option<Outage>,
}

/// The most checks written in one transaction.
const WRITE_BATCH: usize = 256;

/// How long finished checks are gathered before what arrived is committed. A commit rewrites the
/// B-tree pages it touched, so few big commits cost far less than many small ones (1,250 commits
/// of 4 checks took a third of a 5,000-link run); a crash loses at most this much work, which
/// the next run redoes.
const WRITE_WINDOW: std::time::Duration = std::time::Duration::from_millis(50);

/// Finished checks waiting for the writer at most: bounds memory when the disk is slower than
/// the network.
const WRITE_QUEUE: usize = 256;

/// Bodies up to this size are hashed and compressed on the async worker itself (tens of
/// microseconds); bigger ones go to a blocking thread so they do not stall other checks.
const INLINE_BODY: usize = 64 * 1024;

/// One finished fetch on its way to the writer.
struct Finished {
    link: LinkToCheck,
    fetched: Fetched,
    snapshot: Option<crate::store::NewSnapshot>,
    /// The body read by [`crate::readable`] on the worker that fetched it (not twice, not on
    /// the writer), when it differs from the baseline.
    page: Option<crate::readable::Page>,
    /// Raw files its cited fragments need (GitHub line anchors, a Markdown file's headings),
    /// fetched beside the page, one request per file.
    raw_files: Vec<(Url, Vec<u8>)>,
    checked_at: DateTime<Utc>,
}

/// What judging a check needs to know of the whole run.
struct Known {
    probes: HashMap<String, Probe>,
    quoted: HashSet<i64>,
    /// Links cited with a `#fragment`, with their fragments: their page's anchors or text are
    /// read after the fetch.
    fragmented: HashMap<i64, Vec<String>>,
    cycle: i64,
    /// What is remembered of each site met in this run, read once, kept up to date, and whether
    /// this run changed it (written once at the end of the run).
    sites: std::sync::Mutex<HashMap<String, (crate::drift::SiteMemory, bool)>>,
}

impl Known {
    fn new(
        probes: HashMap<String, Probe>,
        quoted: HashSet<i64>,
        fragmented: HashMap<i64, Vec<String>>,
        cycle: i64,
    ) -> Known {
        Known {
            probes,
            quoted,
            fragmented,
            cycle,
            sites: Default::default(),
        }
    }

    /// A site's memory: from this run's cache, else from the store.
    fn site(
        &self,
        reads: &Reads<'_>,
        origin: &str,
    ) -> Result<crate::drift::SiteMemory, StoreError> {
        if let Some((m, _)) = self
            .sites
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(origin)
        {
            return Ok(m.clone());
        }
        let m = reads.site_memory(origin)?;
        let mut sites = self.sites.lock().unwrap_or_else(|e| e.into_inner());
        Ok(sites
            .entry(origin.to_string())
            .or_insert((m, false))
            .0
            .clone())
    }

    fn remember(&self, origin: &str, m: crate::drift::SiteMemory) {
        let mut sites = self.sites.lock().unwrap_or_else(|e| e.into_inner());
        sites.insert(origin.to_string(), (m, true));
    }

    /// The site memories this run changed.
    fn learned(&self) -> Vec<(String, crate::drift::SiteMemory)> {
        let sites = self.sites.lock().unwrap_or_else(|e| e.into_inner());
        sites
            .iter()
            .filter(|(_, (_, changed))| *changed)
            .map(|(o, (m, _))| (o.clone(), m.clone()))
            .collect()
    }
}

/// Checks `links` concurrently and records each result as it arrives, with its confirmation step
/// and any alert event. `on_done` is called after each recorded check (progress bars, the
/// daemon's stall detection). After `stop` is cancelled no new request starts; checks under way
/// finish and are recorded, and the cycle is ended.
pub async fn check(
    run: &CheckRun,
    links: Vec<LinkToCheck>,
    stop: &CancellationToken,
    on_done: impl Fn(&str, State) + Send + Sync + 'static,
) -> Result<CheckStats, PipelineError> {
    finish_cut_cycles(run).await?;
    let checker = Checker::new(&run.check)?;
    let pid = std::process::id();
    let kind = run.kind.as_str();
    let started = run.clock.now();
    let cycle = run
        .writer
        .run("a new cycle", move |s| s.begin_cycle(kind, pid, started))
        .await?;
    let canary_failed = canaries_fail(&checker, &run.alerts).await;
    let conf = Arc::new(run.confirming(cycle, canary_failed));
    let probes = if run.check.soft_404_probe {
        probe_origins(run, &checker, &links).await?
    } else {
        HashMap::new()
    };
    let quoted = run.writer.read(|s| s.quoted_links()).await?;
    let fragmented = run.writer.read(|s| s.cited_fragments()).await?;
    let known = Arc::new(Known::new(probes, quoted, fragmented, cycle));
    let total = links.len();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<(
        String,
        CheckRecord,
        tokio::sync::OwnedSemaphorePermit,
    )>();
    let queue = Arc::new(tokio::sync::Semaphore::new(WRITE_QUEUE));
    let batcher = tokio::spawn(write_batches(run.writer.clone(), rx, conf.clone(), on_done));
    let db = run.writer.path().to_path_buf();
    // Judging is CPU work: one at a time per core, each on a blocking thread that keeps its read
    // connection.
    let judges = Arc::new(tokio::sync::Semaphore::new(
        std::thread::available_parallelism().map_or(2, |n| n.get()),
    ));
    let concurrency = run.check.concurrency.max(1);
    let results: Vec<Result<bool, PipelineError>> = futures_util::stream::iter(links)
        .map(|link| {
            let (checker, tx, queue, clock, known, db, judges) = (
                checker.clone(),
                tx.clone(),
                queue.clone(),
                run.clock.clone(),
                known.clone(),
                db.clone(),
                judges.clone(),
            );
            let stop = stop.clone();
            async move {
                let url = Url::parse(&link.url).ok();
                let fragments = known.fragmented.get(&link.id).map(Vec::as_slice);
                let checked =
                    AssertUnwindSafe(fetch_one(&checker, &link, fragments, &stop, &clock))
                        .catch_unwind()
                        .await;
                let finished = match checked {
                    Ok(Some(f)) => f,
                    Ok(None) => return Ok(false),
                    Err(panic) => {
                        let what = panic_text(&panic);
                        tracing::error!("internal error while checking {}: {what}", link.url);
                        let url =
                            url.unwrap_or_else(|| Url::parse("invalid:").expect("constant URL"));
                        Finished {
                            fetched: Fetched::internal(&url, what),
                            snapshot: None,
                            page: None,
                            raw_files: Vec::new(),
                            checked_at: clock.now(),
                            link,
                        }
                    }
                };
                // Judged on a blocking thread of its own (all cores share the work; the writer
                // only writes), reading through a connection of that thread.
                let url = finished.link.url.clone();
                let _judging = judges
                    .acquire_owned()
                    .await
                    .map_err(|_| StoreError::WriterGone)?;
                let record = tokio::task::spawn_blocking(move || {
                    with_reader(&db, |reads| judge_safely(reads, &finished, &known))
                })
                .await
                .map_err(|_| PipelineError::Panicked("judging a check"))??;
                let permit = queue
                    .acquire_owned()
                    .await
                    .map_err(|_| StoreError::WriterGone)?;
                tx.send((url, record, permit))
                    .map_err(|_| StoreError::WriterGone)?;
                Ok(true)
            }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    drop(tx);
    let written = batcher
        .await
        .map_err(|_| PipelineError::Panicked("the check's database writer"))?;
    // What the run learned of its sites, in one transaction.
    let learned = known.learned();
    if !learned.is_empty() {
        let at = run.clock.now();
        run.writer
            .run("site memories", move |s| {
                learned
                    .iter()
                    .try_for_each(|(o, m)| s.save_site_memory(o, m, at))
            })
            .await?;
    }
    // The cycle is ended whatever happened to its checks: its pending strikes are decided.
    let now = run.clock.now();
    let end_conf = (*conf).clone();
    let end: CycleEnd = run
        .writer
        .run("the end of a cycle", move |s| {
            s.finish_cycle(&end_conf, canary_failed, now)
        })
        .await?;
    let (mut stats, recorded) = written?;
    let mut started_checks = 0;
    for r in results {
        if r? {
            started_checks += 1;
        }
    }
    stats.not_started = total - started_checks;
    stats.transitions += end.transitions;
    stats.outage = end.outage;
    debug_assert_eq!(recorded, started_checks);
    Ok(stats)
}

/// Fetches one link and prepares its snapshot; `None` when a stop came before its request.
async fn fetch_one(
    checker: &Checker,
    link: &LinkToCheck,
    fragments: Option<&[String]>,
    stop: &CancellationToken,
    clock: &Arc<dyn Clock>,
) -> Option<Finished> {
    let fetched = match Url::parse(&link.url) {
        Ok(url) => checker.check_unless(&url, stop).await?,
        Err(e) => Fetched::invalid(&link.url, e.to_string()),
    };
    let checked_at = clock.now();
    // The raw files some fragments are read from (a GitHub line anchor), through the same
    // checker (guard, pacing, caps): one request per file; a failure leaves them unknown.
    let mut raw_files = Vec::new();
    if let (Some(fragments), Ok(r)) = (fragments, fetched.outcome.as_ref()) {
        if (200..300).contains(&r.status) {
            for raw in crate::fragment::judge::raw_files_needed(&r.url, fragments) {
                if let Some(got) = checker.check_unless(&raw, stop).await {
                    if let Ok(rr) = got.outcome {
                        if (200..300).contains(&rr.status) {
                            raw_files.push((raw, rr.body));
                        }
                    }
                }
            }
        }
    }
    // The page is read on this worker (all cores share the work) whenever the body is not the
    // baseline's: the verdict needs it to compare, and on a first check to tell a not-found
    // page. A body identical to the baseline is never parsed.
    let baseline = link.baseline.clone();
    let last = link.last_snapshot.clone();
    let prepare = move |fetched: Fetched| {
        let archived = [baseline.as_deref(), last.as_deref()];
        let (snap, page) = match fetched.outcome.as_ref() {
            Ok(r) if (200..300).contains(&r.status) => {
                let (mut s, p) = crate::snapshot::prepare_with_page(r, &archived, |hash| {
                    baseline.as_deref() != Some(hash)
                });
                // A page with nothing to compare it with yet keeps its body only: its text is
                // read from the archive if it ever becomes a baseline that is compared (most
                // never are), so the database grows with changes, not with pages.
                if baseline.is_none() {
                    s.text = None;
                }
                (Some(s), p)
            }
            Ok(r) => (
                Some(crate::snapshot::prepare(r, &archived, |_| false)),
                None,
            ),
            Err(_) => (None, None),
        };
        (fetched, snap, page)
    };
    let big = fetched
        .outcome
        .as_ref()
        .is_ok_and(|r| r.body.len() > INLINE_BODY);
    let (fetched, snapshot, page) = if big {
        match tokio::task::spawn_blocking(move || prepare(fetched)).await {
            Ok(done) => done,
            // A panic preparing the page: re-raised here, where the caller turns it into an
            // `error` verdict for this link.
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        }
    } else {
        prepare(fetched)
    };
    Some(Finished {
        link: link.clone(),
        fetched,
        snapshot,
        page,
        raw_files,
        checked_at,
    })
}

/// Gathers judged checks into batches and has the writer commit each: recorded and confirmed in
/// one transaction. Returns the stats and how many checks were recorded.
async fn write_batches(
    writer: Writer,
    mut rx: tokio::sync::mpsc::UnboundedReceiver<(
        String,
        CheckRecord,
        tokio::sync::OwnedSemaphorePermit,
    )>,
    conf: Arc<Confirming>,
    on_done: impl Fn(&str, State) + Send + Sync + 'static,
) -> Result<(CheckStats, usize), PipelineError> {
    let mut stats = CheckStats::default();
    let mut recorded = 0;
    while let Some(first) = rx.recv().await {
        // What arrives within the window goes into the same transaction.
        let deadline = tokio::time::Instant::now() + WRITE_WINDOW;
        let mut batch = vec![first];
        while batch.len() < WRITE_BATCH {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(f)) => batch.push(f),
                _ => break,
            }
        }
        let mut urls = Vec::with_capacity(batch.len());
        let mut records = Vec::with_capacity(batch.len());
        let mut permits = Vec::with_capacity(batch.len());
        for (url, record, permit) in batch {
            urls.push(url);
            records.push(record);
            permits.push(permit);
        }
        let records = Arc::new(records);
        let (r, c) = (records.clone(), conf.clone());
        let done: Vec<Recorded> = writer
            .run("checks", move |s| s.record_verdicts(&r, &c))
            .await?;
        drop(permits);
        for (url, r) in urls.iter().zip(&done) {
            recorded += 1;
            stats.checked += 1;
            *stats.by_state.entry(r.state).or_default() += 1;
            if r.transition.is_some() {
                stats.transitions += 1;
            }
            on_done(url, r.state);
        }
    }
    Ok((stats, recorded))
}

thread_local! {
    /// A read connection per blocking thread that judges checks: opened once, reused.
    static READER: std::cell::RefCell<Option<crate::store::Store>> =
        const { std::cell::RefCell::new(None) };
}

/// Runs `f` with this thread's read connection to `db` (opened on first use).
fn with_reader<T>(
    db: &std::path::Path,
    f: impl FnOnce(&Reads<'_>) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    READER.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.as_ref().is_none_or(|s| s.path() != db) {
            *slot = Some(crate::store::Store::open_reader(db)?);
        }
        match slot.as_ref() {
            Some(store) => f(&store.reads()),
            None => Err(StoreError::WriterGone),
        }
    })
}

/// Ends the cycles that a crash or a kill cut short: their process is gone, or they wrote nothing
/// for [`crate::store::STALE_AFTER`]. Their pending strikes are decided as at a normal end.
pub async fn finish_cut_cycles(run: &CheckRun) -> Result<(), PipelineError> {
    let now = run.clock.now();
    let own = std::process::id();
    finish_cycles(run, move |c| {
        let gone = c.pid != own && !process_alive(c.pid);
        gone || c.heartbeat_at <= now - crate::store::STALE_AFTER
    })
    .await
}

/// Ends this process's own unfinished cycles (a daemon stopping after its grace period).
pub async fn finish_own_cycles(run: &CheckRun) -> Result<(), PipelineError> {
    let own = std::process::id();
    finish_cycles(run, move |c| c.pid == own).await
}

async fn finish_cycles(
    run: &CheckRun,
    which: impl Fn(&crate::store::OpenCycle) -> bool,
) -> Result<(), PipelineError> {
    let now = run.clock.now();
    let open = run.writer.read(|s| s.open_cycles()).await?;
    for c in open {
        if !which(&c) {
            continue;
        }
        let conf = run.confirming(c.id, false);
        let end = run
            .writer
            .run("the end of a cycle cut short", move |s| {
                s.finish_cycle(&conf, false, now)
            })
            .await?;
        tracing::info!(
            "finished {} cycle {} that was cut short: {} checks, {} confirmed transitions{}",
            c.kind,
            c.id,
            end.checks,
            end.transitions,
            end.outage
                .map(|o| format!("; no strikes counted: {}", o.describe()))
                .unwrap_or_default()
        );
    }
    Ok(())
}

/// Whether a process is running on this machine (Linux: `/proc/PID`). Elsewhere a cycle is taken
/// as cut short only when it has been silent for [`crate::store::STALE_AFTER`].
fn process_alive(pid: u32) -> bool {
    if cfg!(target_os = "linux") {
        std::path::Path::new(&format!("/proc/{pid}")).exists()
    } else {
        true
    }
}

/// Whether any configured canary failed: then the run is our outage and counts no strikes.
async fn canaries_fail(checker: &Checker, alerts: &AlertsConfig) -> bool {
    for url in &alerts.canaries {
        let f = checker.check(url).await;
        let v = classify::classify(&f, &classify::Context::default());
        if v.state.is_failing() {
            tracing::warn!(
                "canary {url} failed: {}; this run counts no strikes",
                v.error.unwrap_or_default()
            );
            return true;
        }
    }
    false
}

/// The text of a panic's payload.
fn panic_text(p: &Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic".into())
}

/// The origin (`scheme://host:port`) of a URL: what politeness and probes are kept per.
fn origin_of(url: &str) -> Option<String> {
    let u = Url::parse(url).ok()?;
    match u.origin() {
        url::Origin::Tuple(..) => Some(u.origin().ascii_serialization()),
        url::Origin::Opaque(_) => None,
    }
}

/// The probe of a link's site, if one was made (none at all when probes are off).
fn probe_of<'a>(probes: &'a HashMap<String, Probe>, url: &str) -> Option<&'a Probe> {
    if probes.is_empty() {
        return None;
    }
    origin_of(url).and_then(|o| probes.get(&o))
}

/// How long a probe of a site is trusted.
const PROBE_TTL: chrono::Duration = chrono::Duration::days(1);

/// For each origin of `links`, what it answers for a path that cannot exist: from the cache when
/// fetched within a day, else fetched now (concurrently) and cached.
async fn probe_origins(
    run: &CheckRun,
    checker: &Checker,
    links: &[LinkToCheck],
) -> Result<HashMap<String, Probe>, StoreError> {
    let now = run.clock.now();
    let concurrency = run.check.concurrency;
    let origins: HashSet<String> = links.iter().filter_map(|l| origin_of(&l.url)).collect();
    let cached = run
        .writer
        .read(move |s| {
            origins
                .into_iter()
                .map(|o| Ok((s.probe(&o, now - PROBE_TTL)?, o)))
                .collect::<Result<Vec<_>, StoreError>>()
        })
        .await?;
    let mut out = HashMap::new();
    let mut missing = Vec::new();
    for (p, o) in cached {
        match p {
            Some(p) => {
                out.insert(o, p);
            }
            None => missing.push(o),
        }
    }
    let fetched: Vec<Probe> = futures_util::stream::iter(missing)
        .map(|origin| {
            let checker = checker.clone();
            async move {
                let seed: u64 = rand::random();
                let url = format!(
                    "{origin}/citewatch-probe-{seed:016x}/{:08x}",
                    seed.rotate_left(17) as u32
                );
                let f = match Url::parse(&url) {
                    Ok(u) => checker.check(&u).await,
                    Err(e) => Fetched::invalid(&url, e.to_string()),
                };
                let (status, final_url, text) = match &f.outcome {
                    Ok(r) => {
                        let page = crate::readable::readable(&r.body, r.header("content-type"));
                        let final_url = (!f.hops.is_empty()).then(|| r.url.to_string());
                        (Some(r.status), final_url, Some(page.text))
                    }
                    Err(_) => (None, None, None),
                };
                Probe {
                    origin,
                    fetched_at: now,
                    status,
                    final_url,
                    text,
                }
            }
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    let fetched = Arc::new(fetched);
    let to_save = fetched.clone();
    run.writer
        .run("site probes", move |s| {
            to_save.iter().try_for_each(|p| s.save_probe(p))
        })
        .await?;
    for p in fetched.iter() {
        out.insert(p.origin.clone(), p.clone());
    }
    Ok(out)
}

/// Judges a finished fetch into its check record. A panic while judging (a bug, whatever the
/// page) becomes an `error` verdict for this link, logged with its URL, and the run goes on.
fn judge_safely(reads: &Reads<'_>, f: &Finished, known: &Known) -> Result<CheckRecord, StoreError> {
    judge_safely_with(reads, f, known, judge)
}

type Judge = fn(&Reads<'_>, &Finished, &Known) -> Result<CheckRecord, StoreError>;

fn judge_safely_with(
    reads: &Reads<'_>,
    f: &Finished,
    known: &Known,
    judge: Judge,
) -> Result<CheckRecord, StoreError> {
    match std::panic::catch_unwind(AssertUnwindSafe(|| judge(reads, f, known))) {
        Ok(r) => r,
        Err(panic) => {
            let what = panic_text(&panic);
            tracing::error!("internal error while judging {}: {what}", f.link.url);
            let failed = Finished {
                link: f.link.clone(),
                fetched: Fetched::internal(&f.fetched.url, what),
                snapshot: None,
                page: None,
                raw_files: Vec::new(),
                checked_at: f.checked_at,
            };
            let v = classify::classify(&failed.fetched, &classify::Context::default());
            Ok(record_for(&failed, &v, known.cycle))
        }
    }
}

/// Judges a finished fetch against what the store knows of the link (its baseline, its quotes)
/// and of its site (its boilerplate, its answer for a missing path), through
/// [`crate::verdict::judge`], into its check record with what was learned for next time.
fn judge(reads: &Reads<'_>, f: &Finished, known: &Known) -> Result<CheckRecord, StoreError> {
    let unchanged = matches!((&f.link.baseline, &f.snapshot), (Some(b), Some(s)) if *b == s.hash);
    let quotes = if known.quoted.contains(&f.link.id) {
        reads.quotes(f.link.id)?
    } else {
        Vec::new()
    };
    // The baseline as the current extraction reads it: an upgrade that reads pages better must
    // not make every baseline look changed.
    let base = match &f.link.baseline {
        Some(h) if !unchanged || !quotes.is_empty() => reads.readable_text(h)?,
        _ => None,
    };
    let origin = origin_of(&f.link.url);
    let site = match &origin {
        Some(o) => known.site(reads, o)?,
        None => Default::default(),
    };
    let quotes: Vec<&str> = quotes.iter().map(String::as_str).collect();
    let j = crate::verdict::judge(&crate::verdict::Input {
        fetched: &f.fetched,
        baseline: base
            .as_ref()
            .map(|(title, text, _)| crate::verdict::Baseline {
                title: title.as_deref(),
                text,
            }),
        unchanged,
        current: f.page.as_ref(),
        volatile: f.link.volatile.as_deref(),
        site: &site,
        probe: probe_of(&known.probes, &f.link.url),
        quotes: &quotes,
    });
    // The places citations point at inside the page: read from the body already fetched.
    let fragments = if known.fragmented.contains_key(&f.link.id) {
        judge_fragments(reads, f)?
    } else {
        Vec::new()
    };
    let verdict = match fragments.iter().find_map(|j| j.gone.as_deref()) {
        Some(reason) => classify::with_fragment_gone(j.verdict, reason),
        None => j.verdict,
    };
    let mut record = record_for(f, &verdict, known.cycle);
    record.fragments = fragments
        .iter()
        .map(|j| crate::rows::FragmentRecord {
            fragment: j.fragment.clone(),
            standing: crate::fragment::judge::standing_name(&j.standing),
            reason: crate::fragment::judge::standing_reason(&j.standing).map(str::to_string),
            seen_present: j.seen_present,
        })
        .collect();
    record.volatile = j.volatile.and_then(|v| serde_json::to_string(&v).ok());
    if let (Some(o), Some(m)) = (origin, j.site) {
        known.remember(&o, m);
    }
    if let (Some(h), Some((_, text, true))) = (&f.link.baseline, base) {
        record.baseline_text = Some((h.clone(), text));
    }
    Ok(record)
}
/// The link's cited fragments against the page this check got (a 2xx answer only: a failed
/// fetch says nothing of them, and they keep what the last answer said).
fn judge_fragments(
    reads: &Reads<'_>,
    f: &Finished,
) -> Result<Vec<crate::fragment::judge::Judged>, StoreError> {
    let Ok(r) = &f.fetched.outcome else {
        return Ok(Vec::new());
    };
    if !(200..300).contains(&r.status) {
        return Ok(Vec::new());
    }
    let cited = reads.fragments(f.link.id)?;
    let cited: Vec<crate::fragment::judge::Cited<'_>> = cited
        .iter()
        .map(|(fragment, seen_present)| crate::fragment::judge::Cited {
            fragment,
            seen_present: *seen_present,
        })
        .collect();
    Ok(crate::fragment::judge::judge(
        &r.body,
        r.header("content-type"),
        &r.url,
        &cited,
        &f.raw_files,
    ))
}

fn record_for(f: &Finished, v: &Verdict, cycle: i64) -> CheckRecord {
    let redirects = crate::fetch::Redirects::of(&f.fetched.hops);
    // The baseline is the first archived answer that was fine: what the author saw when citing.
    let set_baseline =
        f.link.baseline.is_none() && matches!(v.state, State::Ok | State::Redirected);
    CheckRecord {
        link_id: f.link.id,
        checked_at: f.checked_at,
        state: v.state,
        http_status: v.http_status,
        final_url: v.final_url.as_ref().map(|u| u.to_string()),
        redirects,
        error: v.error.clone(),
        elapsed_ms: f.fetched.elapsed.as_millis() as u64,
        attempts: f.fetched.attempts,
        snapshot: f.snapshot.clone(),
        similarity: v.similarity,
        set_baseline,
        volatile: None,
        cycle_id: Some(cycle),
        network: f.fetched.network_failure(),
        baseline_text: None,
        fragments: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rows::{CitationRecord, PostRecord};
    use crate::store::Store;

    /// A panic while judging one page (a bug, whatever the page) is an `error` verdict for that
    /// link, recorded with its cycle; the batch and the run go on.
    #[test]
    fn a_panic_while_judging_is_an_error_verdict_for_that_link() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("x.db")).unwrap();
        let now = chrono::DateTime::UNIX_EPOCH;
        let post = PostRecord {
            source: "posts".into(),
            path: "a.md".into(),
            title: None,
            date: None,
            draft: false,
            url: None,
            size: 1,
            mtime_ns: 1,
            hash: "h".into(),
        };
        let cite = |u: &str| CitationRecord {
            link: u.into(),
            line: 1,
            text: "t".into(),
            kind: "link".into(),
            raw: u.into(),
            ..Default::default()
        };
        store
            .replace_post(
                &post,
                &[cite("https://a.org/x"), cite("https://b.org/y")],
                now,
            )
            .unwrap();
        let links = store.links_to_check(None).unwrap();
        let cycle = store.begin_cycle("run", 1, now).unwrap();
        let finished: Vec<Finished> = links
            .into_iter()
            .map(|link| {
                let url = Url::parse(&link.url).unwrap();
                Finished {
                    fetched: Fetched::internal(&url, "placeholder".into()),
                    snapshot: None,
                    page: None,
                    raw_files: Vec::new(),
                    checked_at: now,
                    link,
                }
            })
            .collect();
        let known = Known::new(HashMap::new(), HashSet::new(), HashMap::new(), cycle);
        let conf = Confirming {
            cycle,
            settings: confirm::Settings {
                confirm_checks: 3,
                confirm_period: std::time::Duration::ZERO,
            },
            sinks: vec![],
            no_strikes: false,
        };
        let records: Vec<CheckRecord> = finished
            .iter()
            .map(|f| {
                judge_safely_with(&store.reads(), f, &known, |r, f, k| {
                    if f.link.url.contains("a.org") {
                        panic!("a bug met on this page");
                    }
                    judge(r, f, k)
                })
            })
            .collect::<Result<_, _>>()
            .unwrap();
        let done = store.record_verdicts(&records, &conf).unwrap();
        assert_eq!(done.len(), 2, "the batch went on");
        let a = store.link_status("https://a.org/x").unwrap().unwrap();
        assert_eq!(a.state, State::Error);
        assert!(
            a.error.as_deref().unwrap().contains("internal error"),
            "{:?}",
            a.error
        );
        assert_eq!(store.history(a.id).unwrap().len(), 1);
    }
}
