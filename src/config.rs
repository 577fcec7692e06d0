//! Configuration: the TOML file (or the defaults, for a bare `citewatch run PATH`) validated once
//! into [`Config`]. Past this module nobody re-checks a string: durations are `Duration`s, URLs are
//! `Url`s, regexes are compiled.
//!
//! The whole schema lives here, including keys that only the daemon acts on, so a config file
//! written today keeps working. Unknown keys are an error naming the file and the key.

use std::path::{Path, PathBuf};
use std::time::Duration;

use regex::Regex;
use serde::Deserialize;
use url::Url;

/// Defaults, named so that the CLI, the README and `citewatch.example.toml` say the same thing.
pub mod defaults {
    use std::time::Duration;

    pub const DB: &str = "citewatch.db";
    pub const CONFIG_FILE: &str = "citewatch.toml";
    pub const TIMEOUT: Duration = Duration::from_secs(10);
    pub const CONCURRENCY: usize = 128;
    pub const PER_HOST_CONCURRENCY: usize = 4;
    pub const PER_HOST_INTERVAL: Duration = Duration::from_millis(100);
    pub const MAX_BODY: u64 = 10 * 1024 * 1024;
    pub const RETRIES: u32 = 2;
    pub const RETRY_AFTER_CAP: Duration = Duration::from_secs(60);
    pub const MAX_REDIRECTS: u32 = 10;
    pub const CRON: &str = "0 */6 * * *";
    pub const SCAN: &str = "*/15 * * * *";
    pub const RECHECK_OK: Duration = Duration::from_secs(7 * 24 * 3600);
    pub const RECHECK_FAILING: Duration = Duration::from_secs(24 * 3600);
    pub const CONFIRM_CHECKS: u32 = 3;
    pub const CONFIRM_PERIOD: Duration = Duration::from_secs(48 * 3600);
    pub const GRACE: Duration = Duration::from_secs(30);
    pub const ALERT_RETRY: Duration = Duration::from_secs(60);
    pub const THIN_CHECKS_AFTER: Duration = Duration::from_secs(180 * 24 * 3600);
    pub const WAYBACK_ENDPOINT: &str = "https://archive.org/wayback/available";
    pub const SAVE_PAGE_NOW_ENDPOINT: &str = "https://web.archive.org/save/";
    pub const ARCHIVE_INTERVAL: Duration = Duration::from_secs(1);
    pub const ARCHIVE_BUDGET: Duration = Duration::from_secs(10);
    /// Where `citewatch serve` listens unless told otherwise: this machine only.
    pub const SERVE_LISTEN: &str = "127.0.0.1:8470";

    /// `citewatch/VERSION (+URL)`: a real, identifiable User-Agent, as site operators ask of bots.
    pub fn user_agent() -> String {
        format!(
            "citewatch/{} (+{})",
            env!("CARGO_PKG_VERSION"),
            env!("CARGO_PKG_REPOSITORY")
        )
    }
}

/// A configuration error. Every variant names the file and, where there is one, the key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("{path}: key `{key}`: {message}")]
    Invalid {
        path: PathBuf,
        key: String,
        message: String,
    },
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file this came from; `None` for built-in defaults.
    pub file: Option<PathBuf>,
    pub db: PathBuf,
    pub sources: Vec<SourceConfig>,
    pub check: CheckConfig,
    pub schedule: ScheduleConfig,
    pub alerts: AlertsConfig,
    pub archive: ArchiveConfig,
    /// Checks older than this are thinned to the transitions (`None`: keep every check).
    pub thin_checks_after: Option<Duration>,
    /// What `citewatch fix` repairs in the posts, and how.
    pub fix: crate::settings::FixSettings,
    pub serve: ServeConfig,
}

/// The dashboard: `citewatch serve`, and the daemon's own when `listen` is set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServeConfig {
    /// Where the daemon serves the dashboard (`None`: it does not); `citewatch serve` listens
    /// here too unless `--listen` says otherwise, else on [`defaults::SERVE_LISTEN`].
    pub listen: Option<std::net::SocketAddr>,
    /// A file holding the dashboard's token; required to listen beyond loopback. Read when the
    /// server starts, never logged.
    pub token_file: Option<PathBuf>,
}

/// One folder of posts.
#[derive(Debug, Clone)]
pub struct SourceConfig {
    pub path: PathBuf,
    /// The site's address, to resolve site-relative links.
    pub base_url: Option<Url>,
    /// Globs relative to `path`; when not empty only matching files are read.
    pub include: Vec<String>,
    /// Globs relative to `path`; matching files are not read.
    pub exclude: Vec<String>,
    /// A permalink pattern such as `/:year/:month/:day/:slug/` giving each post's published URL.
    pub permalink: Option<String>,
    /// Front matter keys whose absolute URL values are citations.
    pub front_matter_keys: Vec<String>,
    /// Read the site's own config (Hugo, Jekyll) when the source is in a site.
    pub site_config: bool,
}

impl SourceConfig {
    /// A source with no options: what `citewatch run PATH` uses.
    pub fn bare(path: PathBuf) -> Self {
        SourceConfig {
            path,
            base_url: None,
            include: Vec::new(),
            exclude: Vec::new(),
            permalink: None,
            front_matter_keys: Vec::new(),
            site_config: true,
        }
    }
}

/// How links are fetched.
#[derive(Debug, Clone)]
pub struct CheckConfig {
    /// One total timeout per request: connect, headers and body.
    pub timeout: Duration,
    pub concurrency: usize,
    pub per_host_concurrency: usize,
    pub per_host_interval: Duration,
    /// Body cap after decompression, in bytes.
    pub max_body: u64,
    /// Retries after the first attempt, for timeouts, resets, 5xx, 429 and 503.
    pub retries: u32,
    /// The longest `Retry-After` honoured.
    pub retry_after_cap: Duration,
    pub max_redirects: u32,
    pub user_agent: String,
    /// Fetch loopback, private, link-local and similar addresses. Off by default.
    pub allow_private: bool,
    /// URL regexes; matching links are `skipped`.
    pub exclude: Vec<Regex>,
    /// Fetch a path that cannot exist once a day per site, to recognise its not-found page.
    pub soft_404_probe: bool,
}

impl Default for CheckConfig {
    fn default() -> Self {
        CheckConfig {
            timeout: defaults::TIMEOUT,
            concurrency: defaults::CONCURRENCY,
            per_host_concurrency: defaults::PER_HOST_CONCURRENCY,
            per_host_interval: defaults::PER_HOST_INTERVAL,
            max_body: defaults::MAX_BODY,
            retries: defaults::RETRIES,
            retry_after_cap: defaults::RETRY_AFTER_CAP,
            max_redirects: defaults::MAX_REDIRECTS,
            user_agent: defaults::user_agent(),
            allow_private: false,
            exclude: Vec::new(),
            soft_404_probe: true,
        }
    }
}

/// When the daemon works. Cron expressions are validated here and turned into schedules by
/// `schedule`.
#[derive(Debug, Clone)]
pub struct ScheduleConfig {
    pub cron: String,
    pub scan: String,
    pub recheck_ok: Duration,
    pub recheck_failing: Duration,
    /// How long running checks may finish after SIGTERM.
    pub grace: Duration,
}

impl Default for ScheduleConfig {
    fn default() -> Self {
        ScheduleConfig {
            cron: defaults::CRON.to_string(),
            scan: defaults::SCAN.to_string(),
            recheck_ok: defaults::RECHECK_OK,
            recheck_failing: defaults::RECHECK_FAILING,
            grace: defaults::GRACE,
        }
    }
}

/// Confirmation and alert sinks.
#[derive(Debug, Clone)]
pub struct AlertsConfig {
    pub confirm_checks: u32,
    pub confirm_period: Duration,
    /// Gather one cycle's events into one message per sink.
    pub digest: bool,
    /// Known-good URLs: when they fail, the cycle is our outage, not the web's.
    pub canaries: Vec<Url>,
    pub log: bool,
    /// The first wait before a failed delivery is tried again (doubling, at most an hour).
    pub retry_interval: Duration,
    pub webhook: Vec<WebhookSink>,
    pub email: Vec<EmailSink>,
    pub command: Vec<CommandSink>,
}

impl Default for AlertsConfig {
    fn default() -> Self {
        AlertsConfig {
            confirm_checks: defaults::CONFIRM_CHECKS,
            confirm_period: defaults::CONFIRM_PERIOD,
            digest: false,
            canaries: Vec::new(),
            log: true,
            retry_interval: defaults::ALERT_RETRY,
            webhook: Vec::new(),
            email: Vec::new(),
            command: Vec::new(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct WebhookSink {
    /// The sink's identity in the outbox: its `name`, else derived from its URL (see [`sink_key`]).
    pub key: String,
    pub url: Url,
    /// Add a human-readable `text` field, as Slack, Mattermost and Discord webhooks read.
    pub text_field: bool,
    pub timeout: Duration,
}

/// Where an SMTP password comes from. Never the config file itself, never the log.
#[derive(Clone)]
pub enum Secret {
    Env(String),
    File(PathBuf),
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Only the place is printed, never the value.
        match self {
            Secret::Env(name) => write!(f, "Secret::Env({name})"),
            Secret::File(path) => write!(f, "Secret::File({})", path.display()),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// Plain SMTP upgraded with STARTTLS (required).
    StartTls,
    /// TLS from the first byte (SMTPS, port 465).
    Tls,
    /// No encryption: only for a relay on localhost.
    None,
}

#[derive(Debug, Clone)]
pub struct EmailSink {
    /// The sink's identity in the outbox: its `name`, else `email:` and its recipients.
    pub key: String,
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    pub username: Option<String>,
    pub password: Option<Secret>,
    pub from: String,
    pub to: Vec<String>,
    pub timeout: Duration,
    /// A PEM file of extra root certificates to trust for this server (a private relay's CA).
    pub ca_file: Option<PathBuf>,
}

#[derive(Debug, Clone)]
pub struct CommandSink {
    /// The sink's identity in the outbox: its `name`, else `command:` and the program's path.
    pub key: String,
    /// The executable and its arguments; run without a shell.
    pub argv: Vec<String>,
    pub timeout: Duration,
}

/// Wayback Machine look-ups and Save Page Now.
#[derive(Debug, Clone)]
pub struct ArchiveConfig {
    pub wayback: bool,
    pub wayback_endpoint: Url,
    /// The least time between two requests to the archive (it is a shared public service).
    pub request_interval: Duration,
    /// The most time `run` and `check` spend on look-ups once their checks are done; what is
    /// left waits for the next run.
    pub budget: Duration,
    pub save_page_now: bool,
    pub save_page_now_endpoint: Url,
}

impl Default for ArchiveConfig {
    fn default() -> Self {
        ArchiveConfig {
            wayback: true,
            wayback_endpoint: Url::parse(defaults::WAYBACK_ENDPOINT).expect("constant URL"),
            request_interval: defaults::ARCHIVE_INTERVAL,
            budget: defaults::ARCHIVE_BUDGET,
            save_page_now: false,
            save_page_now_endpoint: Url::parse(defaults::SAVE_PAGE_NOW_ENDPOINT)
                .expect("constant URL"),
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            file: None,
            db: PathBuf::from(defaults::DB),
            sources: Vec::new(),
            check: CheckConfig::default(),
            schedule: ScheduleConfig::default(),
            alerts: AlertsConfig::default(),
            archive: ArchiveConfig::default(),
            thin_checks_after: Some(defaults::THIN_CHECKS_AFTER),
            fix: crate::settings::FixSettings::default(),
            serve: ServeConfig::default(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The raw file, as serde reads it. `deny_unknown_fields` everywhere: a typo is an error, not a
// silently ignored setting.

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    db: Option<PathBuf>,
    #[serde(default)]
    source: Vec<RawSource>,
    #[serde(default)]
    check: RawCheck,
    #[serde(default)]
    schedule: RawSchedule,
    #[serde(default)]
    alerts: RawAlerts,
    #[serde(default)]
    archive: RawArchive,
    #[serde(default)]
    retention: RawRetention,
    #[serde(default)]
    fix: RawFix,
    #[serde(default)]
    serve: RawServe,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawServe {
    listen: Option<String>,
    token_file: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRetention {
    thin_checks_after: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFix {
    redirected: Option<bool>,
    dead: Option<String>,
    archived_label: Option<String>,
    archived_note: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSource {
    path: PathBuf,
    base_url: Option<String>,
    #[serde(default)]
    include: Vec<String>,
    #[serde(default)]
    exclude: Vec<String>,
    permalink: Option<String>,
    #[serde(default)]
    front_matter_keys: Vec<String>,
    site_config: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCheck {
    timeout: Option<String>,
    concurrency: Option<usize>,
    per_host_concurrency: Option<usize>,
    per_host_interval: Option<String>,
    max_body: Option<String>,
    retries: Option<u32>,
    retry_after_cap: Option<String>,
    max_redirects: Option<u32>,
    user_agent: Option<String>,
    allow_private: Option<bool>,
    #[serde(default)]
    exclude: Vec<String>,
    soft_404_probe: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSchedule {
    cron: Option<String>,
    scan: Option<String>,
    recheck_ok: Option<String>,
    recheck_failing: Option<String>,
    grace: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAlerts {
    confirm_checks: Option<u32>,
    confirm_period: Option<String>,
    digest: Option<bool>,
    #[serde(default)]
    canaries: Vec<String>,
    log: Option<bool>,
    retry_interval: Option<String>,
    #[serde(default)]
    webhook: Vec<RawWebhook>,
    #[serde(default)]
    email: Vec<RawEmail>,
    #[serde(default)]
    command: Vec<RawCommand>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWebhook {
    name: Option<String>,
    url: String,
    #[serde(default)]
    text_field: bool,
    timeout: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEmail {
    name: Option<String>,
    host: String,
    port: Option<u16>,
    security: Option<String>,
    username: Option<String>,
    password_env: Option<String>,
    password_file: Option<PathBuf>,
    from: String,
    to: Vec<String>,
    timeout: Option<String>,
    ca_file: Option<PathBuf>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCommand {
    name: Option<String>,
    argv: Vec<String>,
    timeout: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawArchive {
    wayback: Option<bool>,
    wayback_endpoint: Option<String>,
    request_interval: Option<String>,
    budget: Option<String>,
    save_page_now: Option<bool>,
    save_page_now_endpoint: Option<String>,
}

/// Parses a duration written like `"10s"`, `"48h"`, `"100ms"`, `"1h 30m"` or `"0s"`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s.trim()).map_err(|e| {
        format!("invalid duration {s:?} ({e}); write it like \"10s\", \"48h\" or \"100ms\"")
    })
}

/// Parses a size written like `"10MiB"`, `"512KiB"`, `"1MB"` or `"4096"` (bytes).
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let bad = || format!("invalid size {s:?}; write it like \"10MiB\", \"512KiB\" or \"1000000\"");
    let n: f64 = num.parse().map_err(|_| bad())?;
    let mult: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" => 1e3,
        "kib" => 1024.0,
        "m" | "mb" => 1e6,
        "mib" => 1024.0 * 1024.0,
        "g" | "gb" => 1e9,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        _ => return Err(bad()),
    };
    let v = n * mult;
    if !v.is_finite() || v < 0.0 || v > u64::MAX as f64 {
        return Err(bad());
    }
    Ok(v as u64)
}

impl Config {
    /// Reads and validates a config file. Relative paths in it (sources, db) are taken relative to
    /// the file's folder, so the daemon finds them whatever its working directory.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Config::from_toml(&text, path)
    }

    /// Validates config text; `path` is used in messages and to resolve relative paths.
    pub fn from_toml(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: toml_message(&e),
        })?;
        let dir = path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        Validator { path, dir: &dir }.config(raw)
    }
}

/// toml's message spans several lines with a source excerpt; keep it, but make the first line say
/// what is wrong.
fn toml_message(e: &toml::de::Error) -> String {
    e.to_string().trim().to_string()
}

struct Validator<'a> {
    path: &'a Path,
    dir: &'a Path,
}

impl Validator<'_> {
    fn invalid(&self, key: &str, message: impl Into<String>) -> ConfigError {
        ConfigError::Invalid {
            path: self.path.to_path_buf(),
            key: key.to_string(),
            message: message.into(),
        }
    }

    fn duration(
        &self,
        key: &str,
        v: Option<String>,
        default: Duration,
    ) -> Result<Duration, ConfigError> {
        match v {
            None => Ok(default),
            Some(s) => parse_duration(&s).map_err(|m| self.invalid(key, m)),
        }
    }

    fn url(&self, key: &str, s: &str) -> Result<Url, ConfigError> {
        let u = Url::parse(s.trim())
            .map_err(|e| self.invalid(key, format!("invalid URL {s:?}: {e}")))?;
        if !matches!(u.scheme(), "http" | "https") {
            return Err(self.invalid(
                key,
                format!("URL {s:?} must start with http:// or https://"),
            ));
        }
        Ok(u)
    }

    fn relative(&self, p: PathBuf) -> PathBuf {
        if p.is_absolute() {
            p
        } else {
            self.dir.join(p)
        }
    }

    fn positive(&self, key: &str, v: Option<usize>, default: usize) -> Result<usize, ConfigError> {
        match v {
            Some(0) => Err(self.invalid(key, "must be at least 1")),
            Some(n) => Ok(n),
            None => Ok(default),
        }
    }

    fn config(&self, raw: RawConfig) -> Result<Config, ConfigError> {
        let mut sources = Vec::new();
        for (i, s) in raw.source.into_iter().enumerate() {
            sources.push(self.source(i, s)?);
        }
        Ok(Config {
            file: Some(self.path.to_path_buf()),
            db: self.relative(raw.db.unwrap_or_else(|| PathBuf::from(defaults::DB))),
            sources,
            check: self.check(raw.check)?,
            schedule: self.schedule(raw.schedule)?,
            alerts: self.alerts(raw.alerts)?,
            archive: self.archive(raw.archive)?,
            thin_checks_after: {
                let d = self.duration(
                    "retention.thin_checks_after",
                    raw.retention.thin_checks_after,
                    defaults::THIN_CHECKS_AFTER,
                )?;
                (!d.is_zero()).then_some(d)
            },
            fix: self.fix(raw.fix)?,
            serve: self.serve(raw.serve)?,
        })
    }

    fn serve(&self, s: RawServe) -> Result<ServeConfig, ConfigError> {
        let listen = match s.listen {
            None => None,
            Some(a) => Some(a.trim().parse::<std::net::SocketAddr>().map_err(|_| {
                self.invalid(
                    "serve.listen",
                    format!("invalid address {a:?}; write an IP address and a port, like \"127.0.0.1:8470\" or \"[::1]:8470\""),
                )
            })?),
        };
        let token_file = s.token_file.map(|p| self.relative(p));
        if let Some(addr) = listen {
            if !addr.ip().to_canonical().is_loopback() && token_file.is_none() {
                return Err(self.invalid(
                    "serve.token_file",
                    format!("listening on {addr} reaches beyond this machine, so the dashboard needs a token: set token_file to a file holding a secret of at least 16 characters, or listen on 127.0.0.1"),
                ));
            }
        }
        Ok(ServeConfig { listen, token_file })
    }

    fn fix(&self, f: RawFix) -> Result<crate::settings::FixSettings, ConfigError> {
        use crate::settings::{FixMode as Mode, FixSettings as Settings};
        let d = Settings::default();
        let dead = match f.dead.as_deref().map(str::trim) {
            None => d.dead,
            Some("annotate") => Mode::Annotate,
            Some("replace") => Mode::Replace,
            Some(other) => {
                return Err(self.invalid(
                    "fix.dead",
                    format!("unknown value {other:?}; use \"annotate\" (keep the link, add one to its archived copy) or \"replace\" (link to the archived copy instead)"),
                ))
            }
        };
        let archived_label = f.archived_label.unwrap_or(d.archived_label);
        if archived_label.trim().is_empty()
            || archived_label.chars().any(|c| c.is_control())
            || archived_label.contains(['[', ']', '<', '>'])
        {
            return Err(self.invalid(
                "fix.archived_label",
                "must be a non-empty single line without [ ] < > (it is the text of a link)",
            ));
        }
        let archived_note = f.archived_note.unwrap_or(d.archived_note);
        if !archived_note.contains("{link}") || archived_note.chars().any(|c| c.is_control()) {
            return Err(self.invalid(
                "fix.archived_note",
                "must be a single line holding {link}, where the link to the archived copy goes (e.g. \" ({link})\")",
            ));
        }
        Ok(Settings {
            redirected: f.redirected.unwrap_or(d.redirected),
            dead,
            archived_label,
            archived_note,
        })
    }

    fn source(&self, i: usize, s: RawSource) -> Result<SourceConfig, ConfigError> {
        let key = |k: &str| format!("source[{i}].{k}");
        let base_url = match s.base_url {
            Some(b) => {
                let mut u = self.url(&key("base_url"), &b)?;
                // A base without a trailing slash would drop its last segment when joining.
                if !u.path().ends_with('/') {
                    let p = format!("{}/", u.path());
                    u.set_path(&p);
                }
                Some(u)
            }
            None => None,
        };
        for (k, globs) in [("include", &s.include), ("exclude", &s.exclude)] {
            for g in globs {
                globset::Glob::new(g)
                    .map_err(|e| self.invalid(&key(k), format!("invalid glob {g:?}: {e}")))?;
            }
        }
        if let Some(p) = &s.permalink {
            if !p.starts_with('/') {
                return Err(self.invalid(
                    &key("permalink"),
                    format!("pattern {p:?} must start with '/'"),
                ));
            }
        }
        Ok(SourceConfig {
            path: self.relative(s.path),
            base_url,
            include: s.include,
            exclude: s.exclude,
            permalink: s.permalink,
            front_matter_keys: s.front_matter_keys,
            site_config: s.site_config.unwrap_or(true),
        })
    }

    fn check(&self, c: RawCheck) -> Result<CheckConfig, ConfigError> {
        let d = CheckConfig::default();
        let exclude = c
            .exclude
            .iter()
            .map(|r| {
                Regex::new(r)
                    .map_err(|e| self.invalid("check.exclude", format!("invalid regex {r:?}: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let max_body = match c.max_body {
            Some(s) => parse_size(&s).map_err(|m| self.invalid("check.max_body", m))?,
            None => d.max_body,
        };
        if max_body == 0 {
            return Err(self.invalid("check.max_body", "must be more than 0"));
        }
        let timeout = self.duration("check.timeout", c.timeout, d.timeout)?;
        if timeout.is_zero() {
            return Err(self.invalid("check.timeout", "must be more than 0s"));
        }
        let user_agent = c.user_agent.unwrap_or(d.user_agent);
        if user_agent.trim().is_empty() || user_agent.chars().any(|ch| ch.is_control()) {
            return Err(self.invalid("check.user_agent", "must be a non-empty single line"));
        }
        Ok(CheckConfig {
            timeout,
            concurrency: self.positive("check.concurrency", c.concurrency, d.concurrency)?,
            per_host_concurrency: self.positive(
                "check.per_host_concurrency",
                c.per_host_concurrency,
                d.per_host_concurrency,
            )?,
            per_host_interval: self.duration(
                "check.per_host_interval",
                c.per_host_interval,
                d.per_host_interval,
            )?,
            max_body,
            retries: c.retries.unwrap_or(d.retries),
            retry_after_cap: self.duration(
                "check.retry_after_cap",
                c.retry_after_cap,
                d.retry_after_cap,
            )?,
            max_redirects: c.max_redirects.unwrap_or(d.max_redirects),
            user_agent,
            allow_private: c.allow_private.unwrap_or(d.allow_private),
            exclude,
            soft_404_probe: c.soft_404_probe.unwrap_or(d.soft_404_probe),
        })
    }

    fn schedule(&self, s: RawSchedule) -> Result<ScheduleConfig, ConfigError> {
        let d = ScheduleConfig::default();
        let cron = s.cron.unwrap_or(d.cron);
        let scan = s.scan.unwrap_or(d.scan);
        for (key, expr) in [("schedule.cron", &cron), ("schedule.scan", &scan)] {
            crate::schedule::parse_cron(expr).map_err(|m| self.invalid(key, m))?;
        }
        Ok(ScheduleConfig {
            cron,
            scan,
            recheck_ok: self.duration("schedule.recheck_ok", s.recheck_ok, d.recheck_ok)?,
            recheck_failing: self.duration(
                "schedule.recheck_failing",
                s.recheck_failing,
                d.recheck_failing,
            )?,
            grace: self.duration("schedule.grace", s.grace, d.grace)?,
        })
    }

    fn alerts(&self, a: RawAlerts) -> Result<AlertsConfig, ConfigError> {
        let d = AlertsConfig::default();
        let confirm_checks = a.confirm_checks.unwrap_or(d.confirm_checks);
        if confirm_checks == 0 {
            return Err(self.invalid("alerts.confirm_checks", "must be at least 1"));
        }
        let canaries = a
            .canaries
            .iter()
            .map(|u| self.url("alerts.canaries", u))
            .collect::<Result<Vec<_>, _>>()?;
        let mut webhook = Vec::new();
        for (i, w) in a.webhook.into_iter().enumerate() {
            let url = self.url(&format!("alerts.webhook[{i}].url"), &w.url)?;
            webhook.push(WebhookSink {
                key: self.sink_name(&format!("alerts.webhook[{i}].name"), w.name, || {
                    sink_key::webhook(&url)
                })?,
                url,
                text_field: w.text_field,
                timeout: self.duration(
                    &format!("alerts.webhook[{i}].timeout"),
                    w.timeout,
                    defaults::TIMEOUT,
                )?,
            });
        }
        let mut email = Vec::new();
        for (i, e) in a.email.into_iter().enumerate() {
            let key = |k: &str| format!("alerts.email[{i}].{k}");
            let security = match e
                .security
                .as_deref()
                .map(str::to_ascii_lowercase)
                .as_deref()
            {
                None | Some("starttls") => SmtpSecurity::StartTls,
                Some("tls") => SmtpSecurity::Tls,
                Some("none") => SmtpSecurity::None,
                Some(other) => {
                    return Err(self.invalid(
                        &key("security"),
                        format!("unknown value {other:?}; use \"starttls\", \"tls\" or \"none\""),
                    ))
                }
            };
            let password = match (e.password_env, e.password_file) {
                (Some(_), Some(_)) => {
                    return Err(self.invalid(
                        &key("password_env"),
                        "set password_env or password_file, not both",
                    ))
                }
                (Some(v), None) => Some(Secret::Env(v)),
                (None, Some(p)) => Some(Secret::File(self.relative(p))),
                (None, None) => None,
            };
            if e.to.is_empty() {
                return Err(self.invalid(&key("to"), "needs at least one address"));
            }
            let port = e.port.unwrap_or(match security {
                SmtpSecurity::Tls => 465,
                SmtpSecurity::StartTls => 587,
                SmtpSecurity::None => 25,
            });
            let to = e.to;
            email.push(EmailSink {
                key: self.sink_name(&key("name"), e.name, || sink_key::email(&to))?,
                ca_file: e.ca_file.map(|p| self.relative(p)),
                host: e.host,
                port,
                security,
                username: e.username,
                password,
                from: e.from,
                to,
                timeout: self.duration(&key("timeout"), e.timeout, defaults::TIMEOUT)?,
            });
        }
        let mut command = Vec::new();
        for (i, c) in a.command.into_iter().enumerate() {
            if c.argv.is_empty() || c.argv[0].trim().is_empty() {
                return Err(self.invalid(
                    &format!("alerts.command[{i}].argv"),
                    "needs the program to run",
                ));
            }
            let argv = c.argv;
            command.push(CommandSink {
                key: self.sink_name(&format!("alerts.command[{i}].name"), c.name, || {
                    sink_key::command(&argv)
                })?,
                argv,
                timeout: self.duration(
                    &format!("alerts.command[{i}].timeout"),
                    c.timeout,
                    defaults::TIMEOUT,
                )?,
            });
        }
        let keys = std::iter::once("log".to_string())
            .chain(webhook.iter().map(|w| w.key.clone()))
            .chain(email.iter().map(|e| e.key.clone()))
            .chain(command.iter().map(|c| c.key.clone()));
        let mut seen = std::collections::HashSet::new();
        for k in keys {
            if !seen.insert(k.clone()) {
                return Err(self.invalid(
                    "alerts",
                    format!("two alert sinks are both called {k:?}; give each a distinct `name`"),
                ));
            }
        }
        Ok(AlertsConfig {
            confirm_checks,
            confirm_period: self.duration(
                "alerts.confirm_period",
                a.confirm_period,
                d.confirm_period,
            )?,
            digest: a.digest.unwrap_or(d.digest),
            canaries,
            log: a.log.unwrap_or(d.log),
            retry_interval: self.duration(
                "alerts.retry_interval",
                a.retry_interval,
                d.retry_interval,
            )?,
            webhook,
            email,
            command,
        })
    }

    /// A sink's key: its `name` when given (checked), else the one derived from its target.
    fn sink_name(
        &self,
        key: &str,
        name: Option<String>,
        derived: impl FnOnce() -> String,
    ) -> Result<String, ConfigError> {
        match name {
            None => Ok(derived()),
            Some(n) => {
                let n = n.trim().to_string();
                if n.is_empty() || n == "log" || n.chars().any(char::is_control) || n.len() > 100 {
                    return Err(self.invalid(key, "must be a short single line other than \"log\""));
                }
                Ok(n)
            }
        }
    }

    fn archive(&self, a: RawArchive) -> Result<ArchiveConfig, ConfigError> {
        let d = ArchiveConfig::default();
        Ok(ArchiveConfig {
            wayback: a.wayback.unwrap_or(d.wayback),
            wayback_endpoint: match a.wayback_endpoint {
                Some(u) => self.url("archive.wayback_endpoint", &u)?,
                None => d.wayback_endpoint,
            },
            request_interval: self.duration(
                "archive.request_interval",
                a.request_interval,
                d.request_interval,
            )?,
            budget: self.duration("archive.budget", a.budget, d.budget)?,
            save_page_now: a.save_page_now.unwrap_or(d.save_page_now),
            save_page_now_endpoint: match a.save_page_now_endpoint {
                Some(u) => self.url("archive.save_page_now_endpoint", &u)?,
                None => d.save_page_now_endpoint,
            },
        })
    }
}

/// Keys of sinks without a `name`: derived from where they deliver, never from their position
/// in the file, so removing one sink leaves the others' pending alerts where they were.
pub mod sink_key {
    use url::Url;

    /// `webhook:` with the host and a short hash of the whole URL: the path often holds a token
    /// (Slack, Discord), so it is never shown.
    pub fn webhook(url: &Url) -> String {
        let h = blake3::hash(url.as_str().as_bytes()).to_hex();
        format!(
            "webhook:{}/{}",
            url.host_str().unwrap_or(""),
            &h.as_str()[..8]
        )
    }

    /// `email:` with the recipients, sorted.
    pub fn email(to: &[String]) -> String {
        let mut to: Vec<&str> = to.iter().map(|t| t.trim()).collect();
        to.sort_unstable();
        format!("email:{}", to.join(","))
    }

    /// `command:` with the program's path.
    pub fn command(argv: &[String]) -> String {
        format!("command:{}", argv.first().map(String::as_str).unwrap_or(""))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Config, ConfigError> {
        Config::from_toml(text, Path::new("/etc/citewatch/citewatch.toml"))
    }

    #[test]
    fn issue_example_parses() {
        let c = load(
            r#"
db = "citewatch.db"
[[source]]
path = "posts"
base_url = "https://blog.example.org/"
exclude = ["drafts/**"]
[check]
timeout = "10s"
concurrency = 128
per_host_concurrency = 4
per_host_interval = "100ms"
max_body = "10MiB"
retries = 2
user_agent = "x/1"
allow_private = false
exclude = ["^https://localhost"]
[schedule]
cron = "0 */6 * * *"
[alerts]
confirm_checks = 3
confirm_period = "48h"
[[alerts.webhook]]
url = "https://hooks.example.org/citewatch"
"#,
        )
        .unwrap();
        assert_eq!(c.db, PathBuf::from("/etc/citewatch/citewatch.db"));
        assert_eq!(c.sources[0].path, PathBuf::from("/etc/citewatch/posts"));
        assert_eq!(c.check.max_body, 10 * 1024 * 1024);
        assert_eq!(c.check.per_host_interval, Duration::from_millis(100));
        assert_eq!(c.alerts.confirm_period, Duration::from_secs(48 * 3600));
        assert_eq!(c.alerts.webhook.len(), 1);
        assert!(c.check.exclude[0].is_match("https://localhost/x"));
    }

    #[test]
    fn unknown_key_names_file_and_key() {
        let e = load("[check]\ntimeoutt = \"1s\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("/etc/citewatch/citewatch.toml"), "{e}");
        assert!(e.contains("timeoutt"), "{e}");
    }

    #[test]
    fn bad_values_name_the_key() {
        for (text, key) in [
            ("[check]\ntimeout = \"ten\"\n", "check.timeout"),
            ("[check]\nmax_body = \"lots\"\n", "check.max_body"),
            ("[check]\nexclude = [\"(\"]\n", "check.exclude"),
            ("[check]\nconcurrency = 0\n", "check.concurrency"),
            (
                "[[source]]\npath = \"p\"\nbase_url = \"ftp://x/\"\n",
                "source[0].base_url",
            ),
            ("[schedule]\ncron = \"every day\"\n", "schedule.cron"),
            ("[alerts]\nconfirm_checks = 0\n", "alerts.confirm_checks"),
            ("[[alerts.command]]\nargv = []\n", "alerts.command[0].argv"),
            ("[fix]\ndead = \"delete\"\n", "fix.dead"),
            ("[fix]\narchived_label = \"\"\n", "fix.archived_label"),
            (
                "[fix]\narchived_note = \" (archived)\"\n",
                "fix.archived_note",
            ),
        ] {
            let e = load(text).unwrap_err().to_string();
            assert!(e.contains(key), "{text:?} gave {e}");
            assert!(e.contains("citewatch.toml"), "{e}");
        }
    }

    #[test]
    fn fix_settings_and_unknown_fix_keys() {
        let c = load("[fix]\nredirected = false\ndead = \"replace\"\narchived_label = \"archived {date}\"\narchived_note = \" — {link}\"\n").unwrap();
        assert!(!c.fix.redirected);
        assert_eq!(c.fix.dead, crate::settings::FixMode::Replace);
        assert_eq!(c.fix.archived_label, "archived {date}");
        assert_eq!(c.fix.archived_note, " — {link}");
        let e = load("[fix]\nreplace_dead = true\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("replace_dead") && e.contains("citewatch.toml"),
            "{e}"
        );
    }

    #[test]
    fn sizes_and_durations() {
        assert_eq!(parse_size("10MiB").unwrap(), 10 << 20);
        assert_eq!(parse_size("512 KiB").unwrap(), 512 << 10);
        assert_eq!(parse_size("1000").unwrap(), 1000);
        assert!(parse_size("-1").is_err());
        assert!(parse_size("1XB").is_err());
        assert_eq!(parse_duration("0s").unwrap(), Duration::ZERO);
        assert_eq!(parse_duration("1h 30m").unwrap(), Duration::from_secs(5400));
    }

    #[test]
    fn base_url_gets_trailing_slash() {
        let c = load("[[source]]\npath = \"p\"\nbase_url = \"https://x.org/blog\"\n").unwrap();
        assert_eq!(
            c.sources[0].base_url.as_ref().unwrap().as_str(),
            "https://x.org/blog/"
        );
    }

    #[test]
    fn serve_settings_are_validated() {
        let c = load("[serve]\nlisten = \"127.0.0.1:9000\"\n").unwrap();
        assert_eq!(c.serve.listen, Some("127.0.0.1:9000".parse().unwrap()));
        assert_eq!(c.serve.token_file, None);
        assert_eq!(Config::default().serve, ServeConfig::default());
        let c = load("[serve]\nlisten = \"0.0.0.0:8470\"\ntoken_file = \"dash-token\"\n").unwrap();
        assert_eq!(
            c.serve.token_file,
            Some(PathBuf::from("/etc/citewatch/dash-token")),
            "relative to the config file"
        );
        for (text, key) in [
            ("[serve]\nlisten = \"localhost\"\n", "serve.listen"),
            ("[serve]\nlisten = \"0.0.0.0:8470\"\n", "serve.token_file"),
            ("[serve]\nlisten = \"[::]:8470\"\n", "serve.token_file"),
            ("[serve]\nport = 1\n", "port"),
        ] {
            let e = load(text).unwrap_err().to_string();
            assert!(
                e.contains(key) && e.contains("citewatch.toml"),
                "{text:?} gave {e}"
            );
        }
    }

    #[test]
    fn example_file_parses_with_the_defaults() {
        let c = load(include_str!("../citewatch.example.toml")).unwrap();
        let d = Config::default();
        assert_eq!(c.check.timeout, d.check.timeout);
        assert_eq!(c.check.max_body, d.check.max_body);
        assert_eq!(c.check.per_host_interval, d.check.per_host_interval);
        assert_eq!(c.schedule.recheck_ok, d.schedule.recheck_ok);
        assert_eq!(c.schedule.cron, d.schedule.cron);
        assert_eq!(c.alerts.confirm_period, d.alerts.confirm_period);
        assert_eq!(c.archive.wayback_endpoint, d.archive.wayback_endpoint);
        assert_eq!(c.fix, d.fix);
        assert_eq!(c.serve, d.serve);
    }

    /// A config names where a password is, never the password: nothing printed of a loaded
    /// config (its `Debug`, as logs would show it) contains the secret, though it is there to be
    /// read at send time.
    #[test]
    fn secrets_are_never_in_a_printed_config() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("smtp-password");
        std::fs::write(&file, "hunter2-file-secret\n").unwrap();
        let var = "CITEWATCH_TEST_CONFIG_SECRET_4b1e";
        std::env::set_var(var, "hunter2-env-secret");
        let c = load(&format!(
            "[alerts]\n[[alerts.email]]\nhost = \"smtp.example.org\"\nusername = \"cw\"\npassword_file = \"{}\"\nfrom = \"cw@example.org\"\nto = [\"a@example.org\"]\n\
             [[alerts.email]]\nhost = \"smtp2.example.org\"\nusername = \"cw\"\npassword_env = \"{var}\"\nfrom = \"cw@example.org\"\nto = [\"b@example.org\"]\n",
            file.display()
        ))
        .unwrap();
        let printed = format!("{c:?} {:#?}", c.alerts);
        assert!(!printed.contains("hunter2"), "{printed}");
        assert!(
            printed.contains("smtp-password") && printed.contains(var),
            "{printed}"
        );
        assert_eq!(
            format!("{:?}", Secret::Env(var.into())),
            format!("Secret::Env({var})")
        );
    }

    /// Sinks are keyed by name or by target, never by position: removing or reordering one keeps
    /// every other's key; two sinks with one key are refused with a hint.
    #[test]
    fn sink_keys_come_from_names_or_targets() {
        let two = |a: &str, b: &str| {
            load(&format!(
                "[alerts]\n[[alerts.webhook]]\nurl = \"{a}\"\n[[alerts.webhook]]\nurl = \"{b}\"\n"
            ))
        };
        let c = two(
            "https://hooks.example.org/T1/secret",
            "https://chat.example.org/x",
        )
        .unwrap();
        let keys: Vec<&str> = c.alerts.webhook.iter().map(|w| w.key.as_str()).collect();
        let swapped = two(
            "https://chat.example.org/x",
            "https://hooks.example.org/T1/secret",
        )
        .unwrap();
        assert_eq!(
            swapped.alerts.webhook[1].key, keys[0],
            "the key follows the sink"
        );
        assert!(
            keys[0].starts_with("webhook:hooks.example.org/"),
            "{keys:?}"
        );
        assert!(
            !keys[0].contains("secret"),
            "the token in the path is not shown"
        );
        let e = two("https://a.example.org/x", "https://a.example.org/x")
            .unwrap_err()
            .to_string();
        assert!(e.contains("`name`"), "{e}");
        let named = load(
            "[alerts]\n[[alerts.command]]\nname = \"pager\"\nargv = [\"/bin/true\"]\n[[alerts.email]]\nhost = \"h\"\nfrom = \"f@x.org\"\nto = [\"b@x.org\", \"a@x.org\"]\n",
        )
        .unwrap();
        assert_eq!(named.alerts.command[0].key, "pager");
        assert_eq!(named.alerts.email[0].key, "email:a@x.org,b@x.org");
        let bad = load("[alerts]\n[[alerts.command]]\nname = \"log\"\nargv = [\"/bin/true\"]\n")
            .unwrap_err()
            .to_string();
        assert!(bad.contains("alerts.command[0].name"), "{bad}");
    }
}
