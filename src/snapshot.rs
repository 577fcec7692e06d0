//! Snapshots: a fetched body made ready for the archive: content-addressed (blake3 of the raw,
//! decoded body), zstd-compressed, with its headers and title, and its readable text when a
//! comparison needs it now (otherwise it is extracted from the archived body when first asked
//! for: parsing every page of a big first run would cost more than fetching it).
//!
//! CPU only, no I/O: the pipeline runs it on a blocking thread and hands the result to the store.

use crate::checker::Response;
use crate::store::NewSnapshot;

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

/// Prepares a response's body for the archive. `needs_text` says whether the readable text is
/// wanted now; it is asked with the body's hash, so an unchanged body is never parsed.
pub fn prepare(resp: &Response, needs_text: impl FnOnce(&str) -> bool) -> NewSnapshot {
    let content_type = resp.header("content-type").map(str::to_string);
    let hash = content_hash(&resp.body);
    let page = if needs_text(&hash) {
        crate::readable::readable(&resp.body, content_type.as_deref())
    } else {
        crate::readable::Page {
            title: crate::classify::title_of(&resp.body),
            ..Default::default()
        }
    };
    let headers_json = serde_json::to_string(&resp.headers).unwrap_or_else(|_| "[]".into());
    NewSnapshot {
        hash,
        size: resp.body.len() as u64,
        body_zstd: compress(&resp.body),
        content_type,
        headers_json,
        title: page.title,
        text: if page.text.is_empty() {
            None
        } else {
            Some(page.text)
        },
        truncated: resp.truncated,
    }
}
