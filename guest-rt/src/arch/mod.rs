//! x86-64 specifics: descriptor tables, traps, MSRs, the local APIC, user mode.

pub mod apic;
pub mod cpuid;
pub mod fpu;
pub mod gdt;
pub mod idt;
pub mod msr;
pub mod trap;
pub mod usermode;

use core::arch::asm;

/// Reads the time-stamp counter. Unprivileged and native at any CPL on every host we run on.
#[inline(always)]
pub fn rdtsc() -> u64 {
    // SAFETY: rdtsc has no memory effects; CR4.TSD is clear (the VMM sets CR4).
    unsafe { core::arch::x86_64::_rdtsc() }
}

/// Spin-loop hint.
#[inline(always)]
pub fn pause() {
    core::hint::spin_loop();
}

/// Writes a 32-bit value to an I/O port: an exit to the VMM.
#[inline(always)]
pub fn outl(port: u16, value: u32) {
    // SAFETY: the ports we use are the VMM's paravirtual ports (lego_abi::ports); writing them
    // has no effect on guest memory.
    unsafe {
        asm!("out dx, eax", in("dx") port, in("eax") value, options(nomem, nostack, preserves_flags))
    };
}

/// Writes a byte to an I/O port.
#[inline(always)]
pub fn outb(port: u16, value: u8) {
    // SAFETY: as for `outl`.
    unsafe {
        asm!("out dx, al", in("dx") port, in("al") value, options(nomem, nostack, preserves_flags))
    };
}

/// Halts until the next interrupt. Interrupt state is managed by `platform`.
#[inline(always)]
pub fn hlt() {
    // SAFETY: hlt only waits; the caller decided about interrupts.
    unsafe { asm!("hlt", options(nomem, nostack, preserves_flags)) };
}

/// Sets this CPU's GS base (needs CR4.FSGSBASE, which the VMM sets): per-CPU data lives there.
/// `wrgsbase` is unprivileged and native, unlike `wrmsr` or `swapgs` (PLATFORM.md).
#[inline(always)]
pub fn write_gs_base(v: u64) {
    // SAFETY: only changes the GS base used by `read_gs_base`; nothing else in the guest uses GS.
    unsafe { asm!("wrgsbase {}", in(reg) v, options(nostack, preserves_flags)) };
}

/// Reads this CPU's GS base.
#[inline(always)]
pub fn read_gs_base() -> u64 {
    let v: u64;
    // SAFETY: reads a register.
    unsafe { asm!("rdgsbase {}", out(reg) v, options(nomem, nostack, preserves_flags)) };
    v
}
