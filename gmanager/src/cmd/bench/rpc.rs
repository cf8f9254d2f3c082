//! `lego bench rpc`: RPC round trips and throughput between two component guests, in each
//! polling mode, next to the host's own floor (two host processes ping-ponging over shared
//! memory) and the usual alternative (a Unix-domain socket).

use anyhow::{Context, Result, bail};
use lego_abi::Role;
use serde::Serialize;
use serde_json::Value;

use crate::baseline::{self, Transport};
use crate::cli::{BenchRpcArgs, FabricArgs, FabricTestArgs, KvmArgs, PollArg};
use crate::cmd::fabric_test::{ComponentSpec, run_fabric};
use crate::exit;
use crate::stats::summarize;

/// Targets from the fabric issue, busy polling (LegoOS over InfiniBand: 4.6 and 6.5 us).
const TARGET_64B_NS: f64 = 2000.0;
const TARGET_4K_NS: f64 = 3000.0;

#[derive(Debug, Serialize)]
struct Baseline {
    transport: &'static str,
    size: usize,
    p50_ns: f64,
    p99_ns: f64,
}

#[derive(Debug, Serialize)]
struct Report {
    modes: Vec<Value>,
    baselines: Vec<Baseline>,
}

fn fabric_args(a: &BenchRpcArgs, poll: PollArg) -> FabricTestArgs {
    FabricTestArgs {
        components: Vec::new(),
        mem: None,
        timeout: 300,
        console: false,
        json: false,
        fabric: FabricArgs {
            poll,
            ..a.fabric.clone()
        },
        kvm: KvmArgs {
            kvm_device: a.kvm.kvm_device.clone(),
        },
    }
}

fn guest_bench(a: &BenchRpcArgs, poll: PollArg) -> Result<Value> {
    let specs = [
        ComponentSpec {
            role: Role::Mmon,
            cmdline: "test_regions=1".into(),
        },
        ComponentSpec {
            role: Role::Pmon,
            cmdline: format!("selftest=bench peer=0 iters={}", a.iters),
        },
    ];
    let out = run_fabric(&specs, &fabric_args(a, poll), |_, _| {})?;
    if let Some(f) = out.failures.first() {
        bail!("{f}");
    }
    let text = out.results.first().map(|(_, t)| t.as_str()).unwrap_or("");
    let json = text
        .strip_prefix("bench ")
        .with_context(|| format!("unexpected result: {text}"))?;
    let v: Value =
        serde_json::from_str(json).with_context(|| format!("bad benchmark JSON: {json}"))?;
    // A figure that is missing or zero means nothing was measured: never report it as a result.
    for path in [
        ["rtt64", "p50_ns"],
        ["rtt4k", "p50_ns"],
        ["read4k", "p50_ns"],
        ["thr1", "ops_per_s"],
        ["thr4", "ops_per_s"],
    ] {
        if !measured(ns(&v, &path)) {
            bail!(
                "the {poll:?} run measured nothing for {}: {json}",
                path.join(".")
            );
        }
    }
    Ok(v)
}

/// Whether a figure is a measurement (not missing, not zero).
fn measured(x: f64) -> bool {
    x.is_finite() && x > 0.0
}

fn host_baseline(t: Transport, size: usize, iters: usize) -> Result<Baseline> {
    let r = baseline::run(t, size, iters, iters / 10)?;
    let s = summarize(&r.samples_ns);
    Ok(Baseline {
        transport: r.transport.name(),
        size: r.size,
        p50_ns: s.p50,
        p99_ns: s.p99,
    })
}

fn ns(v: &Value, path: &[&str]) -> f64 {
    path.iter()
        .fold(v, |v, k| &v[*k])
        .as_f64()
        .unwrap_or(f64::NAN)
}

/// Runs `lego bench rpc`. Nothing to measure (`--iters 0`) is a usage error.
pub fn run(a: &BenchRpcArgs) -> Result<u8> {
    if a.iters == 0 {
        eprintln!("error: --iters 0 measures nothing: give at least 1 round trip per figure");
        return Ok(exit::USAGE);
    }
    let modes: Vec<PollArg> = if a.modes.is_empty() {
        vec![PollArg::Busy, PollArg::Adaptive, PollArg::Interrupt]
    } else {
        a.modes.clone()
    };
    let mut results = Vec::new();
    for m in &modes {
        eprintln!("running the fabric in {m:?} mode...");
        results.push(guest_bench(a, *m)?);
    }
    // The host baselines discard a tenth as warm-up: at least 100 so some are kept.
    let iters = a.iters.max(100);
    let mut baselines = Vec::new();
    for t in [Transport::Shm, Transport::Uds] {
        for size in [64, 4096] {
            baselines.push(host_baseline(t, size, iters)?);
        }
    }
    let report = Report {
        modes: results,
        baselines,
    };
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(exit::OK);
    }
    print_table(&report);
    Ok(exit::OK)
}

fn base(r: &Report, t: &str, size: usize) -> f64 {
    r.baselines
        .iter()
        .find(|b| b.transport == t && b.size == size)
        .map_or(f64::NAN, |b| b.p50_ns)
}

/// A target's verdict: `ok` only if every figure it depends on was measured.
fn verdict(figures: &[f64], met: bool) -> &'static str {
    match (figures.iter().all(|&x| measured(x)), met) {
        (false, _) => "NO DATA",
        (true, true) => "ok",
        (true, false) => "MISSED",
    }
}

fn print_table(r: &Report) {
    println!("Round trips, guest to guest (echo RPC; one-sided READ), ns:");
    println!(
        "{:<10} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>11} {:>11}",
        "mode",
        "64B p50",
        "64B p99",
        "4K p50",
        "4K p99",
        "READ p50",
        "READ p99",
        "1 out op/s",
        "4 out op/s"
    );
    for m in &r.modes {
        println!(
            "{:<10} {:>9.0} {:>9.0} {:>9.0} {:>9.0} {:>9.0} {:>9.0} {:>11.0} {:>11.0}",
            m["mode"].as_str().unwrap_or("?"),
            ns(m, &["rtt64", "p50_ns"]),
            ns(m, &["rtt64", "p99_ns"]),
            ns(m, &["rtt4k", "p50_ns"]),
            ns(m, &["rtt4k", "p99_ns"]),
            ns(m, &["read4k", "p50_ns"]),
            ns(m, &["read4k", "p99_ns"]),
            ns(m, &["thr1", "ops_per_s"]),
            ns(m, &["thr4", "ops_per_s"]),
        );
    }
    if let Some(m) = r.modes.first() {
        let lat = m["net_latency_ns"].as_u64().unwrap_or(0);
        let bw = m["net_bandwidth_mbps"].as_u64().unwrap_or(0);
        if lat > 0 || bw > 0 {
            println!("(network model: {lat} ns one way, {bw} Mbit/s)");
        }
    }
    println!();
    println!("Host baselines, two host processes, round trip ns:");
    for b in &r.baselines {
        println!(
            "{:<4} {:>6} B   p50 {:>9.0}   p99 {:>9.0}",
            b.transport, b.size, b.p50_ns, b.p99_ns
        );
    }
    println!();
    for m in &r.modes {
        let mode = m["mode"].as_str().unwrap_or("?");
        let r64 = ns(m, &["rtt64", "p50_ns"]);
        let r4k = ns(m, &["rtt4k", "p50_ns"]);
        println!(
            "{mode:<10} 64B: {:.2}x the shm floor, {:.3}x the Unix socket; 4K: {:.2}x the shm floor, {:.3}x the Unix socket",
            r64 / base(r, "shm", 64),
            r64 / base(r, "uds", 64),
            r4k / base(r, "shm", 4096),
            r4k / base(r, "uds", 4096),
        );
    }
    if let Some(m) = r.modes.iter().find(|m| m["mode"] == "busy") {
        let r64 = ns(m, &["rtt64", "p50_ns"]);
        let r4k = ns(m, &["rtt4k", "p50_ns"]);
        println!(
            "targets (busy): 64B p50 {r64:.0} ns <= {TARGET_64B_NS} ns: {}; 4K p50 {r4k:.0} ns <= {TARGET_4K_NS} ns: {}; faster than the Unix socket: {}",
            verdict(&[r64], r64 <= TARGET_64B_NS),
            verdict(&[r4k], r4k <= TARGET_4K_NS),
            verdict(
                &[r64, r4k, base(r, "uds", 64), base(r, "uds", 4096)],
                r64 < base(r, "uds", 64) && r4k < base(r, "uds", 4096)
            )
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_data_is_never_ok() {
        assert_eq!(verdict(&[800.0], true), "ok");
        assert_eq!(verdict(&[2500.0], false), "MISSED");
        assert_eq!(verdict(&[0.0], true), "NO DATA");
        assert_eq!(verdict(&[f64::NAN], true), "NO DATA");
        assert_eq!(verdict(&[800.0, 0.0], true), "NO DATA");
    }
}
