//! The daemon: an explicit loop that computes its next wake-up (pure), then waits for it, for a
//! control event (reload, posts changed, shutdown) or for the watchdog. A wake-up runs what is due:
//! a scan, a check cycle of the links that are due, alert deliveries.
//!
//! Invariants: a cycle's verdicts and the alerts they cause are written together (the outbox), so
//! a crash neither loses nor repeats an alert; an outage cycle counts no strikes; after a stop
//! request no new check starts and running ones get `grace` to finish.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::sync::mpsc;

use crate::alert::sink::{sinks_from, Sink};
use crate::alert::{AlertEvent, EventCitation};
use crate::clock::Clock;
use crate::config::Config;
use crate::confirm::{self, Settings};
use crate::pipeline::{self, PipelineError};
use crate::schedule::{self, CronSchedule};
use crate::state::State;
use crate::store::{Store, StoreError};
use crate::systemd::Notifier;

/// What the outside world can ask of a running daemon.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// SIGHUP: reload the configuration (keep the old one if the new one is bad) and rescan.
    Reload,
    /// A post folder changed.
    PostsChanged,
    /// SIGTERM or SIGINT.
    Shutdown,
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

/// Quiet time after a post change before rescanning: editors write files in bursts.
const DEBOUNCE: std::time::Duration = std::time::Duration::from_secs(2);

/// How often the daemon thins old checks (after the cycle that finds it due).
const THIN_EVERY: chrono::Duration = chrono::Duration::days(1);

/// The longest wait between two delivery retries.
const MAX_RETRY: std::time::Duration = std::time::Duration::from_secs(3600);

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

fn to_std(d: chrono::Duration) -> std::time::Duration {
    d.to_std().unwrap_or(std::time::Duration::ZERO)
}

/// Runs until a shutdown control arrives. `store` is the open database; `reload` re-reads the
/// configuration for SIGHUP.
pub async fn run(
    mut cfg: Config,
    mut store: Store,
    reload: Reloader,
    clock: Arc<dyn Clock>,
    notifier: Notifier,
    mut control: mpsc::Receiver<Control>,
) -> Result<(), DaemonError> {
    let mut plan = make_plan(&cfg)?;
    let http = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .map_err(|e| {
            DaemonError::Schedule(format!("cannot build the HTTP client for alerts: {e}"))
        })?;
    let now = clock.now();
    let mut next_cycle = plan.cron.next_after(&now);
    let mut next_scan = plan.scan.next_after(&now);
    let mut rescan_at: Option<DateTime<Utc>> = None;
    let mut next_thin: Option<DateTime<Utc>> = None;
    // Read the posts once at start so the first cycle knows every citation.
    scan(&mut store, &cfg, clock.now());
    let (watch_tx, mut watch_rx) = mpsc::channel::<()>(1);
    let mut watcher = crate::watch::PostWatcher::start(
        &cfg.sources
            .iter()
            .map(|s| s.path.clone())
            .collect::<Vec<_>>(),
        watch_tx.clone(),
    );
    notifier.ready(&status_line(&store, next_cycle));
    tracing::info!("daemon ready; next check cycle at {}", fmt_opt(next_cycle));
    let watchdog = notifier.watchdog_interval();
    loop {
        let now = clock.now();
        let next_delivery = store.next_delivery_due()?;
        let wake = [next_cycle, next_scan, rescan_at, next_delivery]
            .into_iter()
            .flatten()
            .min();
        let sleep_for = wake
            .map(|w| to_std(w - now))
            .unwrap_or(std::time::Duration::from_secs(3600));
        let sleep_for = match watchdog {
            Some(w) => sleep_for.min(w),
            None => sleep_for,
        };
        tokio::select! {
            _ = tokio::time::sleep(sleep_for) => {}
            c = control.recv() => match c {
                Some(Control::Shutdown) | None => break,
                Some(Control::Reload) => {
                    notifier.reloading();
                    match reload() {
                        Ok(new) => match make_plan(&new) {
                            Ok(p) => {
                                tracing::info!("configuration reloaded");
                                cfg = new;
                                plan = p;
                                let now = clock.now();
                                next_cycle = plan.cron.next_after(&now);
                                next_scan = plan.scan.next_after(&now);
                                drop(watcher);
                                watcher = crate::watch::PostWatcher::start(&cfg.sources.iter().map(|s| s.path.clone()).collect::<Vec<_>>(), watch_tx.clone());
                                rescan_at = Some(now);
                            }
                            Err(e) => tracing::error!("new configuration rejected, keeping the old one: {e}"),
                        },
                        Err(e) => tracing::error!("new configuration rejected, keeping the old one: {e}"),
                    }
                    notifier.ready(&status_line(&store, next_cycle));
                    continue;
                }
                Some(Control::PostsChanged) => {
                    rescan_at = Some(clock.now() + chrono::Duration::from_std(DEBOUNCE).unwrap_or_default());
                    continue;
                }
            },
            Some(()) = watch_rx.recv() => {
                rescan_at = Some(clock.now() + chrono::Duration::from_std(DEBOUNCE).unwrap_or_default());
                continue;
            }
        }
        if watchdog.is_some() {
            notifier.watchdog();
        }
        let now = clock.now();
        if rescan_at.is_some_and(|t| t <= now) || next_scan.is_some_and(|t| t <= now) {
            scan(&mut store, &cfg, now);
            rescan_at = None;
            next_scan = plan.scan.next_after(&now);
        }
        if next_cycle.is_some_and(|t| t <= now) {
            let stop = Arc::new(AtomicBool::new(false));
            let cycle_fut = cycle(store, &cfg, clock.clone(), stop.clone());
            tokio::pin!(cycle_fut);
            let mut stopping = false;
            let result = loop {
                tokio::select! {
                    r = &mut cycle_fut => break Some(r),
                    c = control.recv(), if !stopping => {
                        if matches!(c, Some(Control::Shutdown) | None) {
                            tracing::info!("stopping: no new checks; waiting up to {:?} for running ones", cfg.schedule.grace);
                            notifier.stopping();
                            stop.store(true, Ordering::SeqCst);
                            stopping = true;
                        }
                        // Reloads and post changes during a cycle wait for the next loop.
                    }
                    _ = tokio::time::sleep(cfg.schedule.grace), if stopping => break None,
                }
            };
            match result {
                Some(Ok(s)) => store = s,
                Some(Err(e)) => return Err(e),
                None => {
                    tracing::warn!("grace period over; checks still running were abandoned (they are re-checked next start)");
                    return Ok(());
                }
            }
            if stopping {
                deliver(&mut store, &cfg, &http, clock.now()).await?;
                return Ok(());
            }
            next_cycle = plan.cron.next_after(&clock.now());
            if let Some(keep) = cfg.thin_checks_after {
                let now = clock.now();
                // Thinning reads the whole history: once a day is enough for a cutoff in days.
                if next_thin.is_none_or(|t| t <= now) {
                    next_thin = Some(now + THIN_EVERY);
                    let cutoff = now - chrono::Duration::from_std(keep).unwrap_or_default();
                    match store.thin_checks(cutoff) {
                        Ok(0) => {}
                        Ok(n) => tracing::info!("retention: thinned {n} old repeated checks"),
                        Err(e) => tracing::warn!("retention: {e}"),
                    }
                }
            }
            notifier.status(&status_line(&store, next_cycle));
        }
        deliver(&mut store, &cfg, &http, clock.now()).await?;
    }
    notifier.stopping();
    tracing::info!("stopped");
    Ok(())
}

fn fmt_opt(t: Option<DateTime<Utc>>) -> String {
    t.map(crate::store::ts).unwrap_or_else(|| "never".into())
}

fn scan(store: &mut Store, cfg: &Config, now: DateTime<Utc>) {
    match pipeline::scan(store, cfg, now) {
        Ok(r) => {
            for p in &r.problems {
                tracing::warn!("skipped {}: {}", p.path, p.message);
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
        // A source folder that vanished is reported; the daemon keeps watching the rest.
        Err(e) => tracing::error!("scan failed: {e}"),
    }
}

/// The STATUS= line: next cycle and links by state.
fn status_line(store: &Store, next: Option<DateTime<Utc>>) -> String {
    let counts = store
        .counts()
        .map(|c| {
            c.iter()
                .map(|(s, n)| format!("{n} {s}"))
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default();
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

/// One check cycle: the due links (and canaries), then confirmation and alerts.
async fn cycle(
    store: Store,
    cfg: &Config,
    clock: Arc<dyn Clock>,
    stop: Arc<AtomicBool>,
) -> Result<Store, DaemonError> {
    let now = clock.now();
    let facts = store.link_facts()?;
    let list: Vec<_> = facts.iter().map(|f| f.facts.clone()).collect();
    let due: Vec<i64> = schedule::due(
        &list,
        cfg.schedule.recheck_ok,
        cfg.schedule.recheck_failing,
        now,
    )
    .into_iter()
    .map(|i| facts[i].id)
    .collect();
    let canaries_failed = canaries_fail(cfg).await;
    let links = store.links_by_id(&due)?;
    tracing::info!("check cycle: {} of {} links due", links.len(), facts.len());
    let (mut store, stats) = pipeline::check(
        store,
        &cfg.check,
        clock.clone(),
        links,
        Some(stop),
        |_, _| {},
    )
    .await?;
    let observed: Vec<(State, bool)> = stats.results.iter().map(|(_, s, n)| (*s, *n)).collect();
    let outage = confirm::is_outage(&observed, canaries_failed);
    if outage {
        tracing::warn!(
            "this cycle looks like our own outage ({}); it counts no strikes against citations",
            if canaries_failed {
                "a canary URL failed"
            } else {
                "nearly every check failed without an HTTP answer"
            }
        );
    }
    let settings = Settings {
        confirm_checks: cfg.alerts.confirm_checks,
        confirm_period: cfg.alerts.confirm_period,
    };
    let sinks: Vec<String> = sinks_from(&cfg.alerts).iter().map(Sink::key).collect();
    let now = clock.now();
    for (id, state, _) in &stats.results {
        let prev = store.confirmation(*id)?;
        let (next, transition) = confirm::step(&prev, *state, now, &settings, outage);
        let event = match transition {
            Some(t) => Some(event_for(&store, *id, t, now)?),
            None => None,
        };
        if next != prev || event.is_some() {
            store.apply_confirmation(*id, &next, event.as_ref(), &sinks, now)?;
        }
    }
    Ok(store)
}

/// Whether any configured canary failed: then the cycle is our outage.
async fn canaries_fail(cfg: &Config) -> bool {
    if cfg.alerts.canaries.is_empty() {
        return false;
    }
    let Ok(checker) = crate::checker::Checker::new(&cfg.check) else {
        return false;
    };
    for url in &cfg.alerts.canaries {
        let f = checker.check(url).await;
        let v = crate::classify::classify(&f, &crate::classify::Context::default());
        if v.state.is_failing() {
            tracing::warn!("canary {url} failed: {}", v.error.unwrap_or_default());
            return true;
        }
    }
    false
}

fn event_for(
    store: &Store,
    link_id: i64,
    t: confirm::Transition,
    now: DateTime<Utc>,
) -> Result<AlertEvent, StoreError> {
    let row = store.link_status_by_id(link_id)?;
    let (url, http_status, error, final_url, archived_url, citations) = match row {
        Some(r) => (
            r.url,
            r.http_status,
            r.error,
            r.final_url,
            r.archived_url,
            r.citations
                .into_iter()
                .map(|c| EventCitation {
                    post: c.post,
                    line: c.line,
                    text: c.text,
                })
                .collect(),
        ),
        None => (String::new(), None, None, None, None, Vec::new()),
    };
    Ok(AlertEvent {
        id: format!(
            "cw-{link_id}-{}-{}",
            now.timestamp_millis(),
            t.kind.as_str()
        ),
        event: t.kind.as_str().to_string(),
        url,
        old_state: t.from,
        new_state: t.to,
        http_status,
        error,
        final_url,
        archived_url,
        citations,
        at: now,
    })
}

/// Sends the outbox's due deliveries; failures are retried later with backoff.
pub async fn deliver(
    store: &mut Store,
    cfg: &Config,
    http: &reqwest::Client,
    now: DateTime<Utc>,
) -> Result<(), DaemonError> {
    let pending = store.pending_deliveries(now)?;
    if pending.is_empty() {
        return Ok(());
    }
    let sinks = sinks_from(&cfg.alerts);
    // Group by sink: a digest is one message per sink; otherwise one message per event.
    let mut by_sink: std::collections::BTreeMap<String, Vec<crate::store::PendingDelivery>> =
        Default::default();
    for p in pending {
        by_sink.entry(p.sink.clone()).or_default().push(p);
    }
    for (key, items) in by_sink {
        let Some(sink) = sinks.iter().find(|s| s.key() == key) else {
            // The sink was removed from the config: nothing can deliver these any more.
            for p in &items {
                store.mark_failed(
                    p.event_id,
                    &key,
                    "sink no longer configured",
                    now + chrono::Duration::days(3650),
                )?;
            }
            continue;
        };
        let batches: Vec<Vec<crate::store::PendingDelivery>> = if cfg.alerts.digest {
            vec![items]
        } else {
            items.into_iter().map(|p| vec![p]).collect()
        };
        for batch in batches {
            let events: Vec<AlertEvent> = batch.iter().map(|p| p.event.clone()).collect();
            match sink.deliver(&events, http).await {
                Ok(()) => {
                    for p in &batch {
                        store.mark_delivered(p.event_id, &key, now)?;
                    }
                }
                Err(e) => {
                    let attempts = batch.iter().map(|p| p.attempts).max().unwrap_or(0);
                    let wait = cfg
                        .alerts
                        .retry_interval
                        .saturating_mul(1u32 << attempts.min(12))
                        .min(MAX_RETRY);
                    let next = now + chrono::Duration::from_std(wait).unwrap_or_default();
                    tracing::warn!(
                        "alert delivery to {} failed (attempt {}): {e}; next try at {}",
                        sink.describe(),
                        attempts + 1,
                        crate::store::ts(next)
                    );
                    for p in &batch {
                        store.mark_failed(p.event_id, &key, &e.to_string(), next)?;
                    }
                }
            }
        }
    }
    Ok(())
}
