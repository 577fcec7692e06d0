//! The `citewatch` binary: parse the command line, run the command, print the error chain once,
//! exit with 0 (all fine), 2 (a cited link is broken, error or soft_404) or 1 (citewatch itself
//! failed: bad config, unreadable database, missing source folder).

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Args::parse();
    cli::init_logging(&args);
    match cli::run(args) {
        Ok(code) => code.into(),
        Err(e) => {
            // `{:#}` prints the whole chain on one line: "cannot read config: …: …".
            eprintln!("citewatch: error: {e:#}");
            cli::Outcome::Fatal.into()
        }
    }
}

/// The allocator: jemalloc instead of glibc's malloc. A check's page is read on one worker thread
/// and freed on another, and glibc's arena locks took about a tenth of a first run (`perf`:
/// `__lll_lock_wait_private` under `realloc` and `free`); jemalloc's thread caches made a first
/// run 10–13 % faster at 3–4 MiB more peak memory (BENCHMARKS.md, "Speed, fourth round").
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's options, read at its first allocation (`_RJEM_MALLOC_CONF` in the environment still
/// overrides them): two arenas, as many as the small machines citewatch runs on have cores, and
/// freed pages handed back to the kernel within a second, so that a daemon's resident memory
/// falls back after a cycle instead of keeping its peak. A thin pointer to a NUL-terminated
/// string, as jemalloc's `const char *malloc_conf` is; its own declaration is weak.
#[export_name = "_rjem_malloc_conf"]
pub static MALLOC_CONF: &u8 = &b"narenas:2,dirty_decay_ms:1000,muzzy_decay_ms:0\0"[0];
