//! The soft-404 probe (a path that cannot exist) is fetched once per site per day, counted in
//! the servers' request logs.

use crate::cli::Blog;
use crate::server::{html, Routes, TestServer};

/// Requests a server got for a probe path.
fn probes(srv: &TestServer) -> usize {
    srv.log()
        .iter()
        .filter(|r| r.path.starts_with("/citewatch-probe-"))
        .count()
}

fn site() -> TestServer {
    // Every other path is a 404, so a probe is answered once, without retries.
    TestServer::start(
        Routes::new()
            .at("/one", |_| html("<p>the first cited page</p>"))
            .at("/two", |_| html("<p>the second cited page</p>")),
    )
}

/// Moves the cached probe of `srv`'s site back by `seconds`.
fn age_probe(blog: &Blog, srv: &TestServer, seconds: i64) {
    let origin = srv.url("");
    let conn = rusqlite::Connection::open(blog.db()).unwrap();
    let fetched: String = conn
        .query_row(
            "SELECT fetched_at FROM probes WHERE origin = ?1",
            [&origin],
            |r| r.get(0),
        )
        .unwrap_or_else(|e| panic!("no cached probe of {origin}: {e}"));
    let older = chrono::DateTime::parse_from_rfc3339(&fetched).unwrap()
        - chrono::Duration::seconds(seconds);
    let older = older
        .with_timezone(&chrono::Utc)
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    conn.execute(
        "UPDATE probes SET fetched_at = ?1 WHERE origin = ?2",
        [&older, &origin],
    )
    .unwrap();
}

#[test]
fn the_soft_404_probe_is_fetched_once_per_site_per_day() {
    let (a, b) = (site(), site());
    let blog = Blog::new();
    blog.config("").post(
        "p.md",
        &format!(
            "[1]({})\n[2]({})\n[3]({})\n[4]({})\n",
            a.url("/one"),
            a.url("/two"),
            b.url("/one"),
            b.url("/two")
        ),
    );
    blog.cmd().arg("run").assert().success();
    // One probe per site, not per link.
    assert_eq!(
        (probes(&a), probes(&b)),
        (1, 1),
        "a:\n{}b:\n{}",
        a.describe_log(),
        b.describe_log()
    );
    // The same day: the cached answers are used.
    blog.cmd().arg("run").assert().success();
    assert_eq!(
        (probes(&a), probes(&b)),
        (1, 1),
        "a:\n{}b:\n{}",
        a.describe_log(),
        b.describe_log()
    );
    a.expect_hits("/one", 2);
    // A day and a second later for site a; 23 hours for site b.
    age_probe(&blog, &a, 24 * 3600 + 1);
    age_probe(&blog, &b, 23 * 3600);
    blog.cmd().arg("run").assert().success();
    assert_eq!(
        probes(&a),
        2,
        "a day-old probe is fetched again:\n{}",
        a.describe_log()
    );
    assert_eq!(
        probes(&b),
        1,
        "a probe under a day old is kept:\n{}",
        b.describe_log()
    );
    // Each probe asked for a different path that cannot exist.
    let paths: Vec<String> = a
        .log()
        .into_iter()
        .filter(|r| r.path.starts_with("/citewatch-probe-"))
        .map(|r| r.path)
        .collect();
    assert_ne!(paths[0], paths[1]);
    let states: Vec<String> = blog
        .status()
        .iter()
        .map(|l| l["state"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        states, ["ok"; 4],
        "a site whose probe answers 404 has real pages"
    );
}
