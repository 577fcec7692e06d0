//! `/metrics`: what the store knows, in the Prometheus text exposition format (version 0.0.4).
//! Pure: facts and the folded check history in, text out. Label values (sink names come from the
//! config) are escaped as the format requires.

use std::fmt::Write as _;

use super::history::{History, DURATION_BUCKETS};
use crate::state::State;
use crate::view::{LastCycle, MetricsFacts};

/// The content type Prometheus expects for this format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// A label value escaped: backslash, double quote and newline.
fn label(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// A number as Prometheus reads it (integers without a fraction).
fn num(v: f64) -> String {
    if v.is_finite() && v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

/// The whole exposition: one family after another.
pub fn render(facts: &MetricsFacts, history: &History) -> String {
    let mut out = String::new();
    links(&mut out, &facts.links);
    checks(&mut out, history);
    check_durations(&mut out, history);
    deliveries(&mut out, facts);
    archive(&mut out, facts);
    if let Some(c) = &facts.last_cycle {
        last_cycle(&mut out, c);
    }
    out
}

/// `citewatch_links`: cited links per state.
fn links(out: &mut String, links: &[u64; 9]) {
    header(
        out,
        "citewatch_links",
        "gauge",
        "Cited links by current state.",
    );
    for (i, s) in State::ALL.iter().enumerate() {
        let _ = writeln!(
            out,
            "citewatch_links{{state=\"{}\"}} {}",
            s.as_str(),
            links[i]
        );
    }
}

/// `citewatch_checks_total`: checks per verdict, from the folded history.
fn checks(out: &mut String, history: &History) {
    header(
        out,
        "citewatch_checks_total",
        "counter",
        "Checks recorded in the database, by verdict (old repeated checks are thinned away, so a restart may count fewer).",
    );
    let checks = history.checks();
    for (i, s) in State::ALL.iter().enumerate() {
        let _ = writeln!(
            out,
            "citewatch_checks_total{{state=\"{}\"}} {}",
            s.as_str(),
            checks[i]
        );
    }
}

/// `citewatch_check_duration_seconds`: the histogram of check durations.
fn check_durations(out: &mut String, history: &History) {
    header(
        out,
        "citewatch_check_duration_seconds",
        "histogram",
        "How long a check took, retries included.",
    );
    let (cumulative, sum, count) = history.durations();
    for (i, n) in cumulative.iter().enumerate() {
        let le = DURATION_BUCKETS
            .get(i)
            .map(|b| num(*b))
            .unwrap_or_else(|| "+Inf".into());
        let _ = writeln!(
            out,
            "citewatch_check_duration_seconds_bucket{{le=\"{le}\"}} {n}"
        );
    }
    let _ = writeln!(out, "citewatch_check_duration_seconds_sum {}", num(sum));
    let _ = writeln!(out, "citewatch_check_duration_seconds_count {count}");
}

/// `citewatch_alert_deliveries`: deliveries per sink and delivery state.
fn deliveries(out: &mut String, facts: &MetricsFacts) {
    header(
        out,
        "citewatch_alert_deliveries",
        "gauge",
        "Alert deliveries by sink and delivery state (pending, delivered, dropped).",
    );
    for ((sink, state), n) in &facts.deliveries {
        let _ = writeln!(
            out,
            "citewatch_alert_deliveries{{sink=\"{}\",state=\"{}\"}} {n}",
            label(sink),
            label(state)
        );
    }
}

/// The archive and the database: snapshots, their bytes, the database's bytes.
fn archive(out: &mut String, facts: &MetricsFacts) {
    header(
        out,
        "citewatch_archive_snapshots",
        "gauge",
        "Distinct archived bodies.",
    );
    let _ = writeln!(out, "citewatch_archive_snapshots {}", facts.snapshots);
    header(
        out,
        "citewatch_archive_bytes",
        "gauge",
        "Archived bodies, as fetched (raw) and as stored (zstd).",
    );
    let _ = writeln!(
        out,
        "citewatch_archive_bytes{{form=\"raw\"}} {}",
        facts.archive_raw_bytes
    );
    let _ = writeln!(
        out,
        "citewatch_archive_bytes{{form=\"stored\"}} {}",
        facts.archive_stored_bytes
    );
    header(
        out,
        "citewatch_database_bytes",
        "gauge",
        "The database file with its write-ahead log.",
    );
    let _ = writeln!(out, "citewatch_database_bytes {}", facts.database_bytes);
}

/// The last cycle: when it started, ended and how long it took (once finished), its checks.
fn last_cycle(out: &mut String, c: &LastCycle) {
    header(
        out,
        "citewatch_last_cycle_start_timestamp_seconds",
        "gauge",
        "When the last check cycle (daemon cycle, run or check) started.",
    );
    let start = c.started_at.timestamp();
    let _ = writeln!(
        out,
        "citewatch_last_cycle_start_timestamp_seconds{{kind=\"{}\"}} {start}",
        label(&c.kind)
    );
    if let Some(end) = c.finished_at.map(|t| t.timestamp()) {
        header(
            out,
            "citewatch_last_cycle_end_timestamp_seconds",
            "gauge",
            "When the last check cycle ended (absent while it runs).",
        );
        let _ = writeln!(
            out,
            "citewatch_last_cycle_end_timestamp_seconds{{kind=\"{}\"}} {end}",
            label(&c.kind)
        );
        header(
            out,
            "citewatch_last_cycle_duration_seconds",
            "gauge",
            "How long the last finished check cycle took.",
        );
        let _ = writeln!(
            out,
            "citewatch_last_cycle_duration_seconds{{kind=\"{}\"}} {}",
            label(&c.kind),
            (end - start).max(0)
        );
    }
    header(
        out,
        "citewatch_last_cycle_checks",
        "gauge",
        "Checks of the last check cycle.",
    );
    let _ = writeln!(
        out,
        "citewatch_last_cycle_checks{{kind=\"{}\"}} {}",
        label(&c.kind),
        c.checks
    );
}

#[cfg(test)]
mod tests {
    use super::super::history::CheckEvent;
    use super::*;
    use crate::view::LastCycle;

    #[test]
    fn the_exposition_has_every_family_and_escapes_labels() {
        let mut facts = MetricsFacts::default();
        facts.links[4] = 3;
        facts
            .deliveries
            .insert(("pager \"main\"\n".into(), "pending".into()), 2);
        facts.snapshots = 5;
        facts.archive_raw_bytes = 1000;
        facts.archive_stored_bytes = 300;
        facts.last_cycle = Some(LastCycle {
            kind: "daemon".into(),
            started_at: "2026-11-22T10:00:00Z".parse().unwrap(),
            finished_at: Some("2026-11-22T10:02:30Z".parse().unwrap()),
            checks: 12,
        });
        let mut h = History::default();
        h.apply(&[CheckEvent {
            id: 1,
            link_id: 1,
            checked_at: chrono::DateTime::parse_from_rfc3339("2026-11-22T10:00:00Z")
                .unwrap()
                .with_timezone(&chrono::Utc),
            state: State::Broken,
            elapsed_ms: 1500,
        }]);
        let text = render(&facts, &h);
        for line in [
            "citewatch_links{state=\"broken\"} 3",
            "citewatch_links{state=\"soft_404\"} 0",
            "citewatch_checks_total{state=\"broken\"} 1",
            "citewatch_check_duration_seconds_bucket{le=\"1\"} 0",
            "citewatch_check_duration_seconds_bucket{le=\"2.5\"} 1",
            "citewatch_check_duration_seconds_bucket{le=\"+Inf\"} 1",
            "citewatch_check_duration_seconds_sum 1.5",
            "citewatch_check_duration_seconds_count 1",
            "citewatch_alert_deliveries{sink=\"pager \\\"main\\\"\\n\",state=\"pending\"} 2",
            "citewatch_archive_bytes{form=\"stored\"} 300",
            "citewatch_last_cycle_duration_seconds{kind=\"daemon\"} 150",
            "citewatch_last_cycle_checks{kind=\"daemon\"} 12",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "missing {line:?} in\n{text}"
            );
        }
        // Every sample line is `name{labels} value` or `name value`, on one line.
        for l in text.lines().filter(|l| !l.starts_with('#')) {
            let value = l.rsplit(' ').next().unwrap();
            assert!(value.parse::<f64>().is_ok(), "{l}");
        }
    }
}
