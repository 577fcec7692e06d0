//! The post-folder watcher: filesystem change notifications (inotify on Linux) turned into a
//! "posts changed" signal for the daemon, which debounces them and rescans.
//!
//! Each folder is watched recursively, and its nearest existing ancestor (its parent while it
//! exists) non-recursively: inotify drops a folder's watch when the folder is deleted, so the
//! ancestor is what sees it (or a folder on the way to it) created again. Only events about a
//! post folder, something inside one or a folder on the way to one count: the other files beside
//! them (the database, a log) never start a scan. [`PostWatcher::refresh`], called before every
//! scan, places every watch anew from what exists at that moment.
//!
//! Invariant: watching is best effort and costs nothing while nothing happens (no polling). A
//! folder that cannot be watched is logged and the periodic `scan` schedule still picks up its
//! changes. A change after a refresh sends a signal; a change before it is read by the scan that
//! follows it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use notify::{EventKind, RecommendedWatcher, RecursiveMode, Watcher};
use tokio::sync::mpsc;

/// Keeps the watches alive; dropping it stops them.
pub struct PostWatcher {
    watcher: Option<RecommendedWatcher>,
    /// The post folders, absolute (as the paths of notify's events are).
    folders: Arc<[PathBuf]>,
    /// What is watched now: the nearest existing ancestors (not recursively), then the folders
    /// that exist (recursively).
    held: Vec<PathBuf>,
}

impl PostWatcher {
    /// Watches `folders` recursively and their nearest existing ancestors non-recursively; every
    /// relevant change sends `()` on `tx` (coalesced: a full channel means a rescan is already
    /// pending).
    pub fn start(folders: &[PathBuf], tx: mpsc::Sender<()>) -> PostWatcher {
        let folders: Arc<[PathBuf]> = folders
            .iter()
            .map(|f| std::path::absolute(f).unwrap_or_else(|_| f.clone()))
            .collect();
        let mine = folders.clone();
        let handler = move |res: notify::Result<notify::Event>| {
            if let Ok(ev) = res {
                if concerns(&ev, &mine) {
                    let _ = tx.try_send(());
                }
            }
        };
        let mut w = PostWatcher {
            watcher: None,
            folders,
            held: Vec::new(),
        };
        match notify::recommended_watcher(handler) {
            Ok(watcher) => {
                w.watcher = Some(watcher);
                w.refresh();
            }
            Err(e) => tracing::warn!(
                "cannot watch post folders ({e}); changes are picked up by the scan schedule"
            ),
        }
        w
    }

    /// Places every watch anew: a folder deleted and created again (perhaps with the same inode
    /// number) is watched anew, a missing one through its nearest existing ancestor. A few system
    /// calls per folder of posts and per level of its path.
    pub fn refresh(&mut self) {
        let Some(watcher) = self.watcher.as_mut() else {
            return;
        };
        for path in self.held.drain(..) {
            // Fails harmlessly when inotify already dropped it (the path was deleted).
            let _ = watcher.unwatch(&path);
        }
        // Ancestors first: once one is watched, a folder created under it is an event, so a
        // folder found missing below is not missed when it appears a moment later.
        let existing: Vec<&PathBuf> = self.folders.iter().filter(|f| f.is_dir()).collect();
        for folder in self.folders.iter() {
            for anc in folder.ancestors().skip(1) {
                // Already watched for another folder; or inside a folder watched recursively,
                // which reports what happens there (and a second, non-recursive watch of the
                // same path would replace notify's recursive one).
                if anc.as_os_str().is_empty()
                    || self.held.iter().any(|h| h == anc)
                    || existing.iter().any(|e| anc.starts_with(e))
                {
                    break;
                }
                if !anc.is_dir() {
                    continue;
                }
                match watcher.watch(anc, RecursiveMode::NonRecursive) {
                    Ok(()) => {
                        self.held.push(anc.to_path_buf());
                        break;
                    }
                    // Deleted meanwhile, or not ours to watch: one level up then.
                    Err(e) => tracing::debug!("cannot watch {} ({e})", anc.display()),
                }
            }
        }
        for path in existing {
            match watcher.watch(path, RecursiveMode::Recursive) {
                Ok(()) => self.held.push(path.clone()),
                Err(e) => tracing::warn!(
                    "cannot watch {} ({e}); its changes are picked up by the scan schedule",
                    path.display()
                ),
            }
        }
    }
}

/// Whether a filesystem event may change what a scan of `folders` finds: a creation, change or
/// removal of a post folder, of something inside one or of a folder on the way to one; or the
/// kernel's word that events were lost.
fn concerns(ev: &notify::Event, folders: &[PathBuf]) -> bool {
    if ev.need_rescan() {
        return true;
    }
    matches!(
        ev.kind,
        EventKind::Create(_) | EventKind::Modify(_) | EventKind::Remove(_)
    ) && ev.paths.iter().any(|p| on_the_way(p, folders))
}

/// Whether `path` is a post folder, inside one, or an ancestor of one (by whole components).
fn on_the_way(path: &Path, folders: &[PathBuf]) -> bool {
    folders
        .iter()
        .any(|f| path.starts_with(f) || f.starts_with(path))
}

#[cfg(test)]
mod tests {
    use super::*;
    use notify::event::{
        AccessKind, CreateKind, DataChange, Flag, ModifyKind, RemoveKind, RenameMode,
    };

    fn ev(kind: EventKind, path: &str) -> notify::Event {
        notify::Event::new(kind).add_path(PathBuf::from(path))
    }

    /// Regression: the parent of the posts folder was watched with every file in it, so the
    /// database beside the posts (written by each scan) started a scan every two seconds.
    #[test]
    fn only_the_posts_and_the_folders_on_the_way_to_them_count() {
        let folders = [PathBuf::from("/blog/content/posts")];
        let create = EventKind::Create(CreateKind::Any);
        let write = EventKind::Modify(ModifyKind::Data(DataChange::Any));
        let remove = EventKind::Remove(RemoveKind::Folder);
        let moved = EventKind::Modify(ModifyKind::Name(RenameMode::To));
        let cases = [
            (write, "/blog/content/posts/a.md", true),
            (create, "/blog/content/posts/2024/b.md", true),
            (remove, "/blog/content/posts", true),
            (create, "/blog/content/posts", true),
            (moved, "/blog/content/posts", true),
            (create, "/blog/content", true),
            (remove, "/blog", true),
            (write, "/blog/content/citewatch.db-wal", false),
            (write, "/blog/citewatch.log", false),
            (create, "/blog/content/posts.bak", false),
            (create, "/blog/content/postscript", false),
            (create, "/elsewhere/content/posts", false),
            (
                EventKind::Access(AccessKind::Any),
                "/blog/content/posts/a.md",
                false,
            ),
        ];
        for (kind, path, want) in cases {
            assert_eq!(concerns(&ev(kind, path), &folders), want, "{kind:?} {path}");
        }
        let overflow = notify::Event::new(EventKind::Other).set_flag(Flag::Rescan);
        assert!(concerns(&overflow, &folders), "lost events mean a rescan");
    }

    async fn signal(rx: &mut mpsc::Receiver<()>, what: &str) {
        let got = tokio::time::timeout(std::time::Duration::from_secs(20), rx.recv()).await;
        assert!(matches!(got, Ok(Some(()))), "no signal for {what}");
    }

    /// A folder deleted with its parent and created again, as a user does it: the deletion is
    /// seen by the folder's own watch, each folder on the way created again by the watch of its
    /// nearest existing ancestor, a post written then by the folder's new watch.
    #[tokio::test]
    async fn a_folder_deleted_and_created_again_is_watched_again() {
        let dir = tempfile::tempdir().unwrap();
        let top = std::path::absolute(dir.path()).unwrap();
        let site = top.join("site");
        let posts = site.join("posts");
        std::fs::create_dir_all(&posts).unwrap();
        let (tx, mut rx) = mpsc::channel(1);
        let mut w = PostWatcher::start(std::slice::from_ref(&posts), tx);
        assert_eq!(w.held, [site.clone(), posts.clone()]);
        std::fs::remove_dir_all(&site).unwrap();
        signal(&mut rx, "the deletion").await;
        // The daemon rescans, refreshing first: the nearest existing ancestor is two levels up.
        w.refresh();
        assert_eq!(w.held, [top]);
        while rx.try_recv().is_ok() {}
        std::fs::create_dir(&site).unwrap();
        signal(&mut rx, "a folder on the way created").await;
        w.refresh();
        assert_eq!(w.held, std::slice::from_ref(&site));
        std::fs::create_dir(&posts).unwrap();
        signal(&mut rx, "the folder created again").await;
        w.refresh();
        assert_eq!(w.held, [site, posts.clone()]);
        while rx.try_recv().is_ok() {}
        std::fs::write(posts.join("a.md"), "new\n").unwrap();
        signal(&mut rx, "a post in the folder created again").await;
    }
}
