//! The scan: sources → post files → front matter and citations → normalized links → store.
//!
//! Each source is first placed in its site (`site::load::locate`): the Hugo or Jekyll config
//! around it gives the address posts are published at, their permalinks and the template
//! language of posts; what citewatch's own config sets still wins. The site's files are listed
//! once, so that references to other posts resolve as the generator resolves them and local
//! files a post cites are checked on disk, both without the network.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use url::Url;

use crate::config::{CheckConfig, Config, SourceConfig};
use crate::fragment::PostAnchors;
use crate::site::{self, load::Layout, view::View};
use crate::source::{self, FileProblem};
use crate::store::{
    CitationRecord, FileStamp, LinkIds, PostRecord, ScannedFile, Store, StoreError,
};

use super::PipelineError;

/// Posts written per transaction during a scan.
const POST_BATCH: usize = 64;

/// Batches of posts read ahead of the scan's writer: when writing is slower than reading (a
/// large blog's first scan), up to this many wait and go into the writer's next commit together.
const QUEUED_BATCHES: usize = 8;

/// Bumped when extraction or normalization changes what a post yields, so unchanged files are
/// read again once.
const EXTRACTOR_VERSION: &str = "3";

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
    /// For each source read within a site: which site config was used and what it says.
    pub sites: Vec<String>,
}

/// A fingerprint of the settings that change what a post yields: when they change, every post of
/// the source is read again.
fn settings_fingerprint(src: &SourceConfig, check: &CheckConfig, layout: &Layout) -> String {
    let mut h = blake3::Hasher::new();
    h.update(EXTRACTOR_VERSION.as_bytes());
    if let Some(site) = &layout.site {
        h.update(b"\0s");
        h.update(site.fingerprint.as_bytes());
        h.update(site.root.to_string_lossy().as_bytes());
    }
    h.update(b"\0c");
    h.update(layout.content_root.to_string_lossy().as_bytes());
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

/// A source placed in its site and listed, as a scan reads it. `fix` reads posts through the
/// same view, so it finds their citations exactly where the scan found them.
pub struct OpenSource {
    /// The source's identity in the store.
    pub key: String,
    pub view: View,
    /// Its post files, sorted by path.
    pub files: Vec<source::PostFile>,
    /// The folder the site's paths are relative to (where a referenced post is read from).
    pub files_root: std::path::PathBuf,
    /// The fingerprint of the settings that change what a post yields (see [`post_hash`]).
    pub settings: String,
    /// Problems met placing and listing it: a bad site config, folders that cannot be listed.
    pub problems: Vec<FileProblem>,
    /// Which site config was used and what it says, when the source is in a site.
    pub site: Option<String>,
    /// The fingerprint of the post files and the site's files.
    listing_fp: String,
}

/// Places a source in its site (its config read, its files listed) and lists its posts.
pub fn open_source(src: &SourceConfig, check: &CheckConfig) -> Result<OpenSource, PipelineError> {
    let key = source_key(src);
    if !src.path.is_dir() {
        return Err(source::SourceError::Missing {
            path: src.path.clone(),
        }
        .into());
    }
    let mut problems = Vec::new();
    let (layout, site_error) = site::load::locate_with(&src.path, src.site_config);
    if let Some(e) = site_error {
        problems.push(FileProblem {
            path: key.clone(),
            message: e.to_string(),
        });
    }
    let site_line = layout.site.as_ref().map(|site| {
        let files: Vec<String> = site
            .config_files
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        format!(
            "source {key}: {} site config {} ({})",
            site.config.generator().as_str(),
            files.join(", "),
            site.config.summary()
        )
    });
    let (files, listed) = source::discover_in(src, &layout.scope())?;
    problems.extend(listed);
    let settings = settings_fingerprint(src, check, &layout);
    let listing = site::load::list_files(&layout.files_root);
    let posts: Vec<String> = files.iter().map(|f| f.rel_path.clone()).collect();
    let listing_fp = files_fingerprint(&listing, &files);
    let files_root = layout.files_root.clone();
    let view = View::new(src, layout, &listing, &posts);
    Ok(OpenSource {
        key,
        view,
        files,
        files_root,
        settings,
        problems,
        site: site_line,
        listing_fp,
    })
}

/// What the store records of the bytes a scan read (`posts.hash`): the file's blake3 hash with
/// the settings it was read with, so that a post whose bytes, or whose reading, changed since is
/// told apart.
pub fn post_hash(bytes_hash: &str, settings: &str) -> String {
    blake3::hash(format!("{bytes_hash}\0{settings}").as_bytes())
        .to_hex()
        .to_string()
}

fn scan_source(
    store: &mut Store,
    src: &SourceConfig,
    check: &CheckConfig,
    now: DateTime<Utc>,
    report: &mut ScanReport,
) -> Result<(), PipelineError> {
    let OpenSource {
        key,
        view,
        files,
        files_root,
        settings,
        problems,
        site,
        listing_fp,
    } = open_source(src, check)?;
    report.problems.extend(problems);
    if let Some(line) = site {
        tracing::info!("{line}");
        report.sites.push(line);
    }
    report.files += files.len();
    let stamps = store.file_stamps(&key)?;
    // References to other posts and local files resolve against the site's files: when they
    // change, the posts that cite posts or local files are read again so that a reference to a
    // removed (or newly added) file gets its new verdict. When the settings change (citewatch's
    // or the site's config, or this extractor), every post is read again. Both fingerprints are
    // kept as `settings:files`.
    let recorded = store.source_files(&key)?.unwrap_or_default();
    let (old_settings, old_listing) = recorded.split_once(':').unwrap_or(("", &recorded));
    let settings_changed = old_settings != settings;
    let reread = if old_listing != listing_fp {
        store.posts_citing_site(&key)?
    } else {
        HashSet::new()
    };
    // Same size and mtime (and settings): not even read.
    let todo: Vec<&source::PostFile> = files
        .iter()
        .filter(|f| {
            settings_changed
                || reread.contains(&f.rel_path)
                || !stamps
                    .get(&f.rel_path)
                    .is_some_and(|o| o.size == f.size && o.mtime_ns == f.mtime_ns)
        })
        .collect();
    report.unchanged += files.len() - todo.len();
    let job = ReadJob {
        key: &key,
        check,
        settings: &settings,
        stamps: &stamps,
        view: &view,
        reread: &reread,
        other_posts: OtherPosts {
            root: &files_root,
            view: &view,
            read: Default::default(),
        },
    };
    // Reading and extracting (all cores) overlaps with writing (one thread owns the store):
    // the writer commits batch k while batch k+1 is extracted.
    let writing = &mut *store;
    std::thread::scope(|scope| -> Result<(), PipelineError> {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<ScannedFile>>(QUEUED_BATCHES);
        let writer = scope.spawn(move || -> Result<(), StoreError> {
            let store = writing;
            let mut link_ids = LinkIds::default();
            while let Ok(mut batch) = rx.recv() {
                // The batches that queued while the last commit was written go in one commit
                // with this one: a commit writes every page it touched, and the citations'
                // index pages are touched by every batch.
                while let Ok(more) = rx.try_recv() {
                    batch.extend(more);
                }
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
    let known: HashSet<String> = files.iter().map(|f| f.rel_path.clone()).collect();
    report.removed += store.mark_absent(&key, &known)?;
    store.save_source_files(&key, &format!("{settings}:{listing_fp}"), now)?;
    Ok(())
}

/// Identifies the files a source's verdicts depend on: its posts and its site's files
/// (both come sorted by path).
fn files_fingerprint(listing: &[String], files: &[source::PostFile]) -> String {
    let mut h = blake3::Hasher::new();
    for f in files {
        h.update(f.rel_path.as_bytes());
        h.update(b"\0");
    }
    h.update(b"\0\0");
    for f in listing {
        h.update(f.as_bytes());
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
    check: &'a CheckConfig,
    settings: &'a str,
    stamps: &'a HashMap<String, FileStamp>,
    view: &'a View,
    /// Posts whose references must be resolved again, even if their bytes did not change.
    reread: &'a HashSet<String>,
    other_posts: OtherPosts<'a>,
}

/// The anchors of the posts that other posts reference with a fragment: each read once per
/// scan, on whichever thread asks first.
struct OtherPosts<'a> {
    root: &'a std::path::Path,
    view: &'a View,
    read: std::sync::Mutex<HashMap<String, Option<Arc<PostAnchors>>>>,
}

impl OtherPosts<'_> {
    fn anchors(&self, files_path: &str) -> Option<Arc<PostAnchors>> {
        if let Some(known) = self.read.lock().ok()?.get(files_path) {
            return known.clone();
        }
        // Read outside the lock: another thread may read the same post meanwhile, to the same
        // result.
        let anchors = source::read_under(self.root, files_path)
            .ok()
            .map(|text| Arc::new(self.view.post_anchors(files_path, &text.text)));
        self.read
            .lock()
            .ok()?
            .insert(files_path.to_string(), anchors.clone());
        anchors
    }
}

impl ReadJob<'_> {
    /// Reads, decodes, hashes and extracts one file. No store access, so it runs on any thread.
    fn read(&self, file: &source::PostFile) -> Read {
        let text = match source::read(file).and_then(|b| source::decode(&file.rel_path, &b)) {
            Ok(t) => t,
            Err(p) => return Read::Problem(p),
        };
        let hash = post_hash(&text.hash, self.settings);
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
            self.view
                .post_citations(self.check, &file.rel_path, file.format, &text, &|p| {
                    self.other_posts.anchors(p)
                });
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

    use std::collections::BTreeMap;
    use std::path::{Path, PathBuf};

    use crate::state::State;
    use crate::store::{CitationRow, StatusFilter};

    fn site(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/sites")
            .join(name)
    }

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-30T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    struct Scanned {
        _dir: tempfile::TempDir,
        store: Store,
        report: ScanReport,
    }

    fn scan_sources(sources: Vec<SourceConfig>) -> Scanned {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("c.db")).unwrap();
        let cfg = Config {
            sources,
            ..Config::default()
        };
        let report = scan(&mut store, &cfg, now()).unwrap();
        Scanned {
            _dir: dir,
            store,
            report,
        }
    }

    /// Every link: its state, its reason (static verdicts keep it in `error`), its citations.
    fn links(store: &Store) -> BTreeMap<String, (State, Option<String>, Vec<CitationRow>)> {
        store
            .status(&StatusFilter::default())
            .unwrap()
            .into_iter()
            .map(|r| (r.url, (r.state, r.error, r.citations)))
            .collect()
    }

    fn state(
        links: &BTreeMap<String, (State, Option<String>, Vec<CitationRow>)>,
        url: &str,
    ) -> State {
        links
            .get(url)
            .unwrap_or_else(|| panic!("no link {url} in {:#?}", links.keys().collect::<Vec<_>>()))
            .0
    }

    fn copy_dir(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap() {
            let e = e.unwrap();
            let target = to.join(e.file_name());
            if e.file_type().unwrap().is_dir() {
                copy_dir(&e.path(), &target);
            } else {
                std::fs::copy(e.path(), target).unwrap();
            }
        }
    }

    /// A Hugo site scanned from its root: its config read and named, only its content read,
    /// references resolved as Hugo does, bundle images at their published URLs, on disk.
    #[test]
    fn hugo_site_config_refs_and_bundle_files() {
        let s = scan_sources(vec![SourceConfig::bare(site("hugo"))]);
        assert_eq!(s.report.sites.len(), 1, "{:?}", s.report.sites);
        assert!(
            s.report.sites[0].contains("hugo.toml"),
            "{:?}",
            s.report.sites
        );
        assert!(s.report.sites[0].contains("/:year/:month/:day/:slug/"));
        // The layouts are templates, not posts.
        assert_eq!(s.report.files, 4);
        let l = links(&s.store);
        assert!(!l.keys().any(|k| k.contains("template.example.org")));
        let bundle = "post:content/posts/2020-07-27-mysql-transactions/index.md";
        assert_eq!(state(&l, bundle), State::Ok);
        // By file name and by path from the content root; with an anchor, a link of its own
        // (the anchor is judged per citation).
        assert_eq!(l[bundle].2.len(), 2, "{:?}", l[bundle].2);
        assert_eq!(state(&l, &format!("{bundle}#isolation")), State::Ok);
        assert_eq!(state(&l, "post:content/about.md"), State::Ok);
        assert_eq!(state(&l, "post:2001-01-01-never-written.md"), State::Broken);
        // Bundle resources at the address the site publishes them at, judged on disk.
        let chart = "https://blog.example.org/2020/08/01/refs/chart.gif";
        assert_eq!(state(&l, chart), State::Ok);
        assert!(l[chart].1.as_deref().unwrap_or("").contains("local file"));
        assert_eq!(
            state(
                &l,
                "https://blog.example.org/2020/07/27/mysql-transactions/diagram.png"
            ),
            State::Ok
        );
        assert_eq!(
            state(&l, "https://blog.example.org/2020/08/01/refs/missing.png"),
            State::Broken
        );
        assert_eq!(
            state(&l, "https://blog.example.org/images/logo.png"),
            State::Ok
        );
        // A page of the site and the web are checked over HTTP.
        assert_eq!(
            state(&l, "https://blog.example.org/tags/"),
            State::Unchecked
        );
        assert_eq!(state(&l, "https://www.example.com/page"), State::Unchecked);
        // The quote after the link, and the citation's exact bytes in the file.
        let pivot = &l["http://theconversation.com/pivot-113144"].2[0];
        assert!(pivot
            .quote
            .as_deref()
            .unwrap_or("")
            .starts_with("A plan to integrate"));
        let c = &l[chart].2[0];
        let (a, b) = c.span.unwrap();
        let bytes = std::fs::read(site("hugo").join(&c.post)).unwrap();
        assert_eq!(&bytes[a as usize..b as usize], b"chart.gif");
    }

    fn write(root: &Path, rel: &str, text: &str) {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    /// Anchors inside the blog, offline: a link to a place in the same post and a reference to
    /// another post's heading, judged against the ids Hugo's Goldmark makes (and `{#id}`s,
    /// footnotes, HTML ids); a missing one is broken with its reason, per citation; one that a
    /// shortcode may make is not judged.
    #[test]
    fn in_blog_anchors_hugo() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(
            root,
            "hugo.toml",
            "baseURL = \"https://blog.example.org/\"\n",
        );
        write(
            root,
            "content/posts/a/index.md",
            "---\ntitle: A\n---\n## The Method\n\n## Größe & Café {#custom}\n\n\
             Text[^note] and <a id=\"raw-html\"></a>.\n\n\
             [below](#the-method) [custom](#custom) [html](#raw-html) [note](#fn:1) \
             [encoded](#gr%C3%B6%C3%9Fe--caf%C3%A9) [gone](#the-methods) [case](#The-Method)\n\n\
             See {{< relref \"b.md#section-two\" >}} and {{< relref \"b.md#nope\" >}} and \
             {{< relref \"c.md#made-by-shortcode\" >}}.\n\n[^note]: A footnote.\n",
        );
        write(
            root,
            "content/posts/b.md",
            "---\ntitle: B\n---\n# One\n\n## Section Two\n\nx [up](#one)\n",
        );
        write(
            root,
            "content/posts/c.md",
            "---\ntitle: C\n---\n{{< toc-anchor \"made-by-shortcode\" >}}\n# C\n",
        );
        let s = scan_sources(vec![SourceConfig::bare(root.to_path_buf())]);
        let l = links(&s.store);
        let a = "post:content/posts/a/index.md";
        for ok in ["the-method", "custom", "raw-html", "fn:1"] {
            assert_eq!(state(&l, &format!("{a}#{ok}")), State::Ok, "#{ok}");
        }
        assert_eq!(state(&l, "post:content/posts/b.md#one"), State::Ok);
        // Goldmark drops '&' and keeps the two spaces around it as "--"; a custom id wins, so
        // the generated one is not there.
        assert_eq!(
            state(&l, &format!("{a}#gr%C3%B6%C3%9Fe--caf%C3%A9")),
            State::Broken
        );
        for (frag, post) in [
            ("the-methods", "content/posts/a/index.md"),
            ("The-Method", "content/posts/a/index.md"),
        ] {
            let (st, reason, cites) = &l[&format!("{a}#{frag}")];
            assert_eq!(*st, State::Broken, "#{frag}");
            assert_eq!(
                reason.as_deref(),
                Some(format!("no anchor #{frag} in {post}").as_str())
            );
            assert_eq!(cites.len(), 1);
            assert_eq!(cites[0].fragment.as_deref(), Some(frag));
        }
        let b = "post:content/posts/b.md";
        assert_eq!(state(&l, &format!("{b}#section-two")), State::Ok);
        assert_eq!(state(&l, &format!("{b}#nope")), State::Broken);
        assert_eq!(
            l[&format!("{b}#nope")].1.as_deref(),
            Some("no anchor #nope in content/posts/b.md")
        );
        assert_eq!(
            state(&l, "post:content/posts/c.md#made-by-shortcode"),
            State::Skipped
        );
    }

    /// Jekyll: kramdown's GFM ids (Jekyll's default), `post_url` with a fragment.
    #[test]
    fn in_blog_anchors_jekyll() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(root, "_config.yml", "url: https://j.example.org\n");
        write(
            root,
            "_posts/2020-01-01-a.md",
            "---\ntitle: A\n---\n## Hello World!\n\n## Hello World!\n\n## Use `snake_case` here\n\n## One\tTwo\n\n\
             [x](#hello-world) [y](#hello-world-1) [z](#use-snake_case-here) [w](#hello-world-2) \
             [t](#one-two)\n\n\
             [b]({% post_url 2020-01-02-b %}#part-one) [c]({% post_url 2020-01-02-b %}#part-three)\n",
        );
        write(
            root,
            "_posts/2020-01-02-b.md",
            "---\ntitle: B\n---\n# Part One\n\ntext\n",
        );
        let s = scan_sources(vec![SourceConfig::bare(root.to_path_buf())]);
        let l = links(&s.store);
        let a = "post:_posts/2020-01-01-a.md";
        // kramdown turns a tab into '-' where Goldmark drops it.
        for ok in [
            "hello-world",
            "hello-world-1",
            "use-snake_case-here",
            "one-two",
        ] {
            assert_eq!(state(&l, &format!("{a}#{ok}")), State::Ok, "#{ok}");
        }
        assert_eq!(state(&l, &format!("{a}#hello-world-2")), State::Broken);
        assert_eq!(state(&l, "post:_posts/2020-01-02-b.md#part-one"), State::Ok);
        assert_eq!(
            state(&l, "post:_posts/2020-01-02-b.md#part-three"),
            State::Broken
        );
    }

    /// The same site read from `content/posts`: references to pages outside the source still
    /// resolve (keys relative to the source).
    #[test]
    fn hugo_site_from_a_folder_inside_it() {
        let s = scan_sources(vec![SourceConfig::bare(site("hugo/content/posts"))]);
        assert_eq!(s.report.sites.len(), 1);
        let l = links(&s.store);
        assert_eq!(
            state(&l, "post:2020-07-27-mysql-transactions/index.md"),
            State::Ok
        );
        assert_eq!(state(&l, "post:../about.md"), State::Ok);
        assert_eq!(
            state(&l, "https://blog.example.org/2020/08/01/refs/chart.gif"),
            State::Ok
        );
    }

    /// citewatch's own `base_url` and `permalink` win over the site's.
    #[test]
    fn own_config_wins_over_the_sites() {
        let mut src = SourceConfig::bare(site("hugo"));
        src.base_url = Some(Url::parse("https://mirror.example.net/").unwrap());
        src.permalink = Some("/:slug/".into());
        let s = scan_sources(vec![src]);
        let l = links(&s.store);
        assert_eq!(
            state(&l, "https://mirror.example.net/refs/chart.gif"),
            State::Ok
        );
        assert!(!l.keys().any(|k| k.starts_with("https://blog.example.org/")));
    }

    /// A Jekyll site from its root: `_config.yml` gives the address and permalinks, Liquid is
    /// read, `post_url` and `link` resolve, layouts, output and excluded files are not posts.
    #[test]
    fn jekyll_site_liquid_and_local_files() {
        let s = scan_sources(vec![SourceConfig::bare(site("jekyll"))]);
        assert!(
            s.report.sites[0].contains("_config.yml"),
            "{:?}",
            s.report.sites
        );
        assert_eq!(s.report.files, 4, "posts, the recipe and the about page");
        let l = links(&s.store);
        let report = "https://jekyll.example.org/blog/assets/report.pdf";
        assert_eq!(state(&l, report), State::Ok);
        // `{{ site.baseurl }}/assets/report.pdf` and `{% link assets/report.pdf %}`.
        assert_eq!(l[report].2.len(), 2);
        assert_eq!(state(&l, "post:_posts/2010-07-21-first.md"), State::Ok);
        assert_eq!(state(&l, "post:2011-11-11-never"), State::Broken);
        assert_eq!(state(&l, "post:_recipes/soup.md"), State::Ok);
        assert_eq!(state(&l, "post:assets/gone.pdf"), State::Broken);
        assert_eq!(
            state(&l, "https://jekyll.example.org/blog/assets/chart.png"),
            State::Ok
        );
        assert_eq!(
            state(&l, "https://jekyll.example.org/blog/about/"),
            State::Unchecked
        );
        for k in l.keys() {
            assert!(
                ![
                    "relref",
                    "layout.example",
                    "generated.example",
                    "excluded.example"
                ]
                .iter()
                .any(|x| k.contains(x)),
                "{k}"
            );
        }
    }

    /// A link to an archived copy (as `citewatch fix` writes them) is a fixed page: `ok` at scan
    /// time, with the reason, and never fetched; a Wayback listing is not a copy.
    #[test]
    fn links_to_archived_copies_are_ok_without_the_network() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("p.md"),
            "[copy](https://web.archive.org/web/20190325000000/https://example.org/x) and [all copies](https://web.archive.org/web/*/https://example.org/x)\n",
        )
        .unwrap();
        let s = scan_sources(vec![SourceConfig::bare(dir.path().to_path_buf())]);
        let l = links(&s.store);
        let copy = "https://web.archive.org/web/20190325000000/https://example.org/x";
        assert_eq!(state(&l, copy), State::Ok);
        let reason = l[copy].1.clone().unwrap_or_default();
        assert!(
            reason.contains("archived copy (Wayback Machine, 2019-03-25)")
                && reason.contains("not checked as a live one"),
            "{reason}"
        );
        let listing = "https://web.archive.org/web/*/https://example.org/x";
        assert_eq!(state(&l, listing), State::Unchecked);
        let due: Vec<String> = s
            .store
            .links_to_check(None)
            .unwrap()
            .into_iter()
            .map(|l| l.url)
            .collect();
        assert_eq!(due, [listing]);
    }

    /// Without any site or address, a file beside the post is still checked on disk.
    #[test]
    fn local_files_without_a_base_url() {
        let posts = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/posts");
        let s = scan_sources(vec![SourceConfig::bare(posts)]);
        assert!(s.report.sites.is_empty(), "{:?}", s.report.sites);
        let l = links(&s.store);
        assert_eq!(state(&l, "local:2024-05-01-link-rot/decay.png"), State::Ok);
    }

    /// A file added to the site, or a changed site config, is seen by the next scan.
    #[test]
    fn rescans_follow_the_sites_files_and_config() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("hugo");
        copy_dir(&site("hugo"), &root);
        let db = dir.path().join("c.db");
        let mut store = Store::open(&db).unwrap();
        let cfg = Config {
            sources: vec![SourceConfig::bare(root.clone())],
            ..Config::default()
        };
        let missing = "https://blog.example.org/2020/08/01/refs/missing.png";
        scan(&mut store, &cfg, now()).unwrap();
        assert_eq!(state(&links(&store), missing), State::Broken);
        std::fs::write(root.join("content/posts/2020-08-01-refs/missing.png"), "x").unwrap();
        let r = scan(&mut store, &cfg, now()).unwrap();
        assert_eq!(state(&links(&store), missing), State::Ok);
        assert!(
            r.read >= 1 && r.read < 4,
            "only posts citing site files: {}",
            r.read
        );
        std::fs::write(
            root.join("hugo.toml"),
            "baseURL = \"https://moved.example.org/\"\n",
        )
        .unwrap();
        let r = scan(&mut store, &cfg, now()).unwrap();
        assert_eq!(r.read, 4, "a new site config reads every post again");
        // Without `:filename` dates, Hugo keeps the folder name whole: `/posts/<folder>/`.
        assert!(links(&store)
            .contains_key("https://moved.example.org/posts/2020-08-01-refs/missing.png"));
    }
}
