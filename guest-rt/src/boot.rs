//! The boot sequence of every vCPU, from `_start` to the monitor's loop.
//!
//! Until the boot CPU has detected the platform and registered its VIF, CPL0 may be emulated at
//! ~0.5 us per instruction (PLATFORM.md), so that part is kept to a few dozen instructions: the
//! #GP gate, the probe, the registration. Everything else runs after.

extern crate alloc;

use alloc::boxed::Box;
use core::arch::global_asm;

use lego_abi::Platform;
use lego_abi::boot::{BootInfo, MAX_CPUS, flags};
use lego_abi::layout::phys_to_virt;
use lego_abi::ports::exit_code;
use lego_abi::report::ReadyReport;

use crate::arch::{apic, cpuid, gdt, idt, rdtsc, usermode};
use crate::mm::{self, MemoryInfo};
use crate::smp::{self, Stage};
use crate::{calibrate, console, percpu, platform, power, println, time};

/// What a monitor gets at init.
#[derive(Debug)]
pub struct BootContext {
    /// The boot info the VMM wrote.
    pub boot: &'static BootInfo,
    /// Memory set up by the runtime.
    pub memory: MemoryInfo,
    /// The host platform.
    pub platform: Platform,
}

/// What a monitor reports back at the end of its init.
#[derive(Default)]
pub struct MonitorReady {
    /// ExCache bytes (pComponents), else 0.
    pub excache_bytes: u64,
    /// The monitor's own requests (storage, buffer cache, ...), served once the fabric is up.
    pub service: Option<Box<dyn crate::service::Service>>,
    /// What the other CPUs run (`f(cpu)`, forever); `None`: they halt.
    pub worker: Option<fn(usize) -> !>,
}

impl core::fmt::Debug for MonitorReady {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("MonitorReady")
            .field("excache_bytes", &self.excache_bytes)
            .field("service", &self.service.is_some())
            .finish()
    }
}

global_asm!(
    r#"
    .section .text.entry, "ax"
    .global _start
_start:
    xor ebp, ebp
    and rsp, -16
    call {entry}
    ud2
"#,
    entry = sym rt_entry,
);

unsafe extern "Rust" {
    safe fn __lego_monitor_init(ctx: &BootContext) -> MonitorReady;
}

/// First Rust code on every vCPU: `rdi` = boot info (direct-map address), `rsi` = vCPU index.
extern "C" fn rt_entry(boot_info: u64, cpu: u64) -> ! {
    let t0 = rdtsc();
    let cpu = cpu as usize;
    if cpu >= MAX_CPUS {
        power::poweroff(exit_code::BAD_CPU_INDEX);
    }
    percpu::init(cpu);
    // SAFETY: the VMM wrote a BootInfo at this address before starting any vCPU and never
    // changes it; the guest only reads it.
    let bi: &'static BootInfo = unsafe { &*(boot_info as *const BootInfo) };
    if cpu == 0 {
        boot_cpu(bi, t0)
    } else {
        other_cpu(cpu, t0)
    }
}

/// Per-CPU bring-up once the heap exists: descriptor tables with their own trap stacks, the
/// local APIC, the syscall MSRs.
fn cpu_init(cpu: usize, features: cpuid::Features) {
    let kernel_stack = Box::leak(Box::new([0u8; 16 << 10]));
    let df_stack = Box::leak(Box::new([0u8; 8 << 10]));
    percpu::set_kernel_stack(kernel_stack.as_ptr() as u64 + kernel_stack.len() as u64);
    let rsp0 = crate::mm::isolation::trap_stack_top(cpu);
    let ist1 = (df_stack.as_ptr() as u64 + df_stack.len() as u64) & !15;
    gdt::init(cpu, rsp0, ist1);
    if features.x2apic {
        apic::init(features.tsc_deadline);
    }
    usermode::init_cpu();
}

fn boot_cpu(bi: &'static BootInfo, t0: u64) -> ! {
    if let Err(e) = bi.validate() {
        console::write_fmt(format_args!("lego: boot info rejected: {e:?}\n"));
        power::poweroff(exit_code::BAD_BOOT_INFO);
    }
    idt::install_early();
    let platform = platform::detect();
    let vif = platform::register_cpu(0);
    smp::advance(Stage::PlatformKnown);

    // From here on kernel code runs natively on PVM too.
    idt::install_all();
    let (console_gpa, console_len) = bi.console();
    console::init(phys_to_virt(console_gpa), console_len);
    time::init(platform::tsc_khz().unwrap_or(bi.tsc_khz()));
    let memory = mm::init(bi);
    let features = cpuid::features();
    cpu_init(0, features);
    // Programs run on pComponents only: isolate them there unless told not to.
    mm::isolation::init(
        bi.role() == lego_abi::Role::Pmon && bi.cmdline_value("isolation") != Some("off"),
    );
    smp::advance(Stage::SharedReady);
    if features.x2apic {
        smp::set_apic_id(0, apic::id());
    }
    smp::mark_online(0);
    percpu::this().set_online();

    let role = bi.role();
    println!(
        "lego-{} component {}: platform {}, vif {}, {} vCPUs, {} MiB, tsc {} kHz",
        role.name(),
        bi.component_id(),
        platform.name(),
        if vif { "registered" } else { "no" },
        bi.cpu_count(),
        bi.mem_bytes() >> 20,
        time::tsc_khz()
    );

    let timer_wake_ns = if features.x2apic {
        timer_self_test()
    } else {
        0
    };
    let calib = if bi.has_flag(flags::NO_CALIBRATION) {
        calibrate::Calibration::default()
    } else {
        let iters = bi
            .cmdline_value("calib")
            .and_then(|v| v.parse().ok())
            .unwrap_or(400_000);
        calibrate::run(iters, 3)
    };
    if calib.iters > 0 {
        println!(
            "calibration: {} iterations, cpl0 {}.{:03} ns/iter, cpl3 {}.{:03} ns/iter",
            calib.iters,
            calib.cpl0_ps / 1000,
            calib.cpl0_ps % 1000,
            calib.cpl3_ps / 1000,
            calib.cpl3_ps % 1000
        );
    }

    let online = smp::wait_all_online(bi.cpu_count(), 5_000_000_000);
    println!("cpus online: {:#x} of {}", online, bi.cpu_count());

    if let Some(kind) = bi.cmdline_value("fault") {
        inject_fault(kind);
    }

    let ctx = BootContext {
        boot: bi,
        memory,
        platform,
    };
    let ready = __lego_monitor_init(&ctx);

    let mut r = ReadyReport::new();
    r.role = role as u32;
    r.cpu_count = bi.cpu_count();
    r.platform = platform as u32;
    r.cpus_online = online;
    r.vif = u32::from(vif);
    r.calib_iters = calib.iters;
    r.calib_cpl0_ps = calib.cpl0_ps;
    r.calib_cpl3_ps = calib.cpl3_ps;
    r.timer_wake_ns = timer_wake_ns;
    r.heap_bytes = memory.heap_bytes;
    r.free_bytes = mm::FRAMES.lock().free_bytes();
    r.excache_bytes = ready.excache_bytes;
    r.tsc_khz = time::tsc_khz();
    r.guest_boot_ns = time::ticks_to_ns(rdtsc() - t0);
    println!("ready in {} us (guest time)", r.guest_boot_ns / 1000);
    power::report_ready(&r);
    if let Some(w) = ready.worker {
        smp::start_workers(w);
    }

    if bi.has_flag(flags::SHUTDOWN_AFTER_READY) {
        power::poweroff(0);
    }
    crate::service::run(bi, &memory, ready.service)
}

fn other_cpu(cpu: usize, t0: u64) -> ! {
    smp::wait_for(Stage::PlatformKnown);
    idt::load();
    platform::register_cpu(cpu);
    let t1 = rdtsc();
    smp::wait_for(Stage::SharedReady);
    let t2 = rdtsc();
    cpu_init(cpu, cpuid::features());
    percpu::this().set_online();
    let id = apic::id();
    smp::set_apic_id(cpu, id);
    // The line goes out before the CPU counts as online: the boot CPU may report ready and
    // power off (`lego boot`) as soon as every CPU is.
    println!(
        "cpu {cpu} online (apic id {id}): native after {} us, waited {} us, up after {} us",
        time::ticks_to_ns(t1 - t0) / 1000,
        time::ticks_to_ns(t2 - t1) / 1000,
        time::ticks_to_ns(rdtsc() - t0) / 1000
    );
    smp::mark_online(cpu);
    smp::other_cpu_idle(cpu)
}

/// Sleeps three times for 100 us on the timer; returns the median lateness in ns.
fn timer_self_test() -> u64 {
    let mut late = [0u64; 3];
    for l in &mut late {
        *l = time::sleep_ns(100_000);
    }
    late.sort_unstable();
    late[1]
}

/// Faults on purpose (`fault=` on the command line), to test fault reporting end to end.
fn inject_fault(kind: &str) {
    println!("injecting fault: {kind}");
    match kind {
        "pagefault" => {
            let p = 0x0000_7fff_dead_b000u64 as *const u64;
            // SAFETY: deliberately unsound: this address is not mapped, and the resulting page
            // fault is the point (it must be reported by the VMM and stop the guest).
            let v = unsafe { p.read_volatile() };
            println!("unreachable: read {v}");
        }
        "ud" => {
            // SAFETY: raises #UD on purpose; the trap handler reports it and stops.
            unsafe { core::arch::asm!("ud2") };
        }
        "panic" => panic!("injected panic"),
        other => println!("unknown fault kind '{other}', ignoring"),
    }
}
