//! Bare URLs in running text (plain-text posts, and text runs of Markdown): `http(s)://` URLs.
//! Trailing punctuation and unbalanced closing brackets are not part of the URL; balanced ones
//! are, as in `https://en.wikipedia.org/wiki/Foo_(bar)`.

use super::{CitationKind, Lines, RawCitation, Written};

/// Which characters at the end of a URL are taken for the prose around it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Trim {
    /// Plain text: `_` and `*` around a URL are emphasis written by hand.
    Plain,
    /// Markdown text runs: the parser has already consumed emphasis markers, so a `_` or `*`
    /// left at the end belongs to the URL (`https://example.com/foo_`).
    Markdown,
}

/// Byte ranges of the URLs in `text`.
pub(crate) fn find_urls(text: &str, trim: Trim) -> Vec<(usize, usize)> {
    if !text.contains("://") {
        return Vec::new();
    }
    let mut finder = linkify::LinkFinder::new();
    finder.kinds(&[linkify::LinkKind::Url]);
    finder
        .links(text)
        .filter_map(|l| {
            let s = l.as_str();
            let lower = s.get(..8).unwrap_or(s).to_ascii_lowercase();
            if !(lower.starts_with("http://") || lower.starts_with("https://")) {
                return None;
            }
            let end = l.start() + trim_end(s, trim).len();
            Some((l.start(), end))
        })
        .collect()
}

/// Drops trailing punctuation and closing brackets that have no opening partner in the URL.
fn trim_end(s: &str, trim: Trim) -> &str {
    let mut s = s;
    loop {
        let Some(last) = s.chars().last() else {
            return s;
        };
        let cut = match last {
            '.' | ',' | ';' | ':' | '!' | '?' | '\'' | '"' | '>' => true,
            '*' | '_' => trim == Trim::Plain,
            ')' => s.matches('(').count() < s.matches(')').count(),
            ']' => s.matches('[').count() < s.matches(']').count(),
            _ => false,
        };
        if !cut {
            return s;
        }
        s = &s[..s.len() - last.len_utf8()];
    }
}

/// Citations for every bare URL in a plain-text body starting at `offset` in the file.
pub(crate) fn extract(body: &str, offset: usize, lines: &Lines, out: &mut Vec<RawCitation>) {
    for (start, end) in find_urls(body, Trim::Plain) {
        let url = &body[start..end];
        out.push(RawCitation {
            target: url.to_string(),
            line: lines.line_of(offset + start),
            text: url.to_string(),
            kind: CitationKind::Bare,
            span: offset + start..offset + end,
            quote: None,
            reference: None,
            written: Written::Bare { markdown: false },
            after: Some(offset + end),
        });
    }
}
