//! Hugo `ref`/`relref` shortcodes: `{{< relref "path" >}}`, `{{% ref "path" %}}`, with an optional
//! `#fragment` inside the argument or right after the shortcode. They cite another post.

use std::sync::OnceLock;

use regex::Regex;

/// A shortcode found in the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Shortcode {
    /// Byte range in the text, including a fragment written right after it.
    pub start: usize,
    pub end: usize,
    /// The referenced post, with its fragment if any (`foo.md#intro`).
    pub target: String,
}

fn pattern() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(
            r#"\{\{[<%]\s*(?:rel)?ref\s+(?:"([^"\n]*)"|'([^'\n]*)'|([^\s"'>%}]+))\s*[>%]\}\}(#[A-Za-z0-9_\-%]+)?"#,
        )
        .expect("constant regex")
    })
}

/// Every ref/relref shortcode in `text`, in order.
pub(crate) fn find(text: &str) -> Vec<Shortcode> {
    if !text.contains("{{") {
        return Vec::new();
    }
    pattern()
        .captures_iter(text)
        .filter_map(|c| {
            let m = c.get(0)?;
            let arg = c.get(1).or(c.get(2)).or(c.get(3))?.as_str().trim();
            let mut target = arg.to_string();
            if let Some(frag) = c.get(4) {
                if !target.contains('#') {
                    target.push_str(frag.as_str());
                }
            }
            Some(Shortcode {
                start: m.start(),
                end: m.end(),
                target,
            })
        })
        .collect()
}

/// The text with each shortcode replaced by a same-length placeholder destination
/// (`cwref:N` padded with spaces), so offsets and lines stay as they were and Markdown parses
/// `[text]({{< relref "x" >}})` as a link to `cwref:N`.
pub(crate) fn mask(text: &str, codes: &[Shortcode]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut pos = 0;
    for (i, c) in codes.iter().enumerate() {
        out.push_str(&text[pos..c.start]);
        let ph = format!("{PLACEHOLDER}{i}");
        let len = c.end - c.start;
        if ph.len() <= len {
            out.push_str(&ph);
            out.extend(std::iter::repeat_n(' ', len - ph.len()));
        } else {
            out.extend(std::iter::repeat_n(' ', len));
        }
        pos = c.end;
    }
    out.push_str(&text[pos..]);
    out
}

pub(crate) const PLACEHOLDER: &str = "cwref:";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_variants() {
        let t = r#"a [x]({{< relref "2019-03-25-sell" >}}) b (({{< ref "/posts/y.md" >}})) {{% relref z %}}#frag {{< relref "w" >}}}"#;
        let f = find(t);
        let targets: Vec<_> = f.iter().map(|s| s.target.as_str()).collect();
        assert_eq!(targets, ["2019-03-25-sell", "/posts/y.md", "z#frag", "w"]);
        let m = mask(t, &f);
        assert_eq!(m.len(), t.len());
        assert!(m.contains("[x](cwref:0"));
    }
}
