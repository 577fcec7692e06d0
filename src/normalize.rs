//! Normalization: a raw citation target plus where it was written becomes a [`Target`]: a normalized
//! HTTP(S) URL to fetch, a citation of another post, or a reason it is not checked.
//!
//! Pure: the url crate does parsing, IDNA, case and default ports; no DNS, no network.
//! Invariant: normalizing the string of a normalized URL gives the same URL (idempotent), so a
//! link is one row in the store however its citations spell it.

use std::collections::HashSet;

use url::Url;

use crate::extract::CitationKind;
use crate::post::FrontMatter;

/// Where a citation was written: what relative targets resolve against.
#[derive(Debug, Clone, Copy, Default)]
pub struct Context<'a> {
    /// The post's own published URL, when known.
    pub post_url: Option<&'a Url>,
    /// The site's address.
    pub base_url: Option<&'a Url>,
}

/// What a citation points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A URL to fetch: normalized, without its fragment (a page is fetched once whatever the
    /// fragment), which is kept apart for the citation.
    Http { url: Url, fragment: Option<String> },
    /// Another post of the same source (a Hugo ref/relref), as written.
    Post {
        path: String,
        fragment: Option<String>,
    },
    /// Not checked: `key` is the link's identity in the store.
    Skipped { key: String, reason: String },
    /// Cannot be a working link as written: recorded as `broken`.
    Invalid { key: String, reason: String },
}

fn split_fragment(s: &str) -> (&str, Option<String>) {
    match s.split_once('#') {
        Some((a, f)) if !f.is_empty() => (a, Some(f.to_string())),
        Some((a, _)) => (a, None),
        None => (s, None),
    }
}

/// Resolves and normalizes a raw target.
pub fn normalize(raw: &str, kind: CitationKind, ctx: &Context<'_>) -> Target {
    let raw = raw.trim();
    if kind == CitationKind::PostRef {
        let (path, fragment) = split_fragment(raw);
        return Target::Post {
            path: path.to_string(),
            fragment,
        };
    }
    if raw.is_empty() {
        return Target::Invalid {
            key: "(empty link)".into(),
            reason: "empty link target".into(),
        };
    }
    if raw.starts_with('#') {
        return Target::Skipped {
            key: raw.to_string(),
            reason: "a link to a place in the post itself".into(),
        };
    }
    // `<https://...>`-style wrapping left in a destination.
    let raw = raw.trim_start_matches('<').trim_end_matches('>');
    if let Some(scheme) = scheme_of(raw) {
        let lower = scheme.to_ascii_lowercase();
        if lower != "http" && lower != "https" {
            return Target::Skipped {
                key: skipped_key(raw),
                reason: format!("scheme '{lower}' is not checked"),
            };
        }
        return absolute(raw);
    }
    if let Some(rest) = raw.strip_prefix("//") {
        // Protocol-relative: the web has moved to https.
        return absolute(&format!("https://{rest}"));
    }
    let base = ctx.post_url.or(ctx.base_url);
    let Some(base) = base else {
        return Target::Skipped {
            key: raw.to_string(),
            reason: "relative link and no base_url to resolve it against".into(),
        };
    };
    // A site-relative path resolves against the site, not the post.
    let base = if raw.starts_with('/') {
        ctx.base_url.unwrap_or(base)
    } else {
        base
    };
    match base.join(raw) {
        Ok(u) => finish(u),
        Err(e) => Target::Invalid {
            key: raw.to_string(),
            reason: format!("invalid URL: {e}"),
        },
    }
}

/// A URL scheme at the start (`mailto:`, `https:`), per RFC 3986: a letter, then letters, digits,
/// `+`, `-`, `.`, then `:`. `evcc.io` and `C:\x` are not schemes we accept as such.
fn scheme_of(s: &str) -> Option<&str> {
    let colon = s.find(':')?;
    let scheme = &s[..colon];
    let mut chars = scheme.chars();
    let first = chars.next()?;
    if !first.is_ascii_alphabetic() || scheme.len() < 2 {
        return None;
    }
    if chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')) {
        Some(scheme)
    } else {
        None
    }
}

/// Skipped links keep their scheme and a short identity; `mailto:` addresses lowercase their host.
fn skipped_key(raw: &str) -> String {
    raw.chars().take(500).collect()
}

fn absolute(raw: &str) -> Target {
    // A space inside an absolute URL is an author's mistake (the url crate would percent-encode
    // it into a different URL): report it rather than silently fetch something else.
    if raw.contains([' ', '\t', '\n']) {
        return Target::Invalid {
            key: raw.chars().take(500).collect(),
            reason: "invalid URL: contains white space".into(),
        };
    }
    match Url::parse(raw) {
        Ok(u) => {
            if let Some(host) = u.host_str() {
                if host.contains(['\'', '"', '<', '>']) || host.is_empty() {
                    return Target::Invalid {
                        key: raw.chars().take(500).collect(),
                        reason: format!("invalid URL: bad host {host:?}"),
                    };
                }
            } else {
                return Target::Invalid {
                    key: raw.chars().take(500).collect(),
                    reason: "invalid URL: no host".into(),
                };
            }
            finish(u)
        }
        Err(e) => Target::Invalid {
            key: raw.chars().take(500).collect(),
            reason: format!("invalid URL: {e}"),
        },
    }
}

fn finish(mut u: Url) -> Target {
    let fragment = u.fragment().filter(|f| !f.is_empty()).map(str::to_string);
    u.set_fragment(None);
    if !matches!(u.scheme(), "http" | "https") {
        return Target::Skipped {
            key: u.to_string(),
            reason: format!("scheme '{}' is not checked", u.scheme()),
        };
    }
    if u.host_str().is_none_or(|h| h.is_empty()) {
        return Target::Invalid {
            key: u.to_string(),
            reason: "invalid URL: no host".into(),
        };
    }
    Target::Http { url: u, fragment }
}

/// The stem of a post file for URLs: the bundle folder for `.../index.md`, else the file name
/// without extension.
fn post_stem(rel_path: &str) -> (&str, &str) {
    let (dir, file) = rel_path.rsplit_once('/').unwrap_or(("", rel_path));
    let name = file.rsplit_once('.').map(|(n, _)| n).unwrap_or(file);
    if name == "index" || name == "_index" {
        let (parent, folder) = dir.rsplit_once('/').unwrap_or(("", dir));
        (parent, folder)
    } else {
        (dir, name)
    }
}

/// Jekyll and Hugo name posts `YYYY-MM-DD-slug`: the date prefix is not part of the slug.
fn strip_date_prefix(name: &str) -> (&str, Option<(i32, u32, u32)>) {
    match crate::post::parse_date(name) {
        Some(ymd) if name.len() > 11 && name.as_bytes()[10] == b'-' => (&name[11..], Some(ymd)),
        _ => (name, None),
    }
}

/// The published URL of a post, when it can be known: front matter `url` wins, then front matter
/// `permalink`, then the source's permalink pattern, else `/<folders>/<name>/` as Hugo does.
/// Without a `base_url` only an absolute front matter URL gives one.
pub fn post_url(
    base: Option<&Url>,
    rel_path: &str,
    front: &FrontMatter,
    permalink: Option<&str>,
) -> Option<Url> {
    let as_dir = |s: &str| {
        if s.ends_with('/') || s.rsplit('/').next().is_some_and(|l| l.contains('.')) {
            s.to_string()
        } else {
            format!("{s}/")
        }
    };
    for explicit in [front.url.as_deref(), front.permalink.as_deref()]
        .into_iter()
        .flatten()
    {
        let e = explicit.trim();
        if e.starts_with("http://") || e.starts_with("https://") {
            return Url::parse(&as_dir(e)).ok();
        }
        if let Some(b) = base {
            return b.join(&as_dir(e.trim_start_matches('/'))).ok();
        }
    }
    let base = base?;
    let (dir, name) = post_stem(rel_path);
    let (stem, name_date) = strip_date_prefix(name);
    let slug = front.slug.clone().unwrap_or_else(|| stem.to_string());
    let path = match permalink {
        Some(p) => {
            let (y, m, d) = front.ymd().or(name_date).unwrap_or((0, 0, 0));
            let title = front
                .title
                .as_deref()
                .map(slugify)
                .unwrap_or_else(|| slug.clone());
            p.replace(":year", &format!("{y:04}"))
                .replace(":month", &format!("{m:02}"))
                .replace(":day", &format!("{d:02}"))
                .replace(":slug", &slug)
                .replace(":title", &title)
                .replace(":filename", name)
                .replace(":section", dir.split('/').next().unwrap_or(""))
        }
        None => {
            if dir.is_empty() {
                format!("/{slug}/")
            } else {
                format!("/{dir}/{slug}/")
            }
        }
    };
    base.join(&as_dir(path.trim_start_matches('/'))).ok()
}

/// Lowercase words joined by `-`, as permalinks spell titles.
fn slugify(s: &str) -> String {
    let mut out = String::new();
    for w in s
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        if !out.is_empty() {
            out.push('-');
        }
        out.push_str(&w.to_lowercase());
    }
    out
}

/// Resolves a Hugo ref/relref target to a post of the source, with Hugo's lookups: a path from
/// the content root (with or without `content/` and a leading `/`), a path relative to the citing
/// post's folder, a bundle folder name, a file name with or without `.md`.
pub fn resolve_post_ref(
    target: &str,
    from_rel_path: &str,
    known: &HashSet<String>,
) -> Option<String> {
    let t = target.trim().trim_start_matches("./");
    if t.is_empty() {
        return None;
    }
    let t = t.trim_start_matches('/');
    let t = t.strip_prefix("content/").unwrap_or(t);
    let t = t.trim_end_matches('/');
    let from_dir = from_rel_path.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
    // The citing post's section folder (for a bundle, the folder above the bundle).
    let section = if from_rel_path.ends_with("/index.md") {
        from_dir.rsplit_once('/').map(|(d, _)| d).unwrap_or("")
    } else {
        from_dir
    };
    let forms = |p: &str| -> Vec<String> {
        let p = p.trim_start_matches('/');
        let mut v = vec![p.to_string()];
        if !p.ends_with(".md") && !p.ends_with(".markdown") && !p.ends_with(".html") {
            v.push(format!("{p}.md"));
            v.push(format!("{p}/index.md"));
            v.push(format!("{p}/_index.md"));
        }
        v
    };
    let join = |a: &str, b: &str| {
        if a.is_empty() {
            b.to_string()
        } else {
            format!("{a}/{b}")
        }
    };
    let mut candidates = forms(t);
    candidates.extend(forms(&join(from_dir, t)));
    candidates.extend(forms(&join(section, t)));
    if let Some(found) = candidates.iter().find(|c| known.contains(c.as_str())) {
        return Some(found.clone());
    }
    // A bare name anywhere in the tree, as Hugo resolves unique names.
    if !t.contains('/') {
        let names = forms(t);
        let mut hits = known
            .iter()
            .filter(|k| names.iter().any(|n| k.ends_with(&format!("/{n}"))));
        if let (Some(one), None) = (hits.next(), hits.next()) {
            return Some(one.clone());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn http(raw: &str, ctx: &Context<'_>) -> String {
        match normalize(raw, CitationKind::Link, ctx) {
            Target::Http { url, .. } => url.to_string(),
            other => panic!("{raw}: {other:?}"),
        }
    }

    #[test]
    fn normalizes_case_ports_idna_and_fragments() {
        let c = Context::default();
        assert_eq!(
            http("HTTP://Example.ORG:80/a/../b", &c),
            "http://example.org/b"
        );
        assert_eq!(http("https://example.org:443", &c), "https://example.org/");
        assert_eq!(
            http("https://bücher.example/x", &c),
            "https://xn--bcher-kva.example/x"
        );
        match normalize("https://a.org/p#sec-2", CitationKind::Link, &c) {
            Target::Http { url, fragment } => {
                assert_eq!(url.as_str(), "https://a.org/p");
                assert_eq!(fragment.as_deref(), Some("sec-2"));
            }
            o => panic!("{o:?}"),
        }
        assert_eq!(
            http("//cdn.example.org/x.js", &c),
            "https://cdn.example.org/x.js"
        );
    }

    #[test]
    fn schemes_and_relatives_without_base_are_skipped() {
        let c = Context::default();
        for raw in [
            "mailto:a@b.org",
            "tel:+4930123",
            "javascript:void(0)",
            "data:text/plain,x",
            "ftp://x.org/",
            "fish://desktop/x",
            "ht://dig",
        ] {
            assert!(
                matches!(
                    normalize(raw, CitationKind::Link, &c),
                    Target::Skipped { .. }
                ),
                "{raw}"
            );
        }
        match normalize("evcc.io", CitationKind::Link, &c) {
            Target::Skipped { reason, key } => {
                assert!(reason.contains("base_url"));
                assert_eq!(key, "evcc.io");
            }
            o => panic!("{o:?}"),
        }
        assert!(matches!(
            normalize("#top", CitationKind::Link, &c),
            Target::Skipped { .. }
        ));
    }

    #[test]
    fn mistakes_are_invalid() {
        let c = Context::default();
        for raw in [
            "http://www.toppoint.de'>http://www.toppoint.de",
            "https://a.org/foo bar",
            "http://",
        ] {
            assert!(
                matches!(
                    normalize(raw, CitationKind::Link, &c),
                    Target::Invalid { .. }
                ),
                "{raw}"
            );
        }
    }

    #[test]
    fn relative_links_resolve_against_the_post_then_the_site() {
        let base = Url::parse("https://blog.example.org/").unwrap();
        let post = Url::parse("https://blog.example.org/2019/03/25/sell/").unwrap();
        let c = Context {
            post_url: Some(&post),
            base_url: Some(&base),
        };
        assert_eq!(
            http("image.png", &c),
            "https://blog.example.org/2019/03/25/sell/image.png"
        );
        assert_eq!(
            http("/uploads/x.png", &c),
            "https://blog.example.org/uploads/x.png"
        );
        assert_eq!(
            http("../other/", &c),
            "https://blog.example.org/2019/03/25/other/"
        );
    }

    #[test]
    fn post_urls() {
        let base = Url::parse("https://blog.example.org/").unwrap();
        let front = FrontMatter {
            date: Some("2019-03-25T09:12:34Z".into()),
            ..Default::default()
        };
        let u = post_url(
            Some(&base),
            "posts/2019-03-25-sell-to-users/index.md",
            &front,
            None,
        )
        .unwrap();
        assert_eq!(u.as_str(), "https://blog.example.org/posts/sell-to-users/");
        let u = post_url(
            Some(&base),
            "posts/2019-03-25-sell-to-users/index.md",
            &front,
            Some("/:year/:month/:day/:slug/"),
        )
        .unwrap();
        assert_eq!(
            u.as_str(),
            "https://blog.example.org/2019/03/25/sell-to-users/"
        );
        let f2 = FrontMatter {
            url: Some("/custom/path".into()),
            ..Default::default()
        };
        assert_eq!(
            post_url(Some(&base), "a.md", &f2, None).unwrap().as_str(),
            "https://blog.example.org/custom/path/"
        );
        assert!(post_url(None, "a.md", &front, None).is_none());
    }

    #[test]
    fn post_refs_resolve_like_hugo() {
        let known: HashSet<String> = [
            "posts/2019-03-25-sell-to-users/index.md",
            "posts/other.md",
            "about.md",
        ]
        .into_iter()
        .map(String::from)
        .collect();
        let from = "posts/2020-01-01-x/index.md";
        for t in [
            "2019-03-25-sell-to-users",
            "/posts/2019-03-25-sell-to-users",
            "content/posts/2019-03-25-sell-to-users/index.md",
            "posts/2019-03-25-sell-to-users/",
        ] {
            assert_eq!(
                resolve_post_ref(t, from, &known).as_deref(),
                Some("posts/2019-03-25-sell-to-users/index.md"),
                "{t}"
            );
        }
        assert_eq!(
            resolve_post_ref("other.md", from, &known).as_deref(),
            Some("posts/other.md")
        );
        assert_eq!(
            resolve_post_ref("/about", from, &known).as_deref(),
            Some("about.md")
        );
        assert_eq!(resolve_post_ref("missing", from, &known), None);
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            /// Every input here is a fetchable URL (absolute, or relative to a base): it must
            /// normalize to one, and normalizing that again changes nothing. (Inputs that stop
            /// normalizing fail the test; they used to pass without checking anything.)
            #[test]
            fn normalization_is_idempotent(
                // Not `xn--…`: that prefix promises an IDNA label these are not.
                host in "[a-wyzA-WYZ][a-zA-Z0-9-]{0,10}\\.(org|de|example)",
                path in "(/[a-zA-Z0-9._~%-]{0,8}){0,4}",
                q in "(\\?[a-z0-9=&]{0,10})?",
                frag in "(#[a-z0-9-]{0,6})?",
                relative in any::<bool>(),
            ) {
                let base = Url::parse(&format!("https://{host}/dir/")).unwrap();
                let (raw, c) = if relative {
                    let rel = format!("p{path}{q}{frag}");
                    (rel, Context { post_url: Some(&base), base_url: Some(&base) })
                } else {
                    (format!("HTTPS://{host}{path}{q}{frag}"), Context::default())
                };
                let Target::Http { url, .. } = normalize(&raw, CitationKind::Link, &c) else {
                    return Err(TestCaseError::fail(format!("{raw:?} did not normalize to a URL")));
                };
                match normalize(url.as_str(), CitationKind::Link, &Context::default()) {
                    Target::Http { url: again, fragment } => {
                        prop_assert_eq!(&again, &url);
                        prop_assert_eq!(fragment, None);
                    }
                    other => prop_assert!(false, "{} normalized to {:?}", url, other),
                }
            }

            #[test]
            fn never_panics(s in "\\PC{0,60}") {
                let base = Url::parse("https://b.org/x/").unwrap();
                let _ = normalize(&s, CitationKind::Link, &Context { post_url: Some(&base), base_url: Some(&base) });
                let _ = normalize(&s, CitationKind::Link, &Context::default());
            }
        }
    }
}
