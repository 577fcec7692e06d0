//! Alerts: the events citewatch tells its author about, and how they read in each sink. Pure:
//! events in, JSON and text out. Delivery is [`sink`]'s job; the outbox lives in the store.
//!
//! The event JSON is a contract (webhook bodies, command stdin): fields are only ever added.
//! Scraped text (link text, titles) is data: it is escaped where a receiver would read markup.

pub mod sink;

use chrono::{DateTime, SecondsFormat, Utc};

use crate::state::State;

pub use crate::rows::{AlertEvent, EventCitation};

/// The event for a confirmed transition of a link, as its status row reads at `now`. Its id is
/// stable across delivery retries: receivers deduplicate on it.
pub fn event_for(
    link_id: i64,
    row: Option<&crate::rows::StatusRow>,
    t: crate::confirm::Transition,
    now: DateTime<Utc>,
) -> AlertEvent {
    AlertEvent {
        id: format!(
            "cw-{link_id}-{}-{}",
            now.timestamp_millis(),
            t.kind.as_str()
        ),
        event: t.kind.as_str().to_string(),
        url: row.map(|r| r.url.clone()).unwrap_or_default(),
        old_state: t.from,
        new_state: t.to,
        http_status: row.and_then(|r| r.http_status),
        error: row.and_then(|r| r.error.clone()),
        final_url: row.and_then(|r| r.final_url.clone()),
        archived_url: row.and_then(|r| r.archived_url.clone()),
        citations: row
            .map(|r| {
                r.citations
                    .iter()
                    .map(|c| EventCitation {
                        post: c.post.clone(),
                        line: c.line,
                        text: c.text.clone(),
                    })
                    .collect()
            })
            .unwrap_or_default(),
        at: now,
    }
}

impl AlertEvent {
    /// The event `citewatch alerts test` sends to every sink.
    pub fn test(now: DateTime<Utc>) -> AlertEvent {
        AlertEvent {
            id: format!("test-{}", now.timestamp_millis()),
            event: "test".into(),
            url: "https://example.org/citewatch-test".into(),
            old_state: Some(State::Ok),
            new_state: State::Broken,
            http_status: Some(404),
            error: Some("this is a test alert from citewatch".into()),
            final_url: None,
            archived_url: None,
            citations: vec![EventCitation {
                post: "example-post.md".into(),
                line: 1,
                text: "a test citation".into(),
            }],
            at: now,
        }
    }

    /// One line for a person: what happened to which link.
    pub fn headline(&self) -> String {
        let what = match self.event.as_str() {
            "recovered" => format!("recovered ({})", self.new_state),
            "test" => "test alert".to_string(),
            _ => match self.old_state {
                Some(old) if old.is_failing() || old == State::Changed => {
                    format!("now {} (was {old})", self.new_state)
                }
                _ => self.new_state.to_string(),
            },
        };
        let detail = match (self.http_status, self.error.as_deref()) {
            (Some(s), Some(e)) => format!(" [{s}: {e}]"),
            (Some(s), None) => format!(" [{s}]"),
            (None, Some(e)) => format!(" [{e}]"),
            (None, None) => String::new(),
        };
        format!("citation {what}: {}{detail}", self.url)
    }
}

/// A line for the service log.
pub fn log_line(e: &AlertEvent) -> String {
    let posts: Vec<String> = e
        .citations
        .iter()
        .map(|c| format!("{}:{}", c.post, c.line))
        .collect();
    format!(
        "{} (cited in {}){}{} id={}",
        crate::text::sanitize(&e.headline()),
        crate::text::sanitize(&posts.join(", ")),
        e.final_url
            .as_deref()
            .map(|f| format!(" final_url={}", crate::text::sanitize(f)))
            .unwrap_or_default(),
        e.archived_url
            .as_deref()
            .map(|a| format!(" archived_url={}", crate::text::sanitize(a)))
            .unwrap_or_default(),
        e.id
    )
}

/// Escapes text for Slack-style `text` fields, where `<`, `>` and `&` are markup.
pub fn slack_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A short plain summary of events, as chat webhooks show it.
pub fn text_summary(events: &[AlertEvent]) -> String {
    let mut lines = Vec::new();
    if events.len() > 1 {
        lines.push(format!("citewatch: {} citation events", events.len()));
    }
    for e in events {
        let mut l = format!("citewatch: {}", e.headline());
        for c in e.citations.iter().take(5) {
            l.push_str(&format!(
                "\n  cited in {} line {}: {}",
                c.post, c.line, c.text
            ));
        }
        if e.citations.len() > 5 {
            l.push_str(&format!("\n  and {} more citations", e.citations.len() - 5));
        }
        if let Some(a) = &e.archived_url {
            l.push_str(&format!("\n  archived copy: {a}"));
        }
        lines.push(l);
    }
    slack_escape(&lines.join("\n"))
}

/// The webhook body: one event as an object, a digest as `{"events": [...]}`; with
/// `text_field`, a `text` that Slack, Mattermost and Discord display.
pub fn webhook_payload(events: &[AlertEvent], text_field: bool) -> serde_json::Value {
    let mut v = match events {
        [one] => serde_json::to_value(one).unwrap_or_default(),
        many => serde_json::json!({ "events": many }),
    };
    if text_field {
        if let Some(o) = v.as_object_mut() {
            o.insert(
                "text".into(),
                serde_json::Value::String(text_summary(events)),
            );
        }
    }
    v
}

/// What the command sink writes to the program's standard input.
pub fn command_input(events: &[AlertEvent]) -> Vec<u8> {
    let v = webhook_payload(events, false);
    let mut out = serde_json::to_vec_pretty(&v).unwrap_or_default();
    out.push(b'\n');
    out
}

pub fn email_subject(events: &[AlertEvent]) -> String {
    match events {
        [one] => {
            let s = format!("[citewatch] {}", one.headline());
            // A subject is one line, and scraped text must not add headers.
            s.replace(['\r', '\n'], " ").chars().take(200).collect()
        }
        many => format!("[citewatch] {} citation events", many.len()),
    }
}

pub fn email_body(events: &[AlertEvent]) -> String {
    let mut out = String::new();
    for e in events {
        out.push_str(&e.headline());
        out.push('\n');
        if let Some(f) = &e.final_url {
            out.push_str(&format!("  now at: {f}\n"));
        }
        if let Some(a) = &e.archived_url {
            out.push_str(&format!("  archived copy: {a}\n"));
        }
        for c in &e.citations {
            out.push_str(&format!(
                "  cited in {} line {}: {}\n",
                c.post, c.line, c.text
            ));
        }
        out.push_str(&format!(
            "  at {} (event id {})\n\n",
            e.at.to_rfc3339_opts(SecondsFormat::Secs, true),
            e.id
        ));
    }
    out.push_str("-- \ncitewatch\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn ev() -> AlertEvent {
        let mut e = AlertEvent::test(Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap());
        e.id = "7-3".into();
        e.event = "confirmed".into();
        e.url = "https://a.org/x".into();
        e.citations[0].text = "<script>&".into();
        e
    }

    #[test]
    fn single_event_json_is_the_event() {
        let v = webhook_payload(&[ev()], false);
        assert_eq!(v["id"], "7-3");
        assert_eq!(v["new_state"], "broken");
        assert_eq!(v["old_state"], "ok");
        assert_eq!(v["http_status"], 404);
        assert_eq!(v["at"], "2026-01-01T00:00:00Z");
        assert_eq!(v["citations"][0]["line"], 1);
        assert!(v.get("text").is_none());
        let back: AlertEvent = serde_json::from_value(v).unwrap();
        assert_eq!(back, ev());
    }

    #[test]
    fn digest_and_text_field() {
        let v = webhook_payload(&[ev(), ev()], true);
        assert_eq!(v["events"].as_array().unwrap().len(), 2);
        let text = v["text"].as_str().unwrap();
        assert!(text.contains("&lt;script&gt;&amp;"), "{text}");
        assert!(!text.contains("<script>"));
    }

    #[test]
    fn subject_is_one_line() {
        let mut e = ev();
        e.error = Some("evil\r\nBcc: x@y".into());
        assert!(!email_subject(&[e]).contains('\n'));
    }
}
