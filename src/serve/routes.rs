//! The dashboard's routes. Each reads through [`Dashboard::read`], renders with the pure modules
//! and answers HTML, or JSON with `?format=json`. A guard in front of every route refuses what is
//! not a GET or HEAD, checks the Host (without a token: only this machine's names, against DNS
//! rebinding) and the token (with one), and sets the security headers on every answer.
//!
//! | route | page |
//! | --- | --- |
//! | `/` | overview |
//! | `/links` | links, filtered (`state`, `host`, `post`, `q`, `sort`) |
//! | `/link/{id}` | a link |
//! | `/link/{id}/history` | every check of a link |
//! | `/link/{id}/cited/{hash}` | an archived copy inside the dashboard |
//! | `/link/{id}/snapshot/{hash}` | the archived copy itself, sandboxed |
//! | `/link/{id}/snapshot/{hash}/raw` | an archived image's bytes |
//! | `/posts`, `/post/{id}` | posts, a post |
//! | `/alerts` | alert events and their delivery |
//! | `/metrics`, `/healthz`, `/style.css` | Prometheus, health, the stylesheet |
//!
//! Every list takes `page` and `per_page`.

use std::sync::Arc;

use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use url::Url;

use super::page::{self, Ctx, Here};
use super::view::{
    LinkFilter, LinkSort, Overview, PageReq, Paged, PostCitation, PostPage, PostSort,
};
use super::{json, metrics, sandbox, Dashboard, ReadError};
use crate::state::State as LinkState;
use crate::store::QuoteJudge;
use crate::store::{Store, StoreError};

type Dash = State<Arc<Dashboard>>;

/// The cookie a browser keeps once it showed the token.
const COOKIE: &str = "citewatch";

/// The dashboard's own Content-Security-Policy: its stylesheet, its own images and frames, no
/// script at all, never framed by another site.
const PAGE_POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; frame-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// An archived page's policy: a sandbox without `allow-scripts` (an opaque origin, no scripts,
/// no forms, no popups, no navigation of other frames), nothing fetched but images this server
/// serves, inline styles only, framed by the dashboard alone.
pub const SNAPSHOT_POLICY: &str = "sandbox; default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'self'";

/// An archived image's policy (an SVG opened alone must not run either).
const IMAGE_POLICY: &str =
    "sandbox; default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'self'";

/// Image types served back raw; anything else archived is only ever shown through the sandbox.
const IMAGE_TYPES: &[&str] = &[
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "image/avif",
    "image/bmp",
    "image/x-icon",
    "image/vnd.microsoft.icon",
    "image/svg+xml",
];

/// Quotes judged per page at most, and archived pages parsed at most to look for a quote in
/// their whole visible text (the rest read as not known).
const QUOTES_PER_PAGE: usize = 50;
const VISIBLE_PARSES: usize = 5;

/// Rows of the overview's alert list and of its post list.
const OVERVIEW_ALERTS: u32 = 10;
const OVERVIEW_POSTS: usize = 10;
/// Weeks in the overview's chart.
const WEEKS: usize = 26;

/// The longest filter value read (longer ones are cut).
const MAX_PARAM: usize = 300;

pub(super) fn router(dash: Arc<Dashboard>) -> Router {
    Router::new()
        .route("/", get(overview))
        .route("/links", get(links))
        .route("/link/{id}", get(link))
        .route("/link/{id}/history", get(history))
        .route("/link/{id}/cited/{hash}", get(cited))
        .route("/link/{id}/snapshot/{hash}", get(snapshot))
        .route("/link/{id}/snapshot/{hash}/raw", get(raw))
        .route("/posts", get(posts))
        .route("/post/{id}", get(post))
        .route("/alerts", get(alerts))
        .route("/metrics", get(metrics_route))
        .route("/healthz", get(healthz))
        .route("/style.css", get(style))
        .route("/favicon.ico", get(|| async { StatusCode::NO_CONTENT }))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(dash.clone(), guard))
        .with_state(dash)
}

// -- requests ------------------------------------------------------------------------------------

/// A request's query.
struct Params(Vec<(String, String)>);

impl Params {
    fn parse(q: Option<&str>) -> Params {
        Params(
            url::form_urlencoded::parse(q.unwrap_or("").as_bytes())
                .into_owned()
                .take(64)
                .map(|(k, v)| (k, v.chars().take(MAX_PARAM).collect()))
                .collect(),
        )
    }

    /// The first non-blank value of `key`, trimmed.
    fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, v)| k == key && !v.trim().is_empty())
            .map(|(_, v)| v.trim())
    }

    /// Every value of `key`, comma lists split (`state=broken,error&state=ok`).
    fn all(&self, key: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .flat_map(|(_, v)| v.split(','))
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .collect()
    }

    fn json(&self) -> bool {
        self.get("format") == Some("json")
    }

    fn number(&self, key: &str) -> Result<Option<u32>, Fail> {
        self.get(key)
            .map(|v| {
                v.parse::<u32>().map_err(|_| {
                    Fail::BadRequest(format!("{key} must be a whole number, not {v:?}"))
                })
            })
            .transpose()
    }

    fn page(&self) -> Result<PageReq, Fail> {
        Ok(PageReq::new(self.number("page")?, self.number("per_page")?))
    }

    fn text(&self, key: &str) -> Option<String> {
        self.get(key).map(str::to_string)
    }
}

/// Why a request failed, for people or scripts.
enum Fail {
    NotFound(String),
    BadRequest(String),
    Read(ReadError),
}

impl From<ReadError> for Fail {
    fn from(e: ReadError) -> Fail {
        Fail::Read(e)
    }
}

/// What a route answers.
enum Reply {
    Html(String),
    Json(String),
    /// A page of a list as JSON (the CLI's array); the page and the total go in headers.
    JsonList(String, u64, PageReq),
}

fn id_of(s: &str) -> Result<i64, Fail> {
    s.parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| Fail::NotFound(format!("no such id {s:?}")))
}

fn hash_of(s: &str) -> Result<String, Fail> {
    if !s.is_empty() && s.len() <= 128 && s.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(s.to_string())
    } else {
        Err(Fail::NotFound("no such snapshot".into()))
    }
}

/// Answers a route: its reply, or its failure rendered as the route would have been.
async fn answer(dash: &Dashboard, path: &str, p: &Params, reply: Result<Reply, Fail>) -> Response {
    let here = Here::new(path, &p.0);
    let ctx = Ctx {
        now: dash.now(),
        here: &here,
    };
    match reply {
        Ok(Reply::Html(body)) => html(StatusCode::OK, body),
        Ok(Reply::Json(body)) => json_response(body),
        Ok(Reply::JsonList(body, total, page)) => {
            let mut resp = json_response(body);
            let last = Paged::<()> {
                items: vec![],
                total,
                page,
            }
            .last_page();
            let mut json_here = here.clone();
            json_here.params.push(("format".into(), "json".into()));
            let mut links = Vec::new();
            if page.number < last {
                links.push(format!(
                    "<{}>; rel=\"next\"",
                    json_here.with("page", &(page.number + 1).to_string())
                ));
                links.push(format!(
                    "<{}>; rel=\"last\"",
                    json_here.with("page", &last.to_string())
                ));
            }
            if page.number > 1 {
                links.push(format!(
                    "<{}>; rel=\"prev\"",
                    json_here.with("page", &(page.number - 1).to_string())
                ));
                links.push(format!("<{}>; rel=\"first\"", json_here.with("page", "1")));
            }
            let h = resp.headers_mut();
            if let Ok(v) = HeaderValue::from_str(&links.join(", ")) {
                if !links.is_empty() {
                    h.insert(header::LINK, v);
                }
            }
            h.insert("x-total-count", HeaderValue::from(total));
            resp
        }
        Err(f) => {
            let (status, message) = match f {
                Fail::NotFound(m) => (StatusCode::NOT_FOUND, m),
                Fail::BadRequest(m) => (StatusCode::BAD_REQUEST, m),
                Fail::Read(ReadError::Busy) => (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the database is busy; try again in a moment".into(),
                ),
                Fail::Read(ReadError::Store(e)) => {
                    tracing::error!("dashboard: reading {path}: {e}");
                    (
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "the database could not be read; the log says why".into(),
                    )
                }
                Fail::Read(ReadError::Panicked) => {
                    tracing::error!("dashboard: reading {path} panicked (a bug in citewatch)");
                    (
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "citewatch failed to read this page (a bug: the log has details)".into(),
                    )
                }
            };
            let mut resp = if p.json() {
                let body = serde_json::json!({ "error": message }).to_string() + "\n";
                let mut r = json_response(body);
                *r.status_mut() = status;
                r
            } else {
                html(status, page::error(status.as_u16(), &message, ctx))
            };
            if status == StatusCode::SERVICE_UNAVAILABLE {
                resp.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("2"));
            }
            resp
        }
    }
}

fn html(status: StatusCode, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        body,
    )
        .into_response()
}

fn json_response(body: String) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response()
}

/// `None` read as "not found".
fn found<T>(v: Option<T>, what: &str) -> Result<T, Fail> {
    v.ok_or_else(|| Fail::NotFound(format!("no such {what}")))
}

// -- pages ---------------------------------------------------------------------------------------

async fn overview(State(d): Dash, RawQuery(q): RawQuery) -> Response {
    let p = Params::parse(q.as_deref());
    let reply = async {
        let (counts, posts, top_posts, alerts) = d
            .read(|s, _| {
                Ok((
                    s.web_counts()?,
                    s.web_post_count()?,
                    s.web_top_posts(OVERVIEW_POSTS)?,
                    s.web_alerts(PageReq::new(Some(1), Some(OVERVIEW_ALERTS)))?
                        .items,
                ))
            })
            .await?;
        let now = d.now();
        let weeks = d.with_history(|h| h.weeks(now, WEEKS)).await?;
        let o = Overview {
            counts,
            posts,
            weeks,
            top_posts,
            alerts,
        };
        Ok(if p.json() {
            Reply::Json(json::overview(&o))
        } else {
            let here = Here::new("/", &p.0);
            Reply::Html(page::overview(&o, Ctx { now, here: &here }))
        })
    }
    .await;
    answer(&d, "/", &p, reply).await
}

fn link_filter(p: &Params) -> Result<LinkFilter, Fail> {
    let states = p
        .all("state")
        .into_iter()
        .map(|s| {
            s.parse::<LinkState>()
                .map_err(|e| Fail::BadRequest(e.to_string()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let sort = match p.get("sort") {
        None | Some("url") => LinkSort::Url,
        Some("since") => LinkSort::Since,
        Some(other) => {
            return Err(Fail::BadRequest(format!(
                "sort by \"url\" or \"since\", not {other:?}"
            )))
        }
    };
    Ok(LinkFilter {
        states,
        host: p.text("host"),
        post: p.text("post"),
        text: p.text("q"),
        sort,
    })
}

async fn links(State(d): Dash, RawQuery(q): RawQuery) -> Response {
    let p = Params::parse(q.as_deref());
    let reply = async {
        let filter = link_filter(&p)?;
        let page = p.page()?;
        let f = filter.clone();
        let list = d.read(move |s, _| s.web_links(&f, page)).await?;
        Ok(if p.json() {
            Reply::JsonList(json::links(&list.items), list.total, page)
        } else {
            let here = Here::new("/links", &p.0);
            let ctx = Ctx {
                now: d.now(),
                here: &here,
            };
            Reply::Html(page::links(&list, &filter, ctx))
        })
    }
    .await;
    answer(&d, "/links", &p, reply).await
}

async fn posts(State(d): Dash, RawQuery(q): RawQuery) -> Response {
    let p = Params::parse(q.as_deref());
    let reply = async {
        let sort = match p.get("sort") {
            None | Some("path") => PostSort::Path,
            Some("rot") => PostSort::Rot,
            Some(other) => {
                return Err(Fail::BadRequest(format!(
                    "sort by \"path\" or \"rot\", not {other:?}"
                )))
            }
        };
        let page = p.page()?;
        let text = p.text("q");
        let t = text.clone();
        let list = d
            .read(move |s, _| s.web_posts(t.as_deref(), sort, page))
            .await?;
        Ok(if p.json() {
            Reply::JsonList(json::posts(&list.items), list.total, page)
        } else {
            let here = Here::new("/posts", &p.0);
            let ctx = Ctx {
                now: d.now(),
                here: &here,
            };
            Reply::Html(page::posts(&list, text.as_deref(), sort, ctx))
        })
    }
    .await;
    answer(&d, "/posts", &p, reply).await
}

/// Whether each quoted passage still stands in the latest archived copy of its page, by the one
/// rule ([`QuoteJudge`], as `citewatch quotes` and the verdict decide it). At most
/// [`QUOTES_PER_PAGE`] quotes are judged and [`VISIBLE_PARSES`] pages parsed; the rest read as
/// not known.
fn judge_quotes(s: &Store, items: &mut [PostCitation]) {
    let mut judge = QuoteJudge::new(s, VISIBLE_PARSES);
    for c in items
        .iter_mut()
        .filter(|c| c.quote.is_some())
        .take(QUOTES_PER_PAGE)
    {
        let (Some(q), Some(latest)) = (&c.quote, &c.latest) else {
            continue;
        };
        if let Ok(standing) = judge.standing(q, Some(&latest.hash)) {
            c.quote_standing = Some(standing);
        }
    }
}

async fn post(State(d): Dash, Path(id): Path<String>, RawQuery(q): RawQuery) -> Response {
    let p = Params::parse(q.as_deref());
    let path = format!("/post/{id}");
    let reply = async {
        let id = id_of(&id)?;
        let page = p.page()?;
        let post = d
            .read(move |s, dash| {
                let Some(info) = s.web_post(id)? else {
                    return Ok(None);
                };
                let mut citations = s.web_post_citations(id, page)?;
                judge_quotes(s, &mut citations.items);
                let fix = dash.plan(s, &info);
                Ok(Some(PostPage {
                    post: info,
                    citations,
                    fix,
                }))
            })
            .await?;
        let post = found(post, "post")?;
        Ok(if p.json() {
            Reply::Json(json::post(&post))
        } else {
            let here = Here::new(&path, &p.0);
            let ctx = Ctx {
                now: d.now(),
                here: &here,
            };
            Reply::Html(page::post(&post, ctx))
        })
    }
    .await;
    answer(&d, &path, &p, reply).await
}

async fn link(State(d): Dash, Path(id): Path<String>, RawQuery(q): RawQuery) -> Response {
    let p = Params::parse(q.as_deref());
    let path = format!("/link/{id}");
    let reply = async {
        let id = id_of(&id)?;
        let found_page = d
            .read(move |s, _| {
                let Some(mut page) = s.web_link(id)? else {
                    return Ok(None);
                };
                if let (Some(b), Some(l)) = (&page.baseline, &page.latest) {
                    if b.hash != l.hash {
                        page.diff = Some(s.reads().text_diff(&b.hash, &l.hash)?);
                    }
                }
                Ok(Some(page))
            })
            .await?;
        let lp = found(found_page, "link")?;
        Ok(if p.json() {
            Reply::Json(json::link(&lp))
        } else {
            let here = Here::new(&path, &p.0);
            let ctx = Ctx {
                now: d.now(),
                here: &here,
            };
            Reply::Html(page::link(&lp, ctx))
        })
    }
    .await;
    answer(&d, &path, &p, reply).await
}

async fn history(State(d): Dash, Path(id): Path<String>, RawQuery(q): RawQuery) -> Response {
    let p = Params::parse(q.as_deref());
    let path = format!("/link/{id}/history");
    let reply = async {
        let id = id_of(&id)?;
        let page = p.page()?;
        let read = d
            .read(move |s, _| {
                let Some(status) = s.reads().link_status_by_id(id)? else {
                    return Ok(None);
                };
                Ok(Some((status, s.web_checks(id, page)?)))
            })
            .await?;
        let (status, checks) = found(read, "link")?;
        Ok(if p.json() {
            Reply::JsonList(json::history(&checks.items), checks.total, page)
        } else {
            let here = Here::new(&path, &p.0);
            let ctx = Ctx {
                now: d.now(),
                here: &here,
            };
            Reply::Html(page::history(&status, &checks, ctx))
        })
    }
    .await;
    answer(&d, &path, &p, reply).await
}

async fn alerts(State(d): Dash, RawQuery(q): RawQuery) -> Response {
    let p = Params::parse(q.as_deref());
    let reply = async {
        let page = p.page()?;
        let list = d.read(move |s, _| s.web_alerts(page)).await?;
        Ok(if p.json() {
            Reply::JsonList(json::alerts(&list.items), list.total, page)
        } else {
            let here = Here::new("/alerts", &p.0);
            let ctx = Ctx {
                now: d.now(),
                here: &here,
            };
            Reply::Html(page::alerts(&list, ctx))
        })
    }
    .await;
    answer(&d, "/alerts", &p, reply).await
}

/// The route of an archived image's bytes, opened by a capability when there is a token: a
/// sandboxed page has an opaque origin, so its image requests may come without the cookie.
fn raw_href(dash: &Dashboard, link_id: i64, hash: &str) -> String {
    let base = format!("/link/{link_id}/snapshot/{hash}/raw");
    match dash.token() {
        Some(t) => format!("{base}?k={}", t.derived(&format!("raw:{hash}"))),
        None => base,
    }
}

/// An archived copy inside the dashboard: a banner saying what it is, the copy in a sandbox.
async fn cited(
    State(d): Dash,
    Path((id, hash)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> Response {
    let p = Params::parse(q.as_deref());
    let path = format!("/link/{id}/cited/{hash}");
    let reply = async {
        let (id, hash) = (id_of(&id)?, hash_of(&hash)?);
        let read = d
            .read(move |s, _| {
                let Some(status) = s.reads().link_status_by_id(id)? else {
                    return Ok(None);
                };
                Ok(s.web_link_snapshot(id, &hash)?
                    .map(|l| (status, l.info, l.as_cited)))
            })
            .await?;
        let (status, info, as_cited) = found(read, "archived copy of this link")?;
        let here = Here::new(&path, &p.0);
        let ctx = Ctx {
            now: d.now(),
            here: &here,
        };
        Ok(Reply::Html(page::cited(&status, &info, as_cited, ctx)))
    }
    .await;
    answer(&d, &path, &p, reply).await
}

/// The archived copy itself, made safe (`sandbox`) and served under [`SNAPSHOT_POLICY`].
async fn snapshot(
    State(d): Dash,
    Path((id, hash)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> Response {
    let p = Params::parse(q.as_deref());
    let path = format!("/link/{id}/snapshot/{hash}");
    let reply = async {
        let (id, hash) = (id_of(&id)?, hash_of(&hash)?);
        let shown = d
            .read(move |s, dash| {
                let Some(found) = s.web_link_snapshot(id, &hash)? else {
                    return Ok(None);
                };
                let (info, url, final_url, as_cited) =
                    (found.info, found.url, found.final_url, found.as_cited);
                let body = s.snapshot_body(&hash)?.unwrap_or_default();
                let ct = info
                    .content_type
                    .as_deref()
                    .unwrap_or("")
                    .to_ascii_lowercase();
                let text =
                    if ct.contains("html") || ct.starts_with("text/") || ct.starts_with("image/") {
                        None
                    } else {
                        s.reads().snapshot_text(&hash)?
                    };
                let base = Url::parse(final_url.as_deref().unwrap_or(&url)).ok();
                let back = format!("/link/{id}");
                let banner = sandbox::Banner {
                    url: &url,
                    fetched_at: info.fetched_at,
                    as_cited,
                    back: &back,
                };
                let mut image = |u: &Url| {
                    s.web_image(u.as_str())
                        .ok()
                        .flatten()
                        .map(|(lid, h)| raw_href(dash, lid, &h))
                };
                Ok(Some(sandbox::render(
                    &body,
                    info.content_type.as_deref(),
                    base.as_ref(),
                    &banner,
                    &mut image,
                    text.as_deref(),
                    &raw_href(dash, id, &hash),
                )))
            })
            .await?;
        Ok(Reply::Html(found(shown, "archived copy of this link")?))
    }
    .await;
    let mut resp = answer(&d, &path, &p, reply).await;
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(SNAPSHOT_POLICY),
    );
    h.insert(
        header::X_FRAME_OPTIONS,
        HeaderValue::from_static("SAMEORIGIN"),
    );
    resp
}

/// An archived image's bytes (only images: any other body is shown through the sandbox).
async fn raw(
    State(d): Dash,
    Path((id, hash)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> Response {
    let p = Params::parse(q.as_deref());
    let path = format!("/link/{id}/snapshot/{hash}/raw");
    let got = async {
        let (id, hash) = (id_of(&id)?, hash_of(&hash)?);
        let read = d
            .read(move |s, _| {
                let Some(info) = s.web_link_snapshot(id, &hash)?.map(|l| l.info) else {
                    return Ok(None);
                };
                let ct = info
                    .content_type
                    .as_deref()
                    .and_then(|c| c.split(';').next())
                    .map(|c| c.trim().to_ascii_lowercase())
                    .filter(|c| IMAGE_TYPES.contains(&c.as_str()));
                let Some(ct) = ct else {
                    return Ok(None);
                };
                Ok(s.snapshot_body(&hash)?.map(|b| (ct, b)))
            })
            .await?;
        found(read, "archived image of this link")
    }
    .await;
    match got {
        Ok((ct, body)) => {
            let mut resp = (StatusCode::OK, body).into_response();
            let h = resp.headers_mut();
            if let Ok(v) = HeaderValue::from_str(&ct) {
                h.insert(header::CONTENT_TYPE, v);
            }
            h.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(IMAGE_POLICY),
            );
            h.insert(
                header::CONTENT_DISPOSITION,
                HeaderValue::from_static("inline"),
            );
            h.insert(
                header::X_FRAME_OPTIONS,
                HeaderValue::from_static("SAMEORIGIN"),
            );
            resp
        }
        Err(f) => answer(&d, &path, &p, Err(f)).await,
    }
}

async fn metrics_route(State(d): Dash) -> Response {
    let facts = match d.read(|s, _| s.web_metrics()).await {
        Ok(f) => f,
        Err(e) => return answer(&d, "/metrics", &Params(vec![]), Err(e.into())).await,
    };
    match d.with_history(|h| metrics::render(&facts, h)).await {
        Ok(text) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, metrics::CONTENT_TYPE)],
            text,
        )
            .into_response(),
        Err(e) => answer(&d, "/metrics", &Params(vec![]), Err(e.into())).await,
    }
}

/// Whether the database answers; no token needed (it says nothing else).
async fn healthz(State(d): Dash) -> Response {
    match d.read(|s, _| s.web_max_check_id()).await {
        Ok(_) => (StatusCode::OK, "ok\n").into_response(),
        Err(ReadError::Store(StoreError::Missing { .. })) | Err(_) => {
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable\n").into_response()
        }
    }
}

async fn style() -> Response {
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            // The URL carries the stylesheet's hash: a new one is a new URL.
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
        ],
        page::STYLE,
    )
        .into_response()
}

async fn not_found(State(d): Dash, req: Request) -> Response {
    let p = Params::parse(req.uri().query());
    let path = req.uri().path().to_string();
    answer(&d, &path, &p, Err(Fail::NotFound("no such page".into()))).await
}

// -- the guard -----------------------------------------------------------------------------------

/// Whether a Host header names this machine by address or as `localhost`. A DNS-rebinding page
/// reaches a loopback server under its own domain name; it never sends an address.
fn local_host(headers: &HeaderMap) -> bool {
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
        return true; // HTTP/1.0 clients: no browser sends a request without Host
    };
    let host = host.trim();
    let name = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or("")
    } else {
        host.rsplit_once(':').map_or(host, |(h, _)| h)
    };
    let name = name.to_ascii_lowercase();
    name.parse::<std::net::IpAddr>().is_ok() || name == "localhost" || name.ends_with(".localhost")
}

fn cookie_value(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v.to_string())
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_string())
}

/// The hash of a raw-image route (`/link/{id}/snapshot/{hash}/raw`).
fn raw_route_hash(path: &str) -> Option<&str> {
    let rest = path.strip_prefix("/link/")?.strip_suffix("/raw")?;
    let (_, hash) = rest.split_once("/snapshot/")?;
    Some(hash)
}

fn refuse(status: StatusCode, body: String) -> Response {
    let mut r = html(status, body);
    if status == StatusCode::UNAUTHORIZED {
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"citewatch\""),
        );
    }
    r
}

async fn guard(State(d): Dash, req: Request, next: Next) -> Response {
    let mut resp = check(&d, req, next).await;
    let h = resp.headers_mut();
    let defaults = [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::CONTENT_SECURITY_POLICY, PAGE_POLICY),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::CACHE_CONTROL, "no-store"),
    ];
    for (name, value) in defaults {
        if !h.contains_key(&name) {
            h.insert(name, HeaderValue::from_static(value));
        }
    }
    resp
}

async fn check(d: &Arc<Dashboard>, req: Request, next: Next) -> Response {
    let here = Here::new(req.uri().path(), &[]);
    let ctx = Ctx {
        now: d.now(),
        here: &here,
    };
    if req.method() != Method::GET && req.method() != Method::HEAD {
        let mut r = refuse(
            StatusCode::METHOD_NOT_ALLOWED,
            page::error(405, "this dashboard only reads", ctx),
        );
        r.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return r;
    }
    let Some(token) = d.token() else {
        if !local_host(req.headers()) {
            return refuse(
                StatusCode::FORBIDDEN,
                page::error(
                    403,
                    "without a token this dashboard answers only to this machine's addresses and localhost (set [serve] token_file to reach it under another name)",
                    ctx,
                ),
            );
        }
        return next.run(req).await;
    };
    if req.uri().path() == "/healthz" {
        return next.run(req).await;
    }
    let params = Params::parse(req.uri().query());
    if let Some(presented) = params.get("token") {
        if !token.matches(presented) {
            return refuse(StatusCode::UNAUTHORIZED, page::unauthorized(ctx));
        }
        // The token leaves the address bar at once: the browser keeps a derived cookie.
        let rest: Vec<(String, String)> =
            params.0.into_iter().filter(|(k, _)| k != "token").collect();
        let to = page::href(req.uri().path(), &rest);
        let cookie = format!(
            "{COOKIE}={}; Path=/; HttpOnly; SameSite=Strict; Max-Age=2592000",
            token.cookie()
        );
        let mut r = StatusCode::SEE_OTHER.into_response();
        if let (Ok(loc), Ok(c)) = (HeaderValue::from_str(&to), HeaderValue::from_str(&cookie)) {
            r.headers_mut().insert(header::LOCATION, loc);
            r.headers_mut().insert(header::SET_COOKIE, c);
        }
        return r;
    }
    let headers = req.headers();
    let by_bearer = bearer(headers).is_some_and(|t| token.matches(&t));
    let by_cookie = cookie_value(headers).is_some_and(|c| token.derived_matches("cookie", &c));
    let by_capability = raw_route_hash(req.uri().path())
        .zip(params.get("k"))
        .is_some_and(|(hash, k)| token.derived_matches(&format!("raw:{hash}"), k));
    if by_bearer || by_cookie || by_capability {
        next.run(req).await
    } else {
        refuse(StatusCode::UNAUTHORIZED, page::unauthorized(ctx))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    #[test]
    fn only_this_machines_names_pass_without_a_token() {
        for ok in [
            "127.0.0.1:8470",
            "localhost:8470",
            "[::1]:8470",
            "LOCALHOST",
            "app.localhost:1",
            "10.0.0.2:80",
        ] {
            assert!(local_host(&headers(&[("host", ok)])), "{ok}");
        }
        for bad in [
            "evil.example:8470",
            "evil.example",
            "127.0.0.1.evil.example",
            "localhost.evil.example:80",
        ] {
            assert!(!local_host(&headers(&[("host", bad)])), "{bad}");
        }
    }

    #[test]
    fn credentials_are_found_where_they_are_sent() {
        let h = headers(&[
            ("cookie", "a=b; citewatch=xyz"),
            ("authorization", "Bearer  tok en "),
        ]);
        assert_eq!(cookie_value(&h).as_deref(), Some("xyz"));
        assert_eq!(bearer(&h).as_deref(), Some("tok en"));
        assert_eq!(bearer(&headers(&[("authorization", "Basic abc")])), None);
        assert_eq!(raw_route_hash("/link/3/snapshot/ab12/raw"), Some("ab12"));
        assert_eq!(raw_route_hash("/link/3/snapshot/ab12"), None);
    }

    #[test]
    fn params_split_lists_and_cap_values() {
        let p = Params::parse(Some(
            "state=broken,error&state=ok&q=&page=2&x="
                .to_string()
                .as_str(),
        ));
        assert_eq!(p.all("state"), ["broken", "error", "ok"]);
        assert_eq!(p.get("q"), None);
        assert_eq!(p.number("page").ok().flatten(), Some(2));
        let long = format!("q={}", "a".repeat(5000));
        assert_eq!(
            Params::parse(Some(&long)).get("q").unwrap().len(),
            MAX_PARAM
        );
        assert!(Params::parse(Some("page=-1")).page().is_err());
    }
}
