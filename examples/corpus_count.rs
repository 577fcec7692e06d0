//! Counts what a scan finds in a folder of posts, without a database or the network: the site
//! config it uses, citations by kind, how references to other posts and local files come out,
//! unique HTTP(S) URLs, quotes, and extraction speed. For checking extraction against a real
//! blog: `cargo run --release --example corpus_count -- ../shared/corpus/isotopp-blog [base_url]`

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use citewatch::config::{CheckConfig, SourceConfig};
use citewatch::extract::{self, Options};
use citewatch::site::{self, view::View};
use citewatch::state::State;

/// The seed post of the project: it cites exactly four URLs, each followed by a quote.
const SEED: &str = "2019-03-25-sell-to-users/index.md";

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(dir) = args.next() else {
        eprintln!("usage: corpus_count FOLDER [BASE_URL]");
        std::process::exit(1);
    };
    let mut src = SourceConfig::bare(dir.into());
    src.base_url = args.next().and_then(|b| url::Url::parse(&b).ok());
    let (layout, site_error) = site::load::locate(&src.path);
    if let Some(e) = site_error {
        eprintln!("{e}");
    }
    match &layout.site {
        Some(s) => println!(
            "site config: {} {} ({})",
            s.config.generator().as_str(),
            s.config_files
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
            s.config.summary()
        ),
        None => println!("site config: none"),
    }
    let (files, problems) = match citewatch::source::discover_in(&src, &layout.scope()) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    let site_base = layout.site.as_ref().and_then(|s| s.config.base_url());
    let listing = site::load::list_files(&layout.files_root);
    let posts: Vec<String> = files.iter().map(|f| f.rel_path.clone()).collect();
    let files_root = layout.files_root.clone();
    let view = View::new(&src, layout, &listing, &posts);
    // Another post's anchors, read as the scan reads them (here without a cache).
    let other_post = |p: &str| {
        citewatch::source::read_under(&files_root, p)
            .ok()
            .map(|t| std::sync::Arc::new(view.post_anchors(p, &t.text)))
    };
    let texts: Vec<(
        String,
        citewatch::source::PostText,
        extract::Format,
        Vec<u8>,
    )> = files
        .iter()
        .filter_map(|f| {
            let b = citewatch::source::read(f).ok()?;
            let t = citewatch::source::decode(&f.rel_path, &b).ok()?;
            Some((f.rel_path.clone(), t, f.format, b))
        })
        .collect();
    let bytes: usize = texts.iter().map(|t| t.3.len()).sum();
    // The median of several passes over texts already in memory: the first pass also pays for
    // compiling patterns and warming caches.
    const PASSES: usize = 7;
    let opts: &Options = view.options();
    let mut times = Vec::with_capacity(PASSES);
    for _ in 0..PASSES {
        let start = Instant::now();
        for (_, text, format, _) in &texts {
            std::hint::black_box(extract::extract(*format, &text.text, opts));
        }
        times.push(start.elapsed().as_secs_f64());
    }
    let first = times[0];
    times.sort_by(f64::total_cmp);
    let secs = times[PASSES / 2];

    let check = CheckConfig::default();
    let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
    let mut outcomes: BTreeMap<&str, usize> = BTreeMap::new();
    let mut unique_http = BTreeSet::new();
    let mut refs_ok = BTreeSet::new();
    let mut refs_broken = BTreeSet::new();
    let (mut ref_citations_ok, mut ref_citations_broken) = (0, 0);
    let (mut local_ok, mut local_missing) = (0, 0);
    let mut local_examples = Vec::new();
    let (mut quotes, mut spans_checked, mut spans_bad) = (0, 0, 0);
    let (mut fragments, mut text_fragments) = (0, 0);
    let mut blog_anchors: BTreeMap<&str, usize> = BTreeMap::new();
    let mut blog_anchor_problems = Vec::new();
    // Bundle files checked against an independent reading of the folder name
    // (`YYYY-MM-DD-slug` published at `/YYYY/MM/DD/slug/`), for posts whose front matter does
    // not move them.
    let (mut bundle_right, mut bundle_other) = (0, Vec::new());
    for (path, text, format, raw) in &texts {
        let (_, citations, _) = view.post_citations(&check, path, *format, text, &other_post);
        for c in &citations {
            if let Some(f) = &c.fragment {
                fragments += 1;
                text_fragments += usize::from(f.contains(":~:"));
                if c.link.starts_with("post:") {
                    let state = c.static_verdict.as_ref().map_or(State::Unchecked, |v| v.0);
                    let reason = c
                        .static_verdict
                        .as_ref()
                        .map(|v| v.1.clone())
                        .unwrap_or_default();
                    *blog_anchors.entry(state.as_str()).or_default() += 1;
                    if state != State::Ok {
                        blog_anchor_problems.push(format!("{path}:{}: #{f}: {reason}", c.line));
                    }
                }
            }
            *kinds.entry(c.kind.clone()).or_default() += 1;
            quotes += usize::from(c.quote.is_some());
            // A span is the target as written: a slice of the file's bytes.
            if let Some((a, b)) = c.span {
                spans_checked += 1;
                if raw.get(a as usize..b as usize).is_none() {
                    spans_bad += 1;
                }
            }
            let verdict = c.static_verdict.as_ref();
            let reason = verdict.map(|v| v.1.as_str()).unwrap_or("");
            if c.link.starts_with("post:") {
                if verdict.is_some_and(|v| v.0 == State::Ok) {
                    refs_ok.insert(c.link.clone());
                    ref_citations_ok += 1;
                } else {
                    refs_broken.insert(c.link.clone());
                    ref_citations_broken += 1;
                }
                *outcomes.entry("post reference").or_default() += 1;
            } else if reason.starts_with("local file") || reason.starts_with("no file") {
                if let (Some(base), Some((folder, "index.md"))) = (
                    src.base_url.as_ref().or(site_base.as_ref()),
                    path.rsplit_once('/')
                        .map(|(d, f)| (d.rsplit('/').next().unwrap_or(d), f)),
                ) {
                    let b = folder.as_bytes();
                    let moved = text.text.contains("\nslug:") || text.text.contains("\nurl:");
                    if folder.len() > 11 && b[4] == b'-' && b[7] == b'-' && b[10] == b'-' && !moved
                    {
                        let want = format!(
                            "{base}{}/{}/{}/{}/{}",
                            &folder[..4],
                            &folder[5..7],
                            &folder[8..10],
                            &folder[11..],
                            c.raw.trim_start_matches("./")
                        );
                        if c.link == want {
                            bundle_right += 1;
                        } else {
                            bundle_other.push(format!("{} (expected {want})", c.link));
                        }
                    }
                }
                if verdict.is_some_and(|v| v.0 == State::Ok) {
                    local_ok += 1;
                    if c.raw.ends_with("cvs-013.gif") || local_examples.is_empty() {
                        local_examples.push(format!("{path}: {} → {} ({reason})", c.raw, c.link));
                    }
                } else {
                    local_missing += 1;
                    if c.raw.ends_with("cvs-013.gif") {
                        local_examples.push(format!("{path}: {} → {} ({reason})", c.raw, c.link));
                    }
                }
                *outcomes.entry("local file").or_default() += 1;
            } else if let Some((state, _)) = verdict {
                *outcomes.entry(state.as_str()).or_default() += 1;
            } else {
                *outcomes.entry("http").or_default() += 1;
                unique_http.insert(c.link.clone());
            }
        }
        if path.ends_with(SEED) {
            let fetched: Vec<&str> = citations
                .iter()
                .filter(|c| c.static_verdict.is_none())
                .map(|c| c.link.as_str())
                .collect();
            let quoted = citations.iter().filter(|c| c.quote.is_some()).count();
            println!(
                "seed post {path}: {} URLs, {quoted} with a quote: {fetched:#?}",
                fetched.len()
            );
        }
    }
    let total: usize = kinds.values().sum();
    println!(
        "{} files ({} problems), {:.1} MB",
        texts.len(),
        problems.len(),
        bytes as f64 / 1e6
    );
    println!("{total} citations: {kinds:?}");
    println!("outcomes: {outcomes:?}");
    println!(
        "fragments: {fragments} citations carry one ({text_fragments} text fragments); \
         anchors inside the blog: {blog_anchors:?}"
    );
    for p in &blog_anchor_problems {
        println!("  anchor: {p}");
    }
    println!(
        "post references: {} links ok ({ref_citations_ok} citations), {} links broken ({ref_citations_broken} citations)",
        refs_ok.len(),
        refs_broken.len()
    );
    for b in refs_broken.iter().take(10) {
        println!("  broken: {b}");
    }
    println!("local files: {local_ok} found on disk, {local_missing} missing");
    for e in local_examples.iter().take(3) {
        println!("  e.g. {e}");
    }
    println!(
        "bundle files at their published URL: {bundle_right} as the folder name says, {} otherwise",
        bundle_other.len()
    );
    for o in bundle_other.iter().take(5) {
        println!("  {o}");
    }
    println!("{} unique http(s) URLs to fetch", unique_http.len());
    println!(
        "{quotes} citations with a quote; {spans_checked} spans, {spans_bad} outside their file"
    );
    println!(
        "extraction: {:.3} s median of {PASSES} passes, {:.1} MB/s on one core (first pass {:.3} s, {:.1} MB/s)",
        secs,
        bytes as f64 / 1e6 / secs,
        first,
        bytes as f64 / 1e6 / first
    );
}
