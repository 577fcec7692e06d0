//! The not-found probes: each origin's answer for a path that cannot exist, fetched once a day
//! and cached.

use super::*;

/// The origin (`scheme://host:port`) of a URL: what politeness and probes are kept per.
pub(super) fn origin_of(url: &str) -> Option<String> {
    let u = Url::parse(url).ok()?;
    match u.origin() {
        url::Origin::Tuple(..) => Some(u.origin().ascii_serialization()),
        url::Origin::Opaque(_) => None,
    }
}

/// The probe of a link's site, if one was made (none at all when probes are off).
pub(super) fn probe_of<'a>(probes: &'a HashMap<String, Probe>, url: &str) -> Option<&'a Probe> {
    if probes.is_empty() {
        return None;
    }
    origin_of(url).and_then(|o| probes.get(&o))
}

/// How long a probe of a site is trusted.
pub(super) const PROBE_TTL: chrono::Duration = chrono::Duration::days(1);

/// For each origin of `links`, what it answers for a path that cannot exist: from the cache when
/// fetched within a day, else fetched now (concurrently) and cached.
pub(super) async fn probe_origins(
    run: &CheckRun,
    checker: &Checker,
    links: &[LinkToCheck],
) -> Result<HashMap<String, Probe>, StoreError> {
    let now = run.clock.now();
    let concurrency = run.check.concurrency;
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
    let mut out = HashMap::new();
    let mut missing = Vec::new();
    for (p, o) in cached {
        match p {
            Some(p) => {
                out.insert(o, p);
            }
            None => missing.push(o),
        }
    }
    let fetched: Vec<Probe> = futures_util::stream::iter(missing)
        .map(|origin| {
            let checker = checker.clone();
            async move {
                let seed: u64 = rand::random();
                let url = format!(
                    "{origin}/citewatch-probe-{seed:016x}/{:08x}",
                    seed.rotate_left(17) as u32
                );
                let f = match Url::parse(&url) {
                    Ok(u) => checker.check(&u).await,
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
                Probe {
                    origin,
                    fetched_at: now,
                    status,
                    final_url,
                    text,
                }
            }
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    let fetched = Arc::new(fetched);
    let to_save = fetched.clone();
    run.writer
        .run("site probes", move |s| {
            to_save.iter().try_for_each(|p| s.save_probe(p))
        })
        .await?;
    for p in fetched.iter() {
        out.insert(p.origin.clone(), p.clone());
    }
    Ok(out)
}
