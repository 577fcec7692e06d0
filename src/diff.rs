//! Word diffs between two versions of a page's text, for `citewatch diff`. Pure.
//!
//! Bounded: common prefix and suffix are trimmed, and the middle is compared word by word only
//! while the comparison table stays under [`MAX_CELLS`]; past that the middle is shown as one
//! deletion and one insertion.

/// A run of words: a value of the model, which the store and the dashboard pass on.
pub use crate::rows::DiffOp;

/// The largest LCS table built (words × words).
pub const MAX_CELLS: usize = 4_000_000;

fn tokens(s: &str) -> Vec<String> {
    s.split_whitespace().map(str::to_string).collect()
}

fn push(ops: &mut Vec<DiffOp>, op: DiffOp) {
    let merged = match (ops.last_mut(), &op) {
        (Some(DiffOp::Equal(a)), DiffOp::Equal(b))
        | (Some(DiffOp::Delete(a)), DiffOp::Delete(b))
        | (Some(DiffOp::Insert(a)), DiffOp::Insert(b)) => {
            a.extend(b.iter().cloned());
            true
        }
        _ => false,
    };
    let empty = match &op {
        DiffOp::Equal(v) | DiffOp::Delete(v) | DiffOp::Insert(v) => v.is_empty(),
    };
    if !merged && !empty {
        ops.push(op);
    }
}

/// The word-level differences from `old` to `new`.
pub fn word_diff(old: &str, new: &str) -> Vec<DiffOp> {
    let (a, b) = (tokens(old), tokens(new));
    let prefix = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let suffix = a[prefix..]
        .iter()
        .rev()
        .zip(b[prefix..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let (am, bm) = (&a[prefix..a.len() - suffix], &b[prefix..b.len() - suffix]);
    let mut ops = Vec::new();
    push(&mut ops, DiffOp::Equal(a[..prefix].to_vec()));
    if am.len().saturating_mul(bm.len()) > MAX_CELLS {
        push(&mut ops, DiffOp::Delete(am.to_vec()));
        push(&mut ops, DiffOp::Insert(bm.to_vec()));
    } else {
        // LCS lengths from the end, then walk forward.
        let (n, m) = (am.len(), bm.len());
        let mut t = vec![0u32; (n + 1) * (m + 1)];
        for i in (0..n).rev() {
            for j in (0..m).rev() {
                t[i * (m + 1) + j] = if am[i] == bm[j] {
                    t[(i + 1) * (m + 1) + j + 1] + 1
                } else {
                    t[(i + 1) * (m + 1) + j].max(t[i * (m + 1) + j + 1])
                };
            }
        }
        let (mut i, mut j) = (0, 0);
        while i < n || j < m {
            if i < n && j < m && am[i] == bm[j] {
                push(&mut ops, DiffOp::Equal(vec![am[i].clone()]));
                i += 1;
                j += 1;
            } else if i < n && (j == m || t[(i + 1) * (m + 1) + j] >= t[i * (m + 1) + j + 1]) {
                // Deletions first: "[-old-] {+new+}" reads as a replacement.
                push(&mut ops, DiffOp::Delete(vec![am[i].clone()]));
                i += 1;
            } else {
                push(&mut ops, DiffOp::Insert(vec![bm[j].clone()]));
                j += 1;
            }
        }
    }
    push(&mut ops, DiffOp::Equal(a[a.len() - suffix..].to_vec()));
    ops
}

/// Words of context kept around each change; longer equal runs are elided.
const CONTEXT: usize = 12;

/// Renders a diff: red/green with ANSI colours on a terminal, `[-old-]{+new+}` otherwise.
pub fn render(ops: &[DiffOp], color: bool) -> String {
    let mut out = String::new();
    let last = ops.len().saturating_sub(1);
    for (k, op) in ops.iter().enumerate() {
        match op {
            DiffOp::Equal(w) => {
                let (head, tail) = (
                    if k == 0 { 0 } else { CONTEXT },
                    if k == last { 0 } else { CONTEXT },
                );
                if w.len() > head + tail + 3 {
                    out.push_str(&w[..head].join(" "));
                    out.push_str(if head > 0 { " … " } else { "… " });
                    out.push_str(&w[w.len() - tail..].join(" "));
                } else {
                    out.push_str(&w.join(" "));
                }
            }
            DiffOp::Delete(w) if color => {
                out.push_str(&format!("\x1b[31;9m{}\x1b[0m", w.join(" ")))
            }
            DiffOp::Insert(w) if color => out.push_str(&format!("\x1b[32m{}\x1b[0m", w.join(" "))),
            DiffOp::Delete(w) => out.push_str(&format!("[-{}-]", w.join(" "))),
            DiffOp::Insert(w) => out.push_str(&format!("{{+{}+}}", w.join(" "))),
        }
        out.push(' ');
    }
    out.trim_end().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_changed_in_the_middle() {
        let ops = word_diff("the quick brown fox jumps", "the quick red fox leaps high");
        assert_eq!(
            render(&ops, false),
            "the quick [-brown-] {+red+} fox [-jumps-] {+leaps high+}"
        );
        assert!(render(&ops, true).contains("\x1b[32mred\x1b[0m"));
    }

    #[test]
    fn same_text_has_no_changes_and_long_runs_are_elided() {
        let t = (0..100)
            .map(|i| format!("w{i}"))
            .collect::<Vec<_>>()
            .join(" ");
        let ops = word_diff(&t, &t);
        assert_eq!(ops.len(), 1);
        let changed = format!("{t} extra");
        let r = render(&word_diff(&t, &changed), false);
        assert!(r.starts_with("… "), "{r}");
        assert!(r.ends_with("{+extra+}"), "{r}");
    }

    #[test]
    fn huge_inputs_fall_back_to_blocks() {
        let a = (0..3000)
            .map(|i| format!("a{i}"))
            .collect::<Vec<_>>()
            .join(" ");
        let b = (0..3000)
            .map(|i| format!("b{i}"))
            .collect::<Vec<_>>()
            .join(" ");
        let ops = word_diff(&a, &b);
        assert_eq!(ops.len(), 2);
    }
}
