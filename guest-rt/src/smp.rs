//! Bringing up the other vCPUs. The VMM starts every vCPU at `_start` at once, each with its own
//! stack and index (no INIT/SIPI); the boot CPU publishes its progress in stages and the others
//! wait for the stage they need.

use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use crate::arch::{pause, rdtsc};
use crate::time;

/// Boot CPU progress.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stage {
    /// Nothing yet.
    Start = 0,
    /// The platform is detected and the #GP gate is loaded: CPUs may register their VIF.
    PlatformKnown = 1,
    /// IDT, heap and console are ready: CPUs may finish their bring-up.
    SharedReady = 2,
}

static STAGE: AtomicU32 = AtomicU32::new(Stage::Start as u32);
static ONLINE: AtomicU64 = AtomicU64::new(0);

/// Publishes a stage (boot CPU).
pub fn advance(s: Stage) {
    STAGE.store(s as u32, Ordering::Release);
}

/// Waits until the boot CPU reached `s`.
pub fn wait_for(s: Stage) {
    while STAGE.load(Ordering::Acquire) < s as u32 {
        pause();
    }
}

/// Marks `cpu` online.
pub fn mark_online(cpu: usize) {
    ONLINE.fetch_or(1 << cpu, Ordering::AcqRel);
}

/// Bit `i` set: CPU `i` is online.
pub fn online_mask() -> u64 {
    ONLINE.load(Ordering::Acquire)
}

/// Waits until `count` CPUs are online or `timeout_ns` passed; returns the online mask.
pub fn wait_all_online(count: u32, timeout_ns: u64) -> u64 {
    let want = if count >= 64 {
        u64::MAX
    } else {
        (1u64 << count) - 1
    };
    let give_up = rdtsc() + time::ns_to_ticks(timeout_ns);
    loop {
        let m = online_mask();
        if m & want == want || rdtsc() > give_up {
            return m;
        }
        pause();
    }
}

/// Each CPU's x2APIC id (by index), for IPIs.
static APIC_IDS: [AtomicU32; lego_abi::boot::MAX_CPUS] =
    [const { AtomicU32::new(u32::MAX) }; lego_abi::boot::MAX_CPUS];

/// Records `cpu`'s x2APIC id (each CPU at bring-up).
pub fn set_apic_id(cpu: usize, id: u32) {
    if let Some(a) = APIC_IDS.get(cpu) {
        a.store(id, Ordering::Release);
    }
}

/// Interrupts `cpu` with the wake-up vector: it leaves user code (an exit to its monitor) or
/// a halt. Nothing happens for a CPU that is not online.
pub fn kick(cpu: usize) {
    let id = APIC_IDS
        .get(cpu)
        .map_or(u32::MAX, |a| a.load(Ordering::Acquire));
    if id != u32::MAX {
        crate::arch::apic::send_ipi(id, crate::arch::trap::WAKE_VECTOR);
    }
}

/// What the other CPUs run once the monitor is ready (a pComponent's workers), as a
/// function address (0: none: they halt).
static WORKER: AtomicU64 = AtomicU64::new(0);

/// Starts `f(cpu)` on every other online CPU (the boot CPU, once its monitor is ready).
pub fn start_workers(f: fn(usize) -> !) {
    WORKER.store(f as usize as u64, Ordering::Release);
    let online = online_mask();
    for cpu in 1..64 {
        if online & (1 << cpu) != 0 {
            kick(cpu);
        }
    }
}

/// The other CPUs' life: halt until the boot CPU gives them work ([`start_workers`]).
pub fn other_cpu_idle(cpu: usize) -> ! {
    loop {
        let irq = crate::platform::irq_save();
        let f = WORKER.load(Ordering::Acquire);
        if f != 0 {
            crate::platform::irq_restore(irq);
            // SAFETY: only `start_workers` stores here, the address of a `fn(usize) -> !`.
            let f: fn(usize) -> ! = unsafe { core::mem::transmute(f as usize) };
            f(cpu);
        }
        // A kick between the load and the halt is pending and ends the halt at once.
        crate::platform::halt_until_interrupt();
        crate::platform::irq_restore(irq);
    }
}
