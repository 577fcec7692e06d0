//! Judging a finished fetch into its check record (through `verdict::judge` and
//! `fragment::judge`), panic-safe: a panic is an `error` verdict for that link.

use super::*;

/// The text of a panic's payload.
pub(super) fn panic_text(p: &Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic".into())
}

/// Judges a finished fetch into its check record. A panic while judging (a bug, whatever the
/// page) becomes an `error` verdict for this link, logged with its URL, and the run goes on.
pub(super) fn judge_safely(
    reads: &Reads<'_>,
    f: &Finished,
    known: &Known,
) -> Result<CheckRecord, StoreError> {
    judge_safely_with(reads, f, known, judge)
}

pub(super) type Judge = fn(&Reads<'_>, &Finished, &Known) -> Result<CheckRecord, StoreError>;

pub(super) fn judge_safely_with(
    reads: &Reads<'_>,
    f: &Finished,
    known: &Known,
    judge: Judge,
) -> Result<CheckRecord, StoreError> {
    match std::panic::catch_unwind(AssertUnwindSafe(|| judge(reads, f, known))) {
        Ok(r) => r,
        Err(panic) => {
            let what = panic_text(&panic);
            tracing::error!("internal error while judging {}: {what}", f.link.url);
            let failed = Finished {
                link: f.link.clone(),
                origin: f.origin.clone(),
                fetched: Fetched::internal(&f.fetched.url, what),
                snapshot: None,
                page: None,
                raw_files: Vec::new(),
                checked_at: f.checked_at,
            };
            let v = classify::classify(&failed.fetched, &classify::Context::default());
            Ok(record_for(&failed, &v, known.cycle))
        }
    }
}

/// Judges a finished fetch against what the store knows of the link (its baseline, its quotes)
/// and of its site (its boilerplate, its answer for a missing path), through
/// [`crate::verdict::judge`], into its check record with what was learned for next time.
pub(super) fn judge(
    reads: &Reads<'_>,
    f: &Finished,
    known: &Known,
) -> Result<CheckRecord, StoreError> {
    let unchanged = matches!((&f.link.baseline, &f.snapshot), (Some(b), Some(s)) if *b == s.hash);
    let quotes = if known.quoted.contains(&f.link.id) {
        reads.quotes(f.link.id)?
    } else {
        Vec::new()
    };
    // The baseline as the current extraction reads it: an upgrade that reads pages better must
    // not make every baseline look changed.
    let base = match &f.link.baseline {
        Some(h) if !unchanged || !quotes.is_empty() => reads.readable_text(h)?,
        _ => None,
    };
    // The site's memory is for comparing a page that changed; an unchanged one needs none.
    let site = match &f.origin {
        Some(o) if !unchanged => known.site(reads, o)?,
        _ => Default::default(),
    };
    let quotes: Vec<&str> = quotes.iter().map(String::as_str).collect();
    let probe = f.origin.as_deref().and_then(|o| known.probes.of_origin(o));
    let j = crate::verdict::judge(&crate::verdict::Input {
        fetched: &f.fetched,
        baseline: base
            .as_ref()
            .map(|(title, text, _)| crate::verdict::Baseline {
                title: title.as_deref(),
                text,
            }),
        unchanged,
        current: f.page.as_ref(),
        volatile: f.link.volatile.as_deref(),
        site: &site,
        probe: probe
            .as_deref()
            .and_then(|c| c.get())
            .and_then(Option::as_ref),
        quotes: &quotes,
    });
    // The places citations point at inside the page: read from the body already fetched.
    let fragments = if known.fragmented.contains_key(&f.link.id) {
        judge_fragments(reads, f)?
    } else {
        Vec::new()
    };
    let verdict = match fragments.iter().find_map(|j| j.gone.as_deref()) {
        Some(reason) => classify::with_fragment_gone(j.verdict, reason),
        None => j.verdict,
    };
    let mut record = record_for(f, &verdict, known.cycle);
    record.fragments = fragments
        .iter()
        .map(|j| crate::rows::FragmentRecord {
            fragment: j.fragment.clone(),
            standing: crate::fragment::judge::standing_name(&j.standing),
            reason: crate::fragment::judge::standing_reason(&j.standing).map(str::to_string),
            seen_present: j.seen_present,
        })
        .collect();
    record.volatile = j.volatile.and_then(|v| serde_json::to_string(&v).ok());
    if let (Some(o), Some(m)) = (&f.origin, j.site) {
        known.remember(o, m);
    }
    if let (Some(h), Some((_, text, true))) = (&f.link.baseline, base) {
        record.baseline_text = Some((h.clone(), text));
    }
    Ok(record)
}
/// The link's cited fragments against the page this check got (a 2xx answer only: a failed
/// fetch says nothing of them, and they keep what the last answer said).
pub(super) fn judge_fragments(
    reads: &Reads<'_>,
    f: &Finished,
) -> Result<Vec<crate::fragment::judge::Judged>, StoreError> {
    let Ok(r) = &f.fetched.outcome else {
        return Ok(Vec::new());
    };
    if !(200..300).contains(&r.status) {
        return Ok(Vec::new());
    }
    let cited = reads.fragments(f.link.id)?;
    let cited: Vec<crate::fragment::judge::Cited<'_>> = cited
        .iter()
        .map(|(fragment, seen_present)| crate::fragment::judge::Cited {
            fragment,
            seen_present: *seen_present,
        })
        .collect();
    Ok(crate::fragment::judge::judge(
        &r.body,
        r.header("content-type"),
        &r.url,
        &cited,
        &f.raw_files,
    ))
}

pub(super) fn record_for(f: &Finished, v: &Verdict, cycle: i64) -> CheckRecord {
    let redirects = crate::fetch::Redirects::of(&f.fetched.hops);
    // The baseline is the first archived answer that was fine: what the author saw when citing.
    let set_baseline =
        f.link.baseline.is_none() && matches!(v.state, State::Ok | State::Redirected);
    CheckRecord {
        link_id: f.link.id,
        checked_at: f.checked_at,
        state: v.state,
        http_status: v.http_status,
        final_url: v.final_url.as_ref().map(|u| u.to_string()),
        redirects,
        error: v.error.clone(),
        elapsed_ms: f.fetched.elapsed.as_millis() as u64,
        attempts: f.fetched.attempts,
        snapshot: f.snapshot.clone(),
        similarity: v.similarity,
        set_baseline,
        volatile: None,
        cycle_id: Some(cycle),
        network: f.fetched.network_failure(),
        baseline_text: None,
        fragments: Vec::new(),
    }
}
