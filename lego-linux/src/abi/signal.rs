//! Signal-handling structs and flags as the kernel takes them (`asm/signal.h`,
//! `asm-generic/signal-defs.h`). Signal numbers are in [`crate::signal`].

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// `struct sigaction` as `rt_sigaction` takes it (not the C library's layout): handler, flags,
/// restorer, then the 64-bit mask. `sigsetsize` must be 8.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct KernelSigaction {
    /// Handler address, or [`SIG_DFL`] / [`SIG_IGN`].
    pub sa_handler: u64,
    /// `SA_*` flags.
    pub sa_flags: u64,
    /// Where the handler returns to (the C library's `__restore_rt`, calling `rt_sigreturn`);
    /// x86-64 requires `SA_RESTORER`.
    pub sa_restorer: u64,
    /// Signals blocked while the handler runs.
    pub sa_mask: u64,
}

/// `stack_t` (`sigaltstack`).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct StackT {
    /// Base address.
    pub ss_sp: u64,
    /// `SS_*` flags.
    pub ss_flags: i32,
    /// Padding.
    pub pad: u32,
    /// Size in bytes.
    pub ss_size: u64,
}

const _: () = assert!(size_of::<KernelSigaction>() == 32);
const _: () = assert!(size_of::<StackT>() == 24);

/// The size of the kernel's `sigset_t`, which `rt_sigaction`/`rt_sigprocmask` require.
pub const SIGSET_SIZE: u64 = 8;

/// Default action.
pub const SIG_DFL: u64 = 0;
/// Ignore.
pub const SIG_IGN: u64 = 1;

/// No `SIGCHLD` when children stop.
pub const SA_NOCLDSTOP: u64 = 0x0000_0001;
/// Children do not become zombies.
pub const SA_NOCLDWAIT: u64 = 0x0000_0002;
/// The handler takes `(sig, siginfo, ucontext)`.
pub const SA_SIGINFO: u64 = 0x0000_0004;
/// `sa_restorer` is valid.
pub const SA_RESTORER: u64 = 0x0400_0000;
/// Run the handler on the alternate stack.
pub const SA_ONSTACK: u64 = 0x0800_0000;
/// Restart interrupted syscalls.
pub const SA_RESTART: u64 = 0x1000_0000;
/// Do not block the signal in its handler.
pub const SA_NODEFER: u64 = 0x4000_0000;
/// Reset to the default action on delivery.
pub const SA_RESETHAND: u64 = 0x8000_0000;

/// `rt_sigprocmask`: add to the mask.
pub const SIG_BLOCK: u32 = 0;
/// `rt_sigprocmask`: remove from the mask.
pub const SIG_UNBLOCK: u32 = 1;
/// `rt_sigprocmask`: replace the mask.
pub const SIG_SETMASK: u32 = 2;

/// `sigaltstack`: currently on the alternate stack.
pub const SS_ONSTACK: i32 = 1;
/// `sigaltstack`: the alternate stack is disabled.
pub const SS_DISABLE: i32 = 2;
/// `sigaltstack`: disable while a handler runs on it.
pub const SS_AUTODISARM: u32 = 1 << 31;
/// Legacy minimum alternate stack size.
pub const MINSIGSTKSZ: u64 = 2048;
/// Legacy default alternate stack size.
pub const SIGSTKSZ: u64 = 8192;
