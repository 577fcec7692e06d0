//! The store: the SQLite shell. Posts, citations, links with their current state, every check, and
//! the snapshot archive, in one database file.
//!
//! Invariants: the schema comes only from `schema.sql` through numbered migrations
//! (`PRAGMA user_version`); a database newer than this binary is refused. Every write that belongs
//! together (one post's citations, one check with its snapshot and new state) is one transaction,
//! so `kill -9` at any moment leaves a consistent database. WAL mode lets readers (the CLI) query
//! while a run writes.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use rusqlite::types::Type;
use rusqlite::{params, Connection, OptionalExtension, Transaction};

use crate::state::{Current, State};

pub use crate::rows::*;

mod alerts;
mod archive;
mod checks;
mod cycles;
pub mod fix;
mod query;
mod scan;
mod sites;
mod web;
mod writer;

pub use cycles::{Confirming, CycleEnd, OpenCycle, Recorded, STALE_AFTER};
pub use query::{QuoteJudge, QuoteRow};
pub use scan::LinkIds;
pub use writer::{is_busy, is_full, is_transient, Patience, Writer};

/// The schema and its migrations, embedded in the binary.
pub const SCHEMA: &str = include_str!("../../schema.sql");

/// How long a connection waits for another writer before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open database {path}: {source}")]
    Open {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("database {path} has schema version {found}, newer than this citewatch understands ({known}); upgrade citewatch or use another --db")]
    TooNew {
        path: PathBuf,
        found: i64,
        known: i64,
    },
    #[error("database {path} is not a citewatch database or is damaged: {source}")]
    NotOurs {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("database {path} does not exist; run `citewatch scan` or `citewatch run` first")]
    Missing { path: PathBuf },
    /// The file at the database path is not one citewatch can use; it is left as it is.
    #[error("{path} is {what}; citewatch leaves it untouched: restore it from a backup (`citewatch db backup`), or move it away to start a new database")]
    Unusable { path: PathBuf, what: String },
    #[error("database or disk is full ({path}); free some space and run the command again (what was already written is kept)")]
    Full { path: PathBuf },
    #[error("database error: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("schema.sql is malformed: {0}")]
    Schema(String),
    #[error("{0}")]
    Writer(String),
    #[error("the database writer stopped unexpectedly")]
    WriterGone,
    /// A bug, not bad input: says what was being written.
    #[error("writing {0} panicked (a bug in citewatch: please report it with the log above)")]
    Panicked(&'static str),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Formats a time the way the database stores it (RFC 3339, UTC, seconds): [`crate::rows::stamp`],
/// the format every report prints a time read back in.
pub fn ts(t: DateTime<Utc>) -> String {
    crate::rows::stamp(t)
}

/// A stored time (RFC 3339) as read back: the one place the store parses one. A damaged value
/// (edited by hand, written by another program) reads as the Unix epoch, so one bad row neither
/// fails a query (`status`, the dashboard) nor stops the daemon; reports then print it as
/// `1970-01-01T00:00:00Z`, which says it is not a real time. Never panics.
fn parse_stored(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_default()
}

/// The stored time in column `i` of a row (see [`parse_stored`] for a damaged one). A NULL or a
/// value that is not text is an error, as reading it as a `String` was.
pub(crate) fn time_col(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<DateTime<Utc>> {
    let text = r
        .get_ref(i)?
        .as_str()
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(i, Type::Text, Box::new(e)))?;
    Ok(parse_stored(text))
}

/// The stored time in column `i`, or `None` when it is NULL.
pub(crate) fn opt_time_col(
    r: &rusqlite::Row<'_>,
    i: usize,
) -> rusqlite::Result<Option<DateTime<Utc>>> {
    let text = r
        .get_ref(i)?
        .as_str_or_null()
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(i, Type::Text, Box::new(e)))?;
    Ok(text.map(parse_stored))
}

/// The migration blocks of `schema.sql`, numbered from 1. A block starts at a line that is
/// exactly `-- migration N`.
fn migrations() -> Result<Vec<(i64, String)>> {
    let mut out: Vec<(i64, String)> = Vec::new();
    for line in SCHEMA.lines() {
        let marker = line
            .strip_prefix("-- migration ")
            .and_then(|n| n.trim().parse::<i64>().ok());
        match (marker, out.last_mut()) {
            (Some(n), _) => out.push((n, String::new())),
            (None, Some((_, body))) => {
                body.push_str(line);
                body.push('\n');
            }
            (None, None) => {}
        }
    }
    for (i, (n, _)) in out.iter().enumerate() {
        if *n != i as i64 + 1 {
            return Err(StoreError::Schema(format!("migration {n} out of order")));
        }
    }
    Ok(out)
}

/// The schema version this binary writes.
pub fn schema_version() -> i64 {
    migrations().map(|m| m.len() as i64).unwrap_or(0)
}

pub struct Store {
    conn: Connection,
    path: PathBuf,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

/// Reads through any connection or transaction: what a query and a write transaction that
/// must read (judging a check, building an alert) share.
pub struct Reads<'a> {
    conn: &'a Connection,
}

impl<'a> Reads<'a> {
    pub(crate) fn new(conn: &'a Connection) -> Reads<'a> {
        Reads { conn }
    }
}

/// A list as one JSON array, bound as one parameter and read back by `json_each(?)`: a list of
/// any length in one statement.
fn json_list<T: serde::Serialize>(values: &[T]) -> String {
    serde_json::to_string(values).unwrap_or_else(|_| "[]".into())
}

fn state_col(s: &str) -> State {
    // A value written by a newer binary reads as unchecked rather than failing the query.
    s.parse().unwrap_or(State::Unchecked)
}

/// An HTTP status column; a value no status can have reads as none rather than wrapping.
fn status_col(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<Option<u16>> {
    Ok(r.get::<_, Option<i64>>(i)?
        .and_then(|s| u16::try_from(s).ok()))
}

/// A short wait for a lock held by another connection to pass.
#[allow(clippy::disallowed_methods)]
fn backoff(d: Duration) {
    std::thread::sleep(d);
}

/// The write-ahead log SQLite keeps beside a database in WAL mode.
fn wal_path(db: &Path) -> PathBuf {
    let mut p = db.as_os_str().to_owned();
    p.push("-wal");
    PathBuf::from(p)
}

/// The first bytes of every SQLite 3 database file.
const SQLITE_MAGIC: &[u8; 16] = b"SQLite format 3\0";

/// What the 100-byte header of a file at the database path says, read before SQLite touches it: a
/// file that is not an SQLite database, or is shorter than its own header says, is refused (a
/// quick look at one header, not a scan). An empty or absent file is a new database.
fn inspect(path: &Path) -> Result<()> {
    use std::io::Read;
    let unusable = |what: String| StoreError::Unusable {
        path: path.to_path_buf(),
        what,
    };
    let mut file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(unusable(format!("unreadable ({e})"))),
    };
    let len = file
        .metadata()
        .map_err(|e| unusable(format!("unreadable ({e})")))?
        .len();
    if len == 0 {
        return Ok(());
    }
    let mut header = [0u8; 100];
    let mut got = 0;
    while got < header.len() {
        match file.read(&mut header[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) => return Err(unusable(format!("unreadable ({e})"))),
        }
    }
    if got < SQLITE_MAGIC.len() || &header[..SQLITE_MAGIC.len()] != SQLITE_MAGIC {
        return Err(unusable("not an SQLite database".into()));
    }
    if got < header.len() {
        return Err(unusable(format!(
            "a truncated SQLite database ({len} bytes, shorter than its header)"
        )));
    }
    let page_size = match u16::from_be_bytes([header[16], header[17]]) {
        1 => 65_536u64,
        n => u64::from(n),
    };
    if !page_size.is_power_of_two() || !(512..=65_536).contains(&page_size) {
        return Err(unusable(format!(
            "a damaged SQLite database (page size {page_size})"
        )));
    }
    // The page count in the header is valid when the change counter matches the version number
    // that validates it (SQLite 3.7.0 and later always write both).
    let pages = u64::from(u32::from_be_bytes([
        header[28], header[29], header[30], header[31],
    ]));
    let valid = header[24..28] == header[92..96];
    // While a write-ahead log is beside it, a checkpoint may be growing the file (page 1 is
    // written first): only a file at rest is held to its header's page count.
    let at_rest = !wal_path(path).exists();
    if len % page_size != 0 || (valid && at_rest && pages.saturating_mul(page_size) > len) {
        return Err(unusable(format!(
            "a truncated SQLite database ({len} bytes; its header says {} pages of {page_size} bytes)",
            pages
        )));
    }
    Ok(())
}

impl Store {
    /// Opens (creating if needed) and migrates the database for writing.
    pub fn open(path: &Path) -> Result<Store> {
        inspect(path)?;
        let conn = Connection::open(path).map_err(|source| StoreError::Open {
            path: path.to_path_buf(),
            source,
        })?;
        let mut store = Store {
            conn,
            path: path.to_path_buf(),
        };
        store.refuse_foreign()?;
        store.configure()?;
        store.migrate()?;
        Ok(store)
    }

    /// Opens an existing database for queries: never creates one (a typo in `--db` is an error,
    /// not an empty database). An older database is brought up to date like any other: migrations
    /// are additive and transactional.
    pub fn open_existing(path: &Path) -> Result<Store> {
        if !path.exists() {
            return Err(StoreError::Missing {
                path: path.to_path_buf(),
            });
        }
        Store::open(path)
    }

    /// Opens a read-only connection to a database that exists and is up to date (the writer of
    /// this process opened it first). Readers never wait for the writer (WAL).
    pub fn open_reader(path: &Path) -> Result<Store> {
        use rusqlite::OpenFlags;
        inspect(path)?;
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|source| StoreError::Open {
            path: path.to_path_buf(),
            source,
        })?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        Ok(Store {
            conn,
            path: path.to_path_buf(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Folds the write-ahead log back into the database file and closes the connection, so the
    /// `.db` file alone holds everything written (a copy of it without its `-wal` is whole).
    /// A reader still open elsewhere can keep part of the log from being folded; the log is then
    /// folded by the next writer that closes. Failures are logged: the data is safe in the log.
    pub fn close(self) {
        if let Err(e) = self
            .conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        {
            tracing::warn!(
                "could not fold the write-ahead log into {} ({e}); it is kept beside it",
                self.path.display()
            );
        }
        if let Err((_, e)) = self.conn.close() {
            tracing::warn!("closing {}: {e}", self.path.display());
        }
    }

    /// Copies the database to `to` with SQLite's online backup (a consistent copy, safe beside a
    /// running daemon: the writer goes on while pages are copied; the copy holds no `-wal`).
    pub fn backup(&self, to: &Path) -> Result<()> {
        if to.exists() {
            return Err(StoreError::Writer(format!(
                "{} already exists; choose a new file for the backup",
                to.display()
            )));
        }
        let mut dst = Connection::open(to).map_err(|source| StoreError::Open {
            path: to.to_path_buf(),
            source,
        })?;
        {
            use rusqlite::backup::{Backup, StepResult};
            let backup = Backup::new(&self.conn, &mut dst)?;
            // Every page in one step, inside one read transaction: under WAL that never holds up
            // a writer beside it, and no write in between can make the copy start over (which,
            // page by page, a busy daemon could make it do forever).
            let mut tries = 0;
            loop {
                match backup.step(-1)? {
                    StepResult::Done => break,
                    StepResult::More => continue,
                    // A lock held for a moment (a checkpoint, a `db compact`): try again.
                    StepResult::Busy | StepResult::Locked if tries < 100 => {
                        tries += 1;
                        backoff(Duration::from_millis(50));
                    }
                    _ => {
                        return Err(StoreError::Writer(format!(
                            "{} stayed locked; try the backup again",
                            self.path.display()
                        )))
                    }
                }
            }
        }
        dst.query_row("PRAGMA journal_mode = DELETE", [], |_| Ok(()))?;
        dst.close().map_err(|(_, e)| StoreError::Sql(e))?;
        Ok(())
    }

    /// Read access through this store's connection.
    pub fn reads(&self) -> Reads<'_> {
        Reads::new(&self.conn)
    }

    /// Starts a write transaction. `IMMEDIATE`: it takes the write lock first (waiting out the
    /// busy timeout if another connection holds it), so it never fails half-way when a read
    /// would have to become a write.
    pub(crate) fn write_tx(&mut self) -> Result<Transaction<'_>> {
        Ok(self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?)
    }

    /// Refuses another program's SQLite database (or one whose schema is gone) before anything is
    /// written to it: not even the journal mode is set on a file that is not ours.
    fn refuse_foreign(&self) -> Result<()> {
        self.conn.busy_timeout(BUSY_TIMEOUT)?;
        // One number read from the file; a file SQLite cannot read is not ours.
        let number = |sql: &str| -> Result<i64> {
            self.conn
                .query_row(sql, [], |r| r.get(0))
                .map_err(|source| StoreError::NotOurs {
                    path: self.path.clone(),
                    source,
                })
        };
        let version = number("PRAGMA user_version")?;
        let ours = number(
            "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'links')",
        )? != 0;
        let any_table =
            number("SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table')")? != 0;
        if (version > 0 && !ours) || (version == 0 && any_table) {
            return Err(StoreError::Unusable {
                path: self.path.clone(),
                what: "an SQLite database of another program (it has no citewatch schema)".into(),
            });
        }
        Ok(())
    }

    fn configure(&mut self) -> Result<()> {
        let not_ours = |source| StoreError::NotOurs {
            path: self.path.clone(),
            source,
        };
        self.conn.busy_timeout(BUSY_TIMEOUT).map_err(not_ours)?;
        // WAL: readers never block the writer nor fail with "database is locked".
        // synchronous=NORMAL is durable across application crashes in WAL mode.
        self.conn
            .execute_batch(
                "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;",
            )
            .map_err(|source| StoreError::NotOurs {
                path: self.path.clone(),
                source,
            })?;
        Ok(())
    }

    fn migrate(&mut self) -> Result<()> {
        let path = self.path.clone();
        let version: i64 = self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|source| StoreError::NotOurs {
                path: path.clone(),
                source,
            })?;
        let all = migrations()?;
        let known = all.len() as i64;
        if version > known {
            return Err(StoreError::TooNew {
                path,
                found: version,
                known,
            });
        }
        for (n, sql) in all.into_iter().filter(|(n, _)| *n > version) {
            // IMMEDIATE: two processes opening a fresh database at once must not both migrate.
            let tx = self
                .conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let current: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
            if current >= n {
                continue;
            }
            tx.execute_batch(&sql)
                .map_err(|source| StoreError::NotOurs {
                    path: path.clone(),
                    source,
                })?;
            tx.execute_batch(&format!("PRAGMA user_version = {n}"))?;
            tx.commit()?;
        }
        Ok(())
    }

    // -- scan ---------------------------------------------------------------------------------

    // -- check --------------------------------------------------------------------------------

    // -- queries ------------------------------------------------------------------------------
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_numbered_from_one() {
        let m = migrations().unwrap();
        assert!(!m.is_empty());
        assert_eq!(m[0].0, 1);
        assert!(m[0].1.contains("CREATE TABLE links"));
    }

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-01-02T03:04:05Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    fn post(path: &str) -> PostRecord {
        PostRecord {
            source: "posts".into(),
            path: path.into(),
            title: Some("T".into()),
            date: None,
            draft: false,
            url: None,
            size: 1,
            mtime_ns: 2,
            hash: "h".into(),
        }
    }

    /// A store in `dir` whose one post cites one link, and that link's id.
    fn one_cited_link(dir: &tempfile::TempDir) -> (Store, i64) {
        let mut s = Store::open(&dir.path().join("x.db")).unwrap();
        s.replace_post(&post("a.md"), &[cite("https://a.org/", 1)], now())
            .unwrap();
        let id = s.links_to_check(None).unwrap()[0].id;
        (s, id)
    }

    fn cite(link: &str, line: u32) -> CitationRecord {
        CitationRecord {
            link: link.into(),
            line,
            text: "t".into(),
            kind: "link".into(),
            raw: link.into(),
            fragment: None,
            static_verdict: None,
            ..Default::default()
        }
    }

    /// The summary reads every chosen link's citations in one query: the same rows, in the same
    /// order, as one query per link; a link without citations in present posts has none.
    #[test]
    fn citations_of_each_link_are_those_of_one_link_at_a_time() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(&dir.path().join("x.db")).unwrap();
        let mut quoted = cite("https://a.org/", 7);
        quoted.quote = Some("a passage".into());
        quoted.fragment = Some("part".into());
        s.replace_post(
            &post("b.md"),
            &[cite("https://a.org/", 9), quoted, cite("https://b.org/", 2)],
            now(),
        )
        .unwrap();
        s.replace_post(&post("a.md"), &[cite("https://a.org/", 4)], now())
            .unwrap();
        s.replace_post(&post("c.md"), &[cite("https://c.org/", 1)], now())
            .unwrap();
        s.conn
            .execute("UPDATE posts SET present = 0 WHERE path = 'c.md'", [])
            .unwrap();
        let id = |u: &str| s.link_id(u).unwrap().unwrap();
        let ids = [
            id("https://a.org/"),
            id("https://b.org/"),
            id("https://c.org/"),
        ];
        let each = s.reads().citations_of_each(&ids).unwrap();
        for link in ids {
            let one = s.citations_of(link).unwrap();
            assert_eq!(
                format!("{:?}", each.get(&link).cloned().unwrap_or_default()),
                format!("{one:?}"),
                "link {link}"
            );
        }
        let a = &each[&ids[0]];
        assert_eq!(
            a.iter()
                .map(|c| (c.post.as_str(), c.line))
                .collect::<Vec<_>>(),
            [("a.md", 4), ("b.md", 7), ("b.md", 9)]
        );
        assert_eq!(a[1].quote.as_deref(), Some("a passage"));
        assert!(!each.contains_key(&ids[2]), "c.md is no longer present");
        assert!(s.reads().citations_of_each(&[]).unwrap().is_empty());
    }

    #[test]
    fn too_new_database_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.db");
        Store::open(&p).unwrap();
        let c = Connection::open(&p).unwrap();
        c.execute_batch("PRAGMA user_version = 999").unwrap();
        drop(c);
        let e = Store::open(&p).unwrap_err().to_string();
        assert!(e.contains("newer"), "{e}");
    }

    #[test]
    fn replace_post_and_record_check() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(&dir.path().join("x.db")).unwrap();
        s.replace_post(
            &post("a.md"),
            &[cite("https://a.org/", 3), cite("https://b.org/", 4)],
            now(),
        )
        .unwrap();
        let todo = s.links_to_check(None).unwrap();
        assert_eq!(todo.len(), 2);
        let rec = CheckRecord {
            link_id: todo[0].id,
            checked_at: now(),
            state: State::Broken,
            http_status: Some(404),
            elapsed_ms: 5,
            attempts: 1,
            snapshot: Some(NewSnapshot {
                hash: "abc".into(),
                size: 3,
                body_zstd: Some(zstd::encode_all(&b"abc"[..], 3).unwrap()),
                content_type: None,
                headers_json: "[]".into(),
                title: None,
                text: Some("abc".into()),
                truncated: false,
            }),
            set_baseline: true,
            ..Default::default()
        };
        let c1 = s.record_check(&rec).unwrap();
        assert_eq!((c1.state, c1.streak), (State::Broken, 1));
        let c2 = s.record_check(&rec).unwrap();
        assert_eq!((c2.state, c2.streak), (State::Broken, 2));
        assert_eq!(s.history(todo[0].id).unwrap().len(), 2);
        assert_eq!(s.snapshot_body("abc").unwrap().unwrap(), b"abc");
        let n: i64 = s
            .conn
            .query_row("SELECT COUNT(*) FROM snapshots", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 1, "a body is stored once however many checks saw it");
        // Re-scanning the post without one citation drops that citation, keeps history.
        s.replace_post(&post("a.md"), &[cite("https://b.org/", 4)], now())
            .unwrap();
        assert_eq!(s.links_to_check(None).unwrap().len(), 1);
        assert_eq!(s.history(todo[0].id).unwrap().len(), 2);
    }

    #[test]
    fn an_already_archived_body_adds_a_check_but_no_snapshot_and_fills_missing_text() {
        let dir = tempfile::tempdir().unwrap();
        let (mut s, id) = one_cited_link(&dir);
        let snap = |body: Option<Vec<u8>>, text: Option<&str>| NewSnapshot {
            hash: "h1".into(),
            size: 5,
            body_zstd: body,
            content_type: None,
            headers_json: "[]".into(),
            title: None,
            text: text.map(str::to_string),
            truncated: false,
        };
        let check = |snapshot: NewSnapshot, day: i64| CheckRecord {
            link_id: id,
            checked_at: now() + chrono::Duration::days(day),
            state: State::Ok,
            http_status: Some(200),
            elapsed_ms: 1,
            attempts: 1,
            snapshot: Some(snapshot),
            set_baseline: true,
            ..Default::default()
        };
        let body = zstd::encode_all(&b"first"[..], 3).unwrap();
        s.record_checks(&[check(snap(Some(body), None), 0)])
            .unwrap();
        assert_eq!(
            s.links_to_check(None).unwrap()[0].last_snapshot.as_deref(),
            Some("h1")
        );
        // Seen again: no body is sent, the row is untouched but for the text it lacked.
        s.record_checks(&[
            check(snap(None, None), 1),
            check(snap(None, Some("first words")), 2),
            check(snap(None, Some("other words")), 3),
        ])
        .unwrap();
        let (n, text): (i64, Option<String>) = s
            .conn
            .query_row("SELECT COUNT(*), MAX(text) FROM snapshots", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!((n, text.as_deref()), (1, Some("first words")));
        assert_eq!(s.snapshot_body("h1").unwrap().unwrap(), b"first");
        let history = s.history(id).unwrap();
        assert_eq!(history.len(), 4);
        assert!(history.iter().all(|c| c.snapshot.as_deref() == Some("h1")));
    }

    #[test]
    fn static_verdicts_apply_and_lift() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(&dir.path().join("x.db")).unwrap();
        let mut c = cite("mailto:a@b.org", 1);
        c.static_verdict = Some((State::Skipped, "scheme".into()));
        s.replace_post(&post("a.md"), &[c.clone()], now()).unwrap();
        let row = s.link_status("mailto:a@b.org").unwrap().unwrap();
        assert_eq!(row.state, State::Skipped);
        assert!(s.links_to_check(None).unwrap().is_empty());
        c.static_verdict = None;
        s.replace_post(&post("a.md"), &[c], now()).unwrap();
        assert_eq!(
            s.link_status("mailto:a@b.org").unwrap().unwrap().state,
            State::Unchecked
        );
    }

    #[test]
    fn thinning_keeps_transitions_first_archivals_and_the_latest() {
        let dir = tempfile::tempdir().unwrap();
        let (mut s, id) = one_cited_link(&dir);
        let states = [
            State::Ok,
            State::Ok,
            State::Ok,
            State::Broken,
            State::Broken,
            State::Ok,
            State::Ok,
        ];
        for (i, st) in states.iter().enumerate() {
            let rec = CheckRecord {
                link_id: id,
                checked_at: now() + chrono::Duration::days(i as i64),
                state: *st,
                elapsed_ms: 1,
                attempts: 1,
                ..Default::default()
            };
            s.record_check(&rec).unwrap();
        }
        // Only checks older than day 5 may go: days 1, 2 (repeated ok) and 4 (repeated broken).
        let n = s.thin_checks(now() + chrono::Duration::days(5)).unwrap();
        assert_eq!(n, 3);
        let kept: Vec<State> = s.history(id).unwrap().iter().map(|c| c.state).collect();
        assert_eq!(kept, [State::Ok, State::Broken, State::Ok, State::Ok]);
    }

    /// Text a check read is of the current extraction: it is kept with its version and read back
    /// as stored, not extracted again on every comparison.
    #[test]
    fn text_written_by_a_check_is_read_back_as_current() {
        let dir = tempfile::tempdir().unwrap();
        let (mut s, id) = one_cited_link(&dir);
        let rec = CheckRecord {
            link_id: id,
            checked_at: now(),
            state: State::Ok,
            snapshot: Some(NewSnapshot {
                hash: "h".into(),
                size: 4,
                body_zstd: Some(zstd::encode_all(&b"<p>x</p>"[..], 3).unwrap()),
                content_type: Some("text/html".into()),
                headers_json: "[]".into(),
                title: None,
                text: Some("the text as read".into()),
                truncated: false,
            }),
            ..Default::default()
        };
        s.record_check(&rec).unwrap();
        assert_eq!(
            s.reads().readable_text("h").unwrap(),
            Some((None, "the text as read".to_string(), false))
        );
    }

    /// Times are read back as `DateTime<Utc>` once, here: one written by citewatch prints as
    /// the text that was stored; a damaged one reads as the epoch, and the queries still answer.
    #[test]
    fn stored_times_read_back_typed_and_a_damaged_one_as_the_epoch() {
        let dir = tempfile::tempdir().unwrap();
        let (mut s, id) = one_cited_link(&dir);
        let rec = CheckRecord {
            link_id: id,
            checked_at: now(),
            state: State::Ok,
            ..Default::default()
        };
        s.record_check(&rec).unwrap();
        let row = s.link_status("https://a.org/").unwrap().unwrap();
        assert_eq!(row.since, now());
        assert_eq!(
            row.checked_at.map(crate::rows::stamp).as_deref(),
            Some("2026-01-02T03:04:05Z")
        );
        assert_eq!(
            ts(s.history(id).unwrap()[0].checked_at),
            "2026-01-02T03:04:05Z"
        );
        s.conn
            .execute_batch(
                "UPDATE links SET since = 'yesterday', checked_at = '2026-13-45';
                 UPDATE checks SET checked_at = '';",
            )
            .unwrap();
        let row = s.link_status("https://a.org/").unwrap().unwrap();
        assert_eq!(
            (row.since, row.checked_at),
            (DateTime::default(), Some(DateTime::default()))
        );
        assert_eq!(ts(row.since), "1970-01-01T00:00:00Z");
        assert_eq!(s.status(&StatusFilter::default()).unwrap().len(), 1);
        assert_eq!(
            s.history(id).unwrap()[0].checked_at,
            DateTime::<Utc>::default()
        );
        assert_eq!(
            s.links_to_check(None).unwrap()[0].current.since,
            DateTime::<Utc>::default()
        );
    }
}
