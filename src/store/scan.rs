//! Posts and citations as a scan records them: one post with its citations per unit, links created on first citation.

use super::*;

impl Store {
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
        let tx = self.write_tx()?;
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

    /// Present posts of `source` whose citations depend on which files the site has: those
    /// citing another post (`post:` links) or a local file (judged on disk).
    pub fn posts_citing_site(&self, source: &str) -> Result<HashSet<String>> {
        let mut stmt = self.conn.prepare(
            "SELECT DISTINCT p.path FROM posts p
             JOIN citations c ON c.post_id = p.id JOIN links l ON l.id = c.link_id
             WHERE p.source = ?1 AND p.present = 1
               AND (l.url LIKE 'post:%' OR l.url LIKE 'local:%'
                    OR l.static_reason LIKE 'local file %' OR l.static_reason LIKE 'no file %')",
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
        let tx = self.write_tx()?;
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
        let (span_start, span_end) = match c.span {
            Some((s, e)) => (Some(s as i64), Some(e as i64)),
            None => (None, None),
        };
        tx.prepare_cached(
            "INSERT INTO citations (post_id, link_id, line, text, kind, raw, fragment, span_start, span_end, quote)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        )?
        .execute(params![
            post_id,
            link_id,
            c.line,
            c.text,
            c.kind,
            c.raw,
            c.fragment,
            span_start,
            span_end,
            c.quote
        ])?;
    }
    Ok(())
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

/// Link ids already looked up during a scan. A link's id never changes (links are never
/// deleted), so the cache cannot go stale while a scan runs.
#[derive(Debug, Default)]
pub struct LinkIds(HashMap<String, i64>);
