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
        // Compressing a Vec in memory cannot fail; an empty blob would still decode to nothing.
        body_zstd: zstd::encode_all(&resp.body[..], ZSTD_LEVEL).unwrap_or_default(),
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
