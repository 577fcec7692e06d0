//! Hugo: its configuration, where it publishes each page, and how `ref`/`relref` find pages.
//!
//! Pure. Follows Hugo's source (gohugoio/hugo): config file names and order
//! (`config/configLoader.go`, `config/allconfig/load.go`), permalink patterns
//! (`resources/page/permalinks.go`), target paths (`resources/page/page_paths.go`), dates and
//! slugs from file names (`resources/page/pagemeta/page_frontmatter.go`), path sanitizing
//! (`common/paths/path.go`), content paths (`common/paths/pathparser.go`) and page lookup for
//! references (`hugolib/pagecollections.go`).

use std::collections::{HashMap, HashSet};

use serde_json::Value;
use url::Url;

use super::front_value;
use crate::post::FrontMatter;

/// Config file names Hugo looks for, in order; the first one found is the site's config.
pub const CONFIG_NAMES: [&str; 2] = ["hugo", "config"];
pub const CONFIG_EXTENSIONS: [&str; 4] = ["toml", "yaml", "yml", "json"];

/// Extensions of content files (Hugo's content formats).
pub const CONTENT_EXTENSIONS: [&str; 12] = [
    "md", "markdown", "mdown", "mkd", "mkdn", "html", "htm", "adoc", "asciidoc", "pandoc", "org",
    "rst",
];

/// The front matter date keys `:default` stands for (with Hugo's aliases).
const DEFAULT_DATE: [&str; 6] = [
    "date",
    "publishdate",
    "pubdate",
    "published",
    "lastmod",
    "modified",
];

/// A permalink rule: pages of `kind` under `section` (`""` for top-level pages) get `pattern`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Permalink {
    pub kind: String,
    pub section: String,
    pub pattern: String,
}

impl Permalink {
    pub(crate) fn section_label(&self) -> String {
        if self.section.is_empty() {
            "/".into()
        } else {
            self.section.clone()
        }
    }

    /// Hugo's glob for a section key: `/*` for the root, else `/{s,s/**}`.
    fn matches(&self, page_path: &str) -> bool {
        let p = page_path.trim_start_matches('/');
        if self.section.is_empty() {
            return !p.contains('/');
        }
        p == self.section || p.starts_with(&format!("{}/", self.section))
    }
}

/// What citewatch reads from a Hugo config.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub base_url: Option<Url>,
    pub content_dir: String,
    pub static_dir: Vec<String>,
    pub themes: Vec<String>,
    pub permalinks: Vec<Permalink>,
    /// `frontmatter.date`, `:default` expanded, lowercase.
    pub date_from: Vec<String>,
    pub ugly_urls: bool,
    pub disable_path_to_lower: bool,
    pub default_language: String,
    pub default_language_in_subdir: bool,
    /// Configured language codes (lowercase).
    pub languages: Vec<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            base_url: None,
            content_dir: "content".into(),
            static_dir: vec!["static".into()],
            themes: Vec::new(),
            permalinks: Vec::new(),
            date_from: DEFAULT_DATE.iter().map(|s| s.to_string()).collect(),
            ugly_urls: false,
            disable_path_to_lower: false,
            default_language: "en".into(),
            default_language_in_subdir: false,
            languages: Vec::new(),
        }
    }
}

impl Config {
    /// Static folders relative to the site root, the site's own first, then its themes'.
    pub fn static_dirs(&self) -> Vec<String> {
        let mut v = self.static_dir.clone();
        for t in &self.themes {
            for d in &self.static_dir {
                v.push(format!("themes/{t}/{d}"));
            }
        }
        v
    }
}

/// Parses one config text (`format` is the file extension) into a value with lowercase keys,
/// as Hugo reads keys case-insensitively.
pub fn parse_value(text: &str, format: &str) -> Result<Value, String> {
    let v = match format {
        "toml" => {
            let t: toml::Table = text
                .parse()
                .map_err(|e: toml::de::Error| first_line(&e.to_string()))?;
            toml_to_json(toml::Value::Table(t))
        }
        "yaml" | "yml" => {
            let y: serde_yaml_ng::Value =
                serde_yaml_ng::from_str(text).map_err(|e| first_line(&e.to_string()))?;
            yaml_to_json(y)
        }
        "json" => serde_json::from_str(text).map_err(|e| first_line(&e.to_string()))?,
        other => return Err(format!("unknown config format {other:?}")),
    };
    Ok(lowercase_keys(v))
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or("").to_string()
}

pub(crate) fn toml_to_json(v: toml::Value) -> Value {
    match v {
        toml::Value::String(s) => Value::String(s),
        toml::Value::Integer(i) => Value::from(i),
        toml::Value::Float(f) => Value::from(f),
        toml::Value::Boolean(b) => Value::Bool(b),
        toml::Value::Datetime(d) => Value::String(d.to_string()),
        toml::Value::Array(a) => Value::Array(a.into_iter().map(toml_to_json).collect()),
        toml::Value::Table(t) => {
            Value::Object(t.into_iter().map(|(k, v)| (k, toml_to_json(v))).collect())
        }
    }
}

pub(crate) fn yaml_to_json(v: serde_yaml_ng::Value) -> Value {
    use serde_yaml_ng::Value as Y;
    match v {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => n
            .as_i64()
            .map(Value::from)
            .or_else(|| n.as_f64().map(Value::from))
            .unwrap_or(Value::Null),
        Y::String(s) => Value::String(s),
        Y::Sequence(s) => Value::Array(s.into_iter().map(yaml_to_json).collect()),
        Y::Mapping(m) => Value::Object(
            m.into_iter()
                .map(|(k, v)| {
                    let key = match k {
                        Y::String(s) => s,
                        Y::Number(n) => n.to_string(),
                        Y::Bool(b) => b.to_string(),
                        _ => String::new(),
                    };
                    (key, yaml_to_json(v))
                })
                .collect(),
        ),
        Y::Tagged(t) => yaml_to_json(t.value),
    }
}

fn lowercase_keys(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .map(|(k, v)| (k.to_lowercase(), lowercase_keys(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.into_iter().map(lowercase_keys).collect()),
        other => other,
    }
}

/// Merges `over` into `base`, recursively for tables (a later config file or folder wins).
pub fn merge(base: &mut Value, over: Value) {
    match (base, over) {
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                match b.get_mut(&k) {
                    Some(slot) => merge(slot, v),
                    None => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (slot, v) => *slot = v,
    }
}

fn strings(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|x| x.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

/// Reads the settings citewatch uses from a merged config value.
pub fn config_from(v: &Value) -> Result<Config, String> {
    let mut c = Config::default();
    if let Some(b) = v.get("baseurl").and_then(Value::as_str).map(str::trim) {
        if !b.is_empty() && b != "/" {
            let with_slash = if b.ends_with('/') {
                b.to_string()
            } else {
                format!("{b}/")
            };
            c.base_url = Some(
                Url::parse(&with_slash).map_err(|e| format!("baseURL {b:?} is not a URL: {e}"))?,
            );
        }
    }
    if let Some(d) = v.get("contentdir").and_then(Value::as_str) {
        c.content_dir = d.trim_matches('/').to_string();
    }
    let statics = strings(v.get("staticdir"));
    if !statics.is_empty() {
        c.static_dir = statics
            .into_iter()
            .map(|s| s.trim_matches('/').to_string())
            .collect();
    }
    c.themes = strings(v.get("theme"));
    if let Some(p) = v.get("permalinks") {
        c.permalinks = permalinks(p)?;
    }
    if let Some(fm) = v.get("frontmatter").and_then(|f| f.get("date")) {
        let mut out = Vec::new();
        for id in strings(Some(fm)) {
            let id = id.to_lowercase();
            if id == ":default" {
                out.extend(DEFAULT_DATE.iter().map(|s| s.to_string()));
            } else {
                out.push(id.clone());
                // Hugo's aliases of date keys.
                match id.as_str() {
                    "publishdate" => out.extend(["pubdate".into(), "published".into()]),
                    "lastmod" => out.push("modified".into()),
                    _ => {}
                }
            }
        }
        let mut seen = HashSet::new();
        out.retain(|x| seen.insert(x.clone()));
        c.date_from = out;
    }
    c.ugly_urls = v.get("uglyurls").and_then(Value::as_bool).unwrap_or(false);
    c.disable_path_to_lower = v
        .get("disablepathtolower")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    if let Some(l) = v.get("defaultcontentlanguage").and_then(Value::as_str) {
        c.default_language = l.to_lowercase();
    }
    c.default_language_in_subdir = v
        .get("defaultcontentlanguageinsubdir")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    if let Some(Value::Object(langs)) = v.get("languages") {
        c.languages = langs.keys().map(|k| k.to_lowercase()).collect();
    }
    Ok(c)
}

/// `[permalinks]` in Hugo's legacy map form (`section = pattern`, or `[permalinks.page]` with
/// `section = pattern`) and its list form (`target.path` globs `/{s,s/**}`).
fn permalinks(v: &Value) -> Result<Vec<Permalink>, String> {
    let mut out = Vec::new();
    let section = |k: &str| k.trim_matches(|c: char| c == '/' || c == ' ').to_string();
    match v {
        Value::Object(m) => {
            for (k, val) in m {
                match val {
                    Value::String(p) => out.push(Permalink {
                        kind: "page".into(),
                        section: section(k),
                        pattern: p.clone(),
                    }),
                    Value::Object(inner) => {
                        for (s, p) in inner {
                            let Some(p) = p.as_str() else {
                                return Err(format!("permalinks.{k}.{s} is not a string"));
                            };
                            out.push(Permalink {
                                kind: k.clone(),
                                section: section(s),
                                pattern: p.to_string(),
                            });
                        }
                    }
                    _ => return Err(format!("permalinks.{k} is neither a pattern nor a table")),
                }
            }
        }
        Value::Array(items) => {
            for it in items {
                let pattern = it
                    .get("pattern")
                    .and_then(Value::as_str)
                    .ok_or("permalinks: an entry has no pattern")?;
                let target = it.get("target");
                let kind = target
                    .and_then(|t| t.get("kind"))
                    .and_then(Value::as_str)
                    .unwrap_or("page")
                    .to_lowercase();
                let path = target
                    .and_then(|t| t.get("path"))
                    .and_then(Value::as_str)
                    .unwrap_or("");
                // `/{posts,posts/**}` and `/posts/**` name the section `posts`.
                let s = path
                    .trim_start_matches("/{")
                    .split([',', '}', '*'])
                    .next()
                    .unwrap_or("");
                out.push(Permalink {
                    kind,
                    section: section(s),
                    pattern: pattern.to_string(),
                });
            }
        }
        _ => return Err("permalinks is neither a table nor a list".into()),
    }
    Ok(out)
}

/// A content file's path as Hugo parses it (`common/paths/pathparser.go`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ContentPath {
    /// Folder of the file, `/`-rooted (`/posts/2000-12-15-cvs`).
    pub dir: String,
    /// File name without extension and language (`index`, `_index`, `my-post`).
    pub stem: String,
    pub ext: String,
    pub lang: Option<String>,
}

impl ContentPath {
    pub(crate) fn parse(path: &str, languages: &[String]) -> ContentPath {
        let p = format!("/{}", path.trim_start_matches('/'));
        let (dir, file) = p.rsplit_once('/').unwrap_or(("", p.as_str()));
        let (mut stem, ext) = match file.rsplit_once('.') {
            Some((s, e)) if !s.is_empty() => (s.to_string(), e.to_lowercase()),
            _ => (file.to_string(), String::new()),
        };
        let mut lang = None;
        if let Some((s, l)) = stem.rsplit_once('.') {
            if languages.iter().any(|x| x.eq_ignore_ascii_case(l)) {
                lang = Some(l.to_lowercase());
                stem = s.to_string();
            }
        }
        ContentPath {
            dir: if dir.is_empty() {
                "/".into()
            } else {
                dir.into()
            },
            stem,
            ext,
            lang,
        }
    }

    fn is_content(&self) -> bool {
        CONTENT_EXTENSIONS.contains(&self.ext.as_str())
    }
    fn is_leaf(&self) -> bool {
        self.is_content() && self.stem == "index"
    }
    fn is_branch(&self) -> bool {
        self.is_content() && self.stem == "_index"
    }
    fn is_bundle(&self) -> bool {
        self.is_leaf() || self.is_branch()
    }

    /// The page's logical name: the bundle's folder or the file name, without identifiers.
    fn base_name(&self) -> String {
        if self.is_bundle() {
            self.dir.rsplit('/').next().unwrap_or("").to_string()
        } else {
            self.stem.clone()
        }
    }

    /// The folder that contains the page (for a bundle, the folder above it).
    fn container_dir(&self) -> String {
        if self.is_bundle() {
            match self.dir.rsplit_once('/') {
                Some(("", _)) | None => "/".into(),
                Some((d, _)) => d.into(),
            }
        } else {
            self.dir.clone()
        }
    }

    /// Hugo's `Base()`: the page's key (lowercase, spaces as hyphens), without extension and
    /// language, the folder for a bundle, `""` for the home page.
    fn base(&self) -> String {
        if !self.is_content() {
            let file = if self.ext.is_empty() {
                self.stem.clone()
            } else {
                format!("{}.{}", self.stem, self.ext)
            };
            return normalize_key(&super::join(&self.dir, &file));
        }
        let b = if self.is_bundle() {
            self.dir.clone()
        } else {
            super::join(&self.dir, &self.stem)
        };
        if b == "/" {
            String::new()
        } else {
            normalize_key(&b)
        }
    }
}

/// Hugo's `NormalizePathStringBasic`: lowercase, spaces as hyphens.
fn normalize_key(s: &str) -> String {
    s.to_lowercase().replace(' ', "-")
}

/// The date and slug Hugo's `:filename` reads from a file or bundle name
/// (`2017-02-01-my-first-post` → 2017-02-01 and `my-first-post`).
pub(crate) fn date_and_slug(name: &str) -> Option<((i32, u32, u32), String)> {
    if name.len() < 10 {
        return None;
    }
    let ymd = crate::post::parse_date(name.get(..10)?)?;
    let mut rest = name.get(10..)?;
    // `YYYY-MM-DD-HH-MM-SS-slug` (a time after the date) is read too.
    if let Some(t) = name.get(10..19) {
        let b = t.as_bytes();
        if b.len() == 9
            && b[0] == b'-'
            && b[3] == b'-'
            && b[6] == b'-'
            && t.chars().filter(char::is_ascii_digit).count() == 6
        {
            rest = &name[19..];
        }
    }
    Some((ymd, rest.trim_matches([' ', '-', '_']).to_string()))
}

/// Hugo's `paths.Sanitize`: letters, digits, marks and `._~+#@-/\` stay, spaces become one
/// hyphen, everything else goes.
pub(crate) fn sanitize(s: &str) -> String {
    let allowed = |c: char| {
        c.is_alphanumeric()
            || matches!(
                c,
                '.' | '/' | '\\' | '_' | '#' | '+' | '~' | '-' | '@' | '%'
            )
            || is_mark(c)
    };
    let mut out = String::with_capacity(s.len());
    let mut pending_hyphen = false;
    let mut was_hyphen = false;
    for c in s.chars() {
        if c != ' ' && allowed(c) {
            was_hyphen = c == '-';
            if pending_hyphen && !was_hyphen {
                out.push('-');
            }
            pending_hyphen = false;
            out.push(c);
        } else if !out.is_empty() && !was_hyphen && c.is_whitespace() {
            pending_hyphen = true;
        }
    }
    out
}

fn is_mark(c: char) -> bool {
    // Combining marks (the common blocks), which Hugo keeps in paths.
    matches!(c as u32, 0x0300..=0x036F | 0x1AB0..=0x1AFF | 0x1DC0..=0x1DFF | 0x20D0..=0x20FF | 0xFE20..=0xFE2F)
}

impl Config {
    fn path_sanitized(&self, s: &str) -> String {
        let s = sanitize(s);
        if self.disable_path_to_lower {
            s
        } else {
            s.to_lowercase()
        }
    }

    /// Hugo's `urlize` for permalink parts.
    fn urlize(&self, s: &str) -> String {
        self.path_sanitized(s)
    }

    /// The permalink rule for a page, if any.
    fn permalink_for(&self, kind: &str, page_path: &str) -> Option<&Permalink> {
        self.permalinks
            .iter()
            .filter(|p| p.kind == kind)
            .filter(|p| p.matches(page_path))
            // The most specific section wins when several match.
            .max_by_key(|p| p.section.len())
    }

    /// The date and slug of a page as Hugo's `frontmatter.date` chain finds them: the first
    /// handler that gives a date wins; `:filename` also gives the slug when the front matter
    /// has none.
    fn dating(
        &self,
        cp: &ContentPath,
        front: &FrontMatter,
    ) -> (Option<(i32, u32, u32)>, Option<String>) {
        let slug = front.slug.clone().filter(|s| !s.trim().is_empty());
        for id in &self.date_from {
            match id.as_str() {
                ":filename" => {
                    if let Some((ymd, s)) = date_and_slug(&cp.base_name()) {
                        return (Some(ymd), slug.or(Some(s).filter(|s| !s.is_empty())));
                    }
                }
                ":filemodtime" | ":git" => {}
                key => {
                    if let Some(ymd) = front_value(front, key).and_then(crate::post::parse_date) {
                        return (Some(ymd), slug);
                    }
                }
            }
        }
        (None, slug)
    }

    /// The path (from the site's root, with a leading and trailing `/`) Hugo publishes the
    /// page at `content_path` (relative to the content folder) at. `None` for files that are
    /// not pages.
    pub fn page_path(&self, content_path: &str, front: &FrontMatter) -> Option<String> {
        let cp = ContentPath::parse(content_path, &self.languages);
        if !cp.is_content() {
            return None;
        }
        let lang = cp
            .lang
            .clone()
            .unwrap_or_else(|| self.default_language.clone());
        let prefix = if lang != self.default_language || self.default_language_in_subdir {
            format!("/{lang}")
        } else {
            String::new()
        };
        if let Some(u) = front
            .url
            .as_deref()
            .map(str::trim)
            .filter(|u| !u.is_empty())
        {
            // A front matter `url` is used as written.
            let mut p = if u.starts_with('/') {
                u.to_string()
            } else {
                format!("{prefix}/{u}")
            };
            let last = p.rsplit('/').next().unwrap_or("");
            if !p.ends_with('/') && !last.contains('.') {
                p.push('/');
            }
            return Some(p);
        }
        let path = if cp.is_branch() {
            format!("{}/", cp.dir.trim_end_matches('/'))
        } else {
            let (date, slug) = self.dating(&cp, front);
            let page_path = cp.base();
            match self.permalink_for("page", &page_path) {
                Some(rule) => self.expand(&rule.pattern, &cp, front, date, slug.as_deref()),
                None => {
                    let name = slug.clone().unwrap_or_else(|| cp.base_name());
                    super::join(&cp.container_dir(), &name)
                }
            }
        };
        let mut path = self.path_sanitized(&path);
        if !path.starts_with('/') {
            path.insert(0, '/');
        }
        let path = if self.ugly_urls && !cp.is_branch() {
            format!("{}.html", path.trim_end_matches('/'))
        } else if path.ends_with('/') {
            path
        } else {
            format!("{path}/")
        };
        Some(format!("{prefix}{path}").replace("//", "/"))
    }

    /// The published URL of a page.
    pub fn page_url(&self, base: &Url, content_path: &str, front: &FrontMatter) -> Option<Url> {
        let p = self.page_path(content_path, front)?;
        base.join(p.trim_start_matches('/')).ok()
    }

    /// Expands a permalink pattern (`/:year/:month/:day/:slug/`) for a page.
    fn expand(
        &self,
        pattern: &str,
        cp: &ContentPath,
        front: &FrontMatter,
        date: Option<(i32, u32, u32)>,
        slug: Option<&str>,
    ) -> String {
        let pattern = pattern.replace("\\:", "\u{0}");
        // Go's zero time: year 1, January 1st.
        let (y, m, d) = date.unwrap_or((1, 1, 1));
        let ndate = chrono::NaiveDate::from_ymd_opt(y, m, d);
        let title = front.title.clone().unwrap_or_default();
        let filename = || self.urlize(&cp.base_name());
        let section = cp
            .dir
            .trim_start_matches('/')
            .split('/')
            .next()
            .unwrap_or("");
        let sections = if cp.is_leaf() {
            cp.container_dir()
        } else {
            cp.dir.clone()
        };
        let mut out = String::with_capacity(pattern.len() + 32);
        let mut rest = pattern.as_str();
        while let Some(i) = rest.find(':') {
            out.push_str(&rest[..i]);
            let after = &rest[i + 1..];
            let len = after
                .bytes()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == b'_')
                .count();
            let attr = &after[..len];
            let value = match attr {
                "year" => Some(y.to_string()),
                "month" => Some(format!("{m:02}")),
                "monthname" => ndate.map(|n| n.format("%B").to_string()),
                "day" => Some(format!("{d:02}")),
                "weekday" => ndate.map(|n| n.format("%w").to_string()),
                "weekdayname" => ndate.map(|n| n.format("%A").to_string()),
                "yearday" => ndate.map(|n| n.format("%-j").to_string()),
                "section" | "sectionslug" => Some(section.to_string()),
                "sections" | "sectionslugs" => Some(sections.trim_start_matches('/').to_string()),
                "title" => Some(self.urlize(&title)),
                "slug" => Some(match slug {
                    Some(s) => self.urlize(s),
                    None => self.urlize(&title),
                }),
                "slugorfilename" => Some(match slug {
                    Some(s) => self.urlize(s),
                    None => filename(),
                }),
                "filename" | "contentbasename" => Some(filename()),
                "slugorcontentbasename" => Some(match slug {
                    Some(s) => self.urlize(s),
                    None => filename(),
                }),
                _ => None,
            };
            match value {
                Some(v) => out.push_str(&v),
                None => {
                    out.push(':');
                    out.push_str(attr);
                }
            }
            rest = &after[len..];
        }
        out.push_str(rest);
        out.replace('\u{0}', ":")
    }
}

/// The pages of a Hugo site, indexed as Hugo looks them up for `ref` and `relref`.
#[derive(Debug, Clone, Default)]
pub struct Pages {
    /// (language, Base()) → content path.
    by_base: HashMap<(String, String), String>,
    /// (language, base name) → content path, `None` when several pages share the name.
    by_name: HashMap<(String, String), Option<String>>,
    /// Every content file (content-relative paths), for Hugo's file-system lookups.
    files: HashSet<String>,
    languages: Vec<String>,
    default_language: String,
}

/// Why a reference resolves to no page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefError {
    NotFound,
    /// Hugo's "page reference is ambiguous": several pages have that name.
    Ambiguous,
}

impl Pages {
    /// Indexes the content files (paths relative to the content folder).
    pub fn new<'a>(paths: impl IntoIterator<Item = &'a str>, cfg: &Config) -> Pages {
        let mut p = Pages {
            languages: cfg.languages.clone(),
            default_language: cfg.default_language.clone(),
            ..Pages::default()
        };
        let mut sections = HashSet::new();
        for path in paths {
            let path = path.trim_start_matches('/');
            p.files.insert(path.to_string());
            let cp = ContentPath::parse(path, &p.languages);
            if !cp.is_content() {
                continue;
            }
            let lang = cp
                .lang
                .clone()
                .unwrap_or_else(|| p.default_language.clone());
            let base = cp.base();
            // Hugo creates a section page for each top-level folder with content.
            if let Some(top) = base.trim_start_matches('/').split('/').next() {
                if base.trim_start_matches('/').contains('/') {
                    sections.insert((lang.clone(), format!("/{top}")));
                }
            }
            p.by_base.insert((lang.clone(), base), path.to_string());
            if !(cp.is_branch() && cp.dir == "/") {
                let name = normalize_key(&cp.base_name());
                p.by_name
                    .entry((lang, name))
                    .and_modify(|e| *e = None)
                    .or_insert_with(|| Some(path.to_string()));
            }
        }
        for (lang, s) in sections {
            let key = (lang, s.clone());
            p.by_base
                .entry(key)
                .or_insert_with(|| format!("{}/", s.trim_start_matches('/')));
        }
        p
    }

    fn language_of(&self, path: &str) -> String {
        ContentPath::parse(path, &self.languages)
            .lang
            .unwrap_or_else(|| self.default_language.clone())
    }

    /// Resolves the path of a `ref`/`relref` (without its `#fragment`) written in the page at
    /// `from` (content-relative), as Hugo's `getContentNode` does; `lang` is the `lang=`
    /// argument. Returns the content path of the page.
    pub fn resolve(
        &self,
        reference: &str,
        from: &str,
        lang: Option<&str>,
    ) -> Result<String, RefError> {
        let lang = lang
            .map(str::to_lowercase)
            .unwrap_or_else(|| self.language_of(from));
        let in_ref = reference.trim().replace('\\', "/");
        let in_ref = in_ref.strip_suffix('/').unwrap_or(&in_ref).to_string();
        let r = if in_ref.is_empty() {
            "/".to_string()
        } else {
            in_ref.clone()
        };
        let try_ref = |had_ext: bool, r: &str| self.for_ref(&lang, from, had_ext, &in_ref, r);
        let found = if has_ext(&r) {
            try_ref(true, &r)?
        } else if r == "/" {
            try_ref(false, "/_index.md")?
        } else if r.ends_with("/index") {
            match try_ref(false, &format!("{r}/index.md"))? {
                Some(p) => Some(p),
                None => try_ref(false, &format!("{r}.md"))?,
            }
        } else {
            try_ref(false, &format!("{r}.md"))?
        };
        found.ok_or(RefError::NotFound)
    }

    fn lookup(&self, lang: &str, path: &str) -> Option<String> {
        let cp = ContentPath::parse(path, &self.languages);
        self.by_base.get(&(lang.to_string(), cp.base())).cloned()
    }

    /// Hugo's file-system lookup of a reference with an extension: the file `ref` relative to
    /// the folder `dir`, if it is a content file; its page.
    fn by_file(&self, lang: &str, dir: &str, r: &str) -> Option<String> {
        let real = super::clean(&super::join(dir, r))?;
        let real = real.trim_start_matches('/');
        if !self.files.contains(real) {
            return None;
        }
        self.lookup(lang, real)
    }

    fn for_ref(
        &self,
        lang: &str,
        from: &str,
        had_ext: bool,
        in_ref: &str,
        r: &str,
    ) -> Result<Option<String>, RefError> {
        let ctx = ContentPath::parse(from, &self.languages);
        if !r.starts_with('/') {
            // Relative to the page first: a branch page's own folder, a leaf bundle's or a
            // regular page's containing folder (its own folder for `../x.md`).
            let base_dir = if ctx.is_branch() || (had_ext && r.starts_with("../")) {
                ctx.dir.clone()
            } else {
                ctx.container_dir()
            };
            if let Some(rel) = super::clean(&super::join(&base_dir, r)) {
                if let Some(p) = self.lookup(lang, &rel) {
                    return Ok(Some(p));
                }
            }
            if had_ext {
                if let Some(p) = self.by_file(lang, &ctx.dir, r) {
                    return Ok(Some(p));
                }
            }
        }
        if r.starts_with('.') {
            return Ok(None);
        }
        if let Some(p) = self.lookup(lang, &format!("/{}", r.trim_start_matches('/'))) {
            return Ok(Some(p));
        }
        if had_ext {
            if let Some(p) = self.by_file(lang, "/", r) {
                return Ok(Some(p));
            }
        }
        if in_ref.contains('/') {
            return Ok(None);
        }
        // A bare name: any page of that name, if only one has it.
        let name = normalize_key(&ContentPath::parse(r, &self.languages).base_name());
        match self.by_name.get(&(lang.to_string(), name)) {
            Some(Some(p)) => Ok(Some(p.clone())),
            Some(None) => Err(RefError::Ambiguous),
            None => Ok(None),
        }
    }
}

/// Hugo's `paths.HasExt`: a dot in the last path segment.
fn has_ext(p: &str) -> bool {
    p.rsplit('/').next().is_some_and(|l| l.contains('.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn front(date: Option<&str>, slug: Option<&str>, title: Option<&str>) -> FrontMatter {
        let mut f = FrontMatter {
            date: date.map(String::from),
            slug: slug.map(String::from),
            title: title.map(String::from),
            ..FrontMatter::default()
        };
        if let Some(d) = date {
            f.values.push(("date".into(), d.into(), 2));
        }
        f
    }

    fn corpus_config() -> Config {
        let v = parse_value(
            "baseURL: \"https://blog.koehntopp.info\"\nfrontmatter:\n  date: [\":filename\", \":default\"]\npermalinks:\n  posts: /:year/:month/:day/:slug/\n",
            "yaml",
        )
        .unwrap();
        config_from(&v).unwrap()
    }

    #[test]
    fn reads_config_keys_case_insensitively() {
        let c = corpus_config();
        assert_eq!(
            c.base_url.as_ref().unwrap().as_str(),
            "https://blog.koehntopp.info/"
        );
        assert_eq!(c.permalinks[0].section, "posts");
        assert_eq!(c.date_from[0], ":filename");
        assert!(c.date_from.contains(&"publishdate".to_string()));
        let v = parse_value(
            "BaseURL = 'https://x.org/sub'\ncontentDir = 'docs'\n[permalinks.page]\nposts = '/:slug/'\n[languages.de]\nweight = 1\n",
            "toml",
        )
        .unwrap();
        let c = config_from(&v).unwrap();
        assert_eq!(c.base_url.unwrap().as_str(), "https://x.org/sub/");
        assert_eq!(c.content_dir, "docs");
        assert_eq!(c.permalinks[0].kind, "page");
        assert_eq!(c.languages, ["de"]);
        assert!(config_from(&parse_value("{\"baseURL\": \"::\"}", "json").unwrap()).is_err());
    }

    #[test]
    fn page_urls_follow_permalinks_and_filename_dates() {
        let c = corpus_config();
        let base = c.base_url.clone().unwrap();
        // The date in the folder name wins over the front matter's (`:filename` comes first),
        // and gives the slug.
        let f = front(Some("2000-12-16T10:00:00Z"), None, Some("CVS"));
        assert_eq!(
            c.page_url(&base, "posts/2000-12-15-cvs/index.md", &f)
                .unwrap()
                .as_str(),
            "https://blog.koehntopp.info/2000/12/15/cvs/"
        );
        // A front matter slug wins over the file name's.
        let f = front(None, Some("Other Slug"), None);
        assert_eq!(
            c.page_path("posts/2019-03-25-sell-to-users.md", &f)
                .unwrap(),
            "/2019/03/25/other-slug/"
        );
        // Outside the `posts` section: no permalink rule, `/<folder>/<slug>/`.
        assert_eq!(
            c.page_path("about.md", &front(None, None, None)).unwrap(),
            "/about/"
        );
        assert_eq!(
            c.page_path("tags/_index.md", &front(None, None, None))
                .unwrap(),
            "/tags/"
        );
        let f = FrontMatter {
            url: Some("Custom/Path".into()),
            ..FrontMatter::default()
        };
        assert_eq!(c.page_path("posts/x.md", &f).unwrap(), "/Custom/Path/");
        // Without `:filename`: the front matter date, and the title for `:slug`.
        let mut c2 = c.clone();
        c2.date_from = DEFAULT_DATE.iter().map(|s| s.to_string()).collect();
        let f = front(Some("2019-03-26"), None, Some("Sell your users!"));
        assert_eq!(
            c2.page_path("posts/2019-03-25-sell-to-users/index.md", &f)
                .unwrap(),
            "/2019/03/26/sell-your-users/"
        );
        assert_eq!(c2.page_path("posts/img.png", &f), None);
    }

    #[test]
    fn sanitizes_like_hugo() {
        assert_eq!(sanitize("Vim (text editor)"), "Vim-text-editor");
        assert_eq!(sanitize("a  b"), "a-b");
        assert_eq!(sanitize("Größe & Maß"), "Größe-Maß");
    }

    #[test]
    fn references_resolve_as_hugo_finds_pages() {
        let c = Config::default();
        let pages = Pages::new(
            [
                "posts/2020-07-27-mysql-transactions/index.md",
                "posts/2020-07-27-mysql-transactions/diagram.png",
                "posts/other.md",
                "posts/_index.md",
                "about.md",
                "docs/a/dup.md",
                "docs/b/dup.md",
                "docs/a/unique.md",
                "docs/Spaced Name.md",
            ],
            &c,
        );
        let from = "posts/2021-01-01-x/index.md";
        let ok = |r: &str| pages.resolve(r, from, None);
        let bundle = Ok("posts/2020-07-27-mysql-transactions/index.md".to_string());
        // A bundle by its file name, with or without extension, from the content root, with
        // `content/` left out, relative to the page's section, or as `.html`.
        assert_eq!(ok("2020-07-27-mysql-transactions.md"), bundle);
        assert_eq!(ok("2020-07-27-mysql-transactions"), bundle);
        assert_eq!(ok("2020-07-27-mysql-transactions.html"), bundle);
        assert_eq!(ok("posts/2020-07-27-mysql-transactions/index.md"), bundle);
        assert_eq!(ok("/posts/2020-07-27-mysql-transactions"), bundle);
        assert_eq!(ok("../2020-07-27-mysql-transactions/index.md"), bundle);
        assert_eq!(ok("other.md"), Ok("posts/other.md".into()));
        assert_eq!(ok("/about"), Ok("about.md".into()));
        assert_eq!(ok("/posts"), Ok("posts/_index.md".into()));
        assert_eq!(ok("docs/spaced name.md"), Ok("docs/Spaced Name.md".into()));
        // A bare name anywhere in the site, when only one page has it.
        assert_eq!(ok("unique"), Ok("docs/a/unique.md".into()));
        assert_eq!(ok("unique.md"), Ok("docs/a/unique.md".into()));
        assert_eq!(ok("dup"), Err(RefError::Ambiguous));
        assert_eq!(ok("missing.md"), Err(RefError::NotFound));
        // A path with a folder is not looked up by name.
        assert_eq!(ok("nowhere/other.md"), Err(RefError::NotFound));
        // Resources are not pages.
        assert_eq!(ok("diagram.png"), Err(RefError::NotFound));
    }
}
