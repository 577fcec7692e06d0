//! Snapshots: a fetched body made ready for the archive: content-addressed (blake3 of the raw,
//! decoded body), zstd-compressed, with its headers and title, and its readable text when a
//! comparison needs it now (otherwise it is extracted from the archived body when first asked
//! for: parsing every page of a big first run would cost more than fetching it).
//!
//! CPU only, no I/O: the pipeline runs it on a blocking thread and hands the result to the store.

use crate::fetch::Response;
use crate::rows::NewSnapshot;

/// zstd level: 3 is zstd's default, a good ratio at a few hundred MB/s.
const ZSTD_LEVEL: i32 = 3;

thread_local! {
    // A compression context costs more to set up than a small page costs to compress: keep one
    // per blocking thread.
    static COMPRESSOR: std::cell::RefCell<Option<zstd::bulk::Compressor<'static>>> =
        const { std::cell::RefCell::new(None) };
}

/// zstd-compresses a body (a standard zstd frame, read back with `zstd::decode_all`).
pub fn compress(body: &[u8]) -> Vec<u8> {
    COMPRESSOR.with(|c| {
        let mut c = c.borrow_mut();
        if c.is_none() {
            *c = zstd::bulk::Compressor::new(ZSTD_LEVEL).ok();
        }
        match c.as_mut().map(|z| z.compress(body)) {
            Some(Ok(v)) => v,
            // Compressing in memory does not fail; should it, the one-shot path still works.
            _ => zstd::encode_all(body, ZSTD_LEVEL).unwrap_or_default(),
        }
    })
}

/// The content address of a body.
pub fn content_hash(body: &[u8]) -> String {
    blake3::hash(body).to_hex().to_string()
}

/// Prepares a response's body for the archive. A body whose hash is one of `archived` is already
/// in the archive and is not compressed again. `needs_text` says whether the readable text is
/// wanted now; it is asked with the body's hash, so an unchanged body is never parsed.
pub fn prepare(
    resp: &Response,
    archived: &[Option<&str>],
    needs_text: impl FnOnce(&str) -> bool,
) -> NewSnapshot {
    prepare_with_page(resp, archived, needs_text).0
}

/// [`prepare`], also handing back the page read from the body when its text was wanted, so the
/// verdict ([`crate::verdict::Input::current`]) does not parse the body a second time.
pub fn prepare_with_page(
    resp: &Response,
    archived: &[Option<&str>],
    needs_text: impl FnOnce(&str) -> bool,
) -> (NewSnapshot, Option<crate::readable::Page>) {
    let content_type = resp.header("content-type").map(str::to_string);
    let hash = content_hash(&resp.body);
    let known = archived.contains(&Some(hash.as_str()));
    let page =
        needs_text(&hash).then(|| crate::readable::readable(&resp.body, content_type.as_deref()));
    // The title and headers are stored with a body the archive does not have yet; a known body
    // (most checks after the first) needs neither.
    let title = match &page {
        Some(p) => p.title.clone(),
        None if !known => crate::readable::title_of(&resp.body, content_type.as_deref()),
        None => None,
    };
    let text = page
        .as_ref()
        .map(|p| p.text.clone())
        .filter(|t| !t.is_empty());
    let headers_json = if known {
        String::new()
    } else {
        serde_json::to_string(&resp.headers).unwrap_or_else(|_| "[]".into())
    };
    let snap = NewSnapshot {
        hash,
        size: resp.body.len() as u64,
        body_zstd: (!known).then(|| compress(&resp.body)),
        content_type,
        headers_json,
        title,
        text,
        truncated: resp.truncated,
    };
    (snap, page)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(body: &str) -> Response {
        Response {
            url: url::Url::parse("https://example.org/").unwrap(),
            status: 200,
            headers: vec![("content-type".into(), "text/html".into())],
            body: body.as_bytes().to_vec(),
            truncated: false,
        }
    }

    #[test]
    fn a_new_body_is_compressed_and_a_known_one_is_not() {
        let r = page("<title>T</title><article><p>Some words of the page.</p></article>");
        let new = prepare(&r, &[None, Some("another hash")], |_| false);
        let body = new.body_zstd.expect("a new body is archived");
        assert_eq!(zstd::decode_all(&body[..]).unwrap(), r.body);
        assert_eq!(new.title.as_deref(), Some("T"));
        assert_eq!(new.text, None, "text only when asked for");
        let seen = prepare(&r, &[Some(new.hash.as_str())], |_| true);
        assert_eq!(seen.hash, new.hash);
        assert!(seen.body_zstd.is_none());
        assert!(new.headers_json.contains("text/html"));
        assert!(
            seen.headers_json.is_empty(),
            "a known body's headers are not stored again"
        );
        let again = prepare(&r, &[Some(new.hash.as_str())], |_| false);
        assert_eq!(again.title, None, "nor its title looked for");
        assert!(seen.text.is_some_and(|t| t.contains("Some words")));
    }

    #[test]
    fn the_page_comes_back_only_when_read() {
        let r = page(
            "<title>T</title><article><p>Some words of the page, enough of them.</p></article>",
        );
        let (snap, p) = prepare_with_page(&r, &[], |_| true);
        let p = p.expect("read when asked for");
        assert_eq!(Some(p.text.clone()), snap.text);
        assert_eq!(p.title, snap.title);
        assert!(prepare_with_page(&r, &[], |_| false).1.is_none());
    }
}
