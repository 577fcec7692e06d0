//! Tests of the plan: tables of cases for each form and decision, and properties (never a panic
//! on any bytes and spans; untouched bytes stay; a second plan changes nothing).

use super::*;
use crate::source;

fn at(day: i64) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-01T00:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
        + chrono::Duration::days(day)
}

const COPY_TS: &str = "20190325000000";

fn copy_of(url: &str) -> Copy {
    Copy {
        url: format!("https://web.archive.org/web/{COPY_TS}/{url}"),
        timestamp: COPY_TS.into(),
    }
}

fn base(url: &str, state: State) -> Link {
    Link {
        url: url.into(),
        state,
        since: at(-10),
        confirmed: None,
        streak: 0,
        checks: Vec::new(),
        copy: None,
        looked_up: None,
        cited: at(-2000),
    }
}

/// A link moved for good to `to`, seen on three checks over three days.
fn moved(url: &str, to: &str) -> Link {
    let mut l = base(url, State::Redirected);
    l.checks = (0..3)
        .map(|d| redirect::Check {
            checked_at: at(d),
            state: State::Redirected,
            final_url: Some(to.into()),
            redirects: crate::fetch::Redirects::from_json(
                &serde_json::json!([{"url": url, "status": 301, "location": to}]).to_string(),
            ),
        })
        .collect();
    l
}

/// A confirmed dead link with (or without) an archived copy.
fn dead(url: &str, state: State, copy: bool) -> Link {
    let mut l = base(url, state);
    l.confirmed = Some(state);
    l.streak = 3;
    l.copy = copy.then(|| copy_of(url));
    l
}

fn confirm() -> confirm::Settings {
    confirm::Settings {
        confirm_checks: 3,
        confirm_period: std::time::Duration::from_secs(48 * 3600),
    }
}

/// The citations of a post as `fix` builds them: spans in raw bytes, joined to `links` by URL.
fn citations(format: Format, bytes: &[u8], links: &[Link]) -> Vec<Citation> {
    let text = source::decode("t", bytes).unwrap();
    extract::extract(format, &text.text, &extract::Options::default())
        .citations
        .into_iter()
        .map(|c| {
            let page = c.target.split('#').next().unwrap_or("");
            Citation {
                span: text.offsets.raw_range(c.span.clone()),
                after: c.after.map(|a| text.offsets.raw(a)),
                written: c.written,
                kind: c.kind,
                link: links.iter().position(|l| l.url == page),
                target: c.target,
                line: c.line,
            }
        })
        .collect()
}

fn run(
    format: Format,
    bytes: &[u8],
    links: &[Link],
    settings: &Settings,
    kinds: Kinds,
) -> (Plan, Vec<u8>) {
    let cites = citations(format, bytes, links);
    let opts = extract::Options::default();
    let post = Post {
        bytes,
        format,
        options: &opts,
        citations: &cites,
        links,
    };
    let c = confirm();
    let cx = Context {
        settings,
        confirm: &c,
        kinds,
    };
    let p = plan(&post, &cx);
    let new = apply(bytes, &p.edits);
    (p, new)
}

fn md(text: &str, links: &[Link]) -> (Plan, String) {
    let (p, new) = run(
        Format::Markdown,
        text.as_bytes(),
        links,
        &Settings::default(),
        Kinds::DEFAULT,
    );
    (p, String::from_utf8(new).unwrap())
}

fn replace_mode() -> Settings {
    Settings {
        dead: Mode::Replace,
        ..Settings::default()
    }
}

const OLD: &str = "https://old.example.org/post";
const NEW: &str = "https://new.example.org/post";
const GONE: &str = "https://gone.example.org/x";

#[test]
fn a_redirect_is_replaced_with_its_fragment_and_a_dead_link_annotated() {
    let text = "---\ntitle: t\nlink: https://old.example.org/post\n---\nSee [the post](https://old.example.org/post#part \"title\") and [gone](https://gone.example.org/x).\n";
    let (p, new) = md(text, &[moved(OLD, NEW), dead(GONE, State::Broken, true)]);
    assert_eq!(
        new,
        "---\ntitle: t\nlink: https://old.example.org/post\n---\nSee [the post](https://new.example.org/post#part \"title\") and [gone](https://gone.example.org/x) ([archived](https://web.archive.org/web/20190325000000/https://gone.example.org/x)).\n"
    );
    assert_eq!(p.edits.len(), 2);
    let e = &p.edits[0];
    assert_eq!(
        (e.line, e.repair, e.action),
        (5, Repair::Redirected, Action::Replace)
    );
    assert_eq!(e.old, "https://old.example.org/post#part");
    assert_eq!(e.new, "https://new.example.org/post#part");
    assert!(e.why.contains("permanent redirect"), "{}", e.why);
    let e = &p.edits[1];
    assert_eq!(
        (e.repair, e.action, e.old.as_str()),
        (Repair::Dead, Action::Annotate, "")
    );
    assert!(
        e.why
            .contains("broken since 2026-10-22 (confirmed); archived copy of 2019-03-25 added"),
        "{}",
        e.why
    );
    // A second plan of the result changes nothing: the redirect is gone, the copy is there.
    let (again, same) = md(&new, &[moved(OLD, NEW), dead(GONE, State::Broken, true)]);
    assert!(again.edits.is_empty(), "{:?}", again.edits);
    assert_eq!(again.already, 1);
    assert_eq!(same, new);
}

/// A reference definition serves every use: it is edited once; annotations go after each use.
#[test]
fn a_reference_definition_used_three_times_is_edited_once() {
    let text = "One [a][r], two [b][r] and [r].\n\n[r]: https://old.example.org/post 'T'\n";
    let (p, new) = md(text, &[moved(OLD, NEW)]);
    assert_eq!(
        new,
        "One [a][r], two [b][r] and [r].\n\n[r]: https://new.example.org/post 'T'\n"
    );
    assert_eq!(p.edits.len(), 1);
    assert_eq!((p.edits[0].line, p.edits[0].citations), (3, 3));
    let text = "One [a][r], two [b][r].\n\n[r]: <https://gone.example.org/x>\n";
    let (p, new) = md(text, &[dead(GONE, State::Broken, true)]);
    let note =
        " ([archived](https://web.archive.org/web/20190325000000/https://gone.example.org/x))";
    assert_eq!(
        new,
        format!("One [a][r]{note}, two [b][r]{note}.\n\n[r]: <https://gone.example.org/x>\n")
    );
    assert_eq!(p.edits.len(), 2);
}

#[test]
fn autolinks_bare_urls_and_images() {
    let text = "<https://old.example.org/post> and https://old.example.org/post, and ![chart](https://gone.example.org/x)\n";
    let links = [moved(OLD, NEW), dead(GONE, State::Broken, true)];
    let (_, new) = md(text, &links);
    assert_eq!(
        new,
        "<https://new.example.org/post> and https://new.example.org/post, and ![chart](https://gone.example.org/x) ([archived](https://web.archive.org/web/20190325000000/https://gone.example.org/x))\n"
    );
    // Replaced: an image by the copy of its own bytes (`im_`).
    let (p, new) = run(
        Format::Markdown,
        text.as_bytes(),
        &links,
        &replace_mode(),
        Kinds::DEFAULT,
    );
    assert!(String::from_utf8(new).unwrap().contains(
        "![chart](https://web.archive.org/web/20190325000000im_/https://gone.example.org/x)"
    ));
    assert!(
        p.edits[2]
            .why
            .contains("replaced by its archived copy of 2019-03-25"),
        "{}",
        p.edits[2].why
    );
    // Annotating a bare URL and an autolink.
    let text = "Read https://gone.example.org/x. Or <https://gone.example.org/x>!\n";
    let (_, new) = md(text, &[dead(GONE, State::Soft404, true)]);
    let note =
        " ([archived](https://web.archive.org/web/20190325000000/https://gone.example.org/x))";
    assert_eq!(
        new,
        format!("Read https://gone.example.org/x{note}. Or <https://gone.example.org/x>{note}!\n")
    );
}

#[test]
fn html_keeps_its_quoting_and_entity_habits() {
    let html = "<p><a href='https://old.example.org/post?a=1&amp;b=2#it&#39;s'>x</a> <a href=\"https://gone.example.org/x\">y</a> <img src=https://old.example.org/post?a=1&amp;b=2></p>\n";
    let old = "https://old.example.org/post?a=1&b=2";
    let to = "https://new.example.org/post?a=1&b=2&c='q'";
    let links = [moved(old, to), dead(GONE, State::Broken, true)];
    let (p, new) = run(
        Format::Html,
        html.as_bytes(),
        &links,
        &Settings::default(),
        Kinds::DEFAULT,
    );
    assert_eq!(
        String::from_utf8(new).unwrap(),
        "<p><a href='https://new.example.org/post?a=1&amp;b=2&amp;c=%27q%27#it&#39;s'>x</a> <a href=\"https://gone.example.org/x\">y</a> (<a href=\"https://web.archive.org/web/20190325000000/https://gone.example.org/x\">archived</a>) <img src=https://old.example.org/post?a=1&amp;b=2></p>\n"
    );
    // The unquoted attribute cannot hold `=` or `'`: listed, not touched.
    assert!(
        p.listed.iter().any(|l| l.why.contains("unquoted")),
        "{:?}",
        p.listed
    );
}

#[test]
fn markdown_escapes_what_it_must() {
    let to = "https://new.example.org/wiki/Foo_(bar";
    let (_, new) = md("[a](https://old.example.org/post)\n", &[moved(OLD, to)]);
    assert_eq!(new, "[a](https://new.example.org/wiki/Foo_\\(bar)\n");
    let to = "https://new.example.org/a&amp;b";
    let (_, new) = md("[a](<https://old.example.org/post>)\n", &[moved(OLD, to)]);
    assert_eq!(new, "[a](<https://new.example.org/a\\&amp;b>)\n");
}

#[test]
fn template_code_post_references_and_code_are_never_touched() {
    let text = "```\nhttps://old.example.org/post\n```\n`https://old.example.org/post` {{< figure src=\"https://old.example.org/post\" >}} [x]({{< relref \"a.md\" >}})\n[t]({{ site.baseurl }}/post)\n{{< youtube abc >}}\n";
    let yt = "https://www.youtube.com/watch?v=abc";
    let (p, new) = md(text, &[moved(OLD, NEW), moved(yt, "https://youtu.be/abc")]);
    assert_eq!(
        new,
        text.replace(
            "src=\"https://old.example.org/post\"",
            "src=\"https://new.example.org/post\""
        )
    );
    assert_eq!(p.edits.len(), 1);
    assert!(
        p.listed
            .iter()
            .any(|l| l.url == yt && l.why.contains("not written out")),
        "{:?}",
        p.listed
    );
}

#[test]
fn what_is_listed_and_not_touched() {
    let text = "[a](https://gone.example.org/x) [b](https://old.example.org/post)\n";
    // No copy.
    let (p, new) = md(text, &[dead(GONE, State::Broken, false)]);
    assert_eq!(new, text);
    assert!(
        p.listed[0].why.contains("no archived copy"),
        "{:?}",
        p.listed
    );
    // Not confirmed.
    let mut l = base(GONE, State::Broken);
    l.streak = 1;
    let (p, _) = md(text, &[l]);
    assert!(
        p.listed[0]
            .why
            .contains("not confirmed yet (1 bad check so far"),
        "{:?}",
        p.listed
    );
    // A soft 404 whose only copy is from after it turned (the copy may be the not-found page).
    let mut l = dead(GONE, State::Soft404, false);
    l.copy = Some(Copy {
        url: "https://web.archive.org/web/20261030000000/https://gone.example.org/x".into(),
        timestamp: "20261030000000".into(),
    });
    let (p, _) = md(text, &[l]);
    assert!(
        p.listed[0].why.contains("from after that"),
        "{:?}",
        p.listed
    );
    // Redirects off; a redirect to the front page.
    let off = Settings {
        redirected: false,
        ..Settings::default()
    };
    let (p, _) = run(
        Format::Markdown,
        text.as_bytes(),
        &[moved(OLD, NEW)],
        &off,
        Kinds::DEFAULT,
    );
    assert!(p.edits.is_empty() && p.listed[0].why.contains("redirected = false"));
    let (p, _) = md(text, &[moved(OLD, "https://old.example.org/")]);
    assert!(
        p.edits.is_empty() && p.listed[0].why.contains("front page"),
        "{:?}",
        p.listed
    );
    // Kinds not asked for are neither touched nor listed.
    let only = Kinds::only(&[Repair::Redirected]);
    let (p, _) = run(
        Format::Markdown,
        text.as_bytes(),
        &[dead(GONE, State::Broken, true)],
        &Settings::default(),
        only,
    );
    assert_eq!(p, Plan::default());
}

#[test]
fn changed_pages_only_when_asked_and_with_a_copy_from_before() {
    let text = "[a](https://gone.example.org/x)\n";
    let mut l = dead(GONE, State::Changed, true);
    let (p, _) = md(text, std::slice::from_ref(&l));
    assert_eq!(p, Plan::default(), "not without --only changed");
    let changed = Kinds::only(&[Repair::Changed]);
    let (p, new) = run(
        Format::Markdown,
        text.as_bytes(),
        std::slice::from_ref(&l),
        &Settings::default(),
        changed,
    );
    assert!(String::from_utf8(new).unwrap().contains("([archived]("));
    assert!(
        p.edits[0].why.contains("from before the change"),
        "{}",
        p.edits[0].why
    );
    l.since = at(-3000);
    let (p, _) = run(
        Format::Markdown,
        text.as_bytes(),
        &[l],
        &Settings::default(),
        changed,
    );
    assert!(
        p.edits.is_empty() && p.listed[0].why.contains("from after that"),
        "{:?}",
        p
    );
}

#[test]
fn crlf_bom_invalid_bytes_and_no_final_newline_survive() {
    let bytes = b"\xEF\xBB\xBF---\r\ntitle: x \xff\r\n---\r\nA [link](https://old.example.org/post)  \r\nand \xfe\xfe [gone](https://gone.example.org/x)".to_vec();
    let links = [moved(OLD, NEW), dead(GONE, State::Broken, true)];
    let (p, new) = run(
        Format::Markdown,
        &bytes,
        &links,
        &Settings::default(),
        Kinds::DEFAULT,
    );
    assert_eq!(p.edits.len(), 2, "{p:?}");
    let i = memchr::memmem::find(&bytes, OLD.as_bytes()).unwrap();
    let mut want = bytes[..i].to_vec();
    want.extend_from_slice(NEW.as_bytes());
    want.extend_from_slice(&bytes[i + OLD.len()..]);
    want.extend_from_slice(
        b" ([archived](https://web.archive.org/web/20190325000000/https://gone.example.org/x))",
    );
    assert_eq!(new, want);
}

#[test]
fn plain_text_posts_get_a_plain_note() {
    let text = "Source: https://gone.example.org/x\r\nEnd";
    let (_, new) = run(
        Format::Text,
        text.as_bytes(),
        &[dead(GONE, State::Broken, true)],
        &Settings::default(),
        Kinds::DEFAULT,
    );
    assert_eq!(
        String::from_utf8(new).unwrap(),
        "Source: https://gone.example.org/x (archived: https://web.archive.org/web/20190325000000/https://gone.example.org/x)\r\nEnd"
    );
}

#[test]
fn an_edit_that_would_change_what_the_post_cites_is_refused() {
    // A bare URL ending in a dot would lose the dot to the sentence.
    let (p, new) = md(
        "Read https://old.example.org/post now\n",
        &[moved(OLD, "https://new.example.org/post.")],
    );
    assert_eq!(new, "Read https://old.example.org/post now\n");
    assert!(p.listed[0].why.contains("would not read"), "{:?}", p.listed);
}

#[test]
fn the_wording_is_configurable() {
    let s = Settings {
        archived_label: "copy of {date}".into(),
        archived_note: " — {link}".into(),
        ..Settings::default()
    };
    let (_, new) = run(
        Format::Markdown,
        b"[a](https://gone.example.org/x)\n",
        &[dead(GONE, State::Broken, true)],
        &s,
        Kinds::DEFAULT,
    );
    assert_eq!(
        String::from_utf8(new).unwrap(),
        "[a](https://gone.example.org/x) — [copy of 2019-03-25](https://web.archive.org/web/20190325000000/https://gone.example.org/x)\n"
    );
}

#[test]
fn which_copies_are_looked_up() {
    let c = confirm();
    let s = Settings::default();
    let cx = Context {
        settings: &s,
        confirm: &c,
        kinds: Kinds::DEFAULT,
    };
    let now = at(0);
    let no_copy = dead(GONE, State::Broken, false);
    assert_eq!(
        lookup(&no_copy, &cx, now),
        Some(wayback_timestamp(at(-2000)))
    );
    assert_eq!(lookup(&dead(GONE, State::Broken, true), &cx, now), None);
    let mut recent = no_copy.clone();
    recent.looked_up = Some(at(-1));
    assert_eq!(
        lookup(&recent, &cx, now),
        None,
        "a recent 'none' is trusted"
    );
    let mut soft = dead(GONE, State::Soft404, false);
    soft.cited = at(-5);
    assert_eq!(
        lookup(&soft, &cx, now),
        Some(wayback_timestamp(at(-11))),
        "before it turned"
    );
    let mut unconfirmed = no_copy;
    unconfirmed.confirmed = None;
    assert_eq!(lookup(&unconfirmed, &cx, now), None);
    assert_eq!(lookup(&moved(OLD, NEW), &cx, now), None);
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    fn written() -> impl Strategy<Value = Written> {
        prop_oneof![
            any::<bool>().prop_map(|angle| Written::Destination { angle }),
            Just(Written::Autolink),
            any::<bool>().prop_map(|markdown| Written::Bare { markdown }),
            prop::option::of(prop_oneof![Just(b'"'), Just(b'\''), Just(b'x')])
                .prop_map(|quote| Written::Attribute { quote }),
            prop::option::of(prop_oneof![Just(b'"'), Just(b'`'), Just(b'x')])
                .prop_map(|quote| Written::ShortcodeArg { quote }),
            Just(Written::Fixed),
        ]
    }

    fn kind() -> impl Strategy<Value = CitationKind> {
        prop_oneof![
            Just(CitationKind::Link),
            Just(CitationKind::Image),
            Just(CitationKind::Autolink),
            Just(CitationKind::Bare),
            Just(CitationKind::PostRef),
        ]
    }

    fn links() -> Vec<Link> {
        vec![
            moved(OLD, NEW),
            dead(GONE, State::Broken, true),
            dead("https://soft.example.org/", State::Soft404, true),
            moved("https://a.org/(x", "https://b.org/\"q\" ]"),
        ]
    }

    /// Bytes outside the edits are those of the file, in order.
    fn untouched_bytes_stay(bytes: &[u8], edits: &[Edit], new: &[u8]) -> Result<(), TestCaseError> {
        let mut pos = 0;
        let mut out = 0;
        for e in edits {
            prop_assert!(e.range.start >= pos && e.range.end <= bytes.len());
            let gap = &bytes[pos..e.range.start];
            prop_assert_eq!(&new[out..out + gap.len()], gap);
            out += gap.len();
            prop_assert_eq!(&new[out..out + e.new.len()], e.new.as_bytes());
            out += e.new.len();
            pos = e.range.end;
        }
        prop_assert_eq!(&new[out..], &bytes[pos..]);
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        /// Any file bytes and any citations, spans and facts: a plan or refusals, never a panic;
        /// every edit lies within the file, edits do not overlap, and every other byte stays.
        #[test]
        fn any_bytes_and_spans_give_edits_or_refusals(
            bytes in prop::collection::vec(any::<u8>(), 0..200),
            cites in prop::collection::vec(
                (0usize..220, 0usize..60, prop::option::of(0usize..220), written(), kind(),
                 prop_oneof![Just(OLD.to_string()), Just(GONE.to_string()), "\\PC{0,20}"], 0usize..6),
                0..8),
            format in prop_oneof![Just(Format::Markdown), Just(Format::Html), Just(Format::Text)],
            replace in any::<bool>(),
        ) {
            let links = links();
            let citations: Vec<Citation> = cites
                .into_iter()
                .map(|(start, len, after, written, kind, target, link)| Citation {
                    span: start..start + len,
                    after,
                    written,
                    kind,
                    target,
                    line: 1,
                    link: Some(link),
                })
                .collect();
            let opts = extract::Options::default();
            let post = Post { bytes: &bytes, format, options: &opts, citations: &citations, links: &links };
            let settings = if replace { replace_mode() } else { Settings::default() };
            let c = confirm();
            let kinds = Kinds { redirected: true, dead: true, changed: true };
            let p = plan(&post, &Context { settings: &settings, confirm: &c, kinds });
            for w in p.edits.windows(2) {
                prop_assert!(!overlaps(&w[0].range, &w[1].range) && w[0].range.start <= w[1].range.start);
            }
            let new = apply(&bytes, &p.edits);
            untouched_bytes_stay(&bytes, &p.edits, &new)?;
        }

        /// The applier takes any edits, even ones no plan makes (out of range, overlapping,
        /// reversed): it never panics and copies every byte outside the edits it makes.
        #[test]
        fn apply_never_panics_on_any_edits(
            bytes in prop::collection::vec(any::<u8>(), 0..100),
            ranges in prop::collection::vec((0usize..120, 0usize..120, "\\PC{0,8}"), 0..6),
        ) {
            let edits: Vec<Edit> = ranges
                .into_iter()
                .map(|(a, b, new)| Edit {
                    range: a..b,
                    line: 1,
                    old: String::new(),
                    new,
                    target: String::new(),
                    repair: Repair::Dead,
                    action: Action::Replace,
                    url: String::new(),
                    citations: 1,
                    why: String::new(),
                    note_kind: None,
                })
                .collect();
            let out = apply(&bytes, &edits);
            let made: Vec<Edit> = {
                let mut pos = 0;
                edits
                    .into_iter()
                    .filter(|e| {
                        let ok = e.range.start >= pos && e.range.start <= e.range.end && e.range.end <= bytes.len();
                        if ok {
                            pos = e.range.end;
                        }
                        ok
                    })
                    .collect()
            };
            untouched_bytes_stay(&bytes, &made, &out)?;
        }

        /// Posts made of prose, code and every Markdown form citing a moved and a dead link:
        /// after the plan, the post cites the new address and the copy, every other byte
        /// stays, and planning again changes nothing.
        #[test]
        fn planted_citations_are_repaired_once(
            words in prop::collection::vec("[a-z]{1,8}", 1..30),
            plants in prop::collection::vec((0usize..30, 0usize..7, any::<bool>()), 1..8),
            crlf in any::<bool>(),
            replace in any::<bool>(),
        ) {
            let mut lines: Vec<String> = words.chunks(4).map(|c| c.join(" ")).collect();
            let mut defs = String::new();
            for (i, (at, how, moved_one)) in plants.iter().enumerate() {
                let url = if *moved_one { OLD } else { GONE };
                let line = at % lines.len();
                let planted = match how {
                    0 => format!(" [text {i}]({url}#f{i})"),
                    1 => format!(" <{url}>"),
                    2 => format!(" {url} "),
                    3 => format!(" ![alt]({url})"),
                    4 => format!(" <a href=\"{url}\">html</a>"),
                    5 => {
                        defs.push_str(&format!("\n[r{i}]: {url}\n"));
                        format!(" [ref {i}][r{i}] and [again][r{i}]")
                    }
                    _ => format!(" `{url}` (code)"),
                };
                lines[line].push_str(&planted);
            }
            let eol = if crlf { "\r\n" } else { "\n" };
            let text = format!("{}{eol}{}", lines.join(&format!("{eol}{eol}")), defs.replace('\n', eol));
            let links = [moved(OLD, NEW), dead(GONE, State::Broken, true)];
            let settings = if replace { replace_mode() } else { Settings::default() };
            let (p, new) = run(Format::Markdown, text.as_bytes(), &links, &settings, Kinds::DEFAULT);
            untouched_bytes_stay(text.as_bytes(), &p.edits, &new)?;
            prop_assert!(p.listed.is_empty(), "{:?}\n{}", p.listed, text);
            let after = String::from_utf8(new.clone()).unwrap();
            let cited: Vec<String> = extract::extract(Format::Markdown, &after, &extract::Options::default())
                .citations.into_iter().map(|c| c.target).collect();
            prop_assert!(!cited.iter().any(|t| t.starts_with(OLD)), "{:?}\n{}", cited, after);
            prop_assert_eq!(after.matches('\n').count(), text.matches('\n').count());
            let (again, same) = run(Format::Markdown, &new, &links, &settings, Kinds::DEFAULT);
            prop_assert!(again.edits.is_empty(), "{:?}\n{}", again.edits, after);
            prop_assert_eq!(same, new);
        }
    }
}
