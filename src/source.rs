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
    /// Where each offset of `text` lies in the file's raw bytes (a BOM and replaced invalid
    /// bytes shift them).
    pub offsets: OffsetMap,
}

/// Byte offsets in a decoded text → byte offsets in the raw bytes it was decoded from.
///
/// Decoding drops a UTF-8 byte order mark and turns each maximal invalid byte sequence (1 to 3
/// bytes) into U+FFFD (3 bytes), so the two buffers drift apart. Positions found in the text
/// are mapped here, never used to slice the raw bytes directly.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OffsetMap {
    /// Raw bytes before the text starts (3 for a BOM).
    lead: usize,
    /// For each U+FFFD that replaced invalid bytes: its offset in the text and how many bytes
    /// the text has grown by up to and including it (3 minus the raw length, summed).
    replaced: Vec<(usize, usize)>,
}

impl OffsetMap {
    /// The raw byte offset of text offset `at` (a char boundary of the text; an offset inside a
    /// replacement character maps to where its invalid bytes start).
    pub fn raw(&self, at: usize) -> usize {
        // Replacements that end at or before `at` have shifted it.
        let n = self.replaced.partition_point(|&(p, _)| p + 3 <= at);
        let grown = if n == 0 { 0 } else { self.replaced[n - 1].1 };
        let inside = self
            .replaced
            .get(n)
            .filter(|&&(p, _)| p < at)
            .map(|&(p, _)| at - p)
            .unwrap_or(0);
        self.lead + at - grown - inside
    }

    /// The raw byte range of a text range.
    pub fn raw_range(&self, r: std::ops::Range<usize>) -> std::ops::Range<usize> {
        let start = self.raw(r.start);
        start..self.raw(r.end).max(start)
    }
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

/// Which part of a source folder holds posts (a site's root holds templates and output too).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    /// Only this folder (relative to the source) is read; paths stay relative to the source.
    pub only: Option<String>,
    /// Folders and files not read: a name matches at any depth, a path with `/` from the
    /// source.
    pub skip: Vec<String>,
}

impl Scope {
    fn skips(&self, rel_path: &str, name: &str) -> bool {
        self.skip.iter().any(|d| {
            if d.contains('/') {
                rel_path == d
            } else {
                name == d
            }
        })
    }
}

/// Lists the post files of a source, sorted by path, with the problems met on the way (folders
/// that cannot be listed). Hidden files and folders (`.git`, `.DS_Store`) are not posts.
pub fn discover(src: &SourceConfig) -> Result<(Vec<PostFile>, Vec<FileProblem>), SourceError> {
    discover_in(src, &Scope::default())
}

/// [`discover`] within a [`Scope`].
pub fn discover_in(
    src: &SourceConfig,
    scope: &Scope,
) -> Result<(Vec<PostFile>, Vec<FileProblem>), SourceError> {
    if !src.path.is_dir() {
        return Err(SourceError::Missing {
            path: src.path.clone(),
        });
    }
    let include = globset(&src.path, &src.include)?;
    let exclude = globset(&src.path, &src.exclude)?;
    let mut files = Vec::new();
    let mut problems = Vec::new();
    let start = match &scope.only {
        Some(sub) => src.path.join(sub),
        None => src.path.clone(),
    };
    if !start.is_dir() {
        return Ok((files, problems));
    }
    let walker = walkdir::WalkDir::new(&start)
        .follow_links(true)
        .into_iter()
        .filter_entry(|e| {
            if e.depth() == 0 {
                return true;
            }
            let name = e.file_name().to_string_lossy();
            !name.starts_with('.') && !scope.skips(&rel(&src.path, e.path()), &name)
        });
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

/// Reads and decodes a file of the site at `rel` (`/`-separated) under `root`: another post a
/// post references, read for its anchors. Capped like a post.
pub fn read_under(root: &Path, rel: &str) -> Result<PostText, FileProblem> {
    let abs = rel.split('/').fold(root.to_path_buf(), |p, s| p.join(s));
    let size = std::fs::metadata(&abs)
        .map_err(|e| FileProblem {
            path: rel.to_string(),
            message: format!("cannot read: {e}"),
        })?
        .len();
    let file = PostFile {
        rel_path: rel.to_string(),
        abs_path: abs,
        format: Format::Markdown,
        size,
        mtime_ns: 0,
    };
    decode(rel, &read(&file)?)
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
    let (lead, bytes) = match bytes.strip_prefix(b"\xEF\xBB\xBF") {
        Some(rest) => (3, rest),
        None => (0, bytes),
    };
    let mut offsets = OffsetMap {
        lead,
        replaced: Vec::new(),
    };
    if let Ok(s) = std::str::from_utf8(bytes) {
        return Ok(PostText {
            text: s.to_string(),
            hash,
            lossy: false,
            offsets,
        });
    }
    // The same decoding as `String::from_utf8_lossy` (one U+FFFD per maximal invalid
    // sequence), recording where each replacement lands.
    let mut text = String::with_capacity(bytes.len() + 16);
    let mut grown = 0usize;
    for chunk in bytes.utf8_chunks() {
        text.push_str(chunk.valid());
        let bad = chunk.invalid().len();
        if bad > 0 {
            grown += 3 - bad;
            offsets.replaced.push((text.len(), grown));
            text.push(char::REPLACEMENT_CHARACTER);
        }
    }
    Ok(PostText {
        text,
        hash,
        lossy: true,
        offsets,
    })
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

    /// ARCHITECTURE.md, "Bounded resources": a post over [`MAX_POST_BYTES`] is not read (the
    /// file here is sparse: its size is all there is to it).
    #[test]
    fn a_post_over_the_cap_is_not_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("huge.md");
        let f = std::fs::File::create(&path).unwrap();
        f.set_len(MAX_POST_BYTES + 1).unwrap();
        let file = PostFile {
            rel_path: "huge.md".into(),
            abs_path: path,
            format: crate::extract::Format::Markdown,
            size: MAX_POST_BYTES + 1,
            mtime_ns: 0,
        };
        let e = read(&file).unwrap_err();
        assert!(e.message.contains("more than the"), "{}", e.message);
        assert!(read_under(dir.path(), "huge.md").is_err());
    }

    #[test]
    fn offsets_map_back_to_raw_bytes_past_a_bom_and_bad_bytes() {
        let raw = b"\xEF\xBB\xBFa \xff\xfe b \xe2\x82 https://a.org/x";
        let t = decode("a", raw).unwrap();
        assert_eq!(t.text, String::from_utf8_lossy(&raw[3..]));
        let at = t.text.find("https").unwrap();
        let r = t.offsets.raw_range(at..t.text.len());
        assert_eq!(&raw[r], b"https://a.org/x");
        assert_eq!(t.offsets.raw(0), 3);
        assert_eq!(t.offsets.raw(t.text.len()), raw.len());
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

            /// Every character of the decoded text that was not put there by decoding sits at
            /// its mapped offset in the raw bytes, and the end maps to the end.
            #[test]
            fn offsets_point_at_the_same_characters_in_the_raw_bytes(
                body in prop::collection::vec(prop_oneof![
                    any::<u8>(),
                    Just(b'\n'), Just(0xE2u8), Just(0x82u8), Just(0xACu8), Just(0xF0u8), Just(0x9Fu8),
                ], 0..80),
                bom in any::<bool>(),
            ) {
                let mut raw = if bom { b"\xEF\xBB\xBF".to_vec() } else { Vec::new() };
                // No NUL: it would be rejected as binary before decoding.
                raw.extend(body.iter().map(|b| if *b == 0 { b'0' } else { *b }));
                let Ok(t) = decode("p", &raw) else { return Ok(()) };
                let mut last = 0;
                for (i, c) in t.text.char_indices() {
                    let r = t.offsets.raw(i);
                    prop_assert!(r >= last && r <= raw.len());
                    last = r;
                    if c != char::REPLACEMENT_CHARACTER {
                        let mut buf = [0u8; 4];
                        prop_assert!(raw[r..].starts_with(c.encode_utf8(&mut buf).as_bytes()), "char {:?} at {} → {}", c, i, r);
                    }
                }
                prop_assert_eq!(t.offsets.raw(t.text.len()), raw.len());
            }
        }
    }

    #[test]
    fn discover_in_a_scope() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for f in [
            "content/posts/a.md",
            "layouts/x.html",
            "_site/b.html",
            "_posts/c.md",
        ] {
            let p = root.join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, "x").unwrap();
        }
        let src = SourceConfig::bare(root.to_path_buf());
        let names = |scope: &Scope| -> Vec<String> {
            discover_in(&src, scope)
                .unwrap()
                .0
                .into_iter()
                .map(|f| f.rel_path)
                .collect()
        };
        let only = Scope {
            only: Some("content".into()),
            skip: Vec::new(),
        };
        assert_eq!(names(&only), ["content/posts/a.md"]);
        let skip = Scope {
            only: None,
            skip: vec!["_site".into(), "layouts".into()],
        };
        assert_eq!(names(&skip), ["_posts/c.md", "content/posts/a.md"]);
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
