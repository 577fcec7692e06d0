//! The checker: the HTTP shell. Fetches one URL with GET, following redirects itself so the whole
//! chain is recorded, under one total timeout, with a capped streamed body, retries, politeness and
//! the private-address guard. A remote failure is a value ([`Failure`]); `Err` is only for our own
//! faults (the client could not be built).

use std::time::Duration;

use url::Url;

/// One redirect hop: the URL asked, the status it answered and where it pointed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hop {
    pub url: Url,
    pub status: u16,
    pub location: String,
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
