//! Jekyll's Liquid: `{% tag markup %}` and `{{ expression }}` (with `-` whitespace control).
//! Found here, with `{% raw %}` content left alone and `{% comment %}` / `{% highlight %}`
//! blocks spanned whole; what each means is decided in `template`. The few expressions that build
//! URLs (`site.url`, `site.baseurl`, the `relative_url`, `absolute_url`, `prepend` and `append`
//! filters on strings) are evaluated as Jekyll does (`lib/jekyll/filters/url_filters.rb`).

use std::ops::Range;

use super::SiteVars;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `{{ expr }}`.
    Output(String),
    /// `{% name markup %}`.
    Tag { name: String, markup: String },
    /// A block whose content is not rendered as written (`comment`, `highlight`): nothing in it
    /// is a citation.
    Hidden,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Item {
    pub range: Range<usize>,
    pub kind: Kind,
}

/// A tag or output longer than this is not one.
const MAX_LEN: usize = 2048;

/// The end of the first `{% name %}` tag at or after `from` (for `endraw`, `endcomment`, ...).
fn find_end_tag(text: &str, from: usize, name: &str) -> Option<Range<usize>> {
    let mut pos = from;
    while let Some(i) = text.get(pos..)?.find("{%").map(|i| pos + i) {
        if let Some(item) = parse(text, i) {
            if let Kind::Tag { name: n, .. } = &item.kind {
                if n == name {
                    return Some(item.range);
                }
            }
            pos = item.range.end;
        } else {
            pos = i + 2;
        }
    }
    None
}

/// Every Liquid tag and output in `text`, in order. Hugo shortcodes (`{{<`, `{{%`) are not
/// Liquid and are skipped.
pub(crate) fn find(text: &str) -> Vec<Item> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut pos = 0;
    while let Some(i) = memchr::memchr(b'{', b.get(pos..).unwrap_or(&[])).map(|i| pos + i) {
        let Some(item) = parse(text, i) else {
            pos = i + 1;
            continue;
        };
        pos = item.range.end;
        let block_end = match &item.kind {
            Kind::Tag { name, .. } if name == "raw" => {
                // Raw content is Markdown as written: only the two tags go.
                if let Some(end) = find_end_tag(text, pos, "endraw") {
                    out.push(item);
                    out.push(Item {
                        range: end.clone(),
                        kind: Kind::Tag {
                            name: "endraw".into(),
                            markup: String::new(),
                        },
                    });
                    pos = end.end;
                    continue;
                }
                None
            }
            Kind::Tag { name, .. } if name == "comment" || name == "highlight" => {
                find_end_tag(text, pos, &format!("end{name}"))
            }
            _ => None,
        };
        match block_end {
            Some(end) => {
                out.push(Item {
                    range: item.range.start..end.end,
                    kind: Kind::Hidden,
                });
                pos = end.end;
            }
            None => out.push(item),
        }
    }
    out
}

/// The tag or output at `i`, if one starts there.
fn parse(text: &str, i: usize) -> Option<Item> {
    let b = text.as_bytes();
    let output = match b.get(i + 1)? {
        b'%' => false,
        b'{' if !matches!(b.get(i + 2), Some(b'<' | b'%')) => true,
        _ => return None,
    };
    let limit = (i + MAX_LEN).min(text.len());
    let inner_start = i + 2;
    // The first closing delimiter, unless another tag opens before it (then this is no tag,
    // and the scan resumes there: every byte is looked at a bounded number of times).
    let mut end = None;
    for j in memchr::memchr2_iter(b'{', b'}', &b[inner_start..limit]).map(|j| inner_start + j) {
        if b[j] == b'{' {
            if matches!(b.get(j + 1), Some(b'{' | b'%')) {
                return None;
            }
        } else if output {
            if b.get(j + 1) == Some(&b'}') {
                end = Some(j);
                break;
            }
        } else if j > inner_start && b[j - 1] == b'%' {
            end = Some(j - 1);
            break;
        }
    }
    let end = end?;
    let inner = text[inner_start..end]
        .trim_start_matches('-')
        .trim_end_matches('-')
        .trim();
    let range = i..end + 2;
    if output {
        return Some(Item {
            range,
            kind: Kind::Output(inner.to_string()),
        });
    }
    let (name, markup) = inner.split_once(char::is_whitespace).unwrap_or((inner, ""));
    if name.is_empty() {
        return None;
    }
    Some(Item {
        range,
        kind: Kind::Tag {
            name: name.to_string(),
            markup: markup.trim().to_string(),
        },
    })
}

/// Evaluates an output expression that builds a URL, or `None` when it does anything else.
pub(crate) fn eval(expr: &str, vars: &SiteVars) -> Option<String> {
    let mut parts = split_pipes(expr).into_iter();
    let mut value = operand(parts.next()?.trim(), vars)?;
    for filter in parts {
        let filter = filter.trim();
        let (name, arg) = match filter.split_once(':') {
            Some((n, a)) => (n.trim(), Some(a.trim())),
            None => (filter, None),
        };
        value = match (name, arg) {
            ("relative_url", None) => relative_url(&value, vars),
            ("absolute_url", None) => absolute_url(&value, vars),
            ("prepend", Some(a)) => operand(a, vars)? + &value,
            ("append", Some(a)) => value + &operand(a, vars)?,
            _ => return None,
        };
    }
    Some(value)
}

/// Splits at `|` outside quotes.
fn split_pipes(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut quote = None;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '|') => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out
}

fn operand(s: &str, vars: &SiteVars) -> Option<String> {
    let s = s.trim();
    for q in ['"', '\''] {
        if let Some(inner) = s.strip_prefix(q).and_then(|r| r.strip_suffix(q)) {
            return Some(inner.to_string());
        }
    }
    match s {
        "site.url" => Some(vars.url.clone()),
        "site.baseurl" => Some(vars.baseurl.clone()),
        _ => None,
    }
}

fn has_scheme(s: &str) -> bool {
    s.split_once(':').is_some_and(|(scheme, _)| {
        !scheme.is_empty()
            && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    })
}

fn leading_slash(s: &str) -> String {
    if s.is_empty() || s.starts_with('/') {
        s.to_string()
    } else {
        format!("/{s}")
    }
}

/// Jekyll's `relative_url`: the site's `baseurl` (without a trailing `/`) and the input, each
/// with a leading `/`; absolute URLs are left alone.
pub(crate) fn relative_url(input: &str, vars: &SiteVars) -> String {
    if has_scheme(input) {
        return input.to_string();
    }
    leading_slash(vars.baseurl.trim_end_matches('/')) + &leading_slash(input)
}

/// Jekyll's `absolute_url`: `url` followed by the relative URL, or the relative URL alone when
/// the site has no `url`.
pub(crate) fn absolute_url(input: &str, vars: &SiteVars) -> String {
    if has_scheme(input) {
        return input.to_string();
    }
    if vars.url.is_empty() {
        return relative_url(input, vars);
    }
    vars.url.clone() + &relative_url(input, vars)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_tags_outputs_and_blocks() {
        let t = "a {% post_url 2010-07-21-name %} {{ site.baseurl }} {{< relref x >}} {% raw %}{{ x }}{% endraw %} {% comment %}[x](https://c.org/){% endcomment %} {%- link _posts/a.md -%}";
        let items = find(t);
        let kinds: Vec<_> = items.iter().map(|i| &i.kind).collect();
        assert_eq!(
            kinds,
            [
                &Kind::Tag {
                    name: "post_url".into(),
                    markup: "2010-07-21-name".into()
                },
                &Kind::Output("site.baseurl".into()),
                &Kind::Tag {
                    name: "raw".into(),
                    markup: String::new()
                },
                &Kind::Tag {
                    name: "endraw".into(),
                    markup: String::new()
                },
                &Kind::Hidden,
                &Kind::Tag {
                    name: "link".into(),
                    markup: "_posts/a.md".into()
                },
            ]
        );
        assert_eq!(
            &t[items[4].range.clone()],
            "{% comment %}[x](https://c.org/){% endcomment %}"
        );
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn finds_and_evaluates_without_panicking(s in "([{}%|'\" :a-z./-]|\\{\\{|\\{%|%\\}|\\}\\}|relative_url|absolute_url|prepend|site\\.url|\\PC)*") {
                let v = SiteVars { url: "https://x.org".into(), baseurl: "/b".into() };
                for item in find(&s) {
                    prop_assert!(s.get(item.range.clone()).is_some());
                    if let Kind::Output(e) = item.kind {
                        let _ = eval(&e, &v);
                    }
                }
                let _ = eval(&s, &v);
            }
        }
    }

    #[test]
    fn evaluates_url_expressions_like_jekyll() {
        let v = SiteVars {
            url: "https://ex.org".into(),
            baseurl: "/blog/".into(),
        };
        assert_eq!(eval("site.baseurl", &v).as_deref(), Some("/blog/"));
        assert_eq!(
            eval("\"/assets/x.png\" | relative_url", &v).as_deref(),
            Some("/blog/assets/x.png")
        );
        assert_eq!(
            eval("'assets/x.png' | absolute_url", &v).as_deref(),
            Some("https://ex.org/blog/assets/x.png")
        );
        assert_eq!(
            eval("\"/x\" | prepend: site.baseurl", &v).as_deref(),
            Some("/blog//x")
        );
        assert_eq!(
            eval("\"https://o.org/\" | relative_url", &v).as_deref(),
            Some("https://o.org/")
        );
        assert_eq!(eval("page.url", &v), None);
        assert_eq!(eval("\"x\" | upcase", &v), None);
        let none = SiteVars::default();
        assert_eq!(eval("'/a' | absolute_url", &none).as_deref(), Some("/a"));
    }
}
