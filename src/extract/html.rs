//! HTML: citations in HTML posts (parsed with scraper) and in HTML fragments inside Markdown
//! (scanned for `href`, `src` and `cite` attributes). `rel="nofollow"` links count: blogs mark
//! outbound citations that way.

use std::sync::OnceLock;

use regex::Regex;
use scraper::{Html, Selector};

use super::{collapse, CitationKind, Lines, RawCitation};

struct Rule {
    selector: &'static str,
    attr: &'static str,
    kind: CitationKind,
}

const RULES: [Rule; 6] = [
    Rule {
        selector: "a[href]",
        attr: "href",
        kind: CitationKind::Link,
    },
    Rule {
        selector: "img[src]",
        attr: "src",
        kind: CitationKind::Image,
    },
    Rule {
        selector: "blockquote[cite]",
        attr: "cite",
        kind: CitationKind::Quote,
    },
    Rule {
        selector: "q[cite]",
        attr: "cite",
        kind: CitationKind::Quote,
    },
    Rule {
        selector: "iframe[src]",
        attr: "src",
        kind: CitationKind::Embed,
    },
    Rule {
        selector: "source[src]",
        attr: "src",
        kind: CitationKind::Image,
    },
];

fn selectors() -> &'static Vec<(Selector, &'static Rule)> {
    static S: OnceLock<Vec<(Selector, &'static Rule)>> = OnceLock::new();
    S.get_or_init(|| {
        RULES
            .iter()
            .filter_map(|r| Selector::parse(r.selector).ok().map(|s| (s, r)))
            .collect()
    })
}

/// Citations of an HTML post, in document order.
pub(crate) fn extract(body: &str, offset: usize, lines: &Lines, out: &mut Vec<RawCitation>) {
    let doc = Html::parse_document(body);
    let mut found: Vec<(usize, RawCitation)> = Vec::new();
    for (sel, rule) in selectors() {
        let mut cursor = 0usize;
        for el in doc.select(sel) {
            let Some(value) = el.value().attr(rule.attr) else {
                continue;
            };
            let target = value.trim();
            if target.is_empty() {
                continue;
            }
            // scraper keeps no positions: find the value in the source after the previous one.
            let pos = locate(body, cursor, rule.attr, target).unwrap_or(cursor);
            cursor = pos.min(body.len());
            let text = match rule.kind {
                CitationKind::Image => el.value().attr("alt").map(collapse).unwrap_or_default(),
                CitationKind::Quote => collapse(&el.text().collect::<String>())
                    .chars()
                    .take(200)
                    .collect(),
                CitationKind::Embed => el.value().attr("title").map(collapse).unwrap_or_default(),
                _ => collapse(&el.text().collect::<String>()),
            };
            found.push((
                pos,
                RawCitation {
                    target: target.to_string(),
                    line: lines.line_of(offset + pos),
                    text,
                    kind: rule.kind,
                },
            ));
        }
    }
    found.sort_by_key(|(p, _)| *p);
    out.extend(found.into_iter().map(|(_, c)| c));
}

/// The byte position of `attr=...value` at or after `from`, trying the value as written and with
/// `&` entity-encoded.
fn locate(body: &str, from: usize, attr: &str, value: &str) -> Option<usize> {
    let hay = body.get(from..)?;
    let encoded = value.replace('&', "&amp;");
    for v in [value, encoded.as_str()] {
        let mut search = 0;
        while let Some(i) = hay[search..].find(v) {
            let at = search + i;
            let before = hay[..at].trim_end_matches(['"', '\'', ' ', '=']);
            if before.to_ascii_lowercase().ends_with(attr) {
                return Some(from + at);
            }
            search = at + v.len().max(1);
        }
    }
    None
}

fn attr_pattern() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r#"(?i)<\s*([a-z][a-z0-9]*)\b[^>]*?\b(href|src|cite)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))"#)
            .expect("constant regex")
    })
}

/// Citations in an HTML fragment of a Markdown post (an HTML block or inline HTML) that starts at
/// `frag_offset` in the file. Link text of inline `<a>` is not known here; the tag's own text is.
pub(crate) fn scan_fragment(
    frag: &str,
    frag_offset: usize,
    lines: &Lines,
    out: &mut Vec<RawCitation>,
) {
    if !frag.contains('=') {
        return;
    }
    for c in attr_pattern().captures_iter(frag) {
        let tag = c
            .get(1)
            .map(|m| m.as_str().to_ascii_lowercase())
            .unwrap_or_default();
        let attr = c
            .get(2)
            .map(|m| m.as_str().to_ascii_lowercase())
            .unwrap_or_default();
        let Some(v) = c.get(3).or(c.get(4)).or(c.get(5)) else {
            continue;
        };
        let kind = match (tag.as_str(), attr.as_str()) {
            ("a", "href") | ("area", "href") => CitationKind::Link,
            ("img", "src") | ("source", "src") | ("video", "src") | ("audio", "src") => {
                CitationKind::Image
            }
            ("blockquote", "cite") | ("q", "cite") => CitationKind::Quote,
            ("iframe", "src") | ("embed", "src") => CitationKind::Embed,
            _ => continue,
        };
        let target = decode_entities(v.as_str().trim());
        if target.is_empty() {
            continue;
        }
        let text = if tag == "a" {
            // The text up to `</a>` in the same fragment, when it is there.
            let rest = &frag[c.get(0).map(|m| m.end()).unwrap_or(0)..];
            rest.find('>')
                .and_then(|gt| {
                    let inner = &rest[gt + 1..];
                    inner
                        .to_ascii_lowercase()
                        .find("</a")
                        .map(|end| strip_tags(&inner[..end]))
                })
                .unwrap_or_default()
        } else {
            String::new()
        };
        out.push(RawCitation {
            target,
            line: lines.line_of(frag_offset + v.start()),
            text,
            kind,
        });
    }
}

fn strip_tags(s: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for ch in s.chars() {
        match ch {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    collapse(&decode_entities(&out))
}

/// The few entities that appear in attribute values.
fn decode_entities(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    s.replace("&amp;", "&")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
}
