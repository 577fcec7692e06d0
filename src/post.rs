//! Posts: front matter (YAML between `---` lines as Jekyll and Hugo write it, TOML between `+++`
//! lines as Hugo writes it) split from the body and read into the few facts citewatch needs.
//!
//! Pure: takes the file's text, returns values. Malformed front matter is a warning, never an
//! error: the body is still read for citations.

/// What citewatch reads from a post's front matter.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FrontMatter {
    pub title: Option<String>,
    /// As written (`2019-03-25T09:12:34Z`, `2019-03-25`, ...).
    pub date: Option<String>,
    pub draft: bool,
    /// The post's published path or URL (`url` key).
    pub url: Option<String>,
    /// A per-post permalink (`permalink` key).
    pub permalink: Option<String>,
    pub slug: Option<String>,
    /// Top-level scalar values with the 1-based line of their key in the file, for user-named
    /// keys whose URLs are citations. Lists of scalars give one entry per item.
    pub values: Vec<(String, String, u32)>,
}

impl FrontMatter {
    /// The date normalized to RFC 3339 when it parses, else as written.
    pub fn date_string(&self) -> Option<String> {
        let d = self.date.as_deref()?.trim();
        if d.is_empty() {
            return None;
        }
        Some(
            parse_date(d)
                .map(|(y, m, day)| {
                    if d.len() > 10 {
                        chrono::DateTime::parse_from_rfc3339(d)
                            .map(|t| {
                                t.with_timezone(&chrono::Utc)
                                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                            })
                            .unwrap_or_else(|_| format!("{y:04}-{m:02}-{day:02}"))
                    } else {
                        format!("{y:04}-{m:02}-{day:02}")
                    }
                })
                .unwrap_or_else(|| d.to_string()),
        )
    }

    /// Year, month and day of the post's date, when it has one that parses.
    pub fn ymd(&self) -> Option<(i32, u32, u32)> {
        parse_date(self.date.as_deref()?)
    }
}

/// Reads `YYYY-MM-DD` at the start of a date string.
pub fn parse_date(s: &str) -> Option<(i32, u32, u32)> {
    let s = s.trim().trim_matches('"');
    let b = s.as_bytes();
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let y = s.get(0..4)?.parse().ok()?;
    let m = s.get(5..7)?.parse().ok()?;
    let d = s.get(8..10)?.parse().ok()?;
    chrono::NaiveDate::from_ymd_opt(y, m, d)?;
    Some((y, m, d))
}

/// A post split into front matter and body.
#[derive(Debug, Clone)]
pub struct Split<'a> {
    pub front: FrontMatter,
    pub body: &'a str,
    /// Byte offset of the body in the file's text.
    pub body_offset: usize,
    /// 1-based line of the file where the body starts.
    pub body_line: u32,
    pub warning: Option<String>,
}

/// Finds the closing delimiter line of a front matter block that opens at byte 0.
/// Returns (end of the front matter content, start of the body).
fn find_block(text: &str, delim: &str) -> Option<(usize, usize, usize)> {
    let first_end = text.find('\n')?;
    if text[..first_end].trim_end() != delim {
        return None;
    }
    let mut pos = first_end + 1;
    while pos <= text.len() {
        let end = text[pos..]
            .find('\n')
            .map(|i| pos + i)
            .unwrap_or(text.len());
        let line = text[pos..end].trim_end();
        // Jekyll also closes YAML with `...`.
        if line == delim || (delim == "---" && line == "...") {
            let body = (end + 1).min(text.len());
            return Some((first_end + 1, pos, body));
        }
        if end == text.len() {
            break;
        }
        pos = end + 1;
    }
    None
}

/// Splits front matter from the body. A file without front matter is all body.
pub fn split(text: &str) -> Split<'_> {
    let none = Split {
        front: FrontMatter::default(),
        body: text,
        body_offset: 0,
        body_line: 1,
        warning: None,
    };
    let (kind, delim) = if text.starts_with("---") {
        ("yaml", "---")
    } else if text.starts_with("+++") {
        ("toml", "+++")
    } else {
        return none;
    };
    let Some((start, end, body_offset)) = find_block(text, delim) else {
        if kind == "toml" || text.starts_with("---\n") || text.starts_with("---\r\n") {
            return Split {
                warning: Some(format!(
                    "front matter opened with {delim} is never closed; read as body"
                )),
                ..none
            };
        }
        return none;
    };
    let fm_text = &text[start..end];
    let first_line = 2u32; // the line after the opening delimiter
    let body_line = 1 + text[..body_offset].matches('\n').count() as u32;
    let (front, warning) = if kind == "yaml" {
        parse_yaml(fm_text, first_line)
    } else {
        parse_toml(fm_text, first_line)
    };
    Split {
        front,
        body: &text[body_offset..],
        body_offset,
        body_line,
        warning,
    }
}

/// The line of a top-level key in the front matter text (`key:` or `key =` at column 0).
fn key_line(fm: &str, key: &str, first_line: u32) -> u32 {
    for (i, l) in fm.lines().enumerate() {
        if let Some(rest) = l.strip_prefix(key) {
            let rest = rest.trim_start();
            if rest.starts_with(':') || rest.starts_with('=') {
                return first_line + i as u32;
            }
        }
        let unq = l.trim_start_matches(['"', '\'']);
        if unq.starts_with(key) && l.len() != unq.len() {
            return first_line + i as u32;
        }
    }
    first_line
}

fn parse_yaml(fm: &str, first_line: u32) -> (FrontMatter, Option<String>) {
    use serde_yaml_ng::Value;
    let v: Value = match serde_yaml_ng::from_str(fm) {
        Ok(v) => v,
        Err(e) => {
            return (
                FrontMatter::default(),
                Some(format!("malformed YAML front matter: {e}")),
            )
        }
    };
    let Value::Mapping(map) = v else {
        return (FrontMatter::default(), None);
    };
    let mut f = FrontMatter::default();
    for (k, val) in map {
        let Some(key) = k.as_str().map(str::to_string) else {
            continue;
        };
        let scalar = |v: &Value| -> Option<String> {
            match v {
                Value::String(s) => Some(s.clone()),
                Value::Bool(b) => Some(b.to_string()),
                Value::Number(n) => Some(n.to_string()),
                Value::Tagged(t) => match &t.value {
                    Value::String(s) => Some(s.clone()),
                    _ => None,
                },
                _ => None,
            }
        };
        let line = key_line(fm, &key, first_line);
        match &val {
            Value::Sequence(items) => {
                for it in items {
                    if let Some(s) = scalar(it) {
                        f.values.push((key.clone(), s, line));
                    }
                }
            }
            other => {
                if let Some(s) = scalar(other) {
                    f.values.push((key.clone(), s, line));
                }
            }
        }
        apply_key(&mut f, &key, scalar(&val), matches!(val, Value::Bool(true)));
    }
    (f, None)
}

fn parse_toml(fm: &str, first_line: u32) -> (FrontMatter, Option<String>) {
    let table: toml::Table = match fm.parse() {
        Ok(t) => t,
        Err(e) => {
            let msg = e.to_string();
            let first = msg.lines().next().unwrap_or("").to_string();
            return (
                FrontMatter::default(),
                Some(format!("malformed TOML front matter: {first}")),
            );
        }
    };
    let mut f = FrontMatter::default();
    for (key, val) in table {
        let scalar = |v: &toml::Value| -> Option<String> {
            match v {
                toml::Value::String(s) => Some(s.clone()),
                toml::Value::Boolean(b) => Some(b.to_string()),
                toml::Value::Integer(i) => Some(i.to_string()),
                toml::Value::Float(x) => Some(x.to_string()),
                toml::Value::Datetime(d) => Some(d.to_string()),
                _ => None,
            }
        };
        let line = key_line(fm, &key, first_line);
        match &val {
            toml::Value::Array(items) => {
                for it in items {
                    if let Some(s) = scalar(it) {
                        f.values.push((key.clone(), s, line));
                    }
                }
            }
            other => {
                if let Some(s) = scalar(other) {
                    f.values.push((key.clone(), s, line));
                }
            }
        }
        apply_key(
            &mut f,
            &key,
            scalar(&val),
            matches!(val, toml::Value::Boolean(true)),
        );
    }
    (f, None)
}

fn apply_key(f: &mut FrontMatter, key: &str, value: Option<String>, is_true: bool) {
    match key.to_ascii_lowercase().as_str() {
        "title" => f.title = value,
        "date" => f.date = value,
        "draft" => f.draft = is_true || value.as_deref() == Some("true"),
        "url" => f.url = value,
        "permalink" => f.permalink = value,
        "slug" => f.slug = value,
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_front_matter() {
        let t = "---\ntitle: \"Hello\"\ndate: 2019-03-25T09:12:34Z\ndraft: true\nlink: https://a.org/\ntags: [a, b]\n---\nbody\n";
        let s = split(t);
        assert_eq!(s.front.title.as_deref(), Some("Hello"));
        assert_eq!(
            s.front.date_string().as_deref(),
            Some("2019-03-25T09:12:34Z")
        );
        assert!(s.front.draft);
        assert_eq!(s.body, "body\n");
        assert_eq!(s.body_line, 8);
        assert!(s
            .front
            .values
            .contains(&("link".into(), "https://a.org/".into(), 5)));
        assert!(s.warning.is_none());
    }

    #[test]
    fn toml_front_matter() {
        let t = "+++\ntitle = \"T\"\ndate = 2024-06-10\ndraft = false\nslug = \"s\"\n+++\nbody";
        let s = split(t);
        assert_eq!(s.front.title.as_deref(), Some("T"));
        assert_eq!(s.front.ymd(), Some((2024, 6, 10)));
        assert_eq!(s.front.slug.as_deref(), Some("s"));
        assert!(!s.front.draft);
        assert_eq!(s.body, "body");
        assert_eq!(s.body_line, 7);
    }

    #[test]
    fn crlf_and_malformed() {
        let s = split("---\r\ntitle: x\r\n---\r\nbody");
        assert_eq!(s.front.title.as_deref(), Some("x"));
        assert_eq!(s.body, "body");
        let s = split("---\ntitle: [unclosed\n---\nbody https://a.org/\n");
        assert!(s
            .warning
            .as_deref()
            .unwrap_or("")
            .contains("malformed YAML"));
        assert_eq!(s.body, "body https://a.org/\n");
        let s = split("---\ntitle: never closed\nhttps://a.org/\n");
        assert!(s.warning.is_some());
        assert_eq!(s.body_line, 1);
        // A thematic break at the top is not front matter.
        let s = split("--- \n");
        assert_eq!(s.body_line, 1);
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            /// Front matter is outside input: any text splits, and the body is a tail of it.
            #[test]
            fn split_never_panics(s in "(---\n|\\+\\+\\+\n|\\.\\.\\.\n|[a-z:=\"' \n\\[\\]{}-]|\\PC)*") {
                let sp = split(&s);
                prop_assert_eq!(s.get(sp.body_offset..), Some(sp.body));
                let _ = sp.front.date_string();
                let _ = sp.front.ymd();
            }
        }
    }

    #[test]
    fn no_front_matter() {
        let s = split("# Title\n");
        assert_eq!(s.body_offset, 0);
        assert_eq!(s.front, FrontMatter::default());
    }
}
