//! Archive look-ups beside the checks: the closest Wayback Machine copy of links in a bad state
//! (confirmed ones in the daemon; bad now for `run`), and Save Page Now for newly cited good links
//! when enabled. They run from a queue of their own, politely (one request per
//! `archive.request_interval`), within a time budget; what is left waits for the next run. A
//! failing archive is one summary line and stops the queue for this run, not a line per link.

use std::collections::HashSet;
use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::clock::Clock;
use crate::config::ArchiveConfig;
use crate::store::{StoreError, Writer};
use crate::wayback::Wayback;

/// How long a "no archived copy" answer is trusted before asking again.
const WAYBACK_RETRY: chrono::Duration = chrono::Duration::days(7);

/// The most Save Page Now requests one run makes: the service rate-limits anonymous callers.
const SAVE_MAX_PER_RUN: usize = 20;

/// After this many failures in a row the archive is taken to be failing for this run; one that
/// cannot be reached at all (no name, no connection) is given up at its first failure, so an
/// offline machine pays one failed connection per run, not a paced series of them.
const GIVE_UP_AFTER: u32 = 3;

/// The longest one request to the archive may take.
const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Links asked for at once from the store.
const DUE_PAGE: usize = 50;

/// What the look-ups of one run did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct LookupReport {
    pub looked_up: usize,
    pub found: usize,
    pub saved: usize,
    pub failed: usize,
    /// The run stopped early (budget, stop, or the archive failing); the rest waits.
    pub cut_short: bool,
}

/// Who asks and how.
#[derive(Clone)]
pub struct Lookups {
    pub writer: Writer,
    pub archive: ArchiveConfig,
    pub user_agent: String,
    pub clock: Arc<dyn Clock>,
    /// Only links whose bad state is confirmed (the daemon); else every link bad now (`run`).
    pub confirmed_only: bool,
}

/// Looks up archived copies until nothing is due, `stop` is cancelled, or `budget` has passed
/// since `checks_done` was cancelled (the checks this queue runs beside are finished); while the
/// checks run, links that turn bad are picked up as they are recorded.
pub async fn lookup_archives(
    l: &Lookups,
    checks_done: &CancellationToken,
    budget: std::time::Duration,
    stop: &CancellationToken,
) -> Result<LookupReport, StoreError> {
    let mut report = LookupReport::default();
    if !l.archive.wayback && !l.archive.save_page_now {
        return Ok(report);
    }
    let wayback = match Wayback::new(
        l.archive.wayback_endpoint.clone(),
        &l.user_agent,
        REQUEST_TIMEOUT,
    ) {
        Ok(w) => w,
        Err(e) => {
            tracing::warn!("{e}");
            return Ok(report);
        }
    };
    let mut pace = Pace::new(l.archive.request_interval);
    let mut tried: HashSet<i64> = HashSet::new();
    let mut failures_in_row = 0u32;
    let mut last_error = String::new();
    let mut deadline: Option<tokio::time::Instant> = None;
    'queue: loop {
        if !l.archive.wayback {
            break;
        }
        let stale = l.clock.now() - WAYBACK_RETRY;
        let confirmed_only = l.confirmed_only;
        let due: Vec<(i64, String, String)> = l
            .writer
            .read(move |s| s.wayback_due(stale, confirmed_only, DUE_PAGE + 1000))
            .await?
            .into_iter()
            .filter(|(id, _, _)| !tried.contains(id))
            .take(DUE_PAGE)
            .collect();
        if due.is_empty() {
            if checks_done.is_cancelled() {
                break;
            }
            // The checks are still running: look again when they are done or in a second.
            tokio::select! {
                _ = checks_done.cancelled() => {}
                _ = tokio::time::sleep(std::time::Duration::from_secs(1)) => {}
                _ = stop.cancelled() => { report.cut_short = true; break; }
            }
            continue;
        }
        for (id, url, date) in due {
            if checks_done.is_cancelled() && deadline.is_none() {
                deadline = Some(after(budget));
            }
            // While the checks run there is no limit but theirs.
            let limit = deadline.unwrap_or_else(|| after(FOREVER));
            tokio::select! {
                _ = pace.wait() => {}
                _ = tokio::time::sleep_until(limit) => { report.cut_short = true; break 'queue; }
                _ = stop.cancelled() => { report.cut_short = true; break 'queue; }
            }
            tried.insert(id);
            let ts = crate::wayback::timestamp_of(&date);
            report.looked_up += 1;
            let found = tokio::select! {
                r = wayback.closest(&url, &ts) => r,
                _ = tokio::time::sleep_until(limit) => { report.cut_short = true; break 'queue; }
                _ = stop.cancelled() => { report.cut_short = true; break 'queue; }
            };
            match found {
                Ok(copy) => {
                    failures_in_row = 0;
                    report.found += usize::from(copy.is_some());
                    let now = l.clock.now();
                    l.writer
                        .run("an archived copy", move |s| {
                            s.save_wayback(
                                id,
                                copy.as_ref().map(|c| c.url.as_str()),
                                copy.as_ref().map(|c| c.timestamp.as_str()),
                                now,
                            )
                        })
                        .await?;
                }
                Err(e) => {
                    report.failed += 1;
                    failures_in_row += 1;
                    last_error = e.to_string();
                    tracing::debug!("{e}");
                    if failures_in_row >= GIVE_UP_AFTER || e.is_unreachable() {
                        report.cut_short = true;
                        break 'queue;
                    }
                }
            }
        }
    }
    if l.archive.save_page_now && !report.cut_short {
        save_new_links(l, &wayback, &mut pace, &mut report, stop).await?;
    }
    if report.failed > 0 {
        tracing::warn!(
            "archive look-ups: {} of {} failed (last: {last_error}){}",
            report.failed,
            report.looked_up,
            if report.cut_short {
                "; the rest wait for the next run"
            } else {
                ""
            }
        );
    }
    Ok(report)
}

/// Asks Save Page Now to archive good, cited links never sent to it, once each.
async fn save_new_links(
    l: &Lookups,
    wayback: &Wayback,
    pace: &mut Pace,
    report: &mut LookupReport,
    stop: &CancellationToken,
) -> Result<(), StoreError> {
    let due = l.writer.read(|s| s.save_due(SAVE_MAX_PER_RUN)).await?;
    for (id, url) in due {
        tokio::select! {
            _ = pace.wait() => {}
            _ = stop.cancelled() => return Ok(()),
        }
        let outcome = wayback
            .save_page_now(&l.archive.save_page_now_endpoint, &url)
            .await;
        tracing::info!("save page now {url}: {outcome}");
        report.saved += 1;
        let now = l.clock.now();
        l.writer
            .run("a save request", move |s| {
                s.save_requested(id, &outcome, now)
            })
            .await?;
    }
    Ok(())
}

/// Far enough to mean "no limit".
const FOREVER: std::time::Duration = std::time::Duration::from_secs(10 * 365 * 86400);

/// The instant `d` from now (or far in the future when that does not fit).
fn after(d: std::time::Duration) -> tokio::time::Instant {
    let now = tokio::time::Instant::now();
    now.checked_add(d)
        .or_else(|| now.checked_add(FOREVER))
        .unwrap_or(now)
}

/// At least `interval` between the starts of two requests.
struct Pace {
    interval: std::time::Duration,
    next: tokio::time::Instant,
}

impl Pace {
    fn new(interval: std::time::Duration) -> Pace {
        Pace {
            interval,
            next: tokio::time::Instant::now(),
        }
    }

    async fn wait(&mut self) {
        tokio::time::sleep_until(self.next).await;
        self.next = after(self.interval);
    }
}
