//! The post-folder watcher: filesystem change notifications (inotify on Linux) turned into a
//! "posts changed" signal for the daemon, which debounces them and rescans.
//!
//! Invariant: watching is best effort. A folder that cannot be watched is logged and the periodic
//! `scan` schedule still picks up its changes. A folder deleted and created again is watched
//! again: its parent is watched too (so the re-creation is a change that starts a rescan), and
//! [`PostWatcher::refresh`], called after every scan, renews every folder's watch.

use std::path::PathBuf;

use notify::{RecommendedWatcher, RecursiveMode, Watcher};
use tokio::sync::mpsc;

/// Keeps the watches alive; dropping it stops them.
pub struct PostWatcher {
    watcher: Option<RecommendedWatcher>,
    folders: Vec<PathBuf>,
}

impl PostWatcher {
    /// Watches `folders` recursively (and their parents, not recursively); every relevant change
    /// sends `()` on `tx` (coalesced: a full channel means a rescan is already pending).
    pub fn start(folders: &[PathBuf], tx: mpsc::Sender<()>) -> PostWatcher {
        let handler = move |res: notify::Result<notify::Event>| {
            if let Ok(ev) = res {
                if matches!(
                    ev.kind,
                    notify::EventKind::Create(_)
                        | notify::EventKind::Modify(_)
                        | notify::EventKind::Remove(_)
                ) {
                    let _ = tx.try_send(());
                }
            }
        };
        let mut w = PostWatcher {
            watcher: None,
            folders: folders.to_vec(),
        };
        match notify::recommended_watcher(handler) {
            Ok(mut watcher) => {
                for f in folders {
                    if let Some(parent) = f.parent().filter(|p| !p.as_os_str().is_empty()) {
                        // Best effort: only for noticing the folder itself coming back.
                        let _ = watcher.watch(parent, RecursiveMode::NonRecursive);
                    }
                }
                w.watcher = Some(watcher);
                w.refresh();
            }
            Err(e) => tracing::warn!(
                "cannot watch post folders ({e}); changes are picked up by the scan schedule"
            ),
        }
        w
    }

    /// Renews every folder's watch: a folder deleted and created again (perhaps with the same
    /// inode number) is watched anew. A few system calls per folder of posts.
    pub fn refresh(&mut self) {
        let Some(watcher) = self.watcher.as_mut() else {
            return;
        };
        for path in &self.folders {
            let _ = watcher.unwatch(path);
            if !path.is_dir() {
                continue;
            }
            if let Err(e) = watcher.watch(path, RecursiveMode::Recursive) {
                tracing::warn!(
                    "cannot watch {} ({e}); its changes are picked up by the scan schedule",
                    path.display()
                );
            }
        }
    }
}
