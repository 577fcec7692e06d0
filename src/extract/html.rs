//! HTML: citations in HTML posts and in the HTML fragments of Markdown posts, by one rule.
//!
//! A small tokenizer (tags, attributes with the exact byte range of each value, text, comments
//! skipped, the content of `<script>`, `<style>`, `<textarea>`, `<title>` and `<iframe>` skipped)
//! feeds one citation rule: `href`, `src`, `cite`, `data` (on `<object>`), `poster` and every URL
//! of `srcset`, on any element except `<link>`, `<script>`, `<meta>` and `<base>`, which are page
//! plumbing rather than citations. `rel="nofollow"` links count: blogs mark outbound citations
//! that way. CSS `url()` is never read. Never panics: positions are only ever taken at ASCII
//! bytes of the text they index.

use std::ops::Range;

use super::quote::{self, Para};
use super::{collapse, decode_entities, CitationKind, Lines, RawCitation, Written};

/// An attribute of a start tag: its name (lowercase) and its raw value with the value's range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Attr<'a> {
    pub name: String,
    pub raw: &'a str,
    pub range: Range<usize>,
    /// The quote around the value (`"` or `'`), `None` when unquoted.
    pub quote: Option<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Tok<'a> {
    Start {
        name: String,
        attrs: Vec<Attr<'a>>,
        range: Range<usize>,
    },
    End {
        name: String,
        range: Range<usize>,
    },
    Text {
        raw: &'a str,
    },
}

/// Elements whose content is not markup.
const RAW_TEXT: [&str; 8] = [
    "script", "style", "textarea", "title", "xmp", "iframe", "noembed", "noframes",
];

/// Elements that never have content (their text is not waited for).
const VOID: [&str; 14] = [
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source",
    "track", "wbr",
];

/// Page plumbing: never citations.
const PLUMBING: [&str; 4] = ["link", "script", "meta", "base"];

/// Block elements that end an open paragraph.
const BLOCKS: [&str; 24] = [
    "address",
    "article",
    "aside",
    "blockquote",
    "details",
    "div",
    "dl",
    "fieldset",
    "figure",
    "footer",
    "form",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hr",
    "main",
    "nav",
    "ol",
    "pre",
    "section",
];

fn is_name_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'-' | b':' | b'_' | b'.')
}

/// The tokens of an HTML text, with ranges relative to it.
pub(crate) fn tokens<'a>(s: &'a str) -> Vec<Tok<'a>> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut pos = 0;
    let mut text_start = 0;
    let flush = |out: &mut Vec<Tok<'a>>, from: usize, to: usize| {
        if to > from {
            if let Some(raw) = s.get(from..to) {
                out.push(Tok::Text { raw });
            }
        }
    };
    while let Some(i) = memchr::memchr(b'<', b.get(pos..).unwrap_or(&[])).map(|i| pos + i) {
        let rest = &b[i + 1..];
        if rest.starts_with(b"!--") {
            flush(&mut out, text_start, i);
            let end = memchr::memmem::find(&b[i + 4..], b"-->")
                .map(|e| i + 4 + e + 3)
                .unwrap_or(b.len());
            pos = end;
            text_start = end;
            continue;
        }
        match rest.first() {
            Some(b'!') | Some(b'?') => {
                flush(&mut out, text_start, i);
                let end = memchr::memchr(b'>', rest)
                    .map(|e| i + 1 + e + 1)
                    .unwrap_or(b.len());
                pos = end;
                text_start = end;
            }
            Some(b'/') if rest.get(1).is_some_and(u8::is_ascii_alphabetic) => {
                flush(&mut out, text_start, i);
                let name_end = i + 2 + rest[1..].iter().take_while(|c| is_name_byte(**c)).count();
                let end = memchr::memchr(b'>', &b[name_end..])
                    .map(|e| name_end + e + 1)
                    .unwrap_or(b.len());
                out.push(Tok::End {
                    name: s[i + 2..name_end].to_ascii_lowercase(),
                    range: i..end,
                });
                pos = end;
                text_start = end;
            }
            Some(c) if c.is_ascii_alphabetic() => {
                flush(&mut out, text_start, i);
                let Some((name, attrs, end)) = start_tag(s, i) else {
                    // A tag cut off by the end of the text is dropped, as browsers do.
                    text_start = b.len();
                    break;
                };
                let raw_text = RAW_TEXT.contains(&name.as_str());
                let close = format!("</{name}");
                out.push(Tok::Start {
                    name,
                    attrs,
                    range: i..end,
                });
                pos = end;
                text_start = end;
                if raw_text {
                    // Skip to the closing tag (ASCII case-insensitive), which is tokenized next.
                    let skip = memchr::memmem::find_iter(&b[end..], b"</")
                        .map(|e| end + e)
                        .find(|&e| {
                            b.get(e..e + close.len())
                                .is_some_and(|t| t.eq_ignore_ascii_case(close.as_bytes()))
                        })
                        .unwrap_or(b.len());
                    pos = skip;
                    text_start = skip;
                }
            }
            _ => pos = i + 1,
        }
    }
    flush(&mut out, text_start, b.len());
    out
}

/// Parses the start tag at `i` (`<` followed by a letter): name, attributes, end offset.
fn start_tag(s: &str, i: usize) -> Option<(String, Vec<Attr<'_>>, usize)> {
    let b = s.as_bytes();
    let mut pos = i + 1;
    while pos < b.len() && is_name_byte(b[pos]) {
        pos += 1;
    }
    let name = s[i + 1..pos].to_ascii_lowercase();
    let mut attrs = Vec::new();
    loop {
        while pos < b.len() && b[pos].is_ascii_whitespace() {
            pos += 1;
        }
        match b.get(pos)? {
            b'>' => return Some((name, attrs, pos + 1)),
            b'/' => {
                pos += 1;
                continue;
            }
            _ => {}
        }
        let start = pos;
        while pos < b.len() && !b[pos].is_ascii_whitespace() && !matches!(b[pos], b'/' | b'>') {
            if b[pos] == b'=' && pos > start {
                break;
            }
            pos += 1;
        }
        let attr_name = s[start..pos].to_ascii_lowercase();
        while pos < b.len() && b[pos].is_ascii_whitespace() {
            pos += 1;
        }
        let mut value = pos..pos;
        let mut quote = None;
        if b.get(pos) == Some(&b'=') {
            pos += 1;
            while pos < b.len() && b[pos].is_ascii_whitespace() {
                pos += 1;
            }
            match *b.get(pos)? {
                q @ (b'"' | b'\'') => {
                    let from = pos + 1;
                    let to = from + memchr::memchr(q, &b[from..])?;
                    value = from..to;
                    quote = Some(q);
                    pos = to + 1;
                }
                _ => {
                    let from = pos;
                    while pos < b.len() && !b[pos].is_ascii_whitespace() && b[pos] != b'>' {
                        pos += 1;
                    }
                    value = from..pos;
                }
            }
        }
        attrs.push(Attr {
            name: attr_name,
            raw: &s[value.clone()],
            range: value,
            quote,
        });
    }
}

/// The kind of citation an attribute makes on an element, if any.
fn kind_of(tag: &str, attr: &str, media: Option<&str>) -> Option<CitationKind> {
    if PLUMBING.contains(&tag) {
        return None;
    }
    Some(match attr {
        "href" => match tag {
            "image" => CitationKind::Image,
            _ => CitationKind::Link,
        },
        "src" => match tag {
            "img" | "image" | "input" => CitationKind::Image,
            "source" if matches!(media, Some("video" | "audio")) => CitationKind::Embed,
            "source" => CitationKind::Image,
            _ => CitationKind::Embed,
        },
        "cite" => match tag {
            "blockquote" | "q" => CitationKind::Quote,
            _ => CitationKind::Link,
        },
        "data" if tag == "object" => CitationKind::Embed,
        "poster" | "srcset" => CitationKind::Image,
        _ => return None,
    })
}

/// The URLs of a `srcset` value: `url [descriptor], url [descriptor], ...` (HTML's parsing
/// rules: a URL runs to white space; commas at its end are separators).
fn srcset(raw: &str) -> Vec<Range<usize>> {
    let b = raw.as_bytes();
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < b.len() {
        while pos < b.len() && (b[pos].is_ascii_whitespace() || b[pos] == b',') {
            pos += 1;
        }
        let start = pos;
        while pos < b.len() && !b[pos].is_ascii_whitespace() {
            pos += 1;
        }
        let mut end = pos;
        let cut = raw[start..end].ends_with(',');
        while end > start && b[end - 1] == b',' {
            end -= 1;
        }
        if end > start {
            out.push(start..end);
        }
        if !cut {
            // Skip the descriptors up to the next comma outside parentheses.
            let mut depth = 0usize;
            while pos < b.len() {
                match b[pos] {
                    b'(' => depth += 1,
                    b')' => depth = depth.saturating_sub(1),
                    b',' if depth == 0 => break,
                    _ => {}
                }
                pos += 1;
            }
        }
    }
    out
}

/// An element whose text is being read: link text, or a quote's words.
#[derive(Debug)]
struct Open {
    name: String,
    index: usize,
    text: String,
}

/// A `<blockquote>` without `cite` being read as a possible quote of the link before it.
#[derive(Debug)]
struct Capture {
    start: usize,
    depth: usize,
    text: String,
    cites: Vec<(usize, Range<usize>)>,
    prev: Option<Para>,
}

/// What the HTML reader carries from one fragment to the next (in Markdown, inline tags arrive
/// one at a time with Markdown text between them).
#[derive(Debug, Default)]
pub(crate) struct State {
    open: Vec<Open>,
    media: Vec<String>,
    capture: Option<Capture>,
    /// Read `<p>` elements as paragraphs (HTML posts; Markdown has its own).
    paragraphs: bool,
    para: Option<Para>,
    /// The last paragraph that ended, for quotes that follow it.
    pub last_para: Option<Para>,
    /// The body's offset in the file's text (the same for every fragment of a post).
    offset: usize,
}

impl State {
    pub(crate) fn new(paragraphs: bool) -> Self {
        State {
            paragraphs,
            ..State::default()
        }
    }

    /// Text between tags (decoded): link texts, quotes and the paragraph take it.
    pub(crate) fn text(&mut self, t: &str) {
        for o in &mut self.open {
            o.text.push_str(t);
        }
        if let Some(c) = &mut self.capture {
            c.text.push_str(t);
        }
        if let Some(p) = &mut self.para {
            p.text.push_str(t);
        }
    }

    /// Reads the HTML in `body[range]`; `offset` is the body's offset in the file's text.
    /// Returns the indices of the citations it added.
    pub(crate) fn scan(
        &mut self,
        body: &str,
        range: Range<usize>,
        offset: usize,
        lines: &Lines,
        out: &mut Vec<RawCitation>,
    ) -> Range<usize> {
        let first = out.len();
        self.offset = offset;
        let Some(frag) = body.get(range.clone()) else {
            return first..first;
        };
        let at = range.start;
        for tok in tokens(frag) {
            match tok {
                Tok::Text { raw } => self.text(&decode_entities(raw)),
                Tok::Start { name, attrs, range } => self.start(
                    &name,
                    &attrs,
                    at + range.start..at + range.end,
                    at,
                    lines,
                    out,
                ),
                Tok::End { name, range } => self.end(body, &name, at + range.end, out),
            }
        }
        first..out.len()
    }

    /// A start tag at `tag` (body offsets); `at` is where its fragment starts in the body.
    fn start(
        &mut self,
        name: &str,
        attrs: &[Attr<'_>],
        tag: Range<usize>,
        at: usize,
        lines: &Lines,
        out: &mut Vec<RawCitation>,
    ) {
        let offset = self.offset;
        let tag_start = tag.start;
        // A note after an element inside a link would be inside that link.
        let in_link = self.open.iter().any(|o| o.name == "a");
        if self.paragraphs && (name == "p" || BLOCKS.contains(&name)) {
            self.end_para(tag_start, out);
            if name == "p" {
                self.para = Some(Para::default());
            }
        }
        let has_cite = attrs
            .iter()
            .any(|a| a.name == "cite" && !a.raw.trim().is_empty());
        if name == "blockquote" {
            match &mut self.capture {
                Some(c) => c.depth += 1,
                None if !has_cite => {
                    self.capture = Some(Capture {
                        start: tag_start,
                        depth: 1,
                        text: String::new(),
                        cites: Vec::new(),
                        prev: self.last_para.take(),
                    })
                }
                None => {}
            }
        }
        let media = self.media.last().map(String::as_str);
        let mut reads_text = None;
        for a in attrs {
            let Some(kind) = kind_of(name, &a.name, media) else {
                continue;
            };
            let values = if a.name == "srcset" {
                srcset(a.raw)
            } else {
                std::iter::once(0..a.raw.len()).collect()
            };
            for v in values {
                let raw = &a.raw[v.clone()];
                let lead = raw.len() - raw.trim_start().len();
                let trimmed = raw.trim();
                let target = decode_entities(trimmed).into_owned();
                if target.is_empty() {
                    continue;
                }
                let start = at + a.range.start + v.start + lead;
                let attr = |n: &str| {
                    attrs
                        .iter()
                        .find(|a| a.name == n)
                        .map(|a| collapse(&decode_entities(a.raw)))
                        .unwrap_or_default()
                };
                let text = match (kind, name) {
                    (CitationKind::Image, _) | (CitationKind::Link, "area") => attr("alt"),
                    (CitationKind::Embed, _) => attr("title"),
                    _ => String::new(),
                };
                let index = out.len();
                // A note goes after an image's tag, or after a link's end tag (set when it
                // closes); nowhere for the other attributes.
                let after =
                    (name == "img" && a.name == "src" && !in_link).then_some(offset + tag.end);
                out.push(RawCitation {
                    target,
                    line: lines.line_of(offset + start),
                    text,
                    kind,
                    span: offset + start..offset + start + trimmed.len(),
                    quote: None,
                    reference: None,
                    written: Written::Attribute { quote: a.quote },
                    after,
                });
                if let Some(c) = &mut self.capture {
                    c.cites.push((index, c.text.len()..c.text.len()));
                }
                if let Some(p) = &mut self.para {
                    p.cites.push((index, p.text.len()..p.text.len()));
                }
                let wants_text = matches!(kind, CitationKind::Quote)
                    || (kind == CitationKind::Link && name != "area" && a.name == "href");
                if wants_text && reads_text.is_none() {
                    reads_text = Some(index);
                }
            }
        }
        if matches!(name, "video" | "audio" | "picture") {
            self.media.push(name.to_string());
        }
        if let Some(index) = reads_text {
            if !VOID.contains(&name) {
                self.open.push(Open {
                    name: name.to_string(),
                    index,
                    text: String::new(),
                });
            }
        }
    }

    fn end(&mut self, body: &str, name: &str, tag_end: usize, out: &mut [RawCitation]) {
        if let Some(i) = self.media.iter().rposition(|m| m == name) {
            self.media.truncate(i);
        }
        if let Some(i) = self.open.iter().rposition(|o| o.name == name) {
            // Elements left open inside it end with it, as in a browser.
            let closed: Vec<Open> = self.open.drain(i..).rev().collect();
            // A link that closes here, not inside another link: a note may follow its end tag.
            let outer = !self.open.iter().any(|o| o.name == "a");
            for o in closed {
                if o.name == name && name == "a" && outer {
                    if let Some(c) = out.get_mut(o.index) {
                        c.after = Some(self.offset + tag_end);
                    }
                }
                self.finish_text(o, out);
            }
        }
        if name == "blockquote" {
            if let Some(c) = &mut self.capture {
                c.depth = c.depth.saturating_sub(1);
                if c.depth == 0 {
                    if let Some(c) = self.capture.take() {
                        quote::attach_block(body, c.prev.as_ref(), c.start, &c.text, &c.cites, out);
                    }
                    self.last_para = None;
                }
            }
        }
        if self.paragraphs && name == "p" {
            self.end_para(tag_end, out);
        }
    }

    fn finish_text(&mut self, o: Open, out: &mut [RawCitation]) {
        let Some(c) = out.get_mut(o.index) else {
            return;
        };
        let text = collapse(&o.text);
        if c.kind == CitationKind::Quote {
            c.text = text.chars().take(200).collect();
            if !text.is_empty() {
                c.quote = Some(text.chars().take(quote::MAX_QUOTE_CHARS).collect());
            }
        } else {
            c.text = text;
        }
        // The link's text now ends here in the paragraph.
        if let Some(p) = &mut self.para {
            let end = p.text.len();
            if let Some((_, r)) = p.cites.iter_mut().find(|(i, _)| *i == o.index) {
                r.end = end;
            }
        }
    }

    fn end_para(&mut self, end: usize, out: &mut [RawCitation]) {
        if let Some(mut p) = self.para.take() {
            p.end = end;
            quote::attach_inline(&p, out);
            self.last_para = Some(p);
        }
    }

    /// Ends everything still open at the end of the post.
    pub(crate) fn finish(&mut self, body: &str, out: &mut [RawCitation]) {
        for o in std::mem::take(&mut self.open).into_iter().rev() {
            self.finish_text(o, out);
        }
        if let Some(c) = self.capture.take() {
            quote::attach_block(body, c.prev.as_ref(), c.start, &c.text, &c.cites, out);
        }
        self.end_para(body.len(), out);
    }
}

/// Citations of an HTML post (its body starts at `offset` in the file), in document order.
pub(crate) fn extract(body: &str, offset: usize, lines: &Lines, out: &mut Vec<RawCitation>) {
    let mut state = State::new(true);
    state.scan(body, 0..body.len(), offset, lines, out);
    state.finish(body, out);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokenizer_keeps_value_ranges_and_skips_raw_text() {
        let s = "<a HREF='x y' data-x=1 checked>t</a><!-- <a href=no> --><script>\"<a href=no>\"</script><img src=i.png/>";
        let toks = tokens(s);
        let Tok::Start { name, attrs, .. } = &toks[0] else {
            panic!("{toks:?}")
        };
        assert_eq!(name, "a");
        assert_eq!(attrs[0].name, "href");
        assert_eq!(&s[attrs[0].range.clone()], "x y");
        assert_eq!(attrs[1].raw, "1");
        assert_eq!(attrs[2].name, "checked");
        let hrefs: Vec<&str> = toks
            .iter()
            .filter_map(|t| match t {
                Tok::Start { attrs, .. } => attrs.first().map(|a| a.raw),
                _ => None,
            })
            .collect();
        assert_eq!(hrefs, ["x y", "i.png/"]);
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

            /// Attribute ranges are always slices of the text, holding the raw value.
            #[test]
            fn attribute_ranges_are_slices(s in "([<>/=\"' a-z!-]|<a href=|<img srcset=\"|<script>|</script|<!--|-->|\\PC)*") {
                for t in tokens(&s) {
                    if let Tok::Start { attrs, range, .. } = t {
                        prop_assert!(s.get(range).is_some());
                        for a in attrs {
                            prop_assert_eq!(s.get(a.range.clone()), Some(a.raw));
                            for r in srcset(a.raw) {
                                prop_assert!(a.raw.get(r).is_some());
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn srcset_urls() {
        let v = " a.png 1x, b.png 2x,c.png, d.png (x, y) 3w, e.png";
        let urls: Vec<&str> = srcset(v).into_iter().map(|r| &v[r]).collect();
        assert_eq!(urls, ["a.png", "b.png", "c.png", "d.png", "e.png"]);
    }
}
