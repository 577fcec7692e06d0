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
use citewatch::pipeline::{self, CycleKind};
use citewatch::report;
use citewatch::rows::stamp;
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

mod check;
mod db;
mod fix;
mod query;
mod service;

use check::{exit_for, print_scan};

pub fn run(args: Args) -> Result<Outcome> {
    let cfg = load_config(&args)?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let quiet = args.quiet;
    match &args.command {
        Command::Daemon => service::daemon(cfg, &args),
        Command::Serve { listen } => service::serve(cfg, *listen),
        Command::Alerts { action, format } => service::alerts(cfg, action.as_ref(), *format),
        Command::Scan { paths } => check::scan(&with_paths(cfg, paths)?, clock, quiet),
        Command::Run {
            paths,
            format,
            no_alerts,
        } => check::run(&with_paths(cfg, paths)?, clock, quiet, *format, !no_alerts),
        Command::Check {
            urls,
            all,
            no_alerts,
        } => check::check(&cfg, clock, quiet, urls, *all, !no_alerts),
        Command::Status {
            state,
            post,
            format,
        } => query::status(&cfg, state, post.clone(), *format),
        Command::History { url, format } => query::history(&cfg, url, *format),
        Command::Show { url } => query::show_link(&cfg, url),
        Command::Quotes {
            state,
            post,
            format,
        } => query::quotes_of(&cfg, state.as_deref(), post.as_deref(), *format),
        Command::Diff { url, from, to } => query::diff(&cfg, url, from, to),
        Command::Snapshot { url, at, raw } => query::snapshot(&cfg, url, at.as_deref(), *raw),
        Command::Fix {
            paths,
            post,
            only,
            apply,
            format,
        } => {
            let req = fix::FixRequest {
                post: post.clone(),
                only,
                apply: *apply,
                format: *format,
                quiet,
            };
            fix::fix(with_paths(cfg, paths)?, &req, clock.now())
        }
        Command::Accept { url } => db::accept(&cfg, url, clock.now()),
        Command::Db {
            what: DbWhat::Compact,
        } => db::compact(&cfg, clock.now()),
        Command::Db {
            what: DbWhat::Backup { file },
        } => db::backup(&cfg, file, quiet),
        Command::Db {
            what: DbWhat::Stats,
        } => db::stats(&cfg),
        Command::Export {
            what: ExportWhat::Warc { file, url, since },
        } => db::export(&cfg, file, url.as_deref(), since.as_deref()),
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

/// A time given on the command line: RFC 3339, or a date (its last second, so `--at DATE`
/// takes that whole day in).
fn time_arg(s: &str) -> Result<chrono::DateTime<chrono::Utc>> {
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

/// A `--since` given on the command line: RFC 3339, or a date (from its first second).
fn since_arg(s: &str) -> Result<chrono::DateTime<chrono::Utc>> {
    if let Ok(d) = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        if let Some(t) = d.and_hms_opt(0, 0, 0) {
            return Ok(t.and_utc());
        }
    }
    time_arg(s)
}
