//! Sites: what a blog's own generator configuration (Hugo or Jekyll) says about its posts, and
//! what follows for citations: where each post is published, which post a reference names, and
//! whether a local file a post cites exists.
//!
//! Parsing a config, computing a URL, resolving a reference and looking a file up are pure
//! functions over values, built to match what Hugo and Jekyll do (`hugo`, `jekyll`, this file).
//! [`load`] is the thin shell that finds a site around a source folder, reads its config files
//! and lists its files; [`view::View`] puts it all together for one source and the scan.

use std::collections::HashSet;

use url::Url;

use crate::extract::SiteVars;
use crate::post::FrontMatter;

pub mod hugo;
pub mod jekyll;
pub mod load;
pub mod view;

/// Which generator builds the site.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Generator {
    Hugo,
    Jekyll,
}

impl Generator {
    pub fn as_str(self) -> &'static str {
        match self {
            Generator::Hugo => "Hugo",
            Generator::Jekyll => "Jekyll",
        }
    }
}

/// A site's configuration, parsed.
#[derive(Debug, Clone, PartialEq)]
pub enum SiteConfig {
    Hugo(hugo::Config),
    Jekyll(jekyll::Config),
}

impl SiteConfig {
    pub fn generator(&self) -> Generator {
        match self {
            SiteConfig::Hugo(_) => Generator::Hugo,
            SiteConfig::Jekyll(_) => Generator::Jekyll,
        }
    }

    /// The address the site is published at, with a trailing `/`.
    pub fn base_url(&self) -> Option<Url> {
        match self {
            SiteConfig::Hugo(c) => c.base_url.clone(),
            SiteConfig::Jekyll(c) => c.base_url(),
        }
    }

    /// Folders (relative to the site root) whose files are published as they are.
    pub fn static_dirs(&self) -> Vec<String> {
        match self {
            SiteConfig::Hugo(c) => c.static_dirs(),
            // Jekyll copies every file that is not a page and not under `_`: the root itself.
            SiteConfig::Jekyll(_) => vec![String::new()],
        }
    }

    /// The folder of pages, relative to the site root ("" for Jekyll).
    pub fn content_dir(&self) -> String {
        match self {
            SiteConfig::Hugo(c) => c.content_dir.clone(),
            SiteConfig::Jekyll(_) => String::new(),
        }
    }

    /// What Liquid's `site.url` and `site.baseurl` are (Jekyll only).
    pub fn liquid_vars(&self) -> Option<SiteVars> {
        match self {
            SiteConfig::Hugo(_) => None,
            SiteConfig::Jekyll(c) => Some(SiteVars {
                url: c.url.clone(),
                baseurl: c.baseurl.clone(),
            }),
        }
    }

    /// A short account of the settings citewatch uses, for the scan's report.
    pub fn summary(&self) -> String {
        let base = self
            .base_url()
            .map(|u| u.to_string())
            .unwrap_or_else(|| "none".into());
        match self {
            SiteConfig::Hugo(c) => {
                let permalinks: Vec<String> = c
                    .permalinks
                    .iter()
                    .map(|p| format!("{}={}", p.section_label(), p.pattern))
                    .collect();
                format!(
                    "baseURL {base}, contentDir {}, permalinks [{}], frontmatter.date [{}]",
                    c.content_dir,
                    permalinks.join(", "),
                    c.date_from.join(", ")
                )
            }
            SiteConfig::Jekyll(c) => format!(
                "url {base}, permalink {}, collections [{}]",
                c.permalink,
                c.collections
                    .iter()
                    .map(|k| k.label.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }
}

/// `/`-joins two relative paths ("" is the root).
pub(crate) fn join(a: &str, b: &str) -> String {
    match (a.is_empty(), b.is_empty()) {
        (true, _) => b.to_string(),
        (_, true) => a.to_string(),
        _ => format!("{}/{}", a.trim_end_matches('/'), b.trim_start_matches('/')),
    }
}

/// Cleans a `/`-separated path as Go's `path.Clean` does: no empty or `.` segments, `..`
/// removes the segment before it; a leading `/` is kept. `None` when `..` climbs above the root
/// of a relative path.
pub(crate) fn clean(p: &str) -> Option<String> {
    let rooted = p.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for seg in p.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() && !rooted {
                    return None;
                }
            }
            s => parts.push(s),
        }
    }
    let joined = parts.join("/");
    Some(if rooted { format!("/{joined}") } else { joined })
}

/// Decodes `%XX` escapes of a URL path for looking a file up (invalid UTF-8 kept escaped).
pub(crate) fn percent_decode(s: &str) -> String {
    if !s.contains('%') {
        return s.to_string();
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = std::str::from_utf8(&b[i + 1..i + 3]).ok();
            if let Some(v) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|_| s.to_string())
}

/// Extensions of pages rather than files: a link to one of these is not a local file.
const PAGE_EXTENSIONS: [&str; 11] = [
    "html", "htm", "php", "asp", "aspx", "jsp", "cgi", "shtml", "md", "markdown", "xml",
];

/// Whether the last segment of a path names a file (has an extension that is not a page's).
pub(crate) fn looks_like_file(path: &str) -> bool {
    let last = path.rsplit('/').next().unwrap_or("");
    match last.rsplit_once('.') {
        Some((stem, ext)) => {
            !stem.is_empty()
                && !ext.is_empty()
                && ext.len() <= 6
                && ext.chars().all(|c| c.is_ascii_alphanumeric())
                && !PAGE_EXTENSIONS.contains(&ext.to_ascii_lowercase().as_str())
        }
        None => false,
    }
}

/// The files of a site (or of a source folder when there is no site), relative to its root.
#[derive(Debug, Clone, Default)]
pub struct Files {
    set: HashSet<String>,
}

impl Files {
    pub fn new(paths: impl IntoIterator<Item = String>) -> Self {
        Files {
            set: paths.into_iter().collect(),
        }
    }

    pub fn contains(&self, p: &str) -> bool {
        self.set.contains(p)
    }

    pub fn len(&self) -> usize {
        self.set.len()
    }

    pub fn is_empty(&self) -> bool {
        self.set.is_empty()
    }
}

/// Where a cited local file was found, or where it was looked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Local {
    /// The file exists: its path relative to the files' root.
    Found(String),
    /// It does not: the paths looked at.
    Missing(Vec<String>),
}

/// What a local-file lookup knows about the citing post and its site.
#[derive(Debug, Clone)]
pub struct LocalContext<'a> {
    pub files: &'a Files,
    /// The citing post's file, relative to the files' root.
    pub post_path: &'a str,
    /// Whether the post is a Hugo leaf bundle (`index.md`), whose folder holds its resources.
    pub bundle: bool,
    /// The post's published URL and the site's, when known.
    pub post_url: Option<&'a Url>,
    pub base_url: Option<&'a Url>,
    /// Folders published as they are (relative to the root; "" for the root itself).
    pub static_dirs: &'a [String],
    /// The folder of pages (Hugo's content), relative to the root.
    pub content_dir: &'a str,
}

/// Looks up a cited local file: `raw` as written, `resolved` the URL it resolves to when the
/// post's address is known. `None` when the citation is not a local file citewatch can judge
/// (a page, something the theme or a build step provides): it is then checked as a URL.
pub fn local_file(raw: &str, resolved: Option<&Url>, ctx: &LocalContext<'_>) -> Option<Local> {
    let raw = raw.trim();
    let relative = !raw.starts_with('/') && !has_scheme(raw) && !raw.starts_with("//");
    let path_part = raw.split(['?', '#']).next().unwrap_or("");
    let mut candidates: Vec<String> = Vec::new();
    let mut own = false;
    match (resolved, ctx.base_url) {
        (Some(url), Some(base)) => {
            if url.origin() != base.origin() || !url.path().starts_with(base.path()) {
                return None;
            }
            let site_path = percent_decode(&url.path()[base.path().len()..]);
            if let (Some(post), true) = (ctx.post_url, ctx.bundle) {
                if post.origin() == url.origin() {
                    if let Some(rest) = url.path().strip_prefix(post.path()) {
                        own = true;
                        candidates.push(join(parent(ctx.post_path), &percent_decode(rest)));
                    }
                }
            }
            push_site_paths(&mut candidates, &site_path, ctx);
        }
        (None, _) if relative || (raw.starts_with('/') && !raw.starts_with("//")) => {
            let p = percent_decode(path_part);
            if relative {
                own = true;
                candidates.push(join(parent(ctx.post_path), &p));
            } else {
                let site_path = match ctx.base_url {
                    Some(b) => p.strip_prefix(b.path()).unwrap_or(&p).to_string(),
                    None => p.trim_start_matches('/').to_string(),
                };
                push_site_paths(&mut candidates, &site_path, ctx);
            }
        }
        _ => return None,
    }
    let candidates: Vec<String> = candidates.iter().filter_map(|c| clean(c)).collect();
    if let Some(found) = candidates
        .iter()
        .find(|c| !c.is_empty() && ctx.files.contains(c))
    {
        return Some(Local::Found(found.clone()));
    }
    // Not found: broken only where citewatch knows the file would have to be.
    let fileish = looks_like_file(path_part);
    let decisive = fileish && ((relative && own) || (resolved.is_none() && !candidates.is_empty()));
    (decisive && !candidates.is_empty()).then_some(Local::Missing(candidates))
}

fn push_site_paths(candidates: &mut Vec<String>, site_path: &str, ctx: &LocalContext<'_>) {
    let site_path = site_path.trim_start_matches('/');
    for d in ctx.static_dirs {
        candidates.push(join(d, site_path));
    }
    if !ctx.content_dir.is_empty() {
        candidates.push(join(ctx.content_dir, site_path));
    }
}

fn parent(p: &str) -> &str {
    p.rsplit_once('/').map(|(d, _)| d).unwrap_or("")
}

fn has_scheme(s: &str) -> bool {
    s.split_once(':').is_some_and(|(scheme, _)| {
        scheme.len() > 1
            && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    })
}

/// A front matter value by key, case-insensitively (Hugo reads keys that way).
pub(crate) fn front_value<'a>(front: &'a FrontMatter, key: &str) -> Option<&'a str> {
    front
        .values
        .iter()
        .find(|(k, _, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v, _)| v.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    mod properties {
        use super::*;
        use proptest::prelude::*;

        fn front(text: &str) -> FrontMatter {
            FrontMatter {
                title: Some(text.to_string()),
                date: Some(text.to_string()),
                url: Some(text.to_string()).filter(|_| text.len() % 3 == 0),
                permalink: Some(text.to_string()).filter(|_| text.len() % 5 == 0),
                slug: Some(text.to_string()),
                values: vec![("categories".into(), text.to_string(), 2)],
                ..FrontMatter::default()
            }
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

            /// Site configs are outside input: any text parses to a config or an error.
            #[test]
            fn config_parsing_never_panics(text in "\\PC{0,200}", fmt in 0usize..4) {
                let ext = ["toml", "yaml", "json", "yml"][fmt];
                if let Ok(v) = hugo::parse_value(&text, ext) {
                    let _ = hugo::config_from(&v);
                }
                let _ = jekyll::parse(&text, ext);
            }

            /// Paths, references and front matter come from posts: never a panic, and a
            /// published path always starts with `/`.
            #[test]
            fn urls_and_references_never_panic(
                path in "([a-zA-Z0-9_. -]{0,12}/){0,3}[a-zA-Z0-9_. -]{0,12}(\\.(md|html|png))?",
                text in "\\PC{0,40}",
                reference in "[a-z0-9./# _-]{0,30}",
            ) {
                let f = front(&text);
                let hc = hugo::Config { permalinks: vec![hugo::Permalink { kind: "page".into(), section: String::new(), pattern: text.clone() }], ..hugo::Config::default() };
                if let Some(p) = hc.page_path(&path, &f) {
                    prop_assert!(p.starts_with('/'), "{}", p);
                }
                let jc = jekyll::Config { permalink: text.clone(), style: text.clone(), ..jekyll::Config::default() };
                if let Some(p) = jc.document_path(&path, &f) {
                    prop_assert!(p.starts_with('/'), "{}", p);
                }
                let pages = hugo::Pages::new([path.as_str(), "a/b.md", "a/index.md"], &hc);
                let _ = pages.resolve(&reference, &path, None);
                let _ = pages.resolve(&reference, "a/index.md", Some(&text));
                let _ = jekyll::find_post([path.as_str(), "_posts/2010-01-01-x.md"], &reference);
                let files = Files::new([path.clone()]);
                let base = Url::parse("https://b.org/blog/").unwrap();
                let post = Url::parse("https://b.org/blog/a/").unwrap();
                let statics = vec!["static".to_string(), String::new()];
                let ctx = LocalContext { files: &files, post_path: &path, bundle: true, post_url: Some(&post), base_url: Some(&base), static_dirs: &statics, content_dir: "content" };
                let _ = local_file(&reference, post.join(&reference).ok().as_ref(), &ctx);
                let _ = local_file(&text, None, &LocalContext { post_url: None, base_url: None, ..ctx });
            }
        }
    }

    #[test]
    fn cleans_paths_like_go() {
        assert_eq!(clean("/a/./b/../c//d/").as_deref(), Some("/a/c/d"));
        assert_eq!(clean("a/../../b"), None);
        assert_eq!(clean("/../b").as_deref(), Some("/b"));
        assert_eq!(percent_decode("my%20file%2.png%"), "my file%2.png%");
    }

    #[test]
    fn local_files_in_bundles_static_and_beside_posts() {
        let files = Files::new(
            [
                "content/posts/2000-12-15-cvs/index.md",
                "content/posts/2000-12-15-cvs/cvs-013.gif",
                "static/images/logo.png",
            ]
            .map(String::from),
        );
        let base = Url::parse("https://blog.example.org/").unwrap();
        let post = Url::parse("https://blog.example.org/2000/12/15/cvs/").unwrap();
        let statics = vec!["static".to_string()];
        let ctx = LocalContext {
            files: &files,
            post_path: "content/posts/2000-12-15-cvs/index.md",
            bundle: true,
            post_url: Some(&post),
            base_url: Some(&base),
            static_dirs: &statics,
            content_dir: "content",
        };
        let at = |raw: &str| local_file(raw, post.join(raw).ok().as_ref(), &ctx);
        assert_eq!(
            at("cvs-013.gif"),
            Some(Local::Found(
                "content/posts/2000-12-15-cvs/cvs-013.gif".into()
            ))
        );
        assert_eq!(
            at("/images/logo.png"),
            Some(Local::Found("static/images/logo.png".into()))
        );
        assert!(matches!(at("missing.png"), Some(Local::Missing(_))));
        // A page of the site, or a file a build step may make: checked as a URL.
        assert_eq!(at("/about/"), None);
        assert_eq!(at("/images/other.png"), None);
        assert_eq!(at("https://elsewhere.org/x.png"), None);
        // Without any address: beside the post, or broken when it looks like a file.
        let ctx = LocalContext {
            post_url: None,
            base_url: None,
            ..ctx
        };
        assert_eq!(
            local_file("cvs-013.gif", None, &ctx),
            Some(Local::Found(
                "content/posts/2000-12-15-cvs/cvs-013.gif".into()
            ))
        );
        assert!(matches!(
            local_file("gone.pdf", None, &ctx),
            Some(Local::Missing(_))
        ));
        assert_eq!(local_file("other-post/", None, &ctx), None);
        assert_eq!(local_file("mailto:a@b.org", None, &ctx), None);
    }
}
