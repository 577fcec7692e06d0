//! Charts drawn on the server as inline SVG, so they need no JavaScript and no request: the bar
//! of links per state, the weekly chart of states, and a link's timeline. Colours come from the
//! stylesheet (`s-<state>` classes), so dark mode applies to them too; every mark carries a
//! `<title>`, which browsers show on hover. Pure: values in, markup out.

use chrono::{DateTime, Utc};
use maud::{html, Markup};

use crate::rows::stamp;
use crate::state::State;
use crate::view::{TimelineCheck, Transition, WeekCounts};

/// The CSS class that colours a state.
pub fn class_of(s: State) -> String {
    format!("s-{}", s.as_str())
}

fn plural(n: u64, one: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {one}s")
    }
}

/// A horizontal bar split by state, as wide as its container.
pub fn state_bar(counts: &[u64; 9], label: &str) -> Markup {
    let total: u64 = counts.iter().sum();
    // Each state's segment: its state, count, left edge and width.
    let mut x = 0.0f64;
    let mut segments = Vec::new();
    for (i, n) in counts.iter().enumerate().filter(|(_, n)| **n > 0) {
        let w = *n as f64 * 1000.0 / total as f64;
        segments.push((State::ALL[i], *n, x, w));
        x += w;
    }
    html! {
        svg class="bar" viewBox="0 0 1000 24" preserveAspectRatio="none" role="img" aria-label=(label) {
            @if total == 0 {
                rect class="empty" x="0" y="0" width="1000" height="24" {}
            }
            @for (s, n, x, w) in segments {
                rect class=(class_of(s)) x=(fmt(x)) y="0" width=(fmt(w)) height="24" {
                    title { (plural(n, "link")) " " (s.as_str()) }
                }
            }
        }
    }
}

/// Numbers in SVG: two decimals at most, no exponent.
fn fmt(v: f64) -> String {
    let s = format!("{v:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// Stacked bars of links per state, one per week, oldest on the left.
pub fn weekly(weeks: &[WeekCounts]) -> Markup {
    const W: f64 = 640.0;
    const H: f64 = 200.0;
    const LEFT: f64 = 44.0;
    const BOTTOM: f64 = 22.0;
    let max = weeks
        .iter()
        .map(WeekCounts::total)
        .max()
        .unwrap_or(0)
        .max(1);
    let n = weeks.len().max(1) as f64;
    let slot = (W - LEFT) / n;
    let bar = (slot * 0.8).max(1.0);
    let plot = H - BOTTOM - 8.0;
    let y_of = |v: u64| 8.0 + plot - v as f64 * plot / max as f64;
    html! {
        svg class="chart" viewBox=(format!("0 0 {W} {H}")) role="img"
            aria-label="Links per state at the end of each week" {
            // Axis: zero and the maximum.
            line class="axis" x1=(fmt(LEFT)) x2=(fmt(W)) y1=(fmt(y_of(0))) y2=(fmt(y_of(0))) {}
            line class="grid" x1=(fmt(LEFT)) x2=(fmt(W)) y1=(fmt(y_of(max))) y2=(fmt(y_of(max))) {}
            text class="tick" x=(fmt(LEFT - 6.0)) y=(fmt(y_of(max) + 4.0)) text-anchor="end" { (max) }
            text class="tick" x=(fmt(LEFT - 6.0)) y=(fmt(y_of(0) + 4.0)) text-anchor="end" { "0" }
            @for (k, w) in weeks.iter().enumerate() {
                @let x = LEFT + k as f64 * slot + (slot - bar) / 2.0;
                g {
                    title { (week_title(w)) }
                    @for (s, base, top) in stack(&w.counts) {
                        rect class=(class_of(s)) x=(fmt(x)) y=(fmt(y_of(top)))
                            width=(fmt(bar)) height=(fmt(y_of(base) - y_of(top))) {}
                    }
                }
                // A date under every fourth week, and under the last one.
                @if k % 4 == 0 || k + 1 == weeks.len() {
                    text class="tick" x=(fmt(x + bar / 2.0)) y=(fmt(H - 6.0)) text-anchor="middle" {
                        (w.week.format("%b %d"))
                    }
                }
            }
        }
    }
}

/// The stacked segments of one bar: each state with a count, from and to which total.
fn stack(counts: &[u64; 9]) -> Vec<(State, u64, u64)> {
    let mut base = 0;
    let mut out = Vec::new();
    for (i, c) in counts.iter().enumerate().filter(|(_, c)| **c > 0) {
        out.push((State::ALL[i], base, base + c));
        base += c;
    }
    out
}

fn week_title(w: &WeekCounts) -> String {
    let parts: Vec<String> = w
        .counts
        .iter()
        .enumerate()
        .filter(|(_, n)| **n > 0)
        .map(|(i, n)| format!("{n} {}", State::ALL[i].as_str()))
        .collect();
    format!(
        "Week of {}: {}",
        w.week.format("%Y-%m-%d"),
        if parts.is_empty() {
            "no links".to_string()
        } else {
            parts.join(", ")
        }
    )
}

/// A link's life: a band coloured by state between its transitions, and a tick for every check
/// drawn (hover one to read it).
pub fn timeline(
    transitions: &[Transition],
    checks: &[TimelineCheck],
    now: DateTime<Utc>,
) -> Markup {
    const W: f64 = 1000.0;
    let times: Vec<DateTime<Utc>> = transitions
        .iter()
        .map(|t| t.at)
        .chain(checks.iter().map(|c| c.checked_at))
        .collect();
    let (Some(start), Some(last)) = (times.iter().min().copied(), times.iter().max().copied())
    else {
        return html! { p class="muted" { "Not checked yet." } };
    };
    let end = now.max(last);
    let span = (end - start).num_seconds().max(1) as f64;
    let x_of = |t: DateTime<Utc>| ((t - start).num_seconds() as f64 / span * W).clamp(0.0, W);
    html! {
        svg class="timeline" viewBox="0 0 1000 44" preserveAspectRatio="none" role="img"
            aria-label="State over time" {
            @for (i, t) in transitions.iter().enumerate() {
                @let to = transitions.get(i + 1).map_or(end, |n| n.at);
                @let (x0, x1) = (x_of(t.at), x_of(to));
                rect class=(class_of(t.to)) x=(fmt(x0)) y="4" width=(fmt((x1 - x0).max(2.0))) height="24" {
                    title { (t.to.as_str()) " from " (stamp(t.at)) }
                }
            }
            @for c in checks {
                @let x = x_of(c.checked_at);
                line class=(format!("tickmark {}", class_of(c.state))) x1=(fmt(x)) x2=(fmt(x)) y1="30" y2="42" {
                    title {
                        (stamp(c.checked_at)) " " (c.state.as_str())
                        @if let Some(s) = c.http_status { " HTTP " (s) }
                        " (" (c.elapsed_ms) " ms)"
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn parse(t: &str) -> Option<DateTime<Utc>> {
        DateTime::parse_from_rfc3339(t)
            .ok()
            .map(|t| t.with_timezone(&Utc))
    }

    #[test]
    fn the_bar_splits_by_state_and_says_so_on_hover() {
        let mut counts = [0u64; 9];
        counts[0] = 3;
        counts[4] = 1;
        let svg = state_bar(&counts, "links").into_string();
        assert!(svg.contains("class=\"s-ok\""), "{svg}");
        assert!(svg.contains("width=\"750\""), "{svg}");
        assert!(svg.contains("<title>1 link broken</title>"), "{svg}");
        assert!(svg.contains("<title>3 links ok</title>"), "{svg}");
        let empty = state_bar(&[0; 9], "links").into_string();
        assert!(empty.contains("class=\"empty\""), "{empty}");
    }

    #[test]
    fn weekly_bars_have_titles_and_heights_in_proportion() {
        let mut a = [0u64; 9];
        a[0] = 10;
        let mut b = [0u64; 9];
        b[0] = 5;
        b[4] = 5;
        let weeks = [
            WeekCounts {
                week: NaiveDate::from_ymd_opt(2026, 11, 2).unwrap(),
                counts: a,
            },
            WeekCounts {
                week: NaiveDate::from_ymd_opt(2026, 11, 9).unwrap(),
                counts: b,
            },
        ];
        let svg = weekly(&weeks).into_string();
        assert!(
            svg.contains("<title>Week of 2026-11-09: 5 ok, 5 broken</title>"),
            "{svg}"
        );
        assert_eq!(svg.matches("<rect").count(), 3, "{svg}");
        assert!(!svg.contains("NaN") && !svg.contains("inf"), "{svg}");
        assert!(!weekly(&[]).into_string().contains("NaN"));
    }

    #[test]
    fn the_timeline_has_a_band_per_transition_and_a_tick_per_check() {
        let t = |at: &str, to| Transition {
            at: parse(at).unwrap(),
            from: None,
            to,
            http_status: None,
            error: None,
        };
        let c = |at: &str, state| TimelineCheck {
            checked_at: parse(at).unwrap(),
            state,
            http_status: Some(404),
            elapsed_ms: 12,
        };
        let now = parse("2026-11-30T00:00:00Z").unwrap();
        let svg = timeline(
            &[
                t("2026-11-01T00:00:00Z", State::Ok),
                t("2026-11-20T00:00:00Z", State::Broken),
            ],
            &[
                c("2026-11-01T00:00:00Z", State::Ok),
                c("2026-11-20T00:00:00Z", State::Broken),
                c("2026-11-21T00:00:00Z", State::Broken),
            ],
            now,
        )
        .into_string();
        assert_eq!(svg.matches("<rect").count(), 2, "{svg}");
        assert_eq!(svg.matches("<line").count(), 3, "{svg}");
        assert!(
            svg.contains("2026-11-21T00:00:00Z broken HTTP 404 (12 ms)"),
            "{svg}"
        );
        assert!(timeline(&[], &[], now)
            .into_string()
            .contains("Not checked yet"));
    }
}
