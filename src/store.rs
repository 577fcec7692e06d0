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

use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::{params, Connection, OptionalExtension, Transaction};

use crate::state::{Current, State};

pub use crate::rows::*;

/// The schema and its migrations, embedded in the binary.
pub const SCHEMA: &str = include_str!("../schema.sql");

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
    #[error("database error: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("schema.sql is malformed: {0}")]
    Schema(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Formats a time the way the database stores it (RFC 3339, UTC, seconds).
pub fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Parses a stored time; a damaged value reads as the epoch rather than failing a query.
pub fn parse_ts(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_default()
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

/// Link ids already looked up during a scan. A link's id never changes (links are never
/// deleted), so the cache cannot go stale while a scan runs.
#[derive(Debug, Default)]
pub struct LinkIds(HashMap<String, i64>);

pub struct Store {
    conn: Connection,
    path: PathBuf,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

fn state_col(s: &str) -> State {
    // A value written by a newer binary reads as unchecked rather than failing the query.
    s.parse().unwrap_or(State::Unchecked)
}

impl Store {
    /// Opens (creating if needed) and migrates the database for writing.
    pub fn open(path: &Path) -> Result<Store> {
        let conn = Connection::open(path).map_err(|source| StoreError::Open {
            path: path.to_path_buf(),
            source,
        })?;
        let mut store = Store {
            conn,
            path: path.to_path_buf(),
        };
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

    pub fn path(&self) -> &Path {
        &self.path
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

    /// All recorded stamps of a source, keyed by path: one query instead of one per file.
    pub fn file_stamps(
        &self,
        source: &str,
    ) -> Result<std::collections::HashMap<String, FileStamp>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT path, size, mtime_ns, hash FROM posts WHERE source = ?1 AND present = 1",
        )?;
        let rows = stmt.query_map(params![source], |r| {
            Ok((
                r.get::<_, String>(0)?,
                FileStamp {
                    size: r.get::<_, i64>(1)? as u64,
                    mtime_ns: r.get(2)?,
                    hash: r.get(3)?,
                },
            ))
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Replaces everything recorded for one post, in one transaction.
    pub fn replace_post(
        &mut self,
        post: &PostRecord,
        citations: &[CitationRecord],
        now: DateTime<Utc>,
    ) -> Result<()> {
        let batch = [ScannedFile::Post(post.clone(), citations.to_vec())];
        self.record_scan_batch(&batch, now, &mut LinkIds::default())
    }

    /// Records one batch of a scan in one transaction: new or changed posts with their
    /// citations, and the new stamps of files whose bytes did not change. `link_ids` lives as
    /// long as the scan: a link cited by many posts is looked up once.
    pub fn record_scan_batch(
        &mut self,
        batch: &[ScannedFile],
        now: DateTime<Utc>,
        link_ids: &mut LinkIds,
    ) -> Result<()> {
        let tx = self.conn.transaction()?;
        for file in batch {
            match file {
                ScannedFile::Post(post, citations) => {
                    write_post(&tx, post, citations, now, link_ids)?
                }
                ScannedFile::Unchanged {
                    source,
                    path,
                    stamp,
                } => {
                    tx.prepare_cached(
                        "UPDATE posts SET size = ?3, mtime_ns = ?4, scanned_at = ?5 WHERE source = ?1 AND path = ?2",
                    )?
                    .execute(params![source, path, stamp.size as i64, stamp.mtime_ns, ts(now)])?;
                }
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// The fingerprint of a source's set of post files at its last scan.
    pub fn source_files(&self, source: &str) -> Result<Option<String>> {
        Ok(self
            .conn
            .prepare_cached("SELECT fingerprint FROM source_files WHERE source = ?1")?
            .query_row(params![source], |r| r.get(0))
            .optional()?)
    }

    /// Records the fingerprint of a source's set of post files after a scan.
    pub fn save_source_files(
        &mut self,
        source: &str,
        fingerprint: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        self.conn.execute(
            "INSERT INTO source_files (source, fingerprint, scanned_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (source) DO UPDATE SET fingerprint = excluded.fingerprint, scanned_at = excluded.scanned_at",
            params![source, fingerprint, ts(now)],
        )?;
        Ok(())
    }

    /// Present posts of `source` that cite another post (`post:` links): their verdicts depend
    /// on which posts exist.
    pub fn posts_citing_posts(&self, source: &str) -> Result<HashSet<String>> {
        let mut stmt = self.conn.prepare(
            "SELECT DISTINCT p.path FROM posts p
             JOIN citations c ON c.post_id = p.id JOIN links l ON l.id = c.link_id
             WHERE p.source = ?1 AND p.present = 1 AND l.url LIKE 'post:%'",
        )?;
        let rows = stmt.query_map(params![source], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Marks posts of `source` that were not seen in this scan as gone: their citations stop
    /// counting, their history stays. Returns how many were marked.
    pub fn mark_absent(
        &mut self,
        source: &str,
        seen: &std::collections::HashSet<String>,
    ) -> Result<usize> {
        let tx = self.conn.transaction()?;
        let gone: Vec<(i64, String)> = {
            let mut stmt =
                tx.prepare("SELECT id, path FROM posts WHERE source = ?1 AND present = 1")?;
            let rows = stmt.query_map(params![source], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.filter_map(|r| r.ok())
                .filter(|(_, p)| !seen.contains(p))
                .collect()
        };
        for (id, _) in &gone {
            tx.execute("UPDATE posts SET present = 0 WHERE id = ?1", params![id])?;
            tx.execute("DELETE FROM citations WHERE post_id = ?1", params![id])?;
        }
        tx.commit()?;
        Ok(gone.len())
    }

    /// The paths of a source's present posts.
    pub fn post_paths(&self, source: &str) -> Result<Vec<String>> {
        let mut stmt = self
            .conn
            .prepare("SELECT path FROM posts WHERE source = ?1 AND present = 1")?;
        let rows = stmt.query_map(params![source], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    // -- check --------------------------------------------------------------------------------

    /// Cited links that need the network (no static verdict), optionally only those URLs.
    pub fn links_to_check(&self, only: Option<&[String]>) -> Result<Vec<LinkToCheck>> {
        let mut stmt = self.conn.prepare(
            "SELECT id, url, state, since, streak, checked_at, baseline, volatile,
                    (SELECT snapshot FROM checks k WHERE k.link_id = l.id
                     ORDER BY checked_at DESC, id DESC LIMIT 1)
             FROM links l
             WHERE static_state IS NULL
               AND EXISTS (SELECT 1 FROM citations c WHERE c.link_id = l.id)
             ORDER BY id",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(LinkToCheck {
                id: r.get(0)?,
                url: r.get(1)?,
                current: Current {
                    state: state_col(&r.get::<_, String>(2)?),
                    since: parse_ts(&r.get::<_, String>(3)?),
                    streak: r.get::<_, i64>(4)?.max(0) as u32,
                    checked_at: r.get::<_, Option<String>>(5)?.map(|s| parse_ts(&s)),
                },
                baseline: r.get(6)?,
                volatile: r
                    .get::<_, Option<String>>(7)?
                    .and_then(|v| serde_json::from_str(&v).ok()),
                last_snapshot: r.get(8)?,
            })
        })?;
        let all: Vec<LinkToCheck> = rows.collect::<rusqlite::Result<_>>()?;
        Ok(match only {
            None => all,
            Some(urls) => all
                .into_iter()
                .filter(|l| urls.iter().any(|u| u == &l.url))
                .collect(),
        })
    }

    /// The link id for a URL, whether or not it is still cited.
    pub fn link_id(&self, url: &str) -> Result<Option<i64>> {
        Ok(self
            .conn
            .query_row("SELECT id FROM links WHERE url = ?1", params![url], |r| {
                r.get(0)
            })
            .optional()?)
    }

    /// The stored readable text of a snapshot, for comparing with its baseline.
    pub fn snapshot_text(&self, hash: &str) -> Result<Option<String>> {
        Ok(self
            .conn
            .prepare_cached("SELECT text FROM snapshots WHERE hash = ?1")?
            .query_row(params![hash], |r| r.get::<_, Option<String>>(0))
            .optional()?
            .flatten())
    }

    /// A snapshot's readable text, extracted from the archived body (and kept) when it was not
    /// extracted at fetch time.
    pub fn snapshot_text_or_extract(&self, hash: &str) -> Result<Option<String>> {
        if let Some(t) = self.snapshot_text(hash)? {
            return Ok(Some(t));
        }
        let Some(meta) = self.snapshot_meta(hash)? else {
            return Ok(None);
        };
        let Some(body) = self.snapshot_body(hash)? else {
            return Ok(None);
        };
        let text = crate::readable::readable(&body, meta.content_type.as_deref()).text;
        self.conn.execute(
            "UPDATE snapshots SET text = ?2 WHERE hash = ?1 AND text IS NULL",
            params![hash, text],
        )?;
        Ok(Some(text))
    }

    /// Records one check: the snapshot (once per hash), the check row and the link's new state,
    /// in one transaction.
    pub fn record_check(&mut self, rec: &CheckRecord) -> Result<Current> {
        let mut out = self.record_checks(std::slice::from_ref(rec))?;
        Ok(out.remove(0))
    }

    /// Records several checks in one transaction: each is whole or absent after a crash, and a
    /// busy run pays for one commit per batch instead of one per link.
    pub fn record_checks(&mut self, recs: &[CheckRecord]) -> Result<Vec<Current>> {
        let tx = self.conn.transaction()?;
        let mut out = Vec::with_capacity(recs.len());
        for rec in recs {
            out.push(write_check(&tx, rec)?);
        }
        tx.commit()?;
        Ok(out)
    }

    // -- queries ------------------------------------------------------------------------------

    /// Links with their current state and citations, filtered; sorted by URL.
    pub fn status(&self, filter: &StatusFilter) -> Result<Vec<StatusRow>> {
        let mut stmt = self.conn.prepare(
            "SELECT id, url, state, since, streak, checked_at, http_status, final_url, error,
               (SELECT archived_url FROM wayback w WHERE w.link_id = l.id) FROM links l
             WHERE EXISTS (SELECT 1 FROM citations c WHERE c.link_id = l.id) OR ?1 = 0
             ORDER BY url",
        )?;
        let rows = stmt.query_map(params![filter.cited_only], status_row)?;
        let mut out = Vec::new();
        for row in rows {
            let mut row = row?;
            if !filter.states.is_empty() && !filter.states.contains(&row.state) {
                continue;
            }
            row.citations = self.citations_of(row.id)?;
            if let Some(p) = &filter.post {
                if !row.citations.iter().any(|c| c.post.contains(p.as_str())) {
                    continue;
                }
            }
            out.push(row);
        }
        Ok(out)
    }

    /// One link's status row.
    pub fn link_status(&self, url: &str) -> Result<Option<StatusRow>> {
        let row = self
            .conn
            .query_row(
                "SELECT id, url, state, since, streak, checked_at, http_status, final_url, error,
                   (SELECT archived_url FROM wayback w WHERE w.link_id = links.id) FROM links WHERE url = ?1",
                params![url],
                status_row,
            )
            .optional()?;
        match row {
            Some(mut r) => {
                r.citations = self.citations_of(r.id)?;
                Ok(Some(r))
            }
            None => Ok(None),
        }
    }

    /// One link's status row, by id.
    pub fn link_status_by_id(&self, id: i64) -> Result<Option<StatusRow>> {
        let url: Option<String> = self
            .conn
            .query_row("SELECT url FROM links WHERE id = ?1", params![id], |r| {
                r.get(0)
            })
            .optional()?;
        match url {
            Some(u) => self.link_status(&u),
            None => Ok(None),
        }
    }

    /// Where a link is cited, by present posts, in post and line order.
    pub fn citations_of(&self, link_id: i64) -> Result<Vec<CitationRow>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT p.path, c.line, c.text, c.kind, c.fragment FROM citations c JOIN posts p ON p.id = c.post_id
             WHERE c.link_id = ?1 AND p.present = 1 ORDER BY p.path, c.line",
        )?;
        let rows = stmt.query_map(params![link_id], |r| {
            Ok(CitationRow {
                post: r.get(0)?,
                line: r.get(1)?,
                text: r.get(2)?,
                kind: r.get(3)?,
                fragment: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Every check of a link, oldest first.
    pub fn history(&self, link_id: i64) -> Result<Vec<CheckRow>> {
        let mut stmt = self.conn.prepare(
            "SELECT id, checked_at, state, http_status, final_url, redirects, error, elapsed_ms, attempts, snapshot, similarity
             FROM checks WHERE link_id = ?1 ORDER BY checked_at, id",
        )?;
        let rows = stmt.query_map(params![link_id], |r| {
            Ok(CheckRow {
                id: r.get(0)?,
                checked_at: r.get(1)?,
                state: state_col(&r.get::<_, String>(2)?),
                http_status: r.get::<_, Option<i64>>(3)?.map(|s| s as u16),
                final_url: r.get(4)?,
                redirects_json: r.get(5)?,
                error: r.get(6)?,
                elapsed_ms: r.get::<_, i64>(7)?.max(0) as u64,
                attempts: r.get::<_, i64>(8)?.max(0) as u32,
                snapshot: r.get(9)?,
                similarity: r.get(10)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The baseline snapshot hash of a link.
    pub fn baseline(&self, link_id: i64) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row(
                "SELECT baseline FROM links WHERE id = ?1",
                params![link_id],
                |r| r.get(0),
            )
            .optional()?
            .flatten())
    }

    pub fn snapshot_meta(&self, hash: &str) -> Result<Option<SnapshotRow>> {
        Ok(self
            .conn
            .query_row(
                "SELECT hash, size, content_type, headers, title, text, truncated, created_at FROM snapshots WHERE hash = ?1",
                params![hash],
                |r| {
                    Ok(SnapshotRow {
                        hash: r.get(0)?,
                        size: r.get::<_, i64>(1)?.max(0) as u64,
                        content_type: r.get(2)?,
                        headers_json: r.get(3)?,
                        title: r.get(4)?,
                        text: r.get(5)?,
                        truncated: r.get(6)?,
                        created_at: r.get(7)?,
                    })
                },
            )
            .optional()?)
    }

    /// The archived bytes of a snapshot, decompressed.
    pub fn snapshot_body(&self, hash: &str) -> Result<Option<Vec<u8>>> {
        let blob: Option<Vec<u8>> = self
            .conn
            .query_row(
                "SELECT body FROM snapshots WHERE hash = ?1",
                params![hash],
                |r| r.get(0),
            )
            .optional()?;
        Ok(blob.map(|b| zstd::decode_all(&b[..]).unwrap_or_default()))
    }

    /// Counts of cited links per state.
    pub fn counts(&self) -> Result<Vec<(State, u64)>> {
        let mut stmt = self.conn.prepare(
            "SELECT state, COUNT(*) FROM links l WHERE EXISTS (SELECT 1 FROM citations c WHERE c.link_id = l.id) GROUP BY state",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                state_col(&r.get::<_, String>(0)?),
                r.get::<_, i64>(1)? as u64,
            ))
        })?;
        let mut out: Vec<(State, u64)> = rows.collect::<rusqlite::Result<_>>()?;
        out.sort();
        Ok(out)
    }
}

/// Writes one post and its citations (replacing what was recorded).
fn write_post(
    tx: &Transaction<'_>,
    post: &PostRecord,
    citations: &[CitationRecord],
    now: DateTime<Utc>,
    link_ids: &mut LinkIds,
) -> Result<()> {
    let now_s = ts(now);
    let post_id: i64 = tx
        .prepare_cached(
            "INSERT INTO posts (source, path, title, date, draft, url, size, mtime_ns, hash, scanned_at, present)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 1)
             ON CONFLICT (source, path) DO UPDATE SET title = excluded.title, date = excluded.date,
               draft = excluded.draft, url = excluded.url, size = excluded.size, mtime_ns = excluded.mtime_ns,
               hash = excluded.hash, scanned_at = excluded.scanned_at, present = 1
             RETURNING id",
        )?
        .query_row(
            params![
                post.source,
                post.path,
                post.title,
                post.date,
                post.draft,
                post.url,
                post.size as i64,
                post.mtime_ns,
                post.hash,
                now_s
            ],
            |r| r.get(0),
        )?;
    tx.prepare_cached("DELETE FROM citations WHERE post_id = ?1")?
        .execute(params![post_id])?;
    for c in citations {
        let link_id = match link_ids.0.get(&c.link) {
            Some(&id) => id,
            None => {
                let id = upsert_link(tx, &c.link, c.static_verdict.as_ref(), &now_s)?;
                link_ids.0.insert(c.link.clone(), id);
                id
            }
        };
        tx.prepare_cached(
            "INSERT INTO citations (post_id, link_id, line, text, kind, raw, fragment) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?
        .execute(params![post_id, link_id, c.line, c.text, c.kind, c.raw, c.fragment])?;
    }
    Ok(())
}

/// Writes one check: the snapshot (once per hash), the check row and the link's new state.
fn write_check(tx: &Transaction<'_>, rec: &CheckRecord) -> Result<Current> {
    let prev = current_of(tx, rec.link_id)?;
    let next = crate::state::advance(prev.as_ref(), rec.state, rec.checked_at);
    let snap_hash = rec.snapshot.as_ref().map(|s| s.hash.clone());
    // A body archived before is stored once: only its text is filled in if it was missing, and
    // an unchanged page writes no snapshot page at all.
    match &rec.snapshot {
        Some(
            s @ NewSnapshot {
                body_zstd: Some(body),
                ..
            },
        ) => {
            tx.prepare_cached(
                "INSERT INTO snapshots (hash, size, body, content_type, headers, title, text, truncated, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                 ON CONFLICT (hash) DO UPDATE SET text = excluded.text
                 WHERE snapshots.text IS NULL AND excluded.text IS NOT NULL",
            )?
            .execute(params![
                s.hash,
                s.size as i64,
                body,
                s.content_type,
                s.headers_json,
                s.title,
                s.text,
                s.truncated,
                ts(rec.checked_at)
            ])?;
        }
        Some(NewSnapshot {
            hash,
            text: Some(text),
            body_zstd: None,
            ..
        }) => {
            tx.prepare_cached("UPDATE snapshots SET text = ?2 WHERE hash = ?1 AND text IS NULL")?
                .execute(params![hash, text])?;
        }
        _ => {}
    }
    tx.prepare_cached(
        "INSERT INTO checks (link_id, checked_at, state, http_status, final_url, redirects, error, elapsed_ms, attempts, snapshot, similarity)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?
    .execute(params![
        rec.link_id,
        ts(rec.checked_at),
        rec.state.as_str(),
        rec.http_status,
        rec.final_url,
        rec.redirects_json,
        rec.error,
        rec.elapsed_ms as i64,
        rec.attempts,
        snap_hash,
        rec.similarity
    ])?;
    tx.prepare_cached(
        "UPDATE links SET state = ?2, since = ?3, streak = ?4, checked_at = ?5, http_status = ?6,
           final_url = ?7, error = ?8,
           baseline = CASE WHEN ?9 AND baseline IS NULL THEN ?10 ELSE baseline END
         WHERE id = ?1",
    )?
    .execute(params![
        rec.link_id,
        next.state.as_str(),
        ts(next.since),
        next.streak,
        ts(rec.checked_at),
        rec.http_status,
        rec.final_url,
        rec.error,
        rec.set_baseline,
        snap_hash
    ])?;
    if let Some(v) = &rec.volatile {
        tx.prepare_cached("UPDATE links SET volatile = ?2 WHERE id = ?1 AND volatile IS NULL")?
            .execute(params![rec.link_id, v])?;
    }
    Ok(next)
}

/// A `StatusRow` (without citations) from the columns `id, url, state, since, streak,
/// checked_at, http_status, final_url, error, archived_url`.
fn status_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<StatusRow> {
    Ok(StatusRow {
        id: r.get(0)?,
        url: r.get(1)?,
        state: state_col(&r.get::<_, String>(2)?),
        since: r.get(3)?,
        streak: r.get(4)?,
        checked_at: r.get(5)?,
        http_status: r.get::<_, Option<i64>>(6)?.map(|s| s as u16),
        final_url: r.get(7)?,
        error: r.get(8)?,
        archived_url: r.get(9)?,
        citations: Vec::new(),
    })
}

/// The current state of a link inside a transaction.
fn current_of(tx: &Transaction<'_>, link_id: i64) -> Result<Option<Current>> {
    Ok(tx
        .prepare_cached("SELECT state, since, streak, checked_at FROM links WHERE id = ?1")?
        .query_row(params![link_id], |r| {
            Ok(Current {
                state: state_col(&r.get::<_, String>(0)?),
                since: parse_ts(&r.get::<_, String>(1)?),
                streak: r.get::<_, i64>(2)?.max(0) as u32,
                checked_at: r.get::<_, Option<String>>(3)?.map(|s| parse_ts(&s)),
            })
        })
        .optional()?)
}

/// Inserts a link if new; applies a static verdict (one decided without the network) if given.
fn upsert_link(
    tx: &Transaction<'_>,
    url: &str,
    verdict: Option<&(State, String)>,
    now: &str,
) -> Result<i64> {
    let inserted = tx
        .prepare_cached("INSERT OR IGNORE INTO links (url, state, since, first_seen) VALUES (?1, 'unchecked', ?2, ?2)")?
        .execute(params![url, now])?
        == 1;
    // A new row is known without reading it back.
    let (id, state, static_state): (i64, String, Option<String>) = if inserted {
        (tx.last_insert_rowid(), "unchecked".into(), None)
    } else {
        tx.prepare_cached("SELECT id, state, static_state FROM links WHERE url = ?1")?
            .query_row(params![url], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
    };
    match verdict {
        Some((st, reason))
            if state != st.as_str() || static_state.as_deref() != Some(st.as_str()) =>
        {
            tx.prepare_cached(
                "UPDATE links SET state = ?2, since = ?3, streak = 1, checked_at = ?3, static_state = ?2,
                   static_reason = ?4, error = ?4, http_status = NULL, final_url = NULL WHERE id = ?1",
            )?
            .execute(params![id, st.as_str(), now, reason])?;
        }
        Some(_) => {}
        None if static_state.is_some() => {
            // It was decided statically before (e.g. excluded) and no longer is: check it again.
            tx.prepare_cached(
                "UPDATE links SET state = 'unchecked', since = ?2, streak = 0, static_state = NULL,
                   static_reason = NULL, error = NULL WHERE id = ?1",
            )?
            .execute(params![id, now])?;
        }
        None => {}
    }
    Ok(id)
}

impl Store {
    /// Every cited, fetchable link with what scheduling needs.
    pub fn link_facts(&self) -> Result<Vec<LinkFactsRow>> {
        let mut stmt = self.conn.prepare(
            "SELECT l.id, l.url, l.state, l.checked_at, l.streak, c.confirmed FROM links l
             LEFT JOIN confirmations c ON c.link_id = l.id
             WHERE l.static_state IS NULL AND EXISTS (SELECT 1 FROM citations ci WHERE ci.link_id = l.id)
             ORDER BY l.id",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(LinkFactsRow {
                id: r.get(0)?,
                facts: crate::schedule::LinkFacts {
                    url: r.get(1)?,
                    state: state_col(&r.get::<_, String>(2)?),
                    checked_at: r.get::<_, Option<String>>(3)?.map(|s| parse_ts(&s)),
                    streak: r.get::<_, i64>(4)?.max(0) as u32,
                    confirmed: r.get::<_, Option<String>>(5)?.is_some(),
                },
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Links to check, by id.
    pub fn links_by_id(&self, ids: &[i64]) -> Result<Vec<LinkToCheck>> {
        let wanted: std::collections::HashSet<i64> = ids.iter().copied().collect();
        Ok(self
            .links_to_check(None)?
            .into_iter()
            .filter(|l| wanted.contains(&l.id))
            .collect())
    }

    pub fn confirmation(&self, link_id: i64) -> Result<crate::confirm::Confirmation> {
        Ok(self
            .conn
            .prepare_cached("SELECT confirmed, streak_state, streak_count, streak_since FROM confirmations WHERE link_id = ?1")?
            .query_row(params![link_id], |r| {
                Ok(crate::confirm::Confirmation {
                    confirmed: r.get::<_, Option<String>>(0)?.map(|s| state_col(&s)),
                    streak_state: r.get::<_, Option<String>>(1)?.map(|s| state_col(&s)),
                    streak_count: r.get::<_, i64>(2)?.max(0) as u32,
                    streak_since: r.get::<_, Option<String>>(3)?.map(|s| parse_ts(&s)),
                })
            })
            .optional()?
            .unwrap_or_default())
    }

    /// Writes a link's new confirmation and, in the same transaction, the alert it caused with
    /// one pending delivery per sink: an alert is never lost nor written twice.
    pub fn apply_confirmation(
        &mut self,
        link_id: i64,
        c: &crate::confirm::Confirmation,
        event: Option<&crate::alert::AlertEvent>,
        sinks: &[String],
        now: DateTime<Utc>,
    ) -> Result<()> {
        let tx = self.conn.transaction()?;
        tx.prepare_cached(
            "INSERT INTO confirmations (link_id, confirmed, streak_state, streak_count, streak_since) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (link_id) DO UPDATE SET confirmed = excluded.confirmed, streak_state = excluded.streak_state,
               streak_count = excluded.streak_count, streak_since = excluded.streak_since",
        )?
        .execute(params![
            link_id,
            c.confirmed.map(State::as_str),
            c.streak_state.map(State::as_str),
            c.streak_count,
            c.streak_since.map(ts)
        ])?;
        if let Some(e) = event {
            insert_event(&tx, Some(link_id), e, sinks, now)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Deliveries due at `now`, oldest event first.
    pub fn pending_deliveries(&self, now: DateTime<Utc>) -> Result<Vec<PendingDelivery>> {
        let mut stmt = self.conn.prepare(
            "SELECT d.event_id, d.sink, d.attempts, e.payload FROM alert_deliveries d JOIN alert_events e ON e.id = d.event_id
             WHERE d.state = 'pending' AND d.next_attempt <= ?1 ORDER BY d.event_id, d.sink",
        )?;
        let rows = stmt.query_map(params![ts(now)], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, String>(3)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (event_id, sink, attempts, payload) = row?;
            // A payload that no longer parses is left pending and reported, not dropped.
            match serde_json::from_str(&payload) {
                Ok(event) => out.push(PendingDelivery {
                    event_id,
                    sink,
                    attempts: attempts.max(0) as u32,
                    event,
                }),
                Err(e) => tracing::error!("alert event {event_id} cannot be read: {e}"),
            }
        }
        Ok(out)
    }

    /// The earliest time a pending delivery is due, for the daemon's wake-up.
    pub fn next_delivery_due(&self) -> Result<Option<DateTime<Utc>>> {
        Ok(self
            .conn
            .query_row(
                "SELECT MIN(next_attempt) FROM alert_deliveries WHERE state = 'pending'",
                [],
                |r| r.get::<_, Option<String>>(0),
            )?
            .map(|s| parse_ts(&s)))
    }

    pub fn mark_delivered(&mut self, event_id: i64, sink: &str, now: DateTime<Utc>) -> Result<()> {
        self.conn.execute(
            "UPDATE alert_deliveries SET state = 'delivered', attempts = attempts + 1, delivered_at = ?3, last_error = NULL
             WHERE event_id = ?1 AND sink = ?2",
            params![event_id, sink, ts(now)],
        )?;
        Ok(())
    }

    pub fn mark_failed(
        &mut self,
        event_id: i64,
        sink: &str,
        error: &str,
        next: DateTime<Utc>,
    ) -> Result<()> {
        self.conn.execute(
            "UPDATE alert_deliveries SET attempts = attempts + 1, last_error = ?3, next_attempt = ?4
             WHERE event_id = ?1 AND sink = ?2",
            params![event_id, sink, error, ts(next)],
        )?;
        Ok(())
    }

    /// Every alert event with its deliveries, newest first.
    pub fn alerts(&self) -> Result<Vec<AlertRow>> {
        let mut stmt = self.conn.prepare(
            "SELECT e.id, e.uid, e.created_at, e.event, l.url, e.old_state, e.new_state FROM alert_events e
             LEFT JOIN links l ON l.id = e.link_id ORDER BY e.id DESC",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                AlertRow {
                    id: r.get(1)?,
                    created_at: r.get(2)?,
                    event: r.get(3)?,
                    url: r.get(4)?,
                    old_state: r.get(5)?,
                    new_state: r.get(6)?,
                    deliveries: Vec::new(),
                },
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, mut a) = row?;
            let mut ds = self.conn.prepare_cached(
                "SELECT sink, state, attempts, last_error, delivered_at, next_attempt FROM alert_deliveries WHERE event_id = ?1 ORDER BY sink",
            )?;
            let d = ds.query_map(params![id], |r| {
                let state: String = r.get(1)?;
                Ok(DeliveryRow {
                    sink: r.get(0)?,
                    attempts: r.get::<_, i64>(2)?.max(0) as u32,
                    last_error: r.get(3)?,
                    delivered_at: r.get(4)?,
                    next_attempt: if state == "pending" { r.get(5)? } else { None },
                    state,
                })
            })?;
            a.deliveries = d.collect::<rusqlite::Result<_>>()?;
            out.push(a);
        }
        Ok(out)
    }
}

fn insert_event(
    tx: &Transaction<'_>,
    link_id: Option<i64>,
    e: &crate::alert::AlertEvent,
    sinks: &[String],
    now: DateTime<Utc>,
) -> Result<()> {
    let payload = serde_json::to_string(e).unwrap_or_default();
    tx.prepare_cached(
        "INSERT INTO alert_events (uid, link_id, created_at, event, old_state, new_state, payload) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        e.id,
        link_id,
        ts(now),
        e.event,
        e.old_state.map(State::as_str),
        e.new_state.as_str(),
        payload
    ])?;
    let event_id = tx.last_insert_rowid();
    for s in sinks {
        tx.prepare_cached(
            "INSERT INTO alert_deliveries (event_id, sink, next_attempt) VALUES (?1, ?2, ?3)",
        )?
        .execute(params![event_id, s, ts(now)])?;
    }
    Ok(())
}

impl Store {
    /// Every check that archived a body, oldest first, optionally of one link or since a time.
    pub fn archive_rows(
        &self,
        url: Option<&str>,
        since: Option<DateTime<Utc>>,
    ) -> Result<Vec<ArchiveRow>> {
        let mut stmt = self.conn.prepare(
            "SELECT l.url, c.final_url, c.checked_at, c.http_status, c.snapshot FROM checks c JOIN links l ON l.id = c.link_id
             WHERE c.snapshot IS NOT NULL AND (?1 IS NULL OR l.url = ?1) AND (?2 IS NULL OR c.checked_at >= ?2)
             ORDER BY c.checked_at, c.id",
        )?;
        let rows = stmt.query_map(params![url, since.map(ts)], |r| {
            Ok(ArchiveRow {
                url: r.get(0)?,
                final_url: r.get(1)?,
                checked_at: r.get(2)?,
                http_status: r.get::<_, Option<i64>>(3)?.map(|s| s as u16),
                snapshot: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

impl Store {
    /// The cached probe of an origin, if fetched after `fresh_after`.
    pub fn probe(&self, origin: &str, fresh_after: DateTime<Utc>) -> Result<Option<Probe>> {
        Ok(self
            .conn
            .prepare_cached("SELECT fetched_at, status, final_url, text FROM probes WHERE origin = ?1 AND fetched_at >= ?2")?
            .query_row(params![origin, ts(fresh_after)], |r| {
                Ok(Probe {
                    origin: origin.to_string(),
                    fetched_at: parse_ts(&r.get::<_, String>(0)?),
                    status: r.get::<_, Option<i64>>(1)?.map(|s| s as u16),
                    final_url: r.get(2)?,
                    text: r.get(3)?,
                })
            })
            .optional()?)
    }

    pub fn save_probe(&mut self, p: &Probe) -> Result<()> {
        self.conn.execute(
            "INSERT INTO probes (origin, fetched_at, status, final_url, text) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (origin) DO UPDATE SET fetched_at = excluded.fetched_at, status = excluded.status,
               final_url = excluded.final_url, text = excluded.text",
            params![p.origin, ts(p.fetched_at), p.status, p.final_url, p.text],
        )?;
        Ok(())
    }

    /// Links in a state worth an archived copy whose look-up is missing or older than `stale`.
    pub fn wayback_due(&self, stale: DateTime<Utc>) -> Result<Vec<(i64, String, String)>> {
        let mut stmt = self.conn.prepare(
            "SELECT l.id, l.url,
               COALESCE((SELECT MIN(p.date) FROM citations c JOIN posts p ON p.id = c.post_id
                         WHERE c.link_id = l.id AND p.date IS NOT NULL), l.first_seen)
             FROM links l LEFT JOIN wayback w ON w.link_id = l.id
             WHERE l.state IN ('broken', 'changed', 'soft_404') AND l.url LIKE 'http%'
               AND EXISTS (SELECT 1 FROM citations c WHERE c.link_id = l.id)
               AND (w.link_id IS NULL OR (w.archived_url IS NULL AND w.looked_up_at < ?1))
             ORDER BY l.id",
        )?;
        let rows = stmt.query_map(params![ts(stale)], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn save_wayback(
        &mut self,
        link_id: i64,
        archived_url: Option<&str>,
        timestamp: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        self.conn.execute(
            "INSERT INTO wayback (link_id, looked_up_at, archived_url, timestamp) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (link_id) DO UPDATE SET looked_up_at = excluded.looked_up_at,
               archived_url = excluded.archived_url, timestamp = excluded.timestamp",
            params![link_id, ts(now), archived_url, timestamp],
        )?;
        Ok(())
    }

    /// The archived copy known for a link.
    pub fn archived_url(&self, link_id: i64) -> Result<Option<String>> {
        Ok(self
            .conn
            .prepare_cached("SELECT archived_url FROM wayback WHERE link_id = ?1")?
            .query_row(params![link_id], |r| r.get::<_, Option<String>>(0))
            .optional()?
            .flatten())
    }

    /// Makes the latest archived snapshot of a link its baseline (`citewatch accept`). A link in
    /// `changed` is `ok` again from now on. Returns the new baseline's hash.
    pub fn accept(&mut self, link_id: i64, now: DateTime<Utc>) -> Result<Option<String>> {
        let tx = self.conn.transaction()?;
        let latest: Option<String> = tx
            .query_row(
                "SELECT snapshot FROM checks WHERE link_id = ?1 AND snapshot IS NOT NULL ORDER BY checked_at DESC, id DESC LIMIT 1",
                params![link_id],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(h) = &latest {
            tx.execute(
                "UPDATE links SET baseline = ?2 WHERE id = ?1",
                params![link_id, h],
            )?;
            tx.execute(
                "UPDATE links SET state = 'ok', since = ?2, streak = 0, error = NULL WHERE id = ?1 AND state = 'changed'",
                params![link_id, ts(now)],
            )?;
        }
        tx.commit()?;
        Ok(latest)
    }
}

impl Store {
    pub fn stats(&self) -> Result<Stats> {
        let count = |table: &str| -> Result<i64> {
            Ok(self
                .conn
                .query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))?)
        };
        let size = |p: &Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
        let mut wal = self.path.clone().into_os_string();
        wal.push("-wal");
        let (raw, stored): (i64, i64) = self.conn.query_row(
            "SELECT COALESCE(SUM(size), 0), COALESCE(SUM(LENGTH(body)), 0) FROM snapshots",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        Ok(Stats {
            file_bytes: size(&self.path),
            wal_bytes: size(Path::new(&wal)),
            posts: count("posts")?,
            citations: count("citations")?,
            links: count("links")?,
            checks: count("checks")?,
            snapshots: count("snapshots")?,
            snapshot_raw_bytes: raw,
            snapshot_stored_bytes: stored,
            alert_events: count("alert_events")?,
            schema_version: self
                .conn
                .query_row("PRAGMA user_version", [], |r| r.get(0))?,
        })
    }
}

impl Store {
    /// Links some post quotes from (`<blockquote cite>`, `<q cite>`).
    pub fn quoted_links(&self) -> Result<std::collections::HashSet<i64>> {
        let mut stmt = self
            .conn
            .prepare("SELECT DISTINCT link_id FROM citations WHERE kind = 'quote'")?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Good, cited links never sent to Save Page Now.
    pub fn save_due(&self, limit: usize) -> Result<Vec<(i64, String)>> {
        let mut stmt = self.conn.prepare(
            "SELECT l.id, l.url FROM links l
             WHERE l.state IN ('ok', 'redirected') AND l.url LIKE 'http%'
               AND EXISTS (SELECT 1 FROM citations c WHERE c.link_id = l.id)
               AND NOT EXISTS (SELECT 1 FROM save_requests s WHERE s.link_id = l.id)
             ORDER BY l.id LIMIT ?1",
        )?;
        let rows = stmt.query_map(params![limit as i64], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn save_requested(
        &mut self,
        link_id: i64,
        outcome: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        self.conn.execute(
            "INSERT OR REPLACE INTO save_requests (link_id, requested_at, outcome) VALUES (?1, ?2, ?3)",
            params![link_id, ts(now), outcome],
        )?;
        Ok(())
    }
}

impl Store {
    /// Thins the history older than `before`: a check is kept when it is a transition (the
    /// first check of a link, or a state different from the one before), the first check that
    /// archived its snapshot, or the latest check of its link; the rest is deleted. The history of
    /// states stays whole; the database grows with changes, not with checks. Returns the number
    /// of checks deleted.
    pub fn thin_checks(&mut self, before: DateTime<Utc>) -> Result<usize> {
        let n = self.conn.execute(
            "WITH ordered AS (
                 SELECT id, checked_at, state,
                        LAG(state) OVER (PARTITION BY link_id ORDER BY checked_at, id) AS prev
                 FROM checks),
             firsts AS (SELECT MIN(id) AS id FROM checks WHERE snapshot IS NOT NULL GROUP BY snapshot),
             latest AS (SELECT MAX(id) AS id FROM checks GROUP BY link_id)
             DELETE FROM checks WHERE id IN (
                 SELECT id FROM ordered
                 WHERE checked_at < ?1 AND prev IS NOT NULL AND prev = state
                   AND id NOT IN (SELECT id FROM firsts) AND id NOT IN (SELECT id FROM latest))",
            params![ts(before)],
        )?;
        Ok(n)
    }

    /// Gives the space of deleted rows back to the filesystem.
    pub fn vacuum(&mut self) -> Result<()> {
        self.conn.execute_batch("VACUUM")?;
        Ok(())
    }
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

    fn cite(link: &str, line: u32) -> CitationRecord {
        CitationRecord {
            link: link.into(),
            line,
            text: "t".into(),
            kind: "link".into(),
            raw: link.into(),
            fragment: None,
            static_verdict: None,
        }
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
            final_url: None,
            redirects_json: None,
            error: None,
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
            similarity: None,
            set_baseline: true,
            volatile: None,
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
        let mut s = Store::open(&dir.path().join("x.db")).unwrap();
        s.replace_post(&post("a.md"), &[cite("https://a.org/", 1)], now())
            .unwrap();
        let id = s.links_to_check(None).unwrap()[0].id;
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
            final_url: None,
            redirects_json: None,
            error: None,
            elapsed_ms: 1,
            attempts: 1,
            snapshot: Some(snapshot),
            similarity: None,
            set_baseline: true,
            volatile: None,
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
        let mut s = Store::open(&dir.path().join("x.db")).unwrap();
        s.replace_post(&post("a.md"), &[cite("https://a.org/", 1)], now())
            .unwrap();
        let id = s.links_to_check(None).unwrap()[0].id;
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
                http_status: None,
                final_url: None,
                redirects_json: None,
                error: None,
                elapsed_ms: 1,
                attempts: 1,
                snapshot: None,
                similarity: None,
                set_baseline: false,
                volatile: None,
            };
            s.record_check(&rec).unwrap();
        }
        // Only checks older than day 5 may go: days 1, 2 (repeated ok) and 4 (repeated broken).
        let n = s.thin_checks(now() + chrono::Duration::days(5)).unwrap();
        assert_eq!(n, 3);
        let kept: Vec<State> = s.history(id).unwrap().iter().map(|c| c.state).collect();
        assert_eq!(kept, [State::Ok, State::Broken, State::Ok, State::Ok]);
    }
}
