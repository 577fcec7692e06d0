//! Heading ids as site generators and forges make them from a heading's text, and the ids of
//! a Markdown document's headings in order (explicit `{#id}` attributes included).
//!
//! Each rule is ported from its source, cited where it is defined; the test tables are theirs.
//! - GitHub: github-slugger (`Flet/github-slugger`, `index.js`, `script/generate-regex.js`):
//!   lowercase, drop every character of the categories No, P* (but `-` and connectors), S*, C*,
//!   Z* (but the space) unless Alphabetic, spaces to `-`; repeats get `-1`, `-2`, ….
//! - GitLab (banzai `TableOfContentsFilter`): lowercase, drop `[^\p{Word}\- ]`, spaces to `-`,
//!   runs of `-` squeezed, a digits-only id prefixed `anchor-`; repeats `-1`, `-2`, ….
//! - Hugo's Goldmark (`gohugoio/hugo`, `markup/goldmark/autoid.go`), from the heading's raw
//!   source line: `github` keeps letters, digits and `_` lowercased, `-` and space as `-`;
//!   `github-ascii` first removes accents and keeps ASCII only; `blackfriday` (Hugo's
//!   `markup/blackfriday/anchors.go`) joins runs of letters and numbers with single `-`.
//!   Empty → `heading`; repeats `-1`, `-2`, … skipping ids already taken.
//! - kramdown: Jekyll's default GFM input (`kramdown/parser-gfm`, `generate_gfm_header_id`):
//!   lowercase, drop `[^\p{Word}\- \t]`, space and tab to `-`, repeats `-1`, `-2`; plain
//!   kramdown (`basic_generate_id`): leading non-letters dropped, ASCII letters, digits, space
//!   and `-` kept, spaces to `-`, lowercase, empty → `section`. Both from the raw heading text.
//!
//! Pure; never panics on any text.

use std::collections::{HashMap, HashSet};

use icu_properties::props::GeneralCategory;
use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};

use super::AnchorSet;

/// Which generator's heading ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SlugStyle {
    /// GitHub's rendered Markdown (github-slugger); also Codeberg/Gitea closely.
    GitHub,
    /// GitLab's rendered Markdown.
    GitLab,
    /// Hugo with Goldmark, `autoHeadingIDType = "github"` (Hugo's default).
    Goldmark,
    /// Hugo with Goldmark, `autoHeadingIDType = "github-ascii"`.
    GoldmarkAscii,
    /// Hugo with Goldmark, `autoHeadingIDType = "blackfriday"`.
    Blackfriday,
    /// Jekyll's default: kramdown with GFM input.
    KramdownGfm,
    /// kramdown with its own input (`kramdown: { input: kramdown }`).
    Kramdown,
}

impl SlugStyle {
    /// Whether ids are made from the heading's raw Markdown line (Goldmark, kramdown) rather
    /// than its rendered text (GitHub, GitLab).
    fn reads_source(self) -> bool {
        !matches!(self, SlugStyle::GitHub | SlugStyle::GitLab)
    }
}

fn gc(c: char) -> GeneralCategory {
    icu_properties::CodePointMapData::<GeneralCategory>::new().get(c)
}

/// Ruby's and Onigmo's `\p{Word}`: letters, marks, decimal digits, connector punctuation.
fn is_word(c: char) -> bool {
    use GeneralCategory as G;
    c.is_alphabetic()
        || matches!(
            gc(c),
            G::UppercaseLetter
                | G::LowercaseLetter
                | G::TitlecaseLetter
                | G::ModifierLetter
                | G::OtherLetter
                | G::NonspacingMark
                | G::SpacingMark
                | G::EnclosingMark
                | G::DecimalNumber
                | G::ConnectorPunctuation
        )
}

/// Go's `unicode.IsLetter`.
fn is_letter(c: char) -> bool {
    use GeneralCategory as G;
    matches!(
        gc(c),
        G::UppercaseLetter
            | G::LowercaseLetter
            | G::TitlecaseLetter
            | G::ModifierLetter
            | G::OtherLetter
    )
}

/// Go's `unicode.IsNumber` (any N category).
fn is_number(c: char) -> bool {
    use GeneralCategory as G;
    matches!(gc(c), G::DecimalNumber | G::LetterNumber | G::OtherNumber)
}

/// The slug of one heading text, before repeats are numbered.
pub fn slug(text: &str, style: SlugStyle) -> String {
    use GeneralCategory as G;
    match style {
        SlugStyle::GitHub => {
            let mut out = String::with_capacity(text.len());
            for c in text.chars().flat_map(char::to_lowercase) {
                if c == ' ' || c == '-' {
                    out.push(if c == ' ' { '-' } else { c });
                    continue;
                }
                let removed = !c.is_alphabetic()
                    && matches!(
                        gc(c),
                        G::OtherNumber
                            | G::ClosePunctuation
                            | G::FinalPunctuation
                            | G::InitialPunctuation
                            | G::OpenPunctuation
                            | G::OtherPunctuation
                            | G::DashPunctuation
                            | G::MathSymbol
                            | G::CurrencySymbol
                            | G::ModifierSymbol
                            | G::OtherSymbol
                            | G::Control
                            | G::PrivateUse
                            | G::Format
                            | G::Unassigned
                            | G::Surrogate
                            | G::SpaceSeparator
                            | G::LineSeparator
                            | G::ParagraphSeparator
                    );
                if !removed {
                    out.push(c);
                }
            }
            out
        }
        SlugStyle::GitLab => {
            let mut out = String::with_capacity(text.len());
            for c in text.chars().flat_map(char::to_lowercase) {
                let c = if c == ' ' { '-' } else { c };
                if c == '-' {
                    if !out.ends_with('-') {
                        out.push('-');
                    }
                } else if is_word(c) {
                    out.push(c);
                }
            }
            if !out.is_empty() && out.bytes().all(|b| b.is_ascii_digit()) {
                out.insert_str(0, "anchor-");
            }
            out
        }
        SlugStyle::Goldmark | SlugStyle::GoldmarkAscii => {
            let ascii = style == SlugStyle::GoldmarkAscii;
            let text = if ascii {
                super::text::remove_accents(text)
            } else {
                text.to_string()
            };
            let mut out = String::with_capacity(text.len());
            for c in text.trim().chars() {
                if ascii && !c.is_ascii() {
                    continue;
                }
                if c == '-' || c == ' ' {
                    out.push('-');
                } else if c == '_' || is_letter(c) || gc(c) == G::DecimalNumber {
                    out.extend(c.to_lowercase());
                }
            }
            out
        }
        SlugStyle::Blackfriday => {
            let mut out = String::with_capacity(text.len());
            let mut dash = false;
            for c in text.chars() {
                if is_letter(c) || is_number(c) {
                    if dash && !out.is_empty() {
                        out.push('-');
                    }
                    dash = false;
                    out.extend(c.to_lowercase());
                } else {
                    dash = true;
                }
            }
            out
        }
        SlugStyle::KramdownGfm => {
            let mut out = String::with_capacity(text.len());
            for c in text.chars().flat_map(char::to_lowercase) {
                if c == ' ' || c == '\t' {
                    out.push('-');
                } else if c == '-' || is_word(c) {
                    out.push(c);
                }
            }
            out
        }
        SlugStyle::Kramdown => {
            let trimmed = text.trim_start_matches(|c: char| !c.is_ascii_alphabetic());
            trimmed
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == ' ' || *c == '-')
                .map(|c| {
                    if c == ' ' {
                        '-'
                    } else {
                        c.to_ascii_lowercase()
                    }
                })
                .collect()
        }
    }
}

/// Numbers repeated slugs the way each generator does.
#[derive(Debug, Clone)]
pub struct Slugger {
    style: SlugStyle,
    /// github-slugger's and GitLab's occurrences; kramdown's counters.
    counts: HashMap<String, usize>,
    /// Every id handed out or put (Goldmark checks against all of them).
    taken: HashSet<String>,
}

impl Slugger {
    pub fn new(style: SlugStyle) -> Slugger {
        Slugger {
            style,
            counts: HashMap::new(),
            taken: HashSet::new(),
        }
    }

    /// An explicit id (`{#id}`): taken, so a later heading does not get it.
    pub fn put(&mut self, id: &str) {
        self.taken.insert(id.to_string());
    }

    /// The id of the next heading with this text.
    pub fn next(&mut self, text: &str) -> String {
        let base = slug(text, self.style);
        let id = match self.style {
            SlugStyle::GitHub => {
                // github-slugger: while the slug is taken, count up the original's occurrences.
                let mut result = base.clone();
                while self.counts.contains_key(&result) {
                    let n = self.counts.entry(base.clone()).or_insert(0);
                    *n += 1;
                    result = format!("{base}-{n}");
                }
                self.counts.insert(result.clone(), 0);
                result
            }
            SlugStyle::GitLab => {
                let n = self.counts.entry(base.clone()).or_insert(0);
                let id = if *n > 0 {
                    format!("{base}-{n}")
                } else {
                    base.clone()
                };
                *n += 1;
                id
            }
            SlugStyle::Goldmark | SlugStyle::GoldmarkAscii | SlugStyle::Blackfriday => {
                let base = if base.is_empty() {
                    "heading".to_string()
                } else {
                    base
                };
                if self.taken.contains(&base) {
                    (1..)
                        .map(|i| format!("{base}-{i}"))
                        .find(|c| !self.taken.contains(c))
                        .unwrap_or(base)
                } else {
                    base
                }
            }
            SlugStyle::KramdownGfm => {
                let n = self.counts.entry(base.clone()).or_insert(0);
                *n += 1;
                if *n > 1 {
                    format!("{base}-{}", *n - 1)
                } else {
                    base
                }
            }
            SlugStyle::Kramdown => {
                let base = if base.is_empty() {
                    "section".to_string()
                } else {
                    base
                };
                match self.counts.get_mut(&base) {
                    Some(n) => {
                        *n += 1;
                        format!("{base}-{n}")
                    }
                    None => {
                        self.counts.insert(base.clone(), 0);
                        base
                    }
                }
            }
        };
        self.taken.insert(id.clone());
        id
    }
}

/// The raw text of a heading for the generators that read its source: the last content line,
/// without the ATX markers, the closing sequence and a trailing `{…}` attribute block.
fn raw_heading_text(src: &str, atx: bool) -> &str {
    let line = if atx {
        src.lines().next().unwrap_or_default()
    } else {
        // A setext heading: its content lines, then the underline.
        let lines: Vec<&str> = src.lines().filter(|l| !l.trim().is_empty()).collect();
        match lines.len() {
            0 => "",
            1 => lines[0],
            n => lines[n - 2],
        }
    };
    let mut t = line.trim();
    if atx {
        t = t.trim_start_matches('#').trim();
    }
    if let Some(open) = t.rfind('{') {
        let attr = &t[open..];
        if attr.ends_with('}') && attr[1..].trim_start().starts_with(['#', '.']) {
            t = t[..open].trim_end();
        }
    }
    if atx {
        let without = t.trim_end_matches('#');
        if without.len() < t.len() && (without.is_empty() || without.ends_with([' ', '\t'])) {
            t = without.trim_end();
        }
    }
    t
}

/// The ids of a Markdown document's headings, in order, as `style`'s generator makes them
/// (an explicit `{#id}` wins and is taken).
pub fn heading_ids(markdown: &str, style: SlugStyle) -> Vec<String> {
    let opts = Options::ENABLE_HEADING_ATTRIBUTES
        | Options::ENABLE_TABLES
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS;
    let mut slugger = Slugger::new(style);
    let mut out = Vec::new();
    let mut heading: Option<(Option<String>, String, std::ops::Range<usize>)> = None;
    for (ev, range) in Parser::new_ext(markdown, opts).into_offset_iter() {
        match ev {
            Event::Start(Tag::Heading { id, .. }) => {
                heading = Some((id.map(|i| i.to_string()), String::new(), range));
            }
            Event::Text(t) | Event::Code(t) => {
                if let Some((_, text, _)) = heading.as_mut() {
                    text.push_str(&t);
                }
            }
            Event::End(TagEnd::Heading(_)) => {
                if let Some((id, text, range)) = heading.take() {
                    match id {
                        Some(id) => {
                            slugger.put(&id);
                            out.push(id);
                        }
                        None if style.reads_source() => {
                            let src = markdown.get(range).unwrap_or_default();
                            let atx = src.trim_start().starts_with('#');
                            out.push(slugger.next(raw_heading_text(src, atx)));
                        }
                        None => out.push(slugger.next(text.trim())),
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// The anchors of a Markdown document: its heading ids by `style`, and the ids and `<a name>`s
/// of the HTML written in it.
pub fn markdown_anchors(markdown: &str, style: SlugStyle) -> AnchorSet {
    let mut set = AnchorSet {
        from_markdown: true,
        ..AnchorSet::default()
    };
    for id in heading_ids(markdown, style) {
        set.insert(&id);
    }
    let mut html = String::new();
    for ev in Parser::new_ext(markdown, Options::ENABLE_HEADING_ATTRIBUTES) {
        if let Event::Html(h) | Event::InlineHtml(h) = ev {
            html.push_str(&h);
            html.push('\n');
        }
    }
    if !html.is_empty() {
        for id in super::anchors_of(&html).ids {
            set.insert(&id);
        }
    }
    set
}

/// Shortcodes and tags known not to make anchors: a post using only these has all its anchors
/// in its headings, footnotes and HTML.
const INERT_SHORTCODES: &[&str] = &[
    "ref",
    "relref",
    "figure",
    "highlight",
    "youtube",
    "vimeo",
    "tweet",
    "x",
    "gist",
    "instagram",
    "param",
    "img",
    "image",
    "link",
    "post_url",
    "raw",
    "endraw",
    "highlight",
    "endhighlight",
    "comment",
    "endcomment",
];

/// The anchors of one post of the blog, as its generator renders it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PostAnchors {
    pub set: AnchorSet,
    /// The post uses a shortcode or Liquid tag that may make anchors citewatch cannot see.
    pub dynamic: bool,
}

impl PostAnchors {
    /// Whether the post has this anchor, written or percent-decoded (case as written: a
    /// browser compares ids exactly).
    pub fn has(&self, a: &super::Anchor) -> bool {
        a.candidates().any(|c| self.set.ids.contains(c))
    }
}

/// The anchors of a post's text (front matter and all): heading ids by each of `styles` (one
/// for a known generator; several, any of which counts, when the generator is unknown),
/// explicit `{#id}`s, ids and `<a name>`s of its HTML, footnote ids (`fn:1`, `fnref:1` and by
/// label, as Goldmark and kramdown make them), and Hugo's `TableOfContents`.
pub fn post_anchors(text: &str, html: bool, styles: &[SlugStyle]) -> PostAnchors {
    let body = crate::post::split(text).body;
    let mut set = if html {
        super::anchors_of(body)
    } else {
        let mut set = AnchorSet {
            from_markdown: true,
            ..AnchorSet::default()
        };
        for style in styles {
            for id in markdown_anchors(body, *style).ids {
                set.insert(&id);
            }
        }
        let mut n = 0;
        for ev in Parser::new_ext(body, Options::ENABLE_FOOTNOTES) {
            if let Event::Start(Tag::FootnoteDefinition(label)) = ev {
                n += 1;
                for id in [
                    format!("fn:{n}"),
                    format!("fnref:{n}"),
                    format!("fn:{label}"),
                    format!("fnref:{label}"),
                ] {
                    set.insert(&id);
                }
            }
        }
        set
    };
    set.from_markdown = true;
    set.insert("TableOfContents");
    PostAnchors {
        dynamic: makes_anchors(body),
        set,
    }
}

/// Whether a post's text uses a Hugo shortcode or a Liquid tag outside [`INERT_SHORTCODES`].
fn makes_anchors(body: &str) -> bool {
    ["{{<", "{{%", "{%"].iter().any(|open| {
        body.match_indices(open).any(|(i, _)| {
            let rest = body.get(i + open.len()..).unwrap_or_default();
            let name: String = rest
                .trim_start_matches([' ', '/', '-', '%', '<'])
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '-')
                .collect();
            !name.is_empty() && !INERT_SHORTCODES.contains(&name.to_ascii_lowercase().as_str())
        })
    })
}
