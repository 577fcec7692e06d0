//! Confirmation: when a run of bad checks becomes a confirmed verdict worth an alert, and when a
//! confirmed link has recovered. Pure: `now` is a parameter.
//!
//! One failed check is not a broken citation: networks fail. A link is confirmed bad only after
//! `confirm_checks` consecutive bad checks spread over at least `confirm_period` (Wikipedia's
//! InternetArchiveBot wants 3 checks at least 3 days apart). `blocked` never becomes dead. A cycle
//! that was our own outage counts no strikes.
//!
//! Invariant: each confirmed transition is produced exactly once: the next identical observation
//! finds `confirmed` already set and produces nothing.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::fetch::NetworkFailure;
use crate::state::State;

/// What confirmation remembers of a link.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Confirmation {
    /// The last confirmed bad state (alerted); `None` while healthy.
    pub confirmed: Option<State>,
    /// The bad state of the current streak of bad checks, if any.
    pub streak_state: Option<State>,
    pub streak_count: u32,
    pub streak_since: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    pub confirm_checks: u32,
    pub confirm_period: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TransitionKind {
    /// A bad state was confirmed.
    Confirmed,
    /// A confirmed bad link is fine again.
    Recovered,
}

impl TransitionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TransitionKind::Confirmed => "confirmed",
            TransitionKind::Recovered => "recovered",
        }
    }
}

/// A change worth telling the author about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    pub kind: TransitionKind,
    /// The previously confirmed state (`None`: it was fine).
    pub from: Option<State>,
    pub to: State,
}

/// States that count as a strike.
pub fn is_bad(s: State) -> bool {
    matches!(
        s,
        State::Broken | State::Error | State::Soft404 | State::Changed
    )
}

/// One more observation of a link.
///
/// - A bad check extends the streak (any mix of bad states counts: error then broken is two
///   strikes); the streak's state is the latest bad state. When the streak has `confirm_checks`
///   checks over at least `confirm_period` and its state differs from the confirmed one, that
///   state is confirmed: a transition.
/// - `ok` or `redirected` ends the streak; if a bad state was confirmed, that is a recovery. One
///   good answer is trusted: a dead page does not answer 200 by accident, while a live one can
///   fail by accident.
/// - `blocked`, `skipped` and `unchecked` say nothing about rot: they leave everything as it is.
/// - In an outage cycle bad checks are not strikes.
pub fn step(
    prev: &Confirmation,
    observed: State,
    now: DateTime<Utc>,
    s: &Settings,
    outage: bool,
) -> (Confirmation, Option<Transition>) {
    let mut next = prev.clone();
    if is_bad(observed) {
        if outage {
            return (next, None);
        }
        next.streak_count = prev.streak_count.saturating_add(1);
        next.streak_since = prev.streak_since.or(Some(now));
        next.streak_state = Some(observed);
        let since = next.streak_since.unwrap_or(now);
        let long_enough = chrono::Duration::from_std(s.confirm_period)
            .map(|p| now - since >= p)
            .unwrap_or(false);
        if next.streak_count >= s.confirm_checks.max(1)
            && long_enough
            && prev.confirmed != Some(observed)
        {
            next.confirmed = Some(observed);
            return (
                next,
                Some(Transition {
                    kind: TransitionKind::Confirmed,
                    from: prev.confirmed,
                    to: observed,
                }),
            );
        }
        return (next, None);
    }
    match observed {
        State::Ok | State::Redirected => {
            next.streak_count = 0;
            next.streak_since = None;
            next.streak_state = None;
            if let Some(was) = prev.confirmed {
                next.confirmed = None;
                return (
                    next,
                    Some(Transition {
                        kind: TransitionKind::Recovered,
                        from: Some(was),
                        to: observed,
                    }),
                );
            }
            (next, None)
        }
        _ => (next, None),
    }
}

/// The share of network-level failures (no HTTP answer) that makes a cycle look like our own
/// outage: nearly every check failed without an answer.
pub const OUTAGE_SHARE: f64 = 0.9;

/// With at least this many checks, the share alone decides: many links on several sites do not
/// all die in the same hour.
pub const OUTAGE_MIN_CHECKS: usize = 10;

/// One check of a cycle, as outage detection sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observation {
    /// The host asked (lowercase); an empty string when the URL had none.
    pub host: String,
    /// Why no HTTP answer came, when none did.
    pub network: Option<NetworkFailure>,
}

/// Why a cycle was taken for citewatch's own outage rather than the web rotting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outage {
    /// A configured canary URL failed.
    Canary,
    /// Nearly every check failed without any HTTP answer.
    NoAnswers,
}

impl Outage {
    pub fn describe(self) -> &'static str {
        match self {
            Outage::Canary => "a canary URL failed",
            Outage::NoAnswers => {
                "nearly every check failed without an HTTP answer; this machine looks offline"
            }
        }
    }
}

/// Whether a cycle's checks look like our own network being down rather than the web rotting,
/// whatever their number: a canary failed, or at least [`OUTAGE_SHARE`] of the checks got no HTTP
/// answer and the failures cannot be one site's own (the machine could not reach the network at
/// all, or several hosts failed alike, or there were enough checks for the share to decide). A
/// lone dead host keeps counting strikes; a machine cut off from the network counts none.
/// `observed` needs only the checks that got no HTTP answer (the others are not looked at);
/// `checked` counts them all.
pub fn is_outage(observed: &[Observation], checked: usize, canary_failed: bool) -> Option<Outage> {
    if canary_failed {
        return Some(Outage::Canary);
    }
    let failed: Vec<&Observation> = observed.iter().filter(|o| o.network.is_some()).collect();
    if failed.is_empty() || (failed.len() as f64) < OUTAGE_SHARE * checked as f64 {
        return None;
    }
    let local = failed
        .iter()
        .any(|o| o.network == Some(NetworkFailure::Local));
    let hosts: std::collections::HashSet<&str> = failed.iter().map(|o| o.host.as_str()).collect();
    (local || hosts.len() >= 2 || checked >= OUTAGE_MIN_CHECKS).then_some(Outage::NoAnswers)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn day(n: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap() + chrono::Duration::days(n)
    }

    const IABOT: Settings = Settings {
        confirm_checks: 3,
        confirm_period: Duration::from_secs(3 * 86400),
    };

    fn run(seq: &[(State, i64)], s: &Settings) -> (Confirmation, Vec<(usize, Transition)>) {
        let mut c = Confirmation::default();
        let mut out = Vec::new();
        for (i, (st, d)) in seq.iter().enumerate() {
            let (n, t) = step(&c, *st, day(*d), s, false);
            c = n;
            if let Some(t) = t {
                out.push((i, t));
            }
        }
        (c, out)
    }

    #[test]
    fn three_checks_over_three_days_confirm() {
        let (c, ts) = run(
            &[(State::Broken, 0), (State::Broken, 2), (State::Broken, 3)],
            &IABOT,
        );
        assert_eq!(ts.len(), 1);
        assert_eq!(ts[0].0, 2);
        assert_eq!(ts[0].1.kind, TransitionKind::Confirmed);
        assert_eq!(ts[0].1.to, State::Broken);
        assert_eq!(c.confirmed, Some(State::Broken));
    }

    #[test]
    fn three_checks_in_one_day_do_not() {
        let (_, ts) = run(
            &[(State::Broken, 0), (State::Broken, 0), (State::Broken, 1)],
            &IABOT,
        );
        assert!(ts.is_empty());
        // ... until the period has passed.
        let (_, ts) = run(
            &[
                (State::Broken, 0),
                (State::Broken, 0),
                (State::Broken, 1),
                (State::Broken, 3),
            ],
            &IABOT,
        );
        assert_eq!(ts.len(), 1);
    }

    #[test]
    fn alerted_once_never_again() {
        let seq: Vec<_> = (0..10).map(|d| (State::Broken, d)).collect();
        let (_, ts) = run(&seq, &IABOT);
        assert_eq!(ts.len(), 1);
    }

    #[test]
    fn a_good_check_resets_the_streak() {
        let (_, ts) = run(
            &[
                (State::Broken, 0),
                (State::Broken, 2),
                (State::Ok, 3),
                (State::Broken, 4),
            ],
            &IABOT,
        );
        assert!(ts.is_empty());
    }

    #[test]
    fn recovery_is_reported_once() {
        let (c, ts) = run(
            &[
                (State::Broken, 0),
                (State::Broken, 2),
                (State::Broken, 3),
                (State::Ok, 4),
                (State::Ok, 5),
            ],
            &IABOT,
        );
        assert_eq!(ts.len(), 2);
        assert_eq!(ts[1].1.kind, TransitionKind::Recovered);
        assert_eq!(ts[1].1.from, Some(State::Broken));
        assert_eq!(c, Confirmation::default());
    }

    #[test]
    fn blocked_never_becomes_dead_and_does_not_break_a_streak() {
        let seq: Vec<_> = (0..10).map(|d| (State::Blocked, d)).collect();
        assert!(run(&seq, &IABOT).1.is_empty());
        let (_, ts) = run(
            &[
                (State::Broken, 0),
                (State::Blocked, 1),
                (State::Broken, 2),
                (State::Broken, 3),
            ],
            &IABOT,
        );
        assert_eq!(ts.len(), 1);
    }

    #[test]
    fn mixed_bad_states_count_and_the_latest_is_confirmed() {
        let (_, ts) = run(
            &[(State::Error, 0), (State::Error, 2), (State::Broken, 3)],
            &IABOT,
        );
        assert_eq!(ts[0].1.to, State::Broken);
    }

    #[test]
    fn a_new_bad_state_is_confirmed_as_a_change() {
        let (_, ts) = run(
            &[
                (State::Broken, 0),
                (State::Broken, 2),
                (State::Broken, 3),
                (State::Soft404, 4),
            ],
            &IABOT,
        );
        assert_eq!(ts.len(), 2);
        assert_eq!(ts[1].1.from, Some(State::Broken));
        assert_eq!(ts[1].1.to, State::Soft404);
    }

    #[test]
    fn changed_and_soft_404_confirm_the_same_way() {
        for st in [State::Changed, State::Soft404] {
            let (_, ts) = run(&[(st, 0), (st, 2)], &IABOT);
            assert!(ts.is_empty());
            let (_, ts) = run(&[(st, 0), (st, 2), (st, 3)], &IABOT);
            assert_eq!(ts[0].1.to, st);
        }
    }

    #[test]
    fn outage_cycles_count_no_strikes() {
        let mut c = Confirmation::default();
        for d in 0..5 {
            let (n, t) = step(&c, State::Error, day(d), &IABOT, true);
            assert!(t.is_none());
            c = n;
        }
        assert_eq!(c.streak_count, 0);
    }

    #[test]
    fn one_check_zero_period_confirms_immediately() {
        let s = Settings {
            confirm_checks: 1,
            confirm_period: Duration::ZERO,
        };
        let (_, ts) = run(&[(State::Broken, 0)], &s);
        assert_eq!(ts.len(), 1);
    }

    fn obs(host: &str, network: Option<NetworkFailure>) -> Observation {
        Observation {
            host: host.into(),
            network,
        }
    }

    #[test]
    fn outage_detection() {
        use NetworkFailure::{Local, Remote};
        let many = |n: usize, of: usize| -> Vec<Observation> {
            (0..of)
                .map(|i| obs(&format!("h{}", i % 3), (i < n).then_some(Remote)))
                .collect()
        };
        assert_eq!(is_outage(&many(10, 10), 10, false), Some(Outage::NoAnswers));
        assert_eq!(
            is_outage(&many(95, 100), 100, false),
            Some(Outage::NoAnswers)
        );
        assert_eq!(is_outage(&many(50, 100), 100, false), None);
        assert_eq!(is_outage(&[], 0, true), Some(Outage::Canary));
        assert_eq!(is_outage(&[], 0, false), None);
        // Regression: under ten checks every link was confirmed dead when offline.
        let offline: Vec<_> = ["a", "b", "c"]
            .iter()
            .map(|h| obs(h, Some(Remote)))
            .collect();
        assert_eq!(
            is_outage(&offline, offline.len(), false),
            Some(Outage::NoAnswers)
        );
        assert_eq!(
            is_outage(&[obs("a", Some(Local))], 1, false),
            Some(Outage::NoAnswers),
            "no route at all decides even for one check"
        );
        // One dead host is that host's problem: its strikes count.
        let lone = [obs("dead", Some(Remote)), obs("dead", Some(Remote))];
        assert_eq!(is_outage(&lone, lone.len(), false), None);
        // Some answers came: the network works.
        let mixed = [
            obs("a", Some(Remote)),
            obs("b", Some(Remote)),
            obs("c", None),
        ];
        assert_eq!(is_outage(&mixed, mixed.len(), false), None);
    }
}
