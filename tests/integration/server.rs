//! A loopback HTTP/1.1 server for tests, byte-level enough to misbehave on purpose: drip, stall,
//! endless bodies, gzip bombs, failures that pass. Runs on its own thread and runtime, so sync
//! tests (driving the real binary) and async tests use it alike.

use std::collections::HashMap;
use std::io::Write as _;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What a handler sees of a request, and what the server's log keeps of it.
#[derive(Debug, Clone)]
pub struct Request {
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// `GET`, `POST`, `CONNECT`, ... as sent.
    pub method: String,
    /// The query string as sent (without the `?`), `None` when the target had no `?`.
    pub query: Option<String>,
    /// When the request's head had arrived (before the handler ran).
    pub received: Instant,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// A query parameter, percent-decoded (the first one of that name).
    pub fn query_param(&self, name: &str) -> Option<String> {
        url::form_urlencoded::parse(self.query.as_deref()?.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }
}

/// How to answer.
#[derive(Clone)]
pub enum Reply {
    Full {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    /// Headers at once, then one body byte every `every`, `total` bytes.
    Drip { every: Duration, total: usize },
    /// Accept and never answer.
    Stall,
    /// A body of `total` bytes (sent in chunks), optionally with extra headers.
    Endless {
        total: u64,
        headers: Vec<(String, String)>,
    },
    /// Answer after a delay.
    Delayed(Duration, Box<Reply>),
}

pub fn html(body: &str) -> Reply {
    Reply::Full {
        status: 200,
        headers: vec![("content-type".into(), "text/html; charset=utf-8".into())],
        body: body.as_bytes().to_vec(),
    }
}

pub fn status(code: u16) -> Reply {
    Reply::Full {
        status: code,
        headers: vec![("content-type".into(), "text/html".into())],
        body: format!("<html><title>{code}</title><p>status {code}</p></html>").into_bytes(),
    }
}

pub fn redirect(code: u16, location: &str) -> Reply {
    Reply::Full {
        status: code,
        headers: vec![("location".into(), location.into())],
        body: Vec::new(),
    }
}

pub fn with_headers(code: u16, headers: &[(&str, &str)], body: &str) -> Reply {
    Reply::Full {
        status: code,
        headers: headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        body: body.as_bytes().to_vec(),
    }
}

/// A page of distinct article text: `seed` picks the words.
pub fn article(title: &str, seed: usize) -> String {
    let words = [
        "citation",
        "archive",
        "network",
        "protocol",
        "history",
        "library",
        "journal",
        "science",
        "record",
        "memory",
        "digital",
        "preservation",
        "evidence",
        "reference",
        "document",
        "source",
        "research",
        "author",
        "reader",
        "page",
    ];
    let mut text = String::new();
    for p in 0..6 {
        text.push_str("<p>");
        for i in 0..40 {
            text.push_str(words[(seed * 7 + p * 13 + i * (seed % 5 + 3)) % words.len()]);
            text.push(' ');
        }
        text.push_str("</p>\n");
    }
    format!("<html><head><title>{title}</title></head><body><article><h1>{title}</h1>{text}</article></body></html>")
}

type Handler = Arc<dyn Fn(&Request) -> Reply + Send + Sync>;

#[derive(Default)]
struct Stats {
    hits: HashMap<String, usize>,
    starts: Vec<(String, Instant)>,
    requests: Vec<Request>,
}

pub struct TestServer {
    pub port: u16,
    host: String,
    stats: Arc<Mutex<Stats>>,
    inflight: Arc<AtomicUsize>,
    max_inflight: Arc<AtomicUsize>,
    connections: Arc<AtomicUsize>,
}

pub struct Routes(Vec<(String, Handler)>);

impl Routes {
    pub fn new() -> Self {
        Routes(Vec::new())
    }

    /// What every path without a route of its own answers.
    pub fn fallback(self, f: impl Fn(&Request) -> Reply + Send + Sync + 'static) -> Self {
        self.at("*", f)
    }

    /// A route for an exact path (query ignored).
    pub fn at(mut self, path: &str, f: impl Fn(&Request) -> Reply + Send + Sync + 'static) -> Self {
        self.0.push((path.to_string(), Arc::new(f)));
        self
    }
}

impl TestServer {
    pub fn start(routes: Routes) -> TestServer {
        Self::start_on("127.0.0.1", routes)
    }

    pub fn start_on(ip: &str, routes: Routes) -> TestServer {
        Self::start_at(ip, 0, routes).expect("bind loopback")
    }

    /// A server on `ip:port` (port 0: any free port); an error when the port is taken.
    pub fn start_at(ip: &str, port: u16, routes: Routes) -> std::io::Result<TestServer> {
        let std_listener = std::net::TcpListener::bind((ip, port))?;
        std_listener.set_nonblocking(true).expect("nonblocking");
        let port = std_listener.local_addr().expect("addr").port();
        let stats = Arc::new(Mutex::new(Stats::default()));
        let inflight = Arc::new(AtomicUsize::new(0));
        let max_inflight = Arc::new(AtomicUsize::new(0));
        let connections = Arc::new(AtomicUsize::new(0));
        let routes: Arc<HashMap<String, Handler>> = Arc::new(routes.0.into_iter().collect());
        let (st, inf, maxi) = (stats.clone(), inflight.clone(), max_inflight.clone());
        let conns = connections.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let listener = TcpListener::from_std(std_listener).expect("listener");
                loop {
                    let Ok((sock, _)) = listener.accept().await else {
                        continue;
                    };
                    conns.fetch_add(1, Ordering::SeqCst);
                    let (routes, st, inf, maxi) =
                        (routes.clone(), st.clone(), inf.clone(), maxi.clone());
                    tokio::spawn(async move {
                        let _ = serve(sock, routes, st, inf, maxi).await;
                    });
                }
            });
        });
        Ok(TestServer {
            port,
            host: ip.to_string(),
            stats,
            inflight,
            max_inflight,
            connections,
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}:{}{}", self.host, self.port, path)
    }

    pub fn hits(&self, path: &str) -> usize {
        self.stats
            .lock()
            .unwrap()
            .hits
            .get(path)
            .copied()
            .unwrap_or(0)
    }

    #[allow(dead_code)]
    pub fn total_hits(&self) -> usize {
        self.stats.lock().unwrap().hits.values().sum()
    }

    pub fn starts(&self, path_prefix: &str) -> Vec<Instant> {
        self.stats
            .lock()
            .unwrap()
            .starts
            .iter()
            .filter(|(p, _)| p.starts_with(path_prefix))
            .map(|(_, t)| *t)
            .collect()
    }

    pub fn requests(&self, path: &str) -> Vec<Request> {
        self.stats
            .lock()
            .unwrap()
            .requests
            .iter()
            .filter(|r| r.path == path)
            .cloned()
            .collect()
    }

    pub fn max_inflight(&self) -> usize {
        self.max_inflight.load(Ordering::SeqCst)
    }

    #[allow(dead_code)]
    pub fn inflight(&self) -> usize {
        self.inflight.load(Ordering::SeqCst)
    }

    /// Every request received, in the order their heads arrived: method, path, query, headers,
    /// body and receive time.
    pub fn log(&self) -> Vec<Request> {
        self.stats.lock().unwrap().requests.clone()
    }

    /// Requests to `path` whose query string is exactly `query` (without the `?`).
    pub fn requests_with_query(&self, path: &str, query: &str) -> Vec<Request> {
        self.stats
            .lock()
            .unwrap()
            .requests
            .iter()
            .filter(|r| r.path == path && r.query.as_deref() == Some(query))
            .cloned()
            .collect()
    }

    /// TCP connections accepted, whether or not a whole request arrived on them: "nobody
    /// connected" is `connections() == 0`.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    /// Asserts that `path` (any query) was requested exactly `n` times, as wiremock's
    /// `expect(n)`; the message lists what the server did receive.
    #[track_caller]
    pub fn expect_hits(&self, path: &str, n: usize) {
        let got = self.requests(path).len();
        assert_eq!(
            got,
            n,
            "{path} requested {got} times, expected {n}; the server saw:\n{}",
            self.describe_log()
        );
    }

    /// Asserts that `path?query` (the query exactly) was requested `n` times.
    #[track_caller]
    pub fn expect_hits_with_query(&self, path: &str, query: &str, n: usize) {
        let got = self.requests_with_query(path, query).len();
        assert_eq!(
            got,
            n,
            "{path}?{query} requested {got} times, expected {n}; the server saw:\n{}",
            self.describe_log()
        );
    }

    /// Asserts that nothing connected to this server at all.
    #[track_caller]
    pub fn expect_untouched(&self) {
        assert_eq!(
            self.connections(),
            0,
            "expected no connection; the server saw:\n{}",
            self.describe_log()
        );
    }

    /// One line per received request, for assertion messages.
    pub fn describe_log(&self) -> String {
        let log = self.log();
        if log.is_empty() {
            return format!(
                "  (no complete request; {} connections)",
                self.connections()
            );
        }
        let t0 = log[0].received;
        log.iter()
            .map(|r| {
                format!(
                    "  +{:>6} ms {} {}{}\n",
                    (r.received - t0).as_millis(),
                    r.method,
                    r.path,
                    r.query
                        .as_deref()
                        .map(|q| format!("?{q}"))
                        .unwrap_or_default()
                )
            })
            .collect()
    }
}

struct InflightGuard(Arc<AtomicUsize>);

impl Drop for InflightGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

async fn serve(
    mut sock: TcpStream,
    routes: Arc<HashMap<String, Handler>>,
    stats: Arc<Mutex<Stats>>,
    inflight: Arc<AtomicUsize>,
    max_inflight: Arc<AtomicUsize>,
) -> std::io::Result<()> {
    let mut buf = Vec::new();
    let mut tmp = [0u8; 4096];
    let head_end = loop {
        let n = sock.read(&mut tmp).await?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&tmp[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        if buf.len() > 64 * 1024 {
            return Ok(());
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or("");
    let received = Instant::now();
    let method = request_line.split(' ').next().unwrap_or("").to_string();
    let target = request_line.split(' ').nth(1).unwrap_or("/").to_string();
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p.to_string(), Some(q.to_string())),
        None => (target.clone(), None),
    };
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let len: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0)
        .min(16 << 20);
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < len {
        let n = sock.read(&mut tmp).await?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&tmp[..n]);
    }
    body.truncate(len);
    let req = Request {
        path: path.clone(),
        headers,
        body,
        method,
        query,
        received,
    };
    let now = inflight.fetch_add(1, Ordering::SeqCst) + 1;
    // In flight until the answer starts going out: the client may finish reading (and start its
    // next request) before this task returns.
    let mut guard = Some(InflightGuard(inflight.clone()));
    max_inflight.fetch_max(now, Ordering::SeqCst);
    {
        let mut s = stats.lock().unwrap();
        *s.hits.entry(path.clone()).or_default() += 1;
        s.starts.push((path.clone(), received));
        s.requests.push(req.clone());
    }
    let reply = match routes.get(&path).or_else(|| routes.get("*")) {
        Some(h) => h(&req),
        None => status(404),
    };
    write_reply(&mut sock, reply, &mut guard).await
}

fn reason(code: u16) -> &'static str {
    match code {
        200 => "OK",
        301 => "Moved Permanently",
        302 => "Found",
        404 => "Not Found",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

fn write_reply<'a>(
    sock: &'a mut TcpStream,
    reply: Reply,
    guard: &'a mut Option<InflightGuard>,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = std::io::Result<()>> + Send + 'a>> {
    Box::pin(async move {
        if !matches!(reply, Reply::Delayed(..)) {
            guard.take();
        }
        match reply {
            Reply::Full {
                status,
                headers,
                body,
            } => {
                let mut head = format!(
                    "HTTP/1.1 {status} {}\r\ncontent-length: {}\r\nconnection: close\r\n",
                    reason(status),
                    body.len()
                );
                for (k, v) in headers {
                    head.push_str(&format!("{k}: {v}\r\n"));
                }
                head.push_str("\r\n");
                sock.write_all(head.as_bytes()).await?;
                sock.write_all(&body).await?;
                sock.flush().await
            }
            Reply::Drip { every, total } => {
                sock.write_all(format!("HTTP/1.1 200 OK\r\ncontent-length: {total}\r\ncontent-type: text/html\r\nconnection: close\r\n\r\n").as_bytes())
                    .await?;
                for _ in 0..total {
                    tokio::time::sleep(every).await;
                    sock.write_all(b"x").await?;
                    sock.flush().await?;
                }
                Ok(())
            }
            Reply::Stall => {
                tokio::time::sleep(Duration::from_secs(60)).await;
                Ok(())
            }
            Reply::Endless { total, headers } => {
                let mut head = format!("HTTP/1.1 200 OK\r\ncontent-length: {total}\r\ncontent-type: text/html\r\nconnection: close\r\n");
                for (k, v) in headers {
                    head.push_str(&format!("{k}: {v}\r\n"));
                }
                head.push_str("\r\n");
                sock.write_all(head.as_bytes()).await?;
                let chunk = vec![b'a'; 64 * 1024];
                let mut sent = 0u64;
                while sent < total {
                    let n = chunk.len().min((total - sent) as usize);
                    sock.write_all(&chunk[..n]).await?;
                    sent += n as u64;
                }
                Ok(())
            }
            Reply::Delayed(d, inner) => {
                tokio::time::sleep(d).await;
                write_reply(sock, *inner, guard).await
            }
        }
    })
}

/// A gzip body that expands to `expanded` bytes of zeros: a bomb for the body cap.
pub fn gzip_bomb(expanded: usize) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let zeros = vec![0u8; 1 << 20];
    let mut left = expanded;
    while left > 0 {
        let n = left.min(zeros.len());
        enc.write_all(&zeros[..n]).expect("in-memory write");
        left -= n;
    }
    enc.finish().expect("in-memory gzip")
}

/// A counter handlers can share: "fail N times, then succeed".
pub fn counter() -> Arc<AtomicUsize> {
    Arc::new(AtomicUsize::new(0))
}

/// A handler that answers `failure` to its first `n` requests and `then` to every later one:
/// a server error that passes, a 429 before the page, a webhook that fails once.
pub fn fails_first(
    n: usize,
    failure: Reply,
    then: Reply,
) -> impl Fn(&Request) -> Reply + Send + Sync + 'static {
    fails_first_with(n, failure, move |_| then.clone())
}

/// [`fails_first`] with a handler for the requests after the failures (to look at them).
pub fn fails_first_with(
    n: usize,
    failure: Reply,
    then: impl Fn(&Request) -> Reply + Send + Sync + 'static,
) -> impl Fn(&Request) -> Reply + Send + Sync + 'static {
    let seen = AtomicUsize::new(0);
    move |req| {
        if seen.fetch_add(1, Ordering::SeqCst) < n {
            failure.clone()
        } else {
            then(req)
        }
    }
}

/// A flag a test flips to change what a route answers (a page that breaks, then recovers).
/// Clones share the flag.
#[derive(Clone, Default)]
pub struct Switch(Arc<AtomicBool>);

impl Switch {
    /// A switch that starts off.
    pub fn new() -> Switch {
        Switch::default()
    }

    pub fn on(&self) {
        self.set(true);
    }

    pub fn off(&self) {
        self.set(false);
    }

    pub fn set(&self, on: bool) {
        self.0.store(on, Ordering::SeqCst);
    }

    pub fn is_on(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }

    /// A handler answering `off` while the switch is off and `on` once it is on.
    pub fn between(
        &self,
        off: Reply,
        on: Reply,
    ) -> impl Fn(&Request) -> Reply + Send + Sync + 'static {
        self.choose(move |_| off.clone(), move |_| on.clone())
    }

    /// [`Switch::between`] with handlers.
    pub fn choose(
        &self,
        off: impl Fn(&Request) -> Reply + Send + Sync + 'static,
        on: impl Fn(&Request) -> Reply + Send + Sync + 'static,
    ) -> impl Fn(&Request) -> Reply + Send + Sync + 'static {
        let flag = self.0.clone();
        move |req| {
            if flag.load(Ordering::SeqCst) {
                on(req)
            } else {
                off(req)
            }
        }
    }
}

/// One raw HTTP/1.1 request; returns the status code of the answer.
#[cfg(test)]
fn raw_request(port: u16, head: &str) -> u16 {
    use std::io::Read as _;
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.write_all(head.as_bytes()).unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    answer
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no status in {answer:?}"))
}

#[test]
fn the_server_logs_method_path_query_and_time_and_helpers_answer_in_turn() {
    let broken = Switch::new();
    let flaky = counter();
    let f2 = flaky.clone();
    let srv = TestServer::start(
        Routes::new()
            .at("/p", |_| status(200))
            .at("/flip", broken.between(status(200), status(404)))
            .at("/flaky", fails_first(2, status(503), status(200)))
            .at("/count", move |_| {
                f2.fetch_add(1, Ordering::SeqCst);
                status(204)
            }),
    );
    let before = Instant::now();
    let get = |target: &str| {
        raw_request(
            srv.port,
            &format!("GET {target} HTTP/1.1\r\nHost: x\r\n\r\n"),
        )
    };
    assert_eq!(get("/p?q=a%20b&n=1"), 200);
    assert_eq!(get("/p"), 200);
    assert_eq!(
        raw_request(
            srv.port,
            "POST /p?n=2 HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
        ),
        200
    );
    let log = srv.log();
    assert_eq!(log.len(), 3);
    assert_eq!(
        (log[0].method.as_str(), log[0].path.as_str()),
        ("GET", "/p")
    );
    assert_eq!(log[0].query.as_deref(), Some("q=a%20b&n=1"));
    assert_eq!(log[0].query_param("q").as_deref(), Some("a b"));
    assert_eq!(log[1].query, None);
    assert_eq!(
        (log[2].method.as_str(), &log[2].body[..]),
        ("POST", &b"abc"[..])
    );
    assert!(log.iter().all(|r| r.received >= before));
    assert!(log.windows(2).all(|w| w[0].received <= w[1].received));
    srv.expect_hits("/p", 3);
    srv.expect_hits_with_query("/p", "n=2", 1);
    assert_eq!(srv.requests_with_query("/p", "q=a%20b&n=1").len(), 1);
    assert_eq!(srv.connections(), 3);

    assert_eq!(
        [get("/flaky"), get("/flaky"), get("/flaky")],
        [503, 503, 200]
    );
    assert!(!broken.is_on());
    assert_eq!(get("/flip"), 200);
    broken.on();
    assert_eq!(get("/flip"), 404);
    broken.off();
    assert_eq!(get("/flip"), 200);
    get("/count");
    assert_eq!(flaky.load(Ordering::SeqCst), 1);

    let quiet = TestServer::start(Routes::new());
    quiet.expect_untouched();
    let missed = std::panic::catch_unwind(|| srv.expect_hits("/p", 9)).unwrap_err();
    let message = missed.downcast_ref::<String>().unwrap();
    assert!(
        message.contains("expected 9") && message.contains("GET /p?q=a%20b&n=1"),
        "the message lists what the server saw: {message}"
    );
}
