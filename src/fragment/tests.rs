//! Tables for `fragment`: lychee's fragment fixtures and tests, the WICG spec's examples, the
//! slug tables of github-slugger, Hugo and kramdown, pages shaped like real doc generators'.

use proptest::prelude::*;
use url::Url;

use super::slug::{slug, Slugger};
use super::*;

fn url(s: &str) -> Url {
    Url::parse(s).unwrap()
}

fn td(prefix: Option<&str>, start: &str, end: Option<&str>, suffix: Option<&str>) -> TextDirective {
    TextDirective {
        prefix: prefix.map(String::from),
        start: start.into(),
        end: end.map(String::from),
        suffix: suffix.map(String::from),
    }
}

fn directives(f: &str) -> Vec<TextDirective> {
    match parse(f) {
        Fragment::Text { directives, .. } => directives,
        other => panic!("{f}: not a text fragment: {other:?}"),
    }
}

/// Whether every text directive of `fragment` stands in `html`.
fn text_in(fragment: &str, html: &str) -> FragmentStanding {
    standing_in_html(&parse(fragment), html, &url("https://example.org/"))
}

fn present(fragment: &str, html: &str) -> bool {
    text_in(fragment, html) == FragmentStanding::Present
}

// ---------------------------------------------------------------- parsing

#[test]
fn parses_plain_top_route_and_anchor() {
    assert_eq!(parse(""), Fragment::Top);
    assert_eq!(parse("#"), Fragment::Top);
    assert_eq!(parse("top"), Fragment::Top);
    assert_eq!(parse("TOP"), Fragment::Top);
    assert_eq!(parse("#!/inbox"), Fragment::Route("!/inbox".into()));
    assert_eq!(
        parse("/settings/profile"),
        Fragment::Route("/settings/profile".into())
    );
    assert_eq!(
        parse("Upper-%C3%84%C3%96%C3%B6"),
        Fragment::Anchor(Anchor {
            raw: "Upper-%C3%84%C3%96%C3%B6".into(),
            decoded: "Upper-ÄÖö".into()
        })
    );
    // Not UTF-8 once decoded: kept as written.
    assert_eq!(
        parse("a%FFb"),
        Fragment::Anchor(Anchor {
            raw: "a%FFb".into(),
            decoded: "a%FFb".into()
        })
    );
}

/// lychee `lychee-lib/src/utils/fragment_checker/parsed_fragment.rs` tests.
#[test]
fn parses_text_directives_as_lychee_does() {
    assert_eq!(
        directives(":~:unknown&text=needle"),
        vec![td(None, "needle", None, None)]
    );
    assert_eq!(
        parse("section:~:text=needle&unknown"),
        Fragment::Text {
            anchor: Some(Anchor::new("section")),
            directives: vec![td(None, "needle", None, None)]
        }
    );
    assert_eq!(
        directives(":~:unknown&text=The%20concept%20of-,end%2Duser,-first%20surfaced%20in&unknown&text=second%20text%20directive"),
        vec![
            td(Some("The concept of"), "end-user", None, Some("first surfaced in")),
            td(None, "second text directive", None, None),
        ]
    );
    assert_eq!(
        directives(":~:text=consectetur%20adipiscing%20elit.-,Sed%20porta,-nisl%20sit%20amet"),
        vec![td(
            Some("consectetur adipiscing elit."),
            "Sed porta",
            None,
            Some("nisl sit amet")
        )]
    );
    assert_eq!(
        directives(":~:text=b%C2%A0cd"),
        vec![td(None, "b\u{a0}cd", None, None)]
    );
    // An empty `text=` cannot be read (lychee drops it; a browser highlights nothing).
    assert!(matches!(parse(":~:text="), Fragment::Unparseable { .. }));
}

/// The spec's "parse a text directive" and its syntax examples.
#[test]
fn parses_text_directives_as_the_spec_does() {
    assert_eq!(
        directives(":~:text=an%20example%20text%20fragment"),
        vec![td(None, "an example text fragment", None, None)]
    );
    assert_eq!(
        directives(":~:text=an%20example,text%20fragment"),
        vec![td(None, "an example", Some("text fragment"), None)]
    );
    assert_eq!(
        directives(":~:text=this%20is-,an%20example,-text%20fragment"),
        vec![td(
            Some("this is"),
            "an example",
            None,
            Some("text fragment")
        )]
    );
    assert_eq!(
        directives(":~:text=foo&text=bar&unknownDirective").len(),
        2,
        "example 6: two text directives and one unknown"
    );
    assert_eq!(
        directives(":~:text=%D8%A7%D9%84%D8%A8%D8%AD%D8%B1%D9%8A%D9%86-,%D9%85%D8%B5%D8%B1"),
        vec![td(Some("البحرين"), "مصر", None, None)]
    );
    assert_eq!(
        directives(":~:text=p-,s,e,-x"),
        vec![td(Some("p"), "s", Some("e"), Some("x"))]
    );
    // Only unknown directives: the fragment is its element id, or the top.
    assert_eq!(parse("sec:~:unknown"), Fragment::Anchor(Anchor::new("sec")));
    assert_eq!(parse(":~:"), Fragment::Top);
    for bad in [
        ":~:text=a,b,c",     // three terms without prefix/suffix markers
        ":~:text=a,b,c,d,e", // more than four
        ":~:text=my-style",  // a literal '-' (lychee's should-not-match fixture)
        ":~:text=pre-",      // a prefix alone
        ":~:text=-suf",      // a suffix alone
        ":~:text=p-,-s",     // no start
        ":~:text=a,",        // empty end
        ":~:text=--,a",      // prefix with a '-'
        ":~:text=a&text=b,c,d",
    ] {
        match parse(bad) {
            Fragment::Unparseable { reason } => {
                assert!(reason.contains("cannot be read"), "{reason}")
            }
            other => panic!("{bad}: {other:?}"),
        }
    }
}

#[test]
fn reads_github_line_anchors() {
    let lines = |s: &str| Anchor::new(s).github_lines();
    assert_eq!(lines("L10"), Some((10, 10)));
    assert_eq!(lines("L10-L20"), Some((10, 20)));
    assert_eq!(lines("L20-L10"), Some((10, 20)));
    assert_eq!(lines("L0"), None);
    assert_eq!(lines("L10-20"), None);
    assert_eq!(lines("Lx"), None);
    assert_eq!(lines("L"), None);
    assert_eq!(lines("l10"), None);
    assert_eq!(lines("L99999999999999999999"), None);
}

// ---------------------------------------------------------------- anchors

/// lychee `fixtures/fragments/file.html`, and the expectations of `lychee-bin/tests/cli.rs`
/// (`test_fragments`).
const LYCHEE_FILE_HTML: &str = r##"<!DOCTYPE html>
<html lang="en">
  <head><meta charset="UTF-8"><title>For Testing Fragments</title></head>
  <body>
    <section id="in-the-beginning" style="height: 100vh;">
      <p id="Upper-ÄÖö">
        <div id="tangent%3A-kustomize"></div>
        To start <a href="file1.md#fragment-1">let's run away.</a>
      </p>
    </section>
    <section>
      <p id="a-word">Word</p>
      <a href="#in-the-beginning">back we go</a><br>
      <a href="#in-the-end">doesn't exist</a><br>
    </section>
  </body>
</html>"##;

fn anchor_on(html: &str, page: &str, fragment: &str) -> FragmentStanding {
    anchor_standing(&parse(fragment), &anchors_of(html), &url(page))
}

#[test]
fn lychee_html_fixture_agrees() {
    let page = "https://example.org/file.html";
    for ok in [
        "",
        "top",
        "in-the-beginning",
        "a-word",
        "tangent%3A-kustomize",
        "Upper-ÄÖö",
        "Upper-%C3%84%C3%96%C3%B6",
    ] {
        assert_eq!(
            anchor_on(LYCHEE_FILE_HTML, page, ok),
            FragmentStanding::Present,
            "#{ok}"
        );
    }
    for missing in ["in-the-end", "in-THE-begiNNing"] {
        assert_eq!(
            anchor_on(LYCHEE_FILE_HTML, page, missing),
            FragmentStanding::Missing {
                reason: format!("no anchor #{missing} on the page")
            }
        );
    }
}

#[test]
fn a_name_counts_and_entities_are_decoded() {
    let html = r#"<p>x</p><a name="old-style">x</a><span name="not-an-anchor"></span><h2 id="a&amp;b">t</h2>"#;
    let set = anchors_of(html);
    assert!(set.ids.contains("old-style"));
    assert!(set.ids.contains("a&b"));
    assert!(!set.ids.contains("not-an-anchor"));
    // Ids inside scripts, styles and comments are not elements.
    let set = anchors_of(
        r#"<p id="real">t</p><script>var s = '<div id="fake">';</script><!-- <a id="c"> --><style>#x{}</style>"#,
    );
    assert_eq!(set.ids.iter().collect::<Vec<_>>(), vec!["real"]);
}

#[test]
fn forge_pages_prefix_user_content() {
    let readme = r##"<article class="markdown-body"><div class="markdown-heading"><h2 class="heading-element">Table of Contents</h2><a id="user-content-table-of-contents" class="anchor" href="#table-of-contents"></a></div><p>lots of text here</p></article>"##;
    for host in ["github.com", "gitlab.com", "codeberg.org"] {
        let page = format!("https://{host}/lycheeverse/lychee");
        assert_eq!(
            anchor_on(readme, &page, "table-of-contents"),
            FragmentStanding::Present,
            "{host}"
        );
        assert!(anchor_on(readme, &page, "non-existent-anchor").is_missing());
    }
    // Elsewhere the prefix is not the page's script's business.
    assert!(anchor_on(readme, "https://example.org/", "table-of-contents").is_missing());
    // Comment and review anchors on GitHub are made by script.
    assert!(matches!(
        anchor_on(
            readme,
            "https://github.com/o/r/issues/1",
            "issuecomment-123456789"
        ),
        FragmentStanding::Unknown { .. }
    ));
}

#[test]
fn script_built_pages_and_routes_are_unknown() {
    let shell = r#"<!doctype html><html><head><script src="/app.js"></script></head><body><div id="root"></div></body></html>"#;
    assert!(matches!(
        anchor_on(shell, "https://app.example/", "pricing"),
        FragmentStanding::Unknown { .. }
    ));
    let no_ids = "<html><body><p>A long article without any ids at all.</p></body></html>";
    assert!(matches!(
        anchor_on(no_ids, "https://example.org/", "intro"),
        FragmentStanding::Unknown { .. }
    ));
    let page = "<html><body><h2 id='intro'>Intro</h2><p>text</p></body></html>";
    assert!(matches!(
        anchor_on(page, "https://example.org/", "#/settings"),
        FragmentStanding::Unknown { .. }
    ));
    assert!(matches!(
        anchor_on(page, "https://example.org/", "#!/a/b"),
        FragmentStanding::Unknown { .. }
    ));
    // A page with text and ids but not this one: missing.
    let text = "x".repeat(300);
    let page = format!(
        "<html><body><h2 id='intro'>Intro</h2><p>{text}</p><script>1</script></body></html>"
    );
    assert!(anchor_on(&page, "https://example.org/", "outro").is_missing());
}

/// anchor.js and its kin give ids to headings in the browser: a missing anchor that is the
/// slug of a heading without an id, on a page with scripts, is unknown, never missing.
#[test]
fn headings_a_script_may_give_ids_are_unknown() {
    let text = "words ".repeat(100);
    let page = |script: &str| {
        format!("<body><nav id='menu'>menu</nav><h2>Getting Started!</h2><p>{text}</p><h3 id='x'>X</h3>{script}</body>")
    };
    let with = page("<script src='anchor.min.js'></script>");
    let u = "https://example.org/docs";
    assert!(matches!(
        anchor_on(&with, u, "getting-started"),
        FragmentStanding::Unknown { .. }
    ));
    assert!(matches!(
        anchor_on(&with, u, "Getting-Started"),
        FragmentStanding::Unknown { .. }
    ));
    assert!(anchor_on(&with, u, "installation").is_missing());
    assert!(anchor_on(&page(""), u, "getting-started").is_missing());
}

#[test]
fn github_line_anchors_read_the_raw_file() {
    let blob = url("https://github.com/o/r/blob/main/src/lib.rs");
    let f = parse("L10-L20");
    assert_eq!(
        raw_file_for(&blob, &f),
        Some(url("https://raw.githubusercontent.com/o/r/main/src/lib.rs"))
    );
    assert_eq!(raw_file_for(&url("https://github.com/o/r"), &f), None);
    assert_eq!(raw_file_for(&blob, &parse("section")), None);
    assert_eq!(
        raw_file_for(
            &url("https://github.com/o/r/blob/v1/docs/README.md"),
            &parse("install")
        ),
        Some(url(
            "https://raw.githubusercontent.com/o/r/v1/docs/README.md"
        ))
    );
    let a = Anchor::new("L10-L20");
    let twenty: String = (1..=20).map(|i| format!("line {i}\n")).collect();
    assert_eq!(
        lines_standing(&a, twenty.as_bytes()),
        FragmentStanding::Present
    );
    let no_newline = twenty.trim_end();
    assert_eq!(
        lines_standing(&a, no_newline.as_bytes()),
        FragmentStanding::Present
    );
    assert_eq!(
        lines_standing(&a, twenty.as_bytes().get(..twenty.len() - 8).unwrap()),
        FragmentStanding::Missing {
            reason: "no anchor #L10-L20 on the page (the file has 19 lines)".into()
        }
    );
    // Without the raw file, the blob page (built by script) cannot tell.
    let page = "<html><body><div id='repo-content'>code view</div></body></html>";
    assert!(matches!(
        anchor_standing(&f, &anchors_of(page), &blob),
        FragmentStanding::Unknown { .. }
    ));
}

/// lychee `fixtures/fragments/file1.md` and `file2.md` (GitHub slugs, case ignored as lychee
/// does for Markdown), with `lychee-bin/tests/cli.rs` `test_fragments`' expectations.
const LYCHEE_FILE1_MD: &str = r#"# Fragment Test File 1

## Fragment 1

[Link to fragment 2](#fragment-2)

## Fragment 2

## Fragment 3

### `Code` ``Heading

## HTML Fragments

<a id="explicit-fragment"></a>

# Kebab Case Fragment

# Kebab Case Fragment

# Ignore casing

# Fünf süße Äpfel

##### Lets wear a hat: être
"#;

const LYCHEE_FILE2_MD: &str = "# Fragment Test File 2\n\n### Some other heading with custom id {#custom-id}\n\n#### Fragment 1\n";

#[test]
fn lychee_markdown_fixtures_agree() {
    let raw = url(
        "https://raw.githubusercontent.com/lycheeverse/lychee/master/fixtures/fragments/file1.md",
    );
    let set = anchors_for_body(
        LYCHEE_FILE1_MD.as_bytes(),
        Some("text/plain; charset=utf-8"),
        &raw,
    );
    for ok in [
        "fragment-1",
        "fragment-2",
        "code-heading",
        "explicit-fragment",
        "kebab-case-fragment",
        "kebab-case-fragment-1",
        "IGNORE-CASING",
        "fünf-süße-äpfel",
        "fünf-sÜße-Äpfel",
        "f%C3%BCnf-s%C3%BC%C3%9Fe-%C3%A4pfel",
        "lets-wear-a-hat-%C3%AAtre",
        "",
        "top",
    ] {
        assert_eq!(
            anchor_standing(&parse(ok), &set, &raw),
            FragmentStanding::Present,
            "#{ok}"
        );
    }
    assert!(anchor_standing(&parse("missing-fragment"), &set, &raw).is_missing());
    let raw2 = url("https://raw.githubusercontent.com/o/r/main/file2.md");
    let set2 = anchors_for_body(LYCHEE_FILE2_MD.as_bytes(), Some("text/plain"), &raw2);
    for ok in ["custom-id", "fragment-1"] {
        assert_eq!(
            anchor_standing(&parse(ok), &set2, &raw2),
            FragmentStanding::Present,
            "#{ok}"
        );
    }
    assert!(anchor_standing(&parse("missing-fragment"), &set2, &raw2).is_missing());
    // A Markdown path served as HTML is read as HTML.
    let html = anchors_for_body(b"<h1 id='x'>x</h1>", Some("text/html"), &raw2);
    assert!(html.ids.contains("x") && !html.from_markdown);
}

/// Excerpts shaped like the HTML of real doc generators, with their real anchor forms.
#[test]
fn doc_generator_pages() {
    /// Generator, page URL, HTML, anchors present, anchors missing.
    type Case<'a> = (&'a str, &'a str, &'a str, &'a [&'a str], &'a [&'a str]);
    let cases: &[Case] = &[
        (
            "rustdoc",
            "https://docs.rs/tokio/latest/tokio/sync/struct.Mutex.html",
            r##"<section id="main-content" class="content"><details class="toggle method-toggle" open><summary><section id="method.lock" class="method"><a href="#method.lock" class="anchor">§</a><h4 class="code-header">pub async fn <a href="#method.lock" class="fn">lock</a>(&amp;self)</h4></section></summary><div class="docblock"><p>Locks this mutex, causing the current task to yield until the lock has been acquired.</p></div></details><h2 id="impl-Send-for-Mutex%3CT%3E" class="section-header">impl Send</h2></section>"##,
            &["method.lock", "impl-Send-for-Mutex%3CT%3E", "main-content"],
            &["method.unlock"],
        ),
        (
            "Sphinx",
            "https://docs.python.org/3/library/asyncio-task.html",
            r##"<section id="coroutines-and-tasks"><span id="asyncio-task"></span><h1>Coroutines and Tasks<a class="headerlink" href="#coroutines-and-tasks">¶</a></h1><dl class="py function"><dt class="sig sig-object py" id="asyncio.run"><span class="sig-name descname">run</span></dt><dd><p>Execute the coroutine and return the result.</p></dd></dl></section>"##,
            &["coroutines-and-tasks", "asyncio-task", "asyncio.run"],
            &["asyncio.sleep"],
        ),
        (
            "MkDocs",
            "https://www.mkdocs.org/user-guide/configuration/",
            r##"<div role="main" class="md-content"><h1 id="configuration">Configuration</h1><p>Guide to all available configuration settings.</p><h2 id="project-information">Project information<a class="headerlink" href="#project-information">¶</a></h2><h3 id="site_name">site_name</h3></div>"##,
            &["configuration", "project-information", "site_name"],
            &["site-name"],
        ),
        (
            "Docusaurus",
            "https://docusaurus.io/docs/installation",
            r##"<div id="__docusaurus"><main><article><div class="theme-doc-markdown markdown"><header><h1>Installation</h1></header><h2 class="anchor anchorWithStickyNavbar_LWe7" id="requirements">Requirements<a href="#requirements" class="hash-link" aria-label="Direct link to Requirements"></a></h2><p>Node.js version 18.0 or above (which can be checked by running node -v). You can use nvm for managing multiple Node versions on a single machine installed. When installing Node.js, you are recommended to check all checkboxes related to dependencies.</p></div></article></main></div><script src="/assets/js/main.js"></script>"##,
            &["requirements", "__docusaurus"],
            &["scaffold-project-website"],
        ),
        (
            "Wikipedia (current skin)",
            "https://en.wikipedia.org/wiki/Link_rot",
            r##"<div class="mw-content-ltr mw-parser-output"><p>Link rot is the phenomenon of hyperlinks tending over time to cease to point to their originally targeted file, web page, or server.</p><div class="mw-heading mw-heading2"><h2 id="Prevalence">Prevalence</h2></div><p>The 404 "Not Found" response is familiar.</p><div class="mw-heading mw-heading3"><h3 id="Causes_and_effects">Causes and effects</h3></div></div>"##,
            &["Prevalence", "Causes_and_effects", "Causes%5Fand%5Feffects"],
            &["prevalence", "Causes and effects"],
        ),
        (
            "Wikipedia (old skin)",
            "https://de.wikipedia.org/wiki/Toter_Link",
            r##"<div class="mw-parser-output"><p>Ein toter Link ist ein Hyperlink auf eine Webseite, die nicht mehr erreichbar ist.</p><h2><span class="mw-headline" id="Ursachen">Ursachen</span></h2><h2><span id="Gegenma.C3.9Fnahmen"></span><span class="mw-headline" id="Gegenmaßnahmen">Gegenmaßnahmen</span></h2></div>"##,
            &["Ursachen", "Gegenma%C3%9Fnahmen", "Gegenma.C3.9Fnahmen"],
            &["Folgen"],
        ),
    ];
    for (name, page, html, ok, missing) in cases {
        for f in *ok {
            assert_eq!(
                anchor_on(html, page, f),
                FragmentStanding::Present,
                "{name}: #{f}"
            );
        }
        for f in *missing {
            assert!(
                anchor_on(html, page, f).is_missing(),
                "{name}: #{f} should be missing"
            );
        }
    }
}

#[test]
fn ids_are_capped() {
    let mut html = String::new();
    for i in 0..(MAX_IDS + 10) {
        html.push_str(&format!("<i id=a{i}></i>"));
    }
    let set = anchors_of(&html);
    assert_eq!(set.ids.len(), MAX_IDS);
    assert!(set.limited);
    assert!(matches!(
        anchor_standing(&parse("nowhere"), &set, &url("https://example.org/")),
        FragmentStanding::Unknown { .. }
    ));
}

/// 10 MiB of text and 100,000 nested elements: one pass, no recursion, a bounded stack.
#[test]
fn large_and_deep_pages_are_bounded() {
    let mut html = String::with_capacity(12 << 20);
    html.push_str("<body><p id='first'>start of the page</p>");
    for _ in 0..100_000 {
        html.push_str("<div><span>");
    }
    html.push_str("<p id='deep'>the deepest words</p>");
    while html.len() < 10 << 20 {
        html.push_str("<p>lorem ipsum dolor sit amet consectetur</p>");
    }
    html.push_str("<p id='last'>the very last paragraph</p>");
    let set = anchors_of(&html);
    assert!(set.ids.contains("first") && set.ids.contains("deep") && set.ids.contains("last"));
    let page = page_text(&html);
    assert_eq!(
        text_directive_standing(&td(None, "the very last paragraph", None, None), &page),
        FragmentStanding::Present
    );
    assert!(
        text_directive_standing(&td(None, "lorem ipsum", None, Some("nowhere")), &page)
            != FragmentStanding::Present
    );
}

// ---------------------------------------------------------------- text directives

/// The spec's examples ("Syntax", "find a range from a text directive", word boundaries).
#[test]
fn spec_examples() {
    let doc = "<p>this is an example text fragment</p>";
    assert!(present(":~:text=an%20example%20text%20fragment", doc));
    assert!(present(":~:text=an%20example,text%20fragment", doc));
    assert!(present(
        ":~:text=this%20is-,an%20example,-text%20fragment",
        doc
    ));
    assert!(!present(
        ":~:text=this%20is-,an%20example,-text%20fragment",
        "<p>here is an example text</p>"
    ));
    // Each term within one block.
    let split = "<div>The<div> </div>quick brown fox</div><div>jumped over the lazy dog</div>";
    assert!(!present(":~:text=The%20quick,lazy%20dog", split));
    let whole = "<div>The quick brown fox</div><div>jumped over the lazy dog</div>";
    assert!(present(":~:text=The%20quick,lazy%20dog", whole));
    // "a<em>b</em>c<div>d</div>e" is searched as "abc", "d", "e".
    let nested = "<div>a<em>b</em>c<div>d</div>e</div>";
    assert!(present(":~:text=abc", nested));
    assert!(!present(":~:text=abcd", nested));
    assert!(!present(":~:text=de", nested));
    // Word boundaries: "range" always in "mountain range".
    assert!(present(":~:text=range", "<p>mountain range</p>"));
    assert!(!present(":~:text=range", "<p>color orange</p>"));
    assert!(!present(":~:text=range", "<p>forest ranger</p>"));
    assert!(present(
        ":~:text=mountain%20range",
        "<p>An impressive mountain range</p>"
    ));
    assert!(!present(
        ":~:text=mountain%20range",
        "<p>An impressive mountain ranger</p>"
    ));
    // Prefix and suffix across blocks, with whitespace between.
    assert!(present(
        ":~:text=in-,the,the,-texts",
        "<p>in</p><p>the English language.</p>\n<p>In total, the</p><p>texts</p>"
    ));
    // Arabic, from the BiDi example.
    assert!(present(
        ":~:text=%D8%A7%D9%84%D8%A8%D8%AD%D8%B1%D9%8A%D9%86-,%D9%85%D8%B5%D8%B1",
        "<p>البحرين مِصر</p>"
    ));
}

/// The spec's Japanese example ("ようこ" is not word-bounded in "ウィキペディアへようこそ")
/// needs a dictionary segmenter; UAX #29's default rules (used here) break between every
/// Hiragana, so that match is accepted. Judged acceptable: it errs towards "present", never
/// a false alarm.
#[test]
fn japanese_words_are_matched_leniently() {
    let doc = "<p>ウィキペディアへようこそ</p>";
    assert!(present(":~:text=%E3%82%88%E3%81%86%E3%81%93%E3%81%9D", doc));
    assert!(present(":~:text=%E3%82%88%E3%81%86%E3%81%93", doc));
}

/// lychee `lychee-lib/src/utils/fragment_checker/text.rs` tests and its
/// `fixtures/text_fragments/` pages.
#[test]
fn lychee_text_fragment_tests_agree() {
    const INDEX: &str = r#"<html><head><meta charset="utf-8"><title>Text Fragments</title>
  <style>.my-style { my-style-property: "my-style-value"; }</style></head>
<body>
    <p>Lorem ipsum dolor sit amet, consectetur adipiscing elit. Sed porta nisl sit amet quam ornare rutrum. Pellentesque accumsan blandit ex iaculis pretium. Interdum et malesuada fames ac ante ipsum primis in faucibus. Sed tincidunt erat ac risus venenatis, sed elementum elit malesuada.
    </p>
    <p>Duis convallis risus et libero efficitur commodo.</p>
    <p>Fusce in eros rutrum est facilisis aliquam. Vestibulum eget luctus ligula, sit amet dignissim massa.</p>
    <p>
        Proin <strong>vulp</strong>utate mi id sem pulvinar euismod. Morbi blandit convallis ligula, quis sodales velit ege<i>stas</i> eget.
    </p>
    <p>
      a
      b
      cd
    </p>
    <my-element my-element-attribute="my-element-attribute-value" class="my-style"></my-element>
    <script>var mine = "my-script";</script>
</html>"#;
    for ok in [
        ":~:text=rutrum",
        ":~:text=Pellentesque%20accumsan%20blandit%20ex%20iaculis%20pretium",
        ":~:text=malesuada.,Duis",
        ":~:text=consectetur%20adipiscing%20elit.-,Sed%20porta,-nisl%20sit%20amet",
        ":~:text=a-,b%20cd",
        ":~:text=Proin-,vulputate,-mi%20id%20sem",
        ":~:text=massa.,Proin",
        ":~:text=sit%20amet%20dignissim-,massa,-.",
        ":~:text=egestas%20eget",
    ] {
        assert!(present(ok, INDEX), "{ok}");
    }
    for missing in [
        ":~:text=non%2Dexistent",
        ":~:text=Proin-,vulputate,-mi%20id%20sema",
        ":~:text=sit%20amet%20dignissim-,massam,-.",
        ":~:text=my%2Dstyle%2Dvalue",
        ":~:text=my%2Delement",
        ":~:text=my%2Dscript",
    ] {
        assert!(text_in(missing, INDEX).is_missing(), "{missing}");
    }
    // The fixture's `my-style` (a raw '-') is no directive at all: reported, never highlighted.
    assert!(text_in(":~:text=my-style", INDEX).is_missing());
    // No-break spaces and odd whitespace.
    assert!(present(":~:text=b%C2%A0cd", "b\u{a0}cd"));
    assert!(present(":~:text=b%20cd", "b\u{a0}cd"));
    assert!(present(":~:text=b%20cd", "<p>b&nbsp;cd</p>"));
    assert!(present(
        ":~:text=in-,the,the,-texts",
        "<p>written      in     the English language.</p>\n\n<p>In total, the      texts</p>"
    ));
    // Multiple occurrences: prefix and suffix pick the right one.
    let d = ":~:text=prefix-,start,end,-suffix";
    assert!(present(d, "start [ prefix start end suffix ]"));
    assert!(present(d, "[ prefix start end end suffix ]"));
    assert!(present(d, "start [ prefix start end end suffix ]"));
    assert!(!present(d, "prefix start end nosuffix"));
}

#[test]
fn case_and_accents_are_ignored_words_are_not() {
    let doc = "<p>Die Straße nach Zürich führt über den Paß. Ｆｕｌｌ width and the ﬁnal word.</p>";
    assert!(present(":~:text=die%20strasse%20nach%20zurich", doc));
    assert!(present(":~:text=FUHRT%20UBER", doc));
    assert!(present(":~:text=full%20width", doc));
    assert!(present(":~:text=final%20word", doc));
    assert!(!present(":~:text=Stra", doc));
    assert!(!present(":~:text=nach%20Zurichs", doc));
    // A number is a word: "12" is not in "123".
    assert!(!present(":~:text=12", "<p>it cost 123 dollars</p>"));
    assert!(present(":~:text=123", "<p>it cost 123 dollars</p>"));
    // Apostrophes stay inside words (UAX #29): "don" is not a word of "don't".
    assert!(!present(":~:text=don", "<p>I don't know</p>"));
}

#[test]
fn hidden_text_is_not_searched() {
    for hidden in [
        "<p>visible</p><script>the slowest follower</script>",
        "<p>visible</p><style>/* the slowest follower */</style>",
        "<p>visible</p><div hidden>the slowest follower</div>",
        "<p>visible</p><div style=\"color: red; display : none\">the slowest follower</div>",
        "<p>visible</p><template>the slowest follower</template>",
        "<p>visible</p><select><option>the slowest follower</option></select>",
        "<p>visible</p><noscript>the slowest follower</noscript>",
        "<head><title>the slowest follower</title></head><p>visible</p>",
        "<p>visible</p><p title=\"the slowest follower\">attr</p>",
    ] {
        assert!(
            text_in(":~:text=the%20slowest%20follower", hidden).is_missing(),
            "{hidden}"
        );
    }
    // Once the hidden element closes, text counts again; a `<select multiple>` is a list.
    assert!(present(
        ":~:text=the%20slowest%20follower",
        "<div hidden><p>x</p></div><p>the slowest follower</p>"
    ));
    assert!(present(
        ":~:text=the%20slowest%20follower",
        "<select multiple><option>the slowest follower</option></select>"
    ));
    // <br> separates words but not blocks.
    assert!(present(
        ":~:text=slowest%20follower",
        "<p>the slowest<br>follower</p>"
    ));
}

#[test]
fn several_directives_must_all_stand() {
    let doc = "<p>alpha beta</p><p>gamma delta</p>";
    assert!(present(":~:text=alpha&text=delta", doc));
    match text_in(":~:text=alpha&text=epsilon", doc) {
        FragmentStanding::Missing { reason } => {
            assert_eq!(
                reason,
                "text fragment not on the page: \u{201c}epsilon\u{201d}"
            )
        }
        other => panic!("{other:?}"),
    }
}

/// A text fragment read as a quote stands or falls by the quote rule like the author's quotes.
#[test]
fn text_directives_read_as_quotes() {
    let page = "The slowest follower decides how fast the whole replicated group can commit \
                its writes, which is why tail latency matters more than the average.";
    let range = &directives(":~:text=the%20slowest%20follower,can%20commit")[0];
    assert_eq!(range.as_quote(), "the slowest follower \u{2026} can commit");
    assert!(!crate::quote::check(&range.as_quote(), page).is_missing());
    let gone = &directives(":~:text=the%20fastest%20leader%20decides,can%20commit")[0];
    assert!(crate::quote::check(&gone.as_quote(), page).is_missing());
    let exact = &directives(":~:text=in-,the%20slowest%20follower,-decides")[0];
    assert_eq!(exact.as_quote(), "the slowest follower");
}

#[test]
fn range_end_must_follow_start() {
    let doc = "<p>end comes first</p><p>then the start</p>";
    assert!(!present(":~:text=start,end", doc));
    assert!(present(":~:text=end,start", doc));
}

#[test]
fn a_page_of_near_matches_is_bounded() {
    // Every "a" starts a candidate whose suffix never follows: the work budget ends it.
    let html = format!("<p>{}</p>", "a ".repeat(200_000));
    let page = page_text(&html);
    let d = td(None, "a", Some("a"), Some("zzz"));
    let s = text_directive_standing(&d, &page);
    assert!(matches!(s, FragmentStanding::Unknown { .. }), "{s:?}");
}

// ---------------------------------------------------------------- slugs

/// Hugo `markup/goldmark/autoid_test.go` (`TestSanitizeAnchorName*`).
#[test]
fn hugo_goldmark_ids() {
    let table = [
        ("God is good: 神真美好", "god-is-good-神真美好"),
        ("Number 32", "number-32"),
        ("Question?", "question"),
        ("1+2=3", "123"),
        ("Special !\"#$%&(parens)=?´* chars", "special-parens-chars"),
        ("Resumé", "resumé"),
        ("One-Hyphen", "one-hyphen"),
        ("Multiple--Hyphens", "multiple--hyphens"),
        ("Trailing hyphen-", "trailing-hyphen-"),
        ("Many   spaces  here", "many---spaces--here"),
        ("Forward/slash", "forwardslash"),
        ("Backward\\slash", "backwardslash"),
        ("Under_score", "under_score"),
        ("Nonbreaking\u{a0}Space", "nonbreakingspace"),
        ("Tab\tSpace", "tabspace"),
        ("Trailing Space ", "trailing-space"),
    ];
    for (input, want) in table {
        assert_eq!(slug(input, SlugStyle::Goldmark), want, "{input:?}");
    }
    assert_eq!(
        slug("god is神真美好 good", SlugStyle::GoldmarkAscii),
        "god-is-good"
    );
    assert_eq!(slug("Resumé", SlugStyle::GoldmarkAscii), "resume");
    assert_eq!(
        slug("Let's try this, shall we?", SlugStyle::Blackfriday),
        "let-s-try-this-shall-we"
    );
    // idFactory: empty → "heading", repeats count from 1 skipping taken ids.
    let mut s = Slugger::new(SlugStyle::Goldmark);
    assert_eq!(s.next("A"), "a");
    assert_eq!(s.next("A"), "a-1");
    s.put("a-2");
    assert_eq!(s.next("A"), "a-3");
    assert_eq!(s.next("?!"), "heading");
    assert_eq!(s.next(""), "heading-1");
}

/// github-slugger `test/fixtures.json` (a selection, in order, one slugger).
#[test]
fn github_slugger_fixtures() {
    let table = [
        ("alpha", "alpha"),
        ("alpha", "alpha-1"),
        ("bravoCharlieDelta", "bravocharliedelta"),
        ("__proto__", "__proto__"),
        ("__proto__", "__proto__-1"),
        ("hasOwnProperty", "hasownproperty"),
        ("echo", "echo"),
        ("echo", "echo-1"),
        ("echo 1", "echo-1-1"),
        ("echo-1", "echo-1-2"),
        ("echo", "echo-2"),
        ("foxtrot-1", "foxtrot-1"),
        ("foxtrot", "foxtrot"),
        ("foxtrot", "foxtrot-2"),
        ("heading with a - dash", "heading-with-a---dash"),
        (
            "heading with an _ underscore",
            "heading-with-an-_-underscore",
        ),
        ("heading with a period.txt", "heading-with-a-periodtxt"),
        (
            "exchange.bind_headers(exchange, routing [, bindCallback])",
            "exchangebind_headersexchange-routing--bindcallback",
        ),
        (" ", "-"),
        (" a", "-a"),
        ("a ", "a-"),
        (" a ", "-a-"),
        ("-a-", "-a--1"),
        (
            "apostrophe’s should be trimmed",
            "apostrophes-should-be-trimmed",
        ),
        ("I ♥ unicode", "i--unicode"),
        ("dash-dash", "dash-dash"),
        ("en–dash", "endash"),
        ("😄 unicode emoji", "-unicode-emoji"),
        ("😄-😄 unicode emoji", "--unicode-emoji"),
        ("😄_😄 unicode emoji", "_-unicode-emoji"),
        ("😄 - an emoji", "---an-emoji"),
        (":smile: - a gemoji", "smile---a-gemoji"),
        ("Привет", "привет"),
        ("Профили пользователей", "профили-пользователей"),
        ("Привет non-latin 你好", "привет-non-latin-你好"),
        (
            ":ok_hand::hatched_chick: Two in a row with no spaces",
            "ok_handhatched_chick-two-in-a-row-with-no-spaces",
        ),
        ("a_ ‿ ⁀ ⁔ ︳ ︴ ﹍ ﹎ ﹏ ＿b", "a_-‿-⁀-⁔-︳-︴-﹍-﹎-﹏-＿b"),
        ("a) ] } ༻ ༽b", "a----b"),
    ];
    let mut s = Slugger::new(SlugStyle::GitHub);
    for (input, want) in table {
        assert_eq!(s.next(input), want, "{input:?}");
    }
}

/// kramdown-parser-gfm `generate_gfm_header_id` and kramdown `basic_generate_id` (the
/// examples of kramdown's "Automatic Header IDs" documentation).
#[test]
fn kramdown_ids() {
    let mut g = Slugger::new(SlugStyle::KramdownGfm);
    assert_eq!(g.next("Hello World!"), "hello-world");
    assert_eq!(g.next("Hello World!"), "hello-world-1");
    assert_eq!(g.next("Hello World!"), "hello-world-2");
    assert_eq!(g.next("Café *au* `lait`"), "café-au-lait");
    assert_eq!(g.next("snake_case name"), "snake_case-name");
    assert_eq!(g.next("1. Intro"), "1-intro");
    let mut k = Slugger::new(SlugStyle::Kramdown);
    assert_eq!(k.next("This is a header"), "this-is-a-header");
    assert_eq!(k.next("12. Another one 1 here"), "another-one-1-here");
    assert_eq!(k.next("Do ^& it now"), "do--it-now");
    assert_eq!(k.next("Hello"), "hello");
    assert_eq!(k.next("Hello"), "hello-1");
    assert_eq!(k.next("Hello"), "hello-2");
    assert_eq!(k.next("äöü"), "section");
    assert_eq!(k.next("Café"), "caf");
}

/// GitLab's rule ("Heading IDs and links" in GitLab's Markdown documentation).
#[test]
fn gitlab_ids() {
    let mut g = Slugger::new(SlugStyle::GitLab);
    assert_eq!(
        g.next("This heading has spaces in it"),
        "this-heading-has-spaces-in-it"
    );
    assert_eq!(
        g.next("This heading has a \u{1f44d} in it"),
        "this-heading-has-a-in-it"
    );
    assert_eq!(
        g.next("This heading has Unicode in it. 한글"),
        "this-heading-has-unicode-in-it-한글"
    );
    assert_eq!(
        g.next("This heading has spaces in it"),
        "this-heading-has-spaces-in-it-1"
    );
    assert_eq!(
        g.next("This heading has spaces in it"),
        "this-heading-has-spaces-in-it-2"
    );
    assert_eq!(g.next("2"), "anchor-2");
}

#[test]
fn heading_ids_of_documents() {
    let md = "# Intro\n\nText.\n\n## Use `foo()` *now* {#custom}\n\n## See [docs](http://x.com)\n\nSetext one\n----------\n\n### Closing ###\n\n# Intro\n";
    assert_eq!(
        heading_ids(md, SlugStyle::GitHub),
        vec![
            "intro",
            "custom",
            "see-docs",
            "setext-one",
            "closing",
            "intro-1"
        ]
    );
    // Goldmark (Hugo) reads the raw line: a link's URL is part of the id.
    assert_eq!(
        heading_ids(md, SlugStyle::Goldmark),
        vec![
            "intro",
            "custom",
            "see-docshttpxcom",
            "setext-one",
            "closing",
            "intro-1"
        ]
    );
    assert_eq!(
        heading_ids(md, SlugStyle::KramdownGfm),
        vec![
            "intro",
            "custom",
            "see-docshttpxcom",
            "setext-one",
            "closing",
            "intro-1"
        ]
    );
    // Headings inside code are not headings.
    assert_eq!(
        heading_ids("```\n# not\n```\n", SlugStyle::GitHub),
        Vec::<String>::new()
    );
}

// ---------------------------------------------------------------- no panics

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn parse_never_panics(s in ".{0,200}") {
        let f = parse(&s);
        let _ = raw_file_for(&url("https://github.com/o/r/blob/main/README.md"), &f);
        let _ = anchor_standing(&f, &AnchorSet::default(), &url("https://github.com/o/r/blob/main/x.md"));
    }

    #[test]
    fn directive_parse_never_panics(s in "(:~:)?(text=)?[-,&%a-zA-Z0-9 ]{0,40}(%[0-9A-Fa-f]{0,2})*") {
        let _ = parse(&s);
    }

    #[test]
    fn html_readers_never_panic(s in "(<[/!]?[a-z]{0,6}( [a-z]{1,6}(=\"[^\"]{0,8}\")?)?/?>|[^<]{0,12}|&[a-z#0-9]{0,6};?)*") {
        let set = anchors_of(&s);
        let page = page_text(&s);
        for b in page.blocks() {
            prop_assert!(!b.is_empty() && b.trim() == b);
        }
        let _ = anchor_standing(&parse("x"), &set, &url("https://example.org/"));
        let _ = text_directive_standing(&td(Some("a"), "b", Some("c"), Some("d")), &page);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400), q in ".{1,12}") {
        let u = url("https://raw.githubusercontent.com/o/r/main/a.md");
        let _ = anchors_for_body(&bytes, Some("text/plain"), &u);
        let _ = anchors_for_body(&bytes, None, &url("https://example.org/"));
        let (text, _) = crate::readable::decode(&bytes, None);
        let page = page_text(&text);
        let _ = text_directive_standing(&td(None, &q, None, None), &page);
        let _ = text_directive_standing(&td(Some(&q), &q, Some(&q), Some(&q)), &page);
        let _ = lines_standing(&Anchor::new("L3"), &bytes);
    }

    #[test]
    fn slugs_never_panic(s in ".{0,80}") {
        for style in [SlugStyle::GitHub, SlugStyle::GitLab, SlugStyle::Goldmark, SlugStyle::GoldmarkAscii, SlugStyle::Blackfriday, SlugStyle::KramdownGfm, SlugStyle::Kramdown] {
            let _ = slug(&s, style);
            let _ = heading_ids(&s, style);
            let _ = markdown_anchors(&format!("# {s}\n## {s} {{#x}}\n{s}\n---\n"), style);
            let _ = post_anchors(&format!("---\n{s}\n---\n# {s}\n{s}[^{s}]\n\n[^{s}]: x\n{{{{< {s} >}}}}"), false, &[style]);
            let _ = post_anchors(&s, true, &[style]);
        }
    }

    /// A passage taken from a page's own text always stands there (whole words, one block).
    #[test]
    fn a_passage_of_the_page_stands(words in proptest::collection::vec("[a-zA-Zäöüé]{1,8}", 1..30), from in 0usize..30, len in 1usize..6) {
        let from = from.min(words.len() - 1);
        let to = (from + len).min(words.len());
        let html = format!("<p>{}</p>", words.join(" "));
        let passage = words[from..to].join(" ");
        let page = page_text(&html);
        prop_assert_eq!(text_directive_standing(&td(None, &passage, None, None), &page), FragmentStanding::Present);
    }
}
