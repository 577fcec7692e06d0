//! WARC export validated by warcio, the reference Python implementation (`pip install warcio`;
//! `.ci/run` installs it).

use std::process::Command as Proc;

use crate::cli::Blog;
use crate::server::{html, Routes, TestServer};

fn warcio_available() -> bool {
    Proc::new("python3")
        .args(["-c", "import warcio"])
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

#[test]
fn exported_warc_passes_warcio_check_and_index() {
    if !warcio_available() {
        assert!(
            std::env::var_os("CITEWATCH_SKIP_WARCIO").is_some(),
            "warcio is needed to validate WARC output: pip install warcio (or set CITEWATCH_SKIP_WARCIO=1)"
        );
        return;
    }
    let srv = TestServer::start(
        Routes::new()
            .at("/a", |_| {
                html("<html><title>A</title><p>first page</p></html>")
            })
            .at("/b", |_| {
                html("<html><title>B</title><p>second page</p></html>")
            }),
    );
    let blog = Blog::new();
    blog.config("").post(
        "p.md",
        &format!("[a]({})\n[b]({}?q=1)\n", srv.url("/a"), srv.url("/b")),
    );
    blog.cmd().arg("run").assert().success();
    // A second check of the same bodies: revisits.
    blog.cmd().args(["check", "--all"]).assert().success();
    let file = blog.path().join("out.warc.gz");
    blog.cmd()
        .args(["export", "warc", file.to_str().unwrap()])
        .assert()
        .success();
    let check = Proc::new("python3")
        .args(["-m", "warcio.cli", "check", "-v"])
        .arg(&file)
        .output()
        .unwrap();
    let check_out = format!(
        "{}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );
    assert!(check.status.success(), "warcio check failed:\n{check_out}");
    assert!(!check_out.contains("digest failed"), "{check_out}");
    let index = Proc::new("python3")
        .args([
            "-m",
            "warcio.cli",
            "index",
            "-f",
            "warc-type,warc-target-uri,http:status,offset",
        ])
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        index.status.success(),
        "{}",
        String::from_utf8_lossy(&index.stderr)
    );
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&index.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let types: Vec<&str> = lines
        .iter()
        .map(|l| l["warc-type"].as_str().unwrap())
        .collect();
    assert_eq!(types[0], "warcinfo");
    assert_eq!(
        types.iter().filter(|t| **t == "response").count(),
        2,
        "{types:?}"
    );
    assert_eq!(
        types.iter().filter(|t| **t == "request").count(),
        2,
        "{types:?}"
    );
    assert_eq!(
        types.iter().filter(|t| **t == "revisit").count(),
        2,
        "{types:?}"
    );
    let uris: Vec<&str> = lines
        .iter()
        .filter_map(|l| l["warc-target-uri"].as_str())
        .collect();
    assert!(uris.contains(&srv.url("/a").as_str()), "{uris:?}");
    assert!(
        uris.contains(&format!("{}?q=1", srv.url("/b")).as_str()),
        "{uris:?}"
    );
    assert!(lines
        .iter()
        .filter(|l| l["warc-type"] == "response")
        .all(|l| l["http:status"] == "200"));
    // Each record is its own gzip member: every offset points at a gzip header.
    let bytes = std::fs::read(&file).unwrap();
    for l in &lines {
        let off: usize = l["offset"].as_str().unwrap().parse().unwrap();
        assert_eq!(
            &bytes[off..off + 2],
            &[0x1f, 0x8b],
            "record at {off} is not a gzip member"
        );
    }
}
