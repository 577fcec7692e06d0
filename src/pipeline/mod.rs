//! The pipeline: the one place that sequences the pure core and the I/O shells.
//!
//! `scan`: sources → post files → front matter and citations → normalized links → store.
//! `check`: links → checker → snapshot → classification → state → store.
//!
//! Invariants: a bad post is reported and skipped, never fatal; a post and its citations, and a
//! check with its snapshot and new state, are never split across transactions (batches of up to
//! 64 share one), so an interrupted run leaves a consistent database and the next run finishes
//! the work. Checks run concurrently; one writer thread owns the store.

use crate::source;
use crate::store::StoreError;

mod archive;
mod check;
mod scan;

pub use archive::lookup_archives;
pub use check::{check, CheckStats};
pub use scan::{scan, source_key, ScanReport};

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error(transparent)]
    Source(#[from] source::SourceError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Checker(#[from] crate::checker::CheckerError),
    #[error("the database writer stopped unexpectedly")]
    WriterGone,
    /// A thread or task panicked: a bug, not bad input. Says which part, for the report.
    #[error("{0} panicked (a bug in citewatch: please report it with the log above)")]
    Panicked(&'static str),
}
