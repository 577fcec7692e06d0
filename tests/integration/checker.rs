//! The checker and classifier against misbehaving loopback servers, the address guard with staged
//! DNS answers (in a network namespace where a "public" address is local), and the binary's
//! indifference to proxy variables.

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use citewatch::checker::{Checker, Failure, Fetched, Lookup};
use citewatch::classify::{classify, Context};
use citewatch::config::CheckConfig;
use citewatch::state::State;
use url::Url;

use crate::cli::Blog;
use crate::server::{
    self, fails_first, html, redirect, status, with_headers, Reply, Routes, TestServer,
};
use crate::support::ClosedPort;

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
    srv.expect_hits("/500", 3);
    assert_eq!(f.attempts, 3);
    // Backoff: 250 ms then 500 ms, each jittered by at most a quarter. Lower bounds only: a
    // loaded machine makes the waits longer, never shorter.
    let s = srv.starts("/500");
    assert!(
        s[1] - s[0] >= Duration::from_millis(187),
        "{:?}",
        s[1] - s[0]
    );
    assert!(
        s[2] - s[1] >= Duration::from_millis(375),
        "{:?}",
        s[2] - s[1]
    );
}

#[test]
fn a_503_that_passes_is_ok() {
    let srv = TestServer::start(
        Routes::new().at("/flaky", fails_first(1, status(503), html("<p>back</p>"))),
    );
    let f = check_with(&cfg(), &srv.url("/flaky"));
    assert_eq!(state(&f), State::Ok);
    assert_eq!(f.attempts, 2);
    srv.expect_hits("/flaky", 2);
}

/// Runs `check` on a fresh runtime, failing instead of hanging when it takes longer than
/// `limit` (an uncapped `Retry-After: 3600` would wait an hour).
fn check_within(cfg: &CheckConfig, url: &str, limit: Duration) -> Fetched {
    let c = Checker::new(cfg).unwrap();
    let url = Url::parse(url).unwrap();
    rt().block_on(async { tokio::time::timeout(limit, c.check(&url)).await })
        .unwrap_or_else(|_| panic!("checking {url} took over {limit:?}"))
}

#[test]
fn retry_after_in_seconds_is_honoured() {
    let srv = TestServer::start(Routes::new().at(
        "/429",
        fails_first(
            1,
            with_headers(429, &[("retry-after", "1")], "slow down"),
            html("<p>ok</p>"),
        ),
    ));
    let f = check_with(&cfg(), &srv.url("/429"));
    assert_eq!(state(&f), State::Ok);
    let starts = srv.starts("/429");
    assert_eq!(starts.len(), 2);
    // The second request cannot arrive before the client has waited the full second (a lower
    // bound: load only makes the gap longer). Without Retry-After the backoff is ~250 ms.
    assert!(
        starts[1] - starts[0] >= Duration::from_secs(1),
        "waited {:?}",
        starts[1] - starts[0]
    );
}

#[test]
fn retry_after_as_an_http_date_counts_from_the_servers_date() {
    // The server's clock is 30 years behind ours: read against our clock the date is long past
    // (no wait); read against the server's `Date` it asks for 2 seconds.
    let srv = TestServer::start(Routes::new().at(
        "/429",
        fails_first(
            1,
            with_headers(
                429,
                &[
                    ("date", "Sun, 06 Nov 1994 08:49:37 GMT"),
                    ("retry-after", "Sun, 06 Nov 1994 08:49:39 GMT"),
                ],
                "slow down",
            ),
            html("<p>ok</p>"),
        ),
    ));
    let f = check_within(&cfg(), &srv.url("/429"), Duration::from_secs(30));
    assert_eq!(state(&f), State::Ok);
    let starts = srv.starts("/429");
    assert_eq!(starts.len(), 2);
    assert!(
        starts[1] - starts[0] >= Duration::from_secs(2),
        "waited {:?}",
        starts[1] - starts[0]
    );
}

#[test]
fn retry_after_is_capped() {
    let srv = TestServer::start(Routes::new().at(
        "/429",
        fails_first(
            1,
            with_headers(429, &[("retry-after", "3600")], "slow down"),
            html("<p>ok</p>"),
        ),
    ));
    let mut c = cfg();
    c.retry_after_cap = Duration::from_millis(300);
    // Uncapped, this would wait an hour: the limit fails the test instead.
    let f = check_within(&c, &srv.url("/429"), Duration::from_secs(30));
    assert_eq!(state(&f), State::Ok);
    let starts = srv.starts("/429");
    assert!(
        starts[1] - starts[0] >= Duration::from_millis(300),
        "the cap is a wait too: {:?}",
        starts[1] - starts[0]
    );

    // 429 for ever: blocked, not broken.
    let srv = TestServer::start(Routes::new().at("/always", |_| {
        with_headers(429, &[("retry-after", "0")], "no")
    }));
    let f = check_with(&cfg(), &srv.url("/always"));
    assert_eq!(state(&f), State::Blocked);
    srv.expect_hits("/always", 2);
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
        // The drip would take 200 s: far above any slowness of a loaded machine.
        assert!(
            t.elapsed() < Duration::from_secs(30),
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
fn a_refused_connection_is_an_error() {
    // A port held bound and never listening: refused every time, and nobody can take it.
    let closed = ClosedPort::new();
    let mut c = cfg();
    c.retries = 0;
    let f = check_with(&c, &closed.url("/"));
    assert!(
        matches!(f.outcome, Err(Failure::ConnectionRefused(_))),
        "{:?}",
        f.outcome
    );
    assert_eq!(state(&f), State::Error);
}

/// One staged DNS answer.
#[derive(Clone, Debug)]
enum Answer {
    Addrs(Vec<IpAddr>),
    /// NXDOMAIN, as glibc words it.
    NoSuchName,
    /// EAI_AGAIN: no answer at all (an offline machine), as glibc words it.
    TryAgain,
}

/// A DNS whose answers a test stages per name: each lookup takes the next answer, the last one
/// repeats. Unknown names are NXDOMAIN. Every question is recorded.
#[derive(Clone, Default)]
struct StagedDns {
    answers: Arc<Mutex<HashMap<String, VecDeque<Answer>>>>,
    asked: Arc<Mutex<Vec<String>>>,
}

impl StagedDns {
    fn answer(self, name: &str, answers: &[Answer]) -> Self {
        self.answers
            .lock()
            .unwrap()
            .insert(name.to_string(), answers.iter().cloned().collect());
        self
    }

    fn asked(&self, name: &str) -> usize {
        self.asked
            .lock()
            .unwrap()
            .iter()
            .filter(|n| *n == name)
            .count()
    }

    fn lookup(&self) -> Lookup {
        let dns = self.clone();
        Arc::new(move |name: String| {
            dns.asked.lock().unwrap().push(name.clone());
            let answer = {
                let mut all = dns.answers.lock().unwrap();
                match all.get_mut(&name) {
                    Some(q) if q.len() > 1 => q.pop_front().unwrap(),
                    Some(q) => q.front().cloned().unwrap_or(Answer::NoSuchName),
                    None => Answer::NoSuchName,
                }
            };
            Box::pin(async move {
                // The messages are the ones std's resolver gives for glibc's errors.
                match answer {
                    Answer::Addrs(ips) => Ok(ips.into_iter().map(|ip| SocketAddr::new(ip, 0)).collect()),
                    Answer::NoSuchName => Err(std::io::Error::other(
                        "failed to lookup address information: Name or service not known",
                    )),
                    Answer::TryAgain => Err(std::io::Error::other(
                        "failed to lookup address information: Temporary failure in name resolution",
                    )),
                }
            })
        })
    }
}

fn ips(list: &[&str]) -> Answer {
    Answer::Addrs(list.iter().map(|s| s.parse().unwrap()).collect())
}

fn check_staged(cfg: &CheckConfig, dns: &StagedDns, url: &str) -> Fetched {
    let c = Checker::with_lookup(cfg, dns.lookup()).unwrap();
    rt().block_on(c.check(&Url::parse(url).unwrap()))
}

#[test]
fn a_name_that_does_not_exist_is_broken() {
    // Staged, not `.invalid`: an offline machine answers "temporary failure" for every name.
    let dns = StagedDns::default()
        .answer("gone.test", &[Answer::NoSuchName])
        .answer("empty.test", &[ips(&[])]);
    let mut c = cfg();
    c.retries = 0;
    for name in ["gone.test", "empty.test"] {
        let f = check_staged(&c, &dns, &format!("http://{name}/page"));
        assert!(
            matches!(&f.outcome, Err(Failure::NoSuchHost(h)) if h == name),
            "{name}: {:?}",
            f.outcome
        );
        assert_eq!(state(&f), State::Broken, "{name}");
        assert_eq!(dns.asked(name), 1, "{name}: asked the staged DNS");
    }
}

#[test]
fn a_temporary_dns_failure_is_unreachable_not_broken() {
    // EAI_AGAIN says nothing about the site: this machine could not ask. It must never turn a
    // citation `broken`.
    let dns = StagedDns::default().answer("offline.test", &[Answer::TryAgain]);
    let mut c = cfg();
    c.retries = 1;
    let f = check_staged(&c, &dns, "http://offline.test/page");
    assert!(
        matches!(f.outcome, Err(Failure::Unreachable(_))),
        "{:?}",
        f.outcome
    );
    assert_eq!(state(&f), State::Error);
    assert_eq!(f.attempts, 2, "a fault that may pass is retried");
    assert_eq!(dns.asked("offline.test"), 2);
}

fn guarded() -> CheckConfig {
    CheckConfig {
        allow_private: false,
        retries: 0,
        ..cfg()
    }
}

#[test]
fn private_addresses_are_refused_by_default() {
    let srv = TestServer::start(Routes::new().at("/secret", |_| html("<p>internal</p>")));
    for url in [
        srv.url("/secret"),
        format!("http://localhost:{}/secret", srv.port),
        format!("http://[::1]:{}/secret", srv.port),
        format!("http://[::ffff:127.0.0.1]:{}/secret", srv.port),
    ] {
        let f = check_with(&guarded(), &url);
        assert!(
            matches!(f.outcome, Err(Failure::PrivateAddress(_))),
            "{url}: {:?}",
            f.outcome
        );
        let v = classify(&f, &Context::default());
        assert_eq!(v.state, State::Skipped);
        assert!(v.error.unwrap().contains("allow_private"));
    }
    srv.expect_untouched();
}

#[test]
fn regression_dns_rebinding_a_name_that_resolves_to_a_private_address_is_refused_at_connect() {
    // The name looks public and is not refused by name; only the address filter of the
    // resolver (the connect-time guard) stands between it and the loopback server.
    let srv = TestServer::start(Routes::new().at("/secret", |_| html("<p>internal</p>")));
    let dns = StagedDns::default()
        .answer("rebind.test", &[ips(&["127.0.0.1"])])
        .answer(
            "all-private.test",
            &[ips(&["127.0.0.1", "::1", "10.0.0.1", "169.254.169.254"])],
        )
        .answer("mapped.test", &[ips(&["::ffff:127.0.0.1"])]);
    for name in ["rebind.test", "all-private.test", "mapped.test"] {
        let url = format!("http://{name}:{}/secret", srv.port);
        let f = check_staged(&guarded(), &dns, &url);
        assert!(
            matches!(&f.outcome, Err(Failure::PrivateAddress(why)) if why.contains(name)),
            "{url}: {:?}",
            f.outcome
        );
        assert_eq!(state(&f), State::Skipped, "{url}");
        assert!(
            dns.asked(name) >= 1,
            "{name} was refused after its lookup, not by name"
        );
    }
    srv.expect_untouched();
    // The same name is fetched when private addresses are allowed: the staging is sound.
    let f = check_staged(
        &cfg(),
        &dns,
        &format!("http://rebind.test:{}/secret", srv.port),
    );
    assert_eq!(state(&f), State::Ok, "{:?}", f.outcome);
    srv.expect_hits("/secret", 1);
}

/// An address the guard takes for public. Only ever used inside a network namespace of our own
/// (see `in_network_namespace`), where it is an address of the loopback interface and nothing
/// can leave the machine.
const PUBLIC_IP: &str = "93.184.216.34";

/// Runs the `#[ignore]`d test `name` of this binary inside a new user and network namespace in
/// which `PUBLIC_IP` is a local address: a "public" first hop can then be served on this machine
/// while the guard is on, so the redirect and rebinding paths run for real.
fn in_network_namespace(name: &str) {
    let exe = std::env::current_exe().unwrap();
    // As root a network namespace needs nothing more; otherwise a user namespace maps us to root
    // in it.
    let root = std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"));
    let namespaces: &[&str] = if root {
        &["--net"]
    } else {
        &["--user", "--map-root-user", "--net"]
    };
    let out = std::process::Command::new("unshare")
        .args(namespaces)
        .args(["sh", "-ec"])
        .arg(format!(
            "ip link set lo up; ip addr add {PUBLIC_IP}/32 dev lo; exec \"$0\" \"$@\""
        ))
        .arg(&exe)
        .args([
            "--exact",
            name,
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("CITEWATCH_TEST_NETNS", "1")
        .output()
        .expect("unshare (util-linux) and ip (iproute2) set up the network namespace");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "{name} in a network namespace:\n{text}"
    );
    assert!(text.contains("1 passed;"), "{name} did not run:\n{text}");
}

/// Refuses to go on unless this process is in the namespace `in_network_namespace` made: only
/// a loopback interface, so no packet can leave the machine whatever the checker does.
fn assert_isolated() {
    assert!(
        std::env::var_os("CITEWATCH_TEST_NETNS").is_some(),
        "run through in_network_namespace, not directly"
    );
    let dev = std::fs::read_to_string("/proc/net/dev").unwrap();
    let ifaces: Vec<&str> = dev
        .lines()
        .skip(2)
        .filter_map(|l| l.split(':').next())
        .map(str::trim)
        .collect();
    assert_eq!(ifaces, ["lo"], "not an isolated network namespace");
}

#[test]
fn a_redirect_to_a_private_address_is_refused_through_the_checker() {
    in_network_namespace("checker::netns_redirect_to_a_private_address");
}

#[test]
#[ignore = "runs inside a network namespace: a_redirect_to_a_private_address_is_refused_through_the_checker"]
fn netns_redirect_to_a_private_address() {
    assert_isolated();
    let inside = TestServer::start(Routes::new().at("/secret", |_| html("<p>internal</p>")));
    let q = inside.port;
    let public = TestServer::start_on(
        PUBLIC_IP,
        Routes::new()
            .at("/page", |_| html("<p>public page</p>"))
            .at("/to-loopback", move |_| {
                redirect(302, &format!("http://127.0.0.1:{q}/secret"))
            })
            .at("/to-ipv6-loopback", move |_| {
                redirect(302, &format!("http://[::1]:{q}/secret"))
            })
            .at("/to-internal-name", move |_| {
                redirect(302, &format!("http://internal.test:{q}/secret"))
            }),
    );
    let dns = StagedDns::default()
        .answer("public.test", &[ips(&[PUBLIC_IP])])
        .answer("internal.test", &[ips(&["127.0.0.1"])]);
    let at = |path: &str| format!("http://public.test:{}{path}", public.port);
    // The public first hop itself is fetched with the guard on.
    let f = check_staged(&guarded(), &dns, &at("/page"));
    assert_eq!(state(&f), State::Ok, "{:?}", f.outcome);
    for path in ["/to-loopback", "/to-ipv6-loopback", "/to-internal-name"] {
        let f = check_staged(&guarded(), &dns, &at(path));
        assert!(
            matches!(f.outcome, Err(Failure::PrivateAddress(_))),
            "{path}: {:?}",
            f.outcome
        );
        assert_eq!(f.hops.len(), 1, "{path}: the public hop was fetched");
        assert_eq!(f.hops[0].status, 302, "{path}");
        assert_eq!(state(&f), State::Skipped, "{path}");
        public.expect_hits(path, 1);
    }
    assert_eq!(
        dns.asked("internal.test"),
        1,
        "the name hop was refused after its lookup"
    );
    inside.expect_untouched();
}

#[test]
fn regression_dns_rebinding_a_name_that_turns_private_between_checks_is_refused() {
    in_network_namespace("checker::netns_rebinding_between_checks");
}

#[test]
#[ignore = "runs inside a network namespace: regression_dns_rebinding_a_name_that_turns_private_between_checks_is_refused"]
fn netns_rebinding_between_checks() {
    assert_isolated();
    // One port on both addresses, so only the address connected to decides who answers.
    let (public, inside) = (0..20)
        .find_map(|_| {
            let public =
                TestServer::start_on(PUBLIC_IP, Routes::new().at("/p", |_| html("<p>public</p>")));
            let inside = TestServer::start_at(
                "127.0.0.1",
                public.port,
                Routes::new().at("/p", |_| html("<p>internal</p>")),
            )
            .ok()?;
            Some((public, inside))
        })
        .expect("one free port on both addresses");
    let dns = StagedDns::default()
        // Public first, then private: the DNS-rebinding attack.
        .answer("rebind.test", &[ips(&[PUBLIC_IP]), ips(&["127.0.0.1"])])
        // A private address first among public ones: dropped, never tried.
        .answer("mixed.test", &[ips(&["127.0.0.1", PUBLIC_IP])]);
    let checker = Checker::with_lookup(&guarded(), dns.lookup()).unwrap();
    let rt = rt();
    let check = |name: &str| {
        let url = Url::parse(&format!("http://{name}:{}/p", public.port)).unwrap();
        rt.block_on(checker.check(&url))
    };
    let first = check("rebind.test");
    assert_eq!(state(&first), State::Ok, "{:?}", first.outcome);
    public.expect_hits("/p", 1);
    let second = check("rebind.test");
    assert!(
        matches!(second.outcome, Err(Failure::PrivateAddress(_))),
        "{:?}",
        second.outcome
    );
    assert_eq!(
        dns.asked("rebind.test"),
        2,
        "each check asked the DNS again"
    );
    let mixed = check("mixed.test");
    assert_eq!(state(&mixed), State::Ok, "{:?}", mixed.outcome);
    public.expect_hits("/p", 2);
    inside.expect_untouched();
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
    srv.expect_hits("/slow", 10);
    // The server counts a request in flight from its head to its answer, inside the client's
    // permit: never more than the client let through, however the machine is loaded.
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
    let before = Instant::now();
    rt().block_on(async {
        futures_util::future::join_all(urls.iter().map(|u| checker.check(u))).await
    });
    // Only a lower bound on the whole span: the fifth start is at least 4 intervals after the
    // first could begin, and the server can only see it later than that. Gaps between single
    // requests depend on scheduling and are left to the paused-clock test in politeness.rs.
    let last = srv.starts("/paced").into_iter().max().unwrap();
    assert!(
        last - before >= Duration::from_millis(400),
        "five paced starts within {:?}",
        last - before
    );
    for i in 0..5 {
        srv.expect_hits_with_query("/paced", &i.to_string(), 1);
    }
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
    // Paced hops would take at least 3 × 2 s: the bound below is that, so only pacing (not a
    // slow machine) can break it.
    c.per_host_interval = Duration::from_secs(2);
    let checker = Checker::new(&c).unwrap();
    let url = Url::parse(&srv.url("/hop1")).unwrap();
    let f = rt().block_on(checker.check(&url));
    assert_eq!(f.hops.len(), 3);
    assert_eq!(state(&f), State::Redirected);
    let (first, last) = (srv.starts("/hop1")[0], srv.starts("/end")[0]);
    assert!(
        last - first < Duration::from_secs(6),
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

/// Points every proxy variable at `proxy`, and removes the exemptions that could hide a proxy
/// that is used for loopback.
fn with_proxy_env(cmd: &mut assert_cmd::Command, proxy: &TestServer) {
    for var in [
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
    ] {
        cmd.env(var, proxy.url(""));
    }
    cmd.env_remove("NO_PROXY").env_remove("no_proxy");
}

#[test]
fn proxy_variables_are_ignored() {
    // A proxy from the environment would fetch private addresses past the guard: the binary
    // must not use one, whatever the variables say.
    let proxy = TestServer::start(Routes::new().fallback(|_| status(502)));
    let target = TestServer::start(Routes::new().at("/page", |_| html("<p>fetched directly</p>")));
    let blog = Blog::new();
    blog.config("soft_404_probe = false\n")
        .post("p.md", &format!("<{}>\n", target.url("/page")));
    let mut cmd = blog.cmd();
    with_proxy_env(&mut cmd, &proxy);
    cmd.arg("run").assert().success();
    target.expect_hits("/page", 1);
    proxy.expect_untouched();
    assert_eq!(blog.status()[0]["state"], "ok");
}

#[test]
fn proxy_variables_are_ignored_by_alerts_test() {
    // `alerts test` must reach sinks the way the daemon's deliveries do, or it reports on a
    // path the alerts never take.
    let proxy = TestServer::start(Routes::new().fallback(|_| status(502)));
    let hook = TestServer::start(Routes::new().at("/hook", |_| with_headers(200, &[], "ok")));
    let blog = Blog::new();
    blog.config(&format!(
        "[alerts]\nlog = false\n[[alerts.webhook]]\nurl = \"{}\"\n",
        hook.url("/hook")
    ));
    let mut cmd = blog.cmd();
    with_proxy_env(&mut cmd, &proxy);
    cmd.args(["alerts", "test"]).assert().success();
    hook.expect_hits("/hook", 1);
    proxy.expect_untouched();
}
