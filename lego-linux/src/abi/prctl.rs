//! `arch_prctl` codes (`asm/prctl.h`) and the `prctl` options static C libraries use at startup
//! (`linux/prctl.h`).

/// Set the `gs` base.
pub const ARCH_SET_GS: u32 = 0x1001;
/// Set the `fs` base (the thread pointer: the C library's TLS setup).
pub const ARCH_SET_FS: u32 = 0x1002;
/// Read the `fs` base.
pub const ARCH_GET_FS: u32 = 0x1003;
/// Read the `gs` base.
pub const ARCH_GET_GS: u32 = 0x1004;
/// Whether `cpuid` is enabled.
pub const ARCH_GET_CPUID: u32 = 0x1011;
/// Enable or disable `cpuid` (faulting).
pub const ARCH_SET_CPUID: u32 = 0x1012;
/// Supported XSAVE components.
pub const ARCH_GET_XCOMP_SUPP: u32 = 0x1021;
/// Permitted XSAVE components.
pub const ARCH_GET_XCOMP_PERM: u32 = 0x1022;
/// Request permission for an XSAVE component (AMX).
pub const ARCH_REQ_XCOMP_PERM: u32 = 0x1023;
/// Shadow stack: enable features.
pub const ARCH_SHSTK_ENABLE: u32 = 0x5001;
/// Shadow stack: disable features.
pub const ARCH_SHSTK_DISABLE: u32 = 0x5002;
/// Shadow stack: lock features.
pub const ARCH_SHSTK_LOCK: u32 = 0x5003;
/// Shadow stack: unlock features (for a tracer).
pub const ARCH_SHSTK_UNLOCK: u32 = 0x5004;
/// Shadow stack: query enabled features.
pub const ARCH_SHSTK_STATUS: u32 = 0x5005;

/// Signal to deliver when the parent dies.
pub const PR_SET_PDEATHSIG: u32 = 1;
/// Read the parent-death signal.
pub const PR_GET_PDEATHSIG: u32 = 2;
/// Read the dumpable flag.
pub const PR_GET_DUMPABLE: u32 = 3;
/// Set the dumpable flag.
pub const PR_SET_DUMPABLE: u32 = 4;
/// Set the thread's name (16 bytes with the NUL).
pub const PR_SET_NAME: u32 = 15;
/// Read the thread's name.
pub const PR_GET_NAME: u32 = 16;
/// Set `no_new_privs`.
pub const PR_SET_NO_NEW_PRIVS: u32 = 38;
/// Name an anonymous mapping (`PR_SET_VMA` with `PR_SET_VMA_ANON_NAME`).
pub const PR_SET_VMA: u32 = 0x5356_4d41;
