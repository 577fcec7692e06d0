//! Checks: the links to fetch, and one check written with its snapshot and the link's new state.

use super::*;
use crate::fetch::NetworkFailure;

impl Store {
    /// Cited links that need the network (no static verdict), optionally only those URLs.
    pub fn links_to_check(&self, only: Option<&[String]>) -> Result<Vec<LinkToCheck>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {LINK_TO_CHECK} FROM links l WHERE {CHECKABLE} ORDER BY id"
        ))?;
        let rows = stmt.query_map([], link_to_check)?;
        let all: Vec<LinkToCheck> = rows.collect::<rusqlite::Result<_>>()?;
        Ok(match only {
            None => all,
            Some(urls) => all
                .into_iter()
                .filter(|l| urls.iter().any(|u| u == &l.url))
                .collect(),
        })
    }

    /// The ids of [`Store::links_to_check`] (all of them), in id order: what a run checks, each
    /// link read when its turn comes ([`Reads::links_by_id`]).
    pub fn link_ids_to_check(&self) -> Result<Vec<i64>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT id FROM links l WHERE {CHECKABLE} ORDER BY id"
        ))?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
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

    /// Records one check: the snapshot (once per hash), the check row and the link's new state,
    /// in one transaction.
    pub fn record_check(&mut self, rec: &CheckRecord) -> Result<Current> {
        let mut out = self.record_checks(std::slice::from_ref(rec))?;
        Ok(out.remove(0))
    }

    /// Records several checks in one transaction: each is whole or absent after a crash, and a
    /// busy run pays for one commit per batch instead of one per link.
    pub fn record_checks(&mut self, recs: &[CheckRecord]) -> Result<Vec<Current>> {
        let tx = self.write_tx()?;
        let mut out = Vec::with_capacity(recs.len());
        for rec in recs {
            out.push(write_check(&tx, rec)?);
        }
        tx.commit()?;
        Ok(out)
    }

    /// Makes the latest archived snapshot of a link its baseline (`citewatch accept`). A link in
    /// `changed` is `ok` again from now on. Returns the new baseline's hash.
    pub fn accept(&mut self, link_id: i64, now: DateTime<Utc>) -> Result<Option<String>> {
        let tx = self.write_tx()?;
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
                facts: crate::rows::LinkFacts {
                    url: r.get(1)?,
                    state: state_col(&r.get::<_, String>(2)?),
                    checked_at: opt_time_col(r, 3)?,
                    streak: r.get::<_, i64>(4)?.max(0) as u32,
                    confirmed: r.get::<_, Option<String>>(5)?.is_some(),
                },
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

/// Writes one check: the snapshot (once per hash), the check row and the link's new state.
pub(super) fn write_check(tx: &Transaction<'_>, rec: &CheckRecord) -> Result<Current> {
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
                "INSERT INTO snapshots (hash, size, body, content_type, headers, title, text, truncated, created_at, text_version)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, CASE WHEN ?7 IS NULL THEN NULL ELSE ?10 END)
                 ON CONFLICT (hash) DO UPDATE SET text = excluded.text, text_version = excluded.text_version
                 WHERE (snapshots.text IS NULL OR snapshots.text_version IS NOT excluded.text_version)
                   AND excluded.text IS NOT NULL",
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
                ts(rec.checked_at),
                crate::readable::VERSION
            ])?;
        }
        Some(NewSnapshot {
            hash,
            text: Some(text),
            body_zstd: None,
            ..
        }) => {
            // Text read now is of the current extraction: it replaces a missing or older one.
            tx.prepare_cached(
                "UPDATE snapshots SET text = ?2, text_version = ?3
                 WHERE hash = ?1 AND (text IS NULL OR text_version IS NOT ?3)",
            )?
            .execute(params![hash, text, crate::readable::VERSION])?;
        }
        _ => {}
    }
    tx.prepare_cached(
        "INSERT INTO checks (link_id, checked_at, state, http_status, final_url, redirects, error, elapsed_ms, attempts, snapshot, similarity, cycle_id, network)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
    )?
    .execute(params![
        rec.link_id,
        ts(rec.checked_at),
        rec.state.as_str(),
        rec.http_status,
        rec.final_url,
        rec.redirects.as_ref().map(crate::fetch::Redirects::to_json),
        rec.error,
        rec.elapsed_ms as i64,
        rec.attempts,
        snap_hash,
        rec.similarity,
        rec.cycle_id,
        rec.network.map(NetworkFailure::as_str)
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
    if let Some((hash, text)) = &rec.baseline_text {
        tx.prepare_cached("UPDATE snapshots SET text = ?2, text_version = ?3 WHERE hash = ?1")?
            .execute(params![hash, text, crate::readable::VERSION])?;
    }
    for f in &rec.fragments {
        tx.prepare_cached(
            "INSERT INTO fragments (link_id, fragment, standing, reason, seen_present, checked_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (link_id, fragment) DO UPDATE SET standing = ?3, reason = ?4,
               seen_present = MAX(seen_present, ?5), checked_at = ?6",
        )?
        .execute(params![
            rec.link_id,
            f.fragment,
            f.standing,
            f.reason,
            f.seen_present,
            ts(rec.checked_at)
        ])?;
    }
    Ok(next)
}

/// The current state of a link inside a transaction.
fn current_of(tx: &Transaction<'_>, link_id: i64) -> Result<Option<Current>> {
    Ok(tx
        .prepare_cached("SELECT state, since, streak, checked_at FROM links WHERE id = ?1")?
        .query_row(params![link_id], |r| {
            Ok(Current {
                state: state_col(&r.get::<_, String>(0)?),
                since: time_col(r, 1)?,
                streak: r.get::<_, i64>(2)?.max(0) as u32,
                checked_at: opt_time_col(r, 3)?,
            })
        })
        .optional()?)
}

impl Reads<'_> {
    /// Those of `ids` that are still links to check ([`Store::links_to_check`]), in the order of
    /// `ids` (a daemon cycle's most overdue first).
    pub fn links_by_id(&self, ids: &[i64]) -> Result<Vec<LinkToCheck>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let wanted = json_list(ids);
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {LINK_TO_CHECK} FROM links l
             WHERE l.id IN (SELECT value FROM json_each(?1)) AND {CHECKABLE}"
        ))?;
        let mut found: std::collections::HashMap<i64, LinkToCheck> = stmt
            .query_map(params![wanted], link_to_check)?
            .map(|r| r.map(|l| (l.id, l)))
            .collect::<rusqlite::Result<_>>()?;
        Ok(ids.iter().filter_map(|id| found.remove(id)).collect())
    }
}

/// Which links are checked: cited, and with no verdict decided without the network.
const CHECKABLE: &str =
    "l.static_state IS NULL AND EXISTS (SELECT 1 FROM citations c WHERE c.link_id = l.id)";

/// What a [`LinkToCheck`] is read from (`links l`).
const LINK_TO_CHECK: &str = "l.id, l.url, l.state, l.since, l.streak, l.checked_at, l.baseline,
     l.volatile,
     (SELECT snapshot FROM checks k WHERE k.link_id = l.id
      ORDER BY checked_at DESC, id DESC LIMIT 1)";

fn link_to_check(r: &rusqlite::Row<'_>) -> rusqlite::Result<LinkToCheck> {
    Ok(LinkToCheck {
        id: r.get(0)?,
        url: r.get(1)?,
        current: Current {
            state: state_col(&r.get::<_, String>(2)?),
            since: time_col(r, 3)?,
            streak: r.get::<_, i64>(4)?.max(0) as u32,
            checked_at: opt_time_col(r, 5)?,
        },
        baseline: r.get(6)?,
        volatile: r
            .get::<_, Option<String>>(7)?
            .and_then(|v| serde_json::from_str(&v).ok()),
        last_snapshot: r.get(8)?,
    })
}
