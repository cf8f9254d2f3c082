//! The platform layer: what differs between an ordinary KVM host (VMX/SVM) and the PVM host.
//!
//! On PVM, guest CPL0 code is emulated instruction by instruction until the vCPU registers a
//! VIF block (see [`pvm`]); after that it runs natively, but the interrupt flag lives in the VIF
//! (`cli`/`sti` no longer control delivery) and CR2 is reported there. Everything outside this
//! module asks here instead of executing `cli`, `sti`, `hlt` or reading CR2 itself.

pub mod pvm;

use core::arch::asm;
use core::sync::atomic::{AtomicU32, Ordering};

use lego_abi::Platform;

use crate::arch;

static PLATFORM: AtomicU32 = AtomicU32::new(Platform::Unknown as u32);
static VIF_ACTIVE: AtomicU32 = AtomicU32::new(0);

/// The detected platform.
pub fn current() -> Platform {
    Platform::from_u32(PLATFORM.load(Ordering::Acquire))
}

/// Whether this vCPU's interrupt flag lives in a registered VIF.
fn vif_active() -> bool {
    VIF_ACTIVE.load(Ordering::Relaxed) != 0
}

/// Detects the platform (boot CPU, once). Needs the #GP gate (`idt::install_early`).
pub fn detect() -> Platform {
    let p = if pvm::detect() {
        Platform::Pvm
    } else {
        Platform::Kvm
    };
    PLATFORM.store(p as u32, Ordering::Release);
    p
}

/// Makes this CPU's kernel code run natively: on PVM, registers its VIF. Returns whether a VIF
/// is now active (always `false` on ordinary KVM, where nothing is needed).
pub fn register_cpu(cpu: usize) -> bool {
    if current() != Platform::Pvm {
        return false;
    }
    let ok = pvm::register(cpu);
    if ok {
        // All CPUs register or none do (same host); the flag is global so the interrupt
        // helpers need no per-CPU lookup.
        VIF_ACTIVE.store(1, Ordering::Relaxed);
    }
    ok
}

/// Disables interrupts; returns whether they were enabled.
pub fn irq_save() -> bool {
    if vif_active() {
        pvm::vif().swap_if(false)
    } else {
        let flags: u64;
        // SAFETY: reads RFLAGS and clears IF; the caller restores it with `irq_restore`.
        unsafe { asm!("pushfq", "pop {}", "cli", out(reg) flags, options(nomem)) };
        flags & (1 << 9) != 0
    }
}

/// Restores the state returned by [`irq_save`].
pub fn irq_restore(enabled: bool) {
    if enabled {
        irq_enable();
    } else if vif_active() {
        pvm::vif().swap_if(false);
    } else {
        // SAFETY: clears IF.
        unsafe { asm!("cli", options(nomem, nostack)) };
    }
}

/// Enables interrupts.
pub fn irq_enable() {
    if vif_active() {
        pvm::vif().enable();
    } else {
        // SAFETY: sets IF; the IDT is loaded before anyone enables interrupts.
        unsafe { asm!("sti", options(nomem, nostack)) };
    }
}

/// Waits for an interrupt with interrupts enabled, then restores the previous state.
/// No wakeup is lost: on KVM `sti; hlt` is atomic (interrupt shadow); on PVM `hlt` exits to
/// the host, which delivers whatever is pending once the VIF says interrupts are on.
pub fn halt_until_interrupt() {
    let was = irq_save();
    // A wake-up not acknowledged yet would hold back the next one.
    arch::apic::flush_eoi();
    if vif_active() {
        pvm::vif().set_if(true);
        arch::hlt();
    } else {
        // SAFETY: see above; the handler runs and returns here.
        unsafe { asm!("sti", "hlt", options(nomem, nostack)) };
    }
    irq_restore(was);
}

/// Fixes up the interrupt flag before a trap handler returns with `iretq`. On PVM the host
/// clears the VIF's flag on delivery and a native `iretq` cannot set it again.
pub fn restore_after_trap(rflags: u64) {
    if vif_active() {
        if rflags & (1 << 9) != 0 {
            pvm::vif().enable();
        } else {
            pvm::vif().set_if(false);
        }
    }
}

/// The address of this CPU's interrupt flag to set for user code to be interruptible (0: the
/// hardware flag in RFLAGS does it). On PVM user code runs under the VIF's flag too, which the
/// host clears on every exit to the kernel.
pub fn user_interrupt_flag() -> u64 {
    if vif_active() {
        pvm::vif().flag_address()
    } else {
        0
    }
}

/// The faulting address of the last page fault on this CPU.
pub fn fault_address() -> u64 {
    if vif_active() {
        pvm::vif().cr2()
    } else {
        x86_64::registers::control::Cr2::read_raw()
    }
}

/// TSC frequency in kHz if the platform reports it (PVM has an MSR for it).
pub fn tsc_khz() -> Option<u64> {
    (current() == Platform::Pvm).then(pvm::tsc_khz).flatten()
}
