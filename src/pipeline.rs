//! The pipeline: the one place that sequences the pure core and the I/O shells.
//!
//! `scan`: sources → post files → front matter and citations → normalized links → store.
//! `check`: links → checker → snapshot → classification → state → store.
//!
//! Invariants: a bad post is reported and skipped, never fatal; a post and its citations, and a
//! check with its snapshot and new state, are never split across transactions (batches of up to
//! 64 share one), so an interrupted run leaves a consistent database and the next run finishes
//! the work. Checks run concurrently; one writer thread owns the store.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use url::Url;

use crate::checker::{Checker, Fetched};
use crate::classify::{self, Verdict};
use crate::clock::Clock;
use crate::config::{CheckConfig, Config, SourceConfig};
use crate::extract;
use crate::normalize::{self, Target};
use crate::source::{self, FileProblem};
use crate::state::State;
use crate::store::Probe;
use crate::store::{
    CheckRecord, CitationRecord, FileStamp, LinkIds, LinkToCheck, PostRecord, ScannedFile, Store,
    StoreError,
};

/// Posts written per transaction during a scan.
const POST_BATCH: usize = 64;

/// Bumped when extraction or normalization changes what a post yields, so unchanged files are
/// read again once.
const EXTRACTOR_VERSION: &str = "1";

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error(transparent)]
    Source(#[from] source::SourceError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Checker(#[from] crate::checker::CheckerError),
    #[error("the database writer stopped unexpectedly")]
    WriterGone,
    /// A thread or task panicked: a bug, not bad input. Says which part, for the report.
    #[error("{0} panicked (a bug in citewatch: please report it with the log above)")]
    Panicked(&'static str),
}

/// What a scan did.
#[derive(Debug, Default)]
pub struct ScanReport {
    pub files: usize,
    pub read: usize,
    pub unchanged: usize,
    pub removed: usize,
    pub citations: usize,
    /// Files that could not be used, reported and skipped.
    pub problems: Vec<FileProblem>,
    /// Files that were used with a caveat (invalid UTF-8, malformed front matter).
    pub warnings: Vec<FileProblem>,
}

/// A fingerprint of the settings that change what a post yields: when they change, every post of
/// the source is read again.
fn settings_fingerprint(src: &SourceConfig, check: &CheckConfig) -> String {
    let mut h = blake3::Hasher::new();
    h.update(EXTRACTOR_VERSION.as_bytes());
    h.update(
        src.base_url
            .as_ref()
            .map(Url::as_str)
            .unwrap_or("")
            .as_bytes(),
    );
    h.update(b"\0");
    h.update(src.permalink.as_deref().unwrap_or("").as_bytes());
    for k in &src.front_matter_keys {
        h.update(b"\0k");
        h.update(k.as_bytes());
    }
    for r in &check.exclude {
        h.update(b"\0x");
        h.update(r.as_str().as_bytes());
    }
    h.finalize().to_hex().to_string()
}

/// The source's identity in the store: its path as configured.
pub fn source_key(src: &SourceConfig) -> String {
    src.path.display().to_string()
}

/// Reads every source and records posts and citations. Unchanged files (same size and mtime, or
/// same bytes) are skipped.
pub fn scan(
    store: &mut Store,
    cfg: &Config,
    now: DateTime<Utc>,
) -> Result<ScanReport, PipelineError> {
    let mut report = ScanReport::default();
    for src in &cfg.sources {
        scan_source(store, src, &cfg.check, now, &mut report)?;
    }
    Ok(report)
}

fn scan_source(
    store: &mut Store,
    src: &SourceConfig,
    check: &CheckConfig,
    now: DateTime<Utc>,
    report: &mut ScanReport,
) -> Result<(), PipelineError> {
    let key = source_key(src);
    let (files, problems) = source::discover(src)?;
    report.problems.extend(problems);
    report.files += files.len();
    let settings = settings_fingerprint(src, check);
    let stamps = store.file_stamps(&key)?;
    let known: HashSet<String> = files.iter().map(|f| f.rel_path.clone()).collect();
    // Post references resolve against the set of posts: when it changes, the posts that cite
    // other posts are read again so that a reference to a removed (or newly added) post gets its
    // new verdict.
    let fingerprint = files_fingerprint(&files);
    let set_changed = store.source_files(&key)?.as_deref() != Some(fingerprint.as_str());
    let reread = if set_changed {
        store.posts_citing_posts(&key)?
    } else {
        HashSet::new()
    };
    // Same size and mtime: not even read.
    let todo: Vec<&source::PostFile> = files
        .iter()
        .filter(|f| {
            reread.contains(&f.rel_path)
                || !stamps
                    .get(&f.rel_path)
                    .is_some_and(|o| o.size == f.size && o.mtime_ns == f.mtime_ns)
        })
        .collect();
    report.unchanged += files.len() - todo.len();
    let job = ReadJob {
        key: &key,
        src,
        check,
        settings: &settings,
        stamps: &stamps,
        known: &known,
        reread: &reread,
    };
    // Reading and extracting (all cores) overlaps with writing (one thread owns the store):
    // the writer commits batch k while batch k+1 is extracted.
    let writing = &mut *store;
    std::thread::scope(|scope| -> Result<(), PipelineError> {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<ScannedFile>>(1);
        let writer = scope.spawn(move || -> Result<(), StoreError> {
            let store = writing;
            let mut link_ids = LinkIds::default();
            for batch in rx {
                store.record_scan_batch(&batch, now, &mut link_ids)?;
            }
            Ok(())
        });
        for chunk in todo.chunks(POST_BATCH) {
            let mut batch = Vec::with_capacity(chunk.len());
            for (file, read) in chunk.iter().zip(parallel_map(chunk, |f| job.read(f))) {
                match read {
                    Read::Problem(p) => report.problems.push(p),
                    Read::Unchanged(stamp) => {
                        report.unchanged += 1;
                        batch.push(ScannedFile::Unchanged {
                            source: key.clone(),
                            path: file.rel_path.clone(),
                            stamp,
                        });
                    }
                    Read::Post {
                        record,
                        citations,
                        warnings,
                    } => {
                        report.read += 1;
                        report.citations += citations.len();
                        report
                            .warnings
                            .extend(warnings.into_iter().map(|message| FileProblem {
                                path: file.rel_path.clone(),
                                message,
                            }));
                        batch.push(ScannedFile::Post(record, citations));
                    }
                }
            }
            // The writer hangs up only on a store error, which its join reports.
            if !batch.is_empty() && tx.send(batch).is_err() {
                break;
            }
        }
        drop(tx);
        writer
            .join()
            .map_err(|_| PipelineError::Panicked("the scan's database writer"))??;
        Ok(())
    })?;
    report.removed += store.mark_absent(&key, &known)?;
    store.save_source_files(&key, &fingerprint, now)?;
    Ok(())
}

/// Identifies a source's set of post files (`files` comes sorted by path).
fn files_fingerprint(files: &[source::PostFile]) -> String {
    let mut h = blake3::Hasher::new();
    for f in files {
        h.update(f.rel_path.as_bytes());
        h.update(b"\0");
    }
    h.finalize().to_hex().to_string()
}

/// What reading one post file gave.
enum Read {
    Problem(FileProblem),
    /// The bytes (and settings) are those recorded: only the stamp moved.
    Unchanged(FileStamp),
    Post {
        record: PostRecord,
        citations: Vec<CitationRecord>,
        warnings: Vec<String>,
    },
}

/// What every file of a source is read against.
struct ReadJob<'a> {
    key: &'a str,
    src: &'a SourceConfig,
    check: &'a CheckConfig,
    settings: &'a str,
    stamps: &'a HashMap<String, FileStamp>,
    known: &'a HashSet<String>,
    /// Posts whose references must be resolved again, even if their bytes did not change.
    reread: &'a HashSet<String>,
}

impl ReadJob<'_> {
    /// Reads, decodes, hashes and extracts one file. No store access, so it runs on any thread.
    fn read(&self, file: &source::PostFile) -> Read {
        let text = match source::read(file).and_then(|b| source::decode(&file.rel_path, &b)) {
            Ok(t) => t,
            Err(p) => return Read::Problem(p),
        };
        let hash = blake3::hash(format!("{}\0{}", text.hash, self.settings).as_bytes())
            .to_hex()
            .to_string();
        let old = self.stamps.get(&file.rel_path);
        if !self.reread.contains(&file.rel_path)
            && old.and_then(|o| o.hash.as_deref()) == Some(hash.as_str())
        {
            return Read::Unchanged(FileStamp {
                size: file.size,
                mtime_ns: file.mtime_ns,
                hash: Some(hash),
            });
        }
        let (post, citations, mut warnings) =
            post_citations(self.src, self.check, file, &text.text, self.known);
        if text.lossy {
            warnings.insert(
                0,
                "not valid UTF-8; read with replacement characters".into(),
            );
        }
        let record = PostRecord {
            source: self.key.to_string(),
            path: file.rel_path.clone(),
            title: post.title,
            date: post.date,
            draft: post.draft,
            url: post.url.map(|u| u.to_string()),
            size: file.size,
            mtime_ns: file.mtime_ns,
            hash,
        };
        Read::Post {
            record,
            citations,
            warnings,
        }
    }
}

/// Maps `f` over `items` on all cores, keeping the order. Small inputs stay on this thread.
fn parallel_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(items.len() / 4)
        .max(1);
    if threads == 1 {
        return items.iter().map(f).collect();
    }
    let per = items.len().div_ceil(threads);
    let f = &f;
    std::thread::scope(|scope| {
        let parts: Vec<_> = items
            .chunks(per)
            .map(|part| scope.spawn(move || part.iter().map(f).collect::<Vec<R>>()))
            .collect();
        parts
            .into_iter()
            // A panic in extraction would be a bug; it is re-raised here rather than hidden.
            .flat_map(|p| p.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    })
}

/// The facts of a post that the store keeps.
struct PostFacts {
    title: Option<String>,
    date: Option<String>,
    draft: bool,
    url: Option<Url>,
}

/// Extracts and normalizes one post's citations. Pure apart from its inputs.
fn post_citations(
    src: &SourceConfig,
    check: &CheckConfig,
    file: &source::PostFile,
    text: &str,
    known: &HashSet<String>,
) -> (PostFacts, Vec<CitationRecord>, Vec<String>) {
    let opts = extract::Options {
        front_matter_keys: src.front_matter_keys.clone(),
    };
    let extracted = extract::extract(file.format, text, &opts);
    let front = &extracted.front;
    let post_url = normalize::post_url(
        src.base_url.as_ref(),
        &file.rel_path,
        front,
        src.permalink.as_deref(),
    );
    let ctx = normalize::Context {
        post_url: post_url.as_ref(),
        base_url: src.base_url.as_ref(),
    };
    let mut out = Vec::with_capacity(extracted.citations.len());
    for c in &extracted.citations {
        let (link, fragment, static_verdict) = match normalize::normalize(&c.target, c.kind, &ctx) {
            Target::Http { url, fragment } => {
                let verdict = check
                    .exclude
                    .iter()
                    .find(|r| r.is_match(url.as_str()))
                    .map(|r| {
                        (
                            State::Skipped,
                            format!("excluded by check.exclude rule {:?}", r.as_str()),
                        )
                    });
                (url.to_string(), fragment, verdict)
            }
            Target::Post { path, fragment } => {
                match normalize::resolve_post_ref(&path, &file.rel_path, known) {
                    Some(found) => (
                        format!("post:{found}"),
                        fragment,
                        Some((State::Ok, format!("internal reference to the post {found}"))),
                    ),
                    None => (
                        format!("post:{path}"),
                        fragment,
                        Some((State::Broken, format!("no post {path:?} in the source"))),
                    ),
                }
            }
            Target::Skipped { key, reason } => (key, None, Some((State::Skipped, reason))),
            Target::Invalid { key, reason } => (key, None, Some((State::Broken, reason))),
        };
        out.push(CitationRecord {
            link,
            line: c.line,
            text: c.text.clone(),
            kind: c.kind.as_str().to_string(),
            raw: c.target.clone(),
            fragment,
            static_verdict,
        });
    }
    let facts = PostFacts {
        title: front.title.clone(),
        date: front.date_string(),
        draft: front.draft,
        url: post_url,
    };
    (facts, out, extracted.warnings)
}

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

/// The most Save Page Now requests one run makes: the service rate-limits anonymous callers.
const SAVE_MAX_PER_RUN: usize = 20;

/// Asks Save Page Now to archive newly cited links that answered well (when enabled), once each,
/// one at a time.
async fn save_new_links(
    store: &mut Store,
    cfg: &crate::config::ArchiveConfig,
    user_agent: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    if !cfg.save_page_now {
        return Ok(());
    }
    let due = store.save_due(SAVE_MAX_PER_RUN)?;
    let Ok(client) = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(60))
        .user_agent(user_agent.to_string())
        .build()
    else {
        return Ok(());
    };
    for (id, url) in due {
        let outcome =
            crate::wayback::save_page_now(&client, &cfg.save_page_now_endpoint, &url).await;
        tracing::info!("save page now {url}: {outcome}");
        store.save_requested(id, &outcome, now)?;
    }
    Ok(())
}

/// How long a "no archived copy" answer is trusted before asking again.
const WAYBACK_RETRY: chrono::Duration = chrono::Duration::days(7);

/// The most look-ups one run makes: the archive is a shared public service.
const WAYBACK_MAX_PER_RUN: usize = 500;

/// After a check run: asks Save Page Now to archive newly cited good links (when enabled), and
/// looks up the closest archived copy of each dead, changed or soft-404 link that has none yet,
/// near the date its citing post was published. Failures are logged and retried next time.
pub async fn lookup_archives(
    store: &mut Store,
    cfg: &crate::config::ArchiveConfig,
    user_agent: &str,
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    save_new_links(store, cfg, user_agent, now).await?;
    if !cfg.wayback {
        return Ok(0);
    }
    let due = store.wayback_due(now - WAYBACK_RETRY)?;
    if due.is_empty() {
        return Ok(0);
    }
    let wayback = match crate::wayback::Wayback::new(cfg.wayback_endpoint.clone(), user_agent) {
        Ok(w) => w,
        Err(e) => {
            tracing::warn!("{e}");
            return Ok(0);
        }
    };
    let results: Vec<_> = futures_util::stream::iter(due.into_iter().take(WAYBACK_MAX_PER_RUN))
        .map(|(id, url, date)| {
            let wayback = &wayback;
            async move {
                let ts = crate::wayback::timestamp_of(&date);
                (id, wayback.closest(&url, &ts).await)
            }
        })
        .buffer_unordered(4)
        .collect()
        .await;
    let mut found = 0;
    for (id, r) in results {
        match r {
            Ok(Some(c)) => {
                found += 1;
                store.save_wayback(id, Some(&c.url), Some(&c.timestamp), now)?;
            }
            Ok(None) => store.save_wayback(id, None, None, now)?,
            Err(e) => tracing::warn!("{e}"),
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parallel_map_keeps_order_for_any_length() {
        for n in [0usize, 1, 3, 4, 7, 8, 9, 64, 101] {
            let items: Vec<usize> = (0..n).collect();
            let out = parallel_map(&items, |i| i * 10);
            assert_eq!(out, items.iter().map(|i| i * 10).collect::<Vec<_>>(), "{n}");
        }
    }
}
