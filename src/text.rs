//! Text helpers shared across the core: scraped text is data, so control characters are
//! neutralised before it reaches a terminal or a log line; HTML character references decoded the
//! same way wherever a post or a page carries them. Pure.

/// Makes scraped or user text safe to print on a terminal: control characters (including ESC,
/// which starts terminal escape sequences) are shown escaped, not sent.
pub fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_control() && c != '\t' {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// Like [`sanitize`] but keeps line breaks: for multi-line text such as a snapshot's text.
pub fn sanitize_block(s: &str) -> String {
    s.split('\n').map(sanitize).collect::<Vec<_>>().join("\n")
}

/// Decodes HTML character references: numeric ones and the named ones that appear in URLs and
/// quoted prose. Unknown names are kept as written.
pub fn decode_entities(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.contains('&') {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp + 1..];
        let end = after
            .char_indices()
            .take(12)
            .find(|&(_, c)| c == ';')
            .map(|(i, _)| i);
        let decoded = end.and_then(|e| entity(&after[..e]).map(|c| (c, e)));
        match decoded {
            Some((c, e)) => {
                out.push(c);
                rest = &after[e + 1..];
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    std::borrow::Cow::Owned(out)
}

fn entity(name: &str) -> Option<char> {
    if let Some(num) = name.strip_prefix('#') {
        let n = match num.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => num.parse().ok()?,
        };
        return Some(
            char::from_u32(n)
                .filter(|&c| c != '\0')
                .unwrap_or('\u{FFFD}'),
        );
    }
    Some(match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        "nbsp" => '\u{a0}',
        "ndash" => '–',
        "minus" => '\u{2212}',
        "mdash" => '—',
        "hellip" => '…',
        "lsquo" => '‘',
        "rsquo" => '’',
        "sbquo" => '‚',
        "ldquo" => '“',
        "rdquo" => '”',
        "bdquo" => '„',
        "laquo" => '«',
        "raquo" => '»',
        "shy" => '\u{ad}',
        "copy" => '©',
        "reg" => '®',
        "auml" => 'ä',
        "ouml" => 'ö',
        "uuml" => 'ü',
        "Auml" => 'Ä',
        "Ouml" => 'Ö',
        "Uuml" => 'Ü',
        "szlig" => 'ß',
        "eacute" => 'é',
        "egrave" => 'è',
        "aacute" => 'á',
        "agrave" => 'à',
        "ccedil" => 'ç',
        "ntilde" => 'ñ',
        "euro" => '€',
        "tilde" => '˜',
        "sol" => '/',
        "colon" => ':',
        "num" => '#',
        "quest" => '?',
        "equals" => '=',
        "percnt" => '%',
        "lowbar" => '_',
        "lpar" => '(',
        "rpar" => ')',
        _ => return None,
    })
}

/// The words of `s` as `str::split_whitespace` finds them (runs of characters that are not
/// `char::is_whitespace`), found a byte at a time where the text is ASCII.
pub fn words(s: &str) -> Runs<'_, impl Fn(u8) -> bool, impl Fn(char) -> bool> {
    Runs::new(
        s,
        |b| !matches!(b, b'\t'..=b'\r' | b' '),
        |c| !c.is_whitespace(),
    )
}

/// The runs of letters and digits of `s` (`char::is_alphanumeric`), as
/// `s.split(|c: char| !c.is_alphanumeric())` finds them less its empty parts, found a byte at a
/// time where the text is ASCII.
pub fn alphanumeric_runs(s: &str) -> Runs<'_, impl Fn(u8) -> bool, impl Fn(char) -> bool> {
    Runs::new(s, |b: u8| b.is_ascii_alphanumeric(), char::is_alphanumeric)
}

/// The maximal runs of a text's characters that `keep` keeps, in order: what `str::split` on the
/// others gives without its empty parts. `ascii` answers as `keep` does for an ASCII byte, so
/// that an ASCII byte is never decoded as a character (`str::split` with a predicate decodes
/// every character and calls the predicate through a searcher: most of the time of counting a
/// page's words, which every check does several times).
pub struct Runs<'a, A, K> {
    s: &'a str,
    at: usize,
    ascii: A,
    keep: K,
}

impl<'a, A: Fn(u8) -> bool, K: Fn(char) -> bool> Runs<'a, A, K> {
    fn new(s: &'a str, ascii: A, keep: K) -> Self {
        Runs {
            s,
            at: 0,
            ascii,
            keep,
        }
    }

    /// Whether the character at byte `i` is kept, and its length in bytes.
    fn kept_at(&self, i: usize) -> (bool, usize) {
        let bytes = self.s.as_bytes();
        match bytes.get(i) {
            Some(&b) if b < 0x80 => ((self.ascii)(b), 1),
            _ => match self.s.get(i..).and_then(|t| t.chars().next()) {
                Some(c) => ((self.keep)(c), c.len_utf8()),
                // Never met: `i` only ever moves by whole characters.
                None => (false, 1),
            },
        }
    }
}

impl<'a, A: Fn(u8) -> bool, K: Fn(char) -> bool> Iterator for Runs<'a, A, K> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let len = self.s.len();
        let mut i = self.at;
        let mut start = None;
        while i < len {
            let (kept, n) = self.kept_at(i);
            match (kept, start) {
                (true, None) => start = Some(i),
                (false, Some(st)) => {
                    self.at = i + n;
                    return self.s.get(st..i);
                }
                _ => {}
            }
            i += n;
        }
        self.at = len;
        start.and_then(|st| self.s.get(st..))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_ascii_answers_are_the_characters_answers() {
        for b in 0u8..0x80 {
            let c = b as char;
            let one = c.to_string();
            let w: Vec<&str> = words(&one).collect();
            assert_eq!(w.is_empty(), c.is_whitespace(), "{b:#x}");
            let a: Vec<&str> = alphanumeric_runs(&one).collect();
            assert_eq!(a.is_empty(), !c.is_alphanumeric(), "{b:#x}");
        }
    }

    #[test]
    fn runs_of_mixed_text() {
        let s = "\u{a0}Grüße,\u{2003}über\tdas 12:30\u{3000}Ω\u{b}x ";
        assert_eq!(
            words(s).collect::<Vec<_>>(),
            s.split_whitespace().collect::<Vec<_>>()
        );
        assert_eq!(
            alphanumeric_runs(s).collect::<Vec<_>>(),
            ["Grüße", "über", "das", "12", "30", "Ω", "x"]
        );
    }

    proptest! {
        #[test]
        fn words_are_split_whitespace(s in any::<String>()) {
            let ours: Vec<&str> = words(&s).collect();
            let std: Vec<&str> = s.split_whitespace().collect();
            prop_assert_eq!(ours, std);
        }

        #[test]
        fn alphanumeric_runs_are_split_on_the_rest(s in any::<String>()) {
            let ours: Vec<&str> = alphanumeric_runs(&s).collect();
            let std: Vec<&str> = s
                .split(|c: char| !c.is_alphanumeric())
                .filter(|w| !w.is_empty())
                .collect();
            prop_assert_eq!(ours, std);
        }

        #[test]
        fn runs_of_lossily_decoded_bytes(b in proptest::collection::vec(any::<u8>(), 0..256)) {
            let s = String::from_utf8_lossy(&b);
            let ours: Vec<&str> = words(&s).collect();
            prop_assert_eq!(ours, s.split_whitespace().collect::<Vec<_>>());
        }
    }
}
