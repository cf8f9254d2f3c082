//! Per-CPU data, found through the GS base (set with `wrgsbase`; no `swapgs`, which the PVM
//! host handles badly).

use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};

use lego_abi::boot::MAX_CPUS;

use crate::arch::{read_gs_base, write_gs_base};

/// One CPU's data. Fields touched from trap context are atomics or only touched by this CPU.
#[repr(C, align(64))]
#[derive(Debug)]
pub struct PerCpu {
    /// The user's GS base while the CPU is in a trap from user mode. Offset 0: the trap entry
    /// code uses it (`gs:[0]`).
    user_gs_base: AtomicU64,
    /// Top of the stack the trap entry moves to for traps from user mode (offset 8): the trap
    /// stack itself is in the entry area, visible to user code.
    kernel_stack: AtomicU64,
    cpu: AtomicU32,
    online: AtomicBool,
    user_active: AtomicBool,
    /// TSC value at which the last timer interrupt was handled (0: none since armed).
    timer_fired_tsc: AtomicU64,
    unexpected_interrupts: AtomicU64,
    /// A wake-up interrupt was handled without its EOI (see `apic::defer_eoi`).
    eoi_pending: AtomicBool,
}

struct AllCpus([PerCpu; MAX_CPUS]);

static CPUS: AllCpus = AllCpus(
    [const {
        PerCpu {
            user_gs_base: AtomicU64::new(0),
            kernel_stack: AtomicU64::new(0),
            cpu: AtomicU32::new(0),
            online: AtomicBool::new(false),
            user_active: AtomicBool::new(false),
            timer_fired_tsc: AtomicU64::new(0),
            unexpected_interrupts: AtomicU64::new(0),
            eoi_pending: AtomicBool::new(false),
        }
    }; MAX_CPUS],
);

/// Points this CPU's GS base at its slot. Call first thing on every CPU, before anything that
/// uses [`this`].
pub fn init(cpu: usize) {
    let slot = &CPUS.0[cpu];
    slot.cpu.store(cpu as u32, Ordering::Relaxed);
    write_gs_base(slot as *const PerCpu as u64);
}

/// Sets the stack traps from user mode run on (its top), and records this CPU's per-CPU
/// pointer for the trap entry.
pub fn set_kernel_stack(top: u64) {
    let pc = this();
    pc.kernel_stack.store(top & !15, Ordering::Relaxed);
    crate::mm::isolation::set_percpu(pc.cpu(), pc as *const PerCpu as u64);
}

/// This CPU's data.
pub fn this() -> &'static PerCpu {
    let p = read_gs_base() as *const PerCpu;
    // SAFETY: `init` set the GS base to a slot of the static array on this CPU; it is never
    // changed afterwards. Before `init`, GS base is 0 and nothing calls this (boot order).
    unsafe { &*p }
}

/// The slot of CPU `cpu`.
pub fn of(cpu: usize) -> &'static PerCpu {
    &CPUS.0[cpu]
}

impl PerCpu {
    /// This CPU's index.
    pub fn cpu(&self) -> usize {
        self.cpu.load(Ordering::Relaxed) as usize
    }

    /// Marks the CPU online.
    pub fn set_online(&self) {
        self.online.store(true, Ordering::Release);
    }

    /// Whether the CPU came online.
    pub fn is_online(&self) -> bool {
        self.online.load(Ordering::Acquire)
    }

    pub(crate) fn user_active(&self) -> bool {
        self.user_active.load(Ordering::Relaxed)
    }

    pub(crate) fn set_user_active(&self, v: bool) {
        self.user_active.store(v, Ordering::Relaxed);
    }

    /// The user's GS base, saved by the trap entry of a trap from user mode.
    pub(crate) fn user_gs_base(&self) -> u64 {
        self.user_gs_base.load(Ordering::Relaxed)
    }

    pub(crate) fn timer_fired_tsc(&self) -> u64 {
        self.timer_fired_tsc.load(Ordering::Acquire)
    }

    pub(crate) fn set_timer_fired_tsc(&self, tsc: u64) {
        self.timer_fired_tsc.store(tsc, Ordering::Release);
    }

    /// Sets whether an EOI is owed; returns whether one was.
    pub(crate) fn swap_eoi_pending(&self, pending: bool) -> bool {
        self.eoi_pending.swap(pending, Ordering::Relaxed)
    }

    /// Counts an interrupt on a vector nobody owns.
    pub fn count_unexpected_interrupt(&self) {
        self.unexpected_interrupts.fetch_add(1, Ordering::Relaxed);
    }

    /// Interrupts on vectors nobody owns, so far.
    pub fn unexpected_interrupts(&self) -> u64 {
        self.unexpected_interrupts.load(Ordering::Relaxed)
    }
}
