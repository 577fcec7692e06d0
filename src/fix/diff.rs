//! Unified diffs of a post before and after `citewatch fix`, as `diff -u` and `git diff` print
//! them: three lines of context, `\ No newline at end of file` where it applies, colour only when
//! asked (a terminal). Pure.
//!
//! Edits never add or remove a line break, so line N before is line N after and a hunk pairs
//! changed lines one to one; if the line counts ever differ, the whole file is one hunk. Lines
//! are shown as text with control characters escaped (a post's bytes are the author's, but a
//! terminal must not run them); a CRLF line ending is not shown.

use crate::text::sanitize;

/// Lines of context around each change.
pub const CONTEXT: usize = 3;

const RED: &str = "\x1b[31m";
const GREEN: &str = "\x1b[32m";
const CYAN: &str = "\x1b[36m";
const BOLD: &str = "\x1b[1m";
const RESET: &str = "\x1b[0m";

/// The lines of a file, each with its line break (the last may have none).
fn lines(b: &[u8]) -> Vec<&[u8]> {
    let mut out: Vec<&[u8]> = b.split_inclusive(|&c| c == b'\n').collect();
    if b.is_empty() {
        out.clear();
    }
    out
}

fn show(line: &[u8]) -> String {
    let l = line.strip_suffix(b"\n").unwrap_or(line);
    let l = l.strip_suffix(b"\r").unwrap_or(l);
    sanitize(&String::from_utf8_lossy(l))
}

/// The unified diff from `old` to `new` of the file shown as `path`; empty when they are equal.
pub fn unified(path: &str, old: &[u8], new: &[u8], color: bool) -> String {
    if old == new {
        return String::new();
    }
    let (a, b) = (lines(old), lines(new));
    let paint = |code: &str, s: String| {
        if color {
            format!("{code}{s}{RESET}")
        } else {
            s
        }
    };
    let mut out = String::new();
    out.push_str(&paint(BOLD, format!("--- a/{}", sanitize(path))));
    out.push('\n');
    out.push_str(&paint(BOLD, format!("+++ b/{}", sanitize(path))));
    out.push('\n');
    // Hunks as (first line, last line) of the old file, inclusive, 0-based.
    let hunks: Vec<(usize, usize, usize, usize)> = if a.len() == b.len() {
        let changed: Vec<usize> = (0..a.len()).filter(|&i| a[i] != b[i]).collect();
        let mut groups: Vec<(usize, usize)> = Vec::new();
        for i in changed {
            match groups.last_mut() {
                Some(g) if i - g.1 <= 2 * CONTEXT + 1 => g.1 = i,
                _ => groups.push((i, i)),
            }
        }
        groups
            .into_iter()
            .map(|(s, e)| {
                let from = s.saturating_sub(CONTEXT);
                let to = (e + CONTEXT).min(a.len() - 1);
                (from, to, from, to)
            })
            .collect()
    } else {
        vec![(0, a.len().saturating_sub(1), 0, b.len().saturating_sub(1))]
    };
    let no_newline = "\\ No newline at end of file";
    for (a0, a1, b0, b1) in hunks {
        let count = |lo: usize, hi: usize, n: usize| if n == 0 { 0 } else { hi - lo + 1 };
        let (na, nb) = (count(a0, a1, a.len()), count(b0, b1, b.len()));
        let start = |lo: usize, n: usize| if n == 0 { lo } else { lo + 1 };
        out.push_str(&paint(
            CYAN,
            format!("@@ -{},{} +{},{} @@", start(a0, na), na, start(b0, nb), nb),
        ));
        out.push('\n');
        let mut emit = |prefix: char, line: &[u8], code: Option<&str>| {
            let text = format!("{prefix}{}", show(line));
            match code {
                Some(c) => out.push_str(&paint(c, text)),
                None => out.push_str(&text),
            }
            out.push('\n');
            if !line.ends_with(b"\n") {
                out.push_str(no_newline);
                out.push('\n');
            }
        };
        if a.len() == b.len() {
            let mut i = a0;
            while i <= a1 {
                if a[i] == b[i] {
                    emit(' ', a[i], None);
                    i += 1;
                    continue;
                }
                let run_end = (i..=a1).take_while(|&k| a[k] != b[k]).last().unwrap_or(i);
                for line in &a[i..=run_end] {
                    emit('-', line, Some(RED));
                }
                for line in &b[i..=run_end] {
                    emit('+', line, Some(GREEN));
                }
                i = run_end + 1;
            }
        } else {
            for line in &a {
                emit('-', line, Some(RED));
            }
            for line in &b {
                emit('+', line, Some(GREEN));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hunks_with_context_and_no_final_newline() {
        let old: Vec<u8> = (1..=20)
            .map(|i| format!("line {i}\n"))
            .collect::<String>()
            .into_bytes();
        let new = String::from_utf8(old.clone())
            .unwrap()
            .replace("line 5\n", "line five\n")
            .replace("line 7\n", "line seven\n")
            .replace("line 18\n", "line eighteen\n");
        let d = unified("posts/a.md", &old, new.as_bytes(), false);
        assert_eq!(
            d,
            "--- a/posts/a.md\n+++ b/posts/a.md\n@@ -2,9 +2,9 @@\n line 2\n line 3\n line 4\n-line 5\n+line five\n line 6\n-line 7\n+line seven\n line 8\n line 9\n line 10\n@@ -15,6 +15,6 @@\n line 15\n line 16\n line 17\n-line 18\n+line eighteen\n line 19\n line 20\n"
        );
        let d = unified("p.md", b"a\r\nb", b"a\r\nc", false);
        assert_eq!(
            d,
            "--- a/p.md\n+++ b/p.md\n@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+c\n\\ No newline at end of file\n"
        );
        assert_eq!(unified("p.md", b"same", b"same", false), "");
    }

    #[test]
    fn colour_only_when_asked_and_control_bytes_escaped() {
        let d = unified("p.md", b"x \x1b[2J\n", b"y\n", true);
        assert!(d.contains("\x1b[31m-x \\u{1b}[2J\x1b[0m"), "{d:?}");
        assert!(d.contains("\x1b[32m+y\x1b[0m"), "{d:?}");
        assert!(!unified("p.md", b"x\n", b"y\n", false).contains('\x1b'));
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            /// Any bytes: a diff or nothing, never a panic, and every changed line shown on both
            /// sides when the line counts agree.
            #[test]
            fn any_bytes_diff_without_panic(
                old in prop::collection::vec(prop_oneof![any::<u8>(), Just(b'\n'), Just(b'\r')], 0..120),
                edits in prop::collection::vec((0usize..120, any::<u8>()), 0..4),
            ) {
                let mut new = old.clone();
                for (at, b) in edits {
                    if let Some(x) = new.get_mut(at) {
                        if *x != b'\n' && b != b'\n' {
                            *x = b;
                        }
                    }
                }
                let d = unified("p", &old, &new, false);
                prop_assert_eq!(d.is_empty(), old == new);
                let changed = lines(&old).iter().zip(lines(&new)).filter(|(a, b)| *a != b).count();
                prop_assert_eq!(d.lines().filter(|l| l.starts_with('+') && !l.starts_with("+++")).count(), changed);
            }
        }
    }

    #[test]
    fn different_line_counts_are_one_hunk() {
        let d = unified("p.md", b"a\nb\n", b"a\n", false);
        assert_eq!(d, "--- a/p.md\n+++ b/p.md\n@@ -1,2 +1,1 @@\n-a\n-b\n+a\n");
    }
}
