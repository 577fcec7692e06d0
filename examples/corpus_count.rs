//! Counts what extraction finds in a folder of posts: citations by kind and unique HTTP(S) URLs,
//! and extraction speed. For checking extraction against a real blog:
//! `cargo run --release --example corpus_count -- ../shared/corpus/isotopp-blog [base_url]`

use std::collections::{BTreeMap, HashSet};
use std::time::Instant;

use citewatch::config::SourceConfig;
use citewatch::extract::{self, Options};
use citewatch::normalize::{self, Context, Target};

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(dir) = args.next() else {
        eprintln!("usage: corpus_count FOLDER [BASE_URL]");
        std::process::exit(1);
    };
    let base = args.next().and_then(|b| url::Url::parse(&b).ok());
    let src = SourceConfig::bare(dir.into());
    let (files, problems) = match citewatch::source::discover(&src) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    let texts: Vec<(String, String, extract::Format)> = files
        .iter()
        .filter_map(|f| {
            let b = citewatch::source::read(f).ok()?;
            let t = citewatch::source::decode(&f.rel_path, &b).ok()?;
            Some((f.rel_path.clone(), t.text, f.format))
        })
        .collect();
    let bytes: usize = texts.iter().map(|t| t.1.len()).sum();
    // The median of several passes over texts already in memory: the first pass also pays for
    // compiling patterns and warming caches.
    const PASSES: usize = 7;
    let mut times = Vec::with_capacity(PASSES);
    let mut all = Vec::new();
    for _ in 0..PASSES {
        let start = Instant::now();
        all = texts
            .iter()
            .map(|(path, text, format)| {
                (path, extract::extract(*format, text, &Options::default()))
            })
            .collect();
        times.push(start.elapsed().as_secs_f64());
    }
    let first = times[0];
    times.sort_by(f64::total_cmp);
    let secs = times[PASSES / 2];
    let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
    let mut unique = HashSet::new();
    let mut outcomes: BTreeMap<&str, usize> = BTreeMap::new();
    for (path, ex) in &all {
        let post_url = normalize::post_url(base.as_ref(), path, &ex.front, None);
        let ctx = Context {
            post_url: post_url.as_ref(),
            base_url: base.as_ref(),
        };
        for c in &ex.citations {
            *kinds.entry(c.kind.as_str()).or_default() += 1;
            match normalize::normalize(&c.target, c.kind, &ctx) {
                Target::Http { url, .. } => {
                    *outcomes.entry("http").or_default() += 1;
                    unique.insert(url.to_string());
                }
                Target::Post { .. } => *outcomes.entry("post").or_default() += 1,
                Target::Skipped { .. } => *outcomes.entry("skipped").or_default() += 1,
                Target::Invalid { .. } => *outcomes.entry("invalid").or_default() += 1,
            }
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
    println!("targets: {outcomes:?}");
    println!("{} unique http(s) URLs", unique.len());
    println!(
        "extraction: {:.3} s median of {PASSES} passes, {:.1} MB/s on one core (first pass {:.3} s, {:.1} MB/s)",
        secs,
        bytes as f64 / 1e6 / secs,
        first,
        bytes as f64 / 1e6 / first
    );
}
