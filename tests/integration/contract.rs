//! The JSON contract, checked on the real binary's output against key lists written out here
//! from README.md ("JSON output", "Repairing rotted citations", "Run as a service"), never taken
//! from the code: a field renamed or removed in the code fails here.
//!
//! Invariant: every documented key is present; any key not in a list fails too, so a new field
//! is added here (and to the README) on purpose, never slipped in or renamed by accident.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::cli::{find, Blog};
use crate::server::{html, redirect, status, Routes, TestServer};

/// `citewatch status --format json`: one link (README, "JSON output").
const STATUS_KEYS: &[&str] = &[
    "url",
    "state",
    "since",
    "checked_at",
    "http_status",
    "final_url",
    "error",
    "streak",
    "citations",
    // Documented under "How it decides": the closest Wayback copy of a dead, changed or
    // soft-404 link, in `status`, `show`, JSON and alerts.
    "archived_url",
    // An offline run's verdicts (README, "States").
    "unverified",
];

/// One element of a link's `citations`.
const CITATION_KEYS: &[&str] = &[
    "post",
    "line",
    "text",
    "kind",
    "fragment",
    "quote",
    "fragment_state",
    "fragment_reason",
];

/// `citewatch history URL --format json`: one check (README, "JSON output").
const HISTORY_KEYS: &[&str] = &[
    "checked_at",
    "state",
    "http_status",
    "final_url",
    "error",
    "elapsed_ms",
    "attempts",
    "snapshot",
    "similarity",
    "redirects",
];

/// One hop of a check's `redirects`.
const REDIRECT_KEYS: &[&str] = &["url", "status", "location"];

/// `citewatch quotes --format json`: one quoted passage. The README names the command, not the
/// fields: these are the ones shipped.
const QUOTE_KEYS: &[&str] = &[
    "post",
    "line",
    "url",
    "state",
    "quote",
    "standing",
    "reason",
    "checked_at",
];

/// `citewatch alerts --format json`: one event with its deliveries (the dashboard's `/alerts`
/// is the same list). The README names the command, not the fields: these are the ones shipped.
const ALERT_KEYS: &[&str] = &[
    "id",
    "created_at",
    "event",
    "url",
    "old_state",
    "new_state",
    "deliveries",
];

const DELIVERY_KEYS: &[&str] = &[
    "sink",
    "state",
    "attempts",
    "last_error",
    "delivered_at",
    "next_attempt",
];

/// The event a webhook receives (and a command reads on stdin): `id` to deduplicate on.
const EVENT_KEYS: &[&str] = &[
    "id",
    "event",
    "url",
    "old_state",
    "new_state",
    "http_status",
    "error",
    "final_url",
    "archived_url",
    "citations",
    "at",
];

const EVENT_CITATION_KEYS: &[&str] = &["post", "line", "text"];

/// Asserts that the object `v` has exactly the keys `want`, naming what it is and what differs.
#[track_caller]
pub fn assert_keys(what: &str, v: &Value, want: &[&str]) {
    let got: BTreeSet<&str> = v
        .as_object()
        .unwrap_or_else(|| panic!("{what} is not an object: {v}"))
        .keys()
        .map(String::as_str)
        .collect();
    let want: BTreeSet<&str> = want.iter().copied().collect();
    let missing: Vec<_> = want.difference(&got).collect();
    let extra: Vec<_> = got.difference(&want).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{what}: documented keys missing {missing:?}, keys not in the contract {extra:?}: {v}"
    );
}

/// The first element of a JSON array, which must not be empty.
#[track_caller]
fn first<'a>(what: &str, v: &'a Value) -> &'a Value {
    v.as_array()
        .and_then(|a| a.first())
        .unwrap_or_else(|| panic!("{what}: expected a non-empty array, got {v}"))
}

#[test]
fn status_history_quotes_alerts_and_events_have_the_documented_keys() {
    let srv = TestServer::start(
        Routes::new()
            .at("/gone", |_| status(404))
            .at("/old", |_| redirect(301, "/new"))
            .at("/new", |_| html("<p>the new page</p>"))
            .at("/report", |_| {
                html("<html><head><title>Report</title></head><body><article><p>Revenue grew by twelve percent last year, more than any analyst expected.</p></article></body></html>")
            }),
    );
    let hook = crate::support::Receiver::start();
    let blog = Blog::new();
    blog.config(&format!(
        "[alerts]\nconfirm_checks = 1\nconfirm_period = \"0s\"\nlog = false\n[[alerts.webhook]]\nurl = \"{}\"\n",
        hook.url()
    ))
    .post(
        "p.md",
        &format!(
            "[gone]({}) and [moved]({}).\n\nAs [the report]({}) puts it:\n\n> Revenue grew by twelve percent last year, more than any analyst expected.\n",
            srv.url("/gone"),
            srv.url("/old"),
            srv.url("/report")
        ),
    );
    blog.cmd().arg("run").assert().code(2);

    let links = blog.status();
    assert_eq!(links.len(), 3, "{links:?}");
    for l in &links {
        assert_keys("a link in `status`", l, STATUS_KEYS);
        assert_keys(
            "a citation in `status`",
            first("citations", &l["citations"]),
            CITATION_KEYS,
        );
    }
    assert_eq!(find(&links, &srv.url("/old"))["state"], "redirected");

    let history = blog.json(&["history", &srv.url("/old"), "--format", "json"]);
    let check = first("history", &history);
    assert_keys("a check in `history`", check, HISTORY_KEYS);
    assert_keys(
        "a redirect hop in `history`",
        first("redirects", &check["redirects"]),
        REDIRECT_KEYS,
    );

    let quotes = blog.json(&["quotes", "--format", "json"]);
    let quote = first("quotes", &quotes);
    assert_keys("a quote in `quotes`", quote, QUOTE_KEYS);
    assert_eq!(quote["standing"], "stands", "{quote}");

    let alerts = blog.json(&["alerts", "--format", "json"]);
    let alert = first("alerts", &alerts);
    assert_keys("an event in `alerts`", alert, ALERT_KEYS);
    assert_keys(
        "a delivery in `alerts`",
        first("deliveries", &alert["deliveries"]),
        DELIVERY_KEYS,
    );

    let events = Value::Array(hook.events_of("confirmed"));
    let event = first("webhook events", &events);
    assert_keys("a webhook event", event, EVENT_KEYS);
    assert_keys(
        "a citation in a webhook event",
        first("event citations", &event["citations"]),
        EVENT_CITATION_KEYS,
    );
}
