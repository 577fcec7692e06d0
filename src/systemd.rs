//! The systemd shell: the notify protocol (`READY=1`, `STATUS=`, `WATCHDOG=1`, `STOPPING=1`,
//! `RELOADING=1`). Outside systemd (no `NOTIFY_SOCKET`) every call is a no-op.
//!
//! Invariant: a failure to notify is logged, never fatal: the daemon's work does not depend on it.

use std::time::Duration;

use sd_notify::NotifyState;

/// What the daemon tells its service manager. [`Notifier`] speaks the systemd protocol; tests
/// record the calls.
pub trait Notify: Send + Sync {
    fn ready(&self, status: &str);
    fn status(&self, status: &str);
    fn watchdog(&self);
    fn reloading(&self);
    fn stopping(&self);
    /// How often to send `WATCHDOG=1`, when the manager watches us.
    fn watchdog_interval(&self) -> Option<Duration>;
}

/// Talks to the service manager.
#[derive(Debug, Clone, Default)]
pub struct Notifier {
    watchdog: Option<Duration>,
}

impl Notifier {
    /// Reads `WATCHDOG_USEC` once, at start.
    pub fn from_env() -> Self {
        Notifier {
            watchdog: sd_notify::watchdog_enabled(),
        }
    }

    fn send(&self, states: &[NotifyState<'_>]) {
        if let Err(e) = sd_notify::notify(states) {
            tracing::debug!("cannot notify systemd: {e}");
        }
    }
}

impl Notify for Notifier {
    fn ready(&self, status: &str) {
        self.send(&[NotifyState::Ready, NotifyState::Status(&one_line(status))]);
    }

    fn status(&self, status: &str) {
        self.send(&[NotifyState::Status(&one_line(status))]);
    }

    fn watchdog(&self) {
        self.send(&[NotifyState::Watchdog]);
    }

    fn reloading(&self) {
        // systemd 253+ also wants MONOTONIC_USEC with RELOADING=1; with Type=notify (Debian 12 has
        // 252) RELOADING=1 alone is accepted and shown.
        self.send(&[NotifyState::Reloading]);
    }

    fn stopping(&self) {
        self.send(&[NotifyState::Stopping]);
    }

    /// Half the configured `WatchdogSec`, as systemd advises.
    fn watchdog_interval(&self) -> Option<Duration> {
        self.watchdog.map(|d| d / 2)
    }
}

/// A status line is one line: the protocol separates assignments by newlines.
fn one_line(s: &str) -> String {
    s.replace(['\n', '\r'], " ")
}
