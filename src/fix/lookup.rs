//! Archived copies looked up for `citewatch fix`: the Wayback Machine availability API (through
//! [`crate::wayback`], at the configured endpoint), one request at a time and at least
//! `[archive] request_interval` apart, as the archive queue of a run asks. Behind the [`Archive`]
//! trait, so tests answer from memory and no test reaches the internet.

use std::cell::Cell;
use std::time::Duration;

use crate::config::ArchiveConfig;
use crate::wayback::{Closest, Wayback};

/// The longest one look-up may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Where archived copies are looked up.
pub trait Archive {
    /// The copy of `url` closest to `timestamp` (`YYYYMMDDhhmmss`), or `None` when the archive
    /// has none; `Err` when the archive could not be asked.
    fn closest(&self, url: &str, timestamp: &str) -> Result<Option<Closest>, String>;
}

/// The Wayback Machine (or the endpoint configured in its place).
pub struct WaybackArchive {
    runtime: tokio::runtime::Runtime,
    client: Wayback,
    interval: Duration,
    next: Cell<Option<tokio::time::Instant>>,
}

impl WaybackArchive {
    pub fn new(archive: &ArchiveConfig, user_agent: &str) -> Result<WaybackArchive, String> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the look-ups' runtime: {e}"))?;
        let client = Wayback::new(
            archive.wayback_endpoint.clone(),
            user_agent,
            REQUEST_TIMEOUT,
        )
        .map_err(|e| e.to_string())?;
        Ok(WaybackArchive {
            runtime,
            client,
            interval: archive.request_interval,
            next: Cell::new(None),
        })
    }
}

impl Archive for WaybackArchive {
    fn closest(&self, url: &str, timestamp: &str) -> Result<Option<Closest>, String> {
        self.runtime.block_on(async {
            if let Some(at) = self.next.get() {
                tokio::time::sleep_until(at).await;
            }
            let found = self.client.closest(url, timestamp).await;
            self.next
                .set(tokio::time::Instant::now().checked_add(self.interval));
            found.map_err(|e| e.to_string())
        })
    }
}
