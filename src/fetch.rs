//! What one check saw: the values the HTTP shell ([`crate::checker`]) produces and the pure core
//! ([`crate::classify`], [`crate::snapshot`]) reads. A remote failure is a [`Failure`] value, never
//! an `Err`.

use std::time::Duration;

use url::Url;

/// One redirect hop: the URL asked, the status it answered and where it pointed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hop {
    pub url: Url,
    pub status: u16,
    pub location: String,
}

/// A redirect chain as recorded with a check: the one typed form every reader gets (`show`,
/// `history`, the dashboard, `fix`). The store keeps it as JSON `[{"url", "status",
/// "location"}]` in `checks.redirects`, written by [`Redirects::to_json`] and read by
/// [`Redirects::from_json`] alone; a damaged value reads as no chain.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Redirects(pub Vec<Hop>);

impl Redirects {
    /// The chain a check followed; none when it followed no redirect.
    pub fn of(hops: &[Hop]) -> Option<Redirects> {
        (!hops.is_empty()).then(|| Redirects(hops.to_vec()))
    }

    pub fn hops(&self) -> &[Hop] {
        &self.0
    }

    /// The JSON array (`history --format json`, the dashboard's JSON).
    pub fn to_value(&self) -> serde_json::Value {
        serde_json::Value::Array(
            self.0
                .iter()
                .map(|h| {
                    serde_json::json!({"url": h.url.as_str(), "status": h.status, "location": h.location})
                })
                .collect(),
        )
    }

    /// As stored.
    pub fn to_json(&self) -> String {
        self.to_value().to_string()
    }

    /// A stored chain; none when the value is damaged (not an array of hops with a URL and a
    /// status).
    pub fn from_json(s: &str) -> Option<Redirects> {
        let v: Vec<serde_json::Value> = serde_json::from_str(s).ok()?;
        let hops = v
            .iter()
            .map(|h| {
                Some(Hop {
                    url: Url::parse(h.get("url")?.as_str()?).ok()?,
                    status: u16::try_from(h.get("status")?.as_u64()?).ok()?,
                    location: h
                        .get("location")
                        .and_then(|l| l.as_str())
                        .unwrap_or("")
                        .to_string(),
                })
            })
            .collect::<Option<Vec<Hop>>>()?;
        Redirects::of(&hops)
    }
}

/// The final (non-redirect) response.
#[derive(Debug, Clone)]
pub struct Response {
    /// The URL that answered (after redirects).
    pub url: Url,
    pub status: u16,
    /// Header names lowercased, in the order received.
    pub headers: Vec<(String, String)>,
    /// The body after decompression, at most `max_body` bytes.
    pub body: Vec<u8>,
    /// The body was longer than `max_body` and was cut.
    pub truncated: bool,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Why no final response was had. Remote failures are data, not errors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The name does not resolve (NXDOMAIN or no addresses).
    NoSuchHost(String),
    /// The address is loopback, private, link-local, ... and `allow_private` is off.
    PrivateAddress(String),
    Timeout,
    /// This machine could not reach the network: no route, or no DNS answer at all. Says
    /// nothing about the site.
    Unreachable(String),
    ConnectionRefused(String),
    ConnectionReset(String),
    Tls(String),
    /// A redirect chain came back to a URL already visited.
    RedirectLoop,
    TooManyRedirects(u32),
    /// A redirect without a usable `Location`, or to a non-HTTP scheme.
    BadRedirect(String),
    /// The URL cannot be fetched as written.
    InvalidUrl(String),
    /// Anything else on the wire.
    Other(String),
    /// citewatch itself failed while checking or judging this link (a bug): the link is `error`
    /// and the run goes on.
    Internal(String),
}

/// Everything one check saw.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// The URL asked for.
    pub url: Url,
    pub hops: Vec<Hop>,
    pub outcome: Result<Response, Failure>,
    pub elapsed: Duration,
    /// Attempts made (1 when the first one settled it).
    pub attempts: u32,
}

impl Fetched {
    /// A stored link that no longer parses as a URL.
    pub fn invalid(url: &str, reason: String) -> Fetched {
        Fetched {
            url: Url::parse("invalid:")
                .unwrap_or_else(|_| Url::parse("data:,").expect("constant URL")),
            hops: Vec::new(),
            outcome: Err(Failure::InvalidUrl(format!("{url}: {reason}"))),
            elapsed: Duration::ZERO,
            attempts: 0,
        }
    }

    /// A check that citewatch itself could not finish (a panic while fetching or judging).
    pub fn internal(url: &Url, what: String) -> Fetched {
        Fetched {
            url: url.clone(),
            hops: Vec::new(),
            outcome: Err(Failure::Internal(what)),
            elapsed: Duration::ZERO,
            attempts: 0,
        }
    }

    /// Why no HTTP answer came at all, if none did (for outage detection).
    pub fn network_failure(&self) -> Option<NetworkFailure> {
        match &self.outcome {
            Err(Failure::Unreachable(_)) => Some(NetworkFailure::Local),
            Err(
                Failure::Timeout
                | Failure::ConnectionRefused(_)
                | Failure::ConnectionReset(_)
                | Failure::NoSuchHost(_)
                | Failure::Other(_),
            ) => Some(NetworkFailure::Remote),
            _ => None,
        }
    }

    /// The check got no HTTP answer at all.
    pub fn is_network_failure(&self) -> bool {
        self.network_failure().is_some()
    }
}

/// A check that got no HTTP answer, by where the fault most likely is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NetworkFailure {
    /// This machine could not reach the network at all (no route, no DNS answer).
    Local,
    /// The site's side (refused, reset, no such host, timed out), or a whole network that
    /// answers every name with "no such host" because it is cut off: only many such failures
    /// across sites say which.
    Remote,
}

impl NetworkFailure {
    pub fn as_str(self) -> &'static str {
        match self {
            NetworkFailure::Local => "local",
            NetworkFailure::Remote => "remote",
        }
    }

    pub fn parse(s: &str) -> Option<NetworkFailure> {
        match s {
            "local" => Some(NetworkFailure::Local),
            "remote" => Some(NetworkFailure::Remote),
            _ => None,
        }
    }
}

impl Failure {
    /// A short text for people.
    pub fn describe(&self) -> String {
        match self {
            Failure::NoSuchHost(h) => format!("no such host: {h}"),
            Failure::PrivateAddress(r) => {
                format!("{r}; not fetched (set check.allow_private = true to check it)")
            }
            Failure::Timeout => "timed out".into(),
            Failure::Unreachable(m) => format!("network unreachable: {m}"),
            Failure::ConnectionRefused(m) => format!("connection refused: {m}"),
            Failure::ConnectionReset(m) => format!("connection reset: {m}"),
            Failure::Tls(m) => format!("TLS failure: {m}"),
            Failure::RedirectLoop => "redirect loop".into(),
            Failure::TooManyRedirects(n) => format!("more than {n} redirects"),
            Failure::BadRedirect(m) => format!("bad redirect: {m}"),
            Failure::InvalidUrl(m) => format!("invalid URL: {m}"),
            Failure::Other(m) => m.clone(),
            Failure::Internal(m) => {
                format!("internal error (a bug in citewatch; please report it): {m}")
            }
        }
    }
}

#[cfg(test)]
mod redirects_tests {
    use super::*;

    #[test]
    fn a_chain_round_trips_and_a_damaged_one_reads_as_none() {
        let hops = vec![
            Hop {
                url: Url::parse("http://a.example/x").unwrap(),
                status: 301,
                location: "https://a.example/x".into(),
            },
            Hop {
                url: Url::parse("https://a.example/x").unwrap(),
                status: 302,
                location: "/y".into(),
            },
        ];
        let chain = Redirects::of(&hops).unwrap();
        assert_eq!(Redirects::from_json(&chain.to_json()), Some(chain));
        assert_eq!(Redirects::of(&[]), None);
        for damaged in [
            "not json",
            "{}",
            "[{\"url\": 1}]",
            "[{\"url\": \"x\", \"status\": 301}]",
            "[{\"url\": \"http://a/\", \"status\": 70000}]",
            "[]",
        ] {
            assert_eq!(Redirects::from_json(damaged), None, "{damaged}");
        }
        // A hop written without a location (older rows) still reads.
        let r = Redirects::from_json(r#"[{"url": "http://a/", "status": 308}]"#).unwrap();
        assert_eq!(r.hops()[0].location, "");
    }
}
