//! Extraction: the text of one post in, the citations it makes out.
//!
//! Pure: takes a `&str`, returns values. No filesystem, no network. Never panics on any input.

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
    /// `[text](url)`, `[text][ref]` with its definition, `<a href>`.
    Link,
    /// `![alt](src)`, `<img src>`, `<source src>`.
    Image,
    /// `<https://...>` in Markdown.
    Autolink,
    /// A bare URL in running text.
    Bare,
    /// `<blockquote cite>`, `<q cite>`.
    Quote,
    /// `<iframe src>`.
    Embed,
    /// A Hugo `{{< ref >}}` / `{{< relref >}}` shortcode: a citation of another post.
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

/// A reference found in a post, before resolution and normalization: `target` is exactly what the
/// author wrote (trimmed), which may be relative, malformed or of any scheme.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawCitation {
    pub target: String,
    /// 1-based line in the whole file (front matter lines count).
    pub line: u32,
    /// Link text, image alt text, or the URL itself for bare URLs; whitespace collapsed.
    pub text: String,
    pub kind: CitationKind,
}

mod html;
mod markdown;
mod plain;
mod shortcode;

use crate::post::{self, FrontMatter};

/// What extraction is told besides the text.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Front matter keys whose absolute URL values are citations.
    pub front_matter_keys: Vec<String>,
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
    for (key, value, line) in &split.front.values {
        let v = value.trim();
        if opts.front_matter_keys.iter().any(|k| k == key)
            && (v.starts_with("http://") || v.starts_with("https://"))
        {
            citations.push(RawCitation {
                target: v.to_string(),
                line: *line,
                text: key.clone(),
                kind: CitationKind::FrontMatter,
            });
        }
    }
    match format {
        Format::Markdown => markdown::extract(split.body, offset, &lines, &mut citations),
        Format::Html => html::extract(split.body, offset, &lines, &mut citations),
        Format::Text => plain::extract(split.body, offset, &lines, &mut citations),
    }
    Extracted {
        citations,
        front: split.front,
        warnings: split.warning.into_iter().collect(),
    }
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
