//! Time: the TSC as the clock, the local APIC timer for wake-ups.

use core::sync::atomic::{AtomicU64, Ordering};

use crate::arch::{apic, rdtsc};
use crate::{percpu, platform};

static TSC_KHZ: AtomicU64 = AtomicU64::new(1_000_000);

/// Sets the TSC frequency used for conversions.
pub fn init(tsc_khz: u64) {
    if tsc_khz > 0 {
        TSC_KHZ.store(tsc_khz, Ordering::Relaxed);
    }
}

/// TSC frequency in kHz.
pub fn tsc_khz() -> u64 {
    TSC_KHZ.load(Ordering::Relaxed)
}

/// Converts TSC ticks to nanoseconds.
pub fn ticks_to_ns(ticks: u64) -> u64 {
    (u128::from(ticks) * 1_000_000 / u128::from(tsc_khz())) as u64
}

/// Converts nanoseconds to TSC ticks.
pub fn ns_to_ticks(ns: u64) -> u64 {
    (u128::from(ns) * u128::from(tsc_khz()) / 1_000_000) as u64
}

/// Nanoseconds since the TSC started.
pub fn now_ns() -> u64 {
    ticks_to_ns(rdtsc())
}

/// Called by the trap dispatcher on the timer vector.
pub fn on_timer_interrupt() {
    percpu::this().set_timer_fired_tsc(rdtsc());
}

/// Arms this CPU's timer to interrupt at TSC value `deadline` (a wake-up for a halted CPU).
pub fn arm_wakeup(deadline: u64) {
    let now = rdtsc();
    let ns = ticks_to_ns(deadline.saturating_sub(now)).min(u64::from(u32::MAX));
    apic::arm_timer(deadline.max(now + 1), ns as u32);
}

/// Sleeps at least `ns` nanoseconds with the CPU halted; returns how late the timer interrupt
/// was handled, in nanoseconds after the deadline. KVM's APIC timer counts at 1 GHz with
/// divide-by-1, which is what the fallback (non TSC-deadline) mode assumes.
pub fn sleep_ns(ns: u64) -> u64 {
    let pc = percpu::this();
    pc.set_timer_fired_tsc(0);
    let deadline = rdtsc() + ns_to_ticks(ns);
    apic::arm_timer(deadline, ns.min(u64::from(u32::MAX)) as u32);
    while pc.timer_fired_tsc() == 0 {
        platform::halt_until_interrupt();
    }
    ticks_to_ns(pc.timer_fired_tsc().saturating_sub(deadline))
}
