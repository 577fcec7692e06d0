//! The Wayback Machine: the closest archived copy of a dead, changed or soft-404 link, near the
//! date it was cited, through the availability API (`?url=…&timestamp=…`). The endpoint is
//! configurable (tests use a local mock); answers are cached in the store.
//!
//! Parsing the answer is pure; the look-up is a thin HTTP shell with a timeout and a size cap.

use std::time::Duration;

use url::Url;

/// The most of an availability answer that is read.
const MAX_ANSWER: usize = 256 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum WaybackError {
    #[error("wayback look-up of {url}: {message}")]
    Lookup {
        url: String,
        message: String,
        /// No connection could be made (the name does not resolve, the connection is refused
        /// or does not open in time): the archive cannot be reached from here now, whatever is
        /// asked of it.
        unreachable: bool,
    },
}

impl WaybackError {
    /// Whether the archive could not be reached at all (see `Lookup::unreachable`).
    pub fn is_unreachable(&self) -> bool {
        match self {
            WaybackError::Lookup { unreachable, .. } => *unreachable,
        }
    }
}

/// The closest archived copy: its URL and its 14-digit timestamp.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Closest {
    pub url: String,
    pub timestamp: String,
}

/// Reads an availability API answer: `{"archived_snapshots": {"closest": {"available": true,
/// "url": …, "timestamp": …, "status": "200"}}}`. Copies that were not a 200 are not offered.
pub fn parse_availability(body: &[u8]) -> Option<Closest> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    let c = v.get("archived_snapshots")?.get("closest")?;
    if c.get("available").and_then(|a| a.as_bool()) == Some(false) {
        return None;
    }
    if let Some(s) = c.get("status").and_then(|s| s.as_str()) {
        if !s.starts_with('2') {
            return None;
        }
    }
    let url = c.get("url")?.as_str()?;
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return None;
    }
    Some(Closest {
        url: url.replacen("http://web.archive.org/", "https://web.archive.org/", 1),
        timestamp: c
            .get("timestamp")
            .and_then(|t| t.as_str())
            .unwrap_or("")
            .to_string(),
    })
}

/// A Wayback timestamp (`YYYYMMDDhhmmss`, or a prefix) from an RFC 3339 time or a date.
pub fn timestamp_of(date: &str) -> String {
    date.chars()
        .filter(|c| c.is_ascii_digit())
        .take(14)
        .collect()
}

/// A request error with its causes ("error sending request: dns error: …"), without the URL.
fn describe(e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut out = e.to_string();
    let mut src = std::error::Error::source(&e);
    while let Some(s) = src {
        let t = s.to_string();
        if !out.contains(&t) {
            out.push_str(": ");
            out.push_str(&t);
        }
        src = s.source();
    }
    out
}

/// Looks up copies through one endpoint.
pub struct Wayback {
    client: reqwest::Client,
    endpoint: Url,
}

impl Wayback {
    /// A client whose every look-up ends within `timeout`.
    pub fn new(
        endpoint: Url,
        user_agent: &str,
        timeout: Duration,
    ) -> Result<Wayback, WaybackError> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            // The archive is public: a proxy from the environment is not needed and not wanted.
            .no_proxy()
            .user_agent(user_agent.to_string())
            .build()
            .map_err(|e| WaybackError::Lookup {
                url: endpoint.to_string(),
                message: e.to_string(),
                unreachable: false,
            })?;
        Ok(Wayback { client, endpoint })
    }

    /// The copy closest to `timestamp`, or `None` when the archive has none.
    pub async fn closest(
        &self,
        url: &str,
        timestamp: &str,
    ) -> Result<Option<Closest>, WaybackError> {
        let err = |message: String| WaybackError::Lookup {
            url: url.to_string(),
            message,
            unreachable: false,
        };
        let mut q = self.endpoint.clone();
        q.query_pairs_mut()
            .append_pair("url", url)
            .append_pair("timestamp", timestamp);
        let mut resp = self
            .client
            .get(q)
            .send()
            .await
            .map_err(|e| WaybackError::Lookup {
                url: url.to_string(),
                unreachable: e.is_connect(),
                message: describe(e),
            })?;
        if !resp.status().is_success() {
            return Err(err(format!("answered HTTP {}", resp.status().as_u16())));
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| err(describe(e)))? {
            body.extend_from_slice(&chunk);
            if body.len() > MAX_ANSWER {
                return Err(err("answer too large".into()));
            }
        }
        Ok(parse_availability(&body))
    }
}

impl Wayback {
    /// Asks Save Page Now to archive `url`: a GET of `endpoint` with the URL appended, as the
    /// public endpoint takes it. Returns a short outcome for the record.
    pub async fn save_page_now(&self, endpoint: &Url, url: &str) -> String {
        let target = format!("{}{}", endpoint.as_str(), url);
        match self.client.get(&target).send().await {
            Ok(r) => format!("HTTP {}", r.status().as_u16()),
            Err(e) => e.without_url().to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_availability_answer() {
        let a = br#"{"url":"example.com","archived_snapshots":{"closest":{"status":"200","available":true,"url":"http://web.archive.org/web/20130919044612/http://example.com/","timestamp":"20130919044612"}}}"#;
        assert_eq!(
            parse_availability(a),
            Some(Closest {
                url: "https://web.archive.org/web/20130919044612/http://example.com/".into(),
                timestamp: "20130919044612".into()
            })
        );
        assert_eq!(parse_availability(br#"{"archived_snapshots":{}}"#), None);
        assert_eq!(parse_availability(br#"{"archived_snapshots":{"closest":{"status":"404","available":true,"url":"http://x/"}}}"#), None);
        assert_eq!(parse_availability(b"not json"), None);
        assert_eq!(timestamp_of("2019-03-25T09:12:34Z"), "20190325091234");
        assert_eq!(timestamp_of("2019-03-25"), "20190325");
    }
}
