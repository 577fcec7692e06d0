//! Rows: the plain values the store writes and reads back (posts, citations, checks, snapshots,
//! alerts), shared by the shells that produce them and the pure core that renders them. No I/O.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use crate::state::{Current, State};

/// A post as the scan records it.
#[derive(Debug, Clone)]
pub struct PostRecord {
    pub source: String,
    pub path: String,
    pub title: Option<String>,
    pub date: Option<String>,
    pub draft: bool,
    pub url: Option<String>,
    pub size: u64,
    pub mtime_ns: i64,
    pub hash: String,
}

/// Where a post cites a link, as the scan records it.
#[derive(Debug, Clone, Default)]
pub struct CitationRecord {
    /// The link's identity: a normalized URL without fragment, or a key for unfetchable targets.
    pub link: String,
    pub line: u32,
    pub text: String,
    pub kind: String,
    pub raw: String,
    pub fragment: Option<String>,
    /// Set when the link's state is known without the network (skipped, invalid, post refs).
    pub static_verdict: Option<(State, String)>,
    /// Byte offsets (start, end) of the target as written in the post file's raw bytes.
    pub span: Option<(u64, u64)>,
    /// The passage the post quotes from the cited page.
    pub quote: Option<String>,
}

/// One file of a scan batch, as the store records it.
#[derive(Debug, Clone)]
pub enum ScannedFile {
    /// A new or changed post: replaces what was recorded for it.
    Post(PostRecord, Vec<CitationRecord>),
    /// The bytes are the same although size or mtime moved: only the stamp is updated.
    Unchanged {
        source: String,
        path: String,
        stamp: FileStamp,
    },
}

/// What the scan remembers of a file to skip it when unchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileStamp {
    pub size: u64,
    pub mtime_ns: i64,
    pub hash: Option<String>,
}

/// A link to fetch.
#[derive(Debug, Clone)]
pub struct LinkToCheck {
    pub id: i64,
    pub url: String,
    pub current: Current,
    pub baseline: Option<String>,
    /// The snapshot its latest check archived: a body with this hash (or the baseline's) is
    /// already in the archive and is not compressed again.
    pub last_snapshot: Option<String>,
    /// Keys of lines left out of comparisons (see `drift::volatile_lines`), once learned.
    pub volatile: Option<Vec<u64>>,
}

/// A snapshot ready to store: hashed, compressed, text extracted.
#[derive(Debug, Clone)]
pub struct NewSnapshot {
    pub hash: String,
    pub size: u64,
    /// The zstd-compressed body; `None` when the body is known to be archived already (it
    /// hashed to the link's baseline or latest snapshot), so nothing new is stored.
    pub body_zstd: Option<Vec<u8>>,
    pub content_type: Option<String>,
    /// Stored with a new body only: empty when `body_zstd` is `None`.
    pub headers_json: String,
    /// Stored with a new body only: `None` when `body_zstd` is `None` and the page was not read.
    pub title: Option<String>,
    pub text: Option<String>,
    pub truncated: bool,
}

/// One check to record.
#[derive(Debug, Clone, Default)]
pub struct CheckRecord {
    pub link_id: i64,
    pub checked_at: DateTime<Utc>,
    pub state: State,
    pub http_status: Option<u16>,
    pub final_url: Option<String>,
    pub redirects: Option<crate::fetch::Redirects>,
    pub error: Option<String>,
    pub elapsed_ms: u64,
    pub attempts: u32,
    pub snapshot: Option<NewSnapshot>,
    pub similarity: Option<f64>,
    /// Make this check's snapshot the link's baseline (the first archived answer).
    pub set_baseline: bool,
    /// Volatile line keys learned by this check (JSON), to keep with the link.
    pub volatile: Option<String>,
    /// The cycle (daemon cycle, `run`, `check`) this check belongs to.
    pub cycle_id: Option<i64>,
    /// Why no HTTP answer came, when none did.
    pub network: Option<crate::fetch::NetworkFailure>,
    /// The baseline's text as the current extraction reads it (hash, text), when the stored one
    /// was of an older version: kept so it is read once.
    pub baseline_text: Option<(String, String)>,
    /// What this check found of the fragments the link's citations carry.
    pub fragments: Vec<FragmentRecord>,
}

/// A cited fragment as one check found it (`fragments` table).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FragmentRecord {
    pub fragment: String,
    /// `present`, `missing` or `unknown`.
    pub standing: &'static str,
    pub reason: Option<String>,
    /// Found by this check or an earlier one.
    pub seen_present: bool,
}

impl CitationRow {
    /// Why this citation is broken although its page answers: an anchor or text the page never
    /// had ("no anchor #x on the page").
    pub fn broken_fragment(&self) -> Option<&str> {
        (self.fragment_standing.as_deref() == Some("missing")).then(|| {
            self.fragment_reason
                .as_deref()
                .unwrap_or("the fragment is not on the page")
        })
    }
}

impl StatusRow {
    /// The state as every report shows it: `unverified` when the latest check could not reach the
    /// web at all (see [`StatusRow::unverified`]), else the link's state.
    pub fn shown_state(&self) -> &'static str {
        if self.unverified {
            "unverified"
        } else {
            self.state.as_str()
        }
    }

    /// Whether this link counts as failing: a failing state that a check with an answer, or in a
    /// cycle that was not citewatch's own outage, gave it.
    pub fn is_failing(&self) -> bool {
        (self.state.is_failing() && !self.unverified)
            || self.citations.iter().any(|c| c.broken_fragment().is_some())
    }
}

/// A row of `citewatch status`.
#[derive(Debug, Clone)]
pub struct StatusRow {
    pub id: i64,
    pub url: String,
    pub state: State,
    pub since: DateTime<Utc>,
    pub streak: i64,
    pub checked_at: Option<DateTime<Utc>>,
    pub http_status: Option<u16>,
    pub final_url: Option<String>,
    pub error: Option<String>,
    /// The closest archived copy, when one was looked up.
    pub archived_url: Option<String>,
    /// The latest check got no answer while citewatch itself was cut off (offline, a canary
    /// failed): `state` is what that check would mean, not something known of the web.
    pub unverified: bool,
    pub citations: Vec<CitationRow>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CitationRow {
    pub post: String,
    pub line: u32,
    pub text: String,
    pub kind: String,
    pub fragment: Option<String>,
    /// Byte offsets (start, end) of the target in the post file.
    pub span: Option<(u64, u64)>,
    /// The passage the post quotes from the cited page.
    pub quote: Option<String>,
    /// Whether the latest check found its fragment: `present`; `missing`, never found by any
    /// check (a broken citation); `gone`, found before and missing now (the link is `changed`);
    /// `unknown` (built by script, a route); none when it has no fragment or none was checked.
    pub fragment_standing: Option<String>,
    /// Why the fragment is missing or unknown.
    pub fragment_reason: Option<String>,
}

/// A row of `citewatch history`.
#[derive(Debug, Clone)]
pub struct CheckRow {
    pub id: i64,
    pub checked_at: DateTime<Utc>,
    pub state: State,
    pub http_status: Option<u16>,
    pub final_url: Option<String>,
    pub redirects: Option<crate::fetch::Redirects>,
    pub error: Option<String>,
    pub elapsed_ms: u64,
    pub attempts: u32,
    pub snapshot: Option<String>,
    pub similarity: Option<f64>,
}

/// A run of words of a word diff between two texts (`diff::words`; `store::Reads::text_diff`
/// between two snapshots).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DiffOp {
    Equal(Vec<String>),
    Delete(Vec<String>),
    Insert(Vec<String>),
}

/// A stored snapshot, body decompressed on request.
#[derive(Debug, Clone)]
pub struct SnapshotRow {
    pub hash: String,
    pub size: u64,
    pub content_type: Option<String>,
    pub headers_json: String,
    pub title: Option<String>,
    pub text: Option<String>,
    pub truncated: bool,
    pub created_at: DateTime<Utc>,
}

/// Filters for `status`.
#[derive(Debug, Clone, Default)]
pub struct StatusFilter {
    pub states: Vec<State>,
    /// A substring of the post path.
    pub post: Option<String>,
    /// Only links cited by a present post.
    pub cited_only: bool,
}

/// A link as scheduling and confirmation see it.
#[derive(Debug, Clone)]
pub struct LinkFactsRow {
    pub id: i64,
    pub facts: LinkFacts,
}

/// What scheduling needs to know of a link (`schedule::due`).
#[derive(Debug, Clone)]
pub struct LinkFacts {
    pub url: String,
    pub state: State,
    pub checked_at: Option<DateTime<Utc>>,
    /// Consecutive checks in `state`.
    pub streak: u32,
    /// The bad state is confirmed (alerted): it goes back to the slow rhythm.
    pub confirmed: bool,
}

/// One pending delivery of the outbox.
#[derive(Debug, Clone)]
pub struct PendingDelivery {
    pub event_id: i64,
    pub sink: String,
    pub attempts: u32,
    pub event: AlertEvent,
}

/// A row of `citewatch alerts`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AlertRow {
    pub id: String,
    #[serde(with = "rfc3339")]
    pub created_at: DateTime<Utc>,
    pub event: String,
    pub url: Option<String>,
    pub old_state: Option<String>,
    pub new_state: String,
    pub deliveries: Vec<DeliveryRow>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct DeliveryRow {
    pub sink: String,
    pub state: String,
    pub attempts: u32,
    pub last_error: Option<String>,
    #[serde(with = "rfc3339::option")]
    pub delivered_at: Option<DateTime<Utc>>,
    #[serde(with = "rfc3339::option")]
    pub next_attempt: Option<DateTime<Utc>>,
}

/// Sizes and counts for `citewatch db stats`.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Stats {
    pub file_bytes: u64,
    pub wal_bytes: u64,
    pub posts: i64,
    pub citations: i64,
    pub links: i64,
    pub checks: i64,
    pub snapshots: i64,
    pub snapshot_raw_bytes: i64,
    pub snapshot_stored_bytes: i64,
    pub alert_events: i64,
    pub schema_version: i64,
}

/// One archived answer, for WARC export.
#[derive(Debug, Clone)]
pub struct ArchiveRow {
    pub url: String,
    pub final_url: Option<String>,
    pub checked_at: DateTime<Utc>,
    pub http_status: Option<u16>,
    pub snapshot: String,
}

/// What an origin answered for a path that cannot exist.
#[derive(Debug, Clone, PartialEq)]
pub struct Probe {
    pub origin: String,
    pub fetched_at: DateTime<Utc>,
    pub status: Option<u16>,
    pub final_url: Option<String>,
    pub text: Option<String>,
}

/// One recorded check as `fix` reads the history to decide whether a link moved for good.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedCheck {
    pub checked_at: DateTime<Utc>,
    pub state: State,
    pub final_url: Option<String>,
    pub redirects: Option<crate::fetch::Redirects>,
}

/// A time as the store writes it and every report prints it: RFC 3339 in UTC, to the second
/// (`2024-01-15T09:30:00Z`). The store reads its times back into `DateTime<Utc>` (see
/// `store::time_col`), so a time printed with this is the text that was stored.
pub fn stamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The archived snapshot that was current at `at` (the latest archived at or before it), or the
/// latest of all without a time: the one rule `snapshot --at` and `diff --from/--to` ask.
/// `history` is a link's checks, oldest first.
pub fn snapshot_at(history: &[CheckRow], at: Option<DateTime<Utc>>) -> Option<&str> {
    history
        .iter()
        .rfind(|c| c.snapshot.is_some() && at.is_none_or(|t| c.checked_at <= t))
        .and_then(|c| c.snapshot.as_deref())
}

/// Where a post cites the link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventCitation {
    pub post: String,
    pub line: u32,
    pub text: String,
}

/// One alert: a confirmed transition of one link (or a test). A JSON contract (webhook bodies,
/// command stdin): fields are only ever added. Made by `alert::event_for`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertEvent {
    /// Unique and stable across retries: receivers deduplicate on it.
    pub id: String,
    /// `confirmed`, `recovered` or `test`.
    pub event: String,
    pub url: String,
    pub old_state: Option<State>,
    pub new_state: State,
    pub http_status: Option<u16>,
    pub error: Option<String>,
    pub final_url: Option<String>,
    /// The closest archived copy, when one is known.
    pub archived_url: Option<String>,
    pub citations: Vec<EventCitation>,
    #[serde(with = "rfc3339")]
    pub at: DateTime<Utc>,
}

/// A time in JSON as [`stamp`] writes it (`#[serde(with = "rfc3339")]`, or `rfc3339::option`).
pub mod rfc3339 {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::stamp(*t))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let s = String::deserialize(d)?;
        DateTime::parse_from_rfc3339(&s)
            .map(|t| t.with_timezone(&Utc))
            .map_err(serde::de::Error::custom)
    }

    /// An optional time: `null` when absent (rows are only written as JSON, never read).
    pub mod option {
        use chrono::{DateTime, Utc};
        use serde::Serializer;

        pub fn serialize<S: Serializer>(
            t: &Option<DateTime<Utc>>,
            s: S,
        ) -> Result<S::Ok, S::Error> {
            match t {
                Some(t) => super::serialize(t, s),
                None => s.serialize_none(),
            }
        }
    }
}

/// Whether a quoted passage still stands in a page: the one type every check, command and view
/// uses for it (decided by [`crate::quote::standing`], the one rule).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Standing {
    Stands,
    /// The passage (or one of its sentences) is not on the page; `reason` says so for people.
    Missing {
        reason: String,
    },
    /// Nothing to look in: the link has no archived page with a body (never fetched, or never
    /// answered). Never the answer of [`crate::quote::check`] or [`crate::quote::standing`].
    Unknown,
}

impl Standing {
    pub fn is_missing(&self) -> bool {
        matches!(self, Standing::Missing { .. })
    }

    /// How commands and JSON name it: `stands`, `missing`, `unknown`.
    pub fn name(&self) -> &'static str {
        match self {
            Standing::Stands => "stands",
            Standing::Missing { .. } => "missing",
            Standing::Unknown => "unknown",
        }
    }

    /// `true`, `false`, or none when nothing could be said (the dashboard's JSON).
    pub fn stands(&self) -> Option<bool> {
        match self {
            Standing::Stands => Some(true),
            Standing::Missing { .. } => Some(false),
            Standing::Unknown => None,
        }
    }

    /// Why it is missing, for people.
    pub fn reason(&self) -> Option<&str> {
        match self {
            Standing::Missing { reason } => Some(reason),
            _ => None,
        }
    }
}
