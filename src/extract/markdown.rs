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

use pulldown_cmark::{CodeBlockKind, Event, LinkType, Options, Parser, RefDefs, Tag, TagEnd};

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
    let mut walk = Walk {
        src,
        offset,
        lines,
        out,
        open: Vec::new(),
        code_ranges: Vec::new(),
        code_block: None,
        run: Run::default(),
        html: html::State::new(false),
        html_block: None,
        para: None,
        bq: None,
    };
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
        walk.event(
            ev,
            range,
            math_pieces.as_deref(),
            events.reference_definitions(),
        );
    }
    walk.finish()
}

/// One walk over a body's events: what is open (links, a code block, an HTML block, the
/// paragraph, the block quote, a run of text) and where citations go.
struct Walk<'s, 'o> {
    src: &'s str,
    offset: usize,
    lines: &'s Lines<'s>,
    out: &'o mut Vec<RawCitation>,
    open: Vec<Open>,
    code_ranges: Vec<Range<usize>>,
    /// (indented, start)
    code_block: Option<(bool, usize)>,
    run: Run,
    html: html::State,
    html_block: Option<Range<usize>>,
    para: Option<Para>,
    bq: Option<BlockQuote>,
}

impl Walk<'_, '_> {
    /// One event of the parser at `range` of the body; `math_pieces` when a math span is read
    /// as text (see [`extract`]).
    fn event(
        &mut self,
        ev: Event<'_>,
        range: Range<usize>,
        math_pieces: Option<&[(String, Range<usize>)]>,
        defs: &RefDefs<'_>,
    ) {
        let plain_text =
            matches!(ev, Event::Text(_)) && self.open.is_empty() && self.code_block.is_none();
        if !plain_text && !self.run.pieces.is_empty() {
            self.flush_run();
        }
        if !matches!(ev, Event::Html(_)) {
            if let Some(r) = self.html_block.take() {
                self.scan_html(r);
            }
        }
        match ev {
            Event::Start(Tag::Link {
                link_type,
                dest_url,
                id,
                ..
            }) => self.link_start(link_type, &dest_url, &id, range, defs),
            Event::Start(Tag::Image {
                link_type,
                dest_url,
                id,
                ..
            }) => self.image_start(link_type, &dest_url, &id, range, defs),
            Event::End(TagEnd::Link) | Event::End(TagEnd::Image) => self.link_end(),
            // Text inside a code block is code: nothing of it is read.
            Event::Text(_) if self.code_block.is_some() => {}
            Event::Text(t) => {
                if plain_text {
                    match math_pieces {
                        Some(pieces) => {
                            for (piece, r) in pieces {
                                self.add_to_run(piece, r.clone());
                            }
                        }
                        None => self.add_to_run(&t, range),
                    }
                }
                self.push_text(&t);
            }
            Event::Code(t) | Event::InlineMath(t) | Event::DisplayMath(t) => {
                self.code_ranges.push(range);
                self.push_text(&t);
            }
            Event::SoftBreak | Event::HardBreak => self.push_text(" "),
            Event::Start(Tag::CodeBlock(kind)) => {
                self.code_block = Some((matches!(kind, CodeBlockKind::Indented), range.start));
            }
            Event::End(TagEnd::CodeBlock) => self.code_block_end(range),
            Event::Html(_) => self.html_line(range),
            Event::InlineHtml(_) => self.inline_html(range),
            Event::Start(Tag::Paragraph) => self.para = Some(Para::default()),
            Event::End(TagEnd::Paragraph) => self.paragraph_end(range),
            Event::Start(Tag::BlockQuote(_)) => self.block_quote_start(range),
            Event::End(TagEnd::BlockQuote(_)) => self.block_quote_end(),
            _ => {}
        }
    }

    /// What is still open at the end of the body; the code ranges.
    fn finish(mut self) -> Vec<Range<usize>> {
        if !self.run.pieces.is_empty() {
            self.flush_run();
        }
        if let Some(r) = self.html_block.take() {
            self.scan_html(r);
        }
        self.html.finish(self.src, self.out);
        self.code_ranges
    }

    /// Citations of the HTML at `r`; the indexes in `out` of those it made.
    fn scan_html(&mut self, r: Range<usize>) -> Range<usize> {
        self.html
            .scan(self.src, r, self.offset, self.lines, self.out)
    }

    /// Bare URLs in the run of text read so far, which ends here.
    fn flush_run(&mut self) {
        let run = std::mem::take(&mut self.run);
        bare_urls(
            self.src,
            &run,
            self.offset,
            self.lines,
            self.out,
            &mut self.para,
            &mut self.bq,
        );
    }

    /// A piece of plain text: it joins the run when adjacent to it (or across a backslash).
    fn add_to_run(&mut self, piece: &str, r: Range<usize>) {
        let joins = self
            .run
            .end()
            .is_some_and(|end| end == r.start || self.src.get(end..r.start) == Some("\\"));
        if !joins && !self.run.pieces.is_empty() {
            // Not adjacent (a line break was skipped): finish the old run.
            self.flush_run();
        }
        self.run.pieces.push((self.run.text.len(), r));
        self.run.text.push_str(piece);
    }

    /// Text that is rendered: link texts, the paragraph, the block quote and open HTML elements
    /// take it.
    fn push_text(&mut self, t: &str) {
        if let Some(o) = self.open.last_mut() {
            o.text.push_str(t);
        }
        if let Some(p) = &mut self.para {
            p.text.push_str(t);
        }
        if let Some(b) = &mut self.bq {
            b.text.push_str(t);
        }
        self.html.text(t);
    }

    /// A link opens: its target, and the span of its destination as written.
    fn link_start(
        &mut self,
        link_type: LinkType,
        dest_url: &str,
        id: &str,
        range: Range<usize>,
        defs: &RefDefs<'_>,
    ) {
        let (target, kind) = match link_type {
            LinkType::Email if looks_like_message_id(dest_url) => {
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
            _ => dest_written(self.src, link_type, dest_url, id, &range, defs),
        };
        self.open_link(target, kind, range, span, written);
    }

    /// An image opens: its source, and the span of its destination as written.
    fn image_start(
        &mut self,
        link_type: LinkType,
        dest_url: &str,
        id: &str,
        range: Range<usize>,
        defs: &RefDefs<'_>,
    ) {
        let (span, written) = dest_written(self.src, link_type, dest_url, id, &range, defs);
        self.open_link(
            dest_url.to_string(),
            CitationKind::Image,
            range,
            span,
            written,
        );
    }

    fn open_link(
        &mut self,
        target: String,
        kind: CitationKind,
        range: Range<usize>,
        span: Range<usize>,
        written: Written,
    ) {
        self.open.push(Open {
            target,
            kind,
            start: range.start,
            end: range.end,
            span,
            written,
            text: String::new(),
            para_at: self.para.as_ref().map_or(0, |p| p.text.len()),
            quote_at: self.bq.as_ref().map_or(0, |b| b.text.len()),
        });
    }

    /// A link or image closes: it is a citation when it has a target.
    fn link_end(&mut self) {
        let Some(o) = self.open.pop() else {
            return;
        };
        let text = collapse(&o.text);
        if let Some(parent) = self.open.last_mut() {
            // An image inside a link: its alt text is part of the link's text.
            parent.text.push_str(&text);
        }
        let target = o.target.trim();
        if target.is_empty() {
            return;
        }
        let index = self.out.len();
        // An image inside a link: a note after it would be inside the link.
        let after = self.open.is_empty().then_some(self.offset + o.end);
        self.out.push(RawCitation {
            target: target.to_string(),
            line: self.lines.line_of(self.offset + o.start),
            text,
            kind: o.kind,
            span: self.offset + o.span.start..self.offset + o.span.end,
            quote: None,
            reference: None,
            written: o.written,
            after,
        });
        if let Some(p) = &mut self.para {
            p.cites.push((index, o.para_at..p.text.len()));
        }
        if let Some(b) = &mut self.bq {
            b.cites.push((index, o.quote_at..b.text.len()));
        }
    }

    /// A fenced or indented code block ends: code, unless it is indented HTML.
    fn code_block_end(&mut self, range: Range<usize>) {
        if let Some((indented, start)) = self.code_block.take() {
            let end = range.end.max(start);
            if indented && self.src.get(start..end).is_some_and(is_html_only) {
                self.scan_html(start..end);
            } else {
                self.code_ranges.push(start..end);
            }
        }
    }

    /// A line of an HTML block. The lines of one block arrive one by one: they are read as one
    /// fragment, so a tag written over several lines is whole.
    fn html_line(&mut self, range: Range<usize>) {
        let block = match self.html_block.take() {
            Some(r)
                if self
                    .src
                    .get(r.end..range.start)
                    .is_some_and(|g| g.trim().is_empty()) =>
            {
                r.start..range.end
            }
            Some(r) => {
                self.scan_html(r);
                range
            }
            None => range,
        };
        self.html_block = Some(block);
    }

    /// Inline HTML: its citations belong to the paragraph and block quote being read.
    fn inline_html(&mut self, range: Range<usize>) {
        let made = self.scan_html(range);
        for index in made {
            if let Some(p) = &mut self.para {
                p.cites.push((index, p.text.len()..p.text.len()));
            }
            if let Some(b) = &mut self.bq {
                b.cites.push((index, b.text.len()..b.text.len()));
            }
        }
    }

    /// A paragraph ends: quotes inside it are attached to its citations.
    fn paragraph_end(&mut self, range: Range<usize>) {
        if let Some(mut p) = self.para.take() {
            p.end = range.end;
            quote::attach_inline(&p, self.out);
            self.html.last_para = Some(p);
        }
        if let Some(b) = &mut self.bq {
            b.text.push(' ');
        }
    }

    fn block_quote_start(&mut self, range: Range<usize>) {
        match &mut self.bq {
            Some(b) => b.depth += 1,
            None => {
                self.bq = Some(BlockQuote {
                    start: range.start,
                    depth: 1,
                    text: String::new(),
                    cites: Vec::new(),
                    prev: self.html.last_para.take(),
                })
            }
        }
    }

    /// A block quote ends: the outermost one quotes the citations in or before it.
    fn block_quote_end(&mut self) {
        let Some(b) = &mut self.bq else {
            return;
        };
        b.depth -= 1;
        if b.depth == 0 {
            if let Some(b) = self.bq.take() {
                quote::attach_block(
                    self.src,
                    b.prev.as_ref(),
                    b.start,
                    &b.text,
                    &b.cites,
                    self.out,
                );
            }
            self.html.last_para = None;
        }
    }
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
/// Where a link's or an image's destination is written in the source: in its reference
/// definition for a reference link, else inside the link itself.
fn dest_written(
    src: &str,
    link_type: LinkType,
    dest_url: &str,
    id: &str,
    range: &Range<usize>,
    defs: &RefDefs<'_>,
) -> (Range<usize>, Written) {
    let found = match link_type {
        LinkType::Reference | LinkType::Collapsed | LinkType::Shortcut => defs
            .get(id)
            .and_then(|d| definition_dest(src, d.span.clone(), dest_url)),
        _ => inline_dest(src, range.clone(), dest_url),
    };
    destination(src, found, range, dest_url)
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
