//! The daemon: one loop that is always listening. It `select!`s over the watchdog tick, control
//! events (reload, posts changed), the shutdown future, its clock's next wake-up and the tasks it
//! started; the work itself (scans, check cycles, alert delivery, archive look-ups) runs as tasks,
//! so a slow site, a stalled mail server or a locked database never keeps the loop from answering
//! a signal or the watchdog.
//!
//! Invariants: the watchdog is pinged only by this loop, and only while it is healthy (no task has
//! gone without a sign of life for [`STALL_AFTER`]): a stuck daemon is restarted by systemd, a busy
//! one is not. A reload during a cycle is applied when the cycle ends. A stop starts no new request,
//! lets running ones finish within `grace`, ends the cycle (its pending strikes decided) and exits.
//! A failed cycle, scan or delivery is logged and tried again on schedule; it never ends the
//! service.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::clock::Clock;
use crate::config::Config;
use crate::pipeline::{self, CheckRun, CycleKind, DeliveryReport, PipelineError};
use crate::schedule::{self, CronSchedule};
use crate::state::State;
use crate::store::{StoreError, Writer};
use crate::systemd::Notify;
use crate::wiring::Wiring;

/// What the outside world can ask of a running daemon besides stopping (that is the shutdown
/// future).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// SIGHUP: reload the configuration (keep the old one if the new one is bad) and rescan.
    Reload,
    /// A post folder changed.
    PostsChanged,
}

#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
    #[error("{0}")]
    Schedule(String),
}

/// Re-reads the configuration on SIGHUP.
pub type Reloader = Box<dyn Fn() -> Result<Config, String> + Send + Sync>;

/// What the daemon runs on: tests give it a manual clock, a recording notifier and a channel of
/// their own.
pub struct Deps {
    pub config: Config,
    pub writer: Writer,
    pub reload: Reloader,
    pub clock: Arc<dyn Clock>,
    pub notifier: Arc<dyn Notify>,
    pub control: mpsc::Receiver<Control>,
}

/// Quiet time after a post change before rescanning: editors write files in bursts.
const DEBOUNCE: chrono::Duration = chrono::Duration::seconds(2);

/// How often the daemon thins old checks (in the cycle that finds it due).
const THIN_EVERY: chrono::Duration = chrono::Duration::days(1);

/// A task that shows no sign of life for this long is stuck: the watchdog is no longer pinged, so
/// systemd restarts the service. Every check, delivery attempt and database write is a sign of
/// life, and each of those has a timeout far shorter than this.
pub const STALL_AFTER: Duration = Duration::from_secs(20 * 60);

/// The longest time archive look-ups run after a cycle (they are a background nicety).
const LOOKUP_BUDGET: Duration = Duration::from_secs(10 * 60);

/// How long the end of a cycle cut short by the grace period may take before the daemon exits
/// anyway (the next start would finish it).
const FINISH_LIMIT: Duration = Duration::from_secs(5);

struct Plan {
    cron: CronSchedule,
    scan: CronSchedule,
}

fn make_plan(cfg: &Config) -> Result<Plan, DaemonError> {
    Ok(Plan {
        cron: schedule::parse_cron(&cfg.schedule.cron).map_err(DaemonError::Schedule)?,
        scan: schedule::parse_cron(&cfg.schedule.scan).map_err(DaemonError::Schedule)?,
    })
}

/// What a finished cycle reports to the loop.
struct CycleDone {
    stats: pipeline::CheckStats,
    counts: Vec<(State, u64)>,
}

/// Signs of life of the tasks, for the watchdog.
#[derive(Default)]
struct Life {
    beats: Arc<AtomicU64>,
    last_seen: u64,
    last_change: Option<tokio::time::Instant>,
    reported: bool,
}

impl Life {
    /// Whether the tasks are alive: some sign of life within [`STALL_AFTER`] (or nothing runs).
    fn healthy(&mut self, busy: bool, writer_beats: u64) -> bool {
        let now = tokio::time::Instant::now();
        let seen = self
            .beats
            .load(Ordering::Relaxed)
            .wrapping_add(writer_beats);
        if seen != self.last_seen || self.last_change.is_none() || !busy {
            self.last_seen = seen;
            self.last_change = Some(now);
            self.reported = false;
            return true;
        }
        let quiet = self.last_change.map(|t| now - t).unwrap_or_default();
        if quiet < STALL_AFTER {
            return true;
        }
        if !self.reported {
            tracing::error!(
                "no sign of life from running work for {quiet:?}: no longer pinging the watchdog, so that systemd restarts the service"
            );
            self.reported = true;
        }
        false
    }
}

/// Waits for an optional task; pending forever when there is none.
async fn join<T>(task: &mut Option<JoinHandle<T>>) -> Result<T, tokio::task::JoinError> {
    match task {
        Some(t) => t.await,
        None => std::future::pending().await,
    }
}

/// The next tick of an optional interval; pending forever when there is none.
async fn tick(interval: &mut Option<tokio::time::Interval>) {
    match interval {
        Some(i) => {
            i.tick().await;
        }
        None => std::future::pending().await,
    }
}

/// What a previous run left unfinished: deliveries kept under positional sink keys (before sinks
/// had stable ones) follow their sink, and cycles a crash cut short are finished.
async fn startup_task(run: CheckRun) {
    let renames = crate::alert::sink::legacy_keys(&run.alerts);
    match run
        .writer
        .run("sink keys", move |s| s.adopt_sink_keys(&renames))
        .await
    {
        Ok(0) => {}
        Ok(n) => tracing::info!("{n} alert deliveries moved to their sink's new key"),
        Err(e) => tracing::error!("cannot update sink keys: {e}"),
    }
    if let Err(e) = pipeline::finish_cut_cycles(&run).await {
        tracing::error!("cannot finish cycles cut short: {e}; the next start tries again");
    }
}

/// The daemon's background tasks, one slot each. Every slot is named in [`Tasks::busy`],
/// [`Tasks::abort_all`] and [`Tasks::next_done`] by destructuring without `..`: a task added
/// here and forgotten there does not compile.
#[derive(Default)]
struct Tasks {
    /// What a previous run left unfinished (before any cycle or delivery).
    startup: Option<JoinHandle<()>>,
    scan: Option<JoinHandle<Result<pipeline::ScanReport, DaemonError>>>,
    cycle: Option<JoinHandle<Result<CycleDone, DaemonError>>>,
    delivery: Option<JoinHandle<Result<DeliveryReport, StoreError>>>,
    /// Archive look-ups after a cycle: a background nicety, never waited for.
    lookups: Option<JoinHandle<()>>,
}

type Joined<T> = Result<T, tokio::task::JoinError>;

/// A task that ended, with what it returned.
enum Done {
    Startup(Joined<()>),
    Scan(Joined<Result<pipeline::ScanReport, DaemonError>>),
    Cycle(Joined<Result<CycleDone, DaemonError>>),
    Delivery(Joined<Result<DeliveryReport, StoreError>>),
}

impl Tasks {
    /// Whether work is running that a stop waits for (look-ups are abandoned at once).
    fn busy(&self) -> bool {
        let Tasks {
            startup,
            scan,
            cycle,
            delivery,
            lookups: _,
        } = self;
        startup.is_some() || scan.is_some() || cycle.is_some() || delivery.is_some()
    }

    fn abort_all(&self) {
        let Tasks {
            startup,
            scan,
            cycle,
            delivery,
            lookups,
        } = self;
        let handles = [
            startup.as_ref().map(JoinHandle::abort_handle),
            scan.as_ref().map(JoinHandle::abort_handle),
            cycle.as_ref().map(JoinHandle::abort_handle),
            delivery.as_ref().map(JoinHandle::abort_handle),
            lookups.as_ref().map(JoinHandle::abort_handle),
        ];
        for task in handles.into_iter().flatten() {
            task.abort();
        }
    }

    /// The next task to end (its slot emptied); pending while none runs.
    async fn next_done(&mut self) -> Done {
        let Tasks {
            startup,
            scan,
            cycle,
            delivery,
            lookups: _,
        } = self;
        tokio::select! {
            r = join(startup) => { *startup = None; Done::Startup(r) }
            r = join(scan) => { *scan = None; Done::Scan(r) }
            r = join(cycle) => { *cycle = None; Done::Cycle(r) }
            r = join(delivery) => { *delivery = None; Done::Delivery(r) }
        }
    }
}

/// Everything the loop waits for.
enum Event {
    /// The shutdown future completed.
    Shutdown,
    Watchdog,
    Control(Option<Control>),
    /// The watcher saw a post folder change.
    PostsChanged,
    Done(Done),
    /// A due time came (or the grace period ended): the loop looks again.
    Wake,
}

/// The daemon's state between events.
struct Daemon {
    /// The configuration, writer, clock and HTTP client, and what is built from them.
    app: Wiring,
    plan: Plan,
    reload: Reloader,
    notifier: Arc<dyn Notify>,
    life: Life,
    writer_beats: Arc<AtomicU64>,
    tasks: Tasks,
    cycle_stop: CancellationToken,
    lookups_stop: CancellationToken,
    next_cycle: Option<DateTime<Utc>>,
    next_scan: Option<DateTime<Utc>>,
    rescan_at: Option<DateTime<Utc>>,
    next_delivery: Option<DateTime<Utc>>,
    next_thin: DateTime<Utc>,
    reload_pending: bool,
    skipped_noted: bool,
    /// Set by a stop: the instant the grace period ends.
    stopping: Option<tokio::time::Instant>,
    watch_tx: mpsc::Sender<()>,
    watcher: crate::watch::PostWatcher,
}

fn folders(c: &Config) -> Vec<std::path::PathBuf> {
    c.sources.iter().map(|s| s.path.clone()).collect()
}

/// Runs until `shutdown` completes.
pub async fn run(deps: Deps, shutdown: impl Future<Output = ()>) -> Result<(), DaemonError> {
    let Deps {
        config,
        writer,
        reload,
        clock,
        notifier,
        mut control,
    } = deps;
    let plan = make_plan(&config)?;
    let app =
        Wiring::new(config, writer, clock).map_err(|e| DaemonError::Schedule(e.to_string()))?;
    // The dashboard, when configured: a task of its own on its own read connections; it never
    // waits on the loop nor the loop on it, and stops when the daemon does.
    let dashboard_stop = CancellationToken::new();
    let dashboard =
        start_dashboard(&app.config, &app.writer, &app.clock, dashboard_stop.clone()).await;

    let now = app.clock.now();
    let (watch_tx, mut watch_rx) = mpsc::channel::<()>(1);
    let watcher = crate::watch::PostWatcher::start(&folders(&app.config), watch_tx.clone());
    let mut d = Daemon {
        next_cycle: plan.cron.next_after(&now),
        next_scan: plan.scan.next_after(&now),
        // Read the posts at once so the first cycle knows every citation; deliver what is owed.
        rescan_at: Some(now),
        next_delivery: Some(now),
        next_thin: now,
        reload_pending: false,
        skipped_noted: false,
        stopping: None,
        // Before any cycle or delivery: what a previous run left unfinished.
        tasks: Tasks {
            startup: Some(tokio::spawn(startup_task(app.check_run(CycleKind::Daemon)))),
            ..Tasks::default()
        },
        cycle_stop: CancellationToken::new(),
        lookups_stop: CancellationToken::new(),
        writer_beats: app.writer.activity(),
        life: Life::default(),
        app,
        plan,
        reload,
        notifier,
        watch_tx,
        watcher,
    };
    let mut watchdog = d.notifier.watchdog_interval().map(|i| {
        let mut i = tokio::time::interval(i.max(Duration::from_millis(10)));
        i.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        i
    });
    tokio::pin!(shutdown);
    d.notifier
        .ready(&format!("next cycle {}", fmt_opt(d.next_cycle)));
    tracing::info!(
        "daemon ready; next check cycle at {}",
        fmt_opt(d.next_cycle)
    );

    loop {
        if let Some(deadline) = d.stopping {
            if !d.tasks.busy() || tokio::time::Instant::now() >= deadline {
                break;
            }
        }
        d.apply_pending_reload();
        d.start_due();
        let event = d
            .next_event(&mut shutdown, &mut watchdog, &mut control, &mut watch_rx)
            .await;
        d.handle_event(event, &mut control);
    }
    d.finish().await;
    dashboard_stop.cancel();
    if let Some(dash) = dashboard {
        let _ = tokio::time::timeout(crate::serve::CLOSE_GRACE * 2, dash).await;
    }
    tracing::info!("stopped");
    Ok(())
}

impl Daemon {
    /// A reload waits for the cycle under way to end (and is dropped by a stop).
    fn apply_pending_reload(&mut self) {
        if !self.reload_pending || self.tasks.cycle.is_some() || self.stopping.is_some() {
            return;
        }
        self.reload_pending = false;
        if apply_reload(
            &self.reload,
            &mut self.app.config,
            &mut self.plan,
            self.notifier.as_ref(),
        ) {
            let now = self.app.clock.now();
            self.next_cycle = self.plan.cron.next_after(&now);
            self.next_scan = self.plan.scan.next_after(&now);
            self.rescan_at = Some(now);
            self.next_delivery = Some(now);
            self.watcher =
                crate::watch::PostWatcher::start(&folders(&self.app.config), self.watch_tx.clone());
        }
        self.notifier
            .ready(&format!("next cycle {}", fmt_opt(self.next_cycle)));
    }

    /// Starts what is due: never while stopping, and cycles and deliveries only once what a
    /// previous run left unfinished is done.
    fn start_due(&mut self) {
        if self.stopping.is_some() {
            return;
        }
        let now = self.app.clock.now();
        let due = |t: Option<DateTime<Utc>>| t.is_some_and(|t| t <= now);
        if self.tasks.scan.is_none() && (due(self.rescan_at) || due(self.next_scan)) {
            // Cleared when the scan starts, never when it ends: a change reported while it runs
            // sets it again, and another scan follows this one.
            self.rescan_at = None;
            self.next_scan = self.plan.scan.next_after(&now);
            // Watches renewed before reading: a file written after this point is a change (a
            // folder deleted and created again is watched anew).
            self.watcher.refresh();
            self.tasks.scan = Some(tokio::spawn(scan_task(
                self.app.writer.clone(),
                self.app.config.clone(),
                now,
            )));
        }
        if due(self.next_cycle) && self.tasks.startup.is_none() {
            if self.tasks.cycle.is_some() {
                if !self.skipped_noted {
                    tracing::warn!("the previous check cycle is still running; cycles due meanwhile are skipped");
                    self.skipped_noted = true;
                }
            } else {
                self.skipped_noted = false;
                let thin = self
                    .app
                    .config
                    .thin_checks_after
                    .filter(|_| self.next_thin <= now);
                if thin.is_some() {
                    self.next_thin = now + THIN_EVERY;
                }
                self.cycle_stop = CancellationToken::new();
                self.tasks.cycle = Some(tokio::spawn(cycle_task(
                    self.app.check_run(CycleKind::Daemon),
                    self.app.config.schedule.recheck_ok,
                    self.app.config.schedule.recheck_failing,
                    thin,
                    self.cycle_stop.clone(),
                    self.life.beats.clone(),
                )));
            }
            self.next_cycle = self.plan.cron.next_after(&now);
        }
        if self.tasks.delivery.is_none() && self.tasks.startup.is_none() && due(self.next_delivery)
        {
            self.next_delivery = None;
            let (app, beats) = (self.app.clone(), self.life.beats.clone());
            self.tasks.delivery = Some(tokio::spawn(async move {
                let progress = move || {
                    beats.fetch_add(1, Ordering::Relaxed);
                };
                app.deliver_due(&progress).await
            }));
        }
    }

    /// When the loop must look again by itself: only what could start then counts (a scan due
    /// while one runs waits for its end, an event; it must not make the loop spin).
    fn wake(&self) -> Option<DateTime<Utc>> {
        let t = &self.tasks;
        [
            self.next_cycle.filter(|_| t.startup.is_none()),
            self.next_scan.filter(|_| t.scan.is_none()),
            self.rescan_at.filter(|_| t.scan.is_none()),
            self.next_delivery
                .filter(|_| t.delivery.is_none() && t.startup.is_none()),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Waits for the next thing that happens: every wait of the daemon is one arm here.
    async fn next_event(
        &mut self,
        shutdown: &mut std::pin::Pin<&mut impl Future<Output = ()>>,
        watchdog: &mut Option<tokio::time::Interval>,
        control: &mut mpsc::Receiver<Control>,
        watch_rx: &mut mpsc::Receiver<()>,
    ) -> Event {
        let stopping = self.stopping;
        let sleep = match (self.wake(), stopping) {
            (Some(w), None) => self.app.clock.sleep_until(w),
            _ => Box::pin(std::future::pending()),
        };
        let grace_over = async {
            match stopping {
                Some(d) => tokio::time::sleep_until(d).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            biased;
            _ = shutdown, if stopping.is_none() => Event::Shutdown,
            _ = tick(watchdog) => Event::Watchdog,
            c = control.recv() => Event::Control(c),
            Some(()) = watch_rx.recv() => Event::PostsChanged,
            done = self.tasks.next_done() => Event::Done(done),
            _ = sleep => Event::Wake,
            _ = grace_over => Event::Wake,
        }
    }

    fn handle_event(&mut self, event: Event, control: &mut mpsc::Receiver<Control>) {
        match event {
            Event::Shutdown => {
                let grace = self.app.config.schedule.grace;
                tracing::info!("stopping: no new checks; waiting up to {grace:?} for running work");
                self.notifier.stopping();
                self.cycle_stop.cancel();
                self.lookups_stop.cancel();
                self.stopping = Some(tokio::time::Instant::now() + grace);
            }
            Event::Watchdog => {
                let busy = self.tasks.busy();
                if self
                    .life
                    .healthy(busy, self.writer_beats.load(Ordering::Relaxed))
                {
                    self.notifier.watchdog();
                }
            }
            Event::Control(Some(Control::Reload)) => {
                if self.tasks.cycle.is_some() {
                    tracing::info!(
                        "reload requested during a check cycle; it is applied when the cycle ends"
                    );
                }
                self.reload_pending = true;
            }
            Event::Control(Some(Control::PostsChanged)) | Event::PostsChanged => {
                self.rescan_at = Some(self.app.clock.now() + DEBOUNCE);
            }
            // Nobody can send controls any more (the signal listener ended): go on without.
            Event::Control(None) => *control = mpsc::channel(1).1,
            Event::Done(done) => self.task_done(done),
            Event::Wake => {}
        }
    }

    fn task_done(&mut self, done: Done) {
        match done {
            Done::Startup(r) => {
                if let Err(e) = r {
                    tracing::error!("start-up task failed: {e}");
                }
            }
            Done::Scan(r) => match r {
                Ok(Ok(report)) => log_scan(&report),
                Ok(Err(e)) => tracing::error!("scan failed: {e}; the next scan tries again"),
                Err(e) => tracing::error!("scan task failed: {e}"),
            },
            Done::Cycle(r) => match r {
                Ok(Ok(done)) => {
                    if done.stats.transitions > 0 {
                        self.next_delivery = Some(self.app.clock.now());
                    }
                    self.notifier
                        .status(&status_line(&done.counts, self.next_cycle));
                    let idle = self.tasks.lookups.as_ref().is_none_or(|l| l.is_finished());
                    if idle && self.stopping.is_none() {
                        self.tasks.lookups = Some(tokio::spawn(lookup_task(
                            self.app.lookups(true),
                            self.lookups_stop.clone(),
                        )));
                    }
                }
                Ok(Err(e)) => {
                    tracing::error!("check cycle failed: {e}; the next cycle tries again")
                }
                Err(e) => tracing::error!("check cycle task failed: {e}"),
            },
            Done::Delivery(r) => match r {
                Ok(Ok(report)) => {
                    self.next_delivery = report.next_due.map(|t| t.max(self.app.clock.now()));
                }
                Ok(Err(e)) => {
                    tracing::error!("alert delivery failed: {e}; trying again in a minute");
                    self.next_delivery = Some(self.app.clock.now() + chrono::Duration::minutes(1));
                }
                Err(e) => tracing::error!("alert delivery task failed: {e}"),
            },
        }
    }

    /// Stopped: whatever still runs after the grace period is abandoned, and a cycle cut short
    /// is ended (its pending strikes decided) within [`FINISH_LIMIT`].
    async fn finish(&self) {
        let cut = self.tasks.cycle.is_some();
        self.tasks.abort_all();
        if cut {
            tracing::warn!("grace period over; checks still running were abandoned (they are checked again next time)");
            let run = self.app.check_run(CycleKind::Daemon);
            match tokio::time::timeout(FINISH_LIMIT, pipeline::finish_own_cycles(&run)).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    tracing::error!("cannot finish the cycle: {e}; the next start finishes it")
                }
                Err(_) => {
                    tracing::warn!("finishing the cycle takes too long; the next start finishes it")
                }
            }
        }
    }
}

/// Starts the dashboard when `[serve] listen` is set. A dashboard that cannot start (its token
/// unreadable, its port taken) is logged and left out: checking and alerting go on.
async fn start_dashboard(
    config: &Config,
    writer: &Writer,
    clock: &Arc<dyn Clock>,
    stop: CancellationToken,
) -> Option<JoinHandle<()>> {
    use crate::serve::{self, Dashboard, Token};
    let listen = config.serve.listen?;
    let started = async {
        let token = config
            .serve
            .token_file
            .as_deref()
            .map(Token::from_file)
            .transpose()?;
        let listener = serve::bind(listen, token.as_ref()).await?;
        Ok::<_, serve::ServeError>((listener, token))
    };
    match started.await {
        Ok((listener, token)) => {
            let at = listener
                .local_addr()
                .map(|a| a.to_string())
                .unwrap_or_else(|_| listen.to_string());
            tracing::info!("dashboard on http://{at}/");
            let planner = serve::fix_planner(writer.clone(), config.clone(), clock.clone());
            let dash =
                Arc::new(Dashboard::new(&config.db, token, clock.clone()).with_planner(planner));
            Some(tokio::spawn(serve::run(listener, dash, async move {
                stop.cancelled().await
            })))
        }
        Err(e) => {
            tracing::error!("dashboard not started: {e}; the service goes on without it");
            None
        }
    }
}

/// Re-reads the configuration; a bad one is reported and the old one kept. Whether it changed.
fn apply_reload(
    reload: &Reloader,
    config: &mut Config,
    plan: &mut Plan,
    notifier: &dyn Notify,
) -> bool {
    notifier.reloading();
    let new = reload().and_then(|c| make_plan(&c).map(|p| (c, p)).map_err(|e| e.to_string()));
    match new {
        Ok((c, p)) => {
            if c.db != config.db {
                tracing::warn!("the database path changed in the configuration; it takes effect at the next start");
            }
            if c.serve != config.serve {
                tracing::warn!("the [serve] settings changed in the configuration; they take effect at the next start");
            }
            *config = c;
            *plan = p;
            tracing::info!("configuration reloaded");
            true
        }
        Err(e) => {
            tracing::error!("new configuration rejected, keeping the old one: {e}");
            false
        }
    }
}

/// One scan, on the writer (it writes posts in batches as it reads them).
async fn scan_task(
    writer: Writer,
    config: Config,
    now: DateTime<Utc>,
) -> Result<pipeline::ScanReport, DaemonError> {
    Ok(pipeline::scan_async(&writer, &config, now).await?)
}

fn log_scan(r: &pipeline::ScanReport) {
    for p in &r.problems {
        tracing::warn!(
            "skipped {}: {}",
            crate::text::sanitize(&p.path),
            crate::text::sanitize(&p.message)
        );
    }
    if r.read > 0 || r.removed > 0 {
        tracing::info!(
            "scan: {} files, {} read, {} removed, {} citations",
            r.files,
            r.read,
            r.removed,
            r.citations
        );
    }
}

/// One check cycle: the due links, checked, confirmed and recorded; then thinning when due.
async fn cycle_task(
    run: CheckRun,
    recheck_ok: Duration,
    recheck_failing: Duration,
    thin: Option<Duration>,
    stop: CancellationToken,
    beats: Arc<AtomicU64>,
) -> Result<CycleDone, DaemonError> {
    let now = run.clock.now();
    let facts = run.writer.read(|s| s.link_facts()).await?;
    let list: Vec<_> = facts.iter().map(|f| f.facts.clone()).collect();
    let due: Vec<i64> = schedule::due(&list, recheck_ok, recheck_failing, now)
        .into_iter()
        .map(|i| facts[i].id)
        .collect();
    tracing::info!("check cycle: {} of {} links due", due.len(), facts.len());
    drop(facts);
    let stats = pipeline::check(&run, due, &stop, move |_, _| {
        beats.fetch_add(1, Ordering::Relaxed);
    })
    .await?;
    match stats.outage {
        Some(o) => tracing::warn!(
            "this cycle looks like our own outage ({}); it counts no strikes against citations",
            o.describe()
        ),
        None => tracing::info!(
            "check cycle done: {} checked, {} confirmed transitions{}",
            stats.checked,
            stats.transitions,
            if stats.not_started > 0 {
                format!(", {} not started (stopping)", stats.not_started)
            } else {
                String::new()
            }
        ),
    }
    if let Some(keep) = thin {
        let cutoff = run.clock.now() - chrono::Duration::from_std(keep).unwrap_or_default();
        match run
            .writer
            .run("thinning", move |s| s.thin_checks(cutoff))
            .await
        {
            Ok(0) => {}
            Ok(n) => tracing::info!("retention: thinned {n} old repeated checks"),
            Err(e) => tracing::warn!("retention: {e}"),
        }
    }
    let counts = run.writer.read(|s| s.counts()).await?;
    Ok(CycleDone { stats, counts })
}

/// Archive look-ups for links whose bad state is confirmed, in the background.
async fn lookup_task(l: pipeline::Lookups, stop: CancellationToken) {
    let done = CancellationToken::new();
    done.cancel();
    match pipeline::lookup_archives(&l, &done, LOOKUP_BUDGET, &stop).await {
        Ok(r) if r.looked_up > 0 => tracing::info!(
            "archive look-ups: {} asked, {} copies found",
            r.looked_up,
            r.found
        ),
        Ok(_) => {}
        Err(e) => tracing::warn!("archive look-ups: {e}"),
    }
}

fn fmt_opt(t: Option<DateTime<Utc>>) -> String {
    t.map(crate::store::ts).unwrap_or_else(|| "never".into())
}

/// The STATUS= line: next cycle and links by state.
fn status_line(counts: &[(State, u64)], next: Option<DateTime<Utc>>) -> String {
    let counts = counts
        .iter()
        .map(|(s, n)| format!("{n} {s}"))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "next cycle {}; {}",
        fmt_opt(next),
        if counts.is_empty() {
            "no links".into()
        } else {
            counts
        }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The watchdog keeps being pinged while work shows signs of life, and stops once running work
    /// has been silent for [`STALL_AFTER`]: a stuck daemon is restarted, a busy one is not.
    #[tokio::test(start_paused = true)]
    async fn a_silent_task_stops_the_watchdog_and_a_busy_one_does_not() {
        let mut life = Life::default();
        assert!(life.healthy(true, 0));
        tokio::time::advance(STALL_AFTER / 2).await;
        life.beats.fetch_add(1, Ordering::Relaxed);
        assert!(life.healthy(true, 0), "a sign of life");
        tokio::time::advance(STALL_AFTER - Duration::from_secs(1)).await;
        assert!(life.healthy(true, 0), "quiet, but not for long enough");
        tokio::time::advance(Duration::from_secs(2)).await;
        assert!(!life.healthy(true, 0), "silent for longer than STALL_AFTER");
        assert!(
            life.healthy(true, 1),
            "the writer waiting out a lock is alive"
        );
        tokio::time::advance(STALL_AFTER * 2).await;
        assert!(
            life.healthy(false, 1),
            "nothing running: nothing can be stuck"
        );
    }
}
