//! What `citewatch fix` reads: the posts of a source that cite links worth repairing, with
//! where each such citation stands in the file; what is known of those links (state,
//! confirmation, archived copy); and their latest checks, from which a confirmed redirect is
//! decided.

use super::*;

/// A post of a source citing links worth repairing, as the last scan recorded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixPost {
    /// Relative to the source.
    pub path: String,
    /// What the scan recorded of the bytes it read (see `pipeline::post_hash`).
    pub hash: Option<String>,
    pub citations: Vec<FixCitation>,
}

/// One citation of such a post.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixCitation {
    /// The target's bytes in the file, as the scan found them.
    pub span: (u64, u64),
    /// The target as written (escapes decoded).
    pub raw: String,
    pub link_id: i64,
}

/// What is known of a link worth repairing.
#[derive(Debug, Clone, PartialEq)]
pub struct FixLink {
    pub id: i64,
    pub url: String,
    pub state: State,
    pub since: DateTime<Utc>,
    pub confirmed: Option<State>,
    pub streak: u32,
    pub archived_url: Option<String>,
    pub archived_timestamp: Option<String>,
    /// When its archived copy was last looked up, found or not.
    pub looked_up: Option<DateTime<Utc>>,
    /// The earliest date a present post citing it carries, else when it was first seen.
    pub cited: DateTime<Utc>,
}

/// One recorded check, for deciding redirects.
pub use crate::rows::RecordedCheck as FixCheck;

/// States a repair may answer.
const WORTH: &str = "('redirected', 'broken', 'soft_404', 'changed')";

impl Store {
    /// The present posts of `source` citing a link in a state worth repairing, by path, each
    /// with those citations (only those whose span is known), in file order.
    pub fn fix_posts(&self, source: &str) -> Result<Vec<FixPost>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT p.path, p.hash, c.span_start, c.span_end, c.raw, c.link_id
             FROM citations c JOIN posts p ON p.id = c.post_id JOIN links l ON l.id = c.link_id
             WHERE p.source = ?1 AND p.present = 1 AND c.span_start IS NOT NULL
               AND c.span_end IS NOT NULL AND l.state IN {WORTH}
             ORDER BY p.path, c.span_start, c.id"
        ))?;
        let rows = stmt.query_map(params![source], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, Option<String>>(1)?,
                FixCitation {
                    span: (
                        r.get::<_, i64>(2)?.max(0) as u64,
                        r.get::<_, i64>(3)?.max(0) as u64,
                    ),
                    raw: r.get(4)?,
                    link_id: r.get(5)?,
                },
            ))
        })?;
        let mut out: Vec<FixPost> = Vec::new();
        for row in rows {
            let (path, hash, c) = row?;
            match out.last_mut() {
                Some(p) if p.path == path => p.citations.push(c),
                _ => out.push(FixPost {
                    path,
                    hash,
                    citations: vec![c],
                }),
            }
        }
        Ok(out)
    }

    /// What is known of a link for `fix`.
    pub fn fix_link(&self, link_id: i64) -> Result<Option<FixLink>> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT l.id, l.url, l.state, l.since, f.confirmed, COALESCE(f.streak_count, 0),
                   w.archived_url, w.timestamp, w.looked_up_at,
                   COALESCE((SELECT MIN(p.date) FROM citations c JOIN posts p ON p.id = c.post_id
                             WHERE c.link_id = l.id AND p.present = 1 AND p.date IS NOT NULL),
                            l.first_seen)
                 FROM links l LEFT JOIN confirmations f ON f.link_id = l.id
                   LEFT JOIN wayback w ON w.link_id = l.id
                 WHERE l.id = ?1",
            )?
            .query_row(params![link_id], |r| {
                Ok(FixLink {
                    id: r.get(0)?,
                    url: r.get(1)?,
                    state: state_col(&r.get::<_, String>(2)?),
                    since: time_col(r, 3)?,
                    confirmed: r.get::<_, Option<String>>(4)?.map(|s| state_col(&s)),
                    streak: r.get::<_, i64>(5)?.clamp(0, u32::MAX as i64) as u32,
                    archived_url: r.get(6)?,
                    archived_timestamp: r.get(7)?,
                    looked_up: opt_time_col(r, 8)?,
                    cited: cited_date(&r.get::<_, String>(9)?),
                })
            })
            .optional()?)
    }

    /// The latest `n` checks of a link, oldest first.
    pub fn fix_checks(&self, link_id: i64, n: usize) -> Result<Vec<FixCheck>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT checked_at, state, final_url, redirects FROM checks WHERE link_id = ?1
             ORDER BY checked_at DESC, id DESC LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![link_id, n as i64], |r| {
            Ok(FixCheck {
                checked_at: time_col(r, 0)?,
                state: state_col(&r.get::<_, String>(1)?),
                final_url: r.get(2)?,
                redirects: r
                    .get::<_, Option<String>>(3)?
                    .and_then(|s| crate::fetch::Redirects::from_json(&s)),
            })
        })?;
        let mut out: Vec<FixCheck> = rows.collect::<rusqlite::Result<_>>()?;
        out.reverse();
        Ok(out)
    }
}

/// A post's date (`2019-03-25` or RFC 3339) or a stored time, as a time (midnight UTC for a date).
fn cited_date(s: &str) -> DateTime<Utc> {
    if let Ok(d) = chrono::NaiveDate::parse_from_str(s.get(..10).unwrap_or(s), "%Y-%m-%d") {
        if s.len() <= 10 {
            return d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc();
        }
    }
    parse_stored(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_times_read_alike() {
        assert_eq!(ts(cited_date("2019-03-25")), "2019-03-25T00:00:00Z");
        assert_eq!(
            ts(cited_date("2019-03-25T10:00:00Z")),
            "2019-03-25T10:00:00Z"
        );
    }
}
