//! Article text by a maintained extraction library in place of the hand-written walk's, behind
//! a cargo feature (off by default), so the extractors can be compared on the same pages through
//! the whole verdict pipeline (BENCHMARKS.md, "Readable text: readable.rs against dom_smoothie"):
//!
//! - `dom-smoothie`: [dom_smoothie](https://crates.io/crates/dom_smoothie), a Rust port of
//!   Mozilla's readability.js, with its default configuration (readability.js's candidate
//!   selection and its retries with fewer cleaning rules) and its formatted text (a line break
//!   after each block, so the text has one line per block as the walk's does);
//! - `trafilatura`: [trafilatura](https://crates.io/crates/trafilatura), a Rust port of
//!   go-trafilatura, with its readability/baseline fallback on and comments left out.
//!
//! With both on, dom_smoothie's text is used. Only the article text and its word count change:
//! the title, the visible text, the features and the JSON-LD fallback are
//! [`readable::readable_own`]'s. The library reads the same input as the walk
//! ([`readable::parse_input`]: the decoded body, capped in bytes, tags and nesting).

use crate::readable::{self, Page};

/// `page` (read by [`readable::readable_own`] from `body`) with the article text of the library
/// the features choose. A page whose own text came from its JSON-LD keeps it unless the library
/// finds more words.
pub fn with_article(mut page: Page, body: &[u8], content_type: Option<&str>) -> Page {
    if !page.is_html {
        return page;
    }
    let (decoded, _) = readable::decode(body, content_type);
    let input = readable::parse_input(&decoded);
    #[cfg(feature = "dom-smoothie")]
    let text = smoothie(&input);
    #[cfg(not(feature = "dom-smoothie"))]
    let text = trafilatura(&input);
    let text = text.unwrap_or_default();
    let words = text.split_whitespace().count();
    if page.features.from_json_ld && words <= page.features.words {
        return page;
    }
    page.text = text;
    page.features.words = words;
    page.features.from_json_ld = false;
    page
}

/// dom_smoothie's article text of a document: one line per block, whitespace collapsed, at most
/// [`readable::TEXT_MAX`] bytes. `None` when it finds no article (`GrabFailed`).
#[cfg(feature = "dom-smoothie")]
pub fn smoothie(html: &str) -> Option<String> {
    use dom_smoothie::{Config, Readability, TextMode};
    let config = Config {
        text_mode: TextMode::Formatted,
        ..Config::default()
    };
    let mut r = Readability::new(html, None, Some(config)).ok()?;
    let article = r.parse().ok()?;
    Some(lines(&article.text_content))
}

/// trafilatura's article text of a document, as [`smoothie`] gives it: the text of its
/// `content_html` with a line break at each block (its `content_text` is the same text on one
/// line, so no line of the article could be told from another). `None` when it finds none.
#[cfg(feature = "trafilatura")]
pub fn trafilatura(html: &str) -> Option<String> {
    let mut opts = ::trafilatura::Options::default();
    opts.enable_fallback = true;
    opts.exclude_comments = true;
    opts.html_date_mode = ::trafilatura::HtmlDateMode::Disabled;
    let result = ::trafilatura::extract(html, &opts).ok()?;
    Some(lines(&block_text(&result.content_html)))
}

/// The text of an HTML fragment with a line break before and after each block element.
#[cfg(feature = "trafilatura")]
fn block_text(html: &str) -> String {
    use scraper::{node::Node, Html};
    const INLINE: &[&str] = &[
        "a", "abbr", "b", "bdi", "bdo", "cite", "code", "data", "del", "dfn", "em", "font", "i",
        "img", "ins", "kbd", "mark", "q", "s", "samp", "small", "span", "strike", "strong", "sub",
        "sup", "time", "tt", "u", "var", "wbr",
    ];
    let frag = Html::parse_fragment(html);
    let mut out = String::with_capacity(html.len() / 2);
    // Open elements (id, block): a block's end breaks the line as its start does.
    let mut open = Vec::new();
    for n in frag.root_element().descendants() {
        let parent = n.parent().map(|p| p.id());
        while open.last().is_some_and(|(id, _)| Some(*id) != parent) {
            if let Some((_, true)) = open.pop() {
                out.push('\n');
            }
        }
        match n.value() {
            Node::Text(t) => out.push_str(t),
            Node::Element(e) => {
                let block = !INLINE.contains(&e.name());
                if block {
                    out.push('\n');
                }
                open.push((n.id(), block));
            }
            _ => {}
        }
    }
    out
}

/// One line per line of `text` with words, whitespace collapsed, at most
/// [`readable::TEXT_MAX`] bytes (cut on a character boundary, as the walk cuts its lines).
fn lines(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(readable::TEXT_MAX));
    for line in text.lines() {
        for (i, w) in line.split_whitespace().enumerate() {
            let sep = if i > 0 {
                " "
            } else if out.is_empty() {
                ""
            } else {
                "\n"
            };
            if out.len() + sep.len() + w.len() > readable::TEXT_MAX {
                let mut room = readable::TEXT_MAX.saturating_sub(out.len() + sep.len());
                while room > 0 && !w.is_char_boundary(room) {
                    room -= 1;
                }
                if room > 0 {
                    out.push_str(sep);
                    out.push_str(&w[..room]);
                }
                return out;
            }
            out.push_str(sep);
            out.push_str(w);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_article_text_is_the_librarys_and_the_rest_the_walks() {
        let html = br#"<html><head><title>My Post</title></head><body>
<nav><a href="/">Home</a> <a href="/about">About</a></nav>
<article><h1>Bridge closed</h1>
<p>The old bridge over the river was closed on Monday for urgent repairs to its supports, the city said.</p>
<p>Engineers had found cracks during a routine inspection earlier this spring, and more since then.</p>
<p>Commuters will have to use the ferry or a detour of about twelve kilometres for three months.</p>
</article><footer>Copyright 2026</footer></body></html>"#;
        let own = readable::readable_own(html, Some("text/html"));
        let page = readable::readable(html, Some("text/html"));
        assert!(page.text.contains("closed on Monday"), "{}", page.text);
        assert!(page.text.contains("\nEngineers had found"), "{}", page.text);
        assert!(!page.text.contains("Copyright"), "{}", page.text);
        assert_eq!(page.features.words, page.text.split_whitespace().count());
        assert_eq!(page.title, own.title);
        assert_eq!(page.visible, own.visible);
        assert_eq!(page.features.h1, own.features.h1);
    }

    #[test]
    fn non_html_is_left_alone() {
        let p = readable::readable(b"plain  words\n\nhere", Some("text/plain"));
        assert_eq!(p.text, "plain words\nhere");
    }

    #[test]
    fn the_text_is_capped() {
        let html = format!(
            "<html><body><article>{}</article></body></html>",
            "<p>word é word é and a few more words of the article here.</p>".repeat(20_000)
        );
        let p = readable::readable(html.as_bytes(), Some("text/html"));
        assert!(p.text.len() <= readable::TEXT_MAX, "{}", p.text.len());
        assert!(p.text.len() > readable::TEXT_MAX / 2, "{}", p.text.len());
    }
}
