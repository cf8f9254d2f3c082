//! `lego boot`: one monitor, standalone, from process start to ready and back to off.

use std::time::Duration;

use anyhow::{Result, bail};
use lego_abi::Role;
use lego_abi::boot::flags;
use serde::Serialize;
use vmm::{ConsoleTarget, DiskConfig, ReadyInfo, VmConfig, VmEvent};

use crate::child::{Next, VmmChild};
use crate::cli::BootArgs;
use crate::size::human;
use crate::{STARTED, exit};

/// The `--json` report.
#[derive(Debug, Serialize)]
struct Report<'a> {
    role: &'a str,
    vcpus: u32,
    mem_bytes: u64,
    /// Microseconds from `lego` process start to the guest's ready report.
    ready_us: f64,
    platform: &'a str,
    vif: bool,
    cpus_online: &'a [u32],
    guest_boot_us: f64,
    vmm_ready_us: f64,
    calibration: Calibration,
    timer_wake_us: f64,
    heap_bytes: u64,
    free_bytes: u64,
    excache_bytes: u64,
    tsc_khz: u64,
}

#[derive(Debug, Serialize)]
struct Calibration {
    iters: u64,
    cpl0_ns_per_iter: f64,
    cpl3_ns_per_iter: f64,
    /// CPL0 time over CPL3 time: about 1 when kernel code runs natively.
    cpl0_over_cpl3: f64,
}

fn config(a: &BootArgs) -> VmConfig {
    let role: Role = a.role.into();
    let mut cfg = VmConfig::new(role);
    if let Some(m) = a.mem {
        cfg.mem_bytes = m;
    }
    if let Some(v) = a.vcpus {
        cfg.vcpus = v;
    }
    if let Some(e) = a.excache {
        cfg.excache_bytes = e;
    }
    cfg.image = a.image.clone();
    cfg.kvm_device = a.kvm.kvm_device.clone();
    cfg.flags = flags::SHUTDOWN_AFTER_READY;
    let mut words = vec![format!("calib={}", a.calib_iters)];
    if let Some(f) = a.inject_fault {
        words.push(format!("fault={}", f.guest_name()));
    }
    if let Some(extra) = &a.cmdline {
        words.extend(extra.split_whitespace().map(str::to_owned));
    }
    cfg.cmdline = words.join(" ");
    cfg.disk = a.disk.as_ref().map(|path| DiskConfig {
        path: path.clone(),
        direct: a.disk_direct,
    });
    cfg.console = if a.quiet {
        ConsoleTarget::Discard
    } else {
        ConsoleTarget::Stderr
    };
    cfg
}

/// Runs `lego boot`.
pub fn run(a: &BootArgs) -> Result<u8> {
    let cfg = config(a);
    let child = VmmChild::spawn(&cfg)?;
    let deadline = child.spawned + Duration::from_secs(a.timeout);
    let mut ready: Option<(ReadyInfo, f64)> = None;
    let outcome = loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match child.next(left.max(Duration::from_millis(1))) {
            Next::Event(VmEvent::Ready(r)) => {
                let us = STARTED
                    .get()
                    .map_or(0.0, |s| s.elapsed().as_secs_f64() * 1e6);
                ready = Some((r, us));
            }
            Next::Event(VmEvent::Result { text }) => println!("{text}"),
            Next::Event(e) => break Some(e),
            Next::Gone => break None,
            Next::Timeout => {
                let name = cfg.role.name();
                child.shutdown(Duration::from_secs(2));
                eprintln!("error: {name} did not become ready within {} s", a.timeout);
                return Ok(exit::GUEST_CRASH);
            }
        }
    };
    let code = child.wait();
    match (outcome, ready) {
        (Some(VmEvent::PowerOff { code: 0 }), Some((r, ready_us))) => {
            print_report(a, &cfg, &r, ready_us)?;
            Ok(exit::OK)
        }
        (Some(VmEvent::PowerOff { code: 0 }), None) => {
            bail!("{} powered off without reporting ready", cfg.role.name())
        }
        (Some(VmEvent::PowerOff { code }), _) => {
            bail!("{} powered off with code {code:#x}", cfg.role.name())
        }
        (Some(VmEvent::Fault(f)), _) => {
            eprintln!("error: {}: {}", cfg.role.name(), f.summary());
            Ok(exit::GUEST_FAULT)
        }
        (Some(VmEvent::Crash { reason }), _) => {
            eprintln!("error: {}: {reason}", cfg.role.name());
            Ok(exit::GUEST_CRASH)
        }
        (Some(VmEvent::SetupFailed { message }), _) => bail!("{message}"),
        (Some(VmEvent::Stopped), _) => bail!("{} was stopped by a signal", cfg.role.name()),
        (Some(VmEvent::Ready(_) | VmEvent::Result { .. }), _) | (None, _) => {
            bail!("the VMM process exited unexpectedly (status {code:?})")
        }
    }
}

fn print_report(a: &BootArgs, cfg: &VmConfig, r: &ReadyInfo, ready_us: f64) -> Result<()> {
    let ratio = if r.calib_cpl3_ns > 0.0 {
        r.calib_cpl0_ns / r.calib_cpl3_ns
    } else {
        f64::NAN
    };
    if a.json {
        let rep = Report {
            role: &r.role,
            vcpus: r.vcpus,
            mem_bytes: vmm::config::round_mem(cfg.mem_bytes),
            ready_us,
            platform: &r.platform,
            vif: r.vif,
            cpus_online: &r.cpus_online,
            guest_boot_us: r.guest_boot_us,
            vmm_ready_us: r.vmm_ready_us,
            calibration: Calibration {
                iters: r.calib_iters,
                cpl0_ns_per_iter: r.calib_cpl0_ns,
                cpl3_ns_per_iter: r.calib_cpl3_ns,
                cpl0_over_cpl3: ratio,
            },
            timer_wake_us: r.timer_wake_us,
            heap_bytes: r.heap_bytes,
            free_bytes: r.free_bytes,
            excache_bytes: r.excache_bytes,
            tsc_khz: r.tsc_khz,
        };
        println!("{}", serde_json::to_string_pretty(&rep)?);
        return Ok(());
    }
    let online: Vec<String> = r.cpus_online.iter().map(u32::to_string).collect();
    println!(
        "{} ready in {:.1} ms (platform {}, kernel code {})",
        r.role,
        ready_us / 1e3,
        r.platform,
        if r.vif || r.platform == "kvm" {
            "native"
        } else {
            "emulated"
        }
    );
    println!(
        "  vCPUs        {} of {} online ({})",
        r.cpus_online.len(),
        r.vcpus,
        online.join(" ")
    );
    println!(
        "  memory       {} (heap {}, {} free frames{})",
        human(vmm::config::round_mem(cfg.mem_bytes)),
        human(r.heap_bytes),
        human(r.free_bytes),
        if r.excache_bytes > 0 {
            format!(", ExCache {}", human(r.excache_bytes))
        } else {
            String::new()
        }
    );
    println!(
        "  calibration  {:.3} ns/iter at CPL0, {:.3} ns/iter at CPL3: CPL0/CPL3 = {:.2} ({} iterations, best of 3)",
        r.calib_cpl0_ns, r.calib_cpl3_ns, ratio, r.calib_iters
    );
    println!(
        "  timer        interrupt {:.1} us after its deadline",
        r.timer_wake_us
    );
    println!(
        "  boot         {:.1} ms in the guest, {:.1} ms in the VMM process",
        r.guest_boot_us / 1e3,
        r.vmm_ready_us / 1e3
    );
    Ok(())
}
