//! Fragments of cited URLs: what a `#…` asks of a page, and whether the page still has it.
//!
//! A fragment is parsed once ([`parse`]) into a [`Fragment`]: the top of the page, an anchor
//! (an element `id` or an `<a name>`), a client-side route (`#!…`, `#/…`), or text directives
//! (`#:~:text=…`, the WICG "URL Fragment Text Directives" syntax). A page is read once per check
//! into an [`AnchorSet`] ([`anchors_of`], [`anchors_for_body`]) and, only when a text directive
//! asks for it, a [`PageText`] ([`page_text`]). [`anchor_standing`] and
//! [`text_directive_standing`] then say [`FragmentStanding::Present`], `Missing` (with a reason
//! for people) or `Unknown` (the page builds its anchors by script, the fragment is a route,
//! the page is too large to be sure): never missing when it cannot be known.
//!
//! Heading ids as site generators and forges make them live in [`slug`]: GitHub
//! (github-slugger), GitLab, Hugo's Goldmark (`github`, `github-ascii`, `blackfriday`) and
//! kramdown (Jekyll's GFM input and plain kramdown).
//!
//! Pure: strings in, values out. Invariant: never panics on any fragment, page or Markdown;
//! bounded on any page (one streaming tokenizer pass, no recursion, at most [`MAX_IDS`] ids
//! kept, the open-element stack capped, text matching within a work budget).

mod html;
pub mod judge;
pub mod slug;
mod text;

use std::collections::HashSet;

use percent_encoding::percent_decode_str;
use url::Url;

pub use html::{anchors_of, page_text, PageText};
pub use slug::{heading_ids, markdown_anchors, post_anchors, PostAnchors, SlugStyle};
pub use text::text_directive_standing;

/// Ids (and `<a name>`s) kept per page at most; a page with more is judged `Unknown` rather
/// than missing an anchor it may have past the cap.
pub const MAX_IDS: usize = 100_000;

/// Longest id kept (in bytes); a longer one is cut and can only match a fragment cut alike.
const MAX_ID_LEN: usize = 1024;

/// The hosts whose rendered Markdown prefixes heading ids with `user-content-` (a script on the
/// page maps `#x` to `#user-content-x`).
const FORGE_HOSTS: &[&str] = &["github.com", "gitlab.com", "codeberg.org"];

/// What a fragment asks of a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fragment {
    /// No fragment, `#`, or `#top`: the top of the page, always there.
    Top,
    /// An element id or `<a name>`.
    Anchor(Anchor),
    /// A client-side route (`#!/…`, `#/…`): read by the page's script, not an anchor.
    Route(String),
    /// A fragment directive with at least one text directive, and the element id written
    /// before `:~:` if any (a browser scrolls to it only when no text matches).
    Text {
        anchor: Option<Anchor>,
        directives: Vec<TextDirective>,
    },
    /// A `text=` directive that cannot be read (no browser will highlight anything).
    Unparseable { reason: String },
}

/// An anchor: as written in the URL and percent-decoded (equal when there is nothing to decode
/// or the bytes are not UTF-8). Browsers try both, the written form first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Anchor {
    pub raw: String,
    pub decoded: String,
}

/// One text directive: `prefix-,start,end,-suffix`, each term percent-decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextDirective {
    pub prefix: Option<String>,
    pub start: String,
    pub end: Option<String>,
    pub suffix: Option<String>,
}

/// Whether a page still has what a fragment asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FragmentStanding {
    Present,
    /// Not on the page; `reason` says so for people ("no anchor #x on the page").
    Missing {
        reason: String,
    },
    /// Cannot be told from the page's HTML: never reported as missing.
    Unknown {
        why: String,
    },
}

impl FragmentStanding {
    pub fn is_missing(&self) -> bool {
        matches!(self, FragmentStanding::Missing { .. })
    }
}

impl Anchor {
    pub fn new(raw: &str) -> Anchor {
        let decoded = percent_decode_str(raw)
            .decode_utf8()
            .map(|d| d.into_owned())
            .unwrap_or_else(|_| raw.to_string());
        Anchor {
            raw: raw.to_string(),
            decoded,
        }
    }

    /// The written form, then the decoded one when it differs.
    pub fn candidates(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.raw.as_str())
            .chain((self.decoded != self.raw).then_some(self.decoded.as_str()))
    }

    /// A GitHub line anchor: `L10` → (10, 10), `L10-L20` → (10, 20) (either order).
    pub fn github_lines(&self) -> Option<(u64, u64)> {
        let s = self.raw.strip_prefix('L')?;
        let num = |t: &str| -> Option<u64> {
            (!t.is_empty() && t.len() <= 12 && t.bytes().all(|b| b.is_ascii_digit()))
                .then(|| t.parse().ok())
                .flatten()
        };
        let (a, b) = match s.split_once('-') {
            Some((a, b)) => (num(a)?, num(b.strip_prefix('L')?)?),
            None => {
                let a = num(s)?;
                (a, a)
            }
        };
        (a >= 1 && b >= 1).then_some((a.min(b), a.max(b)))
    }
}

impl TextDirective {
    /// The passage as a quote for `quote::check` (the rule for quoted passages): `start`, or
    /// `start … end` (an ellipsis stands for the words between, as in a quote). Prefix and
    /// suffix are context, not part of the passage.
    pub fn as_quote(&self) -> String {
        match &self.end {
            Some(end) => format!("{} \u{2026} {}", self.start, end),
            None => self.start.clone(),
        }
    }
}

impl std::fmt::Display for TextDirective {
    /// How the passage reads for people: “start … end” (after “prefix”, before “suffix”).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "\u{201c}{}", excerpt(&self.start))?;
        if let Some(end) = &self.end {
            write!(f, " \u{2026} {}", excerpt(end))?;
        }
        write!(f, "\u{201d}")?;
        if let Some(p) = &self.prefix {
            write!(f, " after \u{201c}{}\u{201d}", excerpt(p))?;
        }
        if let Some(s) = &self.suffix {
            write!(f, " before \u{201c}{}\u{201d}", excerpt(s))?;
        }
        Ok(())
    }
}

/// At most 80 characters of a term, cut at a character boundary.
fn excerpt(s: &str) -> String {
    let mut out: String = s.chars().take(80).collect();
    if s.chars().nth(80).is_some() {
        out.push('\u{2026}');
    }
    out
}

/// Parses a fragment (with or without its leading `#`). Never fails: a malformed text
/// directive is [`Fragment::Unparseable`].
pub fn parse(fragment: &str) -> Fragment {
    let f = fragment.strip_prefix('#').unwrap_or(fragment);
    if let Some((id, directive)) = f.split_once(":~:") {
        let anchor = (!id.is_empty()).then(|| Anchor::new(id));
        let mut directives = Vec::new();
        // The fragment directive is strictly split on `&`; only `text=` directives are read,
        // unknown ones are ignored (the spec's example 6).
        for d in directive.split('&') {
            if let Some(value) = d.strip_prefix("text=") {
                match parse_text_directive(value) {
                    Ok(t) => directives.push(t),
                    Err(why) => {
                        return Fragment::Unparseable {
                            reason: format!(
                                "text fragment \u{201c}text={}\u{201d} cannot be read: {why}",
                                excerpt(value)
                            ),
                        }
                    }
                }
            }
        }
        if directives.is_empty() {
            return match anchor {
                Some(a) => plain(a),
                None => Fragment::Top,
            };
        }
        return Fragment::Text { anchor, directives };
    }
    plain(Anchor::new(f))
}

fn plain(a: Anchor) -> Fragment {
    if a.raw.is_empty()
        || a.raw.eq_ignore_ascii_case("top")
        || a.decoded.eq_ignore_ascii_case("top")
    {
        Fragment::Top
    } else if a.raw.starts_with('!') || a.raw.starts_with('/') {
        Fragment::Route(a.raw)
    } else {
        Fragment::Anchor(a)
    }
}

/// The spec's "parse a text directive": 1 to 4 comma-separated terms, a prefix ending and a
/// suffix starting with `-`, no other `-` in a term (a literal one is written `%2D`), no empty
/// term.
fn parse_text_directive(value: &str) -> Result<TextDirective, &'static str> {
    let mut tokens: Vec<&str> = value.split(',').collect();
    if tokens.is_empty() || tokens.len() > 4 {
        return Err("more than four terms");
    }
    let mut prefix = None;
    let mut suffix = None;
    if let Some(p) = tokens.first().and_then(|t| t.strip_suffix('-')) {
        if p.is_empty() || p.contains('-') {
            return Err("a prefix must be one term followed by '-'");
        }
        prefix = Some(p);
        tokens.remove(0);
        if tokens.is_empty() {
            return Err("a prefix without the text it comes before");
        }
    }
    if let Some(s) = tokens.last().and_then(|t| t.strip_prefix('-')) {
        if s.is_empty() || s.contains('-') {
            return Err("a suffix must be '-' followed by one term");
        }
        suffix = Some(s);
        tokens.pop();
        if tokens.is_empty() {
            return Err("a suffix without the text it comes after");
        }
    }
    if tokens.len() > 2 {
        return Err("more than a start and an end");
    }
    let start = tokens[0];
    if start.is_empty() {
        return Err("an empty start");
    }
    if start.contains('-') {
        return Err("a '-' inside a term must be written %2D");
    }
    let end = tokens.get(1).copied();
    if let Some(e) = end {
        if e.is_empty() {
            return Err("an empty end");
        }
        if e.contains('-') {
            return Err("a '-' inside a term must be written %2D");
        }
    }
    let dec = |t: &str| percent_decode_str(t).decode_utf8_lossy().into_owned();
    Ok(TextDirective {
        prefix: prefix.map(dec),
        start: dec(start),
        end: end.map(dec),
        suffix: suffix.map(dec),
    })
}

/// The anchors of one page (or of one Markdown file, by the slugs its host makes).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AnchorSet {
    /// Element ids and `<a name>` values, as the page has them.
    pub ids: HashSet<String>,
    /// More ids than [`MAX_IDS`]: the set is incomplete.
    pub limited: bool,
    /// `<script>` elements on the page.
    pub scripts: usize,
    /// Visible characters of text (not whitespace) in the page, counted up to a cap.
    pub text_chars: usize,
    /// Compare without case (anchors of Markdown rendered by a forge, as lychee does).
    pub fold_case: bool,
    /// The ids came from Markdown headings (a raw `.md` file), not from HTML.
    pub from_markdown: bool,
    /// The text of headings that have no id in the HTML (a script such as anchor.js may give
    /// them one), at most a thousand.
    pub untitled_headings: Vec<String>,
}

/// Below this many visible characters, a page with scripts is a single-page-app shell.
const SHELL_TEXT: usize = 200;

impl AnchorSet {
    pub(crate) fn insert(&mut self, id: &str) {
        if self.ids.len() >= MAX_IDS {
            self.limited = true;
            return;
        }
        let mut end = id.len().min(MAX_ID_LEN);
        while !id.is_char_boundary(end) {
            end -= 1;
        }
        let id = id.get(..end).unwrap_or_default();
        let id = if self.fold_case {
            id.to_lowercase()
        } else {
            id.to_string()
        };
        self.ids.insert(id);
    }

    fn has(&self, candidate: &str) -> bool {
        if self.fold_case {
            self.ids.contains(&candidate.to_lowercase())
        } else {
            self.ids.contains(candidate)
        }
    }

    /// Why the page's anchors cannot be read from its HTML, if they cannot: no anchor at all,
    /// or a single-page-app shell (scripts and almost no text).
    pub fn script_built(&self) -> Option<&'static str> {
        if self.from_markdown {
            return None;
        }
        if self.ids.is_empty() && !self.limited {
            return Some("the page has no anchors in its HTML (a script may build them)");
        }
        if self.scripts > 0 && self.text_chars < SHELL_TEXT {
            return Some("the page is a script-built shell (almost no text in its HTML)");
        }
        None
    }
}

/// Whether `url`'s host renders Markdown with `user-content-` ids.
fn forge_host(url: &Url) -> bool {
    url.host_str().is_some_and(|h| {
        let h = h.strip_prefix("www.").unwrap_or(h);
        FORGE_HOSTS.contains(&h)
    })
}

/// `https://github.com/o/r/blob/ref/path` → its parts, when `url` is a GitHub file view.
fn github_blob(url: &Url) -> Option<(String, String, String)> {
    if !matches!(url.host_str(), Some("github.com" | "www.github.com")) {
        return None;
    }
    let mut seg = url.path_segments()?;
    let owner = seg.next()?.to_string();
    let repo = seg.next()?.to_string();
    if seg.next()? != "blob" {
        return None;
    }
    let rest: Vec<&str> = seg.collect();
    if rest.len() < 2 || rest.iter().any(|s| s.is_empty()) {
        return None;
    }
    Some((owner, repo, rest.join("/")))
}

/// GitHub anchors its script makes on issue, pull request and discussion pages (comments,
/// reviews, timeline events, diffs): never in the HTML as served.
fn github_script_anchor(fragment: &str) -> bool {
    const PREFIXES: &[&str] = &[
        "issuecomment-",
        "discussioncomment-",
        "pullrequestreview-",
        "discussion_r",
        "diff-",
        "event-",
        "ref-",
        "commits-pushed-",
        "r",
    ];
    PREFIXES.iter().any(|p| {
        fragment
            .strip_prefix(p)
            .is_some_and(|rest| rest.len() >= 4 && rest.bytes().all(|b| b.is_ascii_hexdigit()))
    }) || fragment.starts_with("diff-")
}

/// The raw file to read for a fragment on `url`, when the page's HTML cannot answer and the
/// raw file can: a GitHub line anchor (`#L10`, `#L10-L20`: the file must have that many
/// lines) or a heading of a Markdown file shown on GitHub (its HTML is built by script).
/// One request per file at most: the caller keys it by the returned URL.
pub fn raw_file_for(url: &Url, fragment: &Fragment) -> Option<Url> {
    let Fragment::Anchor(a) = fragment else {
        return None;
    };
    let (owner, repo, path) = github_blob(url)?;
    let markdown = {
        let p = path.to_ascii_lowercase();
        p.ends_with(".md") || p.ends_with(".markdown")
    };
    if a.github_lines().is_none() && !markdown {
        return None;
    }
    Url::parse(&format!(
        "https://raw.githubusercontent.com/{owner}/{repo}/{path}"
    ))
    .ok()
}

/// Whether a line anchor (`#L10`, `#L10-L20`) stands in a file's raw bytes.
pub fn lines_standing(anchor: &Anchor, raw: &[u8]) -> FragmentStanding {
    let Some((_, last)) = anchor.github_lines() else {
        return FragmentStanding::Unknown {
            why: format!("#{} is not a line anchor", anchor.decoded),
        };
    };
    let lines = memchr::memchr_iter(b'\n', raw).count() as u64
        + u64::from(raw.last().is_some_and(|b| *b != b'\n'));
    if last <= lines {
        FragmentStanding::Present
    } else {
        FragmentStanding::Missing {
            reason: format!(
                "no anchor #{} on the page (the file has {lines} line{})",
                anchor.raw,
                if lines == 1 { "" } else { "s" }
            ),
        }
    }
}

/// The anchors of a fetched body: Markdown headings (by the slugs of the host that serves it)
/// for a `.md` file that is not HTML, else the HTML's ids and `<a name>`s.
pub fn anchors_for_body(body: &[u8], content_type: Option<&str>, url: &Url) -> AnchorSet {
    let (text, _) = crate::readable::decode(body, content_type);
    let path = url.path().to_ascii_lowercase();
    let markdown_path = path.ends_with(".md") || path.ends_with(".markdown");
    let html_type = content_type.is_some_and(|c| {
        let c = c.to_ascii_lowercase();
        c.contains("html") || c.contains("xml")
    });
    if markdown_path && !html_type {
        let style = match url.host_str() {
            Some(h) if h == "gitlab.com" || h.ends_with(".gitlab.io") => SlugStyle::GitLab,
            _ => SlugStyle::GitHub,
        };
        let mut set = markdown_anchors(&text, style);
        set.fold_case = true;
        set.ids = set.ids.iter().map(|i| i.to_lowercase()).collect();
        return set;
    }
    anchors_of(&text)
}

/// Whether an anchor fragment stands on a page whose anchors are `set`, fetched from `url`.
/// A text fragment is judged by [`text_directive_standing`]; here it stands (its anchor, if
/// any, is only the browser's fallback).
pub fn anchor_standing(fragment: &Fragment, set: &AnchorSet, url: &Url) -> FragmentStanding {
    let a = match fragment {
        Fragment::Top | Fragment::Text { .. } => return FragmentStanding::Present,
        Fragment::Route(r) => {
            return FragmentStanding::Unknown {
                why: format!(
                    "#{} is a route the page's script reads, not an anchor",
                    excerpt(r)
                ),
            }
        }
        Fragment::Unparseable { reason } => {
            return FragmentStanding::Missing {
                reason: reason.clone(),
            }
        }
        Fragment::Anchor(a) => a,
    };
    let forge = forge_host(url);
    let found = a
        .candidates()
        .any(|c| set.has(c) || (forge && set.has(&format!("user-content-{c}"))));
    if found {
        return FragmentStanding::Present;
    }
    if github_blob(url).is_some() && a.github_lines().is_some() && !set.from_markdown {
        return FragmentStanding::Unknown {
            why: format!("#{} is a line anchor: read from the raw file", a.raw),
        };
    }
    if forge && github_script_anchor(&a.decoded) {
        return FragmentStanding::Unknown {
            why: format!(
                "#{} is an anchor the forge's script makes",
                excerpt(&a.decoded)
            ),
        };
    }
    if set.limited {
        return FragmentStanding::Unknown {
            why: format!("the page has more than {MAX_IDS} anchors"),
        };
    }
    if let Some(why) = set.script_built() {
        return FragmentStanding::Unknown { why: why.into() };
    }
    if let Some(h) = scripted_heading(a, set) {
        return FragmentStanding::Unknown {
            why: format!(
                "#{} is not in the HTML, but a script on the page may give the heading \u{201c}{}\u{201d} that id",
                excerpt(&a.decoded),
                excerpt(h)
            ),
        };
    }
    FragmentStanding::Missing {
        reason: missing_reason(a, false),
    }
}

/// The heading without an id whose slug (as GitHub, Hugo or anchor.js-like scripts make them)
/// is the anchor, on a page with scripts.
fn scripted_heading<'a>(a: &Anchor, set: &'a AnchorSet) -> Option<&'a str> {
    if set.scripts == 0 {
        return None;
    }
    let wanted = a.decoded.to_lowercase();
    set.untitled_headings
        .iter()
        .find(|h| {
            [
                SlugStyle::GitHub,
                SlugStyle::Goldmark,
                SlugStyle::Blackfriday,
            ]
            .iter()
            .any(|s| {
                let id = slug::slug(h, *s);
                id == wanted || id.trim_matches('-') == wanted
            })
        })
        .map(String::as_str)
}

/// The reason for a missing anchor: "no anchor #x on the page" when it never was there (as
/// lychee reports it), "anchor #x is no longer on the page" when an earlier check saw it.
pub fn missing_reason(anchor: &Anchor, was_present: bool) -> String {
    let shown = excerpt(&anchor.decoded);
    if was_present {
        format!("anchor #{shown} is no longer on the page")
    } else {
        format!("no anchor #{shown} on the page")
    }
}

/// Every text directive of a fragment must stand: a missing one makes it missing, one that
/// cannot be told makes the whole unknown. The one rule, for every caller.
pub fn directives_standing(directives: &[TextDirective], page: &PageText) -> FragmentStanding {
    let mut unknown = None;
    for d in directives {
        match text_directive_standing(d, page) {
            FragmentStanding::Present => {}
            FragmentStanding::Unknown { why } => unknown = Some(why),
            missing => return missing,
        }
    }
    match unknown {
        Some(why) => FragmentStanding::Unknown { why },
        None => FragmentStanding::Present,
    }
}

/// Everything a fragment needs from one HTML page, read in the passes it needs: anchors for
/// an anchor, the page's text for text directives.
pub fn standing_in_html(fragment: &Fragment, html: &str, url: &Url) -> FragmentStanding {
    match fragment {
        Fragment::Text { directives, .. } => directives_standing(directives, &page_text(html)),
        _ => anchor_standing(fragment, &anchors_of(html), url),
    }
}

#[cfg(test)]
mod tests;
