//! The pipeline: the one place that sequences the pure core and the I/O shells.
//!
//! `scan`: sources → post files → front matter and citations → normalized links → store.
//! `check`: links → checker → snapshot → classification → state → store.
//!
//! Invariants: a bad post is reported and skipped, never fatal; a post and its citations, and a
//! check with its snapshot and new state, are never split across transactions (batches of up to
//! 64 share one), so an interrupted run leaves a consistent database and the next run finishes
//! the work. Checks run concurrently; one writer thread owns the store.

use chrono::{DateTime, Utc};

use crate::config::Config;
use crate::source;
use crate::store::{StoreError, Writer};

mod archive;
mod check;
mod deliver;
mod scan;

pub use archive::{lookup_archives, LookupReport, Lookups};
pub use check::{check, finish_cut_cycles, finish_own_cycles, CheckRun, CheckStats, CycleKind};
pub use deliver::{
    deliver_due, deliver_due_within, retry_after, DeliveryReport, BEFORE_EXIT, MAX_RETRY,
};
pub use scan::{open_source, post_hash, scan, source_key, OpenSource, ScanReport};

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error(transparent)]
    Source(#[from] source::SourceError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Checker(#[from] crate::checker::CheckerError),
    /// A thread or task panicked: a bug, not bad input. Says which part, for the report.
    #[error("{0} panicked (a bug in citewatch: please report it with the log above)")]
    Panicked(&'static str),
}

/// Runs a scan on the writer (it writes posts in batches as it reads them), from a thread that is
/// not an async task. A busy database is waited out by the writer.
pub fn scan_blocking(
    writer: &Writer,
    cfg: &Config,
    now: DateTime<Utc>,
) -> Result<ScanReport, PipelineError> {
    let cfg = cfg.clone();
    writer.run_blocking("a scan", move |s| scan_retrying(s, &cfg, now))?
}

/// Like [`scan_blocking`], from an async task.
pub async fn scan_async(
    writer: &Writer,
    cfg: &Config,
    now: DateTime<Utc>,
) -> Result<ScanReport, PipelineError> {
    let cfg = cfg.clone();
    writer
        .run("a scan", move |s| scan_retrying(s, &cfg, now))
        .await?
}

/// A scan whose busy-database error is handed to the writer to wait out and retry.
fn scan_retrying(
    store: &mut crate::store::Store,
    cfg: &Config,
    now: DateTime<Utc>,
) -> Result<Result<ScanReport, PipelineError>, StoreError> {
    match scan(store, cfg, now) {
        Err(PipelineError::Store(e)) if crate::store::is_transient(&e) => Err(e),
        other => Ok(other),
    }
}
