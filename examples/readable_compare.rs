//! Readable text: `readable.rs` against dom_smoothie on the real saved pages of
//! `tests/fixtures/real` (the pages the verdict evidence serves), measured the same way for both:
//! extraction quality against each benchmark's own annotation, time per page, peak memory.
//!
//! ```text
//! cargo run --release --example readable_compare --features dom-smoothie   # both extractors
//! cargo run --release --example readable_compare --features dom-smoothie,trafilatura  # all three
//! cargo run --release --example readable_compare                            # readable.rs only
//! cargo run --release --example readable_compare --features dom-smoothie -- --pages  # per page
//! cargo run --release --example readable_compare --features dom-smoothie -- --show ID  # texts
//! ```
//!
//! Extractors: `readable.rs` is [`readable::readable_own`] (the whole hand-written read: title,
//! article, visible text, features); `dom_smoothie` and `trafilatura` are
//! `citewatch::readable::extractors::{smoothie, trafilatura}` on the same decoded and capped
//! input (the library alone); `readable()+smoothie` is what [`readable::readable`] costs with
//! the feature on (the walk for everything but the article, then the library for the article).
//!
//! Quality:
//! - tuning (Scrapinghub's article-extraction-benchmark): the truth is the whole article body.
//!   Token-level precision, recall and F1 per page over lowercased Unicode words (UAX #29) as
//!   multisets; mean and median over pages, pages under F1 0.5, pages with no text.
//! - held out (trafilatura's evaluation set): the truth is a few snippets per page, so token
//!   precision means nothing there. Measured as trafilatura measures itself: a `with` snippet
//!   found in the text is a true positive, one missing a false negative, a `without` snippet
//!   found (boilerplate: "Impressum", a date, a share button; `examples/data/heldout-without.json`,
//!   from the same commit of trafilatura as the fixture) a false positive. Per-page F1 from those
//!   counts, and the totals; token recall of the `with` snippets too.
//!
//! Speed: every page read by each extractor in turn (interleaved, so a busy neighbour on the
//! machine slows all alike), `--rounds N` times (5) after one warm-up round; a page's time is
//! its median over the rounds; mean and p95 over pages. Memory: each page's peak heap while an
//! extractor reads it, counted by this program's global allocator (exact, single-threaded).
//! Hostile pages: the four 10 MiB bodies of `tests/integration/hostile.rs`, read once by each
//! extractor, with their time and peak heap (`--no-hostile` skips them).

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::HashMap;
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use citewatch::readable;
use unicode_segmentation::UnicodeSegmentation;

/// One page of a vendored set, as `tests/fixtures/real/build.py` wrote it.
#[derive(serde::Deserialize)]
struct Saved {
    id: String,
    url: String,
    lang: String,
    html: String,
    truth: Vec<String>,
}

#[derive(serde::Deserialize)]
struct Without {
    without: HashMap<String, Vec<String>>,
}

const CT: Option<&str> = Some("text/html; charset=utf-8");

fn load(name: &str) -> Vec<Saved> {
    let path = format!(
        "{}/tests/fixtures/real/{name}.json.zst",
        env!("CARGO_MANIFEST_DIR")
    );
    let z = std::fs::read(&path).expect("vendored set");
    let json = zstd::decode_all(&z[..]).expect("zstd");
    serde_json::from_slice(&json).expect("json")
}

fn without() -> HashMap<String, Vec<String>> {
    let path = format!(
        "{}/examples/data/heldout-without.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let w: Without =
        serde_json::from_slice(&std::fs::read(path).expect("without snippets")).expect("json");
    w.without
}

/// An extractor: its name and the article text it reads from a page.
struct Extractor {
    name: &'static str,
    /// Measured for quality (an extractor whose text another already gives is timed only).
    quality: bool,
    run: fn(&[u8]) -> String,
}

fn extractors() -> Vec<Extractor> {
    // Pushed to only with the feature on.
    #[allow(unused_mut)]
    let mut v = vec![Extractor {
        name: "readable.rs",
        quality: true,
        run: |b| readable::readable_own(b, CT).text,
    }];
    #[cfg(feature = "dom-smoothie")]
    v.push(Extractor {
        name: "dom_smoothie",
        quality: true,
        run: |b| {
            let (decoded, _) = readable::decode(b, CT);
            citewatch::readable::extractors::smoothie(&readable::parse_input(&decoded))
                .unwrap_or_default()
        },
    });
    #[cfg(feature = "trafilatura")]
    v.push(Extractor {
        name: "trafilatura",
        quality: true,
        run: |b| {
            let (decoded, _) = readable::decode(b, CT);
            citewatch::readable::extractors::trafilatura(&readable::parse_input(&decoded))
                .unwrap_or_default()
        },
    });
    #[cfg(any(feature = "dom-smoothie", feature = "trafilatura"))]
    v.push(Extractor {
        name: if cfg!(feature = "dom-smoothie") {
            "readable()+smoothie"
        } else {
            "readable()+trafilat."
        },
        quality: false,
        run: |b| readable::readable(b, CT).text,
    });
    v
}

fn words(s: &str) -> HashMap<String, usize> {
    let mut m = HashMap::new();
    for w in s.unicode_words() {
        *m.entry(w.to_lowercase()).or_insert(0) += 1;
    }
    m
}

/// Token-level (precision, recall, F1) of `pred` against `truth`, words as multisets.
fn prf(pred: &str, truth: &str) -> (f64, f64, f64) {
    let (p, t) = (words(pred), words(truth));
    let common: usize = p
        .iter()
        .map(|(w, n)| (*n).min(t.get(w).copied().unwrap_or(0)))
        .sum();
    let (np, nt) = (p.values().sum::<usize>(), t.values().sum::<usize>());
    let precision = if np == 0 {
        0.0
    } else {
        common as f64 / np as f64
    };
    let recall = if nt == 0 {
        0.0
    } else {
        common as f64 / nt as f64
    };
    (precision, recall, f1(precision, recall))
}

fn f1(p: f64, r: f64) -> f64 {
    if p + r == 0.0 {
        0.0
    } else {
        2.0 * p * r / (p + r)
    }
}

fn norm(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len().max(1) as f64
}

/// The `q` quantile (nearest rank) of `v`.
fn quantile(v: &[f64], q: f64) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    if s.is_empty() {
        return 0.0;
    }
    let i = ((q * s.len() as f64).ceil() as usize).clamp(1, s.len()) - 1;
    s[i]
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    match s.len() {
        0 => 0.0,
        n if n % 2 == 1 => s[n / 2],
        n => (s[n / 2 - 1] + s[n / 2]) / 2.0,
    }
}

/// Quality on the tuning set: the truth is the whole article.
fn tuning(pages: &[Saved], ex: &[&Extractor], per_page: bool) {
    println!("\n== tuning (Scrapinghub): {} pages, truth = the whole article body; token-level P/R/F1 per page", pages.len());
    println!(
        "{:<14} {:>7} {:>7} {:>7} {:>9} {:>8} {:>6}",
        "extractor", "mean P", "mean R", "mean F1", "median F1", "F1 < 0.5", "empty"
    );
    let mut rows: Vec<Vec<(f64, f64, f64)>> = Vec::new();
    for e in ex {
        let texts: Vec<String> = pages.iter().map(|p| (e.run)(p.html.as_bytes())).collect();
        let scores: Vec<(f64, f64, f64)> = texts
            .iter()
            .zip(pages)
            .map(|(t, p)| prf(t, &p.truth.concat()))
            .collect();
        let empty = texts.iter().filter(|t| t.trim().is_empty()).count();
        let f: Vec<f64> = scores.iter().map(|s| s.2).collect();
        println!(
            "{:<14} {:>7.3} {:>7.3} {:>7.3} {:>9.3} {:>8} {:>6}",
            e.name,
            mean(&scores.iter().map(|s| s.0).collect::<Vec<_>>()),
            mean(&scores.iter().map(|s| s.1).collect::<Vec<_>>()),
            mean(&f),
            median(&f),
            f.iter().filter(|x| **x < 0.5).count(),
            empty
        );
        rows.push(scores);
    }
    if per_page {
        print!("\n{:<18} {:<5}", "page", "lang");
        for e in ex {
            print!(" {:>20}", format!("{} P/R/F1", e.name));
        }
        println!();
        for (i, p) in pages.iter().enumerate() {
            print!("{:<18} {:<5}", p.id, p.lang);
            for r in &rows {
                let (a, b, c) = r[i];
                print!(" {:>20}", format!("{a:.2}/{b:.2}/{c:.2}"));
            }
            println!();
        }
    }
}

/// Quality on the held-out set: the truth is snippets that must (`with`) and must not
/// (`without`) be in the text, as trafilatura evaluates itself.
fn heldout(pages: &[Saved], ex: &[&Extractor], per_page: bool) {
    let without = without();
    println!(
        "\n== held out (trafilatura): {} pages, truth = snippets ({} with, {} without); per-page F1 from snippet counts",
        pages.len(),
        pages.iter().map(|p| p.truth.len()).sum::<usize>(),
        pages
            .iter()
            .map(|p| without.get(&p.url).map_or(0, Vec::len))
            .sum::<usize>()
    );
    println!(
        "{:<14} {:>9} {:>12} {:>7} {:>7} {:>7} {:>9} {:>8} {:>10} {:>6}",
        "extractor",
        "with found",
        "without found",
        "P",
        "R",
        "F1",
        "median F1",
        "F1 < 0.5",
        "tok recall",
        "empty"
    );
    let mut rows: Vec<Vec<(usize, usize, usize, f64)>> = Vec::new();
    for e in ex {
        let (mut tp, mut fp, mut fn_) = (0, 0, 0);
        let mut per = Vec::new();
        let mut recalls = Vec::new();
        let mut empty = 0;
        for p in pages {
            let raw = (e.run)(p.html.as_bytes());
            if raw.trim().is_empty() {
                empty += 1;
            }
            let text = norm(&raw);
            let (mut t, mut f, mut n) = (0, 0, 0);
            for w in &p.truth {
                if text.contains(&norm(w)) {
                    t += 1;
                } else {
                    n += 1;
                }
            }
            for w in without.get(&p.url).into_iter().flatten() {
                if text.contains(&norm(w)) {
                    f += 1;
                }
            }
            let precision = if t + f == 0 {
                0.0
            } else {
                t as f64 / (t + f) as f64
            };
            let recall = t as f64 / (t + n).max(1) as f64;
            per.push((t, f, n, f1(precision, recall)));
            recalls.push(prf(&raw, &p.truth.join("\n")).1);
            tp += t;
            fp += f;
            fn_ += n;
        }
        let precision = tp as f64 / (tp + fp).max(1) as f64;
        let recall = tp as f64 / (tp + fn_).max(1) as f64;
        let f: Vec<f64> = per.iter().map(|x| x.3).collect();
        println!(
            "{:<14} {:>9} {:>12} {:>7.3} {:>7.3} {:>7.3} {:>9.3} {:>8} {:>10.3} {:>6}",
            e.name,
            format!("{tp}/{}", tp + fn_),
            format!("{fp}/{}", without.values().map(Vec::len).sum::<usize>()),
            precision,
            recall,
            f1(precision, recall),
            median(&f),
            f.iter().filter(|x| **x < 0.5).count(),
            mean(&recalls),
            empty
        );
        rows.push(per);
    }
    println!("(P, R, F1: over all snippets of the set; median F1 and F1 < 0.5: per page)");
    if per_page {
        print!("\n{:<40} {:<5}", "page", "lang");
        for e in ex {
            print!(" {:>22}", format!("{} with/without/F1", e.name));
        }
        println!();
        for (i, p) in pages.iter().enumerate() {
            print!("{:<40} {:<5}", p.id, p.lang);
            for r in &rows {
                let (t, f, n, x) = r[i];
                print!(" {:>22}", format!("{t}/{}  {f}  {x:.2}", t + n));
            }
            println!();
        }
    }
}

/// Time per page of each extractor, interleaved, median of `rounds` per page.
fn speed(pages: &[&Saved], ex: &[Extractor], rounds: usize) {
    let mut times: Vec<Vec<Vec<f64>>> = vec![vec![Vec::new(); pages.len()]; ex.len()];
    for round in 0..=rounds {
        for (i, p) in pages.iter().enumerate() {
            for (j, e) in ex.iter().enumerate() {
                let t = Instant::now();
                black_box((e.run)(black_box(p.html.as_bytes())));
                let ms = t.elapsed().as_secs_f64() * 1000.0;
                if round > 0 {
                    times[j][i].push(ms);
                }
            }
        }
    }
    let kb: Vec<f64> = pages.iter().map(|p| p.html.len() as f64 / 1024.0).collect();
    println!(
        "\n== speed: {} pages (HTML {:.0} KiB mean, {:.0} KiB max), {rounds} rounds after a warm-up, a page's time = its median",
        pages.len(),
        mean(&kb),
        quantile(&kb, 1.0)
    );
    println!(
        "{:<20} {:>9} {:>9} {:>9} {:>9} {:>10}",
        "extractor", "mean ms", "median ms", "p95 ms", "max ms", "MiB/s"
    );
    for (j, e) in ex.iter().enumerate() {
        let per: Vec<f64> = times[j].iter().map(|t| median(t)).collect();
        let total_ms: f64 = per.iter().sum();
        let mib: f64 = pages.iter().map(|p| p.html.len() as f64).sum::<f64>() / (1 << 20) as f64;
        println!(
            "{:<20} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>10.1}",
            e.name,
            mean(&per),
            median(&per),
            quantile(&per, 0.95),
            quantile(&per, 1.0),
            mib / (total_ms / 1000.0)
        );
    }
}

/// Heap bytes live now and at most since the last [`Counting::reset`]: the global allocator of
/// this program, so a page's peak heap is measured exactly (the allocator's own retention and
/// the pages loaded aside).
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is passed on to the system allocator unchanged; only counters are added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract, passed on.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract, passed on.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller's contract, passed on.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            if new_size >= layout.size() {
                let grow = new_size - layout.size();
                let now = LIVE.fetch_add(grow, Ordering::Relaxed) + grow;
                PEAK.fetch_max(now, Ordering::Relaxed);
            } else {
                LIVE.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
            }
        }
        p
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

impl Counting {
    /// The heap live now; the peak restarts from it.
    fn reset() -> usize {
        let now = LIVE.load(Ordering::Relaxed);
        PEAK.store(now, Ordering::Relaxed);
        now
    }

    fn peak() -> usize {
        PEAK.load(Ordering::Relaxed)
    }
}

/// Each page's peak heap while one extractor reads it (above the heap live before), per
/// extractor: mean, p95 and max over the pages.
fn memory(pages: &[&Saved], ex: &[Extractor]) {
    println!(
        "\n== memory: a page's peak heap while it is read (bytes allocated and not yet freed, above those live before; counted by this program's allocator)"
    );
    println!(
        "{:<20} {:>9} {:>9} {:>9} {:>12}",
        "extractor", "mean MiB", "p95 MiB", "max MiB", "max / HTML"
    );
    for e in ex {
        let mut per = Vec::new();
        let mut ratio: f64 = 0.0;
        for p in pages {
            let before = Counting::reset();
            black_box((e.run)(black_box(p.html.as_bytes())));
            let peak = Counting::peak().saturating_sub(before) as f64;
            ratio = ratio.max(peak / p.html.len() as f64);
            per.push(peak / (1 << 20) as f64);
        }
        println!(
            "{:<20} {:>9.2} {:>9.2} {:>9.2} {:>11.0}x",
            e.name,
            mean(&per),
            quantile(&per, 0.95),
            quantile(&per, 1.0),
            ratio
        );
    }
}

/// Pseudo-random words, one space apart, no line break: `len` bytes (as `hostile.rs` builds).
fn one_long_line(len: usize) -> String {
    let mut s = String::with_capacity(len + 16);
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15 ^ 1;
    while s.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let n = 3 + (x % 7) as usize;
        for i in 0..n {
            s.push((b'a' + ((x >> (i * 5)) % 26) as u8) as char);
        }
        s.push(' ');
    }
    s
}

/// The four hostile bodies of `tests/integration/hostile.rs` (10 MiB each), read once by each
/// extractor: time and peak heap.
fn hostile(ex: &[Extractor]) {
    const TEN_MIB: usize = 10 << 20;
    let pages: Vec<(&str, Vec<u8>)> = vec![
        ("10 MiB of NUL", vec![0u8; TEN_MIB]),
        (
            "10 MiB, no line break",
            format!(
                "<html><head><title>Line</title></head><body><p>{}</p></body></html>",
                one_long_line(TEN_MIB - 100)
            )
            .into_bytes(),
        ),
        (
            "10 MiB of 'a '",
            format!(
                "<html><head><title>Letters</title></head><body><p>{}</p></body></html>",
                "a ".repeat(TEN_MIB / 2 - 60)
            )
            .into_bytes(),
        ),
        (
            "100,000 nested divs",
            format!(
                "<html><head><title>Nested</title></head><body>{}deep text here{}</body></html>",
                "<div>".repeat(100_000),
                "</div>".repeat(100_000)
            )
            .into_bytes(),
        ),
    ];
    println!("\n== hostile pages (as tests/integration/hostile.rs serves them): one read each, time and peak heap");
    println!(
        "{:<22} {:<20} {:>9} {:>10} {:>11}",
        "page", "extractor", "ms", "peak MiB", "text bytes"
    );
    for (name, body) in &pages {
        for e in ex {
            let before = Counting::reset();
            let t = Instant::now();
            let text = black_box((e.run)(black_box(body)));
            let ms = t.elapsed().as_secs_f64() * 1000.0;
            let peak = Counting::peak().saturating_sub(before) as f64 / (1 << 20) as f64;
            println!(
                "{:<22} {:<20} {:>9.0} {:>10.1} {:>11}",
                name,
                e.name,
                ms,
                peak,
                text.len()
            );
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let per_page = args.iter().any(|a| a == "--pages");
    let rounds = args
        .iter()
        .position(|a| a == "--rounds")
        .and_then(|i| args.get(i + 1)?.parse().ok())
        .unwrap_or(5);
    let ex = extractors();
    let quality: Vec<&Extractor> = ex.iter().filter(|e| e.quality).collect();
    let (t, h) = (load("tuning"), load("heldout"));
    if let Some(id) = args
        .iter()
        .position(|a| a == "--show")
        .and_then(|i| args.get(i + 1))
    {
        // Each extractor's text of the pages whose id holds `id`, with the truth.
        for p in t.iter().chain(&h).filter(|p| p.id.contains(id.as_str())) {
            println!(
                "==== {} ({})\n-- truth:\n{}",
                p.id,
                p.url,
                p.truth.join("\n")
            );
            for e in &quality {
                println!("-- {}:\n{}", e.name, (e.run)(p.html.as_bytes()));
            }
        }
        return;
    }
    println!(
        "readable text of the real pages: {}",
        match (
            cfg!(feature = "dom-smoothie"),
            cfg!(feature = "trafilatura")
        ) {
            (true, true) => "readable.rs, dom_smoothie and trafilatura",
            (true, false) => "readable.rs and dom_smoothie",
            (false, true) => "readable.rs and trafilatura",
            (false, false) => "readable.rs only (build with --features dom-smoothie for both)",
        }
    );
    tuning(&t, &quality, per_page);
    heldout(&h, &quality, per_page);
    let all: Vec<&Saved> = t.iter().chain(&h).collect();
    speed(&all, &ex, rounds);
    memory(&all, &ex);
    if !args.iter().any(|a| a == "--no-hostile") {
        hostile(&ex);
    }
}
