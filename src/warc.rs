//! WARC/1.1 writing (ISO 28500:2017): the archive in the format web-archiving tools read (pywb,
//! ReplayWeb.page, warcio). Each record is its own gzip member, so tools can seek to any record.
//!
//! The `warc` crate writes WARC/1.0 in one gzip stream without digests, hence this small writer.
//! citewatch archives *decoded* bodies, so a response record carries the body as stored and the
//! original `Content-Encoding`, `Transfer-Encoding` and `Content-Length` headers are kept renamed
//! `X-Archive-Orig-…` (pywb's convention), with a `Content-Length` that matches the stored body.

use std::io::{self, Write};

use chrono::{DateTime, SecondsFormat, Utc};
use flate2::write::GzEncoder;
use flate2::Compression;

/// One archived answer.
#[derive(Debug, Clone)]
pub struct Capture<'a> {
    pub uri: &'a str,
    pub date: DateTime<Utc>,
    pub status: u16,
    pub headers: &'a [(String, String)],
    pub body: &'a [u8],
}

/// RFC 4648 base32, as WARC digests are written (`sha1:BASE32`).
pub fn base32(data: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::with_capacity(data.len().div_ceil(5) * 8);
    for chunk in data.chunks(5) {
        let mut buf = [0u8; 5];
        buf[..chunk.len()].copy_from_slice(chunk);
        let n = u64::from_be_bytes([0, 0, 0, buf[0], buf[1], buf[2], buf[3], buf[4]]);
        let chars = (chunk.len() * 8).div_ceil(5);
        for i in 0..8 {
            if i < chars {
                out.push(ALPHABET[((n >> (35 - i * 5)) & 31) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// `sha1:BASE32` of some bytes.
pub fn sha1_digest(data: &[u8]) -> String {
    format!(
        "sha1:{}",
        base32(&sha1_smol::Sha1::from(data).digest().bytes())
    )
}

fn record_id() -> String {
    let b: [u8; 16] = rand::random();
    let mut b = b;
    b[6] = (b[6] & 0x0f) | 0x40; // version 4
    b[8] = (b[8] & 0x3f) | 0x80; // RFC 4122 variant
    format!(
        "<urn:uuid:{:02x}{:02x}{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}>",
        b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]
    )
}

fn warc_date(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        203 => "Non-Authoritative Information",
        204 => "No Content",
        206 => "Partial Content",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        410 => "Gone",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Unknown",
    }
}

/// A header name as archived: only RFC 9110 token characters, others (a line break, a colon, a
/// space) replaced by `_`, so a name cannot end its line or field early. Names reqwest parsed
/// are tokens already; this is for whatever else reaches the writer.
fn header_name(k: &str) -> String {
    let name: String = k
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    if name.is_empty() {
        "_".into()
    } else {
        name
    }
}

/// A URI as a WARC field value: control characters and spaces percent-encoded (they have no
/// place in a URI), so a stored URL cannot break the record head.
fn uri_field(u: &str) -> String {
    let mut out = String::with_capacity(u.len());
    for c in u.chars() {
        if c.is_ascii_control() || c == ' ' {
            out.push_str(&format!("%{:02X}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

/// The HTTP head of a response as archived: status line, headers (encoding headers renamed),
/// `Content-Length` of the stored body.
fn http_head(status: u16, headers: &[(String, String)], body_len: usize) -> Vec<u8> {
    let mut h = format!("HTTP/1.1 {status} {}\r\n", reason(status));
    for (k, v) in headers {
        // Header values from the wire may hold anything; a line break would forge headers.
        let v = v.replace(['\r', '\n'], " ");
        let k = header_name(k);
        let lower = k.to_ascii_lowercase();
        if matches!(
            lower.as_str(),
            "content-encoding" | "transfer-encoding" | "content-length"
        ) {
            h.push_str(&format!("X-Archive-Orig-{k}: {v}\r\n"));
        } else {
            h.push_str(&format!("{k}: {v}\r\n"));
        }
    }
    h.push_str(&format!("Content-Length: {body_len}\r\n\r\n"));
    h.into_bytes()
}

/// Writes WARC/1.1 records, each gzip-compressed on its own.
pub struct WarcWriter<W: Write> {
    out: W,
}

impl<W: Write> WarcWriter<W> {
    pub fn new(out: W) -> Self {
        WarcWriter { out }
    }

    pub fn into_inner(self) -> W {
        self.out
    }

    fn record(&mut self, headers: &[(&str, String)], block: &[&[u8]]) -> io::Result<()> {
        let len: usize = block.iter().map(|b| b.len()).sum();
        let mut head = String::from("WARC/1.1\r\n");
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str(&format!("Content-Length: {len}\r\n\r\n"));
        let mut gz = GzEncoder::new(&mut self.out, Compression::default());
        gz.write_all(head.as_bytes())?;
        for b in block {
            gz.write_all(b)?;
        }
        gz.write_all(b"\r\n\r\n")?;
        gz.finish()?;
        Ok(())
    }

    fn block_digest(parts: &[&[u8]]) -> String {
        let mut h = sha1_smol::Sha1::new();
        for p in parts {
            h.update(p);
        }
        format!("sha1:{}", base32(&h.digest().bytes()))
    }

    /// The `warcinfo` record that opens a file.
    pub fn warcinfo(
        &mut self,
        filename: &str,
        software: &str,
        date: DateTime<Utc>,
    ) -> io::Result<()> {
        let body = format!("software: {software}\r\nformat: WARC File Format 1.1\r\nconformsTo: http://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/\r\n");
        self.record(
            &[
                ("WARC-Type", "warcinfo".into()),
                ("WARC-Record-ID", record_id()),
                ("WARC-Date", warc_date(date)),
                ("WARC-Filename", filename.replace(['\r', '\n'], " ")),
                ("Content-Type", "application/warc-fields".into()),
                ("WARC-Block-Digest", Self::block_digest(&[body.as_bytes()])),
            ],
            &[body.as_bytes()],
        )
    }

    /// A `response` record and the `request` record that asked for it. Returns the response's
    /// record id.
    pub fn response(&mut self, c: &Capture<'_>, user_agent: &str) -> io::Result<String> {
        let id = record_id();
        let head = http_head(c.status, c.headers, c.body.len());
        self.record(
            &[
                ("WARC-Type", "response".into()),
                ("WARC-Record-ID", id.clone()),
                ("WARC-Date", warc_date(c.date)),
                ("WARC-Target-URI", uri_field(c.uri)),
                ("Content-Type", "application/http;msgtype=response".into()),
                ("WARC-Payload-Digest", sha1_digest(c.body)),
                ("WARC-Block-Digest", Self::block_digest(&[&head, c.body])),
            ],
            &[&head, c.body],
        )?;
        self.request(c, user_agent, &id)?;
        Ok(id)
    }

    fn request(
        &mut self,
        c: &Capture<'_>,
        user_agent: &str,
        concurrent_to: &str,
    ) -> io::Result<()> {
        let url = url::Url::parse(c.uri).ok();
        let path = url
            .as_ref()
            .map(|u| match u.query() {
                Some(q) => format!("{}?{q}", u.path()),
                None => u.path().to_string(),
            })
            .unwrap_or_else(|| "/".into());
        let host = url
            .as_ref()
            .and_then(|u| u.host_str().map(str::to_string))
            .unwrap_or_default();
        let block = format!(
            "GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: {}\r\nAccept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n\r\n",
            user_agent.replace(['\r', '\n'], " ")
        );
        self.record(
            &[
                ("WARC-Type", "request".into()),
                ("WARC-Record-ID", record_id()),
                ("WARC-Date", warc_date(c.date)),
                ("WARC-Target-URI", uri_field(c.uri)),
                ("WARC-Concurrent-To", concurrent_to.to_string()),
                ("Content-Type", "application/http;msgtype=request".into()),
                ("WARC-Block-Digest", Self::block_digest(&[block.as_bytes()])),
            ],
            &[block.as_bytes()],
        )
    }

    /// A `revisit` record: the same payload as an earlier response, which it refers to.
    pub fn revisit(
        &mut self,
        c: &Capture<'_>,
        refers_to_uri: &str,
        refers_to_date: DateTime<Utc>,
    ) -> io::Result<()> {
        let head = http_head(c.status, c.headers, c.body.len());
        self.record(
            &[
                ("WARC-Type", "revisit".into()),
                ("WARC-Record-ID", record_id()),
                ("WARC-Date", warc_date(c.date)),
                ("WARC-Target-URI", uri_field(c.uri)),
                (
                    "WARC-Profile",
                    "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest".into(),
                ),
                ("WARC-Refers-To-Target-URI", uri_field(refers_to_uri)),
                ("WARC-Refers-To-Date", warc_date(refers_to_date)),
                ("Content-Type", "application/http;msgtype=response".into()),
                ("WARC-Payload-Digest", sha1_digest(c.body)),
                ("WARC-Block-Digest", Self::block_digest(&[&head])),
            ],
            &[&head],
        )
    }
}

/// How one capture of an export is written: the first capture of a body as a response, a later
/// capture of the same body as a revisit of that first one (its URI and date). The one rule of
/// revisit de-duplication, decided before anything is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    Response,
    Revisit {
        of_uri: String,
        of_date: DateTime<Utc>,
    },
}

/// The record of each capture, in order, given each capture's body hash, URI and date.
pub fn plan_records<'a>(
    captures: impl IntoIterator<Item = (&'a str, &'a str, DateTime<Utc>)>,
) -> Vec<Record> {
    let mut first: std::collections::HashMap<&'a str, (&'a str, DateTime<Utc>)> =
        Default::default();
    captures
        .into_iter()
        .map(|(hash, uri, date)| match first.get(hash) {
            Some((of_uri, of_date)) => Record::Revisit {
                of_uri: of_uri.to_string(),
                of_date: *of_date,
            },
            None => {
                first.insert(hash, (uri, date));
                Record::Response
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_capture_of_a_body_is_a_response_later_ones_revisit_it() {
        let t = |d: i64| DateTime::<Utc>::UNIX_EPOCH + chrono::Duration::days(d);
        let got = plan_records([
            ("h1", "https://a/", t(1)),
            ("h2", "https://b/", t(2)),
            ("h1", "https://a/", t(3)),
            ("h1", "https://a2/", t(4)),
        ]);
        let revisit = Record::Revisit {
            of_uri: "https://a/".into(),
            of_date: t(1),
        };
        assert_eq!(
            got,
            [Record::Response, Record::Response, revisit.clone(), revisit]
        );
    }

    #[test]
    fn base32_matches_rfc_4648() {
        assert_eq!(base32(b""), "");
        assert_eq!(base32(b"f"), "MY======");
        assert_eq!(base32(b"fo"), "MZXQ====");
        assert_eq!(base32(b"foobar"), "MZXW6YTBOI======");
        // sha1("") as WARC tools write it.
        assert_eq!(sha1_digest(b""), "sha1:3I42H3S6NNFQ2MSVX7XZKYAYSCX5QBYJ");
    }

    #[test]
    fn records_are_separate_gzip_members() {
        let mut w = WarcWriter::new(Vec::new());
        let t = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        w.warcinfo("x.warc.gz", "citewatch", t).unwrap();
        let headers = vec![("Content-Encoding".to_string(), "gzip".to_string())];
        let c = Capture {
            uri: "https://a.org/x",
            date: t,
            status: 200,
            headers: &headers,
            body: b"hello",
        };
        w.response(&c, "ua").unwrap();
        let bytes = w.into_inner();
        let members = bytes
            .windows(3)
            .filter(|w| w == &[0x1f, 0x8b, 0x08])
            .count();
        assert!(members >= 3);
        let mut d = flate2::read::MultiGzDecoder::new(&bytes[..]);
        let mut s = String::new();
        std::io::Read::read_to_string(&mut d, &mut s).unwrap();
        assert!(s.starts_with("WARC/1.1\r\n"));
        assert!(s.contains("X-Archive-Orig-Content-Encoding: gzip"));
        assert!(s.contains("WARC-Type: request"));
    }
    /// One record of a WARC file: its header lines (after `WARC/1.1`) and its block. Panics with
    /// a message when the framing is off: a length that does not match, a missing end.
    /// A record head's named fields, in order.
    type Fields = Vec<(String, String)>;

    fn records(bytes: &[u8]) -> Vec<(Fields, Vec<u8>)> {
        let mut d = flate2::read::MultiGzDecoder::new(bytes);
        let mut all = Vec::new();
        std::io::Read::read_to_end(&mut d, &mut all).unwrap();
        let mut out = Vec::new();
        let mut rest = &all[..];
        while !rest.is_empty() {
            let end = rest
                .windows(4)
                .position(|w| w == b"\r\n\r\n")
                .expect("a record head ends with an empty line");
            let head = std::str::from_utf8(&rest[..end]).expect("a record head is UTF-8");
            let mut lines = head.split("\r\n");
            assert_eq!(lines.next(), Some("WARC/1.1"));
            let fields: Fields = lines
                .map(|l| {
                    let (k, v) = l
                        .split_once(": ")
                        .unwrap_or_else(|| panic!("not a field: {l:?}"));
                    (k.to_string(), v.to_string())
                })
                .collect();
            let len: usize = fields
                .iter()
                .find(|(k, _)| k == "Content-Length")
                .expect("Content-Length")
                .1
                .parse()
                .unwrap();
            let block = &rest[end + 4..end + 4 + len];
            assert_eq!(
                &rest[end + 4 + len..end + 8 + len],
                b"\r\n\r\n",
                "record end"
            );
            out.push((fields, block.to_vec()));
            rest = &rest[end + 8 + len..];
        }
        out
    }

    fn field<'a>(fields: &'a [(String, String)], name: &str) -> &'a str {
        let found: Vec<&(String, String)> = fields.iter().filter(|(k, _)| k == name).collect();
        assert_eq!(found.len(), 1, "{name} in {fields:?}");
        &found[0].1
    }

    /// The header lines of an archived HTTP message (status or request line first), and the
    /// rest of the block.
    fn http_lines(block: &[u8]) -> (Vec<String>, Vec<u8>) {
        let end = block
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("an HTTP head ends with an empty line");
        let head = String::from_utf8(block[..end].to_vec()).expect("an HTTP head is UTF-8");
        (
            head.split("\r\n").map(str::to_string).collect(),
            block[end + 4..].to_vec(),
        )
    }

    /// Text with many line breaks, colons and spaces among arbitrary characters.
    fn nasty() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        proptest::collection::vec(
            prop_oneof![
                Just('\r'),
                Just('\n'),
                Just(':'),
                Just(' '),
                Just('\u{85}'),
                any::<char>(),
                proptest::char::range('a', 'z'),
            ],
            0..24,
        )
        .prop_map(String::from_iter)
    }

    const WARC_FIELDS: &[&str] = &[
        "WARC-Type",
        "WARC-Record-ID",
        "WARC-Date",
        "WARC-Target-URI",
        "WARC-Concurrent-To",
        "WARC-Filename",
        "WARC-Profile",
        "WARC-Refers-To-Target-URI",
        "WARC-Refers-To-Date",
        "WARC-Payload-Digest",
        "WARC-Block-Digest",
        "Content-Type",
        "Content-Length",
    ];

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 256, ..Default::default() })]

        /// Whatever a server sent and whatever URI a link has, the writer does not panic and
        /// every record has exactly the fields it writes: no value can start a header line of
        /// its own, in the WARC head or in the archived HTTP head.
        #[test]
        fn no_input_can_forge_a_header_line(
            uri in nasty(),
            refers in nasty(),
            headers in proptest::collection::vec((nasty(), nasty()), 0..6),
            body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200),
            status in proptest::prelude::any::<u16>(),
            user_agent in nasty(),
            filename in nasty(),
        ) {
            let t = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z").unwrap().with_timezone(&Utc);
            let uris = [uri.clone(), format!("https://example.org/{uri}")];
            let mut w = WarcWriter::new(Vec::new());
            w.warcinfo(&filename, "citewatch", t).unwrap();
            for u in &uris {
                let c = Capture { uri: u, date: t, status, headers: &headers, body: &body };
                w.response(&c, &user_agent).unwrap();
                w.revisit(&c, &refers, t).unwrap();
            }
            let recs = records(&w.into_inner());
            assert_eq!(recs.len(), 1 + 3 * uris.len());
            for (fields, block) in &recs {
                for (k, _) in fields {
                    assert!(WARC_FIELDS.contains(&k.as_str()), "forged field {k:?}");
                }
                let kind = field(fields, "WARC-Type");
                assert_eq!(field(fields, "WARC-Block-Digest"), sha1_digest(block));
                match kind {
                    "warcinfo" => {
                        field(fields, "WARC-Filename");
                        assert!(block.starts_with(b"software: citewatch\r\n"));
                    }
                    "request" => {
                        let (lines, rest) = http_lines(block);
                        assert!(lines[0].starts_with("GET "), "{lines:?}");
                        let names: Vec<&str> = lines[1..].iter().map(|l| l.split_once(": ").unwrap().0).collect();
                        assert_eq!(names, ["Host", "User-Agent", "Accept"]);
                        assert!(rest.is_empty());
                    }
                    "response" | "revisit" => {
                        let (lines, rest) = http_lines(block);
                        assert!(lines[0].starts_with(&format!("HTTP/1.1 {status} ")), "{lines:?}");
                        // One line per header sent, then the stored body's length.
                        assert_eq!(lines.len(), headers.len() + 2, "{lines:?}");
                        for (line, (name, _)) in lines[1..].iter().zip(&headers) {
                            let (k, _) = line.split_once(": ").unwrap_or_else(|| panic!("{line:?}"));
                            let k = k.strip_prefix("X-Archive-Orig-").unwrap_or(k);
                            assert!(k.len() >= name.len().min(1), "{k:?} for {name:?}");
                            assert!(!k.contains(['\r', '\n', ':']), "{k:?}");
                        }
                        assert_eq!(lines.last().unwrap(), &format!("Content-Length: {}", body.len()));
                        assert_eq!(field(fields, "WARC-Payload-Digest"), sha1_digest(&body));
                        if kind == "response" {
                            assert_eq!(rest, body);
                        } else {
                            assert!(rest.is_empty());
                            field(fields, "WARC-Refers-To-Target-URI");
                        }
                    }
                    other => panic!("unexpected record type {other:?}"),
                }
            }
        }
    }
}
