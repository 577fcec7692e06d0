//! Tidy rules on the shape of the code (issue 20), computed from the source itself: the import
//! graph of the top-level modules may not gain a circle, and no function may grow past
//! [`MAX_FN_LINES`]. Both start from allow-lists of what is there today, which may only shrink:
//! a module that joins a circle or a new long function fails, and so does a listed one that no
//! longer needs its place (take it off the list).

use std::collections::{BTreeMap, BTreeSet};

use crate::tidy::{code_of, files, inline_paths, src, use_paths};

/// Top-level modules still on an import circle. Empty since issue 20 broke the knot of 18
/// (config no longer imports `fix`, `rows` no longer `alert`, the store no longer `serve`): the
/// module graph has no circle, and a new one fails here.
const KNOT: &[&str] = &[];

/// Functions (file and name) longer than [`MAX_FN_LINES`] today.
const LONG_FUNCTIONS: &[&str] = &["verdict.rs::judge"];

/// About what a reader takes in at once.
const MAX_FN_LINES: usize = 150;

/// The binary's files: they may use every module; nothing uses them.
const BINARY: &[&str] = &["main.rs", "cli"];

fn top_module(rel: &str) -> String {
    rel.split('/')
        .next()
        .unwrap()
        .trim_end_matches(".rs")
        .to_string()
}

/// Which top-level module uses which, from `use` statements and paths written in the code
/// (comments, strings and test modules left out).
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let rels: Vec<String> = files()
        .into_iter()
        .filter(|r| r != "lib.rs" && !BINARY.contains(&top_module(r).as_str()))
        // Test files (`extract/tests.rs`, `fix/plan/tests.rs`) are compiled only into tests.
        .filter(|r| !r.ends_with("/tests.rs") && !r.contains("/tests/"))
        .collect();
    let modules: BTreeSet<String> = rels.iter().map(|r| top_module(r)).collect();
    let mut g: BTreeMap<String, BTreeSet<String>> = modules
        .iter()
        .map(|m| (m.clone(), BTreeSet::new()))
        .collect();
    for rel in &rels {
        let code = code_of(&std::fs::read_to_string(src().join(rel)).unwrap());
        let from = top_module(rel);
        for p in use_paths(&code).into_iter().chain(inline_paths(&code)) {
            let Some(rest) = p.strip_prefix("crate::") else {
                continue;
            };
            let to = rest.split("::").next().unwrap_or("").to_string();
            if to != from && modules.contains(&to) {
                g.get_mut(&from).unwrap().insert(to);
            }
        }
    }
    g
}

/// The modules that are on some circle (strongly connected components of more than one).
fn in_circles(g: &BTreeMap<String, BTreeSet<String>>) -> BTreeSet<String> {
    // Kosaraju: order by finish time, then walk the reversed graph.
    fn visit(
        v: &str,
        g: &BTreeMap<String, BTreeSet<String>>,
        seen: &mut BTreeSet<String>,
        out: &mut Vec<String>,
    ) {
        if !seen.insert(v.to_string()) {
            return;
        }
        for w in &g[v] {
            visit(w, g, seen, out);
        }
        out.push(v.to_string());
    }
    let mut order = Vec::new();
    let mut seen = BTreeSet::new();
    for v in g.keys() {
        visit(v, g, &mut seen, &mut order);
    }
    let mut rev: BTreeMap<String, BTreeSet<String>> =
        g.keys().map(|k| (k.clone(), BTreeSet::new())).collect();
    for (v, ws) in g {
        for w in ws {
            rev.get_mut(w).unwrap().insert(v.clone());
        }
    }
    let mut seen = BTreeSet::new();
    let mut circled = BTreeSet::new();
    for v in order.iter().rev() {
        let mut comp = Vec::new();
        visit(v, &rev, &mut seen, &mut comp);
        if comp.len() > 1 {
            circled.extend(comp);
        }
    }
    circled
}

#[test]
fn no_module_joins_an_import_circle() {
    let g = graph();
    let circled = in_circles(&g);
    let known: BTreeSet<String> = KNOT.iter().map(|s| s.to_string()).collect();
    let joined: Vec<_> = circled.difference(&known).collect();
    let left: Vec<_> = known.difference(&circled).collect();
    assert!(
        joined.is_empty() && left.is_empty(),
        "modules newly on an import circle: {joined:?}; listed in KNOT but no longer on one \
         (take them off): {left:?}\nthe graph:\n{}",
        g.iter()
            .map(|(k, v)| format!("  {k} -> {v:?}"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn the_circle_finder_finds_circles() {
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (a, b) in [("a", "b"), ("b", "c"), ("c", "a"), ("c", "d"), ("e", "d")] {
        g.entry(a.into()).or_default().insert(b.into());
        g.entry(b.into()).or_default();
    }
    let got: Vec<String> = in_circles(&g).into_iter().collect();
    assert_eq!(got, ["a", "b", "c"]);
}

/// Every function outside tests with its length in lines: `file::name`.
fn function_lengths(rel: &str, code: &str) -> Vec<(String, usize)> {
    let re = regex::Regex::new(r"\bfn\s+([A-Za-z_][A-Za-z0-9_]*)").unwrap();
    let b = code.as_bytes();
    let mut out = Vec::new();
    for m in re.captures_iter(code) {
        let name = m.get(1).unwrap().as_str();
        let start = m.get(0).unwrap().start();
        // The body starts at the first `{` before any `;` (a declaration has none).
        let Some(open) = code[start..].find(['{', ';']).map(|k| start + k) else {
            continue;
        };
        if b[open] != b'{' {
            continue;
        }
        let mut depth = 0usize;
        let mut end = code.len();
        for (k, c) in code[open..].char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = open + k;
                        break;
                    }
                }
                _ => {}
            }
        }
        let lines = code[start..end].matches('\n').count() + 1;
        out.push((format!("{rel}::{name}"), lines));
    }
    out
}

#[test]
fn no_function_grows_past_the_limit() {
    let mut long = BTreeSet::new();
    for rel in files() {
        let code = code_of(&std::fs::read_to_string(src().join(&rel)).unwrap());
        for (f, n) in function_lengths(&rel, &code) {
            if n > MAX_FN_LINES {
                long.insert(f);
            }
        }
    }
    let known: BTreeSet<String> = LONG_FUNCTIONS.iter().map(|s| s.to_string()).collect();
    let new: Vec<_> = long.difference(&known).collect();
    let shrunk: Vec<_> = known.difference(&long).collect();
    assert!(
        new.is_empty() && shrunk.is_empty(),
        "functions over {MAX_FN_LINES} lines: new {new:?}; listed but now short enough (take them \
         off LONG_FUNCTIONS): {shrunk:?}"
    );
}

#[test]
fn function_lengths_are_measured() {
    let code = "fn a() {\n    x();\n}\nfn b();\nimpl X { fn c(&self) { if y { z() } } }\n";
    assert_eq!(
        function_lengths("f.rs", code),
        [("f.rs::a".to_string(), 3), ("f.rs::c".to_string(), 1)]
    );
}

/// Every write goes through the writer (ARCHITECTURE: "One writer"): outside `store/`, nothing
/// opens a `Store` for writing (`Store::open`), and no store opened for queries is bound
/// mutably, so no method that writes (they all take `&mut self`) can be called on it. A
/// `&mut Store` exists outside `store/` only as the argument the writer thread hands its
/// commands.
/// A `Store` opened for queries and bound mutably, or taken by value as `mut`.
fn store_bound_mutably() -> regex::Regex {
    regex::Regex::new(
        r"let\s+mut\s+\w+\s*(:\s*Store\s*)?=[^;]*\b(open_existing|open_reader|Store::open)\b|mut\s+\w+\s*:\s*Store\b",
    )
    .unwrap()
}

#[test]
fn every_write_goes_through_the_writer() {
    let bound_mut = store_bound_mutably();
    let mut bad = Vec::new();
    for rel in files().into_iter().filter(|r| !r.starts_with("store/")) {
        let code = code_of(&std::fs::read_to_string(src().join(&rel)).unwrap());
        if code.contains("Store::open(") {
            bad.push(format!("{rel} opens a Store for writing"));
        }
        if let Some(m) = bound_mut.find(&code) {
            bad.push(format!("{rel} binds a Store mutably: {}", m.as_str()));
        }
    }
    assert!(
        bad.is_empty(),
        "writes outside the writer:\n{}",
        bad.join("\n")
    );
}

#[test]
fn the_writer_rule_sees_a_mutable_store() {
    let bound_mut = store_bound_mutably();
    assert!(bound_mut.is_match("let mut store = open_existing(&cfg)?;"));
    assert!(bound_mut.is_match("fn f(mut s: Store) {}"));
    assert!(!bound_mut.is_match("let store = open_existing(&cfg)?;"));
}
