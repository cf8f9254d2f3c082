//! What a signal handler finds on its stack (`asm/sigcontext.h`, `asm/ucontext.h`,
//! `asm-generic/siginfo.h`, the kernel's `arch/x86/kernel/signal_64.c`): the return address
//! (the C library's restorer), the `ucontext` with the interrupted registers and mask, the
//! `siginfo`, and below them the 512-byte `fxsave` area `uc_mcontext.fpstate` points at.
//!
//! [`place`] computes where these go for a given stack, as Linux does: below the red zone
//! (or at the top of the alternate stack), the FPU area 64-aligned, the frame so that the
//! handler starts as if called (`(rsp + 8) % 16 == 0`).

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

use super::signal::StackT;

/// `struct sigcontext` (64-bit): the registers, as glibc's `mcontext_t` (`gregs[23]`, then the
/// `fpregs` pointer and 8 reserved words).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct Sigcontext {
    /// r8..r15.
    pub r8: u64,
    #[allow(missing_docs)]
    pub r9: u64,
    #[allow(missing_docs)]
    pub r10: u64,
    #[allow(missing_docs)]
    pub r11: u64,
    #[allow(missing_docs)]
    pub r12: u64,
    #[allow(missing_docs)]
    pub r13: u64,
    #[allow(missing_docs)]
    pub r14: u64,
    #[allow(missing_docs)]
    pub r15: u64,
    #[allow(missing_docs)]
    pub rdi: u64,
    #[allow(missing_docs)]
    pub rsi: u64,
    #[allow(missing_docs)]
    pub rbp: u64,
    #[allow(missing_docs)]
    pub rbx: u64,
    #[allow(missing_docs)]
    pub rdx: u64,
    #[allow(missing_docs)]
    pub rax: u64,
    #[allow(missing_docs)]
    pub rcx: u64,
    #[allow(missing_docs)]
    pub rsp: u64,
    #[allow(missing_docs)]
    pub rip: u64,
    /// RFLAGS.
    pub eflags: u64,
    /// Code segment selector.
    pub cs: u16,
    /// GS selector (0).
    pub gs: u16,
    /// FS selector (0).
    pub fs: u16,
    /// Stack segment selector.
    pub ss: u16,
    /// The exception's error code.
    pub err: u64,
    /// The exception vector.
    pub trapno: u64,
    /// The old mask's low word (legacy).
    pub oldmask: u64,
    /// The faulting address of a page fault.
    pub cr2: u64,
    /// Address of the saved FPU state (0: none).
    pub fpstate: u64,
    /// Reserved.
    pub reserved: [u64; 8],
}

/// `struct ucontext` as the kernel writes it (glibc's `ucontext_t` begins the same way).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct Ucontext {
    /// `UC_*` flags.
    pub uc_flags: u64,
    /// Linked context (0).
    pub uc_link: u64,
    /// The alternate stack's settings at delivery (restored by `rt_sigreturn`).
    pub uc_stack: StackT,
    /// The interrupted registers.
    pub uc_mcontext: Sigcontext,
    /// The mask to go back to.
    pub uc_sigmask: u64,
}

/// `siginfo_t` (128 bytes): the common head and the union's words, laid out for the cases we
/// produce (`kill`: pid and uid; faults: the address; timers: their id).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct Siginfo {
    /// The signal.
    pub si_signo: i32,
    /// An errno value (0).
    pub si_errno: i32,
    /// Why it was sent (`SI_USER`, `SEGV_MAPERR`, ...).
    pub si_code: i32,
    /// Padding.
    pub pad: i32,
    /// The union: `si_addr` (faults), or `si_pid` and `si_uid` (`kill`), or the timer's words.
    pub fields: [u64; 14],
}

/// `UC_SIGCONTEXT_SS`: `uc_mcontext.ss` is valid.
pub const UC_SIGCONTEXT_SS: u64 = 0x2;
/// `UC_STRICT_RESTORE_SS`: `rt_sigreturn` takes `ss` as saved.
pub const UC_STRICT_RESTORE_SS: u64 = 0x4;

/// `si_code`: sent by `kill`.
pub const SI_USER: i32 = 0;
/// `si_code`: sent by the kernel.
pub const SI_KERNEL: i32 = 0x80;
/// `si_code`: sent by `tkill`/`tgkill`.
pub const SI_TKILL: i32 = -6;
/// `si_code` of `SIGCHLD`: the child exited.
pub const CLD_EXITED: i32 = 1;
/// `si_code` of `SIGCHLD`: the child was killed by a signal.
pub const CLD_KILLED: i32 = 2;
/// `si_code` of `SIGCHLD`: killed, and dumped core.
pub const CLD_DUMPED: i32 = 3;
/// `si_code` of `SIGCHLD`: the child stopped.
pub const CLD_STOPPED: i32 = 5;
/// `si_code` of `SIGCHLD`: the child continued.
pub const CLD_CONTINUED: i32 = 6;
/// `si_code`: a timer expired (`SIGALRM` of `setitimer`/`alarm`).
pub const SI_TIMER: i32 = -2;
/// `SIGSEGV`: no mapping at the address.
pub const SEGV_MAPERR: i32 = 1;
/// `SIGSEGV`: the mapping does not allow the access.
pub const SEGV_ACCERR: i32 = 2;
/// `SIGBUS`: the address has no backing (here: its memory component failed).
pub const BUS_ADRERR: i32 = 2;
/// `SIGFPE`: integer divide by zero.
pub const FPE_INTDIV: i32 = 1;
/// `SIGILL`: illegal opcode.
pub const ILL_ILLOPN: i32 = 2;
/// `SIGTRAP`: breakpoint.
pub const TRAP_BRKPT: i32 = 1;

impl Siginfo {
    fn with(sig: u32, code: i32, fields: [u64; 14]) -> Siginfo {
        Siginfo {
            si_signo: sig as i32,
            si_code: code,
            fields,
            ..Siginfo::default()
        }
    }

    /// A fault's: the address it was at.
    pub fn fault(sig: u32, code: i32, addr: u64) -> Siginfo {
        let mut fields = [0; 14];
        fields[0] = addr;
        Siginfo::with(sig, code, fields)
    }

    /// One sent by a process (`kill`, `tgkill`): its pid, uid 0.
    pub fn user(sig: u32, code: i32, pid: u32) -> Siginfo {
        let mut fields = [0; 14];
        fields[0] = u64::from(pid);
        Siginfo::with(sig, code, fields)
    }

    /// `SIGCHLD`'s (and `waitid`'s): the child, how it ended (`CLD_*`), its status (exit
    /// code or signal) and CPU time in clock ticks.
    pub fn child(sig: u32, code: i32, pid: u32, status: i32, utime: u64, stime: u64) -> Siginfo {
        let mut fields = [0; 14];
        // si_pid and si_uid (0), si_status, then si_utime and si_stime.
        fields[0] = u64::from(pid);
        fields[1] = u64::from(status as u32);
        fields[2] = utime;
        fields[3] = stime;
        Siginfo::with(sig, code, fields)
    }

    /// The address of a fault's `siginfo`.
    pub fn addr(&self) -> u64 {
        self.fields[0]
    }
}

/// The frame as it sits at the handler's `rsp`.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct RtSigframe {
    /// Where the handler returns: `sa_restorer`.
    pub pretcode: u64,
    /// The interrupted context.
    pub uc: Ucontext,
    /// Why.
    pub info: Siginfo,
}

const _: () = assert!(size_of::<Sigcontext>() == 256);
const _: () = assert!(size_of::<Ucontext>() == 304);
const _: () = assert!(size_of::<Siginfo>() == 128);
const _: () = assert!(size_of::<RtSigframe>() == 440);

/// Bytes below the interrupted `rsp` a handler must not touch (the x86-64 ABI's red zone).
pub const RED_ZONE: u64 = 128;
/// Bytes of the saved FPU state (`fxsave`).
pub const FPSTATE_BYTES: u64 = 512;

/// Where a frame goes: the frame itself (the handler's `rsp`) and its FPU area.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Placement {
    /// The frame's address: the handler's `rsp`.
    pub frame: u64,
    /// The FPU area's address (64-aligned, above the frame).
    pub fpstate: u64,
}

/// Places a frame below `top` (the interrupted `rsp` less the red zone, or the top of the
/// alternate stack); `None` if it would wrap below address 0.
pub fn place(top: u64) -> Option<Placement> {
    let fpstate = top.checked_sub(FPSTATE_BYTES)? & !63;
    let frame = (fpstate.checked_sub(size_of::<RtSigframe>() as u64)? & !15).checked_sub(8)?;
    Some(Placement { frame, fpstate })
}

/// Where a handler's frame goes for an interrupted `rsp` and the alternate stack `alt`
/// (`ss_sp`, `ss_flags`, `ss_size`) when the action asks for it (`onstack`): the alternate
/// stack's top unless it is disabled or the program is already on it.
pub fn stack_top(rsp: u64, alt: (u64, u32, u64), onstack: bool) -> u64 {
    let (sp, flags, size) = alt;
    let disabled = flags & super::signal::SS_DISABLE as u32 != 0 || size == 0;
    if onstack && !disabled && !on_stack(rsp, alt) {
        sp.wrapping_add(size)
    } else {
        rsp.wrapping_sub(RED_ZONE)
    }
}

/// Whether `rsp` is on the alternate stack `alt` (Linux's `on_sig_stack`: the top is in,
/// the base is not, as a push moves `rsp` down first).
pub fn on_stack(rsp: u64, alt: (u64, u32, u64)) -> bool {
    let (sp, _, size) = alt;
    size != 0 && rsp > sp && rsp - sp <= size
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn layouts_are_the_c_librarys() {
        use core::mem::offset_of;
        assert_eq!(
            size_of::<Ucontext>(),
            offset_of!(libc::ucontext_t, uc_sigmask) + 8
        );
        assert_eq!(
            offset_of!(Ucontext, uc_mcontext),
            offset_of!(libc::ucontext_t, uc_mcontext)
        );
        assert_eq!(
            offset_of!(Ucontext, uc_stack),
            offset_of!(libc::ucontext_t, uc_stack)
        );
        assert_eq!(
            offset_of!(Ucontext, uc_sigmask),
            offset_of!(libc::ucontext_t, uc_sigmask)
        );
        // glibc's gregs: REG_RIP is 16, REG_RSP 15, REG_EFL 17, REG_CR2 22; then fpregs.
        assert_eq!(offset_of!(Sigcontext, rip), 8 * libc::REG_RIP as usize);
        assert_eq!(offset_of!(Sigcontext, rsp), 8 * libc::REG_RSP as usize);
        assert_eq!(offset_of!(Sigcontext, eflags), 8 * libc::REG_EFL as usize);
        assert_eq!(offset_of!(Sigcontext, rax), 8 * libc::REG_RAX as usize);
        assert_eq!(offset_of!(Sigcontext, r8), 8 * libc::REG_R8 as usize);
        assert_eq!(offset_of!(Sigcontext, err), 8 * libc::REG_ERR as usize);
        assert_eq!(offset_of!(Sigcontext, cr2), 8 * libc::REG_CR2 as usize);
        assert_eq!(offset_of!(Sigcontext, fpstate), 8 * 23);
        assert_eq!(size_of::<Siginfo>(), size_of::<libc::siginfo_t>());
    }

    #[test]
    fn a_frame_below_an_aligned_stack_looks_like_a_call() {
        let p = place(0x7fff_0000_0000 - RED_ZONE).unwrap();
        assert_eq!((p.frame + 8) % 16, 0);
        assert_eq!(p.fpstate % 64, 0);
        assert!(p.frame + size_of::<RtSigframe>() as u64 <= p.fpstate);
        assert_eq!(place(100), None);
    }

    #[test]
    fn the_alternate_stack_is_used_once() {
        let alt = (0x1000_0000, 0, 0x10000);
        assert_eq!(stack_top(0x7000_0000, alt, true), 0x1001_0000);
        assert_eq!(stack_top(0x7000_0000, alt, false), 0x7000_0000 - RED_ZONE);
        // Already on it (a nested signal): below the current rsp.
        assert_eq!(stack_top(0x1000_8000, alt, true), 0x1000_8000 - RED_ZONE);
        let off = (0x1000_0000, 2, 0x10000);
        assert_eq!(stack_top(0x7000_0000, off, true), 0x7000_0000 - RED_ZONE);
    }

    proptest! {
        #[test]
        fn frames_never_overlap_what_they_save(top in 0u64..u64::MAX) {
            if let Some(p) = place(top) {
                prop_assert!(p.fpstate + FPSTATE_BYTES <= top);
                prop_assert!(p.frame + size_of::<RtSigframe>() as u64 <= p.fpstate);
                prop_assert_eq!((p.frame + 8) % 16, 0);
            }
        }
    }
}
