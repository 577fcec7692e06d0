//! Delivering the outbox: every due delivery is sent to its sink, sinks concurrently, each attempt
//! within its own timeout; the outcome of each attempt is recorded as it ends. A failed delivery
//! waits `retry_interval`, doubled per attempt and at most an hour, counted from the end of the
//! attempt. Deliveries owed to a sink that left the configuration are marked `dropped`.
//!
//! Invariant: at least once, never elsewhere. A delivery is marked only after its sink said yes;
//! a crash in between sends the same event id again, which receivers deduplicate on.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::alert::sink::{self, Sink};
use crate::alert::AlertEvent;
use crate::clock::Clock;
use crate::config::AlertsConfig;
use crate::store::{PendingDelivery, StoreError, Writer};

/// The longest wait between two delivery attempts.
pub const MAX_RETRY: Duration = Duration::from_secs(3600);

/// What one round of delivery did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct DeliveryReport {
    pub delivered: usize,
    pub failed: usize,
    pub dropped: usize,
    /// When the next pending delivery is due, if any is left.
    pub next_due: Option<DateTime<Utc>>,
}

/// The wait before the next attempt after `attempts` failed ones (this one included).
pub fn retry_after(first: Duration, attempts: u32) -> Duration {
    first
        .saturating_mul(1u32 << attempts.saturating_sub(1).min(16))
        .min(MAX_RETRY)
}

/// How long `run` and `check` deliver the alerts they caused before exiting (README: "at most a
/// minute"); what is not delivered by then waits in the outbox.
pub const BEFORE_EXIT: Duration = Duration::from_secs(60);

/// [`deliver_due`] cut off after `limit`: `None` when the limit came first. An attempt cut off
/// is not recorded, so its delivery stays pending for the next run or the daemon.
pub async fn deliver_due_within(
    limit: Duration,
    writer: &Writer,
    alerts: &AlertsConfig,
    http: &reqwest::Client,
    clock: &Arc<dyn Clock>,
    progress: &(dyn Fn() + Send + Sync),
) -> Option<Result<DeliveryReport, StoreError>> {
    tokio::time::timeout(limit, deliver_due(writer, alerts, http, clock, progress))
        .await
        .ok()
}

/// Sends every delivery due now. `progress` is called after each attempt (the daemon's sign of
/// life). Only store errors are errors; a sink that fails is recorded and retried later.
pub async fn deliver_due(
    writer: &Writer,
    alerts: &AlertsConfig,
    http: &reqwest::Client,
    clock: &Arc<dyn Clock>,
    progress: &(dyn Fn() + Send + Sync),
) -> Result<DeliveryReport, StoreError> {
    let sinks = sink::sinks_from(alerts);
    let keys: Vec<String> = sinks.iter().map(|s| s.key.clone()).collect();
    let now = clock.now();
    let dropped = writer
        .run("dropped deliveries", move |s| s.drop_deliveries(&keys, now))
        .await?;
    if dropped > 0 {
        tracing::warn!(
            "{dropped} alert deliveries dropped: their sink is no longer configured (see `citewatch alerts`)"
        );
    }
    let pending = writer.read(move |s| s.pending_deliveries(now)).await?;
    let mut by_sink: BTreeMap<String, Vec<PendingDelivery>> = BTreeMap::new();
    for p in pending {
        by_sink.entry(p.sink.clone()).or_default().push(p);
    }
    let rounds = by_sink.into_iter().filter_map(|(key, items)| {
        let sink = sinks.iter().find(|s| s.key == key)?.clone();
        Some(deliver_to(
            writer, sink, items, alerts, http, clock, progress,
        ))
    });
    let mut report = DeliveryReport {
        dropped,
        ..DeliveryReport::default()
    };
    for r in futures_util::future::join_all(rounds).await {
        let (delivered, failed) = r?;
        report.delivered += delivered;
        report.failed += failed;
    }
    report.next_due = writer.read(|s| s.next_delivery_due()).await?;
    Ok(report)
}

/// One sink's due deliveries, one message per event (or one digest), one after another.
async fn deliver_to(
    writer: &Writer,
    sink: Sink,
    items: Vec<PendingDelivery>,
    alerts: &AlertsConfig,
    http: &reqwest::Client,
    clock: &Arc<dyn Clock>,
    progress: &(dyn Fn() + Send + Sync),
) -> Result<(usize, usize), StoreError> {
    let batches: Vec<Vec<PendingDelivery>> = if alerts.digest {
        vec![items]
    } else {
        items.into_iter().map(|p| vec![p]).collect()
    };
    let (mut delivered, mut failed) = (0, 0);
    for batch in batches {
        let events: Vec<AlertEvent> = batch.iter().map(|p| p.event.clone()).collect();
        let outcome = sink.deliver(&events, http).await;
        let ended = clock.now();
        progress();
        let ids: Vec<i64> = batch.iter().map(|p| p.event_id).collect();
        let key = sink.key.clone();
        match outcome {
            Ok(()) => {
                delivered += batch.len();
                writer
                    .run("a delivery", move |s| {
                        ids.iter()
                            .try_for_each(|id| s.mark_delivered(*id, &key, ended))
                    })
                    .await?;
            }
            Err(e) => {
                failed += batch.len();
                let attempts = batch.iter().map(|p| p.attempts).max().unwrap_or(0) + 1;
                let wait = retry_after(alerts.retry_interval, attempts);
                let next = ended + chrono::Duration::from_std(wait).unwrap_or_default();
                tracing::warn!(
                    "alert delivery to {} failed (attempt {attempts}): {e}; next try at {}",
                    sink.describe(),
                    crate::store::ts(next)
                );
                let error = e.to_string();
                writer
                    .run("a failed delivery", move |s| {
                        ids.iter()
                            .try_for_each(|id| s.mark_failed(*id, &key, &error, next))
                    })
                    .await?;
            }
        }
    }
    Ok((delivered, failed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_double_from_the_first_wait_and_stop_at_an_hour() {
        let first = Duration::from_secs(60);
        assert_eq!(retry_after(first, 1), Duration::from_secs(60));
        assert_eq!(retry_after(first, 2), Duration::from_secs(120));
        assert_eq!(retry_after(first, 4), Duration::from_secs(480));
        assert_eq!(retry_after(first, 7), MAX_RETRY);
        assert_eq!(retry_after(first, u32::MAX), MAX_RETRY);
        assert_eq!(retry_after(Duration::ZERO, 3), Duration::ZERO);
    }
}
