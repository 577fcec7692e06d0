//! One fact, one answer: whether a quoted passage stands is decided by one rule
//! (`quote::standing`), and `run` (the verdict of every check), `show`, `citewatch quotes` (table
//! and JSON), `status` and the dashboard's post JSON all give the same answer on the same
//! database, on the first check and on every re-check of the same bytes.

use serde_json::Value;

use crate::cli::{count, find, Blog};
use crate::server::{html, Routes, TestServer};

/// An article whose pull quote (in an `<aside>`, left out of the readable text) says something
/// the article body does not, with a footnote marker inside one of its sentences.
fn page(number: &str) -> String {
    let para = "The committee met again in the spring and went through the accounts line by line, \
                finding little to add to what the auditors had already written in their report. ";
    format!(
        "<html><head><title>Audit notes</title></head><body>\
         <header><nav><a href=\"/\">Home</a> <a href=\"/about\">About</a></nav></header>\
         <main><article><h1>Audit notes</h1>\
         <p>{para}{para}</p>\
         <aside class=\"pullquote\"><p>Nobody expected the fund to lose {number} percent of its value in a single quarter.</p></aside>\
         <p>{para}The slowest follower<sup>1</sup> in the group set the pace for everyone else on the road.</p>\
         <p>{para}{para}</p>\
         </article></main><footer>Footer text</footer></body></html>"
    )
}

const PULL: &str = "Nobody expected the fund to lose 12 percent of its value in a single quarter.";
const FOOTNOTED: &str =
    "The slowest follower in the group set the pace for everyone else on the road.";

fn quotes_json(blog: &Blog) -> Vec<Value> {
    blog.json(&["quotes", "--format", "json"])
        .as_array()
        .unwrap()
        .clone()
}

fn standing_of<'a>(quotes: &'a [Value], quote: &str, url: &str) -> &'a Value {
    let q = quotes
        .iter()
        .find(|q| q["quote"] == quote && q["url"] == url)
        .unwrap_or_else(|| panic!("no quote {quote:?} of {url} in {quotes:?}"));
    &q["standing"]
}

/// The dashboard's post JSON, from a `serve` process on the same database.
fn dashboard_post(blog: &Blog) -> Value {
    let conn = rusqlite::Connection::open(blog.db()).unwrap();
    let id = count(&conn, "SELECT id FROM posts WHERE path LIKE '%p.md'");
    let mut p = crate::serve::Proc::spawn(blog.path(), &["serve", "--listen", "127.0.0.1:0"]);
    let port = p.dashboard_port();
    let v = crate::serve::get(port, &format!("/post/{id}?format=json")).json();
    p.stop();
    v
}

fn citation<'a>(post: &'a Value, url: &str) -> &'a Value {
    post["citations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["url"] == url)
        .unwrap_or_else(|| panic!("no citation of {url} in {post}"))
}

#[test]
fn a_quote_has_one_answer_in_run_show_quotes_status_and_the_dashboard() {
    let site = TestServer::start(
        Routes::new()
            .at("/same", |_| html(&page("12")))
            .at("/other", |_| html(&page("21"))),
    );
    let (same, other) = (site.url("/same"), site.url("/other"));
    let blog = Blog::new();
    blog.config("").post(
        "p.md",
        &format!(
            "# Notes\n\nAs [the audit]({same}) put it: \u{201c}{PULL}\u{201d}\n\n\
             And [again]({same}): \u{201c}{FOOTNOTED}\u{201d}\n\n\
             Then [a mirror]({other}) said: \u{201c}{PULL}\u{201d}\n"
        ),
    );
    // The first check, then re-checks of the same bytes: one answer every time.
    for round in 0..3 {
        let out = blog.cmd().args(["run"]).output().unwrap();
        let status = blog.status();
        let state = |url: &str| find(&status, url)["state"].clone();
        assert_eq!(
            (state(&same), state(&other)),
            ("ok".into(), "changed".into()),
            "round {round}: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            serde_json::to_string_pretty(&quotes_json(&blog)).unwrap()
        );
    }
    let err = find(&blog.status(), &other)["error"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(err.contains("quoted passage"), "{err}");

    let q = quotes_json(&blog);
    assert_eq!(standing_of(&q, PULL, &same), "stands");
    assert_eq!(standing_of(&q, FOOTNOTED, &same), "stands");
    assert_eq!(standing_of(&q, PULL, &other), "missing");
    let table = blog
        .cmd()
        .args(["quotes", "--state", "missing"])
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&table.stdout);
    assert_eq!(table.matches("missing ").count(), 1, "{table}");
    assert!(table.contains("/other"), "{table}");

    let show = blog.cmd().args(["show", &same]).output().unwrap();
    let show = String::from_utf8_lossy(&show.stdout);
    assert_eq!(show.matches("\n      stands").count(), 2, "{show}");
    let show = blog.cmd().args(["show", &other]).output().unwrap();
    let show = String::from_utf8_lossy(&show.stdout);
    assert!(show.contains("\n      missing: "), "{show}");

    let post = dashboard_post(&blog);
    for c in post["citations"].as_array().unwrap() {
        let expected = c["url"] == same.as_str();
        assert_eq!(c["quote_stands"], expected, "{c}");
    }
    assert!(citation(&post, &other)["quote_reason"].is_string());
}
