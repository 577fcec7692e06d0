//! Drift: how far a page's text has moved from its as-cited baseline. Pure: texts in, a score out.
//!
//! The measure is containment of the baseline's 5-word shingles in the current text, after
//! normalizing away what changes on every visit (numbers, dates, counters). Comments appended
//! keep it near 1.0; a rewritten or replaced article drops it.

use std::collections::HashSet;

/// Words per shingle.
const SHINGLE: usize = 5;

/// Month names (English and German, full and short): with the day and year replaced they are
/// what is left of a date.
const MONTHS: &[&str] = &[
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
    "dec",
    "januar",
    "februar",
    "märz",
    "mai",
    "juni",
    "juli",
    "oktober",
    "dezember",
    "okt",
    "dez",
];

/// Text normalized for comparison: lowercase words; digit runs (dates, times, counters, prices)
/// and month names replaced by placeholders, so what changes on every visit does not count.
fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            if w.chars().any(|c| c.is_ascii_digit()) {
                "#".to_string()
            } else {
                let l = w.to_lowercase();
                if MONTHS.contains(&l.as_str()) {
                    "#m".to_string()
                } else {
                    l
                }
            }
        })
        .collect()
}

fn shingles(words: &[String]) -> HashSet<u64> {
    if words.len() < SHINGLE {
        return [hash(&words.join(" "))].into_iter().collect();
    }
    words.windows(SHINGLE).map(|w| hash(&w.join(" "))).collect()
}

fn hash(s: &str) -> u64 {
    let h = blake3::hash(s.as_bytes());
    u64::from_le_bytes(h.as_bytes()[..8].try_into().unwrap_or([0; 8]))
}

/// Similarity of `current` to `baseline`: the share of the baseline's shingles still present
/// (1.0 = all of it is still there). Two empty texts are the same.
pub fn similarity(baseline: &str, current: &str) -> f64 {
    let (a, b) = (words(baseline), words(current));
    if a.is_empty() {
        return if b.is_empty() { 1.0 } else { 0.0 };
    }
    let sa = shingles(&a);
    let sb = shingles(&b);
    sa.intersection(&sb).count() as f64 / sa.len() as f64
}

/// Lines longer than this (in words) are content, never "volatile": a rewritten paragraph must
/// stay visible to later comparisons.
const VOLATILE_MAX_WORDS: usize = 25;

/// The identity of a line after normalization (numbers, dates, case).
pub fn line_key(line: &str) -> u64 {
    hash(&words(line).join(" "))
}

/// Keys of the short lines present in one text and not the other: what varies between two
/// fetches of a page that is otherwise the same.
pub fn volatile_lines(a: &str, b: &str) -> Vec<u64> {
    let short = |t: &str| -> HashSet<u64> {
        t.lines()
            .filter(|l| {
                let n = l.split_whitespace().count();
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

/// Whether a passage quoted in a post no longer appears in the page's text. Compared on
/// normalized words, so reflowed lines, case and punctuation do not matter; a quote too short to
/// mean anything (under four words) is never "missing".
pub fn quote_missing(quote: &str, page_text: &str) -> bool {
    let mut q = words(quote);
    // Quotes kept with a citation may be cut at a length limit: the last word may be partial.
    q.pop();
    if q.len() < 4 {
        return false;
    }
    let page = words(page_text);
    !page.windows(q.len()).any(|w| w == q.as_slice())
}

#[cfg(test)]
mod tests {
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

    #[test]
    fn replaced_text_drops_it() {
        assert!(similarity(ARTICLE, "This domain is for sale. Contact us for a price.") < 0.1);
        assert_eq!(similarity("", ""), 1.0);
        assert_eq!(similarity("", "x"), 0.0);
    }
}
