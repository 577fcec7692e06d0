//! The not-found probes: each origin's answer for a path that cannot exist, fetched once a day
//! (beside the origin's first check of the run) and cached.

use super::*;

/// The origin (`scheme://host:port`) of a URL: what politeness, probes and site memories are
/// kept per. Read once per link, when its check starts.
pub(super) fn origin_of(u: &Url) -> Option<String> {
    match u.origin() {
        url::Origin::Tuple(..) => Some(u.origin().ascii_serialization()),
        url::Origin::Opaque(_) => None,
    }
}

/// How long a probe of a site is trusted.
pub(super) const PROBE_TTL: chrono::Duration = chrono::Duration::days(1);

/// Each origin's probe for this run: what it answers for a path that cannot exist. Looked for
/// when the origin's first check starts, not in a pass over every origin before the first check
/// (that held every check back): read from the cache when fetched within a day, else fetched
/// beside that check; once, whoever asks first.
pub(super) struct Probes {
    /// Probes are on (`[check] soft_404_probe`).
    on: bool,
    /// A cached probe fetched before this is fetched again.
    fresh_after: DateTime<Utc>,
    /// The database the cached probes are read from (each thread with its own reader).
    db: std::path::PathBuf,
    cells: std::sync::Mutex<HashMap<String, Arc<ProbeCell>>>,
    /// Probes fetched in this run, saved when it ends.
    fetched: std::sync::Mutex<Vec<Probe>>,
}

/// One origin's probe in this run: unknown until its first check asks; `None` inside when it
/// could not be had (a stop came first, the cache could not be read and the fetch stopped).
pub(super) type ProbeCell = tokio::sync::OnceCell<Option<Probe>>;

impl Probes {
    /// No probes (probes are off).
    pub(super) fn none() -> Probes {
        Probes {
            on: false,
            fresh_after: DateTime::<Utc>::MIN_UTC,
            db: std::path::PathBuf::new(),
            cells: Default::default(),
            fetched: Default::default(),
        }
    }

    /// The probes of a run starting `now` on the database at `db`.
    pub(super) fn on(db: std::path::PathBuf, now: DateTime<Utc>) -> Probes {
        Probes {
            on: true,
            fresh_after: now - PROBE_TTL,
            db,
            cells: Default::default(),
            fetched: Default::default(),
        }
    }

    /// Makes sure the probe of `origin` is known: read from the cache, or fetched if this is
    /// the first check of the origin to ask; beside the link's own check, so it waits for
    /// nothing more than that check does. After `stop` no probe request starts (the origin then
    /// has none in this run).
    pub(super) async fn ensure(
        &self,
        checker: &Checker,
        origin: Option<&str>,
        stop: &CancellationToken,
        clock: &Arc<dyn Clock>,
    ) {
        let (true, Some(origin)) = (self.on, origin) else {
            return;
        };
        let cell = {
            let mut cells = self.cells.lock().unwrap_or_else(|e| e.into_inner());
            match cells.get(origin) {
                Some(cell) => cell.clone(),
                // The origin's first check: its name is copied once.
                None => cells.entry(origin.to_string()).or_default().clone(),
            }
        };
        cell.get_or_init(|| async {
            match with_reader(&self.db, |r| r.probe(origin, self.fresh_after)) {
                Ok(Some(cached)) => return Some(cached),
                Ok(None) => {}
                // An unreadable cache costs a request, not the probe.
                Err(e) => tracing::debug!("cached probe of {origin}: {e}"),
            }
            let p = fetch_probe(checker, origin.to_string(), stop, clock.now()).await?;
            self.fetched
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(p.clone());
            Some(p)
        })
        .await;
    }

    /// The probe of an origin, once [`Probes::ensure`] has made it known (none at all when
    /// probes are off).
    pub(super) fn of_origin(&self, origin: &str) -> Option<Arc<ProbeCell>> {
        if !self.on {
            return None;
        }
        self.cells
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(origin)
            .cloned()
    }

    /// The probes fetched in this run (to be saved).
    pub(super) fn fetched(&self) -> Vec<Probe> {
        std::mem::take(&mut *self.fetched.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// Fetches what `origin` answers for a path that cannot exist; `None` when a stop came first.
async fn fetch_probe(
    checker: &Checker,
    origin: String,
    stop: &CancellationToken,
    now: DateTime<Utc>,
) -> Option<Probe> {
    let seed: u64 = rand::random();
    let url = format!(
        "{origin}/citewatch-probe-{seed:016x}/{:08x}",
        seed.rotate_left(17) as u32
    );
    let f = match Url::parse(&url) {
        Ok(u) => checker.check_unless(&u, stop).await?,
        Err(e) => Fetched::invalid(&url, e.to_string()),
    };
    let (status, final_url, text) = match &f.outcome {
        Ok(r) => {
            let page = crate::readable::readable(&r.body, r.header("content-type"));
            let final_url = (!f.hops.is_empty()).then(|| r.url.to_string());
            (Some(r.status), final_url, Some(page.text))
        }
        Err(_) => (None, None, None),
    };
    Some(Probe {
        origin,
        fetched_at: now,
        status,
        final_url,
        text,
    })
}
