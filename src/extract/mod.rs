//! Extraction: the text of one post in, the citations it makes out.
//!
//! Pure: takes a `&str`, returns values. No filesystem, no network. Never panics on any input.
//! Every citation carries the byte span of its target as written in the text, so that a later
//! step can rewrite it in place; offsets are into the text given here (the caller maps them to
//! the file's raw bytes, see `source::OffsetMap`).
//!
//! Order of work: front matter is split off; template syntax (Hugo shortcodes, Jekyll Liquid)
//! is found and masked with same-length placeholders so that the Markdown or HTML parser sees
//! what the site generator would render; the body is parsed; placeholders in targets are
//! replaced by what they stand for.

use std::ops::Range;

/// The format of a post, chosen by its file extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Markdown,
    Html,
    Text,
}

impl Format {
    /// The format for a file extension (without the dot, any case), or `None` when citewatch does not read it.
    pub fn from_extension(ext: &str) -> Option<Format> {
        match ext.to_ascii_lowercase().as_str() {
            "md" | "markdown" => Some(Format::Markdown),
            "html" | "htm" => Some(Format::Html),
            "txt" => Some(Format::Text),
            _ => None,
        }
    }
}

/// How a post refers to a target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CitationKind {
    /// `[text](url)`, `[text][ref]` with its definition, `<a href>`, any other element's `href`.
    Link,
    /// `![alt](src)`, `<img src>`, every URL of a `srcset`, `<source src>` of a picture, `poster`.
    Image,
    /// `<https://...>` in Markdown.
    Autolink,
    /// A bare URL in running text.
    Bare,
    /// `<blockquote cite>`, `<q cite>`.
    Quote,
    /// `<iframe src>`, `<video src>`, `<audio src>`, `<embed src>`, `<object data>`, and the Hugo
    /// shortcodes that embed a page (`youtube`, `vimeo`, `x`, `instagram`, `gist`).
    Embed,
    /// Another post or file of the same site: Hugo `ref`/`relref`, Jekyll `post_url`/`link`.
    PostRef,
    /// An absolute URL in a front matter key the user named.
    FrontMatter,
}

impl CitationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CitationKind::Link => "link",
            CitationKind::Image => "image",
            CitationKind::Autolink => "autolink",
            CitationKind::Bare => "bare",
            CitationKind::Quote => "quote",
            CitationKind::Embed => "embed",
            CitationKind::PostRef => "post_ref",
            CitationKind::FrontMatter => "front_matter",
        }
    }
}

/// Which generator's rules resolve a post reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RefStyle {
    /// Hugo `{{< ref >}}` / `{{< relref >}}`: a page by path or name, as Hugo looks it up.
    Hugo,
    /// Jekyll `{% post_url 2010-07-21-name %}`: a post by its date and name.
    JekyllPostUrl,
    /// Jekyll `{% link path/from/site/root.md %}`: any file of the site by its exact path.
    JekyllLink,
}

/// How a post reference was written, beyond its target.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Reference {
    pub style: RefStyle,
    /// Hugo's `lang="de"`: the page in that language.
    pub lang: Option<String>,
    /// Hugo's `outputFormat="amp"` (or the second positional argument).
    pub output_format: Option<String>,
}

/// A reference found in a post, before resolution and normalization: `target` is exactly what the
/// author wrote (trimmed, escapes and entities decoded, template syntax replaced by what it
/// renders), which may be relative, malformed or of any scheme.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawCitation {
    pub target: String,
    /// 1-based line in the whole file (front matter lines count) where the citation is made.
    pub line: u32,
    /// Link text, image alt text, or the URL itself for bare URLs; whitespace collapsed.
    pub text: String,
    pub kind: CitationKind,
    /// Byte range in the text of the target as written: the destination of a Markdown link (in
    /// its reference definition for reference links), an attribute value, a bare URL, a whole
    /// shortcode or Liquid tag. Replacing these bytes re-points the citation.
    pub span: Range<usize>,
    /// The passage the post quotes from the cited page, when it quotes one.
    pub quote: Option<String>,
    /// Set for [`CitationKind::PostRef`]: how the reference is written.
    pub reference: Option<Reference>,
    /// How the target is written at `span`: what a rewrite of those bytes must respect.
    pub written: Written,
    /// Where a note about this citation may be inserted, at the place the citation is made:
    /// just after a Markdown link or image (its `)`, or the `]` of a reference link's use), an
    /// autolink's `>`, a bare URL, an HTML link's `</a>` or an `<img>` tag. `None` where an
    /// insertion would land inside other markup (an image inside a link, a `srcset`, a
    /// shortcode, front matter).
    pub after: Option<usize>,
}

/// How a citation's target is written in the text. Replacing the bytes of [`RawCitation::span`]
/// re-points the citation only when the new target is written the same way; [`Written::Fixed`]
/// targets are never rewritten.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Written {
    /// A Markdown link or image destination, inline or in a reference definition (escapes and
    /// entities decoded); `angle` when written `<...>` (the span is inside the brackets).
    Destination { angle: bool },
    /// A Markdown autolink `<...>`: the span is what the brackets hold, taken literally.
    Autolink,
    /// A URL in running text, of a Markdown post (escapes decoded) or a plain-text one.
    Bare { markdown: bool },
    /// An HTML attribute value (entities decoded), quoted with `quote` (`None`: unquoted).
    Attribute { quote: Option<u8> },
    /// A Hugo shortcode argument, quoted with `"` or `` ` `` (`None`: a bare word).
    ShortcodeArg { quote: Option<u8> },
    /// The target is made from what the span holds, or the span is not the target alone: a
    /// template tag, a shortcode's id, a front matter value, a destination built with template
    /// code or that could not be located. Never rewritten.
    #[default]
    Fixed,
}

mod html;
mod liquid;
mod markdown;
mod plain;
mod quote;
mod shortcode;
mod template;

use crate::post::{self, FrontMatter};
pub(crate) use crate::text::decode_entities;

/// Values of Jekyll's `site.url` and `site.baseurl`, for Liquid in posts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SiteVars {
    pub url: String,
    pub baseurl: String,
}

/// What extraction is told besides the text.
#[derive(Debug, Clone)]
pub struct Options {
    /// Front matter keys whose absolute URL values are citations.
    pub front_matter_keys: Vec<String>,
    /// Read Hugo shortcodes (`{{< ... >}}`, `{{% ... %}}`).
    pub hugo: bool,
    /// Read Jekyll Liquid (`{% ... %}`, `{{ ... }}`) with these site variables.
    pub liquid: Option<SiteVars>,
}

impl Default for Options {
    /// Both template languages: a post whose generator is not known may use either.
    fn default() -> Self {
        Options {
            front_matter_keys: Vec::new(),
            hugo: true,
            liquid: Some(SiteVars::default()),
        }
    }
}

/// Everything extraction found in one post.
#[derive(Debug, Clone, Default)]
pub struct Extracted {
    pub citations: Vec<RawCitation>,
    pub front: FrontMatter,
    /// Problems worth telling the author (malformed front matter); extraction went on.
    pub warnings: Vec<String>,
}

/// Finds every citation in a post's text. Never fails, never panics.
pub fn extract(format: Format, text: &str, opts: &Options) -> Extracted {
    let split = match format {
        Format::Html | Format::Text => post::Split {
            front: FrontMatter::default(),
            body: text,
            body_offset: 0,
            body_line: 1,
            warning: None,
        },
        Format::Markdown => post::split(text),
    };
    let lines = Lines::new(text);
    let offset = split.body_offset;
    let mut citations = Vec::new();
    front_matter_citations(text, &split, opts, &mut citations);
    let first = citations.len();
    match format {
        Format::Markdown | Format::Html => {
            let constructs = template::find(split.body, opts);
            let masked = template::mask(split.body, &constructs);
            let code = match format {
                Format::Markdown => markdown::extract(&masked, offset, &lines, &mut citations),
                _ => {
                    html::extract(&masked, offset, &lines, &mut citations);
                    Vec::new()
                }
            };
            template::resolve(&constructs, &code, offset, &lines, &mut citations, first);
        }
        Format::Text => plain::extract(split.body, offset, &lines, &mut citations),
    }
    // Document order (stable: citations on one line keep the order they were found in).
    citations[first..].sort_by_key(|c| c.line);
    Extracted {
        citations,
        front: split.front,
        warnings: split.warning.into_iter().collect(),
    }
}

/// Absolute URLs in the front matter keys the user named, each with the span of its value.
fn front_matter_citations(
    text: &str,
    split: &post::Split<'_>,
    opts: &Options,
    out: &mut Vec<RawCitation>,
) {
    if opts.front_matter_keys.is_empty() {
        return;
    }
    let front_text = text.get(..split.body_offset).unwrap_or("");
    for (key, value, line) in &split.front.values {
        let v = value.trim();
        if !opts.front_matter_keys.iter().any(|k| k == key)
            || !(v.starts_with("http://") || v.starts_with("https://"))
        {
            continue;
        }
        // The value as written, at or after the start of its key's line.
        let from = line_start(front_text, *line);
        let span = front_text
            .get(from..)
            .and_then(|rest| rest.find(v))
            .map(|i| from + i..from + i + v.len())
            .unwrap_or(from..from);
        out.push(RawCitation {
            target: v.to_string(),
            line: *line,
            text: key.clone(),
            kind: CitationKind::FrontMatter,
            span,
            quote: None,
            reference: None,
            written: Written::Fixed,
            after: None,
        });
    }
}

/// The byte offset where 1-based `line` starts (the end of the text when it has fewer lines).
fn line_start(text: &str, line: u32) -> usize {
    if line <= 1 {
        return 0;
    }
    memchr::memchr_iter(b'\n', text.as_bytes())
        .nth(line as usize - 2)
        .map(|i| i + 1)
        .unwrap_or(text.len())
}

/// Byte offset → 1-based line. Lookups mostly move forward through the text, so each counts the
/// newlines since the previous one (memchr, linear over the whole post); a lookup that goes back
/// builds an index of line starts once and searches it.
pub(crate) struct Lines<'a> {
    text: &'a [u8],
    last: std::cell::Cell<(usize, u32)>,
    starts: std::cell::OnceCell<Vec<usize>>,
}

impl<'a> Lines<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        Lines {
            text: text.as_bytes(),
            last: std::cell::Cell::new((0, 1)),
            starts: std::cell::OnceCell::new(),
        }
    }

    pub(crate) fn line_of(&self, offset: usize) -> u32 {
        let offset = offset.min(self.text.len());
        let (from, line) = self.last.get();
        let line = if offset >= from {
            line + memchr::memchr_iter(b'\n', &self.text[from..offset]).count() as u32
        } else {
            let starts = self.starts.get_or_init(|| {
                std::iter::once(0)
                    .chain(memchr::memchr_iter(b'\n', self.text).map(|i| i + 1))
                    .collect()
            });
            match starts.binary_search(&offset) {
                Ok(i) => i as u32 + 1,
                Err(i) => i as u32,
            }
        };
        self.last.set((offset, line));
        line
    }
}

/// Collapses runs of whitespace to one space and trims.
pub(crate) fn collapse(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for w in s.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(w);
    }
    out
}

#[cfg(test)]
mod tests;
