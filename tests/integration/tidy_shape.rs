//! Tidy rules on the shape of the code (issue 20), computed from the source itself: the import
//! graph of the top-level modules may not gain a circle; every file sits in one of the layers of
//! ARCHITECTURE.md ([`LAYERS`], the same table) and uses no file of a higher one; no function
//! may grow past [`MAX_FN_LINES`]; nothing outside the store writes but through the writer. The
//! allow-lists hold what is there today and may only shrink: a module that joins a circle, a new
//! upward arrow or a new long function fails, and so does a listed one that no longer needs its
//! place (take it off the list).

use std::collections::{BTreeMap, BTreeSet};

use crate::tidy::{code_of, files, inline_paths, src, use_paths};

/// Top-level modules still on an import circle. Empty since issue 20 broke the knot of 18
/// (config no longer imports `fix`, `rows` no longer `alert`, the store no longer `serve`): the
/// module graph has no circle, and a new one fails here.
const KNOT: &[&str] = &[];

/// Functions (file and name) longer than [`MAX_FN_LINES`] today.
const LONG_FUNCTIONS: &[&str] = &[];

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

/// The layers, lowest first, with the modules each holds: a file (`fix/plan.rs`), or a module
/// with all its files (`store`, `pipeline`) unless one of them is listed on its own. A module
/// may use its own layer and those below it, never one above. ARCHITECTURE.md's "Layers" table
/// is this table; change both together.
pub(crate) const LAYERS: &[(&str, &[&str])] = &[
    (
        "model",
        &["archived", "fetch", "rows", "settings", "state", "view"],
    ),
    (
        "core",
        &[
            "alert/mod.rs",
            "classify",
            "confirm",
            "diff",
            "drift",
            "extract",
            "fix/diff.rs",
            "fix/plan.rs",
            "fix/redirect.rs",
            "fix/report.rs",
            "fragment",
            "guard",
            "normalize",
            "post",
            "quote",
            "readable",
            "report",
            "schedule",
            "serve/chart.rs",
            "serve/history.rs",
            "serve/json.rs",
            "serve/metrics.rs",
            "serve/page.rs",
            "serve/sandbox.rs",
            "site",
            "snapshot",
            "text",
            "verdict",
        ],
    ),
    (
        "shells",
        &[
            "alert/sink.rs",
            "checker",
            "clock",
            "config",
            "politeness",
            "site/load.rs",
            "site/view.rs",
            "source",
            "store",
            "systemd",
            "warc",
            "watch",
            "wayback",
        ],
    ),
    (
        "sequencers",
        &[
            "fix/apply.rs",
            "fix/lookup.rs",
            "fix/mod.rs",
            "pipeline",
            "serve/mod.rs",
            "serve/routes.rs",
        ],
    ),
    ("wiring", &["daemon", "wiring"]),
    ("command line", &["cli", "main"]),
];

/// Arrows that point up today (file, the file it uses), which may only go: one that no longer
/// exists fails until it is taken off.
const UPWARD: &[(&str, &str)] = &[];

/// The crate root only declares the modules: it is in no layer and uses none.
const ROOT: &str = "lib.rs";

/// The entry of [`LAYERS`] that holds a file: the file itself, else the closest module around
/// it (`pipeline/check/judge.rs`: `pipeline/check/judge.rs`, `pipeline/check/judge`,
/// `pipeline/check`, `pipeline`), with its layer's index.
fn layer_of(rel: &str) -> Option<(usize, &'static str)> {
    let stem = rel.trim_end_matches(".rs");
    let mut names = vec![rel.to_string(), stem.to_string()];
    let mut at = stem;
    while let Some(i) = at.rfind('/') {
        at = &at[..i];
        names.push(at.to_string());
    }
    names.iter().find_map(|n| {
        LAYERS
            .iter()
            .enumerate()
            .find_map(|(i, (_, mods))| mods.iter().find(|m| *m == n).map(|m| (i, *m)))
    })
}

/// The module path of a file: `serve/page.rs` is `serve::page`, `pipeline/check/mod.rs` is
/// `pipeline::check`.
fn module_path(rel: &str) -> Vec<String> {
    let stem = rel.trim_end_matches(".rs");
    let stem = stem.strip_suffix("/mod").unwrap_or(stem);
    stem.split('/').map(str::to_string).collect()
}

/// The modules a file declares (`mod plan;`, `pub(crate) mod wiring;`): its children, which a
/// path may name without `self::`.
fn child_modules(code: &str) -> BTreeSet<String> {
    let re = regex::Regex::new(r"\bmod\s+([A-Za-z_][A-Za-z0-9_]*)\s*[;{]").unwrap();
    re.captures_iter(code).map(|c| c[1].to_string()).collect()
}

/// The file a path written in `rel` leads to: `crate::…`, `super::…`, `self::…` or a child
/// module's name, then the longest run of module names that is a file of the crate (a path
/// through a module's re-exports depends on that module). `None` for other crates and for the
/// file itself.
fn target_of(
    rel: &str,
    path: &str,
    children: &BTreeSet<String>,
    known: &BTreeSet<String>,
) -> Option<String> {
    let mut segs: Vec<&str> = path.split("::").collect();
    let mut full: Vec<String> = match segs.first().copied() {
        Some("crate") => {
            segs.remove(0);
            Vec::new()
        }
        Some("super") | Some("self") => {
            let mut base = module_path(rel);
            while let Some(s) = segs.first().copied() {
                match s {
                    "super" => {
                        base.pop();
                    }
                    "self" => {}
                    _ => break,
                }
                segs.remove(0);
            }
            base
        }
        Some(first) if children.contains(first) => module_path(rel),
        _ => return None,
    };
    full.extend(
        segs.iter()
            .filter(|s| !matches!(**s, "*" | "self" | ""))
            .map(|s| s.to_string()),
    );
    let found = (1..=full.len()).rev().find_map(|k| {
        let j = full[..k].join("/");
        [format!("{j}.rs"), format!("{j}/mod.rs")]
            .into_iter()
            .find(|f| known.contains(f))
    })?;
    (found != rel).then_some(found)
}

/// Every file (test files and the crate root left out) with the files its code uses and the
/// path that leads to each (the first one written).
fn file_arrows() -> BTreeMap<String, BTreeMap<String, String>> {
    let known: BTreeSet<String> = files().into_iter().collect();
    let mut out = BTreeMap::new();
    for rel in files() {
        if rel == ROOT || rel.ends_with("/tests.rs") || rel.contains("/tests/") {
            continue;
        }
        let code = code_of(&std::fs::read_to_string(src().join(&rel)).unwrap());
        out.insert(rel.clone(), arrows_of(&rel, &code, &known));
    }
    out
}

/// The files one file's code uses, each with the first path that leads there.
fn arrows_of(rel: &str, code: &str, known: &BTreeSet<String>) -> BTreeMap<String, String> {
    let children = child_modules(code);
    let mut to: BTreeMap<String, String> = BTreeMap::new();
    for p in use_paths(code).into_iter().chain(inline_paths(code)) {
        if let Some(t) = target_of(rel, &p, &children, known) {
            to.entry(t).or_insert(p);
        }
    }
    to
}

/// What is wrong with the layering of `arrows`: each arrow that points up and is not in
/// `allowed`, and each allowed one that no longer points up.
fn upward_arrows(
    arrows: &BTreeMap<String, BTreeMap<String, String>>,
    allowed: &[(&str, &str)],
) -> Vec<String> {
    let name = |i: usize| LAYERS[i].0;
    let mut bad = Vec::new();
    let mut seen = BTreeSet::new();
    for (from, tos) in arrows {
        let Some((lf, _)) = layer_of(from) else {
            continue;
        };
        for (to, path) in tos {
            let Some((lt, _)) = layer_of(to) else {
                continue;
            };
            if lt <= lf {
                continue;
            }
            if allowed.contains(&(from.as_str(), to.as_str())) {
                seen.insert((from.clone(), to.clone()));
                continue;
            }
            bad.push(format!(
                "{from} ({}) uses {to} ({}), a higher layer: `{path}`",
                name(lf),
                name(lt)
            ));
        }
    }
    for (from, to) in allowed {
        if !seen.contains(&(from.to_string(), to.to_string())) {
            bad.push(format!(
                "{from} -> {to} is on UPWARD but no longer points up: take it off"
            ));
        }
    }
    bad
}

#[test]
fn every_module_has_one_layer() {
    let mut bad = Vec::new();
    for rel in files() {
        if rel == ROOT || rel.ends_with("/tests.rs") || rel.contains("/tests/") {
            continue;
        }
        if layer_of(&rel).is_none() {
            bad.push(format!("{rel} is in no layer: place it in LAYERS (tidy_shape.rs) and ARCHITECTURE.md's Layers table"));
        }
    }
    // `tidy.rs` keeps the core free of shells and I/O with the same table, looked up its own way
    // (`module_of`): the two lookups must place every file alike.
    for rel in files() {
        let Some((layer, _)) = layer_of(&rel) else {
            continue;
        };
        let low = LAYERS[layer].0 == "model" || LAYERS[layer].0 == "core";
        if crate::tidy::is_core(&rel) != low {
            bad.push(format!(
                "{rel} is {} by layer_of but {} by tidy.rs's module_of",
                LAYERS[layer].0,
                if low { "not core" } else { "core" }
            ));
        }
    }
    let known: BTreeSet<String> = files().into_iter().collect();
    let mut listed = BTreeSet::new();
    for (layer, mods) in LAYERS {
        for m in *mods {
            if !listed.insert(*m) {
                bad.push(format!("{m} is listed twice in LAYERS"));
            }
            let exists = known.contains(*m)
                || known.contains(&format!("{m}.rs"))
                || known.iter().any(|f| f.starts_with(&format!("{m}/")));
            if !exists {
                bad.push(format!(
                    "{m} ({layer}) is no file or folder of src/: take it off LAYERS"
                ));
            }
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn arrows_point_down_the_layers() {
    let bad = upward_arrows(&file_arrows(), UPWARD);
    let order: Vec<&str> = LAYERS.iter().map(|(n, _)| *n).collect();
    assert!(
        bad.is_empty(),
        "a module may use only its own layer and those below ({}):\n{}",
        order.join(" < "),
        bad.join("\n")
    );
}

#[test]
fn the_layer_rule_sees_each_way_of_pointing_up() {
    let known: BTreeSet<String> = [
        "rows.rs",
        "store/mod.rs",
        "store/web.rs",
        "serve/mod.rs",
        "serve/page.rs",
        "serve/routes.rs",
        "pipeline/mod.rs",
        "pipeline/wiring.rs",
        "pipeline/check/mod.rs",
        "pipeline/check/judge.rs",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    let arrows = |rel: &str, code: &str| -> Vec<String> {
        arrows_of(rel, &code_of(code), &known).into_keys().collect()
    };
    assert_eq!(
        arrows("rows.rs", "use crate::store::{Store, web::X};"),
        ["store/mod.rs", "store/web.rs"]
    );
    assert_eq!(
        arrows("rows.rs", "fn f() { crate::serve::routes::go(); }"),
        ["serve/routes.rs"]
    );
    assert_eq!(
        arrows("serve/page.rs", "use super::routes;\nuse super::*;"),
        ["serve/mod.rs", "serve/routes.rs"]
    );
    assert_eq!(
        arrows("pipeline/mod.rs", "mod wiring;\npub use wiring::Wiring;"),
        ["pipeline/wiring.rs"]
    );
    assert_eq!(
        arrows("pipeline/check/judge.rs", "use super::super::wiring::W;"),
        ["pipeline/wiring.rs"]
    );
    assert_eq!(arrows("rows.rs", "use std::fs;\nuse chrono::Utc;\n/// crate::store\nconst S: &str = \"crate::serve\";\n#[cfg(test)]\nmod tests { use crate::store::Store; }"), Vec::<String>::new());
    let up: BTreeMap<String, BTreeMap<String, String>> = [(
        "rows.rs".to_string(),
        [(
            "store/mod.rs".to_string(),
            "crate::store::Store".to_string(),
        )]
        .into(),
    )]
    .into();
    let bad = upward_arrows(&up, &[]);
    assert_eq!(
        bad,
        ["rows.rs (model) uses store/mod.rs (shells), a higher layer: `crate::store::Store`"]
    );
    assert!(upward_arrows(&up, &[("rows.rs", "store/mod.rs")]).is_empty());
    assert_eq!(
        upward_arrows(&BTreeMap::new(), &[("rows.rs", "store/mod.rs")]),
        ["rows.rs -> store/mod.rs is on UPWARD but no longer points up: take it off"]
    );
    assert_eq!(
        layer_of("pipeline/check/judge.rs").map(|l| l.1),
        Some("pipeline")
    );
    assert_eq!(layer_of("fix/plan.rs").map(|l| l.1), Some("fix/plan.rs"));
    assert_eq!(layer_of("fix/mod.rs").map(|l| l.1), Some("fix/mod.rs"));
    assert_eq!(layer_of("daemon.rs").map(|l| l.1), Some("daemon"));
    assert_eq!(layer_of("nowhere.rs"), None);
}

/// ARCHITECTURE.md's "Layers" table, highest layer first: each layer's name, then its files
/// (`daemon.rs`) and folders (`store/`); text in parentheses describes them.
fn documented_layers(doc: &str) -> Vec<(String, BTreeSet<String>)> {
    let Some(section) = doc.split("\n## Layers\n").nth(1) else {
        return Vec::new();
    };
    let table = section.split("```").nth(1).unwrap_or("");
    let mut layers: Vec<(String, String)> = Vec::new();
    for line in table.lines().filter(|l| !l.trim().is_empty()) {
        if line.starts_with(' ') {
            if let Some((_, text)) = layers.last_mut() {
                text.push(' ');
                text.push_str(line);
            }
        } else {
            let (name, text) = line.split_once("  ").unwrap_or((line, ""));
            layers.push((name.trim().to_string(), text.to_string()));
        }
    }
    layers
        .into_iter()
        .map(|(name, text)| {
            let mut bare = String::new();
            let mut depth = 0usize;
            for c in text.chars() {
                match c {
                    '(' => depth += 1,
                    ')' => depth = depth.saturating_sub(1),
                    c if depth == 0 => bare.push(c),
                    _ => {}
                }
            }
            let entries = bare
                .split(|c: char| c == ',' || c.is_whitespace())
                .filter(|t| t.ends_with(".rs") || t.ends_with('/'))
                .map(|t| match t.strip_suffix('/') {
                    Some(folder) => folder.to_string(),
                    None if !t.contains('/') => t.trim_end_matches(".rs").to_string(),
                    None => t.to_string(),
                })
                .collect();
            (name, entries)
        })
        .collect()
}

#[test]
fn the_layers_table_is_the_one_in_architecture_md() {
    let doc = std::fs::read_to_string(src().join("../ARCHITECTURE.md")).unwrap();
    let documented = documented_layers(&doc);
    let ours: Vec<(String, BTreeSet<String>)> = LAYERS
        .iter()
        .rev()
        .map(|(name, mods)| {
            (
                name.to_string(),
                mods.iter().map(|m| m.to_string()).collect(),
            )
        })
        .collect();
    assert_eq!(
        documented, ours,
        "ARCHITECTURE.md's Layers table (left) and LAYERS in tidy_shape.rs (right) differ"
    );
}

#[test]
fn the_documented_table_is_read_as_written() {
    let doc = "x\n## Layers\n\ntext\n\n```\ntop   cli/, main.rs\n      (a, b/ and c.rs)\nlow   rows.rs, fix/plan.rs (x.rs,\n      y.rs)\n```\n";
    let got = documented_layers(doc);
    let set = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
    assert_eq!(
        got,
        [
            ("top".to_string(), set(&["cli", "main"])),
            ("low".to_string(), set(&["rows", "fix/plan.rs"]))
        ]
    );
}
