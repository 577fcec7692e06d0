//! Scheduling: cron expressions as users write them, translated for the cron crate, and which
//! links are due for a check. Pure: `now` is always a parameter; nothing here reads the clock.
//!
//! The cron crate (0.17) differs from standard cron in three ways this module hides: it wants a
//! seconds field first, it numbers days of the week from Sunday = 1 (standard: Sunday = 0 or 7,
//! Monday = 1), and it requires day-of-month and day-of-week to both match where standard cron
//! matches either when both are restricted.

use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::state::State;

/// A parsed cron expression with standard semantics.
#[derive(Debug, Clone)]
pub struct CronSchedule {
    /// One schedule, or two (day-of-month only, day-of-week only) whose union is the standard
    /// "either matches" rule.
    parts: Vec<cron::Schedule>,
    source: String,
}

impl CronSchedule {
    /// The first time strictly after `t`.
    pub fn next_after(&self, t: &DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.parts.iter().filter_map(|s| s.after(t).next()).min()
    }

    /// The expression as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }
}

const DAY_NAMES: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

/// Rewrites a standard day-of-week field with names, so numbering cannot be misread:
/// `1-5` → `MON-FRI`, `0,7` → `SUN,SUN`, `*/2` → `SUN,TUE,THU,SAT`.
fn translate_dow(field: &str, expr: &str) -> Result<String, String> {
    if field == "*" || field == "?" {
        return Ok(field.to_string());
    }
    let bad = |why: &str| {
        format!("invalid day-of-week {field:?} in cron expression {expr:?}: {why}; use 0-7 (0 and 7 are Sunday) or SUN-SAT")
    };
    let day = |s: &str| -> Result<usize, String> {
        if let Ok(n) = s.parse::<usize>() {
            if n > 7 {
                return Err(bad("day numbers go from 0 to 7"));
            }
            return Ok(n % 7);
        }
        let up = s.to_ascii_uppercase();
        DAY_NAMES
            .iter()
            .position(|d| up.starts_with(d))
            .ok_or_else(|| bad(&format!("unknown day {s:?}")))
    };
    let mut days: Vec<usize> = Vec::new();
    for item in field.split(',') {
        let (range, step) = match item.split_once('/') {
            Some((r, s)) => (
                r,
                s.parse::<usize>()
                    .ok()
                    .filter(|s| *s > 0)
                    .ok_or_else(|| bad("bad step"))?,
            ),
            None => (item, 1),
        };
        let (lo, hi) = if range == "*" {
            (0, 6)
        } else if let Some((a, b)) = range.split_once('-') {
            let a = day(a)?;
            // `5-7` means Friday to Sunday: 7 stays at the end of the range.
            let b = if b == "7" { 7 } else { day(b)? };
            if b < a {
                return Err(bad("a range must go upwards"));
            }
            (a, b)
        } else {
            let d = day(range)?;
            if step > 1 {
                (d, 6)
            } else {
                (d, d)
            }
        };
        let mut d = lo;
        while d <= hi {
            days.push(d % 7);
            d += step;
        }
    }
    days.sort_unstable();
    days.dedup();
    if days.is_empty() {
        return Err(bad("no days"));
    }
    Ok(days
        .iter()
        .map(|d| DAY_NAMES[*d])
        .collect::<Vec<_>>()
        .join(","))
}

/// Parses a 5-field (minute hour day-of-month month day-of-week) or 6-field (seconds first) cron
/// expression with standard cron semantics.
pub fn parse_cron(expr: &str) -> Result<CronSchedule, String> {
    let fields: Vec<&str> = expr.split_whitespace().collect();
    let (sec, rest): (&str, &[&str]) = match fields.len() {
        5 => ("0", &fields[..]),
        6 => (fields[0], &fields[1..]),
        n => {
            return Err(format!(
                "cron expression {expr:?} has {n} fields; write 5 (minute hour day month weekday, e.g. \"0 */6 * * *\") or 6 with seconds first"
            ))
        }
    };
    let (min, hour, dom, month, dow) = (rest[0], rest[1], rest[2], rest[3], rest[4]);
    let dow = translate_dow(dow, expr)?;
    let restricted = |f: &str| f != "*" && f != "?";
    let build = |dom: &str, dow: &str| -> Result<cron::Schedule, String> {
        cron::Schedule::from_str(&format!("{sec} {min} {hour} {dom} {month} {dow}"))
            .map_err(|e| format!("invalid cron expression {expr:?}: {e}"))
    };
    let parts = if restricted(dom) && restricted(&dow) {
        vec![build(dom, "*")?, build("*", &dow)?]
    } else {
        vec![build(dom, &dow)?]
    };
    Ok(CronSchedule {
        parts,
        source: expr.to_string(),
    })
}

/// What scheduling needs to know of a link: a value of the model, which the store reads.
pub use crate::rows::LinkFacts;

/// How far the interval of a fine link is spread, each way, so that thousands of links cited on
/// the same day are not all due in the same second.
const JITTER_FRACTION: f64 = 0.1;

/// The longest a failing, unconfirmed link waits: backoff doubles up to this many `recheck_failing`.
const MAX_BACKOFF_FACTOR: u32 = 8;

/// A deterministic value in [-1, 1) from the URL: the same link always gets the same jitter.
fn jitter_unit(url: &str) -> f64 {
    let h = blake3::hash(url.as_bytes());
    let b = h.as_bytes();
    let v = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
    (v as f64 / u32::MAX as f64) * 2.0 - 1.0
}

fn add(t: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(d)
        .ok()
        .and_then(|d| t.checked_add_signed(d))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// When a link should next be checked.
pub fn next_due(
    link: &LinkFacts,
    recheck_ok: Duration,
    recheck_failing: Duration,
) -> DateTime<Utc> {
    let Some(last) = link.checked_at else {
        // Never checked: due at once.
        return DateTime::<Utc>::MIN_UTC;
    };
    let failing = matches!(
        link.state,
        State::Broken | State::Error | State::Soft404 | State::Changed
    );
    let unchecked = link.state == State::Unchecked;
    if unchecked {
        return DateTime::<Utc>::MIN_UTC;
    }
    let interval = if failing && !link.confirmed {
        // 1, 2, 4, 8 × recheck_failing: quick to confirm a real failure, gentle with a flaky host.
        let factor = 1u32
            << link
                .streak
                .saturating_sub(1)
                .min(MAX_BACKOFF_FACTOR.trailing_zeros());
        let d = recheck_failing.saturating_mul(factor);
        if recheck_ok.is_zero() {
            d
        } else {
            d.min(recheck_ok)
        }
    } else {
        let j = 1.0 + JITTER_FRACTION * jitter_unit(&link.url);
        recheck_ok.mul_f64(j)
    };
    add(last, interval)
}

/// The indexes of the links due at `now`, most overdue first.
pub fn due(
    links: &[LinkFacts],
    recheck_ok: Duration,
    recheck_failing: Duration,
    now: DateTime<Utc>,
) -> Vec<usize> {
    let mut out: Vec<(DateTime<Utc>, usize)> = links
        .iter()
        .enumerate()
        .map(|(i, l)| (next_due(l, recheck_ok, recheck_failing), i))
        .filter(|(t, _)| *t <= now)
        .collect();
    out.sort();
    out.into_iter().map(|(_, i)| i).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Datelike, TimeZone, Timelike, Weekday};

    fn t(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
    }

    // 2026-11-22 is a Sunday.
    const SUNDAY_NOON: (i32, u32, u32, u32, u32) = (2026, 11, 22, 12, 0);

    fn now() -> DateTime<Utc> {
        let (y, mo, d, h, mi) = SUNDAY_NOON;
        t(y, mo, d, h, mi)
    }

    #[test]
    fn monday_nine_means_monday() {
        let s = parse_cron("0 9 * * 1").unwrap();
        let n = s.next_after(&now()).unwrap();
        assert_eq!(n, t(2026, 11, 23, 9, 0));
        assert_eq!(n.weekday(), Weekday::Mon);
    }

    #[test]
    fn every_six_hours_is_hours_not_minutes() {
        let s = parse_cron("0 */6 * * *").unwrap();
        assert_eq!(s.next_after(&now()).unwrap(), t(2026, 11, 22, 18, 0));
        assert_eq!(
            s.next_after(&t(2026, 11, 22, 18, 0)).unwrap(),
            t(2026, 11, 23, 0, 0)
        );
        let q = parse_cron("*/15 * * * *").unwrap();
        assert_eq!(
            q.next_after(&t(2026, 11, 22, 12, 1)).unwrap(),
            t(2026, 11, 22, 12, 15)
        );
    }

    #[test]
    fn sunday_is_zero_and_seven() {
        for e in ["0 0 * * 0", "0 0 * * 7", "0 0 * * SUN"] {
            let n = parse_cron(e).unwrap().next_after(&now()).unwrap();
            assert_eq!(n, t(2026, 11, 29, 0, 0), "{e}");
        }
    }

    #[test]
    fn weekdays_range() {
        let s = parse_cron("0 0 * * 1-5").unwrap();
        let mut at = now();
        let mut days = Vec::new();
        for _ in 0..5 {
            at = s.next_after(&at).unwrap();
            days.push(at.weekday());
        }
        assert_eq!(
            days,
            [
                Weekday::Mon,
                Weekday::Tue,
                Weekday::Wed,
                Weekday::Thu,
                Weekday::Fri
            ]
        );
        assert_eq!(translate_dow("5-7", "x").unwrap(), "SUN,FRI,SAT");
        assert_eq!(translate_dow("*/2", "x").unwrap(), "SUN,TUE,THU,SAT");
    }

    #[test]
    fn day_of_month_or_day_of_week() {
        // Standard cron: the 1st of the month OR any Monday.
        let s = parse_cron("0 0 1 * 1").unwrap();
        assert_eq!(s.next_after(&now()).unwrap(), t(2026, 11, 23, 0, 0)); // Monday
        assert_eq!(
            s.next_after(&t(2026, 11, 30, 1, 0)).unwrap(),
            t(2026, 12, 1, 0, 0)
        ); // the 1st, a Tuesday
    }

    #[test]
    fn six_fields_have_seconds() {
        let s = parse_cron("* * * * * *").unwrap();
        let n = s.next_after(&now()).unwrap();
        assert_eq!(n - now(), chrono::Duration::seconds(1));
        assert_eq!(n.second(), 1);
    }

    #[test]
    fn bad_expressions_say_why() {
        for e in [
            "every day",
            "* * * *",
            "61 * * * *",
            "0 0 * * 8",
            "0 0 * * 5-2",
        ] {
            let err = parse_cron(e).unwrap_err();
            assert!(err.contains(e), "{e}: {err}");
        }
    }

    fn link(
        state: State,
        checked: Option<DateTime<Utc>>,
        streak: u32,
        confirmed: bool,
    ) -> LinkFacts {
        LinkFacts {
            url: "https://example.org/a".into(),
            state,
            checked_at: checked,
            streak,
            confirmed,
        }
    }

    const DAY: Duration = Duration::from_secs(86400);

    #[test]
    fn new_links_are_due_at_once() {
        let l = link(State::Unchecked, None, 0, false);
        assert!(next_due(&l, 7 * DAY, DAY) <= now());
    }

    #[test]
    fn fine_links_wait_about_a_week_with_stable_jitter() {
        let l = link(State::Ok, Some(now()), 3, false);
        let d = next_due(&l, 7 * DAY, DAY) - now();
        let week = chrono::Duration::days(7).num_seconds() as f64;
        let secs = d.num_seconds() as f64;
        assert!((week * 0.9..=week * 1.1).contains(&secs), "{secs}");
        assert_eq!(next_due(&l, 7 * DAY, DAY), next_due(&l, 7 * DAY, DAY));
        // Different links spread out.
        let spread: std::collections::HashSet<_> = (0..50)
            .map(|i| {
                let mut l = l.clone();
                l.url = format!("https://example.org/{i}");
                next_due(&l, 7 * DAY, DAY)
            })
            .collect();
        assert!(spread.len() > 40);
    }

    #[test]
    fn failing_links_back_off_until_confirmed() {
        let d1 = next_due(&link(State::Error, Some(now()), 1, false), 7 * DAY, DAY) - now();
        let d2 = next_due(&link(State::Error, Some(now()), 2, false), 7 * DAY, DAY) - now();
        let d3 = next_due(&link(State::Broken, Some(now()), 3, false), 7 * DAY, DAY) - now();
        let d9 = next_due(&link(State::Broken, Some(now()), 9, false), 7 * DAY, DAY) - now();
        assert_eq!(d1, chrono::Duration::days(1));
        assert_eq!(d2, chrono::Duration::days(2));
        assert_eq!(d3, chrono::Duration::days(4));
        assert_eq!(d9, chrono::Duration::days(7), "capped at recheck_ok");
        let confirmed = next_due(&link(State::Broken, Some(now()), 3, true), 7 * DAY, DAY) - now();
        assert!(confirmed > chrono::Duration::days(6));
    }

    #[test]
    fn zero_intervals_make_everything_due() {
        let links = vec![
            link(State::Ok, Some(now()), 5, false),
            link(State::Broken, Some(now()), 2, false),
            link(State::Broken, Some(now()), 2, true),
            link(State::Unchecked, None, 0, false),
        ];
        assert_eq!(due(&links, Duration::ZERO, Duration::ZERO, now()).len(), 4);
        let later = due(&links, 7 * DAY, DAY, now());
        assert_eq!(later, vec![3]);
    }
}
