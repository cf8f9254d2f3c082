//! `rlimit`, `rusage`, `sysinfo` (`linux/resource.h`, `asm-generic/resource.h`,
//! `linux/sysinfo.h`) and the resource numbers.

use super::time::Timeval;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// A resource limit (`getrlimit`, `setrlimit`, `prlimit64`).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct Rlimit {
    /// Soft limit.
    pub rlim_cur: u64,
    /// Hard limit.
    pub rlim_max: u64,
}

/// No limit.
pub const RLIM_INFINITY: u64 = u64::MAX;

/// Resource usage (`getrusage`, `wait4`).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct Rusage {
    /// User time.
    pub ru_utime: Timeval,
    /// System time.
    pub ru_stime: Timeval,
    /// Maximum resident set size, KiB.
    pub ru_maxrss: i64,
    /// Unused.
    pub ru_ixrss: i64,
    /// Unused.
    pub ru_idrss: i64,
    /// Unused.
    pub ru_isrss: i64,
    /// Page faults served without I/O.
    pub ru_minflt: i64,
    /// Page faults that needed I/O.
    pub ru_majflt: i64,
    /// Unused.
    pub ru_nswap: i64,
    /// Block input operations.
    pub ru_inblock: i64,
    /// Block output operations.
    pub ru_oublock: i64,
    /// Unused.
    pub ru_msgsnd: i64,
    /// Unused.
    pub ru_msgrcv: i64,
    /// Unused.
    pub ru_nsignals: i64,
    /// Voluntary context switches.
    pub ru_nvcsw: i64,
    /// Involuntary context switches.
    pub ru_nivcsw: i64,
}

/// System statistics (`sysinfo`).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct Sysinfo {
    /// Seconds since boot.
    pub uptime: i64,
    /// 1, 5 and 15 minute load averages, scaled by 65536.
    pub loads: [u64; 3],
    /// Total memory, in `mem_unit`s.
    pub totalram: u64,
    /// Free memory.
    pub freeram: u64,
    /// Shared memory.
    pub sharedram: u64,
    /// Buffer memory.
    pub bufferram: u64,
    /// Total swap.
    pub totalswap: u64,
    /// Free swap.
    pub freeswap: u64,
    /// Number of processes.
    pub procs: u16,
    /// Padding.
    pub pad: u16,
    /// Padding (implicit in C).
    pub pad2: u32,
    /// Total high memory (0 on 64-bit).
    pub totalhigh: u64,
    /// Free high memory.
    pub freehigh: u64,
    /// Size of the memory unit in bytes.
    pub mem_unit: u32,
    /// Padding (implicit in C).
    pub pad3: u32,
}

const _: () = assert!(size_of::<Rlimit>() == 16);
const _: () = assert!(size_of::<Rusage>() == 144);
const _: () = assert!(size_of::<Sysinfo>() == 112);

/// CPU time, seconds.
pub const RLIMIT_CPU: u32 = 0;
/// Largest file.
pub const RLIMIT_FSIZE: u32 = 1;
/// Data segment (heap) size.
pub const RLIMIT_DATA: u32 = 2;
/// Stack size.
pub const RLIMIT_STACK: u32 = 3;
/// Core file size.
pub const RLIMIT_CORE: u32 = 4;
/// Resident set size.
pub const RLIMIT_RSS: u32 = 5;
/// Processes of the user.
pub const RLIMIT_NPROC: u32 = 6;
/// Open files (one more than the highest descriptor).
pub const RLIMIT_NOFILE: u32 = 7;
/// Locked memory.
pub const RLIMIT_MEMLOCK: u32 = 8;
/// Address space.
pub const RLIMIT_AS: u32 = 9;
/// File locks.
pub const RLIMIT_LOCKS: u32 = 10;
/// Pending signals.
pub const RLIMIT_SIGPENDING: u32 = 11;
/// POSIX message queue bytes.
pub const RLIMIT_MSGQUEUE: u32 = 12;
/// Nice ceiling.
pub const RLIMIT_NICE: u32 = 13;
/// Real-time priority ceiling.
pub const RLIMIT_RTPRIO: u32 = 14;
/// Real-time CPU time, microseconds.
pub const RLIMIT_RTTIME: u32 = 15;
/// Number of resources.
pub const RLIM_NLIMITS: u32 = 16;

/// `getrusage`: the calling process.
pub const RUSAGE_SELF: i32 = 0;
/// `getrusage`: its waited-for children.
pub const RUSAGE_CHILDREN: i32 = -1;
/// `getrusage`: the calling thread.
pub const RUSAGE_THREAD: i32 = 1;
