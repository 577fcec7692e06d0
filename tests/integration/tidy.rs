//! Architecture as a test: the pure core does no I/O and reads no clock.

const CORE: &[&str] = &[
    "src/extract/mod.rs",
    "src/extract/markdown.rs",
    "src/extract/html.rs",
    "src/extract/plain.rs",
    "src/extract/shortcode.rs",
    "src/post.rs",
    "src/normalize.rs",
    "src/guard.rs",
    "src/classify.rs",
    "src/state.rs",
    "src/confirm.rs",
    "src/schedule.rs",
    "src/report.rs",
    "src/readable.rs",
    "src/drift.rs",
    "src/alert/mod.rs",
];

const FORBIDDEN: &[&str] = &[
    "tokio",
    "reqwest",
    "rusqlite",
    "std::fs",
    "std::net::TcpStream",
    "SystemTime",
    "Utc::now",
    "Instant::now",
];

#[test]
fn core_modules_do_no_io() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    for file in CORE {
        let text =
            std::fs::read_to_string(root.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        // Tests inside a module may use what they like.
        let code = text.split("#[cfg(test)]").next().unwrap_or("");
        for f in FORBIDDEN {
            assert!(
                !code.contains(f),
                "{file} uses {f}: the core must stay free of I/O and clocks"
            );
        }
    }
}

#[test]
fn every_source_file_says_what_it_is_for() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut stack = vec![root];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") && !p.ends_with("tests.rs") {
                let text = std::fs::read_to_string(&p).unwrap();
                assert!(
                    text.starts_with("//!"),
                    "{} has no //! doc comment",
                    p.display()
                );
            }
        }
    }
}
