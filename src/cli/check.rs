//! `scan`, `run` and `check`: read the posts, check links with progress and archive look-ups
//! beside, deliver the alerts they caused, print the summary and choose the exit code.

use super::*;

/// `citewatch scan`.
pub(super) fn scan(cfg: &Config, clock: Arc<dyn Clock>, quiet: bool) -> Result<Outcome> {
    let writer = command_writer(cfg)?;
    let rep = pipeline::scan_blocking(&writer, cfg, clock.now())?;
    print_scan(&rep, quiet);
    Ok(Outcome::Clean)
}

/// `citewatch run`: scan, check every cited link once, summarize.
pub(super) fn run(
    cfg: &Config,
    clock: Arc<dyn Clock>,
    quiet: bool,
    format: Format,
    alerts: bool,
) -> Result<Outcome> {
    let writer = command_writer(cfg)?;
    let rep = pipeline::scan_blocking(&writer, cfg, clock.now())?;
    print_scan(&rep, quiet);
    let links = writer.reader()?.link_ids_to_check()?;
    let run = Checking {
        kind: CycleKind::Run,
        quiet,
        alerts,
    };
    let offline = run.check(&writer, cfg, clock, links)?;
    summarize(&writer.reader()?, format, offline)
}

/// `citewatch check URL... | --all`.
pub(super) fn check(
    cfg: &Config,
    clock: Arc<dyn Clock>,
    quiet: bool,
    urls: &[String],
    all: bool,
    alerts: bool,
) -> Result<Outcome> {
    if urls.is_empty() && !all {
        bail!("say which links to check: `citewatch check URL...` or `citewatch check --all`");
    }
    let store = open_existing(cfg)?;
    let links = if all {
        store.link_ids_to_check()?
    } else {
        let mut wanted = Vec::new();
        for u in urls {
            wanted.push(resolve_url(&store, u)?);
        }
        let links = store.links_to_check(Some(&wanted))?;
        if links.len() < wanted.len() {
            let missing: Vec<_> = wanted
                .iter()
                .filter(|w| !links.iter().any(|l| &l.url == *w))
                .collect();
            bail!(
                "not a checkable cited link: {} (see `citewatch status`; skipped and internal links are not fetched)",
                missing.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
            );
        }
        links.iter().map(|l| l.id).collect()
    };
    drop(store);
    let writer = command_writer(cfg)?;
    let run = Checking {
        kind: CycleKind::Check,
        quiet,
        alerts,
    };
    let offline = run.check(&writer, cfg, clock, links)?;
    summarize(&writer.reader()?, Format::Table, offline)
}

pub(super) fn print_scan(rep: &pipeline::ScanReport, quiet: bool) {
    for p in &rep.problems {
        eprintln!(
            "citewatch: skipped {}: {}",
            report::sanitize(&p.path),
            report::sanitize(&p.message)
        );
    }
    if !quiet {
        for line in &rep.sites {
            eprintln!("citewatch: {}", report::sanitize(line));
        }
        for w in &rep.warnings {
            eprintln!(
                "citewatch: warning: {}: {}",
                report::sanitize(&w.path),
                report::sanitize(&w.message)
            );
        }
        eprintln!(
            "scanned {} files ({} read, {} unchanged, {} skipped, {} removed): {} citations",
            rep.files,
            rep.read,
            rep.unchanged,
            rep.problems.len(),
            rep.removed,
            rep.citations
        );
    }
}

/// How long `run` and `check` spend delivering the alerts they caused before they exit; what is
/// not delivered by then stays in the outbox for the next run or the daemon.
const DELIVERY_LIMIT: Duration = pipeline::BEFORE_EXIT;

/// A check run from the command line: progress on a terminal, archive look-ups beside the checks,
/// alerts delivered before exiting, Ctrl-C or SIGTERM letting running checks finish.
struct Checking {
    kind: CycleKind,
    quiet: bool,
    alerts: bool,
}

impl Checking {
    /// Checks the links of `ids`; returns why the run looked like this machine's own outage, if
    /// it did.
    fn check(
        &self,
        writer: &Writer,
        cfg: &Config,
        clock: Arc<dyn Clock>,
        ids: Vec<i64>,
    ) -> Result<Option<Outage>> {
        let total = ids.len() as u64;
        let bar = if !self.quiet && std::io::stderr().is_terminal() && total > 0 {
            let b = indicatif::ProgressBar::new(total);
            b.set_style(
                indicatif::ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {bar:40} {pos}/{len} {wide_msg}",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            Some(b)
        } else {
            None
        };
        let b2 = bar.clone();
        let app = citewatch::wiring::Wiring::new(cfg.clone(), writer.clone(), clock)?;
        let deliver = self.alerts.then_some(DELIVERY_LIMIT);
        let stats = runtime()?.block_on(async {
            let stop = CancellationToken::new();
            let stopper = stop.clone();
            match citewatch::wiring::termination() {
                Ok(signalled) => {
                    tokio::spawn(async move {
                        signalled.await;
                        eprintln!("citewatch: stopping: no new checks; running ones finish");
                        stopper.cancel();
                    });
                }
                Err(e) => tracing::warn!("cannot listen for SIGTERM and SIGINT: {e}"),
            }
            app.check_once(self.kind, ids, &stop, deliver, move |url, _| {
                if let Some(b) = &b2 {
                    b.inc(1);
                    b.set_message(report::sanitize(url));
                }
            })
            .await
        })?;
        if let Some(b) = bar {
            b.finish_and_clear();
        }
        if stats.not_started > 0 {
            eprintln!(
                "citewatch: stopped before {} of {} links were checked",
                stats.not_started, total
            );
        }
        Ok(stats.outage)
    }
}

/// The links a run reports: a failing state (verified or not), or a citation whose fragment is
/// not on the page.
fn bad_rows(store: &Store) -> Result<Vec<citewatch::rows::StatusRow>> {
    // Chosen in SQL: holding every link's row first made a run's peak memory and time grow with
    // the number of links (50,000 links: 126 MiB, 70 of them this list).
    Ok(store.failing()?)
}

/// 2 when a cited link is failing; 1 when the only failing verdicts are unverified (their checks
/// could not reach the web: nothing is known to be broken, and nothing is known to be fine).
pub(super) fn exit_for(store: &Store) -> Result<Outcome> {
    Ok(exit_of(&bad_rows(store)?))
}

/// [`exit_for`] of the failing rows already read.
fn exit_of(failing: &[citewatch::rows::StatusRow]) -> Outcome {
    if failing.iter().any(|r| r.is_failing()) {
        Outcome::Failing
    } else if failing.iter().any(|r| r.unverified) {
        Outcome::Fatal
    } else {
        Outcome::Clean
    }
}

fn summarize(store: &Store, format: Format, outage: Option<Outage>) -> Result<Outcome> {
    let counts = store.counts()?;
    let bad = bad_rows(store)?;
    match format {
        Format::Json => print(&(report::status_json(&bad) + "\n"))?,
        Format::Csv => print(&report::status_csv(&bad))?,
        Format::Table => print(&report::run_summary(&counts, &bad))?,
    }
    if let Some(o) = outage {
        eprintln!(
            "citewatch: {}; no strike was counted against any citation, and the verdicts of links that got no answer are unverified",
            o.describe()
        );
        // The verdicts above say nothing about the web: citewatch could not reach it, or its
        // canary says it cannot trust what it saw (README: either outage exits 1).
        return Ok(Outcome::Fatal);
    }
    Ok(exit_of(&bad))
}
