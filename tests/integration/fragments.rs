//! Anchors and text fragments through the real binary: judged per citation from the page the
//! check fetched (no extra request), an anchor never on the page is a broken citation, one that
//! was there and went is a change of the link, a text fragment is a quote; JSON and the run's
//! summary say which.

use serde_json::Value;

use crate::cli::{find, Blog};
use crate::server::{html, Routes, Switch, TestServer};

fn page(renamed: bool) -> String {
    let heading = if renamed {
        "<h2 id=\"getting-started\">Getting started</h2>"
    } else {
        "<h2 id=\"usage\">Usage</h2>"
    };
    let sentence = if renamed {
        ""
    } else {
        "<p>The slowest follower sets the pace of the whole group.</p>"
    };
    // Long enough that a renamed heading and one sentence less leave the text the same page.
    const WORDS: &[&str] = &[
        "checker",
        "reads",
        "every",
        "post",
        "follows",
        "links",
        "archive",
        "keeps",
        "page",
        "author",
        "compares",
        "later",
        "schedule",
        "daemon",
        "quietly",
        "notices",
        "rot",
        "before",
        "readers",
        "do",
        "citation",
        "moved",
        "server",
        "answers",
        "snapshot",
        "history",
        "alerts",
        "once",
        "confirmed",
        "state",
        "changes",
        "over",
        "weeks",
    ];
    let mut x: usize = 7;
    let body: String = (0..20)
        .map(|_| {
            let words: Vec<&str> = (0..30)
                .map(|_| {
                    x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345) % (1 << 31);
                    WORDS[(x >> 8) % WORDS.len()]
                })
                .collect();
            format!("<p>{}.</p>", words.join(" "))
        })
        .collect();
    format!(
        "<html><head><title>Docs</title></head><body><main><h1 id=\"top-title\">Docs</h1>\
         {heading}<p>Install it, then run it on your posts every day.</p>{sentence}{body}\
         <h2 id=\"faq\">FAQ</h2><p>Questions people ask about the tool and its answers.</p>\
         </main></body></html>"
    )
}

fn citation<'a>(row: &'a Value, post: &str) -> &'a Value {
    row["citations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["post"].as_str().is_some_and(|p| p.ends_with(post)))
        .unwrap_or_else(|| panic!("no citation in {post}: {row}"))
}

#[test]
fn anchors_and_text_fragments_are_checked_per_citation() {
    let renamed = Switch::new();
    let r2 = renamed.clone();
    let site = TestServer::start(Routes::new().at("/docs", move |_| html(&page(r2.is_on()))));
    let docs = site.url("/docs");
    let blog = Blog::new();
    blog.config("")
        .post("a.md", &format!("See [usage]({docs}#usage).\n"))
        .post("b.md", &format!("See [the FAQ]({docs}#faq).\n"))
        .post(
            "c.md",
            &format!("As [the docs]({docs}#:~:text=slowest%20follower) say.\n"),
        )
        .post("d.md", &format!("See [nothing]({docs}#no-such-section).\n"));

    // First run: three stand, one anchor was never there (a broken citation, as lychee says).
    let out = blog.cmd().arg("run").output().unwrap();
    let table = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{table}");
    assert!(
        table.contains("no anchor #no-such-section on the page"),
        "{table}"
    );
    assert!(table.contains("d.md"), "{table}");
    assert!(
        !table.contains("a.md"),
        "only the broken citation is listed: {table}"
    );
    let rows = blog.status();
    let row = find(&rows, &docs);
    assert_eq!(row["state"], "ok", "the page itself is fine");
    assert_eq!(citation(row, "a.md")["fragment_state"], "present");
    assert_eq!(citation(row, "b.md")["fragment_state"], "present");
    assert_eq!(citation(row, "c.md")["fragment_state"], "present");
    assert_eq!(citation(row, "d.md")["fragment_state"], "missing");
    assert_eq!(
        citation(row, "d.md")["fragment_reason"],
        "no anchor #no-such-section on the page"
    );
    assert_eq!(
        site.hits("/docs"),
        1,
        "one request for the page, whatever its fragments"
    );

    // The heading is renamed and the highlighted sentence deleted: the citations that pointed
    // there rotted, the link is changed; the FAQ citation still stands.
    renamed.on();
    blog.cmd().arg("run").assert().code(2);
    let rows = blog.status();
    let row = find(&rows, &docs);
    assert_eq!(row["state"], "changed", "{row}");
    let why = row["error"].as_str().unwrap();
    assert!(
        why.contains("anchor #usage is no longer on the page") || why.contains("text fragment"),
        "{why}"
    );
    assert_eq!(citation(row, "a.md")["fragment_state"], "gone");
    assert_eq!(
        citation(row, "a.md")["fragment_reason"],
        "anchor #usage is no longer on the page"
    );
    assert_eq!(citation(row, "b.md")["fragment_state"], "present");
    assert_eq!(citation(row, "c.md")["fragment_state"], "gone");
    assert_eq!(citation(row, "d.md")["fragment_state"], "missing");
    assert_eq!(site.hits("/docs"), 2);
    let show = blog.cmd().args(["show", &docs]).output().unwrap();
    let show = String::from_utf8_lossy(&show.stdout);
    assert!(
        show.contains("#usage: gone (anchor #usage is no longer on the page)"),
        "{show}"
    );
    assert!(show.contains("#faq: present"), "{show}");

    // Removing the broken and rotted citations leaves a clean run: the FAQ anchor stands... but
    // the page's content changed since it was cited, which the quote-less link does not mind.
    blog.post("a.md", "No link.\n")
        .post("c.md", "No link.\n")
        .post("d.md", "No link.\n");
    let out = blog.cmd().arg("run").output().unwrap();
    let rows = blog.status();
    let row = find(&rows, &docs);
    assert_eq!(citation(row, "b.md")["fragment_state"], "present");
    assert_ne!(
        row["error"].as_str().unwrap_or(""),
        "anchor #usage is no longer on the page",
        "a fragment no post cites any more decides nothing: {}",
        String::from_utf8_lossy(&out.stdout)
    );
}
