//! Every dashboard page as JSON, so scripts and the UI read the same thing. Where the CLI prints
//! a list, the route returns exactly the CLI's JSON (`report::status_json`, `history_json`, the
//! rows of `citewatch alerts --format json`) for one page of it; the page and the total travel in
//! the `Link` and `X-Total-Count` headers. Pages with no CLI twin (the overview, a post, a link)
//! are objects built from the same pieces; a link is its `status` object with fields added (the
//! contract allows additions, never renames). Pure.

use serde_json::{json, Map, Value};

use crate::report;
use crate::rows::DiffOp;
use crate::rows::{stamp, AlertRow, CheckRow, StatusRow};
use crate::state::State;
use crate::view::{
    FixPlan, LinkPage, LinkRow, Overview, PostPage, PostSummary, SnapshotInfo, WeekCounts,
};

fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_else(|_| "null".into()) + "\n"
}

fn counts_object(counts: &[u64; 9]) -> Value {
    let mut m = Map::new();
    for (i, s) in State::ALL.iter().enumerate() {
        m.insert(s.as_str().into(), json!(counts[i]));
    }
    Value::Object(m)
}

/// `/links`: one page of `citewatch status --format json`.
pub fn links(rows: &[LinkRow]) -> String {
    let statuses: Vec<StatusRow> = rows.iter().map(|r| r.status.clone()).collect();
    report::status_json(&statuses) + "\n"
}

/// `/link/{id}/history`: one page of `citewatch history --format json`.
pub fn history(rows: &[CheckRow]) -> String {
    report::history_json(rows) + "\n"
}

/// `/alerts`: one page of `citewatch alerts --format json`.
pub fn alerts(rows: &[AlertRow]) -> String {
    serde_json::to_string_pretty(rows).unwrap_or_else(|_| "[]".into()) + "\n"
}

fn snapshot(s: Option<&SnapshotInfo>) -> Value {
    match s {
        None => Value::Null,
        Some(s) => json!({
            "hash": s.hash,
            "fetched_at": stamp(s.fetched_at),
            "content_type": s.content_type,
            "size": s.size,
            "title": s.title,
            "truncated": s.truncated,
        }),
    }
}

fn post_summary(p: &PostSummary) -> Value {
    let mut counts = Map::new();
    for (s, n) in &p.counts {
        counts.insert(s.as_str().into(), json!(n));
    }
    json!({
        "id": p.id,
        "source": p.source,
        "path": p.path,
        "title": p.title,
        "date": p.date,
        "url": p.url,
        "citations": p.citations,
        "rotted": p.rotted,
        "states": counts,
    })
}

/// `/posts`: one page of posts with how their citations fare.
pub fn posts(rows: &[PostSummary]) -> String {
    pretty(&Value::Array(rows.iter().map(post_summary).collect()))
}

fn weeks(w: &[WeekCounts]) -> Value {
    Value::Array(
        w.iter()
            .map(|w| json!({"week": w.week.format("%Y-%m-%d").to_string(), "states": counts_object(&w.counts)}))
            .collect(),
    )
}

/// `/`: counts per state, states per week, the most rotted posts, the last alerts.
pub fn overview(o: &Overview) -> String {
    pretty(&json!({
        "links": o.counts.iter().sum::<u64>(),
        "posts": o.posts,
        "states": counts_object(&o.counts),
        "weeks": weeks(&o.weeks),
        "top_posts": o.top_posts.iter().map(post_summary).collect::<Vec<_>>(),
        "alerts": serde_json::to_value(&o.alerts).unwrap_or(Value::Null),
    }))
}

fn fix(plan: &FixPlan) -> Value {
    match plan {
        FixPlan::Unavailable(why) => {
            json!({"available": false, "reason": why, "edits": [], "listed": []})
        }
        FixPlan::Failed(e) => json!({"available": true, "error": e, "edits": [], "listed": []}),
        FixPlan::Planned { edits, listed } => json!({
            "available": true,
            "edits": edits.iter().map(|e| json!({
                "line": e.line, "url": e.url, "action": e.action, "old": e.old, "new": e.new,
                "target": e.target, "why": e.why,
            })).collect::<Vec<_>>(),
            "listed": listed.iter().map(|l| json!({"line": l.line, "url": l.url, "why": l.why})).collect::<Vec<_>>(),
        }),
    }
}

/// `/post/{id}`: the post and one page of its citations in reading order. Each citation has the
/// fields of a citation in `status` JSON, its link's state fields, and what the dashboard adds
/// (`quote_stands`, `as_cited`, the link's `id`).
pub fn post(p: &PostPage) -> String {
    let info = &p.post;
    let citations: Vec<Value> = p
        .citations
        .items
        .iter()
        .map(|c| {
            let stands = c.quote_standing.as_ref().and_then(|s| s.stands());
            let reason = c.quote_standing.as_ref().and_then(|s| s.reason());
            json!({
                "post": info.path,
                "line": c.line,
                "text": c.text,
                "kind": c.kind,
                "fragment": c.fragment,
                "quote": c.quote,
                "raw": c.raw,
                "link_id": c.link_id,
                "url": c.url,
                "state": c.state,
                "since": stamp(c.since),
                "checked_at": c.checked_at.map(stamp),
                "http_status": c.http_status,
                "final_url": c.final_url,
                "error": c.error,
                "archived_url": c.archived_url,
                "confirmed": c.confirmed,
                "quote_stands": stands,
                "quote_reason": reason,
                "as_cited": snapshot(c.baseline.as_ref()),
                "latest_snapshot": snapshot(c.latest.as_ref()),
            })
        })
        .collect();
    pretty(&json!({
        "post": {
            "id": info.id,
            "source": info.source,
            "path": info.path,
            "title": info.title,
            "date": info.date,
            "url": info.url,
            "present": info.present,
            "scanned_at": stamp(info.scanned_at),
        },
        "citations": citations,
        "total": p.citations.total,
        "page": p.citations.page.number,
        "per_page": p.citations.page.per_page,
        "fix": fix(&p.fix),
    }))
}

fn diff(ops: &[DiffOp]) -> Value {
    Value::Array(
        ops.iter()
            .map(|op| {
                let (kind, words) = match op {
                    DiffOp::Equal(w) => ("equal", w),
                    DiffOp::Delete(w) => ("delete", w),
                    DiffOp::Insert(w) => ("insert", w),
                };
                json!({"op": kind, "text": words.join(" ")})
            })
            .collect(),
    )
}

/// `/link/{id}`: the link's `status` object, with its id, confirmation, snapshots, transitions,
/// last redirect chain and the word diff from the baseline to the latest copy added.
pub fn link(p: &LinkPage) -> String {
    let mut v = serde_json::to_value(report::status_json_value(&p.status)).unwrap_or(Value::Null);
    if let Value::Object(m) = &mut v {
        m.insert("id".into(), json!(p.status.id));
        m.insert("first_seen".into(), json!(stamp(p.first_seen)));
        m.insert("confirmed".into(), json!(p.confirmed));
        m.insert("checks".into(), json!(p.checks));
        m.insert("as_cited".into(), snapshot(p.baseline.as_ref()));
        m.insert("latest_snapshot".into(), snapshot(p.latest.as_ref()));
        m.insert(
            "transitions".into(),
            Value::Array(
                p.transitions
                    .iter()
                    .map(|t| json!({"at": stamp(t.at), "from": t.from, "to": t.to, "http_status": t.http_status, "error": t.error}))
                    .collect(),
            ),
        );
        m.insert(
            "redirects".into(),
            match &p.redirects {
                None => Value::Null,
                Some((at, hops)) => json!({
                    "checked_at": stamp(*at),
                    "hops": hops.to_value(),
                }),
            },
        );
        m.insert(
            "diff".into(),
            p.diff.as_deref().map(diff).unwrap_or(Value::Null),
        );
    }
    pretty(&v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rows::CitationRow;
    use crate::view::{PageReq, Paged, PostCitation, PostInfo};

    fn status() -> StatusRow {
        StatusRow {
            id: 4,
            url: "https://a.example/".into(),
            state: State::Broken,
            since: "2026-11-20T10:00:00Z".parse().unwrap(),
            streak: 2,
            checked_at: None,
            http_status: Some(404),
            final_url: None,
            error: None,
            archived_url: None,
            unverified: false,
            citations: vec![CitationRow {
                post: "a.md".into(),
                line: 3,
                text: "t".into(),
                kind: "link".into(),
                ..Default::default()
            }],
        }
    }

    /// The link list is the CLI's `status` JSON, byte for byte.
    #[test]
    fn links_are_the_status_contract() {
        let rows = vec![LinkRow {
            status: status(),
            post_ids: vec![1],
        }];
        assert_eq!(links(&rows), report::status_json(&[status()]) + "\n");
    }

    #[test]
    fn a_link_is_its_status_object_with_more_fields() {
        let page = LinkPage {
            status: status(),
            cited_by: vec![],
            confirmed: Some(State::Broken),
            first_seen: "2026-11-01T00:00:00Z".parse().unwrap(),
            baseline: None,
            latest: None,
            transitions: vec![],
            timeline: vec![],
            checks: 0,
            recent: vec![],
            redirects: None,
            diff: Some(vec![
                DiffOp::Delete(vec!["a".into()]),
                DiffOp::Insert(vec!["b".into()]),
            ]),
        };
        let v: Value = serde_json::from_str(&link(&page)).unwrap();
        // Written out from README ("JSON output" and "Dashboard / JSON"), not from the code: a
        // renamed `status` field or a renamed addition fails here.
        let mut keys: Vec<&str> = v.as_object().unwrap().keys().map(|k| k.as_str()).collect();
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
            "id",
            "first_seen",
            "confirmed",
            "checks",
            "as_cited",
            "latest_snapshot",
            "transitions",
            "unverified",
            "redirects",
            "diff",
        ];
        want.sort_unstable();
        assert_eq!(keys, want, "the `/link/ID` keys");
        assert_eq!(v["url"], "https://a.example/");
        assert_eq!(v["state"], "broken");
        assert_eq!(v["streak"], 2);
        assert_eq!(v["http_status"], 404);
        assert_eq!(v["citations"][0]["line"], 3);
        assert_eq!(v["confirmed"], "broken");
        assert_eq!(v["diff"][1]["op"], "insert");
        assert_eq!(v["as_cited"], Value::Null);
    }

    #[test]
    fn a_post_lists_its_citations_with_quote_standing_and_the_fix_hook() {
        let c = PostCitation {
            link_id: 4,
            url: "https://a.example/".into(),
            line: 3,
            text: "t".into(),
            kind: "link".into(),
            raw: "https://a.example".into(),
            fragment: None,
            quote: Some("a quote".into()),
            span: None,
            state: State::Changed,
            since: "2026-11-20T10:00:00Z".parse().unwrap(),
            checked_at: None,
            http_status: Some(200),
            final_url: None,
            error: None,
            archived_url: None,
            baseline: None,
            latest: None,
            confirmed: None,
            quote_standing: Some(crate::quote::Standing::Missing {
                reason: "gone".into(),
            }),
        };
        let page = PostPage {
            post: PostInfo {
                id: 1,
                source: "posts".into(),
                path: "a.md".into(),
                title: None,
                date: None,
                url: None,
                present: true,
                scanned_at: "2026-11-20T10:00:00Z".parse().unwrap(),
            },
            citations: Paged {
                items: vec![c],
                total: 1,
                page: PageReq::default(),
            },
            fix: FixPlan::Unavailable("no planner".into()),
        };
        let v: Value = serde_json::from_str(&post(&page)).unwrap();
        let c = &v["citations"][0];
        for k in ["post", "line", "text", "kind", "fragment", "quote"] {
            assert!(c.get(k).is_some(), "citation contract field {k}");
        }
        // README ("Dashboard / JSON"): `{post, citations, total, page, per_page, fix}` and `fix`
        // is `{available, edits, listed}` (with the reason it is unavailable).
        let mut keys: Vec<&str> = v.as_object().unwrap().keys().map(|k| k.as_str()).collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            ["citations", "fix", "page", "per_page", "post", "total"],
            "the `/post/ID` keys"
        );
        for k in ["available", "edits", "listed"] {
            assert!(
                v["fix"].get(k).is_some(),
                "the post's fix lacks {k}: {}",
                v["fix"]
            );
        }
        assert_eq!(c["quote_stands"], false);
        assert_eq!(c["quote_reason"], "gone");
        assert_eq!(c["state"], "changed");
        assert_eq!(v["fix"]["available"], false);
        assert_eq!(v["total"], 1);
    }
}
