//! Text directives matched as the WICG "URL Fragment Text Directives" spec says ("find a range
//! from a text directive", "find a string in range"): each term within one block, the prefix
//! and suffix separated from the match by whitespace only (across blocks), `start,end` a range
//! from the first `start` to the next `end`, whole words only (UAX #29 word boundaries), and
//! compared at primary strength (case and accents ignored).
//!
//! Primary strength is approximated by folding both sides: compatibility decomposition
//! (NFKD: ligatures, full-width forms, no-break spaces), nonspacing and enclosing marks
//! removed (accents), full lowercase, `ß` as `ss`, whitespace runs as one space.
//!
//! Invariant: bounded work. Every search counts the bytes it scans; past [`BUDGET_PER_BYTE`]
//! times the page (plus a floor) the answer is `Unknown`, never a guess.

use std::cell::Cell;
use std::sync::OnceLock;

use icu_normalizer::DecomposingNormalizerBorrowed;
use icu_properties::props::GeneralCategory;
use icu_properties::{CodePointMapData, CodePointMapDataBorrowed};
use unicode_segmentation::UnicodeSegmentation;

use super::html::PageText;
use super::{FragmentStanding, TextDirective};

/// Bytes scanned per byte of page text before giving up (a page of one repeated word against
/// a directive whose suffix never follows costs a search per occurrence).
const BUDGET_PER_BYTE: usize = 64;
/// The least budget, for small pages.
const BUDGET_FLOOR: usize = 1 << 22;
/// Context read on each side of a position to find word boundaries there.
const WORD_WINDOW: usize = 64;

fn general_category() -> CodePointMapDataBorrowed<'static, GeneralCategory> {
    CodePointMapData::<GeneralCategory>::new()
}

fn is_mark(gc: GeneralCategory) -> bool {
    matches!(
        gc,
        GeneralCategory::NonspacingMark | GeneralCategory::EnclosingMark
    )
}

/// Appends `s` folded for primary-strength comparison to `out`.
pub(crate) fn fold_into(s: &str, out: &mut String) {
    static NFKD: OnceLock<DecomposingNormalizerBorrowed<'static>> = OnceLock::new();
    let nfkd = NFKD.get_or_init(DecomposingNormalizerBorrowed::new_nfkd);
    let gc = general_category();
    let decomposed = nfkd.normalize(s);
    let mut space = false;
    for c in decomposed.chars() {
        if c.is_ascii_alphanumeric() {
            if space && !out.is_empty() {
                out.push(' ');
            }
            space = false;
            out.push(c.to_ascii_lowercase());
            continue;
        }
        if c.is_whitespace() {
            space = true;
            continue;
        }
        if is_mark(gc.get(c)) {
            // An accent: ignored at primary strength.
            continue;
        }
        if space && !out.is_empty() {
            out.push(' ');
        }
        space = false;
        // Lowercasing can add a mark (`İ` → `i̇`): dropped too.
        for l in c.to_lowercase() {
            if l == 'ß' {
                out.push_str("ss");
            } else if !is_mark(gc.get(l)) {
                out.push(l);
            }
        }
    }
    if space && !out.is_empty() {
        out.push(' ');
    }
}

/// `s` without its accents (canonical decomposition, nonspacing marks removed), as Hugo's
/// `text.RemoveAccents` does before an ASCII-only id.
pub(crate) fn remove_accents(s: &str) -> String {
    let nfd = DecomposingNormalizerBorrowed::new_nfd();
    let gc = general_category();
    nfd.normalize(s)
        .chars()
        .filter(|c| gc.get(*c) != GeneralCategory::NonspacingMark)
        .collect()
}

/// `s` folded, trimmed.
pub(crate) fn fold(s: &str) -> String {
    let mut out = String::new();
    fold_into(s, &mut out);
    out.trim().to_string()
}

/// The largest char boundary at or below `i`.
fn floor_boundary(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// The smallest char boundary at or above `i`.
fn ceil_boundary(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i += 1;
    }
    i
}

/// Whether byte `p` of `block` is at a word boundary (UAX #29); the block's edges always are.
pub(crate) fn is_word_boundary(block: &str, p: usize) -> bool {
    if p == 0 || p >= block.len() {
        return true;
    }
    if !block.is_char_boundary(p) {
        return false;
    }
    let lo = floor_boundary(block, p.saturating_sub(WORD_WINDOW));
    let hi = ceil_boundary(block, p + WORD_WINDOW);
    let Some(window) = block.get(lo..hi) else {
        return true;
    };
    window.split_word_bound_indices().any(|(i, _)| lo + i == p)
}

/// A match: byte range in the folded page text.
type Span = (usize, usize);

struct Matcher<'a> {
    page: &'a PageText,
    budget: Cell<usize>,
    exhausted: Cell<bool>,
}

impl Matcher<'_> {
    fn len(&self) -> usize {
        self.page.folded.len()
    }

    /// The block holding position `pos` (a position at a block's end belongs to the next).
    fn block_at(&self, pos: usize) -> usize {
        self.page.blocks.partition_point(|b| b.end <= pos)
    }

    fn spend(&self, n: usize) -> bool {
        let left = self.budget.get();
        if n > left {
            self.budget.set(0);
            self.exhausted.set(true);
            return false;
        }
        self.budget.set(left - n);
        true
    }

    /// The spec's "advance to the next non-whitespace position": blocks are trimmed and
    /// contiguous, so only one space inside a block can be skipped.
    fn skip_space(&self, pos: usize) -> usize {
        match self.page.folded.as_bytes().get(pos) {
            Some(b' ') => pos + 1,
            _ => pos,
        }
    }

    /// "Find a string in range": the first instance of `query` (folded, non-empty) at or after
    /// `from`, within one block, optionally word-bounded at its start and end, and optionally
    /// starting exactly at `from`.
    fn find(
        &self,
        query: &str,
        from: usize,
        word_start: bool,
        word_end: bool,
        at_beginning: bool,
    ) -> Option<Span> {
        let finder = memchr::memmem::Finder::new(query.as_bytes());
        let mut b = self.block_at(from);
        let mut first = true;
        while let Some(range) = self.page.blocks.get(b) {
            let block = self.page.folded.get(range.clone())?;
            let mut off = if first {
                from.saturating_sub(range.start)
            } else {
                0
            };
            first = false;
            let start_off = off;
            loop {
                let hay = block.get(off..).unwrap_or_default();
                let found = finder.find(hay.as_bytes());
                if !self.spend(found.map_or(hay.len(), |i| i + query.len()).max(1)) {
                    return None;
                }
                let Some(i) = found else { break };
                let idx = off + i;
                if at_beginning && idx != start_off {
                    return None;
                }
                let end = idx + query.len();
                let ok = block.is_char_boundary(idx)
                    && block.is_char_boundary(end)
                    && (!word_start || is_word_boundary(block, idx))
                    && (!word_end || is_word_boundary(block, end));
                if ok {
                    return Some((range.start + idx, range.start + end));
                }
                if at_beginning {
                    return None;
                }
                off = ceil_boundary(block, idx + 1);
                if off >= block.len() {
                    break;
                }
            }
            if at_beginning {
                return None;
            }
            b += 1;
        }
        None
    }

    /// "Find a range from a text directive": whether the directive matches anywhere.
    fn matches(&self, d: &Folded) -> bool {
        let len = self.len();
        let mut search = 0usize;
        while search < len {
            let mut potential: Span;
            let must_end = d.end.is_some() || d.suffix.is_none();
            if let Some(prefix) = &d.prefix {
                let Some(pm) = self.find(prefix, search, true, false, false) else {
                    return false;
                };
                search = ceil_boundary(&self.page.folded, pm.0 + 1);
                let ms = self.skip_space(pm.1);
                if ms >= len {
                    return false;
                }
                match self.find(&d.start, ms, false, must_end, true) {
                    Some(m) => potential = m,
                    None => {
                        if self.exhausted.get() {
                            return false;
                        }
                        continue;
                    }
                }
            } else {
                let Some(m) = self.find(&d.start, search, true, must_end, false) else {
                    return false;
                };
                potential = m;
                search = ceil_boundary(&self.page.folded, m.0 + 1);
            }
            // The range's end (and the suffix after it) is searched from the match's end on.
            let mut end_from = potential.1;
            loop {
                if let Some(end) = &d.end {
                    let Some(em) = self.find(end, end_from, true, d.suffix.is_none(), false) else {
                        return false;
                    };
                    potential.1 = em.1;
                }
                let Some(suffix) = &d.suffix else {
                    return true;
                };
                let ss = self.skip_space(potential.1);
                if ss < len && self.find(suffix, ss, false, true, true).is_some() {
                    return true;
                }
                if self.exhausted.get() {
                    return false;
                }
                if d.end.is_none() {
                    break;
                }
                end_from = potential.1;
                if end_from >= len {
                    return false;
                }
            }
        }
        false
    }
}

/// A directive with every term folded.
struct Folded {
    prefix: Option<String>,
    start: String,
    end: Option<String>,
    suffix: Option<String>,
}

/// Whether a text directive stands in a page's text, by the spec's matching. A term that folds
/// to nothing (only marks or spaces) cannot match anything a browser would highlight.
pub fn text_directive_standing(directive: &TextDirective, page: &PageText) -> FragmentStanding {
    let term = |t: &str| Some(fold(t)).filter(|f| !f.is_empty());
    let missing = || FragmentStanding::Missing {
        reason: format!("text fragment not on the page: {directive}"),
    };
    let Some(start) = term(&directive.start) else {
        return missing();
    };
    let opt = |t: &Option<String>| -> Result<Option<String>, ()> {
        match t {
            None => Ok(None),
            Some(t) => term(t).map(Some).ok_or(()),
        }
    };
    let (Ok(prefix), Ok(end), Ok(suffix)) = (
        opt(&directive.prefix),
        opt(&directive.end),
        opt(&directive.suffix),
    ) else {
        return missing();
    };
    let folded = Folded {
        prefix,
        start,
        end,
        suffix,
    };
    let m = Matcher {
        page,
        budget: Cell::new(BUDGET_FLOOR.max(page.folded.len().saturating_mul(BUDGET_PER_BYTE))),
        exhausted: Cell::new(false),
    };
    if m.matches(&folded) {
        return FragmentStanding::Present;
    }
    if m.exhausted.get() {
        return FragmentStanding::Unknown {
            why: format!("text fragment {directive}: too many near matches on the page to decide"),
        };
    }
    if page.limited {
        return FragmentStanding::Unknown {
            why: format!("text fragment {directive}: the page's text is longer than is read"),
        };
    }
    missing()
}
