//! Markdown: citations found with a CommonMark/GFM parser (pulldown-cmark), never with regexes
//! over the raw text: inline and reference links, autolinks, images, bare URLs in text, links in
//! raw HTML, and Hugo ref/relref shortcodes. Nothing inside code is a citation, with one exception
//! found in real blogs: an indented "code block" made only of HTML tags is HTML that happens to be
//! indented (e.g. inside a definition list), so its links count.

use pulldown_cmark::{CodeBlockKind, Event, LinkType, Options, Parser, Tag, TagEnd};

use super::shortcode::{self, PLACEHOLDER};
use super::{collapse, html, plain, CitationKind, Lines, RawCitation};

struct Open {
    target: String,
    kind: CitationKind,
    start: usize,
    text: String,
}

fn options() -> Options {
    Options::ENABLE_TABLES
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_DEFINITION_LIST
}

/// A Usenet Message-ID (`<3F2A1B.5@news.example.com>`, `<eueytdj2625@news.example.de>`) looks
/// like an email autolink to a CommonMark parser, but it is not an address anyone cites: its
/// local part is machine-made (four or more digits, digits with dots, or `$`/`%`).
fn looks_like_message_id(addr: &str) -> bool {
    let local = addr.split('@').next().unwrap_or("");
    let digits = local.chars().filter(|c| c.is_ascii_digit()).count();
    local.contains(['$', '%']) || digits >= 4 || (local.contains('.') && digits > 0)
}

/// Citations of a Markdown body that starts at byte `offset` of the file.
pub(crate) fn extract(body: &str, offset: usize, lines: &Lines, out: &mut Vec<RawCitation>) {
    let codes = shortcode::find(body);
    let masked;
    let src: &str = if codes.is_empty() {
        body
    } else {
        masked = shortcode::mask(body, &codes);
        &masked
    };
    let first = out.len();
    let mut open: Vec<Open> = Vec::new();
    let mut code_ranges: Vec<std::ops::Range<usize>> = Vec::new();
    let mut code_block: Option<(bool, usize)> = None; // (indented, start)
                                                      // The parser splits running text at would-be emphasis delimiters (`Foo_(bar)` arrives as
                                                      // three events): bare URLs are looked for in whole runs of adjacent text.
    let mut run: Option<std::ops::Range<usize>> = None;
    let mut run_text = String::new();
    for (ev, range) in Parser::new_ext(src, options()).into_offset_iter() {
        let plain_text = matches!(ev, Event::Text(_)) && open.is_empty() && code_block.is_none();
        if !plain_text {
            if let Some(r) = run.take() {
                bare_urls(src, r, &run_text, offset, lines, out);
                run_text.clear();
            }
        }
        match ev {
            Event::Start(Tag::Link {
                link_type,
                dest_url,
                ..
            }) => {
                let (target, kind) = match link_type {
                    LinkType::Email => (format!("mailto:{dest_url}"), CitationKind::Autolink),
                    LinkType::Autolink => (dest_url.to_string(), CitationKind::Autolink),
                    _ => (dest_url.to_string(), CitationKind::Link),
                };
                let target = if link_type == LinkType::Email && looks_like_message_id(&dest_url) {
                    String::new()
                } else {
                    target
                };
                open.push(Open {
                    target,
                    kind,
                    start: range.start,
                    text: String::new(),
                });
            }
            Event::Start(Tag::Image { dest_url, .. }) => {
                open.push(Open {
                    target: dest_url.to_string(),
                    kind: CitationKind::Image,
                    start: range.start,
                    text: String::new(),
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
                        out.push(RawCitation {
                            target: target.to_string(),
                            line: lines.line_of(offset + o.start),
                            text,
                            kind: o.kind,
                        });
                    }
                }
            }
            Event::Text(t) => {
                if let Some(o) = open.last_mut() {
                    o.text.push_str(&t);
                } else if code_block.is_none() {
                    run = Some(match run.take() {
                        Some(r) if r.end == range.start => r.start..range.end,
                        Some(r) => {
                            // Not adjacent (a soft break was skipped): finish the old run.
                            bare_urls(src, r, &run_text, offset, lines, out);
                            run_text.clear();
                            range.clone()
                        }
                        None => range.clone(),
                    });
                    run_text.push_str(&t);
                }
            }
            Event::Code(t) => {
                code_ranges.push(range);
                if let Some(o) = open.last_mut() {
                    o.text.push_str(&t);
                }
            }
            Event::SoftBreak | Event::HardBreak => {
                if let Some(o) = open.last_mut() {
                    o.text.push(' ');
                }
            }
            Event::Start(Tag::CodeBlock(kind)) => {
                code_block = Some((matches!(kind, CodeBlockKind::Indented), range.start));
            }
            Event::End(TagEnd::CodeBlock) => {
                if let Some((indented, start)) = code_block.take() {
                    let block = &src[start..range.end.max(start)];
                    if indented && is_html_only(block) {
                        html::scan_fragment(block, offset + start, lines, out);
                    } else {
                        code_ranges.push(start..range.end);
                    }
                }
            }
            Event::Html(_) | Event::InlineHtml(_) => {
                if let Some(frag) = src.get(range.clone()) {
                    html::scan_fragment(frag, offset + range.start, lines, out);
                }
            }
            _ => {}
        }
    }
    if let Some(r) = run.take() {
        bare_urls(src, r, &run_text, offset, lines, out);
    }
    if codes.is_empty() {
        return;
    }
    // Placeholders back to the shortcodes they stand for.
    let mut used = vec![false; codes.len()];
    for c in out[first..].iter_mut() {
        if let Some(n) = c
            .target
            .strip_prefix(PLACEHOLDER)
            .and_then(|n| n.trim().parse::<usize>().ok())
        {
            if let Some(code) = codes.get(n) {
                used[n] = true;
                c.target = code.target.clone();
                c.kind = CitationKind::PostRef;
            }
        }
    }
    // Shortcodes outside links (and outside code) cite a post too.
    for (n, code) in codes.iter().enumerate() {
        if used[n] || code_ranges.iter().any(|r| r.contains(&code.start)) {
            continue;
        }
        out.push(RawCitation {
            target: code.target.clone(),
            line: lines.line_of(offset + code.start),
            text: String::new(),
            kind: CitationKind::PostRef,
        });
    }
    out[first..].sort_by_key(|c| c.line);
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

/// Bare URLs in a text run. The run's source span is used for positions when it matches the text
/// (it does unless escapes or entities were decoded).
fn bare_urls(
    src: &str,
    range: std::ops::Range<usize>,
    text: &str,
    offset: usize,
    lines: &Lines,
    out: &mut Vec<RawCitation>,
) {
    for (s, e) in plain::find_urls(text) {
        let url = &text[s..e];
        let pos = match src.get(range.clone()) {
            Some(span) if span == text => range.start + s,
            Some(span) => range.start + span.find(url).unwrap_or(0),
            None => range.start,
        };
        out.push(RawCitation {
            target: url.to_string(),
            line: lines.line_of(offset + pos),
            text: url.to_string(),
            kind: CitationKind::Bare,
        });
    }
}
