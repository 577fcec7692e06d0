//! The checker and classifier against misbehaving loopback servers.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use citewatch::checker::{Checker, Failure, Fetched};
use citewatch::classify::{classify, Context};
use citewatch::config::CheckConfig;
use citewatch::state::State;
use url::Url;

use crate::server::{
    self, counter, html, redirect, status, with_headers, Reply, Routes, TestServer,
};

fn cfg() -> CheckConfig {
    CheckConfig {
        timeout: Duration::from_secs(2),
        retries: 1,
        per_host_interval: Duration::ZERO,
        allow_private: true,
        ..CheckConfig::default()
    }
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn check_with(cfg: &CheckConfig, url: &str) -> Fetched {
    let c = Checker::new(cfg).unwrap();
    rt().block_on(c.check(&Url::parse(url).unwrap()))
}

fn state(f: &Fetched) -> State {
    classify(f, &Context::default()).state
}

#[test]
fn status_codes_map_to_states() {
    let srv = TestServer::start(
        Routes::new()
            .at("/ok", |_| html("<p>fine</p>"))
            .at("/gone", |_| status(410))
            .at("/forbidden", |_| status(403))
            .at("/teapot", |_| status(418))
            .at("/unauthorized", |_| status(401))
            .at("/linkedin", |_| status(999)),
    );
    for (path, want) in [
        ("/ok", State::Ok),
        ("/missing", State::Broken),
        ("/gone", State::Broken),
        ("/teapot", State::Broken),
        ("/forbidden", State::Blocked),
        ("/unauthorized", State::Blocked),
        ("/linkedin", State::Blocked),
    ] {
        let f = check_with(&cfg(), &srv.url(path));
        assert_eq!(state(&f), want, "{path}");
        assert_eq!(f.attempts, 1, "{path} is not retried");
    }
}

#[test]
fn user_agent_is_sent() {
    let srv = TestServer::start(Routes::new().at("/ua", |_| html("x")));
    check_with(&cfg(), &srv.url("/ua"));
    let ua = srv.requests("/ua")[0]
        .header("user-agent")
        .unwrap()
        .to_string();
    assert!(ua.starts_with("citewatch/"), "{ua}");
}

#[test]
fn server_errors_are_retried_then_error() {
    let srv = TestServer::start(Routes::new().at("/500", |_| status(500)));
    let mut c = cfg();
    c.retries = 2;
    let f = check_with(&c, &srv.url("/500"));
    assert_eq!(state(&f), State::Error);
    assert_eq!(srv.hits("/500"), 3);
    assert_eq!(f.attempts, 3);
}

#[test]
fn a_503_that_passes_is_ok() {
    let n = counter();
    let n2 = n.clone();
    let srv = TestServer::start(Routes::new().at("/flaky", move |_| {
        if n2.fetch_add(1, Ordering::SeqCst) == 0 {
            status(503)
        } else {
            html("<p>back</p>")
        }
    }));
    let f = check_with(&cfg(), &srv.url("/flaky"));
    assert_eq!(state(&f), State::Ok);
    assert_eq!(n.load(Ordering::SeqCst), 2);
}

#[test]
fn retry_after_is_honoured_and_capped() {
    let n = counter();
    let n2 = n.clone();
    let srv = TestServer::start(Routes::new().at("/429", move |_| {
        if n2.fetch_add(1, Ordering::SeqCst) == 0 {
            with_headers(429, &[("retry-after", "1")], "slow down")
        } else {
            html("<p>ok</p>")
        }
    }));
    let f = check_with(&cfg(), &srv.url("/429"));
    assert_eq!(state(&f), State::Ok);
    let starts = srv.starts("/429");
    assert_eq!(starts.len(), 2);
    assert!(
        starts[1] - starts[0] >= Duration::from_millis(900),
        "waited {:?}",
        starts[1] - starts[0]
    );

    // A Retry-After of an hour is capped.
    let n = counter();
    let n2 = n.clone();
    let srv = TestServer::start(Routes::new().at("/429", move |_| {
        if n2.fetch_add(1, Ordering::SeqCst) == 0 {
            with_headers(429, &[("retry-after", "3600")], "slow down")
        } else {
            html("<p>ok</p>")
        }
    }));
    let mut c = cfg();
    c.retry_after_cap = Duration::from_millis(300);
    let t = Instant::now();
    let f = check_with(&c, &srv.url("/429"));
    assert_eq!(state(&f), State::Ok);
    assert!(t.elapsed() < Duration::from_secs(10));

    // 429 for ever: blocked, not broken.
    let srv = TestServer::start(Routes::new().at("/always", |_| {
        with_headers(429, &[("retry-after", "0")], "no")
    }));
    let f = check_with(&cfg(), &srv.url("/always"));
    assert_eq!(state(&f), State::Blocked);
    assert_eq!(srv.hits("/always"), 2);
}

#[test]
fn redirect_chains_are_recorded() {
    let srv = TestServer::start(
        Routes::new()
            .at("/old", |_| redirect(301, "/older"))
            .at("/older", |_| redirect(308, "/new"))
            .at("/new", |_| html("<p>new home</p>"))
            .at("/temp", |_| redirect(302, "/new"))
            .at("/loop-a", |_| redirect(301, "/loop-b"))
            .at("/loop-b", |_| redirect(301, "/loop-a")),
    );
    let f = check_with(&cfg(), &srv.url("/old"));
    let v = classify(&f, &Context::default());
    assert_eq!(v.state, State::Redirected);
    assert_eq!(v.final_url.unwrap().as_str(), srv.url("/new"));
    assert_eq!(f.hops.len(), 2);
    assert_eq!(f.hops[0].status, 301);
    assert_eq!(f.hops[1].location, "/new");
    assert_eq!(state(&check_with(&cfg(), &srv.url("/temp"))), State::Ok);
    let f = check_with(&cfg(), &srv.url("/loop-a"));
    assert_eq!(f.outcome.as_ref().unwrap_err(), &Failure::RedirectLoop);
    assert_eq!(state(&f), State::Broken);
}

#[test]
fn too_many_redirects() {
    let srv = TestServer::start((0..15).fold(Routes::new(), |r, i| {
        let next = format!("/r{}", i + 1);
        r.at(&format!("/r{i}"), move |_| redirect(302, &next))
    }));
    let f = check_with(&cfg(), &srv.url("/r0"));
    assert!(
        matches!(f.outcome, Err(Failure::TooManyRedirects(10))),
        "{:?}",
        f.outcome
    );
    assert_eq!(f.hops.len(), 11);
}

#[test]
fn cookie_walls_are_passed_with_a_jar_per_check() {
    let srv = TestServer::start(Routes::new().at("/wall", |req| {
        if req
            .header("cookie")
            .is_some_and(|c| c.contains("consent=yes"))
        {
            html("<p>the article</p>")
        } else {
            Reply::Full {
                status: 302,
                headers: vec![
                    ("set-cookie".into(), "consent=yes; Path=/; HttpOnly".into()),
                    ("location".into(), "/wall".into()),
                ],
                body: Vec::new(),
            }
        }
    }));
    let c = Checker::new(&cfg()).unwrap();
    let rt = rt();
    let f = rt.block_on(c.check(&Url::parse(&srv.url("/wall")).unwrap()));
    assert_eq!(state(&f), State::Ok);
    // The same checker does not carry the cookie into the next check: the wall is met again.
    let f2 = rt.block_on(c.check(&Url::parse(&srv.url("/wall")).unwrap()));
    assert_eq!(f2.hops.len(), 1);
    assert_eq!(srv.requests("/wall")[2].header("cookie"), None);
}

#[test]
fn a_dripping_server_cannot_hold_a_check() {
    let srv = TestServer::start(
        Routes::new()
            .at("/drip", |_| Reply::Drip {
                every: Duration::from_millis(200),
                total: 1000,
            })
            .at("/stall", |_| Reply::Stall),
    );
    let mut c = cfg();
    c.timeout = Duration::from_millis(800);
    c.retries = 0;
    for path in ["/drip", "/stall"] {
        let t = Instant::now();
        let f = check_with(&c, &srv.url(path));
        assert_eq!(f.outcome.as_ref().unwrap_err(), &Failure::Timeout, "{path}");
        assert_eq!(state(&f), State::Error);
        assert!(
            t.elapsed() < Duration::from_secs(5),
            "{path} took {:?}",
            t.elapsed()
        );
    }
}

#[test]
fn bodies_are_capped() {
    let bomb = Arc::new(server::gzip_bomb(200 << 20));
    assert!(bomb.len() < 1 << 20, "the bomb itself is small");
    let b2 = bomb.clone();
    let srv = TestServer::start(
        Routes::new()
            .at("/huge", |_| Reply::Endless {
                total: 50 << 20,
                headers: vec![],
            })
            .at("/bomb", move |_| Reply::Full {
                status: 200,
                headers: vec![
                    ("content-encoding".into(), "gzip".into()),
                    ("content-type".into(), "text/html".into()),
                ],
                body: b2.to_vec(),
            }),
    );
    let mut c = cfg();
    c.max_body = 1 << 20;
    c.timeout = Duration::from_secs(10);
    for path in ["/huge", "/bomb"] {
        let f = check_with(&c, &srv.url(path));
        let r = f.outcome.as_ref().unwrap();
        assert!(r.truncated, "{path}");
        assert_eq!(r.body.len(), 1 << 20, "{path}");
        assert_eq!(state(&f), State::Ok);
    }
}

#[test]
fn refused_connections_and_unknown_hosts() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut c = cfg();
    c.retries = 0;
    let f = check_with(&c, &format!("http://127.0.0.1:{port}/"));
    assert!(
        matches!(f.outcome, Err(Failure::ConnectionRefused(_))),
        "{:?}",
        f.outcome
    );
    assert_eq!(state(&f), State::Error);
    // RFC 2606: .invalid never resolves.
    let f = check_with(&c, "http://no-such-host.invalid/");
    assert!(
        matches!(f.outcome, Err(Failure::NoSuchHost(_))),
        "{:?}",
        f.outcome
    );
    assert_eq!(state(&f), State::Broken);
}

#[test]
fn private_addresses_are_refused_by_default() {
    let srv = TestServer::start(
        Routes::new()
            .at("/secret", |_| html("<p>internal</p>"))
            .at("/to-loopback", |_| redirect(302, "http://127.0.0.1:9/")),
    );
    let guarded = CheckConfig {
        allow_private: false,
        retries: 0,
        ..cfg()
    };
    for url in [
        srv.url("/secret"),
        format!("http://localhost:{}/secret", srv.port),
    ] {
        let f = check_with(&guarded, &url);
        assert!(
            matches!(f.outcome, Err(Failure::PrivateAddress(_))),
            "{url}: {:?}",
            f.outcome
        );
        let v = classify(&f, &Context::default());
        assert_eq!(v.state, State::Skipped);
        assert!(v.error.unwrap().contains("allow_private"));
    }
    assert_eq!(srv.hits("/secret"), 0, "nothing reached the server");
    // Every hop is guarded: a redirect to loopback is refused too.
    let hop = Url::parse("http://127.0.0.1:9/").unwrap();
    assert!(citewatch::checker::hop_guard(&hop, false).is_err());
    assert!(citewatch::checker::hop_guard(&Url::parse("http://[::1]/").unwrap(), false).is_err());
    assert!(
        citewatch::checker::hop_guard(&Url::parse("http://169.254.169.254/").unwrap(), false)
            .is_err()
    );
    assert!(citewatch::checker::hop_guard(&hop, true).is_ok());
}

#[test]
fn per_host_concurrency_and_interval() {
    let srv = TestServer::start(Routes::new().at("/slow", |_| {
        Reply::Delayed(Duration::from_millis(100), Box::new(html("<p>x</p>")))
    }));
    let mut c = cfg();
    c.per_host_concurrency = 2;
    let checker = Checker::new(&c).unwrap();
    let urls: Vec<Url> = (0..10)
        .map(|i| Url::parse(&format!("{}?{i}", srv.url("/slow"))).unwrap())
        .collect();
    rt().block_on(async {
        let futs = urls.iter().map(|u| checker.check(u));
        futures_util::future::join_all(futs).await
    });
    assert_eq!(srv.hits("/slow"), 10);
    assert!(
        srv.max_inflight() <= 2,
        "max in flight {}",
        srv.max_inflight()
    );

    let srv = TestServer::start(Routes::new().at("/paced", |_| html("<p>x</p>")));
    let mut c = cfg();
    c.per_host_interval = Duration::from_millis(100);
    c.per_host_concurrency = 8;
    let checker = Checker::new(&c).unwrap();
    let urls: Vec<Url> = (0..5)
        .map(|i| Url::parse(&format!("{}?{i}", srv.url("/paced"))).unwrap())
        .collect();
    rt().block_on(async {
        futures_util::future::join_all(urls.iter().map(|u| checker.check(u))).await
    });
    let mut starts = srv.starts("/paced");
    starts.sort();
    // Paced by the client at 100 ms; seen at the server with scheduling noise on both sides.
    // Without pacing the five would arrive within a few milliseconds of each other.
    for w in starts.windows(2) {
        assert!(
            w[1] - w[0] >= Duration::from_millis(50),
            "gap {:?}",
            w[1] - w[0]
        );
    }
    assert!(
        starts[4] - starts[0] >= Duration::from_millis(350),
        "span {:?}",
        starts[4] - starts[0]
    );
}

#[test]
fn redirect_hops_on_the_same_host_are_one_paced_visit() {
    let srv = TestServer::start(
        Routes::new()
            .at("/hop1", |_| redirect(301, "/hop2"))
            .at("/hop2", |_| redirect(302, "/hop3"))
            .at("/hop3", |_| redirect(301, "/end"))
            .at("/end", |_| html("<p>end</p>")),
    );
    let mut c = cfg();
    // Paced hops would take at least 3 × 2 s.
    c.per_host_interval = Duration::from_secs(2);
    let checker = Checker::new(&c).unwrap();
    let url = Url::parse(&srv.url("/hop1")).unwrap();
    let f = rt().block_on(checker.check(&url));
    assert_eq!(f.hops.len(), 3);
    assert_eq!(state(&f), State::Redirected);
    let (first, last) = (srv.starts("/hop1")[0], srv.starts("/end")[0]);
    assert!(
        last - first < Duration::from_secs(2),
        "hops were paced: {:?}",
        last - first
    );
}

#[test]
fn concurrent_checks_share_one_checker() {
    let hits = Arc::new(AtomicUsize::new(0));
    let h2 = hits.clone();
    let srv = TestServer::start(Routes::new().at("/p", move |_| {
        h2.fetch_add(1, Ordering::SeqCst);
        html("<p>x</p>")
    }));
    let checker = Checker::new(&cfg()).unwrap();
    let urls: Vec<Url> = (0..50)
        .map(|i| Url::parse(&format!("{}?{i}", srv.url("/p"))).unwrap())
        .collect();
    let results = rt().block_on(async {
        futures_util::future::join_all(urls.iter().map(|u| checker.check(u))).await
    });
    assert!(results.iter().all(|f| state(f) == State::Ok));
    assert_eq!(hits.load(Ordering::SeqCst), 50);
}
