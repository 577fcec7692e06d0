//! Archive look-ups after checks: Save Page Now for newly cited links, the closest Wayback Machine
//! copy of bad ones.

use chrono::{DateTime, Utc};
use futures_util::StreamExt;

use crate::store::{Store, StoreError};

/// The most Save Page Now requests one run makes: the service rate-limits anonymous callers.
const SAVE_MAX_PER_RUN: usize = 20;

/// Asks Save Page Now to archive newly cited links that answered well (when enabled), once each,
/// one at a time.
async fn save_new_links(
    store: &mut Store,
    cfg: &crate::config::ArchiveConfig,
    user_agent: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    if !cfg.save_page_now {
        return Ok(());
    }
    let due = store.save_due(SAVE_MAX_PER_RUN)?;
    let Ok(client) = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(60))
        .user_agent(user_agent.to_string())
        .build()
    else {
        return Ok(());
    };
    for (id, url) in due {
        let outcome =
            crate::wayback::save_page_now(&client, &cfg.save_page_now_endpoint, &url).await;
        tracing::info!("save page now {url}: {outcome}");
        store.save_requested(id, &outcome, now)?;
    }
    Ok(())
}

/// How long a "no archived copy" answer is trusted before asking again.
const WAYBACK_RETRY: chrono::Duration = chrono::Duration::days(7);

/// The most look-ups one run makes: the archive is a shared public service.
const WAYBACK_MAX_PER_RUN: usize = 500;

/// After a check run: asks Save Page Now to archive newly cited good links (when enabled), and
/// looks up the closest archived copy of each dead, changed or soft-404 link that has none yet,
/// near the date its citing post was published. Failures are logged and retried next time.
pub async fn lookup_archives(
    store: &mut Store,
    cfg: &crate::config::ArchiveConfig,
    user_agent: &str,
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    save_new_links(store, cfg, user_agent, now).await?;
    if !cfg.wayback {
        return Ok(0);
    }
    let due = store.wayback_due(now - WAYBACK_RETRY)?;
    if due.is_empty() {
        return Ok(0);
    }
    let wayback = match crate::wayback::Wayback::new(cfg.wayback_endpoint.clone(), user_agent) {
        Ok(w) => w,
        Err(e) => {
            tracing::warn!("{e}");
            return Ok(0);
        }
    };
    let results: Vec<_> = futures_util::stream::iter(due.into_iter().take(WAYBACK_MAX_PER_RUN))
        .map(|(id, url, date)| {
            let wayback = &wayback;
            async move {
                let ts = crate::wayback::timestamp_of(&date);
                (id, wayback.closest(&url, &ts).await)
            }
        })
        .buffer_unordered(4)
        .collect()
        .await;
    let mut found = 0;
    for (id, r) in results {
        match r {
            Ok(Some(c)) => {
                found += 1;
                store.save_wayback(id, Some(&c.url), Some(&c.timestamp), now)?;
            }
            Ok(None) => store.save_wayback(id, None, None, now)?,
            Err(e) => tracing::warn!("{e}"),
        }
    }
    Ok(found)
}
