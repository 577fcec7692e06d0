//! The plan of `citewatch fix`: a post's bytes, its citations (where each target stands in the
//! file and how it is written), what is known of the links they cite, and the `[fix]` settings
//! in; the edits out (each with its line, old and new bytes, and why) and the citations listed
//! but not touched (with why). Pure: no file, no store, no clock (`now` is a parameter).
//!
//! What is repaired:
//! - a confirmed permanent redirect ([`crate::fix::redirect`]): the target is replaced by the new
//!   address, its fragment kept, in the form it was written (absolute, or root-relative on the
//!   same site);
//! - a confirmed `broken` or `soft_404` link with an archived copy: by default a link to the copy
//!   is inserted right after the citation; with `dead = "replace"` the target is replaced by the
//!   copy; without a copy it is listed;
//! - a confirmed `changed` link (only when asked): the same, with a copy from before the change.
//!
//! Invariants: only the bytes of a target, or an inserted note, change; every other byte stays
//! (front matter, line endings, trailing blanks, a byte-order mark, invalid UTF-8). Every edit
//! is verified before it is offered: the edited post, extracted again with the scan's options,
//! must cite exactly what it cited before, with the edited targets changed and the inserted
//! links added, and nothing else; an edit that fails this is listed instead. A target written
//! with template code, a post reference, anything inside code is never touched (extraction marks
//! them [`Written::Fixed`] or does not report them). Never panics on any bytes or spans.

use std::collections::HashMap;
use std::ops::Range;

use chrono::{DateTime, NaiveDate, Utc};
use url::Url;

use crate::archived as copy;
use crate::confirm;
use crate::extract::{self, CitationKind, Format, Written};
use crate::fix::redirect;
use crate::state::State;

pub use crate::settings::{FixMode as Mode, FixSettings as Settings, DEFAULT_LABEL, DEFAULT_NOTE};

/// What a repair answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Repair {
    /// A confirmed permanent redirect.
    Redirected,
    /// A confirmed `broken` or `soft_404` link.
    Dead,
    /// A confirmed `changed` link.
    Changed,
}

impl Repair {
    pub const ALL: [Repair; 3] = [Repair::Redirected, Repair::Dead, Repair::Changed];

    pub fn as_str(self) -> &'static str {
        match self {
            Repair::Redirected => "redirected",
            Repair::Dead => "dead",
            Repair::Changed => "changed",
        }
    }
}

impl std::str::FromStr for Repair {
    type Err = String;
    fn from_str(s: &str) -> Result<Repair, String> {
        Repair::ALL
            .into_iter()
            .find(|r| r.as_str() == s.trim())
            .ok_or_else(|| format!("unknown kind {s:?}; use redirected, dead or changed"))
    }
}

/// Which repairs a run makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kinds {
    pub redirected: bool,
    pub dead: bool,
    pub changed: bool,
}

impl Kinds {
    /// Without `--only`: redirects and dead links; changed pages only when asked.
    pub const DEFAULT: Kinds = Kinds {
        redirected: true,
        dead: true,
        changed: false,
    };

    /// Exactly the repairs named.
    pub fn only(list: &[Repair]) -> Kinds {
        Kinds {
            redirected: list.contains(&Repair::Redirected),
            dead: list.contains(&Repair::Dead),
            changed: list.contains(&Repair::Changed),
        }
    }

    pub fn has(self, r: Repair) -> bool {
        match r {
            Repair::Redirected => self.redirected,
            Repair::Dead => self.dead,
            Repair::Changed => self.changed,
        }
    }
}

/// An archived copy of a link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Copy {
    pub url: String,
    /// Its 14-digit Wayback timestamp.
    pub timestamp: String,
}

impl Copy {
    fn time(&self) -> Option<DateTime<Utc>> {
        copy::time_of(&self.timestamp)
    }

    fn date(&self) -> Option<NaiveDate> {
        self.time().map(|t| t.date_naive())
    }
}

/// What is known of a cited link.
#[derive(Debug, Clone, PartialEq)]
pub struct Link {
    /// The link as recorded: a normalized URL without fragment.
    pub url: String,
    pub state: State,
    /// When it entered `state`.
    pub since: DateTime<Utc>,
    /// The last confirmed bad state.
    pub confirmed: Option<State>,
    /// Bad checks in the current streak.
    pub streak: u32,
    /// Its latest checks, oldest first (at least `confirm_checks` when it has that many).
    pub checks: Vec<redirect::Check>,
    /// The archived copy known for it.
    pub copy: Option<Copy>,
    /// When an archived copy was last looked up (whether one was found or not).
    pub looked_up: Option<DateTime<Utc>>,
    /// When the posts first cited it (the earliest citing post's date, else when citewatch first
    /// saw it): copies are looked up near this date.
    pub cited: DateTime<Utc>,
}

/// One citation of the post, located in the file's raw bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Citation {
    /// Where the target is written, in the file's bytes.
    pub span: Range<usize>,
    /// Where a note may be inserted, in the file's bytes.
    pub after: Option<usize>,
    pub written: Written,
    pub kind: CitationKind,
    /// The target as extraction read it (escapes decoded).
    pub target: String,
    /// The line where the citation is made.
    pub line: u32,
    /// The link it cites, an index into [`Post::links`], when the store knows it.
    pub link: Option<usize>,
}

/// Everything the plan of one post is decided from.
#[derive(Debug, Clone, Copy)]
pub struct Post<'a> {
    /// The file's bytes, exactly as read.
    pub bytes: &'a [u8],
    pub format: Format,
    /// The options the scan extracts this post with.
    pub options: &'a extract::Options,
    /// Every citation extraction finds in `bytes` (those of unknown links too: verification
    /// compares the whole post).
    pub citations: &'a [Citation],
    pub links: &'a [Link],
}

/// What one plan is decided with.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    pub settings: &'a Settings,
    pub confirm: &'a confirm::Settings,
    pub kinds: Kinds,
}

/// What an edit does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    /// The target's bytes are replaced.
    Replace,
    /// A link to an archived copy is inserted after the citation.
    Annotate,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Replace => "replace",
            Action::Annotate => "annotate",
        }
    }
}

/// One change to a post's bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    /// The bytes replaced (empty for an insertion).
    pub range: Range<usize>,
    /// The line of `range.start` in the file.
    pub line: u32,
    /// The bytes replaced, as text.
    pub old: String,
    /// The bytes written instead.
    pub new: String,
    /// The target the citation has afterwards (escapes decoded): the new address, or the
    /// inserted copy's.
    pub target: String,
    pub repair: Repair,
    pub action: Action,
    /// The link the citation cited.
    pub url: String,
    /// How many citations this edit repairs (a reference definition serves every use).
    pub citations: usize,
    pub why: String,
    /// The kind of citation an inserted note makes.
    pub(crate) note_kind: Option<CitationKind>,
}

/// A citation worth repairing that is not touched, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub line: u32,
    pub url: String,
    pub repair: Repair,
    pub why: String,
}

/// The plan for one post.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// Sorted by position, never overlapping.
    pub edits: Vec<Edit>,
    pub listed: Vec<Listed>,
    /// Citations already repaired (an archived-copy link follows them).
    pub already: usize,
}

/// What a link needs.
#[derive(Debug, Clone)]
enum Need {
    Nothing,
    Address {
        to: Url,
        why: String,
    },
    Copy {
        repair: Repair,
        copy: Copy,
        why: String,
    },
    List {
        repair: Repair,
        why: String,
    },
}

/// How long a look-up that found no copy is trusted.
const LOOKUP_RETRY_DAYS: i64 = 7;

/// The repair a link's state calls for, if any.
fn repair_of(link: &Link) -> Option<Repair> {
    match link.state {
        State::Redirected => Some(Repair::Redirected),
        State::Broken | State::Soft404 => Some(Repair::Dead),
        State::Changed => Some(Repair::Changed),
        _ => None,
    }
}

fn is_web(url: &str) -> bool {
    let l = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    l.starts_with("http://") || l.starts_with("https://")
}

/// Whether `copy` shows the page as it was cited: any copy of a broken page (the archive offers
/// only copies that answered 200), and for a page that turned into a not-found page or changed,
/// a copy from before that.
fn usable(link: &Link, copy: &Copy) -> bool {
    match copy.time() {
        None => false,
        Some(t) => link.state == State::Broken || t < link.since,
    }
}

fn ymd(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d").to_string()
}

fn wayback_timestamp(t: DateTime<Utc>) -> String {
    t.format("%Y%m%d%H%M%S").to_string()
}

/// Whether a link's bad state is confirmed as `repair` needs it.
fn confirmed(link: &Link, repair: Repair) -> bool {
    match repair {
        Repair::Dead => matches!(link.confirmed, Some(State::Broken | State::Soft404)),
        Repair::Changed => link.confirmed == Some(State::Changed),
        Repair::Redirected => true,
    }
}

/// The Wayback timestamp to look a copy up at, when a link to be repaired needs a copy it does
/// not have: near the date it was cited, and before the change for a changed or soft-404 page.
pub fn lookup(link: &Link, cx: &Context<'_>, now: DateTime<Utc>) -> Option<String> {
    let repair = repair_of(link)?;
    if repair == Repair::Redirected
        || !cx.kinds.has(repair)
        || !confirmed(link, repair)
        || !is_web(&link.url)
        || copy::parse(&link.url).is_some()
        || link.copy.as_ref().is_some_and(|c| usable(link, c))
    {
        return None;
    }
    let recently = link
        .looked_up
        .is_some_and(|t| now - t < chrono::Duration::days(LOOKUP_RETRY_DAYS));
    if link.state == State::Broken {
        // Any copy would do: a recent look-up that found none is trusted.
        return (!recently || link.copy.is_some()).then(|| wayback_timestamp(link.cited));
    }
    let before = link.since - chrono::Duration::days(1);
    Some(wayback_timestamp(link.cited.min(before)))
}

/// What a link needs, decided once per link.
fn need(link: &Link, cx: &Context<'_>) -> Need {
    let Some(repair) = repair_of(link) else {
        return Need::Nothing;
    };
    if !cx.kinds.has(repair) || !is_web(&link.url) || copy::parse(&link.url).is_some() {
        return Need::Nothing;
    }
    let list = |why: String| Need::List { repair, why };
    if repair == Repair::Redirected {
        if !cx.settings.redirected {
            return list("redirect repairs are off ([fix] redirected = false)".into());
        }
        let Ok(asked) = Url::parse(&link.url) else {
            return Need::Nothing;
        };
        return match redirect::confirmed_target(&asked, &link.checks, cx.confirm) {
            Ok(to) => {
                let n = cx.confirm.confirm_checks.max(1);
                let why = format!(
                    "moved for good: a permanent redirect to {to} on each of the last {n} check{}",
                    if n == 1 { "" } else { "s" }
                );
                Need::Address { to, why }
            }
            Err(why) => list(why),
        };
    }
    if !confirmed(link, repair) {
        let needed = cx.confirm.confirm_checks.max(1);
        return list(format!(
            "{} since {}, not confirmed yet ({} bad check{} so far; confirmation needs {needed} over {})",
            link.state,
            ymd(link.since),
            link.streak,
            if link.streak == 1 { "" } else { "s" },
            humantime_of(cx.confirm.confirm_period),
        ));
    }
    let state = link.state;
    let since = ymd(link.since);
    match &link.copy {
        Some(c) if usable(link, c) => {
            let date = c.date().map(|d| d.to_string()).unwrap_or_default();
            let from = match state {
                State::Broken => String::new(),
                _ => ", from before the change,".to_string(),
            };
            let what = match cx.settings.dead {
                Mode::Annotate => format!("archived copy of {date}{from} added"),
                Mode::Replace => format!("replaced by its archived copy of {date}{from}")
                    .trim_end_matches(',')
                    .to_string(),
            };
            Need::Copy {
                repair,
                copy: c.clone(),
                why: format!("{state} since {since} (confirmed); {what}"),
            }
        }
        Some(_) => list(format!(
            "{state} since {since} (confirmed); the archived copy known is from after that, so not the page as cited"
        )),
        None => list(format!(
            "{state} since {since} (confirmed); no archived copy is known near the post's date"
        )),
    }
}

fn humantime_of(d: std::time::Duration) -> String {
    let s = d.as_secs();
    if s % 86400 == 0 && s > 0 {
        format!("{}d", s / 86400)
    } else if s % 3600 == 0 && s > 0 {
        format!("{}h", s / 3600)
    } else {
        format!("{s}s")
    }
}

/// The plan for one post. Never panics.
pub fn plan(post: &Post<'_>, cx: &Context<'_>) -> Plan {
    let mut out = Plan::default();
    let mut needs: HashMap<usize, Need> = HashMap::new();
    let mut candidates: Vec<Edit> = Vec::new();
    let mut listed: Vec<Listed> = Vec::new();
    for c in post.citations {
        let Some(li) = c.link else { continue };
        let Some(link) = post.links.get(li) else {
            continue;
        };
        let wanted = needs.entry(li).or_insert_with(|| need(link, cx)).clone();
        let list = |repair: Repair, why: String| Listed {
            line: c.line,
            url: link.url.clone(),
            repair,
            why,
        };
        // A replacement of the citation's address, or why it cannot be made.
        let replace =
            |target: String, repair: Repair, why: String| match replacement(post.bytes, c, &target)
            {
                Ok(new) => Ok(edit(
                    post.bytes,
                    c.span.clone(),
                    new,
                    target,
                    repair,
                    Action::Replace,
                    &link.url,
                    why,
                    None,
                )),
                Err(e) => Err(list(repair, e)),
            };
        let outcome = match wanted {
            Need::Nothing => continue,
            Need::List { repair, why } => Err(list(repair, why)),
            Need::Address { to, why } => replace(
                rewritten(&c.target, &link.url, &to),
                Repair::Redirected,
                why,
            ),
            Need::Copy { repair, copy, why } => match cx.settings.dead {
                Mode::Replace => {
                    let mut target = if c.kind == CitationKind::Image {
                        copy::for_image(&copy.url)
                    } else {
                        copy.url.clone()
                    };
                    if let Some((_, frag)) = c.target.split_once('#') {
                        if !target.contains('#') && !frag.is_empty() {
                            target = format!("{target}#{frag}");
                        }
                    }
                    replace(target, repair, why)
                }
                Mode::Annotate => {
                    if annotated(post, c, &link.url) {
                        out.already += 1;
                        continue;
                    }
                    match note(post, c, &copy, cx.settings) {
                        Ok((at, text, kind)) => Ok(edit(
                            post.bytes,
                            at..at,
                            text,
                            copy.url.clone(),
                            repair,
                            Action::Annotate,
                            &link.url,
                            why,
                            Some(kind),
                        )),
                        Err(e) => Err(list(repair, e)),
                    }
                }
            },
        };
        match outcome {
            Ok(edit) => candidates.push(edit),
            Err(listing) => listed.push(listing),
        }
    }
    let (edits, refused) = settle(post, candidates);
    listed.extend(refused.into_iter().map(|(e, why)| Listed {
        line: e.line,
        url: e.url,
        repair: e.repair,
        why,
    }));
    out.edits = edits;
    out.listed = listed;
    out
}

#[allow(clippy::too_many_arguments)]
fn edit(
    bytes: &[u8],
    range: Range<usize>,
    new: String,
    target: String,
    repair: Repair,
    action: Action,
    url: &str,
    why: String,
    note_kind: Option<CitationKind>,
) -> Edit {
    let start = range.start.min(bytes.len());
    let line = 1 + memchr::memchr_iter(b'\n', &bytes[..start]).count() as u32;
    let old = bytes
        .get(range.clone())
        .map(|b| String::from_utf8_lossy(b).into_owned())
        .unwrap_or_default();
    Edit {
        range,
        line,
        old,
        new,
        target,
        repair,
        action,
        url: url.to_string(),
        citations: 1,
        why,
        note_kind,
    }
}

/// Orders the candidate edits, merges those that are the same edit (a reference definition
/// serving several uses), drops those that overlap an earlier one, and verifies the rest:
/// together first, then one by one when together they fail. Returns the edits kept and those
/// refused with why.
fn settle(post: &Post<'_>, mut candidates: Vec<Edit>) -> (Vec<Edit>, Vec<(Edit, String)>) {
    let mut refused = Vec::new();
    candidates.retain(|e| {
        let ok = e.range.start <= e.range.end && e.range.end <= post.bytes.len();
        if !ok {
            refused.push((
                e.clone(),
                "its place is not in the file as read".to_string(),
            ));
        }
        ok
    });
    candidates.sort_by(|a, b| {
        (a.range.start, a.range.end, &a.new).cmp(&(b.range.start, b.range.end, &b.new))
    });
    let mut merged: Vec<Edit> = Vec::new();
    for e in candidates {
        match merged.last_mut() {
            Some(last) if last.range == e.range && last.new == e.new => last.citations += 1,
            Some(last) if overlaps(&last.range, &e.range) => {
                refused.push((e, "another repair changes the same bytes".to_string()));
            }
            _ => merged.push(e),
        }
    }
    if merged.is_empty() || verify(post, &merged) {
        return (merged, refused);
    }
    let mut kept = Vec::new();
    for e in merged {
        if verify(post, std::slice::from_ref(&e)) {
            kept.push(e);
        } else {
            refused.push((e, "the new text would not read as the same citation here (or would change another one); edit it by hand".to_string()));
        }
    }
    if !kept.is_empty() && !verify(post, &kept) {
        for e in kept.drain(..) {
            refused.push((
                e,
                "the repairs of this post do not verify together; edit it by hand".to_string(),
            ));
        }
    }
    (kept, refused)
}

/// Whether two edits touch the same bytes (an insertion at the edge of a replacement does not).
fn overlaps(a: &Range<usize>, b: &Range<usize>) -> bool {
    if a.is_empty() && b.is_empty() {
        return a.start == b.start;
    }
    if a.is_empty() {
        return b.start < a.start && a.start < b.end;
    }
    if b.is_empty() {
        return a.start < b.start && b.start < a.end;
    }
    a.start < b.end && b.start < a.end
}

/// The post's bytes with `edits` made (sorted, not overlapping, within the bytes: edits that
/// are not are left out). Bytes outside the edits are copied as they are.
pub fn apply(bytes: &[u8], edits: &[Edit]) -> Vec<u8> {
    let mut out =
        Vec::with_capacity(bytes.len() + edits.iter().map(|e| e.new.len()).sum::<usize>());
    let mut pos = 0;
    for e in edits {
        if e.range.start < pos || e.range.end < e.range.start || e.range.end > bytes.len() {
            continue;
        }
        out.extend_from_slice(&bytes[pos..e.range.start]);
        out.extend_from_slice(e.new.as_bytes());
        pos = e.range.end;
    }
    out.extend_from_slice(&bytes[pos..]);
    out
}

/// The text of a post's bytes, decoded as the scan decodes them: a byte-order mark dropped,
/// invalid UTF-8 read as U+FFFD.
fn text_of(bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes))
}

/// Whether the post with `edits` made cites exactly what it cited, with the edited targets
/// changed and the inserted links added.
fn verify(post: &Post<'_>, edits: &[Edit]) -> bool {
    let mut want: Vec<(&'static str, String)> = post
        .citations
        .iter()
        .map(|c| {
            let replaced = edits
                .iter()
                .find(|e| e.action == Action::Replace && e.range == c.span);
            (
                c.kind.as_str(),
                replaced.map_or_else(|| c.target.clone(), |e| e.target.clone()),
            )
        })
        .collect();
    for e in edits.iter().filter(|e| e.action == Action::Annotate) {
        let Some(kind) = e.note_kind else {
            return false;
        };
        want.push((kind.as_str(), e.target.clone()));
    }
    let edited = apply(post.bytes, edits);
    let mut got: Vec<(&'static str, String)> =
        extract::extract(post.format, &text_of(&edited), post.options)
            .citations
            .into_iter()
            .map(|c| (c.kind.as_str(), c.target))
            .collect();
    want.sort();
    got.sort();
    want == got
}

/// Whether an archived-copy link to the same page already follows a citation on its line (a
/// note inserted by an earlier run, or by the author).
fn annotated(post: &Post<'_>, c: &Citation, url: &str) -> bool {
    let Some(after) = c.after else {
        return false;
    };
    post.citations.iter().any(|o| {
        o.span.start >= after
            && o.span.start - after <= 512
            && post
                .bytes
                .get(after..o.span.start)
                .is_some_and(|between| !between.contains(&b'\n'))
            && copy::parse(&o.target).is_some_and(|k| copy::same_page(k.original, url))
    })
}

/// The new target of a citation moved to `to`: its fragment kept (unless the new address has
/// one of its own, which wins, as RFC 9110 §10.2.2 says of redirects), in the form it was
/// written: absolute, protocol-relative, or a path on the same site.
fn rewritten(raw: &str, link: &str, to: &Url) -> String {
    let mut to = to.clone();
    if to.fragment().is_none() {
        if let Some((_, f)) = raw.split_once('#') {
            if !f.is_empty() {
                to.set_fragment(Some(f));
            }
        }
    }
    let absolute = to.to_string();
    let raw = raw.trim();
    let has_scheme = raw.split_once(':').is_some_and(|(s, _)| {
        s.len() > 1
            && s.starts_with(|c: char| c.is_ascii_alphabetic())
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    });
    if has_scheme {
        return absolute;
    }
    let Ok(from) = Url::parse(link) else {
        return absolute;
    };
    if raw.starts_with("//") {
        if from.scheme() == to.scheme() {
            return absolute[to.scheme().len() + 1..].to_string();
        }
        return absolute;
    }
    if from.origin() == to.origin() {
        let mut path = to.path().to_string();
        if let Some(q) = to.query() {
            path.push('?');
            path.push_str(q);
        }
        if let Some(f) = to.fragment() {
            path.push('#');
            path.push_str(f);
        }
        return path;
    }
    absolute
}

/// The bytes to write in place of a citation's target so that it reads as `target`, or why
/// that cannot be done.
fn replacement(bytes: &[u8], c: &Citation, target: &str) -> Result<String, String> {
    let old = bytes
        .get(c.span.clone())
        .ok_or_else(|| "its place is not in the file as read".to_string())?;
    if c.kind == CitationKind::PostRef || c.written == Written::Fixed {
        return Err(
            "its URL is not written out here (template code, a shortcode's id, front matter); edit it by hand"
                .to_string(),
        );
    }
    let old = std::str::from_utf8(old)
        .map_err(|_| "its target is not valid UTF-8 in the file".to_string())?;
    if !reads_as(old, &c.target, c.written) {
        return Err(
            "the file does not hold its target where the scan found it; run `citewatch scan`"
                .to_string(),
        );
    }
    let new = encode(target, c.written, old)?;
    if !reads_as(&new, target, c.written) {
        return Err(format!("{target} cannot be written here as it is"));
    }
    Ok(new)
}

/// Whether `written` (as it stands in the file) reads as `target` where it is.
fn reads_as(written: &str, target: &str, how: Written) -> bool {
    match how {
        Written::Destination { .. } | Written::Bare { markdown: true } => {
            md_unescape(written) == target
        }
        Written::Autolink | Written::Bare { markdown: false } => written == target,
        Written::Attribute { .. } => extract::decode_entities(written.trim()) == target,
        Written::ShortcodeArg { quote: Some(b'"') } => {
            let mut s = String::new();
            let mut chars = written.chars().peekable();
            while let Some(c) = chars.next() {
                if c == '\\' && matches!(chars.peek(), Some('"' | '\\')) {
                    s.extend(chars.next());
                } else {
                    s.push(c);
                }
            }
            s == target
        }
        Written::ShortcodeArg { .. } => written == target,
        Written::Fixed => false,
    }
}

/// How Markdown reads a destination or a run of text: a backslash before ASCII punctuation
/// makes it literal (an escaped `&` starts no entity), other entities are decoded.
fn md_unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut run = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' && chars.peek().is_some_and(|n| n.is_ascii_punctuation()) {
            out.push_str(&extract::decode_entities(&run));
            run.clear();
            out.extend(chars.next());
        } else {
            run.push(c);
        }
    }
    out.push_str(&extract::decode_entities(&run));
    out
}

/// `&` that would start a character reference (`&amp;`, `&#38;`) where it stands.
fn entity_like(rest: &str) -> bool {
    let body = rest.get(1..).unwrap_or("");
    let n = body
        .bytes()
        .take(32)
        .take_while(|b| b.is_ascii_alphanumeric() || *b == b'#')
        .count();
    n > 0 && body.as_bytes().get(n) == Some(&b';')
}

/// `target` written the way `how` says, or why it cannot be. `old` is the target as it was
/// written (its habits, such as `&amp;` in HTML, are kept).
fn encode(target: &str, how: Written, old: &str) -> Result<String, String> {
    if target.is_empty() || target.chars().any(|c| c.is_control()) {
        return Err(format!("{target:?} cannot be written in a post"));
    }
    let spaced = || Err(format!("{target} holds white space"));
    let mut out = String::with_capacity(target.len() + 8);
    match how {
        Written::Destination { angle: false } => {
            if target.contains(char::is_whitespace) {
                return spaced();
            }
            let open = target.matches('(').count();
            let balanced = open == target.matches(')').count() && {
                let mut depth = 0i32;
                target.chars().all(|c| {
                    depth += match c {
                        '(' => 1,
                        ')' => -1,
                        _ => 0,
                    };
                    depth >= 0
                })
            };
            for (i, ch) in target.char_indices() {
                match ch {
                    '\\' => out.push_str("\\\\"),
                    '(' | ')' if !balanced => {
                        out.push('\\');
                        out.push(ch);
                    }
                    '<' if i == 0 => out.push_str("\\<"),
                    '&' if entity_like(&target[i..]) => out.push_str("\\&"),
                    _ => out.push(ch),
                }
            }
        }
        Written::Destination { angle: true } => {
            for (i, ch) in target.char_indices() {
                match ch {
                    '<' | '>' | '\\' => {
                        out.push('\\');
                        out.push(ch);
                    }
                    '&' if entity_like(&target[i..]) => out.push_str("\\&"),
                    _ => out.push(ch),
                }
            }
        }
        Written::Autolink => {
            if target.contains(char::is_whitespace) || target.contains(['<', '>']) {
                return Err(format!("{target} cannot be written as an autolink"));
            }
            out.push_str(target);
        }
        Written::Bare { markdown } => {
            if target.contains(char::is_whitespace) {
                return spaced();
            }
            for (i, ch) in target.char_indices() {
                match ch {
                    '\\' | '*' | '`' | '<' | '[' | ']' if markdown => {
                        out.push('\\');
                        out.push(ch);
                    }
                    '&' if markdown && entity_like(&target[i..]) => out.push_str("\\&"),
                    _ => out.push(ch),
                }
            }
        }
        Written::Attribute { quote } => {
            let keeps_amp = old.contains("&amp;");
            for (i, ch) in target.char_indices() {
                match ch {
                    '&' if keeps_amp || entity_like(&target[i..]) => out.push_str("&amp;"),
                    '"' if quote == Some(b'"') => out.push_str("&quot;"),
                    '\'' if quote == Some(b'\'') => out.push_str("&#39;"),
                    c if quote.is_none()
                        && (c.is_whitespace() || matches!(c, '"' | '\'' | '=' | '<' | '>' | '`')) =>
                    {
                        return Err(format!(
                            "{target} cannot be written in an unquoted attribute"
                        ))
                    }
                    _ => out.push(ch),
                }
            }
        }
        Written::ShortcodeArg { quote: Some(b'"') } => {
            for ch in target.chars() {
                if matches!(ch, '"' | '\\') {
                    out.push('\\');
                }
                out.push(ch);
            }
        }
        Written::ShortcodeArg { quote: Some(b'`') } => {
            if target.contains('`') {
                return Err(format!("{target} cannot be written in a `raw` argument"));
            }
            out.push_str(target);
        }
        Written::ShortcodeArg { quote: None } => {
            if target.contains(|c: char| c.is_whitespace() || matches!(c, '"' | '`' | '=')) {
                return Err(format!("{target} cannot be written as a bare argument"));
            }
            out.push_str(target);
        }
        Written::ShortcodeArg { .. } | Written::Fixed => {
            return Err(
                "its URL is not written out here (template code, a shortcode's id, front matter); edit it by hand"
                    .to_string(),
            )
        }
    }
    Ok(out)
}

/// The note to insert after a citation (where, what, and the kind of citation it makes), or
/// why there is no place for one.
fn note(
    post: &Post<'_>,
    c: &Citation,
    copy: &Copy,
    settings: &Settings,
) -> Result<(usize, String, CitationKind), String> {
    let no_place = || {
        format!(
            "no place for an archived-copy link after this {} (with [fix] dead = \"replace\" its URL would be replaced)",
            c.kind.as_str()
        )
    };
    let at = c
        .after
        .filter(|&a| a <= post.bytes.len())
        .ok_or_else(no_place)?;
    let date = copy.date().map(|d| d.to_string()).unwrap_or_default();
    let label = settings.archived_label.replace("{date}", &date);
    let (link, kind) = match (c.written, post.format) {
        (Written::Destination { .. } | Written::Autolink | Written::Bare { markdown: true }, _) => {
            let mut text = String::new();
            for ch in label.chars() {
                if matches!(ch, '[' | ']' | '\\') {
                    text.push('\\');
                }
                text.push(ch);
            }
            let dest = encode(&copy.url, Written::Destination { angle: false }, "")?;
            (format!("[{text}]({dest})"), CitationKind::Link)
        }
        (Written::Attribute { .. }, _) => {
            let href = encode(&copy.url, Written::Attribute { quote: Some(b'"') }, "&amp;")?;
            (
                format!("<a href=\"{href}\">{}</a>", html_text(&label)),
                CitationKind::Link,
            )
        }
        (Written::Bare { markdown: false }, Format::Text) => {
            if copy.url.contains(char::is_whitespace) {
                return Err(format!("{} holds white space", copy.url));
            }
            (format!("{label}: {}", copy.url), CitationKind::Bare)
        }
        _ => return Err(no_place()),
    };
    let text = settings
        .archived_note
        .replace("{link}", &link)
        .replace("{date}", &date);
    if text.contains(['\n', '\r']) {
        return Err("[fix] archived_note would break the line".to_string());
    }
    Ok((at, text, kind))
}

fn html_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            _ => out.push(ch),
        }
    }
    out
}

#[cfg(test)]
mod tests;
