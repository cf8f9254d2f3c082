//! The local APIC in x2APIC mode (MSR access; no MMIO page to map, and each access is one trap
//! on the PVM host rather than an emulated MMIO instruction).

use core::sync::atomic::{AtomicBool, Ordering};

use super::msr;
use super::trap::{SPURIOUS_VECTOR, TIMER_VECTOR};
use crate::percpu;

const X2APIC_EOI: u32 = 0x80b;
const X2APIC_SVR: u32 = 0x80f;
const X2APIC_ICR: u32 = 0x830;
const X2APIC_LVT_TIMER: u32 = 0x832;
const X2APIC_TIMER_INIT: u32 = 0x838;
const X2APIC_TIMER_DIV: u32 = 0x83e;
const X2APIC_ID: u32 = 0x802;

const LVT_TSC_DEADLINE: u64 = 0b10 << 17;

static DEADLINE_MODE: AtomicBool = AtomicBool::new(false);

/// Enables this CPU's local APIC in x2APIC mode with the timer on [`TIMER_VECTOR`].
/// The spurious-vector register is written first: LVT writes are ignored (forced masked)
/// while the APIC is software-disabled.
pub fn init(tsc_deadline: bool) {
    let base = msr::read(msr::APIC_BASE);
    msr::write(msr::APIC_BASE, base | (1 << 11) | (1 << 10));
    msr::write(X2APIC_SVR, 0x100 | u64::from(SPURIOUS_VECTOR));
    if tsc_deadline {
        msr::write(X2APIC_LVT_TIMER, LVT_TSC_DEADLINE | u64::from(TIMER_VECTOR));
    } else {
        msr::write(X2APIC_TIMER_DIV, 0b1011); // divide by 1
        msr::write(X2APIC_LVT_TIMER, u64::from(TIMER_VECTOR)); // one-shot
    }
    DEADLINE_MODE.store(tsc_deadline, Ordering::Relaxed);
}

/// This CPU's x2APIC id.
pub fn id() -> u32 {
    msr::read(X2APIC_ID) as u32
}

/// Fires the timer interrupt at TSC value `deadline` (or, without TSC-deadline mode, after
/// `ticks_from_now` APIC timer ticks).
pub fn arm_timer(deadline: u64, ticks_from_now: u32) {
    if DEADLINE_MODE.load(Ordering::Relaxed) {
        msr::write(msr::TSC_DEADLINE, deadline);
    } else {
        msr::write(X2APIC_TIMER_INIT, u64::from(ticks_from_now.max(1)));
    }
}

/// Acknowledges the interrupt being handled.
pub fn eoi() {
    msr::write(X2APIC_EOI, 0);
}

/// Acknowledges a wake-up interrupt (timer, doorbell) later, in [`flush_eoi`]: the EOI is a
/// trap to the host (15-36 µs on PVM) and would otherwise sit between a doorbell and the
/// request it announces. Until then the local APIC holds back interrupts of the same or a lower
/// priority class, which only wake a sleeping CPU: whoever sleeps or lets user code run flushes
/// first.
pub fn defer_eoi() {
    percpu::this().swap_eoi_pending(true);
}

/// Sends the EOI [`defer_eoi`] put off, if any. Call with interrupts disabled.
pub fn flush_eoi() {
    if percpu::this().swap_eoi_pending(false) {
        eoi();
    }
}

/// Sends fixed interrupt `vector` to the CPU with x2APIC id `dest`.
pub fn send_ipi(dest: u32, vector: u8) {
    msr::write(X2APIC_ICR, (u64::from(dest) << 32) | u64::from(vector));
}
