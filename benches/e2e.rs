//! End-to-end benchmark: `cargo bench --bench e2e` (size: `CITEWATCH_BENCH_SIZE=small|large`).
//!
//! Starts its own web server on a few hundred loopback addresses (127.0.x.y: Linux routes all of
//! 127.0.0.0/8 to the loopback interface), writes a synthetic blog whose citations spread over
//! those hosts Zipf-like, runs `citewatch run` on it from an empty database, and reports wall
//! time, links per second, peak RSS and database size; then the re-scan of unchanged posts.
//! With `lychee` on the PATH it runs lychee on the same posts against the same server, A/B
//! alternated, and prints the ratio. A raw HTTP client fetching the same URLs gives the floor.
//! It reports; it asserts nothing.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

struct Size {
    posts: usize,
    urls: usize,
    citations: usize,
    hosts: usize,
}

const SMALL: Size = Size {
    posts: 500,
    urls: 5_000,
    citations: 15_000,
    hosts: 300,
};
const LARGE: Size = Size {
    posts: 5_000,
    urls: 50_000,
    citations: 150_000,
    hosts: 300,
};

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
        } else {
            ("200 OK", String::new(), page(num(&path)))
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

/// Binds `n` loopback hosts and serves them on a background runtime.
fn start_server(n: usize) -> (Vec<SocketAddr>, Arc<AtomicU64>) {
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
    (addrs, served)
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

fn write_blog(dir: &Path, size: &Size, addrs: &[SocketAddr]) -> Vec<String> {
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

/// Runs a command, returning wall time, exit code and the child's peak RSS in KiB.
#[allow(clippy::zombie_processes)] // reaped by wait4, which also reports its peak RSS
fn measure(cmd: &mut Command) -> (Duration, i32, i64) {
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
    (t.elapsed(), code, usage.ru_maxrss)
}

fn db_size(db: &Path) -> u64 {
    ["", "-wal", "-shm"]
        .iter()
        .filter_map(|s| std::fs::metadata(format!("{}{s}", db.display())).ok())
        .map(|m| m.len())
        .sum()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn write_config(dir: &Path, engine_only: bool) -> PathBuf {
    let path = dir.join(if engine_only {
        "engine.toml"
    } else {
        "defaults.toml"
    });
    let pacing = if engine_only {
        "per_host_interval = \"0s\"\nper_host_concurrency = 64\n"
    } else {
        ""
    };
    let text = format!(
        "[[source]]\npath = \"posts\"\n[check]\nallow_private = true\nsoft_404_probe = false\n{pacing}[archive]\nwayback = false\n"
    );
    std::fs::write(&path, text).expect("config");
    path
}

/// The floor: a plain reqwest client fetching every URL once, as fast as the server allows.
fn raw_client(urls: &[String]) -> Duration {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let t = Instant::now();
    rt.block_on(async {
        use futures_util::StreamExt;
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        futures_util::stream::iter(urls.iter())
            .map(|u| {
                let c = client.clone();
                async move {
                    if let Ok(r) = c.get(u).send().await {
                        let _ = r.bytes().await;
                    }
                }
            })
            .buffer_unordered(128)
            .collect::<Vec<_>>()
            .await;
    });
    t.elapsed()
}

fn main() {
    // `cargo bench` passes --bench; nothing else is read.
    let size = match std::env::var("CITEWATCH_BENCH_SIZE").as_deref() {
        Ok("large") => LARGE,
        _ => SMALL,
    };
    let rounds: usize = std::env::var("CITEWATCH_BENCH_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(3);
    let bin = env!("CARGO_BIN_EXE_citewatch");
    let (addrs, _served) = start_server(size.hosts);
    let dir = tempfile::tempdir().expect("tempdir");
    let urls = write_blog(dir.path(), &size, &addrs);
    let lychee = Command::new("lychee")
        .arg("--version")
        .output()
        .ok()
        .filter(|o| o.status.success());
    let mut report = String::new();
    let mut say = |s: String| {
        println!("{s}");
        report.push_str(&s);
        report.push('\n');
    };
    say(format!(
        "blog: {} posts, {} unique URLs, {} citations, {} loopback hosts; {} rounds",
        size.posts, size.urls, size.citations, size.hosts, rounds
    ));
    let raw = raw_client(&urls);
    say(format!(
        "raw client (reqwest, 128 in flight, no pacing): {:.2} s",
        raw.as_secs_f64()
    ));

    // CITEWATCH_BENCH_SETTINGS=engine skips the paced run (minutes at 100 ms per host).
    let settings: &[bool] = match std::env::var("CITEWATCH_BENCH_SETTINGS").as_deref() {
        Ok("engine") => &[true],
        _ => &[true, false],
    };
    for &engine_only in settings {
        let cfg = write_config(dir.path(), engine_only);
        let label = if engine_only {
            "engine only"
        } else {
            "defaults"
        };
        let (mut cw, mut ly, mut cw_rss, mut ly_rss) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let mut last_db = 0;
        for _ in 0..rounds {
            let db = dir.path().join("bench.db");
            for s in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{s}", db.display()));
            }
            let (t, code, rss) = measure(Command::new(bin).current_dir(dir.path()).args([
                "--config",
                cfg.to_str().unwrap_or(""),
                "--db",
                db.to_str().unwrap_or(""),
                "-q",
                "run",
            ]));
            assert!(code == 0 || code == 2, "citewatch failed with {code}");
            cw.push(t.as_secs_f64());
            cw_rss.push(rss as f64);
            last_db = db_size(&db);
            if lychee.is_some() {
                let mut c = Command::new("lychee");
                c.current_dir(dir.path()).args([
                    "--no-progress",
                    "--max-concurrency",
                    "128",
                    "--max-retries",
                    "2",
                    "posts",
                ]);
                if engine_only {
                    c.args(["--host-request-interval", "0s", "--host-concurrency", "64"]);
                } else {
                    c.args([
                        "--host-request-interval",
                        "100ms",
                        "--host-concurrency",
                        "4",
                    ]);
                }
                let (t, _, rss) = measure(&mut c);
                ly.push(t.as_secs_f64());
                ly_rss.push(rss as f64);
            }
        }
        let m = median(cw.clone());
        say(format!(
            "citewatch run, {label}: {:.2} s median ({:.0} links/s), peak RSS {:.0} MiB, database {:.1} MiB; {:.1}× the raw client",
            m,
            size.urls as f64 / m,
            median(cw_rss) / 1024.0,
            last_db as f64 / 1_048_576.0,
            m / raw.as_secs_f64()
        ));
        if let Some(v) = &lychee {
            let l = median(ly);
            say(format!(
                "lychee ({}), {label}: {:.2} s median, peak RSS {:.0} MiB; citewatch/lychee = {:.2}",
                String::from_utf8_lossy(&v.stdout).trim(),
                l,
                median(ly_rss) / 1024.0,
                m / l
            ));
        }
    }
    if lychee.is_none() {
        say("lychee not on PATH: `cargo install lychee` to compare".into());
    }
    // Re-scanning unchanged posts: size and mtime match, nothing is read.
    let db = dir.path().join("bench.db");
    let cfg = write_config(dir.path(), true);
    let scans: Vec<f64> = (0..5)
        .map(|_| {
            measure(Command::new(bin).current_dir(dir.path()).args([
                "--config",
                cfg.to_str().unwrap_or(""),
                "--db",
                db.to_str().unwrap_or(""),
                "-q",
                "scan",
            ]))
            .0
            .as_secs_f64()
        })
        .collect();
    say(format!(
        "scan of {} unchanged posts: {:.3} s median",
        size.posts,
        median(scans)
    ));
    if let Ok(path) = std::env::var("CITEWATCH_BENCH_REPORT") {
        if let Ok(mut f) = std::fs::File::create(path) {
            let _ = f.write_all(report.as_bytes());
        }
    }
}
