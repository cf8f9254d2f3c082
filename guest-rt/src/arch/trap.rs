//! Trap entry: one 16-byte stub per vector pushes a uniform frame and calls [`dispatch`].
//!
//! Exceptions in the monitor are fatal and reported to the VMM (`fault`); exceptions while a
//! CPU runs user code return to the kernel (`usermode`); #GP on a safe-MSR probe is fixed up
//! (`msr::fixup`); interrupts are acknowledged and handed to their owner.

use core::arch::global_asm;

use super::{apic, msr, usermode};
use crate::{fault, percpu, platform, time};

/// Local APIC timer.
pub const TIMER_VECTOR: u8 = 0x20;
/// Inter-processor wake-up.
pub const WAKE_VECTOR: u8 = 0x21;
/// Spurious interrupts (no EOI).
pub const SPURIOUS_VECTOR: u8 = 0xff;

/// The registers saved on trap entry, lowest address first.
#[repr(C)]
#[derive(Debug, Clone, Default)]
#[allow(missing_docs)]
pub struct TrapFrame {
    pub r15: u64,
    pub r14: u64,
    pub r13: u64,
    pub r12: u64,
    pub r11: u64,
    pub r10: u64,
    pub r9: u64,
    pub r8: u64,
    pub rbp: u64,
    pub rdi: u64,
    pub rsi: u64,
    pub rdx: u64,
    pub rcx: u64,
    pub rbx: u64,
    pub rax: u64,
    /// Pushed by the stub.
    pub vector: u64,
    /// Pushed by the CPU for some exceptions, else 0 by the stub.
    pub error_code: u64,
    pub rip: u64,
    pub cs: u64,
    pub rflags: u64,
    pub rsp: u64,
    pub ss: u64,
}

// Vectors whose exceptions push an error code: 8, 10-14, 17, 21, 29, 30. Each stub is aligned to
// 16 bytes, so vector v's stub is at lego_trap_stubs + 16 * v. The common path aligns the stack
// itself rather than trusting the event delivery to have done so (the PVM host emulates it).
//
// Traps from user mode (CS RPL 3) cannot trust GS: the PVM host hands the kernel the GS base the
// user had (measured: 0). They arrive on this CPU's trap stack (TSS.RSP0, in the entry area),
// whose address says which CPU this is; the user's GS base is kept in per-CPU offset 0.
const FRAME_CS: usize = 18 * 8;
const FRAME_RIP: usize = 17 * 8;
global_asm!(
    r#"
    .section .text.lego_entry.traps, "ax"
    .global lego_trap_stubs
    .p2align 4
lego_trap_stubs:
    .set vec, 0
    .rept 256
    .p2align 4
    .if (vec == 8) || ((vec >= 10) && (vec <= 14)) || (vec == 17) || (vec == 21) || (vec == 29) || (vec == 30)
    .else
    push 0
    .endif
    push vec
    jmp lego_trap_common
    .set vec, vec + 1
    .endr

lego_trap_common:
    push rax
    push rbx
    push rcx
    push rdx
    push rsi
    push rdi
    push rbp
    push r8
    push r9
    push r10
    push r11
    push r12
    push r13
    push r14
    push r15
    test qword ptr [rsp + {cs}], 3
    jnz 7f
    // An interrupt in the user entry's last instructions (usermode::in_entry_window) is on
    // the trap stack, maybe on the user's page table: handled as one from user mode.
    mov rax, [rsp + {rip}]
    lea rcx, [rip + lego_user_window]
    cmp rax, rcx
    jb 2f
    lea rcx, [rip + lego_user_window_end]
    cmp rax, rcx
    jae 2f
7:
    // From user mode: the monitor's page table first (mm/isolation.rs), then this CPU's
    // per-CPU pointer, found from where its trap stack is (nothing user code can write), then
    // the monitor's own stack. A trap from user mode never returns here: it ends the run.
    cmp qword ptr [LEGO_ISOLATE], 0
    je 4f
    mov rax, qword ptr [LEGO_KERNEL_CR3]
    mov cr3, rax
4:
    mov rax, rsp
    lea rcx, [LEGO_TRAP_STACKS]
    sub rax, rcx
    shr rax, {stack_shift}
    mov rax, qword ptr [LEGO_PERCPU_PTR + rax * 8]
    rdgsbase rcx
    wrgsbase rax
    mov gs:[0], rcx
    mov rdi, rsp
    mov rsp, gs:[8]
    cld
    call {dispatch}
    ud2
2:
    mov rdi, rsp
    mov rbp, rsp
    and rsp, -16
    cld
    call {dispatch}
    mov rsp, rbp
    test qword ptr [rsp + {cs}], 3
    jz 3f
    mov rcx, gs:[0]
    wrgsbase rcx
3:
    pop r15
    pop r14
    pop r13
    pop r12
    pop r11
    pop r10
    pop r9
    pop r8
    pop rbp
    pop rdi
    pop rsi
    pop rdx
    pop rcx
    pop rbx
    pop rax
    add rsp, 16
    iretq
"#,
    dispatch = sym dispatch,
    cs = const FRAME_CS,
    rip = const FRAME_RIP,
    stack_shift = const crate::mm::isolation::TRAP_STACK.trailing_zeros(),
);

unsafe extern "C" {
    static lego_trap_stubs: u8;
}

/// Address of the entry stub of `vector`.
pub fn stub_address(vector: u8) -> u64 {
    &raw const lego_trap_stubs as u64 + 16 * u64::from(vector)
}

/// Acknowledges a wake-up interrupt late (`apic::defer_eoi`): the CPU flushes before it halts
/// or enters user mode.
fn ack_wake_up() {
    apic::defer_eoi();
}

extern "C" fn dispatch(f: &mut TrapFrame) {
    let vector = f.vector;
    // Traps from user mode never return to it with `iretq` (on PVM that would keep kernel
    // semantics): they end the user run (`usermode`), after an interrupt's own handling.
    let from_user = f.cs & 3 == 3;
    // An interrupt just before user code ran: it ends the run too (see the entry stub).
    let in_window = !from_user && usermode::in_entry_window(f.rip);
    if vector == 13
        && !from_user
        && let Some(resume) = msr::fixup(f.rip)
    {
        f.rip = resume;
        platform::restore_after_trap(f.rflags);
        return;
    }
    if vector < 32 {
        if from_user {
            usermode::exit_from_trap(f);
        }
        fault::exception(f);
    }
    match vector as u8 {
        SPURIOUS_VECTOR => {}
        TIMER_VECTOR => {
            time::on_timer_interrupt();
            ack_wake_up();
        }
        // Wake-ups: the fabric's doorbell (its irqfd) only ends a `hlt`; the poller looks.
        WAKE_VECTOR | lego_abi::layout::FABRIC_VECTOR => ack_wake_up(),
        _ => {
            percpu::this().count_unexpected_interrupt();
            apic::eoi();
        }
    }
    if from_user {
        usermode::exit_from_trap(f);
    }
    if in_window {
        usermode::exit_from_window(f.vector);
    }
    platform::restore_after_trap(f.rflags);
}
