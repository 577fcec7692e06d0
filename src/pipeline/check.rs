//! The check: links → checker → snapshot → classification → state → store, concurrently, with one
//! writer.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use url::Url;

use crate::checker::{Checker, Fetched};
use crate::classify::{self, Verdict};
use crate::clock::Clock;
use crate::config::CheckConfig;
use crate::state::State;
use crate::store::Probe;
use crate::store::{CheckRecord, LinkToCheck, Store, StoreError};

use super::PipelineError;

/// What a check run did.
#[derive(Debug, Default, Clone)]
pub struct CheckStats {
    pub checked: usize,
    pub by_state: HashMap<State, usize>,
    /// Each checked link: its id, the state found, and whether no HTTP answer came at all.
    pub results: Vec<(i64, State, bool)>,
}

/// The most checks written in one transaction.
const WRITE_BATCH: usize = 256;

/// How long the writer gathers checks before committing what it has. A commit rewrites the
/// B-tree pages it touched, so few big commits cost far less than many small ones (1,250 commits
/// of 4 checks took a third of a 5,000-link run); a crash loses at most this much work, which
/// the next run redoes.
const WRITE_WINDOW: std::time::Duration = std::time::Duration::from_millis(50);

/// Finished checks waiting for the writer at most: bounds memory when the disk is slower than
/// the network.
const WRITE_QUEUE: usize = 256;

/// Bodies up to this size are hashed and compressed on the async worker itself (tens of
/// microseconds); bigger ones go to a blocking thread so they do not stall other checks.
const INLINE_BODY: usize = 64 * 1024;

/// One finished fetch on its way to the writer.
struct Finished {
    link: LinkToCheck,
    fetched: Fetched,
    snapshot: Option<crate::store::NewSnapshot>,
    checked_at: DateTime<Utc>,
}

/// Checks `links` concurrently and records each result as it arrives. `on_done` is called after
/// each recorded check (for progress bars). The store is moved into a writer thread for the
/// duration and handed back.
pub async fn check(
    store: Store,
    check_cfg: &CheckConfig,
    clock: Arc<dyn Clock>,
    links: Vec<LinkToCheck>,
    stop: Option<Arc<AtomicBool>>,
    on_done: impl Fn(&str, State) + Send + 'static,
) -> Result<(Store, CheckStats), PipelineError> {
    let checker = Checker::new(check_cfg)?;
    let mut store = store;
    let probes = if check_cfg.soft_404_probe {
        probe_origins(
            &mut store,
            &checker,
            &links,
            clock.now(),
            check_cfg.concurrency,
        )
        .await?
    } else {
        HashMap::new()
    };
    let quoted = store.quoted_links()?;
    let probes = Arc::new(probes);
    let quoted = Arc::new(quoted);
    let (probes_for_tasks, quoted_for_tasks) = (probes.clone(), quoted.clone());
    // A std channel, so the writer can wait with a timeout; the semaphore bounds it, and a
    // check's permit travels with it until it is written.
    let (tx, rx) = std::sync::mpsc::channel::<(Finished, tokio::sync::OwnedSemaphorePermit)>();
    let queue = Arc::new(tokio::sync::Semaphore::new(WRITE_QUEUE));
    let writer = std::thread::spawn(move || -> Result<(Store, CheckStats), StoreError> {
        let mut store = store;
        let mut stats = CheckStats::default();
        while let Ok(first) = rx.recv() {
            // What arrives within the window goes into the same transaction.
            let deadline = std::time::Instant::now() + WRITE_WINDOW;
            let mut batch = vec![first];
            while batch.len() < WRITE_BATCH {
                let left = deadline.saturating_duration_since(std::time::Instant::now());
                match rx.recv_timeout(left) {
                    Ok(f) => batch.push(f),
                    Err(_) => break,
                }
            }
            let batch: Vec<Finished> = batch.into_iter().map(|(f, _permit)| f).collect();
            let mut verdicts = Vec::with_capacity(batch.len());
            let mut records = Vec::with_capacity(batch.len());
            for f in &batch {
                let (verdict, learned) = judge(&store, f, &probes, &quoted)?;
                let mut record = record_for(f, &verdict);
                record.volatile = learned;
                records.push(record);
                verdicts.push(verdict);
            }
            store.record_checks(&records)?;
            for (f, verdict) in batch.iter().zip(&verdicts) {
                stats.checked += 1;
                *stats.by_state.entry(verdict.state).or_default() += 1;
                stats
                    .results
                    .push((f.link.id, verdict.state, f.fetched.is_network_failure()));
                on_done(&f.link.url, verdict.state);
            }
        }
        Ok((store, stats))
    });
    let concurrency = check_cfg.concurrency.max(1);
    // After a stop request no new check starts; those running finish and are recorded.
    let results = futures_util::stream::iter(links)
        .take_while(move |_| {
            std::future::ready(!stop.as_ref().is_some_and(|s| s.load(Ordering::SeqCst)))
        })
        .map(|link| {
            let checker = checker.clone();
            let tx = tx.clone();
            let queue = queue.clone();
            let clock = clock.clone();
            let probes_for_tasks = probes_for_tasks.clone();
            let quoted_for_tasks = quoted_for_tasks.clone();
            async move {
                let fetched = match Url::parse(&link.url) {
                    Ok(url) => checker.check(&url).await,
                    Err(e) => Fetched::invalid(&link.url, e.to_string()),
                };
                let checked_at = clock.now();
                // Text is extracted now only when this check compares it: with a baseline of
                // other content, a site probe that answered 200, or a quoted passage.
                let probe_200 = probe_of(&probes_for_tasks, &link.url)
                    .and_then(|p| p.status)
                    .is_some_and(|s| (200..300).contains(&s));
                let quotes = quoted_for_tasks.contains(&link.id);
                let baseline = link.baseline.clone();
                let last = link.last_snapshot.clone();
                let prepare = move |fetched: Fetched| {
                    let archived = [baseline.as_deref(), last.as_deref()];
                    let snap = fetched.outcome.as_ref().ok().map(|r| {
                        crate::snapshot::prepare(r, &archived, |hash| {
                            probe_200 || quotes || baseline.as_deref().is_some_and(|b| b != hash)
                        })
                    });
                    (fetched, snap)
                };
                let big = fetched
                    .outcome
                    .as_ref()
                    .is_ok_and(|r| r.body.len() > INLINE_BODY);
                let (fetched, snapshot) = if big {
                    tokio::task::spawn_blocking(move || prepare(fetched))
                        .await
                        .map_err(|_| PipelineError::Panicked("preparing a page for the archive"))?
                } else {
                    prepare(fetched)
                };
                let permit = queue
                    .acquire_owned()
                    .await
                    .map_err(|_| PipelineError::WriterGone)?;
                let finished = Finished {
                    link,
                    fetched,
                    snapshot,
                    checked_at,
                };
                tx.send((finished, permit))
                    .map_err(|_| PipelineError::WriterGone)
            }
        })
        .buffer_unordered(concurrency)
        .collect::<Vec<_>>()
        .await;
    drop(tx);
    let written = writer
        .join()
        .map_err(|_| PipelineError::Panicked("the check's database writer"))?;
    let (store, stats) = written?;
    // A send fails only when the writer stopped; its own error (above) says why.
    results.into_iter().collect::<Result<Vec<()>, _>>()?;
    Ok((store, stats))
}

/// The origin (`scheme://host:port`) of a URL: what politeness and probes are kept per.
fn origin_of(url: &str) -> Option<String> {
    let u = Url::parse(url).ok()?;
    match u.origin() {
        url::Origin::Tuple(..) => Some(u.origin().ascii_serialization()),
        url::Origin::Opaque(_) => None,
    }
}

/// The probe of a link's site, if one was made (none at all when probes are off).
fn probe_of<'a>(probes: &'a HashMap<String, Probe>, url: &str) -> Option<&'a Probe> {
    if probes.is_empty() {
        return None;
    }
    origin_of(url).and_then(|o| probes.get(&o))
}

/// How long a probe of a site is trusted.
const PROBE_TTL: chrono::Duration = chrono::Duration::days(1);

/// For each origin of `links`, what it answers for a path that cannot exist: from the cache when
/// fetched within a day, else fetched now (concurrently) and cached.
async fn probe_origins(
    store: &mut Store,
    checker: &Checker,
    links: &[LinkToCheck],
    now: DateTime<Utc>,
    concurrency: usize,
) -> Result<HashMap<String, Probe>, StoreError> {
    let origins: HashSet<String> = links.iter().filter_map(|l| origin_of(&l.url)).collect();
    let mut out = HashMap::new();
    let mut missing = Vec::new();
    for o in origins {
        match store.probe(&o, now - PROBE_TTL)? {
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
    for p in fetched {
        store.save_probe(&p)?;
        out.insert(p.origin.clone(), p);
    }
    Ok(out)
}

/// Whether a page looks like its site's answer for a path that cannot exist. `None` when the probe
/// cannot tell (no answer, or a JavaScript shell with no text that every page shares).
fn looks_like_probe(probe: &Probe, f: &Fetched, text: Option<&str>) -> Option<bool> {
    let status = probe.status?;
    if !(200..300).contains(&status) {
        // The site answers not-found properly: its 200s are real pages.
        return Some(false);
    }
    if let (Some(pf), Ok(r)) = (&probe.final_url, &f.outcome) {
        if !f.hops.is_empty() && pf == r.url.as_str() {
            return Some(true);
        }
    }
    let pt = probe.text.as_deref().unwrap_or("");
    let ct = text.unwrap_or("");
    // A page with no readable text is a JavaScript shell that every path of the site shares:
    // nothing can be told from it.
    pt.split_whitespace().next()?;
    Some(
        crate::drift::similarity(pt, ct) >= PROBE_ALIKE
            && crate::drift::similarity(ct, pt) >= PROBE_ALIKE,
    )
}

/// Mutual similarity above which a page is the site's not-found page.
const PROBE_ALIKE: f64 = 0.8;

/// Classifies a finished fetch against what the store knows of the link (its baseline) and of its
/// site (the probe).
fn judge(
    store: &Store,
    f: &Finished,
    probes: &HashMap<String, Probe>,
    quoted: &HashSet<i64>,
) -> Result<(Verdict, Option<String>), StoreError> {
    let mut learned = None;
    let similarity = match (&f.link.baseline, &f.snapshot) {
        (Some(base), Some(snap)) if base != &snap.hash => {
            let base_text = store.snapshot_text_or_extract(base)?;
            match (base_text, &snap.text) {
                (Some(b), Some(c)) => {
                    let drop: HashSet<u64> = f.link.volatile.iter().flatten().copied().collect();
                    let (b, c) = (
                        crate::drift::without_lines(&b, &drop),
                        crate::drift::without_lines(c, &drop),
                    );
                    let sim = crate::drift::similarity(&b, &c);
                    // The first re-check that finds the page the same teaches which short lines
                    // vary between fetches; later comparisons leave them out.
                    if f.link.volatile.is_none() && sim >= classify::CHANGED_BELOW {
                        learned = serde_json::to_string(&crate::drift::volatile_lines(&b, &c)).ok();
                    }
                    Some(sim)
                }
                _ => None,
            }
        }
        (Some(_), Some(_)) => Some(1.0),
        _ => None,
    };
    let quote_missing = match f.snapshot.as_ref().filter(|_| quoted.contains(&f.link.id)) {
        Some(snap) => match &snap.text {
            Some(text) => store
                .citations_of(f.link.id)?
                .iter()
                .any(|c| c.kind == "quote" && crate::drift::quote_missing(&c.text, text)),
            None => false,
        },
        None => false,
    };
    let looks = match (&f.fetched.outcome, probe_of(probes, &f.link.url)) {
        (Ok(r), Some(p)) if (200..300).contains(&r.status) => looks_like_probe(
            p,
            &f.fetched,
            f.snapshot.as_ref().and_then(|s| s.text.as_deref()),
        ),
        _ => None,
    };
    let ctx = classify::Context {
        similarity,
        quote_missing,
        looks_like_probe: looks,
    };
    Ok((classify::classify(&f.fetched, &ctx), learned))
}

fn record_for(f: &Finished, v: &Verdict) -> CheckRecord {
    let redirects_json = if f.fetched.hops.is_empty() {
        None
    } else {
        let hops: Vec<serde_json::Value> = f
            .fetched
            .hops
            .iter()
            .map(|h| serde_json::json!({"url": h.url.as_str(), "status": h.status, "location": h.location}))
            .collect();
        serde_json::to_string(&hops).ok()
    };
    // The baseline is the first archived answer that was fine: what the author saw when citing.
    let set_baseline =
        f.link.baseline.is_none() && matches!(v.state, State::Ok | State::Redirected);
    CheckRecord {
        link_id: f.link.id,
        checked_at: f.checked_at,
        state: v.state,
        http_status: v.http_status,
        final_url: v.final_url.as_ref().map(|u| u.to_string()),
        redirects_json,
        error: v.error.clone(),
        elapsed_ms: f.fetched.elapsed.as_millis() as u64,
        attempts: f.fetched.attempts,
        snapshot: f.snapshot.clone(),
        similarity: v.similarity,
        set_baseline,
        volatile: None,
    }
}
