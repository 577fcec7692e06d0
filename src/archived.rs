//! Archived copies: Wayback Machine URLs (`https://web.archive.org/web/<timestamp>[flag_]/<url>`)
//! read and made. A citation that points to one cites a fixed page, not a live one: the scan
//! gives it a verdict without the network. Pure.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

/// Hosts that serve Wayback Machine copies.
const HOSTS: [&str; 2] = ["web.archive.org", "wayback.archive.org"];

/// A Wayback Machine copy, as its URL says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchivedCopy<'a> {
    /// The capture's timestamp: 4 to 14 digits (`YYYYMMDDhhmmss` or a prefix).
    pub timestamp: &'a str,
    /// A replay flag such as `im_` (the raw image) or `id_` (the raw bytes), or "".
    pub flag: &'a str,
    /// The archived URL, as the copy's URL holds it.
    pub original: &'a str,
}

impl ArchivedCopy<'_> {
    /// The capture's date, when its timestamp names one.
    pub fn date(&self) -> Option<NaiveDate> {
        time_of(self.timestamp).map(|t| t.date_naive())
    }
}

/// The copy a URL points to, when it is a Wayback Machine copy of one capture (not a listing such
/// as `/web/*/…`).
pub fn parse(url: &str) -> Option<ArchivedCopy<'_>> {
    let rest = strip_prefix_ignore_case(url, "https://")
        .or_else(|| strip_prefix_ignore_case(url, "http://"))?;
    let slash = rest.find('/')?;
    let host = rest[..slash]
        .trim_end_matches(":443")
        .trim_end_matches(":80");
    if !HOSTS.iter().any(|h| host.eq_ignore_ascii_case(h)) {
        return None;
    }
    let path = rest[slash..].strip_prefix("/web/")?;
    let digits = path.bytes().take_while(u8::is_ascii_digit).count();
    if !(4..=14).contains(&digits) {
        return None;
    }
    let after = &path[digits..];
    let flag_len = match after.as_bytes() {
        [a, b, b'_', b'/', ..] if a.is_ascii_lowercase() && b.is_ascii_lowercase() => 3,
        [b'/', ..] => 0,
        _ => return None,
    };
    let original = &after[flag_len + 1..];
    if original.is_empty() {
        return None;
    }
    Some(ArchivedCopy {
        timestamp: &path[..digits],
        flag: &after[..flag_len],
        original,
    })
}

fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

/// The time a Wayback timestamp names (`20190325091234`, or a prefix such as `2019032509`,
/// read as the start of that period).
pub fn time_of(timestamp: &str) -> Option<DateTime<Utc>> {
    if timestamp.len() < 4 || timestamp.len() > 14 || !timestamp.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    const START: &str = "00000101000000";
    let full = format!("{timestamp}{}", &START[timestamp.len()..]);
    NaiveDateTime::parse_from_str(&full, "%Y%m%d%H%M%S")
        .ok()
        .map(|t| t.and_utc())
}

/// The copy's URL for an image: with the `im_` flag, the Wayback Machine answers with the image's
/// own bytes instead of a page around it.
pub fn for_image(copy_url: &str) -> String {
    match parse(copy_url) {
        Some(c) if c.flag.is_empty() => {
            let at = copy_url.len() - c.original.len() - 1;
            format!("{}im_{}", &copy_url[..at], &copy_url[at..])
        }
        _ => copy_url.to_string(),
    }
}

/// Whether two URLs name the same page for a reader: the scheme, a `www.` prefix, a trailing
/// slash and the fragment aside. An archived copy's URL holds the page as the archive spells it.
pub fn same_page(a: &str, b: &str) -> bool {
    fn key(u: &str) -> String {
        let u = u.split('#').next().unwrap_or(u);
        let u = strip_prefix_ignore_case(u, "https://")
            .or_else(|| strip_prefix_ignore_case(u, "http://"))
            .unwrap_or(u);
        let (host, rest) = u.split_at(u.find(['/', '?']).unwrap_or(u.len()));
        let host = host.to_ascii_lowercase();
        let host = host.strip_prefix("www.").unwrap_or(&host).to_string();
        let host = host
            .trim_end_matches(":443")
            .trim_end_matches(":80")
            .to_string();
        let rest = rest.trim_end_matches('/');
        format!("{host}{rest}")
    }
    key(a) == key(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_wayback_urls() {
        let c =
            parse("https://web.archive.org/web/20190325000000/http://example.org/dead").unwrap();
        assert_eq!(c.timestamp, "20190325000000");
        assert_eq!(c.flag, "");
        assert_eq!(c.original, "http://example.org/dead");
        assert_eq!(c.date(), NaiveDate::from_ymd_opt(2019, 3, 25));
        let c = parse("http://WEB.archive.org/web/2019im_/https://x.org/a.png").unwrap();
        assert_eq!((c.timestamp, c.flag), ("2019", "im_"));
        for not in [
            "https://web.archive.org/web/*/https://x.org/",
            "https://web.archive.org/web/20190325/",
            "https://example.org/web/20190325000000/https://x.org/",
            "https://web.archive.org/save/https://x.org/",
            "https://web.archive.org/web/123/https://x.org/",
            "web.archive.org/web/20190325000000/https://x.org/",
        ] {
            assert_eq!(parse(not), None, "{not}");
        }
    }

    #[test]
    fn timestamps_images_and_pages() {
        assert_eq!(
            time_of("20190325091234").unwrap().to_rfc3339(),
            "2019-03-25T09:12:34+00:00"
        );
        assert_eq!(
            time_of("201903").unwrap().to_rfc3339(),
            "2019-03-01T00:00:00+00:00"
        );
        assert_eq!(time_of("2019x"), None);
        assert_eq!(time_of("20191340000000"), None);
        assert_eq!(
            for_image("https://web.archive.org/web/20190325000000/http://x.org/a.png"),
            "https://web.archive.org/web/20190325000000im_/http://x.org/a.png"
        );
        assert_eq!(
            for_image("https://web.archive.org/web/20190325000000id_/http://x.org/a.png"),
            "https://web.archive.org/web/20190325000000id_/http://x.org/a.png"
        );
        assert!(same_page(
            "http://www.Example.org/a/",
            "https://example.org/a#x"
        ));
        assert!(!same_page("https://example.org/a", "https://example.org/b"));
        assert!(!same_page(
            "https://example.org/a?x=1",
            "https://example.org/a"
        ));
    }
}
