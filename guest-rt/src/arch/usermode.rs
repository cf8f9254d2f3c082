//! Running code at CPL3 and getting back.
//!
//! Entry is by `sysretq`: on the PVM host a native `iretq` from the kernel to a user selector
//! does not switch the host's notion of the guest's mode (the guest keeps kernel semantics), while
//! `sysretq` traps and does (measured; see docs/platform.md). Exit is by any exception in user
//! mode, typically `int3`: the trap handler sees [`active`], records a [`UserExit`] and resumes
//! the kernel context saved at entry, abandoning the trap stack.

use core::arch::naked_asm;

use lego_abi::layout::selectors;

use super::msr;
use super::trap::TrapFrame;
use crate::{percpu, platform};

/// Callee-saved kernel state at [`run`], restored when user code traps.
#[repr(C)]
#[derive(Debug, Default, Clone, Copy)]
pub struct KernelContext {
    rbx: u64,
    rbp: u64,
    r12: u64,
    r13: u64,
    r14: u64,
    r15: u64,
    rsp: u64,
}

/// How a user-mode run ended.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UserExit {
    /// The exception vector (3 for `int3`).
    pub vector: u64,
    /// Its error code.
    pub error_code: u64,
    /// Where user code was (after the `int3` for breakpoints).
    pub rip: u64,
    /// Faulting address for page faults.
    pub cr2: u64,
    /// User `rax` at the trap: the result register of our user routines.
    pub rax: u64,
    /// Code segment in the trap frame.
    pub cs: u64,
}

/// Sets this CPU's syscall/sysret MSRs. `syscall` from user mode is not served yet: its entry is
/// `ud2`, which ends the user run with #UD.
pub fn init_cpu() {
    let star = (u64::from(selectors::USER32_CS) << 48) | (u64::from(selectors::KERNEL_CS) << 32);
    msr::write(msr::STAR, star);
    msr::write(msr::LSTAR, lego_syscall_entry as *const () as u64);
    // Clear IF, TF, DF, AC, NT on entry.
    msr::write(msr::FMASK, 0x4_7700);
}

#[unsafe(naked)]
unsafe extern "C" fn lego_syscall_entry() {
    naked_asm!("ud2");
}

#[unsafe(naked)]
unsafe extern "C" fn lego_enter_user(
    ctx: *mut KernelContext,
    entry: u64,
    stack: u64,
    arg: u64,
) -> u64 {
    naked_asm!(
        "mov [rdi + 0], rbx",
        "mov [rdi + 8], rbp",
        "mov [rdi + 16], r12",
        "mov [rdi + 24], r13",
        "mov [rdi + 32], r14",
        "mov [rdi + 40], r15",
        "mov [rdi + 48], rsp",
        "mov rax, rcx",
        "mov rcx, rsi",
        "mov rsp, rdx",
        "mov rdi, rax",
        "mov r11, 0x202",
        "xor eax, eax",
        "xor ebx, ebx",
        "xor edx, edx",
        "xor esi, esi",
        "xor ebp, ebp",
        "xor r8d, r8d",
        "xor r9d, r9d",
        "xor r10d, r10d",
        "xor r12d, r12d",
        "xor r13d, r13d",
        "xor r14d, r14d",
        "xor r15d, r15d",
        "sysretq",
    )
}

#[unsafe(naked)]
unsafe extern "C" fn lego_resume_kernel(ctx: *const KernelContext) -> ! {
    naked_asm!(
        "mov rbx, [rdi + 0]",
        "mov rbp, [rdi + 8]",
        "mov r12, [rdi + 16]",
        "mov r13, [rdi + 24]",
        "mov r14, [rdi + 32]",
        "mov r15, [rdi + 40]",
        "mov rsp, [rdi + 48]",
        "xor eax, eax",
        "ret",
    )
}

/// Runs `entry(arg)` at CPL3 on the stack ending at `stack_top` until it traps.
/// The code and stack must be mapped user-accessible (the boot page tables map everything so).
pub fn run(entry: u64, arg: u64, stack_top: u64) -> UserExit {
    let pc = percpu::this();
    let irq = platform::irq_save();
    // User code may rely on the timer (preemption), which an owed EOI would hold back.
    super::apic::flush_eoi();
    pc.set_user_active(true);
    // SAFETY: the context slot belongs to this CPU; `lego_enter_user` returns (through
    // `lego_resume_kernel`) to this frame with callee-saved registers and rsp restored.
    unsafe { lego_enter_user(pc.user_context(), entry, stack_top, arg) };
    pc.set_user_active(false);
    platform::irq_restore(irq);
    pc.take_user_exit()
}

/// Whether this CPU is inside [`run`].
pub fn active() -> bool {
    percpu::this().user_active()
}

/// Ends the current user run from its trap frame. Called by the trap dispatcher.
pub fn exit_from_trap(f: &TrapFrame) -> ! {
    let pc = percpu::this();
    pc.set_user_exit(UserExit {
        vector: f.vector,
        error_code: f.error_code,
        rip: f.rip,
        cr2: if f.vector == 14 {
            platform::fault_address()
        } else {
            0
        },
        rax: f.rax,
        cs: f.cs,
    });
    // SAFETY: `active()` was true, so `run` saved a live kernel context on this CPU, whose stack
    // frames are intact (traps from user land on the separate trap stack).
    unsafe { lego_resume_kernel(pc.user_context()) }
}
