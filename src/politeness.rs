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
