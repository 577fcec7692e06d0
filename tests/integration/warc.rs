//! WARC export: read back record by record here (revisits checked against the responses they
//! refer to) and validated by warcio, the reference Python implementation (`pip install warcio`;
//! `.ci/run` installs it). Without warcio the test fails: a skipped validation is no validation.

use std::path::Path;
use std::process::Command as Proc;

use crate::cli::Blog;
use crate::server::{html, redirect, Routes, TestServer};

/// One WARC record: its named fields (after `WARC/1.1`) and its block.
#[derive(Debug, Clone)]
pub struct Record {
    pub fields: Vec<(String, String)>,
    pub block: Vec<u8>,
}

impl Record {
    /// A field's value; panics when the record has it more than once.
    pub fn get(&self, name: &str) -> Option<&str> {
        let found: Vec<&str> = self
            .fields
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect();
        assert!(found.len() <= 1, "{name} twice in {:?}", self.fields);
        found.first().copied()
    }

    pub fn kind(&self) -> &str {
        self.get("WARC-Type").expect("WARC-Type")
    }

    pub fn target(&self) -> &str {
        self.get("WARC-Target-URI").unwrap_or("")
    }

    /// The HTTP payload of a response record: the block after the HTTP head.
    pub fn http_body(&self) -> &[u8] {
        let end = self
            .block
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("an HTTP head");
        &self.block[end + 4..]
    }
}

/// Every record of a `.warc.gz`, in order; panics when the framing is off.
pub fn read_warc(path: &Path) -> Vec<Record> {
    let bytes = std::fs::read(path).unwrap();
    let mut all = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::MultiGzDecoder::new(&bytes[..]), &mut all)
        .unwrap();
    let mut out = Vec::new();
    let mut rest = &all[..];
    while !rest.is_empty() {
        let end = rest
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("a record head");
        let head = std::str::from_utf8(&rest[..end]).unwrap();
        let mut lines = head.split("\r\n");
        assert_eq!(lines.next(), Some("WARC/1.1"));
        let fields: Vec<(String, String)> = lines
            .map(|l| {
                let (k, v) = l.split_once(": ").unwrap();
                (k.to_string(), v.to_string())
            })
            .collect();
        let rec = Record {
            fields,
            block: Vec::new(),
        };
        let len: usize = rec.get("Content-Length").unwrap().parse().unwrap();
        let block = rest[end + 4..end + 4 + len].to_vec();
        assert_eq!(&rest[end + 4 + len..end + 8 + len], b"\r\n\r\n");
        out.push(Record { block, ..rec });
        rest = &rest[end + 8 + len..];
    }
    out
}

/// `sha1:BASE32` as WARC digests are written.
pub fn digest(bytes: &[u8]) -> String {
    citewatch::warc::sha1_digest(bytes)
}

/// Checks every revisit against the response it refers to: same payload digest, that response's
/// own URI and date, and written before it. Returns the number of revisits.
pub fn assert_revisits_refer_to_responses(records: &[Record]) -> usize {
    let mut revisits = 0;
    for (i, r) in records.iter().enumerate() {
        if r.kind() == "response" {
            assert_eq!(
                r.get("WARC-Payload-Digest"),
                Some(digest(r.http_body()).as_str()),
                "the response's payload digest is the digest of its body: {:?}",
                r.fields
            );
        }
        if r.kind() != "revisit" {
            continue;
        }
        revisits += 1;
        assert_eq!(
            r.get("WARC-Profile"),
            Some("http://netpreserve.org/warc/1.1/revisit/identical-payload-digest")
        );
        let uri = r.get("WARC-Refers-To-Target-URI").expect("refers-to URI");
        let date = r.get("WARC-Refers-To-Date").expect("refers-to date");
        let referred: Vec<&Record> = records[..i]
            .iter()
            .filter(|o| o.kind() == "response" && o.target() == uri)
            .collect();
        assert!(
            !referred.is_empty(),
            "a revisit of {} refers to {uri}, which has no earlier response",
            r.target()
        );
        let same_date: Vec<&&Record> = referred
            .iter()
            .filter(|o| o.get("WARC-Date") == Some(date))
            .collect();
        assert_eq!(
            same_date.len(),
            1,
            "a revisit of {} refers to {uri} at {date}; responses of that URI are at {:?}",
            r.target(),
            referred
                .iter()
                .map(|o| o.get("WARC-Date"))
                .collect::<Vec<_>>()
        );
        assert_eq!(
            same_date[0].get("WARC-Payload-Digest"),
            r.get("WARC-Payload-Digest"),
            "a revisit of {} has the payload digest of the response it refers to",
            r.target()
        );
    }
    revisits
}

/// warcio must be importable; when it is not, the test fails saying how to install it.
pub fn require_warcio() {
    let ok = Proc::new("python3")
        .args(["-c", "import warcio"])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(
        ok,
        "warcio validates the WARC files citewatch writes and is not installed: pip install warcio \
         (.ci/run installs it)"
    );
}

#[test]
fn exported_warc_passes_warcio_check_and_revisits_refer_to_their_responses() {
    require_warcio();
    let page_a = "<html><title>A</title><p>first page</p></html>";
    let srv = TestServer::start(
        Routes::new()
            .at("/a", move |_| html(page_a))
            .at("/b", |_| {
                html("<html><title>B</title><p>second page</p></html>")
            })
            // The same bytes under another URI: one response, the other a revisit of it.
            .at("/same-as-a", move |_| html(page_a))
            .at("/old", |_| redirect(301, "/b")),
    );
    let blog = Blog::new();
    blog.config("soft_404_probe = false\n").post(
        "p.md",
        &format!(
            "[a]({})\n[b]({}?q=1)\n[same]({})\n[old]({})\n",
            srv.url("/a"),
            srv.url("/b"),
            srv.url("/same-as-a"),
            srv.url("/old")
        ),
    );
    blog.cmd().arg("run").assert().success();
    // The first captures are a year old, so a revisit's own date can never pass for the date
    // of the response it refers to.
    let conn = rusqlite::Connection::open(blog.db()).unwrap();
    conn.execute(
        "UPDATE checks SET checked_at = '2025-01-01T00:00:' || printf('%02d', id) || 'Z'",
        [],
    )
    .unwrap();
    drop(conn);
    // A second check of the same bodies: revisits.
    blog.cmd().args(["check", "--all"]).assert().success();
    let file = blog.path().join("out.warc.gz");
    blog.cmd()
        .args(["export", "warc", file.to_str().unwrap()])
        .assert()
        .success();

    let records = read_warc(&file);
    let kinds: Vec<&str> = records.iter().map(Record::kind).collect();
    assert_eq!(kinds[0], "warcinfo");
    let count = |k: &str| kinds.iter().filter(|x| **x == k).count();
    // Two distinct bodies (a, b) over eight captures; the redirected link is captured at the
    // URL that answered.
    assert_eq!(count("response"), 2, "{kinds:?}");
    assert_eq!(count("request"), 2, "{kinds:?}");
    assert_eq!(count("revisit"), 6, "{kinds:?}");
    assert_eq!(assert_revisits_refer_to_responses(&records), 6);
    assert!(records.iter().all(|r| r.target() != srv.url("/old")));
    // The identical page under another URI is a revisit of the other URI's response.
    let shared: Vec<&Record> = records
        .iter()
        .filter(|r| r.target() == srv.url("/a") || r.target() == srv.url("/same-as-a"))
        .filter(|r| r.kind() != "request")
        .collect();
    let first = shared
        .iter()
        .find(|r| r.kind() == "response")
        .expect("one response for the shared body");
    for r in shared.iter().filter(|r| r.kind() == "revisit") {
        assert_eq!(r.get("WARC-Refers-To-Target-URI"), Some(first.target()));
        assert_eq!(
            r.get("WARC-Refers-To-Date"),
            first.get("WARC-Date"),
            "{:?}",
            r.fields
        );
    }
    assert!(first.get("WARC-Date").unwrap().starts_with("2025-01-01"));
    // Every request record goes with the response just before it.
    for (i, r) in records
        .iter()
        .enumerate()
        .filter(|(_, r)| r.kind() == "request")
    {
        let resp = &records[i - 1];
        assert_eq!(resp.kind(), "response");
        assert_eq!(r.get("WARC-Concurrent-To"), resp.get("WARC-Record-ID"));
        assert_eq!(r.target(), resp.target());
    }

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
    assert!(
        check_out.matches("digest pass").count() >= 2,
        "warcio checked digests:\n{check_out}"
    );
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
    assert_eq!(types, kinds, "warcio reads the records we read");
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
