//! What citewatch asks of others about a link: soft-404 probes per site, Wayback Machine look-ups,
//! Save Page Now requests.

use super::*;

impl Store {
    pub fn save_probe(&mut self, p: &Probe) -> Result<()> {
        self.conn.execute(
            "INSERT INTO probes (origin, fetched_at, status, final_url, text) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (origin) DO UPDATE SET fetched_at = excluded.fetched_at, status = excluded.status,
               final_url = excluded.final_url, text = excluded.text",
            params![p.origin, ts(p.fetched_at), p.status, p.final_url, p.text],
        )?;
        Ok(())
    }

    /// Links in a state worth an archived copy (only confirmed ones when `confirmed_only`) whose
    /// look-up is missing, or found no copy before `stale`: `(id, url, date cited)`, at most
    /// `limit`.
    pub fn wayback_due(
        &self,
        stale: DateTime<Utc>,
        confirmed_only: bool,
        limit: usize,
    ) -> Result<Vec<(i64, String, String)>> {
        let mut stmt = self.conn.prepare(
            "SELECT l.id, l.url,
               COALESCE((SELECT MIN(p.date) FROM citations c JOIN posts p ON p.id = c.post_id
                         WHERE c.link_id = l.id AND p.date IS NOT NULL), l.first_seen)
             FROM links l LEFT JOIN wayback w ON w.link_id = l.id
             WHERE l.state IN ('broken', 'changed', 'soft_404') AND l.url LIKE 'http%'
               AND EXISTS (SELECT 1 FROM citations c WHERE c.link_id = l.id)
               AND (w.link_id IS NULL OR (w.archived_url IS NULL AND w.looked_up_at < ?1))
               AND (?2 = 0 OR EXISTS (SELECT 1 FROM confirmations f WHERE f.link_id = l.id AND f.confirmed IS NOT NULL))
             ORDER BY l.id LIMIT ?3",
        )?;
        let rows = stmt.query_map(params![ts(stale), confirmed_only, limit as i64], |r| {
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

    /// Links some post quotes from (a blockquote after the link's paragraph, `<blockquote cite>`,
    /// `<q cite>`, a quotation beside the link).
    pub fn quoted_links(&self) -> Result<std::collections::HashSet<i64>> {
        let mut stmt = self
            .conn
            .prepare("SELECT DISTINCT link_id FROM citations WHERE quote IS NOT NULL")?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The fragments present posts cite each link with (links without any are left out).
    pub fn cited_fragments(&self) -> Result<HashMap<i64, Vec<String>>> {
        let mut stmt = self.conn.prepare(
            "SELECT DISTINCT c.link_id, c.fragment FROM citations c JOIN posts p ON p.id = c.post_id
             WHERE c.fragment IS NOT NULL AND c.fragment <> '' AND p.present = 1",
        )?;
        let mut out: HashMap<i64, Vec<String>> = HashMap::new();
        for row in stmt.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))? {
            let (link, fragment) = row?;
            out.entry(link).or_default().push(fragment);
        }
        Ok(out)
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

impl Reads<'_> {
    /// The cached probe of an origin, if fetched after `fresh_after`.
    pub fn probe(&self, origin: &str, fresh_after: DateTime<Utc>) -> Result<Option<Probe>> {
        Ok(self
            .conn
            .prepare_cached("SELECT fetched_at, status, final_url, text FROM probes WHERE origin = ?1 AND fetched_at >= ?2")?
            .query_row(params![origin, ts(fresh_after)], |r| {
                Ok(Probe {
                    origin: origin.to_string(),
                    fetched_at: time_col(r, 0)?,
                    status: status_col(r, 1)?,
                    final_url: r.get(2)?,
                    text: r.get(3)?,
                })
            })
            .optional()?)
    }
}
