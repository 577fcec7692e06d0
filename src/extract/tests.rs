//! Extraction tests: tables of small cases, data-driven fixtures with expected files, properties.

use super::*;

fn md(text: &str) -> Vec<(u32, CitationKind, String, String)> {
    extract(Format::Markdown, text, &Options::default())
        .citations
        .into_iter()
        .map(|c| (c.line, c.kind, c.target, c.text))
        .collect()
}

fn targets(text: &str) -> Vec<String> {
    md(text).into_iter().map(|c| c.2).collect()
}

#[test]
fn inline_reference_auto_and_image_links() {
    let t = "---\ntitle: x\n---\nSee [the doc](https://a.org/doc \"t\") and [ref][r].\n\n![alt *text*](img/p.png)\n<https://auto.org/x>\n\n[r]: https://ref.org/page\n";
    let c = md(t);
    assert_eq!(
        c,
        vec![
            (
                4,
                CitationKind::Link,
                "https://a.org/doc".into(),
                "the doc".into()
            ),
            (
                4,
                CitationKind::Link,
                "https://ref.org/page".into(),
                "ref".into()
            ),
            (
                6,
                CitationKind::Image,
                "img/p.png".into(),
                "alt text".into()
            ),
            (
                7,
                CitationKind::Autolink,
                "https://auto.org/x".into(),
                "https://auto.org/x".into()
            ),
        ]
    );
}

#[test]
fn bare_urls_punctuation_and_parentheses() {
    let cases = [
        ("see https://a.org/x.", "https://a.org/x"),
        ("see https://a.org/x, and", "https://a.org/x"),
        ("(see https://a.org/x)", "https://a.org/x"),
        (
            "https://en.wikipedia.org/wiki/Foo_(bar) is",
            "https://en.wikipedia.org/wiki/Foo_(bar)",
        ),
        (
            "(https://en.wikipedia.org/wiki/Foo_(bar))",
            "https://en.wikipedia.org/wiki/Foo_(bar)",
        ),
        ("end https://a.org/q?x=1;", "https://a.org/q?x=1"),
        ("quote \"https://a.org/y\" here", "https://a.org/y"),
    ];
    for (text, want) in cases {
        assert_eq!(targets(text), vec![want.to_string()], "{text}");
    }
}

#[test]
fn nothing_in_code_is_a_citation() {
    let t = "`curl https://a.org/` and `[x](https://b.org/)`\n\n```\nhttps://c.org/\n[y](https://d.org/)\n```\n\n    https://e.org/ indented code\n\nreal https://f.org/\n";
    assert_eq!(targets(t), vec!["https://f.org/".to_string()]);
}

#[test]
fn unmatched_backtick_does_not_pair_across_list_items() {
    let t = "- item with a ` stray backtick\n- [link](https://a.org/) in the next item `\n";
    assert_eq!(targets(t), vec!["https://a.org/".to_string()]);
}

#[test]
fn raw_html_blocks_and_inline_html() {
    let t = "text\n\n<div>\n<a href=\"https://a.org/x?y=1&amp;z=2\" rel=\"nofollow\">A</a>\n<img src='https://b.org/i.png'>\n</div>\n\nand inline <a href=\"https://c.org/\">c</a> too\n";
    let c = md(t);
    assert_eq!(
        c[0],
        (
            4,
            CitationKind::Link,
            "https://a.org/x?y=1&z=2".into(),
            "A".into()
        )
    );
    assert_eq!(c[1].1, CitationKind::Image);
    assert_eq!(c[1].0, 5);
    assert_eq!(c[2].2, "https://c.org/");
    assert_eq!(c[2].0, 8);
}

#[test]
fn indented_html_in_definition_lists_counts() {
    let t = "Term\n: definition\n\n    <a href=\"https://a.org/def\">x</a>\n    <a href=\"https://b.org/def\">y</a>\n";
    assert_eq!(
        targets(t),
        vec![
            "https://a.org/def".to_string(),
            "https://b.org/def".to_string()
        ]
    );
}

#[test]
fn hugo_shortcodes_cite_posts() {
    let t = "A [prev]({{< relref \"2019-03-25-sell\" >}}) and (({{< ref \"/posts/x.md\" >}})) and {{< relref \"y\" >}}#frag.\n`{{< relref \"in-code\" >}}`\n";
    let c = md(t);
    let refs: Vec<_> = c
        .iter()
        .filter(|c| c.1 == CitationKind::PostRef)
        .map(|c| (c.2.as_str(), c.3.as_str()))
        .collect();
    assert_eq!(
        refs,
        vec![
            ("2019-03-25-sell", "prev"),
            ("/posts/x.md", ""),
            ("y#frag", "")
        ]
    );
}

#[test]
fn author_mistakes_are_kept() {
    // Text and URL swapped: not a link, but the URL in the text is still found.
    assert_eq!(
        targets("[http://cre.fm/cre194](CRE 194: Bier)"),
        vec!["http://cre.fm/cre194".to_string()]
    );
    // No scheme: a relative target, reported as written.
    assert_eq!(targets("[evcc.io](evcc.io)"), vec!["evcc.io".to_string()]);
    // Double parentheses.
    assert_eq!(
        targets("see ((https://a.org/x))"),
        vec!["https://a.org/x".to_string()]
    );
}

#[test]
fn email_autolinks_and_message_ids() {
    assert_eq!(
        targets("<kris@example.org>"),
        vec!["mailto:kris@example.org".to_string()]
    );
    assert!(targets("<3F2A1B.5@news.example.com>").is_empty());
}

#[test]
fn front_matter_keys_the_user_names() {
    let t = "---\nlink: https://a.org/linked\nimage: https://b.org/i.png\n---\nbody\n";
    let opts = Options {
        front_matter_keys: vec!["link".into()],
    };
    let e = extract(Format::Markdown, t, &opts);
    assert_eq!(e.citations.len(), 1);
    assert_eq!(e.citations[0].target, "https://a.org/linked");
    assert_eq!(e.citations[0].line, 2);
    assert_eq!(e.citations[0].kind, CitationKind::FrontMatter);
}

#[test]
fn html_posts() {
    let t = "<html><body>\n<p><a href=\"https://a.org/\" rel=\"nofollow\">A <b>b</b></a></p>\n<img src=\"/i.png\" alt=\"pic\">\n<blockquote cite=\"https://q.org/\">quoted</blockquote>\n<q cite=\"https://q2.org/\">x</q><iframe src=\"https://v.org/e\"></iframe>\n<video><source src=\"https://m.org/v.mp4\"></video>\n</body></html>";
    let c: Vec<_> = extract(Format::Html, t, &Options::default())
        .citations
        .into_iter()
        .map(|c| (c.line, c.kind, c.target, c.text))
        .collect();
    assert_eq!(
        c[0],
        (2, CitationKind::Link, "https://a.org/".into(), "A b".into())
    );
    assert_eq!(
        c[1],
        (3, CitationKind::Image, "/i.png".into(), "pic".into())
    );
    assert_eq!(c[2].2, "https://q.org/");
    assert_eq!(c[2].0, 4);
    assert_eq!(c.len(), 6);
    assert_eq!(c[5].0, 6);
}

#[test]
fn plain_text_posts() {
    let c = extract(
        Format::Text,
        "one https://a.org/\n\ntwo https://b.org/x.\n",
        &Options::default(),
    )
    .citations;
    assert_eq!(c.len(), 2);
    assert_eq!((c[1].line, c[1].target.as_str()), (3, "https://b.org/x"));
}

#[test]
fn lines_count_front_matter_and_crlf() {
    let t = "---\r\ntitle: x\r\n---\r\n\r\nline five https://a.org/\r\n";
    assert_eq!(md(t)[0].0, 5);
}

/// Data-driven: every `tests/fixtures/extract/NAME.{md,html,txt}` has `NAME.expected` with one
/// `line<TAB>kind<TAB>target<TAB>text` per citation. `UPDATE_EXPECT=1` rewrites them.
#[test]
fn fixtures() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/extract");
    let mut n = 0;
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .collect();
    entries.sort();
    for path in entries {
        let Some(format) = path
            .extension()
            .and_then(|e| e.to_str())
            .and_then(Format::from_extension)
        else {
            continue;
        };
        let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
        let got: String = extract(format, &text, &Options::default())
            .citations
            .iter()
            .map(|c| {
                format!(
                    "{}\t{}\t{}\t{}\n",
                    c.line,
                    c.kind.as_str(),
                    c.target,
                    c.text
                )
            })
            .collect();
        let exp_path = path.with_extension("expected");
        if std::env::var_os("UPDATE_EXPECT").is_some() {
            std::fs::write(&exp_path, &got).unwrap();
        }
        let want = std::fs::read_to_string(&exp_path).unwrap_or_default();
        assert_eq!(got, want, "fixture {}", path.display());
        n += 1;
    }
    assert!(n >= 3, "fixtures missing");
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        #[test]
        fn never_panics(s in "\\PC*") {
            for f in [Format::Markdown, Format::Html, Format::Text] {
                let _ = extract(f, &s, &Options { front_matter_keys: vec!["link".into()] });
            }
        }

        #[test]
        fn never_panics_on_markup_soup(s in "([\\[\\]()<>`*_#!:/\"'{}%\\\\ \nah.=-]|https://|\\{\\{< relref \"x\" >\\}\\}|---\n|<a href=)*") {
            let _ = extract(Format::Markdown, &s, &Options::default());
            let _ = extract(Format::Html, &s, &Options::default());
        }

        #[test]
        fn line_lookups_in_any_order_match_counting_newlines(
            text in "[a\n]{0,200}",
            offsets in prop::collection::vec(0usize..220, 0..30),
        ) {
            let lines = Lines::new(&text);
            for o in offsets {
                let want = 1 + text.as_bytes()[..o.min(text.len())].iter().filter(|b| **b == b'\n').count() as u32;
                prop_assert_eq!(lines.line_of(o), want, "offset {}", o);
            }
        }

        #[test]
        fn finds_planted_urls(
            words in prop::collection::vec("[a-z]{1,8}", 1..40),
            plants in prop::collection::vec((0usize..40, 0usize..3, "[a-z]{1,10}"), 1..8),
        ) {
            // Prose lines of words, with URLs planted as inline links, autolinks or bare URLs.
            let mut lines: Vec<String> = words.chunks(5).map(|c| c.join(" ")).collect();
            let mut want = Vec::new();
            for (i, (at, how, path)) in plants.iter().enumerate() {
                let url = format!("https://host{i}.example.org/{path}");
                let line = at % lines.len();
                let planted = match how {
                    0 => format!(" [link text]({url}) "),
                    1 => format!(" <{url}> "),
                    _ => format!(" {url} "),
                };
                lines[line].push_str(&planted);
                want.push((line as u32 + 1, url));
            }
            let text = lines.join("\n\n");
            // Blank lines between prose lines: line k of `lines` is file line 2k+1.
            let got: Vec<(u32, String)> = extract(Format::Markdown, &text, &Options::default())
                .citations.into_iter().map(|c| (c.line, c.target)).collect();
            for (l, u) in want {
                prop_assert!(got.contains(&(2 * l - 1, u.clone())), "missing {} at {} in {:?}", u, 2 * l - 1, got);
            }
        }
    }
}
