//! The one writer: a thread that owns the database's write connection and runs the write commands
//! sent to it, one after another. Everything that writes (scans, checks, confirmations, the outbox,
//! archive look-ups) holds a cloneable [`Writer`] handle; readers open their own connections.
//!
//! Invariants: write transactions start `IMMEDIATE`, so a lock held by another process (a `db
//! compact`, a second citewatch) is waited for by SQLite's busy timeout instead of failing at
//! once; a busy database is then retried with backoff and logged, and so is a full one where the
//! [`Patience`] says so (the daemon waits for space, a one-shot command stops within seconds); a
//! panic in a command is reported to its caller as an error and the writer goes on. When the last
//! handle is dropped the thread finishes the commands already sent, folds the write-ahead log back
//! into the database file and closes it, and the drop waits for that: the `.db` file alone holds
//! everything once a command or the daemon has exited.

use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use super::{Result, Store, StoreError};

/// One command for the writer thread.
type Job = Box<dyn FnOnce(&mut Store) + Send>;

/// The first wait before a busy or full database is tried again; doubled up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(200);
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// How long one command keeps retrying a busy or full database before its caller gets the error.
/// Each try already waits out SQLite's busy timeout, so this is the total a lock may last.
pub const RETRY_FOR: Duration = Duration::from_secs(15 * 60);

/// How long a writer waits out a database that is busy (locked by another connection: a `db
/// compact`, a second citewatch) and one that is full (no space left on its disk).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Patience {
    pub busy: Duration,
    pub full: Duration,
}

impl Patience {
    /// The daemon: a lock or a full disk passes, and nobody is waiting at a terminal.
    pub const SERVICE: Patience = Patience {
        busy: RETRY_FOR,
        full: RETRY_FOR,
    };
    /// A one-shot command (`run`, `check`, `scan`, `accept`, `fix`): a lock is waited out as by
    /// the daemon, but a full disk stops the command at once ("database or disk is full"), since
    /// someone is waiting for it and must free space first. What was committed stays.
    pub const COMMAND: Patience = Patience {
        busy: RETRY_FOR,
        full: Duration::ZERO,
    };
}

/// A handle to the writer thread. Cheap to clone; the thread ends when the last handle is dropped
/// (after finishing the commands already sent), and that drop waits for it to close the database.
#[derive(Clone)]
pub struct Writer {
    // Declared first, so it is dropped before `_closer`: the thread sees its channel closed.
    tx: mpsc::Sender<Job>,
    path: PathBuf,
    alive: Arc<AtomicU64>,
    patience: Patience,
    /// Held for its `Drop`: the last handle waits for the thread to close the database.
    _closer: Arc<Closer>,
}

/// Joins the writer thread when the last [`Writer`] handle goes: the thread then checkpoints the
/// write-ahead log into the database file and closes its connection before the process exits.
/// The wait is bounded ([`CLOSE_WITHIN`]): a close that hangs (a stalled disk) is left behind
/// with a warning, and what it did not fold stays in the log, which the next start folds.
struct Closer {
    thread: Mutex<Option<(JoinHandle<()>, mpsc::Receiver<()>)>>,
    limit: Duration,
}

/// How long the last [`Writer`] handle waits for the writer to finish and close the database.
const CLOSE_WITHIN: Duration = Duration::from_secs(60);

impl Closer {
    /// `ended` disconnects when the thread ends (it holds the sender until its last statement).
    fn new(handle: JoinHandle<()>, ended: mpsc::Receiver<()>, limit: Duration) -> Closer {
        Closer {
            thread: Mutex::new(Some((handle, ended))),
            limit,
        }
    }
}

impl Drop for Closer {
    fn drop(&mut self) {
        let thread = match self.thread.get_mut() {
            Ok(h) => h.take(),
            Err(poisoned) => poisoned.into_inner().take(),
        };
        let Some((h, ended)) = thread else {
            return;
        };
        // A handle dropped by a command running on the writer thread itself cannot wait for
        // that thread; it ends on its own once the command returns.
        if h.thread().id() == std::thread::current().id() {
            return;
        }
        match ended.recv_timeout(self.limit) {
            Err(mpsc::RecvTimeoutError::Timeout) => tracing::warn!(
                "the database writer did not finish closing within {:?}; what it did not fold \
                 back stays in the write-ahead log beside the database, and the next start folds it",
                self.limit
            ),
            // The thread is at its end (it dropped its sender): the join is immediate.
            _ => {
                let _ = h.join();
            }
        }
    }
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer").field("path", &self.path).finish()
    }
}

/// Whether an error is a database that is busy (locked by someone else) or full: conditions that
/// pass, worth waiting out.
pub fn is_transient(e: &StoreError) -> bool {
    is_busy(e) || is_full(e)
}

/// Whether an error is a database locked by another connection.
pub fn is_busy(e: &StoreError) -> bool {
    matches!(
        sqlite_code(e),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

/// Whether an error is a full database or disk.
pub fn is_full(e: &StoreError) -> bool {
    matches!(e, StoreError::Full { .. })
        || matches!(sqlite_code(e), Some(rusqlite::ErrorCode::DiskFull))
}

fn sqlite_code(e: &StoreError) -> Option<rusqlite::ErrorCode> {
    match e {
        StoreError::Sql(rusqlite::Error::SqliteFailure(f, _)) => Some(f.code),
        _ => None,
    }
}

impl Writer {
    /// Opens (creating and migrating if needed) the database and starts its writer thread, with
    /// the daemon's patience.
    pub fn start(path: &Path) -> Result<Writer> {
        Writer::start_with(path, Patience::SERVICE)
    }

    /// Like [`Writer::start`], waiting out a busy or full database as `patience` says.
    pub fn start_with(path: &Path, patience: Patience) -> Result<Writer> {
        let mut store = Store::open(path)?;
        // The write-ahead log is folded back by a thread of its own (`checkpoints`), so a
        // checkpoint's copying and syncing never holds up a commit (a first run of 5,000 links
        // spent half a second of its writer in them); the writer folds it itself only when it
        // grew far past that thread's mark (the thread cannot keep up, or was refused).
        let (poke, poked) = mpsc::sync_channel::<()>(1);
        let folder_path = path.to_path_buf();
        let folder = std::thread::Builder::new()
            .name("citewatch-wal".into())
            .spawn(move || checkpoints(&folder_path, poked))
            .map_err(|e| StoreError::Writer(format!("cannot start the checkpoint thread: {e}")))?;
        store
            .conn
            .wal_hook(Some(move |wal: &mut rusqlite::hooks::Wal, pages: i32| {
                let pages = u64::try_from(pages).unwrap_or(0);
                if pages >= WAL_FOLD_ON_COMMIT {
                    // As SQLite's own automatic checkpoint does, a fold that cannot be made now
                    // (the checkpoint thread or another process holds the log) is not the
                    // commit's error: an error returned here would fail the commit that is done.
                    if let Err(e) = wal.checkpoint() {
                        tracing::debug!("checkpoint on commit: {e}");
                    }
                } else if pages >= WAL_FOLD_PAGES {
                    // Already poked and not yet folded: nothing more to say.
                    let _ = poke.try_send(());
                }
                Ok(())
            }))?;
        let (tx, rx) = mpsc::channel::<Job>();
        let (ending, ended) = mpsc::channel::<()>();
        let handle = std::thread::Builder::new()
            .name("citewatch-writer".into())
            .spawn(move || {
                // Dropped last, as the thread ends: the closer's sign that it may join.
                let _ending = ending;
                let mut store = store;
                for job in rx {
                    job(&mut store);
                }
                // The hook goes with its end of the channel: the checkpoint thread ends (at most
                // one checkpoint in flight), then the last fold, with nothing beside it, leaves
                // the database file whole.
                let _ = store
                    .conn
                    .wal_hook(None::<fn(&mut rusqlite::hooks::Wal, i32) -> rusqlite::Result<()>>);
                let _ = folder.join();
                store.close();
            })
            .map_err(|e| StoreError::Writer(format!("cannot start the writer thread: {e}")))?;
        Ok(Writer {
            tx,
            path: path.to_path_buf(),
            alive: Arc::new(AtomicU64::new(0)),
            patience,
            _closer: Arc::new(Closer::new(handle, ended, CLOSE_WITHIN)),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A counter bumped whenever the writer finishes a command or waits out a lock: a sign of life
    /// for the daemon's stall detection.
    pub fn activity(&self) -> Arc<AtomicU64> {
        self.alive.clone()
    }

    /// Opens a read connection of its own on the same database.
    pub fn reader(&self) -> Result<Store> {
        Store::open_reader(&self.path)
    }

    /// Runs `f` on a read connection of its own, on a blocking thread: queries never wait for the
    /// writer (WAL) and never hold up the async workers.
    pub async fn read<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Store) -> Result<T> + Send + 'static,
    {
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || f(&Store::open_reader(&path)?))
            .await
            .map_err(|e| {
                if e.is_panic() {
                    StoreError::Panicked("a query")
                } else {
                    StoreError::WriterGone
                }
            })?
    }

    /// Runs `f` on the writer thread and waits for its result. `f` may run more than once: when
    /// the database is busy or full its transaction is rolled back and `f` is tried again.
    pub async fn run<T, F>(&self, what: &'static str, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnMut(&mut Store) -> Result<T> + Send + 'static,
    {
        let (reply, rx) = tokio::sync::oneshot::channel();
        self.send(what, f, move |r| {
            let _ = reply.send(r);
        })?;
        rx.await.map_err(|_| StoreError::WriterGone)?
    }

    /// Like [`Writer::run`], for threads that are not async tasks (the scan's threads, the CLI).
    pub fn run_blocking<T, F>(&self, what: &'static str, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnMut(&mut Store) -> Result<T> + Send + 'static,
    {
        let (reply, rx) = mpsc::sync_channel(1);
        self.send(what, f, move |r| {
            let _ = reply.send(r);
        })?;
        rx.recv().map_err(|_| StoreError::WriterGone)?
    }

    fn send<T, F>(
        &self,
        what: &'static str,
        mut f: F,
        reply: impl FnOnce(Result<T>) + Send + 'static,
    ) -> Result<()>
    where
        T: Send + 'static,
        F: FnMut(&mut Store) -> Result<T> + Send + 'static,
    {
        let alive = self.alive.clone();
        let patience = self.patience;
        let path = self.path.clone();
        let job: Job = Box::new(move |store: &mut Store| {
            let started = std::time::Instant::now();
            let mut wait = FIRST_BACKOFF;
            let mut tries = 0u32;
            let result = loop {
                tries += 1;
                let r = std::panic::catch_unwind(AssertUnwindSafe(|| f(store)))
                    .unwrap_or_else(|_| Err(StoreError::Panicked(what)));
                alive.fetch_add(1, Ordering::Relaxed);
                let waited = started.elapsed();
                match r {
                    Err(e) if is_busy(&e) && waited < patience.busy => {
                        tracing::warn!(
                            "database busy while writing {what} ({e}); try {tries}, again in {wait:?}"
                        );
                        pause(wait);
                        wait = (wait * 2).min(MAX_BACKOFF);
                    }
                    Err(e) if is_full(&e) && waited < patience.full => {
                        tracing::warn!(
                            "database or disk full while writing {what}; waiting for space (try {tries}, again in {wait:?})"
                        );
                        pause(wait);
                        wait = (wait * 2).min(MAX_BACKOFF);
                    }
                    Err(e) if is_full(&e) => break Err(StoreError::Full { path: path.clone() }),
                    other => break other,
                }
            };
            reply(result);
        });
        self.tx.send(job).map_err(|_| StoreError::WriterGone)
    }
}

/// Pages of write-ahead log past which the checkpoint thread folds it back into the database
/// file: SQLite's own default mark.
const WAL_FOLD_PAGES: u64 = 1000;

/// Pages past which the writer folds the log itself on commit, as a safety net: the checkpoint
/// thread normally keeps it far below.
const WAL_FOLD_ON_COMMIT: u64 = 16 * WAL_FOLD_PAGES;

/// The checkpoint thread: at each poke (a commit left the log past [`WAL_FOLD_PAGES`]) folds
/// what it can (`PASSIVE`: never waits for a reader or the writer, which go on meanwhile). Ends
/// when the writer lets go of its end of `poked`. A failure is logged and tried at the next
/// poke: the writer's own fold on commit is the safety net.
fn checkpoints(path: &Path, poked: mpsc::Receiver<()>) {
    use rusqlite::OpenFlags;
    let conn = match rusqlite::Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    ) {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(
                "no checkpoint thread for {} ({e}); the writer folds the log itself",
                path.display()
            );
            return;
        }
    };
    for () in poked {
        if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
            tracing::debug!("checkpoint of {}: {e}", path.display());
        }
    }
}

/// The writer thread waits out a busy database; nothing else runs on it meanwhile, and that is the
/// point: no write could succeed anyway.
#[allow(clippy::disallowed_methods)]
fn pause(d: Duration) {
    std::thread::sleep(d);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A thread with the closer's signal: it ends when `release` is sent to, or dropped.
    fn thread_until_released(limit: Duration) -> (Closer, mpsc::Sender<()>, Arc<AtomicU64>) {
        let (release, released) = mpsc::channel::<()>();
        let (ending, ended) = mpsc::channel::<()>();
        let finished = Arc::new(AtomicU64::new(0));
        let done = finished.clone();
        let handle = std::thread::spawn(move || {
            let _ending = ending;
            let _ = released.recv();
            done.store(1, Ordering::SeqCst);
        });
        (Closer::new(handle, ended, limit), release, finished)
    }

    /// The last handle waits for the writer to finish closing the database.
    #[test]
    fn the_last_handle_waits_for_the_writer_to_close() {
        let (closer, release, finished) = thread_until_released(Duration::from_secs(30));
        let (_never, rx) = mpsc::channel::<()>();
        let releaser = std::thread::spawn(move || {
            // Released 100 ms from now, while the drop below waits.
            let _ = rx.recv_timeout(Duration::from_millis(100));
            let _ = release.send(());
        });
        drop(closer);
        assert_eq!(
            finished.load(Ordering::SeqCst),
            1,
            "the drop waited for the thread"
        );
        releaser.join().unwrap();
    }

    /// A writer that does not finish closing (a stalled disk) holds the exit for at most the
    /// closer's limit.
    #[test]
    fn a_writer_that_never_closes_holds_the_exit_for_at_most_its_limit() {
        let (closer, release, finished) = thread_until_released(Duration::from_millis(200));
        let t = std::time::Instant::now();
        drop(closer);
        assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
        assert_eq!(
            finished.load(Ordering::SeqCst),
            0,
            "left behind, still running"
        );
        drop(release);
    }

    /// The write-ahead log is folded back while the writer lives (by the checkpoint thread, the
    /// writer's own commits never waiting for it): 10 MiB written in 40 commits reach the
    /// database file before any handle is dropped.
    #[test]
    fn the_log_is_folded_back_while_the_writer_lives() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.db");
        let w = Writer::start(&path).unwrap();
        let db_size = || std::fs::metadata(&path).map_or(0, |m| m.len());
        let before = db_size();
        for i in 0..40 {
            w.run_blocking("a blob", move |s| {
                // Incompressible and distinct: 256 KiB of pages per commit.
                let blob: Vec<u8> = (0..256 * 1024u32)
                    .map(|j| (j.wrapping_mul(2_654_435_761).wrapping_add(i) >> 13) as u8)
                    .collect();
                s.conn
                    .execute_batch("CREATE TABLE IF NOT EXISTS t (x BLOB)")
                    .and_then(|()| s.conn.execute("INSERT INTO t VALUES (?1)", [blob]))
                    .map(|_| ())
                    .map_err(StoreError::from)
            })
            .unwrap();
        }
        // The checkpoint thread works beside the writer: wait for it (bounded), not for luck.
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        let (_never, tick) = mpsc::channel::<()>();
        while db_size() < before + 4 * 1024 * 1024 && std::time::Instant::now() < deadline {
            let _ = tick.recv_timeout(Duration::from_millis(20));
        }
        assert!(
            db_size() >= before + 4 * 1024 * 1024,
            "the log was not folded back while the writer lived: database file {} bytes",
            db_size()
        );
        drop(w);
    }

    #[test]
    fn commands_run_in_order_and_a_panic_is_an_error_not_the_end() {
        let dir = tempfile::tempdir().unwrap();
        let w = Writer::start(&dir.path().join("x.db")).unwrap();
        let r: Result<()> = w.run_blocking("a panic", |_| panic!("boom"));
        assert!(matches!(r, Err(StoreError::Panicked("a panic"))), "{r:?}");
        let n = w
            .run_blocking("a count", |s| s.stats().map(|st| st.links))
            .unwrap();
        assert_eq!(n, 0, "the writer goes on after a panicking command");
    }

    /// Regression: `db compact` beside a run made it exit with "database is locked": a deferred
    /// transaction that read and then wrote got `SQLITE_BUSY` at once when another connection had
    /// written meanwhile. Write transactions now start `IMMEDIATE` (waiting for the lock) and a
    /// busy database is retried.
    #[test]
    fn regression_a_write_waits_for_another_connections_lock() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.db");
        let w = Writer::start(&path).unwrap();
        // Another connection takes the write lock and changes the database (as VACUUM does).
        let other = rusqlite::Connection::open(&path).unwrap();
        other
            .execute_batch("BEGIN IMMEDIATE; INSERT INTO source_files VALUES ('a', 'x', 'now')")
            .unwrap();
        let (done_tx, done_rx) = mpsc::channel();
        let (started_tx, started_rx) = mpsc::channel();
        let w2 = w.clone();
        std::thread::spawn(move || {
            // Reads, then writes, in one transaction: the pattern that failed.
            let r = w2.run_blocking("a read-then-write", move |s| {
                let _ = started_tx.send(());
                let tx = s.write_tx()?;
                let began = std::time::Instant::now();
                let n: i64 = tx.query_row("SELECT COUNT(*) FROM source_files", [], |r| r.get(0))?;
                tx.execute("INSERT INTO source_files VALUES ('b', ?1, 'now')", [n])?;
                tx.commit()?;
                Ok((n, began))
            });
            let _ = done_tx.send(r.map_err(|e| e.to_string()));
        });
        // Waited for, not slept for: the command is running on the writer thread.
        started_rx
            .recv_timeout(Duration::from_secs(60))
            .expect("the write started");
        assert!(
            done_rx.recv_timeout(Duration::from_millis(300)).is_err(),
            "the write waits while the lock is held"
        );
        let committing = std::time::Instant::now();
        other.execute_batch("COMMIT").unwrap();
        let (n, began) = done_rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap()
            .unwrap();
        assert_eq!(n, 1, "it saw the other connection's row");
        // Order, not luck: it started before the commit and its transaction began after it.
        assert!(
            began >= committing,
            "its transaction began only once the lock was released"
        );
    }
}
