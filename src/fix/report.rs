//! What a run of `citewatch fix` did, and how it reads: the diffs and the summary a person
//! reads, the JSON a script reads, the lines naming what changed in git working trees. Pure:
//! plain values in, text out; a post's bytes and a scraped URL are sanitized before they reach
//! a terminal.

use std::path::PathBuf;

use crate::fix::diff;
use crate::fix::plan::{Action, Edit, Listed, Repair};
use crate::text::sanitize;

/// A post with something to report: edits, citations listed but not touched, or both.
#[derive(Debug, Clone)]
pub struct PostFix {
    /// The post file, as the source's configured path joined with its path in the source.
    pub file: PathBuf,
    /// Relative to its source.
    pub path: String,
    pub edits: Vec<Edit>,
    pub listed: Vec<Listed>,
    /// Citations already carrying an archived-copy link.
    pub already: usize,
    /// The bytes read, and the bytes with the edits made.
    pub old: Vec<u8>,
    pub new: Vec<u8>,
    /// With `apply`, for a post with edits: written, or why not.
    pub written: Option<Result<(), String>>,
}

/// A post that was not looked at, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub file: PathBuf,
    pub why: String,
}

/// What a run of `fix` did. `S` is what the scan after writing reported (the shell's
/// `pipeline::ScanReport`; see `fix::Report`), kept opaque here.
#[derive(Debug)]
pub struct Report<S = ()> {
    pub posts: Vec<PostFix>,
    pub skipped: Vec<Skipped>,
    /// Archived copies looked up, and found.
    pub looked_up: usize,
    pub found: usize,
    /// Why look-ups failed, when they did.
    pub lookup_errors: Vec<String>,
    /// The scan after writing, when something was written.
    pub rescan: Option<S>,
}

impl<S> Default for Report<S> {
    fn default() -> Self {
        Report {
            posts: Vec::new(),
            skipped: Vec::new(),
            looked_up: 0,
            found: 0,
            lookup_errors: Vec::new(),
            rescan: None,
        }
    }
}

impl<S> Report<S> {
    /// Posts written.
    pub fn written(&self) -> impl Iterator<Item = &PostFix> {
        self.posts
            .iter()
            .filter(|p| matches!(p.written, Some(Ok(()))))
    }

    /// Posts that could not be written, with why.
    pub fn failed(&self) -> impl Iterator<Item = (&PostFix, &str)> {
        self.posts.iter().filter_map(|p| match &p.written {
            Some(Err(e)) => Some((p, e.as_str())),
            _ => None,
        })
    }
}

/// The planned edits as JSON: `{"applied", "edits": [{post, line, old, new, why, kind, action,
/// url, citations}], "listed": [{post, line, url, kind, why}], "skipped": [{post, why}],
/// "written": [post...], "failed": [{post, why}]}`.
pub fn json<S>(r: &Report<S>, applied: bool) -> String {
    use serde_json::json;
    let mut edits = Vec::new();
    let mut listed = Vec::new();
    for p in &r.posts {
        let post = p.file.display().to_string();
        for e in &p.edits {
            edits.push(json!({
                "post": post, "line": e.line, "old": e.old, "new": e.new, "why": e.why,
                "kind": e.repair.as_str(), "action": e.action.as_str(), "url": e.url,
                "citations": e.citations,
            }));
        }
        for l in &p.listed {
            listed.push(json!({
                "post": post, "line": l.line, "url": l.url, "kind": l.repair.as_str(), "why": l.why,
            }));
        }
    }
    let skipped: Vec<_> = r
        .skipped
        .iter()
        .map(|s| json!({"post": s.file.display().to_string(), "why": s.why}))
        .collect();
    let written: Vec<_> = r.written().map(|p| p.file.display().to_string()).collect();
    let failed: Vec<_> = r
        .failed()
        .map(|(p, why)| json!({"post": p.file.display().to_string(), "why": why}))
        .collect();
    serde_json::to_string_pretty(&json!({
        "applied": applied,
        "edits": edits,
        "listed": listed,
        "skipped": skipped,
        "written": written,
        "failed": failed,
    }))
    .unwrap_or_default()
}

/// The diffs (before `--apply`), what is listed and skipped, then the summary.
pub fn text<S>(r: &Report<S>, applied: bool, color: bool) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    // The diff of what would change; once written, `git diff` (or a dry run first) shows it.
    for p in r.posts.iter().filter(|_| !applied) {
        out.push_str(&diff::unified(
            &p.file.display().to_string(),
            &p.old,
            &p.new,
            color,
        ));
    }
    let listed: Vec<_> = r
        .posts
        .iter()
        .flat_map(|p| p.listed.iter().map(move |l| (p, l)))
        .collect();
    if !listed.is_empty() {
        out.push_str("\nnot touched:\n");
        for (p, l) in &listed {
            let _ = writeln!(
                out,
                "  {}:{}  {}  {}: {}",
                sanitize(&p.file.display().to_string()),
                l.line,
                sanitize(&l.url),
                l.repair.as_str(),
                sanitize(&l.why)
            );
        }
    }
    if !r.skipped.is_empty() {
        out.push_str("\nposts skipped:\n");
        for s in &r.skipped {
            let _ = writeln!(
                out,
                "  {}: {}",
                sanitize(&s.file.display().to_string()),
                sanitize(&s.why)
            );
        }
    }
    for (p, why) in r.failed() {
        let _ = writeln!(
            out,
            "\nnot written: {}: {}",
            sanitize(&p.file.display().to_string()),
            sanitize(why)
        );
    }
    // The summary: citations repaired by kind, in how many posts.
    let mut by: Vec<(Repair, Action, usize)> = Vec::new();
    let mut posts = 0;
    for p in &r.posts {
        if p.edits.is_empty() || (applied && !matches!(p.written, Some(Ok(())))) {
            continue;
        }
        posts += 1;
        for e in &p.edits {
            match by
                .iter_mut()
                .find(|(k, a, _)| *k == e.repair && *a == e.action)
            {
                Some(x) => x.2 += e.citations,
                None => by.push((e.repair, e.action, e.citations)),
            }
        }
    }
    by.sort();
    let total: usize = by.iter().map(|x| x.2).sum();
    let plural = |n: usize, one: &str, many: &str| {
        if n == 1 {
            format!("{n} {one}")
        } else {
            format!("{n} {many}")
        }
    };
    let parts: Vec<String> = by
        .iter()
        .map(|(k, a, n)| match (k, a) {
            (Repair::Redirected, _) => format!("{n} moved (new address)"),
            (_, Action::Annotate) => format!("{n} {} (archived copy added)", k.as_str()),
            (_, Action::Replace) => format!("{n} {} (replaced by its archived copy)", k.as_str()),
        })
        .collect();
    if !out.is_empty() {
        out.push('\n');
    }
    if total == 0 {
        out.push_str("citewatch fix: nothing to change");
    } else {
        let _ = write!(
            out,
            "citewatch fix: {} in {}{}: {}",
            plural(total, "citation", "citations"),
            plural(posts, "post", "posts"),
            if applied { " changed" } else { "" },
            parts.join(", ")
        );
    }
    let already: usize = r.posts.iter().map(|p| p.already).sum();
    let mut notes = Vec::new();
    if !listed.is_empty() {
        notes.push(format!("{} not touched", listed.len()));
    }
    if already > 0 {
        notes.push(format!("{already} already with an archived copy"));
    }
    if !r.skipped.is_empty() {
        notes.push(format!(
            "{} skipped",
            plural(r.skipped.len(), "post", "posts")
        ));
    }
    if !notes.is_empty() {
        let _ = write!(out, " ({})", notes.join("; "));
    }
    out.push('\n');
    if !applied && total > 0 {
        out.push_str("nothing was written: run `citewatch fix --apply` to make these changes\n");
    }
    out
}

/// The lines naming, per git working tree, the files written in it (relative to the tree), so
/// the author can review them with `git diff`; citewatch never commits.
pub fn git_lines(trees: &[(PathBuf, Vec<String>)]) -> Vec<String> {
    trees
        .iter()
        .map(|(root, files)| {
            format!(
                "changed in the git working tree {}: {} (review with `git diff`; nothing was committed)",
                sanitize(&root.display().to_string()),
                sanitize(&files.join(", "))
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edit(repair: Repair, action: Action, citations: usize) -> Edit {
        Edit {
            range: 0..0,
            line: 3,
            old: "https://old.example.org/".into(),
            new: "https://new.example.org/".into(),
            target: "https://new.example.org/".into(),
            repair,
            action,
            url: "https://old.example.org/".into(),
            citations,
            why: "because".into(),
            note_kind: None,
        }
    }

    fn report(written: Option<Result<(), String>>) -> Report {
        Report {
            posts: vec![PostFix {
                file: "posts/a.md".into(),
                path: "a.md".into(),
                edits: vec![
                    edit(Repair::Redirected, Action::Replace, 2),
                    edit(Repair::Dead, Action::Annotate, 1),
                ],
                listed: vec![Listed {
                    line: 9,
                    url: "https://gone.example.org/\x1b[2J".into(),
                    repair: Repair::Dead,
                    why: "no archived copy".into(),
                }],
                already: 0,
                old: b"a\nold\n".to_vec(),
                new: b"a\nnew\n".to_vec(),
                written,
            }],
            skipped: vec![Skipped {
                file: "posts/b.md".into(),
                why: "changed since the last scan".into(),
            }],
            ..Report::default()
        }
    }

    #[test]
    fn the_summary_counts_citations_by_kind() {
        let t = text(&report(None), false, false);
        assert!(
            t.starts_with("--- a/posts/a.md\n+++ b/posts/a.md\n@@ -1,2 +1,2 @@\n a\n-old\n+new\n"),
            "{t}"
        );
        assert!(t.contains("not touched:\n  posts/a.md:9  https://gone.example.org/\\u{1b}[2J  dead: no archived copy\n"), "{t}");
        assert!(
            t.contains("posts skipped:\n  posts/b.md: changed since the last scan\n"),
            "{t}"
        );
        assert!(t.contains("citewatch fix: 3 citations in 1 post: 2 moved (new address), 1 dead (archived copy added) (1 not touched; 1 post skipped)\n"), "{t}");
        assert!(
            t.ends_with("run `citewatch fix --apply` to make these changes\n"),
            "{t}"
        );
        // Applied: no diff (git diff or a dry run shows it), and only what was written counts.
        let t = text(&report(Some(Ok(()))), true, false);
        assert!(!t.contains("--- a/"), "{t}");
        assert!(t.contains("3 citations in 1 post changed:"), "{t}");
        let t = text(&report(Some(Err("disk full".into()))), true, false);
        assert!(t.contains("not written: posts/a.md: disk full"), "{t}");
        assert!(t.contains("nothing to change"), "{t}");
    }

    #[test]
    fn json_names_every_field() {
        let v: serde_json::Value = serde_json::from_str(&json(&report(None), false)).unwrap();
        let e = &v["edits"][0];
        for k in [
            "post",
            "line",
            "old",
            "new",
            "why",
            "kind",
            "action",
            "url",
            "citations",
        ] {
            assert!(e.get(k).is_some(), "{k}: {e}");
        }
        assert_eq!(e["kind"], "redirected");
        assert_eq!(v["listed"][0]["line"], 9);
        assert_eq!(v["skipped"][0]["post"], "posts/b.md");
        assert_eq!(v["applied"], false);
        assert_eq!(
            git_lines(&[("/srv/blog".into(), vec!["posts/a.md".into()])]),
            ["changed in the git working tree /srv/blog: posts/a.md (review with `git diff`; nothing was committed)"]
        );
    }
}
