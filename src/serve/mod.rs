//! `citewatch serve`: a small, read-only web dashboard over the database, served by the binary
//! itself (alone, or inside the daemon when `[serve] listen` is set).
//!
//! The shell: settings and the token, the connection loop (hyper, HTTP/1.1, every read bounded
//! in time and size), the pool of read-only SQLite connections the pages are read through, and
//! the folded check history behind the weekly chart and `/metrics`. Routes and their headers
//! live in [`routes`]; what a page shows is decided by pure modules: [`view`] (the values),
//! [`page`] (HTML), [`json`], [`chart`] (SVG), [`sandbox`] (archived pages made safe),
//! [`metrics`] (Prometheus text), [`history`] (the fold).
//!
//! Invariants: nothing here writes to the database; reads run on blocking threads with their own
//! connections (WAL: they never wait for the writer nor hold it up), at most [`READERS`] at a
//! time. Off loopback a token is required, compared in constant time, never logged. A request
//! never panics the server; a stuck client holds one connection slot for at most
//! [`CONNECTION_LIFETIME`].

pub mod chart;
pub mod history;
pub mod json;
pub mod metrics;
pub mod page;
mod routes;
pub mod sandbox;
/// The dashboard's view values live in the model layer ([`crate::view`]): the store fills them.
pub use crate::view;

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;

use crate::clock::Clock;
use crate::config::Config;
use crate::fix;
use crate::store::{Store, StoreError, Writer};
use history::History;
use view::{FixPlan, ListedFix, PlannedEdit, PostInfo};

/// Where `citewatch serve` listens unless told otherwise: this machine only.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8470";

/// Read connections (and blocking threads) the dashboard uses at most at once.
pub const READERS: usize = 4;

/// Connections served at once; more are closed as they arrive.
pub const MAX_CONNECTIONS: usize = 64;

/// A request's head must arrive within this.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// The largest request head read (request line and headers).
pub const MAX_HEAD: usize = 16 * 1024;

/// A connection is closed (gracefully) after this long, however busy or idle it is.
pub const CONNECTION_LIFETIME: Duration = Duration::from_secs(120);

/// How long a stopping server lets requests under way finish.
pub const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// How long one page's reads may take before the request is answered 503.
pub const READ_LIMIT: Duration = Duration::from_secs(20);

/// The shortest token accepted: it guards the archive and the site's citations off loopback.
pub const MIN_TOKEN_CHARS: usize = 16;

/// The history is read again when it is older than this.
const HISTORY_FRESH: Duration = Duration::from_secs(2);

/// Checks read per query while catching up with the history.
const HISTORY_BATCH: usize = 50_000;

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("listening on {addr} reaches beyond this machine, so the dashboard needs a token: set [serve] token_file to a file holding a secret of at least {MIN_TOKEN_CHARS} characters, or listen on 127.0.0.1")]
    NeedsToken { addr: SocketAddr },
    #[error("cannot read the dashboard token from {path}: {source}")]
    TokenRead {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the dashboard token in {path} is too short or not one line: use at least {MIN_TOKEN_CHARS} characters, e.g. `head -c 24 /dev/urandom | base64 > {path}`")]
    TokenWeak { path: PathBuf },
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The dashboard's secret. Only derived values are kept; `Debug` prints nothing of it.
#[derive(Clone)]
pub struct Token {
    /// What a presented token must hash to.
    hash: blake3::Hash,
    /// The key cookies and capabilities are derived with.
    key: [u8; 32],
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(..)")
    }
}

impl Token {
    /// A token from its text (surrounding whitespace ignored); `None` when it is too short or
    /// not one line.
    pub fn new(secret: &str) -> Option<Token> {
        let s = secret.trim();
        if s.chars().count() < MIN_TOKEN_CHARS || s.chars().any(char::is_control) {
            return None;
        }
        Some(Token {
            hash: blake3::hash(s.as_bytes()),
            key: blake3::derive_key("citewatch serve token v1", s.as_bytes()),
        })
    }

    /// Reads the token from `[serve] token_file`.
    pub fn from_file(path: &Path) -> Result<Token, ServeError> {
        let text = std::fs::read_to_string(path).map_err(|source| ServeError::TokenRead {
            path: path.to_path_buf(),
            source,
        })?;
        Token::new(&text).ok_or_else(|| ServeError::TokenWeak {
            path: path.to_path_buf(),
        })
    }

    /// Whether `presented` is the token. Constant time: both sides are hashed and blake3 compares
    /// hashes in constant time, so neither the content nor the length leaks through timing.
    pub fn matches(&self, presented: &str) -> bool {
        blake3::hash(presented.trim().as_bytes()) == self.hash
    }

    /// A value derived from the token for one purpose (the cookie, a snapshot's image).
    fn derived(&self, purpose: &str) -> String {
        blake3::keyed_hash(&self.key, purpose.as_bytes())
            .to_hex()
            .to_string()
    }

    /// The cookie a browser keeps once it presented the token (the token itself is not kept).
    fn cookie(&self) -> String {
        self.derived("cookie")
    }

    /// Whether a presented value equals the one derived for `purpose`, in constant time.
    fn derived_matches(&self, purpose: &str, presented: &str) -> bool {
        blake3::hash(presented.as_bytes()) == blake3::hash(self.derived(purpose).as_bytes())
    }
}

/// Whether an address reaches this machine only.
pub fn is_loopback(ip: IpAddr) -> bool {
    ip.to_canonical().is_loopback()
}

/// Off loopback, a token is required.
pub fn check_exposure(listen: SocketAddr, token: Option<&Token>) -> Result<(), ServeError> {
    if !is_loopback(listen.ip()) && token.is_none() {
        return Err(ServeError::NeedsToken { addr: listen });
    }
    Ok(())
}

/// Binds the listening socket (after [`check_exposure`]).
pub async fn bind(listen: SocketAddr, token: Option<&Token>) -> Result<TcpListener, ServeError> {
    check_exposure(listen, token)?;
    TcpListener::bind(listen)
        .await
        .map_err(|source| ServeError::Bind {
            addr: listen,
            source,
        })
}

/// What `citewatch fix` would do to a post, asked with a read connection.
pub type Planner = Arc<dyn Fn(&Store, &PostInfo) -> FixPlan + Send + Sync>;

/// A planner that can say nothing, and why (no posts folder configured, for one).
pub fn no_planner(why: &str) -> Planner {
    let why = why.to_string();
    Arc::new(move |_, _| FixPlan::Unavailable(why.clone()))
}

/// `citewatch fix`'s own planner, run dry for one post: its edits and the citations it would
/// list, exactly as `citewatch fix --post PATH` would print them. Nothing is written and nothing
/// is looked up (`apply: false`, no archive): `fix::run` only reads the store (through the
/// writer's `reader`) and the post file.
pub fn fix_planner(writer: Writer, config: Config, clock: Arc<dyn Clock>) -> Planner {
    Arc::new(move |_, post| {
        if config.sources.is_empty() {
            return FixPlan::Unavailable(
                "the configuration names no [[source]] folder, so the post cannot be read to plan its repairs".into(),
            );
        }
        let req = fix::Request {
            post: Some(post.path.clone()),
            kinds: fix::Kinds::DEFAULT,
            apply: false,
        };
        let report = match fix::run(
            &writer,
            &config,
            &req,
            None,
            &fix::apply::RealFs,
            clock.now(),
        ) {
            Ok(r) => r,
            Err(e) => return FixPlan::Failed(e.to_string()),
        };
        let file = Path::new(&post.source).join(&post.path);
        if let Some(s) = report.skipped.iter().find(|s| s.file == file) {
            return FixPlan::Unavailable(format!(
                "citewatch fix would leave this post alone: {}",
                s.why
            ));
        }
        let Some(p) = report
            .posts
            .into_iter()
            .find(|p| p.path == post.path && p.file == file)
        else {
            return FixPlan::Planned {
                edits: Vec::new(),
                listed: Vec::new(),
            };
        };
        FixPlan::Planned {
            edits: p
                .edits
                .into_iter()
                .map(|e| PlannedEdit {
                    line: e.line,
                    url: e.url,
                    action: e.action.as_str().to_string(),
                    old: e.old,
                    new: e.new,
                    target: e.target,
                    why: e.why,
                })
                .collect(),
            listed: p
                .listed
                .into_iter()
                .map(|l| ListedFix {
                    line: l.line,
                    url: l.url,
                    why: l.why,
                })
                .collect(),
        }
    })
}

/// The folded history and when it was last brought up to date.
#[derive(Default)]
struct Folded {
    history: History,
    refreshed: Option<tokio::time::Instant>,
}

/// What the routes share: where the database is, how to read it, who may.
pub struct Dashboard {
    db: PathBuf,
    token: Option<Token>,
    clock: Arc<dyn Clock>,
    planner: Planner,
    pool: std::sync::Mutex<Vec<Store>>,
    readers: Arc<tokio::sync::Semaphore>,
    folded: tokio::sync::Mutex<Folded>,
}

impl std::fmt::Debug for Dashboard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dashboard")
            .field("db", &self.db)
            .field("token", &self.token.is_some())
            .finish()
    }
}

/// Why a page could not be read.
#[derive(Debug)]
pub(crate) enum ReadError {
    Store(StoreError),
    /// Too many readers queued, or the reads took longer than [`READ_LIMIT`].
    Busy,
    /// A bug: a read panicked.
    Panicked,
}

impl Dashboard {
    pub fn new(db: &Path, token: Option<Token>, clock: Arc<dyn Clock>) -> Dashboard {
        Dashboard {
            db: db.to_path_buf(),
            token,
            clock,
            planner: no_planner("this dashboard was started without the fix planner"),
            pool: std::sync::Mutex::new(Vec::new()),
            readers: Arc::new(tokio::sync::Semaphore::new(READERS)),
            folded: tokio::sync::Mutex::new(Folded::default()),
        }
    }

    /// The planner to show what `citewatch fix` would do with (see [`fix_planner`]).
    pub fn with_planner(mut self, planner: Planner) -> Dashboard {
        self.planner = planner;
        self
    }

    fn take_reader(&self) -> Result<Store, StoreError> {
        let pooled = self.pool.lock().ok().and_then(|mut p| p.pop());
        match pooled {
            Some(s) => Ok(s),
            None => Store::open_reader(&self.db),
        }
    }

    fn give_back(&self, s: Store) {
        if let Ok(mut p) = self.pool.lock() {
            if p.len() < READERS {
                p.push(s);
            }
        }
    }

    /// Runs `f` on a read connection on a blocking thread, at most [`READERS`] at once.
    pub(crate) async fn read<T, F>(self: &Arc<Self>, f: F) -> Result<T, ReadError>
    where
        T: Send + 'static,
        F: FnOnce(&Store, &Dashboard) -> Result<T, StoreError> + Send + 'static,
    {
        let permit = tokio::time::timeout(READ_LIMIT, self.readers.clone().acquire_owned())
            .await
            .map_err(|_| ReadError::Busy)?
            .map_err(|_| ReadError::Busy)?;
        let me = self.clone();
        let task = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let store = me.take_reader()?;
            let out = f(&store, &me);
            me.give_back(store);
            out
        });
        match tokio::time::timeout(READ_LIMIT, task).await {
            Err(_) => Err(ReadError::Busy),
            Ok(Err(_)) => Err(ReadError::Panicked),
            Ok(Ok(r)) => r.map_err(ReadError::Store),
        }
    }

    /// Brings the folded history up to date (unless it is fresh) and reads from it.
    pub(crate) async fn with_history<T>(
        self: &Arc<Self>,
        f: impl FnOnce(&History) -> T,
    ) -> Result<T, ReadError> {
        let mut folded = self.folded.lock().await;
        let fresh = folded
            .refreshed
            .is_some_and(|t| t.elapsed() < HISTORY_FRESH);
        if !fresh {
            let history = std::mem::take(&mut folded.history);
            let db = self.db.clone();
            // Not through `read`: the first catch-up over a large history may take longer than a
            // page, and the history must come back whatever happens.
            let task = tokio::task::spawn_blocking(move || catch_up(&db, history));
            match task.await {
                Ok((history, result)) => {
                    folded.history = history;
                    match result {
                        Ok(()) => folded.refreshed = Some(tokio::time::Instant::now()),
                        Err(e) => tracing::warn!("dashboard: cannot read new checks: {e}"),
                    }
                }
                Err(_) => return Err(ReadError::Panicked),
            }
        }
        Ok(f(&folded.history))
    }

    pub(crate) fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }

    pub(crate) fn token(&self) -> Option<&Token> {
        self.token.as_ref()
    }

    pub(crate) fn plan(&self, store: &Store, post: &PostInfo) -> FixPlan {
        (self.planner)(store, post)
    }
}

/// Folds the checks written since the history last looked into it. A database whose checks end
/// before what the history saw was replaced: the history starts over.
fn catch_up(db: &Path, mut history: History) -> (History, Result<(), StoreError>) {
    let result = (|| {
        let store = Store::open_reader(db)?;
        if store.web_max_check_id()? < history.last_id() {
            history = History::default();
        }
        loop {
            let batch = store.web_checks_after(history.last_id(), HISTORY_BATCH)?;
            history.apply(&batch);
            if batch.len() < HISTORY_BATCH {
                return Ok(());
            }
        }
    })();
    (history, result)
}

/// Serves the dashboard on `listener` until `shutdown` completes; then lets requests under way
/// finish within [`CLOSE_GRACE`].
pub async fn run(listener: TcpListener, dash: Arc<Dashboard>, shutdown: impl Future<Output = ()>) {
    let app = routes::router(dash.clone());
    // Fold the check history now, so the first overview does not wait for it.
    {
        let d = dash.clone();
        tokio::spawn(async move {
            let _ = d.with_history(|_| ()).await;
        });
    }
    let limit = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut conns = tokio::task::JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        while conns.try_join_next().is_some() {}
        let accepted = tokio::select! {
            _ = &mut shutdown => break,
            a = listener.accept() => a,
        };
        let stream = match accepted {
            Ok((s, _)) => s,
            Err(e) => {
                // Out of file descriptors and the like: pass, and look again shortly.
                tracing::warn!("dashboard: cannot accept a connection: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(permit) = limit.clone().try_acquire_owned() else {
            continue; // over the limit: dropped, so closed at once
        };
        let svc = hyper_util::service::TowerToHyperService::new(app.clone());
        let mut stop = stop_rx.clone();
        conns.spawn(async move {
            let _permit = permit;
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .max_buf_size(MAX_HEAD)
                .serve_connection(hyper_util::rt::TokioIo::new(stream), svc);
            tokio::pin!(conn);
            let lifetime = tokio::time::sleep(CONNECTION_LIFETIME);
            tokio::pin!(lifetime);
            tokio::select! {
                _ = conn.as_mut() => return,
                _ = stop.changed() => {}
                _ = &mut lifetime => {}
            }
            conn.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(CLOSE_GRACE, conn).await;
        });
    }
    let _ = stop_tx.send(true);
    let _ = tokio::time::timeout(CLOSE_GRACE + Duration::from_secs(1), async {
        while conns.join_next().await.is_some() {}
    })
    .await;
    conns.abort_all();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_checked_whole_and_never_printed() {
        let t = Token::new("  correct-horse-battery-staple\n").unwrap();
        assert!(t.matches("correct-horse-battery-staple"));
        assert!(!t.matches("correct-horse-battery-stapl"));
        assert!(!t.matches(""));
        assert!(!format!("{t:?}").contains("horse"));
        assert!(Token::new("short").is_none());
        assert!(Token::new("a long token\nwith two lines").is_none());
        // Derived values differ by purpose and are not the token.
        assert_ne!(t.cookie(), t.derived("snapshot:abc"));
        assert!(t.derived_matches("cookie", &t.cookie()));
        assert!(!t.derived_matches("cookie", "x"));
        assert!(!t.cookie().contains("horse"));
    }

    #[test]
    fn off_loopback_a_token_is_required() {
        let lo: SocketAddr = "127.0.0.1:8470".parse().unwrap();
        let lo6: SocketAddr = "[::1]:8470".parse().unwrap();
        let mapped: SocketAddr = "[::ffff:127.0.0.1]:8470".parse().unwrap();
        let any: SocketAddr = "0.0.0.0:8470".parse().unwrap();
        let lan: SocketAddr = "192.168.1.5:8470".parse().unwrap();
        for a in [lo, lo6, mapped] {
            assert!(check_exposure(a, None).is_ok(), "{a}");
        }
        let t = Token::new("0123456789abcdef").unwrap();
        for a in [any, lan] {
            let e = check_exposure(a, None).unwrap_err().to_string();
            assert!(e.contains("token_file"), "{e}");
            assert!(check_exposure(a, Some(&t)).is_ok());
        }
    }
}
