//! Sources: the filesystem shell that finds a source folder's post files and reads them.
//!
//! Invariant: a bad file never stops a scan. A missing source folder is an error (nothing could be
//! read); an unreadable, oversized or binary file is a [`FileProblem`] value the caller reports
//! before going on; invalid UTF-8 is read lossily with a warning, so its links are still found.

use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use globset::{Glob, GlobSet, GlobSetBuilder};

use crate::config::SourceConfig;
use crate::extract::Format;

/// Posts larger than this are not read: no real post is, and reading one would cost memory.
pub const MAX_POST_BYTES: u64 = 32 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("source folder {path} does not exist or is not a folder; check `path` in [[source]] or the PATH argument")]
    Missing { path: PathBuf },
    #[error("invalid glob {glob:?} for source {path}: {message}")]
    Glob {
        path: PathBuf,
        glob: String,
        message: String,
    },
}

/// A post file found in a source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostFile {
    /// Relative to the source folder, `/`-separated.
    pub rel_path: String,
    pub abs_path: PathBuf,
    pub format: Format,
    pub size: u64,
    /// Modification time in nanoseconds since the epoch (0 when unknown).
    pub mtime_ns: i64,
}

/// A file that could not be used, with the reason to report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileProblem {
    pub path: String,
    pub message: String,
}

/// A post's text as read.
#[derive(Debug, Clone)]
pub struct PostText {
    pub text: String,
    /// blake3 of the raw bytes, hex.
    pub hash: String,
    /// Set when the bytes were not valid UTF-8 and were read lossily.
    pub lossy: bool,
}

fn globset(path: &Path, globs: &[String]) -> Result<Option<GlobSet>, SourceError> {
    if globs.is_empty() {
        return Ok(None);
    }
    let mut b = GlobSetBuilder::new();
    for g in globs {
        let glob = Glob::new(g).map_err(|e| SourceError::Glob {
            path: path.to_path_buf(),
            glob: g.clone(),
            message: e.to_string(),
        })?;
        b.add(glob);
    }
    b.build().map(Some).map_err(|e| SourceError::Glob {
        path: path.to_path_buf(),
        glob: globs.join(", "),
        message: e.to_string(),
    })
}

/// Lists the post files of a source, sorted by path, with the problems met on the way (folders
/// that cannot be listed). Hidden files and folders (`.git`, `.DS_Store`) are not posts.
pub fn discover(src: &SourceConfig) -> Result<(Vec<PostFile>, Vec<FileProblem>), SourceError> {
    if !src.path.is_dir() {
        return Err(SourceError::Missing {
            path: src.path.clone(),
        });
    }
    let include = globset(&src.path, &src.include)?;
    let exclude = globset(&src.path, &src.exclude)?;
    let mut files = Vec::new();
    let mut problems = Vec::new();
    let walker = walkdir::WalkDir::new(&src.path)
        .follow_links(true)
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.'));
    for entry in walker {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                let path = e
                    .path()
                    .map(|p| rel(&src.path, p))
                    .unwrap_or_else(|| src.path.display().to_string());
                problems.push(FileProblem {
                    path,
                    message: format!("cannot list: {e}"),
                });
                continue;
            }
        };
        if !entry.file_type().is_file() {
            continue;
        }
        let Some(format) = entry
            .path()
            .extension()
            .and_then(|e| e.to_str())
            .and_then(Format::from_extension)
        else {
            continue;
        };
        let rel_path = rel(&src.path, entry.path());
        if include.as_ref().is_some_and(|g| !g.is_match(&rel_path)) {
            continue;
        }
        if exclude.as_ref().is_some_and(|g| g.is_match(&rel_path)) {
            continue;
        }
        let (size, mtime_ns) = match entry.metadata() {
            Ok(m) => (
                m.len(),
                m.modified()
                    .ok()
                    .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                    .map(|d| d.as_nanos() as i64)
                    .unwrap_or(0),
            ),
            Err(e) => {
                problems.push(FileProblem {
                    path: rel_path,
                    message: format!("cannot stat: {e}"),
                });
                continue;
            }
        };
        files.push(PostFile {
            rel_path,
            abs_path: entry.path().to_path_buf(),
            format,
            size,
            mtime_ns,
        });
    }
    files.sort_by(|a, b| a.rel_path.cmp(&b.rel_path));
    Ok((files, problems))
}

fn rel(root: &Path, p: &Path) -> String {
    let r = p.strip_prefix(root).unwrap_or(p);
    r.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// Reads a post's bytes. Binary files and files over [`MAX_POST_BYTES`] are problems.
pub fn read(file: &PostFile) -> Result<Vec<u8>, FileProblem> {
    let problem = |message: String| FileProblem {
        path: file.rel_path.clone(),
        message,
    };
    if file.size > MAX_POST_BYTES {
        return Err(problem(format!(
            "file is {} bytes, more than the {} bytes a post may have; skipped",
            file.size, MAX_POST_BYTES
        )));
    }
    let bytes = std::fs::read(&file.abs_path).map_err(|e| problem(format!("cannot read: {e}")))?;
    Ok(bytes)
}

/// Decodes a post's bytes: binary junk is a problem, invalid UTF-8 is read lossily.
pub fn decode(path: &str, bytes: &[u8]) -> Result<PostText, FileProblem> {
    if looks_binary(bytes) {
        return Err(FileProblem {
            path: path.to_string(),
            message: "looks like a binary file, not a post; skipped".to_string(),
        });
    }
    let hash = blake3::hash(bytes).to_hex().to_string();
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(s) => Ok(PostText {
            text: s.to_string(),
            hash,
            lossy: false,
        }),
        Err(_) => Ok(PostText {
            text: String::from_utf8_lossy(bytes).into_owned(),
            hash,
            lossy: true,
        }),
    }
}

/// A NUL byte in the first 8 KiB, or mostly control bytes, means this is not text (as git and
/// ripgrep decide).
fn looks_binary(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(8192)];
    if head.contains(&0) {
        return true;
    }
    let control = head
        .iter()
        .filter(|&&b| b < 0x20 && !matches!(b, b'\n' | b'\r' | b'\t' | 0x0c))
        .count();
    !head.is_empty() && control * 10 > head.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_and_lossy() {
        assert!(decode("a", b"PK\x03\x04\x00\x00junk").is_err());
        assert!(decode("a", &[1u8, 2, 3, 4, 5, 6, 7, 8, 14, 15]).is_err());
        let t = decode("a", b"see https://a.org/ \xff\xfe here").unwrap();
        assert!(t.lossy);
        assert!(t.text.contains("https://a.org/"));
        let t = decode("a", b"\xEF\xBB\xBFhello").unwrap();
        assert_eq!(t.text, "hello");
        assert!(!t.lossy);
    }

    #[test]
    fn discover_filters_and_sorts() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("posts/drafts")).unwrap();
        std::fs::create_dir_all(root.join(".git")).unwrap();
        for f in [
            "b.md",
            "a.html",
            "c.txt",
            "d.png",
            "drafts/x.md",
            ".hidden.md",
        ] {
            std::fs::write(root.join("posts").join(f), "x").unwrap();
        }
        std::fs::write(root.join(".git/e.md"), "x").unwrap();
        let mut src = SourceConfig::bare(root.join("posts"));
        src.exclude = vec!["drafts/**".into()];
        let (files, problems) = discover(&src).unwrap();
        let names: Vec<_> = files.iter().map(|f| f.rel_path.as_str()).collect();
        assert_eq!(names, ["a.html", "b.md", "c.txt"]);
        assert!(problems.is_empty());
        assert!(matches!(
            discover(&SourceConfig::bare(root.join("nope"))),
            Err(SourceError::Missing { .. })
        ));
    }
}
