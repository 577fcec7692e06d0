//! A source seen through its site: what extraction is told, where each post is published, and
//! what each citation becomes (a URL to fetch, or a link with a verdict decided without the
//! network: another post of the site, a local file on disk, a skipped or invalid target).
//!
//! Pure: built once per source from the site's layout and the list of its files (read by the
//! shells `site::load` and `source`), then used on each post's text on any thread. What
//! citewatch's own config sets (`base_url`, `permalink`) wins over the site's config.

use std::collections::HashSet;
use std::sync::Arc;

use url::Url;

use super::{hugo, jekyll, load::Layout, Local, SiteConfig};
use crate::config::{CheckConfig, SourceConfig};
use crate::extract::{self, CitationKind, RawCitation, RefStyle};
use crate::fragment::{self, Anchor, Fragment, PostAnchors, SlugStyle};
use crate::normalize::{self, Target};
use crate::rows::CitationRecord;
use crate::site;
use crate::source::PostText;
use crate::state::State;

/// The facts of a post that the store keeps.
pub struct PostFacts {
    pub title: Option<String>,
    pub date: Option<String>,
    pub draft: bool,
    pub url: Option<Url>,
}

/// The anchors of another post of the site, by its path under the files root: read by the
/// scan (a shell) with [`View::post_anchors`], `None` when the file cannot be read.
pub type OtherPost<'a> = &'a (dyn Fn(&str) -> Option<Arc<PostAnchors>> + Sync);

/// What a source's posts are read against: its site (if any), its files and the settings that
/// win over the site's. Built once per source; pure to use.
pub struct View {
    config: Option<SiteConfig>,
    /// citewatch's `base_url`, else the site's.
    base_url: Option<Url>,
    /// citewatch's `permalink`: when set, it decides post URLs instead of the site's rules.
    permalink: Option<String>,
    options: extract::Options,
    /// Files under the files root; the source and the content root relative to it.
    files: site::Files,
    source_prefix: String,
    content_prefix: String,
    static_dirs: Vec<String>,
    /// Hugo's page index over the content root (unless the site is Jekyll's).
    pages: Option<hugo::Pages>,
    /// Site paths of Jekyll's posts.
    jekyll_posts: Vec<String>,
    /// The source's post files (for references from posts outside the content root).
    known: HashSet<String>,
}

impl View {
    /// The view of a source: `listing` is every file under the layout's files root, `posts`
    /// the source's post files (relative to the source).
    pub fn new(src: &SourceConfig, layout: Layout, listing: &[String], posts: &[String]) -> View {
        let config = layout.site.as_ref().map(|s| s.config.clone());
        let source_prefix = layout.source_prefix();
        let content_prefix = layout.content_prefix();
        let base_url = src
            .base_url
            .clone()
            .or_else(|| config.as_ref().and_then(SiteConfig::base_url));
        let options = extract::Options {
            front_matter_keys: src.front_matter_keys.clone(),
            hugo: !matches!(config, Some(SiteConfig::Jekyll(_))),
            liquid: match &config {
                Some(c @ SiteConfig::Jekyll(_)) => c.liquid_vars(),
                Some(SiteConfig::Hugo(_)) => None,
                None => Some(extract::SiteVars::default()),
            },
        };
        let static_dirs = match &config {
            Some(c) => c.static_dirs(),
            None => vec!["static".into(), String::new()],
        };
        let under_content = |p: &String| -> Option<String> {
            if content_prefix.is_empty() {
                Some(p.clone())
            } else {
                p.strip_prefix(&format!("{content_prefix}/"))
                    .map(String::from)
            }
        };
        let pages = match &config {
            Some(SiteConfig::Jekyll(_)) => None,
            Some(SiteConfig::Hugo(c)) => {
                let content: Vec<String> = listing.iter().filter_map(under_content).collect();
                Some(hugo::Pages::new(content.iter().map(String::as_str), c))
            }
            None => {
                let content: Vec<String> = listing.iter().filter_map(under_content).collect();
                Some(hugo::Pages::new(
                    content.iter().map(String::as_str),
                    &hugo::Config::default(),
                ))
            }
        };
        let jekyll_posts = match &config {
            Some(SiteConfig::Jekyll(c)) => listing
                .iter()
                .filter(|p| match c.doc(p) {
                    jekyll::Doc::Document { label, .. } => label == "posts",
                    _ => false,
                })
                .cloned()
                .collect(),
            _ => Vec::new(),
        };
        View {
            config,
            base_url,
            permalink: src.permalink.clone(),
            options,
            files: site::Files::new(listing.iter().cloned()),
            source_prefix,
            content_prefix,
            static_dirs,
            pages,
            jekyll_posts,
            known: posts.iter().cloned().collect(),
        }
    }

    /// The heading-id rules of this source's generator: Hugo's Goldmark (`github` ids, Hugo's
    /// default), Jekyll's kramdown with GFM input (Jekyll's default); without a known site,
    /// any of those and GitHub's, so an anchor that any of them would make is not reported.
    fn slug_styles(&self) -> &'static [SlugStyle] {
        match &self.config {
            Some(SiteConfig::Hugo(_)) => &[SlugStyle::Goldmark],
            Some(SiteConfig::Jekyll(_)) => &[SlugStyle::KramdownGfm],
            None => &[
                SlugStyle::Goldmark,
                SlugStyle::KramdownGfm,
                SlugStyle::GitHub,
            ],
        }
    }

    /// The anchors of a post's text (a file under the files root at `files_path`), as this
    /// source's generator renders it.
    pub fn post_anchors(&self, files_path: &str, text: &str) -> PostAnchors {
        let html = files_path
            .rsplit('.')
            .next()
            .is_some_and(|e| e.eq_ignore_ascii_case("html") || e.eq_ignore_ascii_case("htm"));
        fragment::post_anchors(text, html, self.slug_styles())
    }

    /// A post's path under the files root.
    pub fn files_path_of(&self, rel_path: &str) -> String {
        self.files_path(rel_path)
    }

    /// What extraction is told for this source's posts.
    pub fn options(&self) -> &extract::Options {
        &self.options
    }

    /// A post's path under the files root.
    fn files_path(&self, rel_path: &str) -> String {
        site::join(&self.source_prefix, rel_path)
    }

    /// A path under the files root as a path under the content root, when it is one.
    fn content_path<'a>(&self, files_path: &'a str) -> Option<&'a str> {
        if self.content_prefix.is_empty() {
            Some(files_path)
        } else {
            files_path
                .strip_prefix(self.content_prefix.as_str())
                .and_then(|r| r.strip_prefix('/'))
        }
    }

    /// A path under the files root, relative to the source folder (`../` when outside it).
    fn source_relative(&self, files_path: &str) -> String {
        if self.source_prefix.is_empty() {
            return files_path.to_string();
        }
        if let Some(r) = files_path
            .strip_prefix(self.source_prefix.as_str())
            .and_then(|r| r.strip_prefix('/'))
        {
            return r.to_string();
        }
        let src: Vec<&str> = self.source_prefix.split('/').collect();
        let dst: Vec<&str> = files_path.split('/').collect();
        let common = src.iter().zip(&dst).take_while(|(a, b)| a == b).count();
        let mut out = "../".repeat(src.len() - common);
        out.push_str(&dst[common..].join("/"));
        out
    }

    /// The published URL of a post: citewatch's permalink if set, else the site's rules, else
    /// citewatch's default (`/<folders>/<name>/`).
    fn post_url(
        &self,
        rel_path: &str,
        files_path: &str,
        front: &crate::post::FrontMatter,
    ) -> Option<Url> {
        if self.permalink.is_none() {
            let explicit = front.url.as_deref().map(str::trim);
            if !explicit.is_some_and(|u| u.starts_with("http://") || u.starts_with("https://")) {
                match (&self.config, &self.base_url) {
                    (Some(SiteConfig::Hugo(c)), Some(base)) => {
                        if let Some(u) = self
                            .content_path(files_path)
                            .and_then(|cp| c.page_url(base, cp, front))
                        {
                            return Some(u);
                        }
                    }
                    (Some(SiteConfig::Jekyll(c)), Some(base)) => {
                        return c.document_url(base, files_path, front);
                    }
                    _ => {}
                }
            }
        }
        normalize::post_url(
            self.base_url.as_ref(),
            rel_path,
            front,
            self.permalink.as_deref(),
        )
    }

    /// The link and static verdict of a reference to another post or file of the site.
    fn reference(
        &self,
        c: &RawCitation,
        rel_path: &str,
        files_path: &str,
    ) -> (String, Option<String>, Option<(State, String)>) {
        let (path, fragment) = match c.target.split_once('#') {
            Some((p, f)) => (p.trim(), Some(f.to_string()).filter(|f| !f.is_empty())),
            None => (c.target.trim(), None),
        };
        let style = c.reference.as_ref().map_or(RefStyle::Hugo, |r| r.style);
        let lang = c.reference.as_ref().and_then(|r| r.lang.as_deref());
        let found: Result<String, String> = match style {
            RefStyle::Hugo => match (&self.pages, self.content_path(files_path)) {
                (Some(pages), Some(from)) if !path.is_empty() => pages
                    .resolve(path, from, lang)
                    .map(|p| site::join(&self.content_prefix, &p))
                    .map_err(|e| match e {
                        hugo::RefError::NotFound => {
                            format!("no page {path:?} for this Hugo reference")
                        }
                        hugo::RefError::Ambiguous => {
                            format!(
                                "{path:?} names several pages (Hugo: the reference is ambiguous)"
                            )
                        }
                    }),
                _ => normalize::resolve_post_ref(path, rel_path, &self.known)
                    .map(|p| self.files_path(&p))
                    .ok_or_else(|| format!("no post {path:?} in the source")),
            },
            RefStyle::JekyllPostUrl => {
                jekyll::find_post(self.jekyll_posts.iter().map(String::as_str), path)
                    .ok_or_else(|| format!("no post {path:?} for this post_url"))
            }
            RefStyle::JekyllLink => {
                let p = path.trim_start_matches('/');
                let published = match &self.config {
                    Some(SiteConfig::Jekyll(j)) => {
                        !matches!(j.doc(p), jekyll::Doc::Hidden | jekyll::Doc::Draft)
                    }
                    _ => true,
                };
                if self.files.contains(p) && published {
                    Ok(p.to_string())
                } else {
                    Err(format!("no file {p:?} in the site for this link"))
                }
            }
        };
        match found {
            Ok(target) => {
                if let (RefStyle::JekyllLink, Some(SiteConfig::Jekyll(j))) = (style, &self.config) {
                    if j.doc(&target) == jekyll::Doc::Static {
                        // `{% link assets/x.pdf %}`: a file of the site, there on disk.
                        let key = match &self.base_url {
                            Some(b) => b
                                .join(&target)
                                .map(|u| u.to_string())
                                .unwrap_or_else(|_| format!("local:{target}")),
                            None => format!("local:{}", self.source_relative(&target)),
                        };
                        return (
                            key,
                            fragment,
                            Some((State::Ok, format!("local file {target}"))),
                        );
                    }
                }
                (
                    format!("post:{}", self.source_relative(&target)),
                    fragment,
                    Some((
                        State::Ok,
                        format!("internal reference to the post {target}"),
                    )),
                )
            }
            Err(reason) => (
                format!("post:{path}"),
                fragment,
                Some((State::Broken, reason)),
            ),
        }
    }

    /// Extracts and normalizes one post's citations (`rel_path` relative to the source).
    pub fn post_citations(
        &self,
        check: &CheckConfig,
        rel_path: &str,
        format: extract::Format,
        text: &PostText,
        other_post: OtherPost<'_>,
    ) -> (PostFacts, Vec<CitationRecord>, Vec<String>) {
        let extracted = extract::extract(format, &text.text, &self.options);
        let front = &extracted.front;
        let files_path = self.files_path(rel_path);
        let post_url = self.post_url(rel_path, &files_path, front);
        let ctx = normalize::Context {
            post_url: post_url.as_ref(),
            base_url: self.base_url.as_ref(),
        };
        // A Hugo leaf bundle (or a post in a folder of its own) keeps its files beside it.
        let bundle = !matches!(self.config, Some(SiteConfig::Jekyll(_)))
            && rel_path
                .rsplit('/')
                .next()
                .is_some_and(|f| f.split('.').next() == Some("index"));
        let local_ctx = site::LocalContext {
            files: &self.files,
            post_path: &files_path,
            bundle,
            post_url: post_url.as_ref(),
            base_url: self.base_url.as_ref(),
            static_dirs: &self.static_dirs,
            content_dir: &self.content_prefix,
        };
        let local_verdict = |l: Local| -> (State, String) {
            match l {
                Local::Found(p) => (State::Ok, format!("local file {p}")),
                Local::Missing(looked) => {
                    let first = looked.first().cloned().unwrap_or_default();
                    let reason = match looked.get(1..).filter(|r| !r.is_empty()) {
                        Some(rest) => format!(
                            "no file {first}, the local file the post cites (also looked for {})",
                            rest.join(", ")
                        ),
                        None => format!("no file {first}, the local file the post cites"),
                    };
                    (State::Broken, reason)
                }
            }
        };
        let excluded = |url: &str| {
            check.exclude.iter().find(|r| r.is_match(url)).map(|r| {
                (
                    State::Skipped,
                    format!("excluded by check.exclude rule {:?}", r.as_str()),
                )
            })
        };
        let mut out = Vec::with_capacity(extracted.citations.len());
        // This post's own anchors, read once when a citation points into the post itself.
        let own = std::cell::OnceCell::new();
        let shown = self.source_relative(&files_path);
        for c in &extracted.citations {
            let in_post = c
                .target
                .trim()
                .strip_prefix('#')
                .filter(|_| c.kind != CitationKind::PostRef)
                .map(fragment::parse);
            let (link, fragment, static_verdict) = if let Some(Fragment::Anchor(a)) = in_post {
                let anchors = own.get_or_init(|| {
                    fragment::post_anchors(
                        &text.text,
                        format == extract::Format::Html,
                        self.slug_styles(),
                    )
                });
                (
                    format!("post:{shown}#{}", a.raw),
                    Some(a.raw.clone()),
                    Some(anchor_verdict(&a, Some(anchors), &shown)),
                )
            } else if c.kind == CitationKind::PostRef {
                let (link, fragment, verdict) = self.reference(c, rel_path, &files_path);
                self.reference_anchor(link, fragment, verdict, other_post)
            } else if ctx.post_url.is_none() && ctx.base_url.is_none() && is_relative(&c.target) {
                // No address to resolve against: a file beside the post can still be checked.
                match site::local_file(&c.target, None, &local_ctx) {
                    Some(l) => {
                        let fragment = c
                            .target
                            .split_once('#')
                            .map(|(_, f)| f.to_string())
                            .filter(|f| !f.is_empty());
                        let path = match &l {
                            Local::Found(p) => p.clone(),
                            Local::Missing(looked) => looked.first().cloned().unwrap_or_default(),
                        };
                        (
                            format!("local:{}", self.source_relative(&path)),
                            fragment,
                            Some(local_verdict(l)),
                        )
                    }
                    None => normalized(c, &ctx, &excluded, &local_ctx, &local_verdict),
                }
            } else {
                normalized(c, &ctx, &excluded, &local_ctx, &local_verdict)
            };
            let span = text.offsets.raw_range(c.span.clone());
            out.push(CitationRecord {
                link,
                line: c.line,
                text: c.text.clone(),
                kind: c.kind.as_str().to_string(),
                raw: c.target.clone(),
                fragment,
                static_verdict,
                span: Some((span.start as u64, span.end as u64)),
                quote: c.quote.clone(),
            });
        }
        let facts = PostFacts {
            title: front.title.clone(),
            date: front.date_string(),
            draft: front.draft,
            url: post_url,
        };
        (facts, out, extracted.warnings)
    }
}

impl View {
    /// A reference to another post with a fragment, checked against that post's anchors: the
    /// link becomes `post:PATH#fragment` (two posts citing different anchors of one post are
    /// judged apart), ok when the anchor is there, broken when it is not.
    fn reference_anchor(
        &self,
        link: String,
        fragment: Option<String>,
        verdict: Option<(State, String)>,
        other_post: OtherPost<'_>,
    ) -> (String, Option<String>, Option<(State, String)>) {
        let (Some(f), Some((State::Ok, _))) = (&fragment, &verdict) else {
            return (link, fragment, verdict);
        };
        let Some(target) = link.strip_prefix("post:") else {
            return (link, fragment, verdict);
        };
        let Fragment::Anchor(a) = fragment::parse(f) else {
            return (link, fragment, verdict);
        };
        let files_path = self.files_path(target);
        let anchors = other_post(&files_path);
        let verdict = anchor_verdict(&a, anchors.as_deref(), target);
        (format!("{link}#{}", a.raw), fragment, Some(verdict))
    }
}

/// The verdict on an anchor of a post of the blog: ok when the post has it; broken ("no anchor
/// #x in POST") when it has not; skipped, never broken, when the post uses a shortcode that may
/// make anchors or could not be read.
fn anchor_verdict(a: &Anchor, anchors: Option<&PostAnchors>, post: &str) -> (State, String) {
    let shown = &a.decoded;
    match anchors {
        Some(p) if p.has(a) => (State::Ok, format!("anchor #{shown} in {post}")),
        Some(p) if !p.dynamic => (State::Broken, format!("no anchor #{shown} in {post}")),
        Some(_) => (
            State::Skipped,
            format!(
                "anchor #{shown} is not a heading of {post}; a shortcode may make it (not checked)"
            ),
        ),
        None => (
            State::Skipped,
            format!("the anchors of {post} could not be read; #{shown} not checked"),
        ),
    }
}

/// The verdict on a link to an archived copy (`https://web.archive.org/web/<timestamp>/<url>`,
/// as `citewatch fix` writes them): a capture is a fixed page, so it is never fetched as if it
/// were a live one that could rot or drift.
fn archived_copy(url: &str) -> Option<(State, String)> {
    let copy = crate::archived::parse(url)?;
    let when = copy
        .date()
        .map(|d| d.to_string())
        .unwrap_or_else(|| copy.timestamp.to_string());
    Some((
        State::Ok,
        format!(
            "an archived copy (Wayback Machine, {when}): a fixed page, not checked as a live one"
        ),
    ))
}

/// Whether a target is relative (no scheme, not protocol-relative, not a fragment).
fn is_relative(raw: &str) -> bool {
    let raw = raw.trim();
    if raw.is_empty() || raw.starts_with('#') || raw.starts_with("//") {
        return false;
    }
    !raw.split_once(':').is_some_and(|(scheme, _)| {
        scheme.len() > 1
            && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    })
}

/// A citation's link by normalization: a URL (a local file of the site judged on disk, an
/// excluded one skipped), or a key with a static verdict.
fn normalized(
    c: &RawCitation,
    ctx: &normalize::Context<'_>,
    excluded: &dyn Fn(&str) -> Option<(State, String)>,
    local_ctx: &site::LocalContext<'_>,
    local_verdict: &dyn Fn(Local) -> (State, String),
) -> (String, Option<String>, Option<(State, String)>) {
    match normalize::normalize(&c.target, c.kind, ctx) {
        Target::Http { url, fragment } => {
            let verdict = excluded(url.as_str())
                .or_else(|| archived_copy(url.as_str()))
                .or_else(|| site::local_file(&c.target, Some(&url), local_ctx).map(local_verdict));
            (url.to_string(), fragment, verdict)
        }
        Target::Post { path, fragment } => (
            format!("post:{path}"),
            fragment,
            Some((State::Broken, format!("no post {path:?} in the source"))),
        ),
        Target::Skipped { key, reason } => (key, None, Some((State::Skipped, reason))),
        Target::Invalid { key, reason } => (key, None, Some((State::Broken, reason))),
    }
}
