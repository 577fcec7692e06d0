//! Hugo shortcodes: `{{< name args >}}`, `{{% name args %}}`, closing `{{< /name >}}` and
//! self-closing `{{< name />}}`, with positional and named arguments (`"quoted"`, `` `raw` ``
//! or bare), each with the byte range of its value. `{{</* name */>}}` is Hugo's way of writing a
//! shortcode literally and is not one. What each shortcode means is decided in `template`.

use std::ops::Range;

/// A shortcode argument: its name when named, its value unquoted, and the value's byte range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Arg {
    pub name: Option<String>,
    pub value: String,
    pub span: Range<usize>,
}

/// A shortcode found in the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Shortcode {
    /// Byte range in the text, delimiters included.
    pub range: Range<usize>,
    pub name: String,
    pub closing: bool,
    pub self_closing: bool,
    pub args: Vec<Arg>,
}

impl Shortcode {
    /// The named argument `name`, else the positional argument `pos`.
    pub(crate) fn get(&self, name: &str, pos: Option<usize>) -> Option<&Arg> {
        self.args
            .iter()
            .find(|a| {
                a.name
                    .as_deref()
                    .is_some_and(|n| n.eq_ignore_ascii_case(name))
            })
            .or_else(|| pos.and_then(|p| self.args.iter().filter(|a| a.name.is_none()).nth(p)))
    }
}

/// A shortcode longer than this is not one (an unclosed `{{<` in prose).
const MAX_LEN: usize = 4096;

/// Every shortcode in `text`, in order.
pub(crate) fn find(text: &str) -> Vec<Shortcode> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut pos = 0;
    while let Some(i) = memchr::memmem::find(b.get(pos..).unwrap_or(&[]), b"{{").map(|i| pos + i) {
        match parse(text, i) {
            Parsed::Code(sc) => {
                pos = sc.range.end;
                out.push(sc);
            }
            Parsed::Literal(end) => pos = end,
            Parsed::No => pos = i + 2,
        }
    }
    out
}

enum Parsed {
    Code(Shortcode),
    /// `{{</* ... */>}}`: written out literally, not a shortcode; ends here.
    Literal(usize),
    No,
}

fn skip_ws(b: &[u8], mut p: usize) -> usize {
    while p < b.len() && b[p].is_ascii_whitespace() {
        p += 1;
    }
    p
}

fn parse(text: &str, i: usize) -> Parsed {
    let b = text.as_bytes();
    let close: &[u8] = match b.get(i + 2) {
        Some(b'<') => b">}}",
        Some(b'%') => b"%}}",
        _ => return Parsed::No,
    };
    // A shortcode ends before the next one starts: scanning stops there, so every byte is read
    // by one attempt at most (linear on any input).
    let next = memchr::memmem::find(&b[(i + 2).min(b.len())..], b"{{").map(|n| i + 2 + n);
    let limit = (i + MAX_LEN).min(b.len()).min(next.unwrap_or(b.len()));
    let mut p = skip_ws(b, i + 3);
    if b.get(p..p + 2) == Some(b"/*") {
        let mut end_marker = b"*/".to_vec();
        end_marker.extend_from_slice(close);
        return match memchr::memmem::find(&b[p..limit], &end_marker) {
            Some(e) => Parsed::Literal(p + e + end_marker.len()),
            None => Parsed::No,
        };
    }
    let closing = b.get(p) == Some(&b'/');
    if closing {
        p = skip_ws(b, p + 1);
    }
    let name_start = p;
    while p < limit && (b[p].is_ascii_alphanumeric() || matches!(b[p], b'_' | b'-' | b'.' | b'/')) {
        p += 1;
    }
    if p == name_start {
        return Parsed::No;
    }
    let name = text[name_start..p].to_string();
    let mut args = Vec::new();
    loop {
        p = skip_ws(b, p);
        if p >= limit {
            return Parsed::No;
        }
        if b[p..].starts_with(close) {
            return Parsed::Code(Shortcode {
                range: i..p + close.len(),
                name,
                closing,
                self_closing: false,
                args,
            });
        }
        if b[p] == b'/' && b[p + 1..].starts_with(close) {
            return Parsed::Code(Shortcode {
                range: i..p + 1 + close.len(),
                name,
                closing,
                self_closing: true,
                args,
            });
        }
        let Some((value, span, next)) = token(text, p, limit, close) else {
            return Parsed::No;
        };
        p = next;
        if b.get(p) == Some(&b'=') {
            let Some((v, s, n)) = token(text, p + 1, limit, close) else {
                return Parsed::No;
            };
            args.push(Arg {
                name: Some(value),
                value: v,
                span: s,
            });
            p = n;
        } else {
            args.push(Arg {
                name: None,
                value,
                span,
            });
        }
    }
}

/// One argument token at `p`: `"quoted \" string"`, `` `raw` ``, or a bare word. Returns the
/// value, its range (without quotes) and where the token ends.
fn token(
    text: &str,
    p: usize,
    limit: usize,
    close: &[u8],
) -> Option<(String, Range<usize>, usize)> {
    let b = text.as_bytes();
    match *b.get(p)? {
        b'"' => {
            let mut value = String::new();
            let mut q = p + 1;
            let mut run = q;
            while q < limit {
                match b[q] {
                    b'"' => {
                        value.push_str(&text[run..q]);
                        return Some((value, p + 1..q, q + 1));
                    }
                    b'\\' if matches!(b.get(q + 1), Some(b'"' | b'\\')) => {
                        value.push_str(&text[run..q]);
                        run = q + 1;
                        q += 2;
                    }
                    _ => q += 1,
                }
            }
            None
        }
        b'`' => {
            let end = p + 1 + memchr::memchr(b'`', &b[p + 1..limit])?;
            Some((text[p + 1..end].to_string(), p + 1..end, end + 1))
        }
        _ => {
            let mut q = p;
            while q < limit
                && !b[q].is_ascii_whitespace()
                && b[q] != b'='
                && !b[q..].starts_with(close)
                && !(b[q] == b'/' && b[q + 1..].starts_with(close))
            {
                q += 1;
            }
            if q == p {
                return None;
            }
            Some((text[p..q].to_string(), p..q, q))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_shortcodes_with_arguments() {
        let t = r#"a {{< relref "2019-03-25-sell" >}} b {{% ref "/posts/y.md" %}} {{<relref z>}} {{< figure src="a b.png" alt=`x "y"` link=https://l.org/ >}} {{< /highlight >}} {{< x />}} {{</* relref "no" */>}} {{< "q\"r" >}}"#;
        let f = find(t);
        let names: Vec<_> = f.iter().map(|s| (s.name.as_str(), s.closing)).collect();
        assert_eq!(
            names,
            [
                ("relref", false),
                ("ref", false),
                ("relref", false),
                ("figure", false),
                ("highlight", true),
                ("x", false)
            ]
        );
        assert_eq!(f[0].args[0].value, "2019-03-25-sell");
        assert_eq!(&t[f[0].args[0].span.clone()], "2019-03-25-sell");
        assert_eq!(f[2].args[0].value, "z");
        let fig = &f[3];
        assert_eq!(fig.get("src", None).unwrap().value, "a b.png");
        assert_eq!(fig.get("alt", None).unwrap().value, "x \"y\"");
        assert_eq!(fig.get("link", None).unwrap().value, "https://l.org/");
        assert_eq!(
            &t[fig.get("link", None).unwrap().span.clone()],
            "https://l.org/"
        );
        assert!(f[5].self_closing);
        assert_eq!(
            &t[f[0].range.clone()],
            r#"{{< relref "2019-03-25-sell" >}}"#
        );
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn argument_spans_are_slices(s in "([{}<>%/*\"'` =#a-z-]|\\{\\{<|>\\}\\}|\\{\\{%|%\\}\\}|\\PC)*") {
                for sc in find(&s) {
                    prop_assert!(s.get(sc.range.clone()).is_some());
                    for a in sc.args {
                        prop_assert!(s.get(a.span.clone()).is_some());
                    }
                }
            }
        }
    }

    #[test]
    fn unclosed_is_not_a_shortcode() {
        assert!(find("{{< relref \"x\" ").is_empty());
        assert!(find("{{ plain }} {{<").is_empty());
    }
}
