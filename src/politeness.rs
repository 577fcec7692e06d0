//! Politeness: at most `per_host_concurrency` requests in flight to one host, and at least
//! `per_host_interval` between the starts of two requests to it.
//!
//! Invariant: memory stays bounded in a long-running daemon: idle hosts are pruned.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

/// Above this many remembered hosts, idle ones are forgotten.
const PRUNE_ABOVE: usize = 1024;

struct Host {
    slots: Arc<Semaphore>,
    next_start: tokio::sync::Mutex<Instant>,
}

/// Per-host limits shared by all checks.
pub struct Politeness {
    per_host: usize,
    interval: Duration,
    hosts: Mutex<HashMap<String, Arc<Host>>>,
}

/// Held while a request to a host is in flight.
pub struct HostPermit {
    _slot: OwnedSemaphorePermit,
    _host: Arc<Host>,
}

impl Politeness {
    pub fn new(per_host: usize, interval: Duration) -> Self {
        Politeness {
            per_host: per_host.max(1),
            interval,
            hosts: Mutex::new(HashMap::new()),
        }
    }

    /// Waits until a request to `host` may start.
    pub async fn acquire(&self, host: &str) -> HostPermit {
        let h = {
            let mut hosts = self.hosts.lock().unwrap_or_else(|e| e.into_inner());
            if hosts.len() > PRUNE_ABOVE {
                let now = Instant::now();
                // Only this map holds an idle host, and its interval has passed.
                hosts.retain(|_, h| {
                    Arc::strong_count(h) > 1
                        || h.next_start.try_lock().map(|t| *t > now).unwrap_or(true)
                });
            }
            hosts
                .entry(host.to_string())
                .or_insert_with(|| {
                    Arc::new(Host {
                        slots: Arc::new(Semaphore::new(self.per_host)),
                        next_start: tokio::sync::Mutex::new(Instant::now()),
                    })
                })
                .clone()
        };
        // The semaphore is never closed, so acquiring cannot fail; a closed one would only mean
        // no limit.
        let slot = match h.slots.clone().acquire_owned().await {
            Ok(p) => p,
            Err(_) => Arc::new(Semaphore::new(1))
                .acquire_owned()
                .await
                .expect("fresh semaphore"),
        };
        if !self.interval.is_zero() {
            let mut next = h.next_start.lock().await;
            let now = Instant::now();
            let start = (*next).max(now);
            *next = start + self.interval;
            drop(next);
            tokio::time::sleep_until(start).await;
        }
        HostPermit {
            _slot: slot,
            _host: h,
        }
    }

    /// Hosts currently remembered (for tests and stats).
    pub fn hosts(&self) -> usize {
        self.hosts.lock().map(|h| h.len()).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// When each of `n` concurrent requests to `host` may start, relative to the test's start,
    /// on tokio's paused clock: exact instants, whatever the machine is doing.
    async fn starts(p: &Arc<Politeness>, host: &str, n: usize, hold: Duration) -> Vec<Duration> {
        let t0 = Instant::now();
        let tasks: Vec<_> = (0..n)
            .map(|_| {
                let (p, host) = (p.clone(), host.to_string());
                tokio::spawn(async move {
                    let _permit = p.acquire(&host).await;
                    let start = Instant::now() - t0;
                    tokio::time::sleep(hold).await;
                    start
                })
            })
            .collect();
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.unwrap());
        }
        out.sort();
        out
    }

    fn ms(list: &[u64]) -> Vec<Duration> {
        list.iter().map(|m| Duration::from_millis(*m)).collect()
    }

    #[tokio::test(start_paused = true)]
    async fn starts_to_one_host_are_one_interval_apart() {
        let p = Arc::new(Politeness::new(8, Duration::from_millis(100)));
        assert_eq!(
            starts(&p, "a:80", 5, Duration::ZERO).await,
            ms(&[0, 100, 200, 300, 400])
        );
        // The next request is due one interval after the last start, not after the test began.
        assert_eq!(starts(&p, "a:80", 1, Duration::ZERO).await, ms(&[100]));
    }

    #[tokio::test(start_paused = true)]
    async fn other_hosts_do_not_wait() {
        let p = Arc::new(Politeness::new(1, Duration::from_secs(10)));
        let (a, b) = tokio::join!(
            starts(&p, "a:80", 1, Duration::ZERO),
            starts(&p, "b:80", 1, Duration::ZERO)
        );
        assert_eq!((a, b), (ms(&[0]), ms(&[0])));
        assert_eq!(p.hosts(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn an_idle_host_is_not_paced_again() {
        let p = Arc::new(Politeness::new(8, Duration::from_millis(100)));
        starts(&p, "a:80", 1, Duration::ZERO).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(starts(&p, "a:80", 1, Duration::ZERO).await, ms(&[0]));
    }

    #[tokio::test(start_paused = true)]
    async fn concurrency_per_host_waits_for_a_request_to_finish() {
        // Two at a time, each taking a second: the third starts when the first two are done.
        let p = Arc::new(Politeness::new(2, Duration::ZERO));
        assert_eq!(
            starts(&p, "a:80", 5, Duration::from_secs(1)).await,
            ms(&[0, 0, 1000, 1000, 2000])
        );
        // With one at a time and an interval shorter than a request, the interval counts
        // between starts: the next starts when the slow one ends.
        let p = Arc::new(Politeness::new(1, Duration::from_millis(100)));
        assert_eq!(
            starts(&p, "a:80", 3, Duration::from_millis(250)).await,
            ms(&[0, 250, 500])
        );
    }

    #[tokio::test(start_paused = true)]
    async fn idle_hosts_are_forgotten() {
        let p = Arc::new(Politeness::new(1, Duration::ZERO));
        for i in 0..3 * PRUNE_ABOVE {
            drop(p.acquire(&format!("h{i}:80")).await);
        }
        assert!(
            p.hosts() <= PRUNE_ABOVE + 1,
            "{} hosts remembered",
            p.hosts()
        );
        // A host with a request in flight is kept, however many others come and go.
        let held = p.acquire("busy:80").await;
        for i in 0..2 * PRUNE_ABOVE {
            drop(p.acquire(&format!("g{i}:80")).await);
        }
        let again = tokio::time::timeout(Duration::from_secs(1), p.acquire("busy:80")).await;
        assert!(
            again.is_err(),
            "busy:80 was forgotten while its request was in flight"
        );
        drop(held);
    }
}
