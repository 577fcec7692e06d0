//! Daemon benchmark: `cargo bench --bench daemon`. Reports; asserts nothing.
//!
//! Runs the real `citewatch daemon` against the benchmark's own loopback web server with a check
//! cycle every second in which every link is due, and samples the process from `/proc`: resident
//! memory and CPU time as the cycles go by (does memory grow with cycles?). Then restarts it with
//! a schedule that is never due and measures what it costs while idle: CPU time and wake-ups
//! (context switches) per second.
//!
//! Knobs: `CITEWATCH_BENCH_CYCLES=N` (1,000), `CITEWATCH_BENCH_DAEMON_URLS=N` (1,000 links, cited
//! 3 times each), `CITEWATCH_BENCH_IDLE_SECS=N` (30), `CITEWATCH_BENCH_REPORT=FILE`.

mod support;

use std::io::{BufRead, BufReader, Seek, SeekFrom};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use support::{mib, pause, Report};

/// What `/proc/PID` says of a process.
#[derive(Debug, Clone, Copy, Default)]
struct Sample {
    rss_kib: u64,
    hwm_kib: u64,
    /// User plus system time, in clock ticks.
    cpu_ticks: u64,
}

fn sample(pid: u32) -> Sample {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name, which is in parentheses and may contain spaces.
    let rest: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, r)| r.split_whitespace().collect())
        .unwrap_or_default();
    // utime and stime are fields 14 and 15 of stat, 12 and 13 after the name.
    let tick = |i: usize| rest.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    Sample {
        rss_kib: field(&status, "VmRSS:"),
        hwm_kib: field(&status, "VmHWM:"),
        cpu_ticks: tick(11) + tick(12),
    }
}

/// A `Name: value` field of a `/proc` status file.
fn field(status: &str, name: &str) -> u64 {
    status
        .lines()
        .find(|l| l.starts_with(name))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Voluntary plus involuntary context switches of each of the process's threads, by thread id:
/// how often each woke up. By thread, because a thread that ends between two samples (tokio's
/// idle blocking threads end after ten seconds) takes its count with it, and a sum over the
/// process would then go down.
fn switches(pid: u32) -> std::collections::HashMap<String, u64> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Default::default();
    };
    tasks
        .flatten()
        .map(|t| {
            let s = std::fs::read_to_string(t.path().join("status")).unwrap_or_default();
            (
                t.file_name().to_string_lossy().into_owned(),
                field(&s, "voluntary_ctxt_switches:") + field(&s, "nonvoluntary_ctxt_switches:"),
            )
        })
        .collect()
}

/// Context switches from `a` to `b` of the threads alive at `b` (a thread new since `a` counts
/// all of its own), and how many threads of `a` had ended by `b`.
fn woke(
    a: &std::collections::HashMap<String, u64>,
    b: &std::collections::HashMap<String, u64>,
) -> (u64, usize) {
    let woke = b
        .iter()
        .map(|(t, n)| n.saturating_sub(a.get(t).copied().unwrap_or(0)))
        .sum();
    (woke, a.keys().filter(|t| !b.contains_key(*t)).count())
}

fn ticks_per_second() -> f64 {
    // SAFETY: sysconf only reads a constant of the system.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as f64
    } else {
        100.0
    }
}

/// Follows the daemon's log, counting the lines that contain a marker.
struct Log {
    reader: BufReader<std::fs::File>,
    line: String,
}

impl Log {
    fn open(path: &Path) -> Log {
        let f = std::fs::File::open(path).expect("daemon log");
        Log {
            reader: BufReader::new(f),
            line: String::new(),
        }
    }

    /// Lines containing `marker` since the last call.
    fn count(&mut self, marker: &str) -> usize {
        let mut n = 0;
        loop {
            self.line.clear();
            match self.reader.read_line(&mut self.line) {
                Ok(0) | Err(_) => break,
                Ok(_) if !self.line.ends_with('\n') => {
                    // A partial line: read it again whole next time.
                    let back = self.line.len() as i64;
                    let _ = self.reader.seek(SeekFrom::Current(-back));
                    break;
                }
                Ok(_) => n += usize::from(self.line.contains(marker)),
            }
        }
        n
    }
}

/// Writes a config named `name` with this cron schedule and starts the daemon on it, its log in
/// `name.log`; returns the process and a follower of its log.
fn start(bin: &str, dir: &Path, name: &str, cron: &str) -> (Child, Log) {
    let config = write_config(dir, &format!("{name}.toml"), cron);
    let log = dir.join(format!("{name}.log"));
    let child = Command::new(bin)
        .current_dir(dir)
        .args(["--config", &config.to_string_lossy(), "daemon"])
        .env("RUST_LOG", "info")
        .env_remove("NOTIFY_SOCKET")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).expect("log file"))
        .spawn()
        .expect("start the daemon");
    (child, Log::open(&log))
}

fn stop(mut child: Child) {
    // SAFETY: signals our own child.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
    let _ = child.wait();
}

fn write_config(dir: &Path, name: &str, cron: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(
        &path,
        format!(
            "db = \"daemon.db\"\n[[source]]\npath = \"posts\"\n\
             [check]\nallow_private = true\nsoft_404_probe = false\nper_host_interval = \"0s\"\nper_host_concurrency = 64\n\
             [schedule]\ncron = \"{cron}\"\nscan = \"0 * * * * *\"\nrecheck_ok = \"0s\"\nrecheck_failing = \"0s\"\n\
             [archive]\nwayback = false\n"
        ),
    )
    .expect("config");
    path
}

fn main() {
    let cycles = support::env_number("CITEWATCH_BENCH_CYCLES", 1000).max(1);
    let urls = support::env_number("CITEWATCH_BENCH_DAEMON_URLS", 1000).max(10);
    let idle_secs = support::env_number("CITEWATCH_BENCH_IDLE_SECS", 30).max(1);
    let size = support::Size {
        posts: (urls / 10).max(1),
        urls,
        citations: urls * 3,
        hosts: support::SMALL.hosts,
    };
    let bin = env!("CARGO_BIN_EXE_citewatch");
    let server = support::start_server(size.hosts);
    let dir = tempfile::tempdir().expect("tempdir");
    support::write_blog(dir.path(), &size, &server.addrs);
    let mut r = Report::default();
    r.say(format!(
        "daemon: {} posts citing {} URLs on {} loopback hosts; a cycle every second checking every link; {cycles} cycles",
        size.posts, size.urls, size.hosts
    ));

    // Cycles: every second, everything due.
    let (child, mut log) = start(bin, dir.path(), "busy", "* * * * * *");
    let pid = child.id();
    let marks: Vec<usize> = [1, 10, 100, 250, 500, 750, 1000, 2000, 5000]
        .into_iter()
        .filter(|&m| m < cycles)
        .chain([cycles])
        .collect();
    let started = Instant::now();
    let (mut seen, mut next_mark) = (0usize, 0usize);
    let mut samples: Vec<(usize, Sample, Duration)> = Vec::new();
    let limit = Duration::from_secs(cycles as u64 * 10 + 60);
    while next_mark < marks.len() && started.elapsed() < limit {
        pause(Duration::from_millis(100));
        seen += log.count("check cycle:");
        // A cycle is logged when it starts: the one before it has finished.
        while next_mark < marks.len() && seen > marks[next_mark] {
            samples.push((marks[next_mark], sample(pid), started.elapsed()));
            next_mark += 1;
        }
    }
    stop(child);
    let hz = ticks_per_second();
    r.say("  after cycle   resident   peak   CPU so far   elapsed");
    for (n, s, t) in &samples {
        r.say(format!(
            "  {n:>11}   {:>5.1} MiB   {:>4.1} MiB   {:>8.1} s   {:>6.0} s",
            s.rss_kib as f64 / 1024.0,
            s.hwm_kib as f64 / 1024.0,
            s.cpu_ticks as f64 / hz,
            t.as_secs_f64()
        ));
    }
    if samples.len() < marks.len() {
        r.say(format!(
            "  stopped after {seen} cycles: the time limit ({} s) passed",
            limit.as_secs()
        ));
    }
    if let (Some(first), Some(last)) = (
        samples
            .iter()
            .find(|(n, _, _)| *n >= 100)
            .or(samples.first()),
        samples.last(),
    ) {
        r.say(format!(
            "  resident memory from cycle {} to {}: {:+.1} MiB; database {:.0} MiB",
            first.0,
            last.0,
            (last.1.rss_kib as f64 - first.1.rss_kib as f64) / 1024.0,
            mib(support::db_size(&dir.path().join("daemon.db")) as f64)
        ));
    }

    // Idle: a schedule that is not due for a year.
    let (child, mut log) = start(bin, dir.path(), "idle", "0 0 0 1 1 *");
    let pid = child.id();
    let ready = Instant::now();
    while log.count("daemon ready") == 0 && ready.elapsed() < Duration::from_secs(60) {
        pause(Duration::from_millis(100));
    }
    pause(Duration::from_secs(2));
    let a = sample(pid);
    let a_threads = switches(pid);
    let t = Instant::now();
    pause(Duration::from_secs(idle_secs as u64));
    let b = sample(pid);
    let (woken, ended) = woke(&a_threads, &switches(pid));
    let secs = t.elapsed().as_secs_f64();
    stop(child);
    r.say(format!(
        "idle for {secs:.0} s between cycles: CPU {:.3} % of a core, {:.2} wake-ups/s ({ended} idle threads ended meanwhile), resident {:.1} MiB",
        b.cpu_ticks.saturating_sub(a.cpu_ticks) as f64 / hz / secs * 100.0,
        woken as f64 / secs,
        b.rss_kib as f64 / 1024.0
    ));
    r.save();
}
