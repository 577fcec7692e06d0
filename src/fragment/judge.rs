//! A check's fragments judged together: every fragment a link's citations carry, against the one
//! page the check fetched, in the passes they need (the page's anchors once, its text once, each
//! only when some fragment asks), with what earlier checks saw of each.
//!
//! What a result means for the citation: an anchor seen before and missing now has *gone* (the
//! citation rotted: its link is `changed`); an anchor never seen is a broken citation ("no anchor
//! #x on the page", as lychee says); a text fragment is a quote the author wrote into the URL, so
//! missing is gone, as for a quoted passage. `Unknown` is never missing.
//!
//! Pure: bytes and strings in, values out; never panics (every reader below is bounded).

use url::Url;

use super::{
    anchor_standing, anchors_for_body, directives_standing, lines_standing, missing_reason,
    page_text, parse, raw_file_for, AnchorSet, Fragment, FragmentStanding, PageText,
};

/// A fragment cited for a link, with whether an earlier check found it on the page.
#[derive(Debug, Clone, Copy)]
pub struct Cited<'a> {
    pub fragment: &'a str,
    pub seen_present: bool,
}

/// One cited fragment as this check found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Judged {
    pub fragment: String,
    pub standing: FragmentStanding,
    /// Found by this check or an earlier one.
    pub seen_present: bool,
    /// Missing now, and that is a change of the cited page (an anchor seen before, or a text
    /// fragment): the link's verdict is `changed` with this reason.
    pub gone: Option<String>,
}

/// The raw files a page's cited fragments need (a GitHub line anchor, a heading of a Markdown
/// file as the forge renders it), one per file: fetched beside the page, one request each.
pub fn raw_files_needed(url: &Url, fragments: &[String]) -> Vec<Url> {
    let mut out: Vec<Url> = Vec::new();
    for f in fragments {
        if let Some(raw) = raw_file_for(url, &parse(f)) {
            if !out.contains(&raw) {
                out.push(raw);
            }
        }
    }
    out
}

/// Judges every cited fragment against one fetched page (`url` is where it was fetched from,
/// after redirects), with the raw files [`raw_files_needed`] named, as fetched (a file that
/// could not be fetched is left out: its fragments are judged from the page, which says
/// `unknown` for a line anchor).
pub fn judge(
    body: &[u8],
    content_type: Option<&str>,
    url: &Url,
    cited: &[Cited<'_>],
    raw_files: &[(Url, Vec<u8>)],
) -> Vec<Judged> {
    let mut anchors: Option<AnchorSet> = None;
    let mut text: Option<PageText> = None;
    let mut out = Vec::with_capacity(cited.len());
    for c in cited {
        let fragment = parse(c.fragment);
        let raw = raw_of(url, &fragment, raw_files);
        let standing = match (&fragment, raw) {
            (Fragment::Text { directives, .. }, _) => {
                let page = text.get_or_insert_with(|| {
                    page_text(&crate::readable::decode(body, content_type).0)
                });
                directives_standing(directives, page)
            }
            // A line anchor counts the raw file's lines; a Markdown heading is looked up among
            // the slugs of the raw file's headings.
            (Fragment::Anchor(a), Some((_, raw))) if a.github_lines().is_some() => {
                lines_standing(a, raw)
            }
            (Fragment::Anchor(a), Some((ru, raw))) => {
                match anchor_standing(&fragment, &anchors_for_body(raw, None, &ru), &ru) {
                    FragmentStanding::Missing { .. } => FragmentStanding::Missing {
                        reason: missing_reason(a, c.seen_present),
                    },
                    s => s,
                }
            }
            _ => {
                let set = anchors.get_or_insert_with(|| anchors_for_body(body, content_type, url));
                match (anchor_standing(&fragment, set, url), &fragment) {
                    (FragmentStanding::Missing { .. }, Fragment::Anchor(a)) => {
                        FragmentStanding::Missing {
                            reason: missing_reason(a, c.seen_present),
                        }
                    }
                    (s, _) => s,
                }
            }
        };
        let gone = match (&standing, &fragment) {
            (FragmentStanding::Missing { reason }, Fragment::Text { .. }) => Some(reason.clone()),
            (FragmentStanding::Missing { reason }, Fragment::Anchor(_)) if c.seen_present => {
                Some(reason.clone())
            }
            _ => None,
        };
        out.push(Judged {
            fragment: c.fragment.to_string(),
            seen_present: c.seen_present || standing == FragmentStanding::Present,
            standing,
            gone,
        });
    }
    out
}

/// The fetched raw file a fragment of `url` is read from, when it needs one and it was fetched.
fn raw_of<'r>(
    url: &Url,
    fragment: &Fragment,
    raw_files: &'r [(Url, Vec<u8>)],
) -> Option<(Url, &'r [u8])> {
    let ru = raw_file_for(url, fragment)?;
    let body = raw_files.iter().find(|(u, _)| *u == ru)?;
    Some((ru, body.1.as_slice()))
}

/// How a standing is stored and shown: `present`, `missing`, `unknown`.
pub fn standing_name(s: &FragmentStanding) -> &'static str {
    match s {
        FragmentStanding::Present => "present",
        FragmentStanding::Missing { .. } => "missing",
        FragmentStanding::Unknown { .. } => "unknown",
    }
}

/// The reason stored with a standing, for people.
pub fn standing_reason(s: &FragmentStanding) -> Option<&str> {
    match s {
        FragmentStanding::Present => None,
        FragmentStanding::Missing { reason } => Some(reason),
        FragmentStanding::Unknown { why } => Some(why),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = "<html><body><h2 id=\"usage\">Usage</h2><p>The slowest follower sets \
                        the pace of the whole group.</p><a name=\"old\"></a></body></html>";

    fn run(cited: &[(&str, bool)]) -> Vec<Judged> {
        let url = Url::parse("https://docs.example/page").unwrap();
        let cited: Vec<Cited<'_>> = cited
            .iter()
            .map(|(f, s)| Cited {
                fragment: f,
                seen_present: *s,
            })
            .collect();
        judge(PAGE.as_bytes(), Some("text/html"), &url, &cited, &[])
    }

    #[test]
    fn github_line_anchors_and_readme_headings_are_read_from_the_raw_file() {
        let url = Url::parse("https://github.com/o/r/blob/main/src/lib.rs").unwrap();
        let frags: Vec<String> = ["L3", "L2-L4", "L9", "L10-L20"].map(String::from).to_vec();
        let needed = raw_files_needed(&url, &frags);
        assert_eq!(
            needed,
            [Url::parse("https://raw.githubusercontent.com/o/r/main/src/lib.rs").unwrap()],
            "one request per file, whatever the number of anchors"
        );
        let raw = (needed[0].clone(), b"a\nb\nc\nd\ne\nf\ng\nh\ni".to_vec());
        let cited: Vec<Cited<'_>> = frags
            .iter()
            .map(|f| Cited {
                fragment: f,
                seen_present: false,
            })
            .collect();
        // The page itself (GitHub's HTML) has no line ids: the raw file decides.
        let j = judge(b"<html></html>", Some("text/html"), &url, &cited, &[raw]);
        assert_eq!(j[0].standing, FragmentStanding::Present);
        assert_eq!(j[1].standing, FragmentStanding::Present);
        assert_eq!(
            j[2].standing,
            FragmentStanding::Present,
            "9 lines, no final newline"
        );
        assert!(j[3].standing.is_missing(), "{:?}", j[3].standing);
        // Without the raw file a line anchor is unknown, never missing.
        let j = judge(b"<html></html>", Some("text/html"), &url, &cited, &[]);
        assert!(j
            .iter()
            .all(|j| matches!(j.standing, FragmentStanding::Unknown { .. })));
        // A README's heading, by GitHub's slugs of the raw Markdown.
        let readme = Url::parse("https://github.com/o/r/blob/main/README.md").unwrap();
        let frags: Vec<String> = ["getting-started", "gone-section"]
            .map(String::from)
            .to_vec();
        let needed = raw_files_needed(&readme, &frags);
        assert_eq!(needed.len(), 1);
        let raw = (
            needed[0].clone(),
            b"# Tool\n\n## Getting Started\n\ntext\n".to_vec(),
        );
        let cited: Vec<Cited<'_>> = frags
            .iter()
            .map(|f| Cited {
                fragment: f,
                seen_present: true,
            })
            .collect();
        let j = judge(b"<html></html>", Some("text/html"), &readme, &cited, &[raw]);
        assert_eq!(j[0].standing, FragmentStanding::Present);
        assert_eq!(
            j[1].gone.as_deref(),
            Some("anchor #gone-section is no longer on the page")
        );
    }

    #[test]
    fn anchors_present_missing_and_gone() {
        let j = run(&[
            ("usage", false),
            ("old", false),
            ("install", false),
            ("install", true),
        ]);
        assert_eq!(j[0].standing, FragmentStanding::Present);
        assert!(j[0].seen_present && j[0].gone.is_none());
        assert_eq!(j[1].standing, FragmentStanding::Present);
        // Never seen: a broken citation, not a change of the page.
        assert_eq!(
            j[2].standing,
            FragmentStanding::Missing {
                reason: "no anchor #install on the page".into()
            }
        );
        assert_eq!(j[2].gone, None);
        assert!(!j[2].seen_present);
        // Seen before: the cited page changed.
        assert_eq!(
            j[3].gone.as_deref(),
            Some("anchor #install is no longer on the page")
        );
        assert!(j[3].seen_present, "what was seen stays seen");
    }

    #[test]
    fn a_text_fragment_is_a_quote_missing_is_gone() {
        let j = run(&[
            (":~:text=slowest%20follower", false),
            (":~:text=fastest%20follower", false),
            ("usage:~:text=whole%20group", false),
        ]);
        assert_eq!(j[0].standing, FragmentStanding::Present);
        assert!(j[1].standing.is_missing());
        assert!(j[1].gone.is_some(), "a text fragment missing is a change");
        assert_eq!(j[2].standing, FragmentStanding::Present);
    }

    #[test]
    fn top_and_routes_always_stand_or_are_unknown() {
        let j = run(&[("top", false), ("", false), ("!/app/route", false)]);
        assert_eq!(j[0].standing, FragmentStanding::Present);
        assert_eq!(j[1].standing, FragmentStanding::Present);
        assert!(matches!(j[2].standing, FragmentStanding::Unknown { .. }));
        assert!(j.iter().all(|j| j.gone.is_none()));
    }

    proptest::proptest! {
        #[test]
        fn never_panics(body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..2000),
                        frag in ".{0,80}", seen in proptest::prelude::any::<bool>()) {
            let url = Url::parse("https://github.com/a/b/blob/main/README.md").unwrap();
            let raw = (Url::parse("https://raw.githubusercontent.com/a/b/main/README.md").unwrap(), body.clone());
            let j = judge(&body, None, &url, &[Cited { fragment: &frag, seen_present: seen }], &[raw]);
            proptest::prop_assert_eq!(j.len(), 1);
        }
    }
}
