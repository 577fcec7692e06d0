//! Time: the one place that reads the wall clock. Everything else takes a [`Clock`] (or `now` as
//! a value), so scheduling, backoff and confirmation are tested with a [`ManualClock`], and the
//! daemon's loop, which waits on its clock, is driven by a test that moves it.

use std::sync::Mutex;

use chrono::{DateTime, Utc};
use futures_util::future::BoxFuture;

/// A source of the current time, and a way to wait for a time to come.
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;

    /// Completes once `now() >= t`.
    fn sleep_until(&self, t: DateTime<Utc>) -> BoxFuture<'static, ()>;
}

/// The longest the system clock sleeps before looking again: the wall clock can jump (NTP, a
/// suspended machine), and a wake-up computed before the jump must not be missed by hours.
const WALL_CLOCK_RECHECK: std::time::Duration = std::time::Duration::from_secs(60);

/// The real wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(clippy::disallowed_methods)] // the one sanctioned reading of the wall clock
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }

    fn sleep_until(&self, t: DateTime<Utc>) -> BoxFuture<'static, ()> {
        let clock = *self;
        Box::pin(async move {
            loop {
                let left = (t - clock.now()).to_std().unwrap_or_default();
                if left.is_zero() {
                    return;
                }
                tokio::time::sleep(left.min(WALL_CLOCK_RECHECK)).await;
            }
        })
    }
}

/// A clock that only moves when told to: for tests. Waiters wake when it is moved past their time.
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<DateTime<Utc>>,
    moved: tokio::sync::watch::Sender<DateTime<Utc>>,
}

impl ManualClock {
    pub fn new(start: DateTime<Utc>) -> Self {
        ManualClock {
            now: Mutex::new(start),
            moved: tokio::sync::watch::Sender::new(start),
        }
    }

    pub fn set(&self, t: DateTime<Utc>) {
        *self.now.lock().unwrap_or_else(|e| e.into_inner()) = t;
        self.moved.send_replace(t);
    }

    pub fn advance(&self, d: chrono::Duration) {
        let t = {
            let mut n = self.now.lock().unwrap_or_else(|e| e.into_inner());
            *n += d;
            *n
        };
        self.moved.send_replace(t);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.now.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn sleep_until(&self, t: DateTime<Utc>) -> BoxFuture<'static, ()> {
        let mut rx = self.moved.subscribe();
        Box::pin(async move {
            // `wait_for` looks at the current value first, then at every change.
            let _ = rx.wait_for(|now| *now >= t).await;
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let t0 = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let c = ManualClock::new(t0);
        assert_eq!(c.now(), t0);
        c.advance(chrono::Duration::hours(2));
        assert_eq!(c.now(), t0 + chrono::Duration::hours(2));
        c.set(t0);
        assert_eq!(c.now(), t0);
    }

    #[tokio::test]
    async fn manual_sleep_wakes_when_the_clock_passes_its_time() {
        let t0 = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let c = std::sync::Arc::new(ManualClock::new(t0));
        let mut sleep = c.sleep_until(t0 + chrono::Duration::hours(1));
        let poll = |s: &mut BoxFuture<'static, ()>| {
            futures_util::FutureExt::now_or_never(s.as_mut()).is_some()
        };
        assert!(!poll(&mut sleep));
        c.advance(chrono::Duration::minutes(59));
        assert!(!poll(&mut sleep));
        c.advance(chrono::Duration::minutes(1));
        assert!(poll(&mut sleep));
        assert!(
            poll(&mut c.sleep_until(t0)),
            "a time already past is no wait"
        );
    }
}
