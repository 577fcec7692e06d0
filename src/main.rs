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
