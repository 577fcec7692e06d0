//! Finding and reading a site around a source folder: the filesystem shell of `site`.
//!
//! A site is the nearest folder, from the source folder up, that holds a Hugo config
//! (`hugo.toml|yaml|yml|json`, then `config.toml|yaml|yml|json`, then `config/_default/`, as Hugo
//! looks for them) or a Jekyll `_config.yml`; the search stops at a repository's root (a folder
//! with `.git`). A `config.*` counts as Hugo's only beside a `content/`, `archetypes/` or
//! `layouts/` folder or with Hugo's own keys, so that an unrelated `config.yaml` above a folder
//! of posts is not taken for one. Parsing is `site::hugo` and `site::jekyll`'s.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{hugo, jekyll, SiteConfig};
use crate::source::Scope;

/// A site config that could not be used: the scan goes on without it.
#[derive(Debug, thiserror::Error)]
pub enum SiteError {
    #[error("cannot read site config {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("site config {path}: {message}; read without it")]
    Parse { path: PathBuf, message: String },
}

/// A site: its root folder, the config files read, what they say.
#[derive(Debug, Clone)]
pub struct Site {
    pub root: PathBuf,
    pub config_files: Vec<PathBuf>,
    pub config: SiteConfig,
    /// blake3 of the config files' bytes: when it changes, every post is read again.
    pub fingerprint: String,
}

/// Where a source's posts sit.
#[derive(Debug, Clone)]
pub struct Layout {
    /// The source folder (absolute when it could be resolved).
    pub source: PathBuf,
    pub site: Option<Site>,
    /// The folder content paths (Hugo references) are relative to.
    pub content_root: PathBuf,
    /// The folder whose files are listed for local-file citations: the site's root, else the
    /// content folder or the source folder.
    pub files_root: PathBuf,
}

/// Folders never listed: generated output, dependencies, caches.
const NEVER: [&str; 6] = [
    "node_modules",
    "public",
    "resources",
    "_site",
    ".jekyll-cache",
    "vendor",
];

/// At most this many files of a site are listed.
pub const MAX_FILES: usize = 500_000;

impl Layout {
    /// A path under the files root, `/`-separated, or `None` outside it.
    pub fn files_path(&self, abs: &Path) -> Option<String> {
        rel(&self.files_root, abs)
    }

    /// The source folder relative to the files root ("" when they are the same).
    pub fn source_prefix(&self) -> String {
        rel(&self.files_root, &self.source).unwrap_or_default()
    }

    /// The content root relative to the files root.
    pub fn content_prefix(&self) -> String {
        rel(&self.files_root, &self.content_root).unwrap_or_default()
    }

    /// Which files of the source are posts: a site root's pages only (Hugo's content folder;
    /// Jekyll's posts, collections and pages, not its layouts, includes or output).
    pub fn scope(&self) -> Scope {
        let Some(site) = &self.site else {
            return Scope {
                only: None,
                skip: vec!["node_modules".into()],
            };
        };
        let at_root = rel(&site.root, &self.source).is_some_and(|p| p.is_empty());
        match &site.config {
            SiteConfig::Hugo(c) if at_root => Scope {
                only: Some(c.content_dir.clone()),
                skip: Vec::new(),
            },
            SiteConfig::Jekyll(c) => {
                let mut skip: Vec<String> = NEVER.iter().map(|s| s.to_string()).collect();
                if at_root {
                    for d in [
                        "_layouts",
                        "_includes",
                        "_sass",
                        "_data",
                        "_plugins",
                        "_drafts",
                    ] {
                        skip.push(d.into());
                    }
                    skip.extend(c.exclude.iter().map(|e| e.trim_matches('/').to_string()));
                }
                Scope { only: None, skip }
            }
            SiteConfig::Hugo(_) => Scope {
                only: None,
                skip: Vec::new(),
            },
        }
    }
}

/// `to` relative to `from`, `/`-separated, when `to` lies inside `from`.
fn rel(from: &Path, to: &Path) -> Option<String> {
    let r = to.strip_prefix(from).ok()?;
    Some(
        r.components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/"),
    )
}

/// Finds the site around `source` and reads its config. A config that cannot be read or
/// parsed is returned as the error beside a layout without a site.
pub fn locate(source: &Path) -> (Layout, Option<SiteError>) {
    locate_with(source, true)
}

/// Like [`locate`]; with `read_site_config` false no site config is looked for (`[[source]]
/// site_config = false`): the source stands alone.
pub fn locate_with(source: &Path, read_site_config: bool) -> (Layout, Option<SiteError>) {
    let abs = std::fs::canonicalize(source).unwrap_or_else(|_| source.to_path_buf());
    let mut found = None;
    let mut error = None;
    for dir in abs.ancestors().take_while(|_| read_site_config) {
        match site_at(dir) {
            Ok(Some(site)) => {
                found = Some(site);
                break;
            }
            Ok(None) => {}
            Err(e) => {
                error = Some(e);
                break;
            }
        }
        if dir.join(".git").exists() {
            break;
        }
    }
    let (content_root, files_root) = match &found {
        Some(site) => {
            let content = match &site.config {
                SiteConfig::Hugo(c) => site.root.join(&c.content_dir),
                SiteConfig::Jekyll(_) => site.root.clone(),
            };
            (content, site.root.clone())
        }
        None => {
            // The nearest `content/` folder: the source or a folder above it, or one inside.
            let named = abs
                .ancestors()
                .find(|d| d.file_name().is_some_and(|n| n == "content"))
                .map(Path::to_path_buf);
            // Without a site, files are listed no higher than the content folder (a folder
            // named `content` may sit anywhere, even in a home folder).
            match named {
                Some(c) => (c.clone(), c),
                None if abs.join("content").is_dir() => (abs.join("content"), abs.clone()),
                None => (abs.clone(), abs.clone()),
            }
        }
    };
    (
        Layout {
            source: abs,
            site: found,
            content_root,
            files_root,
        },
        error,
    )
}

fn read(path: &Path) -> Result<String, SiteError> {
    let bytes = std::fs::read(path).map_err(|e| SiteError::Read {
        path: path.to_path_buf(),
        source: e,
    })?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

fn ext_of(p: &Path) -> String {
    p.extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase()
}

/// The site whose root is `dir`, if it is one.
fn site_at(dir: &Path) -> Result<Option<Site>, SiteError> {
    let file = |name: &str| {
        hugo::CONFIG_EXTENSIONS
            .iter()
            .map(|e| dir.join(format!("{name}.{e}")))
            .find(|p| p.is_file())
    };
    let hugo_file = file("hugo");
    let jekyll_file = ["_config.yml", "_config.yaml", "_config.toml"]
        .iter()
        .map(|n| dir.join(n))
        .find(|p| p.is_file());
    if hugo_file.is_none() {
        if let Some(path) = jekyll_file {
            let text = read(&path)?;
            let config =
                jekyll::parse(&text, &ext_of(&path)).map_err(|message| SiteError::Parse {
                    path: path.clone(),
                    message,
                })?;
            return Ok(Some(Site {
                root: dir.to_path_buf(),
                fingerprint: blake3::hash(text.as_bytes()).to_hex().to_string(),
                config_files: vec![path],
                config: SiteConfig::Jekyll(config),
            }));
        }
    }
    let mut files = Vec::new();
    let mut merged = Value::Object(Default::default());
    let mut hasher = blake3::Hasher::new();
    let main = hugo_file.or_else(|| file("config"));
    if let Some(path) = &main {
        let text = read(path)?;
        let v = hugo::parse_value(&text, &ext_of(path)).map_err(|message| SiteError::Parse {
            path: path.clone(),
            message,
        })?;
        let generic = path
            .file_stem()
            .is_some_and(|s| s.eq_ignore_ascii_case("config"));
        let hugo_keys = [
            "baseurl",
            "contentdir",
            "theme",
            "permalinks",
            "languagecode",
        ]
        .iter()
        .any(|k| v.get(k).is_some());
        let hugo_dirs = ["content", "archetypes", "layouts"]
            .iter()
            .any(|d| dir.join(d).is_dir());
        if !generic || hugo_keys || hugo_dirs {
            hasher.update(text.as_bytes());
            hugo::merge(&mut merged, v);
            files.push(path.clone());
        }
    }
    // `config/_default/` then `config/production/` (the environment `hugo` builds in): each
    // `hugo.*`/`config.*` file is the root table, any other file the table of its name.
    for env in ["_default", "production"] {
        let d = dir.join("config").join(env);
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok()).map(|e| e.path()).collect();
        paths.sort();
        for path in paths {
            let ext = ext_of(&path);
            if !hugo::CONFIG_EXTENSIONS.contains(&ext.as_str()) || !path.is_file() {
                continue;
            }
            let text = read(&path)?;
            let v = hugo::parse_value(&text, &ext).map_err(|message| SiteError::Parse {
                path: path.clone(),
                message,
            })?;
            let stem = path
                .file_stem()
                .map(|s| s.to_string_lossy().to_lowercase())
                .unwrap_or_default();
            let v = if stem == "hugo" || stem == "config" {
                v
            } else {
                let mut m = serde_json::Map::new();
                m.insert(stem, v);
                Value::Object(m)
            };
            hasher.update(text.as_bytes());
            hugo::merge(&mut merged, v);
            files.push(path);
        }
    }
    if files.is_empty() {
        return Ok(None);
    }
    let config = hugo::config_from(&merged).map_err(|message| SiteError::Parse {
        path: files[0].clone(),
        message,
    })?;
    Ok(Some(Site {
        root: dir.to_path_buf(),
        config_files: files,
        config: SiteConfig::Hugo(config),
        fingerprint: hasher.finalize().to_hex().to_string(),
    }))
}

/// Every file under `root` (relative, `/`-separated, sorted), without hidden files, generated
/// output and dependencies; at most [`MAX_FILES`].
pub fn list_files(root: &Path) -> Vec<String> {
    let walker = walkdir::WalkDir::new(root)
        .follow_links(true)
        .into_iter()
        .filter_entry(|e| {
            e.depth() == 0 || {
                let n = e.file_name().to_string_lossy();
                let generated = e.file_type().is_dir() && NEVER.contains(&n.as_ref());
                !n.starts_with('.') && !generated
            }
        });
    let mut out: Vec<String> = walker
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_file())
        .filter_map(|e| rel(root, e.path()))
        .take(MAX_FILES)
        .collect();
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_site_above_a_source_and_ignores_unrelated_configs() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("blog/content/posts/a")).unwrap();
        std::fs::write(
            root.join("blog/config.yaml"),
            "baseURL: https://ex.org/\npermalinks:\n  posts: /:year/:slug/\n",
        )
        .unwrap();
        let (l, e) = locate(&root.join("blog/content/posts"));
        assert!(e.is_none());
        let site = l.site.as_ref().unwrap();
        assert!(site.root.ends_with("blog"));
        assert_eq!(l.source_prefix(), "content/posts");
        assert_eq!(l.content_prefix(), "content");
        assert_eq!(l.scope().only, None);
        // At the site's root, only the content folder holds posts.
        let (l, _) = locate(&root.join("blog"));
        assert_eq!(l.scope().only.as_deref(), Some("content"));
        // A `config.yaml` with no sign of Hugo is someone else's.
        std::fs::create_dir_all(root.join("other/posts")).unwrap();
        std::fs::write(root.join("other/config.yaml"), "editor: vim\n").unwrap();
        std::fs::create_dir(root.join("other/.git")).unwrap();
        let (l, _) = locate(&root.join("other/posts"));
        assert!(l.site.is_none());
        // A broken config is reported, and the scan goes on without it.
        std::fs::create_dir_all(root.join("bad/_posts")).unwrap();
        std::fs::write(root.join("bad/_config.yml"), "url: [unclosed\n").unwrap();
        let (l, e) = locate(&root.join("bad/_posts"));
        assert!(l.site.is_none());
        assert!(e.unwrap().to_string().contains("_config.yml"));
    }
}
