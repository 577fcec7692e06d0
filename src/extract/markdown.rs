//! Markdown: citations found with a CommonMark/GFM parser (pulldown-cmark), never with regexes
//! over the raw text: inline and reference links, autolinks, images, bare URLs in text, and links
//! in raw HTML (read by the same rule as HTML posts). Nothing inside code is a citation, and math
//! (`$…$`, `$$…$$`) is treated like code; one exception found in real blogs: an indented "code
//! block" made only of HTML tags is HTML that happens to be indented (e.g. inside a definition
//! list), so its links count.
//!
//! The parser drops the backslash of an escape (`Link\_rot`) and splits text there, and decodes
//! entities: bare URLs are looked for in runs of text joined across escapes, with a map from the
//! run's text back to the source, so a URL is found whole and its span is exact.

use std::ops::Range;

use pulldown_cmark::{CodeBlockKind, Event, LinkType, Options, Parser, Tag, TagEnd};

use super::html;
use super::plain::{self, Trim};
use super::quote::{self, Para};
use super::{collapse, decode_entities, CitationKind, Lines, RawCitation, Written};

struct Open {
    target: String,
    kind: CitationKind,
    start: usize,
    /// Where the whole link or image ends in the source (after its `)` or `]`).
    end: usize,
    span: Range<usize>,
    written: Written,
    text: String,
    /// Where the link's text starts in the paragraph and the block quote being read.
    para_at: usize,
    quote_at: usize,
}

/// A Markdown block quote being read.
struct BlockQuote {
    start: usize,
    depth: usize,
    text: String,
    cites: Vec<(usize, Range<usize>)>,
    prev: Option<Para>,
}

/// A run of adjacent text: its decoded text and, per piece, where the piece starts in the
/// text and the source range it came from.
#[derive(Default)]
struct Run {
    text: String,
    pieces: Vec<(usize, Range<usize>)>,
}

impl Run {
    fn end(&self) -> Option<usize> {
        self.pieces.last().map(|(_, r)| r.end)
    }

    /// The source offset of text offset `at` (an end offset when `end`): exact inside a piece
    /// whose text is its source, else the piece's edge.
    fn source(&self, src: &str, at: usize, end: bool) -> usize {
        let i = if end {
            self.pieces.partition_point(|(t, _)| *t < at)
        } else {
            self.pieces.partition_point(|(t, _)| *t <= at)
        }
        .saturating_sub(1);
        let Some((t, r)) = self.pieces.get(i) else {
            return 0;
        };
        let next = self
            .pieces
            .get(i + 1)
            .map(|p| p.0)
            .unwrap_or(self.text.len());
        let same = src.get(r.clone()) == self.text.get(*t..next);
        match (same, end) {
            (true, _) => r.start + (at - t).min(r.len()),
            (false, true) => r.end,
            (false, false) => r.start,
        }
    }
}

fn options() -> Options {
    Options::ENABLE_TABLES
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_DEFINITION_LIST
        | Options::ENABLE_MATH
}

/// A Usenet Message-ID (`<3F2A1B.5@news.example.com>`, `<eueytdj2625@news.example.de>`) looks
/// like an email autolink to a CommonMark parser, but it is not an address anyone cites: its
/// local part is machine-made (four or more digits, digits with dots, or `$`/`%`).
fn looks_like_message_id(addr: &str) -> bool {
    let local = addr.split('@').next().unwrap_or("");
    let digits = local.chars().filter(|c| c.is_ascii_digit()).count();
    local.contains(['$', '%']) || digits >= 4 || (local.contains('.') && digits > 0)
}

/// Citations of a Markdown body (`src`, already masked) that starts at byte `offset` of the
/// file. Returns the body ranges that are code (and math), where template constructs do not
/// cite either.
pub(crate) fn extract(
    src: &str,
    offset: usize,
    lines: &Lines,
    out: &mut Vec<RawCitation>,
) -> Vec<Range<usize>> {
    let mut open: Vec<Open> = Vec::new();
    let mut code_ranges: Vec<Range<usize>> = Vec::new();
    let mut code_block: Option<(bool, usize)> = None; // (indented, start)
    let mut run = Run::default();
    let mut html = html::State::new(false);
    let mut html_block: Option<Range<usize>> = None;
    let mut para: Option<Para> = None;
    let mut bq: Option<BlockQuote> = None;
    let mut events = Parser::new_ext(src, options()).into_offset_iter();
    while let Some((ev, range)) = events.next() {
        // `$` inside a URL (`https://x.org/a$b … $`) is not math: read such a span as the text
        // it is, backslash escapes applied, piece by piece as the parser gives text.
        let (ev, math_pieces) = match ev {
            Event::InlineMath(_) | Event::DisplayMath(_) if dollar_in_url(src, &range) => {
                let pieces = unescaped_pieces(src, range.clone());
                let all: String = pieces.iter().map(|(t, _)| t.as_str()).collect();
                (Event::Text(all.into()), Some(pieces))
            }
            ev => (ev, None),
        };
        let plain_text = matches!(ev, Event::Text(_)) && open.is_empty() && code_block.is_none();
        if !plain_text && !run.pieces.is_empty() {
            bare_urls(
                src,
                &std::mem::take(&mut run),
                offset,
                lines,
                out,
                &mut para,
                &mut bq,
            );
        }
        if !matches!(ev, Event::Html(_)) {
            if let Some(r) = html_block.take() {
                html.scan(src, r, offset, lines, out);
            }
        }
        match ev {
            Event::Start(Tag::Link {
                link_type,
                dest_url,
                id,
                ..
            }) => {
                let (target, kind) = match link_type {
                    LinkType::Email if looks_like_message_id(&dest_url) => {
                        (String::new(), CitationKind::Autolink)
                    }
                    LinkType::Email => (format!("mailto:{dest_url}"), CitationKind::Autolink),
                    LinkType::Autolink => (dest_url.to_string(), CitationKind::Autolink),
                    _ => (dest_url.to_string(), CitationKind::Link),
                };
                let (span, written) = match link_type {
                    LinkType::Autolink | LinkType::Email => (
                        range.start + 1..range.end.saturating_sub(1).max(range.start + 1),
                        Written::Autolink,
                    ),
                    LinkType::Reference | LinkType::Collapsed | LinkType::Shortcut => {
                        let def = events
                            .reference_definitions()
                            .get(&id)
                            .and_then(|d| definition_dest(src, d.span.clone(), &dest_url));
                        destination(src, def, &range, &dest_url)
                    }
                    _ => destination(
                        src,
                        inline_dest(src, range.clone(), &dest_url),
                        &range,
                        &dest_url,
                    ),
                };
                open.push(Open {
                    target,
                    kind,
                    start: range.start,
                    end: range.end,
                    span,
                    written,
                    text: String::new(),
                    para_at: para.as_ref().map_or(0, |p| p.text.len()),
                    quote_at: bq.as_ref().map_or(0, |b| b.text.len()),
                });
            }
            Event::Start(Tag::Image {
                link_type,
                dest_url,
                id,
                ..
            }) => {
                let found = match link_type {
                    LinkType::Reference | LinkType::Collapsed | LinkType::Shortcut => events
                        .reference_definitions()
                        .get(&id)
                        .and_then(|d| definition_dest(src, d.span.clone(), &dest_url)),
                    _ => inline_dest(src, range.clone(), &dest_url),
                };
                let (span, written) = destination(src, found, &range, &dest_url);
                open.push(Open {
                    target: dest_url.to_string(),
                    kind: CitationKind::Image,
                    start: range.start,
                    end: range.end,
                    span,
                    written,
                    text: String::new(),
                    para_at: para.as_ref().map_or(0, |p| p.text.len()),
                    quote_at: bq.as_ref().map_or(0, |b| b.text.len()),
                });
            }
            Event::End(TagEnd::Link) | Event::End(TagEnd::Image) => {
                if let Some(o) = open.pop() {
                    let text = collapse(&o.text);
                    if let Some(parent) = open.last_mut() {
                        // An image inside a link: its alt text is part of the link's text.
                        parent.text.push_str(&text);
                    }
                    let target = o.target.trim();
                    if !target.is_empty() {
                        let index = out.len();
                        // An image inside a link: a note after it would be inside the link.
                        let after = open.is_empty().then_some(offset + o.end);
                        out.push(RawCitation {
                            target: target.to_string(),
                            line: lines.line_of(offset + o.start),
                            text,
                            kind: o.kind,
                            span: offset + o.span.start..offset + o.span.end,
                            quote: None,
                            reference: None,
                            written: o.written,
                            after,
                        });
                        if let Some(p) = &mut para {
                            p.cites.push((index, o.para_at..p.text.len()));
                        }
                        if let Some(b) = &mut bq {
                            b.cites.push((index, o.quote_at..b.text.len()));
                        }
                    }
                }
            }
            Event::Text(t) => {
                if code_block.is_some() {
                    continue;
                }
                if plain_text {
                    let mut add = |piece: &str, r: Range<usize>| {
                        let joins = run.end().is_some_and(|end| {
                            end == r.start || src.get(end..r.start) == Some("\\")
                        });
                        if !joins && !run.pieces.is_empty() {
                            // Not adjacent (a line break was skipped): finish the old run.
                            let done = std::mem::take(&mut run);
                            bare_urls(src, &done, offset, lines, out, &mut para, &mut bq);
                        }
                        run.pieces.push((run.text.len(), r));
                        run.text.push_str(piece);
                    };
                    match &math_pieces {
                        Some(pieces) => {
                            for (piece, r) in pieces {
                                add(piece, r.clone());
                            }
                        }
                        None => add(&t, range.clone()),
                    }
                }
                push_text(&t, &mut open, &mut para, &mut bq, &mut html);
            }
            Event::Code(t) | Event::InlineMath(t) | Event::DisplayMath(t) => {
                code_ranges.push(range);
                push_text(&t, &mut open, &mut para, &mut bq, &mut html);
            }
            Event::SoftBreak | Event::HardBreak => {
                push_text(" ", &mut open, &mut para, &mut bq, &mut html);
            }
            Event::Start(Tag::CodeBlock(kind)) => {
                code_block = Some((matches!(kind, CodeBlockKind::Indented), range.start));
            }
            Event::End(TagEnd::CodeBlock) => {
                if let Some((indented, start)) = code_block.take() {
                    let end = range.end.max(start);
                    if indented && src.get(start..end).is_some_and(is_html_only) {
                        html.scan(src, start..end, offset, lines, out);
                    } else {
                        code_ranges.push(start..end);
                    }
                }
            }
            Event::Html(_) => {
                // The lines of one HTML block arrive one by one: read them as one fragment, so
                // a tag written over several lines is whole.
                html_block = Some(match html_block.take() {
                    Some(r)
                        if src
                            .get(r.end..range.start)
                            .is_some_and(|g| g.trim().is_empty()) =>
                    {
                        r.start..range.end
                    }
                    Some(r) => {
                        html.scan(src, r, offset, lines, out);
                        range
                    }
                    None => range,
                });
            }
            Event::InlineHtml(_) => {
                let made = html.scan(src, range, offset, lines, out);
                for index in made {
                    if let Some(p) = &mut para {
                        p.cites.push((index, p.text.len()..p.text.len()));
                    }
                    if let Some(b) = &mut bq {
                        b.cites.push((index, b.text.len()..b.text.len()));
                    }
                }
            }
            Event::Start(Tag::Paragraph) => para = Some(Para::default()),
            Event::End(TagEnd::Paragraph) => {
                if let Some(mut p) = para.take() {
                    p.end = range.end;
                    quote::attach_inline(&p, out);
                    html.last_para = Some(p);
                }
                if let Some(b) = &mut bq {
                    b.text.push(' ');
                }
            }
            Event::Start(Tag::BlockQuote(_)) => match &mut bq {
                Some(b) => b.depth += 1,
                None => {
                    bq = Some(BlockQuote {
                        start: range.start,
                        depth: 1,
                        text: String::new(),
                        cites: Vec::new(),
                        prev: html.last_para.take(),
                    })
                }
            },
            Event::End(TagEnd::BlockQuote(_)) => {
                if let Some(b) = &mut bq {
                    b.depth -= 1;
                    if b.depth == 0 {
                        if let Some(b) = bq.take() {
                            quote::attach_block(
                                src,
                                b.prev.as_ref(),
                                b.start,
                                &b.text,
                                &b.cites,
                                out,
                            );
                        }
                        html.last_para = None;
                    }
                }
            }
            _ => {}
        }
    }
    if !run.pieces.is_empty() {
        bare_urls(src, &run, offset, lines, out, &mut para, &mut bq);
    }
    if let Some(r) = html_block.take() {
        html.scan(src, r, offset, lines, out);
    }
    html.finish(src, out);
    code_ranges
}

/// Text that is rendered: link texts, the paragraph, the block quote and open HTML elements
/// take it.
fn push_text(
    t: &str,
    open: &mut [Open],
    para: &mut Option<Para>,
    bq: &mut Option<BlockQuote>,
    html: &mut html::State,
) {
    if let Some(o) = open.last_mut() {
        o.text.push_str(t);
    }
    if let Some(p) = para {
        p.text.push_str(t);
    }
    if let Some(b) = bq {
        b.text.push_str(t);
    }
    html.text(t);
}

/// The text of `src[range]` with backslash escapes applied, in pieces whose text is their
/// source (the escaping backslashes fall between pieces), as the parser splits text.
fn unescaped_pieces(src: &str, range: Range<usize>) -> Vec<(String, Range<usize>)> {
    let Some(s) = src.get(range.clone()) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut start = 0;
    let mut chars = s.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c == '\\' && chars.peek().is_some_and(|(_, n)| n.is_ascii_punctuation()) {
            if i > start {
                out.push((
                    s[start..i].to_string(),
                    range.start + start..range.start + i,
                ));
            }
            start = i + 1;
            chars.next();
        }
    }
    if s.len() > start {
        out.push((s[start..].to_string(), range.start + start..range.end));
    }
    out
}

/// Whether a math span is really a `$` in a URL: its opening `$` stands inside a word or a URL,
/// where TeX never starts (it is set off from the prose).
fn dollar_in_url(src: &str, range: &Range<usize>) -> bool {
    let before = src.get(..range.start).and_then(|s| s.chars().last());
    before.is_some_and(|c| c.is_alphanumeric() || "/=&?%.-_~+#".contains(c))
}

/// An indented block whose every non-blank line is an HTML tag.
fn is_html_only(block: &str) -> bool {
    let mut any = false;
    for l in block.lines() {
        let t = l.trim();
        if t.is_empty() {
            continue;
        }
        if !t.starts_with('<') {
            return false;
        }
        any = true;
    }
    any && (block.contains("href") || block.contains("src"))
}

/// Bare URLs in a run of text, with exact spans through the run's map.
fn bare_urls(
    src: &str,
    run: &Run,
    offset: usize,
    lines: &Lines,
    out: &mut Vec<RawCitation>,
    para: &mut Option<Para>,
    bq: &mut Option<BlockQuote>,
) {
    // The run's text is already in the paragraph: find where it started there.
    let para_base = para
        .as_ref()
        .map(|p| p.text.len().saturating_sub(run.text.len()));
    let bq_base = bq
        .as_ref()
        .map(|b| b.text.len().saturating_sub(run.text.len()));
    for (s, e) in plain::find_urls(&run.text, Trim::Markdown) {
        let url = &run.text[s..e];
        let start = run.source(src, s, false);
        let end = run.source(src, e, true).max(start);
        let index = out.len();
        out.push(RawCitation {
            target: url.to_string(),
            line: lines.line_of(offset + start),
            text: url.to_string(),
            kind: CitationKind::Bare,
            span: offset + start..offset + end,
            quote: None,
            reference: None,
            written: Written::Bare { markdown: true },
            after: Some(offset + end),
        });
        if let (Some(p), Some(base)) = (para.as_mut(), para_base) {
            p.cites.push((index, base + s..base + e));
        }
        if let (Some(b), Some(base)) = (bq.as_mut(), bq_base) {
            b.cites.push((index, base + s..base + e));
        }
    }
}

/// The span of a link's destination and how it is written: where it was found, when it reads as
/// `dest` (else the whole link, which is never rewritten).
fn destination(
    src: &str,
    found: Option<Range<usize>>,
    link: &Range<usize>,
    dest: &str,
) -> (Range<usize>, Written) {
    match found {
        Some(r) if src.get(r.clone()).is_some_and(|raw| reads_as(raw, dest)) => {
            let b = src.as_bytes();
            let angle =
                r.start > 0 && b.get(r.start - 1) == Some(&b'<') && b.get(r.end) == Some(&b'>');
            (r, Written::Destination { angle })
        }
        Some(r) => (r, Written::Fixed),
        None => (link.clone(), Written::Fixed),
    }
}

/// Whether a destination as written reads as `dest` once escapes and entities are decoded.
fn reads_as(raw: &str, dest: &str) -> bool {
    if raw.contains(['\\', '&']) {
        unescape(raw) == dest
    } else {
        raw == dest
    }
}

/// Removes backslash escapes and decodes entities, as the parser does for destinations.
fn unescape(raw: &str) -> String {
    let mut s = String::with_capacity(raw.len());
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(&n) = chars.peek() {
                if n.is_ascii_punctuation() {
                    s.push(n);
                    chars.next();
                    continue;
                }
            }
        }
        s.push(c);
    }
    decode_entities(&s).into_owned()
}

/// Parses a link destination at `at` (after optional white space, up to `limit`): `<...>` or a
/// run without white space and with balanced parentheses. Its range, without angle brackets.
fn parse_dest(src: &str, at: usize, limit: usize) -> Option<Range<usize>> {
    let s = src.get(at..limit)?;
    let lead = s.len() - s.trim_start().len();
    let s = &s[lead..];
    let at = at + lead;
    if let Some(inner) = s.strip_prefix('<') {
        let mut escaped = false;
        for (i, c) in inner.char_indices() {
            match c {
                '>' if !escaped => return Some(at + 1..at + 1 + i),
                '\n' | '<' if !escaped => return None,
                '\\' => {
                    escaped = !escaped;
                    continue;
                }
                _ => {}
            }
            escaped = false;
        }
        return None;
    }
    let mut depth = 0usize;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' => escaped = true,
            '(' => depth += 1,
            ')' if depth == 0 => return Some(at..at + i),
            ')' => depth -= 1,
            c if c.is_ascii_whitespace() || c.is_ascii_control() => return Some(at..at + i),
            _ => {}
        }
    }
    Some(at..at + s.len())
}

/// The destination of an inline link or image whose source is `src[range]`: after the last
/// `](` whose destination reads as `dest` (the link text may itself hold `](`).
fn inline_dest(src: &str, range: Range<usize>, dest: &str) -> Option<Range<usize>> {
    let link = src.get(range.clone())?;
    let mut fallback = None;
    let mut found = None;
    for (i, _) in link.match_indices("](") {
        let Some(r) = parse_dest(src, range.start + i + 2, range.end) else {
            continue;
        };
        if src.get(r.clone()).is_some_and(|raw| reads_as(raw, dest)) {
            found = Some(r);
        } else {
            fallback = Some(r);
        }
    }
    found.or(fallback)
}

/// The destination in a reference definition `[label]: dest "title"` at `src[span]`.
fn definition_dest(src: &str, span: Range<usize>, dest: &str) -> Option<Range<usize>> {
    let def = src.get(span.clone())?;
    let mut escaped = false;
    let mut colon = None;
    for (i, c) in def.char_indices() {
        match c {
            '\\' if !escaped => {
                escaped = true;
                continue;
            }
            ']' if !escaped && def[i + 1..].starts_with(':') => {
                colon = Some(i + 2);
                break;
            }
            _ => {}
        }
        escaped = false;
    }
    let r = parse_dest(src, span.start + colon?, span.end)?;
    src.get(r.clone())
        .is_some_and(|raw| reads_as(raw, dest))
        .then_some(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destinations_as_written() {
        let s = "[a](<x y>) [b](u\\_v \"t\") [c ](d)](e(f)g)";
        let r = inline_dest(s, 0..10, "x y").unwrap();
        assert_eq!(&s[r], "x y");
        let r = inline_dest(s, 11..25, "u_v").unwrap();
        assert_eq!(&s[r], "u\\_v");
        let r = inline_dest(s, 26..s.len(), "e(f)g").unwrap();
        assert_eq!(&s[r], "e(f)g");
        let d = "[Label \\] x]:\n  <https://a.org/p> 'title'";
        let r = definition_dest(d, 0..d.len(), "https://a.org/p").unwrap();
        assert_eq!(&d[r], "https://a.org/p");
    }
}
