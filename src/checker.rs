//! The checker: the HTTP shell. Fetches one URL with GET, following redirects itself so the whole
//! chain is recorded, under one total timeout, with a capped streamed body, retries, politeness and
//! the private-address guard. A remote failure is a value ([`Failure`]); `Err` is only for our own
//! faults (the client could not be built).

use std::collections::HashSet;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use url::Url;

use crate::config::CheckConfig;
use crate::politeness::Politeness;

pub use crate::fetch::{Failure, Fetched, Hop, Response};

/// Our own faults: the HTTP client could not be built.
#[derive(Debug, thiserror::Error)]
pub enum CheckerError {
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
}

/// The resolver's refusal of a private address, found again in reqwest's error chain.
#[derive(Debug, thiserror::Error)]
#[error("{host} resolves only to refused addresses ({reason})")]
struct RefusedAddress {
    host: String,
    reason: &'static str,
}

/// The resolver's failure to find a name, found again in reqwest's error chain.
#[derive(Debug, thiserror::Error)]
#[error("cannot resolve {host}: {message}")]
struct NoSuchName {
    host: String,
    message: String,
}

/// How names become addresses: the system resolver, or a fixed answer in tests (a name that
/// "rebinds" to a private address cannot be staged on loopback otherwise).
pub type Lookup = Arc<
    dyn Fn(String) -> futures_util::future::BoxFuture<'static, std::io::Result<Vec<SocketAddr>>>
        + Send
        + Sync,
>;

/// The system resolver.
pub fn system_lookup() -> Lookup {
    Arc::new(|host: String| {
        Box::pin(async move { Ok(tokio::net::lookup_host((host, 0u16)).await?.collect()) })
    })
}

/// Whether a lookup error is EAI_AGAIN ("the name server could not answer now"), as glibc
/// ("Temporary failure in name resolution") and musl ("Try again") spell it: std gives only the
/// text of `gai_strerror`.
fn is_temporary_dns_failure(e: &std::io::Error) -> bool {
    let text = e.to_string().to_ascii_lowercase();
    text.contains("temporary failure") || text.contains("try again")
}

/// The resolver could not answer now (EAI_AGAIN): no verdict on the name, and a sign that this
/// machine, not the site, is offline.
#[derive(Debug, thiserror::Error)]
#[error("temporary DNS failure for {host}")]
struct DnsUnavailable {
    host: String,
}

/// Resolves names and drops forbidden addresses: the address filtered here is the one connected
/// to, so a DNS answer that changes between checks (rebinding) cannot sneak a private address past
/// the guard.
struct GuardedResolver {
    allow_private: bool,
    lookup: Lookup,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow_private = self.allow_private;
        let host = name.as_str().to_string();
        let looked_up = (self.lookup)(host.clone());
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = match looked_up.await {
                Ok(a) => a,
                Err(e) if is_temporary_dns_failure(&e) => {
                    return Err(Box::new(DnsUnavailable { host }) as BoxError)
                }
                Err(e) => {
                    return Err(Box::new(NoSuchName {
                        host,
                        message: e.to_string(),
                    }) as BoxError)
                }
            };
            guard_addresses(&host, addrs, allow_private)
                .map(|a| Box::new(a.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// The addresses of `host` that may be connected to; an error when none may.
fn guard_addresses(
    host: &str,
    addrs: Vec<SocketAddr>,
    allow_private: bool,
) -> Result<Vec<SocketAddr>, BoxError> {
    if addrs.is_empty() {
        return Err(Box::new(NoSuchName {
            host: host.to_string(),
            message: "no addresses".into(),
        }));
    }
    if allow_private {
        return Ok(addrs);
    }
    let mut refused = None;
    let allowed: Vec<SocketAddr> = addrs
        .into_iter()
        .filter(|a| match crate::guard::forbidden_reason(a.ip()) {
            Some(r) => {
                refused = Some(r);
                false
            }
            None => true,
        })
        .collect();
    if allowed.is_empty() {
        return Err(Box::new(RefusedAddress {
            host: host.to_string(),
            reason: refused.unwrap_or("refused address"),
        }));
    }
    Ok(allowed)
}

/// The per-hop guard for IP-literal hosts (names are guarded in the resolver).
pub fn hop_guard(url: &Url, allow_private: bool) -> Result<(), Failure> {
    if allow_private {
        return Ok(());
    }
    let ip: Option<IpAddr> = match url.host() {
        Some(url::Host::Ipv4(v4)) => Some(IpAddr::V4(v4)),
        Some(url::Host::Ipv6(v6)) => Some(IpAddr::V6(v6)),
        _ => None,
    };
    if let Some(ip) = ip {
        if let Some(reason) = crate::guard::forbidden_reason(ip) {
            return Err(Failure::PrivateAddress(format!("{ip} is a {reason}")));
        }
    }
    if url
        .host_str()
        .is_some_and(|h| h.eq_ignore_ascii_case("localhost") || h.ends_with(".localhost"))
    {
        return Err(Failure::PrivateAddress(
            "localhost is a loopback address".into(),
        ));
    }
    Ok(())
}

struct Inner {
    client: reqwest::Client,
    cfg: CheckConfig,
    global: Arc<Semaphore>,
    polite: Politeness,
}

/// Fetches links. Cheap to clone; one per run or daemon.
#[derive(Clone)]
pub struct Checker {
    inner: Arc<Inner>,
}

/// The first wait before a retry; doubled each time, plus jitter.
const BACKOFF_BASE: Duration = Duration::from_millis(250);

/// How one request ended.
enum Step {
    Redirect { status: u16, location: String },
    Final(Response),
}

impl Checker {
    pub fn new(cfg: &CheckConfig) -> Result<Checker, CheckerError> {
        Checker::with_lookup(cfg, system_lookup())
    }

    /// A checker whose names resolve through `lookup` (tests stage DNS answers with it); every
    /// answer still passes the private-address guard.
    pub fn with_lookup(cfg: &CheckConfig, lookup: Lookup) -> Result<Checker, CheckerError> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .retry(reqwest::retry::never())
            .user_agent(cfg.user_agent.clone())
            .dns_resolver(Arc::new(GuardedResolver {
                allow_private: cfg.allow_private,
                lookup,
            }))
            .connect_timeout(cfg.timeout)
            .pool_idle_timeout(Duration::from_secs(30))
            .pool_max_idle_per_host(cfg.per_host_concurrency.max(1))
            .tcp_nodelay(true)
            // Proxies from the environment would bypass the address guard.
            .no_proxy()
            .build()
            .map_err(|e| CheckerError::Client(e.to_string()))?;
        Ok(Checker {
            inner: Arc::new(Inner {
                client,
                cfg: cfg.clone(),
                global: Arc::new(Semaphore::new(cfg.concurrency.max(1))),
                polite: Politeness::new(cfg.per_host_concurrency, cfg.per_host_interval),
            }),
        })
    }

    /// Checks one URL: retries, redirects, body. Never fails: what went wrong is in the result.
    pub async fn check(&self, url: &Url) -> Fetched {
        let never = CancellationToken::new();
        match self.check_unless(url, &never).await {
            Some(f) => f,
            None => Fetched::invalid(url.as_str(), "check cancelled".into()),
        }
    }

    /// Checks one URL unless `stop` is cancelled before its first request goes out (then `None`:
    /// nothing was asked). A check already under way finishes its redirect chain; a retry it was
    /// waiting for is given up and the last answer kept.
    pub async fn check_unless(&self, url: &Url, stop: &CancellationToken) -> Option<Fetched> {
        let start = Instant::now();
        let _global = self.inner.global.acquire().await.ok();
        if stop.is_cancelled() {
            return None;
        }
        let cfg = &self.inner.cfg;
        let mut attempts = 0u32;
        loop {
            attempts += 1;
            let first = (attempts == 1).then_some(stop);
            let (hops, outcome) = self.attempt(url, first).await?;
            let wait = match &outcome {
                Ok(r) if r.status == 429 || r.status == 503 => Some(
                    retry_after(r)
                        .map(|d| d.min(cfg.retry_after_cap))
                        .unwrap_or_else(|| backoff(attempts)),
                ),
                Ok(r) if (500..600).contains(&r.status) => Some(backoff(attempts)),
                Err(
                    Failure::Timeout
                    | Failure::ConnectionReset(_)
                    | Failure::ConnectionRefused(_)
                    | Failure::Unreachable(_)
                    | Failure::Other(_),
                ) => Some(backoff(attempts)),
                _ => None,
            };
            let done = Fetched {
                url: url.clone(),
                hops,
                outcome,
                elapsed: start.elapsed(),
                attempts,
            };
            match wait {
                Some(d) if attempts <= cfg.retries => {
                    tokio::select! {
                        _ = tokio::time::sleep(d) => {}
                        _ = stop.cancelled() => return Some(done),
                    }
                }
                _ => return Some(done),
            }
        }
    }

    /// One attempt: follows the redirect chain. With `stop`, nothing is sent (and `None` comes
    /// back) when it is cancelled by the time the first request may start.
    async fn attempt(
        &self,
        url: &Url,
        stop: Option<&CancellationToken>,
    ) -> Option<(Vec<Hop>, Result<Response, Failure>)> {
        let cfg = &self.inner.cfg;
        let mut hops = Vec::new();
        let mut visited = HashSet::new();
        let mut cookies: Vec<(String, String, String)> = Vec::new(); // (host, name, value)
        let mut cur = url.clone();
        // The host permit is kept while the chain stays on one host: a check is one visit, and
        // its redirect hops are not paced again (as browsers and lychee do); a hop to another
        // host waits for that host's turn.
        let mut permit: Option<(String, crate::politeness::HostPermit)> = None;
        loop {
            // A URL seen again is a loop, unless the site set a cookie since: that is a cookie
            // wall redirecting to itself, which a browser passes.
            let jar_state: String = cookies
                .iter()
                .map(|(h, n, v)| format!("{h}\t{n}\t{v}\n"))
                .collect();
            if !visited.insert((cur.to_string(), jar_state)) {
                return Some((hops, Err(Failure::RedirectLoop)));
            }
            if let Err(f) = hop_guard(&cur, cfg.allow_private) {
                return Some((hops, Err(f)));
            }
            let host = cur.host_str().unwrap_or("").to_ascii_lowercase();
            let key = format!("{host}:{}", cur.port_or_known_default().unwrap_or(0));
            if permit.as_ref().is_none_or(|(held, _)| *held != key) {
                // Let go of the old host first: two chains crossing between two hosts in
                // opposite directions must not wait on each other.
                drop(permit.take());
                let acquire = self.inner.polite.acquire(&key);
                let held = match stop.filter(|_| hops.is_empty()) {
                    // Before the first request, a stop ends the wait for the host's turn: a
                    // queue of checks to one host would otherwise drain one pacing interval
                    // at a time before the service could exit.
                    Some(stop) => tokio::select! {
                        p = acquire => p,
                        _ = stop.cancelled() => return None,
                    },
                    None => acquire.await,
                };
                permit = Some((key.clone(), held));
            }
            if hops.is_empty() && stop.is_some_and(CancellationToken::is_cancelled) {
                return None;
            }
            let cookie_header: String = cookies
                .iter()
                .filter(|(h, _, _)| *h == host)
                .map(|(_, n, v)| format!("{n}={v}"))
                .collect::<Vec<_>>()
                .join("; ");
            let step = tokio::time::timeout(
                cfg.timeout,
                self.request(&cur, &cookie_header, &host, &mut cookies),
            )
            .await;
            match step {
                Err(_) => return Some((hops, Err(Failure::Timeout))),
                Ok(Err(f)) => return Some((hops, Err(f))),
                Ok(Ok(Step::Final(r))) => return Some((hops, Ok(r))),
                Ok(Ok(Step::Redirect { status, location })) => {
                    hops.push(Hop {
                        url: cur.clone(),
                        status,
                        location: location.clone(),
                    });
                    if hops.len() as u32 > cfg.max_redirects {
                        return Some((hops, Err(Failure::TooManyRedirects(cfg.max_redirects))));
                    }
                    let next = match cur.join(location.trim()) {
                        Ok(n) => n,
                        Err(e) => {
                            return Some((
                                hops,
                                Err(Failure::BadRedirect(format!("Location {location:?}: {e}"))),
                            ))
                        }
                    };
                    if !matches!(next.scheme(), "http" | "https") {
                        return Some((
                            hops,
                            Err(Failure::BadRedirect(format!("to a {} URL", next.scheme()))),
                        ));
                    }
                    let mut next = next;
                    next.set_fragment(None);
                    cur = next;
                }
            }
        }
    }

    /// One HTTP request, body included (for final answers).
    async fn request(
        &self,
        url: &Url,
        cookie_header: &str,
        host: &str,
        jar: &mut Vec<(String, String, String)>,
    ) -> Result<Step, Failure> {
        let cfg = &self.inner.cfg;
        let mut req = self
            .inner
            .client
            .get(url.clone())
            .header(
                reqwest::header::ACCEPT,
                "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
            )
            .header(reqwest::header::ACCEPT_LANGUAGE, "en;q=0.9, *;q=0.5");
        if !cookie_header.is_empty() {
            req = req.header(reqwest::header::COOKIE, cookie_header);
        }
        let mut resp = req.send().await.map_err(failure_of)?;
        let status = resp.status().as_u16();
        for v in resp.headers().get_all(reqwest::header::SET_COOKIE) {
            if let Some((name, value)) = v
                .to_str()
                .ok()
                .and_then(|s| s.split(';').next())
                .and_then(|nv| nv.split_once('='))
            {
                let name = name.trim().to_string();
                jar.retain(|(h, n, _)| !(h == host && *n == name));
                jar.push((host.to_string(), name, value.trim().to_string()));
            }
        }
        if matches!(status, 301 | 302 | 303 | 307 | 308) {
            if let Some(loc) = resp.headers().get(reqwest::header::LOCATION) {
                let location = String::from_utf8_lossy(loc.as_bytes()).into_owned();
                return Ok(Step::Redirect { status, location });
            }
        }
        let headers: Vec<(String, String)> = resp
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let cap = cfg.max_body as usize;
        let mut body = Vec::new();
        let mut truncated = false;
        loop {
            match resp.chunk().await {
                Ok(Some(chunk)) => {
                    let room = cap - body.len();
                    if chunk.len() > room {
                        body.extend_from_slice(&chunk[..room]);
                        truncated = true;
                        break;
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                // A body cut off mid-way: keep what came, as a truncated answer.
                Err(e) if !body.is_empty() => {
                    tracing::debug!("body of {url} ended early: {e}");
                    truncated = true;
                    break;
                }
                Err(e) => return Err(failure_of(e)),
            }
        }
        Ok(Step::Final(Response {
            url: url.clone(),
            status,
            headers,
            body,
            truncated,
        }))
    }
}

fn backoff(attempt: u32) -> Duration {
    let exp = BACKOFF_BASE.saturating_mul(1u32 << attempt.saturating_sub(1).min(6));
    let jitter = rand::random::<f64>() * 0.5 + 0.75;
    exp.mul_f64(jitter)
}

/// `Retry-After` as seconds or an HTTP date (RFC 9110 §10.2.3).
fn retry_after(r: &Response) -> Option<Duration> {
    let v = r.header("retry-after")?.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let date = chrono::DateTime::parse_from_rfc2822(v).ok()?;
    let date_hdr = r
        .header("date")
        .and_then(|d| chrono::DateTime::parse_from_rfc2822(d).ok());
    // Relative to the server's own clock when it sent one: ours is not consulted.
    let base = date_hdr?;
    (date - base).to_std().ok()
}

/// Maps a reqwest error to what happened on the wire.
fn failure_of(e: reqwest::Error) -> Failure {
    let mut src: Option<&(dyn std::error::Error + 'static)> = Some(&e);
    let mut text = Vec::new();
    while let Some(s) = src {
        if let Some(r) = s.downcast_ref::<RefusedAddress>() {
            return Failure::PrivateAddress(r.to_string());
        }
        if let Some(n) = s.downcast_ref::<NoSuchName>() {
            return Failure::NoSuchHost(n.host.clone());
        }
        if let Some(d) = s.downcast_ref::<DnsUnavailable>() {
            return Failure::Unreachable(d.to_string());
        }
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            match io.kind() {
                std::io::ErrorKind::ConnectionRefused => {
                    return Failure::ConnectionRefused(io.to_string())
                }
                std::io::ErrorKind::ConnectionReset
                | std::io::ErrorKind::ConnectionAborted
                | std::io::ErrorKind::BrokenPipe => {
                    return Failure::ConnectionReset(io.to_string())
                }
                std::io::ErrorKind::TimedOut => return Failure::Timeout,
                std::io::ErrorKind::NetworkUnreachable | std::io::ErrorKind::HostUnreachable => {
                    return Failure::Unreachable(io.to_string())
                }
                _ => {}
            }
        }
        text.push(s.to_string());
        src = s.source();
    }
    if e.is_timeout() {
        return Failure::Timeout;
    }
    let all = text.join(": ").to_ascii_lowercase();
    if all.contains("certificate") || all.contains("tls") || all.contains("handshake") {
        return Failure::Tls(text.last().cloned().unwrap_or_default());
    }
    if all.contains("connection closed")
        || all.contains("reset")
        || all.contains("incomplete message")
    {
        return Failure::ConnectionReset(text.last().cloned().unwrap_or_default());
    }
    Failure::Other(text.last().cloned().unwrap_or_else(|| e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(headers: &[(&str, &str)]) -> Response {
        Response {
            url: Url::parse("http://example.org/").unwrap(),
            status: 429,
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            body: Vec::new(),
            truncated: false,
        }
    }

    /// The un-jittered wait before retry `attempt`.
    fn nominal(attempt: u32) -> Duration {
        BACKOFF_BASE * 2u32.pow(attempt.saturating_sub(1).min(6))
    }

    /// A stop ends a check still waiting for its host's turn: a queue of checks to one host
    /// must not drain one pacing interval at a time before the service can exit.
    #[tokio::test]
    async fn a_stop_ends_the_wait_for_the_hosts_turn() {
        let checker = Checker::new(&CheckConfig {
            per_host_concurrency: 1,
            per_host_interval: Duration::from_secs(3600),
            allow_private: true,
            ..CheckConfig::default()
        })
        .unwrap();
        // A request to this host has just started: the next may start in an hour.
        drop(checker.inner.polite.acquire("127.0.0.1:9").await);
        let stop = CancellationToken::new();
        let url = Url::parse("http://127.0.0.1:9/").unwrap();
        let check = checker.check_unless(&url, &stop);
        tokio::pin!(check);
        // Polled until it waits for the host's turn.
        assert!(
            tokio::time::timeout(Duration::from_millis(200), &mut check)
                .await
                .is_err(),
            "the check waits for the host's turn"
        );
        stop.cancel();
        let ended = tokio::time::timeout(Duration::from_secs(10), check).await;
        assert!(
            matches!(ended, Ok(None)),
            "a stop ends the wait and nothing is asked"
        );
    }

    #[test]
    fn backoff_doubles_within_its_jitter_and_is_capped() {
        for attempt in 1..=12 {
            let waits: Vec<Duration> = (0..500).map(|_| backoff(attempt)).collect();
            let (lo, hi) = (
                nominal(attempt).mul_f64(0.75),
                nominal(attempt).mul_f64(1.25),
            );
            for w in &waits {
                assert!(
                    *w >= lo && *w <= hi,
                    "attempt {attempt}: {w:?} not in {lo:?}..{hi:?}"
                );
            }
            // Jittered: 500 draws are not all the same wait.
            let (min, max) = (waits.iter().min().unwrap(), waits.iter().max().unwrap());
            assert!(
                *max - *min > nominal(attempt) / 10,
                "attempt {attempt}: {min:?}..{max:?}"
            );
        }
        assert_eq!(nominal(1), Duration::from_millis(250));
        assert_eq!(nominal(2), Duration::from_millis(500));
        assert_eq!(nominal(3), Duration::from_secs(1));
        // Capped at 2^6 × 250 ms = 16 s (20 s with jitter), however many attempts.
        assert_eq!(nominal(7), Duration::from_secs(16));
        assert_eq!(nominal(100), Duration::from_secs(16));
        assert!((0..500).all(|_| backoff(u32::MAX) <= Duration::from_secs(20)));
        // Exponential: the jitter ranges of consecutive attempts do not overlap
        // (0.75 × 2 > 1.25), so every wait is longer than every wait of the attempt before.
        for attempt in 1..7 {
            let longest = (0..200).map(|_| backoff(attempt)).max().unwrap();
            let shortest = (0..200).map(|_| backoff(attempt + 1)).min().unwrap();
            assert!(
                shortest > longest,
                "attempt {attempt}: {longest:?} vs {shortest:?}"
            );
        }
    }

    #[test]
    fn retry_after_in_seconds() {
        assert_eq!(
            retry_after(&answer(&[("retry-after", "120")])),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            retry_after(&answer(&[("Retry-After", " 0 ")])),
            Some(Duration::ZERO)
        );
        // Uncapped here; `check` caps it with `retry_after_cap`.
        assert_eq!(
            retry_after(&answer(&[("retry-after", "86400")])),
            Some(Duration::from_secs(86400))
        );
        assert_eq!(retry_after(&answer(&[])), None);
        for junk in ["soon", "-5", "1.5", ""] {
            assert_eq!(
                retry_after(&answer(&[("retry-after", junk)])),
                None,
                "{junk:?}"
            );
        }
    }

    #[test]
    fn retry_after_as_an_http_date_counts_from_the_servers_date() {
        let date = ("date", "Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(
            retry_after(&answer(&[
                date,
                ("retry-after", "Sun, 06 Nov 1994 08:51:37 GMT")
            ])),
            Some(Duration::from_secs(120))
        );
        // A date already past by the server's clock: no wait asked for.
        let past = retry_after(&answer(&[
            date,
            ("retry-after", "Sun, 06 Nov 1994 08:49:00 GMT"),
        ]));
        assert!(past.is_none_or(|d| d.is_zero()), "{past:?}");
        // Without the server's Date our clock would have to be trusted to agree with theirs: no
        // wait is derived from it (the caller backs off instead).
        assert_eq!(
            retry_after(&answer(&[("retry-after", "Sun, 06 Nov 1994 08:51:37 GMT")])),
            None
        );
        assert_eq!(
            retry_after(&answer(&[date, ("retry-after", "next tuesday")])),
            None
        );
    }

    #[test]
    fn temporary_dns_failures_are_known_in_glibc_and_musl_wording() {
        let e = |m: &str| std::io::Error::other(m.to_string());
        assert!(is_temporary_dns_failure(&e(
            "failed to lookup address information: Temporary failure in name resolution"
        )));
        assert!(is_temporary_dns_failure(&e(
            "failed to lookup address information: Try again"
        )));
        assert!(!is_temporary_dns_failure(&e(
            "failed to lookup address information: Name or service not known"
        )));
    }
}
