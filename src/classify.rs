//! Classification: what one fetch means. Pure: a [`Fetched`] and what is known about the link's
//! baseline in, a [`Verdict`] out.
//!
//! Invariant: every fetch gets exactly one state, by the rules in the README's state table; a
//! title saying "not found" only adds weight, it never decides alone.

use url::Url;

use crate::fetch::{Failure, Fetched, Response};
use crate::state::State;

/// Similarity to the baseline below which a page counts as `changed`. Chosen on the labelled
/// pairs in `tests/fixtures/drift/`: unchanged pages (new dates, counters, ads, banners, comments,
/// templates, a reworded sentence) score 0.85 and up; a quarter of the text rewritten scores
/// about 0.7 (as published measurements of shingle containment also find), more rewriting less.
pub const CHANGED_BELOW: f64 = 0.75;

/// Pages shorter than this (in bytes of body) are "thin": with a not-found title, a soft 404.
const THIN_BODY: usize = 4096;

/// What is known besides the fetch.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// Similarity of the page's text to the link's baseline (1.0 = same), when both are known.
    pub similarity: Option<f64>,
    /// The page looks like what the host answers for a path that cannot exist (a probe).
    pub looks_like_probe: Option<bool>,
    /// A passage the post quotes from this page is no longer on it.
    pub quote_missing: bool,
}

/// The verdict on one fetch.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub state: State,
    pub http_status: Option<u16>,
    /// Where the redirect chain ended, when it ended somewhere else.
    pub final_url: Option<Url>,
    pub error: Option<String>,
    pub similarity: Option<f64>,
}

/// The verdict on a fetch.
pub fn classify(f: &Fetched, ctx: &Context) -> Verdict {
    let final_url = f.hops.last().map(|_| match &f.outcome {
        Ok(r) => r.url.clone(),
        Err(_) => f.url.clone(),
    });
    let final_url = final_url.filter(|u| u != &f.url);
    let mut v = Verdict {
        state: State::Ok,
        http_status: None,
        final_url,
        error: None,
        similarity: ctx.similarity,
    };
    let r = match &f.outcome {
        Err(failure) => {
            v.state = match failure {
                Failure::PrivateAddress(_) => State::Skipped,
                Failure::NoSuchHost(_)
                | Failure::RedirectLoop
                | Failure::TooManyRedirects(_)
                | Failure::BadRedirect(_)
                | Failure::InvalidUrl(_) => State::Broken,
                Failure::Timeout
                | Failure::Unreachable(_)
                | Failure::ConnectionRefused(_)
                | Failure::ConnectionReset(_)
                | Failure::Tls(_)
                | Failure::Other(_)
                | Failure::Internal(_) => State::Error,
            };
            v.error = Some(match failure {
                Failure::Timeout if f.attempts > 1 => {
                    format!("timed out ({} attempts)", f.attempts)
                }
                other => other.describe(),
            });
            return v;
        }
        Ok(r) => r,
    };
    v.http_status = Some(r.status);
    let status = r.status;
    if let Some(reason) = challenge(r) {
        v.state = State::Blocked;
        v.error = Some(reason);
        return v;
    }
    v.state = match status {
        200..=299 => State::Ok,
        401 | 403 | 429 | 999 => State::Blocked,
        400..=499 => State::Broken,
        500..=599 => State::Error,
        _ => State::Error,
    };
    match v.state {
        State::Blocked => {
            v.error = Some(format!("HTTP {status}: the site refuses checkers"));
            return v;
        }
        State::Broken => {
            v.error = Some(format!("HTTP {status}"));
            return v;
        }
        State::Error => {
            v.error = Some(if f.attempts > 1 {
                format!("HTTP {status} after {} attempts", f.attempts)
            } else {
                format!("HTTP {status}")
            });
            return v;
        }
        _ => {}
    }
    // A 2xx answer: is it what was cited?
    if let Some(reason) = soft_404(f, r, ctx) {
        v.state = State::Soft404;
        v.error = Some(reason);
        return v;
    }
    if ctx.quote_missing {
        v.state = State::Changed;
        v.error = Some("a passage the post quotes is no longer on the page".into());
        return v;
    }
    if let Some(sim) = ctx.similarity {
        if sim < CHANGED_BELOW {
            v.state = State::Changed;
            v.error = Some(format!(
                "content drifted from the archived baseline (similarity {sim:.2})"
            ));
            return v;
        }
    }
    let permanent = f.hops.iter().any(|h| matches!(h.status, 301 | 308));
    if permanent && v.final_url.is_some() {
        v.state = State::Redirected;
    }
    v
}

/// A bot challenge or block page served instead of the content.
fn challenge(r: &Response) -> Option<String> {
    if r.header("cf-mitigated")
        .is_some_and(|v| v.eq_ignore_ascii_case("challenge"))
    {
        return Some("Cloudflare bot challenge".into());
    }
    if !matches!(r.status, 200 | 403 | 429 | 503) {
        return None;
    }
    let head = head_text(&r.body, 16 * 1024);
    let server = r.header("server").unwrap_or("").to_ascii_lowercase();
    let markers: [(&str, &str); 6] = [
        (
            "<title>just a moment...</title>",
            "Cloudflare bot challenge",
        ),
        ("cf-browser-verification", "Cloudflare bot challenge"),
        ("captcha-delivery.com", "DataDome bot challenge"),
        ("<title>access denied</title>", "access denied page"),
        ("g-recaptcha", "captcha page"),
        ("hcaptcha.com", "captcha page"),
    ];
    for (m, why) in markers {
        if head.contains(m) && (r.status != 200 || r.body.len() < 64 * 1024) {
            // A captcha widget on a big 200 page is a comment form, not a wall.
            if r.status == 200 && m.contains("captcha") && r.body.len() > 16 * 1024 {
                continue;
            }
            return Some(why.into());
        }
    }
    if server.contains("akamaighost") && r.status == 403 {
        return Some("Akamai access denied".into());
    }
    None
}

/// The lowercased start of a body, for marker searches.
fn head_text(body: &[u8], n: usize) -> String {
    String::from_utf8_lossy(&body[..body.len().min(n)]).to_ascii_lowercase()
}

/// Title and heading phrases of not-found pages in common languages.
const NOT_FOUND_PHRASES: &[&str] = &[
    "404",
    "not found",
    "page does not exist",
    "page doesn't exist",
    "no longer available",
    "seite nicht gefunden",
    "nicht gefunden",
    "existiert nicht",
    "page introuvable",
    "page non trouvée",
    "página no encontrada",
    "no se encontró",
    "pagina non trovata",
    "pagina niet gevonden",
    "niet gevonden",
    "strona nie została znaleziona",
    "página não encontrada",
];

pub fn says_not_found(title: &str) -> bool {
    let t = title.to_lowercase();
    NOT_FOUND_PHRASES.iter().any(|p| t.contains(p))
}

/// Whether a deep link's 2xx answer is really a not-found page.
fn soft_404(f: &Fetched, r: &Response, ctx: &Context) -> Option<String> {
    let deep = f.url.path() != "/" || f.url.query().is_some();
    if deep && !f.hops.is_empty() {
        let p = r.url.path().to_ascii_lowercase();
        if p == "/" || p.is_empty() || p == "/index.html" || p == "/index.php" {
            return Some(format!(
                "a deep link redirected to the site's front page {}",
                r.url
            ));
        }
        let last = p.trim_end_matches('/').rsplit('/').next().unwrap_or("");
        if [
            "login",
            "signin",
            "sign-in",
            "sign_in",
            "anmelden",
            "search",
            "suche",
            "404",
            "not-found",
            "notfound",
            "error",
        ]
        .contains(&last)
        {
            return Some(format!("a deep link redirected to {}", r.url));
        }
    }
    // Matching its own baseline: a real page, whatever its title says.
    if ctx.similarity.is_some_and(|s| s >= CHANGED_BELOW) {
        return None;
    }
    let title_says = crate::readable::title_of(&r.body, r.header("content-type"))
        .is_some_and(|t| says_not_found(&t));
    match ctx.looks_like_probe {
        Some(true) if deep => {
            return Some(
                "the page looks like what the site answers for a path that does not exist".into(),
            )
        }
        Some(false) => return None,
        _ => {}
    }
    // Without a probe, a not-found title counts only together with a thin page.
    if deep && title_says && r.body.len() < THIN_BODY {
        return Some("a short page whose title says it was not found".into());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fetch::Hop;
    use std::time::Duration;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    fn resp(u: &str, status: u16, body: &str) -> Response {
        Response {
            url: url(u),
            status,
            headers: vec![],
            body: body.as_bytes().to_vec(),
            truncated: false,
        }
    }

    fn fetched(u: &str, hops: Vec<(&str, u16)>, outcome: Result<Response, Failure>) -> Fetched {
        Fetched {
            url: url(u),
            hops: hops
                .into_iter()
                .map(|(h, s)| Hop {
                    url: url(h),
                    status: s,
                    location: String::new(),
                })
                .collect(),
            outcome,
            elapsed: Duration::from_millis(5),
            attempts: 1,
        }
    }

    fn state(f: &Fetched) -> State {
        classify(f, &Context::default()).state
    }

    #[test]
    fn status_codes() {
        for (code, want) in [
            (200, State::Ok),
            (204, State::Ok),
            (404, State::Broken),
            (410, State::Broken),
            (400, State::Broken),
            (401, State::Blocked),
            (403, State::Blocked),
            (429, State::Blocked),
            (999, State::Blocked),
            (500, State::Error),
            (503, State::Error),
        ] {
            let f = fetched(
                "https://a.org/x",
                vec![],
                Ok(resp("https://a.org/x", code, "<p>hello</p>")),
            );
            assert_eq!(state(&f), want, "{code}");
            assert_eq!(classify(&f, &Context::default()).http_status, Some(code));
        }
    }

    #[test]
    fn failures() {
        for (fail, want) in [
            (Failure::NoSuchHost("x".into()), State::Broken),
            (Failure::RedirectLoop, State::Broken),
            (Failure::TooManyRedirects(10), State::Broken),
            (Failure::BadRedirect("x".into()), State::Broken),
            (Failure::InvalidUrl("x".into()), State::Broken),
            (Failure::Timeout, State::Error),
            (Failure::ConnectionRefused("x".into()), State::Error),
            (Failure::ConnectionReset("x".into()), State::Error),
            (Failure::Tls("x".into()), State::Error),
            (Failure::PrivateAddress("x".into()), State::Skipped),
        ] {
            let f = fetched("https://a.org/x", vec![], Err(fail.clone()));
            let v = classify(&f, &Context::default());
            assert_eq!(v.state, want, "{fail:?}");
            assert!(v.error.is_some());
        }
    }

    #[test]
    fn redirects() {
        let perm = fetched(
            "http://a.org/x",
            vec![("http://a.org/x", 301)],
            Ok(resp("https://a.org/y", 200, "<p>y</p>")),
        );
        let v = classify(&perm, &Context::default());
        assert_eq!(v.state, State::Redirected);
        assert_eq!(v.final_url.unwrap().as_str(), "https://a.org/y");
        let temp = fetched(
            "http://a.org/x",
            vec![("http://a.org/x", 302)],
            Ok(resp("https://a.org/y", 200, "y")),
        );
        assert_eq!(state(&temp), State::Ok);
        let chain = fetched(
            "http://a.org/x",
            vec![("http://a.org/x", 302), ("http://a.org/z", 308)],
            Ok(resp("https://a.org/y", 200, "y")),
        );
        assert_eq!(state(&chain), State::Redirected);
        let to_404 = fetched(
            "http://a.org/x",
            vec![("http://a.org/x", 301)],
            Ok(resp("https://a.org/y", 404, "")),
        );
        assert_eq!(state(&to_404), State::Broken);
    }

    #[test]
    fn soft_404_redirect_to_front_page_or_login() {
        let f = fetched(
            "https://a.org/deep/article",
            vec![("https://a.org/deep/article", 301)],
            Ok(resp("https://a.org/", 200, "home")),
        );
        assert_eq!(state(&f), State::Soft404);
        let f = fetched(
            "https://a.org/deep/article",
            vec![("https://a.org/deep/article", 302)],
            Ok(resp("https://a.org/account/login", 200, "login")),
        );
        assert_eq!(state(&f), State::Soft404);
        // The front page cited as the front page is fine.
        let f = fetched(
            "https://a.org/",
            vec![("https://a.org/", 301)],
            Ok(resp("https://www.a.org/", 200, "home")),
        );
        assert_eq!(state(&f), State::Redirected);
    }

    #[test]
    fn not_found_title_needs_another_signal() {
        let thin = "<html><title>Page not found</title><p>Sorry</p></html>";
        let f = fetched(
            "https://a.org/x",
            vec![],
            Ok(resp("https://a.org/x", 200, thin)),
        );
        assert_eq!(state(&f), State::Soft404);
        // A long real article about 404 pages is not a soft 404.
        let article = format!(
            "<html><title>Why 404 pages matter</title>{}</html>",
            "<p>text text text</p>".repeat(400)
        );
        let f = fetched(
            "https://a.org/x",
            vec![],
            Ok(resp("https://a.org/x", 200, &article)),
        );
        assert_eq!(state(&f), State::Ok);
        // Still matching its baseline: never a soft 404.
        let f = fetched(
            "https://a.org/x",
            vec![],
            Ok(resp("https://a.org/x", 200, thin)),
        );
        let ctx = Context {
            similarity: Some(0.95),
            ..Default::default()
        };
        assert_eq!(classify(&f, &ctx).state, State::Ok);
        assert!(says_not_found("Seite nicht gefunden – Beispiel"));
    }

    #[test]
    fn changed_below_threshold() {
        let f = fetched(
            "https://a.org/x",
            vec![],
            Ok(resp("https://a.org/x", 200, "<p>new</p>")),
        );
        let ctx = Context {
            similarity: Some(0.2),
            ..Default::default()
        };
        let v = classify(&f, &ctx);
        assert_eq!(v.state, State::Changed);
        assert_eq!(v.similarity, Some(0.2));
    }

    #[test]
    fn bot_challenges_are_blocked() {
        let mut r = resp(
            "https://a.org/x",
            503,
            "<html><title>Just a moment...</title></html>",
        );
        let f = fetched("https://a.org/x", vec![], Ok(r.clone()));
        assert_eq!(state(&f), State::Blocked);
        r.status = 200;
        r.headers = vec![("cf-mitigated".into(), "challenge".into())];
        let f = fetched("https://a.org/x", vec![], Ok(r));
        assert_eq!(state(&f), State::Blocked);
    }
}
