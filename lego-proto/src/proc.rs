//! The process protocol between the managers (the host endpoint) and a pComponent: starting a
//! program, its standard streams, its end, signals from the user.
//!
//! - `START` (managers → P): run a program ([`StartRequest`] + path, args, env, cwd).
//! - `OUTPUT` (P → managers): bytes a program wrote to its stdout or stderr ([`Output`] + data).
//! - `INPUT` (P → managers): up to `max` bytes of stdin ([`Input`]); the reply is the bytes,
//!   empty at end of file. The managers answer when they have something (the call is
//!   deferred), or with [`INPUT_AGAIN`] after a while, and the pComponent asks again.
//! - `EXITED` (P → managers): a program ended ([`Exited`] + its statistics + a message).
//! - `SIGNAL` (managers → P): the user signals a program ([`Signal`]).
//! - `NEW_PID` (P → managers): an id for a forked child ([`NewPid`] → `u32`); the child's
//!   streams are its session's (the `lego run` that started its first ancestor).

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// Run a program.
pub const START: u32 = 96;
/// A program's output.
pub const OUTPUT: u32 = 97;
/// Stdin for a program.
pub const INPUT: u32 = 98;
/// A program ended.
pub const EXITED: u32 = 99;
/// Signal a program.
pub const SIGNAL: u32 = 100;
/// P → managers: a process forked; a cluster-wide id for the child ([`NewPid`] → `u32`).
pub const NEW_PID: u32 = 101;
/// Managers → P: the processes it runs (empty request; reply: [`PsEntry`] each).
pub const PS: u32 = 102;
/// First and last process opcodes.
pub const OP_BASE: u32 = 96;
/// Last process opcode.
pub const OP_LAST: u32 = 102;
/// In [`Signal::sig`]: the signal is for that process only (`lego signal`), not for the
/// whole session it leads (a terminal's Ctrl-C).
pub const SIGNAL_ONE: u32 = 1 << 31;

/// `INPUT` status: nothing yet, ask again (the reply carries no bytes).
pub const INPUT_AGAIN: u32 = 0x80;

/// Whether `op` is a process opcode.
pub const fn is_proc_op(op: u32) -> bool {
    op >= OP_BASE && op <= OP_LAST
}

/// Most bytes of path, args, env and cwd in a [`StartRequest`].
pub const MAX_START_STRINGS: usize = 48 << 10;
/// Most bytes of one `OUTPUT`.
pub const MAX_OUTPUT: usize = 60 << 10;

/// [`StartRequest::flags`] bits.
pub mod start_flags {
    /// Stdin is a terminal (`isatty`).
    pub const STDIN_TTY: u32 = 1;
    /// Stdout is a terminal.
    pub const STDOUT_TTY: u32 = 2;
    /// Stderr is a terminal.
    pub const STDERR_TTY: u32 = 4;
    /// Stdin is closed or empty from the start (`/dev/null`).
    pub const STDIN_NULL: u32 = 8;
    /// Measurement: dirty victims never ride on a miss request (`lego bench miss`).
    pub const NO_PIGGYBACK: u32 = 16;
    /// Measurement: first touches of anonymous memory map one scratch frame, with no ExCache
    /// work and no fabric: the pComponent's own trap floor (`lego bench miss`).
    pub const TRAP_FLOOR: u32 = 32;
    /// Where log2 of the fault-around width sits: a first touch of anonymous memory zero-fills
    /// and maps the untouched pages of its aligned group of 1 << that many pages in the same
    /// trap (0: the touched page only, the paper's ExCache).
    pub const FAULT_AROUND_SHIFT: u32 = 8;
    /// The bits of the fault-around width's log2.
    pub const FAULT_AROUND_MASK: u32 = 7 << FAULT_AROUND_SHIFT;
}

/// ExCache replacement policies.
pub mod excache_policy {
    /// First in, first out (the paper's best).
    pub const FIFO: u32 = 0;
    /// Least recently used.
    pub const LRU: u32 = 1;
    /// Random.
    pub const RANDOM: u32 = 2;
}

/// `START`: fixed part, then `path`, args (NUL-terminated), env (NUL-terminated), cwd.
#[repr(C)]
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct StartRequest {
    /// The process id (cluster-wide).
    pub pid: u32,
    /// The vNode it runs in.
    pub vnode: u32,
    /// The vNode's sComponent.
    pub storage: u32,
    /// The mComponent holding the vNode's buffer cache.
    pub cache: u32,
    /// The home mComponent.
    pub home: u32,
    /// vRegion placement (`mem::policy`).
    pub vregion_policy: u32,
    /// Valid entries of `candidates`.
    pub ncandidates: u32,
    /// mComponents for vRegions.
    pub candidates: [u32; crate::mem::MAX_CANDIDATES],
    /// [`start_flags`].
    pub flags: u32,
    /// ExCache bytes for this process (0: the pComponent's default).
    pub excache_bytes: u64,
    /// ExCache associativity (0: default).
    pub ways: u32,
    /// [`excache_policy`].
    pub policy: u32,
    /// Randomness for the address space.
    pub seed: u64,
    /// The host's wall clock at the request (ns since the epoch): CLOCK_REALTIME.
    pub realtime_ns: u64,
    /// Terminal size (rows, columns) when stdout is a terminal.
    pub rows: u16,
    /// Columns.
    pub cols: u16,
    /// Bytes of the path.
    pub path_len: u32,
    /// Bytes of the argument strings.
    pub args_len: u32,
    /// Bytes of the environment strings.
    pub env_len: u32,
    /// Bytes of the working directory.
    pub cwd_len: u32,
    /// Zero.
    pub _pad: u32,
}

/// `OUTPUT`: fixed part then the bytes.
#[repr(C)]
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct Output {
    /// The process.
    pub pid: u32,
    /// 1 (stdout) or 2 (stderr).
    pub fd: u32,
}

/// `INPUT`.
#[repr(C)]
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct Input {
    /// The process.
    pub pid: u32,
    /// Most bytes wanted.
    pub max: u32,
}

/// `SIGNAL`.
#[repr(C)]
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct Signal {
    /// The process.
    pub pid: u32,
    /// The signal.
    pub sig: u32,
}

/// One process in a [`PS`] reply.
#[repr(C)]
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct PsEntry {
    /// The process.
    pub pid: u32,
    /// Its parent.
    pub ppid: u32,
    /// The `lego run` it belongs to.
    pub session: u32,
    /// Its vNode.
    pub vnode: u32,
    /// Its home mComponent.
    pub home: u32,
    /// Threads.
    pub threads: u32,
    /// `R`, `S`, `T` (stopped), `Z` (ended, not reaped yet).
    pub state: u32,
    /// Zero.
    pub _pad: u32,
    /// ExCache bytes.
    pub excache: u64,
    /// Mapped bytes.
    pub vm_bytes: u64,
    /// CPU time, ns.
    pub cpu_ns: u64,
    /// Its name (NUL-padded).
    pub comm: [u8; 16],
}

/// Most entries a [`PS`] reply carries.
pub const MAX_PS: usize = crate::rpc::MAX_PAYLOAD / core::mem::size_of::<PsEntry>();

/// `NEW_PID`.
#[repr(C)]
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct NewPid {
    /// The `lego run` the process belongs to (the pid it started as).
    pub session: u32,
    /// The process forking.
    pub parent: u32,
}

/// How a program ended.
pub mod end {
    /// It called `exit` (`code` is its status).
    pub const EXITED: u32 = 0;
    /// A signal killed it (`code` is the signal).
    pub const SIGNALED: u32 = 1;
    /// It could not start (`code` is an errno; the message says why).
    pub const NOT_STARTED: u32 = 2;
}

/// `EXITED`: fixed part, then [`ProcStats`], then `nsyscalls` pairs (u32 number, u32 count),
/// then `nowners` [`OwnerBytes`], then `msg_len` bytes of message.
#[repr(C)]
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct Exited {
    /// The process.
    pub pid: u32,
    /// [`end`].
    pub how: u32,
    /// Exit status, signal or errno.
    pub code: u32,
    /// Syscall counts that follow.
    pub nsyscalls: u32,
    /// For a fault: the address.
    pub fault_addr: u64,
    /// For a fault: the instruction.
    pub fault_rip: u64,
    /// Per-owner byte counts that follow.
    pub nowners: u32,
    /// Bytes of message.
    pub msg_len: u32,
}

/// A run's counters.
#[repr(C)]
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct ProcStats {
    /// Nanoseconds from start to end.
    pub wall_ns: u64,
    /// Nanoseconds in user code.
    pub user_ns: u64,
    /// Nanoseconds in the monitor for the program (syscalls, faults).
    pub system_ns: u64,
    /// Syscalls.
    pub syscalls: u64,
    /// Page faults taken.
    pub faults: u64,
    /// ExCache misses fetched from an mComponent.
    pub misses: u64,
    /// First touches of anonymous memory filled here (p-local).
    pub plocal: u64,
    /// Faults on lines that were cached (re-mapped, no fetch).
    pub hits: u64,
    /// Lines evicted.
    pub evictions: u64,
    /// Dirty lines written back.
    pub flushes: u64,
    /// Of those, carried on a miss request.
    pub piggybacks: u64,
    /// TLB flushes.
    pub tlb_flushes: u64,
    /// Miss latency p50 (ns).
    pub miss_p50_ns: u64,
    /// Miss latency p99 (ns).
    pub miss_p99_ns: u64,
    /// ExCache bytes the run had.
    pub excache_bytes: u64,
    /// Its associativity.
    pub ways: u64,
    /// Timer and other interrupts while the program ran.
    pub interrupts: u64,
    /// Of the p-local fills, pages mapped around a first touch (fault-around).
    pub fault_around: u64,
}

/// Bytes moved to and from one mComponent.
#[repr(C)]
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct OwnerBytes {
    /// The mComponent.
    pub owner: u32,
    /// Zero.
    pub _pad: u32,
    /// Bytes fetched from it.
    pub fetched: u64,
    /// Bytes flushed to it.
    pub flushed: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_are_fixed() {
        assert_eq!(core::mem::size_of::<StartRequest>(), 120);
        assert_eq!(core::mem::size_of::<Exited>(), 40);
        assert_eq!(core::mem::size_of::<ProcStats>(), 144);
        assert_eq!(core::mem::size_of::<PsEntry>(), 72);
        const { assert!(OP_BASE > crate::mem::OP_LAST) };
        const {
            assert!(
                core::mem::size_of::<StartRequest>() + MAX_START_STRINGS <= crate::rpc::MAX_PAYLOAD
            )
        };
        const { assert!(core::mem::size_of::<Output>() + MAX_OUTPUT <= crate::rpc::MAX_PAYLOAD) };
    }
}
