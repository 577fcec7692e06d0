//! The state of a link: the closed set of verdicts and how a link moves between them.
//!
//! Pure: no I/O, no clock. `now` is always a parameter.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// What citewatch currently believes about a link.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// 2xx and the content is still what was cited.
    Ok,
    /// A permanent redirect chain ends at a different URL that is ok.
    Redirected,
    /// It answers, but the content drifted from the archived baseline.
    Changed,
    /// It answers 200 but is a not-found page.
    #[serde(rename = "soft_404")]
    Soft404,
    /// The server or the name system says it is gone.
    Broken,
    /// The site refuses to be checked (401, 403, 429, 999, bot challenge).
    Blocked,
    /// A fault that may pass: timeout, refused connection, TLS failure, 5xx.
    Error,
    /// Not checked: scheme, exclusion rule, private address, unresolvable relative link.
    Skipped,
    /// Known from a post, not yet checked.
    #[default]
    Unchecked,
}

impl State {
    /// Every state, in the order summaries print them.
    pub const ALL: [State; 9] = [
        State::Ok,
        State::Redirected,
        State::Changed,
        State::Soft404,
        State::Broken,
        State::Blocked,
        State::Error,
        State::Skipped,
        State::Unchecked,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            State::Ok => "ok",
            State::Redirected => "redirected",
            State::Changed => "changed",
            State::Soft404 => "soft_404",
            State::Broken => "broken",
            State::Blocked => "blocked",
            State::Error => "error",
            State::Skipped => "skipped",
            State::Unchecked => "unchecked",
        }
    }

    /// The states in which a citation has rotted (the README's four ways): gone, moved,
    /// rewritten, turned into a not-found page. `error` may pass and `blocked` is the site's
    /// choice: neither is rot. The dashboard's counts and filters and the store's queries use
    /// this one list.
    pub const ROTTED: [State; 4] = [
        State::Broken,
        State::Redirected,
        State::Changed,
        State::Soft404,
    ];

    pub fn is_rotted(self) -> bool {
        State::ROTTED.contains(&self)
    }

    /// States that make `run` exit with code 2: the citation needs the author's attention.
    pub fn is_failing(self) -> bool {
        matches!(self, State::Broken | State::Error | State::Soft404)
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A state name that is not one of [`State::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown state '{0}' (expected one of: ok, redirected, changed, soft_404, broken, blocked, error, skipped, unchecked)")]
pub struct UnknownState(pub String);

impl FromStr for State {
    type Err = UnknownState;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim().to_ascii_lowercase();
        State::ALL
            .into_iter()
            .find(|st| st.as_str() == s || (s == "soft404" && *st == State::Soft404))
            .ok_or(UnknownState(s))
    }
}

/// A link's current state: which, since when, and how many consecutive checks found it there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Current {
    pub state: State,
    pub since: chrono::DateTime<chrono::Utc>,
    pub streak: u32,
    pub checked_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// The current state after one more check found `observed` at `now`.
///
/// Staying in the same state lengthens the streak and keeps `since`; a new state starts a streak
/// of one at `now`.
pub fn advance(
    prev: Option<&Current>,
    observed: State,
    now: chrono::DateTime<chrono::Utc>,
) -> Current {
    match prev {
        Some(p) if p.state == observed => Current {
            state: observed,
            since: p.since,
            streak: p.streak.saturating_add(1),
            checked_at: Some(now),
        },
        _ => Current {
            state: observed,
            since: now,
            streak: 1,
            checked_at: Some(now),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    #[test]
    fn names_round_trip() {
        for s in State::ALL {
            assert_eq!(s.as_str().parse::<State>().unwrap(), s);
            assert_eq!(
                serde_json::to_string(&s).unwrap(),
                format!("\"{}\"", s.as_str())
            );
        }
        assert!("gone".parse::<State>().is_err());
    }

    #[test]
    fn advance_counts_streaks_and_keeps_since() {
        let t0 = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let t1 = Utc.with_ymd_and_hms(2026, 1, 2, 0, 0, 0).unwrap();
        let t2 = Utc.with_ymd_and_hms(2026, 1, 3, 0, 0, 0).unwrap();
        let a = advance(None, State::Ok, t0);
        assert_eq!((a.state, a.since, a.streak), (State::Ok, t0, 1));
        let b = advance(Some(&a), State::Ok, t1);
        assert_eq!((b.since, b.streak, b.checked_at), (t0, 2, Some(t1)));
        let c = advance(Some(&b), State::Broken, t2);
        assert_eq!((c.state, c.since, c.streak), (State::Broken, t2, 1));
    }

    #[test]
    fn failing_states_are_the_exit_code_ones() {
        let failing: Vec<_> = State::ALL.into_iter().filter(|s| s.is_failing()).collect();
        assert_eq!(failing, vec![State::Soft404, State::Broken, State::Error]);
    }
}
