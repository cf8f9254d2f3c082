//! `lego bench boot`: boot time and VMM memory overhead per role, next to the host's floor.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use lego_abi::Role;
use lego_abi::boot::flags;
use serde::Serialize;
use vmm::{ConsoleTarget, VmConfig, VmEvent};

use crate::child::{Next, VmmChild};
use crate::cli::BenchBootArgs;
use crate::stats::{Summary, summarize};
use crate::{exit, procfs};

/// Targets from the foundation issue.
const READY_TARGET_MS: f64 = 50.0;
const OVERHEAD_TARGET_MIB: f64 = 8.0;

#[derive(Debug, Serialize)]
struct RoleResult {
    role: &'static str,
    runs: usize,
    /// Spawn of the VMM process to the ready report, ms.
    ready_ms: Summary,
    /// Guest clock, first instruction to ready, ms.
    guest_boot_ms: Summary,
    /// VMM resident memory that is not guest memory, MiB.
    vmm_overhead_mib: Summary,
    /// Guest memory touched at ready, MiB.
    guest_touched_mib: Summary,
    /// ready p50 over the floor's p50.
    ready_over_floor: f64,
}

#[derive(Debug, Serialize)]
struct BenchResult {
    /// An empty VM from process spawn to its first exit, ms.
    floor_ms: Summary,
    roles: Vec<RoleResult>,
    targets: Targets,
}

#[derive(Debug, Serialize)]
struct Targets {
    ready_p50_ms: f64,
    vmm_overhead_mib: f64,
}

fn floor_once(a: &BenchBootArgs) -> Result<f64> {
    let exe = std::env::current_exe()?;
    let t = Instant::now();
    let out = std::process::Command::new(exe)
        .args(["vmm", "--floor", "--kvm-device"])
        .arg(&a.kvm.kvm_device)
        .output()
        .context("running the floor VM")?;
    let ms = t.elapsed().as_secs_f64() * 1e3;
    if !out.status.success() {
        bail!(
            "the floor VM failed: {}",
            String::from_utf8_lossy(&out.stdout).trim()
        );
    }
    Ok(ms)
}

struct Sample {
    ready_ms: f64,
    guest_ms: f64,
    overhead: u64,
    touched: u64,
}

fn boot_once(role: Role, a: &BenchBootArgs) -> Result<Sample> {
    let mut cfg = VmConfig::new(role);
    cfg.kvm_device = a.kvm.kvm_device.clone();
    cfg.console = ConsoleTarget::Discard;
    cfg.flags = flags::NO_CALIBRATION;
    let child = VmmChild::spawn(&cfg)?;
    let ready = match child.next(Duration::from_secs(30)) {
        Next::Event(VmEvent::Ready(r)) => r,
        Next::Event(VmEvent::SetupFailed { message }) => bail!("{message}"),
        Next::Event(e) => bail!("{} did not become ready: {e:?}", role.name()),
        Next::Gone => bail!("{} VMM exited before ready", role.name()),
        Next::Timeout => {
            child.shutdown(Duration::from_secs(1));
            bail!("{} not ready after 30 s", role.name());
        }
    };
    let ready_ms = child.spawned.elapsed().as_secs_f64() * 1e3;
    let rss = procfs::rss(child.pid()).unwrap_or_default();
    child.shutdown(Duration::from_secs(2));
    Ok(Sample {
        ready_ms,
        guest_ms: ready.guest_boot_us / 1e3,
        overhead: rss.overhead(),
        touched: rss.shmem,
    })
}

/// Runs `lego bench boot`.
pub fn run(a: &BenchBootArgs) -> Result<u8> {
    if a.runs == 0 {
        eprintln!("error: --runs 0 measures nothing: give at least 1 boot per role");
        return Ok(exit::USAGE);
    }
    let roles: Vec<Role> = if a.role.is_empty() {
        Role::ALL.to_vec()
    } else {
        a.role.iter().map(|&r| r.into()).collect()
    };
    let runs = a.runs.max(1);
    let mut floor = Vec::with_capacity(runs);
    let mut results = Vec::new();
    for _ in 0..runs {
        floor.push(floor_once(a)?);
    }
    let floor = summarize(&floor);
    for role in roles {
        let mut samples = Vec::with_capacity(runs);
        for _ in 0..runs {
            samples.push(boot_once(role, a)?);
        }
        let ready = summarize(&samples.iter().map(|s| s.ready_ms).collect::<Vec<_>>());
        let mib = |b: u64| b as f64 / f64::from(1 << 20);
        results.push(RoleResult {
            role: role.name(),
            runs,
            ready_ms: ready,
            guest_boot_ms: summarize(&samples.iter().map(|s| s.guest_ms).collect::<Vec<_>>()),
            vmm_overhead_mib: summarize(
                &samples.iter().map(|s| mib(s.overhead)).collect::<Vec<_>>(),
            ),
            guest_touched_mib: summarize(
                &samples.iter().map(|s| mib(s.touched)).collect::<Vec<_>>(),
            ),
            ready_over_floor: ready.p50 / floor.p50,
        });
    }
    let res = BenchResult {
        floor_ms: floor,
        roles: results,
        targets: Targets {
            ready_p50_ms: READY_TARGET_MS,
            vmm_overhead_mib: OVERHEAD_TARGET_MIB,
        },
    };
    if a.json {
        println!("{}", serde_json::to_string_pretty(&res)?);
    } else {
        print_table(&res);
    }
    Ok(exit::OK)
}

fn mark(ok: bool) -> &'static str {
    if ok { "ok" } else { "MISSED" }
}

fn print_table(r: &BenchResult) {
    println!(
        "host floor: empty VM, process spawn to first exit: p50 {:.2} ms, p99 {:.2} ms ({} runs)",
        r.floor_ms.p50, r.floor_ms.p99, r.floor_ms.n
    );
    println!();
    println!(
        "{:<5} {:>5} {:>10} {:>10} {:>8} {:>11} {:>13} {:>13}",
        "role",
        "runs",
        "ready p50",
        "ready p99",
        "x floor",
        "guest p50",
        "VMM ovh p50",
        "VMM ovh p99"
    );
    for x in &r.roles {
        println!(
            "{:<5} {:>5} {:>7.2} ms {:>7.2} ms {:>8.1} {:>8.2} ms {:>9.2} MiB {:>9.2} MiB",
            x.role,
            x.runs,
            x.ready_ms.p50,
            x.ready_ms.p99,
            x.ready_over_floor,
            x.guest_boot_ms.p50,
            x.vmm_overhead_mib.p50,
            x.vmm_overhead_mib.p99
        );
    }
    println!();
    for x in &r.roles {
        println!(
            "{}: ready p50 {:.2} ms vs target {} ms: {}; VMM overhead p50 {:.2} MiB vs target {} MiB: {}",
            x.role,
            x.ready_ms.p50,
            r.targets.ready_p50_ms,
            mark(x.ready_ms.p50 < r.targets.ready_p50_ms),
            x.vmm_overhead_mib.p50,
            r.targets.vmm_overhead_mib,
            mark(x.vmm_overhead_mib.p50 < r.targets.vmm_overhead_mib)
        );
    }
}
