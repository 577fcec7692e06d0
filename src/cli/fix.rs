//! `citewatch fix`: the library plans and writes the repairs; this asks and prints.

use super::*;

/// What `citewatch fix` was asked.
pub(super) struct FixRequest<'a> {
    pub(super) post: Option<String>,
    pub(super) only: &'a [String],
    pub(super) apply: bool,
    pub(super) format: FixFormat,
    pub(super) quiet: bool,
}

/// `citewatch fix`: plans (and with --apply makes) the repairs, then prints diffs or JSON and a
/// summary. The library decides and writes; this prints.
pub(super) fn fix(
    cfg: Config,
    req: &FixRequest<'_>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Outcome> {
    use citewatch::fix::{self, lookup, Kinds, Repair};
    let kinds = if req.only.iter().all(|k| k.trim().is_empty()) {
        Kinds::DEFAULT
    } else {
        let list = req
            .only
            .iter()
            .filter(|k| !k.trim().is_empty())
            .map(|k| k.parse::<Repair>())
            .collect::<Result<Vec<_>, String>>()
            .map_err(|e| anyhow::anyhow!("--only: {e}"))?;
        Kinds::only(&list)
    };
    // Reading an existing database only: a typo in --db is an error, not an empty database.
    drop(open_existing(&cfg)?);
    let writer = command_writer(&cfg)?;
    let archive = if cfg.archive.wayback {
        match lookup::WaybackArchive::new(&cfg.archive, &cfg.check.user_agent) {
            Ok(a) => Some(a),
            Err(e) => {
                tracing::warn!("archived copies cannot be looked up: {e}");
                None
            }
        }
    } else {
        None
    };
    let request = fix::Request {
        post: req.post.clone(),
        kinds,
        apply: req.apply,
    };
    let report = fix::run(
        &writer,
        &cfg,
        &request,
        archive.as_ref().map(|a| a as &dyn lookup::Archive),
        &fix::apply::RealFs,
        now,
    )?;
    match req.format {
        FixFormat::Json => print(&(fix::report::json(&report, req.apply) + "\n"))?,
        FixFormat::Diff => {
            let color = std::io::stdout().is_terminal();
            print(&fix::report::text(&report, req.apply, color))?;
        }
    }
    if report.looked_up > 0 && !req.quiet {
        eprintln!(
            "citewatch: looked up {} archived copies, found {}",
            report.looked_up, report.found
        );
    }
    if !report.lookup_errors.is_empty() {
        eprintln!(
            "citewatch: {} archive look-ups failed (last: {}); copies still missing are listed",
            report.lookup_errors.len(),
            report::sanitize(
                report
                    .lookup_errors
                    .last()
                    .map(String::as_str)
                    .unwrap_or("")
            )
        );
    }
    if let Some(rescan) = &report.rescan {
        print_scan(rescan, req.quiet);
    }
    if req.apply && !req.quiet {
        let trees = fix::apply::git_trees(report.written().map(|p| p.file.as_path()));
        for line in fix::report::git_lines(&trees) {
            eprintln!("citewatch: {line}");
        }
    }
    Ok(if report.failed().next().is_some() {
        Outcome::Fatal
    } else {
        Outcome::Clean
    })
}
