//! The not-found probes: each origin's answer for a path that cannot exist, fetched once a day
//! (beside the origin's first check of the run) and cached.

use super::*;

/// The origin (`scheme://host:port`) of a URL: what politeness and probes are kept per.
pub(super) fn origin_of(url: &str) -> Option<String> {
    let u = Url::parse(url).ok()?;
    match u.origin() {
        url::Origin::Tuple(..) => Some(u.origin().ascii_serialization()),
        url::Origin::Opaque(_) => None,
    }
}

/// How long a probe of a site is trusted.
pub(super) const PROBE_TTL: chrono::Duration = chrono::Duration::days(1);

/// Each origin's probe for this run: what it answers for a path that cannot exist. Read from the
/// cache when fetched within a day; else fetched beside the origin's first check (not before all
/// checks: that held every check back by a round of requests), once, whoever asks first.
pub(super) struct Probes {
    cells: HashMap<String, tokio::sync::OnceCell<Option<Probe>>>,
    /// Probes fetched in this run, saved when it ends.
    fetched: std::sync::Mutex<Vec<Probe>>,
}

impl Probes {
    /// No probes (probes are off).
    pub(super) fn none() -> Probes {
        Probes {
            cells: HashMap::new(),
            fetched: Default::default(),
        }
    }

    /// The probe of every origin of `links`: those cached within a day are known at once.
    pub(super) async fn of(run: &CheckRun, links: &[LinkToCheck]) -> Result<Probes, StoreError> {
        let now = run.clock.now();
        let origins: HashSet<String> = links.iter().filter_map(|l| origin_of(&l.url)).collect();
        let cached = run
            .writer
            .read(move |s| {
                origins
                    .into_iter()
                    .map(|o| Ok((s.probe(&o, now - PROBE_TTL)?, o)))
                    .collect::<Result<Vec<_>, StoreError>>()
            })
            .await?;
        let cells = cached
            .into_iter()
            .map(|(p, o)| {
                let cell = match p {
                    Some(p) => tokio::sync::OnceCell::new_with(Some(Some(p))),
                    None => tokio::sync::OnceCell::new(),
                };
                (o, cell)
            })
            .collect();
        Ok(Probes {
            cells,
            fetched: Default::default(),
        })
    }

    /// Makes sure the probe of `url`'s origin is known (fetching it if this is the first to
    /// ask); beside the link's own check, so it waits for nothing more than that check does.
    /// After `stop` no probe request starts (the origin then has none in this run).
    pub(super) async fn ensure(
        &self,
        checker: &Checker,
        url: &str,
        stop: &CancellationToken,
        clock: &Arc<dyn Clock>,
    ) {
        let Some(origin) = origin_of(url) else {
            return;
        };
        let Some(cell) = self.cells.get(&origin) else {
            return;
        };
        cell.get_or_init(|| async {
            let p = fetch_probe(checker, origin.clone(), stop, clock.now()).await?;
            self.fetched
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(p.clone());
            Some(p)
        })
        .await;
    }

    /// The probe of `url`'s site, if one was made (none at all when probes are off).
    pub(super) fn of_url(&self, url: &str) -> Option<&Probe> {
        if self.cells.is_empty() {
            return None;
        }
        origin_of(url)
            .and_then(|o| self.cells.get(&o))
            .and_then(|c| c.get())
            .and_then(Option::as_ref)
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
