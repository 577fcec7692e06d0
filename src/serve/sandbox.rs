//! The page as it was cited: an archived body made safe to show again, inside the dashboard's
//! sandboxed snapshot view.
//!
//! The archived HTML is parsed (html5ever, as a browser would) and written out again from an
//! allow-list: known elements with known, inert attributes, every text and attribute value
//! escaped by us. What could run or fetch is left out: scripts, `<noscript>`, frames, objects,
//! embeds, media, `<base>`, every `<meta>` (so no refresh) and `<link>`, `<svg>`/`<math>`
//! islands, event-handler and URL attributes. Links keep their text and show their target on
//! hover but are not followed; an image is shown only when citewatch archived that image itself
//! (the shell's `image` callback maps its URL to a route of this server), else it keeps its
//! `alt` text. The HTTP layer adds a Content-Security-Policy with `sandbox` and
//! `default-src 'none'`, so anything this pass missed still cannot run or reach the network.
//!
//! Pure: bytes in, markup out. Never panics on any body; bounded (see [`MAX_NESTING`],
//! [`MAX_IMAGES`]).

use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use maud::{html, PreEscaped};
use url::Url;

use crate::rows::stamp;

/// What the banner on top of an archived page says.
#[derive(Debug, Clone)]
pub struct Banner<'a> {
    /// The cited URL.
    pub url: &'a str,
    /// When this copy was fetched.
    pub fetched_at: DateTime<Utc>,
    /// Whether this copy is the link's baseline (the page as cited).
    pub as_cited: bool,
    /// The dashboard's page of the link.
    pub back: &'a str,
}

/// Tag nesting deeper than this ends the document before it is parsed: html5ever's tree
/// building is quadratic in the depth of open elements, real pages nest in the tens.
pub const MAX_NESTING: usize = 1024;

/// Images looked up at most per page; the rest keep their `alt` text.
pub const MAX_IMAGES: usize = 200;

/// Elements left out with everything inside them: they run code, fetch, embed other documents,
/// or steer the page (`base`, `meta`), or are foreign islands whose attributes we do not vet.
const DROP: &[&str] = &[
    "applet",
    "area",
    "audio",
    "base",
    "canvas",
    "dialog",
    "embed",
    "frame",
    "frameset",
    "iframe",
    "link",
    "map",
    "math",
    "meta",
    "noembed",
    "noframes",
    "noscript",
    "object",
    "param",
    "plaintext",
    "portal",
    "script",
    "slot",
    "source",
    "svg",
    "template",
    "track",
    "video",
    "xmp",
];

/// Elements written out (with vetted attributes). Anything else not in [`DROP`] (custom
/// elements, `form`, obsolete tags) is unwrapped: its content stays, its tag goes.
const KEEP: &[&str] = &[
    "a",
    "abbr",
    "address",
    "article",
    "aside",
    "b",
    "bdi",
    "bdo",
    "big",
    "blockquote",
    "body",
    "br",
    "button",
    "caption",
    "center",
    "cite",
    "code",
    "col",
    "colgroup",
    "data",
    "dd",
    "del",
    "details",
    "dfn",
    "div",
    "dl",
    "dt",
    "em",
    "fieldset",
    "figcaption",
    "figure",
    "font",
    "footer",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "head",
    "header",
    "hgroup",
    "hr",
    "html",
    "i",
    "img",
    "input",
    "ins",
    "kbd",
    "label",
    "legend",
    "li",
    "main",
    "mark",
    "menu",
    "meter",
    "nav",
    "ol",
    "optgroup",
    "option",
    "output",
    "p",
    "picture",
    "pre",
    "progress",
    "q",
    "rp",
    "rt",
    "ruby",
    "s",
    "samp",
    "search",
    "section",
    "select",
    "small",
    "span",
    "strike",
    "strong",
    "style",
    "sub",
    "summary",
    "sup",
    "table",
    "tbody",
    "td",
    "textarea",
    "tfoot",
    "th",
    "thead",
    "time",
    "title",
    "tr",
    "tt",
    "u",
    "ul",
    "var",
    "wbr",
];

/// Elements with no end tag.
const VOID: &[&str] = &["br", "col", "hr", "img", "input", "wbr"];

/// Attributes kept: presentation and structure only. No URL attribute (`href`, `src`, `srcset`,
/// `action`, `formaction`, `background`, `poster`, `ping`, `data`), no event handler.
const ATTRS: &[&str] = &[
    "abbr",
    "align",
    "alt",
    "axis",
    "bgcolor",
    "border",
    "cellpadding",
    "cellspacing",
    "checked",
    "class",
    "clear",
    "color",
    "cols",
    "colspan",
    "compact",
    "datetime",
    "dir",
    "disabled",
    "face",
    "for",
    "frame",
    "headers",
    "height",
    "hidden",
    "hspace",
    "id",
    "label",
    "lang",
    "maxlength",
    "multiple",
    "noshade",
    "nowrap",
    "open",
    "placeholder",
    "readonly",
    "reversed",
    "role",
    "rows",
    "rowspan",
    "rules",
    "scope",
    "selected",
    "size",
    "span",
    "start",
    "style",
    "summary",
    "title",
    "translate",
    "type",
    "valign",
    "value",
    "vspace",
    "width",
];

/// The markup of an archived body, made safe to serve back under the snapshot view's policy,
/// with `banner` on top. `image` maps an image's absolute URL to a route of this server when
/// citewatch archived that image (else `None`); `text` is the snapshot's readable text, shown
/// for bodies that are neither HTML nor text; `raw` is this snapshot's own raw route, used when
/// the snapshot is itself an image.
pub fn render(
    body: &[u8],
    content_type: Option<&str>,
    page_url: Option<&Url>,
    banner: &Banner<'_>,
    image: &mut dyn FnMut(&Url) -> Option<String>,
    text: Option<&str>,
    raw: &str,
) -> String {
    let ct = content_type.unwrap_or("").to_ascii_lowercase();
    if is_html(body, &ct) {
        let (decoded, _) = crate::readable::decode(body, content_type);
        return sanitize(&decoded, page_url, &banner_html(banner), image);
    }
    let inner = if ct.starts_with("image/") {
        html! { p { img src=(raw) alt="The archived image"; } }
    } else if ct.starts_with("text/") || ct.contains("json") || ct.is_empty() {
        let (decoded, _) = crate::readable::decode(body, content_type);
        html! { pre style="white-space:pre-wrap" { (decoded) } }
    } else {
        html! {
            p { "The archived body is " (ct) " (" (body.len()) " bytes); it is not shown here. Its text:" }
            pre style="white-space:pre-wrap" { (text.unwrap_or("(none extracted)")) }
        }
    };
    html! {
        (maud::DOCTYPE)
        html {
            head { title { "Archived: " (banner.url) } }
            body { (PreEscaped(banner_html(banner))) (inner) }
        }
    }
    .into_string()
}

/// Whether a body is HTML: by its type, else by a look at its start.
fn is_html(body: &[u8], ct: &str) -> bool {
    if ct.contains("html") {
        return true;
    }
    if !ct.is_empty() && !ct.starts_with("text/") && !ct.contains("xml") {
        return false;
    }
    let head = String::from_utf8_lossy(&body[..body.len().min(1024)]).to_ascii_lowercase();
    head.contains("<html") || head.contains("<!doctype html") || head.contains("<body")
}

/// The banner: inline styles marked important, on an element no page stylesheet targets by
/// name, so the archived page's CSS can hardly hide or restyle it.
fn banner_html(b: &Banner<'_>) -> String {
    const BOX: &str = "display:block!important;visibility:visible!important;position:static!important;margin:0 0 8px 0!important;padding:10px 14px!important;background:#fff4c2!important;color:#222!important;border-bottom:2px solid #c9a400!important;font:14px/1.4 system-ui,sans-serif!important;text-align:left!important;";
    const LINK: &str = "color:#0645ad!important;text-decoration:underline!important;";
    html! {
        citewatch-banner style=(BOX) role="note" {
            strong { "Archived copy" }
            " of " (b.url) ", fetched " (stamp(b.fetched_at))
            @if b.as_cited { " (the page as it was cited)" }
            ". Read-only: scripts, links and outside requests are switched off. "
            a style=(LINK) href=(b.back) { "Back to citewatch" }
        }
    }
    .into_string()
}

/// Writes `html` out again from the allow-list, `banner` first in its body.
fn sanitize(
    html: &str,
    page_url: Option<&Url>,
    banner: &str,
    image: &mut dyn FnMut(&Url) -> Option<String>,
) -> String {
    use scraper::Node;
    let doc = scraper::Html::parse_document(crate::readable::cap_nesting(html, MAX_NESTING));
    let mut out = String::with_capacity(html.len() / 2 + banner.len() + 64);
    let mut images = 0usize;
    let mut banner_done = false;
    // A depth-first walk with an explicit stack (a deep page must not exhaust ours): an entry
    // is a node to open, or (with `Some(name)`) the end tag to write once its children are done.
    let mut stack = vec![(doc.tree.root(), None::<&'static str>)];
    // Whether the last thing written was a `<pre>`/`<textarea>` start tag: a newline right after
    // one is eaten by the parser, so a text starting with one needs another.
    let mut after_pre = false;
    while let Some((node, closing)) = stack.pop() {
        if let Some(name) = closing {
            let _ = write!(out, "</{name}>");
            after_pre = false;
            continue;
        }
        match node.value() {
            Node::Document | Node::Fragment => {
                for child in node.children().rev() {
                    stack.push((child, None));
                }
            }
            Node::Doctype(_) => out.push_str("<!DOCTYPE html>"),
            Node::Comment(_) | Node::ProcessingInstruction(_) => {}
            Node::Text(t) => {
                let parent = node
                    .parent()
                    .and_then(|p| p.value().as_element().map(|e| e.name().to_string()));
                if after_pre && t.starts_with('\n') {
                    out.push('\n');
                }
                if parent.as_deref() == Some("style") {
                    // Raw text: it ends only at `</style`, so no `</` may stay in it.
                    out.push_str(&defuse_css(t).replace("</", "<\\/"));
                } else {
                    escape_text(&mut out, t);
                }
                after_pre = false;
            }
            Node::Element(el) => {
                after_pre = false;
                let foreign = &*el.name.ns != "http://www.w3.org/1999/xhtml";
                let name = el.name();
                if foreign || DROP.contains(&name) {
                    continue;
                }
                let Some(&keep) = KEEP.iter().find(|k| **k == name) else {
                    // Unwrapped: the children stay.
                    for child in node.children().rev() {
                        stack.push((child, None));
                    }
                    continue;
                };
                let _ = write!(out, "<{keep}");
                for (attr, value) in el.attrs() {
                    let attr = attr.to_ascii_lowercase();
                    let aria = attr.strip_prefix("aria-").is_some_and(|rest| {
                        !rest.is_empty()
                            && rest.bytes().all(|c| c.is_ascii_lowercase() || c == b'-')
                    });
                    if attr == "style" {
                        attribute(&mut out, &attr, &defuse_css(value));
                    } else if ATTRS.contains(&attr.as_str()) || aria {
                        attribute(&mut out, &attr, value);
                    }
                }
                match keep {
                    "a" => {
                        if let Some(target) = el
                            .attr("href")
                            .and_then(|h| resolve(page_url, h))
                            .filter(|u| matches!(u.scheme(), "http" | "https"))
                        {
                            if el.attr("title").is_none() {
                                let note =
                                    format!("{target} (not followed from the archived copy)");
                                attribute(&mut out, "title", &note);
                            }
                        }
                    }
                    "img" => {
                        let src = el.attr("src").map(str::trim).unwrap_or("");
                        let local = if src.starts_with("data:image/") {
                            Some(src.to_string())
                        } else if images < MAX_IMAGES {
                            images += 1;
                            resolve(page_url, src)
                                .filter(|u| matches!(u.scheme(), "http" | "https"))
                                .and_then(|u| image(&u))
                        } else {
                            None
                        };
                        if let Some(l) = local {
                            attribute(&mut out, "src", &l);
                        }
                    }
                    _ => {}
                }
                out.push('>');
                if keep == "body" && !banner_done {
                    out.push_str(banner);
                    banner_done = true;
                }
                if VOID.contains(&keep) {
                    continue;
                }
                after_pre = matches!(keep, "pre" | "textarea");
                stack.push((node, Some(keep)));
                for child in node.children().rev() {
                    stack.push((child, None));
                }
            }
        }
    }
    if !banner_done {
        // A document without a body (a frameset page): the banner still says what this is.
        out.push_str(banner);
    }
    out
}

/// CSS that fetches (`url(…)`, `image-set(…)`, `@import`) turned into CSS that does not: the
/// declaration or rule becomes invalid and is dropped by the browser. The policy already forbids
/// the requests; this keeps them from even being attempted. (A name written with CSS escapes is
/// left to the policy.)
fn defuse_css(css: &str) -> String {
    const FETCHING: [(&str, &str); 3] = [
        ("url(", "citewatch-blocked("),
        ("image-set(", "citewatch-blocked("),
        ("@import", "@citewatch-blocked"),
    ];
    let lower = css.to_ascii_lowercase();
    let mut out = String::with_capacity(css.len());
    let mut i = 0;
    while i < css.len() {
        let hit = FETCHING
            .iter()
            .find(|(needle, _)| lower[i..].starts_with(needle));
        match hit {
            Some((needle, with)) => {
                out.push_str(with);
                i += needle.len();
            }
            None => {
                let c = css[i..].chars().next().unwrap_or(' ');
                out.push(c);
                i += c.len_utf8().max(1);
            }
        }
    }
    out
}

/// `href`/`src` against the page's URL (or alone, when absolute).
fn resolve(base: Option<&Url>, s: &str) -> Option<Url> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    match base {
        Some(b) => b.join(s).ok(),
        None => Url::parse(s).ok(),
    }
}

fn escape_text(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\u{a0}' => out.push_str("&nbsp;"),
            c => out.push(c),
        }
    }
}

fn attribute(out: &mut String, name: &str, value: &str) {
    let _ = write!(out, " {name}=\"");
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOSTILE: &str = r#"<!doctype html><html lang="en"><head>
<meta http-equiv="refresh" content="0;url=http://evil.example/">
<meta http-equiv="Content-Security-Policy" content="script-src *">
<base href="http://evil.example/">
<link rel="stylesheet" href="http://evil.example/x.css">
<title>The <b>page</b></title>
<style>body { color: red } </style><script>alert(1)</script></style>
<script>document.title = 'pwned'</script>
</head>
<body onload="alert(1)" background="http://evil.example/bg.png">
<h1 onclick="alert(1)" class="t">Headline</h1>
<p style="color:blue">Some <a href="/next" onmouseover="x()">words</a> &amp; <q>more</q></p>
<a href="javascript:alert(1)">js</a>
<img src="http://evil.example/pixel.png" srcset="http://evil.example/2x.png 2x" alt="a pixel" onerror="alert(1)">
<img src="/archived.png" alt="kept">
<img src="data:image/png;base64,AAAA" alt="inline">
<iframe src="http://evil.example/frame" srcdoc="<script>alert(1)</script>"></iframe>
<object data="http://evil.example/x.swf"></object>
<svg><script>alert(1)</script><image href="http://evil.example/i.png"/></svg>
<form action="http://evil.example/post"><input name="q" value="v" formaction="http://evil.example/"><button formaction="http://evil.example/">Go</button></form>
<noscript><img src="http://evil.example/ns.png"></noscript>
<video poster="http://evil.example/p.png"><source src="http://evil.example/v.mp4"></video>
<my-widget data-x="1">custom <em>content</em></my-widget>
<pre>

indented</pre>
</body></html>"#;

    fn banner() -> Banner<'static> {
        Banner {
            url: "https://blog.example.org/cited?a=1&b=<2>",
            fetched_at: chrono::DateTime::parse_from_rfc3339("2026-11-22T10:00:00Z")
                .unwrap()
                .to_utc(),
            as_cited: true,
            back: "/link/7",
        }
    }

    /// The page as shown, and the image URLs the callback was asked about.
    fn shown_asking(html: &str) -> (String, Vec<String>) {
        let base = Url::parse("https://site.example/articles/one").unwrap();
        let mut asked = Vec::new();
        let out = render(
            html.as_bytes(),
            Some("text/html; charset=utf-8"),
            Some(&base),
            &banner(),
            &mut |u: &Url| {
                asked.push(u.to_string());
                (u.as_str() == "https://site.example/archived.png")
                    .then(|| "/link/9/snapshot/abc/raw".to_string())
            },
            None,
            "/raw",
        );
        (out, asked)
    }

    fn shown(html: &str) -> String {
        shown_asking(html).0
    }

    #[test]
    fn nothing_that_runs_or_fetches_survives() {
        let out = shown(HOSTILE);
        let lower = out.to_ascii_lowercase();
        for bad in [
            "<script",
            "<iframe",
            "<object",
            "<svg",
            "<base",
            "<meta",
            "<link",
            "<video",
            "<source",
            "<noscript",
            "<form",
            "onload",
            "onclick",
            "onerror",
            "onmouseover",
            "srcset",
            "href=\"javascript",
            "formaction",
            "action=",
            "background=",
            "poster",
            "evil.example/pixel",
            "evil.example/x.css",
            "evil.example/bg",
            "evil.example/frame",
            "http-equiv",
            "pwned",
        ] {
            assert!(!lower.contains(bad), "{bad} survived:\n{out}");
        }
        // Links are not followed: no href at all, the target on hover.
        assert!(!lower.contains("href=\"http"), "{out}");
        assert!(
            out.contains(
                "title=\"https://site.example/next (not followed from the archived copy)\""
            ),
            "{out}"
        );
    }

    #[test]
    fn the_page_itself_stays() {
        let (out, asked) = shown_asking(HOSTILE);
        assert!(
            asked.contains(&"https://site.example/archived.png".to_string()),
            "relative images resolve against the page, not a <base>: {asked:?}"
        );
        assert!(
            !asked.iter().any(|u| u.contains("evil.example/ns.png")),
            "images in dropped elements are not even looked up: {asked:?}"
        );
        assert!(
            out.starts_with("<!DOCTYPE html><html lang=\"en\">"),
            "{out}"
        );
        assert!(
            out.contains("<title>The &lt;b&gt;page&lt;/b&gt;</title>"),
            "{out}"
        );
        assert!(out.contains("<h1 class=\"t\">Headline</h1>"), "{out}");
        assert!(
            out.contains("<p style=\"color:blue\">Some <a title=\"https://site.example/next (not followed from the archived copy)\">words</a> &amp; <q>more</q></p>"),
            "{out}"
        );
        assert!(
            out.contains("<img alt=\"a pixel\">"),
            "an outside image keeps its alt: {out}"
        );
        assert!(
            out.contains("<img alt=\"kept\" src=\"/link/9/snapshot/abc/raw\">"),
            "an archived image is served by us: {out}"
        );
        assert!(out.contains("src=\"data:image/png;base64,AAAA\""), "{out}");
        assert!(out.contains("<input value=\"v\">"), "{out}");
        assert!(
            out.contains("custom <em>content</em>"),
            "custom elements unwrap: {out}"
        );
        // The parser eats the newline right after <pre>: the one that was meant is kept.
        assert!(out.contains("<pre>\n\nindented</pre>"), "{out}");
        assert!(out.contains("<style>body { color: red } </style>"), "{out}");
    }

    #[test]
    fn the_banner_comes_first_in_the_body_and_is_escaped() {
        let out = shown(HOSTILE);
        let body = out.find("<body").unwrap();
        let banner = out.find("<citewatch-banner").unwrap();
        assert!(banner > body && !out[body..banner].contains("<h1"), "{out}");
        assert!(
            out.contains("https://blog.example.org/cited?a=1&amp;b=&lt;2&gt;"),
            "{out}"
        );
        assert!(out.contains("2026-11-22T10:00:00Z"), "{out}");
        assert!(out.contains("href=\"/link/7\""), "{out}");
        // Without a body, the banner is still there.
        let frames = shown("<frameset><frame src=\"http://evil.example/\"></frameset>");
        assert!(frames.contains("<citewatch-banner"), "{frames}");
        assert!(!frames.contains("evil"), "{frames}");
    }

    #[test]
    fn css_that_fetches_is_defused() {
        let out = shown(
            "<style>@IMPORT 'http://evil.example/a.css'; .a { background: URL(http://evil.example/b.png) } .b { background-image: image-set('http://evil.example/c.png' 1x) }</style>\
             <p style=\"background:url('http://evil.example/d.png')\">é x</p>",
        );
        let lower = out.to_ascii_lowercase();
        assert!(
            !lower.contains("url(") && !lower.contains("@import") && !lower.contains("image-set("),
            "{out}"
        );
        assert!(
            out.contains("citewatch-blocked(http://evil.example/b.png)"),
            "{out}"
        );
        assert!(out.contains(">é x</p>"), "{out}");
        assert_eq!(
            defuse_css("ünïcode url(x) ü"),
            "ünïcode citewatch-blocked(x) ü"
        );
    }

    #[test]
    fn style_text_cannot_close_its_element() {
        let out = shown("<style>a{}</style ><p>x</p><style>b{content:'</sty'}</style>");
        assert!(!out.contains("'</sty'"), "{out}");
        assert!(out.contains("<p>x</p>"), "{out}");
    }

    #[test]
    fn deep_nesting_is_cut_and_images_are_capped() {
        let deep = format!("<body>{}x", "<div>".repeat(50_000));
        let out = shown(&deep);
        assert!(out.matches("<div>").count() <= MAX_NESTING, "cut");
        // Case does not hide a raw-text end from the nesting scan.
        let tricky = format!("<SCRIPT>x</script><body>{}", "<div>".repeat(5000));
        assert!(shown(&tricky).matches("<div>").count() <= MAX_NESTING);
        let many = format!("<body>{}", "<img src=\"/i.png\">".repeat(MAX_IMAGES + 50));
        let mut asked = 0;
        render(
            many.as_bytes(),
            Some("text/html"),
            Url::parse("https://a.example/").ok().as_ref(),
            &banner(),
            &mut |_| {
                asked += 1;
                None
            },
            None,
            "/raw",
        );
        assert_eq!(asked, MAX_IMAGES);
    }

    #[test]
    fn other_bodies_are_shown_as_text_or_image() {
        let b = banner();
        let mut none = |_: &Url| None;
        let text = render(
            b"<script>x</script> & more",
            Some("text/plain"),
            None,
            &b,
            &mut none,
            None,
            "/raw",
        );
        assert!(text.contains("<pre style=\"white-space:pre-wrap\">&lt;script&gt;x&lt;/script&gt; &amp; more</pre>"), "{text}");
        assert!(text.contains("<citewatch-banner"), "{text}");
        let img = render(
            b"\x89PNG",
            Some("image/png"),
            None,
            &b,
            &mut none,
            None,
            "/link/1/snapshot/h/raw",
        );
        assert!(img.contains("src=\"/link/1/snapshot/h/raw\""), "{img}");
        let pdf = render(
            b"%PDF-1.4",
            Some("application/pdf"),
            None,
            &b,
            &mut none,
            Some("the <text>"),
            "/raw",
        );
        assert!(
            pdf.contains("the &lt;text&gt;") && !pdf.contains("%PDF"),
            "{pdf}"
        );
    }

    mod prop {
        use super::*;
        use proptest::prelude::*;

        /// Elements that run code or fetch, named here independently of the rewrite's lists.
        const RUNS_OR_FETCHES: &[&str] = &[
            "script", "iframe", "frame", "frameset", "object", "embed", "applet", "base", "link",
            "meta", "svg", "math", "video", "audio", "source", "track", "template", "portal",
            "noscript", "image", "use",
        ];

        /// Attributes holding a URL a browser may fetch or follow.
        const URL_ATTRS: &[&str] = &[
            "href",
            "src",
            "srcset",
            "srcdoc",
            "action",
            "formaction",
            "background",
            "poster",
            "data",
            "ping",
            "manifest",
            "longdesc",
            "lowsrc",
            "dynsrc",
            "codebase",
            "archive",
            "usemap",
            "icon",
            "xlink:href",
        ];

        /// Pieces of hostile markup, shuffled together with arbitrary text.
        fn markup() -> impl Strategy<Value = String> {
            let piece = prop_oneof![
                Just("<script>alert(1)</script>".to_string()),
                Just("<ScRiPt SRC=//x>".to_string()),
                Just("</script>".to_string()),
                Just("<img src=x onerror=alert(1)>".to_string()),
                Just("<style>".to_string()),
                Just("</style>".to_string()),
                Just("<a href='javascript:alert(1)' ping=//x>".to_string()),
                Just("<svg><script>x</script>".to_string()),
                Just("<math><mi xlink:href=//x>".to_string()),
                Just("<noscript><p title=\"</noscript><img src=x onerror=y>\">".to_string()),
                Just("<template><script>x</script></template>".to_string()),
                Just("<iframe srcdoc='<script>x</script>'>".to_string()),
                Just("<!--".to_string()),
                Just("-->".to_string()),
                Just("<![CDATA[".to_string()),
                Just("<textarea>".to_string()),
                Just("</textarea>".to_string()),
                Just("<title>".to_string()),
                Just("<table><tr><td>".to_string()),
                Just("<base href=//x>".to_string()),
                Just("<meta http-equiv=refresh content='0;url=//x'>".to_string()),
                Just("<form action=//x><input type=image src=//x formaction=//x>".to_string()),
                Just("<object data=//x>".to_string()),
                Just("<div style='background:URL(//x)'>".to_string()),
                Just("</div>".to_string()),
                Just("<plaintext>".to_string()),
                Just("<xmp>".to_string()),
                Just("<select><option>".to_string()),
                Just("<body onload=x background=//x>".to_string()),
                Just("<frameset><frame src=//x>".to_string()),
                Just("<video poster=//x><source src=//x>".to_string()),
                Just("<link rel=stylesheet href=//x>".to_string()),
                "[a-z <>\"'=&/;:-]{0,12}",
            ];
            proptest::collection::vec(piece, 0..24).prop_map(|v| v.concat())
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

            /// Whatever the archived page, what a browser parses from the rewritten one has no
            /// element that runs or fetches and no attribute beyond the vetted ones: an image
            /// source is ours or inline data, a style fetches nothing.
            #[test]
            fn the_rewritten_page_parses_to_nothing_that_runs_or_fetches(html in markup()) {
                let base = Url::parse("https://site.example/a").unwrap();
                let out = render(html.as_bytes(), Some("text/html"), Some(&base), &banner(), &mut |_| Some("/link/1/snapshot/ab/raw".into()), None, "/raw");
                let doc = scraper::Html::parse_document(&out);
                for node in doc.tree.root().descendants() {
                    let Some(el) = node.value().as_element() else { continue };
                    let name = el.name();
                    prop_assert!(!RUNS_OR_FETCHES.contains(&name), "{name} in {out}");
                    for (attr, value) in el.attrs() {
                        prop_assert!(!attr.starts_with("on"), "{attr} on {name} in {out}");
                        let ours = (name == "img" && attr == "src" && (value.starts_with("/link/") || value.starts_with("data:image/")))
                            || (name == "a" && attr == "href" && value == "/link/7");
                        prop_assert!(ours || !URL_ATTRS.contains(&attr), "{attr}={value:?} on {name} in {out}");
                        if attr == "style" {
                            prop_assert!(!value.to_ascii_lowercase().contains("url("), "{out}");
                        }
                    }
                }
            }

            /// Any bytes with any type: no panic.
            #[test]
            fn any_bytes_render(body in proptest::collection::vec(any::<u8>(), 0..2048), ct in prop_oneof![Just(None), Just(Some("text/html")), Just(Some("text/plain")), Just(Some("image/png")), Just(Some("application/pdf"))]) {
                let _ = render(&body, ct, None, &banner(), &mut |_| None, None, "/raw");
            }
        }
    }

    #[test]
    fn any_bytes_render_without_panicking() {
        let b = banner();
        let mut none = |_: &Url| None;
        for body in [
            &b""[..],
            b"\xff\xfe\x00<",
            b"<",
            b"<!--",
            b"<html><body><pre>",
            b"<a href=\"http://[::1\">x</a>",
            b"<img src=\"http://\xff/\">",
            b"<style></style",
            b"<table><tr><td><table><tr><td></table>",
        ] {
            let _ = render(body, Some("text/html"), None, &b, &mut none, None, "/raw");
            let _ = render(body, None, None, &b, &mut none, None, "/raw");
        }
    }
}
