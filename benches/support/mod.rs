//! What the benchmarks share: a web server on a few hundred loopback hosts, a synthetic blog whose
//! citations spread over them Zipf-like, and measuring a child process (wall time, peak RSS).
//! Reports only; nothing here asserts.

#![allow(dead_code)] // each benchmark uses part of it

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The shape of a synthetic blog.
#[derive(Debug, Clone, Copy)]
pub struct Size {
    pub posts: usize,
    pub urls: usize,
    pub citations: usize,
    pub hosts: usize,
}

pub const SMALL: Size = Size {
    posts: 500,
    urls: 5_000,
    citations: 15_000,
    hosts: 300,
};

pub const LARGE: Size = Size {
    posts: 5_000,
    urls: 50_000,
    citations: 150_000,
    hosts: 300,
};

/// `CITEWATCH_BENCH_SIZE=large` or the default small blog.
pub fn size_from_env() -> Size {
    match std::env::var("CITEWATCH_BENCH_SIZE").as_deref() {
        Ok("large") => LARGE,
        _ => SMALL,
    }
}

/// A number from the environment, or the default.
pub fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A page of a few KiB, the same for the same path.
fn page(n: u64) -> Vec<u8> {
    let mut body =
        format!("<html><head><title>Page {n}</title></head><body><article><h1>Page {n}</h1>");
    for p in 0..12 {
        body.push_str(&format!(
            "<p>Paragraph {p} of page {n}: citations decay, archives remember, and checkers keep an eye on both. </p>"
        ));
    }
    body.push_str("</article></body></html>");
    body.into_bytes()
}

async fn serve(mut sock: tokio::net::TcpStream, served: Arc<AtomicU64>) {
    let mut buf = Vec::with_capacity(4096);
    let mut tmp = [0u8; 4096];
    loop {
        // Read one request head (benchmark clients send no bodies with GET).
        let end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            match sock.read(&mut tmp).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&tmp[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buf[..end]).into_owned();
        buf.drain(..end);
        let path = head.split(' ').nth(1).unwrap_or("/").to_string();
        let num = |p: &str| {
            p.rsplit('/')
                .next()
                .and_then(|n| n.parse::<u64>().ok())
                .unwrap_or(0)
        };
        let (status, extra, body) = if path.starts_with("/gone/") {
            (
                "404 Not Found",
                String::new(),
                b"<html><title>Not found</title></html>".to_vec(),
            )
        } else if path.starts_with("/old/") {
            (
                "301 Moved Permanently",
                format!("location: /p/{}\r\n", num(&path)),
                Vec::new(),
            )
        } else if path.starts_with("/p/") {
            ("200 OK", String::new(), page(num(&path)))
        } else {
            // Anything else (a soft-404 probe's random path, say) is a proper not-found.
            (
                "404 Not Found",
                String::new(),
                b"<html><title>Not found</title></html>".to_vec(),
            )
        };
        let resp = format!(
            "HTTP/1.1 {status}\r\ncontent-type: text/html; charset=utf-8\r\ncontent-length: {}\r\n{extra}\r\n",
            body.len()
        );
        served.fetch_add(1, Ordering::Relaxed);
        if sock.write_all(resp.as_bytes()).await.is_err() || sock.write_all(&body).await.is_err() {
            return;
        }
    }
}

/// The benchmark web server: `n` loopback hosts served by one thread of its own.
pub struct Server {
    pub addrs: Vec<SocketAddr>,
    /// Responses sent so far.
    pub served: Arc<AtomicU64>,
}

/// Binds `n` loopback hosts (127.0.1.1, 127.0.1.2, …: Linux routes all of 127.0.0.0/8 to the
/// loopback interface) and serves them on a background runtime.
pub fn start_server(n: usize) -> Server {
    let served = Arc::new(AtomicU64::new(0));
    let mut listeners = Vec::new();
    for i in 0..n {
        let ip = format!("127.0.{}.{}", 1 + i / 250, 1 + i % 250);
        let l = std::net::TcpListener::bind((ip.as_str(), 0)).expect("bind a loopback address");
        l.set_nonblocking(true).expect("nonblocking");
        listeners.push(l);
    }
    let addrs: Vec<SocketAddr> = listeners
        .iter()
        .map(|l| l.local_addr().expect("addr"))
        .collect();
    let s2 = served.clone();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            for l in listeners {
                let l = tokio::net::TcpListener::from_std(l).expect("listener");
                let s = s2.clone();
                tokio::spawn(async move {
                    while let Ok((sock, _)) = l.accept().await {
                        let _ = sock.set_nodelay(true);
                        tokio::spawn(serve(sock, s.clone()));
                    }
                });
            }
            std::future::pending::<()>().await;
        });
    });
    Server { addrs, served }
}

/// A deterministic xorshift generator: the blog is the same on every run.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Host index with Zipf-like weights (a few hosts get most citations, as in real blogs).
fn zipf_host(rng: &mut Rng, hosts: usize) -> usize {
    let u = (rng.next() % 1_000_000) as f64 / 1_000_000.0;
    let x = (hosts as f64 + 1.0).powf(u) - 1.0;
    (x as usize).min(hosts - 1)
}

/// Writes `dir/posts/`: `size.posts` Markdown posts citing `size.urls` URLs on `addrs`
/// `size.citations` times (90 % pages, 5 % 404, 5 % 301 to a page). Returns the URLs.
pub fn write_blog(dir: &Path, size: &Size, addrs: &[SocketAddr]) -> Vec<String> {
    let mut rng = Rng(0x5eed_cafe_f00d_1234);
    let urls: Vec<String> = (0..size.urls)
        .map(|i| {
            let a = addrs[zipf_host(&mut rng, addrs.len())];
            let kind = rng.below(100);
            let path = if kind < 5 {
                format!("/gone/{i}")
            } else if kind < 10 {
                format!("/old/{i}")
            } else {
                format!("/p/{i}")
            };
            format!("http://{a}{path}")
        })
        .collect();
    let posts = dir.join("posts");
    std::fs::create_dir_all(&posts).expect("mkdir");
    let per_post = size.citations / size.posts;
    for p in 0..size.posts {
        let mut text = format!(
            "---\ntitle: \"Post {p}\"\ndate: 2020-01-{:02}T10:00:00Z\n---\n\n",
            1 + p % 28
        );
        for c in 0..per_post {
            // Every URL is cited at least once; the rest at random.
            let k = p * per_post + c;
            let u = if k < size.urls {
                &urls[k]
            } else {
                &urls[rng.below(size.urls)]
            };
            match c % 3 {
                0 => text.push_str(&format!(
                    "Some prose before [a citation]({u}) and after it.\n\n"
                )),
                1 => text.push_str(&format!(
                    "A bare link {u} in running text, then more words.\n\n"
                )),
                _ => text.push_str(&format!(
                    "Angle brackets: <{u}>, followed by a sentence.\n\n"
                )),
            }
        }
        std::fs::write(posts.join(format!("post-{p:05}.md")), text).expect("write post");
    }
    urls
}

/// What one child process cost.
#[derive(Debug, Clone, Copy)]
pub struct Measured {
    pub wall: Duration,
    pub code: i32,
    /// Peak resident set, KiB.
    pub peak_rss_kib: i64,
    /// User plus system CPU time.
    pub cpu: Duration,
}

/// Runs a command to its end (output discarded) and measures it.
#[allow(clippy::zombie_processes)] // reaped by wait4, which also reports its resource use
pub fn measure(cmd: &mut Command) -> Measured {
    let t = Instant::now();
    let child = cmd
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waits for our own child; `usage` is a valid, writable rusage.
    unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    Measured {
        wall: t.elapsed(),
        code,
        peak_rss_kib: usage.ru_maxrss,
        cpu: tv(usage.ru_utime) + tv(usage.ru_stime),
    }
}

/// The database with its write-ahead log, in bytes.
pub fn db_size(db: &Path) -> u64 {
    ["", "-wal", "-shm"]
        .iter()
        .filter_map(|s| std::fs::metadata(format!("{}{s}", db.display())).ok())
        .map(|m| m.len())
        .sum()
}

pub fn remove_db(db: &Path) {
    for s in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{s}", db.display()));
    }
}

/// Waits, blocking the thread: fine in a benchmark's driver, which has nothing else to do.
#[allow(clippy::disallowed_methods)]
pub fn pause(d: Duration) {
    std::thread::sleep(d);
}

pub fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

pub fn mib(bytes: f64) -> f64 {
    bytes / 1_048_576.0
}

/// Prints a line and keeps it for the report file (`CITEWATCH_BENCH_REPORT=FILE`).
#[derive(Default)]
pub struct Report(String);

impl Report {
    pub fn say(&mut self, s: impl Into<String>) {
        let s = s.into();
        println!("{s}");
        self.0.push_str(&s);
        self.0.push('\n');
    }

    pub fn save(&self) {
        if let Ok(path) = std::env::var("CITEWATCH_BENCH_REPORT") {
            if let Err(e) = std::fs::write(&path, &self.0) {
                eprintln!("cannot write {path}: {e}");
            }
        }
    }
}
