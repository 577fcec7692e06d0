//! The dashboard's HTML pages, rendered with maud (compiled templates: every interpolated value
//! is escaped, so a post's title or a page's text is always data, never markup). Readable
//! without JavaScript (there is none), on a phone (tables become cards), in light and dark.
//!
//! Pure: view values and `now` in, HTML out. Links to the live web are only ever `http(s)`
//! URLs, opened without a referrer.

use crate::quote::Standing;
use chrono::{DateTime, Utc};
use maud::{html, Markup, DOCTYPE};

use super::chart::{self, class_of};
use crate::rows::DiffOp;
use crate::rows::{stamp, AlertRow, CheckRow, StatusRow};
use crate::state::State;
use crate::view::{
    FixPlan, LinkFilter, LinkPage, LinkRow, LinkSort, Overview, Paged, PlannedEdit, PostCitation,
    PostPage, PostSort, PostSummary, SnapshotInfo, ROTTED,
};

/// The stylesheet, embedded in the binary.
pub const STYLE: &str = include_str!("style.css");

/// The route of the stylesheet; its version changes with its content so browsers may cache it.
pub fn style_href() -> String {
    let h = blake3::hash(STYLE.as_bytes()).to_hex();
    format!("/style.css?v={}", &h.as_str()[..12])
}

/// The address of the page being rendered: its path and query, to build links to other pages of
/// the same list (pagination, filters) and to its JSON.
#[derive(Debug, Clone, Default)]
pub struct Here {
    pub path: String,
    /// The query, without `format`.
    pub params: Vec<(String, String)>,
}

impl Here {
    pub fn new(path: &str, params: &[(String, String)]) -> Here {
        Here {
            path: path.to_string(),
            params: params
                .iter()
                .filter(|(k, _)| k != "format" && k != "token")
                .cloned()
                .collect(),
        }
    }

    /// This page with one parameter set (replacing it).
    pub fn with(&self, key: &str, value: &str) -> String {
        let mut params: Vec<(String, String)> = self
            .params
            .iter()
            .filter(|(k, _)| k != key)
            .cloned()
            .collect();
        params.push((key.to_string(), value.to_string()));
        href(&self.path, &params)
    }

    /// This page as JSON.
    pub fn json(&self) -> String {
        self.with("format", "json")
    }
}

/// A path with a query.
pub fn href(path: &str, params: &[(String, String)]) -> String {
    if params.is_empty() {
        return path.to_string();
    }
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in params {
        q.append_pair(k, v);
    }
    format!("{path}?{}", q.finish())
}

fn q(params: &[(&str, &str)]) -> Vec<(String, String)> {
    params
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// What every page is rendered with.
#[derive(Debug, Clone, Copy)]
pub struct Ctx<'a> {
    pub now: DateTime<Utc>,
    pub here: &'a Here,
}

fn layout(title: &str, ctx: Ctx<'_>, main: Markup) -> String {
    let nav = [
        ("/", "Overview"),
        ("/links", "Links"),
        ("/posts", "Posts"),
        ("/alerts", "Alerts"),
    ];
    let section = |p: &str| {
        let cur = ctx.here.path.as_str();
        if p == "/" {
            cur == "/"
        } else {
            cur.starts_with(p)
                || (p == "/links" && cur.starts_with("/link/"))
                || (p == "/posts" && cur.starts_with("/post/"))
        }
    };
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="color-scheme" content="light dark";
                meta name="referrer" content="no-referrer";
                title { (title) " · citewatch" }
                link rel="stylesheet" href=(style_href());
            }
            body {
                header.top {
                    a.brand href="/" { "citewatch" }
                    nav {
                        @for (p, label) in nav {
                            a.here[section(p)] href=(p) { (label) }
                        }
                    }
                    form method="get" action="/links" role="search" {
                        input type="search" name="q" placeholder="Search links, text, quotes" aria-label="Search links";
                    }
                }
                main { (main) }
                footer {
                    "Read-only view of the citewatch database. "
                    a href=(ctx.here.json()) { "This page as JSON" }
                    " · " a href="/metrics" { "metrics" }
                }
            }
        }
    }
    .into_string()
}

fn badge(s: State) -> Markup {
    html! { span class=(format!("badge {}", class_of(s))) { (s.as_str()) } }
}

/// How long ago, for people: "5 min ago", "3 days ago", a date past two months.
pub fn ago(at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let s = (now - at).num_seconds();
    match s {
        s if s < -60 => at.format("%Y-%m-%d %H:%M").to_string(),
        s if s < 60 => "just now".into(),
        s if s < 3600 => format!("{} min ago", s / 60),
        s if s < 2 * 86_400 => format!("{} h ago", s / 3600),
        s if s < 60 * 86_400 => format!("{} days ago", s / 86_400),
        _ => at.format("%Y-%m-%d").to_string(),
    }
}

/// A stored time: relative, with the exact time (as stored) on hover.
fn when(t: &DateTime<Utc>, now: DateTime<Utc>) -> Markup {
    let exact = stamp(*t);
    html! { time datetime=(exact) title=(exact) { (ago(*t, now)) } }
}

fn is_web(u: &str) -> bool {
    let l = u.get(..8).unwrap_or(u).to_ascii_lowercase();
    l.starts_with("http://") || l.starts_with("https://")
}

/// A URL of the live web, opened without telling it where from; other targets as text.
fn live(u: &str) -> Markup {
    html! {
        @if is_web(u) {
            a.url href=(u) rel="noreferrer noopener" target="_blank" { (u) }
        } @else {
            span.url { (u) }
        }
    }
}

/// The Wayback Machine's copy, when its address is a web URL.
fn wayback(a: &str, label: &str) -> Markup {
    html! {
        @if is_web(a) {
            a href=(a) rel="noreferrer noopener" target="_blank" { (label) }
        }
    }
}

fn link_page(id: i64) -> String {
    format!("/link/{id}")
}

fn post_page(id: i64) -> String {
    format!("/post/{id}")
}

/// The route of a snapshot shown sandboxed.
pub fn snapshot_href(link_id: i64, hash: &str) -> String {
    format!("/link/{link_id}/snapshot/{hash}")
}

/// The dashboard page wrapping a sandboxed snapshot.
pub fn cited_href(link_id: i64, hash: &str) -> String {
    format!("/link/{link_id}/cited/{hash}")
}

fn short(h: &str) -> &str {
    h.get(..12).unwrap_or(h)
}

fn pages<T>(list: &Paged<T>, here: &Here) -> Markup {
    let last = list.last_page();
    html! {
        @if last > 1 {
            nav.pages aria-label="Pages" {
                @if list.has_prev() {
                    a href=(here.with("page", "1")) { "« first" }
                    a href=(here.with("page", &(list.page.number - 1).to_string())) rel="prev" { "‹ previous" }
                }
                span { "Page " (list.page.number) " of " (last) }
                @if list.has_next() {
                    a href=(here.with("page", &(list.page.number + 1).to_string())) rel="next" { "next ›" }
                    a href=(here.with("page", &last.to_string())) { "last »" }
                }
            }
        }
    }
}

fn plural(n: u64, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

// -- overview ------------------------------------------------------------------------------------

pub fn overview(o: &Overview, ctx: Ctx<'_>) -> String {
    let total: u64 = o.counts.iter().sum();
    let rotted: u64 = ROTTED
        .iter()
        .map(|s| o.counts[crate::view::state_index(*s)])
        .sum();
    let failing: u64 = State::ALL
        .iter()
        .enumerate()
        .filter(|(_, s)| s.is_failing())
        .map(|(i, _)| o.counts[i])
        .sum();
    let main = html! {
        h1 { "Citations" }
        p.lead {
            (plural(total, "cited link", "cited links")) " in " (plural(o.posts, "post", "posts")) ". "
            (rotted) " rotted (broken, moved, changed or soft 404); "
            (failing) " failing now (broken, error or soft 404)."
        }
        section.card {
            h2 { "Links by state" }
            (chart::state_bar(&o.counts, "Cited links by state"))
            ul.legend {
                @for (i, s) in State::ALL.iter().enumerate() {
                    li {
                        a href=(href("/links", &q(&[("state", s.as_str())]))) {
                            (badge(*s)) " " (o.counts[i])
                        }
                    }
                }
            }
        }
        div.grid {
            section.card {
                h2 { "States per week" }
                @if o.weeks.is_empty() {
                    p.muted { "No checks yet." }
                } @else {
                    (chart::weekly(&o.weeks))
                    p.small { "Links by the state of their latest check at the end of each week (UTC); hover a bar for its numbers." }
                    details {
                        summary.small { "The numbers" }
                        table {
                            thead { tr { th { "Week of" } @for s in State::ALL { th.num { (s.as_str()) } } } }
                            tbody {
                                @for w in o.weeks.iter().rev() {
                                    tr { td { (w.week.format("%Y-%m-%d")) } @for n in w.counts { td.num { (n) } } }
                                }
                            }
                        }
                    }
                }
            }
            section.card {
                h2 { "Posts with the most rotted citations" }
                @if o.top_posts.is_empty() {
                    p.muted { "No post cites a rotted link." }
                } @else {
                    table.stack {
                        thead { tr { th { "Post" } th.num { "Rotted" } th.num { "Citations" } } }
                        tbody {
                            @for p in &o.top_posts {
                                tr {
                                    td data-label="Post" { a href=(post_page(p.id)) { (p.title.as_deref().unwrap_or(&p.path)) } br; span.small.mono { (p.path) } }
                                    td.num data-label="Rotted" { (p.rotted) }
                                    td.num data-label="Citations" { (p.citations) }
                                }
                            }
                        }
                    }
                    p.small { a href=(href("/posts", &q(&[("sort", "rot")]))) { "All posts by rot" } }
                }
            }
        }
        section.card {
            h2 { "Last alerts" }
            (alerts_table(&o.alerts, ctx))
            p.small { a href="/alerts" { "All alerts" } }
        }
    };
    layout("Overview", ctx, main)
}

fn alerts_table(rows: &[AlertRow], ctx: Ctx<'_>) -> Markup {
    html! {
        @if rows.is_empty() {
            p.muted { "No alerts yet." }
        } @else {
            table.stack {
                thead { tr { th { "When" } th { "Event" } th { "Link" } th { "Delivery" } } }
                tbody {
                    @for a in rows {
                        tr {
                            td data-label="When" { (when(&a.created_at, ctx.now)) }
                            td data-label="Event" {
                                (a.event) " "
                                @if let Some(o) = a.old_state.as_deref().and_then(|s| s.parse::<State>().ok()) { (badge(o)) " → " }
                                @if let Ok(n) = a.new_state.parse::<State>() { (badge(n)) } @else { (a.new_state) }
                            }
                            td data-label="Link" {
                                @if let Some(u) = &a.url {
                                    a.url href=(href("/links", &q(&[("q", u)]))) { (u) }
                                }
                            }
                            td data-label="Delivery" {
                                @for d in &a.deliveries {
                                    div {
                                        span.mono { (d.sink) } ": " strong { (d.state) }
                                        @if d.attempts > 1 { " after " (d.attempts) " attempts" }
                                        @if let Some(e) = &d.last_error { br; span.small { (e) } }
                                        @if let Some(n) = &d.next_attempt { br; span.small { "next try " (when(n, ctx.now)) } }
                                    }
                                }
                                @if a.deliveries.is_empty() { span.muted { "no sink" } }
                            }
                        }
                    }
                }
            }
        }
    }
}

// -- alerts --------------------------------------------------------------------------------------

pub fn alerts(list: &Paged<AlertRow>, ctx: Ctx<'_>) -> String {
    let main = html! {
        h1 { "Alerts" }
        p.lead { (plural(list.total, "alert event", "alert events")) ", newest first, with the delivery to each sink." }
        section.card { (alerts_table(&list.items, ctx)) }
        (pages(list, ctx.here))
    };
    layout("Alerts", ctx, main)
}

// -- links ---------------------------------------------------------------------------------------

pub fn links(list: &Paged<LinkRow>, f: &LinkFilter, ctx: Ctx<'_>) -> String {
    let main = html! {
        h1 { "Links" }
        form.filters.card method="get" action="/links" {
            fieldset {
                legend.small.muted { "State" }
                @for s in State::ALL {
                    label { input type="checkbox" name="state" value=(s.as_str()) checked[f.states.contains(&s)]; (badge(s)) }
                }
            }
            label.field { "Host" input type="text" name="host" value=(f.host.as_deref().unwrap_or("")) placeholder="example.org"; }
            label.field { "Post" input type="text" name="post" value=(f.post.as_deref().unwrap_or("")) placeholder="part of a post's path"; }
            label.field { "Text" input type="search" name="q" value=(f.text.as_deref().unwrap_or("")) placeholder="URL, link text, quote, error"; }
            label.field { "Sort"
                select name="sort" {
                    option value="url" selected[f.sort == LinkSort::Url] { "by URL" }
                    option value="since" selected[f.sort == LinkSort::Since] { "latest change first" }
                }
            }
            button type="submit" { "Filter" }
            @if !f.is_empty() { a href="/links" { "Clear" } }
        }
        p.lead { (plural(list.total, "link", "links")) @if !f.is_empty() { " match" } "." }
        @if !list.items.is_empty() {
            section.card {
                table.stack {
                    thead { tr { th { "State" } th { "Link" } th.num { "HTTP" } th { "Since" } th { "Cited by" } th { "Archived" } } }
                    tbody {
                        @for row in &list.items {
                            @let r = &row.status;
                            tr {
                                td data-label="State" { (badge(r.state)) }
                                td data-label="Link" {
                                    a.url href=(link_page(r.id)) { (r.url) }
                                    @if let Some(fu) = &r.final_url { br; span.small { "→ " span.url { (fu) } } }
                                    @if let Some(e) = &r.error { br; span.small { (e) } }
                                }
                                td.num data-label="HTTP" { @if let Some(s) = r.http_status { (s) } @else { "–" } }
                                td data-label="Since" { (when(&r.since, ctx.now)) }
                                td data-label="Cited by" {
                                    @for (c, pid) in r.citations.iter().zip(&row.post_ids).take(3) {
                                        div.small { a href=(post_page(*pid)) { (c.post) } ":" (c.line) }
                                    }
                                    @if r.citations.len() > 3 { div.small.muted { "and " (r.citations.len() - 3) " more" } }
                                }
                                td data-label="Archived" {
                                    @if let Some(a) = &r.archived_url { (wayback(a, "Wayback")) }
                                }
                            }
                        }
                    }
                }
            }
        }
        (pages(list, ctx.here))
    };
    layout("Links", ctx, main)
}

// -- posts ---------------------------------------------------------------------------------------

pub fn posts(
    list: &Paged<PostSummary>,
    text: Option<&str>,
    sort: PostSort,
    ctx: Ctx<'_>,
) -> String {
    let main = html! {
        h1 { "Posts" }
        form.filters.card method="get" action="/posts" {
            label.field { "Path or title" input type="search" name="q" value=(text.unwrap_or("")); }
            label.field { "Sort"
                select name="sort" {
                    option value="path" selected[sort == PostSort::Path] { "by path" }
                    option value="rot" selected[sort == PostSort::Rot] { "most rotted first" }
                }
            }
            button type="submit" { "Show" }
        }
        p.lead { (plural(list.total, "post", "posts")) "." }
        @if !list.items.is_empty() {
            section.card {
                table.stack {
                    thead { tr { th { "Post" } th { "Date" } th.num { "Citations" } th.num { "Rotted" } th { "States" } } }
                    tbody {
                        @for p in &list.items {
                            tr {
                                td data-label="Post" { a href=(post_page(p.id)) { (p.title.as_deref().unwrap_or(&p.path)) } br; span.small.mono { (p.path) } }
                                td data-label="Date" { (p.date.as_deref().unwrap_or("")) }
                                td.num data-label="Citations" { (p.citations) }
                                td.num data-label="Rotted" { (p.rotted) }
                                td data-label="States" {
                                    @for (s, n) in &p.counts { (badge(*s)) " " (n) " " }
                                }
                            }
                        }
                    }
                }
            }
        }
        (pages(list, ctx.here))
    };
    layout("Posts", ctx, main)
}

// -- a post --------------------------------------------------------------------------------------

fn standing(s: &Option<Standing>) -> Markup {
    html! {
        @match s {
            None => {}
            Some(Standing::Stands) => { span.stands { "✓ still on the page" } }
            Some(Standing::Missing { reason }) => { span.missing { "✗ no longer on the page" } br; span.small { (reason) } }
            Some(Standing::Unknown) => { span.muted { "not known yet (no archived copy)" } }
        }
    }
}

/// One planned edit, in words.
fn edit_words(e: &PlannedEdit) -> Markup {
    html! {
        @if e.action == "annotate" {
            "add a link to the archived copy " span.url { (e.target) }
        } @else {
            "replace with " span.url { (e.target) }
        }
    }
}

/// What `fix` would do to one citation.
fn fix_cell(plan: &FixPlan, c: &PostCitation) -> Markup {
    let edits = plan.edits_for(&c.url);
    html! {
        @for e in &edits { div.small { (edit_words(e)) } }
        @if edits.is_empty() {
            @match (plan, plan.listed_for(&c.url)) {
                (_, Some(l)) => { span.small { "left alone: " (l.why) } }
                (FixPlan::Planned { .. }, None) => { span.muted { "nothing" } }
                _ => { span.muted { "–" } }
            }
        }
    }
}

pub fn post(p: &PostPage, ctx: Ctx<'_>) -> String {
    let info = &p.post;
    let title = info.title.as_deref().unwrap_or(&info.path);
    let main = html! {
        h1 { (title) }
        p.lead {
            span.mono { (info.path) } " in " span.mono { (info.source) }
            @if let Some(d) = &info.date { " · " (d) }
            @if let Some(u) = &info.url { " · " (live(u)) }
            @if !info.present { " · " strong { "the file is gone" } " (its history stays)" }
        }
        section.card {
            h2 { "Citations in reading order (" (p.citations.total) ")" }
            @if p.citations.items.is_empty() {
                p.muted { "This post cites nothing." }
            } @else {
                table.stack {
                    thead { tr { th.num { "Line" } th { "Link text and target" } th { "State" } th { "Quote" } th { "Archived copy" } th { "What fix would do" } } }
                    tbody {
                        @for c in &p.citations.items {
                            tr {
                                td.num data-label="Line" { (c.line) }
                                td data-label="Link" {
                                    @if !c.text.is_empty() && c.text != c.url { strong { (c.text) } br; }
                                    a.url.small href=(link_page(c.link_id)) { (c.url) }
                                    @if let Some(f) = &c.fragment { span.small.muted { "#" (f) } }
                                    @if let Some(fu) = &c.final_url { br; span.small { "→ " span.url { (fu) } } }
                                }
                                td data-label="State" {
                                    (badge(c.state))
                                    @if let Some(cf) = c.confirmed { " " span.small { "confirmed " (cf.as_str()) } }
                                    br; span.small { "since " (when(&c.since, ctx.now)) }
                                    @if let Some(s) = c.http_status { br; span.small { "HTTP " (s) } }
                                    @if let Some(e) = &c.error { br; span.small { (e) } }
                                }
                                td data-label="Quote" {
                                    @if let Some(qt) = &c.quote {
                                        blockquote { (excerpt(qt, 300)) }
                                        (standing(&c.quote_standing))
                                    }
                                }
                                td data-label="Archived" {
                                    @if let Some(b) = &c.baseline {
                                        a href=(cited_href(c.link_id, &b.hash)) { "as cited" } span.small { " (" (when(&b.fetched_at, ctx.now)) ")" }
                                    } @else { span.muted { "none yet" } }
                                    @if let Some(a) = &c.archived_url { br; (wayback(a, "Wayback")) }
                                }
                                td data-label="Fix" { (fix_cell(&p.fix, c)) }
                            }
                        }
                    }
                }
            }
            (pages(&p.citations, ctx.here))
        }
        section.card {
            h2 { "What " code { "citewatch fix" } " would do" }
            @match &p.fix {
                FixPlan::Unavailable(why) => { p.notice { (why) } }
                FixPlan::Failed(e) => { p.notice { "The fix planner failed on this post: " (e) } }
                FixPlan::Planned { edits, listed } if edits.is_empty() && listed.is_empty() => {
                    p.muted { "Nothing: no citation of this post needs a repair it can make." }
                }
                FixPlan::Planned { edits, listed } => {
                    p.small { "A dry run of " code { "citewatch fix --post " (p.post.path) } ": nothing is written until it is run with " code { "--apply" } "." }
                    @if !edits.is_empty() {
                        table.stack {
                            thead { tr { th.num { "Line" } th { "Now" } th { "Would become" } th { "Why" } } }
                            tbody {
                                @for e in edits {
                                    tr {
                                        td.num data-label="Line" { (e.line) }
                                        td data-label="Now" { @if e.old.is_empty() { span.muted { "(insertion)" } } @else { del.url { (e.old) } } }
                                        td data-label="Would become" { ins.url { (e.new) } }
                                        td data-label="Why" { (e.why) }
                                    }
                                }
                            }
                        }
                    }
                    @if !listed.is_empty() {
                        p.small { "Left alone:" }
                        ul.small {
                            @for l in listed { li { "line " (l.line) ", " span.url { (l.url) } ": " (l.why) } }
                        }
                    }
                }
            }
        }
    };
    layout(title, ctx, main)
}

/// At most `max` characters, with an ellipsis when cut.
fn excerpt(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &s[..at]),
        None => s.to_string(),
    }
}

// -- a link --------------------------------------------------------------------------------------

/// Words of context kept around each change (as `citewatch diff` keeps them).
const DIFF_CONTEXT: usize = 12;
/// Words shown at most of one deleted or inserted run.
const DIFF_RUN: usize = 2000;

fn diff_html(ops: &[DiffOp]) -> Markup {
    let last = ops.len().saturating_sub(1);
    let run = |w: &[String]| -> String {
        if w.len() > DIFF_RUN {
            format!(
                "{} … ({} more words)",
                w[..DIFF_RUN].join(" "),
                w.len() - DIFF_RUN
            )
        } else {
            w.join(" ")
        }
    };
    html! {
        div.diff {
            @for (k, op) in ops.iter().enumerate() {
                @match op {
                    DiffOp::Equal(w) => {
                        @let head = if k == 0 { 0 } else { DIFF_CONTEXT };
                        @let tail = if k == last { 0 } else { DIFF_CONTEXT };
                        @if w.len() > head + tail + 3 {
                            (w[..head].join(" ")) " " span.gap { "…" } " " (w[w.len() - tail..].join(" "))
                        } @else {
                            (w.join(" "))
                        }
                    }
                    DiffOp::Delete(w) => { del { (run(w)) } }
                    DiffOp::Insert(w) => { ins { (run(w)) } }
                }
                " "
            }
        }
    }
}

fn snapshot_line(link_id: i64, s: &SnapshotInfo, what: &str, ctx: Ctx<'_>) -> Markup {
    html! {
        li {
            a href=(cited_href(link_id, &s.hash)) { (what) }
            " — fetched " (when(&s.fetched_at, ctx.now))
            ", " (s.size) " bytes"
            @if let Some(ct) = &s.content_type { ", " (ct) }
            @if s.truncated { ", cut at the size limit" }
            @if let Some(t) = &s.title { ": “" (t) "”" }
            " " span.small.mono { (short(&s.hash)) }
        }
    }
}

pub fn link(p: &LinkPage, ctx: Ctx<'_>) -> String {
    let r = &p.status;
    let main = html! {
        h1.url { (r.url) }
        p.lead {
            (badge(r.state)) " since " (when(&r.since, ctx.now))
            " · " (plural(r.streak.max(0) as u64, "check", "checks")) " in this state"
            @if let Some(c) = p.confirmed { " · confirmed " (badge(c)) }
            @if let Some(c) = &r.checked_at { " · last checked " (when(c, ctx.now)) }
            " · first seen " (when(&p.first_seen, ctx.now))
        }
        div.grid {
            section.card {
                h2 { "Now" }
                ul {
                    li { "Live: " (live(&r.url)) }
                    @if let Some(s) = r.http_status { li { "HTTP " (s) } }
                    @if let Some(f) = &r.final_url { li { "Ends at " (live(f)) } }
                    @if let Some(e) = &r.error { li { "Why: " (e) } }
                    @if let Some(a) = &r.archived_url { li { "Wayback Machine: " (wayback(a, a)) } }
                }
            }
            section.card {
                h2 { "Cited by" }
                @if p.cited_by.is_empty() { p.muted { "No post cites it any more." } }
                ul {
                    @for c in &p.cited_by {
                        li {
                            a href=(post_page(c.post_id)) { (c.post_title.as_deref().unwrap_or(&c.citation.post)) }
                            span.small.mono { " " (c.citation.post) ":" (c.citation.line) }
                            @if !c.citation.text.is_empty() && c.citation.text != r.url { " — “" (c.citation.text) "”" }
                            @if let Some(qt) = &c.citation.quote { blockquote { (excerpt(qt, 300)) } }
                        }
                    }
                }
            }
        }
        section.card {
            h2 { "Timeline" }
            (chart::timeline(&p.transitions, &p.timeline, ctx.now))
            p.small { (plural(p.checks, "check", "checks")) " in all; hover the band or a tick for details." }
            @if !p.transitions.is_empty() {
                ol.transitions {
                    @for t in &p.transitions {
                        li {
                            (when(&t.at, ctx.now)) ": "
                            @if let Some(f) = t.from { (badge(f)) " → " }
                            (badge(t.to))
                            @if let Some(s) = t.http_status { " HTTP " (s) }
                            @if let Some(e) = &t.error { " " span.small { (excerpt(e, 200)) } }
                        }
                    }
                }
            }
        }
        @if let Some((at, hops)) = &p.redirects {
            section.card {
                h2 { "Redirect chain" }
                p.small { "As the check of " (when(at, ctx.now)) " followed it." }
                table.stack {
                    thead { tr { th.num { "Status" } th { "URL" } th { "Location" } } }
                    tbody {
                        @for h in hops.hops() {
                            tr {
                                td.num data-label="Status" { (h.status) }
                                td.url data-label="URL" { (h.url.as_str()) }
                                td.url data-label="Location" { (h.location) }
                            }
                        }
                    }
                }
            }
        }
        section.card {
            h2 { "What changed since it was cited" }
            @match &p.diff {
                Some(ops) => {
                    p.small { "Words of the page's readable text, from the baseline to the latest archived copy (as " code { "citewatch diff" } " shows them)." }
                    (diff_html(ops))
                }
                None if p.baseline.is_some() && p.baseline.as_ref().map(|b| &b.hash) == p.latest.as_ref().map(|l| &l.hash) => {
                    p.muted { "Nothing: the latest archived copy is the baseline." }
                }
                None => { p.muted { "No two archived copies to compare." } }
            }
        }
        section.card {
            h2 { "The page as it was cited" }
            @match (&p.baseline, &p.latest) {
                (None, None) => { p.muted { "Nothing archived yet." } }
                (b, l) => {
                    ul {
                        @if let Some(b) = b { (snapshot_line(r.id, b, "As cited (baseline)", ctx)) }
                        @if let Some(l) = l { @if b.as_ref().is_none_or(|b| b.hash != l.hash) { (snapshot_line(r.id, l, "Latest archived copy", ctx)) } }
                    }
                    @if let Some(b) = b {
                        iframe.frame sandbox="" src=(snapshot_href(r.id, &b.hash)) title="The archived page as it was cited" loading="lazy" referrerpolicy="no-referrer" {}
                    }
                }
            }
        }
        section.card {
            h2 { "Latest checks" }
            (checks_table(&p.recent, ctx))
            p.small { a href=(format!("/link/{}/history", r.id)) { "Every check" } }
        }
    };
    layout(&r.url, ctx, main)
}

fn checks_table(rows: &[CheckRow], ctx: Ctx<'_>) -> Markup {
    html! {
        @if rows.is_empty() {
            p.muted { "Not checked yet." }
        } @else {
            table.stack {
                thead { tr { th { "Checked" } th { "State" } th.num { "HTTP" } th.num { "ms" } th { "Detail" } } }
                tbody {
                    @for c in rows {
                        tr {
                            td data-label="Checked" { (when(&c.checked_at, ctx.now)) }
                            td data-label="State" { (badge(c.state)) }
                            td.num data-label="HTTP" { @if let Some(s) = c.http_status { (s) } @else { "–" } }
                            td.num data-label="ms" { (c.elapsed_ms) }
                            td data-label="Detail" {
                                @if let Some(e) = &c.error { (excerpt(e, 200)) }
                                @else if let Some(f) = &c.final_url { "→ " span.url { (f) } }
                                @if let Some(s) = c.similarity { " " span.small { "similarity " (format!("{s:.2}")) } }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Every check of a link, oldest first, a page at a time.
pub fn history(r: &StatusRow, checks: &Paged<CheckRow>, ctx: Ctx<'_>) -> String {
    let main = html! {
        h1.url { (r.url) }
        p.lead { a href=(link_page(r.id)) { "Back to the link" } " · " (plural(checks.total, "check", "checks")) ", oldest first." }
        section.card { (checks_table(&checks.items, ctx)) }
        (pages(checks, ctx.here))
    };
    layout(&format!("History of {}", r.url), ctx, main)
}

/// A snapshot inside the dashboard: what it is, then the archived page in a sandboxed frame.
pub fn cited(r: &StatusRow, s: &SnapshotInfo, as_cited: bool, ctx: Ctx<'_>) -> String {
    let src = snapshot_href(r.id, &s.hash);
    let main = html! {
        p.notice {
            strong { @if as_cited { "The page as it was cited" } @else { "An archived copy" } }
            " — " span.url { (r.url) } ", fetched " (when(&s.fetched_at, ctx.now)) " (" (stamp(s.fetched_at)) ")."
            " This is citewatch's archived copy, served read-only from its database: scripts, links and requests to the live site are switched off. "
            a href=(link_page(r.id)) { "Back to the link" } " · " a href=(src) { "Open it alone" }
        }
        iframe.frame sandbox="" src=(src) title="The archived page" referrerpolicy="no-referrer" {}
    };
    layout(&format!("Archived: {}", r.url), ctx, main)
}

pub fn error(status: u16, message: &str, ctx: Ctx<'_>) -> String {
    let main = html! {
        h1 { (status) }
        p.lead { (message) }
        p { a href="/" { "Back to the overview" } }
    };
    layout(&status.to_string(), ctx, main)
}

/// The page for a request without the token.
pub fn unauthorized(ctx: Ctx<'_>) -> String {
    let main = html! {
        h1 { "This dashboard needs its token" }
        p { "Open it once as " code { "http://HOST:PORT/?token=TOKEN" } " (the token is the content of the file "
            code { "[serve] token_file" } " names); your browser then keeps a cookie. Scripts send "
            code { "Authorization: Bearer TOKEN" } "." }
    };
    layout("Token needed", ctx, main)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rows::CitationRow;
    use crate::view::{PageReq, PostInfo, WeekCounts};

    fn parse(t: &str) -> Option<DateTime<Utc>> {
        t.parse().ok()
    }

    fn now() -> DateTime<Utc> {
        parse("2026-11-25T12:00:00Z").unwrap()
    }

    fn status(url: &str, state: State) -> StatusRow {
        StatusRow {
            id: 7,
            url: url.into(),
            state,
            since: "2026-11-20T10:00:00Z".parse().unwrap(),
            streak: 2,
            checked_at: Some("2026-11-24T10:00:00Z".parse().unwrap()),
            http_status: Some(404),
            final_url: None,
            error: Some("<b>gone</b>".into()),
            archived_url: Some("javascript:alert(1)".into()),
            unverified: false,
            citations: vec![CitationRow {
                post: "posts/<script>.md".into(),
                line: 3,
                text: "<img src=x onerror=alert(1)>".into(),
                kind: "link".into(),
                ..Default::default()
            }],
        }
    }

    #[test]
    fn relative_times_read_well() {
        let n = now();
        let t = |s: &str| parse(s).unwrap();
        assert_eq!(ago(t("2026-11-25T11:59:30Z"), n), "just now");
        assert_eq!(ago(t("2026-11-25T11:01:00Z"), n), "59 min ago");
        assert_eq!(ago(t("2026-11-25T11:00:00Z"), n), "1 h ago");
        assert_eq!(ago(t("2026-11-24T12:00:00Z"), n), "24 h ago");
        assert_eq!(ago(t("2026-11-20T12:00:00Z"), n), "5 days ago");
        assert_eq!(ago(t("2025-01-01T00:00:00Z"), n), "2025-01-01");
    }

    #[test]
    fn here_builds_links_to_pages_and_json() {
        let here = Here::new(
            "/links",
            &[
                ("state".into(), "broken".into()),
                ("q".into(), "a b&c".into()),
                ("page".into(), "2".into()),
                ("format".into(), "html".into()),
                ("token".into(), "secret".into()),
            ],
        );
        assert_eq!(
            here.with("page", "3"),
            "/links?state=broken&q=a+b%26c&page=3"
        );
        assert_eq!(
            here.json(),
            "/links?state=broken&q=a+b%26c&page=2&format=json"
        );
        assert!(!here.json().contains("secret"));
    }

    #[test]
    fn hostile_text_is_escaped_everywhere() {
        let here = Here::new("/links", &[]);
        let ctx = Ctx {
            now: now(),
            here: &here,
        };
        let list = Paged {
            items: vec![LinkRow {
                status: status(
                    "https://a.example/\"><script>alert(1)</script>",
                    State::Broken,
                ),
                post_ids: vec![3],
            }],
            total: 1,
            page: PageReq::default(),
        };
        let out = links(&list, &LinkFilter::default(), ctx);
        assert!(!out.contains("<script>"), "{out}");
        assert!(!out.contains("<img src=x"), "{out}");
        assert!(!out.contains("<b>gone"), "{out}");
        assert!(out.contains("&lt;b&gt;gone&lt;/b&gt;"), "{out}");
        assert!(
            !out.contains("href=\"javascript:"),
            "only web URLs become links: {out}"
        );
        let post = PostPage {
            post: PostInfo {
                id: 3,
                source: "posts".into(),
                path: "a.md".into(),
                title: Some("</title><script>alert(1)</script>".into()),
                date: None,
                url: Some("javascript:alert(2)".into()),
                present: true,
                scanned_at: "2026-11-25T00:00:00Z".parse().unwrap(),
            },
            citations: Paged {
                items: vec![],
                total: 0,
                page: PageReq::default(),
            },
            fix: FixPlan::Unavailable("no planner in this test".into()),
        };
        let out = super::post(&post, ctx);
        assert!(!out.contains("<script>"), "{out}");
        assert!(out.contains("&lt;/title&gt;&lt;script&gt;"), "{out}");
        assert!(!out.contains("href=\"javascript:"), "{out}");
        assert!(out.contains("no planner in this test"), "{out}");
    }

    #[test]
    fn the_overview_shows_counts_chart_posts_and_alerts() {
        let here = Here::new("/", &[]);
        let mut counts = [0u64; 9];
        counts[0] = 8;
        counts[4] = 2;
        let o = Overview {
            counts,
            posts: 4,
            weeks: vec![WeekCounts {
                week: chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap(),
                counts,
            }],
            top_posts: vec![PostSummary {
                id: 1,
                source: "p".into(),
                path: "rot.md".into(),
                title: Some("Rotting <post>".into()),
                date: None,
                url: None,
                citations: 5,
                rotted: 2,
                counts: vec![(State::Broken, 2)],
            }],
            alerts: vec![AlertRow {
                id: "cw-1".into(),
                created_at: "2026-11-24T00:00:00Z".parse().unwrap(),
                event: "confirmed".into(),
                url: Some("https://a.example/".into()),
                old_state: Some("ok".into()),
                new_state: "broken".into(),
                deliveries: vec![crate::rows::DeliveryRow {
                    sink: "log".into(),
                    state: "delivered".into(),
                    attempts: 1,
                    last_error: None,
                    delivered_at: None,
                    next_attempt: None,
                }],
            }],
        };
        let out = overview(
            &o,
            Ctx {
                now: now(),
                here: &here,
            },
        );
        assert!(out.contains("10 cited links in 4 posts"), "{out}");
        assert!(out.contains("2 rotted"), "{out}");
        assert!(out.contains("<svg class=\"chart\""), "{out}");
        assert!(out.contains("Rotting &lt;post&gt;"), "{out}");
        assert!(out.contains("<strong>delivered</strong>"), "{out}");
        assert!(out.contains("href=\"/?format=json\""), "{out}");
    }

    #[test]
    fn diffs_mark_deletions_and_insertions_and_elide_long_runs() {
        let words = |n: usize, p: &str| (0..n).map(|i| format!("{p}{i}")).collect::<Vec<_>>();
        let out = diff_html(&[
            DiffOp::Equal(words(40, "w")),
            DiffOp::Delete(vec!["<old>".into()]),
            DiffOp::Insert(vec!["new".into()]),
            DiffOp::Equal(words(40, "v")),
        ])
        .into_string();
        assert!(out.contains("<del>&lt;old&gt;</del>"), "{out}");
        assert!(out.contains("<ins>new</ins>"), "{out}");
        assert!(!out.contains("w0 "), "leading context is elided: {out}");
        assert!(out.contains("w39"), "{out}");
        assert!(out.contains("v11") && !out.contains("v12"), "{out}");
    }
}
