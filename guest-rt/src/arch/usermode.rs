//! Running code at CPL3 and getting back: the mechanism under the process monitor.
//!
//! [`enter`] loads a [`UserRegs`] and runs user code until it leaves the CPU: a `syscall`, an
//! exception or an interrupt. Every one of them *exits*: the registers are saved into the same
//! `UserRegs`, the kernel context saved at entry is resumed (abandoning whatever stack the event
//! arrived on) and [`enter`] returns a typed [`Exit`]. The monitor handles it and enters again.
//!
//! Why exits and not handlers that return to user code in place: on the PVM host only `sysretq`
//! switches the host's notion of the guest's mode to user; a native `iretq` to a CPL3 frame keeps
//! kernel semantics (docs/platform.md). So every return to user code is a `sysretq`, which
//! clobbers `rcx` and `r11`. A syscall's return may clobber them (the Linux ABI says so); any other
//! return goes through the *trampoline*: four user instructions on a page of the process's own
//! (`trampoline_code`) that reload `rcx`, `r11` and `rsp` from that page and jump to the saved
//! `rip`. The page holds only the process's own registers.
//!
//! Preemption: on PVM user code is interruptible only while the VIF's flag is set, and the host
//! clears it on every exit to the kernel, so the entry sets it as late as it can. An interrupt
//! that still comes before `sysretq` arrives in kernel mode; because the trampoline loads the
//! user's `rsp`, the kernel is then still on its trap stack, and the trap entry ends the run as
//! an interrupt of user code that had not started (`in_entry_window`).
//!
//! The syscall entry cannot trust the GS base (the user owns it) nor the stack (`syscall` does
//! not switch it). Each CPU's `LSTAR` therefore points at a stub of its own, which knows its
//! CPU's save area by address.

use core::arch::{asm, global_asm};
use core::cell::UnsafeCell;
use core::mem::offset_of;

use lego_abi::boot::MAX_CPUS;
use lego_abi::layout::selectors;

use super::msr;
use super::trap::TrapFrame;
use crate::{percpu, platform};

/// Callee-saved kernel state at [`enter`], restored when user code leaves.
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

/// A user thread's registers (the integer state; the kernel never touches the FPU/SSE state,
/// so it stays in the CPU across exits).
#[repr(C)]
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct UserRegs {
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
    pub rip: u64,
    pub rflags: u64,
    pub rsp: u64,
    pub fs_base: u64,
    pub gs_base: u64,
}

/// RFLAGS bits user code may set: CF, PF, AF, ZF, SF, TF, DF, OF, AC, ID (not IF, IOPL, ...).
const USER_FLAGS: u64 = 0x25_0dd5;
/// IF and the always-one bit.
const FLAGS_FIXED: u64 = 0x202;

/// Why user code left the CPU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// The `syscall` instruction: the number is in `rax`, the arguments in `rdi`, `rsi`,
    /// `rdx`, `r10`, `r8`, `r9`; `rip` is after the instruction.
    Syscall,
    /// A CPU exception (vector < 32); `cr2` is the address of a page fault.
    Exception {
        /// Vector.
        vector: u8,
        /// Error code (0 where the CPU pushes none).
        error_code: u64,
        /// Faulting address (#PF only).
        cr2: u64,
    },
    /// An interrupt arrived (already handled: acknowledged, the timer's work done).
    Interrupt {
        /// Vector.
        vector: u8,
    },
}

/// How to return to user code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resume {
    /// `rcx` and `r11` need not survive (after a syscall, or the first entry).
    Clobber,
    /// Every register must survive: through the trampoline at this user address, whose data
    /// words (see [`trampoline_code`]) the kernel can write at `data_va` (same page, kernel view).
    Trampoline {
        /// User address of the trampoline code for this CPU.
        code_va: u64,
        /// Kernel-writable address of its three data words.
        data_va: u64,
    },
}

const EXIT_NONE: u64 = 0;
const EXIT_SYSCALL: u64 = 1;
const EXIT_TRAP: u64 = 2;

/// One CPU's user-mode state. The syscall stub reaches it by absolute address.
#[repr(C, align(64))]
struct UserCpu {
    regs: UserRegs,
    kctx: KernelContext,
    /// The kernel's GS base (the per-CPU pointer) while user code runs with its own.
    kernel_gs: u64,
    exit_kind: u64,
    vector: u64,
    error_code: u64,
    cr2: u64,
    /// Non-zero: enter through the trampoline at this address.
    tramp_code: u64,
    tramp_data: u64,
    /// This CPU's scratch line in the entry area (the last registers go through it).
    scratch: u64,
    /// The page table to run user code on (0: stay on the current one).
    user_cr3: u64,
    /// The kernel stack pointer kept until `sysretq` when entering through the trampoline
    /// (which loads the user's): this CPU's trap stack, see [`in_entry_window`].
    entry_rsp: u64,
    /// This CPU's VIF flag to set just before `sysretq` (0: none, the hardware IF in `r11`
    /// does it).
    vif: u64,
}

struct AllUserCpus([UnsafeCell<UserCpu>; MAX_CPUS]);

// SAFETY: CPU `i` only touches slot `i` (through `mine`, or the stubs that name it by address).
unsafe impl Sync for AllUserCpus {}

#[unsafe(no_mangle)]
static LEGO_USER_CPUS: AllUserCpus = AllUserCpus(
    [const {
        UnsafeCell::new(UserCpu {
            regs: UserRegs {
                r15: 0,
                r14: 0,
                r13: 0,
                r12: 0,
                r11: 0,
                r10: 0,
                r9: 0,
                r8: 0,
                rbp: 0,
                rdi: 0,
                rsi: 0,
                rdx: 0,
                rcx: 0,
                rbx: 0,
                rax: 0,
                rip: 0,
                rflags: 0,
                rsp: 0,
                fs_base: 0,
                gs_base: 0,
            },
            kctx: KernelContext {
                rbx: 0,
                rbp: 0,
                r12: 0,
                r13: 0,
                r14: 0,
                r15: 0,
                rsp: 0,
            },
            kernel_gs: 0,
            exit_kind: 0,
            vector: 0,
            error_code: 0,
            cr2: 0,
            tramp_code: 0,
            tramp_data: 0,
            scratch: 0,
            user_cr3: 0,
            entry_rsp: 0,
            vif: 0,
        })
    }; MAX_CPUS],
);

const UC_SIZE: usize = core::mem::size_of::<UserCpu>();
const SYSCALL_STUB_ALIGN: usize = 64;

fn mine() -> *mut UserCpu {
    LEGO_USER_CPUS.0[percpu::this().cpu()].get()
}

// The syscall stubs: stub `i` (at lego_syscall_stubs + 32 * i) is CPU i's LSTAR. It saves the
// user rsp, points rsp just past the `rax` slot of CPU i's `UserRegs` and pushes the registers
// into it, so that afterwards rsp is the save area's base. Then the common part records rip and
// rflags (the CPU put them in rcx and r11), swaps the GS base back to the kernel's and resumes
// the kernel context.
global_asm!(
    r#"
    .section .text.lego_entry.user, "ax"
    .global lego_syscall_stubs
    .p2align 6
lego_syscall_stubs:
    .set cpu, 0
    .rept {max_cpus}
    .p2align 6
    mov qword ptr [LEGO_ENTRY_SCRATCH + cpu * 64], rax
    cmp qword ptr [LEGO_ISOLATE], 0
    je 1f
    mov rax, qword ptr [LEGO_KERNEL_CR3]
    mov cr3, rax
1:
    mov rax, qword ptr [LEGO_ENTRY_SCRATCH + cpu * 64]
    mov qword ptr [LEGO_USER_CPUS + cpu * {uc_size} + {o_rsp}], rsp
    lea rsp, [LEGO_USER_CPUS + cpu * {uc_size} + {o_rax} + 8]
    jmp lego_syscall_common
    .set cpu, cpu + 1
    .endr

lego_syscall_common:
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
    mov [rsp + {o_rip}], rcx
    mov [rsp + {o_rflags}], r11
    rdgsbase rax
    mov [rsp + {o_gs}], rax
    rdfsbase rax
    mov [rsp + {o_fs}], rax
    mov rax, [rsp + {o_kgs}]
    wrgsbase rax
    mov qword ptr [rsp + {o_kind}], {exit_syscall}
    lea rdi, [rsp + {o_kctx}]
    jmp lego_resume_kernel

    .global lego_resume_kernel
lego_resume_kernel:
    mov rbx, [rdi + 0]
    mov rbp, [rdi + 8]
    mov r12, [rdi + 16]
    mov r13, [rdi + 24]
    mov r14, [rdi + 32]
    mov r15, [rdi + 40]
    mov rsp, [rdi + 48]
    ret

    .global lego_user_enter
lego_user_enter:
    mov [rdi + {o_kctx} + 0], rbx
    mov [rdi + {o_kctx} + 8], rbp
    mov [rdi + {o_kctx} + 16], r12
    mov [rdi + {o_kctx} + 24], r13
    mov [rdi + {o_kctx} + 32], r14
    mov [rdi + {o_kctx} + 40], r15
    mov [rdi + {o_kctx} + 48], rsp
    rdgsbase rax
    mov [rdi + {o_kgs}], rax
    mov rax, [rdi + {o_fs}]
    wrfsbase rax
    mov rax, [rdi + {o_gs}]
    wrgsbase rax
    mov rcx, [rdi + {o_rip}]
    mov rax, [rdi + {o_tcode}]
    test rax, rax
    jz 2f
    // Through the trampoline, which loads rcx, r11 and rsp: the kernel keeps its trap stack
    // until sysretq, so an interrupt let in just before it lands there (see the VIF below).
    mov rsi, [rdi + {o_tdata}]
    mov rdx, [rdi + {o_rcx}]
    mov [rsi], rdx
    mov rdx, [rdi + {o_r11}]
    mov [rsi + 8], rdx
    mov [rsi + 16], rcx
    mov rdx, [rdi + {o_rsp}]
    mov [rsi + 24], rdx
    mov rcx, rax
    mov rsp, [rdi + {o_krsp}]
    jmp 3f
2:
    mov rsp, [rdi + {o_rsp}]
3:
    mov r11, [rdi + {o_rflags}]
    mov r15, [rdi + 0]
    mov r14, [rdi + 8]
    mov r13, [rdi + 16]
    mov r12, [rdi + 24]
    mov r10, [rdi + 40]
    mov r9, [rdi + 48]
    mov r8, [rdi + 56]
    mov rbp, [rdi + 64]
    mov rdx, [rdi + 88]
    mov rbx, [rdi + 104]
    // The last three go through the entry area's scratch line: after the switch to the user
    // root, the save area (monitor memory) is out of reach.
    mov rsi, [rdi + {o_scratch}]
    mov rax, [rdi + 112]
    mov [rsi], rax
    mov rax, [rdi + 72]
    mov [rsi + 8], rax
    mov rax, [rdi + 80]
    mov [rsi + 16], rax
    // On PVM user code is interruptible only while the VIF flag is set, and the host clears
    // it on every exit. From here to sysretq an interrupt arrives in kernel mode on the trap
    // stack: the trap entry sees its rip in this window and ends the run as if user code had
    // been interrupted before its first instruction (`in_entry_window`).
    mov rax, [rdi + {o_vif}]
    mov rdi, [rdi + {o_ucr3}]
    test rax, rax
    jz 6f
    .global lego_user_window
lego_user_window:
    mov byte ptr [rax], 1
6:
    test rdi, rdi
    jz 5f
    mov cr3, rdi
5:
    mov rax, [rsi]
    mov rdi, [rsi + 8]
    mov rsi, [rsi + 16]
    sysretq
    .global lego_user_window_end
lego_user_window_end:
"#,
    max_cpus = const MAX_CPUS,
    uc_size = const UC_SIZE,
    o_rsp = const offset_of!(UserRegs, rsp),
    o_rax = const offset_of!(UserRegs, rax),
    o_rip = const offset_of!(UserRegs, rip),
    o_rflags = const offset_of!(UserRegs, rflags),
    o_rcx = const offset_of!(UserRegs, rcx),
    o_r11 = const offset_of!(UserRegs, r11),
    o_fs = const offset_of!(UserRegs, fs_base),
    o_gs = const offset_of!(UserRegs, gs_base),
    o_kctx = const offset_of!(UserCpu, kctx),
    o_kgs = const offset_of!(UserCpu, kernel_gs),
    o_kind = const offset_of!(UserCpu, exit_kind),
    o_tcode = const offset_of!(UserCpu, tramp_code),
    o_tdata = const offset_of!(UserCpu, tramp_data),
    o_scratch = const offset_of!(UserCpu, scratch),
    o_ucr3 = const offset_of!(UserCpu, user_cr3),
    o_krsp = const offset_of!(UserCpu, entry_rsp),
    o_vif = const offset_of!(UserCpu, vif),
    exit_syscall = const EXIT_SYSCALL,
);

unsafe extern "C" {
    static lego_syscall_stubs: u8;
    static lego_user_window: u8;
    static lego_user_window_end: u8;
    fn lego_user_enter(uc: *mut UserCpu);
    fn lego_resume_kernel(kctx: *const KernelContext) -> !;
}

// The register offsets the entry code hard-codes.
const _: () = {
    assert!(offset_of!(UserRegs, r15) == 0);
    assert!(offset_of!(UserRegs, r11) == 32);
    assert!(offset_of!(UserRegs, r10) == 40);
    assert!(offset_of!(UserRegs, rdi) == 72);
    assert!(offset_of!(UserRegs, rsi) == 80);
    assert!(offset_of!(UserRegs, rbx) == 104);
    assert!(offset_of!(UserRegs, rax) == 112);
    assert!(offset_of!(UserCpu, regs) == 0);
    assert!(UC_SIZE < (1 << 20));
};

/// Sets this CPU's syscall MSRs: `LSTAR` is this CPU's own stub.
pub fn init_cpu() {
    let star = (u64::from(selectors::USER32_CS) << 48) | (u64::from(selectors::KERNEL_CS) << 32);
    let cpu = percpu::this().cpu();
    let stub = &raw const lego_syscall_stubs as u64 + (SYSCALL_STUB_ALIGN * cpu) as u64;
    msr::write(msr::STAR, star);
    msr::write(msr::LSTAR, stub);
    // Clear IF, TF, DF, AC, NT on entry.
    msr::write(msr::FMASK, 0x4_7700);
}

/// Runs user code with `regs` until it leaves the CPU; `regs` then holds its registers.
/// `user_cr3`: the page table to run it on (0: the current one). With isolation on
/// (`mm::isolation`), the entry code comes back to the monitor's own table.
pub fn enter(regs: &mut UserRegs, resume: Resume, user_cr3: u64) -> Exit {
    let pc = percpu::this();
    let uc = mine();
    regs.rflags = (regs.rflags & USER_FLAGS) | FLAGS_FIXED;
    // wrfsbase/wrgsbase fault on a non-canonical base, in the monitor: never load one.
    for base in [&mut regs.fs_base, &mut regs.gs_base] {
        if *base >= 0x0000_8000_0000_0000 {
            *base = 0;
        }
    }
    let before = *regs;
    let (code, data) = match resume {
        Resume::Clobber => (0, 0),
        Resume::Trampoline { code_va, data_va } => (code_va, data_va),
    };
    // SAFETY: this CPU's slot, touched only by this CPU and not reentrantly (no user run is
    // active, interrupts below cannot start one).
    unsafe {
        (*uc).regs = *regs;
        (*uc).exit_kind = EXIT_NONE;
        (*uc).tramp_code = code;
        (*uc).tramp_data = data;
        (*uc).scratch = crate::mm::isolation::scratch(pc.cpu());
        (*uc).user_cr3 = user_cr3;
        (*uc).entry_rsp = crate::mm::isolation::trap_stack_top(pc.cpu());
        // Preemption needs the trampoline (the kernel stack must stay until sysretq).
        (*uc).vif = if code != 0 {
            platform::user_interrupt_flag()
        } else {
            0
        };
    }
    let irq = platform::irq_save();
    // User code may rely on the timer (preemption), which an owed EOI would hold back.
    super::apic::flush_eoi();
    pc.set_user_active(true);
    // SAFETY: `lego_user_enter` saves the callee-saved registers and rsp in the slot and returns
    // here through `lego_resume_kernel` when user code leaves (syscall stub or `exit_from_trap`).
    // The trampoline data (if any) is mapped writable for the kernel: the caller says so.
    unsafe { lego_user_enter(uc) };
    pc.set_user_active(false);
    platform::irq_restore(irq);
    // SAFETY: as above; the run is over.
    let (u, kind) = unsafe { (&*uc, (*uc).exit_kind) };
    *regs = u.regs;
    // An interrupt inside the trampoline: its loads are not the program's state (the next
    // entry would overwrite the words it has yet to load with them), the registers it was
    // entered with are.
    if kind == EXIT_TRAP && u.vector >= 32 && code != 0 && in_trampoline(regs.rip, code) {
        *regs = before;
    }
    match kind {
        EXIT_SYSCALL => Exit::Syscall,
        _ if u.vector < 32 => Exit::Exception {
            vector: u.vector as u8,
            error_code: u.error_code,
            cr2: u.cr2,
        },
        _ => Exit::Interrupt {
            vector: u.vector as u8,
        },
    }
}

/// Whether this CPU is inside [`enter`].
pub fn active() -> bool {
    percpu::this().user_active()
}

/// Whether `rip` is in the last instructions of the entry, from the moment user code may be
/// interrupted up to its `sysretq`: an interrupt there arrives in kernel mode on the trap stack
/// with some user registers loaded, and ends the run like an interrupt of user code.
pub fn in_entry_window(rip: u64) -> bool {
    let (start, end) = (
        &raw const lego_user_window as u64,
        &raw const lego_user_window_end as u64,
    );
    (start..end).contains(&rip)
}

/// Ends the current user run because of an interrupt that arrived in the entry window
/// ([`in_entry_window`]): user code never ran, so its registers are still those `enter` got.
pub fn exit_from_window(vector: u64) -> ! {
    let uc = mine();
    // SAFETY: as in `exit_from_trap`: `enter` saved a live kernel context in this CPU's slot
    // and only this CPU touches it.
    unsafe {
        let u = &mut *uc;
        u.exit_kind = EXIT_TRAP;
        u.vector = vector;
        u.error_code = 0;
        u.cr2 = 0;
        lego_resume_kernel(&raw const u.kctx)
    }
}

/// Ends the current user run from its trap frame. Called by the trap dispatcher for every trap
/// from user mode, after an interrupt was handled.
pub fn exit_from_trap(f: &TrapFrame) -> ! {
    let uc = mine();
    let fs: u64;
    // SAFETY: reads the FS base (CR4.FSGSBASE is set by the VMM); the kernel never uses FS.
    unsafe { asm!("rdfsbase {}", out(reg) fs, options(nomem, nostack, preserves_flags)) };
    // SAFETY: `active()` was true, so `enter` saved a live kernel context in this CPU's slot,
    // whose stack frames are intact (traps from user land on the separate trap stack). Only
    // this CPU touches the slot.
    unsafe {
        let u = &mut *uc;
        u.regs = UserRegs {
            r15: f.r15,
            r14: f.r14,
            r13: f.r13,
            r12: f.r12,
            r11: f.r11,
            r10: f.r10,
            r9: f.r9,
            r8: f.r8,
            rbp: f.rbp,
            rdi: f.rdi,
            rsi: f.rsi,
            rdx: f.rdx,
            rcx: f.rcx,
            rbx: f.rbx,
            rax: f.rax,
            rip: f.rip,
            rflags: f.rflags,
            rsp: f.rsp,
            fs_base: fs,
            gs_base: percpu::this().user_gs_base(),
        };
        u.exit_kind = EXIT_TRAP;
        u.vector = f.vector;
        u.error_code = f.error_code;
        u.cr2 = if f.vector == 14 {
            platform::fault_address()
        } else {
            0
        };
        lego_resume_kernel(&raw const u.kctx)
    }
}

/// The user-mode trampoline for CPU `cpu`, as bytes to place at the start of a user page at
/// `cpu * TRAMPOLINE_STRIDE`; its data words (user `rcx`, `r11`, `rip`, `rsp`) are at
/// [`trampoline_data_offset`]`(cpu)` in the same page.
pub fn trampoline_code(cpu: usize) -> [u8; TRAMPOLINE_STRIDE] {
    let mut b = [0xccu8; TRAMPOLINE_STRIDE];
    let code_at = (cpu * TRAMPOLINE_STRIDE) as i64;
    let data_at = trampoline_data_offset(cpu) as i64;
    // mov rcx, [rip + d0]   48 8b 0d disp32   (7 bytes, ends at +7)
    // mov r11, [rip + d1]   4c 8b 1d disp32   (7 bytes, ends at +14)
    // mov rsp, [rip + d3]   48 8b 25 disp32   (7 bytes, ends at +21)
    // jmp [rip + d2]        ff 25 disp32      (6 bytes, ends at +27)
    let rel = |end: i64, target: i64| ((target - (code_at + end)) as i32).to_le_bytes();
    b[0..3].copy_from_slice(&[0x48, 0x8b, 0x0d]);
    b[3..7].copy_from_slice(&rel(7, data_at));
    b[7..10].copy_from_slice(&[0x4c, 0x8b, 0x1d]);
    b[10..14].copy_from_slice(&rel(14, data_at + 8));
    b[14..17].copy_from_slice(&[0x48, 0x8b, 0x25]);
    b[17..21].copy_from_slice(&rel(21, data_at + 24));
    b[21..23].copy_from_slice(&[0xff, 0x25]);
    b[23..27].copy_from_slice(&rel(27, data_at + 16));
    b
}

/// Whether `rip` is inside the trampoline whose code starts at `code_va`.
fn in_trampoline(rip: u64, code_va: u64) -> bool {
    (code_va..code_va + TRAMPOLINE_STRIDE as u64).contains(&rip)
}

/// Bytes of trampoline code per CPU.
pub const TRAMPOLINE_STRIDE: usize = 32;

/// Offset in the trampoline page of CPU `cpu`'s four data words.
pub const fn trampoline_data_offset(cpu: usize) -> usize {
    MAX_CPUS * TRAMPOLINE_STRIDE + cpu * 32
}

const _: () = assert!(trampoline_data_offset(MAX_CPUS) <= 4096);

/// Runs `entry(arg)` at CPL3 on the stack ending at `stack_top` until it leaves the CPU (a
/// simple form of [`enter`] for the runtime's own measurements). The code and stack must be
/// mapped user-accessible (the boot page tables map everything so).
pub fn run(entry: u64, arg: u64, stack_top: u64) -> (Exit, UserRegs) {
    let mut regs = UserRegs {
        rip: entry,
        rsp: stack_top,
        rdi: arg,
        ..UserRegs::default()
    };
    let exit = enter(&mut regs, Resume::Clobber, 0);
    (exit, regs)
}
