//! The subcommands.

mod bench;
mod boot;
mod vmm;

use anyhow::Result;

use crate::cli::{BenchCommand, Cli, Command};

/// Runs the parsed command; returns the process exit code.
pub fn run(cli: Cli) -> Result<u8> {
    match cli.command {
        Command::Boot(a) => boot::run(&a),
        Command::Bench(BenchCommand::Boot(a)) => bench::boot(&a),
        Command::Vmm(a) => Ok(vmm::run(&a)),
    }
}
