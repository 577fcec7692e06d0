//! Hostile pages against the real binary: a `citewatch run` over a blog citing ordinary pages
//! and four pages built to blow up a reader (10 MiB of NUL bytes behind gzip, 10 MiB with no
//! line break, 10 MiB of one-letter words, 100,000 nested elements). Invariant checked: the
//! run finishes with a verdict for every link and the process's peak resident memory (its
//! `VmHWM`, polled from `/proc` until it exits) stays under [`PEAK_LIMIT_KIB`], on a
//! first run (no baseline) and on a second one where every hostile page has changed (a full
//! comparison with the baseline).

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::cli::Blog;
use crate::server::{article, gzip_bomb, html, Reply, Routes, Switch, TestServer};

/// The bound: 256 MiB peak, whatever a page holds.
const PEAK_LIMIT_KIB: i64 = 256 * 1024;

const TEN_MIB: usize = 10 << 20;

/// The high-water mark of a live process's resident set (`VmHWM`, KiB); `None` once it is gone.
fn vm_hwm(pid: u32) -> Option<i64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Runs `citewatch run` in `blog` to its end (at most two minutes) and returns its exit code
/// and its peak resident set in KiB: the largest `VmHWM` polled every 5 ms while it ran (the
/// high-water mark of its own memory only; `wait4`'s `ru_maxrss` would also count the memory
/// of this test process, which the child shared between spawn and exec).
// The child is reaped by `wait4`, not by `Child::wait`.
#[allow(clippy::zombie_processes)]
fn run_measured(blog: &Blog) -> (i32, i64) {
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("citewatch"))
        .current_dir(blog.path())
        .arg("run")
        .env_remove("RUST_LOG")
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(blog.path().join("run.log")).unwrap())
        .spawn()
        .unwrap();
    let pid = child.id() as libc::pid_t;
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut peak = 0i64;
    loop {
        if let Some(hwm) = vm_hwm(child.id()) {
            peak = peak.max(hwm);
        }
        let mut status: libc::c_int = 0;
        // SAFETY: an all-zero rusage is a valid value; wait4 fills it in.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: plain syscall on our own child with valid out-pointers.
        let r = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        assert!(r >= 0, "wait4: {}", std::io::Error::last_os_error());
        if r == pid {
            assert!(
                libc::WIFEXITED(status),
                "the run did not exit normally (status {status}): {}",
                blog.log_of("run")
            );
            eprintln!(
                "VmHWM polled {} MiB; wait4 ru_maxrss {} MiB (with this process's share)",
                peak / 1024,
                usage.ru_maxrss / 1024
            );
            return (libc::WEXITSTATUS(status), peak);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the run took over two minutes: {}", blog.log_of("run"));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Pseudo-random words (no two shingles alike), one space apart, no line break: `len` bytes.
fn one_long_line(len: usize, salt: u64) -> String {
    let mut s = String::with_capacity(len + 16);
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15 ^ salt;
    while s.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let n = 3 + (x % 7) as usize;
        for i in 0..n {
            s.push((b'a' + ((x >> (i * 5)) % 26) as u8) as char);
        }
        s.push(' ');
    }
    s
}

fn hostile_routes(changed: Switch) -> Routes {
    let nul = Arc::new(gzip_bomb(TEN_MIB));
    assert!(nul.len() < 1 << 20, "the bomb itself is small on the wire");
    let line = Arc::new([
        format!(
            "<html><head><title>Line</title></head><body><p>{}</p></body></html>",
            one_long_line(TEN_MIB - 100, 1)
        ),
        format!(
            "<html><head><title>Line</title></head><body><p>{}</p></body></html>",
            one_long_line(TEN_MIB - 100, 2)
        ),
    ]);
    let letters = Arc::new([
        format!(
            "<html><head><title>Letters</title></head><body><p>{}</p></body></html>",
            "a ".repeat(TEN_MIB / 2 - 60)
        ),
        format!(
            "<html><head><title>Letters</title></head><body><p>{}</p></body></html>",
            "b ".repeat(TEN_MIB / 2 - 60)
        ),
    ]);
    let nested = Arc::new([
        format!(
            "<html><head><title>Nested</title></head><body>{}deep text here{}</body></html>",
            "<div>".repeat(100_000),
            "</div>".repeat(100_000)
        ),
        format!(
            "<html><head><title>Nested</title></head><body>{}other text now{}</body></html>",
            "<div>".repeat(100_000),
            "</div>".repeat(100_000)
        ),
    ]);
    let (c1, c2, c3, c4) = (changed.clone(), changed.clone(), changed.clone(), changed);
    Routes::new()
        .at("/nul", move |_| Reply::Full {
            status: 200,
            headers: vec![
                ("content-encoding".into(), "gzip".into()),
                ("content-type".into(), "text/html".into()),
            ],
            // The second time, one NUL byte fewer: a changed body, compared with the first.
            body: if c1.is_on() {
                gzip_bomb(TEN_MIB - 1)
            } else {
                nul.to_vec()
            },
        })
        .at("/line", move |_| html(&line[c2.is_on() as usize]))
        .at("/letters", move |_| html(&letters[c3.is_on() as usize]))
        .at("/nested", move |_| html(&nested[c4.is_on() as usize]))
        .fallback(|r| {
            let seed = r.path.bytes().map(usize::from).sum::<usize>();
            html(&article("Ordinary", seed))
        })
}

#[test]
fn hostile_pages_keep_memory_bounded_and_every_link_judged() {
    let changed = Switch::new();
    let srv = TestServer::start(hostile_routes(changed.clone()));
    let blog = Blog::new();
    let mut post = String::from("---\ntitle: Hostile\n---\n");
    let hostile = ["/nul", "/line", "/letters", "/nested"];
    for p in hostile {
        post.push_str(&format!("[{p}]({})\n", srv.url(p)));
    }
    for i in 0..12 {
        post.push_str(&format!(
            "[ordinary {i}]({})\n",
            srv.url(&format!("/ordinary/{i}"))
        ));
    }
    blog.config("").post("post.md", &post);

    let mut peaks = Vec::new();
    for round in ["first run", "second run, every hostile page changed"] {
        let (code, peak) = run_measured(&blog);
        eprintln!("{round}: exit {code}, peak RSS {} MiB", peak / 1024);
        assert!(
            code == 0 || code == 2,
            "{round}: exit {code}: {}",
            blog.log_of("run")
        );
        let links = blog.status();
        assert_eq!(links.len(), 16, "{round}: every link listed");
        for l in &links {
            let state = l["state"].as_str().unwrap();
            assert!(
                !matches!(state, "unchecked" | "error"),
                "{round}: {} is {state}: {l}",
                l["url"]
            );
        }
        for p in hostile {
            assert_eq!(
                blog.count(&format!(
                "SELECT COUNT(*) FROM checks c JOIN links l ON l.id = c.link_id WHERE l.url = '{}'",
                srv.url(p)
            )),
                peaks.len() as i64 + 1,
                "{round}: {p} checked once per run"
            );
        }
        peaks.push(peak);
        changed.on();
    }
    for (round, peak) in peaks.iter().enumerate() {
        assert!(
            *peak <= PEAK_LIMIT_KIB,
            "run {}: peak RSS {} MiB over {} MiB",
            round + 1,
            peak / 1024,
            PEAK_LIMIT_KIB / 1024
        );
    }
}
