//! Writing a fixed post: the filesystem shell of `citewatch fix`.
//!
//! Invariants: a post is written only if its bytes are still those the plan was made from; the
//! new bytes go to a temporary file in the same folder (created exclusively, with the post's
//! permissions), are flushed to disk, and replace the post by a rename, so a reader sees the old
//! file or the new one and never a part; any failure before the rename removes the temporary
//! file and leaves the post as it was. A symbolic link is followed: the file it points to is
//! rewritten, the link stays.

use std::io::Write as _;
use std::path::{Path, PathBuf};

/// Why a post was not written.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("{path} changed since it was read; nothing was written (run `citewatch scan`, then `citewatch fix` again)")]
    Changed { path: PathBuf },
    #[error("cannot write {path}: {source}; the post was left as it was")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// The file operations of a write, one method each, so a test can make any of them fail (a
/// full disk, a rename refused) and see what is left behind.
pub trait Fs {
    fn read(&self, path: &Path) -> std::io::Result<Vec<u8>> {
        std::fs::read(path)
    }

    /// Writes `bytes` to the new file `tmp` (which must not exist) with `like`'s permissions,
    /// and flushes it to disk.
    fn write_new(&self, tmp: &Path, bytes: &[u8], like: &std::fs::Metadata) -> std::io::Result<()> {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(tmp)?;
        f.set_permissions(like.permissions())?;
        f.write_all(bytes)?;
        f.sync_all()
    }

    fn rename(&self, from: &Path, to: &Path) -> std::io::Result<()> {
        std::fs::rename(from, to)
    }

    /// Flushes a folder's entries (the rename) to disk.
    fn sync_dir(&self, dir: &Path) -> std::io::Result<()> {
        std::fs::File::open(dir)?.sync_all()
    }
}

/// The real filesystem.
pub struct RealFs;

impl Fs for RealFs {}

/// A temporary name beside `path`, hidden (so a scan never takes it for a post) and unique to
/// this process.
fn temp_path(path: &Path, attempt: u32) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(
        ".{name}.citewatch-{}-{attempt}.tmp",
        std::process::id()
    ))
}

/// Replaces the post at `path` by `new`, if it still holds `old`.
pub fn write_post(path: &Path, old: &[u8], new: &[u8], fs: &dyn Fs) -> Result<(), ApplyError> {
    let io = |source: std::io::Error| ApplyError::Io {
        path: path.to_path_buf(),
        source,
    };
    // The file a link points to is the one to rewrite.
    let real = std::fs::canonicalize(path).map_err(io)?;
    let current = fs.read(&real).map_err(io)?;
    if current != old {
        return Err(ApplyError::Changed {
            path: path.to_path_buf(),
        });
    }
    let meta = std::fs::metadata(&real).map_err(io)?;
    let mut attempt = 0;
    let tmp = loop {
        let tmp = temp_path(&real, attempt);
        match fs.write_new(&tmp, new, &meta) {
            Ok(()) => break tmp,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && attempt < 100 => {
                attempt += 1;
            }
            Err(e) => {
                if e.kind() != std::io::ErrorKind::AlreadyExists {
                    let _ = std::fs::remove_file(&tmp);
                }
                return Err(io(e));
            }
        }
    };
    if let Err(e) = fs.rename(&tmp, &real) {
        let _ = std::fs::remove_file(&tmp);
        return Err(io(e));
    }
    if let Some(dir) = real.parent() {
        // The rename is done; a folder that cannot be flushed (some filesystems refuse) only
        // weakens durability across a power cut.
        if let Err(e) = fs.sync_dir(dir) {
            tracing::debug!("cannot flush folder {}: {e}", dir.display());
        }
    }
    Ok(())
}

/// The git working trees holding `files`, each with those files relative to it (files outside
/// any tree are left out).
pub fn git_trees<'a>(files: impl Iterator<Item = &'a Path>) -> Vec<(PathBuf, Vec<String>)> {
    let mut trees: Vec<(PathBuf, Vec<String>)> = Vec::new();
    for file in files {
        let Some(root) = git_root(file) else {
            continue;
        };
        let shown = std::fs::canonicalize(file)
            .ok()
            .and_then(|f| f.strip_prefix(&root).ok().map(|r| r.display().to_string()))
            .unwrap_or_else(|| file.display().to_string());
        match trees.iter_mut().find(|(r, _)| *r == root) {
            Some((_, listed)) => listed.push(shown),
            None => trees.push((root, vec![shown])),
        }
    }
    trees
}

/// The git working tree a path is in: the nearest folder above it holding `.git`.
pub fn git_root(path: &Path) -> Option<PathBuf> {
    let start = std::fs::canonicalize(path).ok()?;
    start
        .ancestors()
        .find(|d| d.join(".git").exists())
        .map(Path::to_path_buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    struct FailRename;
    impl Fs for FailRename {
        fn rename(&self, _: &Path, _: &Path) -> std::io::Result<()> {
            Err(std::io::Error::other("simulated failure before the rename"))
        }
    }

    struct FailWrite;
    impl Fs for FailWrite {
        fn write_new(
            &self,
            tmp: &Path,
            bytes: &[u8],
            _: &std::fs::Metadata,
        ) -> std::io::Result<()> {
            // Half the bytes reach the temporary file, then the disk is full.
            std::fs::write(tmp, &bytes[..bytes.len() / 2])?;
            Err(std::io::Error::other("no space left on device (simulated)"))
        }
    }

    fn leftovers(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn writes_atomically_and_keeps_permissions() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("post.md");
        std::fs::write(&p, b"old").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o640)).unwrap();
        write_post(&p, b"old", b"new bytes", &RealFs).unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"new bytes");
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o640);
        assert_eq!(leftovers(dir.path()), ["post.md"]);
    }

    #[test]
    fn a_failure_before_the_rename_leaves_the_original() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("post.md");
        std::fs::write(&p, b"the original\r\n").unwrap();
        for fs in [&FailRename as &dyn Fs, &FailWrite] {
            let e = write_post(&p, b"the original\r\n", b"the new text\r\n", fs).unwrap_err();
            assert!(matches!(e, ApplyError::Io { .. }), "{e}");
            assert!(e.to_string().contains("left as it was"), "{e}");
            assert_eq!(std::fs::read(&p).unwrap(), b"the original\r\n");
            assert_eq!(leftovers(dir.path()), ["post.md"], "no temporary file left");
        }
    }

    #[test]
    fn a_post_that_changed_is_not_written() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("post.md");
        std::fs::write(&p, b"edited by the author").unwrap();
        let e = write_post(&p, b"as planned", b"fixed", &RealFs).unwrap_err();
        assert!(matches!(e, ApplyError::Changed { .. }), "{e}");
        assert_eq!(std::fs::read(&p).unwrap(), b"edited by the author");
    }

    #[test]
    fn a_link_is_followed_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.md");
        let link = dir.path().join("post.md");
        std::fs::write(&real, b"old").unwrap();
        std::os::unix::fs::symlink(&real, &link).unwrap();
        write_post(&link, b"old", b"new", &RealFs).unwrap();
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(std::fs::read(&real).unwrap(), b"new");
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

            /// Any bytes in, any bytes out: the post holds exactly the new bytes, nothing else
            /// is left in its folder; bytes other than those planned on are never overwritten.
            #[test]
            fn any_bytes_are_written_exactly(
                old in prop::collection::vec(any::<u8>(), 0..300),
                new in prop::collection::vec(any::<u8>(), 0..300),
                other in prop::collection::vec(any::<u8>(), 1..50),
            ) {
                let dir = tempfile::tempdir().unwrap();
                let p = dir.path().join("post.md");
                std::fs::write(&p, &old).unwrap();
                let mut changed = old.clone();
                changed.extend_from_slice(&other);
                prop_assert!(write_post(&p, &changed, &new, &RealFs).is_err());
                prop_assert_eq!(std::fs::read(&p).unwrap(), old.clone());
                write_post(&p, &old, &new, &RealFs).unwrap();
                prop_assert_eq!(std::fs::read(&p).unwrap(), new);
                prop_assert_eq!(leftovers(dir.path()), vec!["post.md".to_string()]);
            }
        }
    }

    #[test]
    fn git_root_is_the_nearest_folder_with_git() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("site/.git")).unwrap();
        std::fs::create_dir_all(dir.path().join("site/content/posts")).unwrap();
        let root = git_root(&dir.path().join("site/content/posts")).unwrap();
        assert_eq!(
            root,
            std::fs::canonicalize(dir.path().join("site")).unwrap()
        );
    }
}
