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
