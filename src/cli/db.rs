//! The archive as a whole: `accept`, `db compact`, `db backup`, `db stats`, `export warc`.

use super::*;

/// `citewatch accept URL`: the latest snapshot becomes the baseline, through the writer.
pub(super) fn accept(
    cfg: &Config,
    url: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Outcome> {
    let store = open_existing(cfg)?;
    let url = resolve_url(&store, url)?;
    let id = store.link_id(&url)?.context("link vanished")?;
    drop(store);
    let accepted =
        command_writer(cfg)?.run_blocking("an accepted baseline", move |s| s.accept(id, now))?;
    match accepted {
        Some(h) => println!("{url}: baseline is now snapshot {}", &h[..h.len().min(16)]),
        None => {
            bail!("{url} has no archived snapshot yet; run `citewatch check {url}` first")
        }
    }
    Ok(Outcome::Clean)
}

/// `citewatch db compact`: thin old repeated checks and vacuum, through the writer.
pub(super) fn compact(cfg: &Config, now: chrono::DateTime<chrono::Utc>) -> Result<Outcome> {
    let store = open_existing(cfg)?;
    let before = store.stats()?;
    drop(store);
    let cutoff = cfg
        .thin_checks_after
        .map(|d| now - chrono::Duration::from_std(d).unwrap_or_default());
    let writer = command_writer(cfg)?;
    let n = writer.run_blocking("a compaction", move |s| {
        let n = match cutoff {
            Some(c) => s.thin_checks(c)?,
            None => 0,
        };
        s.vacuum()?;
        Ok(n)
    })?;
    let after = writer.reader()?.stats()?;
    drop(writer);
    println!(
        "deleted {n} repeated checks; database {} → {} bytes",
        before.file_bytes + before.wal_bytes,
        after.file_bytes + after.wal_bytes
    );
    Ok(Outcome::Clean)
}

/// `citewatch db backup FILE`.
pub(super) fn backup(cfg: &Config, file: &Path, quiet: bool) -> Result<Outcome> {
    let store = open_existing(cfg)?;
    store
        .backup(file)
        .with_context(|| format!("cannot back up {} to {}", cfg.db.display(), file.display()))?;
    if !quiet {
        eprintln!("backed up {} to {}", cfg.db.display(), file.display());
    }
    Ok(Outcome::Clean)
}

/// `citewatch db stats`.
pub(super) fn stats(cfg: &Config) -> Result<Outcome> {
    let store = open_existing(cfg)?;
    print(&report::db_stats(&store.stats()?))?;
    Ok(Outcome::Clean)
}

/// `citewatch export warc FILE`.
pub(super) fn export(
    cfg: &Config,
    file: &Path,
    url: Option<&str>,
    since: Option<&str>,
) -> Result<Outcome> {
    let store = open_existing(cfg)?;
    let url = url.map(|u| resolve_url(&store, u)).transpose()?;
    let since = since.map(since_arg).transpose()?;
    let n = export_warc(&store, file, url.as_deref(), since, &cfg.check.user_agent)?;
    eprintln!("wrote {n} records to {}", file.display());
    Ok(Outcome::Clean)
}

/// Writes the archive as WARC: the first capture of a body as a response (with its request),
/// later captures of the same body as revisits. Returns how many captures were written.
fn export_warc(
    store: &Store,
    file: &Path,
    url: Option<&str>,
    since: Option<chrono::DateTime<chrono::Utc>>,
    user_agent: &str,
) -> Result<usize> {
    use citewatch::warc::{plan_records, Capture, Record, WarcWriter};
    let rows = store.archive_rows(url, since)?;
    // Written to a temporary file first: an interrupted export leaves no half file behind.
    let tmp = file.with_extension("partial");
    let out =
        std::fs::File::create(&tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
    let mut w = WarcWriter::new(std::io::BufWriter::new(out));
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    w.warcinfo(
        &name,
        &format!("citewatch/{}", env!("CARGO_PKG_VERSION")),
        SystemClock.now(),
    )?;
    let records = plan_records(rows.iter().map(|r| {
        (
            r.snapshot.as_str(),
            r.final_url.as_deref().unwrap_or(&r.url),
            r.checked_at,
        )
    }));
    for (r, record) in rows.iter().zip(records) {
        let Some(meta) = store.snapshot_meta(&r.snapshot)? else {
            continue;
        };
        let headers: Vec<(String, String)> =
            serde_json::from_str(&meta.headers_json).unwrap_or_default();
        let body = store.snapshot_body(&r.snapshot)?.unwrap_or_default();
        let c = Capture {
            uri: r.final_url.as_deref().unwrap_or(&r.url),
            date: r.checked_at,
            status: r.http_status.unwrap_or(200),
            headers: &headers,
            body: &body,
        };
        match record {
            // A revisit carries the payload's digest and the response head, not the body.
            Record::Revisit { of_uri, of_date } => w.revisit(&c, &of_uri, of_date)?,
            Record::Response => {
                w.response(&c, user_agent)?;
            }
        }
    }
    let out = w.into_inner();
    out.into_inner()
        .map_err(|e| anyhow::anyhow!("cannot write {}: {}", tmp.display(), e.error()))?
        .sync_all()?;
    std::fs::rename(&tmp, file).with_context(|| format!("cannot write {}", file.display()))?;
    Ok(rows.len())
}
