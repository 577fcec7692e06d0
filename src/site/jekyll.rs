//! Jekyll: its `_config.yml`, where it publishes each post, page and collection document, and
//! which file `{% post_url %}` and `{% link %}` name.
//!
//! Pure. Follows Jekyll's source (jekyll/jekyll): default settings and permalink styles
//! (`lib/jekyll/configuration.rb`), URL templates and their placeholders (`lib/jekyll/url.rb`,
//! `lib/jekyll/drops/url_drop.rb`, `lib/jekyll/document.rb`, `lib/jekyll/page.rb`,
//! `Utils.add_permalink_suffix`, `Utils.slugify`), and the tags (`lib/jekyll/tags/post_url.rb`,
//! `lib/jekyll/tags/link.rb`).

use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime};
use serde_json::Value;
use url::Url;

use super::hugo::{toml_to_json, yaml_to_json};
use crate::post::FrontMatter;

/// A collection of documents (`_recipes/`), published when `output` is set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Collection {
    pub label: String,
    pub output: bool,
    pub permalink: Option<String>,
}

/// What citewatch reads from `_config.yml`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `url` (scheme and host), without a trailing `/`.
    pub url: String,
    /// `baseurl` (a path prefix such as `/blog`), as written.
    pub baseurl: String,
    /// The `permalink` setting as written (a style name or a pattern).
    pub style: String,
    /// The posts' URL template (the style turned into its pattern).
    pub permalink: String,
    pub collections: Vec<Collection>,
    pub collections_dir: String,
    pub exclude: Vec<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            url: String::new(),
            baseurl: String::new(),
            style: "date".into(),
            permalink: style_to_permalink("date"),
            collections: vec![Collection {
                label: "posts".into(),
                output: true,
                permalink: None,
            }],
            collections_dir: String::new(),
            exclude: Vec::new(),
        }
    }
}

/// Jekyll's built-in permalink styles.
fn style_to_permalink(style: &str) -> String {
    match style {
        "none" => "/:categories/:title:output_ext",
        "date" => "/:categories/:year/:month/:day/:title:output_ext",
        "ordinal" => "/:categories/:year/:y_day/:title:output_ext",
        "pretty" => "/:categories/:year/:month/:day/:title/",
        "weekdate" => "/:categories/:year/W:week/:short_day/:title:output_ext",
        other => other,
    }
    .to_string()
}

/// Parses `_config.yml` (or `_config.toml`).
pub fn parse(text: &str, format: &str) -> Result<Config, String> {
    let v: Value = match format {
        "toml" => toml_to_json(toml::Value::Table(
            text.parse::<toml::Table>()
                .map_err(|e| e.to_string().lines().next().unwrap_or("").to_string())?,
        )),
        _ => {
            if text.trim().is_empty() {
                Value::Object(Default::default())
            } else {
                yaml_to_json(
                    serde_yaml_ng::from_str(text)
                        .map_err(|e| e.to_string().lines().next().unwrap_or("").to_string())?,
                )
            }
        }
    };
    let mut c = Config::default();
    let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::trim);
    if let Some(u) = s("url") {
        c.url = u.trim_end_matches('/').to_string();
        if !c.url.is_empty() {
            Url::parse(&c.url).map_err(|e| format!("url {u:?} is not a URL: {e}"))?;
        }
    }
    if let Some(b) = s("baseurl") {
        c.baseurl = b.to_string();
    }
    if let Some(p) = s("permalink") {
        c.style = p.to_string();
    }
    if let Some(d) = s("collections_dir") {
        c.collections_dir = d.trim_matches('/').to_string();
    }
    if let Some(Value::Array(ex)) = v.get("exclude") {
        c.exclude = ex
            .iter()
            .filter_map(|x| x.as_str().map(String::from))
            .collect();
    }
    let mut posts_permalink = None;
    match v.get("collections") {
        Some(Value::Object(m)) => {
            for (label, meta) in m {
                let output = meta.get("output").and_then(Value::as_bool).unwrap_or(false);
                let permalink = meta
                    .get("permalink")
                    .and_then(Value::as_str)
                    .map(String::from);
                if label == "posts" {
                    posts_permalink = permalink;
                    continue;
                }
                c.collections.push(Collection {
                    label: label.clone(),
                    output,
                    permalink,
                });
            }
        }
        Some(Value::Array(labels)) => {
            for l in labels.iter().filter_map(Value::as_str) {
                if l != "posts" {
                    c.collections.push(Collection {
                        label: l.to_string(),
                        output: false,
                        permalink: None,
                    });
                }
            }
        }
        _ => {}
    }
    c.permalink = posts_permalink.unwrap_or_else(|| style_to_permalink(&c.style));
    if let Some(p) = c.collections.iter_mut().find(|k| k.label == "posts") {
        p.permalink = Some(c.permalink.clone());
    }
    Ok(c)
}

/// What a file of the site is to Jekyll.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Doc {
    /// A document of a collection (posts included): its label and its path inside the
    /// collection's folder.
    Document { label: String, rel: String },
    /// A draft: not published.
    Draft,
    /// A page (Markdown or HTML outside `_` folders).
    Page,
    /// Anything else under a `_` folder, or excluded: not published.
    Hidden,
    /// A file copied as it is.
    Static,
}

impl Config {
    /// The site's address: `url` and `baseurl`, with a trailing `/`.
    pub fn base_url(&self) -> Option<Url> {
        if self.url.is_empty() {
            return None;
        }
        let base = self.baseurl.trim_matches('/');
        let s = if base.is_empty() {
            format!("{}/", self.url)
        } else {
            format!("{}/{base}/", self.url)
        };
        Url::parse(&s).ok()
    }

    fn in_collections_dir<'a>(&self, p: &'a str) -> Option<&'a str> {
        if self.collections_dir.is_empty() {
            Some(p)
        } else {
            p.strip_prefix(&self.collections_dir)
                .and_then(|r| r.strip_prefix('/'))
        }
    }

    /// What the file at `site_path` (relative to the site's root) is.
    pub fn doc(&self, site_path: &str) -> Doc {
        let p = site_path.trim_start_matches('/');
        let excluded = self.exclude.iter().any(|e| {
            let e = e.trim_matches('/');
            !e.is_empty() && (p == e || p.starts_with(&format!("{e}/")))
        });
        if excluded || p.split('/').any(|s| s.starts_with('.')) {
            return Doc::Hidden;
        }
        if let Some(inner) = self.in_collections_dir(p) {
            // Posts may sit in category folders: `blog/_posts/…`.
            if let Some(i) = inner.find("_posts/") {
                if i == 0 || inner[..i].ends_with('/') {
                    return Doc::Document {
                        label: "posts".into(),
                        rel: inner[i + "_posts/".len()..].to_string(),
                    };
                }
            }
            if inner.starts_with("_drafts/") || inner.contains("/_drafts/") {
                return Doc::Draft;
            }
            for c in &self.collections {
                if let Some(rel) = inner.strip_prefix(&format!("_{}/", c.label)) {
                    return Doc::Document {
                        label: c.label.clone(),
                        rel: rel.to_string(),
                    };
                }
            }
        }
        if p.split('/').any(|s| s.starts_with('_')) {
            return Doc::Hidden;
        }
        let ext = p.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
        match ext.as_deref() {
            Some("md" | "markdown" | "mkdown" | "mkdn" | "mkd" | "html" | "htm") => Doc::Page,
            _ => Doc::Static,
        }
    }

    /// The path (from the site's root, without `baseurl`) Jekyll publishes the file at.
    pub fn document_path(&self, site_path: &str, front: &FrontMatter) -> Option<String> {
        let p = site_path.trim_start_matches('/');
        let (dir, file) = p.rsplit_once('/').unwrap_or(("", p));
        let (stem, ext) = file.rsplit_once('.').unwrap_or((file, ""));
        let output_ext = match ext.to_ascii_lowercase().as_str() {
            "md" | "markdown" | "mkdown" | "mkdn" | "mkd" | "html" | "htm" => ".html".to_string(),
            "" => String::new(),
            e => format!(".{e}"),
        };
        let front_permalink = front
            .permalink
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty());
        let url = match self.doc(p) {
            Doc::Document { label, rel } => {
                let collection = self.collections.iter().find(|c| c.label == label);
                if label != "posts" && !collection.is_some_and(|c| c.output) {
                    return None;
                }
                let template = match front_permalink {
                    Some(t) => t.to_string(),
                    None => match collection.and_then(|c| c.permalink.clone()) {
                        Some(t) => style_to_permalink(&t),
                        None => add_permalink_suffix("/:collection/:path", &self.style),
                    },
                };
                let drop = UrlDrop::new(&label, p, &rel, stem, &output_ext, front)?;
                drop.expand(&template)?
            }
            Doc::Page => {
                let template = match front_permalink {
                    Some(t) => t.to_string(),
                    None if stem == "index" => "/:path/".to_string(),
                    None => add_permalink_suffix("/:path/:basename", &self.style),
                };
                let mut out = template;
                for (k, v) in [
                    ("path", dir),
                    ("basename", stem),
                    ("output_ext", &output_ext),
                ] {
                    if !out.contains(':') {
                        break;
                    }
                    out = out.replace(&format!(":{k}"), &escape_path(v));
                }
                out
            }
            Doc::Draft | Doc::Hidden | Doc::Static => return None,
        };
        Some(sanitize_url(&url))
    }

    /// The published URL of a file: `base` is the site's address (with `baseurl`).
    pub fn document_url(&self, base: &Url, site_path: &str, front: &FrontMatter) -> Option<Url> {
        let p = self.document_path(site_path, front)?;
        base.join(p.trim_start_matches('/')).ok()
    }
}

/// `Utils.add_permalink_suffix`.
fn add_permalink_suffix(template: &str, style: &str) -> String {
    let mut t = template.to_string();
    match style {
        "pretty" => t.push('/'),
        "date" | "ordinal" | "none" => t.push_str(":output_ext"),
        s => {
            if s.ends_with('/') {
                t.push('/');
            }
            if s.ends_with(":output_ext") {
                t.push_str(":output_ext");
            }
        }
    }
    t
}

/// `URL#sanitize_url`: a leading `/`, no `..`, no `./`, no doubled `/`.
fn sanitize_url(s: &str) -> String {
    let s = format!("/{s}").replace("..", "/").replace("./", "");
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c == '/' && out.ends_with('/') {
            continue;
        }
        out.push(c);
    }
    out
}

/// `URL.escape_path`: characters outside a URL path's set are percent-encoded.
fn escape_path(s: &str) -> String {
    if s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'/' | b'-'))
    {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'-' | b'.'
                    | b'_'
                    | b'~'
                    | b'!'
                    | b'$'
                    | b'&'
                    | b'\''
                    | b'('
                    | b')'
                    | b'*'
                    | b'+'
                    | b','
                    | b';'
                    | b'='
                    | b':'
                    | b'@'
                    | b'/'
            )
        {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `Utils.slugify` in `default` mode (lowercase; letters, marks and digits kept, any other
/// run becomes `-`) or `pretty` mode (also `._~!$&'()+,;=@`), optionally keeping case.
pub fn slugify(s: &str, pretty: bool, cased: bool) -> String {
    let keep = |c: char| {
        c.is_alphabetic()
            || c.is_numeric() && c.is_alphanumeric()
            || (pretty && "._~!$&'()+,;=@".contains(c))
            || matches!(c as u32, 0x0300..=0x036F)
    };
    let mut out = String::with_capacity(s.len());
    let mut hyphen = false;
    for c in s.chars() {
        if keep(c) {
            if hyphen {
                out.push('-');
                hyphen = false;
            }
            out.push(c);
        } else {
            hyphen = true;
        }
    }
    if hyphen {
        out.push('-');
    }
    let out = out.trim_matches('-').to_string();
    if cased {
        out
    } else {
        out.to_lowercase()
    }
}

/// `DATE_FILENAME_MATCHER`: `YYYY-MM-DD-slug` (1 to 4 digit year, 1 or 2 digit month and day).
fn date_slug(stem: &str) -> Option<(NaiveDate, &str)> {
    let mut parts = stem.splitn(4, '-');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    let slug = parts.next()?;
    let digits = |s: &str, min: usize, max: usize| {
        (min..=max).contains(&s.len()) && s.bytes().all(|c| c.is_ascii_digit())
    };
    if !(digits(y, 2, 4) && digits(m, 1, 2) && digits(d, 1, 2)) {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?)?;
    Some((date, slug))
}

/// A front matter date as Jekyll reads it: the wall time as written.
fn front_date(s: &str) -> Option<NaiveDateTime> {
    let s = s.trim().trim_matches('"');
    let date = NaiveDate::parse_from_str(s.get(..10)?, "%Y-%m-%d").ok()?;
    let rest = s.get(10..).unwrap_or("").trim_start_matches(['T', ' ']);
    let time = rest
        .get(..8)
        .and_then(|t| NaiveTime::parse_from_str(t, "%H:%M:%S").ok())
        .or_else(|| {
            rest.get(..5)
                .and_then(|t| NaiveTime::parse_from_str(t, "%H:%M").ok())
        })
        .unwrap_or(NaiveTime::MIN);
    Some(date.and_time(time))
}

/// The placeholders of a document's URL template (`Drops::UrlDrop`).
struct UrlDrop {
    collection: String,
    path: String,
    name: String,
    title: String,
    slug: String,
    categories: Vec<String>,
    /// The front matter's date, else the file name's; a document with neither has the build's
    /// time in Jekyll, which no URL here can know.
    date: Option<NaiveDateTime>,
    output_ext: String,
}

impl UrlDrop {
    fn new(
        label: &str,
        site_path: &str,
        rel: &str,
        stem: &str,
        output_ext: &str,
        front: &FrontMatter,
    ) -> Option<UrlDrop> {
        let file_date = date_slug(stem);
        let slug_src = front
            .slug
            .clone()
            .filter(|s| !s.trim().is_empty())
            .unwrap_or_else(|| match file_date {
                Some((_, s)) => s.trim_end_matches('.').to_string(),
                None => stem.trim_end_matches('.').to_string(),
            });
        let date = front
            .date
            .as_deref()
            .and_then(front_date)
            .or_else(|| file_date.map(|(d, _)| d.and_time(NaiveTime::MIN)));
        // Categories: the folders above `_posts`, then the front matter's.
        let mut categories: Vec<String> = Vec::new();
        if label == "posts" {
            if let Some(i) = site_path.find("_posts/") {
                categories.extend(
                    site_path[..i]
                        .split('/')
                        .filter(|s| !s.is_empty())
                        .map(String::from),
                );
            }
        }
        let singular: Vec<&str> = front
            .values
            .iter()
            .filter(|(k, _, _)| k == "category")
            .map(|(_, v, _)| v.as_str())
            .collect();
        if !singular.is_empty() {
            categories.extend(singular.into_iter().map(String::from));
        } else {
            for (_, v, _) in front.values.iter().filter(|(k, _, _)| k == "categories") {
                categories.extend(v.split_whitespace().map(String::from));
            }
        }
        let mut seen = std::collections::HashSet::new();
        categories.retain(|c| seen.insert(c.clone()));
        let rel_no_ext = rel.rsplit_once('.').map(|(a, _)| a).unwrap_or(rel);
        Some(UrlDrop {
            collection: label.to_string(),
            path: format!("/{}", rel_no_ext.trim_end_matches('.')),
            name: slugify(stem, false, false),
            title: slugify(&slug_src, true, true),
            slug: slugify(&slug_src, false, false),
            categories,
            date,
            output_ext: output_ext.to_string(),
        })
    }

    fn get(&self, key: &str) -> Option<String> {
        let date = self.date;
        let d = || date.ok_or(());
        Some(match key {
            "collection" => self.collection.clone(),
            "path" => self.path.clone(),
            "name" => self.name.clone(),
            "title" => self.title.clone(),
            "slug" => self.slug.clone(),
            "categories" => self
                .categories
                .iter()
                .map(|c| c.to_lowercase())
                .collect::<Vec<_>>()
                .join("/"),
            "slugified_categories" => self
                .categories
                .iter()
                .map(|c| slugify(c, false, false))
                .collect::<Vec<_>>()
                .join("/"),
            "year" => d().ok()?.format("%Y").to_string(),
            "month" => d().ok()?.format("%m").to_string(),
            "day" => d().ok()?.format("%d").to_string(),
            "hour" => d().ok()?.format("%H").to_string(),
            "minute" => d().ok()?.format("%M").to_string(),
            "second" => d().ok()?.format("%S").to_string(),
            "i_day" => d().ok()?.day().to_string(),
            "i_month" => d().ok()?.month().to_string(),
            "short_month" => d().ok()?.format("%b").to_string(),
            "long_month" => d().ok()?.format("%B").to_string(),
            "short_year" => d().ok()?.format("%y").to_string(),
            "w_year" => d().ok()?.format("%G").to_string(),
            "week" => d().ok()?.format("%V").to_string(),
            "w_day" => d().ok()?.format("%u").to_string(),
            "short_day" => d().ok()?.format("%a").to_string(),
            "long_day" => d().ok()?.format("%A").to_string(),
            "y_day" => d().ok()?.format("%j").to_string(),
            "output_ext" => self.output_ext.clone(),
            _ => return None,
        })
    }

    /// `URL#generate_url_from_drop`: every `:key` replaced (`:key_` may stand for `:key`); an
    /// unknown key fails the build, so no URL.
    fn expand(&self, template: &str) -> Option<String> {
        let mut out = String::with_capacity(template.len() + 32);
        let mut rest = template;
        while let Some(i) = rest.find(':') {
            out.push_str(&rest[..i]);
            let after = &rest[i + 1..];
            let len = after
                .bytes()
                .take_while(|c| c.is_ascii_lowercase() || *c == b'_')
                .count();
            if len == 0 {
                out.push(':');
                rest = after;
                continue;
            }
            let name = &after[..len];
            let value = self
                .get(name)
                .or_else(|| name.strip_suffix('_').and_then(|n| self.get(n)))?;
            out.push_str(&escape_path(&value));
            rest = &after[len..];
        }
        out.push_str(rest);
        Some(out)
    }
}

/// The post a `{% post_url name %}` names, among the site paths of the site's posts
/// (`PostComparer`): `_posts/<dirs>/<date>-<slug>.<ext>` or `<dirs>/_posts/<date>-<slug>.<ext>`
/// exactly, else (Jekyll's deprecated fallback) a post with that date and slug.
pub fn find_post<'a>(
    posts: impl IntoIterator<Item = &'a str> + Clone,
    name: &str,
) -> Option<String> {
    let name = name.trim().trim_start_matches('/');
    let (dirs, last) = match name.rsplit_once('/') {
        Some((d, l)) => (format!("{d}/"), l),
        None => (String::new(), name),
    };
    let (date, slug) = date_slug(last)?;
    let date_text = &last[..last.len() - slug.len() - 1];
    let basename = format!(
        "{}-{}\\.[^.]+",
        regex::escape(date_text),
        regex::escape(slug)
    );
    let re = regex::Regex::new(&format!(
        "^_posts/{d}{basename}$|^{d}_posts/?{basename}$",
        d = regex::escape(&dirs)
    ))
    .ok()?;
    if let Some(p) = posts.clone().into_iter().find(|p| re.is_match(p)) {
        return Some(p.to_string());
    }
    posts.into_iter().find_map(|p| {
        let stem = p.rsplit('/').next()?.rsplit_once('.')?.0;
        let (d, s) = date_slug(stem)?;
        (d == date && s == slug).then(|| p.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn front(pairs: &[(&str, &str)]) -> FrontMatter {
        let mut f = FrontMatter::default();
        for (k, v) in pairs {
            match *k {
                "date" => f.date = Some(v.to_string()),
                "slug" => f.slug = Some(v.to_string()),
                "permalink" => f.permalink = Some(v.to_string()),
                _ => {}
            }
            f.values.push((k.to_string(), v.to_string(), 2));
        }
        f
    }

    #[test]
    fn posts_use_the_permalink_style() {
        let c = parse("url: https://ex.org/\nbaseurl: /blog\n", "yml").unwrap();
        assert_eq!(c.base_url().unwrap().as_str(), "https://ex.org/blog/");
        let f = front(&[]);
        assert_eq!(
            c.document_path("_posts/2010-07-21-Hello World.md", &f)
                .unwrap(),
            "/2010/07/21/Hello-World.html"
        );
        let f = front(&[
            ("categories", "Tech news"),
            ("date", "2010-07-22 23:30:00 +0200"),
        ]);
        assert_eq!(
            c.document_path("blog/_posts/2010-07-21-hello.md", &f)
                .unwrap(),
            "/blog/tech/news/2010/07/22/hello.html"
        );
        let c = parse("permalink: pretty\n", "yml").unwrap();
        assert_eq!(
            c.document_path("_posts/2010-07-21-hello.markdown", &front(&[]))
                .unwrap(),
            "/2010/07/21/hello/"
        );
        assert_eq!(c.document_path("about.md", &front(&[])).unwrap(), "/about/");
        assert_eq!(
            c.document_path("docs/index.md", &front(&[])).unwrap(),
            "/docs/"
        );
        let c = parse("permalink: /:year/:slug/\n", "yml").unwrap();
        assert_eq!(
            c.document_path(
                "_posts/2010-07-21-Hello.md",
                &front(&[("slug", "Über uns")])
            )
            .unwrap(),
            "/2010/%C3%BCber-uns/"
        );
        assert_eq!(c.document_path("about.md", &front(&[])).unwrap(), "/about/");
        let c = Config::default();
        assert_eq!(
            c.document_path("about.md", &front(&[])).unwrap(),
            "/about.html"
        );
        assert_eq!(
            c.document_path("_drafts/2010-01-01-x.md", &front(&[])),
            None
        );
        assert_eq!(c.document_path("_includes/x.html", &front(&[])), None);
        assert_eq!(
            c.document_path(
                "_posts/2010-07-21-x.md",
                &front(&[("permalink", "/custom/:title/")])
            )
            .unwrap(),
            "/custom/x/"
        );
    }

    #[test]
    fn collections() {
        let c = parse(
            "collections:\n  recipes:\n    output: true\n    permalink: /r/:path/\n  notes:\n    output: false\n",
            "yml",
        )
        .unwrap();
        assert_eq!(
            c.document_path("_recipes/soup/Tomato.md", &front(&[]))
                .unwrap(),
            "/r/soup/Tomato/"
        );
        assert_eq!(c.document_path("_notes/a.md", &front(&[])), None);
        assert_eq!(c.doc("assets/x.png"), Doc::Static);
    }

    #[test]
    fn post_url_finds_posts_like_jekyll() {
        let posts = [
            "_posts/2010-07-21-name.md",
            "_posts/sub/2011-01-02-other.markdown",
            "cat/_posts/2012-3-4-third.md",
        ];
        assert_eq!(
            find_post(posts, "2010-07-21-name").as_deref(),
            Some(posts[0])
        );
        assert_eq!(
            find_post(posts, "sub/2011-01-02-other").as_deref(),
            Some(posts[1])
        );
        assert_eq!(
            find_post(posts, "cat/2012-3-4-third").as_deref(),
            Some(posts[2])
        );
        // The deprecated fallback: same date and slug, folder ignored.
        assert_eq!(
            find_post(posts, "2011-01-02-other").as_deref(),
            Some(posts[1])
        );
        assert_eq!(find_post(posts, "2010-07-22-name"), None);
        assert_eq!(find_post(posts, "not-a-post"), None);
    }

    #[test]
    fn slugify_like_jekyll() {
        assert_eq!(slugify("Hello, World!", false, false), "hello-world");
        assert_eq!(slugify("Hello, World!", true, true), "Hello,-World!");
        assert_eq!(slugify("  _x_ ", false, false), "x");
    }
}
