//! One fetch of a check run: the page, the raw files its fragments need, its snapshot
//! prepared and its text read on the worker that fetched it.

use super::*;

/// Bodies up to this size are hashed and compressed on the async worker itself (tens of
/// microseconds); bigger ones go to a blocking thread so they do not stall other checks.
pub(super) const INLINE_BODY: usize = 64 * 1024;

/// One finished fetch on its way to the writer.
pub(super) struct Finished {
    pub(super) link: LinkToCheck,
    /// The link's origin (see [`origin_of`]), read once when its check started.
    pub(super) origin: Option<String>,
    pub(super) fetched: Fetched,
    pub(super) snapshot: Option<crate::store::NewSnapshot>,
    /// The body read by [`crate::readable`] on the worker that fetched it (not twice, not on
    /// the writer), when it differs from the baseline.
    pub(super) page: Option<crate::readable::Page>,
    /// Raw files its cited fragments need (GitHub line anchors, a Markdown file's headings),
    /// fetched beside the page, one request per file.
    pub(super) raw_files: Vec<(Url, Vec<u8>)>,
    pub(super) checked_at: DateTime<Utc>,
}

/// Fetches one link and prepares its snapshot; `None` when a stop came before its request.
pub(super) async fn fetch_one(
    checker: &Checker,
    link: &LinkToCheck,
    url: &Result<Url, url::ParseError>,
    fragments: Option<&[String]>,
    stop: &CancellationToken,
    clock: &Arc<dyn Clock>,
) -> Option<Finished> {
    let fetched = match url {
        Ok(url) => checker.check_unless(url, stop).await?,
        Err(e) => Fetched::invalid(&link.url, e.to_string()),
    };
    let checked_at = clock.now();
    // The raw files some fragments are read from (a GitHub line anchor), through the same
    // checker (guard, pacing, caps): one request per file; a failure leaves them unknown.
    let mut raw_files = Vec::new();
    if let (Some(fragments), Ok(r)) = (fragments, fetched.outcome.as_ref()) {
        if (200..300).contains(&r.status) {
            for raw in crate::fragment::judge::raw_files_needed(&r.url, fragments) {
                if let Some(got) = checker.check_unless(&raw, stop).await {
                    if let Ok(rr) = got.outcome {
                        if (200..300).contains(&rr.status) {
                            raw_files.push((raw, rr.body));
                        }
                    }
                }
            }
        }
    }
    // The page is read on this worker (all cores share the work) whenever the body is not the
    // baseline's: the verdict needs it to compare, and on a first check to tell a not-found
    // page. A body identical to the baseline is never parsed.
    let baseline = link.baseline.clone();
    let last = link.last_snapshot.clone();
    let prepare = move |fetched: Fetched| {
        let archived = [baseline.as_deref(), last.as_deref()];
        let (snap, page) = match fetched.outcome.as_ref() {
            Ok(r) if (200..300).contains(&r.status) => {
                let (mut s, p) = crate::snapshot::prepare_with_page(r, &archived, |hash| {
                    baseline.as_deref() != Some(hash)
                });
                // A page with nothing to compare it with yet keeps its body only: its text is
                // read from the archive if it ever becomes a baseline that is compared (most
                // never are), so the database grows with changes, not with pages.
                if baseline.is_none() {
                    s.text = None;
                }
                (Some(s), p)
            }
            Ok(r) => (
                Some(crate::snapshot::prepare(r, &archived, |_| false)),
                None,
            ),
            Err(_) => (None, None),
        };
        (fetched, snap, page)
    };
    let big = fetched
        .outcome
        .as_ref()
        .is_ok_and(|r| r.body.len() > INLINE_BODY);
    let (fetched, snapshot, page) = if big {
        match tokio::task::spawn_blocking(move || prepare(fetched)).await {
            Ok(done) => done,
            // A panic preparing the page: re-raised here, where the caller turns it into an
            // `error` verdict for this link.
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        }
    } else {
        prepare(fetched)
    };
    Some(Finished {
        link: link.clone(),
        origin: url.as_ref().ok().and_then(origin_of),
        fetched,
        snapshot,
        page,
        raw_files,
        checked_at,
    })
}
