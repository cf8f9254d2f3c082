//! The few CPUID bits the runtime needs. Each `cpuid` is a trap on the PVM host (15-36 us), so
//! the answers are read once, at boot.

use core::arch::x86_64::__cpuid;

/// Features the runtime uses.
#[derive(Clone, Copy, Debug, Default)]
pub struct Features {
    /// x2APIC (MSR-based local APIC).
    pub x2apic: bool,
    /// TSC-deadline timer mode.
    pub tsc_deadline: bool,
    /// The hypervisor reports TSC frequency in leaf 0x4000_0010 (kHz), if nonzero.
    pub hv_tsc_khz: u32,
}

/// Reads the feature bits.
pub fn features() -> Features {
    // `__cpuid` is safe on x86-64 (cpuid always exists there).
    let l1 = __cpuid(1);
    let max_hv = __cpuid(0x4000_0000).eax;
    let hv_tsc_khz = if max_hv >= 0x4000_0010 {
        __cpuid(0x4000_0010).eax
    } else {
        0
    };
    Features {
        x2apic: l1.ecx & (1 << 21) != 0,
        tsc_deadline: l1.ecx & (1 << 24) != 0,
        hv_tsc_khz,
    }
}
