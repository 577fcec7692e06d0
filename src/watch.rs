//! The post-folder watcher: filesystem change notifications (inotify on Linux) turned into a
//! "posts changed" signal for the daemon, which debounces them and rescans.
//!
//! Invariant: watching is best effort. A folder that cannot be watched is logged and the periodic
//! `scan` schedule still picks up its changes.

use std::path::PathBuf;

use notify::{RecommendedWatcher, RecursiveMode, Watcher};
use tokio::sync::mpsc;

/// Keeps the watches alive; dropping it stops them.
pub struct PostWatcher {
    _watcher: Option<RecommendedWatcher>,
}

impl PostWatcher {
    /// Watches `folders` recursively; every relevant change sends `()` on `tx` (coalesced: a full
    /// channel means a rescan is already pending).
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
        let mut watcher = match notify::recommended_watcher(handler) {
            Ok(w) => w,
            Err(e) => {
                tracing::warn!(
                    "cannot watch post folders ({e}); changes are picked up by the scan schedule"
                );
                return PostWatcher { _watcher: None };
            }
        };
        for f in folders {
            if let Err(e) = watcher.watch(f, RecursiveMode::Recursive) {
                tracing::warn!(
                    "cannot watch {} ({e}); its changes are picked up by the scan schedule",
                    f.display()
                );
            }
        }
        PostWatcher {
            _watcher: Some(watcher),
        }
    }
}
