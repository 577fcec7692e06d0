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

mod cycles;
mod fetch;
mod judge;
mod known;
mod probes;

use self::cycles::*;
pub use self::cycles::{finish_cut_cycles, finish_own_cycles};
use self::fetch::*;
use self::judge::*;
use self::known::*;
use self::probes::*;

/// Checks the links of `ids` concurrently (each read from the store when its turn comes; one
/// no longer to be checked is left out) and records each result as it arrives, with its
/// confirmation step and any alert event. `on_done` is called after each recorded check
/// (progress bars, the daemon's stall detection). After `stop` is cancelled no new request
/// starts; checks under way finish and are recorded, and the cycle is ended.
pub async fn check(
    run: &CheckRun,
    ids: Vec<i64>,
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
        Probes::on(run.writer.path().to_path_buf(), run.clock.now())
    } else {
        Probes::none()
    };
    let quoted = run.writer.read(|s| s.quoted_links()).await?;
    let fragmented = run.writer.read(|s| s.cited_fragments()).await?;
    let known = Arc::new(Known::new(probes, quoted, fragmented, cycle));
    let total = ids.len();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<(
        String,
        CheckRecord,
        tokio::sync::OwnedSemaphorePermit,
    )>();
    let queue = Arc::new(tokio::sync::Semaphore::new(WRITE_QUEUE));
    let batcher = tokio::spawn(write_batches(run.writer.clone(), rx, conf.clone(), on_done));
    let db = run.writer.path().to_path_buf();
    // Judging a big page is CPU work for a blocking thread: one at a time per core, each thread
    // keeping its read connection.
    let judges = Arc::new(tokio::sync::Semaphore::new(cores()));
    let shared = Lane {
        checker,
        tx,
        queue,
        clock: run.clock.clone(),
        known: known.clone(),
        db,
        judges,
        stop: stop.clone(),
    };
    let links = LinkQueue::new(run.writer.path().to_path_buf(), ids);
    let ran = in_lanes(shared, links, run.check.concurrency, stop).await;
    let (started_checks, gone, failed) = (ran.started, ran.gone, ran.failed);
    let written = batcher
        .await
        .map_err(|_| PipelineError::Panicked("the check's database writer"))?;
    // The probes fetched in this run, in one transaction.
    let probed = Arc::new(known.probes.fetched());
    if !probed.is_empty() {
        run.writer
            .run("site probes", move |s| {
                probed.iter().try_for_each(|p| s.save_probe(p))
            })
            .await?;
    }
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
    if let Some(e) = failed {
        return Err(e);
    }
    stats.not_started = total - gone - started_checks;
    stats.transitions += end.transitions;
    stats.outage = end.outage;
    debug_assert_eq!(recorded, started_checks);
    Ok(stats)
}

/// The cores the checks' lanes and the judges of big pages are counted by.
fn cores() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// What the lanes of a check run did.
struct Ran {
    /// Checks started (a stop can come before some).
    started: usize,
    /// Links no longer to be checked when their turn came.
    gone: usize,
    /// The first failure of the run's own machinery (the store, the writer, a panic).
    failed: Option<PipelineError>,
}

/// Runs the checks of `links` in one lane per core, each a task of its own polling its share of
/// the `concurrency` checks, all lanes taking links from the one queue: the fetching, reading
/// and judging of pages is shared by every worker thread. (Polled inside the run's own task, all
/// of it ran on one thread, which bounded a first run; a task per link cost more CPU in
/// hand-offs than it gained. BENCHMARKS.md has the figures.) After `stop` no more links are
/// taken: those left count as not started.
async fn in_lanes(
    shared: Lane,
    links: LinkQueue,
    concurrency: usize,
    stop: &CancellationToken,
) -> Ran {
    let concurrency = concurrency.max(1);
    let lanes = cores().clamp(1, concurrency);
    let links = Arc::new(std::sync::Mutex::new(links));
    let mut running = tokio::task::JoinSet::new();
    for lane in 0..lanes {
        let share = concurrency / lanes + usize::from(lane < concurrency % lanes);
        let next = links.clone();
        let lane = shared.clone();
        let stopped = stop.clone();
        running.spawn(async move {
            let links = futures_util::stream::poll_fn(move |_| {
                std::task::Poll::Ready(if stopped.is_cancelled() {
                    None
                } else {
                    next.lock().unwrap_or_else(|e| e.into_inner()).next()
                })
            });
            links
                .map(|link| lane.check_link(link))
                .buffer_unordered(share)
                .fold((0usize, None), |(started, failed), r| async move {
                    match r {
                        Ok(true) => (started + 1, failed),
                        Ok(false) => (started, failed),
                        Err(e) => (started, failed.or(Some(e))),
                    }
                })
                .await
        });
    }
    // The writer's queue closes when the last lane is done.
    drop(shared);
    let mut ran = Ran {
        started: 0,
        gone: 0,
        failed: None,
    };
    while let Some(done) = running.join_next().await {
        match done {
            Ok((started, f)) => {
                ran.started += started;
                ran.failed = ran.failed.or(f);
            }
            Err(_) => {
                ran.failed = ran
                    .failed
                    .or(Some(PipelineError::Panicked("a lane of checks")))
            }
        }
    }
    let mut q = links.lock().unwrap_or_else(|e| e.into_inner());
    ran.gone = q.gone;
    ran.failed = ran.failed.or(q.failed.take().map(PipelineError::from));
    ran
}

/// The links of a check run, read from the store a page at a time as the lanes take them: held
/// all at once, a 50,000-link run's links took 17 MiB; their ids take 8 bytes each.
struct LinkQueue {
    db: std::path::PathBuf,
    ids: Vec<i64>,
    /// Where the next page of `ids` starts.
    read: usize,
    page: std::collections::VecDeque<LinkToCheck>,
    /// Links of `ids` no longer to be checked when their page was read (a post edited since).
    gone: usize,
    /// Why a page could not be read; no link is taken after it.
    failed: Option<StoreError>,
}

/// Links read from the store at a time.
const LINK_PAGE: usize = 256;

impl LinkQueue {
    fn new(db: std::path::PathBuf, ids: Vec<i64>) -> LinkQueue {
        LinkQueue {
            db,
            ids,
            read: 0,
            page: Default::default(),
            gone: 0,
            failed: None,
        }
    }

    /// The next link to check, reading the next page when this one is used up (a few
    /// milliseconds on the worker that asks, with this thread's read connection).
    fn next(&mut self) -> Option<LinkToCheck> {
        loop {
            if let Some(link) = self.page.pop_front() {
                return Some(link);
            }
            if self.read >= self.ids.len() || self.failed.is_some() {
                return None;
            }
            let end = (self.read + LINK_PAGE).min(self.ids.len());
            let wanted = &self.ids[self.read..end];
            match with_reader(&self.db, |r| r.links_by_id(wanted)) {
                Ok(links) => {
                    self.gone += wanted.len() - links.len();
                    self.page.extend(links);
                    self.read = end;
                }
                Err(e) => self.failed = Some(e),
            }
        }
    }
}

/// What every check of a run shares, cloned into each lane.
#[derive(Clone)]
struct Lane {
    checker: Checker,
    /// To the writer: each judged check, with its place in the writer's queue.
    tx: tokio::sync::mpsc::UnboundedSender<(
        String,
        CheckRecord,
        tokio::sync::OwnedSemaphorePermit,
    )>,
    queue: Arc<tokio::sync::Semaphore>,
    clock: Arc<dyn Clock>,
    known: Arc<Known>,
    db: std::path::PathBuf,
    judges: Arc<tokio::sync::Semaphore>,
    stop: CancellationToken,
}

impl Lane {
    /// One link's check: fetched (with its site's probe beside it, when it is its site's first
    /// check), judged, and handed to the writer; `false` when a stop came before its request.
    async fn check_link(&self, link: LinkToCheck) -> Result<bool, PipelineError> {
        let Lane {
            checker,
            tx,
            queue,
            clock,
            known,
            db,
            judges,
            stop,
        } = self;
        // The link's URL is read once here, for its request, its probe and its site.
        let url = Url::parse(&link.url);
        let origin = url.as_ref().ok().and_then(origin_of);
        let fragments = known.fragmented.get(&link.id).map(Vec::as_slice);
        // The site's probe (its first check fetches it) beside the check itself.
        let (checked, ()) = futures_util::future::join(
            AssertUnwindSafe(fetch_one(checker, &link, &url, fragments, stop, clock))
                .catch_unwind(),
            known.probes.ensure(checker, origin.as_deref(), stop, clock),
        )
        .await;
        let finished = match checked {
            Ok(Some(f)) => f,
            Ok(None) => return Ok(false),
            Err(panic) => {
                let what = panic_text(&panic);
                tracing::error!("internal error while checking {}: {what}", link.url);
                let url = url.unwrap_or_else(|_| Url::parse("invalid:").expect("constant URL"));
                Finished {
                    fetched: Fetched::internal(&url, what),
                    origin,
                    snapshot: None,
                    page: None,
                    raw_files: Vec::new(),
                    checked_at: clock.now(),
                    link,
                }
            }
        };
        let url = finished.link.url.clone();
        let record = judge_finished(finished, known.clone(), db.clone(), judges).await?;
        let permit = queue
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| StoreError::WriterGone)?;
        tx.send((url, record, permit))
            .map_err(|_| StoreError::WriterGone)?;
        Ok(true)
    }
}

/// Judges a finished fetch into its check record. A page of ordinary size is judged right
/// here, on the worker that fetched and read it: tens of microseconds, less than handing it to
/// another thread costs (a fifth of a first run's CPU went to those hand-offs). A big page is
/// judged on a blocking thread of its own (one at a time per core, `judges`), so it does not
/// hold up the other checks.
async fn judge_finished(
    finished: Finished,
    known: Arc<Known>,
    db: std::path::PathBuf,
    judges: &Arc<tokio::sync::Semaphore>,
) -> Result<CheckRecord, PipelineError> {
    if judge_inline(&finished) {
        return Ok(with_reader(&db, |reads| {
            judge_safely(reads, &finished, &known)
        })?);
    }
    let _judging = judges
        .clone()
        .acquire_owned()
        .await
        .map_err(|_| StoreError::WriterGone)?;
    tokio::task::spawn_blocking(move || {
        with_reader(&db, |reads| judge_safely(reads, &finished, &known))
    })
    .await
    .map_err(|_| PipelineError::Panicked("judging a check"))?
    .map_err(PipelineError::from)
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

/// Whether a finished fetch is judged on the worker that fetched it: a body small enough to be
/// read there ([`INLINE_BODY`]) is small enough to be judged there.
fn judge_inline(f: &Finished) -> bool {
    f.fetched
        .outcome
        .as_ref()
        .map_or(true, |r| r.body.len() <= INLINE_BODY)
}

thread_local! {
    /// A read connection per thread that judges checks that judges checks: opened once, reused.
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rows::{CitationRecord, PostRecord};
    use crate::store::Store;

    fn post(path: &str) -> PostRecord {
        PostRecord {
            source: "posts".into(),
            path: path.into(),
            title: None,
            date: None,
            draft: false,
            url: None,
            size: 1,
            mtime_ns: 1,
            hash: "h".into(),
        }
    }

    fn cite(url: &str) -> CitationRecord {
        CitationRecord {
            link: url.into(),
            line: 1,
            text: "t".into(),
            kind: "link".into(),
            raw: url.into(),
            ..Default::default()
        }
    }

    /// The links of a run are read a page at a time, all of them, in order; one no longer
    /// cited when its page is read is counted as gone (not as "not started").
    #[test]
    fn the_links_of_a_run_are_read_a_page_at_a_time() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("x.db");
        let mut store = Store::open(&db).unwrap();
        let now = chrono::DateTime::UNIX_EPOCH;
        let n = 2 * LINK_PAGE + 7;
        let many: Vec<CitationRecord> = (0..n)
            .map(|i| cite(&format!("https://a.org/{i}")))
            .collect();
        store.replace_post(&post("a.md"), &many, now).unwrap();
        store
            .replace_post(&post("b.md"), &[cite("https://b.org/")], now)
            .unwrap();
        let ids = store.link_ids_to_check().unwrap();
        assert_eq!(ids.len(), n + 1);
        // b.md stops citing its link after the run's ids were listed.
        store.replace_post(&post("b.md"), &[], now).unwrap();
        let mut queue = LinkQueue::new(db, ids.clone());
        let mut got = Vec::new();
        while let Some(link) = queue.next() {
            got.push(link);
        }
        assert_eq!(got.len(), n);
        assert_eq!(queue.gone, 1);
        assert!(queue.failed.is_none());
        assert_eq!(
            got.iter().map(|l| l.id).collect::<Vec<_>>(),
            ids[..n].to_vec(),
            "in id order"
        );
        assert_eq!(got[3].url, "https://a.org/3");
        assert!(queue.page.capacity() <= 2 * LINK_PAGE, "a page at a time");
        // In the order given (a daemon cycle's most overdue first), not the store's.
        let reversed: Vec<i64> = ids[..n].iter().rev().copied().collect();
        let mut queue = LinkQueue::new(dir.path().join("x.db"), reversed.clone());
        let mut order = Vec::new();
        while let Some(link) = queue.next() {
            order.push(link.id);
        }
        assert_eq!(order, reversed);
    }

    /// A panic while judging one page (a bug, whatever the page) is an `error` verdict for that
    /// link, recorded with its cycle; the batch and the run go on.
    #[test]
    fn a_panic_while_judging_is_an_error_verdict_for_that_link() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("x.db")).unwrap();
        let now = chrono::DateTime::UNIX_EPOCH;
        store
            .replace_post(
                &post("a.md"),
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
                    origin: None,
                    snapshot: None,
                    page: None,
                    raw_files: Vec::new(),
                    checked_at: now,
                    link,
                }
            })
            .collect();
        let known = Known::new(Probes::none(), HashSet::new(), HashMap::new(), cycle);
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
