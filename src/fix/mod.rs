//! `citewatch fix`: repairs rotted citations in the posts themselves, byte-exact, the way
//! InternetArchiveBot repairs Wikipedia's.
//!
//! This file sequences it (a shell): the store says which posts cite links worth repairing and
//! what is known of those links; each such post is read and compared with what the last scan
//! read (a post edited since is reported and left alone); archived copies still missing are
//! looked up ([`lookup`]); the pure planner ([`plan`]) decides the edits; with `apply` they are
//! written atomically ([`apply`]) and the sources scanned again, so the store knows the new
//! citations at once (a link to an archived copy gets a verdict without the network).
//!
//! Core: [`plan`] (the edits), [`redirect`] (confirmed redirects), [`copy`] (Wayback URLs),
//! [`diff`] (unified diffs), [`report`] (what a run did, as text and JSON). Shells: this file,
//! [`apply`] (the filesystem), [`lookup`] (the archive).

pub mod apply;
/// Archived copies' URLs: [`crate::archived`].
pub use crate::archived as copy;
pub mod diff;
pub mod lookup;
pub mod plan;
pub mod redirect;
pub mod report;

use std::collections::HashMap;
use std::path::PathBuf;

use chrono::{DateTime, Utc};

pub use plan::{Action, Edit, Kinds, Listed, Mode, Repair, Settings};
pub use report::{PostFix, Skipped};

use crate::config::Config;
use crate::confirm;
use crate::extract;
use crate::pipeline::{self, PipelineError, ScanReport};
use crate::source;
use crate::store::fix::FixLink;
use crate::store::{Store, StoreError, Writer};

/// What a run of `fix` did, with the scan that followed the writing.
pub type Report = report::Report<ScanReport>;

/// After this many failed look-ups in a row the archive is taken to be unreachable for this run.
const GIVE_UP_AFTER: usize = 3;

#[derive(Debug, thiserror::Error)]
pub enum FixError {
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a run of `fix` is asked to do.
#[derive(Debug, Clone)]
pub struct Request {
    /// Only posts whose path (relative to their source) contains this.
    pub post: Option<String>,
    pub kinds: Kinds,
    /// Write the edits; otherwise nothing is written.
    pub apply: bool,
}

/// One post read and ready to plan.
struct Work {
    source: usize,
    file: PathBuf,
    abs: PathBuf,
    path: String,
    format: extract::Format,
    bytes: Vec<u8>,
    citations: Vec<plan::Citation>,
}

/// The links `fix` knows of, loaded once each.
#[derive(Default)]
struct Links {
    ids: Vec<i64>,
    facts: Vec<plan::Link>,
    index: HashMap<i64, usize>,
}

impl Links {
    fn get(
        &mut self,
        store: &Store,
        id: i64,
        confirm_checks: u32,
    ) -> Result<Option<usize>, StoreError> {
        if let Some(&i) = self.index.get(&id) {
            return Ok(Some(i));
        }
        let Some(l) = store.fix_link(id)? else {
            return Ok(None);
        };
        let checks = if l.state == crate::state::State::Redirected {
            store
                .fix_checks(id, confirm_checks.max(1) as usize)?
                .into_iter()
                .collect()
        } else {
            Vec::new()
        };
        self.facts.push(link_facts(l, checks));
        self.ids.push(id);
        let i = self.facts.len() - 1;
        self.index.insert(id, i);
        Ok(Some(i))
    }
}

fn link_facts(l: FixLink, checks: Vec<redirect::Check>) -> plan::Link {
    plan::Link {
        url: l.url,
        state: l.state,
        since: l.since,
        confirmed: l.confirmed,
        streak: l.streak,
        checks,
        copy: match (l.archived_url, l.archived_timestamp) {
            (Some(url), Some(timestamp)) => Some(plan::Copy { url, timestamp }),
            _ => None,
        },
        looked_up: l.looked_up,
        cited: l.cited,
    }
}

/// Plans, and with `req.apply` makes, the repairs of the configured sources' posts.
/// `archive` looks up copies that are still missing (`None`: only known copies are used);
/// `fs` writes the posts.
pub fn run(
    writer: &Writer,
    cfg: &Config,
    req: &Request,
    archive: Option<&dyn lookup::Archive>,
    fs: &dyn apply::Fs,
    now: DateTime<Utc>,
) -> Result<Report, FixError> {
    let store = writer.reader()?;
    let confirm = confirm::Settings {
        confirm_checks: cfg.alerts.confirm_checks,
        confirm_period: cfg.alerts.confirm_period,
    };
    let cx = plan::Context {
        settings: &cfg.fix,
        confirm: &confirm,
        kinds: req.kinds,
    };
    let mut report = Report::default();
    let mut links = Links::default();
    let mut sources = Vec::new();
    let mut work = Vec::new();
    for (si, src) in cfg.sources.iter().enumerate() {
        let open = pipeline::open_source(src, &cfg.check)?;
        for post in store.fix_posts(&open.key)? {
            if req
                .post
                .as_ref()
                .is_some_and(|p| !post.path.contains(p.as_str()))
            {
                continue;
            }
            let file = src.path.join(&post.path);
            let skip = |why: String| Skipped {
                file: file.clone(),
                why,
            };
            let Some(pf) = open.files.iter().find(|f| f.rel_path == post.path) else {
                report.skipped.push(skip(
                    "no longer a post of its source; run `citewatch scan`".into(),
                ));
                continue;
            };
            let bytes = match source::read(pf) {
                Ok(b) => b,
                Err(p) => {
                    report.skipped.push(skip(p.message));
                    continue;
                }
            };
            let hash = pipeline::post_hash(blake3::hash(&bytes).to_hex().as_str(), &open.settings);
            if post.hash.as_deref() != Some(hash.as_str()) {
                report.skipped.push(skip(
                    "changed since the last scan read it, so not touched; the next scan reads it again (then run `citewatch fix` again)".into(),
                ));
                continue;
            }
            let text = match source::decode(&pf.rel_path, &bytes) {
                Ok(t) => t,
                Err(p) => {
                    report.skipped.push(skip(p.message));
                    continue;
                }
            };
            let stored: HashMap<(u64, u64, &str), i64> = post
                .citations
                .iter()
                .map(|c| ((c.span.0, c.span.1, c.raw.as_str()), c.link_id))
                .collect();
            let mut citations = Vec::new();
            for c in extract::extract(pf.format, &text.text, open.view.options()).citations {
                let span = text.offsets.raw_range(c.span.clone());
                let key = (span.start as u64, span.end as u64, c.target.as_str());
                let link = match stored.get(&key) {
                    Some(&id) => links.get(&store, id, confirm.confirm_checks)?,
                    None => None,
                };
                citations.push(plan::Citation {
                    span,
                    after: c.after.map(|a| text.offsets.raw(a)),
                    written: c.written,
                    kind: c.kind,
                    target: c.target,
                    line: c.line,
                    link,
                });
            }
            work.push(Work {
                source: si,
                file,
                abs: pf.abs_path.clone(),
                path: post.path,
                format: pf.format,
                bytes,
                citations,
            });
        }
        sources.push(open);
    }
    drop(store);
    look_up(writer, &mut links, &cx, archive, &mut report, now)?;
    for w in work {
        let post = plan::Post {
            bytes: &w.bytes,
            format: w.format,
            options: sources[w.source].view.options(),
            citations: &w.citations,
            links: &links.facts,
        };
        let p = plan::plan(&post, &cx);
        if p.edits.is_empty() && p.listed.is_empty() && p.already == 0 {
            continue;
        }
        let new = plan::apply(&w.bytes, &p.edits);
        let written = (req.apply && !p.edits.is_empty())
            .then(|| apply::write_post(&w.abs, &w.bytes, &new, fs).map_err(|e| e.to_string()));
        report.posts.push(PostFix {
            file: w.file,
            path: w.path,
            edits: p.edits,
            listed: p.listed,
            already: p.already,
            old: w.bytes,
            new,
            written,
        });
    }
    if report.written().next().is_some() {
        report.rescan = Some(pipeline::scan_blocking(writer, cfg, now)?);
    }
    Ok(report)
}

/// Looks up the archived copies the repairs need and the store lacks, and records what is found.
fn look_up(
    writer: &Writer,
    links: &mut Links,
    cx: &plan::Context<'_>,
    archive: Option<&dyn lookup::Archive>,
    report: &mut Report,
    now: DateTime<Utc>,
) -> Result<(), FixError> {
    let Some(archive) = archive else {
        return Ok(());
    };
    let mut failures_in_row = 0;
    for i in 0..links.facts.len() {
        let Some(ts) = plan::lookup(&links.facts[i], cx, now) else {
            continue;
        };
        let (id, url) = (links.ids[i], links.facts[i].url.clone());
        report.looked_up += 1;
        match archive.closest(&url, &ts) {
            Ok(found) => {
                failures_in_row = 0;
                let had = links.facts[i].copy.clone();
                let found = found.map(|c| plan::Copy {
                    url: c.url,
                    timestamp: c.timestamp,
                });
                // A copy replaces the one known only if it is one the repair can use, or none
                // was known; "none found" is recorded only where nothing was known.
                let better = match (&found, &had) {
                    (Some(f), Some(_)) => {
                        let mut with = links.facts[i].clone();
                        with.copy = Some(f.clone());
                        plan::lookup(&with, cx, now).is_none()
                    }
                    (Some(_), None) | (None, None) => true,
                    (None, Some(_)) => false,
                };
                report.found += usize::from(found.is_some());
                if better {
                    let saved = found.clone();
                    writer.run_blocking("an archived copy", move |s| {
                        s.save_wayback(
                            id,
                            saved.as_ref().map(|c| c.url.as_str()),
                            saved.as_ref().map(|c| c.timestamp.as_str()),
                            now,
                        )
                    })?;
                    links.facts[i].copy = found;
                    links.facts[i].looked_up = Some(now);
                }
            }
            Err(e) => {
                report.lookup_errors.push(e);
                failures_in_row += 1;
                if failures_in_row >= GIVE_UP_AFTER {
                    break;
                }
            }
        }
    }
    Ok(())
}
