//! Model-specific registers, including exception-safe access: probing an MSR that does not
//! exist raises #GP, which the trap handler turns into an error return (like Linux's
//! `rdmsr_safe`). That is how the platform layer tells the PVM host from an ordinary one.

use core::arch::global_asm;

use x86_64::registers::model_specific::Msr;

/// IA32_APIC_BASE.
pub const APIC_BASE: u32 = 0x1b;
/// IA32_TSC_DEADLINE.
pub const TSC_DEADLINE: u32 = 0x6e0;
/// IA32_STAR: syscall/sysret selectors.
pub const STAR: u32 = 0xc000_0081;
/// IA32_LSTAR: 64-bit syscall entry.
pub const LSTAR: u32 = 0xc000_0082;
/// IA32_FMASK: RFLAGS bits cleared on syscall.
pub const FMASK: u32 = 0xc000_0084;

/// Reads an MSR that is known to exist.
pub fn read(msr: u32) -> u64 {
    // SAFETY: callers only name architectural MSRs present on every host we boot on.
    unsafe { Msr::new(msr).read() }
}

/// Writes an MSR that is known to exist.
pub fn write(msr: u32, value: u64) {
    // SAFETY: callers only name architectural MSRs and write values valid for them.
    unsafe { Msr::new(msr).write(value) }
}

#[repr(C)]
struct SafeResult {
    value: u64,
    faulted: u64,
}

// rdmsr/wrmsr with a fixup: if the instruction at `*_insn` raises #GP, the trap handler resumes
// at `*_fixup`, which returns `faulted = 1`.
global_asm!(
    r#"
    .section .text.msr_safe, "ax"
    .global lego_rdmsr_safe
    .global lego_rdmsr_safe_insn
    .global lego_rdmsr_safe_fixup
lego_rdmsr_safe:
    mov ecx, edi
    xor eax, eax
    xor edx, edx
lego_rdmsr_safe_insn:
    rdmsr
    shl rdx, 32
    or rax, rdx
    xor edx, edx
    ret
lego_rdmsr_safe_fixup:
    xor eax, eax
    mov edx, 1
    ret

    .global lego_wrmsr_safe
    .global lego_wrmsr_safe_insn
    .global lego_wrmsr_safe_fixup
lego_wrmsr_safe:
    mov ecx, edi
    mov rax, rsi
    mov rdx, rsi
    shr rdx, 32
lego_wrmsr_safe_insn:
    wrmsr
    xor eax, eax
    xor edx, edx
    ret
lego_wrmsr_safe_fixup:
    xor eax, eax
    mov edx, 1
    ret
"#
);

unsafe extern "C" {
    fn lego_rdmsr_safe(msr: u32) -> SafeResult;
    fn lego_wrmsr_safe(msr: u32, value: u64) -> SafeResult;
    static lego_rdmsr_safe_insn: u8;
    static lego_rdmsr_safe_fixup: u8;
    static lego_wrmsr_safe_insn: u8;
    static lego_wrmsr_safe_fixup: u8;
}

/// Reads an MSR that may not exist; `None` if it raised #GP.
/// Needs the #GP gate installed (see `idt::install_early`).
pub fn read_safe(msr: u32) -> Option<u64> {
    // SAFETY: the routine only executes rdmsr; a #GP is caught by `fixup`.
    let r = unsafe { lego_rdmsr_safe(msr) };
    (r.faulted == 0).then_some(r.value)
}

/// Writes an MSR that may reject the write; `false` if it raised #GP.
pub fn write_safe(msr: u32, value: u64) -> bool {
    // SAFETY: as for `read_safe`; the MSRs written this way (the PVM VIF) only change how the
    // host delivers events to this vCPU.
    let r = unsafe { lego_wrmsr_safe(msr, value) };
    r.faulted == 0
}

/// If `rip` is one of the safe-MSR instructions, the address to resume at instead.
pub fn fixup(rip: u64) -> Option<u64> {
    let pairs = [
        (
            &raw const lego_rdmsr_safe_insn,
            &raw const lego_rdmsr_safe_fixup,
        ),
        (
            &raw const lego_wrmsr_safe_insn,
            &raw const lego_wrmsr_safe_fixup,
        ),
    ];
    pairs
        .iter()
        .find(|(insn, _)| *insn as u64 == rip)
        .map(|(_, fix)| *fix as u64)
}
