//! Architecture as a test: the pure core uses only core modules and no I/O crate, no clock and
//! no randomness; every module is either core or a shell; every file says what it is for; write
//! transactions start `IMMEDIATE`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::tidy_shape::LAYERS;

/// Modules of the pure core (a file, or a folder of files), values in and values out: the
/// "model" and "core" layers of `tidy_shape.rs`'s [`LAYERS`] (one table for both tests).
fn core() -> Vec<&'static str> {
    LAYERS
        .iter()
        .filter(|(layer, _)| matches!(*layer, "model" | "core"))
        .flat_map(|(_, mods)| mods.iter().copied())
        .collect()
}

/// Shells (each owns one kind of I/O), sequencing (`pipeline`, `daemon`) and the binary's
/// files: every other layer of [`LAYERS`], and the crate root.
fn shells() -> Vec<&'static str> {
    LAYERS
        .iter()
        .filter(|(layer, _)| !matches!(*layer, "model" | "core"))
        .flat_map(|(_, mods)| mods.iter().copied())
        .chain(["lib"])
        .collect()
}

/// Crates that do I/O, read a clock or draw randomness: never in the core.
const FORBIDDEN_CRATES: &[&str] = &[
    "tokio",
    "tokio_util",
    "reqwest",
    "rusqlite",
    "rand",
    "notify",
    "lettre",
    "sd_notify",
    "walkdir",
    "tracing",
    "indicatif",
    "futures_util",
];

/// Parts of std that do I/O or read the clock.
const FORBIDDEN_STD: &[&str] = &[
    "std::fs",
    "std::net::TcpStream",
    "std::net::TcpListener",
    "std::net::UdpSocket",
    "std::net::ToSocketAddrs",
    "std::process",
    "std::env",
    "std::thread",
    "std::io::stdin",
    "std::io::stdout",
    "std::io::stderr",
    "std::time::SystemTime",
    "std::time::Instant",
];

/// Clock readings however they are spelled.
const FORBIDDEN_CALLS: &[&str] = &["Utc::now", "Local::now", "Instant::now", "SystemTime::now"];

pub fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every `.rs` file under `src/`, as a path relative to it.
pub fn files() -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![src()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                let rel = p
                    .strip_prefix(src())
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                out.push(rel);
            }
        }
    }
    out.sort();
    out
}

/// The module a file belongs to, as the lists above name it.
fn module_of(rel: &str) -> &str {
    if core().contains(&rel) || shells().contains(&rel) {
        return rel;
    }
    rel.split('/').next().unwrap().trim_end_matches(".rs")
}

pub fn is_core(rel: &str) -> bool {
    core().contains(&module_of(rel))
}

/// The code of a file without comments, string and char literals, and test modules (an inline
/// `#[cfg(test)] mod … { … }` block, wherever it is; test files such as `extract/tests.rs`).
pub fn code_of(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'/' if b.get(i + 1) == Some(&b'/') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i + 1 < b.len() && !(b[i] == b'*' && b[i + 1] == b'/') {
                    i += 1;
                }
                i += 2;
            }
            b'r' if (b.get(i + 1) == Some(&b'"') || b.get(i + 1) == Some(&b'#'))
                && (i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_')) =>
            {
                let mut j = i + 1;
                let mut hashes = 0;
                while b.get(j) == Some(&b'#') {
                    hashes += 1;
                    j += 1;
                }
                if b.get(j) != Some(&b'"') {
                    out.push('r');
                    i += 1;
                    continue;
                }
                j += 1;
                let close: Vec<u8> = std::iter::once(b'"')
                    .chain(std::iter::repeat_n(b'#', hashes))
                    .collect();
                while j < b.len() && !b[j..].starts_with(&close) {
                    j += 1;
                }
                i = j + close.len();
                out.push_str("\"\"");
            }
            b'"' => {
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
                out.push_str("\"\"");
            }
            b'\'' if b.get(i + 2) == Some(&b'\'') || b.get(i + 1) == Some(&b'\\') => {
                // A char literal ('x', '\n', '\u{..}'); a lifetime has no closing quote nearby.
                let mut j = i + 1;
                if b.get(j) == Some(&b'\\') {
                    j += 2;
                }
                while j < b.len() && b[j] != b'\'' && j < i + 12 {
                    j += 1;
                }
                i = j + 1;
            }
            c => {
                out.push(c as char);
                i += 1;
            }
        }
    }
    strip_test_modules(&out)
}

/// Removes every `#[cfg(test)]` item (a `mod … { … }` block or a `mod …;` line).
fn strip_test_modules(code: &str) -> String {
    let mut out = String::new();
    let mut rest = code;
    while let Some(at) = rest.find("#[cfg(test)]") {
        out.push_str(&rest[..at]);
        let after = &rest[at..];
        let semi = after.find(';').unwrap_or(after.len());
        match after.find('{') {
            Some(open) if open < semi => {
                let mut depth = 0;
                let mut end = after.len();
                for (k, c) in after.char_indices().skip(open) {
                    match c {
                        '{' => depth += 1,
                        '}' => {
                            depth -= 1;
                            if depth == 0 {
                                end = k + 1;
                                break;
                            }
                        }
                        _ => {}
                    }
                }
                rest = &after[end..];
            }
            _ => rest = &after[(semi + 1).min(after.len())..],
        }
    }
    out.push_str(rest);
    out
}

/// Every path a `use` statement names, braces expanded: `use std::{fs, io::Read};` gives
/// `std::fs` and `std::io::Read`.
pub fn use_paths(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(at) = find_word(rest, "use") {
        let after = &rest[at + 3..];
        let end = after.find(';').unwrap_or(after.len());
        expand("", after[..end].trim(), &mut out);
        rest = &after[end..];
    }
    out
}

fn find_word(hay: &str, word: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = hay[from..].find(word) {
        let at = from + i;
        let before = hay[..at].chars().next_back();
        let after = hay[at + word.len()..].chars().next();
        let boundary = |c: Option<char>| c.is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
        if boundary(before) && after.is_some_and(char::is_whitespace) {
            return Some(at);
        }
        from = at + word.len();
    }
    None
}

fn expand(prefix: &str, tree: &str, out: &mut Vec<String>) {
    // `a as b` keeps its path `a`: mark the rename before whitespace goes.
    let renamed = regex::Regex::new(r"\s+as\s+")
        .unwrap()
        .replace_all(tree, "@");
    let tree: String = renamed.chars().filter(|c| !c.is_whitespace()).collect();
    let join = |p: &str, s: &str| {
        if p.is_empty() {
            s.to_string()
        } else {
            format!("{p}::{s}")
        }
    };
    match tree.find('{') {
        None => {
            for part in tree.split(',').filter(|p| !p.is_empty()) {
                let part = part.split('@').next().unwrap_or(part);
                let part = part.strip_suffix("::self").unwrap_or(part);
                out.push(
                    join(prefix, if part == "self" { "" } else { part })
                        .trim_end_matches("::")
                        .to_string(),
                );
            }
        }
        Some(open) => {
            let head = tree[..open].trim_end_matches("::");
            let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
            // Split the inner list at top-level commas.
            let (mut depth, mut start) = (0, 0);
            let p = join(prefix, head);
            for (k, c) in inner.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        expand(&p, &inner[start..k], out);
                        start = k + 1;
                    }
                    _ => {}
                }
            }
            expand(&p, &inner[start..], out);
        }
    }
}

/// Every path written in the code itself (`std::fs::read(...)`, `crate::store::ts(...)`).
pub fn inline_paths(code: &str) -> Vec<String> {
    let re = regex::Regex::new(r"\b[A-Za-z_][A-Za-z0-9_]*(?:::[A-Za-z_][A-Za-z0-9_]*)+").unwrap();
    re.find_iter(code).map(|m| m.as_str().to_string()).collect()
}

/// What is wrong with one core file's code.
fn violations(rel: &str, code: &str) -> Vec<String> {
    let mut bad = BTreeSet::new();
    let paths: Vec<String> = use_paths(code)
        .into_iter()
        .chain(inline_paths(code))
        .collect();
    for p in &paths {
        let root = p.split("::").next().unwrap_or("");
        if let Some(module) = p.strip_prefix("crate::") {
            let mut parts = module.split("::");
            let m = parts.next().unwrap_or("");
            // A shell file inside a folder is named by its file (`crate::site::load` →
            // `site/load.rs`), the folder's own module by `mod.rs`.
            let file = format!("{m}/{}.rs", parts.next().unwrap_or("mod"));
            let (cores, shell) = (core(), shells());
            let listed = |f: &str| cores.contains(&f) || shell.contains(&f);
            let folder = format!("{m}/mod.rs");
            let core = if listed(&file) {
                cores.contains(&file.as_str())
            } else if listed(&folder) {
                cores.contains(&folder.as_str())
            } else {
                cores.contains(&m)
            };
            if !core {
                bad.insert(format!("{rel} uses crate::{m}, which is not a core module"));
            }
        }
        if FORBIDDEN_CRATES.contains(&root) {
            bad.insert(format!("{rel} uses the crate {root}"));
        }
        for f in FORBIDDEN_STD {
            if p == f || p.starts_with(&format!("{f}::")) {
                bad.insert(format!("{rel} uses {f}"));
            }
        }
    }
    for call in FORBIDDEN_CALLS {
        if code.contains(call) {
            bad.insert(format!("{rel} reads the clock ({call})"));
        }
    }
    bad.into_iter().collect()
}

#[test]
fn core_modules_use_only_core_modules_and_do_no_io() {
    let mut bad = Vec::new();
    for rel in files() {
        if !is_core(&rel) || rel.ends_with("/tests.rs") {
            continue;
        }
        let text = std::fs::read_to_string(src().join(&rel)).unwrap();
        bad.extend(violations(&rel, &code_of(&text)));
    }
    assert!(
        bad.is_empty(),
        "the pure core must stay free of shells, I/O, clocks and randomness:\n{}",
        bad.join("\n")
    );
}

/// The tidy rule itself can fail: each way of reaching a shell or I/O is caught, and test
/// modules (only they) are exempt.
#[test]
fn the_tidy_rule_catches_each_way_of_doing_io() {
    let cases = [
        ("use std::{fs, io};", "std::fs"),
        ("use std::process::Command;", "std::process"),
        ("fn f() { let _ = std::fs::read(\"x\"); }", "std::fs"),
        ("use crate::store::Store;", "crate::store"),
        (
            "use crate::{state::State, checker::Fetched};",
            "crate::checker",
        ),
        ("fn f() { crate::pipeline::scan(); }", "crate::pipeline"),
        ("fn f() { crate::site::load::locate(p); }", "crate::site"),
        ("use crate::alert::sink::Sink;", "crate::alert"),
        ("fn f() -> u8 { rand::random() }", "rand"),
        ("use tokio::time::sleep;", "tokio"),
        ("fn f() { let _ = chrono::Utc::now(); }", "Utc::now"),
        ("use std::time::{Duration, Instant};", "std::time::Instant"),
        ("use std::net::{IpAddr, TcpStream};", "std::net::TcpStream"),
    ];
    for (code, what) in cases {
        let v = violations("classify.rs", &code_of(code));
        assert!(
            v.iter().any(|m| m.contains(what)),
            "{code:?} should be caught as {what}: {v:?}"
        );
    }
    let fine = "use crate::state::State;\nuse std::collections::HashMap;\n/// see crate::store::Store\nconst S: &str = \"std::fs\";\n#[cfg(test)]\nmod tests {\n    use std::fs;\n    fn f() { let _ = crate::store::Store::open; }\n}\nfn after_tests() {}\n";
    assert_eq!(
        violations("classify.rs", &code_of(fine)),
        Vec::<String>::new()
    );
    let after = "#[cfg(test)]\nmod tests {\n    use std::fs;\n}\nfn later() { let _ = std::fs::read(\"x\"); }\n";
    assert!(
        !violations("classify.rs", &code_of(after)).is_empty(),
        "code after a test module is still checked"
    );
}

#[test]
fn every_module_is_core_or_shell() {
    for rel in files() {
        if rel.ends_with("/tests.rs") {
            continue;
        }
        let m = module_of(&rel);
        assert!(
            core().contains(&m) || shells().contains(&m),
            "{rel}: place `{m}` in a layer of LAYERS (tests/integration/tidy_shape.rs)"
        );
        assert!(
            !(core().contains(&m) && shells().contains(&m)),
            "{m} is listed as both core and shell"
        );
    }
}

/// A deferred transaction that reads and then writes fails at once with `SQLITE_BUSY` when
/// another connection wrote meanwhile: every write transaction of the store starts `IMMEDIATE`.
#[test]
fn store_write_transactions_start_immediate() {
    for rel in files().into_iter().filter(|r| r.starts_with("store/")) {
        let text = std::fs::read_to_string(src().join(&rel)).unwrap();
        let code = code_of(&text);
        assert!(
            !code.contains(".transaction()"),
            "{rel} starts a deferred transaction; use write_tx()"
        );
    }
}

#[test]
fn every_source_file_says_what_it_is_for() {
    for rel in files() {
        if rel.ends_with("/tests.rs") {
            continue;
        }
        let text = std::fs::read_to_string(src().join(&rel)).unwrap();
        assert!(text.starts_with("//!"), "{rel} has no //! doc comment");
    }
}
