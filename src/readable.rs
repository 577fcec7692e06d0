//! Readable text of a fetched page: the article a reader came for, without the chrome around it
//! (navigation, mastheads, footers, sidebars, banners, ads, comment threads, newsletter boxes,
//! related and trending teasers), decoded by its declared charset. What drift, quotes and the
//! not-found judgements read, so that a redesign around the same article reads the same.
//!
//! How: one parse, then one iterative walk (no recursion: a page of deeply nested tags cannot
//! exhaust the stack) that cuts the page into lines (block-level runs of text) and leaves out
//! furniture, known by tag, ARIA role, hidden state and the words of its id and classes (split
//! on punctuation and camelCase, so hashed class names never match by accident). Teaser cards (a
//! linked headline and a few words, in a list of such) are counted and left out. The article is
//! the deepest element holding most of the page's paragraph text, so text split over several
//! columns or containers stays whole without `<article>` or `<main>`; of it, the lines that are
//! not mostly links are kept. A page with no paragraph text keeps all its non-furniture lines (a
//! short not-found page reads as its message); a page whose HTML has no text reads its JSON-LD
//! `articleBody` when it has one.
//!
//! Pure: bytes in, text out. Bounded: linear in the page (its nesting capped, see [`MAX_NESTING`]).

use scraper::{ElementRef, Html, Node, Selector};

/// The version of this extraction, kept with stored text (`snapshots.text_version`): text of
/// another version is extracted again before it is compared with text read now. Bump it when
/// the text a page reads as changes.
/// Text of another extractor (cargo features `dom-smoothie`, `trafilatura`) is another version.
pub const VERSION: i64 = 3 + if cfg!(feature = "dom-smoothie") {
    1000
} else if cfg!(feature = "trafilatura") {
    2000
} else {
    0
};

/// The readable content of a body.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Page {
    pub title: Option<String>,
    /// The article: one line per block (paragraph, heading, list item), whitespace collapsed.
    pub text: String,
    pub is_html: bool,
    /// The encoding the body was decoded with.
    pub charset: &'static str,
    /// Every visible line of the page, furniture included (scripts, styles and the head left
    /// out): where a quote is looked for when the article lacks it, and where notices (a
    /// paywall, a region wall) are found when the article leaves their box out.
    pub visible: String,
    /// What the page is made of: tells an article from a login form, an index or a script shell.
    pub features: Features,
}

/// What a page is made of, beyond its text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Features {
    /// Words of the readable text.
    pub words: usize,
    /// Words of visible text on the whole page, furniture included.
    pub visible_words: usize,
    /// Teaser cards: a linked heading and a few words, in a list of such (the body of an index
    /// page, a "latest news" box).
    pub cards: usize,
    /// A password field outside page furniture: a login or sign-up form.
    pub login_form: bool,
    /// The first `<h1>` outside page furniture.
    pub h1: Option<String>,
    /// Bytes of script in the page.
    pub script_bytes: usize,
    /// The text came from the page's JSON-LD `articleBody`, its HTML having none.
    pub from_json_ld: bool,
}

/// Elements that are page furniture: their text is never the article.
const FURNITURE_TAGS: &[&str] = &["nav", "footer", "aside", "dialog", "menu"];

/// Elements whose text is not prose: code, media, form controls.
const NON_TEXT_TAGS: &[&str] = &[
    "script", "style", "noscript", "template", "svg", "iframe", "button", "select", "option",
    "textarea", "input", "canvas", "object", "embed", "video", "audio", "map", "head", "math",
];

/// Elements whose text nobody sees.
const INVISIBLE_TAGS: &[&str] = &["script", "style", "template", "head", "svg", "title"];

/// Inline elements: their text continues the line it is in. Every other element is a block.
const INLINE_TAGS: &[&str] = &[
    "a", "abbr", "b", "bdi", "bdo", "big", "cite", "code", "data", "del", "dfn", "em", "font", "i",
    "img", "ins", "kbd", "label", "mark", "nobr", "q", "s", "samp", "small", "span", "strike",
    "strong", "sub", "sup", "time", "tt", "u", "var", "wbr", "input", "picture", "source",
];

/// Words of an id or class (split on punctuation and camelCase, lowercased) that mark page
/// furniture. Whole words only: `subscriber-content` is not `subscribe`, and hashed names
/// (`css-1x7qk2`) match nothing.
const DROP_MARKERS: &[&str] = &[
    "ad",
    "ads",
    "adslot",
    "advert",
    "advertisement",
    "advertising",
    "banner",
    "breadcrumb",
    "breadcrumbs",
    "comment",
    "comments",
    "commentlist",
    "consent",
    "cookie",
    "cookies",
    "cta",
    "disqus",
    "footer",
    "gdpr",
    "hidden",
    "masthead",
    "menu",
    "modal",
    "mostread",
    "nav",
    "navbar",
    "navigation",
    "newsletter",
    "outbrain",
    "pagination",
    "pager",
    "popular",
    "popup",
    "promo",
    "promotion",
    "recommended",
    "recommendations",
    "related",
    "respond",
    "share",
    "sharedaddy",
    "sharing",
    "sidebar",
    "signup",
    "social",
    "sponsor",
    "sponsored",
    "subscribe",
    "subscription",
    "taboola",
    "toolbar",
    "trending",
    "widget",
    "widgets",
];

/// Whole class names of text meant for screen readers only.
const DROP_CLASSES: &[&str] = &[
    "sr-only",
    "screen-reader-text",
    "visually-hidden",
    "visuallyhidden",
    "skip-link",
];

/// ARIA roles of page furniture.
const DROP_ROLES: &[&str] = &[
    "navigation",
    "banner",
    "contentinfo",
    "complementary",
    "search",
    "dialog",
    "alertdialog",
    "menu",
    "menubar",
    "toolbar",
];

/// Furniture (by tag, role or class) is left out unless it holds at least this share of the
/// page's paragraph text: then it is a wrapper of the whole page that happens to carry a word
/// like `navigation` or `sidebar` in its classes.
const FURNITURE_MAX_SHARE: f64 = 0.5;

/// Headings that title page furniture (after lowercasing and dropping digits and
/// punctuation): the box they head is furniture, whatever its class names (hashed ones say
/// nothing). A comment thread, related and most-read boxes, newsletter boxes.
const FURNITURE_HEADINGS: &[&str] = &[
    "comments",
    "comment",
    "leave a reply",
    "leave a comment",
    "join the discussion",
    "responses",
    "related",
    "read next",
    "read more",
    "more from",
    "more stories",
    "you may also like",
    "you might also like",
    "recommended",
    "trending",
    "most read",
    "most popular",
    "popular posts",
    "newsletter",
    "get our newsletter",
    "sign up for",
    "kommentare",
    "kommentar",
    "schreibe einen kommentar",
    "ähnliche beiträge",
    "das könnte sie auch interessieren",
    "meistgelesen",
    "weitere artikel",
    "mehr zum thema",
    "unser newsletter",
    "commentaires",
    "laisser un commentaire",
    "articles similaires",
    "à lire aussi",
    "les plus lus",
    "notre lettre",
    "comentarios",
    "deja un comentario",
    "noticias relacionadas",
    "lo más leído",
    "te puede interesar",
    "nuestro boletín",
    "commenti",
    "lascia un commento",
    "articoli correlati",
    "i più letti",
    "potrebbe interessarti",
    "la nostra newsletter",
    "reacties",
    "laat een reactie achter",
    "gerelateerde artikelen",
    "meest gelezen",
    "lees ook",
    "onze nieuwsbrief",
    "comentários",
    "deixe um comentário",
    "artigos relacionados",
    "mais lidos",
    "leia também",
    "a nossa newsletter",
];

/// A heading names furniture when its text is one of [`FURNITURE_HEADINGS`] or starts with one
/// followed by a space (`Comments (12)`, `Related stories`).
fn furniture_heading(text: &str) -> bool {
    let t: String = text
        .to_lowercase()
        .chars()
        .map(|c| {
            if c.is_alphabetic() || c == ' ' || c == '\'' {
                c
            } else {
                ' '
            }
        })
        .collect();
    let t = t.split_whitespace().collect::<Vec<_>>().join(" ");
    !t.is_empty()
        && FURNITURE_HEADINGS
            .iter()
            .any(|h| t == *h || t.strip_prefix(h).is_some_and(|r| r.starts_with(' ')))
}

/// Elements that may be a teaser card.
const CARD_TAGS: &[&str] = &["li", "article", "div", "section"];

/// A card has at most this many words: a headline and a standfirst, not an article.
const CARD_WORDS: usize = 60;

/// A line of at least this many characters, mostly not links, is paragraph text: what locates
/// the article. Shorter lines (bylines, labels, buttons) are kept with it but do not locate it.
const PARA_CHARS: usize = 40;

/// Paragraph text has at most this share of its characters in links.
const PARA_LINKS: f64 = 0.33;

/// A line with more than this share of its characters in links is navigation (a menu item, a
/// teaser headline, a tag list), not the article.
const LINE_LINKS: f64 = 0.5;

/// The article is the deepest element that holds at least this share of the page's paragraph
/// text: a comment or a sidebar blurb outside it is tolerated, an article split over several
/// columns or containers is kept whole (their common parent holds it all).
const CONTENT_SHARE: f64 = 0.75;

/// Below this many words of HTML text, a page's JSON-LD `articleBody` is read instead.
const JSON_LD_BELOW: usize = 20;

/// The most JSON-LD text parsed.
const JSON_LD_MAX: usize = 512 * 1024;
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

/// Tag nesting deeper than this ends the document: html5ever's tree building is quadratic in
/// the depth of open elements (20,000 nested `<div>`s take 25 s in a debug build), real pages
/// stay in the tens, and a server may send anything.
const MAX_NESTING: usize = 2048;

/// Elements that close themselves or whose end tag may be left out: not counted as nesting.
const UNNESTED: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source",
    "track", "wbr", "p", "li", "td", "th", "tr", "dt", "dd", "option", "optgroup", "thead",
    "tbody", "tfoot", "colgroup", "caption", "rt", "rp", "html", "head", "body",
];

/// Elements whose content is text up to their end tag (it holds no tags to count).
const RAW: &[&str] = &[
    "script", "style", "textarea", "title", "xmp", "noembed", "noframes", "noscript", "iframe",
];

/// The document up to where its tags nest deeper than `max` (all of it, for any real page):
/// html5ever's tree building is quadratic in nesting depth. A cheap scan over a lowercased copy
/// (same length, so offsets hold; an end tag such as `</SCRIPT>` is found whatever its case):
/// tags counted open and closed, raw-text contents and comments skipped. Cuts only at a `<`, so
/// the slice is always on a character boundary.
pub fn cap_nesting(html: &str, max: usize) -> &str {
    cap_markup(html, max, usize::MAX)
}

/// The most decoded HTML handed to the parser (bytes): html5ever's tree, the walk's lines and
/// everything read from them grow with it. Real pages' HTML stays well under it; the rest of a
/// longer body is archived but not read.
pub const PARSE_MAX: usize = 3 << 20;

/// The most start tags handed to the parser: each is a node of the tree and an entry of the
/// walk (a few hundred bytes together). Heavy real pages hold tens of thousands.
pub const MAX_TAGS: usize = 150_000;

/// The most readable text (bytes) kept of a page, for its article and for its visible lines
/// each: about 170,000 words, more than any article; every comparison, word list and shingle
/// set is read from it.
pub const TEXT_MAX: usize = 1 << 20;

/// What of a decoded document the parser reads: at most [`PARSE_MAX`] bytes (cut on a
/// character boundary), up to where its tags nest deeper than [`MAX_NESTING`] or outnumber
/// [`MAX_TAGS`], with NUL characters left out (html5ever drops them from text anyway, after
/// recording one parse error each: 10 MiB of NULs made a gigabyte of errors).
pub fn parse_input(html: &str) -> std::borrow::Cow<'_, str> {
    let cut = floor_boundary(html, PARSE_MAX);
    let capped = cap_markup(&html[..cut], MAX_NESTING, MAX_TAGS);
    if memchr::memchr(0, capped.as_bytes()).is_some() {
        std::borrow::Cow::Owned(capped.replace('\0', ""))
    } else {
        std::borrow::Cow::Borrowed(capped)
    }
}

/// The largest character boundary of `s` at or below `at`.
fn floor_boundary(s: &str, at: usize) -> usize {
    if at >= s.len() {
        return s.len();
    }
    let mut i = at;
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// [`cap_nesting`], also cut before the start tag after the first `max_tags`.
fn cap_markup(html: &str, max: usize, max_tags: usize) -> &str {
    let mut tags = 0usize;
    let lower = html.to_ascii_lowercase();
    let b = lower.as_bytes();
    let mut depth = 0usize;
    let mut i = 0;
    while let Some(off) = memchr::memchr(b'<', b.get(i..).unwrap_or_default()) {
        let at = i + off;
        let rest = &b[at + 1..];
        if rest.starts_with(b"!--") {
            i = memchr::memmem::find(rest, b"-->").map_or(b.len(), |j| at + 1 + j + 3);
            continue;
        }
        let closing = rest.first() == Some(&b'/');
        let name: Vec<u8> = rest
            .iter()
            .skip(usize::from(closing))
            .take_while(|c| c.is_ascii_alphanumeric() || **c == b'-')
            .take(32)
            .copied()
            .collect();
        let tag_end = memchr::memchr(b'>', rest).map_or(b.len(), |j| at + 1 + j + 1);
        i = tag_end;
        let Ok(name) = std::str::from_utf8(&name) else {
            continue;
        };
        if name.is_empty() {
            continue;
        }
        if !closing {
            tags += 1;
            if tags > max_tags {
                return html.get(..at).unwrap_or(html);
            }
        }
        if !closing && RAW.contains(&name) {
            let close = format!("</{name}");
            i = memchr::memmem::find(b.get(tag_end..).unwrap_or_default(), close.as_bytes())
                .map_or(b.len(), |j| tag_end + j);
            continue;
        }
        let self_closing = b.get(..tag_end).is_some_and(|t| t.ends_with(b"/>"));
        if UNNESTED.contains(&name) || self_closing {
            continue;
        }
        if closing {
            depth = depth.saturating_sub(1);
        } else {
            depth += 1;
            if depth > max {
                return html.get(..at).unwrap_or(html);
            }
        }
    }
    html
}
/// The readable content of a body. With the cargo feature `dom-smoothie` (or `trafilatura`) its
/// article text and word count come from that library instead, everything else from
/// [`readable_own`]: the one switch between the extractors (see `src/readable/extractors.rs`).
pub fn readable(body: &[u8], content_type: Option<&str>) -> Page {
    let page = readable_own(body, content_type);
    #[cfg(any(feature = "dom-smoothie", feature = "trafilatura"))]
    let page = extractors::with_article(page, body, content_type);
    page
}

#[cfg(any(feature = "dom-smoothie", feature = "trafilatura"))]
pub mod extractors;

/// The readable content of a body, its article by this module's own walk (whatever the features).
pub fn readable_own(body: &[u8], content_type: Option<&str>) -> Page {
    let ct = content_type.map(|c| c.to_ascii_lowercase());
    if !is_html(body, content_type) {
        if ct.as_deref().is_some_and(|c| c.starts_with("text/plain")) {
            let (mut text, enc) = decode(body, content_type);
            text.truncate(floor_boundary(&text, TEXT_MAX));
            let text = collapse_lines(&text);
            let words = crate::text::words(&text).count();
            return Page {
                title: None,
                visible: text.clone(),
                text,
                is_html: false,
                charset: enc.name(),
                features: Features {
                    words,
                    visible_words: words,
                    ..Features::default()
                },
            };
        }
        return Page {
            is_html: false,
            charset: "binary",
            ..Page::default()
        };
    }
    let (text, enc) = decode(body, content_type);
    let doc = parse(&parse_input(&text));
    drop(text);
    let title = first_named(&doc, "title")
        .map(|t| collapse(&t.text().collect::<String>()))
        .filter(|t| !t.is_empty());
    let body_el = first_named(&doc, "body").unwrap_or_else(|| doc.root_element());
    let walk = Walk::run(body_el);
    let mut page = walk.page();
    if page.features.words < JSON_LD_BELOW {
        // A page whose HTML has no text may carry its article in JSON-LD (usually in <head>).
        let scripts: String = Selector::parse("script[type=\"application/ld+json\"]")
            .ok()
            .map(|s| {
                doc.select(&s)
                    .flat_map(|e| e.text())
                    .take(64)
                    .fold(String::new(), |mut acc, t| {
                        if acc.len() < JSON_LD_MAX {
                            acc.push_str(t);
                            acc.push('\n');
                        }
                        acc
                    })
            })
            .unwrap_or_default();
        if let Some(article) = json_ld_article(&scripts) {
            let lines = collapse_lines(&article);
            let words = crate::text::words(&lines).count();
            if words > page.features.words {
                page.text = lines;
                page.features.words = words;
                page.features.from_json_ld = true;
            }
        }
    }
    page.title = title;
    page.charset = enc.name();
    page
}

/// Nodes of the tree made ready before a parse: up to one per `<` of the input, at most this many
/// (the tree grows past it as it must). A parse then does not copy its tree each time it doubles.
const TREE_RESERVE: usize = 1 << 15;

/// The tree of a document, as `Html::parse_document` builds it, in a tree sized for the input.
fn parse(html: &str) -> Html {
    use html5ever::tendril::TendrilSink;
    let nodes = memchr::memchr_iter(b'<', html.as_bytes())
        .take(TREE_RESERVE)
        .count();
    let mut doc = Html::new_document();
    doc.tree = ego_tree::Tree::with_capacity(Node::Document, nodes + 1);
    html5ever::driver::parse_document(scraper::HtmlTreeSink::new(doc), Default::default()).one(html)
}

/// The first element named `name` (any namespace) in the order the parser made them: what
/// `doc.select` of the type selector `name` finds first, without parsing a selector and
/// matching it against every node.
fn first_named<'a>(doc: &'a Html, name: &str) -> Option<ElementRef<'a>> {
    doc.tree
        .nodes()
        .filter_map(ElementRef::wrap)
        .find(|e| e.value().name() == name)
}

/// The attributes the walk reads of an element, found in one pass over them (`Element::attr`
/// makes an atom of its argument and searches on every call; the walk asked seven times per
/// element). The same answers: `attr`'s attributes are those without a namespace; `id` and
/// `class` are matched by local name only, as `Element::id` and `Element::classes` match them.
#[derive(Default)]
struct Attrs<'a> {
    role: Option<&'a str>,
    aria_hidden: Option<&'a str>,
    hidden: bool,
    style: Option<&'a str>,
    href: Option<&'a str>,
    input_type: Option<&'a str>,
    id: Option<&'a str>,
    /// The `class` attribute: its classes are its words split on ASCII whitespace.
    class: Option<&'a str>,
}

impl<'a> Attrs<'a> {
    fn of(e: &'a scraper::node::Element) -> Attrs<'a> {
        use html5ever::{local_name, ns};
        let mut a = Attrs::default();
        for (q, v) in e.attrs.iter() {
            let v: &str = v;
            let plain = q.ns == ns!() && q.prefix.is_none();
            let first = |slot: &mut Option<&'a str>| {
                slot.get_or_insert(v);
            };
            match q.local {
                local_name!("id") => first(&mut a.id),
                local_name!("class") => first(&mut a.class),
                _ if !plain => {}
                local_name!("role") => a.role = Some(v),
                local_name!("aria-hidden") => a.aria_hidden = Some(v),
                local_name!("hidden") => a.hidden = true,
                local_name!("style") => a.style = Some(v),
                local_name!("href") => a.href = Some(v),
                local_name!("type") => a.input_type = Some(v),
                _ => {}
            }
        }
        a
    }

    fn classes(&self) -> impl Iterator<Item = &'a str> {
        self.class.into_iter().flat_map(str::split_ascii_whitespace)
    }
}

/// One element met by the walk.
struct El {
    parent: Option<usize>,
    /// Page furniture by its own tag, role, state or class (see [`is_furniture`]); whether it
    /// is left out is decided after the walk (see [`FURNITURE_MAX_SHARE`]).
    furniture: bool,
    /// It is a password field.
    password: bool,
    /// Index of its last descendant: an element's subtree is `index..=end`.
    end: usize,
    card_tag: bool,
    h1: bool,
    /// It holds a heading that links elsewhere (a teaser's headline).
    linked_heading: bool,
}

/// An element open during the walk, with what it passes on to its descendants.
#[derive(Clone)]
struct Frame<'a> {
    node: ElementRef<'a>,
    el: usize,
    /// The innermost block element: the owner of the text met now.
    owner: usize,
    block: bool,
    dropped: bool,
    invisible: bool,
    link: bool,
    heading: bool,
    article: bool,
    script: bool,
}

/// A line of text: one block's run, whitespace collapsed.
struct Line {
    text: String,
    chars: usize,
    link_chars: usize,
    owner: usize,
    words: usize,
}

#[derive(Default)]
struct Walk {
    /// Open headings and their text so far.
    headings: Vec<(usize, String)>,
    els: Vec<El>,
    lines: Vec<Line>,
    visible: Vec<String>,
    script_bytes: usize,
    /// Bytes of `lines` and of `visible` so far (each capped at [`TEXT_MAX`]).
    text_bytes: usize,
    visible_bytes: usize,
    /// Words of `visible` so far.
    visible_words: usize,
}

impl Walk {
    /// The walk over `body`: iterative, in document order.
    fn run(body: ElementRef<'_>) -> Walk {
        let mut w = Walk::default();
        let mut stack: Vec<Frame<'_>> = Vec::new();
        let mut line = String::new();
        let mut line_links = 0usize;
        let mut line_owner = 0usize;
        let mut vis = String::new();
        // The node where the walk goes on after an inert subtree it leaves out (`None`: the end).
        let mut resume: Option<Option<ego_tree::NodeId>> = None;
        for node in body.descendants() {
            if let Some(at) = resume {
                if at != Some(node.id()) {
                    continue;
                }
                resume = None;
            }
            if matches!(node.value(), Node::Fragment | Node::Document) {
                // A `<template>`'s contents hang from a fragment: inert, never shown, and its
                // nodes have no element above them, which would close every open element.
                resume = Some(after_subtree(node, body.id()));
                continue;
            }
            let parent = node.parent().and_then(ElementRef::wrap);
            while stack.last().is_some_and(|top| Some(top.node) != parent) {
                if let Some(top) = stack.pop() {
                    w.close(&top, &mut line, &mut line_links, line_owner, &mut vis);
                }
            }
            match node.value() {
                Node::Text(t) => {
                    let Some(top) = stack.last() else { continue };
                    if top.script {
                        w.script_bytes += t.len();
                    }
                    if top.invisible {
                        continue;
                    }
                    let marker;
                    let t: &str = match footnote_marker(&top.node, t, &vis) {
                        Some(m) => {
                            marker = m;
                            &marker
                        }
                        None => t,
                    };
                    vis.push_str(t);
                    if let Some((_, h)) = w.headings.last_mut() {
                        if h.len() < 256 {
                            h.push_str(t);
                        }
                    }
                    if top.dropped {
                        continue;
                    }
                    if line.trim().is_empty() {
                        line_owner = top.owner;
                    }
                    if top.link {
                        line_links += t.chars().filter(|c| !c.is_whitespace()).count();
                    }
                    line.push_str(t);
                }
                Node::Element(e) => {
                    let Some(el) = ElementRef::wrap(node) else {
                        continue;
                    };
                    let name = e.name();
                    let attrs = Attrs::of(e);
                    let idx = w.els.len();
                    let up = stack.last().cloned();
                    let block = !INLINE_TAGS.contains(&name);
                    let article = up.as_ref().is_some_and(|f| f.article)
                        || matches!(name, "article" | "main")
                        || attrs.role == Some("main");
                    let furniture = is_furniture(name, &attrs, article);
                    let invisible =
                        up.as_ref().is_some_and(|f| f.invisible) || INVISIBLE_TAGS.contains(&name);
                    let dropped = up.as_ref().is_some_and(|f| f.dropped)
                        || invisible
                        || NON_TEXT_TAGS.contains(&name);
                    let href = attrs.href.map(str::trim);
                    let links_away =
                        name == "a" && href.is_some_and(|h| !h.is_empty() && !h.starts_with('#'));
                    let heading = matches!(name, "h1" | "h2" | "h3" | "h4" | "h5" | "h6");
                    let link = up.as_ref().is_some_and(|f| f.link) || links_away;
                    let in_heading = up.as_ref().is_some_and(|f| f.heading) || heading;
                    w.els.push(El {
                        parent: up.as_ref().map(|f| f.el),
                        furniture,
                        password: name == "input"
                            && attrs
                                .input_type
                                .is_some_and(|t| t.eq_ignore_ascii_case("password")),
                        end: idx,
                        card_tag: CARD_TAGS.contains(&name),
                        h1: name == "h1",
                        linked_heading: false,
                    });
                    if (links_away && in_heading) || (heading && link) {
                        // A linked headline: the small blocks around it may be a teaser card.
                        for f in stack.iter().rev().take(8) {
                            w.els[f.el].linked_heading = true;
                        }
                    }
                    let frame = Frame {
                        node: el,
                        el: idx,
                        owner: if block {
                            idx
                        } else {
                            up.as_ref().map_or(idx, |f| f.owner)
                        },
                        block,
                        dropped,
                        invisible,
                        link,
                        heading: in_heading,
                        article,
                        script: name == "script",
                    };
                    if block {
                        w.flush(&mut line, &mut line_links, line_owner, &mut vis);
                    }
                    if heading {
                        w.headings.push((idx, String::new()));
                    }
                    stack.push(frame);
                }
                _ => {}
            }
        }
        while let Some(top) = stack.pop() {
            w.close(&top, &mut line, &mut line_links, line_owner, &mut vis);
        }
        w.flush(&mut line, &mut line_links, line_owner, &mut vis);
        w
    }

    fn close(
        &mut self,
        f: &Frame<'_>,
        line: &mut String,
        links: &mut usize,
        owner: usize,
        vis: &mut String,
    ) {
        if self.headings.last().is_some_and(|(e, _)| *e == f.el) {
            if let Some((_, text)) = self.headings.pop() {
                // The box this heading titles is furniture.
                let parent = self.els.get(f.el).and_then(|e| e.parent);
                if let Some(p) = parent.filter(|_| furniture_heading(&text)) {
                    self.els[p].furniture = true;
                }
            }
        }
        let last = self.els.len().saturating_sub(1);
        if let Some(e) = self.els.get_mut(f.el) {
            e.end = last;
        }
        if f.block {
            self.flush(line, links, owner, vis);
        }
    }

    fn flush(&mut self, line: &mut String, links: &mut usize, owner: usize, vis: &mut String) {
        // At most TEXT_MAX bytes of lines and of visible text each.
        if let Some(text) = within_budget(line, &mut self.text_bytes) {
            let (chars, words) = counts_of_collapsed(&text);
            self.lines.push(Line {
                text,
                chars,
                link_chars: (*links).min(chars),
                owner,
                words,
            });
        }
        line.clear();
        *links = 0;
        if let Some(v) = within_budget(vis, &mut self.visible_bytes) {
            self.visible_words += counts_of_collapsed(&v).1;
            self.visible.push(v);
        }
        vis.clear();
    }

    /// The page the walk saw: the article located, teaser cards counted and left out.
    fn page(self) -> Page {
        let n = self.els.len();
        // Furniture, unless it holds most of the page's prose: a class word on a wrapper of
        // the whole page (`<body class="navigation-with-keyboard">`, `has-sidebar`) is not
        // furniture.
        let prose =
            |l: &Line| l.chars >= PARA_CHARS && (l.link_chars as f64) < PARA_LINKS * l.chars as f64;
        let mass0 = self.sums(
            self.lines
                .iter()
                .filter(|l| prose(l))
                .map(|l| (l.owner, l.chars)),
        );
        let total0 = mass0.first().copied().unwrap_or(0) as f64;
        let mut in_furn = vec![false; n];
        for e in 0..n {
            let own = self.els[e].furniture
                && (total0 == 0.0 || (mass0[e] as f64) < FURNITURE_MAX_SHARE * total0);
            in_furn[e] = own || self.els[e].parent.is_some_and(|p| in_furn[p]);
        }
        let lines: Vec<&Line> = self.lines.iter().filter(|l| !in_furn[l.owner]).collect();
        let login_form = (0..n).any(|e| self.els[e].password && !in_furn[e]);
        let words = self.sums(lines.iter().map(|l| (l.owner, l.words)));
        // Teaser cards: small elements around a linked headline, two or more under one parent.
        let is_card: Vec<bool> = (0..n)
            .map(|e| {
                let el = &self.els[e];
                el.card_tag && el.linked_heading && words[e] > 0 && words[e] <= CARD_WORDS
            })
            .collect();
        let mut card_children = vec![0usize; n];
        for (el, card) in self.els.iter().zip(&is_card) {
            if let (true, Some(p)) = (card, el.parent) {
                card_children[p] += 1;
            }
        }
        let mut in_card = vec![false; n];
        let mut cards = 0;
        for e in 0..n {
            let parent = self.els[e].parent;
            let listed = is_card[e] && parent.is_some_and(|p| card_children[p] >= 2);
            let above = parent.is_some_and(|p| in_card[p]);
            if listed && !above {
                cards += 1;
            }
            in_card[e] = above || listed;
        }
        // Where the paragraph text is.
        let mass = self.sums(
            lines
                .iter()
                .filter(|l| !in_card[l.owner] && prose(l))
                .map(|l| (l.owner, l.chars)),
        );
        let mut children: Vec<Vec<usize>> = vec![Vec::new(); n];
        for e in 0..n {
            if let Some(p) = self.els[e].parent {
                children[p].push(e);
            }
        }
        let mut content = 0usize;
        let total = mass.first().copied().unwrap_or(0) as f64;
        if total > 0.0 {
            while let Some(&c) = children[content]
                .iter()
                .find(|&&c| mass[c] as f64 >= CONTENT_SHARE * total)
            {
                content = c;
            }
        }
        let end = self.els.get(content).map_or(0, |e| e.end);
        let mut text = String::new();
        let mut h1 = None;
        let mut words_out = 0;
        for l in &lines {
            if h1.is_none() && self.els.get(l.owner).is_some_and(|e| e.h1) {
                h1 = Some(l.text.clone());
            }
            let inside = (content..=end).contains(&l.owner);
            if !inside || in_card[l.owner] || l.link_chars as f64 > LINE_LINKS * l.chars as f64 {
                continue;
            }
            if !text.is_empty() {
                text.push('\n');
            }
            text.push_str(&l.text);
            words_out += l.words;
        }
        let visible = self.visible.join("\n");
        Page {
            title: None,
            features: Features {
                words: words_out,
                visible_words: self.visible_words,
                cards,
                login_form,
                h1,
                script_bytes: self.script_bytes,
                from_json_ld: false,
            },
            text,
            visible,
            is_html: true,
            charset: "",
        }
    }

    /// For each element, the sum of `values` given to it and its descendants: each value added to
    /// its element, then every element's sum to its parent's, in reverse document order (a
    /// parent comes before its children), so any depth costs one pass.
    fn sums(&self, values: impl Iterator<Item = (usize, usize)>) -> Vec<usize> {
        let mut sum = vec![0usize; self.els.len()];
        for (e, v) in values {
            if let Some(s) = sum.get_mut(e) {
                *s += v;
            }
        }
        for e in (0..self.els.len()).rev() {
            if let Some(p) = self.els[e].parent {
                sum[p] += sum[e];
            }
        }
        sum
    }
}

/// A footnote marker written as `<sup>1</sup>` reads as `[1]`, the way references are written
/// in plain text (and left out of a sentence by [`crate::quote`]): glued to the text before it,
/// a bare `1` would make "since 1984,¹ Benioff" read "1984,1", another number. A superscript
/// after a digit is an exponent (`10<sup>6</sup>`) and stays as it is.
fn footnote_marker(el: &ElementRef<'_>, text: &str, before: &str) -> Option<String> {
    let is_sup = |e: &ElementRef<'_>| e.value().name() == "sup";
    // The marker itself, or its link (`<sup><a href="#cite_note-1">[1]</a></sup>`).
    let in_sup = is_sup(el)
        || (el.value().name() == "a"
            && el
                .parent()
                .and_then(ElementRef::wrap)
                .is_some_and(|p| is_sup(&p)));
    if !in_sup {
        return None;
    }
    let n = text.trim();
    let digits = n.trim_start_matches('[').trim_end_matches(']');
    let marker = (1..=3).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit());
    let after_digit = before
        .chars()
        .next_back()
        .is_some_and(|c| c.is_ascii_digit());
    (marker && !after_digit && n == text).then(|| format!("[{digits}]"))
}

/// The node that follows `node`'s subtree in document order, within `root`'s subtree.
fn after_subtree(
    node: ego_tree::NodeRef<'_, Node>,
    root: ego_tree::NodeId,
) -> Option<ego_tree::NodeId> {
    let mut cur = node;
    loop {
        if cur.id() == root {
            return None;
        }
        if let Some(next) = cur.next_sibling() {
            return Some(next.id());
        }
        cur = cur.parent()?;
    }
}

/// Whether an element is page furniture, by tag, role, hidden state or the words of its id and
/// classes. A `<header>` is furniture outside an article (the site's masthead), not inside it
/// (the article's headline and byline).
fn is_furniture(name: &str, a: &Attrs<'_>, in_article: bool) -> bool {
    if FURNITURE_TAGS.contains(&name) || (name == "header" && !in_article) {
        return true;
    }
    if a.role
        .is_some_and(|r| DROP_ROLES.contains(&r.trim().to_ascii_lowercase().as_str()))
    {
        return true;
    }
    if a.aria_hidden == Some("true") || a.hidden {
        return true;
    }
    if a.style.is_some_and(|s| {
        let s: String = s
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_ascii_lowercase();
        s.contains("display:none") || s.contains("visibility:hidden")
    }) {
        return true;
    }
    // The page itself is never furniture, whatever its classes say (utility classes on `<body>`
    // such as `overflow-x-hidden` once made a whole page read as furniture).
    if matches!(name, "html" | "body") {
        return false;
    }
    let marked = |s: &str| {
        DROP_CLASSES.iter().any(|c| s.eq_ignore_ascii_case(c))
            || (!is_layout_utility(s) && marker_words(s).any(|w| markers().contains(w.as_str())))
    };
    a.id.is_some_and(marked) || a.classes().any(marked)
}

/// Utility classes (Tailwind and the like) whose words are not what a box is: a variant that
/// applies only on some screens or states (`md:hidden`, `hover:…`), and overflow and other
/// layout settings (`overflow-x-hidden`, `!overflow-hidden`) that hide nothing of the text.
fn is_layout_utility(class: &str) -> bool {
    let c = class.trim_start_matches(['!', '-']);
    c.contains(':')
        || ["overflow", "text-ellipsis", "truncate", "scrollbar"]
            .iter()
            .any(|p| c.get(..p.len()).is_some_and(|h| h.eq_ignore_ascii_case(p)))
}

fn markers() -> &'static std::collections::HashSet<&'static str> {
    static SET: std::sync::OnceLock<std::collections::HashSet<&'static str>> =
        std::sync::OnceLock::new();
    SET.get_or_init(|| DROP_MARKERS.iter().copied().collect())
}

/// The words of an id or class name: split on anything not a letter or digit and where a
/// lowercase letter meets an uppercase one (`NewsletterSignup` → `newsletter`, `signup`).
fn marker_words(s: &str) -> impl Iterator<Item = String> + '_ {
    s.split(|c: char| !c.is_alphanumeric())
        .filter(|p| !p.is_empty())
        .flat_map(|part| {
            let mut words = Vec::new();
            let mut cur = String::new();
            let mut prev_lower = false;
            for c in part.chars() {
                if c.is_uppercase() && prev_lower && !cur.is_empty() {
                    words.push(std::mem::take(&mut cur));
                }
                prev_lower = c.is_lowercase() || c.is_ascii_digit();
                cur.extend(c.to_lowercase());
            }
            if !cur.is_empty() {
                words.push(cur);
            }
            words
        })
}

/// The `articleBody` of a page's JSON-LD (the first found, at any depth), if any.
fn json_ld_article(scripts: &str) -> Option<String> {
    if scripts.trim().is_empty() {
        return None;
    }
    let mut found = None;
    let mut stream = serde_json::Deserializer::from_str(scripts).into_iter::<serde_json::Value>();
    while let Some(Ok(v)) = stream.next() {
        if let Some(t) = find_article_body(&v, 0) {
            found = Some(t);
            break;
        }
    }
    found
}

fn find_article_body(v: &serde_json::Value, depth: usize) -> Option<String> {
    if depth > 16 {
        return None;
    }
    match v {
        serde_json::Value::Object(m) => {
            if let Some(serde_json::Value::String(s)) = m.get("articleBody") {
                return Some(s.clone());
            }
            m.values().find_map(|x| find_article_body(x, depth + 1))
        }
        serde_json::Value::Array(a) => a.iter().find_map(|x| find_article_body(x, depth + 1)),
        _ => None,
    }
}

/// Characters other than whitespace, and words, of a collapsed text (words separated by one
/// space each; the text cap may have cut it right after one): one pass over its bytes.
fn counts_of_collapsed(text: &str) -> (usize, usize) {
    if text.is_empty() {
        return (0, 0);
    }
    let spaces = text.bytes().filter(|b| *b == b' ').count();
    let chars = text.chars().count() - spaces;
    (chars, spaces + 1 - usize::from(text.ends_with(' ')))
}
/// `buf` collapsed and cut to what is left of a [`TEXT_MAX`] budget, of which `used` bytes are
/// spent (this line and its break are added to it); `None` when nothing of it is kept. Blank
/// text (most flushes: the whitespace between two block tags) allocates nothing.
fn within_budget(buf: &str, used: &mut usize) -> Option<String> {
    if is_blank(buf) {
        *used += 1;
        return None;
    }
    let mut text = collapse(buf);
    text.truncate(floor_boundary(&text, TEXT_MAX.saturating_sub(*used)));
    *used += text.len() + 1;
    (!text.is_empty()).then_some(text)
}

/// Whether `s` holds nothing but whitespace (as `split_whitespace` sees it).
fn is_blank(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_whitespace()) || s.trim().is_empty()
}

fn collapse(s: &str) -> String {
    let mut out = String::with_capacity(s.len().min(4096));
    for w in crate::text::words(s) {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(w);
    }
    out
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

    /// Regression (issue 15): this test asserted `!text.contains('a') || text.starts_with("The")`,
    /// true whatever the menu did. Now each mechanism has its own assertion: a menu marked by its
    /// id inside the article's container is left out by its marker; an unmarked blurb outside
    /// the densest block is left out by the choice of block.
    /// Utility classes are not markers of furniture: `overflow-x-hidden` on `<body>` or on the
    /// article's box hides nothing, `md:hidden` hides a box on some screens only; `hidden` alone
    /// still marks a hidden box.
    #[test]
    fn utility_classes_do_not_make_text_furniture() {
        let article = "<p>The long real text of the page, long enough to be a paragraph of prose.</p>\
                       <p>More of it here, and it goes on for a while as prose does in articles.</p>\
                       <p>A third paragraph of the article follows, as long as the two others.</p>";
        for (body, div) in [
            ("!overflow-x-hidden bg-white", "prose"),
            ("overflow-hidden", "overflow-y-hidden md:hidden"),
            ("antialiased", "lg:hidden"),
        ] {
            let html = format!(
                "<html><body class=\"{body}\"><nav><a href=/>Home</a></nav><article>{article}\
                 <div class=\"{div}\"><p>A last paragraph in a box of its own, as long as the others are.</p></div></article>\
                 <div class=\"hidden\"><p>Text of a box hidden on every screen, long enough to count.</p></div></body></html>"
            );
            let p = readable(html.as_bytes(), Some("text/html"));
            assert!(
                p.text.contains("The long real text"),
                "{body}/{div}: {}",
                p.text
            );
            assert!(
                p.text.contains("A third paragraph"),
                "{body}/{div}: {}",
                p.text
            );
            assert!(
                p.text.contains("A last paragraph"),
                "{body}/{div}: {}",
                p.text
            );
            assert!(
                !p.text.contains("hidden on every screen"),
                "{body}/{div}: {}",
                p.text
            );
            assert!(!p.features.from_json_ld, "{body}/{div}");
        }
    }

    /// A `<sup>` footnote marker reads as `[n]`, so it is never glued to the number before it
    /// ("since 1984,<sup>1</sup> Benioff" read "1984,1", which a quote took for a changed
    /// number); an exponent stays an exponent.
    #[test]
    fn a_sup_footnote_marker_reads_as_a_reference() {
        let html = b"<html><body><article><p>Apple has had a place in his heart since 1984,<sup>1</sup> Benioff said, and \
            the slowest follower<sup><a href=#n2>2</a></sup> in the group is 10<sup>6</sup> times slower.</p></article></body></html>";
        let p = readable(html, Some("text/html"));
        assert_eq!(
            p.text,
            "Apple has had a place in his heart since 1984,[1] Benioff said, and the slowest \
             follower[2] in the group is 106 times slower."
        );
        assert!(p.visible.contains("1984,[1] Benioff"), "{}", p.visible);
        let quote = "Apple has had a place in his heart since 1984, Benioff said";
        assert!(
            !crate::quote::standing(quote, &crate::quote::Haystack::new(&p.text), || None)
                .is_missing()
        );
    }

    /// Regression (fresh held-out set, waz.de): a `<template>`'s contents hang from a fragment,
    /// not an element; the walk took that for the end of every open element, so everything after
    /// the first template lost its place in the page (the article read as 10 words, and the
    /// page's JSON-LD summary stood in for it).
    #[test]
    fn a_template_leaves_the_page_around_it_whole() {
        let html = b"<html><body><div class=page><nav><a href=/>Home</a><template><div><p>Inert text of a template, never shown to a reader.</p></div></template></nav>\
            <article><p>The long real text of the page, long enough to be a paragraph of prose.</p>\
            <template><p>More inert text</p></template>\
            <p>More of it here, and it goes on for a while as prose does in articles.</p>\
            <p>A third paragraph of the article follows, as long as the two others.</p></article>\
            <footer>Imprint and contact</footer></div></body></html>";
        let p = readable(html, Some("text/html"));
        assert_eq!(
            p.text,
            "The long real text of the page, long enough to be a paragraph of prose.\n\
             More of it here, and it goes on for a while as prose does in articles.\n\
             A third paragraph of the article follows, as long as the two others."
        );
        assert!(!p.visible.contains("Inert"), "{}", p.visible);
        assert!(p.visible.contains("Imprint"), "{}", p.visible);
    }

    #[test]
    fn densest_block_without_article() {
        let html = b"<html><body><div><div id=menu><p>Home, Archive, Contact, Imprint, Sitemap and the Press page</p></div><p>The long real text of the page, long enough to be a paragraph.</p><p>More of it here, and it goes on for a while as prose does.</p><p>A third paragraph of the article follows, as long as the others.</p><p>And a fourth one closes it, long enough to count as prose too.</p></div><div class=blurb><p>An unmarked blurb about the site that stands beside the article.</p></div></body></html>";
        let p = readable(html, None);
        assert!(p.text.contains("The long real text"), "{}", p.text);
        assert!(p.text.contains("More of it here"), "{}", p.text);
        assert!(!p.text.contains("Archive"), "the menu was kept: {}", p.text);
        assert!(!p.text.contains("blurb"), "the blurb was kept: {}", p.text);
    }

    #[test]
    fn text_split_over_containers_is_kept_whole() {
        let html = br#"<html><body><div class="masthead"><a href="/">Daily</a></div>
<div class="layout"><div class="col-wide"><div class="story">
<h1>Bridge closed for repairs</h1>
<div class="story-text"><p>The old bridge over the river was closed on Monday for urgent repairs to its supports.</p><p>Engineers had found cracks during a routine inspection earlier this spring.</p></div>
<div class="ad-slot"><span>Advertisement</span><a href="/ad">Cheap flights to the sun all winter long, book today</a></div>
<div class="story-text"><p>Commuters will have to use the ferry or a detour of about twelve kilometres.</p><p>The city expects the work to take at least three months, perhaps longer.</p></div>
<div class="newsletter-box"><p>Get the best stories of the week in your inbox every Friday morning.</p></div>
<div class="story-text"><p>Shop owners near the bridge fear losing customers during the busy summer.</p></div>
</div></div>
<div class="col-narrow"><h2>Most read</h2><ol><li><a href="/a">A story everybody reads today</a> 12,345</li><li><a href="/b">Another story people like a lot</a> 9,876</li></ol></div></div>
</body></html>"#;
        let p = readable(html, Some("text/html"));
        for part in [
            "closed on Monday",
            "cracks during",
            "Commuters will",
            "three months",
            "Shop owners",
        ] {
            assert!(p.text.contains(part), "{part} missing from {}", p.text);
        }
        for chrome in [
            "Cheap flights",
            "best stories of the week",
            "everybody reads",
            "Daily",
        ] {
            assert!(!p.text.contains(chrome), "{chrome} kept in {}", p.text);
        }
        assert_eq!(p.features.h1.as_deref(), Some("Bridge closed for repairs"));
    }

    /// Hashed class names say nothing; the heading says what a box is.
    #[test]
    fn a_comment_thread_is_left_out_by_its_heading() {
        let html = br#"<html><body><div class="css-1x"><div class="css-2y"><p>The article says something long enough to be a paragraph of prose.</p><p>And it goes on with a second paragraph that is also long enough.</p></div>
<div class="css-3z"><h2 class="css-4a">Comments (2)</h2><div class="css-5b"><div>Jane: I really enjoyed reading this piece, thank you for it.</div><div>Tom: Totally disagree with all of it, and here is why.</div></div></div>
<div class="css-6c"><h2>Related stories</h2><div><a href="/x"><h3>Another story</h3></a><div>Teaser text of another story here.</div></div></div></div></body></html>"#;
        let p = readable(html, None);
        assert!(p.text.contains("second paragraph"), "{}", p.text);
        assert!(!p.text.contains("enjoyed"), "comments kept: {}", p.text);
        assert!(!p.text.contains("Teaser text"), "related kept: {}", p.text);
        // A heading like that inside the article (most of its prose) does not drop the article.
        let html = br#"<html><body><div><h2>Comments</h2><p>Code comments explain why, not what; this paragraph is long.</p><p>A second paragraph about comments in code, also long enough.</p></div></body></html>"#;
        assert!(readable(html, None).text.contains("explain why"));
    }

    #[test]
    fn teaser_cards_are_counted_and_left_out() {
        let card = |i: usize| {
            format!("<li><article><h3><a href=/s{i}>Story number {i}</a></h3><p>A short standfirst for story {i}.</p></article></li>")
        };
        let html = format!(
            "<html><body><main><h1>Category: Science</h1><p>All our stories about science, newest first.</p><ul>{}</ul></main></body></html>",
            (0..8).map(card).collect::<String>()
        );
        let p = readable(html.as_bytes(), None);
        assert_eq!(p.features.cards, 8);
        assert!(!p.text.contains("standfirst"), "{}", p.text);
        assert!(p.text.contains("newest first"));
        // A single linked headline is not a list of cards.
        let one = "<html><body><article><h1><a href=/self>Title</a></h1><p>Short text of a note.</p></article></body></html>";
        let p = readable(one.as_bytes(), None);
        assert_eq!(p.features.cards, 0);
        assert!(p.text.contains("Short text"));
    }

    /// Regression: Docusaurus's `<body class="navigation-with-keyboard">` made the whole page
    /// furniture.
    #[test]
    fn a_class_word_on_a_wrapper_of_the_whole_page_is_not_furniture() {
        let html = br#"<html><body class="navigation-with-keyboard has-sidebar"><div class="sidebar-layout"><aside><a href=/a>Docs index</a></aside><div class="content"><p>The page's real text, a long enough paragraph to count as prose.</p><p>More of the real text, in a second paragraph of the page.</p></div></div></body></html>"#;
        let p = readable(html, None);
        assert!(p.text.contains("real text"), "{:?}", p);
        assert!(!p.text.contains("Docs index"));
    }

    #[test]
    fn a_legacy_table_layout_without_paragraphs() {
        let html = "<html><body><table><tr><td width=160><a href=/a.html>Start</a><br><a href=/b.html>Archiv</a><br>Besucher: 001234</td><td><font size=2><b>Die Brücke</b><br><br>Die alte Brücke über den Fluss wurde am Montag für dringende Reparaturen gesperrt.<br><br>Ingenieure hatten bei einer Routineprüfung im Frühjahr Risse gefunden.<br><br></font></td><td><a href=/l>Links</a></td></tr></table></body></html>";
        let (bytes, _, _) = encoding_rs::WINDOWS_1252.encode(html);
        let p = readable(&bytes, Some("text/html"));
        assert!(
            p.text.contains("Die alte Brücke über den Fluss"),
            "{}",
            p.text
        );
        assert!(p.text.contains("Ingenieure hatten"));
        assert!(!p.text.contains("Archiv"), "{}", p.text);
    }

    #[test]
    fn json_ld_article_body_when_the_html_has_no_text() {
        let html = br#"<html><head><script type="application/ld+json">{"@graph":[{"@type":"WebPage"},{"@type":"NewsArticle","articleBody":"The whole article.\nIn two paragraphs."}]}</script></head><body><div id="root"></div></body></html>"#;
        let p = readable(html, None);
        assert_eq!(p.text, "The whole article.\nIn two paragraphs.");
        assert!(p.features.from_json_ld);
        // A page with its own text keeps it.
        let html = br#"<html><head><script type="application/ld+json">{"articleBody":"Other."}</script></head><body><p>The page's own text is here and it is long enough to be used.</p></body></html>"#;
        assert!(!readable(html, None).features.from_json_ld);
    }

    #[test]
    fn a_login_form_counts_outside_furniture_only() {
        let form = "<form><label>Email <input type=email></label><label>Password <input type=password></label></form>";
        let main = format!("<html><body><main><h1>Log in</h1>{form}</main></body></html>");
        assert!(readable(main.as_bytes(), None).features.login_form);
        let side = format!("<html><body><article><p>An article that is long enough to be the page's prose, really.</p></article><aside>{form}</aside></body></html>");
        assert!(!readable(side.as_bytes(), None).features.login_form);
    }

    /// A page of 100,000 nested elements is cut where the nesting gets absurd (html5ever would
    /// take minutes over it); what came before is read, and a deep but sane page is whole.
    #[test]
    fn the_parser_reads_at_most_parse_max_bytes() {
        // 10 MiB with no line break and no tag after the first: cut on a character boundary.
        let page = format!("<html><body><p>{}</p></body></html>", "é".repeat(5 << 20));
        let cut = parse_input(&page);
        assert!(
            cut.len() <= PARSE_MAX && cut.len() > PARSE_MAX - 4,
            "{}",
            cut.len()
        );
        assert!(page.starts_with(&*cut));
        let small = article_page("A short page.");
        assert_eq!(parse_input(&small), small, "a real page is read whole");
    }

    #[test]
    fn nul_characters_never_reach_the_parser() {
        assert_eq!(parse_input("<p>a\0b\0\0</p>"), "<p>ab</p>");
        let bomb = format!("<html><body>{}<p>After.</p>", "\0".repeat(1 << 20));
        let cut = parse_input(&bomb);
        assert!(!cut.contains('\0'));
        assert!(readable(bomb.as_bytes(), Some("text/html"))
            .visible
            .contains("After."));
    }

    #[test]
    fn the_parser_reads_at_most_max_tags_start_tags() {
        let many = format!(
            "<html><body>{}</body></html>",
            "<br>x".repeat(MAX_TAGS + 50)
        );
        let cut = parse_input(&many);
        // <html> and <body> count too.
        assert_eq!(cut.matches("<br>").count(), MAX_TAGS - 2);
        let p = readable(many.as_bytes(), Some("text/html"));
        assert!(p.visible.len() <= TEXT_MAX);
    }

    #[test]
    fn readable_text_is_capped_at_text_max() {
        // 10 MiB of one-letter words in one paragraph, and as plain text.
        let words = "a ".repeat(5 << 20);
        let html = format!("<html><body><article><p>{words}</p></article></body></html>");
        let p = readable(html.as_bytes(), Some("text/html"));
        assert!(p.text.len() <= TEXT_MAX, "{}", p.text.len());
        assert!(p.visible.len() <= TEXT_MAX, "{}", p.visible.len());
        assert!(p.features.words > 100_000, "the capped text is still read");
        let p = readable(words.as_bytes(), Some("text/plain"));
        assert!(p.text.len() <= TEXT_MAX, "{}", p.text.len());
        // Many paragraphs: the cap is on their sum, each line whole or cut on a boundary.
        let paras = format!(
            "<html><body>{}</body></html>",
            "<p>word é word é</p>".repeat(200_000)
        );
        let p = readable(paras.as_bytes(), Some("text/html"));
        assert!(p.text.len() <= TEXT_MAX + 1, "{}", p.text.len());
        assert!(p.text.len() > TEXT_MAX / 2);
    }

    fn article_page(s: &str) -> String {
        format!(
            "<html><head><title>T</title></head><body><article><p>{s}</p></article></body></html>"
        )
    }

    #[test]
    fn pathological_nesting_is_cut() {
        let nest = |depth: usize| {
            format!(
                "<html><body><p>Before the nesting there is a paragraph of text.</p>{}<p>Deep inside the page there is a second paragraph of text.</p>{}</body></html>",
                "<div>".repeat(depth),
                "</div>".repeat(depth)
            )
        };
        let p = readable(nest(100_000).as_bytes(), None);
        assert!(p.text.contains("Before the nesting"), "{}", p.text);
        assert!(!p.text.contains("Deep inside"));
        let p = readable(nest(1_000).as_bytes(), None);
        assert!(p.text.contains("Deep inside"), "{}", p.text);
        // Unclosed paragraphs and list items, scripts full of tags: no nesting.
        let sloppy = format!(
            "<html><body><script>var t = '{}';</script>{}<p>The end.</body></html>",
            "<div>".repeat(5_000),
            "<p>para<li>item".repeat(3_000)
        );
        assert_eq!(cap_nesting(&sloppy, MAX_NESTING), sloppy);
        // Regression: an end tag in capitals was not found, the rest of the page was taken for
        // script text, and nesting after it went uncounted.
        let shouting = format!(
            "<html><body><SCRIPT>var x;</SCRIPT>{}</body></html>",
            "<div>".repeat(MAX_NESTING + 10)
        );
        assert!(cap_nesting(&shouting, MAX_NESTING).len() < shouting.len());
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

            /// The counts taken in one pass are those of the words (any text, any cut).
            #[test]
            fn counts_of_a_collapsed_text_are_those_of_its_words(s in "\\PC{0,200}", cut in 0usize..220) {
                let mut t = collapse(&s);
                t.truncate(floor_boundary(&t, cut));
                let want = (
                    t.chars().filter(|c| !c.is_whitespace()).count(),
                    t.split_whitespace().count(),
                );
                prop_assert_eq!(counts_of_collapsed(&t), want);
            }

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
                // Junk that starts with a byte-order mark declares UTF-16 (or UTF-8), which
                // overrides the header's charset (HTML's encoding sniffing): not this property.
                prop_assume!(encoding_rs::Encoding::for_bom(&junk).is_none());
                let mut body = junk;
                body.extend_from_slice(format!("<title>{title}</title>").as_bytes());
                let want = title.split_whitespace().collect::<Vec<_>>().join(" ");
                prop_assert_eq!(title_of(&body, Some("text/html; charset=windows-1252")), Some(want));
            }
        }
    }
}
