//! The verdict on one check: the one entry point the pipeline calls with everything known about
//! a fetched page (the link's baseline, its volatile lines, what the site's other pages and its
//! not-found probe look like, the passages the posts quote), returning the classification context,
//! the verdict and what was learned for next time.
//!
//! Order of the judgement, most specific first: what the redirect chain reached (front page,
//! index, login, search, not-found path); a page that cannot be judged (script shell, region
//! wall); what the page itself shows (the site's not-found page by the probe, a removal notice, a
//! login form, an index of teasers, a search page); a quoted passage gone; a notice, a paywall or
//! another article; then the similarity of the article's core to the baseline's.
//!
//! Pure: values in, values out; no I/O, no clock. Never panics on any body.

use std::collections::HashSet;

use crate::classify::{self, Context, Verdict, CHANGED_BELOW};
use crate::drift::{self, Facts, SiteMemory};
use crate::fetch::{Fetched, Response};
use crate::quote::{self, Haystack, Standing};
use crate::readable::{self, Page};
use crate::rows::Probe;
use crate::state::State;

/// The archived as-cited page of a link.
#[derive(Debug, Clone, Copy, Default)]
pub struct Baseline<'a> {
    pub title: Option<&'a str>,
    /// Its readable text (as [`readable::readable`] extracts it now).
    pub text: &'a str,
}

/// Everything the judgement reads.
#[derive(Debug, Clone, Copy)]
pub struct Input<'a> {
    pub fetched: &'a Fetched,
    /// The link's baseline, when it has one.
    pub baseline: Option<Baseline<'a>>,
    /// The body is byte-identical to the baseline's (same content hash): nothing to compare.
    pub unchanged: bool,
    /// The current body read by [`readable::readable`], when the caller has it already; else it
    /// is read here from the body, only when the judgement needs it.
    pub current: Option<&'a Page>,
    /// The link's volatile line keys (`links.volatile`), once learned.
    pub volatile: Option<&'a [u64]>,
    /// What is remembered of the link's site (origin): see [`SiteMemory`].
    pub site: &'a SiteMemory,
    /// The site's answer for a path that cannot exist, when probed.
    pub probe: Option<&'a Probe>,
    /// The passages the link's citations quote.
    pub quotes: &'a [&'a str],
}

/// The judgement, and what to keep from it.
#[derive(Debug, Clone)]
pub struct Judgement {
    pub verdict: Verdict,
    pub context: Context,
    /// Volatile line keys learned by this check (only when the link had none and the page was
    /// found the same): keep with the link.
    pub volatile: Option<Vec<u64>>,
    /// The site's memory with this page remembered, when it changed: keep for the origin.
    pub site: Option<SiteMemory>,
}

/// A baseline with fewer words than this was not an article (a shell, a stub): a page that
/// cannot be judged now is no loss against it.
const ARTICLE_WORDS: usize = 50;

/// A page with fewer readable words than this and little visible text is a script shell.
const SHELL_WORDS: usize = 5;

/// ...and at most this many visible words in all (a `<noscript>` line, a loading message).
const SHELL_VISIBLE_WORDS: usize = 40;

/// A page's core (article without boilerplate) under this many words is thin: with a removal,
/// not-found, login or search sign, a not-found page. Real articles are longer; not-found pages
/// with their suggestions and "latest news" are shorter.
const THIN_WORDS: usize = 120;

/// A page judged a not-found page by what it shows (the probe, a removal notice, a login form,
/// an index, a search page) has lost at least this much of its baseline: not-found pages share
/// next to nothing with the article they replace (0.00–0.01 on the corpus), while a short real
/// page with a rotating box may drift to 0.8 and must not become a removal notice for a phrase.
const NOT_FOUND_BELOW: f64 = 0.5;

/// This many teaser cards and a thin core: an index page (section, tag, archive, front page).
const INDEX_CARDS: usize = 4;

/// With a redirect to the path above: this many cards already make an index.
const INDEX_LIKE_CARDS: usize = 3;

/// Mutual similarity of the cores above which a page is the site's answer for a missing path.
/// The not-found page under another path differs by the path it repeats (left out) and a
/// rotating box or two; an article differs by its whole text.
const PROBE_ALIKE: f64 = 0.7;

/// A correction notice new in the article counts as a change when the article also lost at
/// least this much (the corrected conclusion); a retraction counts whatever is left.
const NOTICE_BELOW: f64 = 0.97;

/// A subscription wall cut the article when its first part stands (at least `HEAD_STANDS` of
/// the first `HEAD_PART` of the baseline) and its last part is gone (under `TAIL_GONE` of the
/// last `TAIL_PART`).
const HEAD_PART: f64 = 0.25;
const HEAD_STANDS: f64 = 0.8;
const TAIL_PART: f64 = 0.4;
const TAIL_GONE: f64 = 0.3;

/// Titles sharing less than this (Jaccard of their words) name different articles; with the
/// core under [`ANOTHER_BELOW`] the URL now shows another article.
const TITLE_ALIKE: f64 = 0.3;
const ANOTHER_BELOW: f64 = 0.9;

/// Judges one check. See the module documentation for the order of the rules.
pub fn judge(input: &Input<'_>) -> Judgement {
    let f = input.fetched;
    let r = match &f.outcome {
        Ok(r) if (200..300).contains(&r.status) => r,
        _ => return plain(f, Context::default()),
    };
    if input.unchanged {
        return judge_unchanged(input, r);
    }
    let page = current_page(input, r);
    let page = &*page;
    let volatile: HashSet<u64> = input.volatile.into_iter().flatten().copied().collect();
    let cmp = Comparison::new(input, page, &volatile);
    // The parsed title: the cheap scan of `title_of` stops at 64 KiB, and real heads full of
    // inline scripts put the title further in (nypost.com: 95 KB).
    let title = page
        .title
        .clone()
        .or_else(|| readable::title_of(&r.body, r.header("content-type")));
    let heading = [title.as_deref(), page.features.h1.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join("\n");

    let mut ctx = Context {
        similarity: cmp.similarity,
        index_like: page.features.cards >= INDEX_LIKE_CARDS || cmp.thin,
        ..Context::default()
    };
    let mut learned = None;
    if input.volatile.is_none() && cmp.matches {
        if let Some(b) = input.baseline {
            learned = Some(drift::volatile_lines(b.text, &page.text));
        }
    }
    ctx.unjudgeable = unjudgeable(page, &cmp);

    // What the page itself shows, when it has lost what was cited (or nothing was archived); a
    // title or heading saying the page is gone counts with any loss a rewrite would show (the
    // template's own prose, read as article, can keep a gone page above half its baseline).
    let heading_gone = classify::says_not_found(&heading)
        || classify::phrase_in(&heading, classify::REMOVED_PHRASES).is_some();
    let lost = cmp
        .similarity
        .is_none_or(|s| s < NOT_FOUND_BELOW || (s < CHANGED_BELOW && heading_gone && cmp.short()));
    if lost && ctx.unjudgeable.is_none() {
        let short = cmp.short();
        ctx.looks_like_probe = input
            .probe
            .and_then(|p| looks_like_probe(p, f, r, &cmp.cur_core, &volatile, &cmp.boiler_used));
        ctx.not_found = not_found_sign(input, page, &cmp, &heading, short);
    }

    // The passages the posts quote.
    quotes_into(&mut ctx, input.quotes, &page.text, Some(&page.visible));

    // Changes the similarity alone does not show.
    if let (Some(b), Some(base_core), Some(sim)) = (input.baseline, &cmp.base_core, cmp.similarity)
    {
        ctx.changed = changed_beyond_similarity(
            b,
            base_core,
            &cmp.cur_core,
            &page.visible,
            sim,
            title.as_deref(),
        );
    }

    let verdict = classify::classify(f, &ctx);
    let site = remember(input, &cmp, page, &verdict);
    Judgement {
        verdict,
        context: ctx,
        volatile: learned,
        site,
    }
}

/// The very page archived as the baseline: only the quotes can have moved (a post may quote it
/// anew). The same rule as on every check: a passage missing from the article may stand
/// elsewhere on the page (a pull quote, a caption), so the page is read for its visible text
/// then, and only then.
fn judge_unchanged(input: &Input<'_>, r: &Response) -> Judgement {
    let mut ctx = Context {
        similarity: input.baseline.map(|_| 1.0),
        ..Context::default()
    };
    if let Some(b) = input.baseline {
        let article = Haystack::new(b.text);
        if input
            .quotes
            .iter()
            .any(|q| quote::check_in(q, &article).is_missing())
        {
            let page = current_page(input, r);
            quotes_into(&mut ctx, input.quotes, b.text, Some(&page.visible));
        }
    }
    plain(input.fetched, ctx)
}

/// The body read by [`readable::readable`]: as the caller read it, or read here.
fn current_page<'a>(input: &Input<'a>, r: &Response) -> std::borrow::Cow<'a, Page> {
    match input.current {
        Some(p) => std::borrow::Cow::Borrowed(p),
        None => std::borrow::Cow::Owned(readable::readable(&r.body, r.header("content-type"))),
    }
}

/// The page's article compared with the baseline's: both cores (without the link's volatile
/// lines and, when it can be left out, the site's boilerplate), each made once, and what
/// follows from them.
struct Comparison<'p> {
    /// The page's identity in its site's memory.
    this: u64,
    /// The page's text with its lines' facts.
    facts: Facts<'p>,
    /// The boilerplate left out of both cores (empty when it is not applied).
    boiler_used: HashSet<u32>,
    cur_core: String,
    base_core: Option<String>,
    similarity: Option<f64>,
    /// The article is still the one cited (the similarity is at least [`CHANGED_BELOW`]).
    matches: bool,
    /// The page's core is under [`THIN_WORDS`].
    thin: bool,
    /// The baseline was an article (at least [`ARTICLE_WORDS`]).
    base_article: bool,
}

impl<'p> Comparison<'p> {
    fn new(input: &Input<'_>, page: &'p Page, volatile: &HashSet<u64>) -> Comparison<'p> {
        let this = drift::page_key(input.fetched.url.as_str());
        let mut sources: Vec<&str> = Vec::new();
        if let Some(t) = input.probe.and_then(|p| p.text.as_deref()) {
            sources.push(t);
        }
        if let Some(b) = input.baseline {
            sources.push(b.text);
        }
        let boiler = input.site.boilerplate(this, &sources);
        // The page's lines are read once (their facts are the costly part of a first check)
        // for its core and for the site's memory of it; each core is made once.
        let facts = Facts::of(&page.text);
        // Boilerplate is left out of both sides or neither: decided on the baseline when there
        // is one (a baseline that would keep too little is a page shared under two URLs, not
        // chrome).
        let reference_core = match input.baseline {
            _ if boiler.is_empty() => None,
            Some(b) => core_without_boilerplate(&Facts::of(b.text), volatile, &boiler),
            None => core_without_boilerplate(&facts, volatile, &boiler),
        };
        let boiler_used = if reference_core.is_some() {
            boiler
        } else {
            HashSet::new()
        };
        let (cur_core, base_core) = match (input.baseline, reference_core) {
            (None, Some(core)) => (core, None),
            (Some(_), Some(core)) => (drift::core_of(&facts, volatile, &boiler_used), Some(core)),
            (b, None) => (
                drift::core_of(&facts, volatile, &boiler_used),
                b.map(|b| drift::core(b.text, volatile, &boiler_used)),
            ),
        };
        let similarity = base_core
            .as_deref()
            .map(|b| drift::similarity(b, &cur_core));
        let thin = drift::word_count(&cur_core) < THIN_WORDS;
        Comparison {
            this,
            facts,
            boiler_used,
            matches: similarity.is_some_and(|s| s >= CHANGED_BELOW),
            similarity,
            thin,
            base_article: input
                .baseline
                .is_some_and(|b| drift::word_count(b.text) >= ARTICLE_WORDS),
            cur_core,
            base_core,
        }
    }

    /// What the page adds to the baseline's text is short: a not-found, removal or login text
    /// in the site's unchanged template adds little of its own, however much chrome is around
    /// it (real templates keep 150 to 1,500 words of menus, teasers and footers that the site's
    /// memory may not have learned yet).
    fn short(&self) -> bool {
        self.thin
            || self.base_core.as_deref().is_some_and(|b| {
                drift::word_count(&drift::new_lines(b, &self.cur_core).join("\n")) < THIN_WORDS
            })
    }
}

/// Why a page cannot be judged from here: a script shell where an article was, or a region wall.
fn unjudgeable(page: &Page, cmp: &Comparison) -> Option<String> {
    let shell = page.is_html
        && page.features.words < SHELL_WORDS
        && page.features.visible_words <= SHELL_VISIBLE_WORDS
        && !cmp.matches;
    if shell && cmp.base_article {
        return Some(
            "the page is now a script shell with no readable text: it cannot be judged without \
             running its JavaScript"
                .into(),
        );
    }
    if !cmp.thin || cmp.matches {
        return None;
    }
    classify::phrase_in(&page.visible, classify::REGION_PHRASES).map(|p| {
        format!(
            "a region wall (\u{201c}{p}\u{201d}) instead of the page: it cannot be judged from here"
        )
    })
}

/// What the page itself shows of being gone, on a page that lost what was cited: a removal
/// notice, a not-found title, a login text or form, an index of teasers, a search page.
fn not_found_sign(
    input: &Input<'_>,
    page: &Page,
    cmp: &Comparison,
    heading: &str,
    short: bool,
) -> Option<String> {
    let (thin, base_article, similarity) = (cmp.thin, cmp.base_article, cmp.similarity);
    let core_and_heading = format!("{heading}\n{}", cmp.cur_core);
    // A removal notice in the heading; in the text only when the page also lost the article it
    // had (a short real page may well say something is "no longer available"). The extraction
    // may read the template's prose (a biography, teasers) in place of a one-line notice, so
    // the notice is looked for in all the visible text too.
    let signs = format!("{core_and_heading}\n{}", page.visible);
    let removed = classify::phrase_in(heading, classify::REMOVED_PHRASES).or_else(|| {
        (base_article && similarity.is_some())
            .then(|| classify::phrase_in(&signs, classify::REMOVED_PHRASES))
            .flatten()
    });
    // A text asking to log in to read on (longer phrases than a menu's "Sign in" link).
    let login_text = (short && base_article && similarity.is_some())
        .then(|| classify::phrase_in(&signs, classify::LOGIN_WALL_PHRASES))
        .flatten();
    if let Some(p) = removed.filter(|_| short) {
        Some(format!(
            "the page says the content was removed (\u{201c}{p}\u{201d})"
        ))
    } else if short && classify::says_not_found(heading) {
        Some("a short page whose title or heading says it was not found".into())
    } else if let Some(p) = login_text {
        Some(format!(
            "a login or sign-up page instead of the article (\u{201c}{p}\u{201d})"
        ))
    } else if page.features.login_form
        && thin
        && (input.baseline.is_some()
            || classify::phrase_in(heading, classify::LOGIN_PHRASES).is_some())
    {
        Some("a login or sign-up form instead of the page".into())
    } else if page.features.cards >= INDEX_CARDS && thin && base_article {
        Some(format!(
            "the page is now an index of other pages ({} teasers)",
            page.features.cards
        ))
    } else if thin && classify::phrase_in(heading, classify::SEARCH_PHRASES).is_some() {
        Some("a search page instead of the page".into())
    } else if classify::says_not_found(heading)
        && base_article
        && similarity.is_some_and(|s| s < NOT_FOUND_BELOW)
    {
        // The article is gone and the title or heading says so; what the extraction reads in
        // its place is other text of the template (comments, teasers), however long.
        Some("the title or heading says the page was not found, and the article is gone".into())
    } else {
        None
    }
}

/// A verdict that needs nothing of the page.
fn plain(f: &Fetched, ctx: Context) -> Judgement {
    Judgement {
        verdict: classify::classify(f, &ctx),
        context: ctx,
        volatile: None,
        site: None,
    }
}

/// The core of `text` without the site's boilerplate, when the boilerplate can be left out of
/// it (it keeps enough of it); `None` when it cannot.
fn core_without_boilerplate(
    text: &Facts<'_>,
    volatile: &HashSet<u64>,
    boiler: &HashSet<u32>,
) -> Option<String> {
    if boiler.is_empty() {
        return None;
    }
    let without = drift::core_of(text, volatile, boiler);
    let plain = drift::core_of(text, volatile, &HashSet::new());
    // `core` gives the text back unchanged when the boilerplate would leave too little.
    (without != plain || drift::word_count(&plain) == 0).then_some(without)
}

/// Records the first quoted passage that no longer stands, by the one rule of
/// [`quote::standing`] (the same on every check, whatever the baseline held); `visible` is read
/// only for a passage the article lacks.
fn quotes_into(ctx: &mut Context, quotes: &[&str], text: &str, visible: Option<&str>) {
    if quotes.is_empty() {
        return;
    }
    let page = Haystack::new(text);
    let mut whole: Option<Haystack> = None;
    for q in quotes {
        let w = &mut whole;
        let standing = quote::standing(q, &page, move || {
            visible.map(|v| &*w.get_or_insert_with(|| Haystack::new(v)))
        });
        if let Standing::Missing { reason } = standing {
            ctx.quote_missing = true;
            ctx.quote_reason = Some(reason);
            return;
        }
    }
}

/// A correction or retraction, a subscription wall, another article: why the page changed when
/// the similarity alone would not say so.
fn changed_beyond_similarity(
    baseline: Baseline<'_>,
    base_core: &str,
    cur_core: &str,
    visible: &str,
    sim: f64,
    title: Option<&str>,
) -> Option<String> {
    let added = drift::new_lines(base_core, cur_core);
    for line in &added {
        if let Some(p) = classify::phrase_in(line, classify::RETRACTION_PHRASES) {
            return Some(format!(
                "a retraction notice (\u{201c}{p}\u{201d}) now stands in the article"
            ));
        }
    }
    if sim < NOTICE_BELOW {
        for line in &added {
            if let Some(p) = classify::phrase_in(line, classify::NOTICE_PHRASES) {
                return Some(format!(
                    "part of the article was replaced by a correction notice (\u{201c}{p}\u{201d}; similarity {sim:.2})"
                ));
            }
        }
    }
    if let Some(p) = classify::phrase_in(visible, classify::PAYWALL_PHRASES) {
        let head = drift::part_similarity(base_core, cur_core, 0.0, HEAD_PART);
        let tail = drift::part_similarity(base_core, cur_core, 1.0 - TAIL_PART, 1.0);
        if head.is_some_and(|h| h >= HEAD_STANDS) && tail.is_some_and(|t| t < TAIL_GONE) {
            return Some(format!(
                "the article is cut short behind a subscription wall (\u{201c}{p}\u{201d}; similarity {sim:.2})"
            ));
        }
    }
    if sim < ANOTHER_BELOW {
        if let (Some(old), Some(new)) = (baseline.title, title) {
            if title_likeness(old, new) < TITLE_ALIKE {
                return Some(format!(
                    "the address now shows another page: \u{201c}{}\u{201d} (similarity {sim:.2})",
                    crate::text::sanitize(new)
                ));
            }
        }
    }
    None
}

/// Jaccard similarity of two titles' words.
fn title_likeness(a: &str, b: &str) -> f64 {
    let words = |s: &str| -> HashSet<String> {
        s.split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_lowercase)
            .collect()
    };
    let (x, y) = (words(a), words(b));
    let union = x.union(&y).count();
    if union == 0 {
        return 1.0;
    }
    x.intersection(&y).count() as f64 / union as f64
}

/// Whether a page looks like its site's answer for a path that cannot exist. `None` when the probe
/// cannot tell (no answer, or a script shell with no text that every page shares). Compared on
/// cores without what changes between fetches: the site's boilerplate, the link's volatile lines
/// (`core` is the page's text without them), and the words of either path, which not-found
/// pages like to repeat.
fn looks_like_probe(
    probe: &Probe,
    f: &Fetched,
    r: &Response,
    core: &str,
    volatile: &HashSet<u64>,
    boiler: &HashSet<u32>,
) -> Option<bool> {
    let status = probe.status?;
    if !(200..300).contains(&status) {
        // The site answers not-found properly: its 200s are real pages.
        return Some(false);
    }
    if let Some(pf) = &probe.final_url {
        if !f.hops.is_empty() && pf == r.url.as_str() {
            return Some(true);
        }
    }
    let pt = probe.text.as_deref().unwrap_or("");
    // A probe page with no readable text is a script shell that every path of the site shares:
    // nothing can be told from it.
    pt.split_whitespace().next()?;
    let mut path_words: HashSet<String> = word_set(f.url.path());
    path_words.extend(word_set(r.url.path()));
    let clean = |t: &str| -> String {
        t.lines()
            .map(|l| {
                l.split_whitespace()
                    .filter(|w| {
                        let k: String = w
                            .chars()
                            .filter(|c| c.is_alphanumeric())
                            .flat_map(char::to_lowercase)
                            .collect();
                        !(path_words.contains(&k) || is_probe_word(&k) || w.contains('/'))
                    })
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    let (p, c) = (clean(&drift::core(pt, volatile, boiler)), clean(core));
    Some(drift::similarity(&p, &c) >= PROBE_ALIKE && drift::similarity(&c, &p) >= PROBE_ALIKE)
}

/// The words of a URL path, lowercased.
fn word_set(path: &str) -> HashSet<String> {
    path.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// Words of citewatch's own probe path (`citewatch-probe-<hex>/<hex>`).
fn is_probe_word(w: &str) -> bool {
    w == "citewatch" || w == "probe" || (w.len() >= 8 && w.chars().all(|c| c.is_ascii_hexdigit()))
}

/// The site's memory with this page remembered, when the page is one of the site's real pages.
fn remember(
    input: &Input<'_>,
    cmp: &Comparison<'_>,
    page: &Page,
    v: &Verdict,
) -> Option<SiteMemory> {
    if !matches!(v.state, State::Ok | State::Redirected | State::Changed)
        || page.features.from_json_ld
        || page.text.is_empty()
    {
        return None;
    }
    input.site.with_page(cmp.this, &cmp.facts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fetch::{Failure, Hop};
    use std::time::Duration;
    use url::Url;

    const ARTICLE: &str = "<p>Links on the web decay over time, and the decay is faster than most writers expect from their own experience.</p><p>A study of legal citations found that half of the links in court opinions no longer pointed to the cited material.</p><p>Some pages vanish completely and the server answers with a plain not found error that any checker can see.</p><p>Other pages survive in name only: the address still answers, but the text has been replaced by something else.</p><p>Researchers call the first problem link rot and the second one content drift, and both are common.</p>";

    fn page(title: &str, body: &str) -> String {
        format!(
            "<html><head><title>{title}</title></head><body><header><a href=\"/\">Example Times</a> <a href=\"/world\">World</a></header><main>{body}</main><footer>Copyright Example Times. All rights reserved.</footer></body></html>"
        )
    }

    fn fetched(
        url: &str,
        hops: &[(&str, u16)],
        final_url: &str,
        status: u16,
        body: &str,
    ) -> Fetched {
        Fetched {
            url: Url::parse(url).unwrap(),
            hops: hops
                .iter()
                .map(|(u, s)| Hop {
                    url: Url::parse(u).unwrap(),
                    status: *s,
                    location: String::new(),
                })
                .collect(),
            outcome: Ok(Response {
                url: Url::parse(final_url).unwrap(),
                status,
                headers: vec![("content-type".into(), "text/html".into())],
                body: body.as_bytes().to_vec(),
                truncated: false,
            }),
            elapsed: Duration::ZERO,
            attempts: 1,
        }
    }

    fn judged(
        base: Option<&str>,
        f: &Fetched,
        probe: Option<&Probe>,
        quotes: &[&str],
    ) -> Judgement {
        let base_page = base.map(|b| readable::readable(b.as_bytes(), Some("text/html")));
        let site = SiteMemory::default();
        judge(&Input {
            fetched: f,
            baseline: base_page.as_ref().map(|p| Baseline {
                title: p.title.as_deref(),
                text: &p.text,
            }),
            unchanged: false,
            current: None,
            volatile: None,
            site: &site,
            probe,
            quotes,
        })
    }

    const URL: &str = "https://news.example/world/2019/links-rot";

    #[test]
    fn the_same_article_in_a_new_template_is_ok() {
        let base = page("Links rot | Example Times", ARTICLE);
        let redesign = format!(
            "<html><head><title>Links rot — Example Times</title></head><body><div class=\"css-1x2y\"><div class=\"Top_bar__9f\"><a href=\"/\">Home</a></div><div class=\"Body_root__a1\">{ARTICLE}</div><div class=\"comments\"><p>Great post, thank you for writing it all up!</p></div></div></body></html>"
        );
        let f = fetched(URL, &[], URL, 200, &redesign);
        let j = judged(Some(&base), &f, None, &[]);
        assert_eq!(j.verdict.state, State::Ok, "{:?}", j.verdict);
        assert!(j.context.similarity.unwrap() > 0.95);
        // It learned which lines vary, and remembered the page for its site.
        assert!(j.volatile.is_some());
        assert!(j.site.is_some());
    }

    #[test]
    fn a_missing_quote_is_a_change_with_its_reason() {
        let base = page("Links rot", ARTICLE);
        let edited = page(
            "Links rot",
            &ARTICLE.replace("half of the links", "a third of the links"),
        );
        let f = fetched(URL, &[], URL, 200, &edited);
        let j = judged(
            Some(&base),
            &f,
            None,
            &["found that half of the links in court opinions no longer pointed"],
        );
        assert_eq!(j.verdict.state, State::Changed);
        let e = j.verdict.error.unwrap();
        assert!(
            e.starts_with("quoted passage no longer on the page: \u{201c}found that half"),
            "{e}"
        );
    }

    #[test]
    fn a_script_shell_instead_of_an_article_is_blocked_with_a_reason() {
        let base = page("Links rot", ARTICLE);
        let shell = "<html><head><title>Example</title><script src=\"/app.js\"></script></head><body><div id=\"root\"></div><noscript>Enable JavaScript.</noscript></body></html>";
        let f = fetched(URL, &[], URL, 200, shell);
        let j = judged(Some(&base), &f, None, &[]);
        assert_eq!(j.verdict.state, State::Blocked);
        assert!(j.verdict.error.unwrap().contains("script shell"));
        // Without an article to lose, a shell is left alone.
        assert_eq!(judged(None, &f, None, &[]).verdict.state, State::Ok);
    }

    #[test]
    fn the_sites_not_found_page_repeating_the_path_is_a_soft_404() {
        let nf = |path: &str| {
            page("Page not found", &format!("<h1>Nothing here</h1><p>We looked everywhere for {path} but it is gone.</p><p>Try the search or the front page.</p>"))
        };
        let probe = Probe {
            origin: "https://news.example".into(),
            fetched_at: chrono::DateTime::default(),
            status: Some(200),
            final_url: None,
            text: Some(
                readable::readable(
                    nf("/citewatch-probe-0123456789abcdef/89abcdef").as_bytes(),
                    None,
                )
                .text,
            ),
        };
        let base = page("Links rot", ARTICLE);
        let f = fetched(URL, &[], URL, 200, &nf("/world/2019/links-rot"));
        let j = judged(Some(&base), &f, Some(&probe), &[]);
        assert_eq!(j.verdict.state, State::Soft404, "{:?}", j.context);
        assert!(
            j.site.is_none(),
            "a not-found page is not one of the site's pages"
        );
        // The article itself does not look like the probe.
        let f = fetched(URL, &[], URL, 200, &base);
        assert_eq!(
            judged(Some(&base), &f, Some(&probe), &[]).verdict.state,
            State::Ok
        );
    }

    #[test]
    fn redirects_to_login_search_and_index_are_soft_404s() {
        let base = page("Links rot", ARTICLE);
        let small = page("Sign in", "<form><input type=password></form>");
        for target in [
            "https://news.example/wp-login.php?redirect_to=%2Fworld%2F2019%2Flinks-rot",
            "https://news.example/account/gate?next=/world/2019/links-rot",
            "https://news.example/?s=links+rot",
            "https://news.example/category/world/",
            "https://news.example/world/",
            "https://news.example/",
            "https://news.example/de/",
        ] {
            let f = fetched(URL, &[(URL, 302)], target, 200, &small);
            assert_eq!(
                judged(Some(&base), &f, None, &[]).verdict.state,
                State::Soft404,
                "{target}"
            );
        }
        // The article moved for good: redirected, not soft.
        let f = fetched(
            URL,
            &[(URL, 301)],
            "https://news.example/2019/links-rot-explained",
            200,
            &base,
        );
        assert_eq!(
            judged(Some(&base), &f, None, &[]).verdict.state,
            State::Redirected
        );
        // An AMP page sent to its article is the same page.
        let amp = "https://news.example/world/2019/links-rot/amp";
        let f = fetched(amp, &[(amp, 301)], URL, 200, &base);
        assert_eq!(judged(None, &f, None, &[]).verdict.state, State::Redirected);
    }

    /// Issue 21: a passage anywhere in the visible text stands on every check alike, the
    /// re-check of the very bytes archived included (a pull quote the article leaves out).
    #[test]
    fn a_pull_quote_stands_on_the_first_check_and_on_every_re_check() {
        let quote = "Nobody expected the archive to lose a third of its links within a decade.";
        let body = page(
            "Links rot",
            &format!("<article>{ARTICLE}</article><aside class=\"pullquote\"><p>\u{201c}{quote}\u{201d}</p></aside>"),
        );
        let f = fetched(URL, &[], URL, 200, &body);
        let first = judged(None, &f, None, &[quote]);
        assert_eq!(first.verdict.state, State::Ok, "{:?}", first.verdict);
        let base = readable::readable(body.as_bytes(), Some("text/html"));
        assert!(
            !base.text.contains("Nobody expected"),
            "the test needs the quote outside the article"
        );
        let site = SiteMemory::default();
        let again = judge(&Input {
            fetched: &f,
            baseline: Some(Baseline {
                title: base.title.as_deref(),
                text: &base.text,
            }),
            unchanged: true,
            current: None,
            volatile: None,
            site: &site,
            probe: None,
            quotes: &[quote],
        });
        assert_eq!(again.verdict.state, State::Ok, "{:?}", again.verdict);
        // The quote gone from the aside too: changed, on the same kind of check.
        let without = body.replace(quote, "Links are cited and forgotten.");
        let f = fetched(URL, &[], URL, 200, &without);
        assert_eq!(
            judged(Some(&body), &f, None, &[quote]).verdict.state,
            State::Changed
        );
    }

    /// Issue 21: the article replaced by a not-found or login text inside the site's unchanged
    /// template (its menus, teasers and footer longer than a thin page) is a soft 404 whatever is
    /// quoted.
    #[test]
    fn a_not_found_text_in_a_long_template_is_a_soft_404_whatever_is_quoted() {
        let chrome: String = (0..40)
            .map(|i| format!("<li><a href=\"/t/{i}\">Teaser headline number {i} about the city council and its budget plans</a></li>"))
            .collect();
        // A long block of prose the template shows on every page (an author's biography).
        let bio: String = (0..8)
            .map(|i| format!("<p>Our correspondent number {i} has covered courts, archives and libraries for many years, writing about how institutions keep their records over time.</p>"))
            .collect();
        let templ = |title: &str, main: &str| {
            format!("<html><head><title>{title}</title></head><body><header><a href=\"/\">Example Times</a></header><main>{main}<section class=\"bio\">{bio}</section></main><div class=\"more\"><h2>More stories</h2><ul>{chrome}</ul></div><footer>Copyright Example Times.</footer></body></html>")
        };
        let base = templ("Links rot", ARTICLE);
        let quote = "half of the links in court opinions no longer pointed to the cited material";
        for (title, says, rule) in [
            (
                "Page not found",
                "Sorry, we couldn't find the page you were looking for.",
                "not found",
            ),
            ("Example Times", "This article has been removed.", "removed"),
            (
                "Example Times",
                "Please log in to continue reading. This content is only available to registered users.",
                "login",
            ),
        ] {
            let gone = templ(title, &format!("<p>{says}</p>"));
            let f = fetched(URL, &[], URL, 200, &gone);
            let j = judged(Some(&base), &f, None, &[quote]);
            assert_eq!(j.verdict.state, State::Soft404, "{says}: {:?}", j.verdict);
            let why = j.verdict.error.unwrap_or_default();
            assert!(why.contains(rule), "{says}: {why}");
        }
        // The same template with another article in it is a change, not a soft 404.
        let other = templ(
            "Links rot",
            &ARTICLE
                .replace("decay", "grow")
                .replace("links", "roads")
                .replace("pages", "bridges"),
        );
        let f = fetched(URL, &[], URL, 200, &other);
        assert_eq!(
            judged(Some(&base), &f, None, &[quote]).verdict.state,
            State::Changed
        );
    }

    /// The template's own prose read with the article (a long standfirst, an author's page)
    /// keeps a gone page above half of its baseline: the title saying so decides with the loss.
    #[test]
    fn a_gone_page_that_keeps_half_its_baseline_is_a_soft_404_when_its_title_says_so() {
        let prose: String = [
            "Our newsroom checks every claim against two independent sources before anything is published on this site.",
            "Readers who spot an error can write to the standards editor, who answers each message within a working week.",
            "Corrections are listed at the foot of the story they concern, with the date and a short account of what changed.",
            "Photographs are credited to the agency or the staff member who took them, and archive images carry their year.",
            "Sponsored features are marked as such at the top and never written by the reporters who cover the same field.",
            "The weekly letter collects the stories our editors liked most, along with a few notes from the people who wrote them.",
        ]
        .iter()
        .map(|p| format!("<p>{p}</p>"))
        .collect();
        // A real page's size (a short body with a not-found title is a soft 404 by itself).
        let style = format!("<head><style>{}</style>", ".a{color:red}".repeat(400));
        let base = page("Links rot", &format!("<article>{prose}{ARTICLE}</article>"))
            .replace("<head>", &style);
        let gone = page(
            "Page not found",
            &format!("<article>{prose}<p>Sorry, we couldn't find the page you were looking for.</p></article>"),
        )
        .replace("<head>", &style);
        let f = fetched(URL, &[], URL, 200, &gone);
        let j = judged(Some(&base), &f, None, &[]);
        let sim = j.context.similarity.unwrap_or_default();
        assert!(
            (0.5..0.88).contains(&sim),
            "the test needs a middle similarity: {sim}"
        );
        assert_eq!(j.verdict.state, State::Soft404, "{:?}", j.verdict);
        // The same loss under the article's own title is a change.
        let rewritten = page("Links rot", &format!("<article>{prose}<p>Sorry, we couldn't find the page you were looking for.</p></article>"));
        let f = fetched(URL, &[], URL, 200, &rewritten);
        assert_eq!(
            judged(Some(&base), &f, None, &[]).verdict.state,
            State::Changed
        );
    }

    /// Real heads carry 100 KB of inline scripts before the title: the heading is the parsed
    /// title, not a scan of the first 64 KiB.
    #[test]
    fn a_not_found_title_after_a_long_head_is_read() {
        let script = format!("<script>var ads = \"{}\";</script>", "x".repeat(70_000));
        let base = page("Links rot", ARTICLE).replace("<head>", &format!("<head>{script}"));
        let gone = page(
            "Page not found",
            "<p>Sorry, we couldn't find the page you were looking for.</p>",
        )
        .replace("<head>", &format!("<head>{script}"));
        let f = fetched(URL, &[], URL, 200, &gone);
        let j = judged(Some(&base), &f, None, &[]);
        assert_eq!(j.verdict.state, State::Soft404, "{:?}", j.verdict);
    }

    /// An article that became a file of another kind has changed; it is no script shell.
    #[test]
    fn an_article_turned_into_a_file_is_changed() {
        let base = page("Links rot", ARTICLE);
        let mut f = fetched(URL, &[], URL, 200, "%PDF-1.7 binary");
        if let Ok(r) = &mut f.outcome {
            r.headers = vec![("content-type".into(), "application/pdf".into())];
        }
        let j = judged(Some(&base), &f, None, &[]);
        assert_eq!(j.verdict.state, State::Changed, "{:?}", j.verdict);
    }

    #[test]
    fn failures_pass_through() {
        let mut f = fetched(URL, &[], URL, 200, "");
        f.outcome = Err(Failure::Timeout);
        assert_eq!(judged(None, &f, None, &[]).verdict.state, State::Error);
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

            /// Any body, baseline, probe text and quote: a verdict, no panic.
            #[test]
            fn never_panics(body in proptest::collection::vec(any::<u8>(), 0..2048),
                            base in any::<String>(), probe_text in any::<String>(),
                            quote in any::<String>(), status in 200u16..300, redirected in any::<bool>()) {
                let hops: &[(&str, u16)] = if redirected { &[(URL, 302)] } else { &[] };
                let mut f = fetched(URL, hops, "https://news.example/x?next=/world", status, "");
                if let Ok(r) = &mut f.outcome { r.body = body; }
                let probe = Probe { origin: String::new(), fetched_at: chrono::DateTime::default(), status: Some(200), final_url: None, text: Some(probe_text) };
                let mut site = SiteMemory::default();
                site.remember(1, &base);
                site.remember(2, &base);
                let _ = judge(&Input {
                    fetched: &f,
                    baseline: Some(Baseline { title: Some(&base), text: &base }),
                    unchanged: false,
                    current: None,
                    volatile: None,
                    site: &site,
                    probe: Some(&probe),
                    quotes: &[&quote],
                });
            }
        }
    }
}
