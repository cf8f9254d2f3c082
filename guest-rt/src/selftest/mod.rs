//! Self-tests and benchmarks of the fabric, run by a monitor when its command line says
//! `selftest=NAME` (the integration tests and `lego bench rpc` use them). Each reports one
//! result line (`selftest NAME ok: ...` or `selftest NAME FAILED: ...`, or `bench {json}`)
//! and the monitor then goes on serving.

extern crate alloc;

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use lego_abi::boot::BootInfo;

use crate::rpc::Rpc;
use crate::{power, println};

mod bench;
mod failover;
mod onesided;
mod rpcsuite;
mod sendrecv;
mod timeout;
mod util;

/// Runs self-test `name` and reports its result.
pub fn run(name: &str, bi: &BootInfo, rpc: &mut Rpc) {
    let peers: Vec<u32> = bi
        .cmdline_value("peer")
        .map(|s| s.split(',').filter_map(|x| x.parse().ok()).collect())
        .unwrap_or_default();
    let result: Result<String, String> = match (name, peers.as_slice()) {
        (_, []) => Err("no peer=N on the command line".into()),
        ("rpc", ps) => ps.iter().try_fold(String::new(), |acc, &p| {
            let a = rpcsuite::run(rpc, p)?;
            let b = onesided::run(rpc, p)?;
            let c = sendrecv::run(rpc, p)?;
            Ok(format!("{acc}peer {p}: {a}; {b}; {c}. "))
        }),
        ("timeout", [p, ..]) => timeout::run(rpc, *p),
        ("failover", [victim, survivor, ..]) => failover::run(rpc, *victim, *survivor),
        ("bench", [p, ..]) => {
            let iters = bi
                .cmdline_value("iters")
                .and_then(|s| s.parse().ok())
                .unwrap_or(10_000);
            return match bench::run(rpc, *p, iters) {
                Ok(json) => power::report_result(&format!("bench {json}")),
                Err(e) => power::report_result(&format!("selftest bench FAILED: {e}")),
            };
        }
        _ => Err(format!("unknown self-test `{name}` or too few peers")),
    };
    let line = match result {
        Ok(s) => format!("selftest {name} ok: {}", s.trim_end()),
        Err(e) => format!("selftest {name} FAILED: {e}"),
    };
    println!("{line}");
    power::report_result(&line);
}
