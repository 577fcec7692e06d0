//! The check history folded as it grows: links per state at the end of each week (the
//! overview's chart), checks per verdict and their durations (`/metrics`).
//!
//! Fed with checks in id order, a batch at a time (`store::web` reads those after the last one
//! seen), so a request costs the checks written since the previous one, never the whole table.
//! Pure: check events in, counts out; `now` is a parameter.
//!
//! Invariant: a check is counted once. A check whose time falls before the week already closed
//! (a clock set back) counts in the current week rather than rewriting closed ones.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};

use crate::state::State;
use crate::view::{state_index, WeekCounts};

pub use crate::view::CheckEvent;

/// Upper bounds of the check-duration histogram, in seconds (Prometheus `le`).
pub const DURATION_BUCKETS: [f64; 10] = [0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0];

/// Weeks kept (two years); older ones are dropped.
const KEEP_WEEKS: usize = 104;

/// The folded history.
#[derive(Debug, Clone, Default)]
pub struct History {
    /// The id of the last check folded in.
    last_id: i64,
    /// Each link's state after its latest check folded in.
    states: HashMap<i64, State>,
    /// Links per state now (by their latest check).
    counts: [u64; 9],
    /// Links per state at the end of each closed week.
    weeks: BTreeMap<NaiveDate, [u64; 9]>,
    /// The week the latest check fell in.
    current: Option<NaiveDate>,
    /// Checks per verdict state.
    checks: [u64; 9],
    /// Checks per duration bucket (not cumulative); the last slot is `+Inf`.
    buckets: [u64; DURATION_BUCKETS.len() + 1],
    duration_sum_ms: u64,
}

/// The Monday (UTC) of the week `t` falls in.
pub fn week_of(t: DateTime<Utc>) -> NaiveDate {
    let d = t.date_naive();
    d - Duration::days(i64::from(d.weekday().num_days_from_monday()))
}

impl History {
    pub fn last_id(&self) -> i64 {
        self.last_id
    }

    /// Folds in checks, in id order; ids not after the last one seen are ignored.
    pub fn apply(&mut self, events: &[CheckEvent]) {
        for e in events {
            if e.id <= self.last_id {
                continue;
            }
            self.last_id = e.id;
            let week = week_of(e.checked_at);
            match self.current {
                None => self.current = Some(week),
                Some(cur) if week > cur => {
                    // Close every week from the current one up to this check's.
                    let mut w = cur;
                    while w < week {
                        self.weeks.insert(w, self.counts);
                        w += Duration::days(7);
                    }
                    while self.weeks.len() > KEEP_WEEKS {
                        self.weeks.pop_first();
                    }
                    self.current = Some(week);
                }
                Some(_) => {}
            }
            let to = state_index(e.state);
            if let Some(prev) = self.states.insert(e.link_id, e.state) {
                let from = state_index(prev);
                self.counts[from] = self.counts[from].saturating_sub(1);
            }
            self.counts[to] += 1;
            self.checks[to] += 1;
            let secs = e.elapsed_ms as f64 / 1000.0;
            let slot = DURATION_BUCKETS
                .iter()
                .position(|le| secs <= *le)
                .unwrap_or(DURATION_BUCKETS.len());
            self.buckets[slot] += 1;
            self.duration_sum_ms = self.duration_sum_ms.saturating_add(e.elapsed_ms);
        }
    }

    /// Links per state at the end of each of the `n` weeks up to the one `now` falls in (that
    /// one as it stands now), oldest first. Weeks before the first check are left out.
    pub fn weeks(&self, now: DateTime<Utc>, n: usize) -> Vec<WeekCounts> {
        let Some(first) = self.weeks.keys().next().copied().or(self.current) else {
            return Vec::new();
        };
        let this = week_of(now).max(self.current.unwrap_or(first));
        let mut out = Vec::new();
        let mut w = this;
        for _ in 0..n {
            if w < first {
                break;
            }
            let counts = match self.weeks.get(&w) {
                Some(c) => *c,
                // After the last closed week nothing changed but the current counts.
                None if self.current.is_some_and(|c| w >= c) => self.counts,
                // A week skipped over while closing (cannot happen) or dropped: as the next
                // older closed one.
                None => self
                    .weeks
                    .range(..w)
                    .next_back()
                    .map(|(_, c)| *c)
                    .unwrap_or(self.counts),
            };
            out.push(WeekCounts { week: w, counts });
            w -= Duration::days(7);
        }
        out.reverse();
        out
    }

    /// Checks per verdict state, in [`State::ALL`] order.
    pub fn checks(&self) -> [u64; 9] {
        self.checks
    }

    /// The duration histogram: cumulative counts per bucket of [`DURATION_BUCKETS`] and then
    /// `+Inf`, the sum in seconds and the count.
    pub fn durations(&self) -> (Vec<u64>, f64, u64) {
        let mut acc = 0;
        let cumulative = self
            .buckets
            .iter()
            .map(|n| {
                acc += n;
                acc
            })
            .collect();
        (cumulative, self.duration_sum_ms as f64 / 1000.0, acc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn ev(id: i64, link: i64, t: &str, state: State, ms: u64) -> CheckEvent {
        CheckEvent {
            id,
            link_id: link,
            checked_at: at(t),
            state,
            elapsed_ms: ms,
        }
    }

    #[test]
    fn weeks_start_on_monday() {
        // 2026-11-22 is a Sunday.
        assert_eq!(
            week_of(at("2026-11-22T23:00:00Z")),
            NaiveDate::from_ymd_opt(2026, 11, 16).unwrap()
        );
        assert_eq!(
            week_of(at("2026-11-23T00:00:00Z")),
            NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
        );
    }

    #[test]
    fn links_per_state_at_each_week_end() {
        let mut h = History::default();
        h.apply(&[
            ev(1, 10, "2026-11-02T10:00:00Z", State::Ok, 100),
            ev(2, 11, "2026-11-02T10:00:00Z", State::Ok, 200),
            // Week of 11-09: link 11 breaks.
            ev(3, 11, "2026-11-10T10:00:00Z", State::Broken, 3000),
            // Nothing in the week of 11-16; week of 11-23: link 11 recovers, link 12 appears.
            ev(4, 11, "2026-11-24T10:00:00Z", State::Ok, 50),
            ev(5, 12, "2026-11-24T11:00:00Z", State::Error, 70_000),
        ]);
        let ok = state_index(State::Ok);
        let broken = state_index(State::Broken);
        let w = h.weeks(at("2026-11-25T00:00:00Z"), 10);
        let days: Vec<String> = w.iter().map(|w| w.week.to_string()).collect();
        assert_eq!(
            days,
            ["2026-11-02", "2026-11-09", "2026-11-16", "2026-11-23"]
        );
        assert_eq!((w[0].counts[ok], w[0].counts[broken]), (2, 0));
        assert_eq!((w[1].counts[ok], w[1].counts[broken]), (1, 1));
        assert_eq!(w[2].counts, w[1].counts, "a quiet week keeps the counts");
        assert_eq!((w[3].counts[ok], w[3].total()), (2, 3));
        // Asked later, the weeks after the last check repeat the current counts.
        let later = h.weeks(at("2026-12-10T00:00:00Z"), 3);
        assert_eq!(later.len(), 3);
        assert!(later.iter().all(|w| w.total() == 3));
        // Only the last n weeks.
        assert_eq!(h.weeks(at("2026-11-25T00:00:00Z"), 2).len(), 2);
    }

    #[test]
    fn each_check_counts_once_and_durations_are_bucketed() {
        let mut h = History::default();
        let batch = [
            ev(1, 1, "2026-11-02T10:00:00Z", State::Ok, 40),
            ev(2, 1, "2026-11-02T11:00:00Z", State::Ok, 700),
            ev(3, 2, "2026-11-02T12:00:00Z", State::Broken, 90_000),
        ];
        h.apply(&batch);
        h.apply(&batch[1..]);
        assert_eq!(h.last_id(), 3);
        assert_eq!(h.checks()[state_index(State::Ok)], 2);
        let (cum, sum, count) = h.durations();
        assert_eq!(count, 3);
        assert_eq!(cum[0], 1, "40 ms ≤ 0.05 s");
        assert_eq!(cum[3], 1, "700 ms is above 0.5 s");
        assert_eq!(cum[4], 2, "700 ms ≤ 1 s");
        assert_eq!(cum[DURATION_BUCKETS.len() - 1], 2, "90 s is above 60 s");
        assert_eq!(*cum.last().unwrap(), 3);
        assert!((sum - 90.74).abs() < 1e-9);
    }

    #[test]
    fn a_clock_set_back_counts_in_the_current_week() {
        let mut h = History::default();
        h.apply(&[
            ev(1, 1, "2026-11-24T10:00:00Z", State::Ok, 1),
            ev(2, 2, "2026-10-01T10:00:00Z", State::Broken, 1),
        ]);
        let w = h.weeks(at("2026-11-25T00:00:00Z"), 52);
        assert_eq!(w.len(), 1);
        assert_eq!(w[0].total(), 2);
    }

    #[test]
    fn nothing_yet_is_no_weeks() {
        assert!(History::default()
            .weeks(at("2026-11-25T00:00:00Z"), 26)
            .is_empty());
    }
}
