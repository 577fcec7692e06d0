//! The values the dashboard shows: what `store::web` reads, what `serve::page` renders as HTML
//! and `serve::json` as JSON. Plain data and the small pure rules over it (pages of a list,
//! what counts as rotted, the standing of a quote). No I/O.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};

use crate::rows::{AlertRow, CheckRow, StatusRow};
use crate::state::State;

/// Rows per page when the request does not say.
pub const PER_PAGE: u32 = 50;
/// The most rows one page may hold.
pub const MAX_PER_PAGE: u32 = 500;

/// The states in which a citation has rotted: [`State::ROTTED`], the one list.
pub const ROTTED: [State; 4] = State::ROTTED;

/// Which page of a list: 1-based, with its size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageReq {
    pub number: u32,
    pub per_page: u32,
}

impl Default for PageReq {
    fn default() -> Self {
        PageReq {
            number: 1,
            per_page: PER_PAGE,
        }
    }
}

impl PageReq {
    /// A page from what a request asked, clamped to sane bounds (never an error: page 0 is page
    /// 1, a huge size is [`MAX_PER_PAGE`]).
    pub fn new(number: Option<u32>, per_page: Option<u32>) -> PageReq {
        PageReq {
            number: number.unwrap_or(1).max(1),
            per_page: per_page.unwrap_or(PER_PAGE).clamp(1, MAX_PER_PAGE),
        }
    }

    /// Rows to skip, as SQL's OFFSET reads it.
    pub fn offset(&self) -> i64 {
        i64::from(self.number - 1) * i64::from(self.per_page)
    }

    pub fn limit(&self) -> i64 {
        i64::from(self.per_page)
    }
}

/// One page of a list, with the size of the whole list.
#[derive(Debug, Clone)]
pub struct Paged<T> {
    pub items: Vec<T>,
    pub total: u64,
    pub page: PageReq,
}

impl<T> Paged<T> {
    /// The number of the last page (1 for an empty list).
    pub fn last_page(&self) -> u32 {
        let per = u64::from(self.page.per_page.max(1));
        u32::try_from(self.total.div_ceil(per).max(1)).unwrap_or(u32::MAX)
    }

    pub fn has_next(&self) -> bool {
        self.page.number < self.last_page()
    }

    pub fn has_prev(&self) -> bool {
        self.page.number > 1
    }
}

/// How the link list is sorted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LinkSort {
    /// By URL, as `citewatch status` prints them.
    #[default]
    Url,
    /// Most recent change of state first.
    Since,
}

/// Filters of the link list: all that are given must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LinkFilter {
    /// Any of these states (none: every state).
    pub states: Vec<State>,
    /// The link's host, exactly (`example.org`; `www.example.org` is another host).
    pub host: Option<String>,
    /// A substring of the path of a post citing it.
    pub post: Option<String>,
    /// A substring of the URL, a citation's link text or quote, or the last error.
    pub text: Option<String>,
    pub sort: LinkSort,
}

impl LinkFilter {
    pub fn is_empty(&self) -> bool {
        self.states.is_empty() && self.host.is_none() && self.post.is_none() && self.text.is_none()
    }
}

/// A row of the link list: the status row (the JSON contract of `citewatch status`) and, for
/// each of its citations, the id of the citing post (to link to its page).
#[derive(Debug, Clone)]
pub struct LinkRow {
    pub status: StatusRow,
    pub post_ids: Vec<i64>,
}

/// Where a link is cited, with the citing post's id and title.
#[derive(Debug, Clone)]
pub struct CitedBy {
    pub post_id: i64,
    pub post_title: Option<String>,
    pub citation: crate::rows::CitationRow,
}

/// How the post list is sorted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PostSort {
    /// By path.
    #[default]
    Path,
    /// Most rotted citations first.
    Rot,
}

/// A post with how its citations fare.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostSummary {
    pub id: i64,
    pub source: String,
    pub path: String,
    pub title: Option<String>,
    pub date: Option<String>,
    pub url: Option<String>,
    /// Citations in the post.
    pub citations: u64,
    /// Citations whose link has rotted (see [`ROTTED`]).
    pub rotted: u64,
    /// Citations per state of their link, in [`State::ALL`] order, zeros left out.
    pub counts: Vec<(State, u64)>,
}

/// A post as the scan recorded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostInfo {
    pub id: i64,
    pub source: String,
    pub path: String,
    pub title: Option<String>,
    pub date: Option<String>,
    pub url: Option<String>,
    /// False once the file is gone (its history stays).
    pub present: bool,
    pub scanned_at: DateTime<Utc>,
}

/// A stored snapshot's facts (not its body).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotInfo {
    pub hash: String,
    /// When it was first fetched (the check that archived it).
    pub fetched_at: DateTime<Utc>,
    pub content_type: Option<String>,
    pub size: u64,
    pub title: Option<String>,
    pub truncated: bool,
}

/// A snapshot shown as an archived copy of a link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkSnapshot {
    pub info: SnapshotInfo,
    /// The cited URL.
    pub url: String,
    /// Where the check that archived it ended (relative links in the page resolve against it).
    pub final_url: Option<String>,
    /// Whether it is the link's baseline: the page as cited.
    pub as_cited: bool,
}

/// One citation of a post, with its link's state, in reading order.
#[derive(Debug, Clone)]
pub struct PostCitation {
    pub link_id: i64,
    pub url: String,
    pub line: u32,
    pub text: String,
    pub kind: String,
    /// The target exactly as written in the post.
    pub raw: String,
    pub fragment: Option<String>,
    pub quote: Option<String>,
    /// Byte offsets of the target in the post file.
    pub span: Option<(u64, u64)>,
    pub state: State,
    pub since: DateTime<Utc>,
    pub checked_at: Option<DateTime<Utc>>,
    pub http_status: Option<u16>,
    pub final_url: Option<String>,
    /// The latest check's reason (its error, or why the verdict is what it is).
    pub error: Option<String>,
    pub archived_url: Option<String>,
    /// The page as cited (the link's baseline snapshot).
    pub baseline: Option<SnapshotInfo>,
    /// The latest archived snapshot, where the quote is looked for.
    pub latest: Option<SnapshotInfo>,
    /// The bad state confirmed over several checks, when there is one.
    pub confirmed: Option<State>,
    /// Whether its quote stands on the latest archived page; none when it quotes nothing.
    pub quote_standing: Option<crate::rows::Standing>,
}

/// An edit `citewatch fix` would make to a post.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedEdit {
    /// The line of the edit in the post file.
    pub line: u32,
    /// The link the citation cites.
    pub url: String,
    /// `replace` (the target is rewritten) or `annotate` (a link to an archived copy is
    /// inserted after the citation).
    pub action: String,
    /// The bytes replaced (empty for an insertion) and the bytes written instead.
    pub old: String,
    pub new: String,
    /// Where the citation points afterwards: the new address, or the inserted copy's.
    pub target: String,
    /// Why, for people.
    pub why: String,
}

/// A citation `fix` would leave alone although it is worth repairing, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedFix {
    pub line: u32,
    pub url: String,
    pub why: String,
}

/// What `citewatch fix` would do to a post (a dry run of its planner).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FixPlan {
    /// Nothing can be said; the reason reads for people.
    Unavailable(String),
    /// The planner's edits and the citations it would list (both empty: nothing to repair).
    Planned {
        edits: Vec<PlannedEdit>,
        listed: Vec<ListedFix>,
    },
    /// The planner failed on this post; the message says why.
    Failed(String),
}

impl FixPlan {
    /// The edits for a citation of `url`.
    pub fn edits_for(&self, url: &str) -> Vec<&PlannedEdit> {
        match self {
            FixPlan::Planned { edits, .. } => edits.iter().filter(|e| e.url == url).collect(),
            _ => Vec::new(),
        }
    }

    /// Why a citation of `url` would be left alone, when it would.
    pub fn listed_for(&self, url: &str) -> Option<&ListedFix> {
        match self {
            FixPlan::Planned { listed, .. } => listed.iter().find(|l| l.url == url),
            _ => None,
        }
    }
}

/// A post's page.
#[derive(Debug, Clone)]
pub struct PostPage {
    pub post: PostInfo,
    pub citations: Paged<PostCitation>,
    pub fix: FixPlan,
}

/// A change of a link's state, from its checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub at: DateTime<Utc>,
    /// None for the first check.
    pub from: Option<State>,
    pub to: State,
    pub http_status: Option<u16>,
    pub error: Option<String>,
}

/// One check as the timeline shows it on hover.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimelineCheck {
    pub checked_at: DateTime<Utc>,
    pub state: State,
    pub http_status: Option<u16>,
    pub elapsed_ms: u64,
}

/// A link's page.
#[derive(Debug, Clone)]
pub struct LinkPage {
    pub status: StatusRow,
    /// Where it is cited (the same citations as `status.citations`, with their posts).
    pub cited_by: Vec<CitedBy>,
    pub confirmed: Option<State>,
    pub first_seen: DateTime<Utc>,
    pub baseline: Option<SnapshotInfo>,
    pub latest: Option<SnapshotInfo>,
    /// Every change of state, oldest first.
    pub transitions: Vec<Transition>,
    /// The most recent checks (at most [`TIMELINE_CHECKS`]), oldest first.
    pub timeline: Vec<TimelineCheck>,
    /// Checks in all.
    pub checks: u64,
    /// The most recent checks, newest first, for the table under the timeline.
    pub recent: Vec<CheckRow>,
    /// The redirect chain of the latest check that was redirected, with its time.
    pub redirects: Option<(DateTime<Utc>, crate::fetch::Redirects)>,
    /// The word diff from the baseline's text to the latest snapshot's, when they differ.
    pub diff: Option<Vec<crate::rows::DiffOp>>,
}

/// The most checks the timeline draws (the most recent ones).
pub const TIMELINE_CHECKS: usize = 2000;

/// Link states at the end of one week.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeekCounts {
    /// The Monday the week starts on (UTC).
    pub week: NaiveDate,
    /// Links per state, in [`State::ALL`] order.
    pub counts: [u64; 9],
}

impl WeekCounts {
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }
}

/// The overview page.
#[derive(Debug, Clone)]
pub struct Overview {
    /// Cited links per state, in [`State::ALL`] order, zeros included.
    pub counts: [u64; 9],
    /// Posts present.
    pub posts: u64,
    /// States per week, oldest first.
    pub weeks: Vec<WeekCounts>,
    /// The posts with the most rotted citations.
    pub top_posts: Vec<PostSummary>,
    /// The last alerts with their deliveries, newest first.
    pub alerts: Vec<AlertRow>,
}

/// Where a state sits in [`State::ALL`].
pub fn state_index(s: State) -> usize {
    State::ALL.iter().position(|x| *x == s).unwrap_or(8)
}

/// Counts per state as a fixed array in [`State::ALL`] order.
pub fn count_array(counts: &[(State, u64)]) -> [u64; 9] {
    let mut out = [0u64; 9];
    for (s, n) in counts {
        out[state_index(*s)] += n;
    }
    out
}

/// The last run of checks: a daemon cycle, a `run` or a `check`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastCycle {
    pub kind: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub checks: u64,
}

/// What `/metrics` reports, besides the checks (see `serve::history`).
#[derive(Debug, Clone, Default)]
pub struct MetricsFacts {
    /// Cited links per state, in [`State::ALL`] order.
    pub links: [u64; 9],
    /// Alert deliveries by (sink, delivery state).
    pub deliveries: BTreeMap<(String, String), u64>,
    pub snapshots: u64,
    /// Archived bytes as fetched, and as stored (zstd).
    pub archive_raw_bytes: u64,
    pub archive_stored_bytes: u64,
    /// The database file and its write-ahead log.
    pub database_bytes: u64,
    pub last_cycle: Option<LastCycle>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_are_clamped_and_counted() {
        assert_eq!(PageReq::new(Some(0), Some(0)).number, 1);
        assert_eq!(PageReq::new(None, Some(100_000)).per_page, MAX_PER_PAGE);
        let p = PageReq::new(Some(3), Some(20));
        assert_eq!((p.offset(), p.limit()), (40, 20));
        let paged = Paged::<u8> {
            items: vec![],
            total: 41,
            page: p,
        };
        assert_eq!(paged.last_page(), 3);
        assert!(!paged.has_next() && paged.has_prev());
        let empty = Paged::<u8> {
            items: vec![],
            total: 0,
            page: PageReq::default(),
        };
        assert_eq!(empty.last_page(), 1);
        assert!(!empty.has_next() && !empty.has_prev());
        // A page number far past the end does not overflow.
        assert!(PageReq::new(Some(u32::MAX), Some(MAX_PER_PAGE)).offset() > 0);
    }

    #[test]
    fn counts_fill_every_state() {
        let a = count_array(&[(State::Broken, 2), (State::Ok, 5)]);
        assert_eq!(a[state_index(State::Broken)], 2);
        assert_eq!(a[state_index(State::Ok)], 5);
        assert_eq!(a.iter().sum::<u64>(), 7);
    }
}

/// One check as the history needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckEvent {
    pub id: i64,
    pub link_id: i64,
    pub checked_at: DateTime<Utc>,
    pub state: State,
    pub elapsed_ms: u64,
}
