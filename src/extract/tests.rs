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

fn html_targets(text: &str) -> Vec<(CitationKind, String)> {
    extract(Format::Html, text, &Options::default())
        .citations
        .into_iter()
        .map(|c| (c.kind, c.target))
        .collect()
}

/// The text each citation's span covers.
fn spans(format: Format, text: &str) -> Vec<String> {
    extract(format, text, &Options::default())
        .citations
        .into_iter()
        .map(|c| text[c.span].to_string())
        .collect()
}

fn quotes(format: Format, text: &str) -> Vec<(String, Option<String>)> {
    extract(format, text, &Options::default())
        .citations
        .into_iter()
        .map(|c| (c.target, c.quote))
        .collect()
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
    // Spans cover the target as written: in the reference definition for a reference link.
    assert_eq!(
        spans(Format::Markdown, t),
        [
            "https://a.org/doc",
            "https://ref.org/page",
            "img/p.png",
            "https://auto.org/x"
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
        // The parser has consumed emphasis: a `_` left at the end is the URL's.
        (
            "see https://example.com/foo_ now",
            "https://example.com/foo_",
        ),
        ("*see https://a.org/em*", "https://a.org/em"),
    ];
    for (text, want) in cases {
        assert_eq!(targets(text), vec![want.to_string()], "{text}");
    }
}

#[test]
fn backslash_escapes_do_not_cut_bare_urls() {
    let t = "See https://en.wikipedia.org/wiki/Link\\_rot today.\nAnd https://a.org/x\\(y\\)z and https://b.org/a\\*b\\~c.\n";
    assert_eq!(
        targets(t),
        [
            "https://en.wikipedia.org/wiki/Link_rot",
            "https://a.org/x(y)z",
            "https://b.org/a*b~c"
        ]
    );
    // The span is the URL as written, backslashes and all.
    assert_eq!(
        spans(Format::Markdown, t),
        [
            "https://en.wikipedia.org/wiki/Link\\_rot",
            "https://a.org/x\\(y\\)z",
            "https://b.org/a\\*b\\~c"
        ]
    );
    // An entity in running text is decoded; the span still covers it.
    let t = "at https://a.org/?a=1&amp;b=2 now";
    assert_eq!(targets(t), ["https://a.org/?a=1&b=2"]);
    assert_eq!(spans(Format::Markdown, t), ["https://a.org/?a=1&amp;b=2"]);
}

#[test]
fn math_is_like_code() {
    assert!(targets("$$[\\psi](\\mathbf{L})$$\n").is_empty());
    assert!(targets("inline $[a](b)$ math and $https://not.example.org/$\n").is_empty());
    assert_eq!(
        targets("It costs $5 and $10 at https://a.org/shop\n"),
        ["https://a.org/shop"]
    );
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
    let t = "text\n\n<div>\n<a href=\"https://a.org/x?y=1&amp;z=2\" rel=\"nofollow\">A</a>\n<img src='https://b.org/i.png'>\n</div>\n\nand inline <a href=\"https://c.org/\">c <em>d</em></a> too\n";
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
    // Inline HTML: the link's text comes from the Markdown between its tags.
    assert_eq!(c[2].3, "c d");
    assert_eq!(
        spans(Format::Markdown, t),
        [
            "https://a.org/x?y=1&amp;z=2",
            "https://b.org/i.png",
            "https://c.org/"
        ]
    );
}

/// One rule for HTML posts and HTML inside Markdown.
#[test]
fn html_attributes_on_any_element() {
    let body = "<video src=\"https://m.org/v.mp4\" poster=\"https://m.org/p.jpg\"><track src=\"https://m.org/t.vtt\"><source src=\"https://m.org/s.webm\"></video>\n\
        <audio src=\"https://m.org/a.ogg\"></audio><embed src=\"https://m.org/e.swf\"><object data=\"https://m.org/o.pdf\"></object>\n\
        <map><area href=\"https://m.org/area\" alt=\"region\"></map>\n\
        <img src=\"https://m.org/i.png\" srcset=\"https://m.org/i-2x.png 2x, https://m.org/i-3x.png 3x\">\n\
        <picture><source srcset=\"https://m.org/p.avif\"></picture>\n\
        <my-card href=\"https://m.org/card\" src=\"https://m.org/card.js\">card</my-card>\n\
        <pre><a href=\"https://m.org/in-pre\">pre</a></pre>\n\
        <del cite=\"https://m.org/why\">old</del>\n";
    let want: Vec<(CitationKind, String)> = [
        (CitationKind::Embed, "https://m.org/v.mp4"),
        (CitationKind::Image, "https://m.org/p.jpg"),
        (CitationKind::Embed, "https://m.org/t.vtt"),
        (CitationKind::Embed, "https://m.org/s.webm"),
        (CitationKind::Embed, "https://m.org/a.ogg"),
        (CitationKind::Embed, "https://m.org/e.swf"),
        (CitationKind::Embed, "https://m.org/o.pdf"),
        (CitationKind::Link, "https://m.org/area"),
        (CitationKind::Image, "https://m.org/i.png"),
        (CitationKind::Image, "https://m.org/i-2x.png"),
        (CitationKind::Image, "https://m.org/i-3x.png"),
        (CitationKind::Image, "https://m.org/p.avif"),
        (CitationKind::Link, "https://m.org/card"),
        (CitationKind::Embed, "https://m.org/card.js"),
        (CitationKind::Link, "https://m.org/in-pre"),
        (CitationKind::Link, "https://m.org/why"),
    ]
    .into_iter()
    .map(|(k, u)| (k, u.to_string()))
    .collect();
    assert_eq!(html_targets(body), want, "HTML post");
    let in_md: Vec<(CitationKind, String)> = extract(
        Format::Markdown,
        &format!("Intro.\n\n{body}"),
        &Options::default(),
    )
    .citations
    .into_iter()
    .map(|c| (c.kind, c.target))
    .collect();
    assert_eq!(in_md, want, "HTML in Markdown");
}

#[test]
fn page_plumbing_and_css_are_not_citations() {
    let t = "<html><head><link rel=\"stylesheet\" href=\"https://cdn.org/s.css\"><script src=\"https://cdn.org/s.js\"></script><meta property=\"og:url\" content=\"https://me.org/\"><base href=\"https://me.org/\"><style>body { background: url(https://cdn.org/bg.png) }</style></head>\n<body><p style=\"background: url(https://cdn.org/p.png)\">Hi <a href=\"https://cited.org/\" rel=\"nofollow\">cited</a></p><!-- <a href=\"https://commented.org/\"> --></body></html>";
    assert_eq!(
        html_targets(t),
        [(CitationKind::Link, "https://cited.org/".to_string())]
    );
}

#[test]
fn email_addresses_in_prose_are_not_fetched() {
    assert!(targets("Write to kris@example.org about it.\n").is_empty());
    assert_eq!(
        targets("<kris@example.org>"),
        vec!["mailto:kris@example.org".to_string()]
    );
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
    let t = "A [prev]({{< relref \"2019-03-25-sell\" >}}) and (({{< ref \"/posts/x.md\" >}})) and {{< relref \"y\" >}}#frag.\n`{{< relref \"in-code\" >}}`\n{{< relref path=\"z.md\" lang=\"de\" outputFormat=\"amp\" >}} {{< ref \"w.md#part\" \"rss\" >}}\n";
    let c = extract(Format::Markdown, t, &Options::default()).citations;
    let refs: Vec<_> = c
        .iter()
        .filter(|c| c.kind == CitationKind::PostRef)
        .map(|c| (c.target.as_str(), c.text.as_str()))
        .collect();
    assert_eq!(
        refs,
        vec![
            ("2019-03-25-sell", "prev"),
            ("/posts/x.md", ""),
            ("y#frag", ""),
            ("z.md", ""),
            ("w.md#part", "")
        ]
    );
    let r = c[3].reference.as_ref().unwrap();
    assert_eq!(r.style, RefStyle::Hugo);
    assert_eq!(r.lang.as_deref(), Some("de"));
    assert_eq!(r.output_format.as_deref(), Some("amp"));
    assert_eq!(
        c[4].reference.as_ref().unwrap().output_format.as_deref(),
        Some("rss")
    );
    assert_eq!(&t[c[0].span.clone()], "{{< relref \"2019-03-25-sell\" >}}");
    assert_eq!(&t[c[2].span.clone()], "{{< relref \"y\" >}}#frag");
}

#[test]
fn hugo_builtin_shortcodes_that_cite() {
    let t = "{{< figure src=\"chart.png\" alt=\"A chart\" link=\"https://src.org/data\" attr=\"Source\" attrlink=\"https://src.org/\" >}}\n\n\
        {{< youtube id=\"0RKpf3rK57I\" title=\"Talk\" >}} {{< youtube w7Ft2ymGmfc >}}\n{{< vimeo 146022717 >}}\n\
        {{< x user=\"SanDiegoZoo\" id=\"1453110110599868418\" >}} {{< tweet user=\"a\" id=\"1\" >}} {{< tweet 877500564405444608 >}}\n\
        {{< instagram CxOWiQNP2MO >}} {{< gist spf13 7896402 >}}\n\
        {{< highlight go >}}\nfmt.Println(\"https://not-cited.example.org/\")\n{{< /highlight >}}\n\
        {{</* figure src=\"literal.png\" */>}}\n";
    let c: Vec<(CitationKind, String, String)> = extract(Format::Markdown, t, &Options::default())
        .citations
        .into_iter()
        .map(|c| (c.kind, c.target, c.text))
        .collect();
    let want: Vec<(CitationKind, String, String)> = [
        (CitationKind::Image, "chart.png", "A chart"),
        (CitationKind::Link, "https://src.org/data", "A chart"),
        (CitationKind::Link, "https://src.org/", "Source"),
        (
            CitationKind::Embed,
            "https://www.youtube.com/watch?v=0RKpf3rK57I",
            "Talk",
        ),
        (
            CitationKind::Embed,
            "https://www.youtube.com/watch?v=w7Ft2ymGmfc",
            "",
        ),
        (CitationKind::Embed, "https://vimeo.com/146022717", ""),
        (
            CitationKind::Embed,
            "https://x.com/SanDiegoZoo/status/1453110110599868418",
            "",
        ),
        (CitationKind::Embed, "https://twitter.com/a/status/1", ""),
        (
            CitationKind::Embed,
            "https://twitter.com/i/status/877500564405444608",
            "",
        ),
        (
            CitationKind::Embed,
            "https://www.instagram.com/p/CxOWiQNP2MO",
            "",
        ),
        (
            CitationKind::Embed,
            "https://gist.github.com/spf13/7896402",
            "",
        ),
    ]
    .into_iter()
    .map(|(k, u, x)| (k, u.to_string(), x.to_string()))
    .collect();
    assert_eq!(c, want);
    let s = spans(Format::Markdown, t);
    assert_eq!(s[0], "chart.png");
    assert_eq!(s[1], "https://src.org/data");
    assert_eq!(s[3], "0RKpf3rK57I");
}

#[test]
fn jekyll_liquid_links() {
    let t = "---\nlayout: post\n---\n[prev]({% post_url 2010-07-21-name %}) and [sub]({% post_url /sub/2011-01-02-x %}#part).\n\
        [doc]({% link _posts/2019-01-01-x.md %}) ![img]({{ site.baseurl }}/assets/i.png) [abs]({{ site.url }}{{ site.baseurl }}/about/)\n\
        <img src=\"{{ \"/assets/j.png\" | relative_url }}\"> [r]({{ '/k.pdf' | absolute_url }}) [u]({{ page.url }})\n\
        {% raw %}[raw](https://raw.example.org/{{x}}){% endraw %}\n{% comment %}[hidden](https://hidden.example.org/){% endcomment %}\n\
        {% highlight ruby %}\nputs \"https://code.example.org/\"\n{% endhighlight %}\n";
    let opts = Options {
        liquid: Some(SiteVars {
            url: "https://ex.org".into(),
            baseurl: "/blog".into(),
        }),
        ..Options::default()
    };
    let c = extract(Format::Markdown, t, &opts).citations;
    let got: Vec<(CitationKind, &str, Option<RefStyle>)> = c
        .iter()
        .map(|c| {
            (
                c.kind,
                c.target.as_str(),
                c.reference.as_ref().map(|r| r.style),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (
                CitationKind::PostRef,
                "2010-07-21-name",
                Some(RefStyle::JekyllPostUrl)
            ),
            (
                CitationKind::PostRef,
                "/sub/2011-01-02-x#part",
                Some(RefStyle::JekyllPostUrl)
            ),
            (
                CitationKind::PostRef,
                "_posts/2019-01-01-x.md",
                Some(RefStyle::JekyllLink)
            ),
            (CitationKind::Image, "/blog/assets/i.png", None),
            (CitationKind::Link, "https://ex.org/blog/about/", None),
            (CitationKind::Image, "/blog/assets/j.png", None),
            (CitationKind::Link, "https://ex.org/blog/k.pdf", None),
            // `{% raw %}`: written as is, braces and all.
            (CitationKind::Link, "https://raw.example.org/{{x}}", None),
        ]
    );
    assert_eq!(&t[c[0].span.clone()], "{% post_url 2010-07-21-name %}");
    assert_eq!(&t[c[3].span.clone()], "{{ site.baseurl }}/assets/i.png");
    assert_eq!(
        &t[c[5].span.clone()],
        "{{ \"/assets/j.png\" | relative_url }}"
    );
}

#[test]
fn templates_are_read_only_for_their_generator() {
    let t = "[a]({% post_url 2010-07-21-x %}) {{< relref \"y\" >}}\n";
    let hugo_only = Options {
        liquid: None,
        ..Options::default()
    };
    // Liquid is text in a Hugo post: `[a]({% post_url … %})` is no link (a destination has no
    // spaces), and nothing refers to a Jekyll post.
    let c = extract(Format::Markdown, t, &hugo_only).citations;
    assert_eq!(c.len(), 1, "{c:?}");
    assert_eq!(c[0].target, "y");
    let jekyll_only = Options {
        hugo: false,
        ..Options::default()
    };
    let c = extract(Format::Markdown, t, &jekyll_only).citations;
    assert_eq!(c[0].target, "2010-07-21-x");
    assert!(!c.iter().any(|c| c.target == "y"));
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
        ..Options::default()
    };
    let e = extract(Format::Markdown, t, &opts);
    assert_eq!(e.citations.len(), 1);
    assert_eq!(e.citations[0].target, "https://a.org/linked");
    assert_eq!(e.citations[0].line, 2);
    assert_eq!(e.citations[0].kind, CitationKind::FrontMatter);
    assert_eq!(&t[e.citations[0].span.clone()], "https://a.org/linked");
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
        "one https://a.org/\n\ntwo https://b.org/x. _https://c.org/y_\n",
        &Options::default(),
    )
    .citations;
    assert_eq!(c.len(), 3);
    assert_eq!((c[1].line, c[1].target.as_str()), (3, "https://b.org/x"));
    // In plain text, underscores around a URL are emphasis written by hand.
    assert_eq!(c[2].target, "https://c.org/y");
}

#[test]
fn lines_count_front_matter_and_crlf() {
    let t = "---\r\ntitle: x\r\n---\r\n\r\nline five https://a.org/\r\n";
    assert_eq!(md(t)[0].0, 5);
}

#[test]
fn quotes_follow_the_link_they_quote() {
    // The seed post's pattern: a paragraph with the link, then the quoted passage.
    let t = "Intro: [the article](https://a.org/x)\n\n> A plan to integrate the infrastructure\n> would allow users to communicate.\n\nNot quoted: [other](https://b.org/) here.\n";
    assert_eq!(
        quotes(Format::Markdown, t),
        [
            (
                "https://a.org/x".to_string(),
                Some(
                    "A plan to integrate the infrastructure would allow users to communicate."
                        .to_string()
                )
            ),
            ("https://b.org/".to_string(), None),
        ]
    );
    // Several links: the last one before the quote.
    let t = "[a](https://a.org/) and [b](https://b.org/):\n\n> quoted words\n";
    let q = quotes(Format::Markdown, t);
    assert_eq!(q[0].1, None);
    assert_eq!(q[1].1.as_deref(), Some("quoted words"));
    // Something between the paragraph and the quote: no quote.
    let t = "[a](https://a.org/)\n\n## Heading\n\n> quoted words\n";
    assert_eq!(quotes(Format::Markdown, t)[0].1, None);
    // The quote carries its own attribution link.
    let t = "[a](https://a.org/)\n\n> The quoted words.\n> — [Author](https://author.org/)\n";
    let q = quotes(Format::Markdown, t);
    assert_eq!(q[0].1, None);
    assert_eq!(q[1].1.as_deref(), Some("The quoted words."));
    // A quote inside the paragraph, before or after its link.
    let t = "\"Link rot is the process of links going bad\" says [Wikipedia](https://w.org/lr).\n";
    assert_eq!(
        quotes(Format::Markdown, t)[0].1.as_deref(),
        Some("Link rot is the process of links going bad")
    );
    // An HTML blockquote without cite after the paragraph.
    let t = "See [a](https://a.org/)\n\n<blockquote>\nQuoted in HTML.\n</blockquote>\n";
    assert_eq!(
        quotes(Format::Markdown, t)[0].1.as_deref(),
        Some("Quoted in HTML.")
    );
}

#[test]
fn quotes_in_html_posts() {
    let t = "<p>As <a href=\"https://a.org/\">A</a> wrote:</p>\n<blockquote><p>Words of A.</p></blockquote>\n<p><q cite=\"https://q.org/\">Short quote</q></p><blockquote cite=\"https://b.org/\">Whole <em>text</em> of B</blockquote>";
    assert_eq!(
        quotes(Format::Html, t),
        [
            (
                "https://a.org/".to_string(),
                Some("Words of A.".to_string())
            ),
            (
                "https://q.org/".to_string(),
                Some("Short quote".to_string())
            ),
            (
                "https://b.org/".to_string(),
                Some("Whole text of B".to_string())
            ),
        ]
    );
}

/// Data-driven: every `tests/fixtures/extract/NAME.{md,markdown,html,txt}` has `NAME.expected`
/// with one `line<TAB>kind<TAB>target<TAB>text<TAB>span` line per citation, where span is the
/// citation's bytes in the file, and one `  quote: ...` line under a citation that quotes.
/// `UPDATE_EXPECT=1` rewrites them and fails, so an update never passes as a check.
#[test]
fn fixtures() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/extract");
    let mut n = 0;
    let mut updated = Vec::new();
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
        let raw = std::fs::read(&path).unwrap();
        let decoded = crate::source::decode("fixture", &raw).unwrap();
        let got: String = extract(format, &decoded.text, &Options::default())
            .citations
            .iter()
            .map(|c| {
                let span = decoded.offsets.raw_range(c.span.clone());
                let mut line = format!(
                    "{}\t{}\t{}\t{}\t{}\n",
                    c.line,
                    c.kind.as_str(),
                    c.target,
                    c.text,
                    String::from_utf8_lossy(&raw[span])
                );
                if let Some(q) = &c.quote {
                    line.push_str(&format!("  quote: {q}\n"));
                }
                line
            })
            .collect();
        let exp_path = path.with_extension("expected");
        if std::env::var_os("UPDATE_EXPECT").is_some() {
            std::fs::write(&exp_path, &got).unwrap();
            updated.push(exp_path.display().to_string());
            continue;
        }
        let want = std::fs::read_to_string(&exp_path).unwrap_or_else(|e| {
            panic!(
                "{}: {e}; every fixture needs its expected file (UPDATE_EXPECT=1 writes it)",
                exp_path.display()
            )
        });
        assert_eq!(got, want, "fixture {}", path.display());
        n += 1;
    }
    assert!(
        updated.is_empty(),
        "UPDATE_EXPECT: rewrote {updated:?}; review the diff and run again without it"
    );
    assert!(n >= 8, "fixtures missing: {n}");
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    /// ASCII punctuation a Markdown author may escape inside a URL, and that stays inside it.
    const ESCAPABLE: &[char] = &[
        '_', '*', '~', '-', '+', '=', '&', '$', '!', '@', '.', ',', ':', ';',
    ];
    /// Punctuation that ends a sentence after a URL and is not part of it.
    const TRAILING: &[&str] = &[
        ".", ",", ";", ":", "!", "?", ")", "\"", "'", "...", ".)", "),",
    ];
    /// Elements and attributes that cite, with the kind they make.
    const ELEMENTS: &[(&str, &str)] = &[
        ("a", "href"),
        ("img", "src"),
        ("img", "srcset"),
        ("iframe", "src"),
        ("video", "src"),
        ("video", "poster"),
        ("audio", "src"),
        ("embed", "src"),
        ("object", "data"),
        ("area", "href"),
        ("track", "src"),
        ("source", "srcset"),
        ("blockquote", "cite"),
        ("q", "cite"),
        ("my-widget", "href"),
        ("x-embed", "src"),
    ];

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        #[test]
        fn never_panics(s in "\\PC*") {
            for f in [Format::Markdown, Format::Html, Format::Text] {
                let opts = Options { front_matter_keys: vec!["link".into()], ..Options::default() };
                let e = extract(f, &s, &opts);
                for c in e.citations {
                    // Spans are always slices of the text.
                    prop_assert!(s.get(c.span.clone()).is_some(), "{:?} in {:?}", c.span, s);
                }
            }
        }

        #[test]
        fn never_panics_on_markup_soup(s in "([\\[\\]()<>`*_#!:/\"'{}%$\\\\| \nah.=-]|https://|\\{\\{< relref \"x\" >\\}\\}|\\{% post_url 2010-01-01-x %\\}|\\{\\{ site.baseurl \\}\\}|\\{% raw %\\}|\\{\\{< figure src=|---\n|<a href=|<video src=|srcset=|<blockquote>|\n> |&amp;|\u{E000}1)*") {
            for f in [Format::Markdown, Format::Html, Format::Text] {
                for c in extract(f, &s, &Options::default()).citations {
                    prop_assert!(s.get(c.span.clone()).is_some());
                }
            }
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

        /// URLs planted in prose as inline links, autolinks, bare URLs (with escaped
        /// punctuation inside and sentence punctuation after) and HTML elements are found whole,
        /// on their line, with a span that reads as the URL.
        #[test]
        fn finds_planted_urls(
            words in prop::collection::vec("[a-z]{1,8}", 1..40),
            plants in prop::collection::vec(
                (0usize..40, 0usize..5, "[a-z]{1,6}", 0usize..ESCAPABLE.len(), "[a-z]{1,4}", 0usize..TRAILING.len(), 0usize..ELEMENTS.len()),
                1..8,
            ),
        ) {
            let mut lines: Vec<String> = words.chunks(5).map(|c| c.join(" ")).collect();
            let mut want = Vec::new();
            for (i, (at, how, head, esc, tail, trail, el)) in plants.iter().enumerate() {
                let c = ESCAPABLE[*esc];
                let path = format!("{head}{c}{tail}");
                let url = format!("https://host{i}.example.org/{path}");
                let escaped = format!("https://host{i}.example.org/{head}\\{c}{tail}");
                let line = at % lines.len();
                let (planted, written) = match how {
                    0 => (format!(" [link text]({escaped}) "), escaped.clone()),
                    1 => (format!(" <{url}> "), url.clone()),
                    2 => (format!(" {escaped}{} ", TRAILING[*trail]), escaped.clone()),
                    3 => {
                        let (tag, attr) = ELEMENTS[*el];
                        (format!(" <{tag} {attr}=\"{url}\">x</{tag}> "), url.clone())
                    }
                    // Unescaped: only what Markdown leaves alone (`*`, `_` and `~` pair into
                    // emphasis and strike-through, `&x;` is an entity, in every renderer).
                    _ => {
                        let plain = if "*_~&".contains(c) { url.replace(c, "-") } else { url.clone() };
                        lines[line].push_str(&format!(" {plain}{} ", TRAILING[*trail]));
                        want.push((line as u32 + 1, plain.clone(), plain));
                        continue;
                    }
                };
                lines[line].push_str(&planted);
                want.push((line as u32 + 1, url, written));
            }
            let text = lines.join("\n\n");
            // Blank lines between prose lines: line k of `lines` is file line 2k+1.
            let got: Vec<(u32, String, String)> = extract(Format::Markdown, &text, &Options::default())
                .citations.into_iter().map(|c| (c.line, c.target, text[c.span].to_string())).collect();
            for (l, u, w) in want {
                let found = got.iter().any(|(gl, gu, gw)| *gl == 2 * l - 1 && *gu == u && *gw == w);
                prop_assert!(found, "missing {} written {} at {} in {:?}\n{}", u, w, 2 * l - 1, got, text);
            }
        }

        /// The same elements in an HTML post.
        #[test]
        fn finds_urls_in_every_citing_element_of_html_posts(
            picks in prop::collection::vec((0usize..ELEMENTS.len(), "[a-z]{1,8}"), 1..10),
        ) {
            let mut body = String::from("<html><body>\n");
            let mut want = Vec::new();
            for (i, (el, path)) in picks.iter().enumerate() {
                let (tag, attr) = ELEMENTS[*el];
                let url = format!("https://h{i}.example.org/{path}?a=1&b=2");
                let written = url.replace('&', "&amp;");
                body.push_str(&format!("<p>x <{tag} {attr}=\"{written}\">t</{tag}></p>\n"));
                want.push((i as u32 + 2, url, written));
            }
            body.push_str("</body></html>\n");
            let got: Vec<(u32, String, String)> = extract(Format::Html, &body, &Options::default())
                .citations.into_iter().map(|c| (c.line, c.target, body[c.span].to_string())).collect();
            for w in want {
                prop_assert!(got.contains(&w), "missing {:?} in {:?}", w, got);
            }
        }
    }
}

/// What `fix` needs of every form: the span is the target alone, how it is written, and where
/// a note may follow it (nowhere inside other markup). Targets made with template code and
/// post references are never rewritable.
#[test]
fn how_targets_are_written_and_where_a_note_may_go() {
    let t = "[a](https://a.org/x \"t\") and [b][r], [b again][r]. <https://auto.org/> see https://bare.org/p.\n\
             ![i](<img x.png>) [![in](https://img.org/i.png)](https://outer.org/)\n\
             <a href='https://h.org/?a=1&amp;b=2'>h</a> <img src=https://i.org/i.png> <img srcset=\"https://s.org/1.png 1x\">\n\
             [t]({{ site.baseurl }}/x) [p]({% post_url 2010-07-21-x %}) [esc](https://e.org/a\\_b)\n\n\
             {{< figure src=\"https://f.org/f.png\" link=`https://f.org/` >}} {{< youtube abc >}}\n\n\
             [r]: <https://ref.org/p>\n";
    let e = extract(Format::Markdown, t, &Options::default());
    let got: Vec<(String, String, Written, Option<String>)> = e
        .citations
        .iter()
        .map(|c| {
            let before = c.after.map(|a| {
                let head = &t[..a];
                head[head.len().saturating_sub(6)..].to_string()
            });
            (
                c.target.clone(),
                t[c.span.clone()].to_string(),
                c.written,
                before,
            )
        })
        .collect();
    let dest = Written::Destination { angle: false };
    let angle = Written::Destination { angle: true };
    let want: Vec<(&str, &str, Written, Option<&str>)> = vec![
        ("https://a.org/x", "https://a.org/x", dest, Some("x \"t\")")),
        (
            "https://ref.org/p",
            "https://ref.org/p",
            angle,
            Some("[b][r]"),
        ),
        (
            "https://ref.org/p",
            "https://ref.org/p",
            angle,
            Some("in][r]"),
        ),
        (
            "https://auto.org/",
            "https://auto.org/",
            Written::Autolink,
            Some(".org/>"),
        ),
        (
            "https://bare.org/p",
            "https://bare.org/p",
            Written::Bare { markdown: true },
            Some(".org/p"),
        ),
        ("img x.png", "img x.png", angle, Some(".png>)")),
        ("https://img.org/i.png", "https://img.org/i.png", dest, None),
        (
            "https://outer.org/",
            "https://outer.org/",
            dest,
            Some(".org/)"),
        ),
        (
            "https://h.org/?a=1&b=2",
            "https://h.org/?a=1&amp;b=2",
            Written::Attribute { quote: Some(b'\'') },
            Some(">h</a>"),
        ),
        (
            "https://i.org/i.png",
            "https://i.org/i.png",
            Written::Attribute { quote: None },
            Some("i.png>"),
        ),
        (
            "https://s.org/1.png",
            "https://s.org/1.png",
            Written::Attribute { quote: Some(b'"') },
            None,
        ),
        ("/x", "{{ site.baseurl }}/x", Written::Fixed, Some(" }}/x)")),
        (
            "2010-07-21-x",
            "{% post_url 2010-07-21-x %}",
            Written::Fixed,
            Some("-x %})"),
        ),
        (
            "https://e.org/a_b",
            "https://e.org/a\\_b",
            dest,
            Some("/a\\_b)"),
        ),
        (
            "https://f.org/f.png",
            "https://f.org/f.png",
            Written::ShortcodeArg { quote: Some(b'"') },
            None,
        ),
        (
            "https://f.org/",
            "https://f.org/",
            Written::ShortcodeArg { quote: Some(b'`') },
            None,
        ),
        (
            "https://www.youtube.com/watch?v=abc",
            "abc",
            Written::Fixed,
            None,
        ),
    ];
    let want: Vec<(String, String, Written, Option<String>)> = want
        .into_iter()
        .map(|(a, b, w, c)| (a.to_string(), b.to_string(), w, c.map(str::to_string)))
        .collect();
    assert_eq!(got, want);
    // Plain text: bare URLs, the note after each.
    let p = extract(Format::Text, "see https://a.org/x.\n", &Options::default()).citations;
    assert_eq!(p[0].written, Written::Bare { markdown: false });
    assert_eq!(p[0].after, Some(19));
    // HTML posts: a link inside a link gets no note; a link's note goes after its end tag.
    let h = "<p><a href=\"https://a.org/\">A <a href=\"https://b.org/\">B</a></a> <q cite=\"https://q.org/\">x</q></p>";
    let c = extract(Format::Html, h, &Options::default()).citations;
    let after: Vec<(&str, Option<&str>)> = c
        .iter()
        .map(|c| (c.target.as_str(), c.after.map(|a| &h[..a])))
        .collect();
    assert_eq!(after[0].0, "https://a.org/");
    assert_eq!(after[1], ("https://b.org/", None));
    assert_eq!(after[2], ("https://q.org/", None));
}

/// A destination that could not be located (its span is the whole link) is never rewritable.
#[test]
fn a_span_that_is_not_the_target_alone_is_fixed() {
    for c in extract(
        Format::Markdown,
        "[x](https://a.org/ \"t\") [y][undefined]\n",
        &Options::default(),
    )
    .citations
    {
        if c.written != Written::Fixed {
            assert!(c.target.starts_with("https://"));
        }
    }
    let t = "{{< x user=\"u\" id=\"1\" >}}\n";
    let c = &extract(Format::Markdown, t, &Options::default()).citations[0];
    assert_eq!(c.written, Written::Fixed);
}
