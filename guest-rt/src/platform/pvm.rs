//! The PVM host's VIF ("virtual interrupt flag") block, found by probing (PLATFORM.md): not
//! documented publicly, so it is confined to this module and used only after detection.
//!
//! - `rdmsr 0x4b564d11` returns `0x4d5650` ("PVM") on this host and raises #GP elsewhere.
//! - `wrmsr 0x4b564d10, vif_gpa | flags` registers the calling vCPU's VIF: a 16-byte block
//!   `{ if_: u8, pending: u8, _pad: [u8; 6], cr2: u64 }` at the start of a page: the low 12 bits
//!   of the value are flags (reading the MSR back shows the host keeps only the page frame and
//!   the flags it knows). Flag 0x10 makes the host write page-fault addresses into `cr2`. Flag
//!   bit 0 (CR3 flipping) is not used.
//! - Afterwards CPL0 runs natively; interrupts are delivered only while `if_ == 1`; an interrupt
//!   that arrives while `if_ == 0` waits in `pending` until the guest next exits with `if_ == 1`.

use core::sync::atomic::{AtomicU8, AtomicU64, Ordering};

use lego_abi::boot::MAX_CPUS;
use lego_abi::layout::KERNEL_VIRT_BASE;

use crate::arch::msr;
use crate::percpu;

const MSR_VIF: u32 = 0x4b56_4d10;
const MSR_DETECT: u32 = 0x4b56_4d11;
const MSR_TSC_KHZ: u32 = 0x4b56_4d13;
const DETECT_MAGIC: u64 = 0x4d_5650;
const VIF_FLAG_CR2: u64 = 0x10;

/// One vCPU's VIF block, alone in its page.
#[repr(C, align(4096))]
#[derive(Debug)]
pub struct Vif {
    if_: AtomicU8,
    pending: AtomicU8,
    _pad: [u8; 6],
    cr2: AtomicU64,
}

static VIFS: [Vif; MAX_CPUS] = [const {
    Vif {
        if_: AtomicU8::new(0),
        pending: AtomicU8::new(0),
        _pad: [0; 6],
        cr2: AtomicU64::new(0),
    }
}; MAX_CPUS];

impl Vif {
    /// Sets the flag; returns the previous value.
    pub fn swap_if(&self, on: bool) -> bool {
        self.if_.swap(u8::from(on), Ordering::SeqCst) != 0
    }

    /// Sets the flag.
    pub fn set_if(&self, on: bool) {
        self.if_.store(u8::from(on), Ordering::SeqCst);
    }

    /// Sets the flag and, if an interrupt arrived while it was clear, lets the host deliver it.
    pub fn enable(&self) {
        self.if_.store(1, Ordering::SeqCst);
        if self.pending.load(Ordering::SeqCst) != 0 {
            kick();
        }
    }

    /// The address of the flag byte (for the user-mode entry, which sets it last).
    pub fn flag_address(&self) -> u64 {
        self.if_.as_ptr() as u64
    }

    /// The last page-fault address the host stored.
    pub fn cr2(&self) -> u64 {
        self.cr2.load(Ordering::SeqCst)
    }

    /// Whether an interrupt is waiting.
    pub fn pending(&self) -> bool {
        self.pending.load(Ordering::SeqCst) != 0
    }
}

/// Exits to the host so it can inject a pending interrupt. Any trapping instruction would do;
/// reading the detection MSR is a cheap one with no side effect.
fn kick() {
    let _ = msr::read_safe(MSR_DETECT);
}

/// This CPU's VIF.
pub fn vif() -> &'static Vif {
    &VIFS[percpu::this().cpu()]
}

/// Whether we run on the PVM host.
pub fn detect() -> bool {
    msr::read_safe(MSR_DETECT) == Some(DETECT_MAGIC)
}

/// Registers CPU `cpu`'s VIF (must run on that CPU).
pub fn register(cpu: usize) -> bool {
    let v = &VIFS[cpu];
    v.if_.store(0, Ordering::SeqCst);
    let gpa = (v as *const Vif as u64) - KERNEL_VIRT_BASE;
    msr::write_safe(MSR_VIF, gpa | VIF_FLAG_CR2)
}

/// The TSC frequency the host reports.
pub fn tsc_khz() -> Option<u64> {
    msr::read_safe(MSR_TSC_KHZ).filter(|&k| k > 0)
}
