//! `lego`: boot and manage LegoOS components on this machine.

use std::process::ExitCode;
use std::sync::OnceLock;
use std::time::Instant;

use clap::Parser;

mod baseline;
mod child;
mod cli;
mod cluster;
mod cmd;
mod fabric;
mod files;
mod managers;
mod procfs;
mod size;
mod stats;

/// When this process started; reported times are measured from here.
pub static STARTED: OnceLock<Instant> = OnceLock::new();

/// Exit codes of `lego` (documented in `lego --help`).
pub mod exit {
    /// Success.
    pub const OK: u8 = 0;
    /// The request failed (bad input, no KVM, setup error): nothing is left running.
    pub const ERROR: u8 = 1;
    /// Command-line usage error (from clap).
    pub const USAGE: u8 = 2;
    /// A guest faulted (exception or panic) and was stopped.
    pub const GUEST_FAULT: u8 = 3;
    /// A guest died without reporting (triple fault, KVM error) or did not become ready in time.
    pub const GUEST_CRASH: u8 = 4;
}

/// Stderr for log lines that never fails: a cluster's manager logs to a file in the runtime
/// directory, and a full file system there must not take the manager down (the tracing
/// subscriber panics when its writer fails); the manager reports the full directory in
/// `lego status` instead.
struct Quiet(std::io::Stderr);

impl std::io::Write for Quiet {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let _ = self.0.write_all(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let _ = self.0.flush();
        Ok(())
    }
}

fn main() -> ExitCode {
    let _ = STARTED.set(Instant::now());
    // Like other Unix tools, end quietly when stdout is a closed pipe (`lego status | head`).
    // SAFETY: restoring a signal's default disposition before any thread starts.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    let args = cli::Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_env("LEGO_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(|| Quiet(std::io::stderr()))
        .init();
    match cmd::run(args) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(exit::ERROR)
        }
    }
}
