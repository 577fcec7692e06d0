//! Quotes: the passage a post quotes from a page it cites, attached to that citation.
//!
//! Bloggers cite a page and then quote it. A quote belongs to a citation when
//! - a block quote (Markdown `>` or an HTML `<blockquote>` without `cite`) follows the paragraph
//!   that holds the link with nothing but blank lines between: it belongs to the paragraph's last
//!   link, unless the block quote has links of its own; then it belongs to the link that closes it
//!   (`> words … — [Author](url)`, the attribution) or to nobody;
//! - a quoted passage of five words or more (`"…"`, `“…”`, `„…“`, `«…»`) stands in the same
//!   paragraph as a link: it belongs to the last link before it, else the first after it;
//! - `<blockquote cite>` and `<q cite>` quote their own citation (found by the HTML reader).
//!
//! A block quote wins over an inline quote for the same citation. Pure; never panics.

use std::ops::Range;

use super::{collapse, CitationKind, RawCitation};

/// Quotes are kept up to this many characters.
pub(crate) const MAX_QUOTE_CHARS: usize = 4000;

/// Fewer words than this in quotation marks are scare quotes or titles, not a quoted passage.
const MIN_INLINE_WORDS: usize = 5;

/// A paragraph as the quote rules see it.
#[derive(Debug, Clone, Default)]
pub(crate) struct Para {
    /// Its rendered text (link texts included, soft breaks as spaces).
    pub text: String,
    /// Citations made in it: the index in the output and the range of their text in `text`.
    pub cites: Vec<(usize, Range<usize>)>,
    /// Offset in the body where the paragraph's source ends.
    pub end: usize,
}

/// Whether a citation of this kind is a link a reader would follow to the quoted page.
fn link_like(c: &RawCitation) -> bool {
    matches!(
        c.kind,
        CitationKind::Link | CitationKind::Autolink | CitationKind::Bare
    )
}

fn set_quote(c: &mut RawCitation, quote: &str, strong: bool) {
    let q = collapse(quote);
    if q.is_empty() || (c.quote.is_some() && !strong) {
        return;
    }
    c.quote = Some(q.chars().take(MAX_QUOTE_CHARS).collect());
}

/// Attaches a block quote starting at body offset `start` (`src` is the body), with rendered
/// `text` and the citations made inside it, to the citation it quotes.
pub(crate) fn attach_block(
    src: &str,
    prev: Option<&Para>,
    start: usize,
    text: &str,
    inside: &[(usize, Range<usize>)],
    out: &mut [RawCitation],
) {
    if text.trim().is_empty() || text.trim_start().starts_with("[!") {
        // Empty, or a GitHub-style callout (`> [!NOTE]`), not a quotation.
        return;
    }
    let own: Vec<&(usize, Range<usize>)> = inside
        .iter()
        .filter(|(i, _)| out.get(*i).is_some_and(link_like))
        .collect();
    if let Some((i, r)) = own.last() {
        // Attributed: the link closes the quote (only punctuation may follow it).
        let tail = text.get(r.end..).unwrap_or("");
        if tail
            .chars()
            .all(|c| c.is_whitespace() || c.is_ascii_punctuation())
        {
            let words = text
                .get(..r.start)
                .unwrap_or("")
                .trim_end_matches(|c: char| {
                    c.is_whitespace() || matches!(c, '—' | '–' | '-' | '~' | ':' | '(' | '[')
                });
            if let Some(c) = out.get_mut(*i) {
                set_quote(c, words, true);
            }
        }
        return;
    }
    let Some(p) = prev else {
        return;
    };
    if !src.get(p.end..start).is_some_and(|g| g.trim().is_empty()) {
        return;
    }
    if let Some(&(i, _)) = p
        .cites
        .iter()
        .rev()
        .find(|(i, _)| out.get(*i).is_some_and(link_like))
    {
        if let Some(c) = out.get_mut(i) {
            set_quote(c, text, true);
        }
    }
}

/// Attaches the quoted passages written inside a paragraph to the paragraph's links.
pub(crate) fn attach_inline(p: &Para, out: &mut [RawCitation]) {
    if p.cites.is_empty() || !p.text.contains(['"', '“', '„', '«', '»']) {
        return;
    }
    for q in inline_quotes(&p.text) {
        // Quotation marks inside a link's text are a title, not a quote of the page.
        if p.cites
            .iter()
            .any(|(_, r)| r.start < q.end && q.start < r.end)
        {
            continue;
        }
        let Some(inner) = p.text.get(q.clone()) else {
            continue;
        };
        if inner.split_whitespace().count() < MIN_INLINE_WORDS {
            continue;
        }
        let linked = |&&(i, _): &&(usize, Range<usize>)| out.get(i).is_some_and(link_like);
        let before = p
            .cites
            .iter()
            .filter(linked)
            .rev()
            .find(|(_, r)| r.end <= q.start);
        let after = p
            .cites
            .iter()
            .filter(linked)
            .find(|(_, r)| r.start >= q.end);
        if let Some(&(i, _)) = before.or(after) {
            if let Some(c) = out.get_mut(i) {
                set_quote(c, inner, false);
            }
        }
    }
}

/// Ranges of the text inside pairs of quotation marks.
fn inline_quotes(text: &str) -> Vec<Range<usize>> {
    let mut found = Vec::new();
    let mut prev: Option<char> = None;
    let mut iter = text.char_indices();
    while let Some((i, c)) = iter.next() {
        let close = match c {
            // A straight quote opens only at the start of a word.
            '"' if prev.is_none_or(|p| p.is_whitespace() || matches!(p, '(' | '[' | '—')) => '"',
            '“' => '”',
            '„' => '“',
            '«' => '»',
            '»' => '«',
            _ => {
                prev = Some(c);
                continue;
            }
        };
        let from = i + c.len_utf8();
        let Some(len) = text.get(from..).and_then(|rest| rest.find(close)) else {
            prev = Some(c);
            continue;
        };
        found.push(from..from + len);
        // Continue after the closing mark.
        let resume = from + len + close.len_utf8();
        while iter.clone().next().is_some_and(|(j, _)| j < resume) {
            iter.next();
        }
        prev = Some(close);
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cite(kind: CitationKind) -> RawCitation {
        RawCitation {
            target: "https://a.org/".into(),
            line: 1,
            text: String::new(),
            kind,
            span: 0..0,
            quote: None,
            reference: None,
            written: super::super::Written::Fixed,
            after: None,
        }
    }

    #[test]
    fn inline_quotes_pair_marks() {
        let t = "He said \"one two three four five\" and „eins zwei“ and “x”";
        let q: Vec<&str> = inline_quotes(t).into_iter().map(|r| &t[r]).collect();
        assert_eq!(q, ["one two three four five", "eins zwei", "x"]);
        // A quote mark inside a word opens nothing.
        assert!(inline_quotes("5\" screens \"are").is_empty());
    }

    #[test]
    fn inline_quote_goes_to_the_link_before_else_after() {
        let text = "\"these are five quoted words\" says Bob";
        let p = Para {
            text: format!("{text} X"),
            cites: vec![(0, text.len() + 1..text.len() + 2)],
            end: 0,
        };
        let mut out = vec![cite(CitationKind::Link)];
        attach_inline(&p, &mut out);
        assert_eq!(out[0].quote.as_deref(), Some("these are five quoted words"));
        // Too short: scare quotes.
        let p = Para {
            text: "X calls it \"a pivot\"".into(),
            cites: vec![(0, 0..1)],
            end: 0,
        };
        let mut out = vec![cite(CitationKind::Link)];
        attach_inline(&p, &mut out);
        assert_eq!(out[0].quote, None);
    }

    #[test]
    fn block_quote_after_the_paragraph_or_attributed_inside() {
        let src = "para\n\n> quote";
        let p = Para {
            text: "a b".into(),
            cites: vec![(0, 0..1), (1, 2..3)],
            end: 4,
        };
        let mut out = vec![cite(CitationKind::Link), cite(CitationKind::Link)];
        attach_block(src, Some(&p), 6, "the quoted words", &[], &mut out);
        assert_eq!(out[0].quote, None);
        assert_eq!(out[1].quote.as_deref(), Some("the quoted words"));
        // Not adjacent: something stands between.
        let mut out = vec![cite(CitationKind::Link), cite(CitationKind::Link)];
        attach_block("para\nx\n> q", Some(&p), 7, "q", &[], &mut out);
        assert!(out.iter().all(|c| c.quote.is_none()));
        // Attributed inside: "words — Author".
        let mut out = vec![cite(CitationKind::Link), cite(CitationKind::Link)];
        let text = "Quoted words. — Author";
        let author = text.find("Author").unwrap();
        attach_block(src, Some(&p), 6, text, &[(1, author..text.len())], &mut out);
        assert_eq!(out[1].quote.as_deref(), Some("Quoted words."));
        assert_eq!(out[0].quote, None);
        // A link in the middle of the quote: nobody's quote.
        let mut out = vec![cite(CitationKind::Link), cite(CitationKind::Link)];
        attach_block(src, Some(&p), 6, "As X says, more", &[(1, 3..4)], &mut out);
        assert!(out.iter().all(|c| c.quote.is_none()));
    }
}
