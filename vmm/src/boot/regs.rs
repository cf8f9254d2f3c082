//! Initial vCPU state: long mode with paging, every vCPU at the entry point with its own stack
//! and index. No real mode, no INIT/SIPI.

use kvm_bindings::{CpuId, KVM_MP_STATE_RUNNABLE, kvm_fpu, kvm_mp_state, kvm_regs, kvm_sregs};
use kvm_ioctls::VcpuFd;
use lego_abi::layout::{BOOT_GDT_GPA, phys_to_virt, selectors};

use super::gdt;
use crate::error::{Error, Result};

/// CR0: protection, monitor coprocessor, extension type, numeric error, write protect,
/// alignment mask, paging.
pub const CR0: u64 = 0x8005_0033;
/// CR4 bits: PAE, OSFXSR, OSXMMEXCPT, FSGSBASE (the guest uses rdgsbase/wrgsbase for per-CPU
/// data). No PCIDE: the PVM host rejects it (PLATFORM.md).
pub const CR4: u64 = (1 << 5) | (1 << 9) | (1 << 10) | (1 << 16);
/// EFER: SCE (syscall/sysret: the guest cannot set it itself on PVM), LME, LMA.
pub const EFER: u64 = (1 << 0) | (1 << 8) | (1 << 10);

/// Where one vCPU starts.
#[derive(Clone, Copy, Debug)]
pub struct Start {
    /// vCPU index, passed in `rsi`.
    pub index: u32,
    /// Entry point (virtual).
    pub entry: u64,
    /// Top of this vCPU's boot stack (virtual).
    pub stack_top: u64,
    /// Boot info (virtual), passed in `rdi`.
    pub boot_info: u64,
    /// CR3.
    pub cr3: u64,
}

/// Fills in the special registers for long mode on top of KVM's defaults.
pub fn long_mode_sregs(mut s: kvm_sregs, cr3: u64) -> kvm_sregs {
    let g = gdt::boot_gdt();
    s.gdt.base = phys_to_virt(BOOT_GDT_GPA);
    s.gdt.limit = (g.len() * 8 - 1) as u16;
    s.idt.base = 0;
    s.idt.limit = 0;
    s.cs = gdt::segment(
        g[usize::from(selectors::KERNEL_CS >> 3)],
        selectors::KERNEL_CS,
    );
    let data = gdt::segment(
        g[usize::from(selectors::KERNEL_DS >> 3)],
        selectors::KERNEL_DS,
    );
    s.ds = data;
    s.es = data;
    s.fs = data;
    s.gs = data;
    s.ss = data;
    s.tr = gdt::boot_tr();
    s.cr0 = CR0;
    s.cr3 = cr3;
    s.cr4 = CR4;
    s.efer = EFER;
    s
}

/// General registers at entry.
pub fn entry_regs(st: &Start) -> kvm_regs {
    kvm_regs {
        rip: st.entry,
        rsp: st.stack_top,
        rdi: st.boot_info,
        rsi: u64::from(st.index),
        rflags: 0x2,
        ..Default::default()
    }
}

/// Gives the vCPU its own APIC id in CPUID (leaf 1 EBX[31:24], leaf 0xB EDX).
pub fn patch_cpuid(mut cpuid: CpuId, index: u32) -> CpuId {
    for e in cpuid.as_mut_slice() {
        match e.function {
            1 => e.ebx = (e.ebx & 0x00ff_ffff) | (index << 24),
            0xb | 0x1f => e.edx = index,
            _ => {}
        }
    }
    cpuid
}

/// Puts a vCPU at its start.
pub fn setup(vcpu: &VcpuFd, cpuid: &CpuId, st: &Start) -> Result<()> {
    vcpu.set_cpuid2(&patch_cpuid(cpuid.clone(), st.index))
        .map_err(Error::kvm("set cpuid"))?;
    let sregs = vcpu.get_sregs().map_err(Error::kvm("get sregs"))?;
    vcpu.set_sregs(&long_mode_sregs(sregs, st.cr3))
        .map_err(Error::kvm("set sregs (long mode)"))?;
    vcpu.set_regs(&entry_regs(st))
        .map_err(Error::kvm("set regs"))?;
    // x87 control word and MXCSR at their reset values with all exceptions masked.
    let fpu = kvm_fpu {
        fcw: 0x37f,
        mxcsr: 0x1f80,
        ..Default::default()
    };
    vcpu.set_fpu(&fpu).map_err(Error::kvm("set fpu"))?;
    // With the in-kernel local APIC, every vCPU but the first would wait for INIT/SIPI: make
    // them all runnable at their entry instead.
    vcpu.set_mp_state(kvm_mp_state {
        mp_state: KVM_MP_STATE_RUNNABLE,
    })
    .map_err(Error::kvm("set mp state"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sregs_enter_long_mode() {
        let s = long_mode_sregs(kvm_sregs::default(), 0x4000);
        assert_eq!(s.cr3, 0x4000);
        assert_eq!(s.cs.l, 1);
        assert_eq!(s.cs.selector, 0x10);
        assert_eq!(s.ss.selector, 0x18);
        assert_ne!(s.efer & (1 << 10), 0, "LMA");
        assert_ne!(s.efer & 1, 0, "SCE");
        assert_eq!(s.cr4 & (1 << 17), 0, "no PCIDE");
        assert_ne!(s.cr0 & (1 << 31), 0, "paging");
        assert_eq!(s.gdt.base, phys_to_virt(BOOT_GDT_GPA));
    }

    #[test]
    fn regs_carry_index_and_boot_info() {
        let r = entry_regs(&Start {
            index: 3,
            entry: 0x1000,
            stack_top: 0x2000,
            boot_info: 0x3000,
            cr3: 0,
        });
        assert_eq!(
            (r.rip, r.rsp, r.rdi, r.rsi, r.rflags),
            (0x1000, 0x2000, 0x3000, 3, 2)
        );
    }
}
