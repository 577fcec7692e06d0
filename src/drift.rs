//! Drift: how far a page's text has moved from its as-cited baseline, and what of a site's pages
//! is its chrome. Pure: texts in, scores and line sets out.
//!
//! The measure is containment: the share of the baseline's 5-word shingles still present in the
//! current text, after normalizing away what changes on every visit (numbers, dates, month
//! names, case). Shingles are taken within lines (blocks), so a line added or removed around the
//! article costs only its own words. Comments appended or boxes inserted keep it near 1.0; a
//! rewritten, cut or replaced article drops it.
//!
//! What is compared is the *core*: the text without the link's volatile lines (short lines that
//! differed between two fetches of the same page: rotating boxes) and without the site's
//! boilerplate (lines found on two or more different pages of the same origin: mastheads,
//! footers, author boxes, the chrome of its not-found page). With the chrome gone, another article
//! in the same template no longer looks like the cited one, and the site's not-found page no
//! longer looks like every page of the site.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

/// Words per shingle.
const SHINGLE: usize = 5;

/// Month names (full and short) in the languages citewatch reads: with the day and year
/// replaced they are what is left of a date, and a date is what changes on every visit.
const MONTHS: &[&str] = &[
    // English
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
    "jan",
    "feb",
    "mar",
    "apr",
    "jun",
    "jul",
    "aug",
    "sep",
    "sept",
    "oct",
    "nov",
    "dec", // German
    "januar",
    "jänner",
    "februar",
    "märz",
    "mai",
    "juni",
    "juli",
    "oktober",
    "dezember",
    "okt",
    "dez", // French
    "janvier",
    "février",
    "mars",
    "avril",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
    "janv",
    "févr",
    "avr",
    "juil",
    "déc", // Spanish
    "enero",
    "febrero",
    "marzo",
    "abril",
    "mayo",
    "junio",
    "julio",
    "agosto",
    "septiembre",
    "setiembre",
    "octubre",
    "noviembre",
    "diciembre",
    "ene",
    "abr",
    "ago",
    "dic", // Italian
    "gennaio",
    "febbraio",
    "aprile",
    "maggio",
    "giugno",
    "luglio",
    "settembre",
    "ottobre",
    "dicembre",
    "gen",
    "mag",
    "giu",
    "lug",
    "ott", // Dutch
    "januari",
    "februari",
    "maart",
    "mei",
    "augustus",
    "mrt", // Portuguese
    "janeiro",
    "fevereiro",
    "março",
    "maio",
    "junho",
    "julho",
    "setembro",
    "outubro",
    "novembro",
    "dezembro",
    "fev",
    "set",
    "out",
    "dez",
];

/// The month names, in a set hashed with FNV-1a (SipHash, the default, cost more than the rest
/// of a line's facts for the short words looked up here).
fn months() -> &'static HashSet<&'static str, std::hash::BuildHasherDefault<Fnv>> {
    static SET: std::sync::OnceLock<HashSet<&'static str, std::hash::BuildHasherDefault<Fnv>>> =
        std::sync::OnceLock::new();
    SET.get_or_init(|| MONTHS.iter().copied().collect())
}

/// FNV-1a, for looking up short words in a fixed set (not for anything an attacker chooses the
/// keys of: the set is ours).
#[derive(Default)]
struct Fnv(u64);

impl std::hash::Hasher for Fnv {
    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for b in bytes {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        self.0 = h;
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// Whether a lowercase word is a month name. Most words are not, and a length outside the month
/// names' is told at once (this runs for every word of every page compared).
fn is_month(w: &str) -> bool {
    static LENGTHS: std::sync::OnceLock<(usize, usize)> = std::sync::OnceLock::new();
    let (lo, hi) = *LENGTHS.get_or_init(|| {
        let lens = MONTHS.iter().map(|m| m.len());
        (lens.clone().min().unwrap_or(0), lens.max().unwrap_or(0))
    });
    (lo..=hi).contains(&w.len()) && months().contains(w)
}

/// Text normalized for comparison: lowercase words; digit runs (dates, times, counters, prices)
/// and month names replaced by placeholders, so what changes on every visit does not count.
/// (What [`each_word`] feeds; the measures use that, without a `String` per word.)
#[cfg(test)]
fn words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    each_word(text, |w| out.push(w.to_string()));
    out
}

/// Feeds each normalized word of `text` to `f`, as [`words`] returns them, without a `String`
/// per word: lowercase words, one `#` for a run of digit groups ("1 234 vues", "12:30"), `#m`
/// for a month name.
fn each_word(text: &str, mut f: impl FnMut(&str)) {
    let mut lower = String::new();
    let mut last_number = false;
    for w in crate::text::alphanumeric_runs(text) {
        if w.bytes().any(|b| b.is_ascii_digit()) {
            // A run of digit groups is one number.
            if !last_number {
                f("#");
            }
            last_number = true;
            continue;
        }
        last_number = false;
        lower.clear();
        if w.is_ascii() {
            lower.push_str(w);
            lower.make_ascii_lowercase();
        } else {
            // `str::to_lowercase`, not per char: a final sigma lowercases as ς.
            lower.push_str(&w.to_lowercase());
        }
        if is_month(&lower) {
            f("#m");
        } else {
            f(&lower);
        }
    }
}

/// A line's word count and key in one pass (see [`word_count`] and [`line_key`]).
fn line_facts(line: &str) -> (usize, u64) {
    // The key is the hash of the normalized words joined by spaces, joined in a buffer kept per
    // thread (no allocation per line; a streaming hasher costs more than the hash of a line).
    thread_local! {
        static JOINED: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
    }
    JOINED.with(|cell| {
        let Ok(mut joined) = cell.try_borrow_mut() else {
            return line_facts_in(line, &mut String::new());
        };
        let facts = line_facts_in(line, &mut joined);
        if joined.capacity() > 64 * 1024 {
            // A huge line once: give the memory back.
            *joined = String::new();
        }
        facts
    })
}

fn line_facts_in(line: &str, joined: &mut String) -> (usize, u64) {
    joined.clear();
    let mut n = 0;
    each_word(line, |w| {
        if n > 0 {
            joined.push(' ');
        }
        joined.push_str(w);
        n += 1;
    });
    (n, hash(joined))
}

/// A text with the facts of each of its lines (word count, key), read once and shared by what
/// needs them: its core ([`core_of`]) and a site's memory of it ([`SiteMemory::remember_facts`]).
pub struct Facts<'a> {
    text: &'a str,
    lines: Vec<(&'a str, usize, u64)>,
}

impl<'a> Facts<'a> {
    pub fn of(text: &'a str) -> Facts<'a> {
        Facts {
            text,
            lines: text
                .lines()
                .map(|l| {
                    let (n, k) = line_facts(l);
                    (l, n, k)
                })
                .collect(),
        }
    }

    pub fn text(&self) -> &'a str {
        self.text
    }
}

/// The most of a text (bytes, cut at a line end) whose shingles are taken: the readable text
/// is capped at [`crate::readable::TEXT_MAX`] already; this bounds text archived by an older
/// extraction too, so a comparison's sets never grow with the page.
pub const SHINGLE_TEXT_MAX: usize = crate::readable::TEXT_MAX;

/// `text` up to [`SHINGLE_TEXT_MAX`] bytes, cut at the last line end within it (or at a
/// character boundary when its first line is longer).
fn capped(text: &str) -> &str {
    if text.len() <= SHINGLE_TEXT_MAX {
        return text;
    }
    let mut at = SHINGLE_TEXT_MAX;
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    let head = &text[..at];
    head.rfind('\n').map_or(head, |i| &head[..i])
}

/// The shingles of a text, line by line: a line shorter than a shingle is one shingle. Words
/// are hashed as they are read (no `String` per word).
fn shingles(text: &str) -> HashSet<u64> {
    let mut out = HashSet::new();
    let mut w: Vec<u64> = Vec::new();
    for line in capped(text).lines() {
        w.clear();
        each_word(line, |x| w.push(word_hash(x)));
        if w.is_empty() {
            continue;
        }
        if w.len() < SHINGLE {
            out.insert(shingle_hash(&w));
        } else {
            out.extend(w.windows(SHINGLE).map(shingle_hash));
        }
    }
    out
}

/// A normalized word's identity within one judgement: FNV-1a over its bytes.
fn word_hash(w: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in w.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// A shingle's identity from its words' hashes. Shingles are compared within one judgement and
/// never stored, so a fast hash will do (line keys, which are stored, use [`hash`]).
fn shingle_hash(words: &[u64]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for w in words {
        h = (h ^ w).wrapping_mul(0x0000_0100_0000_01b3).rotate_left(29);
    }
    h
}

/// A stored identity (line keys): the first 8 bytes of blake3, stable across versions.
fn hash(s: &str) -> u64 {
    key_of(blake3::hash(s.as_bytes()))
}

/// The first 8 bytes of a blake3 hash, as stored.
fn key_of(h: blake3::Hash) -> u64 {
    u64::from_le_bytes(h.as_bytes()[..8].try_into().unwrap_or([0; 8]))
}

/// Similarity of `current` to `baseline`: the share of the baseline's shingles still present
/// (1.0 = all of it is still there). Two empty texts are the same.
pub fn similarity(baseline: &str, current: &str) -> f64 {
    let sa = shingles(baseline);
    if sa.is_empty() {
        return if word_count(current) == 0 { 1.0 } else { 0.0 };
    }
    let sb = shingles(current);
    sa.intersection(&sb).count() as f64 / sa.len() as f64
}

/// Similarity of `current` to a part of `baseline`: its lines from the fraction `from` to `to` of
/// its words (0.0 to 1.0). `None` when that part has no words. Tells an article cut after its
/// first part (the head stands, the tail is gone) from one rewritten throughout.
pub fn part_similarity(baseline: &str, current: &str, from: f64, to: f64) -> Option<f64> {
    let total: usize = baseline.lines().map(word_count).sum();
    if total == 0 {
        return None;
    }
    let (lo, hi) = (from * total as f64, to * total as f64);
    let mut seen = 0usize;
    let mut part = Vec::new();
    for line in baseline.lines() {
        let n = word_count(line);
        let mid = seen as f64 + n as f64 / 2.0;
        if n > 0 && mid >= lo && mid < hi {
            part.push(line);
        }
        seen += n;
    }
    if part.is_empty() {
        return None;
    }
    Some(similarity(&part.join("\n"), current))
}

/// Lines of `current` that are not in `baseline` (after normalization).
pub fn new_lines<'a>(baseline: &str, current: &'a str) -> Vec<&'a str> {
    let known: HashSet<u64> = baseline.lines().map(line_key).collect();
    current
        .lines()
        .filter(|l| !l.trim().is_empty() && !known.contains(&line_key(l)))
        .collect()
}

/// Words of a text after normalization (what the measure counts).
pub fn word_count(text: &str) -> usize {
    // As `each_word` counts, without normalizing the words: a run of digit groups is one.
    let mut n = 0;
    let mut last_number = false;
    for w in crate::text::alphanumeric_runs(text) {
        let number = w.bytes().any(|b| b.is_ascii_digit());
        if !(number && last_number) {
            n += 1;
        }
        last_number = number;
    }
    n
}

/// Lines longer than this (in words) are content, never "volatile": a rewritten paragraph must
/// stay visible to later comparisons.
const VOLATILE_MAX_WORDS: usize = 25;

/// The identity of a line after normalization (numbers, dates, case).
pub fn line_key(line: &str) -> u64 {
    line_facts(line).1
}

/// Keys of the short lines present in one text and not the other: what varies between two
/// fetches of a page that is otherwise the same.
pub fn volatile_lines(a: &str, b: &str) -> Vec<u64> {
    let short = |t: &str| -> HashSet<u64> {
        t.lines()
            .filter(|l| {
                let n = crate::text::words(l).count();
                n > 0 && n <= VOLATILE_MAX_WORDS
            })
            .map(line_key)
            .collect()
    };
    let (ka, kb) = (short(a), short(b));
    let all_a: HashSet<u64> = a.lines().map(line_key).collect();
    let all_b: HashSet<u64> = b.lines().map(line_key).collect();
    let mut out: Vec<u64> = ka
        .iter()
        .filter(|k| !all_b.contains(k))
        .chain(kb.iter().filter(|k| !all_a.contains(k)))
        .copied()
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// The text without the lines whose keys are in `drop`.
pub fn without_lines(text: &str, drop: &HashSet<u64>) -> String {
    if drop.is_empty() {
        return text.to_string();
    }
    text.lines()
        .filter(|l| !drop.contains(&line_key(l)))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Whether a passage quoted in a post no longer appears in the page's text (see
/// [`crate::quote`], which says why).
pub fn quote_missing(quote: &str, page_text: &str) -> bool {
    crate::quote::check(quote, page_text).is_missing()
}

/// The text without the lines whose keys are in `volatile` or whose short keys are in
/// `boilerplate`; the text itself when that would leave too little of it to compare (a page
/// whose every line is shared with another page is the same page seen twice, not all chrome).
pub fn core(text: &str, volatile: &HashSet<u64>, boilerplate: &HashSet<u32>) -> String {
    if volatile.is_empty() && boilerplate.is_empty() {
        return text.to_string();
    }
    core_of(&Facts::of(text), volatile, boilerplate)
}

/// [`core`] of a text whose lines' facts are read already.
pub fn core_of(facts: &Facts<'_>, volatile: &HashSet<u64>, boilerplate: &HashSet<u32>) -> String {
    let text = facts.text;
    if volatile.is_empty() && boilerplate.is_empty() {
        return text.to_string();
    }
    let mut kept = Vec::new();
    let (mut all, mut left) = (0usize, 0usize);
    for &(l, n, k) in &facts.lines {
        all += n;
        if volatile.contains(&k) {
            continue;
        }
        if boilerplate.contains(&short_key(k)) {
            continue;
        }
        left += n;
        kept.push(l);
    }
    if left < CORE_MIN_WORDS.min(all) || (left as f64) < CORE_MIN_SHARE * all as f64 {
        // Dropping only the volatile lines is always safe.
        if volatile.is_empty() {
            return text.to_string();
        }
        return facts
            .lines
            .iter()
            .filter(|(_, _, k)| !volatile.contains(k))
            .map(|(l, _, _)| *l)
            .collect::<Vec<_>>()
            .join("\n");
    }
    kept.join("\n")
}

/// A core keeps at least this many words of its text (or all of a shorter text)...
const CORE_MIN_WORDS: usize = 20;

/// ...and at least this share of them; else the boilerplate is not applied. An article in a
/// template heavier than itself keeps 10–40 % of its page's words; the same article cited under
/// two URLs would keep none.
const CORE_MIN_SHARE: f64 = 0.08;

/// A line's key as kept per site (32 bits: collisions within one site's few hundred lines are
/// negligible, and the memory stays small).
pub fn short_key(k: u64) -> u32 {
    (k >> 32) as u32
}

/// Pages of one site remembered at most.
const SITE_PAGES: usize = 6;

/// Lines remembered of one page at most.
const SITE_PAGE_LINES: usize = 400;

/// What citewatch has seen of one site (an origin): the line keys of a few of its pages, most
/// recent last. Lines on two or more of them (or on one of them and the site's probe page or a
/// link's baseline) are the site's boilerplate.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteMemory {
    pub pages: Vec<SitePage>,
}

/// One remembered page of a site.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SitePage {
    /// Which page (a hash of its URL): a page is remembered once, as last seen.
    pub page: u64,
    /// Short keys of its lines (see [`short_key`]).
    pub lines: Vec<u32>,
}

/// The identity of a page for [`SiteMemory`].
pub fn page_key(url: &str) -> u64 {
    hash(url)
}

fn short_keys(text: &str) -> Vec<u32> {
    short_keys_of(&Facts::of(text))
}

fn short_keys_of(facts: &Facts<'_>) -> Vec<u32> {
    let mut keys: Vec<u32> = facts
        .lines
        .iter()
        .filter(|(l, _, _)| !l.trim().is_empty())
        .map(|(_, _, k)| short_key(*k))
        .collect();
    keys.sort_unstable();
    keys.dedup();
    keys.truncate(SITE_PAGE_LINES);
    keys
}

impl SiteMemory {
    /// The site's boilerplate as seen from page `this`: lines found in two or more of the other
    /// remembered pages and `texts` (the site's probe page, the link's baseline). The page's own
    /// entry never counts, so a page is never its own chrome.
    pub fn boilerplate(&self, this: u64, texts: &[&str]) -> HashSet<u32> {
        let mut counts: HashMap<u32, usize> = HashMap::new();
        let read: Vec<Vec<u32>> = texts.iter().map(|t| short_keys(t)).collect();
        let sources = self
            .pages
            .iter()
            .filter(|p| p.page != this)
            .map(|p| p.lines.as_slice())
            .chain(read.iter().map(Vec::as_slice));
        for keys in sources {
            for k in keys {
                *counts.entry(*k).or_default() += 1;
            }
        }
        counts
            .into_iter()
            .filter(|(_, n)| *n >= 2)
            .map(|(k, _)| k)
            .collect()
    }

    /// Remembers how page `this` reads now. Returns whether the memory changed (worth saving).
    pub fn remember(&mut self, this: u64, text: &str) -> bool {
        self.remember_facts(this, &Facts::of(text))
    }

    /// The memory with page `this` remembered as `facts` read, when that changes it (a page
    /// read as before leaves it as it is, and nothing is copied).
    pub fn with_page(&self, this: u64, facts: &Facts<'_>) -> Option<SiteMemory> {
        let lines = short_keys_of(facts);
        if lines.is_empty()
            || self
                .pages
                .iter()
                .any(|p| p.page == this && p.lines == lines)
        {
            return None;
        }
        let mut site = self.clone();
        site.remember_lines(this, lines);
        Some(site)
    }

    /// [`SiteMemory::remember`] of a text whose lines' facts are read already.
    pub fn remember_facts(&mut self, this: u64, facts: &Facts<'_>) -> bool {
        let lines = short_keys_of(facts);
        self.remember_lines(this, lines)
    }

    fn remember_lines(&mut self, this: u64, lines: Vec<u32>) -> bool {
        if lines.is_empty() {
            return false;
        }
        if self
            .pages
            .iter()
            .any(|p| p.page == this && p.lines == lines)
        {
            return false;
        }
        self.pages.retain(|p| p.page != this);
        self.pages.push(SitePage { page: this, lines });
        let extra = self.pages.len().saturating_sub(SITE_PAGES);
        self.pages.drain(..extra);
        true
    }
}

#[cfg(test)]
mod tests {
    /// Shingles are taken from at most SHINGLE_TEXT_MAX bytes of a text, cut at a line end.
    #[test]
    fn shingles_are_bounded_by_the_text_cap() {
        // 3 MiB of distinct five-letter words, 10 per line.
        let mut long = String::new();
        let mut i = 0u32;
        while long.len() < 3 << 20 {
            for k in 0..5 {
                long.push(char::from(b'a' + ((i / 26u32.pow(k)) % 26) as u8));
            }
            i += 1;
            long.push(if i % 10 == 0 { '\n' } else { ' ' });
        }
        let head = capped(&long);
        assert!(head.len() <= SHINGLE_TEXT_MAX && long[head.len()..].starts_with('\n'));
        let n = shingles(&long).len();
        assert!(n <= SHINGLE_TEXT_MAX / 6, "{n} shingles");
        assert!(n > SHINGLE_TEXT_MAX / 12, "{n} shingles");
        assert_eq!(similarity(&long, &long), 1.0);
        // One line longer than the cap is cut on a character boundary.
        let one = "é".repeat(SHINGLE_TEXT_MAX);
        assert!(capped(&one).len() <= SHINGLE_TEXT_MAX);
    }

    /// The streaming word walk gives what the plain one gives: counts, keys and words alike.
    #[test]
    fn line_facts_agree_with_words() {
        for line in [
            "",
            "Posted 12 March 2024, 1 234 views",
            "ΟΔΟΣ ΣΟΦΙΑΣ and ÉTÉ Straße 12:30 12.5",
            "a-b c_d  E",
        ] {
            let w = words(line);
            assert_eq!(line_facts(line), (w.len(), hash(&w.join(" "))), "{line:?}");
            assert_eq!(word_count(line), w.len());
        }
        assert_eq!(words("ΟΔΟΣ")[0], "οδος");
        assert_eq!(words("1 234 vues, in May"), ["#", "vues", "in", "#m"]);
    }

    use super::*;

    const ARTICLE: &str = "Links on the web decay over time. Studies of reference rot find that a large share of cited pages disappear within a decade, and many that still answer have changed.";

    #[test]
    fn same_text_with_new_numbers_is_the_same() {
        let a = format!("Posted 2019-03-25. {ARTICLE} 1234 views");
        let b = format!("Posted 2024-11-02. {ARTICLE} 98765 views");
        assert!(similarity(&a, &b) > 0.99);
    }

    #[test]
    fn appended_comments_keep_it_high() {
        let b = format!("{ARTICLE} Comment: great post, thanks for writing it all up so clearly.");
        assert!(similarity(ARTICLE, &b) > 0.95);
    }

    #[test]
    fn volatile_lines_are_short_differences() {
        let a = format!("{ARTICLE}\nMost read: the weather today\nQuote of the day: be kind");
        let b = format!("{ARTICLE}\nMost read: elections results\nQuote of the day: be kind");
        let v: HashSet<u64> = volatile_lines(&a, &b).into_iter().collect();
        assert_eq!(v.len(), 2);
        assert_eq!(without_lines(&a, &v), without_lines(&b, &v));
        // A long paragraph that changed is content, not volatile.
        let c = ARTICLE.replace("decay", "grow");
        assert!(volatile_lines(ARTICLE, &c).is_empty());
    }

    #[test]
    fn quotes() {
        assert!(!quote_missing(
            "a large share of CITED pages\n disappear",
            ARTICLE
        ));
        assert!(quote_missing(
            "a large share of cited pages are fine",
            ARTICLE
        ));
        assert!(!quote_missing("too short", ""));
    }

    /// Shingles stay within lines: a line inserted between two paragraphs costs nothing, a
    /// line removed costs only its own words.
    #[test]
    fn shingles_stay_within_lines() {
        let a = "First paragraph of the article, with enough words in it.\nSecond paragraph of the article, also long enough here.";
        let with_box = "First paragraph of the article, with enough words in it.\nSign up for our newsletter\nSecond paragraph of the article, also long enough here.";
        assert_eq!(similarity(a, with_box), 1.0);
        let without_second = "First paragraph of the article, with enough words in it.";
        let s = similarity(a, without_second);
        assert!((0.4..0.6).contains(&s), "{s}");
    }

    #[test]
    fn dates_and_counters_in_every_language_are_noise() {
        for (a, b) in [
            (
                "Publié le 3 mars 2019 · 1 234 vues",
                "Publié le 17 juin 2024 · 98 vues",
            ),
            (
                "Aggiornato il 5 gennaio 2020",
                "Aggiornato il 9 ottobre 2023",
            ),
            ("Bijgewerkt op 2 maart 2021", "Bijgewerkt op 30 mei 2022"),
            (
                "Actualizado el 1 de enero de 2020",
                "Actualizado el 4 de agosto de 2024",
            ),
            (
                "Atualizado em 8 de março de 2019",
                "Atualizado em 2 de dezembro de 2024",
            ),
            (
                "Aktualisiert am 1. März 2019",
                "Aktualisiert am 3. Dezember 2024",
            ),
        ] {
            assert_eq!(line_key(a), line_key(b), "{a} / {b}");
        }
    }

    /// Line keys are stored (volatile lines, site memories): a key is the hash of the line's
    /// normalized words joined by single spaces, however it is computed, so keys stored by an
    /// older version still match. Pinned by value too.
    #[test]
    fn a_line_key_is_the_hash_of_its_normalized_words_joined() {
        const PINNED: u64 = 0x3e32_8026_2c89_6665;
        for line in [
            "",
            "  ",
            "Updated 3 March 2024, 10:45",
            "The Quick,  brown fox — jumps!",
            "ΟΔΟΣ Σ",
        ] {
            let mut words = Vec::new();
            each_word(line, |w| words.push(w.to_string()));
            assert_eq!(line_key(line), hash(&words.join(" ")), "{line:?}");
        }
        assert_eq!(line_facts("Updated 3 March 2024").0, 4);
        assert_eq!(line_key("Updated 3 March 2024"), hash("updated # #m #"));
        assert_eq!(line_key("Updated 3 March 2024"), PINNED);
    }

    #[test]
    fn core_leaves_out_boilerplate_and_volatile_lines_but_never_everything() {
        let text = format!(
            "Home | News | Contact\n{ARTICLE}\nMost read: the weather today\n© Example Times"
        );
        let volatile: HashSet<u64> = [line_key("Most read: the weather today")]
            .into_iter()
            .collect();
        let boiler: HashSet<u32> = ["Home | News | Contact", "© Example Times"]
            .iter()
            .map(|l| short_key(line_key(l)))
            .collect();
        assert_eq!(core(&text, &volatile, &boiler), ARTICLE);
        // A page all of whose lines are "boilerplate" is one page seen twice: kept whole (less
        // its volatile lines).
        let all: HashSet<u32> = text.lines().map(|l| short_key(line_key(l))).collect();
        assert_eq!(
            core(&text, &volatile, &all),
            without_lines(&text, &volatile)
        );
    }

    #[test]
    fn site_boilerplate_needs_two_pages_and_never_counts_the_page_itself() {
        let chrome = "Example Times\nHome News Sport\nSubscribe to our newsletter";
        let page = |body: &str| format!("{chrome}\n{body}");
        let mut m = SiteMemory::default();
        assert!(m.remember(1, &page("The first article, about bridges.")));
        assert!(
            !m.remember(1, &page("The first article, about bridges.")),
            "nothing new"
        );
        // One page: nothing is boilerplate yet, not even from its own point of view.
        assert!(m.boilerplate(2, &[]).is_empty());
        assert!(m.boilerplate(1, &[&page("x")]).is_empty());
        // Another page (here the probe) sharing the chrome teaches it.
        let b = m.boilerplate(2, &[&page("The site's not-found message.")]);
        assert!(b.contains(&short_key(line_key("Home News Sport"))));
        assert!(!b.contains(&short_key(line_key("The first article, about bridges."))));
    }

    #[test]
    fn site_memory_is_bounded() {
        let mut m = SiteMemory::default();
        for p in 0..20u64 {
            let text: String = (0..1000)
                .map(|i| format!("line {p} {i} x{}\n", "y".repeat((i % 7) as usize)))
                .collect();
            m.remember(p, &text);
        }
        assert_eq!(m.pages.len(), SITE_PAGES);
        assert!(m.pages.iter().all(|p| p.lines.len() <= SITE_PAGE_LINES));
        assert_eq!(m.pages.last().map(|p| p.page), Some(19));
    }

    #[test]
    fn part_similarity_tells_a_cut_from_a_rewrite() {
        let base = "The bridge over the river was closed on Monday morning.\n\
            Engineers had found deep cracks in two of its supports.\n\
            Commuters now take the ferry or drive a long detour.\n\
            Shop owners near the old crossing fear a quiet summer.\n\
            The city council promised repairs within three months.\n\
            Critics say the inspection came years too late for anyone.\n\
            A new design competition could start before the winter.\n\
            Until then, cyclists may still push their bikes across.";
        let cut: String = base
            .lines()
            .take(3)
            .map(str::trim)
            .collect::<Vec<_>>()
            .join("\n");
        assert!(part_similarity(base, &cut, 0.0, 0.25).unwrap() > 0.99);
        assert!(part_similarity(base, &cut, 0.6, 1.0).unwrap() < 0.01);
        assert_eq!(part_similarity("", &cut, 0.0, 1.0), None);
    }

    mod props {
        use super::super::*;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

            /// Any texts: similarity is a share, a text contains itself, nothing panics.
            #[test]
            fn measures_are_shares(a in any::<String>(), b in any::<String>(), lines in proptest::collection::vec(any::<u64>(), 0..8)) {
                let s = similarity(&a, &b);
                prop_assert!((0.0..=1.0).contains(&s));
                prop_assert_eq!(similarity(&a, &a), 1.0);
                if let Some(p) = part_similarity(&a, &b, 0.3, 0.9) { prop_assert!((0.0..=1.0).contains(&p)); }
                let v: HashSet<u64> = lines.iter().copied().collect();
                let bp: HashSet<u32> = lines.iter().map(|k| *k as u32).collect();
                let _ = core(&a, &v, &bp);
                let _ = volatile_lines(&a, &b);
                let _ = new_lines(&a, &b);
                let mut m = SiteMemory::default();
                m.remember(1, &a);
                m.remember(2, &b);
                let _ = m.boilerplate(3, &[&a, &b]);
            }
        }
    }

    #[test]
    fn replaced_text_drops_it() {
        assert!(similarity(ARTICLE, "This domain is for sale. Contact us for a price.") < 0.1);
        assert_eq!(similarity("", ""), 1.0);
        assert_eq!(similarity("", "x"), 0.0);
    }
}
