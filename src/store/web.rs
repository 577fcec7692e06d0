//! Reads for the dashboard (`citewatch serve`): paginated queries that cost one page of rows and
//! an index probe or two per row, never a pass over every link or every check (the CLI's
//! `status` loads all links, which is fine for a report and too slow for a page). Only `SELECT`s:
//! the dashboard runs them on read-only connections of its own, beside the writer.
//!
//! Indexes they rely on: `links(url)` (unique, for host ranges), `links_state`,
//! `citations_post`, `citations_link`, `checks_link_time`, `checks_cycle_network` (migration 7).

use rusqlite::types::Value as Sql;

use super::alerts::{alert_row, ALERT_COLUMNS};
use super::query::{check_row, status_row, CHECK_COLUMNS, STATUS_COLUMNS};
use super::*;
use crate::view::CheckEvent;
use crate::view::{
    count_array, CitedBy, LastCycle, LinkFilter, LinkPage, LinkRow, LinkSnapshot, LinkSort,
    MetricsFacts, PageReq, Paged, PostCitation, PostInfo, PostSort, PostSummary, SnapshotInfo,
    TimelineCheck, Transition, TIMELINE_CHECKS,
};

/// Transitions shown at most (the most recent): a link that flaps daily for years has thousands.
const MAX_TRANSITIONS: usize = 1000;

/// Checks listed under a link's timeline.
const RECENT_CHECKS: i64 = 20;

/// A `LIKE` pattern matching `s` anywhere, with `%`, `_` and `\` taken literally (`ESCAPE '\'`).
fn contains(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('%');
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// The smallest string greater than every string starting with `prefix` (its last character
/// moved up by one), to turn a prefix into an index range.
fn after_prefix(prefix: &str) -> String {
    let mut chars: Vec<char> = prefix.chars().collect();
    match chars.pop().and_then(|c| char::from_u32(c as u32 + 1)) {
        Some(next) => {
            chars.push(next);
            chars.into_iter().collect()
        }
        None => format!("{prefix}\u{10ffff}"),
    }
}

fn rotted_list() -> String {
    State::ROTTED
        .iter()
        .map(|s| format!("'{}'", s.as_str()))
        .collect::<Vec<_>>()
        .join(",")
}

fn placeholders(n: usize) -> String {
    vec!["?"; n].join(",")
}

fn snapshot_info(r: &rusqlite::Row<'_>) -> rusqlite::Result<SnapshotInfo> {
    Ok(SnapshotInfo {
        hash: r.get(0)?,
        fetched_at: time_col(r, 1)?,
        content_type: r.get(2)?,
        size: r.get::<_, i64>(3)?.max(0) as u64,
        title: r.get(4)?,
        truncated: r.get(5)?,
    })
}

fn span_of(s: Option<i64>, e: Option<i64>) -> Option<(u64, u64)> {
    match (s, e) {
        (Some(s), Some(e)) if s >= 0 && e >= s => Some((s as u64, e as u64)),
        _ => None,
    }
}

fn total(n: i64) -> u64 {
    n.max(0) as u64
}

impl Store {
    /// Cited links per state, in `State::ALL` order.
    pub fn web_counts(&self) -> Result<[u64; 9]> {
        Ok(count_array(&self.counts()?))
    }

    /// Posts present.
    pub fn web_post_count(&self) -> Result<u64> {
        let n: i64 = self
            .conn
            .prepare_cached("SELECT COUNT(*) FROM posts WHERE present = 1")?
            .query_row([], |r| r.get(0))?;
        Ok(total(n))
    }

    /// One page of cited links matching `f`, each with its citations by present posts.
    pub fn web_links(&self, f: &LinkFilter, page: PageReq) -> Result<Paged<LinkRow>> {
        let mut cond =
            vec!["EXISTS (SELECT 1 FROM citations c WHERE c.link_id = l.id)".to_string()];
        let mut args: Vec<Sql> = Vec::new();
        if !f.states.is_empty() {
            cond.push(format!("l.state IN ({})", placeholders(f.states.len())));
            args.extend(f.states.iter().map(|s| Sql::Text(s.as_str().into())));
        }
        if let Some(host) = &f.host {
            // Exact host, any scheme and port, as ranges of the unique index on `url`.
            let host = host.trim().trim_end_matches('/').to_ascii_lowercase();
            let mut ranges = Vec::new();
            for scheme in ["http", "https"] {
                for sep in ["/", ":"] {
                    let prefix = format!("{scheme}://{host}{sep}");
                    ranges.push("(l.url >= ? AND l.url < ?)".to_string());
                    args.push(Sql::Text(after_prefix(&prefix)));
                    args.insert(args.len() - 1, Sql::Text(prefix));
                }
            }
            cond.push(format!("({})", ranges.join(" OR ")));
        }
        // Substring filters over citations and posts: the matching links are found in one pass
        // over those tables (a set), not by a probe per link.
        if let Some(post) = &f.post {
            cond.push(
                "l.id IN (SELECT c.link_id FROM posts p JOIN citations c ON c.post_id = p.id
                   WHERE p.present = 1 AND p.path LIKE ? ESCAPE '\\')"
                    .into(),
            );
            args.push(Sql::Text(contains(post)));
        }
        if let Some(text) = &f.text {
            cond.push(
                "(l.url LIKE ? ESCAPE '\\' OR l.error LIKE ? ESCAPE '\\' OR l.id IN (SELECT c.link_id FROM citations c
                   WHERE c.text LIKE ? ESCAPE '\\' OR c.quote LIKE ? ESCAPE '\\'))"
                    .into(),
            );
            let p = contains(text);
            for _ in 0..4 {
                args.push(Sql::Text(p.clone()));
            }
        }
        let wher = cond.join(" AND ");
        // The count and the page are two queries: the page, in index order, stops after its
        // rows (a window count over the matches would make every page sort them all).
        let count: i64 = self.conn.query_row(
            &format!("SELECT COUNT(*) FROM links l WHERE {wher}"),
            rusqlite::params_from_iter(args.iter()),
            |r| r.get(0),
        )?;
        let order = match f.sort {
            LinkSort::Url => "l.url",
            LinkSort::Since => "l.since DESC, l.id DESC",
        };
        let mut page_args = args.clone();
        page_args.push(Sql::Integer(page.limit()));
        page_args.push(Sql::Integer(page.offset()));
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {STATUS_COLUMNS} FROM links l WHERE {wher} ORDER BY {order} LIMIT ? OFFSET ?"
        ))?;
        let rows: Vec<StatusRow> = stmt
            .query_map(rusqlite::params_from_iter(page_args.iter()), status_row)?
            .collect::<rusqlite::Result<_>>()?;
        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        let mut cites = self.citations_by_link(&ids)?;
        let items = rows
            .into_iter()
            .map(|mut status| {
                let found = cites.remove(&status.id).unwrap_or_default();
                let post_ids = found.iter().map(|c| c.post_id).collect();
                status.citations = found.into_iter().map(|c| c.citation).collect();
                LinkRow { status, post_ids }
            })
            .collect();
        Ok(Paged {
            items,
            total: total(count),
            page,
        })
    }

    /// The citations of some links by present posts, in post and line order (as
    /// `citations_of`), with their posts.
    fn citations_by_link(&self, ids: &[i64]) -> Result<HashMap<i64, Vec<CitedBy>>> {
        let mut out: HashMap<i64, Vec<CitedBy>> = HashMap::new();
        if ids.is_empty() {
            return Ok(out);
        }
        let mut stmt = self.conn.prepare(&format!(
            "SELECT c.link_id, p.id, p.title, p.path, c.line, c.text, c.kind, c.fragment, c.span_start, c.span_end, c.quote
             FROM citations c JOIN posts p ON p.id = c.post_id
             WHERE c.link_id IN ({}) AND p.present = 1 ORDER BY p.path, c.line",
            placeholders(ids.len())
        ))?;
        let rows = stmt.query_map(rusqlite::params_from_iter(ids.iter()), |r| {
            Ok((
                r.get::<_, i64>(0)?,
                CitedBy {
                    post_id: r.get(1)?,
                    post_title: r.get(2)?,
                    citation: CitationRow {
                        post: r.get(3)?,
                        line: r.get(4)?,
                        text: r.get(5)?,
                        kind: r.get(6)?,
                        fragment: r.get(7)?,
                        span: span_of(r.get(8)?, r.get(9)?),
                        quote: r.get(10)?,
                        ..Default::default()
                    },
                },
            ))
        })?;
        for row in rows {
            let (link, c) = row?;
            out.entry(link).or_default().push(c);
        }
        Ok(out)
    }

    /// One page of present posts whose path or title contains `text`.
    pub fn web_posts(
        &self,
        text: Option<&str>,
        sort: PostSort,
        page: PageReq,
    ) -> Result<Paged<PostSummary>> {
        let pattern = text.map(contains);
        let filter = "p.present = 1 AND (?1 IS NULL OR p.path LIKE ?1 ESCAPE '\\' OR p.title LIKE ?1 ESCAPE '\\')";
        let count: i64 = self.conn.query_row(
            &format!("SELECT COUNT(*) FROM posts p WHERE {filter}"),
            params![pattern],
            |r| r.get(0),
        )?;
        let sql = match sort {
            PostSort::Path => format!(
                "SELECT p.id FROM posts p WHERE {filter} ORDER BY p.path, p.source LIMIT ?2 OFFSET ?3"
            ),
            PostSort::Rot => format!(
                "SELECT p.id FROM posts p WHERE {filter}
                 ORDER BY (SELECT COUNT(*) FROM citations c JOIN links l ON l.id = c.link_id
                           WHERE c.post_id = p.id AND l.state IN ({})) DESC, p.path, p.source
                 LIMIT ?2 OFFSET ?3",
                rotted_list()
            ),
        };
        let ids: Vec<i64> = self
            .conn
            .prepare(&sql)?
            .query_map(params![pattern, page.limit(), page.offset()], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(Paged {
            items: self.post_summaries(&ids)?,
            total: total(count),
            page,
        })
    }

    /// The present posts with the most rotted citations, most first (posts with none left out).
    pub fn web_top_posts(&self, limit: usize) -> Result<Vec<PostSummary>> {
        let ids: Vec<i64> = self
            .conn
            .prepare(&format!(
                "SELECT c.post_id FROM links l JOIN citations c ON c.link_id = l.id JOIN posts p ON p.id = c.post_id
                 WHERE l.state IN ({}) AND p.present = 1
                 GROUP BY c.post_id ORDER BY COUNT(*) DESC, p.path LIMIT ?1",
                rotted_list()
            ))?
            .query_map(params![limit as i64], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        self.post_summaries(&ids)
    }

    /// Posts by id, in the order given, with their citations counted per state.
    fn post_summaries(&self, ids: &[i64]) -> Result<Vec<PostSummary>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let list = placeholders(ids.len());
        let mut posts: HashMap<i64, PostSummary> = self
            .conn
            .prepare(&format!(
                "SELECT id, source, path, title, date, url FROM posts WHERE id IN ({list})"
            ))?
            .query_map(rusqlite::params_from_iter(ids.iter()), |r| {
                Ok(PostSummary {
                    id: r.get(0)?,
                    source: r.get(1)?,
                    path: r.get(2)?,
                    title: r.get(3)?,
                    date: r.get(4)?,
                    url: r.get(5)?,
                    citations: 0,
                    rotted: 0,
                    counts: Vec::new(),
                })
            })?
            .map(|p| p.map(|p| (p.id, p)))
            .collect::<rusqlite::Result<_>>()?;
        let mut stmt = self.conn.prepare(&format!(
            "SELECT c.post_id, l.state, COUNT(*) FROM citations c JOIN links l ON l.id = c.link_id
             WHERE c.post_id IN ({list}) GROUP BY c.post_id, l.state"
        ))?;
        let rows = stmt.query_map(rusqlite::params_from_iter(ids.iter()), |r| {
            Ok((
                r.get::<_, i64>(0)?,
                state_col(&r.get::<_, String>(1)?),
                total(r.get(2)?),
            ))
        })?;
        for row in rows {
            let (id, state, n) = row?;
            if let Some(p) = posts.get_mut(&id) {
                p.citations += n;
                if state.is_rotted() {
                    p.rotted += n;
                }
                p.counts.push((state, n));
            }
        }
        Ok(ids
            .iter()
            .filter_map(|id| posts.remove(id))
            .map(|mut p| {
                p.counts.sort();
                p
            })
            .collect())
    }

    /// A post by id, present or gone.
    pub fn web_post(&self, id: i64) -> Result<Option<PostInfo>> {
        Ok(self
            .conn
            .query_row(
                "SELECT id, source, path, title, date, url, present, scanned_at FROM posts WHERE id = ?1",
                params![id],
                |r| {
                    Ok(PostInfo {
                        id: r.get(0)?,
                        source: r.get(1)?,
                        path: r.get(2)?,
                        title: r.get(3)?,
                        date: r.get(4)?,
                        url: r.get(5)?,
                        present: r.get(6)?,
                        scanned_at: time_col(r, 7)?,
                    })
                },
            )
            .optional()?)
    }

    /// One page of a post's citations in reading order, with their links' states and snapshots.
    /// Quote standing is left `Unknown` for the caller to judge (it reads the snapshot text).
    pub fn web_post_citations(&self, post_id: i64, page: PageReq) -> Result<Paged<PostCitation>> {
        let count: i64 = self
            .conn
            .prepare_cached("SELECT COUNT(*) FROM citations WHERE post_id = ?1")?
            .query_row(params![post_id], |r| r.get(0))?;
        let mut stmt = self.conn.prepare_cached(
            "SELECT c.link_id, l.url, c.line, c.text, c.kind, c.raw, c.fragment, c.quote, c.span_start, c.span_end,
                    l.state, l.since, l.checked_at, l.http_status, l.final_url, l.error,
                    (SELECT archived_url FROM wayback w WHERE w.link_id = l.id), l.baseline,
                    (SELECT confirmed FROM confirmations f WHERE f.link_id = l.id),
                    (SELECT k.snapshot FROM checks k WHERE k.link_id = l.id AND k.snapshot IS NOT NULL
                     ORDER BY k.checked_at DESC, k.id DESC LIMIT 1)
             FROM citations c JOIN links l ON l.id = c.link_id
             WHERE c.post_id = ?1 ORDER BY c.line, c.span_start, c.id LIMIT ?2 OFFSET ?3",
        )?;
        type Raw = (PostCitation, Option<String>, Option<String>);
        let rows: Vec<Raw> = stmt
            .query_map(params![post_id, page.limit(), page.offset()], |r| {
                Ok((
                    PostCitation {
                        link_id: r.get(0)?,
                        url: r.get(1)?,
                        line: r.get(2)?,
                        text: r.get(3)?,
                        kind: r.get(4)?,
                        raw: r.get(5)?,
                        fragment: r.get(6)?,
                        quote: r.get(7)?,
                        span: span_of(r.get(8)?, r.get(9)?),
                        state: state_col(&r.get::<_, String>(10)?),
                        since: time_col(r, 11)?,
                        checked_at: opt_time_col(r, 12)?,
                        http_status: status_col(r, 13)?,
                        final_url: r.get(14)?,
                        error: r.get(15)?,
                        archived_url: r.get(16)?,
                        baseline: None,
                        latest: None,
                        confirmed: r.get::<_, Option<String>>(18)?.and_then(|s| s.parse().ok()),
                        quote_standing: Some(crate::quote::Standing::Unknown),
                    },
                    r.get(17)?,
                    r.get(19)?,
                ))
            })?
            .collect::<rusqlite::Result<_>>()?;
        let mut items = Vec::with_capacity(rows.len());
        for (mut c, baseline, latest) in rows {
            c.baseline = baseline
                .map(|h| self.web_snapshot_info(&h))
                .transpose()?
                .flatten();
            c.latest = latest
                .map(|h| self.web_snapshot_info(&h))
                .transpose()?
                .flatten();
            if c.quote.is_none() {
                c.quote_standing = None;
            }
            items.push(c);
        }
        Ok(Paged {
            items,
            total: total(count),
            page,
        })
    }

    /// A snapshot's facts, without its body.
    pub fn web_snapshot_info(&self, hash: &str) -> Result<Option<SnapshotInfo>> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT hash, created_at, content_type, size, title, truncated FROM snapshots WHERE hash = ?1",
            )?
            .query_row(params![hash], snapshot_info)
            .optional()?)
    }

    /// A snapshot of a link, with the link's URL, the URL the check that archived it ended at
    /// (relative links in the page resolve against it) and whether it is the link's baseline.
    /// `None` unless the link's baseline is that snapshot or one of its checks archived it, so a
    /// page never claims to be an archived copy of a URL it is not.
    pub fn web_link_snapshot(&self, link_id: i64, hash: &str) -> Result<Option<LinkSnapshot>> {
        let link: Option<(String, Option<String>)> = self
            .conn
            .prepare_cached("SELECT url, baseline FROM links WHERE id = ?1")?
            .query_row(params![link_id], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        let Some((url, baseline)) = link else {
            return Ok(None);
        };
        let check: Option<Option<String>> = self
            .conn
            .prepare_cached(
                "SELECT final_url FROM checks WHERE link_id = ?1 AND snapshot = ?2 ORDER BY checked_at, id LIMIT 1",
            )?
            .query_row(params![link_id, hash], |r| r.get(0))
            .optional()?;
        let as_cited = baseline.as_deref() == Some(hash);
        if check.is_none() && !as_cited {
            return Ok(None);
        }
        Ok(self.web_snapshot_info(hash)?.map(|info| LinkSnapshot {
            info,
            url,
            final_url: check.flatten(),
            as_cited,
        }))
    }

    /// The archived copy of the image at `url`, when citewatch fetched that URL itself: the
    /// link's id and the snapshot (the one as cited, else the latest), if it is an image.
    pub fn web_image(&self, url: &str) -> Result<Option<(i64, String)>> {
        let found: Option<(i64, Option<String>)> = self
            .conn
            .prepare_cached(
                "SELECT l.id, COALESCE(l.baseline, (SELECT k.snapshot FROM checks k
                   WHERE k.link_id = l.id AND k.snapshot IS NOT NULL ORDER BY k.checked_at DESC, k.id DESC LIMIT 1))
                 FROM links l WHERE l.url = ?1",
            )?
            .query_row(params![url], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        let Some((id, Some(hash))) = found else {
            return Ok(None);
        };
        let is_image = self
            .web_snapshot_info(&hash)?
            .and_then(|s| s.content_type)
            .is_some_and(|ct| ct.trim_start().to_ascii_lowercase().starts_with("image/"));
        Ok(is_image.then_some((id, hash)))
    }

    /// A link's page: state, citations, snapshots, transitions, timeline, recent checks and its
    /// last redirect chain. The diff is the caller's (it reads both texts).
    pub fn web_link(&self, id: i64) -> Result<Option<LinkPage>> {
        let row = self
            .conn
            .query_row(
                &format!("SELECT {STATUS_COLUMNS} FROM links l WHERE l.id = ?1"),
                params![id],
                status_row,
            )
            .optional()?;
        let Some(mut status) = row else {
            return Ok(None);
        };
        let cited_by = self
            .citations_by_link(&[id])?
            .remove(&id)
            .unwrap_or_default();
        status.citations = cited_by.iter().map(|c| c.citation.clone()).collect();
        let (first_seen, baseline): (DateTime<Utc>, Option<String>) = self.conn.query_row(
            "SELECT first_seen, baseline FROM links WHERE id = ?1",
            params![id],
            |r| Ok((time_col(r, 0)?, r.get(1)?)),
        )?;
        let confirmed: Option<State> = self
            .conn
            .query_row(
                "SELECT confirmed FROM confirmations WHERE link_id = ?1",
                params![id],
                |r| r.get::<_, Option<String>>(0),
            )
            .optional()?
            .flatten()
            .and_then(|s| s.parse().ok());
        let checks: i64 = self.conn.query_row(
            "SELECT COUNT(*) FROM checks WHERE link_id = ?1",
            params![id],
            |r| r.get(0),
        )?;
        let latest: Option<String> = self
            .conn
            .query_row(
                "SELECT snapshot FROM checks WHERE link_id = ?1 AND snapshot IS NOT NULL
                 ORDER BY checked_at DESC, id DESC LIMIT 1",
                params![id],
                |r| r.get(0),
            )
            .optional()?;
        let mut transitions: Vec<Transition> = self
            .conn
            .prepare(
                "SELECT checked_at, prev, state, http_status, error FROM (
                   SELECT checked_at, id, state, http_status, error,
                          LAG(state) OVER (ORDER BY checked_at, id) AS prev
                   FROM checks WHERE link_id = ?1)
                 WHERE prev IS NULL OR prev <> state ORDER BY checked_at DESC, id DESC LIMIT ?2",
            )?
            .query_map(params![id, MAX_TRANSITIONS as i64], |r| {
                Ok(Transition {
                    at: time_col(r, 0)?,
                    from: r.get::<_, Option<String>>(1)?.map(|s| state_col(&s)),
                    to: state_col(&r.get::<_, String>(2)?),
                    http_status: status_col(r, 3)?,
                    error: r.get(4)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        transitions.reverse();
        let mut timeline: Vec<TimelineCheck> = self
            .conn
            .prepare(
                "SELECT checked_at, state, http_status, elapsed_ms FROM checks WHERE link_id = ?1
                 ORDER BY checked_at DESC, id DESC LIMIT ?2",
            )?
            .query_map(params![id, TIMELINE_CHECKS as i64], |r| {
                Ok(TimelineCheck {
                    checked_at: time_col(r, 0)?,
                    state: state_col(&r.get::<_, String>(1)?),
                    http_status: status_col(r, 2)?,
                    elapsed_ms: r.get::<_, i64>(3)?.max(0) as u64,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        timeline.reverse();
        let recent: Vec<CheckRow> = self
            .conn
            .prepare(&format!(
                "SELECT {CHECK_COLUMNS} FROM checks WHERE link_id = ?1 ORDER BY checked_at DESC, id DESC LIMIT ?2"
            ))?
            .query_map(params![id, RECENT_CHECKS], check_row)?
            .collect::<rusqlite::Result<_>>()?;
        let redirects: Option<(DateTime<Utc>, String)> = self
            .conn
            .query_row(
                "SELECT checked_at, redirects FROM checks WHERE link_id = ?1 AND redirects IS NOT NULL
                 ORDER BY checked_at DESC, id DESC LIMIT 1",
                params![id],
                |r| Ok((time_col(r, 0)?, r.get(1)?)),
            )
            .optional()?;
        let redirects = redirects.and_then(|(at, json)| {
            crate::fetch::Redirects::from_json(&json).map(|chain| (at, chain))
        });
        Ok(Some(LinkPage {
            status,
            cited_by,
            confirmed,
            first_seen,
            baseline: baseline
                .map(|h| self.web_snapshot_info(&h))
                .transpose()?
                .flatten(),
            latest: latest
                .map(|h| self.web_snapshot_info(&h))
                .transpose()?
                .flatten(),
            transitions,
            timeline,
            checks: total(checks),
            recent,
            redirects,
            diff: None,
        }))
    }

    /// One page of a link's checks, oldest first (`citewatch history`).
    pub fn web_checks(&self, link_id: i64, page: PageReq) -> Result<Paged<CheckRow>> {
        let count: i64 = self.conn.query_row(
            "SELECT COUNT(*) FROM checks WHERE link_id = ?1",
            params![link_id],
            |r| r.get(0),
        )?;
        let items = self
            .conn
            .prepare(&format!(
                "SELECT {CHECK_COLUMNS} FROM checks WHERE link_id = ?1 ORDER BY checked_at, id LIMIT ?2 OFFSET ?3"
            ))?
            .query_map(params![link_id, page.limit(), page.offset()], check_row)?
            .collect::<rusqlite::Result<_>>()?;
        Ok(Paged {
            items,
            total: total(count),
            page,
        })
    }

    /// One page of alert events, newest first, with their deliveries (`citewatch alerts`).
    pub fn web_alerts(&self, page: PageReq) -> Result<Paged<AlertRow>> {
        let count: i64 = self
            .conn
            .query_row("SELECT COUNT(*) FROM alert_events", [], |r| r.get(0))?;
        let events: Vec<(i64, AlertRow)> = self
            .conn
            .prepare(&format!(
                "SELECT {ALERT_COLUMNS} ORDER BY e.id DESC LIMIT ?1 OFFSET ?2"
            ))?
            .query_map(params![page.limit(), page.offset()], alert_row)?
            .collect::<rusqlite::Result<_>>()?;
        let mut deliveries: HashMap<i64, Vec<DeliveryRow>> = HashMap::new();
        if !events.is_empty() {
            let ids: Vec<i64> = events.iter().map(|(id, _)| *id).collect();
            let mut stmt = self.conn.prepare(&format!(
                "SELECT event_id, sink, state, attempts, last_error, delivered_at, next_attempt
                 FROM alert_deliveries WHERE event_id IN ({}) ORDER BY sink",
                placeholders(ids.len())
            ))?;
            let rows = stmt.query_map(rusqlite::params_from_iter(ids.iter()), |r| {
                let state: String = r.get(2)?;
                Ok((
                    r.get::<_, i64>(0)?,
                    DeliveryRow {
                        sink: r.get(1)?,
                        attempts: r.get::<_, i64>(3)?.max(0) as u32,
                        last_error: r.get(4)?,
                        delivered_at: opt_time_col(r, 5)?,
                        next_attempt: if state == "pending" {
                            opt_time_col(r, 6)?
                        } else {
                            None
                        },
                        state,
                    },
                ))
            })?;
            for row in rows {
                let (id, d) = row?;
                deliveries.entry(id).or_default().push(d);
            }
        }
        Ok(Paged {
            items: events
                .into_iter()
                .map(|(id, mut a)| {
                    a.deliveries = deliveries.remove(&id).unwrap_or_default();
                    a
                })
                .collect(),
            total: total(count),
            page,
        })
    }

    /// Checks written after `after` (by id), at most `limit`, in id order: what the dashboard's
    /// folded history has not seen yet.
    pub fn web_checks_after(&self, after: i64, limit: usize) -> Result<Vec<CheckEvent>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, link_id, checked_at, state, elapsed_ms FROM checks WHERE id > ?1 ORDER BY id LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![after, limit as i64], |r| {
            Ok(CheckEvent {
                id: r.get(0)?,
                link_id: r.get(1)?,
                checked_at: time_col(r, 2)?,
                state: state_col(&r.get::<_, String>(3)?),
                elapsed_ms: r.get::<_, i64>(4)?.max(0) as u64,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The highest check id (0 when there is none): a smaller one than the history has seen
    /// means the database was replaced.
    pub fn web_max_check_id(&self) -> Result<i64> {
        Ok(self
            .conn
            .query_row("SELECT COALESCE(MAX(id), 0) FROM checks", [], |r| r.get(0))?)
    }

    /// What `/metrics` reports besides the checks.
    pub fn web_metrics(&self) -> Result<MetricsFacts> {
        let mut facts = MetricsFacts {
            links: self.web_counts()?,
            ..MetricsFacts::default()
        };
        let mut stmt = self.conn.prepare_cached(
            "SELECT sink, state, COUNT(*) FROM alert_deliveries GROUP BY sink, state",
        )?;
        let rows = stmt.query_map([], |r| Ok(((r.get(0)?, r.get(1)?), total(r.get(2)?))))?;
        for row in rows {
            let (k, n) = row?;
            facts.deliveries.insert(k, n);
        }
        let (n, raw, stored): (i64, i64, i64) = self.conn.query_row(
            "SELECT COUNT(*), COALESCE(SUM(size), 0), COALESCE(SUM(LENGTH(body)), 0) FROM snapshots",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
        facts.snapshots = total(n);
        facts.archive_raw_bytes = total(raw);
        facts.archive_stored_bytes = total(stored);
        let size = |p: &Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
        let mut wal = self.path.clone().into_os_string();
        wal.push("-wal");
        facts.database_bytes = size(&self.path) + size(Path::new(&wal));
        type Last = (i64, String, DateTime<Utc>, Option<DateTime<Utc>>);
        let last: Option<Last> = self
            .conn
            .query_row(
                "SELECT id, kind, started_at, finished_at FROM cycles ORDER BY id DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, time_col(r, 2)?, opt_time_col(r, 3)?)),
            )
            .optional()?;
        if let Some((id, kind, started_at, finished_at)) = last {
            let checks: i64 = self.conn.query_row(
                "SELECT COUNT(*) FROM checks WHERE cycle_id = ?1",
                params![id],
                |r| r.get(0),
            )?;
            facts.last_cycle = Some(LastCycle {
                kind,
                started_at,
                finished_at,
                checks: total(checks),
            });
        }
        Ok(facts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_take_wildcards_literally() {
        assert_eq!(contains("50%_a\\b"), "%50\\%\\_a\\\\b%");
    }

    #[test]
    fn a_prefix_becomes_a_range() {
        assert_eq!(after_prefix("https://a.org/"), "https://a.org0");
        assert_eq!(after_prefix("https://a.org:"), "https://a.org;");
        let inside = |u: &str| u >= "https://a.org/" && u < after_prefix("https://a.org/").as_str();
        assert!(inside("https://a.org/x"));
        assert!(!inside("https://a.org.evil/") && !inside("https://a.orgx/"));
    }
}
