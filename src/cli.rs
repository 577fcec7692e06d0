//! The command line: clap definitions and one thin handler per command over the library.
//! Everything a command decides lives in the library; this file parses, calls and prints.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context as _, Result};
use clap::{Parser, Subcommand, ValueEnum};

use citewatch::clock::{Clock, SystemClock};
use citewatch::config::{self, Config, SourceConfig};
use citewatch::confirm::Outage;
use citewatch::pipeline::{self, CheckRun, CycleKind};
use citewatch::report;
use citewatch::state::State;
use citewatch::store::{Patience, Writer};
use citewatch::store::{StatusFilter, Store};
use tokio_util::sync::CancellationToken;

/// How the process ends; the numbers are documented in the README.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// No cited link is broken, error or soft_404.
    Clean,
    /// Some cited link is broken, error or soft_404.
    Failing,
    /// citewatch itself failed.
    Fatal,
}

impl From<Outcome> for ExitCode {
    fn from(o: Outcome) -> ExitCode {
        match o {
            Outcome::Clean => ExitCode::SUCCESS,
            Outcome::Failing => ExitCode::from(2),
            Outcome::Fatal => ExitCode::from(1),
        }
    }
}

#[derive(Debug, Parser)]
#[command(
    name = "citewatch",
    version,
    about = "Keeps a blog's citations alive: finds every cited URL, checks it, archives it, reports rot.",
    after_help = "Exit codes: 0 no cited link is broken, error or soft_404; 2 some are; 1 citewatch failed."
)]
pub struct Args {
    /// Config file (default: ./citewatch.toml when present).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Database file (overrides the config; default: ./citewatch.db).
    #[arg(long, global = true, value_name = "FILE")]
    pub db: Option<PathBuf>,
    /// More output (-v: debug, -vv: trace).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Less output: errors only.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Read posts and record their citations; no network.
    Scan {
        /// Post folders (default: the config's sources).
        paths: Vec<PathBuf>,
    },
    /// Scan, check every cited link once, confirm, alert, print a summary.
    Run {
        /// Post folders (default: the config's sources).
        paths: Vec<PathBuf>,
        /// Summary format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        /// Do not deliver the alerts this run causes (they wait in the outbox for the daemon or
        /// the next run).
        #[arg(long)]
        no_alerts: bool,
    },
    /// Check links now.
    Check {
        /// URLs to check (as recorded; see `status`).
        urls: Vec<String>,
        /// Check every cited link.
        #[arg(long, conflicts_with = "urls")]
        all: bool,
        /// Do not deliver the alerts this check causes.
        #[arg(long)]
        no_alerts: bool,
    },
    /// Current state of every cited link.
    Status {
        /// Only these states, comma-separated (e.g. broken,soft_404).
        #[arg(long, value_delimiter = ',')]
        state: Vec<String>,
        /// Only links cited by posts whose path contains this.
        #[arg(long)]
        post: Option<String>,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Every check of a link, oldest first.
    History {
        url: String,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// A link's state, citing posts, redirect chain and snapshots.
    Show { url: String },
    /// The archived text of a link, or the exact archived bytes.
    Snapshot {
        url: String,
        /// The snapshot current at this time (RFC 3339 or YYYY-MM-DD; default: the latest).
        #[arg(long)]
        at: Option<String>,
        /// The exact archived bytes instead of the readable text.
        #[arg(long)]
        raw: bool,
    },
    /// Make the latest snapshot of a link its new baseline (accept a change).
    Accept { url: String },
    /// Word diff of a link's text between two snapshots (default: baseline → latest).
    Diff {
        url: String,
        /// The snapshot current at this time instead of the baseline.
        #[arg(long)]
        from: Option<String>,
        /// The snapshot current at this time instead of the latest.
        #[arg(long)]
        to: Option<String>,
    },
    /// Repair rotted citations in the posts: replace confirmed permanent redirects, add links to
    /// archived copies of dead pages. Shows a diff; writes only with --apply; never commits.
    Fix {
        /// Post folders (default: the config's sources).
        paths: Vec<PathBuf>,
        /// Only posts whose path contains this.
        #[arg(long)]
        post: Option<String>,
        /// Only these repairs, comma-separated: redirected, dead, changed (default:
        /// redirected,dead; changed pages are repaired only when named here).
        #[arg(long, value_delimiter = ',', value_name = "KINDS")]
        only: Vec<String>,
        /// Write the changes to the posts (atomically), then scan them again.
        #[arg(long)]
        apply: bool,
        /// Output: a unified diff per post and a summary, or the planned edits as JSON.
        #[arg(long, value_enum, default_value_t = FixFormat::Diff)]
        format: FixFormat,
    },
    /// Database maintenance.
    Db {
        #[command(subcommand)]
        what: DbWhat,
    },
    /// Run as a service: check on the configured schedule, alert on confirmed changes.
    Daemon,
    /// A read-only web dashboard of the database, with /metrics, until stopped.
    Serve {
        /// Address to listen on (default: [serve] listen, else 127.0.0.1:8470). Any address
        /// beyond loopback needs [serve] token_file.
        #[arg(long, value_name = "ADDR")]
        listen: Option<std::net::SocketAddr>,
    },
    /// Every passage the posts quote, and whether it still stands on the page as last archived.
    Quotes {
        /// Only quotes in this standing: stands, missing or unknown (never archived).
        #[arg(long, value_parser = ["stands", "missing", "unknown"])]
        state: Option<String>,
        /// Only quotes in posts whose path contains this.
        #[arg(long)]
        post: Option<String>,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Export the archive.
    Export {
        #[command(subcommand)]
        what: ExportWhat,
    },
    /// Alert events and their delivery state; `alerts test` tries every sink.
    Alerts {
        #[command(subcommand)]
        action: Option<AlertsAction>,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
}

#[derive(Debug, Subcommand)]
pub enum DbWhat {
    /// Sizes and row counts.
    Stats,
    /// Thin old checks (see `[retention]`) and give the space back.
    Compact,
    /// Copy the database to FILE, consistently, even while the daemon runs (SQLite's online
    /// backup); the copy is one file, with no `-wal` beside it. The way to back citewatch up.
    Backup {
        /// Where to write the copy; must not exist yet.
        file: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum ExportWhat {
    /// Write WARC/1.1 (`.warc.gz`, one gzip member per record) for replay tools.
    Warc {
        file: PathBuf,
        /// Only this link.
        #[arg(long)]
        url: Option<String>,
        /// Only checks at or after this time (RFC 3339 or YYYY-MM-DD).
        #[arg(long)]
        since: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum AlertsAction {
    /// Send a test event to every configured sink and say which worked.
    Test,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FixFormat {
    Diff,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Json,
    Csv,
}

/// Human lines with times on a terminal; plain lines without timestamps under journald (it adds
/// its own); `RUST_LOG` wins over `-v`/`-q`.
pub fn init_logging(args: &Args) {
    use tracing_subscriber::EnvFilter;
    let daemon = matches!(args.command, Command::Daemon);
    let default = if args.quiet {
        "error"
    } else {
        match (args.verbose, daemon) {
            (0, false) => "warn",
            // notify logs its own harmless races (a deleted folder's watch removed twice).
            (0, true) => "info,notify=error",
            (1, _) => "info,citewatch=debug",
            _ => "trace",
        }
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let journald = std::env::var_os("JOURNAL_STREAM").is_some();
    let terminal = std::io::stderr().is_terminal();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(terminal && !journald);
    let _ = if journald {
        builder.without_time().try_init()
    } else {
        builder.try_init()
    };
}

/// Loads the config: `--config`, else ./citewatch.toml when present, else the defaults.
fn load_config(args: &Args) -> Result<Config> {
    let mut cfg = match &args.config {
        Some(p) => Config::load(p)?,
        None => {
            let p = Path::new(config::defaults::CONFIG_FILE);
            if p.exists() {
                Config::load(p)?
            } else {
                Config::default()
            }
        }
    };
    if let Some(db) = &args.db {
        cfg.db = db.clone();
    }
    Ok(cfg)
}

/// PATH arguments replace the configured sources; a PATH that names a configured source keeps its
/// settings (base_url, globs).
fn with_paths(mut cfg: Config, paths: &[PathBuf]) -> Result<Config> {
    if !paths.is_empty() {
        let configured = std::mem::take(&mut cfg.sources);
        cfg.sources = paths
            .iter()
            .map(|p| {
                configured
                    .iter()
                    .find(|s| same_path(&s.path, p))
                    .cloned()
                    .unwrap_or_else(|| SourceConfig::bare(p.clone()))
            })
            .collect();
    }
    for s in &cfg.sources {
        if !s.path.is_dir() {
            return Err(citewatch::source::SourceError::Missing {
                path: s.path.clone(),
            }
            .into());
        }
    }
    if cfg.sources.is_empty() {
        bail!(
            "no posts to read: give a folder (`citewatch run posts/`) or add a [[source]] to {}",
            cfg.file
                .as_deref()
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| config::defaults::CONFIG_FILE.to_string())
        );
    }
    Ok(cfg)
}

fn same_path(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
    }
}

/// The writer of a one-shot command: it waits out a lock, but stops at once on a full disk.
fn command_writer(cfg: &Config) -> Result<Writer> {
    Ok(Writer::start_with(&cfg.db, Patience::COMMAND)?)
}

fn open_existing(cfg: &Config) -> Result<Store> {
    Ok(Store::open_existing(&cfg.db)?)
}

pub fn run(args: Args) -> Result<Outcome> {
    let cfg = load_config(&args)?;
    if let Command::Daemon = args.command {
        return daemon(cfg, &args);
    }
    if let Command::Serve { listen } = args.command {
        return serve(cfg, listen);
    }
    if let Command::Alerts { action, format } = &args.command {
        return alerts(cfg, action.as_ref(), *format);
    }
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    match &args.command {
        Command::Scan { paths } => {
            let cfg = with_paths(cfg, paths)?;
            let writer = command_writer(&cfg)?;
            let rep = pipeline::scan_blocking(&writer, &cfg, clock.now())?;
            print_scan(&rep, args.quiet);
            Ok(Outcome::Clean)
        }
        Command::Run {
            paths,
            format,
            no_alerts,
        } => {
            let cfg = with_paths(cfg, paths)?;
            let writer = command_writer(&cfg)?;
            let rep = pipeline::scan_blocking(&writer, &cfg, clock.now())?;
            print_scan(&rep, args.quiet);
            let links = writer.reader()?.links_to_check(None)?;
            let run = Checking {
                kind: CycleKind::Run,
                quiet: args.quiet,
                alerts: !no_alerts,
            };
            let offline = run.check(&writer, &cfg, clock, links)?;
            summarize(&writer.reader()?, *format, offline)
        }
        Command::Check {
            urls,
            all,
            no_alerts,
        } => {
            if urls.is_empty() && !all {
                bail!(
                    "say which links to check: `citewatch check URL...` or `citewatch check --all`"
                );
            }
            let store = open_existing(&cfg)?;
            let links = if *all {
                store.links_to_check(None)?
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
                links
            };
            drop(store);
            let writer = command_writer(&cfg)?;
            let run = Checking {
                kind: CycleKind::Check,
                quiet: args.quiet,
                alerts: !no_alerts,
            };
            let offline = run.check(&writer, &cfg, clock, links)?;
            summarize(&writer.reader()?, Format::Table, offline)
        }
        Command::Status {
            state,
            post,
            format,
        } => {
            let store = open_existing(&cfg)?;
            let states = state
                .iter()
                .filter(|s| !s.trim().is_empty())
                .map(|s| s.parse::<State>())
                .collect::<Result<Vec<_>, _>>()?;
            let rows = store.status(&StatusFilter {
                states,
                post: post.clone(),
                cited_only: true,
            })?;
            let out = match format {
                Format::Json => report::status_json(&rows) + "\n",
                Format::Csv => report::status_csv(&rows),
                Format::Table => report::status_table(&rows),
            };
            print(&out)?;
            exit_for(&store)
        }
        Command::History { url, format } => {
            let store = open_existing(&cfg)?;
            let url = resolve_url(&store, url)?;
            let id = store.link_id(&url)?.context("link vanished")?;
            let rows = store.history(id)?;
            let out = match format {
                Format::Json => report::history_json(&rows) + "\n",
                Format::Table | Format::Csv => report::history_table(&rows),
            };
            print(&out)?;
            Ok(Outcome::Clean)
        }
        Command::Show { url } => {
            let store = open_existing(&cfg)?;
            let url = resolve_url(&store, url)?;
            print(&show(&store, &url)?)?;
            Ok(Outcome::Clean)
        }
        Command::Daemon | Command::Alerts { .. } | Command::Serve { .. } => Ok(Outcome::Clean),
        Command::Fix {
            paths,
            post,
            only,
            apply,
            format,
        } => {
            let cfg = with_paths(cfg, paths)?;
            let req = FixRequest {
                post: post.clone(),
                only,
                apply: *apply,
                format: *format,
                quiet: args.quiet,
            };
            fix(cfg, &req, clock.now())
        }
        Command::Accept { url } => {
            let store = open_existing(&cfg)?;
            let url = resolve_url(&store, url)?;
            let id = store.link_id(&url)?.context("link vanished")?;
            drop(store);
            let now = clock.now();
            let accepted = command_writer(&cfg)?
                .run_blocking("an accepted baseline", move |s| s.accept(id, now))?;
            match accepted {
                Some(h) => println!("{url}: baseline is now snapshot {}", &h[..h.len().min(16)]),
                None => {
                    bail!("{url} has no archived snapshot yet; run `citewatch check {url}` first")
                }
            }
            Ok(Outcome::Clean)
        }
        Command::Quotes {
            state,
            post,
            format,
        } => {
            let store = open_existing(&cfg)?;
            print(&quotes(&store, state.as_deref(), post.as_deref(), *format)?)?;
            Ok(Outcome::Clean)
        }
        Command::Diff { url, from, to } => {
            let store = open_existing(&cfg)?;
            let url = resolve_url(&store, url)?;
            let id = store.link_id(&url)?.context("link vanished")?;
            let history = store.history(id)?;
            let at =
                |t: &Option<String>| -> Result<Option<String>> {
                    let Some(t) = t else { return Ok(None) };
                    Ok(citewatch::rows::snapshot_at(&history, Some(parse_time(t)?))
                        .map(str::to_string))
                };
            let old = match at(from)? {
                Some(h) => h,
                None if from.is_some() => bail!(
                    "no snapshot of {url} at or before {}",
                    from.as_deref().unwrap_or("")
                ),
                None => store
                    .baseline(id)?
                    .context("no baseline yet: the link was never archived in a good state")?,
            };
            let new = match at(to)? {
                Some(h) => h,
                None if to.is_some() => bail!(
                    "no snapshot of {url} at or before {}",
                    to.as_deref().unwrap_or("")
                ),
                None => citewatch::rows::snapshot_at(&history, None)
                    .map(str::to_string)
                    .context("no snapshot yet")?,
            };
            if old == new {
                println!(
                    "{url}: no difference (same snapshot {})",
                    &old[..old.len().min(16)]
                );
                return Ok(Outcome::Clean);
            }
            let ops = store.reads().text_diff(&old, &new)?;
            let color = std::io::stdout().is_terminal();
            // Why the link is where it is (a quoted passage gone, a retraction...), above the diff.
            if let Some(row) = store.link_status(&url)? {
                if let Some(e) = row.error.filter(|_| row.state == State::Changed) {
                    print(&format!("{}: {}\n", row.state, report::sanitize(&e)))?;
                }
            }
            print(&format!(
                "--- {}\n+++ {}\n{}\n",
                &old[..old.len().min(16)],
                &new[..new.len().min(16)],
                citewatch::diff::render(&ops, color)
            ))?;
            Ok(Outcome::Clean)
        }
        Command::Db {
            what: DbWhat::Compact,
        } => {
            let store = open_existing(&cfg)?;
            let before = store.stats()?;
            drop(store);
            let cutoff = cfg
                .thin_checks_after
                .map(|d| clock.now() - chrono::Duration::from_std(d).unwrap_or_default());
            let writer = command_writer(&cfg)?;
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
        Command::Db {
            what: DbWhat::Backup { file },
        } => {
            let store = open_existing(&cfg)?;
            store.backup(file).with_context(|| {
                format!("cannot back up {} to {}", cfg.db.display(), file.display())
            })?;
            if !args.quiet {
                eprintln!("backed up {} to {}", cfg.db.display(), file.display());
            }
            Ok(Outcome::Clean)
        }
        Command::Db {
            what: DbWhat::Stats,
        } => {
            let store = open_existing(&cfg)?;
            print(&report::db_stats(&store.stats()?))?;
            Ok(Outcome::Clean)
        }
        Command::Export {
            what: ExportWhat::Warc { file, url, since },
        } => {
            let store = open_existing(&cfg)?;
            let url = url.as_deref().map(|u| resolve_url(&store, u)).transpose()?;
            let since = since.as_deref().map(parse_since).transpose()?;
            let n = export_warc(&store, file, url.as_deref(), since, &cfg.check.user_agent)?;
            eprintln!("wrote {n} records to {}", file.display());
            Ok(Outcome::Clean)
        }
        Command::Snapshot { url, at, raw } => {
            let store = open_existing(&cfg)?;
            let url = resolve_url(&store, url)?;
            let id = store.link_id(&url)?.context("link vanished")?;
            let at = at.as_deref().map(parse_time).transpose()?;
            let history = store.history(id)?;
            let hash = citewatch::rows::snapshot_at(&history, at)
                .map(str::to_string)
                .with_context(|| {
                    format!(
                        "no snapshot of {url}{}",
                        if at.is_some() {
                            " at or before that time"
                        } else {
                            ""
                        }
                    )
                })?;
            if *raw {
                let body = store
                    .snapshot_body(&hash)?
                    .context("snapshot body missing")?;
                std::io::stdout().write_all(&body)?;
            } else {
                let meta = store.snapshot_meta(&hash)?.context("snapshot missing")?;
                let mut out = String::new();
                if let Some(t) = &meta.title {
                    out.push_str(&format!("# {}\n\n", report::sanitize(t)));
                }
                let text = store.reads().snapshot_text(&hash)?.unwrap_or_default();
                out.push_str(&report::sanitize_block(&text));
                out.push('\n');
                print(&out)?;
            }
            Ok(Outcome::Clean)
        }
    }
}

/// Accepts a URL as the user typed it: exactly as recorded, or normalized the way extraction does.
fn resolve_url(store: &Store, input: &str) -> Result<String> {
    if store.link_id(input)?.is_some() {
        return Ok(input.to_string());
    }
    if let Ok(mut u) = url::Url::parse(input.trim()) {
        u.set_fragment(None);
        if store.link_id(u.as_str())?.is_some() {
            return Ok(u.to_string());
        }
    }
    bail!(
        "no cited link {input:?} in {}; `citewatch status` lists them",
        store.path().display()
    )
}

fn parse_time(s: &str) -> Result<chrono::DateTime<chrono::Utc>> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&chrono::Utc));
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        if let Some(t) = d.and_hms_opt(23, 59, 59) {
            return Ok(t.and_utc());
        }
    }
    bail!("invalid time {s:?}; write it like 2026-11-22 or 2026-11-22T10:00:00Z")
}

fn print(s: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(s.as_bytes()).and_then(|_| out.flush()) {
        // A closed pipe (`citewatch status | head`) is not an error worth reporting.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        r => Ok(r?),
    }
}

fn print_scan(rep: &pipeline::ScanReport, quiet: bool) {
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
    /// Checks `links`; returns why the run looked like this machine's own outage, if it did.
    fn check(
        &self,
        writer: &Writer,
        cfg: &Config,
        clock: Arc<dyn Clock>,
        links: Vec<citewatch::store::LinkToCheck>,
    ) -> Result<Option<Outage>> {
        let total = links.len() as u64;
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
        let run = CheckRun {
            writer: writer.clone(),
            check: cfg.check.clone(),
            alerts: cfg.alerts.clone(),
            clock: clock.clone(),
            kind: self.kind,
        };
        let lookups = pipeline::Lookups {
            writer: writer.clone(),
            archive: cfg.archive.clone(),
            user_agent: cfg.check.user_agent.clone(),
            clock: clock.clone(),
            confirmed_only: false,
        };
        let budget = cfg.archive.budget;
        let stats = runtime()?.block_on(async {
            let stop = CancellationToken::new();
            let stopper = stop.clone();
            tokio::spawn(async move {
                use tokio::signal::unix::{signal, SignalKind};
                if let (Ok(mut term), Ok(mut int)) = (
                    signal(SignalKind::terminate()),
                    signal(SignalKind::interrupt()),
                ) {
                    tokio::select! {
                        _ = term.recv() => {}
                        _ = int.recv() => {}
                    }
                    eprintln!("citewatch: stopping: no new checks; running ones finish");
                    stopper.cancel();
                }
            });
            let checks_done = CancellationToken::new();
            let looking = {
                let (done, stop) = (checks_done.clone(), stop.clone());
                tokio::spawn(async move {
                    pipeline::lookup_archives(&lookups, &done, budget, &stop).await
                })
            };
            let stats = pipeline::check(&run, links, &stop, move |url, _| {
                if let Some(b) = &b2 {
                    b.inc(1);
                    b.set_message(report::sanitize(url));
                }
            })
            .await;
            checks_done.cancel();
            match looking.await {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => tracing::warn!("archive look-ups: {e}"),
                Err(e) => tracing::warn!("archive look-ups failed: {e}"),
            }
            let stats = stats?;
            if self.alerts {
                let http = reqwest::Client::builder().no_proxy().build()?;
                let progress = || {};
                let sent = pipeline::deliver_due_within(
                    DELIVERY_LIMIT,
                    writer,
                    &cfg.alerts,
                    &http,
                    &clock,
                    &progress,
                )
                .await;
                match sent {
                    Some(Ok(r)) if r.failed > 0 => tracing::warn!(
                        "{} alert deliveries failed; they are tried again by the next run",
                        r.failed
                    ),
                    Some(Ok(_)) => {}
                    Some(Err(e)) => tracing::warn!("alert delivery: {e}"),
                    None => tracing::warn!(
                        "alert delivery took longer than {DELIVERY_LIMIT:?}; the rest waits for the next run"
                    ),
                }
            }
            anyhow::Ok(stats)
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
    // Filtered as read: holding every link's row first made a run's peak memory grow with
    // the number of links (50,000 links: 126 MiB, 70 of them this list).
    Ok(store.status_kept(
        &StatusFilter {
            states: Vec::new(),
            post: None,
            cited_only: true,
        },
        |r| r.state.is_failing() || r.is_failing(),
    )?)
}

/// 2 when a cited link is failing; 1 when the only failing verdicts are unverified (their checks
/// could not reach the web: nothing is known to be broken, and nothing is known to be fine).
fn exit_for(store: &Store) -> Result<Outcome> {
    let failing = bad_rows(store)?;
    Ok(if failing.iter().any(|r| r.is_failing()) {
        Outcome::Failing
    } else if failing.iter().any(|r| r.unverified) {
        Outcome::Fatal
    } else {
        Outcome::Clean
    })
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
    exit_for(store)
}

fn show(store: &Store, url: &str) -> Result<String> {
    use std::fmt::Write as _;
    let row = store.link_status(url)?.context("link vanished")?;
    let mut out = String::new();
    writeln!(out, "{}", report::sanitize(&row.url))?;
    writeln!(
        out,
        "  state:      {} since {} ({} checks)",
        row.shown_state(),
        row.since,
        row.streak
    )?;
    if let Some(c) = &row.checked_at {
        writeln!(out, "  checked:    {c}")?;
    }
    if let Some(s) = row.http_status {
        writeln!(out, "  http:       {s}")?;
    }
    if let Some(f) = &row.final_url {
        writeln!(out, "  final url:  {}", report::sanitize(f))?;
    }
    if let Some(e) = &row.error {
        writeln!(out, "  error:      {}", report::sanitize(e))?;
    }
    if let Some(a) = &row.archived_url {
        writeln!(out, "  archived:   {}", report::sanitize(a))?;
    }
    let history = store.history(row.id)?;
    // The quotes stand or not on the latest archived page, by the rule `quotes` and the verdict use.
    let latest = history.iter().rev().find_map(|c| c.snapshot.clone());
    let mut judge = citewatch::store::QuoteJudge::new(store, usize::MAX);
    writeln!(out, "  cited by:")?;
    for c in &row.citations {
        writeln!(
            out,
            "    {}:{}  {}",
            report::sanitize(&c.post),
            c.line,
            report::sanitize(&c.text)
        )?;
        if let (Some(f), Some(st)) = (&c.fragment, &c.fragment_standing) {
            writeln!(
                out,
                "      #{}: {st}{}",
                report::sanitize(&truncate_chars(f, 80)),
                c.fragment_reason
                    .as_deref()
                    .map(|r| format!(" ({})", report::sanitize(r)))
                    .unwrap_or_default()
            )?;
        }
        if let Some(q) = &c.quote {
            writeln!(
                out,
                "      quotes: “{}”",
                report::sanitize(&truncate_chars(q, 160))
            )?;
            let standing = judge.standing(q, latest.as_deref())?;
            match standing.reason() {
                Some(r) => writeln!(out, "      {}: {}", standing.name(), report::sanitize(r))?,
                None => writeln!(out, "      {}", standing.name())?,
            }
        }
    }
    if let Some(chain) = history.iter().rev().find_map(|c| c.redirects.as_ref()) {
        writeln!(out, "  redirects (last check that had any):")?;
        for h in chain.hops() {
            writeln!(
                out,
                "    {} {} → {}",
                h.status,
                report::sanitize(h.url.as_str()),
                report::sanitize(&h.location)
            )?;
        }
    }
    let baseline = store.baseline(row.id)?;
    let mut seen = std::collections::HashSet::new();
    writeln!(out, "  snapshots:")?;
    for c in &history {
        if let Some(h) = &c.snapshot {
            if seen.insert(h.clone()) {
                let meta = store.snapshot_meta(h)?;
                let (size, title) = meta
                    .map(|m| (m.size, m.title.unwrap_or_default()))
                    .unwrap_or((0, String::new()));
                writeln!(
                    out,
                    "    {}  {}  {} bytes{}  {}",
                    c.checked_at,
                    &h[..h.len().min(16)],
                    size,
                    if baseline.as_deref() == Some(h.as_str()) {
                        " (baseline)"
                    } else {
                        ""
                    },
                    report::sanitize(&title)
                )?;
            }
        }
    }
    if seen.is_empty() {
        writeln!(out, "    none")?;
    }
    Ok(out)
}

/// At most `max` characters of `s`, with an ellipsis when cut.
fn truncate_chars(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &s[..at]),
        None => s.to_string(),
    }
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// `citewatch serve`: the dashboard until SIGTERM or Ctrl-C.
fn serve(cfg: Config, listen: Option<std::net::SocketAddr>) -> Result<Outcome> {
    use citewatch::serve::{self, Dashboard, Token};
    let listen = match listen.or(cfg.serve.listen) {
        Some(a) => a,
        None => config::defaults::SERVE_LISTEN.parse()?,
    };
    let token = cfg
        .serve
        .token_file
        .as_deref()
        .map(Token::from_file)
        .transpose()?;
    serve::check_exposure(listen, token.as_ref())?;
    // The database must exist; an older one is brought up to date as any query does.
    drop(open_existing(&cfg)?);
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    // `citewatch fix`'s planner, run dry, shows on each post what fix would do; it reads
    // through a writer handle as `fix` does, and writes nothing.
    let planner = if cfg.sources.is_empty() {
        serve::no_planner("the configuration names no [[source]] folder, so the post cannot be read to plan its repairs")
    } else {
        serve::fix_planner(Writer::start(&cfg.db)?, cfg.clone(), clock.clone())
    };
    runtime()?.block_on(async move {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?;
        let mut int = signal(SignalKind::interrupt()).context("cannot listen for SIGINT")?;
        let listener = serve::bind(listen, token.as_ref()).await?;
        let addr = listener.local_addr()?;
        eprintln!("citewatch: dashboard on http://{addr}/ (read-only; Ctrl-C stops it)");
        let dash = Arc::new(Dashboard::new(&cfg.db, token, clock).with_planner(planner));
        let shutdown = async move {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        };
        serve::run(listener, dash, shutdown).await;
        anyhow::Ok(())
    })?;
    Ok(Outcome::Clean)
}

fn daemon(cfg: Config, args: &Args) -> Result<Outcome> {
    // The daemon waits for space on a full disk (`Writer::start`); a command stops at once.
    use citewatch::daemon::{self, Control};
    let cfg = with_paths(cfg, &[])?;
    let writer = Writer::start(&cfg.db)?;
    let config_arg = args.config.clone();
    let db_arg = args.db.clone();
    let reload: daemon::Reloader = Box::new(move || {
        let path = config_arg
            .clone()
            .unwrap_or_else(|| PathBuf::from(config::defaults::CONFIG_FILE));
        let mut c = Config::load(&path).map_err(|e| e.to_string())?;
        if let Some(db) = &db_arg {
            c.db = db.clone();
        }
        with_paths(c, &[]).map_err(|e| format!("{e:#}"))
    });
    let rt = runtime()?;
    rt.block_on(async move {
        use tokio::signal::unix::{signal, SignalKind};
        let (tx, rx) = tokio::sync::mpsc::channel(8);
        let mut term = signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?;
        let mut int = signal(SignalKind::interrupt()).context("cannot listen for SIGINT")?;
        let mut hup = signal(SignalKind::hangup()).context("cannot listen for SIGHUP")?;
        tokio::spawn(async move {
            while hup.recv().await.is_some() {
                if tx.send(Control::Reload).await.is_err() {
                    break;
                }
            }
        });
        let shutdown = async move {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        };
        let deps = daemon::Deps {
            config: cfg,
            writer,
            reload,
            clock: Arc::new(SystemClock),
            notifier: Arc::new(citewatch::systemd::Notifier::from_env()),
            control: rx,
        };
        daemon::run(deps, shutdown)
            .await
            .map_err(anyhow::Error::from)
    })?;
    Ok(Outcome::Clean)
}

fn alerts(cfg: Config, action: Option<&AlertsAction>, format: Format) -> Result<Outcome> {
    use citewatch::alert::{sink, AlertEvent};
    match action {
        Some(AlertsAction::Test) => {
            let sinks = sink::sinks_from(&cfg.alerts);
            if sinks.is_empty() {
                bail!("no alert sinks configured: add [alerts] log = true or an [[alerts.webhook]], [[alerts.email]] or [[alerts.command]]");
            }
            let event = AlertEvent::test(SystemClock.now());
            // As the daemon delivers: never through a proxy from the environment.
            let http = reqwest::Client::builder().no_proxy().build()?;
            let results = runtime()?.block_on(async {
                let mut out = Vec::new();
                for s in &sinks {
                    out.push((
                        s.describe(),
                        s.deliver(std::slice::from_ref(&event), &http).await,
                    ));
                }
                out
            });
            let mut failed = false;
            for (name, r) in results {
                match r {
                    Ok(()) => println!("ok      {name}"),
                    Err(e) => {
                        failed = true;
                        println!("failed  {name}: {}", report::sanitize(&e.to_string()));
                    }
                }
            }
            Ok(if failed {
                Outcome::Fatal
            } else {
                Outcome::Clean
            })
        }
        None => {
            let store = open_existing(&cfg)?;
            let rows = store.alerts()?;
            match format {
                Format::Json => print(&(serde_json::to_string_pretty(&rows)? + "\n"))?,
                Format::Table | Format::Csv => {
                    let mut out = String::new();
                    for a in &rows {
                        out.push_str(&format!(
                            "{}  {:<9} {} -> {}  {}  [{}]\n",
                            a.created_at,
                            a.event,
                            a.old_state.as_deref().unwrap_or("-"),
                            a.new_state,
                            report::sanitize(a.url.as_deref().unwrap_or("")),
                            a.id
                        ));
                        for d in &a.deliveries {
                            out.push_str(&format!(
                                "    {:<12} {:<9} attempts {}{}\n",
                                d.sink,
                                d.state,
                                d.attempts,
                                d.last_error
                                    .as_deref()
                                    .map(|e| format!("  last error: {}", report::sanitize(e)))
                                    .unwrap_or_default()
                            ));
                        }
                    }
                    if rows.is_empty() {
                        out.push_str("no alerts yet\n");
                    }
                    print(&out)?;
                }
            }
            Ok(Outcome::Clean)
        }
    }
}

/// `citewatch quotes`: each quote with its standing on the link's latest archived page, by the
/// one rule the verdict and the dashboard use (`QuoteJudge`).
fn quotes(store: &Store, only: Option<&str>, post: Option<&str>, format: Format) -> Result<String> {
    use std::fmt::Write as _;
    let mut judge = citewatch::store::QuoteJudge::new(store, usize::MAX);
    let mut rows = Vec::new();
    for q in store.quotes(post)? {
        let standing = judge.standing(&q.quote, q.snapshot.as_deref())?;
        if only.is_some_and(|o| o != standing.name()) {
            continue;
        }
        rows.push((q, standing));
    }
    let mut out = String::new();
    match format {
        Format::Json => {
            let v: Vec<serde_json::Value> = rows
                .iter()
                .map(|(q, s)| {
                    serde_json::json!({
                        "post": q.post, "line": q.line, "url": q.url, "state": q.state,
                        "quote": q.quote, "standing": s.name(), "reason": s.reason(),
                        "checked_at": q.fetched_at,
                    })
                })
                .collect();
            out = serde_json::to_string_pretty(&v)? + "\n";
        }
        Format::Table | Format::Csv => {
            for (q, s) in &rows {
                writeln!(
                    out,
                    "{:<8} {}:{}  {}",
                    s.name(),
                    report::sanitize(&q.post),
                    q.line,
                    report::sanitize(&q.url)
                )?;
                writeln!(
                    out,
                    "         “{}”",
                    report::sanitize(&truncate_chars(&q.quote, 160))
                )?;
                if let Some(r) = s.reason() {
                    writeln!(out, "         {}", report::sanitize(r))?;
                }
            }
            if rows.is_empty() {
                out.push_str("no quotes\n");
            }
        }
    }
    Ok(out)
}

fn parse_since(s: &str) -> Result<chrono::DateTime<chrono::Utc>> {
    if let Ok(d) = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        if let Some(t) = d.and_hms_opt(0, 0, 0) {
            return Ok(t.and_utc());
        }
    }
    parse_time(s)
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
    use citewatch::warc::{Capture, WarcWriter};
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
    let mut first_seen: std::collections::HashMap<String, (String, chrono::DateTime<chrono::Utc>)> =
        Default::default();
    for r in &rows {
        let Some(meta) = store.snapshot_meta(&r.snapshot)? else {
            continue;
        };
        let headers: Vec<(String, String)> =
            serde_json::from_str(&meta.headers_json).unwrap_or_default();
        let uri = r.final_url.as_deref().unwrap_or(&r.url);
        let date = citewatch::store::parse_ts(&r.checked_at);
        let status = r.http_status.unwrap_or(200);
        match first_seen.get(&r.snapshot) {
            Some((first_uri, first_date)) => {
                // A revisit carries the payload's digest and the response head, not the body.
                let body = store.snapshot_body(&r.snapshot)?.unwrap_or_default();
                let c = Capture {
                    uri,
                    date,
                    status,
                    headers: &headers,
                    body: &body,
                };
                w.revisit(&c, first_uri, *first_date)?;
            }
            None => {
                let body = store.snapshot_body(&r.snapshot)?.unwrap_or_default();
                let c = Capture {
                    uri,
                    date,
                    status,
                    headers: &headers,
                    body: &body,
                };
                w.response(&c, user_agent)?;
                first_seen.insert(r.snapshot.clone(), (uri.to_string(), date));
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

/// What `citewatch fix` was asked.
struct FixRequest<'a> {
    post: Option<String>,
    only: &'a [String],
    apply: bool,
    format: FixFormat,
    quiet: bool,
}

/// `citewatch fix`: plans (and with --apply makes) the repairs, then prints diffs or JSON and a
/// summary. The library decides and writes; this prints.
fn fix(cfg: Config, req: &FixRequest<'_>, now: chrono::DateTime<chrono::Utc>) -> Result<Outcome> {
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
