//! Reports: store rows rendered for people (tables, the run summary) and for scripts (JSON, CSV).
//!
//! Pure: rows in, text out. The JSON shapes here are a contract scripts rely on; fields are only
//! ever added, never renamed or removed (see README, "JSON output").

use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::rows::{rfc3339, stamp, CheckRow, CitationRow, StatusRow};
use crate::state::State;
pub use crate::text::{sanitize, sanitize_block};

/// One link in `status --format json`.
#[derive(Debug, Serialize)]
pub struct StatusJson<'a> {
    pub url: &'a str,
    /// The state, or `unverified` (see `unverified`).
    pub state: &'static str,
    #[serde(with = "rfc3339")]
    pub since: DateTime<Utc>,
    #[serde(with = "rfc3339::option")]
    pub checked_at: Option<DateTime<Utc>>,
    pub http_status: Option<u16>,
    pub final_url: Option<&'a str>,
    pub error: Option<&'a str>,
    /// Consecutive checks that found the link in `state`.
    pub streak: i64,
    /// The closest Wayback Machine copy, for dead, changed and soft-404 links.
    pub archived_url: Option<&'a str>,
    /// The latest check got no answer while this machine looked offline (or a canary failed):
    /// the state says nothing about the web.
    pub unverified: bool,
    pub citations: Vec<CitationJson<'a>>,
}

#[derive(Debug, Serialize)]
pub struct CitationJson<'a> {
    pub post: &'a str,
    pub line: u32,
    pub text: &'a str,
    pub kind: &'a str,
    pub fragment: Option<&'a str>,
    /// The passage the post quotes from the page, or null.
    pub quote: Option<&'a str>,
    /// `present`, `missing` (never on the page: a broken citation), `gone` (was there, is not
    /// now: the link is `changed`), `unknown`, or null (no fragment, or not checked yet).
    pub fragment_state: Option<&'a str>,
    pub fragment_reason: Option<&'a str>,
}

/// One check in `history --format json`.
#[derive(Debug, Serialize)]
pub struct CheckJson<'a> {
    #[serde(with = "rfc3339")]
    pub checked_at: DateTime<Utc>,
    pub state: State,
    pub http_status: Option<u16>,
    pub final_url: Option<&'a str>,
    pub error: Option<&'a str>,
    pub elapsed_ms: u64,
    pub attempts: u32,
    pub snapshot: Option<&'a str>,
    pub similarity: Option<f64>,
    pub redirects: serde_json::Value,
}

fn citation_json(c: &CitationRow) -> CitationJson<'_> {
    CitationJson {
        post: &c.post,
        line: c.line,
        text: &c.text,
        kind: &c.kind,
        fragment: c.fragment.as_deref(),
        quote: c.quote.as_deref(),
        fragment_state: c.fragment_standing.as_deref(),
        fragment_reason: c.fragment_reason.as_deref(),
    }
}

pub fn status_json_value(r: &StatusRow) -> StatusJson<'_> {
    StatusJson {
        url: &r.url,
        state: r.shown_state(),
        since: r.since,
        checked_at: r.checked_at,
        http_status: r.http_status,
        final_url: r.final_url.as_deref(),
        error: r.error.as_deref(),
        streak: r.streak,
        archived_url: r.archived_url.as_deref(),
        unverified: r.unverified,
        citations: r.citations.iter().map(citation_json).collect(),
    }
}

pub fn status_json(rows: &[StatusRow]) -> String {
    let v: Vec<StatusJson<'_>> = rows.iter().map(status_json_value).collect();
    serde_json::to_string_pretty(&v).unwrap_or_else(|_| "[]".into())
}

pub fn history_json(rows: &[CheckRow]) -> String {
    let v: Vec<CheckJson<'_>> = rows
        .iter()
        .map(|c| CheckJson {
            checked_at: c.checked_at,
            state: c.state,
            http_status: c.http_status,
            final_url: c.final_url.as_deref(),
            error: c.error.as_deref(),
            elapsed_ms: c.elapsed_ms,
            attempts: c.attempts,
            snapshot: c.snapshot.as_deref(),
            similarity: c.similarity,
            redirects: c
                .redirects
                .as_ref()
                .map(crate::fetch::Redirects::to_value)
                .unwrap_or(serde_json::Value::Null),
        })
        .collect();
    serde_json::to_string_pretty(&v).unwrap_or_else(|_| "[]".into())
}

/// Quotes a CSV field when it needs it (RFC 4180). A leading `=`, `+`, `-` or `@` is prefixed
/// with `'` so that scraped text cannot become a formula in a spreadsheet.
fn csv_field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// `status --format csv`: one row per citation, so a spreadsheet can sort by post.
pub fn status_csv(rows: &[StatusRow]) -> String {
    let mut out =
        String::from("url,state,since,checked_at,http_status,final_url,error,post,line,text\n");
    for r in rows {
        let base = [
            csv_field(&r.url),
            r.shown_state().to_string(),
            csv_field(&stamp(r.since)),
            csv_field(&r.checked_at.map(stamp).unwrap_or_default()),
            r.http_status.map(|s| s.to_string()).unwrap_or_default(),
            csv_field(r.final_url.as_deref().unwrap_or("")),
            csv_field(r.error.as_deref().unwrap_or("")),
        ]
        .join(",");
        if r.citations.is_empty() {
            let _ = writeln!(out, "{base},,,");
        }
        for c in &r.citations {
            let _ = writeln!(
                out,
                "{base},{},{},{}",
                csv_field(&c.post),
                c.line,
                csv_field(&c.text)
            );
        }
    }
    out
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

/// `status` as a table for people.
pub fn status_table(rows: &[StatusRow]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{:<11} {:>4}  {:<20}  URL", "STATE", "HTTP", "SINCE");
    for r in rows {
        let _ = writeln!(
            out,
            "{:<11} {:>4}  {:<20}  {}",
            r.shown_state(),
            r.http_status
                .map(|s| s.to_string())
                .unwrap_or_else(|| "-".into()),
            stamp(r.since),
            sanitize(&r.url)
        );
        if let Some(f) = &r.final_url {
            let _ = writeln!(out, "{:38}→ {}", "", sanitize(f));
        }
        if let Some(e) = &r.error {
            let _ = writeln!(out, "{:38}{}", "", sanitize(&truncate(e, 100)));
        }
    }
    out
}

/// `history` as a table for people.
pub fn history_table(rows: &[CheckRow]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<20}  {:<11} {:>4} {:>7}  DETAIL",
        "CHECKED", "STATE", "HTTP", "MS"
    );
    for c in rows {
        let detail = c
            .error
            .as_deref()
            .map(|e| truncate(e, 80))
            .or_else(|| c.final_url.as_ref().map(|f| format!("→ {f}")))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "{:<20}  {:<11} {:>4} {:>7}  {}",
            stamp(c.checked_at),
            c.state.as_str(),
            c.http_status
                .map(|s| s.to_string())
                .unwrap_or_else(|| "-".into()),
            c.elapsed_ms,
            sanitize(&detail)
        );
    }
    out
}

/// The end-of-run summary: counts per state, then the bad citations grouped by post.
pub fn run_summary(counts: &[(State, u64)], bad: &[StatusRow]) -> String {
    let mut out = String::new();
    let total: u64 = counts.iter().map(|(_, n)| n).sum();
    // A link whose check could not reach the web is counted as unverified, not by its state.
    let unverified = |s: State| bad.iter().filter(|r| r.unverified && r.state == s).count() as u64;
    let mut parts: Vec<String> = State::ALL
        .iter()
        .filter_map(|s| {
            counts
                .iter()
                .find(|(st, _)| st == s)
                .map(|(_, n)| n.saturating_sub(unverified(*s)))
                .filter(|n| *n > 0)
                .map(|n| format!("{n} {}", s.as_str()))
        })
        .collect();
    let n_unverified = bad.iter().filter(|r| r.unverified).count();
    if n_unverified > 0 {
        parts.push(format!("{n_unverified} unverified"));
    }
    let _ = writeln!(out, "{total} links: {}", parts.join(", "));
    // Group by post: the author fixes one post at a time.
    let mut by_post: std::collections::BTreeMap<&str, Vec<(u32, &StatusRow, &CitationRow)>> =
        Default::default();
    for r in bad {
        // A link that answers is listed only where a citation's fragment is broken.
        let whole = r.state.is_failing();
        for c in r
            .citations
            .iter()
            .filter(|c| whole || c.broken_fragment().is_some())
        {
            by_post.entry(&c.post).or_default().push((c.line, r, c));
        }
    }
    for (post, mut items) in by_post {
        items.sort_by_key(|(line, r, _)| (*line, r.url.clone()));
        let _ = writeln!(out, "\n{}", sanitize(post));
        for (line, r, c) in items {
            let text = c.text.as_str();
            let (state, what) = match c.broken_fragment().filter(|_| !r.state.is_failing()) {
                Some(reason) => ("broken", reason.to_string()),
                None => (r.shown_state(), what_happened(r)),
            };
            let _ = writeln!(
                out,
                "  {:>5}  {:<10} {}  {}{}",
                line,
                state,
                sanitize(&r.url),
                sanitize(&what),
                if text.is_empty() || text == r.url {
                    String::new()
                } else {
                    format!("  “{}”", sanitize(&truncate(text, 40)))
                }
            );
        }
    }
    out
}

/// The status and error of a link's latest check, in a few words.
fn what_happened(r: &StatusRow) -> String {
    match (r.http_status, r.error.as_deref()) {
        (Some(s), Some(e)) => format!("{s} {}", truncate(e, 60)),
        (Some(s), None) => s.to_string(),
        (None, Some(e)) => truncate(e, 60),
        (None, None) => String::new(),
    }
}

fn human(bytes: i64) -> String {
    let b = bytes.max(0) as f64;
    if b >= 1e9 {
        format!("{:.2} GB", b / 1e9)
    } else if b >= 1e6 {
        format!("{:.2} MB", b / 1e6)
    } else if b >= 1e3 {
        format!("{:.1} kB", b / 1e3)
    } else {
        format!("{b} B")
    }
}

/// `citewatch db stats`.
pub fn db_stats(s: &crate::rows::Stats) -> String {
    format!(
        "database      {} (+ {} write-ahead log), schema version {}\nposts         {}\ncitations     {}\nlinks         {}\nchecks        {}\nsnapshots     {} ({} of bodies stored as {})\nalert events  {}\n",
        human(s.file_bytes as i64),
        human(s.wal_bytes as i64),
        s.schema_version,
        s.posts,
        s.citations,
        s.links,
        s.checks,
        s.snapshots,
        human(s.snapshot_raw_bytes),
        human(s.snapshot_stored_bytes),
        s.alert_events
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(url: &str, state: State) -> StatusRow {
        StatusRow {
            id: 1,
            url: url.into(),
            state,
            since: "2026-01-01T00:00:00Z".parse().unwrap(),
            streak: 1,
            checked_at: Some("2026-01-01T00:00:00Z".parse().unwrap()),
            http_status: Some(404),
            final_url: None,
            error: None,
            archived_url: None,
            unverified: false,
            citations: vec![CitationRow {
                post: "a.md".into(),
                line: 3,
                text: "=cmd|' /C calc'!A0".into(),
                kind: "link".into(),
                fragment: None,
                ..Default::default()
            }],
        }
    }

    #[test]
    fn json_has_the_contract_fields() {
        let v: serde_json::Value =
            serde_json::from_str(&status_json(&[row("https://a.org/", State::Broken)])).unwrap();
        let o = &v[0];
        // Written out from README ("JSON output"), not from the struct: a rename fails here.
        let mut keys: Vec<&str> = o.as_object().unwrap().keys().map(|k| k.as_str()).collect();
        keys.sort_unstable();
        let mut want = vec![
            "url",
            "state",
            "since",
            "checked_at",
            "http_status",
            "final_url",
            "error",
            "streak",
            "citations",
            "archived_url",
            "unverified",
        ];
        want.sort_unstable();
        assert_eq!(keys, want, "the `status` contract keys");
        let mut citation: Vec<&str> = o["citations"][0]
            .as_object()
            .unwrap()
            .keys()
            .map(|k| k.as_str())
            .collect();
        citation.sort_unstable();
        assert_eq!(
            citation,
            [
                "fragment",
                "fragment_reason",
                "fragment_state",
                "kind",
                "line",
                "post",
                "quote",
                "text"
            ],
            "the citation contract keys"
        );
        assert_eq!(o["state"], "broken");
        assert_eq!(o["final_url"], serde_json::Value::Null);
        assert_eq!(o["citations"][0]["line"], 3);
    }

    #[test]
    fn csv_defuses_formulas_and_quotes() {
        let csv = status_csv(&[row("https://a.org/x,y", State::Broken)]);
        assert!(csv.contains("\"https://a.org/x,y\""), "{csv}");
        assert!(csv.contains("'=cmd"), "{csv}");
    }

    #[test]
    fn terminal_escapes_are_neutralised() {
        assert_eq!(sanitize("a\x1b[31mred"), "a\\u{1b}[31mred");
    }

    #[test]
    fn summary_groups_by_post() {
        let s = run_summary(
            &[(State::Ok, 3), (State::Broken, 1)],
            &[row("https://a.org/", State::Broken)],
        );
        assert!(s.starts_with("4 links: 3 ok, 1 broken"), "{s}");
        assert!(s.contains("\na.md\n"), "{s}");
        assert!(s.contains("    3  broken"), "{s}");
    }
}
