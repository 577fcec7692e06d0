//! The scan: sources → post files → front matter and citations → normalized links → store.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use url::Url;

use crate::config::{CheckConfig, Config, SourceConfig};
use crate::extract;
use crate::normalize::{self, Target};
use crate::source::{self, FileProblem};
use crate::state::State;
use crate::store::{
    CitationRecord, FileStamp, LinkIds, PostRecord, ScannedFile, Store, StoreError,
};

use super::PipelineError;

/// Posts written per transaction during a scan.
const POST_BATCH: usize = 64;

/// Bumped when extraction or normalization changes what a post yields, so unchanged files are
/// read again once.
const EXTRACTOR_VERSION: &str = "1";

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
