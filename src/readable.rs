//! Readable text of a fetched page: the main text a reader sees (title kept, navigation, scripts,
//! banners and footers dropped), decoded by its declared charset. What drift is measured on.
//!
//! Pure: bytes in, text out. Bounded: one parse, no quadratic passes.

use scraper::{ElementRef, Html, Node, Selector};

/// The readable content of a body.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Page {
    pub title: Option<String>,
    /// Main text, whitespace collapsed, blocks separated by `\n`.
    pub text: String,
    pub is_html: bool,
    /// The encoding the body was decoded with.
    pub charset: &'static str,
}

/// Elements whose text is never the content.
const DROP_TAGS: &[&str] = &[
    "script", "style", "noscript", "template", "svg", "nav", "header", "footer", "aside", "form",
    "iframe", "button", "select", "head",
];

/// id/class words of page furniture.
const DROP_MARKERS: &[&str] = &[
    "cookie",
    "consent",
    "gdpr",
    "banner",
    "newsletter",
    "subscribe",
    "share",
    "social",
    "related",
    "sidebar",
    "advert",
    "promo",
    "breadcrumb",
    "menu",
];

/// Block elements: their text is a paragraph of its own.
const BLOCK_TAGS: &[&str] = &[
    "p",
    "div",
    "li",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "blockquote",
    "pre",
    "tr",
    "td",
    "th",
    "dd",
    "dt",
    "section",
    "article",
    "main",
    "br",
    "table",
    "ul",
    "ol",
    "figure",
    "figcaption",
];

/// Decodes a body by the charset in Content-Type, then `<meta>`, then a BOM, then UTF-8 when
/// valid, else windows-1252 (what browsers assume for undeclared legacy pages).
pub fn decode(body: &[u8], content_type: Option<&str>) -> (String, &'static encoding_rs::Encoding) {
    if let Some((enc, len)) = encoding_rs::Encoding::for_bom(body) {
        let (s, _) = enc.decode_without_bom_handling(&body[len..]);
        return (s.into_owned(), enc);
    }
    let declared = content_type
        .and_then(charset_param)
        .or_else(|| meta_charset(&body[..body.len().min(2048)]))
        .and_then(|l| encoding_rs::Encoding::for_label(l.as_bytes()));
    let enc = match declared {
        Some(e) => e,
        None if std::str::from_utf8(body).is_ok() => encoding_rs::UTF_8,
        None => encoding_rs::WINDOWS_1252,
    };
    let (s, _, _) = enc.decode(body);
    (s.into_owned(), enc)
}

/// The most of a body searched for a `<title>` by [`title_of`].
const TITLE_SCAN: usize = 64 * 1024;

/// The page title by a cheap scan of the body's start (no parse): decoded by the page's charset
/// first, then searched and sliced in that one decoded text, so no byte of any page can cut a
/// character in two.
pub fn title_of(body: &[u8], content_type: Option<&str>) -> Option<String> {
    let (text, _) = decode(&body[..body.len().min(TITLE_SCAN)], content_type);
    let start = find_ascii_ci(&text, "<title", 0)?;
    let open_end = start + text[start..].find('>')? + 1;
    let close = find_ascii_ci(&text, "</title", open_end)?;
    let title = collapse(text.get(open_end..close)?);
    (!title.is_empty()).then_some(title)
}

/// The byte offset of `needle` (ASCII) in `hay` at or after `from`, ignoring ASCII case. Offsets
/// are into `hay` itself, so slicing `hay` with them is safe: an ASCII match starts and ends on
/// character boundaries.
fn find_ascii_ci(hay: &str, needle: &str, from: usize) -> Option<usize> {
    let (h, n) = (hay.as_bytes(), needle.as_bytes());
    if n.is_empty() || from > h.len() {
        return None;
    }
    h.get(from..)?
        .windows(n.len())
        .position(|w| w.eq_ignore_ascii_case(n))
        .map(|i| i + from)
}

fn charset_param(ct: &str) -> Option<String> {
    ct.split(';')
        .filter_map(|p| p.trim().split_once('='))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("charset"))
        .map(|(_, v)| v.trim().trim_matches('"').to_string())
}

fn meta_charset(head: &[u8]) -> Option<String> {
    let h = String::from_utf8_lossy(head).to_ascii_lowercase();
    let i = h.find("charset=")?;
    let rest = &h[i + 8..];
    let rest = rest.trim_start_matches(['"', '\'']);
    let end = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
        .unwrap_or(rest.len());
    let label = &rest[..end];
    (!label.is_empty()).then(|| label.to_string())
}

fn is_html(body: &[u8], content_type: Option<&str>) -> bool {
    match content_type.map(|c| c.to_ascii_lowercase()) {
        Some(c) if c.contains("html") || c.contains("xml") => true,
        Some(c) if !c.starts_with("text/") && !c.is_empty() => false,
        _ => {
            let head = String::from_utf8_lossy(&body[..body.len().min(512)]).to_ascii_lowercase();
            head.contains("<html") || head.contains("<!doctype html") || head.contains("<body")
        }
    }
}

/// The readable content of a body.
pub fn readable(body: &[u8], content_type: Option<&str>) -> Page {
    let ct = content_type.map(|c| c.to_ascii_lowercase());
    if !is_html(body, content_type) {
        if ct.as_deref().is_some_and(|c| c.starts_with("text/plain")) {
            let (text, enc) = decode(body, content_type);
            return Page {
                title: None,
                text: collapse_lines(&text),
                is_html: false,
                charset: enc.name(),
            };
        }
        return Page {
            is_html: false,
            charset: "binary",
            ..Page::default()
        };
    }
    let (text, enc) = decode(body, content_type);
    let doc = Html::parse_document(&text);
    let title = Selector::parse("title")
        .ok()
        .and_then(|s| doc.select(&s).next())
        .map(|t| collapse(&t.text().collect::<String>()))
        .filter(|t| !t.is_empty());
    let root = ["article", "main", "[role=main]"]
        .iter()
        .filter_map(|s| Selector::parse(s).ok())
        .find_map(|s| doc.select(&s).next())
        .or_else(|| densest(&doc))
        .or_else(|| {
            Selector::parse("body")
                .ok()
                .and_then(|s| doc.select(&s).next())
        })
        .unwrap_or_else(|| doc.root_element());
    let mut out = String::new();
    walk(root, &mut out);
    Page {
        title,
        text: collapse_lines(&out),
        is_html: true,
        charset: enc.name(),
    }
}

fn dropped(el: &ElementRef<'_>) -> bool {
    let v = el.value();
    if DROP_TAGS.contains(&v.name()) {
        return true;
    }
    let marks = |s: &str| {
        let s = s.to_ascii_lowercase();
        DROP_MARKERS.iter().any(|m| s.contains(m))
    };
    v.id().is_some_and(marks)
        || v.classes().any(marks)
        || v.attr("aria-hidden") == Some("true")
        || v.attr("hidden").is_some()
}

fn walk(el: ElementRef<'_>, out: &mut String) {
    for child in el.children() {
        match child.value() {
            Node::Text(t) => out.push_str(t),
            Node::Element(e) => {
                let Some(ce) = ElementRef::wrap(child) else {
                    continue;
                };
                if dropped(&ce) {
                    continue;
                }
                let block = BLOCK_TAGS.contains(&e.name());
                if block {
                    out.push('\n');
                }
                walk(ce, out);
                if block {
                    out.push('\n');
                } else {
                    out.push(' ');
                }
            }
            _ => {}
        }
    }
}

/// The element with the most paragraph text (Readability's idea, in one pass over `<p>`s).
fn densest(doc: &Html) -> Option<ElementRef<'_>> {
    let p = Selector::parse("p").ok()?;
    let mut scores = std::collections::HashMap::new();
    for para in doc.select(&p) {
        let len = para.text().map(str::len).sum::<usize>();
        if let Some(parent) = para.parent().and_then(ElementRef::wrap) {
            let e = scores.entry(parent.id()).or_insert((0usize, parent));
            e.0 += len;
        }
    }
    scores.into_values().max_by_key(|(n, _)| *n).map(|(_, e)| e)
}

fn collapse(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Collapses whitespace within lines and drops empty lines.
fn collapse_lines(s: &str) -> String {
    s.lines()
        .map(collapse)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn main_text_without_furniture() {
        let html = br#"<html><head><title> My  Post </title><script>var x=1;</script></head><body>
<nav><a href="/">Home</a></nav><div class="cookie-banner">We use cookies</div>
<article><h1>Heading</h1><p>First   paragraph.</p><p>Second.</p></article>
<footer>Copyright</footer></body></html>"#;
        let p = readable(html, Some("text/html; charset=utf-8"));
        assert_eq!(p.title.as_deref(), Some("My Post"));
        assert_eq!(p.text, "Heading\nFirst paragraph.\nSecond.");
        assert!(p.is_html);
    }

    #[test]
    fn densest_block_without_article() {
        let html = b"<html><body><div id=menu><p>a</p></div><div><p>The long real text of the page.</p><p>More of it here.</p></div></body></html>";
        let p = readable(html, None);
        assert!(p.text.contains("The long real text"));
        assert!(!p.text.contains('a') || p.text.starts_with("The"));
    }

    #[test]
    fn charsets() {
        let latin1 = b"<html><head><meta charset=\"iso-8859-1\"></head><body><p>Gr\xfc\xdfe</p></body></html>";
        assert_eq!(readable(latin1, Some("text/html")).text, "Grüße");
        let header = b"<html><body><p>Gr\xfc\xdfe</p></body></html>";
        assert_eq!(
            readable(header, Some("text/html; charset=windows-1252")).text,
            "Grüße"
        );
        let undeclared = b"<html><body><p>Gr\xfc\xdfe</p></body></html>";
        assert_eq!(readable(undeclared, Some("text/html")).text, "Grüße");
    }

    #[test]
    fn non_html() {
        let p = readable(b"%PDF-1.4 junk", Some("application/pdf"));
        assert!(!p.is_html);
        assert!(p.text.is_empty());
        assert_eq!(
            readable(b"plain  words\n\nhere", Some("text/plain")).text,
            "plain words\nhere"
        );
        let _ = readable(&[0xff, 0x00, 0x3c, 0x68], None);
    }

    /// Regression: `title_of` sliced the raw body with offsets found in a lossily decoded copy,
    /// so invalid bytes before `<title>` panicked (and Latin-1 titles came out as `ound</title>`).
    #[test]
    fn regression_title_after_invalid_or_latin1_bytes() {
        let mut junk = vec![0xFFu8; 50];
        junk.extend_from_slice(b"<title>Seite nicht gefunden</title>");
        assert_eq!(
            title_of(&junk, Some("text/html")).as_deref(),
            Some("Seite nicht gefunden")
        );
        let latin1 = b"<html><head><meta charset=\"iso-8859-1\"><meta name=x content=\"\xdc\xe4\xf6\xfc \xdf\xdf\xdf\"><TITLE>Seite nicht gefunden \xfc</TITLE></head></html>";
        assert_eq!(
            title_of(latin1, None).as_deref(),
            Some("Seite nicht gefunden \u{fc}")
        );
        assert_eq!(title_of(b"<title>never closed", None), None);
        assert_eq!(title_of(b"<title></title>", None), None);
    }

    mod props {
        use super::super::*;
        use proptest::prelude::*;

        fn content_type() -> impl Strategy<Value = Option<String>> {
            prop_oneof![
                Just(None),
                Just(Some("text/html".to_string())),
                Just(Some("text/plain; charset=utf-8".to_string())),
                Just(Some("text/html; charset=iso-8859-1".to_string())),
                Just(Some("text/html; charset=utf-16".to_string())),
                Just(Some("text/html; charset=shift_jis".to_string())),
                any::<String>().prop_map(Some),
            ]
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

            /// Any bytes with any content type: no panic, and the text is valid UTF-8 by type.
            #[test]
            fn readable_and_title_never_panic(body in proptest::collection::vec(any::<u8>(), 0..4096), ct in content_type()) {
                let _ = readable(&body, ct.as_deref());
                let _ = title_of(&body, ct.as_deref());
                let _ = decode(&body, ct.as_deref());
            }

            /// A title planted after arbitrary bytes (none of them `<`) is found whole.
            #[test]
            fn a_planted_title_is_found_after_any_junk(junk in proptest::collection::vec(any::<u8>().prop_filter("no <", |b| *b != b'<'), 0..512), title in "[A-Za-z][A-Za-z0-9 ]{0,40}[A-Za-z0-9]") {
                let mut body = junk;
                body.extend_from_slice(format!("<title>{title}</title>").as_bytes());
                let want = title.split_whitespace().collect::<Vec<_>>().join(" ");
                prop_assert_eq!(title_of(&body, Some("text/html; charset=windows-1252")), Some(want));
            }
        }
    }
}
