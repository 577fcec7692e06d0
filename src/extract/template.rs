//! Template syntax in posts: what Hugo shortcodes and Jekyll Liquid render, for extraction.
//!
//! A site generator expands these before Markdown is parsed, so `[x]({{ site.baseurl }}/a.png)`
//! is a link and `[x]({% post_url 2010-07-21-x %})` cites another post. Each construct is masked
//! with a placeholder of the same byte length (a private-use character, its number, padding), so
//! that the parser sees a link where the generator would render one and every offset stays
//! where it was; targets holding placeholders are then rewritten with what the constructs stand
//! for. Shortcodes that cite by themselves (`figure`, `youtube`, ...) and references written
//! outside links add their own citations; those inside code do not.
//!
//! The built-in Hugo shortcodes read here are those of `tpl/tplimpl/embedded/templates/_shortcodes`
//! in Hugo's repository (and the `tweet`/`twitter`/`gist` ones it had until v0.156).

use std::borrow::Cow;
use std::ops::Range;

use super::shortcode::{self, Shortcode};
use super::{liquid, CitationKind, Lines, Options, RawCitation, RefStyle, Reference, Written};

/// Starts a placeholder: a private-use character no post contains on purpose.
const MARK: char = '\u{E000}';
/// Stands for a construct that renders a block (a figure, an embed) at the start of a line.
const BLOCK: char = '\u{E001}';
const PAD: char = 'x';

/// A citation a construct makes by itself; `span` is in body offsets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Cite {
    pub target: String,
    pub kind: CitationKind,
    pub text: String,
    pub span: Range<usize>,
    /// An argument that is the target itself can be rewritten; an id or a whole shortcode not.
    pub written: Written,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum What {
    /// Renders as this text (`{{ site.baseurl }}`, `{{ "/x" | relative_url }}`).
    Value(String),
    /// Renders the URL of another post or file of the site.
    Ref {
        target: String,
        reference: Reference,
    },
    /// Renders markup that cites these (`figure`, `youtube`, ...).
    Cites(Vec<Cite>),
    /// Renders text that cannot be known here: a link built with it cannot be resolved.
    Unknown,
    /// Renders nothing that matters for citations (control flow, closing tags, other shortcodes).
    Silent,
    /// A block whose content is code or a comment: nothing in it is a citation.
    Hidden,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Construct {
    /// Byte range in the body.
    pub range: Range<usize>,
    pub what: What,
}

/// Every construct of the body, in order and not overlapping.
pub(crate) fn find(body: &str, opts: &Options) -> Vec<Construct> {
    if !body.contains('{') {
        return Vec::new();
    }
    let mut all = Vec::new();
    if opts.hugo {
        let codes = shortcode::find(body);
        let mut skip_until = 0;
        for (i, sc) in codes.iter().enumerate() {
            if sc.range.start < skip_until {
                continue;
            }
            // `highlight` and `comment` blocks: code or nothing, up to their closing tag.
            if !sc.closing
                && !sc.self_closing
                && matches!(sc.name.as_str(), "highlight" | "comment")
            {
                if let Some(close) = codes[i + 1..]
                    .iter()
                    .find(|c| c.closing && c.name == sc.name)
                {
                    all.push(Construct {
                        range: sc.range.start..close.range.end,
                        what: What::Hidden,
                    });
                    skip_until = close.range.end;
                    continue;
                }
            }
            all.push(hugo(body, sc));
        }
    }
    if let Some(vars) = &opts.liquid {
        for item in liquid::find(body) {
            let what = match item.kind {
                liquid::Kind::Hidden => What::Hidden,
                liquid::Kind::Output(expr) => match liquid::eval(&expr, vars) {
                    Some(v) => What::Value(v),
                    None => What::Unknown,
                },
                liquid::Kind::Tag { name, markup } => match name.as_str() {
                    "post_url" | "link" if !markup.is_empty() && !markup.contains("{{") => {
                        What::Ref {
                            target: markup,
                            reference: Reference {
                                style: if name == "link" {
                                    RefStyle::JekyllLink
                                } else {
                                    RefStyle::JekyllPostUrl
                                },
                                lang: None,
                                output_format: None,
                            },
                        }
                    }
                    "post_url" | "link" => What::Unknown,
                    _ => What::Silent,
                },
            };
            let mut range = item.range;
            let mut what = what;
            if let What::Ref { target, .. } = &mut what {
                let frag = fragment_after(body, range.end);
                if !target.contains('#') {
                    target.push_str(frag);
                }
                range.end += frag.len();
            }
            all.push(Construct { range, what });
        }
    }
    all.sort_by_key(|c| c.range.start);
    // Hidden blocks swallow what is inside them; otherwise the first construct wins.
    let mut out: Vec<Construct> = Vec::with_capacity(all.len());
    for c in all {
        if out.last().is_some_and(|l| c.range.start < l.range.end) {
            continue;
        }
        out.push(c);
    }
    out
}

/// `#fragment` written right after a reference (`{{< relref "x" >}}#intro`).
fn fragment_after(body: &str, at: usize) -> &str {
    let rest = body.get(at..).unwrap_or("");
    if !rest.starts_with('#') {
        return "";
    }
    let len = 1 + rest[1..]
        .bytes()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'%'))
        .count();
    if len == 1 {
        ""
    } else {
        &rest[..len]
    }
}

/// What a Hugo shortcode renders, as far as citations go.
fn hugo(body: &str, sc: &Shortcode) -> Construct {
    let range = sc.range.clone();
    if sc.closing {
        return Construct {
            range,
            what: What::Silent,
        };
    }
    let what = match sc.name.as_str() {
        "ref" | "relref" => match arg_value(sc, "path", Some(0)) {
            Some(path) => return hugo_ref(body, sc, path),
            None => What::Unknown,
        },
        "figure" => figure(body, sc),
        "youtube" => embed_by_id(sc, "https://www.youtube.com/watch?v="),
        "vimeo" => embed_by_id(sc, "https://vimeo.com/"),
        "x" | "tweet" | "twitter" => post_on_x(sc),
        "instagram" => match arg_value(sc, "id", Some(0)) {
            Some(id) => whole(
                sc,
                format!("https://www.instagram.com/p/{id}"),
                CitationKind::Embed,
            ),
            None => What::Silent,
        },
        "gist" => match (arg_value(sc, "user", Some(0)), arg_value(sc, "id", Some(1))) {
            (Some(user), Some(id)) => whole(
                sc,
                format!("https://gist.github.com/{user}/{id}"),
                CitationKind::Embed,
            ),
            _ => What::Silent,
        },
        "qr" => match sc.get("text", Some(0)) {
            Some(a) if a.value.starts_with("http://") || a.value.starts_with("https://") => {
                What::Cites(vec![Cite {
                    target: a.value.trim().to_string(),
                    kind: CitationKind::Link,
                    text: String::new(),
                    span: a.span.clone(),
                    written: arg_written(body, a),
                }])
            }
            _ => What::Silent,
        },
        _ => What::Silent,
    };
    Construct { range, what }
}

/// An argument's value, trimmed, when it is not blank.
fn arg_value(sc: &Shortcode, name: &str, pos: Option<usize>) -> Option<String> {
    sc.get(name, pos)
        .map(|a| a.value.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// A citation made by the whole shortcode (its target built from arguments, never rewritten).
fn whole(sc: &Shortcode, target: String, kind: CitationKind) -> What {
    What::Cites(vec![Cite {
        target,
        kind,
        text: arg_value(sc, "title", None).unwrap_or_default(),
        span: sc.range.clone(),
        written: Written::Fixed,
    }])
}

/// How an argument whose value is the target is written: rewritable when nothing around the
/// value was trimmed away.
fn arg_written(body: &str, a: &shortcode::Arg) -> Written {
    let b = body.as_bytes();
    let quote = a
        .span
        .start
        .checked_sub(1)
        .and_then(|i| b.get(i))
        .copied()
        .filter(|q| matches!(q, b'"' | b'`') && b.get(a.span.end) == Some(q));
    if a.value.trim() == a.value {
        Written::ShortcodeArg { quote }
    } else {
        Written::Fixed
    }
}

/// `ref` and `relref`: a reference to a page of the site, with a `#fragment` written right
/// after the shortcode taken in.
fn hugo_ref(body: &str, sc: &Shortcode, path: String) -> Construct {
    let range = sc.range.clone();
    let frag = fragment_after(body, range.end);
    let target = if frag.is_empty() || path.contains('#') {
        path
    } else {
        format!("{path}{frag}")
    };
    Construct {
        range: range.start..range.end + frag.len(),
        what: What::Ref {
            target,
            reference: Reference {
                style: RefStyle::Hugo,
                lang: arg_value(sc, "lang", None),
                output_format: arg_value(sc, "outputFormat", Some(1)),
            },
        },
    }
}

/// `figure`: the image, its link and its attribution link, each where it is written.
fn figure(body: &str, sc: &Shortcode) -> What {
    let text = arg_value(sc, "alt", None)
        .or_else(|| arg_value(sc, "caption", None))
        .or_else(|| arg_value(sc, "title", None))
        .unwrap_or_default();
    let mut cites = Vec::new();
    for (name, kind) in [
        ("src", CitationKind::Image),
        ("link", CitationKind::Link),
        ("attrlink", CitationKind::Link),
    ] {
        if let Some(a) = sc.get(name, None).filter(|a| !a.value.trim().is_empty()) {
            let text = if name == "attrlink" {
                arg_value(sc, "attr", None).unwrap_or_default()
            } else {
                text.clone()
            };
            cites.push(Cite {
                target: a.value.trim().to_string(),
                kind,
                text,
                span: a.span.clone(),
                written: arg_written(body, a),
            });
        }
    }
    What::Cites(cites)
}

/// `youtube`, `vimeo`: an embed of the video whose id is the first argument.
fn embed_by_id(sc: &Shortcode, url_before_id: &str) -> What {
    match sc.get("id", Some(0)) {
        Some(a) => What::Cites(vec![Cite {
            target: format!("{url_before_id}{}", a.value.trim()),
            kind: CitationKind::Embed,
            text: arg_value(sc, "title", None).unwrap_or_default(),
            span: a.span.clone(),
            written: Written::Fixed,
        }]),
        None => What::Silent,
    }
}

/// `x`, `tweet`, `twitter`: the post by user and id, or by a numeric id alone.
fn post_on_x(sc: &Shortcode) -> What {
    let host = if sc.name == "x" {
        "x.com"
    } else {
        "twitter.com"
    };
    match (
        arg_value(sc, "user", None),
        arg_value(sc, "id", None).or(arg_value(sc, "", Some(0))),
    ) {
        (Some(user), Some(id)) => whole(
            sc,
            format!("https://{host}/{user}/status/{id}"),
            CitationKind::Embed,
        ),
        (None, Some(id)) if id.bytes().all(|c| c.is_ascii_digit()) => whole(
            sc,
            format!("https://{host}/i/status/{id}"),
            CitationKind::Embed,
        ),
        _ => What::Silent,
    }
}

/// The placeholder of construct `n` for a range of `len` bytes, when one fits on one line.
fn placeholder(n: usize, len: usize) -> Option<String> {
    let head = format!("{MARK}{n}");
    (head.len() <= len).then(|| {
        let mut s = head;
        while s.len() < len {
            s.push(PAD);
        }
        s
    })
}

/// What stands before `at` on its line.
fn before_on_line(body: &str, at: usize) -> &str {
    let head = body.get(..at).unwrap_or("");
    match head.rfind('\n') {
        Some(i) => &head[i + 1..],
        None => head,
    }
}

/// The body with every construct masked: values, references and unknown outputs by a
/// placeholder, everything else by spaces (line breaks kept, so lines and blocks stay).
pub(crate) fn mask<'a>(body: &'a str, constructs: &[Construct]) -> Cow<'a, str> {
    if constructs.is_empty() {
        return Cow::Borrowed(body);
    }
    let mut out = String::with_capacity(body.len());
    let mut pos = 0;
    for (n, c) in constructs.iter().enumerate() {
        let (Some(before), Some(text)) = (body.get(pos..c.range.start), body.get(c.range.clone()))
        else {
            continue;
        };
        out.push_str(before);
        let ph = match c.what {
            What::Value(_) | What::Ref { .. } | What::Unknown if !text.contains('\n') => {
                placeholder(n, text.len())
            }
            _ => None,
        };
        match ph {
            Some(p) => out.push_str(&p),
            None => {
                // Spaces at the start of a line would make an indented code block of what
                // follows on it: a construct there starts with a visible mark instead.
                let line_start = before_on_line(body, c.range.start).trim().is_empty();
                let mut rest = text.as_bytes();
                if line_start
                    && rest.len() >= BLOCK.len_utf8()
                    && !rest[..BLOCK.len_utf8()].contains(&b'\n')
                {
                    out.push(BLOCK);
                    rest = &rest[BLOCK.len_utf8()..];
                }
                out.extend(rest.iter().map(|&b| if b == b'\n' { '\n' } else { ' ' }));
            }
        }
        pos = c.range.end;
    }
    out.push_str(body.get(pos..).unwrap_or(""));
    debug_assert_eq!(out.len(), body.len());
    Cow::Owned(out)
}

/// A target with its placeholders replaced.
enum Sub {
    Text(String),
    Ref(String, Reference),
    Unknown,
}

/// Replaces the placeholders in `s`, marking the constructs used.
fn substitute(s: &str, constructs: &[Construct], used: &mut [bool]) -> Sub {
    let mut text = String::new();
    let mut reference: Option<(String, Reference)> = None;
    let mut after_ref = String::new();
    let mut unknown = false;
    let mut rest = s;
    while let Some(i) = rest.find(MARK) {
        if reference.is_some() {
            after_ref.push_str(&rest[..i]);
        } else {
            text.push_str(&rest[..i]);
        }
        let tail = &rest[i + MARK.len_utf8()..];
        let digits = tail.bytes().take_while(u8::is_ascii_digit).count();
        let n: Option<usize> = tail[..digits].parse().ok();
        let mut tail = &tail[digits..];
        match n.and_then(|n| constructs.get(n).map(|c| (n, c))) {
            Some((n, c)) => {
                used[n] = true;
                let pad = c.range.len().saturating_sub(MARK.len_utf8() + digits);
                let padded = tail
                    .bytes()
                    .take(pad)
                    .take_while(|b| *b == PAD as u8)
                    .count();
                tail = &tail[padded..];
                match &c.what {
                    What::Value(v) => {
                        if reference.is_some() {
                            after_ref.push_str(v);
                        } else {
                            text.push_str(v);
                        }
                    }
                    What::Ref {
                        target,
                        reference: r,
                    } if reference.is_none() => {
                        reference = Some((target.clone(), r.clone()));
                    }
                    _ => unknown = true,
                }
            }
            None => unknown = true,
        }
        rest = tail;
    }
    if let Some((target, r)) = reference {
        after_ref.push_str(rest);
        // `{% post_url x %}#part`: the fragment goes with the reference.
        let target = match after_ref.trim() {
            frag if frag.starts_with('#') && frag.len() > 1 && !target.contains('#') => {
                format!("{target}{frag}")
            }
            _ => target,
        };
        return Sub::Ref(target, r);
    }
    if unknown {
        return Sub::Unknown;
    }
    text.push_str(rest);
    Sub::Text(text)
}

/// Text with placeholders replaced by the values they stand for (others dropped).
fn clean_text(s: &str, constructs: &[Construct]) -> String {
    if !s.contains(MARK) {
        return s.to_string();
    }
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find(MARK) {
        out.push_str(&rest[..i]);
        let tail = &rest[i + MARK.len_utf8()..];
        let digits = tail.bytes().take_while(u8::is_ascii_digit).count();
        let n: Option<usize> = tail[..digits].parse().ok();
        let tail = tail[digits..].trim_start_matches(PAD);
        if let Some(What::Value(v)) = n.and_then(|n| constructs.get(n)).map(|c| &c.what) {
            out.push_str(v);
        }
        rest = tail;
    }
    out.push_str(rest);
    super::collapse(&out)
}

/// Rewrites the citations found from `first` on whose targets hold placeholders, then adds the
/// citations constructs make by themselves (outside code). Spans and `code` are body offsets;
/// `offset` is the body's offset in the file's text.
pub(crate) fn resolve(
    constructs: &[Construct],
    code: &[Range<usize>],
    offset: usize,
    lines: &Lines,
    out: &mut Vec<RawCitation>,
    first: usize,
) {
    if constructs.is_empty() {
        return;
    }
    let mut used = vec![false; constructs.len()];
    let mut keep = vec![true; out.len()];
    for (i, c) in out.iter_mut().enumerate().skip(first) {
        // A target written with template code, or beside it, is the generator's to render:
        // its bytes are never rewritten.
        let body_span = c.span.start.saturating_sub(offset)..c.span.end.saturating_sub(offset);
        if c.target.contains(MARK)
            || constructs
                .iter()
                .any(|k| k.range.start < body_span.end && body_span.start < k.range.end)
        {
            c.written = Written::Fixed;
        }
        if c.target.contains(MARK) {
            match substitute(&c.target, constructs, &mut used) {
                Sub::Text(t) => c.target = t.trim().to_string(),
                Sub::Ref(target, reference) => {
                    c.target = target;
                    c.kind = CitationKind::PostRef;
                    c.reference = Some(reference);
                }
                // A link built from template code whose output cannot be known here.
                Sub::Unknown => keep[i] = false,
            }
        }
        if c.text.contains(MARK) {
            c.text = clean_text(&c.text, constructs);
        }
        if let Some(q) = c.quote.as_mut().filter(|q| q.contains(MARK)) {
            *q = clean_text(q, constructs);
        }
    }
    let mut i = 0;
    out.retain(|_| {
        i += 1;
        keep[i - 1]
    });
    for (n, c) in constructs.iter().enumerate() {
        if used[n] || code.iter().any(|r| r.contains(&c.range.start)) {
            continue;
        }
        match &c.what {
            What::Ref { target, reference } => out.push(RawCitation {
                target: target.clone(),
                line: lines.line_of(offset + c.range.start),
                text: String::new(),
                kind: CitationKind::PostRef,
                span: offset + c.range.start..offset + c.range.end,
                quote: None,
                reference: Some(reference.clone()),
                written: Written::Fixed,
                after: None,
            }),
            What::Cites(cites) => {
                for cite in cites {
                    out.push(RawCitation {
                        target: cite.target.clone(),
                        line: lines.line_of(offset + cite.span.start),
                        text: cite.text.clone(),
                        kind: cite.kind,
                        span: offset + cite.span.start..offset + cite.span.end,
                        quote: None,
                        reference: None,
                        written: cite.written,
                        after: None,
                    })
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

            /// Masking keeps every byte offset and every line break where it was, on any text.
            #[test]
            fn masks_keep_offsets_and_lines(s in "([{}<>%/*\"'` =#\n\\ax-]|\\{\\{< |\\{\\{% |\\{% |\\{\\{ | >\\}\\}| %\\}\\}| %\\}| \\}\\}|relref|figure src=|post_url|highlight|comment|raw|\\PC)*") {
                let cs = find(&s, &Options::default());
                let m = mask(&s, &cs);
                prop_assert_eq!(m.len(), s.len());
                let lines = |t: &str| t.match_indices('\n').map(|(i, _)| i).collect::<Vec<_>>();
                prop_assert_eq!(lines(&m), lines(&s));
                for w in cs.windows(2) {
                    prop_assert!(w[0].range.end <= w[1].range.start);
                }
                for c in &cs {
                    prop_assert!(s.get(c.range.clone()).is_some());
                }
            }
        }
    }

    #[test]
    fn masks_keep_length_and_lines() {
        let body =
            "a [x]({{ site.baseurl }}/p.png) {{< figure\n src=\"f.png\" >}} {% if x %}y{% endif %}";
        let cs = find(body, &Options::default());
        let m = mask(body, &cs);
        assert_eq!(m.len(), body.len());
        assert_eq!(m.matches('\n').count(), 1);
        assert!(m.contains(&format!("[x]({MARK}0")));
        assert!(!m.contains("figure"));
    }
}
