//! Queries for the CLI and reports: status, history, snapshots, counts, sizes, the archive for export.

use super::*;

impl Store {
    /// Links with their current state and citations, filtered; sorted by URL.
    pub fn status(&self, filter: &StatusFilter) -> Result<Vec<StatusRow>> {
        self.status_kept(filter, |_| true)
    }

    /// [`Self::status`], keeping only the rows (citations read) for which `keep` holds: the
    /// rows left out are never held together, so memory follows what is kept, not the number
    /// of links (a run's summary of 50,000 links holds only the failing ones).
    pub fn status_kept(
        &self,
        filter: &StatusFilter,
        keep: impl Fn(&StatusRow) -> bool,
    ) -> Result<Vec<StatusRow>> {
        self.status_where("1", filter, keep)
    }

    /// The links a run reports: a failing state, or a citation whose fragment no check ever
    /// found on the page (see `StatusRow::is_failing`). Chosen in SQL, so a run over many good
    /// links reads none of their citations.
    pub fn failing(&self) -> Result<Vec<StatusRow>> {
        let states: Vec<String> = State::ALL
            .iter()
            .filter(|s| s.is_failing())
            .map(|s| format!("'{}'", s.as_str()))
            .collect();
        // The failing links found by the state's index and the few missing fragments, not by
        // testing every link (that read every link's row: 10 ms of a 5,000-link run's summary).
        let cond = format!(
            "l.id IN (SELECT id FROM links WHERE state IN ({})
                      UNION ALL
                      SELECT link_id FROM fragments WHERE standing = 'missing' AND NOT seen_present)",
            states.join(",")
        );
        let filter = StatusFilter {
            states: Vec::new(),
            post: None,
            cited_only: true,
        };
        self.status_where(&cond, &filter, |r| r.state.is_failing() || r.is_failing())
    }

    fn status_where(
        &self,
        cond: &str,
        filter: &StatusFilter,
        keep: impl Fn(&StatusRow) -> bool,
    ) -> Result<Vec<StatusRow>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {STATUS_COLUMNS} FROM links l
             WHERE (EXISTS (SELECT 1 FROM citations c WHERE c.link_id = l.id) OR ?1 = 0) AND {cond}
             ORDER BY url"
        ))?;
        let rows = stmt.query_map(params![filter.cited_only], status_row)?;
        let mut chosen = Vec::new();
        for row in rows {
            let row = row?;
            if filter.states.is_empty() || filter.states.contains(&row.state) {
                chosen.push(row);
            }
        }
        // Every chosen link's citations in one query (one per link took a 5,000-link run's
        // summary 10 ms).
        let ids: Vec<i64> = chosen.iter().map(|r| r.id).collect();
        let mut citations = self.reads().citations_of_each(&ids)?;
        let mut out = Vec::new();
        for mut row in chosen {
            row.citations = citations.remove(&row.id).unwrap_or_default();
            if let Some(p) = &filter.post {
                if !row.citations.iter().any(|c| c.post.contains(p.as_str())) {
                    continue;
                }
            }
            if !keep(&row) {
                continue;
            }
            out.push(row);
        }
        Ok(out)
    }

    /// One link's status row.
    pub fn link_status(&self, url: &str) -> Result<Option<StatusRow>> {
        self.reads().link_status(url)
    }

    /// One link's status row, by id.
    pub fn link_status_by_id(&self, id: i64) -> Result<Option<StatusRow>> {
        self.reads().link_status_by_id(id)
    }

    /// Where a link is cited, by present posts, in post and line order.
    pub fn citations_of(&self, link_id: i64) -> Result<Vec<CitationRow>> {
        self.reads().citations_of(link_id)
    }

    /// Every check of a link, oldest first.
    pub fn history(&self, link_id: i64) -> Result<Vec<CheckRow>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {CHECK_COLUMNS} FROM checks WHERE link_id = ?1 ORDER BY checked_at, id"
        ))?;
        let rows = stmt.query_map(params![link_id], check_row)?;
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
                        created_at: time_col(r, 7)?,
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
                checked_at: time_col(r, 2)?,
                http_status: status_col(r, 3)?,
                snapshot: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

/// A `CheckRow` from the columns [`CHECK_COLUMNS`].
pub(super) fn check_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<CheckRow> {
    Ok(CheckRow {
        id: r.get(0)?,
        checked_at: time_col(r, 1)?,
        state: state_col(&r.get::<_, String>(2)?),
        http_status: status_col(r, 3)?,
        final_url: r.get(4)?,
        redirects: r
            .get::<_, Option<String>>(5)?
            .and_then(|s| crate::fetch::Redirects::from_json(&s)),
        error: r.get(6)?,
        elapsed_ms: r.get::<_, i64>(7)?.max(0) as u64,
        attempts: r.get::<_, i64>(8)?.max(0) as u32,
        snapshot: r.get(9)?,
        similarity: r.get(10)?,
    })
}

/// The columns [`check_row`] reads, in its order.
pub(super) const CHECK_COLUMNS: &str = "id, checked_at, state, http_status, final_url, redirects, error, elapsed_ms, attempts, snapshot, similarity";

/// A `StatusRow` (without citations) from the columns `id, url, state, since, streak,
/// checked_at, http_status, final_url, error, archived_url`.
/// The columns [`status_row`] reads, for a query over `links l`. The last one is the one rule of
/// an unverified verdict: the link's latest check got no HTTP answer in a cycle that turned out to
/// be citewatch's own outage (this machine offline, a canary failed), so its state says nothing
/// about the web.
pub(super) const STATUS_COLUMNS: &str =
    "l.id, l.url, l.state, l.since, l.streak, l.checked_at, l.http_status, l.final_url, l.error,
     (SELECT archived_url FROM wayback w WHERE w.link_id = l.id),
     COALESCE((SELECT c.network IS NOT NULL AND y.outage IS NOT NULL
               FROM checks c JOIN cycles y ON y.id = c.cycle_id
               WHERE c.link_id = l.id ORDER BY c.checked_at DESC, c.id DESC LIMIT 1), 0)";

pub(super) fn status_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<StatusRow> {
    Ok(StatusRow {
        id: r.get(0)?,
        url: r.get(1)?,
        state: state_col(&r.get::<_, String>(2)?),
        since: time_col(r, 3)?,
        streak: r.get(4)?,
        checked_at: opt_time_col(r, 5)?,
        http_status: status_col(r, 6)?,
        final_url: r.get(7)?,
        error: r.get(8)?,
        archived_url: r.get(9)?,
        unverified: r.get(10)?,
        citations: Vec::new(),
    })
}

/// A passage a post quotes, with what its link's latest archived page says of it.
#[derive(Debug, Clone)]
pub struct QuoteRow {
    pub post: String,
    pub line: u32,
    pub url: String,
    pub state: State,
    pub quote: String,
    /// The link's latest archived snapshot, if any page was ever archived.
    pub snapshot: Option<String>,
    /// When that snapshot was fetched.
    pub fetched_at: Option<DateTime<Utc>>,
}

impl Store {
    /// Every quote of a present post (optionally posts whose path contains `post`), in post and
    /// line order.
    pub fn quotes(&self, post: Option<&str>) -> Result<Vec<QuoteRow>> {
        let mut stmt = self.conn.prepare(
            "SELECT p.path, c.line, l.url, l.state, c.quote,
                    (SELECT k.snapshot FROM checks k WHERE k.link_id = l.id AND k.snapshot IS NOT NULL
                     ORDER BY k.checked_at DESC, k.id DESC LIMIT 1),
                    (SELECT k.checked_at FROM checks k WHERE k.link_id = l.id AND k.snapshot IS NOT NULL
                     ORDER BY k.checked_at DESC, k.id DESC LIMIT 1)
             FROM citations c JOIN posts p ON p.id = c.post_id JOIN links l ON l.id = c.link_id
             WHERE c.quote IS NOT NULL AND p.present = 1 AND (?1 IS NULL OR instr(p.path, ?1) > 0)
             ORDER BY p.path, c.line",
        )?;
        let rows = stmt.query_map(params![post], |r| {
            Ok(QuoteRow {
                post: r.get(0)?,
                line: r.get(1)?,
                url: r.get(2)?,
                state: state_col(&r.get::<_, String>(3)?),
                quote: r.get(4)?,
                snapshot: r.get(5)?,
                fetched_at: opt_time_col(r, 6)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

impl Reads<'_> {
    /// One link's status row.
    pub fn link_status(&self, url: &str) -> Result<Option<StatusRow>> {
        let row = self
            .conn
            .query_row(
                &format!("SELECT {STATUS_COLUMNS} FROM links l WHERE l.url = ?1"),
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
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {CITATION_COLUMNS} FROM {CITATION_TABLES}
             WHERE c.link_id = ?1 AND p.present = 1 ORDER BY p.path, c.line"
        ))?;
        let rows = stmt.query_map(params![link_id], |r| citation_row(r, 0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// [`Reads::citations_of`] for each of `links` (those with none are left out), in one query.
    pub fn citations_of_each(&self, links: &[i64]) -> Result<HashMap<i64, Vec<CitationRow>>> {
        let mut out: HashMap<i64, Vec<CitationRow>> = HashMap::new();
        if links.is_empty() {
            return Ok(out);
        }
        let ids = json_list(links);
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT c.link_id, {CITATION_COLUMNS} FROM {CITATION_TABLES}
             WHERE c.link_id IN (SELECT value FROM json_each(?1)) AND p.present = 1
             ORDER BY c.link_id, p.path, c.line"
        ))?;
        let rows = stmt.query_map(params![ids], |r| {
            Ok((r.get::<_, i64>(0)?, citation_row(r, 1)?))
        })?;
        for row in rows {
            let (link, c) = row?;
            out.entry(link).or_default().push(c);
        }
        Ok(out)
    }
}

/// What a [`CitationRow`] is read from: a citation, its post and its fragment's standing.
const CITATION_COLUMNS: &str =
    "p.path, c.line, c.text, c.kind, c.fragment, c.span_start, c.span_end, c.quote,
     CASE WHEN f.standing = 'missing' AND f.seen_present THEN 'gone' ELSE f.standing END,
     f.reason";
const CITATION_TABLES: &str = "citations c JOIN posts p ON p.id = c.post_id
     LEFT JOIN fragments f ON f.link_id = c.link_id AND f.fragment = c.fragment";

/// A [`CitationRow`] from [`CITATION_COLUMNS`], starting at column `at`.
fn citation_row(r: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<CitationRow> {
    let span = match (
        r.get::<_, Option<i64>>(at + 5)?,
        r.get::<_, Option<i64>>(at + 6)?,
    ) {
        (Some(s), Some(e)) if s >= 0 && e >= s => Some((s as u64, e as u64)),
        _ => None,
    };
    Ok(CitationRow {
        post: r.get(at)?,
        line: r.get(at + 1)?,
        text: r.get(at + 2)?,
        kind: r.get(at + 3)?,
        fragment: r.get(at + 4)?,
        span,
        quote: r.get(at + 7)?,
        fragment_standing: r.get(at + 8)?,
        fragment_reason: r.get(at + 9)?,
    })
}

/// Judges quoted passages against archived pages by the one rule, [`crate::quote::standing`]:
/// each page's readable text is read once, and its whole visible text (a parse of the archived
/// body) only when a passage is not in the article, at most `parses` times (the dashboard bounds
/// its work per page; a passage past the bound reads as unknown). `citewatch quotes`, `show` and
/// the dashboard all ask this, so they answer as the verdict did.
pub struct QuoteJudge<'a> {
    store: &'a Store,
    articles: HashMap<String, Option<crate::quote::Haystack>>,
    visible: HashMap<String, Option<crate::quote::Haystack>>,
    parses_left: usize,
}

impl<'a> QuoteJudge<'a> {
    pub fn new(store: &'a Store, parses: usize) -> QuoteJudge<'a> {
        QuoteJudge {
            store,
            articles: HashMap::new(),
            visible: HashMap::new(),
            parses_left: parses,
        }
    }

    /// Whether `quote` stands on the archived page `snapshot` (a content hash); unknown without
    /// one, or when the page has no text.
    pub fn standing(
        &mut self,
        quote: &str,
        snapshot: Option<&str>,
    ) -> Result<crate::quote::Standing> {
        use crate::quote::{Haystack, Standing};
        let Some(hash) = snapshot else {
            return Ok(Standing::Unknown);
        };
        if !self.articles.contains_key(hash) {
            let text = self.store.reads().snapshot_text(hash)?;
            self.articles
                .insert(hash.to_string(), text.map(|t| Haystack::new(&t)));
        }
        let QuoteJudge {
            store,
            articles,
            visible,
            parses_left,
        } = self;
        let Some(article) = articles.get(hash).and_then(|a| a.as_ref()) else {
            return Ok(Standing::Unknown);
        };
        let mut failed = None;
        let failed_at = &mut failed;
        let standing = crate::quote::standing(quote, article, move || {
            if !visible.contains_key(hash) {
                if *parses_left == 0 {
                    return None;
                }
                *parses_left -= 1;
                let page = match store.snapshot_page(hash) {
                    Ok(p) => p,
                    Err(e) => {
                        *failed_at = Some(e);
                        None
                    }
                };
                let text = page.map(|(body, ct)| {
                    Haystack::new(&crate::readable::readable(&body, ct.as_deref()).visible)
                });
                visible.insert(hash.to_string(), text);
            }
            let visible: &HashMap<String, Option<Haystack>> = visible;
            visible.get(hash).and_then(|v| v.as_ref())
        });
        match failed {
            Some(e) => Err(e),
            None => Ok(standing),
        }
    }
}

impl Store {
    /// An archived body with its content type.
    pub fn snapshot_page(&self, hash: &str) -> Result<Option<(Vec<u8>, Option<String>)>> {
        let row: Option<(Vec<u8>, Option<String>)> = self
            .conn
            .query_row(
                "SELECT body, content_type FROM snapshots WHERE hash = ?1",
                params![hash],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        Ok(row.map(|(b, ct)| (zstd::decode_all(&b[..]).unwrap_or_default(), ct)))
    }
}
