//! The subcommands.

mod bench;
mod boot;
pub mod cluster;
pub mod fabric_test;
mod files;
mod run;
mod vmm;
mod vnode;

use anyhow::Result;

use crate::cli::{BenchCommand, Cli, Command};

/// Runs the parsed command; returns the process exit code.
pub fn run(cli: Cli) -> Result<u8> {
    match cli.command {
        Command::Boot(a) => boot::run(&a),
        Command::Bench(BenchCommand::Boot(a)) => bench::boot::run(&a),
        Command::Bench(BenchCommand::Rpc(a)) => bench::rpc::run(&a),
        Command::Bench(BenchCommand::Up(a)) => bench::up::run(&a),
        Command::Bench(BenchCommand::Storage(a)) => bench::storage::run(&a),
        Command::Bench(BenchCommand::Miss(a)) => bench::miss::run(&a),
        Command::Bench(BenchCommand::Run(a)) => bench::run::run(&a),
        Command::Bench(BenchCommand::Abi(a)) => bench::abi::run(&a),
        Command::Up(a) => cluster::up(&a),
        Command::Status(a) => cluster::status(&a),
        Command::Logs(a) => cluster::logs(&a),
        Command::Kill(a) => cluster::kill(&a),
        Command::Ps(a) => cluster::ps(&a),
        Command::Signal(a) => cluster::signal(&a),
        Command::Restart(a) => cluster::restart(&a),
        Command::Down(a) => cluster::down(&a),
        Command::Vnode(c) => vnode::run(&c),
        Command::Put(a) => files::put(&a),
        Command::Run(a) => run::run(&a),
        Command::Get(a) => files::get(&a),
        Command::Ls(a) => files::ls(&a),
        Command::Rm(a) => files::rm(&a),
        Command::Mkdir(a) => files::mkdir(&a),
        Command::Mv(a) => files::mv(&a),
        Command::Sync(a) => files::sync(&a),
        Command::ClusterDaemon(a) => cluster::daemon(&a),
        Command::FabricTest(a) => fabric_test::run(&a),
        Command::Vmm(a) => Ok(vmm::run(&a)),
        Command::PingpongChild(a) => Ok(crate::baseline::child_main(a.transport, a.fd, a.size)),
    }
}
